/*
 * The chat endpoints: body validation, NDJSON encoding, and whole chat
 * turns in-process over real sockets, against a fake storaged (the
 * protocol over a Unix socket, test_peer.h) and a fake model client
 * (turn_set_upstream): the one round trip before the model, the order
 * of answers, streams, failures, a client that leaves, backpressure,
 * and the history endpoint.
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

#define KEY	"widget-key-0123456789abcdefXYZ"
#define CONV	"0123456789abcdef0123456789abcdef"
/* The stored reply's id (fill_msg's n 2): the stream's done names it. */
#define MSGID	"00000000000000000000000000000002"

static struct peer P;

/* ------------------------------------------------------- fake model */

static void
model_says(const char *text)
{
	assert_non_null(F.arg);
	if (F.cbs.can_write(F.arg))
		F.cbs.on_delta(F.arg, text, strlen(text));
}

/* ------------------------------------------------------------ setup */

static void
settings(const char *rate_max, int production)
{
	const char *kv[] = { "RATE_LIMIT_MAX_REQUESTS", rate_max,
	    "CORS_ORIGIN", "https://a.com", "MAX_HISTORY_MESSAGES", "7",
	    NULL };

	test_settings(kv);
	resp_set_production(production);
}

static int
setup(void **state)
{
	peer_setup(&P);
	chat_init(KEY);
	turn_set_upstream(&fake_model);
	settings("30", 0);
	return 0;
}

static int
teardown(void **state)
{
	peer_teardown(&P);
	chat_shutdown();
	cors_shutdown();
	settings_free(&wsettings);
	return 0;
}

/* turn.c: no hold of "start" (the tests say when the model speaks). */
void turn_set_hold_ms(uint64_t ms);

static int
each_setup(void **state)
{
	turn_set_hold_ms(0);
	memset(&F, 0, sizeof(F));
	settings("30", 0);
	chat_init(KEY);
	assert_int_equal(peer_connect(&P), 0);
	return 0;
}

static int
each_teardown(void **state)
{
	drive_ms(20);
	assert_int_equal(chat_turns(), 0);
	return 0;
}

/* ------------------------------------------------------------ requests */

static void
send_str(struct tclient *cl, const char *s)
{
	assert_int_equal(tclient_send(cl, s, strlen(s)), 0);
}

static void
post(struct tclient *cl, const char *path, const char *key,
    const char *body)
{
	char req[16384];

	snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\n%s%s%s"
	    "Content-Length: %zu\r\n\r\n%s", path,
	    key ? "x-api-key: " : "", key ? key : "", key ? "\r\n" : "",
	    strlen(body), body);
	send_str(cl, req);
}

struct begin {
	char widget[ST_WIDGET_MAX + 1], session[ST_SESSION_MAX + 1];
	char content[8192], key[ST_RATE_KEY_MAX + 1];
	uint32_t window, max, hmax;
	uint32_t token_len;	/* the session's hash: sent with files alone */
};

static void
expect_begin(struct peer_req *pr, struct begin *b)
{
	struct st_chat_begin_req req;

	peer_expect(&P, pr, PROTO_ST_CHAT_BEGIN);
	/* The model may be called on storaged's early answer. */
	assert_true(pr->flags & PROTO_F_EARLY);
	assert_int_equal(st_req_decode(PROTO_ST_CHAT_BEGIN, pr->payload,
	    pr->len, &req), 0);
	strlcpy(b->widget, req.widget, sizeof(b->widget));
	strlcpy(b->session, req.session, sizeof(b->session));
	strlcpy(b->content, req.content, sizeof(b->content));
	strlcpy(b->key, req.rate_key, sizeof(b->key));
	b->window = req.window_ms;
	b->max = req.rate_max;
	b->hmax = req.history_max;
	b->token_len = req.token_len;
	st_req_free(PROTO_ST_CHAT_BEGIN, &req);
}

static void
fill_conv(struct st_conv *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, CONV, sizeof(c->id));
	strlcpy(c->widget, "default", sizeof(c->widget));
	strlcpy(c->session, "s1", sizeof(c->session));
	c->created_at = c->updated_at = 1700000000000ULL;
	c->message_count = 1;
	c->last_message = strdup("x");
}

static void
fill_msg(struct st_msg *m, const char *role, const char *content,
    uint64_t at)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%032llx", (unsigned long long)at);
	strlcpy(m->conv_id, CONV, sizeof(m->conv_id));
	strlcpy(m->role, role, sizeof(m->role));
	strlcpy(m->status, "complete", sizeof(m->status));
	m->created_at = at;
	m->content = strdup(content);
}

/* reply_begin's answer is storaged's early one (then confirm it). */
static int begin_early;
/* The next reply_rep is a byte short (-1) or a byte over (1), then whole again. */
static int next_cut;

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

/*
 * ST_CHAT_BEGIN's OK with the default agent and n history entries: role,
 * content pairs (the user message last).
 */
static void
reply_begin(struct peer_req *pr, int n, ...)
{
	struct st_begin_rep rep;
	struct st_line *h;
	va_list ap;
	int i;

	memset(&rep, 0, sizeof(rep));
	assert_non_null(h = calloc(n + 1, sizeof(*h)));
	st_agent_defaults(&rep.ok.agent);
	rep.ok.created = 1;
	strlcpy(rep.ok.conv_id, CONV, sizeof(rep.ok.conv_id));
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		strlcpy(h[i].role, va_arg(ap, const char *), sizeof(h[i].role));
		h[i].content = (char *)va_arg(ap, const char *);
	}
	va_end(ap);
	rep.ok.history = h;
	rep.ok.nhistory = (uint32_t)n;
	reply_rep(pr, begin_early ? PROTO_F_EARLY : 0, &rep);
	st_agent_free(&rep.ok.agent);
	free(h);
}

/* ST_CHAT_BEGIN's refusal: result, and its retry. */
static void
reply_refused(struct peer_req *pr, uint8_t result, uint64_t retry_ms)
{
	struct st_begin_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = result;
	rep.retry_ms = retry_ms;
	reply_rep(pr, 0, &rep);
}

/* The rate verdict: ST_RATE_HIT's answer. */
static void
reply_rate(struct peer_req *pr, int limited, uint64_t retry_ms)
{
	struct st_rate_verdict v = { (uint8_t)limited, retry_ms };

	reply_rep(pr, 0, &v);
}

struct append {
	char conv[ST_ID_HEX + 1], role[16], status[16];
	char content[4096];
	uint32_t ptok, ctok;
};

static void
expect_append(struct peer_req *pr, struct append *a)
{
	struct st_msg_append_req req;

	peer_expect(&P, pr, PROTO_ST_MSG_APPEND);
	assert_int_equal(st_req_decode(PROTO_ST_MSG_APPEND, pr->payload,
	    pr->len, &req), 0);
	strlcpy(a->conv, req.conv_id, sizeof(a->conv));
	strlcpy(a->role, req.role, sizeof(a->role));
	strlcpy(a->content, req.content, sizeof(a->content));
	strlcpy(a->status, req.status, sizeof(a->status));
	a->ptok = req.prompt_tokens;
	a->ctok = req.completion_tokens;
	st_req_free(PROTO_ST_MSG_APPEND, &req);
	assert_string_equal(a->conv, CONV);
	assert_string_equal(a->role, "assistant");
}

/* ST_MSG_APPEND's answer: the stored message's id (as fill_msg's at 2). */
static void
reply_append(struct peer_req *pr)
{
	struct st_msg_stored ms;

	snprintf(ms.id, sizeof(ms.id), "%032llx", 2ULL);
	reply_rep(pr, 0, &ms);
}

/*
 * Posts message for session s1 and lets storage start the turn (the
 * message is the whole history): the model has been called.
 */
static void
start_turn(struct tclient *cl, const char *path, const char *message,
    struct peer_req *pr)
{
	struct begin b;
	char body[256];

