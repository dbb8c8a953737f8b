/*
 * parley-masterd: the process systemd starts. It owns the listening
 * socket, starts PARLEY_WORKERS parley-workerd processes and hands each
 * accepted connection to the least-loaded one over its channel.
 *
 * One epoll loop; signals arrive through a signalfd and only set flags,
 * and the loop acts on them once the batch of events is handled (as in
 * nginx's process cycle). Every deadline lives in one timerfd.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

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

extern char **environ;

static struct {
	struct config cf;
	struct listener l;
	int epfd;
	int sigfd;
	int tfd;
	int got_chld;
	int got_hup;
	int got_term;
	int stopping;
} M = { .epfd = -1, .sigfd = -1, .tfd = -1 };

static void
ev_add(int fd, enum ev_kind kind)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = EV_DATA(kind, 0);
	if (epoll_ctl(M.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl");
}

/* Blocks the signals we read from the signalfd; *orig is for workers. */
static void
signals_init(sigset_t *orig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, orig) < 0)
		fatal("sigprocmask");
	/* Every write we make handles EPIPE itself. */
	signal(SIGPIPE, SIG_IGN);
	if ((M.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	ev_add(M.sigfd, EV_SIGNAL);
}

static void
signals_read(void)
{
	struct signalfd_siginfo si;

	while (read(M.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			M.got_chld = 1;
			break;
		case SIGHUP:
			M.got_hup = 1;
			break;
		case SIGTERM:
		case SIGINT:
			M.got_term = (int)si.ssi_signo;
			break;
		}
	}
}

static void
timer_drain(void)
{
	uint64_t n;

	if (read(M.tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd read");
}

/* One timer for every deadline: the earliest one wakes us up. */
static void
timer_arm(long long now)
{
	struct itimerspec its;
	long long t;

	t = workers_next_deadline(now);
	if (M.l.fd >= 0 && M.l.paused_until > now &&
	    (t == 0 || M.l.paused_until < t))
		t = M.l.paused_until;
	memset(&its, 0, sizeof(its));
	if (t != 0) {
		if (t <= now)
			t = now + 1;
		its.it_value.tv_sec = t / 1000;
		its.it_value.tv_nsec = (t % 1000) * 1000000;
	}
	if (timerfd_settime(M.tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		fatal("timerfd_settime");
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

/* Listener first, so nothing new arrives; then every worker drains. */
static void
begin_stop(long long now, int signo)
{
	log_info("%s: stopping, workers get %d ms to finish",
	    signo == SIGINT ? "SIGINT" : "SIGTERM", M.cf.grace_ms);
	proto_sd_notify("STOPPING=1");
	M.stopping = 1;
	listener_close(&M.l, M.epfd);
	workers_stop(now);
}

static void
begin_reload(long long now)
{
	char state[64];
	struct timespec ts;

	log_info("SIGHUP: starting %d new workers", M.cf.nworkers);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	proto_sd_notify(state);
	workers_reload(now);
}

static void
loop(void)
{
	struct epoll_event evs[64];
	long long now;
	int i, n, sig;

	for (;;) {
		now = mono_ms();
		listener_sync(&M.l, M.epfd, now);
		workers_sync();
		timer_arm(now);

		n = epoll_wait(M.epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		now = mono_ms();
		for (i = 0; i < n; i++) {
			switch (EV_KIND(evs[i].data.u64)) {
			case EV_LISTEN:
				listener_accept(&M.l, now);
				break;
			case EV_SIGNAL:
				signals_read();
				break;
			case EV_TIMER:
				timer_drain();
				break;
			case EV_WORKER:
				workers_event(EV_ID(evs[i].data.u64),
				    evs[i].events, now);
				break;
			}
		}

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

/* The workers load the pair; a bad one fails here, once. */
static void
tls_check(const struct settings *st)
{
	char err[SETTINGS_ERR_MAX];
	SSL_CTX *ctx;

	if (st->tls_cert == NULL)
		return;
	if ((ctx = tls_ctx_new(st->tls_cert, st->tls_key, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	SSL_CTX_free(ctx);
}

int
main(int argc, char *argv[])
{
	struct settings settings;
	struct privuser pu;
	sigset_t orig;
	int check;

	setproctitle_init(argc, argv, environ);
	setproctitle("-%s", MASTERD_NAME);
	log_init(MASTERD_NAME);
	if (argc == 2 && strcmp(argv[1], "--settings") == 0) {
		/* The table, for the docs and their test. */
		settings_print_table();
		return 0;
	}
	check = argc == 2 && strcmp(argv[1], "--check") == 0;
	if (argc > 1 && !check)
		fatalx("usage: %s [--check | --settings] (settings come from "
		    "the environment, see docs/internals.md)", MASTERD_NAME);

	/*
	 * Every setting, the workers' and storaged's too: refuse a bad one
	 * now, with its message, before anything is forked or bound, rather
	 * than respawn workers that would die on it.
	 */
	settings_load(&settings, SETTINGS_P_ALL);
	config_load(&M.cf, &settings);
	privdrop_init(&pu, settings.user);
	tls_check(&settings);
	settings_free(&settings);
	if (check) {
		/* make run asks before it starts anything. */
		log_info("the settings are valid");
		return 0;
	}
	raise_nofile();

	if ((M.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	signals_init(&orig);
	if ((M.tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		fatal("timerfd_create");
	ev_add(M.tfd, EV_TIMER);

	listener_open(&M.l, &M.cf);
	/* Bound (a port below 1024 may have needed root): the rest does not. */
	privdrop_apply(&pu);
	workers_init(&M.cf, M.epfd, &orig);
	workers_maintain(mono_ms());
	log_info("listening on %s with %d worker%s", M.l.name, M.cf.nworkers,
	    M.cf.nworkers == 1 ? "" : "s");
	proto_sd_notify("READY=1");

	loop();

	close(M.tfd);
	close(M.sigfd);
	close(M.epfd);
	log_info("stopped");
	return 0;
}
