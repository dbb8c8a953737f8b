/*
 * An organisation's webhooks (issue 23, proto/hookmsg.h): the stored
 * records (hookstore.c). Conventions as in store.h: each operation does
 * nothing when t->err is set and returns t->err; results are filled only
 * on success. Every one acts in organisation org: another organisation's
 * webhook is `not found`.
 */
#ifndef PARLEY_HOOKSTORE_H
#define PARLEY_HOOKSTORE_H

#include <stdint.h>

#include "hookmsg.h"
#include "store.h"

struct st_event;

/*
 * ST_HOOK_CREATE: a new webhook of org from in (id, times and failures
 * made here), checked by st_webhook_invalid, at most ST_HOOKS_MAX in the
 * organisation. out holds the secret (as ST_HOOK_SECRET's alone does).
 */
int store_hook_create(struct store_txn *, const char *org,
    const struct st_webhook *in, struct st_webhook *out);
/*
 * ST_HOOK_SECRET: org's webhook q->id signs with q->secret (the worker's,
 * "whsec_" and more, else `invalid`) from now on, and with the one
 * before beside it for ST_HOOK_SECRET_OVERLAP (an older one dropped).
 * out holds the new secret, never the one before.
 */
int store_hook_secret(struct store_txn *, const char *org,
    const struct st_hook_secret_req *q, struct st_webhook *out);
/*
 * ST_HOOK_UPDATE: the masked fields (ST_HF_*) of in, checked as a whole;
 * enabling it again forgets its failures. out without the secret.
 */
int store_hook_update(struct store_txn *, const char *org, const char *id,
    uint64_t mask, const struct st_webhook *in, struct st_webhook *out);
/* ST_HOOK_GET: out without the secret. */
int store_hook_get(struct store_txn *, const char *org, const char *id,
    struct st_webhook *out);
/* ST_HOOK_LIST: org's webhooks, oldest first, without their secrets. */
int store_hook_list(struct store_txn *, const char *org,
    struct st_webhook **out, uint32_t *n);
/* ST_HOOK_DELETE. */
int store_hook_delete(struct store_txn *, const char *org, const char *id);
/* By id, secret and all (the outbox): 0 loaded, 1 absent, -1 error. */
int store_hook_load(struct store_txn *, const char *id, struct st_webhook *);
/*
 * A delivery of webhook id finished (a gone one: nothing): delivered
 * forgets its failures; failed counts one, and ST_HOOK_FAILURES_OFF in a
 * row disable it (disabled_at set).
 */
void store_hook_outcome(struct store_txn *, const char *id, int ok);
/*
 * org's webhooks, oldest first, secrets and all (the outbox): *out (n
 * of them, NULL for none), for store_hooks_free.
 */
int store_org_hooks(struct store_txn *, const char *org,
    struct st_webhook **out, uint32_t *n);
void store_hooks_free(struct st_webhook *, uint32_t n);
/*
 * The sweep's step (sweep.c) that drops rotated secrets once their day
 * is over: at most max webhooks after cursor (an id; "" the first), each
 * whose previous_secret_until has passed saved without it (*n of them).
 * cursor becomes the last id read, or "" once the walk reached the end.
 */
int store_hook_old_sweep(struct store_txn *, uint32_t max,
    char cursor[ST_HOOK_ID_LEN + 1], uint32_t *n);
/*
 * The webhook event (one ST_HE_* bit) an event is, or 0: typing is none,
 * a handoff to waiting is one requested, any other one changed.
 */
uint32_t store_event_hook(const struct st_event *);

#endif
