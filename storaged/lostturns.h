/*
 * The model turns each worker's connection has open, and those a lost
 * worker left (lostturns.c; server.c keeps them, ST_TURN_LOST ends them).
 */
#ifndef LOSTTURNS_H
#define LOSTTURNS_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include "stmsgs.h"

/* Turns one connection keeps open at most; past that, one is not kept. */
#define TURNS_OPEN_MAX	16384
/* Turns left by lost workers kept at most; past that, one is dropped. */
#define TURNS_LOST_MAX	65536

/* A conversation whose turn is open; due: when it ends, once lost. */
struct turn_ent {
	char conv[ST_ID_HEX + 1];
	char msg[ST_ID_HEX + 1];	/* its visitor's message */
	long long due;		/* proto_mono_ms(); 0 while a worker has it */
	/*
	 * Read off the disk at start (server_turns_restore): its worker may
	 * still be answering it, to name it again once reconnected, so it
	 * holds its conversation until it ends (lost_has says 0).
	 */
	int restored;
};

/* One turn kept: by conversation, and (lost ones) by due time. */
struct turn_node {
	RB_ENTRY(turn_node) by_conv;
	TAILQ_ENTRY(turn_node) by_due;	/* the lost ones' queue */
	uint64_t seq;	/* 0 while open; lost: tells a turn left twice apart */
	struct turn_ent t;
};
RB_HEAD(turn_tree, turn_node);

/* The turns a worker's connection has open (zeroed: none). */
struct turnset {
	struct turn_tree tree;	/* one a conversation, seq 0 */
	size_t n;
};

/*
 * A batch's request began a turn in conversation conv for its visitor's
 * message msg (begun 1: the conversation's newest turn) or stored
 * another message of it (begun 0, the turn over: the one open, unless
 * msg names another, begun since: "" none named). 0, or -1 when a begun
 * turn was not kept (out of memory, TURNS_OPEN_MAX).
 */
int turnset_note(struct turnset *, int begun, const char *conv,
    const char *msg);
/* conv's open turn in s, or NULL. */
const struct turn_ent *turnset_find(struct turnset *, const char *conv);
void turnset_free(struct turnset *);

/*
 * Turns v[0..n) lost: each ends at due unless a connection takes it back
 * first (lost_claim). Returns how many were dropped for want of room
 * (TURNS_LOST_MAX, memory).
 */
size_t lost_add(const struct turn_ent *v, size_t n, long long due);
/* A connection closed with turns open: they are lost; empties s. */
size_t lost_take(struct turnset *s, long long due);
/*
 * conv's turn open in s, whose reply its worker failed to store (the
 * worker ends its turn there and stays connected): lost as a closed
 * connection's are, to end at due (as interrupted). msg: the reply's
 * question ("" none named): another turn open in conv, begun since, is
 * not left. 1 left, 0 none open in s, -1 not kept (TURNS_LOST_MAX: it
 * holds its conversation STORE_TURN_HOLD_MS at most, store.h).
 */
int lost_leave(struct turnset *s, const char *conv, const char *msg,
    long long due);
/*
 * A worker still has conv's turn for msg: noted on to, and no longer
 * among the lost (however many times it was left). 1 when it was.
 */
int lost_claim(struct turnset *to, const char *conv, const char *msg);
/*
 * 1 when conv's turn for msg is among the lost as a closed connection's
 * (it ends by itself: its worker gone); a restored one is not.
 */
int lost_has(const char *conv, const char *msg);
/* Up to max turns due by now into out (earliest first), no longer kept. */
size_t lost_due(long long now, struct turn_ent *out, size_t max);
/* The earliest due time of the lost turns; 0 when none is left. */
long long lost_next(void);
/* How many lost turns are kept (the tests'). */
size_t lost_count(void);
/* Forgets every lost turn (the tests'). */
void lost_reset(void);

#endif
