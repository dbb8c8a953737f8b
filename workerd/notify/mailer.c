/*
 * The notifier's email (issue 23, item 4): with SMTP_URL set, the
 * notifier also takes the due mails from storaged's mail outbox and
 * sends each with libcurl's SMTP on a mail thread (mailpool.c: libcurl
 * 7.88 blocks while it waits for the answer to the end of DATA and to
 * QUIT, which froze the loop); the outbox, each message and each outcome
 * stay the loop's.
 *
 * - Polling: every POLL_MS (storec_poll_ms: less in a test build) while
 *   fewer than NOTIFY_MAIL_INFLIGHT mails are being sent, ST_MAIL_DUE
 *   (max = the room left); each mail is
 *   leased for PARLEY_NOTIFY_LEASE_MS: one never answered comes back then
 *   (at least once; its Message-ID is the same on every attempt). One
 *   that comes back while it is still being sent (a lease shorter than
 *   the send) is dropped (notify_held): never two sends of it at a time.
 * - Sending: one SMTP transaction per mail, every recipient in RCPT TO
 *   (one refused does not stop the others) and none in a header: To is
 *   the recipient when there is one, else "undisclosed-recipients:;".
 *   Each RCPT TO's answer is read as it comes (curl's debug callback:
 *   libcurl 7.88 goes on without a refused recipient and tells nobody,
 *   so one refused for now, a 4xx, lost the mail). A mail sent to some
 *   is retried for those refused with a 4xx alone; one refused with a
 *   5xx is dropped (logged); a transaction that failed is retried for
 *   all but those (ST_MAIL_RESULT's recipients).
 *   smtp:// must upgrade with STARTTLS (CURLUSESSL_ALL: no password and
 *   no mail in clear), smtps:// is TLS from the start; the server's
 *   certificate is verified (SMTP_CA_FILE, else the system's). Connecting
 *   NOTIFY_CONNECT_MS, the transaction up to its message's end
 *   NOTIFY_TIMEOUT_MS; then the server's answer to it (and the QUIT)
 *   PARLEY_SMTP_DATA_END_MS more, 10 minutes (RFC 5321 4.5.3.2.6: it
 *   delivers as it answers, so one cut short gets the message again at
 *   the retry; mailpool.c).
 * - Still to be sent? A mail's conversation or contact may be deleted
 *   while it is being sent (storaged then drops the mail, leased or
 *   not). When curl has read the whole message and would end it (the
 *   end of DATA, after which the server delivers), the mail thread
 *   waits at its gate (mailpool_gate) while the loop asks storaged
 *   ST_MAIL_CHECK: pending, the message ends and is sent; gone, the
 *   transfer is aborted before its end, so the server delivers nothing,
 *   and no outcome is told (the mail is no longer there). When storaged
 *   cannot say, nothing is sent either: a failed attempt, retried. The
 *   window left is that answer's way to the server, not the whole SMTP
 *   transaction: one round trip more per mail, none on the chat path.
 * - A summary (its held > 0: the events of its kind past the
 *   organisation's bound, storaged's mailbox.c) has no event to read: its
 *   count, its first event's time and its organisation make its message.
 * - Its outcome: ST_MAIL_RESULT ok, or the error and retry_at (backoff.c's
 *   schedule, as a webhook's), 0 when none is left or the mail cannot be
 *   written (its payload); storaged then drops it. A failure is logged
 *   (the mail's id and curl's error; never the password or the text).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "log.h"
#include "mailmsg.h"
#include "notify.h"
#include "random.h"
#include "stmsgs.h"
#include "workerd.h"

#define POLL_MS		250
#define IDLE_POLL_MS	1000

struct msend {
	struct mailpool_job j;		/* first */
	TAILQ_ENTRY(msend) entry;
	struct st_mail *m;
	struct buf msg;
	size_t sent;			/* bytes of msg read by curl */
	struct curl_slist *rcpt;
	struct rcpt_answers ans;	/* the thread's until done */
	char err[CURL_ERROR_SIZE];
	int gated;			/* the thread's: at the gate once */
	/* The loop's: the ST_MAIL_CHECK asked at the gate, and its answer. */
	struct storec_req *check;
	int gone;			/* the mail is gone: not sent */
	const char *why;		/* storaged could not say */
};

