/*
 * The chat endpoints (Open Chat Widget compatible):
 *
 *	POST /v1/chat		JSON reply
 *	POST /v1/chat/stream	NDJSON: start, token..., done | error
 *	POST /chat		the same stream (the widget's legacy path)
 *	GET  /v1/chat/history?sessionId=	a session's messages
 *
 * The order of answers is the reference's: rate limit, then auth, then
 * the body. Auth and the body are checked here first without answering;
 * a request that passes both makes ONE round trip to storaged
 * (ST_CHAT_BEGIN: count it, find or create the conversation, store the
 * user message, return the history), any other one is only counted
 * (ST_RATE_HIT) and then gets its 401 or 400.
 *
 * A chat turn is its own struct, not the connection's: the connection
 * points at it while it waits, and when the client leaves, the turn
 * cancels the model call and still stores what there is (status
 * "interrupted") before it frees itself.
 *
 * storaged answers ST_CHAT_BEGIN early, before its commit (PROTO_F_EARLY),
 * so the model is called while the disk flushes; until the commit is
 * confirmed the visitor is shown nothing (no status line, no token: they
 * wait in the reply), and if it fails the turn answers 503/500 as if the
 * model had never been called, and stores nothing. Every turn that stored a user
 * message ends with exactly one stored assistant message: "complete",
 * "interrupted" (the partial text) or "failed" (the model's error text,
 * never an invented reply). Streams send "done" only after that store
 * was acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "upstream.h"
#include "workerd.h"

#define JSON_HEADERS	"Cache-Control: no-store\r\n"
#define STREAM_HEADERS	"Cache-Control: no-store, no-transform\r\n" \
			"X-Accel-Buffering: no\r\n"
#define STREAM_CTYPE	"application/x-ndjson; charset=utf-8"
#define ERROR_TEXT_MAX	2000	/* bytes of a model error kept in a failed turn */

static struct apikey widget_key;

static const struct chat_upstream_ops real_ops = {
	upstream_start, upstream_resume, upstream_cancel,
};
static const struct chat_upstream_ops *ups = &real_ops;

enum turn_kind { TURN_JSON, TURN_STREAM, TURN_HISTORY };

enum turn_phase {
	PH_RATE,	/* ST_RATE_HIT in flight; then a local answer */
	PH_BEGIN,	/* ST_CHAT_BEGIN in flight */
	PH_MODEL,	/* the model is answering */
	PH_FINISH,	/* the outcome is known; the store is about to start */
	PH_STORE,	/* the assistant message is being stored */
	PH_HISTORY,	/* ST_SESSION_HISTORY in flight */
};

struct turn {
	LIST_ENTRY(turn) entry;
	enum turn_kind kind;
	enum turn_phase phase;
	struct conn *c;			/* NULL once the client left */
	struct storec_req *sreq;	/* the turn's own storaged request */
	struct upstream *up;
	struct loop_defer defer;	/* model finished/capped/abandoned */

	int auth;			/* 0, 401, 503 */
	enum chat_body body;
	char details[CHAT_DETAILS_MAX];
	struct chat_input in;
	char rate_key[ST_RATE_KEY_MAX + 1];

	char conv_id[ST_ID_HEX + 1];
	int unconfirmed;		/* ST_CHAT_BEGIN answered, not yet on disk */
	struct buf reply;		/* the text so far (valid UTF-8) */
	size_t streamed;		/* bytes of it sent as token events */
	int capped;			/* reached ST_CONTENT_MAX: stop the model */
	struct chat_outcome out;
	enum upstream_status ustatus;
	int internal;			/* failed here, not at the model: 500 */
};

static LIST_HEAD(, turn) turns = LIST_HEAD_INITIALIZER(turns);
static size_t nturns;
static struct buf evbuf;	/* send_event's, reused */

static void turn_deferred(void *);
static void turn_store(struct turn *);

void
chat_set_upstream(const struct chat_upstream_ops *ops)
{
	ups = ops != NULL ? ops : &real_ops;
}

void
chat_model_stop(struct upstream **up)
{
	if (*up != NULL)
		ups->cancel(*up);
	*up = NULL;
}

const struct chat_upstream_ops *
chat_upstream(void)
{
	return ups;
}

void
chat_init(const char *key)
{
	apikey_init(&widget_key, key);
}

void
chat_shutdown(void)
{
	apikey_clear(&widget_key);
	buf_free(&evbuf);
}

size_t
chat_turns(void)
{
	return nturns;
}

/* --------------------------------------------------------- validation */

int
chat_auth(const struct http_request *req)
{
	const char *k = http_header(req, "x-api-key");

	if (k == NULL || *k == '\0')
		k = http_header(req, "x-widget-api-key");
	return apikey_check(&widget_key, k);
}

