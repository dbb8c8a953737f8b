/*
 * storaged's LMDB layer. The conversations' databases (see STORAGE.md;
 * widgets, visitor sessions and contacts are in widgetstore.c):
 *
 *	meta      "schema" -> u32 schema version
 *	convs     id[16] -> conversation
 *	sessions  widget NUL session -> id[16]
 *	msgs      id[16] | u32 sequence (big-endian) -> message
 *	activity  retired: kept (empty) so older data directories open
 *
 * The per-widget index and counts and the owner sessions are dashstore.c's;
 * the list of every conversation merges the per-widget indexes.
 *
 * Every value starts with ST_RECORD_VERSION (conversations with
 * CONV_RECORD_VERSION, messages with MSG_RECORD_VERSION; older formats
 * still read: storeint.h); records are the same encodings the protocol
 * carries (penc_conv, penc_msg), so a message's reply size is its record
 * size minus one (msg_rec_size()).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentmsg.h"
#include "dashmsg.h"
#include "log.h"
#include "random.h"
#include "storeint.h"
#include "util.h"
#include "wal.h"

const uint8_t rec_version = ST_RECORD_VERSION;

/* ---------------------------------------------------------------- helpers */

void
msg_key(uint8_t k[MSG_KEY_LEN], const uint8_t id[ID_LEN], uint32_t seq)
{
	memcpy(k, id, ID_LEN);
	proto_put_be32(k + ID_LEN, seq);
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

/* An LMDB failure: the detail goes to the log, the client hears "internal". */
int
txn_lmdb(struct store_txn *t, int rc, const char *what)
{
	log_warnx("lmdb: %s: %s%s", what, mdb_strerror(rc),
	    rc == MDB_MAP_FULL ? " (raise PARLEY_MAP_SIZE_MB)" : "");
	return store_fail(t, PROTO_E_INTERNAL, "storage error");
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
	 */
	if (wal_used(st->wal) >= st->wal_max)
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

static int replay_one(void *, uint64_t, const uint8_t *, size_t);
static void store_close_now(struct store *);

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
	oplog_clear(&st->log);
	st->seq = st->ckpt_seq;
	st->replay_upto = upto;
	if (ltxn_begin(st) != 0 || wal_scan(st->wal, replay_one, st) < 0)
		return -1;
	return 0;
}

/*
 * Undoes a failed batch: what it wrote is gone; nothing that was
 * acknowledged is (not a record whose append failed, even if it reached
 * the file). A log that cannot be replayed leaves the process no state to
 * trust: it exits, and the next start replays from the disk.
 */
static void
store_undo(struct store *st)
{
	uint64_t acked = st->seq;

	if (store_replay(st, acked) < 0 || st->seq != acked)
		fatalx("store: cannot replay the log after a failed batch");
	log_info("store: a failed batch was undone (%llu records replayed)",
	    (unsigned long long)(st->seq - st->ckpt_seq));
}

/* A batch ends: its changes are logged as one record, or undone. */
static int
batch_end(struct store_txn *t)
{
	struct store *st = t->st;

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
	if (wal_append(st->wal, st->seq + 1, st->log.buf, st->log.len) < 0) {
		store_fail(t, PROTO_E_INTERNAL, "storage error");
		store_undo(st);
		/*
		 * The failed record may be in the file all the same (a
		 * flush that failed, or a write that half happened). Its
		 * number is spent: the checkpoint records it, so the next
		 * start never replays it, and the log starts again behind
		 * it (a log that failed refuses appends until a reset).
		 */
		st->seq++;
		if (store_checkpoint(st) == 0)
			wal_reset(st->wal);
		return t->err;
	}
	st->seq++;
	oplog_clear(&st->log);
	return 0;
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
		t->st->log.len = t->log_mark;
		return t->err;
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc != 0) {
		txn_lmdb(t, rc, "commit nested");
		t->st->log.len = t->log_mark;
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
	t->st->log.len = t->log_mark;
}

/* A write may run in t: 0, or -1 with the sticky error set. */
static int
writable(struct store_txn *t)
{
	if (t->err)
		return -1;
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

void
db_put(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen, const char *what)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	MDB_val val = { .mv_size = vlen, .mv_data = (void *)v };
	int rc;

	if (writable(t) < 0)
		return;
	if ((rc = mdb_put(t->txn, dbi, &key, &val, 0)) != 0)
		write_failed(t, rc, what);
	else {
		t->wrote = 1;
		oplog_put(t->st, dbi, k, klen, v, vlen);
	}
}

static void
del_key(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const char *what, int may_be_absent)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	int rc;

	if (writable(t) < 0)
		return;
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

	if (v->mv_size < 1 || p[0] < 1 || p[0] > max) {
		log_warnx("%s: record format %d is not one we read", what,
		    v->mv_size < 1 ? -1 : p[0]);
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	pdec_init(d, p + 1, v->mv_size - 1);
	return p[0];
}

uint8_t *
rec_pad(struct store_txn *t, struct pdec *d, size_t pad)
{
	size_t n = d->len - d->off;
	uint8_t *buf;

	if ((buf = malloc(n + pad)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (n > 0)
		memcpy(buf, d->p + d->off, n);
	memset(buf + n, 0, pad);
	pdec_init(d, buf, n + pad);
	return buf;
}

size_t
msg_rec_size(const MDB_val *v)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < 1)
		return 0;
	return v->mv_size - 1 + (p[0] == 1 ? MSG_V1_PAD : 0);
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

/* On failure m holds nothing: the caller does not count it. */
int
msg_rec_decode(struct store_txn *t, const MDB_val *v, struct st_msg *m)
{
	struct pdec d;
	uint8_t *buf = NULL;
	int ver, rc = 0;

	memset(m, 0, sizeof(*m));
	if ((ver = rec_open_ver(t, v, &d, MSG_RECORD_VERSION,
	    "message")) < 0)
		return -1;
	if (ver == 1 && (buf = rec_pad(t, &d, MSG_V1_PAD)) == NULL)
		return -1;
	if (pdec_msg(&d, m) < 0)
		rc = -1;
	else if (pdec_done(&d) < 0) {
		st_msg_free(m);
		rc = -1;
	}
	free(buf);
	if (rc < 0)
		rec_corrupt(t, "message");
	return rc;
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

/* 0 loaded, 1 absent, -1 error. */
int
conv_load(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	static const size_t pad[CONV_RECORD_VERSION] =
	    { CONV_V1_PAD, CONV_V2_PAD, 0 };
	MDB_val v;
	struct pdec d;
	uint8_t *buf = NULL;
	int ver, rc;

	memset(c, 0, sizeof(*c));
	if ((rc = db_get(t, t->st->convs, id, ID_LEN, &v,
	    "get conversation")) != 0)
		return rc;
	if ((ver = rec_open_ver(t, &v, &d, CONV_RECORD_VERSION,
	    "conversation")) < 0)
		return -1;
	if (pad[ver - 1] > 0 && (buf = rec_pad(t, &d, pad[ver - 1])) == NULL)
		return -1;
	rc = 0;
	if (pdec_conv(&d, c) < 0)
		rc = -1;
	else if (pdec_done(&d) < 0) {
		st_conv_free(c);
		rc = -1;
	}
	free(buf);
	if (rc < 0)
		rec_corrupt(t, "conversation");
	return rc;
}

int
conv_id_parse(struct store_txn *t, const char *hex, uint8_t id[ID_LEN])
{
	if (!st_id_valid(hex)) {
		store_fail(t, PROTO_E_INVALID,
		    "conversation id must be 32 lowercase hex digits");
		return -1;
	}
	proto_hex_decode(hex, id, ID_LEN);
	return 0;
}

int
conv_get(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = conv_load(t, id, c)) == 1)
		store_fail(t, PROTO_E_NOT_FOUND, "no such conversation");
	return rc == 0 ? 0 : -1;
}

int
conv_by_hex(struct store_txn *t, const char *hex, uint8_t id[ID_LEN],
    struct st_conv *c)
{
	if (conv_id_parse(t, hex, id) < 0)
		return -1;
	return conv_get(t, id, c);
}

void
conv_save(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct st_conv *c)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, CONV_RECORD_VERSION);
	penc_conv(&e, c);
	rec_put(t, t->st->convs, id, ID_LEN, &e, "put conversation");
	penc_free(&e);
}

