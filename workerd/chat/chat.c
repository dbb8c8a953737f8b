/*
 * The chat endpoints (Open Chat Widget compatible), the HTTP front end of
 * the chat turn (turn.h):
 *
 *	POST /v1/chat		JSON reply
 *	POST /v1/chat/stream	NDJSON: start, token..., done | error
 *	POST /chat		the same stream (the widget's legacy path)
 *	GET  /v1/chat/history?sessionId=	a session's messages
 *
 * The order of answers is the reference's: rate limit, then auth, then
 * the body. Auth and the body are checked here first without answering;
 * a request that passes both is a chat turn, which makes ONE round trip
 * to storaged before the model (ST_CHAT_BEGIN: count it, find or create
 * the conversation, store the user message, return the history); any
 * other one is only counted (ST_RATE_HIT) and then gets its 401 or 400.
 *
 * The turn (turn.c) runs the rest: the model, the reply stored, the
 * client leaving, every failure. This file says how the turn is shown:
 * as an NDJSON stream ("start" once the user message is on disk, with
 * the first token when a quick model's is due within 50 ms, a
 * "token" per delta, "done" once the reply is stored, or "error") or as
 * one JSON answer; a failure before anything was streamed is a JSON
 * error with its status (503, 500, 502, 504).
 *
 * While a person answers the conversation (handoff state human), the
 * message is stored and the model is not called: /v1/chat answers 200
 * with "message" "" and "handoff":"human"; the streams send start,
 * {"type":"handoff","state":"human"} and done with an empty message.
 * While the conversation waits for a person (waiting_human), the model
 * answers, and /v1/chat says "handoff":"waiting_human"; the streams send
 * {"type":"handoff","state":"waiting_human"} after start.
 * The person's replies (role "agent", with "name") are in the history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "admin.h"
#include "agentmsg.h"
#include "attach.h"
#include "chat.h"
#include "jscan.h"
#include "log.h"
#include "sha256.h"
#include "stmsgs.h"
#include "turn.h"
#include "workerd.h"

#define JSON_HEADERS	"Cache-Control: no-store\r\n"
#define STREAM_HEADERS	"Cache-Control: no-store, no-transform\r\n" \
			"X-Accel-Buffering: no\r\n"
#define STREAM_CTYPE	"application/x-ndjson; charset=utf-8"

/*
 * A request answered here without a turn: a refusal being counted
 * (ST_RATE_HIT) or a history lookup. The connection points at it while
 * it waits; it ends when the client leaves.
 */
struct chat_req {
	struct conn *c;
	struct storec_req *sreq;
	int history;			/* GET /v1/chat/history */
	int auth;			/* 0, 401, 503 */
	enum chat_body body;
	char details[CHAT_DETAILS_MAX];
	char session[CHAT_SESSION_MAX + 1];
	char rate_key[ST_RATE_KEY_MAX + 1];
	char origin[ST_SETUP_ORIGIN_MAX + 1];	/* for a refusal's count */
};

static struct apikey widget_key;
static size_t nreqs;		/* chat_req alive */
static size_t nturns;		/* turns started here, also those whose client left */
static struct buf evbuf;	/* send_event's, reused */

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
	return nreqs + nturns + chat_answer_turns();
}

/* --------------------------------------------------------- validation */

int
chat_auth(const struct http_request *req)
{
	const char *k = http_header(req, "x-api-key");

	/* The reference's ??: an x-api-key sent empty is the key given. */
	if (k == NULL)
		k = http_header(req, "x-widget-api-key");
	return apikey_check(&widget_key, k);
}

int
chat_key_refused(struct conn *c, struct http_request *req, const char *hdrs)
{
	int auth = chat_auth(req);

	if (auth == 503)
		conn_send_error(c, 503, hdrs, CHAT_NO_KEY_TEXT);
	else if (auth != 0) {
		setup_note(ST_SETUP_KEY, NULL, http_header(req, "origin"));
		conn_send_error(c, 401, hdrs, "Unauthorized");
	}
	return auth != 0;
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

void
chat_session_hash(const char *s, uint8_t out[ST_TOKEN_HASH_LEN])
{
	static const char pre[] = "parley chat API session\n";
	char in[sizeof(pre) - 1 + CHAT_SESSION_MAX];
	size_t n = strnlen(s, CHAT_SESSION_MAX);

	/* The prefix and at most CHAT_SESSION_MAX bytes: no snprintf a turn. */
	memcpy(in, pre, sizeof(pre) - 1);
	memcpy(in + sizeof(pre) - 1, s, n);
	proto_sha256(in, sizeof(pre) - 1 + n, out);
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
	st_visitor_free(&in->visitor);
	memset(in, 0, sizeof(*in));
}

void
chat_visitor_parse(json_t *o, struct st_visitor *v)
{
	static const char *const keys[] = { "pageUrl", "referrer",
	    "userAgent", "language", "timeZone" };
	char **dst[] = { &v->page_url, &v->referrer, &v->user_agent,
	    &v->language, &v->time_zone };
	json_t *f;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (!json_is_object(o))
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_is_string(f = json_object_get(o, keys[i])) &&
		    strlen(json_string_value(f)) == json_string_length(f))
			*dst[i] = strdup(json_string_value(f));
	st_visitor_clean(v);
}