static TAILQ_HEAD(, msend) sends = TAILQ_HEAD_INITIALIZER(sends);
static size_t nsending, results;
static int running;
static void (*on_idle)(void);
static struct loop_timer poll_timer;
static struct storec_req *due_req;
static char default_url[64];

/* ---------------------------------------------------------- outcomes */

static void
result_done(const struct storec_result *r, void *arg)
{
	results--;
	if (r->status != STOREC_OK)
		log_warnx("ST_MAIL_RESULT failed: %s", storec_why(r));
	on_idle();
}

/*
 * m's outcome to storaged; m is freed. error NULL: sent. Retried, for the
 * nkeep recipients of keep (0: all of them).
 */
static void
mail_answer_for(struct st_mail *m, const char *error, int final,
    struct st_str *keep, uint32_t nkeep)
{
	struct st_mail_result_req q;
	unsigned int attempts = m->attempts + 1;
	uint32_t rnd;

	memset(&q, 0, sizeof(q));
	q.id = m->id;
	q.ok = error == NULL;
	q.error = error != NULL ? error : "";
	q.rcpt = keep;
	q.nrcpt = nkeep;
	if (error != NULL && !final && !notify_backoff_done(attempts)) {
		proto_random(&rnd, sizeof(rnd));
		q.retry_at = proto_wall_ms() + notify_backoff_from(
		    wsettings.notify_retry_ms, attempts, rnd);
	}
	if (error == NULL)
		log_info("mail %s (%s) sent", m->id,
		    st_mail_kind_name(m->kind) ? st_mail_kind_name(m->kind) :
		    "?");
	else
		log_info("mail %s (%s), attempt %u failed: %s%s", m->id,
		    st_mail_kind_name(m->kind) ? st_mail_kind_name(m->kind) :
		    "?", attempts, error, q.retry_at == 0 ?
		    "; no retry left" : "");
	/* Nobody waits for its answer: it may share a disk flush. */
	if (storec_ask_flags(NULL, PROTO_ST_MAIL_RESULT, PROTO_F_SHARE, &q,
	    result_done, NULL, NULL) == 0)
		results++;
	st_mail_free(m);
	free(m);
}

/* m's outcome to storaged, for all its recipients; m is freed. */
static void
mail_answer(struct st_mail *m, const char *error, int final)
{
	mail_answer_for(m, error, final, NULL, 0);
}

/* ----------------------------------------------------------- sending */

static void
msend_free(struct msend *s)
{
	if (s->j.easy != NULL)
		curl_easy_cleanup(s->j.easy);	/* never performed */
	curl_slist_free_all(s->rcpt);
	buf_free(&s->msg);
	free(s);
}

static void poll_soon(void);

/*
 * s's mail's outcome by each recipient's answer, sent (rc, curl's) or
 * not: the recipients to try again in keep (*nkeep; those refused with a
 * 4xx, and all but those refused with a 5xx when nothing was sent), the
 * 5xx ones logged. NULL when none is left to try, else why.
 */
static const char *
rcpt_outcome(struct msend *s, CURLcode rc, struct st_str *keep,
    uint32_t *nkeep, char *why, size_t whylen)
{
	const struct st_mail *m = s->m;
	uint32_t i, n = 0, temp = 0;

	for (i = 0; i < m->nrcpt && i < ST_MAIL_RCPT_MAX; i++) {
		if (s->ans.code[i] >= 500) {
			log_warnx("mail %s (%s): recipient %s refused for good "
			    "(%u): not sent to them", m->id,
			    st_mail_kind_name(m->kind) ?
			    st_mail_kind_name(m->kind) : "?", m->rcpt[i],
			    s->ans.code[i]);
			continue;
		}
		temp += s->ans.code[i] >= 400;
		if (rc != CURLE_OK || s->ans.code[i] >= 400)
			keep[n++].s = m->rcpt[i];
	}
	*nkeep = n;
	if (rc == CURLE_OK && temp == 0)
		return NULL;
	if (rc != CURLE_OK)
		return s->why != NULL ? s->why : s->err[0] != '\0' ? s->err :
		    curl_easy_strerror(rc);
	snprintf(why, whylen, "sent to some, %u recipient%s refused for now: "
	    "%s", temp, temp == 1 ? "" : "s", s->ans.refusal);
	return why;
}

