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

#include "sse.h"

enum {
	ST_START,	/* at the start of a line */
	ST_NAME,	/* reading a field name */
	ST_VSTART,	/* just after the colon: one space may be dropped */
	ST_VALUE,	/* reading a field value */
	ST_SKIP,	/* a comment, or a name too long to be one we know */
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
	s->state = ST_START;
}

void
sse_free(struct sse *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
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
	case ST_START:
		rv = dispatch(s);
		break;
	case ST_NAME:
		/* A field with no colon: the whole line is its name. */
		if ((rv = value_begin(s)) == 0)
			value_end(s);
		break;
	case ST_VSTART:
	case ST_VALUE:
		value_end(s);
		break;
	}
	s->state = ST_START;
	s->name_len = 0;
	return rv;
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
		case ST_START:
			if (c == ':') {
				s->state = ST_SKIP;
				i++;
				continue;
			}
			s->state = ST_NAME;
			/* FALLTHROUGH */
		case ST_NAME:
			i++;
			if (c == ':') {
				if ((rv = value_begin(s)) != 0) {
					s->error = rv;
					return rv;
				}
				s->state = ST_VSTART;
			} else if (s->name_len < sizeof(s->name))
				s->name[s->name_len++] = c;
			else
				s->state = ST_SKIP;	/* no field we know is this long */
			continue;
		case ST_VSTART:
			s->state = ST_VALUE;
			if (c == ' ') {
				i++;
				continue;
			}
			break;
		}
		/* ST_VALUE or ST_SKIP: take the span up to the line's end. */
		for (j = i; j < len && p[j] != '\n' && p[j] != '\r'; j++)
			;
		if (s->state == ST_VALUE &&
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
count_of(json_t *v)
{
	json_int_t n;

	if (!json_is_integer(v))
		return 0;
	n = json_integer_value(v);
	if (n < 0)
		return 0;
	if ((unsigned long long)n > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)n;
}

int
sse_chunk_parse(const char *data, size_t len, struct sse_chunk *c)
{
	json_t *root, *err, *choices, *ch, *delta, *content, *fin, *usage;

	memset(c, 0, sizeof(*c));
	if ((root = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
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
					if (!json_is_string(content))
						goto bad;
					c->content = json_string_value(content);
					c->content_len = json_string_length(
					    content);
				}
			}
			fin = json_object_get(ch, "finish_reason");
			if (fin != NULL && !json_is_null(fin)) {
				if (!json_is_string(fin))
					goto bad;
				c->finished = 1;
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
	memset(c, 0, sizeof(*c));
	return -1;
}

void
sse_chunk_free(struct sse_chunk *c)
{
	json_decref(c->root);
	c->root = NULL;
}
