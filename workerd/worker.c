/*
 * Settings the modules share, and the graceful quit: no new connections,
 * requests in flight finish, keep-alive ends, the loop stops when the
 * last connection is gone or the grace runs out.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "workerd.h"

struct worker_conf wconf;
struct settings wsettings;

static int quitting;
static struct loop_timer grace_timer;

void
worker_conf_defaults(void)
{
	wconf.header_timeout_ms = 10000;
	wconf.idle_timeout_ms = 60000;
	wconf.linger_ms = 2000;
	wconf.storage_timeout_ms = 5000;
}

uint32_t
worker_env_u32(const char *name, uint32_t def, uint32_t min, uint32_t max)
{
	const char *s = getenv(name), *errstr;
	long long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		fatalx("%s=%s is %s (allowed %u to %u)", name, s, errstr, min,
		    max);
	return (uint32_t)v;
}

int
worker_quitting(void)
{
	return quitting;
}

static void
grace_over(void *arg)
{
	log_info("grace over: closing %u connection(s)", conn_count());
	loop_stop();
}

void
worker_quit(uint32_t grace_ms, int close_idle)
{
	uint64_t at = loop_now() + grace_ms;

	if (!quitting) {
		log_info("quitting: %u connection(s), grace %u ms%s",
		    conn_count(), grace_ms, close_idle ? ", closing idle" : "");
		loop_timer_init(&grace_timer, grace_over, NULL);
	}
	/* A second request to quit can only shorten the grace. */
	if (!quitting || at < grace_timer.at)
		loop_timer_at(&grace_timer, at);
	quitting = 1;
	if (close_idle)
		conn_close_idle();
	if (conn_count() == 0 && chat_turns() == 0)
		loop_stop();
}

void
worker_conns_changed(unsigned int n)
{
	master_load(n);
	/* A turn whose client left still stores its reply: wait for it. */
	if (quitting && n == 0 && chat_turns() == 0)
		loop_stop();
}

void
worker_turn_finished(void)
{
	if (quitting && conn_count() == 0 && chat_turns() == 0)
		loop_stop();
}