	snprintf(body, sizeof(body), "{\"sessionId\":\"s1\",\"message\":"
	    "\"%s\"}", message);
	post(cl, path, KEY, body);
	expect_begin(pr, &b);
	/* No files: the session's hash is not made, nor sent. */
	assert_int_equal(b.token_len, 0);
	reply_begin(pr, 1, "user", message);
	drive_ms(10);
}

/* The note of a refused key (setup.c, issue 24): the chat API's. */
static void
expect_key_note(void)
{
	peer_expect_setup_note(&P, ST_SETUP_KEY, "", NULL);
}

/* Waits for the whole answer, ms at most; it must have status. */
static void
expect_answer_in(struct tclient *cl, size_t *off, struct tresp *r,
    int status, int ms)
{
	assert_true(tresp_wait(cl, off, r, ms));
	assert_int_equal(r->status, status);
}

/* Waits for the whole answer; it must have status. */
static void
expect_answer(struct tclient *cl, size_t *off, struct tresp *r, int status)
{
	expect_answer_in(cl, off, r, status, 2000);
}

/* The stream's body so far (the head must be there). */
static const char *
stream_so_far(struct tclient *cl, struct tresp *r)
{
	size_t off = 0;
	int i;

	for (i = 0; i < 5; i++)
		tclient_pump(cl);
	tresp_free(r);
	assert_int_equal(tresp_parse(cl, &off, 1, r), 1);
	return r->body;
}

/* The turn stores its reply, status and content as given (NULL: any). */
static void
expect_stored(struct peer_req *pr, const char *status, const char *content)
{
	struct append a;

	expect_append(pr, &a);
	if (status != NULL)
		assert_string_equal(a.status, status);
	if (content != NULL)
		assert_string_equal(a.content, content);
	reply_append(pr);
}

/* The whole answer (a stream, after the store) has the body want. */
static void
expect_body(struct tclient *cl, size_t *off, const char *want)
{
	struct tresp r;

	assert_true(tresp_wait(cl, off, &r, 2000));
	assert_string_equal(r.body, want);
	tresp_free(&r);
}

/* -------------------------------------------------------- validation */

static void
test_session_valid(void **state)
{
	char s[200];

	assert_true(chat_session_valid("a", 1));
	assert_true(chat_session_valid("Az09._:-", 8));
	memset(s, 'x', sizeof(s));
	assert_true(chat_session_valid(s, 128));
	assert_false(chat_session_valid(s, 129));
	assert_false(chat_session_valid("", 0));
	assert_false(chat_session_valid("a b", 3));
	assert_false(chat_session_valid("a/b", 3));
	assert_false(chat_session_valid("a\0b", 3));
	assert_false(chat_session_valid("\xc3\xa9", 2));
	assert_false(chat_session_valid("a+b", 3));
}

static char *
msg_body(const char *unit, int n)
{
	size_t ul = strlen(unit), i;
	char *b = malloc(ul * (size_t)n + 64), *p;

	assert_non_null(b);
	p = b + sprintf(b, "{\"sessionId\":\"s\",\"message\":\"");
	for (i = 0; i < (size_t)n; i++, p += ul)
		memcpy(p, unit, ul);
	strcpy(p, "\"}");
	return b;
}

