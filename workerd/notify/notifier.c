/*
 * The notifier role of parley-workerd (issue 23): `parley-workerd --role
 * notifier`, which parley-masterd runs once beside its PARLEY_WORKERS
 * workers (masterd/procs.c), so that a webhook event is delivered once
 * for the whole install rather than once per worker. Its comm, process
 * title and log name are parley-notify (main.c). It takes no connections:
 * masterd never hands it one, and master.c closes one that would come.
 *
 * Its settings come from masterd (MW_SETTINGS, read in main.c as a
 * worker's), its connection to storaged is storec.c's (kept up and
 * retried as a worker's); then WM_READY and its loop:
 *
 * - Polling: every POLL_MS (the test build's PARLEY_TEST_POLL_MS when
 *   lower, storec_poll_ms), while it holds fewer than HELD_MAX jobs,
 *   it asks storaged's outbox for the due deliveries (ST_HOOK_DUE, no
 *   who, max = the room left (ST_HOOK_DUE_MAX at most), each webhook's
 *   room: HOOK_INFLIGHT less what it holds of it, and each
 *   organisation's count against ORG_SHARE; at once again after a full
 *   answer, and when an
 *   attempt ends if storaged said it left due ones). Each
 *   job is leased to it for PARLEY_NOTIFY_LEASE_MS: one it never answers
 *   comes back then (at least once; receivers drop duplicates by
 *   webhook-id). A job it takes while it still holds it (a lease shorter
 *   than an attempt) is dropped: one attempt of a delivery at a time.
 * - Caps: at most HOOK_INFLIGHT attempts in flight per webhook,
 *   ORG_SHARE (32) per organisation and HELD_MAX (256) in all, so that a
 *   slow or dead receiver holds only its own few slots and one
 *   organisation's slow receivers (up to ST_HOOKS_MAX webhooks) only
 *   its share: every other organisation's deliveries still go. The
 *   share is storaged's to keep: ST_HOOK_DUE says per_org and what is
 *   held of each organisation, and passes by the webhooks of one at it.
 *   A job is taken only to start at once: none waits here, where a
 *   webhook deleted, disabled or sent elsewhere, or a conversation
 *   deleted, would not stop it (storaged checks those when it leases
 *   one). A job past its webhook's cap, should one come, is
 *   dropped and comes back when its lease ends.
 * - An attempt is deliver.c's (libcurl, signed, the address checked as
 *   curl connects: no private address unless PARLEY_WEBHOOK_ALLOW_PRIVATE,
 *   no redirect). Its outcome goes back as ST_HOOK_RESULT: ok on a 2xx;
 *   else the code, the error and retry_at = now + backoff.c's wait for
 *   that attempt (from PARLEY_NOTIFY_RETRY_MS), or 0 when no retry is left (storaged then fails the
 *   delivery, and disables a webhook after ST_HOOK_FAILURES_OFF in a
 *   row). A failed attempt is logged (never its secret, signature or
 *   payload).
 * - Email (SMTP_URL set): the mail outbox is mailer.c's, on the same
 *   loop, each send on a mail thread (mailpool.c; at most
 *   NOTIFY_MAIL_INFLIGHT mails at once): a slow SMTP server holds no
 *   webhook, no storaged reply and no signal.
 *   A mail taken again while it is being sent (its lease shorter than
 *   the send) is dropped as a webhook job is: notify_held covers both.
 * - Quitting (MW_QUIT with its grace, masterd gone, SIGTERM/SIGINT with
 *   PARLEY_SHUTDOWN_TIMEOUT_MS): no more polling, the attempts in
 *   flight may end (and be answered) within the grace; then it leaves. What was not answered comes back when its
 *   lease ends.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookmsg.h"
#include "log.h"
#include "notify.h"
#include "random.h"
#include "stmsgs.h"
#include "workerd.h"

#define POLL_MS		250	/* between two ST_HOOK_DUE while there is room */
/* After one that found nothing due: an idle install asks once a second. */
#define IDLE_POLL_MS	1000
/*
 * Attempts in flight in all. An attempt costs a curl handle, its
 * socket and its body (under PROTO_MAX_PAYLOAD; most a few KiB) and
 * nothing while it waits, on one loop.
 */
#define HELD_MAX	ST_HOOK_HELD_MAX
#define HOOK_INFLIGHT	4	/* attempts in flight to one webhook */
/*
 * Attempts in flight to one organisation's webhooks: an eighth of
 * HELD_MAX, so eight organisations with slow receivers are needed to
 * fill it (storaged keeps it, ST_HOOK_DUE's per_org).
 */
#define ORG_SHARE	(HELD_MAX / 8)

static int quitting;
static struct loop_timer poll_timer, grace_timer;
static struct loop_defer leave_defer, poll_defer;
static struct storec_req *due_req;
static size_t results;		/* ST_HOOK_RESULT unanswered */
static int more_due;		/* the last ST_HOOK_DUE left due ones */

