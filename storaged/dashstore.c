/*
 * The dashboard owner's sessions (proto/dashmsg.h; see STORAGE.md):
 * login, check and logout, and the install's fingerprint salt they are
 * made with:
 *
 *	dsessions        owner token hash[32] -> owner session
 *	dsess_expiry     u64 expires_at | token hash[32] -> (nothing)
 *	meta             "dash_fp_salt" -> the fingerprint salt[16]
 *
 * Every value starts with ST_RECORD_VERSION.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "dashstore.h"
#include "log.h"
#include "random.h"
#include "storeint.h"

#define SALT_KEY	"dash_fp_salt"

/*
 * The install's fingerprint salt, made once: random bytes that never
 * leave this data directory but in a backup, so a precomputation over
 * passwords is good for one install only.
 */
static int
salt_init(struct store_txn *t)
{
	uint8_t rec[1 + ST_DASH_SALT_LEN];
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, SALT_KEY, strlen(SALT_KEY), &v,
	    "get fingerprint salt")) <= 0)
		return rc;
	rec[0] = ST_RECORD_VERSION;
	proto_random(rec + 1, ST_DASH_SALT_LEN);
	db_put(t, t->st->meta, SALT_KEY, strlen(SALT_KEY), rec, sizeof(rec),
	    "put fingerprint salt");
	log_info("made this install's dashboard fingerprint salt");
	return t->err;
}

int
store_dash_salt(struct store_txn *t, uint8_t salt[ST_DASH_SALT_LEN])
{
	MDB_val v;
	int rc;

	if (t->err)
		return t->err;
	if ((rc = db_get(t, t->st->meta, SALT_KEY, strlen(SALT_KEY), &v,
	    "get fingerprint salt")) < 0)
		return t->err;
	if (rc > 0 || v.mv_size != 1 + ST_DASH_SALT_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "fingerprint salt");
		return t->err;
	}
	memcpy(salt, (uint8_t *)v.mv_data + 1, ST_DASH_SALT_LEN);
	return 0;
}

const struct store_module dashstore_module = {
	.name = "dashboard",
	.init = salt_init,
};

/* ----------------------------------------------------------- owner sessions */

struct dsess {
	char csrf[ST_DASH_CSRF_LEN + 1];
	uint8_t fp[ST_DASH_FP_LEN];
	uint64_t expires_at;
	uint64_t created_at;
};

/* NULL when the hash (and fp, when given) are well-formed, else why not. */
static const char *
dash_invalid(size_t hlen, const uint8_t *fp, size_t fplen)
{
	if (hlen != ST_DASH_HASH_LEN)
		return "token_hash must be 32 bytes";
	if (fp != NULL && fplen != ST_DASH_FP_LEN)
		return "fp must be 32 bytes";
	return NULL;
}

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

/* 0 loaded, 1 absent, -1 error. */
static int
dsess_load(struct store_txn *t, const uint8_t *hash, struct dsess *s)
{
	const uint8_t *fp;
	struct pdec d;
	size_t n;
	int rc;

	if ((rc = rec_get(t, t->st->dsessions, hash, ST_DASH_HASH_LEN, &d,
	    "owner session")) != 0)
		return rc;
	memset(s, 0, sizeof(*s));
	pdec_strbuf(&d, s->csrf, sizeof(s->csrf));
	fp = pdec_bytes(&d, &n);
	s->expires_at = pdec_u64(&d);
	s->created_at = pdec_u64(&d);
	if (pdec_done(&d) < 0 || n != ST_DASH_FP_LEN) {
		rec_corrupt(t, "owner session");
		return -1;
	}
	memcpy(s->fp, fp, ST_DASH_FP_LEN);
	return 0;
}

static void
dsess_save(struct store_txn *t, const uint8_t *hash, const struct dsess *s)
{
	uint8_t k[EXPIRY_KEY_LEN];
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_str(&e, s->csrf);
	penc_bytes(&e, s->fp, ST_DASH_FP_LEN);
	penc_u64(&e, s->expires_at);
	penc_u64(&e, s->created_at);
	rec_put(t, t->st->dsessions, hash, ST_DASH_HASH_LEN, &e,
	    "put owner session");
	penc_free(&e);
	expiry_key(k, s->expires_at, hash);
	db_put(t, t->st->dsess_expiry, k, sizeof(k), &rec_version, 1,
	    "put owner session expiry");
}

