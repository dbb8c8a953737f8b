/*
 * parley-storaged: the one process that opens the LMDB environment.
 *
 *	main.c      settings, signals, start-up and the drain, on lib/loop.c
 *	listener.c  the Unix socket clients connect to
 *	server.c    clients, group-commit batches, replies, back-pressure
 *	dispatch.c  request payload -> store operation -> reply payload; the
 *	            frame an operation runs in (ops.h)
 *	op*.c       the operations, one file a subject: opconv.c, opvisitor.c,
 *	            ophandoff.c, opowner.c, opoutbox.c
 *	store.c     the engine: LMDB, transactions, log replay, checkpoints,
 *	            backup, the record helpers
 *	guard.c     the data directory's files, by device and inode
 *	convstore.c conversations, messages: open, append, get, pages, delete
 *	convquery.c the per-widget index and counts, the list, query, search
 *	            and purge that walk it
 *	index.c     ordered lists, index pages, the per-widget merge
 *	records.c   the record steps an entity with an id and a creation
 *	            order takes (widgets, agents), written once
 *	widgetstore.c  widgets, day counts
 *	wsess.c     visitor sessions and their upkeep
 *	contactstore.c  contacts, their links and claims
 *	dashstore.c dashboard owner sessions, the fingerprint salt
 *	agentstore.c  agents, the agent a chat turn answers with
 *	handoffstore.c  a conversation's handoff state and its index
 *	modules.c   the modules store.c runs at open and on conversation changes
 *	ratelimit.c rate counters in memory
 *	metrictotals.c  the workers' metric totals, commit timings (GET /metrics)
 *	sweep.c     expired visitor sessions and deleted widgets' sessions,
 *	            removed in small batches on a timer
 *	lease.c     failover: the etcd lease that says who is primary, the
 *	            fence (lease.h)
 *	etcd.c      etcd's v3 HTTP/JSON gateway through libcurl (etcd.h)
 */
#ifndef PARLEY_STORAGED_H
#define PARLEY_STORAGED_H

#include <stdint.h>

#include "loop.h"
#include "ratelimit.h"
#include "store.h"

#define STORAGED_NAME		"parley-storaged"
#define STORAGED_SOCK		"storaged.sock"
#define STORAGED_LOCK		"storaged.lock"	/* in the run directory */
#define STORAGED_DATA_LOCK	"storaged.data.lock"	/* in the data directory */

/* A client whose unread replies pass this is not read until it drains. */
#define CLIENT_WQ_MAX		(16u * 1024 * 1024)
/* The TLS listener (server_listen_tls): a handshake's time, and how many at once. */
#define HANDSHAKE_MS		5000
#define HANDSHAKE_MAX		64
/* ... of them from one address (IPv6: one /64) at once. */
#define HANDSHAKE_PEER_MAX	8
/* ... of them kept for addresses that completed a handshake before. */
#define HANDSHAKE_RESERVED	16
/* Addresses remembered as certified (the oldest seen goes first). */
#define CERTIFIED_MAX		256
/*
 * A TLS client's request, once begun, is whole within FRAME_MS (counted
 * while storaged waits for its bytes) or the client is closed; and at most
 * TLS_CLIENTS_MAX TLS connections are open at once (handshakes included).
 * With the read buffer's cap (a request of PROTO_MAX_PAYLOAD) and
 * CLIENT_WQ_MAX, what one of the listener's peers makes storaged hold is
 * bounded; all of them together by the budget (server_listen_tls).
 */
#define FRAME_MS		10000
#define TLS_CLIENTS_MAX		1024
/* Bytes of requests taken from one client per loop turn. */
#define CLIENT_READ_MAX		(1024u * 1024)
/* Requests in one transaction; the rest wait for the next turn. */
#define BATCH_MAX		1024
/* Expired rate windows dropped per loop turn (more go on each hit). */
#define RATE_SWEEP_TURN		256
/*
 * A TLS peer whose host vanished (no reset ever comes) is left after about
 * this long: unacknowledged data, or keepalive probes unanswered
 * (staddr_tcp_dead_after). Both ends of a storaged link set it: the TLS
 * clients server.c accepts, and a standby's link to its primary (repl.c).
 */
#define PEER_DEAD_MS		10000
/* On SIGTERM, how long clients get to read their last replies. */
#define DRAIN_MS		2000

