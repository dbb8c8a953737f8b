/*
 * The upstream model client: one streamed chat completion per call, on
 * libcurl's multi interface inside the worker's own event loop.
 *
 * POST {OPENAI_BASE_URL}/chat/completions with stream:true and
 * stream_options.include_usage; the SSE reply is parsed incrementally and
 * each content delta handed to the caller. The caller applies
 * backpressure through can_write: while it returns 0 the transfer is
 * paused (libcurl keeps what it holds, nothing grows), and
 * upstream_resume() continues it once the client has drained.
 */
#ifndef PARLEY_UPSTREAM_H
#define PARLEY_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct upstream;

struct upstream_msg {
	const char *role;	/* "user", "assistant", "system" */
	const char *content;
};

struct upstream_req {
	const char *model;		/* NULL: OPENAI_MODEL */
	const char *system_prompt;	/* NULL: SYSTEM_PROMPT */
	const struct upstream_msg *msgs;	/* history, oldest first */
	size_t nmsgs;
};

enum upstream_status {
	UPSTREAM_OK,		/* the model finished ([DONE] or finish_reason) */
	UPSTREAM_HTTP_ERROR,	/* non-2xx before streaming: http_status set */
	UPSTREAM_BROKEN,	/* stream cut, malformed, or a connect/transport error */
	UPSTREAM_TIMEOUT,	/* connect or idle timeout */
};

struct upstream_result {
	enum upstream_status status;
	int http_status;		/* the model's HTTP status, 0 if none */
	const char *error;		/* for logs and the stored failed turn; never secrets */
	uint32_t prompt_tokens;		/* from the usage chunk, 0 if none */
	uint32_t completion_tokens;
};

struct upstream_cbs {
	/* Whether the caller can take more deltas now; 0 pauses the transfer. */
	int (*can_write)(void *arg);
	/* A piece of the reply's content (UTF-8, not NUL-terminated). */
	void (*on_delta)(void *arg, const char *text, size_t len);
	/* Called exactly once at the end, unless upstream_cancel came first. */
	void (*on_done)(void *arg, const struct upstream_result *);
};

/* Reads OPENAI_* and SYSTEM_PROMPT, sets up the multi handle. 0 or -1. */
int upstream_init(void);
void upstream_shutdown(void);
/* Starts a completion; NULL on failure (no callback will come). */
struct upstream *upstream_start(const struct upstream_req *,
    const struct upstream_cbs *, void *arg);
/* The caller has room again: continue a paused transfer. */
void upstream_resume(struct upstream *);
/* Stops the transfer and closes its connection; no callback after this. */
void upstream_cancel(struct upstream *);
/* Transfers in flight (metrics, tests). */
int upstream_active(void);

#endif
