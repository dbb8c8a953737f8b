/*
 * The dashboard's sessions (docs/dashboard.md, "Login and the session"),
 * and the gate that lets a session use the admin API:
 *
 *	POST /dashboard/api/login	{"email","password"} -> cookie + CSRF
 *	GET  /dashboard/api/session	the session: CSRF token, expiry, the
 *					user and its organisations
 *	GET  /dashboard/api/signed-in	the same with "signed_in":true, or
 *					200 {"signed_in":false} where the
 *					session answers 401 (the login
 *					and invite pages' question)
 *	POST /dashboard/api/logout	ends the session everywhere
 *	POST /dashboard/api/invitations/accept
 *					{"token","name","password"}: a new
 *					account for the invited email, or
 *					its account joins with its own
 *					password; {"token"} with the
 *					session of the invited email's
 *					account: it joins
 *	POST /dashboard/api/invitations/view
 *					{"token"}: what the invitation is
 *					(organisation, email, role), for
 *					the invite page
 *
 * People log in with their own accounts (proto/usermsg.h): storaged
 * keeps each user's scrypt hash (N=2^14, r=8, p=1) and salt, the worker
 * hashes an attempt with that salt on the hash pool's threads
 * (hashpool.c), so the loop never waits for scrypt, and compares in
 * constant time. An unknown email is hashed all the same (a random salt,
 * compared with nothing), so a wrong email costs what a wrong password
 * does and emails cannot be probed.
 *
 * DASHBOARD_PASSWORD is the first owner: kept only until it is stored
 * (hashed then, on the pool, with a random salt: not at every worker's
 * start, where scrypt held each start up 50 ms for a login that may
 * never come), it becomes the password of DASHBOARD_OWNER_EMAIL's user (owner@localhost
 * unless set; masterd checked its shape), owner of "default", through
 * ST_USER_BOOT, before the first login this worker serves. Its
 * fingerprint (scrypt with the install's salt, ST_DASH_SALT: every worker
 * derives the same) tells storaged whether the password changed since it
 * was last set; only then is the owner's password replaced (and its
 * sessions ended). A login with {"password"} alone is that owner's.
 * Logins and session checks wait for that (struct bootwait), once per
 * worker, so a restart with a new password ends the old sessions before
 * any is let in.
 *
 * Login: Content-Type (415), body (400), then ST_DASH_ATTEMPT: the
 * failed-login budget of every client together
 * (DASHBOARD_LOGIN_FAILURES_PER_MINUTE; spent: 429, but for a browser
 * showing the account's known-device cookie, DASH_DEVICE, which a login
 * of that account set: a flood of wrong passwords from many addresses
 * locks nobody out of the browsers they signed in from) and this
 * client's count ("login:<client>", 10 a minute, right or wrong: 429),
 * both with Retry-After. Then the user (ST_USER_AUTH), then the hash (a
 * full pool: 503 at once). A wrong password is counted against the
 * budget (ST_RATE_HIT of ST_DASH_FAILED_KEY) and answers 401 after
 * DASH_WRONG_DELAY_MS. A right one makes a session id (32 random bytes,
 * 64 hex in the cookie) and a CSRF token (64 hex); storaged keeps
 * SHA-256(id), never the id, with the user (ST_DASH_LOGIN).
 *
 * The gate (router.c calls it for every R_ADMIN route): a request with
 * x-admin-api-key is judged by the key alone (admin_gate); one with a
 * session cookie (DASH_COOKIE, DASH_COOKIE_HTTPS over https) is checked
 * in storaged (ST_DASH_CHECK, in the organisation x-organization-id
 * names: one the user is not in is 404 "Organization not found";
 * without it the user's first), must carry
 * the session's x-csrf-token unless it is GET/HEAD, and then runs the
 * handler with c->admin_session set and who asks the user, its
 * organisation and its role there.
 *
 * An invitation's acceptance (POST /v1/admin/users made it, users.c)
 * goes the login's way: the same Content-Type check, the same attempt
 * limits (ST_DASH_ATTEMPT, counted as a login of the client), then
 * ST_INVITE_SALT with the token's SHA-256 (an unknown token: 404, a
 * failure of the budget), the password hashed on the pool with the salt
 * of the invited email's account when it has one, else a fresh salt,
 * and ST_INVITE_ACCEPT with that salt and hash: one hash either way.
 * The link went through the inviter's hands, so it is no proof of
 * anyone: an account that exists joins when it accepts signed in as
 * itself ({"token"} with its session and CSRF token; another account's
 * session is "not found", as a wrong token), or anonymously with its own
 * password, which storaged compares in constant time with the account's
 * hash (the hash never leaves storaged on this way). That is how an
 * account disabled in every organisation it belongs to, which cannot
 * sign in, takes an invitation elsewhere. The anonymous acceptance
 * answers the same, 200 {"organization":{"id"}} and no session, whether
 * it made the email's account, joined it, or the password was not the
 * account's (then nothing is done and a failed login of the budget is
 * counted: the invitation stays open, to another try of the account's
 * password or its signed-in acceptance); the page then logs in.
 * Before that the page asks what it was invited to (view: the same
 * lookup, ST_INVITE_SALT, nothing hashed, so not a login attempt): the
 * organisation, the email and the role of that invitation alone, which
 * the link's holder may see (the salt is not sent).
 *
 * The password, the cookie and the CSRF token are never logged; copies
 * of a password made here are wiped (OPENSSL_cleanse).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "dashmsg.h"
#include "sha256.h"
#include "usermsg.h"
#include "log.h"
#include "random.h"
#include "settings.h"
#include "stmsgs.h"
#include "util.h"
#include "workerd.h"

#define API_HEADERS	"Cache-Control: no-store\r\n"
#define SALT_LEN	ST_PW_SALT_LEN
#define COOKIE_HDR_MAX	320	/* Set-Cookie line */
#define DEVICE_SECS	(ST_DASH_DEVICE_DAYS * 24 * 3600)
#define ACCEPT_PASSWORD_MAX	1024	/* characters, as DASHBOARD_PASSWORD */
/*
 * The first owner's display name, which visitors see when it replies or
 * takes a conversation over ("Support joined"): not "Owner", a role no
 * visitor should read, nor the default organisation's name ("Default").
 * Its Profile changes it.
 */
#define FIRST_OWNER_NAME	"Support"

/* A login waiting for the first owner to be stored. */
struct bootwait {
	TAILQ_ENTRY(bootwait) entry;
	int waiting;
	void (*cb)(struct bootwait *, int ok);
};

enum boot_state { BOOT_NONE, BOOT_ASKING, BOOT_HASHING, BOOT_STORING,
    BOOT_READY };

static struct {
	int set;
	uint8_t salt[SALT_LEN];
	uint8_t hash[DASH_KEY_LEN];	/* scrypt(password, salt), at boot */
	/* The fingerprint: scrypt(password, the install's salt). */
	enum boot_state state;
	uint8_t fp[ST_DASH_FP_LEN];
	char *pw;			/* until the fingerprint is made */
	size_t pwlen;
	struct storec_req *req;		/* BOOT_ASKING, BOOT_STORING */
	struct hashjob *job;		/* BOOT_HASHING */
} dash;

static TAILQ_HEAD(, bootwait) boot_waiters =
    TAILQ_HEAD_INITIALIZER(boot_waiters);

/* ------------------------------------------------------------ hashing */

_Static_assert(DASH_KEY_LEN == ST_PW_HASH_LEN, "a login's hash is a user's");

