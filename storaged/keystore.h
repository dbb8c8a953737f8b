/*
 * An organisation's API keys (issue 22, proto/keymsg.h), stored by
 * keystore.c. Conventions as in store.h: each operation does nothing
 * when t->err is set and returns t->err; results are filled only on
 * success. org is who asks's organisation: a key of another one is
 * "not found" to every operation.
 */
#ifndef PARLEY_KEYSTORE_H
#define PARLEY_KEYSTORE_H

#include <stdint.h>

#include "keymsg.h"
#include "store.h"

struct st_key_auth_rep;

/*
 * ST_KEY_CREATE: a key of org named name with role, stored under the
 * hash of its secret (ST_KEY_HASH_LEN bytes, made by the worker), at
 * most ST_KEYS_MAX per organisation. out: as stored, its hash left out.
 */
int store_key_create(struct store_txn *, const char *org, const char *name,
    uint8_t role, const uint8_t *hash, uint32_t hash_len,
    struct st_apikey *out);
/* ST_KEY_LIST: org's keys, oldest first, their hashes left out. */
int store_key_list(struct store_txn *, const char *org,
    struct st_apikey **out, uint32_t *n);
/* ST_KEY_DELETE: org's key id is gone, with its hash's entry. */
int store_key_delete(struct store_txn *, const char *org, const char *id);
/*
 * ST_KEY_AUTH: the key whose secret hashes to hash, when there is one
 * and its organisation still exists: *found 1 and *out (hash left out).
 * Its last_used_at moves to now when ST_KEY_USED_EVERY_MS have passed
 * since (a write at most once a minute per key).
 */
int store_key_auth(struct store_txn *, const uint8_t *hash,
    uint32_t hash_len, int *found, struct st_apikey *out);
/*
 * ST_KEY_AUTH's reply: store_key_auth's key, when found, as who asks is
 * (its id, organisation and role); found 0 when none. Errors as above.
 */
int store_key_auth_rep(struct store_txn *, const uint8_t *hash,
    uint32_t hash_len, struct st_key_auth_rep *rep);
void store_keys_free(struct st_apikey *, uint32_t n);

#endif
