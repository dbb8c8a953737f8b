/*
 * storaged's LMDB layer: the only code that touches the environment.
 *
 * Every operation runs on a transaction object that carries a sticky
 * error, as knot-dns does: once an operation fails, the following ones do
 * nothing and return the same error, and store_commit() turns into an
 * abort. A chain of calls needs one check at the end.
 *
 * Errors are PROTO_E_* codes (0 = no error) so they travel to the client
 * unchanged, with a short static message in errmsg.
 *
 * See storaged/STORAGE.md for the databases and their keys.
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "ctlmsg.h"
#include "stmsgs.h"
#include "storedbs.h"
#include "storemsg.h"


/*
 * store_open() flags (see PARLEY_SYNC in STORAGE.md). Without it, a write
 * batch is on disk when store_commit() returns (its log record is
 * flushed). A checkpoint is on disk when store_checkpoint() returns
 * either way (with it, synced once after its commit, before the log
 * starts again).
 */
#define STORE_F_NOSYNC		0x01	/* batches not flushed: store_sync does it */
/*
 * A standby (issue 25): its records are its primary's, so store_open
 * writes none of its own (no module's init: store_init at promotion).
 */
#define STORE_F_STANDBY		0x02

/* A checkpoint once the log holds this much, unless store_set_wal_max. */
#define STORE_WAL_MB_DEFAULT	16
/*
 * And sooner when the map is short of room: the log may hold one byte for
 * this many of the room the last checkpoint left (the open transaction
 * takes more map than it logs: store.c, wal_due_set).
 */
#define STORE_MAP_PER_LOG	256
/*
 * In the map's last 1/STORE_MAP_RESERVE, only requests of who signs in
 * (an owner, an API key, parleyctl) may write: a full map would refuse
 * even the deletes that make room (they take pages too), until a restart
 * with a larger map. Nobody's writes (a visitor's, a turn's) get
 * PROTO_E_UNAVAILABLE and STORE_FULL_ERR.
 */
#define STORE_MAP_RESERVE	16
/*
 * And in its last 1/STORE_MAP_FLOOR (at least STORE_MAP_FLOOR_MIN), only
 * signing in, the in_reserve rows and the deletes (optab.h) may write:
 * who signs in gets STORE_FULL_ERR too, so no write fills the map
 * (MDB_MAP_FULL, which fails a checkpoint: store_stalled).
 */
#define STORE_MAP_FLOOR		32
/*
 * At least this much for the floor, and twice it for the reserve: in a
 * small map a 32nd is less than an owner's batch and a delete's commit
 * take (every database's path copied, the free list written).
 */
#define STORE_MAP_FLOOR_MIN	(256 * 1024)
#define STORE_FULL_ERR	"the store is full: delete conversations, or " \
	"raise PARLEY_MAP_SIZE_MB"

/* The error message of a write refused while the disk is full. */
#define STORE_DISK_FULL_ERR	"disk full: free space on the data " \
	"directory's disk"

/* Who writes, for store_write_refused. */
enum store_writer {
	STORE_W_NOBODY,		/* a visitor's, a turn's: no who asks */
	STORE_W_SIGNED,		/* an owner's, an API key's, an agent's */
	STORE_W_ROOM		/* signing in, in_reserve, a delete (optab.h) */
};

/* The error message of a write refused by the guard (store_guard). */
#define STORE_GUARD_ERR	"data directory removed or replaced: restart " \
	"parley-storaged"

/* A history walk stops after this many failed messages in a row. */
#define STORE_HISTORY_SKIP_MAX	10000

/* The list cursor: hex of the last returned by-activity key. */
#define STORE_CURSOR_LEN	48

struct store;
struct st_agent;
struct st_session_history_rep;
struct st_msg_page_req;
struct st_msg_page_rep;
struct st_msg_pages_req;
struct st_msg_pages_rep;

