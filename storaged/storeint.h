/*
 * What the store files (store.c, convstore.c, convquery.c, index.c,
 * widgetstore.c, wsess.c, contactstore.c, dashstore.c, agentstore.c,
 * handoffstore.c) share inside storaged's LMDB layer: the environment's
 * handles, the small helpers on the sticky-error txn, and what one
 * entity's file asks of another's. Nothing outside the store files
 * includes this.
 */
#ifndef PARLEY_STOREINT_H
#define PARLEY_STOREINT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "guard.h"
#include "stamptab.h"
#include "stmsgs.h"
#include "store.h"
#include "widgetmsg.h"

#define INDEX_KEY_LEN	(8 + ID_LEN)		/* u64 | id: by time */
#define ACT_KEY_LEN	INDEX_KEY_LEN
#define MSG_KEY_LEN	(ID_LEN + 4)
/*
 * Longest prefix before u64 | id in an index index_walk() walks: the
 * conversation index's org NUL widget NUL.
 */
#define INDEX_PREFIX_MAX	(ST_WHO_ORG_MAX + 1 + ST_WIDGET_MAX + 1)

/*
 * Record formats that grew: a newer one adds fields at the end, and the
 * record's rows (record.h) read every older format, the fields it lacks
 * at their defaults; a message's size on the wire (msg_rec_size)
 * counts the empty fields an older one lacks (MSG_V*_PAD).
 * A record without an organisation reads as the default one's (records.c).
 * Every other record is ST_RECORD_VERSION.
 */
#define CONV_RECORD_VERSION	rl_version(&st_conv_layout)
#define MSG_RECORD_VERSION	rl_version(&st_msg_layout)
#define MSG_V3_PAD		1	/* issue 26: u8 feedback */
#define MSG_V2_PAD		(4 + MSG_V3_PAD)	/* issue 22: str author */
#define MSG_V1_PAD		(4 + MSG_V2_PAD)

/* The running write batch's changes, a log record's body (storelog.c). */
struct oplog {
	uint8_t *buf;
	size_t len, cap;
	int err;		/* out of memory: the batch cannot be logged */
};

struct wal;