/* s's outcome (curl's rc) to storaged; s's mail is freed. */
static void
msend_answer(struct msend *s, CURLcode rc)
{
	struct st_str keep[ST_MAIL_RCPT_MAX];
	char why[256];
	const char *error;
	uint32_t nkeep;

	error = rcpt_outcome(s, rc, keep, &nkeep, why, sizeof(why));
	/* Left for none: every recipient refused it for good. */
	mail_answer_for(s->m, error, error != NULL && nkeep == 0, keep, nkeep);
	s->m = NULL;
}

/* The thread is done with s (mailpool.c): its outcome, on the loop. */
static void
msend_done(struct mailpool_job *j)
{
	struct msend *s = (struct msend *)(void *)j;
	struct st_mail *m = s->m;
	CURLcode rc = j->rc;

	TAILQ_REMOVE(&sends, s, entry);
	nsending--;
	storec_cancel(s->check);	/* the thread stopped waiting */
	s->check = NULL;
	if (s->gone && rc != CURLE_OK) {
		/* storaged dropped it: nothing to answer. */
		log_info("mail %s (%s): its conversation or contact was "
		    "deleted as it was sent: not sent", m->id,
		    st_mail_kind_name(m->kind) ? st_mail_kind_name(m->kind) :
		    "?");
		st_mail_free(m);
		free(m);
		s->m = NULL;
	} else
		msend_answer(s, rc);
	msend_free(s);
	poll_soon();
	on_idle();
}

/* storaged's answer to the gate's ST_MAIL_CHECK (on the loop). */
static void
check_done(const struct storec_result *r, void *arg)
{
	struct msend *s = arg;

	if (r->status == STOREC_ERROR && r->code == PROTO_E_NOT_FOUND)
		s->gone = 1;
	else if (r->status != STOREC_OK)
		s->why = "storaged cannot tell whether the mail is still to "
		    "be sent";
	mailpool_gate_answer(&s->j, r->status == STOREC_OK);
}

/*
 * s's thread waits at its gate, its message read whole (on the loop):
 * is the mail still to be sent?
 */
static void
msend_gate(struct mailpool_job *j)
{
	struct msend *s = (struct msend *)(void *)j;
	struct st_id_req q = { s->m->id };

	if (storec_ask(NULL, PROTO_ST_MAIL_CHECK, &q, check_done, s,
	    &s->check) < 0) {
		s->why = "storaged cannot tell whether the mail is still to "
		    "be sent";
		mailpool_gate_answer(j, 0);
	}
}

/*
 * curl reads the message to send (on the mail thread). Before it may
 * end the message (a read of 0), the gate: a mail gone meanwhile aborts
 * the transfer, its message unended.
 */
static size_t
msg_read(char *p, size_t size, size_t n, void *arg)
{
	struct msend *s = arg;
	size_t left = s->msg.len - s->sent, want = size * n;

	if (left == 0 && !s->gated) {
		s->gated = 1;
		if (!mailpool_gate(&s->j))
			return CURL_READFUNC_ABORT;
	}
	if (want > left)
		want = left;
	memcpy(p, s->msg.data + s->sent, want);
	s->sent += want;
	if (want == 0)
		mailpool_ended(&s->j);	/* the server's answer: minutes */
	return want;
}

void
rcpt_answers_read(struct rcpt_answers *a, int out, const char *data,
    size_t size)
{
	unsigned int code;
	size_t n;

	if (out) {
		if (size >= 5 && strncasecmp(data, "RCPT ", 5) == 0)
			a->asking = a->nasked++ < ST_MAIL_RCPT_MAX;
		return;
	}
	if (!a->asking || size < 3 || (size > 3 && data[3] == '-'))
		return;
	for (n = 0, code = 0; n < 3; n++) {
		if (data[n] < '0' || data[n] > '9')
			return;
		code = code * 10 + (unsigned int)(data[n] - '0');
	}
	if (code < 100 || code > 599)	/* not a reply (RFC 5321 4.2) */
		return;
	a->asking = 0;
	a->code[a->nasked - 1] = (uint16_t)code;
	if (code < 400)
		return;
	for (n = 0; n < size && n + 1 < sizeof(a->refusal) &&
	    data[n] != '\r' && data[n] != '\n'; n++)
		a->refusal[n] = data[n];
	a->refusal[n] = '\0';
}

