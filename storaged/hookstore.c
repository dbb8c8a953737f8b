/*
 * An organisation's webhooks (see STORAGE.md, hookstore.h), a records.c
 * entity:
 *
 *	webhooks       id ("wh_" + 32 hex) -> webhook (its rows,
 *	               ST_WEBHOOK_ROWS, with its secret: the notifier signs
 *	               with it)
 *	webhook_order  u64 created_at | id -> ()
 *	webhook_org    org NUL u64 created_at | id -> () (records.c): an
 *	               organisation's, for its list and the outbox (every
 *	               event looks here)
 *	hook_org       retired (org NUL id -> ()): emptied at open
 *
 * Every value starts with its layout's format, ST_RECORD_VERSION; the
 * walks of its rows (record.h) copy and merge it. A webhook deleted takes
 * its deliveries with it (outbox.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hookstore.h"
#include "log.h"
#include "orgmsg.h"
#include "outbox.h"
#include "records.h"
#include "stmsgs.h"
#include "optab.h"
#include "storeint.h"

/* Its own check: its url's and events' messages (hookmsg.c). */
static const char *
hook_invalid(const void *rec)
{
	return st_webhook_invalid(rec);
}

/* Its deliveries. */
static void
hook_index_del(struct store_txn *t, const void *rec)
{
	const struct st_webhook *h = rec;

	store_outbox_hook_gone(t, h->id);
}

/* url, events, enabled (the rows'); enabled again, its failures forgotten. */
static int
hook_merge(struct store_txn *t, void *curp, void *reqp, uint64_t mask,
    void *arg)
{
	struct st_webhook *cur = curp;
	const struct st_webhook *req = reqp;

	(void)t;
	(void)arg;
	if ((mask & ST_HF_ENABLED) && req->enabled && !cur->enabled) {
		cur->failures = 0;
		cur->disabled_at = 0;
	}
	rl_merge(&st_webhook_layout, cur, reqp, mask);
	return 0;
}

const struct store_entity hook_entity = {
	ENTITY_NAMES("webhook", "no such webhook", "webhooks: too many"),
	ENTITY_RECORD(webhook, webhooks, webhook_order),
	ENTITY_OF_ORG(webhook, webhook_org, ST_HOOKS_MAX),
	.org_full = "webhooks: at most 20",
	ENTITY_IDS(ST_HOOK_PREFIX, ST_HOOK_ID_LEN, st_hook_id_valid),
	.mask_all = ST_HF_ALL,
	.invalid = hook_invalid,
	.merge = hook_merge,
	.index_del = hook_index_del,
};

/* Webhooks a step of store_hook_old_sweep reads at most. */
#define HOOK_SWEEP_MAX	256

/* Never in a reply: the secret rotated before (any reply's). */
static void
hook_scrub_old(struct st_webhook *h)
{
	OPENSSL_cleanse(h->old_secret, sizeof(h->old_secret));
}

/*
 * What leaves storaged but the create's and the rotation's reply: no
 * secret at all.
 */
static void
hook_scrub(struct st_webhook *h)
{
	OPENSSL_cleanse(h->secret, sizeof(h->secret));
	hook_scrub_old(h);
}

int
store_hook_create(struct store_txn *t, const char *org,
    const struct st_webhook *in, struct st_webhook *out)
{
	struct st_webhook h;

	if (t->err)
		return t->err;
	h = *in;
	h.failures = 0;
	h.disabled_at = 0;
	h.old_secret[0] = '\0';
	h.old_until = 0;
	return entity_create(t, &hook_entity, org, &h, out);
}

int
store_hook_secret(struct store_txn *t, const char *org,
    const struct st_hook_secret_req *q, struct st_webhook *out)
{
	uint64_t now = t->st->now();
	struct st_webhook h;
	const char *bad;

	memset(out, 0, sizeof(*out));
	if (t->err || entity_must(t, &hook_entity, org, q->id, &h) < 0)
		return t->err;
	/* The one before signs on beside it a while; an older one goes. */
	memcpy(h.old_secret, h.secret, sizeof(h.old_secret));
	h.old_until = now + ST_HOOK_SECRET_OVERLAP;
	strlcpy(h.secret, q->secret, sizeof(h.secret));
	/* The new secret checked as a new webhook's is. */
	if ((bad = st_webhook_invalid(&h)) != NULL)
		store_fail(t, PROTO_E_INVALID, bad);
	entity_touch(t, &hook_entity, &h);
	entity_save(t, &hook_entity, &h);
	if (t->err) {
		st_webhook_free(&h);
		return t->err;
	}
	hook_scrub_old(&h);
	*out = h;
	return 0;
}

int
store_hook_old_sweep(struct store_txn *t, uint32_t max,
    char cursor[ST_HOOK_ID_LEN + 1], uint32_t *n)
{
	uint8_t keys[HOOK_SWEEP_MAX * ST_HOOK_ID_LEN];
	char id[ST_HOOK_ID_LEN + 1];
	uint64_t now = t->st->now();
	struct st_webhook h;
	uint32_t got = 0, i;

	*n = 0;
	if (max > HOOK_SWEEP_MAX)
		max = HOOK_SWEEP_MAX;
	if (txn_keys(t, t->st->webhooks, "webhook sweep", cursor,
	    strlen(cursor), 1, 0, ST_HOOK_ID_LEN, keys, max, &got) != 0)
		return t->err;
	for (i = 0; i < got && !t->err; i++) {
		memcpy(id, keys + (size_t)i * ST_HOOK_ID_LEN, ST_HOOK_ID_LEN);
		id[ST_HOOK_ID_LEN] = '\0';
		if (entity_load(t, &hook_entity, id, &h) != 0)
			continue;	/* absent, or t failed */
		if (h.old_until != 0 && h.old_until <= now) {
			hook_scrub_old(&h);
			h.old_until = 0;
			entity_save(t, &hook_entity, &h);
			(*n)++;
		}
		hook_scrub(&h);
		st_webhook_free(&h);
	}
	/* A short read is the walk's end: the next walk starts over. */
	if (got == max && got > 0)
		memcpy(cursor, keys + (size_t)(got - 1) * ST_HOOK_ID_LEN,
		    ST_HOOK_ID_LEN);
	cursor[got == max && got > 0 ? ST_HOOK_ID_LEN : 0] = '\0';
	return t->err;
}

