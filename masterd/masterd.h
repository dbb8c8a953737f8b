/*
 * parley-masterd: accepts connections, hands each fd to the least-loaded
 * worker, supervises its children: the workers and the notifier (see
 * docs/internals.md, "Worker life").
 *
 *	config.c	masterd's settings (checked by lib/settings.c)
 *	procs.c		the process table: each role, how many, its messages
 *	policy.c	who may take a connection, least-loaded choice, backoff
 *	listen.c	our own socket or systemd's, and the accept loop
 *	workers.c	spawn, channel, respawn, reload, quit, kill (every row)
 *	main.c		signals, timer and the loop (lib/loop.c)
 *	envcmd.c	--env, --env-fill: make run's .env (lib/envfile.c)
 */
#ifndef PARLEY_MASTERD_H
#define PARLEY_MASTERD_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "loop.h"
#include "proto.h"

#define MASTERD_NAME		"parley-masterd"
#define WORKERD_NAME		"parley-workerd"
#define FETCH_NAME		"parley-fetch"

#define DEFAULT_PORT		4000
#define DEFAULT_HOST		"0.0.0.0"
#define DEFAULT_GRACE_MS	10000
#define MAX_GRACE_MS		(24 * 3600 * 1000)
#define MAX_WORKERS		256
#define LISTEN_BACKLOG		4096
#define SD_LISTEN_FDS_START	3
#define CHANNEL_FD		3	/* the worker's end of its channel */

/* A worker that dies before this (or before WM_READY) failed to start. */
#define STARTUP_WINDOW_MS	2000
/* A worker not ready by then is killed (and counts as a start-up failure). */
#define READY_TIMEOUT_MS	10000
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		30000
/*
 * Past its grace a quitting worker gets this long to exit by itself: to
 * store the replies it stopped then (workerd's END_MS, less) and go.
 */
#define KILL_SLACK_MS		2500
/* After its workers, masterd's own exit (what systemd is asked to allow). */
#define STOP_EXIT_MS		5000
/* Out of fds: stop accepting this long rather than spin on EMFILE. */
#define ACCEPT_PAUSE_MS		100
/* Accepts per wakeup, so channels and signals are never starved. */
#define ACCEPT_BATCH		256
/*
 * Bytes queued on a worker's channel (29 per MW_CONN): past SOFT prefer
 * other workers, past HARD send it nothing (it has stopped reading).
 */
#define CHAN_SOFT_BYTES		(1024)
#define CHAN_HARD_BYTES		(16 * 1024)
/*
 * Connections taken back from a lost worker's queue, waiting for another
 * worker (workers.c); past this many the oldest is closed.
 */
#define PARKED_MAX		4096

/* The programs masterd's children run, found beside masterd (config.c). */
enum proc_prog {
	PROG_WORKERD,		/* parley-workerd (or PARLEY_WORKERD) */
	PROG_FETCH,		/* parley-fetch: it alone links the PDF reader */
	PROG_MAX
};

/* The children masterd runs; a role is its row's index. */
enum proc_role {
	ROLE_WORKER,		/* serves the connections masterd hands over */
	ROLE_NOTIFIER,		/* one: delivers webhooks (workerd/notify/) */
	ROLE_FETCHER,		/* one: the knowledge base's crawls (workerd/fetch/) */
	ROLE_MAX
};

struct config {
	char host[256];
	int port;
	int nworkers;
	int grace_ms;
	int stall_ms;		/* a child silent this long is stuck */
	int listen_fds;		/* >0: systemd handed us fd 3 */
	char prog[PROG_MAX][PATH_MAX];	/* each program's path (config.c) */
	/* PROTO_MW_SETTINGS's payload, a row's (enum proc_role) each */
	uint8_t *wsettings[ROLE_MAX];
	size_t wsettings_len[ROLE_MAX];
};

/* config.c */
/* PARLEY_WORKERS's default: ncpu, within 1..MAX_WORKERS. */
int default_workers(long ncpu);
int parse_listen_fds(const char *pid, const char *fds, pid_t self, int *);
int parse_host(const char *, char *, size_t);
struct settings;
/* From the checked settings (settings_load) and systemd's variables. */
void config_load(struct config *, const struct settings *);
/* The programs of cf can be run by us (as we are now); else fatal. */
void config_programs_check(const struct config *cf);
/*
 * env (NULL-terminated "NAME=value" strings) as a child gets it: every
 * variable but the settings' secrets (SETTING_SECRET: the children take
 * what their row gives them from MW_SETTINGS) and PARLEY_CHANNEL_FD,
 * then PARLEY_CHANNEL_FD=3. A new array of env's own strings (free the
 * array alone), or NULL out of memory.
 */
char **config_child_env(char *const *env);

/* envcmd.c: `--env FILE`, `--env-fill FILE NAME...` (argv[1] is the
   option); the exit status. */
int envcmd_main(int argc, char *argv[]);
/*
 * `--check FILE`: every variable of the env file at path set in this
 * process's environment, as systemd's EnvironmentFile= gives them (one
 * reader: lib/envfile.c); exits 1 naming the line when it cannot be
 * read so.
 */
void envcmd_load(const char *path);

