/*
 * The dashboard's requests (proto/dashmsg.h): owner sessions, the
 * conversation query (widget filter, search), deletion and message
 * paging, through the dispatcher, against a real LMDB environment in a
 * fresh temporary directory per test, with a fake clock.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agentmsg.h"
#include "dashmsg.h"
#include "dashstore.h"
#include "exportrows.h"
#include "log.h"
#include "recbytes.h"
#include "test_fixture.h"
#include "widgetmsg.h"

#define HOUR	3600000ull

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-dash-XXXXXX", 1);
}

/* ------------------------------------------------ behind the store's back */

/* Empties named databases, as a data directory made before them is. */
static void
db_clear(struct fix *f, const char *db1, const char *db2)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db1, 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	if (db2 != NULL) {
		assert_int_equal(mdb_dbi_open(txn, db2, 0, &dbi), 0);
		assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

/* The indexes older storageds kept, each emptied at open. */
static const char *const retired[] = {
	"activity", "widget_activity", "widget_counts", "org_activity",
	"org_counts",
};
#define NRETIRED (sizeof(retired) / sizeof(retired[0]))

static void
retired_empty(struct fix *f)
{
	size_t r;

	for (r = 0; r < NRETIRED; r++)
		assert_int_equal(db_entries(f, retired[r]), 0);
}

/* ------------------------------------------------ conversations */

static void
conv_new(struct fix *f, const char *w, const char *s, struct st_conv *c)
{
	struct penc e;
	struct dreply r;
	struct pdec d;

	penc_init(&e);
	penc_str(&e, w);
	penc_str(&e, s);
	assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), 1);
	assert_int_equal(pdec_conv(&d, c), 0);
	assert_int_equal(pdec_done(&d), 0);
	dreply_free(&r);
}

/* A new conversation's id, at the fake clock's time. */
static void
conv_id_new(struct fix *f, const char *w, const char *s,
    char id[ST_ID_HEX + 1])
{
	struct st_conv c;

	conv_new(f, w, s, &c);
	strlcpy(id, c.id, ST_ID_HEX + 1);
	st_conv_free(&c);
}

/* conv_id_new(), then the clock moves on: each is newer than the last. */
static void
conv_next(struct fix *f, const char *w, const char *s,
    char id[ST_ID_HEX + 1])
{
	conv_id_new(f, w, s, id);
	fake_now += 10;
}

static void
say(struct fix *f, const char *conv_id, const char *content)
{
	struct penc e;

	append_payload(&e, conv_id, "user", content, "", 0, 0);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
}

struct page {
	uint64_t total;
	uint32_t n;
	struct st_conv convs[ST_LIST_MAX];
	char next[ST_CURSOR_MAX + 1];
};

static void
page_free(struct page *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		st_conv_free(&p->convs[i]);
	p->n = 0;
}

