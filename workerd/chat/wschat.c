/*
 * The Loquent widget protocol over a WebSocket:
 *
 *	GET /api/widget/{widget_id}/ws?token=<session token>
 *
 * Before the upgrade, one round trip (ST_WS_OPEN) checks the widget and
 * the Origin and resumes the session the token names, or makes a new one:
 * an unknown or expired token simply starts afresh. Then the server sends
 * "session" (the token to keep) and, when resumed, "history".
 *
 * The visitor sends "message" and "contact_info". A message is one chat
 * turn, as in chat.c: one round trip (ST_WS_BEGIN: session, contact rule,
 * rate limit, daily cap, conversation, user message, history), the model,
 * then the reply stored. The visitor sees "typing_start", the reply as
 * "token" events as it streams (Parley's addition), the whole reply as
 * "message", then "typing_stop"; or an "error". One turn at a time per
 * socket. As in chat.c, the model starts on storaged's early answer and
 * nothing is shown before the user message is on disk.
 *
 * A turn outlives its socket: a visitor who leaves mid-reply gets the
 * text so far stored as "interrupted".
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "log.h"
#include "upstream.h"
#include "widgetmsg.h"
#include "workerd.h"
#include "ws.h"

#define TOKEN_BYTES	32
#define TOKEN_LEN	43		/* base64url of 32 bytes, no padding */
#define SHOWN_HISTORY	ST_HISTORY_MAX	/* messages replayed on resume */
#define CLOSE_SESSION_GONE	4001	/* the session expired meanwhile */
#define JSON_HEADERS	"Cache-Control: no-store\r\n"

struct wturn;

struct wsess {
	LIST_ENTRY(wsess) entry;
	struct conn *c;			/* while ST_WS_OPEN is in flight */
	struct ws *ws;			/* once upgraded; NULL once gone */
	struct storec_req *sreq;	/* ST_WS_OPEN, then ST_CONTACT_SUBMIT */
	struct wturn *turn;		/* the turn being answered */
	char wid[ST_WID_LEN + 1];
	char token[TOKEN_LEN + 1];	/* as given; "" when none or malformed */
	char new_token[TOKEN_LEN + 1];
	uint8_t hash[ST_TOKEN_HASH_LEN];	/* of the token in use */
	uint8_t new_hash[ST_TOKEN_HASH_LEN];
	int has_token;
	char rate_key[ST_RATE_KEY_MAX + 1];
	int contact_submitted;
};

enum wturn_phase { WT_BEGIN, WT_MODEL, WT_FINISH, WT_STORE };

struct wturn {
	LIST_ENTRY(wturn) entry;
	struct wsess *s;		/* NULL once the visitor left */
	enum wturn_phase phase;
	struct storec_req *sreq;
	struct upstream *up;
	struct loop_defer defer;
	int unconfirmed;		/* ST_WS_BEGIN answered, not yet on disk */
	int capped;
	int paused;			/* the model waits for the socket to drain */
	char conv_id[ST_ID_HEX + 1];
	struct buf reply;
	size_t streamed;
	struct chat_outcome out;
};

static LIST_HEAD(, wsess) sessions = LIST_HEAD_INITIALIZER(sessions);
static LIST_HEAD(, wturn) turns = LIST_HEAD_INITIALIZER(turns);
static size_t nturns;
static struct buf tokbuf;	/* wsend_token's, reused */

static void wturn_deferred(void *);
static void wschat_event(uint16_t, const uint8_t *, size_t);

void
wschat_init(void)
{
	storec_on_event(wschat_event);
}

size_t
wschat_turns(void)
{
	return nturns;
}

/* --------------------------------------------------------- tokens */

static void
token_hash(const char *token, uint8_t out[ST_TOKEN_HASH_LEN])
{
	SHA256((const unsigned char *)token, strlen(token), out);
}

