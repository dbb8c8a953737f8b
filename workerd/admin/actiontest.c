/*
 * An action's dry run in the admin API (admins and owners):
 *
 *	POST /v1/admin/actions/:action_id/test
 *		{"arguments": {...}[, "visitor_external_id": "..."]
 *		 [, "visitor_email": "..."][, "confirm": true]}
 *		-> 200 {"ok", "error", "request": {"method","url","body"},
 *		   "response": {"status","body","cut","duration_ms"}}
 *
 * The call a turn would make, made now with sample arguments, whether the
 * action is enabled or not: the arguments checked against its schema, its
 * templates filled (the sample visitor's id and email standing for a
 * verified visitor's and a signed email's), its API called under the same
 * address policy, timeout and answer cap (actions/call.c). It is a real
 * call, with the action's secret headers: an action that changes data
 * runs only with "confirm": true (400 without, nothing called), and each
 * call is noted in the audit log first ("action.test" on the action's
 * id, by who asks: ST_AUDIT_NOTE; no argument, visitor or header is in
 * it), not made when the note cannot be. Nothing else is stored. What
 * went wrong is the answer's "error" (200: the dry run ran), with
 * "request" and "response" null where it stopped before them. The
 * headers' values are sent, never shown (one the API's answer repeats,
 * as an API that echoes its request does, is shown as "[hidden]":
 * answer_hidden); so is an Idempotency-Key of the run's own (each run a
 * new call). At most DRY_RUNS_MAX run at
 * once in a worker, DRY_RUNS_ORG_MAX of them one organisation's (503
 * past them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actionmsg.h"
#include "admin.h"
#include "call.h"
#include "log.h"
#include "orgslots.h"
#include "resp.h"
#include "schema.h"
#include "template.h"
#include "workerd.h"

#define WHY_MAX		512
#define DRY_RUNS_MAX	16	/* in flight in this worker */
#define DRY_RUNS_ORG_MAX 4	/* of them, one organisation's */
#define DRY_AUDIT	"action.test"	/* its audit log entry's action */
#define DRY_UNCONFIRMED	"This action changes data: its test calls its " \
	"API for real. Send \"confirm\": true to run it"
#define HIDDEN		"[hidden]"	/* a header's value in an answer */
/* Values shorter are left: too short to be secret, too common to find. */
#define HIDDEN_MIN	4

/* A dry run under way: what it was given, its call in flight. */
struct dry_run {
	json_t *args;		/* the sample arguments, an object */
	char *vid;		/* the sample visitor's id, or NULL */
	char *email;		/* the sample visitor's email, or NULL */
	char key[ACTION_IDEM_HEX + 1];	/* its Idempotency-Key (d->q's) */
	int confirm;		/* "confirm": true */
	char id[ST_ACTION_ID_LEN + 1];	/* the action's */
	json_t *request;	/* what was sent, once known */
	/* While the audit note is written: the call to make, and its strings. */
	struct st_actions acts;	/* the action (its headers too) */
	struct action_call_req q;	/* pointing at them, url and body */
	char *url, *body;
	struct action_call *call;
	char org[ST_WHO_ORG_MAX + 1];	/* who asks's: its slot in dry_runs */
	/*
	 * The headers' lines, kept past the request (which lets them go
	 * when the call starts) to hide their values in the answer
	 * (answer_hidden); wiped when it is given.
	 */
	char *headers;
};

/*
 * Each holds a call to an API anyone may name, its answer (up to the
 * action's max_response_bytes) and the reply made of it.
 */
static struct orgslots dry_runs = ORGSLOTS_INIT(DRY_RUNS_MAX,
    DRY_RUNS_ORG_MAX);

/* The call's request let go (it was started, or will not be). */
static void
dry_req_free(struct dry_run *d)
{
	st_rep_free(PROTO_ST_ACTION_TOOLS, &d->acts);	/* headers wiped */
	memset(&d->acts, 0, sizeof(d->acts));
	memset(&d->q, 0, sizeof(d->q));
	free(d->url);
	free(d->body);
	d->url = d->body = NULL;
}

