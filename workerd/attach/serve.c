/*
 * Serving attachments (attach.h). A file goes out as the type its bytes
 * were judged to be and nothing else: X-Content-Type-Options: nosniff, a
 * Content-Security-Policy that runs nothing (default-src 'none';
 * sandbox), any file but an image as a download (Content-Disposition:
 * attachment), no cookies needed for a visitor's link. It is read from
 * storaged a piece at a time and the next piece asked only once the
 * client has taken the last, so a download holds one piece in the worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "attach.h"
#include "log.h"
#include "workerd.h"

/*
 * What every attachment's answer says, before its type's own (every
 * answer already has nosniff and no referrer: resp.c). A visitor's route
 * is R_PUBLIC and says any origin itself; the chat API's and the
 * dashboard's get the router's CORS headers (a second
 * Access-Control-Allow-Origin made "*, *", which a browser's fetch
 * refuses).
 */
#define SAFE_HEADERS							\
	"Content-Security-Policy: default-src 'none'; sandbox\r\n"	\
	"Cross-Origin-Resource-Policy: cross-origin\r\n"
/*
 * A signed link is kept by the browser a minute at most: a file deleted
 * (its conversation's delete, a contact's erasure) or a link expired is
 * not shown from its cache for long. Not no-cache: an answer has no
 * validator (ETag) to ask again with, so each use would fetch it whole.
 */
#define LINK_CACHE	"Cache-Control: private, max-age=60\r\n"
#define ANY_ORIGIN	"Access-Control-Allow-Origin: *\r\n"
static const char visitor_headers[] = LINK_CACHE ANY_ORIGIN SAFE_HEADERS;
static const char chat_headers[] = LINK_CACHE SAFE_HEADERS;
static const char dash_headers[] = "Cache-Control: private, no-cache\r\n"
    SAFE_HEADERS;
static const char visitor_refused[] = "Cache-Control: no-store\r\n"
    ANY_ORIGIN;
static const char refused_headers[] = "Cache-Control: no-store\r\n";
/* A visitor's link refused: expired, forged, or under another widget. */
static const char link_refused[] = "This link has expired or is not "
    "valid: open the conversation again for a new one";

/* A download being served. */
struct serve {
	struct conn *c;
	int admin;		/* the dashboard's: conv must match */
	int visitor;		/* a widget's route (R_PUBLIC) */
	int started;		/* the head went out */
	char id[ST_ATT_ID_LEN + 1];
	char conv[ST_ID_HEX + 1];
	char exp[24], sig[ATT_SIG_HEX + 1];	/* a visitor's link */
	char wid[ST_WID_ARG_MAX + 1];	/* its path's widget, "" the API's */
	uint32_t piece, npieces;
};

static void serve_next(struct serve *);

/* The connection goes away: conn_close() has cancelled c->sreq. */
static void
serve_abort(struct conn *c)
{
	struct serve *s = c->hctx;

	if (s == NULL)
		return;
	conn_drop_handler(&s->c, s);
	free(s);
}

/* Ends s: before the head, status with msg; after it, a cut stream. */
static void
serve_end(struct serve *s, int status, const char *msg)
{
	struct conn *c = s->c;
	const char *hdrs = s->visitor ? visitor_refused : refused_headers;
	int started = s->started;

	conn_drop_handler(&s->c, s);
	free(s);
	if (c == NULL)
		return;
	if (!started)
		conn_send_error(c, status, hdrs, msg);
	else if (status != 0) {
		log_warnx("attachments: %s; the download is cut", msg);
		conn_close(c, "attachment cut");
	} else
		conn_stream_end(c);
}

/*
 * The file's name as a header, with its type's extension
 * (attach_name_typed): an ASCII fallback (others as '_') and the name
 * itself, percent-encoded (RFC 6266, RFC 8187).
 */
static void
disposition(const struct st_att *a, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[ST_ATT_NAME_MAX + 1];
	char ascii[ST_ATT_NAME_MAX + 1], pct[3 * ST_ATT_NAME_MAX + 1];
	const unsigned char *p;
	size_t i = 0, j = 0;

	attach_name_typed(a->name, a->type, name, sizeof(name));
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		ascii[i++] = *p >= 0x20 && *p < 0x7f && *p != '"' &&
		    *p != '\\' ? (char)*p : '_';
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			pct[j++] = (char)*p;
		else {
			pct[j++] = '%';
			pct[j++] = hex[*p >> 4];
			pct[j++] = hex[*p & 15];
		}
	}
	ascii[i] = pct[j] = '\0';
	snprintf(out, outsz, "Content-Disposition: %s; filename=\"%s\"; "
	    "filename*=UTF-8''%s\r\n", attach_is_image(a->type) ? "inline" :
	    "attachment", ascii, pct);
}

