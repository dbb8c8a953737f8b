/*
 * The embedding and rerank client (embed.h): one multi handle of libcurl
 * on the worker's loop (net/curlloop.c, as the notifier's deliveries).
 *
 * A job walks its inputs one batch at a time: build the request, run it,
 * and on its end (batch_done, outside every curl callback) either take the
 * answer (embedjson.c reads it), try the batch again after a backoff
 * timer, or end the job with its callback. The answer is kept in memory
 * up to a bound made from the batch (its inputs' count and the vectors'
 * size), past which the transfer stops and the job fails.
 *
 * Retried: a failed connection, a timeout, HTTP 408, 429 and 5xx. Not
 * retried: another status, a 2xx answer the parser refuses, an answer
 * over its bound, an address the policy refuses. A try's timeout is cut
 * to what is left of the job's deadline, and a wait that would end past
 * it ends the job at once.
 *
 * The API key only goes into the Authorization header (its list is wiped
 * when freed); error texts are ours, never the server's words.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agentmsg.h"
#include "curlloop.h"
#include "embed.h"
#include "kbmsg.h"
#include "log.h"
#include "modelca.h"
#include "random.h"
#include "resp.h"
#include "urlpolicy.h"
#include "util.h"
#include "workerd.h"

#define ANSWER_BASE	(64 * 1024)	/* an answer's bound beyond its data */
#define CONNECT_MS_MAX	10000

enum kind { KIND_EMBED, KIND_RERANK };

struct embed_job {
	struct curlloop_xfer x;	/* first: the transfer of its batch */
	TAILQ_ENTRY(embed_job) entry;
	enum kind kind;
	embed_cb cb;
	void *arg;
	/* what to send */
	char *url;
	char *model;
	struct curl_slist *hdrs;
	char **texts;		/* copies: the inputs, or the documents */
	size_t n;
	char *query;		/* rerank */
	size_t top_n;
	struct embed_conf c;	/* numbers with their defaults; no strings */
	int guarded;		/* each address checked as it opens */
	/* progress */
	size_t next;		/* first input of the batch in flight */
	size_t cur;		/* inputs in it */
	unsigned attempt;	/* tries of this batch made */
	unsigned requests;
	uint64_t deadline;	/* loop_now() ms */
	uint64_t retry_after_ms;	/* the last answer's Retry-After */
	int http_status;
	uint64_t tokens;
	/* results */
	float *vec;		/* n x dims */
	uint32_t dims;
	struct rerank_hit *hits;	/* n, filled in batch by batch */
	size_t nhits;
	/* the transfer (x.easy) */
	struct buf body;
	struct buf ans;		/* the answer's bytes */
	size_t ansmax;
	int too_big;
	struct urlpol_guard guard;	/* guarded: no private address; refused */
	struct loop_timer retry;
	struct loop_defer kick;	/* the first batch, outside embed_start */
	int ending;		/* its callback is running */
};

static TAILQ_HEAD(, embed_job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static size_t njobs;
static struct curlloop cloop = CURLLOOP_INIT("embed");
static int ready;		/* embed_init was called */
/*
 * The install's models: embeddings for pages and for questions, the
 * reranker (unset: model NULL).
 */
static struct embed_conf install[3];

static void batch_send(struct embed_job *);

uint64_t
embed_backoff_ms(uint32_t base_ms, uint32_t cap_ms, unsigned attempt,
    uint32_t rnd)
{
	uint64_t w = base_ms > 0 ? base_ms : 1;

	for (unsigned i = 1; i < attempt && w < cap_ms; i++)
		w *= 2;
	if (w > cap_ms)
		w = cap_ms;
	return w - ((w / 2) * (uint64_t)rnd >> 32);
}

/* ------------------------------------------------------- curl <-> loop */

/* ------------------------------------------------------- receiving */

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct embed_job *j = arg;
	size_t n = size * nmemb;

	if (n > j->ansmax - j->ans.len) {
		j->too_big = 1;
		return 0;	/* stops the transfer */
	}
	buf_add(&j->ans, p, n);
	return j->ans.err ? 0 : n;	/* out of memory: stopped */
}

/* Retry-After in seconds (an HTTP date is not read: the backoff applies). */
static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct embed_job *j = arg;
	size_t n = size * nmemb;
	unsigned long long s = 0;
	size_t i = 12;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		for (; i < n && isdigit((unsigned char)p[i]) && s < 86400; i++)
			s = s * 10 + (unsigned)(p[i] - '0');
		j->retry_after_ms = s * 1000;
	}
	return n;
}

