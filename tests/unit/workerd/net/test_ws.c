/*
 * WebSockets over real socketpairs: the handshake (accept key, refused
 * upgrades), then a small masked-frame client in this file talks to a ws
 * that echoes: text, fragments, control frames in between, the limits
 * and their close codes, ping/pong and keep-alive, both closing
 * handshakes, a client that vanishes, output backpressure, and a worker
 * quitting with 1001.
 *
 * No route upgrades yet, so a test plays the router: it puts a conn in
 * the state dispatching an upgrade request leaves it in (CONN_BUSY, the
 * request, what was read past it) and calls ws_accept itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_client.h"
#include "test_util.h"
#include "ws.h"

/* ws.c: shorter keep-alive timeouts for tests. */
void ws_set_timeouts(uint32_t ping_ms, uint32_t idle_ms, uint32_t closing_ms);

#define KEY		"dGhlIHNhbXBsZSBub25jZQ=="
/* The example of RFC 6455, section 1.3. */
#define ACCEPT		"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define UPGRADE_HEAD \
	"GET /api/widget/w1/ws?token=t HTTP/1.1\r\n" \
	"Host: localhost\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	"Sec-WebSocket-Key: " KEY "\r\n" \
	"\r\n"

/* The ws's owner: records what it is told; echoes text if asked. */
struct owner {
	struct ws *ws;
	int echo;
	int ntext;
	char *last;		/* the last message, NUL-terminated */
	size_t last_len;
	int nclose;
	uint16_t code;
	int ndrain;
	size_t drain_pending;	/* ws_out_pending() at the first on_drain */
};

/* A frame the server sent. */
struct wframe {
	int fin;
	int opcode;
	int masked;
	unsigned char *data;	/* into the client's buffer */
	size_t len;
};

static int
setup(void **state)
{
	loop_init();
	worker_conf_defaults();
	return 0;
}

static void
on_text(struct ws *ws, const char *msg, size_t len, void *arg)
{
	struct owner *o = arg;

	o->ntext++;
	free(o->last);
	if ((o->last = malloc(len + 1)) == NULL)
		abort();
	memcpy(o->last, msg, len);
	o->last[len] = '\0';
	o->last_len = len;
	if (o->echo)
		(void)ws_send_text(ws, msg, len);
	if (len == 3 && memcmp(msg, "bye", 3) == 0)
		ws_close(ws, WS_CLOSE_NORMAL, "bye");
}

static void
on_drain(struct ws *ws, void *arg)
{
	struct owner *o = arg;

	if (o->ndrain++ == 0)
		o->drain_pending = ws_out_pending(ws);
}

static void
on_close(struct ws *ws, uint16_t code, void *arg)
{
	struct owner *o = arg;

	assert_ptr_equal(ws, o->ws);
	o->nclose++;
	o->code = code;
	o->ws = NULL;
}

static const struct ws_cbs cbs = { on_text, on_drain, on_close, NULL };

static void
owner_free(struct owner *o)
{
	free(o->last);
	o->last = NULL;
}

static struct http_request *
parse_request(const char *head)
{
	struct http_request *req;
	struct http_in in;
	size_t used;

	http_in_init(&in);
	assert_int_equal(http_in_feed(&in, head, strlen(head), &used),
	    HTTP_IN_REQUEST);
	assert_int_equal(used, strlen(head));
	req = http_in_take(&in);
	http_in_free(&in);
	assert_non_null(req);
	return req;
}

/*
 * Opens a connection that is answering an upgrade request, with early
 * bytes read past the request (pipelined, or still in the caller's read
 * when feeding), then makes it a ws. NULL when ws_accept refused.
 */
static struct ws *
open_ws_with(struct tclient *cl, struct owner *o, const char *head,
    const void *early, size_t early_len, int feeding)
{
	struct conn *c;

	memset(o, 0, sizeof(*o));
	o->echo = 1;
	assert_int_equal(tclient_open(cl), 0);
	c = cl->c;
	c->req = parse_request(head);
	c->state = CONN_BUSY;
	if (early_len > 0 && feeding) {
		c->feeding = 1;
		c->rest = early;
		c->rest_len = early_len;
	} else if (early_len > 0) {
		assert_non_null(c->pend = malloc(early_len));
		memcpy(c->pend, early, early_len);
		c->pend_len = early_len;
	}
	o->ws = ws_accept(c, c->req, &cbs, o);
	if (o->ws == NULL) {
		c->feeding = 0;
		return NULL;
	}
	cl->c = NULL;	/* gone: freed after this round */
	return o->ws;
}

