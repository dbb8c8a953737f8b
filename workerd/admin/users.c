/*
 * People in the admin API (issue 22, proto/usermsg.h), owners only (the
 * routes' role, router.c):
 *
 *	GET /v1/admin/users	{"users":[...]}: the members of the
 *				organisation who asks acts in, each with its
 *				role there
 *
 * A member is {id, email, name, role, disabled, created_at, updated_at};
 * storaged keeps the users and never hands a password hash to this list.
 */
#include <stddef.h>

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