static void
leave(void)
{
	quitting = 1;
	loop_stop();
}

/* Quitting, and nothing left to wait for: leave. */
static void
maybe_leave(void)
{
	if (quitting && deliver_inflight() == 0 && results == 0 &&
	    mailer_busy() == 0)
		leave();
}

static void
job_drop(struct st_hook_job *job)
{
	st_hook_job_free(job);
	free(job);
}

/* ---------------------------------------------------------- outcomes */

static void
result_done(const struct storec_result *r, void *arg)
{
	results--;
	if (r->status != STOREC_OK)
		log_warnx("ST_HOOK_RESULT failed: %s", storec_why(r));
	maybe_leave();
}

/* When the next attempt is due (ms since the epoch), or 0: none left. */
static uint64_t
retry_at(const struct notify_outcome *o, unsigned int attempts)
{
	uint32_t rnd;

	if (o->ok || o->final || notify_backoff_done(attempts))
		return 0;
	proto_random(&rnd, sizeof(rnd));
	return proto_wall_ms() + notify_backoff_from(wsettings.notify_retry_ms,
	    attempts, rnd);
}

/* An attempt ended: its outcome to storaged, its slot to a waiting job. */
static void
on_done(struct st_hook_job *job, const struct notify_outcome *o)
{
	struct st_hook_result_req q;
	unsigned int attempts = job->d.attempts + 1;

	memset(&q, 0, sizeof(q));
	q.id = job->d.id;
	q.ok = o->ok != 0;
	q.code = o->code;
	q.error = o->ok ? "" : o->error;
	q.duration_ms = o->duration_ms;
	q.retry_at = retry_at(o, attempts);
	if (!o->ok)
		log_info("webhook %s: delivery %s (%s), attempt %u failed: "
		    "%s%s", job->d.hook, job->d.id,
		    st_hook_event_name(job->d.event) ? st_hook_event_name(
		    job->d.event) : "?", attempts, o->error,
		    q.retry_at == 0 ? "; no retry left" : "");
	/* Nobody waits for its answer: it may share a disk flush. */
	if (storec_ask_flags(NULL, PROTO_ST_HOOK_RESULT, PROTO_F_SHARE, &q,
	    result_done, NULL, NULL) == 0)
		results++;
	job_drop(job);
	loop_defer(&leave_defer);
	/* A slot is free: what storaged left for want of room comes now. */
	if (more_due && !quitting)
		loop_defer(&poll_defer);
}

/* ------------------------------------------------------------- jobs */

int
notify_held(const char *id)
{
	return deliver_holds(id) || mailer_holds(id);
}

/* A job taken from storaged: started, or dropped (its lease). */
static void
job_take(struct st_hook_job *job)
{
	if (notify_held(job->d.id)) {
		log_debug("webhook %s: delivery %s is under way already",
		    job->d.hook, job->d.id);
		job_drop(job);
		return;
	}
	if (deliver_hook_inflight(job->d.hook) >= HOOK_INFLIGHT) {
		log_debug("webhook %s: delivery %s left for its lease",
		    job->d.hook, job->d.id);
		job_drop(job);
		return;
	}
	deliver_start(job);
}

/* After an attempt's end, from the loop: a quitting notifier may leave. */
static void
leave_if_done(void *arg)
{
	(void)arg;
	maybe_leave();
}

/* ---------------------------------------------------------- polling */

/* Counts job's organisation in the orgs list (q): an entry per org. */
static void
org_count(const struct st_hook_job *job, struct st_hook_due_req *q)
{
	uint32_t i;

	for (i = 0; i < q->norgs; i++)
		if (strcmp(q->orgs[i].org, job->d.org) == 0)
			break;
	if (i == q->norgs) {
		if (q->norgs == HELD_MAX)
			return;		/* cannot be: HELD_MAX jobs in all */
		strlcpy(q->orgs[i].org, job->d.org, sizeof(q->orgs[i].org));
		q->orgs[i].held = 0;
		q->norgs++;
	}
	q->orgs[i].held++;
}

/* Counts job in the held lists (arg): its webhook's room, its org's. */
static void
held_count(const struct st_hook_job *job, void *arg)
{
	struct st_hook_due_req *q = arg;
	uint32_t i;

	org_count(job, q);
	for (i = 0; i < q->nheld; i++)
		if (strcmp(q->held[i].hook, job->d.hook) == 0)
			break;
	if (i == q->nheld) {
		if (q->nheld == HELD_MAX)
			return;		/* cannot be: HELD_MAX jobs in all */
		strlcpy(q->held[i].hook, job->d.hook,
		    sizeof(q->held[i].hook));
		q->held[i].room = HOOK_INFLIGHT;
		q->nheld++;
	}
	if (q->held[i].room > 0)
		q->held[i].room--;
}

/*
 * The webhooks this notifier holds jobs of, with the room each has left,
 * and the organisations, with how many each holds.
 */
