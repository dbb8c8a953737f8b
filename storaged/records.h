/*
 * The shape the stored entities with an id and a creation order share
 * (widgets, agents, organisations), written once in records.c: a record under its id,
 * an order index of u64 created_at | id (and, for those of an
 * organisation, one per organisation), and the steps of their requests
 * (load, save, create, update, get, list, delete). An entity is a
 * descriptor: where its records live, its codec, its checks, and hooks
 * for what is its own. Errors as store.h: each step does nothing when
 * t->err is set; results are filled only on success.
 */
#ifndef PARLEY_RECORDS_H
#define PARLEY_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "storeint.h"

/* A merge's step: a field of cur and of req change places. */
#define SWAP(a, b) do {				\
	__typeof__(a) tmp_ = (a);		\
	(a) = (b);				\
	(b) = tmp_;				\
} while (0)

/*
 * A descriptor's members of record struct T, which names its key id and
 * its times created_at and updated_at.
 */
#define ENTITY_MEMBERS(T)						\
	.id = offsetof(T, id),						\
	.created_at = offsetof(T, created_at),				\
	.updated_at = offsetof(T, updated_at)

/*
 * A descriptor's names, from WHAT (a string literal): "widget", "widget
 * order" for its order index, NONE for a reference to none, TOO_MANY
 * past its bound.
 */
#define ENTITY_NAMES(WHAT, NONE, TOO_MANY)				\
	.what = WHAT, .order_what = WHAT " order",			\
	.none = NONE, .too_many = TOO_MANY

/*
 * A descriptor's record: struct st_NAME under its layout st_NAME_layout,
 * records in DBI and their order in ORDER (members of struct store).
 */