/* ST_CONV_QUERY in order (ST_ORDER_*) into p: 0 or the error. */
static int
query_in(struct fix *f, uint32_t limit, const char *cursor,
    const char *widget, const char *q, uint8_t order, struct page *p)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint32_t i;
	int err;

	const struct st_conv_query_req cq = { limit, cursor, widget, q,
	    ST_ASSIGNED_ANY, "", 0, 0, order };

	memset(p, 0, sizeof(*p));
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_ST_CONV_QUERY, &cq), 0);
	if ((err = request(f, PROTO_ST_CONV_QUERY, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		p->total = pdec_u64(&d);
		p->n = pdec_u32(&d);
		assert_true(p->n <= limit);
		for (i = 0; i < p->n; i++)
			assert_int_equal(pdec_conv(&d, &p->convs[i]), 0);
		pdec_strbuf(&d, p->next, sizeof(p->next));
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/* ST_CONV_QUERY newest activity first, a list's order. */
static int
query(struct fix *f, uint32_t limit, const char *cursor, const char *widget,
    const char *q, struct page *p)
{
	return query_in(f, limit, cursor, widget, q, ST_ORDER_ACTIVITY, p);
}

/* The page holds these conversations, in this order. */
static void
page_is(const struct page *p, uint32_t n, ...)
{
	va_list ap;
	uint32_t i;

	assert_int_equal(p->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(p->convs[i].id, va_arg(ap, const char *));
	va_end(ap);
}

static int
conv_delete(struct fix *f, const char *id)
{
	struct penc e;
	struct dreply r;
	int err;

	penc_init(&e);
	penc_str(&e, id);
	if ((err = request(f, PROTO_ST_CONV_DELETE, &e, &r)) == 0)
		assert_int_equal(r.enc.len, 0);
	dreply_free(&r);
	return err;
}

static int
conv_get_err(struct fix *f, const char *id)
{
	struct penc e;

	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, 0);
	return request_err(f, PROTO_ST_CONV_GET, &e);
}

/* ------------------------------------------------ owner sessions */

static void
fill(uint8_t *p, size_t n, uint8_t b)
{
	memset(p, b, n);
}

/*
 * The user "u<ub>@x.test" (made by ST_USER_BOOT, as the first owner is,
 * with the password fingerprint fpb: another fpb sets its password anew
 * and ends its sessions); its id into id.
 */
static void
user_of(struct fix *f, unsigned ub, uint8_t fpb, char id[ST_USER_ID_MAX + 1])
{
	struct st_user_boot_req b;
	struct st_user_auth_req a;
	struct st_user_auth_rep rep;
	struct st_u8_rep v;
	char email[32];

	snprintf(email, sizeof(email), "u%u@x.test", ub);
	memset(&b, 0, sizeof(b));
	b.email = email;
	b.name = "U";
	fill(b.salt, sizeof(b.salt), (uint8_t)ub);
	b.salt_len = sizeof(b.salt);
	fill(b.hash, sizeof(b.hash), (uint8_t)ub);
	b.hash_len = sizeof(b.hash);
	fill(b.fp, sizeof(b.fp), fpb);
	b.fp_len = sizeof(b.fp);
	assert_int_equal(request_dec(f, PROTO_ST_USER_BOOT, &b, &v), 0);
	a.email = email;
	assert_int_equal(request_dec(f, PROTO_ST_USER_AUTH, &a, &rep), 0);
	assert_int_equal(rep.found, 1);
	strlcpy(id, rep.s.id, ST_USER_ID_MAX + 1);
}

/* The known-device cookie the last login's reply gave. */
static char last_device[ST_DASH_DEVICE_LEN + 1];

/*
 * ST_DASH_LOGIN of session h (hlen bytes) for user, with pw the password
 * hash the login checked (ST_PW_HASH_LEN bytes; NULL none); its reply's
 * device cookie into last_device.
 */
static int
login_pw(struct fix *f, const uint8_t *h, size_t hlen, const char *csrf,
    const char *user, uint64_t expires, const uint8_t *pw)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	penc_init(&e);
	penc_bytes(&e, h, hlen);
	penc_str(&e, csrf);
	penc_str(&e, user);
	penc_u64(&e, expires);
	penc_bytes(&e, pw, pw != NULL ? ST_PW_HASH_LEN : 0);
	if ((err = request(f, PROTO_ST_DASH_LOGIN, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		pdec_strbuf(&d, last_device, sizeof(last_device));
		assert_int_equal(pdec_done(&d), 0);
		assert_int_equal(strlen(last_device), ST_DASH_DEVICE_LEN);
	}
	dreply_free(&r);
	return err;
}

static int
login_raw(struct fix *f, const uint8_t *h, size_t hlen, const char *csrf,
    const char *user, uint64_t expires)
{
	return login_pw(f, h, hlen, csrf, user, expires, NULL);
}

/* Session hb of user ub (made when missing). */
static int
login(struct fix *f, uint8_t hb, const char *csrf, uint8_t ub,
    uint64_t expires)
{
	uint8_t h[ST_DASH_HASH_LEN];
	char id[ST_USER_ID_MAX + 1];

	fill(h, sizeof(h), hb);
	user_of(f, ub, 1, id);
	return login_raw(f, h, sizeof(h), csrf, id, expires);
}

/*
 * 1 valid (csrf, expires set; the session of user ub, owner of
 * "default"), 0 not; asserts the request worked.
 */
static int
check(struct fix *f, uint8_t hb, uint8_t ub, char csrf[ST_DASH_CSRF_LEN + 1],
    uint64_t *expires)
{
	struct st_dash_check_req q;
	struct st_dash_check_rep rep;
	struct dreply r;
	char email[32];
	int valid;

	memset(&q, 0, sizeof(q));
	fill(q.token_hash, sizeof(q.token_hash), hb);
	q.token_hash_len = sizeof(q.token_hash);
	q.want_orgs = 1;
	assert_int_equal(request_st(f, PROTO_ST_DASH_CHECK, &q, &r), 0);
	/* Read only: it never dirties a batch. */
	assert_int_equal(r.wrote, 0);
	assert_int_equal(st_rep_decode(PROTO_ST_DASH_CHECK, r.enc.buf,
	    r.enc.len, &rep), 0);
	dreply_free(&r);
	if ((valid = rep.valid) != 0) {
		assert_int_equal(valid, ST_DASH_VALID);
		snprintf(email, sizeof(email), "u%u@x.test", ub);
		assert_string_equal(rep.s.email, email);
		assert_string_equal(rep.s.org, "default");
		assert_int_equal(rep.s.role, ST_ROLE_OWNER);
		assert_int_equal(rep.s.n, 1);
		assert_string_equal(rep.s.orgs[0].name, "Default");
		strlcpy(csrf, rep.s.csrf, ST_DASH_CSRF_LEN + 1);
		*expires = rep.s.expires_at;
	}
	st_rep_free(PROTO_ST_DASH_CHECK, &rep);
	return valid;
}

static int
logout(struct fix *f, uint8_t hb)
{
	uint8_t h[ST_DASH_HASH_LEN];
	struct penc e;

	fill(h, sizeof(h), hb);
	penc_init(&e);
	penc_bytes(&e, h, sizeof(h));
	return request_err(f, PROTO_ST_DASH_LOGOUT, &e);
}

static const char CSRF1[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char CSRF2[] =
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/*
 * login() of session hb by user ub, asserting it worked, and what its
 * reply says it ended to make room: the session's who id into cred
 * ("" for none) and the user into user ("" for none).
 */
static void
login_ended(struct fix *f, uint8_t hb, uint8_t ub, uint64_t expires,
    char cred[ST_WHO_ID_MAX + 1], char user[ST_USER_ID_MAX + 1])
{
	uint8_t h[ST_DASH_HASH_LEN];
	char id[ST_USER_ID_MAX + 1], keep[ST_WHO_ID_MAX + 1];
	struct penc e;
	struct dreply r;

	fill(h, sizeof(h), hb);
	user_of(f, ub, 1, id);
	penc_init(&e);
	penc_bytes(&e, h, sizeof(h));
	penc_str(&e, CSRF1);
	penc_str(&e, id);
	penc_u64(&e, expires);
	penc_bytes(&e, NULL, 0);
	assert_int_equal(request(f, PROTO_ST_DASH_LOGIN, &e, &r), 0);
	assert_int_equal(r.cred_gone.kind,
	    r.cred_gone.id[0] != '\0' ? ST_WHO_SESSION : 0);
	strlcpy(cred, r.cred_gone.id, ST_WHO_ID_MAX + 1);
	strlcpy(user, r.user_gone.id, ST_USER_ID_MAX + 1);
	/* The new session is never ended. */
	proto_hex_encode(h, ST_DASH_WHO_BYTES, keep);
	if (user[0] != '\0')
		assert_string_equal(r.user_gone.keep, keep);
	dreply_free(&r);
}

static void
test_dstore_session_cycle(void **state)
{
	struct fix *f = *state;
	char csrf[ST_DASH_CSRF_LEN + 1], id[ST_USER_ID_MAX + 1];
	uint64_t exp = 0;

	assert_int_equal(login(f, 1, CSRF1, 7, T0 + HOUR), 0);
	assert_int_equal(check(f, 1, 7, csrf, &exp), 1);
	assert_string_equal(csrf, CSRF1);
	assert_int_equal(exp, T0 + HOUR);
	/* Another token: not valid. */
	assert_int_equal(check(f, 2, 7, csrf, &exp), 0);

	/* Valid up to its expiry, not at it. */
	fake_now = T0 + HOUR - 1;
	assert_int_equal(check(f, 1, 7, csrf, &exp), 1);
	fake_now = T0 + HOUR;
	assert_int_equal(check(f, 1, 7, csrf, &exp), 0);

	/* The same token again replaces the session. */
	assert_int_equal(login(f, 1, CSRF2, 7, T0 + 3 * HOUR), 0);
	assert_int_equal(check(f, 1, 7, csrf, &exp), 1);
	assert_string_equal(csrf, CSRF2);
	assert_int_equal(exp, T0 + 3 * HOUR);
	assert_int_equal(db_entries(f, "dsessions"), 1);
	assert_int_equal(db_entries(f, "dsess_expiry"), 1);

	/*
	 * A new password (DASHBOARD_PASSWORD's fingerprint changed) ends the
	 * user's sessions, and only its own.
	 */
	assert_int_equal(login(f, 2, CSRF1, 8, T0 + 3 * HOUR), 0);
	user_of(f, 7, 2, id);
	assert_int_equal(check(f, 1, 7, csrf, &exp), 0);
	assert_int_equal(check(f, 2, 8, csrf, &exp), 1);
	assert_int_equal(db_entries(f, "dsess_user"), 1);
	assert_int_equal(logout(f, 2), 0);
	assert_int_equal(login(f, 1, CSRF2, 7, T0 + 3 * HOUR), 0);

	/* Logout ends it; an unknown one is fine. */
	assert_int_equal(logout(f, 1), 0);
	assert_int_equal(check(f, 1, 7, csrf, &exp), 0);
	assert_int_equal(logout(f, 1), 0);
	assert_int_equal(logout(f, 9), 0);
	assert_int_equal(db_entries(f, "dsessions"), 0);
	assert_int_equal(db_entries(f, "dsess_expiry"), 0);
	assert_int_equal(db_entries(f, "dsess_user"), 0);
}

/* 32 bytes of b, as hex. */
#define HEX_32(b)	b b b b b b b b b b b b b b b b \
			b b b b b b b b b b b b b b b b

/*
 * A session's bytes: format 2 as a login stores it (its csrf, user,
 * expiry and start). Format 1 (one owner, before there were users) held
 * the password's fingerprint where the user is: it reads with no user,
 * so it is never valid, and a login with its token replaces it and its
 * expiry entry. A fingerprint of more than 32 bytes is a corrupt record.
 */
static void
test_dstore_session_bytes(void **state)
{
	struct fix *f = *state;
	char want[1024], hc[2 * ST_DASH_CSRF_LEN + 1];
	char hu[2 * ST_USER_ID_MAX + 1], id[ST_USER_ID_MAX + 1];
	char csrf[ST_DASH_CSRF_LEN + 1];
	uint8_t h[ST_DASH_HASH_LEN], k[8 + ST_DASH_HASH_LEN];
	uint64_t exp = 0;

	assert_int_equal(login(f, 1, CSRF1, 7, T0 + HOUR), 0);
	user_of(f, 7, 1, id);
	fill(h, sizeof(h), 1);
	snprintf(want, sizeof(want), "02" "00000040%s" "%08zx%s"
	    "%016llx" "%016llx", hex_of(CSRF1, hc), strlen(id),
	    hex_of(id, hu), (unsigned long long)(T0 + HOUR),
	    (unsigned long long)T0);
	assert_stored(f, "dsessions", h, sizeof(h), want);

	/* Format 1 under token 3, with its expiry entry. */
	fill(h, sizeof(h), 3);
	snprintf(want, sizeof(want), "01" "00000040%s" "00000020"
	    HEX_32("33") "%016llx" "%016llx", hc,
	    (unsigned long long)(T0 + HOUR), (unsigned long long)T0);
	db_put_hex(f, "dsessions", h, sizeof(h), want);
	proto_put_be64(k, T0 + HOUR);
	memcpy(k + 8, h, sizeof(h));
	db_put_hex(f, "dsess_expiry", k, sizeof(k), "01");
	assert_int_equal(check(f, 3, 7, csrf, &exp), 0);
	assert_int_equal(login(f, 3, CSRF2, 7, T0 + 2 * HOUR), 0);
	assert_int_equal(check(f, 3, 7, csrf, &exp), 1);
	assert_string_equal(csrf, CSRF2);
	assert_int_equal(db_entries(f, "dsessions"), 2);
	assert_int_equal(db_entries(f, "dsess_expiry"), 2);

	/* A fingerprint of 33 bytes: its logout fails, the record stays. */
	fill(h, sizeof(h), 4);
	snprintf(want, sizeof(want), "01" "00000040%s" "00000021"
	    HEX_32("33") "33" "%016llx" "%016llx", hc,
	    (unsigned long long)(T0 + HOUR), (unsigned long long)T0);
	db_put_hex(f, "dsessions", h, sizeof(h), want);
	assert_int_not_equal(logout(f, 4), 0);
	assert_int_equal(db_entries(f, "dsessions"), 3);
}

/* ST_DASH_SALT: 16 bytes, read only, kept across opens, per directory. */
static void
salt_get(struct fix *f, uint8_t salt[ST_DASH_SALT_LEN])
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	const uint8_t *p;
	size_t n;

	penc_init(&e);
	assert_int_equal(request(f, PROTO_ST_DASH_SALT, &e, &r), 0);
	assert_int_equal(r.wrote, 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	p = pdec_bytes(&d, &n);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(n, ST_DASH_SALT_LEN);
	memcpy(salt, p, n);
	dreply_free(&r);
}

static void
test_dstore_salt(void **state)
{
	static const uint8_t zero[ST_DASH_SALT_LEN];
	uint8_t a[ST_DASH_SALT_LEN], b[ST_DASH_SALT_LEN];
	struct fix *f = *state, *g;

	salt_get(f, a);
	assert_memory_not_equal(a, zero, sizeof(a));
	salt_get(f, b);
	assert_memory_equal(a, b, sizeof(a));
	fix_reopen(f);
	salt_get(f, b);
	assert_memory_equal(a, b, sizeof(a));
	/* Another install, another salt. */
	g = fix_new("/tmp/parley-dash-XXXXXX");
	salt_get(g, b);
	assert_memory_not_equal(a, b, sizeof(a));
	fix_free(g);
	/* Nothing follows an empty request. */
	assert_int_equal(request_raw(f, PROTO_ST_DASH_SALT, "x", 1),
	    PROTO_E_INVALID);
}

/* A data directory from before the salt gets one when opened. */
static void
test_dstore_salt_upgrade(void **state)
{
	uint8_t a[ST_DASH_SALT_LEN], b[ST_DASH_SALT_LEN];
	struct fix *f = *state;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 12, "dash_fp_salt" };

	salt_get(f, a);
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	salt_get(f, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

/*
 * ST_DASH_ATTEMPT of client c signing in to email with device cookie
 * device: limited (0, 1, 2), retry in *retry.
 */
static int
attempt_as(struct fix *f, int c, uint32_t failures_max, const char *email,
    const char *device, uint64_t *retry)
{
	char key[32];
	struct penc e;
	struct dreply r;
	struct pdec d;
	int limited;

	snprintf(key, sizeof(key), "login:10.0.0.%d", c);
	penc_init(&e);
	penc_str(&e, key);
	penc_u32(&e, 60000);
	penc_u32(&e, 10);
	penc_u32(&e, failures_max);
	penc_str(&e, email);
	penc_str(&e, device);
	assert_int_equal(request(f, PROTO_ST_DASH_ATTEMPT, &e, &r), 0);
	assert_int_equal(r.wrote, 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	limited = pdec_u8(&d);
	*retry = pdec_u64(&d);
	assert_int_equal(pdec_done(&d), 0);
	dreply_free(&r);
	return limited;
}

/* ST_DASH_ATTEMPT of client c naming no account nor device. */
static int
attempt(struct fix *f, int c, uint32_t failures_max, uint64_t *retry)
{
	return attempt_as(f, c, failures_max, "", "", retry);
}

/* A wrong password, as the worker counts it (ST_RATE_HIT). */
static int
failed(struct fix *f, uint32_t failures_max)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int limited;

	penc_init(&e);
	penc_str(&e, ST_DASH_FAILED_KEY);
	penc_u32(&e, 60000);
	penc_u32(&e, failures_max);
	assert_int_equal(request(f, PROTO_ST_RATE_HIT, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	limited = pdec_u8(&d);
	pdec_u64(&d);
	assert_int_equal(pdec_done(&d), 0);
	dreply_free(&r);
	return limited;
}

/*
 * The failed-login budget on the fake clock: only failures spend it;
 * once spent every attempt (any client) is limited 2 and not counted,
 * with the time to the window's end; the window over, all is as before.
 */
static void
test_dstore_login_budget(void **state)
{
	struct fix *f = *state;
	uint64_t retry;
	int i;

	/* Attempts alone spend nothing: 20 clients, 5 each. */
	for (i = 0; i < 100; i++)
		assert_int_equal(attempt(f, i % 20, 3, &retry), 0);
	/* The client's own 10 a minute, as ever. */
	for (i = 0; i < 10; i++)
		assert_int_equal(attempt(f, 100, 3, &retry), 0);
	assert_int_equal(attempt(f, 100, 3, &retry), 1);
	assert_true(retry > 0 && retry <= 60000);

	fake_mono += 1000;
	assert_int_equal(failed(f, 3), 0);
	assert_int_equal(failed(f, 3), 0);
	assert_int_equal(attempt(f, 101, 3, &retry), 0);
	fake_mono += 1000;
	assert_int_equal(failed(f, 3), 0);
	/* Spent: every client, counted or not before. */
	assert_int_equal(attempt(f, 102, 3, &retry), 2);
	assert_int_equal(retry, 59000);
	assert_int_equal(attempt(f, 101, 3, &retry), 2);
	/* A fourth failure is not counted (the window is full). */
	assert_int_equal(failed(f, 3), 1);
	/* No budget (0), or a larger one: the client's count alone. */
	assert_int_equal(attempt(f, 103, 0, &retry), 0);
	assert_int_equal(attempt(f, 103, 4, &retry), 0);

	/* Refilled when the window ends, and not a millisecond before. */
	fake_mono += 59000 - 1;
	assert_int_equal(attempt(f, 102, 3, &retry), 2);
	assert_int_equal(retry, 1);
	fake_mono += 1;
	assert_int_equal(attempt(f, 102, 3, &retry), 0);
	/* Client 102 was not counted while limited: 9 more fit. */
	for (i = 0; i < 9; i++)
		assert_int_equal(attempt(f, 102, 3, &retry), 0);
	assert_int_equal(attempt(f, 102, 3, &retry), 1);
}

/*
 * The budget spent, a table filled with clients' windows (the fixture's
 * 1000, any distributed attacker's many addresses) leaves it spent: a
 * client's key never makes room by dropping the global budget.
 */
static void
test_dstore_login_budget_kept(void **state)
{
	struct fix *f = *state;
	uint64_t retry;
	char key[64];
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(failed(f, 3), 0);
	assert_int_equal(attempt(f, 1, 3, &retry), 2);
	fake_mono += 1000;
	log_set_level(LOG_LEVEL_FATAL);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "ip:2001:db8:%x::", i);
		assert_int_equal(ratelimit_hit(f->rl, key, strlen(key), 60000,
		    10, &retry), 0);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_true(ratelimit_stats(f->rl).evicted >= 1000);
	assert_int_equal(attempt(f, 2, 3, &retry), 2);
	assert_int_equal(retry, 59000);
	assert_int_equal(failed(f, 3), 1);
	/* Its window over, it refills as ever. */
	fake_mono += 59000;
	assert_int_equal(attempt(f, 2, 3, &retry), 0);
}

/*
 * The budget spent, a login that shows its account's known-device
 * cookie (a login of that account's reply) is counted as the client's
 * alone; another account's cookie, one changed, one expired, or none is
 * limited 2 as every other.
 */
static void
test_dstore_login_device(void **state)
{
	struct fix *f = *state;
	char dev[ST_DASH_DEVICE_LEN + 1], other[ST_DASH_DEVICE_LEN + 1];
	uint64_t retry;
	int i;

	assert_int_equal(login(f, 1, CSRF1, 7, T0 + HOUR), 0);
	strlcpy(dev, last_device, sizeof(dev));
	assert_int_equal(login(f, 2, CSRF1, 8, T0 + HOUR), 0);
	strlcpy(other, last_device, sizeof(other));
	assert_string_not_equal(dev, other);
	for (i = 0; i < 3; i++)
		(void)failed(f, 3);
	assert_int_equal(attempt(f, 1, 3, &retry), 2);
	/* The account's own cookie, its email in any case. */
	assert_int_equal(attempt_as(f, 1, 3, "u7@x.test", dev, &retry), 0);
	assert_int_equal(attempt_as(f, 1, 3, "U7@X.Test", dev, &retry), 0);
	/* Still the client's count: 8 more, then 1. */
	for (i = 0; i < 8; i++)
		assert_int_equal(attempt_as(f, 1, 3, "u7@x.test", dev,
		    &retry), 0);
	assert_int_equal(attempt_as(f, 1, 3, "u7@x.test", dev, &retry), 1);
	/* Another account's cookie, or none, or a changed one. */
	assert_int_equal(attempt_as(f, 2, 3, "u8@x.test", dev, &retry), 2);
	assert_int_equal(attempt_as(f, 2, 3, "u7@x.test", other, &retry), 2);
	assert_int_equal(attempt_as(f, 2, 3, "u7@x.test", "", &retry), 2);
	dev[ST_DASH_DEVICE_LEN - 1] = dev[ST_DASH_DEVICE_LEN - 1] == '0' ?
	    '1' : '0';
	assert_int_equal(attempt_as(f, 2, 3, "u7@x.test", dev, &retry), 2);
	assert_int_equal(attempt_as(f, 2, 3, "u8@x.test", other, &retry), 0);
	/* Kept ST_DASH_DEVICE_DAYS, not a millisecond more. */
	fake_now = T0 + (uint64_t)ST_DASH_DEVICE_DAYS * 86400 * 1000 - 1;
	assert_int_equal(attempt_as(f, 3, 3, "u8@x.test", other, &retry), 0);
	fake_now += 1;
	assert_int_equal(attempt_as(f, 3, 3, "u8@x.test", other, &retry), 2);
}

static void
test_dstore_login_attempt_invalid(void **state)
{
	struct fix *f = *state;
	struct penc e;

	/* Truncated, or a rate without a key. */
	assert_int_equal(request_raw(f, PROTO_ST_DASH_ATTEMPT, "", 0),
	    PROTO_E_INVALID);
	penc_init(&e);
	penc_str(&e, "");
	penc_u32(&e, 60000);
	penc_u32(&e, 10);
	penc_u32(&e, 100);
	assert_int_equal(request_err(f, PROTO_ST_DASH_ATTEMPT, &e),
	    PROTO_E_INVALID);
	penc_init(&e);
	penc_str(&e, "login:x");
	penc_u32(&e, 60000);
	penc_u32(&e, 10);
	assert_int_equal(request_err(f, PROTO_ST_DASH_ATTEMPT, &e),
	    PROTO_E_INVALID);
}

static void
test_dstore_session_invalid(void **state)
{
	struct fix *f = *state;
	uint8_t h[ST_DASH_HASH_LEN + 1], pw[ST_PW_HASH_LEN];
	struct penc e;
	char bad[ST_DASH_CSRF_LEN + 1], id[ST_USER_ID_MAX + 1];

	fill(h, sizeof(h), 1);
	user_of(f, 2, 1, id);
	assert_int_equal(login_raw(f, h, ST_DASH_HASH_LEN - 1, CSRF1, id,
	    T0 + HOUR), PROTO_E_INVALID);
	assert_int_equal(login_raw(f, h, ST_DASH_HASH_LEN + 1, CSRF1, id,
	    T0 + HOUR), PROTO_E_INVALID);
	/* A user that does not exist. */
	assert_int_equal(login_raw(f, h, ST_DASH_HASH_LEN, CSRF1,
	    "usr_00000000000000000000000000000000", T0 + HOUR),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(login_raw(f, h, ST_DASH_HASH_LEN, CSRF1, "", T0 + HOUR),
	    PROTO_E_NOT_FOUND);
	/*
	 * The password hash the worker checked the attempt against is no
	 * longer the user's (a password changed while it hashed): no session.
	 * The user's own (user_of's hash is its byte) makes one.
	 */
	fill(pw, sizeof(pw), 9);
	assert_int_equal(login_pw(f, h, ST_DASH_HASH_LEN, CSRF1, id, T0 + HOUR,
	    pw), PROTO_E_NOT_FOUND);
	assert_int_equal(db_entries(f, "dsessions"), 0);
	fill(pw, sizeof(pw), 2);
	assert_int_equal(login_pw(f, h, ST_DASH_HASH_LEN, CSRF1, id, T0 + HOUR,
	    pw), 0);
	assert_int_equal(db_entries(f, "dsessions"), 1);
	assert_int_equal(logout(f, 1), 0);
	/* csrf: 64 lowercase hex digits exactly. */
	strlcpy(bad, CSRF1, sizeof(bad));
	bad[10] = 'A';
	assert_int_equal(login(f, 1, bad, 2, T0 + HOUR), PROTO_E_INVALID);
	bad[10] = 'g';
	assert_int_equal(login(f, 1, bad, 2, T0 + HOUR), PROTO_E_INVALID);
	bad[63] = '\0';
	assert_int_equal(login(f, 1, bad + 1, 2, T0 + HOUR),
	    PROTO_E_INVALID);
	assert_int_equal(login(f, 1, "", 2, T0 + HOUR), PROTO_E_INVALID);
	assert_int_equal(login(f, 1, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0", 2, T0 + HOUR),
	    PROTO_E_INVALID);
	/* Already expired. */
	assert_int_equal(login(f, 1, CSRF1, 2, T0), PROTO_E_INVALID);
	assert_int_equal(db_entries(f, "dsessions"), 0);

	penc_init(&e);
	penc_bytes(&e, h, 31);
	penc_str(&e, "");
	penc_u8(&e, 0);
	assert_int_equal(request_err(f, PROTO_ST_DASH_CHECK, &e),
	    PROTO_E_INVALID);
	penc_init(&e);
	penc_bytes(&e, h, 0);
	assert_int_equal(request_err(f, PROTO_ST_DASH_LOGOUT, &e),
	    PROTO_E_INVALID);
	/* Truncated payloads. */
	assert_int_equal(request_raw(f, PROTO_ST_DASH_LOGIN, "", 0),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_DASH_CHECK, "\0\0\0\x20",
	    4), PROTO_E_INVALID);
}

/* Expired sessions go at the next login; the cap ends the nearest expiry. */
static void
test_dstore_session_sweep_cap(void **state)
{
	struct fix *f = *state;
	char csrf[ST_DASH_CSRF_LEN + 1], cred[ST_WHO_ID_MAX + 1];
	char user[ST_USER_ID_MAX + 1];
	uint8_t h[ST_DASH_HASH_LEN];
	char id[ST_USER_ID_MAX + 1];
	uint64_t exp;
	int i;

	assert_int_equal(login(f, 1, CSRF1, 7, T0 + HOUR), 0);
	assert_int_equal(login(f, 2, CSRF1, 7, T0 + 2 * HOUR), 0);
	assert_int_equal(login(f, 3, CSRF1, 7, T0 + 5 * HOUR), 0);
	fake_now = T0 + 2 * HOUR;
	/* The expired ones are not told: their streams end at expiry. */
	login_ended(f, 4, 7, T0 + 6 * HOUR, cred, user);
	assert_string_equal(cred, "");
	assert_string_equal(user, "");
	assert_int_equal(db_entries(f, "dsessions"), 2);
	assert_int_equal(db_entries(f, "dsess_expiry"), 2);
	assert_int_equal(check(f, 3, 7, csrf, &exp), 1);
	assert_int_equal(check(f, 4, 7, csrf, &exp), 1);

	/*
	 * Fill up to the cap: sessions 3 and 4 and the rest, later expiries,
	 * of users under their own cap.
	 */
	for (i = 0; i < ST_DASH_SESSIONS_MAX - 2; i++) {
		if (i % (ST_DASH_USER_SESSIONS_MAX - 1) == 0)
			user_of(f, (unsigned)(10 + i /
			    (ST_DASH_USER_SESSIONS_MAX - 1)), 1, id);
		memset(h, 0, sizeof(h));
		h[0] = 0xaa;
		h[1] = (uint8_t)(i >> 8);
		h[2] = (uint8_t)i;
		assert_int_equal(login_raw(f, h, sizeof(h), CSRF2, id,
		    T0 + 10 * HOUR + (uint64_t)i), 0);
	}
	assert_int_equal(db_entries(f, "dsessions"), ST_DASH_SESSIONS_MAX);
	/*
	 * One more, its user under its own cap: refused, and no other
	 * user's session ends for it (the one that expired first, 3, did,
	 * whoever's: one organisation's logins ended every other's).
	 */
	assert_int_equal(login(f, 5, CSRF1, 7, T0 + 20 * HOUR),
	    PROTO_E_FULL);
	assert_int_equal(db_entries(f, "dsessions"), ST_DASH_SESSIONS_MAX);
	assert_int_equal(db_entries(f, "dsess_expiry"), ST_DASH_SESSIONS_MAX);
	assert_int_equal(check(f, 3, 7, csrf, &exp), 1);
	assert_int_equal(check(f, 4, 7, csrf, &exp), 1);
	assert_int_equal(check(f, 5, 7, csrf, &exp), 0);
}

/*
 * A user's logins make room among its own sessions: at
 * ST_DASH_USER_SESSIONS_MAX, its own that expires first goes, never
 * another user's.
 */
static void
test_dstore_session_user_cap(void **state)
{
	struct fix *f = *state;
	char csrf[ST_DASH_CSRF_LEN + 1], id[ST_USER_ID_MAX + 1];
	char cred[ST_WHO_ID_MAX + 1], user[ST_USER_ID_MAX + 1];
	uint8_t h[ST_DASH_HASH_LEN];
	uint64_t exp;
	int i;

	/*
	 * B's session expires before any of A's; A logs in more often than
	 * the install keeps sessions.
	 */
	assert_int_equal(login(f, 1, CSRF1, 8, T0 + HOUR), 0);
	user_of(f, 7, 1, id);
	memset(h, 0, sizeof(h));
	h[0] = 0xaa;
	for (i = 0; i < ST_DASH_SESSIONS_MAX + 10; i++) {
		h[1] = (uint8_t)(i >> 8);
		h[2] = (uint8_t)i;
		assert_int_equal(login_raw(f, h, sizeof(h), CSRF2, id,
		    T0 + 2 * HOUR + (uint64_t)i), 0);
	}
	assert_int_equal(check(f, 1, 8, csrf, &exp), 1);
	assert_int_equal(db_entries(f, "dsessions"),
	    ST_DASH_USER_SESSIONS_MAX + 1);
	assert_int_equal(db_entries(f, "dsess_user"),
	    ST_DASH_USER_SESSIONS_MAX + 1);
	assert_int_equal(db_entries(f, "dsess_expiry"),
	    ST_DASH_USER_SESSIONS_MAX + 1);

	/*
	 * A keeps the ones that expire last: one that expires after the
	 * rest outlives the next ST_DASH_USER_SESSIONS_MAX - 1 logins.
	 */
	login_ended(f, 2, 7, T0 + 9 * HOUR, cred, user);
	/* The reply names the one it ended, A's 9991st, for the workers. */
	assert_string_equal(cred, "aa27060000000000");
	assert_string_equal(user, "");
	for (i = 0; i < ST_DASH_USER_SESSIONS_MAX - 1; i++)
		assert_int_equal(login(f, (uint8_t)(100 + i), CSRF1, 7,
		    T0 + 3 * HOUR + (uint64_t)i), 0);
	assert_int_equal(check(f, 2, 7, csrf, &exp), 1);
	for (i = 0; i < ST_DASH_USER_SESSIONS_MAX - 1; i++)
		assert_int_equal(check(f, (uint8_t)(100 + i), 7, csrf, &exp),
		    1);
	assert_int_equal(check(f, 1, 8, csrf, &exp), 1);
	assert_int_equal(db_entries(f, "dsessions"),
	    ST_DASH_USER_SESSIONS_MAX + 1);
}

/*
 * A user over its cap from before there was one (sessions written as an
 * older storaged kept them): its next login ends the ones that expire
 * first down to the cap, told as the user (its streams end but the new
 * session's); another user's session stays.
 */
static void
test_dstore_session_user_over_cap(void **state)
{
	struct fix *f = *state;
	char want[512], hc[2 * ST_DASH_CSRF_LEN + 1];
	char hu[2 * ST_USER_ID_MAX + 1], id[ST_USER_ID_MAX + 1];
	char csrf[ST_DASH_CSRF_LEN + 1], cred[ST_WHO_ID_MAX + 1];
	char user[ST_USER_ID_MAX + 1];
	uint8_t h[ST_DASH_HASH_LEN], k[ST_USER_ID_MAX + ST_DASH_HASH_LEN];
	uint64_t exp, at;
	int i, n = ST_DASH_USER_SESSIONS_MAX + 3;

	assert_int_equal(login(f, 1, CSRF1, 8, T0 + HOUR), 0);
	user_of(f, 7, 1, id);
	for (i = 0; i < n; i++) {
		fill(h, sizeof(h), (uint8_t)(10 + i));
		at = T0 + 2 * HOUR + (uint64_t)i;
		snprintf(want, sizeof(want), "02" "00000040%s" "%08zx%s"
		    "%016llx" "%016llx", hex_of(CSRF1, hc), strlen(id),
		    hex_of(id, hu), (unsigned long long)at,
		    (unsigned long long)T0);
		db_put_hex(f, "dsessions", h, sizeof(h), want);
		proto_put_be64(k, at);
		memcpy(k + 8, h, sizeof(h));
		db_put_hex(f, "dsess_expiry", k, 8 + sizeof(h), "01");
		memcpy(k, id, strlen(id));
		memcpy(k + strlen(id), h, sizeof(h));
		db_put_hex(f, "dsess_user", k, strlen(id) + sizeof(h), "01");
	}
	login_ended(f, 2, 7, T0 + 9 * HOUR, cred, user);
	assert_string_equal(cred, "0a0a0a0a0a0a0a0a");
	assert_string_equal(user, id);
	assert_int_equal(db_entries(f, "dsess_user"),
	    ST_DASH_USER_SESSIONS_MAX + 1);
	for (i = 0; i < n; i++)
		assert_int_equal(check(f, (uint8_t)(10 + i), 7, csrf, &exp),
		    i >= n - ST_DASH_USER_SESSIONS_MAX + 1);
	assert_int_equal(check(f, 2, 7, csrf, &exp), 1);
	assert_int_equal(check(f, 1, 8, csrf, &exp), 1);
}

/* ------------------------------------------------ query */

static void
test_dstore_query_widget(void **state)
{
	struct fix *f = *state;
	char a1[ST_ID_HEX + 1], a2[ST_ID_HEX + 1], a3[ST_ID_HEX + 1];
	char b1[ST_ID_HEX + 1], d1[ST_ID_HEX + 1];
	struct page p;

	conv_next(f, "wa", "s1", a1);
	conv_next(f, "wb", "s1", b1);
	conv_next(f, "wa", "s2", a2);
	conv_next(f, "default", "s1", d1);
	conv_next(f, "wa", "s3", a3);
	/* Activity moves a1 to the front, in both indexes. */
	say(f, a1, "hello");

	assert_int_equal(query(f, 10, "", "", "", &p), 0);
	assert_int_equal(p.total, 5);
	page_is(&p, 5, a1, a3, d1, a2, b1);
	assert_string_equal(p.next, "");
	page_free(&p);

	assert_int_equal(query(f, 10, "", "wa", "", &p), 0);
	assert_int_equal(p.total, 3);
	page_is(&p, 3, a1, a3, a2);
	assert_string_equal(p.next, "");
	assert_string_equal(p.convs[0].last_message, "hello");
	page_free(&p);

	assert_int_equal(query(f, 10, "", "wb", "", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, b1);
	page_free(&p);

	assert_int_equal(query(f, 10, "", "default", "", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, d1);
	page_free(&p);

	/* A widget that is a prefix of another, and an unknown one. */
	assert_int_equal(query(f, 10, "", "w", "", &p), 0);
	assert_int_equal(p.total, 0);
	assert_int_equal(p.n, 0);
	assert_string_equal(p.next, "");
	assert_int_equal(query(f, 10, "", "wax", "", &p), 0);
	assert_int_equal(p.total, 0);
	assert_int_equal(p.n, 0);

	assert_int_equal(db_entries(f, "conv_activity"), 5);
	assert_int_equal(db_entries(f, "conv_counts"), 3);
}

static void
test_dstore_query_paging(void **state)
{
	struct fix *f = *state;
	char ids[7][ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char cur[ST_CURSOR_MAX + 1];
	struct page p;
	int i;

	for (i = 0; i < 7; i++) {
		char s[8];

		snprintf(s, sizeof(s), "s%d", i);
		conv_id_new(f, "wa", s, ids[i]);
		fake_now += 5;
		if (i == 3) {
			conv_id_new(f, "wb", "x", other);
			fake_now += 5;
		}
	}
	assert_int_equal(query(f, 3, "", "wa", "", &p), 0);
	assert_int_equal(p.total, 7);
	page_is(&p, 3, ids[6], ids[5], ids[4]);
	assert_string_not_equal(p.next, "");
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 3, cur, "wa", "", &p), 0);
	page_is(&p, 3, ids[3], ids[2], ids[1]);
	assert_string_not_equal(p.next, "");
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 3, cur, "wa", "", &p), 0);
	page_is(&p, 1, ids[0]);
	assert_string_equal(p.next, "");
	page_free(&p);

	/* A page that ends exactly at the last one says so. */
	assert_int_equal(query(f, 4, "", "wa", "", &p), 0);
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 3, cur, "wa", "", &p), 0);
	page_is(&p, 3, ids[2], ids[1], ids[0]);
	assert_string_equal(p.next, "");
	page_free(&p);

	/* The cursors are ST_CONV_LIST's: the same across both requests. */
	assert_int_equal(query(f, 4, "", "", "", &p), 0);
	assert_int_equal(p.total, 8);
	page_is(&p, 4, ids[6], ids[5], ids[4], other);
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 10, cur, "", "", &p), 0);
	page_is(&p, 4, ids[3], ids[2], ids[1], ids[0]);
	assert_string_equal(p.next, "");
	page_free(&p);
	/* A global cursor reads in the widget's index too. */
	assert_int_equal(query(f, 10, cur, "wa", "", &p), 0);
	page_is(&p, 4, ids[3], ids[2], ids[1], ids[0]);
	page_free(&p);
}

/* A widget with defaults; its public id into wid. */
static void
widget_new(struct fix *f, char wid[ST_WID_LEN + 1], char id[ST_ID_HEX + 1])
{
	struct st_widget in, out;
	struct penc e;
	struct dreply r;
	struct pdec d;

	st_widget_defaults(&in);
	penc_init(&e);
	penc_widget(&e, &in);
	assert_int_equal(request(f, PROTO_ST_WIDGET_CREATE, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_widget(&d, &out), 0);
	strlcpy(wid, out.widget_id, ST_WID_LEN + 1);
	strlcpy(id, out.id, ST_ID_HEX + 1);
	st_widget_free(&out);
	st_widget_free(&in);
	dreply_free(&r);
}

/* A visitor session of wid with token hash byte tb. */
static void
visitor(struct fix *f, const char *wid, uint8_t tb)
{
	uint8_t h[ST_TOKEN_HASH_LEN];
	struct st_ws_open_req q = { .widget_id = wid, .origin = "",
	    .new_hash_len = ST_TOKEN_HASH_LEN, .history_max = 10 };
	struct penc e;
	struct dreply r;
	struct pdec d;

	fill(h, sizeof(h), tb);
	penc_init(&e);
	memcpy(q.new_hash, h, sizeof(q.new_hash));
	assert_int_equal(st_req_encode(&e, PROTO_ST_WS_OPEN, &q), 0);
	assert_int_equal(request(f, PROTO_ST_WS_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), ST_WS_OK);
	dreply_free(&r);
}

/* A visitor's message: whether it made a conversation, and its id. */
static int
visitor_says(struct fix *f, const char *wid, uint8_t tb, const char *content,
    char conv_id[ST_ID_HEX + 1])
{
	uint8_t h[ST_TOKEN_HASH_LEN];
	char lang[ST_VISITOR_LANG_MAX + 1];
	struct st_agent a;
	struct penc e;
	struct st_ws_begin_req q = { 0 };
	struct dreply r;
	struct pdec d;
	int created;

	fill(h, sizeof(h), tb);
	/* A new visitor's first message stores it. */
	q.widget_id = wid;
	q.token_len = sizeof(h);
	memcpy(q.token, h, sizeof(h));
	q.content = content;
	q.rate_key = "";
	q.window_ms = 60000;
	q.history_max = 10;
	q.create = 1;
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_ST_WS_BEGIN, &q), 0);
	assert_int_equal(request(f, PROTO_ST_WS_BEGIN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), ST_WS_OK);
	pdec_u64(&d);
	assert_int_equal(pdec_agent(&d, &a), 0);
	st_agent_free(&a);
	created = pdec_u8(&d);
	fix_dec_begin_conv(&d, conv_id, lang);
	dreply_free(&r);
	fix_turns_end(f);	/* as its reply would */
	return created;
}

static void
visitor_contact(struct fix *f, const char *wid, uint8_t tb, const char *name,
    const char *email, const char *phone)
{
	struct st_contact_submit_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .name = name, .email = email,
	    .phone = phone, .create = 1 };
	struct dreply r;
	struct pdec d;

	fill(q.token, sizeof(q.token), tb);
	assert_int_equal(request_st(f, PROTO_ST_CONTACT_SUBMIT, &q, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), ST_WS_OK);
	dreply_free(&r);
}

static void
test_dstore_search(void **state)
{
	struct fix *f = *state;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1], c[ST_ID_HEX + 1];
	char v[ST_ID_HEX + 1], wid[ST_WID_LEN + 1], wint[ST_ID_HEX + 1];
	char shown[EXPROW_SESSION_LEN + 1];
	struct page p;
	int i;

	conv_next(f, "wa", "session-Blue", a);
	say(f, a, "nothing here");
	conv_next(f, "wa", "s2", b);
	say(f, b, "first");
	for (i = 0; i < 30; i++)
		say(f, b, "filler");
	say(f, b, "Where is my ORDER #1234? \xc3\xa9t\xc3\xa9");
	say(f, b, "last");
	fake_now += 10;
	conv_next(f, "wb", "s3", c);
	say(f, c, "an order of fries");
	widget_new(f, wid, wint);
	visitor(f, wid, 5);
	fake_now += 10;
	assert_int_equal(visitor_says(f, wid, 5, "hi there", v), 1);
	visitor_contact(f, wid, 5, "Alice Smith", "Alice@Example.com",
	    "+1 555 0100");

	/* In a message, ignoring ASCII case; newest first. */
	assert_int_equal(query(f, 10, "", "", "order", &p), 0);
	assert_int_equal(p.total, 4);
	page_is(&p, 2, c, b);
	assert_string_equal(p.next, "");
	page_free(&p);
	assert_int_equal(query(f, 10, "", "", "oRdEr #1234", &p), 0);
	page_is(&p, 1, b);
	page_free(&p);
	/* Non-ASCII matches exactly. */
	assert_int_equal(query(f, 10, "", "", "\xc3\xa9t\xc3\xa9", &p), 0);
	page_is(&p, 1, b);
	page_free(&p);
	assert_int_equal(query(f, 10, "", "", "\xc3\x89T\xc3\x89", &p), 0);
	assert_int_equal(p.n, 0);
	/* With a widget filter. */
	assert_int_equal(query(f, 10, "", "wa", "ORDER", &p), 0);
	assert_int_equal(p.total, 2);
	page_is(&p, 1, b);
	page_free(&p);
	/*
	 * A session by its digest as shown, whole, in any case; never in
	 * the session id itself (a visitor's credential).
	 */
	assert_int_equal(query(f, 10, "", "", "BLUE", &p), 0);
	assert_int_equal(p.n, 0);
	page_free(&p);
	exprow_session("session-Blue", shown);
	for (i = 0; shown[i] != '\0'; i++)
		shown[i] = (char)toupper((unsigned char)shown[i]);
	assert_int_equal(query(f, 10, "", "", shown, &p), 0);
	page_is(&p, 1, a);
	page_free(&p);
	shown[20] = '\0';
	assert_int_equal(query(f, 10, "", "", shown, &p), 0);
	assert_int_equal(p.n, 0);
	page_free(&p);
	/* In the contact's name, email or phone. */
	assert_int_equal(query(f, 10, "", "", "alice s", &p), 0);
	page_is(&p, 1, v);
	page_free(&p);
	assert_int_equal(query(f, 10, "", wint, "example.COM", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, v);
	page_free(&p);
	assert_int_equal(query(f, 10, "", "", "0100", &p), 0);
	page_is(&p, 1, v);
	page_free(&p);
	/* No match anywhere. */
	assert_int_equal(query(f, 10, "", "", "zebra", &p), 0);
	assert_int_equal(p.total, 4);
	assert_int_equal(p.n, 0);
	assert_string_equal(p.next, "");
	/* Matches page like the rest: limit 1, then on. */
	assert_int_equal(query(f, 1, "", "", "e", &p), 0);
	page_is(&p, 1, v);
	assert_string_not_equal(p.next, "");
	{
		char cur[ST_CURSOR_MAX + 1];

		strlcpy(cur, p.next, sizeof(cur));
		page_free(&p);
		assert_int_equal(query(f, 10, cur, "", "e", &p), 0);
		page_is(&p, 3, c, b, a);
		assert_string_equal(p.next, "");
		page_free(&p);
	}
}

/* The scan budget ends a page early, with a cursor to go on from. */
static void
test_dstore_search_budget(void **state)
{
	struct fix *f = *state;
	char cur[ST_CURSOR_MAX + 1], old[ST_ID_HEX + 1], s[16];
	char needle[EXPROW_SESSION_LEN + 1];
	struct store_txn t;
	struct st_conv c;
	struct page p;
	int i, created;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, "wa", "needle-1", &c, &created),
	    0);
	strlcpy(old, c.id, sizeof(old));
	st_conv_free(&c);
	for (i = 0; i < ST_SEARCH_SCAN + 10; i++) {
		fake_now++;
		snprintf(s, sizeof(s), "hay-%d", i);
		assert_int_equal(store_conv_open(&t, "wa", s, &c, &created),
		    0);
		st_conv_free(&c);
	}
	assert_int_equal(store_commit(&t), 0);
	/* Its session, as the search finds one: its digest as shown. */
	exprow_session("needle-1", needle);

	assert_int_equal(query(f, 10, "", "", needle, &p), 0);
	assert_int_equal(p.total, ST_SEARCH_SCAN + 11);
	assert_int_equal(p.n, 0);
	assert_string_not_equal(p.next, "");
	strlcpy(cur, p.next, sizeof(cur));
	assert_int_equal(query(f, 10, cur, "", needle, &p), 0);
	page_is(&p, 1, old);
	assert_string_equal(p.next, "");
	page_free(&p);
	/* The same through the widget's index. */
	assert_int_equal(query(f, 10, "", "wa", needle, &p), 0);
	assert_int_equal(p.n, 0);
	strlcpy(cur, p.next, sizeof(cur));
	assert_int_equal(query(f, 10, cur, "wa", needle, &p), 0);
	page_is(&p, 1, old);
	page_free(&p);
	/* Without a search the budget does not apply. */
	assert_int_equal(query(f, 200, "", "wa", "", &p), 0);
	assert_int_equal(p.n, 200);
	page_free(&p);
}

