/*
 * An action's parameters schema checked as it is saved, and the model's
 * arguments validated against it (see schema.h). Both walk the schema
 * once; validation walks the value beside it and never deeper than the
 * schema goes, so neither costs more than the two texts' sizes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define MSG_MAX		1024	/* bytes of a message, before why's cut */
#define SPATH_MAX	512	/* bytes of a path (5 deep, 64-byte names) */
#define ECHO_MAX	48	/* bytes of a name or keyword echoed */
#define LIST_MAX	400	/* bytes of an enum's values listed */
#define NAME_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789_"

enum type { T_STRING, T_INTEGER, T_NUMBER, T_BOOLEAN, T_ARRAY, T_OBJECT, T_N };

static const char *const types[T_N] = {
	"string", "integer", "number", "boolean", "array", "object",
};
static const char *const must_be[T_N] = {
	"a string", "an integer", "a number", "true or false", "an array",
	"an object",
};

#define B(t)	(1u << (t))
#define NUMERIC	(B(T_INTEGER) | B(T_NUMBER))
#define SCALAR	(B(T_STRING) | NUMERIC | B(T_BOOLEAN))
#define ANY	(SCALAR | B(T_ARRAY) | B(T_OBJECT))

/* What a keyword's value must be. */
enum kind { K_NOTE, K_TEXT, K_COUNT, K_BOUND, K_BOOL, K_ENUM,
    K_ITEMS, K_PROPS, K_REQUIRED };

/* The subset's keywords, the types each applies to. */
static const struct keyword {
	const char *name;
	unsigned types;
	enum kind kind;
} keywords[] = {
	{ "type", ANY, K_NOTE },	/* checked before the others */
	{ "description", ANY, K_TEXT },
	{ "title", ANY, K_NOTE },
	{ "default", ANY, K_NOTE },
	{ "examples", ANY, K_NOTE },
	{ "enum", SCALAR, K_ENUM },
	{ "minLength", B(T_STRING), K_COUNT },
	{ "maxLength", B(T_STRING), K_COUNT },
	{ "format", B(T_STRING), K_TEXT },
	{ "minimum", NUMERIC, K_BOUND },
	{ "maximum", NUMERIC, K_BOUND },
	{ "items", B(T_ARRAY), K_ITEMS },
	{ "minItems", B(T_ARRAY), K_COUNT },
	{ "maxItems", B(T_ARRAY), K_COUNT },
	{ "properties", B(T_OBJECT), K_PROPS },
	{ "required", B(T_OBJECT), K_REQUIRED },
	{ "additionalProperties", B(T_OBJECT), K_BOOL },
};

/* Where a check or a validation stands: "parameters.properties.a". */
struct path {
	char s[SPATH_MAX];
	size_t len;
};

struct check {
	struct path p;
	int count;		/* schemas met */
};

struct vctx {
	struct path p;		/* "" at the root */
	char *why;
	size_t whysz;
};

static _Thread_local char check_msg[MSG_MAX];

static const char *check_schema(struct check *, const json_t *, int);
static int validate(struct vctx *, const json_t *, const json_t *);

/* s, cut short by snprintf, back to the end of its last whole character. */
static void
cut(char *s)
{
	size_t len = strlen(s), i, need;
	unsigned char c;

	for (i = len; i > 0 && len - i < 4; i--) {
		c = (unsigned char)s[i - 1];
		if ((c & 0xc0) == 0x80)
			continue;
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (len - (i - 1) < need)
			s[i - 1] = '\0';
		return;
	}
}

/* s as a message may quote it: at most ECHO_MAX bytes, no controls. */
static const char *
echo(char out[ECHO_MAX + 4], const char *s)
{
	size_t i;

	snprintf(out, ECHO_MAX + 1, "%s", s);
	cut(out);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f ||
		    out[i] == '"' || out[i] == '\\')
			out[i] = '?';
	if (strlen(s) > i)
		memcpy(out + i, "...", 4);
	return out;
}

