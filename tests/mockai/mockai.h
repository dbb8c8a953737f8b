/*
 * mockai: a mock OpenAI-compatible model server for Parley's tests.
 *
 * One process, one epoll loop. Files:
 *	main.c		command line, listener, signals
 *	http.c		connections: reading, libhttp-parser, bounded output
 *	completions.c	POST /v1/chat/completions in OpenAI's wire format
 *	embeddings.c	POST /v1/embeddings and /v1/rerank: hashed-feature vectors
 *	cite.c		the [n] citations a reply gets from marked passages
 *	control.c	[[mock:…]] directives, /_mock endpoints, stats, config
 * README.md (next to this file) is the user's documentation.
 */
#ifndef MOCKAI_H
#define MOCKAI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <http_parser.h>
#include <jansson.h>

#include "loop.h"

#define MOCK_MAX_PENDING	(256 * 1024)	/* stop producing above this many unsent bytes */
#define MOCK_MAX_HEAD		(16 * 1024)	/* request line + headers */
#define MOCK_MAX_BODY		(8 * 1024 * 1024)
#define MOCK_IN_CAP		(16 * 1024)	/* unparsed input kept per connection */
#define MOCK_LOG_KEEP		100		/* requests remembered for GET /_mock/requests */
#define MOCK_MAX_CHUNKS		1000000
#define MOCK_MAX_DELAY		3600000		/* ms */
#define MOCK_MAX_REPLY		(16 * 1024 * 1024)	/* bytes of reply text, repeats included */
#define MOCK_EMBED_MAX_INPUTS	2048		/* strings in one embeddings request */
#define MOCK_EMBED_MAX_BYTES	65536		/* bytes of one of them */
#define MOCK_EMBED_MAX_DIMS	4096
#define MOCK_EMBED_DEF_DIMS	1536
#define MOCK_EMBED_MAX_VALUES	(2048 * 1536)	/* inputs x dimensions in one answer */
#define MOCK_RERANK_MAX_DOCS	1000

/* The event loop is Parley's own, lib/loop.c (loop.h). */

/* ------------------------------------------------------------ http.c */

struct buf {
	char *p;
	size_t off;		/* first unsent / unread byte */
	size_t len;		/* end of data */
	size_t cap;
};

void buf_add(struct buf *, const void *, size_t);
void buf_printf(struct buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *);

/* The request being read, then handled. */
struct request {
	enum http_method method;
	struct buf url;
	struct buf hname, hvalue;	/* header being read */
	int hstate;			/* 0 none, 1 in name, 2 in value */
	char *authorization;		/* headers we keep (NULL if absent) */
	char *content_type;
	char *accept;
	struct buf body;
	size_t head_bytes;
	int keep_alive;
	int http10;			/* HTTP/1.0: no chunked encoding */
	int expect_continue;		/* "Expect: 100-continue" */
	char *path;			/* url without the query (set when complete) */
};

struct stream;				/* completions.c */

struct conn {
	struct loop_io io;		/* its socket in the loop */
	http_parser parser;
	char in[MOCK_IN_CAP];		/* bytes read, not yet parsed */
	size_t in_off, in_len;
	struct request req;
	int err_status;			/* set by a parser callback that refused input */
	const char *err_msg;
	struct buf out;
	uint32_t events;		/* current epoll interest */
	int busy;			/* a request is being answered: parsing waits */
	int dispatching;		/* inside the parse loop (no re-entry) */
	int close_after;		/* close once out is flushed */
	int chunked;			/* the streaming body uses chunked encoding */
	int want_pump;			/* the stream has more to produce right now */
	int dead;			/* closed; freed after this batch */
	struct stream *stream;		/* a completion in progress */
	uint64_t ptimer_at;		/* ptimer.c: its deadline (ns, monotonic) */
	size_t ptimer_ix;		/* its place in ptimer.c's heap */
	int ptimer_on;
	TAILQ_ENTRY(conn) entry;
};

/*
 * Precise timers (ptimer.c): completions_timer(c) once us microseconds
 * have passed, to the microsecond, not the loop's millisecond.
 */
void ptimer_init(void);
void ptimer_after_us(struct conn *, uint64_t us);
void ptimer_stop(struct conn *);	/* none set: a no-op */

extern int mock_sndbuf;			/* SO_SNDBUF for clients; 0: kernel's */

void http_init(void);
void http_listen_ready(int listen_fd);	/* accept what is waiting */
void http_reap(void);			/* free connections closed in this batch */
void http_close_all(void);
size_t http_pending(const struct conn *);
long long http_total_pending(void);	/* unsent bytes, all connections */
/* The whole response to the current request; ends the request. */
void http_respond(struct conn *, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len);
void http_respond_json(struct conn *, int status, json_t *consumed,
    const char *extra_headers);
/* A streamed response: head now, body pieces later, then end. */
void http_stream_begin(struct conn *, int status, const char *content_type,
    const char *extra_headers);
void http_stream_write(struct conn *, const char *, size_t);
void http_stream_end(struct conn *);
/* Ends the current request without a proper end: flush, then close. */
void http_cut(struct conn *);
/* The current request is answered (or given up on); read the next one. */
void http_request_done(struct conn *);
void http_flush(struct conn *);
/* Close now; counts an aborted completion if one was in progress. */
void http_close(struct conn *);
const char *http_reason(int status);

