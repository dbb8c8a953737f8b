/*
 * The assistant's own resolutions, on the notifier's loop (one process
 * for the whole install, as webhooks are): every RESOLVE_POLL_MS it asks
 * storaged to resolve the conversations whose time has come
 * (ST_CONV_RESOLVE_DUE: no person asked for, the visitor silent for the
 * agent's resolve_after_seconds), at once again while storaged says more
 * are due. storaged makes each resolution's event, so the dashboards and
 * webhooks hear of it as of a person's.
 */
#include <stdint.h>

#include "log.h"
#include "notify.h"
#include "stmsgs.h"
#include "workerd.h"

#define RESOLVE_POLL_MS	1000	/* between two looks when none was due */
#define RESOLVE_BATCH	64	/* CONVSTATE_DUE_MAX: a request's at most */

static struct loop_timer timer;
static struct storec_req *due_req;
static int running;

static void
resolve_done(const struct storec_result *r, void *arg)
{
	struct st_u8_rep more = { 0 };

	due_req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_CONV_RESOLVE_DUE, &more) < 0) {
		if (r->status == STOREC_ERROR)
			log_warnx("ST_CONV_RESOLVE_DUE failed: %s",
			    r->message);
		more.v = 0;
	}
	if (running)
		loop_timer_after(&timer, more.v ? 0 : RESOLVE_POLL_MS);
}

static void
resolve_poll(void *arg)
{
	struct st_limit_req q = { RESOLVE_BATCH };

	if (!running || due_req != NULL)
		return;
	if (!storec_connected() || storec_ask(NULL, PROTO_ST_CONV_RESOLVE_DUE,
	    &q, resolve_done, NULL, &due_req) < 0)
		loop_timer_after(&timer, RESOLVE_POLL_MS);
}

void
resolver_start(void)
{
	loop_timer_init(&timer, resolve_poll, NULL);
	running = 1;
	loop_timer_after(&timer, RESOLVE_POLL_MS);
}

void
resolver_quit(void)
{
	running = 0;
	loop_timer_stop(&timer);
	storec_cancel(due_req);
	due_req = NULL;
}
