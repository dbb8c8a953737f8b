/*
 * The notifier's transfers (issue 23): one webhook delivery attempt is one
 * HTTP POST made with libcurl's multi interface on the notifier's loop
 * (the same wiring as model/upstream.c, with a multi handle of its own):
 * curl names the sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * call it back (CURLMOPT_TIMERFUNCTION); the loop's io and timer
 * callbacks call curl_multi_socket_action.
 *
 * What an attempt sends (notify_body, notify_headers): the JSON body
 * {"type", "timestamp", "data"}, signed per Standard Webhooks with the
 * webhook's secret (sign.c), webhook-id the delivery's id on every
 * attempt.
 *
 * Where it may go: the URL as urlpol_parse reads it (http or https,
 * no user name); no redirect followed (a 3xx is an answer, not a
 * success), http and https only, no proxy from the environment (a proxy
 * would connect elsewhere and resolve the name itself). Server-side
 * request forgery is checked on the address curl is about to connect to
 * (CURLOPT_OPENSOCKETFUNCTION): one urlpol_addr_private() refuses is
 * never connected to, unless PARLEY_WEBHOOK_ALLOW_PRIVATE, so a DNS
 * answer that changed since the webhook was created (rebinding) cannot
 * pass, and the loop never blocks in getaddrinfo (curl resolves in its
 * own thread). Connections are not reused (CURLOPT_FORBID_REUSE): every
 * attempt opens, and checks, its own.
 *
 * Bounds: connecting NOTIFY_CONNECT_MS, the whole attempt
 * NOTIFY_TIMEOUT_MS; the answer's body is discarded, and one past
 * NOTIFY_RESPONSE_MAX bytes ends the transfer (its status counts).
 * How many run at once is the caller's business (notifier.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin.h"
#include "agentmsg.h"
#include "curlloop.h"
#include "exportrows.h"
#include "hookmsg.h"
#include "log.h"
#include "notify.h"
#include "stmsgs.h"
#include "workerd.h"

#define REFUSED_TEXT	"address refused: private, loopback or link-local"

struct dlv {
	struct curlloop_xfer x;		/* first: CURLOPT_PRIVATE is either */
	TAILQ_ENTRY(dlv) entry;
	struct st_hook_job *job;
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	uint64_t started;		/* loop_now() */
	size_t got;			/* answer bytes seen */
	int truncated;			/* the answer passed NOTIFY_RESPONSE_MAX */
	struct urlpol_guard guard;	/* each address held to it; refused */
	int listed;			/* in dlvs, its handle in the multi */
	char err[CURL_ERROR_SIZE];
};

static TAILQ_HEAD(, dlv) dlvs = TAILQ_HEAD_INITIALIZER(dlvs);
static size_t ndlvs;
static notify_done_fn done_cb;
/* The multi handle on the loop, kept until deliver_shutdown. */
static struct curlloop cloop = CURLLOOP_INIT("deliver");


/* ------------------------------------------------------------- pure */

/* "2026-11-23T21:11:27.123Z" for ms since the epoch; 0, or -1. */
static int
iso_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[24];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -1;
	snprintf(out, 32, "%s.%03uZ", s, (unsigned)(ms % 1000));
	return 0;
}

/* The job's data object: the event's admin API JSON; {} for a test. */
static json_t *
job_data(const struct st_hook_job *job)
{
	struct st_event ev;
	const char *sse;
	json_t *data;

	if (job->d.event == ST_HE_TEST)
		return json_object();
	if (st_req_decode(PROTO_ST_EV, job->d.payload, job->d.payload_len,
	    &ev) < 0)
		return NULL;
	data = events_data(&ev, &sse);
	st_req_free(PROTO_ST_EV, &ev);
	return data;
}

int
notify_body(struct buf *out, const struct st_hook_job *job)
{
	const char *name = st_hook_event_name(job->d.event);
	char when[32];
	json_t *o, *data;
	char *text;
	int err = 0;

	if (name == NULL || iso_time(job->d.created_at, when) < 0 ||
	    (data = job_data(job)) == NULL)
		return -1;
	if ((o = json_object()) == NULL) {
		json_decref(data);
		return -1;
	}
	exprow_oset(o, "type", exprow_text(name), &err);
	exprow_oset(o, "timestamp", exprow_text(when), &err);
	exprow_oset(o, "data", data, &err);
	if ((text = exprow_dumps(o, err)) == NULL)
		return -1;
	buf_adds(out, text);
	free(text);
	return out->err ? -1 : 0;
}

