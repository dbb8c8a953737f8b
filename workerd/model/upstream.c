/*
 * The upstream model client (upstream.h): libcurl's multi interface driven
 * by the worker's own epoll loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); we register the sockets with
 * the loop and call curl_multi_socket_action from the loop's io and timer
 * callbacks. Replies are parsed as they arrive (sse.c) and each content
 * delta goes straight to the caller: no timer or batching on that path.
 *
 * Choices:
 * - HTTP/1.1, one connection per stream in flight, kept in the multi
 *   handle's connection cache (UP_MAXCONNECTS) for the next request. Not
 *   HTTP/2: pausing a stream in libcurl 7.88's HTTP/2 code is not reliable,
 *   and on HTTP/1.1 a pause is plain TCP backpressure on that stream alone.
 * - Several multi handles ("shards"), each with at most UP_SHARD_XFERS
 *   transfers: libcurl 7.88 walks every connection of its cache when a
 *   transfer starts (looking for one to reuse) and when one ends (looking
 *   for the oldest idle one to close); with 4,000 streams on one multi
 *   handle those walks took about a tenth of the worker's CPU. A new
 *   transfer goes to the first shard with room, so the first one's idle
 *   connections are the ones reused; shards are made as needed and kept
 *   until upstream_shutdown.
 * - Memory per stream: a 1 KiB receive buffer once many transfers are in
 *   flight (UP_BIGBUF_XFERS; 4 KiB before, where a fast reply costs fewer
 *   reads); the request body freed once sent (body_release); the SSE
 *   buffer freed between events (sse_release).
 * - Backpressure: the write callback asks can_write() before consuming
 *   anything; 0 pauses the transfer (CURL_WRITEFUNC_PAUSE: curl keeps the
 *   bytes it read, at most about one receive buffer, and stops reading the
 *   socket), and upstream_resume() lifts the pause.
 * - Timeouts: curl's connect timeout, and our own idle timer on the loop
 *   (no byte for OPENAI_IDLE_TIMEOUT_MS while not paused). curl's low-speed
 *   limits are not used: they would also fire on a paused transfer.
 * - curl forbids adding or removing handles from inside its callbacks, and
 *   the caller's callbacks run inside curl's write callback. Whatever the
 *   caller asks from there (cancel, start, resume) is done from a deferred
 *   call (loop_defer) once curl has returned. upstream_resume() is always
 *   deferred, so it never calls back into the caller before returning.
 * - Redirects are not followed (a 3xx is an HTTP error). Proxies named by
 *   the usual environment variables (https_proxy, no_proxy, ...) are used,
 *   as libcurl does by default.
 * - Per request (an agent's, turn.c): its own base URL, API key,
 *   temperature and max_tokens. A request with the deployment's URL and
 *   key shares the one header list; one with its own gets its own list,
 *   freed (and wiped) with the transfer. Connections are reused per
 *   base URL by the multi handle's cache itself: it matches a finished
 *   connection to a new transfer by scheme, host and port (and TLS
 *   options), whatever easy handle either used, so agents on the same
 *   server share idle connections and each server keeps its own; the
 *   cache's size bounds them all together. The key is not part of a
 *   connection (it is a header of each request).
 * - An API key only goes into the Authorization header; it is never
 *   logged, and error texts taken from the model's replies are scrubbed of
 *   anything that looks like a key (the deployment's, the request's, and
 *   "sk-..."). CURLOPT_VERBOSE is never set.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "curlsock.h"
#include "log.h"
#include "sse.h"
#include "upstream.h"
#include "urlpolicy.h"
#include "workerd.h"

#define UP_DEFAULT_BASE		"https://api.openai.com/v1"
#define UP_DEFAULT_MODEL	"gpt-4.1-mini"
#define UP_DEFAULT_PROMPT	"You are a concise and helpful AI assistant " \
				"embedded in a support chat widget."
/*
 * curl's receive buffer per transfer: 4 KiB while few transfers are in
 * flight (a fast reply comes in one or two reads), 1 KiB past
 * UP_BIGBUF_XFERS (memory per open stream; an SSE event is ~250 bytes).
 */
