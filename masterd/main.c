/*
 * parley-masterd: the process systemd starts. It owns the listening
 * socket, starts the children of its process table (procs.c): the
 * PARLEY_WORKERS parley-workerd workers, to which it hands each accepted
 * connection (the least-loaded one) over its channel, and the notifier.
 *
 * It runs on lib/loop.c: signals arrive through the loop and only set
 * flags, acted on once the round's events are handled (as in nginx's
 * process cycle); every deadline is one loop timer.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "log.h"
#include "masterd.h"
#include "privdrop.h"
#include "settings.h"
#include "tlsctx.h"
#include "tlschan.h"
#include "msgtab.h"
#include "version.h"

extern char **environ;

static struct {
	struct config cf;
	struct listener l;
	struct loop_timer timer;	/* the earliest deadline wakes the loop */
	int got_chld;
	int got_hup;
	int got_term;
	int stopping;
} M;

/* From the loop: only flags; the loop acts on them once the round ends. */
static void
on_signal(int signo)
{
	switch (signo) {
	case SIGCHLD:
		M.got_chld = 1;
		break;
	case SIGHUP:
		M.got_hup = 1;
		break;
	case SIGTERM:
	case SIGINT:
		M.got_term = signo;
		break;
	}
}

/* *orig is the mask the workers start with. */
static void
signals_init(sigset_t *orig)
{
	if (sigprocmask(SIG_SETMASK, NULL, orig) < 0)
		fatal("sigprocmask");
	/* Every write we make handles EPIPE itself. */
	signal(SIGPIPE, SIG_IGN);
	loop_signal(SIGCHLD, on_signal);
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	loop_signal(SIGHUP, on_signal);
}

static void
timer_fired(void *arg)
{
	/* Waking up was the point: the round's end does the work. */
}

/* One timer for every deadline: the earliest one wakes us up. */
static void
timer_arm(long long now)
{
	long long t;

	t = workers_next_deadline(now);
	if (M.l.fd >= 0 && M.l.paused_until > now &&
	    (t == 0 || M.l.paused_until < t))
		t = M.l.paused_until;
	if (t == 0) {
		loop_timer_stop(&M.timer);
		return;
	}
	if (t <= now)
		t = now + 1;
	loop_timer_at(&M.timer, (uint64_t)t);
}

/* Servers want many fds; the hard limit is what the admin allowed. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
}

/*
 * Listener first, so nothing new arrives; then every worker drains.
 * systemd kills what still runs TimeoutStopSec after the stop began (30 s
 * in the shipped unit), so the stop asks for its whole length: the grace,
 * the workers' last step (KILL_SLACK_MS) and STOP_EXIT_MS for masterd's
 * own exit (EXTEND_TIMEOUT_USEC never shortens the unit's).
 */
static void
begin_stop(long long now, int signo)
{
	char state[64];

	log_info("%s: stopping, workers get %d ms to finish",
	    signo == SIGINT ? "SIGINT" : "SIGTERM", M.cf.grace_ms);
	snprintf(state, sizeof(state), "STOPPING=1\nEXTEND_TIMEOUT_USEC=%llu",
	    ((unsigned long long)M.cf.grace_ms + KILL_SLACK_MS + STOP_EXIT_MS) *
	    1000ULL);
	proto_sd_notify(state);
	M.stopping = 1;
	listener_close(&M.l);
	workers_stop(now);
}

static void
begin_reload(long long now)
{
	char state[64];
	struct timespec ts;

	log_info("SIGHUP: starting %d new workers and %d new notifier",
	    M.cf.nworkers, proc_want(proc_of(ROLE_NOTIFIER), M.cf.nworkers));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	proto_sd_notify(state);
	workers_reload(now);
}

/* Each round: the loop's events, then what the signals asked for. */
static void
serve(void)
{
	long long now;
	int sig;

	for (;;) {
		now = mono_ms();
		listener_sync(&M.l, now);
		workers_sync();
		timer_arm(now);

		loop_once(-1);

		now = mono_ms();
		if (M.got_chld) {
			M.got_chld = 0;
			workers_reap(now);
		}
		if ((sig = M.got_term) != 0) {
			M.got_term = 0;
			if (!M.stopping)
				begin_stop(now, sig);
			else {
				log_warnx("second signal: killing workers now");
				workers_kill_all();
			}
		}
		if (M.got_hup) {
			M.got_hup = 0;
			if (!M.stopping)
				begin_reload(now);
		}
		workers_tick(now);
		workers_maintain(now);
		if (M.stopping && workers_empty())
			return;
	}
}

