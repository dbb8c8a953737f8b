/*
 * The action record (see actionmsg.h): its layout, names and checks,
 * shared by both sides of the socket.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "actionmsg.h"
#include "actiontpl.h"

/* The parameters' names a template may name (the worker's schema.c bound). */
#define NAMES_MAX	32

#define ACTION_ROW(...)	RF_ROW(struct st_action, __VA_ARGS__)

RL_LAYOUT(st_action_layout, "action", struct st_action,
    ST_ACTION_ROWS(ACTION_ROW), NULL);

static const char *const method_names[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE",
};

const char *
st_method_name(int v)
{
	return v >= 0 && v <= ST_METHOD_MAX ? method_names[v] : NULL;
}

int
st_method_parse(const char *s)
{
	int i;

	for (i = 0; i <= ST_METHOD_MAX; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -1;
}

int
st_action_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_ACTION_PREFIX);
}

int
st_action_name_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n <= ST_ACTION_NAME_MAX && s[n] == '\0';
}

int
st_tool_builtin(const char *name)
{
	return strcmp(name, ST_TOOL_HANDOFF) == 0 ||
	    strcmp(name, ST_TOOL_SEARCH) == 0 ||
	    strcmp(name, ST_TOOL_CONTACT) == 0;
}

/* RFC 9110's tchar. */
static int
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int
st_action_hname_valid(const char *s)
{
	static const char *const own[] = {
		"Host", "Content-Length", "Transfer-Encoding", "Connection",
		"Content-Type", "Expect", "Upgrade", "TE", "Trailer",
		"Keep-Alive", "Proxy-Connection",
	};
	size_t i, n;

	for (n = 0; s[n] != '\0' && tchar((unsigned char)s[n]); n++)
		;
	if (n == 0 || n > ST_ACTION_HNAME_MAX || s[n] != '\0')
		return 0;
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcasecmp(s, own[i]) == 0)
			return 0;
	return 1;
}

/*
 * NULL when lines are "Name: value\n" lines (at most
 * ST_ACTION_HEADERS_MAX, each name valid and once, each value of
 * printable ASCII or UTF-8, no control character but tab).
 */
static const char *
header_lines_invalid(const char *lines)
{
	char names[ST_ACTION_HEADERS_MAX][ST_ACTION_HNAME_MAX + 1];
	const char *p = lines, *colon, *nl;
	size_t n = 0, len, i;

	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL ||
		    (colon = memchr(p, ':', (size_t)(nl - p))) == NULL ||
		    colon[1] != ' ')
			return "headers: must be \"Name: value\" lines";
		if (n == ST_ACTION_HEADERS_MAX)
			return "headers: at most 8";
		len = (size_t)(colon - p);
		if (len > ST_ACTION_HNAME_MAX)
			return "headers: a name is at most 64 bytes";
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		if (!st_action_hname_valid(names[n]))
			return "headers: a name must be an HTTP token, not one "
			    "the call sets itself (Host, Content-Type, "
			    "Content-Length...)";
		for (i = 0; i < n; i++)
			if (strcasecmp(names[i], names[n]) == 0)
				return "headers: a name is given twice";
		if ((size_t)(nl - colon - 2) > ST_ACTION_HVALUE_MAX)
			return "headers: a value is at most 1024 bytes";
		for (p = colon + 2; p < nl; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') ||
			    *p == 0x7f)
				return "headers: a value may not hold control "
				    "characters";
		n++;
	}
	return NULL;
}

#define S(p)	((p) != NULL ? (p) : "")

/* "field: why" (why static text), the caller's thread's until its next. */
static const char *
field_why(const char *field, const char *why)
{
	static _Thread_local char buf[192];

	snprintf(buf, sizeof(buf), "%s: %s", field, why);
	return buf;
}

/*
 * a's url and body naming its parameters (its schema's "properties") or
 * a visitor field only: judged on the whole record, so that a change of
 * one of the three is checked against the others as stored (a
 * placeholder left naming nothing was filled empty: another path of the
 * owner's API, called with the action's headers). NULL, or why not.
 */
const char *
st_action_templates_invalid(const struct st_action *a)
{
	const char *names[NAMES_MAX], *why;
	json_t *schema, *props;
	void *it;
	size_t n = 0;

	if ((schema = json_loads(S(a->parameters), 0, NULL)) == NULL ||
	    !json_is_object(schema)) {
		json_decref(schema);
		return "parameters: must be a JSON Schema object";
	}
	props = json_object_get(schema, "properties");
	for (it = json_object_iter(props); it != NULL && n < NAMES_MAX;
	    it = json_object_iter_next(props, it))
		names[n++] = json_object_iter_key(it);
	if ((why = tpl_check(TPL_URL, S(a->url), names, n)) != NULL &&
	    strncmp(why, "url: ", 5) != 0)
		why = field_why("url", why);
	else if (why == NULL && S(a->body)[0] != '\0' &&
	    (why = tpl_check(TPL_JSON, S(a->body), names, n)) != NULL)
		why = field_why("body", why);
	json_decref(schema);
	return why;
}

const char *
st_action_invalid(const struct st_action *a)
{
	const char *why;

	if ((why = rl_invalid(&st_action_layout, a)) != NULL)
		return why;
	if (st_tool_builtin(S(a->name)))
		return "name: " ST_TOOL_HANDOFF ", " ST_TOOL_SEARCH " and "
		    ST_TOOL_CONTACT " are the built-in tools'";
	if (!st_action_name_valid(a->name))
		return "name: must be 1-64 characters of A-Z, a-z, 0-9, _ "
		    "and -";
	if (tpl_url_spaced(S(a->url)))
		return "url: a {{placeholder}} is written without spaces in a "
		    "URL";
	if (!st_web_url_valid(S(a->url)))
		return "url: must be an http:// or https:// URL of at most "
		    "2048 bytes";
	if ((a->method == ST_METHOD_GET || a->method == ST_METHOD_DELETE) &&
	    S(a->body)[0] != '\0')
		return "body: a GET or DELETE sends none";
	if (S(a->parameters)[0] == '\0')
		return "parameters: required";
	if ((why = st_action_templates_invalid(a)) != NULL)
		return why;
	return header_lines_invalid(S(a->headers));
}

