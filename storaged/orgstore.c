/*
 * Organisations (see STORAGE.md, orgstore.h), a records.c entity:
 *
 *	orgs       id ("default", or "org_" + 32 hex) -> org (its rows,
 *	           ST_ORG_ROWS)
 *	org_order  u64 created_at | id -> (nothing); the default
 *	           organisation's created_at counts as 0
 *
 * Every value starts with its layout's format, ST_RECORD_VERSION; the
 * walks of its rows (record.h) copy, check and merge it. The default
 * organisation is made at start when missing and is never deleted.
 * Nothing else names an organisation yet.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "actionstore.h"
#include "agentstore.h"
#include "auditstore.h"
#include "hookstore.h"
#include "kbsource.h"
#include "keystore.h"
#include "inbox.h"
#include "log.h"
#include "mailbox.h"
#include "orgstore.h"
#include "records.h"
#include "stmsgs.h"
#include "optab.h"
#include "storeint.h"
#include "userstore.h"
#include "widgetstore.h"

#define DEFAULT_NAME	"Default"

const struct store_entity org_entity = {
	ENTITY_NAMES("organization", "no such organization",
	    "organizations: at most 1000"),
	ENTITY_RECORD(org, orgs, org_order),
	.prefix = ST_ORG_PREFIX,
	.idmin = sizeof(ST_ORG_DEFAULT) - 1,
	.idmax = ST_ORG_ID_MAX,
	.max = ST_ORGS_MAX,
	.mask_all = ST_OF_ALL,
	/* The default organisation leads the list whatever its clock said. */
	.first = ST_ORG_DEFAULT,
	.id_valid = st_org_id_valid,
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
store_org_update(struct store_txn *t, const char *id, uint64_t mask,
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
	return entity_exists(t, &org_entity, id);
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
	else {
		entity_remove(t, &org_entity, &o);
		/* What it owns goes in the sweep's batches. */
		db_mark(t, t->st->org_gone, o.id, strlen(o.id),
		    "put deleted organisation");
	}
	st_org_free(&o);
	return t->err;
}

/* The first deleted organisation still to sweep into org: 1, 0 none, -1. */
static int
org_gone_first(struct store_txn *t, char org[ST_ORG_ID_MAX + 1])
{
	MDB_val k, v;
	int rc;

	if ((rc = txn_first(t, t->st->org_gone, &k, &v,
	    "deleted organisations")) != 0)
		return rc < 0 ? -1 : 0;
	if (k.mv_size <= ST_ORG_ID_MAX) {
		memcpy(org, k.mv_data, k.mv_size);
		org[k.mv_size] = '\0';
	}
	return 1;
}

/*
 * At most max of org's conversations deleted, no more once deadline
 * (store_past) has passed: *n how many.
 */
static int
org_convs_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint64_t deadline, uint32_t *n)
{
	uint8_t (*ids)[16], probe[ST_ORG_ID_MAX + 1];	/* org NUL */
	size_t plen = strlen(org) + 1;
	uint32_t found = 0, done;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if ((ids = calloc(max, sizeof(*ids))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->conv_activity, &cur)) != 0) {
		free(ids);
		return txn_lmdb(t, rc, "cursor");
	}
	memcpy(probe, org, plen);	/* with its NUL */
	k.mv_size = plen;
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	/* Its keys: org NUL widget NUL u64 | id[16]. */
	while (rc == 0 && found < max && k.mv_size > plen + 8 + 16 &&
	    memcmp(k.mv_data, probe, plen) == 0) {
		memcpy(ids[found++], (uint8_t *)k.mv_data + k.mv_size - 16,
		    16);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	done = convs_delete(t, ids[0], found, 1, deadline);
	free(ids);
	if (!t->err)
		*n = done;
	return t->err;
}