/* sep and name added to p (cut when full): p's length before, for pop. */
static size_t
push(struct path *p, const char *sep, const char *name)
{
	size_t old = p->len, room = sizeof(p->s) - old;
	int n = snprintf(p->s + old, room, "%s%s", sep, name);

	p->len = n < 0 || (size_t)n >= room ? sizeof(p->s) - 1 : old + n;
	return old;
}

static void
pop(struct path *p, size_t old)
{
	p->len = old;
	p->s[old] = '\0';
}

/* head, then fmt's text, into dst (size bytes), cut on a character. */
static void
compose(char *dst, size_t size, const char *head, const char *fmt,
    va_list ap)
{
	int n = snprintf(dst, size, "%s", head);

	if (n >= 0 && (size_t)n < size)
		vsnprintf(dst + n, size - n, fmt, ap);
	cut(dst);
}

/* The check's failure: its path then fmt's text (": ..." or ".key: ..."). */
static const char * __attribute__((format(printf, 2, 3)))
bad(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	compose(check_msg, sizeof(check_msg), c->p.s, fmt, ap);
	va_end(ap);
	return check_msg;
}

/* The validation's failure into why, "path: " first: -1. */
static int __attribute__((format(printf, 2, 3)))
fail(struct vctx *v, const char *fmt, ...)
{
	char msg[MSG_MAX], head[SPATH_MAX + 2];
	va_list ap;

	snprintf(head, sizeof(head), "%s: ", v->p.len > 0 ? v->p.s :
	    "arguments");
	va_start(ap, fmt);
	compose(msg, sizeof(msg), head, fmt, ap);
	va_end(ap);
	if (v->whysz > 0) {
		snprintf(v->why, v->whysz, "%s", msg);
		cut(v->why);
	}
	return -1;
}

/* The type named name, or -1. */
static int
type_index(const char *name)
{
	int t;

	for (t = 0; name != NULL && t < T_N; t++)
		if (strcmp(name, types[t]) == 0)
			return t;
	return -1;
}

/*
 * value is of type t: an integer may be a real with no fraction (models
 * send 3.0), within json_int_t's range.
 */
static int
is_type(const json_t *value, int t)
{
	double d = json_real_value(value);

	switch (t) {
	case T_STRING:
		return json_is_string(value);
	case T_INTEGER:
		return json_is_integer(value) || (json_is_real(value) &&
		    d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    (double)(json_int_t)d == d);
	case T_NUMBER:
		return json_is_number(value);
	case T_BOOLEAN:
		return json_is_boolean(value);
	case T_ARRAY:
		return json_is_array(value);
	default:
		return json_is_object(value);
	}
}

/*
 * A number as a long double: every json_int_t and double exactly where
 * it has 64 bits of mantissa or more (x86-64, arm64), so an integer past
 * 2^53 compares right with a bound.
 */
static long double
num(const json_t *n)
{
	return json_is_integer(n) ? (long double)json_integer_value(n) :
	    (long double)json_real_value(n);
}

/* Numbers a against b: -1, 0 or 1. */
static int
num_cmp(const json_t *a, const json_t *b)
{
	long double x = num(a), y = num(b);

	return x < y ? -1 : x > y;
}

/* A number as its owner would write it (15 digits when they do). */
static void
num_text(const json_t *n, char *buf, size_t size)
{
	double d = json_real_value(n);

	if (json_is_integer(n)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(n));
		return;
	}
	snprintf(buf, size, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, size, "%.17g", d);
}

static const struct keyword *
keyword(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(name, keywords[i].name) == 0)
			return &keywords[i];
	return NULL;
}

static const char *
check_enum(struct check *c, const json_t *val, int t)
{
	const json_t *x;
	size_t i;

	if (!json_is_array(val) || json_array_size(val) == 0 ||
	    json_array_size(val) > SCHEMA_ENUM_MAX)
		return bad(c, ".enum: must be an array of 1 to %d values",
		    SCHEMA_ENUM_MAX);
	json_array_foreach(val, i, x)
		if (!is_type(x, t))
			return bad(c, ".enum[%zu]: must be %s", i, must_be[t]);
	return NULL;
}

