/*
 * The model's HTTP answer (answer.h): libhttp_parser's callbacks, which
 * stop the parser (http_parser_pause) where the reader must decide: after
 * a 2xx head (the body waits for the caller's room), at the answer's end,
 * when enough of an error body is kept, when the event callback stops.
 */
#include <stdlib.h>
#include <string.h>

#include "answer.h"

static int
on_headers(http_parser *p)
{
	struct answer *a = p->data;

	a->interim = p->status_code >= 100 && p->status_code <= 199;
	if (a->interim)
		return 0;
	a->status = (int)p->status_code;
	if (answer_ok(a->status)) {
		a->head_pause = 1;
		http_parser_pause(p, 1);
	}
	return 0;
}

/* Stops the parser with a reason (ANSWER_BAD). */
static int
bad(http_parser *p, const char *why)
{
	struct answer *a = p->data;

	a->why = why;
	http_parser_pause(p, 1);
	return 0;
}

/* A piece of the body, its framing (chunks) taken off. */
static int
on_body(http_parser *p, const char *at, size_t n)
{
	struct answer *a = p->data;
	size_t room;
	int r;

	if (a->interim)
		return 0;
	a->body_seen = 1;
	if (!answer_ok(a->status)) {
		if (a->errbody == NULL &&
		    (a->errbody = malloc(ANSWER_ERRBODY_MAX)) == NULL)
			return bad(p, "out of memory");
		room = ANSWER_ERRBODY_MAX - a->errlen;
		memcpy(a->errbody + a->errlen, at, n < room ? n : room);
		a->errlen += n < room ? n : room;
		if (a->errlen == ANSWER_ERRBODY_MAX)
			http_parser_pause(p, 1);	/* enough kept */
		return 0;
	}
	if (a->done)
		return 0;
	r = sse_feed(&a->sse, at, n, NULL);
	if (r == SSE_TOO_BIG)
		return bad(p, "an event from the model is too big");
	if (r == ANSWER_CB_DONE)
		a->done = 1;
	else if (r > 1) {
		a->stop = r;
		http_parser_pause(p, 1);
	}
	return 0;
}

static int
on_complete(http_parser *p)
{
	struct answer *a = p->data;

	if (a->interim) {
		a->interim = 0;
		return 0;
	}
	a->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_headers_complete = on_headers,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

void
answer_init(struct answer *a, sse_cb on_event, void *arg)
{
	memset(a, 0, sizeof(*a));
	http_parser_init(&a->hp, HTTP_RESPONSE);
	a->hp.data = a;
	sse_init(&a->sse, 0, on_event, arg);
}

/* Where the answer stands after the parser stopped or took everything. */
static enum answer_step
step(struct answer *a)
{
	if (a->why != NULL)
		return ANSWER_BAD;
	if (a->stop != 0)
		return ANSWER_STOP;
	if (a->complete || a->errlen == ANSWER_ERRBODY_MAX)
		return ANSWER_END;
	if (HTTP_PARSER_ERRNO(&a->hp) == HPE_PAUSED && a->head_pause) {
		a->head_pause = 0;
		http_parser_pause(&a->hp, 0);
		return ANSWER_HEAD;
	}
	if (HTTP_PARSER_ERRNO(&a->hp) != HPE_OK) {
		a->why = "malformed HTTP answer from the model";
		return ANSWER_BAD;
	}
	return ANSWER_MORE;
}

enum answer_step
answer_feed(struct answer *a, const char *p, size_t n, size_t *used)
{
	*used = 0;
	if (a->why != NULL || a->stop != 0 || a->complete ||
	    a->errlen == ANSWER_ERRBODY_MAX)
		return step(a);
	if (n == 0)
		return ANSWER_MORE;	/* to the parser, 0 bytes is the end */
	*used = http_parser_execute(&a->hp, &settings, p, n);
	sse_release(&a->sse);	/* the next piece comes 20-200 ms later */
	return step(a);
}

enum answer_step
answer_eof(struct answer *a)
{
	if (a->why == NULL && a->stop == 0 && !a->complete &&
	    HTTP_PARSER_ERRNO(&a->hp) == HPE_OK)
		(void)http_parser_execute(&a->hp, &settings, NULL, 0);
	return a->complete ? ANSWER_END : ANSWER_MORE;
}

int
answer_keep(const struct answer *a)
{
	return a->complete && http_should_keep_alive(&a->hp);
}

void
answer_free(struct answer *a)
{
	sse_free(&a->sse);
	free(a->errbody);
	a->errbody = NULL;
	a->errlen = 0;
}