static void
test_parse_body(void **state)
{
	static const struct {
		const char *body;
		enum chat_body want;
		const char *detail;	/* a part of the details, or NULL */
	} tab[] = {
		{ "{\"sessionId\":\"s1\",\"message\":\"hi\"}", CHAT_BODY_OK, NULL },
		{ " {\"message\":\"hi\",\"sessionId\":\"a.b:c-d_e\",\"extra\":[1,{}]}\n",
		    CHAT_BODY_OK, NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"\\u00e9\\ud83d\\ude00\"}",
		    CHAT_BODY_OK, NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"   \"}", CHAT_BODY_OK, NULL },
		{ "", CHAT_BODY_INVALID, "sessionId: required" },
		{ " \r\n", CHAT_BODY_INVALID, "message: required" },
		{ "{}", CHAT_BODY_INVALID, "sessionId: required; message: required" },
		{ "[]", CHAT_BODY_INVALID, "JSON object" },
		{ "\"hi\"", CHAT_BODY_INVALID, "JSON object" },
		{ "42", CHAT_BODY_INVALID, "JSON object" },
		{ "null", CHAT_BODY_INVALID, "JSON object" },
		{ "{\"sessionId\":\"s1\"}", CHAT_BODY_INVALID, "message: required" },
		{ "{\"message\":\"hi\"}", CHAT_BODY_INVALID, "sessionId: required" },
		{ "{\"sessionId\":1,\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must be a string" },
		{ "{\"sessionId\":null,\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must be a string" },
		{ "{\"sessionId\":\"s1\",\"message\":[\"hi\"]}", CHAT_BODY_INVALID,
		    "message: must be a string" },
		{ "{\"sessionId\":\"s1\",\"message\":true}", CHAT_BODY_INVALID,
		    "message: must be a string" },
		{ "{\"sessionId\":\"\",\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must match" },
		{ "{\"sessionId\":\"a b\",\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must match" },
		{ "{\"sessionId\":\"\\u00e9\",\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must match" },
		{ "{\"sessionId\":\"a\\u0000\",\"message\":\"hi\"}", CHAT_BODY_INVALID,
		    "sessionId: must match" },
		{ "{\"sessionId\":\"s1\",\"message\":\"\"}", CHAT_BODY_INVALID,
		    "message: must be 1 to 4000 characters" },
		{ "{\"sessionId\":\"s1\",\"message\":\"a\\u0000b\"}", CHAT_BODY_INVALID,
		    "NUL" },
		{ "{\"sessionId\":\"s1\",\"message\":\"x\",\"message\":\"y\"}",
		    CHAT_BODY_MALFORMED, "duplicate" },
		{ "{\"sessionId\":\"s1\",\"message\":\"x\"", CHAT_BODY_MALFORMED, NULL },
		{ "{sessionId:1}", CHAT_BODY_MALFORMED, NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"a\xff\"}", CHAT_BODY_MALFORMED,
		    NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"\xc3\"}", CHAT_BODY_MALFORMED,
		    NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"\\ud800\"}", CHAT_BODY_MALFORMED,
		    NULL },
		{ "{\"sessionId\":\"s1\",\"message\":\"x\"} {}", CHAT_BODY_MALFORMED,
		    NULL },
		/* A UTF-8 BOM first is ignored (RFC 8259), on either path. */
		{ "\xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		    CHAT_BODY_OK, NULL },
		{ "\xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\",\"k\":1}",
		    CHAT_BODY_OK, NULL },
		{ "\xef\xbb\xbf", CHAT_BODY_INVALID, "sessionId: required" },
		/* Anywhere else, or twice, it is no JSON. */
		{ " \xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		    CHAT_BODY_MALFORMED, NULL },
		{ "\xef\xbb\xbf\xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		    CHAT_BODY_MALFORMED, NULL },
	};
	struct chat_input in;
	char details[CHAT_DETAILS_MAX], s129[200], body[400];
	enum chat_body got;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		got = chat_parse_body("application/json", tab[i].body,
		    strlen(tab[i].body), &in, details, sizeof(details));
		if (got != tab[i].want)
			fail_msg("%zu: %s: got %d (%s)", i, tab[i].body, got,
			    details);
		if (tab[i].detail != NULL && strstr(details,
		    tab[i].detail) == NULL)
			fail_msg("%zu: details \"%s\" lack \"%s\"", i, details,
			    tab[i].detail);
		if (got == CHAT_BODY_OK) {
			assert_non_null(in.message);
			assert_string_equal(details, "");
		} else
			assert_null(in.message);
		chat_input_free(&in);
	}

	/* What was parsed. */
	{
		const char *j = "{\"sessionId\":\"abc\",\"message\":\"h\\u00e9\"}";

		assert_int_equal(chat_parse_body("application/json", j,
		    strlen(j), &in, details, sizeof(details)), CHAT_BODY_OK);
	}
	assert_string_equal(in.session, "abc");
	assert_string_equal(in.message, "h\xc3\xa9");
	chat_input_free(&in);

	/* Content types: JSON only, any case, parameters allowed. */
	assert_int_equal(chat_parse_body("Application/JSON; charset=utf-8",
	    tab[0].body, strlen(tab[0].body), &in, details, sizeof(details)),
	    CHAT_BODY_OK);
	chat_input_free(&in);
	assert_int_equal(chat_parse_body("application/json ;x=y",
	    tab[0].body, strlen(tab[0].body), &in, details, sizeof(details)),
	    CHAT_BODY_OK);
	chat_input_free(&in);
	assert_int_equal(chat_parse_body("text/plain", tab[0].body,
	    strlen(tab[0].body), &in, details, sizeof(details)),
	    CHAT_BODY_INVALID);
	assert_non_null(strstr(details, "Content-Type"));
	assert_int_equal(chat_parse_body(NULL, tab[0].body,
	    strlen(tab[0].body), &in, details, sizeof(details)),
	    CHAT_BODY_INVALID);
	assert_int_equal(chat_parse_body("application/jsonx", tab[0].body,
	    strlen(tab[0].body), &in, details, sizeof(details)),
	    CHAT_BODY_INVALID);

	/* sessionId of 128 and 129 characters. */
	memset(s129, 'a', sizeof(s129));
	snprintf(body, sizeof(body), "{\"sessionId\":\"%.128s\",\"message\":\"m\"}",
	    s129);
	assert_int_equal(chat_parse_body("application/json", body,
	    strlen(body), &in, details, sizeof(details)), CHAT_BODY_OK);
	assert_int_equal(strlen(in.session), 128);
	chat_input_free(&in);
	snprintf(body, sizeof(body), "{\"sessionId\":\"%.129s\",\"message\":\"m\"}",
	    s129);
	assert_int_equal(chat_parse_body("application/json", body,
	    strlen(body), &in, details, sizeof(details)), CHAT_BODY_INVALID);
}

static void
test_message_length(void **state)
{
	static const struct {
		const char *unit;	/* one character: its UTF-16 units count */
		int n;
		enum chat_body want;
	} tab[] = {
		{ "a", 4000, CHAT_BODY_OK },
		{ "a", 4001, CHAT_BODY_INVALID },
		{ "\xc3\xa9", 4000, CHAT_BODY_OK },		/* 8000 bytes */
		{ "\xc3\xa9", 4001, CHAT_BODY_INVALID },
		{ "\xe2\x82\xac", 4000, CHAT_BODY_OK },	/* 12000 bytes */
		{ "\xf0\x9f\x98\x80", 2000, CHAT_BODY_OK },	/* 2 units each */
		{ "\xf0\x9f\x98\x80", 2001, CHAT_BODY_INVALID },
		{ "\\ud83d\\ude00", 2000, CHAT_BODY_OK },	/* escaped pairs */
		{ "\\ud83d\\ude00", 2001, CHAT_BODY_INVALID },
		{ "a\xf0\x9f\x98\x80", 1333, CHAT_BODY_OK },	/* 3999 */
		{ "a\xf0\x9f\x98\x80", 1334, CHAT_BODY_INVALID },
		{ "\\n", 4000, CHAT_BODY_OK },
		{ "\\n", 4001, CHAT_BODY_INVALID },
	};
	struct chat_input in;
	char details[CHAT_DETAILS_MAX];
	char *b;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		b = msg_body(tab[i].unit, tab[i].n);
		if (chat_parse_body("application/json", b, strlen(b), &in,
		    details, sizeof(details)) != tab[i].want)
			fail_msg("%zu: %d x \"%s\": %s", i, tab[i].n,
			    tab[i].unit, details);
		chat_input_free(&in);
		free(b);
	}
}

static void
test_auth(void **state)
{
	struct http_request req;
	struct http_header hs[4];

	memset(&req, 0, sizeof(req));
	req.headers = hs;
	chat_init(KEY);
	assert_int_equal(chat_auth(&req), 401);
	req.headers[0].name = "x-widget-api-key";
	req.headers[0].value = KEY;
	req.nheaders = 1;
	assert_int_equal(chat_auth(&req), 0);
	/* x-api-key first... */
	req.headers[1].name = "x-api-key";
	req.headers[1].value = "wrong";
	req.nheaders = 2;
	assert_int_equal(chat_auth(&req), 401);
	/* ...also when it is empty (the reference's ??: it is given). */
	req.headers[1].value = "";
	assert_int_equal(chat_auth(&req), 401);
	req.headers[1].value = KEY;
	req.headers[0].value = "wrong";
	assert_int_equal(chat_auth(&req), 0);
	chat_init(NULL);
	assert_int_equal(chat_auth(&req), 503);
	chat_init(KEY);
}

static char *
ndjson(json_t *v)
{
	struct buf b;
	char *s;

	buf_init(&b);
	assert_int_equal(chat_ndjson(&b, v), 0);
	buf_add(&b, "", 1);
	s = strdup(b.data);
	buf_free(&b);
	return s;
}

static void
test_ndjson(void **state)
{
	char *s;

	s = ndjson(json_pack("{s:s, s:s}", "type", "token", "token",
	    "a\"b\\c\n\r\t\x01/"));
	assert_string_equal(s, "{\"type\":\"token\",\"token\":"
	    "\"a\\\"b\\\\c\\n\\r\\t\\u0001/\"}\n");
	free(s);
	/* U+2028 and U+2029 escaped; other characters as they are. */
	s = ndjson(json_pack("{s:s}", "token",
	    "x\xe2\x80\xa8y\xe2\x80\xa9z\xe2\x80\xa7\xc3\xa9\xf0\x9f\x98\x80"));
	assert_string_equal(s, "{\"token\":\"x\\u2028y\\u2029z\xe2\x80\xa7"
	    "\xc3\xa9\xf0\x9f\x98\x80\"}\n");
	free(s);
	s = ndjson(json_pack("{s:s}", "t", "\xe2\x80\xa8\xe2\x80\xa8"));
	assert_string_equal(s, "{\"t\":\"\\u2028\\u2028\"}\n");
	free(s);
	/* One line each, whatever the content. */
	s = ndjson(json_pack("{s:s}", "t", "l1\nl2\n"));
	assert_non_null(strchr(s, '\n'));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);
}

/* ------------------------------------------------------------ turns */

