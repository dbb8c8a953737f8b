/*
 * The widget's WebSocket (wschat.c) in-process over real sockets, against
 * a fake storaged (test_peer.h) and a fake model client, with a small
 * masked-frame client of its own: every storaged reply the visitor's
 * socket waits for (the upgrade's ST_WS_OPEN, a resume's, a message's
 * ST_WS_BEGIN and its stored reply's ST_MSG_APPEND, contact_info's
 * ST_CONTACT_SUBMIT, request_human's ST_WS_REQUEST_HUMAN) a byte short
 * or a byte over fails its request as a storage failure does: 500 before
 * the upgrade, the socket closed on a resume, else the request's error
 * message, and the socket goes on. Away mode's availability (ST_WS_OPEN's
 * staffed, ST_WIDGET_AVAIL) likewise: a malformed answer is no answer.
 * So are a visitor's conversations' (issue 26: ST_WS_CONV_NEW, _LIST,
 * _READ).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "agentmsg.h"
#include "chat.h"
#include "stmsgs.h"
#include "test_client.h"
#include "fake_model.h"
#include "ws.h"

#define WID	"wid_0123456789abcdef0123456789abcdef"
#define CONV	"0123456789abcdef0123456789abcdef"
#define TOKEN	"tokentokentokentokentokentokentokentokenTOK"	/* 43 */
#define WSKEY	"dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE_HEADERS	"Upgrade: websocket\r\nConnection: Upgrade\r\n" \
			"Sec-WebSocket-Version: 13\r\n" \
			"Sec-WebSocket-Key: " WSKEY "\r\n" \
			"Origin: https://site.example\r\n"
/* An error frame's end: the type of the visitor's frame it answers. */
#define FRAME(f)	",\"frame\":\"" f "\"}"
#define WRONG(f)	"{\"type\":\"error\",\"message\":" \
		"\"Something went wrong. Please try again.\",\"code\":\"internal\"" \
		FRAME(f)
#define NOT_SAVED	"{\"type\":\"error\",\"message\":" \
		"\"Your conversation could not be saved. Please try again.\"," \
		"\"code\":\"reply_not_saved\"" FRAME("message")
#define NOT_SAVED_MSG	"{\"type\":\"error\",\"message\":" \
		"\"Your message could not be saved. Please try again.\"," \
		"\"code\":\"message_not_saved\"" FRAME("message")
#define AVAIL(away, reason) "{\"type\":\"availability\",\"away\":" away \
		",\"reason\":" reason ",\"message\":\"" ST_DEFAULT_AWAY_MESSAGE "\"}"

static struct peer P;

/* The next reply_rep is a byte short (-1) or a byte over (1), then whole again. */
static int next_cut;

/* ------------------------------------------------------------ setup */

static int
setup(void **state)
{
	const char *kv[] = { "RATE_LIMIT_MAX_REQUESTS", "30",
	    "MAX_HISTORY_MESSAGES", "7", NULL };

	peer_setup(&P);
	test_settings(kv);
	turn_set_upstream(&fake_model);
	return 0;
}

static int
teardown(void **state)
{
	peer_teardown(&P);
	cors_shutdown();
	settings_free(&wsettings);
	turn_set_upstream(NULL);
	return 0;
}

/* turn.c: no hold of typing_start (the tests say when the model speaks). */
void turn_set_hold_ms(uint64_t ms);

static int
each_setup(void **state)
{
	turn_set_hold_ms(0);
	memset(&F, 0, sizeof(F));
	return peer_connect(&P) == 0 ? 0 : -1;
}

static int
each_teardown(void **state)
{
	drive_ms(20);
	assert_int_equal(wschat_turns(), 0);
	assert_int_equal(ws_count(), 0);
	return 0;
}

/* --------------------------------------------------- storaged's side */

/*
 * rep, the struct of pr's reply (stmsgs.h), as storaged answers it (flags:
 * PROTO_F_EARLY), cut as next_cut says.
 */
static void
reply_rep(struct peer_req *pr, uint16_t flags, const void *rep)
{
	struct penc e;
	size_t len;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, pr->type, rep), 0);
	if (next_cut > 0)
		penc_u8(&e, 0);
	assert_true(next_cut >= 0 || e.len > 0);
	len = next_cut < 0 ? e.len - 1 : e.len;
	next_cut = 0;
	peer_reply_flags(&P, pr, flags, e.buf, len);
	penc_free(&e);
}

/* A frame's count for the client (ST_RATE_HIT on its key of prefix),
 * answered as counted. */
static void
client_counted(const char *prefix)
{
	const struct st_rate_verdict v = { 0, 0 };
	struct st_rate_hit h;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	assert_int_equal(st_req_decode(pr.type, pr.payload, pr.len, &h), 0);
	assert_memory_equal(h.key, prefix, strlen(prefix));
	reply_rep(&pr, 0, &v);
}

/* A feedback or rating frame's count ("fb:"). */
static void
fb_counted(void)
{
	client_counted("fb:");
}