struct store {
	MDB_env *env;
	/*
	 * Every write since the last checkpoint is in ltxn, a write txn that
	 * stays open, and in the log; a checkpoint commits ltxn (synced),
	 * records ckpt_seq in meta "wal_seq", and starts the log again.
	 */
	struct wal *wal;
	MDB_txn *ltxn;
	uint64_t seq;		/* the last record in the log */
	uint64_t ckpt_seq;	/* the last record LMDB holds, committed */
	uint64_t replay_upto;	/* a replay stops after this record */
	/*
	 * The history's digest (store_digest): of the records up to seq,
	 * and of those up to ckpt_seq (meta "wal_digest"), where a replay
	 * begins again.
	 */
	uint8_t digest[STORE_DIGEST_LEN];
	uint8_t ckpt_digest[STORE_DIGEST_LEN];
	/*
	 * The last checkpoint's id (meta "wal_ckpt"): 8 random bytes drawn
	 * at each checkpoint, and at a start that replays nothing, which
	 * every record appended after it carries (wal_set_ckpt). A replay
	 * takes only records of this id: a data.mdb that is not the
	 * checkpoint the log follows (a backup put back) is refused.
	 */
	uint8_t ckpt_id[8];
	/*
	 * digest_on: the records appended are chained (store_digest_on: a
	 * standby is expected or was seen). A plain single-host install
	 * does not pay for it (some 2 µs a turn); a record appended
	 * unchained makes the history unknown (digest_lost: no resume)
	 * until the next checkpoint starts it again from a random digest,
	 * or a replay chains the log again.
	 */
	int digest_on, digest_lost;
	/*
	 * The number of a record whose append failed while no checkpoint
	 * has recorded it yet (0: none): no replay applies it (store_undo).
	 */
	uint64_t spent;
	/*
	 * A batch that shares its flush (store_defer_flush) is logged
	 * unflushed: unflushed is the first such record not yet flushed
	 * (0: none), the next flush of the log covers it.
	 */
	uint64_t unflushed;
	int defer;		/* the running batch is logged unflushed */
	size_t wal_max;		/* a checkpoint once the log holds this much */
	size_t wal_due;		/* or this, when the map is short of room */
	int map_short;		/* over half the map used: warned once */
	int map_reserved;	/* in the map's last 1/STORE_MAP_RESERVE */
	int map_floor;		/* in the map's last 1/STORE_MAP_FLOOR */
	/*
	 * A checkpoint failed for want of room (store_stalled): why, and
	 * whether every write is refused (a full disk; a full map takes
	 * STORE_W_ROOM's). init_due: store_open's init waits for the
	 * checkpoint that ends it.
	 */
	const char *stall;
	int stall_all;
	int init_due;
	uint64_t map_used, map_size;	/* map_use at the last checkpoint */
	struct oplog log;	/* the running write batch's changes */
	/*
	 * The conversations and contacts (16-byte ids) the running write
	 * batch deleted (store_forget), and those of the batches committed
	 * since store_forgotten last took them.
	 */
	struct penc forget, forgot;
	/*
	 * rec_put_rows' encoding, kept from put to put (wiped after each):
	 * a turn puts some eight records, each grew a buffer of its own.
	 */
	struct penc put;
	/* What requests cost, for tests and logs (store_costs). */
	uint64_t ndecodes;	/* records opened to decode */
	uint64_t nputs;		/* keys written */
	struct guard guard;	/* the data directory's files (guard.h) */
	int created;		/* store_open made a new database */
	/* What store_open was given: store_swap opens it again. */
	char dir[PATH_MAX];
	size_t map_size_mb;
	int flags;
	/* Told of each record appended (store_on_record: replication). */
	void (*on_record)(void *, uint64_t, const uint8_t *, const uint8_t *,
	    size_t);
	void *on_record_arg;
	/*
	 * An open database's place in store_dbs[] plus one, by its handle
	 * (0: not ours): the log names each write's database by its place.
	 * LMDB's handles are below maxdbs (NDBS) plus its own two.
	 */
	uint8_t db_place[NDBS + 2];
	MDB_dbi meta;
	MDB_dbi convs;
	MDB_dbi sessions;
	MDB_dbi activity;	/* retired: emptied at open, never written */
	MDB_dbi msgs;
	/* widgetstore.c, wsess.c, contactstore.c */
	MDB_dbi widgets;	/* internal id -> widget */
	MDB_dbi widget_ids;	/* public widget_id -> internal id */
	MDB_dbi widget_order;	/* u64 created_at | internal id -> (nothing) */
	MDB_dbi wsessions;	/* token hash[32] -> visitor session */
	MDB_dbi widget_wsess;	/* internal id NUL token hash -> (nothing) */
	MDB_dbi contacts;	/* id[16] -> contact */
	MDB_dbi contact_email;	/* SHA-256 of org and email -> id[16] */
	MDB_dbi contact_phone;	/* SHA-256 of org and phone -> id[16] */
	MDB_dbi contact_created; /* u64 created_at | id[16] -> (nothing) */
	MDB_dbi contact_convs;	/* contact id[16] | conv id[16] -> link */
	MDB_dbi daily;		/* internal id NUL u32 UTC day -> u32 count */
	MDB_dbi wsess_claims;	/* token hash[32] -> its contact submissions */
	MDB_dbi wsess_expiry;	/* u64 expires_at | token hash[32] -> () */
	MDB_dbi wsess_gone;	/* deleted widget's internal id -> () */
	uint64_t wsess_idle_ms;	/* sessions made or indexed without a request's */
	uint32_t wsess_new_max;	/* new sessions per widget per minute; 0 = no limit */
	/*
	 * widgetstore.c: what chat begins read of a widget and its agent,
	 * memory only, kept while cfg_gen stays; cfg_gen moves with every
	 * write to the widgets, agents or organisations, a knowledge
	 * source's that may change the default agent's sources
	 * (kbsource_begin_same), a nested txn undone, a replay.
	 */
	struct widget_take *takes;	/* WIDGET_TAKES slots once used */
	uint64_t cfg_gen;
	/* Moves with every write to the session index (a txn's sess_seen). */
	uint64_t sess_gen;
	/* presence.c: dashboards open per organisation, memory only */
	struct stamptab pres;	/* ST_ORGS_MAX presence_ents, by org */
	uint64_t pres_away_ms;	/* PARLEY_AWAY_AFTER_MS; 0 = the default */
	uint64_t pres_since;	/* store_presence_settings' time */
	/* setupcounts.c: refusals per widget, memory only (issue 24) */
	struct stamptab setup;	/* SETUP_WIDGETS_MAX setup_ents, by id */
	uint64_t setup_since;	/* store_setup_start's time */
	uint64_t setup_logged[ST_SETUP_NREASONS];	/* the last line's time */
	uint64_t setup_unlogged[ST_SETUP_NREASONS];	/* since that line */
	/* convquery.c: retired indexes, emptied at open (conv_activity's) */
	MDB_dbi widget_activity; /* widget NUL u64 updated_at | id[16] -> () */
	MDB_dbi widget_counts;	/* widget -> u64 conversations */
	/* dashstore.c */
	MDB_dbi dsessions;	/* owner token hash[32] -> owner session */
	MDB_dbi dsess_expiry;	/* u64 expires_at | token hash[32] -> () */
	/* agentstore.c, handoffstore.c */
	MDB_dbi agents;		/* id (32 hex) -> agent */
	MDB_dbi agent_order;	/* u64 created_at | id (32 hex) -> () */
	MDB_dbi conv_handoff;	/* u8 state | u64 since | id[16] -> () */
	MDB_dbi conv_handoff_at; /* id[16] -> u8 state, u64 since */
	/* orgstore.c */
	MDB_dbi orgs;		/* id ("default", org_ + 32 hex) -> org */
	MDB_dbi org_order;	/* u64 created_at | id -> () */
	/* scope (issue 22): retired, as widget_activity */
	MDB_dbi org_activity;	/* org NUL u64 updated_at | id[16] -> () */
	MDB_dbi org_counts;	/* org -> u64 conversations */
	MDB_dbi org_gone;	/* deleted org whose records are swept -> () */
	/* API keys and the audit log (issue 22): keystore.c, auditstore.c */
	MDB_dbi apikeys;	/* id (key_ + 32 hex) -> key */
	MDB_dbi apikey_order;	/* u64 created_at | id -> () */
	MDB_dbi apikey_hash;	/* SHA-256 of the secret[32] -> id */
	MDB_dbi apikey_org;	/* org NUL u64 created_at | id -> () */
	MDB_dbi audit;		/* entry id[16] -> entry */
	MDB_dbi audit_org;	/* org NUL u64 at | entry id[16] -> () */
	MDB_dbi audit_counts;	/* org -> u64 entries */
	/* userstore.c, dashstore.c: people (issue 22) */
	MDB_dbi users;		/* id (usr_ + 32 hex) -> user */
	MDB_dbi user_order;	/* u64 created_at | id -> () */
	MDB_dbi user_email;	/* email -> id */
	MDB_dbi org_users;	/* org | 0 | user id -> () */
	MDB_dbi invites;	/* token hash[32] -> invitation */
	MDB_dbi dsess_user;	/* user id | token hash[32] -> () */
	/* contactstore.c: a contact being erased or unlinked (issue 22) */
	MDB_dbi contact_gone;	/* id[16] -> what is left to do */
	/* convquery.c: the conversations by activity, one index (issue 22) */
	MDB_dbi conv_activity;	/* org NUL widget NUL u64 updated_at | id -> () */
	MDB_dbi conv_counts;	/* org NUL widget -> u64 conversations */
	MDB_dbi conv_created;	/* org NUL widget NUL u64 created_at | id -> () */
	/* hookstore.c: webhooks (issue 23) */
	MDB_dbi webhooks;	/* id ("wh_" + 32 hex) -> webhook */
	MDB_dbi webhook_order;	/* u64 created_at | id -> () */
	MDB_dbi hook_org;	/* retired: emptied at open (hookstore.c) */
	/* outbox.c: the deliveries */
	MDB_dbi deliveries;	/* u64 seq -> delivery */
	MDB_dbi delivery_due;	/* retired: moved into hook_due at open */
	MDB_dbi hook_due;	/* hook id | u64 next_at | u64 seq -> () */
	MDB_dbi due_hooks;	/* u64 soonest next_at | hook id -> () */
	MDB_dbi hook_deliveries; /* hook id | u64 seq -> () */
	MDB_dbi hook_counts;	/* hook id -> u32 pending, u32 kept */
	/* mailbox.c: email notifications (issue 23, item 4) */
	MDB_dbi mails;		/* u64 seq -> mail */
	MDB_dbi mail_due;	/* u64 next_at | u64 seq -> () */
	MDB_dbi mail_counts;	/* org -> u32 pending */
	MDB_dbi mail_convs;	/* conv id[16] -> u64 last "waiting" mail */
	MDB_dbi user_notify;	/* user id -> u32 ST_MAIL_* */
	/* inbox.c: the inbox (issue 24) */
	MDB_dbi read_marks;	/* conv id[16] | user id -> u64 visitor_at read */
	MDB_dbi user_reads;	/* user id | conv id[16] -> () */
	MDB_dbi canned;		/* org NUL shortcut -> canned reply */
	/* contactstore.c: verified identity (issue 26) */
	MDB_dbi contact_ext;	/* SHA-256 of org, " id:", external id -> id[16] */
	/* feedbackstore.c: the feedback counts (issue 26) */
	MDB_dbi feedback_counts;	/* org NUL widget NUL agent -> counts */
	/* wsconvstore.c: a visitor session's conversations (issue 26) */
	MDB_dbi wsess_convs;	/* token hash | u64 started_at | conv id -> () */
	/* kbindex.c: the knowledge base's chunks and lexical index */
	MDB_dbi kb_chunks;	/* u64 id -> chunk */
	MDB_dbi kb_post;	/* org NUL term NUL u64 id -> counts, lengths */
	MDB_dbi kb_terms;	/* org NUL term -> u32 chunks */
	MDB_dbi kb_stats;	/* org -> u32 chunks, u64 words per field */
	MDB_dbi kb_source;	/* source id NUL u64 id -> () */
	/* kbsource.c: the knowledge base's sources */
	MDB_dbi kb_sources;	/* id -> source */
	MDB_dbi kb_source_order;	/* u64 created_at | id -> () */
	MDB_dbi kb_gone;	/* id -> (): a deleted source's chunks to sweep */
	/* kbpage.c: a crawl's or file's pages */
	MDB_dbi kb_pages;	/* source id | url hash -> page */
	MDB_dbi kb_page_chunks;	/* source id | url hash | u64 id -> () */
	MDB_dbi kb_due;		/* u64 next_sync_at | source id -> () */
	MDB_dbi kb_files;	/* source id -> content type, an uploaded file */
	/* kbvec.c: the knowledge base's vectors */
	MDB_dbi kb_vecmeta;	/* org -> dimension, vectors */
	MDB_dbi kb_vecseg;	/* org NUL u32 segment -> sign codes, ids */
	MDB_dbi kb_vecq;	/* org NUL u32 segment -> int8 vectors */
	MDB_dbi kb_vecs;	/* org NUL u64 id -> position */
	/* actionstore.c: an organisation's actions */
	MDB_dbi actions;	/* id -> action */
	MDB_dbi action_order;	/* u64 created_at | id -> () */
	MDB_dbi conv_resolve;	/* u64 due | id[16] -> (): convstate.c */
	MDB_dbi report_hours;	/* org NUL hour | widget NUL agent: rollups.c */
	MDB_dbi gaps;		/* id[16] | seq -> gap: gapstore.c */
	MDB_dbi gap_time;	/* org NUL | u64 at | id[16] | seq -> () */
	/* attstore.c: attachments */
	MDB_dbi atts;		/* id[16] -> attachment */
	MDB_dbi att_chunks;	/* org NUL sha256 -> a piece's bytes */
	MDB_dbi att_refs;	/* org NUL sha256 -> u32 refs, u32 bytes */
	MDB_dbi att_usage;	/* org -> u64 bytes */
	MDB_dbi att_due;	/* u64 expires_at | id[16] -> () */
	MDB_dbi att_conv;	/* conversation id[16] | id[16] -> () */
	MDB_dbi att_extract;	/* retired (id[16] -> ()): att_queue's */
	MDB_dbi att_text;	/* id[16] -> a PDF's text */
	/* records.c: each organisation's records of an entity, oldest first */
	MDB_dbi widget_org;	/* org NUL u64 created_at | id -> () */
	MDB_dbi agent_org;
	MDB_dbi webhook_org;
	MDB_dbi kb_source_org;
	MDB_dbi action_org;
	/* contactstore.c: each organisation's contacts, and how many */
	MDB_dbi contact_org;	/* org NUL u64 created_at | id[16] -> () */
	MDB_dbi contact_counts;	/* org -> u64 contacts */
	MDB_dbi contact_links;	/* contact id[16] -> u64 contact_convs keys */
	MDB_dbi invite_org;	/* org NUL token hash -> (): userstore.c */
	/* outbox.c: a conversation's webhook deliveries */
	MDB_dbi conv_deliveries;	/* conversation id[16] | u64 seq -> () */
	/* mailbox.c: a conversation's pending mails */
	MDB_dbi conv_mails;	/* conversation id[16] | u64 seq -> () */
	/* outbox.c: a contact's webhook deliveries */
	MDB_dbi contact_deliveries;	/* contact id[16] | u64 seq -> () */
	/* mailbox.c: a contact's pending "new contact" mails */
	MDB_dbi contact_mails;	/* contact id[16] | u64 seq -> () */
	/* convstore.c: deleted conversations whose messages are left */
	MDB_dbi msgs_gone;	/* conversation id[16] -> () */
	/* turnstore.c: the model turns open */
	MDB_dbi turns_open;	/* conversation id[16] -> message id[16] */
	/* convquery.c: a deleted widget's retention, kept for its conversations */
	MDB_dbi widgets_retired;	/* widget id -> u32 days, org */
	/* attqueue.c: the PDFs to read, round by round across clients */
	MDB_dbi att_queue;	/* u64 round | u64 at | id[16] -> lane */
	MDB_dbi att_lanes;	/* lane -> u64 its last round */
	MDB_dbi att_leases;	/* id[16] -> u64 deadline, u8 tries, lane */
	/* mailbox.c: a window's mails of a kind visitors cause */
	MDB_dbi mail_bounds;	/* org NUL u32 kind -> start, mailed, summary */
	int mail_on;		/* SMTP_URL is set: mails are written */
	/* kbusage.c: the bytes each organisation's knowledge base keeps */
	MDB_dbi kb_usage;	/* org -> u64 bytes */
	uint64_t kb_quota;	/* PARLEY_KB_QUOTA_MB in bytes; 0 = none */
	/* The organisation whose mail went out last: due_pick's turn. */
	char mail_rr[ST_ORG_ID_MAX + 1];
	uint64_t (*now)(void);
	/* store_set_turn_left's: a lost worker's turn, ending by itself. */
	int (*turn_left)(const char *conv, const char *msg);
};

