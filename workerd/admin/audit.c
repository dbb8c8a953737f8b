/*
 * The audit log in the admin API (issue 22), owners only (the route's
 * role):
 *
 *	GET /v1/admin/audit[?limit=&cursor=]	{"entries":[...], "total",
 *						"nextCursor"}, newest first
 *
 * An entry is {at, action, target, who: {kind, id, user}}. storaged
 * writes them itself, in the transaction of the change each records
 * (storaged/auditstore.c's table). An export is a series of reads, so
 * the worker records it: GET /v1/admin/export runs audit_export_get,
 * which notes "export" (ST_AUDIT_NOTE: storaged refuses the note of a
 * conversation the organisation does not have, so a 404 is never in the
 * log) and only then starts it; a HEAD is no export and notes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "keymsg.h"
#include "log.h"
#include "workerd.h"

static const char *
who_kind_name(uint8_t kind)
{
	switch (kind) {
	case ST_WHO_KEY:	return "install_key";
	case ST_WHO_SESSION:	return "session";
	case ST_WHO_CTL:	return "parleyctl";
	case ST_WHO_ORGKEY:	return "api_key";
	/* Nobody signed in: an invitation accepted (user.join). */
	case ST_WHO_PUBLIC:	return "invitation";
	}
	return "unknown";
}

static json_t *
entry_json(const void *item, int *status)
{
	const struct st_audit_entry *e = item;
	json_t *v, *who;
	int err = 0;

	if ((v = json_object()) == NULL)
		return NULL;
	if ((who = json_object()) != NULL) {
		exprow_oset(who, "kind", exprow_text(who_kind_name(e->who_kind)),
		    &err);
		exprow_oset(who, "id", exprow_text(e->who_id), &err);
		exprow_oset(who, "user", e->user[0] != '\0' ?
		    exprow_text(e->user) : json_null(), &err);
		who = exprow_odone(who, err);
	}
	err = 0;
	exprow_oset(v, "at", exprow_ms(e->at), &err);
	exprow_oset(v, "action", exprow_text(e->action), &err);
	exprow_oset(v, "target", e->target[0] != '\0' ?
	    exprow_text(e->target) : json_null(), &err);
	exprow_oset(v, "who", who, &err);
	return exprow_odone(v, err);
}

static json_t *
page_json(const void *rep, int *status)
{
	const struct st_audit_page *p = rep;

	return admin_page_json("entries", ADMIN_ITEMS_JSON(p->entries, p->n,
	    entry_json), p->total, p->next_cursor);
}

ADMIN_VIEW_ROUTE(audit_get, PROTO_ST_AUDIT_LIST, page_json, admin_list_errors,
    1)

/* A note under way: what runs once it is recorded. */
struct note {
	void (*cb)(struct conn *, int ok);
};

static void
noted(const struct storec_result *r, void *arg)
{
	/* An export's conversation none of the organisation's: not noted. */
	static const struct storec_answer note_errors[] = {
		{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
		{ 0, 0, NULL },
	};
	struct conn *c = arg;
	struct note *n = c->hctx;
	void (*cb)(struct conn *, int) = n->cb;
	union st_any none;

	free(n);
	conn_let_go(c);
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_AUDIT_NOTE, &none) == 0) {
		st_rep_free(PROTO_ST_AUDIT_NOTE, &none);
		cb(c, 1);
		return;
	}
	/* Not recorded: not done either. */
	admin_answer(c, r, PROTO_ST_AUDIT_NOTE, 200, NULL, note_errors);
	cb(c, 0);
}

void
audit_note(struct conn *c, const char *action, const char *target,
    void (*cb)(struct conn *, int ok))
{
	struct st_audit_note_req q = { action, target };
	struct note *n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		log_warn("audit note");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		cb(c, 0);
		return;
	}
	n->cb = cb;
	if (admin_ask_held(c, n, free, PROTO_ST_AUDIT_NOTE, &q, noted) < 0)
		cb(c, 0);
}

/* The export, once its note is in the log; the route was export's. */
static void
export_noted(struct conn *c, int ok)
{
	struct route_match m;

	if (!ok)
		return;
	memset(&m, 0, sizeof(m));
	export_get(c, c->req, &m);
}

/*
 * Noted only when it will run: bad parameters are export_get's 400, too
 * many of the organisation's exports at once its 503, with nothing noted.
 * The target is the one conversation exported, if any.
 */
void
audit_export_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct export_params ep;

	if (export_params_parse(req->query, &ep) < 0 ||
	    req->method == HTTP_HEAD || credwatch_downloads_full(c)) {
		export_get(c, req, m);
		return;
	}
	audit_note(c, "export", ep.conv, export_noted);
}