/*
 * ST_WS_OPEN for WID from the test's origin, with a token or not, and
 * nhits counts (the upgrade's, a token's resume).
 */
static void
expect_open(struct peer_req *pr, int has_token, uint32_t nhits)
{
	struct st_ws_open_req req;

	peer_expect(&P, pr, PROTO_ST_WS_OPEN);
	assert_int_equal(st_req_decode(PROTO_ST_WS_OPEN, pr->payload, pr->len,
	    &req), 0);
	assert_string_equal(req.widget_id, WID);
	assert_string_equal(req.origin, "https://site.example");
	assert_int_equal(req.token_len, has_token ? ST_TOKEN_HASH_LEN : 0);
	assert_int_equal(req.new_hash_len, ST_TOKEN_HASH_LEN);
	assert_int_equal(req.nhits, nhits);
	st_req_free(PROTO_ST_WS_OPEN, &req);
}

/* ST_WS_OPEN's OK: a widget with the handoff button and ratings, a new visitor. */
static void
reply_open(struct peer_req *pr)
{
	struct st_ws_open_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_OK;
	st_widget_defaults(&rep.ok.widget);
	strlcpy(rep.ok.widget.widget_id, WID, sizeof(rep.ok.widget.widget_id));
	rep.ok.widget.handoff_enabled = 1;
	rep.ok.widget.rating_enabled = 1;
	reply_rep(pr, 0, &rep);
}

/* ST_WS_OPEN's LIMITED: the upgrade's count (its first hit). */
static void
reply_open_limited(struct peer_req *pr)
{
	struct st_ws_open_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_LIMITED;
	rep.limited.which = 0;
	rep.limited.retry_ms = 1000;
	reply_rep(pr, 0, &rep);
}

/* ST_WS_BEGIN's OK, early or not: the default agent, CONV, "hi". */
static void
reply_begin(struct peer_req *pr, int early)
{
	struct st_begin_rep rep;
	struct st_line h;

	memset(&rep, 0, sizeof(rep));
	memset(&h, 0, sizeof(h));
	rep.result = ST_WS_OK;
	st_agent_defaults(&rep.ok.agent);
	rep.ok.created = 1;
	strlcpy(rep.ok.conv_id, CONV, sizeof(rep.ok.conv_id));
	strlcpy(h.role, "user", sizeof(h.role));
	h.content = "hi";
	rep.ok.history = &h;
	rep.ok.nhistory = 1;
	reply_rep(pr, early ? PROTO_F_EARLY : 0, &rep);
}

/* ST_MSG_APPEND's answer: the stored message's id. */
static void
reply_append(struct peer_req *pr)
{
	struct st_msg_stored ms;

	strlcpy(ms.id, CONV, sizeof(ms.id));
	reply_rep(pr, 0, &ms);
}

/* ST_CONTACT_SUBMIT's OK: the contact saved. */
static void
reply_contact(struct peer_req *pr)
{
	struct st_contact_submit_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_OK;
	strlcpy(rep.contact.id, CONV, sizeof(rep.contact.id));
	rep.contact.email = "a@b.example";
	reply_rep(pr, 0, &rep);
}

/* ST_WS_REQUEST_HUMAN's OK: the conversation waits for a person. */
static void
reply_human(struct peer_req *pr)
{
	struct st_request_human_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_OK;
	rep.changed = 1;
	strlcpy(rep.conv.id, CONV, sizeof(rep.conv.id));
	rep.conv.handoff = ST_HANDOFF_WAITING;
	reply_rep(pr, 0, &rep);
}

/* ST_WS_IDENTIFY's OK: verified. */
static void
reply_identify(struct peer_req *pr)
{
	struct st_ws_identify_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_OK;
	rep.verified = 1;
	strlcpy(rep.contact_id, CONV, sizeof(rep.contact_id));
	reply_rep(pr, 0, &rep);
}

#define IDENTIFY	"{\"type\":\"identify\",\"id\":\"u\",\"hash\":\"" \
			"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef\"}"
#define NOT_CHECKED	"{\"type\":\"error\",\"message\":\"Your sign-in " \
			"could not be checked. Please try again.\"," \
			"\"code\":\"identity_not_checked\"" FRAME("identify")

/* --------------------------------------------------- the visitor's side */

