/*
 * GET /v1/admin/export: conversations or messages as JSON Lines or CSV,
 * streamed page by page (docs/dashboard.md), never built in memory.
 *
 * Conversations come from ST_CONV_QUERY (newest activity first), a
 * conversation's messages from ST_MSG_PAGE (oldest first). The next page
 * is asked for only once the client has taken most of the last one
 * (CONN_DRAIN_LOW), so a slow download holds one page, not the store.
 * The export is no snapshot: each page is read on its own, so messages
 * or conversations added or deleted while it runs may or may not appear.
 *
 * Errors before the first byte are ordinary JSON answers; once the
 * stream has started, a storage failure closes the connection without
 * the final chunk, so the download is visibly broken, never short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

static void export_next(struct export *);

/* ------------------------------------------------------------ parameters */

int
export_params_parse(const char *query, struct export_params *p)
{
	char v[32];
	int r;

	memset(p, 0, sizeof(*p));
	if (query == NULL)
		return -1;
	if (http_query_param(query, "format", v, sizeof(v)) != 1)
		return -1;
	if (strcmp(v, "jsonl") == 0)
		p->format = EXPORT_JSONL;
	else if (strcmp(v, "csv") == 0)
		p->format = EXPORT_CSV;
	else
		return -1;
	if (http_query_param(query, "rows", v, sizeof(v)) != 1)
		return -1;
	if (strcmp(v, "conversations") == 0)
		p->rows = EXPORT_CONVS;
	else if (strcmp(v, "messages") == 0)
		p->rows = EXPORT_MSGS;
	else
		return -1;
	if ((r = http_query_param(query, "conversation", p->conv,
	    sizeof(p->conv))) < 0 || (r > 0 && (strlen(p->conv) != ST_ID_HEX ||
	    !st_id_valid(p->conv))))
		return -1;
	if ((r = http_query_param(query, "widget", p->widget,
	    sizeof(p->widget))) < 0 || (r > 0 && !admin_widget_valid(p->widget)))
		return -1;
	return 0;
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
	buf_free(&x->page);
	free(x->ids);
	free(x);
}

/* Lets go of the connection (it ended or is going). */
static void
export_detach(struct export *x)
{
	struct conn *c = x->c;

	if (c != NULL && c->hctx == x) {
		c->hctx = NULL;
		c->abort = NULL;
		c->drained = NULL;
		c->abort_on_eof = 0;
	}
	x->c = NULL;
}

/* The connection goes away: conn_close() has cancelled c->sreq. */
static void
export_abort(struct conn *c)
{
	struct export *x = c->hctx;

	if (x == NULL)
		return;
	log_debug("export: the client left");
	export_detach(x);
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
		export_detach(x);
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
	export_detach(x);
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
		conn_send(x->c, 200, hdrs, export_ctype(&x->p), NULL, 0);
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
		export_detach(x);
		export_free(x);
		return;
	}
	export_flush(x);
	export_detach(x);
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
		export_detach(x);
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