static const char *
check_props(struct check *c, const json_t *val, int depth)
{
	char e[ECHO_MAX + 4];
	const char *key, *err;
	json_t *x;
	size_t n, old;

	if (!json_is_object(val))
		return bad(c, ".properties: must be an object");
	if (json_object_size(val) > SCHEMA_PROPS_MAX)
		return bad(c, ".properties: must have at most %d names",
		    SCHEMA_PROPS_MAX);
	json_object_foreach((json_t *)val, key, x) {
		n = strlen(key);
		if (n == 0 || n > SCHEMA_NAME_MAX ||
		    strspn(key, NAME_CHARS) != n)
			return bad(c, ".properties: \"%s\" is not a name (1 to "
			    "%d of A-Z, a-z, 0-9 and _)", echo(e, key),
			    SCHEMA_NAME_MAX);
		old = push(&c->p, ".properties.", key);
		err = check_schema(c, x, depth + 1);
		pop(&c->p, old);
		if (err != NULL)
			return err;
	}
	return NULL;
}

/* "required" (val) of schema s: distinct names of its properties. */
static const char *
check_required(struct check *c, const json_t *s, const json_t *val)
{
	const json_t *props = json_object_get(s, "properties"), *x;
	char e[ECHO_MAX + 4];
	const char *name;
	size_t i, j;

	if (!json_is_array(val))
		return bad(c, ".required: must be an array of names");
	json_array_foreach(val, i, x) {
		if ((name = json_string_value(x)) == NULL)
			return bad(c, ".required[%zu]: must be a string", i);
		if (json_object_get(props, name) == NULL)
			return bad(c, ".required[%zu]: \"%s\" is not in "
			    "properties", i, echo(e, name));
		for (j = 0; j < i; j++)
			if (strcmp(name, json_string_value(
			    json_array_get(val, j))) == 0)
				return bad(c, ".required[%zu]: \"%s\" is "
				    "listed twice", i, name);
	}
	return NULL;
}

/* Keyword key (one of the subset's; value val) of schema s, of type t. */
static const char *
check_keyword(struct check *c, const json_t *s, int t, const char *key,
    const json_t *val, int depth)
{
	const struct keyword *k = keyword(key);
	const char *err;
	size_t old;

	if (!(k->types & B(t)))
		return bad(c, ": \"%s\" does not apply to type %s", key,
		    types[t]);
	switch (k->kind) {
	case K_NOTE:
		return NULL;
	case K_TEXT:
		return json_is_string(val) && json_string_length(val) <=
		    SCHEMA_DESC_MAX ? NULL : bad(c, ".%s: must be a string of "
		    "at most %d bytes", key, SCHEMA_DESC_MAX);
	case K_COUNT:
		return json_is_integer(val) && json_integer_value(val) >= 0 ?
		    NULL : bad(c, ".%s: must be an integer of at least 0", key);
	case K_BOUND:
		return json_is_number(val) ? NULL :
		    bad(c, ".%s: must be a number", key);
	case K_BOOL:
		return json_is_boolean(val) ? NULL :
		    bad(c, ".%s: must be true or false", key);
	case K_ENUM:
		return check_enum(c, val, t);
	case K_ITEMS:
		old = push(&c->p, ".items", "");
		err = check_schema(c, val, depth + 1);
		pop(&c->p, old);
		return err;
	case K_PROPS:
		return check_props(c, val, depth);
	default:
		return check_required(c, s, val);
	}
}

/* Each lower bound of s at most its upper one. */
static const char *
check_pairs(struct check *c, const json_t *s)
{
	static const char *const pairs[][2] = {
		{ "minLength", "maxLength" },
		{ "minItems", "maxItems" },
		{ "minimum", "maximum" },
	};
	const json_t *lo, *hi;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		lo = json_object_get(s, pairs[i][0]);
		hi = json_object_get(s, pairs[i][1]);
		if (lo != NULL && hi != NULL && num_cmp(lo, hi) > 0)
			return bad(c, ": \"%s\" is over \"%s\"", pairs[i][0],
			    pairs[i][1]);
	}
	return NULL;
}