#define ID_LEN		16	/* ids as stored: raw bytes */
/* A session index key's bytes at most: widget NUL session (convstore.c). */
#define SESS_KEY_MAX	(ST_WIDGET_MAX + 1 + ST_SESSION_MAX)

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int rdonly;
	int child;		/* nested in a write txn: commit folds into the parent */
	int view;		/* shares its parent's txn (read-only, or store_begin_shared) */
	int top;		/* a batch (store_begin): commits to the log */
	size_t log_mark;	/* a child: the batch's log before it began */
	size_t forget_mark;	/* a child: the batch's store_forget before it */
	struct store_txn *parent;
	int err;		/* sticky: the first PROTO_E_* code, 0 while all is well */
	int wrote;		/* a put or delete succeeded (a child's folds in on commit) */
	const char *errmsg;	/* static text for the error reply */
	/*
	 * Who asks's organisation (issue 22; dispatch.c's req_begin): a
	 * conversation of another one is absent to conv_get; NULL: any.
	 */
	const char *org;
	/*
	 * Told of each conversation store_conv_delete removes, as it was
	 * (dispatch.c's req_begin: a request's conversation.deleted event);
	 * NULL (the sweeps): nobody is.
	 */
	void (*conv_gone)(struct store_txn *, const struct st_conv *);
	void *conv_gone_arg;
	/*
	 * What the widget told of the visitor whose turn this is (issue 24;
	 * the chat's begins): store_msg_append keeps it on the conversation
	 * with a user message when it differs. NULL: nothing told.
	 */
	const struct st_visitor *visitor;
	/*
	 * The turn's agent (the chat's begins; NULL for any other request):
	 * a new conversation is counted under it in the reports, and a
	 * visitor's message arms the assistant's resolution its
	 * resolve_after_s later.
	 */
	const struct st_agent *agent;
	/*
	 * The messages store_conv_delete may remove at once (a deleting
	 * request sets STORE_DELETE_MSGS; 0, the sweeps: none, all go in
	 * steps), and 1 once a conversation it deleted kept some for the
	 * sweep (store_msgs_gone_sweep).
	 */
	uint32_t msgs_now;
	int msgs_left;
	/*
	 * The session index's last answer in this txn (convstore.c's
	 * sess_find; klen 0: none): a begin reads its session's conversation
	 * to hold a second turn (store_turn_holds), then again to open it.
	 * Kept while the index is unwritten and nothing undone (st's
	 * sess_gen and cfg_gen as they were).
	 */
	struct sess_seen {
		uint64_t sess_gen, cfg_gen;
		size_t klen;
		int rc;		/* 0 found (id), 1 none */
		uint8_t id[ID_LEN];
		uint8_t key[SESS_KEY_MAX];
	} sess_seen;
};

/* What store_conv_list() returns. */
struct store_list {
	uint64_t total;		/* every conversation (of t->org when set) */
	uint32_t n;
	struct st_conv *convs;	/* n, newest activity first */
	char next_cursor[ST_CURSOR_MAX + 1];	/* "" when there are no more */
};

/* What store_conv_get() returns. */
struct store_conv_full {
	struct st_conv conv;
	uint32_t n;
	struct st_msg *msgs;	/* n, oldest first */
	int truncated;		/* more messages exist than were returned */
};

/*
 * The first character of a widget visitor session's id (its
 * conversations' session): outside the HTTP API's sessionId alphabet
 * ([A-Za-z0-9._:-]).
 */
#define WS_SESSION_MARK	'~'

/* What store_chat_begin() returns. */
struct store_chat {
	int created;		/* the conversation is new */
	int reopened;		/* it was resolved or snoozed: open again */
	int human;		/* in handoff state human: no history (n 0) */
	struct st_conv conv;	/* as updated by the user message */
	struct st_msg msg;	/* the user message just stored */
	uint32_t n;
	/* n, oldest first, msg last (lending msg's strings): as sent */
	struct st_line *history;
	int verified;		/* ST_WS_BEGIN: a verified visitor's session */
};

/*
 * A module that keeps records of its own beside the conversations (the
 * widgets, the per-widget conversation index), so that this layer calls
 * no module above it. store_modules (storaged/modules.c) lists them, in
 * order. Any member may be NULL; errors go to t's sticky error.
 */