/*
 * The body every turn of an API client sends, {"sessionId": "...",
 * "message": "..."}, read without jansson (its parse was some 10,000
 * instructions a turn): jscan.h's scanner, which takes JSON exactly as
 * jansson does. It only ever accepts, and only that shape taken whole: a
 * valid session without an escape and a message of 1 to
 * CHAT_MESSAGE_MAX UTF-16 units (the JSON read's count), each once,
 * nothing else. Anything else
 * (another key, a duplicate, a refusal to word) is -1 and
 * chat_parse_body_json's, which has the last word; the fuzz target
 * tests/fuzz/chatbody/fuzz_chatbody.c checks that the two agree. Both
 * skip one byte order mark (proto_bom_skip).
 */
static int
body_fast(const char *ctype, const char *body, size_t len,
    struct chat_input *in)
{
	struct jscan s;
	struct jobj o;
	struct jval sid = { 0 }, msg = { 0 }, *v;
	const unsigned char *k;
	size_t klen, n;
	int r, escaped, sid_escaped = 0;

	if (!proto_json_ctype(ctype))
		return -1;
	body = proto_bom_skip(body, &len);
	s.p = (const unsigned char *)body;
	s.end = s.p + len;
	s.depth = 0;
	if (js_obj_open(&s, &o) < 0)
		return -1;
	while ((r = js_obj_next(&s, &o, &k, &klen)) == 1) {
		if (JS_KEY(k, klen, "sessionId"))
			v = &sid;
		else if (JS_KEY(k, klen, "message"))
			v = &msg;
		else
			return -1;
		if (js_peek(&s) != '"' || js_string(&s, v, &escaped) < 0)
			return -1;
		if (v == &sid)
			sid_escaped = escaped;
	}
	if (r < 0 || js_peek(&s) != -1 || sid.raw == NULL || msg.raw == NULL ||
	    sid_escaped || !chat_session_valid((const char *)sid.raw,
	    sid.rawlen))
		return -1;
	/* js_string refused \u0000: the message holds no NUL. */
	if ((in->message = malloc(msg.rawlen + 1)) == NULL)
		return -1;
	n = js_decode(msg.raw, msg.rawlen, in->message);
	in->message[n] = '\0';
	if (n == 0 || proto_utf16_units(in->message, n) > CHAT_MESSAGE_MAX) {
		free(in->message);
		in->message = NULL;
		return -1;
	}
	memcpy(in->session, sid.raw, sid.rawlen);
	in->session[sid.rawlen] = '\0';
	return 0;
}

enum chat_body
chat_parse_body(const char *ctype, const char *body, size_t len,
    struct chat_input *in, char *details, size_t dsz)
{
	memset(in, 0, sizeof(*in));
	details[0] = '\0';
	if (body_fast(ctype, body, len, in) == 0)
		return CHAT_BODY_OK;
	return chat_parse_body_json(ctype, body, len, in, details, dsz);
}

enum chat_body
chat_parse_body_json(const char *ctype, const char *body, size_t len,
    struct chat_input *in, char *details, size_t dsz)
{
	json_error_t jerr;
	json_t *root, *sid, *msg;
	const char *s, *why;
	size_t n, chars;
	uint32_t i;

