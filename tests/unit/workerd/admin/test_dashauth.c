/*
 * The dashboard's sessions and pages: the Cookie parser, scrypt and the
 * password check, the CSRF compare, Set-Cookie, DASHBOARD_PASSWORD's
 * setting, and, against a fake storaged, login (order of checks, the
 * rate limit and the failed-login budget, the hash on the pool, a full
 * pool, the wrong password's delay and its count, a client leaving
 * meanwhile), the fingerprint (the install's salt asked once), session,
 * logout, the admin gate and an invitation's acceptance; the pages from
 * a temporary assets directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "admin.h"
#include "dashmsg.h"
#include "site.h"
#include "static.h"
#include "stmsgs.h"
#include "test_client.h"
#include "usermsg.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define PW	"correct horse battery"
#define CSRF	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff"
#define SID	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define CONV	"00000000000000000000000000000001"
#define SALT	"install salt 16b"	/* storaged's, in these tests */
#define USALT	"the user's salt!"	/* the owner's own, in these tests */
#define USER	"usr_0123456789abcdef0123456789abcdef"

static struct peer P;

/* -------------------------------------------------------------- pure */

static void
test_dash_cookie_parse(void **state)
{
	char v[16];

	assert_int_equal(cookie_get("a=b", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "b");
	assert_int_equal(cookie_get("x=1; a=b; c=d", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "b");
	assert_int_equal(cookie_get("  x = 1 ;\ta = b c ;c=d", "a", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "b c");
	/* First occurrence wins. */
	assert_int_equal(cookie_get("a=1; a=2", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "1");
	/* Quoted, empty, with '=' inside. */
	assert_int_equal(cookie_get("a=\"q\"", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "q");
	assert_int_equal(cookie_get("a=", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(cookie_get("a=x=y", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "x=y");
	/* Names compare exactly. */
	assert_int_equal(cookie_get("aa=1; A=2; a", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(cookie_get("", "a", v, sizeof(v)), 0);
	assert_int_equal(cookie_get(";;; ;", "a", v, sizeof(v)), 0);
	assert_int_equal(cookie_get(NULL, "a", v, sizeof(v)), 0);
	assert_int_equal(cookie_get("b; a=1", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "1");
	/* Bounded: too long, control characters. */
	assert_int_equal(cookie_get("a=0123456789abcdef", "a", v, sizeof(v)),
	    -1);
	assert_int_equal(cookie_get("a=0123456789abcde", "a", v, sizeof(v)),
	    1);
	assert_int_equal(cookie_get("a=x\001y", "a", v, sizeof(v)), -1);
}

static void
test_dash_scrypt(void **state)
{
	static const uint8_t rfc7914[32] = {
		0x70, 0x23, 0xbd, 0xcb, 0x3a, 0xfd, 0x73, 0x48,
		0x46, 0x1c, 0x06, 0xcd, 0x81, 0xfd, 0x38, 0xeb,
		0xfd, 0xa8, 0xfb, 0xba, 0x90, 0x4f, 0x8e, 0x3e,
		0xa9, 0xb5, 0x43, 0xf6, 0x54, 0x5d, 0xa1, 0xf2,
	};
	uint8_t out[DASH_KEY_LEN];

	/* RFC 7914's vector with these parameters (the first 32 bytes). */
	assert_int_equal(dashauth_scrypt("pleaseletmein", 13, "SodiumChloride",
	    14, out), 0);
	assert_memory_equal(out, rfc7914, sizeof(out));

	dashauth_init(NULL);
	assert_false(dashauth_configured());
	assert_null(dashauth_fp());

	dashauth_init(PW);
	assert_true(dashauth_configured());
	/*
	 * The fingerprint needs the install's salt from storaged: none yet
	 * (expect_after_salt() checks the one made with it).
	 */
	assert_null(dashauth_fp());
	dashauth_init("");
	assert_false(dashauth_configured());
}

static void
test_dash_csrf(void **state)
{
	char other[] = CSRF;

	assert_true(dashauth_csrf_ok(CSRF, CSRF));
	other[63] = '0';
	assert_false(dashauth_csrf_ok(other, CSRF));
	other[63] = 'f';
	other[0] = '1';
	assert_false(dashauth_csrf_ok(other, CSRF));
	assert_false(dashauth_csrf_ok(NULL, CSRF));
	assert_false(dashauth_csrf_ok("", CSRF));
	assert_false(dashauth_csrf_ok(CSRF "0", CSRF));
	assert_false(dashauth_csrf_ok("0011", "0011"));	/* not a token */
	assert_false(dashauth_csrf_ok(CSRF, NULL));
}

static void
test_dash_set_cookie(void **state)
{
	char h[320];

	dashauth_set_cookie(h, sizeof(h), SID, 0);
	assert_string_equal(h, "Set-Cookie: parley_session=" SID "; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=604800\r\n");
	dashauth_set_cookie(h, sizeof(h), SID, 1);
	assert_string_equal(h, "Set-Cookie: __Host-parley_session=" SID "; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=604800; Secure\r\n");
	dashauth_set_cookie(h, sizeof(h), NULL, 0);
	assert_string_equal(h, "Set-Cookie: parley_session=; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=0\r\n");
	dashauth_set_cookie(h, sizeof(h), NULL, 1);
	assert_string_equal(h, "Set-Cookie: __Host-parley_session=; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=0; Secure\r\n");
}

static void
test_dash_setting(void **state)
{
	const char *shortpw[] = { "DASHBOARD_PASSWORD", "elevenchars", NULL };
	const char *okpw[] = { "DASHBOARD_PASSWORD", "twelve chars", NULL };
	const char *utf[] = { "DASHBOARD_PASSWORD", "\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9", NULL };	/* 12 bytes, 6 characters */
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(settings_parse(&st, test_kv_get, shortpw, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "DASHBOARD_PASSWORD must be at least 12 "
	    "characters"));
	assert_null(strstr(err, "elevenchars"));
	assert_int_equal(settings_parse(&st, test_kv_get, utf, err,
	    sizeof(err)), -1);
	assert_int_equal(settings_parse(&st, test_kv_get, okpw, err,
	    sizeof(err)), 0);
	settings_free(&st);
}

static void
test_dash_names(void **state)
{
	assert_true(dashpages_name_ok("app.js"));
	assert_true(dashpages_name_ok("app-1.2_x.css"));
	assert_false(dashpages_name_ok(""));
	assert_false(dashpages_name_ok(NULL));
	assert_false(dashpages_name_ok(".hidden"));
	assert_false(dashpages_name_ok("a..js"));
	assert_false(dashpages_name_ok("../x.js"));
	assert_false(dashpages_name_ok("a/b.js"));
	assert_false(dashpages_name_ok("a%2fb.js"));
	assert_false(dashpages_name_ok("a b.js"));
	assert_string_equal(dashpages_ctype("app.js"),
	    "application/javascript; charset=utf-8");
	assert_string_equal(dashpages_ctype("a.css"), "text/css; charset=utf-8");
	assert_string_equal(dashpages_ctype("i.svg"), "image/svg+xml");
	assert_string_equal(dashpages_ctype("i.png"), "image/png");
	assert_string_equal(dashpages_ctype("favicon.ico"), "image/x-icon");
	assert_string_equal(dashpages_ctype("f.woff2"), "font/woff2");
	assert_null(dashpages_ctype("x.exe"));
	assert_null(dashpages_ctype("noext"));
}

/* ------------------------------------------------------ HTTP, fake peer */

static char assets[64];

static void
put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", assets, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	char d[128];

	peer_admin_setup(&P, "https://site.example", KEY);
	dashauth_init(PW);
	strlcpy(assets, "/tmp/parley-dash-XXXXXX", sizeof(assets));
	if (mkdtemp(assets) == NULL)
		return -1;
	snprintf(d, sizeof(d), "%s/dashboard", assets);
	mkdir(d, 0700);
	snprintf(d, sizeof(d), "%s/dashboard/assets", assets);
	mkdir(d, 0700);
	put_file("dashboard/index.html", "<!doctype html><p>app");
	put_file("dashboard/login.html", "<!doctype html><p>login");
	put_file("dashboard/assets/app.js", "console.log(1);");
	put_file("dashboard/secret.txt", "no");
	setenv("PARLEY_ASSETS_DIR", assets, 1);
	test_settings_env();
	dashpages_init();
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	peer_admin_teardown(&P);
	dashauth_shutdown();
	hashpool_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", assets);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static int
each_setup(void **state)
{
	admin_init(KEY);
	dashauth_init(PW);
	resp_set_production(0);
	return peer_connect(&P) == 0 ? 0 : -1;
}

static struct tclient CL;

#define JSONCT	"Content-Type: application/json\r\n"
#define COOKIE	"Cookie: theme=dark; parley_session=" SID "\r\n"
#define XCSRF	"x-csrf-token: " CSRF "\r\n"
#define LOGIN(pw)	"{\"password\":\"" pw "\"}"

/* Ours and the admin API's say no-store; the router's CORS refusal not. */
static void
expect_error(int status, const char *msg)
{
	tclient_expect_error_hdr(&CL, status, msg, status != 403 ||
	    strcmp(msg, "Origin not allowed") != 0 ?
	    "Cache-Control: no-store\r\n" : NULL);
}

/* The next reply_rep is a byte short (-1) or a byte over (1), then whole again. */
static int next_cut;

/* rep, the struct of pr's reply (stmsgs.h), as storaged answers it, cut as next_cut says. */
static void
reply_rep(const struct peer_req *pr, const void *rep)
{
	struct penc e;
	size_t len;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, pr->type, rep), 0);
	if (next_cut > 0)
		penc_u8(&e, 0);
	assert_true(next_cut >= 0 || e.len > 0);
	len = next_cut < 0 ? e.len - 1 : e.len;
	next_cut = 0;
	peer_reply(&P, pr, e.buf, len);
	penc_free(&e);
}

/* An empty reply (ST_DASH_LOGIN's, ST_DASH_LOGOUT's), padded as next_cut says. */
static void
reply_empty(const struct peer_req *pr)
{
	char none = 0;

	reply_rep(pr, &none);
}

/*
 * ST_DASH_ATTEMPT: checks the key and limits (the client's 10 a minute,
 * the default budget of 100 failures), answers limited (1: the client,
 * 2: the budget) or not.
 */
static void
answer_rate(uint8_t limited, uint64_t retry_ms)
{
	struct st_rate_verdict v = { limited, retry_ms };
	struct st_dash_attempt_req req;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_DASH_ATTEMPT);
	assert_int_equal(st_req_decode(PROTO_ST_DASH_ATTEMPT, pr.payload,
	    pr.len, &req), 0);
	assert_string_equal(req.rate_key, "login:local");
	assert_int_equal(req.window_ms, 60000);
	assert_int_equal(req.rate_max, 10);
	assert_int_equal(req.failures_max, 100);
	st_req_free(PROTO_ST_DASH_ATTEMPT, &req);
	reply_rep(&pr, &v);
}

/* A wrong password counted against the budget (ST_RATE_HIT). */
static void
answer_failed(void)
{
	struct st_rate_verdict v = { 0, 0 };
	struct st_rate_hit h;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	assert_int_equal(st_req_decode(PROTO_ST_RATE_HIT, pr.payload, pr.len,
	    &h), 0);
	assert_string_equal(h.key, ST_DASH_FAILED_KEY);
	assert_int_equal(h.window_ms, 60000);
	assert_int_equal(h.max, 100);
	reply_rep(&pr, &v);
}

/* ST_DASH_SALT's answer: SALT. */
static void
reply_salt(const struct peer_req *pr)
{
	struct st_dash_salt_rep rep;

	memcpy(rep.salt, SALT, sizeof(rep.salt));
	rep.salt_len = sizeof(rep.salt);
	reply_rep(pr, &rep);
}

/*
 * scrypt(PW, SALT), the fingerprint every boot must send, made once (as
 * user_hash(): each boot made it again, 7 of the file's 97 scrypts).
 */
static const uint8_t *
salt_fp(void)
{
	static uint8_t fp[ST_DASH_FP_LEN];
	static int made;

	if (!made)
		assert_int_equal(dashauth_scrypt(PW, strlen(PW), SALT, 16,
		    fp), 0);
	made = 1;
	return fp;
}

/*
 * The next request, which must be type; the first owner's boot before it
 * (an ST_DASH_SALT answered with SALT, then ST_USER_BOOT of
 * owner@localhost with the fingerprint scrypt(PW, SALT), answered 0) is
 * answered first.
 */
static void
expect_after_salt(struct peer_req *pr, uint16_t type)
{
	uint8_t fp[ST_DASH_FP_LEN];
	struct st_user_boot_req b;
	struct st_u8_rep v = { 0 };
	int cut;

	assert_int_equal(peer_recv(&P, pr, 2000), 0);
	if (pr->type != PROTO_ST_DASH_SALT) {
		assert_int_equal(pr->type, type);
		return;
	}
	assert_int_equal(pr->len, 0);
	assert_null(dashauth_fp());
	/* next_cut is for type's reply, not the salt's. */
	cut = next_cut;
	next_cut = 0;
	reply_salt(pr);
	peer_expect(&P, pr, PROTO_ST_USER_BOOT);
	assert_memory_equal(dashauth_fp(), salt_fp(), ST_DASH_FP_LEN);
	assert_int_equal(st_req_decode(PROTO_ST_USER_BOOT, pr->payload,
	    pr->len, &b), 0);
	assert_string_equal(b.email, "owner@localhost");
	/* Named as a visitor should read it when it replies. */
	assert_string_equal(b.name, "Support");
	assert_memory_equal(b.fp, salt_fp(), ST_DASH_FP_LEN);
	/* The owner's password: scrypt(PW) with the worker's random salt. */
	assert_int_equal(dashauth_scrypt(PW, strlen(PW), b.salt, b.salt_len,
	    fp), 0);
	assert_memory_equal(b.hash, fp, sizeof(fp));
	st_req_free(PROTO_ST_USER_BOOT, &b);
	reply_rep(pr, &v);
	next_cut = cut;
	peer_expect(&P, pr, type);
}

/* scrypt(PW, USALT), made once (scrypt is slow under the sanitizers). */
static const uint8_t *
user_hash(void)
{
	static uint8_t h[ST_PW_HASH_LEN];
	static int made;

	if (!made)
		assert_int_equal(dashauth_scrypt(PW, strlen(PW), USALT, 16,
		    h), 0);
	made = 1;
	return h;
}

/*
 * ST_USER_AUTH of email (after the boot, when due): found, the owner
 * USER with USALT and scrypt(PW, USALT); or not found.
 */
static void
answer_auth_of(const char *email, int found)
{
	struct st_user_auth_req req;
	struct st_user_auth_rep rep;
	struct peer_req pr;

	expect_after_salt(&pr, PROTO_ST_USER_AUTH);
	assert_int_equal(st_req_decode(PROTO_ST_USER_AUTH, pr.payload, pr.len,
	    &req), 0);
	assert_string_equal(req.email, email);
	st_req_free(PROTO_ST_USER_AUTH, &req);
	memset(&rep, 0, sizeof(rep));
	rep.found = found ? 1 : 0;
	strlcpy(rep.s.id, USER, sizeof(rep.s.id));
	memcpy(rep.s.salt, USALT, sizeof(rep.s.salt));
	rep.s.salt_len = sizeof(rep.s.salt);
	memcpy(rep.s.hash, user_hash(), sizeof(rep.s.hash));
	rep.s.hash_len = sizeof(rep.s.hash);
	reply_rep(&pr, &rep);
}

static void
answer_auth(void)
{
	answer_auth_of("owner@localhost", 1);
}

/*
 * ST_DASH_CHECK of SID in org (NULL: none asked): answers valid (the
 * session of USER, owner of "default", with CSRF) or not.
 */
static void
answer_check_in(const char *org, int valid)
{
	uint8_t id[DASH_ID_BYTES], want[ST_DASH_HASH_LEN];
	struct st_dash_check_req req;
	struct st_dash_check_rep rep;
	struct peer_req pr;
	size_t i;

	expect_after_salt(&pr, PROTO_ST_DASH_CHECK);
	for (i = 0; i < sizeof(id); i++)
		sscanf(SID + 2 * i, "%2hhx", &id[i]);
	SHA256(id, sizeof(id), want);
	assert_int_equal(st_req_decode(PROTO_ST_DASH_CHECK, pr.payload, pr.len,
	    &req), 0);
	assert_int_equal(req.token_hash_len, ST_DASH_HASH_LEN);
	assert_memory_equal(req.token_hash, want, ST_DASH_HASH_LEN);
	assert_string_equal(req.org, org != NULL ? org : "");
	memset(&rep, 0, sizeof(rep));
	rep.valid = (uint8_t)valid;
	strlcpy(rep.s.csrf, CSRF, sizeof(rep.s.csrf));
	rep.s.expires_at = 1800000000000ULL;
	strlcpy(rep.s.user, USER, sizeof(rep.s.user));
	strlcpy(rep.s.email, "owner@localhost", sizeof(rep.s.email));
	rep.s.name = "Owner";
	strlcpy(rep.s.org, org != NULL ? org : "default", sizeof(rep.s.org));
	rep.s.role = org != NULL ? ST_ROLE_ADMIN : ST_ROLE_OWNER;
	reply_rep(&pr, &rep);
}

static void
answer_check(int valid)
{
	answer_check_in(NULL, valid ? ST_DASH_VALID : ST_DASH_INVALID);
}

static void
pool_filler(void *arg, int ok, const uint8_t *key)
{
}

static void
test_dash_login(void **state)
{
	struct peer_req pr;
	struct tresp r;
	struct pdec d;
	const uint8_t *p;
	char csrf[ST_DASH_CSRF_LEN + 1], hdr[256], body[256], want[128];
	char user[ST_USER_ID_MAX + 1];
	struct hashjob *fill[HASHPOOL_MAX];
	size_t nfill;
	uint64_t t0, exp;
	size_t n;

	(void)user_hash();
	assert_int_equal(tclient_open(&CL), 0);
	/* Content type, then body; nothing counted for those. */
	tclient_request(&CL, "POST", "/dashboard/api/login", NULL, LOGIN(PW));
	expect_error(415, "Content-Type must be application/json");
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"password\":1}");
	expect_error(400, "Invalid request body");
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, "[]");
	expect_error(400, "Invalid request body");
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"password\":");
	expect_error(400, "Invalid request body");
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"password\":\"a\",\"password\":\"b\"}");
	expect_error(400, "Invalid request body");
	dashauth_init(NULL);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	expect_error(503, "DASHBOARD_PASSWORD is not configured on this "
	    "deployment");
	dashauth_init(PW);
	peer_expect_none(&P, 50);

	/* Limited: 429 with Retry-After, the password not even checked. */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(1, 41500);
	tclient_expect(&CL, &r, 429);
	assert_string_equal(r.body,
	    "{\"error\":\"Too many login attempts, try again later\"}");
	assert_non_null(strstr(r.head, "Retry-After: 42\r\n"));
	tresp_free(&r);
	/* The budget of every client spent: 429 too, the password unchecked. */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(2, 999);
	tclient_expect(&CL, &r, 429);
	assert_string_equal(r.body, "{\"error\":\"Too many failed logins on "
	    "this server, try again later\"}");
	assert_non_null(strstr(r.head, "Retry-After: 1\r\n"));
	tresp_free(&r);
	peer_expect_none(&P, 50);

	/*
	 * Wrong: the first owner stored first, the user looked up, counted
	 * against the budget, then 401 after the delay.
	 */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    LOGIN("nope"));
	answer_rate(0, 0);
	answer_auth();
	t0 = loop_clock();
	answer_failed();
	expect_error(401, "Wrong password");
	assert_true(loop_clock() - t0 >= DASH_WRONG_DELAY_MS - 50);

	/* By email: an unknown one is hashed and refused as a wrong password. */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"email\":\"Nobody@Example.COM\",\"password\":\"" PW "\"}");
	answer_rate(0, 0);
	answer_auth_of("nobody@example.com", 0);
	t0 = loop_clock();
	answer_failed();
	expect_error(401, "Wrong email or password");
	assert_true(loop_clock() - t0 >= DASH_WRONG_DELAY_MS - 50);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"email\":\"no at sign\",\"password\":\"x\"}");
	expect_error(400, "email: must not hold white space or control "
	    "characters");
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    "{\"email\":7,\"password\":\"x\"}");
	expect_error(400, "Invalid request body");
	peer_expect_none(&P, 50);

	/* A full hash pool: 503 at once, nothing waits. The fillers are
	 * cancelled after: only those already on a thread are hashed (each
	 * scrypt is 50 ms of CPU). */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	nfill = 0;
	while (hashpool_pending() < HASHPOOL_MAX)
		assert_non_null(fill[nfill++] = hashpool_submit("x", 1, "s", 1,
		    pool_filler, NULL));
	answer_auth();
	tclient_expect(&CL, &r, 503);
	assert_string_equal(r.body, "{\"error\":\"Too many logins at once, "
	    "try again in a moment\"}");
	assert_non_null(strstr(r.head, "Retry-After: 1\r\n"));
	tresp_free(&r);
	while (nfill > 0)
		hashpool_cancel(fill[--nfill]);
	while (hashpool_pending() > 0)
		loop_once(5);

	/*
	 * Right: the user's hash matches, the session stored with its user
	 * and the hash checked (storaged refuses it if the password changed
	 * meanwhile), then 200 with the cookie.
	 */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	answer_auth();
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
	pdec_init(&d, pr.payload, pr.len);
	p = pdec_bytes(&d, &n);
	assert_int_equal(n, ST_DASH_HASH_LEN);
	pdec_strbuf(&d, csrf, sizeof(csrf));
	assert_int_equal(strlen(csrf), ST_DASH_CSRF_LEN);
	assert_int_equal(strspn(csrf, "0123456789abcdef"), ST_DASH_CSRF_LEN);
	pdec_strbuf(&d, user, sizeof(user));
	assert_string_equal(user, USER);
	(void)p;
	exp = pdec_u64(&d);
	/* The hash it checked the password against: the user's as read. */
	p = pdec_bytes(&d, &n);
	assert_int_equal(n, ST_PW_HASH_LEN);
	assert_memory_equal(p, user_hash(), ST_PW_HASH_LEN);
	assert_int_equal(pdec_done(&d), 0);
	assert_true(exp > proto_wall_ms() + 604800000ULL - 60000);
	assert_true(exp <= proto_wall_ms() + 604800000ULL);
	reply_empty(&pr);
	tclient_expect(&CL, &r, 200);
	snprintf(body, sizeof(body), "{\"csrfToken\":\"%s\",\"expiresAt\":%llu}",
	    csrf, (unsigned long long)exp);
	assert_string_equal(r.body, body);
	assert_non_null(tresp_header(&r, "Set-Cookie", hdr, sizeof(hdr)));
	assert_int_equal(strncmp(hdr, "parley_session=", 15), 0);
	assert_int_equal(strspn(hdr + 15, "0123456789abcdef"), DASH_ID_HEX);
	snprintf(want, sizeof(want), "; Path=/; HttpOnly; SameSite=Strict; "
	    "Max-Age=604800");
	assert_string_equal(hdr + 15 + DASH_ID_HEX, want);
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	tresp_free(&r);

	/* Production: Secure. storaged failing: 503. */
	resp_set_production(1);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	answer_auth();
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
	reply_empty(&pr);
	tclient_expect(&CL, &r, 200);
	assert_non_null(tresp_header(&r, "Set-Cookie", hdr, sizeof(hdr)));
	assert_non_null(strstr(hdr, "; Max-Age=604800; Secure"));
	tresp_free(&r);
	resp_set_production(0);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	answer_auth();
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_error(503, "Storage unavailable");
	/* The server's sessions all taken by others: 503, said so. */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	answer_auth();
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
	peer_error(&P, &pr, PROTO_E_FULL, "too many sessions");
	expect_error(503, "Too many dashboard sessions on this server; try "
	    "again later");
	/* The user deleted or disabled meanwhile: 401, no cookie. */
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	answer_auth();
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "no such user");
	expect_error(401, "Unauthorized");
	tclient_close(&CL);
}