struct curl_slist *
notify_headers(const struct st_hook_job *job, uint64_t now_s,
    const void *body, size_t len)
{
	const char *fixed[] = { "Content-Type: application/json",
	    "User-Agent: Parley-Webhooks/1", "Expect:", "Accept:" };
	char sig[NOTIFY_SIG_LEN + 1], old[NOTIFY_SIG_LEN + 1], line[128];
	struct curl_slist *l = NULL, *n;
	size_t i;

	old[0] = '\0';
	if (notify_sign(job->secret, job->d.id, now_s, body, len, sig,
	    sizeof(sig)) < 0)
		return NULL;
	/* A secret rotated lately signs too, after the new one. */
	if (job->old_secret[0] != '\0' && notify_sign(job->old_secret,
	    job->d.id, now_s, body, len, old, sizeof(old)) < 0) {
		explicit_bzero(sig, sizeof(sig));
		return NULL;
	}
	for (i = 0; i < 7; i++) {
		if (i < 4)
			strlcpy(line, fixed[i], sizeof(line));
		else if (i == 4)
			snprintf(line, sizeof(line), "webhook-id: %s",
			    job->d.id);
		else if (i == 5)
			snprintf(line, sizeof(line), "webhook-timestamp: %"
			    PRIu64, now_s);
		else
			snprintf(line, sizeof(line), "webhook-signature: %s%s%s",
			    sig, old[0] != '\0' ? " " : "", old);
		if ((n = curl_slist_append(l, line)) == NULL) {
			curl_slist_free_all(l);
			l = NULL;
			break;
		}
		l = n;
	}
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(old, sizeof(old));
	explicit_bzero(line, sizeof(line));
	return l;
}

/* ------------------------------------------------------- curl <-> loop */

/* The answer's body: counted and dropped; past the bound, the end. */
static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct dlv *d = arg;

	d->got += n;
	if (d->got > NOTIFY_RESPONSE_MAX) {
		d->truncated = 1;
		return 0;
	}
	return n;
}

/* ---------------------------------------------------------- transfers */

static void
dlv_free(struct dlv *d)
{
	if (d->x.easy != NULL) {
		curlloop_remove(&cloop, &d->x);
		curl_easy_cleanup(d->x.easy);
	}
	curl_slist_free_all(d->headers);
	buf_free(&d->body);
	free(d);
}

/* Ends d with its outcome: told to the caller, who owns the job again. */
static void
dlv_end(struct dlv *d, const struct notify_outcome *o)
{
	struct st_hook_job *job = d->job;

	if (d->listed) {
		TAILQ_REMOVE(&dlvs, d, entry);
		ndlvs--;
	} else if (d->x.easy != NULL) {
		curl_easy_cleanup(d->x.easy);	/* never in the multi */
		d->x.easy = NULL;
	}
	done_cb(job, o);	/* o->error may be d->err: d freed after */
	dlv_free(d);
}

/* The outcome of a finished transfer. */
static void
dlv_finish(struct dlv *d, CURLcode rc)
{
	struct notify_outcome o;
	long code = 0;
	char text[64];

	curl_easy_getinfo(d->x.easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && d->truncated))
		code = 0;
	deliver_outcome(&o, code, d->guard.refused, d->err[0] != '\0' ?
	    d->err : curl_easy_strerror(rc), text);
	o.duration_ms = (uint32_t)(loop_clock() - d->started);
	dlv_end(d, &o);
}

void
deliver_outcome(struct notify_outcome *o, long code, int refused,
    const char *err, char *text)
{
	memset(o, 0, sizeof(*o));
	o->code = code > 0 && code < 1000 ? (uint32_t)code : 0;
	/*
	 * A refused address is why only when no answer came: a name with a
	 * private and a public address is answered from the public one.
	 */
	if (o->code == 0)
		o->error = refused ? REFUSED_TEXT : err;
	else if (o->code >= 200 && o->code <= 299)
		o->ok = 1;
	else {
		snprintf(text, 64, "HTTP %u", o->code);
		o->error = text;
	}
}