	memset(in, 0, sizeof(*in));
	details[0] = '\0';
	if (!proto_json_ctype(ctype)) {
		detail(details, dsz, "Content-Type must be application/json");
		return CHAT_BODY_INVALID;
	}
	body = proto_bom_skip(body, &len);
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
	if ((why = att_ids_json(json_object_get(root, "attachments"),
	    in->atts, &in->natts)) != NULL)
		detail(details, dsz, why);
	if (sid == NULL)
		detail(details, dsz, "sessionId: required");
	else if (!json_is_string(sid))
		detail(details, dsz, "sessionId: must be a string");
	else if (!chat_session_valid(json_string_value(sid),
	    json_string_length(sid)))
		detail(details, dsz,
		    "sessionId: must match ^[A-Za-z0-9._:-]{1,128}$");
	if (msg == NULL) {
		if (in->natts == 0)	/* files may go alone */
			detail(details, dsz, "message: required");
	} else if (!json_is_string(msg))
		detail(details, dsz, "message: must be a string");
	else {
		s = json_string_value(msg);
		n = json_string_length(msg);
		/* UTF-16 units, as the reference's zod counts: an emoji is 2. */
		chars = proto_utf16_units(s, n);
		if (memchr(s, '\0', n) != NULL)
			detail(details, dsz,
			    "message: must not contain NUL characters");
		else if ((chars < 1 && in->natts == 0) ||
		    chars > CHAT_MESSAGE_MAX)
			detail(details, dsz,
			    "message: must be 1 to 4000 characters");
	}
	if (details[0] != '\0') {
		json_decref(root);
		return CHAT_BODY_INVALID;
	}
	strlcpy(in->session, json_string_value(sid), sizeof(in->session));
	in->message = msg != NULL ? strndup(json_string_value(msg),
	    json_string_length(msg)) : strdup("");
	/* The ids outlive the body. */
	for (i = 0; i < in->natts; i++) {
		strlcpy(in->ids[i], in->atts[i].s, sizeof(in->ids[i]));
		in->atts[i].s = in->ids[i];
	}
	/* What the widget tells of its visitor: never a reason to refuse. */
	chat_visitor_parse(json_object_get(root, "visitor"), &in->visitor);
	json_decref(root);
	if (in->message == NULL) {
		detail(details, dsz, "out of memory");
		return CHAT_BODY_MALFORMED;
	}
	return CHAT_BODY_OK;
}

/* ------------------------------------------------------------- JSON */

/*
 * Appends text as valid UTF-8 without NUL (each bad byte becomes U+FFFD),
 * at most max bytes and never cutting a character. Returns the bytes of
 * text used; less than len when max was reached. A run of ASCII without
 * NUL is added at once (proto_ascii_len, then strnlen within it), not a
 * call and a buf_add a character: the model's answer comes through
 * here, every token (a tenth of the worker's instructions with answers
 * of a kilobyte, callgrind).
 */