struct store_module {
	const char *name;
	/* Inside the transaction that opens the store: make what is missing. */
	int (*init)(struct store_txn *t);
	/*
	 * Once init's transaction has committed: what is too large for one
	 * batch (an index made again whole), in bounded batches of its own.
	 * 0, or -1 logged (the store's writes may then be stalled:
	 * store_stalled).
	 */
	int (*init_steps)(struct store *st);
	/* Conversation c (id) was made (c->updated_at: when). */
	void (*conv_made)(struct store_txn *t, const struct st_conv *c,
	    const uint8_t id[16]);
	/* Conversation c's updated_at moves to to (a new message). */
	void (*conv_moved)(struct store_txn *t, const struct st_conv *c,
	    uint64_t to, const uint8_t id[16]);
	/* Conversation c (id) is being deleted. */
	void (*conv_deleted)(struct store_txn *t, const struct st_conv *c,
	    const uint8_t id[16]);
};
/* NULL-terminated. */
extern const struct store_module *const store_modules[];

/*
 * Opens (creating if needed) the environment in dir, a directory that must
 * exist, replays the write-ahead log's records that LMDB lacks (a crash),
 * checkpoints them, and runs every module's init. A checkpoint that
 * fails for want of room leaves the store open and stalled
 * (store_stalled; the init waits for store_retry). Returns NULL on
 * failure, logged (a log that skips records it needs is a failure).
 */
struct store *store_open(const char *dir, size_t map_size_mb, int flags);
/*
 * The data directory guarded (guard.h): 0 while the directory, data.mdb
 * and wal.log are the files store_open opened, else -1. The first
 * failure is logged (an error naming the path); from then on every write
 * fails with PROTO_E_UNAVAILABLE (STORE_GUARD_ERR), no checkpoint is
 * made, and only a restart clears it. Every batch that writes runs it
 * before its log record (full 0: one read of the directory's inotify
 * watch, the paths stat'ed only when it has news), a checkpoint and
 * server.c every second with full 1 (the paths stat'ed).
 */
int store_guard(struct store *, int full);
/* What store_guard found changed ("PATH: removed"), or NULL while all is well. */
const char *store_failed(const struct store *);
/* store_open made a new database (an empty directory). */
int store_created(const struct store *);
/*
 * A checkpoint once the log holds bytes (default STORE_WAL_MB_DEFAULT MiB),
 * or 1/STORE_MAP_PER_LOG of the map's room if less.
 */
void store_set_wal_max(struct store *, size_t bytes);
/* The log's bytes the next checkpoint waits for, as the map's room has it. */
size_t store_checkpoint_every(const struct store *);
/* In the map's last 1/STORE_MAP_RESERVE (as of the last checkpoint). */
int store_map_reserved(const struct store *);
/*
 * Why a write of who is refused now (PROTO_E_UNAVAILABLE), or NULL: a
 * stalled store (store_stalled), the map's floor (STORE_MAP_FLOOR) or
 * its reserve (STORE_MAP_RESERVE), as of the last checkpoint.
 */
const char *store_write_refused(const struct store *, enum store_writer who);
/*
 * A checkpoint failed for want of room (MDB_MAP_FULL: STORE_FULL_ERR; a
 * full disk, ENOSPC, EDQUOT, or EIO with under 1 MiB left on it:
 * STORE_DISK_FULL_ERR): the records stay in the log and in the open
 * txn, reads are served, and writes are refused with that message (a
 * full map takes STORE_W_ROOM's, which may make room) until a checkpoint
 * commits. NULL while all is well.
 */
const char *store_stalled(const struct store *);
/*
 * A stalled store's checkpoint tried again (server.c, every second),
 * then what store_open left undone for it (store_init). 0 writable, -1
 * still stalled (or the guard failed).
 */
int store_retry(struct store *);
/* The map's bytes in use and its size, as of the last checkpoint. */
void store_map_state(const struct store *, uint64_t *used, uint64_t *size);
/* Checkpoints, then closes. */
void store_close(struct store *);
/* Forces what was logged and checkpointed to disk (STORE_F_NOSYNC). 0, or -1 logged. */
int store_sync(struct store *);
/*
 * Commits every logged write to LMDB, synced, and starts the log again.
 * store_begin() does it once the log is full; a backup does it first.
 * 0, or -1 logged (the writes are still in the log and in the open txn).
 * With STORE_F_NOSYNC, a sync that fails after the commit exits (fatalx).
 */