static void
test_json_turn(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	struct append a;
	size_t off = 0;
	char v[64];

	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"hello\",\"x\":1}");
	expect_begin(&pr, &b);
	assert_string_equal(b.widget, "default");
	assert_string_equal(b.session, "s1");
	assert_string_equal(b.content, "hello");
	assert_string_equal(b.key, "ip:local");
	assert_int_equal(b.window, 60000);
	assert_int_equal(b.max, 30);
	assert_int_equal(b.hmax, 7);
	assert_int_equal(F.started, 0);		/* storage first */
	reply_begin(&pr, 4, "user", "first", "assistant", "", "assistant",
	    "earlier reply", "user", "hello");
	drive_ms(10);
	assert_int_equal(F.started, 1);
	/* History oldest first, the new message last; empty ones skipped. */
	assert_int_equal(F.nmsgs, 3);
	assert_string_equal(F.role[0], "user");
	assert_string_equal(F.content[0], "first");
	assert_string_equal(F.role[1], "assistant");
	assert_string_equal(F.content[1], "earlier reply");
	assert_string_equal(F.content[2], "hello");

	model_says("Hel");
	model_says("lo \xe2\x80\xa8 there");
	drive_ms(10);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);		/* JSON: nothing before the end */
	fake_model_done(UPSTREAM_OK, NULL, 12, 3);
	expect_append(&pr, &a);
	assert_string_equal(a.content, "Hello \xe2\x80\xa8 there");
	assert_string_equal(a.status, "complete");
	assert_int_equal(a.ptok, 12);
	assert_int_equal(a.ctok, 3);
	drive_ms(10);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);		/* not before the store */
	reply_append(&pr);
	expect_answer(&cl, &off, &r, 200);
	assert_string_equal(r.body, "{\"conversationId\":\"" CONV "\","
	    "\"message\":\"Hello \xe2\x80\xa8 there\"}");
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	tresp_free(&r);

	/* The connection goes on (keep-alive). */
	send_str(&cl, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_answer(&cl, &off, &r, 200);
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_stream_turn(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	struct append a;
	size_t off = 0;
	const char *body;
	char v[128];

	memset(&r, 0, sizeof(r));
	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"hello\"}");
	expect_begin(&pr, &b);
	drive_ms(10);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);		/* nothing before storage */
	reply_begin(&pr, 1, "user", "hello");

	/* start, right away, before any token. */
	body = stream_so_far(&cl, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(tresp_header(&r, "Content-Type", v, sizeof(v)),
	    "application/x-ndjson; charset=utf-8");
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store, no-transform");
	assert_string_equal(tresp_header(&r, "X-Accel-Buffering", v,
	    sizeof(v)), "no");
	assert_string_equal(tresp_header(&r, "Transfer-Encoding", v,
	    sizeof(v)), "chunked");
	assert_null(tresp_header(&r, "Content-Length", v, sizeof(v)));
	assert_string_equal(body,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n");

	/* Each token as it arrives. */
	model_says("Hel");
	body = stream_so_far(&cl, &r);
	assert_non_null(strstr(body,
	    "\n{\"type\":\"token\",\"token\":\"Hel\"}\n"));
	model_says("lo\n\"x\"");
	body = stream_so_far(&cl, &r);
	assert_non_null(strstr(body,
	    "{\"type\":\"token\",\"token\":\"lo\\n\\\"x\\\"\"}\n"));
	model_says("");		/* an empty delta is no event */
	fake_model_done(UPSTREAM_OK, NULL, 5, 2);
	expect_append(&pr, &a);
	assert_string_equal(a.content, "Hello\n\"x\"");
	assert_string_equal(a.status, "complete");
	body = stream_so_far(&cl, &r);
	assert_null(strstr(body, "done"));	/* only once stored */
	assert_false(r.complete);
	reply_append(&pr);
	tresp_free(&r);
	expect_body(&cl, &off,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"Hel\"}\n"
	    "{\"type\":\"token\",\"token\":\"lo\\n\\\"x\\\"\"}\n"
	    "{\"type\":\"done\",\"message\":\"Hello\\n\\\"x\\\"\","
	    "\"conversationId\":\"" CONV "\",\"messageId\":\"" MSGID "\"}\n");

	/* Keep-alive after a stream; /chat is the same stream. */
	start_turn(&cl, "/chat", "again", &pr);
	model_says("ok");
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	expect_append(&pr, &a);
	reply_append(&pr);
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_non_null(strstr(r.body, "{\"type\":\"done\",\"message\":\"ok\""));
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_stream_model_fails(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct append a;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat/stream", "hello", &pr);
	model_says("partial");
	fake_model_done(UPSTREAM_BROKEN, "stream cut by upstream", 0, 0);
	expect_append(&pr, &a);
	/* The model's error is recorded, not an invented reply. */
	assert_string_equal(a.status, "failed");
	assert_string_equal(a.content, "stream cut by upstream");
	reply_append(&pr);
	expect_answer(&cl, &off, &r, 200);
	assert_non_null(strstr(r.body, "{\"type\":\"token\",\"token\":"
	    "\"partial\"}\n{\"type\":\"error\",\"error\":"
	    "\"Upstream model error\"}\n"));
	assert_null(strstr(r.body, "stream cut"));	/* no internals */
	assert_null(strstr(r.body, "done"));
	tresp_free(&r);

	/* A model that never starts: the error after the start line. */
	F.fail_start = 1;
	start_turn(&cl, "/v1/chat/stream", "again", &pr);
	expect_stored(&pr, "failed", NULL);
	expect_body(&cl, &off,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"error\",\"error\":\"Upstream model error\"}\n");
	tclient_close(&cl);
}

static void
test_json_model_fails(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct append a;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat", "a", &pr);
	fake_model_done(UPSTREAM_HTTP_ERROR, "Incorrect API key provided", 0, 0);
	expect_stored(&pr, "failed",
	    "model answered HTTP 500: Incorrect API key provided");
	expect_answer(&cl, &off, &r, 502);
	assert_string_equal(r.body, "{\"error\":\"Upstream model error\"}");
	tresp_free(&r);

	start_turn(&cl, "/v1/chat", "a", &pr);
	model_says("half");
	fake_model_done(UPSTREAM_TIMEOUT, NULL, 0, 0);
	expect_stored(&pr, "failed", "model timed out");
	expect_answer(&cl, &off, &r, 504);
	assert_string_equal(r.body, "{\"error\":\"Upstream model timeout\"}");
	tresp_free(&r);

	/* The failed store of a failed turn still answers 502. */
	start_turn(&cl, "/v1/chat", "a", &pr);
	fake_model_done(UPSTREAM_BROKEN, "x", 0, 0);
	expect_append(&pr, &a);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_answer(&cl, &off, &r, 502);
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_empty_reply(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat", "a", &pr);
	model_says(" \n");
	fake_model_done(UPSTREAM_OK, NULL, 4, 0);
	expect_stored(&pr, "complete", CHAT_EMPTY_REPLY);
	expect_answer(&cl, &off, &r, 200);
	assert_string_equal(r.body, "{\"conversationId\":\"" CONV "\","
	    "\"message\":\"" CHAT_EMPTY_REPLY "\"}");
	tresp_free(&r);

	/*
	 * Streamed: blanks are held back, and the stand-in goes out as a
	 * token, so the tokens add up to "done".
	 */
	start_turn(&cl, "/v1/chat/stream", "a", &pr);
	model_says(" ");
	model_says("\n\t");
	fake_model_done(UPSTREAM_OK, NULL, 4, 0);
	expect_stored(&pr, NULL, CHAT_EMPTY_REPLY);
	expect_body(&cl, &off,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"" CHAT_EMPTY_REPLY "\"}\n"
	    "{\"type\":\"done\",\"message\":\"" CHAT_EMPTY_REPLY "\","
	    "\"conversationId\":\"" CONV "\",\"messageId\":\"" MSGID "\"}\n");

	/*
	 * Trimmed as the reference's reply: leading white space never goes
	 * out, the rest waits for the next visible text (none here).
	 */
	start_turn(&cl, "/v1/chat/stream", "a", &pr);
	model_says(" ");
	model_says("\nHi");
	model_says(" ");
	model_says("\xc2\xa0");
	fake_model_done(UPSTREAM_OK, NULL, 4, 3);
	expect_stored(&pr, NULL, "Hi");
	expect_body(&cl, &off,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"Hi\"}\n"
	    "{\"type\":\"done\",\"message\":\"Hi\","
	    "\"conversationId\":\"" CONV "\",\"messageId\":\"" MSGID "\"}\n");
	tclient_close(&cl);
}

static void
test_client_leaves_mid_stream(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;

	memset(&r, 0, sizeof(r));
	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat/stream", "hello", &pr);
	model_says("You sa");
	stream_so_far(&cl, &r);
	tresp_free(&r);
	close(cl.fd);
	cl.fd = -1;
	drive_ms(20);
	/* The model call is cancelled at once... */
	assert_int_equal(F.cancelled, 1);
	assert_int_equal(conn_count(), 0);
	/* ...and what the client got is stored, though it is gone. */
	assert_int_equal(chat_turns(), 1);
	expect_stored(&pr, "interrupted", "You sa");
	drive_ms(20);
	assert_int_equal(chat_turns(), 0);
	tclient_close(&cl);

	/* A client that only half-closes has left too (as nginx judges). */
	memset(&F, 0, sizeof(F));
	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat", "a", &pr);
	shutdown(cl.fd, SHUT_WR);
	drive_ms(20);
	assert_int_equal(F.cancelled, 1);
	expect_stored(&pr, "interrupted", "");
	drive_ms(20);
	tclient_close(&cl);
}

static void
test_client_leaves_early(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	struct begin b;
	struct append a;

	/* Gone while the user message is being stored: recorded, no model. */
	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"hello\"}");
	expect_begin(&pr, &b);
	close(cl.fd);
	cl.fd = -1;
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
	reply_begin(&pr, 1, "user", "hello");
	expect_append(&pr, &a);
	assert_string_equal(a.status, "interrupted");
	assert_string_equal(a.content, "");
	assert_int_equal(F.started, 0);
	reply_append(&pr);
	drive_ms(20);
	assert_int_equal(chat_turns(), 0);
	tclient_close(&cl);

	/* Gone during the final store: the store goes on, nothing breaks. */
	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat/stream", "hello", &pr);
	model_says("done text");
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	expect_append(&pr, &a);
	close(cl.fd);
	cl.fd = -1;
	drive_ms(20);
	assert_int_equal(chat_turns(), 1);
	reply_append(&pr);
	drive_ms(20);
	assert_int_equal(chat_turns(), 0);
	assert_string_equal(a.status, "complete");
	tclient_close(&cl);
}

/*
 * storaged answers ST_CHAT_BEGIN before its commit: the model starts at
 * once, but the visitor sees nothing and no reply is stored until the
 * commit is confirmed; a commit that fails ends the turn as if the model
 * had never been called.
 */
static void
test_early_answer(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	size_t off = 0;

	memset(&r, 0, sizeof(r));
	begin_early = 1;
	assert_int_equal(tclient_open(&cl), 0);

	/* A stream: held until the confirmation, then all of it. */
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"hello\"}");
	expect_begin(&pr, &b);
	reply_begin(&pr, 1, "user", "hello");
	drive_ms(10);
	assert_int_equal(F.started, 1);
	model_says("Hel");
	drive_ms(10);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);
	peer_reply(&P, &pr, "", 0);
	drive_ms(10);
	assert_string_equal(stream_so_far(&cl, &r),
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"Hel\"}\n");
	tresp_free(&r);
	model_says("lo");
	fake_model_done(UPSTREAM_OK, NULL, 1, 2);
	expect_stored(&pr, NULL, "Hello");
	expect_body(&cl, &off,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"Hel\"}\n"
	    "{\"type\":\"token\",\"token\":\"lo\"}\n"
	    "{\"type\":\"done\",\"message\":\"Hello\","
	    "\"conversationId\":\"" CONV "\",\"messageId\":\"" MSGID "\"}\n");

	/* The model finishes first: the reply is stored only after. */
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_begin(&pr, &b);
	reply_begin(&pr, 1, "user", "a");
	drive_ms(10);
	model_says("quick");
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	peer_expect_none(&P, 50);
	peer_reply(&P, &pr, "", 0);
	expect_stored(&pr, "complete", "quick");
	expect_answer(&cl, &off, &r, 200);
	tresp_free(&r);

	/* The commit fails: the model is cancelled, 503, nothing stored. */
	memset(&F, 0, sizeof(F));
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"b\"}");
	expect_begin(&pr, &b);
	reply_begin(&pr, 1, "user", "b");
	drive_ms(10);
	model_says("never shown");
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "commit failed");
	expect_answer(&cl, &off, &r, 503);
	assert_string_equal(r.body, "{\"error\":\"Storage unavailable\"}");
	tresp_free(&r);
	assert_int_equal(F.cancelled, 1);
	peer_expect_none(&P, 50);
	assert_int_equal(chat_turns(), 0);

	/*
	 * The client leaves before the confirmation: interrupted, after it,
	 * with none of the text it was never sent.
	 */
	memset(&F, 0, sizeof(F));
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"c\"}");
	expect_begin(&pr, &b);
	reply_begin(&pr, 1, "user", "c");
	drive_ms(10);
	model_says("part");
	close(cl.fd);
	cl.fd = -1;
	drive_ms(20);
	assert_int_equal(F.cancelled, 1);
	peer_expect_none(&P, 50);
	peer_reply(&P, &pr, "", 0);
	expect_stored(&pr, "interrupted", "");
	drive_ms(20);
	assert_int_equal(chat_turns(), 0);
	tclient_close(&cl);
	begin_early = 0;
}

