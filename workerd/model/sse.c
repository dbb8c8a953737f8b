/*
 * Server-sent events parser (incremental, bounded) and the decoder of an
 * OpenAI chat.completion.chunk. See sse.h for the rules.
 *
 * The parser is a small state machine over bytes; the value of a line is
 * handled a span at a time (up to the next CR or LF), so a data line is
 * one memcpy however it was split.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "proto.h"
#include "sse.h"

enum {
	SSE_S_START,	/* at the start of a line */
	SSE_S_NAME,	/* reading a field name */
	SSE_S_VSTART,	/* just after the colon: one space may be dropped */
	SSE_S_VALUE,	/* reading a field value */
	SSE_S_SKIP,	/* a comment, or a name too long to be one we know */
};

enum {
	F_OTHER,	/* "id" and unknown fields: ignored */
	F_DATA,
	F_EVENT,
	F_RETRY,
};

#define SSE_KEEP_CAP	4096	/* a buffer bigger than this is freed after its event */
#define SSE_MIN_CAP	512

void
sse_init(struct sse *s, size_t max, sse_cb cb, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	s->max = max ? max : SSE_MAX_EVENT;
	s->state = SSE_S_START;
}

void
sse_free(struct sse *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
}

void
sse_release(struct sse *s)
{
	if (s->len == 0)
		sse_free(s);
}

/* Room for n more data bytes and a NUL; SSE_TOO_BIG past the limit. */
static int
reserve(struct sse *s, size_t n)
{
	size_t cap;
	char *p;

	if (n > s->max || s->len > s->max - n)
		return SSE_TOO_BIG;
	if (s->len + n < s->cap)
		return 0;
	cap = s->cap ? s->cap : SSE_MIN_CAP;
	while (cap <= s->len + n)
		cap *= 2;
	if (cap > s->max + 1)
		cap = s->max + 1;
	if ((p = realloc(s->data, cap)) == NULL)
		return SSE_TOO_BIG;	/* out of memory: as bad as too big */
	s->data = p;
	s->cap = cap;
	return 0;
}

static int
field_of(const struct sse *s)
{
	if (s->name_len == 4 && memcmp(s->name, "data", 4) == 0)
		return F_DATA;
	if (s->name_len == 5 && memcmp(s->name, "event", 5) == 0)
		return F_EVENT;
	if (s->name_len == 5 && memcmp(s->name, "retry", 5) == 0)
		return F_RETRY;
	return F_OTHER;
}

/* A field's value starts (possibly empty). */
static int
value_begin(struct sse *s)
{
	s->field = (uint8_t)field_of(s);
	switch (s->field) {
	case F_DATA:
		if (s->has_data) {
			if (reserve(s, 1) < 0)
				return SSE_TOO_BIG;
			s->data[s->len++] = '\n';
		}
		s->has_data = 1;
		break;
	case F_EVENT:
		s->type_len = 0;
		break;
	case F_RETRY:
		s->racc = 0;
		s->rok = 1;
		break;
	}
	return 0;
}

static int
value_bytes(struct sse *s, const char *p, size_t n)
{
	size_t i, room;

	switch (s->field) {
	case F_DATA:
		if (reserve(s, n) < 0)
			return SSE_TOO_BIG;
		memcpy(s->data + s->len, p, n);
		s->len += n;
		break;
	case F_EVENT:
		room = sizeof(s->type) - 1 - s->type_len;
		if (n > room)
			n = room;
		memcpy(s->type + s->type_len, p, n);
		s->type_len += (uint8_t)n;
		break;
	case F_RETRY:
		for (i = 0; i < n && s->rok; i++) {
			if (p[i] < '0' || p[i] > '9') {
				s->rok = 0;
				break;
			}
			s->rok = 2;
			if (s->racc > (UINT32_MAX - 9) / 10)
				s->racc = UINT32_MAX;
			else
				s->racc = s->racc * 10 + (uint32_t)(p[i] - '0');
		}
		break;
	}
	return 0;
}

static void
value_end(struct sse *s)
{
	if (s->field == F_RETRY && s->rok == 2)	/* digits, at least one */
		s->retry = s->racc;
	s->field = F_OTHER;
}

