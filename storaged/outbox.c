/*
 * The webhooks' outbox (see STORAGE.md, outbox.h):
 *
 *	deliveries       u64 seq -> delivery (its rows, ST_DELIVERY_ROWS, with
 *	                 its payload)
 *	hook_due         hook id | u64 next_at | u64 seq -> (): a webhook's
 *	                 pending ones, soonest due first
 *	due_hooks        u64 next_at | hook id -> (): each webhook with a
 *	                 pending delivery, at its soonest next_at
 *	hook_deliveries  hook id | u64 seq -> (): a webhook's, oldest first
 *	hook_counts      hook id -> u32 pending, u32 kept
 *	conv_deliveries  conversation id[16] | u64 seq -> (): the deliveries
 *	                 of an event of a conversation
 *	contact_deliveries contact id[16] | u64 seq -> (): the deliveries of
 *	                 a contact's event (contact.created: its details)
 *	meta "dlv_seq"   the last seq given
 *
 * A delivery is written in the transaction of the event that causes it,
 * so either both are stored or neither. The notifier leases what is due
 * (next_at moves its lease_ms ahead), a few of each webhook at a time
 * (the webhooks soonest due first: a backlog on one never hides another's
 * due deliveries) and no more of an organisation than its share of the
 * notifier's slots (per_org, against what the notifier says it holds of
 * each organisation: one organisation's slow receivers never hold every
 * slot; each webhook looked at costs a read of its record for its org),
 * and answers each; one it never
 * answers is due again when the lease ends. A webhook keeps at most
 * ST_HOOK_PENDING_MAX pending (past it, its oldest pending fails) and
 * ST_HOOK_LOG_MAX finished ones (the oldest go as others finish). A
 * conversation deleted takes its deliveries' payloads (dlv_erase): its
 * pending ones fail, and none can be retried; so does a contact deleted,
 * erased or not, its own events' (outbox_contact_gone), and its
 * conversations kept have their deliveries name the made-up visitor
 * instead of it (outbox_conv_unlinked).
 *
 * Every value starts with ST_RECORD_VERSION.
 */
#include <stdlib.h>
#include <string.h>

#include "hookstore.h"
#include "log.h"
#include "outbox.h"
#include "storeint.h"

#define SEQ_KEY		"dlv_seq"
#define HDUE_KEY_LEN	(ST_HOOK_ID_LEN + 16)
#define DH_KEY_LEN	(8 + ST_HOOK_ID_LEN)
#define HD_KEY_LEN	(ST_HOOK_ID_LEN + 8)
#define COUNTS_LEN	(1 + 4 + 4)
#define CONV_KEY_LEN	(ID_LEN + 8)	/* conversation id | u64 seq */
/* meta: conv_deliveries holds the deliveries stored before it. */
#define CD_META		"conv_deliveries_filled"
/* meta: contact_deliveries holds the deliveries stored before it. */
#define KD_META		"contact_deliveries_filled"
/*
 * A delivery erased with its conversation, or its contact: its
 * last_error; a retry's answer.
 */
#define DLV_ERASED_ERROR	"conversation deleted"
#define DLV_ERASED_CONTACT	"contact deleted"
#define DLV_ERASED	"delivery erased: its conversation or contact was " \
	"deleted"
/* Finished deliveries a webhook's log trim looks at, at most. */
#define TRIM_SCAN	64

static void
due_key(uint8_t k[OUTQ_DUE_KEY_LEN], uint64_t at, uint64_t seq)
{
	proto_put_be64(k, at);
	proto_put_be64(k + 8, seq);
}

static void
hdue_key(uint8_t k[HDUE_KEY_LEN], const char *hook, uint64_t at,
    uint64_t seq)
{
	memcpy(k, hook, ST_HOOK_ID_LEN);
	proto_put_be64(k + ST_HOOK_ID_LEN, at);
	proto_put_be64(k + ST_HOOK_ID_LEN + 8, seq);
}

static void
dh_key(uint8_t k[DH_KEY_LEN], uint64_t at, const char *hook)
{
	proto_put_be64(k, at);
	memcpy(k + 8, hook, ST_HOOK_ID_LEN);
}

/* ------------------------------------------- shared with mailbox.c */

void
outq_due_move(struct store_txn *t, MDB_dbi due, uint64_t seq, uint64_t from,
    uint64_t to, const char *org)
{
	uint8_t dk[OUTQ_DUE_KEY_LEN], val[1 + ST_ORG_ID_MAX];
	size_t n = strnlen(org, ST_ORG_ID_MAX);

	if (from != 0) {
		due_key(dk, from, seq);
		db_del(t, due, dk, sizeof(dk), "delete due entry");
	}
	if (to != 0) {
		due_key(dk, to, seq);
		val[0] = ST_RECORD_VERSION;
		memcpy(val + 1, org, n);
		db_put(t, due, dk, sizeof(dk), val, 1 + n, "put due entry");
	}
}

uint64_t
outq_seq_next(struct store_txn *t, const char *key)
{
	uint8_t rec[9];
	uint64_t seq = 0;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, key, strlen(key), &v,
	    "get outbox seq")) < 0)
		return 0;
	if (rc == 0) {
		if (v.mv_size != sizeof(rec) ||
		    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
			rec_corrupt(t, key);
			return 0;
		}
		seq = proto_get_be64((uint8_t *)v.mv_data + 1);
	}
	seq++;
	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, seq);
	db_put(t, t->st->meta, key, strlen(key), rec, sizeof(rec),
	    "put outbox seq");
	return t->err ? 0 : seq;
}

int
outq_prefix_seqs(struct store_txn *t, MDB_dbi index, const void *prefix,
    size_t plen, uint64_t *seqs, uint32_t max, uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, index, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < max && k.mv_size == plen + 8 &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		seqs[(*n)++] = proto_get_be64((uint8_t *)k.mv_data + plen);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "walk an outbox index");
		return -1;
	}
	return 0;
}

/* ------------------ a conversation's, a contact's: shared with mailbox.c */

