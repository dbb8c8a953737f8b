/*
 * libFuzzer target for the model's HTTP answer reader
 * (workerd/model/answer.c): the framing (status, Content-Length or
 * chunks, interim 1xx, keep-alive), a 2xx body's events, a non-2xx
 * body's start.
 *
 * The first byte chooses where to split the rest into two reads. The
 * same bytes are read whole and in the two reads, going on after each
 * ANSWER_HEAD as the model client does, and the server's close given at
 * the end when more was wanted. Both must see the same events, end the
 * same way, with the same status, error body and keep-alive (abort()
 * otherwise). An event whose data is "[DONE]" is the stream's end (the
 * rest read and ignored), one whose data is "stop" stops the feed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "../fuzzhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	uint64_t hash;		/* of the events seen, in order */
	size_t nevents;
	enum answer_step last;
	int status, keep, complete;
	size_t errlen;
	uint64_t errhash;
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_answer: %s\n", what);
		abort();
	}
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct run *r = arg;

	r->hash = fnv(r->hash, ev->data, ev->len);
	r->hash = fnv(r->hash, "|", 1);
	r->nevents++;
	if (ev->len == 6 && memcmp(ev->data, "[DONE]", 6) == 0)
		return ANSWER_CB_DONE;
	if (ev->len == 4 && memcmp(ev->data, "stop", 4) == 0)
		return 7;
	return 0;
}

/* Gives p to a as the model client does: on past each head. */
static enum answer_step
give(struct answer *a, const char *p, size_t n)
{
	enum answer_step st;
	size_t used;

	for (;;) {
		st = answer_feed(a, p, n, &used);
		check(used <= n, "used past the input");
		if (st != ANSWER_HEAD)
			return st;
		check(a->status >= 200 && a->status <= 299, "a head not 2xx");
		p += used;
		n -= used;
	}
}

static void
read_answer(const char *p, size_t n, size_t cut, struct run *r)
{
	struct answer a;
	enum answer_step st;

	memset(r, 0, sizeof(*r));
	r->hash = FNV_START;
	answer_init(&a, on_event, r);
	st = give(&a, p, cut);
	if (st == ANSWER_MORE)
		st = give(&a, p + cut, n - cut);
	if (st == ANSWER_MORE)
		st = answer_eof(&a);
	r->last = st;
	r->status = a.status;
	r->complete = a.complete;
	r->keep = st == ANSWER_END ? answer_keep(&a) : -1;
	r->errlen = a.errlen;
	check(a.errlen <= ANSWER_ERRBODY_MAX, "error body past its bound");
	r->errhash = a.errbody ? fnv(0, a.errbody, a.errlen) : 0;
	check(st != ANSWER_BAD || a.why != NULL, "bad without a reason");
	check(st != ANSWER_STOP || a.stop == 7, "stopped with another value");
	answer_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, split;
	const char *p;
	size_t n, cut;

	if (size < 1 || size > 256 * 1024)
		return 0;
	p = (const char *)data + 1;
	n = size - 1;
	cut = n ? data[0] % (n + 1) : 0;
	read_answer(p, n, n, &whole);
	read_answer(p, n, cut, &split);
	check(whole.hash == split.hash && whole.nevents == split.nevents,
	    "the events differ with the cut");
	check(whole.last == split.last, "the end differs with the cut");
	check(whole.status == split.status, "the status differs");
	check(whole.complete == split.complete, "completeness differs");
	check(whole.keep == split.keep, "keep-alive differs");
	check(whole.errlen == split.errlen && whole.errhash == split.errhash,
	    "the error body differs");
	return 0;
}