int store_checkpoint(struct store *);
/*
 * After a backup's copy (store_backup) of a commit: a checkpoint with a
 * new checkpoint id, even with nothing to commit, and the log emptied, so
 * that no record written from now on carries the id of a commit the copy
 * may hold. A start refuses to replay such a log over the backup put
 * back as data.mdb. 0, or -1 logged.
 */
int store_backup_seal(struct store *);
/*
 * A compact copy of the environment into fd (mdb_env_copyfd2 with
 * MDB_CP_COMPACT, then fsync): one read snapshot, so every commit that
 * finished before the call and nothing after. Safe to call from another
 * thread than the one running transactions: LMDB gives each thread its
 * own reader slot. 0, or an errno / LMDB code, logged.
 */
int store_backup(struct store *, int fd);
/*
 * What every module makes at open when missing (the default widget and
 * organisation, indexes of older data), in one batch, then each module's
 * init_steps in batches of their own (the knowledge index made again
 * when the text analysis changed): store_open runs it unless
 * STORE_F_STANDBY, a promotion then. A step that fails as the store
 * stalls (store_stalled) leaves the rest to store_retry (0); else 0, or
 * -1 logged.
 */
int store_init(struct store *);

/* Replication (issue 25, storaged/repl.c; STORAGE.md "Replication"). */
/* Bytes of the history's digest (store_digest). */
#define STORE_DIGEST_LEN	ST_REPL_DIGEST_LEN
/* The data directory store_open was given. */
const char *store_dir(const struct store *);
/* The last record appended to the log (or replayed, or applied). */
uint64_t store_seq(const struct store *);
/*
 * Shared flushes (server.c): with on, the batches committed from now on
 * are logged without their flush, until store_defer_flush(st, 0). The
 * next flush of the log covers them: store_flush, a batch logged with
 * its flush, a checkpoint. Without STORE_F_NOSYNC only (that mode flushes
 * nothing anyway).
 */
void store_defer_flush(struct store *, int on);
/*
 * Flushes the records logged unflushed: 1 flushed, 0 none waited. A
 * flush that fails exits the process (fatalx): the pages of those
 * records may be lost though Linux calls them clean, and their replies
 * were held, so nothing acknowledged is lost; the next start replays.
 */
int store_flush(struct store *);
/* The last record on disk: store_seq, or the one before the first unflushed. */
uint64_t store_flushed(const struct store *);
/*
 * fn(arg, seq, pre, body, len) is told of every record a batch appends,
 * once it is in the log (flushed unless STORE_F_NOSYNC or
 * store_defer_flush: see store_flushed), before its replies; pre is the
 * history's digest before it (store_digest at seq - 1). body (and pre)
 * NULL: seq was spent by an append that failed (no record has it).
 */
void store_on_record(struct store *, void (*fn)(void *, uint64_t,
    const uint8_t *, const uint8_t *, size_t), void *arg);
/*
 * The digest of the history up to store_seq (STORE_DIGEST_LEN bytes,
 * valid until the next record): each record's chained to the one before,
 * D(seq) = SHA-256(D(seq - 1) | be64 seq | SHA-256(body)), a primary's
 * as it appends and a standby's as it applies the same records, so two
 * stores with the same digest at the same seq hold the same records.
 * Kept with the checkpoint (meta "wal_digest", with its seq) and carried
 * on over the log at a replay. Data without it (from before it was kept,
 * or a checkpoint by such a storaged since) begins at a random digest:
 * no other store's, so a standby of it takes one snapshot.
 */
const uint8_t *store_digest(const struct store *);
/*
 * From now on the records appended are chained into the digest: for a
 * store with a standby, expected or seen. Until then (a single-host
 * install) they are not, and a resume from this store's history is
 * refused (store_repl_resumable) until the next checkpoint gives it a
 * new one.
 */
void store_digest_on(struct store *);
/*
 * Whether a standby holding term sterm, records up to slast and their
 * digest sdigest may resume our stream (ST_REPL_START): the same term,
 * slast at most our last record, and sdigest our digest at slast:
 * store_digest when slast is our last, else next_pre, the digest before
 * record slast + 1 as the backlog kept it (NULL: the backlog lacks that
 * record). 1, or 0 with *why (static): it needs a snapshot.
 */
