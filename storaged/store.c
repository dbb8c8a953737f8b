/*
 * storaged's storage engine: the LMDB environment (open, schema, recovery
 * from the write-ahead log, checkpoints, sync, backup, stats), the
 * transactions (a batch's shared one, nested views, commit and undo) and
 * the helpers every store file writes records with (db_*, rec_*). What is
 * stored is the other files' (storaged.h lists them): conversations and
 * messages (convstore.c, convquery.c), widgets (widgetstore.c), visitor
 * sessions (wsess.c), contacts (contactstore.c), agents (agentstore.c),
 * organisations (orgstore.c), the owner's sessions (dashstore.c). STORAGE.md has the databases and
 * the durability rules.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentmsg.h"
#include "dashmsg.h"
#include "log.h"
#include "metrictotals.h"
#include "random.h"
#include "presence.h"
#include "setupcounts.h"
#include "sha256.h"
#include "storeint.h"
#include "util.h"
#include "wal.h"

/* rec_put_rows' kept buffer gives back what grew past this (a KB page). */
#define PUT_KEEP_MAX	(64 * 1024)

const uint8_t rec_version = ST_RECORD_VERSION;

/* ---------------------------------------------------------------- helpers */

void
msg_key(uint8_t k[MSG_KEY_LEN], const uint8_t id[ID_LEN], uint32_t seq)
{
	memcpy(k, id, ID_LEN);
	proto_put_be32(k + ID_LEN, seq);
}

uint32_t
msg_key_seq(const uint8_t k[MSG_KEY_LEN])
{
	return proto_get_be32(k + ID_LEN);
}

size_t
key_join(uint8_t *k, const void *a, size_t na, const void *b, size_t nb)
{
	memcpy(k, a, na);
	memcpy(k + na, b, nb);
	return na + nb;
}

void
expiry_key(uint8_t k[EXPIRY_KEY_LEN], uint64_t at, const uint8_t *hash)
{
	_Static_assert(ST_TOKEN_HASH_LEN == EXPIRY_KEY_LEN - 8 &&
	    ST_DASH_HASH_LEN == EXPIRY_KEY_LEN - 8, "session hashes");
	proto_put_be64(k, at);
	memcpy(k + 8, hash, EXPIRY_KEY_LEN - 8);
}

/* ---------------------------------------------------------------- txns */

int
store_fail(struct store_txn *t, int code, const char *msg)
{
	if (t->err == 0) {
		t->err = code;
		t->errmsg = msg;
	}
	return t->err;
}

int
store_set_str(struct store_txn *t, char **dst, const char *src)
{
	char *s;

	if ((s = strdup(src)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

/*
 * An LMDB failure: the detail goes to the log, the client hears
 * "internal", or that the store is full (MDB_MAP_FULL). A full map, or
 * a txn LMDB calls unusable since, counts as written (write_failed):
 * wherever it came from (a cursor's put, a count), LMDB has left the
 * txn unusable, and only the batch's undo begins it again.
 */
int
txn_lmdb(struct store_txn *t, int rc, const char *what)
{
	log_warnx("lmdb: %s: %s%s", what, mdb_strerror(rc),
	    rc == MDB_MAP_FULL ? " (raise PARLEY_MAP_SIZE_MB)" : "");
	if (rc == MDB_MAP_FULL || rc == MDB_BAD_TXN)
		t->wrote = 1;
	if (rc == MDB_MAP_FULL)
		return store_fail(t, PROTO_E_UNAVAILABLE, STORE_FULL_ERR);
	return store_fail(t, PROTO_E_INTERNAL, "storage error");
}

MDB_cursor *
txn_seek(struct store_txn *t, MDB_dbi dbi, const void *key, size_t klen,
    MDB_val *k, MDB_val *v, int *rc)
{
	MDB_cursor *cur;

	if (t->err)
		return NULL;
	if ((*rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		txn_lmdb(t, *rc, "cursor");
		return NULL;
	}
	k->mv_size = klen;
	k->mv_data = (void *)(uintptr_t)key;
	*rc = mdb_cursor_get(cur, k, v, klen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	return cur;
}

int
txn_first(struct store_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v,
    const char *what)
{
	MDB_cursor *cur;
	int rc;

	if ((cur = txn_seek(t, dbi, NULL, 0, k, v, &rc)) == NULL)
		return -1;
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0) {
		txn_lmdb(t, rc, what);
		return -1;
	}
	return 0;
}

int
txn_keys(struct store_txn *t, MDB_dbi dbi, const char *what,
    const void *from, size_t flen, int after, size_t plen, size_t keylen,
    uint8_t *keys, uint32_t max, uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if ((cur = txn_seek(t, dbi, from, flen, &k, &v, &rc)) == NULL)
		return -1;
	if (rc == 0 && after && k.mv_size == flen &&
	    memcmp(k.mv_data, from, flen) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && *n < max && k.mv_size >= plen &&
	    (plen == 0 || memcmp(k.mv_data, from, plen) == 0)) {
		if (k.mv_size == keylen)
			memcpy(keys + (size_t)(*n)++ * keylen, k.mv_data,
			    keylen);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, what);
	return t->err ? -1 : 0;
}

/* The write txn of everything since the last checkpoint. 0, or an LMDB code. */
static int
ltxn_begin(struct store *st)
{
	int rc;

	if (st->ltxn != NULL)
		return 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &st->ltxn)) != 0) {
		st->ltxn = NULL;
		log_warnx("lmdb: begin: %s", mdb_strerror(rc));
	}
	return rc;
}

/*
 * The write txn of everything since the last checkpoint ended: committed
 * when rc (its last write's) is 0, else aborted. 0, or an LMDB code.
 */
static int
ltxn_end(struct store *st, int rc)
{
	if (rc == 0)
		rc = mdb_txn_commit(st->ltxn);
	else
		mdb_txn_abort(st->ltxn);
	st->ltxn = NULL;
	return rc;
}

int
store_begin(struct store *st, struct store_txn *t, int rdonly)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->st = st;
	t->rdonly = rdonly;
	t->top = 1;
	if (st->log.len != 0) {
		/* A batch ended without store_commit/abort: a bug. */
		log_warnx("store: a batch began over an unfinished one");
		return store_fail(t, PROTO_E_INTERNAL, "storage error");
	}
	/*
	 * A full log is checkpointed before the next batch, not at the end
	 * of the one that filled it: that one's replies are not held up.
	 * A stalled store's is tried again by store_retry, not here.
	 */
	if (wal_used(st->wal) >= st->wal_due && st->stall == NULL)
		(void)store_checkpoint(st);
	if ((rc = ltxn_begin(st)) != 0)
		return txn_lmdb(t, rc, "begin");
	t->txn = st->ltxn;
	return 0;
}

int
store_begin_shared(struct store_txn *parent, struct store_txn *c)
{
	memset(c, 0, sizeof(*c));
	c->st = parent->st;
	c->rdonly = parent->rdonly;
	c->parent = parent;
	if (parent->err)
		return store_fail(c, parent->err, parent->errmsg);
	c->view = 1;
	c->txn = parent->txn;
	return 0;
}

int
store_begin_child(struct store_txn *parent, struct store_txn *c)
{
	int rc;

	/* LMDB has no nested read txns; reads change nothing anyway. */
	if (store_begin_shared(parent, c) != 0 || parent->rdonly)
		return c->err;
	c->view = 0;
	c->child = 1;
	c->log_mark = c->st->log.len;
	c->forget_mark = c->st->forget.len;
	if ((rc = mdb_txn_begin(c->st->env, parent->txn, 0, &c->txn)) != 0) {
		c->txn = NULL;
		txn_lmdb(c, rc, "begin nested");
	}
	return c->err;
}

/* A view ends: what it wrote is its parent's, and so is a failure after it. */
static void
view_end(struct store_txn *t)
{
	t->txn = NULL;
	if (!t->wrote)
		return;
	if (t->err)
		store_fail(t->parent, t->err, t->errmsg);
	else
		t->parent->wrote = 1;
}

/*
 * d, the digest of the records before seq, carried over record seq:
 * SHA-256 of d, be64 seq and the record, one pass over the record (its
 * cost is a turn's: about 2 µs for 4 KiB with SHA extensions).
 */
static void
digest_chain(uint8_t *d, uint64_t seq, const uint8_t *body, size_t len)
{
	uint8_t head[STORE_DIGEST_LEN + 8];

	memcpy(head, d, STORE_DIGEST_LEN);
	proto_put_be64(head + STORE_DIGEST_LEN, seq);
	/*
	 * Out of memory: a history no other store has (random), so that a
	 * standby takes a snapshot rather than resume on a guess.
	 */
	if (proto_sha256_two(head, sizeof(head), body, len, d) < 0)
		proto_random(d, STORE_DIGEST_LEN);
}

static int replay_one(void *, uint64_t, const uint8_t *, size_t);
static void store_close_now(struct store *);
static void env_close(struct store *);
static int store_recover(struct store *, const char *);

/*
 * The write txn begun again from LMDB's committed state (the last
 * checkpoint), with the log's records after it applied, up to record upto.
 * 0, or -1 (logged).
 */
static int
store_replay(struct store *st, uint64_t upto)
{
	if (st->ltxn != NULL)
		mdb_txn_abort(st->ltxn);
	st->ltxn = NULL;
	st->cfg_gen++;		/* what was read may be undone */
	oplog_clear(&st->log);
	st->seq = st->ckpt_seq;
	memcpy(st->digest, st->ckpt_digest, sizeof(st->digest));
	st->digest_lost = 0;	/* the replay chains every record again */
	st->replay_upto = upto;
	/*
	 * A start's reading (all of the log) tells damage from a torn
	 * write; an undo's, of records this process wrote, need not read
	 * the rest of the file at each failed batch.
	 */
	if (ltxn_begin(st) != 0 ||
	    wal_scan(st->wal, upto == UINT64_MAX, replay_one, st) < 0)
		return -1;
	return 0;
}