static void
msg_save(struct store_txn *t, const uint8_t key[MSG_KEY_LEN],
    const struct st_msg *m)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, MSG_RECORD_VERSION);
	penc_msg(&e, m);
	rec_put(t, t->st->msgs, key, MSG_KEY_LEN, &e, "put message");
	penc_free(&e);
}

/*
 * A conversation id no one holds yet: the creation time in milliseconds
 * (48 bits, big-endian), then 80 random bits. Conversations and their
 * messages are keyed by it, so a new one goes beside the last new ones,
 * in pages already in memory, not into a random page of a tree of a
 * million (a page fault, and a page copied into the write transaction,
 * for each: the first token came 0.2 ms later at a million stored
 * conversations than on a fresh store). The random part keeps ids
 * unguessable; none is a key to anything a visitor can reach.
 */
static int
conv_new_id(struct store_txn *t, uint8_t id[ID_LEN])
{
	uint64_t now = (uint64_t)t->st->now();
	MDB_val v;
	int i, rc;

	for (i = 0; i < 4; i++) {
		proto_put_be64(id, now << 16);
		proto_random(id + 6, ID_LEN - 6);
		rc = db_get(t, t->st->convs, id, ID_LEN, &v, "get conversation");
		if (rc == 1)
			return 0;
		if (rc < 0)
			return -1;
	}
	/* 80 random bits colliding four times: the generator is broken. */
	log_warnx("conversation ids keep colliding");
	store_fail(t, PROTO_E_INTERNAL, "no fresh id");
	return -1;
}

/* The sequence number after the conversation's last message. */
static int
msg_next_seq(struct store_txn *t, const uint8_t id[ID_LEN], uint32_t *seq)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t probe[MSG_KEY_LEN];
	int rc;

	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	msg_key(probe, id, UINT32_MAX);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, probe, MSG_KEY_LEN) == 0) {
		mdb_cursor_close(cur);
		store_fail(t, PROTO_E_INVALID, "conversation is full");
		return -1;
	}
	/* Step back from the first key past this conversation's range. */
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	*seq = 0;
	if (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0)
		*seq = proto_get_be32((const uint8_t *)k.mv_data + ID_LEN) + 1;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "last message");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- env */