static void
test_order_of_checks(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct pdec d;
	char key[ST_RATE_KEY_MAX + 1], v[64];
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);

	/* A wrong key is counted first: within the limit, 401. */
	post(&cl, "/v1/chat", "wrong", "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, key, sizeof(key));
	assert_string_equal(key, "ip:local");
	assert_int_equal(pdec_u32(&d), 60000);
	assert_int_equal(pdec_u32(&d), 30);
	assert_int_equal(pdec_done(&d), 0);
	reply_rate(&pr, 0, 0);
	expect_answer(&cl, &off, &r, 401);
	assert_string_equal(r.body, "{\"error\":\"Unauthorized\"}");
	tresp_free(&r);
	expect_key_note();

	/* Over the limit: 429 before the key is looked at. */
	post(&cl, "/v1/chat", "wrong", "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	reply_rate(&pr, 1, 1500);
	expect_answer(&cl, &off, &r, 429);
	assert_string_equal(r.body, "{\"error\":\"Too many requests\"}");
	assert_string_equal(tresp_header(&r, "Retry-After", v, sizeof(v)),
	    "2");
	tresp_free(&r);

	/* A verdict a byte short or a byte long: 500, never let through. */
	{
		static const uint8_t verdict[10] = { 0 };
		size_t len;

		for (len = 8; len <= 10; len += 2) {
			post(&cl, "/v1/chat", "wrong",
			    "{\"sessionId\":\"s1\",\"message\":\"a\"}");
			peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
			peer_reply(&P, &pr, verdict, len);
			expect_answer(&cl, &off, &r, 500);
			tresp_free(&r);
		}
	}

	/* A good request over the limit: the one round trip says so. */
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	peer_expect(&P, &pr, PROTO_ST_CHAT_BEGIN);
	reply_refused(&pr, ST_CHAT_LIMITED, 60000);
	expect_answer(&cl, &off, &r, 429);
	assert_string_equal(tresp_header(&r, "Retry-After", v, sizeof(v)),
	    "60");
	assert_non_null(strstr(r.head, "application/json"));
	tresp_free(&r);
	assert_int_equal(F.started, 0);

	/* Key right, body wrong: counted, then 400 with details. */
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s 1\",\"message\":\"a\"}");
	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	/* storaged refusing the count: the 400 all the same. */
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "x");
	expect_answer(&cl, &off, &r, 400);
	assert_string_equal(r.body, "{\"error\":\"Invalid request payload\","
	    "\"details\":\"sessionId: must match ^[A-Za-z0-9._:-]{1,128}$\"}");
	tresp_free(&r);

	/* Malformed JSON. */
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":");
	assert_int_equal(peer_recv(&P, &pr, 2000), 0);
	reply_rate(&pr, 1, 0);
	expect_answer(&cl, &off, &r, 429);
	assert_string_equal(tresp_header(&r, "Retry-After", v, sizeof(v)),
	    "1");
	tresp_free(&r);
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":");
	assert_int_equal(peer_recv(&P, &pr, 2000), 0);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "x");
	expect_answer(&cl, &off, &r, 400);
	assert_true(strncmp(r.body, "{\"error\":\"Invalid JSON body\","
	    "\"details\":\"", 40) == 0);
	tresp_free(&r);
	tclient_close(&cl);

	/* Production: no details. */
	settings("0", 1);
	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s1\"}");
	expect_answer(&cl, &off, &r, 400);
	assert_string_equal(r.body, "{\"error\":\"Invalid request payload\"}");
	tresp_free(&r);
	post(&cl, "/v1/chat", KEY, "nope");
	expect_answer(&cl, &off, &r, 400);
	assert_string_equal(r.body, "{\"error\":\"Invalid JSON body\"}");
	tresp_free(&r);
	/* No limit: refusals need no round trip. */
	post(&cl, "/v1/chat", NULL, "{}");
	expect_answer(&cl, &off, &r, 401);
	tresp_free(&r);
	expect_key_note();
	tclient_close(&cl);
	resp_set_production(0);
}