/* 32 random bytes in base64url without padding. */
static void
token_new(char out[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES], b64[4 * ((TOKEN_BYTES + 2) / 3) + 1];
	size_t i;

	arc4random_buf(raw, sizeof(raw));
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	for (i = 0; i < TOKEN_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[TOKEN_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
}

static int
token_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return i == TOKEN_LEN;
}

/* "wid_" and 32 lowercase hex digits. */
static int
wid_valid(const char *s)
{
	return strncmp(s, ST_WID_PREFIX, 4) == 0 && st_id_valid(s + 4);
}

/* --------------------------------------------------------- sending */

/* Sends o (stolen) as one text message. */
static void
wsend(struct wsess *s, json_t *o)
{
	char *text;

	if (s == NULL || s->ws == NULL) {
		json_decref(o);
		return;
	}
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		log_warnx("wschat: cannot encode a message");
		return;
	}
	if (ws_send_text(s->ws, text, strlen(text)) < 0)
		ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	free(text);
}

static void
wsend_type(struct wsess *s, const char *type)
{
	wsend(s, json_pack("{s:s}", "type", type));
}

static void
wsend_error(struct wsess *s, const char *msg)
{
	wsend(s, json_pack("{s:s, s:s}", "type", "error", "message", msg));
}

/*
 * {"type":"token","token":...} straight into one reused buffer: tokens
 * are most of what the chat sends.
 */
static void
wsend_token(struct wsess *s, const char *text, size_t len)
{
	struct buf *b = &tokbuf;

	if (s == NULL || s->ws == NULL)
		return;
	b->len = b->off = 0;
	buf_adds(b, "{\"type\":\"token\",\"token\":");
	buf_add_jstr(b, text, len);
	buf_adds(b, "}");
	if (b->err)
		log_warnx("wschat: cannot encode a token");
	else if (ws_send_text(s->ws, b->data, b->len) < 0)
		ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	/* Keep a buffer of everyday size, not the largest reply's. */
	if (b->err || b->cap > 64 * 1024)
		buf_free(b);
}

/* --------------------------------------------------------- sessions */

static void
wsess_free(struct wsess *s)
{
	if (s->sreq != NULL)
		storec_cancel(s->sreq);
	if (s->turn != NULL)
		s->turn->s = NULL;
	LIST_REMOVE(s, entry);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

void
wschat_widget_gone(const char *widget_id)
{
	struct wsess *s;

	LIST_FOREACH(s, &sessions, entry)
		if (s->ws != NULL && strcmp(s->wid, widget_id) == 0)
			ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "widget gone");
}

static void
wschat_event(uint16_t type, const uint8_t *payload, size_t len)
{
	char wid[ST_WID_LEN + 1];
	struct pdec d;

	pdec_init(&d, payload, len);
	pdec_strbuf(&d, wid, sizeof(wid));
	if (pdec_done(&d) < 0) {
		log_warnx("wschat: malformed %s", proto_msg_name(type));
		return;
	}
	wschat_widget_gone(wid);
}

/* ------------------------------------------------------------ turns */

static void wturn_store(struct wturn *);

static void
wturn_free(struct wturn *t)
{
	if (t->s != NULL && t->s->turn == t)
		t->s->turn = NULL;
	if (t->sreq != NULL)
		storec_cancel(t->sreq);
	chat_model_stop(&t->up);
	loop_defer_cancel(&t->defer);
	buf_free(&t->reply);
	free(t->out.error);
	LIST_REMOVE(t, entry);
	free(t);
	nturns--;
	worker_turn_finished();
}

/* The visitor is gone: wind the turn down (it may still store). */
static void
wturn_left(struct wturn *t)
{
	t->s = NULL;
	if (t->phase == WT_MODEL) {
		chat_model_stop(&t->up);
		t->out.status = "interrupted";
		t->phase = WT_FINISH;
		loop_defer(&t->defer);
	}
}