/*
 * Undoes a failed batch: what it wrote is gone; nothing that was
 * acknowledged is (not a record whose append failed, even if it reached
 * the file: a spent number is kept, its record never replayed). A log
 * that cannot be replayed leaves the process no state to trust: it
 * exits, and the next start replays from the disk.
 */
static void
store_undo(struct store *st)
{
	uint64_t last = st->seq, acked = last;

	if (st->spent != 0 && st->spent == last)
		acked = last - 1;
	if (store_replay(st, acked) < 0 || st->seq != acked)
		fatalx("store: cannot replay the log after a failed batch");
	log_info("store: a failed batch was undone (%llu records replayed)",
	    (unsigned long long)(st->seq - st->ckpt_seq));
	st->seq = last;
}

/*
 * The running batch's record appended to the log, flushed unless the
 * batch shares a later flush (st->defer). 0, or -1 (logged): the record
 * may not be in the log. When records of earlier batches wait for this
 * flush, only the write may fail here: a flush that fails exits
 * (store_flush), as those records' pages may be lost.
 */
static int
log_append(struct store *st)
{
	if (st->defer)
		return wal_write(st->wal, st->seq + 1, st->log.buf, st->log.len);
	if (st->unflushed == 0)
		return wal_append(st->wal, st->seq + 1, st->log.buf,
		    st->log.len);
	if (wal_write(st->wal, st->seq + 1, st->log.buf, st->log.len) < 0)
		return -1;
	(void)store_flush(st);
	return 0;
}

/*
 * The log's last record, seq, written (or tried) and refused, LMDB
 * undone: the log starts again behind it once a checkpoint holds what
 * came before, and no append goes after it. Without that checkpoint its
 * header is zeroed, so a restart stops before it; and a checkpoint that
 * failed on a failing disk exits (not one the data directory's guard
 * refused, nor one that failed for want of room, a full disk or map:
 * those stay up, refusing writes, store_stalled). Records logged
 * unflushed before it are flushed with the zeros, or the process exits
 * (store_flush), whatever the checkpoint's failure. whose: "" or where
 * the record came from, for the message.
 */
static void
refused_past(struct store *st, uint64_t seq, const char *whose)
{
	if (store_checkpoint(st) == 0) {
		wal_reset(st->wal);
		return;
	}
	(void)wal_unwrite(st->wal);
	/*
	 * A failed flush of the zeros fails every later one (wal_sync):
	 * records waiting on a shared flush exit here, never acknowledged.
	 * A standby's, flushed by repl.c after the read, exit there.
	 */
	(void)store_flush(st);
	if (st->guard.failed)
		return;
	/* No room: up, refusing every write (the log takes none now). */
	if (st->stall != NULL) {
		st->stall_all = 1;
		return;
	}
	fatalx("store: cannot checkpoint past refused record %llu%s; exiting: "
	    "its header is zeroed, so the next start does not replay it",
	    (unsigned long long)seq, whose);
}

/*
 * A batch whose record could not be appended: undone, its number spent.
 * The record may be in the file all the same (a flush that failed, or a
 * write that half happened), and the kernel may still write it out: the
 * checkpoint records its number in wal_seq, so no start replays it, and
 * the log starts again behind it (a log that failed refuses appends until
 * a reset); without it, refused_past.
 */
static void
append_failed(struct store *st)
{
	store_undo(st);
	st->spent = ++st->seq;
	refused_past(st, st->seq, "");
}

/* A nested txn's changes are undone: its part of the log and its notes. */
static void
child_undone(struct store_txn *t)
{
	t->st->cfg_gen++;	/* its writes are undone */
	t->st->log.len = t->log_mark;
	t->st->forget.len = t->forget_mark;
}

/*
 * A batch's notes (store_forget) once it ended: kept for store_forgotten
 * when it committed (ok), else dropped.
 */
static void
forget_end(struct store *st, int ok)
{
	if (ok && st->forget.len > 0)
		penc_raw(&st->forgot, st->forget.buf, st->forget.len);
	st->forget.len = 0;
	st->forget.err = 0;
}

/* A batch ends: its changes are logged as one record, or undone. */
static int
batch_log(struct store_txn *t)
{
	struct store *st = t->st;
	uint8_t pre[STORE_DIGEST_LEN];

	t->txn = NULL;
	if (t->err == 0 && st->log.err)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (t->err) {
		if (t->wrote || st->log.len > 0)
			store_undo(st);
		oplog_clear(&st->log);
		return t->err;
	}
	if (st->log.len == 0)
		return 0;
	/* Nothing is acknowledged into files someone removed or replaced. */
	if (store_guard(st, 0) < 0) {
		store_fail(t, PROTO_E_UNAVAILABLE, STORE_GUARD_ERR);
		store_undo(st);
		oplog_clear(&st->log);
		return t->err;
	}
	if (log_append(st) < 0) {
		if (errno == ENOSPC || errno == EDQUOT)
			store_fail(t, PROTO_E_UNAVAILABLE, STORE_DISK_FULL_ERR);
		else
			store_fail(t, PROTO_E_INTERNAL, "storage error");
		append_failed(st);
		/* Replication hears of the number spent (no record has it). */
		if (st->on_record != NULL)
			st->on_record(st->on_record_arg, st->seq, NULL, NULL,
			    0);
		return t->err;
	}
	st->seq++;
	if (!st->defer)
		st->unflushed = 0;	/* the flush covered every record */
	else if (st->unflushed == 0)
		st->unflushed = st->seq;
	memcpy(pre, st->digest, sizeof(pre));
	if (st->digest_on)
		digest_chain(st->digest, st->seq, st->log.buf, st->log.len);
	else
		st->digest_lost = 1;
	if (st->on_record != NULL)
		st->on_record(st->on_record_arg, st->seq, pre, st->log.buf,
		    st->log.len);
	oplog_clear(&st->log);
	return 0;
}

static int
batch_end(struct store_txn *t)
{
	int rc = batch_log(t);

	forget_end(t->st, rc == 0);
	return rc;
}

int
store_commit(struct store_txn *t)
{
	int rc;

	if (t->txn == NULL)
		return t->err;
	if (t->view) {
		view_end(t);
		return t->err;
	}
	if (t->top)
		return batch_end(t);
	if (t->err) {
		mdb_txn_abort(t->txn);
		t->txn = NULL;
		child_undone(t);
		return t->err;
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc != 0) {
		child_undone(t);
		txn_lmdb(t, rc, "commit nested");
		/* A child that failed to fold in leaves its parent in doubt. */
		store_fail(t->parent, PROTO_E_INTERNAL, "storage error");
	} else if (t->wrote)
		t->parent->wrote = 1;
	return t->err;
}

void
store_abort(struct store_txn *t)
{
	if (t->txn == NULL)
		return;
	if (t->view || t->top) {
		/* What it wrote cannot be undone alone: the parent fails. */
		if (t->wrote && t->err == 0)
			store_fail(t, PROTO_E_INTERNAL, "aborted after a write");
		if (t->view)
			view_end(t);
		else
			(void)batch_end(t);
		return;
	}
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	child_undone(t);
}

int
store_forget(struct store_txn *t, const uint8_t *id)
{
	if (t->err)
		return t->err;
	penc_raw(&t->st->forget, id, ID_LEN);
	if (t->st->forget.err)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	return 0;
}

uint8_t *
store_forgotten(struct store *st, size_t *n)
{
	*n = st->forgot.len / ID_LEN;
	st->forgot.len = 0;
	/* Out of memory once: what it held is lost, and so are its ids. */
	if (st->forgot.err) {
		log_warnx("store: deleted conversations' ids lost: out of "
		    "memory");
		st->forgot.err = 0;
	}
	return *n > 0 ? st->forgot.buf : NULL;
}

/* A write may run in t: 0, or -1 with the sticky error set. */
static int
writable(struct store_txn *t)
{
	if (t->err)
		return -1;
	if (t->st->guard.failed) {
		store_fail(t, PROTO_E_UNAVAILABLE, STORE_GUARD_ERR);
		return -1;
	}
	if (t->st->stall_all) {
		store_fail(t, PROTO_E_UNAVAILABLE, t->st->stall);
		return -1;
	}
	if (t->rdonly) {
		log_warnx("store: a write in a read-only batch");
		store_fail(t, PROTO_E_INTERNAL, "storage error");
		return -1;
	}
	return 0;
}

/*
 * A write LMDB refused. LMDB may have left the txn unusable (MDB_MAP_FULL
 * does), so it counts as written: a failure after a write, which fails
 * the batch it shares (dispatch runs it again, each write nested).
 */
void
write_failed(struct store_txn *t, int rc, const char *what)
{
	t->wrote = 1;
	txn_lmdb(t, rc, what);
}

/* 0 found, 1 absent, or -1 with the sticky error set. */
int
db_get(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    MDB_val *v, const char *what)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	int rc;

	if (t->err)
		return -1;
	if ((rc = mdb_get(t->txn, dbi, &key, v)) == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return 1;
	txn_lmdb(t, rc, what);
	return -1;
}

/*
 * A write to dbi (v of vlen put over key k, or v NULL: a delete): what
 * the begins' cache read of widgets, their public ids, agents and
 * organisations goes; of knowledge sources (the default agent's,
 * store_begin_agent), only when the source's part in it may change
 * (kbsource_begin_same), not at each of a crawl's page counts; and what
 * a txn kept of the session index (sess_seen).
 */
