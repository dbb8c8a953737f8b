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

static void
log_raw(struct oplog *l, const void *p, size_t n)
{
	uint8_t *nb;
	size_t cap;

	if (l->err || n == 0)
		return;
	if (l->len + n > l->cap) {
		cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n)
			cap *= 2;
		if ((nb = realloc(l->buf, cap)) == NULL) {
			log_warn("log record of %zu bytes", l->len + n);
			l->err = 1;
			return;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void
log_u32(struct oplog *l, size_t v)
{
	uint8_t b[4];

	proto_put_be32(b, (uint32_t)v);
	log_raw(l, b, sizeof(b));
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

static void
log_op(struct store *st, int kind, MDB_dbi dbi, const void *k, size_t klen)
{
	uint8_t h[2];
	int i;

	if ((i = db_index(st, dbi)) < 0) {
		st->log.err = 1;
		return;
	}
	h[0] = (uint8_t)kind;
	h[1] = (uint8_t)i;
	log_raw(&st->log, h, sizeof(h));
	log_u32(&st->log, klen);
	log_raw(&st->log, k, klen);
}

void
oplog_put(struct store *st, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	log_op(st, OP_PUT, dbi, k, klen);
	log_u32(&st->log, vlen);
	log_raw(&st->log, v, vlen);
}

void
oplog_del(struct store *st, MDB_dbi dbi, const void *k, size_t klen)
{
	log_op(st, OP_DEL, dbi, k, klen);
}

void
oplog_drop(struct store *st, MDB_dbi dbi)
{
	log_op(st, OP_DROP, dbi, NULL, 0);
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
