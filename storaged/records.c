/*
 * The record steps every entity with an id and a creation order takes
 * (records.h): widgets (widgetstore.c), agents, organisations, users,
 * API keys, webhooks, actions and knowledge sources are descriptors of
 * these, each with hooks for what is its own. A record is its version
 * byte and its rows' encoding (record.h) under its id; its order index
 * holds u64 created_at | id, and an entity with an organisation has an
 * organisation order of org NUL u64 created_at | id, the walk of one
 * organisation's list and sweep (see STORAGE.md).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "orgmsg.h"
#include "random.h"
#include "records.h"
#include "storeint.h"

static MDB_dbi
dbi(const struct store_txn *t, size_t off)
{
	return *(const MDB_dbi *)((const char *)t->st + off);
}

static char *
rec_id(const struct store_entity *e, const void *rec)
{
	return (char *)rec + e->id;
}

/* rec's organisation, or NULL when e has none. */
static char *
rec_org(const struct store_entity *e, const void *rec)
{
	return e->org != 0 ? (char *)rec + e->org : NULL;
}

int
entity_in_org(const struct store_entity *e, const void *rec,
    const char *org)
{
	const char *o = rec_org(e, rec);

	return org == NULL || o == NULL || strcmp(o, org) == 0;
}

static uint64_t *
rec_time(const void *rec, size_t off)
{
	return (uint64_t *)((char *)rec + off);
}

static size_t
order_key(const struct store_entity *e, const void *rec,
    uint8_t k[ENTITY_ORDER_KEY_MAX])
{
	const char *id = rec_id(e, rec);
	size_t n = strlen(id);

	/* The first record leads the list whatever its clock said. */
	proto_put_be64(k, e->first != NULL && strcmp(id, e->first) == 0 ? 0 :
	    *rec_time(rec, e->created_at));
	memcpy(k + 8, id, n);
	return 8 + n;
}

/* rec's key in e->org_order: its organisation, NUL, its order key. */
static size_t
org_order_key(const struct store_entity *e, const void *rec,
    uint8_t k[ENTITY_ORG_KEY_MAX])
{
	size_t o = org_prefix(rec_org(e, rec), k);

	return o + order_key(e, rec, k + o);
}

/* A deep copy of src into dst: 0, or -1 out of memory (dst freed). */
static int
entity_copy(const struct store_entity *e, void *dst, const void *src)
{
	if (e->copy != NULL)
		return e->copy(dst, src);
	return rl_copy(e->layout, dst, src);
}

/* What is wrong with rec, or NULL. */
static const char *
entity_invalid(const struct store_entity *e, const void *rec)
{
	if (e->invalid != NULL)
		return e->invalid(rec);
	return rl_invalid(e->layout, rec);
}

/* A stored record into rec (zeroed): 0, or -1 logged, t failed. */
static int
entity_decode(struct store_txn *t, const struct store_entity *e,
    const MDB_val *v, void *rec)
{
	/* An older record: its layout reads it as it is. */
	if (rec_dec_rows(t, v, e->layout, rec, e->what) < 0)
		return -1;
	/* Stored before organisations: the first one's. */
	if (rec_org(e, rec) != NULL && rec_org(e, rec)[0] == '\0')
		strlcpy(rec_org(e, rec), ST_ORG_DEFAULT, ST_ORG_ID_MAX + 1);
	return 0;
}

int
entity_load(struct store_txn *t, const struct store_entity *e,
    const char *id, void *rec)
{
	MDB_val v;
	int rc;

	memset(rec, 0, e->layout->size);
	if (e->id_valid != NULL && !e->id_valid(id))
		return t->err ? -1 : 1;
	if ((rc = db_get(t, dbi(t, e->dbi), id, strlen(id), &v,
	    e->what)) != 0)
		return rc;
	return entity_decode(t, e, &v, rec);
}

int
entity_exists(struct store_txn *t, const struct store_entity *e,
    const char *id)
{
	MDB_val v;
	int rc;

	if (e->id_valid != NULL && !e->id_valid(id))
		return t->err ? -1 : 0;
	if ((rc = db_get(t, dbi(t, e->dbi), id, strlen(id), &v,
	    e->what)) < 0)
		return -1;
	return rc == 0;
}

