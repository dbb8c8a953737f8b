/*
 * A conversation's state (convstate.h): open, snoozed, resolved, and the
 * index of the conversations the assistant resolves by itself (see
 * STORAGE.md):
 *
 *	conv_resolve  u64 due | id[16] -> version: an open conversation in
 *	              which no person was asked for, resolved by the
 *	              assistant at due (its agent's resolve_after_s after the
 *	              visitor's last message) if its newest reply was stored
 *	              complete; st_conv.resolve_due names its key, so a new
 *	              message moves it without a scan
 *
 * The keys sort by due time, so the notifier's ST_CONV_RESOLVE_DUE reads
 * the due ones from the front, and a turn's new key goes at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "convstate.h"
#include "log.h"

#define DUE_KEY_LEN	(8 + ID_LEN)

static void
due_key(uint8_t k[DUE_KEY_LEN], uint64_t due, const uint8_t id[ID_LEN])
{
	proto_put_be64(k, due);
	memcpy(k + 8, id, ID_LEN);
}

/* c (cid) out of the index, if it is in it. */
static void
resolve_unarm(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c)
{
	uint8_t k[DUE_KEY_LEN];

	if (c->resolve_due == 0)
		return;
	due_key(k, c->resolve_due, cid);
	db_del(t, t->st->conv_resolve, k, sizeof(k), "delete resolve due");
	c->resolve_due = 0;
}

/* Open again: what a resolution or a snooze said is gone. */
static void
state_open(struct st_conv *c)
{
	c->conv_state = ST_STATE_OPEN;
	c->snoozed_until = 0;
	c->resolved_by = ST_RESOLVED_NONE;
	c->resolved_at = 0;
}

void
conv_state_visitor(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c, uint64_t now)
{
	uint8_t k[DUE_KEY_LEN];

	if (t->err)
		return;
	state_open(c);
	resolve_unarm(t, cid, c);
	if (c->handed_off || t->agent == NULL ||
	    t->agent->resolve_after_s == 0)
		return;
	c->resolve_due = now + (uint64_t)t->agent->resolve_after_s * 1000;
	due_key(k, c->resolve_due, cid);
	db_mark(t, t->st->conv_resolve, k, sizeof(k), "put resolve due");
}

void
conv_state_person(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c)
{
	if (t->err)
		return;
	c->handed_off = 1;
	resolve_unarm(t, cid, c);
}

int
conv_state_asked(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c)
{
	conv_state_person(t, cid, c);
	if (t->err)
		return 0;
	conv_state_view(t, c);
	if (c->conv_state == ST_STATE_OPEN)
		return 0;
	state_open(c);
	return 1;
}

void
conv_state_view(struct store_txn *t, struct st_conv *c)
{
	if (c->conv_state == ST_STATE_SNOOZED &&
	    c->snoozed_until <= t->st->now()) {
		c->conv_state = ST_STATE_OPEN;
		c->snoozed_until = 0;
	}
}

int
store_conv_set_state(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c, int state, uint64_t until, int *changed)
{
	uint64_t now = t->st->now();

	*changed = 0;
	if (t->err)
		return t->err;
	if (state < ST_STATE_OPEN || state > ST_CONV_STATE_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "state must be open, snoozed or resolved");
	if (state == ST_STATE_SNOOZED ? until <= now ||
	    until - now > ST_SNOOZE_MAX_MS : until != 0)
		return store_fail(t, PROTO_E_INVALID, "snoozed_until must be "
		    "a time within a year, with state snoozed alone");
	conv_state_view(t, c);
	if (c->conv_state == state && (state != ST_STATE_SNOOZED ||
	    c->snoozed_until == until))
		return 0;
	/* A person decided: the assistant's own resolution is off. */
	resolve_unarm(t, cid, c);
	state_open(c);
	c->conv_state = (uint8_t)state;
	if (state == ST_STATE_SNOOZED)
		c->snoozed_until = until;
	if (state == ST_STATE_RESOLVED) {
		c->resolved_by = ST_RESOLVED_PERSON;
		c->resolved_at = now;
	}
	conv_save(t, cid, c);
	if (t->err == 0)
		*changed = 1;
	return t->err;
}

