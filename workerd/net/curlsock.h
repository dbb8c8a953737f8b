/*
 * The sockets libcurl's multi interface asks the loop to watch
 * (CURLMOPT_SOCKETFUNCTION), for the model client (model/upstream.c)
 * and the webhook deliveries (notify/deliver.c): a table of its owner's
 * entries by fd, each beginning with its struct loop_io, kept until
 * curlsock_free; and what curl's and epoll's event bits mean to each
 * other. The code is in curlsock.c.
 */
#ifndef PARLEY_CURLSOCK_H
#define PARLEY_CURLSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "loop.h"

struct curlsock_tab {
	void **ent;		/* by fd; NULL where none was made */
	size_t n;		/* slots in ent */
	size_t size;		/* of one entry, its struct loop_io first */
	const char *who;	/* what its messages name: "upstream" */
};

/* An empty table of entries of type T, its messages naming who. */
#define CURLSOCK_TAB(T, who)	{ NULL, 0, sizeof(T), (who) }

/* fd s's entry, or NULL when none was made. */
void *curlsock_get(const struct curlsock_tab *, curl_socket_t s);
/*
 * fd s's entry, made on first use (zeroed, its loop_io's fd -1), then
 * watched for curl's what (CURL_POLL_IN, CURL_POLL_OUT): added to the
 * loop with cb and arg when not watched yet, else changed; a failure
 * is logged.
 */
void *curlsock_watch(struct curlsock_tab *, curl_socket_t s, int what,
    void (*cb)(int, uint32_t, void *), void *arg);
/* Every entry's loop_io deregistered, the entries and the table freed. */
void curlsock_free(struct curlsock_tab *);
/* curl_multi_socket_action's CURL_CSELECT_* bits for epoll's events. */
int curlsock_action(uint32_t events);
/*
 * What CURLMOPT_TIMERFUNCTION's ms asks of a multi handle's timer and
 * "now" call: -1 neither, 0 kick (deferred to the end of the loop
 * round: no timerfd), else the timer in ms.
 */
void curlsock_timer(struct loop_timer *, struct loop_defer *kick, long ms);

#endif
