/*
 * A dashboard user's own profile (storaged's ST_USER_SELF):
 *
 *	GET   /v1/admin/profile	{"id","email","name","role"}
 *	PATCH /v1/admin/profile	{"name"}: the display name visitors see
 *				when this user answers (1-100 characters,
 *				not blank);
 *				the same answer
 *	POST  /v1/admin/profile/password {"current_password",
 *				"new_password"}: 204, the password changed
 *				and the user's other sessions ended (this
 *				one stays)
 *
 * Only a dashboard user has a profile: a request with a key is 403, as
 * notifications.c's. The password change is counted as a login attempt
 * of the client (ST_DASH_ATTEMPT: 10 a minute, and the failed-login
 * budget of every client), so a stolen session cannot guess the password
 * faster than a login could. The current password is hashed on the pool
 * with the stored salt and compared in constant time, as a login's; a
 * wrong one spends the failed-login budget and answers 403 after the
 * login's delay. The new one is hashed with a fresh salt and stored only
 * while the password is still the one checked (ST_USER_SELF's old): of
 * two changes at once, one wins and the other is told to try again.
 * Passwords are never logged; copies made here are wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "log.h"
#include "random.h"
#include "settings.h"
#include "workerd.h"

#define NEW_PASSWORD_MAX	1024	/* characters, as DASHBOARD_PASSWORD */
#define NO_STORE		"Cache-Control: no-store\r\n"	/* admin_headers */

/* A password change in flight, in c->hctx. */
struct pwchange {
	struct conn *c;
	char *cur, *next;	/* the passwords given (wiped) */
	size_t curlen, nextlen;
	uint8_t old_salt[ST_PW_SALT_LEN];	/* the stored salt and hash */
	uint8_t old[ST_PW_HASH_LEN];
	uint8_t salt[ST_PW_SALT_LEN];	/* the new password's */
	char rate_key[ST_RATE_KEY_MAX + 1];	/* the client's, as a login's */
	char device[ST_DASH_DEVICE_LEN + 1];	/* its known-device cookie */
	struct hashjob *job;
	struct loop_timer timer;	/* a wrong password's delay */
	struct credwatch watch;	/* until the new password is sent */
};

/* Only a dashboard user has a profile: 0, or -1 answered 403. */
static int
user_only(struct conn *c)
{
	return admin_user_only(c, "A profile is");
}

static json_t *
profile_json(const void *rep, int *status)
{
	const struct st_user_self_rep *p = rep;
	json_t *v;
	int err = 0;

	(void)status;
	if ((v = json_object()) == NULL)
		return NULL;
	exprow_oset(v, "id", json_string(p->m.id), &err);
	exprow_oset(v, "email", json_string(p->m.email), &err);
	exprow_oset(v, "name", exprow_text(p->m.name), &err);
	exprow_oset(v, "role", json_string(st_role_name(p->m.role) != NULL ?
	    st_role_name(p->m.role) : ""), &err);
	return exprow_odone(v, err);
}

static const struct admin_reply profile_answered = {
	PROTO_ST_USER_SELF, 200, profile_json, NULL, 0
};

void
profile_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_user_self_req q = { .mode = ST_SELF_READ };

	(void)req;
	(void)m;
	if (user_only(c) == 0)
		admin_ask_reply(c, &q, &profile_answered);
}

void
profile_patch(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_user_self_req q = { .mode = ST_SELF_NAME };
	const char *bad = NULL;
	json_t *root, *name;

	(void)m;
	if (user_only(c) < 0 || (root = admin_json_body(c, req)) == NULL)
		return;
	name = json_is_object(root) ? json_object_get(root, "name") : NULL;
	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    name == NULL)
		bad = "body: {\"name\"} only";
	else if (!json_is_string(name) || memchr(json_string_value(name),
	    '\0', json_string_length(name)) != NULL)
		bad = "name: must be a string";
	else
		bad = st_user_name_invalid(json_string_value(name));
	if (bad == NULL) {
		q.name = json_string_value(name);
		admin_ask_reply(c, &q, &profile_answered);
	} else
		conn_send_error(c, 400, admin_headers, bad);
	json_decref(root);
}

/* ------------------------------------------------------------ password */