static void
dlv_xfer_done(struct curlloop_xfer *x, CURLcode rc)
{
	dlv_finish((struct dlv *)(void *)x, rc);
}

int
deliver_xfer_add(struct curlloop_xfer *x)
{
	return curlloop_add(&cloop, x);
}

void
deliver_xfer_remove(struct curlloop_xfer *x)
{
	curlloop_remove(&cloop, x);
}

int
notify_curl_base(CURL *e, const char *url, const char *protocols,
    char *errbuf)
{
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)NOTIFY_CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)NOTIFY_TIMEOUT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
	return bad ? -1 : 0;
}

/* The easy handle's options; 0, or -1. */
static int
dlv_setup(struct dlv *d, const char *url)
{
	CURL *e = d->x.easy;
	int bad = 0;

	bad |= notify_curl_base(e, url, "http,https", d->err) < 0;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= urlpol_curl_io(e, &d->guard, on_write, d) < 0;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)d->body.len) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body.data) !=
	    CURLE_OK;
	return bad ? -1 : 0;
}

/* The body, headers and handle of d; NULL, or the reason it cannot go. */
static const char *
dlv_prepare(struct dlv *d, const struct st_hook_job *job, int *final)
{
	struct url_target t;
	const char *why;

	if (urlpol_parse(job->url, &t, &why) < 0) {
		*final = 1;
		return why;
	}
	if (notify_body(&d->body, job) < 0) {
		*final = 1;
		return "payload: cannot be rendered";
	}
	if ((d->headers = notify_headers(job, proto_wall_ms() / 1000,
	    d->body.data, d->body.len)) == NULL)
		return "out of memory (or a malformed secret)";
	if ((d->x.easy = curl_easy_init()) == NULL || dlv_setup(d, job->url) < 0)
		return "curl: cannot set up the transfer";
	return NULL;
}

int
notify_private_ok(const char *org, const char *host)
{
	return urlpol_private_ok(org, host,
	    wsettings.webhook_allow_private, wsettings.webhook_allow_hosts);
}

/* Whether job's URL may reach a private address (notify_private_ok). */
static int
job_private_ok(const struct st_hook_job *job)
{
	struct url_target t;
	const char *why;

	return notify_private_ok(job->d.org, urlpol_parse(job->url, &t,
	    &why) == 0 ? t.host : NULL);
}

void
deliver_start(struct st_hook_job *job)
{
	struct notify_outcome o;
	struct dlv *d;

	memset(&o, 0, sizeof(o));
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		o.error = "out of memory";
		done_cb(job, &o);
		return;
	}
	d->x.done = dlv_xfer_done;
	d->job = job;
	d->guard.allow_private = job_private_ok(job);
	d->started = loop_clock();
	if ((o.error = dlv_prepare(d, job, &o.final)) == NULL &&
	    curlloop_add(&cloop, &d->x) < 0)
		o.error = "curl: cannot start the transfer";
	if (o.error != NULL) {
		dlv_end(d, &o);
		return;
	}
	d->listed = 1;
	TAILQ_INSERT_TAIL(&dlvs, d, entry);
	ndlvs++;
}

size_t
deliver_inflight(void)
{
	return ndlvs;
}

unsigned int
deliver_hook_inflight(const char *hook)
{
	struct dlv *d;
	unsigned int n = 0;

	TAILQ_FOREACH(d, &dlvs, entry)
		if (strcmp(d->job->d.hook, hook) == 0)
			n++;
	return n;
}

void
deliver_each(void (*fn)(const struct st_hook_job *, void *), void *arg)
{
	struct dlv *d;

	TAILQ_FOREACH(d, &dlvs, entry)
		fn(d->job, arg);
}

int
deliver_holds(const char *id)
{
	struct dlv *d;

	TAILQ_FOREACH(d, &dlvs, entry)
		if (strcmp(d->job->d.id, id) == 0)
			return 1;
	return 0;
}

int
deliver_init(notify_done_fn done)
{
	done_cb = done;
	return curlloop_init(&cloop, 0);
}

void
deliver_shutdown(void)
{
	struct dlv *d;

	while ((d = TAILQ_FIRST(&dlvs)) != NULL) {
		TAILQ_REMOVE(&dlvs, d, entry);
		ndlvs--;
		st_hook_job_free(d->job);
		free(d->job);
		dlv_free(d);
	}
	curlloop_shutdown(&cloop);
}