/* The workers load the pairs; a bad one fails here, once. */
static void
tls_check(const struct settings *st)
{
	char err[SETTINGS_ERR_MAX];
	STACK_OF(X509) *cas;
	SSL_CTX *ctx;

	if (st->tls_cert != NULL) {
		if ((ctx = tls_ctx_new(st->tls_cert, st->tls_key, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
		SSL_CTX_free(ctx);
	}
	if (st->model_ca != NULL) {
		if ((cas = tls_ca_read("PARLEY_MODEL_CA", st->model_ca, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
		sk_X509_pop_free(cas, X509_free);
	}
	/* The notifier's, for its SMTP server (curl's CAINFO then). */
	if (st->smtp_url != NULL && st->smtp_ca_file != NULL) {
		if ((cas = tls_ca_read("SMTP_CA_FILE", st->smtp_ca_file, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
		sk_X509_pop_free(cas, X509_free);
	}
	/* The workers' side of the cluster's TLS (PARLEY_STORAGED). */
	if (staddr_any_tls(st->storaged, st->nstoraged)) {
		if ((ctx = tlschan_ctx_new(0, st->cluster_ca, st->cluster_cert,
		    st->cluster_key, err, sizeof(err))) == NULL)
			fatalx("%s", err);
		SSL_CTX_free(ctx);
	}
}

/*
 * What the children open, their programs and the TLS files, checked as
 * they will open them: as PARLEY_USER when we are root and drop to it (a
 * file only root may read fails here, not in every worker's start, for
 * ever), in a child that drops first; else as we are. Fatal when not.
 */
static void
files_check(const struct config *cf, const struct settings *st,
    const struct privuser *pu)
{
	char err[256];
	pid_t pid;
	int status;

	if (!pu->set || geteuid() != 0) {
		tls_check(st);
		config_programs_check(cf);
		return;
	}
	fflush(NULL);
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		if (privdrop_to(pu, err, sizeof(err)) < 0)
			fatalx("cannot become %s: %s", pu->name, err);
		tls_check(st);
		config_programs_check(cf);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid");
	/* The child has said why. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		exit(1);
}

/*
 * --check in production: the keys the chat API, the admin API and the
 * dashboard's login need (unset, each answers 503), all named at once,
 * with whatever else the settings say is wrong, and where to set them
 * (file: the file checked; NULL, the environment). Returns when all are
 * set.
 */
static void
check_production_keys(const char *file)
{
	static const char *const keys[] = {
		"WIDGET_API_KEY", "ADMIN_API_KEY", "DASHBOARD_PASSWORD",
	};
	char missing[128] = "", err[SETTINGS_ERR_MAX];
	struct settings st;
	const char *v;
	size_t i;

	if (!settings_production(settings_env, NULL))
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = settings_env(keys[i], NULL)) == NULL || *v == '\0') {
			if (missing[0] != '\0')
				strlcat(missing, ", ", sizeof(missing));
			strlcat(missing, keys[i], sizeof(missing));
		}
	if (missing[0] == '\0')
		return;
	if (settings_parse_for(&st, SETTINGS_P_ALL, settings_env, NULL, err,
	    sizeof(err)) < 0)
		log_warnx("%s", err);
	else
		settings_free(&st);
	fatalx("production: set %s (in %s: each at least 24 characters, "
	    "openssl rand -hex 32; the password at least 12); unset, the chat "
	    "API, the admin API and the dashboard's login answer 503", missing,
	    file != NULL ? file : "the environment, or /etc/parley/parley.env");
}

int
main(int argc, char *argv[])
{
	struct settings settings;
	struct privuser pu;
	sigset_t orig;
	int check;

	version_arg(argc, argv, MASTERD_NAME, PROTO_VERSION,
	    proto_layouts_id());
	setproctitle_init(argc, argv, environ);
	setproctitle("-%s", MASTERD_NAME);
	log_init(MASTERD_NAME);
	privdrop_nodump();
	if (argc == 2 && strcmp(argv[1], "--settings") == 0) {
		/* The table, for the docs and their test. */
		settings_print_table();
		return 0;
	}
	if (argc > 1 && strncmp(argv[1], "--env", 5) == 0)
		return envcmd_main(argc, argv);	/* make run's .env reader */
	check = (argc == 2 || argc == 3) && strcmp(argv[1], "--check") == 0;
	if (argc > 1 && !check)
		fatalx("usage: %s [--check [FILE] | --settings | --version | "
		    "--env FILE | --env-fill FILE NAME...] (settings come "
		    "from the environment: parley.env(5))", MASTERD_NAME);
	if (check && argc == 3)
		envcmd_load(argv[2]);	/* as systemd reads the file */

	/*
	 * Every setting, the workers' and storaged's too: refuse a bad one
	 * now, with its message, before anything is forked or bound, rather
	 * than respawn workers that would die on it.
	 */
	if (check)
		check_production_keys(argc == 3 ? argv[2] : NULL);
	settings_load(&settings, SETTINGS_P_ALL);
	config_load(&M.cf, &settings);
	privdrop_init(&pu, settings.user);
	files_check(&M.cf, &settings, &pu);
	settings_free(&settings);
	if (check) {
		/* make run asks before it starts anything. */
		log_info("the settings are valid");
		return 0;
	}
	raise_nofile();

	loop_init();
	signals_init(&orig);
	loop_timer_init(&M.timer, timer_fired, NULL);

	listener_open(&M.l, &M.cf);
	/* Bound (a port below 1024 may have needed root): the rest does not. */
	privdrop_apply(&pu);
	workers_init(&M.cf, &orig);
	workers_maintain(mono_ms());
	log_info("listening on %s with %d worker%s", M.l.name, M.cf.nworkers,
	    M.cf.nworkers == 1 ? "" : "s");
	proto_sd_notify("READY=1");
	proto_sd_watchdog();

	serve();

	log_info("stopped");
	return 0;
}
