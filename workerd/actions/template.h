/*
 * An action's request templates (the owner's HTTP API called for the
 * model): the URL and the JSON body, with {{name}} placeholders filled
 * from the model's arguments (an object, checked against the action's
 * schema first) and from the verified visitor's own fields
 * ({{visitor.external_id}}, {{visitor.email}}), and from nothing else:
 * what is filled in is never read again as a template.
 *
 * In a URL a value is percent-encoded (RFC 3986's unreserved characters
 * kept), so it cannot add a path segment, a query or another host; nor
 * remove one: a filled URL whose path has a "." or ".." segment (an
 * encoded / or \ splitting segments, as a server that decodes them
 * first would: "..%2Fadmin"), or a segment a placeholder left empty, is
 * refused. No placeholder may stand
 * before the path, nor a brace outside one (tpl_check). In a JSON body a
 * placeholder inside a string literal takes the value JSON-escaped, and
 * one standing as a value takes it as a JSON value (a string quoted, a
 * number or true or false as written, an object or array whole); the
 * body must then read as JSON.
 *
 * An argument the model left out (an optional one) fills as "" in a URL
 * (refused where that empties a path segment) or a string, null as a
 * value. A visitor field the turn does not know (no verified visitor, no
 * email) refuses the call: it is never filled with "".
 */
#ifndef PARLEY_ACTIONS_TEMPLATE_H
#define PARLEY_ACTIONS_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "actiontpl.h"

#define TPL_OUT_MAX	(64 * 1024)	/* bytes of a filled template */

/* The verified visitor's fields: NULL, not known. */
struct tpl_visitor {
	const char *external_id;
	const char *email;
};

/*
 * tpl filled from args (an object) and v into *out (malloc'd, at most
 * TPL_OUT_MAX bytes): 0, or -1 with *why (static text).
 */
int tpl_expand(enum tpl_kind, const char *tpl, const json_t *args,
    const struct tpl_visitor *v, char **out, const char **why);

#endif
