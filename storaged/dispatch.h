/*
 * Requests to replies: decodes a request payload into its struct by the
 * message table (proto/stmsgs.h; one that does not decode exactly is
 * malformed), runs the store operation, encodes the reply struct by the
 * table. Requests run in batches, one LMDB transaction per batch (group
 * commit).
 *
 * A batch first runs every request in the batch's transaction itself: a
 * nested LMDB transaction costs 3 MiB of allocation (most of storaged's
 * time under ASan, 4 ms each). A request that fails before it writes
 * leaves nothing behind. One that fails after it wrote cannot be undone
 * alone: the batch is then run again from the start (dispatch_rerun), each
 * write in a nested transaction of its own, so the failing one undoes only
 * itself.
 *
 *	dispatch_begin(st, rl, &b, write);
 *	for each request: dispatch_run(&b, type, payload, len, &reply[i]);
 *	if (dispatch_rerun(&b))
 *		for each request: dreply_free(&reply[i]), dispatch_run() again;
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
 * commit. A limited reply touched no store, so it stands too. A batch run
 * again replays the counts of its first run, request by request, so
 * nothing is counted twice.
 */
#ifndef PARLEY_DISPATCH_H
#define PARLEY_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "auditstore.h"
#include "eventring.h"
#include "proto.h"
#include "ratelimit.h"
#include "store.h"
#include "usermsg.h"
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
	/*
	 * A user whose dashboard sessions the request ended (disabled,
	 * deleted, a new password, a login past the user's cap of a user
	 * over it; keep the session a new password of one's own, or the
	 * login, kept): once committed, the server sends every client
	 * PROTO_ST_EV_USER_GONE with it. id "" = none.
	 */
	struct st_user_gone user_gone;
	/*
	 * A session or key the request ended (optab's cred_gone; a
	 * login's, the session it ended to make room): once
	 * committed, the server sends every client PROTO_ST_EV_CRED_GONE
	 * with it. Kind 0 = none.
	 */
	struct st_cred_gone cred_gone;
	/*
	 * Never answered early, though it wrote (ST_CHAT_BEGIN and
	 * ST_WS_BEGIN in handoff state human: no model call to overlap).
	 */
	int late;
	/*
	 * A model's turn the request began (DTURN_BEGUN: visitor's message
	 * turn_msg stored for the model to answer) or ended (DTURN_ENDED:
	 * another message stored by the worker, or refused: r->err; turn_msg
	 * the question its reply named, "" none) in conversation turn_conv:
	 * the server keeps which turns each worker's connection has open, and
	 * ends them once it is lost (server.c, ST_TURN_LOST). 0 = neither.
	 */
	int turn;
	char turn_conv[ST_ID_HEX + 1];
	char turn_msg[ST_ID_HEX + 1];
	/*
	 * The events the request made (eventring.h): the server publishes them
	 * once the batch committed, after the replies; none if it failed.
	 */
	struct devent *evs;
	size_t nevs;
	/*
	 * The request running now, for the audit (auditstore.h): req_end
	 * hands it over inside the request's txn. NULL once it has run.
	 */
	const struct audit_req *audit;
};

enum { DTURN_BEGUN = 1, DTURN_ENDED };

/* A rate count of a batch's first run, replayed if the batch runs again. */
struct rate_note {
	size_t req;		/* the request's number in the batch, from 1 */
	int limited;
	uint64_t retry;
};

struct dbatch {
	struct store_txn txn;
	/*
	 * Who asks the request running now, for the types whose payload
	 * starts with it (the server read it off); NULL for the others and
	 * for callers that run requests themselves (tests).
	 */
	const struct st_who *who;
	struct ratelimit *rl;	/* NULL: rate-limited requests fail */
	/* The running request's own txn (req_begin): its events read in it. */
	struct store_txn *req;
	int write;
	int nested;		/* the second run: each write in a nested txn */
	int failed_write;	/* a request failed after it wrote: run again */
	size_t nreq;
	struct rate_note *notes;	/* the first run's counts, in order */
	size_t nnotes, notecap;
	size_t replayed;	/* notes[0..replayed) are used up */
};

/*
 * ST_WS_OPEN's history stops this far below PROTO_MAX_PAYLOAD: the reply
 * also carries the widget (its prompt alone may be 32 KiB).
 */
#define DISPATCH_WS_HISTORY_BYTES \
	(PROTO_MAX_PAYLOAD - 2 * DISPATCH_REPLY_MARGIN)

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
/*
 * After the batch's first run: 1 when one of its several requests failed
 * after it wrote (the batch's txn is then void). The txn was begun again,
 * and the caller runs every request of the batch again, in the same
 * order, each write now in a nested txn. 0 otherwise (nothing to do).
 */
int dispatch_rerun(struct dbatch *);
/* Commits the batch. 0, or -1 when a write batch failed to commit. */
int dispatch_end(struct dbatch *);
/*
 * After a failed commit: a successful reply that touched the store is
 * void, and no reply's events are published (they are freed).
 */
void dreply_commit_failed(struct dreply *);
/*
 * dreply_commit_failed after batch b failed, but a batch the data
 * directory's guard refused (store_guard) answers PROTO_E_UNAVAILABLE,
 * as a write refused before it ran does.
 */
void dreply_batch_failed(struct dreply *, const struct dbatch *);
void dreply_free(struct dreply *);

/*
 * One request as a batch of its own, asked by who (NULL: nobody, as for
 * a type not led by who asks), as server.c sets it on a batch: for
 * tests, tools and fuzzing.
 */
void dispatch_one_as(struct store *, struct ratelimit *,
    const struct st_who *who, uint16_t type, const void *payload,
    size_t len, struct dreply *r);
/* dispatch_one_as by nobody. */
void dispatch_one(struct store *, struct ratelimit *, uint16_t type,
    const void *payload, size_t len, struct dreply *r);

#endif