/* curl's SMTP conversation, on the mail thread (rcpt_answers_read). */
static int
rcpt_debug(CURL *e, curl_infotype type, char *data, size_t size, void *arg)
{
	struct msend *s = arg;

	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_HEADER_IN)
		rcpt_answers_read(&s->ans, type == CURLINFO_HEADER_OUT, data,
		    size);
	return 0;
}

/* The easy handle of s: 0, or -1. */
static int
msend_setup(struct msend *s)
{
	CURL *e = s->j.easy;
	char from[ST_EMAIL_MAX + 3];
	int bad = 0;

	snprintf(from, sizeof(from), "<%s>", wsettings.smtp_from);
	bad |= notify_curl_base(e, wsettings.smtp_url, "smtp,smtps", s->err) <
	    0;
	bad |= curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) !=
	    CURLE_OK;
	/* The answer to the end of DATA may take end_ms (mailpool.c). */
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    mailpool_timeout_ms() + (long)s->j.end_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    (long)(s->j.end_ms + 999) / 1000) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (wsettings.smtp_ca_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO,
		    wsettings.smtp_ca_file) != CURLE_OK;
	if (wsettings.smtp_user != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_USERNAME,
		    wsettings.smtp_user) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_PASSWORD,
		    wsettings.smtp_password) != CURLE_OK;
	}
	bad |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, from) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt) != CURLE_OK;
#if defined(CURLOPT_MAIL_RCPT_ALLOWFAILS)
	bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L) !=
	    CURLE_OK;
#elif LIBCURL_VERSION_NUM >= 0x074500
	bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L) !=
	    CURLE_OK;
#endif
	bad |= curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, rcpt_debug) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_DEBUGDATA, s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_VERBOSE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION, msg_read) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_READDATA, s) != CURLE_OK;
	return bad ? -1 : 0;
}

/* m's message and recipients in s: NULL, or why it cannot be sent. */
static const char *
msend_prepare(struct msend *s, const struct st_mail *m, int *final)
{
	struct notify_mail_in in;
	struct st_event ev;
	struct curl_slist *l;
	char rcpt[ST_EMAIL_MAX + 3];
	uint32_t i;
	int rc;

	memset(&ev, 0, sizeof(ev));
	/* A summary (held events) has no event. */
	if (m->held == 0 && st_req_decode(PROTO_ST_EV, m->payload,
	    m->payload_len, &ev) < 0) {
		*final = 1;
		return "payload: cannot be read";
	}
	memset(&in, 0, sizeof(in));
	in.id = m->id;
	in.kind = m->kind;
	in.ev = m->held == 0 ? &ev : NULL;
	in.held = m->held;
	in.since = m->created_at;
	in.org = m->org;
	in.from = wsettings.smtp_from;
	in.to = m->nrcpt == 1 ? m->rcpt[0] : NULL;
	in.public_url = wsettings.public_url != NULL ? wsettings.public_url :
	    default_url;
	in.now_ms = proto_wall_ms();
	rc = notify_mail_compose(&s->msg, &in);
	if (m->held == 0)
		st_req_free(PROTO_ST_EV, &ev);
	if (rc < 0) {
		*final = 1;
		return "the message cannot be written";
	}
	for (i = 0; i < m->nrcpt; i++) {
		snprintf(rcpt, sizeof(rcpt), "<%s>", m->rcpt[i]);
		if ((l = curl_slist_append(s->rcpt, rcpt)) == NULL)
			return "out of memory";
		s->rcpt = l;
	}
	if (m->nrcpt == 0) {
		*final = 1;
		return "no recipient";
	}
	if ((s->j.easy = curl_easy_init()) == NULL || msend_setup(s) < 0)
		return "curl: cannot set up the transfer";
	return NULL;
}

