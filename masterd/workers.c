/*
 * masterd's children, every row of the process table (procs.c): the
 * workers and the notifier. Spawn, talk over their channel, replace the
 * dead, reload, quit and kill (docs/internals.md, "Worker life"); each
 * child knows its row, and each row has its own count, start-up backoff
 * and restart count. What follows says "worker" for any child.
 *
 * A child gets its row's MW_SETTINGS (config.c: the secrets its row
 * lists and no other) and masterd's environment without any secret of
 * the settings' table (config_child_env), so a fetcher or a notifier
 * subverted holds no key it does not use.
 *
 * A worker record lives from fork() until waitpid() reaps the process;
 * its channel may close earlier. Once a worker is "quitting" (told to
 * leave, or its channel broke) it gets no more connections and no longer
 * counts toward its row's number, so a replacement starts at once.
 *
 * Workers are found by id (epoll) or pid (waitpid), never by a pointer
 * kept elsewhere, so freeing one can't leave anything dangling.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "masterd.h"
#include "metricsmsg.h"
#include "settings.h"

static TAILQ_HEAD(, worker) workers = TAILQ_HEAD_INITIALIZER(workers);

static struct {
	const struct config *cf;
	sigset_t childmask;	/* the signal mask workers start with */
	uint32_t next_id;
	unsigned gen;		/* current generation, of every row */
	uint64_t picks;		/* MW_CONN counter, for round-robin ties */
	uint64_t run;		/* our start (MW_RESTARTS, metricsmsg.h) */
	int stopping;
	int reloading;		/* READY=1 is owed to systemd */
	int reload_failed;	/* systemd's STATUS says a reload failed */
} W;

/* Each row's state, by role (procs.c). */
static struct row {
	unsigned fails;		/* consecutive start-up failures */
	long long throttle_until; /* no spawning before this */
	uint32_t restarts;	/* lost and replaced (the workers': /metrics) */
	uint32_t nstarted;	/* started so far: the next one's num */
} rows[ROLE_MAX];

/*
 * Connections taken back from a lost worker's channel queue (never sent
 * to it), oldest first: each goes to another worker as one can take it
 * (workers_maintain).
 */
static struct {
	struct parked {
		int fd;
		struct ipaddr peer;
	} q[PARKED_MAX];
	size_t head, n;
} P;

/* For "%s %u": "worker 3", "notifier 1". */
#define WHO(w)	(w)->proc->name, (w)->num

static void worker_lost(struct worker *, long long);

/*
 * The window in which a child that dies counts as failing its start:
 * STARTUP_WINDOW_MS, or the test build's PARLEY_TEST_STARTUP_WINDOW_MS
 * if lower (the tests that kill a child once it runs, not before).
 */
static long long
startup_window_ms(void)
{
	return (long long)SETTINGS_TEST_LOWER("PARLEY_TEST_STARTUP_WINDOW_MS",
	    STARTUP_WINDOW_MS);
}

/* How often a watched child is asked whether its loop turns. */
static long long
ping_every(void)
{
	return (W.cf != NULL ? W.cf->stall_ms : 30000) / 4;
}

/*
 * Queues a message to w when its row gets that type (procs.c). fd, if
 * any, is the channel's from here: closed once sent, or now on failure.
 */
static int
child_send(struct worker *w, uint16_t type, const void *p, size_t len,
    int fd)
{
	if (!proc_gets(w->proc, type)) {
		log_warnx("%s %u takes no %s", WHO(w), proto_msg_name(type));
		if (fd >= 0)
			close(fd);
		errno = EINVAL;
		return -1;
	}
	return pchan_send(&w->ch, type, 0, 0, p, len, fd);
}

/*
 * Tells p's children (only that one, unless NULL) their row's restart
 * count, when the row gets it: the workers', for /metrics.
 */
