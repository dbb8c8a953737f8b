/*
 * The event loop: epoll for descriptors, one timerfd armed at the earliest
 * timer of a binary heap, a signalfd, and deferred calls that run after
 * each batch of events (so a connection can be freed while events for it
 * may still sit in the batch), LOOP_DEFER_RUN at most between two polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "log.h"
#include "loop.h"
#include "proto.h"

#define LOOP_BATCH	256
/*
 * Deferred calls a run makes at most. A call may queue another (each of a
 * connection's pipelined requests answered, then the next fed), and a
 * chain run to its end before the next poll kept every other client
 * waiting for it (abuse/pipelined.mjs): what is left runs after a poll
 * that does not sleep.
 */
#define LOOP_DEFER_RUN	128

static int epfd = -1;
static int tfd = -1;
static int sfd = -1;
static uint64_t tfd_at;		/* what the timerfd is armed for; 0 disarmed */
static uint64_t now_ms;
static int stopped;

static struct heap timers;	/* the armed loop_timers, by hn.at */

static TAILQ_HEAD(, loop_defer) defers = TAILQ_HEAD_INITIALIZER(defers);

static sigset_t sigmask;
static void (*sighandler[NSIG])(int);

/* Markers for our own descriptors in epoll_event.data.ptr. */
static char tfd_tag, sfd_tag;

uint64_t
loop_clock(void)
{
	now_ms = (uint64_t)proto_mono_ms();
	return now_ms;
}

uint64_t
loop_now(void)
{
	return now_ms;
}

void
loop_init(void)
{
	struct epoll_event ev;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	if ((tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		fatal("timerfd_create");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &tfd_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) < 0)
		fatal("epoll_ctl timerfd");
	sigemptyset(&sigmask);
	loop_clock();
	stopped = 0;
}

void
loop_stop(void)
{
	stopped = 1;
}

int
loop_stopped(void)
{
	return stopped;
}

/* ---------------------------------------------------------------- fds */

int
loop_io_add(struct loop_io *io, int fd, uint32_t events,
    void (*cb)(int, uint32_t, void *), void *arg)
{
	struct epoll_event ev;

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		io->fd = -1;
		return -1;
	}
	return 0;
}

