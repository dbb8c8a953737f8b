/*
 * The visitor-session sweep (store_wsess_sweep in wsess.h) run from
 * storaged's loop on a timer: each step is one write transaction of at
 * most SWEEP_BATCH sessions and SWEEP_BUDGET_US of work, so the loop is
 * never held for more than a few milliseconds. While work is left (the
 * one-time backfill of the expiry index, the sessions of a deleted
 * widget, a crowd of expired sessions) the next step follows after
 * SWEEP_BUSY_MS, which leaves the loop free for requests in between;
 * otherwise after SWEEP_IDLE_MS. A step with no session work left removes
 * the messages of deleted conversations (store_msgs_gone_sweep: a
 * conversation deleted below, or by a request, leaves its messages to
 * these steps, so that none holds the loop for a large one's), then,
 * with none left, a deleted organisation's records (store_org_sweep, issue 22),
 * at most SWEEP_BATCH of them; one with none of those either goes on with
 * a deleted or erased contact (store_contact_gone_sweep), and, once a
 * minute, the conversations past their widget's retention
 * (store_retention_sweep); last, the conversations stored before the
 * reports, counted in (store_report_backfill); and once a minute a walk
 * of the webhooks, in steps, dropping the secrets rotated more than
 * ST_HOOK_SECRET_OVERLAP ago (store_hook_old_sweep). The three that delete
 * conversations stop, as the messages' removal does, once the step's
 * SWEEP_BUDGET_US have passed.
 */
#include <string.h>

#include "attstore.h"
#include "contactstore.h"
#include "hookstore.h"
#include "kbsource.h"
#include "log.h"
#include "orgstore.h"
#include "repl.h"
#include "rollups.h"
#include "storaged.h"
#include "wsess.h"

static struct {
	struct store *st;
	struct loop_timer tm;
	uint64_t retain_next;	/* proto_mono_us() of the next retention look */
	int retain_more;	/* the last one left some */
	uint64_t hook_next;	/* proto_mono_us() of the next secrets walk */
	char hook_cursor[ST_HOOK_ID_LEN + 1];	/* the walk's place; "" */
} W;

int
sweep_step(struct store *st, uint32_t max, uint64_t budget_us,
    struct store_sweep *out)
{
	struct store_txn t;
	uint64_t t0 = proto_mono_us(), t1;
	int more = 0;

	memset(out, 0, sizeof(*out));
	store_begin(st, &t, 0);
	store_wsess_sweep(&t, max, t0 + budget_us, out);
	/*
	 * Then the messages of deleted conversations, in what the step has
	 * left, before any sweep below deletes more conversations.
	 */
	if (!out->more && t.err == 0) {
		store_msgs_gone_sweep(&t, max * SWEEP_MSGS_PER, t0 + budget_us,
		    &out->msgs, &more);
		out->more = more;
	}
	/* Then, in what the step has left, a deleted organisation's records. */
	if (!out->more && t.err == 0) {
		store_org_sweep(&t, max, t0 + budget_us, &out->orgs, &more);
		out->more = more;
	}
	/* Then what is left of a deleted or erased contact. */
	if (!out->more && t.err == 0) {
		store_contact_gone_sweep(&t, max, t0 + budget_us,
		    &out->contacts, &more);
		out->more = more;
	}
	/* Then a deleted knowledge source's chunks. */
	if (!out->more && t.err == 0) {
		store_kb_gone_sweep(&t, max, &out->sources, &more);
		out->more = more;
	}
	/* Then uploads no message named in time, and their pieces. */
	if (!out->more && t.err == 0) {
		store_att_sweep(&t, max, &out->uploads, &more);
		out->more = more;
	}
	/* Then older conversations counted in the reports (a message walk each). */
	if (!out->more && t.err == 0) {
		store_report_backfill(&t, max / 4 + 1, &out->reported, &more);
		out->more = more;
	}
	/*
	 * Then the widgets' retention: it reads every widget, so once a
	 * minute, unless the last look left some.
	 */
	if (!out->more && t.err == 0 && (W.retain_more ||
	    t0 >= W.retain_next)) {
		store_retention_sweep(&t, max, t0 + budget_us, &out->retained,
		    &W.retain_more);
		W.retain_next = t0 + RETENTION_EVERY_US;
		/* Those it deleted leave their messages to the next steps. */
		out->more = W.retain_more || out->retained > 0;
	}
	/*
	 * Then the webhooks' secrets rotated more than a day ago: a walk of
	 * every webhook once a minute, in steps.
	 */
	if (!out->more && t.err == 0 && (W.hook_cursor[0] != '\0' ||
	    t0 >= W.hook_next)) {
		if (W.hook_cursor[0] == '\0')
			W.hook_next = t0 + HOOK_OLD_EVERY_US;
		store_hook_old_sweep(&t, max, W.hook_cursor, &out->secrets);
		out->more = W.hook_cursor[0] != '\0';
	}
	t1 = proto_mono_us();
	if (store_commit(&t) != 0) {
		log_warnx("session sweep: %s", t.errmsg != NULL ? t.errmsg :
		    "failed");
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (out->indexed + out->gone + out->expired + out->msgs + out->orgs +
	    out->contacts + out->retained + out->sources + out->reported +
	    out->uploads + out->secrets > 0)
		log_debug("session sweep: %u indexed, %u of deleted widgets, "
		    "%u expired, %u messages of deleted conversations, %u of "
		    "deleted organisations, %u of deleted "
		    "contacts, %u past retention, %u deleted knowledge "
		    "sources, %u uploads not sent, %u counted in the reports, "
		    "%u webhooks' rotated secrets dropped in %llu us, "
		    "committed in %llu us",
		    out->indexed, out->gone, out->expired, out->msgs, out->orgs,
		    out->contacts, out->retained, out->sources, out->uploads,
		    out->reported, out->secrets,
		    (unsigned long long)(t1 - t0),
		    (unsigned long long)(proto_mono_us() - t1));
	return 0;
}

static void
sweep_tick(void *arg)
{
	struct store_sweep o;

	/* Nothing is written once the data directory's guard failed. */
	if (store_failed(W.st) != NULL)
		return;
	/*
	 * Nor while the store is stalled (store_retry), nor past the lease's
	 * fence time before the loop has heard of it (repl_fence stops the
	 * sweep then), as no request's batch writes: later.
	 */
	if (store_stalled(W.st) != NULL || !repl_writable()) {
		loop_timer_after(&W.tm, SWEEP_IDLE_MS);
		return;
	}
	if (sweep_step(W.st, SWEEP_BATCH, SWEEP_BUDGET_US, &o) == 0 && o.more)
		loop_timer_after(&W.tm, SWEEP_BUSY_MS);
	else
		loop_timer_after(&W.tm, SWEEP_IDLE_MS);
}

void
sweep_start(struct store *st)
{
	W.st = st;
	loop_timer_init(&W.tm, sweep_tick, NULL);
	loop_timer_after(&W.tm, SWEEP_BUSY_MS);
}

void
sweep_stop(void)
{
	loop_timer_stop(&W.tm);
}
