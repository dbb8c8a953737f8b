/*
 * Uploads (attach.h, docs/attachments.md): a visitor's through its
 * widget, with its session token, and a person's to a conversation. A
 * new upload names its file and size; its pieces follow in order, each
 * ST_ATT_PIECE bytes but the last, each hashed here (SHA-256: storaged
 * keeps a piece once per organisation) and the first judged by its bytes
 * (sniff.c). The worker holds one piece of a request at a time, so a
 * hundred visitors uploading hold a hundred pieces at most, whatever
 * their files' sizes. storaged says what is allowed: the widget's types
 * and size limit, the client's bytes a minute, the organisation's quota,
 * and, for a visitor's, the page: a request's Origin the widget's
 * allowed_origins do not name is refused (403), as its config and its
 * socket are (st_origin_allowed); one without an Origin (a client that
 * is no browser's page) is not.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>


#include "admin.h"
#include "attach.h"
#include "chat.h"
#include "log.h"
#include "sha256.h"
#include "sniff.h"
#include "workerd.h"

#define ATT_WINDOW_MS	60000u		/* a client's bytes are counted a minute */
#define SCAN_RETRY_AFTER "2"		/* seconds, after a 503 of the scan */

/*
 * A visitor's answers may be read by the page that asked: a browser sends
 * a page's upload (its X-Parley-Session makes it one to preflight) only
 * once the preflight said yes, and the preflight answers the widget's
 * allowed origins alone (widgets_uploads_preflight); storaged refuses
 * another's request all the same (ST_ATT_ORIGIN), that refusal with no
 * CORS header.
 */
static const char public_headers[] = "Cache-Control: no-store\r\n"
    "Access-Control-Allow-Origin: *\r\n"
    "Access-Control-Expose-Headers: Retry-After\r\n";
static const char origin_refused_headers[] = "Cache-Control: no-store\r\n";

/* What a refusal says, by storaged's result. */
static const struct {
	int status;
	const char *msg;
} refusals[ST_ATT_RESULT_MAX + 1] = {
	[ST_ATT_NO_WIDGET] = { 404, "Widget not found" },
	[ST_ATT_OFF] = { 403, "attachments: this widget takes none" },
	[ST_ATT_TOO_BIG] = { 413, "file: too big for this widget" },
	[ST_ATT_TYPE] = { 415, "type: not a kind of file this widget takes "
	    "(decided by the file's bytes)" },
	[ST_ATT_RATE] = { 429, "Too many uploads, please wait" },
	[ST_ATT_FULL] = { 507, "storage full: this site's attachments have "
	    "reached their quota" },
	[ST_ATT_NO_UPLOAD] = { 404, "no such upload" },
	[ST_ATT_ORDER] = { 409, "Content-Range: not where the upload stands; "
	    "send from received" },
	[ST_ATT_IDENTITY] = { 403, "Identity required" },
	[ST_ATT_PDFS] = { 429, "Too many PDFs from this address (at most 20 "
	    "an hour, each read for the assistant), please wait" },
	[ST_ATT_ORIGIN] = { 403, "Origin not allowed" },
};

#define PERSON_TYPE_REFUSED "type: not a kind of file kept (images, PDFs " \
	"and plain text, decided by the file's bytes)"

/* The chat API's (its CORS headers are the router's). */
static const char chat_headers[] = "Cache-Control: no-store\r\n";

/* The headers a request's answers carry: a visitor's, the API's, a person's. */
static const char *
headers_of(const struct conn *c)
{
	if (c->req != NULL && strncmp(c->req->path, "/api/", 5) == 0)
		return public_headers;
	if (c->req != NULL && strncmp(c->req->path, "/v1/chat/", 9) == 0)
		return chat_headers;
	return admin_headers;
}

/* A piece goes to storaged as a person's (who-led) or a visitor's. */
static uint16_t
put_type(const struct conn *c)
{
	return headers_of(c) == admin_headers ? PROTO_ST_ATT_ADMIN_PUT :
	    PROTO_ST_ATT_PUT;
}