#define UP_BUFFERSIZE		4096
#define UP_BUFFERSIZE_MANY	1024
#define UP_BIGBUF_XFERS		64
#define UP_MAXCONNECTS		256	/* idle connections kept for reuse (shard 0) */
#define UP_SHARD_MAXCONNECTS	32	/* the same for each further shard */
#define UP_SHARD_XFERS		256	/* transfers per multi handle */
#define UP_SHARDS_MAX		64	/* beyond: the least loaded takes more */
#define UP_ERRBODY_MAX		4096	/* of a non-2xx body, read for its message */
#define UP_ERRMSG_MAX		200	/* bytes of that message reported */
#define UP_SPARE_EASY		16	/* finished easy handles kept for reuse */

/* One multi handle, its timer and its share of the transfers. */
struct shard {
	CURLM *multi;
	struct loop_timer mtimer;
	struct loop_defer mkick;
	int kicking;		/* inside the mkick call */
	int nxfers;		/* transfers on it, added or about to be */
};

struct upstream {
	TAILQ_ENTRY(upstream) entry;
	struct shard *sh;
	CURL *easy;
	struct upstream_cbs cbs;
	void *arg;
	char *body;		/* the request (curl reads it, does not copy) */
	size_t blen;		/* its length */
	struct curl_slist *hdrs;	/* its own headers, or NULL: the shared */
	char *key;		/* its own API key, to mask in error texts */
	struct sse sse;
	struct loop_timer idle;
	struct loop_defer defer;	/* add, resume or cancel outside curl */
	uint64_t last_rx;	/* loop time of the last byte received */
	uint64_t start_us;	/* metrics: started, first byte of the body */
	uint64_t first_us;
	char *errbody;		/* start of a non-2xx reply */
	size_t errlen;
	char *errmsg;		/* error text we own */
	const char *fail;	/* set once the transfer is known to fail */
	enum upstream_status fail_status;
	int http_status;
	uint32_t prompt_tokens;
	uint32_t completion_tokens;
	unsigned added:1;	/* in the multi handle */
	unsigned add_pending:1;
	unsigned resume_pending:1;
	unsigned paused:1;
	unsigned cancelled:1;
	unsigned ending:1;	/* on_done is running: cancel is a no-op */
	unsigned got_status:1;
	unsigned got_done:1;	/* data: [DONE] */
	unsigned finished:1;	/* a finish_reason */
	unsigned tool_finish:1;	/* ... of "tool_calls" */
	struct urlpol_guard guard;	/* a guarded transfer's (guard()) */
};

static TAILQ_HEAD(, upstream) transfers = TAILQ_HEAD_INITIALIZER(transfers);

static struct shard *shards[UP_SHARDS_MAX];
static int nshards;
static struct curl_slist *headers;
static char *url, *model, *system_prompt, *api_key;
static uint32_t connect_ms, idle_ms;
static char idle_text[64];
static int in_curl;		/* inside a curl call that may run our callbacks */
static int nactive;
static int curl_ready;
static int curl_openssl;	/* libcurl's TLS is OpenSSL: ssl_ctx_cb applies */

/*
 * Easy handles of finished transfers, reset and kept for the next ones:
 * making and freeing one per request cost more than resetting it.
 */
static CURL *spare[UP_SPARE_EASY];
static int nspare;

/*
 * Sockets curl asked us to watch, indexed by fd; never freed before
 * shutdown. When curl stops watching one (CURL_POLL_REMOVE), it is most
 * often a finished transfer's connection going back to the cache, to be
 * watched again by the next transfer: it stays registered ("parked"), so
 * that costs no epoll_ctl either way. A parked socket that has news (the
 * server closed it) is deregistered then; curl finds out itself when it
 * next looks at it. curl closes its sockets through sock_close(), which
 * deregisters them first, so a parked entry never outlives its socket.
 */
struct usock {
	struct loop_io io;	/* first: a curlsock entry */
	int parked;
};
static struct curlsock_tab socks = CURLSOCK_TAB(struct usock, "upstream");

