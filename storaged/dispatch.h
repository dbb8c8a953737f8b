/*
 * Requests to replies: decodes a request payload, runs the store
 * operation, encodes the reply payload. Requests run in batches, one LMDB
 * transaction per batch (group commit), each request in a nested
 * transaction of its own so that a failing one undoes only itself.
 *
 *	dispatch_begin(st, &b, write);
 *	for each request: dispatch_run(&b, type, payload, len, &reply[i]);
 *	if (dispatch_end(&b) < 0)
 *		for each reply: dreply_commit_failed(&reply[i]);
 *	send each reply, then dreply_free() it.
 *
 * No reply may be sent before dispatch_end(): a write is acknowledged only
 * once it is committed.
 */
#ifndef PARLEY_DISPATCH_H
#define PARLEY_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store.h"

/*
 * ST_CONV_GET stops adding messages this far below PROTO_MAX_PAYLOAD: the
 * room covers the conversation and counters around the messages.
 */
#define DISPATCH_REPLY_MARGIN	(64u * 1024)

struct dreply {
	int err;		/* PROTO_E_*, 0 when enc is the reply payload */
	const char *errmsg;	/* static */
	struct penc enc;
	int touched;		/* ran in the batch txn: void if it fails to commit */
};

struct dbatch {
	struct store_txn txn;
	int write;
	size_t nreq;
};

/* 1 when the request type may write (a batch holding one needs write=1). */
int dispatch_is_write(uint16_t type);
/*
 * Starts a batch: a write transaction, or a read-only one when write is 0.
 * Returns 0, or -1 when the txn could not start; the batch must still be
 * run and ended (every request then gets PROTO_E_INTERNAL).
 */
int dispatch_begin(struct store *, struct dbatch *, int write);
/* Runs one request of the batch; r is always filled (free with dreply_free). */
void dispatch_run(struct dbatch *, uint16_t type, const void *payload,
    size_t len, struct dreply *r);
/* Commits the batch. 0, or -1 when a write batch failed to commit. */
int dispatch_end(struct dbatch *);
/* After a failed commit: a successful reply that touched the store is void. */
void dreply_commit_failed(struct dreply *);
void dreply_free(struct dreply *);

/* One request as a batch of its own: for tests, tools and fuzzing. */
void dispatch_one(struct store *, uint16_t type, const void *payload,
    size_t len, struct dreply *r);

#endif
