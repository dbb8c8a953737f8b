/*
 * parley-workerd: started by parley-masterd with its channel on fd 3.
 * Takes its settings from masterd over that channel, then serves the
 * connections masterd hands over until told to quit: masterd hands it
 * none until it says it is ready (WM_READY), which it says once its
 * storaged connection is up (or, storaged still away, after
 * READY_WAIT_MS, less in the test build: ready_wait_ms; so that masterd
 * does not take it for a hung start; its requests wait for storaged a
 * while, then answer 503). Started with
 * "--role notifier" (masterd/procs.c) it is the notifier instead: named
 * parley-notify, it serves no connections (notify/notifier.c). The
 * knowledge base's fetcher is a program of its own (fetch/main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "call.h"
#include "chat.h"
#include "turn.h"
#include "embed.h"
#include "log.h"
#include "notify.h"
#include "site.h"
#include "static.h"
#include "upstream.h"
#include "workerd.h"
#include "msgtab.h"
#include "version.h"

/* How long a new worker waits for storaged before it is ready anyway. */
#define READY_WAIT_MS	5000

static struct loop_timer ready_timer;
static int ready_told;

static void
on_signal(int signo)
{
	if (worker_quitting()) {
		/* Asked twice: stop waiting for the stragglers. */
		log_info("%s again: exiting now", strsignal(signo));
		loop_stop();
		return;
	}
	log_info("%s: quitting", strsignal(signo));
	worker_quit(wsettings.shutdown_ms, 1);
	master_quitting();
}

/* Tells masterd this worker takes connections, once. */
static void
ready_tell(void)
{
	if (ready_told)
		return;
	ready_told = 1;
	loop_timer_stop(&ready_timer);
	master_ready();
	log_debug("ready");
}

/* READY_WAIT_MS, or the test build's PARLEY_TEST_READY_WAIT_MS if lower. */
static int
ready_wait_ms(void)
{
	return (int)SETTINGS_TEST_LOWER("PARLEY_TEST_READY_WAIT_MS",
	    READY_WAIT_MS);
}

static void
ready_wait_over(void *arg)
{
	if (!ready_told && !storec_connected())
		log_warnx("storaged not connected after %d ms: taking "
		    "connections anyway (GET /ready answers 503 until it is)",
		    ready_wait_ms());
	ready_tell();
}

/*
 * Each connection to storaged: ready, and the turns this worker still
 * answers named (a storaged that saw the last one close keeps them).
 */
static void
storaged_up(void)
{
	ready_tell();
	turn_held_tell();
}

/* Ready once storaged is connected, ready_wait_ms() at most from now. */
static void
ready_when_stored(void)
{
	loop_timer_init(&ready_timer, ready_wait_over, NULL);
	storec_on_up(storaged_up);
	if (storec_connected())
		ready_tell();
	else
		loop_timer_after(&ready_timer, (uint64_t)ready_wait_ms());
}

/*
 * Thousands of connections need thousands of descriptors; those held
 * are capped below them (conn_max_for), so that the table never fills
 * and loses the connection masterd hands over next.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("setrlimit RLIMIT_NOFILE");
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (rl.rlim_cur < 4096)
		log_warnx("only %llu file descriptors: few connections fit",
		    (unsigned long long)rl.rlim_cur);
	conn_max_set(conn_max_for(rl.rlim_cur));
	log_debug("at most %u connections (of %llu file descriptors)",
	    conn_max_for(rl.rlim_cur), (unsigned long long)rl.rlim_cur);
}

/*
 * The roles masterd starts us in (masterd/procs.c): "--role <arg>", the
 * name the process goes by (its comm, title and log lines: masterd's
 * children named parley-workerd are the workers), and what it runs.
 */
static const struct role {
	const char *arg;
	const char *name;
	int (*run)(const struct settings *);	/* NULL: a worker */
} roles[] = {
	{ "worker", WORKERD_NAME, NULL },
	{ "notifier", NOTIFIER_NAME, notifier_run },
};

/*
 * Our role: no argument is a worker. An argument rather than a variable,
 * so no environment (a unit file's, inherited through masterd) can turn
 * every worker into another role.
 */
static const struct role *
role_of(int argc, char *argv[])
{
	size_t i;

	if (argc == 1)
		return &roles[0];
	for (i = 0; argc == 3 && strcmp(argv[1], "--role") == 0 &&
	    i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(argv[2], roles[i].arg) == 0)
			return &roles[i];
	fatalx("usage: %s [--role worker | --role notifier | --version] "
	    "(started by parley-masterd: parley(8))", WORKERD_NAME);
}

int
main(int argc, char *argv[], char *envp[])
{
	const struct role *role;

	version_arg(argc, argv, WORKERD_NAME, PROTO_VERSION,
	    proto_layouts_id());
	log_init(WORKERD_NAME);
	role = role_of(argc, argv);
	master_start(role->name, argc, argv, envp);
	if (role->run != NULL)
		return role->run(&wsettings);
	/* Read anew by every worker: a reload picks up a new certificate. */
	tlsio_init(wsettings.tls_cert, wsettings.tls_key);
	resp_set_production(wsettings.production);
	conn_access_log(wsettings.access_log);
	admin_init(wsettings.admin_key);
	chat_init(wsettings.widget_key);
	cors_init(&wsettings);
	static_init();
	dashpages_init();
	/* Kept until the first login stores its owner (hashed then). */
	dashauth_init(wsettings.dashboard_password);
	raise_nofile();

	/* Writes use MSG_NOSIGNAL; this covers anything else. */
	signal(SIGPIPE, SIG_IGN);
	/* Reloading is masterd's business; a terminal hang-up is not ours. */
	signal(SIGHUP, SIG_IGN);

	loop_init();
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	if (upstream_init() < 0 || embed_init() < 0)
		fatalx("cannot set up the model client");
	/* The transport reports to this worker through its hooks. */
	router_wire();
	master_init(worker_quit, 1);
	storec_init_settings(&wsettings);
	wschat_init();
	metrics_init();
	worker_trim_start();
	ready_when_stored();

	loop_run();
	log_info("exiting with %u connection(s) open", conn_count());
	/* A password being hashed ends first. */
	hashpool_shutdown();
	action_calls_shutdown();
	widgets_check_page_shutdown();
	embed_shutdown();
	upstream_shutdown();
	return 0;
}