int
loop_io_mod(struct loop_io *io, uint32_t events)
{
	struct epoll_event ev;

	if (io->fd < 0 || io->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -1;
	io->events = events;
	return 0;
}

void
loop_io_del(struct loop_io *io)
{
	if (io->fd < 0)
		return;
	/* The fd may already be closed; then the kernel dropped it itself. */
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
	io->cb = NULL;
}

/* ------------------------------------------------------------- timers */

void
loop_timer_init(struct loop_timer *t, void (*cb)(void *), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

int
loop_timer_armed(const struct loop_timer *t)
{
	return t->hn.slot != 0;
}

size_t
loop_timer_count(void)
{
	return timers.len;
}

void
loop_timer_stop(struct loop_timer *t)
{
	heap_remove(&timers, &t->hn);
}

void
loop_timer_at(struct loop_timer *t, uint64_t at)
{
	t->hn.at = at;
	if (t->hn.slot != 0) {
		heap_fix(&timers, &t->hn);
		return;
	}
	if (heap_reserve(&timers, SIZE_MAX) < 0)
		fatal("timer heap");
	heap_push(&timers, &t->hn);
}

void
loop_timer_after(struct loop_timer *t, uint64_t ms)
{
	loop_timer_at(t, now_ms + ms);
}

/* Arms the timerfd for the earliest timer, only when that changed. */
static void
timerfd_sync(void)
{
	struct itimerspec its;
	struct heap_node *top = heap_top(&timers);
	uint64_t at = top != NULL ? top->at : 0;

	if (at == tfd_at)
		return;
	memset(&its, 0, sizeof(its));
	if (at != 0) {
		its.it_value.tv_sec = (time_t)(at / 1000);
		its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		fatal("timerfd_settime");
	tfd_at = at;
}

static void
timers_run(void)
{
	struct heap_node *top;
	struct loop_timer *t;

	loop_clock();
	while ((top = heap_top(&timers)) != NULL && top->at <= now_ms) {
		t = HEAP_ITEM(top, struct loop_timer, hn);
		loop_timer_stop(t);
		t->cb(t->arg);
	}
}

/* ------------------------------------------------------------- defers */

void
loop_defer_init(struct loop_defer *d, void (*cb)(void *), void *arg)
{
	memset(d, 0, sizeof(*d));
	d->cb = cb;
	d->arg = arg;
}

void
loop_defer(struct loop_defer *d)
{
	if (d->queued)
		return;
	d->queued = 1;
	TAILQ_INSERT_TAIL(&defers, d, entry);
}

void
loop_defer_cancel(struct loop_defer *d)
{
	if (!d->queued)
		return;
	d->queued = 0;
	TAILQ_REMOVE(&defers, d, entry);
}

static void
defers_run(void)
{
	struct loop_defer *d;
	int n = 0;

	while (n++ < LOOP_DEFER_RUN && (d = TAILQ_FIRST(&defers)) != NULL) {
		TAILQ_REMOVE(&defers, d, entry);
		d->queued = 0;
		d->cb(d->arg);
	}
}

/* ------------------------------------------------------------ signals */

void
loop_signal(int signo, void (*cb)(int))
{
	struct epoll_event ev;
	int fd;

	sigaddset(&sigmask, signo);
	sighandler[signo] = cb;
	if (sigprocmask(SIG_BLOCK, &sigmask, NULL) < 0)
		fatal("sigprocmask");
	if ((fd = signalfd(sfd, &sigmask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	if (sfd < 0) {
		sfd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &sfd_tag;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) < 0)
			fatal("epoll_ctl signalfd");
	}
}

static void
signals_read(void)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(sfd, &si, sizeof(si))) == sizeof(si)) {
		if (si.ssi_signo < NSIG && sighandler[si.ssi_signo] != NULL)
			sighandler[si.ssi_signo]((int)si.ssi_signo);
	}
}

/* --------------------------------------------------------------- loop */

void
loop_once(int timeout_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	struct loop_io *io;
	uint64_t expirations;
	int n, i;

	/* Work queued outside the loop (set-up, tests) runs first. */
	defers_run();
	timerfd_sync();
	n = epoll_wait(epfd, evs, LOOP_BATCH, TAILQ_EMPTY(&defers) ?
	    timeout_ms : 0);
	if (n < 0) {
		if (errno != EINTR)
			fatal("epoll_wait");
		n = 0;
	}
	loop_clock();
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == &tfd_tag) {
			if (read(tfd, &expirations, sizeof(expirations)) < 0 &&
			    errno != EAGAIN)
				log_warn("timerfd read");
			tfd_at = 0;	/* expired: re-arm from the heap */
			continue;
		}
		if (evs[i].data.ptr == &sfd_tag) {
			signals_read();
			continue;
		}
		io = evs[i].data.ptr;
		/* Skip events for descriptors dropped earlier in this batch. */
		if (io->fd < 0 || io->cb == NULL)
			continue;
		io->cb(io->fd, evs[i].events, io->arg);
	}
	timers_run();
	defers_run();
}

void
loop_run(void)
{
	while (!stopped)
		loop_once(-1);
}

int
loop_threads_start(pthread_t *th, int n, void *(*fn)(void *),
    void *arg, const char *what)
{
	sigset_t all, old;
	int i, rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++)
		if ((rc = pthread_create(&th[i], NULL, fn, arg)) != 0) {
			errno = rc;
			log_warn("%s: thread", what);
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

int
loop_pipe_open(int pfd[2], struct loop_io *io,
    void (*cb)(int, uint32_t, void *), const char *what)
{
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		log_warn("%s: pipe", what);
		pfd[0] = pfd[1] = -1;
		return -1;
	}
	/* The loop's end never blocks; a thread's write may wait. */
	if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0 ||
	    loop_io_add(io, pfd[0], EPOLLIN, cb, NULL) < 0) {
		log_warn("%s: watching the pipe", what);
		close(pfd[0]);
		close(pfd[1]);
		pfd[0] = pfd[1] = -1;
		return -1;
	}
	return 0;
}

void
loop_pipe_close(int pfd[2], struct loop_io *io)
{
	loop_io_del(io);
	close(pfd[0]);
	close(pfd[1]);
	pfd[0] = pfd[1] = -1;
}