/* ST_CONV_QUERY -> u64 total, u32 n, n x conv, str next_cursor */
static void
convs_done(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_conv cv;
	struct pdec d;
	uint32_t n, i;
	int err = 0;

	if (r->status != STOREC_OK) {
		export_fail(x, r, conv_errors, "ST_CONV_QUERY");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	(void)pdec_u64(&d);
	n = pdec_u32(&d);
	if (d.err || n > EXPORT_PAGE) {
		export_fail(x, NULL, NULL, "malformed ST_CONV_QUERY reply");
		return;
	}
	free(x->ids);
	x->ids = NULL;
	x->nids = x->cur = 0;
	x->from = 0;
	if (x->p.rows == EXPORT_MSGS && n > 0 &&
	    (x->ids = calloc(n, sizeof(*x->ids))) == NULL) {
		export_fail(x, NULL, NULL, "out of memory");
		return;
	}
	for (i = 0; i < n && !err; i++) {
		if (pdec_conv(&d, &cv) < 0) {
			err = 1;
			break;
		}
		if (x->p.rows == EXPORT_CONVS)
			err = page_row(x, &cv, NULL) < 0;
		else if (cv.message_count > 0)
			memcpy(x->ids[x->nids++], cv.id, sizeof(cv.id));
		st_conv_free(&cv);
	}
	if (!err) {
		pdec_strbuf(&d, x->cursor, sizeof(x->cursor));
		err = pdec_done(&d) < 0;
	}
	if (err) {
		export_fail(x, NULL, NULL, "malformed ST_CONV_QUERY reply");
		return;
	}
	x->convs_done = x->cursor[0] == '\0';
	export_page_done(x, 0);
}

/* ST_CONV_GET -> conv, ...: the one conversation of conversation=. */
static void
conv_got(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_conv cv;
	struct pdec d;
	int err;

	if (r->status != STOREC_OK) {
		export_fail(x, r, conv_errors, "ST_CONV_GET");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	if (pdec_conv(&d, &cv) < 0) {
		export_fail(x, NULL, NULL, "malformed ST_CONV_GET reply");
		return;
	}
	/* The messages that follow are not wanted here. */
	err = page_row(x, &cv, NULL) < 0;
	st_conv_free(&cv);
	x->convs_done = 1;
	export_page_done(x, err);
}

/* ST_MSG_PAGE -> u32 n, n x msg, u32 next (0 = no more) */
static void
msgs_done(const struct storec_result *r, void *arg)
{
	struct export *x = arg;
	struct st_msg m;
	struct pdec d;
	uint32_t n, i, next;
	int err = 0;

	if (r->status == STOREC_ERROR && r->code == PROTO_E_NOT_FOUND &&
	    x->started) {
		/* Deleted since its page of conversations was read. */
		x->cur++;
		x->from = 0;
		export_next(x);
		return;
	}
	if (r->status != STOREC_OK) {
		export_fail(x, r, conv_errors, "ST_MSG_PAGE");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	n = pdec_u32(&d);
	if (d.err || n > EXPORT_PAGE) {
		export_fail(x, NULL, NULL, "malformed ST_MSG_PAGE reply");
		return;
	}
	for (i = 0; i < n && !err; i++) {
		if (pdec_msg(&d, &m) < 0) {
			err = 1;
			break;
		}
		err = page_row(x, NULL, &m) < 0;
		st_msg_free(&m);
	}
	next = pdec_u32(&d);
	if (err || pdec_done(&d) < 0) {
		export_fail(x, NULL, NULL, "malformed or unencodable "
		    "ST_MSG_PAGE reply");
		return;
	}
	/* A "next" that does not move on would never end. */
	if (next == 0 || next <= x->from) {
		x->cur++;
		x->from = 0;
	} else
		x->from = next;
	export_page_done(x, 0);
}

/* Asks for the next page, or ends the export when there is none. */
static void
export_next(struct export *x)
{
	struct penc e;
	storec_cb cb;
	uint16_t type;

	penc_init(&e);
	if (x->p.rows == EXPORT_MSGS && x->cur < x->nids) {
		penc_str(&e, x->ids[x->cur]);
		penc_u32(&e, x->from);
		penc_u32(&e, EXPORT_PAGE);
		type = PROTO_ST_MSG_PAGE;
		cb = msgs_done;
	} else if (!x->convs_done) {
		penc_u32(&e, EXPORT_PAGE);
		penc_str(&e, x->cursor);
		penc_str(&e, x->p.widget);
		penc_str(&e, "");
		type = PROTO_ST_CONV_QUERY;
		cb = convs_done;
	} else {
		penc_free(&e);
		export_finish(x);
		return;
	}
	if (storec_send_as(&x->c->who, type, &e, cb, x,
	    &x->c->sreq) < 0) {
		struct storec_result r;

		memset(&r, 0, sizeof(r));
		r.status = STOREC_UNAVAILABLE;
		r.message = "";
		export_fail(x, &r, NULL, proto_msg_name(type));
	}
}

void
export_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct export *x;
	struct penc e;
	int rv;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	if (export_params_parse(req->query, &x->p) < 0) {
		free(x);
		conn_send_error(c, 400, admin_headers,
		    "Invalid query parameters");
		return;
	}
	x->c = c;
	x->head_only = c->head_only;
	buf_init(&x->page);
	c->hctx = x;
	c->abort = export_abort;
	/* A client that leaves a long download cancels it at once. */
	c->abort_on_eof = 1;
	if (x->p.conv[0] == '\0') {
		export_next(x);
		return;
	}
	/*
	 * One conversation: its first request also tells whether it exists,
	 * so an unknown one is a 404 before anything is sent.
	 */
	x->convs_done = 1;
	penc_init(&e);
	penc_str(&e, x->p.conv);
	if (x->p.rows == EXPORT_MSGS) {
		if ((x->ids = calloc(1, sizeof(*x->ids))) == NULL) {
			penc_free(&e);
			export_fail(x, NULL, NULL, "out of memory");
			return;
		}
		memcpy(x->ids[0], x->p.conv, sizeof(x->ids[0]));
		x->nids = 1;
		penc_u32(&e, 0);
		penc_u32(&e, EXPORT_PAGE);
		rv = storec_send_as(&c->who, PROTO_ST_MSG_PAGE, &e, msgs_done,
		    x, &c->sreq);
	} else {
		penc_u32(&e, 1);	/* the conversation; one message at most */
		rv = storec_send_as(&c->who, PROTO_ST_CONV_GET, &e, conv_got,
		    x, &c->sreq);
	}
	if (rv < 0) {
		export_detach(x);
		export_free(x);
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	}
}