static void
pw_free(void *arg)
{
	struct pwchange *p = arg;

	credwatch_stop(&p->watch);
	loop_timer_stop(&p->timer);
	if (p->job != NULL)
		hashpool_cancel(p->job);
	if (p->cur != NULL)
		OPENSSL_cleanse(p->cur, p->curlen);
	if (p->next != NULL)
		OPENSSL_cleanse(p->next, p->nextlen);
	free(p->cur);
	free(p->next);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

/* The change ends: p freed, then c answered status (204: no body). */
static void
pw_end(struct pwchange *p, int status, const char *headers, const char *msg)
{
	struct conn *c = p->c;

	conn_let_go(c);
	pw_free(p);
	if (status == 204)
		conn_send(c, 204, admin_headers, NULL, NULL, 0);
	else
		conn_send_error(c, status, headers, msg);
}

/* storaged asked type for p as who (NULL: nobody), else 503. */
static void
pw_ask(struct pwchange *p, const struct st_who *who, uint16_t type,
    const void *q, storec_cb cb)
{
	if (storec_ask(who, type, q, cb, p->c, &p->c->sreq) < 0)
		pw_end(p, 503, admin_headers, "Storage unavailable");
}

/*
 * storaged's reply to type decoded into rep: 0; else -1 with the change
 * ended (storaged's error as the HTTP error it means, or 500).
 */
static int
pw_decode(struct pwchange *p, const struct storec_result *r, uint16_t type,
    void *rep)
{
	const char *msg;
	int status;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, NULL, "profile", &msg);
		pw_end(p, status, admin_headers, msg);
		return -1;
	}
	if (storec_decode(r, type, rep) < 0) {
		pw_end(p, 500, admin_headers, "Internal server error");
		return -1;
	}
	return 0;
}

/* ST_USER_SELF (password) -> result 0 stored, 1 changed meanwhile. */
static void
pw_stored(const struct storec_result *r, void *arg)
{
	struct pwchange *p = ((struct conn *)arg)->hctx;
	struct st_user_self_rep rep;
	uint8_t result;

	if (pw_decode(p, r, PROTO_ST_USER_SELF, &rep) < 0)
		return;
	result = rep.result;
	st_rep_free(PROTO_ST_USER_SELF, &rep);
	if (result != 0)
		pw_end(p, 409, admin_headers, "The password was changed "
		    "meanwhile: try again with the new one");
	else
		pw_end(p, 204, NULL, NULL);
}

/* The new password's hash: stored while the password is the one checked. */
static void
pw_next_hashed(void *arg, int ok, const uint8_t *key)
{
	struct pwchange *p = arg;
	struct st_user_self_req q = { .mode = ST_SELF_PASSWORD,
	    .salt_len = ST_PW_SALT_LEN, .hash_len = ST_PW_HASH_LEN,
	    .old_len = ST_PW_HASH_LEN };

	p->job = NULL;
	if (!ok) {
		pw_end(p, 503, admin_headers, "Try again in a moment");
		return;
	}
	memcpy(q.salt, p->salt, sizeof(q.salt));
	memcpy(q.hash, key, sizeof(q.hash));
	memcpy(q.old, p->old, sizeof(q.old));
	/* Sent: an end told from now comes after it, as any request's. */
	credwatch_stop(&p->watch);
	pw_ask(p, &p->c->who, PROTO_ST_USER_SELF, &q, pw_stored);
	OPENSSL_cleanse(&q, sizeof(q));
}

/* Hashes pw (then wipes it) with salt on the pool; 503 when it is full. */
static void
pw_hash(struct pwchange *p, char **pw, size_t len, const uint8_t *salt,
    hashpool_cb done)
{
	p->job = hashpool_submit(*pw, len, salt, ST_PW_SALT_LEN, done, p);
	OPENSSL_cleanse(*pw, len);
	free(*pw);
	*pw = NULL;
	if (p->job == NULL)
		pw_end(p, 503, "Retry-After: 1\r\n" NO_STORE,
		    "Too many logins at once, try again in a moment");
}

/*
 * The session the change was asked with ended while it was being hashed
 * (logged out, past its expiry, its user disabled or removed): a change
 * checked once, as it began, would outlive it. Nothing is stored.
 */
static void
pw_gone(void *arg)
{
	struct pwchange *p = arg;

	storec_cancel(p->c->sreq);
	p->c->sreq = NULL;
	log_info("profile: a password change's session ended; answered 401");
	pw_end(p, 401, admin_headers, "Unauthorized: the session this "
	    "password change was made with ended; the password is unchanged");
}

static void
pw_wrong(void *arg)
{
	pw_end(arg, 403, admin_headers, "current_password: wrong password");
}

/* The current password's hash: right goes on, wrong is counted. */
static void
pw_cur_hashed(void *arg, int ok, const uint8_t *key)
{
	struct pwchange *p = arg;

	p->job = NULL;
	if (!ok) {
		pw_end(p, 503, admin_headers, "Try again in a moment");
		return;
	}
	if (CRYPTO_memcmp(key, p->old, sizeof(p->old)) != 0) {
		dashauth_count_failure();
		loop_timer_after(&p->timer, DASH_WRONG_DELAY_MS);
		return;
	}
	proto_random(p->salt, sizeof(p->salt));
	pw_hash(p, &p->next, p->nextlen, p->salt, pw_next_hashed);
}

static void pw_counted(const struct storec_result *, void *);

/*
 * ST_USER_SELF (read) -> the stored salt and hash; then the attempt
 * counted as a login of the account's (its email and this browser's
 * known-device cookie: past a spent budget, the user's own browser).
 */