int
outq_payload_id(int (*id_of)(const void *, size_t, char *),
    const void *payload, size_t len, uint8_t id[ID_LEN])
{
	char hex[ST_ID_HEX + 1];

	/* None when it tells of no such id (erased, or another event). */
	if (len == 0 || id_of(payload, len, hex) < 0 ||
	    proto_hex_decode(hex, id, ID_LEN) < 0)
		return -1;
	return 0;
}

void
outq_id_set(struct store_txn *t, MDB_dbi index,
    int (*id_of)(const void *, size_t, char *), const void *payload,
    size_t len, uint64_t seq, int on)
{
	uint8_t k[CONV_KEY_LEN];

	if (outq_payload_id(id_of, payload, len, k) < 0)
		return;
	proto_put_be64(k + ID_LEN, seq);
	if (on)
		db_mark(t, index, k, sizeof(k), "put outbox index entry");
	else
		db_del_quiet(t, index, k, sizeof(k),
		    "delete outbox index entry");
}

void
outq_conv_take(struct store_txn *t, MDB_dbi index, const uint8_t id[16],
    void (*take)(struct store_txn *, uint64_t seq))
{
	uint64_t seqs[TRIM_SCAN];
	uint8_t k[CONV_KEY_LEN];
	uint32_t n, i;

	memcpy(k, id, ID_LEN);
	/* A batch at a time: each take changes the trees the walk reads. */
	while (outq_prefix_seqs(t, index, id, ID_LEN, seqs, TRIM_SCAN,
	    &n) == 0 && n > 0)
		for (i = 0; i < n && !t->err; i++) {
			proto_put_be64(k + ID_LEN, seqs[i]);
			db_del_quiet(t, index, k, sizeof(k),
			    "delete outbox index entry");
			take(t, seqs[i]);
		}
}

int
outq_conv_fill(struct store_txn *t, MDB_dbi recs, const char *meta,
    void (*each)(struct store_txn *, uint64_t seq), const char *what,
    const char *by)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = db_get(t, t->st->meta, meta, strlen(meta), &v,
	    "get a conversation index's mark")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = mdb_cursor_open(t->txn, recs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && !t->err) {
		if (k.mv_size == 8) {
			each(t, proto_get_be64(k.mv_data));
			n++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (t->err)
		return t->err;
	if (rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk an outbox");
	db_mark(t, t->st->meta, meta, strlen(meta),
	    "put a conversation index's mark");
	if (n > 0)
		log_info("%zu %s listed by %s", n, what, by);
	return t->err;
}

static void
hd_key(uint8_t k[HD_KEY_LEN], const char *hook, uint64_t seq)
{
	memcpy(k, hook, ST_HOOK_ID_LEN);
	proto_put_be64(k + ST_HOOK_ID_LEN, seq);
}

/* ------------------------------------------------------------- records */

static void
dlv_save(struct store_txn *t, uint64_t seq, const struct st_delivery *d)
{
	uint8_t k[8];
	struct penc e;

	proto_put_be64(k, seq);
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_delivery(&e, d);
	rec_put(t, t->st->deliveries, k, sizeof(k), &e, "put delivery");
	penc_free(&e);
}

/* 0 loaded, 1 absent, -1 error. */
static int
dlv_load(struct store_txn *t, uint64_t seq, struct st_delivery *d)
{
	struct pdec dec;
	uint8_t k[8];
	int rc;

	memset(d, 0, sizeof(*d));
	proto_put_be64(k, seq);
	if ((rc = rec_get(t, t->st->deliveries, k, sizeof(k), &dec,
	    "get delivery")) != 0)
		return rc;
	if (pdec_delivery(&dec, d) < 0 || dec.off != dec.len) {
		st_delivery_free(d);
		rec_corrupt(t, "delivery");
		return -1;
	}
	/* Its id is its number's (one stored before: an older spelling). */
	if (store_seq_show(t, ST_DLV_PREFIX, seq, d->id) != 0) {
		st_delivery_free(d);
		return -1;
	}
	return 0;
}

/*
 * A conversation's index walked without taking its entries: each(t, seq,
 * arg) for every seq listed under id, lowest first, a batch at a time
 * (each may rewrite the records, never the index).
 */
void
outq_conv_each(struct store_txn *t, MDB_dbi index, const uint8_t id[16],
    void (*each)(struct store_txn *, uint64_t seq, const char *arg),
    const char *arg)
{
	uint64_t seqs[TRIM_SCAN];
	uint8_t k[CONV_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, v;
	uint32_t n, i;
	int rc;

	memcpy(k, id, ID_LEN);
	proto_put_be64(k + ID_LEN, 0);
	do {
		n = 0;
		if (t->err)
			return;
		if ((rc = mdb_cursor_open(t->txn, index, &cur)) != 0) {
			txn_lmdb(t, rc, "cursor");
			return;
		}
		key.mv_size = sizeof(k);
		key.mv_data = k;
		rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
		while (rc == 0 && n < TRIM_SCAN && key.mv_size ==
		    sizeof(k) && memcmp(key.mv_data, id, ID_LEN) == 0) {
			seqs[n++] = proto_get_be64((uint8_t *)key.mv_data +
			    ID_LEN);
			rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			txn_lmdb(t, rc, "walk an outbox index");
			return;
		}
		for (i = 0; i < n && !t->err; i++)
			each(t, seqs[i], arg);
		/* The next batch starts past the last seq seen. */
		if (n > 0)
			proto_put_be64(k + ID_LEN, seqs[n - 1] + 1);
	} while (n == TRIM_SCAN && seqs[n - 1] != UINT64_MAX);
}

int
outq_event_unname(struct store_txn *t, uint8_t **payload, uint32_t *len,
    const char *contact)
{
	struct st_event ev;
	struct penc e;
	int rc = 0;

	if (*len == 0 || st_req_decode(PROTO_ST_EV, *payload, *len, &ev) < 0)
		return 0;
	if (strcmp(ev.conv.contact_id, contact) == 0) {
		st_visitor_name_gen(ev.conv.session, ev.conv.visitor_name,
		    sizeof(ev.conv.visitor_name));
		penc_init(&e);
		(void)st_req_encode(&e, PROTO_ST_EV, &ev);
		if (e.err) {
			penc_free(&e);
			store_fail(t, PROTO_E_INTERNAL, "event does not encode");
			rc = -1;
		} else {
			free(*payload);
			*payload = e.buf;	/* the record's now */
			*len = (uint32_t)e.len;
			rc = 1;
		}
	}
	st_event_free(&ev);
	return rc;
}

/* ----------------------------------------------------------------- due */

/*
 * The soonest next_at of hook's pending deliveries: 0 (*at set), 1 none,
 * or -1 with t failed.
 */
static int
hook_soonest(struct store_txn *t, const char *hook, uint64_t *at)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->hook_due, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	k.mv_size = ST_HOOK_ID_LEN;
	k.mv_data = (void *)(uintptr_t)hook;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == HDUE_KEY_LEN &&
	    memcmp(k.mv_data, hook, ST_HOOK_ID_LEN) == 0)
		*at = proto_get_be64((uint8_t *)k.mv_data + ST_HOOK_ID_LEN);
	else if (rc == 0 || rc == MDB_NOTFOUND)
		rc = 1;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != 1) {
		txn_lmdb(t, rc, "walk due deliveries");
		return -1;
	}
	return rc;
}