static void
send_restarts(const struct proc *p, struct worker *only)
{
	struct worker *w;
	struct penc e;

	if (!proc_gets(p, PROTO_MW_RESTARTS))
		return;
	penc_init(&e);
	penc_u32(&e, rows[p->role].restarts);
	penc_u64(&e, W.run);
	TAILQ_FOREACH(w, &workers, entry) {
		if (e.err || w->proc != p || (only != NULL && w != only) ||
		    !w->ch_open)
			continue;
		/* Written when the loop sees EPOLLOUT (workers_sync). */
		if (child_send(w, PROTO_MW_RESTARTS, e.buf, e.len, -1) < 0)
			log_warn("%s %u: MW_RESTARTS", WHO(w));
	}
	penc_free(&e);
}

void
workers_init(const struct config *cf, const sigset_t *childmask)
{
	W.cf = cf;
	W.childmask = *childmask;
	W.run = proto_wall_ms() > MS_RUN_EPOCH_MS ?
	    proto_wall_ms() - MS_RUN_EPOCH_MS : 1;
}

static struct worker *
worker_by_id(uint32_t id)
{
	struct worker *w;

	TAILQ_FOREACH(w, &workers, entry)
		if (w->id == id)
			return w;
	return NULL;
}

static void
worker_kill(struct worker *w)
{
	if (w->pid <= 0 || w->killed)
		return;
	if (kill(w->pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill %s %u (pid %d)", WHO(w), (int)w->pid);
	w->killed = 1;
}

/* A child of row p failed to start: p's next start waits (backoff). */
static void
startup_failed(const struct proc *p, long long now)
{
	struct row *r = &rows[p->role];
	char st[256];
	int ms;

	/* Workers of one batch die together: count the batch once. */
	if (now < r->throttle_until)
		return;
	r->fails++;
	ms = backoff_ms(r->fails);
	r->throttle_until = now + ms;
	log_warnx("%s keeps dying at start-up; next try in %d ms", p->name,
	    ms);
	/*
	 * A reload whose workers cannot start (a bad new certificate, say)
	 * must not leave systemd waiting in "reloading": the old workers
	 * still serve, and the new ones are tried again with the backoff.
	 */
	if (W.reloading) {
		W.reloading = 0;
		W.reload_failed = 1;
		log_warnx("reload failed: the previous %ss keep serving",
		    p->name);
		snprintf(st, sizeof(st), "READY=1\nSTATUS=reload failed: new "
		    "%ss die at start-up (see the log); the previous %ss keep "
		    "serving", p->name, p->name);
		proto_sd_notify(st);
	}
}

/*
 * Keeps fd for the next worker that can take it; 1 when the oldest kept
 * was closed to make room (PARKED_MAX).
 */
static int
conn_park(int fd, const struct ipaddr *peer)
{
	struct parked *k;
	int dropped = 0;

	if (P.n == PARKED_MAX) {
		close(P.q[P.head].fd);
		P.head = (P.head + 1) % PARKED_MAX;
		P.n--;
		dropped = 1;
	}
	k = &P.q[(P.head + P.n) % PARKED_MAX];
	k->fd = fd;
	k->peer = *peer;
	P.n++;
	return dropped;
}

/*
 * The connections w's queue holds whole (MW_CONN frames none of whose
 * bytes, nor the fd, left): parked for another worker, not closed with
 * the channel. Those already written to its socket are lost with it.
 */
static void
conns_take_back(struct worker *w)
{
	uint8_t b[IPADDR_WIRE_LEN];
	struct ipaddr peer;
	size_t len, n = 0, dropped = 0;
	int fd;

	while ((fd = pchan_unqueue_fd(&w->ch, PROTO_MW_CONN, b, sizeof(b),
	    &len)) >= 0) {
		if (ipaddr_dec(b, len, &peer) < 0)
			memset(&peer, 0, sizeof(peer));
		dropped += (size_t)conn_park(fd, &peer);
		n++;
	}
	if (n > 0)
		log_info("%s %u (pid %d) lost: %zu connections not yet sent "
		    "to it go to another worker", WHO(w), (int)w->pid, n);
	if (dropped > 0)
		log_warnx("%zu connections waiting for a worker closed: more "
		    "than %d waited", dropped, PARKED_MAX);
}

/* Parked connections to the workers that can take them, oldest first. */
static void
conns_unpark(void)
{
	struct parked k;
	struct worker *w;

	while (P.n > 0 && (w = workers_pick()) != NULL) {
		k = P.q[P.head];
		P.head = (P.head + 1) % PARKED_MAX;
		P.n--;
		worker_hand_conn(w, &k.fd, &k.peer);
	}
}

/* Closes the parked connections: no worker will take them (a stop). */
static void
conns_drop_parked(void)
{
	if (P.n > 0)
		log_warnx("%zu connections waiting for a worker closed: "
		    "stopping", P.n);
	for (; P.n > 0; P.n--) {
		close(P.q[P.head].fd);
		P.head = (P.head + 1) % PARKED_MAX;
	}
}

/* The channel is finished: a closed socket, an error or a bad message. */
static void
channel_gone(struct worker *w, long long now)
{
	int grace;

	if (!w->ch_open)
		return;
	/* Freed only between rounds of the loop (workers_reap). */
	loop_io_del(&w->io);
	conns_take_back(w);
	/* What else is still queued (fds of other rows' messages) is closed. */
	pchan_close(&w->ch);
	w->ch_open = 0;
	w->ev_out = 0;
	worker_lost(w, now);
	if (w->pid <= 0 || w->killed)
		return;
	if (!w->ready) {
		worker_kill(w);		/* it holds no connection yet */
		return;
	}
	/* Without its channel a worker quits by itself; bound how long. */
	grace = W.cf != NULL ? W.cf->grace_ms : DEFAULT_GRACE_MS;
	if (w->kill_at == 0 || w->kill_at > now + grace + KILL_SLACK_MS)
		w->kill_at = now + grace + KILL_SLACK_MS;
}

/* No more connections for w; start a replacement when it should have one. */
static void
worker_lost(struct worker *w, long long now)
{
	struct row *r = &rows[w->proc->role];

	if (w->quitting)
		return;
	w->quitting = 1;
	if (W.stopping || w->gen != W.gen)
		return;
	/* Lost without being asked to go: a replacement starts. */
	r->restarts++;
	send_restarts(w->proc, NULL);
	if (!w->ready || now - w->started < startup_window_ms())
		startup_failed(w->proc, now);
	else
		r->fails = 0;
}

static int
worker_flush(struct worker *w, long long now)
{
	if (!w->ch_open)
		return -1;
	if (pchan_flush(&w->ch) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			log_debug("%s %u: channel closed", WHO(w));
		else
			log_warn("%s %u: channel write", WHO(w));
		channel_gone(w, now);
		return -1;
	}
	if (w->clogged && w->ch.wq_bytes < CHAN_SOFT_BYTES) {
		log_info("%s %u (pid %d) reads its channel again", WHO(w),
		    (int)w->pid);
		w->clogged = 0;
	}
	return 0;
}

/*
 * In the child: p's program, with "--role <arg>" when p has one, and env
 * (config_child_env's: no secret, which MW_SETTINGS alone carries).
 */
static void __attribute__((noreturn))
worker_exec(const struct proc *p, int chfd, char **env)
{
	const char *prog = W.cf->prog[p->prog];
	char *argv[4];

	/* Workers start with the signal state masterd was started with. */
	sigprocmask(SIG_SETMASK, &W.childmask, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* dup2 clears FD_CLOEXEC, but not when chfd already is fd 3. */
	if (dup2(chfd, CHANNEL_FD) < 0 ||
	    fcntl(CHANNEL_FD, F_SETFD, 0) < 0) {
		log_warn("worker channel fd");
		_exit(127);
	}
	argv[0] = (char *)prog;
	argv[1] = p->role_arg != NULL ? "--role" : NULL;
	argv[2] = (char *)p->role_arg;
	argv[3] = NULL;
	execve(prog, argv, env);
	log_warn("exec %s", prog);
	_exit(127);
}

/* The loop's callback: arg is the worker's id (never reused). */
static void
worker_io(int fd, uint32_t events, void *arg)
{
	workers_event((uint32_t)(uintptr_t)arg, events, mono_ms());
}

/* Starts one child of row p. 0, or -1 (start-up failure: the caller's). */
static int
worker_spawn(const struct proc *p, long long now)
{
	struct worker *w;
	char **env;
	int sv[2];
	pid_t pid;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (env = config_child_env(environ)) == NULL) {
		log_warn("worker");
		free(w);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("socketpair");
		free(env);
		free(w);
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		free(env);
		free(w);
		return -1;
	}
	if (pid == 0)
		worker_exec(p, sv[1], env);
	free(env);
	close(sv[1]);

	w->proc = p;
	w->id = ++W.next_id;
	w->num = ++rows[p->role].nstarted;
	w->gen = W.gen;
	w->pid = pid;
	w->started = now;
	w->ch_open = 1;
	TAILQ_INSERT_TAIL(&workers, w, entry);
	log_debug("%s %u started (pid %d)", WHO(w), (int)pid);

	if (pchan_init(&w->ch, sv[0], MASTERD_NAME) < 0) {
		log_warn("%s %u: channel", WHO(w));
		channel_gone(w, now);
		return -1;
	}
	if (loop_io_add(&w->io, w->ch.fd, EPOLLIN, worker_io,
	    (void *)(uintptr_t)w->id) < 0) {
		log_warn("epoll_ctl %s %u", WHO(w));
		channel_gone(w, now);
		return -1;
	}
	/* Right after our HELLO: the worker waits for it to start. */
	if (child_send(w, PROTO_MW_SETTINGS, W.cf->wsettings[p->role],
	    W.cf->wsettings_len[p->role], -1) < 0) {
		log_warn("%s %u: settings", WHO(w));
		channel_gone(w, now);
		return -1;
	}
	if (rows[p->role].restarts > 0)
		send_restarts(p, w);
	return worker_flush(w, now);	/* our HELLO and the settings */
}

static void
worker_send_quit(struct worker *w, int close_idle, long long now)
{
	struct penc e;
	long long at;

	at = now + W.cf->grace_ms + KILL_SLACK_MS;
	w->quitting = 1;
	w->quit_sent = 1;
	/* A second MW_QUIT (SIGTERM during a reload) only shortens the grace. */
	if (w->kill_at == 0 || at < w->kill_at)
		w->kill_at = at;
	if (!w->ch_open)
		return;
	penc_init(&e);
	penc_u32(&e, (uint32_t)W.cf->grace_ms);
	penc_u8(&e, close_idle ? 1 : 0);
	if (e.err || child_send(w, PROTO_MW_QUIT, e.buf, e.len, -1) < 0)
		log_warn("%s %u: MW_QUIT", WHO(w));
	penc_free(&e);
	log_info("%s %u (pid %d) asked to quit%s", WHO(w), (int)w->pid,
	    close_idle || !proc_takes_conns(w->proc) ? "" :
	    " once its connections finish");
	worker_flush(w, now);
}

static int
worker_msg(struct worker *w, const struct pmsg *m, long long now)
{
	struct pdec d;
	uint32_t load;

	if (m->fd >= 0) {
		log_warnx("%s %u sent an fd with %s", WHO(w),
		    proto_msg_name(m->hdr.type));
		close(m->fd);
		return -1;
	}
	/*
	 * A child's messages are requests and carry no flag: a reply or an
	 * error flag says the child is confused (a WM_READY flagged as a
	 * reply was taken as ready).
	 */
	if (m->hdr.flags != 0) {
		log_warnx("%s %u sent %s with flags 0x%04x", WHO(w),
		    proto_msg_name(m->hdr.type), (unsigned)m->hdr.flags);
		return -1;
	}
	/* What its row may send (procs.c); anything else breaks the channel. */
	if (!proc_sends(w->proc, m->hdr.type)) {
		log_warnx("%s %u sent unexpected %s", WHO(w),
		    proto_msg_name(m->hdr.type));
		return -1;
	}
	pdec_init(&d, m->payload, m->hdr.len);
	w->ping_out = 0;	/* any message answers the pings */
	switch (m->hdr.type) {
	case PROTO_WM_READY:
		if (pdec_done(&d) < 0)
			break;
		/* Once per worker start: operators and tests wait for it. */
		if (!w->ready)
			log_info("%s %u (pid %d) ready after %lld ms",
			    WHO(w), (int)w->pid, now - w->started);
		w->ready = 1;
		w->ping_at = now + ping_every();
		return 0;
	case PROTO_WM_PONG:
		(void)pdec_u32(&d);
		if (pdec_done(&d) < 0)
			break;
		return 0;
	case PROTO_WM_QUITTING:
		if (pdec_done(&d) < 0)
			break;
		/* Its own SIGTERM: it closes every connection sent from now. */
		log_info("%s %u (pid %d) quits on its own: no more connections",
		    WHO(w), (int)w->pid);
		worker_lost(w, now);
		if (w->kill_at == 0)
			w->kill_at = now + W.cf->grace_ms + KILL_SLACK_MS;
		return 0;
	case PROTO_WM_LOAD:
		load = pdec_u32(&d);
		if (pdec_done(&d) < 0)
			break;
		w->load = load;
		w->sent = 0;
		return 0;
	default:
		log_warnx("%s %u sent unexpected %s", WHO(w),
		    proto_msg_name(m->hdr.type));
		return -1;
	}
	log_warnx("%s %u sent a malformed %s", WHO(w),
	    proto_msg_name(m->hdr.type));
	return -1;
}

static void
worker_read(struct worker *w, long long now)
{
	struct pmsg m;
	ssize_t n;
	int i, r;

	/* A bounded number of reads, so one chatty worker can't hog the loop. */
	for (i = 0; i < 16; i++) {
		n = pchan_read(&w->ch);
		if (n == 0) {
			log_debug("%s %u closed its channel", WHO(w));
			channel_gone(w, now);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == ECONNRESET)
				log_debug("%s %u: channel reset", WHO(w));
			else
				log_warn("%s %u: channel read", WHO(w));
			channel_gone(w, now);
			return;
		}
		while ((r = pchan_next(&w->ch, &m)) == 1)
			if (worker_msg(w, &m, now) < 0) {
				channel_gone(w, now);
				return;
			}
		if (r < 0) {
			log_warnx("%s %u: protocol error on its channel",
			    WHO(w));
			channel_gone(w, now);
			return;
		}
	}
}

void
workers_event(uint32_t id, uint32_t events, long long now)
{
	struct worker *w;

	if ((w = worker_by_id(id)) == NULL || !w->ch_open)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		worker_read(w, now);
	if (w->ch_open && (events & EPOLLOUT))
		worker_flush(w, now);
}

static void
worker_log_exit(const struct worker *w, int status)
{
	int code, sig;

	if (WIFEXITED(status)) {
		code = WEXITSTATUS(status);
		if (code == 0 && w->quit_sent)
			log_info("%s %u (pid %d) exited", WHO(w),
			    (int)w->pid);
		else
			log_warnx("%s %u (pid %d) exited with status %d%s",
			    WHO(w), (int)w->pid, code,
			    code == 127 ? " (could not start the program?)" :
			    "");
	} else if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		/*
		 * Ours is SIGKILL: another signal ended it before ours came
		 * (a crash at start-up, whose channel's end had us kill it).
		 */
		if (w->killed && sig == SIGKILL)
			log_info("%s %u (pid %d) killed", WHO(w),
			    (int)w->pid);
		else if (sig == SIGXCPU)	/* the fetcher's RLIMIT_CPU */
			log_warnx("%s %u (pid %d) ended at its CPU time "
			    "bound: the work it was doing is dropped, the "
			    "document it read named in its log", WHO(w),
			    (int)w->pid);
		else
			log_warnx("%s %u (pid %d) killed by signal %d (%s)%s",
			    WHO(w), (int)w->pid, sig, strsignal(sig),
			    WCOREDUMP(status) ? ", core dumped" : "");
	}
}