/* A masked text frame from the client. */
static void
send_text(struct tclient *cl, const char *s)
{
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	unsigned char f[512];
	size_t len = strlen(s), n = 0, i;

	assert_true(len < 126 && len + 6 <= sizeof(f));
	f[n++] = 0x81;
	f[n++] = (unsigned char)(0x80 | len);
	memcpy(f + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		f[n++] = (unsigned char)s[i] ^ mask[i % 4];
	assert_int_equal(tclient_send(cl, (char *)f, n), 0);
}

/*
 * The server's next frame at cl->off (within 3 s): its opcode, and its
 * payload at *data (into the client's buffer), *len bytes.
 */
static int
next_frame(struct tclient *cl, const unsigned char **data, size_t *len)
{
	uint64_t end = loop_clock() + 3000;
	const unsigned char *p;
	size_t have, hl, n;

	for (;;) {
		p = (const unsigned char *)cl->buf + cl->off;
		have = cl->buf != NULL ? cl->len - cl->off : 0;
		if (have >= 2) {
			assert_int_equal(p[1] & 0x80, 0);	/* never masked */
			n = p[1] & 0x7f;
			hl = n == 126 ? 4 : 2;
			assert_true(n != 127);
			if (n == 126 && have >= 4)
				n = (size_t)p[2] << 8 | p[3];
			if (have >= hl && have >= hl + n) {
				*data = p + hl;
				*len = n;
				cl->off += hl + n;
				return p[0] & 0x0f;
			}
		}
		assert_true(loop_clock() < end);
		assert_false(cl->eof);
		tclient_pump(cl);
	}
}

/* The next frame is the text want. */
static void
expect_text(struct tclient *cl, const char *want)
{
	const unsigned char *data;
	size_t len;

	assert_int_equal(next_frame(cl, &data, &len), 0x1);
	if (len != strlen(want) || memcmp(data, want, len) != 0)
		fail_msg("got %.*s, want %s", (int)len, data, want);
}

/* The next frame is a text starting with prefix. */
static void
expect_text_start(struct tclient *cl, const char *prefix)
{
	const unsigned char *data;
	size_t len;

	assert_int_equal(next_frame(cl, &data, &len), 0x1);
	if (len < strlen(prefix) || memcmp(data, prefix, strlen(prefix)) != 0)
		fail_msg("got %.*s, want %s...", (int)len, data, prefix);
}

/*
 * A begun turn answered to the end: typing_start, the model's "ok", its
 * store (ST_MSG_APPEND), then the token, the message and typing_stop.
 */
static void
turn_answered(struct tclient *cl)
{
	struct peer_req pr;

	expect_text(cl, "{\"type\":\"typing_start\"}");
	F.cbs.on_delta(F.arg, "ok", 2);
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	peer_expect(&P, &pr, PROTO_ST_MSG_APPEND);
	reply_append(&pr);
	expect_text(cl, "{\"type\":\"token\",\"token\":\"ok\"}");
	expect_text_start(cl, "{\"type\":\"message\",\"role\":"
	    "\"assistant\"");
	expect_text(cl, "{\"type\":\"typing_stop\"}");
}

/* The visitor's "hi", its turn begun and answered to the end. */
static void
hi_answered(struct tclient *cl)
{
	struct peer_req pr;

	send_text(cl, "{\"type\":\"message\",\"content\":\"hi\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_BEGIN);
	reply_begin(&pr, 0);
	turn_answered(cl);
}

/* The next frame closes the socket with code. */
static void
expect_close(struct tclient *cl, uint16_t code)
{
	const unsigned char *data;
	size_t len;

	assert_int_equal(next_frame(cl, &data, &len), 0x8);
	assert_true(len >= 2);
	assert_int_equal(data[0] << 8 | data[1], code);
}

/* Asks for the visitor's socket (query: "" or "?token=..."). */
static void
upgrade(struct tclient *cl, const char *query)
{
	char path[128];

	assert_int_equal(tclient_open(cl), 0);
	snprintf(path, sizeof(path), "/api/widget/" WID "/ws%s", query);
	tclient_request(cl, "GET", path, UPGRADE_HEADERS, NULL);
}

/* The 101 at cl->off, then the "session" message. */
static void
expect_upgraded(struct tclient *cl)
{
	uint64_t end = loop_clock() + 3000;
	char *eoh;

	while (cl->buf == NULL ||
	    (eoh = strstr(cl->buf + cl->off, "\r\n\r\n")) == NULL) {
		assert_true(loop_clock() < end);
		tclient_pump(cl);
	}
	assert_int_equal(strncmp(cl->buf + cl->off,
	    "HTTP/1.1 101 Switching Protocols\r\n", 34), 0);
	cl->off = (size_t)(eoh - cl->buf) + 4;
	expect_text_start(cl, "{\"type\":\"session\",");
}

/* A new visitor's socket, open, and its availability (nobody at a dashboard). */
static void
open_socket(struct tclient *cl)
{
	struct peer_req pr;

	upgrade(cl, "");
	expect_open(&pr, 0, 1);
	reply_open(&pr);
	expect_upgraded(cl);
	expect_text(cl, AVAIL("true", "\"nobody\""));
}

/* ST_WIDGET_AVAIL's answer: the handoff widget, staffed or not. */
static void
reply_avail(struct peer_req *pr, int staffed)
{
	struct st_widget_avail_rep rep;

	memset(&rep, 0, sizeof(rep));
	st_widget_defaults(&rep.widget);
	strlcpy(rep.widget.widget_id, WID, sizeof(rep.widget.widget_id));
	rep.widget.handoff_enabled = 1;
	rep.staffed = (uint8_t)staffed;
	reply_rep(pr, 0, &rep);
}

/*
 * {"type":"availability"}: ST_WIDGET_AVAIL for the socket's widget (no
 * who asks); answered a byte short or over, nothing is sent and the
 * socket goes on; whole, the state now. One at a time; at most 10 a
 * minute, the others unanswered.
 */
static void
test_ws_availability(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	char wid[ST_WID_LEN + 1];
	struct pdec d;
	int cut, i;

	open_socket(&cl);
	for (cut = -1; cut <= 1; cut += 2) {
		send_text(&cl, "{\"type\":\"availability\"}");
		peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
		assert_false(pr.has_who);
		pdec_init(&d, pr.payload, pr.len);
		pdec_strbuf(&d, wid, sizeof(wid));
		assert_int_equal(pdec_done(&d), 0);
		assert_string_equal(wid, WID);
		next_cut = cut;
		reply_avail(&pr, 1);
		drive_ms(20);
	}
	/* Asked twice at once: one request. */
	send_text(&cl, "{\"type\":\"availability\"}");
	send_text(&cl, "{\"type\":\"availability\"}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
	peer_expect_none(&P, 50);
	reply_avail(&pr, 1);
	/* The next frame is the whole answer's: nothing came before it. */
	expect_text(&cl, AVAIL("false", "null"));
	/* 3 asked so far this minute (the one in flight's twin not counted). */
	for (i = 0; i < 7; i++) {
		send_text(&cl, "{\"type\":\"availability\"}");
		peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
		reply_avail(&pr, 0);
		expect_text(&cl, AVAIL("true", "\"nobody\""));
	}
	send_text(&cl, "{\"type\":\"availability\"}");
	peer_expect_none(&P, 100);
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&cl);
}

/* ------------------------------------------------------------ tests */

/* The upgrade's ST_WS_OPEN, OK or LIMITED: 500, and no socket. */
static void
test_ws_open_malformed(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	int cut;

	for (cut = -1; cut <= 1; cut += 2) {
		upgrade(&cl, "");
		expect_open(&pr, 0, 1);
		next_cut = cut;
		reply_open(&pr);
		tclient_expect_error(&cl, 500, "Internal server error");
		tclient_close(&cl);
		upgrade(&cl, "?token=" TOKEN);
		expect_open(&pr, 1, 2);
		next_cut = cut;
		reply_open_limited(&pr);
		tclient_expect_error(&cl, 500, "Internal server error");
		tclient_close(&cl);
	}
	assert_int_equal(ws_count(), 0);
}

/* A resume message's ST_WS_OPEN: the socket is closed (1011). */
static void
test_ws_resume_malformed(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	int cut;

	for (cut = -1; cut <= 1; cut += 2) {
		open_socket(&cl);
		send_text(&cl, "{\"type\":\"resume\",\"token\":\"" TOKEN "\"}");
		expect_open(&pr, 1, 1);
		next_cut = cut;
		reply_open(&pr);
		expect_close(&cl, WS_CLOSE_INTERNAL);
		tclient_close(&cl);
		drive_ms(20);
	}
}

/*
 * On an open socket: a message's begin (early or not) and its stored
 * reply, contact_info and request_human, each answered a byte short or
 * over: the request's error message, and the socket goes on.
 */
static void
test_ws_requests_malformed(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	int cut, early, started;

	open_socket(&cl);
	for (cut = -1; cut <= 1; cut += 2) {
		/* The begin: nothing stored, no model. */
		started = F.started;
		for (early = 0; early < 2; early++) {
			send_text(&cl, "{\"type\":\"message\",\"content\":\"hi\"}");
			peer_expect(&P, &pr, PROTO_ST_WS_BEGIN);
			next_cut = cut;
			reply_begin(&pr, early);
			expect_text(&cl, WRONG("message"));
			if (early)	/* the commit: nobody waits for it */
				peer_reply(&P, &pr, "", 0);
		}
		assert_int_equal(F.started, started);

		/* The stored reply: shown, but not saved. */
		send_text(&cl, "{\"type\":\"message\",\"content\":\"hi\"}");
		peer_expect(&P, &pr, PROTO_ST_WS_BEGIN);
		reply_begin(&pr, 0);
		expect_text(&cl, "{\"type\":\"typing_start\"}");
		assert_non_null(F.arg);
		F.cbs.on_delta(F.arg, "ok", 2);
		fake_model_done(UPSTREAM_OK, NULL, 1, 1);
		peer_expect(&P, &pr, PROTO_ST_MSG_APPEND);
		next_cut = cut;
		reply_append(&pr);
		expect_text(&cl, "{\"type\":\"token\",\"token\":\"ok\"}");
		expect_text(&cl, NOT_SAVED);
		expect_text(&cl, "{\"type\":\"typing_stop\"}");

		/* The contact, then a person asked for. */
		send_text(&cl, "{\"type\":\"contact_info\","
		    "\"email\":\"a@b.example\"}");
		peer_expect(&P, &pr, PROTO_ST_CONTACT_SUBMIT);
		next_cut = cut;
		reply_contact(&pr);
		expect_text(&cl, WRONG("contact_info"));
		send_text(&cl, "{\"type\":\"request_human\"}");
		peer_expect(&P, &pr, PROTO_ST_WS_REQUEST_HUMAN);
		next_cut = cut;
		reply_human(&pr);
		expect_text(&cl, WRONG("request_human"));
		/* An identify (issue 26). */
		send_text(&cl, IDENTIFY);
		peer_expect(&P, &pr, PROTO_ST_WS_IDENTIFY);
		next_cut = cut;
		reply_identify(&pr);
		expect_text(&cl, NOT_CHECKED);
	}

	/* Whole answers go through on the same socket. */
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"a@b.example\"}");
	peer_expect(&P, &pr, PROTO_ST_CONTACT_SUBMIT);
	reply_contact(&pr);
	expect_text(&cl, "{\"type\":\"contact_info_saved\"}");
	send_text(&cl, "{\"type\":\"request_human\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_REQUEST_HUMAN);
	reply_human(&pr);
	expect_text(&cl, "{\"type\":\"handoff\",\"state\":\"waiting_human\"}");
	send_text(&cl, IDENTIFY);
	peer_expect(&P, &pr, PROTO_ST_WS_IDENTIFY);
	reply_identify(&pr);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":true,"
	    "\"required\":false}");
	tclient_close(&cl);
}

/*
 * An identify while the socket's resume is in flight: refused, nothing
 * asked (the resume may yet give the socket another token than the one
 * it would be asked with); once the resume is answered, it goes.
 */
static void
test_ws_identify_resuming(void **state)
{
	struct tclient cl;
	struct peer_req pr;

	open_socket(&cl);
	send_text(&cl, "{\"type\":\"resume\",\"token\":\"" TOKEN "\"}");
	send_text(&cl, IDENTIFY);
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"Your conversation is being restored.\",\"code\":\"resuming\""
	    FRAME("identify"));
	expect_open(&pr, 1, 1);
	peer_expect_none(&P, 50);
	reply_open(&pr);
	expect_text_start(&cl, "{\"type\":\"session\",");
	expect_text(&cl, AVAIL("true", "\"nobody\""));
	send_text(&cl, IDENTIFY);
	peer_expect(&P, &pr, PROTO_ST_WS_IDENTIFY);
	reply_identify(&pr);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":true,"
	    "\"required\":false}");
	tclient_close(&cl);
}

