/*
 * A visitor's data on request (issue 22, GDPR articles 15 and 17), admins
 * and owners (the routes' role):
 *
 *	GET /v1/admin/contacts/:id/export	everything stored about the
 *		contact as one JSON document: {"contact", "conversations"
 *		(each with its "messages"), "sessions", "submissions"}
 *	DELETE /v1/admin/contacts/:id[?erase=all]	the contact alone (its
 *		conversations and sessions kept, unlinked), or with them
 *		all: 200 {"erasing": false} when done, 202 {"erasing": true}
 *		when storaged's sweep finishes it
 *	GET /v1/admin/contacts/:id/erasure	200 {"erasing": true} while
 *		that sweep has work left, its conversations' messages
 *		included, {"erasing": false} for a contact none is under
 *		way for; 404 once nothing of it is left (as for any id of
 *		nothing, or another organisation's)
 *
 * The export is streamed as export.c streams, one storaged page at a
 * time, the next asked for only once the client has taken most of the
 * last: the contact (ST_CONTACT_GET), a page of its conversations at a
 * time (ST_CONTACT_CONVS, in id order), their messages a page at a time
 * across them (ST_MSG_PAGES), then the visitor sessions naming it twice over
 * (ST_CONTACT_SESSIONS: first as sessions, then their submissions). A
 * contact that exists is noted in the audit log ("contact.export")
 * before a byte goes out; an erasure is recorded by storaged itself
 * ("contact.erase", "contact.delete"), the id alone. The export ends
 * when the credential it was asked with ends (credwatch.c), as
 * export.c's: a 401 before its first byte, cut after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "workerd.h"

enum cx_phase { CX_CONVS, CX_SESSIONS, CX_SUBMISSIONS };

struct cexport {
	struct conn *c;
	char id[ST_ID_HEX + 1];
	/* The page of conversations in hand, as ST_CONTACT_CONVS gave it. */
	char (*ids)[ST_ID_HEX + 1];
	char **heads;		/* each one's JSON, its last '}' cut off */
	uint32_t n, cur;
	uint32_t from;		/* the next message of ids[cur] */
	int open;		/* ids[cur]'s head written, its array not closed */
	uint64_t convs;		/* conversations written */
	int convs_done;		/* no page of them left */
	uint32_t items;		/* written in the array being written */
	enum cx_phase phase;
	char cursor[ST_CURSOR_MAX + 1];
	int started, head_only;
	struct buf page;
	struct credwatch watch;	/* its credential's end */
};

static void cx_next(struct cexport *);

static const struct storec_answer contact_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Contact not found" },
	{ PROTO_E_INVALID, 400, "Invalid contactId" },
	{ 0, 0, NULL },
};

/* ------------------------------------------------------------ the stream */

/* The page of conversations in hand, let go of. */
static void
page_free(struct cexport *x)
{
	proto_strv_free(x->heads, x->n);
	free(x->ids);
	x->heads = NULL;
	x->ids = NULL;
	x->n = x->cur = 0;
}

static void
cx_free(struct cexport *x)
{
	credwatch_stop(&x->watch);
	page_free(x);
	buf_free(&x->page);
	free(x);
}

static void
cx_abort(struct conn *c)
{
	struct cexport *x = c->hctx;

	if (x == NULL)
		return;
	conn_drop_handler(&x->c, x);
	cx_free(x);
}

/* The credential x was asked with ended (credwatch). */
static void
cx_gone(void *arg)
{
	struct cexport *x = arg;
	struct conn *c = x->c;
	int started = x->started;

	conn_drop_handler(&x->c, x);
	cx_free(x);
	credwatch_answer(c, started, "contact export");
}

/* Before the head: an answer of its own; after: a broken stream. */
static void
cx_fail(struct cexport *x, const struct storec_result *r, const char *what)
{
	struct conn *c = x->c;
	const char *msg = "Internal server error";
	int status = 500, started = x->started;

	if (r != NULL)
		status = storec_http_error(r, contact_errors, "contact export",
		    &msg);
	else
		log_warnx("contact export: %s", what);
	conn_drop_handler(&x->c, x);
	cx_free(x);
	if (!started)
		conn_send_error(c, status, admin_headers, msg);
	else
		conn_close(c, "contact export cut");
}

/* A request that could not be sent: storage unavailable. */
static void
cx_unavailable(struct cexport *x, const char *what)
{
	struct storec_result r;

	memset(&r, 0, sizeof(r));
	r.status = STOREC_UNAVAILABLE;
	r.message = "";
	cx_fail(x, &r, what);
}

/* v (stolen) onto the page, after a comma unless first in its array. */
static int
cx_item(struct cexport *x, json_t *v)
{
	char *s;

	if (v == NULL)
		return -1;
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL)
		return -1;
	if (x->items++ > 0)
		buf_adds(&x->page, ",");
	buf_adds(&x->page, s);
	free(s);
	return 0;
}