int
chat_session_valid(const char *s, size_t len)
{
	size_t i;
	char ch;

	if (len < 1 || len > CHAT_SESSION_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == ':' || ch == '-'))
			return 0;
	}
	return 1;
}

int
chat_json_ctype(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void
detail(char *details, size_t sz, const char *what)
{
	if (details[0] != '\0')
		strlcat(details, "; ", sz);
	strlcat(details, what, sz);
}

void
chat_input_free(struct chat_input *in)
{
	free(in->message);
	memset(in, 0, sizeof(*in));
}

enum chat_body
chat_parse_body(const char *ctype, const char *body, size_t len,
    struct chat_input *in, char *details, size_t dsz)
{
	json_error_t jerr;
	json_t *root, *sid, *msg;
	const char *s;
	size_t n, chars;

	memset(in, 0, sizeof(*in));
	details[0] = '\0';
	if (!chat_json_ctype(ctype)) {
		detail(details, dsz, "Content-Type must be application/json");
		return CHAT_BODY_INVALID;
	}
	for (n = 0; n < len && (body[n] == ' ' || body[n] == '\t' ||
	    body[n] == '\r' || body[n] == '\n'); n++)
		;
	if (n == len) {
		detail(details, dsz, "sessionId: required; message: required");
		return CHAT_BODY_INVALID;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		snprintf(details, dsz, "%s (line %d, column %d)", jerr.text,
		    jerr.line, jerr.column);
		return CHAT_BODY_MALFORMED;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		detail(details, dsz, "the body must be a JSON object");
		return CHAT_BODY_INVALID;
	}
	sid = json_object_get(root, "sessionId");
	msg = json_object_get(root, "message");
	if (sid == NULL)
		detail(details, dsz, "sessionId: required");
	else if (!json_is_string(sid))
		detail(details, dsz, "sessionId: must be a string");
	else if (!chat_session_valid(json_string_value(sid),
	    json_string_length(sid)))
		detail(details, dsz,
		    "sessionId: must match ^[A-Za-z0-9._:-]{1,128}$");
	if (msg == NULL)
		detail(details, dsz, "message: required");
	else if (!json_is_string(msg))
		detail(details, dsz, "message: must be a string");
	else {
		s = json_string_value(msg);
		n = json_string_length(msg);
		chars = utf8_chars(s, n);
		if (memchr(s, '\0', n) != NULL)
			detail(details, dsz,
			    "message: must not contain NUL characters");
		else if (chars < 1 || chars > CHAT_MESSAGE_MAX)
			detail(details, dsz,
			    "message: must be 1 to 4000 characters");
	}
	if (details[0] != '\0') {
		json_decref(root);
		return CHAT_BODY_INVALID;
	}
	strlcpy(in->session, json_string_value(sid), sizeof(in->session));
	in->message = strndup(json_string_value(msg), json_string_length(msg));
	json_decref(root);
	if (in->message == NULL) {
		detail(details, dsz, "out of memory");
		return CHAT_BODY_MALFORMED;
	}
	return CHAT_BODY_OK;
}

/* ------------------------------------------------------------- JSON */

/* A well-formed UTF-8 sequence at s, NUL counted as invalid; 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	return n > 0 && s[0] != 0 ? utf8_seq_len(s, n) : 0;
}

/*
 * Appends text as valid UTF-8 without NUL (each bad byte becomes U+FFFD),
 * at most max bytes and never cutting a character. Returns the bytes of
 * text used; less than len when max was reached.
 */
size_t
chat_utf8_append(struct buf *b, const char *text, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, n, added = 0;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			if (added + 3 > max)
				break;
			buf_add(b, "\xef\xbf\xbd", 3);
			added += 3;
			i++;
			continue;
		}
		if (added + n > max)
			break;
		buf_add(b, p + i, n);
		added += n;
		i += n;
	}
	return i;
}

int
chat_ndjson(struct buf *b, json_t *v)
{
	char *s, *p;
	size_t start;

	s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (s == NULL)
		return -1;
	/*
	 * U+2028 and U+2029 are legal inside JSON strings but end a line
	 * for some readers: escape them. Only strings can hold them.
	 */
	start = 0;
	for (p = s; (p = strstr(p, "\xe2\x80")) != NULL; ) {
		if (p[2] == '\xa8' || p[2] == '\xa9') {
			buf_add(b, s + start, (size_t)(p - s) - start);
			buf_adds(b, p[2] == '\xa8' ? "\\u2028" : "\\u2029");
			p += 3;
			start = (size_t)(p - s);
		} else
			p += 2;
	}
	buf_adds(b, s + start);
	buf_adds(b, "\n");
	free(s);
	return b->err ? -1 : 0;
}