/* What may be shown yet: the text not yet sent, as one token event. */
static void
wturn_send_tokens(struct wturn *t)
{
	if (t->s == NULL || t->unconfirmed || t->reply.len == t->streamed)
		return;
	/* Leading blanks wait: a blank reply is replaced. */
	if (t->streamed == 0 && chat_blank(t->reply.data, t->reply.len))
		return;
	wsend_token(t->s, t->reply.data + t->streamed,
	    t->reply.len - t->streamed);
	t->streamed = t->reply.len;
}

static int
up_can_write(void *arg)
{
	struct wturn *t = arg;

	if (t->s == NULL || t->capped || t->phase != WT_MODEL)
		return 0;
	if (ws_out_pending(t->s->ws) < CHAT_OUT_HIGH)
		return 1;
	/* The visitor reads slowly: pause the model until on_drain. */
	t->paused = 1;
	return 0;
}

static void
up_delta(void *arg, const char *text, size_t len)
{
	struct wturn *t = arg;
	size_t used;

	if (t->phase != WT_MODEL || t->capped || len == 0)
		return;
	used = chat_utf8_append(&t->reply, text, len,
	    ST_CONTENT_MAX - buf_pending(&t->reply));
	if (used < len) {
		log_warnx("wschat: reply reached %u bytes; stopping the model",
		    ST_CONTENT_MAX);
		t->capped = 1;
		loop_defer(&t->defer);
	}
	wturn_send_tokens(t);
}

static void
up_done(void *arg, const struct upstream_result *r)
{
	struct wturn *t = arg;

	t->up = NULL;
	if (t->phase != WT_MODEL)
		return;
	chat_outcome_model(&t->out, r);
	t->phase = WT_FINISH;
	loop_defer(&t->defer);
}

static void
wturn_deferred(void *arg)
{
	struct wturn *t = arg;

	if (t->phase == WT_MODEL && t->capped) {
		chat_model_stop(&t->up);
		t->out.status = "complete";
		t->phase = WT_FINISH;
	}
	/* A reply is stored only after the question it answers. */
	if (t->phase == WT_FINISH && !t->unconfirmed)
		wturn_store(t);
}

static void
wturn_model(struct wturn *t, const struct st_widget *w,
    const struct chat_history *h)
{
	static const struct upstream_cbs cbs = {
		up_can_write, up_delta, up_done,
	};
	struct upstream_req req;

	if (chat_model_req(&req, h, w->model, w->system_prompt) < 0) {
		t->out.status = "failed";
		t->out.error = strdup("out of memory");
		t->phase = WT_FINISH;
		loop_defer(&t->defer);
		return;
	}
	t->phase = WT_MODEL;
	t->up = chat_upstream()->start(&req, &cbs, t);
	chat_model_req_free(&req);
	if (t->phase != WT_MODEL)
		t->up = NULL;
	else if (t->up == NULL) {
		t->out.status = "failed";
		t->out.error = strdup("the model request could not be started");
		log_warnx("wschat: the model request could not be started");
		t->phase = WT_FINISH;
		loop_defer(&t->defer);
	}
}

static const char *
wturn_content(struct wturn *t)
{
	return chat_reply_content(&t->out, &t->reply);
}

static void
store_done(const struct storec_result *r, void *arg)
{
	struct wturn *t = arg;
	struct wsess *s = t->s;
	const char *content = wturn_content(t);

	if (r->status != STOREC_OK)
		log_warnx("wschat: storing the %s reply of %s failed: %s",
		    t->out.status, t->conv_id, r->status == STOREC_ERROR ?
		    r->message : "storaged unavailable");
	if (s != NULL) {
		if (strcmp(t->out.status, "failed") == 0)
			wsend_error(s, "The assistant could not answer right "
			    "now. Please try again.");
		else if (r->status != STOREC_OK)
			wsend_error(s, "Your conversation could not be saved. "
			    "Please try again.");
		else {
			if (chat_blank(t->reply.data, t->reply.len))
				wsend_token(s, CHAT_EMPTY_REPLY,
				    strlen(CHAT_EMPTY_REPLY));
			wsend(s, json_pack("{s:s, s:s, s:s}", "type", "message",
			    "role", "assistant", "content", content));
		}
		wsend_type(s, "typing_stop");
	}
	wturn_free(t);
}