/* Answers storaged's refusal (result not OK) of c's upload request. */
static void
refused(struct conn *c, const char *hdrs, uint8_t result, uint64_t retry_ms,
    uint32_t max, uint32_t received)
{
	char h[512];
	json_t *o;

	if (result > ST_ATT_RESULT_MAX || refusals[result].status == 0) {
		conn_send_error(c, 500, hdrs, "Internal server error");
		return;
	}
	/* A person's upload is of no widget: any kept kind goes. */
	o = json_pack("{s:s}", "error", result == ST_ATT_TYPE &&
	    hdrs == admin_headers ? PERSON_TYPE_REFUSED : refusals[result].msg);
	if (o != NULL && result == ST_ATT_TOO_BIG && max > 0)
		json_object_set_new(o, "max_bytes", json_integer(max));
	if (o != NULL && result == ST_ATT_ORDER)
		json_object_set_new(o, "received", json_integer(received));
	/* As the config's: the page refused cannot read it. */
	if (result == ST_ATT_ORIGIN)
		hdrs = origin_refused_headers;
	snprintf(h, sizeof(h), "%s", hdrs);
	if (result == ST_ATT_RATE || result == ST_ATT_PDFS)
		snprintf(h, sizeof(h), "%sRetry-After: %llu\r\n", hdrs,
		    (unsigned long long)((retry_ms + 999) / 1000));
	conn_send_json(c, refusals[result].status, h, o);
}

/* storaged's errors with answers of their own. */
static const struct storec_answer att_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
	{ 0, 0, NULL },
};

/*
 * storaged's answer r, of type, decoded into rep: 0; or 1 with the
 * client answered: storaged's error, or a 500 for a reply that does
 * not decode.
 */
static int
failed(struct conn *c, const struct storec_result *r, const char *hdrs,
    uint16_t type, void *rep)
{
	const char *msg;
	int status;

	if (r->status == STOREC_OK) {
		if (storec_decode(r, type, rep) == 0)
			return 0;
		conn_send_error(c, 500, hdrs, "Internal server error");
	} else if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID &&
	    r->message != NULL && r->message[0] != '\0')
		conn_send_error(c, 400, hdrs, r->message);
	else {
		status = storec_http_error(r, att_errors, "attachments", &msg);
		conn_send_error(c, status, hdrs, msg);
	}
	return 1;
}

/* ------------------------------------------------------------ new uploads */

static void
new_done(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	const char *hdrs = headers_of(c);
	struct st_att_new_rep rep;

	if (failed(c, r, hdrs, PROTO_ST_ATT_NEW, &rep))
		return;
	if (rep.result != ST_ATT_OK)
		refused(c, hdrs, rep.result, rep.retry_ms, rep.max, 0);
	else
		conn_send_json(c, 201, hdrs, json_pack("{s:s, s:i, s:I}",
		    "id", rep.id, "piece_size", (int)ST_ATT_PIECE, "max_bytes",
		    (json_int_t)rep.max));
	st_rep_free(PROTO_ST_ATT_NEW, &rep);
}

const char *
att_new_body(struct http_request *req, json_t **root,
    char name[ST_ATT_NAME_MAX + 1], struct st_att_new_req *q)
{
	const char *k, *why;
	json_t *n, *s, *v;

	if ((*root = admin_json_parse(req, &why)) == NULL)
		return why;
	if (!json_is_object(*root))
		return "body: must be a JSON object";
	json_object_foreach(*root, k, v)
		if (strcmp(k, "name") != 0 && strcmp(k, "size") != 0 &&
		    strcmp(k, "sessionId") != 0)
			return "body: unknown field";
	n = json_object_get(*root, "name");
	s = json_object_get(*root, "size");
	/* Its text is what is kept: a NUL would cut it short. */
	if (!json_is_string(n) || strlen(json_string_value(n)) !=
	    json_string_length(n))
		return "name: the file's name, a string";
	if (!json_is_integer(s) || json_integer_value(s) < 1 ||
	    json_integer_value(s) > ST_ATT_MAX)
		return "size: the file's bytes, 1 to 26214400";
	att_name_clean(json_string_value(n), name, ST_ATT_NAME_MAX + 1);
	q->name = name;
	q->size = (uint32_t)json_integer_value(s);
	return NULL;
}

/* Sends q (type's), or answers 503 in hdrs. */
static void
ask(struct conn *c, uint16_t type, const void *q, storec_cb cb,
    const char *hdrs)
{
	const struct st_who *who = type == PROTO_ST_ATT_NEW ||
	    type == PROTO_ST_ATT_PUT ? NULL : &c->who;

	if (storec_ask(who, type, q, cb, c, &c->sreq) < 0)
		conn_send_error(c, 503, hdrs, "Storage unavailable");
}

