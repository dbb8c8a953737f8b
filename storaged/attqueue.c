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
 * A PDF taken is leased, not dropped: a fetcher that dies reading it
 * (kill -9, a crash, a restart) never keeps its text, and the file once
 * stayed without any for good. Its lease:
 *
 *	att_leases id[16] -> u64 deadline | u8 tries | lane
 *
 * Its text kept (att_queue_done) ends it. Past the deadline
 * (ST_ATT_LEASE_MS), the next take first puts it back in its lane's turn
 * (deadline 0 then: waiting again, its tries kept), or, after
 * ST_ATT_EXTRACT_TRIES, keeps it an empty text, failed, as a PDF poppler
 * cannot read: a file that ends the fetcher every time is not read for
 * ever.
 *
 * Every step is written in the request's transaction, as every record
 * is: a queued or leased PDF outlives a crash. A deleted attachment's
 * entry stays until it is taken (ST_ATT_EXTRACT_DUE passes over it); its
 * lease goes with it (att_queue_done).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"
#include "storeint.h"

#define QUEUE_KEY_LEN	(8 + 8 + ID_LEN)
#define LANE_MAX	ST_RATE_KEY_MAX
#define LEASE_HEAD	(1 + 8 + 1)	/* version, deadline, tries */
/* Leases looked at a take: one a fetcher's death, so a few at most. */
#define LEASES_WALK	256
#define EXPIRED_MAX	8

struct lease {
	uint8_t id[ID_LEN];
	uint64_t deadline;	/* 0: back in the queue */
	uint8_t tries;
	char lane[LANE_MAX + 1];
};

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

/* How long a PDF taken is the fetcher's (the test build's may be less). */
static uint64_t
lease_ms(void)
{
	return SETTINGS_TEST_LOWER("PARLEY_TEST_ATT_LEASE_MS", ST_ATT_LEASE_MS);
}

/* The lease of id in v into l: 0, or 1 not ours (as if none). */
static int
lease_dec(const uint8_t id[ID_LEN], const MDB_val *v, struct lease *l)
{
	const uint8_t *p = v->mv_data;
	size_t n;

	memset(l, 0, sizeof(*l));
	memcpy(l->id, id, ID_LEN);
	if (v->mv_size < LEASE_HEAD || p[0] != ST_RECORD_VERSION)
		return 1;
	l->deadline = proto_get_be64(p + 1);
	l->tries = p[9];
	n = v->mv_size - LEASE_HEAD < LANE_MAX ? v->mv_size - LEASE_HEAD :
	    LANE_MAX;
	memcpy(l->lane, p + LEASE_HEAD, n);
	l->lane[n] = '\0';
	return 0;
}

/* id's lease into l: 0 found, 1 none, -1 (t failed). */
static int
lease_get(struct store_txn *t, const uint8_t id[ID_LEN], struct lease *l)
{
	MDB_val v;
	int rc;

	memset(l, 0, sizeof(*l));
	memcpy(l->id, id, ID_LEN);
	if ((rc = db_get(t, t->st->att_leases, id, ID_LEN, &v,
	    "get PDF lease")) != 0)
		return rc;
	return lease_dec(id, &v, l);
}

static void
lease_put(struct store_txn *t, const struct lease *l)
{
	uint8_t v[LEASE_HEAD + LANE_MAX];
	size_t n = strlen(l->lane);

	v[0] = ST_RECORD_VERSION;
	proto_put_be64(v + 1, l->deadline);
	v[9] = l->tries;
	memcpy(v + LEASE_HEAD, l->lane, n);
	db_put(t, t->st->att_leases, l->id, ID_LEN, v, LEASE_HEAD + n,
	    "put PDF lease");
}

/*
 * The leases past their deadline (or more than a lease ahead: the clock
 * stepped back) into out, at most EXPIRED_MAX: their number. -1 (t
 * failed).
 */
static int
leases_expired(struct store_txn *t, struct lease *out)
{
	uint64_t now = t->st->now(), ms = lease_ms();
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, n = 0, walked = 0;

	if ((cur = txn_seek(t, t->st->att_leases, NULL, 0, &k, &v,
	    &rc)) == NULL)
		return -1;
	for (; rc == 0 && n < EXPIRED_MAX && walked < LEASES_WALK;
	    walked++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == ID_LEN && lease_dec(k.mv_data, &v,
		    &out[n]) == 0 && out[n].deadline != 0 &&
		    (out[n].deadline <= now || out[n].deadline > now + ms))
			n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "walk the PDF leases");
		return -1;
	}
	return n;
}

/*
 * The leases past their deadline ended: each PDF back in its lane's
 * turn, or, tried ST_ATT_EXTRACT_TRIES times, kept with an empty text
 * (unreadable); a deleted one's lease dropped. 0, or -1 (t failed).
 */
static int
leases_end(struct store_txn *t)
{
	struct lease l[EXPIRED_MAX];
	char hex[2 * ID_LEN + 1];
	MDB_val v;
	int i, n, rc;

	if ((n = leases_expired(t, l)) < 0)
		return -1;
	for (i = 0; i < n && !t->err; i++) {
		if ((rc = db_get(t, t->st->atts, l[i].id, ID_LEN, &v,
		    "get attachment")) < 0)
			return -1;
		proto_hex_encode(l[i].id, ID_LEN, hex);
		if (rc == 0 && l[i].tries < ST_ATT_EXTRACT_TRIES) {
			log_info("attachments: att_%s: its text not kept in "
			    "time (try %u): queued again", hex, l[i].tries);
			if (att_queue_put(t, l[i].id, l[i].lane) < 0)
				return -1;
			l[i].deadline = 0;
			lease_put(t, &l[i]);
			continue;
		}
		if (rc == 0) {
			log_warnx("attachments: att_%s: given up after %u "
			    "tries, its reader ended each time: unreadable",
			    hex, l[i].tries);
			/* Failed, not read: its text_status says so. */
			if (att_text_keep(t, l[i].id, "",
			    ST_ATT_TEXT_FAILED) < 0)
				return -1;
		} else
			db_del(t, t->st->att_leases, l[i].id, ID_LEN,
			    "delete PDF lease");
	}
	return t->err ? -1 : 0;
}

int
att_queue_take(struct store_txn *t, uint8_t id[ID_LEN], uint8_t *attempt)
{
	uint8_t k[QUEUE_KEY_LEN];
	char lane[LANE_MAX + 1];
	struct lease l;
	uint64_t last;
	MDB_val kv, v;
	size_t n = 0;
	int rc;

	if (leases_end(t) < 0)
		return -1;
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
	/* Leased: a try more than it had (its lease kept while it waited). */
	if ((rc = lease_get(t, id, &l)) < 0)
		return -1;
	l.tries = rc == 0 ? l.tries + 1 : 1;	/* at most ST_ATT_EXTRACT_TRIES */
	l.deadline = t->st->now() + lease_ms();
	memcpy(l.lane, lane, n + 1);
	lease_put(t, &l);
	*attempt = l.tries;
	return t->err ? -1 : 0;
}

void
att_queue_done(struct store_txn *t, const uint8_t id[ID_LEN])
{
	db_del_quiet(t, t->st->att_leases, id, ID_LEN, "delete PDF lease");
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