static void
test_not_configured(void **state)
{
	struct tclient cl;
	struct tresp r;
	size_t off = 0;

	settings("0", 0);
	chat_init(NULL);
	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_answer(&cl, &off, &r, 503);
	assert_string_equal(r.body, "{\"error\":\"WIDGET_API_KEY is not "
	    "configured on this deployment\"}");
	tresp_free(&r);
	send_str(&cl, "GET /v1/chat/history?sessionId=s HTTP/1.1\r\n"
	    "Host: t\r\n\r\n");
	expect_answer(&cl, &off, &r, 503);
	tresp_free(&r);
	tclient_close(&cl);
	chat_init(KEY);
}

static void
test_storage_failures(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	struct append a;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	/* storaged fails the begin: 503 (unavailable) or 500. */
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_begin(&pr, &b);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_answer(&cl, &off, &r, 503);
	assert_string_equal(r.body, "{\"error\":\"Storage unavailable\"}");
	tresp_free(&r);
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_begin(&pr, &b);
	peer_error(&P, &pr, PROTO_E_INTERNAL, "disk full");
	expect_answer(&cl, &off, &r, 500);
	assert_string_equal(r.body, "{\"error\":\"Internal server error\"}");
	tresp_free(&r);
	/* A malformed reply. */
	post(&cl, "/v1/chat", KEY, "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_begin(&pr, &b);
	peer_reply(&P, &pr, "", 0);
	expect_answer(&cl, &off, &r, 500);
	tresp_free(&r);

	/* The final store fails in a stream: an error line, no done. */
	start_turn(&cl, "/v1/chat/stream", "a", &pr);
	model_says("fine");
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	expect_append(&pr, &a);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_non_null(strstr(r.body, "\n{\"type\":\"error\",\"error\":"
	    "\"Storage unavailable\"}\n"));
	assert_null(strstr(r.body, "done"));
	tresp_free(&r);
	/* In JSON: 503. */
	start_turn(&cl, "/v1/chat", "a", &pr);
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	expect_append(&pr, &a);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_answer(&cl, &off, &r, 503);
	tresp_free(&r);
	tclient_close(&cl);

	/*
	 * storaged gone: 503 once the request has waited for it to come back
	 * (storec.c's STOREC_WAIT_MS, 2 s). The test waits longer: with the
	 * same 2 s, its deadline and the worker's raced (seen failing once).
	 */
	peer_close(&P);
	peer_unlisten(&P);
	drive_ms(20);
	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	post(&cl, "/v1/chat/stream", KEY,
	    "{\"sessionId\":\"s1\",\"message\":\"a\"}");
	expect_answer_in(&cl, &off, &r, 503, 5000);
	assert_string_equal(r.body, "{\"error\":\"Storage unavailable\"}");
	tresp_free(&r);
	send_str(&cl, "GET /v1/chat/history?sessionId=s HTTP/1.1\r\n"
	    "Host: t\r\nx-api-key: " KEY "\r\n\r\n");
	expect_answer_in(&cl, &off, &r, 503, 5000);
	tresp_free(&r);
	tclient_close(&cl);
	storec_shutdown();
}

static void
test_backpressure(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	char piece[512];
	size_t off = 0, max_pending = 0, sent = 0, got = 0;
	int resumed, paused = 0, i, small = 4096;
	const char *p;

	/* Control characters: each byte is six on the wire (\u0001). */
	memset(piece, '\x01', sizeof(piece) - 1);
	piece[sizeof(piece) - 1] = '\0';
	assert_int_equal(tclient_open(&cl), 0);
	assert_int_equal(setsockopt(cl.c->fd, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	assert_int_equal(setsockopt(cl.fd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	start_turn(&cl, "/v1/chat/stream", "big", &pr);
	/* The client does not read: the socket fills, then our buffer. */
	for (i = 0; i < 100; i++) {
		loop_once(0);
		if (!F.cbs.can_write(F.arg)) {
			paused = 1;
			break;
		}
		F.cbs.on_delta(F.arg, piece, strlen(piece));
		sent += strlen(piece);
		if (conn_out_pending(cl.c) > max_pending)
			max_pending = conn_out_pending(cl.c);
	}
	assert_true(paused);
	assert_true(sent < ST_CONTENT_MAX);
	assert_true(max_pending >= CHAT_OUT_HIGH);
	assert_true(max_pending < CHAT_OUT_HIGH + 8 * sizeof(piece));
	resumed = F.resumed;
	drive_ms(20);
	assert_int_equal(F.resumed, resumed);	/* still stuck */
	assert_false(F.cbs.can_write(F.arg));

	/* The client reads: the model is resumed once output drains. */
	for (i = 0; i < 200 && F.resumed == resumed; i++)
		tclient_pump(&cl);
	assert_int_equal(F.resumed, resumed + 1);
	assert_true(conn_out_pending(cl.c) <= CONN_DRAIN_LOW);
	assert_true(F.cbs.can_write(F.arg));
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	/* Too big for the fake peer's buffer to decode: the type will do. */
	peer_expect(&P, &pr, PROTO_ST_MSG_APPEND);
	reply_append(&pr);
	assert_true(tresp_wait(&cl, &off, &r, 5000));
	/* Nothing lost. */
	for (p = r.body; (p = strstr(p, "\\u0001")) != NULL; p += 6)
		got++;
	/* Each token once, and once more in "done". */
	assert_int_equal(got, 2 * sent);
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_reply_cap(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	char piece[1000];
	size_t off = 0, tokens = 0;
	const char *p;
	int i;

	/* Two-byte characters, so the cut must fall between them. */
	for (i = 0; i < 998; i += 2)
		memcpy(piece + i, "\xc3\xa9", 2);
	piece[998] = '\0';
	assert_int_equal(tclient_open(&cl), 0);
	start_turn(&cl, "/v1/chat/stream", "long", &pr);
	for (i = 0; i < 70 && F.arg != NULL && F.cbs.can_write(F.arg); i++) {
		F.cbs.on_delta(F.arg, piece, strlen(piece));
		tclient_pump(&cl);
	}
	drive_ms(10);
	assert_int_equal(F.cancelled, 1);	/* the model was stopped */
	peer_expect(&P, &pr, PROTO_ST_MSG_APPEND);
	reply_append(&pr);
	assert_true(tresp_wait(&cl, &off, &r, 5000));
	for (p = r.body; (p = strstr(p, "{\"type\":\"token\",\"token\":\"")) !=
	    NULL; p++)
		tokens += strcspn(p + 25, "\"");
	assert_int_equal(tokens, ST_CONTENT_MAX);
	p = strstr(r.body, "{\"type\":\"done\",\"message\":\"");
	assert_non_null(p);
	assert_int_equal(strcspn(p + 26, "\""), ST_CONTENT_MAX);
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_http10_stream(void **state)
{
	static const char body[] = "{\"sessionId\":\"s1\",\"message\":\"a\"}";
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	struct append a;
	char req[512];
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	snprintf(req, sizeof(req), "POST /chat HTTP/1.0\r\nContent-Type: "
	    "application/json\r\nx-widget-api-key: " KEY "\r\n"
	    "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
	send_str(&cl, req);
	expect_begin(&pr, &b);
	reply_begin(&pr, 1, "user", "a");
	drive_ms(10);
	model_says("one");
	model_says("two");
	fake_model_done(UPSTREAM_OK, NULL, 1, 2);
	expect_append(&pr, &a);
	reply_append(&pr);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(tresp_parse(&cl, &off, 0, &r), 1);
	assert_null(strstr(r.head, "Transfer-Encoding"));
	assert_null(strstr(r.head, "Content-Length"));
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_string_equal(r.body,
	    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
	    "{\"type\":\"token\",\"token\":\"one\"}\n"
	    "{\"type\":\"token\",\"token\":\"two\"}\n"
	    "{\"type\":\"done\",\"message\":\"onetwo\",\"conversationId\":\""
	    CONV "\",\"messageId\":\"" MSGID "\"}\n");
	tresp_free(&r);
	tclient_close(&cl);
}

/* ST_SESSION_HISTORY's answer: found (ST_HISTORY_*), three messages when found. */
static void
reply_history(struct peer_req *pr, int found)
{
	struct st_session_history_rep rep;
	struct st_msg m[3];
	int i;

	memset(&rep, 0, sizeof(rep));
	rep.found = (uint8_t)found;
	fill_conv(&rep.h.conv);
	fill_msg(&m[0], "user", "hi \"there\"", 1700000000001ULL);
	fill_msg(&m[1], "assistant", "", 1700000000002ULL);
	fill_msg(&m[2], "assistant", "Hello", 1700000000003ULL);
	rep.h.msgs = m;
	rep.h.n = 3;
	rep.h.truncated = 1;	/* older ones left out */
	reply_rep(pr, 0, &rep);
	st_conv_free(&rep.h.conv);
	for (i = 0; i < 3; i++)
		st_msg_free(&m[i]);
}

static void
test_history(void **state)
{
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct pdec d;
	char s[ST_SESSION_MAX + 1], key[ST_RATE_KEY_MAX + 1];
	size_t off = 0;
	const char *req = "GET /v1/chat/history?sessionId=sess.1 HTTP/1.1\r\n"
	    "Host: t\r\nx-widget-api-key: " KEY "\r\n\r\n";

	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, req);
	/* Counted on its own key. */
	peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, key, sizeof(key));
	assert_string_equal(key, "history:ip:local");
	reply_rate(&pr, 0, 0);
	peer_expect(&P, &pr, PROTO_ST_SESSION_HISTORY);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "default");
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "sess.1");
	assert_int_equal(pdec_u32(&d), CHAT_HISTORY_LIMIT);
	assert_int_equal(pdec_done(&d), 0);
	reply_history(&pr, ST_HISTORY_FOUND);
	expect_answer(&cl, &off, &r, 200);
	assert_string_equal(r.body, "{\"sessionId\":\"sess.1\","
	    "\"conversationId\":\"" CONV "\",\"messages\":["
	    "{\"role\":\"user\",\"content\":\"hi \\\"there\\\"\","
	    "\"createdAt\":1700000000001},"
	    "{\"role\":\"assistant\",\"content\":\"Hello\","
	    "\"createdAt\":1700000000003,\"status\":\"complete\"}],"
	    "\"truncated\":true}");
	tresp_free(&r);

	/* A session never seen. */
	settings("0", 0);
	send_str(&cl, req);
	peer_expect(&P, &pr, PROTO_ST_SESSION_HISTORY);
	reply_history(&pr, ST_HISTORY_NONE);
	expect_answer(&cl, &off, &r, 200);
	assert_string_equal(r.body, "{\"sessionId\":\"sess.1\","
	    "\"conversationId\":null,\"messages\":[],\"truncated\":false}");
	tresp_free(&r);

	/* Bad or missing sessionId, wrong key. */
	req = "GET /v1/chat/history?sessionId=a%20b HTTP/1.1\r\n"
	    "Host: t\r\nx-api-key: " KEY "\r\n\r\n";
	send_str(&cl, req);
	expect_answer(&cl, &off, &r, 400);
	assert_true(strncmp(r.body, "{\"error\":\"Invalid request payload\"",
	    34) == 0);
	tresp_free(&r);
	req = "GET /v1/chat/history HTTP/1.1\r\nHost: t\r\nx-api-key: " KEY
	    "\r\n\r\n";
	send_str(&cl, req);
	expect_answer(&cl, &off, &r, 400);
	assert_non_null(strstr(r.body, "sessionId: required"));
	tresp_free(&r);
	req = "GET /v1/chat/history?sessionId=s HTTP/1.1\r\nHost: t\r\n"
	    "x-api-key: nope\r\n\r\n";
	send_str(&cl, req);
	expect_answer(&cl, &off, &r, 401);
	tresp_free(&r);
	expect_key_note();
	tclient_close(&cl);
}

/* A whole JSON error answer, status and text. */
static void
expect_error(struct tclient *cl, size_t *off, int status, const char *msg)
{
	struct tresp r;
	char want[128];

	expect_answer(cl, off, &r, status);
	snprintf(want, sizeof(want), "{\"error\":\"%s\"}", msg);
	assert_string_equal(r.body, want);
	tresp_free(&r);
}

#define HISTORY_REQ	"GET /v1/chat/history?sessionId=s1 HTTP/1.1\r\n" \
			"Host: t\r\nx-api-key: " KEY "\r\n\r\n"
#define BODY_A		"{\"sessionId\":\"s1\",\"message\":\"a\"}"

/*
 * Every reply to the HTTP chat's requests a byte short and a byte over:
 * the request fails cleanly, 500 before anything was streamed or an
 * error event after, and nothing is let through (no model, no done).
 */
static void
test_malformed_replies(void **state)
{
	static const char *paths[] = { "/v1/chat", "/v1/chat/stream" };
	struct tclient cl;
	struct tresp r;
	struct peer_req pr;
	struct begin b;
	struct append a;
	size_t off = 0, i;
	int cut, early, started;

	assert_int_equal(tclient_open(&cl), 0);
	for (cut = -1; cut <= 1; cut += 2) {
		/* The begin's answer, early or not, and a refusal's. */
		started = F.started;
		for (early = 0; early < 2; early++)
			for (i = 0; i < 2; i++) {
				post(&cl, paths[i], KEY, BODY_A);
				expect_begin(&pr, &b);
				begin_early = early;
				next_cut = cut;
				reply_begin(&pr, 1, "user", "a");
				begin_early = 0;
				expect_error(&cl, &off, 500,
				    "Internal server error");
				if (early)	/* the commit: nobody waits for it */
					peer_reply(&P, &pr, "", 0);
			}
		post(&cl, "/v1/chat", KEY, BODY_A);
		expect_begin(&pr, &b);
		next_cut = cut;
		reply_refused(&pr, ST_CHAT_LIMITED, 1000);
		expect_error(&cl, &off, 500, "Internal server error");
		assert_int_equal(F.started, started);

		/* The stored reply's answer: 500, or an error event. */
		start_turn(&cl, "/v1/chat", "a", &pr);
		fake_model_done(UPSTREAM_OK, NULL, 1, 1);
		expect_append(&pr, &a);
		next_cut = cut;
		reply_append(&pr);
		expect_error(&cl, &off, 500, "Internal server error");
		start_turn(&cl, "/v1/chat/stream", "a", &pr);
		model_says("fine");
		fake_model_done(UPSTREAM_OK, NULL, 1, 1);
		expect_append(&pr, &a);
		next_cut = cut;
		reply_append(&pr);
		assert_true(tresp_wait(&cl, &off, &r, 2000));
		assert_string_equal(r.body,
		    "{\"type\":\"start\",\"conversationId\":\"" CONV "\"}\n"
		    "{\"type\":\"token\",\"token\":\"fine\"}\n"
		    "{\"type\":\"error\",\"error\":\"Internal server error\"}\n");
		tresp_free(&r);

		/* A refused request's count: 500, not its 401. */
		post(&cl, "/v1/chat", "wrong", BODY_A);
		peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
		next_cut = cut;
		reply_rate(&pr, 0, 0);
		expect_error(&cl, &off, 500, "Internal server error");

		/* The history's count, and the history found or disabled. */
		send_str(&cl, HISTORY_REQ);
		peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
		next_cut = cut;
		reply_rate(&pr, 0, 0);
		expect_error(&cl, &off, 500, "Internal server error");
		send_str(&cl, HISTORY_REQ);
		peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
		reply_rate(&pr, 0, 0);
		peer_expect(&P, &pr, PROTO_ST_SESSION_HISTORY);
		next_cut = cut;
		reply_history(&pr, ST_HISTORY_FOUND);
		expect_error(&cl, &off, 500, "Internal server error");
		send_str(&cl, HISTORY_REQ);
		peer_expect(&P, &pr, PROTO_ST_RATE_HIT);
		reply_rate(&pr, 0, 0);
		peer_expect(&P, &pr, PROTO_ST_SESSION_HISTORY);
		next_cut = cut;
		reply_history(&pr, ST_HISTORY_DISABLED);
		expect_error(&cl, &off, 500, "Internal server error");
	}
	assert_int_equal(F.started, 4);

	/* The connection answered every one of them: it goes on. */
	send_str(&cl, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_answer(&cl, &off, &r, 200);
	tresp_free(&r);
	tclient_close(&cl);
}

static void
test_many_turns_one_peer(void **state)
{
	enum { N = 20 };
	struct tclient cl[N];
	struct tresp r;
	struct peer_req pr[N];
	struct begin b;
	struct append a;
	size_t off;
	int i;
	char body[128];

	/* Turns in flight together each get their own answer. */
	for (i = 0; i < N; i++) {
		assert_int_equal(tclient_open(&cl[i]), 0);
		snprintf(body, sizeof(body),
		    "{\"sessionId\":\"s%d\",\"message\":\"m%d\"}", i, i);
		post(&cl[i], "/v1/chat", KEY, body);
	}
	for (i = 0; i < N; i++) {
		expect_begin(&pr[i], &b);
		assert_int_equal(atoi(b.session + 1), i);
	}
	for (i = N - 1; i >= 0; i--) {
		reply_begin(&pr[i], 0);
		drive_ms(5);
		assert_int_equal(F.started, N - i);
		model_says(i % 2 ? "odd" : "even");
		fake_model_done(UPSTREAM_OK, NULL, 1, 1);
		expect_append(&pr[i], &a);
		assert_string_equal(a.content, i % 2 ? "odd" : "even");
		reply_append(&pr[i]);
	}
	for (i = 0; i < N; i++) {
		off = 0;
		assert_true(tresp_wait(&cl[i], &off, &r, 2000));
		assert_non_null(strstr(r.body, i % 2 ? "\"odd\"" : "\"even\""));
		tresp_free(&r);
		tclient_close(&cl[i]);
	}
}

/* chat_visible_end as it was: a look at each byte for white space. */
static size_t
visible_ref(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, visible = 0;

	while (i < len) {
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

/*
 * Where a reply ends without its trailing white space (JavaScript's:
 * the reference trims), read whole or on from each piece's end as the
 * tokens come: ASCII, its white space and control bytes, the multi-byte
 * spaces, other characters and bytes that are no UTF-8, in every mix of
 * up to five pieces.
 */
static void
test_visible_end(void **state)
{
	static const char *const piece[] = {
		"a", "Hi.", " ", "\t\n", "\r\x0b\x0c", "\x7f", "\x01", "~",
		"\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\xa8", "\xef\xbb\xbf",
		"\xc3\xa9", "\xf0\x9f\x98\x80", "\xe2\x82\xac", "\xff",
		"\xc3", "\x80",
	};
	const size_t np = sizeof(piece) / sizeof(piece[0]);
	char text[64];
	size_t ends[5], n, i, k, len, at, from, visible, code, total;

	(void)state;
	total = np * np * np * np * np;
	for (code = 0; code < total; code++) {
		len = 0;
		for (k = 0, n = code; k < 5; k++, n /= np) {
			memcpy(text + len, piece[n % np], strlen(piece[n % np]));
			len += strlen(piece[n % np]);
			ends[k] = len;
		}
		assert_int_equal(chat_visible_end(text, len, 0, 0),
		    visible_ref(text, len));
		/* Piece by piece, each scan going on from the last. */
		from = visible = 0;
		for (i = 0; i < 5; i++) {
			at = ends[i];
			visible = chat_visible_end(text, at, from, visible);
			assert_int_equal(visible, visible_ref(text, at));
			from = at;
		}
	}
}

/*
 * Long ASCII with its spaces at every place of a word of eight, and a
 * tab, a control byte or a non-ASCII character among them: the words
 * read eight bytes a step end where the byte walk ends, whole and piece
 * by piece.
 */
static void
test_visible_end_words(void **state)
{
	static const char *const odd[] = { "\t", "\x01", "\xc3\xa9",
	    "\xe3\x80\x80", "\x7f", " " };
	char text[80];
	size_t o, at, sp, len, from, visible;

	(void)state;
	for (o = 0; o < sizeof(odd) / sizeof(odd[0]); o++)
		for (at = 0; at < 24; at++)
			for (sp = 0; sp < 24; sp++) {
				memset(text, 'w', 40);
				text[sp] = ' ';
				memcpy(text + at, odd[o], strlen(odd[o]));
				len = 40;
				memset(text + 30, ' ', 10);	/* trailing */
				assert_int_equal(chat_visible_end(text, len, 0,
				    0), visible_ref(text, len));
				visible = chat_visible_end(text, 13, 0, 0);
				from = 13;
				/* 13 starts a character unless odd is cut. */
				if (at > 10 && at <= 12)
					continue;
				assert_int_equal(chat_visible_end(text, len,
				    from, visible), visible_ref(text, len));
			}
}

/* chat_utf8_append as it was, a character at a time: the reference. */
static size_t
append_ref(struct buf *b, const char *text, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, n, added = 0;

	while (i < len) {
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

/*
 * Runs of ASCII added at once agree with the walk a character at a
 * time: a NUL, a bad byte or a character in them at every place of a
 * word, every max up to past the end.
 */
static void
test_utf8_append_runs(void **state)
{
	static const char *const odd[] = { "\0", "\xff", "\xc3\xa9",
	    "\xe2\x82", "\xf0\x9f\x98\x80" };
	char text[40];
	struct buf a, r;
	size_t o, at, max, len, ua, ur;

	(void)state;
	for (o = 0; o < sizeof(odd) / sizeof(odd[0]); o++)
		for (at = 0; at < 18; at++)
			for (max = 0; max <= 34; max++) {
				memset(text, 'x', sizeof(text));
				/* "\0" is one byte: its NUL. */
				memcpy(text + at, odd[o],
				    odd[o][0] != '\0' ? strlen(odd[o]) : 1);
				len = 26;
				buf_init(&a);
				buf_init(&r);
				ua = chat_utf8_append(&a, text, len, max);
				ur = append_ref(&r, text, len, max);
				assert_int_equal(ua, ur);
				assert_int_equal(a.len, r.len);
				assert_memory_equal(a.data, r.data, a.len);
				buf_free(&a);
				buf_free(&r);
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_valid),
		cmocka_unit_test(test_parse_body),
		cmocka_unit_test(test_message_length),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_ndjson),
		cmocka_unit_test(test_visible_end),
		cmocka_unit_test(test_visible_end_words),
		cmocka_unit_test(test_utf8_append_runs),
		cmocka_unit_test_setup_teardown(test_json_turn, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_stream_turn, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_stream_model_fails,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_json_model_fails,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_empty_reply, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_mid_stream,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_early,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_early_answer,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_order_of_checks,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_not_configured,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_reply_cap, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_http10_stream, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_history, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_replies,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_many_turns_one_peer,
		    each_setup, each_teardown),
		/* Last: it takes storaged away. */
		cmocka_unit_test_setup_teardown(test_storage_failures,
		    each_setup, each_teardown),
	};

	log_init("test_chat");
	return cmocka_run_group_tests(tests, setup, teardown);
}