static void
cfg_write(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	struct store *st = t->st;

	if (dbi == st->sessions)
		st->sess_gen++;
	else if (dbi == st->widgets || dbi == st->agents ||
	    dbi == st->widget_ids || dbi == st->orgs)
		st->cfg_gen++;
	else if (dbi == st->kb_sources && (v == NULL ||
	    !kbsource_begin_same(t, k, klen, v, vlen)))
		st->cfg_gen++;
}

void
db_put(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen, const char *what)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	MDB_val val = { .mv_size = vlen, .mv_data = (void *)v };
	int rc;

	if (writable(t) < 0)
		return;
	t->st->nputs++;
	cfg_write(t, dbi, k, klen, v, vlen);
	if ((rc = mdb_put(t->txn, dbi, &key, &val, 0)) != 0)
		write_failed(t, rc, what);
	else {
		t->wrote = 1;
		oplog_put(t->st, dbi, k, klen, v, vlen);
	}
}

int
store_past(uint64_t deadline)
{
	return deadline != 0 && proto_mono_us() >= deadline;
}

void
db_mark(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const char *what)
{
	db_put(t, dbi, k, klen, &rec_version, 1, what);
}

int
fresh_hex_id(struct store_txn *t, MDB_dbi dbi, const char *prefix,
    char *out, const char *what)
{
	size_t p = strlen(prefix);
	uint8_t r[ID_LEN];
	MDB_val v;
	int i, rc;

	memcpy(out, prefix, p);
	for (i = 0; i < 4; i++) {
		proto_random(r, sizeof(r));
		proto_hex_encode(r, sizeof(r), out + p);
		if ((rc = db_get(t, dbi, out, p + ST_ID_HEX, &v, what)) != 0)
			return rc == 1 ? 0 : -1;
	}
	/* 128 random bits colliding four times: the generator is broken. */
	log_warnx("%s ids keep colliding", what);
	store_fail(t, PROTO_E_INTERNAL, "no fresh id");
	return -1;
}

int
backfill_begin(struct store_txn *t, const char *key, MDB_dbi dbi,
    const char *work)
{
	uint8_t rec[2];
	MDB_stat ms;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, key, strlen(key), &v,
	    "get backfill")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = mdb_stat(t->txn, dbi, &ms)) != 0)
		return txn_lmdb(t, rc, "stat a backfill's records");
	rec[0] = ST_RECORD_VERSION;
	rec[1] = ms.ms_entries == 0;
	db_put(t, t->st->meta, key, strlen(key), rec, sizeof(rec),
	    "put backfill");
	if (ms.ms_entries > 0)
		log_info("%zu %s", ms.ms_entries, work);
	return t->err;
}

static void
del_key(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const char *what, int may_be_absent)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	int rc;

	if (writable(t) < 0)
		return;
	cfg_write(t, dbi, k, klen, NULL, 0);
	if ((rc = mdb_del(t->txn, dbi, &key, NULL)) == 0) {
		t->wrote = 1;
		oplog_del(t->st, dbi, k, klen);
	} else if (!(may_be_absent && rc == MDB_NOTFOUND))
		write_failed(t, rc, what);
}

/* The key must exist: a missing one means an index went wrong. */
void
db_del(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const char *what)
{
	del_key(t, dbi, k, klen, what, 0);
}

void
db_del_quiet(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const char *what)
{
	del_key(t, dbi, k, klen, what, 1);
}

int
db_cursor_del(struct store_txn *t, MDB_cursor *cur, MDB_dbi dbi,
    const MDB_val *k)
{
	int rc;

	if (writable(t) < 0)
		return EACCES;
	/* Logged first: k points into the page the delete changes. */
	cfg_write(t, dbi, k->mv_data, k->mv_size, NULL, 0);
	oplog_del(t->st, dbi, k->mv_data, k->mv_size);
	rc = mdb_cursor_del(cur, 0);
	t->wrote = 1;		/* or tried: see write_failed */
	return rc;
}

int
db_drop(struct store_txn *t, MDB_dbi dbi)
{
	int rc;

	if (writable(t) < 0)
		return EACCES;
	cfg_write(t, dbi, NULL, 0, NULL, 0);
	if ((rc = mdb_drop(t->txn, dbi, 0)) == 0)
		oplog_drop(t->st, dbi);
	t->wrote = 1;		/* or tried: see write_failed */
	return rc;
}

/* ---------------------------------------------------------------- records */

/* Checks the version byte and points d at the encoding after it. */
int
rec_open(struct store_txn *t, const MDB_val *v, struct pdec *d,
    const char *what)
{
	const uint8_t *p = v->mv_data;

	t->st->ndecodes++;
	if (v->mv_size < 1 || p[0] != ST_RECORD_VERSION) {
		log_warnx("%s: record format %d is not one we read", what,
		    v->mv_size < 1 ? -1 : p[0]);
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	pdec_init(d, p + 1, v->mv_size - 1);
	return 0;
}

int
rec_open_ver(struct store_txn *t, const MDB_val *v, struct pdec *d, int max,
    const char *what)
{
	const uint8_t *p = v->mv_data;

	t->st->ndecodes++;
	if (v->mv_size < 1 || p[0] < 1 || p[0] > max) {
		log_warnx("%s: record format %d is not one we read", what,
		    v->mv_size < 1 ? -1 : p[0]);
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	pdec_init(d, p + 1, v->mv_size - 1);
	return p[0];
}

size_t
msg_rec_size(const MDB_val *v)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < 1)
		return 0;
	return v->mv_size - 1 + (p[0] == 1 ? MSG_V1_PAD :
	    p[0] == 2 ? MSG_V2_PAD : p[0] == 3 ? MSG_V3_PAD : 0);
}

int
rec_get(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    struct pdec *d, const char *what)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, dbi, k, klen, &v, what)) != 0)
		return rc;
	return rec_open(t, &v, d, what);
}

void
rec_corrupt(struct store_txn *t, const char *what)
{
	log_warnx("%s: record does not decode", what);
	store_fail(t, PROTO_E_INTERNAL, "unreadable record");
}

#define META_SECRET_MAX	64

int
meta_secret_make(struct store_txn *t, const char *key, size_t n,
    const char *what)
{
	uint8_t rec[1 + META_SECRET_MAX];
	MDB_val v;
	int rc;

	if (n > META_SECRET_MAX)
		return store_fail(t, PROTO_E_INTERNAL, "secret too long");
	if ((rc = db_get(t, t->st->meta, key, strlen(key), &v, what)) <= 0)
		return rc;
	rec[0] = ST_RECORD_VERSION;
	proto_random(rec + 1, n);
	db_put(t, t->st->meta, key, strlen(key), rec, 1 + n, what);
	explicit_bzero(rec, sizeof(rec));
	log_info("made this install's %s", what);
	return t->err;
}

int
meta_secret_get(struct store_txn *t, const char *key, void *out, size_t n,
    const char *what)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, key, strlen(key), &v, what)) < 0)
		return t->err;
	if (rc > 0 || v.mv_size != 1 + n ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, what);
		return t->err;
	}
	memcpy(out, (uint8_t *)v.mv_data + 1, n);
	return 0;
}

void
rec_put(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    struct penc *e, const char *what)
{
	if (t->err)
		return;
	if (e->err)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	else
		db_put(t, dbi, k, klen, e->buf, e->len, what);
}

void
rec_put_rows(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const struct rlayout *l, const void *rec, const char *what)
{
	struct penc *e = &t->st->put;

	if (t->err)
		return;
	e->len = 0;
	e->err = 0;
	penc_u8(e, (uint8_t)rl_version(l));
	rl_enc(e, l, rec);
	smetrics_record(l, 1);
	rec_put(t, dbi, k, klen, e, what);
	/* LMDB copied it: no record's bytes (a key, a secret) stay here. */
	if (e->buf != NULL)
		explicit_bzero(e->buf, e->len);
	if (e->cap > PUT_KEEP_MAX)
		penc_free(e);
}

size_t
org_prefix(const char *org, uint8_t *out)
{
	size_t n = strlen(org) + 1;

	memcpy(out, org, n);
	return n;
}

size_t
org_time_key(const char *org, uint64_t at, const uint8_t id[ID_LEN],
    uint8_t *out)
{
	size_t o = org_prefix(org, out);

	proto_put_be64(out + o, at);
	memcpy(out + o + 8, id, ID_LEN);
	return o + INDEX_KEY_LEN;
}

int
key_in(const MDB_val *k, const void *prefix, size_t plen)
{
	return plen == 0 || (k->mv_size >= plen &&
	    memcmp(k->mv_data, prefix, plen) == 0);
}

void
db_retire(struct store_txn *t, MDB_dbi dbi, const char *name)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, dbi, &ms)) != 0) {
		txn_lmdb(t, rc, "stat");
		return;
	}
	if (ms.ms_entries == 0)
		return;
	if ((rc = db_drop(t, dbi)) != 0) {
		txn_lmdb(t, rc, "empty a retired index");
		return;
	}
	log_info("emptied the retired %s index (%zu entries)", name,
	    (size_t)ms.ms_entries);
}

int
db_retire_moving(struct store_txn *t, MDB_dbi dbi, const char *name,
    const char *moved, int (*move)(struct store_txn *, const MDB_val *k))
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !t->err;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		n += move(t, &k) == 1;
	mdb_cursor_close(cur);
	if (t->err)
		return t->err;
	if (rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk a retired index");
	if (n > 0)
		log_info("moved %zu %s", n, moved);
	db_retire(t, dbi, name);
	return t->err;
}

