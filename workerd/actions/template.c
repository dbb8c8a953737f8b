/*
 * An action's request templates filled (see template.h): one pass over
 * the template, its literal bytes copied and each {{name}} replaced by
 * its value, encoded for where it stands.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "template.h"

/* Where a placeholder stands. */
enum spot {
	SPOT_URL,	/* in a URL: percent-encoded */
	SPOT_STRING,	/* in a JSON string literal: escaped, no quotes */
	SPOT_VALUE,	/* as a JSON value */
};

/* s (n bytes) percent-encoded into b: RFC 3986's unreserved kept. */
static void
add_pct(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char e[3];
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_add(b, &s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		buf_add(b, e, 3);
	}
}

/* s (n bytes) JSON-escaped into b, without its quotes. */
static void
add_escaped(struct buf *b, const char *s, size_t n)
{
	struct buf q;

	buf_init(&q);
	buf_add_jstr(&q, s, n);
	if (!q.err && q.len >= 2)
		buf_add(b, q.data + 1, q.len - 2);
	else
		b->err = 1;
	buf_free(&q);
}

/*
 * Value v (NULL: left out) into b as spot wants it: 0, or -1 with *why.
 * A scalar's text is jansson's (JSON_ENCODE_ANY), a string's its bytes.
 */
static int
add_value_as(struct buf *b, enum spot spot, const json_t *v, const char **why)
{
	const char *s;
	char *t;
	size_t n;

	if (spot == SPOT_VALUE) {
		if (v == NULL) {
			buf_adds(b, "null");
			return 0;
		}
		if ((t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			return *why = "out of memory", -1;
		buf_adds(b, t);
		free(t);
		return 0;
	}
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_object(v) || json_is_array(v)) {
		*why = "an object or array argument where a text goes";
		return -1;
	}
	t = NULL;
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else {
		if ((t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return *why = "out of memory", -1;
		s = t;
		n = strlen(t);
	}
	if (spot == SPOT_URL)
		add_pct(b, s, n);
	else
		add_escaped(b, s, n);
	free(t);
	return 0;
}

/*
 * add_value_as, a whole number written 3.0 (or 1e1) as 3 (10): schema.c
 * takes 3.0 for an integer, as models send it, and an API may not.
 */
static int
add_value(struct buf *b, enum spot spot, const json_t *v, const char **why)
{
	json_t *w = NULL;
	double d;
	int rc;

	d = json_is_real(v) ? json_real_value(v) : 0.5;
	if (d == floor(d) && fabs(d) < 9007199254740992.0)	/* 2^53 */
		w = json_integer((json_int_t)d);
	rc = add_value_as(b, spot, w != NULL ? w : v, why);
	json_decref(w);
	return rc;
}

/*
 * Whether the path segment just filled (from seg, b's length at its
 * start, to b's end) is empty though a placeholder stood in it: a value
 * "" (or null, or left out) took the segment away. "/orders/{{id}}" made
 * "/orders/", the list of every order to most servers, and
 * "/users/{{id}}/orders" "/users//orders", which a server merging slashes
 * reads as "/users/orders": another endpoint of the owner's API, called
 * with the action's headers.
 */
static int
segment_emptied(const struct buf *b, size_t seg, int filled)
{
	return filled && b->len == seg;
}

/* The visitor's field i as a JSON string, or NULL not known. */
static json_t *
visitor_value(const struct tpl_visitor *v, int i)
{
	const char *s = v == NULL ? NULL : i == 0 ? v->external_id : v->email;

	return s != NULL && s[0] != '\0' ? json_string(s) : NULL;
}

int
tpl_expand(enum tpl_kind kind, const char *tpl, const json_t *args,
    const struct tpl_visitor *v, char **out, const char **why)
{
	char name[TPL_NAME_MAX + 1];
	const char *p = tpl, *path;
	struct buf b;
	json_t *val;
	size_t span, seg = 0;
	int in_str = 0, esc = 0, field, rc = -1, in_path = 0, filled = 0;
	enum spot spot;

	*out = NULL;
	*why = NULL;
	/* Placeholders stand in the path or after (tpl_check), never before. */
	path = kind == TPL_URL ? tpl_url_path(tpl) : NULL;
	buf_init(&b);
	while (*p != '\0' && !b.err && b.len <= TPL_OUT_MAX) {
		if (p[0] != '{' || p[1] != '{') {
			/* The JSON string literals the template's bytes open. */
			if (kind == TPL_JSON) {
				if (esc)
					esc = 0;
				else if (in_str && *p == '\\')
					esc = 1;
				else if (*p == '"')
					in_str = !in_str;
			}
			/* The URL's path segments, each checked as it ends. */
			if (p == path)
				in_path = 1;
			if (in_path && (*p == '/' || *p == '?' || *p == '#')) {
				if (segment_emptied(&b, seg, filled))
					goto emptied;
				in_path = *p == '/';
				seg = b.len + 1;
				filled = 0;
			}
			buf_add(&b, p++, 1);
			continue;
		}
		if (tpl_placeholder(p, name, &span) < 0) {
			*why = "a {{placeholder}} out of shape";
			goto out;
		}
		/*
		 * The template's backslash would escape the value's first
		 * byte: with a value's \" it made \\", and the rest of the
		 * value stood outside the string.
		 */
		if (esc) {
			*why = "body: a {{placeholder}} right after a "
			    "backslash";
			goto out;
		}
		spot = kind == TPL_URL ? SPOT_URL : in_str ? SPOT_STRING :
		    SPOT_VALUE;
		if ((field = tpl_visitor_field(name)) >= 0) {
			if ((val = visitor_value(v, field)) == NULL) {
				*why = field == 0 ? "the visitor's external_id "
				    "is not known (no verified visitor)" :
				    "the visitor's email is not known";
				goto out;
			}
			rc = add_value(&b, spot, val, why);
			json_decref(val);
		} else if (strncmp(name, TPL_VISITOR, strlen(TPL_VISITOR)) == 0) {
			*why = "a {{visitor.…}} placeholder not known";
			goto out;
		} else
			rc = add_value(&b, spot, json_object_get(args, name),
			    why);
		if (rc < 0)
			goto out;
		rc = -1;
		filled |= in_path;
		p += span;
	}
	if (in_path && segment_emptied(&b, seg, filled))
		goto emptied;
	if (b.err) {
		*why = "out of memory";
		goto out;
	}
	if (b.len > TPL_OUT_MAX) {
		*why = "over 64 KiB once filled";
		goto out;
	}
	buf_add(&b, "", 1);	/* the NUL */
	if (b.err) {
		*why = "out of memory";
		goto out;
	}
	if (kind == TPL_JSON && (val = json_loadb(b.data, b.len - 1,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		*why = "body: not JSON once filled";
		goto out;
	} else if (kind == TPL_JSON)
		json_decref(val);
	if (kind == TPL_URL && tpl_dot_segment(b.data)) {
		*why = "an argument of . or .. as a segment of the URL's path";
		goto out;
	}
	if ((*out = strdup(b.data)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	rc = 0;
	goto out;
emptied:
	*why = "an empty argument as a segment of the URL's path";
out:
	buf_free(&b);
	return rc;
}