int
store_hook_update(struct store_txn *t, const char *org, const char *id,
    uint64_t mask, const struct st_webhook *in, struct st_webhook *out)
{
	if (entity_update(t, &hook_entity, org, id, mask, in, out,
	    NULL) == 0)
		hook_scrub(out);
	return t->err;
}

int
store_hook_get(struct store_txn *t, const char *org, const char *id,
    struct st_webhook *out)
{
	if (entity_get(t, &hook_entity, org, id, out) == 0)
		hook_scrub(out);
	return t->err;
}

int
store_hook_list(struct store_txn *t, const char *org,
    struct st_webhook **out, uint32_t *n)
{
	void *all;
	uint32_t i;

	if (entity_list(t, &hook_entity, org, &all, n) != 0)
		return t->err;
	*out = all;
	for (i = 0; i < *n; i++)
		hook_scrub(&(*out)[i]);
	return 0;
}

int
store_hook_delete(struct store_txn *t, const char *org, const char *id)
{
	struct st_webhook h;

	return entity_delete(t, &hook_entity, org, id, &h);
}

int
store_hook_load(struct store_txn *t, const char *id, struct st_webhook *h)
{
	return entity_load(t, &hook_entity, id, h);
}

void
store_hook_outcome(struct store_txn *t, const char *id, int ok)
{
	struct st_webhook h;

	if (t->err || entity_load(t, &hook_entity, id, &h) != 0)
		return;
	if (ok)
		h.failures = 0;
	else if (++h.failures >= ST_HOOK_FAILURES_OFF && h.enabled) {
		h.enabled = 0;
		h.disabled_at = t->st->now();
		log_info("webhook %s disabled after %u failed deliveries in a "
		    "row", h.id, h.failures);
	}
	entity_save(t, &hook_entity, &h);
	st_webhook_free(&h);
}

int
store_org_hooks(struct store_txn *t, const char *org,
    struct st_webhook **out, uint32_t *n)
{
	MDB_stat ms;
	void *all;
	int rc;

	*out = NULL;
	*n = 0;
	if (t->err)
		return t->err;
	/* No webhook anywhere (the usual case): no walk. */
	if ((rc = mdb_stat(t->txn, t->st->webhook_org, &ms)) != 0)
		return txn_lmdb(t, rc, "stat");
	if (ms.ms_entries > 0 &&
	    entity_list(t, &hook_entity, org, &all, n) == 0)
		*out = all;
	return t->err;
}

/* The retired index (org NUL id): webhook_org holds what it held. */
static int
hookstore_init(struct store_txn *t)
{
	db_retire(t, t->st->hook_org, "hook_org");
	return t->err;
}

const struct store_module hookstore_module = {
	.name = "webhooks",
	.init = hookstore_init,
};

void
store_hooks_free(struct st_webhook *hs, uint32_t n)
{
	entity_free_all(&hook_entity, hs, n);
}

/* The webhook event an event is (ST_HE_*), or 0: typing is none. */
uint32_t
store_event_hook(const struct st_event *ev)
{
	switch (ev->kind) {
	case ST_EV_CONV_CREATED:
		return ST_HE_CONV_CREATED;
	case ST_EV_MESSAGE:
		return ST_HE_MESSAGE_CREATED;
	case ST_EV_HANDOFF:
		return ev->state == ST_HANDOFF_WAITING ?
		    ST_HE_HANDOFF_REQUESTED : ST_HE_HANDOFF_CHANGED;
	case ST_EV_CONTACT:
		return ST_HE_CONTACT_CREATED;
	case ST_EV_CONV_DELETED:
		return ST_HE_CONV_DELETED;
	case ST_EV_STATE:
		return ST_HE_CONV_STATE;
	}
	return 0;
}

/* ------------------------------------------------ its requests (optab.h) */

/* Only the create's and the rotation's replies hold the secret. */
static int
hook_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_webhook_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_webhooks *l = rep;

	(void)gone;
	switch (type) {
	case PROTO_ST_HOOK_CREATE:
		return store_hook_create(t, org, req, rep);
	case PROTO_ST_HOOK_UPDATE:
		return store_hook_update(t, org, u->id, u->mask, &u->h, rep);
	case PROTO_ST_HOOK_GET:
		return store_hook_get(t, org, q->id, rep);
	case PROTO_ST_HOOK_LIST:
		return store_hook_list(t, org, &l->hooks, &l->n);
	case PROTO_ST_HOOK_DELETE:
		return store_hook_delete(t, org, q->id);
	case PROTO_ST_HOOK_SECRET:
		return store_hook_secret(t, org, req, rep);
	}
	return store_fail(t, PROTO_E_UNSUPPORTED, "not a webhook request");
}

const struct entity store_hook_entity = {
	PROTO_ST_HOOK_CREATE, hook_invalid, hook_run
};