/* ------------------------------------------------------- the job's end */

static void
job_free(struct embed_job *j)
{
	struct curl_slist *h;

	loop_timer_stop(&j->retry);
	loop_defer_cancel(&j->kick);
	if (j->x.easy != NULL) {
		curlloop_remove(&cloop, &j->x);
		curl_easy_cleanup(j->x.easy);
	}
	for (h = j->hdrs; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(j->hdrs);
	proto_strv_free(j->texts, j->n);
	free(j->query);
	free(j->url);
	free(j->model);
	free(j->vec);
	free(j->hits);
	buf_free(&j->ans);
	buf_free(&j->body);
	TAILQ_REMOVE(&jobs, j, entry);
	njobs--;
	free(j);
}

static void
job_end(struct embed_job *j, enum embed_err err, const char *why)
{
	struct embed_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	r.error = why != NULL ? why : "";
	r.http_status = j->http_status;
	r.requests = j->requests;
	r.tokens = j->tokens;
	if (err == EMBED_OK && j->kind == KIND_EMBED) {
		r.vec = j->vec;
		r.n = j->n;
		r.dims = j->dims;
	} else if (err == EMBED_OK) {
		embedjson_sort_hits(j->hits, j->nhits);
		r.hits = j->hits;
		r.nhits = j->nhits < j->top_n ? j->nhits : j->top_n;
	}
	if (err != EMBED_OK)
		log_debug("embed: %s (HTTP %d, %u requests)", r.error,
		    r.http_status, r.requests);
	metrics_embed_tokens(j->kind == KIND_RERANK, j->tokens);
	j->ending = 1;
	j->cb(j->arg, &r);
	job_free(j);
}

/* The batch failed in a way worth another try: schedule it, or end. */
static void
batch_retry(struct embed_job *j, enum embed_err err, const char *why)
{
	uint32_t rnd;
	uint64_t wait;

	if (j->attempt > j->c.retries) {
		job_end(j, err, why);
		return;
	}
	proto_random(&rnd, sizeof(rnd));
	wait = embed_backoff_ms(j->c.backoff_ms, j->c.backoff_cap_ms,
	    j->attempt, rnd);
	if (j->retry_after_ms > wait)
		wait = j->retry_after_ms < j->c.backoff_cap_ms ?
		    j->retry_after_ms : j->c.backoff_cap_ms;
	if (loop_now() + wait >= j->deadline) {
		job_end(j, EMBED_ERR_TIMEOUT, "the job's deadline passed "
		    "before the batch succeeded");
		return;
	}
	loop_timer_after(&j->retry, wait);
}

/* A 2xx answer for the batch in flight: taken, then the next batch. */
static void
batch_take(struct embed_job *j)
{
	const char *why = NULL;
	struct rerank_hit *h;
	uint64_t tokens = 0;
	uint32_t dims = j->dims ? j->dims : j->c.dims;
	float *v = NULL;
	size_t nh = 0;

	if (j->kind == KIND_EMBED) {
		if (embedjson_vectors(j->ans.data, j->ans.len, j->cur, dims,
		    &v, &dims, &tokens, &why) < 0)
			goto bad;
		if ((uint64_t)j->n * dims > EMBED_VALUES_MAX) {
			free(v);
			why = "the vectors of all the inputs are more numbers "
			    "than a job may hold";
			goto bad;
		}
		if (j->vec == NULL &&
		    (j->vec = calloc(j->n, (size_t)dims * sizeof(float))) == NULL) {
			free(v);
			job_end(j, EMBED_ERR_MEMORY, "out of memory");
			return;
		}
		j->dims = dims;
		memcpy(j->vec + j->next * dims, v, j->cur * dims * sizeof(float));
		free(v);
	} else {
		h = j->hits + j->nhits;
		if (embedjson_rerank(j->ans.data, j->ans.len, j->cur, h, &nh,
		    &tokens, &why) < 0)
			goto bad;
		for (size_t i = 0; i < nh; i++)
			h[i].index += (uint32_t)j->next;
		j->nhits += nh;
	}
	j->tokens += tokens;
	j->next += j->cur;
	j->attempt = 0;
	if (j->next == j->n) {
		job_end(j, EMBED_OK, "");
		return;
	}
	batch_send(j);
	return;
bad:
	job_end(j, EMBED_ERR_REPLY, why);
}

/* What the finished transfer of j's batch came to. */
static void
batch_done(struct embed_job *j, CURLcode rc)
{
	long code = 0;
	static char msg[96];

	curl_easy_getinfo(j->x.easy, CURLINFO_RESPONSE_CODE, &code);
	curlloop_remove(&cloop, &j->x);
	curl_easy_cleanup(j->x.easy);
	j->x.easy = NULL;
	j->http_status = (int)code;
	/* Refused, and no other of its addresses answered. */
	if (j->guard.refused && (rc != CURLE_OK || code == 0)) {
		job_end(j, EMBED_ERR_REFUSED, "the embedding server is at a "
		    "private, loopback or link-local address, which its "
		    "organisation may not use");
		return;
	}
	if (j->too_big) {
		job_end(j, EMBED_ERR_REPLY, "the answer is bigger than its bound");
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		batch_retry(j, EMBED_ERR_TIMEOUT, "the request timed out");
		return;
	}
	if (rc != CURLE_OK) {
		batch_retry(j, EMBED_ERR_CONNECT, curl_easy_strerror(rc));
		return;
	}
	if (code >= 200 && code <= 299) {
		batch_take(j);
		return;
	}
	snprintf(msg, sizeof(msg), "HTTP %ld from the embedding server", code);
	if (code == 408 || code == 429 || code >= 500)
		batch_retry(j, EMBED_ERR_HTTP, msg);
	else
		job_end(j, EMBED_ERR_HTTP, msg);
}

static void
xfer_done(struct curlloop_xfer *x, CURLcode rc)
{
	batch_done((struct embed_job *)(void *)x, rc);
}

/* ------------------------------------------------------- sending */

/* The body of the batch [next, next + cur). 0, or -1 out of memory. */
static int
batch_body(struct embed_job *j)
{
	struct buf *b = &j->body;
	const char *list = j->kind == KIND_EMBED ? "input" : "documents";

	buf_free(b);
	buf_init(b);
	buf_adds(b, "{\"model\":");
	buf_add_jstr(b, j->model, strlen(j->model));
	if (j->kind == KIND_RERANK) {
		buf_adds(b, ",\"query\":");
		buf_add_jstr(b, j->query, strlen(j->query));
	}
	buf_addf(b, ",\"%s\":[", list);
	for (size_t i = 0; i < j->cur; i++) {
		const char *t = j->texts[j->next + i];

		if (i > 0)
			buf_adds(b, ",");
		buf_add_jstr(b, t, strlen(t));
	}
	if (j->kind == KIND_EMBED) {
		buf_adds(b, "],\"encoding_format\":\"float\"");
		if (j->c.dims > 0)
			buf_addf(b, ",\"dimensions\":%u", j->c.dims);
	} else
		buf_addf(b, "],\"top_n\":%zu,\"return_documents\":false", j->cur);
	buf_adds(b, "}");
	return b->err ? -1 : 0;
}

/*
 * How big the answer of the batch may be: its vectors at 32 bytes a
 * number (dims unknown: the largest), or its documents echoed back twice
 * over, and ANSWER_BASE more.
 */
static size_t
answer_bound(const struct embed_job *j)
{
	size_t b = ANSWER_BASE, dims;

	if (j->kind == KIND_EMBED) {
		dims = j->dims ? j->dims : j->c.dims ? j->c.dims : EMBED_DIMS_MAX;
		return b + j->cur * (dims * 32 + 256);
	}
	for (size_t i = 0; i < j->cur; i++)
		b += 2 * strlen(j->texts[j->next + i]) + 256;
	return b;
}

static CURLcode
easy_setup(struct embed_job *j, CURL *e)
{
	uint64_t left = j->deadline > loop_now() ? j->deadline - loop_now() : 1;
	long timeout = (long)(left < j->c.timeout_ms ? left : j->c.timeout_ms);
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(e, CURLOPT_URL, j->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "parley");
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.data);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)j->body.len);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	rc |= modelca_curl(e);
	/* gzip or deflate when the server offers it; the bound is on what it inflates to. */
	rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout < CONNECT_MS_MAX ? timeout : (long)CONNECT_MS_MAX);
	if (j->guarded)
		rc |= (CURLcode)urlpol_curl_guard(e, &j->guard);
	return rc;
}