void
workers_reap(long long now)
{
	struct worker *w;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(w, &workers, entry)
			if (w->pid == pid)
				break;
		if (w == NULL)
			continue;
		worker_log_exit(w, status);
		w->pid = -1;
		channel_gone(w, now);
		worker_lost(w, now);
		TAILQ_REMOVE(&workers, w, entry);
		free(w);
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid");
}

/* 1 when w is watched (its row gets MW_PING) and now answers for itself. */
static int
watched(const struct worker *w)
{
	return w->ready && !w->quitting && !w->killed && w->pid > 0 &&
	    w->ch_open && W.cf != NULL && proc_gets(w->proc, PROTO_MW_PING);
}

/* 1 when w's oldest unanswered ping is stall_ms old. */
static int
ping_overdue(const struct worker *w, long long now)
{
	return w->ping_out != 0 && now - w->ping_out >= W.cf->stall_ms;
}

/*
 * A watched child that answered nothing to a ping for stall_ms is stuck
 * (its loop does not turn: a deadlock, a stop, an endless loop) and holds
 * its visitors for ever: killed, its queued connections to the others, a
 * replacement started. Else it is pinged when due. Timed from the ping,
 * not the last answer: masterd's own loop late (stopped, swapped out)
 * sent none meanwhile, and kills nobody for that. The ping's moment is
 * read when it is sent, not the round's now: masterd stopped between the
 * two would date it back by the stop, and its answer, not yet come when
 * the round after looks, would be late by as much. And before it is called
 * stuck its channel is read once more: an answer that came while masterd
 * itself was stopped may still wait there behind this round's timer.
 * 1 when w was killed.
 */