int store_repl_resumable(struct store *, uint64_t sterm, uint64_t slast,
    const uint8_t *sdigest, const uint8_t *next_pre, const char **why);
/*
 * What the write batches committed since the last call deleted: *n ids
 * of 16 bytes (conversations deleted, contacts erased or deleted; the
 * caller may reorder them), valid until the next batch commits, then
 * forgotten here; NULL when none. The live events' ring drops their
 * events (server.c), so no answer holds them once the batch is done.
 */
uint8_t *store_forgotten(struct store *, size_t *n);
/*
 * Notes in t's batch a conversation deleted or a contact erased or
 * deleted (id, 16 bytes) for store_forgotten once it commits; a nested
 * txn undone undoes its notes. 0, or t's error (out of memory fails t).
 */
int store_forget(struct store_txn *t, const uint8_t *id);
/* LMDB meta "repl_term" as the open transaction sees it; 0 when never set. */
uint64_t store_term(struct store *);
/* Writes the term as a logged batch of its own, then checkpoints. 0, or -1 logged. */
int store_set_term(struct store *, uint64_t term);
/*
 * A standby: the primary's record seq appended to the log (not flushed:
 * store_repl_flush) and applied to the open transaction. 0 applied; 1
 * already held (seq at or below store_seq: a snapshot had it); -1 not
 * the next one, or it failed (logged; nothing of it is kept). A record
 * written to the log that fails to apply is taken out by a checkpoint;
 * when that fails too, its header is zeroed and the process exits
 * (fatalx), unless the data directory's guard refused it.
 */
int store_repl_apply(struct store *, uint64_t seq, const uint8_t *body,
    size_t len);
/*
 * The records applied are on disk (the guard looked, the log flushed),
 * with STORE_F_NOSYNC too: a standby acknowledges only what its disk
 * holds, whatever its PARLEY_SYNC. 0, or -1.
 */
int store_repl_flush(struct store *);
/*
 * A standby takes a snapshot: path (a whole, synced compact copy of a
 * primary's data.mdb, in the data directory) becomes data.mdb, the log
 * emptied first, and the environment is opened again on it (store_seq
 * is then its checkpoint's). No thread may use the environment (a
 * backup). 0, or -1 logged (the log emptied, the old data kept).
 */
int store_swap(struct store *, const char *path);

/* Counts and LMDB figures for ST_STATS (ctlmsg.h). */
int store_stats(struct store_txn *t, struct st_stats *out);
/* Replaces the clock (ms since the epoch): tests use a fake one. */
void store_set_clock(struct store *, uint64_t (*now_ms)(void));
/*
 * Tells the store which open turns a closed connection left (lostturns.c's
 * lost_has: 1 when conv's turn for msg is one, ended by itself soon):
 * such a turn holds its conversation no more (store_turn_holds), so a
 * visitor whose front host died chats on at once. NULL (the default):
 * none is.
 */
void store_set_turn_left(struct store *,
    int (*left)(const char *conv, const char *msg));
/* Records decoded and keys written since the store opened. */
void store_costs(const struct store *, uint64_t *decodes, uint64_t *puts);
/* The store's clock, ms since the epoch. */
uint64_t store_now(const struct store *);

/*
 * Begins a batch: a view of the write txn that holds everything since the
 * last checkpoint (reads see every acknowledged write). Its store_commit()
 * appends what it changed to the log as one record (flushed unless
 * STORE_F_NOSYNC): acknowledged when that returns 0. A batch that fails
 * after it wrote, or whose record cannot be logged, is undone: the write
 * txn is begun again from the checkpoint and the log replayed into it.
 * Returns t->err: on failure t is still usable (every operation fails with
 * the same error) and must be ended with store_commit() or store_abort()
 * like any other. rdonly: writes fail.
 */
int store_begin(struct store *, struct store_txn *t, int rdonly);
/*
 * Begins a transaction inside parent: a nested LMDB txn in a write
 * transaction (aborting it undoes only its own changes), a view sharing the
 * txn in a read-only one. The child has its own sticky error; a failed
 * parent makes the child fail too. Returns child->err.
 */