#define ENTITY_RECORD(NAME, DBI, ORDER)					\
	.dbi = offsetof(struct store, DBI),				\
	.order = offsetof(struct store, ORDER),				\
	.layout = &st_##NAME##_layout,					\
	ENTITY_MEMBERS(struct st_##NAME)

/*
 * A descriptor's organisation: struct st_NAME's org, the organisation's
 * order in ORG_ORDER, at most PER_ORG records of each organisation.
 */
#define ENTITY_OF_ORG(NAME, ORG_ORDER, PER_ORG)				\
	.org_order = offsetof(struct store, ORG_ORDER),			\
	.org = offsetof(struct st_##NAME, org),				\
	.max = (PER_ORG) * ST_ORGS_MAX, .org_max = (PER_ORG)

/* A descriptor's new ids: PREFIX then 32 hex, LEN bytes, VALID's. */
#define ENTITY_IDS(PREFIX, LEN, VALID)					\
	.prefix = PREFIX, .idmin = LEN, .idmax = LEN, .id_valid = VALID

/*
 * NAME_copy and NAME_invalid: a record's copy and check (COPY, INVALID
 * of T) as a descriptor's copy and invalid.
 */
#define ENTITY_CHECKS(NAME, T, COPY, INVALID)				\
	static int NAME##_copy(void *dst, const void *src)		\
	{ return COPY((T *)dst, (const T *)src); }			\
	static const char *NAME##_invalid(const void *r)		\
	{ return INVALID((const T *)r); }

/* Longest order key: u64 created_at, then an id of at most idmax bytes. */
#define ENTITY_ORDER_KEY_MAX	(8 + ST_WIDGET_MAX)
/* Longest organisation order key: the organisation, NUL, an order key. */
#define ENTITY_ORG_KEY_MAX	(ST_ORG_ID_MAX + 1 + ENTITY_ORDER_KEY_MAX)

struct store_entity {
	const char *what;		/* "widget": the logs */
	const char *order_what;		/* "widget order" */
	const char *none;		/* "no such widget" */
	const char *too_many;		/* "widgets: at most 1000" */
	/* Its databases, as offsetof(struct store, ...). */
	size_t dbi;			/* id -> version byte, record */
	size_t order;			/* u64 created_at | id -> () */
	/*
	 * With org: org NUL u64 created_at | id -> (), the organisation's
	 * records, so a list of one organisation walks its own alone.
	 */
	size_t org_order;
	size_t fresh;			/* a new id is absent from it (0: dbi) */
	/*
	 * Its rows (record.h): its struct's size, its format, and how it
	 * is encoded, read (the older formats too), freed.
	 */
	const struct rlayout *layout;
	/* Its members, as offsetof(record struct, ...). */
	size_t id;			/* char[]: the key */
	size_t created_at, updated_at;	/* uint64_t */
	/*
	 * char[ST_ORG_ID_MAX + 1]: the organisation a record belongs to, or
	 * 0 for an entity that belongs to none (the id, at 0, never is it).
	 * A record stored without one reads as ST_ORG_DEFAULT's. The steps
	 * taking an org (NULL: any) treat another organisation's record as
	 * absent (e->none), list only its own, and stamp it on a new one.
	 */
	size_t org;
	/* A new id's start before its 32 hex ("org_"), or NULL for none. */
	const char *prefix;
	/*
	 * Bytes of an id (idmax at most ST_WIDGET_MAX), records at most, and
	 * at most of one organisation (0: max).
	 */
	size_t idmin, idmax;
	uint32_t max, org_max;
	/*
	 * The refusal of a new record when its organisation holds org_max
	 * ("webhooks: at most 20"), or NULL: org_max bounds lists alone.
	 */
	const char *org_full;
	uint64_t mask_all;		/* fields an update may name */
	const char *first;		/* the id listed first, or NULL */
	/* NULL: any id; else an id it refuses is absent. */
	int (*id_valid)(const char *);
	/*
	 * -1 out of memory (dst freed); NULL or why not. NULL for a record
	 * with rows: its layout's rl_copy, rl_invalid.
	 */
	int (*copy)(void *dst, const void *src);
	const char *(*invalid)(const void *);
	/* The hooks, each may be NULL. */
	/* Before a record is checked: its own normal form. */
	void (*prepare)(void *);
	/* The records it names exist (those mask touches): 0, or t failed. */
	int (*admit)(struct store_txn *, const void *, uint64_t mask);
	/*
	 * An update's masked fields of req into cur (req frees what they
	 * replaced); arg is the caller's. 0, or -1 with t failed. NULL for
	 * a record with rows: its layout's rl_merge.
	 */
	int (*merge)(struct store_txn *, void *cur, void *req, uint64_t mask,
	    void *arg);
	/* A request's reference, when it is not the id: 0, 1 absent, -1. */
	int (*find)(struct store_txn *, const char *ref, void *);
	/* Its own indexes (a new record's): 0, or -1 with t failed. */
	int (*index_put)(struct store_txn *, void *);
	void (*index_del)(struct store_txn *, const void *);
};

/* By id: 0 loaded, 1 absent, -1 error; rec is zeroed unless loaded. */
int entity_load(struct store_txn *, const struct store_entity *,
    const char *id, void *rec);
/* By id, without reading the record: 1 stored, 0 absent, -1 error. */
int entity_exists(struct store_txn *, const struct store_entity *,
    const char *id);
/*
 * By a request's reference, of organisation org (NULL: any): 0 loaded, or
 * -1 with t failed (e->none, also for another organisation's record).
 */
int entity_must(struct store_txn *, const struct store_entity *,
    const char *org, const char *ref, void *rec);
/*
 * Whether id names one of org's records of e (a reference a request
 * gives): 1 it does, 0 not (absent, or another organisation's), -1 error.
 */
int entity_known(struct store_txn *, const struct store_entity *,
    const char *org, const char *id);
/* 1 when rec belongs to org (or org is NULL, or e has no organisation). */
int entity_in_org(const struct store_entity *, const void *rec,
    const char *org);
/* Writes rec under its id. */
void entity_save(struct store_txn *, const struct store_entity *,
    const void *rec);
/* rec's updated_at moves to now (never back). */
void entity_touch(struct store_txn *, const struct store_entity *, void *rec);
/* A record with its id set: its times, its indexes, the record, its order. */
void entity_add(struct store_txn *, const struct store_entity *, void *rec);
/*
 * A request's create: in checked, the count below e->max (all
 * organisations together), a copy of in given a fresh id (e->prefix, then
 * 128 random bits) and org (when e has one; NULL: ST_ORG_DEFAULT), and
 * added. out: as stored.
 */
int entity_create(struct store_txn *, const struct store_entity *,
    const char *org, const void *in, void *out);
/*
 * A request's update of org's record (NULL: any): the masked fields
 * merged, checked as a whole, saved.
 */
int entity_update(struct store_txn *, const struct store_entity *,
    const char *org, const char *ref, uint64_t mask, const void *in,
    void *out, void *arg);
/* A request's get of org's record (NULL: any). */
int entity_get(struct store_txn *, const struct store_entity *,
    const char *org, const char *ref, void *out);
/*
 * Every record of org (NULL: all; of one, at most e->org_max), oldest
 * first: *out (n of them), for entity_free_all.
 */
int entity_list(struct store_txn *, const struct store_entity *,
    const char *org, void **out, uint32_t *n);
/* The record rec names, its order entry and its indexes. */
void entity_remove(struct store_txn *, const struct store_entity *,
    const void *rec);
/*
 * A request's delete of org's record (NULL: any): entity_must into rec
 * (room for one), entity_remove, rec freed.
 */
int entity_delete(struct store_txn *, const struct store_entity *,
    const char *org, const char *ref, void *rec);
/*
 * A deleted organisation's records: at most max of org's removed, with
 * their order entries and indexes; *n how many.
 */
int entity_org_sweep(struct store_txn *, const struct store_entity *,
    const char *org, uint32_t max, uint32_t *n);
/* n records of items, then items. */
void entity_free_all(const struct store_entity *, void *items, uint32_t n);

/*
 * The entities with an organisation (their own files), whose organisation
 * orders records_module fills at open where they lack records (a data
 * directory of before them, or one whose log replay stopped short).
 */
extern const struct store_entity widget_entity, agent_entity, key_entity,
    hook_entity, kbsource_entity, action_entity;
/* The entities without one (test_records.c holds all to storedbs.h). */
extern const struct store_entity org_entity, user_entity;

#endif
