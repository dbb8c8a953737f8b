/*
 * The event loop: one epoll instance, and one timerfd that always holds the
 * earliest deadline of a binary min-heap of timers, so hundreds of delayed
 * streams cost one fd instead of one each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "mockai.h"
#include "proto.h"

static int epfd = -1;
static int running;
static struct watcher tfd_w;
static struct timer **heap;
static size_t heap_len, heap_cap;
static int64_t armed_at = -1;		/* what the timerfd holds now, -1: nothing */

static void
heap_swap(size_t a, size_t b)
{
	struct timer *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->idx = a;
	heap[b]->idx = b;
}

static void
heap_up(size_t i)
{
	while (i > 0 && heap[(i - 1) / 2]->when > heap[i]->when) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < heap_len && heap[l]->when < heap[m]->when)
			m = l;
		if (r < heap_len && heap[r]->when < heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void
heap_remove(struct timer *t)
{
	size_t i = t->idx;
	struct timer *moved;

	t->idx = TIMER_IDLE;
	heap_len--;
	if (i == heap_len)
		return;
	moved = heap[heap_len];
	heap[i] = moved;
	moved->idx = i;
	heap_up(i);
	heap_down(moved->idx);
}

/* Keep the timerfd on the heap's earliest deadline. */
static void
rearm(void)
{
	struct itimerspec its;
	int64_t when = heap_len ? heap[0]->when : -1;

	if (when == armed_at)
		return;
	memset(&its, 0, sizeof(its));
	if (when >= 0) {
		/* 0 would disarm: a deadline already past still needs a wake-up. */
		if (when < 1)
			when = 1;
		its.it_value.tv_sec = when / 1000;
		its.it_value.tv_nsec = (long)(when % 1000) * 1000000;
	}
	if (timerfd_settime(tfd_w.fd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		fatal("timerfd_settime");
	armed_at = when;
}

void
timer_init(struct timer *t, void (*fire)(void *), void *arg)
{
	t->when = 0;
	t->idx = TIMER_IDLE;
	t->fire = fire;
	t->arg = arg;
}

void
timer_after(struct timer *t, int64_t ms)
{
	if (t->idx != TIMER_IDLE)
		heap_remove(t);
	if (heap_len == heap_cap) {
		size_t ncap = heap_cap ? heap_cap * 2 : 64;
		struct timer **n = reallocarray(heap, ncap, sizeof(*n));

		if (n == NULL)
			fatal("timer heap");
		heap = n;
		heap_cap = ncap;
	}
	t->when = (int64_t)proto_mono_ms() + ms;
	t->idx = heap_len;
	heap[heap_len++] = t;
	heap_up(t->idx);
	rearm();
}

void
timer_cancel(struct timer *t)
{
	if (t->idx == TIMER_IDLE)
		return;
	heap_remove(t);
	rearm();
}

static void
timers_fire(struct watcher *w, uint32_t events)
{
	uint64_t n;
	int64_t now = (int64_t)proto_mono_ms();

	if (read(w->fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("timerfd read");
	armed_at = -1;
	/* Take each due timer off the heap before its callback, which may re-add it. */
	while (heap_len > 0 && heap[0]->when <= now) {
		struct timer *t = heap[0];

		heap_remove(t);
		t->fire(t->arg);
	}
	rearm();
}

void
loop_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	tfd_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd_w.fd == -1)
		fatal("timerfd_create");
	tfd_w.on_event = timers_fire;
	loop_add(&tfd_w, EPOLLIN);
}

void
loop_free(void)
{
	free(heap);
	heap = NULL;
	heap_len = heap_cap = 0;
	if (tfd_w.fd != -1)
		close(tfd_w.fd);
	if (epfd != -1)
		close(epfd);
	tfd_w.fd = epfd = -1;
}

static void
ctl(int op, struct watcher *w, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(epfd, op, w->fd, &ev) == -1)
		fatal("epoll_ctl(%d, fd %d)", op, w->fd);
}

void
loop_add(struct watcher *w, uint32_t events)
{
	ctl(EPOLL_CTL_ADD, w, events);
}

void
loop_mod(struct watcher *w, uint32_t events)
{
	ctl(EPOLL_CTL_MOD, w, events);
}

void
loop_del(struct watcher *w)
{
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
		log_warn("epoll_ctl(DEL, fd %d)", w->fd);
}

void
loop_stop(void)
{
	running = 0;
}

void
loop_run(void (*after_batch)(void))
{
	struct epoll_event evs[256];

	running = 1;
	while (running) {
		int n = epoll_wait(epfd, evs, 256, -1);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (int i = 0; i < n && running; i++) {
			struct watcher *w = evs[i].data.ptr;

			w->on_event(w, evs[i].events);
		}
		after_batch();
	}
}