int store_begin_child(struct store_txn *parent, struct store_txn *child);
/*
 * Like store_begin_child, but the child shares the parent's txn instead of
 * nesting one (LMDB allocates 3 MiB for each nested txn; under ASan that
 * was most of storaged's time). A child that fails after it wrote fails
 * the parent (dispatch then runs its batch again with nested txns); one
 * that fails before writing leaves it as it was. Returns child->err.
 */
int store_begin_shared(struct store_txn *parent, struct store_txn *child);
/* Commits, or aborts when t->err is set. Returns the final t->err. */
int store_commit(struct store_txn *t);
void store_abort(struct store_txn *t);
/* Sets the sticky error unless one is set already. Returns t->err. */
int store_fail(struct store_txn *t, int code, const char *msg);
/*
 * *dst (malloc'd or NULL, freed) becomes a copy of src. 0, or -1 out of
 * memory (t failed).
 */
int store_set_str(struct store_txn *t, char **dst, const char *src);

/*
 * The operations. Each does nothing when t->err is set, and returns t->err.
 * Results are filled only on success; free them with st_conv_free(),
 * st_msg_free(), store_list_free(), store_conv_full_free().
 */

/* Gets or creates the conversation of (widget, session). */
int store_conv_open(struct store_txn *t, const char *widget,
    const char *session, struct st_conv *conv, int *created);
/*
 * Appends m to its conversation. In: conv_id, role, status ("" means
 * "complete"), content, prompt_tokens, completion_tokens. Out: id,
 * created_at and status are set, and *conv is the updated conversation.
 * While a model turn is open in it (turns_open), an assistant's or
 * tool's message is the turn's reply, stored in the places the turn
 * keeps right after its question, and another's (a person's) goes past
 * those places (convstore.c's msg_place). turn: the visitor's message
 * (hex id) whose turn an assistant's or tool's message answers, or NULL
 * for the turn open.
 */
int store_msg_append(struct store_txn *t, struct st_msg *m,
    struct st_conv *conv, const char *turn);
/*
 * The reply of a turn whose worker was lost (ST_TURN_LOST): m (conv_id,
 * role, status, content set) stored as store_msg_append does, in the
 * place the turn keeps right after its visitor's message (msg_id) while
 * that place is still free (the question the last message, or followed
 * by a person's only), *conv then the conversation updated and *stored
 * 1; else nothing written and *stored 0 (answered, a visitor's message
 * after it, or gone since).
 */
int store_turn_lost(struct store_txn *t, struct st_msg *m,
    const char *msg_id, struct st_conv *conv, int *stored);

/* ---- turnstore.c: the model turns open, on disk ---- */
/* conv's turn begun for its visitor's message msg (32 hex each). */
void store_turn_opened(struct store_txn *, const char *conv, const char *msg);
/*
 * conv's turn over (its reply stored, or ended as lost): when msg is not
 * NULL, only while the turn open is msg's. None open: nothing.
 */
void store_turn_closed(struct store_txn *, const char *conv,
    const char *msg);
/* cb(conv, msg, arg) for each turn open. 0, or -1 with t failed. */
int store_turns_open(struct store_txn *,
    void (*cb)(const char *conv, const char *msg, void *), void *arg);
/*
 * A conversation takes one model turn at a time: a visitor's message
 * while its reply is still to come would be a second turn beside it,
 * answered by a second model call, and each reply pairs with a question
 * by position (convstore.c's msgs_newest), so one turn's failure could
 * drop the other's question and file its answer under the wrong one.
 * 1 while (widget, session)'s conversation has a turn open (turns_open)
 * whose visitor's message is still its last, stored less than
 * STORE_TURN_HOLD_MS ago (a turn whose worker failed to store its reply
 * yet stayed connected, which lostturns.c cannot see, holds it no
 * longer) and not a closed connection's (store_set_turn_left: its end is
 * storaged's own, 3 s on, and needs no wait); 0 when not, or the session
 * has no conversation; -1 with t failed. Reads only.
 */
#define STORE_TURN_HOLD_MS	(15 * 60 * 1000)
int store_turn_holds(struct store_txn *, const char *widget,
    const char *session);
/* Newest activity first; cursor "" starts at the newest. */
int store_conv_list(struct store_txn *t, uint32_t limit, const char *cursor,
    struct store_list *out);
