/*
 * The hot path's JSON scanner (see jscan.h), taken out of sse.c's chunk
 * reader to be shared.
 */
#include <string.h>

#include "jscan.h"
#include "util.h"

int
js_peek_space(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return s->p < s->end ? *s->p : -1;
}

/*
 * The four hex digits at p: their value, or -1. Returned, not stored
 * through a pointer: js_string keeps no local in memory that way (no
 * stack guard to set and check on each string).
 */
static long
js_hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;
	int i, d;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}


/*
 * A string, its '"' next. jansson refuses control bytes, bad UTF-8, an
 * unknown escape and a lone or reversed surrogate; so do we. A \u0000,
 * which jansson takes (JSON_ALLOW_NUL) and the content drops, is left
 * to jansson too.
 */
int
js_string(struct jscan *s, struct jval *v, int *escaped)
{
	const unsigned char *p = s->p + 1, *end = s->end;
	long u, lo;
	size_t n;

	*escaped = 0;
	v->type = JV_STR;
	v->raw = p;
	while (p < end) {
		/* Printable ASCII other than '"' and '\\' needs no look. */
		p += proto_json_plain_len(p, (size_t)(end - p));
		if (p == end)
			break;
		if (*p == '"') {
			v->rawlen = (size_t)(p - v->raw);
			s->p = p + 1;
			return 0;
		}
		if (*p == '\\') {
			*escaped = 1;
			if (end - p < 2)
				return -1;
			/* A switch, not strchr: a call for each escape. */
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				break;
			default:
				return -1;
			}
			if ((u = js_hex4(p + 2, end)) <= 0 ||
			    (u >= 0xdc00 && u <= 0xdfff))
				return -1;
			p += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (end - p < 2 || p[0] != '\\' || p[1] != 'u' ||
				    (lo = js_hex4(p + 2, end)) < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				p += 6;
			}
			continue;
		}
		if (*p < 0x20)
			return -1;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((n = proto_utf8_seq_len(p, (size_t)(end - p))) == 0)
			return -1;
		p += n;
	}
	return -1;
}

/* Decodes a string js_string accepted; returns the bytes written. */
size_t
js_decode(const unsigned char *p, size_t n, char *out)
{
	const unsigned char *end = p + n;
	uint32_t u, lo;
	size_t o = 0;

	while (p < end) {
		if (*p != '\\') {
			out[o++] = (char)*p++;
			continue;
		}
		switch (p[1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			u = (uint32_t)js_hex4(p + 2, end);
			p += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				lo = (uint32_t)js_hex4(p + 2, end);
				p += 6;
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (u < 0x80)
				out[o++] = (char)u;
			else if (u < 0x800) {
				out[o++] = (char)(0xc0 | u >> 6);
				out[o++] = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				out[o++] = (char)(0xe0 | u >> 12);
				out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (u & 0x3f));
			} else {
				out[o++] = (char)(0xf0 | u >> 18);
				out[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
				out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (u & 0x3f));
			}
			continue;
		default: out[o++] = (char)p[1]; break;	/* " \ / */
		}
		p += 2;
	}
	return o;
}