static void
cx_drained(struct conn *c)
{
	struct cexport *x = c->hctx;

	if (x != NULL)
		cx_next(x);
}

/* The page out as a chunk; the next one now or once the client caught up. */
static void
cx_pump(struct cexport *x, int err)
{
	if (err || x->page.err) {
		cx_fail(x, NULL, "cannot encode the document");
		return;
	}
	if (x->page.len > x->page.off)
		conn_stream_write(x->c, x->page.data + x->page.off,
		    x->page.len - x->page.off);
	x->page.off = x->page.len = 0;
	if (conn_out_pending(x->c) < CONN_DRAIN_LOW)
		cx_next(x);
	else
		conn_watch_drain(x->c, cx_drained);
}

/* The reply of type into rep: 0, or -1 with the export failed. */
static int
cx_reply(struct cexport *x, const struct storec_result *r, uint16_t type,
    void *rep)
{
	if (r->status != STOREC_OK) {
		cx_fail(x, r, proto_msg_name(type));
		return -1;
	}
	if (storec_decode(r, type, rep) < 0) {
		cx_fail(x, NULL, "a reply that does not decode");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the parts */

/* Conversation i's JSON with its link, its closing brace cut off. */
static char *
conv_head(const struct st_contact_convs_rep *g, uint32_t i)
{
	json_t *v;
	char *s;
	int err = 0;

	if ((v = admin_conv_json(&g->convs[i])) == NULL)
		return NULL;
	contact_link_json(v, &g->links[i], &err);
	s = err ? NULL : json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s != NULL && strlen(s) > 2)
		s[strlen(s) - 1] = '\0';
	return s;
}

/* The document's head: the contact's JSON. 0, or -1. */
static int
cx_contact(struct cexport *x, const struct st_contact *ct)
{
	json_t *v;
	char *s;

	if ((v = contact_json(ct)) == NULL)
		return -1;
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL)
		return -1;
	buf_adds(&x->page, "{\"contact\":");
	buf_adds(&x->page, s);
	buf_adds(&x->page, ",\"conversations\":[");
	free(s);
	return 0;
}

/* A page of conversations in hand: their ids and heads. */
static int
convs_take(struct cexport *x, const struct st_contact_convs_rep *g)
{
	uint32_t i;

	page_free(x);
	if (g->n > 0 && ((x->ids = calloc(g->n, sizeof(*x->ids))) == NULL ||
	    (x->heads = calloc(g->n, sizeof(*x->heads))) == NULL))
		return -1;
	for (i = 0; i < g->n; i++) {
		strlcpy(x->ids[i], g->convs[i].id, sizeof(x->ids[i]));
		if ((x->heads[x->n++] = conv_head(g, i)) == NULL)
			return -1;
	}
	strlcpy(x->cursor, g->next_cursor, sizeof(x->cursor));
	x->convs_done = x->cursor[0] == '\0';
	return 0;
}

static void
convs_got(const struct storec_result *r, void *arg)
{
	struct cexport *x = arg;
	struct st_contact_convs_rep g;
	int err;

	if (cx_reply(x, r, PROTO_ST_CONTACT_CONVS, &g) < 0)
		return;
	err = convs_take(x, &g) < 0;
	st_rep_free(PROTO_ST_CONTACT_CONVS, &g);
	cx_pump(x, err);
}

/* Noted in the audit log: the document starts. */
static void
noted(const struct storec_result *r, void *arg)
{
	struct cexport *x = arg;
	union st_any none;
	char hdrs[256];

	if (cx_reply(x, r, PROTO_ST_AUDIT_NOTE, &none) < 0)
		return;
	st_rep_free(PROTO_ST_AUDIT_NOTE, &none);
	snprintf(hdrs, sizeof(hdrs), "%sContent-Disposition: attachment; "
	    "filename=\"contact-%s.json\"\r\n", admin_headers, x->id);
	x->started = 1;
	if (x->head_only) {
		conn_stream_head(x->c, 200, hdrs, "application/json");
		conn_drop_handler(&x->c, x);
		cx_free(x);
		return;
	}
	if (conn_stream_start(x->c, 200, hdrs, "application/json") < 0) {
		conn_drop_handler(&x->c, x);
		cx_free(x);
		return;
	}
	cx_pump(x, 0);
}

/* The contact is there: noted in the audit log before a byte goes out. */
static void
contact_got(const struct storec_result *r, void *arg)
{
	struct cexport *x = arg;
	struct st_contact_get_rep g;
	struct st_audit_note_req q = { "contact.export", x->id };
	int err;

	if (cx_reply(x, r, PROTO_ST_CONTACT_GET, &g) < 0)
		return;
	err = cx_contact(x, &g.contact) < 0;
	st_rep_free(PROTO_ST_CONTACT_GET, &g);
	if (err)
		cx_fail(x, NULL, "cannot encode the contact");
	else if (storec_ask(&x->c->who, PROTO_ST_AUDIT_NOTE, &q, noted, x,
	    &x->c->sreq) < 0)
		cx_unavailable(x, "ST_AUDIT_NOTE");
}

