/*
 * GET /v1/admin/export: conversations or messages as JSON Lines or CSV,
 * streamed page by page (docs/dashboard.md), never built in memory.
 *
 * Conversations come from ST_CONV_QUERY (newest first by creation, an
 * order no message moves, so each existing one comes once), the
 * messages of a page of them from ST_MSG_PAGES (each conversation's
 * oldest first, as many conversations a request as a page holds; one
 * conversation= is ST_CONV_GET's first, for its 404). The next page
 * is asked for only once the client has taken most of the last one
 * (CONN_DRAIN_LOW), so a slow download holds one page, not the store.
 * The export is no snapshot: each page is read on its own, so messages
 * or conversations added or deleted while it runs may or may not appear.
 *
 * Errors before the first byte are ordinary JSON answers; once the
 * stream has started, a storage failure closes the connection without
 * the final chunk, so the download is visibly broken, never short.
 * The credential it was asked with is checked once, as every request's;
 * when it ends meanwhile (a key deleted, a session logged out or past its
 * expiry, a user removed: storaged tells every worker) the export ends
 * too, a 401 before the first byte, a broken download after: no page is
 * read for a caller who may no longer read them.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "workerd.h"

#define EXPORT_PAGE	ST_LIST_MAX	/* conversations or messages a request */

struct export {
	struct conn *c;
	struct export_params p;
	char cursor[ST_CURSOR_MAX + 1];	/* the next page of conversations */
	int convs_done;			/* no page of conversations left */
	/* rows=messages: the conversations of the page in hand. */
	char (*ids)[ST_ID_HEX + 1];
	size_t nids, cur;
	uint32_t from;			/* the next message of ids[cur] */
	int started;			/* the head has gone out */
	int head_only;
	struct buf page;		/* one page of rows, then one chunk */
	struct credwatch watch;		/* its credential's end; counted */
};

static void export_next(struct export *);

/* ------------------------------------------------------------ parameters */

/*
 * 1 when query's name is one of "a|b" (its index in *ix), else 0; -1 for
 * a bad %-escape anywhere in query.
 */
static int
param_choice(const char *query, const char *name, const char *a,
    const char *b, int *ix)
{
	char v[32];
	int r;

	if (query == NULL)
		return 0;
	if ((r = http_query_param(query, name, v, sizeof(v))) != 1)
		return r < 0 ? -1 : 0;
	if (strcmp(v, a) == 0)
		*ix = 0;
	else if (strcmp(v, b) == 0)
		*ix = 1;
	else
		return 0;
	return 1;
}

int
export_params_parse(const char *query, struct export_params *p)
{
	int r, ix;

	memset(p, 0, sizeof(*p));
	p->why = "format must be jsonl or csv";
	if ((r = param_choice(query, "format", "jsonl", "csv", &ix)) != 1)
		goto bad;
	p->format = ix == 0 ? EXPORT_JSONL : EXPORT_CSV;
	p->why = "rows must be conversations or messages";
	if ((r = param_choice(query, "rows", "conversations", "messages",
	    &ix)) != 1)
		goto bad;
	p->rows = ix == 0 ? EXPORT_CONVS : EXPORT_MSGS;
	p->why = "Invalid query parameters";	/* a bad %-escape */
	if ((r = http_query_param(query, "conversation", p->conv,
	    sizeof(p->conv))) < 0)
		return -1;
	p->why = "conversation must be a conversation id (32 hex digits)";
	if (r > 0 && (strlen(p->conv) != ST_ID_HEX || !st_id_valid(p->conv)))
		return -1;
	p->why = "Invalid query parameters";
	if ((r = http_query_param(query, "widget", p->widget,
	    sizeof(p->widget))) < 0)
		return -1;
	p->why = "widget must be a widget id";
	if (r > 0 && !admin_widget_valid(p->widget))
		return -1;
	p->why = NULL;
	return 0;
bad:
	if (r < 0)
		p->why = "Invalid query parameters";	/* a bad %-escape */
	return -1;
}

const char *
export_filename(const struct export_params *p)
{
	if (p->rows == EXPORT_CONVS)
		return p->format == EXPORT_CSV ? "parley-conversations.csv" :
		    "parley-conversations.jsonl";
	return p->format == EXPORT_CSV ? "parley-messages.csv" :
	    "parley-messages.jsonl";
}

const char *
export_ctype(const struct export_params *p)
{
	return p->format == EXPORT_CSV ? "text/csv; charset=utf-8" :
	    "application/x-ndjson; charset=utf-8";
}

/* A conversation's row, or else m's (exportrows.c), onto the page. */
static int
page_row(struct export *x, const struct st_conv *cv, const struct st_msg *m)
{
	struct penc e;
	int rv;

	penc_init(&e);
	rv = cv != NULL ? exprow_conv(&e, x->p.format, cv) :
	    exprow_msg(&e, x->p.format, m);
	if (rv == 0)
		buf_add(&x->page, e.buf, e.len);
	penc_free(&e);
	return rv;
}

/* ------------------------------------------------------------ the stream */

