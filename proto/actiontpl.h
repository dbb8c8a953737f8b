/*
 * An action's templates as the owner writes them: a url and a JSON body
 * with {{name}} placeholders (a name of 1 to TPL_NAME_MAX bytes of
 * [A-Za-z0-9_.-], spaces around it trimmed), each one of the action's
 * parameters or a verified visitor's field ({{visitor.external_id}},
 * {{visitor.email}}). The worker fills them (workerd/actions/template.h);
 * these are the checks both sides make as an action is saved.
 */
#ifndef PARLEY_ACTIONTPL_H
#define PARLEY_ACTIONTPL_H

#include <stddef.h>

#define TPL_NAME_MAX	64		/* bytes of a placeholder's name */
#define TPL_VISITOR	"visitor."	/* a visitor field's prefix */

enum tpl_kind {
	TPL_URL,	/* an http(s) URL */
	TPL_JSON,	/* a JSON body */
};

/*
 * The placeholder at p ("{{"): its name (trimmed) into name and the
 * bytes it spans into *span. 0, or -1 (unclosed, or a name out of shape).
 */
int tpl_placeholder(const char *p, char name[TPL_NAME_MAX + 1],
    size_t *span);
/* The visitor field name names (0 external_id, 1 email), or -1 none. */
int tpl_visitor_field(const char *name);
/*
 * 1 when tpl (NULL: none) has a well-formed placeholder naming a visitor
 * field ({{visitor.external_id}}, {{visitor.email}}), else 0: an action
 * that requires a verified visitor and names none tells its API nothing
 * of who asks.
 */
int tpl_names_visitor(const char *tpl);
/* Where url's path begins (after the scheme and host), or NULL. */
const char *tpl_url_path(const char *url);
/*
 * 1 when url's path has a "." or ".." segment, an encoded slash or
 * backslash (%2F, %5C) splitting segments as "/" does; else 0.
 */
int tpl_dot_segment(const char *url);
/*
 * 1 when a placeholder of url holds white space ("{{ order_id }}"): a
 * body takes it, but a URL holds no space, and the URL's own refusal
 * would not say why.
 */
int tpl_url_spaced(const char *url);
/*
 * A template checked as an action is saved: every placeholder well
 * formed and one of names (n of them: the schema's properties) or a
 * visitor field (names NULL: any name but another "visitor." one, for a
 * change that leaves the schema as stored); in a URL, none before the
 * path (the scheme and host are the owner's alone), no brace outside one
 * and no "." or ".." segment. NULL, or what is wrong (static text).
 */
const char *tpl_check(enum tpl_kind, const char *tpl,
    const char *const *names, size_t n);

#endif