/* Reads the 101 and checks it. */
static void
read_101(struct tclient *cl, size_t *off)
{
	uint64_t end = loop_clock() + 2000;
	char *eoh;

	while ((cl->buf == NULL ||
	    (eoh = strstr(cl->buf + *off, "\r\n\r\n")) == NULL)) {
		assert_true(loop_clock() < end);
		tclient_pump(cl);
	}
	assert_int_equal(strncmp(cl->buf + *off,
	    "HTTP/1.1 101 Switching Protocols\r\n", 34), 0);
	*eoh = '\0';
	assert_non_null(strcasestr(cl->buf + *off, "\r\nUpgrade: websocket"));
	assert_non_null(strcasestr(cl->buf + *off, "\r\nConnection: Upgrade"));
	assert_non_null(strstr(cl->buf + *off,
	    "\r\nSec-WebSocket-Accept: " ACCEPT));
	*eoh = '\r';
	*off = (size_t)(eoh - cl->buf) + 4;
}

static struct ws *
open_ws(struct tclient *cl, struct owner *o, size_t *off)
{
	struct ws *ws;

	*off = 0;
	ws = open_ws_with(cl, o, UPGRADE_HEAD, NULL, 0, 0);
	assert_non_null(ws);
	read_101(cl, off);
	return ws;
}