/* So does a conversation that takes the search past its byte bound. */
static void
test_dstore_search_bytes(void **state)
{
	struct fix *f = *state;
	char cur[ST_CURSOR_MAX + 1], old[ST_ID_HEX + 1], big[ST_ID_HEX + 1];
	char needle[EXPROW_SESSION_LEN + 1];
	char *text = repeat('x', ST_CONTENT_MAX);
	struct store_txn t;
	struct st_msg m;
	struct st_conv c;
	struct page p;
	int i;

	conv_next(f, "wa", "needle", old);
	conv_id_new(f, "wa", "s2", big);
	/* 33 MiB of messages, past the 32 MiB one request reads. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < 33 * 16; i++) {
		memset(&m, 0, sizeof(m));
		strlcpy(m.conv_id, big, sizeof(m.conv_id));
		strlcpy(m.role, "user", sizeof(m.role));
		m.content = text;
		assert_int_equal(store_msg_append(&t, &m, &c, NULL), 0);
		st_conv_free(&c);
	}
	assert_int_equal(store_commit(&t), 0);
	free(text);
	exprow_session("needle", needle);	/* a session, as searched */

	assert_int_equal(query(f, 10, "", "", needle, &p), 0);
	assert_int_equal(p.n, 0);
	assert_string_not_equal(p.next, "");
	strlcpy(cur, p.next, sizeof(cur));
	assert_int_equal(query(f, 10, cur, "", needle, &p), 0);
	page_is(&p, 1, old);
	assert_string_equal(p.next, "");
	page_free(&p);
}

