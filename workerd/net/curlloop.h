/*
 * libcurl's multi interface on the loop (curlloop.c), written once for
 * the notifier's deliveries, the fetcher's crawls and the
 * embedding client: a multi handle whose sockets the loop watches
 * (curlsock.c's table), curl's timer on a loop timer ("now" as a deferred
 * call), and each finished transfer handed back to its owner, outside
 * every curl callback. model/upstream.c keeps its own (it pauses and
 * resumes transfers as its clients drain).
 */
#ifndef PARLEY_CURLLOOP_H
#define PARLEY_CURLLOOP_H

#include <curl/curl.h>

#include "curlsock.h"
#include "loop.h"

/* A transfer: its easy handle (the owner's), and what is called at its end. */
struct curlloop_xfer {
	CURL *easy;
	void (*done)(struct curlloop_xfer *, CURLcode);
};

struct curlloop {
	CURLM *multi;
	struct curlsock_tab socks;
	struct loop_timer tm;
	struct loop_defer kick;
};

/* An empty curlloop, its messages naming who ("deliver"). */
#define CURLLOOP_INIT(who)	{ .multi = NULL, \
	.socks = CURLSOCK_TAB(struct loop_io, (who)) }

/*
 * The multi handle set up on the loop (libcurl's global state too, once),
 * at most maxconnects connections kept (0: curl's default); a curlloop
 * set up already is left as it is, so an owner may call this before each
 * transfer. 0, or -1.
 */
int curlloop_init(struct curlloop *, long maxconnects);
/*
 * x->easy, set up by its owner, added: CURLOPT_PRIVATE and the socket
 * closing are set here. x->done is called once it ends; the owner then
 * takes it out (curlloop_remove) and cleans the handle up. 0, or -1
 * when it cannot start (done is not called).
 */
int curlloop_add(struct curlloop *, struct curlloop_xfer *x);
/* x out of the multi handle (one not ended is dropped: no done). */
void curlloop_remove(struct curlloop *, struct curlloop_xfer *x);
/*
 * The multi handle and the watched sockets let go (transfers removed
 * first); nothing for a curlloop never set up or let go already.
 */
void curlloop_shutdown(struct curlloop *);

#endif
