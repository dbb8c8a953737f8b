/*
 * People in the admin API (issue 22, proto/usermsg.h), owners only (the
 * routes' role, router.c):
 *
 *	GET    /v1/admin/users		{"users":[...]}: the members of
 *					the organisation who asks acts in,
 *					each with its role there
 *	POST   /v1/admin/users		{"email","role"} -> 201 an
 *					invitation and its link, shown
 *					this once; 409 already a member
 *	PATCH  /v1/admin/users/:user_id	{"role","disabled"}: the member
 *	DELETE /v1/admin/users/:user_id	{"deleted":true}: the membership
 *					(and the user with its last)
 *	GET    /v1/admin/invitations	{"invitations":[...]}: the pending
 *					ones, {id, email, role, created_at,
 *					expires_at}, never a token
 *	DELETE /v1/admin/invitations/:invitation_id
 *					{"deleted":true}: one revoked
 *
 * The last enabled owner of an organisation cannot be demoted, disabled
 * or removed: 409. A user or invitation of another organisation is 404,
 * as one that does not exist. Disabling and removing act on the
 * membership in this organisation only: the account, its password, its
 * sessions and its other memberships stay (its event streams end and
 * open again where it may still act: ST_EV_USER_GONE).
 *
 * A member is {id, email, name, role, disabled, created_at, updated_at};
 * storaged keeps the users and never hands a password hash to this list.
 *
 * An invitation's token is made here: 32 random bytes, 64 hex in the
 * link's fragment (a fragment never reaches a server's log); storaged
 * keeps its SHA-256 for ST_INVITE_MS. The link starts with
 * PARLEY_PUBLIC_URL when the operator set it (as the emails' links do),
 * else with the request's Host, https in production (masterd sends the
 * workers a default URL when it is unset, and says so: public_url_set).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "log.h"
#include "random.h"
#include "sha256.h"
#include "stmsgs.h"
#include "usermsg.h"
#include "workerd.h"

#define INVITE_PATH	"/dashboard/invite#"
#define INVITE_TOKEN_BYTES	32

static json_t *
member_json(const void *rep, int *status)
{
	const struct st_member_view *m = rep;
	const char *role = st_role_name(m->role);
	json_t *v;
	int err = 0;

	if ((v = json_object()) == NULL)
		return NULL;
	exprow_oset(v, "id", exprow_text(m->id), &err);
	exprow_oset(v, "email", exprow_text(m->email), &err);
	exprow_oset(v, "name", exprow_text(m->name != NULL ? m->name : ""),
	    &err);
	exprow_oset(v, "role", exprow_text(role != NULL ? role : ""), &err);
	exprow_oset(v, "disabled", json_boolean(m->disabled), &err);
	exprow_oset(v, "created_at", exprow_ms(m->created_at), &err);
	exprow_oset(v, "updated_at", exprow_ms(m->updated_at), &err);
	return exprow_odone(v, err);
}

static ADMIN_LIST_JSON(members_json, st_members, "users", m, member_json)

/* ST_USER_LIST -> struct st_members */
ADMIN_VIEW_ROUTE(users_list, PROTO_ST_USER_LIST, members_json, NULL, 0)

#define LAST_OWNER	"An organization keeps at least one owner"

static const struct storec_answer user_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "User not found" },
	{ 0, 0, NULL },
};

/* The route's user id, or NULL when answered (one that cannot be: 404). */
static const char *
user_param(struct conn *c, const struct route_match *m)
{
	return admin_path_id(c, m, st_user_id_valid, "User not found");
}

static json_t *
updated_json(const void *rep, int *status)
{
	const struct st_user_update_rep *u = rep;

	if (u->result == 1) {
		*status = 409;
		return json_pack("{s:s}", "error", LAST_OWNER);
	}
	return member_json(&u->m, status);
}

/* ST_USER_UPDATE -> struct st_user_update_rep */
static const struct admin_reply update_done = {
	PROTO_ST_USER_UPDATE, 200, updated_json, user_errors, 0
};

