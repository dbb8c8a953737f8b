/*
 * The notifier role of parley-workerd (issue 23): `parley-workerd --role
 * notifier`, which parley-masterd runs once beside its PARLEY_WORKERS
 * workers (masterd/procs.c), so that a webhook event is delivered once
 * for the whole install rather than once per worker. Its comm, process
 * title and log name are parley-notify (main.c). It takes no connections:
 * masterd never hands it one, and master.c closes one that would come.
 *
 * What it does now: its settings from masterd (MW_SETTINGS, read in
 * main.c as a worker's), a connection to storaged (storec.c, kept up and
 * retried as a worker's), WM_READY, then its loop until MW_QUIT, the loss
 * of masterd's channel, or SIGTERM/SIGINT. It holds nothing yet, so it
 * leaves at once.
 *
 * Deliveries come next: ask storaged's outbox what is due (ST_HOOK_DUE),
 * send each with libcurl (signed by sign.c, to the address ssrf.c checked
 * and pinned), report the outcome (ST_HOOK_RESULT), retry on backoff.c's
 * schedule; a quit will then let the deliveries in flight end within the
 * grace that MW_QUIT brings.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "workerd.h"

static int quitting;

static void
leave(void)
{
	quitting = 1;
	loop_stop();
}

/* MW_QUIT, or masterd gone: nothing is in flight yet, so at once. */
static void
notifier_quit(uint32_t grace_ms, int close_idle)
{
	if (!quitting)
		log_info("quitting");
	leave();
}

static void
on_signal(int signo)
{
	if (!quitting)
		log_info("%s: quitting", strsignal(signo));
	leave();
}

int
notifier_run(const char *storaged_sock)
{
	/* Writes use MSG_NOSIGNAL; this covers anything else. */
	signal(SIGPIPE, SIG_IGN);
	/* Reloading is masterd's business (a new notifier). */
	signal(SIGHUP, SIG_IGN);

	loop_init();
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	master_init(notifier_quit, 0);
	/* Not waited for: storec.c retries while storaged is away. */
	storec_init(storaged_sock);
	master_ready();
	log_debug("ready");

	loop_run();
	storec_shutdown();
	log_debug("exiting");
	return 0;
}