extern const uint8_t rec_version;

/* The databases, in the order the log names them by: never reorder. */
struct store_db {
	const char *name;
	size_t off;		/* of its MDB_dbi in struct store */
	const struct rlayout *layout;	/* its values' records, or NULL */
};
extern const struct store_db store_dbs[NDBS];
/* The handle of store_dbs[i]. */
MDB_dbi *store_dbi(const struct store *, size_t i);

/* storelog.c: records what a write does, replays a record. */
void oplog_put(struct store *, MDB_dbi, const void *k, size_t klen,
    const void *v, size_t vlen);
void oplog_del(struct store *, MDB_dbi, const void *k, size_t klen);
void oplog_drop(struct store *, MDB_dbi);
void oplog_clear(struct oplog *);
void oplog_free(struct oplog *);
/* Applies a record's body in txn. 0, or -1 (malformed, or LMDB failed: logged). */
int oplog_apply(struct store *, MDB_txn *, const uint8_t *body, size_t len);
/*
 * Deletes the entry under cur (its key is k) and logs it; empties a
 * database and logs it. LMDB's code, or 0; t->wrote set on success.
 */
int db_cursor_del(struct store_txn *, MDB_cursor *, MDB_dbi,
    const MDB_val *k);
int db_drop(struct store_txn *, MDB_dbi);