/* Conversation cur's head, its messages' array opened (once). */
static void
conv_open(struct cexport *x)
{
	if (x->open)
		return;
	if (x->convs++ > 0)
		buf_adds(&x->page, ",");
	buf_adds(&x->page, x->heads[x->cur]);
	buf_adds(&x->page, ",\"messages\":[");
	x->items = 0;
	x->open = 1;
}

/* Conversations before index to are written whole: on to that one. */
static void
conv_close_to(struct cexport *x, uint32_t to)
{
	while (x->cur < to) {
		conv_open(x);
		buf_adds(&x->page, "]}");
		x->open = 0;
		x->cur++;
		x->from = 0;
	}
}

/* The conversation of the page from cur on named id; x->n when none. */
static uint32_t
conv_index(const struct cexport *x, const char *id)
{
	uint32_t i;

	for (i = x->cur; i < x->n; i++)
		if (strcmp(x->ids[i], id) == 0)
			return i;
	return x->n;
}

/*
 * ST_MSG_PAGES: the messages of ids[cur] on, from x->from, each one's
 * in turn; a conversation deleted meanwhile has none, and is written
 * with none.
 */
static void
msgs_got(const struct storec_result *r, void *arg)
{
	struct cexport *x = arg;
	struct st_msg_pages_rep mp;
	uint32_t i, j, base = x->cur, from = x->from;
	int err = 0;

	if (cx_reply(x, r, PROTO_ST_MSG_PAGES, &mp) < 0)
		return;
	for (i = 0; i < mp.n && !err; i++) {
		if ((j = conv_index(x, mp.msgs[i].conv_id)) == x->n) {
			st_rep_free(PROTO_ST_MSG_PAGES, &mp);
			cx_fail(x, NULL, "a message of no conversation asked");
			return;
		}
		conv_close_to(x, j);
		conv_open(x);
		err = cx_item(x, admin_msg_json(&mp.msgs[i])) < 0;
	}
	j = base + exprow_pages_next(x->n - base, &from, mp.next_conv,
	    mp.next_from);
	st_rep_free(PROTO_ST_MSG_PAGES, &mp);
	if (j < x->cur) {
		/* Its messages went past where it says the next page starts. */
		cx_fail(x, NULL, "a page of messages that does not follow on");
		return;
	}
	conv_close_to(x, j);
	x->from = j < x->n ? from : 0;
	cx_pump(x, err);
}

/* An object whose "session" is s's id as admins see one; NULL out of memory. */
static json_t *
session_obj(const struct st_contact_sess *s, int *err)
{
	char sess[EXPROW_SESSION_LEN + 1];
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_session(s->session, sess);
	exprow_oset(o, "session", exprow_text(sess), err);
	return o;
}

/* A visitor session naming the contact. */
static json_t *
session_json(const struct st_contact_sess *s)
{
	json_t *o;
	int err = 0;

	if ((o = session_obj(s, &err)) == NULL)
		return NULL;
	exprow_oset(o, "widget", exprow_text(s->widget), &err);
	exprow_oset(o, "created_at", exprow_ms(s->created_at), &err);
	exprow_oset(o, "active_at", exprow_ms(s->active_at), &err);
	exprow_oset(o, "expires_at", exprow_ms(s->expires_at), &err);
	return exprow_odone(o, err);
}

/* A session's submissions: how many, and the last one as submitted. */
static json_t *
submission_json(const struct st_contact_sess *s)
{
	json_t *o;
	int err = 0;

	if ((o = session_obj(s, &err)) == NULL)
		return NULL;
	exprow_oset(o, "count", json_integer(s->submissions), &err);
	exprow_oset(o, "contactVerified", json_boolean(!s->last.unverified),
	    &err);
	exprow_oset(o, "name", json_opt_text(s->last.name), &err);
	exprow_oset(o, "email", json_opt_text(s->last.email), &err);
	exprow_oset(o, "phone", json_opt_text(s->last.phone), &err);
	return exprow_odone(o, err);
}