static void check_done(struct shard *);
static void destroy(struct upstream *);

static CURL *
easy_get(void)
{
	return nspare > 0 ? spare[--nspare] : curl_easy_init();
}

/* Out of the multi handle already. */
static void
easy_put(CURL *e)
{
	if (e == NULL)
		return;
	if (nspare == UP_SPARE_EASY) {
		curl_easy_cleanup(e);
		return;
	}
	curl_easy_reset(e);
	spare[nspare++] = e;
}

/* ------------------------------------------------------- curl <-> loop */

static void
sock_io(int fd, uint32_t events, void *arg)
{
	struct shard *sh = arg;
	struct usock *us = curlsock_get(&socks, fd);
	int running;

	if (us != NULL && us->parked) {
		loop_io_del(&us->io);
		us->parked = 0;
		return;
	}

	in_curl++;
	curl_multi_socket_action(sh->multi, fd, curlsock_action(events),
	    &running);
	in_curl--;
	check_done(sh);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct usock *us;

	if (s < 0)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if ((us = curlsock_get(&socks, s)) != NULL && us->io.fd >= 0)
			us->parked = 1;
		return 0;
	}
	us = curlsock_watch(&socks, s, what, sock_io, userp);
	us->parked = 0;
	return 0;
}

/* curl closes a socket (CURLOPT_CLOSESOCKETFUNCTION): watched no more. */
static int
sock_close(void *clientp, curl_socket_t s)
{
	struct usock *us;

	if ((us = curlsock_get(&socks, s)) != NULL) {
		loop_io_del(&us->io);
		us->parked = 0;
	}
	return close(s);
}

static void
shard_timeout(struct shard *sh, int kick)
{
	int running;

	in_curl++;
	sh->kicking = kick;
	curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	sh->kicking = 0;
	in_curl--;
	check_done(sh);
}

static void
mtimer_fire(void *arg)
{
	shard_timeout(arg, 0);
}

static void
mkick_fire(void *arg)
{
	shard_timeout(arg, 1);
}

/*
 * curl's timer. "Now" (a new transfer, a resumed one) runs from a deferred
 * call at the end of this loop round, which saves arming the timerfd and
 * a trip through epoll. Asked "now" again from inside that call (curl
 * wants to read on), it waits for the next round, so one busy transfer
 * cannot keep the loop from everything else.
 */
static int
timer_cb(CURLM *m, long ms, void *userp)
{
	struct shard *sh = userp;

	loop_timer_stop(&sh->mtimer);
	loop_defer_cancel(&sh->mkick);
	if (ms == 0 && !sh->kicking)
		loop_defer(&sh->mkick);
	else if (ms >= 0)
		loop_timer_after(&sh->mtimer, (uint64_t)ms);
	return 0;
}

/* A new multi handle; NULL when out of memory. */
static struct shard *
shard_new(long maxconnects)
{
	struct shard *sh;

	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return NULL;
	if ((sh->multi = curl_multi_init()) == NULL) {
		free(sh);
		return NULL;
	}
	curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
	curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
	curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, maxconnects);
	curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_NOTHING);
	loop_timer_init(&sh->mtimer, mtimer_fire, sh);
	loop_defer_init(&sh->mkick, mkick_fire, sh);
	return sh;
}

/* Only once its transfers are gone. */
static void
shard_free(struct shard *sh)
{
	loop_timer_stop(&sh->mtimer);
	loop_defer_cancel(&sh->mkick);
	curl_multi_cleanup(sh->multi);
	free(sh);
}

/*
 * The shard a new transfer goes to: the first with room, else a new one,
 * else (UP_SHARDS_MAX of them full) the least loaded. NULL: out of memory.
 */
static struct shard *
shard_pick(void)
{
	struct shard *best = NULL;
	int i;

	for (i = 0; i < nshards; i++) {
		if (shards[i]->nxfers < UP_SHARD_XFERS)
			return shards[i];
		if (best == NULL || shards[i]->nxfers < best->nxfers)
			best = shards[i];
	}
	if (nshards < UP_SHARDS_MAX &&
	    (shards[nshards] = shard_new(UP_SHARD_MAXCONNECTS)) != NULL)
		return shards[nshards++];
	return best;
}