static void
dry_free(void *p)
{
	struct dry_run *d = p;

	action_call_cancel(d->call);
	orgslots_put(&dry_runs, d->org);
	dry_req_free(d);
	if (d->headers != NULL) {
		explicit_bzero(d->headers, strlen(d->headers));
		free(d->headers);
	}
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

/*
 * The next of headers' values ("Name: value\n" lines) from *at into *v
 * and *vlen (a line without ':' has none), *at moved past its line: 1,
 * or 0 past the last line.
 */
static int
header_value(const char **at, const char **v, size_t *vlen)
{
	const char *line = *at, *end, *c;

	if (*line == '\0')
		return 0;
	end = line + strcspn(line, "\n");
	*at = end + (*end != '\0');
	if ((c = memchr(line, ':', (size_t)(end - line))) == NULL)
		c = end;
	else
		for (c++; c < end && *c == ' '; c++)
			;
	*v = c;
	*vlen = (size_t)(end - c);
	return 1;
}

/*
 * The length of the longest end of s's len bytes that is value's first
 * part (of its vlen bytes, not all of them), 0 for none.
 */
static size_t
tail_begins(const char *s, size_t len, const char *value, size_t vlen)
{
	size_t k;

	for (k = vlen - 1 < len ? vlen - 1 : len; k > 0; k--)
		if (memcmp(s + len - k, value, k) == 0)
			return k;
	return 0;
}

/*
 * An answer cut at the action's max_response_bytes may end inside one of
 * headers' values (of HIDDEN_MIN bytes at least), showing its first
 * part: the longest such end goes, as HIDDEN when it is HIDDEN_MIN bytes
 * or more, else dropped (too short to say what it was part of).
 */
static void
cut_tail(struct buf *b, const char *headers)
{
	const char *at, *v;
	size_t vlen, k, longest = 0;

	for (at = headers; header_value(&at, &v, &vlen);)
		if (vlen >= HIDDEN_MIN &&
		    (k = tail_begins(b->data, b->len, v, vlen)) > longest)
			longest = k;
	b->len -= longest;
	if (longest >= HIDDEN_MIN)
		buf_adds(b, HIDDEN);
}

/*
 * The answer's len bytes of body (cut: at the action's
 * max_response_bytes) with every one of headers' values (HIDDEN_MIN
 * bytes at least) put as HIDDEN: the values are write-only, and an API
 * that echoes its request's headers would show them to whoever tests the
 * action. Its bytes (malloc'd, NUL-ended; *outlen of them before the
 * NUL), or NULL out of memory.
 */
static char *
answer_hidden(const char *body, size_t len, int cut, const char *headers,
    size_t *outlen)
{
	const char *hv, *v, *at;
	struct buf cur, next;
	size_t vlen, off;

	buf_init(&cur);
	buf_add(&cur, body, len);
	/* An empty answer has nothing to hide; a failed copy ends in NULL. */
	for (hv = headers; cur.len > 0 && !cur.err &&
	    header_value(&hv, &v, &vlen);) {
		/* A value the answer does not hold costs it no copy. */
		if (vlen < HIDDEN_MIN ||
		    (at = memmem(cur.data, cur.len, v, vlen)) == NULL)
			continue;
		buf_init(&next);
		for (off = 0; at != NULL; at = memmem(cur.data + off,
		    cur.len - off, v, vlen)) {
			buf_add(&next, cur.data + off, (size_t)(at - cur.data) -
			    off);
			buf_adds(&next, HIDDEN);
			off = (size_t)(at - cur.data) + vlen;
		}
		buf_add(&next, cur.data + off, cur.len - off);
		buf_free(&cur);
		cur = next;
	}
	if (cut && cur.len > 0 && !cur.err)
		cut_tail(&cur, headers);
	*outlen = cur.len;
	return buf_cstr(&cur);
}

static void
dry_called(void *arg, const struct action_call_result *r)
{
	struct conn *c = arg;
	struct dry_run *d = conn_take(c);
	json_t *resp = NULL;
	json_t *req = d->request;
	char *shown = NULL;
	size_t slen = 0;

	d->call = NULL;
	d->request = NULL;
	/* Cut at the answer cap: up to its last whole character. */
	if (r->err == ACALL_OK && (shown = answer_hidden(r->body, r->cut ?
	    proto_utf8_whole(r->body, r->len) : r->len, r->cut, d->headers,
	    &slen)) != NULL)
		resp = json_pack("{s:i, s:s%, s:b, s:I}", "status", r->status,
		    "body", shown, slen, "cut", r->cut, "duration_ms",
		    (json_int_t)r->duration_ms);
	free(shown);
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

/* The dry run ends before its call, with why (the answer's error). */
static void
dry_stop(struct conn *c, const char *why)
{
	struct dry_run *d = conn_take(c);

	dry_answer(c, why, d->request, NULL);
	d->request = NULL;
	dry_free(d);
}

/*
 * Action a's call for d's arguments and visitor into d (q, url, body, and
 * the request shown): NULL, or why it is not made (static, or why's).
 */
static const char *
dry_prepare(struct conn *c, struct dry_run *d, const struct st_action *a,
    char why[WHY_MAX])
{
	struct tpl_visitor v = { d->vid, d->email };
	const char *bad = NULL;
	json_t *schema;

	if ((schema = json_loads(a->parameters, 0, NULL)) == NULL)
		bad = "its parameters do not read as JSON";
	else if (schema_validate(schema, d->args, why, WHY_MAX) < 0)
		bad = why;
	else if (action_call_req_of(&d->q, a, d->args, &v,
	    action_private_ok(c->who.org), &d->url, &d->body, &bad) == 0) {
		/* Each dry run a call of its own: a key of its own. */
		action_idem_key_random(d->key);
		d->q.idem_key = d->key;
	}
	json_decref(schema);
	if (bad == NULL && (d->request = json_pack("{s:s, s:s, s:o}",
	    "method", st_method_name(a->method), "url", d->url, "body",
	    d->body != NULL ? json_string(d->body) : json_null())) == NULL)
		bad = "the call could not be started";
	return bad;
}

/* The note in the audit log written: the call made (or the answer why not). */
static void
dry_noted(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct dry_run *d = c->hctx;
	union st_any none;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_AUDIT_NOTE, &none) < 0) {
		/* Not on the record: not called either. */
		dry_free(conn_take(c));
		admin_answer(c, r, PROTO_ST_AUDIT_NOTE, 200, NULL, NULL);
		return;
	}
	st_rep_free(PROTO_ST_AUDIT_NOTE, &none);
	if ((d->headers = strdup(d->q.headers != NULL ? d->q.headers :
	    "")) == NULL) {
		dry_stop(c, "the call could not be started");
		return;
	}
	d->call = action_call_start(&d->q, dry_called, c);
	dry_req_free(d);	/* copied by the call */
	if (d->call == NULL)
		dry_stop(c, "the call could not be started");
}