int
dashauth_scrypt(const char *pw, size_t pwlen, const void *salt,
    size_t saltlen, uint8_t out[DASH_KEY_LEN])
{
	return st_pw_scrypt(pw, pwlen, salt, saltlen, out);
}

void
dashauth_init(const char *password)
{
	dashauth_shutdown();
	if (password == NULL || *password == '\0')
		return;
	proto_random(dash.salt, sizeof(dash.salt));
	dash.pwlen = strlen(password);
	if ((dash.pw = strdup(password)) == NULL)
		fatal("DASHBOARD_PASSWORD");
	dash.set = 1;
}

/* Every waiter hears (and leaves the list) once. */
static void
boot_wake(int ok)
{
	struct bootwait *w;

	while ((w = TAILQ_FIRST(&boot_waiters)) != NULL) {
		TAILQ_REMOVE(&boot_waiters, w, entry);
		w->waiting = 0;
		w->cb(w, ok);
	}
}

static void
pw_forget(void)
{
	if (dash.pw != NULL) {
		OPENSSL_cleanse(dash.pw, dash.pwlen);
		free(dash.pw);
	}
	dash.pw = NULL;
	dash.pwlen = 0;
}

void
dashauth_shutdown(void)
{
	if (dash.req != NULL)
		storec_cancel(dash.req);
	if (dash.job != NULL)
		hashpool_cancel(dash.job);
	pw_forget();
	OPENSSL_cleanse(&dash, sizeof(dash));
	dash.set = 0;
	dash.state = BOOT_NONE;
	dash.req = NULL;
	dash.job = NULL;
	boot_wake(0);
}

int
dashauth_configured(void)
{
	return dash.set;
}

const uint8_t *
dashauth_fp(void)
{
	return dash.set && dash.state >= BOOT_STORING ? dash.fp : NULL;
}

/* ------------------------------------------------------ the first owner */

/* DASHBOARD_OWNER_EMAIL: its default where no settings were read (tests). */
static const char *
owner_email(void)
{
	return wsettings.dashboard_owner_email != NULL ?
	    wsettings.dashboard_owner_email : ST_OWNER_EMAIL;
}

/* The boot failed: the next login that needs it tries again. */
static void
boot_failed(void)
{
	dash.state = BOOT_NONE;
	boot_wake(0);
}

/* ST_USER_BOOT -> struct st_u8_rep: 0 as it was, 1 made, 2 password set. */
static void
boot_stored(const struct storec_result *r, void *arg)
{
	struct st_u8_rep rep;

	(void)arg;
	dash.req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_USER_BOOT, &rep) < 0) {
		boot_failed();
		return;
	}
	if (rep.v == 1)
		log_info("dashboard: %s made from DASHBOARD_PASSWORD",
		    owner_email());
	else if (rep.v == 2)
		log_info("dashboard: %s's password set from a new "
		    "DASHBOARD_PASSWORD", owner_email());
	dash.state = BOOT_READY;
	pw_forget();
	boot_wake(1);
}

/* The owner's password hashed: the first owner goes to storaged. */
static void
owner_hashed(void *arg, int ok, const uint8_t *key)
{
	struct st_user_boot_req req = {
		.email = owner_email(),
		.name = FIRST_OWNER_NAME,
		.salt_len = sizeof(dash.salt),
		.hash_len = sizeof(dash.hash),
		.fp_len = sizeof(dash.fp),
	};

	(void)arg;
	dash.job = NULL;
	if (!ok) {
		log_warnx("dashboard: the owner's password hash failed");
		boot_failed();
		return;
	}
	memcpy(dash.hash, key, sizeof(dash.hash));
	memcpy(req.salt, dash.salt, sizeof(req.salt));
	memcpy(req.hash, dash.hash, sizeof(req.hash));
	memcpy(req.fp, dash.fp, sizeof(req.fp));
	dash.state = BOOT_STORING;
	if (storec_ask(NULL, PROTO_ST_USER_BOOT, &req, boot_stored, NULL,
	    &dash.req) < 0)
		boot_failed();
}

/* The fingerprint's hash ended: then the owner's, with the worker's salt. */
static void
fp_hashed(void *arg, int ok, const uint8_t *key)
{
	(void)arg;
	dash.job = NULL;
	if (!ok) {
		log_warnx("dashboard: the password's fingerprint failed");
		boot_failed();
		return;
	}
	memcpy(dash.fp, key, sizeof(dash.fp));
	if ((dash.job = hashpool_submit(dash.pw, dash.pwlen, dash.salt,
	    sizeof(dash.salt), owner_hashed, NULL)) == NULL)
		boot_failed();
}

/* ST_DASH_SALT -> struct st_dash_salt_rep */
static void
fp_salt(const struct storec_result *r, void *arg)
{
	struct st_dash_salt_rep rep;

	(void)arg;
	dash.req = NULL;
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_DASH_SALT, &rep) == 0 &&
	    (dash.job = hashpool_submit(dash.pw, dash.pwlen, rep.salt,
	    rep.salt_len, fp_hashed, NULL)) != NULL) {
		dash.state = BOOT_HASHING;
		return;
	}
	boot_failed();
}

/*
 * The first owner stored, for a login: 1 done (or no DASHBOARD_PASSWORD);
 * 0 w waits, and its cb runs once it is stored or failed; -1 it cannot
 * be now (storaged away). A waiter that goes away first calls
 * boot_cancel().
 */
static int
boot_need(struct bootwait *w, void (*cb)(struct bootwait *, int))
{
	if (!dash.set || dash.state == BOOT_READY)
		return 1;
	if (dash.state == BOOT_NONE) {
		if (storec_ask(NULL, PROTO_ST_DASH_SALT, NULL, fp_salt, NULL,
		    &dash.req) < 0)
			return -1;
		dash.state = BOOT_ASKING;
	}
	w->cb = cb;
	w->waiting = 1;
	TAILQ_INSERT_TAIL(&boot_waiters, w, entry);
	return 0;
}

static void
boot_cancel(struct bootwait *w)
{
	if (w->waiting)
		TAILQ_REMOVE(&boot_waiters, w, entry);
	w->waiting = 0;
}

/* ------------------------------------------------------ cookies, CSRF */