/* Starts a try of the batch at j->next (its size set on the first). */
static void
batch_send(struct embed_job *j)
{
	CURL *e;

	if (j->attempt == 0) {
		j->cur = j->n - j->next < j->c.batch ? j->n - j->next : j->c.batch;
		if (batch_body(j) < 0) {
			job_end(j, EMBED_ERR_MEMORY, "out of memory");
			return;
		}
	}
	j->attempt++;
	j->requests++;
	buf_free(&j->ans);
	j->too_big = 0;
	j->guard.refused = 0;
	j->retry_after_ms = 0;
	j->ansmax = answer_bound(j);
	if ((e = curl_easy_init()) == NULL || easy_setup(j, e) != CURLE_OK) {
		curl_easy_cleanup(e);
		job_end(j, EMBED_ERR_MEMORY, "could not set up the request");
		return;
	}
	j->x.easy = e;
	j->x.done = xfer_done;
	if (curlloop_add(&cloop, &j->x) < 0) {
		job_end(j, EMBED_ERR_MEMORY, "could not start the request");
		return;
	}
}

static void
retry_fire(void *arg)
{
	batch_send(arg);
}

static void
kick_fire(void *arg)
{
	batch_send(arg);
}

/* ------------------------------------------------------- starting */

/* conf's numbers with their defaults, checked; 0 or -1. */
static int
conf_numbers(const struct embed_conf *in, struct embed_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->dims = in->dims;
	c->batch = in->batch ? in->batch : EMBED_BATCH_DEFAULT;
	c->timeout_ms = in->timeout_ms ? in->timeout_ms : EMBED_TIMEOUT_DEFAULT;
	c->retries = in->retries ? in->retries : EMBED_RETRIES_DEFAULT;
	c->backoff_ms = in->backoff_ms ? in->backoff_ms : EMBED_BACKOFF_DEFAULT;
	c->backoff_cap_ms = in->backoff_cap_ms ? in->backoff_cap_ms :
	    EMBED_BACKOFF_CAP_DEFAULT;
	c->deadline_ms = in->deadline_ms ? in->deadline_ms :
	    EMBED_DEADLINE_DEFAULT;
	if (c->dims > EMBED_DIMS_MAX || c->batch > EMBED_BATCH_MAX ||
	    c->retries > EMBED_RETRIES_MAX)
		return -1;
	if (c->backoff_cap_ms < c->backoff_ms)
		c->backoff_cap_ms = c->backoff_ms;
	return 0;
}