/* A blank line: hand over the event, if it had data. */
static int
dispatch(struct sse *s)
{
	struct sse_event ev;
	int rv = 0;

	if (s->has_data) {
		if (s->data == NULL && reserve(s, 0) < 0)
			return SSE_TOO_BIG;
		s->data[s->len] = '\0';
		s->type[s->type_len] = '\0';
		ev.type = s->type_len ? s->type : "message";
		ev.data = s->data;
		ev.len = s->len;
		rv = s->cb(s->arg, &ev);
	}
	s->has_data = 0;
	s->len = 0;
	s->type_len = 0;
	if (s->cap > SSE_KEEP_CAP)
		sse_free(s);
	return rv;
}

/* The end of a line. Returns the callback's value or an error. */
static int
line_end(struct sse *s)
{
	int rv = 0;

	switch (s->state) {
	case SSE_S_START:
		rv = dispatch(s);
		break;
	case SSE_S_NAME:
		/* A field with no colon: the whole line is its name. */
		if ((rv = value_begin(s)) == 0)
			value_end(s);
		break;
	case SSE_S_VSTART:
	case SSE_S_VALUE:
		value_end(s);
		break;
	}
	s->state = SSE_S_START;
	s->name_len = 0;
	return rv;
}

/* Where the line that goes on at p[i] ends: its CR or LF, or len. */
static size_t
line_span(const char *p, size_t i, size_t len)
{
	const char *lf, *cr;
	size_t end;

	/* Lines end with LF almost always: memchr finds it fast. */
	lf = memchr(p + i, '\n', len - i);
	end = lf != NULL ? (size_t)(lf - p) : len;
	cr = memchr(p + i, '\r', end - i);
	return cr != NULL ? (size_t)(cr - p) : end;
}

int
sse_feed(struct sse *s, const void *buf, size_t len, size_t *used)
{
	const char *p = buf;
	size_t i = 0, j;
	int rv;
	char c;

	if (used != NULL)
		*used = 0;
	if (s->error)
		return s->error;
	/* A BOM at the very start of the stream is not part of it. */
	while (s->bom != 0xff && i < len) {
		if ((unsigned char)p[i] != (unsigned char)"\xef\xbb\xbf"[s->bom]) {
			s->bom = 0xff;	/* bytes of a partial BOM are dropped */
			break;
		}
		i++;
		if (++s->bom == 3)
			s->bom = 0xff;
	}
	while (i < len) {
		c = p[i];
		if (s->cr) {
			s->cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			s->cr = c == '\r';
			i++;
			if ((rv = line_end(s)) != 0) {
				if (rv == SSE_TOO_BIG) {
					s->error = rv;
					return rv;
				}
				if (used != NULL)
					*used = i;
				return rv;
			}
			continue;
		}
		switch (s->state) {
		case SSE_S_START:
			if (c == ':') {
				s->state = SSE_S_SKIP;
				i++;
				continue;
			}
			s->state = SSE_S_NAME;
			/*
			 * "data:", a stream's every line but the blank ones:
			 * its name taken in one step, where SSE_S_NAME takes
			 * it a byte (and a test of each) at a time; its colon
			 * then ends the name there, as any name's does.
			 */
			if (c == 'd' && len - i >= 5 &&
			    memcmp(p + i, "data:", 5) == 0) {
				memcpy(s->name, "data", 4);
				s->name_len = 4;
				i += 4;
				continue;
			}
			/* FALLTHROUGH */
		case SSE_S_NAME:
			i++;
			if (c == ':') {
				if ((rv = value_begin(s)) != 0) {
					s->error = rv;
					return rv;
				}
				s->state = SSE_S_VSTART;
			} else if (s->name_len < sizeof(s->name))
				s->name[s->name_len++] = c;
			else
				s->state = SSE_S_SKIP;	/* no field we know is this long */
			continue;
		case SSE_S_VSTART:
			s->state = SSE_S_VALUE;
			if (c == ' ') {
				i++;
				continue;
			}
			break;
		}
		/* SSE_S_VALUE or SSE_S_SKIP: take the span up to the line's end. */
		j = line_span(p, i, len);
		if (s->state == SSE_S_VALUE &&
		    (rv = value_bytes(s, p + i, j - i)) != 0) {
			s->error = rv;
			return rv;
		}
		i = j;
	}
	if (used != NULL)
		*used = len;
	return 0;
}