/*
 * One NDJSON event {"type":type,"k1":v1[,"k2":v2]} with string values, as
 * its own chunk: the same bytes chat_ndjson makes of such an object, but
 * written straight into one reused buffer, since the events of a stream
 * are most of what a worker writes. v1 is len1 bytes; v2 a C string.
 */
static void
send_event(struct conn *c, const char *type, const char *k1, const char *v1,
    size_t len1, const char *k2, const char *v2)
{
	struct buf *b = &evbuf;

	b->len = b->off = 0;
	buf_adds(b, "{\"type\":");
	buf_add_jstr(b, type, strlen(type));
	if (k1 != NULL) {
		buf_adds(b, ",\"");
		buf_adds(b, k1);
		buf_adds(b, "\":");
		buf_add_jstr(b, v1, len1);
	}
	if (k2 != NULL) {
		buf_adds(b, ",\"");
		buf_adds(b, k2);
		buf_adds(b, "\":");
		buf_add_jstr(b, v2, strlen(v2));
	}
	buf_adds(b, "}\n");
	if (b->err)
		log_warnx("chat: cannot encode an event");
	else
		conn_stream_write(c, b->data, b->len);
	/* Keep a buffer of everyday size, not the largest reply's. */
	if (b->err || b->cap > 64 * 1024)
		buf_free(b);
}

/* ------------------------------------------------------------ turns */

static struct turn *
turn_new(enum turn_kind kind, struct conn *c)
{
	struct turn *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->kind = kind;
	t->c = c;
	buf_init(&t->reply);
	loop_defer_init(&t->defer, turn_deferred, t);
	LIST_INSERT_HEAD(&turns, t, entry);
	nturns++;
	return t;
}

static struct conn *turn_detach(struct turn *);

static void
turn_free(struct turn *t)
{
	turn_detach(t);
	if (t->sreq != NULL)
		storec_cancel(t->sreq);
	chat_model_stop(&t->up);
	loop_defer_cancel(&t->defer);
	chat_input_free(&t->in);
	buf_free(&t->reply);
	free(t->out.error);
	LIST_REMOVE(t, entry);
	free(t);
	nturns--;
	worker_turn_finished();
}

/* Hands the connection back for the final answer; NULL if it is gone. */
static struct conn *
turn_detach(struct turn *t)
{
	struct conn *c = t->c;

	if (c != NULL && c->hctx == t) {
		c->abort = NULL;
		c->hctx = NULL;
		c->drained = NULL;
		c->abort_on_eof = 0;
	}
	t->c = NULL;
	return c;
}

/* A JSON error as the whole answer, then the turn is over. */
static void
turn_fail(struct turn *t, int status, const char *headers, const char *msg)
{
	struct conn *c = turn_detach(t);

	if (c != NULL)
		conn_send_error(c, status, headers, msg);
	turn_free(t);
}

static void
turn_limited(struct turn *t, uint64_t retry_ms)
{
	char hdr[96];
	uint64_t secs = (retry_ms + 999) / 1000;

	if (secs == 0)
		secs = 1;
	snprintf(hdr, sizeof(hdr), "Retry-After: %llu\r\n" JSON_HEADERS,
	    (unsigned long long)secs);
	turn_fail(t, 429, hdr, "Too many requests");
}

/* The local verdict of a request that will not reach the model. */
static void
turn_verdict(struct turn *t)
{
	const char *msg;
	struct conn *c;
	json_t *o;

	if (t->auth == 503) {
		turn_fail(t, 503, JSON_HEADERS,
		    "WIDGET_API_KEY is not configured on this deployment");
		return;
	}
	if (t->auth != 0) {
		turn_fail(t, 401, JSON_HEADERS, "Unauthorized");
		return;
	}
	msg = t->body == CHAT_BODY_MALFORMED ? "Invalid JSON body" :
	    "Invalid request payload";
	if (resp_production() || t->details[0] == '\0') {
		turn_fail(t, 400, JSON_HEADERS, msg);
		return;
	}
	/* Outside production, say what is wrong. */
	c = turn_detach(t);
	if (c != NULL) {
		o = json_pack("{s:s, s:o}", "error", msg, "details",
		    json_text(t->details));
		conn_send_json(c, 400, JSON_HEADERS, o);
	}
	turn_free(t);
}