/* A client frame into out (room for len + 14); masked unless told. */
static size_t
mkframe(unsigned char *out, int fin, int opcode, const void *payload,
    size_t len, int masked)
{
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const unsigned char *p = payload;
	size_t n = 0, i;

	out[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126)
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
	else if (len < 65536) {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (i = 0; i < 8; i++)
			out[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	if (masked) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	for (i = 0; i < len; i++)
		out[n + i] = masked ? p[i] ^ mask[i % 4] : p[i];
	return n + len;
}

static void
send_frame(struct tclient *cl, int fin, int opcode, const void *payload,
    size_t len)
{
	unsigned char *f;
	size_t n;

	assert_non_null(f = malloc(len + 14));
	n = mkframe(f, fin, opcode, payload, len, 1);
	assert_int_equal(tclient_send(cl, (char *)f, n), 0);
	free(f);
}

static void
send_text(struct tclient *cl, const char *s)
{
	send_frame(cl, 1, 0x1, s, strlen(s));
}

/* Parses the server frame at *off; 1 when a whole one is there. */
static int
parse_frame(struct tclient *cl, size_t *off, struct wframe *f)
{
	const unsigned char *p = (unsigned char *)cl->buf + *off;
	size_t have = cl->len - *off, hl = 2, len, i;

	if (cl->buf == NULL || *off >= cl->len || have < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	f->masked = (p[1] & 0x80) != 0;
	len = p[1] & 0x7f;
	if (len == 126) {
		if (have < 4)
			return 0;
		len = (size_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (len == 127) {
		if (have < 10)
			return 0;
		for (len = 0, i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		hl = 10;
	}
	if (have < hl + len)
		return 0;
	f->data = (unsigned char *)cl->buf + *off + hl;
	f->len = len;
	*off += hl + len;
	return 1;
}

static void
next_frame(struct tclient *cl, size_t *off, struct wframe *f)
{
	uint64_t end = loop_clock() + 3000;

	while (!parse_frame(cl, off, f)) {
		assert_true(loop_clock() < end);
		assert_false(cl->eof && !parse_frame(cl, off, f));
		tclient_pump(cl);
	}
	assert_false(f->masked);	/* a server never masks */
}

static void
expect_text(struct tclient *cl, size_t *off, const char *want)
{
	struct wframe f;

	next_frame(cl, off, &f);
	assert_int_equal(f.opcode, 0x1);
	assert_true(f.fin);
	assert_int_equal(f.len, strlen(want));
	assert_memory_equal(f.data, want, f.len);
}

/* The next frame is a close with that code. */
static void
expect_close(struct tclient *cl, size_t *off, uint16_t code)
{
	struct wframe f;

	next_frame(cl, off, &f);
	assert_int_equal(f.opcode, 0x8);
	assert_true(f.len >= 2);
	assert_int_equal(f.data[0] << 8 | f.data[1], code);
}

/* The server failed the connection with code: close frame, then EOF. */
static void
expect_failed(struct tclient *cl, size_t *off, struct owner *o,
    uint16_t code)
{
	expect_close(cl, off, code);
	assert_true(tclient_wait_eof(cl, 2000));
	/* It drains until we close too. */
	assert_int_equal(o->nclose, 0);
	tclient_close(cl);
	assert_true(drive_until(&o->nclose, 1000));
	assert_int_equal(o->nclose, 1);
	assert_int_equal(o->code, code);
	assert_int_equal(ws_count(), 0);
}

/* ------------------------------------------------------------ tests */

static void
test_ws_accept_key(void **state)
{
	char out[29];

	ws_accept_key(KEY, out);
	assert_string_equal(out, ACCEPT);
	ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", out);
	assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void
test_ws_check_upgrade(void **state)
{
	static const struct {
		const char *head;
		int status;
	} t[] = {
		{ UPGRADE_HEAD, 0 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n"
		  "Connection: upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 0 },
		/* Connection split over two lines */
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: keep-alive\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 0 },
		/* no key */
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  400 },
		/* a key that is not 16 bytes */
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ*=\r\n\r\n", 400 },
		/* another version */
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 426 },
		/* no version */
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
		/* not an upgrade */
		{ "GET / HTTP/1.1\r\nHost: h\r\n"
		  "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: keep-alive\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
		/* not GET, not HTTP/1.1 */
		{ "POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nContent-Length: 0\r\n\r\n",
		  400 },
		{ "GET / HTTP/1.0\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
	};
	struct http_request *req;
	const char *why;
	size_t i;
	int st;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		req = parse_request(t[i].head);
		why = NULL;
		st = ws_check_upgrade(req, &why);
		if (st != t[i].status)
			fail_msg("case %zu: %d, want %d", i, st, t[i].status);
		if (st != 0)
			assert_non_null(why);
		http_request_free(req);
	}
}

/* The parser stops right after an upgrade request's head. */
static void
test_ws_upgrade_head_consumed(void **state)
{
	unsigned char f[64];
	char all[1024];
	struct http_in in;
	size_t used, n, hl = strlen(UPGRADE_HEAD);

	n = mkframe(f, 1, 0x1, "hi", 2, 1);
	memcpy(all, UPGRADE_HEAD, hl);
	memcpy(all + hl, f, n);
	http_in_init(&in);
	assert_int_equal(http_in_feed(&in, all, hl + n, &used),
	    HTTP_IN_REQUEST);
	assert_int_equal(used, hl);
	http_request_free(http_in_take(&in));
	http_in_free(&in);
}

static void
test_ws_echo(void **state)
{
	struct tclient cl;
	struct owner o;
	size_t off;
	struct ws *ws;

	ws = open_ws(&cl, &o, &off);
	assert_int_equal(ws_count(), 1);
	assert_int_equal(conn_count(), 0);
	send_text(&cl, "hello");
	expect_text(&cl, &off, "hello");
	assert_int_equal(o.ntext, 1);
	assert_string_equal(o.last, "hello");
	/* Empty, multi-byte, and 16-bit length. */
	send_text(&cl, "");
	expect_text(&cl, &off, "");
	send_text(&cl, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_text(&cl, &off, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	{
		char big[3000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		send_text(&cl, big);
		expect_text(&cl, &off, big);
	}
	/* The owner's own messages. */
	assert_int_equal(ws_send_text(ws, "{\"type\":\"x\"}", 12), 0);
	expect_text(&cl, &off, "{\"type\":\"x\"}");
	assert_int_equal(o.nclose, 0);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	owner_free(&o);
}

/* Bytes read past the request and output queued before: in order. */
static void
test_ws_early_input(void **state)
{
	unsigned char early[256];
	struct tclient cl;
	struct owner o;
	size_t n = 0, off = 0;
	int feeding;

	for (feeding = 0; feeding <= 1; feeding++) {
		n = mkframe(early, 1, 0x1, "one", 3, 1);
		n += mkframe(early + n, 1, 0x1, "two", 3, 1);
		n += mkframe(early + n, 0, 0x1, "thr", 3, 1);	/* half */
		assert_non_null(open_ws_with(&cl, &o, UPGRADE_HEAD, early, n,
		    feeding));
		off = 0;
		read_101(&cl, &off);
		expect_text(&cl, &off, "one");
		expect_text(&cl, &off, "two");
		send_frame(&cl, 1, 0x0, "ee", 2);
		expect_text(&cl, &off, "three");
		assert_int_equal(o.ntext, 3);
		tclient_close(&cl);
		assert_true(drive_until(&o.nclose, 1000));
		owner_free(&o);
	}

	/* An answer conn.c had not written yet goes out before the 101. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(tclient_open(&cl), 0);
	cl.c->req = parse_request(UPGRADE_HEAD);
	cl.c->state = CONN_BUSY;
	buf_adds(&cl.c->out, "EARLIER\r\n");
	assert_non_null(o.ws = ws_accept(cl.c, cl.c->req, &cbs, &o));
	cl.c = NULL;
	while (cl.len < 9)
		tclient_pump(&cl);
	assert_int_equal(memcmp(cl.buf, "EARLIER\r\n", 9), 0);
	off = 9;
	read_101(&cl, &off);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	owner_free(&o);
}

static void
test_ws_fragments(void **state)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	size_t off;

	open_ws(&cl, &o, &off);
	/* A ping between fragments is answered; é split across frames. */
	send_frame(&cl, 0, 0x1, "hel", 3);
	send_frame(&cl, 0, 0x0, "lo \xc3", 4);
	send_frame(&cl, 1, 0x9, "pp", 2);
	send_frame(&cl, 1, 0x0, "\xa9t\xc3\xa9", 4);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0xa);
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.data, "pp", 2);
	expect_text(&cl, &off, "hello \xc3\xa9t\xc3\xa9");
	assert_int_equal(o.ntext, 1);
	/* Exactly the limit, in pieces, is taken. */
	{
		char *big;
		size_t i, piece = WS_MESSAGE_MAX / 4;

		assert_non_null(big = malloc(WS_MESSAGE_MAX + 1));
		memset(big, 'b', WS_MESSAGE_MAX);
		big[WS_MESSAGE_MAX] = '\0';
		for (i = 0; i < 4; i++)
			send_frame(&cl, i == 3, i == 0 ? 0x1 : 0x0,
			    big + i * piece, piece);
		expect_text(&cl, &off, big);
		free(big);
	}
	assert_int_equal(o.ntext, 2);
	assert_int_equal(o.last_len, WS_MESSAGE_MAX);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	owner_free(&o);
}

/*
 * A message in WS_FRAGMENTS_MAX frames is taken (a ping between them
 * counts for nothing); in one more it is refused, its last frame final
 * or not (the close goes before the ping's pong, which wslay then
 * drops): wslay keeps each fragment in an allocation of its own.
 */
static void
many_fragments(void)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	char want[WS_FRAGMENTS_MAX + 1];
	size_t off;
	int i, n;

	for (n = WS_FRAGMENTS_MAX; n <= WS_FRAGMENTS_MAX + 1; n++) {
		open_ws(&cl, &o, &off);
		for (i = 0; i < n; i++) {
			send_frame(&cl, i == n - 1, i == 0 ? 0x1 : 0x0, "f",
			    1);
			if (i == 10)
				send_frame(&cl, 1, 0x9, "", 0);
		}
		if (n == WS_FRAGMENTS_MAX) {
			next_frame(&cl, &off, &f);
			assert_int_equal(f.opcode, 0xa);  /* the ping's pong */
			memset(want, 'f', WS_FRAGMENTS_MAX);
			want[WS_FRAGMENTS_MAX] = '\0';
			expect_text(&cl, &off, want);
			assert_int_equal(o.ntext, 1);
			tclient_close(&cl);
			assert_true(drive_until(&o.nclose, 1000));
		} else {
			expect_failed(&cl, &off, &o, WS_CLOSE_TOO_BIG);
			assert_int_equal(o.ntext, 0);
		}
		owner_free(&o);
	}
}

static void
test_ws_too_big(void **state)
{
	struct tclient cl;
	struct owner o;
	char *big;
	size_t off;

	assert_non_null(big = malloc(WS_MESSAGE_MAX + 1));
	memset(big, 'c', WS_MESSAGE_MAX + 1);
	/* One frame over the limit. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x1, big, WS_MESSAGE_MAX + 1);
	expect_failed(&cl, &off, &o, WS_CLOSE_TOO_BIG);
	assert_int_equal(o.ntext, 0);
	owner_free(&o);
	/* Fragments that add up to more. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 0, 0x1, big, WS_MESSAGE_MAX / 2);
	send_frame(&cl, 1, 0x0, big, WS_MESSAGE_MAX / 2 + 1);
	expect_failed(&cl, &off, &o, WS_CLOSE_TOO_BIG);
	assert_int_equal(o.ntext, 0);
	owner_free(&o);
	free(big);
	many_fragments();
}



static void
test_ws_binary(void **state)
{
	struct tclient cl;
	struct owner o;
	size_t off;

	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x2, "\x00\x01", 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_UNSUPPORTED);
	assert_int_equal(o.ntext, 0);
	owner_free(&o);
}

static void
test_ws_bad_utf8(void **state)
{
	static const char *bad[] = {
		"\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
	};
	struct tclient cl;
	struct owner o;
	size_t off, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		open_ws(&cl, &o, &off);
		send_text(&cl, bad[i]);
		expect_failed(&cl, &off, &o, WS_CLOSE_BAD_DATA);
		assert_int_equal(o.ntext, 0);
		owner_free(&o);
	}
	/* Cut in the last fragment. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 0, 0x1, "ok", 2);
	send_frame(&cl, 1, 0x0, "\xe2\x82", 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_BAD_DATA);
	owner_free(&o);
}

static void
test_ws_protocol_errors(void **state)
{
	unsigned char f[300], pay[130];
	struct tclient cl;
	struct owner o;
	size_t off, n;

	/* Unmasked. */
	open_ws(&cl, &o, &off);
	n = mkframe(f, 1, 0x1, "hi", 2, 0);
	assert_int_equal(tclient_send(&cl, (char *)f, n), 0);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	assert_int_equal(o.ntext, 0);
	owner_free(&o);
	/* A reserved opcode. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x3, "hi", 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* A reserved bit. */
	open_ws(&cl, &o, &off);
	n = mkframe(f, 1, 0x1, "hi", 2, 1);
	f[0] |= 0x40;
	assert_int_equal(tclient_send(&cl, (char *)f, n), 0);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* A continuation with no message begun. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x0, "hi", 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* A new message inside a fragmented one. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 0, 0x1, "hi", 2);
	send_frame(&cl, 1, 0x1, "hi", 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* Control frames: too long, fragmented (wslay's frame reader). */
	memset(pay, 'p', sizeof(pay));
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x9, pay, 126);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	open_ws(&cl, &o, &off);
	send_frame(&cl, 0, 0x9, pay, 2);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* A 64-bit length with the top bit set. */
	open_ws(&cl, &o, &off);
	memcpy(f, "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01" "abcd", 14);
	assert_int_equal(tclient_send(&cl, (char *)f, 14), 0);
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
	/* A close with an invalid code. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x8, "\x03\xed", 2);	/* 1005 */
	expect_failed(&cl, &off, &o, WS_CLOSE_PROTOCOL);
	owner_free(&o);
}

static void
test_ws_ping_pong(void **state)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	size_t off;

	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x9, "are you there", 13);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0xa);
	assert_int_equal(f.len, 13);
	assert_memory_equal(f.data, "are you there", 13);
	/* An unasked pong is fine. */
	send_frame(&cl, 1, 0xa, "", 0);
	send_text(&cl, "still here");
	expect_text(&cl, &off, "still here");
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	assert_int_equal(o.code, 1006);
	owner_free(&o);
}

static void
test_ws_close_handshake(void **state)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	size_t off;

	/* The client closes: echoed, then the server closes the TCP. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x8, "\x03\xe8" "bye", 5);
	expect_close(&cl, &off, WS_CLOSE_NORMAL);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, WS_CLOSE_NORMAL);
	assert_int_equal(ws_count(), 0);
	tclient_close(&cl);
	assert_int_equal(o.nclose, 1);
	owner_free(&o);

	/* An empty close: 1005 for the owner. */
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x8, "", 0);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0x8);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.code, 1005);
	tclient_close(&cl);
	owner_free(&o);

	/* The server closes; it sends nothing more, reads to the reply. */
	open_ws(&cl, &o, &off);
	ws_close(o.ws, WS_CLOSE_WIDGET_GONE, "widget gone");
	assert_int_equal(ws_send_text(o.ws, "late", 4), -1);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0x8);
	assert_int_equal(f.len, 2 + 11);
	assert_int_equal(f.data[0] << 8 | f.data[1], WS_CLOSE_WIDGET_GONE);
	assert_memory_equal(f.data + 2, "widget gone", 11);
	send_text(&cl, "ignored");	/* in flight: allowed, dropped */
	drive_ms(20);
	assert_int_equal(o.nclose, 0);
	send_frame(&cl, 1, 0x8, "\x0f\xa4", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, WS_CLOSE_WIDGET_GONE);
	assert_int_equal(o.ntext, 0);
	tclient_close(&cl);
	owner_free(&o);
}