int
index_stale(struct store_txn *t, MDB_dbi source, MDB_dbi index,
    const char *what, size_t *n)
{
	MDB_stat all, own;
	int rc;

	if ((rc = mdb_stat(t->txn, source, &all)) != 0 ||
	    (rc = mdb_stat(t->txn, index, &own)) != 0)
		return txn_lmdb(t, rc, what), -1;
	*n = all.ms_entries;
	if (all.ms_entries == own.ms_entries)
		return 0;
	if ((rc = db_drop(t, index)) != 0)
		return txn_lmdb(t, rc, what), -1;
	return 1;
}

int
rec_count_get(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    uint64_t *n, const char *what)
{
	struct pdec d;
	int rc;

	*n = 0;
	if ((rc = rec_get(t, dbi, k, klen, &d, what)) != 0)
		return rc < 0 ? -1 : 0;
	*n = pdec_u64(&d);
	if (pdec_done(&d) < 0) {
		rec_corrupt(t, what);
		return -1;
	}
	return 0;
}

void
rec_count_put(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    uint64_t n, const char *what)
{
	struct penc e;

	if (n == 0) {
		db_del_quiet(t, dbi, k, klen, what);
		return;
	}
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_u64(&e, n);
	rec_put(t, dbi, k, klen, &e, what);
	penc_free(&e);
}

void
rec_count_add(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    int64_t delta, const char *what)
{
	uint64_t n;

	if (rec_count_get(t, dbi, k, klen, &n, what) < 0)
		return;
	if (delta < 0 && n < (uint64_t)-delta) {
		log_warnx("%s would go below 0", what);
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return;
	}
	rec_count_put(t, dbi, k, klen, delta < 0 ? n - (uint64_t)-delta :
	    n + (uint64_t)delta, what);
}

/* rec_dec_rows keeping the strings of rows only (rl_dec_rows). */
static int
rec_dec_only(struct store_txn *t, const MDB_val *v, const struct rlayout *l,
    void *rec, uint64_t rows, const char *what)
{
	struct pdec d;
	int ver;

	/* rl_dec zeroes rec first: here only when it is not reached. */
	if ((ver = rec_open_ver(t, v, &d, rl_version(l), what)) < 0) {
		memset(rec, 0, l->size);
		return -1;
	}
	smetrics_record(l, 0);
	if (rl_dec_rows(&d, l, rec, ver, rows) < 0 || pdec_done(&d) < 0) {
		rl_free(l, rec);
		rec_corrupt(t, what);
		return -1;
	}
	return 0;
}

int
rec_dec_rows(struct store_txn *t, const MDB_val *v, const struct rlayout *l,
    void *rec, const char *what)
{
	return rec_dec_only(t, v, l, rec, RL_ALL_ROWS, what);
}

/* On failure m holds nothing: the caller does not count it. */
int
msg_rec_decode(struct store_txn *t, const MDB_val *v, struct st_msg *m)
{
	return rec_dec_rows(t, v, &st_msg_layout, m, "message");
}

int
msg_rec_decode_rows(struct store_txn *t, const MDB_val *v, struct st_msg *m,
    uint64_t rows)
{
	return rec_dec_only(t, v, &st_msg_layout, m, rows, "message");
}

int
rec_load(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const struct rlayout *l, void *rec, const char *what)
{
	MDB_val v;
	int rc;

	/* Zeroed either way; rec_dec_rows does it when there is a record. */
	if ((rc = db_get(t, dbi, k, klen, &v, what)) != 0) {
		memset(rec, 0, l->size);
		return rc;
	}
	return rec_dec_rows(t, &v, l, rec, what);
}

int
rec_load_rows(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const struct rlayout *l, void *rec, uint64_t rows, const char *what)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, dbi, k, klen, &v, what)) != 0) {
		memset(rec, 0, l->size);
		return rc;
	}
	return rec_dec_only(t, &v, l, rec, rows, what);
}

/* ---------------------------------------------------------------- env */