/*
 * The answers that say the socket's session or widget is gone, and the
 * close code each closes the socket with.
 */
static const struct {
	uint8_t result;
	uint16_t code;
} GONE[] = {
	{ ST_WS_NO_SESSION, 4001 },
	{ ST_WS_NO_WIDGET, WS_CLOSE_WIDGET_GONE },
};

/* The socket closed with code, and the close let settle. */
static void
closed_with(struct tclient *cl, uint16_t code)
{
	expect_close(cl, code);
	tclient_close(cl);
	drive_ms(20);
}

/*
 * An identify answered NO_SESSION (the session expired meanwhile) or
 * NO_WIDGET: the socket is closed at once, 4001 or 4004, as a message so
 * answered closes it, with no identity frame before.
 */
static void
test_ws_identify_gone(void **state)
{
	struct st_ws_identify_rep rep;
	struct tclient cl;
	struct peer_req pr;
	size_t i;

	for (i = 0; i < sizeof(GONE) / sizeof(GONE[0]); i++) {
		open_socket(&cl);
		send_text(&cl, IDENTIFY);
		peer_expect(&P, &pr, PROTO_ST_WS_IDENTIFY);
		memset(&rep, 0, sizeof(rep));
		rep.result = GONE[i].result;
		reply_rep(&pr, 0, &rep);
		closed_with(&cl, GONE[i].code);
	}
}