/* ------------------------------------------------- chat.completion.chunk */

int
sse_is_done(const char *data, size_t len)
{
	return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

static uint32_t
count_clamp(long long n)
{
	if (n < 0)
		return 0;
	if ((unsigned long long)n > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)n;
}

static uint32_t
count_of(json_t *v)
{
	json_int_t n;

	if (!json_is_integer(v))
		return 0;
	n = json_integer_value(v);
	return count_clamp((long long)n);
}

/*
 * The content string v into c: as it is, or, when it holds a NUL (a
 * \u0000), a copy without them (c->text). 0, or -1 out of memory.
 */
static int
content_set(struct sse_chunk *c, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t i, n = json_string_length(v), o = 0;

	if (memchr(s, '\0', n) == NULL) {
		c->content = s;
		c->content_len = n;
		return 0;
	}
	if ((c->text = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] != '\0')
			c->text[o++] = s[i];
	c->text[o] = '\0';
	c->content = c->text;
	c->content_len = o;
	return 0;
}

int
sse_chunk_parse_json(const char *data, size_t len, struct sse_chunk *c)
{
	json_t *root, *err, *choices, *ch, *delta, *content, *fin, *usage;
	json_t *tools;

	memset(c, 0, sizeof(*c));
	if ((root = json_loadb(data, len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, NULL)) == NULL)
		return -1;
	if (!json_is_object(root))
		goto bad;
	c->root = root;
	/* A failure reported inside the stream. */
	if ((err = json_object_get(root, "error")) != NULL &&
	    !json_is_null(err)) {
		if (json_is_string(err))
			c->error = json_string_value(err);
		else if (json_is_object(err) && json_is_string(json_object_get(
		    err, "message")))
			c->error = json_string_value(json_object_get(err,
			    "message"));
		else
			c->error = "";
		return 0;
	}
	choices = json_object_get(root, "choices");
	if (choices != NULL && !json_is_null(choices)) {
		if (!json_is_array(choices))
			goto bad;
		if ((ch = json_array_get(choices, 0)) != NULL) {
			if (!json_is_object(ch))
				goto bad;
			delta = json_object_get(ch, "delta");
			if (delta != NULL && !json_is_null(delta)) {
				if (!json_is_object(delta))
					goto bad;
				content = json_object_get(delta, "content");
				if (content == NULL || json_is_null(content))
					content = json_object_get(delta,
					    "refusal");
				if (content != NULL && !json_is_null(content)) {
					if (!json_is_string(content) ||
					    content_set(c, content) < 0)
						goto bad;
				}
				tools = json_object_get(delta, "tool_calls");
				if (tools != NULL && !json_is_null(tools))
					c->tools = tools;
			}
			fin = json_object_get(ch, "finish_reason");
			if (fin != NULL && !json_is_null(fin)) {
				if (!json_is_string(fin))
					goto bad;
				c->finished = 1;
				c->tool_finish = strcmp(json_string_value(fin),
				    "tool_calls") == 0;
			}
		}
	}
	usage = json_object_get(root, "usage");
	if (usage != NULL && !json_is_null(usage)) {
		if (!json_is_object(usage))
			goto bad;
		c->has_usage = 1;
		c->prompt_tokens = count_of(json_object_get(usage,
		    "prompt_tokens"));
		c->completion_tokens = count_of(json_object_get(usage,
		    "completion_tokens"));
	}
	return 0;
bad:
	json_decref(root);
	free(c->text);
	memset(c, 0, sizeof(*c));
	return -1;
}

/* ------------------------------------------------- the chunk, quickly */

/*
 * jansson reads a chunk at some 190 instructions a byte, and a stream
 * brings one chunk per token: that was over half of a worker's CPU per
 * chat turn. So a chunk is read first by the scanner below (jscan.h's),
 * in one pass and one allocation: it checks the text is JSON exactly as
 * json_loadb(JSON_REJECT_DUPLICATES) takes it and picks out the members
 * we use. It only ever accepts. Whatever it cannot judge for sure the way
 * jansson does (a key with an escape, more than JS_KEYS_MAX members in
 * one object, nesting deeper than JS_DEPTH_MAX, a number with an exponent
 * or of more than 18 digits, a delta's tool calls, a finish reason with an
 * escape, a shape we would refuse, anything malformed)
 * goes to sse_chunk_parse_json, which has the last word. fuzz_sse.c
 * checks that the two agree on every input.
 */

/* What the scanner keeps of a chunk until it decodes the strings. */
struct jchunk {
	struct jval content, refusal, error;
	int error_set;		/* "error" is there and not null */
	int finished, tool_finish, has_usage;
	uint32_t prompt_tokens, completion_tokens;
};

/*
 * null, or an object each of whose members member() reads (its key and
 * value): 0, or -1 malformed. *obj says it was an object.
 */
static int
js_members(struct jscan *s, struct jchunk *j, int *obj,
    int (*member)(const unsigned char *, size_t, const struct jval *,
    struct jchunk *))
{
	const unsigned char *k;
	struct jobj o;
	struct jval v;
	size_t klen;
	int r;

	*obj = 0;
	if (js_peek(s) == 'n')
		return js_value(s, &v);
	if (js_obj_open(s, &o) < 0)
		return -1;
	*obj = 1;
	while ((r = js_obj_next(s, &o, &k, &klen)) == 1)
		if (js_value(s, &v) < 0 || member(k, klen, &v, j) < 0)
			return -1;
	return r;
}

static int
error_member(const unsigned char *k, size_t klen, const struct jval *v,
    struct jchunk *j)
{
	if (JS_KEY(k, klen, "message") && v->type == JV_STR)
		j->error = *v;
	return 0;
}

/* "error": a string, or an object whose "message" is one; else "". */
static int
js_error(struct jscan *s, struct jchunk *j)
{
	struct jval v;
	int obj;

	if (js_peek(s) != '{') {
		if (js_value(s, &v) < 0)
			return -1;
		if (v.type == JV_NULL)
			return 0;
		j->error_set = 1;
		if (v.type == JV_STR)
			j->error = v;
		return 0;
	}
	j->error_set = 1;
	return js_members(s, j, &obj, error_member);
}

/* content and refusal: null or strings; tool calls: jansson's to read. */
static int
delta_member(const unsigned char *k, size_t klen, const struct jval *v,
    struct jchunk *j)
{
	if (JS_KEY(k, klen, "tool_calls"))
		return v->type == JV_NULL ? 0 : -1;
	if (!JS_KEY(k, klen, "content") && !JS_KEY(k, klen, "refusal"))
		return 0;
	if (v->type != JV_NULL && v->type != JV_STR)
		return -1;
	if (v->type == JV_STR && k[0] == 'c')
		j->content = *v;
	else if (v->type == JV_STR)
		j->refusal = *v;
	return 0;
}

/* "delta": null or an object; content and refusal null or strings. */
static int
js_delta(struct jscan *s, struct jchunk *j)
{
	int obj;

	return js_members(s, j, &obj, delta_member);
}

/* A choice: an object whose "delta" and "finish_reason" are read. */
static int
js_choice(struct jscan *s, struct jchunk *j)
{
	const unsigned char *k;
	struct jobj o;
	struct jval v;
	size_t klen;
	int r;

	if (js_obj_open(s, &o) < 0)
		return -1;
	while ((r = js_obj_next(s, &o, &k, &klen)) == 1) {
		if (JS_KEY(k, klen, "delta")) {
			if (js_delta(s, j) < 0)
				return -1;
			continue;
		}
		if (js_value(s, &v) < 0)
			return -1;
		if (JS_KEY(k, klen, "finish_reason")) {
			if (v.type != JV_NULL && v.type != JV_STR)
				return -1;
			/* An escape: jansson says what it spells. */
			if (v.type == JV_STR && memchr(v.raw, '\\',
			    v.rawlen) != NULL)
				return -1;
			j->finished = v.type == JV_STR;
			j->tool_finish = v.type == JV_STR &&
			    JS_KEY(v.raw, v.rawlen, "tool_calls");
		}
	}
	return r;
}

/* "choices": null or an array whose first element is a choice. */
static int
js_choices(struct jscan *s, struct jchunk *j)
{
	struct jval v;
	int r, n = 0;

	if (js_peek(s) == 'n')
		return js_value(s, &v);
	if (js_arr_open(s) < 0)
		return -1;
	while ((r = js_arr_next(s, &n)) == 1)
		if ((n > 1 ? js_value(s, &v) : js_choice(s, j)) < 0)
			return -1;
	return r;
}

/* Counts that are not integers are 0. */
static int
usage_member(const unsigned char *k, size_t klen, const struct jval *v,
    struct jchunk *j)
{
	if (JS_KEY(k, klen, "prompt_tokens"))
		j->prompt_tokens = v->type == JV_INT ? count_clamp(v->num) : 0;
	else if (JS_KEY(k, klen, "completion_tokens"))
		j->completion_tokens = v->type == JV_INT ?
		    count_clamp(v->num) : 0;
	return 0;
}

/* "usage": null or an object; counts that are not integers are 0. */
static int
js_usage(struct jscan *s, struct jchunk *j)
{
	int obj, r;

	r = js_members(s, j, &obj, usage_member);
	if (obj)
		j->has_usage = 1;
	return r;
}

/*
 * The members before the first one read and the comma after them, as
 * this chunk has them: kept in *pf once the chunk is read whole
 * (chunk_fast). A chunk whose first member is read, more keys than
 * SSE_PREFIX_KEYS or SSE_PREFIX_MAX bytes before it: nothing to keep.
 */
struct prefix_mark {
	const unsigned char *end;	/* NULL: none */
	int nkeys;
};

/*
 * The mark at the first read member, whose scan began at at with nkeys
 * keys before it: up to the comma after them (which ends their last
 * value: a number cannot run on into the next chunk's bytes).
 */
static void
prefix_mark(struct prefix_mark *m, const char *data,
    const unsigned char *at, int nkeys)
{
	if (nkeys < 1 || nkeys > SSE_PREFIX_KEYS)
		return;
	while (*at != ',')
		at++;	/* whitespace: js_obj_next took a comma */
	if ((size_t)(at + 1 - (const unsigned char *)data) > SSE_PREFIX_MAX)
		return;
	m->end = at + 1;
	m->nkeys = nkeys;
}

/* *pf made from the data's first mark->end bytes and o's keys. */
static void
prefix_keep(struct sse_prefix *pf, const char *data,
    const struct prefix_mark *m, const struct jobj *o)
{
	size_t len = (size_t)(m->end - (const unsigned char *)data);
	char *b;
	int i;

	if ((b = malloc(len)) == NULL)
		return;		/* the next chunk is read whole: no harm */
	memcpy(b, data, len);
	free(pf->bytes);
	pf->bytes = b;
	pf->len = (uint16_t)len;
	pf->nkeys = (uint8_t)m->nkeys;
	for (i = 0; i < m->nkeys; i++) {
		pf->koff[i] = (uint16_t)(o->key[i] - (const unsigned char *)data);
		pf->klen[i] = (uint16_t)o->klen[i];
	}
}

/*
 * Where the scan of data starts: after the stream's prefix when data
 * begins with its bytes (the object open, its keys so far as they were),
 * else at the start. 1 resumed, 0 not, -1 not an object.
 */
static int
scan_start(const struct sse_prefix *pf, const char *data, size_t len,
    struct jscan *s, struct jobj *o)
{
	int i;

	s->p = (const unsigned char *)data;
	s->end = s->p + len;
	s->depth = 0;
	if (pf != NULL && pf->bytes != NULL && len > pf->len &&
	    memcmp(data, pf->bytes, pf->len) == 0) {
		/* At the prefix's last byte, its comma: the next member's. */
		s->p += pf->len - 1;
		s->depth = 1;
		o->n = pf->nkeys;
		for (i = 0; i < o->n; i++) {
			o->key[i] = (const unsigned char *)data + pf->koff[i];
			o->klen[i] = pf->klen[i];
		}
		return 1;
	}
	return js_obj_open(s, o) < 0 ? -1 : 0;
}

/*
 * Where a chunk's text of n bytes (and its NUL) is decoded: the stream's
 * kept buffer (pf's, grown by doubling up to SSE_TEXT_KEEP) when it fits
 * there, else the chunk's own (c->text). NULL out of memory.
 */
static char *
text_room(struct sse_prefix *pf, struct sse_chunk *c, size_t n)
{
	size_t cap;
	char *p;

	if (pf == NULL || n >= SSE_TEXT_KEEP)
		return c->text = malloc(n + 1);
	if (n < pf->textcap)
		return pf->text;
	cap = pf->textcap ? pf->textcap : 64;
	while (cap <= n)
		cap *= 2;
	if ((p = realloc(pf->text, cap)) == NULL)
		return NULL;
	pf->text = p;
	pf->textcap = cap;
	return p;
}

/*
 * A string js_value read, decoded into out (its rawlen bytes at most):
 * one copy when it holds no escape, as a token's text most often does.
 */
static size_t
text_decode(const struct jval *v, char *out)
{
	if (v->escaped)
		return js_decode(v->raw, v->rawlen, out);
	memcpy(out, v->raw, v->rawlen);
	return v->rawlen;
}

/* 0 with c filled, or -1: ask jansson. pf: the stream's prefix, or NULL. */
static int
chunk_fast(struct sse_prefix *pf, const char *data, size_t len,
    struct sse_chunk *c)
{
	struct jscan s;
	struct jchunk j;
	struct jobj o;
	struct jval v, *text;
	struct prefix_mark mark = { NULL, 0 };
	const unsigned char *k, *at;
	size_t klen, n;
	char *out;
	int r, resumed, read, was_read = 0;

	memset(&j, 0, sizeof(j));
	if ((resumed = scan_start(pf, data, len, &s, &o)) < 0)
		return -1;
	for (;;) {
		at = s.p;
		if ((r = js_obj_next(&s, &o, &k, &klen)) != 1)
			break;
		read = JS_KEY(k, klen, "error") || JS_KEY(k, klen, "choices") ||
		    JS_KEY(k, klen, "usage");
		/* The members before the first read one: the next prefix. */
		if (read && !was_read && !resumed)
			prefix_mark(&mark, data, at, o.n - 1);
		was_read |= read;
		if (JS_KEY(k, klen, "error"))
			r = js_error(&s, &j);
		else if (JS_KEY(k, klen, "choices"))
			r = js_choices(&s, &j);
		else if (JS_KEY(k, klen, "usage"))
			r = js_usage(&s, &j);
		else
			r = js_value(&s, &v);
		if (r < 0)
			return -1;
	}
	if (r < 0 || js_peek(&s) != -1)
		return -1;
	if (pf != NULL && mark.end != NULL)
		prefix_keep(pf, data, &mark, &o);

	memset(c, 0, sizeof(*c));
	if (j.error_set) {
		/* An error event: nothing else of it counts. */
		if (j.error.raw == NULL) {
			c->error = "";
			return 0;
		}
		if ((out = text_room(pf, c, j.error.rawlen)) == NULL)
			return -1;
		n = text_decode(&j.error, out);
		out[n] = '\0';
		c->error = out;
		return 0;
	}
	c->finished = j.finished;
	c->tool_finish = j.tool_finish;
	c->has_usage = j.has_usage;
	c->prompt_tokens = j.prompt_tokens;
	c->completion_tokens = j.completion_tokens;
	text = j.content.raw != NULL ? &j.content :
	    j.refusal.raw != NULL ? &j.refusal : NULL;
	if (text != NULL) {
		if ((out = text_room(pf, c, text->rawlen)) == NULL) {
			memset(c, 0, sizeof(*c));
			return -1;
		}
		c->content_len = text_decode(text, out);
		out[c->content_len] = '\0';
		c->content = out;
	}
	return 0;
}

int
sse_chunk_parse_in(struct sse_prefix *pf, const char *data, size_t len,
    struct sse_chunk *c)
{
	if (chunk_fast(pf, data, len, c) == 0)
		return 0;
	return sse_chunk_parse_json(data, len, c);
}

int
sse_chunk_parse(const char *data, size_t len, struct sse_chunk *c)
{
	return sse_chunk_parse_in(NULL, data, len, c);
}

void
sse_prefix_free(struct sse_prefix *pf)
{
	free(pf->bytes);
	free(pf->text);
	memset(pf, 0, sizeof(*pf));
}

void
sse_chunk_free(struct sse_chunk *c)
{
	json_decref(c->root);
	c->root = NULL;
	free(c->text);
	c->text = NULL;
}
