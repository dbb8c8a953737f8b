/*
 * Settings the modules share (wsettings: what masterd sent), and the
 * graceful quit: no new connections,
 * requests in flight finish, keep-alive ends, the loop stops when the
 * last connection is gone or the grace runs out. WebSockets count as
 * connections; they never end by themselves, so they are told to go away
 * (1001) with the idle ones, one whose reply streams once it is over
 * (wschat.c). When the grace runs out, every turn still streaming is
 * stopped as a handoff stops it (turn_stop_all: its text so far stored,
 * its client told done), and the loop stops once they are stored, or
 * after END_MS.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "admin.h"
#include "chat.h"
#include "log.h"
#include "turn.h"
#include "workerd.h"
#include "ws.h"

struct worker_conf wconf;
struct settings wsettings;

/*
 * Memory back to the system after a burst: glibc keeps what was freed (a
 * thousand half-read bodies once left a worker at 1 GB for good). Every
 * TRIM_MS, a heap holding over TRIM_FREE_MIN free bytes is trimmed.
 * (Under AddressSanitizer its own allocator does this, and these are
 * no-ops.)
 */
#define TRIM_MS		2000
#define TRIM_FREE_MIN	(8u * 1024 * 1024)

/*
 * After the grace: the stopped turns' stores, at most this long (under
 * masterd's KILL_SLACK_MS, after which it kills the worker).
 */
#define END_MS		2000

static int quitting;
static int ending;		/* the grace is over: turns stopped */
static struct loop_timer grace_timer;
static struct loop_timer trim_timer;

void
worker_conf_defaults(void)
{
	wconf.header_timeout_ms = 10000;
	wconf.idle_timeout_ms = 60000;
	wconf.linger_ms = 2000;
	wconf.storage_timeout_ms = 5000;
}

static void
trim_tick(void *arg)
{
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks > TRIM_FREE_MIN) {
		malloc_trim(0);
		log_debug("memory: gave back what %zu free bytes allowed",
		    mi.fordblks);
	}
	loop_timer_at(&trim_timer, loop_now() + TRIM_MS);
}

void
worker_trim_start(void)
{
	loop_timer_init(&trim_timer, trim_tick, NULL);
	loop_timer_at(&trim_timer, loop_now() + TRIM_MS);
}

int
worker_quitting(void)
{
	return quitting;
}

/* HTTP connections and WebSockets. */
static unsigned int
worker_conns(void)
{
	return conn_count() + ws_count();
}

/* Every connection closed, the loop stopped (written out this round). */
static void
end_now(void *arg)
{
	if (worker_conns() > 0)
		log_info("exiting: closing %u connection(s)", worker_conns());
	/* The close frames are written before this round ends. */
	ws_close_all(WS_CLOSE_GOING_AWAY, "going away");
	loop_stop();
}

static void
grace_over(void *arg)
{
	size_t turns = chat_turns() + wschat_turns();

	log_info("grace over: %u connection(s), %zu reply(ies) stopped and "
	    "stored as they stand", worker_conns(), turns);
	ending = 1;
	if (turns == 0) {
		end_now(NULL);
		return;
	}
	loop_timer_init(&grace_timer, end_now, NULL);
	loop_timer_at(&grace_timer, loop_now() + END_MS);
	turn_stop_all();
}

void
worker_quit(uint32_t grace_ms, int close_idle)
{
	uint64_t at = loop_now() + grace_ms;

	if (!quitting) {
		log_info("quitting: %u connection(s), grace %u ms%s",
		    worker_conns(), grace_ms, close_idle ? ", closing idle" : "");
		loop_timer_init(&grace_timer, grace_over, NULL);
	}
	/* A second request to quit can only shorten the grace. */
	if (!quitting || at < grace_timer.hn.at)
		loop_timer_at(&grace_timer, at);
	quitting = 1;
	events_quit();		/* the dashboards' streams end cleanly */
	if (close_idle) {
		conn_close_idle();
		ws_close_idle(WS_CLOSE_GOING_AWAY, "going away");
	}
	if (worker_conns() == 0 && chat_turns() == 0 &&
	    wschat_turns() == 0)
		loop_stop();
}

void
worker_conns_changed(unsigned int n)
{
	/* conn.c and ws.c both report here; n is conn.c's share. */
	n = worker_conns();
	master_load(n);
	/* A turn whose client left still stores its reply: wait for it. */
	if (quitting && n == 0 && chat_turns() == 0 &&
	    wschat_turns() == 0)
		loop_stop();
}

void
worker_turn_finished(void)
{
	if (!quitting || chat_turns() != 0 || wschat_turns() != 0)
		return;
	if (worker_conns() == 0)
		loop_stop();
	else if (ending)
		end_now(NULL);	/* the stopped turns stored and told */
}