/*
 * hook's entry in due_hooks moves from was (had: 0 there was one) to
 * now_at (has: 0 there is one).
 */
static void
dh_move(struct store_txn *t, const char *hook, int had, uint64_t was,
    int has, uint64_t now_at)
{
	uint8_t k[DH_KEY_LEN];

	if (had == 0 && has == 0 && was == now_at)
		return;
	if (had == 0) {
		dh_key(k, was, hook);
		db_del(t, t->st->due_hooks, k, sizeof(k), "delete due webhook");
	}
	if (has == 0) {
		dh_key(k, now_at, hook);
		db_mark(t, t->st->due_hooks, k, sizeof(k), "put due webhook");
	}
}

/*
 * Delivery seq of hook is due at at (on), or is due at at no more (!on);
 * due_hooks follows the webhook's soonest. Only a removal of the soonest
 * looks the new one up: a put's is the smaller of the two.
 */
static void
due_set(struct store_txn *t, const char *hook, uint64_t at, uint64_t seq,
    int on)
{
	uint8_t k[HDUE_KEY_LEN];
	uint64_t was = 0, now_at = at;
	int had, has = 0;

	if ((had = hook_soonest(t, hook, &was)) < 0)
		return;
	hdue_key(k, hook, at, seq);
	if (on) {
		db_mark(t, t->st->hook_due, k, sizeof(k), "put due delivery");
		if (had == 0 && was < at)
			now_at = was;
	} else {
		db_del(t, t->st->hook_due, k, sizeof(k),
		    "delete due delivery");
		if (had == 0 && at > was)
			now_at = was;
		else if ((has = hook_soonest(t, hook, &now_at)) < 0)
			return;
	}
	dh_move(t, hook, had, was, has, now_at);
}

static void
due_put(struct store_txn *t, const char *hook, uint64_t at, uint64_t seq)
{
	due_set(t, hook, at, seq, 1);
}

static void
due_del(struct store_txn *t, const char *hook, uint64_t at, uint64_t seq)
{
	due_set(t, hook, at, seq, 0);
}

/* A webhook's counts: pending and kept (0, 0 when it has none). */
static int
counts_get(struct store_txn *t, const char *hook, uint32_t *pending,
    uint32_t *kept)
{
	MDB_val v;
	int rc;

	*pending = *kept = 0;
	if ((rc = db_get(t, t->st->hook_counts, hook, ST_HOOK_ID_LEN, &v,
	    "get delivery counts")) != 0)
		return rc < 0 ? -1 : 0;
	if (v.mv_size != COUNTS_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "delivery counts");
		return -1;
	}
	*pending = proto_get_be32((uint8_t *)v.mv_data + 1);
	*kept = proto_get_be32((uint8_t *)v.mv_data + 5);
	return 0;
}

static void
counts_put(struct store_txn *t, const char *hook, uint32_t pending,
    uint32_t kept)
{
	uint8_t v[COUNTS_LEN];

	if (kept == 0) {
		db_del_quiet(t, t->st->hook_counts, hook, ST_HOOK_ID_LEN,
		    "delete delivery counts");
		return;
	}
	v[0] = ST_RECORD_VERSION;
	proto_put_be32(v + 1, pending);
	proto_put_be32(v + 5, kept);
	db_put(t, t->st->hook_counts, hook, ST_HOOK_ID_LEN, v, sizeof(v),
	    "put delivery counts");
}

/*
 * d (stored under seq) is in its contact's deliveries (on), or not: a
 * contact event's, while it has its payload.
 */
static void
kd_set(struct store_txn *t, const struct st_delivery *d, uint64_t seq,
    int on)
{
	if (d->event == ST_HE_CONTACT_CREATED)
		outq_id_set(t, t->st->contact_deliveries, pdec_event_contact,
		    d->payload, d->payload_len, seq, on);
}

/*
 * d (stored under seq) is in its conversation's deliveries and its
 * contact's (on), or in neither.
 */
static void
cd_set(struct store_txn *t, const struct st_delivery *d, uint64_t seq,
    int on)
{
	if (d->event == ST_HE_TEST)
		return;
	outq_id_set(t, t->st->conv_deliveries, pdec_event_conv, d->payload,
	    d->payload_len, seq, on);
	kd_set(t, d, seq, on);
}

