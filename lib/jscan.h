/*
 * A JSON scanner for the hot path's small documents, read in one pass
 * without jansson: it checks the text is JSON exactly as
 * json_loadb(JSON_REJECT_DUPLICATES) takes it, a value at a time, and
 * hands out where each string's bytes are. It only ever accepts: what it
 * cannot judge for sure the way jansson does (a key with an escape, more
 * than JS_KEYS_MAX members in one object, nesting deeper than
 * JS_DEPTH_MAX, a number with an exponent or of more than 18 digits, a
 * \u0000, anything malformed) is -1, and its caller asks jansson, which
 * has the last word. Its readers: the model's stream chunks (sse.c) and
 * the chat API's request body (chat.c); each fuzz target checks that
 * its reader and jansson agree.
 */
#ifndef PARLEY_JSCAN_H
#define PARLEY_JSCAN_H

#include <stddef.h>

#define JS_DEPTH_MAX	16
#define JS_KEYS_MAX	32
#define JS_DIGITS_MAX	18	/* an integer this long fits a long long */

enum { JV_NULL, JV_OTHER, JV_INT, JV_STR, JV_ARRAY, JV_OBJECT };

struct jscan {
	const unsigned char *p, *end;
	int depth;
};

/* What js_value saw. */
struct jval {
	int type;
	const unsigned char *raw;	/* JV_STR: the bytes between the quotes */
	size_t rawlen;
	int escaped;			/* JV_STR from js_value: holds an escape */
	long long num;			/* JV_INT */
};

/* The keys of one object so far, for duplicates (none has an escape). */
struct jobj {
	const unsigned char *key[JS_KEYS_MAX];
	size_t klen[JS_KEYS_MAX];
	int n;
};

#define JS_KEY(k, klen, name) \
	((klen) == sizeof(name) - 1 && memcmp((k), (name), (klen)) == 0)

/* js_peek past white space: its slow path, out of line. */
int js_peek_space(struct jscan *);
/*
 * The next byte past white space, or -1 at the end. Inline: called some
 * 150 times a chat turn, almost always at a byte that is no white space
 * (which are all ' ' or below), where it is one test.
 */
static inline int
js_peek(struct jscan *s)
{
	if (s->p < s->end && *s->p > ' ')
		return *s->p;
	return js_peek_space(s);
}
/* A string, its '"' next; *escaped: it holds an escape. 0, or -1. */
int js_string(struct jscan *, struct jval *, int *escaped);
/* Decodes n bytes of a string js_string took into out (n bytes at most). */
size_t js_decode(const unsigned char *p, size_t n, char *out);
int js_number(struct jscan *, struct jval *);
/* Any value, checked and skipped; v says what it was. 0, or -1. */
int js_value(struct jscan *, struct jval *);
/* '{' next (past white space): 0 inside it, or -1. */
int js_obj_open(struct jscan *, struct jobj *);
/*
 * The object's next member: 1 with its key read up to the colon, 0 once
 * the object has closed, -1 when the scanner gives up (a duplicate key
 * too).
 */
int js_obj_next(struct jscan *, struct jobj *, const unsigned char **k,
    size_t *klen);
int js_arr_open(struct jscan *);
/* The array's next element: 1 when one follows, 0 once closed, -1. */
int js_arr_next(struct jscan *, int *count);

#endif
