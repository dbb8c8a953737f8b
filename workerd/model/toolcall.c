/*
 * The model's tool calls of one round, put together from the stream's
 * deltas (see toolcall.h).
 */
#include <stdlib.h>
#include <string.h>

#include "toolcall.h"

void
toolcalls_init(struct toolcalls *tc)
{
	memset(tc, 0, sizeof(*tc));
}

void
toolcalls_free(struct toolcalls *tc)
{
	uint32_t i;

	for (i = 0; i < TOOLCALLS_MAX; i++) {
		free(tc->calls[i].args);
		json_decref(tc->calls[i].parsed);
	}
	memset(tc, 0, sizeof(*tc));
}

/* The round refused with why (the first reason stays): -1. */
static int
refuse(struct toolcalls *tc, const char *why)
{
	if (!tc->err) {
		tc->err = 1;
		tc->why = why;
	}
	return -1;
}

/*
 * A string field of a call (id, name) given by a delta: set the first
 * time, the same again taken, another refused. 0, or -1.
 */
static int
set_once(struct toolcalls *tc, char *dst, size_t max, const json_t *v,
    const char *what)
{
	const char *s;
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return refuse(tc, what);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return 0;	/* nothing said: an empty repeat */
	if (n > max || memchr(s, '\0', n) != NULL)
		return refuse(tc, what);
	if (dst[0] == '\0') {
		memcpy(dst, s, n);
		dst[n] = '\0';
		return 0;
	}
	return strcmp(dst, s) == 0 ? 0 : refuse(tc, what);
}

/* A piece of a call's arguments appended: 0, or -1. */
static int
args_add(struct toolcalls *tc, struct tool_call *c, const json_t *v)
{
	size_t n;
	char *p;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return refuse(tc, "tool call: arguments not a string");
	n = json_string_length(v);
	if (n > TOOLCALL_ARGS_MAX - c->args_len)
		return refuse(tc, "tool call: arguments over 16 KiB");
	if ((p = realloc(c->args, c->args_len + n + 1)) == NULL)
		return refuse(tc, "tool call: out of memory");
	memcpy(p + c->args_len, json_string_value(v), n);
	c->args = p;
	c->args_len += n;
	p[c->args_len] = '\0';
	return 0;
}

/* One delta of the array merged in: 0, or -1. */
static int
delta_add(struct toolcalls *tc, const json_t *d)
{
	const json_t *idx, *fn, *type;
	struct tool_call *c;
	json_int_t i;

	if (!json_is_object(d))
		return refuse(tc, "tool call: a delta not an object");
	idx = json_object_get(d, "index");
	if (!json_is_integer(idx))
		return refuse(tc, "tool call: no index");
	if ((i = json_integer_value(idx)) < 0 || i >= TOOLCALLS_MAX)
		return refuse(tc, "tool call: more than 8 in a round");
	type = json_object_get(d, "type");
	if (type != NULL && !json_is_null(type) && (!json_is_string(type) ||
	    strcmp(json_string_value(type), "function") != 0))
		return refuse(tc, "tool call: a type other than function");
	c = &tc->calls[i];
	if ((uint32_t)i >= tc->n)
		tc->n = (uint32_t)i + 1;
	if (set_once(tc, c->id, TOOLCALL_ID_MAX, json_object_get(d, "id"),
	    "tool call: an id out of shape, or a second one") < 0)
		return -1;
	fn = json_object_get(d, "function");
	if (fn == NULL || json_is_null(fn))
		return 0;
	if (!json_is_object(fn))
		return refuse(tc, "tool call: function not an object");
	if (set_once(tc, c->name, TOOLCALL_NAME_MAX, json_object_get(fn,
	    "name"), "tool call: a name out of shape, or a second one") < 0)
		return -1;
	return args_add(tc, c, json_object_get(fn, "arguments"));
}

int
toolcalls_add(struct toolcalls *tc, const json_t *tool_calls)
{
	size_t i;

	if (tc->err)
		return -1;
	if (!json_is_array(tool_calls))
		return refuse(tc, "tool call: tool_calls not an array");
	for (i = 0; i < json_array_size(tool_calls); i++)
		if (delta_add(tc, json_array_get(tool_calls, i)) < 0)
			return -1;
	return 0;
}

/* 1 when s is a function's name: 1 to 64 of [A-Za-z0-9_-]. */
static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int
toolcalls_end(struct toolcalls *tc)
{
	struct tool_call *c;
	uint32_t i, j;

	if (tc->err)
		return -1;
	if (tc->n == 0)
		return refuse(tc, "tool call: none in a round that ends with "
		    "them");
	for (i = 0; i < tc->n; i++) {
		c = &tc->calls[i];
		if (c->id[0] == '\0')
			return refuse(tc, "tool call: without an id");
		/*
		 * A visitor's yes names its call by id: two calls of one id
		 * would let a yes to one run the other.
		 */
		for (j = 0; j < i; j++)
			if (strcmp(tc->calls[j].id, c->id) == 0)
				return refuse(tc, "tool call: two with one id");
		if (!name_ok(c->name))
			return refuse(tc, "tool call: a name not of "
			    "[A-Za-z0-9_-]");
		/*
		 * Arguments that are not one JSON object we take (a number
		 * past 64 bits, a NUL) leave parsed NULL: the call is
		 * answered so (tools.c), for the model to try again; the
		 * round and the turn go on.
		 */
		json_decref(c->parsed);
		c->parsed = c->args_len == 0 ? json_object() :
		    json_loadb(c->args, c->args_len, JSON_REJECT_DUPLICATES,
		    NULL);
		if (!json_is_object(c->parsed)) {
			json_decref(c->parsed);
			c->parsed = NULL;
		}
	}
	return 0;
}