size_t
chat_utf8_append(struct buf *b, const char *text, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, n, added = 0;

	while (i < len) {
		if (p[i] != 0 && p[i] < 0x80) {
			n = strnlen(text + i, proto_ascii_len(p + i, len - i));
			if (n > max - added)
				n = max - added;
			if (n == 0)
				break;
			buf_add(b, p + i, n);
			added += n;
			i += n;
			continue;
		}
		if ((n = proto_utf8_char_len(p + i, len - i)) == 0) {
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
 * One NDJSON event {"type":type,"k":v,...} with string values, as its own
 * chunk: the same JSON chat_ndjson makes of such an object, but written
 * straight into one reused buffer, since the events of a stream are most
 * of what a worker writes. event_begin, an event_str per key, event_end.
 */
static struct buf *
event_begin(const char *type)
{
	struct buf *b = &evbuf;

	b->len = b->off = 0;
	buf_adds(b, "{\"type\":");
	buf_add_jstr(b, type, strlen(type));
	return b;
}

/* ,"k":v, v len bytes. */
static void
event_str(struct buf *b, const char *k, const char *v, size_t len)
{
	buf_adds(b, ",\"");
	buf_adds(b, k);
	buf_adds(b, "\":");
	buf_add_jstr(b, v, len);
}

static void
event_end(struct conn *c, struct buf *b)
{
	buf_adds(b, "}\n");
	if (b->err)
		log_warnx("chat: cannot encode an event");
	else
		conn_stream_write(c, b->data, b->len);
	/* Keep a buffer of everyday size, not the largest reply's. */
	if (b->err || b->cap > 64 * 1024)
		buf_free(b);
}

/* An event of one or two keys: v1 is len1 bytes; v2 a C string. */
static void
send_event(struct conn *c, const char *type, const char *k1, const char *v1,
    size_t len1, const char *k2, const char *v2)
{
	struct buf *b = event_begin(type);

	if (k1 != NULL)
		event_str(b, k1, v1, len1);
	if (k2 != NULL)
		event_str(b, k2, v2, strlen(v2));
	event_end(c, b);
}

/*
 * Only white space (or nothing): JavaScript's, as trim() takes it off
 * (proto_js_space_len), so what the widget and the reference call empty
 * is empty here too.
 */
int
chat_blank(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len && (n = proto_js_space_len(p + i, len - i)) > 0)
		i += n;
	return i == len;
}

/*
 * The 8 bytes at p read at once when each is printable ASCII or ' ':
 * 1 + the bytes up to and with the last that is not ' ' (1: all are
 * spaces); 0 when one is not ASCII or is below ' ' (a tab, a line's
 * end, a control byte), left to the byte walk. In v = w ^ "        ",
 * ((v & 0x7f..) + 0x7f..) | v has the high bit of each byte that is not
 * 0, with no carry out of it; the highest is the last.
 */
static size_t
word_visible(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL, lows = ones * 0x7f;
	const uint64_t highs = ones * 0x80;
	uint64_t w, v, seen;

	memcpy(&w, p, sizeof(w));
	if (((w | ((w - ones * ' ') & ~w)) & highs) != 0)
		return 0;
	v = w ^ (ones * ' ');
	seen = (((v & lows) + lows) | v) & highs;
	return seen == 0 ? 1 : 2 + (size_t)((63 - __builtin_clzll(seen)) >> 3);
#else
	(void)p;
	return 0;
#endif
}

/*
 * The end of s's text without its trailing white space (JavaScript's,
 * proto_js_space_len: the reference trims its reply), s scanned from
 * from (a character's start; 0, or the scan's last end) on; visible is
 * that end for s[0..from). Printable ASCII and spaces are read eight
 * bytes a step (word_visible): each byte of the answer was looked at
 * alone as it streamed, then again whole at its end.
 */
size_t
chat_visible_end(const char *s, size_t len, size_t from, size_t visible)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = from, k;

	while (i < len) {
		if (len - i >= 8 && (k = word_visible(p + i)) != 0) {
			if (k > 1)
				visible = i + k - 1;
			i += 8;
			continue;
		}
		/* Printable ASCII: a character of its own, no white space. */
		if (p[i] > ' ' && p[i] < 0x80) {
			visible = ++i;
			continue;
		}
		if ((k = proto_js_space_len(p + i, len - i)) > 0) {
			i += k;
			continue;
		}
		if ((k = proto_utf8_seq_len(p + i, len - i)) == 0)
			k = 1;
		i += k;
		visible = i;
	}
	return visible;
}

/* ---------------------------------------------------------- answers */

/*
 * 429 with Retry-After: the window's (or the day's) rest in whole
 * seconds, at least 1.
 */
static void
send_limited(struct conn *c, uint64_t retry_ms, const char *msg)
{
	char hdr[96];

	resp_retry_after(hdr, sizeof(hdr), retry_ms, JSON_HEADERS);
	conn_send_error(c, 429, hdr, msg);
}

/* The public text and HTTP status of a turn's failure. */
static const char *
cause_text(enum turn_cause why, int *status)
{
	switch (why) {
	case TURN_C_UNAVAILABLE:
		*status = 503;
		return "Storage unavailable";
	case TURN_C_MODEL:
		*status = 502;
		return "Upstream model error";
	case TURN_C_TIMEOUT:
		*status = 504;
		return "Upstream model timeout";
	case TURN_C_INVALID:
		*status = 400;
		return CHAT_ATTS_REFUSED;
	default:
		*status = 500;
		return "Internal server error";
	}
}

/* ------------------------------------------------------ the turn's ops */

/* Lets go of the connection for the final answer. */
static struct conn *
turn_conn_detach(void *fe)
{
	struct conn *c = fe;

	conn_let_go(c);
	return c;
}

/*
 * storaged's refusal: the rate limit, or the default widget disabled, at
 * its daily cap (the WebSocket path's texts) or taking only verified
 * visitors, whom only the WebSocket identifies, or a turn of the
 * conversation still answering (a double submit).
 */
#define CHAT_TURN_OPEN_RETRY_MS	1000
static void
http_refused(void *fe, int code, uint64_t retry_ms)
{
	struct conn *c = turn_conn_detach(fe);

	switch (code) {
	case ST_CHAT_LIMITED:
		send_limited(c, retry_ms, "Too many requests");
		return;
	case ST_CHAT_DISABLED:
		setup_note(ST_SETUP_DISABLED, NULL, c->req != NULL ?
		    http_header(c->req, "origin") : NULL);
		conn_send_error(c, 403, JSON_HEADERS, CHAT_DISABLED_TEXT);
		return;
	case ST_CHAT_CAPPED:
		send_limited(c, retry_ms, vtext(ST_LANG_EN, VT_CAPPED));
		return;
	case ST_CHAT_BUSY:
		send_limited(c, retry_ms, vtext(ST_LANG_EN, VT_BUSY));
		return;
	case ST_CHAT_TURN_OPEN:
		/* The session's reply before it is still to come. */
		send_limited(c, CHAT_TURN_OPEN_RETRY_MS,
		    vtext(ST_LANG_EN, VT_WAIT_REPLY));
		return;
	case ST_CHAT_IDENTITY:
		conn_send_error(c, 403, JSON_HEADERS, "Identity required");
		return;
	default:
		log_warnx("chat: ST_CHAT_BEGIN result %d", code);
		conn_send_error(c, 500, JSON_HEADERS, "Internal server error");
		return;
	}
}

/* Before anything was streamed a JSON error, else an "error" event. */
static void
http_error(void *fe, enum turn_at at, enum turn_cause why, int shown)
{
	struct conn *c = turn_conn_detach(fe);
	const char *msg;
	int status;

	msg = cause_text(why, &status);
	if (!shown) {
		conn_send_error(c, status, JSON_HEADERS, msg);
		return;
	}
	send_event(c, "error", "error", msg, strlen(msg), NULL, NULL);
	conn_stream_end(c);
}

/*
 * {"conversationId","message"} and, when the reply cites its agent's
 * knowledge, "sources" (turn_sources_json); while the conversation waits
 * for a person, "handoff":"waiting_human".
 */
static void
json_done(void *fe, const char *conv_id, const char *msg_id,
    const char *content, const struct turn_source *src, size_t nsrc,
    int handoff)
{
	json_t *o = json_object();

	if (o != NULL && (json_object_set_new(o, "conversationId",
	    exprow_text(conv_id)) < 0 || json_object_set_new(o, "message",
	    exprow_text(content)) < 0 || (nsrc > 0 &&
	    json_object_set_new(o, "sources", turn_sources_json(src,
	    nsrc)) < 0) || (handoff == ST_HANDOFF_WAITING &&
	    json_object_set_new(o, "handoff", json_string(st_handoff_name(handoff))) < 0))) {
		json_decref(o);
		o = NULL;
	}
	conn_send_json(turn_conn_detach(fe), 200, JSON_HEADERS, o);
}

/* A stream's status line and "start" event. */
static int
stream_start(void *fe, const char *conv_id, int handoff)
{
	struct conn *c = fe;

	if (conn_stream_start(c, 200, STREAM_HEADERS, STREAM_CTYPE) < 0) {
		turn_conn_detach(c);
		return -1;
	}
	send_event(c, "start", "conversationId", conv_id, strlen(conv_id),
	    NULL, NULL);
	/* Waiting for a person: the model answers meanwhile. */
	if (handoff == ST_HANDOFF_WAITING)
		send_event(c, "handoff", "state", st_handoff_name(handoff),
		    strlen(st_handoff_name(handoff)), NULL, NULL);
	/* With a quick model: one packet for the head, start and text. */
	conn_stream_hold(c, turn_start_hold_ms());
	return 0;
}

static void
stream_token(void *fe, const char *text, size_t len)
{
	send_event(fe, "token", "token", text, len, NULL, NULL);
}

/*
 * {"type":"tool","name","id","status"}: an action the model called is
 * running, done or failed (an event the Open Chat Widget's clients
 * ignore); id, the model's call id (left out when it gave none), tells
 * apart two calls of one action in a round.
 */
static void
stream_tool(void *fe, const char *name, const char *id, const char *state)
{
	struct buf *b = event_begin("tool");

	event_str(b, "name", name, strlen(name));
	if (id[0] != '\0')
		event_str(b, "id", id, strlen(id));
	event_str(b, "status", state, strlen(state));
	event_end(fe, b);
}

/*
 * The stream's bytes given to the connection so far (the access log's
 * count, its head included) and those of them written to the socket:
 * the rest waits in its buffer, which closes with it.
 */
static void
stream_out_pos(void *fe, uint64_t *queued, uint64_t *out)
{
	struct conn *c = fe;
	size_t pending = conn_out_pending(c);

	*queued = c->acc_bytes;
	*out = c->acc_bytes > pending ? c->acc_bytes - pending : 0;
}

static void
chat_drained(struct conn *c)
{
	turn_drained(c->hctx);
}

static int
stream_busy(void *fe)
{
	struct conn *c = fe;

	if (conn_out_pending(c) < CHAT_OUT_HIGH)
		return 0;
	conn_watch_drain(c, chat_drained);
	return 1;
}

/*
 * {"type":"sources","sources":[...]} when the reply cites its agent's
 * knowledge (an event the Open Chat Widget's clients ignore), then
 * {"type":"done","message","conversationId"} and, when the reply was
 * stored, "messageId" (issue 26: an addition they ignore too; the JSON
 * answer keeps its two keys, and "sources" when there are some).
 */
static void
stream_done(void *fe, const char *conv_id, const char *msg_id,
    const char *content, const struct turn_source *src, size_t nsrc,
    int handoff)
{
	struct conn *c = turn_conn_detach(fe);
	struct buf *b, sb;

	if (nsrc > 0) {
		buf_init(&sb);
		if (chat_ndjson(&sb, json_pack("{s:s, s:o}", "type", "sources",
		    "sources", turn_sources_json(src, nsrc))) == 0)
			conn_stream_write(c, sb.data, sb.len);
		buf_free(&sb);
	}
	b = event_begin("done");

	event_str(b, "message", content, strlen(content));
	event_str(b, "conversationId", conv_id, strlen(conv_id));
	if (msg_id[0] != '\0')
		event_str(b, "messageId", msg_id, strlen(msg_id));
	event_end(c, b);
	conn_stream_end(c);
}

/*
 * A person answers the conversation (handoff state human): the message
 * is stored, the reply is empty, and "handoff" says why. The person's
 * replies are read with GET /v1/chat/history.
 */
static void
json_human(void *fe, const char *conv_id)
{
	json_t *o = json_pack("{s:o, s:s, s:s}", "conversationId",
	    exprow_text(conv_id), "message", "", "handoff", "human");

	conn_send_json(turn_conn_detach(fe), 200, JSON_HEADERS, o);
}

/* The stream's form: start, {"type":"handoff","state":"human"}, done. */
static void
stream_human(void *fe, const char *conv_id)
{
	struct conn *c = fe;

	if (stream_start(c, conv_id, ST_HANDOFF_HUMAN) < 0)
		return;
	turn_conn_detach(c);
	send_event(c, "handoff", "state", "human", strlen("human"), NULL,
	    NULL);
	send_event(c, "done", "message", "", 0, "conversationId", conv_id);
	conn_stream_end(c);
}

/*
 * ST_CHAT_BEGIN: the default widget's agent answers (turn.c applies it);
 * HUMAN: stored, and a person answers, not the model.
 */
static const struct turn_ops json_ops = {
	"chat", &nturns, PROTO_ST_CHAT_BEGIN, ST_CHAT_OK, ST_CHAT_HUMAN,
	NULL, NULL, NULL, json_done, http_error, http_refused, json_human,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};
static const struct turn_ops stream_ops = {
	"chat", &nturns, PROTO_ST_CHAT_BEGIN, ST_CHAT_OK, ST_CHAT_HUMAN,
	stream_start, stream_token, stream_busy, stream_done, http_error,
	http_refused, stream_human, stream_tool, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, stream_out_pos,
};

/* The client is gone: the turn goes on without it. */
static void
chat_abort(struct conn *c)
{
	if (c->hctx != NULL)
		turn_cancel(c->hctx);
}

/* A chat turn for a request that passed auth and the body. */
static void
chat_turn(struct conn *c, const struct turn_ops *ops,
    const struct chat_input *in, const char *rate_key)
{
	struct st_chat_begin_req req = {
		.widget = ST_DEFAULT_WIDGET,
		.session = in->session,
		.content = in->message,
		.rate_key = rate_key,
		.window_ms = wsettings.rate_window_ms,
		.rate_max = wsettings.rate_max,
		.history_max = wsettings.max_history,
		.visitor = in->visitor,
		.natts = in->natts,
		.atts = (struct st_str *)in->atts,
	};
	enum turn_cause why;
	struct turn *t;
	const char *msg;
	int status;

	/* The hash names the session's uploads: storaged reads it for files alone. */
	if (in->natts > 0) {
		chat_session_hash(in->session, req.token);
		req.token_len = ST_TOKEN_HASH_LEN;
	}
	if ((t = turn_start(ops, c, &req, &why)) == NULL) {
		msg = cause_text(why, &status);
		conn_send_error(c, status, JSON_HEADERS, msg);
		return;
	}
	c->hctx = t;
	c->abort = chat_abort;
	c->abort_on_eof = 1;
}

/* --------------------------------------------------------- requests */

/* Ends the request: its connection for the answer, NULL if it is gone. */
static struct conn *
req_end(struct chat_req *r)
{
	struct conn *c = r->c;

	if (c != NULL && c->hctx == r)
		turn_conn_detach(c);
	if (r->sreq != NULL)
		storec_cancel(r->sreq);
	free(r);
	nreqs--;
	worker_turn_finished();
	return c;
}

/* Nothing was written that needs an answer: forget it. */
static void
req_abort(struct conn *c)
{
	struct chat_req *r = c->hctx;

	if (r != NULL) {
		r->c = NULL;
		req_end(r);
	}
}

static struct chat_req *
req_open(struct conn *c, struct http_request *req, const char *key_prefix)
{
	struct chat_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("chat");
		conn_send_error(c, 500, JSON_HEADERS, "Internal server error");
		return NULL;
	}
	nreqs++;
	r->c = c;
	clientip_key(c, req, key_prefix, r->rate_key, sizeof(r->rate_key));
	c->hctx = r;
	c->abort = req_abort;
	c->abort_on_eof = 1;
	r->auth = chat_auth(req);
	strlcpy(r->origin, http_header(req, "origin") != NULL ?
	    http_header(req, "origin") : "", sizeof(r->origin));
	return r;
}