/*
 * A conversation and its messages, oldest first: at most max_messages
 * (0 = no limit) and at most max_bytes of encoded messages.
 */
int store_conv_get(struct store_txn *t, const char *conv_id,
    uint32_t max_messages, size_t max_bytes, struct store_conv_full *out);

/*
 * The chat turn's storage half: gets or creates the conversation of
 * (widget, session), appends content as a "user" message naming claim's
 * uploads (NULL none: attstore.h) and returns the
 * newest history_max messages that are not "failed", oldest first (the new
 * one last), within max_bytes of encoded messages. The caller has
 * checked them with store_chat_invalid(), which this does not repeat.
 * org: the widget's organisation (store_chat_widget_take's), which a new
 * conversation takes, or NULL to look it up.
 */
struct att_claim;
int store_chat_begin(struct store_txn *t, const char *widget,
    const char *session, const char *org, const char *content,
    const struct att_claim *claim, uint32_t history_max, size_t max_bytes,
    struct store_chat *out);
/*
 * The history a turn's model reads into c (c->conv and c->msg made, as
 * store_chat_begin makes them): the newest history_max messages that are
 * not "failed", oldest first, within max_bytes of encoded messages, its
 * last lending c->msg's strings when c->msg has its content (a message
 * just stored); none, and c->human 1, when the conversation is in
 * handoff state human. On failure c's conversation and message are
 * freed. The txn's error.
 */
int store_chat_lines(struct store_txn *t, uint32_t history_max,
    size_t max_bytes, struct store_chat *c);
/*
 * ST_CHAT_ANSWER_LAST's first look at conversation conv_id, written
 * nothing: *result ST_CHAT_OK when it is the assistant's (handoff state
 * ai), its last message is its visitor's (role user) and no turn is open
 * for that message; out is then the conversation and that message (its
 * id, conversation and role: its content stays the history's), for
 * store_chat_lines. Else *result says why not (ST_CHAT_NOT_AI,
 * ST_CHAT_ANSWERED, ST_CHAT_TURN_OPEN) and out holds nothing. An
 * unknown conversation fails t (not found).
 */
int store_chat_answer_find(struct store_txn *t, const char *conv_id,
    int *result, struct store_chat *out);
/*
 * Whether (widget, session) has its conversation already, which
 * store_chat_begin would then not create: 1 it has, 0 not, -1 t failed.
 * Reads only.
 */
int store_chat_session_exists(struct store_txn *t, const char *widget,
    const char *session);
/*
 * NULL when store_chat_begin() accepts these, else why not: widget
 * and session as store_conv_open(), content 1 to ST_CONTENT_MAX bytes of
 * UTF-8, history_max 1 to ST_HISTORY_MAX. Lets a caller refuse before it
 * counts the request against a rate limit.
 */
const char *store_chat_invalid(const char *widget, const char *session,
    const char *content, uint32_t history_max);
/*
 * v, what a begin's widget told of its visitor, as the turn keeps it
 * (store_txn's visitor): NULL when it told nothing.
 */
const struct st_visitor *store_visitor_told(const struct st_visitor *v);
/*
 * How many messages of history a chat turn answered by agent a reads:
 * the agent's history_messages when it sets one, else asked (the
 * request's history_max).
 */
uint32_t store_chat_history(const struct st_agent *a, uint32_t asked);
/*
 * The conversation of (widget, session) without creating one: *found 0
 * when there is none (out untouched). Otherwise out is the conversation
 * and its newest max_messages (0 = no limit) messages that are not
 * "failed", oldest first, within max_bytes; truncated when the walk left
 * older ones out.
 */
int store_session_history(struct store_txn *t, const char *widget,
    const char *session, uint32_t max_messages, size_t max_bytes,
    int *found, struct store_conv_full *out);
/*
 * ST_SESSION_HISTORY's reply rep as the chat shows it: disabled when the
 * widget (internal id) is, else the session's conversation f (NULL: none
 * found; rep points into f, encode it before f is freed). 0, or t's
 * error.
 */
int store_session_shown(struct store_txn *, const char *widget,
    const struct store_conv_full *f, struct st_session_history_rep *rep);