static void
wturn_store(struct wturn *t)
{
	t->phase = WT_STORE;
	if (chat_store_reply(t->conv_id, &t->out, &t->reply, store_done, t,
	    &t->sreq) < 0)
		chat_store_unavailable(store_done, t);
}

/* A turn that ends before the model: the visitor hears why. */
static void
wturn_refuse(struct wturn *t, const char *msg)
{
	if (t->s != NULL && msg != NULL)
		wsend_error(t->s, msg);
	wturn_free(t);
}

static void
wturn_refused(struct wturn *t, uint8_t result, uint64_t retry_ms)
{
	struct wsess *s = t->s;
	char msg[160];

	switch (result) {
	case ST_WS_NO_WIDGET:
		if (s != NULL)
			ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "widget gone");
		wturn_free(t);
		return;
	case ST_WS_NO_SESSION:
		/* The widget reconnects with its token and starts afresh. */
		if (s != NULL)
			ws_close(s->ws, CLOSE_SESSION_GONE, "session expired");
		wturn_free(t);
		return;
	case ST_WS_CONTACT:
		wturn_refuse(t, "Please share your contact details before "
		    "chatting.");
		return;
	case ST_WS_LIMITED:
		snprintf(msg, sizeof(msg), "Too many messages. Please wait "
		    "%llu seconds and try again.",
		    (unsigned long long)((retry_ms + 999) / 1000 ?
		    (retry_ms + 999) / 1000 : 1));
		wturn_refuse(t, msg);
		return;
	case ST_WS_CAPPED:
		wturn_refuse(t, "This chat has reached its daily message "
		    "limit. Please come back tomorrow.");
		return;
	default:
		log_warnx("wschat: ST_WS_BEGIN result %u", result);
		wturn_refuse(t, "Something went wrong. Please try again.");
		return;
	}
}

/* ST_WS_BEGIN's commit, after its early answer started the turn. */
static void
begin_confirmed(struct wturn *t, const struct storec_result *r)
{
	t->unconfirmed = 0;
	if (r->status != STOREC_OK) {
		/* The message never reached the disk: nothing to answer. */
		chat_model_stop(&t->up);
		wturn_refuse(t, "Your message could not be saved. Please try "
		    "again.");
		return;
	}
	if (t->s != NULL)
		wsend_type(t->s, "typing_start");
	wturn_send_tokens(t);
	if (t->phase == WT_FINISH)
		loop_defer(&t->defer);
}

/*
 * ST_WS_BEGIN -> u8 result, u64 retry_after_ms, and when OK: widget,
 * u8 created, conv, msg, u32 n, n x (str role, str content)
 */