/* A JSON error as the whole answer, then the request is over. */
static void
req_fail(struct chat_req *r, int status, const char *msg)
{
	struct conn *c;

	if ((c = req_end(r)) != NULL)
		conn_send_error(c, status, JSON_HEADERS, msg);
}

/* A storaged failure: 503, or 500 for a real error (logged). */
static void
req_storage_failed(struct chat_req *r, const struct storec_result *res,
    const char *what)
{
	if (res->status == STOREC_ERROR && res->code != PROTO_E_UNAVAILABLE) {
		log_warnx("chat: %s: storaged: %s: %s", what,
		    proto_err_name(res->code), res->message);
		req_fail(r, 500, "Internal server error");
		return;
	}
	req_fail(r, 503, "Storage unavailable");
}

/* The local verdict of a request that will not reach the model. */
static void
req_verdict(struct chat_req *r)
{
	const char *msg;
	struct conn *c;
	json_t *o;

	if (r->auth == 503) {
		req_fail(r, 503, CHAT_NO_KEY_TEXT);
		return;
	}
	if (r->auth != 0) {
		setup_note(ST_SETUP_KEY, NULL, r->origin);
		req_fail(r, 401, "Unauthorized");
		return;
	}
	msg = r->body == CHAT_BODY_MALFORMED ? "Invalid JSON body" :
	    "Invalid request payload";
	if (resp_production() || r->details[0] == '\0') {
		req_fail(r, 400, msg);
		return;
	}
	/* Outside production, say what is wrong. */
	o = json_pack("{s:s, s:o}", "error", msg, "details",
	    exprow_text(r->details));
	if ((c = req_end(r)) != NULL)
		conn_send_json(c, 400, JSON_HEADERS, o);
	else
		json_decref(o);
}