/* "Content-Type", "Expect:" and the key's Authorization line; NULL on failure. */
static struct curl_slist *
headers_for(const char *key)
{
	struct curl_slist *h = NULL;
	char *auth = NULL;

	if (key != NULL && *key != '\0' && (strpbrk(key, "\r\n") != NULL ||
	    asprintf(&auth, "Authorization: Bearer %s", key) < 0))
		return NULL;
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL || curl_slist_append(h, "Expect:") == NULL ||
	    (auth != NULL && curl_slist_append(h, auth) == NULL)) {
		curl_slist_free_all(h);
		h = NULL;
	}
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	return h;
}

/* Whether text is one the job may send: 1 to EMBED_TEXT_MAX bytes of UTF-8. */
static int
text_ok(const char *t)
{
	size_t len = t != NULL ? strnlen(t, EMBED_TEXT_MAX + 1) : 0;

	return len > 0 && len <= EMBED_TEXT_MAX && proto_utf8_valid(t, len);
}

/* Where the job goes and who may be reached: 0, or -1. */
static int
job_target(struct embed_job *j, const struct embed_conf *c, const char *path)
{
	struct url_target t;
	const char *why;
	size_t len;

	if (c->base_url == NULL || (strncasecmp(c->base_url, "http://", 7) != 0 &&
	    strncasecmp(c->base_url, "https://", 8) != 0))
		return -1;
	len = strlen(c->base_url);
	while (len > 0 && c->base_url[len - 1] == '/')
		len--;
	if (asprintf(&j->url, "%.*s%s", (int)len, c->base_url, path) < 0) {
		j->url = NULL;
		return -1;
	}
	if (c->org == NULL)
		return 0;
	if (urlpol_model_parse(c->base_url, &t, &why) < 0) {
		log_warnx("embed: the %s", why);
		return -1;
	}
	j->guarded = !urlpol_private_ok(c->org, t.host,
	    wsettings.model_allow_private, wsettings.model_allow_hosts);
	return 0;
}

