/*
 * An organisation's canned replies in the admin API (issue 24, the
 * inbox): every member reads them, admins and owners write them (the
 * routes' roles).
 *
 *	GET    /v1/admin/canned-replies		{"items":[...]}, by shortcut
 *	POST   /v1/admin/canned-replies		{"shortcut","text"} -> 201 the item
 *	PUT    /v1/admin/canned-replies/:id	{"shortcut","text"} -> the item
 *	DELETE /v1/admin/canned-replies/:id	204
 *
 * An item is {id, shortcut, text, createdAt, updatedAt, attachments}
 * (its files, docs/attachments.md: uploaded with the routes of
 * attach.h's att_canned_*, copied into each message that names them). A shortcut is
 * 1-32 of [a-z0-9_-], unique in the organisation (409 when another has
 * it); a text 1-2000 characters; at most 200 replies an organisation
 * (400). storaged keeps them (ST_CANNED_*, proto/inboxmsg.h); an item's
 * JSON is its rows' (recjson.c), a body's check canned_body's (its own
 * words).
 */
#include <string.h>

#include "admin.h"
#include "attach.h"
#include "inboxmsg.h"
#include "workerd.h"

static const struct storec_answer canned_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Canned reply not found" },
	{ PROTO_E_EXISTS, 409, "shortcut: already in use" },
	{ 0, 0, NULL },
};

/* Its files, with the dashboard's links to them ([] none). */
static void
atts_out(json_t *o, const void *rec, int *err)
{
	const struct st_canned *c = rec;

	exprow_oset(o, "attachments", att_json(c->atts, c->natts, NULL, NULL,
	    0), err);
}

static const struct rec_own canned_own[] = {
	{ "attachments", atts_out },
	{ NULL, NULL },
};

/* An item: its rows (recjson.c). */
static json_t *
canned_item(const void *cr, int *status)
{
	return rec_json(&st_canned_layout, cr, RF_ADM, canned_own);
}

static ADMIN_LIST_JSON(canneds_json, st_canneds, "items", items, canned_item)

/* storaged's `invalid` says what (the bound of 200): its text, 400. */
static const struct admin_reply listed = {
	PROTO_ST_CANNED_LIST, 200, canneds_json, canned_errors, 1
};
static const struct admin_reply created = {
	PROTO_ST_CANNED_PUT, 201, canned_item, canned_errors, 1
};
static const struct admin_reply updated = {
	PROTO_ST_CANNED_PUT, 200, canned_item, canned_errors, 1
};

void
canned_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	admin_ask_reply(c, NULL, &listed);
}

/*
 * The body's shortcut, text and attachments (ids into atts, when given)
 * into q: NULL, or "field: what is wrong".
 */
static const char *
canned_body(json_t *root, struct st_canned_put_req *q,
    struct st_str atts[ST_MSG_ATTS_MAX])
{
	static const char *const fields[] = {
		"shortcut", "text", "attachments", NULL
	};
	json_t *sv, *tv, *v;
	const char *bad;

	if (!json_is_object(root))
		return "body: must be a JSON object";
	if (admin_body_other(root, fields) != NULL)
		return "body: unknown field";
	if ((v = json_object_get(root, "attachments")) != NULL) {
		q->set_atts = 1;
		q->atts = atts;
		if ((bad = att_ids_json(v, atts, &q->natts)) != NULL)
			return bad;
	}
	sv = json_object_get(root, "shortcut");
	tv = json_object_get(root, "text");
	if (!json_is_string(sv))
		return "shortcut: must be a string";
	if (!json_is_string(tv))
		return "text: must be a string";
	q->shortcut = json_string_value(sv);
	q->text = json_string_value(tv);
	if (strlen(q->shortcut) != json_string_length(sv))
		return "shortcut: must not contain NUL characters";
	if (strlen(q->text) != json_string_length(tv))
		return "text: must not contain NUL characters";
	return st_canned_invalid(q->shortcut, q->text);
}

/* POST (id NULL) and PUT: the body checked, then storaged. */
static void
canned_put(struct conn *c, struct http_request *req, const char *id,
    const struct admin_reply *how)
{
	struct st_str atts[ST_MSG_ATTS_MAX];
	struct st_canned_put_req q;
	const char *bad;
	json_t *root;

	if ((root = admin_json_body(c, req)) == NULL)
		return;
	memset(&q, 0, sizeof(q));
	q.id = id != NULL ? id : "";
	if ((bad = canned_body(root, &q, atts)) != NULL)
		conn_send_error(c, 400, admin_headers, bad);
	else
		admin_ask_reply(c, &q, how);
	json_decref(root);
}

/* The route's id: a canned reply's shape, else 404 (none has it). */
static const char *
canned_id(struct conn *c, const struct route_match *m)
{
	return admin_path_id(c, m, st_canned_id_valid,
	    "Canned reply not found");
}

void
canned_create(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	canned_put(c, req, NULL, &created);
}

void
canned_update(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *id;

	if ((id = canned_id(c, m)) != NULL)
		canned_put(c, req, id, &updated);
}

ADMIN_ID_ROUTE(canned_delete, canned_id(c, m), PROTO_ST_CANNED_DELETE, 204,
    NULL, canned_errors, 1)