/*
 * c (cid) out of the index, saved, without a resolution: 0, or -1 with
 * t failed (c freed either way).
 */
static int
resolve_drop(struct store_txn *t, const uint8_t *cid, struct st_conv *c)
{
	c->resolve_due = 0;
	conv_save(t, cid, c);
	st_conv_free(c);
	return t->err ? -1 : 0;
}

/*
 * The conversation under due key k resolved by the assistant, into *c:
 * 1 resolved, 0 not (its key was stale: gone; or its newest reply failed,
 * was cut off or never came: a visitor who left after that was not
 * helped, and it stays open), -1 error.
 */
static int
resolve_one(struct store_txn *t, const uint8_t *k, struct st_conv *c)
{
	uint64_t due = proto_get_be64(k);
	const uint8_t *cid = k + 8;
	int rc;

	db_del(t, t->st->conv_resolve, k, DUE_KEY_LEN, "delete resolve due");
	if ((rc = conv_load(t, cid, c)) != 0)
		return rc < 0 ? -1 : 0;
	/* A key its conversation no longer names: a person came since. */
	if (c->resolve_due != due || c->handed_off ||
	    c->conv_state != ST_STATE_OPEN || c->handoff != ST_HANDOFF_AI) {
		if (c->resolve_due == due)
			return resolve_drop(t, cid, c);
		st_conv_free(c);
		return t->err ? -1 : 0;
	}
	/* Silence after a failed, cut or missing reply resolves nothing. */
	if ((rc = msg_newest_answered(t, cid)) != 1) {
		if (rc < 0) {
			st_conv_free(c);
			return -1;
		}
		return resolve_drop(t, cid, c);
	}
	c->resolve_due = 0;
	c->conv_state = ST_STATE_RESOLVED;
	c->resolved_by = ST_RESOLVED_ASSISTANT;
	c->resolved_at = due;
	conv_save(t, cid, c);
	if (t->err) {
		st_conv_free(c);
		return -1;
	}
	return 1;
}

int
store_resolve_due(struct store_txn *t, uint32_t max, struct st_conv **out,
    uint32_t *n, int *more)
{
	uint8_t k[DUE_KEY_LEN];
	struct st_conv *cs = NULL;
	MDB_cursor *cur;
	MDB_val key, v;
	uint64_t now = t->st->now();
	uint32_t got = 0, looked = 0;
	int rc;

	*out = NULL;
	*n = 0;
	*more = 0;
	if (t->err)
		return t->err;
	if (max < 1 || max > CONVSTATE_DUE_MAX)
		return store_fail(t, PROTO_E_INVALID, "max must be 1 to 64");
	/* Stale keys count too: a request reads at most 4 x max of them. */
	while (got < max && looked < 4 * max && !t->err) {
		if ((rc = mdb_cursor_open(t->txn, t->st->conv_resolve,
		    &cur)) != 0) {
			txn_lmdb(t, rc, "cursor");
			break;
		}
		rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
		if (rc == 0 && key.mv_size == DUE_KEY_LEN)
			memcpy(k, key.mv_data, DUE_KEY_LEN);
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0) {
			txn_lmdb(t, rc, "walk resolve due");
			break;
		}
		if (key.mv_size != DUE_KEY_LEN) {
			log_warnx("resolve index: key of %zu bytes",
			    key.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		if (proto_get_be64(k) > now)
			break;
		looked++;
		/*
		 * Made for the first one due: the notifier asks every second,
		 * and 64 records zeroed each time for none was most of it.
		 */
		if (cs == NULL && (cs = calloc(max, sizeof(*cs))) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			break;
		}
		if ((rc = resolve_one(t, k, &cs[got])) < 0)
			break;
		got += (uint32_t)rc;
		if (got == max || looked == 4 * max)
			*more = 1;
	}
	if (t->err) {
		st_convs_free(cs, got);
		return t->err;
	}
	*out = cs;
	*n = got;
	return 0;
}

/* A deleted conversation leaves the index. */
static void
convstate_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	struct st_conv tmp = *c;	/* shallow: its key alone is read */

	resolve_unarm(t, id, &tmp);
}

const struct store_module convstate_module = {
	.name = "convstate",
	.conv_deleted = convstate_conv_deleted,
};
