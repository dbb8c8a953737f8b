/*
 * Precise timers for the mock's delays: lib/loop.c's timers tick in
 * whole milliseconds, so a model "thinking 5 ms" answered anywhere from
 * 4 to 6 ms after the request, depending on where in a millisecond the
 * request arrived: too coarse to compare servers that add tenths of a
 * millisecond. Here one timerfd (CLOCK_MONOTONIC, nanoseconds) is armed
 * for the earliest of the connections waiting, kept in a binary heap by
 * deadline; on expiry every connection due is handed to conn_timer's
 * path (completions_timer).
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mockai.h"

static int tfd = -1;
static struct loop_io tio;
static struct conn **heap;
static size_t nheap, capheap;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
heap_set(size_t i, struct conn *c)
{
	heap[i] = c;
	c->ptimer_ix = i;
}

static void
sift_up(size_t i)
{
	struct conn *c = heap[i];

	while (i > 0 && heap[(i - 1) / 2]->ptimer_at > c->ptimer_at) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, c);
}

static void
sift_down(size_t i)
{
	struct conn *c = heap[i];
	size_t k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= nheap)
			break;
		if (k + 1 < nheap && heap[k + 1]->ptimer_at < heap[k]->ptimer_at)
			k++;
		if (heap[k]->ptimer_at >= c->ptimer_at)
			break;
		heap_set(i, heap[k]);
		i = k;
	}
	heap_set(i, c);
}

/* The timerfd at the earliest deadline, or disarmed. */
static void
arm(void)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (nheap > 0) {
		/* 0 would disarm: a deadline passed fires in 1 ns. */
		its.it_value.tv_sec = (time_t)(heap[0]->ptimer_at / 1000000000ull);
		its.it_value.tv_nsec = (long)(heap[0]->ptimer_at % 1000000000ull);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		fatal("timerfd_settime");
}

static void
ptimer_fire(int fd, uint32_t events, void *arg)
{
	uint64_t n, now = now_ns();
	struct conn *c;

	/* The count of expiries is not needed: the heap says who is due. */
	if (read(tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd read");
	while (nheap > 0 && heap[0]->ptimer_at <= now) {
		c = heap[0];
		ptimer_stop(c);
		if (!c->dead)
			completions_timer(c);
	}
	arm();
}

void
ptimer_init(void)
{
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) < 0)
		fatal("timerfd_create");
	if (loop_io_add(&tio, tfd, EPOLLIN, ptimer_fire, NULL) < 0)
		fatal("epoll_ctl timerfd");
}

void
ptimer_after_us(struct conn *c, uint64_t us)
{
	struct conn **nh;

	ptimer_stop(c);
	if (nheap == capheap) {
		capheap = capheap ? 2 * capheap : 64;
		if ((nh = reallocarray(heap, capheap, sizeof(*heap))) == NULL)
			fatal("ptimer");
		heap = nh;
	}
	c->ptimer_at = now_ns() + us * 1000ull;
	c->ptimer_on = 1;
	heap_set(nheap, c);
	sift_up(nheap++);
	if (heap[0] == c)
		arm();
}

void
ptimer_stop(struct conn *c)
{
	size_t i = c->ptimer_ix;

	if (!c->ptimer_on)
		return;
	c->ptimer_on = 0;
	if (--nheap == i)
		return;
	heap_set(i, heap[nheap]);
	if (i > 0 && heap[(i - 1) / 2]->ptimer_at > heap[i]->ptimer_at)
		sift_up(i);
	else
		sift_down(i);
}