/*
 * ST_CONV_LIST with q's filters, as dashmsg.h says: a widget (widget ""
 * = every widget), a search (q "" = none), an assignee (assigned
 * ST_ASSIGNED_*, assignee the user id of ST_ASSIGNED_TO, else "" or
 * NULL); gaps 1: only the conversations with an answer whose knowledge
 * search found nothing (st_msg.knowledge ST_MSG_KB_NOT_FOUND), each read
 * whole as a search reads them; state 0 any, else 1 + ST_STATE_* (a
 * snooze whose time has passed is open); order ST_ORDER_ACTIVITY or
 * ST_ORDER_CREATED, newest first. out->total is the count without q,
 * assignee, gaps or state.
 */
int store_conv_query(struct store_txn *, const struct st_conv_query_req *q,
    struct store_list *out);
/*
 * The conversation and every index entry naming it, at once; its
 * messages, no longer reachable, are noted in msgs_gone for
 * store_msgs_gone_sweep() to remove in steps.
 */
int store_conv_delete(struct store_txn *, const char *conv_id);
/*
 * The messages of deleted conversations (msgs_gone), oldest conversation
 * id first: at most max of them removed, and no more once deadline
 * (proto_mono_us(); 0: none) has passed (at least 64 are, when there
 * are). A conversation's note goes with its last message. *n
 * how many, *more 1 while some are left.
 */
int store_msgs_gone_sweep(struct store_txn *, uint32_t max,
    uint64_t deadline, uint32_t *n, int *more);
/*
 * The messages of the conversations a request that deletes some
 * (ST_CONV_DELETE, ST_PURGE, ST_CONTACT_ERASE) deletes it removes itself
 * (t->msgs_now), so that the common delete frees its room at once; the
 * sweep removes the rest.
 */
#define STORE_DELETE_MSGS	4096
/*
 * The conversations they delete whatever the time (so a small erasure is
 * always done at once, however loaded the machine), then their time for
 * more, in µs.
 */
#define STORE_DELETE_MIN	64
#define STORE_DELETE_US		5000
/*
 * ST_MSG_PAGE (dashmsg.h): at most q->limit messages of q's conversation
 * from q->from, oldest first, within max_bytes of encoded messages (at
 * least one when any is left), into out (its reply).
 */
int store_msg_page(struct store_txn *, const struct st_msg_page_req *q,
    size_t max_bytes, struct st_msg_page_rep *out);
/*
 * ST_MSG_PAGES (dashmsg.h): the messages of q's conversations, each
 * oldest first, from q->from of the first, into out (its reply): at most
 * q->limit, within max_bytes (never none while some are left); one who
 * asks may not see, or that is gone, has none.
 */
int store_msg_pages(struct store_txn *, const struct st_msg_pages_req *q,
    size_t max_bytes, struct st_msg_pages_rep *out);
/*
 * ST_PURGE (ctlmsg.h): deletes up to max conversations whose updated_at
 * is before cutoff, oldest of each widget first, none more past the
 * first STORE_DELETE_MIN once deadline (proto_mono_us(); 0: none) has
 * passed; *more is 1 when some are left.
 * dry_run deletes nothing and counts them all.
 */
int store_purge(struct store_txn *, uint64_t cutoff, uint32_t max,
    int dry_run, uint64_t deadline, uint32_t *n, int *more);
/*
 * Each widget's retention (retention_days > 0, issue 22): up to max
 * conversations of every widget, whatever its organisation, whose last
 * activity is more than that many days before the store's now are
 * deleted (store_conv_delete), oldest of each widget first, none more
 * once deadline (proto_mono_us(); 0: none) has passed. *n how many,
 * *more 1 when some are left. A deleted widget's conversations keep its
 * retention (store_retention_retire) until none is left.
 */
int store_retention_sweep(struct store_txn *, uint32_t max,
    uint64_t deadline, uint32_t *n, int *more);

/*
 * Widget w, being deleted: its retention (when it has one) kept for its
 * conversations, which the sweep deletes as they age as it did while w
 * was. 0, or t's error.
 */
int store_retention_retire(struct store_txn *, const struct st_widget *);

void store_chat_free(struct store_chat *);
void store_list_free(struct store_list *);
void store_conv_full_free(struct store_conv_full *);

#endif
