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

#include <jansson.h>

struct upstream;

/* A picture the model is shown (an agent with vision): its bytes. */
struct upstream_image {
	const char *mime;	/* "image/png", ... */
	const uint8_t *data;
	size_t len;
};

struct upstream_msg {
	const char *role;	/* "user", "assistant", "system", "tool" */
	const char *content;	/* NULL: null (an assistant's tool calls alone) */
	/*
	 * A user's pictures: content goes as parts, its text then each
	 * image as an image_url part (a data: URL, base64).
	 */
	const struct upstream_image *images;
	size_t nimages;
	/* An assistant's: the tool calls it made, a JSON array's text; or NULL. */
	const char *tool_calls;
	const char *tool_call_id;	/* a tool's: the call it answers; or NULL */
};

/*
 * One completion. Zeroed, everything is the deployment's (the settings
 * upstream_init read); an agent (turn.c) sets what it changes. The
 * strings are read during upstream_start only.
 */
struct upstream_req {
	const char *model;		/* NULL: OPENAI_MODEL */
	const char *system_prompt;	/* NULL: SYSTEM_PROMPT; "": none sent */
	/*
	 * NULL or "": nothing. Else a sentence appended to the system
	 * prompt (after a blank line), or the system message itself when
	 * there is no prompt (issue 26: the visitor's language).
	 */
	const char *system_extra;
	const struct upstream_msg *msgs;	/* history, oldest first */
	size_t nmsgs;
	/*
	 * NULL or "": OPENAI_BASE_URL. Else an http:// or https:// URL
	 * (trailing slashes ignored); "/chat/completions" is appended.
	 */
	const char *base_url;
	/*
	 * With base_url: the organisation of the agent that set it. Unless
	 * urlpol_private_ok lets it (workerd/net/urlpolicy.c), the
	 * transfer connects only to an address urlpol_addr_private allows,
	 * checked as curl opens the socket, on a new connection each time.
	 * NULL: not checked (the deployment's own URL may point anywhere).
	 */
	const char *org;
	/* NULL: OPENAI_API_KEY; "": no Authorization header. */
	const char *api_key;
	int has_temperature;		/* 0: no "temperature" sent */
	uint32_t temperature_milli;	/* "temperature": this / 1000 */
	uint32_t max_tokens;		/* 0: no "max_tokens" sent */
	/*
	 * NULL: no tools (nor "tool_choice": the model answers in words;
	 * messages may still hold earlier rounds' calls and their answers).
	 * Else the "tools" array's text (the functions the model may call).
	 */
	const char *tools;
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
	/*
	 * HTTP_ERROR: error is ours ("HTTP 429 from the model"), the body
	 * gave no message (not JSON, or cut at ANSWER_ERRBODY_MAX).
	 */
	int error_ours;
	uint32_t prompt_tokens;		/* from the usage chunk, 0 if none */
	uint32_t completion_tokens;
	int tool_finish;		/* the finish_reason was "tool_calls" */
};

/*
 * Callbacks run from the worker's loop, never from inside upstream_start,
 * upstream_resume or upstream_cancel. Inside any of them the caller may
 * call upstream_cancel (on this or another transfer), upstream_resume and
 * upstream_start; upstream_shutdown only outside callbacks.
 */
struct upstream_cbs {
	/*
	 * Whether the caller can take more deltas now; 0 pauses the transfer
	 * until upstream_resume(). It is asked before each piece of the
	 * stream that libcurl hands over (at most a few KiB, often several
	 * deltas), so after a 1 a few more on_delta calls may follow.
	 */
	int (*can_write)(void *arg);
	/* A piece of the reply's content (UTF-8, not NUL-terminated, len > 0). */
	void (*on_delta)(void *arg, const char *text, size_t len);
	/*
	 * Called exactly once at the end, unless upstream_cancel came first.
	 * The result (error text included, never NULL, "" when OK) lives
	 * until on_done returns. The handle is freed right after on_done
	 * returns: drop your pointer to it here (upstream_cancel inside
	 * on_done is a harmless no-op; after it, a use after free).
	 */
	void (*on_done)(void *arg, const struct upstream_result *);
	/*
	 * Optional: a chunk's choices[0].delta.tool_calls (any JSON: the
	 * caller's toolcall.c judges it), owned by the chunk: read it here.
	 */
	void (*on_tools)(void *arg, const json_t *tool_calls);
};

/*
 * Reads OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL, SYSTEM_PROMPT,
 * OPENAI_CONNECT_TIMEOUT_MS, OPENAI_IDLE_TIMEOUT_MS; sets up the multi
 * handle. 0 or -1. Call loop_init() first.
 */
int upstream_init(void);
/* Drops every transfer without a callback, frees everything. */
void upstream_shutdown(void);
/*
 * A short error text from the model (len bytes of s, NULs and all),
 * made safe to log and store: control bytes (below 0x20, 0x7f) made
 * spaces; anything that looks like an API key masked, the deployment's
 * (OPENAI_API_KEY, as upstream_init read it) and key (the transfer's
 * own; NULL none) in any case as "***", "sk-" and what follows of
 * [A-Za-z0-9_*-] as "sk-***", a URL's credentials (between "://" and
 * "@") as "***"; then cut to UP_ERRMSG_MAX (200) bytes at a UTF-8
 * character's start. The
 * masking runs on the whole text, the cut after it: a key across the cut
 * would leak its start. A NUL-ended copy to free, or NULL out of
 * memory. Here for its fuzz target (tests/fuzz/safetext): the text is
 * the model server's.
 */
char *upstream_safe_text(const char *key, const char *s, size_t len);
/* Starts a completion; NULL on failure (no callback will come). */
struct upstream *upstream_start(const struct upstream_req *,
    const struct upstream_cbs *, void *arg);
/*
 * The caller has room again: continue a paused transfer (a no-op when it
 * is not paused). The transfer continues from a deferred call at the end
 * of the loop round, so no callback runs before this returns.
 */
void upstream_resume(struct upstream *);
/*
 * Stops the transfer and closes its connection (so the model stops
 * generating); no callback after this. NULL is a no-op. The handle must
 * not be used again.
 */
void upstream_cancel(struct upstream *);
/* Transfers in flight (metrics, tests). */
int upstream_active(void);

#endif