/* The schema record's value: u8 record version, u32 schema version. */
static int
schema_put(MDB_txn *txn, MDB_dbi meta, MDB_val *k, const char *dir)
{
	uint8_t rec[5];
	MDB_val v = { .mv_size = sizeof(rec), .mv_data = rec };
	int rc;

	rec[0] = ST_RECORD_VERSION;
	proto_put_be32(rec + 1, STORE_SCHEMA_VERSION);
	if ((rc = mdb_put(txn, meta, k, &v, 0)) != 0) {
		log_warnx("lmdb: %s: write schema: %s", dir, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * The schema record: written when absent (*created = 1: a new database);
 * an older version's raised to this build's before the open's migrations
 * bring the data to its form (an older storaged refuses it from then on,
 * even should a start stop between them), a newer one's refused.
 */
static int
schema_check(MDB_txn *txn, MDB_dbi meta, const char *dir, int *created)
{
	static const char name[] = STORE_SCHEMA_KEY;
	MDB_val k = { .mv_size = sizeof(name) - 1, .mv_data = (void *)name };
	MDB_val v;
	const uint8_t *p;
	uint32_t ver;
	int rc;

	rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*created = 1;
		return schema_put(txn, meta, &k, dir);
	}
	if (rc != 0) {
		log_warnx("lmdb: %s: read schema: %s", dir, mdb_strerror(rc));
		return -1;
	}
	p = v.mv_data;
	if (v.mv_size != 5 || p[0] != ST_RECORD_VERSION) {
		log_warnx("%s: schema record not understood", dir);
		return -1;
	}
	if ((ver = proto_get_be32(p + 1)) > STORE_SCHEMA_VERSION) {
		log_warnx("%s: data of schema version %u, which a newer Parley "
		    "wrote; this storaged reads versions %u to %u: run that "
		    "Parley, or restore a backup taken before it", dir, ver,
		    STORE_SCHEMA_OLDEST, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (ver < STORE_SCHEMA_OLDEST) {
		log_warnx("%s: data of schema version %u; this storaged reads "
		    "versions %u to %u", dir, ver, STORE_SCHEMA_OLDEST,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	if (ver == STORE_SCHEMA_VERSION)
		return 0;
	log_info("%s: data of schema version %u brought to version %u (an "
	    "older storaged refuses it now)", dir, ver, STORE_SCHEMA_VERSION);
	return schema_put(txn, meta, &k, dir);
}

/* store.db_place holds a place plus one in a byte. */
_Static_assert(NDBS < UINT8_MAX, "NDBS fits store.db_place");

/* proto/storedbs.h's list, with each handle's place in struct store. */
#define STORE_DB_ROW(name, layout)	\
	{ #name, offsetof(struct store, name), (layout) },
const struct store_db store_dbs[NDBS] = { STORE_DBS(STORE_DB_ROW) };

MDB_dbi *
store_dbi(const struct store *st, size_t i)
{
	return (MDB_dbi *)((char *)(uintptr_t)st + store_dbs[i].off);
}

/* meta "wal_seq": the last log record a checkpoint committed. */
static const MDB_val wal_seq_key = { .mv_size = 7, .mv_data = "wal_seq" };

static int
wal_seq_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq)
{
	MDB_val v;
	int rc;

	*seq = 0;
	if ((rc = mdb_get(txn, meta, (MDB_val *)&wal_seq_key, &v)) ==
	    MDB_NOTFOUND)
		return 0;
	if (rc == 0 && v.mv_size != 9)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		*seq = proto_get_be64((const uint8_t *)v.mv_data + 1);
	return rc;
}

/*
 * meta's records of a place in the log: u8 version, be64 seq, then
 * bytes of their own, "wal_digest" the digest of the records up to seq,
 * "wal_ckpt" the checkpoint id (st->ckpt_id) of the records that follow
 * seq (wal_seq when it was written).
 */
static const MDB_val wal_digest_key = { .mv_size = 10,
    .mv_data = "wal_digest" };
static const MDB_val wal_ckpt_key = { .mv_size = 8, .mv_data = "wal_ckpt" };
#define META_AT_MAX	STORE_DIGEST_LEN
_Static_assert(WAL_CKPT_LEN <= META_AT_MAX, "a place's bytes fit");
_Static_assert(sizeof(((struct store *)0)->ckpt_id) == WAL_CKPT_LEN,
    "the checkpoint id is the log's");

/*
 * meta's record key of seq: its len bytes into out, 0 with *known 1; 0
 * with *known 0 when absent, or kept for another seq (an older storaged
 * checkpointed since); or an LMDB code.
 */
static int
meta_at_get(MDB_txn *txn, MDB_dbi meta, const MDB_val *key, uint64_t seq,
    uint8_t *out, size_t len, int *known)
{
	const uint8_t *p;
	MDB_val v;
	int rc;

	*known = 0;
	if ((rc = mdb_get(txn, meta, (MDB_val *)key, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size != 1 + 8 + len || p[0] != ST_RECORD_VERSION ||
	    proto_get_be64(p + 1) != seq)
		return 0;
	memcpy(out, p + 9, len);
	*known = 1;
	return 0;
}

/* meta's record key of seq and b (len bytes) put in txn. 0, or an LMDB code. */
static int
meta_at_put(MDB_txn *txn, MDB_dbi meta, const MDB_val *key, uint64_t seq,
    const uint8_t *b, size_t len)
{
	uint8_t rec[1 + 8 + META_AT_MAX];
	MDB_val v = { .mv_size = 1 + 8 + len, .mv_data = rec };

	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, seq);
	memcpy(rec + 9, b, len);
	return mdb_put(txn, meta, (MDB_val *)key, &v, 0);
}

/*
 * The digest checkpointed read into st->ckpt_digest; when unknown, a
 * random one, recorded in txn: no other store's history has it.
 * 0, or an LMDB code.
 */
static int
ckpt_digest_load(struct store *st, MDB_txn *txn)
{
	int known, rc;

	if ((rc = meta_at_get(txn, st->meta, &wal_digest_key, st->ckpt_seq,
	    st->ckpt_digest, STORE_DIGEST_LEN, &known)) != 0 || known)
		return rc;
	if (!st->created)
		log_info("%s: no digest of its records' history (kept from "
		    "2026-11-30 on): a standby of it takes a snapshot",
		    st->dir);
	proto_random(st->ckpt_digest, sizeof(st->ckpt_digest));
	return meta_at_put(txn, st->meta, &wal_digest_key, st->ckpt_seq,
	    st->ckpt_digest, STORE_DIGEST_LEN);
}

/*
 * The checkpoint id read into st->ckpt_id. Absent (a data directory of
 * before 2026-12-06, whose log's records carry none and replay as they
 * did) or kept for another wal_seq (an older storaged checkpointed
 * since): a new one, recorded in txn (*made 1), which the records
 * appended from now on carry. 0, or an LMDB code.
 */
static int
ckpt_id_load(struct store *st, MDB_txn *txn, int *made)
{
	int known, rc;

	*made = 0;
	if ((rc = meta_at_get(txn, st->meta, &wal_ckpt_key, st->ckpt_seq,
	    st->ckpt_id, WAL_CKPT_LEN, &known)) != 0 || known)
		return rc;
	proto_random(st->ckpt_id, WAL_CKPT_LEN);
	*made = 1;
	return meta_at_put(txn, st->meta, &wal_ckpt_key, st->ckpt_seq,
	    st->ckpt_id, WAL_CKPT_LEN);
}

/* 8 bytes as 16 hex digits, for a message. */
static const char *
ckpt_hex(const uint8_t *id, char *out)
{
	proto_hex_encode(id, WAL_CKPT_LEN, out);
	return out;
}

/* One record of the log at open or undo (wal_scan's callback). */
static int
replay_one(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
	struct store *st = arg;
	const uint8_t *id;
	char hex[2][2 * WAL_CKPT_LEN + 1];

	if (seq <= st->ckpt_seq || seq > st->replay_upto)
		return 1;	/* the previous lap (all in LMDB), or unacknowledged */
	if (seq != st->seq + 1) {
		log_warnx("store: the log starts at record %llu but LMDB "
		    "holds records up to %llu only: records are missing (a "
		    "backup put in place of data.mdb after a crash? The log "
		    "is of later records: move wal.log away to start from "
		    "the backup alone)",
		    (unsigned long long)seq, (unsigned long long)st->seq);
		return -1;
	}
	/*
	 * Of another checkpoint than the one LMDB holds: data.mdb is not
	 * the database this log was written after, though its wal_seq
	 * matches (a backup put in place of data.mdb after a crash, the
	 * backup's own checkpoint the log's start). Replayed, its writes
	 * would land on that other database, a purge made after the backup
	 * among them. A record of an older format carries no id: replayed
	 * as before (a log left by the storaged before an upgrade).
	 */
	if ((id = wal_scan_ckpt(st->wal)) != NULL &&
	    memcmp(id, st->ckpt_id, WAL_CKPT_LEN) != 0) {
		log_warnx("store: %s's records from %llu on follow another "
		    "checkpoint (id %s) than the one data.mdb holds (id %s, "
		    "records up to %llu): data.mdb is not the database this "
		    "log was written for (a backup put in place of data.mdb "
		    "after a crash?). Refusing to replay the log over it: "
		    "move %s away to start from data.mdb alone, or put back "
		    "the data.mdb it was written for", WAL_FILE,
		    (unsigned long long)seq, ckpt_hex(id, hex[0]),
		    ckpt_hex(st->ckpt_id, hex[1]),
		    (unsigned long long)st->ckpt_seq, WAL_FILE);
		return -1;
	}
	if (oplog_apply(st, st->ltxn, body, len) < 0) {
		log_warnx("store: log record %llu cannot be applied",
		    (unsigned long long)seq);
		return -1;
	}
	digest_chain(st->digest, seq, body, len);
	st->seq = seq;
	return 0;
}

int
map_use(struct store *st, MDB_txn *txn, uint64_t *used, uint64_t *size)
{
	MDB_envinfo info;
	MDB_stat ms;
	uint64_t pages = 2;	/* the meta pages */
	size_t i;

	if (mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &ms) != 0)
		return -1;
	pages += ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
	for (i = 0; i <= NDBS; i++) {
		/* Ours, then LMDB's free list (its database 0). */
		if (mdb_stat(txn, i == NDBS ? 0 : *store_dbi(st, i), &ms) != 0)
			return -1;
		pages += ms.ms_branch_pages + ms.ms_leaf_pages +
		    ms.ms_overflow_pages;
	}
	*used = pages * ms.ms_psize;
	*size = info.me_mapsize;
	return 0;
}

/* The map's last 1/part, and at least n times STORE_MAP_FLOOR_MIN. */
static uint64_t
map_part(uint64_t size, uint64_t part, uint64_t n)
{
	if (size / part < n * STORE_MAP_FLOOR_MIN)
		return n * STORE_MAP_FLOOR_MIN;
	return size / part;
}

/*
 * How much log the next checkpoint waits for: wal_max, or less when the
 * map is short of room. The open txn takes map pages that only a commit
 * gives back, more of them than it logs: a page freed is reused only
 * after the commit, so a table emptied and filled again, or a large
 * value replaced, takes new pages each time: up to 30 bytes of map a
 * byte of log in the fuzzer's mix, 120 for a batch that puts a key in
 * an empty table and deletes it (STORAGE.md). So the log may hold
 * 1/STORE_MAP_PER_LOG of the room the last commit left (free pages
 * count: the next txn reuses them), which leaves the commit its own
 * pages. Past half the map used, the operator hears of it once; in the
 * last 1/STORE_MAP_RESERVE, nobody's writes are refused
 * (store_map_reserved).
 */
static void
wal_due_set(struct store *st)
{
	uint64_t used, size, room;
	int was = st->map_short, was_reserved = st->map_reserved;

	st->wal_due = st->wal_max;
	if (ltxn_begin(st) != 0 || map_use(st, st->ltxn, &used, &size) < 0)
		return;
	st->map_used = used;
	st->map_size = size;
	room = size > used ? size - used : 0;
	if (room / STORE_MAP_PER_LOG < st->wal_due)
		st->wal_due = (size_t)(room / STORE_MAP_PER_LOG);
	st->map_short = used > size / 2;
	st->map_reserved = room < map_part(size, STORE_MAP_RESERVE, 2);
	st->map_floor = room < map_part(size, STORE_MAP_FLOOR, 1);
	if (st->map_reserved && !was_reserved)
		log_errorx("store: %llu of the map's %llu MiB used: only "
		    "requests of who signs in may write now (delete "
		    "conversations, or raise PARLEY_MAP_SIZE_MB)",
		    (unsigned long long)(used >> 20),
		    (unsigned long long)(size >> 20));
	else if (st->map_short && !was)
		log_warnx("store: %llu of the map's %llu MiB used: a checkpoint "
		    "every %zu KiB of log (raise PARLEY_MAP_SIZE_MB)",
		    (unsigned long long)(used >> 20),
		    (unsigned long long)(size >> 20), st->wal_due >> 10);
	else if (!st->map_short && was)
		log_info("store: %llu of the map's %llu MiB used",
		    (unsigned long long)(used >> 20),
		    (unsigned long long)(size >> 20));
}

int
store_map_reserved(const struct store *st)
{
	return st->map_reserved;
}

const char *
store_write_refused(const struct store *st, enum store_writer who)
{
	if (st->stall_all)
		return st->stall;
	if ((st->stall != NULL || st->map_floor) && who != STORE_W_ROOM)
		return STORE_FULL_ERR;
	if (st->map_reserved && who == STORE_W_NOBODY)
		return STORE_FULL_ERR;
	return NULL;
}

const char *
store_stalled(const struct store *st)
{
	return st->stall;
}

/*
 * The data directory's disk has less than DISK_SHORT bytes left for us:
 * LMDB answers a short write (a full disk) with EIO, which a failing
 * disk gives too, and only the room left tells them apart.
 */
#define DISK_SHORT	(1024 * 1024)

static int
disk_short(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize < DISK_SHORT;
}

/*
 * A checkpoint failed with rc: for want of room (the map's or the
 * disk's, not a failing disk), the store stalls (store_stalled), logged
 * once.
 */
static void
stall_on(struct store *st, int rc)
{
	const char *was = st->stall;

	if (rc != MDB_MAP_FULL && rc != ENOSPC && rc != EDQUOT && rc != EIO)
		return;
	if (rc == EIO && !disk_short(st->dir))
		return;
	if (rc != MDB_MAP_FULL) {
		st->stall_all = 1;
		st->stall = STORE_DISK_FULL_ERR;
	} else if (st->stall == NULL)
		st->stall = STORE_FULL_ERR;
	/* Told already: store_retry tries again each second. */
	if (was == st->stall)
		return;
	log_errorx("store: %s: cannot checkpoint: %s; writes are refused, "
	    "reads served, and the log keeps the records until a "
	    "checkpoint commits (tried every second)", st->dir,
	    rc == MDB_MAP_FULL ? "the map is full (delete conversations, "
	    "or raise PARLEY_MAP_SIZE_MB and restart parley-storaged)" :
	    "the disk is full (free space on the data directory's disk)");
}

/* A checkpoint committed: a stalled store writes again. */
static void
stall_off(struct store *st)
{
	if (st->stall == NULL)
		return;
	log_info("store: %s: a checkpoint committed: writes resume",
	    st->dir);
	st->stall = NULL;
	st->stall_all = 0;
}

int
store_retry(struct store *st)
{
	if (st->guard.failed)
		return -1;
	if (st->stall != NULL && store_checkpoint(st) < 0)
		return -1;
	if (st->init_due && st->stall == NULL) {
		st->init_due = 0;
		if (store_init(st) < 0)
			st->init_due = 1;
	}
	return st->stall != NULL ? -1 : 0;
}

void
store_map_state(const struct store *st, uint64_t *used, uint64_t *size)
{
	*used = st->map_used;
	*size = st->map_size;
}

/*
 * A checkpoint committed unsynced (STORE_F_NOSYNC, PARLEY_SYNC=interval:
 * MDB_NOSYNC) synced before the log that holds its records starts again
 * or is emptied: else the log's emptying, or the next lap written over
 * it, may reach the disk before LMDB's commit, and a power loss would
 * lose every record since the last synced checkpoint. A sync that fails
 * leaves no way on: the commit is made, so the log can neither start
 * again (its records may be their only copy on disk) nor go on behind
 * them (a start stops reading at a record the commit holds): storaged
 * exits, and the next start replays what the disk holds.
 */
static void
ckpt_sync(struct store *st)
{
	int rc;

	if (!(st->flags & STORE_F_NOSYNC))
		return;
	if ((rc = mdb_env_sync(st->env, 1)) != 0)
		fatalx("lmdb: %s: cannot sync the checkpoint of records "
		    "%llu..%llu: %s; exiting: the log keeps them, and the next "
		    "start replays what the disk holds", st->dir,
		    (unsigned long long)st->ckpt_seq + 1,
		    (unsigned long long)st->seq, mdb_strerror(rc));
}

int
store_checkpoint(struct store *st)
{
	uint8_t rec[9], id[WAL_CKPT_LEN];
	MDB_val v = { .mv_size = sizeof(rec), .mv_data = rec };
	uint64_t t0 = proto_mono_us();
	int rc;

	if (st->ltxn == NULL || st->seq == st->ckpt_seq)
		return 0;
	/* The log keeps the records: a restart replays them where they are. */
	if (store_guard(st, 1) < 0)
		return -1;
	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, st->seq);
	/* Records unchained since the last: a history no one else has. */
	if (st->digest_lost) {
		proto_random(st->digest, sizeof(st->digest));
		st->digest_lost = 0;
	}
	/* The records after this commit carry its new id: its own. */
	proto_random(id, sizeof(id));
	rc = mdb_put(st->ltxn, st->meta, (MDB_val *)&wal_seq_key, &v, 0);
	if (rc == 0)
		rc = meta_at_put(st->ltxn, st->meta, &wal_digest_key, st->seq,
		    st->digest, STORE_DIGEST_LEN);
	if (rc == 0)
		rc = meta_at_put(st->ltxn, st->meta, &wal_ckpt_key, st->seq,
		    id, WAL_CKPT_LEN);
	rc = ltxn_end(st, rc);
	if (rc != 0) {
		/* Still all in the log: begin from it again. */
		log_warnx("lmdb: checkpoint: %s", mdb_strerror(rc));
		store_undo(st);
		stall_on(st, rc);
		return -1;
	}
	ckpt_sync(st);
	/* Synced: the log's records are LMDB's now; the log starts again. */
	log_debug("store: checkpoint of records %llu..%llu (%zu bytes of "
	    "log) in %llu us", (unsigned long long)st->ckpt_seq + 1,
	    (unsigned long long)st->seq, wal_used(st->wal),
	    (unsigned long long)(proto_mono_us() - t0));
	st->ckpt_seq = st->seq;
	memcpy(st->ckpt_digest, st->digest, sizeof(st->ckpt_digest));
	st->unflushed = 0;
	st->spent = 0;		/* recorded: below every record to come */
	memcpy(st->ckpt_id, id, sizeof(st->ckpt_id));
	wal_reset(st->wal);
	wal_set_ckpt(st->wal, st->ckpt_id);
	wal_due_set(st);
	stall_off(st);
	return 0;
}

/*
 * With nothing to checkpoint (the log holds no record after wal_seq): a
 * new checkpoint id committed alone, synced, which the records from now
 * on carry, so that none of them is replayed over a copy of the commit
 * before (a backup of it, a backup restored twice). 0, or -1 logged
 * (the id as it was: the records carry the id LMDB holds).
 */
static int
ckpt_id_renew(struct store *st)
{
	uint8_t id[WAL_CKPT_LEN];
	int rc;

	if (st->seq != st->ckpt_seq || store_guard(st, 1) < 0)
		return -1;
	if ((rc = ltxn_begin(st)) != 0)
		return -1;
	proto_random(id, sizeof(id));
	rc = ltxn_end(st, meta_at_put(st->ltxn, st->meta, &wal_ckpt_key,
	    st->ckpt_seq, id, WAL_CKPT_LEN));
	if (rc != 0) {
		log_warnx("lmdb: %s: a new checkpoint id: %s", st->dir,
		    mdb_strerror(rc));
		return -1;
	}
	/* Unsynced (MDB_NOSYNC): on disk before a record carries it. */
	if ((st->flags & STORE_F_NOSYNC) &&
	    (rc = mdb_env_sync(st->env, 1)) != 0)
		fatalx("lmdb: %s: cannot sync a new checkpoint id: %s; exiting: "
		    "the next start reads what the disk holds", st->dir,
		    mdb_strerror(rc));
	memcpy(st->ckpt_id, id, sizeof(st->ckpt_id));
	wal_set_ckpt(st->wal, st->ckpt_id);
	return 0;
}

int
store_backup_seal(struct store *st)
{
	int rc;

	/*
	 * The copy read a commit the log's records follow (the backup's
	 * checkpoint, or one made while it copied): a checkpoint now, with
	 * a new id, and the log emptied (its records of that commit's id,
	 * all in LMDB now, would be the next lap's start until one is
	 * written over them), so no record to come is of the copy's id.
	 */
	rc = st->seq != st->ckpt_seq ? store_checkpoint(st) :
	    ckpt_id_renew(st);
	if (rc < 0 || wal_clear(st->wal) < 0)
		return -1;
	return 0;
}

/* LMDB as the last checkpoint left it, and the log's records after it. */
static int
store_recover(struct store *st, const char *dir)
{
	if (store_replay(st, UINT64_MAX) < 0) {
		log_warnx("%s: cannot replay %s", dir, WAL_FILE);
		return -1;
	}
	/*
	 * Nothing replayed: a new id all the same, so that this data.mdb,
	 * copied before (a backup restored here), no longer matches the
	 * records to come. Failing (a full disk or map), the id it has:
	 * the records carry the one LMDB holds.
	 */
	if (st->seq == st->ckpt_seq) {
		(void)ckpt_id_renew(st);
		return 0;
	}
	log_info("%s: replayed %llu records of %s that LMDB lacked", dir,
	    (unsigned long long)(st->seq - st->ckpt_seq), WAL_FILE);
	/*
	 * Without room to commit them: served from the open txn, stalled;
	 * the log keeps them, so what is written next goes after them. They
	 * are flushed first: the process that wrote them may not have
	 * (PARLEY_SYNC=interval, a shared flush it died in), and they are
	 * held now (a standby's next ST_REPL_START names them, and its
	 * primary takes that as their acknowledgement).
	 */
	if (store_checkpoint(st) < 0) {
		if (st->stall == NULL)
			return -1;
		if (wal_sync(st->wal) < 0) {
			log_warnx("%s: cannot flush the %llu records of %s "
			    "replayed", dir, (unsigned long long)(st->seq -
			    st->ckpt_seq), WAL_FILE);
			return -1;
		}
		wal_append_after_scan(st->wal);
	}
	return 0;
}

/* fsync of a directory: a rename in it made durable. 0, or -1 logged. */
static int
dir_sync(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("%s", dir);
		return -1;
	}
	if ((rc = fsync(fd)) < 0)
		log_warn("fsync %s", dir);
	close(fd);
	return rc;
}

/*
 * The data directory's entries (data.mdb, the log, the directory itself
 * in its parent, all perhaps made just now) made durable: an fdatasync
 * of a new file need not write the entry that names it, and a first
 * start's acknowledged writes must not vanish with it on power loss.
 */
static void
dir_entries_sync(const char *dir)
{
	char parent[PATH_MAX];

	(void)dir_sync(dir);
	if (strlcpy(parent, dir, sizeof(parent)) < sizeof(parent))
		(void)dir_sync(dirname(parent));
}

/*
 * The environment and the log of st->dir opened, and the log's records
 * that LMDB lacks replayed and checkpointed. 0, or -1 logged (nothing
 * left open).
 */
/*
 * 0 when a restored data.mdb holds every page its last commit names,
 * else -1 and why logged: a backup copied in part would be mapped past
 * its end, and the first read of a missing page kills the process with
 * SIGBUS. A backup (a compact copy) is exactly its pages long, and so is
 * a store of ours closed cleanly (env_make_whole); one that was not, its
 * log holding records, may end short of pages its last commit freed
 * (LMDB's loose pages are never written), so it is not checked.
 */
static int
env_whole(struct store *st, const char *dir)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	uint64_t need;
	int fd;

	if (!wal_file_empty(dir))
		return 0;
	if (mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &ms) != 0 ||
	    mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0) {
		log_warn("%s: data.mdb: cannot read its size", dir);
		return -1;
	}
	need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size >= need)
		return 0;
	log_warnx("%s: data.mdb is cut short: %jd bytes where its last "
	    "commit needs %ju (copied in part?); restore a whole copy", dir,
	    (intmax_t)sb.st_size, (uintmax_t)need);
	return -1;
}

/*
 * 1 (logged) when the environment holds keys but no store of ours (no
 * "meta" table): another program's LMDB file, which a start must not
 * take for a new store and write into; else 0.
 */
static int
env_foreign(MDB_txn *txn, const char *dir)
{
	static const char meta[] = "meta";
	MDB_val k = { .mv_size = sizeof(meta) - 1, .mv_data = (void *)meta };
	MDB_val v;
	MDB_dbi main;
	MDB_stat ms;

	if (mdb_dbi_open(txn, NULL, 0, &main) != 0 ||
	    mdb_stat(txn, main, &ms) != 0 || ms.ms_entries == 0 ||
	    mdb_get(txn, main, &k, &v) == 0)
		return 0;
	log_warnx("%s: data.mdb holds %zu keys and no Parley store: not a "
	    "Parley data directory", dir, (size_t)ms.ms_entries);
	return 1;
}

/*
 * Which file of dir shows it has held a database, beside a data.mdb that
 * is missing (empty 0) or empty (empty 1): a wal.log of some length
 * (a start that made data.mdb went on to write it, 1 MiB at once); for an
 * empty data.mdb also a wal.log of none, or LMDB's lock.mdb (made by
 * every open of the environment, before data.mdb's first pages): only a
 * first start dying inside LMDB's open leaves data.mdb empty beside it,
 * while a copy onto a full disk, or a truncation, leaves one there after
 * any use. NULL when none.
 */
static const char *
env_sign(const char *dir, int empty)
{
	static const char *const signs[] = { WAL_FILE, "lock.mdb" };
	char path[PATH_MAX];
	struct stat sb;
	size_t i;

	for (i = 0; i < (empty ? 2u : 1u); i++)
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    signs[i]) < sizeof(path) && stat(path, &sb) == 0 &&
		    (empty || sb.st_size > 0))
			return signs[i];
	return NULL;
}

