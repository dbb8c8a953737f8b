/*
 * The PDFs whose text the fetcher is to read (attstore.c queues each when
 * whole; ST_ATT_EXTRACT_DUE takes the next), served fairly across the
 * clients that sent them. Each takes up to 5 s of the fetcher's reading,
 * one at a time, and one address may send 20 an hour: served by id (as
 * they were, a random order), another visitor's one PDF waited behind all
 * of them, about 100 s. Now it waits for about one of each other client's:
 *
 *	att_queue  u64 round | u64 queued_at | id[16] -> lane
 *	att_lanes  lane -> u64 the lane's last round queued
 *
 * A lane is the client's key (ST_ATT_PUT's rate_key: its address), or, for
 * a person's file, its organisation. The queue is served in its key order:
 * round by round, each round in the order its PDFs came. A PDF goes in
 * the round after its lane's last one still waiting, or, its lane having
 * none waiting, in the round being served (the first waiting): a lane's
 * n-th waiting PDF comes after the n - 1 first of every other lane, and a
 * lane that comes later starts where the queue is, never behind a backlog
 * (nor before one for good: the rounds only go on). The lane's entry goes
 * with its last round's PDF.
 *
 * Every step is written in the request's transaction, as every record
 * is: a queued PDF outlives a crash. A deleted attachment's entry stays
 * until it is taken (ST_ATT_EXTRACT_DUE passes over it).
 */
#include <string.h>

#include "log.h"
#include "storeint.h"

#define QUEUE_KEY_LEN	(8 + 8 + ID_LEN)
#define LANE_MAX	ST_RATE_KEY_MAX

_Static_assert(ST_ORG_ID_MAX <= LANE_MAX, "an organisation is a lane");

/* The round being served: the first waiting PDF's, 0 none. 0, or -1. */
static int
round_served(struct store_txn *t, uint64_t *round, int *empty)
{
	MDB_val k, v;
	int rc;

	*round = 0;
	*empty = 1;
	if ((rc = txn_first(t, t->st->att_queue, &k, &v,
	    "read the PDFs to extract")) < 0)
		return -1;
	if (rc == 0 && k.mv_size == QUEUE_KEY_LEN) {
		*round = proto_get_be64(k.mv_data);
		*empty = 0;
	}
	return 0;
}

/* Lane's last round queued: 0 found, 1 none, -1 (t failed). */
static int
lane_last(struct store_txn *t, const char *lane, uint64_t *last)
{
	MDB_val v;
	int rc;

	*last = 0;
	if ((rc = db_get(t, t->st->att_lanes, lane, strlen(lane), &v,
	    "get PDF lane")) != 0)
		return rc;
	if (v.mv_size != 9 || ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION)
		return 1;	/* not ours: as if none */
	*last = proto_get_be64((uint8_t *)v.mv_data + 1);
	return 0;
}

static void
queue_key(uint8_t k[QUEUE_KEY_LEN], uint64_t round, uint64_t at,
    const uint8_t id[ID_LEN])
{
	proto_put_be64(k, round);
	proto_put_be64(k + 8, at);
	memcpy(k + 16, id, ID_LEN);
}

int
att_queue_put(struct store_txn *t, const uint8_t id[ID_LEN],
    const char *lane)
{
	uint8_t k[QUEUE_KEY_LEN], v[1 + LANE_MAX], lv[9];
	uint64_t served, last, round;
	size_t n = strnlen(lane, LANE_MAX);
	int empty, rc;

	last = 0;
	if (round_served(t, &served, &empty) < 0 ||
	    (rc = n > 0 ? lane_last(t, lane, &last) : 1) < 0)
		return -1;
	/* An empty queue starts again at round 0: every lane's entry went. */
	round = empty ? 0 : rc == 0 && last >= served ? last + 1 : served;
	queue_key(k, round, t->st->now(), id);
	v[0] = ST_RECORD_VERSION;
	memcpy(v + 1, lane, n);
	db_put(t, t->st->att_queue, k, sizeof(k), v, 1 + n,
	    "put attachment to extract");
	if (n > 0) {
		lv[0] = ST_RECORD_VERSION;
		proto_put_be64(lv + 1, round);
		db_put(t, t->st->att_lanes, lane, n, lv, sizeof(lv),
		    "put PDF lane");
	}
	return t->err ? -1 : 0;
}

int
att_queue_take(struct store_txn *t, uint8_t id[ID_LEN])
{
	uint8_t k[QUEUE_KEY_LEN];
	char lane[LANE_MAX + 1];
	uint64_t last;
	MDB_val kv, v;
	size_t n = 0;
	int rc;

	if ((rc = txn_first(t, t->st->att_queue, &kv, &v,
	    "walk attachments to extract")) != 0)
		return rc;
	if (kv.mv_size != QUEUE_KEY_LEN) {
		txn_lmdb(t, MDB_CORRUPTED, "walk attachments to extract");
		return -1;
	}
	memcpy(k, kv.mv_data, sizeof(k));
	if (v.mv_size > 1 && v.mv_size <= 1 + LANE_MAX)
		n = v.mv_size - 1;
	memcpy(lane, (uint8_t *)v.mv_data + 1, n);
	lane[n] = '\0';
	db_del(t, t->st->att_queue, k, sizeof(k),
	    "delete attachment to extract");
	/* Its lane's last round taken: the lane has none waiting. */
	if (n > 0 && lane_last(t, lane, &last) == 0 &&
	    last <= proto_get_be64(k))
		db_del(t, t->st->att_lanes, lane, n, "delete PDF lane");
	memcpy(id, k + 16, ID_LEN);
	return t->err ? -1 : 0;
}

/*
 * A data directory from before att_queue has its PDFs to read in
 * att_extract (id[16] -> ()): each is put in round 0, in the order they
 * had (no client known), then the old queue is emptied.
 */
static int
extract_move(struct store_txn *t, const MDB_val *k)
{
	uint8_t qk[QUEUE_KEY_LEN], v = ST_RECORD_VERSION;

	if (k->mv_size != ID_LEN)
		return 0;
	queue_key(qk, 0, 0, k->mv_data);
	db_put(t, t->st->att_queue, qk, sizeof(qk), &v, 1,
	    "put attachment to extract");
	return 1;
}

int
att_queue_init(struct store_txn *t)
{
	return db_retire_moving(t, t->st->att_extract, "att_extract",
	    "PDFs to extract into att_queue", extract_move);
}