/* The next request, ST_CONTACT_SUBMIT or ST_WS_IDENTIFY: its create. */
static int
expect_create(struct peer_req *pr, uint16_t type)
{
	struct st_contact_submit_req cs;
	struct st_ws_identify_req id;
	int create;

	peer_expect(&P, pr, type);
	if (type == PROTO_ST_CONTACT_SUBMIT) {
		assert_int_equal(st_req_decode(type, pr->payload, pr->len,
		    &cs), 0);
		create = cs.create;
		st_req_free(type, &cs);
	} else {
		assert_int_equal(st_req_decode(type, pr->payload, pr->len,
		    &id), 0);
		create = id.create;
		st_req_free(type, &id);
	}
	return create;
}

/*
 * A contact_info or identify says, as a message does, whether the
 * socket's session was stored: create until it is (a new visitor's, made
 * by it), then not, so that a session gone since (expired, erased) is
 * NO_SESSION, closing the socket 4001, and is never made again.
 */
static void
test_ws_create_until_stored(void **state)
{
	struct st_contact_submit_rep rep;
	struct tclient cl;
	struct peer_req pr;

	/* The contact stores it; the identify then finds it gone. */
	open_socket(&cl);
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"a@b.example\"}");
	assert_int_equal(expect_create(&pr, PROTO_ST_CONTACT_SUBMIT), 1);
	reply_contact(&pr);
	expect_text(&cl, "{\"type\":\"contact_info_saved\"}");
	send_text(&cl, IDENTIFY);
	assert_int_equal(expect_create(&pr, PROTO_ST_WS_IDENTIFY), 0);
	reply_identify(&pr);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":true,"
	    "\"required\":false}");
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"c@d.example\"}");
	assert_int_equal(expect_create(&pr, PROTO_ST_CONTACT_SUBMIT), 0);
	memset(&rep, 0, sizeof(rep));
	rep.result = ST_WS_NO_SESSION;
	reply_rep(&pr, 0, &rep);
	expect_close(&cl, 4001);
	tclient_close(&cl);
	drive_ms(20);

	/* The identify stores it; the contact then says so. */
	open_socket(&cl);
	send_text(&cl, IDENTIFY);
	assert_int_equal(expect_create(&pr, PROTO_ST_WS_IDENTIFY), 1);
	reply_identify(&pr);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":true,"
	    "\"required\":false}");
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"a@b.example\"}");
	assert_int_equal(expect_create(&pr, PROTO_ST_CONTACT_SUBMIT), 0);
	reply_contact(&pr);
	expect_text(&cl, "{\"type\":\"contact_info_saved\"}");
	tclient_close(&cl);
	drive_ms(20);
}