/*
 * 1 (logged) when dir's data.mdb is missing or empty while a file beside
 * it shows the directory has held a database (env_sign): it lost its
 * data.mdb (deleted, truncated, or a copy onto a full disk left it
 * empty), and LMDB must not make a new one there. A restore into an
 * empty directory (data.mdb alone) and a first start have neither.
 */
static int
env_lost(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;
	const char *was = "missing", *sign;
	int empty = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path))
		return 0;
	if (stat(path, &sb) == 0) {
		if (sb.st_size > 0)
			return 0;
		was = "empty (0 bytes)";
		empty = 1;
	} else if (errno != ENOENT)
		return 0;	/* LMDB's open says why */
	if ((sign = env_sign(dir, empty)) == NULL)
		return 0;
	log_errorx("%s: data.mdb is %s, yet %s beside it shows this "
	    "directory has held a database: not making a new one. Restore a "
	    "backup (parleyctl restore, docs/operations.md), or %s to start "
	    "anew on purpose", dir, was, sign, empty ? "remove the empty "
	    "data.mdb and move " WAL_FILE " away (if there)" :
	    "move " WAL_FILE " away");
	return 1;
}

static int
env_open(struct store *st)
{
	const char *dir = st->dir, *what;
	MDB_txn *txn = NULL;
	size_t i;
	int rc, dead, made;

	if (env_lost(dir))
		return -1;
	what = "create";
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	what = "set maxdbs";
	if ((rc = mdb_env_set_maxdbs(st->env, NDBS)) != 0)
		goto fail;
	what = "set map size";
	if ((rc = mdb_env_set_mapsize(st->env,
	    st->map_size_mb * 1024 * 1024)) != 0)
		goto fail;
	/*
	 * Checkpoints are synced in full: LMDB never holds a torn commit.
	 * STORE_F_NOSYNC (PARLEY_SYNC=interval, tests): one sync after the
	 * commit, before the log starts again (ckpt_sync), and store_sync.
	 */
	what = "open";
	if ((rc = mdb_env_open(st->env, dir,
	    (st->flags & STORE_F_NOSYNC) ? MDB_NOSYNC : 0, 0600)) != 0)
		goto fail;
	if (env_whole(st, dir) < 0) {
		mdb_env_close(st->env);
		st->env = NULL;
		return -1;
	}
	/* Reader slots left by a storaged that died would pin old pages. */
	if (mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		log_info("%s: cleared %d stale reader slots", dir, dead);
	what = "begin";
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail;
	if (env_foreign(txn, dir)) {
		mdb_txn_abort(txn);
		mdb_env_close(st->env);
		st->env = NULL;
		return -1;
	}
	memset(st->db_place, 0, sizeof(st->db_place));
	for (i = 0; i < NDBS; i++) {
		what = store_dbs[i].name;
		if ((rc = mdb_dbi_open(txn, store_dbs[i].name, MDB_CREATE,
		    store_dbi(st, i))) != 0)
			goto fail;
		if (*store_dbi(st, i) < sizeof(st->db_place))
			st->db_place[*store_dbi(st, i)] = (uint8_t)(i + 1);
	}
	if (schema_check(txn, st->meta, dir, &st->created) < 0) {
		mdb_txn_abort(txn);
		mdb_env_close(st->env);
		st->env = NULL;
		return -1;
	}
	what = "read wal_seq";
	if ((rc = wal_seq_get(txn, st->meta, &st->ckpt_seq)) != 0)
		goto fail;
	what = "wal_digest";
	if ((rc = ckpt_digest_load(st, txn)) != 0)
		goto fail;
	what = "wal_ckpt";
	if ((rc = ckpt_id_load(st, txn, &made)) != 0)
		goto fail;
	what = "commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	/* A new id is on disk before a record carries it. */
	if (rc == 0 && made && (st->flags & STORE_F_NOSYNC))
		rc = mdb_env_sync(st->env, 1);
	if (rc != 0)
		goto fail;
	if ((st->wal = wal_open(dir, !(st->flags & STORE_F_NOSYNC))) != NULL)
		wal_set_ckpt(st->wal, st->ckpt_id);
	if (st->wal == NULL ||
	    guard_add(&st->guard, dir, NULL) < 0 ||
	    guard_add(&st->guard, dir, "data.mdb") < 0 ||
	    guard_add(&st->guard, dir, WAL_FILE) < 0 ||
	    store_recover(st, dir) < 0) {
		env_close(st);
		return -1;
	}
	if (!(st->flags & STORE_F_NOSYNC))
		dir_entries_sync(dir);
	wal_due_set(st);
	return 0;

fail:
	log_warnx("lmdb: %s: %s: %s", dir, what, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	return -1;
}

int
store_init(struct store *st)
{
	struct store_txn t;
	size_t i;

	store_begin(st, &t, 0);
	for (i = 0; store_modules[i] != NULL; i++)
		if (store_modules[i]->init != NULL)
			store_modules[i]->init(&t);
	if (store_commit(&t) != 0) {
		log_warnx("%s: cannot make the default widget or the "
		    "per-widget index", st->dir);
		return -1;
	}
	for (i = 0; store_modules[i] != NULL; i++) {
		if (store_modules[i]->init_steps == NULL ||
		    store_modules[i]->init_steps(st) == 0)
			continue;
		/* As store_open leaves the init of a stalled store. */
		if (st->stall != NULL) {
			log_warnx("%s: the %s is made again once writes "
			    "resume", st->dir, store_modules[i]->name);
			st->init_due = 1;
			return 0;
		}
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *dir, size_t map_size_mb, int flags)
{
	struct store *st;

	if (map_size_mb == 0 || map_size_mb > SIZE_MAX / (1024 * 1024)) {
		log_warnx("%s: map size of %zu MiB is out of range", dir,
		    map_size_mb);
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("store_open");
		return NULL;
	}
	if (strlcpy(st->dir, dir, sizeof(st->dir)) >= sizeof(st->dir)) {
		log_warnx("%s: path too long", dir);
		free(st);
		return NULL;
	}
	st->map_size_mb = map_size_mb;
	st->flags = flags;
	st->now = proto_wall_ms;
	st->wal_max = (size_t)STORE_WAL_MB_DEFAULT * 1024 * 1024;
	if (env_open(st) < 0) {
		free(st);
		return NULL;
	}
	/*
	 * The default widget exists from the first start on; a data
	 * directory older than the per-widget index gets it built, and
	 * the retired global index is emptied. Not on a standby: its
	 * records are its primary's, in its primary's order.
	 */
	if (st->stall != NULL)
		st->init_due = !(flags & STORE_F_STANDBY);
	else if (!(flags & STORE_F_STANDBY) && store_init(st) < 0) {
		store_close(st);
		return NULL;
	}
	return st;
}

/* The environment and the log closed, without a checkpoint. */
static void
env_close(struct store *st)
{
	if (st->ltxn != NULL)
		mdb_txn_abort(st->ltxn);
	st->ltxn = NULL;
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	wal_close(st->wal);
	st->wal = NULL;
	guard_free(&st->guard);
}

/* Closes without a checkpoint: what the log holds stays only there. */
static void
store_close_now(struct store *st)
{
	env_close(st);
	oplog_free(&st->log);
	penc_free(&st->forget);
	penc_free(&st->forgot);
	penc_free(&st->put);
	store_takes_free(st);
	store_presence_free(st);
	store_setup_free(st);
	free(st);
}

/*
 * After a clean close's checkpoint: data.mdb as long as its last commit's
 * pages (a page freed unwritten at its end made it shorter), so the next
 * open can tell it from a copy cut short (env_whole). 0, or -1 logged.
 */
static int
env_make_whole(struct store *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	uint64_t need;
	int fd;

	if (mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &ms) != 0 ||
	    mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0)
		return -1;
	need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size >= need)
		return 0;
	if (ftruncate(fd, (off_t)need) < 0 || fsync(fd) < 0) {
		log_warn("%s: data.mdb: making it whole", st->dir);
		return -1;
	}
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/*
	 * Everything in LMDB: the log is emptied, so a backup put in place
	 * of data.mdb next (parleyctl(8)) starts as it is, not with this
	 * store's later records replayed over it.
	 */
	if (store_checkpoint(st) == 0 && st->seq == st->ckpt_seq &&
	    st->env != NULL && st->wal != NULL && !st->guard.failed &&
	    env_make_whole(st) == 0)
		(void)wal_clear(st->wal);
	store_close_now(st);
}

int
store_guard(struct store *st, int full)
{
	if (st->guard.failed)
		return -1;
	if (guard_check(&st->guard, full) == 0)
		return 0;
	log_errorx("PARLEY_DATA_DIR %s; every write is refused from now "
	    "on, and /health answers 503, until parley-storaged is "
	    "restarted", st->guard.why);
	return -1;
}

const char *
store_failed(const struct store *st)
{
	return st->guard.failed ? st->guard.why : NULL;
}

int
store_created(const struct store *st)
{
	return st->created;
}

void
store_set_wal_max(struct store *st, size_t bytes)
{
	st->wal_max = bytes;
	wal_due_set(st);
}

size_t
store_checkpoint_every(const struct store *st)
{
	return st->wal_due;
}

int
store_sync(struct store *st)
{
	int rc;

	if ((rc = mdb_env_sync(st->env, 1)) != 0) {
		log_warnx("lmdb: sync: %s", mdb_strerror(rc));
		return -1;
	}
	return wal_sync(st->wal);
}

int
store_backup(struct store *st, int fd)
{
	int rc;

	if ((rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT)) != 0) {
		log_warnx("backup: lmdb copy: %s", mdb_strerror(rc));
		return rc;
	}
	/* Acknowledged means on disk, as for every write of ours. */
	if (fsync(fd) < 0 && errno != EINVAL) {
		rc = errno;
		log_warn("backup: fsync");
		return rc;
	}
	return 0;
}

