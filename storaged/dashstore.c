/*
 * The dashboard's sessions (proto/dashmsg.h; see STORAGE.md): login,
 * check and logout of a user's session, and the install's fingerprint
 * salt (DASHBOARD_PASSWORD's first owner, usermsg.h's ST_USER_BOOT):
 *
 *	dsessions        token hash[32] -> session (format 2: its user)
 *	dsess_expiry     u64 expires_at | token hash[32] -> (nothing)
 *	dsess_user       user id | token hash[32] -> (nothing)
 *	meta             "dash_fp_salt" -> the fingerprint salt[16]
 *
 * Every value starts with its format: ST_RECORD_VERSION, a session its
 * rows' (recordtab.h's ST_DSESS_ROWS).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dashstore.h"
#include "devcookie.h"
#include "log.h"
#include "orgstore.h"
#include "ratelimit.h"
#include "stmsgs.h"
#include "storeint.h"
#include "usermsg.h"

#define SALT_KEY	"dash_fp_salt"
#define DEVICE_KEY	"dash_device_key"

/*
 * The install's fingerprint salt and device key, made once: random
 * bytes that never leave this data directory but in a backup, so a
 * precomputation over passwords is good for one install only, and a
 * known-device cookie (devcookie.h) is made by this install alone.
 */
static int
secrets_init(struct store_txn *t)
{
	if (meta_secret_make(t, SALT_KEY, ST_DASH_SALT_LEN,
	    "dashboard fingerprint salt") != 0)
		return t->err;
	return meta_secret_make(t, DEVICE_KEY, DEVCOOKIE_KEY_LEN,
	    "dashboard device key");
}

int
store_dash_salt(struct store_txn *t, uint8_t salt[ST_DASH_SALT_LEN])
{
	if (t->err)
		return t->err;
	return meta_secret_get(t, SALT_KEY, salt, ST_DASH_SALT_LEN,
	    "fingerprint salt");
}

const struct store_module dashstore_module = {
	.name = "dashboard",
	.init = secrets_init,
};

/* ----------------------------------------------------------- user sessions */