/* Sends m (malloc'd, ours now): its outcome comes to storaged. */
static void
mail_send(struct st_mail *m)
{
	const char *why;
	struct msend *s;
	int final = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		mail_answer(m, "out of memory", 0);
		return;
	}
	buf_init(&s->msg);
	s->j.done = msend_done;
	s->j.gate = msend_gate;
	s->j.end_ms = wsettings.smtp_data_end_ms;
	if ((why = msend_prepare(s, m, &final)) == NULL &&
	    mailpool_submit(&s->j) < 0)
		why = "curl: cannot start the transfer";
	if (why != NULL) {
		mail_answer(m, why, final);
		msend_free(s);
		return;
	}
	s->m = m;
	TAILQ_INSERT_TAIL(&sends, s, entry);
	nsending++;
}

/* ----------------------------------------------------------- polling */

static void
poll_soon(void)
{
	if (running && due_req == NULL)
		loop_timer_after(&poll_timer, 0);
}

static void
due_done(const struct storec_result *r, void *arg)
{
	struct st_mails ms;
	struct st_mail *m;
	uint32_t i, asked = (uint32_t)(uintptr_t)arg;

	if (r->status != STOREC_OK || storec_decode(r, PROTO_ST_MAIL_DUE,
	    &ms) < 0) {
		if (r->status == STOREC_ERROR)
			log_warnx("ST_MAIL_DUE failed: %s", r->message);
		if (running)
			loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
		return;
	}
	for (i = 0; i < ms.n; i++) {
		if (notify_held(ms.mails[i].id)) {
			log_debug("mail %s is being sent already",
			    ms.mails[i].id);
			continue;	/* freed with the reply */
		}
		if ((m = malloc(sizeof(*m))) == NULL) {
			log_warn("mailer: mail");
			break;	/* the rest come back with their lease */
		}
		*m = ms.mails[i];
		memset(&ms.mails[i], 0, sizeof(ms.mails[i]));
		mail_send(m);
	}
	st_rep_free(PROTO_ST_MAIL_DUE, &ms);
	if (running)
		loop_timer_after(&poll_timer, storec_poll_ms(ms.n == 0 &&
		    asked > 0 ? IDLE_POLL_MS : POLL_MS));
}

static void
poll_due(void *arg)
{
	struct st_mail_due_req q;

	if (!running || due_req != NULL)
		return;
	if (!storec_connected() || nsending >= NOTIFY_MAIL_INFLIGHT) {
		loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
		return;
	}
	q.max = (uint32_t)(NOTIFY_MAIL_INFLIGHT - nsending);
	q.lease_ms = wsettings.notify_lease_ms;
	if (storec_ask(NULL, PROTO_ST_MAIL_DUE, &q, due_done,
	    (void *)(uintptr_t)q.max, &due_req) < 0)
		loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
}

void
mailer_start(void (*idle)(void))
{
	on_idle = idle;
	loop_timer_init(&poll_timer, poll_due, NULL);
	if (wsettings.smtp_url == NULL)
		return;
	/* masterd sends one (http://localhost:PORT unless set): a fallback. */
	snprintf(default_url, sizeof(default_url), "http://localhost:%u",
	    wsettings.port);
	if (mailpool_start() < 0)
		fatalx("notifier: cannot start the mail threads");
	running = 1;
	log_info("email on: %s, from %s", wsettings.smtp_url,
	    wsettings.smtp_from);
	loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
}

void
mailer_quit(void)
{
	running = 0;
	loop_timer_stop(&poll_timer);
	storec_cancel(due_req);
	due_req = NULL;
}

size_t
mailer_busy(void)
{
	return nsending + results;
}

int
mailer_holds(const char *id)
{
	struct msend *s;

	TAILQ_FOREACH(s, &sends, entry)
		if (strcmp(s->m->id, id) == 0)
			return 1;
	return 0;
}

void
mailer_shutdown(void)
{
	struct msend *s;

	mailer_quit();
	mailpool_shutdown();
	while ((s = TAILQ_FIRST(&sends)) != NULL) {
		TAILQ_REMOVE(&sends, s, entry);
		nsending--;
		storec_cancel(s->check);
		if (s->m != NULL) {
			st_mail_free(s->m);
			free(s->m);
		}
		msend_free(s);
	}
}