/* The client leaves while its answer waits: nothing leaks or fires. */
static void
test_dash_login_abort(void **state)
{
	struct peer_req pr;

	/* During the wrong password's delay. */
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    LOGIN("nope"));
	answer_rate(0, 0);
	answer_auth();
	answer_failed();
	drive_ms(50);
	tclient_close(&CL);
	drive_ms(DASH_WRONG_DELAY_MS + 100);

	/* While counted. */
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	peer_expect(&P, &pr, PROTO_ST_DASH_ATTEMPT);
	tclient_close(&CL);
	peer_reply(&P, &pr, "\0\0\0\0\0\0\0\0\0", 9);
	drive_ms(50);

	/*
	 * While hashed: the job is dropped or orphaned, never answers into
	 * the gone connection, and a wrong password nobody hears of is not
	 * counted.
	 */
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
	    LOGIN("nope"));
	answer_rate(0, 0);
	answer_auth();
	drive_ms(5);
	tclient_close(&CL);
	while (hashpool_pending() > 0)
		loop_once(5);
	peer_expect_none(&P, 100);

	/*
	 * While the first owner is stored: the boot goes on, the user is
	 * never looked up.
	 */
	dashauth_init(PW);
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	answer_rate(0, 0);
	peer_expect(&P, &pr, PROTO_ST_DASH_SALT);
	tclient_close(&CL);
	drive_ms(20);
	reply_salt(&pr);
	peer_expect(&P, &pr, PROTO_ST_USER_BOOT);
	reply_rep(&pr, &(struct st_u8_rep){ 1 });
	peer_expect_none(&P, 50);
}

