/*
 * parley-storaged: owns the LMDB environment and answers the other
 * processes over $PARLEY_RUN_DIR/storaged.sock.
 */
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "proto.h"
#include "settings.h"
#include "storaged.h"
#include "store.h"

/* PARLEY_SYNC (enum settings_sync): how a group commit reaches the disk. */
static const struct {
	const char *name;
	int flags;		/* store_open() */
	int timer;		/* needs the sync timer */
} sync_modes[] = {
	[SETTINGS_SYNC_FULL] = { "full", 0, 0 },
	[SETTINGS_SYNC_NOMETA] = { "nometa", STORE_F_NOMETASYNC, 1 },
	[SETTINGS_SYNC_INTERVAL] = { "interval", STORE_F_NOSYNC, 1 },
};

static void
usage(void)
{
	fprintf(stderr, "usage: parley-storaged [-v]\n"
	    "settings come from PARLEY_DATA_DIR, PARLEY_RUN_DIR, "
	    "PARLEY_MAP_SIZE_MB, PARLEY_RATE_KEYS, PARLEY_SYNC, "
	    "PARLEY_SYNC_INTERVAL_MS, PARLEY_LOG_LEVEL\n");
	exit(1);
}

/*
 * mkdir -p with mode 0700 for what it creates. As root with PARLEY_USER,
 * what it creates goes to that user, and so do dir itself and what is
 * directly in it (the LMDB files, the lock, a stale socket), so the user
 * can go on after we drop root.
 */
static void
mkdir_p(const char *dir, const struct privuser *pu)
{
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];
	char path[PATH_MAX], *p;
	struct stat sb;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		fatalx("%s: path too long", dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0700) == 0)
				privdrop_chown(pu, path);
			else if (errno != EEXIST)
				fatal("mkdir %s", path);
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	if (stat(dir, &sb) < 0)
		fatal("%s", dir);
	if (!S_ISDIR(sb.st_mode))
		fatalx("%s is not a directory", dir);
	if (!pu->set || geteuid() != 0)
		return;
	privdrop_chown(pu, dir);
	if ((d = opendir(dir)) == NULL)
		fatal("%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
		    de->d_name) >= sizeof(sub))
			fatalx("%s/%s: path too long", dir, de->d_name);
		privdrop_chown(pu, sub);
	}
	closedir(d);
}

/*
 * Held for our whole life: two storaged racing for the same socket would
 * otherwise both find it stale, and one would unlink the other's.
 */
static int
lock_rundir(const char *rundir)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", rundir,
	    STORAGED_LOCK) >= sizeof(path))
		fatalx("%s: path too long", rundir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			fatalx("another storaged is running (%s is locked)",
			    path);
		fatal("flock %s", path);
	}
	return fd;
}

static int
signals_open(void)
{
	sigset_t set;
	int fd;

	/* Writes to a gone client fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	return fd;
}

/* Returns 1 once a signal asks us to stop. */
static int
signals_read(int fd)
{
	struct signalfd_siginfo si;
	int quit = 0;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("%s: finishing and exiting",
			    strsignal((int)si.ssi_signo));
			quit = 1;
			break;
		case SIGHUP:
			log_info("SIGHUP: storaged has nothing to reload");
			break;
		}
	}
	return quit;
}

int
main(int argc, char *argv[], char *envp[])
{
	struct epoll_event ev, evs[64];
	struct evsrc sigev = { .kind = EV_SIGNAL };
	struct server *srv;
	struct store *st;
	struct ratelimit *rl;
	struct settings set;
	const char *datadir, *rundir, *syncstr;
	struct privuser pu;
	char sockpath[PATH_MAX];
	long long map_mb, rate_keys, deadline = 0, left, sync_ms;
	int ch, epfd, sigfd, lfd, lockfd, n, i, timeout, quitting = 0, mode;

	setproctitle_init(argc, argv, envp);
	log_init(STORAGED_NAME);
	/* Ours only (storaged starts apart from masterd): a bad one exits 1. */
	settings_load(&set, SETTINGS_P_STORAGED);
	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	setproctitle("-%s", STORAGED_NAME);

	privdrop_init(&pu, set.user);
	datadir = set.data_dir;
	rundir = set.run_dir;
	map_mb = set.map_size_mb;
	rate_keys = set.rate_keys;
	mode = set.sync_mode;
	syncstr = sync_modes[mode].name;
	sync_ms = set.sync_interval_ms;
	if ((size_t)snprintf(sockpath, sizeof(sockpath), "%s/%s", rundir,
	    STORAGED_SOCK) >= sizeof(sockpath))
		fatalx("%s: path too long", rundir);

	/* Whatever we create is ours alone: the LMDB files, the socket. */
	umask(077);
	mkdir_p(datadir, &pu);
	mkdir_p(rundir, &pu);
	/* Started as root: nothing below needs it. */
	privdrop_apply(&pu);
	lockfd = lock_rundir(rundir);
	sigfd = signals_open();

	if ((st = store_open(datadir, (size_t)map_mb,
	    sync_modes[mode].flags)) == NULL)
		fatalx("%s: cannot open the store", datadir);
	if ((rl = ratelimit_new((size_t)rate_keys)) == NULL)
		fatal("rate table");
	lfd = listener_open(sockpath);

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &sigev;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev) < 0)
		fatal("epoll_ctl signalfd");
	srv = server_new(st, rl, epfd, lfd);
	if (sync_modes[mode].timer) {
		server_set_sync(srv, (int)sync_ms);
		log_info("PARLEY_SYNC=%s: a commit is acknowledged before it "
		    "is on disk; synced within %lld ms", syncstr, sync_ms);
	}

	log_info("serving %s on %s (map %lld MiB, sync %s)", datadir,
	    sockpath, map_mb, syncstr);
	proto_sd_notify("READY=1");

	for (;;) {
		timeout = server_timeout(srv);
		if (quitting) {
			left = deadline - proto_mono_ms();
			if (server_idle(srv) || left <= 0)
				break;
			if (timeout < 0 || timeout > left)
				timeout = (int)left;
		}
		if ((n = epoll_wait(epfd, evs, 64, timeout)) < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct evsrc *src = evs[i].data.ptr;

			if (src->kind != EV_SIGNAL) {
				server_event(srv, src, evs[i].events);
				continue;
			}
			if (signals_read(sigfd) && !quitting) {
				/* New clients find no socket; old ones get their answers. */
				quitting = 1;
				deadline = proto_mono_ms() + DRAIN_MS;
				proto_sd_notify("STOPPING=1");
				server_quit(srv);
				if (unlink(sockpath) < 0 && errno != ENOENT)
					log_warn("unlink %s", sockpath);
			}
		}
		server_step(srv);
	}

	if (!server_idle(srv))
		log_warnx("exiting with replies undelivered");
	server_sync(srv);
	server_free(srv);
	ratelimit_free(rl);
	store_close(st);
	close(epfd);
	close(sigfd);
	close(lockfd);
	settings_free(&set);
	log_info("exiting");
	return 0;
}