/* The teardown says why it closed, with the code, the client and the age. */
static void
test_ws_close_logged(void **state)
{
	static char text[8192];
	struct tclient cl;
	struct owner o;
	struct stderr_capture cap;
	size_t off;

	stderr_capture_start(&cap);
	log_set_level(LOG_LEVEL_DEBUG);
	open_ws(&cl, &o, &off);
	send_frame(&cl, 1, 0x8, "\x03\xe8" "bye", 5);
	expect_close(&cl, &off, WS_CLOSE_NORMAL);
	assert_true(tclient_wait_eof(&cl, 2000));
	log_set_level(LOG_LEVEL_INFO);
	stderr_capture_end(&cap, text, sizeof(text));
	assert_non_null(strstr(text, ": closed (closed, code 1000), client "
	    "local, age "));
	tclient_close(&cl);
	owner_free(&o);
}

/* The owner closes from on_text: what follows in the same read is dropped. */
static void
test_ws_close_from_owner(void **state)
{
	unsigned char all[128];
	struct tclient cl;
	struct owner o;
	size_t off, n;

	open_ws(&cl, &o, &off);
	n = mkframe(all, 1, 0x1, "one", 3, 1);
	n += mkframe(all + n, 1, 0x1, "bye", 3, 1);
	n += mkframe(all + n, 1, 0x1, "two", 3, 1);
	assert_int_equal(tclient_send(&cl, (char *)all, n), 0);
	expect_text(&cl, &off, "one");
	expect_text(&cl, &off, "bye");
	expect_close(&cl, &off, WS_CLOSE_NORMAL);
	send_frame(&cl, 1, 0x8, "\x03\xe8", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.ntext, 2);
	assert_int_equal(o.nclose, 1);
	assert_int_equal(cl.len, off);	/* nothing after the close */
	tclient_close(&cl);
	owner_free(&o);
}