static void
test_dash_session(void **state)
{
	struct peer_req pr;
	struct tresp r;
	char hdr[256];

	assert_int_equal(tclient_open(&CL), 0);
	/* The salt cannot be had: 503, and the next request asks again. */
	tclient_request(&CL, "GET", "/dashboard/api/session", COOKIE, NULL);
	peer_expect(&P, &pr, PROTO_ST_DASH_SALT);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_error(503, "Storage unavailable");
	assert_null(dashauth_fp());
	tclient_request(&CL, "GET", "/dashboard/api/session", NULL, NULL);
	expect_error(401, "Unauthorized");
	tclient_request(&CL, "GET", "/dashboard/api/session",
	    "Cookie: parley_session=zz\r\n", NULL);
	expect_error(401, "Unauthorized");
	peer_expect_none(&P, 50);
	tclient_request(&CL, "GET", "/dashboard/api/session", COOKIE, NULL);
	answer_check(0);
	expect_error(401, "Unauthorized");
	tclient_request(&CL, "GET", "/dashboard/api/session", COOKIE, NULL);
	answer_check(1);
	tclient_expect(&CL, &r, 200);
	assert_string_equal(r.body, "{\"csrfToken\":\"" CSRF "\","
	    "\"expiresAt\":1800000000000,\"user\":{\"id\":\"" USER "\","
	    "\"email\":\"owner@localhost\",\"name\":\"Owner\"},"
	    "\"organization\":{\"id\":\"default\",\"role\":\"owner\"},"
	    "\"organizations\":[]}");
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	tresp_free(&r);

	/* Logout: the session's CSRF token, then deleted. */
	tclient_request(&CL, "POST", "/dashboard/api/logout", COOKIE, NULL);
	answer_check(1);
	expect_error(403, "Missing or invalid CSRF token");
	tclient_request(&CL, "POST", "/dashboard/api/logout",
	    COOKIE "x-csrf-token: "
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\r\n", NULL);
	answer_check(1);
	expect_error(403, "Missing or invalid CSRF token");
	tclient_request(&CL, "POST", "/dashboard/api/logout", NULL, NULL);
	expect_error(401, "Unauthorized");
	tclient_request(&CL, "POST", "/dashboard/api/logout", COOKIE XCSRF,
	    NULL);
	answer_check(1);
	peer_expect(&P, &pr, PROTO_ST_DASH_LOGOUT);
	assert_int_equal(pr.len, 4 + ST_DASH_HASH_LEN);
	reply_empty(&pr);
	tclient_expect(&CL, &r, 204);
	assert_non_null(tresp_header(&r, "Set-Cookie", hdr, sizeof(hdr)));
	assert_string_equal(hdr, "parley_session=; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=0");
	tresp_free(&r);
	tclient_close(&CL);
}

/*
 * Away mode (issue 23): a signed-in dashboard's event stream tells
 * storaged that its organisation is at the dashboard (ST_PRESENCE_SEEN,
 * who asks the session) when it starts and again every presence round
 * (a quarter of PARLEY_AWAY_AFTER_MS, here 1000 ms); its answer, a byte
 * over or an error, is nothing to the stream, which goes on. An API key's
 * stream says nothing.
 */
static void
test_events_presence(void **state)
{
	const struct st_ev_subscribe_rep sub = { 0xab, 9, { 7 }, ST_EV_KEY_LEN };
	struct tclient key;
	struct peer_req pr;
	uint32_t was = wsettings.away_after_ms;
	int i, seen = 0;

	wsettings.away_after_ms = 1000;
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "GET", "/v1/admin/events", COOKIE, NULL);
	answer_check(1);
	/* The subscription and the presence, in either order. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(peer_recv(&P, &pr, 2000), 0);
		if (pr.type == PROTO_ST_EV_SUBSCRIBE) {
			peer_reply_cut(&P, &pr, &sub, 0);
			continue;
		}
		assert_int_equal(pr.type, PROTO_ST_PRESENCE_SEEN);
		assert_true(pr.has_who);
		assert_int_equal(pr.who.kind, ST_WHO_SESSION);
		assert_string_equal(pr.who.org, "default");
		assert_int_equal(pr.len, 0);
		peer_reply(&P, &pr, "x", 1);	/* a byte over */
		seen++;
	}
	assert_int_equal(seen, 1);
	assert_int_equal(events_clients(), 1);
	/* A key's stream beside it: no presence of its own. */
	assert_int_equal(tclient_open(&key), 0);
	tclient_request(&key, "GET", "/v1/admin/events",
	    "x-admin-api-key: " KEY "\r\n", NULL);
	/* The next round, within 250 ms: once for the organisation. */
	peer_expect(&P, &pr, PROTO_ST_PRESENCE_SEEN);
	assert_int_equal(pr.who.kind, ST_WHO_SESSION);
	peer_error(&P, &pr, PROTO_E_INVALID, "not a dashboard session");
	peer_expect(&P, &pr, PROTO_ST_PRESENCE_SEEN);
	peer_reply(&P, &pr, NULL, 0);
	drive_ms(100);
	/*
	 * A loaded machine may be at a later round already (one each 250
	 * ms): its asks answered too, so that none is left in flight.
	 */
	while (peer_recv(&P, &pr, 20) == 0) {
		assert_int_equal(pr.type, PROTO_ST_PRESENCE_SEEN);
		peer_reply(&P, &pr, NULL, 0);
	}
	/*
	 * A round the loop sent in the last turn of that quiet 20 ms is
	 * not read yet (seen with six test files side by side): until
	 * nothing is in flight, each ask answered and its answer read.
	 */
	for (i = 0; storec_inflight() > 0 && i < 100; i++)
		if (peer_recv(&P, &pr, 20) == 0) {
			assert_int_equal(pr.type, PROTO_ST_PRESENCE_SEEN);
			peer_reply(&P, &pr, NULL, 0);
		}
	assert_int_equal(events_clients(), 2);
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&key);
	tclient_close(&CL);
	drive_ms(50);
	assert_int_equal(events_clients(), 0);
	/*
	 * A round may have gone out in the same turn of the loop as the
	 * closes were read (a loaded machine): what is in flight then is
	 * answered, and no round comes after.
	 */
	for (i = storec_inflight(); i > 0; i--) {
		peer_expect(&P, &pr, PROTO_ST_PRESENCE_SEEN);
		peer_reply(&P, &pr, NULL, 0);
	}
	peer_expect_none(&P, 400);
	wsettings.away_after_ms = was;
}