int
store_stats(struct store_txn *t, struct st_stats *out)
{
	const MDB_dbi *d;
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	int fd, rc;
	size_t i;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if ((rc = mdb_env_info(t->st->env, &info)) != 0 ||
	    (rc = mdb_env_stat(t->st->env, &ms)) != 0)
		return txn_lmdb(t, rc, "env info");
	out->map_size = info.me_mapsize;
	out->last_pgno = info.me_last_pgno;
	out->last_txnid = info.me_last_txnid;
	out->max_readers = info.me_maxreaders;
	out->readers = info.me_numreaders;
	out->page_size = ms.ms_psize;
	out->branch_pages = ms.ms_branch_pages;
	out->leaf_pages = ms.ms_leaf_pages;
	out->overflow_pages = ms.ms_overflow_pages;
	if (mdb_env_get_fd(t->st->env, &fd) == 0 && fstat(fd, &sb) == 0)
		out->file_size = (uint64_t)sb.st_size;
	for (i = 0; i < NDBS; i++) {
		d = store_dbi(t->st, i);
		if ((rc = mdb_stat(t->txn, *d, &ms)) != 0)
			return txn_lmdb(t, rc, "stat");
		out->branch_pages += ms.ms_branch_pages;
		out->leaf_pages += ms.ms_leaf_pages;
		out->overflow_pages += ms.ms_overflow_pages;
		if (*d == t->st->convs)
			out->conversations = ms.ms_entries;
		else if (*d == t->st->msgs)
			out->messages = ms.ms_entries;
		else if (*d == t->st->widgets)
			out->widgets = ms.ms_entries;
		else if (*d == t->st->contacts)
			out->contacts = ms.ms_entries;
		else if (*d == t->st->dsessions)
			out->owner_sessions = ms.ms_entries;
		else if (*d == t->st->wsessions)
			out->visitor_sessions = ms.ms_entries;
	}
	return 0;
}