/* ---------------------------------------------------------- the end */

/* Copies at most max bytes of s, not cutting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

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

/*
 * A short error text from the model, made safe to log and store: no control
 * characters, anything that looks like an API key (the deployment's, the
 * transfer's own, "sk-...") or a URL's credentials masked. The masking runs
 * on the whole text, the cut after it: a key across the cut would leak its
 * start.
 */
static char *
safe_text(const struct upstream *u, const char *s, size_t len)
{
	char *out;
	size_t i, o = 0, klen;

	/* Each mask is at most 3 times as long as what it hides. */
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; ) {
		if ((klen = key_at(s + i, len - i, api_key)) > 0 ||
		    (klen = key_at(s + i, len - i, u->key)) > 0) {
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
	out[utf8_cut(out, o, UP_ERRMSG_MAX)] = '\0';
	return out;
}

/* The message of a non-2xx reply: error.message when it is OpenAI's shape. */
static const char *
http_error_text(struct upstream *u)
{
	json_t *root, *err, *msg = NULL;
	char buf[64];

	if (u->errbody != NULL && (root = json_loadb(u->errbody, u->errlen, 0,
	    NULL)) != NULL) {
		err = json_object_get(root, "error");
		if (json_is_object(err))
			msg = json_object_get(err, "message");
		else if (json_is_string(err))
			msg = err;
		if (json_is_string(msg) && json_string_length(msg) > 0)
			u->errmsg = safe_text(u, json_string_value(msg),
			    json_string_length(msg));
		json_decref(root);
	}
	if (u->errmsg == NULL) {
		snprintf(buf, sizeof(buf), "HTTP %d from the model",
		    u->http_status);
		u->errmsg = strdup(buf);
	}
	return u->errmsg ? u->errmsg : "error from the model";
}

static int
status_ok(int code)
{
	return code >= 200 && code <= 299;
}

#define UP_REFUSED_TEXT \
	"the agent's model server is at a private, loopback or link-local " \
	"address, which its organisation may not use"

/*
 * Holds transfer c of u to the address policy when req's base_url is an
 * agent's its organisation may not point at private addresses: each
 * address checked as its socket opens, no connection reused (one opened
 * for another URL was not checked), no proxy (urlpol_curl_guard). 0, -1
 * for a base_url the policy does not read, or a CURLcode's bits.
 */
static int
guard(struct upstream *u, CURL *c, const struct upstream_req *req)
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
	if (urlpol_model_private_ok(req->org, t.host,
	    wsettings.model_allow_private, wsettings.model_allow_hosts))
		return 0;
	return urlpol_curl_guard(c, &u->guard);
}

/* What a transfer that curl reports done with rc came to. */
static enum upstream_status
classify(struct upstream *u, CURLcode rc, const char **text)
{
	long code = 0;

	if (!u->got_status &&
	    curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &code) ==
	    CURLE_OK)
		u->http_status = (int)code;
	if (u->fail != NULL) {
		*text = u->fail;
		return u->fail_status;
	}
	if (u->http_status != 0 && !status_ok(u->http_status)) {
		*text = http_error_text(u);
		return UPSTREAM_HTTP_ERROR;
	}
	if (u->got_done || u->finished) {
		*text = "";
		return UPSTREAM_OK;
	}
	if (u->guard.refused) {
		*text = UP_REFUSED_TEXT;
		return UPSTREAM_BROKEN;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		*text = "connecting to the model timed out";
		return UPSTREAM_TIMEOUT;
	}
	if (rc == CURLE_OK) {
		*text = "the model's stream ended before it was complete";
		return UPSTREAM_BROKEN;
	}
	*text = curl_easy_strerror(rc);
	return UPSTREAM_BROKEN;
}

