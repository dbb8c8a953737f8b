/*
 * An action's dry run in the admin API (admins and owners):
 *
 *	POST /v1/admin/actions/:action_id/test
 *		{"arguments": {...}[, "visitor_external_id": "..."]
 *		 [, "visitor_email": "..."]}
 *		-> 200 {"ok", "error", "request": {"method","url","body"},
 *		   "response": {"status","body","cut","duration_ms"}}
 *
 * The call a turn would make, made now with sample arguments, whether the
 * action is enabled or not: the arguments checked against its schema, its
 * templates filled (the sample visitor's id and email standing for a
 * verified visitor's and a signed email's), its API called under the same
 * address policy, timeout and answer cap (actions/call.c). Nothing is stored. What went wrong is the
 * answer's "error" (200: the dry run ran), with "request" and "response"
 * null where it stopped before them. The headers' values are sent, never
 * shown. At most DRY_RUNS_MAX run at once in a worker, DRY_RUNS_ORG_MAX
 * of them one organisation's (503 past them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actionmsg.h"
#include "admin.h"
#include "call.h"
#include "log.h"
#include "orgslots.h"
#include "schema.h"
#include "template.h"
#include "workerd.h"

#define WHY_MAX		512
#define DRY_RUNS_MAX	16	/* in flight in this worker */
#define DRY_RUNS_ORG_MAX 4	/* of them, one organisation's */

/* A dry run under way: what it was given, its call in flight. */
struct dry_run {
	json_t *args;		/* the sample arguments, an object */
	char *vid;		/* the sample visitor's id, or NULL */
	char *email;		/* the sample visitor's email, or NULL */
	json_t *request;	/* what was sent, once known */
	struct action_call *call;
	char org[ST_WHO_ORG_MAX + 1];	/* who asks's: its slot in dry_runs */
};

/*
 * Each holds a call to an API anyone may name, its answer (up to the
 * action's max_response_bytes) and the reply made of it.
 */
static struct orgslots dry_runs = ORGSLOTS_INIT(DRY_RUNS_MAX,
    DRY_RUNS_ORG_MAX);

static void
dry_free(void *p)
{
	struct dry_run *d = p;

	action_call_cancel(d->call);
	orgslots_put(&dry_runs, d->org);
	json_decref(d->args);
	json_decref(d->request);
	free(d->vid);
	free(d->email);
	free(d);
}

/* The answer: error NULL for none; request and response taken. */
static void
dry_answer(struct conn *c, const char *error, json_t *request,
    json_t *response)
{
	json_t *o;

	o = json_pack("{s:b, s:o, s:o, s:o}", "ok", error == NULL,
	    "error", error != NULL ? json_string(error) : json_null(),
	    "request", request != NULL ? request : json_null(),
	    "response", response != NULL ? response : json_null());
	if (o == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	conn_send_json(c, 200, admin_headers, o);
}

static void
dry_called(void *arg, const struct action_call_result *r)
{
	struct conn *c = arg;
	struct dry_run *d = conn_take(c);
	json_t *resp = NULL;
	json_t *req = d->request;

	d->call = NULL;
	d->request = NULL;
	/* Cut at the answer cap: up to its last whole character. */
	if (r->err == ACALL_OK)
		resp = json_pack("{s:i, s:s%, s:b, s:I}", "status", r->status,
		    "body", r->body, r->cut ? proto_utf8_whole(r->body, r->len) :
		    r->len, "cut", r->cut, "duration_ms",
		    (json_int_t)r->duration_ms);
	/* An answer that is not UTF-8 cannot be a JSON string: said so. */
	if (r->err == ACALL_OK && resp == NULL)
		resp = json_pack("{s:i, s:s, s:b, s:I}", "status", r->status,
		    "body", "(the answer is not UTF-8 text)", "cut", r->cut,
		    "duration_ms", (json_int_t)r->duration_ms);
	dry_answer(c, r->err == ACALL_OK ? NULL : r->error, req, resp);
	dry_free(d);
}

static const struct storec_answer dry_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Action not found" },
	{ 0, 0, NULL },
};

