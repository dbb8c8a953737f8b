/*
 * An action's templates as the owner writes them (see actiontpl.h): the
 * {{placeholder}} syntax and what a saved template may name, shared by
 * the worker that fills them (workerd/actions/template.c) and storaged,
 * which checks an action's url and body against its parameters once a
 * change is merged.
 */
#include <string.h>

#include "actiontpl.h"


/*
 * The placeholder at p ("{{"): its name (trimmed) into name and the
 * bytes it spans into *span. 0, or -1 (unclosed, or a name out of shape:
 * 1 to TPL_NAME_MAX of [A-Za-z0-9_.-]).
 */
int
tpl_placeholder(const char *p, char name[TPL_NAME_MAX + 1], size_t *span)
{
	const char *end = strstr(p + 2, "}}"), *a = p + 2, *b;
	size_t n, i;

	if (end == NULL)
		return -1;
	b = end;
	while (a < b && *a == ' ')
		a++;
	while (b > a && b[-1] == ' ')
		b--;
	n = (size_t)(b - a);
	if (n == 0 || n > TPL_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' &&
		    a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9') ||
		    a[i] == '_' || a[i] == '.' || a[i] == '-'))
			return -1;
	memcpy(name, a, n);
	name[n] = '\0';
	*span = (size_t)(end + 2 - p);
	return 0;
}

/* The visitor field name names (after "visitor."), or -1 for none. */
int
tpl_visitor_field(const char *name)
{
	if (strncmp(name, TPL_VISITOR, strlen(TPL_VISITOR)) != 0)
		return -1;
	name += strlen(TPL_VISITOR);
	if (strcmp(name, "external_id") == 0)
		return 0;
	if (strcmp(name, "email") == 0)
		return 1;
	return -1;
}

int
tpl_names_visitor(const char *tpl)
{
	char name[TPL_NAME_MAX + 1];
	const char *p = tpl;
	size_t span;

	while (p != NULL && (p = strstr(p, "{{")) != NULL) {
		if (tpl_placeholder(p, name, &span) < 0) {
			p += 2;
			continue;
		}
		if (tpl_visitor_field(name) >= 0)
			return 1;
		p += span;
	}
	return 0;
}

const char *
tpl_url_path(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return NULL;
	p += 3;
	return p + strcspn(p, "/?#");
}

/*
 * Whether url has a brace outside its {{placeholders}}: the host is
 * checked up to the first placeholder, and a lone { there (which curl
 * takes in user info) hid the host the request went to.
 */
static int
lone_brace(const char *url)
{
	char name[TPL_NAME_MAX + 1];
	size_t span;

	while (*url != '\0') {
		if (url[0] == '{' && url[1] == '{' &&
		    tpl_placeholder(url, name, &span) == 0) {
			url += span;
			continue;
		}
		if (*url == '{' || *url == '}')
			return 1;
		url++;
	}
	return 0;
}

/*
 * The length of the separator at p (before end): 1 for '/', 3 for an
 * encoded slash or backslash (%2F, %5C, either case), else 0. A server
 * that decodes them before it resolves the path (some do; IIS takes \
 * for /) splits a segment there.
 */
static size_t
separator_at(const char *p, const char *end)
{
	if (*p == '/')
		return 1;
	if (end - p >= 3 && p[0] == '%' && ((p[1] == '2' &&
	    (p[2] == 'F' || p[2] == 'f')) || (p[1] == '5' &&
	    (p[2] == 'C' || p[2] == 'c'))))
		return 3;
	return 0;
}

/*
 * Whether url's path has a "." or ".." segment, an encoded slash or
 * backslash counted as a "/" (separator_at). A value filled in keeps
 * its dots (unreserved) and has its / encoded, and such a segment,
 * removed by curl and by the server (or by a server that decodes %2F
 * first: "..%2F..%2Fadmin"), climbed out of the path the owner wrote: to
 * another endpoint of the same API, with the action's headers.
 */
int
tpl_dot_segment(const char *url)
{
	const char *p = tpl_url_path(url), *end, *seg;
	size_t n, sep;

	if (p == NULL)
		return 0;
	end = p + strcspn(p, "?#");
	while (p < end) {
		if ((sep = separator_at(p, end)) > 0) {
			p += sep;
			continue;
		}
		seg = p;
		while (p < end && separator_at(p, end) == 0)
			p++;
		n = (size_t)(p - seg);
		if ((n == 1 || n == 2) && seg[0] == '.' && seg[n - 1] == '.')
			return 1;
	}
	return 0;
}

int
tpl_url_spaced(const char *url)
{
	const char *p = url, *end;

	while ((p = strstr(p, "{{")) != NULL) {
		if ((end = strstr(p + 2, "}}")) == NULL)
			return 0;
		if (strcspn(p + 2, " \t") < (size_t)(end - (p + 2)))
			return 1;
		p = end + 2;
	}
	return 0;
}

const char *
tpl_check(enum tpl_kind kind, const char *tpl, const char *const *names,
    size_t n)
{
	char name[TPL_NAME_MAX + 1];
	const char *p = tpl, *path = NULL;
	size_t span, i;

	if (kind == TPL_URL && (path = tpl_url_path(tpl)) == NULL)
		return "url: not an http(s) URL";
	if (kind == TPL_URL && lone_brace(tpl))
		return "url: a { or } outside a {{placeholder}}";
	if (kind == TPL_URL && tpl_dot_segment(tpl))
		return "url: a path segment of . or ..";
	while ((p = strstr(p, "{{")) != NULL) {
		if (tpl_placeholder(p, name, &span) < 0)
			return "a {{placeholder}} not closed, or its name not of "
			    "[A-Za-z0-9_.-]";
		if (kind == TPL_URL && p < path)
			return "url: a {{placeholder}} before the path (the "
			    "scheme and host are fixed)";
		for (i = 0; names != NULL && i < n &&
		    strcmp(names[i], name) != 0; i++)
			;
		/* Without the names (a PATCH that keeps the schema), visitor's. */
		if (tpl_visitor_field(name) < 0 && (names != NULL ? i == n :
		    strncmp(name, TPL_VISITOR, strlen(TPL_VISITOR)) == 0))
			return "a {{placeholder}} that is neither a parameter "
			    "nor visitor.external_id or visitor.email";
		p += span;
	}
	return NULL;
}