static void
detach(struct upstream *u)
{
	loop_timer_stop(&u->idle);
	loop_defer_cancel(&u->defer);
	if (u->added) {
		curl_multi_remove_handle(u->sh->multi, u->easy);
		u->added = 0;
	}
}

/* Frees a header list, wiping what it held (an Authorization line). */
static void
headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
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

/* Frees a transfer; never calls the caller. Not from inside curl. */
static void
destroy(struct upstream *u)
{
	detach(u);
	u->sh->nxfers--;
	easy_put(u->easy);
	headers_free(u->hdrs);
	secret_free(u->key);
	sse_free(&u->sse);
	free(u->body);
	free(u->errbody);
	free(u->errmsg);
	TAILQ_REMOVE(&transfers, u, entry);
	free(u);
}

/* Ends a transfer: out of the multi handle, on_done, freed. */
static void
finish(struct upstream *u, enum upstream_status st, const char *text)
{
	struct upstream_result r;

	nactive--;
	detach(u);
	memset(&r, 0, sizeof(r));
	r.status = st;
	r.http_status = u->http_status;
	r.error = text != NULL ? text : "";
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

static void
check_done(struct shard *sh)
{
	struct upstream *u;
	CURLMsg *m;
	CURLcode rc;
	CURL *e;
	char *priv;
	const char *text;
	enum upstream_status st;
	int left;

	while ((m = curl_multi_info_read(sh->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		rc = m->data.result;
		priv = NULL;
		if (curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv) !=
		    CURLE_OK || priv == NULL)
			continue;
		u = (struct upstream *)(void *)priv;
		if (u->cancelled) {
			destroy(u);
			continue;
		}
		st = classify(u, rc, &text);
		finish(u, st, text);
	}
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
	if (now - u->last_rx < idle_ms) {
		loop_timer_at(&u->idle, u->last_rx + idle_ms);
		return;
	}
	if (u->got_done || u->finished)
		finish(u, UPSTREAM_OK, "");
	else
		finish(u, UPSTREAM_TIMEOUT, idle_text);
}

/* One SSE event of a 2xx reply. */
static int
on_event(void *arg, const struct sse_event *ev)
{
	struct upstream *u = arg;
	struct sse_chunk c;

	if (sse_is_done(ev->data, ev->len)) {
		u->got_done = 1;
		return 1;
	}
	if (sse_chunk_parse(ev->data, ev->len, &c) < 0) {
		fail(u, UPSTREAM_BROKEN, "malformed event from the model");
		return 2;
	}
	if (c.error != NULL) {
		if (*c.error == '\0')
			c.error = "error event from the model";
		if (u->errmsg == NULL)
			u->errmsg = safe_text(u, c.error, strlen(c.error));
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

static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct upstream *u = arg;

	u->last_rx = loop_now();
	return size * nmemb;
}

/*
 * Frees the request body once curl has sent all of it: the reply has
 * begun, and curl sends a request again only before any byte of a reply
 * came (redirects are not followed, no authentication scheme resends).
 * A long history is not kept for the whole reply.
 */
static void
body_release(struct upstream *u)
{
	curl_off_t sent = 0;

	if (u->body == NULL ||
	    curl_easy_getinfo(u->easy, CURLINFO_SIZE_UPLOAD_T, &sent) !=
	    CURLE_OK || sent < (curl_off_t)u->blen)
		return;
	free(u->body);
	u->body = NULL;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct upstream *u = arg;
	size_t n = size * nmemb, room;
	long code = 0;

	if (u->cancelled || u->fail != NULL)
		return 0;	/* stops the transfer */
	u->last_rx = loop_now();
	if (u->first_us == 0)
		u->first_us = proto_mono_us();
	if (!u->got_status) {
		if (curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE,
		    &code) == CURLE_OK)
			u->http_status = (int)code;
		u->got_status = 1;
	}
	body_release(u);
	if (!status_ok(u->http_status)) {
		/* Keep the start of the error body for its message. */
		if (u->errbody == NULL &&
		    (u->errbody = malloc(UP_ERRBODY_MAX)) == NULL)
			return 0;
		room = UP_ERRBODY_MAX - u->errlen;
		memcpy(u->errbody + u->errlen, p, n < room ? n : room);
		u->errlen += n < room ? n : room;
		return n <= room ? n : 0;	/* enough read: stop */
	}
	if (u->got_done)
		return n;	/* what follows [DONE] is ignored */
	if (!u->cbs.can_write(u->arg)) {
		if (u->cancelled)
			return 0;
		u->paused = 1;
		loop_timer_stop(&u->idle);
		return CURL_WRITEFUNC_PAUSE;
	}
	if (u->cancelled)
		return 0;
	if (sse_feed(&u->sse, p, n, NULL) == SSE_TOO_BIG)
		fail(u, UPSTREAM_BROKEN, "an event from the model is too big");
	if (u->cancelled || u->fail != NULL)
		return 0;
	sse_release(&u->sse);	/* the next piece comes 20-200 ms later */
	return n;
}

/* ------------------------------------------------ deferred actions */

static void
do_resume(struct upstream *u)
{
	enum upstream_status st;
	const char *text;
	CURLcode rc;

	if (!u->paused)
		return;
	u->paused = 0;
	u->last_rx = loop_now();
	loop_timer_after(&u->idle, idle_ms);
	/* curl hands over what it kept, maybe pausing again at once. */
	in_curl++;
	rc = curl_easy_pause(u->easy, CURLPAUSE_CONT);
	in_curl--;
	if (u->cancelled) {
		destroy(u);
		return;
	}
	if (rc != CURLE_OK) {
		st = classify(u, rc, &text);
		finish(u, st, text);
	}
}

static void
deferred(void *arg)
{
	struct upstream *u = arg;

	if (u->cancelled) {
		destroy(u);
		return;
	}
	if (u->add_pending) {
		u->add_pending = 0;
		if (curl_multi_add_handle(u->sh->multi, u->easy) != CURLM_OK) {
			finish(u, UPSTREAM_BROKEN, "could not start the request");
			return;
		}
		u->added = 1;
	}
	if (u->resume_pending) {
		u->resume_pending = 0;
		do_resume(u);	/* may free u */
	}
}

/* ------------------------------------------------------------- API */

/*
 * Each TLS connection gets OpenSSL's 16 KiB read and write buffers; with
 * SSL_MODE_RELEASE_BUFFERS they are freed whenever they are empty, which
 * for a stream of small events is most of the time.
 */
static CURLcode
ssl_ctx_cb(CURL *c, void *ctx, void *arg)
{
	SSL_CTX_set_mode((SSL_CTX *)ctx, SSL_MODE_RELEASE_BUFFERS);
	return CURLE_OK;
}

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
 * true}}, then "tools" (and "tool_choice"), "temperature" and
 * "max_tokens" when the request sets them.
 * NUL-terminated; *lenp is its length.
 */
