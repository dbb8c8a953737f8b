/*
 * parley-storaged: owns the LMDB environment and answers the other
 * processes over $PARLEY_RUN_DIR/storaged.sock, and over TLS on
 * PARLEY_STORAGED_LISTEN when set. Runs on lib/loop.c:
 * SIGTERM/SIGINT stop it (clients get DRAIN_MS to read their replies),
 * SIGHUP is logged.
 */
#include <sys/file.h>
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

#include "cluster.h"
#include "kbusage.h"
#include "log.h"
#include "presence.h"
#include "setupcounts.h"
#include "privdrop.h"
#include "proto.h"
#include "repl.h"
#include "settings.h"
#include "staddr.h"
#include "tlschan.h"
#include "mailbox.h"
#include "storaged.h"
#include "store.h"
#include "widgetstore.h"
#include "msgtab.h"
#include "version.h"

/* PARLEY_SYNC (enum settings_sync): how a group commit reaches the disk. */
static const struct {
	const char *name;
	int flags;		/* store_open() */
	int timer;		/* needs the sync timer */
} sync_modes[] = {
	[SETTINGS_SYNC_FULL] = { "full", 0, 0 },
	[SETTINGS_SYNC_NOMETA] = { "nometa", 0, 0 },	/* as full (STORAGE.md) */
	[SETTINGS_SYNC_INTERVAL] = { "interval", STORE_F_NOSYNC, 1 },
	/* as full, and acknowledged once the standby has it (repl.c) */
	[SETTINGS_SYNC_REPLICA] = { "replica", 0, 0 },
};

static void
usage(void)
{
	fprintf(stderr, "usage: parley-storaged [-v | --version]\n"
	    "settings come from PARLEY_DATA_DIR, PARLEY_RUN_DIR, "
	    "PARLEY_MAP_SIZE_MB, PARLEY_RATE_KEYS, PARLEY_SYNC, PARLEY_WAL_MB, "
	    "PARLEY_SYNC_INTERVAL_MS, PARLEY_ROLE, PARLEY_PRIMARY, "
	    "PARLEY_REPLICA_WAIT, PARLEY_ETCD, PARLEY_LEASE_TTL_S, "
	    "PARLEY_ADVERTISE, PARLEY_CLUSTER_NAME, WIDGET_SESSION_IDLE_DAYS, "
	    "WIDGET_NEW_SESSIONS_PER_MINUTE, PARLEY_AWAY_AFTER_MS, "
	    "PARLEY_STORAGED_LISTEN, PARLEY_STORAGED_TLS_PEER_MAX, "
	    "PARLEY_STORAGED_TLS_BUFFER_MB, PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, "
	    "PARLEY_CLUSTER_KEY, PARLEY_LOG_LEVEL (parley.env(5))\n");
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
 * Lock file name in dir (NULL: dir itself), held for our whole life: in
 * the run directory, two storaged racing for the same socket would
 * otherwise both find it stale, and one would unlink the other's; in the
 * data directory, a second one (another run directory) would open the
 * same LMDB and log, and wait for ever on the first's write lock. The fd.
 */
static int
lock_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir,
	    name != NULL ? "/" : "", name != NULL ? name : "") >= sizeof(path))
		fatalx("%s: path too long", dir);
	if ((fd = name != NULL ? open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600) : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			fatalx("another storaged is running (%s is locked)",
			    path);
		fatal("flock %s", path);
	}
	return fd;
}

/* Everything main() sets up and the loop's callbacks need. */
static struct {
	struct settings set;
	struct privuser pu;
	char sockpath[PATH_MAX];
	int lockfd, datalockfd, datadirfd;
	struct store *st;
	struct ratelimit *rl;
	struct server *srv;
	int quitting;
	struct loop_timer drain;	/* DRAIN_MS after the signal to stop */
	/* PARLEY_STORAGED_LISTEN: its context and socket; tfd -1 without */
	struct ssl_ctx_st *tctx;
	int tfd;
	char tname[STADDR_TEXT_MAX];
} S = { .lockfd = -1, .datalockfd = -1, .datadirfd = -1,
    .tfd = -1 };