void msg_key(uint8_t k[MSG_KEY_LEN], const uint8_t id[ID_LEN], uint32_t seq);
/* The message number in a message's key. */
uint32_t msg_key_seq(const uint8_t k[MSG_KEY_LEN]);
/* An index key of two parts, a then b, into k (room for na + nb); na + nb. */
size_t key_join(uint8_t *k, const void *a, size_t na, const void *b,
    size_t nb);
/* An expiry index's key: u64 at, then a 32-byte token hash (sessions). */
#define EXPIRY_KEY_LEN	(8 + 32)
void expiry_key(uint8_t k[EXPIRY_KEY_LEN], uint64_t at, const uint8_t *hash);
/* Checks (widget, session) and builds its sessions key. 0, or -1 failed. */
int sess_key(struct store_txn *, const char *widget, const char *session,
    uint8_t skey[SESS_KEY_MAX], size_t *klen);

int txn_lmdb(struct store_txn *, int rc, const char *what);
/*
 * The bytes of LMDB's map in use as txn sees it (every database's pages,
 * LMDB's free list's own, the meta pages; not the free pages, which a
 * later txn reuses) and the map's size: 0, or -1 when LMDB cannot say.
 */
int map_use(struct store *, MDB_txn *txn, uint64_t *used, uint64_t *size);
/*
 * dbi's first entry into *k and *v (valid until the transaction writes
 * again): 0, 1 when it has none, -1 (t failed; what names the read).
 */
int txn_first(struct store_txn *, MDB_dbi, MDB_val *k, MDB_val *v,
    const char *what);
/*
 * A cursor of dbi, for the caller to close, at the first key at or past
 * key (klen bytes; 0: the first key): *rc is mdb_cursor_get's result,
 * with *k and *v. NULL with t failed (already, or opening it).
 */
MDB_cursor *txn_seek(struct store_txn *, MDB_dbi, const void *key,
    size_t klen, MDB_val *k, MDB_val *v, int *rc);
/*
 * Up to max keys of dbi, from the first at or past from (flen bytes, 0:
 * the first key; after: past it), while they start with the first plen
 * bytes of from; keys of another length than keylen are passed over.
 * Copied into keys (max x keylen). 0, or -1 with t failed (what: the
 * walk, as the log names it).
 */
int txn_keys(struct store_txn *, MDB_dbi, const char *what,
    const void *from, size_t flen, int after, size_t plen, size_t keylen,
    uint8_t *keys, uint32_t max, uint32_t *n);
/* txn_lmdb() for a write: t->wrote is set (the txn may have changed). */
void write_failed(struct store_txn *, int rc, const char *what);
/* 0 found, 1 absent, or -1 with the sticky error set. */
int db_get(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    MDB_val *v, const char *what);
void db_put(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const void *v, size_t vlen, const char *what);
/*
 * prefix and 128 random bits as 32 lowercase hex into out (room for them
 * and a NUL): an id no key of dbi holds. 0, or -1 with t failed (what
 * names them: "widget", logged when four draws all collide).
 */
int fresh_hex_id(struct store_txn *, MDB_dbi, const char *prefix, char *out,
    const char *what);
/*
 * A backfill's marker, meta's key: made when it is absent (the first start
 * of a version that keeps what older records lack) as [version, done],
 * done when dbi holds nothing yet; the records to do logged as "<n>
 * <work>". The backfill keeps its progress after those two bytes. 0, or
 * t's error.
 */