/*
 * Issue 26: feedback and rating frames whose replies come a byte short or
 * over fail cleanly (the visitor reads an error), and whole ones answer.
 */
#define FB_FAILED(f)	"{\"type\":\"error\",\"message\":" \
	"\"Your feedback could not be saved. Please try again.\"," \
	"\"code\":\"feedback_not_saved\"" FRAME(f)
/* conversation_new naming the conversation it left (reply_conv_new's) */
#define CONV_NEW	"{\"type\":\"conversation_new\",\"ended\":\"" CONV "\"}"
#define FB_FRAME	"{\"type\":\"feedback\",\"message_id\":\"" CONV \
	"\",\"value\":\"up\"}"

static void
test_ws_feedback_malformed(void **state)
{
	struct st_ws_feedback_rep fr = { ST_WS_OK, 1 };
	struct st_ws_rating_rep rr = { ST_WS_OK };
	struct st_ws_feedback_req q;
	struct tclient cl;
	struct peer_req pr;
	int cut;

	open_socket(&cl);
	/* Before a turn the socket knows no conversation: nothing asked. */
	send_text(&cl, FB_FRAME);
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"Please send a message first.\",\"code\":\"message_first\""
	    FRAME("feedback"));
	hi_answered(&cl);
	for (cut = -1; cut <= 1; cut += 2) {
		send_text(&cl, FB_FRAME);
		fb_counted();
		peer_expect(&P, &pr, PROTO_ST_WS_FEEDBACK);
		next_cut = cut;
		reply_rep(&pr, 0, &fr);
		expect_text(&cl, FB_FAILED("feedback"));
		send_text(&cl, "{\"type\":\"rating\",\"score\":4}");
		fb_counted();
		peer_expect(&P, &pr, PROTO_ST_WS_RATING);
		next_cut = cut;
		reply_rep(&pr, 0, &rr);
		expect_text(&cl, FB_FAILED("rating"));
	}
	send_text(&cl, FB_FRAME);
	fb_counted();
	peer_expect(&P, &pr, PROTO_ST_WS_FEEDBACK);
	memset(&q, 0, sizeof(q));
	assert_int_equal(st_req_decode(pr.type, pr.payload, pr.len, &q), 0);
	assert_string_equal(q.msg_id, CONV);
	assert_string_equal(q.conv_id, CONV);
	assert_int_equal(q.value, ST_FEEDBACK_UP);
	assert_int_equal(q.token_len, ST_TOKEN_HASH_LEN);
	st_req_free(pr.type, &q);
	reply_rep(&pr, 0, &fr);
	expect_text(&cl, "{\"type\":\"feedback_saved\",\"message_id\":\""
	    CONV "\",\"value\":\"up\"}");
	send_text(&cl, "{\"type\":\"rating\",\"score\":6}");
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"score: must be 1 to 5\"" FRAME("rating"));
	send_text(&cl, "{\"type\":\"rating\",\"score\":5,\"comment\":\"ok\"}");
	fb_counted();
	peer_expect(&P, &pr, PROTO_ST_WS_RATING);
	reply_rep(&pr, 0, &rr);
	expect_text(&cl, "{\"type\":\"rating_saved\",\"score\":5}");
	tclient_close(&cl);
}

/*
 * A thumb or rating answered NO_SESSION (the socket's stored session
 * expired or was erased meanwhile) or NO_WIDGET: the socket is closed,
 * 4001 or 4004, as a message so answered closes it (they were an error,
 * session_ended, and the socket stayed). A socket with nothing stored
 * yet (its rating named a conversation) is told a message comes first.
 */