/* Settings (a bad one exits 1), then -v. */
static void
setup_settings(int argc, char *argv[])
{
	int ch;

	/* Ours only (storaged starts apart from masterd). */
	settings_load(&S.set, SETTINGS_P_STORAGED);
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
	privdrop_init(&S.pu, S.set.user);
	if ((size_t)snprintf(S.sockpath, sizeof(S.sockpath), "%s/%s",
	    S.set.run_dir, STORAGED_SOCK) >= sizeof(S.sockpath))
		fatalx("%s: path too long", S.set.run_dir);
}

/*
 * PARLEY_STORAGED_LISTEN: the cluster's files read and the port bound
 * while we may still be root (a key readable by root alone works); a
 * wrong file or a taken port stops us with one line.
 */
static void
setup_net(void)
{
	struct staddr a;
	char err[SETTINGS_ERR_MAX];
	const char *v = S.set.storaged_listen;

	if (v == NULL)
		return;
	if (staddr_parse(v, strlen(v), &a, err, sizeof(err)) < 0)
		fatalx("PARLEY_STORAGED_LISTEN: %s", err);
	if ((S.tctx = tlschan_ctx_new(1, S.set.cluster_ca, S.set.cluster_cert,
	    S.set.cluster_key, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((S.tfd = staddr_listen(&a, err, sizeof(err))) < 0)
		fatalx("PARLEY_STORAGED_LISTEN: %s", err);
	strlcpy(S.tname, a.text, sizeof(S.tname));
}

/* The directories, root dropped, the run directory locked. */
static void
setup_dirs(void)
{
	/* Whatever we create is ours alone: the LMDB files, the socket. */
	umask(077);
	mkdir_p(S.set.data_dir, &S.pu);
	mkdir_p(S.set.run_dir, &S.pu);
	/* Started as root: nothing below needs it. */
	privdrop_apply(&S.pu);
	S.lockfd = lock_dir(S.set.run_dir, STORAGED_LOCK);
	S.datalockfd = lock_dir(S.set.data_dir, STORAGED_DATA_LOCK);
	/*
	 * The data directory itself too: storaged.data.lock can be deleted
	 * while we run (a second storaged would then take a new one and
	 * hang on LMDB's write lock), the directory we hold open cannot.
	 */
	S.datadirfd = lock_dir(S.set.data_dir, NULL);
}

static void
on_stop(int signo)
{
	if (S.quitting)
		return;
	log_info("%s: finishing and exiting", strsignal(signo));
	/* New clients find no socket; old ones get their answers. */
	S.quitting = 1;
	loop_timer_after(&S.drain, DRAIN_MS);
	proto_sd_notify("STOPPING=1");
	server_quit(S.srv);
	if (unlink(S.sockpath) < 0 && errno != ENOENT)
		log_warn("unlink %s", S.sockpath);
}

static void
on_hup(int signo)
{
	log_info("SIGHUP: storaged has nothing to reload");
}

static void
drain_over(void *arg)
{
	loop_stop();
}

/*
 * Replication's settings: PARLEY_ROLE auto is the etcd lease's to decide
 * and takes no writes (fenced) until it does; the backlog is four logs'
 * worth.
 */
static void
setup_repl(struct repl_settings *rs)
{
	char err[SETTINGS_ERR_MAX];
	static const int roles[] = { [SETTINGS_ROLE_PRIMARY] = ST_REPL_PRIMARY,
	    [SETTINGS_ROLE_STANDBY] = ST_REPL_STANDBY,
	    [SETTINGS_ROLE_AUTO] = ST_REPL_FENCED };

	memset(rs, 0, sizeof(*rs));
	rs->role = roles[S.set.role];
	rs->primary = S.set.primary;
	rs->advertise = S.set.advertise;
	/* A primary at a tls:// address (PARLEY_PRIMARY, or etcd's) is dialled with it. */
	if (S.set.cluster_ca != NULL && (rs->tls = tlschan_ctx_new(0,
	    S.set.cluster_ca, S.set.cluster_cert, S.set.cluster_key, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	rs->sync_replica = S.set.sync_mode == SETTINGS_SYNC_REPLICA;
	rs->wait_block = S.set.replica_wait == SETTINGS_WAIT_BLOCK;
	rs->backlog_max = (size_t)S.set.wal_mb * 4 * 1024 * 1024;
	rs->expect_standby = S.set.storaged_listen != NULL ||
	    rs->sync_replica || rs->role != ST_REPL_PRIMARY;
}

/* The loop, its signals, the store and the server on its socket. */
static void
setup_server(void)
{
	const char *sync = sync_modes[S.set.sync_mode].name;
	struct repl_settings rs;

	loop_init();
	/* Writes to a gone client fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	loop_signal(SIGTERM, on_stop);
	loop_signal(SIGINT, on_stop);
	loop_signal(SIGHUP, on_hup);
	loop_timer_init(&S.drain, drain_over, NULL);
	setup_repl(&rs);
	if ((S.st = store_open(S.set.data_dir, S.set.map_size_mb,
	    sync_modes[S.set.sync_mode].flags |
	    (rs.role != ST_REPL_PRIMARY ? STORE_F_STANDBY : 0))) == NULL)
		fatalx("%s: cannot open the store", S.set.data_dir);
	/* The history's digest, for a standby that may resume from it. */
	if (rs.expect_standby)
		store_digest_on(S.st);
	/* A mistyped PARLEY_DATA_DIR shows here. */
	if (store_created(S.st))
		log_warnx("created a new database in %s", S.set.data_dir);
	store_set_wal_max(S.st, (size_t)S.set.wal_mb * 1024 * 1024);
	if ((S.rl = ratelimit_new(S.set.rate_keys)) == NULL)
		fatal("rate table");
	S.srv = server_new(S.st, S.rl, listener_open(S.sockpath));
	if (S.tfd >= 0) {
		/* The server owns them now. */
		server_listen_tls(S.srv, S.tfd, S.tctx, S.tname,
		    S.set.tls_peer_max,
		    (size_t)S.set.tls_buffer_mb * 1024 * 1024);
		log_info("serving TLS clients of the cluster's CA on %s",
		    S.tname);
	}
	store_wsess_settings(S.st, (uint64_t)S.set.session_idle_days *
	    DAY_MS, S.set.new_sessions_per_min);
	store_presence_settings(S.st, S.set.away_after_ms);
	store_kb_settings(S.st, (uint64_t)S.set.kb_quota_mb << 20);
	store_setup_start(S.st);
	store_mail_settings(S.st, S.set.smtp_url != NULL);
	/* A primary's duties (the sweep), or the standby's link. */
	repl_start(S.srv, S.st, &rs);
	/* PARLEY_ROLE=auto: etcd's lease decides which, from now on. */
	cluster_start(&S.set);
	if (sync_modes[S.set.sync_mode].timer) {
		server_set_sync(S.srv, (int)S.set.sync_interval_ms);
		log_info("PARLEY_SYNC=%s: a commit is acknowledged before it "
		    "is on disk; synced within %u ms", sync,
		    S.set.sync_interval_ms);
	}
	log_info("serving %s on %s (map %u MiB, a checkpoint every %zu KiB "
	    "of log, sync %s, %s)", S.set.data_dir, S.sockpath,
	    S.set.map_size_mb, store_checkpoint_every(S.st) >> 10, sync,
	    S.set.role == SETTINGS_ROLE_AUTO ? "role auto: etcd decides" :
	    rs.role == ST_REPL_STANDBY ? "standby" : "primary");
}

/* Until stopped: once stopping, until idle or the drain runs out. */
static void
serve(void)
{
	while (!loop_stopped() && !(S.quitting && server_idle(S.srv))) {
		loop_once(server_timeout(S.srv));
		server_step(S.srv);
	}
}

static void
teardown(void)
{
	if (!server_idle(S.srv))
		log_warnx("exiting with replies undelivered");
	/* Nothing more is acknowledged: a standby may take over now. */
	cluster_stop();
	sweep_stop();
	repl_stop();
	server_sync(S.srv);
	server_free(S.srv);
	ratelimit_free(S.rl);
	store_close(S.st);
	close(S.lockfd);
	close(S.datalockfd);
	close(S.datadirfd);
	settings_free(&S.set);
}

int
main(int argc, char *argv[], char *envp[])
{
	version_arg(argc, argv, STORAGED_NAME, PROTO_VERSION,
	    proto_layouts_id());
	setproctitle_init(argc, argv, envp);
	log_init(STORAGED_NAME);
	privdrop_nodump();
	setup_settings(argc, argv);
	setup_net();
	setproctitle("-%s", STORAGED_NAME);
	setup_dirs();
	setup_server();
	proto_sd_notify("READY=1");
	proto_sd_watchdog();
	serve();
	teardown();
	log_info("exiting");
	return 0;
}