static int
schema_check(MDB_txn *txn, MDB_dbi meta, const char *dir)
{
	static const char name[] = "schema";
	MDB_val k = { .mv_size = sizeof(name) - 1, .mv_data = (void *)name };
	MDB_val v;
	uint8_t rec[5];
	const uint8_t *p;
	int rc;

	rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rec[0] = ST_RECORD_VERSION;
		proto_put_be32(rec + 1, STORE_SCHEMA_VERSION);
		v.mv_size = sizeof(rec);
		v.mv_data = rec;
		if ((rc = mdb_put(txn, meta, &k, &v, 0)) != 0) {
			log_warnx("lmdb: %s: write schema: %s", dir,
			    mdb_strerror(rc));
			return -1;
		}
		return 0;
	}
	if (rc != 0) {
		log_warnx("lmdb: %s: read schema: %s", dir, mdb_strerror(rc));
		return -1;
	}
	p = v.mv_data;
	if (v.mv_size != sizeof(rec) || p[0] != ST_RECORD_VERSION) {
		log_warnx("%s: schema record not understood", dir);
		return -1;
	}
	if (proto_get_be32(p + 1) != STORE_SCHEMA_VERSION) {
		log_warnx("%s: data has schema version %u, this storaged "
		    "reads version %u", dir, proto_get_be32(p + 1),
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

const struct store_db store_dbs[NDBS] = {
	{ "meta", offsetof(struct store, meta) },
	{ "convs", offsetof(struct store, convs) },
	{ "sessions", offsetof(struct store, sessions) },
	{ "activity", offsetof(struct store, activity) },
	{ "msgs", offsetof(struct store, msgs) },
	{ "widgets", offsetof(struct store, widgets) },
	{ "widget_ids", offsetof(struct store, widget_ids) },
	{ "widget_order", offsetof(struct store, widget_order) },
	{ "wsessions", offsetof(struct store, wsessions) },
	{ "widget_wsess", offsetof(struct store, widget_wsess) },
	{ "contacts", offsetof(struct store, contacts) },
	{ "contact_email", offsetof(struct store, contact_email) },
	{ "contact_phone", offsetof(struct store, contact_phone) },
	{ "contact_created", offsetof(struct store, contact_created) },
	{ "contact_convs", offsetof(struct store, contact_convs) },
	{ "daily", offsetof(struct store, daily) },
	{ "wsess_claims", offsetof(struct store, wsess_claims) },
	{ "wsess_expiry", offsetof(struct store, wsess_expiry) },
	{ "wsess_gone", offsetof(struct store, wsess_gone) },
	{ "widget_activity", offsetof(struct store, widget_activity) },
	{ "widget_counts", offsetof(struct store, widget_counts) },
	{ "dsessions", offsetof(struct store, dsessions) },
	{ "dsess_expiry", offsetof(struct store, dsess_expiry) },
	{ "agents", offsetof(struct store, agents) },
	{ "agent_order", offsetof(struct store, agent_order) },
	{ "conv_handoff", offsetof(struct store, conv_handoff) },
	{ "conv_handoff_at", offsetof(struct store, conv_handoff_at) },
};

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

/* One record of the log at open or undo (wal_scan's callback). */
static int
replay_one(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
	struct store *st = arg;

	if (seq <= st->ckpt_seq || seq > st->replay_upto)
		return 1;	/* the previous lap (all in LMDB), or unacknowledged */
	if (seq != st->seq + 1) {
		log_warnx("store: the log starts at record %llu but LMDB "
		    "holds records up to %llu only: records are missing",
		    (unsigned long long)seq, (unsigned long long)st->seq);
		return -1;
	}
	if (oplog_apply(st, st->ltxn, body, len) < 0) {
		log_warnx("store: log record %llu cannot be applied",
		    (unsigned long long)seq);
		return -1;
	}
	st->seq = seq;
	return 0;
}

int
store_checkpoint(struct store *st)
{
	uint8_t rec[9];
	MDB_val v = { .mv_size = sizeof(rec), .mv_data = rec };
	uint64_t t0 = proto_mono_us();
	int rc;

	if (st->ltxn == NULL || st->seq == st->ckpt_seq)
		return 0;
	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, st->seq);
	rc = mdb_put(st->ltxn, st->meta, (MDB_val *)&wal_seq_key, &v, 0);
	if (rc == 0)
		rc = mdb_txn_commit(st->ltxn);
	else
		mdb_txn_abort(st->ltxn);
	st->ltxn = NULL;
	if (rc != 0) {
		/* Still all in the log: begin from it again. */
		log_warnx("lmdb: checkpoint: %s", mdb_strerror(rc));
		store_undo(st);
		return -1;
	}
	/* Synced: the log's records are LMDB's now; the log starts again. */
	log_debug("store: checkpoint of records %llu..%llu (%zu bytes of "
	    "log) in %llu us", (unsigned long long)st->ckpt_seq + 1,
	    (unsigned long long)st->seq, wal_used(st->wal),
	    (unsigned long long)(proto_mono_us() - t0));
	st->ckpt_seq = st->seq;
	wal_reset(st->wal);
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
	if (st->seq == st->ckpt_seq)
		return 0;
	log_info("%s: replayed %llu records of %s that LMDB lacked", dir,
	    (unsigned long long)(st->seq - st->ckpt_seq), WAL_FILE);
	return store_checkpoint(st);
}

struct store *
store_open(const char *dir, size_t map_size_mb, int flags)
{
	struct store_txn t;
	struct store *st;
	MDB_txn *txn = NULL;
	const char *what;
	size_t i;
	int rc, dead;

	if (map_size_mb == 0 || map_size_mb > SIZE_MAX / (1024 * 1024)) {
		log_warnx("%s: map size of %zu MiB is out of range", dir,
		    map_size_mb);
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("store_open");
		return NULL;
	}
	st->now = proto_wall_ms;
	st->wal_max = (size_t)STORE_WAL_MB_DEFAULT * 1024 * 1024;
	what = "create";
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	what = "set maxdbs";
	if ((rc = mdb_env_set_maxdbs(st->env, NDBS)) != 0)
		goto fail;
	what = "set map size";
	if ((rc = mdb_env_set_mapsize(st->env,
	    map_size_mb * 1024 * 1024)) != 0)
		goto fail;
	/*
	 * Checkpoints are synced in full: LMDB never holds a torn commit.
	 * STORE_F_NOSYNC (PARLEY_SYNC=interval, tests): store_sync does it.
	 */
	what = "open";
	if ((rc = mdb_env_open(st->env, dir,
	    (flags & STORE_F_NOSYNC) ? MDB_NOSYNC : 0, 0600)) != 0)
		goto fail;
	/* Reader slots left by a storaged that died would pin old pages. */
	if (mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		log_info("%s: cleared %d stale reader slots", dir, dead);
	what = "begin";
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail;
	for (i = 0; i < NDBS; i++) {
		what = store_dbs[i].name;
		if ((rc = mdb_dbi_open(txn, store_dbs[i].name, MDB_CREATE,
		    store_dbi(st, i))) != 0)
			goto fail;
	}
	if (schema_check(txn, st->meta, dir) < 0) {
		mdb_txn_abort(txn);
		mdb_env_close(st->env);
		free(st);
		return NULL;
	}
	what = "read wal_seq";
	if ((rc = wal_seq_get(txn, st->meta, &st->ckpt_seq)) != 0)
		goto fail;
	what = "commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	if ((st->wal = wal_open(dir, !(flags & STORE_F_NOSYNC))) == NULL ||
	    store_recover(st, dir) < 0) {
		store_close_now(st);
		return NULL;
	}
	/*
	 * The default widget exists from the first start on; a data
	 * directory older than the per-widget index gets it built, and
	 * the retired global index is emptied.
	 */
	store_begin(st, &t, 0);
	for (i = 0; store_modules[i] != NULL; i++)
		if (store_modules[i]->init != NULL)
			store_modules[i]->init(&t);
	if (store_commit(&t) != 0) {
		log_warnx("%s: cannot make the default widget or the "
		    "per-widget index", dir);
		store_close(st);
		return NULL;
	}
	return st;

fail:
	log_warnx("lmdb: %s: %s: %s", dir, what, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
	return NULL;
}

/* Closes without a checkpoint: what the log holds stays only there. */
static void
store_close_now(struct store *st)
{
	if (st->ltxn != NULL)
		mdb_txn_abort(st->ltxn);
	mdb_env_close(st->env);
	wal_close(st->wal);
	oplog_free(&st->log);
	free(st);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	(void)store_checkpoint(st);
	store_close_now(st);
}

void
store_set_wal_max(struct store *st, size_t bytes)
{
	st->wal_max = bytes;
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

uint64_t
store_now(const struct store *st)
{
	return st->now();
}

/* ---------------------------------------------------------------- ops */

static int
role_valid(const char *r)
{
	return strcmp(r, "user") == 0 || strcmp(r, "assistant") == 0 ||
	    strcmp(r, "system") == 0 || strcmp(r, "agent") == 0;
}

static int
status_valid(const char *s)
{
	return strcmp(s, "complete") == 0 || strcmp(s, "interrupted") == 0 ||
	    strcmp(s, "failed") == 0;
}

/* NULL when (widget, session) is well-formed, else what is wrong. */
static const char *
session_invalid(const char *widget, const char *session)
{
	size_t wlen = strlen(widget), slen = strlen(session);

	if (wlen == 0 || wlen > ST_WIDGET_MAX || !proto_utf8_valid(widget, wlen))
		return "widget must be 1 to 64 bytes of UTF-8";
	if (slen == 0 || slen > ST_SESSION_MAX || !proto_utf8_valid(session, slen))
		return "session must be 1 to 128 bytes of UTF-8";
	return NULL;
}

/* Checks the pair and builds its sessions key. 0, or -1 with t failed. */
int
sess_key(struct store_txn *t, const char *widget, const char *session,
    uint8_t skey[SESS_KEY_MAX], size_t *klen)
{
	const char *bad;
	size_t wlen, slen;

	if ((bad = session_invalid(widget, session)) != NULL) {
		store_fail(t, PROTO_E_INVALID, bad);
		return -1;
	}
	wlen = strlen(widget);
	slen = strlen(session);
	/* Neither holds a NUL, so the pair maps to one key. */
	memcpy(skey, widget, wlen);
	skey[wlen] = '\0';
	memcpy(skey + wlen + 1, session, slen);
	*klen = wlen + 1 + slen;
	return 0;
}

/* The conversation id a session key names: 0 found, 1 absent, -1 error. */
static int
sess_find(struct store_txn *t, const uint8_t *skey, size_t klen,
    uint8_t id[ID_LEN])
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->sessions, skey, klen, &v,
	    "get session")) != 0)
		return rc;
	if (v.mv_size != 1 + ID_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		log_warnx("session index: record not understood");
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	memcpy(id, (uint8_t *)v.mv_data + 1, ID_LEN);
	return 0;
}

