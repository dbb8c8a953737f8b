/*
 * An organisation's API keys in the admin API (issue 22), owners only
 * (the routes' role):
 *
 *	GET    /v1/admin/api-keys		{"api_keys":[...]}, oldest first
 *	POST   /v1/admin/api-keys		{"name","role"} -> 201 the key,
 *						with "key": the secret, shown
 *						this once
 *	DELETE /v1/admin/api-keys/:key_id	200 {"deleted":true}; 404 for
 *						another organisation's
 *
 * A key is {id, name, role, created_at, last_used_at}. The secret is made
 * here: 32 random bytes as "pk_" and 64 hex digits; storaged keeps its
 * SHA-256 (proto/keymsg.h), so no answer but the create's holds it and
 * nothing logs it. Used as x-admin-api-key, it acts in its organisation
 * with its role (admin_gate, admin.c).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "keymsg.h"
#include "log.h"
#include "random.h"
#include "sha256.h"
#include "workerd.h"

/* A create under way: the secret until the answer shows it. */
struct keynew {
	char secret[ST_KEY_SECRET_LEN + 1];
};

static const struct storec_answer key_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "API key not found" },
	{ 0, 0, NULL },
};

/* role: its name. */
static void
role_out(json_t *o, const void *rec, int *err)
{
	const char *role = st_role_name(((const struct st_apikey *)rec)->role);

	exprow_oset(o, "role", exprow_text(role ? role : ""), err);
}

/* last_used_at: null for never. */
static void
last_used_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "last_used_at",
	    json_opt_ms(((const struct st_apikey *)rec)->last_used_at), err);
}

/* The rows a key shows its own way. */
static const struct rec_own key_own[] = {
	{ "role", role_out },
	{ "last_used_at", last_used_out },
	{ NULL, NULL },
};

/* Its shown rows: never its hash, nor its secret (the create adds it). */
static json_t *
key_json(const struct st_apikey *k)
{
	return rec_json(&st_apikey_layout, k, RF_ADM, key_own);
}

static json_t *
key_item(const void *k, int *status)
{
	return key_json(k);
}

static ADMIN_LIST_JSON(key_list_json, st_apikeys, "api_keys", keys, key_item)

ADMIN_VIEW_ROUTE(apikeys_list, PROTO_ST_KEY_LIST, key_list_json, key_errors,
    0)

/*
 * GET /v1/admin/api-keys/:key_id: storaged keeps no get of one key, so
 * the organisation's list (at most ST_KEYS_MAX) is read and the one
 * named picked; another organisation's is not found, as with DELETE.
 */
static void
key_one(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	char *id = c->hctx;
	struct st_apikeys l;
	uint32_t i;

	conn_let_go(c);
	if (r->status != STOREC_OK) {
		admin_answer(c, r, PROTO_ST_KEY_LIST, 200, NULL, key_errors);
		goto out;
	}
	if (storec_decode(r, PROTO_ST_KEY_LIST, &l) < 0) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	for (i = 0; i < l.n && strcmp(l.keys[i].id, id) != 0; i++)
		;
	if (i == l.n)
		conn_send_error(c, 404, admin_headers, "API key not found");
	else
		admin_send_json(c, 200, key_json(&l.keys[i]));
	st_rep_free(PROTO_ST_KEY_LIST, &l);
out:
	free(id);
}

void
apikeys_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *id;
	char *copy;

	if ((id = admin_path_id(c, m, st_key_id_valid,
	    "API key not found")) == NULL)
		return;
	if ((copy = strdup(id)) == NULL) {
		log_warn("admin: api key");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	admin_ask_held(c, copy, free, PROTO_ST_KEY_LIST, NULL, key_one);
}

static void
keynew_free(void *p)
{
	struct keynew *k = p;

	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* The key as stored, and its secret: the one answer that shows it. */
static void
created(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct keynew *k = c->hctx;
	struct st_apikey rep;
	json_t *v = NULL;
	int err = 0;

	conn_let_go(c);
	if (admin_said_invalid(c, r, "Invalid API key"))
		goto out;
	if (r->status != STOREC_OK) {
		admin_answer(c, r, PROTO_ST_KEY_CREATE, 201, NULL, key_errors);
		goto out;
	}
	if (storec_decode(r, PROTO_ST_KEY_CREATE, &rep) < 0) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	if ((v = key_json(&rep)) != NULL)
		exprow_oset(v, "key", exprow_text(k->secret), &err);
	st_apikey_free(&rep);
	admin_send_json(c, 201, exprow_odone(v, err || v == NULL));
out:
	keynew_free(k);
}

/* The body's name and role into q: NULL, or "field: what is wrong". */
static const char *
key_body(json_t *root, struct st_key_create_req *q)
{
	static const char *const fields[] = { "name", "role", NULL };
	struct st_apikey k;
	json_t *name, *role;
	const char *k_;

	if (!json_is_object(root))
		return "body: must be a JSON object";
	if ((k_ = admin_body_other(root, fields)) != NULL)
		return strcmp(k_, "id") == 0 || strcmp(k_, "key") == 0 ||
		    strcmp(k_, "created_at") == 0 ||
		    strcmp(k_, "last_used_at") == 0 ?
		    "body: only name and role may be given" :
		    "body: unknown field";
	if ((name = json_object_get(root, "name")) == NULL)
		return "name: required";
	if (!json_is_string(name) || strlen(json_string_value(name)) !=
	    json_string_length(name))
		return "name: must be 1 to 100 characters of UTF-8";
	if ((role = json_object_get(root, "role")) == NULL)
		return "role: required";
	if ((q->role = admin_role_value(role)) == ST_ROLE_NONE)
		return "role: must be agent, admin or owner";
	memset(&k, 0, sizeof(k));
	k.name = (char *)json_string_value(name);
	k.role = q->role;
	q->name = k.name;
	return st_apikey_invalid(&k);
}

/* A new secret: "pk_" and 32 random bytes as hex, its SHA-256 in q. */
static void
key_make(struct keynew *k, struct st_key_create_req *q)
{
	uint8_t r[ST_KEY_SECRET_BYTES];
	size_t p = strlen(ST_KEY_SECRET_PREFIX);

	proto_random(r, sizeof(r));
	memcpy(k->secret, ST_KEY_SECRET_PREFIX, p);
	proto_hex_encode(r, sizeof(r), k->secret + p);
	OPENSSL_cleanse(r, sizeof(r));
	proto_sha256(k->secret, strlen(k->secret), q->hash);
	q->hash_len = sizeof(q->hash);
}

void
apikeys_create(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_key_create_req q;
	struct keynew *k;
	const char *bad;
	json_t *root;

	if ((root = admin_json_body(c, req)) == NULL)
		return;
	memset(&q, 0, sizeof(q));
	if ((bad = key_body(root, &q)) != NULL) {
		conn_send_error(c, 400, admin_headers, bad);
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_warn("admin: api key");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	key_make(k, &q);
	admin_ask_held(c, k, keynew_free, PROTO_ST_KEY_CREATE, &q, created);
out:
	OPENSSL_cleanse(&q, sizeof(q));
	json_decref(root);
}

ADMIN_ID_ROUTE(apikeys_delete, admin_path_id(c, m, st_key_id_valid,
    "API key not found"), PROTO_ST_KEY_DELETE, 200, admin_deleted_json,
    key_errors, 0)
