/*
 * Organisations (issue 22, proto/orgmsg.h): the stored records
 * (orgstore.c), the default one made at start. Conventions as in
 * store.h: each operation does nothing when t->err is set and returns
 * t->err; results are filled only on success.
 */
#ifndef PARLEY_ORGSTORE_H
#define PARLEY_ORGSTORE_H

#include <stdint.h>

#include "orgmsg.h"
#include "store.h"

/*
 * ST_ORG_CREATE: a new organisation from in (id and times made here),
 * checked by st_org_invalid, at most ST_ORGS_MAX (the default counted).
 */
int store_org_create(struct store_txn *, const struct st_org *in,
    struct st_org *out);
/* ST_ORG_UPDATE: the masked fields (ST_OF_*) of in, checked as a whole. */
int store_org_update(struct store_txn *, const char *id, uint64_t mask,
    const struct st_org *in, struct st_org *out);
/* ST_ORG_GET: "not found" for an unknown id. */
int store_org_get(struct store_txn *, const char *id, struct st_org *out);
/* 1 when id names an organisation, 0 when not, -1 on t's error. */
int store_org_exists(struct store_txn *, const char *id);
/* ST_ORG_LIST: every organisation, the default first, then oldest first. */
int store_org_list(struct store_txn *, struct st_org **out, uint32_t *n);
/* ST_ORG_DELETE: `invalid` for the default one, else it is gone. */
int store_org_delete(struct store_txn *, const char *id);
/*
 * One bounded step of a deleted organisation's removal (ST_ORG_DELETE
 * removes its record at once and marks it in org_gone): at most max of
 * its conversations (their messages left to store_msgs_gone_sweep),
 * none more once deadline (proto_mono_us(); 0: none) has passed, and
 * in what is left of max and of the time its contacts, widgets (their
 * visitor sessions and day counts follow through the session sweep),
 * agents, API keys, webhooks, audit entries, memberships (a user left
 * with none deleted) and invitations. *removed: how many; *more: call
 * again (a later step finds none left, forgets the organisation, and
 * goes on to the next).
 */
int store_org_sweep(struct store_txn *, uint32_t max, uint64_t deadline,
    uint32_t *removed, int *more);
void store_orgs_free(struct st_org *, uint32_t n);

#endif
