/*
 * An action's HTTP request (call.h): one easy handle of libcurl per call
 * on this module's own multi handle (net/curlloop.c), set up on the
 * first call. The request is copied at the start; the answer is kept up
 * to max_bytes, and what comes past it read and dropped, so the
 * exchange still ends as the server meant (its status kept).
 *
 * Held as every tenant's URL (net/urlpolicy.h): http and https only, no
 * redirect followed (a 3xx is an answer), no proxy from the environment,
 * a new connection each time, each address checked as curl connects to
 * it (urlpol_socket) unless allow_private.
 *
 * The call's end is handed back by curlloop outside every curl callback
 * (xfer_done): the caller's callback runs there, then the call is freed.
 * Header values are the organisation's secrets: never logged, their list
 * wiped when freed; error texts are ours, never the server's words.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "actionmsg.h"
#include "call.h"
#include "curlloop.h"
#include "loop.h"
#include "random.h"
#include "sha256.h"
#include "template.h"
#include "urlpolicy.h"
#include "workerd.h"

#define CONNECT_MS_MAX	10000		/* ms to connect, at most */
#define USER_AGENT	"User-Agent: Parley-Action/1"
#define IDEM_HEADER	"Idempotency-Key: "

struct action_call {
	struct curlloop_xfer x;	/* first: its transfer */
	TAILQ_ENTRY(action_call) entry;
	int listed;		/* in calls: neither ended nor cancelled */
	action_call_cb cb;
	void *arg;
	/* what is sent (the easy handle points at them) */
	char *url;
	char *body;		/* NULL: none */
	struct curl_slist *hdrs;
	uint32_t timeout_ms;
	struct urlpol_guard guard;	/* each address held to it; refused */
	/* what came */
	struct buf ans;		/* the answer's bytes kept */
	size_t ansmax;
	int cut;
	int nomem;
	uint64_t start;		/* loop_now() */
	char why[160];		/* the result's error text */
};

static TAILQ_HEAD(, action_call) calls = TAILQ_HEAD_INITIALIZER(calls);
static int ncalls;
static struct curlloop cloop = CURLLOOP_INIT("action");

/* ------------------------------------------------------- the headers */

/* l and its strings wiped, then freed. */
static void
hdrs_free(struct curl_slist *l)
{
	for (struct curl_slist *h = l; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(l);
}

/* line added to *l: 0, or -1 (*l as it was). */
static int
hdr_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, line)) == NULL)
		return -1;
	*l = n;
	return 0;
}

/* 1 when lines has a header called name (any case). */
static int
hdr_named(const char *lines, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = lines; *p != '\0'; p++) {
		if (strncasecmp(p, name, len) == 0 && p[len] == ':')
			return 1;
		if ((p = strchr(p, '\n')) == NULL)
			break;
	}
	return 0;
}

/*
 * One of lines' "Name: value" lines (len bytes at p, no newline) added
 * to *l; an empty value as curl sends one ("Name;"). 0, or -1 when it
 * is not such a line or memory runs out.
 */
static int
hdr_line(struct curl_slist **l, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t nlen;
	char *s;
	int rc;

	if (colon == NULL || colon == p || memchr(p, '\r', len) != NULL ||
	    (s = strndup(p, len)) == NULL)
		return -1;
	nlen = (size_t)(colon - p);
	if (s[nlen + 1 + strspn(s + nlen + 1, " \t")] == '\0') {
		s[nlen] = ';';
		s[nlen + 1] = '\0';
	}
	rc = hdr_add(l, s);
	explicit_bzero(s, len);
	free(s);
	return rc;
}

/*
 * The request's header list: Accept and User-Agent (unless the action
 * sets its own), Idempotency-Key with key (unless NULL, or the action
 * sets its own), no "Expect: 100-continue", the JSON Content-Type with a
 * body (none for a POST without: curl's form type dropped), then the
 * action's lines. NULL on failure.
 */
static struct curl_slist *
headers_for(const char *lines, int method, int body, const char *key)
{
	struct curl_slist *l = NULL;
	char idem[sizeof(IDEM_HEADER) + ACTION_IDEM_KEY_MAX];
	const char *p, *nl;
	int bad = 0;

	if (!hdr_named(lines, "Accept"))
		bad |= hdr_add(&l, "Accept: application/json");
	if (!hdr_named(lines, "User-Agent"))
		bad |= hdr_add(&l, USER_AGENT);
	if (key != NULL && !hdr_named(lines, "Idempotency-Key")) {
		snprintf(idem, sizeof(idem), IDEM_HEADER "%s", key);
		bad |= hdr_add(&l, idem);
	}
	bad |= hdr_add(&l, "Expect:");
	if (body)
		bad |= hdr_add(&l, "Content-Type: application/json");
	else if (method == ST_METHOD_POST)
		bad |= hdr_add(&l, "Content-Type:");
	for (p = lines; !bad && *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl > p)
			bad |= hdr_line(&l, p, (size_t)(nl - p));
	}
	if (bad) {
		hdrs_free(l);
		return NULL;
	}
	return l;
}

/* ------------------------------------------------------- curl's calls */