static char *
build_body(const struct upstream_req *req, size_t *lenp)
{
	const char *sp, *m;
	char *joined;
	char num[32];
	struct buf b;
	size_t i;
	int first = 1;

	sp = req->system_prompt ? req->system_prompt : system_prompt;
	m = req->model ? req->model : model;
	buf_init(&b);
	buf_adds(&b, "{\"model\":");
	buf_add_jstr(&b, m, strlen(m));
	buf_adds(&b, ",\"messages\":[");
	joined = NULL;
	if (req->system_extra != NULL && *req->system_extra != '\0' &&
	    (sp = joined = system_join(sp, req->system_extra)) == NULL)
		b.err = 1;
	if (sp != NULL && *sp != '\0') {
		buf_adds(&b, "{\"role\":\"system\",\"content\":");
		buf_add_jstr(&b, sp, strlen(sp));
		buf_adds(&b, "}");
		first = 0;
	}
	free(joined);
	for (i = 0; i < req->nmsgs; i++) {
		buf_adds(&b, first ? "{" : ",{");
		add_msg(&b, &req->msgs[i]);
		buf_adds(&b, "}");
		first = 0;
	}
	buf_adds(&b, "],\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true}");
	if (req->tools != NULL) {
		buf_adds(&b, ",\"tools\":");
		buf_adds(&b, req->tools);
		if (req->tools_none)
			buf_adds(&b, ",\"tool_choice\":\"none\"");
	}
	if (req->has_temperature)
		add_temperature(&b, req->temperature_milli);
	if (req->max_tokens > 0) {
		snprintf(num, sizeof(num), ",\"max_tokens\":%u",
		    req->max_tokens);
		buf_adds(&b, num);
	}
	buf_adds(&b, "}");
	buf_add(&b, "", 1);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	*lenp = b.len - 1;
	return b.data;
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
 * The headers of a request with an API key of its own (key "" for none):
 * the shared ones with that Authorization line. NULL: out of memory, or
 * a key that does not fit on a header line.
 */
static struct curl_slist *
headers_with_key(const char *key)
{
	struct curl_slist *h;
	char *auth = NULL;

	if (strpbrk(key, "\r\n") != NULL)
		return NULL;
	if (*key != '\0' && asprintf(&auth, "Authorization: Bearer %s",
	    key) < 0)
		return NULL;
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL || curl_slist_append(h, "Accept: text/event-stream") == NULL ||
	    curl_slist_append(h, "Expect:") == NULL ||
	    curl_slist_append(h, "User-Agent: parley") == NULL ||
	    (auth != NULL && curl_slist_append(h, auth) == NULL)) {
		headers_free(h);
		h = NULL;
	}
	secret_free(auth);
	return h;
}