static void
pw_found(const struct storec_result *r, void *arg)
{
	struct pwchange *p = ((struct conn *)arg)->hctx;
	struct st_user_self_rep rep;
	struct st_dash_attempt_req att = {
		.rate_key = p->rate_key,
		.window_ms = DASH_LOGIN_WINDOW_MS,
		.rate_max = DASH_LOGIN_MAX,
		.failures_max = wsettings.login_failures,
	};

	if (pw_decode(p, r, PROTO_ST_USER_SELF, &rep) < 0)
		return;
	if (rep.salt_len != sizeof(p->old_salt) ||
	    rep.hash_len != sizeof(p->old)) {
		/* A read without the password: nothing a guess can match. */
		st_rep_free(PROTO_ST_USER_SELF, &rep);
		log_warnx("profile: ST_USER_SELF read without a password");
		pw_end(p, 500, admin_headers, "Internal server error");
		return;
	}
	memcpy(p->old_salt, rep.salt, sizeof(p->old_salt));
	memcpy(p->old, rep.hash, sizeof(p->old));
	strlcpy(att.email, rep.m.email, sizeof(att.email));
	strlcpy(att.device, p->device, sizeof(att.device));
	st_rep_free(PROTO_ST_USER_SELF, &rep);
	OPENSSL_cleanse(&rep, sizeof(rep));
	/* Nobody asks: a login attempt is the client's. */
	pw_ask(p, NULL, PROTO_ST_DASH_ATTEMPT, &att, pw_counted);
}

/* ST_DASH_ATTEMPT -> limited or not: then the current password hashed. */
static void
pw_counted(const struct storec_result *r, void *arg)
{
	struct pwchange *p = ((struct conn *)arg)->hctx;
	char hdr[64 + sizeof(NO_STORE)];
	struct st_rate_verdict v;

	if (pw_decode(p, r, PROTO_ST_DASH_ATTEMPT, &v) < 0)
		return;
	if (v.limited > 2) {
		pw_end(p, 500, admin_headers, "Internal server error");
		return;
	}
	if (v.limited) {
		resp_retry_after(hdr, sizeof(hdr), v.retry_ms, NO_STORE);
		pw_end(p, 429, hdr, "Too many password attempts, try again "
		    "later");
		return;
	}
	pw_hash(p, &p->cur, p->curlen, p->old_salt, pw_cur_hashed);
}

/* A body's password field into *dst: NULL, or what is wrong. */
static const char *
pw_field(json_t *root, const char *name, size_t min, char **dst,
    size_t *len)
{
	json_t *v = json_object_get(root, name);
	ssize_t n;

	if (!json_is_string(v))
		return "must be a string";
	*len = json_string_length(v);
	n = proto_utf8_chars(json_string_value(v), *len);
	if (n < (ssize_t)min || n > NEW_PASSWORD_MAX ||
	    memchr(json_string_value(v), '\0', *len) != NULL)
		return min > 1 ? "must be 12 to 1024 characters" :
		    "must be 1 to 1024 characters";
	if ((*dst = strndup(json_string_value(v), *len)) == NULL)
		return "out of memory";
	return NULL;
}

/* The body into p: NULL, or what is wrong. jansson's copies wiped. */
static const char *
pw_body(json_t *root, struct pwchange *p, char *why, size_t whysz)
{
	const char *bad = NULL, *k;
	json_t *v;

	if (!json_is_object(root) || json_object_size(root) != 2)
		bad = "body: {\"current_password\", \"new_password\"}";
	else if ((k = "current_password", bad = pw_field(root, k, 1, &p->cur,
	    &p->curlen)) != NULL ||
	    (k = "new_password", bad = pw_field(root, k,
	    SETTINGS_PASSWORD_MIN, &p->next, &p->nextlen)) != NULL) {
		snprintf(why, whysz, "%s: %s", k, bad);
		bad = why;
	}
	if (json_is_object(root))
		json_object_foreach(root, k, v)
			if (json_is_string(v))
				OPENSSL_cleanse((char *)json_string_value(v),
				    json_string_length(v));
	return bad;
}

void
profile_password_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_user_self_req q = { .mode = ST_SELF_READ };
	char why[96];
	struct pwchange *p;
	const char *bad;
	json_t *root;

	(void)m;
	if (user_only(c) < 0 || (root = admin_json_body(c, req)) == NULL)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("profile");
		json_decref(root);
		conn_send_error(c, 500, admin_headers,
		    "Internal server error");
		return;
	}
	bad = pw_body(root, p, why, sizeof(why));
	json_decref(root);
	if (bad != NULL) {
		pw_free(p);
		conn_send_error(c, 400, admin_headers, bad);
		return;
	}
	loop_timer_init(&p->timer, pw_wrong, p);
	p->c = c;
	conn_hold(c, p, pw_free);
	credwatch_start(&p->watch, c, 0, pw_gone, p);
	/* One count with the logins: a change is a password guessed. */
	clientip_key(c, req, "login:", p->rate_key, sizeof(p->rate_key));
	dashauth_device(c, req, p->device);
	pw_ask(p, &p->c->who, PROTO_ST_USER_SELF, &q, pw_found);
}