/*
 * What ws_hold holds leaves with the next message, not alone before it;
 * held alone it leaves when its time is up; a close is never held.
 */
static void
test_ws_hold(void **state)
{
	struct tclient cl;
	struct owner o;
	size_t off;
	uint64_t start;

	open_ws(&cl, &o, &off);
	assert_int_equal(ws_send_text(o.ws, "first", 5), 0);
	ws_hold(o.ws, 5000);
	drive_ms(30);
	tclient_pump(&cl);
	assert_int_equal(cl.len, off);		/* held */
	assert_int_equal(ws_send_text(o.ws, "second", 6), 0);
	expect_text(&cl, &off, "first");
	expect_text(&cl, &off, "second");

	assert_int_equal(ws_send_text(o.ws, "third", 5), 0);
	ws_hold(o.ws, 150);
	start = loop_clock();
	expect_text(&cl, &off, "third");
	assert_true(loop_clock() - start >= 140);

	assert_int_equal(ws_send_text(o.ws, "fourth", 6), 0);
	ws_hold(o.ws, 5000);
	ws_close(o.ws, WS_CLOSE_NORMAL, "done");
	start = loop_clock();
	expect_text(&cl, &off, "fourth");
	expect_close(&cl, &off, WS_CLOSE_NORMAL);
	assert_true(loop_clock() - start < 2000);
	send_frame(&cl, 1, 0x8, "\x03\xe8", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	tclient_close(&cl);
	owner_free(&o);
}

/* A reason over the frame's 123 bytes is cut between characters. */
static void
test_ws_close_reason_cut(void **state)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	char reason[201];
	size_t off, i;

	for (i = 0; i + 1 < sizeof(reason); i += 2)
		memcpy(reason + i, "\xc3\xa9", 2);
	reason[200] = '\0';
	open_ws(&cl, &o, &off);
	ws_close(o.ws, WS_CLOSE_NORMAL, reason);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0x8);
	assert_int_equal(f.len, 2 + 122);
	assert_memory_equal(f.data + 2, reason, 122);
	send_frame(&cl, 1, 0x8, "\x03\xe8", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.nclose, 1);
	tclient_close(&cl);
	owner_free(&o);
}