static int
is_sp(int ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * RFC 6265 5.2, as browsers send it: pairs split on ';', white space
 * around names and values ignored, a pair without '=' skipped, a value in
 * double quotes unquoted. The first pair with the name wins.
 */
int
cookie_get(const char *h, const char *name, char *out, size_t outsz)
{
	const char *p = h, *n, *ne, *v, *ve;
	size_t nlen = strlen(name), vlen, i;

	if (outsz > 0)
		out[0] = '\0';
	if (h == NULL || outsz == 0)
		return 0;
	while (*p != '\0') {
		while (is_sp(*p) || *p == ';')
			p++;
		if (*p == '\0')
			break;
		n = p;
		while (*p != '\0' && *p != ';' && *p != '=')
			p++;
		if (*p != '=') {
			/* No value: not a cookie we can use. */
			continue;
		}
		ne = p;
		while (ne > n && is_sp(ne[-1]))
			ne--;
		p++;
		while (is_sp(*p))
			p++;
		v = p;
		while (*p != '\0' && *p != ';')
			p++;
		ve = p;
		while (ve > v && is_sp(ve[-1]))
			ve--;
		if ((size_t)(ne - n) != nlen || memcmp(n, name, nlen) != 0)
			continue;
		vlen = (size_t)(ve - v);
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v++;
			vlen -= 2;
		}
		if (vlen >= outsz)
			return -1;
		for (i = 0; i < vlen; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return -1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return 1;
	}
	return 0;
}

/* Tokens have a public length: their content is compared in constant time. */
int
dashauth_csrf_ok(const char *given, const char *expected)
{
	if (given == NULL || expected == NULL ||
	    strlen(expected) != ST_DASH_CSRF_LEN ||
	    strlen(given) != ST_DASH_CSRF_LEN)
		return 0;
	return CRYPTO_memcmp(given, expected, ST_DASH_CSRF_LEN) == 0;
}

void
dashauth_set_cookie(char *out, size_t outsz, const char *id_hex,
    int secure)
{
	snprintf(out, outsz, "Set-Cookie: %s=%s; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=%d%s\r\n",
	    secure ? DASH_COOKIE_HTTPS : DASH_COOKIE,
	    id_hex != NULL ? id_hex : "", id_hex != NULL ? DASH_SESSION_SECS :
	    0, secure ? "; Secure" : "");
}

void
dashauth_device_cookie(char *out, size_t outsz, const char *device,
    int secure)
{
	snprintf(out, outsz, "Set-Cookie: %s=%s; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=%d%s\r\n",
	    secure ? DASH_DEVICE_HTTPS : DASH_DEVICE, device, DEVICE_SECS,
	    secure ? "; Secure" : "");
}

/* The first cookie called name in req's Cookie lines, as cookie_get. */
static int
req_cookie(const struct http_request *req, const char *name, char *out,
    size_t outsz)
{
	int i, r = 0;

	for (i = 0; i < req->nheaders && r == 0; i++)
		if (strcmp(req->headers[i].name, "cookie") == 0)
			r = cookie_get(req->headers[i].value, name, out, outsz);
	return r;
}

void
dashauth_device(const struct conn *c, const struct http_request *req,
    char out[ST_DASH_DEVICE_LEN + 1])
{
	if (req_cookie(req, conn_https(c) ? DASH_DEVICE_HTTPS : DASH_DEVICE,
	    out, ST_DASH_DEVICE_LEN + 1) != 1)
		out[0] = '\0';
}

/*
 * The request's session cookie as the hash storaged knows it by: 1, and
 * hash set; 0 no session cookie; -1 one that cannot be a session id (not
 * 64 lowercase hex). Every Cookie line is read, in order. Over https only
 * DASH_COOKIE_HTTPS is read: a plain one there may be a neighbour
 * subdomain's.
 */
static int
session_hash(const struct conn *c, const struct http_request *req,
    uint8_t hash[ST_DASH_HASH_LEN])
{
	char v[DASH_ID_HEX + 1];
	uint8_t id[DASH_ID_BYTES];
	int r;

	if ((r = req_cookie(req, conn_https(c) ? DASH_COOKIE_HTTPS :
	    DASH_COOKIE, v, sizeof(v))) <= 0)
		return r;
	if (strlen(v) != DASH_ID_HEX)
		return -1;
	if (proto_hex_decode(v, id, sizeof(id)) < 0)
		return -1;
	proto_sha256(id, sizeof(id), hash);
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(v, sizeof(v));
	return 1;
}

/* A login, or an invitation's acceptance, under way. */
struct login {
	struct conn *c;
	struct loop_timer timer;	/* a wrong password's delay */
	struct hashjob *job;		/* the attempt being hashed */
	struct bootwait bw;		/* waiting for the first owner */
	struct dash_creds cr;		/* what the body gave */
	/* The user (ST_USER_AUTH); found 0: a wrong email, hashed all the same. */
	int found;
	struct st_user_secret u;
	char id[DASH_ID_HEX + 1];
	char csrf[ST_DASH_CSRF_LEN + 1];
	uint64_t expires;
	/* An invitation's acceptance, not a login. */
	int accept;
	/* Accepted by the signed-in account: its session's hash. */
	int signed_in;
	uint8_t session[ST_DASH_HASH_LEN];
};

/* A session's user and organisations, into o (GET /dashboard/api/session). */
static void
session_who(json_t *o, const struct st_dash_session *s, int *err)
{
	json_t *u, *org, *orgs, *x;
	uint32_t i;

	u = json_object();
	exprow_oset(u, "id", json_string(s->user), err);
	exprow_oset(u, "email", json_string(s->email), err);
	exprow_oset(u, "name", json_string(s->name != NULL ? s->name : ""),
	    err);
	exprow_oset(o, "user", exprow_odone(u, *err), err);
	org = json_object();
	exprow_oset(org, "id", json_string(s->org), err);
	exprow_oset(org, "role", json_string(st_role_name(s->role) != NULL ?
	    st_role_name(s->role) : ""), err);
	exprow_oset(o, "organization", exprow_odone(org, *err), err);
	if ((orgs = json_array()) == NULL)
		*err = 1;
	for (i = 0; orgs != NULL && i < s->n; i++) {
		x = json_object();
		exprow_oset(x, "id", json_string(s->orgs[i].id), err);
		exprow_oset(x, "name", json_string(s->orgs[i].name != NULL ?
		    s->orgs[i].name : ""), err);
		exprow_oset(x, "role", json_string(st_role_name(
		    s->orgs[i].role) != NULL ? st_role_name(s->orgs[i].role) :
		    ""), err);
		if ((x = exprow_odone(x, *err)) == NULL ||
		    json_array_append_new(orgs, x) < 0)
			*err = 1;
	}
	exprow_oset(o, "organizations", orgs, err);
}

/*
 * An accepted invitation's answer, whoever took it and whatever it did:
 * 200 {"organization":{"id"},"email"} (the invited email, which the
 * link's holder knows: the page logs in with it).
 */
static void
send_accepted(struct conn *c, const struct st_invite_done *d)
{
	json_t *o, *g;
	int err = 0;

	if ((o = json_object()) != NULL) {
		g = json_object();
		exprow_oset(g, "id", json_string(d->org), &err);
		exprow_oset(o, "organization", exprow_odone(g, err), &err);
		exprow_oset(o, "email", json_string(d->email), &err);
	}
	if ((o = exprow_odone(o, err || o == NULL)) == NULL)
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
	else
		conn_send_json(c, 200, API_HEADERS, o);
}

/*
 * {"csrfToken","expiresAt"} with extra headers; with s, the session's
 * user, organisation and organisations too; probe: "signed_in":true
 * first (GET /dashboard/api/signed-in).
 */
static void
send_session(struct conn *c, const char *headers, const char *csrf,
    uint64_t expires, const struct st_dash_session *s, int probe)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL) {
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
		return;
	}
	if (probe)
		exprow_oset(o, "signed_in", json_true(), &err);
	exprow_oset(o, "csrfToken", json_string(csrf), &err);
	exprow_oset(o, "expiresAt", exprow_ms(expires), &err);
	if (s != NULL)
		session_who(o, s, &err);
	if ((o = exprow_odone(o, err)) == NULL) {
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
		return;
	}
	conn_send_json(c, 200, headers, o);
}

/* GET /dashboard/api/signed-in with no valid session: 200 {"signed_in":false}. */
static void
send_signed_out(struct conn *c)
{
	json_t *o;

	if ((o = json_pack("{s:b}", "signed_in", 0)) == NULL)
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
	else
		conn_send_json(c, 200, API_HEADERS, o);
}

static void
send_storage_error(struct conn *c, const struct storec_result *r,
    const char *headers)
{
	const char *msg;
	int status;

	status = storec_http_error(r, NULL, "dashboard", &msg);
	conn_send_error(c, status, headers, msg);
}

/* -------------------------------------------------------------- login */