int
entity_known(struct store_txn *t, const struct store_entity *e,
    const char *org, const char *id)
{
	void *rec;
	int rc;

	if (t->err)
		return -1;
	if ((rec = calloc(1, e->layout->size)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	if ((rc = entity_load(t, e, id, rec)) == 0) {
		rc = entity_in_org(e, rec, org) ? 0 : 1;
		rl_free(e->layout, rec);
	}
	free(rec);
	return rc < 0 ? -1 : rc == 0;
}

int
entity_must(struct store_txn *t, const struct store_entity *e,
    const char *org, const char *ref, void *rec)
{
	int rc;

	rc = e->find != NULL ? e->find(t, ref, rec) :
	    entity_load(t, e, ref, rec);
	/* Another organisation's is absent, exactly as an unknown id. */
	if (rc == 0 && !entity_in_org(e, rec, org)) {
		rl_free(e->layout, rec);
		rc = 1;
	}
	if (rc == 1)
		store_fail(t, PROTO_E_NOT_FOUND, e->none);
	return rc == 0 ? 0 : -1;
}

void
entity_save(struct store_txn *t, const struct store_entity *e,
    const void *rec)
{
	const char *id = rec_id(e, rec);

	rec_put_rows(t, dbi(t, e->dbi), id, strlen(id), e->layout, rec,
	    e->what);
}

void
entity_touch(struct store_txn *t, const struct store_entity *e, void *rec)
{
	uint64_t now = t->st->now();

	if (now > *rec_time(rec, e->updated_at))
		*rec_time(rec, e->updated_at) = now;
}

void
entity_add(struct store_txn *t, const struct store_entity *e, void *rec)
{
	uint8_t k[ENTITY_ORDER_KEY_MAX], ok[ENTITY_ORG_KEY_MAX];

	*rec_time(rec, e->created_at) = *rec_time(rec, e->updated_at) =
	    t->st->now();
	if (e->index_put != NULL && e->index_put(t, rec) < 0)
		return;
	entity_save(t, e, rec);
	db_mark(t, dbi(t, e->order), k, order_key(e, rec, k), e->order_what);
	if (e->org_order != 0)
		db_mark(t, dbi(t, e->org_order), ok, org_order_key(e, rec, ok),
		    e->order_what);
}

/* Room for one more record: 0, or -1 with t failed. */
static int
entity_room(struct store_txn *t, const struct store_entity *e)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, dbi(t, e->dbi), &ms)) != 0) {
		txn_lmdb(t, rc, e->what);
		return -1;
	}
	if (ms.ms_entries >= e->max) {
		store_fail(t, PROTO_E_INVALID, e->too_many);
		return -1;
	}
	return 0;
}

/*
 * Room in rec's organisation for one more record, where e->org_full says
 * the bound is refused: 0, or -1 with t failed.
 */
static int
entity_org_room(struct store_txn *t, const struct store_entity *e,
    const void *rec)
{
	void *all;
	uint32_t n;

	if (e->org_full == NULL)
		return 0;
	if (entity_list(t, e, rec_org(e, rec), &all, &n) != 0)
		return -1;
	entity_free_all(e, all, n);
	if (n >= e->org_max) {
		store_fail(t, PROTO_E_INVALID, e->org_full);
		return -1;
	}
	return 0;
}

/* e->prefix and 128 random bits as hex, an id that e->fresh does not hold. */
static void
entity_new_id(struct store_txn *t, const struct store_entity *e, void *rec)
{
	size_t fresh = e->fresh != 0 ? e->fresh : e->dbi;

	(void)fresh_hex_id(t, dbi(t, fresh), e->prefix != NULL ?
	    e->prefix : "", rec_id(e, rec), e->what);
}

/* The entity's own rule on rec (its admit, if any): 0, or -1 t failed. */
static int
entity_admit(struct store_txn *t, const struct store_entity *e,
    const void *rec, uint64_t mask)
{
	if (e->admit == NULL)
		return 0;
	return e->admit(t, rec, mask) != 0 ? -1 : 0;
}

/* The entity's derived fields of rec (its prepare, if any). */
static void
entity_prepare(const struct store_entity *e, void *rec)
{
	if (e->prepare != NULL)
		e->prepare(rec);
}

/*
 * The end of a step that made rec (malloc'd, with room for two records
 * when req is set): out is rec when all went well, else rec is freed.
 */