static void
test_dstore_query_invalid(void **state)
{
	struct fix *f = *state;
	char *w65 = repeat('w', 65), *q201 = repeat('q', 201);
	char *q200 = repeat('q', 200), *w64 = repeat('w', 64);
	struct page p;

	assert_int_equal(query(f, 0, "", "", "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 201, "", "", "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "xyz", "", "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "zz0000000000000000000000000000000000"
	    "000000000000", "", "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", "a b", "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", "w\xc3\xa9", "", &p),
	    PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", w65, "", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", w64, "", &p), 0);
	assert_int_equal(query(f, 10, "", "A_z-9", "", &p), 0);
	assert_int_equal(query(f, 10, "", "", q201, &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", "", q200, &p), 0);
	assert_int_equal(query(f, 10, "", "", "\xff", &p), PROTO_E_INVALID);
	assert_int_equal(query(f, 10, "", "", "\xc3", &p), PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_CONV_QUERY, "\0\0\0\1", 4),
	    PROTO_E_INVALID);
	free(w65);
	free(q201);
	free(q200);
	free(w64);
}

/* ------------------------------------------------ delete */

static void
test_dstore_delete(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_LEN + 1], wint[ST_ID_HEX + 1];
	char v[ST_ID_HEX + 1], v2[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	struct page p;

	conv_id_new(f, "wa", "s1", keep);
	say(f, keep, "kept");
	widget_new(f, wid, wint);
	visitor(f, wid, 5);
	fake_now += 10;
	assert_int_equal(visitor_says(f, wid, 5, "one", v), 1);
	fake_now += 10;
	assert_int_equal(visitor_says(f, wid, 5, "two", v2), 0);
	assert_string_equal(v, v2);
	visitor_contact(f, wid, 5, "Bob", "bob@example.com", "");
	assert_int_equal(db_entries(f, "contact_convs"), 1);
	assert_int_equal(db_entries(f, "msgs"), 3);
	assert_int_equal(db_entries(f, "sessions"), 2);

	assert_int_equal(conv_delete(f, v), 0);
	assert_int_equal(conv_get_err(f, v), PROTO_E_NOT_FOUND);
	assert_int_equal(db_entries(f, "convs"), 1);
	assert_int_equal(db_entries(f, "msgs"), 1);
	assert_int_equal(db_entries(f, "activity"), 0);
	assert_int_equal(db_entries(f, "conv_activity"), 1);
	assert_int_equal(db_entries(f, "conv_counts"), 1);
	assert_int_equal(db_entries(f, "sessions"), 1);
	assert_int_equal(db_entries(f, "contact_convs"), 0);
	assert_int_equal(query(f, 10, "", "", "", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, keep);
	page_free(&p);
	assert_int_equal(query(f, 10, "", wint, "", &p), 0);
	assert_int_equal(p.total, 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(conv_get_err(f, keep), 0);

	/* The session goes on in a new conversation, found by its widget. */
	fake_now += 10;
	assert_int_equal(visitor_says(f, wid, 5, "three", v2), 1);
	assert_string_not_equal(v, v2);
	assert_int_equal(query(f, 10, "", wint, "", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, v2);
	assert_int_equal(p.convs[0].message_count, 1);
	/* The session's contact comes along. */
	assert_string_not_equal(p.convs[0].contact_id, "");
	page_free(&p);

	assert_int_equal(conv_delete(f, v), PROTO_E_NOT_FOUND);
	assert_int_equal(conv_delete(f, "0123456789abcdef0123456789abcdef"),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(conv_delete(f, "xyz"), PROTO_E_INVALID);
	assert_int_equal(conv_delete(f, "0123456789ABCDEF0123456789ABCDEF"),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_CONV_DELETE, "", 0),
	    PROTO_E_INVALID);

	/* The last of a widget takes its count along. */
	assert_int_equal(conv_delete(f, keep), 0);
	assert_int_equal(conv_delete(f, v2), 0);
	assert_int_equal(db_entries(f, "conv_counts"), 0);
	assert_int_equal(db_entries(f, "conv_activity"), 0);
	assert_int_equal(db_entries(f, "msgs"), 0);
	assert_int_equal(db_entries(f, "sessions"), 0);
	assert_int_equal(query(f, 10, "", "", "", &p), 0);
	assert_int_equal(p.total, 0);
}

/* The range delete takes one conversation's messages, not its neighbours'. */
static void
test_dstore_delete_many_messages(void **state)
{
	struct fix *f = *state;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1];
	int i;

	conv_id_new(f, "wa", "s1", a);
	conv_id_new(f, "wa", "s2", b);
	for (i = 0; i < 300; i++) {
		say(f, a, "a message");
		say(f, b, "b message");
	}
	assert_int_equal(conv_delete(f, a), 0);
	assert_int_equal(db_entries(f, "msgs"), 300);
	assert_int_equal(conv_get_err(f, b), 0);
}

/* ------------------------------------------------ message pages */

struct mpage {
	uint32_t n;
	struct st_msg msgs[ST_LIST_MAX];
	uint32_t next;
	size_t len;
};

static void
mpage_free(struct mpage *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		st_msg_free(&p->msgs[i]);
	p->n = 0;
}

static int
msg_page(struct fix *f, const char *id, uint32_t from, uint32_t limit,
    struct mpage *p)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint32_t i;
	int err;

	memset(p, 0, sizeof(*p));
	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, from);
	penc_u32(&e, limit);
	if ((err = request(f, PROTO_ST_MSG_PAGE, &e, &r)) == 0) {
		p->len = r.enc.len;
		pdec_init(&d, r.enc.buf, r.enc.len);
		p->n = pdec_u32(&d);
		assert_true(p->n <= limit);
		for (i = 0; i < p->n; i++)
			assert_int_equal(pdec_msg(&d, &p->msgs[i]), 0);
		p->next = pdec_u32(&d);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

static void
test_dstore_msg_page(void **state)
{
	struct fix *f = *state;
	char id[ST_ID_HEX + 1], empty[ST_ID_HEX + 1], s[16];
	struct mpage p;
	uint32_t from = 0, seen = 0, i;

	conv_id_new(f, "wa", "s1", id);
	conv_id_new(f, "wa", "s2", empty);
	for (i = 0; i < 450; i++) {
		snprintf(s, sizeof(s), "m%u", i);
		say(f, id, s);
	}
	do {
		assert_int_equal(msg_page(f, id, from, 200, &p), 0);
		for (i = 0; i < p.n; i++) {
			snprintf(s, sizeof(s), "m%u", seen + i);
			assert_string_equal(p.msgs[i].content, s);
			assert_string_equal(p.msgs[i].conv_id, id);
		}
		seen += p.n;
		from = p.next;
		mpage_free(&p);
	} while (from != 0);
	assert_int_equal(seen, 450);

	assert_int_equal(msg_page(f, id, 445, 10, &p), 0);
	assert_int_equal(p.n, 5);
	assert_string_equal(p.msgs[0].content, "m445");
	assert_int_equal(p.next, 0);
	mpage_free(&p);
	assert_int_equal(msg_page(f, id, 440, 10, &p), 0);
	assert_int_equal(p.n, 10);
	assert_int_equal(p.next, 0);
	mpage_free(&p);
	assert_int_equal(msg_page(f, id, 439, 10, &p), 0);
	assert_int_equal(p.n, 10);
	assert_int_equal(p.next, 449);
	mpage_free(&p);
	assert_int_equal(msg_page(f, id, 450, 10, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.next, 0);
	assert_int_equal(msg_page(f, id, UINT32_MAX, 10, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(msg_page(f, empty, 0, 10, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.next, 0);

	assert_int_equal(msg_page(f, "0123456789abcdef0123456789abcdef", 0,
	    10, &p), PROTO_E_NOT_FOUND);
	assert_int_equal(msg_page(f, "nope", 0, 10, &p), PROTO_E_INVALID);
	assert_int_equal(msg_page(f, id, 0, 0, &p), PROTO_E_INVALID);
	assert_int_equal(msg_page(f, id, 0, 201, &p), PROTO_E_INVALID);
}

/* A page never outgrows a reply: big messages make it shorter. */
static void
test_dstore_msg_page_bytes(void **state)
{
	struct fix *f = *state;
	char id[ST_ID_HEX + 1];
	char *big = repeat('x', ST_CONTENT_MAX);
	struct store_txn t;
	struct st_msg m;
	struct st_conv c;
	struct mpage p;
	uint32_t i, from = 0, seen = 0;

	conv_id_new(f, "wa", "s1", id);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < 140; i++) {
		memset(&m, 0, sizeof(m));
		strlcpy(m.conv_id, id, sizeof(m.conv_id));
		strlcpy(m.role, "user", sizeof(m.role));
		m.content = big;
		assert_int_equal(store_msg_append(&t, &m, &c, NULL), 0);
		st_conv_free(&c);
	}
	assert_int_equal(store_commit(&t), 0);
	do {
		assert_int_equal(msg_page(f, id, from, 200, &p), 0);
		assert_true(p.n > 0);
		assert_true(p.len <= PROTO_MAX_PAYLOAD);
		if (from == 0) {
			assert_true(p.n < 140);
			assert_int_equal(p.next, p.n);
		}
		seen += p.n;
		from = p.next;
		mpage_free(&p);
	} while (from != 0);
	assert_int_equal(seen, 140);
	free(big);
}

/*
 * ST_MSG_PAGES of the n conversations ids, from, limit, into p (next:
 * next_conv, from2: next_from): the request's error.
 */
static int
msg_pages(struct fix *f, const char *const *ids, uint32_t n, uint32_t from,
    uint32_t limit, struct mpage *p, uint32_t *from2)
{
	struct st_str s[ST_LIST_MAX + 1];
	struct st_msg_pages_req q = { s, n, from, limit };
	struct st_msg_pages_rep rep;
	struct dreply r;
	struct penc e;
	uint32_t i;
	int err;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n; i++)
		s[i].s = ids[i];
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_ST_MSG_PAGES, &q), 0);
	if ((err = request(f, PROTO_ST_MSG_PAGES, &e, &r)) == 0) {
		p->len = r.enc.len;
		assert_int_equal(st_rep_decode(PROTO_ST_MSG_PAGES, r.enc.buf,
		    r.enc.len, &rep), 0);
		assert_true(rep.n <= limit);
		p->n = rep.n;
		if (rep.n > 0)
			memcpy(p->msgs, rep.msgs, rep.n * sizeof(*rep.msgs));
		free(rep.msgs);
		p->next = rep.next_conv;
		*from2 = rep.next_from;
	}
	dreply_free(&r);
	return err;
}

/* p's messages' contents are the n of the list (NULL-ended). */
static void
mpage_is(const struct mpage *p, ...)
{
	const char *want;
	va_list ap;
	uint32_t i = 0;

	va_start(ap, p);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < p->n);
		assert_string_equal(p->msgs[i++].content, want);
	}
	va_end(ap);
	assert_int_equal(i, p->n);
}

