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
#include "stmsgs.h"
#include "store.h"

struct ratelimit;

/*
 * The live sessions a login ended to make room (not the expired it
 * deleted: their event streams end at their expiry), for the workers'
 * streams (dispatch.h's cred_gone, user_gone): its own user's alone.
 * While the cap held before it, a login ends one at most, its user's
 * when the user was at ST_DASH_USER_SESSIONS_MAX. Several only of a user
 * over its cap from before there was one: that user, whose streams but
 * the new session's then end (they open again if theirs still holds).
 */
struct dash_ended {
	struct st_cred_gone cred;	/* the first; kind 0: none */
	struct st_user_gone user;	/* a later one's user; id "": none */
};

/*
 * Stores a user's session (hash: ST_DASH_HASH_LEN bytes, csrf:
 * ST_DASH_CSRF_LEN lowercase hex, expires_at in the future; user: a
 * user that exists and is not disabled, and whose password hash is
 * q->pw_hash when one is given, else "not found"), after
 * deleting the expired ones and the user's own that expires first while
 * it has ST_DASH_USER_SESSIONS_MAX (into *ended); with
 * ST_DASH_SESSIONS_MAX of others' left, "full" and nothing stored.
 * device: the user's known-device cookie (devcookie.h) for the browser.
 */
int store_dash_login(struct store_txn *, const struct st_dash_login_req *q,
    struct dash_ended *ended, char device[ST_DASH_DEVICE_LEN + 1]);
/*
 * Reads only. out->valid ST_DASH_VALID (a stored session, not expired,
 * of a user not disabled, in org when org is not "": else in its first
 * organisation that exists), ST_DASH_NOT_MEMBER (org names one the user
 * is not in) or ST_DASH_INVALID. With want_orgs, every membership.
 * Free out with st_rep_free(PROTO_ST_DASH_CHECK).
 */
int store_dash_check(struct store_txn *, const uint8_t *hash, size_t hlen,
    const char *org, int want_orgs, struct st_dash_check_rep *out);
/* An unknown session is not an error. */
int store_dash_logout(struct store_txn *, const uint8_t *hash, size_t hlen);
/* ST_DASH_SALT: the install's fingerprint salt (made at open). 0 or err. */
int store_dash_salt(struct store_txn *, uint8_t salt[ST_DASH_SALT_LEN]);
/*
 * 1 when the install's failed-login budget is spent: failures_max (0: no
 * budget) failures counted under ST_DASH_FAILED_KEY in rl (NULL: none),
 * *retry_ms until one expires; else 0. Counts nothing.
 */
int store_dash_failed_spent(struct ratelimit *, uint32_t failures_max,
    uint64_t *retry_ms);
/*
 * Reads only. 1 when device is a known-device cookie of email
 * (normalised here: any case) that has not expired; else 0, and 0 on
 * an error (t failed).
 */
int store_dash_device_known(struct store_txn *, const char *email,
    const char *device);

#endif