/* The action as storaged keeps it: checked, filled and called. */
static void
dry_fetched(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct dry_run *d = c->hctx;
	struct st_actions l;
	const struct st_action *a;
	struct tpl_visitor v = { d->vid, d->email };
	struct action_call_req q;
	char why[WHY_MAX];
	const char *bad;
	char *url = NULL, *body = NULL;
	json_t *schema;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ACTION_TOOLS, &l) < 0) {
		dry_free(conn_take(c));
		admin_answer(c, r, PROTO_ST_ACTION_TOOLS, 200, NULL,
		    dry_errors);
		return;
	}
	/* storaged says `not found` for none: one is what it answers. */
	if (l.n != 1) {
		st_rep_free(PROTO_ST_ACTION_TOOLS, &l);
		dry_free(conn_take(c));
		dry_answer(c, "no such action", NULL, NULL);
		return;
	}
	a = &l.actions[0];
	bad = NULL;
	if ((schema = json_loads(a->parameters, 0, NULL)) == NULL)
		bad = "its parameters do not read as JSON";
	else if (schema_validate(schema, d->args, why, sizeof(why)) < 0)
		bad = why;
	else
		(void)action_call_req_of(&q, a, d->args, &v,
		    action_private_ok(c->who.org), &url, &body, &bad);
	json_decref(schema);
	if (bad == NULL) {
		d->request = json_pack("{s:s, s:s, s:o}", "method",
		    st_method_name(a->method), "url", url, "body",
		    body != NULL ? json_string(body) : json_null());
		if (d->request == NULL ||
		    (d->call = action_call_start(&q, dry_called, c)) == NULL)
			bad = "the call could not be started";
	}
	free(url);
	free(body);
	st_rep_free(PROTO_ST_ACTION_TOOLS, &l);
	if (bad != NULL) {
		d = conn_take(c);
		dry_answer(c, bad, d->request, NULL);
		d->request = NULL;
		dry_free(d);
	}
}

void
actions_test(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_str id;
	struct st_action_tools_req q;
	struct dry_run *d;
	json_t *root, *args, *vid, *email;
	const char *bad = NULL;

	if ((id.s = admin_path_id(c, m, st_action_id_valid,
	    "Action not found")) == NULL)
		return;
	if ((root = admin_json_body(c, req)) == NULL)
		return;
	args = json_object_get(root, "arguments");
	vid = json_object_get(root, "visitor_external_id");
	email = json_object_get(root, "visitor_email");
	if (!json_is_object(root))
		bad = "body: must be a JSON object";
	else if (args != NULL && !json_is_object(args))
		bad = "arguments: must be an object";
	else if (vid != NULL && (!json_is_string(vid) ||
	    json_string_length(vid) == 0 || json_string_length(vid) > 128 ||
	    strlen(json_string_value(vid)) != json_string_length(vid)))
		bad = "visitor_external_id: must be a string of 1 to 128 bytes, "
		    "no NUL";
	else if (email != NULL && (!json_is_string(email) ||
	    !st_email_valid(json_string_value(email))))
		bad = "visitor_email: not a valid address";
	if (bad != NULL) {
		json_decref(root);
		conn_send_error(c, 400, admin_headers, bad);
		return;
	}
	switch (orgslots_take(&dry_runs, c->who.org)) {
	case ORGSLOTS_FULL:
		bad = "Too many dry runs under way; try again";
		break;
	case ORGSLOTS_ORG_FULL:
		bad = "Too many of this organization's dry runs under way; "
		    "try again";
		break;
	case ORGSLOTS_TAKEN:
		break;
	}
	if (bad != NULL) {
		json_decref(root);
		conn_send_error(c, 503, admin_headers, bad);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		orgslots_put(&dry_runs, c->who.org);
	else
		strlcpy(d->org, c->who.org, sizeof(d->org));
	if (d == NULL ||
	    (d->args = args != NULL ? json_incref(args) : json_object()) ==
	    NULL || (vid != NULL && (d->vid = strdup(json_string_value(vid))) ==
	    NULL) || (email != NULL &&
	    (d->email = strdup(json_string_value(email))) == NULL)) {
		if (d != NULL)
			dry_free(d);
		json_decref(root);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	json_decref(root);
	memset(&q, 0, sizeof(q));
	strlcpy(q.org, c->who.org, sizeof(q.org));
	q.ids = &id;
	q.n = 1;
	q.disabled_too = 1;
	conn_hold(c, d, dry_free);
	if (storec_ask(NULL, PROTO_ST_ACTION_TOOLS, &q, dry_fetched, c,
	    &c->sreq) < 0) {
		dry_free(conn_take(c));
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	}
}