static int
watch(struct worker *w, long long now)
{
	struct penc e;

	if (!watched(w))
		return 0;
	if (ping_overdue(w, now)) {
		worker_read(w, now);
		if (!watched(w))
			return 0;
	}
	if (ping_overdue(w, now)) {
		log_errorx("%s %u (pid %d) answered nothing for %lld ms "
		    "(PARLEY_WORKER_STALL_MS): stuck, killing it", WHO(w),
		    (int)w->pid, now - w->ping_out);
		worker_kill(w);
		channel_gone(w, now);
		return 1;
	}
	if (now < w->ping_at)
		return 0;
	w->ping_at = now + ping_every();
	if (w->ping_out == 0)
		w->ping_out = mono_ms();
	penc_init(&e);
	penc_u32(&e, ++w->pings);
	if (!e.err && child_send(w, PROTO_MW_PING, e.buf, e.len, -1) == 0)
		worker_flush(w, now);
	penc_free(&e);
	return 0;
}

/*
 * Deadlines: SIGKILL after the grace, or when a worker hangs before
 * WM_READY (it would hold a slot forever), or stops answering once
 * ready; the end of each start-up window.
 */
void
workers_tick(long long now)
{
	struct worker *w;

	TAILQ_FOREACH(w, &workers, entry) {
		if (watch(w, now))
			continue;
		if (w->pid > 0 && !w->killed && w->kill_at != 0 &&
		    now >= w->kill_at) {
			log_warnx("%s %u (pid %d) still running after the "
			    "%d ms grace; killing it", WHO(w), (int)w->pid,
			    W.cf->grace_ms);
			worker_kill(w);
		}
		if (w->pid > 0 && !w->killed && !w->ready && !w->quitting &&
		    now - w->started >= READY_TIMEOUT_MS) {
			log_warnx("%s %u (pid %d) not ready after %d ms; "
			    "killing it", WHO(w), (int)w->pid,
			    READY_TIMEOUT_MS);
			worker_kill(w);
		}
		if (!w->established && w->ready && !w->quitting &&
		    now - w->started >= startup_window_ms()) {
			/* It runs fine: the next failure starts from 100 ms. */
			w->established = 1;
			if (w->gen == W.gen)
				rows[w->proc->role].fails = 0;
		}
	}
}