/*
 * The request's own URL and headers, when it has them: *urlp (malloc'd,
 * NULL for the deployment's) and u->hdrs, u->key. 0, or -1.
 */
static int
request_target(struct upstream *u, const struct upstream_req *req,
    char **urlp)
{
	*urlp = NULL;
	if (req->base_url != NULL && *req->base_url != '\0' &&
	    (*urlp = completions_url(req->base_url)) == NULL) {
		log_warnx("upstream: an agent's base URL is not an http:// or "
		    "https:// URL");
		return -1;
	}
	if (req->api_key == NULL)
		return 0;
	if ((u->hdrs = headers_with_key(req->api_key)) == NULL ||
	    (*req->api_key != '\0' &&
	    (u->key = strdup(req->api_key)) == NULL)) {
		log_warnx("upstream: an agent's API key cannot be sent");
		free(*urlp);
		*urlp = NULL;
		return -1;
	}
	return 0;
}

struct upstream *
upstream_start(const struct upstream_req *req, const struct upstream_cbs *cbs,
    void *arg)
{
	struct upstream *u;
	struct shard *sh;
	CURLcode e = CURLE_OK;
	char *own_url = NULL;
	CURL *c;

	if (nshards == 0 || cbs == NULL || cbs->can_write == NULL ||
	    cbs->on_delta == NULL || cbs->on_done == NULL)
		return NULL;
	if ((sh = shard_pick()) == NULL || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if (request_target(u, req, &own_url) < 0 ||
	    (u->body = build_body(req, &u->blen)) == NULL ||
	    (u->easy = c = easy_get()) == NULL) {
		headers_free(u->hdrs);
		secret_free(u->key);
		free(own_url);
		free(u->body);
		free(u);
		return NULL;
	}
	u->cbs = *cbs;
	u->arg = arg;
	/* curl copies the URL; the header list it only points at. */
	e |= curl_easy_setopt(c, CURLOPT_URL, own_url ? own_url : url);
	free(own_url);
	e |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	e |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);	/* never */
	if (guard(u, c, req) != 0)
		e |= CURLE_BAD_FUNCTION_ARGUMENT;
	e |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	e |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, u->hdrs ? u->hdrs :
	    headers);
	e |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, u->body);
	e |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)u->blen);
	e |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	e |= curl_easy_setopt(c, CURLOPT_WRITEDATA, u);
	e |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	e |= curl_easy_setopt(c, CURLOPT_HEADERDATA, u);
	e |= curl_easy_setopt(c, CURLOPT_PRIVATE, u);
	e |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, sock_close);
	e |= curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 15L);
	e |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	e |= curl_easy_setopt(c, CURLOPT_BUFFERSIZE, nactive < UP_BIGBUF_XFERS ?
	    (long)UP_BUFFERSIZE : (long)UP_BUFFERSIZE_MANY);
	if (curl_openssl)
		e |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	if (e != CURLE_OK) {
		easy_put(c);
		headers_free(u->hdrs);
		secret_free(u->key);
		free(u->body);
		free(u);
		return NULL;
	}
	sse_init(&u->sse, 0, on_event, u);
	loop_timer_init(&u->idle, idle_fire, u);
	loop_defer_init(&u->defer, deferred, u);
	TAILQ_INSERT_TAIL(&transfers, u, entry);
	u->sh = sh;
	sh->nxfers++;
	nactive++;
	u->last_rx = loop_now();
	loop_timer_after(&u->idle, idle_ms);
	if (in_curl) {
		/* From inside a callback: curl refuses new handles now. */
		u->add_pending = 1;
		loop_defer(&u->defer);
	} else if (curl_multi_add_handle(sh->multi, c) != CURLM_OK) {
		nactive--;
		destroy(u);
		return NULL;
	} else
		u->added = 1;
	u->start_us = proto_mono_us();
	metrics_upstream_start();
	/* curl's timer callback asked for a call soon: it connects from there. */
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
	if (in_curl) {
		loop_defer(&u->defer);	/* curl is on the stack */
		return;
	}
	destroy(u);
}

