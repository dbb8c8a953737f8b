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

/*
 * ST_HOOK_CREATE: a new webhook of org from in (id, times and failures
 * made here), checked by st_webhook_invalid, at most ST_HOOKS_MAX in the
 * organisation. out holds the secret: the one reply that does.
 */
int store_hook_create(struct store_txn *, const char *org,
    const struct st_webhook *in, struct st_webhook *out);
/*
 * ST_HOOK_UPDATE: the masked fields (ST_HF_*) of in, checked as a whole;
 * enabling it again forgets its failures. out without the secret.
 */
int store_hook_update(struct store_txn *, const char *org, const char *id,
    uint32_t mask, const struct st_webhook *in, struct st_webhook *out);
/* ST_HOOK_GET: out without the secret. */
int store_hook_get(struct store_txn *, const char *org, const char *id,
    struct st_webhook *out);
/* ST_HOOK_LIST: org's webhooks, oldest first, without their secrets. */
int store_hook_list(struct store_txn *, const char *org,
    struct st_webhook **out, uint32_t *n);
/* ST_HOOK_DELETE. */
int store_hook_delete(struct store_txn *, const char *org, const char *id);
/* A deleted organisation's webhooks, at most max of them: *n deleted. */
int store_org_hooks_sweep(struct store_txn *, const char *org, uint32_t max,
    uint32_t *n);
void store_hooks_free(struct st_webhook *, uint32_t n);

#endif