static void
sessions_got(const struct storec_result *r, void *arg)
{
	struct cexport *x = arg;
	struct st_contact_sess_rep sr;
	uint32_t i;
	int err = 0;

	if (cx_reply(x, r, PROTO_ST_CONTACT_SESSIONS, &sr) < 0)
		return;
	for (i = 0; i < sr.n && !err; i++) {
		if (x->phase == CX_SESSIONS)
			err = cx_item(x, session_json(&sr.sessions[i])) < 0;
		else if (sr.sessions[i].submissions > 0)
			err = cx_item(x, submission_json(&sr.sessions[i])) < 0;
	}
	strlcpy(x->cursor, sr.next_cursor, sizeof(x->cursor));
	st_rep_free(PROTO_ST_CONTACT_SESSIONS, &sr);
	if (x->cursor[0] == '\0') {
		/* The array ends: the next one, or the document. */
		buf_adds(&x->page, x->phase == CX_SESSIONS ?
		    "],\"submissions\":[" : "]}");
		x->items = 0;
		x->phase++;
	}
	cx_pump(x, err);
}

/* Asks for what comes next, or ends the document. */
static void
cx_next(struct cexport *x)
{
	struct st_msg_pages_req mp;
	struct st_str ids[ST_LIST_MAX];
	struct st_contact_cursor_req cq;
	struct conn *c;
	uint16_t type;
	uint32_t i;
	int rv;

	cq.id = x->id;
	cq.cursor = x->cursor;
	if (x->phase == CX_CONVS && x->cur < x->n) {
		/* x->n is at most ST_LIST_MAX: ST_CONTACT_CONVS' bound. */
		for (i = x->cur; i < x->n; i++)
			ids[i - x->cur].s = x->ids[i];
		mp.ids = ids;
		mp.n = x->n - x->cur;
		mp.from = x->from;
		mp.limit = ST_LIST_MAX;
		type = PROTO_ST_MSG_PAGES;
		rv = storec_ask(&x->c->who, type, &mp, msgs_got, x,
		    &x->c->sreq);
	} else if (x->phase == CX_CONVS && !x->convs_done) {
		type = PROTO_ST_CONTACT_CONVS;
		rv = storec_ask(&x->c->who, type, &cq, convs_got, x,
		    &x->c->sreq);
	} else if (x->phase <= CX_SUBMISSIONS) {
		if (x->phase == CX_CONVS) {
			buf_adds(&x->page, "],\"sessions\":[");
			x->phase = CX_SESSIONS;
			x->items = 0;
			x->cursor[0] = '\0';
		}
		type = PROTO_ST_CONTACT_SESSIONS;
		rv = storec_ask(&x->c->who, type, &cq, sessions_got, x,
		    &x->c->sreq);
	} else {
		c = x->c;
		if (x->page.len > x->page.off)
			conn_stream_write(c, x->page.data + x->page.off,
			    x->page.len - x->page.off);
		conn_drop_handler(&x->c, x);
		cx_free(x);
		conn_stream_end(c);
		return;
	}
	if (rv < 0)
		cx_unavailable(x, proto_msg_name(type));
}

void
contacts_export(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct cexport *x;
	struct st_id_page_req one;
	const char *id;

	if ((id = admin_id_param(c, req, m, "Invalid contactId")) == NULL ||
	    credwatch_refuse_download(c))
		return;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	x->c = c;
	x->head_only = c->head_only;
	strlcpy(x->id, id, sizeof(x->id));
	buf_init(&x->page);
	c->hctx = x;
	c->abort = cx_abort;
	/* A client that leaves a long download cancels it at once. */
	c->abort_on_eof = 1;
	credwatch_start(&x->watch, c, 1, cx_gone, x);
	/* The contact alone: its conversations come a page at a time. */
	one = (struct st_id_page_req){ x->id, 1, "" };
	if (storec_ask(&c->who, PROTO_ST_CONTACT_GET, &one, contact_got, x,
	    &c->sreq) < 0)
		cx_unavailable(x, "ST_CONTACT_GET");
}

/* ------------------------------------------------------------ erasure */

static json_t *
erase_json(const void *rep, int *status)
{
	const struct st_u8_rep *done = rep;

	*status = done->v ? 200 : 202;
	return json_pack("{s:b}", "erasing", !done->v);
}

static const struct admin_reply erased = {
	PROTO_ST_CONTACT_ERASE, 200, erase_json, contact_errors, 0
};

static json_t *
erasing_json(const void *rep, int *status)
{
	const struct st_u8_rep *erasing = rep;

	*status = 200;
	return json_pack("{s:b}", "erasing", erasing->v != 0);
}

ADMIN_ID_ROUTE(contacts_erasure, admin_id_param(c, req, m,
    "Invalid contactId"), PROTO_ST_CONTACT_ERASING, 200, erasing_json,
    contact_errors, 0)

void
contacts_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_contact_erase_req q;
	int rc;

	if ((rc = http_query_flag(req->query, "erase", "all")) < 0) {
		admin_bad_query(c);
		return;
	}
	if ((q.id = admin_id_param(c, req, m, "Invalid contactId")) == NULL)
		return;
	q.erase = rc > 0;
	admin_ask_reply(c, &q, &erased);
}