int
upstream_active(void)
{
	return nactive;
}

void
upstream_url_shown(const char *u, char *out, size_t outsz)
{
	const char *p = strstr(u, "://"), *at, *slash;

	if (p != NULL) {
		p += 3;
		at = strchr(p, '@');
		slash = strchr(p, '/');
		if (at != NULL && (slash == NULL || at < slash)) {
			snprintf(out, outsz, "%.*s***%s", (int)(p - u), u, at);
			return;
		}
	}
	strlcpy(out, u, outsz);
}

static char *
setting_or(const char *v, const char *def)
{
	return strdup(v != NULL && *v != '\0' ? v : def);
}

int
upstream_init(void)
{
	const curl_version_info_data *vi;
	const char *k;
	char *base = NULL, shown[256];
	size_t klen;

	if (nshards > 0)
		upstream_shutdown();
	connect_ms = wsettings.connect_timeout_ms;
	idle_ms = wsettings.model_idle_ms;
	snprintf(idle_text, sizeof(idle_text),
	    "no data from the model for %u ms", idle_ms);
	if ((base = setting_or(wsettings.openai_base_url, UP_DEFAULT_BASE)) == NULL)
		goto nomem;
	if ((url = completions_url(base)) == NULL) {
		log_warnx("OPENAI_BASE_URL must start with http:// or https://");
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
	if ((headers = headers_with_key(api_key ? api_key : "")) == NULL)
		goto nomem;

	if (!curl_ready) {
		/* Once per process; never cleaned up (OpenSSL can't restart). */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("curl_global_init failed");
			goto fail;
		}
		curl_ready = 1;
		vi = curl_version_info(CURLVERSION_NOW);
		curl_openssl = vi != NULL && vi->ssl_version != NULL &&
		    strncmp(vi->ssl_version, "OpenSSL/", 8) == 0;
	}
	if ((shards[0] = shard_new(UP_MAXCONNECTS)) == NULL)
		goto nomem;
	nshards = 1;
	nactive = 0;
	upstream_url_shown(url, shown, sizeof(shown));
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
	while (nspare > 0)
		curl_easy_cleanup(spare[--nspare]);
	nactive = 0;
	while (nshards > 0) {
		shard_free(shards[--nshards]);
		shards[nshards] = NULL;
	}
	curlsock_free(&socks);
	headers_free(headers);
	headers = NULL;
	if (api_key != NULL) {
		explicit_bzero(api_key, strlen(api_key));
		free(api_key);
		api_key = NULL;
	}
	free(url);
	free(model);
	free(system_prompt);
	url = model = system_prompt = NULL;
}
