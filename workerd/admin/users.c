/*
 * People in the admin API (issue 22, proto/usermsg.h), owners only (the
 * routes' role, router.c):
 *
 *	GET    /v1/admin/users		{"users":[...]}: the members of
 *					the organisation who asks acts in,
 *					each with its role there
 *	PATCH  /v1/admin/users/:user_id	{"role","disabled"}: the member
 *	DELETE /v1/admin/users/:user_id	{"deleted":true}: the membership
 *					(and the user with its last)
 *
 * The last enabled owner of an organisation cannot be demoted, disabled
 * or removed: 409. A user of another organisation is 404, as one that
 * does not exist. Disabling or deleting ends the user's sessions on
 * every worker (storaged, ST_EV_USER_GONE).
 *
 * A member is {id, email, name, role, disabled, created_at, updated_at};
 * storaged keeps the users and never hands a password hash to this list.
 */
#include <stddef.h>
#include <string.h>

#include "usermsg.h"
#include "workerd.h"

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

static json_t *
members_json(const void *rep, int *status)
{
	const struct st_members *l = rep;

	return json_pack("{s:o}", "users", ADMIN_ITEMS_JSON(l->m, l->n,
	    member_json));
}

/* ST_USER_LIST -> struct st_members */
static void
list_done(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, PROTO_ST_USER_LIST, 200, members_json, NULL);
}

void
users_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	admin_ask(c, PROTO_ST_USER_LIST, NULL, list_done, admin_headers);
}

#define LAST_OWNER	"An organization keeps at least one owner"

static const struct storec_answer user_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "User not found" },
	{ 0, 0, NULL },
};

/* The route's user id, or NULL when answered (one that cannot be: 404). */
static const char *
user_param(struct conn *c, const struct route_match *m)
{
	const char *id = m->nparams > 0 ? m->param[0] : "";

	if (!st_user_id_valid(id)) {
		conn_send_error(c, 404, admin_headers, "User not found");
		return NULL;
	}
	return id;
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
static void
update_done(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, PROTO_ST_USER_UPDATE, 200, updated_json,
	    user_errors);
}

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
			if (!json_is_string(v) || (q->role = st_role_parse(
			    json_string_value(v))) == ST_ROLE_NONE)
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
	admin_ask(c, PROTO_ST_USER_UPDATE, &q, update_done, admin_headers);
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
static void
delete_done(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, PROTO_ST_USER_DELETE, 200, deleted_json,
	    user_errors);
}

void
users_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_id_req q;

	if ((q.id = user_param(c, m)) != NULL)
		admin_ask(c, PROTO_ST_USER_DELETE, &q, delete_done,
		    admin_headers);
}