static int
csrf_valid(const char *s)
{
	size_t i;

	for (i = 0; i < ST_DASH_CSRF_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[ST_DASH_CSRF_LEN] == '\0';
}

/*
 * 0 loaded, 1 absent, -1 error. A format-1 session (usermsg.h's
 * ST_DSESS_ROWS) loads with no user.
 */
static int
dsess_load(struct store_txn *t, const uint8_t *hash, struct st_dsess *s)
{
	return rec_load(t, t->st->dsessions, hash, ST_DASH_HASH_LEN,
	    &st_dsess_layout, s, "session");
}

/* The by-user index's key: user id | token hash. */
static size_t
user_key(uint8_t k[ST_USER_ID_MAX + ST_DASH_HASH_LEN], const char *user,
    const uint8_t *hash)
{
	return key_join(k, user, strlen(user), hash, ST_DASH_HASH_LEN);
}

static void
dsess_save(struct store_txn *t, const uint8_t *hash, const struct st_dsess *s)
{
	uint8_t k[EXPIRY_KEY_LEN], uk[ST_USER_ID_MAX + ST_DASH_HASH_LEN];

	if (t->err)
		return;
	rec_put_rows(t, t->st->dsessions, hash, ST_DASH_HASH_LEN,
	    &st_dsess_layout, s, "put session");
	expiry_key(k, s->expires_at, hash);
	db_mark(t, t->st->dsess_expiry, k, sizeof(k), "put session expiry");
	db_mark(t, t->st->dsess_user, uk, user_key(uk, s->user, hash),
	    "put session user");
}

static void
dsess_delete(struct store_txn *t, const uint8_t *hash, const struct st_dsess *s)
{
	uint8_t k[EXPIRY_KEY_LEN], uk[ST_USER_ID_MAX + ST_DASH_HASH_LEN];

	expiry_key(k, s->expires_at, hash);
	db_del(t, t->st->dsess_expiry, k, sizeof(k),
	    "delete session expiry");
	if (s->user[0] != '\0')
		db_del_quiet(t, t->st->dsess_user, uk,
		    user_key(uk, s->user, hash), "delete session user");
	db_del(t, t->st->dsessions, hash, ST_DASH_HASH_LEN,
	    "delete session");
}

/* dsess_delete() of the session under hash, when there is one. */
static void
dsess_drop(struct store_txn *t, const uint8_t *hash)
{
	struct st_dsess s;

	if (dsess_load(t, hash, &s) == 0)
		dsess_delete(t, hash, &s);
}

/*
 * dsess_drop(), of a session ended to make room when e is not NULL: it
 * goes into e (struct dash_ended).
 */
static void
dsess_evict(struct store_txn *t, const uint8_t *hash, struct dash_ended *e)
{
	struct st_dsess s;

	if (dsess_load(t, hash, &s) != 0)
		return;
	dsess_delete(t, hash, &s);
	if (t->err || e == NULL)
		return;
	if (e->cred.kind == 0) {
		e->cred.kind = ST_WHO_SESSION;
		proto_hex_encode(hash, ST_DASH_WHO_BYTES, e->cred.id);
	} else
		strlcpy(e->user.id, s.user, sizeof(e->user.id));
}

/* From the front of the expiry index: every session expired by now. */
static void
dsess_sweep(struct store_txn *t, uint64_t now)
{
	uint8_t hash[ST_DASH_HASH_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	size_t swept = 0;
	int rc;

	if (t->err)
		return;
	if ((rc = mdb_cursor_open(t->txn, t->st->dsess_expiry, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	for (;;) {
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0)
			break;
		if (k.mv_size != EXPIRY_KEY_LEN) {
			log_warnx("session expiry: key of %zu bytes",
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		if (proto_get_be64(k.mv_data) > now)
			break;
		swept++;
		memcpy(hash, (uint8_t *)k.mv_data + 8, sizeof(hash));
		/* The cursor's position goes with what dsess_evict deletes. */
		mdb_cursor_close(cur);
		cur = NULL;
		dsess_evict(t, hash, NULL);
		if (t->err)
			break;
		if ((rc = mdb_cursor_open(t->txn, t->st->dsess_expiry,
		    &cur)) != 0)
			break;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "trim sessions");
	if (!t->err && swept > 0)
		log_debug("sessions: %zu expired deleted", swept);
}

/* The sessions stored (0 on an error: t failed). */
static size_t
dsess_count(struct store_txn *t)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, t->st->dsessions, &ms)) != 0) {
		txn_lmdb(t, rc, "count sessions");
		return 0;
	}
	return ms.ms_entries;
}

/*
 * How many sessions user has into *n and, when any, the hash of the one
 * that expires first into first. 0, or -1 (t failed).
 */
static int
dsess_user_first(struct store_txn *t, const char *user, size_t *n,
    uint8_t first[ST_DASH_HASH_LEN])
{
	size_t plen = strlen(user);
	uint64_t soonest = UINT64_MAX;
	struct st_dsess s;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->dsess_user, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	k.mv_data = (void *)user;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    rc == 0 && key_in(&k, user, plen);
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* Another user's, whose id starts with this one. */
		if (k.mv_size != plen + ST_DASH_HASH_LEN)
			continue;
		if ((rc = dsess_load(t, (uint8_t *)k.mv_data + plen, &s)) < 0)
			break;
		if (rc == 1)
			continue;
		(*n)++;
		if (s.expires_at < soonest) {
			soonest = s.expires_at;
			memcpy(first, (uint8_t *)k.mv_data + plen,
			    ST_DASH_HASH_LEN);
		}
	}
	mdb_cursor_close(cur);
	/* rc 0: past the user's keys. */
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "sessions of a user");
	return t->err ? -1 : 0;
}

/*
 * While user has ST_DASH_USER_SESSIONS_MAX sessions or more, the one
 * that expires first goes (into e): so one user's logins make room
 * among its own sessions only, never another's.
 */
static void
dsess_user_trim(struct store_txn *t, const char *user, struct dash_ended *e)
{
	uint8_t first[ST_DASH_HASH_LEN];
	size_t n, ended = 0;

	while (dsess_user_first(t, user, &n, first) == 0 &&
	    n >= ST_DASH_USER_SESSIONS_MAX) {
		dsess_evict(t, first, e);
		ended++;
	}
	if (!t->err && ended > 0)
		log_info("sessions of %s at %d: ended the %zu expiring first",
		    user, ST_DASH_USER_SESSIONS_MAX, ended);
}