/* A preflight of a visitor's route: the widget's origins, answered. */
static int
preflight(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (req->method != HTTP_OPTIONS)
		return 0;
	widgets_uploads_preflight(c, m);
	return 1;
}

/*
 * The visitor's session token's hash and the request's Origin (NULL
 * none; storaged holds it to the widget's allowed_origins): 0, or -1
 * with 401 (no token) or 403 (an Origin longer than any a widget may
 * allow, refused as the socket's upgrade refuses it) answered.
 */
static int
visitor_token(struct conn *c, struct http_request *req, uint8_t *hash,
    uint32_t *len, const char **origin)
{
	*origin = http_header(req, "origin");
	if (*origin != NULL && strlen(*origin) > ST_ORIGIN_MAX) {
		conn_send_error(c, 403, origin_refused_headers,
		    "Origin too long");
		return -1;
	}
	if (wschat_token_hash(http_header(req, "x-parley-session"),
	    hash) < 0) {
		conn_send_error(c, 401, public_headers, "X-Parley-Session: "
		    "the session token of the widget's socket");
		return -1;
	}
	*len = ST_TOKEN_HASH_LEN;
	return 0;
}

const char *
att_api_session(struct http_request *req, const json_t *root, uint8_t *token,
    uint32_t *len)
{
	char sid[CHAT_SESSION_MAX + 2];
	const char *s = NULL;
	const json_t *v;
	size_t slen = 0;

	/* Checked whole, as /v1/chat checks it (a NUL is no character of it). */
	if (root != NULL && json_is_string(v = json_object_get(root,
	    "sessionId"))) {
		s = json_string_value(v);
		slen = json_string_length(v);
	} else if (root == NULL && http_query_param(req->query, "sessionId",
	    sid, sizeof(sid)) == 1) {
		s = sid;
		slen = strlen(sid);
	}
	if (s == NULL || !chat_session_valid(s, slen))
		return "sessionId: must match ^[A-Za-z0-9._:-]{1,128}$";
	chat_session_hash(s, token);
	*len = ST_TOKEN_HASH_LEN;
	return NULL;
}

/*
 * A client's KiB a minute (PARLEY_ATTACH_RATE_MB, up to 100000 MiB: in
 * KiB well within the request's 32 bits, where bytes stopped at 4 GiB).
 */
static uint32_t
rate_kib(void)
{
	return wsettings.attach_rate_mb * (ST_ATT_MB / 1024);
}

/* A visitor's or an API client's new upload q, owner set: asked. */
static void
client_new(struct conn *c, struct http_request *req,
    struct st_att_new_req *q)
{
	char key[ST_RATE_KEY_MAX + 1];

	clientip_key(c, req, "att:", key, sizeof(key));
	q->rate_key = key;
	q->window_ms = ATT_WINDOW_MS;
	q->rate_kib = rate_kib();
	q->quota = (uint64_t)wsettings.attach_quota_mb * ST_ATT_MB;
	ask(c, PROTO_ST_ATT_NEW, q, new_done, headers_of(c));
}

/*
 * A new upload's body read into q (att_new_body; name holds its cleaned
 * name), and an API client's session (att_api_session): 0, or -1 with the
 * 400 sent with headers. *root is to be released either way.
 */
static int
new_read(struct conn *c, struct http_request *req, json_t **root,
    char name[ST_ATT_NAME_MAX + 1], struct st_att_new_req *q,
    const char *headers)
{
	const char *why;

	if ((why = att_new_body(req, root, name, q)) == NULL && q->api)
		why = att_api_session(req, *root, q->token, &q->token_len);
	if (why == NULL)
		return 0;
	conn_send_error(c, 400, headers, why);
	return -1;
}

/*
 * A new upload of a visitor (api 0: of widget m's, its socket's session
 * in a header) or of a chat API client (api 1: its key and sessionId).
 */
static void
client_upload(struct conn *c, struct http_request *req,
    const struct route_match *m, int api)
{
	const char *hdrs = api ? chat_headers : public_headers;
	char name[ST_ATT_NAME_MAX + 1];
	struct st_att_new_req q;
	json_t *root = NULL;

	if (api ? chat_key_refused(c, req, chat_headers) :
	    preflight(c, req, m))
		return;
	memset(&q, 0, sizeof(q));
	q.widget_id = api ? "" : m->param[0];
	q.conv_id = "";
	q.api = api;
	if (!api && visitor_token(c, req, q.token, &q.token_len,
	    &q.origin) < 0)
		return;
	if (new_read(c, req, &root, name, &q, hdrs) == 0)
		client_new(c, req, &q);
	json_decref(root);
}