static void
test_ws_client_vanishes(void **state)
{
	struct tclient cl;
	struct owner o;
	size_t off;
	char half[] = { (char)0x81, (char)0x85 };

	/* Between messages. */
	open_ws(&cl, &o, &off);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	drive_ms(20);
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, 1006);
	assert_int_equal(ws_count(), 0);
	owner_free(&o);
	/* In the middle of a frame. */
	open_ws(&cl, &o, &off);
	assert_int_equal(tclient_send(&cl, half, sizeof(half)), 0);
	drive_ms(10);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	drive_ms(20);
	assert_int_equal(o.nclose, 1);
	owner_free(&o);
	/* While the server was closing. */
	open_ws(&cl, &o, &off);
	ws_close(o.ws, WS_CLOSE_NORMAL, "");
	drive_ms(10);
	tclient_close(&cl);
	assert_true(drive_until(&o.nclose, 1000));
	drive_ms(20);
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, WS_CLOSE_NORMAL);
	owner_free(&o);
}

/* A client that does not read: the owner is told to wait, then cut off. */
static void
test_ws_backpressure(void **state)
{
	static char msg[16 * 1024];
	struct tclient cl;
	struct owner o;
	struct wframe f;
	size_t off, sent = 0, got = 0, max = 0;
	int refused = 0;

	memset(msg, 'm', sizeof(msg));
	open_ws(&cl, &o, &off);
	o.echo = 0;
	/* Past the drain mark, the owner would pause here... */
	while (ws_out_pending(o.ws) < WS_OUT_MAX / 2) {
		assert_int_equal(ws_send_text(o.ws, msg, sizeof(msg)), 0);
		sent++;
		loop_once(0);
	}
	/* ...and hears once the client has read enough. */
	o.ndrain = 0;
	while (o.ndrain == 0) {
		assert_true(got < sent);
		tclient_pump(&cl);
		while (parse_frame(&cl, &off, &f)) {
			assert_int_equal(f.opcode, 0x1);
			assert_int_equal(f.len, sizeof(msg));
			got++;
		}
	}
	assert_true(o.drain_pending < WS_OUT_MAX / 4);
	assert_true(o.drain_pending > 0);
	while (got < sent) {
		next_frame(&cl, &off, &f);
		got++;
	}
	drive_ms(10);

	/* An owner pausing at a lower mark of its own hears of it too. */
	while (ws_out_pending(o.ws) < 64 * 1024) {
		assert_int_equal(ws_send_text(o.ws, msg, sizeof(msg)), 0);
		sent++;
		loop_once(0);
	}
	assert_true(ws_out_pending(o.ws) < WS_OUT_MAX / 4);
	o.ndrain = 0;
	while (got < sent) {
		next_frame(&cl, &off, &f);
		got++;
	}
	assert_true(drive_until(&o.ndrain, 1000));
	assert_int_equal(ws_out_pending(o.ws), 0);

	/* An owner that does not pause: refused at the limit, closed 1008. */
	while (!refused) {
		if (ws_send_text(o.ws, msg, sizeof(msg)) < 0)
			refused = 1;
		else
			sent++;
		if (o.ws != NULL && ws_out_pending(o.ws) > max)
			max = ws_out_pending(o.ws);
		loop_once(0);
	}
	assert_true(max <= WS_OUT_MAX);
	assert_int_equal(ws_send_text(o.ws, "x", 1), -1);
	/* Everything before the close still arrives, then the close. */
	for (;;) {
		next_frame(&cl, &off, &f);
		if (f.opcode == 0x8)
			break;
		assert_int_equal(f.len, sizeof(msg));
		got++;
	}
	assert_int_equal(got, sent);
	assert_int_equal(f.data[0] << 8 | f.data[1], WS_CLOSE_POLICY);
	send_frame(&cl, 1, 0x8, "\x03\xf0", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, WS_CLOSE_POLICY);
	tclient_close(&cl);
	owner_free(&o);
}