/* Schema s, depth schemas deep (the root 1), at c's path. */
static const char *
check_schema(struct check *c, const json_t *s, int depth)
{
	char e[ECHO_MAX + 4];
	const char *key, *err;
	json_t *val;
	int t;

	if (!json_is_object(s))
		return bad(c, ": must be an object (a schema)");
	if (depth > SCHEMA_DEPTH_MAX)
		return bad(c, ": nested deeper than %d schemas",
		    SCHEMA_DEPTH_MAX);
	if (++c->count > SCHEMA_COUNT_MAX) {
		snprintf(check_msg, sizeof(check_msg), "parameters: more than "
		    "%d schemas in all", SCHEMA_COUNT_MAX);
		return check_msg;
	}
	json_object_foreach((json_t *)s, key, val)
		if (keyword(key) == NULL)
			return bad(c, ": \"%s\" is not supported",
			    echo(e, key));
	if ((val = json_object_get(s, "type")) == NULL)
		return bad(c, ": \"type\" is required");
	if ((t = type_index(json_string_value(val))) < 0)
		return bad(c, ".type: must be one of string, integer, number, "
		    "boolean, array, object");
	json_object_foreach((json_t *)s, key, val)
		if ((err = check_keyword(c, s, t, key, val, depth)) != NULL)
			return err;
	return check_pairs(c, s);
}

const char *
schema_check(const json_t *schema)
{
	struct check c;

	if (!json_is_object(schema) || type_index(json_string_value(
	    json_object_get(schema, "type"))) != T_OBJECT)
		return "parameters: must be an object with \"type\": "
		    "\"object\"";
	c.count = 0;
	c.p.len = 0;
	c.p.s[0] = '\0';
	push(&c.p, "parameters", "");
	return check_schema(&c, schema, 1);
}

/* An "enum" (en) holds value (numbers compared as numbers). */
static int
v_enum(struct vctx *v, const json_t *en, const json_t *value)
{
	char list[LIST_MAX], t[64], *d;
	const json_t *x;
	size_t i, len = 0;

	json_array_foreach(en, i, x)
		if (json_is_number(x) && json_is_number(value) ?
		    num_cmp(x, value) == 0 : json_equal(x, value))
			return 0;
	list[0] = '\0';
	json_array_foreach(en, i, x) {
		d = NULL;
		if (json_is_number(x))
			num_text(x, t, sizeof(t));
		else if ((d = json_dumps(x, JSON_ENCODE_ANY)) == NULL)
			break;
		if (len + strlen(d != NULL ? d : t) + 8 > sizeof(list)) {
			free(d);
			snprintf(list + len, sizeof(list) - len, "%s...",
			    i > 0 ? ", " : "");
			break;
		}
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
		    i > 0 ? ", " : "", d != NULL ? d : t);
		free(d);
	}
	return fail(v, "must be one of %s", list);
}

/*
 * A count n (a string's characters, an array's items) within schema's
 * bounds lo and hi: "must be at least 3 characters", "must have at most
 * 5 items".
 */
static int
v_count(struct vctx *v, const json_t *schema, size_t n, const char *lo,
    const char *hi, const char *verb, const char *unit)
{
	const json_t *min = json_object_get(schema, lo);
	const json_t *max = json_object_get(schema, hi);
	json_int_t b;

	if (min != NULL && (b = json_integer_value(min)) >= 0 &&
	    (unsigned long long)n < (unsigned long long)b)
		return fail(v, "must %s at least %" JSON_INTEGER_FORMAT " %s%s",
		    verb, b, unit, b == 1 ? "" : "s");
	if (max != NULL && (b = json_integer_value(max)) >= 0 &&
	    (unsigned long long)n > (unsigned long long)b)
		return fail(v, "must %s at most %" JSON_INTEGER_FORMAT " %s%s",
		    verb, b, unit, b == 1 ? "" : "s");
	return 0;
}

