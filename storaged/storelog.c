/*
 * What a write batch changed, as the body of a write-ahead log record
 * (wal.h), and its replay into LMDB. storaged makes ids and times itself,
 * so the log keeps effects, not requests: every put, delete and emptied
 * database, in order, with their keys and values. Replaying them onto the
 * state of the last checkpoint gives back the state after the record.
 *
 * An operation: u8 kind, u8 database (its place in store_dbs[]), u32 key
 * length, the key, and for a put u32 value length and the value; integers
 * big-endian.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storeint.h"
#include "util.h"

enum { OP_PUT = 1, OP_DEL = 2, OP_DROP = 3 };

/*
 * Room for n more bytes at the end of l's record: where they go (the
 * caller counts them in), or NULL with l failed or already so.
 */
static uint8_t *
log_room(struct oplog *l, size_t n)
{
	uint8_t *nb;
	size_t cap;

	if (l->err)
		return NULL;
	if (l->len + n > l->cap) {
		cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n)
			cap *= 2;
		if ((nb = realloc(l->buf, cap)) == NULL) {
			log_warn("log record of %zu bytes", l->len + n);
			l->err = 1;
			return NULL;
		}
		l->buf = nb;
		l->cap = cap;
	}
	return l->buf + l->len;
}

/* The database's place in store_dbs[], or -1 (a bug: logged). */
static int
db_index(const struct store *st, MDB_dbi dbi)
{
	if (dbi < sizeof(st->db_place) && st->db_place[dbi] != 0)
		return st->db_place[dbi] - 1;
	log_warnx("log: database handle %u is not ours", (unsigned)dbi);
	return -1;
}

/*
 * An operation, its value v (vlen bytes) a put's alone: written whole
 * with one check for room (a turn logs some fifteen).
 */
static void
log_op(struct store *st, int kind, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	size_t n = 2 + 4 + klen + (kind == OP_PUT ? 4 + vlen : 0);
	uint8_t *p;
	int i;

	if ((i = db_index(st, dbi)) < 0) {
		st->log.err = 1;
		return;
	}
	if ((p = log_room(&st->log, n)) == NULL)
		return;
	p[0] = (uint8_t)kind;
	p[1] = (uint8_t)i;
	proto_put_be32(p + 2, (uint32_t)klen);
	if (klen > 0)
		memcpy(p + 6, k, klen);
	if (kind == OP_PUT) {
		proto_put_be32(p + 6 + klen, (uint32_t)vlen);
		if (vlen > 0)
			memcpy(p + 10 + klen, v, vlen);
	}
	st->log.len += n;
}

void
oplog_put(struct store *st, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	log_op(st, OP_PUT, dbi, k, klen, v, vlen);
}

void
oplog_del(struct store *st, MDB_dbi dbi, const void *k, size_t klen)
{
	log_op(st, OP_DEL, dbi, k, klen, NULL, 0);
}

void
oplog_drop(struct store *st, MDB_dbi dbi)
{
	log_op(st, OP_DROP, dbi, NULL, 0, NULL, 0);
}

void
oplog_clear(struct oplog *l)
{
	l->len = 0;
	l->err = 0;
}

void
oplog_free(struct oplog *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

int
oplog_apply(struct store *st, MDB_txn *txn, const uint8_t *body, size_t len)
{
	struct pdec d;
	MDB_val k, v;
	uint8_t kind, db;
	int rc;

	pdec_init(&d, body, len);
	while (d.off < d.len) {
		kind = pdec_u8(&d);
		db = pdec_u8(&d);
		k.mv_data = (void *)pdec_bytes(&d, &k.mv_size);
		if (kind == OP_PUT)
			v.mv_data = (void *)pdec_bytes(&d, &v.mv_size);
		if (d.err || db >= NDBS)
			return -1;
		switch (kind) {
		case OP_PUT:
			rc = mdb_put(txn, *store_dbi(st, db), &k, &v, 0);
			break;
		case OP_DEL:
			rc = mdb_del(txn, *store_dbi(st, db), &k, NULL);
			break;
		case OP_DROP:
			rc = mdb_drop(txn, *store_dbi(st, db), 0);
			break;
		default:
			return -1;
		}
		if (rc != 0) {
			log_warnx("log replay: %s", mdb_strerror(rc));
			return -1;
		}
	}
	return 0;
}