void
store_set_clock(struct store *st, uint64_t (*now_ms)(void))
{
	st->now = now_ms != NULL ? now_ms : proto_wall_ms;
}

void
store_set_turn_left(struct store *st,
    int (*left)(const char *conv, const char *msg))
{
	st->turn_left = left;
}

void
store_costs(const struct store *st, uint64_t *decodes, uint64_t *puts)
{
	*decodes = st->ndecodes;
	*puts = st->nputs;
}

uint64_t
store_now(const struct store *st)
{
	return st->now();
}


/* ---------------------------------------------------------------- replication */

/* meta "repl_term": the replication term (issue 25), a logged write. */
static const MDB_val repl_term_key = { .mv_size = 9, .mv_data = "repl_term" };

const char *
store_dir(const struct store *st)
{
	return st->dir;
}

uint64_t
store_seq(const struct store *st)
{
	return st->seq;
}

void
store_defer_flush(struct store *st, int on)
{
	st->defer = on && !(st->flags & STORE_F_NOSYNC);
}

int
store_flush(struct store *st)
{
	if (st->unflushed == 0)
		return 0;
	if (wal_sync(st->wal) < 0)
		fatalx("store: cannot flush %s; exiting: nothing waiting on it "
		    "was acknowledged, and the next start replays what the "
		    "disk holds", WAL_FILE);
	st->unflushed = 0;
	return 1;
}

uint64_t
store_flushed(const struct store *st)
{
	return st->unflushed != 0 ? st->unflushed - 1 : st->seq;
}

void
store_on_record(struct store *st, void (*fn)(void *, uint64_t,
    const uint8_t *, const uint8_t *, size_t), void *arg)
{
	st->on_record = fn;
	st->on_record_arg = arg;
}

void
store_digest_on(struct store *st)
{
	st->digest_on = 1;
}

const uint8_t *
store_digest(const struct store *st)
{
	return st->digest;
}

int
store_repl_resumable(struct store *st, uint64_t sterm, uint64_t slast,
    const uint8_t *sdigest, const uint8_t *next_pre, const char **why)
{
	const uint8_t *ours;

	if (sterm != store_term(st)) {
		*why = "its term is not ours";
		return 0;
	}
	if (slast > st->seq) {
		*why = "it holds records past our last";
		return 0;
	}
	if (st->digest_lost) {
		*why = "our records since the last checkpoint have no digest";
		return 0;
	}
	if ((ours = slast == st->seq ? st->digest : next_pre) == NULL) {
		*why = "the backlog lacks the records after its last";
		return 0;
	}
	if (memcmp(ours, sdigest, STORE_DIGEST_LEN) != 0) {
		*why = "its records are not ours (their digest differs)";
		return 0;
	}
	return 1;
}

uint64_t
store_term(struct store *st)
{
	MDB_val v;

	if (ltxn_begin(st) != 0 || mdb_get(st->ltxn, st->meta,
	    (MDB_val *)&repl_term_key, &v) != 0 || v.mv_size != 9)
		return 0;
	return proto_get_be64((const uint8_t *)v.mv_data + 1);
}

int
store_set_term(struct store *st, uint64_t term)
{
	struct store_txn t;
	uint8_t rec[9];

	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, term);
	store_begin(st, &t, 0);
	db_put(&t, st->meta, repl_term_key.mv_data, repl_term_key.mv_size,
	    rec, sizeof(rec), "repl_term");
	if (store_commit(&t) != 0)
		return -1;
	return store_checkpoint(st);
}

int
store_repl_apply(struct store *st, uint64_t seq, const uint8_t *body,
    size_t len)
{
	if (seq <= st->seq)
		return 1;
	if (seq != st->seq + 1) {
		log_warnx("store: record %llu follows record %llu: records "
		    "are missing", (unsigned long long)seq,
		    (unsigned long long)st->seq);
		return -1;
	}
	if (st->guard.failed)
		return -1;
	if (wal_used(st->wal) >= st->wal_due)
		(void)store_checkpoint(st);
	if (ltxn_begin(st) != 0)
		return -1;
	if (wal_write(st->wal, seq, body, len) < 0) {
		/* What was written is overwritten: the log starts again. */
		if (store_checkpoint(st) == 0)
			wal_reset(st->wal);
		return -1;
	}
	st->cfg_gen++;		/* the primary's writes, any of them */
	if (oplog_apply(st, st->ltxn, body, len) < 0) {
		log_errorx("store: record %llu from the primary cannot be "
		    "applied", (unsigned long long)seq);
		/*
		 * LMDB as it was before; the record's bytes written over, or,
		 * the checkpoint failing, zeroed and the standby gone: the
		 * next record, the same seq sent again, would follow it in
		 * the log, where no replay goes past it.
		 */
		store_undo(st);
		refused_past(st, seq, " from the primary");
		return -1;
	}
	digest_chain(st->digest, seq, body, len);
	st->seq = seq;
	return 0;
}

int
store_repl_flush(struct store *st)
{
	if (store_guard(st, 0) < 0)
		return -1;
	/*
	 * Flushed whatever PARLEY_SYNC says (interval too): what a standby
	 * acknowledges, a primary on `replica` counts as on this disk.
	 */
	return wal_sync(st->wal);
}

int
store_swap(struct store *st, const char *path)
{
	char dst[PATH_MAX];
	int rc;

	if (st->guard.failed)
		return -1;
	if ((size_t)snprintf(dst, sizeof(dst), "%s/data.mdb", st->dir) >=
	    sizeof(dst)) {
		log_warnx("%s: path too long", st->dir);
		return -1;
	}
	/*
	 * The log first: once empty, the old data.mdb is its last
	 * checkpoint, whole; once renamed, the new one is, whole. A crash
	 * between the two starts from the old one.
	 */
	if (wal_clear(st->wal) < 0)
		return -1;
	env_close(st);
	oplog_clear(&st->log);
	if ((rc = rename(path, dst)) < 0)
		log_warn("rename %s to %s", path, dst);
	else
		(void)dir_sync(st->dir);
	memset(&st->guard, 0, sizeof(st->guard));
	st->seq = st->ckpt_seq = st->spent = 0;
	st->cfg_gen++;		/* another database */
	if (env_open(st) < 0)
		fatalx("%s: cannot open the database again after a snapshot",
		    st->dir);
	return rc;
}
