/*
 * The notifier's building blocks (issue 23): webhooks per organisation,
 * delivered by a worker with libcurl. Pure or nearly so; the delivery
 * loop and the admin API call them.
 *
 *	sign.c		Standard Webhooks signatures: "whsec_" secrets, "v1,"
 *			HMAC-SHA256 of "<msg_id>.<timestamp>.<payload>"
 *	(../net/urlpolicy.c: which URLs and addresses a webhook, as any
 *			outgoing URL a tenant sets, may reach)
 *	backoff.c	the retry schedule: exponential, jittered, > 24 hours
 *	deliver.c	one attempt: the signed POST, libcurl on the loop, the
 *			address checked as curl connects
 *	mailfmt.c, mailer.c	email: the message, and sending it
 *	mailpool.c	the mail threads: each send off the loop (libcurl's
 *			SMTP blocks in its end of DATA and its QUIT)
 *	notifier.c	the notifier role: its process, its loop
 */
#ifndef PARLEY_NOTIFY_H
#define PARLEY_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <curl/curl.h>

#include "curlloop.h"
#include "mailmsg.h"

struct settings;

/* ---- signing (sign.c), https://www.standardwebhooks.com ---- */
#define NOTIFY_SECRET_PREFIX	"whsec_"
#define NOTIFY_SECRET_BYTES	32		/* the key notify_secret_new makes */
#define NOTIFY_SECRET_LEN	(6 + 44)	/* "whsec_" + base64, padded */
#define NOTIFY_KEY_MIN		24		/* a key's bytes, as others make them */
#define NOTIFY_KEY_MAX		64
#define NOTIFY_SIG_LEN		(3 + 44)	/* "v1," + base64 of HMAC-SHA256 */

/* A new secret: "whsec_" and the base64 of 32 random bytes. 0, or -1. */
int notify_secret_new(char out[NOTIFY_SECRET_LEN + 1]);
/*
 * The HMAC key of a secret: "whsec_" (optional, as in the reference
 * libraries) then standard base64 with its padding, in its one canonical
 * spelling, of 24 to 64 bytes. 0 with the bytes in key[0..*keylen), or -1
 * when malformed (key then holds nothing).
 */
int notify_secret_key(const char *secret, uint8_t key[NOTIFY_KEY_MAX],
    size_t *keylen);
/*
 * The webhook-signature header's value for one message: "v1," and the
 * base64 of HMAC-SHA256(key of secret, "<msg_id>.<timestamp_s>.<payload>"),
 * NUL-ended in out (NOTIFY_SIG_LEN + 1 bytes are enough). 0, or -1 for a
 * malformed secret, a NULL msg_id or out too small (out then "" if outsz).
 */
int notify_sign(const char *secret, const char *msg_id, uint64_t timestamp_s,
    const void *payload, size_t len, char *out, size_t outsz);

#include "urlpolicy.h"

/*
 * t->host resolved off the loop (lookup.c, on lib/dnslookup.c's thread),
 * the verdict urlpol_addrs_check's on every address: fn(arg, NULL) when
 * the host may be reached, else fn(arg, why). fn is called on the loop,
 * never before this returns. NULL when it cannot start
 * (NOTIFY_LOOKUPS_MAX in flight in this process, or NOTIFY_LOOKUPS_ORG
 * of them org's, who asks's; no thread; out of memory): the caller
 * answers 503.
 */
#define NOTIFY_LOOKUPS_MAX	16
#define NOTIFY_LOOKUPS_ORG	4
typedef void (*notify_lookup_fn)(void *arg, const char *why);
struct notify_lookup;
struct notify_lookup *notify_lookup_start(const struct url_target *t,
    int allow_private, const char *org, notify_lookup_fn fn, void *arg);
/* Its caller is gone: fn is never called; it is freed when it ends. */
void notify_lookup_cancel(struct notify_lookup *);


/* ---- retries (backoff.c) ---- */
/*
 * Attempts of one delivery, the first included: 1 + 37 retries. Retry n
 * waits min(5 s * 2^(n-1), 1 h) less up to 1/8 of it (jitter): retries
 * 1-10 wait 5 s to 2560 s, retries 11-37 an hour each; in all between
 * 89,526 s (24.9 h) and 102,315 s (28.4 h) before the delivery fails.
 */
#define NOTIFY_ATTEMPTS_MAX	38
#define NOTIFY_BACKOFF_BASE_MS	5000ULL
#define NOTIFY_BACKOFF_CAP_MS	3600000ULL