/* Pings, pongs, silence, and a close the peer never answers. */
static void
test_ws_keepalive(void **state)
{
	struct tclient cl;
	struct owner o;
	struct wframe f;
	size_t off;
	uint64_t start;

	/*
	 * Silent for 1 s: the pong has 900 ms to come back (with 300 ms, a
	 * test descheduled for 200 ms on a loaded machine saw its answered
	 * socket dropped: the timer ran before the pong was read).
	 */
	ws_set_timeouts(100, 1000, 200);
	/*
	 * Before the upgrade: the ping timer starts when the loop handles it,
	 * which under load can be well before open_ws returns.
	 */
	start = loop_clock();
	open_ws(&cl, &o, &off);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0x9);
	assert_true(loop_clock() - start >= 80);
	/* Answered: it stays, and is asked again after the next silence. */
	send_frame(&cl, 1, 0xa, f.data, f.len);
	start = loop_clock();
	drive_ms(250);
	assert_int_equal(o.nclose, 0);
	next_frame(&cl, &off, &f);
	assert_int_equal(f.opcode, 0x9);
	/* Silent: dropped without a closing handshake. */
	assert_true(drive_until(&o.nclose, 3000));
	assert_true(loop_clock() - start >= 980);
	assert_int_equal(o.code, 1006);
	assert_true(tclient_wait_eof(&cl, 1000));
	tclient_close(&cl);
	owner_free(&o);
	ws_set_timeouts(100, 300, 200);

	/*
	 * Bytes that never make a message do not keep it alive. Its silence
	 * began during open_ws, after start: it closes 300 ms after it at
	 * the earliest.
	 */
	start = loop_clock();
	open_ws(&cl, &o, &off);
	{
		unsigned char fr[64];
		size_t n = mkframe(fr, 1, 0x1, "slowly", 6, 1), i;

		for (i = 0; i < n - 1 && o.nclose == 0; i++) {
			assert_int_equal(tclient_send(&cl, (char *)fr + i, 1), 0);
			drive_ms(40);
		}
	}
	assert_true(drive_until(&o.nclose, 1000));
	assert_true(loop_clock() - start >= 280);
	assert_int_equal(o.code, 1006);
	assert_int_equal(o.ntext, 0);
	tclient_close(&cl);
	owner_free(&o);

	/*
	 * Our close, never answered: cut. Its timer counts from the loop's
	 * clock when ws_close is called, so that is where the wait starts
	 * (reading the close frame can take long on a loaded machine).
	 */
	open_ws(&cl, &o, &off);
	start = loop_now();
	ws_close(o.ws, WS_CLOSE_NORMAL, "done");
	expect_close(&cl, &off, WS_CLOSE_NORMAL);
	assert_true(drive_until(&o.nclose, 1000));
	assert_true(loop_clock() - start >= 200);
	assert_int_equal(o.code, WS_CLOSE_NORMAL);
	tclient_close(&cl);
	owner_free(&o);
	ws_set_timeouts(WS_PING_MS, WS_IDLE_MS, 5000);
}