/*
 * Several conversations' messages in one request: each one's oldest
 * first in the order named, one with none or that is not there passed
 * over, a page going on within a conversation or at a later one, and
 * done (next_conv the count) when it ends at the last message.
 */
static void
test_dstore_msg_pages(void **state)
{
	struct fix *f = *state;
	char x[ST_ID_HEX + 1], y[ST_ID_HEX + 1], z[ST_ID_HEX + 1], s[16];
	const char *ids[4] = { x, y, "0123456789abcdef0123456789abcdef", z };
	struct mpage p;
	uint32_t from2, i;

	conv_id_new(f, "wa", "s1", x);
	conv_id_new(f, "wa", "s2", y);
	conv_id_new(f, "wa", "s3", z);
	for (i = 0; i < 5; i++) {
		snprintf(s, sizeof(s), "x%u", i);
		say(f, x, s);
	}
	for (i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "z%u", i);
		say(f, z, s);
	}
	assert_int_equal(msg_pages(f, ids, 4, 0, 200, &p, &from2), 0);
	mpage_is(&p, "x0", "x1", "x2", "x3", "x4", "z0", "z1", "z2", NULL);
	assert_string_equal(p.msgs[5].conv_id, z);
	assert_int_equal(p.next, 4);
	mpage_free(&p);
	/* Full within x, then at z's first, then at the very end. */
	assert_int_equal(msg_pages(f, ids, 4, 0, 4, &p, &from2), 0);
	mpage_is(&p, "x0", "x1", "x2", "x3", NULL);
	assert_int_equal(p.next, 0);
	assert_int_equal(from2, 4);
	mpage_free(&p);
	assert_int_equal(msg_pages(f, ids, 4, 2, 3, &p, &from2), 0);
	mpage_is(&p, "x2", "x3", "x4", NULL);
	assert_int_equal(p.next, 3);
	assert_int_equal(from2, 0);
	mpage_free(&p);
	assert_int_equal(msg_pages(f, ids, 4, 4, 4, &p, &from2), 0);
	mpage_is(&p, "x4", "z0", "z1", "z2", NULL);
	assert_int_equal(p.next, 4);
	mpage_free(&p);
	/* From z on, from 1; nothing past the end. */
	assert_int_equal(msg_pages(f, ids + 3, 1, 1, 10, &p, &from2), 0);
	mpage_is(&p, "z1", "z2", NULL);
	assert_int_equal(p.next, 1);
	mpage_free(&p);
	assert_int_equal(msg_pages(f, ids + 1, 2, 0, 10, &p, &from2), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.next, 2);

	assert_int_equal(msg_pages(f, ids, 0, 0, 10, &p, &from2),
	    PROTO_E_INVALID);
	assert_int_equal(msg_pages(f, ids, 4, 0, 0, &p, &from2),
	    PROTO_E_INVALID);
	assert_int_equal(msg_pages(f, ids, 4, 0, 201, &p, &from2),
	    PROTO_E_INVALID);
	ids[1] = "nope";
	assert_int_equal(msg_pages(f, ids, 4, 0, 10, &p, &from2),
	    PROTO_E_INVALID);
}