int backfill_begin(struct store_txn *, const char *key, MDB_dbi dbi,
    const char *work);
/* 1 once deadline (proto_mono_us(); 0: never) has passed, else 0. */
int store_past(uint64_t deadline);
/*
 * Conversations ids (n of 16 bytes) deleted in order (store_conv_delete),
 * the first min (at least 1) whatever the time, the next ones until
 * deadline (store_past) has passed: how many were (all of them but on
 * failure, t's error).
 */
uint32_t convs_delete(struct store_txn *, const uint8_t *ids, uint32_t n,
    uint32_t min,
    uint64_t deadline);
/* db_put() of an index key whose value is the version byte alone. */
void db_mark(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const char *what);
/* The key must exist. */
void db_del(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const char *what);
/* db_del() of a key that may be absent (an index entry). */
void db_del_quiet(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const char *what);
/* A record's version byte is ST_RECORD_VERSION: d reads what follows. */
int rec_open(struct store_txn *, const MDB_val *, struct pdec *,
    const char *what);
/*
 * A record whose version byte is 1 to max: d reads what follows. The
 * version, or -1 (logged, t failed).
 */
int rec_open_ver(struct store_txn *, const MDB_val *, struct pdec *,
    int max, const char *what);
/* The reply bytes of a message record (its version 2 encoding). */
size_t msg_rec_size(const MDB_val *);
void rec_corrupt(struct store_txn *, const char *what);
/*
 * A secret of the install kept in meta under key: its version byte and
 * n random bytes (at most 64), made when missing (a module's init, in
 * the transaction that opens the store; logged as "made this install's
 * <what>"), never changed after: 0, or t failed. meta_secret_get reads
 * it into out: 0, or t failed (missing or not understood: corrupt).
 */
int meta_secret_make(struct store_txn *, const char *key, size_t n,
    const char *what);
int meta_secret_get(struct store_txn *, const char *key, void *out,
    size_t n, const char *what);
/* A message record into m: 0, or -1 with the error set and m empty. */
int msg_rec_decode(struct store_txn *, const MDB_val *, struct st_msg *);
/*
 * msg_rec_decode keeping only the strings of rows (rl_dec_rows: each
 * RL_ROW(ST_MSG_ROW_role)...; its numbers always): for a walk that reads
 * a message's role, not its content.
 */
int msg_rec_decode_rows(struct store_txn *, const MDB_val *, struct st_msg *,
    uint64_t rows);
/* Encodes a record behind its version byte (penc_fn writes the rest). */
void rec_put(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    struct penc *e, const char *what);

/*
 * A record with rows (record.h) behind its layout's format byte, as
 * db's value under k.
 */
void rec_put_rows(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const struct rlayout *, const void *rec, const char *what);
/*
 * A stored record with rows of any of its layout's formats into rec
 * (zeroed here), all of v read: 0, or -1 (logged, t failed, rec freed).
 */
int rec_dec_rows(struct store_txn *, const MDB_val *v,
    const struct rlayout *, void *rec, const char *what);
/*
 * The record under k in dbi into rec, as rec_dec_rows (rec zeroed when
 * absent): 0, 1 absent, -1 (t failed).
 */
int rec_load(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const struct rlayout *, void *rec, const char *what);
/* rec_load keeping the strings of rows only (rl_dec_rows). */
int rec_load_rows(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    const struct rlayout *, void *rec, uint64_t rows, const char *what);

/* db_get() and rec_open(): 0 with d ready, 1 absent, -1 error. */
int rec_get(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    struct pdec *d, const char *what);
/*
 * The start of a key of org's: org and its NUL into out (room for
 * ST_WHO_ORG_MAX + 1); their length.
 */
size_t org_prefix(const char *org, uint8_t *out);
/*
 * An index key of org's: org NUL u64 at | id (room for ST_WHO_ORG_MAX +
 * 1 + INDEX_KEY_LEN), as index_walk() walks one organisation's; its length.
 */
size_t org_time_key(const char *org, uint64_t at, const uint8_t id[ID_LEN],
    uint8_t *out);
/* Whether k starts with the plen bytes of prefix (every key does at 0). */
int key_in(const MDB_val *k, const void *prefix, size_t plen);
/*
 * A retired index, which older storageds kept and nothing reads now,
 * emptied (at open): its pages go back to the free list. Logged when it
 * held entries; t failed on an error.
 */
void db_retire(struct store_txn *, MDB_dbi, const char *name);
/*
 * db_retire of an index whose entries a newer format keeps elsewhere:
 * each given to move first (1 when it moved one, 0 when there was
 * nothing to move; t's error on failure), one line logged for those
 * moved ("moved N <moved>"). 0, or t's error.
 */
int db_retire_moving(struct store_txn *, MDB_dbi, const char *name,
    const char *moved, int (*move)(struct store_txn *, const MDB_val *k));
/*
 * Whether index, made from source, is to be made again at open (a data
 * directory of before it, a log replay cut short): 1 when the two do not
 * hold as many entries, index then emptied; 0 when they do; -1 with t
 * failed. *n: source's entries.
 */
int index_stale(struct store_txn *, MDB_dbi source, MDB_dbi index,
    const char *what, size_t *n);
/*
 * A count under k (version byte, u64; none is 0): rec_count_get's *n, 0
 * or -1 with t failed. rec_count_put sets it, deleting it at 0 so an
 * unknown key and an empty count agree; rec_count_add moves it by delta
 * (below 0: the index is inconsistent, t failed).
 */
int rec_count_get(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    uint64_t *n, const char *what);
void rec_count_put(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    uint64_t n, const char *what);
void rec_count_add(struct store_txn *, MDB_dbi, const void *k, size_t klen,
    int64_t delta, const char *what);

/* A page of an index keyed [prefix] u64 | id[16], as ST_CONV_LIST pages. */
struct index_page {
	uint64_t total;
	uint32_t n;
	void *items;		/* n loaded, room for limit */
	char next_cursor[ST_CURSOR_MAX + 1];
};
int index_page(struct store_txn *, MDB_dbi index, MDB_dbi records,
    const char *what, uint32_t limit, const char *cursor, size_t size,
    int (*load)(struct store_txn *, const uint8_t *, void *),
    struct index_page *);