/* The head, from the first piece's reply: 0, or -1 (s ended). */
static int
serve_start(struct serve *s, const struct st_att *a)
{
	char hdrs[sizeof(visitor_headers) + 4 * ST_ATT_NAME_MAX + 128];
	const char *mime = attach_mime(a->type);
	size_t n;

	if (s->admin ? strcmp(a->conv_id, s->conv) != 0 :
	    !att_link_ok(a->key, s->id, s->exp, s->sig, proto_wall_ms())) {
		serve_end(s, s->admin ? 404 : 403, s->admin ?
		    "no such attachment" : link_refused);
		return -1;
	}
	if (mime == NULL) {
		serve_end(s, 500, "Internal server error");
		return -1;
	}
	n = strlcpy(hdrs, s->admin ? dash_headers : s->visitor ?
	    visitor_headers : chat_headers, sizeof(hdrs));
	disposition(a, hdrs + n, sizeof(hdrs) - n);
	s->npieces = a->npieces;
	s->started = 1;
	if (s->c->head_only) {	/* HEAD: the head a GET has, no length */
		conn_stream_head(s->c, 200, hdrs, mime);
		conn_drop_handler(&s->c, s);
		free(s);
		return -1;
	}
	if (conn_stream_start(s->c, 200, hdrs, mime) < 0) {
		conn_drop_handler(&s->c, s);
		free(s);
		return -1;
	}
	return 0;
}

static void
serve_drained(struct conn *c)
{
	struct serve *s = c->hctx;

	if (s != NULL)
		serve_next(s);
}

static void
read_done(const struct storec_result *r, void *arg)
{
	struct serve *s = arg;
	struct st_att_read_rep rep;
	uint16_t type = s->admin ? PROTO_ST_ATT_ADMIN_READ : PROTO_ST_ATT_READ;
	const char *msg;
	int status;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, NULL, "attachments", &msg);
		serve_end(s, status, msg);
		return;
	}
	if (storec_decode(r, type, &rep) < 0) {
		serve_end(s, 500, "a reply that does not decode");
		return;
	}
	if (rep.result == ST_ATT_NO_WIDGET)
		serve_end(s, 403, link_refused);	/* another's path */
	else if (rep.result != ST_ATT_OK)
		serve_end(s, 404, "no such attachment");
	else if (s->started || serve_start(s, &rep.att) == 0) {
		conn_stream_write(s->c, rep.data.p, rep.data.len);
		if (++s->piece >= s->npieces)
			serve_end(s, 0, NULL);
		else if (conn_out_pending(s->c) < CONN_DRAIN_LOW)
			serve_next(s);
		else
			conn_watch_drain(s->c, serve_drained);
	}
	st_rep_free(type, &rep);
}

static void
serve_next(struct serve *s)
{
	struct st_att_read_req q = { s->id, s->piece, s->admin ?
	    ST_ATT_READ_NAMED : ST_ATT_READ_LINK, s->wid };

	if (storec_ask(s->admin ? &s->c->who : NULL, s->admin ?
	    PROTO_ST_ATT_ADMIN_READ : PROTO_ST_ATT_READ, &q, read_done, s,
	    &s->c->sreq) < 0)
		serve_end(s, 503, "Storage unavailable");
}

/*
 * A download of attachment id begun: a person's of conversation conv
 * (admin), else a visitor's signed link (query's exp and sig) under
 * widget wid (its public id, "" the chat API's): a file of another
 * widget's conversation is refused as a forged link is.
 */
static void
serve_begin(struct conn *c, const char *conv, const char *id, int admin,
    const char *query, const char *wid)
{
	int visitor = !admin && wid[0] != '\0';
	const char *refused = visitor ? visitor_refused : refused_headers;
	struct serve *s;

	if (id == NULL || !st_prefixed_id_valid(id, "att_")) {
		conn_send_error(c, 404, refused, "no such attachment");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		conn_send_error(c, 500, refused, "out of memory");
		return;
	}
	s->c = c;
	s->admin = admin;
	s->visitor = visitor;
	strlcpy(s->id, id, sizeof(s->id));
	strlcpy(s->conv, conv, sizeof(s->conv));
	strlcpy(s->wid, wid, sizeof(s->wid));
	if (!admin && (http_query_param(query, "exp", s->exp,
	    sizeof(s->exp)) != 1 || http_query_param(query, "sig", s->sig,
	    sizeof(s->sig)) != 1)) {
		free(s);
		conn_send_error(c, 403, refused, "This link is not valid");
		return;
	}
	c->hctx = s;
	c->abort = serve_abort;
	c->abort_on_eof = 1;
	serve_next(s);
}

void
att_visitor_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	serve_begin(c, "", m->param[1], 0, req->query, m->param[0]);
}

void
att_chat_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	serve_begin(c, "", m->param[0], 0, req->query, "");
}

void
att_canned_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	serve_begin(c, "", m->param[0], 1, req->query, "");
}

void
att_admin_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (admin_id_param(c, req, m, "id: a conversation's id") != NULL)
		serve_begin(c, m->param[0], m->param[1], 1, req->query,
		    "");
}