/*
 * The handler ran: it asked storaged something (whatever admin.c asks),
 * which fails, and every admin handler then answers 503.
 */
static void
handler_ran(void)
{
	struct peer_req pr;

	assert_int_equal(peer_recv(&P, &pr, 2000), 0);
	assert_int_not_equal(pr.type, PROTO_ST_DASH_CHECK);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_error(503, "Storage unavailable");
}

static void
test_dash_gate(void **state)
{
	struct peer_req pr;
	struct tresp r;

	assert_int_equal(tclient_open(&CL), 0);
	/* No key, no cookie: admin_gate as before. */
	tclient_request(&CL, "GET", "/v1/admin/conversations", NULL, NULL);
	expect_error(401, "Unauthorized");
	/* A key: the key alone, the cookie not looked at. */
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    "x-admin-api-key: nope\r\n"
	    COOKIE, NULL);
	expect_error(401, "Unauthorized");
	peer_expect_none(&P, 50);
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    "x-admin-api-key: " KEY
	    "\r\nCookie: parley_session=bad\r\n", NULL);
	handler_ran();

	/* A session: checked, then the handler. */
	tclient_request(&CL, "GET", "/v1/admin/conversations?limit=5", COOKIE,
	    NULL);
	answer_check(1);
	handler_ran();
	tclient_request(&CL, "POST", "/v1/admin/widgets", COOKIE XCSRF JSONCT,
	    "{}");
	answer_check(1);
	handler_ran();
	/* The mark does not outlive its request. */
	tclient_request(&CL, "GET", "/v1/admin/conversations", NULL, NULL);
	expect_error(401, "Unauthorized");

	/* Unknown session, malformed cookie: 401. */
	tclient_request(&CL, "GET", "/v1/admin/conversations", COOKIE, NULL);
	answer_check(0);
	expect_error(401, "Unauthorized");
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    "Cookie: parley_session=" CSRF "0\r\n", NULL);
	expect_error(401, "Unauthorized");
	peer_expect_none(&P, 50);

	/* Not GET: the CSRF token, then the handler with its parameter. */
	tclient_request(&CL, "DELETE", "/v1/admin/conversations/" CONV, COOKIE,
	    NULL);
	answer_check(1);
	expect_error(403, "Missing or invalid CSRF token");
	tclient_request(&CL, "DELETE", "/v1/admin/conversations/" CONV,
	    COOKIE XCSRF, NULL);
	answer_check(1);
	peer_expect(&P, &pr, PROTO_ST_CONV_DELETE);
	/* Who asks: the session, by 16 hex of its hash, never its id. */
	assert_int_equal(pr.who.kind, ST_WHO_SESSION);
	assert_int_equal(strlen(pr.who.id), 16);
	assert_int_equal(strspn(pr.who.id, "0123456789abcdef"), 16);
	assert_null(strstr(COOKIE, pr.who.id));
	/* In its first organisation, with its role there, as its user. */
	assert_string_equal(pr.who.org, "default");
	assert_int_equal(pr.who.role, ST_ROLE_OWNER);
	assert_string_equal(pr.who.user, USER);
	assert_int_equal(pr.len, 4 + ST_ID_HEX);
	assert_memory_equal(pr.payload + 4, CONV, ST_ID_HEX);
	peer_reply(&P, &pr, NULL, 0);
	tclient_expect(&CL, &r, 204);
	tresp_free(&r);

	/* Another organisation: asked for; one the user is not in is 404. */
	tclient_request(&CL, "DELETE", "/v1/admin/conversations/" CONV,
	    COOKIE XCSRF "x-organization-id: org_00000000000000000000000000000"
	    "00a\r\n", NULL);
	answer_check_in("org_0000000000000000000000000000000a", ST_DASH_VALID);
	peer_expect(&P, &pr, PROTO_ST_CONV_DELETE);
	assert_string_equal(pr.who.org, "org_0000000000000000000000000000000a");
	assert_int_equal(pr.who.role, ST_ROLE_ADMIN);
	assert_string_equal(pr.who.user, USER);
	peer_reply(&P, &pr, NULL, 0);
	tclient_expect(&CL, &r, 204);
	tresp_free(&r);
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    COOKIE "x-organization-id: org_00000000000000000000000000000000"
	    "\r\n", NULL);
	answer_check_in("org_00000000000000000000000000000000",
	    ST_DASH_NOT_MEMBER);
	expect_error(404, "Organization not found");
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    COOKIE "x-organization-id: nope\r\n", NULL);
	expect_error(404, "Organization not found");
	peer_expect_none(&P, 50);

	/* No DASHBOARD_PASSWORD: sessions still are the users'. */
	dashauth_init(NULL);
	tclient_request(&CL, "GET", "/v1/admin/conversations", COOKIE, NULL);
	answer_check(0);
	expect_error(401, "Unauthorized");
	dashauth_init(PW);

	/* storaged failing the check: 503. */
	tclient_request(&CL, "GET", "/v1/admin/widgets", COOKIE, NULL);
	expect_after_salt(&pr, PROTO_ST_DASH_CHECK);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_error(503, "Storage unavailable");

	/* The client leaves during the check. */
	tclient_request(&CL, "GET", "/v1/admin/widgets", COOKIE, NULL);
	peer_expect(&P, &pr, PROTO_ST_DASH_CHECK);
	tclient_close(&CL);
	drive_ms(20);
	peer_reply(&P, &pr, "\0", 1);
	drive_ms(20);
}