static void
held_list(struct st_hook_due_req *q, struct st_hook_room *held,
    struct st_org_held *orgs)
{
	q->held = held;
	q->nheld = 0;
	q->orgs = orgs;
	q->norgs = 0;
	deliver_each(held_count, q);
}

static size_t
room(void)
{
	size_t held = deliver_inflight();

	return held < HELD_MAX ? HELD_MAX - held : 0;
}

/* ST_HOOK_DUE's jobs: each taken; at once again after a full page. */
static void
due_done(const struct storec_result *r, void *arg)
{
	struct st_hook_jobs js;
	struct st_hook_job *job;
	uint32_t i, asked = (uint32_t)(uintptr_t)arg;

	if (r->status != STOREC_OK || storec_decode(r, PROTO_ST_HOOK_DUE,
	    &js) < 0) {
		if (r->status == STOREC_ERROR)
			log_warnx("ST_HOOK_DUE failed: %s", r->message);
		else if (r->status == STOREC_OK)
			log_warnx("ST_HOOK_DUE: a reply that does not decode");
		loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
		return;
	}
	more_due = js.more;
	for (i = 0; i < js.n; i++) {
		if ((job = malloc(sizeof(*job))) == NULL) {
			log_warn("notifier: job");
			break;	/* the rest come back with their lease */
		}
		*job = js.jobs[i];
		memset(&js.jobs[i], 0, sizeof(js.jobs[i]));
		job_take(job);
	}
	st_rep_free(PROTO_ST_HOOK_DUE, &js);
	if (quitting)
		return;
	if (js.n == asked && room() > 0)
		loop_defer(&poll_defer);
	else
		loop_timer_after(&poll_timer, storec_poll_ms(js.n == 0 ?
		    IDLE_POLL_MS : POLL_MS));
}

static void
poll_due(void *arg)
{
	static struct st_hook_room held[HELD_MAX];
	static struct st_org_held orgs[HELD_MAX];
	struct st_hook_due_req q;
	size_t n;

	if (quitting || due_req != NULL)
		return;
	if (!storec_connected() || (n = room()) == 0) {
		loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
		return;
	}
	q.max = (uint32_t)(n < ST_HOOK_DUE_MAX ? n : ST_HOOK_DUE_MAX);
	q.lease_ms = wsettings.notify_lease_ms;
	q.per_hook = HOOK_INFLIGHT;
	q.per_org = ORG_SHARE;
	held_list(&q, held, orgs);
	if (storec_ask(NULL, PROTO_ST_HOOK_DUE, &q, due_done,
	    (void *)(uintptr_t)q.max, &due_req) < 0)
		loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));
}

/* ---------------------------------------------------------- quitting */

static void
grace_over(void *arg)
{
	if (deliver_inflight() > 0)
		log_info("grace over: %zu delivery attempt(s) left for their "
		    "lease", deliver_inflight());
	leave();
}

/* MW_QUIT, masterd gone, a signal: the attempts in flight get grace_ms. */
static void
notifier_quit(uint32_t grace_ms, int close_idle)
{
	uint64_t at = loop_now() + grace_ms;

	if (!quitting) {
		log_info("quitting: %zu delivery attempt(s) in flight, grace "
		    "%u ms", deliver_inflight(), grace_ms);
		quitting = 1;
		loop_timer_stop(&poll_timer);
		loop_defer_cancel(&poll_defer);
		storec_cancel(due_req);
		due_req = NULL;
		mailer_quit();
		resolver_quit();
	}
	/* A second request to quit can only shorten the grace. */
	if (!loop_timer_armed(&grace_timer) || at < grace_timer.hn.at)
		loop_timer_at(&grace_timer, at);
	maybe_leave();
}

static void
on_signal(int signo)
{
	if (!quitting)
		log_info("%s", strsignal(signo));
	notifier_quit(wsettings.shutdown_ms, 1);
}

int
notifier_run(const struct settings *set)
{
	/* Writes use MSG_NOSIGNAL; this covers anything else. */
	signal(SIGPIPE, SIG_IGN);
	/* Reloading is masterd's business (a new notifier). */
	signal(SIGHUP, SIG_IGN);

	loop_init();
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	loop_timer_init(&poll_timer, poll_due, NULL);
	loop_timer_init(&grace_timer, grace_over, NULL);
	loop_defer_init(&leave_defer, leave_if_done, NULL);
	loop_defer_init(&poll_defer, poll_due, NULL);
	if (deliver_init(on_done) < 0)
		fatalx("notifier: cannot set up libcurl");
	mailer_start(maybe_leave);
	resolver_start();
	master_init(notifier_quit, 0);
	/* Not waited for: storec.c retries while storaged is away. */
	storec_init_settings(set);
	master_ready();
	log_debug("ready");
	loop_timer_after(&poll_timer, storec_poll_ms(POLL_MS));

	loop_run();
	mailer_shutdown();
	deliver_shutdown();
	storec_shutdown();
	log_debug("exiting");
	return 0;
}
