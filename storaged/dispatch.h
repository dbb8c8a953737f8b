/*
 * Requests to replies: decodes a request payload, runs the store
 * operation, encodes the reply payload. Requests run in batches, one LMDB
 * transaction per batch (group commit), each request in a nested
 * transaction of its own so that a failing one undoes only itself.
 *
 *	dispatch_begin(st, rl, &b, write);
 *	for each request: dispatch_run(&b, type, payload, len, &reply[i]);
 *	if (dispatch_end(&b) < 0)
 *		for each reply: dreply_commit_failed(&reply[i]);
 *	send each reply, then dreply_free() it.
 *
 * No reply may be sent before dispatch_end(): a write is acknowledged only
 * once it is committed. (An early answer, PROTO_F_EARLY, is not an
 * acknowledgement: the confirmation after dispatch_end() is.)
 *
 * Rate limits (ST_RATE_HIT, ST_CHAT_BEGIN) are counted in rl, in memory and
 * outside the transaction: a count stands even if the batch then fails to
 * commit. A limited reply touched no store, so it stands too.
 */
#ifndef PARLEY_DISPATCH_H
#define PARLEY_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "ratelimit.h"
#include "store.h"
#include "widgetmsg.h"

/*
 * ST_CONV_GET stops adding messages this far below PROTO_MAX_PAYLOAD: the
 * room covers the conversation and counters around the messages.
 */
#define DISPATCH_REPLY_MARGIN	(64u * 1024)
/*
 * ST_CHAT_BEGIN's history stops this far below PROTO_MAX_PAYLOAD: the
 * reply also carries the user message (up to ST_CONTENT_MAX) on its own.
 */
#define DISPATCH_CHAT_HISTORY_BYTES \
	(PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN - 2 * ST_CONTENT_MAX)

struct dreply {
	int err;		/* PROTO_E_*, 0 when enc is the reply payload */
	const char *errmsg;	/* static */
	struct penc enc;
	int touched;		/* ran in the batch txn: void if it fails to commit */
	/*
	 * Changed the store: a PROTO_F_EARLY request is answered before the
	 * commit only then (ST_CHAT_BEGIN, ST_WS_BEGIN when they wrote).
	 */
	int wrote;
	/*
	 * A public widget id that stops working once the batch commits
	 * (deleted, replaced, disabled): the server then sends every client
	 * PROTO_ST_EV_WIDGET_GONE with it. "" = none.
	 */
	char gone[ST_WID_LEN + 1];
};

struct dbatch {
	struct store_txn txn;
	struct ratelimit *rl;	/* NULL: rate-limited requests fail */
	int write;
	/*
	 * Set by the caller before the first dispatch_run when the batch
	 * holds one request: it then runs in the batch's txn, not a nested
	 * one (store_begin_shared).
	 */
	int alone;
	size_t nreq;
};

/*
 * ST_WS_OPEN's history stops this far below PROTO_MAX_PAYLOAD: the reply
 * also carries the widget (its prompt alone may be 32 KiB).
 */
#define DISPATCH_WS_HISTORY_BYTES \
	(PROTO_MAX_PAYLOAD - 2 * DISPATCH_REPLY_MARGIN)
/* Longest widget id a request may name; unknown ones are not found. */
#define DISPATCH_WID_MAX	128

/*
 * 1 when the request type may write LMDB (a batch holding one needs
 * write=1). ST_RATE_HIT is not one: its counters are in memory.
 */
int dispatch_is_write(uint16_t type);
/*
 * Starts a batch: a write transaction, or a read-only one when write is 0.
 * Returns 0, or -1 when the txn could not start; the batch must still be
 * run and ended (every request then gets PROTO_E_INTERNAL).
 */
int dispatch_begin(struct store *, struct ratelimit *, struct dbatch *,
    int write);
/* Runs one request of the batch; r is always filled (free with dreply_free). */
void dispatch_run(struct dbatch *, uint16_t type, const void *payload,
    size_t len, struct dreply *r);
/* Commits the batch. 0, or -1 when a write batch failed to commit. */
int dispatch_end(struct dbatch *);
/* After a failed commit: a successful reply that touched the store is void. */
void dreply_commit_failed(struct dreply *);
void dreply_free(struct dreply *);

/* One request as a batch of its own: for tests, tools and fuzzing. */
void dispatch_one(struct store *, struct ratelimit *, uint16_t type,
    const void *payload, size_t len, struct dreply *r);

#endif