/*
 * The answer's bytes: kept up to ansmax; past it the transfer stops
 * (cut): the rest is never read, nor inflated (a gzip answer of a few
 * MB can inflate to GBs, all of it on the worker's loop).
 */
static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct action_call *c = arg;
	size_t n = size * nmemb, keep;

	keep = n < c->ansmax - c->ans.len ? n : c->ansmax - c->ans.len;
	buf_add(&c->ans, p, keep);
	if (c->ans.err) {
		c->nomem = 1;
		return 0;	/* stops the transfer */
	}
	if (keep < n) {
		c->cut = 1;
		return 0;	/* stops it too: what it kept is the answer */
	}
	return n;
}

/* ------------------------------------------------------- the end */

/* c out of the calls in flight (its callback to come, or none). */
static void
call_unlist(struct action_call *c)
{
	if (!c->listed)
		return;
	TAILQ_REMOVE(&calls, c, entry);
	c->listed = 0;
	ncalls--;
}

static void
call_free(struct action_call *c)
{
	if (c->x.easy != NULL) {
		curlloop_remove(&cloop, &c->x);
		curl_easy_cleanup(c->x.easy);
	}
	call_unlist(c);
	hdrs_free(c->hdrs);
	free(c->url);
	free(c->body);
	buf_free(&c->ans);
	free(c);
}

/* What the transfer came to (rc, e its handle): err, the text in c->why. */
static enum action_call_err
verdict(struct action_call *c, CURL *e, CURLcode rc)
{
	curl_off_t connect_us = 0;
	uint32_t ms;

	c->why[0] = '\0';
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && c->cut &&
	    !c->nomem))
		return ACALL_OK;
	if (c->guard.refused) {
		strlcpy(c->why, "the API's address is a private, loopback or "
		    "link-local one, which its organisation may not call",
		    sizeof(c->why));
		return ACALL_REFUSED;
	}
	if (c->nomem) {
		strlcpy(c->why, "out of memory", sizeof(c->why));
		return ACALL_FAILED;
	}
	if (rc != CURLE_OPERATION_TIMEDOUT) {
		snprintf(c->why, sizeof(c->why), "could not call the API: %s",
		    curl_easy_strerror(rc));
		return ACALL_FAILED;
	}
	curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
	ms = c->timeout_ms < CONNECT_MS_MAX ? c->timeout_ms : CONNECT_MS_MAX;
	if (connect_us == 0 && ms < c->timeout_ms)
		snprintf(c->why, sizeof(c->why), "could not connect to the "
		    "API within %u ms", ms);
	else
		snprintf(c->why, sizeof(c->why), "timed out after %u ms",
		    c->timeout_ms);
	return ACALL_TIMEOUT;
}

/* The call's transfer ended (outside curl's callbacks): its callback. */
static void
xfer_done(struct curlloop_xfer *x, CURLcode rc)
{
	struct action_call *c = (struct action_call *)(void *)x;
	struct action_call_result r;
	long code = 0;

	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	/* The answer a C string: a NUL after its bytes (or a failure). */
	buf_add(&c->ans, "", 1);
	if (c->ans.err && rc == CURLE_OK) {
		c->nomem = 1;
		rc = CURLE_WRITE_ERROR;
	}
	r.err = verdict(c, x->easy, rc);
	curlloop_remove(&cloop, x);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	call_unlist(c);
	r.status = (int)code;
	r.error = c->why;
	r.body = "";
	if (r.err == ACALL_OK) {
		r.body = c->ans.data;
		r.len = c->ans.len - 1;
	}
	r.cut = r.err == ACALL_OK && c->cut;
	r.duration_ms = (uint32_t)(loop_now() - c->start);
	c->cb(c->arg, &r);
	call_free(c);
}

/* ------------------------------------------------------- the start */

/* The easy handle e set up for c's request of method: 0, or -1. */
static int
easy_setup(struct action_call *c, CURL *e, int method)
{
	long t = (long)c->timeout_ms;
	int bad = 0;

#define SET(opt, v)	(bad |= curl_easy_setopt(e, (opt), (v)) != CURLE_OK)
	SET(CURLOPT_URL, c->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_TIMEOUT_MS, t);
	SET(CURLOPT_CONNECTTIMEOUT_MS, t < CONNECT_MS_MAX ? t :
	    (long)CONNECT_MS_MAX);
	SET(CURLOPT_HTTPHEADER, c->hdrs);
	if (method != ST_METHOD_GET && method != ST_METHOD_POST)
		SET(CURLOPT_CUSTOMREQUEST, st_method_name(method));
	if (c->body != NULL || method == ST_METHOD_POST) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body != NULL ?
		    strlen(c->body) : 0));
		SET(CURLOPT_POSTFIELDS, c->body != NULL ? c->body : "");
	}
#undef SET
	bad |= urlpol_curl_io(e, &c->guard, write_cb, c) < 0;
	return bad ? -1 : 0;
}