long long
workers_next_deadline(long long now)
{
	struct worker *w;
	long long t = 0;
	int i;

#define EARLIEST(x) do { if (t == 0 || (x) < t) t = (x); } while (0)
	TAILQ_FOREACH(w, &workers, entry) {
		if (w->pid > 0 && !w->killed && w->kill_at != 0)
			EARLIEST(w->kill_at);
		if (!w->established && w->ready && !w->quitting)
			EARLIEST(w->started + startup_window_ms());
		if (w->pid > 0 && !w->killed && !w->ready && !w->quitting)
			EARLIEST(w->started + READY_TIMEOUT_MS);
		if (watched(w)) {
			EARLIEST(w->ping_at);
			if (w->ping_out != 0)
				EARLIEST(w->ping_out + W.cf->stall_ms);
		}
	}
	for (i = 0; i < ROLE_MAX; i++)
		if (!W.stopping && rows[i].throttle_until > now)
			EARLIEST(rows[i].throttle_until);
#undef EARLIEST
	return t;
}

/* p's old children go last, and the least busy of them first. */
static struct worker *
old_victim(const struct proc *p)
{
	struct worker *w, *v = NULL;

	TAILQ_FOREACH(w, &workers, entry) {
		if (w->proc != p || w->gen == W.gen || w->quitting || !w->ready)
			continue;
		if (v == NULL || w->gen < v->gen || (w->gen == v->gen &&
		    (uint64_t)w->load + w->sent < (uint64_t)v->load + v->sent))
			v = w;
	}
	return v;
}