/* At most max of org's widgets, then (none left) its agents: *n. */
static int
org_entities_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	struct st_widget *ws = NULL;
	struct st_agent *as = NULL;
	char **wids;
	uint32_t nw = 0, na = 0, nu, i;

	*n = 0;
	if (store_widget_list(t, org, &ws, &nw) != 0)
		return t->err;
	for (i = 0; i < nw && *n < max && !t->err; i++, (*n)++)
		store_widget_delete(t, org, ws[i].widget_id);
	store_widgets_free(ws, nw);
	if (t->err || nw > 0)
		return t->err;
	if (store_agent_list(t, org, &as, &na) != 0)
		return t->err;
	for (i = 0; i < na && *n < max && !t->err; i++, (*n)++)
		if (store_agent_delete(t, org, as[i].id, &wids, &nu) == 0)
			proto_strv_free(wids, nu);
	store_agents_free(as, na);
	return t->err;
}

/* At most max of org's API keys, webhooks, sources and actions: *n. */
static int
org_records_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	static const struct store_entity *const es[] = {
		&key_entity, &hook_entity, &kbsource_entity, &action_entity,
	};
	uint32_t got;
	size_t i;

	*n = 0;
	for (i = 0; i < sizeof(es) / sizeof(es[0]) && *n < max; i++)
		if (entity_org_sweep(t, es[i], org, max - *n, &got) == 0)
			*n += got;
	return t->err;
}

/*
 * What a deleted organisation leaves after its conversations, swept in
 * this order, each at most max records of it (*n how many).
 */
static int (*const org_sweeps[])(struct store_txn *, const char *org,
    uint32_t max, uint32_t *n) = {
	store_org_contacts_sweep,
	org_entities_sweep,
	org_records_sweep,
	store_org_canned_sweep,
	store_org_mail_sweep,
	store_org_audit_sweep,
	store_org_people_sweep,
	store_org_days_sweep,
};

int
store_org_sweep(struct store_txn *t, uint32_t max, uint64_t deadline,
    uint32_t *removed, int *more)
{
	char org[ST_ORG_ID_MAX + 1];
	uint32_t n = 0, done = 0;
	size_t i;
	int rc;

	*removed = 0;
	*more = 0;
	if (t->err)
		return t->err;
	if ((rc = org_gone_first(t, org)) <= 0)
		return t->err;
	/* Every record of it, whoever the txn was for. */
	t->org = NULL;
	/*
	 * Its conversations first; then the rest while the step has time
	 * (whatever the time while none was found: none is "all gone").
	 */
	if (org_convs_sweep(t, org, max, deadline, &n) == 0)
		done = n;
	for (i = 0; i < sizeof(org_sweeps) / sizeof(org_sweeps[0]) &&
	    !t->err && done < max && (done == 0 || !store_past(deadline));
	    i++)
		if (org_sweeps[i](t, org, max - done, &n) == 0)
			done += n;
	if (t->err)
		return t->err;
	/* Nothing of it was left: it is gone. */
	if (done == 0)
		db_del(t, t->st->org_gone, org, strlen(org),
		    "delete deleted organisation");
	*removed = done;
	*more = 1;	/* this one again, or the next: until none is left */
	if (done == 0 && org_gone_first(t, org) == 0)
		*more = 0;
	return t->err;
}

void
store_orgs_free(struct st_org *os, uint32_t n)
{
	entity_free_all(&org_entity, os, n);
}

/* ------------------------------------------------ its requests (optab.h) */

static const char *
org_invalid(const void *rec)
{
	return st_org_invalid(rec);
}

static int
org_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_org_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_orgs *l = rep;

	(void)org;	/* organisations are the install key's: all of them */

	switch (type) {
	case PROTO_ST_ORG_CREATE:
		return store_org_create(t, req, rep);
	case PROTO_ST_ORG_UPDATE:
		return store_org_update(t, u->id, u->mask, &u->o, rep);
	case PROTO_ST_ORG_GET:
		return store_org_get(t, q->id, rep);
	case PROTO_ST_ORG_LIST:
		return store_org_list(t, &l->orgs, &l->n);
	case PROTO_ST_ORG_DELETE:
		return store_org_delete(t, q->id);
	}
	return store_fail(t, PROTO_E_UNSUPPORTED,
	    "not an organization request");
}

const struct entity store_org_entity = {
	PROTO_ST_ORG_CREATE, org_invalid, org_run
};