/* Pages of several conversations never outgrow a reply either. */
static void
test_dstore_msg_pages_bytes(void **state)
{
	struct fix *f = *state;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1];
	const char *ids[2] = { a, b };
	char *big = repeat('x', ST_CONTENT_MAX);
	struct store_txn t;
	struct st_msg m;
	struct st_conv c;
	struct mpage p;
	uint32_t i, k, from = 0, at = 0, seen = 0, pages = 0;

	conv_id_new(f, "wa", "s1", a);
	conv_id_new(f, "wa", "s2", b);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (k = 0; k < 2; k++)
		for (i = 0; i < 80; i++) {
			memset(&m, 0, sizeof(m));
			strlcpy(m.conv_id, ids[k], sizeof(m.conv_id));
			strlcpy(m.role, "user", sizeof(m.role));
			m.content = big;
			assert_int_equal(store_msg_append(&t, &m, &c, NULL), 0);
			st_conv_free(&c);
		}
	assert_int_equal(store_commit(&t), 0);
	while (at < 2) {
		assert_int_equal(msg_pages(f, ids + at, 2 - at, from, 200, &p,
		    &from), 0);
		assert_true(p.n > 0);
		assert_true(p.len <= PROTO_MAX_PAYLOAD);
		seen += p.n;
		at += p.next;
		pages++;
		mpage_free(&p);
	}
	assert_int_equal(seen, 160);
	assert_true(pages > 1);
	free(big);
}

