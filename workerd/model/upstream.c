/*
 * The upstream model client (upstream.h): a streamed chat completion
 * written and read by hand on a connection libcurl made (mconn.c), inside
 * the worker's own epoll loop.
 *
 * Choices:
 * - HTTP/1.1, one connection per stream in flight, kept idle per origin
 *   for the next request (mconn.c). libcurl makes each connection (name
 *   lookup, a proxy's tunnel, TLS, the address guard); the request and
 *   the answer's framing (libhttp_parser, as the worker's server side
 *   uses) are ours: libcurl's per-transfer HTTP layer cost a turn more
 *   CPU than the rest of this client, and two poll() calls. Not HTTP/2:
 *   on HTTP/1.1 a pause is plain TCP backpressure on that stream alone.
 * - Replies are parsed as they arrive (sse.c) and each content delta goes
 *   straight to the caller: no timer or batching on that path. One
 *   receive buffer serves every transfer (each read is parsed whole
 *   before the next), so an open stream holds none.
 * - Backpressure: can_write() is asked before each read of the socket
 *   (at most UP_READ bytes); 0 pauses the transfer: the socket is not
 *   read (the server's writes wait in TCP) until upstream_resume().
 * - Timeouts: the connect's (libcurl's), and our own idle timer on the
 *   loop (no byte for OPENAI_IDLE_TIMEOUT_MS while not paused).
 * - "data: [DONE]" ends the answer: the connection is kept when the
 *   body's end comes within UP_DONE_GRACE_MS, else closed.
 * - A kept connection the server closed before any byte of the answer:
 *   the request goes again on another connection, as libcurl did; at
 *   most UP_TRIES connections in all.
 * - Redirects are not followed (a 3xx is an HTTP error). Proxies named by
 *   the usual environment variables (https_proxy, no_proxy, ...) are used
 *   as libcurl does, through a tunnel (CONNECT) for http:// too.
 * - Per request (an agent's, turn.c): its own base URL, API key,
 *   temperature and max_tokens. Connections are kept per origin (scheme,
 *   host and port), whichever request used them: agents on the same
 *   server share idle connections. The key is not part of a connection
 *   (it is a header of each request).
 * - An API key only goes into the Authorization header; the request's
 *   bytes are wiped when freed; it is never logged, and error texts taken
 *   from the model's replies are scrubbed of anything that looks like a
 *   key (the deployment's, the request's, and "sk-...").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "answer.h"
#include "log.h"
#include "mconn.h"
#include "modelca.h"
#include "sse.h"
#include "upstream.h"
#include "urlpolicy.h"
#include "workerd.h"

#define UP_DEFAULT_BASE		"https://api.openai.com/v1"
#define UP_DEFAULT_MODEL	"gpt-4.1-mini"
#define UP_DEFAULT_PROMPT	"You are a concise and helpful AI assistant " \
				"embedded in a support chat widget."
#define UP_READ			4096	/* bytes a read; can_write between */
#define UP_TRIES		3	/* connections a request may be sent on */
#define UP_ERRMSG_MAX		200	/* bytes of that message reported */
/*
 * After data: [DONE], how long the body's end may take to come (then the
 * connection is kept): a server's last chunk may come in a read of its
 * own; one that holds the body open holds the turn no longer than this.
 */
#define UP_DONE_GRACE_MS	50

/* Where requests to one URL go. */
struct target {
	char *url;	/* the completions URL */
	char *path;	/* its request target: "/v1/chat/completions" */
	char *host;	/* its Host header: "api.openai.com", "[::1]:8080" */
	char *basic;	/* the URL's "user:password" in base64, or NULL */
	char *origin;	/* its connections' key (mconn_origin) */
};

struct upstream {
	TAILQ_ENTRY(upstream) entry;
	struct mconn *mc;	/* NULL between connections */
	struct upstream_cbs cbs;
	void *arg;
	struct target own;	/* an agent's URL, or all NULL: the deployment's */
	char *req;		/* the request's bytes, head and body */
	size_t rlen;		/* their length */
	size_t sent;		/* of them, on this connection */
	char *key;		/* its own API key, to mask in error texts */
	struct answer ans;	/* the answer on this connection */
	struct sse_prefix prefix;	/* what its chunks repeat (sse.h) */
	struct loop_timer idle;
	struct loop_defer defer;	/* resume or cancel outside callbacks */
	uint64_t last_rx;	/* loop time of the last byte received */
	uint64_t began;		/* loop time of its start (reply_ms from it) */
	uint64_t start_us;	/* metrics: started, first byte of the body */
	uint64_t first_us;
	char *held;		/* what came after the head, waiting for room */
	size_t heldlen;
	char *errmsg;		/* error text we own */
	const char *fail;	/* set once the transfer is known to fail */
	enum upstream_status fail_status;
	int http_status;
	int tries;		/* connections the request went on */
	uint32_t prompt_tokens;
	uint32_t completion_tokens;
	unsigned resume_pending:1;
	unsigned paused:1;
	unsigned cancelled:1;
	unsigned ending:1;	/* on_done is running: cancel is a no-op */
	unsigned in_io:1;	/* reading: a cancel frees from the defer */
	unsigned reused:1;	/* this connection was kept from before */
	unsigned ready:1;	/* this connection's MCONN_READY came */
	unsigned rx:1;		/* a byte of the answer came on it */
	unsigned got_status:1;
	unsigned got_done:1;	/* data: [DONE] */
	unsigned finished:1;	/* a finish_reason */
	unsigned tool_finish:1;	/* ... of "tool_calls" */
	unsigned guarded:1;	/* held to guard */
	unsigned errmsg_ours:1;	/* errmsg is ours: the body said none */
	unsigned done_grace:1;	/* [DONE] read, the body's end awaited */
	struct urlpol_guard guard;
};