int
dsess_end_user(struct store_txn *t, const char *user, const char *keep)
{
	uint8_t k[ST_USER_ID_MAX + ST_DASH_HASH_LEN];
	uint8_t hash[ST_DASH_HASH_LEN];
	char hex[2 * ST_DASH_WHO_BYTES + 1];
	size_t plen = strlen(user), klen = plen, ended = 0;
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	if (t->err)
		return -1;
	memcpy(k, user, plen);
	for (;;) {
		if ((rc = mdb_cursor_open(t->txn, t->st->dsess_user,
		    &cur)) != 0)
			break;
		key.mv_data = k;
		key.mv_size = klen;
		rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
		/* Past the kept one: the next after it. */
		if (rc == 0 && klen > plen && key.mv_size == klen &&
		    memcmp(key.mv_data, k, klen) == 0)
			rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
		if (rc == 0 && (key.mv_size != plen + ST_DASH_HASH_LEN ||
		    memcmp(key.mv_data, user, plen) != 0))
			rc = MDB_NOTFOUND;
		if (rc == 0)
			memcpy(hash, (uint8_t *)key.mv_data + plen,
			    sizeof(hash));
		mdb_cursor_close(cur);
		if (rc != 0)
			break;
		proto_hex_encode(hash, ST_DASH_WHO_BYTES, hex);
		if (keep != NULL && strcmp(hex, keep) == 0) {
			memcpy(k + plen, hash, sizeof(hash));
			klen = plen + sizeof(hash);
			continue;
		}
		/* Its index entry goes with it, so the next is first. */
		db_del(t, t->st->dsess_user, key.mv_data, key.mv_size,
		    "delete session user");
		dsess_drop(t, hash);
		if (t->err)
			return -1;
		ended++;
	}
	if (rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "sessions of a user");
		return -1;
	}
	if (ended > 0)
		log_info("ended %zu dashboard sessions of %s", ended, user);
	return 0;
}

/* t failed already, or now when a token hash is not hlen's 32 bytes. */
static int
token_hash_bad(struct store_txn *t, size_t hlen)
{
	if (t->err)
		return 1;
	if (hlen != ST_DASH_HASH_LEN) {
		store_fail(t, PROTO_E_INVALID, "token_hash must be 32 bytes");
		return 1;
	}
	return 0;
}

int
store_dash_login(struct store_txn *t, const struct st_dash_login_req *q,
    struct dash_ended *ended, char device[ST_DASH_DEVICE_LEN + 1])
{
	uint8_t key[DEVCOOKIE_KEY_LEN];
	const uint8_t *hash = q->token_hash;
	const char *user = q->user;
	struct st_user u;
	struct st_dsess s;
	uint64_t now;
	int rc;

	memset(ended, 0, sizeof(*ended));
	device[0] = '\0';
	if (token_hash_bad(t, q->token_hash_len))
		return t->err;
	if (!csrf_valid(q->csrf))
		return store_fail(t, PROTO_E_INVALID,
		    "csrf must be 64 lowercase hex digits");
	now = t->st->now();
	if (q->expires_at <= now)
		return store_fail(t, PROTO_E_INVALID,
		    "expires_at must be in the future");
	if ((rc = user_load(t, user, &u)) < 0)
		return t->err;
	/*
	 * A password changed since the worker read the hash it checked ended
	 * the user's sessions: a login of the old one makes none; nor one
	 * of a user acting in no organisation (disabled since).
	 */
	rc = rc == 1 || user_acting(t, &u) == NULL ||
	    (q->pw_hash_len == sizeof(u.hash) &&
	    CRYPTO_memcmp(u.hash, q->pw_hash, sizeof(u.hash)) != 0);
	if (rc == 0 && meta_secret_get(t, DEVICE_KEY, key, sizeof(key),
	    "device key") == 0)
		devcookie_make(key, u.email, now +
		    (uint64_t)ST_DASH_DEVICE_DAYS * 86400 * 1000, device);
	explicit_bzero(key, sizeof(key));
	st_user_free(&u);
	if (t->err)
		return t->err;
	if (rc)
		return store_fail(t, PROTO_E_NOT_FOUND, "no such user");
	/*
	 * The same token again replaces its session; the expired go; then
	 * room among the user's own. The install full of other users'
	 * sessions refuses this one: ending theirs let one organisation's
	 * logins end every other's.
	 */
	dsess_drop(t, hash);
	dsess_sweep(t, now);
	dsess_user_trim(t, user, ended);
	if (!t->err && dsess_count(t) >= ST_DASH_SESSIONS_MAX) {
		log_warnx("sessions at %d: a login of %s refused",
		    ST_DASH_SESSIONS_MAX, user);
		return store_fail(t, PROTO_E_FULL, "too many sessions");
	}
	if (ended->user.id[0] != '\0')
		proto_hex_encode(hash, ST_DASH_WHO_BYTES, ended->user.keep);
	memset(&s, 0, sizeof(s));
	memcpy(s.csrf, q->csrf, sizeof(s.csrf));
	strlcpy(s.user, user, sizeof(s.user));
	s.expires_at = q->expires_at;
	s.created_at = now;
	dsess_save(t, hash, &s);
	return t->err;
}