static void
test_ws_feedback_gone(void **state)
{
	struct st_ws_feedback_rep fr = { 0 };
	struct st_ws_rating_rep rr = { 0 };
	struct tclient cl;
	struct peer_req pr;
	size_t i;
	int rating;

	for (i = 0; i < 2 * sizeof(GONE) / sizeof(GONE[0]); i++) {
		rating = i % 2;
		open_socket(&cl);
		hi_answered(&cl);
		send_text(&cl, rating ? "{\"type\":\"rating\",\"score\":4}" :
		    FB_FRAME);
		fb_counted();
		peer_expect(&P, &pr, rating ? PROTO_ST_WS_RATING :
		    PROTO_ST_WS_FEEDBACK);
		fr.result = rr.result = GONE[i / 2].result;
		reply_rep(&pr, 0, rating ? (const void *)&rr : (const void *)&fr);
		closed_with(&cl, GONE[i / 2].code);
	}
	open_socket(&cl);
	send_text(&cl, "{\"type\":\"rating\",\"score\":3,"
	    "\"conversation_id\":\"" CONV "\"}");
	fb_counted();
	peer_expect(&P, &pr, PROTO_ST_WS_RATING);
	rr.result = ST_WS_NO_SESSION;
	reply_rep(&pr, 0, &rr);
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"Please send a message first.\",\"code\":\"message_first\""
	    FRAME("rating"));
	tclient_close(&cl);
}

/* ST_WS_CONV_NEW's OK. */
static void
reply_conv_new(struct peer_req *pr)
{
	struct st_ws_conv_new_rep rep;

	memset(&rep, 0, sizeof(rep));
	strlcpy(rep.ended, CONV, sizeof(rep.ended));
	reply_rep(pr, 0, &rep);
}

/* ST_WS_CONV_LIST's OK: one conversation. */
static void
reply_conv_list(struct peer_req *pr)
{
	struct st_ws_conv_item it = { .id = CONV, .started_at = 1,
	    .updated_at = 2, .preview = "hi", .current = 1 };
	struct st_ws_conv_list_rep rep = { .result = ST_WS_OK, .convs = &it,
	    .n = 1 };

	reply_rep(pr, 0, &rep);
}

/* ST_WS_CONV_READ's OK: one message. */
static void
reply_conv_read(struct peer_req *pr)
{
	struct st_msg m = { .role = "user", .content = "hi" };
	struct st_ws_conv_read_rep rep = { .result = ST_WS_OK, .conv_id = CONV,
	    .history = &m, .nhistory = 1 };

	reply_rep(pr, 0, &rep);
}

/*
 * The rating of score cl just sent asks storaged to rate CONV, and is
 * saved.
 */
static void
rating_of_conv(struct tclient *cl, int score)
{
	struct st_ws_rating_rep rr = { ST_WS_OK };
	struct st_ws_rating_req q;
	struct peer_req pr;
	char saved[64];

	fb_counted();
	peer_expect(&P, &pr, PROTO_ST_WS_RATING);
	memset(&q, 0, sizeof(q));
	assert_int_equal(st_req_decode(pr.type, pr.payload, pr.len, &q), 0);
	assert_string_equal(q.conv_id, CONV);
	st_req_free(pr.type, &q);
	reply_rep(&pr, 0, &rr);
	snprintf(saved, sizeof(saved),
	    "{\"type\":\"rating_saved\",\"score\":%d}", score);
	expect_text(cl, saved);
}

/*
 * A new conversation on a socket that never learnt its session's current
 * one (begun on another tab): the rating that follows rates the one
 * storaged says it ended.
 */
static void
test_ws_conv_new_rates_ended(void **state)
{
	struct tclient cl;
	struct peer_req pr;

	open_socket(&cl);
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"a@b.example\"}");
	peer_expect(&P, &pr, PROTO_ST_CONTACT_SUBMIT);
	reply_contact(&pr);
	expect_text(&cl, "{\"type\":\"contact_info_saved\"}");
	send_text(&cl, "{\"type\":\"new_conversation\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_CONV_NEW);
	reply_conv_new(&pr);
	expect_text(&cl, CONV_NEW);
	send_text(&cl, "{\"type\":\"rating\",\"score\":4}");
	rating_of_conv(&cl, 4);
	tclient_close(&cl);
}

/*
 * A rating naming its conversation (conversation_new's "ended": a page
 * that resumed since on a new socket, which knows none or the new one)
 * rates that one: storaged is asked for it (and checks it is the
 * session's); a malformed id is refused here, nothing asked.
 */
static void
test_ws_rating_names_conv(void **state)
{
	struct tclient cl;

	open_socket(&cl);
	send_text(&cl, "{\"type\":\"rating\",\"score\":3,"
	    "\"conversation_id\":\"ZZ\"}");
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"conversation_id: must be a conversation's id\"" FRAME("rating"));
	peer_expect_none(&P, 50);
	send_text(&cl, "{\"type\":\"rating\",\"score\":3,"
	    "\"conversation_id\":\"" CONV "\"}");
	rating_of_conv(&cl, 3);
	tclient_close(&cl);
}