/* 1 when r can be sent. */
/* 1 when key is NULL or 1 to ACTION_IDEM_KEY_MAX bytes of [A-Za-z0-9_.:-]. */
static int
idem_key_ok(const char *key)
{
	size_t n;

	if (key == NULL)
		return 1;
	n = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.:-");
	return n > 0 && n <= ACTION_IDEM_KEY_MAX && key[n] == '\0';
}

static int
req_ok(const struct action_call_req *r)
{
	return r->method <= ST_METHOD_MAX && r->url != NULL &&
	    (strncasecmp(r->url, "http://", 7) == 0 ||
	    strncasecmp(r->url, "https://", 8) == 0) &&
	    r->timeout_ms >= 1 && r->timeout_ms <= ST_ACTION_TIMEOUT_MAX &&
	    idem_key_ok(r->idem_key);
}

struct action_call *
action_call_start(const struct action_call_req *r, action_call_cb cb,
    void *arg)
{
	struct action_call *c;
	int body;

	if (r == NULL || cb == NULL || !req_ok(r))
		return NULL;
	if (curlloop_init(&cloop, 0) < 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	c->timeout_ms = r->timeout_ms;
	c->ansmax = r->max_bytes;
	c->guard.allow_private = r->allow_private;
	c->start = loop_now();
	body = r->method != ST_METHOD_GET && r->body != NULL &&
	    r->body[0] != '\0';
	if ((c->url = strdup(r->url)) == NULL ||
	    (body && (c->body = strdup(r->body)) == NULL) ||
	    (c->hdrs = headers_for(r->headers != NULL ? r->headers : "",
	    r->method, body, r->idem_key)) == NULL ||
	    (c->x.easy = curl_easy_init()) == NULL ||
	    easy_setup(c, c->x.easy, r->method) < 0)
		goto fail;
	c->x.done = xfer_done;
	if (curlloop_add(&cloop, &c->x) < 0)
		goto fail;
	TAILQ_INSERT_TAIL(&calls, c, entry);
	c->listed = 1;
	ncalls++;
	return c;
fail:
	call_free(c);
	return NULL;
}

void
action_call_cancel(struct action_call *c)
{
	if (c == NULL || !c->listed)
		return;		/* NULL, or its callback is running */
	call_free(c);
}

int
action_calls_active(void)
{
	return ncalls;
}

void
action_calls_shutdown(void)
{
	struct action_call *c;

	while ((c = TAILQ_FIRST(&calls)) != NULL)
		call_free(c);
	curlloop_shutdown(&cloop);
}

/* ------------------------------------------------ an action's request */

int
action_call_req_of(struct action_call_req *q, const struct st_action *a,
    const json_t *args, const struct tpl_visitor *v, int allow_private,
    char **url, char **body, const char **why)
{
	*url = *body = NULL;
	/*
	 * Saved before its templates were checked as merged: a placeholder
	 * naming nothing would be filled empty (another path of the owner's
	 * API, with the action's headers).
	 */
	if (st_action_templates_invalid(a) != NULL) {
		*why = "the action's url or body names a value that is none "
		    "of its parameters: the action needs fixing";
		return -1;
	}
	if (tpl_expand(TPL_URL, a->url, args, v, url, why) < 0)
		return -1;
	if (a->body != NULL && a->body[0] != '\0' &&
	    tpl_expand(TPL_JSON, a->body, args, v, body, why) < 0) {
		free(*url);
		*url = NULL;
		return -1;
	}
	memset(q, 0, sizeof(*q));
	q->method = a->method;
	q->url = *url;
	q->body = *body;
	q->headers = a->headers != NULL ? a->headers : "";
	q->timeout_ms = a->timeout_ms ? a->timeout_ms : ST_ACTION_TIMEOUT_DEF;
	q->max_bytes = a->max_response_bytes ? a->max_response_bytes :
	    ST_ACTION_ANSWER_DEF;
	q->allow_private = allow_private;
	return 0;
}

void
action_idem_key(char out[ACTION_IDEM_HEX + 1], const char *conv_id,
    const char *msg_id, const char *action_id, uint32_t round,
    uint32_t index)
{
	uint8_t md[PROTO_SHA256_LEN];
	char *s;
	int n;

	/* "\n" between: no id holds one, so two lists never spell alike. */
	n = asprintf(&s, "parley-action-call\n%s\n%s\n%s\n%" PRIu32 "\n%"
	    PRIu32, conv_id != NULL ? conv_id : "", msg_id != NULL ? msg_id :
	    "", action_id != NULL ? action_id : "", round, index);
	if (n < 0) {
		/* Out of memory: a key of its own still keeps calls apart. */
		action_idem_key_random(out);
		return;
	}
	proto_sha256(s, (size_t)n, md);
	free(s);
	proto_hex_encode(md, ACTION_IDEM_HEX / 2, out);
}

void
action_idem_key_random(char out[ACTION_IDEM_HEX + 1])
{
	uint8_t r[ACTION_IDEM_HEX / 2];

	proto_random(r, sizeof(r));
	proto_hex_encode(r, sizeof(r), out);
}

int
action_private_ok(const char *org)
{
	return urlpol_private_ok(org, NULL, wsettings.actions_allow_private,
	    NULL);
}