/* How index_walk() walks: see store.c. */
struct index_walk {
	const void *prefix;	/* every key starts with these plen bytes */
	size_t plen;		/* at most INDEX_PREFIX_MAX */
	uint32_t limit;		/* items to take, at least 1 */
	uint32_t scan;		/* keys to look at; 0 = no bound */
	size_t size;		/* bytes of an item */
	/* 0 taken, 2 passed over, 1 the record is missing, -1 failed */
	int (*take)(struct store_txn *, const uint8_t *id, void *item,
	    void *arg);
	void *arg;
	const int *halt;	/* when set non-zero by take(): stop after it */
};
int index_walk(struct store_txn *, MDB_dbi index, const char *what,
    const char *cursor, const struct index_walk *, struct index_page *);
/*
 * The records an order index (prefix, then u64 created_at | id, idmin to
 * idmax bytes of id, idmax at most ST_WIDGET_MAX) names after prefix,
 * oldest first, at most max taken: load() reads each into the next of
 * items (max of size bytes each), given arg: 0 taken, 2 passed over (the
 * item left zeroed), 1 absent (the index is then inconsistent), -1
 * failed. what ("widget") names them in errors. 0, or t's error; either
 * way *n are taken, the caller's to free.
 */
struct order_list {
	MDB_dbi index;
	const char *what;
	const void *prefix;	/* the keys walked start with it (NULL: all) */
	size_t plen;
	size_t idmin, idmax;
	uint32_t max;
	size_t size;
	int (*load)(struct store_txn *, const char *id, void *item,
	    const void *arg);
	const void *arg;
};
int order_list(struct store_txn *, const struct order_list *, void *items,
    uint32_t *n);
/*
 * index_walk() over the (org, widget) parts of index (conv_activity or
 * conv_created, which what names in errors), merged newest first: those
 * of org (NULL: every organisation's) and widget (NULL: every widget's).
 * w's prefix is not used; pg->total is the conversations of the parts
 * merged.
 */
int merge_walk(struct store_txn *, MDB_dbi index, const char *what,
    const char *org, const char *widget, const char *cursor,
    const struct index_walk *, struct index_page *);

/* 0 loaded, 1 absent, -1 error. */
int conv_load(struct store_txn *, const uint8_t id[ID_LEN],
    struct st_conv *);
/* A widget by internal id: 0 loaded, 1 absent, -1 error (widgetstore.c). */
int widget_load(struct store_txn *, const char *id, struct st_widget *);
/* An enabled widget of this public id: 0, 1 when none, -1 error. */
int widget_usable(struct store_txn *, const char *widget_id,
    struct st_widget *);
/*
 * rc, a widget load's (0 w loaded), kept when w is enabled and its
 * organisation is (not deleted); 1 (w freed) when not; -1 t failed.
 */
int widget_on(struct store_txn *, int rc, struct st_widget *w);
/*
 * Counts one message against widget w's daily cap and its organisation's
 * daily turn budget (each 0: none; an organisation's is counted only
 * while it has one): 0 counted in both, 1 one is reached (nothing
 * counted; *retry_ms to the next UTC day), -1 error.
 */
struct store_ws_widget;
int daily_take(struct store_txn *, const struct store_ws_widget *w,
    uint64_t now, uint64_t *retry_ms);
/*
 * Today's bounds into out's day_end, budget, turns, cap and messages
 * (proto/reportmsg.h): organisation org's, and widget's (an internal id;
 * "" none) when it is org's. now: ms since the epoch. 0, or -1 (t
 * failed).
 */
struct st_report_rep;
int daily_today(struct store_txn *, const char *org, const char *widget,
    uint64_t now, struct st_report_rep *out);
/* Frees the begins' cache of widgets (store_chat_widget_take). */
void store_takes_free(struct store *);
/*
 * kbsource.c: 1 when v (vlen bytes) put over knowledge source k leaves
 * what the begins' cache holds of it as it was (listed or not among its
 * organisation's sources with chunks, and that organisation); 0 when it
 * may not (a new source, one gaining its first chunks or losing its
 * last, a record that does not decode).
 */
int kbsource_begin_same(struct store_txn *, const void *k, size_t klen,
    const void *v, size_t vlen);

/* wsess.c: a visitor session under its token's hash (wsess.h). */
struct st_wsess;
/* 0 loaded, 1 absent, -1 error. */
int wsess_load(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_wsess *);
/* Saves it; its expiry entry moves from old_exp (0: none). */
void wsess_save(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *, uint64_t old_exp);
/* A new session of widget (internal id): 0, or -1 with t failed. */
int wsess_create(struct store_txn *, const char *widget,
    const uint8_t hash[ST_TOKEN_HASH_LEN], uint64_t idle_ms,
    struct st_wsess *);
/*
 * 1 when session s is widget's (internal id) and active within
 * storaged's session span (not expired), else 0.
 */
int wsess_current(struct store_txn *, const struct st_wsess *,
    const char *widget);
/*
 * A contact's erasure (contactstore.c): the next max visitor sessions
 * after pos (from the first when !*haspos) are looked at; those naming
 * contact (hex) are deleted with their claims (erase) or forget it
 * (contact_id ""), and any other whose last contact submission went to
 * it keeps none of it in its claim (claim_contact_gone). pos is set to
 * the last looked at, *end to 1 when none is left after it. 0, or t's
 * error.
 */
int wsess_contact_sweep(struct store_txn *, const char *contact, int erase,
    uint8_t pos[ST_TOKEN_HASH_LEN], int *haspos, uint32_t max, int *end);

/* wsess.c: a new random session id (WS_SESSION_MARK, 32 hex) into s->id. */
void wsess_new_id(struct st_wsess *);
/*
 * The one check of a visitor's socket's requests (the open and every
 * frame that stores: docs/widget-protocol.md): the enabled widget of
 * public id widget_id into *w (0, *result ST_WS_OK; free it), else 1 with
 * *result NO_WIDGET, or ORIGIN when the widget has allowed_origins and
 * they no longer take origin, the socket's (NULL: a read, not checked);
 * -1 on error (t's).
 */
