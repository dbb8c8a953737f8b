/*
 * Organisations (see STORAGE.md, orgstore.h), a records.c entity:
 *
 *	orgs       id ("default", or "org_" + 32 hex) -> org (penc_org)
 *	org_order  u64 created_at | id -> (nothing); the default
 *	           organisation's created_at counts as 0
 *
 * Every value starts with ST_RECORD_VERSION. The default organisation is
 * made at start when missing and is never deleted. Nothing else names an
 * organisation yet.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "orgstore.h"
#include "records.h"
#include "stmsgs.h"
#include "storeint.h"

#define DEFAULT_NAME	"Default"

ENTITY_CHECKS(org, struct st_org, st_org_copy, st_org_invalid)

/* Moves the masked fields over; req frees what they replaced. */
static int
org_merge(struct store_txn *t, void *curp, void *reqp, uint32_t mask,
    void *arg)
{
	struct st_org *cur = curp, *req = reqp;

	if (mask & ST_OF_NAME)
		SWAP(cur->name, req->name);
	return 0;
}

static const struct store_entity org_entity = {
	.what = "organization",
	.order_what = "organization order",
	.none = "no such organization",
	.too_many = "organizations: at most 1000",
	.dbi = offsetof(struct store, orgs),
	.order = offsetof(struct store, org_order),
	.fresh = offsetof(struct store, orgs),
	.version = ST_RECORD_VERSION,
	.codec = &pl_org,
	ENTITY_MEMBERS(struct st_org),
	.prefix = ST_ORG_PREFIX,
	.idmin = sizeof(ST_ORG_DEFAULT) - 1,
	.idmax = ST_ORG_ID_MAX,
	.max = ST_ORGS_MAX,
	.mask_all = ST_OF_ALL,
	/* The default organisation leads the list whatever its clock said. */
	.first = ST_ORG_DEFAULT,
	.id_valid = st_org_id_valid,
	.copy = org_copy,
	.invalid = org_invalid,
	.merge = org_merge,
};

/* The default organisation, when missing (a new or older data directory). */
static int
orgstore_init(struct store_txn *t)
{
	struct st_org o;
	int rc;

	if ((rc = entity_load(t, &org_entity, ST_ORG_DEFAULT, &o)) == 0) {
		st_org_free(&o);
		return 0;
	}
	if (rc < 0)
		return t->err;
	strlcpy(o.id, ST_ORG_DEFAULT, sizeof(o.id));
	if ((o.name = strdup(DEFAULT_NAME)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	entity_add(t, &org_entity, &o);
	if (t->err == 0)
		log_info("made the default organization");
	st_org_free(&o);
	return t->err;
}

const struct store_module orgstore_module = {
	.name = "organizations",
	.init = orgstore_init,
};

int
store_org_create(struct store_txn *t, const struct st_org *in,
    struct st_org *out)
{
	return entity_create(t, &org_entity, NULL, in, out);
}

int
store_org_update(struct store_txn *t, const char *id, uint32_t mask,
    const struct st_org *in, struct st_org *out)
{
	return entity_update(t, &org_entity, NULL, id, mask, in, out, NULL);
}

int
store_org_get(struct store_txn *t, const char *id, struct st_org *out)
{
	return entity_get(t, &org_entity, NULL, id, out);
}

int
store_org_exists(struct store_txn *t, const char *id)
{
	struct st_org o;
	int rc;

	if ((rc = entity_load(t, &org_entity, id, &o)) != 0)
		return rc == 1 ? 0 : -1;
	org_entity.codec->free(&o);
	return 1;
}

int
store_org_list(struct store_txn *t, struct st_org **out, uint32_t *n)
{
	void *os;

	if (entity_list(t, &org_entity, NULL, &os, n) == 0)
		*out = os;
	return t->err;
}

int
store_org_delete(struct store_txn *t, const char *id)
{
	struct st_org o;

	if (t->err)
		return t->err;
	if (entity_must(t, &org_entity, NULL, id, &o) < 0)
		return t->err;
	if (strcmp(o.id, ST_ORG_DEFAULT) == 0)
		store_fail(t, PROTO_E_INVALID,
		    "the default organization cannot be deleted");
	else
		entity_remove(t, &org_entity, &o);
	st_org_free(&o);
	return t->err;
}

void
store_orgs_free(struct st_org *os, uint32_t n)
{
	entity_free_all(&org_entity, os, n);
}
