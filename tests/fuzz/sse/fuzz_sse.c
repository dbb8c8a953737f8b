/*
 * libFuzzer target for the SSE parser and the chunk decoder upstream.c
 * uses on every event.
 *
 * The first two bytes choose where to split the rest into two reads and
 * the event size limit. The same bytes are parsed three ways: in two
 * reads, with the callback stopping at every event whose data is "stop"
 * and the rest fed again from where it stopped; in one read; and (for
 * short inputs) one byte at a time. All three must see exactly the same
 * events and end the same way (abort() otherwise). Every event's data
 * also goes through sse_is_done and sse_chunk_parse, whose fast reader
 * must agree with jansson's (sse_chunk_parse_json) on everything, and
 * through sse_chunk_parse_in with the prefix the input's earlier events
 * left, which must read it as sse_chunk_parse does (and as fast).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "../fuzzhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	uint64_t hash;
	size_t n;
	size_t max;
	int stop;	/* stop at "stop" events */
	int decode;	/* run the chunk decoder */
	struct sse_prefix pf;	/* what the input's chunks repeat */
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_sse: %s\n", what);
		abort();
	}
}

/* Both chunk readers must come to the same thing. */
static void
same_chunk(const struct sse_chunk *a, const struct sse_chunk *b)
{
	check((a->content == NULL) == (b->content == NULL), "content differs");
	check(a->content_len == b->content_len, "content length differs");
	if (a->content != NULL)
		check(memcmp(a->content, b->content, a->content_len) == 0,
		    "content bytes differ");
	check(a->finished == b->finished, "finished differs");
	check(a->tool_finish == b->tool_finish, "tool finish differs");
	check((a->tools == NULL) == (b->tools == NULL), "tool calls differ");
	check(a->has_usage == b->has_usage, "usage differs");
	check(a->prompt_tokens == b->prompt_tokens, "prompt tokens differ");
	check(a->completion_tokens == b->completion_tokens,
	    "completion tokens differ");
	check((a->error == NULL) == (b->error == NULL), "error differs");
	if (a->error != NULL)
		check(strcmp(a->error, b->error) == 0, "error text differs");
}

static void
decode(struct seen *s, const struct sse_event *ev)
{
	struct sse_chunk c, j, p;
	int rc, rj, rp;

	if (sse_is_done(ev->data, ev->len))
		return;
	rc = sse_chunk_parse(ev->data, ev->len, &c);
	rj = sse_chunk_parse_json(ev->data, ev->len, &j);
	rp = sse_chunk_parse_in(&s->pf, ev->data, ev->len, &p);
	check(rc == rj, "the fast reader and jansson disagree");
	check(rc == rp, "read on after the prefix, another outcome");
	if (rp == 0) {
		check((p.root == NULL) == (c.root == NULL),
		    "read on after the prefix, another reader");
		same_chunk(&p, &c);
		sse_chunk_free(&p);
	}
	if (rc < 0) {
		check(c.root == NULL && c.text == NULL,
		    "something left after a failed parse");
		check(j.root == NULL, "root left after a failed parse");
		return;
	}
	check(c.root != NULL || c.text != NULL || (c.content == NULL &&
	    (c.error == NULL || *c.error == '\0')), "no owner");
	if (c.content != NULL) {
		/* jansson refuses \u0000 here, so the length is the string's. */
		check(strlen(c.content) == c.content_len, "content length");
	} else
		check(c.content_len == 0, "length without content");
	if (c.error != NULL)
		check(strlen(c.error) < ev->len + 1, "error text");
	same_chunk(&c, &j);
	sse_chunk_free(&c);
	sse_chunk_free(&j);
	check(c.root == NULL && c.text == NULL, "root after free");
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct seen *s = arg;
	size_t tl = strlen(ev->type);

	check(ev->data[ev->len] == '\0', "data not NUL-terminated");
	check(ev->len <= s->max, "event over the limit");
	check(tl < SSE_TYPE_MAX, "type length");	/* may hold a NUL */
	s->n++;
	s->hash = fnv(s->hash, ev->type, tl + 1);
	s->hash = fnv(s->hash, &ev->len, sizeof(ev->len));
	s->hash = fnv(s->hash, ev->data, ev->len);
	if (s->decode)
		decode(s, ev);
	if (s->stop && ev->len == 4 && memcmp(ev->data, "stop", 4) == 0)
		return 1;
	return 0;
}

/* Feeds p[0..len) and goes on after every stop; the last result. */
static int
feed_all(struct sse *p, const uint8_t *buf, size_t len)
{
	size_t used;
	int rv;

	while ((rv = sse_feed(p, buf, len, &used)) > 0) {
		check(rv == 1, "stop value");
		check(used <= len, "used past the end");
		buf += used;
		len -= used;
	}
	if (rv == 0)
		check(used == len, "not all used");
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a, b, c;
	struct sse pa, pb, pc;
	size_t len, split, max, i;
	const uint8_t *body;
	int ra, rb, rc = 0;

	if (size < 2)
		return 0;
	body = data + 2;
	len = size - 2;
	split = data[0] % (len + 1);
	/* Small limits make the size check easy to reach; 0 is the default. */
	max = data[1] < 200 ? (size_t)data[1] * 8 : 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	a.hash = b.hash = c.hash = FNV_START;
	sse_init(&pa, max, on_event, &a);
	sse_init(&pb, max, on_event, &b);
	sse_init(&pc, max, on_event, &c);
	a.max = b.max = c.max = pa.max;
	a.stop = 1;
	b.decode = 1;

	ra = feed_all(&pa, body, split);
	if (ra == 0)
		ra = feed_all(&pa, body + split, len - split);
	rb = sse_feed(&pb, body, len, NULL);
	check(ra == rb, "split and whole differ in outcome");
	check(a.n == b.n && a.hash == b.hash, "split and whole differ");
	/* The error is sticky. */
	if (rb != 0)
		check(sse_feed(&pb, "\n\n", 2, NULL) == rb, "error not sticky");

	if (len <= 4096) {
		for (i = 0; i < len && rc == 0; i++)
			rc = sse_feed(&pc, body + i, 1, NULL);
		check(rc == rb, "byte by byte differs in outcome");
		check(c.n == b.n && c.hash == b.hash, "byte by byte differs");
	}
	sse_free(&pa);
	sse_free(&pb);
	sse_free(&pc);
	sse_prefix_free(&b.pf);
	return 0;
}