/* A number: integers of up to JS_DIGITS_MAX digits and plain fractions. */
int
js_number(struct jscan *s, struct jval *v)
{
	const unsigned char *p = s->p, *end = s->end, *d;
	long long n = 0;
	int neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	d = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else
		return -1;
	if (p - d > JS_DIGITS_MAX)
		return -1;
	for (; d < p; d++)
		n = n * 10 + (*d - '0');
	v->type = JV_INT;
	v->num = neg ? -n : n;
	if (p < end && *p == '.') {
		/* A real: at most 18 digits before the point cannot overflow. */
		p++;
		if (p == end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		v->type = JV_OTHER;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
		return -1;	/* may overflow: jansson decides */
	/* "01", "1.2.3": what follows is not a separator, the caller stops. */
	s->p = p;
	return 0;
}

/*
 * Inline: its callers' words are constants, so each memcmp is a load and
 * a compare, not a call (three nulls a chunk of the model's stream).
 */
static inline int
js_word(struct jscan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return -1;
	s->p += n;
	/* "truex" is one bad word to jansson. */
	if (s->p < s->end && ((*s->p >= 'a' && *s->p <= 'z') ||
	    (*s->p >= 'A' && *s->p <= 'Z')))
		return -1;
	return 0;
}

int
js_obj_open(struct jscan *s, struct jobj *o)
{
	if (js_peek(s) != '{' || ++s->depth > JS_DEPTH_MAX)
		return -1;
	s->p++;
	o->n = 0;
	return 0;
}

/*
 * Two keys of n bytes are the same. A loop, not memcmp: keys are short
 * and differ early ("created", "choices"), and a chunk of the model's
 * stream compares some five pairs.
 */
static int
key_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
	while (n > 0 && *a == *b) {
		a++;
		b++;
		n--;
	}
	return n == 0;
}

/*
 * A key that is not plain ASCII, its '"' at s->p: js_string's to judge.
 * Its length (its bytes at s->p + 1, where js_string's begin), or
 * (size_t)-1 when refused (one with an escape too). Kept out of
 * js_obj_next (noinline), which is left with no local in memory: no
 * stack guard to set and check on each key.
 */
static size_t __attribute__((noinline))
js_key_slow(struct jscan *s)
{
	struct jval key;
	int escaped;

	if (js_string(s, &key, &escaped) < 0 || escaped)
		return (size_t)-1;
	return key.rawlen;
}

/*
 * The object's next member: 1 with its key read up to the colon, 0 once
 * the object has closed, -1 when the scanner gives up.
 */
int
js_obj_next(struct jscan *s, struct jobj *o, const unsigned char **k,
    size_t *klen)
{
	const unsigned char *key;
	size_t n;
	int c = js_peek(s), i;

	if (c == '}') {
		s->p++;
		s->depth--;
		return 0;
	}
	if (o->n > 0) {
		if (c != ',')
			return -1;
		s->p++;
		c = js_peek(s);
	}
	if (c != '"' || o->n == JS_KEYS_MAX)
		return -1;
	/*
	 * A key is most often plain ASCII: its closing quote is the first
	 * byte proto_json_plain_len stops at, and it needs no js_string
	 * (a call, and its look at escapes and UTF-8). Any other is
	 * js_string's to judge, as before.
	 */
	key = s->p + 1;
	n = proto_json_plain_len(key, (size_t)(s->end - key));
	if (key + n < s->end && key[n] == '"')
		s->p = key + n + 1;
	else if ((n = js_key_slow(s)) == (size_t)-1)
		return -1;
	for (i = 0; i < o->n; i++)
		if (o->klen[i] == n && key_eq(o->key[i], key, n))
			return -1;	/* a duplicate: jansson refuses it */
	o->key[o->n] = key;
	o->klen[o->n++] = n;
	if (js_peek(s) != ':')
		return -1;
	s->p++;
	*k = key;
	*klen = n;
	return 1;
}

/* The array's next element: 1 when one follows, 0 once closed, -1. */
int
js_arr_next(struct jscan *s, int *count)
{
	int c = js_peek(s);

	if (c == ']') {
		s->p++;
		s->depth--;
		return 0;
	}
	if ((*count)++ > 0) {
		if (c != ',')
			return -1;
		s->p++;
	}
	return 1;
}

int
js_arr_open(struct jscan *s)
{
	if (js_peek(s) != '[' || ++s->depth > JS_DEPTH_MAX)
		return -1;
	s->p++;
	return 0;
}


/*
 * An object or an array, checked and skipped: js_value's, out of it
 * (noinline) with the locals they need, so that a string, a number or a
 * word keeps none in memory (no stack guard to set and check).
 */
static int __attribute__((noinline))
js_compound(struct jscan *s, struct jval *v, int c)
{
	struct jobj o;
	struct jval sub;
	const unsigned char *k;
	size_t klen;
	int r, n = 0;

	if (c == '{') {
		v->type = JV_OBJECT;
		if (js_obj_open(s, &o) < 0)
			return -1;
		while ((r = js_obj_next(s, &o, &k, &klen)) == 1)
			if (js_value(s, &sub) < 0)
				return -1;
		return r;
	}
	v->type = JV_ARRAY;
	if (js_arr_open(s) < 0)
		return -1;
	while ((r = js_arr_next(s, &n)) == 1)
		if (js_value(s, &sub) < 0)
			return -1;
	return r;
}

/* Any value, checked and skipped; v says what it was. */
int
js_value(struct jscan *s, struct jval *v)
{
	int c = js_peek(s);

	switch (c) {
	case '"':
		return js_string(s, v, &v->escaped);
	case '{':
	case '[':
		return js_compound(s, v, c);
	case 'n':
		v->type = JV_NULL;
		return js_word(s, "null", 4);
	case 't':
		v->type = JV_OTHER;
		return js_word(s, "true", 4);
	case 'f':
		v->type = JV_OTHER;
		return js_word(s, "false", 5);
	default:
		return js_number(s, v);
	}
}
