/*
 * An organisation's API keys (see STORAGE.md, keystore.h), a records.c
 * entity:
 *
 *	apikeys       id ("key_" + 32 hex) -> key (its rows, ST_APIKEY_ROWS,
 *	              with the SHA-256 of its secret)
 *	apikey_order  u64 created_at | id -> ()
 *	apikey_hash   SHA-256 of the secret[32] -> id: how a request's key
 *	              is found
 *	apikey_org    org NUL u64 created_at | id -> (): an organisation's
 *	              keys, oldest first, and their count
 *
 * Every value starts with its layout's format, ST_RECORD_VERSION; the
 * walks of its rows (record.h) copy it. The secret itself is never here:
 * the worker makes it and sends its hash.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keystore.h"
#include "log.h"
#include "orgstore.h"
#include "records.h"
#include "stmsgs.h"
#include "storeint.h"

/* Its own check: a role of 1 to 3 (keymsg.c). */
static const char *
key_invalid(const void *rec)
{
	return st_apikey_invalid(rec);
}

/* A new key's entry beside its record: by hash. */
static int
key_index_put(struct store_txn *t, void *rec)
{
	struct st_apikey *k = rec;
	uint8_t v[1 + ST_KEY_ID_LEN];

	v[0] = rec_version;
	memcpy(v + 1, k->id, ST_KEY_ID_LEN);
	db_put(t, t->st->apikey_hash, k->hash, ST_KEY_HASH_LEN, v, sizeof(v),
	    "api key hash");
	return t->err ? -1 : 0;
}

static void
key_index_del(struct store_txn *t, const void *rec)
{
	const struct st_apikey *k = rec;

	db_del(t, t->st->apikey_hash, k->hash, ST_KEY_HASH_LEN,
	    "api key hash");
}

/* Keys are not changed, only made and deleted. */
static int
key_merge(struct store_txn *t, void *curp, void *reqp, uint64_t mask,
    void *arg)
{
	return store_fail(t, PROTO_E_UNSUPPORTED, "api keys do not change");
}

const struct store_entity key_entity = {
	ENTITY_NAMES("api key", "no such api key", "api keys: too many"),
	ENTITY_RECORD(apikey, apikeys, apikey_order),
	ENTITY_OF_ORG(apikey, apikey_org, ST_KEYS_MAX),
	.org_full = "api keys: at most 100",
	ENTITY_IDS(ST_KEY_PREFIX, ST_KEY_ID_LEN, st_key_id_valid),
	.invalid = key_invalid,
	.merge = key_merge,
	.index_put = key_index_put,
	.index_del = key_index_del,
};

/* What leaves storaged: never the hash. */
static void
key_scrub(struct st_apikey *k)
{
	memset(k->hash, 0, sizeof(k->hash));
	k->hash_len = 0;
}

int
store_key_create(struct store_txn *t, const char *org, const char *name,
    uint8_t role, const uint8_t *hash, uint32_t hash_len,
    struct st_apikey *out)
{
	struct st_apikey in;

	if (t->err)
		return t->err;
	if (hash_len != ST_KEY_HASH_LEN)
		return store_fail(t, PROTO_E_INVALID, "hash: must be 32 bytes");
	memset(&in, 0, sizeof(in));
	in.name = (char *)name;		/* copied by entity_create */
	in.role = role;
	memcpy(in.hash, hash, ST_KEY_HASH_LEN);
	in.hash_len = ST_KEY_HASH_LEN;
	if (entity_create(t, &key_entity, org, &in, out) == 0)
		key_scrub(out);
	return t->err;
}

int
store_key_list(struct store_txn *t, const char *org, struct st_apikey **out,
    uint32_t *n)
{
	void *all;
	uint32_t i;

	if (entity_list(t, &key_entity, org, &all, n) != 0)
		return t->err;
	*out = all;
	for (i = 0; i < *n; i++)
		key_scrub(&(*out)[i]);
	return 0;
}

int
store_key_delete(struct store_txn *t, const char *org, const char *id)
{
	struct st_apikey k;

	/* Another organisation's key is one this one does not have. */
	return entity_delete(t, &key_entity, org, id, &k);
}

/* The key stored under hash: 0 loaded, 1 none, -1 t failed. */
static int
key_by_hash(struct store_txn *t, const uint8_t *hash, struct st_apikey *k)
{
	char id[ST_KEY_ID_LEN + 1];
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->apikey_hash, hash, ST_KEY_HASH_LEN, &v,
	    "api key hash")) != 0)
		return rc;
	if (v.mv_size != 1 + ST_KEY_ID_LEN ||
	    ((uint8_t *)v.mv_data)[0] != rec_version) {
		rec_corrupt(t, "api key hash");
		return -1;
	}
	memcpy(id, (uint8_t *)v.mv_data + 1, ST_KEY_ID_LEN);
	id[ST_KEY_ID_LEN] = '\0';
	if ((rc = entity_load(t, &key_entity, id, k)) == 1) {
		log_warnx("api key hash names a missing key");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
	}
	return rc == 0 ? 0 : -1;
}

int
store_key_auth(struct store_txn *t, const uint8_t *hash, uint32_t hash_len,
    int *found, struct st_apikey *out)
{
	struct st_apikey k;
	uint64_t now;
	int rc;

	*found = 0;
	if (t->err)
		return t->err;
	if (hash_len != ST_KEY_HASH_LEN)
		return store_fail(t, PROTO_E_INVALID, "hash: must be 32 bytes");
	if ((rc = key_by_hash(t, hash, &k)) != 0)
		return rc < 0 ? t->err : 0;
	/* The index is exact; the compare costs nothing and says so. */
	if (CRYPTO_memcmp(k.hash, hash, ST_KEY_HASH_LEN) != 0 ||
	    (rc = store_org_exists(t, k.org)) != 1) {
		st_apikey_free(&k);
		return t->err;
	}
	now = t->st->now();
	if (now >= k.last_used_at + ST_KEY_USED_EVERY_MS ||
	    now < k.last_used_at) {
		k.last_used_at = now;
		entity_save(t, &key_entity, &k);
	}
	if (t->err) {
		st_apikey_free(&k);
		return t->err;
	}
	key_scrub(&k);
	*out = k;
	*found = 1;
	return 0;
}

int
store_key_auth_rep(struct store_txn *t, const uint8_t *hash,
    uint32_t hash_len, struct st_key_auth_rep *rep)
{
	struct st_apikey k;
	int found;

	memset(rep, 0, sizeof(*rep));
	if (store_key_auth(t, hash, hash_len, &found, &k) != 0 || !found)
		return t->err;
	rep->found = 1;
	strlcpy(rep->k.id, k.id, sizeof(rep->k.id));
	strlcpy(rep->k.org, k.org, sizeof(rep->k.org));
	rep->k.role = k.role;
	st_apikey_free(&k);
	return 0;
}

void
store_keys_free(struct st_apikey *keys, uint32_t n)
{
	entity_free_all(&key_entity, keys, n);
}