/*
 * Every reply of login, the fingerprint's salt, the first owner's boot,
 * the user's lookup, the session check and logout a byte short or over (the empty ones over): the request fails
 * cleanly (500; the salt's is the fingerprint not made, 503), no cookie
 * is set, no handler runs. A wrong password's count needs no answer: its
 * 401 comes all the same.
 */
static void
test_dash_malformed(void **state)
{
	struct peer_req pr;
	struct tresp r;
	int cut;

	assert_int_equal(tclient_open(&CL), 0);
	for (cut = -1; cut <= 1; cut += 2) {
		dashauth_init(PW);	/* no fingerprint: its salt is asked */
		/* The attempt's count: the password not even checked. */
		tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
		    LOGIN(PW));
		next_cut = cut;
		answer_rate(0, 0);
		expect_error(500, "Internal server error");
		peer_expect_none(&P, 50);

		/* The salt: no fingerprint, asked again by the next request. */
		tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
		    LOGIN(PW));
		answer_rate(0, 0);
		peer_expect(&P, &pr, PROTO_ST_DASH_SALT);
		next_cut = cut;
		reply_salt(&pr);
		expect_error(503, "Storage unavailable");
		assert_null(dashauth_fp());

		/* The first owner's boot: not stored, asked again. */
		tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
		    LOGIN(PW));
		answer_rate(0, 0);
		peer_expect(&P, &pr, PROTO_ST_DASH_SALT);
		reply_salt(&pr);
		peer_expect(&P, &pr, PROTO_ST_USER_BOOT);
		next_cut = cut;
		reply_rep(&pr, &(struct st_u8_rep){ 0 });
		expect_error(503, "Storage unavailable");

		/* The user's lookup. */
		tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
		    LOGIN(PW));
		answer_rate(0, 0);
		next_cut = cut;
		answer_auth();
		expect_error(500, "Internal server error");
		peer_expect_none(&P, 50);

		/* The session stored, its empty answer padded: no cookie. */
		if (cut > 0) {
			tclient_request(&CL, "POST", "/dashboard/api/login",
			    JSONCT, LOGIN(PW));
			answer_rate(0, 0);
			answer_auth();
			peer_expect(&P, &pr, PROTO_ST_DASH_LOGIN);
			next_cut = cut;
			reply_empty(&pr);
			tclient_expect(&CL, &r, 500);
			assert_null(strstr(r.head, "Set-Cookie"));
			tresp_free(&r);
		}

		/* The check: of the session, of the admin gate. */
		tclient_request(&CL, "GET", "/dashboard/api/session", COOKIE,
		    NULL);
		next_cut = cut;
		answer_check(1);
		expect_error(500, "Internal server error");
		tclient_request(&CL, "GET", "/v1/admin/conversations", COOKIE,
		    NULL);
		next_cut = cut;
		answer_check(1);
		expect_error(500, "Internal server error");
		peer_expect_none(&P, 50);

		/* Logout's empty answer padded: the cookie not cleared. */
		if (cut > 0) {
			tclient_request(&CL, "POST", "/dashboard/api/logout",
			    COOKIE XCSRF, NULL);
			answer_check(1);
			peer_expect(&P, &pr, PROTO_ST_DASH_LOGOUT);
			next_cut = cut;
			reply_empty(&pr);
			tclient_expect(&CL, &r, 500);
			assert_null(strstr(r.head, "Set-Cookie"));
			tresp_free(&r);
		}

		/* A wrong password's count: the 401 all the same. */
		tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT,
		    LOGIN("nope"));
		answer_rate(0, 0);
		answer_auth();
		next_cut = cut;
		answer_failed();
		expect_error(401, "Wrong password");
	}
	tclient_close(&CL);
}

