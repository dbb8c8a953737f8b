/*
 * The dashboard owner's sessions (proto/dashmsg.h, dashstore.c): login,
 * check, logout and the fingerprint salt. The conversation queries the
 * dashboard makes are store.h's. Conventions as in store.h: each
 * operation does nothing when t->err is set and returns t->err; results
 * are filled only on success.
 */
#ifndef PARLEY_DASHSTORE_H
#define PARLEY_DASHSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "dashmsg.h"
#include "store.h"

/* What store_dash_check() returns. */
struct store_dash_check {
	int valid;		/* stored, not expired, made under fp */
	char csrf[ST_DASH_CSRF_LEN + 1];	/* when valid */
	uint64_t expires_at;			/* when valid */
};

/*
 * Stores an owner session (hash: ST_DASH_HASH_LEN bytes, fp:
 * ST_DASH_FP_LEN, csrf: ST_DASH_CSRF_LEN lowercase hex, expires_at in
 * the future), after deleting the expired ones and, at
 * ST_DASH_SESSIONS_MAX, the one that expires first.
 */
int store_dash_login(struct store_txn *, const uint8_t *hash, size_t hlen,
    const char *csrf, const uint8_t *fp, size_t fplen, uint64_t expires_at);
/* Reads only. */
int store_dash_check(struct store_txn *, const uint8_t *hash, size_t hlen,
    const uint8_t *fp, size_t fplen, struct store_dash_check *out);
/* An unknown session is not an error. */
int store_dash_logout(struct store_txn *, const uint8_t *hash, size_t hlen);
/* ST_DASH_SALT: the install's fingerprint salt (made at open). 0 or err. */
int store_dash_salt(struct store_txn *, uint8_t salt[ST_DASH_SALT_LEN]);

#endif