/* 1 when org exists, else 0 (t failed on -1). */
static int
org_there(struct store_txn *t, const char *org)
{
	return store_org_exists(t, org) == 1;
}

/* u's memberships with their organisations' names, for the switcher. */
static int
session_orgs(struct store_txn *t, const struct st_user *u,
    struct st_dash_session *out)
{
	struct st_org o;
	uint32_t i;

	if (u->n == 0)
		return 0;
	if ((out->orgs = calloc(u->n, sizeof(*out->orgs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < u->n && !t->err; i++) {
		if (u->mems[i].disabled || !org_there(t, u->mems[i].org) ||
		    store_org_get(t, u->mems[i].org, &o) != 0)
			continue;
		strlcpy(out->orgs[out->n].id, o.id, sizeof(out->orgs[0].id));
		out->orgs[out->n].name = o.name;
		o.name = NULL;
		out->orgs[out->n].role = u->mems[i].role;
		out->n++;
		st_org_free(&o);
	}
	return t->err;
}

int
store_dash_check(struct store_txn *t, const uint8_t *hash, size_t hlen,
    const char *org, int want_orgs, struct st_dash_check_rep *out)
{
	const struct st_member *m = NULL;
	struct st_user u;
	struct st_dsess s;
	int rc;

	if (token_hash_bad(t, hlen))
		return t->err;
	memset(out, 0, sizeof(*out));
	if ((rc = dsess_load(t, hash, &s)) != 0 ||
	    s.expires_at <= t->st->now() || s.user[0] == '\0')
		return rc < 0 ? t->err : 0;
	if ((rc = user_load(t, s.user, &u)) != 0)
		return rc < 0 ? t->err : 0;
	if (u.disabled)
		goto out;
	/*
	 * The one asked for, or the first whose organisation exists; a
	 * membership disabled there is none, and so is one of an
	 * organisation deleted (its memberships are swept after).
	 */
	if (org[0] != '\0') {
		if ((m = st_user_acts(&u, org)) != NULL && !org_there(t, org))
			m = NULL;
	} else
		m = user_acting(t, &u);
	if (m == NULL) {
		out->valid = org[0] != '\0' ? ST_DASH_NOT_MEMBER :
		    ST_DASH_INVALID;
		goto out;
	}
	out->valid = ST_DASH_VALID;
	memcpy(out->s.csrf, s.csrf, sizeof(out->s.csrf));
	out->s.expires_at = s.expires_at;
	strlcpy(out->s.user, u.id, sizeof(out->s.user));
	strlcpy(out->s.email, u.email, sizeof(out->s.email));
	out->s.name = u.name;
	u.name = NULL;
	strlcpy(out->s.org, m->org, sizeof(out->s.org));
	out->s.role = m->role;
	if (want_orgs && session_orgs(t, &u, &out->s) != 0)
		st_rep_free(PROTO_ST_DASH_CHECK, out);
out:
	st_user_free(&u);
	return t->err;
}

int
store_dash_logout(struct store_txn *t, const uint8_t *hash, size_t hlen)
{
	if (token_hash_bad(t, hlen))
		return t->err;
	dsess_drop(t, hash);
	return t->err;
}

int
store_dash_device_known(struct store_txn *t, const char *email,
    const char *device)
{
	uint8_t key[DEVCOOKIE_KEY_LEN];
	char norm[ST_EMAIL_MAX + 1];
	int known;

	if (device[0] == '\0' || st_email_normal(email, norm) != NULL ||
	    meta_secret_get(t, DEVICE_KEY, key, sizeof(key), "device key") != 0)
		return 0;
	known = devcookie_valid(key, norm, device, t->st->now());
	explicit_bzero(key, sizeof(key));
	return known;
}

int
store_dash_failed_spent(struct ratelimit *rl, uint32_t failures_max,
    uint64_t *retry_ms)
{
	return failures_max != 0 && rl != NULL &&
	    ratelimit_peek(rl, ST_DASH_FAILED_KEY,
	    strlen(ST_DASH_FAILED_KEY), failures_max, retry_ms);
}