/* Visitor-session sweep (sweep.c): a step's bounds, and its pace. */
#define SWEEP_BATCH		256	/* sessions per step */
#define SWEEP_BUDGET_US		2000	/* work per step */
#define SWEEP_MSGS_PER		16	/* deleted messages per session of max */
#define SWEEP_BUSY_MS		10	/* the next step while work is left */
#define SWEEP_IDLE_MS		1000	/* the next look otherwise */
#define RETENTION_EVERY_US	60000000ull	/* widgets' retention looks */
#define HOOK_OLD_EVERY_US	60000000ull	/* walks for rotated secrets */

/* PEER_DEAD_MS; the test build's PARLEY_TEST_PEER_DEAD_MS may lower it. */
unsigned peer_dead_ms(void);

/* listener.c */
/* Binds path (mode 0600), replacing a stale socket; fatal on failure. */
int listener_open(const char *path);

/* server.c */
struct server;

/*
 * Serves the listening socket lfd from the loop (loop_init() first): the
 * listener, the clients and the backup thread's pipe are its loop_io.
 */
struct server *server_new(struct store *, struct ratelimit *, int lfd);
/*
 * A primary's start, or a standby's promotion (repl.c's primary_begin):
 * the model turns open on disk (turnstore.c) that no connected worker
 * named left as a lost worker's are (lostturns.h): a worker that still
 * has one names it again within TURN_LOST_MS.
 */
void server_turns_restore(struct server *);
/* After the events of a loop turn: one batch, replies, flushes. */
void server_step(struct server *);
/* The loop's timeout for the next turn: 0 when requests wait, else -1 or ms. */
int server_timeout(struct server *);
/*
 * Commits that don't sync themselves (PARLEY_SYNC other than full): the
 * first one after a sync arms a store_sync interval_ms later.
 */
void server_set_sync(struct server *, int interval_ms);
/* Syncs now what the timer would sync later (at exit). */
void server_sync(struct server *);
/* Stops listening and reading; what was read still runs. */
void server_quit(struct server *);
/* No request waits and no reply is queued. */
int server_idle(struct server *);
/* Closes every client (and the listener if still open). */
void server_free(struct server *);
/*
 * Serves a second listener, lfd (a TCP socket: staddr_listen), whose
 * clients speak TLS with ctx (tlschan_ctx_new, server side; the server
 * owns it now): each does its handshake before anything is read from it,
 * within HANDSHAKE_MS, and at most HANDSHAKE_MAX are in their handshake
 * at once, HANDSHAKE_PEER_MAX from one address, and the last
 * HANDSHAKE_RESERVED only for addresses that completed a handshake before
 * (more are closed as they come, logged once a minute); TLS_CLIENTS_MAX
 * connections at most, each request whole within FRAME_MS; peer_max of
 * them from one address (PARLEY_STORAGED_TLS_PEER_MAX), and all of them
 * holding about budget bytes at most (PARLEY_STORAGED_TLS_BUFFER_MB:
 * past it they are read no more, and the largest holder is closed while
 * others wait). name is the address as the logs say it.
 */
struct ssl_ctx_st;
void server_listen_tls(struct server *, int lfd, struct ssl_ctx_st *ctx,
    const char *name, uint32_t peer_max, size_t budget);
/*
 * Which storaged this is (enum st_repl_role: only a primary runs writes,
 * the others answer them PROTO_E_NOT_PRIMARY) and the primary's address
 * as far as it knows (NULL or "" if not): told to every client now
 * (ST_EV_ROLE), and to each that connects after, right after our HELLO.
 * Primary until called.
 */
void server_set_role(struct server *, int role, const char *primary);
/* Fencing: the replies held for the standby fail "not primary", the rest go. */
void server_hold_fail(struct server *);
/* Every held message dropped unsent (the end). */
void server_hold_drop(struct server *);
/* Closes the client who at the end of the turn. */
void server_drop(struct server *, void *who);
/*
 * 1 while a backup's copy runs (it reads the environment: a snapshot is
 * swapped in only after it, repl.c's snap_held), else 0.
 */
int server_backup_running(const struct server *);

/* sweep.c */
struct store_sweep;
/* Steps every SWEEP_BUSY_MS or SWEEP_IDLE_MS on the loop (loop_init first). */
void sweep_start(struct store *);
void sweep_stop(void);
/*
 * One step in its own write transaction: at most max sessions, or
 * max * SWEEP_MSGS_PER messages of deleted conversations, stopping once
 * budget_us have passed. 0 (out filled), or -1 logged (out zeroed).
 */
int sweep_step(struct store *, uint32_t max, uint64_t budget_us,
    struct store_sweep *out);

#endif