#define TOKEN	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff"
#define ACCEPT	"{\"token\":\"" TOKEN "\",\"name\":\"Ada\"," \
		"\"password\":\"" PW "\"}"
#define NEWUSER	"usr_fedcba9876543210fedcba9876543210"

/* TOKEN's SHA-256, as the worker sends it. */
static void
token_hash(uint8_t want[ST_INVITE_HASH_LEN])
{
	uint8_t tok[ST_INVITE_HASH_LEN];
	size_t i;

	for (i = 0; i < sizeof(tok); i++)
		sscanf(TOKEN + 2 * i, "%2hhx", &tok[i]);
	SHA256(tok, sizeof(tok), want);
}

/*
 * ST_INVITE_SALT of TOKEN's hash (after the attempt's count), answered
 * result (0 no account, 1 none, 2 an account of salt bytes saltb), cut
 * as next_cut says.
 */
static void
answer_salt(uint8_t result, uint8_t saltb)
{
	uint8_t want[ST_INVITE_HASH_LEN];
	struct st_invite_salt_req req;
	struct st_invite_salt_rep rep;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_INVITE_SALT);
	token_hash(want);
	assert_int_equal(st_req_decode(PROTO_ST_INVITE_SALT, pr.payload,
	    pr.len, &req), 0);
	assert_int_equal(req.token_hash_len, sizeof(want));
	assert_memory_equal(req.token_hash, want, sizeof(want));
	st_req_free(PROTO_ST_INVITE_SALT, &req);
	memset(&rep, 0, sizeof(rep));
	rep.result = result;
	if (result == 2) {
		memset(rep.s.salt, saltb, sizeof(rep.s.salt));
		rep.s.salt_len = sizeof(rep.s.salt);
	}
	reply_rep(&pr, &rep);
}