/* The PATCH body into q: NULL, or what is wrong with it (static). */
static const char *
update_body(json_t *body, struct st_user_update_req *q)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body))
		return "Invalid request body";
	json_object_foreach(body, k, v) {
		if (strcmp(k, "role") == 0) {
			if ((q->role = admin_role_value(v)) == ST_ROLE_NONE)
				return "role: must be owner, admin or agent";
			q->mask |= ST_UF_ROLE;
		} else if (strcmp(k, "disabled") == 0) {
			if (!json_is_boolean(v))
				return "disabled: must be true or false";
			q->disabled = json_is_true(v);
			q->mask |= ST_UF_DISABLED;
		} else
			return "Only role and disabled can be changed";
	}
	return NULL;
}

void
users_update(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_user_update_req q = { 0 };
	const char *bad;
	json_t *body;

	if ((q.id = user_param(c, m)) == NULL ||
	    (body = admin_json_body(c, req)) == NULL)
		return;
	bad = update_body(body, &q);
	json_decref(body);
	if (bad != NULL) {
		conn_send_error(c, 400, admin_headers, bad);
		return;
	}
	admin_ask_reply(c, &q, &update_done);
}

static json_t *
deleted_json(const void *rep, int *status)
{
	const struct st_u8_rep *u = rep;

	if (u->v == 1) {
		*status = 409;
		return json_pack("{s:s}", "error", LAST_OWNER);
	}
	return json_pack("{s:b}", "deleted", 1);
}

/* ST_USER_DELETE -> struct st_u8_rep */
ADMIN_ID_ROUTE(users_delete, user_param(c, m), PROTO_ST_USER_DELETE, 200,
    deleted_json, user_errors, 0)

static json_t *
invitation_json(const void *rep, int *status)
{
	const struct st_invite_view *v = rep;
	const char *role = st_role_name(v->role);
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "id", exprow_text(v->id), &err);
	exprow_oset(o, "email", exprow_text(v->email), &err);
	exprow_oset(o, "role", exprow_text(role != NULL ? role : ""), &err);
	exprow_oset(o, "created_at", exprow_ms(v->created_at), &err);
	exprow_oset(o, "expires_at", exprow_ms(v->expires_at), &err);
	return exprow_odone(o, err);
}

static ADMIN_LIST_JSON(invitations_json, st_invites, "invitations", v,
    invitation_json)

/* ST_INVITE_LIST -> struct st_invites */
ADMIN_VIEW_ROUTE(invitations_list, PROTO_ST_INVITE_LIST, invitations_json,
    NULL, 0)

static const struct storec_answer invitation_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Invitation not found" },
	/* Another organisation's invitation has the token's hash. */
	{ PROTO_E_EXISTS, 409, "Invitation token already in use: try again" },
	{ 0, 0, NULL },
};

static json_t *
revoked_json(const void *rep, int *status)
{
	return json_pack("{s:b}", "deleted", 1);
}

/* ST_INVITE_REVOKE -> (empty) */
ADMIN_ID_ROUTE(invitations_revoke, admin_path_id(c, m, st_invite_id_valid,
    "Invitation not found"), PROTO_ST_INVITE_REVOKE, 200, revoked_json,
    invitation_errors, 0)

/* An invitation under way: its link (with the token) until the answer. */
struct invnew {
	char *url;
	size_t len;
};

static void
invnew_free(void *p)
{
	struct invnew *v = p;

	if (v == NULL)
		return;
	if (v->url != NULL) {
		OPENSSL_cleanse(v->url, v->len);
		free(v->url);
	}
	free(v);
}

static json_t *
invited_json(const struct st_user_invite_rep *u, const char *url)
{
	const char *role = st_role_name(u->e.role);
	json_t *v, *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "email", exprow_text(u->e.email), &err);
	exprow_oset(o, "role", exprow_text(role != NULL ? role : ""), &err);
	exprow_oset(o, "expires_at", exprow_ms(u->e.expires_at), &err);
	if ((o = exprow_odone(o, err)) == NULL || (v = json_object()) == NULL) {
		json_decref(o);
		return NULL;
	}
	exprow_oset(v, "invitation", o, &err);
	exprow_oset(v, "url", exprow_text(url), &err);
	return exprow_odone(v, err);
}