/* A storaged failure before the model: 503, or 500 for a real error. */
static void
turn_storage_failed(struct turn *t, const struct storec_result *r,
    const char *what)
{
	if (r->status == STOREC_ERROR && r->code != PROTO_E_UNAVAILABLE) {
		log_warnx("chat: %s: storaged: %s: %s", what,
		    proto_err_name(r->code), r->message);
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	turn_fail(t, 503, JSON_HEADERS, "Storage unavailable");
}

/* The client is gone (or cannot be answered): wind the turn down. */
static void
turn_client_left(struct turn *t)
{
	t->c = NULL;
	switch (t->phase) {
	case PH_RATE:
	case PH_HISTORY:
		/* Nothing was written that needs an answer: forget it. */
		turn_free(t);
		return;
	case PH_BEGIN:
		/* The user message may be stored: begin_done finishes. */
		return;
	case PH_MODEL:
		chat_model_stop(&t->up);
		t->out.status = "interrupted";
		t->phase = PH_FINISH;
		log_debug("chat: client left; storing %zu bytes of the reply",
		    buf_pending(&t->reply));
		loop_defer(&t->defer);
		return;
	case PH_FINISH:
	case PH_STORE:
		/* The outcome is decided; the store goes on. */
		return;
	}
}

static void
chat_abort(struct conn *c)
{
	if (c->hctx != NULL)
		turn_client_left(c->hctx);
}

/* ------------------------------------------------------------ model */

static void chat_drained(struct conn *);

static int
up_can_write(void *arg)
{
	struct turn *t = arg;

	if (t->c == NULL || t->capped || t->phase != PH_MODEL)
		return 0;
	if (t->kind != TURN_STREAM ||
	    conn_out_pending(t->c) < CHAT_OUT_HIGH)
		return 1;
	/* The client is slow: pause the model until it catches up. */
	conn_watch_drain(t->c, chat_drained);
	return 0;
}

static void
chat_drained(struct conn *c)
{
	struct turn *t = c->hctx;

	if (t != NULL && t->phase == PH_MODEL && t->up != NULL && !t->capped)
		ups->resume(t->up);
}

/* Only white space (or nothing). */
int
chat_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* Sends the reply's text not yet sent as one token event, when it may. */
static void
turn_send_tokens(struct turn *t)
{
	if (t->kind != TURN_STREAM || t->c == NULL || t->unconfirmed ||
	    t->reply.len == t->streamed)
		return;
	/*
	 * Leading white space waits for the first visible character: a
	 * reply that turns out blank is replaced by CHAT_EMPTY_REPLY, and
	 * the tokens must still add up to what "done" says.
	 */
	if (t->streamed == 0 && chat_blank(t->reply.data, t->reply.len))
		return;
	send_event(t->c, "token", "token", t->reply.data + t->streamed,
	    t->reply.len - t->streamed, NULL, NULL);
	t->streamed = t->reply.len;
}

/* A stream's status line and "start" event; -1 if the client is gone. */
static int
turn_stream_start(struct turn *t)
{
	if (t->kind != TURN_STREAM || t->c == NULL)
		return 0;
	if (conn_stream_start(t->c, 200, STREAM_HEADERS, STREAM_CTYPE) < 0)
		return -1;
	send_event(t->c, "start", "conversationId", t->conv_id,
	    strlen(t->conv_id), NULL, NULL);
	return 0;
}

static void
up_delta(void *arg, const char *text, size_t len)
{
	struct turn *t = arg;
	size_t before, used;

	if (t->phase != PH_MODEL || t->capped || len == 0)
		return;
	before = t->reply.len;
	used = chat_utf8_append(&t->reply, text, len,
	    ST_CONTENT_MAX - buf_pending(&t->reply));
	if (used < len) {
		/* storaged keeps 64 KiB of a message: stop the model here. */
		log_warnx("chat: reply reached %u bytes; stopping the model",
		    ST_CONTENT_MAX);
		t->capped = 1;
		loop_defer(&t->defer);
	}
	if (t->reply.len != before)
		turn_send_tokens(t);
}

char *
chat_model_error(const struct upstream_result *r)
{
	char text[ERROR_TEXT_MAX + 1];
	struct buf b;
	char *s;

	if (r->status == UPSTREAM_HTTP_ERROR && r->error != NULL &&
	    r->error[0] != '\0')
		snprintf(text, sizeof(text), "model answered HTTP %d: %s",
		    r->http_status, r->error);
	else if (r->error != NULL && r->error[0] != '\0')
		snprintf(text, sizeof(text), "%s", r->error);
	else if (r->status == UPSTREAM_HTTP_ERROR)
		snprintf(text, sizeof(text), "model answered HTTP %d",
		    r->http_status);
	else if (r->status == UPSTREAM_TIMEOUT)
		snprintf(text, sizeof(text), "model timed out");
	else
		snprintf(text, sizeof(text), "model stream broken");
	/* Stored as the failed turn's content: valid UTF-8 only. */
	buf_init(&b);
	chat_utf8_append(&b, text, strlen(text), ERROR_TEXT_MAX);
	buf_add(&b, "", 1);
	s = b.err ? NULL : strdup(b.data);
	buf_free(&b);
	log_warnx("chat: model call failed: %s", s != NULL ? s : text);
	return s;
}

void
chat_outcome_model(struct chat_outcome *o, const struct upstream_result *r)
{
	o->prompt_tokens = r->prompt_tokens;
	o->completion_tokens = r->completion_tokens;
	if (r->status == UPSTREAM_OK)
		o->status = "complete";
	else {
		o->status = "failed";
		o->error = chat_model_error(r);
	}
}

static void
up_done(void *arg, const struct upstream_result *r)
{
	struct turn *t = arg;

	t->up = NULL;
	if (t->phase != PH_MODEL)
		return;
	t->ustatus = r->status;
	chat_outcome_model(&t->out, r);
	t->phase = PH_FINISH;
	/* Not from inside the model client's callback. */
	loop_defer(&t->defer);
}

static void
turn_deferred(void *arg)
{
	struct turn *t = arg;

	if (t->phase == PH_MODEL && t->capped) {
		chat_model_stop(&t->up);
		t->out.status = "complete";
		t->phase = PH_FINISH;
	}
	/* A reply is stored only after the question it answers. */
	if (t->phase == PH_FINISH && !t->unconfirmed)
		turn_store(t);
}

int
chat_model_req(struct upstream_req *req, const struct chat_history *h,
    const char *model, const char *system_prompt)
{
	struct upstream_msg *msgs;
	uint32_t i, k = 0;

	memset(req, 0, sizeof(*req));
	if ((msgs = calloc(h->n ? h->n : 1, sizeof(*msgs))) == NULL)
		return -1;
	for (i = 0; i < h->n; i++) {
		/* A reply cut before its first word says nothing. */
		if (h->contents[i][0] == '\0')
			continue;
		msgs[k].role = h->roles[i];
		msgs[k].content = h->contents[i];
		k++;
	}
	req->msgs = msgs;
	req->nmsgs = k;
	if (model != NULL && model[0] != '\0')
		req->model = model;
	if (system_prompt != NULL && system_prompt[0] != '\0')
		req->system_prompt = system_prompt;
	return 0;
}

void
chat_model_req_free(struct upstream_req *req)
{
	free((struct upstream_msg *)req->msgs);
	req->msgs = NULL;
}

/* Starts the model with the history (oldest first, the new message last). */
static void
turn_model(struct turn *t, const struct chat_history *h)
{
	static const struct upstream_cbs cbs = {
		up_can_write, up_delta, up_done,
	};
	struct upstream_req req;

	if (chat_model_req(&req, h, NULL, NULL) < 0) {
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	if (!t->unconfirmed && turn_stream_start(t) < 0) {
		chat_model_req_free(&req);
		turn_free(t);
		return;
	}
	t->phase = PH_MODEL;
	t->up = ups->start(&req, &cbs, t);
	chat_model_req_free(&req);
	if (t->phase != PH_MODEL)
		t->up = NULL;	/* it finished already: the handle is gone */
	else if (t->up == NULL) {
		t->out.status = "failed";
		t->ustatus = UPSTREAM_BROKEN;
		t->out.error = strdup("the model request could not be started");
		log_warnx("chat: the model request could not be started");
		t->phase = PH_FINISH;
		loop_defer(&t->defer);
	}
}

/* ------------------------------------------------------------ storing */

const char *
chat_reply_content(const struct chat_outcome *o, struct buf *reply)
{
	if (strcmp(o->status, "failed") == 0)
		return o->error != NULL ? o->error : "model call failed";
	if (strcmp(o->status, "complete") == 0 &&
	    chat_blank(reply->data, reply->len))
		return CHAT_EMPTY_REPLY;
	buf_add(reply, "", 1);
	reply->len--;		/* NUL-terminated, not counted */
	return reply->data != NULL ? reply->data : "";
}

static const char *
turn_content(struct turn *t)
{
	return chat_reply_content(&t->out, &t->reply);
}

static void
store_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;
	struct conn *c;
	const char *content = turn_content(t), *pub;
	int failed = strcmp(t->out.status, "failed") == 0, ok;
	json_t *o;

	ok = r->status == STOREC_OK;
	if (!ok)
		log_warnx("chat: storing the %s reply of %s failed: %s",
		    t->out.status, t->conv_id, r->status == STOREC_ERROR ?
		    r->message : "storaged unavailable");
	if ((c = t->c) == NULL) {
		turn_free(t);
		return;
	}
	pub = t->internal ? "Internal server error" :
	    t->ustatus == UPSTREAM_TIMEOUT ? "Upstream model timeout" :
	    "Upstream model error";
	if (t->kind == TURN_STREAM) {
		if (!failed && !ok)
			pub = r->status == STOREC_ERROR && r->code !=
			    PROTO_E_UNAVAILABLE ? "Internal server error" :
			    "Storage unavailable";
		if (failed || !ok)
			send_event(c, "error", "error", pub, strlen(pub), NULL,
			    NULL);
		else {
			/* The stand-in for a blank reply is a token too. */
			if (chat_blank(t->reply.data, t->reply.len))
				send_event(c, "token", "token", CHAT_EMPTY_REPLY,
				    strlen(CHAT_EMPTY_REPLY), NULL, NULL);
			send_event(c, "done", "message", content,
			    strlen(content), "conversationId", t->conv_id);
		}
		turn_detach(t);
		conn_stream_end(c);
		turn_free(t);
		return;
	}
	if (failed) {
		turn_fail(t, t->internal ? 500 : t->ustatus == UPSTREAM_TIMEOUT ?
		    504 : 502, JSON_HEADERS, pub);
		return;
	}
	if (!ok) {
		turn_storage_failed(t, r, "storing the reply");
		return;
	}
	o = json_object();
	if (o != NULL && (json_object_set_new(o, "conversationId",
	    json_text(t->conv_id)) < 0 || json_object_set_new(o, "message",
	    json_text(content)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	turn_detach(t);
	conn_send_json(c, 200, JSON_HEADERS, o);
	turn_free(t);
}

int
chat_store_reply(const char *conv_id, const struct chat_outcome *o,
    struct buf *reply, storec_cb cb, void *arg, struct storec_req **handle)
{
	struct penc e;

	penc_init(&e);
	penc_str(&e, conv_id);
	penc_str(&e, "assistant");
	penc_str(&e, chat_reply_content(o, reply));
	penc_str(&e, o->status);
	penc_u32(&e, o->prompt_tokens);
	penc_u32(&e, o->completion_tokens);
	return storec_send(PROTO_ST_MSG_APPEND, &e, cb, arg, handle);
}

void
chat_store_unavailable(storec_cb cb, void *arg)
{
	struct storec_result r;

	memset(&r, 0, sizeof(r));
	r.status = STOREC_UNAVAILABLE;
	r.message = "";
	cb(&r, arg);
}

static void
turn_store(struct turn *t)
{
	t->phase = PH_STORE;
	if (chat_store_reply(t->conv_id, &t->out, &t->reply, store_done, t,
	    &t->sreq) < 0)
		chat_store_unavailable(store_done, t);
}

/* --------------------------------------------------------- begin */

/* ST_CHAT_BEGIN's commit, after its early answer started the turn. */
static void
begin_confirmed(struct turn *t, const struct storec_result *r)
{
	t->unconfirmed = 0;
	if (r->status != STOREC_OK) {
		/* The question never reached the disk: nothing to answer it. */
		chat_model_stop(&t->up);
		turn_storage_failed(t, r, "starting the turn");
		return;
	}
	if (t->phase != PH_MODEL && t->phase != PH_FINISH)
		return;
	if (turn_stream_start(t) < 0) {
		turn_detach(t);
		turn_client_left(t);
		return;
	}
	turn_send_tokens(t);
	if (t->phase == PH_FINISH)
		loop_defer(&t->defer);
}

int
chat_history_dec(struct pdec *d, struct chat_history *h)
{
	struct st_msg msg;
	uint32_t n, i;
	int bad = 0;

	memset(h, 0, sizeof(*h));
	if (pdec_msg(d, &msg) == 0)
		st_msg_free(&msg);
	else
		bad = 1;
	n = pdec_u32(d);
	if (bad || d->err || n > ST_HISTORY_MAX ||
	    (h->roles = calloc(n + 1, sizeof(*h->roles))) == NULL ||
	    (h->contents = calloc(n + 1, sizeof(*h->contents))) == NULL)
		return -1;
	h->n = n;
	for (i = 0; i < n && !d->err; i++) {
		h->roles[i] = pdec_strdup(d, ST_ROLE_MAX);
		h->contents[i] = pdec_strdup(d, ST_CONTENT_MAX);
	}
	return pdec_done(d);
}

void
chat_history_free(struct chat_history *h)
{
	uint32_t i;

	for (i = 0; h->roles != NULL && i < h->n; i++) {
		free(h->roles[i]);
		free(h->contents != NULL ? h->contents[i] : NULL);
	}
	free(h->roles);
	free(h->contents);
	memset(h, 0, sizeof(*h));
}

/*
 * ST_CHAT_BEGIN -> u8 limited, u64 retry_after_ms, and when not limited:
 * u8 created, conv, msg, u32 n, n x (str role, str content).
 */
static void
begin_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;
	struct chat_history h;
	struct st_conv conv;
	struct pdec d;
	uint64_t retry;
	uint8_t limited;
	int bad;

	if (t->unconfirmed) {
		begin_confirmed(t, r);
		return;
	}
	if (r->status != STOREC_OK) {
		turn_storage_failed(t, r, "starting the turn");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	limited = pdec_u8(&d);
	retry = pdec_u64(&d);
	if (d.err) {
		log_warnx("chat: malformed ST_CHAT_BEGIN reply");
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	if (limited) {
		turn_limited(t, retry);
		return;
	}
	(void)pdec_u8(&d);	/* created */
	if (pdec_conv(&d, &conv) < 0) {
		log_warnx("chat: malformed ST_CHAT_BEGIN reply");
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	strlcpy(t->conv_id, conv.id, sizeof(t->conv_id));
	st_conv_free(&conv);
	t->unconfirmed = r->early;
	bad = chat_history_dec(&d, &h) < 0;
	/* The user message is stored now; the turn must end with a reply. */
	chat_input_free(&t->in);
	if (bad) {
		log_warnx("chat: malformed ST_CHAT_BEGIN reply");
		t->out.status = "failed";
		t->out.error = strdup("internal error: malformed history");
		t->phase = PH_FINISH;
		/* Nothing was streamed yet: a JSON 500, after the store. */
		t->kind = TURN_JSON;
		t->internal = 1;
		loop_defer(&t->defer);
	} else if (t->c == NULL) {
		/* The client left while we were starting: record that. */
		t->out.status = "interrupted";
		t->phase = PH_FINISH;
		loop_defer(&t->defer);
	} else
		turn_model(t, &h);
	chat_history_free(&h);
}

static int
turn_begin(struct turn *t)
{
	struct penc e;
	int rv;

	t->phase = PH_BEGIN;
	penc_init(&e);
	penc_str(&e, ST_DEFAULT_WIDGET);
	penc_str(&e, t->in.session);
	penc_str(&e, t->in.message);
	penc_str(&e, t->rate_key);
	penc_u32(&e, wsettings.rate_window_ms);
	penc_u32(&e, wsettings.rate_max);
	penc_u32(&e, wsettings.max_history);
	rv = e.err ? -1 : storec_call_early(PROTO_ST_CHAT_BEGIN, e.buf, e.len,
	    begin_done, t, &t->sreq);
	penc_free(&e);
	return rv;
}

/* ------------------------------------------------------------ rate */

static void turn_history(struct turn *);

/* ST_RATE_HIT -> u8 limited, u64 retry_after_ms */
static void
rate_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;
	struct pdec d;
	uint64_t retry;
	uint8_t limited;

	if (r->status == STOREC_OK) {
		pdec_init(&d, r->payload, r->len);
		limited = pdec_u8(&d);
		retry = pdec_u64(&d);
		if (pdec_done(&d) == 0 && limited) {
			turn_limited(t, retry);
			return;
		}
		if (d.err)
			log_warnx("chat: malformed ST_RATE_HIT reply");
	} else if (t->kind == TURN_HISTORY && t->auth == 0 &&
	    t->body == CHAT_BODY_OK) {
		turn_storage_failed(t, r, "rate limit");
		return;
	}
	/*
	 * Not limited (or the count could not be made: a request that is
	 * refused anyway gets its refusal rather than a 503).
	 */
	if (t->auth != 0 || t->body != CHAT_BODY_OK)
		turn_verdict(t);
	else
		turn_history(t);
}

static int
turn_rate(struct turn *t)
{
	struct penc e;
	int rv;

	t->phase = PH_RATE;
	penc_init(&e);
	penc_str(&e, t->rate_key);
	penc_u32(&e, wsettings.rate_window_ms);
	penc_u32(&e, wsettings.rate_max);
	rv = e.err ? -1 : storec_call(PROTO_ST_RATE_HIT, e.buf, e.len,
	    rate_done, t, &t->sreq);
	penc_free(&e);
	return rv;
}

/* --------------------------------------------------------- handlers */

static struct turn *
turn_open(struct conn *c, struct http_request *req, enum turn_kind kind,
    const char *key_prefix)
{
	struct ipaddr ip;
	char addr[64];
	struct turn *t;

	if ((t = turn_new(kind, c)) == NULL) {
		log_warn("chat");
		conn_send_error(c, 500, JSON_HEADERS, "Internal server error");
		return NULL;
	}
	clientip_of(c, req, &ip);
	ipaddr_format(&ip, addr, sizeof(addr));
	snprintf(t->rate_key, sizeof(t->rate_key), "%s%s", key_prefix, addr);
	c->hctx = t;
	c->abort = chat_abort;
	c->abort_on_eof = 1;
	t->auth = chat_auth(req);
	return t;
}

static void
chat_post(struct conn *c, struct http_request *req, enum turn_kind kind)
{
	struct turn *t;

	if ((t = turn_open(c, req, kind, "ip:")) == NULL)
		return;
	if (t->auth == 0)
		t->body = chat_parse_body(http_header(req, "content-type"),
		    req->body, req->body_len, &t->in, t->details,
		    sizeof(t->details));
	if (t->auth == 0 && t->body == CHAT_BODY_OK) {
		if (turn_begin(t) < 0)
			turn_fail(t, 503, JSON_HEADERS, "Storage unavailable");
		return;
	}
	/* Refused requests count against the limit too. */
	if (wsettings.rate_max == 0 || turn_rate(t) < 0)
		turn_verdict(t);
}

void
chat_post_v1(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	chat_post(c, req, TURN_JSON);
}

void
chat_post_stream(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	chat_post(c, req, TURN_STREAM);
}

/* ------------------------------------------------------------ history */

/* ST_SESSION_HISTORY -> u8 found, and when found: conv, u32 n, n x msg */
static void
history_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;
	struct st_conv conv;
	struct st_msg msg;
	struct pdec d;
	struct conn *c;
	json_t *root, *arr, *item, *conv_id = NULL;
	uint32_t n = 0, i;
	uint8_t found;
	int err = 0;

	if (r->status != STOREC_OK) {
		turn_storage_failed(t, r, "history");
		return;
	}
	if ((arr = json_array()) == NULL) {
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	found = pdec_u8(&d);
	if (found && !d.err) {
		if (pdec_conv(&d, &conv) < 0)
			err = 1;
		else {
			conv_id = json_text(conv.id);
			st_conv_free(&conv);
			n = pdec_u32(&d);
		}
		for (i = 0; i < n && !err && !d.err; i++) {
			if (pdec_msg(&d, &msg) < 0) {
				err = 1;
				break;
			}
			/* A reply cut before its first word is not shown. */
			if (msg.content[0] != '\0') {
				item = json_pack("{s:o, s:o, s:I}",
				    "role", json_text(msg.role),
				    "content", json_text(msg.content),
				    "createdAt", (json_int_t)msg.created_at);
				if (json_array_append_new(arr, item) < 0)
					err = 1;
			}
			st_msg_free(&msg);
		}
	}
	if (err || pdec_done(&d) < 0) {
		json_decref(arr);
		json_decref(conv_id);
		log_warnx("chat: malformed ST_SESSION_HISTORY reply");
		turn_fail(t, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	root = json_pack("{s:s, s:o, s:o}", "sessionId", t->in.session,
	    "conversationId", conv_id != NULL ? conv_id : json_null(),
	    "messages", arr);
	c = turn_detach(t);
	if (c != NULL)
		conn_send_json(c, 200, JSON_HEADERS, root);
	else
		json_decref(root);
	turn_free(t);
}

static void
turn_history(struct turn *t)
{
	struct penc e;
	int rv;

	t->phase = PH_HISTORY;
	penc_init(&e);
	penc_str(&e, ST_DEFAULT_WIDGET);
	penc_str(&e, t->in.session);
	penc_u32(&e, CHAT_HISTORY_LIMIT);
	rv = e.err ? -1 : storec_call(PROTO_ST_SESSION_HISTORY, e.buf, e.len,
	    history_done, t, &t->sreq);
	penc_free(&e);
	if (rv < 0)
		turn_fail(t, 503, JSON_HEADERS, "Storage unavailable");
}

void
chat_get_history(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char sid[CHAT_SESSION_MAX + 2];
	struct turn *t;
	int r;

	/* Its own counter: restoring a conversation costs no chat turn. */
	if ((t = turn_open(c, req, TURN_HISTORY, "history:ip:")) == NULL)
		return;
	r = http_query_param(req->query, "sessionId", sid, sizeof(sid));
	if (r == 0)
		detail(t->details, sizeof(t->details), "sessionId: required");
	else if (r < 0 || !chat_session_valid(sid, strlen(sid)))
		detail(t->details, sizeof(t->details),
		    "sessionId: must match ^[A-Za-z0-9._:-]{1,128}$");
	else
		strlcpy(t->in.session, sid, sizeof(t->in.session));
	t->body = t->details[0] == '\0' ? CHAT_BODY_OK : CHAT_BODY_INVALID;
	if (wsettings.rate_max != 0) {
		if (turn_rate(t) == 0)
			return;
		if (t->auth == 0 && t->body == CHAT_BODY_OK) {
			turn_fail(t, 503, JSON_HEADERS, "Storage unavailable");
			return;
		}
	}
	if (t->auth != 0 || t->body != CHAT_BODY_OK)
		turn_verdict(t);
	else
		turn_history(t);
}