static int
entity_out(struct store_txn *t, const struct store_entity *e, void *rec,
    void *req, void *out)
{
	if (req != NULL)
		rl_free(e->layout, req);
	if (t->err)
		rl_free(e->layout, rec);
	else
		memcpy(out, rec, e->layout->size);
	free(rec);
	return t->err;
}

int
entity_create(struct store_txn *t, const struct store_entity *e,
    const char *org, const void *in, void *out)
{
	const char *bad;
	void *rec;

	if (t->err)
		return t->err;
	if ((bad = entity_invalid(e, in)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if ((rec = calloc(1, e->layout->size)) == NULL ||
	    entity_copy(e, rec, in) < 0) {
		free(rec);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	/* Whatever the request said, it is who asks's. */
	if (rec_org(e, rec) != NULL)
		strlcpy(rec_org(e, rec), org != NULL ? org : ST_ORG_DEFAULT,
		    ST_ORG_ID_MAX + 1);
	if (entity_admit(t, e, rec, UINT32_MAX) == 0 &&
	    entity_org_room(t, e, rec) == 0 && entity_room(t, e) == 0) {
		entity_prepare(e, rec);
		entity_new_id(t, e, rec);
		entity_add(t, e, rec);
	}
	return entity_out(t, e, rec, NULL, out);
}

int
entity_update(struct store_txn *t, const struct store_entity *e,
    const char *org, const char *ref, uint64_t mask, const void *in,
    void *out, void *arg)
{
	const char *bad;
	void *cur, *req;

	if (t->err)
		return t->err;
	if (mask & ~e->mask_all)
		return store_fail(t, PROTO_E_INVALID, "mask: unknown fields");
	/* Both zeroed, so either may be freed at any step. */
	if ((cur = calloc(2, e->layout->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	req = (char *)cur + e->layout->size;
	if (entity_must(t, e, org, ref, cur) < 0)
		goto out;
	if (entity_copy(e, req, in) < 0) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto out;
	}
	if (e->merge != NULL) {
		if (e->merge(t, cur, req, mask, arg) < 0)
			goto out;
	} else
		rl_merge(e->layout, cur, req, mask);
	entity_prepare(e, cur);
	if ((bad = entity_invalid(e, cur)) != NULL) {
		store_fail(t, PROTO_E_INVALID, bad);
		goto out;
	}
	if (entity_admit(t, e, cur, mask) < 0)
		goto out;
	entity_touch(t, e, cur);
	entity_save(t, e, cur);
out:
	return entity_out(t, e, cur, req, out);
}

int
entity_get(struct store_txn *t, const struct store_entity *e,
    const char *org, const char *ref, void *out)
{
	if (t->err)
		return t->err;
	entity_must(t, e, org, ref, out);
	return t->err;
}

struct entity_listing {
	const struct store_entity *e;
	const char *org;		/* NULL: every organisation's */
};

/* One record of the list: taken when it is of the listing's org. */
static int
entity_load_item(struct store_txn *t, const char *id, void *item,
    const void *arg)
{
	const struct entity_listing *l = arg;
	int rc;

	if ((rc = entity_load(t, l->e, id, item)) != 0)
		return rc;
	if (entity_in_org(l->e, item, l->org))
		return 0;
	rl_free(l->e->layout, item);
	return 2;
}

/*
 * The room a list of org's records needs: the records there are, and no
 * more than e->max, nor than e->org_max of one organisation. (Room for
 * e->max, every organisation's bound, was 208 MB zeroed for a list of
 * knowledge sources.)
 */
static int
entity_list_room(struct store_txn *t, const struct store_entity *e,
    const char *org, uint32_t *room)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, dbi(t, e->order), &ms)) != 0)
		return txn_lmdb(t, rc, e->order_what);
	*room = ms.ms_entries < e->max ? (uint32_t)ms.ms_entries : e->max;
	if (org != NULL && e->org_max != 0 && e->org_max < *room)
		*room = e->org_max;
	return 0;
}

int
entity_list(struct store_txn *t, const struct store_entity *e,
    const char *org, void **out, uint32_t *n)
{
	struct entity_listing l = { e, org };
	struct order_list o = {
		.index = dbi(t, e->order),
		.what = e->what,
		.idmin = e->idmin,
		.idmax = e->idmax,
		.size = e->layout->size,
		.load = entity_load_item,
		.arg = &l,
	};
	void *items;

	if (t->err)
		return t->err;
	/* One organisation's: its own order, not everyone's passed over. */
	if (org != NULL && e->org_order != 0) {
		o.index = dbi(t, e->org_order);
		o.prefix = org;
		o.plen = strlen(org) + 1;
	}
	if (entity_list_room(t, e, org, &o.max) != 0)
		return t->err;
	/* One more: calloc(0) may be NULL. */
	if ((items = calloc((size_t)o.max + 1, e->layout->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (order_list(t, &o, items, n) != 0) {
		entity_free_all(e, items, *n);
		return t->err;
	}
	*out = items;
	return 0;
}

void
entity_remove(struct store_txn *t, const struct store_entity *e,
    const void *rec)
{
	const char *id = rec_id(e, rec);
	uint8_t k[ENTITY_ORDER_KEY_MAX], ok[ENTITY_ORG_KEY_MAX];

	if (e->index_del != NULL)
		e->index_del(t, rec);
	db_del(t, dbi(t, e->order), k, order_key(e, rec, k), e->order_what);
	if (e->org_order != 0)
		db_del(t, dbi(t, e->org_order), ok, org_order_key(e, rec, ok),
		    e->order_what);
	db_del(t, dbi(t, e->dbi), id, strlen(id), e->what);
}

int
entity_delete(struct store_txn *t, const struct store_entity *e,
    const char *org, const char *ref, void *rec)
{
	if (entity_must(t, e, org, ref, rec) < 0)
		return t->err;
	entity_remove(t, e, rec);
	rl_free(e->layout, rec);
	return t->err;
}

int
entity_org_sweep(struct store_txn *t, const struct store_entity *e,
    const char *org, uint32_t max, uint32_t *n)
{
	void *items;
	uint32_t got, i;

	*n = 0;
	if (t->err || max == 0)
		return t->err;
	if (entity_list(t, e, org, &items, &got) != 0)
		return t->err;
	for (i = 0; i < got && i < max && !t->err; i++)
		entity_remove(t, e, (char *)items + (size_t)i * e->layout->size);
	if (!t->err)
		*n = i;
	entity_free_all(e, items, got);
	return t->err;
}

void
entity_free_all(const struct store_entity *e, void *items, uint32_t n)
{
	uint32_t i;

	for (i = 0; items != NULL && i < n; i++)
		rl_free(e->layout, (char *)items + (size_t)i * e->layout->size);
	free(items);
}

/* ------------------------------------------------------------- at open */

/* A record of e's order into its organisation order (item: room for one). */
static int
org_order_put(struct store_txn *t, const char *id, void *item,
    const void *arg)
{
	const struct store_entity *e = arg;
	uint8_t ok[ENTITY_ORG_KEY_MAX];
	int rc;

	if ((rc = entity_load(t, e, id, item)) != 0)
		return rc;
	db_mark(t, dbi(t, e->org_order), ok, org_order_key(e, item, ok),
	    e->order_what);
	rl_free(e->layout, item);
	/* Passed over: each record is read into the same room. */
	return t->err ? -1 : 2;
}

/*
 * e's organisation order made again from its order when they do not
 * hold as many records (a data directory of before it): 0, or t's error.
 */
static int
org_order_fill(struct store_txn *t, const struct store_entity *e)
{
	struct order_list o = {
		.index = dbi(t, e->order),
		.what = e->what,
		.idmin = e->idmin,
		.idmax = e->idmax,
		.max = UINT32_MAX,
		.size = e->layout->size,
		.load = org_order_put,
		.arg = e,
	};
	void *item;
	uint32_t n;
	size_t all;

	if (index_stale(t, dbi(t, e->order), dbi(t, e->org_order),
	    e->order_what, &all) <= 0)
		return t->err;
	if ((item = calloc(1, e->layout->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	order_list(t, &o, item, &n);
	free(item);
	if (!t->err)
		log_info("%s: %zu records listed by organization",
		    e->order_what, all);
	return t->err;
}

static const struct store_entity *const org_entities[] = {
	&widget_entity, &agent_entity, &key_entity, &hook_entity,
	&kbsource_entity, &action_entity,
};

static int
records_init(struct store_txn *t)
{
	size_t i;

	for (i = 0; i < sizeof(org_entities) / sizeof(org_entities[0]); i++)
		if (org_order_fill(t, org_entities[i]) != 0)
			break;
	return t->err;
}

const struct store_module records_module = {
	.name = "records",
	.init = records_init,
};