static void
dsess_delete(struct store_txn *t, const uint8_t *hash, uint64_t expires_at)
{
	uint8_t k[EXPIRY_KEY_LEN];

	expiry_key(k, expires_at, hash);
	db_del(t, t->st->dsess_expiry, k, sizeof(k),
	    "delete owner session expiry");
	db_del(t, t->st->dsessions, hash, ST_DASH_HASH_LEN,
	    "delete owner session");
}

/*
 * From the front of the expiry index: every session expired by now,
 * then the ones that expire first while more than keep remain.
 */
static void
dsess_trim(struct store_txn *t, uint64_t now, size_t keep)
{
	uint8_t hash[ST_DASH_HASH_LEN];
	MDB_cursor *cur;
	MDB_stat ms;
	MDB_val k, v;
	size_t swept = 0, evicted = 0;
	int rc;

	if (t->err)
		return;
	if ((rc = mdb_cursor_open(t->txn, t->st->dsess_expiry, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	for (;;) {
		if ((rc = mdb_stat(t->txn, t->st->dsessions, &ms)) != 0 ||
		    (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0)
			break;
		if (k.mv_size != EXPIRY_KEY_LEN) {
			log_warnx("owner session expiry: key of %zu bytes",
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		if (proto_get_be64(k.mv_data) > now) {
			if (ms.ms_entries <= keep)
				break;
			evicted++;
		} else
			swept++;
		memcpy(hash, (uint8_t *)k.mv_data + 8, sizeof(hash));
		if ((rc = db_cursor_del(t, cur, t->st->dsess_expiry, &k)) != 0)
			break;
		db_del(t, t->st->dsessions, hash, sizeof(hash),
		    "delete owner session");
		if (t->err)
			break;
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "trim owner sessions");
	if (!t->err && evicted > 0)
		log_info("owner sessions at %d: ended the %zu expiring first",
		    ST_DASH_SESSIONS_MAX, evicted);
	if (!t->err && swept > 0)
		log_debug("owner sessions: %zu expired deleted", swept);
}

int
store_dash_login(struct store_txn *t, const uint8_t *hash, size_t hlen,
    const char *csrf, const uint8_t *fp, size_t fplen, uint64_t expires_at)
{
	struct dsess s, old;
	const char *bad;
	uint64_t now;
	int rc;

	if (t->err)
		return t->err;
	if ((bad = dash_invalid(hlen, fp, fplen)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if (!csrf_valid(csrf))
		return store_fail(t, PROTO_E_INVALID,
		    "csrf must be 64 lowercase hex digits");
	now = t->st->now();
	if (expires_at <= now)
		return store_fail(t, PROTO_E_INVALID,
		    "expires_at must be in the future");
	/* The same token again replaces its session. */
	if ((rc = dsess_load(t, hash, &old)) < 0)
		return t->err;
	if (rc == 0)
		dsess_delete(t, hash, old.expires_at);
	dsess_trim(t, now, ST_DASH_SESSIONS_MAX - 1);
	memset(&s, 0, sizeof(s));
	memcpy(s.csrf, csrf, sizeof(s.csrf));
	memcpy(s.fp, fp, sizeof(s.fp));
	s.expires_at = expires_at;
	s.created_at = now;
	dsess_save(t, hash, &s);
	return t->err;
}

int
store_dash_check(struct store_txn *t, const uint8_t *hash, size_t hlen,
    const uint8_t *fp, size_t fplen, struct store_dash_check *out)
{
	struct dsess s;
	const char *bad;
	int rc;

	if (t->err)
		return t->err;
	if ((bad = dash_invalid(hlen, fp, fplen)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	memset(out, 0, sizeof(*out));
	if ((rc = dsess_load(t, hash, &s)) < 0)
		return t->err;
	/* A password change makes every fingerprint before it stale. */
	if (rc == 0 && s.expires_at > t->st->now() &&
	    CRYPTO_memcmp(s.fp, fp, ST_DASH_FP_LEN) == 0) {
		out->valid = 1;
		memcpy(out->csrf, s.csrf, sizeof(out->csrf));
		out->expires_at = s.expires_at;
	}
	return 0;
}

int
store_dash_logout(struct store_txn *t, const uint8_t *hash, size_t hlen)
{
	struct dsess s;
	const char *bad;
	int rc;

	if (t->err)
		return t->err;
	if ((bad = dash_invalid(hlen, NULL, 0)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if ((rc = dsess_load(t, hash, &s)) < 0)
		return t->err;
	if (rc == 0)
		dsess_delete(t, hash, s.expires_at);
	return t->err;
}