/*
 * Brings p's children to what they should be: one old child leaves for
 * each new one that is ready (so capacity never dips during a reload),
 * and missing ones start unless p's start-up is throttled. *readyp gets
 * the new ready ones; 1 when p's reload is done (enough of them ready,
 * no old one serving).
 */
static int
row_maintain(const struct proc *p, long long now, int *readyp)
{
	struct worker *w;
	int want, live = 0, ready = 0, old = 0, allowed, done;

	want = proc_want(p, W.cf->nworkers);
	TAILQ_FOREACH(w, &workers, entry) {
		if (w->proc != p || w->quitting)
			continue;
		if (w->gen == W.gen) {
			live++;
			ready += w->ready;
		} else if (w->ready)
			old++;
	}
	allowed = ready < want ? want - ready : 0;
	while (old > allowed && (w = old_victim(p)) != NULL) {
		worker_send_quit(w, 0, now);
		old--;
	}
	done = ready >= want && old == 0;
	while (live < want && now >= rows[p->role].throttle_until) {
		if (worker_spawn(p, now) < 0) {
			startup_failed(p, now);
			break;
		}
		live++;
	}
	*readyp = ready;
	return done;
}

/*
 * "reload done: 2 new workers serving, 1 new notifier", logged, and told
 * systemd: READY=1 when a reload was pending, and a STATUS replacing a
 * failure it was told of (a start that failed once, then worked).
 */