int wsess_widget(struct store_txn *, const char *widget_id,
    const char *origin, struct st_widget *w, int *result);
/*
 * The live session under hash on the enabled widget of public id
 * widget_id into *s: *result ST_WS_OK,
 * else NO_WIDGET, ORIGIN (wsess_widget's), or NO_SESSION (unknown,
 * another widget's, idle past storaged's span; also when absent unless
 * absent_ok, which gives OK with s->id ""); for a write (writes), also
 * IDENTITY: the widget takes verified visitors only and the session is
 * not one. 0, or t's error.
 */
int wsess_find(struct store_txn *, const char *widget_id, const char *origin,
    const uint8_t hash[ST_TOKEN_HASH_LEN], int absent_ok, int writes,
    int *result, struct st_wsess *s);

/*
 * wsconvstore.c: the conversations of a session (issue 26). wsconvs_note_conv:
 * conversation c is one of the session's under hash (again: no change);
 * the oldest beyond ST_WS_CONVS_MAX leaves the list. wsconvs_drop: every
 * entry of the session (it is deleted).
 */
void wsconvs_note_conv(struct store_txn *,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const struct st_conv *c);
void wsconvs_drop(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN]);
/*
 * The newest conversation listed for the session under hash into cid: 0,
 * 1 none, -1 error. Right after a new conversation (before its first
 * message) it is the one just left (a rating of "the conversation just
 * ended").
 */
int wsconvs_newest(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    uint8_t cid[ID_LEN]);
/*
 * 1 when the session under hash lists a conversation other than cur (its
 * current one's id, NULL none): one the visitor can open as an earlier
 * one; 0 not; -1 error. Reads two entries at most.
 */
int wsconvs_other(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const uint8_t *cur);
/* fn(t, cid, arg) for each conversation listed for the session, oldest
 * first. */
void wsconvs_each(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    void (*fn)(struct store_txn *, const uint8_t cid[ID_LEN], void *),
    void *arg);
/*
 * 1 when conversation cid (loaded as c) is the session s's under hash:
 * listed, or its current one; 0 not; -1 error.
 */
int wsconvs_owns(struct store_txn *, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const uint8_t cid[ID_LEN],
    const struct st_conv *c);

/*
 * contactstore.c: a conversation just made for a session with a contact
 * is linked to it as the session's claim says (secret: its widget's
 * identity secret, which a verified claim must have been made with).
 */
void claim_link_conv(struct store_txn *,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const struct st_wsess *,
    const struct st_conv *, const char *secret);
/*
 * contactstore.c: a new conversation's link key (contact id | its id)
 * stored verified and counted in contact_links; bounded (a visitor who
 * is not the contact's verified identity): only while the contact holds
 * fewer than ST_CONTACT_LINKS_MAX. 1 linked, 0 not (the contact full),
 * -1 error.
 */
int contact_link_new(struct store_txn *, const uint8_t key[2 * ID_LEN],
    int bounded);
/* contactstore.c: link key deleted and uncounted, when it is there. */
void contact_link_del(struct store_txn *, const uint8_t key[2 * ID_LEN]);
/*
 * contactstore.c: contact (hex) deleted, erased or not: the claim of
 * session s under hash, when its last submission went to that contact
 * (a claim of before format 3, which does not say: when s names it),
 * keeps none of what was submitted (name, email, phone ""); its count,
 * the contact it made and its verified identify's tag stay.
 */
void claim_contact_gone(struct store_txn *,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const struct st_wsess *s,
    const char *contact);

/*
 * A conversation a request names, each step 0 or -1 with the request
 * failed: its id checked and decoded, then loaded (absent: NOT_FOUND).
 */
int conv_id_parse(struct store_txn *, const char *hex, uint8_t id[ID_LEN]);

int conv_get(struct store_txn *, const uint8_t id[ID_LEN], struct st_conv *);
int conv_by_hex(struct store_txn *, const char *hex, uint8_t id[ID_LEN],
    struct st_conv *);
/*
 * Writes c under id; its report counts move with it (rollups.c: from the
 * record stored, whose reported c keeps; a new one is reported).
 */
void conv_save(struct store_txn *, const uint8_t id[ID_LEN],
    const struct st_conv *);
/*
 * Walks conversation cid's messages from sequence number from on, in
 * order: visit(t, key, record, arg) says 0 go on, 1 stop (t failed to
 * stop on an error). 0, or -1 with t failed.
 */
int msgs_walk(struct store_txn *, const uint8_t cid[ID_LEN], uint32_t from,
    int (*visit)(struct store_txn *, const MDB_val *, const MDB_val *,
    void *), void *arg);
/*
 * store_conv_open() that gives a conversation it makes the contact
 * (contact_id "" = none) and links it in contact_convs (contact_link_new,
 * bounded: none when the contact is full).
 */
int conv_open_contact(struct store_txn *, const char *widget,
    const char *session, const char *contact_id, struct st_conv *,
    int *created);
/*
 * store_chat_begin() with conv_open_contact(), the link of a conversation
 * it makes bounded or not (contact_link_new: bounded but for the
 * contact's verified identity); the visitor's message
 * names claim's uploads (attstore.h; NULL none) and is stored with the
 * widget's client_id of it ("" none; valid: the caller checked it).
 */
struct att_claim;
int chat_begin_contact(struct store_txn *, const char *widget,
    const char *session, const char *contact_id, int bounded, const char *org,
    const char *content, const char *client_id, const struct att_claim *claim,
    uint32_t history_max, size_t max_bytes, struct store_chat *);
/* The session's conversation id: 0 found, 1 none, -1 error. */
int sess_conv_id(struct store_txn *, const char *widget,
    const char *session, uint8_t id[ID_LEN]);
/*
 * The visitor's message of conversation cid's turn open (turns_open), in
 * msg: 0 found, 1 none, -1 error.
 */
int turn_open_msg(struct store_txn *, const uint8_t cid[ID_LEN],
    char msg[ST_ID_HEX + 1]);
