/*
 * A dashboard user's own email notifications (issue 23, item 4):
 *
 *	GET /v1/admin/notifications	{"handoff_requested", "visitor_waiting",
 *					"new_contact": booleans, "email_enabled":
 *					whether the server sends email (SMTP_URL)}
 *	PUT /v1/admin/notifications	{"handoff_requested", "visitor_waiting",
 *					"new_contact"}: each true or false, one
 *					not given is false; the same answer
 *
 * The choice is the signed-in user's, for every organisation they are in
 * (storaged's user_notify: ST_NOTIFY_GET/SET); any role may make it. A
 * request without a dashboard user (the admin key, an API key) is 403:
 * there is nobody to email.
 */
#include <string.h>

#include "admin.h"
#include "mailmsg.h"
#include "workerd.h"

static const struct {
	const char *name;
	uint32_t bit;
	const char *bad;	/* its 400 when not a boolean */
} fields[] = {
#define FIELD(name, bit)	{ name, bit, name ": must be true or false" }
	FIELD("handoff_requested", ST_MAIL_HANDOFF),
	FIELD("visitor_waiting", ST_MAIL_WAITING),
	FIELD("new_contact", ST_MAIL_CONTACT),
#undef FIELD
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static json_t *
notify_json(const void *rep, int *status)
{
	const struct st_notify *n = rep;
	json_t *v;
	size_t i;
	int err = 0;

	if ((v = json_object()) == NULL)
		return NULL;
	for (i = 0; i < NFIELDS; i++)
		exprow_oset(v, fields[i].name, json_boolean(n->mask &
		    fields[i].bit), &err);
	exprow_oset(v, "email_enabled", json_boolean(wsettings.smtp_url !=
	    NULL), &err);
	return exprow_odone(v, err);
}

/* GET's and PUT's replies have one layout. */
static const struct admin_reply got = {
	PROTO_ST_NOTIFY_GET, 200, notify_json, NULL, 0
};
static const struct admin_reply set = {
	PROTO_ST_NOTIFY_SET, 200, notify_json, NULL, 0
};

/* Only a dashboard user has emails to choose: 0, or -1 answered 403. */
static int
user_only(struct conn *c)
{
	return admin_user_only(c, "Email notifications are");
}

void
notifications_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (user_only(c) == 0)
		admin_ask_reply(c, NULL, &got);
}

/* The body as a mask into *mask: NULL, or "field: what is wrong". */
static const char *
notify_body(json_t *root, uint32_t *mask)
{
	const char *k;
	json_t *v;
	size_t i;

	*mask = 0;
	if (!json_is_object(root))
		return "body: must be a JSON object";
	json_object_foreach(root, k, v) {
		for (i = 0; i < NFIELDS; i++)
			if (strcmp(k, fields[i].name) == 0)
				break;
		if (i == NFIELDS)
			return strcmp(k, "email_enabled") == 0 ?
			    "email_enabled: is the server's, read-only" :
			    "body: unknown field";
		if (!json_is_boolean(v))
			return fields[i].bad;
		if (json_is_true(v))
			*mask |= fields[i].bit;
	}
	return NULL;
}

void
notifications_put(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_notify q;
	const char *bad;
	json_t *root;

	if (user_only(c) < 0 || (root = admin_json_body(c, req)) == NULL)
		return;
	bad = notify_body(root, &q.mask);
	json_decref(root);
	if (bad != NULL) {
		conn_send_error(c, 400, admin_headers, bad);
		return;
	}
	admin_ask_reply(c, &q, &set);
}