static int
v_string(struct vctx *v, const json_t *schema, const json_t *value)
{
	const char *s = json_string_value(value);
	size_t i, n = json_string_length(value), chars = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return v_count(v, schema, chars, "minLength", "maxLength", "be",
	    "character");
}

static int
v_number(struct vctx *v, const json_t *schema, const json_t *value)
{
	const json_t *min = json_object_get(schema, "minimum");
	const json_t *max = json_object_get(schema, "maximum");
	char b[40];

	if (min != NULL && num_cmp(value, min) < 0) {
		num_text(min, b, sizeof(b));
		return fail(v, "must be at least %s", b);
	}
	if (max != NULL && num_cmp(value, max) > 0) {
		num_text(max, b, sizeof(b));
		return fail(v, "must be at most %s", b);
	}
	return 0;
}

static int
v_array(struct vctx *v, const json_t *schema, const json_t *value)
{
	const json_t *items = json_object_get(schema, "items"), *x;
	char b[32];
	size_t i, old;
	int rc;

	if (v_count(v, schema, json_array_size(value), "minItems",
	    "maxItems", "have", "item") < 0)
		return -1;
	if (items == NULL)
		return 0;
	json_array_foreach(value, i, x) {
		snprintf(b, sizeof(b), "[%zu]", i);
		old = push(&v->p, "", b);
		rc = validate(v, items, x);
		pop(&v->p, old);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The required first, then each argument: known (or allowed), valid. */
static int
v_object(struct vctx *v, const json_t *schema, const json_t *value)
{
	const json_t *props = json_object_get(schema, "properties"), *sub;
	const json_t *req = json_object_get(schema, "required");
	const json_t *open = json_object_get(schema, "additionalProperties");
	const char *key, *sep = v->p.len > 0 ? "." : "";
	char e[ECHO_MAX + 4];
	json_t *x;
	size_t i, old;
	int rc;

	json_array_foreach(req, i, x)
		if (json_object_get(value, json_string_value(x)) == NULL) {
			old = push(&v->p, sep, json_string_value(x));
			fail(v, "is required");
			pop(&v->p, old);
			return -1;
		}
	json_object_foreach((json_t *)value, key, x) {
		if ((sub = json_object_get(props, key)) == NULL &&
		    json_is_true(open))
			continue;
		old = push(&v->p, sep, sub != NULL ? key : echo(e, key));
		rc = sub != NULL ? validate(v, sub, x) :
		    fail(v, "is not an argument this tool takes");
		pop(&v->p, old);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* value against schema, at v's path. */
static int
validate(struct vctx *v, const json_t *schema, const json_t *value)
{
	const json_t *en = json_object_get(schema, "enum");
	int t = type_index(json_string_value(json_object_get(schema, "type")));

	if (t < 0)
		return fail(v, "cannot be checked (the tool's schema is not "
		    "valid)");
	if (!is_type(value, t))
		return fail(v, "must be %s", must_be[t]);
	if (en != NULL && v_enum(v, en, value) < 0)
		return -1;
	switch (t) {
	case T_STRING:
		return v_string(v, schema, value);
	case T_INTEGER:
	case T_NUMBER:
		return v_number(v, schema, value);
	case T_ARRAY:
		return v_array(v, schema, value);
	case T_OBJECT:
		return v_object(v, schema, value);
	default:
		return 0;
	}
}

int
schema_validate(const json_t *schema, const json_t *value, char *why,
    size_t whysz)
{
	struct vctx v;

	v.p.len = 0;
	v.p.s[0] = '\0';
	v.why = why;
	v.whysz = whysz;
	if (whysz > 0)
		why[0] = '\0';
	return validate(&v, schema, value);
}

size_t
schema_names(const json_t *schema, const char **names, size_t max)
{
	json_t *props = json_object_get(schema, "properties");
	void *it;
	size_t n = 0;

	for (it = json_object_iter(props); it != NULL && n < max;
	    it = json_object_iter_next(props, it))
		names[n++] = json_object_iter_key(it);
	return n;
}