/* ST_USER_INVITE -> struct st_user_invite_rep: the link, this once. */
static void
invited(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct invnew *iv = c->hctx;
	struct st_user_invite_rep rep;

	conn_let_go(c);
	if (admin_said_invalid(c, r, "Invalid invitation"))
		goto out;
	if (r->status != STOREC_OK) {
		admin_answer(c, r, PROTO_ST_USER_INVITE, 201, NULL,
		    invitation_errors);
		goto out;
	}
	if (storec_decode(r, PROTO_ST_USER_INVITE, &rep) < 0) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	if (rep.result == 1) {
		conn_send_error(c, 409, admin_headers,
		    "Already a member of this organization");
		goto out;
	}
	admin_send_json(c, 201, invited_json(&rep, iv->url));
out:
	invnew_free(iv);
}

/* The POST body into q (email normalised into email): NULL, or why not. */
static const char *
invite_body(json_t *root, struct st_user_invite_req *q,
    char email[ST_EMAIL_MAX + 1])
{
	static const char *const fields[] = { "email", "role", NULL };
	json_t *e, *role;

	if (!json_is_object(root))
		return "Invalid request body";
	if (admin_body_other(root, fields) != NULL)
		return "Only email and role can be given";
	if ((e = json_object_get(root, "email")) == NULL)
		return "email: required";
	/* A NUL inside would cut them short: "a@b.c\0x" invited a@b.c. */
	if (!json_is_string(e) ||
	    strlen(json_string_value(e)) != json_string_length(e))
		return "email: must be an address like name@example.com";
	if ((role = json_object_get(root, "role")) == NULL)
		return "role: required";
	if ((q->role = admin_role_value(role)) == ST_ROLE_NONE)
		return "role: must be owner, admin or agent";
	q->email = email;
	return st_email_normal(json_string_value(e), email);
}

/*
 * The link to hex into iv: PARLEY_PUBLIC_URL's (its trailing slashes
 * left out) when set, else the request's Host's, https when c was reached
 * by it (conn_https). 0, or -1 out of memory.
 */
static int
invite_url(struct conn *c, struct http_request *req, const char *hex,
    struct invnew *iv)
{
	const char *base = wsettings.public_url, *host;
	size_t n;
	int w;

	if (wsettings.public_url_set && base != NULL) {
		for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
			;
		w = asprintf(&iv->url, "%.*s" INVITE_PATH "%s", (int)n,
		    base, hex);
	} else {
		host = http_header(req, "host");
		w = asprintf(&iv->url, "%s://%s" INVITE_PATH "%s",
		    conn_https(c) ? "https" : "http",
		    host != NULL ? host : "localhost", hex);
	}
	if (w < 0) {
		iv->url = NULL;
		return -1;
	}
	iv->len = (size_t)w;
	return 0;
}

/*
 * A token into q (its SHA-256) and the link that carries it into iv:
 * 0, or -1 out of memory.
 */
static int
invite_make(struct conn *c, struct http_request *req, struct invnew *iv,
    struct st_user_invite_req *q)
{
	uint8_t tok[INVITE_TOKEN_BYTES];
	char hex[2 * INVITE_TOKEN_BYTES + 1];
	int rc;

	proto_random(tok, sizeof(tok));
	proto_hex_encode(tok, sizeof(tok), hex);
	proto_sha256(tok, sizeof(tok), q->token_hash);
	q->token_hash_len = sizeof(q->token_hash);
	rc = invite_url(c, req, hex, iv);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

void
users_invite(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_user_invite_req q;
	char email[ST_EMAIL_MAX + 1];
	struct invnew *iv = NULL;
	const char *bad;
	json_t *root;

	if ((root = admin_json_body(c, req)) == NULL)
		return;
	memset(&q, 0, sizeof(q));
	if ((bad = invite_body(root, &q, email)) != NULL) {
		conn_send_error(c, 400, admin_headers, bad);
		goto out;
	}
	if ((iv = calloc(1, sizeof(*iv))) == NULL ||
	    invite_make(c, req, iv, &q) < 0) {
		log_warn("admin: invitation");
		invnew_free(iv);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	admin_ask_held(c, iv, invnew_free, PROTO_ST_USER_INVITE, &q, invited);
out:
	OPENSSL_cleanse(&q, sizeof(q));
	json_decref(root);
}