static void req_history(struct chat_req *);

/* ST_RATE_HIT -> struct st_rate_verdict */
static void
rate_done(const struct storec_result *res, void *arg)
{
	struct chat_req *r = arg;
	struct st_rate_verdict v;
	struct conn *c;

	if (res->status == STOREC_OK) {
		if (storec_decode(res, PROTO_ST_RATE_HIT, &v) < 0) {
			req_fail(r, 500, "Internal server error");
			return;
		}
		if (v.limited) {
			if ((c = req_end(r)) != NULL)
				send_limited(c, v.retry_ms,
				    "Too many requests");
			return;
		}
	} else if (r->history && r->auth == 0 && r->body == CHAT_BODY_OK) {
		req_storage_failed(r, res, "rate limit");
		return;
	}
	/*
	 * Not limited (or the count could not be made: a request that is
	 * refused anyway gets its refusal rather than a 503).
	 */
	if (r->auth != 0 || r->body != CHAT_BODY_OK)
		req_verdict(r);
	else
		req_history(r);
}

static int
req_rate(struct chat_req *r)
{
	struct st_rate_hit h;

	strlcpy(h.key, r->rate_key, sizeof(h.key));
	h.window_ms = wsettings.rate_window_ms;
	h.max = wsettings.rate_max;
	return storec_ask(NULL, PROTO_ST_RATE_HIT, &h, rate_done, r,
	    &r->sreq);
}