/* ------------------------------------------------ old data directories */

static void
test_dstore_rebuild(void **state)
{
	struct fix *f = *state;
	char a1[ST_ID_HEX + 1], a2[ST_ID_HEX + 1], b1[ST_ID_HEX + 1];
	struct page p;

	conv_next(f, "wa", "s1", a1);
	conv_next(f, "wb", "s1", b1);
	conv_next(f, "wa", "s2", a2);
	say(f, a1, "moved");
	/* As a data directory made before the index. */
	db_clear(f, "conv_activity", "conv_counts");
	assert_int_equal(db_entries(f, "conv_activity"), 3);
	assert_int_equal(db_entries(f, "conv_counts"), 2);

	assert_int_equal(query(f, 10, "", "wa", "", &p), 0);
	assert_int_equal(p.total, 2);
	page_is(&p, 2, a1, a2);
	page_free(&p);
	assert_int_equal(query(f, 10, "", "wb", "", &p), 0);
	assert_int_equal(p.total, 1);
	page_is(&p, 1, b1);
	page_free(&p);
	/* And it is kept from then on. */
	fake_now += 10;
	say(f, a2, "again");
	assert_int_equal(conv_delete(f, b1), 0);
	assert_int_equal(query(f, 10, "", "wa", "", &p), 0);
	page_is(&p, 2, a2, a1);
	page_free(&p);
	assert_int_equal(db_entries(f, "conv_counts"), 1);

	/* A built index is left alone at the next start. */
	fix_reopen(f);
	assert_int_equal(db_entries(f, "conv_activity"), 2);
}

/*
 * ST_ORDER_CREATED (an export's): newest first by creation, which a
 * message does not change, so a conversation moved while the pages are
 * read is met once; the index is built for a data directory made before
 * it, and goes with its conversation.
 */
static void
test_dstore_created_order(void **state)
{
	struct fix *f = *state;
	char a1[ST_ID_HEX + 1], a2[ST_ID_HEX + 1], b1[ST_ID_HEX + 1];
	char cur[ST_CURSOR_MAX + 1];
	struct page p;
	int pass;

	conv_next(f, "wa", "s1", a1);
	conv_next(f, "wb", "s1", b1);
	conv_next(f, "wa", "s2", a2);
	for (pass = 0; pass < 2; pass++) {
		/* One a page: a2, then a1 moved to the front by activity. */
		assert_int_equal(query_in(f, 1, "", "", "", ST_ORDER_CREATED,
		    &p), 0);
		assert_int_equal(p.total, 3);
		page_is(&p, 1, a2);
		strlcpy(cur, p.next, sizeof(cur));
		page_free(&p);
		fake_now += 10;
		say(f, a1, "moved");
		assert_int_equal(query(f, 1, "", "", "", &p), 0);
		page_is(&p, 1, a1);
		page_free(&p);
		assert_int_equal(query_in(f, 2, cur, "", "", ST_ORDER_CREATED,
		    &p), 0);
		page_is(&p, 2, b1, a1);
		assert_string_equal(p.next, "");
		page_free(&p);
		/* One widget's part. */
		assert_int_equal(query_in(f, 10, "", "wa", "",
		    ST_ORDER_CREATED, &p), 0);
		page_is(&p, 2, a2, a1);
		page_free(&p);
		/* The second pass: built at open, as an older directory's. */
		if (pass == 0) {
			db_clear(f, "conv_created", NULL);
			assert_int_equal(db_entries(f, "conv_created"), 3);
		}
	}
	assert_int_equal(conv_delete(f, b1), 0);
	assert_int_equal(db_entries(f, "conv_created"), 2);
	assert_int_equal(query_in(f, 10, "", "", "", 2, &p), PROTO_E_INVALID);
}

/* ------------------------------------------------ the merged list */

/* A conversation as the full list orders it: (updated_at, id), newest first. */
struct ord {
	uint64_t at;
	char id[ST_ID_HEX + 1];
};

static int
ord_newest(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->at != y->at)
		return x->at > y->at ? -1 : 1;
	/* Lowercase hex orders as the raw bytes do. */
	return -strcmp(x->id, y->id);
}

/* Every conversation, through each widget's own index, sorted as one. */
static size_t
ord_all(struct fix *f, const char **widgets, size_t nw, struct ord *o,
    size_t max)
{
	struct page p;
	size_t n = 0, i;
	uint32_t j;

	for (i = 0; i < nw; i++) {
		assert_int_equal(query(f, ST_LIST_MAX, "", widgets[i], "", &p),
		    0);
		assert_string_equal(p.next, "");
		for (j = 0; j < p.n; j++) {
			assert_true(n < max);
			o[n].at = p.convs[j].updated_at;
			strlcpy(o[n].id, p.convs[j].id, sizeof(o[n].id));
			n++;
		}
		page_free(&p);
	}
	qsort(o, n, sizeof(*o), ord_newest);
	return n;
}

/* ST_CONV_LIST's page, through the store. */
static void
list_page(struct fix *f, uint32_t limit, const char *cursor,
    struct store_list *l)
{
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_conv_list(&t, limit, cursor, l), 0);
	assert_int_equal(store_commit(&t), 0);
}

/*
 * Pages through everything with this limit, both ways (ST_CONV_QUERY
 * and ST_CONV_LIST): every conversation once, in o's order.
 */
static void
pages_match(struct fix *f, uint32_t limit, const struct ord *o, size_t n)
{
	char cur[ST_CURSOR_MAX + 1] = "";
	struct store_list l;
	struct page p;
	size_t at = 0;
	uint32_t i;

	do {
		assert_int_equal(query(f, limit, cur, "", "", &p), 0);
		assert_int_equal(p.total, n);
		for (i = 0; i < p.n; i++, at++) {
			assert_true(at < n);
			assert_string_equal(p.convs[i].id, o[at].id);
		}
		/* A full page, unless it is the last. */
		if (p.next[0] != '\0')
			assert_int_equal(p.n, limit);
		else
			assert_int_equal(at, n);
		list_page(f, limit, cur, &l);
		assert_int_equal(l.total, n);
		assert_int_equal(l.n, p.n);
		for (i = 0; i < l.n; i++)
			assert_string_equal(l.convs[i].id, p.convs[i].id);
		assert_string_equal(l.next_cursor, p.next);
		store_list_free(&l);
		strlcpy(cur, p.next, sizeof(cur));
		page_free(&p);
	} while (cur[0] != '\0');
	assert_int_equal(at, n);
}

static void
test_dstore_merge_paging(void **state)
{
	static const char *widgets[] = { "wa", "wb", "wc" };
	struct fix *f = *state;
	struct ord o[64];
	char s[16], cur[ST_CURSOR_MAX + 1];
	char ids[30][ST_ID_HEX + 1], gone[ST_ID_HEX + 1];
	struct page p;
	size_t n, i;
	uint32_t lim;

	/* Four at each time, across widgets and within one. */
	for (i = 0; i < 30; i++) {
		fake_now = T0 + (i / 4) * 10;
		snprintf(s, sizeof(s), "s%zu", i);
		conv_id_new(f, widgets[(i * 7 / 3) % 3], s, ids[i]);
	}
	/* Messages at one time move some of each widget to the same key time. */
	fake_now = T0 + 1000;
	say(f, ids[0], "a");
	say(f, ids[1], "b");
	say(f, ids[5], "c");
	say(f, ids[13], "d");
	fake_now = T0 + 1001;
	say(f, ids[2], "e");
	n = ord_all(f, widgets, 3, o, 64);
	assert_int_equal(n, 30);
	for (i = 1; i < n; i++)
		assert_true(o[i - 1].at > o[i].at || (o[i - 1].at ==
		    o[i].at && strcmp(o[i - 1].id, o[i].id) > 0));
	assert_string_equal(o[0].id, ids[2]);

	for (lim = 1; lim <= 31; lim++)
		pages_match(f, lim, o, n);
	pages_match(f, ST_LIST_MAX, o, n);

	/* A cursor from any place, even between two of one time. */
	assert_int_equal(query(f, 4, "", "", "", &p), 0);
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 200, cur, "", "", &p), 0);
	assert_int_equal(p.n, n - 4);
	for (i = 0; i < p.n; i++)
		assert_string_equal(p.convs[i].id, o[4 + i].id);
	assert_string_equal(p.next, "");
	page_free(&p);
	/* A cursor at the oldest: nothing older. */
	assert_int_equal(query(f, (uint32_t)n, "", "", "", &p), 0);
	assert_string_equal(p.next, "");
	page_free(&p);
	assert_int_equal(query(f, (uint32_t)n - 1, "", "", "", &p), 0);
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 5, cur, "", "", &p), 0);
	page_is(&p, 1, o[n - 1].id);
	assert_string_equal(p.next, "");
	page_free(&p);

	/* Deleting: the widget's newest, and all of wc. */
	assert_int_equal(query(f, 3, "", "", "", &p), 0);
	strlcpy(cur, p.next, sizeof(cur));
	/* The cursor names a conversation that then goes: still valid. */
	strlcpy(gone, p.convs[2].id, sizeof(gone));
	assert_int_equal(conv_delete(f, gone), 0);
	page_free(&p);
	for (i = 0; i < 30; i++)
		if ((i * 7 / 3) % 3 == 2 && strcmp(ids[i], gone) != 0)
			assert_int_equal(conv_delete(f, ids[i]), 0);
	n = ord_all(f, widgets, 3, o, 64);
	assert_int_equal(query(f, 10, "", "wc", "", &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.total, 0);
	for (lim = 1; lim <= 7; lim++)
		pages_match(f, lim, o, n);
	assert_int_equal(query(f, 200, cur, "", "", &p), 0);
	/* What is older than the deleted one: the tail of o. */
	assert_true(p.n > 0 && p.n < n);
	for (i = 0; i < p.n; i++)
		assert_string_equal(p.convs[i].id, o[n - p.n + i].id);
	page_free(&p);

	/* Nothing written to the retired indexes, ever. */
	retired_empty(f);
	assert_int_equal(db_entries(f, "conv_activity"), n);
}

