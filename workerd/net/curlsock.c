/*
 * The sockets curl asks the loop to watch (curlsock.h): a table by fd
 * that only grows (doubling from 64 slots), entries made on first use
 * and freed with the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "curlsock.h"
#include "log.h"

void *
curlsock_get(const struct curlsock_tab *t, curl_socket_t s)
{
	return (size_t)s < t->n ? t->ent[s] : NULL;
}

/* fd s's entry, made on first use (zeroed, its loop_io's fd -1). */
static struct loop_io *
curlsock_slot(struct curlsock_tab *t, curl_socket_t s)
{
	void **ns;
	size_t n;

	if ((size_t)s >= t->n) {
		n = t->n ? t->n : 64;
		while (n <= (size_t)s)
			n *= 2;
		if ((ns = reallocarray(t->ent, n, sizeof(*t->ent))) == NULL)
			fatal("%s: socket table", t->who);
		memset(ns + t->n, 0, (n - t->n) * sizeof(*ns));
		t->ent = ns;
		t->n = n;
	}
	if (t->ent[s] == NULL) {
		if ((t->ent[s] = calloc(1, t->size)) == NULL)
			fatal("%s: socket", t->who);
		((struct loop_io *)t->ent[s])->fd = -1;
	}
	return t->ent[s];
}

void *
curlsock_watch(struct curlsock_tab *t, curl_socket_t s, int what,
    void (*cb)(int, uint32_t, void *), void *arg)
{
	struct loop_io *io = curlsock_slot(t, s);
	uint32_t ev = 0;

	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (io->fd >= 0 && loop_io_mod(io, ev) < 0) {
		if (errno != ENOENT) {
			log_warn("%s: socket %d", t->who, s);
			return io;
		}
		/* Closed behind our back, and its number given out again. */
		loop_io_del(io);
	}
	if (io->fd < 0 && loop_io_add(io, s, ev, cb, arg) < 0)
		log_warn("%s: watching socket %d", t->who, s);
	return io;
}

void
curlsock_free(struct curlsock_tab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->ent[i] != NULL) {
			loop_io_del(t->ent[i]);
			free(t->ent[i]);
		}
	}
	free(t->ent);
	t->ent = NULL;
	t->n = 0;
}

void
curlsock_timer(struct loop_timer *tm, struct loop_defer *kick, long ms)
{
	loop_timer_stop(tm);
	loop_defer_cancel(kick);
	if (ms == 0)
		loop_defer(kick);
	else if (ms > 0)
		loop_timer_after(tm, (uint64_t)ms);
}

int
curlsock_action(uint32_t events)
{
	int action = 0;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		action |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		action |= CURL_CSELECT_ERR;
	return action;
}