static TAILQ_HEAD(, upstream) transfers = TAILQ_HEAD_INITIALIZER(transfers);

static struct target dep;	/* OPENAI_BASE_URL's */
static char *auth_line;		/* "Authorization: Bearer KEY\r\n", or NULL */
static char *model, *system_prompt, *api_key;
static uint32_t connect_ms, idle_ms, reply_ms;
static char idle_text[64], reply_text[64];
static int nactive;
static int ready;
static int curl_ready;
static char rbuf[UP_READ];	/* every transfer's reads */
/*
 * Every request's body, built here and copied into its bytes at once
 * (build_request): kept from one request to the next, not allocated and
 * freed each turn; one bigger than UP_BODY_KEEP is freed after its use.
 */
#define UP_BODY_KEEP	(64 * 1024)
static struct buf reqbody;

static void destroy(struct upstream *);
static void conn_cb(void *, enum mconn_event, CURLcode);
static void conn_opts(struct upstream *, struct mconn_opts *);

/* ---------------------------------------------------------- the end */

/*
 * The length of key (any non-empty one: a short key is a secret all the
 * same) when s starts with it, in any case, else 0: a model that
 * upper-cases what it echoes leaks it all the same.
 */
static size_t
key_at(const char *s, size_t len, const char *key)
{
	size_t klen = key != NULL ? strlen(key) : 0;

	return klen > 0 && len >= klen && strncasecmp(s, key, klen) == 0 ?
	    klen : 0;
}

/* The length of "://user:pw@" when s starts with it, else 0. */
static size_t
userinfo_at(const char *s, size_t len)
{
	size_t j;

	if (len < 4 || memcmp(s, "://", 3) != 0)
		return 0;
	for (j = 3; j < len && s[j] != '@'; j++)
		if (strchr("/?# \"'<>", s[j]) != NULL ||
		    (unsigned char)s[j] < 0x21)
			return 0;
	return j < len && j > 3 ? j + 1 : 0;
}

char *
upstream_safe_text(const char *key, const char *s, size_t len)
{
	char *out;
	size_t i, o = 0, klen;

	/* Each mask is at most 3 times as long as what it hides. */
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; ) {
		if ((klen = key_at(s + i, len - i, api_key)) > 0 ||
		    (klen = key_at(s + i, len - i, key)) > 0) {
			memcpy(out + o, "***", 3);
			o += 3;
			i += klen;
			continue;
		}
		if ((klen = userinfo_at(s + i, len - i)) > 0) {
			memcpy(out + o, "://***@", 7);
			o += 7;
			i += klen;
			continue;
		}
		if (len - i >= 3 && strncasecmp(s + i, "sk-", 3) == 0) {
			memcpy(out + o, "sk-***", 6);
			o += 6;
			for (i += 3; i < len && (isalnum((unsigned char)s[i]) ||
			    s[i] == '-' || s[i] == '_' || s[i] == '*'); i++)
				;
			continue;
		}
		out[o++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    ' ' : s[i];
		i++;
	}
	out[proto_utf8_cut(out, o, UP_ERRMSG_MAX)] = '\0';
	return out;
}

/* The message of a non-2xx reply: error.message when it is OpenAI's shape. */
static const char *
http_error_text(struct upstream *u)
{
	json_t *root, *err, *msg = NULL;
	char buf[64];

	if (u->ans.errbody != NULL && (root = json_loadb(u->ans.errbody,
	    u->ans.errlen, 0, NULL)) != NULL) {
		err = json_object_get(root, "error");
		if (json_is_object(err))
			msg = json_object_get(err, "message");
		else if (json_is_string(err))
			msg = err;
		if (json_is_string(msg) && json_string_length(msg) > 0)
			u->errmsg = upstream_safe_text(u->key,
			    json_string_value(msg), json_string_length(msg));
		json_decref(root);
	}
	if (u->errmsg == NULL) {
		snprintf(buf, sizeof(buf), "HTTP %d from the model",
		    u->http_status);
		u->errmsg = strdup(buf);
		u->errmsg_ours = 1;
	}
	return u->errmsg ? u->errmsg : "error from the model";
}

#define UP_REFUSED_TEXT \
	"the agent's model server is at a private, loopback or link-local " \
	"address, which its organisation may not use"

/*
 * Whether u's connections are held to the address policy: when req's
 * base_url is an agent's whose organisation may not point at private
 * addresses, each address is checked as its socket opens, on a new
 * connection never kept (mconn.c). 0, or -1 for a base_url the policy
 * does not read.
 */