/*
 * ST_INVITE_ACCEPT of TOKEN's hash and the name Ada (after the hash on
 * the pool), answered result (0 a new user of "default", 2 the email's
 * account joined, 3 nothing done), cut as next_cut says; salt, when not
 * NULL, the salt it must carry and its hash PW's with it.
 */
static void
answer_accept_as(uint8_t result, const uint8_t *salt)
{
	uint8_t want[ST_INVITE_HASH_LEN], key[ST_PW_HASH_LEN];
	struct st_invite_accept_req req;
	struct st_invite_accept_rep rep;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_INVITE_ACCEPT);
	token_hash(want);
	assert_int_equal(st_req_decode(PROTO_ST_INVITE_ACCEPT, pr.payload,
	    pr.len, &req), 0);
	assert_int_equal(req.token_hash_len, sizeof(want));
	assert_memory_equal(req.token_hash, want, sizeof(want));
	assert_string_equal(req.name, "Ada");
	assert_string_equal(req.user, "");
	assert_int_equal(req.salt_len, ST_PW_SALT_LEN);
	assert_int_equal(req.hash_len, ST_PW_HASH_LEN);
	if (salt != NULL) {
		assert_memory_equal(req.salt, salt, ST_PW_SALT_LEN);
		assert_int_equal(st_pw_scrypt(PW, strlen(PW), salt,
		    ST_PW_SALT_LEN, key), 0);
		assert_memory_equal(req.hash, key, sizeof(key));
	}
	st_req_free(PROTO_ST_INVITE_ACCEPT, &req);
	memset(&rep, 0, sizeof(rep));
	rep.result = result;
	if (result != 3)
		strlcpy(rep.d.user, NEWUSER, sizeof(rep.d.user));
	strlcpy(rep.d.org, "default", sizeof(rep.d.org));
	strlcpy(rep.d.email, "ada@example.com", sizeof(rep.d.email));
	reply_rep(&pr, &rep);
}

static void
answer_accept(void)
{
	answer_accept_as(0, NULL);
}

#define ACCEPTED	"{\"organization\":{\"id\":\"default\"}," \
			"\"email\":\"ada@example.com\"}"

/*
 * An invitation's acceptance with ST_INVITE_SALT's, then
 * ST_INVITE_ACCEPT's reply whole (200 with the organisation and the
 * invited email, no session: the page logs in), a byte short and a byte
 * over (500; nothing more asked).
 */
static void
test_dash_accept_malformed(void **state)
{
	struct tresp r;
	int cut, which;

	assert_int_equal(tclient_open(&CL), 0);
	for (which = 0; which < 2; which++)
		for (cut = -1; cut <= 1; cut++) {
			if (which == 0 && cut == 0)
				continue;
			tclient_request(&CL, "POST", "/dashboard/api/"
			    "invitations/accept", JSONCT, ACCEPT);
			answer_rate(0, 0);
			next_cut = which == 0 ? cut : 0;
			answer_salt(0, 0);
			if (which == 1) {
				next_cut = cut;
				answer_accept();
			}
			tclient_expect(&CL, &r, cut == 0 ? 200 : 500);
			/* No session either way: the page logs in. */
			assert_null(strstr(r.head, "Set-Cookie"));
			if (cut == 0)
				assert_string_equal(r.body, ACCEPTED);
			else
				assert_string_equal(r.body, "{\"error\":"
				    "\"Internal server error\"}");
			tresp_free(&r);
			assert_int_equal(storec_inflight(), 0);
			peer_expect_none(&P, 50);
		}
	tclient_close(&CL);
}

/*
 * An anonymous acceptance for an email with an account: its password
 * hashed with that account's salt (ST_INVITE_SALT's), which storaged
 * compares. Its own (joined, result 2), or not (nothing done, result 3:
 * a failed login of the budget, answered at once): the same 200, no
 * session. An unknown token: 404, nothing hashed, a failure counted.
 */
static void
test_dash_accept_existing(void **state)
{
	uint8_t salt[ST_PW_SALT_LEN];
	struct tresp r;
	int result;

	memset(salt, 0x5a, sizeof(salt));
	assert_int_equal(tclient_open(&CL), 0);
	for (result = 2; result <= 3; result++) {
		tclient_request(&CL, "POST", "/dashboard/api/invitations/"
		    "accept", JSONCT, ACCEPT);
		answer_rate(0, 0);
		answer_salt(2, 0x5a);
		answer_accept_as((uint8_t)result, salt);
		if (result == 3)
			answer_failed();
		tclient_expect(&CL, &r, 200);
		assert_null(strstr(r.head, "Set-Cookie"));
		assert_string_equal(r.body, ACCEPTED);
		tresp_free(&r);
		peer_expect_none(&P, 50);
	}
	tclient_request(&CL, "POST", "/dashboard/api/invitations/accept",
	    JSONCT, ACCEPT);
	answer_rate(0, 0);
	answer_salt(1, 0);
	answer_failed();
	expect_error(404, "Invitation not found or expired");
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 50);
	tclient_close(&CL);
}

/* The dashboard's own origin passes, whatever CORS_ORIGIN lists. */
static void
test_dash_origin(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/dashboard/api/login",
	    "Origin: https://evil.example"
	    "\r\n" JSONCT, LOGIN(PW));
	expect_error(403, "Origin not allowed");
	tclient_request(&CL, "POST", "/dashboard/api/login",
	    "Origin: http://t\r\n" JSONCT,
	    "{}");
	expect_error(400, "Invalid request body");
	tclient_request(&CL, "DELETE", "/v1/admin/conversations/" CONV,
	    "Origin: "
	    "https://evil.example\r\n" COOKIE XCSRF, NULL);
	expect_error(403, "Origin not allowed");
	peer_expect_none(&P, 50);
	tclient_close(&CL);
}

static void
test_dash_storaged_away(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	storec_shutdown();
	tclient_request(&CL, "POST", "/dashboard/api/login", JSONCT, LOGIN(PW));
	expect_error(503, "Storage unavailable");
	tclient_request(&CL, "GET", "/dashboard/api/session", COOKIE, NULL);
	expect_error(503, "Storage unavailable");
	tclient_request(&CL, "GET", "/v1/admin/conversations", COOKIE, NULL);
	expect_error(503, "Storage unavailable");
	tclient_close(&CL);
	peer_close(&P);
	peer_unlisten(&P);
}