/* The scan budget counts conversations of every widget, merged. */
/* "a needle" said in conversation id, in t, at its time (no newer). */
static void
needle_say(struct store_txn *t, const char *id)
{
	struct st_msg m;
	struct st_conv c;

	memset(&m, 0, sizeof(m));
	strlcpy(m.conv_id, id, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	m.content = "a needle";
	assert_int_equal(store_msg_append(t, &m, &c, NULL), 0);
	st_conv_free(&c);
}

static void
test_dstore_merge_search(void **state)
{
	static const char *widgets[] = { "wa", "wb", "wc" };
	struct fix *f = *state;
	char cur[ST_CURSOR_MAX + 1], old[ST_ID_HEX + 1], mid[ST_ID_HEX + 1];
	char s[16];
	struct store_txn t;
	struct st_conv c;
	struct page p;
	int i, created;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, "wb", "s-old", &c, &created),
	    0);
	strlcpy(old, c.id, sizeof(old));
	st_conv_free(&c);
	/* The needles in a message each (a session is found by digest alone). */
	needle_say(&t, old);
	for (i = 0; i < ST_SEARCH_SCAN + 10; i++) {
		/* Two at each time: ties across widgets. */
		fake_now += i % 2;
		snprintf(s, sizeof(s), "hay-%d", i);
		if (i == 5) {
			assert_int_equal(store_conv_open(&t, "wc", "s-mid",
			    &c, &created), 0);
			strlcpy(mid, c.id, sizeof(mid));
			st_conv_free(&c);
			needle_say(&t, mid);
		}
		assert_int_equal(store_conv_open(&t, widgets[i % 3], s, &c,
		    &created), 0);
		st_conv_free(&c);
	}
	assert_int_equal(store_commit(&t), 0);

	/* The first ST_SEARCH_SCAN looked at hold no match. */
	assert_int_equal(query(f, 10, "", "", "NEEDLE", &p), 0);
	assert_int_equal(p.total, ST_SEARCH_SCAN + 12);
	assert_int_equal(p.n, 0);
	assert_string_not_equal(p.next, "");
	strlcpy(cur, p.next, sizeof(cur));
	/* Its cursor is the ST_SEARCH_SCAN-th of the plain list. */
	for (i = 0; i < ST_SEARCH_SCAN / ST_LIST_MAX; i++) {
		char c2[ST_CURSOR_MAX + 1];

		strlcpy(c2, p.next, sizeof(c2));
		assert_int_equal(query(f, ST_LIST_MAX, i == 0 ? "" : c2, "",
		    "", &p), 0);
		page_free(&p);
	}
	assert_string_equal(p.next, cur);
	/* The rest: both needles, newest first, and the end. */
	assert_int_equal(query(f, 10, cur, "", "needle", &p), 0);
	page_is(&p, 2, mid, old);
	assert_string_equal(p.next, "");
	page_free(&p);
	/* limit stops it at the first match, with a cursor to go on. */
	assert_int_equal(query(f, 1, cur, "", "needle", &p), 0);
	page_is(&p, 1, mid);
	strlcpy(cur, p.next, sizeof(cur));
	page_free(&p);
	assert_int_equal(query(f, 1, cur, "", "needle", &p), 0);
	page_is(&p, 1, old);
	page_free(&p);
}

/*
 * Writes the retired indexes behind the store's back, as older storageds
 * did (their keys' shapes do not matter: they are only emptied); fresh:
 * and empties conv_activity and conv_counts, as a data directory made
 * before them.
 */
static void
activity_fill(struct fix *f, const struct ord *o, size_t n, int fresh)
{
	uint8_t k[8 + 16], one = 1;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val kv, vv;
	size_t i, j, r;
	unsigned x;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (r = 0; r < NRETIRED; r++) {
		assert_int_equal(mdb_dbi_open(txn, retired[r], 0, &dbi), 0);
		for (i = 0; i < n; i++) {
			for (j = 0; j < 8; j++)
				k[j] = (uint8_t)(o[i].at >> (56 - 8 * j));
			for (j = 0; j < 16; j++) {
				assert_int_equal(sscanf(o[i].id + 2 * j,
				    "%2x", &x), 1);
				k[8 + j] = (uint8_t)x;
			}
			kv.mv_size = sizeof(k);
			kv.mv_data = k;
			vv.mv_size = 1;
			vv.mv_data = &one;
			assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
		}
	}
	for (r = 0; fresh && r < 2; r++) {
		assert_int_equal(mdb_dbi_open(txn, r == 0 ? "conv_activity" :
		    "conv_counts", 0, &dbi), 0);
		assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

/* Older data directories: their indexes go once conv_activity is there. */
static void
test_dstore_activity_retired(void **state)
{
	static const char *widgets[] = { "wa", "wb", "wc" };
	struct fix *f = *state;
	struct ord o[16], o2[16];
	char s[16], id[ST_ID_HEX + 1];
	size_t n, i;

	for (i = 0; i < 9; i++) {
		fake_now = T0 + (i / 2) * 10;
		snprintf(s, sizeof(s), "s%zu", i);
		conv_id_new(f, widgets[i % 3], s, id);
	}
	fake_now += 10;
	say(f, id, "hi");
	n = ord_all(f, widgets, 3, o, 16);
	assert_int_equal(n, 9);

	/* Both kinds filled: the retired go, conv_activity stays. */
	activity_fill(f, o, n, 0);
	retired_empty(f);
	assert_int_equal(db_entries(f, "conv_activity"), n);
	pages_match(f, 4, o, n);

	/*
	 * Only the retired indexes, as before conv_activity: it is built
	 * from convs, then they are emptied.
	 */
	activity_fill(f, o, n, 1);
	retired_empty(f);
	assert_int_equal(db_entries(f, "conv_activity"), n);
	assert_int_equal(db_entries(f, "conv_counts"), 3);
	assert_int_equal(ord_all(f, widgets, 3, o2, 16), n);
	for (i = 0; i < n; i++)
		assert_string_equal(o2[i].id, o[i].id);
	pages_match(f, 2, o, n);
	pages_match(f, 200, o, n);
}

/* ------------------------------------------------ dispatch */

static void
test_dstore_dispatch_kinds(void **state)
{
	(void)state;
	assert_int_equal(dispatch_is_write(PROTO_ST_DASH_LOGIN), 1);
	assert_int_equal(dispatch_is_write(PROTO_ST_DASH_CHECK), 0);
	assert_int_equal(dispatch_is_write(PROTO_ST_DASH_LOGOUT), 1);
	assert_int_equal(dispatch_is_write(PROTO_ST_CONV_DELETE), 1);
	assert_int_equal(dispatch_is_write(PROTO_ST_CONV_QUERY), 0);
	assert_int_equal(dispatch_is_write(PROTO_ST_MSG_PAGE), 0);
}

/* Reads run in a read-only batch, next to one another. */
static void
test_dstore_read_batch(void **state)
{
	struct fix *f = *state;
	char id[ST_ID_HEX + 1];
	uint8_t h[ST_DASH_HASH_LEN];
	struct dbatch b;
	struct dreply r[3];
	struct penc e[3];
	int i;

	conv_id_new(f, "wa", "s1", id);
	say(f, id, "hello");
	assert_int_equal(login(f, 1, CSRF1, 7, T0 + HOUR), 0);
	fill(h, sizeof(h), 1);
	for (i = 0; i < 3; i++)
		penc_init(&e[i]);
	penc_bytes(&e[0], h, sizeof(h));
	penc_str(&e[0], "");
	penc_u8(&e[0], 0);
	assert_int_equal(st_req_encode(&e[1], PROTO_ST_CONV_QUERY,
	    &(struct st_conv_query_req){ 10, "", "wa", "HELLO",
	    ST_ASSIGNED_ANY, "", 0, 0, ST_ORDER_ACTIVITY }), 0);
	penc_str(&e[2], id);
	penc_u32(&e[2], 0);
	penc_u32(&e[2], 10);
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 0), 0);
	dispatch_run(&b, PROTO_ST_DASH_CHECK, e[0].buf, e[0].len, &r[0]);
	dispatch_run(&b, PROTO_ST_CONV_QUERY, e[1].buf, e[1].len, &r[1]);
	dispatch_run(&b, PROTO_ST_MSG_PAGE, e[2].buf, e[2].len, &r[2]);
	assert_int_equal(dispatch_end(&b), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].err, 0);
		assert_int_equal(r[i].wrote, 0);
		dreply_free(&r[i]);
		penc_free(&e[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
		T(test_dstore_session_cycle),
		T(test_dstore_session_invalid),
		T(test_dstore_session_bytes),
		T(test_dstore_salt),
		T(test_dstore_salt_upgrade),
		T(test_dstore_login_budget),
		T(test_dstore_login_budget_kept),
		T(test_dstore_login_device),
		T(test_dstore_login_attempt_invalid),
		T(test_dstore_session_sweep_cap),
		T(test_dstore_session_user_cap),
		T(test_dstore_session_user_over_cap),
		T(test_dstore_query_widget),
		T(test_dstore_query_paging),
		T(test_dstore_search),
		T(test_dstore_search_budget),
		T(test_dstore_search_bytes),
		T(test_dstore_query_invalid),
		T(test_dstore_delete),
		T(test_dstore_delete_many_messages),
		T(test_dstore_msg_page),
		T(test_dstore_msg_page_bytes),
		T(test_dstore_msg_pages),
		T(test_dstore_msg_pages_bytes),
		T(test_dstore_rebuild),
		T(test_dstore_created_order),
		T(test_dstore_merge_paging),
		T(test_dstore_merge_search),
		T(test_dstore_activity_retired),
		T(test_dstore_dispatch_kinds),
		T(test_dstore_read_batch),
#undef T
	};

	log_init("test_dashstore");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