static int
guard(struct upstream *u, const struct upstream_req *req)
{
	struct url_target t;
	const char *why;

	if (req->org == NULL || req->base_url == NULL ||
	    req->base_url[0] == '\0')
		return 0;
	if (urlpol_model_parse(req->base_url, &t, &why) < 0) {
		log_warnx("upstream: an agent's %s", why);
		return -1;
	}
	if (!urlpol_private_ok(req->org, t.host,
	    wsettings.model_allow_private, wsettings.model_allow_hosts))
		u->guarded = 1;
	return 0;
}

/* What a connection that could not be made came to. */
static enum upstream_status
connect_failed(struct upstream *u, CURLcode rc, const char **text)
{
	if (u->guard.refused) {
		*text = UP_REFUSED_TEXT;
		return UPSTREAM_BROKEN;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		*text = "connecting to the model timed out";
		return UPSTREAM_TIMEOUT;
	}
	*text = curl_easy_strerror(rc);
	return UPSTREAM_BROKEN;
}

/* What an answer that ended (read whole, or cut) came to. */
static enum upstream_status
classify(struct upstream *u, const char **text)
{
	if (u->fail != NULL) {
		*text = u->fail;
		return u->fail_status;
	}
	if (u->http_status != 0 && !answer_ok(u->http_status)) {
		*text = http_error_text(u);
		return UPSTREAM_HTTP_ERROR;
	}
	if (u->got_done || u->finished) {
		*text = "";
		return UPSTREAM_OK;
	}
	*text = "the model's stream ended before it was complete";
	return UPSTREAM_BROKEN;
}

/* Frees a string, wiping it first. */
static void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
target_free(struct target *t)
{
	free(t->url);
	free(t->path);
	free(t->host);
	secret_free(t->basic);
	free(t->origin);
	memset(t, 0, sizeof(*t));
}

