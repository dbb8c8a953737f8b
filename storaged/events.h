/*
 * Live events (issue 15, proto/agentmsg.h): what changed, for the
 * dashboard's live view and the visitors' sockets. A request makes its
 * events while it runs (struct devent in its reply, dispatch.h); once its
 * batch has committed and the replies are queued, the server numbers them
 * here (epoch, seq), keeps them in a ring and pushes them to the clients
 * subscribed at a level that wants them. A batch that fails to commit
 * publishes nothing.
 *
 * The ring holds the newest ST_EV_RING_EVENTS events within
 * ST_EV_RING_BYTES of encodings (typing events are never kept and carry
 * seq 0), so a client that missed some (a worker restarting its stream)
 * reads them back with ST_EV_SINCE, or learns they are gone.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "proto.h"

/* An event a request made, before it is numbered. */
struct devent {
	uint8_t kind;		/* enum st_ev_kind */
	int visitor;		/* level 1 (visitor) subscribers get it too */
	uint64_t at;		/* ms since the epoch */
	struct penc body;	/* kind, conv, then by kind (penc_event's tail) */
};

struct evring;

/* A ring under a new random epoch, seq 0; NULL out of memory. */
struct evring *evring_new(void);
void evring_free(struct evring *);
uint64_t evring_epoch(const struct evring *);
/* The last seq handed out (0: none yet). */
uint64_t evring_last(const struct evring *);
/*
 * Numbers ev (the next seq; typing: 0), encodes it whole into out
 * (initialised here; the caller frees it) and keeps a copy in the ring,
 * evicting the oldest past either bound. 0, or -1 out of memory (the
 * event is then lost, not numbered).
 */
int evring_add(struct evring *, const struct devent *ev, struct penc *out);
/*
 * ST_EV_SINCE's reply into e: u8 result, u64 epoch, u64 last_seq, u32 n,
 * n x bytes event. OK with the events after seq, oldest first, at most
 * max of them and within max_bytes of reply (at least one when any is
 * left); GONE (n 0) when epoch is not this ring's, seq is past the last,
 * or an event after seq has left the ring.
 */
void evring_since(const struct evring *, uint64_t epoch, uint64_t seq,
    uint32_t max, size_t max_bytes, struct penc *e);
/* Events kept now, and their bytes (for tests and the logs). */
size_t evring_count(const struct evring *);
size_t evring_bytes(const struct evring *);
/* 1 when a subscriber at level (ST_EV_LEVEL_*) gets ev. */
int ev_wanted(int level, const struct devent *ev);
void devent_free(struct devent *);

#endif