/* procs.c */
#define PROC_N_WORKERS	(-1)	/* a row's count: PARLEY_WORKERS */
#define PROC_MSGS_MAX	6	/* message types a row lists each way */
#define PROC_SECRETS_MAX	6	/* secrets a row lists, and its NULL */

struct proc {
	const char *name;	/* the logs': "worker 3 (pid 812) ready" */
	enum proc_role role;
	enum proc_prog prog;	/* the program it runs */
	const char *role_arg;	/* execv'd as "<prog> --role <arg>"; NULL: none */
	int count;		/* how many run: PROC_N_WORKERS or a number */
	uint16_t gets[PROC_MSGS_MAX];	/* masterd -> it; 0 ends the list */
	uint16_t sends[PROC_MSGS_MAX];	/* it -> masterd; 0 ends the list */
	/*
	 * The settings' secrets (SETTING_SECRET rows, by name) its
	 * MW_SETTINGS carries; NULL ends the list. Any other is withheld
	 * (settings_msg_encode).
	 */
	const char *secrets[PROC_SECRETS_MAX];
};

/* The row of role, or NULL past the table. */
const struct proc *proc_of(enum proc_role);
/* How many of p should run, with PARLEY_WORKERS at nworkers. */
int proc_want(const struct proc *, int nworkers);
/* 1 when masterd sends (gets) or accepts (sends) type on p's channel. */
int proc_gets(const struct proc *, uint16_t type);
int proc_sends(const struct proc *, uint16_t type);
/* 1 when p's children take connections (MW_CONN is in its gets). */
int proc_takes_conns(const struct proc *);

/* policy.c */
struct pick_cand {
	uint64_t load;		/* last WM_LOAD + connections sent since */
	size_t queued;		/* bytes waiting on its channel */
	uint64_t last_pick;	/* when it was last chosen; 0 never */
};
int pick_cmp(const struct pick_cand *, const struct pick_cand *);
int pick_best(const struct pick_cand *, size_t);
int backoff_ms(unsigned fails);
struct worker;
/*
 * 1 when w may be handed a connection now: its row takes connections,
 * it is ready, not quitting, its channel open and not past
 * CHAN_HARD_BYTES.
 */
int pick_can_take(const struct worker *);

/* listen.c */
struct listener {
	int fd;
	struct loop_io io;	/* in the loop while armed */
	int armed;		/* registered with the loop */
	long long paused_until;	/* after EMFILE and friends */
	long long warned;	/* last time we logged an accept failure */
	char name[128];		/* for the logs */
};
void listener_open(struct listener *, const struct config *);
void listener_accept(struct listener *, long long now);
/* Watches the listener only while a worker can take a connection. */
void listener_sync(struct listener *, long long now);
void listener_close(struct listener *);
void sockaddr_fmt(const void *sa, socklen_t, char *, size_t);

/* workers.c */
/*
 * A child: a parley-workerd process in the role of its row (procs.c),
 * a worker or the notifier, from fork() until waitpid().
 */
struct worker {
	TAILQ_ENTRY(worker) entry;
	const struct proc *proc;	/* its row */
	uint32_t id;		/* for epoll and lookups; never reused */
	uint32_t num;		/* its row's n-th start: "worker 3" */
	unsigned gen;		/* generation: SIGHUP starts a new one */
	pid_t pid;		/* -1 once reaped */
	struct pchan ch;
	struct loop_io io;	/* the channel in the loop, while ch_open */
	int ch_open;
	int ev_out;		/* EPOLLOUT registered */
	int ready;		/* WM_READY arrived */
	int quitting;		/* gets no connections: told to quit, or lost */
	int quit_sent;		/* MW_QUIT queued */
	int killed;		/* SIGKILL sent */
	int established;	/* survived its start-up window */
	int clogged;		/* channel queue past CHAN_HARD_BYTES */
	long long started;
	long long kill_at;	/* 0: no deadline */
	long long ping_out;	/* its oldest MW_PING unanswered; 0: none */
	long long ping_at;	/* its next MW_PING */
	uint32_t pings;		/* MW_PINGs sent */
	uint32_t load;		/* last WM_LOAD */
	uint32_t sent;		/* MW_CONN sent since that report */
	uint64_t last_pick;
};

/*
 * Every row's children, as workers (they are parley-workerd processes);
 * their channels go in the loop (loop_init() first).
 */
void workers_init(const struct config *, const sigset_t *childmask);
void workers_event(uint32_t id, uint32_t events, long long now);
void workers_reap(long long now);
void workers_tick(long long now);
void workers_maintain(long long now);
void workers_reload(long long now);
void workers_stop(long long now);
void workers_kill_all(void);
void workers_sync(void);
int workers_empty(void);
long long workers_next_deadline(long long now);
/* The ready worker that should take the next connection; never a notifier. */
struct worker *workers_pick(void);
/*
 * Hands an accepted connection to w with its client's address (accept4's:
 * the worker asks the socket nothing); *fdp becomes -1 (closed on
 * failure, and refused for a row that takes no connections). 0, or -1.
 */
struct ipaddr;
int worker_hand_conn(struct worker *, int *fdp, const struct ipaddr *peer);

static inline long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