/*
 * The message msg_hex (32 hex) of conversation cid: 0 found (key and m
 * set), 1 absent, -1 error.
 */
int msg_find(struct store_txn *, const uint8_t cid[ID_LEN],
    const char *msg_hex, uint8_t key[MSG_KEY_LEN], struct st_msg *m);
/* Writes m under key, in the newest format. */
void msg_save(struct store_txn *, const uint8_t key[MSG_KEY_LEN],
    const struct st_msg *m);
/*
 * Whether conversation cid's newest message, a tool's step or a system
 * note passed over, is an assistant's reply stored complete: 1 yes; 0 no
 * (none, the visitor's message unanswered, a failed or interrupted
 * reply, a person's); -1 with t failed.
 */
int msg_newest_answered(struct store_txn *, const uint8_t cid[ID_LEN]);
int msgs_newest(struct store_txn *, const uint8_t cid[ID_LEN], uint32_t max,
    size_t max_bytes, uint64_t rows, const struct st_msg *newest,
    struct st_msg **out, uint32_t *nout, int *more, size_t *read);

/*
 * seqid.c: a number of an install-wide sequence (a delivery's, a
 * knowledge chunk's) as the id an organisation sees: prefix, then
 * ST_ID_HEX hex digits of one block under the install's id key (out:
 * strlen(prefix) + ST_ID_HEX + 1 bytes), which tells nothing of how many
 * came between two: 0, or t failed. And back: 0 read, 1 not one of
 * prefix's ids under this key (malformed, made up, another kind's), -1
 * t failed. A record's id is its number's, whatever it stored.
 */
int store_seq_show(struct store_txn *, const char *prefix, uint64_t seq,
    char *out);
int store_seq_read(struct store_txn *, const char *prefix, const char *id,
    uint64_t *seq);

/*
 * The modules (store_module in store.h), each its file's records:
 * wsess.c sets the session defaults and moves older data directories'
 * sessions on (expiry backfill, namespace); widgetstore.c makes the
 * default widget when missing; dashstore.c makes the fingerprint salt;
 * convquery.c keeps the per-widget activity index and counts wherever a
 * conversation is made, moved or deleted, and builds them for a data
 * directory that predates them (which also empties the retired global
 * index).
 */
extern const struct store_module wsess_module;
extern const struct store_module widgetstore_module;
extern const struct store_module dashstore_module;
extern const struct store_module convquery_module;
/* seqid.c makes the install's id key (store_seq_show). */
extern const struct store_module seqid_module;
/* handoffstore.c: a deleted conversation leaves the handoff index. */
extern const struct store_module handoff_module;
/* orgstore.c makes the default organisation when missing. */
extern const struct store_module orgstore_module;
/* contactstore.c hashes an older data directory's email and phone keys. */
extern const struct store_module contactstore_module;
/* outbox.c: a data directory's older due index moved into hook_due. */
extern const struct store_module outbox_module;
/*
 * mailbox.c: a deleted conversation's pending mails and last "waiting"
 * mail's time go; an older data directory's mails listed by conversation.
 */
extern const struct store_module mailbox_module;
extern const struct store_module inbox_module;	/* inbox.c: read marks */
/* feedbackstore.c: a deleted conversation's thumbs and rating leave the counts. */
extern const struct store_module feedback_module;
extern const struct store_module convstate_module;	/* convstate.c */
extern const struct store_module report_module;		/* rollups.c */
extern const struct store_module gap_module;		/* gapstore.c */
extern const struct store_module att_module;		/* attstore.c */
/*
 * attqueue.c: the PDFs whose text the fetcher is to read, fair across the
 * clients that sent them. Put: id queued in lane's turn (a client's key, a
 * person's organisation; "" none). Take: the next one's id off the queue,
 * leased (attempt: its lease's number, 1 the first; the leases past their
 * deadline queued again or given up first), 0, or 1 none waiting; -1 (t
 * failed). Done: id's lease ended (its text kept, or it is gone). Init:
 * att_extract's moved in.
 */
int att_queue_put(struct store_txn *, const uint8_t id[ID_LEN],
    const char *lane);
int att_queue_take(struct store_txn *, uint8_t id[ID_LEN], uint8_t *attempt);
void att_queue_done(struct store_txn *, const uint8_t id[ID_LEN]);
int att_queue_init(struct store_txn *);
/*
 * attstore.c: PDF id's text kept, and its outcome (ST_ATT_TEXT_READY, or
 * FAILED: none could be read), its lease ended: 0, 1 the attachment is
 * gone (nothing kept), -1 (t failed).
 */
int att_text_keep(struct store_txn *, const uint8_t id[ID_LEN],
    const char *text, uint8_t status);
/* records.c: an older data directory's organisation orders filled. */
extern const struct store_module records_module;
/* hookstore.c: the retired hook_org emptied. */
extern const struct store_module hookstore_module;
/* userstore.c: an older data directory's invitations listed by organisation. */
extern const struct store_module userstore_module;
/*
 * kbindex.c: the knowledge base's lexical index made again, in batches
 * of its own (init_steps), when the text analysis that made it is not
 * this build's (kbindex.h's meta "kb_analysis").
 */
extern const struct store_module kbindex_module;
/* The quota's count of a data directory of before it (kbcount.c). */
extern const struct store_module kbcount_module;

/* People (userstore.c, dashstore.c). */
struct st_user;
/* A user by id: 0 loaded, 1 absent, -1 error. */
int user_load(struct store_txn *, const char *id, struct st_user *);
/*
 * u's first membership it may act in (neither the account nor the
 * membership disabled) whose organisation exists, else NULL (t may have
 * failed): a user with none can log in nowhere.
 */
const struct st_member *user_acting(struct store_txn *,
    const struct st_user *);
/*
 * Deletes every dashboard session of the user but keep's (who asks's id:
 * the hex of its hash's first ST_DASH_WHO_BYTES; NULL: none kept): 0,
 * or -1 with t failed.
 */
int dsess_end_user(struct store_txn *, const char *user, const char *keep);

#endif