static void
reload_done(const int ready[ROLE_MAX])
{
	char more[128], st[256];
	size_t len = 0;
	int i, n;

	more[0] = '\0';
	for (i = ROLE_WORKER + 1; i < ROLE_MAX; i++) {
		n = snprintf(more + len, sizeof(more) - len, ", %d new %s%s",
		    ready[i], proc_of(i)->name, ready[i] == 1 ? "" : "s");
		if (n < 0 || (size_t)n >= sizeof(more) - len)
			break;
		len += (size_t)n;
	}
	log_info("reload done: %d new workers serving%s%s",
	    ready[ROLE_WORKER], more, W.reload_failed && !W.reloading ?
	    " (after the failure logged above)" : "");
	snprintf(st, sizeof(st), "%sSTATUS=reload done: %d new workers "
	    "serving%s", W.reloading ? "READY=1\n" : "", ready[ROLE_WORKER],
	    more);
	proto_sd_notify(W.reload_failed ? st : "READY=1");
	W.reloading = 0;
	W.reload_failed = 0;
}

/*
 * Every row of the table, then, once a reload is done for all, READY=1
 * (or the STATUS of a reload reported failed that has now succeeded).
 */
void
workers_maintain(long long now)
{
	int ready[ROLE_MAX], done = 1, i;

	if (W.stopping || W.cf == NULL)
		return;
	for (i = 0; i < ROLE_MAX; i++)
		done &= row_maintain(proc_of(i), now, &ready[i]);
	conns_unpark();
	if ((W.reloading || W.reload_failed) && done)
		reload_done(ready);
}

