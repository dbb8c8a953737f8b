/*
 * One HTTP request to an organisation's API (an action the chat model
 * called), on the worker's loop: its own multi handle of libcurl
 * (net/curlloop.c), set up on first use. The call is held to the
 * outgoing-URL policy (net/urlpolicy.h: each address checked as it
 * connects unless allowed, no redirect, http and https only, no proxy
 * from the environment); its answer is kept up to a bound, where the
 * transfer stops (the rest never read, nor inflated). The action's header values are secrets: never
 * logged, wiped when freed. Each call may carry an Idempotency-Key (a
 * turn's derived from the call, stable when the same call is made again:
 * action_idem_key), so an API that honours it applies a call once. The
 * code is in call.c.
 */
#ifndef PARLEY_ACTIONS_CALL_H
#define PARLEY_ACTIONS_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum action_call_err {
	ACALL_OK,		/* an answer came (any HTTP status) */
	ACALL_TIMEOUT,		/* no whole answer within timeout_ms */
	ACALL_REFUSED,		/* an address the policy refuses */
	ACALL_FAILED,		/* could not connect, TLS, a broken answer */
};

/* What to send; action_call_start copies it all. */
struct action_call_req {
	uint8_t method;			/* ST_METHOD_* */
	const char *url;		/* filled, http(s) */
	const char *body;		/* NULL or "": none; else sent as application/json */
	const char *headers;		/* "Name: value\n" lines, or "" */
	uint32_t timeout_ms;		/* 1..30000 */
	uint32_t max_bytes;		/* of the answer kept; past it the transfer stops and cut is set */
	int allow_private;		/* 0: each address checked as it connects (urlpol_socket) */
	/*
	 * NULL: none; else sent as Idempotency-Key (1 to ACTION_IDEM_KEY_MAX
	 * bytes of [A-Za-z0-9_.:-]), unless the action's headers set one.
	 */
	const char *idem_key;
};

#define ACTION_IDEM_KEY_MAX	128	/* bytes of an Idempotency-Key */
#define ACTION_IDEM_HEX		32	/* hex digits of one we make */

/*
 * What came of it, valid during the callback only: body, len and cut
 * for ACALL_OK alone (a failed call's bytes are not given).
 */
struct action_call_result {
	enum action_call_err err;
	int status;			/* the HTTP status, 0 if none */
	const char *body;		/* the answer's bytes kept (NUL-terminated), "" if none */
	size_t len;
	int cut;			/* the answer was longer than max_bytes */
	uint32_t duration_ms;		/* from start to end, loop time */
	const char *error;		/* ACALL_OK: ""; else our text, e.g. "timed out after 2000 ms" */
};

typedef void (*action_call_cb)(void *arg, const struct action_call_result *);

struct action_call;

/*
 * Started (the request copied: the caller's strings may go); NULL when
 * it cannot start (no callback, a method out of range, a URL not http(s),
 * timeout_ms out of 1..30000, a header line that is not "Name: value",
 * out of memory, curl refusing its setup). A GET sends no body whatever
 * req->body holds. The callback runs once, from the loop, never from
 * inside action_call_start, unless action_call_cancel came first; the
 * call is freed when it returns (cancelling it from there is a no-op).
 */
struct action_call *action_call_start(const struct action_call_req *,
    action_call_cb, void *arg);
/* Stops it; no callback after. NULL is a no-op. */
void action_call_cancel(struct action_call *);
/* Calls in flight (metrics, tests): started, neither ended nor cancelled. */
int action_calls_active(void);
/*
 * Every call dropped without callback, the multi handle let go (the
 * worker's exit). A later action_call_start sets it up again.
 */
void action_calls_shutdown(void);

struct st_action;
struct tpl_visitor;
/*
 * Action a's request for the arguments args (its schema's, checked by the
 * caller) and the verified visitor v: its URL and body templates filled
 * into *url and *body (malloc'd, the caller frees them once the call has
 * started; *body NULL for none), q pointing at them, with a's method,
 * headers, timeout and answer cap (their defaults where unset) and
 * allow_private. 0, or -1 with *why (static; nothing to free), also when
 * a template names a value that is none of a's parameters.
 */
int action_call_req_of(struct action_call_req *q, const struct st_action *a,
    const json_t *args, const struct tpl_visitor *v, int allow_private,
    char **url, char **body, const char **why);
/*
 * A turn's call's Idempotency-Key into out (ACTION_IDEM_HEX lowercase hex
 * digits and a NUL): the first 128 bits of SHA-256 over the conversation,
 * the turn's question (its message id), the action's id, the round and
 * the call's index in it. The same call of a turn made again gives the
 * same key; two calls of a turn never share one. NULL strings count as "".
 */
void action_idem_key(char out[ACTION_IDEM_HEX + 1], const char *conv_id,
    const char *msg_id, const char *action_id, uint32_t round,
    uint32_t index);
/* A key of its own for a call that is no turn's (a dry run), into out. */
void action_idem_key_random(char out[ACTION_IDEM_HEX + 1]);
/*
 * Whether org's actions may call loopback, private and link-local
 * addresses: the default organisation's, with PARLEY_ACTIONS_ALLOW_PRIVATE.
 */
int action_private_ok(const char *org);

#endif