static void
expect_page(const char *path, int status, const char *ctype,
    const char *body)
{
	struct tresp r;
	char h[512];

	tclient_request(&CL, "GET", path, NULL, NULL);
	tclient_expect(&CL, &r, status);
	assert_non_null(tresp_header(&r, "Content-Security-Policy", h,
	    sizeof(h)));
	assert_string_equal(h, "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	    "font-src 'self'; base-uri 'none'; form-action 'self'; "
	    "frame-ancestors 'none'");
	assert_non_null(strstr(r.head, "Cache-Control: no-cache\r\n"));
	if (ctype != NULL) {
		assert_non_null(tresp_header(&r, "Content-Type", h, sizeof(h)));
		assert_string_equal(h, ctype);
	}
	if (body != NULL)
		assert_string_equal(r.body, body);
	tresp_free(&r);
}

static void
expect_redirect(const char *path, int status, const char *location)
{
	struct tresp r;
	char h[256];

	tclient_request(&CL, "GET", path, NULL, NULL);
	tclient_expect(&CL, &r, status);
	assert_non_null(tresp_header(&r, "Location", h, sizeof(h)));
	assert_string_equal(h, location);
	tresp_free(&r);
}

/*
 * <assets>/<rel>: a one-member gzip file (a stored block) of stored[0..n)
 * whose trailer names said[0..n) (the same bytes: a current .gz; others:
 * a stale one).
 */
static void
put_gz(const char *rel, const char *stored, const char *said, size_t n)
{
	unsigned char g[256];
	uint32_t crc = static_crc32(0, said, n);
	size_t at = 0;
	char path[256];
	FILE *f;

	memcpy(g, "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10);
	at = 10;
	g[at++] = 1;			/* the last block, stored */
	g[at++] = n & 0xff;
	g[at++] = n >> 8;
	g[at++] = ~n & 0xff;
	g[at++] = (~n >> 8) & 0xff;
	memcpy(g + at, stored, n);
	at += n;
	for (int i = 0; i < 4; i++)
		g[at++] = crc >> (8 * i);
	for (int i = 0; i < 4; i++)
		g[at++] = (uint32_t)n >> (8 * i);
	snprintf(path, sizeof(path), "%s/%s", assets, rel);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(g, 1, at, f), at);
	fclose(f);
}

/* path with Accept-Encoding: gzip: 200, gzipped or not (gz), its ETag. */
static void
expect_gzip(const char *path, int gz, char *etag, size_t etagsz)
{
	struct tresp r;
	char h[128];

	tclient_request(&CL, "GET", path, "Accept-Encoding: gzip\r\n", NULL);
	tclient_expect(&CL, &r, 200);
	assert_int_equal(tresp_header(&r, "Content-Encoding", h,
	    sizeof(h)) != NULL, gz);
	if (gz)
		assert_string_equal(h, "gzip");
	assert_non_null(strstr(r.head, "\r\nVary: Accept-Encoding\r\n"));
	assert_non_null(tresp_header(&r, "ETag", etag, etagsz));
	assert_int_equal(strstr(etag, "-gzip\"") != NULL, gz);
	if (!gz)
		assert_string_equal(r.body, "console.log(1);");
	tresp_free(&r);
}

/*
 * A script's .gz goes to a browser that accepts gzip when its trailer
 * names the script's bytes; a stale one (another text of the same length)
 * never does; the .gz is not served by its own name.
 */
static void
test_dash_pages_gzip(void **state)
{
	char tag[128], h[256];
	struct tresp r;

	assert_int_equal(tclient_open(&CL), 0);
	put_gz("dashboard/assets/app.js.gz", "console.log(2);",
	    "console.log(2);", 15);
	expect_gzip("/dashboard/assets/app.js", 0, tag, sizeof(tag));
	put_gz("dashboard/assets/app.js.gz", "console.log(1);",
	    "console.log(1);", 15);
	expect_gzip("/dashboard/assets/app.js", 1, tag, sizeof(tag));
	/* The gzip tag asked again: 304, whichever encoding is asked. */
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", tag);
	tclient_request(&CL, "GET", "/dashboard/assets/app.js", h, NULL);
	tclient_expect(&CL, &r, 304);
	tresp_free(&r);
	/* Without Accept-Encoding: the file as it is. */
	expect_page("/dashboard/assets/app.js", 200,
	    "application/javascript; charset=utf-8", "console.log(1);");
	expect_page("/dashboard/assets/app.js.gz", 404, NULL, NULL);
	tclient_close(&CL);
}

static void
test_dash_pages(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	expect_redirect("/login", 302, "/dashboard/login");
	expect_redirect("/dashboard", 301, "/dashboard/");
	expect_redirect("/dashboard?x=1", 301, "/dashboard/?x=1");
	expect_page("/dashboard/", 200, "text/html; charset=utf-8",
	    "<!doctype html><p>app");
	expect_page("/dashboard/login", 200, "text/html; charset=utf-8",
	    "<!doctype html><p>login");
	expect_page("/dashboard/assets/app.js", 200,
	    "application/javascript; charset=utf-8", "console.log(1);");
	expect_page("/dashboard/assets/missing.js", 404, NULL,
	    "{\"error\":\"Not found\"}");
	expect_page("/dashboard/assets/..%2fsecret.txt", 404, NULL, NULL);
	expect_page("/dashboard/assets/.hidden.js", 404, NULL, NULL);
	expect_page("/dashboard/assets/app.exe", 404, NULL, NULL);
	/* Served in production too. */
	resp_set_production(1);
	expect_page("/dashboard/", 200, "text/html; charset=utf-8", NULL);
	resp_set_production(0);
	tclient_close(&CL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dash_cookie_parse),
		cmocka_unit_test(test_dash_scrypt),
		cmocka_unit_test(test_dash_csrf),
		cmocka_unit_test(test_dash_set_cookie),
		cmocka_unit_test(test_dash_setting),
		cmocka_unit_test(test_dash_names),
		cmocka_unit_test_setup(test_dash_login, each_setup),
		cmocka_unit_test_setup(test_dash_login_abort, each_setup),
		cmocka_unit_test_setup(test_dash_session, each_setup),
		cmocka_unit_test_setup(test_dash_gate, each_setup),
		cmocka_unit_test_setup(test_dash_malformed, each_setup),
		cmocka_unit_test_setup(test_dash_accept_malformed, each_setup),
		cmocka_unit_test_setup(test_dash_accept_existing, each_setup),
		cmocka_unit_test_setup(test_dash_origin, each_setup),
		cmocka_unit_test_setup(test_dash_pages, each_setup),
		cmocka_unit_test_setup(test_dash_pages_gzip, each_setup),
		cmocka_unit_test_setup(test_dash_storaged_away, each_setup),
		/*
		 * Last: its streams' level change comes EVENTS_LINGER_MS (30 s)
		 * after they closed, as an ST_EV_SUBSCRIBE no later test awaits.
		 */
		cmocka_unit_test_setup(test_events_presence, each_setup),
	};

	log_init("test_dashauth");
	return cmocka_run_group_tests(tests, setup, teardown);
}