/* ------------------------------------------------------------ completions.c */

void completions_handle(struct conn *);
void completions_models(struct conn *);	/* GET /v1/models */
void completions_pump(struct conn *);	/* the connection can take more */
void completions_timer(struct conn *);	/* its delay is over */
void completions_abort(struct conn *);	/* the client went away */
/* 1 when auth (the Authorization header, NULL if none) suits --api-key. */
int mock_bearer_ok(const char *auth);
/* White-space-separated words in s: the mock's token count. */
long long mock_count_words(const char *s);

/* An OpenAI-style error body {"error":{message,type,param,code}}. */
json_t *openai_error(const char *message, const char *type,
    const char *param, const char *code);
void openai_error_status(struct conn *, int status, const char *model);
/* The same answer, counted in no statistic (embeddings, rerank). */
void openai_error_send(struct conn *, int status, const char *model);

/* ------------------------------------------------------------ embeddings.c */

void embeddings_handle(struct conn *);	/* POST /v1/embeddings */
void rerank_handle(struct conn *);	/* POST /v1/rerank */
/*
 * The mock embedding of s[0..len) into v[0..dims): hashed features
 * (words, crude stems, character trigrams), signed, L2-normalised.
 */
void embed_text(const char *s, size_t len, float *v, int dims);

/* ------------------------------------------------------------ cite.c */

/*
 * The citations a reply to user gets from the passages in sources (the
 * system messages' text): " [n]" for each of the first three passages,
 * in number order, sharing a word of 4+ letters with user; malloc'd, or
 * NULL when none does.
 */
char *cite_suffix(const char *sources, const char *user);

/* ------------------------------------------------------------ control.c */

struct mock_config {
	int chunks;
	int delay_ms;
	int first_delay_ms;
	int status;		/* 0: none; else every completion answers it */
	int refuse_images;	/* 1: one with an image_url part answers 400 */
};

struct mock_stats {
	long long requests;	/* chat completion requests received */
	long long errors;	/* answered with an error status */
	long long active;	/* completions in progress */
	long long completed;
	long long aborted;	/* client went away before the end */
	long long cut;		/* ended on purpose by cut=K */
	long long max_concurrent;
	long long content_chunks;	/* content chunks produced, all streams */
	long long bytes_sent;		/* written to client sockets */
	long long embed_requests;	/* POST /v1/embeddings received */
	long long embed_inputs;		/* strings embedded */
	long long embed_errors;		/* answered with an error status */
	long long rerank_requests;
	long long rerank_documents;	/* documents scored */
	long long rerank_errors;
	long long forced_failures;	/* answered by POST /_mock/fail */
	long long images;		/* image_url parts received, well formed */
};

/* Endpoints POST /_mock/fail can make fail. */
enum mock_endpoint { MOCK_EP_CHAT, MOCK_EP_EMBED, MOCK_EP_RERANK, MOCK_EP_N };

/* What [[mock:…]] asked for; -1 (or NULL) where it said nothing. */
#define MOCK_MAX_CALLS	4	/* tool calls one reply makes */

struct directives {
	int status;
	int cut;
	int stall;
	int chunks;
	int delay_ms;
	int first_delay_ms;
	int empty;
	int nocite;
	long repeat;
	char *reply;		/* percent-decoded, malloc'd */
	size_t reply_len;
	/* call=NAME (each a tool call), args=JSON (the last call's). */
	char *call[MOCK_MAX_CALLS];
	char *args[MOCK_MAX_CALLS];	/* percent-decoded; NULL: "{}" */
	int ncalls;
	/* rounds=N: the calls made again until N rounds are answered. */
	int rounds;
	/* say=TEXT: said before the calls, as a content delta (percent-decoded). */
	char *say;
	size_t say_len;
	/* ignore_none: "tool_choice":"none" ignored (Ollama's way). */
	int ignore_none;
	/* untooled: the calls made when the request lists no tools too. */
	int untooled;
};

extern struct mock_config mock_defaults;	/* from the command line */
extern struct mock_config mock_cfg;		/* current (POST /_mock/config) */
extern struct mock_stats mock_stats;
extern const char *mock_api_key;

/*
 * Finds and removes every [[mock:…]] block in text (in place) and
 * applies them to d. Returns NULL, or an error message (static).
 */
const char *directives_parse(char *text, size_t *len, struct directives *d);
void directives_free(struct directives *);

void control_record(const struct request *);
void control_handle(struct conn *);	/* /_mock/…, /health */
void control_free(void);
/*
 * Whether the request to ep now being answered is to fail (POST
 * /_mock/fail): 1, one of the failures used up and counted, with *status
 * the status to answer (0: close the connection without an answer; -1:
 * no answer at all, until the client leaves); else 0.
 */
int control_fail_take(enum mock_endpoint ep, int *status);
/* Answers a failure control_fail_take gave: the error, or a closed connection. */
void control_fail_answer(struct conn *, int status);
void stats_stream_started(void);
void stats_stream_ended(long long *counter);

int utf8_valid(const char *, size_t);
json_t *mock_text(const char *);	/* json_string, with bad bytes as '?' */

#endif
