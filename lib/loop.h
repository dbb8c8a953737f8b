/*
 * The one event loop of every Parley process (masterd, storaged, workerd,
 * the mock model): epoll for descriptors, one timerfd armed at the
 * earliest timer of a binary heap, a signalfd, and deferred calls that run
 * after each batch of events. One loop per process (its state is global).
 */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "heap.h"

/*
 * A watched file descriptor. After loop_io_del() the struct must stay
 * valid until the current iteration ends (events already fetched for it
 * are then skipped), so owners free it from a deferred call.
 */
struct loop_io {
	int fd;
	uint32_t events;	/* EPOLL* interest currently registered */
	void (*cb)(int fd, uint32_t events, void *arg);
	void *arg;
};

/* A one-shot timer on the monotonic clock, in milliseconds. */
struct loop_timer {
	struct heap_node hn;	/* hn.at: when it fires; in no heap: not armed */
	void (*cb)(void *arg);
	void *arg;
};

/* A call made once the current batch of events has been handled. */
struct loop_defer {
	TAILQ_ENTRY(loop_defer) entry;
	int queued;
	void (*cb)(void *arg);
	void *arg;
};

void loop_init(void);
/* Runs until loop_stop(); returns then. */
void loop_run(void);
/*
 * One round: wait at most timeout_ms (-1 forever; not at all while
 * deferred calls are left over), handle what came, then make the deferred
 * calls, at most LOOP_DEFER_RUN (128): a chain of calls each queuing the
 * next goes on in the next rounds, between polls.
 */
void loop_once(int timeout_ms);
void loop_stop(void);
int loop_stopped(void);
/* Monotonic ms, read once per round so a burst of events agrees on "now". */
uint64_t loop_now(void);
uint64_t loop_clock(void);	/* fresh reading, also updates loop_now() */

int loop_io_add(struct loop_io *, int fd, uint32_t events,
    void (*cb)(int, uint32_t, void *), void *arg);
/* Changes the interest set; no system call when it is unchanged. */
int loop_io_mod(struct loop_io *, uint32_t events);
void loop_io_del(struct loop_io *);

void loop_timer_init(struct loop_timer *, void (*cb)(void *), void *arg);
void loop_timer_at(struct loop_timer *, uint64_t at);
void loop_timer_after(struct loop_timer *, uint64_t ms);
void loop_timer_stop(struct loop_timer *);
int loop_timer_armed(const struct loop_timer *);
size_t loop_timer_count(void);

void loop_defer_init(struct loop_defer *, void (*cb)(void *), void *arg);
void loop_defer(struct loop_defer *);	/* no-op when already queued */
void loop_defer_cancel(struct loop_defer *);

/* Blocks signo and calls cb from the loop when it arrives. */
void loop_signal(int signo, void (*cb)(int signo));
/*
 * A pipe from threads beside the loop to it: pfd made (close-on-exec),
 * its read end, alone non-blocking, watched by io (cb on EPOLLIN, arg
 * NULL). 0, or -1 logged as what's, nothing left open.
 */
int loop_pipe_open(int pfd[2], struct loop_io *io,
    void (*cb)(int, uint32_t, void *), const char *what);
/* Its end: unwatched, closed, pfd -1 -1. */
void loop_pipe_close(int pfd[2], struct loop_io *io);
/*
 * Starts up to n threads into th, each running fn(arg), with every
 * signal blocked (signals are the loop's); the first failure is logged
 * as what's and ends the starting. The number of threads started.
 */
int loop_threads_start(pthread_t *th, int n, void *(*fn)(void *),
    void *arg, const char *what);

#endif