static void
export_free(struct export *x)
{
	credwatch_stop(&x->watch);
	buf_free(&x->page);
	free(x->ids);
	free(x);
}

/* The connection goes away: conn_close() has cancelled c->sreq. */
static void
export_abort(struct conn *c)
{
	struct export *x = c->hctx;

	if (x == NULL)
		return;
	log_debug("export: the client left");
	conn_drop_handler(&x->c, x);
	export_free(x);
}

/* Before the head: an answer of its own; after: a broken stream. */
static void
export_fail(struct export *x, const struct storec_result *r,
    const struct storec_answer *own, const char *what)
{
	struct conn *c = x->c;
	const char *msg;
	int status;

	if (!x->started) {
		status = r != NULL ? storec_http_error(r, own, "export", &msg) :
		    500;
		if (r == NULL) {
			log_warnx("export: %s", what);
			msg = "Internal server error";
		}
		conn_drop_handler(&x->c, x);
		export_free(x);
		conn_send_error(c, status, admin_headers, msg);
		return;
	}
	if (r != NULL && r->status == STOREC_ERROR)
		log_warnx("export: %s: storaged: %s: %s; the download is cut",
		    what, proto_err_name(r->code), r->message);
	else if (r != NULL)
		log_warnx("export: %s: storage unavailable; the download is cut",
		    what);
	else
		log_warnx("export: %s; the download is cut", what);
	conn_drop_handler(&x->c, x);
	export_free(x);
	conn_close(c, "export cut");
}

/* The head, once: the first page has come, so the export can be made. */
static int
export_start(struct export *x)
{
	const char *head;
	char hdrs[256];

	if (x->started)
		return 0;
	snprintf(hdrs, sizeof(hdrs), "%sContent-Disposition: attachment; "
	    "filename=\"%s\"\r\n", admin_headers, export_filename(&x->p));
	x->started = 1;
	if (x->head_only) {
		/* HEAD: the head alone, no stream to feed. */
		conn_stream_head(x->c, 200, hdrs, export_ctype(&x->p));
		return -1;
	}
	if (conn_stream_start(x->c, 200, hdrs, export_ctype(&x->p)) < 0)
		return -1;
	/* Its own chunk: the first page's rows are already in x->page. */
	head = exprow_header(x->p.format, x->p.rows);
	conn_stream_write(x->c, head, strlen(head));
	return 0;
}

/* Sends what the page holds as one chunk. */
static void
export_flush(struct export *x)
{
	if (buf_pending(&x->page) > 0)
		conn_stream_write(x->c, x->page.data + x->page.off,
		    buf_pending(&x->page));
	x->page.off = x->page.len = 0;
}

static void
export_finish(struct export *x)
{
	struct conn *c = x->c;

	if (export_start(x) < 0) {
		conn_drop_handler(&x->c, x);
		export_free(x);
		return;
	}
	export_flush(x);
	conn_drop_handler(&x->c, x);
	export_free(x);
	conn_stream_end(c);
}

static void
export_drained(struct conn *c)
{
	struct export *x = c->hctx;

	if (x != NULL)
		export_next(x);
}

/* After a page: the next request now, or once the client has caught up. */
static void
export_pump(struct export *x)
{
	export_flush(x);
	if (conn_out_pending(x->c) < CONN_DRAIN_LOW)
		export_next(x);
	else
		conn_watch_drain(x->c, export_drained);
}

/* A page's head went out and its rows are in x->page: go on. */
static void
export_page_done(struct export *x, int err)
{
	if (err || x->page.err) {
		export_fail(x, NULL, NULL, "cannot encode a row");
		return;
	}
	if (export_start(x) < 0) {
		conn_drop_handler(&x->c, x);
		export_free(x);
		return;
	}
	export_pump(x);
}

static const struct storec_answer conv_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
	{ PROTO_E_INVALID, 400, "Invalid query parameters" },
	{ 0, 0, NULL },
};

/* The reply of type decoded into rep: 0, or -1 with the export failed. */
static int
export_reply(struct export *x, const struct storec_result *r, uint16_t type,
    void *rep)
{
	if (r->status != STOREC_OK) {
		export_fail(x, r, conv_errors, proto_msg_name(type));
		return -1;
	}
	if (storec_decode(r, type, rep) < 0) {
		export_fail(x, NULL, NULL, "a reply that does not decode");
		return -1;
	}
	return 0;
}

/*
 * n conversations (at most EXPORT_PAGE): their rows, or (rows=messages)
 * the ids of those with messages, whose messages come next.
 */