/* --------------------------------------------------------- handlers */

static void
chat_post(struct conn *c, struct http_request *req,
    const struct turn_ops *ops)
{
	char details[CHAT_DETAILS_MAX], key[ST_RATE_KEY_MAX + 1];
	enum chat_body body = CHAT_BODY_OK;
	struct chat_input in;
	struct chat_req *r;
	int auth;

	details[0] = '\0';
	if ((auth = chat_auth(req)) == 0)
		body = chat_parse_body(http_header(req, "content-type"),
		    req->body, req->body_len, &in, details, sizeof(details));
	if (auth == 0 && body == CHAT_BODY_OK) {
		clientip_key(c, req, "ip:", key, sizeof(key));
		/* The stream keeps its request to its end: only its line now. */
		http_request_slim(req);
		chat_turn(c, ops, &in, key);
		chat_input_free(&in);
		return;
	}
	/* Refused requests count against the limit too. */
	if ((r = req_open(c, req, "ip:")) == NULL)
		return;
	r->body = body;
	strlcpy(r->details, details, sizeof(r->details));
	if (wsettings.rate_max == 0 || req_rate(r) < 0)
		req_verdict(r);
}

void
chat_post_v1(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	chat_post(c, req, &json_ops);
}

void
chat_post_stream(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	chat_post(c, req, &stream_ops);
}

/* ------------------------------------------------------------ history */

/*
 * The messages of a session's history as JSON (a reply cut before its
 * first word is not shown; a person's reply says who; an assistant's
 * reply its status, "interrupted" when cut off or stopped, and the
 * passages it cites, "sources"). NULL out of memory.
 */