void
att_visitor_new(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	client_upload(c, req, m, 0);
}

void
att_chat_new(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	client_upload(c, req, m, 1);
}

/* A person's new upload, to conversation conv ("" a canned reply). */
static void
person_new(struct conn *c, struct http_request *req, const char *conv)
{
	char name[ST_ATT_NAME_MAX + 1];
	struct st_att_new_req q;
	json_t *root = NULL;

	memset(&q, 0, sizeof(q));
	q.widget_id = "";
	q.rate_key = "";
	q.conv_id = conv;
	if (new_read(c, req, &root, name, &q, admin_headers) == 0) {
		q.quota = (uint64_t)wsettings.attach_quota_mb * ST_ATT_MB;
		ask(c, PROTO_ST_ATT_ADMIN_NEW, &q, new_done, admin_headers);
	}
	json_decref(root);
}

void
att_admin_new(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *conv;

	if ((conv = admin_id_param(c, req, m, "id: a conversation's id")) !=
	    NULL)
		person_new(c, req, conv);
}

void
att_canned_new(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	person_new(c, req, "");
}

/* ----------------------------------------------------------------- pieces */

static void
piece_done(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	const char *hdrs = headers_of(c), *mime;
	char name[ST_ATT_NAME_MAX + 1];
	struct st_att_put_rep rep;

	if (failed(c, r, hdrs, PROTO_ST_ATT_PUT, &rep))
		return;
	mime = attach_mime(rep.att.type);
	if (rep.result != ST_ATT_OK)
		refused(c, hdrs, rep.result, rep.retry_ms, 0, rep.received);
	else if (c->req != NULL && c->req->method == HTTP_DELETE)
		conn_send(c, 204, hdrs, NULL, NULL, 0);
	else if (!rep.whole)
		conn_send_json(c, 200, hdrs, json_pack("{s:s, s:I}", "id",
		    rep.att.id, "received", (json_int_t)rep.received));
	else {
		/* Named as the message's and the download's will be. */
		attach_name_typed(rep.att.name, rep.att.type, name,
		    sizeof(name));
		conn_send_json(c, 200, hdrs, json_pack("{s:s, s:I, s:b, s:s, "
		    "s:s, s:I}", "id", rep.att.id, "received",
		    (json_int_t)rep.received, "complete", 1, "name",
		    name, "type", mime != NULL ? mime : "",
		    "size", (json_int_t)rep.att.size));
	}
	st_rep_free(PROTO_ST_ATT_PUT, &rep);
}

/*
 * A piece's request from its Content-Range and body into q (*is_last: it
 * ends the file): 0, or -1 with 400 answered in hdrs.
 */
static int
piece_req(struct conn *c, struct http_request *req, const char *hdrs,
    struct st_att_put_req *q, int *is_last)
{
	const char *range = http_header(req, "content-range"), *why;
	uint64_t first, last, size;

	if (range == NULL || http_content_range(range, &first, &last,
	    &size) < 0 || req->body_len == 0 ||
	    last - first + 1 != req->body_len || size > ST_ATT_MAX ||
	    req->body_len > ST_ATT_PIECE) {
		conn_send_error(c, 400, hdrs, "Content-Range: bytes "
		    "FIRST-LAST/SIZE, the body's bytes, at most 256 KiB a "
		    "piece");
		return -1;
	}
	q->offset = (uint32_t)first;
	/* storaged holds it to the upload's: this piece is the last if it is. */
	q->size = (uint32_t)size;
	*is_last = last + 1 == size;
	q->data.p = (const uint8_t *)req->body;
	q->data.len = (uint32_t)req->body_len;
	proto_sha256(q->data.p, q->data.len, q->hash);
	q->hash_len = sizeof(q->hash);
	/* The first piece says what the file is; storaged, whether it may. */
	if (first == 0)
		q->type = (uint8_t)attach_sniff(q->data.p, q->data.len, &why);
	q->quota = (uint64_t)wsettings.attach_quota_mb * ST_ATT_MB;
	return 0;
}

/* What storaged says of a dropped upload: only logged. */
static void
dropped(const struct storec_result *r, void *arg)
{
	(void)arg;
	if (r->status != STOREC_OK)
		log_warnx("attachments: a refused upload was not deleted "
		    "(the sweep will): %s", storec_why(r));
}