/* Removes a delivery and its entries (d as stored, seq its key). */
static void
dlv_remove(struct store_txn *t, uint64_t seq, const struct st_delivery *d)
{
	uint8_t k[8], hk[HD_KEY_LEN];

	proto_put_be64(k, seq);
	db_del(t, t->st->deliveries, k, sizeof(k), "delete delivery");
	if (d->status == ST_DLV_PENDING)
		due_del(t, d->hook, d->next_at, seq);
	hd_key(hk, d->hook, seq);
	db_del(t, t->st->hook_deliveries, hk, sizeof(hk),
	    "delete webhook delivery");
	cd_set(t, d, seq, 0);
}

/*
 * The seqs of hook's oldest deliveries, oldest first, at most max: *n.
 * 0, or -1 with t failed.
 */
static int
hook_oldest(struct store_txn *t, const char *hook, uint64_t *seqs,
    uint32_t max, uint32_t *n)
{
	return outq_prefix_seqs(t, t->st->hook_deliveries, hook,
	    ST_HOOK_ID_LEN, seqs, max, n);
}

/* ---------------------------------------------------------------- trim */

/*
 * The webhook's oldest finished deliveries go while it keeps more than
 * ST_HOOK_LOG_MAX finished ones, looking at TRIM_SCAN keys at most.
 */
static void
log_trim(struct store_txn *t, const char *hook)
{
	struct st_delivery d;
	uint64_t seqs[TRIM_SCAN];
	uint32_t pending, kept, n, i, drop;

	if (counts_get(t, hook, &pending, &kept) < 0 ||
	    kept - pending <= ST_HOOK_LOG_MAX)
		return;
	drop = kept - pending - ST_HOOK_LOG_MAX;
	if (hook_oldest(t, hook, seqs, TRIM_SCAN, &n) < 0)
		return;
	for (i = 0; i < n && drop > 0 && !t->err; i++) {
		if (dlv_load(t, seqs[i], &d) != 0)
			break;
		if (d.status != ST_DLV_PENDING) {
			dlv_remove(t, seqs[i], &d);
			kept--;
			drop--;
		}
		st_delivery_free(&d);
	}
	counts_put(t, hook, pending, kept);
}

/* ------------------------------------------------------------- finish */

/*
 * d (stored under seq, pending) ended as status: its due entry goes, the
 * counts follow, and its webhook's failures when counted.
 */
static void
dlv_end(struct store_txn *t, uint64_t seq, struct st_delivery *d,
    uint8_t status, int counted)
{
	uint32_t pending, kept;

	due_del(t, d->hook, d->next_at, seq);
	d->status = status;
	d->updated_at = t->st->now();
	dlv_save(t, seq, d);
	if (counts_get(t, d->hook, &pending, &kept) == 0)
		counts_put(t, d->hook, pending > 0 ? pending - 1 : 0, kept);
	if (counted)
		store_hook_outcome(t, d->hook, status == ST_DLV_DELIVERED);
	log_trim(t, d->hook);
}

/* d (stored under seq, pending) finished: delivered, or failed. */
static void
dlv_finish(struct store_txn *t, uint64_t seq, struct st_delivery *d,
    uint8_t status)
{
	dlv_end(t, seq, d, status, d->event != ST_HE_TEST);
}

/* ---------------------------------------------------------------- add */

/*
 * The webhook's oldest pending delivery fails: it holds too many. It is
 * among its oldest ST_HOOK_LOG_MAX + 1: no more finished ones are kept.
 */
#define OLDEST_SCAN	(ST_HOOK_LOG_MAX + 1)