static int
convs_rows(struct export *x, const struct st_conv *convs, uint32_t n)
{
	uint32_t i;

	free(x->ids);
	x->ids = NULL;
	x->nids = x->cur = 0;
	x->from = 0;
	if (x->p.rows == EXPORT_MSGS && n > 0 &&
	    (x->ids = calloc(n, sizeof(*x->ids))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (x->p.rows == EXPORT_CONVS) {
			if (page_row(x, &convs[i], NULL) < 0)
				return -1;
		} else if (convs[i].message_count > 0)
			memcpy(x->ids[x->nids++], convs[i].id,
			    sizeof(convs[i].id));
	}
	return 0;
}

static void
convs_done(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_conv_page p;
	int err;

	if (export_reply(x, r, PROTO_ST_CONV_QUERY, &p) < 0)
		return;
	err = convs_rows(x, p.convs, p.n) < 0;
	strlcpy(x->cursor, p.next_cursor, sizeof(x->cursor));
	st_rep_free(PROTO_ST_CONV_QUERY, &p);
	if (err) {
		export_fail(x, NULL, NULL, "cannot make a page of rows");
		return;
	}
	x->convs_done = x->cursor[0] == '\0';
	export_page_done(x, 0);
}

/*
 * ST_CONV_GET: the one conversation of conversation= (one message at
 * most): its row, or (rows=messages) its messages next.
 */
static void
conv_got(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_conv_msgs cm;
	int err;

	if (export_reply(x, r, PROTO_ST_CONV_GET, &cm) < 0)
		return;
	err = convs_rows(x, &cm.conv, 1) < 0;
	st_rep_free(PROTO_ST_CONV_GET, &cm);
	x->convs_done = 1;
	export_page_done(x, err);
}

/*
 * ST_MSG_PAGES: the messages of ids[cur] on, from x->from; a conversation
 * deleted meanwhile has none.
 */
static void
msgs_done(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_msg_pages_rep mp;
	size_t asked = x->nids - x->cur;
	uint32_t i;
	int err = 0;

	if (export_reply(x, r, PROTO_ST_MSG_PAGES, &mp) < 0)
		return;
	for (i = 0; i < mp.n && !err; i++)
		err = page_row(x, NULL, &mp.msgs[i]) < 0;
	x->cur += exprow_pages_next((uint32_t)asked, &x->from, mp.next_conv,
	    mp.next_from);
	st_rep_free(PROTO_ST_MSG_PAGES, &mp);
	export_page_done(x, err);
}

/* storaged's request for the export's next page: 0, or -1 (not sent). */
static int
export_ask(struct export *x, uint16_t type, const void *req, storec_cb cb)
{
	return storec_ask(&x->c->who, type, req, cb, x, &x->c->sreq);
}

/* Asks for the next page, or ends the export when there is none. */
static void
export_next(struct export *x)
{
	struct st_conv_query_req cq;
	struct st_msg_pages_req mp;
	struct st_str ids[EXPORT_PAGE];
	struct storec_result r;
	uint16_t type;
	size_t i;
	int rv;

	if (x->p.rows == EXPORT_MSGS && x->cur < x->nids) {
		for (i = x->cur; i < x->nids; i++)
			ids[i - x->cur].s = x->ids[i];
		mp.ids = ids;
		mp.n = (uint32_t)(x->nids - x->cur);
		mp.from = x->from;
		mp.limit = EXPORT_PAGE;
		type = PROTO_ST_MSG_PAGES;
		rv = export_ask(x, type, &mp, msgs_done);
	} else if (!x->convs_done) {
		cq.limit = EXPORT_PAGE;
		cq.cursor = x->cursor;
		cq.widget = x->p.widget;
		cq.q = "";
		cq.assigned = ST_ASSIGNED_ANY;
		cq.assignee = "";
		cq.gaps = 0;
		cq.state = 0;
		/* Fixed: a conversation a message moves is still met once. */
		cq.order = ST_ORDER_CREATED;
		type = PROTO_ST_CONV_QUERY;
		rv = export_ask(x, type, &cq, convs_done);
	} else {
		export_finish(x);
		return;
	}
	if (rv < 0) {
		memset(&r, 0, sizeof(r));
		r.status = STOREC_UNAVAILABLE;
		r.message = "";
		export_fail(x, &r, NULL, proto_msg_name(type));
	}
}

/* The credential export arg was asked with ended (credwatch). */
static void
export_gone(void *arg)
{
	struct export *x = arg;
	struct conn *c = x->c;
	int started = x->started;

	conn_drop_handler(&x->c, x);
	export_free(x);
	credwatch_answer(c, started, "export");
}

void
export_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_conv_get_req cg;
	struct export *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	if (export_params_parse(req->query, &x->p) < 0) {
		conn_send_error(c, 400, admin_headers, x->p.why);
		free(x);
		return;
	}
	if (credwatch_refuse_download(c)) {
		free(x);
		return;
	}
	x->c = c;
	x->head_only = c->head_only;
	buf_init(&x->page);
	credwatch_start(&x->watch, c, 1, export_gone, x);
	c->hctx = x;
	c->abort = export_abort;
	/* A client that leaves a long download cancels it at once. */
	c->abort_on_eof = 1;
	if (x->p.conv[0] == '\0') {
		export_next(x);
		return;
	}
	/*
	 * One conversation: its first request tells whether it exists, so
	 * an unknown one is a 404 before anything is sent.
	 */
	x->convs_done = 1;
	cg.conv_id = x->p.conv;
	cg.max_messages = 1;	/* the conversation; one message at most */
	if (export_ask(x, PROTO_ST_CONV_GET, &cg, conv_got) < 0) {
		conn_drop_handler(&x->c, x);
		export_free(x);
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	}
}