static void
begin_done(const struct storec_result *r, void *arg)
{
	struct wturn *t = arg;
	struct chat_history h;
	struct st_widget w;
	struct st_conv conv;
	struct pdec d;
	uint64_t retry;
	uint8_t result;
	int bad;

	if (t->unconfirmed) {
		begin_confirmed(t, r);
		return;
	}
	if (r->status != STOREC_OK) {
		if (r->status == STOREC_ERROR)
			log_warnx("wschat: ST_WS_BEGIN: %s: %s",
			    proto_err_name(r->code), r->message);
		wturn_refuse(t, "The chat is unavailable right now. Please "
		    "try again.");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	result = pdec_u8(&d);
	retry = pdec_u64(&d);
	if (!d.err && result != ST_WS_OK) {
		wturn_refused(t, result, retry);
		return;
	}
	if (d.err || pdec_widget(&d, &w) < 0) {
		log_warnx("wschat: malformed ST_WS_BEGIN reply");
		wturn_refuse(t, "Something went wrong. Please try again.");
		return;
	}
	(void)pdec_u8(&d);	/* created */
	memset(&h, 0, sizeof(h));
	if (pdec_conv(&d, &conv) == 0) {
		strlcpy(t->conv_id, conv.id, sizeof(t->conv_id));
		st_conv_free(&conv);
		bad = chat_history_dec(&d, &h) < 0;
	} else
		bad = 1;
	t->unconfirmed = r->early;
	if (bad && t->conv_id[0] == '\0') {
		log_warnx("wschat: malformed ST_WS_BEGIN reply");
		t->unconfirmed = 0;	/* nothing to store against */
		wturn_refuse(t, "Something went wrong. Please try again.");
	} else if (bad) {
		/* The user message is stored: record the failed turn. */
		log_warnx("wschat: malformed ST_WS_BEGIN reply");
		t->out.status = "failed";
		t->out.error = strdup("internal error: malformed history");
		t->phase = WT_FINISH;
		loop_defer(&t->defer);
	} else if (t->s == NULL) {
		t->out.status = "interrupted";
		t->phase = WT_FINISH;
		loop_defer(&t->defer);
	} else {
		if (!t->unconfirmed)
			wsend_type(t->s, "typing_start");
		wturn_model(t, &w, &h);
	}
	chat_history_free(&h);
	st_widget_free(&w);
}

static void
on_message(struct wsess *s, const struct wsmsg *m)
{
	struct wturn *t;
	struct penc e;

	if (s->turn != NULL) {
		wsend_error(s, "Please wait for the reply to finish.");
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		wsend_error(s, "Something went wrong. Please try again.");
		return;
	}
	t->s = s;
	t->phase = WT_BEGIN;
	buf_init(&t->reply);
	loop_defer_init(&t->defer, wturn_deferred, t);
	LIST_INSERT_HEAD(&turns, t, entry);
	nturns++;
	s->turn = t;
	penc_init(&e);
	penc_str(&e, s->wid);
	penc_bytes(&e, s->hash, sizeof(s->hash));
	penc_strn(&e, m->content, m->content_len);
	penc_str(&e, s->rate_key);
	penc_u32(&e, wsettings.rate_window_ms);
	penc_u32(&e, wsettings.rate_max);
	penc_u32(&e, wsettings.max_history);
	penc_u64(&e, (uint64_t)wsettings.session_idle_days * 86400000ull);
	if (e.err || storec_call_early(PROTO_ST_WS_BEGIN, e.buf, e.len,
	    begin_done, t, &t->sreq) < 0)
		wturn_refuse(t, "The chat is unavailable right now. Please try "
		    "again.");
	penc_free(&e);
}

/* ------------------------------------------------------------ contact */

/* ST_CONTACT_SUBMIT -> u8 result, and when OK: contact */
static void
contact_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_contact ct;
	struct pdec d;
	uint8_t result;

	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		/* storaged's text names the field: "email: ..." */
		wsend_error(s, r->message);
		return;
	}
	if (r->status != STOREC_OK) {
		wsend_error(s, "Your details could not be saved. Please try "
		    "again.");
		return;
	}
	pdec_init(&d, r->payload, r->len);
	result = pdec_u8(&d);
	if (!d.err && result == ST_WS_NO_WIDGET) {
		ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "widget gone");
		return;
	}
	if (!d.err && result == ST_WS_NO_SESSION) {
		ws_close(s->ws, CLOSE_SESSION_GONE, "session expired");
		return;
	}
	if (d.err || result != ST_WS_OK || pdec_contact(&d, &ct) < 0) {
		log_warnx("wschat: malformed ST_CONTACT_SUBMIT reply");
		wsend_error(s, "Something went wrong. Please try again.");
		return;
	}
	st_contact_free(&ct);
	s->contact_submitted = 1;
	wsend_type(s, "contact_info_saved");
}