static void
login_free(void *p)
{
	struct login *l = p;

	loop_timer_stop(&l->timer);
	if (l->job != NULL)
		hashpool_cancel(l->job);
	boot_cancel(&l->bw);
	dash_creds_clear(&l->cr);
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

/* The connection, no longer pointing at l. */
static struct conn *
login_detach(struct login *l)
{
	conn_let_go(l->c);
	return l->c;
}

static void
login_fail(struct login *l, int status, const char *headers, const char *msg)
{
	struct conn *c = login_detach(l);

	login_free(l);
	conn_send_error(c, status, headers, msg);
}

/* storaged's error reply, as the HTTP error it means. */
static void
login_storage_error(struct login *l, const struct storec_result *r)
{
	struct conn *c = login_detach(l);

	login_free(l);
	send_storage_error(c, r, API_HEADERS);
}

/*
 * storaged's answer r to a login's request of type, decoded into rep: 0;
 * -1 answered (an error reply as the HTTP error it means, one that does
 * not decode 500), l freed.
 */
static int
login_reply(struct login *l, const struct storec_result *r, uint16_t type,
    void *rep)
{
	if (r->status != STOREC_OK) {
		login_storage_error(l, r);
		return -1;
	}
	if (storec_decode(r, type, rep) < 0) {
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return -1;
	}
	return 0;
}

#define NO_INVITATION	"Invitation not found or expired"

/* An invitation nobody holds: 404, a failure of the login budget. */
static void
accept_none(struct login *l)
{
	dashauth_count_failure();
	login_fail(l, 404, API_HEADERS, NO_INVITATION);
}

/* ST_DASH_LOGIN -> struct st_dash_login_rep: the session stored, its answer. */
static void
login_stored(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_dash_login_rep rep;
	struct conn *c;
	char hdr[2 * COOKIE_HDR_MAX + sizeof(API_HEADERS)];
	char csrf[ST_DASH_CSRF_LEN + 1];
	uint64_t expires = l->expires;
	size_t n;

	if (r->status == STOREC_ERROR && r->code == PROTO_E_NOT_FOUND) {
		/* Deleted or disabled since its password was checked. */
		login_fail(l, 401, API_HEADERS, "Unauthorized");
		return;
	}
	if (r->status == STOREC_ERROR && r->code == PROTO_E_FULL) {
		/* The install holds its most of other users' sessions. */
		login_fail(l, 503, "Retry-After: 60\r\n" API_HEADERS, "Too many "
		    "dashboard sessions on this server; try again later");
		return;
	}
	if (login_reply(l, r, PROTO_ST_DASH_LOGIN, &rep) < 0)
		return;
	dashauth_set_cookie(hdr, COOKIE_HDR_MAX, l->id, conn_https(l->c));
	/* This browser now knows the account (devcookie.h, storaged). */
	if (rep.device[0] != '\0') {
		n = strlen(hdr);
		dashauth_device_cookie(hdr + n, COOKIE_HDR_MAX, rep.device,
		    conn_https(l->c));
	}
	strlcat(hdr, API_HEADERS, sizeof(hdr));
	memcpy(csrf, l->csrf, sizeof(csrf));
	c = login_detach(l);
	send_session(c, hdr, csrf, expires, NULL, 0);
	login_free(l);
	OPENSSL_cleanse(hdr, sizeof(hdr));
	OPENSSL_cleanse(csrf, sizeof(csrf));
}

static void
login_wrong(void *arg)
{
	struct login *l = arg;

	login_fail(l, 401, API_HEADERS, l->cr.by_email ?
	    "Wrong email or password" : "Wrong password");
}

/* The password was right: store a new session of the user, then answer. */
static void
login_store(struct login *l)
{
	struct st_dash_login_req req = {
		.token_hash_len = ST_DASH_HASH_LEN,
		.csrf = l->csrf,
	};
	uint8_t id[DASH_ID_BYTES], csrf[32];

	proto_random(id, sizeof(id));
	proto_random(csrf, sizeof(csrf));
	proto_hex_encode(id, sizeof(id), l->id);
	proto_hex_encode(csrf, sizeof(csrf), l->csrf);
	proto_sha256(id, sizeof(id), req.token_hash);
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(csrf, sizeof(csrf));
	l->expires = proto_wall_ms() + (uint64_t)DASH_SESSION_SECS * 1000;
	strlcpy(req.user, l->u.id, sizeof(req.user));
	req.expires_at = l->expires;
	/* The hash it was checked against: a password changed since wins. */
	memcpy(req.pw_hash, l->u.hash, sizeof(req.pw_hash));
	req.pw_hash_len = sizeof(req.pw_hash);
	if (storec_ask(NULL, PROTO_ST_DASH_LOGIN, &req, login_stored, l,
	    &l->c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
	OPENSSL_cleanse(&req, sizeof(req));
}

/*
 * ST_RATE_HIT of the failed-login budget: nothing to do with the answer
 * (a malformed one is logged).
 */
static void
login_failure_counted(const struct storec_result *r, void *arg)
{
	struct st_rate_verdict v;

	(void)arg;
	if (r->status == STOREC_OK)
		(void)storec_decode(r, PROTO_ST_RATE_HIT, &v);
}

void
dashauth_count_failure(void)
{
	struct st_rate_hit h;

	if (wsettings.login_failures == 0)
		return;
	strlcpy(h.key, ST_DASH_FAILED_KEY, sizeof(h.key));
	h.window_ms = DASH_LOGIN_WINDOW_MS;
	h.max = wsettings.login_failures;
	(void)storec_ask(NULL, PROTO_ST_RATE_HIT, &h, login_failure_counted,
	    NULL, NULL);
}

/*
 * Hands l's password to the hashing pool with l->u.salt (done gets the
 * hash), then wipes it; a full pool fails the attempt (503).
 */
static void
login_hash(struct login *l, hashpool_cb done)
{
	l->job = hashpool_submit(l->cr.pw, l->cr.pwlen, l->u.salt,
	    sizeof(l->u.salt), done, l);
	OPENSSL_cleanse(l->cr.pw, l->cr.pwlen);
	free(l->cr.pw);
	l->cr.pw = NULL;
	if (l->job == NULL)
		login_fail(l, 503, "Retry-After: 1\r\n" API_HEADERS,
		    "Too many logins at once, try again in a moment");
}

/* The attempt's hash, from the pool. */
static void
login_hashed(void *arg, int ok, const uint8_t *key)
{
	struct login *l = arg;
	int right;

	l->job = NULL;
	if (!ok) {
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
		return;
	}
	/* Compared even for a wrong email: the same work either way. */
	right = CRYPTO_memcmp(key, l->u.hash, sizeof(l->u.hash)) == 0;
	right = right && l->found && !l->u.disabled;
	if (!right) {
		/* Spends the budget of every client now, not after the delay. */
		dashauth_count_failure();
		loop_timer_after(&l->timer, DASH_WRONG_DELAY_MS);
		return;
	}
	login_store(l);
}

/* ST_USER_AUTH -> struct st_user_auth_rep: hash the attempt with its salt. */
static void
login_found(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_user_auth_rep rep;

	if (login_reply(l, r, PROTO_ST_USER_AUTH, &rep) < 0)
		return;
	if (rep.found > 1) {
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return;
	}
	l->found = rep.found;
	if (l->found)
		l->u = rep.s;
	else {
		/* No such user: a salt and a hash no attempt will match. */
		proto_random(l->u.salt, sizeof(l->u.salt));
		proto_random(l->u.hash, sizeof(l->u.hash));
	}
	OPENSSL_cleanse(&rep, sizeof(rep));
	login_hash(l, login_hashed);
}

/* The user's salt and hash from storaged. */
static void
login_lookup(struct login *l)
{
	struct st_user_auth_req req = { l->cr.email };

	if (storec_ask(NULL, PROTO_ST_USER_AUTH, &req, login_found, l,
	    &l->c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
}

static void
login_booted(struct bootwait *w, int ok)
{
	struct login *l = (struct login *)((char *)w -
	    offsetof(struct login, bw));

	if (!ok) {
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
		return;
	}
	login_lookup(l);
}

static void accept_hash(struct login *);

/*
 * The attempt was counted and not limited: the first owner, then the
 * user; an invitation's password is hashed (accept_hash).
 */
static void
login_check(struct login *l)
{
	if (l->accept) {
		accept_hash(l);
		return;
	}
	switch (boot_need(&l->bw, login_booted)) {
	case 1:
		login_lookup(l);
		break;
	case -1:
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
		break;
	}
}

static void accept_as_signed_in(struct login *);

/*
 * ST_DASH_ATTEMPT -> struct st_rate_verdict: limited 1, this client's
 * count; 2, the failed-login budget of every client.
 */
static void
login_counted(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_rate_verdict v;
	char hdr[64 + sizeof(API_HEADERS)];

	if (login_reply(l, r, PROTO_ST_DASH_ATTEMPT, &v) < 0)
		return;
	if (v.limited > 2) {
		log_warnx("dashboard: ST_DASH_ATTEMPT said limited %u",
		    v.limited);
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return;
	}
	if (v.limited) {
		resp_retry_after(hdr, sizeof(hdr), v.retry_ms, API_HEADERS);
		login_fail(l, 429, hdr, v.limited == 1 ?
		    "Too many login attempts, try again later" :
		    "Too many failed logins on this server, try again later");
		return;
	}
	if (l->signed_in)
		accept_as_signed_in(l);
	else
		login_check(l);
}

void
dash_creds_clear(struct dash_creds *cr)
{
	if (cr->pw != NULL) {
		OPENSSL_cleanse(cr->pw, cr->pwlen);
		free(cr->pw);
	}
	free(cr->name);
	cr->pw = cr->name = NULL;
	cr->pwlen = 0;
}

const char *
dashauth_login_read(struct http_request *req, struct dash_creds *cr,
    int *status)
{
	json_t *root, *pw, *email;
	const char *bad = NULL, *msg = "Invalid request body", *why;

	*status = 400;
	/* Not JSON is this route's "Invalid request body", not why. */
	root = admin_json_parse(req, &why);
	pw = json_is_object(root) ? json_object_get(root, "password") : NULL;
	email = json_is_object(root) ? json_object_get(root, "email") : NULL;
	if (!json_is_string(pw) || (email != NULL && !json_is_string(email)))
		bad = msg;
	else if (email != NULL) {
		cr->by_email = 1;
		/* A NUL inside would cut it short: "a@b.c\0x" signed in a@b.c. */
		if (strlen(json_string_value(email)) !=
		    json_string_length(email))
			bad = msg = "email: must be an address like "
			    "name@example.com";
		else if ((bad = st_email_normal(json_string_value(email),
		    cr->email)) != NULL)
			msg = bad;
	} else if (!dash.set) {
		/* {"password"} alone is DASHBOARD_PASSWORD's owner. */
		bad = msg = "DASHBOARD_PASSWORD is not configured on this "
		    "deployment";
		*status = 503;
	} else
		/* masterd checked its shape: it normalises. */
		(void)st_email_normal(owner_email(), cr->email);
	if (bad == NULL && (cr->pw = malloc(json_string_length(pw) + 1)) ==
	    NULL) {
		log_warn("dashboard login");
		bad = msg = "Internal server error";
		*status = 500;
	}
	if (bad == NULL) {
		cr->pwlen = json_string_length(pw);
		memcpy(cr->pw, json_string_value(pw), cr->pwlen);
		cr->pw[cr->pwlen] = '\0';
	}
	/* Wipe jansson's copy before it goes back to malloc. */
	if (json_is_string(pw))
		OPENSSL_cleanse((char *)json_string_value(pw),
		    json_string_length(pw));
	json_decref(root);
	return bad != NULL ? msg : NULL;
}

/*
 * A body read by read (dashauth_login_read's kind) into l's cr: 0, or -1
 * with its answer sent.
 */
static int
creds_body(struct conn *c, struct http_request *req, struct login *l,
    const char *(*read)(struct http_request *, struct dash_creds *, int *))
{
	const char *msg;
	int status;

	if ((msg = read(req, &l->cr, &status)) == NULL)
		return 0;
	conn_send_error(c, status, API_HEADERS, msg);
	return -1;
}

/* The login's body: 0 with l's email and password set; else -1 answered. */
static int
login_body(struct conn *c, struct http_request *req, struct login *l)
{
	return creds_body(c, req, l, dashauth_login_read);
}

/*
 * A login or an invitation's acceptance (accept): its Content-Type, its
 * body (body: 0, or -1 answered), then the client's attempt counted.
 */
static void
login_start(struct conn *c, struct http_request *req, int accept,
    int (*body)(struct conn *, struct http_request *, struct login *))
{
	struct login *l;
	char key[ST_RATE_KEY_MAX + 1];
	struct st_dash_attempt_req att = {
		.rate_key = key,
		.window_ms = DASH_LOGIN_WINDOW_MS,
		.rate_max = DASH_LOGIN_MAX,
		.failures_max = wsettings.login_failures,
	};

	if (!proto_json_ctype(http_header(req, "content-type"))) {
		conn_send_error(c, 415, API_HEADERS,
		    "Content-Type must be application/json");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("dashboard login");
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
		return;
	}
	loop_timer_init(&l->timer, login_wrong, l);
	l->accept = accept;
	if (body(c, req, l) < 0) {
		login_free(l);
		return;
	}
	l->c = c;
	conn_hold(c, l, login_free);

	/*
	 * One count for both: an acceptance is a login attempt. A login
	 * names its account and this browser's known-device cookie, which
	 * lets it past a spent budget of every client (dashmsg.h).
	 */
	clientip_key(c, req, "login:", key, sizeof(key));
	if (!accept) {
		strlcpy(att.email, l->cr.email, sizeof(att.email));
		dashauth_device(c, req, att.device);
	}
	if (storec_ask(NULL, PROTO_ST_DASH_ATTEMPT, &att, login_counted, l,
	    &c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
}

void
dashauth_login_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	login_start(c, req, 0, login_body);
}

/* ---------------------------------------------------------- invitations */

/*
 * ST_INVITE_ACCEPT -> struct st_invite_accept_rep: result 1 no such
 * invitation; 0 a new account made, 2 the email's account joined (the
 * password was its own), 3 the email has an account and the password
 * was not its own (nothing done; a failed login of the budget): answered
 * alike.
 */
static void
accept_done(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_invite_accept_rep rep;
	struct conn *c;

	if (login_reply(l, r, PROTO_ST_INVITE_ACCEPT, &rep) < 0)
		return;
	if (rep.result > 3) {
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return;
	}
	/*
	 * The password was hashed for a token nobody holds (spent since):
	 * a failure of the budget, as a wrong password's (else such accepts
	 * kept the hash threads busy past it).
	 */
	if (rep.result == 1) {
		accept_none(l);
		return;
	}
	/* A wrong password of an account: answered as the others, no delay. */
	if (rep.result == 3)
		dashauth_count_failure();
	c = login_detach(l);
	login_free(l);
	send_accepted(c, &rep.d);
}

/*
 * The password's hash, from the pool (the new account's, or the proof of
 * the email's account): the invitation accepted.
 */
static void
accept_hashed(void *arg, int ok, const uint8_t *key)
{
	struct login *l = arg;
	struct st_invite_accept_req q = {
		.token_hash_len = sizeof(q.token_hash),
		.name = l->cr.name,
		.salt_len = sizeof(q.salt),
		.hash_len = sizeof(q.hash),
		.user = "",
	};

	l->job = NULL;
	if (!ok) {
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
		return;
	}
	memcpy(q.token_hash, l->cr.token_hash, sizeof(q.token_hash));
	memcpy(q.salt, l->u.salt, sizeof(q.salt));
	memcpy(q.hash, key, sizeof(q.hash));
	if (storec_ask(NULL, PROTO_ST_INVITE_ACCEPT, &q, accept_done, l,
	    &l->c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
	OPENSSL_cleanse(&q, sizeof(q));
}

/*
 * ST_INVITE_SALT -> struct st_invite_salt_rep: result 1 no such
 * invitation (nothing hashed: a failure of the budget, as a wrong
 * password is); else the password hashed with the email's account's
 * salt (2), or a fresh one for the new account (0). One hash either way,
 * so the time taken tells no more than the answer.
 */
static void
accept_salted(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_invite_salt_rep rep;

	if (login_reply(l, r, PROTO_ST_INVITE_SALT, &rep) < 0)
		return;
	if (rep.result > 2) {
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return;
	}
	if (rep.result == 1) {
		accept_none(l);
		return;
	}
	if (rep.result == 2)
		memcpy(l->u.salt, rep.s.salt, sizeof(l->u.salt));
	else
		proto_random(l->u.salt, sizeof(l->u.salt));
	login_hash(l, accept_hashed);
}

/* The attempt was not limited: the salt to hash the password with. */
static void
accept_hash(struct login *l)
{
	struct st_invite_salt_req q = {
		.token_hash_len = sizeof(q.token_hash),
	};

	memcpy(q.token_hash, l->cr.token_hash, sizeof(q.token_hash));
	if (storec_ask(NULL, PROTO_ST_INVITE_SALT, &q, accept_salted, l,
	    &l->c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
	OPENSSL_cleanse(&q, sizeof(q));
}

/* The token (64 hex) into its hash: NULL, or what is wrong. */
static const char *
accept_token(json_t *v, uint8_t hash[ST_INVITE_HASH_LEN])
{
	uint8_t tok[ST_INVITE_HASH_LEN];

	if (!json_is_string(v) || json_string_length(v) != 2 * sizeof(tok) ||
	    proto_hex_decode(json_string_value(v), tok, sizeof(tok)) < 0)
		return NO_INVITATION;
	proto_sha256(tok, sizeof(tok), hash);
	OPENSSL_cleanse(tok, sizeof(tok));
	return NULL;
}

/* The password (SETTINGS_PASSWORD_MIN to 1024 characters) into cr. */
static const char *
accept_password(json_t *v, struct dash_creds *cr)
{
	size_t len;
	ssize_t n;

	if (!json_is_string(v))
		return "password: required";
	len = json_string_length(v);
	n = proto_utf8_chars(json_string_value(v), len);
	if (n < SETTINGS_PASSWORD_MIN || n > ACCEPT_PASSWORD_MAX ||
	    memchr(json_string_value(v), '\0', len) != NULL)
		return "password: must be 12 to 1024 characters";
	if ((cr->pw = malloc(len + 1)) == NULL)
		return "";
	memcpy(cr->pw, json_string_value(v), len + 1);
	cr->pwlen = len;
	return NULL;
}

const char *
dashauth_accept_read(struct http_request *req, struct dash_creds *cr,
    int *status)
{
	json_t *root, *pw, *nv;
	const char *bad = NULL, *name = NULL, *why;

	*status = 400;
	root = admin_json_parse(req, &why);
	pw = json_is_object(root) ? json_object_get(root, "password") : NULL;
	nv = json_is_object(root) ? json_object_get(root, "name") : NULL;
	/* No NUL inside: the name is a C string from here on. */
	name = exprow_plain(nv);
	if (!json_is_object(root))
		bad = "Invalid request body";
	else if ((bad = accept_token(json_object_get(root, "token"),
	    cr->token_hash)) != NULL)
		*status = 404;
	else if ((bad = st_user_name_invalid(name)) != NULL)
		;
	else if ((cr->name = strdup(name)) == NULL)
		bad = "";
	else
		bad = accept_password(pw, cr);
	if (json_is_string(pw))
		OPENSSL_cleanse((char *)json_string_value(pw),
		    json_string_length(pw));
	json_decref(root);
	if (bad != NULL && *bad == '\0') {
		log_warn("dashboard invitation");
		bad = "Internal server error";
		*status = 500;
	}
	return bad;
}

/* The acceptance's body into l: 0, or -1 answered. */
static int
accept_body(struct conn *c, struct http_request *req, struct login *l)
{
	return creds_body(c, req, l, dashauth_accept_read);
}

int
dashauth_accept_signed_in(struct http_request *req,
    uint8_t hash[ST_INVITE_HASH_LEN])
{
	const char *why;
	json_t *root;
	int rc = 0;

	root = admin_json_parse(req, &why);
	if (json_is_object(root) && json_object_size(root) == 1 &&
	    json_object_get(root, "token") != NULL)
		rc = accept_token(json_object_get(root, "token"), hash) ==
		    NULL ? 1 : -1;
	json_decref(root);
	return rc;
}

/*
 * 200 {"organization":{"id","name"},"email","role"}: what the invitation
 * is, told to its link's holder alone.
 */
static void
send_about(struct conn *c, const struct st_invite_about *a)
{
	json_t *o, *g;
	const char *role = st_role_name(a->role);
	int err = 0;

	if ((o = json_object()) != NULL) {
		g = json_object();
		exprow_oset(g, "id", json_string(a->org), &err);
		exprow_oset(g, "name", json_string(a->org_name), &err);
		exprow_oset(o, "organization", exprow_odone(g, err), &err);
		exprow_oset(o, "email", json_string(a->email), &err);
		exprow_oset(o, "role", json_string(role != NULL ? role : ""),
		    &err);
	}
	if ((o = exprow_odone(o, err || o == NULL)) == NULL)
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
	else
		conn_send_json(c, 200, API_HEADERS, o);
}

/*
 * ST_INVITE_SALT -> struct st_invite_salt_rep: result 1 no such
 * invitation (404); else what it is. The salt is not sent.
 */
static void
view_done(const struct storec_result *r, void *arg)
{
	struct login *l = arg;
	struct st_invite_salt_rep rep;
	struct conn *c;

	if (login_reply(l, r, PROTO_ST_INVITE_SALT, &rep) < 0)
		return;
	OPENSSL_cleanse(&rep.s, sizeof(rep.s));
	if (rep.result > 2) {
		login_fail(l, 500, API_HEADERS, "Internal server error");
		return;
	}
	if (rep.result == 1) {
		login_fail(l, 404, API_HEADERS, NO_INVITATION);
		return;
	}
	c = login_detach(l);
	login_free(l);
	send_about(c, &rep.a);
}

/* The attempt was not limited: the invitation looked up. */
static void
view_ask(struct login *l)
{
	struct st_invite_salt_req q = {
		.token_hash_len = sizeof(q.token_hash),
	};

	memcpy(q.token_hash, l->cr.token_hash, sizeof(q.token_hash));
	if (storec_ask(NULL, PROTO_ST_INVITE_SALT, &q, view_done, l,
	    &l->c->sreq) < 0)
		login_fail(l, 503, API_HEADERS, "Storage unavailable");
	OPENSSL_cleanse(&q, sizeof(q));
}


/* ------------------------------------------------------------ sessions */

enum check_kind {
	CHECK_SESSION,	/* GET /dashboard/api/session */
	CHECK_PROBE,	/* GET /dashboard/api/signed-in */
	CHECK_LOGOUT,	/* POST /dashboard/api/logout */
	CHECK_GATE,	/* an R_ADMIN route */
	CHECK_ACCEPT,	/* an invitation taken by the signed-in account */
};

struct check {
	enum check_kind kind;
	struct conn *c;
	struct http_request *req;	/* c->req: valid while c is busy */
	uint8_t hash[ST_DASH_HASH_LEN];
	struct route_match *m;		/* CHECK_GATE: a copy of the match */
	const char *headers;		/* of every answer */
	char org[ST_ORG_ID_MAX + 1];	/* x-organization-id, or "" */
	struct bootwait bw;		/* waiting for the first owner */
	uint8_t token[ST_INVITE_HASH_LEN];	/* CHECK_ACCEPT: its hash */
};

static void
check_free(void *p)
{
	struct check *k = p;

	boot_cancel(&k->bw);
	free(k->m);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static struct conn *
check_detach(struct check *k)
{
	conn_let_go(k->c);
	return k->c;
}

static void
check_fail(struct check *k, int status, const char *msg)
{
	const char *headers = k->headers;
	struct conn *c = check_detach(k);

	check_free(k);
	conn_send_error(c, status, headers, msg);
}

/* ST_DASH_LOGOUT -> (empty) */
static void
logout_done(const struct storec_result *r, void *arg)
{
	struct check *k = arg;
	struct conn *c;
	char hdr[COOKIE_HDR_MAX + sizeof(API_HEADERS)];
	char none;		/* the empty reply's struct: nothing */

	c = check_detach(k);
	check_free(k);
	if (r->status != STOREC_OK) {
		send_storage_error(c, r, API_HEADERS);
		return;
	}
	if (storec_decode(r, PROTO_ST_DASH_LOGOUT, &none) < 0) {
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
		return;
	}
	dashauth_set_cookie(hdr, sizeof(hdr) - sizeof(API_HEADERS) + 1, NULL,
	    conn_https(c));
	strlcat(hdr, API_HEADERS, sizeof(hdr));
	conn_send(c, 204, hdr, NULL, NULL, 0);
}

/* A copy of a match: its parameters point into its own buffer. */
static void
match_copy(struct route_match *dst, const struct route_match *src)
{
	int i;

	memcpy(dst, src, sizeof(*dst));
	for (i = 0; i < ROUTE_MAX_PARAMS; i++)
		if (src->param[i] != NULL)
			dst->param[i] = dst->buf + (src->param[i] - src->buf);
}

/*
 * Runs the admin handler k was for, as authorised by the session s: who
 * asks is its user, in its organisation, with its role there.
 */
static void
gate_pass(struct check *k, const struct st_dash_session *s)
{
	struct route_match m;
	struct http_request *req = k->req;
	struct conn *c = check_detach(k);

	match_copy(&m, k->m);
	/* Who asks: the session, by the start of its hash (never the id). */
	memset(&c->who, 0, sizeof(c->who));
	c->who.kind = ST_WHO_SESSION;
	proto_hex_encode(k->hash, ST_DASH_WHO_BYTES, c->who.id);
	strlcpy(c->who.org, s->org, sizeof(c->who.org));
	c->who.role = s->role;
	strlcpy(c->who.user, s->user, sizeof(c->who.user));
	check_free(k);
	c->admin_session = 1;
	c->session_expires = s->expires_at;
	router_run(c, req, &m);
}

/* ST_DASH_LOGOUT of the session, once its CSRF token was right. */
static void
logout_send(struct check *k)
{
	struct st_dash_logout_req req = {
		.token_hash_len = sizeof(k->hash),
	};

	memcpy(req.token_hash, k->hash, sizeof(req.token_hash));
	if (storec_ask(NULL, PROTO_ST_DASH_LOGOUT, &req, logout_done, k,
	    &k->c->sreq) < 0)
		check_fail(k, 503, "Storage unavailable");
}

/* ST_INVITE_ACCEPT -> struct st_invite_accept_rep: 1 none, 2 joined. */
static void
check_accepted(const struct storec_result *r, void *arg)
{
	struct check *k = arg;
	struct st_invite_accept_rep rep;
	struct conn *c;

	if (r->status != STOREC_OK) {
		c = check_detach(k);
		check_free(k);
		send_storage_error(c, r, API_HEADERS);
		return;
	}
	if (storec_decode(r, PROTO_ST_INVITE_ACCEPT, &rep) < 0 ||
	    rep.result > 3) {
		check_fail(k, 500, "Internal server error");
		return;
	}
	if (rep.result != 2) {
		check_fail(k, 404, NO_INVITATION);
		return;
	}
	c = check_detach(k);
	check_free(k);
	send_accepted(c, &rep.d);
}

/* ST_INVITE_ACCEPT of k's token by the session's user. */
static void
accept_send(struct check *k, const char *user)
{
	struct st_invite_accept_req q = {
		.token_hash_len = sizeof(q.token_hash),
		.name = "",
		.salt_len = sizeof(q.salt),
		.hash_len = sizeof(q.hash),
		.user = user,
	};

	memcpy(q.token_hash, k->token, sizeof(q.token_hash));
	if (storec_ask(NULL, PROTO_ST_INVITE_ACCEPT, &q, check_accepted, k,
	    &k->c->sreq) < 0)
		check_fail(k, 503, "Storage unavailable");
	OPENSSL_cleanse(&q, sizeof(q));
}

/*
 * ST_DASH_CHECK -> struct st_dash_check_rep: valid 1 and the session
 * (CSRF token, expiry, user, organisation and role), 2 the user is not
 * in the organisation asked for, or 0.
 */
static void
check_done(const struct storec_result *r, void *arg)
{
	struct check *k = arg;
	struct st_dash_check_rep rep;
	const char *csrf = rep.s.csrf;
	int safe;

	if (r->status != STOREC_OK) {
		struct conn *c = check_detach(k);
		const char *headers = k->headers;

		check_free(k);
		send_storage_error(c, r, headers);
		return;
	}
	if (storec_decode(r, PROTO_ST_DASH_CHECK, &rep) < 0) {
		check_fail(k, 500, "Internal server error");
		return;
	}
	safe = k->req->method == HTTP_GET || k->req->method == HTTP_HEAD;
	switch (rep.valid) {
	case ST_DASH_INVALID:
		if (k->kind == CHECK_PROBE) {
			send_signed_out(check_detach(k));
			check_free(k);
		} else
			check_fail(k, 401, "Unauthorized");
		goto out;
	case ST_DASH_NOT_MEMBER:
		check_fail(k, 404, "Organization not found");
		goto out;
	case ST_DASH_VALID:
		break;
	default:
		log_warnx("dashboard: ST_DASH_CHECK said valid %u", rep.valid);
		check_fail(k, 500, "Internal server error");
		goto out;
	}
	switch (k->kind) {
	case CHECK_SESSION:
	case CHECK_PROBE:
		send_session(check_detach(k), API_HEADERS, csrf,
		    rep.s.expires_at, &rep.s, k->kind == CHECK_PROBE);
		check_free(k);
		break;
	case CHECK_LOGOUT:
		if (!dashauth_csrf_ok(http_header(k->req, "x-csrf-token"),
		    csrf)) {
			check_fail(k, 403, "Missing or invalid CSRF token");
			break;
		}
		logout_send(k);
		break;
	case CHECK_GATE:
		if (!safe && !dashauth_csrf_ok(http_header(k->req,
		    "x-csrf-token"), csrf)) {
			check_fail(k, 403, "Missing or invalid CSRF token");
			break;
		}
		gate_pass(k, &rep.s);
		break;
	case CHECK_ACCEPT:
		if (!dashauth_csrf_ok(http_header(k->req, "x-csrf-token"),
		    csrf)) {
			check_fail(k, 403, "Missing or invalid CSRF token");
			break;
		}
		accept_send(k, rep.s.user);
		break;
	}
out:
	/* The session's CSRF token wiped. */
	OPENSSL_cleanse(rep.s.csrf, sizeof(rep.s.csrf));
	st_rep_free(PROTO_ST_DASH_CHECK, &rep);
}

/* ST_DASH_CHECK of the session, in k's organisation. */
static void
check_send(struct check *k)
{
	struct st_dash_check_req q = {
		.token_hash_len = ST_DASH_HASH_LEN,
		.want_orgs = k->kind == CHECK_SESSION ||
		    k->kind == CHECK_PROBE,
	};

	memcpy(q.token_hash, k->hash, sizeof(q.token_hash));
	strlcpy(q.org, k->org, sizeof(q.org));
	if (storec_ask(NULL, PROTO_ST_DASH_CHECK, &q, check_done, k,
	    &k->c->sreq) < 0)
		check_fail(k, 503, "Storage unavailable");
}

static void
check_booted(struct bootwait *w, int ok)
{
	struct check *k = (struct check *)((char *)w -
	    offsetof(struct check, bw));

	if (!ok) {
		check_fail(k, 503, "Storage unavailable");
		return;
	}
	check_send(k);
}

/*
 * Starts ST_DASH_CHECK for the request's cookie, hash (already read), in
 * the organisation x-organization-id names (one that cannot exist: 404),
 * once the first owner is stored (a new DASHBOARD_PASSWORD ends the
 * owner's sessions first). m: the route to run after (CHECK_GATE);
 * token: the invitation's hash (CHECK_ACCEPT), else NULL.
 */
static void
check_start(struct conn *c, struct http_request *req, enum check_kind kind,
    const uint8_t *hash, const struct route_match *m, const char *headers,
    const uint8_t *token)
{
	char buf[ADMIN_ORG_BUF];
	const char *org = admin_request_org(req, buf);
	struct check *k;

	if (org != NULL && !st_org_id_valid(org)) {
		conn_send_error(c, 404, headers, "Organization not found");
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL || (m != NULL &&
	    (k->m = malloc(sizeof(*m))) == NULL)) {
		free(k);
		log_warn("dashboard session");
		conn_send_error(c, 500, headers, "Internal server error");
		return;
	}
	k->kind = kind;
	k->c = c;
	k->req = req;
	k->headers = headers;
	memcpy(k->hash, hash, sizeof(k->hash));
	if (token != NULL)
		memcpy(k->token, token, sizeof(k->token));
	if (org != NULL)
		strlcpy(k->org, org, sizeof(k->org));
	if (m != NULL)
		match_copy(k->m, m);
	conn_hold(c, k, check_free);
	switch (boot_need(&k->bw, check_booted)) {
	case 1:
		check_send(k);
		break;
	case -1:
		check_fail(k, 503, "Storage unavailable");
		break;
	}
}

/*
 * The signed-in account's acceptance ({"token"} alone, a session): 0
 * with l's token and session set; else -1 with the answer sent.
 */
static int
signed_in_body(struct conn *c, struct http_request *req, struct login *l)
{
	if (dashauth_accept_signed_in(req, l->cr.token_hash) != 1) {
		conn_send_error(c, 404, API_HEADERS, NO_INVITATION);
		return -1;
	}
	if (session_hash(c, req, l->session) <= 0) {
		conn_send_error(c, 401, API_HEADERS, "Sign in as the invited "
		    "account to accept, or give a name and a password for a "
		    "new one");
		return -1;
	}
	l->signed_in = 1;
	return 0;
}

/* The attempt was not limited: the session checked, then the invitation. */
static void
accept_as_signed_in(struct login *l)
{
	uint8_t token[ST_INVITE_HASH_LEN], hash[ST_DASH_HASH_LEN];
	struct conn *c = login_detach(l);

	memcpy(token, l->cr.token_hash, sizeof(token));
	memcpy(hash, l->session, sizeof(hash));
	login_free(l);
	check_start(c, c->req, CHECK_ACCEPT, hash, NULL, API_HEADERS, token);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(hash, sizeof(hash));
}

void
dashauth_accept_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	uint8_t token[ST_INVITE_HASH_LEN];

	if (!proto_json_ctype(http_header(req, "content-type"))) {
		conn_send_error(c, 415, API_HEADERS,
		    "Content-Type must be application/json");
		return;
	}
	/* Either way a login attempt of the client: the same 429s. */
	switch (dashauth_accept_signed_in(req, token)) {
	case 0:
		login_start(c, req, 1, accept_body);
		break;
	case -1:
		conn_send_error(c, 404, API_HEADERS, NO_INVITATION);
		break;
	default:
		login_start(c, req, 1, signed_in_body);
		break;
	}
	OPENSSL_cleanse(token, sizeof(token));
}

void
dashauth_invite_view_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct login *l;

	if (!proto_json_ctype(http_header(req, "content-type"))) {
		conn_send_error(c, 415, API_HEADERS,
		    "Content-Type must be application/json");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("dashboard invitation");
		conn_send_error(c, 500, API_HEADERS, "Internal server error");
		return;
	}
	loop_timer_init(&l->timer, login_wrong, l);
	/* {"token"} alone, as a signed-in acceptance's. */
	if (dashauth_accept_signed_in(req, l->cr.token_hash) != 1) {
		login_free(l);
		conn_send_error(c, 404, API_HEADERS, NO_INVITATION);
		return;
	}
	l->c = c;
	conn_hold(c, l, login_free);
	view_ask(l);
}

/* The session endpoints: no usable cookie is 401. */
static void
session_request(struct conn *c, struct http_request *req,
    enum check_kind kind)
{
	uint8_t hash[ST_DASH_HASH_LEN];

	if (session_hash(c, req, hash) <= 0) {
		conn_send_error(c, 401, API_HEADERS, "Unauthorized");
		return;
	}
	check_start(c, req, kind, hash, NULL, API_HEADERS, NULL);
}

void
dashauth_session_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	session_request(c, req, CHECK_SESSION);
}

/* Nobody signed in: not an error, the answer to the question. */
void
dashauth_signed_in_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	uint8_t hash[ST_DASH_HASH_LEN];

	if (session_hash(c, req, hash) <= 0) {
		send_signed_out(c);
		return;
	}
	check_start(c, req, CHECK_PROBE, hash, NULL, API_HEADERS, NULL);
	OPENSSL_cleanse(hash, sizeof(hash));
}

void
dashauth_logout_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	session_request(c, req, CHECK_LOGOUT);
}

int
dashauth_gate(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	uint8_t hash[ST_DASH_HASH_LEN];
	int r;

	if (http_header(req, "x-admin-api-key") != NULL)
		return 0;
	if ((r = session_hash(c, req, hash)) == 0)
		return 0;
	/* A cookie that cannot be a session. */
	if (r < 0) {
		conn_send_error(c, 401, admin_headers, "Unauthorized");
		return 1;
	}
	check_start(c, req, CHECK_GATE, hash, m, admin_headers, NULL);
	return 1;
}