/* Loads the conversation a session names; it must exist. 0 or -1. */
static int
sess_conv(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = conv_load(t, id, c)) == 1) {
		log_warnx("session index names a missing conversation");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
	}
	return rc == 0 ? 0 : -1;
}

int
store_conv_open(struct store_txn *t, const char *widget, const char *session,
    struct st_conv *conv, int *created)
{
	return conv_open_contact(t, widget, session, "", conv, created);
}

int
sess_conv_id(struct store_txn *t, const char *widget, const char *session,
    uint8_t id[ID_LEN])
{
	uint8_t skey[SESS_KEY_MAX];
	size_t klen;

	if (t->err || sess_key(t, widget, session, skey, &klen) < 0)
		return -1;
	return sess_find(t, skey, klen, id);
}

int
conv_open_contact(struct store_txn *t, const char *widget,
    const char *session, const char *contact_id, struct st_conv *conv,
    int *created)
{
	uint8_t ccid[ID_LEN], cckey[2 * ID_LEN];
	uint8_t skey[SESS_KEY_MAX], sval[1 + ID_LEN], id[ID_LEN];
	struct st_conv c;
	size_t klen, i;
	int rc;

	if (t->err)
		return t->err;
	if (sess_key(t, widget, session, skey, &klen) < 0)
		return t->err;
	if ((rc = sess_find(t, skey, klen, id)) < 0)
		return t->err;
	if (rc == 0) {
		if (sess_conv(t, id, &c) < 0)
			return t->err;
		*conv = c;
		*created = 0;
		return 0;
	}

	if (conv_new_id(t, id) < 0)
		return t->err;
	memset(&c, 0, sizeof(c));
	proto_hex_encode(id, ID_LEN, c.id);
	strlcpy(c.widget, widget, sizeof(c.widget));
	strlcpy(c.session, session, sizeof(c.session));
	c.created_at = c.updated_at = t->st->now();
	if (contact_id[0] != '\0' && proto_hex_decode(contact_id, ccid, ID_LEN) == 0) {
		strlcpy(c.contact_id, contact_id, sizeof(c.contact_id));
		memcpy(cckey, ccid, ID_LEN);
		memcpy(cckey + ID_LEN, id, ID_LEN);
		db_put(t, t->st->contact_convs, cckey, sizeof(cckey),
		    &rec_version, 1, "put contact conversation");
	}
	if ((c.last_message = strdup("")) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	sval[0] = ST_RECORD_VERSION;
	memcpy(sval + 1, id, ID_LEN);

	conv_save(t, id, &c);
	db_put(t, t->st->sessions, skey, klen, sval, sizeof(sval),
	    "put session");
	for (i = 0; store_modules[i] != NULL; i++)
		if (store_modules[i]->conv_made != NULL)
			store_modules[i]->conv_made(t, c.widget, c.updated_at,
			    id);
	if (t->err) {
		st_conv_free(&c);
		return t->err;
	}
	*conv = c;
	*created = 1;
	return 0;
}

int
store_msg_append(struct store_txn *t, struct st_msg *m, struct st_conv *conv)
{
	uint8_t cid[ID_LEN], mid[ID_LEN], mkey[MSG_KEY_LEN];
	struct st_conv c;
	const char *content = m->content != NULL ? m->content : "";
	uint32_t seq;
	uint64_t now;
	size_t clen, i;
	char *preview;

	if (t->err)
		return t->err;
	if (conv_id_parse(t, m->conv_id, cid) < 0)
		return t->err;
	if (!role_valid(m->role))
		return store_fail(t, PROTO_E_INVALID,
		    "role must be user, assistant, system or agent");
	if (m->status[0] == '\0')
		strlcpy(m->status, "complete", sizeof(m->status));
	else if (!status_valid(m->status))
		return store_fail(t, PROTO_E_INVALID,
		    "status must be complete, interrupted or failed");
	clen = strlen(content);
	if (clen > ST_CONTENT_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "content is over 65536 bytes");
	if (!proto_utf8_valid(content, clen))
		return store_fail(t, PROTO_E_INVALID, "content is not UTF-8");

	if (conv_get(t, cid, &c) < 0)
		return t->err;
	if (c.message_count == UINT32_MAX || msg_next_seq(t, cid, &seq) < 0) {
		store_fail(t, PROTO_E_INVALID, "conversation is full");
		st_conv_free(&c);
		return t->err;
	}

	now = t->st->now();
	proto_random(mid, sizeof(mid));
	proto_hex_encode(mid, sizeof(mid), m->id);
	m->created_at = now;
	msg_key(mkey, cid, seq);
	msg_save(t, mkey, m);

	/*
	 * Move the conversation in its widget's index. In the same
	 * millisecond the key stays: deleting a tree's last key frees its
	 * page only at commit, so a long batch would eat the map.
	 */
	if (now > c.updated_at) {
		for (i = 0; store_modules[i] != NULL; i++)
			if (store_modules[i]->conv_moved != NULL)
				store_modules[i]->conv_moved(t, c.widget,
				    c.updated_at, now, cid);
		c.updated_at = now;
	}

	c.message_count++;
	if ((preview = strndup(content,
	    st_utf8_prefix(content, ST_PREVIEW_CHARS))) == NULL)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	else {
		free(c.last_message);
		c.last_message = preview;
	}
	conv_save(t, cid, &c);
	if (t->err) {
		st_conv_free(&c);
		return t->err;
	}
	*conv = c;
	return 0;
}

/* The key starts with the walk's prefix. */
static int
index_in(const struct index_walk *w, const MDB_val *k)
{
	return w->plen == 0 || (k->mv_size >= w->plen &&
	    memcmp(k->mv_data, w->prefix, w->plen) == 0);
}

/*
 * The u64 | id[16] a cursor names; from the newest, all ones: a key
 * holding it (time 2^64 - 1) is no real key, so it may be passed over.
 */
static int
cursor_key(struct store_txn *t, const char *cursor, uint8_t k[INDEX_KEY_LEN])
{
	if (cursor[0] == '\0')
		memset(k, 0xff, INDEX_KEY_LEN);
	else if (strlen(cursor) != STORE_CURSOR_LEN ||
	    proto_hex_decode(cursor, k, INDEX_KEY_LEN) < 0) {
		store_fail(t, PROTO_E_INVALID, "malformed cursor");
		return -1;
	}
	return 0;
}

int
order_list(struct store_txn *t, const struct order_list *o, void *items,
    uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	char id[ST_WIDGET_MAX + 1], walk[64];
	size_t len;
	int rc, lrc;

	*n = 0;
	if ((rc = mdb_cursor_open(t->txn, o->index, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && *n < o->max) {
		if (k.mv_size < 8 + o->idmin || k.mv_size > 8 + o->idmax) {
			log_warnx("%s order: key of %zu bytes", o->what,
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		len = k.mv_size - 8;
		memcpy(id, (uint8_t *)k.mv_data + 8, len);
		id[len] = '\0';
		if ((lrc = o->load(t, id, (char *)items + *n * o->size)) == 1) {
			log_warnx("%s order names a missing %s", o->what,
			    o->what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc != 0)
			break;
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND) {
		snprintf(walk, sizeof(walk), "walk %ss", o->what);
		txn_lmdb(t, rc, walk);
	}
	return t->err;
}

/*
 * Walks an index keyed prefix | u64 | id[16] newest first: strictly older
 * than cursor (48 hex digits of the u64 | id part; "" = from the newest),
 * looking at no more than w->scan keys (0 = no bound) and stopping once
 * w->limit items are taken or take() sets *w->halt. take() reads the
 * record a key names into the next item: 0 taken, 2 passed over, 1
 * missing (the index is then inconsistent), -1 failed. next_cursor names
 * the last key looked at when more lie past it. Either way pg->items
 * (pg->n taken) is the caller's to free; pg->total is left 0.
 */
int
index_walk(struct store_txn *t, MDB_dbi index, const char *what,
    const char *cursor, const struct index_walk *w, struct index_page *pg)
{
	uint8_t probe[INDEX_PREFIX_MAX + INDEX_KEY_LEN], last[INDEX_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t seen = 0;
	int rc, lrc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (w->plen > INDEX_PREFIX_MAX)
		return store_fail(t, PROTO_E_INTERNAL, "index prefix too long");
	if (w->plen > 0)
		memcpy(probe, w->prefix, w->plen);
	if (cursor_key(t, cursor, probe + w->plen) < 0)
		return t->err;
	if ((pg->items = calloc(w->limit, w->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, index, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");

	/* The entry before the first at-or-after the probe is older. */
	k.mv_size = w->plen + INDEX_KEY_LEN;
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && pg->n < w->limit &&
	    (w->scan == 0 || seen < w->scan) &&
	    (w->halt == NULL || *w->halt == 0)) {
		if (!index_in(w, &k)) {
			rc = MDB_NOTFOUND;	/* past the prefix's keys */
			break;
		}
		if (k.mv_size != w->plen + INDEX_KEY_LEN) {
			log_warnx("%s index: key of %zu bytes", what,
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		memcpy(last, (uint8_t *)k.mv_data + w->plen, sizeof(last));
		seen++;
		if ((lrc = w->take(t, last + 8,
		    (char *)pg->items + pg->n * w->size, w->arg)) == 1) {
			log_warnx("%s index names a missing record", what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc == 0)
			pg->n++;
		else if (lrc != 2)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	if (rc == 0 && !index_in(w, &k))
		rc = MDB_NOTFOUND;
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, what);
	if (t->err)
		return t->err;
	/* Something older lies past this page: say where to resume. */
	if (rc == 0 && seen > 0)
		proto_hex_encode(last, sizeof(last), pg->next_cursor);
	return 0;
}

/* One widget's place in the merge: the key it stands on. */
struct merge_head {
	uint8_t key[INDEX_PREFIX_MAX + INDEX_KEY_LEN];	/* widget NUL u64 | id */
	size_t plen;
};

struct merge {
	MDB_cursor *cur;
	/* The key cur stands on (atlen 0: unknown), to step instead of seek. */
	uint8_t at[INDEX_PREFIX_MAX + INDEX_KEY_LEN];
	size_t atlen;
	const char *what;
};

/* a is newer than b; ids are unique, so never equal. */
static int
head_newer(const struct merge_head *a, const struct merge_head *b)
{
	return memcmp(a->key + a->plen, b->key + b->plen, INDEX_KEY_LEN) > 0;
}

/* A max-heap on (time, id): the newest head at 0. */
static void
heap_down(struct merge_head *h, size_t n, size_t i)
{
	struct merge_head tmp;
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && head_newer(&h[c + 1], &h[c]))
			c++;
		if (!head_newer(&h[c], &h[i]))
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

/*
 * Moves a head to the key before the one it holds, within its widget:
 * 0 moved, 1 none left, -1 failed.
 */
static int
head_prev(struct store_txn *t, struct merge *m, struct merge_head *h)
{
	size_t klen = h->plen + INDEX_KEY_LEN;
	MDB_val k, v;
	int rc;

	if (m->atlen == klen && memcmp(m->at, h->key, klen) == 0)
		rc = mdb_cursor_get(m->cur, &k, &v, MDB_PREV);
	else {
		k.mv_size = klen;
		k.mv_data = h->key;
		rc = mdb_cursor_get(m->cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(m->cur, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(m->cur, &k, &v, MDB_LAST);
	}
	m->atlen = 0;
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0) {
		txn_lmdb(t, rc, m->what);
		return -1;
	}
	if (k.mv_size < h->plen || memcmp(k.mv_data, h->key, h->plen) != 0)
		return 1;
	if (k.mv_size != klen) {
		log_warnx("%s index: key of %zu bytes", m->what, k.mv_size);
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return -1;
	}
	memcpy(h->key + h->plen, (uint8_t *)k.mv_data + h->plen,
	    INDEX_KEY_LEN);
	memcpy(m->at, h->key, klen);
	m->atlen = klen;
	return 0;
}

/*
 * One head per widget of widget_counts, each on its newest key strictly
 * older than probe; the widgets with none are left out. 0 or -1.
 */
static int
merge_heads(struct store_txn *t, struct merge *m, const uint8_t *probe,
    struct merge_head **out, size_t *nout)
{
	struct merge_head *heads;
	MDB_cursor *wc;
	MDB_stat ms;
	MDB_val k, v;
	size_t n = 0, i;
	int rc, hrc = 0;

	*out = NULL;
	*nout = 0;
	if ((rc = mdb_stat(t->txn, t->st->widget_counts, &ms)) != 0) {
		txn_lmdb(t, rc, "widget counts");
		return -1;
	}
	if (ms.ms_entries == 0)
		return 0;
	if ((heads = calloc(ms.ms_entries, sizeof(*heads))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	if ((rc = mdb_cursor_open(t->txn, t->st->widget_counts, &wc)) != 0) {
		free(heads);
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	rc = mdb_cursor_get(wc, &k, &v, MDB_FIRST);
	while (rc == 0 && n < ms.ms_entries) {
		if (k.mv_size == 0 || k.mv_size > ST_WIDGET_MAX ||
		    memchr(k.mv_data, '\0', k.mv_size) != NULL) {
			log_warnx("widget counts: key of %zu bytes", k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			hrc = -1;
			break;
		}
		memcpy(heads[n].key, k.mv_data, k.mv_size);
		heads[n].key[k.mv_size] = '\0';
		heads[n].plen = k.mv_size + 1;
		memcpy(heads[n].key + heads[n].plen, probe, INDEX_KEY_LEN);
		if ((hrc = head_prev(t, m, &heads[n])) < 0)
			break;
		if (hrc == 0)
			n++;
		rc = mdb_cursor_get(wc, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(wc);
	if (hrc >= 0 && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk widget counts");
	if (t->err) {
		free(heads);
		return -1;
	}
	for (i = n / 2; i-- > 0;)
		heap_down(heads, n, i);
	*out = heads;
	*nout = n;
	return 0;
}

/*
 * index_walk() over every conversation: a merge of the per-widget
 * indexes (the widgets are widget_counts' keys), newest first in (time,
 * id) order, the order one index of u64 | id[16] would have. Cursors,
 * limit, scan, halt, take() and next_cursor are index_walk()'s; w's
 * prefix is not used. A heap of one head per widget, and one LMDB cursor
 * that steps back when it stands on the head taken and seeks otherwise,
 * so a page costs O(widgets + limit log widgets) and no more.
 */
int
merge_walk(struct store_txn *t, const char *cursor,
    const struct index_walk *w, struct index_page *pg)
{
	uint8_t probe[INDEX_KEY_LEN], last[INDEX_KEY_LEN];
	struct merge_head *heads = NULL;
	struct merge m;
	uint32_t seen = 0;
	size_t n = 0;
	int rc, lrc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (cursor_key(t, cursor, probe) < 0)
		return t->err;
	if ((pg->items = calloc(w->limit, w->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	memset(&m, 0, sizeof(m));
	m.what = "widget activity";
	if ((rc = mdb_cursor_open(t->txn, t->st->widget_activity,
	    &m.cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	if (merge_heads(t, &m, probe, &heads, &n) < 0) {
		mdb_cursor_close(m.cur);
		return t->err;
	}
	while (n > 0 && pg->n < w->limit &&
	    (w->scan == 0 || seen < w->scan) &&
	    (w->halt == NULL || *w->halt == 0)) {
		memcpy(last, heads[0].key + heads[0].plen, sizeof(last));
		seen++;
		if ((lrc = w->take(t, last + 8,
		    (char *)pg->items + pg->n * w->size, w->arg)) == 1) {
			log_warnx("%s index names a missing record", m.what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc == 0)
			pg->n++;
		else if (lrc != 2)
			break;
		if ((rc = head_prev(t, &m, &heads[0])) < 0)
			break;
		if (rc == 1)
			heads[0] = heads[--n];
		heap_down(heads, n, 0);
	}
	mdb_cursor_close(m.cur);
	free(heads);
	if (t->err)
		return t->err;
	/* Something older lies past this page: say where to resume. */
	if (n > 0 && seen > 0)
		proto_hex_encode(last, sizeof(last), pg->next_cursor);
	return 0;
}

/* index_page()'s load() as a take(). */
static int
page_take(struct store_txn *t, const uint8_t *id, void *item, void *arg)
{
	int (*const *load)(struct store_txn *, const uint8_t *, void *) = arg;

	return (*load)(t, id, item);
}

/*
 * A page of an index keyed u64 | id[16], newest first, as index_walk()
 * walks it; total counts records.
 */
int
index_page(struct store_txn *t, MDB_dbi index, MDB_dbi records,
    const char *what, uint32_t limit, const char *cursor, size_t size,
    int (*load)(struct store_txn *, const uint8_t *, void *),
    struct index_page *pg)
{
	struct index_walk w;
	MDB_stat ms;
	int rc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	if ((rc = mdb_stat(t->txn, records, &ms)) != 0)
		return txn_lmdb(t, rc, what);
	memset(&w, 0, sizeof(w));
	w.limit = limit;
	w.size = size;
	w.take = page_take;
	w.arg = &load;
	if (index_walk(t, index, what, cursor, &w, pg) == 0)
		pg->total = ms.ms_entries;
	return t->err;
}

int
store_conv_get(struct store_txn *t, const char *conv_id,
    uint32_t max_messages, size_t max_bytes, struct store_conv_full *out)
{
	uint8_t cid[ID_LEN], probe[MSG_KEY_LEN];
	struct store_conv_full f;
	struct st_msg *nm;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t used = 0, sz, cap = 0;
	int rc;

	if (t->err)
		return t->err;
	memset(&f, 0, sizeof(f));
	if (conv_by_hex(t, conv_id, cid, &f.conv) < 0)
		return t->err;
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0) {
		st_conv_free(&f.conv);
		return txn_lmdb(t, rc, "cursor");
	}

	msg_key(probe, cid, 0);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		/* The reply carries the record minus its version byte. */
		sz = msg_rec_size(&v);
		if ((max_messages != 0 && f.n == max_messages) ||
		    sz > max_bytes - used) {
			f.truncated = 1;
			break;
		}
		if (f.n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nm = reallocarray(f.msgs, cap,
			    sizeof(*nm))) == NULL) {
				store_fail(t, PROTO_E_INTERNAL,
				    "out of memory");
				break;
			}
			f.msgs = nm;
		}
		if (msg_rec_decode(t, &v, &f.msgs[f.n]) < 0)
			break;
		f.n++;
		used += sz;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages");
	if (t->err) {
		store_conv_full_free(&f);
		return t->err;
	}
	*out = f;
	return 0;
}

/*
 * Replies seen on the walk back that still wait for their question, the
 * nearest on top: a bit each, 1 for a failed reply. Deeper than 64 only
 * with many replies in a row, where the oldest are forgotten.
 */
struct reply_stack {
	uint64_t bits;
	unsigned depth;
};

/* Whether the walk back leaves this message out of the history. */
static int
history_skips(struct reply_stack *rs, const struct st_msg *m)
{
	int failed = strcmp(m->status, "failed") == 0;
	int bit;

	if (strcmp(m->role, "assistant") == 0) {
		rs->bits = rs->bits << 1 | (uint64_t)failed;
		if (rs->depth < 64)
			rs->depth++;
		return failed;
	}
	if (failed)
		return 1;
	if (strcmp(m->role, "user") != 0 || rs->depth == 0)
		return 0;
	/* A question: it goes with the nearest reply after it. */
	bit = (int)(rs->bits & 1);
	rs->bits >>= 1;
	rs->depth--;
	return bit;
}

/*
 * The newest messages of a conversation outside failed turns, oldest
 * first: at most max (0 = no limit) and at most max_bytes of encoded
 * messages. A failed turn is a "failed" message and, for a failed
 * assistant reply, the user message it answered: each reply, kept or
 * failed, pairs with the nearest earlier user message not yet paired
 * (records carry no link, so pairing is by position). Walks the conversation's keys backwards from its end, so a long
 * conversation costs what is returned, not its length; a run of
 * STORE_HISTORY_SKIP_MAX failed messages also ends the walk. *more is set
 * when the walk stopped before the start of the conversation.
 */
int
msgs_newest(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t max,
    size_t max_bytes, struct st_msg **out, uint32_t *nout, int *more)
{
	uint8_t probe[MSG_KEY_LEN];
	struct st_msg *msgs = NULL, *nm, tmp;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t used = 0, sz, cap = 0, skipped = 0;
	struct reply_stack replies = { 0, 0 };
	uint32_t n = 0, i;
	int rc;

	*more = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	/* The last key at or before (cid, UINT32_MAX). */
	msg_key(probe, cid, UINT32_MAX);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && (k.mv_size != MSG_KEY_LEN ||
	    memcmp(k.mv_data, probe, MSG_KEY_LEN) != 0))
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		if ((max != 0 && n == max) ||
		    skipped == STORE_HISTORY_SKIP_MAX) {
			*more = 1;
			break;
		}
		if (msg_rec_decode(t, &v, &tmp) < 0)
			break;
		if (history_skips(&replies, &tmp)) {
			st_msg_free(&tmp);
			skipped++;
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			continue;
		}
		skipped = 0;
		/* Its reply encoding: the record minus the version byte. */
		sz = msg_rec_size(&v);
		if (sz > max_bytes - used) {
			st_msg_free(&tmp);
			*more = 1;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nm = reallocarray(msgs, cap,
			    sizeof(*nm))) == NULL) {
				st_msg_free(&tmp);
				store_fail(t, PROTO_E_INTERNAL,
				    "out of memory");
				break;
			}
			msgs = nm;
		}
		msgs[n++] = tmp;
		used += sz;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages back");
	if (t->err) {
		for (i = 0; i < n; i++)
			st_msg_free(&msgs[i]);
		free(msgs);
		return -1;
	}
	/* Newest first so far: turn it around. */
	for (i = 0; i < n / 2; i++) {
		tmp = msgs[i];
		msgs[i] = msgs[n - 1 - i];
		msgs[n - 1 - i] = tmp;
	}
	*out = msgs;
	*nout = n;
	return 0;
}

const char *
store_chat_invalid(const char *widget, const char *session,
    const char *content, uint32_t history_max)
{
	const char *bad;
	size_t clen = strlen(content);

	if ((bad = session_invalid(widget, session)) != NULL)
		return bad;
	if (clen == 0 || clen > ST_CONTENT_MAX)
		return "content must be 1 to 65536 bytes";
	if (!proto_utf8_valid(content, clen))
		return "content is not UTF-8";
	if (history_max < 1 || history_max > ST_HISTORY_MAX)
		return "history_max must be 1 to 200";
	return NULL;
}

int
store_chat_begin(struct store_txn *t, const char *widget,
    const char *session, const char *content, uint32_t history_max,
    size_t max_bytes, struct store_chat *out)
{
	return chat_begin_contact(t, widget, session, "", content,
	    history_max, max_bytes, out);
}

int
chat_begin_contact(struct store_txn *t, const char *widget,
    const char *session, const char *contact_id, const char *content,
    uint32_t history_max, size_t max_bytes, struct store_chat *out)
{
	struct store_chat c;
	struct st_conv conv;
	uint8_t cid[ID_LEN];
	const char *bad;
	int more;

	if (t->err)
		return t->err;
	if ((bad = store_chat_invalid(widget, session, content,
	    history_max)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	memset(&c, 0, sizeof(c));
	if (conv_open_contact(t, widget, session, contact_id, &conv,
	    &c.created) != 0)
		return t->err;
	strlcpy(c.msg.conv_id, conv.id, sizeof(c.msg.conv_id));
	st_conv_free(&conv);
	strlcpy(c.msg.role, "user", sizeof(c.msg.role));
	strlcpy(c.msg.status, "complete", sizeof(c.msg.status));
	if ((c.msg.content = strdup(content)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (store_msg_append(t, &c.msg, &c.conv) != 0) {
		st_msg_free(&c.msg);
		return t->err;
	}
	/* A person answers: the model gets no history, nor the turn. */
	if (c.conv.handoff == ST_HANDOFF_HUMAN) {
		c.human = 1;
		*out = c;
		return 0;
	}
	proto_hex_decode(c.conv.id, cid, ID_LEN);
	if (msgs_newest(t, cid, history_max, max_bytes, &c.history, &c.n,
	    &more) < 0) {
		st_msg_free(&c.msg);
		st_conv_free(&c.conv);
		return t->err;
	}
	*out = c;
	return 0;
}

int
store_session_history(struct store_txn *t, const char *widget,
    const char *session, uint32_t max_messages, size_t max_bytes,
    int *found, struct store_conv_full *out)
{
	uint8_t skey[SESS_KEY_MAX], id[ID_LEN];
	struct store_conv_full f;
	size_t klen;
	int rc;

	if (t->err)
		return t->err;
	if (sess_key(t, widget, session, skey, &klen) < 0)
		return t->err;
	if ((rc = sess_find(t, skey, klen, id)) < 0)
		return t->err;
	if (rc == 1) {
		*found = 0;
		return 0;
	}
	memset(&f, 0, sizeof(f));
	if (sess_conv(t, id, &f.conv) < 0)
		return t->err;
	if (msgs_newest(t, id, max_messages, max_bytes, &f.msgs, &f.n,
	    &f.truncated) < 0) {
		st_conv_free(&f.conv);
		return t->err;
	}
	*found = 1;
	*out = f;
	return 0;
}

void
store_chat_free(struct store_chat *c)
{
	uint32_t i;

	st_conv_free(&c->conv);
	st_msg_free(&c->msg);
	for (i = 0; i < c->n; i++)
		st_msg_free(&c->history[i]);
	free(c->history);
	memset(c, 0, sizeof(*c));
}

void
store_list_free(struct store_list *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		st_conv_free(&l->convs[i]);
	free(l->convs);
	memset(l, 0, sizeof(*l));
}

void
store_conv_full_free(struct store_conv_full *f)
{
	uint32_t i;

	st_conv_free(&f->conv);
	for (i = 0; i < f->n; i++)
		st_msg_free(&f->msgs[i]);
	free(f->msgs);
	memset(f, 0, sizeof(*f));
}