static void
on_contact(struct wsess *s, const struct wsmsg *m)
{
	struct penc e;

	if (s->sreq != NULL) {
		wsend_error(s, "Your details are being saved.");
		return;
	}
	penc_init(&e);
	penc_str(&e, s->wid);
	penc_bytes(&e, s->hash, sizeof(s->hash));
	penc_str(&e, m->name);
	penc_str(&e, m->email);
	penc_str(&e, m->phone);
	if (storec_send(PROTO_ST_CONTACT_SUBMIT, &e, contact_done, s,
	    &s->sreq) < 0)
		wsend_error(s, "Your details could not be saved. Please try "
		    "again.");
}

/* ------------------------------------------------------------ socket */

static void
ws_text(struct ws *ws, const char *msg, size_t len, void *arg)
{
	struct wsess *s = arg;
	struct wsmsg m;

	if (wsmsg_parse(msg, len, &m) < 0)
		wsend_error(s, m.error);
	else if (m.type == WSMSG_MESSAGE)
		on_message(s, &m);
	else
		on_contact(s, &m);
	wsmsg_free(&m);
}

static void
ws_drained(struct ws *ws, void *arg)
{
	struct wsess *s = arg;
	struct wturn *t = s->turn;

	if (t != NULL && t->paused && t->phase == WT_MODEL && t->up != NULL &&
	    !t->capped) {
		t->paused = 0;
		chat_upstream()->resume(t->up);
	}
}

static void
ws_closed(struct ws *ws, uint16_t code, void *arg)
{
	struct wsess *s = arg;

	s->ws = NULL;
	if (s->turn != NULL) {
		wturn_left(s->turn);
		s->turn = NULL;
	}
	wsess_free(s);
}

static const struct ws_cbs ws_callbacks = { ws_text, ws_drained, ws_closed };

/* ------------------------------------------------------------ upgrade */

static void
wschat_abort(struct conn *c)
{
	struct wsess *s = c->hctx;

	if (s == NULL)
		return;
	s->c = NULL;
	wsess_free(s);
}

/* Hands the connection back for an HTTP answer; NULL if it is gone. */
static struct conn *
wsess_detach(struct wsess *s)
{
	struct conn *c = s->c;

	if (c != NULL && c->hctx == s) {
		c->hctx = NULL;
		c->abort = NULL;
	}
	s->c = NULL;
	return c;
}

static void
open_refuse(struct wsess *s, int status, const char *msg)
{
	struct conn *c = wsess_detach(s);

	if (c != NULL)
		conn_send_error(c, status, JSON_HEADERS, msg);
	wsess_free(s);
}