void
workers_reload(long long now)
{
	struct worker *w;
	int i;

	if (W.stopping)
		return;
	W.gen++;
	W.reloading = 1;
	/* A reload is a fresh start (the binary may have been fixed). */
	for (i = 0; i < ROLE_MAX; i++) {
		rows[i].fails = 0;
		rows[i].throttle_until = 0;
	}
	/* Old workers that never got ready hold no connection: just stop them. */
	TAILQ_FOREACH(w, &workers, entry)
		if (!w->quitting && !w->ready) {
			w->quitting = 1;
			worker_kill(w);
		}
	workers_maintain(now);
}

/*
 * SIGTERM: everyone quits, closing idle connections at once; that
 * includes workers a reload already asked to quit without close_idle.
 */
void
workers_stop(long long now)
{
	struct worker *w;

	W.stopping = 1;
	W.reloading = 0;
	W.reload_failed = 0;
	conns_drop_parked();
	TAILQ_FOREACH(w, &workers, entry) {
		if (w->pid <= 0)
			continue;
		if (!w->ready) {
			w->quitting = 1;
			worker_kill(w);
		} else if (w->ch_open)
			worker_send_quit(w, 1, now);
		else
			w->quitting = 1;
	}
}

void
workers_kill_all(void)
{
	struct worker *w;

	TAILQ_FOREACH(w, &workers, entry)
		worker_kill(w);
}

/* EPOLLOUT only while something waits to be written. */
void
workers_sync(void)
{
	struct worker *w;
	int want;

	TAILQ_FOREACH(w, &workers, entry) {
		if (!w->ch_open)
			continue;
		want = pchan_pending(&w->ch);
		if (want == w->ev_out)
			continue;
		if (loop_io_mod(&w->io, EPOLLIN | (want ? EPOLLOUT : 0)) < 0)
			fatal("epoll_ctl %s %u", WHO(w));
		w->ev_out = want;
	}
}

int
workers_empty(void)
{
	return TAILQ_EMPTY(&workers);
}

/*
 * The ready, non-quitting worker that should take the next connection:
 * only rows that take connections count (pick_can_take), so never the
 * notifier.
 */
struct worker *
workers_pick(void)
{
	struct worker *w, *best = NULL;
	struct pick_cand c, bc;

	memset(&bc, 0, sizeof(bc));
	TAILQ_FOREACH(w, &workers, entry) {
		if (!pick_can_take(w))
			continue;
		c.load = (uint64_t)w->load + w->sent;
		c.queued = w->ch.wq_bytes;
		c.last_pick = w->last_pick;
		if (best == NULL || pick_cmp(&c, &bc) < 0) {
			best = w;
			bc = c;
		}
	}
	return best;
}

/*
 * Hands an accepted connection to w. The channel owns the fd from here
 * (it closes its copy once sent, or on failure), so *fdp becomes -1. A
 * row that takes no connections is refused by child_send.
 */
int
worker_hand_conn(struct worker *w, int *fdp, const struct ipaddr *peer)
{
	uint8_t b[IPADDR_WIRE_LEN];
	int fd = *fdp;

	*fdp = -1;
	ipaddr_enc(b, peer);
	if (child_send(w, PROTO_MW_CONN, b, sizeof(b), fd) < 0) {
		log_warn("%s %u: MW_CONN", WHO(w));
		return -1;
	}
	w->sent++;
	w->last_pick = ++W.picks;
	if (worker_flush(w, mono_ms()) < 0)
		return -1;
	if (!w->clogged && w->ch.wq_bytes >= CHAN_HARD_BYTES) {
		log_warnx("%s %u (pid %d) is not reading its channel; "
		    "it gets no connections until it catches up", WHO(w),
		    (int)w->pid);
		w->clogged = 1;
	}
	return 0;
}