static void
fail_oldest(struct store_txn *t, const char *hook)
{
	struct st_delivery d;
	uint64_t *seqs;
	uint32_t n, i;
	int done = 0;

	if ((seqs = calloc(OLDEST_SCAN, sizeof(*seqs))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if (hook_oldest(t, hook, seqs, OLDEST_SCAN, &n) == 0)
		for (i = 0; i < n && !done && !t->err; i++) {
			if (dlv_load(t, seqs[i], &d) != 0)
				break;
			if (d.status == ST_DLV_PENDING) {
				strlcpy(d.error, "too many pending deliveries",
				    sizeof(d.error));
				dlv_finish(t, seqs[i], &d, ST_DLV_FAILED);
				done = 1;
			}
			st_delivery_free(&d);
		}
	free(seqs);
}

/* A new pending delivery of event for webhook h, due now; out: it. */
static void
dlv_add(struct store_txn *t, const struct st_webhook *h, uint32_t event,
    const void *payload, size_t len, struct st_delivery *out)
{
	uint8_t hk[HD_KEY_LEN];
	struct st_delivery d;
	uint32_t pending, kept;
	uint64_t seq;

	if (counts_get(t, h->id, &pending, &kept) < 0 ||
	    (seq = outq_seq_next(t, SEQ_KEY)) == 0)
		return;
	memset(&d, 0, sizeof(d));
	if (store_seq_show(t, ST_DLV_PREFIX, seq, d.id) != 0)
		return;
	strlcpy(d.hook, h->id, sizeof(d.hook));
	strlcpy(d.org, h->org, sizeof(d.org));
	d.event = event;
	d.status = ST_DLV_PENDING;
	d.created_at = d.next_at = d.updated_at = t->st->now();
	d.payload = (uint8_t *)payload;		/* not ours: not freed */
	d.payload_len = (uint32_t)len;
	dlv_save(t, seq, &d);
	cd_set(t, &d, seq, 1);
	due_put(t, h->id, d.next_at, seq);
	hd_key(hk, h->id, seq);
	db_mark(t, t->st->hook_deliveries, hk, sizeof(hk),
	    "put webhook delivery");
	counts_put(t, h->id, pending + 1, kept + 1);
	if (pending + 1 > ST_HOOK_PENDING_MAX)
		fail_oldest(t, h->id);
	if (out != NULL && !t->err) {
		*out = d;
		out->payload = NULL;
		out->payload_len = 0;
	}
}

int
store_outbox_event(struct store_txn *t, const char *org, uint32_t event,
    const void *payload, size_t len)
{
	struct st_webhook *hs;
	uint32_t n, i;

	if (t->err || event == 0)
		return t->err;
	if (store_org_hooks(t, org, &hs, &n) != 0)
		return t->err;
	for (i = 0; i < n && !t->err; i++)
		if (hs[i].enabled && (hs[i].events & event))
			dlv_add(t, &hs[i], event, payload, len, NULL);
	store_hooks_free(hs, n);
	return t->err;
}

/* --------------------------------------------------------------- lease */

/* Delivery seq of hook, due at at, is due at to instead. */
static void
due_move(struct store_txn *t, const char *hook, uint64_t at, uint64_t seq,
    uint64_t to)
{
	due_del(t, hook, at, seq);
	due_put(t, hook, to, seq);
}

/*
 * Takes d (loaded, pending, under seq) as a job: leased; 0, or 1 skip.
 * One of a webhook deleted or disabled fails unsent, not counted among
 * the webhook's failures: its receiver did not fail it.
 */
static int
job_take(struct store_txn *t, uint64_t seq, struct st_delivery *d,
    uint64_t lease_end, struct st_hook_job *j)
{
	struct st_webhook h;
	int rc;

	if ((rc = store_hook_load(t, d->hook, &h)) < 0)
		return 1;
	if (rc == 1 || !h.enabled) {
		strlcpy(d->error, rc == 1 ? "webhook deleted" :
		    "webhook disabled", sizeof(d->error));
		if (rc == 0)
			st_webhook_free(&h);
		dlv_end(t, seq, d, ST_DLV_FAILED, 0);
		return 1;
	}
	due_move(t, d->hook, d->next_at, seq, lease_end);
	d->next_at = lease_end;
	dlv_save(t, seq, d);
	j->d = *d;
	memset(d, 0, sizeof(*d));	/* j owns its payload now */
	j->url = h.url;
	h.url = NULL;
	strlcpy(j->secret, h.secret, sizeof(j->secret));
	if (h.old_until > t->st->now())	/* a rotated one still signs */
		strlcpy(j->old_secret, h.old_secret, sizeof(j->old_secret));
	st_webhook_free(&h);
	return t->err ? 1 : 0;
}

/* How many of hook's deliveries q lets the notifier take. */
static uint32_t
hook_room(const struct st_hook_due_req *q, const char *hook)
{
	uint32_t i;

	for (i = 0; i < q->nheld; i++)
		if (strcmp(q->held[i].hook, hook) == 0)
			return q->held[i].room;
	return q->per_hook;
}

/*
 * Up to room seqs of hook's deliveries due at now, soonest first,
 * appended to seqs (*ns of at most max); 1 when some due ones are left.
 */
static int
hook_due_seqs(struct store_txn *t, const char *hook, uint64_t now,
    uint32_t room, uint64_t *seqs, uint32_t *ns, uint32_t max)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t taken = 0;
	int rc, left = 0;

	if ((rc = mdb_cursor_open(t->txn, t->st->hook_due, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), 0;
	k.mv_size = ST_HOOK_ID_LEN;
	k.mv_data = (void *)(uintptr_t)hook;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == HDUE_KEY_LEN &&
	    memcmp(k.mv_data, hook, ST_HOOK_ID_LEN) == 0 &&
	    proto_get_be64((uint8_t *)k.mv_data + ST_HOOK_ID_LEN) <= now) {
		if (taken == room || *ns == max) {
			left = 1;
			break;
		}
		seqs[(*ns)++] = proto_get_be64((uint8_t *)k.mv_data +
		    ST_HOOK_ID_LEN + 8);
		taken++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk due deliveries");
	return left;
}

/*
 * An organisation's share in one ST_HOOK_DUE: what the notifier holds
 * of it (q->orgs) and what this answer took. Each webhook looked at
 * adds at most one entry, so look + norgs entries are enough.
 */
struct org_use {
	char org[ST_WHO_ORG_MAX + 1];
	uint32_t used;
};
struct org_tally {
	struct org_use *u;
	uint32_t n, cap;
};

/* The tally of q's orgs, room for more entries: 0, or -1 (t failed). */
static int
tally_init(struct store_txn *t, const struct st_hook_due_req *q,
    uint32_t more, struct org_tally *ot)
{
	uint32_t i;

	ot->n = 0;
	ot->cap = q->norgs + more;
	if ((ot->u = calloc(ot->cap, sizeof(*ot->u))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	for (i = 0; i < q->norgs; i++) {
		strlcpy(ot->u[i].org, q->orgs[i].org, sizeof(ot->u[i].org));
		ot->u[i].used = q->orgs[i].held;
	}
	ot->n = q->norgs;
	return 0;
}

/* org's entry, added at 0 when new; NULL only past the cap (cannot be). */
static struct org_use *
tally_of(struct org_tally *ot, const char *org)
{
	uint32_t i;

	for (i = 0; i < ot->n; i++)
		if (strcmp(ot->u[i].org, org) == 0)
			return &ot->u[i];
	if (ot->n == ot->cap)
		return NULL;
	strlcpy(ot->u[ot->n].org, org, sizeof(ot->u[ot->n].org));
	ot->u[ot->n].used = 0;
	return &ot->u[ot->n++];
}

/*
 * hook's organisation's entry in ot (one record read), or NULL: no share
 * to keep (none asked, the webhook gone: job_take fails its deliveries).
 */
static struct org_use *
hook_org(struct store_txn *t, const struct st_hook_due_req *q,
    struct org_tally *ot, const char *hook)
{
	struct st_webhook h;
	struct org_use *u;

	if (q->per_org == 0 || store_hook_load(t, hook, &h) != 0)
		return NULL;
	u = tally_of(ot, h.org);
	st_webhook_free(&h);
	return u;
}

/*
 * The webhooks to look at: with a share, the webhooks of organisations
 * at it are passed by as well, at most ST_HOOKS_MAX of each such
 * organisation, and at most (held + max) / per_org of them can be.
 */
static uint32_t
due_look(const struct st_hook_due_req *q)
{
	uint32_t look = q->max + q->nheld + 1, held = 0, i;

	if (q->per_org == 0)
		return look;
	for (i = 0; i < q->norgs; i++)
		held += q->orgs[i].held;
	return look + (held + q->max) / q->per_org * ST_HOOKS_MAX;
}

/*
 * hook's due seqs within its room and its organisation's share (its
 * record read only when it has room); 1 when some due ones are left.
 */
static int
hook_take(struct store_txn *t, const struct st_hook_due_req *q,
    struct org_tally *ot, const char *hook, uint64_t now, uint64_t *seqs,
    uint32_t *ns)
{
	struct org_use *u = NULL;
	uint32_t room = hook_room(q, hook), before = *ns;
	int left;

	if (room > 0 && (u = hook_org(t, q, ot, hook)) != NULL) {
		if (u->used >= q->per_org)
			return 1;
		if (room > q->per_org - u->used)
			room = q->per_org - u->used;
	}
	if (t->err)
		return 0;
	left = hook_due_seqs(t, hook, now, room, seqs, ns, q->max);
	if (u != NULL)
		u->used += *ns - before;
	return left;
}

/*
 * The seqs to take, at most max: the webhooks soonest due first, each
 * within its room and its organisation's share. Looks at due_look(q)
 * webhooks at most: past the webhooks with no room and those of an
 * organisation at its share, each one seen gives a job or ends the walk.
 */
static void
due_seqs(struct store_txn *t, const struct st_hook_due_req *q, uint64_t now,
    uint64_t *seqs, uint32_t *ns, uint8_t *more)
{
	char (*hooks)[ST_HOOK_ID_LEN + 1];
	uint32_t nh = 0, look = due_look(q), i;
	struct org_tally ot;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*ns = 0;
	if ((hooks = calloc(look, sizeof(*hooks))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if (tally_init(t, q, look, &ot) < 0) {
		free(hooks);
		return;
	}
	if ((rc = mdb_cursor_open(t->txn, t->st->due_hooks, &cur)) != 0) {
		free(hooks);
		free(ot.u);
		txn_lmdb(t, rc, "cursor");
		return;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && k.mv_size == DH_KEY_LEN &&
	    proto_get_be64(k.mv_data) <= now) {
		if (nh == look) {
			*more = 1;
			break;
		}
		memcpy(hooks[nh], (uint8_t *)k.mv_data + 8, ST_HOOK_ID_LEN);
		hooks[nh++][ST_HOOK_ID_LEN] = '\0';
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk due webhooks");
	for (i = 0; i < nh && !t->err; i++) {
		if (*ns == q->max) {
			*more = 1;
			break;
		}
		if (hook_take(t, q, &ot, hooks[i], now, seqs, ns))
			*more = 1;
	}
	free(hooks);
	free(ot.u);
}

/* NULL when q's share is well formed, else what is wrong (static). */
static const char *
share_invalid(const struct st_hook_due_req *q)
{
	uint32_t held = 0, i;

	if (q->per_org > ST_HOOK_HELD_MAX)
		return "per_org must be 0 to 256";
	for (i = 0; i < q->norgs; i++) {
		if (q->orgs[i].held > ST_HOOK_HELD_MAX - held)
			return "orgs must hold 256 in all at most";
		held += q->orgs[i].held;
	}
	return NULL;
}

int
store_hook_due(struct store_txn *t, const struct st_hook_due_req *q,
    struct st_hook_jobs *out)
{
	struct st_hook_job *jobs;
	struct st_delivery d;
	uint64_t seqs[ST_HOOK_DUE_MAX], now;
	uint32_t ns = 0, i;
	size_t bytes = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (q->max < 1 || q->max > ST_HOOK_DUE_MAX)
		return store_fail(t, PROTO_E_INVALID, "max must be 1 to 64");
	if (q->per_hook < 1 || q->per_hook > ST_HOOK_DUE_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "per_hook must be 1 to 64");
	if (q->lease_ms < ST_HOOK_LEASE_MIN || q->lease_ms > ST_HOOK_LEASE_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "lease_ms must be 1000 to 3600000");
	if (share_invalid(q) != NULL)
		return store_fail(t, PROTO_E_INVALID, share_invalid(q));
	now = t->st->now();
	due_seqs(t, q, now, seqs, &ns, &out->more);
	if (t->err)
		return t->err;
	if ((jobs = calloc(ns > 0 ? ns : 1, sizeof(*jobs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < ns && !t->err; i++) {
		if (bytes >= ST_HOOK_DUE_BYTES) {
			out->more = 1;
			break;
		}
		if ((rc = dlv_load(t, seqs[i], &d)) != 0) {
			if (rc == 1) {
				log_warnx("due deliveries name a missing one");
				store_fail(t, PROTO_E_INTERNAL,
				    "inconsistent index");
			}
			break;
		}
		if (job_take(t, seqs[i], &d, now + q->lease_ms,
		    &jobs[out->n]) == 0)
			bytes += jobs[out->n++].d.payload_len;
		st_delivery_free(&d);
	}
	if (t->err) {
		store_hook_jobs_free(jobs, out->n);
		memset(out, 0, sizeof(*out));
		return t->err;
	}
	out->jobs = jobs;
	return 0;
}

/* ------------------------------------------------------------- answers */

/* org's delivery by id: 0 loaded (its seq), or -1 with t failed. */
static int
dlv_must(struct store_txn *t, const char *org, const char *id,
    uint64_t *seq, struct st_delivery *d)
{
	int rc;

	if (store_seq_read(t, ST_DLV_PREFIX, id, seq) != 0)
		return t->err ? -1 : store_fail(t, PROTO_E_NOT_FOUND,
		    "no such delivery");
	if ((rc = dlv_load(t, *seq, d)) != 0)
		return rc < 0 ? -1 : store_fail(t, PROTO_E_NOT_FOUND,
		    "no such delivery");
	if (org != NULL && strcmp(d->org, org) != 0) {
		st_delivery_free(d);
		return store_fail(t, PROTO_E_NOT_FOUND, "no such delivery");
	}
	return 0;
}

int
store_hook_result(struct store_txn *t, const char *id, int ok,
    uint32_t code, const char *error, uint32_t duration_ms,
    uint64_t retry_at)
{
	struct st_delivery d;
	uint64_t seq;

	if (t->err || dlv_must(t, NULL, id, &seq, &d) != 0)
		return t->err;
	if (d.status != ST_DLV_PENDING) {
		st_delivery_free(&d);
		return 0;
	}
	d.attempts++;
	d.code = code;
	d.duration_ms = duration_ms;
	strlcpy(d.error, ok ? "" : error, sizeof(d.error));
	if (ok || retry_at == 0)
		dlv_finish(t, seq, &d, ok ? ST_DLV_DELIVERED : ST_DLV_FAILED);
	else {
		due_move(t, d.hook, d.next_at, seq, retry_at);
		d.next_at = retry_at;
		d.updated_at = t->st->now();
		dlv_save(t, seq, &d);
	}
	st_delivery_free(&d);
	return t->err;
}

int
store_hook_deliveries(struct store_txn *t, const char *org,
    const char *hook, uint32_t limit, const char *cursor,
    struct st_delivery **out, uint32_t *n, char *next_cursor)
{
	struct st_webhook h;
	struct st_delivery *ds;
	uint8_t k0[HD_KEY_LEN];
	uint64_t from = UINT64_MAX, seq = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*out = NULL;
	*n = 0;
	next_cursor[0] = '\0';
	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID, "limit must be 1 to 200");
	/*
	 * A cursor is a list's own kind (hookmsg.h): a delivery id, another
	 * organisation's webhook-id, would say where it falls among ours.
	 */
	if (cursor[0] != '\0' && store_seq_read(t, ST_DLV_CURSOR_PREFIX,
	    cursor, &from) != 0)
		return t->err ? t->err : store_fail(t, PROTO_E_INVALID,
		    "malformed cursor");
	if (store_hook_get(t, org, hook, &h) != 0)
		return t->err;
	st_webhook_free(&h);
	if ((ds = calloc(limit, sizeof(*ds))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->hook_deliveries, &cur)) != 0) {
		free(ds);
		return txn_lmdb(t, rc, "cursor");
	}
	/* Newest first: from the key before (hook, from). */
	hd_key(k0, hook, from);
	k.mv_size = sizeof(k0);
	k.mv_data = k0;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) :
	    rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc;
	while (rc == 0 && *n < limit && k.mv_size == HD_KEY_LEN &&
	    memcmp(k.mv_data, hook, ST_HOOK_ID_LEN) == 0 && !t->err) {
		seq = proto_get_be64((uint8_t *)k.mv_data + ST_HOOK_ID_LEN);
		if (dlv_load(t, seq, &ds[*n]) != 0)
			break;
		free(ds[*n].payload);
		ds[*n].payload = NULL;
		ds[*n].payload_len = 0;
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	if (rc == 0 && *n == limit && k.mv_size == HD_KEY_LEN &&
	    memcmp(k.mv_data, hook, ST_HOOK_ID_LEN) == 0)
		(void)store_seq_show(t, ST_DLV_CURSOR_PREFIX, seq, next_cursor);
	mdb_cursor_close(cur);
	if (t->err) {
		store_deliveries_free(ds, *n);
		*n = 0;
		return t->err;
	}
	*out = ds;
	return 0;
}

/*
 * org's webhook hook into h (the caller's to free), when it is there and
 * enabled: 0; else failed, h empty: a test or a retry of a disabled one
 * would only fail unsent (job_take), while the dashboard waited for an
 * attempt that never comes.
 */
static int
hook_sendable(struct store_txn *t, const char *org, const char *hook,
    struct st_webhook *h)
{
	if (store_hook_get(t, org, hook, h) != 0)
		return t->err;
	if (h->enabled)
		return 0;
	st_webhook_free(h);
	return store_fail(t, PROTO_E_UNSUPPORTED, "webhook disabled");
}

int
store_hook_retry(struct store_txn *t, const char *org, const char *hook,
    const char *id, struct st_delivery *out)
{
	struct st_webhook h;
	struct st_delivery d;
	uint32_t pending, kept;
	uint64_t seq;

	if (t->err || hook_sendable(t, org, hook, &h) != 0)
		return t->err;
	st_webhook_free(&h);
	if (dlv_must(t, org, id, &seq, &d) != 0)
		return t->err;
	if (strcmp(d.hook, hook) != 0) {
		st_delivery_free(&d);
		return store_fail(t, PROTO_E_NOT_FOUND, "no such delivery");
	}
	if (d.payload_len == 0) {
		st_delivery_free(&d);
		return store_fail(t, PROTO_E_INVALID, DLV_ERASED);
	}
	if (d.status == ST_DLV_PENDING)
		due_del(t, d.hook, d.next_at, seq);
	else if (counts_get(t, d.hook, &pending, &kept) == 0)
		counts_put(t, d.hook, pending + 1, kept);
	d.status = ST_DLV_PENDING;
	d.next_at = d.updated_at = t->st->now();
	due_put(t, d.hook, d.next_at, seq);
	dlv_save(t, seq, &d);
	if (!t->err) {
		free(d.payload);
		d.payload = NULL;
		d.payload_len = 0;
		*out = d;
		return 0;
	}
	st_delivery_free(&d);
	return t->err;
}

int
store_hook_test(struct store_txn *t, const char *org, const char *hook,
    struct st_delivery *out)
{
	static const char ping[] = "{\"type\":\"webhook.test\"}";
	struct st_webhook h;

	if (t->err || hook_sendable(t, org, hook, &h) != 0)
		return t->err;
	dlv_add(t, &h, ST_HE_TEST, ping, sizeof(ping) - 1, out);
	st_webhook_free(&h);
	return t->err;
}

void
store_outbox_hook_gone(struct store_txn *t, const char *hook)
{
	struct st_delivery d;
	uint64_t seqs[TRIM_SCAN];
	uint32_t n, i;

	/* A batch at a time: each removal changes the tree the walk reads. */
	while (hook_oldest(t, hook, seqs, TRIM_SCAN, &n) == 0 && n > 0)
		for (i = 0; i < n && !t->err; i++) {
			if (dlv_load(t, seqs[i], &d) != 0)
				return;
			dlv_remove(t, seqs[i], &d);
			st_delivery_free(&d);
		}
	db_del_quiet(t, t->st->hook_counts, hook, ST_HOOK_ID_LEN,
	    "delete delivery counts");
}

void
store_deliveries_free(struct st_delivery *ds, uint32_t n)
{
	rl_free_all(&st_delivery_layout, ds, n);
}

void
store_hook_jobs_free(struct st_hook_job *js, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_hook_job_free(&js[i]);
	free(js);
}

/* ------------------------------------------------------------- erasure */

/*
 * The delivery stored under seq, of a conversation or a contact being
 * deleted, keeps no payload (nor the index entries its payload made):
 * pending, it fails with why (not counted against its webhook: nothing
 * is wrong with it); finished, it stays as it ended. Absent (a trim of
 * the same deletion took it): nothing.
 */
static void
dlv_wipe(struct store_txn *t, uint64_t seq, const char *why)
{
	struct st_delivery d;

	if (dlv_load(t, seq, &d) != 0)
		return;
	cd_set(t, &d, seq, 0);
	free(d.payload);
	d.payload = NULL;
	d.payload_len = 0;
	if (d.status != ST_DLV_PENDING)
		dlv_save(t, seq, &d);
	else {
		strlcpy(d.error, why, sizeof(d.error));
		dlv_end(t, seq, &d, ST_DLV_FAILED, 0);
	}
	st_delivery_free(&d);
}

/* dlv_wipe of a conversation's delivery. */
static void
dlv_erase(struct store_txn *t, uint64_t seq)
{
	dlv_wipe(t, seq, DLV_ERASED_ERROR);
}

/* dlv_wipe of a contact's delivery. */
static void
dlv_contact_erase(struct store_txn *t, uint64_t seq)
{
	dlv_wipe(t, seq, DLV_ERASED_CONTACT);
}

/*
 * A conversation deleted (store_module's conv_deleted): its deliveries'
 * payloads go (dlv_erase), pending and finished, so that neither a
 * retry nor a backup holds what it said. As many as its organisation's
 * webhooks keep, at most 20 times ST_HOOK_PENDING_MAX plus
 * ST_HOOK_LOG_MAX.
 */
static void
outbox_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[16])
{
	outq_conv_take(t, t->st->conv_deliveries, id, dlv_erase);
}

void
outbox_contact_gone(struct store_txn *t, const uint8_t id[16])
{
	outq_conv_take(t, t->st->contact_deliveries, id, dlv_contact_erase);
}

/*
 * The delivery stored under seq, of a conversation its contact (hex) no
 * longer has, keeps the made-up name where its payload named that
 * contact (visitorName, its name or else its email): pending or
 * finished, neither its next attempt nor a retry sends it.
 */
static void
dlv_unname(struct store_txn *t, uint64_t seq, const char *contact)
{
	struct st_delivery d;

	if (dlv_load(t, seq, &d) != 0)
		return;
	if (outq_event_unname(t, &d.payload, &d.payload_len, contact) == 1)
		dlv_save(t, seq, &d);
	st_delivery_free(&d);
}

void
outbox_conv_unlinked(struct store_txn *t, const uint8_t conv[16],
    const char *contact)
{
	outq_conv_each(t, t->st->conv_deliveries, conv, dlv_unname,
	    contact);
}

/* ---------------------------------------------------------------- open */

/* The delivery stored under seq listed in conv_deliveries (at open). */
static void
cd_fill(struct store_txn *t, uint64_t seq)
{
	struct st_delivery d;

	if (dlv_load(t, seq, &d) != 0)
		return;
	if (d.event != ST_HE_TEST)
		outq_id_set(t, t->st->conv_deliveries, pdec_event_conv,
		    d.payload, d.payload_len, seq, 1);
	st_delivery_free(&d);
}

/* The delivery stored under seq listed in contact_deliveries (at open). */
static void
kd_fill(struct store_txn *t, uint64_t seq)
{
	struct st_delivery d;

	if (dlv_load(t, seq, &d) != 0)
		return;
	kd_set(t, &d, seq, 1);
	st_delivery_free(&d);
}

/* delivery_due's entry k into hook_due when its delivery is pending. */
static int
due_retired_move(struct store_txn *t, const MDB_val *k)
{
	struct st_delivery d;
	uint64_t seq;
	int moved = 0;

	seq = k->mv_size == 16 ? proto_get_be64((uint8_t *)k->mv_data + 8) : 0;
	if (seq != 0 && dlv_load(t, seq, &d) == 0) {
		if (d.status == ST_DLV_PENDING) {
			due_put(t, d.hook, d.next_at, seq);
			moved = 1;
		}
		st_delivery_free(&d);
	}
	return moved;
}

/*
 * A data directory from before hook_due (issue 23's first slice) has its
 * pending deliveries in delivery_due (u64 next_at | u64 seq): each is
 * put in hook_due, then the old index is emptied.
 */
static int
outbox_init(struct store_txn *t)
{
	if (db_retire_moving(t, t->st->delivery_due, "delivery_due",
	    "due deliveries into hook_due", due_retired_move) != 0)
		return t->err;
	/* An older data directory's deliveries listed by conversation. */
	if (outq_conv_fill(t, t->st->deliveries, CD_META, cd_fill,
	    "deliveries", "conversation") != 0)
		return t->err;
	/* And by contact (a directory of before contact_deliveries). */
	return outq_conv_fill(t, t->st->deliveries, KD_META, kd_fill,
	    "deliveries", "contact");
}

const struct store_module outbox_module = {
	.name = "outbox",
	.init = outbox_init,
	.conv_deleted = outbox_conv_deleted,
};