static struct embed_job *
job_new(enum kind kind, const struct embed_conf *c, const char *const *texts,
    size_t n, embed_cb cb, void *arg)
{
	struct embed_job *j;
	uint64_t bytes = 0;
	size_t i;

	if (!ready || c == NULL || cb == NULL || c->model == NULL ||
	    n == 0 || n > EMBED_INPUTS_MAX || texts == NULL ||
	    (kind == KIND_EMBED && (uint64_t)n * c->dims > EMBED_VALUES_MAX))
		return NULL;
	for (i = 0; i < n; i++) {
		if (!text_ok(texts[i]))
			return NULL;
		bytes += strlen(texts[i]);
	}
	if (bytes > EMBED_JOB_BYTES_MAX)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	TAILQ_INSERT_TAIL(&jobs, j, entry);
	njobs++;
	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	loop_timer_init(&j->retry, retry_fire, j);
	loop_defer_init(&j->kick, kick_fire, j);
	buf_init(&j->body);
	if (conf_numbers(c, &j->c) < 0 ||
	    job_target(j, c, kind == KIND_EMBED ? "/embeddings" : "/rerank") < 0 ||
	    (j->model = strdup(c->model)) == NULL ||
	    (j->hdrs = headers_for(c->api_key)) == NULL ||
	    (j->texts = calloc(n, sizeof(*j->texts))) == NULL)
		goto fail;
	j->n = n;
	for (i = 0; i < n; i++)
		if ((j->texts[i] = strdup(texts[i])) == NULL)
			goto fail;
	j->deadline = loop_now() + j->c.deadline_ms;
	return j;
fail:
	job_free(j);
	return NULL;
}

struct embed_job *
embed_start(const struct embed_conf *c, const char *const *texts, size_t n,
    embed_cb cb, void *arg)
{
	struct embed_job *j = job_new(KIND_EMBED, c, texts, n, cb, arg);

	if (j != NULL)
		loop_defer(&j->kick);
	return j;
}

struct embed_job *
rerank_start(const struct embed_conf *c, const char *query,
    const char *const *docs, size_t n, size_t top_n, embed_cb cb, void *arg)
{
	struct embed_job *j;

	if (!text_ok(query) || (j = job_new(KIND_RERANK, c, docs, n, cb,
	    arg)) == NULL)
		return NULL;
	j->top_n = top_n == 0 || top_n > n ? n : top_n;
	if ((j->query = strdup(query)) == NULL ||
	    (j->hits = calloc(n, sizeof(*j->hits))) == NULL) {
		job_free(j);
		return NULL;
	}
	loop_defer(&j->kick);
	return j;
}

uint32_t
rerank_hits_from(const struct st_kb_hits *kb)
{
	uint32_t i;

	for (i = 0; i < kb->n && kb->hits[i].qa; i++)
		;
	return i;
}