/* "user:password" in base64 (malloc'd), or NULL. */
static char *
basic_of(const char *user, const char *pw)
{
	char *plain = NULL, *out = NULL;
	int len;

	if ((len = asprintf(&plain, "%s:%s", user, pw ? pw : "")) < 0)
		return NULL;
	if ((out = malloc(4 * ((size_t)len + 2) / 3 + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)plain,
		    len);
	secret_free(plain);
	return out;
}

/*
 * url's request target, Host and credentials into t, which owns url from
 * here (freed by target_free, also on failure). 0, or -1: not a URL
 * libcurl reads, or out of memory.
 */
static int
target_parse(char *url, struct target *t)
{
	struct mconn_url p;
	int r = -1;

	memset(t, 0, sizeof(*t));
	t->url = url;
	if (mconn_url_parse(url, &p) < 0)
		goto out;
	if (asprintf(&t->host, "%s%s%s", p.host, p.port ? ":" : "",
	    p.port ? p.port : "") < 0 || asprintf(&t->path, "%s%s%s", p.path,
	    p.query ? "?" : "", p.query ? p.query : "") < 0 ||
	    (t->origin = mconn_origin(url)) == NULL)
		goto out;
	if (p.user != NULL && (t->basic = basic_of(p.user, p.password)) ==
	    NULL)
		goto out;
	r = 0;
out:
	mconn_url_free(&p);
	if (r < 0) {
		t->url = NULL;	/* asprintf may have left it half set */
		target_free(t);
		free(url);
	}
	return r;
}

/* The request's bytes, wiped (its Authorization line) and freed. */
static void
request_free(struct upstream *u)
{
	if (u->req != NULL) {
		explicit_bzero(u->req, u->rlen);
		free(u->req);
		u->req = NULL;
	}
}

/* Off its connection (kept when keep), its timer and defer stopped. */
static void
detach(struct upstream *u, int keep)
{
	loop_timer_stop(&u->idle);
	loop_defer_cancel(&u->defer);
	mconn_put(u->mc, keep);
	u->mc = NULL;
}

/* Frees a transfer; never calls the caller. Not while it reads. */
static void
destroy(struct upstream *u)
{
	detach(u, 0);
	target_free(&u->own);
	request_free(u);
	secret_free(u->key);
	answer_free(&u->ans);
	sse_prefix_free(&u->prefix);
	free(u->held);
	free(u->errmsg);
	TAILQ_REMOVE(&transfers, u, entry);
	free(u);
}

/*
 * Ends a transfer: its connection given back (kept when keep: before
 * on_done, so a request on_done starts may take it), on_done, freed.
 */
static void
finish(struct upstream *u, enum upstream_status st, const char *text,
    int keep)
{
	struct upstream_result r;

	nactive--;
	detach(u, keep);
	memset(&r, 0, sizeof(r));
	r.status = st;
	r.http_status = u->http_status;
	r.error = text != NULL ? text : "";
	r.error_ours = st == UPSTREAM_HTTP_ERROR && u->errmsg_ours;
	r.prompt_tokens = u->prompt_tokens;
	r.completion_tokens = u->completion_tokens;
	r.tool_finish = u->tool_finish;
	metrics_upstream_done((int)st, u->first_us ? u->first_us -
	    u->start_us : 0, proto_mono_us() - u->start_us, r.prompt_tokens,
	    r.completion_tokens);
	if (st != UPSTREAM_OK)
		log_debug("upstream: %s (HTTP %d)", r.error, r.http_status);
	u->ending = 1;
	u->cbs.on_done(u->arg, &r);
	destroy(u);
}

/* An answer that ended or was cut: classified, finished. */
static void
finish_answer(struct upstream *u, int keep)
{
	enum upstream_status st;
	const char *text;

	st = classify(u, &text);
	finish(u, st, text, keep && st != UPSTREAM_BROKEN);
}

static void
fail(struct upstream *u, enum upstream_status st, const char *text)
{
	if (u->fail == NULL) {
		u->fail = text;
		u->fail_status = st;
	}
}

/* ----------------------------------------------------- receiving */

static void
idle_fire(void *arg)
{
	struct upstream *u = arg;
	uint64_t now = loop_now();

	if (u->paused || u->cancelled)
		return;
	if (u->done_grace) {
		finish_answer(u, 0);
		return;
	}
	/* Whatever it sends, an answer ends within reply_ms of its start. */
	if (now - u->began < reply_ms && now - u->last_rx < idle_ms) {
		loop_timer_at(&u->idle, u->last_rx + idle_ms < u->began +
		    reply_ms ? u->last_rx + idle_ms : u->began + reply_ms);
		return;
	}
	if (u->got_done || u->finished)
		finish(u, UPSTREAM_OK, "", 0);
	else
		finish(u, UPSTREAM_TIMEOUT, now - u->began >= reply_ms ?
		    reply_text : idle_text, 0);
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct upstream *u = arg;
	struct sse_chunk c;

	if (sse_is_done(ev->data, ev->len)) {
		u->got_done = 1;
		return ANSWER_CB_DONE;
	}
	if (sse_chunk_parse_in(&u->prefix, ev->data, ev->len, &c) < 0) {
		fail(u, UPSTREAM_BROKEN, "malformed event from the model");
		return 2;
	}
	if (c.error != NULL) {
		if (*c.error == '\0')
			c.error = "error event from the model";
		if (u->errmsg == NULL)
			u->errmsg = upstream_safe_text(u->key, c.error,
			    strlen(c.error));
		fail(u, UPSTREAM_BROKEN, u->errmsg ? u->errmsg :
		    "error event from the model");
		sse_chunk_free(&c);
		return 2;
	}
	if (c.has_usage) {
		u->prompt_tokens = c.prompt_tokens;
		u->completion_tokens = c.completion_tokens;
	}
	if (c.finished)
		u->finished = 1;
	if (c.tool_finish)
		u->tool_finish = 1;
	if (c.tools != NULL && u->cbs.on_tools != NULL)
		u->cbs.on_tools(u->arg, c.tools);
	if (c.content_len > 0)
		u->cbs.on_delta(u->arg, c.content, c.content_len);
	sse_chunk_free(&c);
	return u->cancelled ? 3 : 0;
}

/*
 * The request again on another connection, when this one was kept from
 * before and ended before any byte of the answer (the server had closed
 * it). 1 when it goes again, else 0.
 */
static int
send_again(struct upstream *u)
{
	struct mconn_opts o;
	int reused;

	if (!u->reused || u->rx || u->req == NULL || u->tries >= UP_TRIES)
		return 0;
	mconn_put(u->mc, 0);
	conn_opts(u, &o);
	if ((u->mc = mconn_take(&o, conn_cb, u, &reused)) == NULL) {
		fail(u, UPSTREAM_BROKEN, "could not start the request");
		return 0;
	}
	u->reused = reused;
	u->ready = 0;
	u->tries++;
	u->sent = 0;
	return 1;
}

/*
 * The transport failed (rc), or the server closed (rc CURLE_OK): the
 * request goes again (send_again: 1), or the answer ends as far as it
 * came and u is freed (0).
 */
static int
conn_lost(struct upstream *u, CURLcode rc)
{
	if (send_again(u))
		return 1;
	if (rc == CURLE_OK) {
		/* An answer framed by the close ends here. */
		if (u->fail == NULL)
			(void)answer_eof(&u->ans);
	} else
		fail(u, UPSTREAM_BROKEN, curl_easy_strerror(rc));
	finish_answer(u, 0);
	return 0;
}

/*
 * Whether the caller has room for more of a stream (can_write); when not,
 * the transfer pauses: its socket is not read until upstream_resume.
 */
static int
room(struct upstream *u)
{
	if (!u->got_status || !answer_ok(u->http_status) || u->got_done ||
	    u->cbs.can_write(u->arg))
		return 1;
	if (!u->cancelled) {
		u->paused = 1;
		loop_timer_stop(&u->idle);
		mconn_want(u->mc, 0, 0);
	}
	return 0;
}

enum fed { FED_ON, FED_HELD, FED_ENDED, FED_CANCELLED };

/*
 * Gives n bytes of the answer to its reader. A stream's body is asked
 * room for first (the reader stops after the head): without it, the rest
 * is held (u->held) for upstream_resume. FED_ENDED: u was finished and
 * freed.
 */
static enum fed
feed(struct upstream *u, const char *p, size_t n)
{
	enum answer_step st;
	size_t used;

	for (;;) {
		st = answer_feed(&u->ans, p, n, &used);
		if (!u->got_status && u->ans.status != 0) {
			u->got_status = 1;
			u->http_status = u->ans.status;
			/* The answer has begun: the request is not sent again. */
			request_free(u);
		}
		if (u->first_us == 0 && u->ans.body_seen)
			u->first_us = proto_mono_us();
		if (u->cancelled)
			return FED_CANCELLED;
		switch (st) {
		case ANSWER_MORE:
			/*
			 * [DONE] came, its body's end has not: a short wait
			 * for it (idle_fire then ends the answer, the
			 * connection not kept: a server or proxy that holds
			 * the body open would hold the turn).
			 */
			if (u->ans.done && !u->done_grace) {
				u->done_grace = 1;
				loop_timer_after(&u->idle, UP_DONE_GRACE_MS);
			}
			return FED_ON;
		case ANSWER_HEAD:
			break;
		case ANSWER_END:
			/*
			 * Kept only when read exactly to its end, and its
			 * request went out whole (a server may answer before
			 * it read all of a long body: it still expects the rest).
			 */
			finish_answer(u, answer_keep(&u->ans) && used == n &&
			    u->sent == u->rlen);
			return FED_ENDED;
		case ANSWER_STOP:
			finish_answer(u, 0);	/* on_event set u->fail */
			return FED_ENDED;
		case ANSWER_BAD:
			fail(u, UPSTREAM_BROKEN, u->ans.why);
			finish_answer(u, 0);
			return FED_ENDED;
		}
		p += used;
		n -= used;
		if (n == 0)
			return FED_ON;
		if (!room(u)) {
			if (u->cancelled)
				return FED_CANCELLED;
			if ((u->held = malloc(n)) == NULL) {
				fail(u, UPSTREAM_BROKEN, "out of memory");
				finish_answer(u, 0);
				return FED_ENDED;
			}
			memcpy(u->held, p, n);
			u->heldlen = n;
			return FED_HELD;
		}
	}
}

/*
 * Reads and parses what the server sent until the socket is drained, the
 * caller has no room (paused), or the answer ended. The caller's
 * callbacks run from here: one that cancels u frees it from the defer.
 */
static void
read_answer(struct upstream *u)
{
	enum fed f = FED_ON;
	size_t got;
	CURLcode rc;

	u->in_io = 1;
	while (f == FED_ON && room(u) && !u->cancelled) {
		rc = mconn_recv(u->mc, rbuf, sizeof(rbuf), &got);
		if (rc == CURLE_AGAIN)
			break;
		if (rc != CURLE_OK || got == 0) {
			u->in_io = 0;
			(void)conn_lost(u, rc);
			return;
		}
		u->rx = 1;
		u->last_rx = loop_now();
		if ((f = feed(u, rbuf, got)) == FED_ENDED)
			return;
	}
	u->in_io = 0;
	if (u->cancelled)
		loop_defer(&u->defer);
}

/* Sends what is left of the request; 0, or -1 when u was finished. */
static int
send_request(struct upstream *u)
{
	size_t n;
	CURLcode rc;

	while (u->req != NULL && u->sent < u->rlen) {
		rc = mconn_send(u->mc, u->req + u->sent, u->rlen - u->sent,
		    &n);
		if (rc == CURLE_AGAIN) {
			mconn_want(u->mc, 1, 1);
			return 0;
		}
		if (rc != CURLE_OK)
			return conn_lost(u, rc) ? 0 : -1;
		u->sent += n;
	}
	mconn_want(u->mc, 1, 0);
	return 0;
}

/* The connection's news: connected (or not), or its socket is ready. */
static void
conn_cb(void *arg, enum mconn_event ev, CURLcode rc)
{
	struct upstream *u = arg;
	enum upstream_status st;
	const char *text;

	if (ev == MCONN_READY && rc != CURLE_OK) {
		st = connect_failed(u, rc, &text);
		finish(u, st, text, 0);
		return;
	}
	if (ev == MCONN_IO && !u->ready)
		return;		/* a kept connection's news before its READY */
	if (ev == MCONN_READY) {
		u->ready = 1;
		u->rx = 0;
		answer_free(&u->ans);
		answer_init(&u->ans, on_event, u);
	}
	if (u->req != NULL && u->sent < u->rlen && send_request(u) < 0)
		return;
	/* send_again may have put a connection not ready yet in its place. */
	if (!u->paused && ev == MCONN_IO && u->ready)
		read_answer(u);
}

/* ------------------------------------------------ deferred actions */

static void
do_resume(struct upstream *u)
{
	enum fed f;
	char *held;

	if (!u->paused)
		return;
	u->paused = 0;
	u->last_rx = loop_now();
	loop_timer_after(&u->idle, u->done_grace ? UP_DONE_GRACE_MS : idle_ms);
	mconn_want(u->mc, 1, 0);
	if ((held = u->held) != NULL) {
		/* What came with the head: the caller has room now. */
		u->held = NULL;
		u->in_io = 1;
		f = feed(u, held, u->heldlen);
		free(held);
		if (f == FED_ENDED)
			return;
		u->in_io = 0;
		if (u->cancelled) {
			loop_defer(&u->defer);
			return;
		}
	}
	/* What TLS holds decrypted would not wake the loop: read now. */
	read_answer(u);
}

static void
deferred(void *arg)
{
	struct upstream *u = arg;

	if (u->cancelled) {
		destroy(u);
		return;
	}
	if (u->resume_pending) {
		u->resume_pending = 0;
		do_resume(u);	/* may free u */
	}
}

/* ------------------------------------------------------------- API */

/* "temperature":0.7 from 700: the shortest decimal of milli / 1000. */
static void
add_temperature(struct buf *b, uint32_t milli)
{
	char num[32];
	int n;

	n = snprintf(num, sizeof(num), "%u.%03u", milli / 1000, milli % 1000);
	while (n > 0 && num[n - 1] == '0')
		num[--n] = '\0';
	if (n > 0 && num[n - 1] == '.')
		num[--n] = '\0';
	buf_adds(b, ",\"temperature\":");
	buf_adds(b, num);
}

/*
 * The prompt sp (NULL or "": none) with extra (set) after a blank line,
 * malloc'd; NULL out of memory.
 */
static char *
system_join(const char *sp, const char *extra)
{
	char *s;

	if (sp == NULL || *sp == '\0')
		return strdup(extra);
	if (asprintf(&s, "%s\n\n%s", sp, extra) < 0)
		return NULL;
	return s;
}

/* An image as a data: URL, base64 written in runs of 3 KiB. */
static void
add_image_url(struct buf *b, const struct upstream_image *im)
{
	unsigned char out[4 * 1024 + 1];
	size_t off, n;

	buf_adds(b, "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:");
	buf_adds(b, im->mime);
	buf_adds(b, ";base64,");
	for (off = 0; off < im->len; off += n) {
		n = im->len - off < 3 * 1024 ? im->len - off : 3 * 1024;
		buf_add(b, out, (size_t)EVP_EncodeBlock(out, im->data + off,
		    (int)n));
	}
	buf_adds(b, "\"}}");
}

/*
 * A message's content: its text, or, with images, the parts (its text,
 * then each image). NULL text: null.
 */
static void
add_content(struct buf *b, const struct upstream_msg *m)
{
	size_t i;

	if (m->nimages == 0) {
		if (m->content != NULL)
			buf_add_jstr(b, m->content, strlen(m->content));
		else
			buf_adds(b, "null");
		return;
	}
	buf_adds(b, "[{\"type\":\"text\",\"text\":");
	buf_add_jstr(b, m->content != NULL ? m->content : "",
	    m->content != NULL ? strlen(m->content) : 0);
	buf_adds(b, "}");
	for (i = 0; i < m->nimages; i++) {
		buf_adds(b, ",");
		add_image_url(b, &m->images[i]);
	}
	buf_adds(b, "]");
}

/*
 * One message's members: role, content (null when NULL; parts with
 * images), and an assistant's tool_calls (their JSON as it is) or a
 * tool's tool_call_id.
 */
static void
add_msg(struct buf *b, const struct upstream_msg *m)
{
	buf_adds(b, "\"role\":");
	buf_add_jstr(b, m->role, strlen(m->role));
	buf_adds(b, ",\"content\":");
	add_content(b, m);
	if (m->tool_calls != NULL) {
		buf_adds(b, ",\"tool_calls\":");
		buf_adds(b, m->tool_calls);
	}
	if (m->tool_call_id != NULL) {
		buf_adds(b, ",\"tool_call_id\":");
		buf_add_jstr(b, m->tool_call_id, strlen(m->tool_call_id));
	}
}

/*
 * The request body, written straight out (jansson's objects and dump cost
 * more than the rest of starting a request): {"model", "messages":[system
 * prompt, history...], "stream":true, "stream_options":{"include_usage":
 * true}}, then "tools", "temperature" and
 * "max_tokens" when the request sets them.
 * NUL-terminated, in the kept buffer reqbody (body_done after use); *lenp
 * is its length.
 */
/* The body was copied: its buffer kept for the next, or freed when big. */
static void
body_done(void)
{
	if (reqbody.cap > UP_BODY_KEEP)
		buf_free(&reqbody);
	reqbody.len = reqbody.off = 0;
}

static const char *
build_body(const struct upstream_req *req, size_t *lenp)
{
	struct buf *b = &reqbody;
	const char *sp, *m;
	char *joined;
	char num[32];
	size_t i;
	int first = 1;

	sp = req->system_prompt ? req->system_prompt : system_prompt;
	m = req->model ? req->model : model;
	/* Kept: grown by doubling only by a body bigger than those before. */
	b->len = b->off = 0;
	buf_adds(b, "{\"model\":");
	buf_add_jstr(b, m, strlen(m));
	buf_adds(b, ",\"messages\":[");
	joined = NULL;
	if (req->system_extra != NULL && *req->system_extra != '\0' &&
	    (sp = joined = system_join(sp, req->system_extra)) == NULL)
		b->err = 1;
	if (sp != NULL && *sp != '\0') {
		buf_adds(b, "{\"role\":\"system\",\"content\":");
		buf_add_jstr(b, sp, strlen(sp));
		buf_adds(b, "}");
		first = 0;
	}
	free(joined);
	for (i = 0; i < req->nmsgs; i++) {
		buf_adds(b, first ? "{" : ",{");
		add_msg(b, &req->msgs[i]);
		buf_adds(b, "}");
		first = 0;
	}
	buf_adds(b, "],\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true}");
	if (req->tools != NULL) {
		buf_adds(b, ",\"tools\":");
		buf_adds(b, req->tools);
	}
	if (req->has_temperature)
		add_temperature(b, req->temperature_milli);
	if (req->max_tokens > 0) {
		snprintf(num, sizeof(num), ",\"max_tokens\":%u",
		    req->max_tokens);
		buf_adds(b, num);
	}
	buf_adds(b, "}");
	buf_add(b, "", 1);
	if (b->err) {
		buf_free(b);
		return NULL;
	}
	*lenp = b->len - 1;
	return b->data;
}

/*
 * base + "/chat/completions", base's trailing slashes dropped (malloc'd);
 * NULL when base is not an http:// or https:// URL, or out of memory.
 */
static char *
completions_url(const char *base)
{
	size_t len = strlen(base);
	char *out;

	if (strncasecmp(base, "http://", 7) != 0 &&
	    strncasecmp(base, "https://", 8) != 0)
		return NULL;
	while (len > 0 && base[len - 1] == '/')
		len--;
	if (asprintf(&out, "%.*s/chat/completions", (int)len, base) < 0)
		return NULL;
	return out;
}

/*
 * "Authorization: Bearer KEY\r\n" (malloc'd) for key, or NULL for ""; *bad
 * set when key cannot go on a header line or memory ran out.
 */
static char *
auth_of(const char *key, int *bad)
{
	char *line = NULL;

	*bad = 0;
	if (strpbrk(key, "\r\n") != NULL)
		*bad = 1;
	else if (*key != '\0' && asprintf(&line, "Authorization: Bearer "
	    "%s\r\n", key) < 0) {
		line = NULL;
		*bad = 1;
	}
	return line;
}

/*
 * The request's own URL and key, when it has them: u->own, u->key. 0, or
 * -1 (logged).
 */
static int
request_target(struct upstream *u, const struct upstream_req *req)
{
	char *own_url;

	if (req->base_url != NULL && *req->base_url != '\0' &&
	    ((own_url = completions_url(req->base_url)) == NULL ||
	    target_parse(own_url, &u->own) < 0)) {
		log_warnx("upstream: an agent's base URL is not an http:// or "
		    "https:// URL");
		return -1;
	}
	if (req->api_key != NULL && *req->api_key != '\0' &&
	    (strpbrk(req->api_key, "\r\n") != NULL ||
	    (u->key = strdup(req->api_key)) == NULL)) {
		log_warnx("upstream: an agent's API key cannot be sent");
		return -1;
	}
	return 0;
}

/*
 * The request's bytes into u->req: its head (the Authorization line the
 * request's key's, the deployment's, or the URL's credentials), then the
 * body. Room for all of it is taken at once: no copy of the key is left
 * in memory freed by a growing buffer. 0, or -1.
 */
static int
build_request(struct upstream *u, const struct upstream_req *req)
{
	const struct target *t = u->own.url ? &u->own : &dep;
	const char *body;
	char *own_auth = NULL;
	const char *auth;
	size_t blen;
	struct buf b;
	int bad = 0;

	if ((body = build_body(req, &blen)) == NULL)
		return -1;
	auth = auth_line;
	if (req->api_key != NULL)
		auth = own_auth = auth_of(req->api_key, &bad);
	if (auth == NULL && t->basic != NULL && !bad &&
	    asprintf(&own_auth, "Authorization: Basic %s\r\n", t->basic) > 0)
		auth = own_auth;
	buf_init(&b);
	/* 20: the most digits of blen. */
	if (!bad)
		(void)buf_reserve(&b, 160 + strlen(t->path) + strlen(t->host) +
		    (auth ? strlen(auth) : 0) + 20 + blen);
	buf_adds(&b, "POST ");
	buf_adds(&b, t->path);
	buf_adds(&b, " HTTP/1.1\r\nHost: ");
	buf_adds(&b, t->host);
	buf_adds(&b, "\r\nUser-Agent: parley\r\n"
	    "Content-Type: application/json\r\n"
	    "Accept: text/event-stream\r\n");
	buf_adds(&b, auth);
	buf_adds(&b, "Content-Length: ");
	buf_add_dec(&b, blen);
	buf_adds(&b, "\r\n\r\n");
	buf_add(&b, body, blen);
	body_done();
	secret_free(own_auth);
	u->req = b.data;
	u->rlen = b.len;
	if (bad || b.err) {
		log_warnx("upstream: the request cannot be made");
		request_free(u);
		return -1;
	}
	return 0;
}

/* The connection options of u's request. */
static void
conn_opts(struct upstream *u, struct mconn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->url = u->own.url ? u->own.url : dep.url;
	o->origin = u->own.url ? u->own.origin : dep.origin;
	o->connect_ms = (long)connect_ms;
	o->guard = u->guarded ? &u->guard : NULL;
	o->ssl_ctx = modelca_ssl_ctx;
}

struct upstream *
upstream_start(const struct upstream_req *req, const struct upstream_cbs *cbs,
    void *arg)
{
	struct mconn_opts o;
	struct upstream *u;
	int reused;

	if (!ready || cbs == NULL || cbs->can_write == NULL ||
	    cbs->on_delta == NULL || cbs->on_done == NULL)
		return NULL;
	if ((u = proto_zalloc(sizeof(*u))) == NULL)
		return NULL;
	u->cbs = *cbs;
	u->arg = arg;
	loop_timer_init(&u->idle, idle_fire, u);
	loop_defer_init(&u->defer, deferred, u);
	TAILQ_INSERT_TAIL(&transfers, u, entry);
	if (request_target(u, req) < 0 || guard(u, req) < 0 ||
	    build_request(u, req) < 0) {
		destroy(u);
		return NULL;
	}
	conn_opts(u, &o);
	if ((u->mc = mconn_take(&o, conn_cb, u, &reused)) == NULL) {
		destroy(u);
		return NULL;
	}
	u->reused = reused;
	u->tries = 1;
	nactive++;
	u->last_rx = u->began = loop_clock();
	loop_timer_after(&u->idle, idle_ms < reply_ms ? idle_ms : reply_ms);
	u->start_us = proto_mono_us();
	metrics_upstream_start();
	/* MCONN_READY comes from the loop: nothing is called back here. */
	return u;
}

void
upstream_resume(struct upstream *u)
{
	if (u == NULL || u->cancelled || u->ending || !u->paused)
		return;
	u->resume_pending = 1;
	loop_defer(&u->defer);
}

void
upstream_cancel(struct upstream *u)
{
	if (u == NULL || u->cancelled || u->ending)
		return;
	u->cancelled = 1;
	nactive--;
	metrics_upstream_cancel();
	loop_timer_stop(&u->idle);
	if (u->in_io) {
		loop_defer(&u->defer);	/* read_answer is on the stack */
		return;
	}
	destroy(u);
}

int
upstream_active(void)
{
	return nactive;
}

static char *
setting_or(const char *v, const char *def)
{
	return strdup(v != NULL && *v != '\0' ? v : def);
}

int
upstream_init(void)
{
	const char *k;
	char *base = NULL, *cu, shown[256];
	size_t klen;
	int bad;

	if (ready)
		upstream_shutdown();
	connect_ms = wsettings.connect_timeout_ms;
	idle_ms = wsettings.model_idle_ms;
	snprintf(idle_text, sizeof(idle_text),
	    "no data from the model for %u ms", idle_ms);
	reply_ms = wsettings.model_reply_ms;
	snprintf(reply_text, sizeof(reply_text),
	    "the model's answer took over %u ms", reply_ms);
	if ((base = setting_or(wsettings.openai_base_url, UP_DEFAULT_BASE)) == NULL)
		goto nomem;
	if ((cu = completions_url(base)) == NULL || target_parse(cu, &dep) < 0) {
		log_warnx("OPENAI_BASE_URL must be an http:// or https:// URL");
		goto fail;
	}
	free(base);
	base = NULL;
	if ((model = setting_or(wsettings.openai_model, UP_DEFAULT_MODEL)) ==
	    NULL || (system_prompt = setting_or(wsettings.system_prompt,
	    UP_DEFAULT_PROMPT)) == NULL)
		goto nomem;

	/* The key, trimmed; it must fit on one header line. */
	if ((k = wsettings.openai_key) != NULL) {
		while (isspace((unsigned char)*k))
			k++;
		klen = strlen(k);
		while (klen > 0 && isspace((unsigned char)k[klen - 1]))
			klen--;
		if (klen > 0) {
			if (memchr(k, '\r', klen) || memchr(k, '\n', klen)) {
				log_warnx("OPENAI_API_KEY holds a line break");
				goto fail;
			}
			if ((api_key = strndup(k, klen)) == NULL)
				goto nomem;
		}
	}
	auth_line = auth_of(api_key ? api_key : "", &bad);
	if (bad)
		goto nomem;

	if (!curl_ready) {
		/* Once per process; never cleaned up (OpenSSL can't restart). */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("curl_global_init failed");
			goto fail;
		}
		curl_ready = 1;
	}
	if (modelca_init(wsettings.model_ca) < 0)
		goto fail;
	ready = 1;
	nactive = 0;
	proto_url_shown(dep.url, shown, sizeof(shown));
	log_info("upstream: %s, model %s, API key %s, timeouts connect %u ms, "
	    "idle %u ms", shown, model, api_key ? "set" : "not set",
	    connect_ms, idle_ms);
	return 0;
nomem:
	log_warnx("upstream: out of memory");
fail:
	free(base);
	upstream_shutdown();
	return -1;
}

void
upstream_shutdown(void)
{
	struct upstream *u;

	while ((u = TAILQ_FIRST(&transfers)) != NULL)
		destroy(u);
	nactive = 0;
	ready = 0;
	mconn_shutdown();
	secret_free(auth_line);
	auth_line = NULL;
	secret_free(api_key);
	api_key = NULL;
	target_free(&dep);
	free(model);
	free(system_prompt);
	model = system_prompt = NULL;
	buf_free(&reqbody);
}