/*
 * Milliseconds to wait before retry number attempt (1: after the first
 * failure; 0 is taken as 1, past the last as the last), rnd a random
 * 32-bit value that picks the jitter. In (7/8 w, w] for w the unjittered wait.
 */
uint64_t notify_backoff_ms(unsigned attempt, uint32_t rnd);
/*
 * notify_backoff_ms with base_ms (PARLEY_NOTIFY_RETRY_MS; 0 taken as 1)
 * in place of NOTIFY_BACKOFF_BASE_MS: min(base * 2^(n-1), 1 h), jittered.
 */
uint64_t notify_backoff_from(uint64_t base_ms, unsigned attempt,
    uint32_t rnd);
/* 1 when a delivery that has made attempts attempts has no retry left, else 0. */
int notify_backoff_done(unsigned attempts);

/* ---- delivering (deliver.c) ---- */
#define NOTIFY_CONNECT_MS	5000	/* connecting, TLS aside */
#define NOTIFY_TIMEOUT_MS	15000	/* one attempt, all of it */
#define NOTIFY_RESPONSE_MAX	4096	/* answer bytes read (then dropped) */

struct buf;
struct st_hook_job;

/* How an attempt went. */
struct notify_outcome {
	int ok;			/* an HTTP 2xx */
	int final;		/* it can never go (its URL, its payload): no retry */
	uint32_t code;		/* the HTTP status; 0 when none came */
	const char *error;	/* NULL when ok; curl's text, or "HTTP <code>" */
	uint32_t duration_ms;
};
/*
 * An attempt's outcome into o (its duration left as it is): code the HTTP
 * status (0 when none came), refused 1 when the address check refused an
 * address on the way, err curl's words for a transfer with no answer,
 * text room for "HTTP <code>" (64 bytes). An answer is the receiver's
 * whatever else its name resolved to.
 */
void deliver_outcome(struct notify_outcome *o, long code, int refused,
    const char *err, char *text);
/* Told once per deliver_start; owns job (st_hook_job_free, free). */
typedef void (*notify_done_fn)(struct st_hook_job *job,
    const struct notify_outcome *);

/*
 * The body of a job appended to out: {"type": its event's name,
 * "timestamp": the delivery's created_at as ISO 8601 UTC with ms,
 * "data": the event as the admin API's JSON (events_data)}, the same on
 * every attempt; a webhook.test's data is {}. 0, or -1 (a payload that
 * does not decode, an unknown event, out of memory).
 */
int notify_body(struct buf *out, const struct st_hook_job *job);
/*
 * The request headers of one attempt: content-type application/json,
 * user-agent Parley-Webhooks/1, webhook-id the delivery's id,
 * webhook-timestamp now_s, webhook-signature notify_sign's over body
 * with the job's secret, then with its previous one when it has one (a
 * rotation's overlap: "v1,<new> v1,<old>"), and empty Expect and Accept. A list for curl (curl_slist_free_all),
 * or NULL (out of memory, a malformed secret).
 */
struct curl_slist *notify_headers(const struct st_hook_job *job,
    uint64_t now_s, const void *body, size_t len);
/* Sets up the multi handle on the loop; done gets every outcome. 0, or -1. */
int deliver_init(notify_done_fn done);
/*
 * Whether org's webhook to host (NULL: unknown) may reach private,
 * loopback or link-local addresses: the default organisation's when
 * PARLEY_WEBHOOK_ALLOW_PRIVATE is on (as the actions' and the
 * knowledge's settings: another organisation's admin on such an install
 * probes and posts to none of the operator's own network), any's to a
 * host PARLEY_WEBHOOK_ALLOW_HOSTS names.
 */
int notify_private_ok(const char *org, const char *host);
/*
 * Starts one attempt of job (malloc'd, now deliver.c's until done gets
 * it back, which may be before this returns when it cannot start). A
 * private, loopback or link-local address is refused as curl connects,
 * outcome error "address refused: ...", unless notify_private_ok of the
 * job's organisation.
 */
void deliver_start(struct st_hook_job *job);
/* Attempts in flight: in all, and to one webhook (its id). */
size_t deliver_inflight(void);
unsigned int deliver_hook_inflight(const char *hook);
/* fn(job, arg) for each attempt in flight. */
void deliver_each(void (*fn)(const struct st_hook_job *, void *), void *arg);
/* 1 when an attempt of the delivery id is in flight, else 0. */
int deliver_holds(const char *id);
/* Drops every attempt (no outcome told) and the multi handle. */
void deliver_shutdown(void);
/*
 * Another kind of transfer (the fetcher's) on deliver.c's
 * multi handle (net/curlloop.h: curlloop_add's and curlloop_remove's
 * contract). deliver_xfer_add: 0, or -1 when it cannot start (done is
 * not called).
 */