/*
 * A visitor's conversations (issue 26, wsconvs.c): new_conversation,
 * conversations and open_conversation each answered a byte short or
 * over: the error, and the socket goes on; whole answers go through.
 */
static void
test_ws_convs_malformed(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	int cut;

	open_socket(&cl);
	/* A session stored (its contact): the frames go to storaged. */
	send_text(&cl, "{\"type\":\"contact_info\",\"email\":\"a@b.example\"}");
	peer_expect(&P, &pr, PROTO_ST_CONTACT_SUBMIT);
	reply_contact(&pr);
	expect_text(&cl, "{\"type\":\"contact_info_saved\"}");
	for (cut = -1; cut <= 1; cut += 2) {
		send_text(&cl, "{\"type\":\"new_conversation\"}");
		peer_expect(&P, &pr, PROTO_ST_WS_CONV_NEW);
		next_cut = cut;
		reply_conv_new(&pr);
		expect_text(&cl, WRONG("new_conversation"));
		send_text(&cl, "{\"type\":\"conversations\"}");
		client_counted("convs:");
		peer_expect(&P, &pr, PROTO_ST_WS_CONV_LIST);
		next_cut = cut;
		reply_conv_list(&pr);
		expect_text(&cl, WRONG("conversations"));
		send_text(&cl, "{\"type\":\"open_conversation\",\"id\":\""
		    CONV "\"}");
		client_counted("convs:");
		peer_expect(&P, &pr, PROTO_ST_WS_CONV_READ);
		next_cut = cut;
		reply_conv_read(&pr);
		expect_text(&cl, WRONG("open_conversation"));
	}
	/* A malformed id: refused here, nothing asked. */
	send_text(&cl, "{\"type\":\"open_conversation\",\"id\":\"ZZ\"}");
	expect_text(&cl, "{\"type\":\"error\",\"message\":"
	    "\"Conversation not found\",\"code\":\"conversation_not_found\""
	    FRAME("open_conversation"));
	peer_expect_none(&P, 50);

	send_text(&cl, "{\"type\":\"new_conversation\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_CONV_NEW);
	reply_conv_new(&pr);
	expect_text(&cl, CONV_NEW);
	send_text(&cl, "{\"type\":\"conversations\"}");
	client_counted("convs:");
	peer_expect(&P, &pr, PROTO_ST_WS_CONV_LIST);
	reply_conv_list(&pr);
	expect_text(&cl, "{\"type\":\"conversations\",\"conversations\":"
	    "[{\"id\":\"" CONV "\",\"started_at\":1,\"updated_at\":2,"
	    "\"preview\":\"hi\",\"current\":true}]}");
	send_text(&cl, "{\"type\":\"open_conversation\",\"id\":\"" CONV "\"}");
	client_counted("convs:");
	peer_expect(&P, &pr, PROTO_ST_WS_CONV_READ);
	reply_conv_read(&pr);
	expect_text(&cl, "{\"type\":\"history\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\",\"id\":\"\"}],\"truncated\":false,"
	    "\"conversation_id\":\"" CONV "\",\"readonly\":true}");
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&cl);
}

/*
 * The begin's early answer says the visitor's identity has lapsed (its
 * widget's secret changed): the visitor is told (identity, verified
 * false) only once the begin is on disk, before the turn's own frames; a
 * begin whose commit then fails tells it nothing but the error. (It was
 * told at the early answer: a review's find, its repro.)
 */
static void
test_ws_unverified_on_disk(void **state)
{
	struct tclient cl;
	struct peer_req pr;

	open_socket(&cl);
	send_text(&cl, IDENTIFY);
	peer_expect(&P, &pr, PROTO_ST_WS_IDENTIFY);
	reply_identify(&pr);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":true,"
	    "\"required\":false}");
	send_text(&cl, "{\"type\":\"message\",\"content\":\"hi\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_BEGIN);
	reply_begin(&pr, 1);		/* early: not on disk yet */
	drive_ms(50);
	tclient_pump(&cl);
	assert_true(cl.buf == NULL || cl.len == cl.off);
	peer_error(&P, &pr, PROTO_E_INTERNAL, "storage error");
	expect_text(&cl, NOT_SAVED_MSG);
	/* Again, and on disk this time: the identity first, then the turn. */
	send_text(&cl, "{\"type\":\"message\",\"content\":\"hi\"}");
	peer_expect(&P, &pr, PROTO_ST_WS_BEGIN);
	reply_begin(&pr, 1);
	drive_ms(20);
	peer_reply(&P, &pr, "", 0);
	expect_text(&cl, "{\"type\":\"identity\",\"verified\":false,"
	    "\"required\":false}");
	turn_answered(&cl);
	tclient_close(&cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ws_open_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_unverified_on_disk,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_availability,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_resume_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_requests_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_identify_resuming,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_identify_gone,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_create_until_stored,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_feedback_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_feedback_gone,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_conv_new_rates_ended,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_rating_names_conv,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_ws_convs_malformed,
		    each_setup, each_teardown),
	};

	log_init("test_wschat");
	return cmocka_run_group_tests(tests, setup, teardown);
}