/* The history replayed to a resumed session: {role, content} pairs. */
static json_t *
history_json(struct pdec *d, uint32_t n)
{
	json_t *arr = json_array(), *item;
	char *role, *content;
	uint32_t i;

	for (i = 0; i < n && arr != NULL && !d->err; i++) {
		role = pdec_strdup(d, ST_ROLE_MAX);
		content = pdec_strdup(d, ST_CONTENT_MAX);
		if (role != NULL && content != NULL) {
			item = json_pack("{s:s, s:o}", "role", role, "content",
			    json_text(content));
			if (item == NULL || json_array_append_new(arr, item) < 0) {
				json_decref(arr);
				arr = NULL;
			}
		}
		free(role);
		free(content);
	}
	if (d->err) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * ST_WS_OPEN -> u8 result, and when OK: widget, u8 resumed,
 * u8 contact_submitted, str conv_id, u32 n, n x (str role, str content)
 */
static void
open_done(const struct storec_result *r, void *arg)
{
	static const struct storec_answer none[] = { { 0, 0, NULL } };
	struct wsess *s = arg;
	struct st_widget w;
	struct pdec d;
	struct conn *c;
	json_t *hist = NULL;
	const char *msg;
	char conv_id[ST_ID_HEX + 1];
	uint8_t result, resumed = 0;
	uint32_t n = 0;
	int status;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, none, "wschat", &msg);
		open_refuse(s, status, msg);
		return;
	}
	pdec_init(&d, r->payload, r->len);
	result = pdec_u8(&d);
	if (!d.err && result == ST_WS_NO_WIDGET) {
		open_refuse(s, 404, "Widget not found");
		return;
	}
	if (!d.err && result == ST_WS_ORIGIN) {
		open_refuse(s, 403, "Origin not allowed");
		return;
	}
	if (d.err || result != ST_WS_OK || pdec_widget(&d, &w) < 0) {
		log_warnx("wschat: malformed ST_WS_OPEN reply");
		open_refuse(s, 500, "Internal server error");
		return;
	}
	st_widget_free(&w);
	resumed = pdec_u8(&d);
	s->contact_submitted = pdec_u8(&d) != 0;
	pdec_strbuf(&d, conv_id, sizeof(conv_id));
	n = pdec_u32(&d);
	if (!d.err && n <= ST_HISTORY_MAX * 2u)
		hist = history_json(&d, n);
	if (hist == NULL || pdec_done(&d) < 0) {
		json_decref(hist);
		log_warnx("wschat: malformed ST_WS_OPEN reply");
		open_refuse(s, 500, "Internal server error");
		return;
	}
	if (!resumed || !s->has_token) {
		strlcpy(s->token, s->new_token, sizeof(s->token));
		memcpy(s->hash, s->new_hash, sizeof(s->hash));
		resumed = 0;
	}
	c = wsess_detach(s);
	if (c == NULL || (s->ws = ws_accept(c, c->req, &ws_callbacks, s)) ==
	    NULL) {
		json_decref(hist);
		wsess_free(s);
		return;
	}
	wsend(s, json_pack("{s:s, s:s, s:b}", "type", "session",
	    "session_token", s->token, "contact_info_submitted",
	    s->contact_submitted));
	if (resumed)
		wsend(s, json_pack("{s:s, s:o}", "type", "history", "messages",
		    hist));
	else
		json_decref(hist);
}

void
wschat_upgrade(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *wid = m->param[0], *why, *origin;
	char token[TOKEN_LEN + 2], addr[64];
	struct ipaddr ip;
	struct wsess *s;
	struct penc e;
	int status;

	if (!wid_valid(wid)) {
		conn_send_error(c, 404, JSON_HEADERS, "Widget not found");
		return;
	}
	if ((status = ws_check_upgrade(req, &why)) != 0) {
		conn_send_error(c, status, status == 426 ?
		    "Sec-WebSocket-Version: 13\r\n" JSON_HEADERS : JSON_HEADERS,
		    why);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("wschat");
		conn_send_error(c, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	LIST_INSERT_HEAD(&sessions, s, entry);
	strlcpy(s->wid, wid, sizeof(s->wid));
	/* A malformed token is no token: the visitor gets a new session. */
	if (http_query_param(req->query, "token", token, sizeof(token)) == 1 &&
	    token_valid(token)) {
		strlcpy(s->token, token, sizeof(s->token));
		token_hash(s->token, s->hash);
		s->has_token = 1;
	}
	token_new(s->new_token);
	token_hash(s->new_token, s->new_hash);
	clientip_of(c, req, &ip);
	ipaddr_format(&ip, addr, sizeof(addr));
	snprintf(s->rate_key, sizeof(s->rate_key), "ip:%s", addr);
	origin = http_header(req, "origin");
	s->c = c;
	c->hctx = s;
	c->abort = wschat_abort;
	penc_init(&e);
	penc_str(&e, wid);
	penc_str(&e, origin != NULL ? origin : "");
	penc_bytes(&e, s->hash, s->has_token ? sizeof(s->hash) : 0);
	penc_bytes(&e, s->new_hash, sizeof(s->new_hash));
	penc_u64(&e, (uint64_t)wsettings.session_idle_days * 86400000ull);
	penc_u32(&e, SHOWN_HISTORY);
	if (storec_send(PROTO_ST_WS_OPEN, &e, open_done, s, &s->sreq) < 0)
		open_refuse(s, 503, "Storage unavailable");
}