int deliver_xfer_add(struct curlloop_xfer *);
/*
 * What every notifier transfer has (a webhook's, a mail's): url, only
 * protocols ("http,https"), no proxy from the environment, no signals,
 * no connection reused, NOTIFY_CONNECT_MS and NOTIFY_TIMEOUT_MS, curl's
 * error text into errbuf (CURL_ERROR_SIZE). 0, or -1.
 */
int notify_curl_base(CURL *e, const char *url, const char *protocols,
    char *errbuf);
/* Takes x out of the multi (one not ended: it is dropped, no done). */
void deliver_xfer_remove(struct curlloop_xfer *);

/* ---- email (mailfmt.c: the message; mailer.c: sending) ---- */
struct st_event;
struct st_mail;

/* What notify_mail_compose needs of one mail. */
struct notify_mail_in {
	const char *id;			/* the mail's id: its Message-ID */
	uint32_t kind;			/* ST_MAIL_* */
	const struct st_event *ev;	/* the event (its conversation) */
	const char *from;		/* SMTP_FROM: an email */
	const char *to;			/* the To header; NULL: undisclosed */
	const char *public_url;		/* the dashboard's base */
	uint64_t now_ms;		/* Date */
	/*
	 * A summary (ev NULL): held more events of kind, the first at since,
	 * of organisation org ("" none known); 0: ev's own mail.
	 */
	uint32_t held;
	uint64_t since;
	const char *org;
};

/*
 * The message of one mail into out (CRLF lines, ready for DATA): From,
 * To, Subject (one line whatever the visitor wrote, RFC 2047 when not
 * ASCII), Date, Message-ID (<id@from's domain>, the same on each
 * attempt), MIME-Version, then multipart/alternative text/plain and
 * text/html, both UTF-8 in base64, with the conversation's dashboard
 * link; the HTML escapes all it shows. A summary ("12 more new contacts
 * since ...") names no visitor and links the dashboard's list of its
 * kind (contacts, else conversations). 0, or -1 (from without '@', a
 * link too long, out of memory).
 */
int notify_mail_compose(struct buf *out, const struct notify_mail_in *in);
/*
 * "<base>/dashboard/?organization_id=<org>#/conversations/<conv>" (base's
 * trailing '/' gone): the dashboard opens it in that organisation, not in
 * the one its switcher chose last; org "": "<base>/dashboard#/...".
 */
int notify_mail_link(const char *base, const char *org, const char *conv,
    char *out, size_t outsz);
/* s with & < > " ' escaped, and a newline as <br>. */
void notify_html_escape(struct buf *out, const char *s);
/* "Subject: s\r\n", as RFC 2047 encoded words when s is not ASCII or holds "=?". */
void notify_subject(struct buf *out, const char *s);

#define NOTIFY_MAIL_INFLIGHT	4	/* mails being sent at once */

/*
 * The mail threads (mailpool.c): one job is one curl_easy_perform of its
 * easy handle on a thread of the pool, never on the loop. The thread
 * owns the job from submit to done: it sets started and rc, and cleans
 * easy up (NULL then); done is called on the loop. A job may stop at a
 * gate (mailpool_gate, from one of its curl callbacks) until the loop
 * lets it on: gate is called on the loop, and its owner answers with
 * mailpool_gate_answer.
 */
#define MAILPOOL_THREADS	NOTIFY_MAIL_INFLIGHT
struct mailpool_job {
	TAILQ_ENTRY(mailpool_job) entry;	/* the pool's queue */
	CURL *easy;			/* set up by the owner */
	void (*done)(struct mailpool_job *);
	void (*gate)(struct mailpool_job *);	/* NULL: it has none */
	CURLcode rc;			/* curl_easy_perform's */
	uint32_t end_ms;		/* the owner's: the wait after the end */
	long long started;		/* proto_mono_ms() as it began */
	long long until;		/* the thread's: its end at the latest */
	int gate_state;			/* under the pool's mutex */
};
/*
 * The pipe the loop watches and the threads (after deliver_init: curl's
 * global state is set up). 0, or -1 (nothing started).
 */
