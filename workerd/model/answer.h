/*
 * The model's HTTP answer, read as it comes (upstream.c takes it off the
 * connection): its framing by libhttp_parser (the status, the body's
 * length or chunks, an interim 1xx skipped, whether the server keeps the
 * connection), a 2xx body's server-sent events handed to a callback
 * (sse.c), the start of a non-2xx body kept for its message. Nothing here
 * touches a socket or the model client's caller, so a fuzz target feeds
 * it any bytes (tests/fuzz/answer). The code is in answer.c.
 */
#ifndef PARLEY_ANSWER_H
#define PARLEY_ANSWER_H

#include <stddef.h>

#include <http_parser.h>

#include "sse.h"

#define ANSWER_ERRBODY_MAX	4096	/* of a non-2xx body, kept */
/* The event callback's "the stream is done": the rest is read, ignored. */
#define ANSWER_CB_DONE		1

struct answer {
	http_parser hp;
	struct sse sse;
	int status;		/* the final answer's, 0 before its head */
	char *errbody;		/* the start of a non-2xx body */
	size_t errlen;
	int stop;		/* the event callback's value, for ANSWER_STOP */
	const char *why;	/* ANSWER_BAD's reason */
	unsigned head_pause:1;	/* the parser stopped after a 2xx head */
	unsigned interim:1;	/* a 1xx answer is being read */
	unsigned complete:1;	/* read to its end */
	unsigned done:1;	/* the callback said ANSWER_CB_DONE */
	unsigned body_seen:1;	/* a byte of the final answer's body came */
};

enum answer_step {
	ANSWER_MORE,	/* all taken: more bytes wanted */
	ANSWER_HEAD,	/* a 2xx head ended at *used: its body follows */
	ANSWER_END,	/* complete, or a non-2xx body's start is all kept */
	ANSWER_STOP,	/* the event callback returned stop (> 1) */
	ANSWER_BAD,	/* not an HTTP answer, an event over the limit: why */
};

/* Whether an answer's status is a 2xx: a stream; else an error's body. */
static inline int
answer_ok(int status)
{
	return status >= 200 && status <= 299;
}

/*
 * Ready for an answer; each event of a 2xx body goes to on_event, which
 * returns 0, ANSWER_CB_DONE, or a value > 1 that stops the feed.
 */
void answer_init(struct answer *, sse_cb on_event, void *arg);
/*
 * Takes n bytes; *used says how many were taken (the rest, after
 * ANSWER_HEAD or ANSWER_STOP, may be given again). After ANSWER_END,
 * ANSWER_STOP or ANSWER_BAD the answer takes nothing more.
 */
enum answer_step answer_feed(struct answer *, const char *p, size_t n,
    size_t *used);
/* The server closed the connection: an answer framed by the close ends. */
enum answer_step answer_eof(struct answer *);
/* Whether the connection may carry the next request (after ANSWER_END). */
int answer_keep(const struct answer *);
/* Frees what it holds; answer_init may follow. */
void answer_free(struct answer *);

#endif