/* Last: quitting is for good. */
static void
test_ws_worker_quit(void **state)
{
	struct tclient cl, cl2;
	struct owner o, o2;
	size_t off;

	open_ws(&cl, &o, &off);
	worker_quit(5000, 1);
	assert_true(worker_quitting());
	expect_close(&cl, &off, WS_CLOSE_GOING_AWAY);
	assert_false(loop_stopped());
	assert_int_equal(ws_count(), 1);
	/* No new WebSockets meanwhile. */
	assert_null(open_ws_with(&cl2, &o2, UPGRADE_HEAD, NULL, 0, 0));
	{
		struct tresp r;
		size_t roff = 0;

		assert_true(tresp_wait(&cl2, &roff, &r, 2000));
		assert_int_equal(r.status, 503);
		tresp_free(&r);
	}
	tclient_close(&cl2);
	drive_ms(20);
	send_frame(&cl, 1, 0x8, "\x03\xe9", 2);
	assert_true(tclient_wait_eof(&cl, 2000));
	assert_int_equal(o.nclose, 1);
	assert_int_equal(o.code, WS_CLOSE_GOING_AWAY);
	drive_ms(20);
	assert_int_equal(ws_count(), 0);
	assert_int_equal(conn_count(), 0);
	assert_true(loop_stopped());
	tclient_close(&cl);
	owner_free(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ws_accept_key),
		cmocka_unit_test(test_ws_check_upgrade),
		cmocka_unit_test(test_ws_upgrade_head_consumed),
		cmocka_unit_test(test_ws_echo),
		cmocka_unit_test(test_ws_early_input),
		cmocka_unit_test(test_ws_fragments),
		cmocka_unit_test(test_ws_too_big),
		cmocka_unit_test(test_ws_binary),
		cmocka_unit_test(test_ws_bad_utf8),
		cmocka_unit_test(test_ws_protocol_errors),
		cmocka_unit_test(test_ws_ping_pong),
		cmocka_unit_test(test_ws_close_handshake),
		cmocka_unit_test(test_ws_close_logged),
		cmocka_unit_test(test_ws_close_from_owner),
		cmocka_unit_test(test_ws_hold),
		cmocka_unit_test(test_ws_close_reason_cut),
		cmocka_unit_test(test_ws_client_vanishes),
		cmocka_unit_test(test_ws_backpressure),
		cmocka_unit_test(test_ws_keepalive),
		cmocka_unit_test(test_ws_worker_quit),
	};

	log_init("test_ws");
	return cmocka_run_group_tests(tests, setup, NULL);
}