static json_t *
history_json(const struct st_msg *msgs, uint32_t n)
{
	json_t *arr = json_array(), *item, *src;
	uint64_t now = proto_wall_ms();
	uint32_t i;

	for (i = 0; i < n && arr != NULL; i++) {
		if (msgs[i].content[0] == '\0' && msgs[i].natts == 0)
			continue;
		item = json_pack("{s:o, s:o, s:I}",
		    "role", exprow_text(msgs[i].role),
		    "content", exprow_text(msgs[i].content),
		    "createdAt", (json_int_t)msgs[i].created_at);
		if (item != NULL && strcmp(msgs[i].role, "agent") == 0 &&
		    json_object_set_new(item, "name",
		    exprow_text(msgs[i].name)) < 0) {
			json_decref(item);
			item = NULL;
		}
		if (item != NULL && strcmp(msgs[i].role, "assistant") == 0 &&
		    json_object_set_new(item, "status",
		    exprow_text(msgs[i].status)) < 0) {
			json_decref(item);
			item = NULL;
		}
		/* The knowledge it cites, as /v1/chat answered it. */
		if (item != NULL && (src = admin_cited_json(&msgs[i])) != NULL &&
		    json_object_set_new(item, "sources", src) < 0) {
			json_decref(item);
			item = NULL;
		}
		if (item != NULL && msgs[i].natts > 0 && json_object_set_new(
		    item, "attachments", att_json(msgs[i].atts,
		    msgs[i].natts, "", NULL, now)) < 0) {
			json_decref(item);
			item = NULL;
		}
		if (json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/*
 * ST_SESSION_HISTORY -> struct st_session_history_rep: the conversation
 * and its messages when found; ST_HISTORY_DISABLED: 403, as the chat
 * itself answers.
 */
static void
history_done(const struct storec_result *res, void *arg)
{
	struct chat_req *r = arg;
	struct st_session_history_rep rep;
	struct conn *c;
	json_t *root, *arr, *conv_id;
	int truncated;

	if (res->status != STOREC_OK) {
		req_storage_failed(r, res, "history");
		return;
	}
	if (storec_decode(res, PROTO_ST_SESSION_HISTORY, &rep) < 0) {
		req_fail(r, 500, "Internal server error");
		return;
	}
	if (rep.found == ST_HISTORY_DISABLED) {
		/* As POST /v1/chat answers while the default widget is off. */
		st_rep_free(PROTO_ST_SESSION_HISTORY, &rep);
		setup_note(ST_SETUP_DISABLED, NULL, r->origin);
		if ((c = req_end(r)) != NULL)
			conn_send_error(c, 403, JSON_HEADERS, CHAT_DISABLED_TEXT);
		return;
	}
	conv_id = rep.found == ST_HISTORY_FOUND ? exprow_text(rep.h.conv.id) :
	    json_null();
	arr = history_json(rep.h.msgs, rep.h.n);
	truncated = rep.found == ST_HISTORY_FOUND && rep.h.truncated;
	st_rep_free(PROTO_ST_SESSION_HISTORY, &rep);
	/* truncated: older messages left out (a key the reference lacks). */
	root = json_pack("{s:s, s:o, s:o, s:b}", "sessionId", r->session,
	    "conversationId", conv_id, "messages", arr, "truncated",
	    truncated);
	if ((c = req_end(r)) != NULL)
		conn_send_json(c, 200, JSON_HEADERS, root);
	else
		json_decref(root);
}

static void
req_history(struct chat_req *r)
{
	const struct st_session_history_req req = {
		.widget = ST_DEFAULT_WIDGET,
		.session = r->session,
		.max_messages = CHAT_HISTORY_LIMIT,
	};

	if (storec_ask(NULL, PROTO_ST_SESSION_HISTORY, &req, history_done, r,
	    &r->sreq) < 0)
		req_fail(r, 503, "Storage unavailable");
}

void
chat_get_history(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char sid[CHAT_SESSION_MAX + 2];
	struct chat_req *r;
	int found;

	/* Its own counter: restoring a conversation costs no chat turn. */
	if ((r = req_open(c, req, "history:ip:")) == NULL)
		return;
	r->history = 1;
	found = http_query_param(req->query, "sessionId", sid, sizeof(sid));
	if (found == 0)
		detail(r->details, sizeof(r->details), "sessionId: required");
	else if (found == -2)
		detail(r->details, sizeof(r->details),
		    "sessionId: given more than once");
	else if (found < 0 || !chat_session_valid(sid, strlen(sid)))
		detail(r->details, sizeof(r->details),
		    "sessionId: must match ^[A-Za-z0-9._:-]{1,128}$");
	else
		strlcpy(r->session, sid, sizeof(r->session));
	r->body = r->details[0] == '\0' ? CHAT_BODY_OK : CHAT_BODY_INVALID;
	if (wsettings.rate_max != 0) {
		if (req_rate(r) == 0)
			return;
		if (r->auth == 0 && r->body == CHAT_BODY_OK) {
			req_fail(r, 503, "Storage unavailable");
			return;
		}
	}
	if (r->auth != 0 || r->body != CHAT_BODY_OK)
		req_verdict(r);
	else
		req_history(r);
}
