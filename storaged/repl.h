/*
 * Replication (issue 25): a hot standby fed by the write-ahead log.
 *
 * A primary keeps its recent log records in memory (the backlog) and
 * streams them to the one standby that asked (ST_REPL_START), or first a
 * snapshot of its data when the standby's term differs, its records are
 * not the primary's (the history's digest: store_digest) or the records it
 * lacks left the backlog. A standby appends each record to its own log
 * with the same seq, applies it to its LMDB transaction (storelog.c's
 * replay), flushes, and acknowledges (ST_REPL_ACK). With PARLEY_SYNC=
 * replica a batch's replies leave only once the standby acknowledged its
 * record (server.c holds them: repl_gate), unless the standby is away and
 * the cluster agreed to go on alone (cluster.h). A standby, or a fenced
 * primary, answers reads only once a primary checked its data
 * (repl_readable). storaged/STORAGE.md, "Replication", has the contract.
 */
#ifndef PARLEY_REPL_H
#define PARLEY_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "stmsgs.h"

struct server;
struct store;

/* A record sent but not acknowledged for this long: the standby is away. */
#define REPL_ACK_MS		2000
/* The standby's channel is not filled past this (records, snapshot chunks). */
#define REPL_WQ_MAX		(4u * 1024 * 1024)
/* A standby this many records behind or closer stops the primary going alone. */
#define REPL_CATCHUP_LAG	64
/* A standby dials its primary again after 100 ms, doubling up to this. */
#define REPL_RETRY_MAX_MS	2000
/* A read refused while repl_readable() says no. */
#define REPL_UNCHECKED_ERR	"this storaged's data is not checked against " \
				"the primary yet"
/*
 * Snapshots are costly (each copies the whole database): one is sent at a
 * time, and a peer (a certificate's CN; the Unix socket is one) has its
 * next one this long after its last ended at the soonest. A standby
 * refused meanwhile dials again (REPL_RETRY_MAX_MS) until it may.
 */
#define REPL_SNAP_SPACING_MS	30000
/* The name of the snapshot a standby receives, in its data directory. */
#define REPL_SNAP_FILE		"snapshot.mdb.part"

struct ssl_ctx_st;

struct repl_settings {
	/*
	 * enum st_repl_role at start: PRIMARY, STANDBY, or FENCED (auto: no
	 * writes until the lease promotes it or names its primary).
	 */
	int role;
	const char *primary;	/* a standby's primary: unix:/path or tls://HOST:PORT */
	/* The cluster's client context (tlschan_ctx_new), ours now; NULL: no tls:// */
	struct ssl_ctx_st *tls;
	const char *advertise;	/* PARLEY_ADVERTISE, told the primary; NULL unset */
	int sync_replica;	/* PARLEY_SYNC=replica: replies wait for the standby */
	int wait_block;		/* PARLEY_REPLICA_WAIT=block: and never go alone */
	size_t backlog_max;	/* bytes of recent records kept for a standby */
	/*
	 * A standby is expected (PARLEY_STORAGED_LISTEN, PARLEY_SYNC=replica,
	 * a role other than primary): the backlog is kept from the start, not
	 * only once the first standby connected.
	 */
	int expect_standby;
};

/*
 * Starts in set's role (loop_init first): a primary keeps its backlog
 * and its duties (the sweep); a standby dials its primary. The store
 * and the server stay the caller's.
 */
void repl_start(struct server *, struct store *, const struct repl_settings *);
/* Stops every thread and connection of ours (before the store closes). */
void repl_stop(void);
/* enum st_repl_role: only a primary serves writes. */
int repl_role(void);
/*
 * The last record whose writes' replies may leave now: the standby's
 * acknowledgement with PARLEY_SYNC=replica, UINT64_MAX when nothing waits
 * (another sync, going alone, not a primary); 0 for a primary past its
 * lease's fence time (cluster_writable: nothing leaves, the fence that
 * follows fails it).
 */
uint64_t repl_gate(void);
/*
 * A primary whose lease (if any) lets it write now: what a batch checks
 * before it runs writes.
 */
int repl_writable(void);
/*
 * Whether reads may be answered from the store: a primary's always; a
 * standby's or a fenced storaged's once a primary checked its data (it
 * resumed our stream in its own term, or its snapshot was swapped in),
 * until the next repl_follow() that dials again or repl_fence(). Until
 * then the data may hold a tail no primary acknowledged (an old
 * primary's): every read is refused, unavailable with REPL_UNCHECKED_ERR.
 */
int repl_readable(void);
/* Whether who (a server's client) is the standby streaming from us. */
int repl_is_standby(const void *who);
/*
 * A primary's client sent ST_REPL_START or ST_REPL_ACK (ch its channel,
 * who names it in repl_client_gone); replies go on ch. 0, or -1: the
 * client is to be closed (logged).
 */
int repl_client_msg(void *who, struct pchan *ch, const struct pmsg *);
/* A client closed: when it was the standby, it is away. */
void repl_client_gone(void *who);
/* Once a loop turn (server_step): the stream goes on as room allows. */
void repl_step(void);
/*
 * A standby becomes primary (parleyctl promote, or etcd): it stops
 * following, checkpoints, records term (0: its term + 1) and takes up a
 * primary's duties. 0 with *out the term, or -1 with *err (static).
 */
int repl_promote(uint64_t term, uint64_t *out, const char **err);
/*
 * A primary that lost its lease: from now on no write is accepted nor
 * acknowledged (the replies held for the standby fail "not primary"),
 * and it streams to nobody. repl_follow() makes it a standby after.
 */
void repl_fence(void);
/*
 * Follows primary (unix:/path) as its standby, from what it holds; a
 * standby linked to primary already keeps its link (primary in a new
 * term: the link carries it).
 */
void repl_follow(const char *primary);
/* Where replication stands (ST_REPL_STATUS). */
void repl_status(struct st_repl_status *);

#endif