struct embed_job *
rerank_hits_start(const struct embed_conf *c, const char *query,
    const struct st_kb_hits *kb, uint32_t from, size_t top_n, embed_cb cb,
    void *arg)
{
	struct embed_job *j = NULL;
	uint32_t n = kb->n > from ? kb->n - from : 0, i;
	char **docs;

	if (c == NULL || n < 2 || (docs = calloc(n, sizeof(*docs))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (asprintf(&docs[i], "%s\n%s", kb->hits[from + i].title,
		    kb->hits[from + i].text) < 0) {
			docs[i] = NULL;
			goto out;
		}
	j = rerank_start(c, query, (const char *const *)docs, n, top_n, cb,
	    arg);
out:
	proto_strv_free(docs, n);
	return j;
}

int
rerank_hits_apply(struct st_kb_hits *kb, uint32_t from,
    const struct embed_result *r, int scores)
{
	uint32_t n = kb->n > from ? kb->n - from : 0, i = 0;
	struct st_kb_hit *page = kb->hits + from, *keep;
	double m;
	size_t k;

	if (n == 0)
		return 0;
	if ((keep = calloc(n, sizeof(*keep))) == NULL)
		return -1;
	for (k = 0; k < r->nhits; k++) {
		if (r->hits[k].index >= n || page[r->hits[k].index].text ==
		    NULL)
			continue;	/* out of range, or named twice */
		keep[i] = page[r->hits[k].index];
		if (scores) {
			m = r->hits[k].score * 1e6;
			keep[i].score = m <= 0 ? 0 : m >= UINT32_MAX ?
			    UINT32_MAX : (uint32_t)m;
		}
		memset(&page[r->hits[k].index], 0, sizeof(*page));
		i++;
	}
	for (k = 0; k < n; k++)
		st_kb_hit_clear(&page[k]);
	memcpy(page, keep, i * sizeof(*keep));
	kb->n = from + i;
	free(keep);
	return 0;
}

void
embed_wipe(void)
{
	struct embed_job *j;
	struct curl_slist *h;

	TAILQ_FOREACH(j, &jobs, entry)
		for (h = j->hdrs; h != NULL; h = h->next)
			explicit_bzero(h->data, strlen(h->data));
}

void
embed_cancel(struct embed_job *j)
{
	if (j == NULL || j->ending)
		return;
	job_free(j);
}

size_t
embed_jobs(void)
{
	return njobs;
}

/* install[] from wsettings: the deployment's own server (no org). */
/* A page's embedding: the defaults (embed_start's), not a question's. */
static void
pages_timeouts(struct embed_conf *c)
{
	c->timeout_ms = c->deadline_ms = c->retries = c->backoff_ms = 0;
}

static void
install_read(void)
{
	const char *base = wsettings.openai_base_url;
	struct embed_conf *c;

	memset(install, 0, sizeof(install));
	c = &install[EMBED_FOR_QUERY];
	c->base_url = base != NULL ? base : "https://api.openai.com/v1";
	c->api_key = wsettings.openai_key;
	c->timeout_ms = EMBED_QUERY_TIMEOUT;
	c->deadline_ms = EMBED_QUERY_DEADLINE;
	c->retries = 1;
	c->backoff_ms = 100;
	if (wsettings.rerank_model != NULL &&
	    wsettings.rerank_model[0] != '\0') {
		install[EMBED_FOR_RERANK] = *c;
		install[EMBED_FOR_RERANK].model = wsettings.rerank_model;
	}
	if (wsettings.embed_model == NULL || wsettings.embed_model[0] == '\0')
		return;
	c->model = wsettings.embed_model;
	c->dims = wsettings.embed_dims;
	install[EMBED_FOR_PAGES] = *c;
	pages_timeouts(&install[EMBED_FOR_PAGES]);
}

int
embed_init(void)
{
	if (ready)
		return 0;
	if (curlloop_init(&cloop, 16) < 0 ||
	    modelca_init(wsettings.model_ca) < 0)
		return -1;
	install_read();
	ready = 1;
	return 0;
}

void
embed_conf_own(struct embed_conf *out, enum embed_for what,
    const char *base_url, const char *api_key, const char *model,
    const char *org)
{
	/* The install's server, key and a question's timeouts. */
	*out = install[EMBED_FOR_QUERY];
	if (what == EMBED_FOR_PAGES)
		pages_timeouts(out);
	out->dims = 0;		/* its own model: its own size */
	out->model = model;
	out->org = NULL;
	/* As a turn reaches the agent's server (turn.c's request). */
	if (base_url != NULL && base_url[0] != '\0') {
		out->base_url = base_url;
		out->org = org != NULL && org[0] != '\0' ? org :
		    ST_WHO_ORG_DEFAULT;
		out->api_key = api_key != NULL ? api_key : "";
	} else if (api_key != NULL && api_key[0] != '\0')
		out->api_key = api_key;
}

const struct embed_conf *
embed_for_agent(const struct st_agent *a, enum embed_for what,
    struct embed_conf *buf, char space[ST_KB_SPACE_HEX + 1])
{
	if (!st_agent_space(a, space))
		return embed_install(what);
	if (!ready)
		return NULL;
	embed_conf_own(buf, what, a->base_url, a->api_key, a->embedding_model,
	    a->org);
	return buf;
}

const struct embed_conf *
embed_install(enum embed_for what)
{
	if (!ready || install[what].model == NULL)
		return NULL;
	return &install[what];
}

void
embed_shutdown(void)
{
	struct embed_job *j;

	while ((j = TAILQ_FIRST(&jobs)) != NULL)
		job_free(j);
	if (!ready)
		return;
	curlloop_shutdown(&cloop);
	memset(install, 0, sizeof(install));
	ready = 0;
}