int mailpool_start(void);
/*
 * j queued for a thread, its progress callback set (it ends the transfer
 * past NOTIFY_TIMEOUT_MS, QUIT included, or end_ms after mailpool_ended,
 * or at mailpool_shutdown). 0, or
 * -1 (not started, MAILPOOL_THREADS jobs already): done is not called.
 */
int mailpool_submit(struct mailpool_job *j);
/*
 * A mail's bound before its end: NOTIFY_TIMEOUT_MS, or less in the test
 * build (PARLEY_TEST_NOTIFY_TIMEOUT_MS: the tests of a server slower than
 * it at a message's end, which waited out a hold past 15 s).
 */
long mailpool_timeout_ms(void);
/*
 * The transfers under way ended (within about a second), the threads
 * joined, the pipe closed. The jobs not yet done are their owners'
 * again, done never called (easy NULL for those performed).
 */
void mailpool_shutdown(void);
/*
 * On j's thread (in a curl callback of j): j->gate(j) called on the loop,
 * and its answer waited for, until NOTIFY_TIMEOUT_MS after j started or
 * mailpool_shutdown. 1: go on; 0: do not (the answer, the time is up,
 * the pool stops). At most once per job.
 */
int mailpool_gate(struct mailpool_job *j);
/*
 * On j's thread (in a curl callback of j): what j sends is all sent; its
 * transfer may now last j->end_ms more, past NOTIFY_TIMEOUT_MS (the
 * server's answer to a message's end, RFC 5321 4.5.3.2.6: 10 minutes,
 * and the QUIT after it), still ended at mailpool_shutdown.
 */
void mailpool_ended(struct mailpool_job *j);
/*
 * On the loop: the answer to j's gate (go 1: on). Nothing when j's
 * thread no longer waits.
 */
void mailpool_gate_answer(struct mailpool_job *j, int go);

/*
 * The mail side of the notifier (mailer.c): with SMTP_URL set it polls
 * storaged's mail outbox (ST_MAIL_DUE), sends each mail with libcurl on
 * a mail thread (STARTTLS required on smtp://, the certificate verified),
 * and answers ST_MAIL_RESULT (a retry by backoff.c's schedule) from the
 * loop. mailer_start: after deliver_init (fatal when the mail threads
 * cannot start); idle is called each time a send or an answer ends.
 * mailer_quit: no more polling. mailer_busy: sends and answers not yet
 * ended. mailer_shutdown: the sends ended and dropped, the threads joined.
 */
void mailer_start(void (*idle)(void));
void mailer_quit(void);
size_t mailer_busy(void);
/* 1 when the mail id is being sent (taken, its outcome not yet told). */
int mailer_holds(const char *id);
void mailer_shutdown(void);

/*
 * Each RCPT TO's answer, read from curl's SMTP conversation (mailer.c;
 * libcurl 7.88 goes on past a refused recipient and tells nobody).
 */
struct rcpt_answers {
	uint16_t code[ST_MAIL_RCPT_MAX];	/* each one's code, 0: none */
	uint32_t nasked;		/* RCPT TOs sent */
	int asking;			/* the last one's answer awaited */
	char refusal[128];		/* the last 4xx or 5xx line */
};
/*
 * One line of the conversation into a (zeroed first): out, a line curl
 * sent, else one the server sent (size bytes, not NUL-ended). A reply's
 * last line gives the code of the RCPT TO it answers, in their order.
 */
void rcpt_answers_read(struct rcpt_answers *a, int out, const char *data,
    size_t size);

/*
 * The assistant's resolutions (resolver.c): resolver_start polls
 * storaged's ST_CONV_RESOLVE_DUE on the loop; resolver_quit stops it.
 */
void resolver_start(void);
void resolver_quit(void);

/* ---- the role (notifier.c) ---- */

/* The notifier's comm, title and log name (a worker's: WORKERD_NAME). */
#define NOTIFIER_NAME		"parley-notify"

/*
 * The notifier role (`parley-workerd --role notifier`), after main() has
 * the settings (master_open): connects to storaged (PARLEY_STORAGED),
 * tells masterd it is ready and runs its loop until MW_QUIT, the loss of
 * masterd's channel, or SIGTERM/SIGINT. Takes no connections. Returns
 * main's exit status.
 */
int notifier_run(const struct settings *);
/*
 * 1 when this notifier holds the job or mail id (a webhook delivery
 * in flight, a mail being sent), else 0. What storaged hands
 * out again while it is held (its lease ran out mid-attempt) is dropped
 * by its taker: one attempt of a job at a time (PARLEY_NOTIFY_LEASE_MS).
 */
int notify_held(const char *id);

#endif