/* The call noted in who asks's audit log before it is made. */
static void
dry_note(struct conn *c, struct dry_run *d)
{
	struct st_audit_note_req q = { DRY_AUDIT, d->id };

	if (storec_ask(&c->who, PROTO_ST_AUDIT_NOTE, &q, dry_noted, c,
	    &c->sreq) < 0) {
		dry_free(conn_take(c));
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	}
}

/* The action as storaged keeps it: checked, filled, noted and called. */
static void
dry_fetched(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct dry_run *d = c->hctx;
	char why[WHY_MAX];
	const char *bad;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ACTION_TOOLS, &d->acts) < 0) {
		memset(&d->acts, 0, sizeof(d->acts));
		dry_free(conn_take(c));
		admin_answer(c, r, PROTO_ST_ACTION_TOOLS, 200, NULL,
		    dry_errors);
		return;
	}
	/* storaged says `not found` for none: one is what it answers. */
	if (d->acts.n != 1) {
		dry_stop(c, "no such action");
		return;
	}
	/* A real call that acts: only when asked for in so many words. */
	if (d->acts.actions[0].changes_data && !d->confirm) {
		dry_free(conn_take(c));
		conn_send_error(c, 400, admin_headers, DRY_UNCONFIRMED);
		return;
	}
	if ((bad = dry_prepare(c, d, &d->acts.actions[0], why)) != NULL) {
		dry_stop(c, bad);
		return;
	}
	dry_note(c, d);
}

void
actions_test(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_str id;
	struct st_action_tools_req q;
	struct dry_run *d;
	json_t *root, *args, *vid, *email, *confirm;
	const char *bad = NULL;

	if ((id.s = admin_path_id(c, m, st_action_id_valid,
	    "Action not found")) == NULL)
		return;
	if ((root = admin_json_body(c, req)) == NULL)
		return;
	args = json_object_get(root, "arguments");
	vid = json_object_get(root, "visitor_external_id");
	email = json_object_get(root, "visitor_email");
	confirm = json_object_get(root, "confirm");
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
	else if (confirm != NULL && !json_is_boolean(confirm))
		bad = "confirm: must be a boolean";
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
	else {
		strlcpy(d->org, c->who.org, sizeof(d->org));
		strlcpy(d->id, id.s, sizeof(d->id));
		d->confirm = json_is_true(confirm);
	}
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