/* The scan's word on the last piece: stored as it says, or refused. */
static void
scanned(struct conn *c, struct st_att_put_req *q, int status, const char *msg)
{
	const char *hdrs = headers_of(c);
	uint16_t type = put_type(c);
	char h[512];

	if (status == 0) {
		ask(c, type, q, piece_done, hdrs);
		return;
	}
	/* Refused: nothing of it left behind, whatever the answer. */
	q->drop = 1;
	q->data.len = 0;
	(void)storec_ask(type == PROTO_ST_ATT_PUT ? NULL : &c->who, type, q,
	    dropped, NULL, NULL);
	/* A 503 (busy, clamd or storaged away) is worth another try. */
	snprintf(h, sizeof(h), "%s%s", hdrs, status == 503 ?
	    "Retry-After: " SCAN_RETRY_AFTER "\r\n" : "");
	conn_send_error(c, status, h, msg);
}

/*
 * An upload id no upload can have (not att_ and 32 hex): 404 no such
 * upload, answered here (too long, it would not even encode for storaged).
 * 1 when answered.
 */
static int
no_such_upload(struct conn *c, const char *hdrs, const char *id)
{
	if (st_prefixed_id_valid(id, "att_"))
		return 0;
	refused(c, hdrs, ST_ATT_NO_UPLOAD, 0, 0, 0);
	return 1;
}

/* A visitor's or an API client's piece q (owner set), or its DELETE. */
static void
client_piece(struct conn *c, struct http_request *req,
    struct st_att_put_req *q)
{
	const char *hdrs = headers_of(c);
	char key[ST_RATE_KEY_MAX + 1];
	int last = 0;

	if (no_such_upload(c, hdrs, q->id))
		return;
	if (req->method == HTTP_DELETE)
		q->drop = 1;
	else if (piece_req(c, req, hdrs, q, &last) < 0)
		return;
	/*
	 * Every piece names its client: a PDF's first is counted against its
	 * PDFs an hour, its last queues its reading in the client's turn.
	 */
	if (!q->drop) {
		clientip_key(c, req, "att:", key, sizeof(key));
		q->rate_key = key;
	}
	if (!last || !att_scan(c, q, scanned))
		ask(c, PROTO_ST_ATT_PUT, q, piece_done, hdrs);
}

void
att_visitor_piece(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_att_put_req q;

	if (preflight(c, req, m))
		return;
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		att_visitor_get(c, req, m);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.widget_id = m->param[0];
	q.id = m->param[1];
	if (visitor_token(c, req, q.token, &q.token_len, &q.origin) < 0)
		return;
	client_piece(c, req, &q);
}

void
att_chat_piece(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_att_put_req q;
	const char *why;

	/* A link from the history: signed, no key (fit for an <img>). */
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		att_chat_get(c, req, m);
		return;
	}
	if (chat_key_refused(c, req, chat_headers))
		return;
	memset(&q, 0, sizeof(q));
	q.widget_id = "";
	q.id = m->param[0];
	q.api = 1;
	if ((why = att_api_session(req, NULL, q.token, &q.token_len)) != NULL)
		conn_send_error(c, 400, chat_headers, why);
	else
		client_piece(c, req, &q);
}

/*
 * A person's piece of upload id, or its DELETE, through the path of
 * conversation conv ("" the canned replies'): storaged refuses an upload
 * made for another as no such upload.
 */
static void
person_piece(struct conn *c, struct http_request *req, const char *conv,
    const char *id)
{
	struct st_att_put_req q;
	int last = 0;

	if (no_such_upload(c, admin_headers, id))
		return;
	memset(&q, 0, sizeof(q));
	q.widget_id = "";
	q.id = id;
	q.conv_id = conv;
	if (req->method == HTTP_DELETE)
		q.drop = 1;
	else if (piece_req(c, req, admin_headers, &q, &last) < 0)
		return;
	if (!last || !att_scan(c, &q, scanned))
		ask(c, PROTO_ST_ATT_ADMIN_PUT, &q, piece_done, admin_headers);
}

void
att_admin_piece(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (req->method == HTTP_GET || req->method == HTTP_HEAD)
		att_admin_get(c, req, m);
	else if (admin_id_param(c, req, m, "id: a conversation's id") != NULL)
		person_piece(c, req, m->param[0], m->param[1]);
}

void
att_canned_piece(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (req->method == HTTP_GET || req->method == HTTP_HEAD)
		att_canned_get(c, req, m);
	else
		person_piece(c, req, "", m->param[0]);
}
