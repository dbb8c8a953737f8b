/*
 * An action's HTTP request (workerd/actions/call.c) on the worker's loop
 * against a tiny HTTP server of this file on 127.0.0.1, itself on the
 * loop: it accepts, reads one request whole (its head and Content-Length
 * bytes), keeps it, and writes its canned answer (or none: a server that
 * never answers), then closes.
 *
 * Checked: the request on the wire (method, path and query, Accept,
 * User-Agent, the action's headers, the Idempotency-Key (a turn's key
 * the same for the same call, another for any other), a JSON body and its Content-Type, no
 * proxy from the environment), the answer's status and body, a redirect
 * not followed, an answer cut at max_bytes (gzip too: the bound is on
 * the inflated bytes), a timeout, a closed port, the address policy (no
 * connection made), cancel (before and inside the callback), the
 * requests action_call_start refuses, and an action saved before its
 * templates had to name its parameters refused before any request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "actionmsg.h"
#include "call.h"
#include "loop.h"
#include "template.h"

#define WAIT_MS		3000	/* the longest any test waits */

/* ------------------------------------------------------- the server */

struct srv {
	int lfd;
	int port;
	struct loop_io lio;
	int fd;			/* the connection in hand, -1 none */
	struct loop_io cio;
	int accepted;		/* connections taken */
	int requests;		/* requests read whole */
	char req[65536];	/* the last one, NUL-terminated */
	size_t reqlen;
	const char *reply;	/* NULL: never answers */
	size_t replylen, off;	/* off: its bytes written */
	int writing;
};

static struct srv srv;

static void
srv_hangup(void)
{
	if (srv.fd < 0)
		return;
	loop_io_del(&srv.cio);
	close(srv.fd);
	srv.fd = -1;
}

/* The answer written as the socket takes it; then the connection closed. */
static void
srv_write(void)
{
	ssize_t n;

	while (srv.off < srv.replylen) {
		n = send(srv.fd, srv.reply + srv.off, srv.replylen - srv.off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			loop_io_mod(&srv.cio, EPOLLOUT);
			return;
		}
		if (n <= 0)
			break;
		srv.off += (size_t)n;
	}
	srv_hangup();
}

/* 1 when srv.req holds a whole request: its head and body. */
static int
srv_whole(void)
{
	const char *h = strstr(srv.req, "\r\n\r\n"), *cl;
	size_t body = 0;

	if (h == NULL)
		return 0;
	if ((cl = strcasestr(srv.req, "\r\ncontent-length:")) != NULL &&
	    cl < h)
		body = strtoul(cl + 17, NULL, 10);
	return srv.reqlen >= (size_t)(h + 4 - srv.req) + body;
}

static void
srv_conn_io(int fd, uint32_t events, void *arg)
{
	ssize_t n;

	if (srv.writing) {
		srv_write();
		return;
	}
	n = read(fd, srv.req + srv.reqlen, sizeof(srv.req) - 1 - srv.reqlen);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			srv_hangup();
		return;
	}
	srv.reqlen += (size_t)n;
	srv.req[srv.reqlen] = '\0';
	if (!srv_whole())
		return;
	srv.requests++;
	if (srv.reply == NULL) {
		loop_io_mod(&srv.cio, 0);	/* holds it, silent */
		return;
	}
	srv.writing = 1;
	srv_write();
}

static void
srv_accept(int lfd, uint32_t events, void *arg)
{
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	srv.accepted++;
	srv_hangup();		/* one connection at a time */
	srv.fd = fd;
	srv.reqlen = 0;
	srv.req[0] = '\0';
	assert_int_equal(loop_io_add(&srv.cio, fd, EPOLLIN, srv_conn_io,
	    NULL), 0);
}

/* A listening socket on 127.0.0.1, a free port: its fd, *port set. */
static int
listen_lo(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The server up, answering reply (len bytes; NULL: never). */
static void
srv_start(const char *reply, size_t len)
{
	memset(&srv, 0, sizeof(srv));
	srv.fd = -1;
	srv.reply = reply;
	srv.replylen = len;
	srv.lfd = listen_lo(&srv.port);
	assert_int_equal(loop_io_add(&srv.lio, srv.lfd, EPOLLIN, srv_accept,
	    NULL), 0);
}

static void
srv_stop(void)
{
	srv_hangup();
	if (srv.lfd > 0) {
		loop_io_del(&srv.lio);
		close(srv.lfd);
	}
	srv.lfd = -1;
	loop_once(0);		/* the loop lets go of their events */
}

/* ------------------------------------------------------- the calls */

struct res {
	int done;
	enum action_call_err err;
	int status;
	char *body;		/* a copy */
	size_t len;
	int cut;
	uint32_t duration_ms;
	char error[256];
	struct action_call *self;	/* cancelled from the callback */
};

static void
on_done(void *arg, const struct action_call_result *r)
{
	struct res *x = arg;

	x->done++;
	x->err = r->err;
	x->status = r->status;
	x->len = r->len;
	x->cut = r->cut;
	x->duration_ms = r->duration_ms;
	strlcpy(x->error, r->error, sizeof(x->error));
	assert_non_null(r->body);
	assert_int_equal(r->body[r->len], '\0');
	free(x->body);
	x->body = malloc(r->len + 1);
	assert_non_null(x->body);
	memcpy(x->body, r->body, r->len + 1);
	if (x->self != NULL)
		action_call_cancel(x->self);	/* a no-op now */
}

/* Runs the loop until x is done or ms pass; whether it is. */
static int
drive_until(const struct res *x, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	do
		loop_once(5);
	while ((x == NULL || !x->done) && loop_clock() < end);
	return x != NULL && x->done;
}

static struct action_call_req
req(uint8_t method, const char *path)
{
	static char url[256];
	struct action_call_req r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.url = url;
	r.headers = "";
	r.timeout_ms = 2000;
	r.max_bytes = ST_ACTION_ANSWER_DEF;
	r.allow_private = 1;
	return r;
}

/* r sent, and its end waited for (within WAIT_MS). */
static void
call(const struct action_call_req *r, struct res *x)
{
	memset(x, 0, sizeof(*x));
	assert_non_null(action_call_start(r, on_done, x));
	assert_int_equal(x->done, 0);	/* never inside action_call_start */
	assert_int_equal(action_calls_active(), 1);
	assert_true(drive_until(x, WAIT_MS));
	assert_int_equal(x->done, 1);
	assert_int_equal(action_calls_active(), 0);
}

#define OK_200	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 11\r\n\r\n{\"ok\":true}"

/* The request's head has line ("Name: value", without its CRLF). */
static int
has_line(const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(srv.req, want) != NULL;
}

/* --------------------------------------------------------------- tests */

static void
test_get(void **state)
{
	struct action_call_req r;
	struct res x;

	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_GET, "/v1/orders?id=42&q=a%20b");
	r.headers = "Authorization: Bearer s3cret\nX-Org: acme\nX-Empty: \n";
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_string_equal(x.error, "");
	assert_int_equal(x.status, 200);
	assert_string_equal(x.body, "{\"ok\":true}");
	assert_int_equal(x.len, 11);
	assert_int_equal(x.cut, 0);
	assert_true(x.duration_ms < WAIT_MS);
	/* http_proxy (group_setup) was not used: the server was asked. */
	assert_int_equal(srv.requests, 1);
	assert_true(strncmp(srv.req, "GET /v1/orders?id=42&q=a%20b HTTP/1.1\r\n",
	    39) == 0);
	assert_true(has_line("Accept: application/json"));
	assert_true(has_line("User-Agent: Parley-Action/1"));
	assert_true(has_line("Authorization: Bearer s3cret"));
	assert_true(has_line("X-Org: acme"));
	assert_true(has_line("X-Empty:"));
	assert_null(strcasestr(srv.req, "Content-Type"));
	assert_null(strcasestr(srv.req, "Content-Length"));
	assert_null(strcasestr(srv.req, "Expect"));
	free(x.body);
	srv_stop();
}

static void
test_own_accept(void **state)
{
	struct action_call_req r;
	struct res x;

	/* The action's Accept and User-Agent stand instead of ours. */
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_GET, "/");
	r.headers = "accept: text/csv\nUser-Agent: acme-bot\n";
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_true(has_line("accept: text/csv"));
	assert_true(has_line("User-Agent: acme-bot"));
	assert_null(strstr(srv.req, "application/json"));
	assert_null(strstr(srv.req, "Parley-Action"));
	free(x.body);
	srv_stop();
}

/*
 * The Idempotency-Key: sent when given (none when not), the action's own
 * standing instead of ours; a turn's key the same for the same call, and
 * another for any other.
 */
static void
test_idem_key(void **state)
{
	char k1[ACTION_IDEM_HEX + 1], k2[ACTION_IDEM_HEX + 1], line[256];
	const char *conv = "0123456789abcdef0123456789abcdef";
	const char *msg = "fedcba9876543210fedcba9876543210";
	const char *act = "act_00000000000000000000000000000001";
	struct action_call_req r;
	struct res x;
	size_t i;

	action_idem_key(k1, conv, msg, act, 1, 0);
	assert_int_equal(strlen(k1), ACTION_IDEM_HEX);
	assert_int_equal(strspn(k1, "0123456789abcdef"), ACTION_IDEM_HEX);
	action_idem_key(k2, conv, msg, act, 1, 0);
	assert_string_equal(k1, k2);		/* the same call: the same */
	action_idem_key(k2, conv, msg, act, 1, 1);
	assert_string_not_equal(k1, k2);	/* the next call of the round */
	action_idem_key(k2, conv, msg, act, 2, 0);
	assert_string_not_equal(k1, k2);	/* the next round's */
	action_idem_key(k2, conv, conv, act, 1, 0);
	assert_string_not_equal(k1, k2);	/* another turn's */
	action_idem_key(k2, msg, msg, act, 1, 0);
	assert_string_not_equal(k1, k2);	/* another conversation's */
	action_idem_key(k2, conv, msg, "act_00000000000000000000000000000002",
	    1, 0);
	assert_string_not_equal(k1, k2);	/* another action's */
	action_idem_key_random(k2);
	assert_int_equal(strspn(k2, "0123456789abcdef"), ACTION_IDEM_HEX);
	assert_string_not_equal(k1, k2);

	/* One server a call: it answers one connection. */
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_POST, "/pay");
	r.body = "{}";
	r.idem_key = k1;
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	snprintf(line, sizeof(line), "Idempotency-Key: %s", k1);
	assert_true(has_line(line));
	free(x.body);
	srv_stop();
	/* None given: none sent. */
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_POST, "/pay");
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_null(strcasestr(srv.req, "Idempotency-Key"));
	free(x.body);
	srv_stop();
	/* The action's own stands instead of ours. */
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_POST, "/pay");
	r.idem_key = k1;
	r.headers = "idempotency-key: mine-1\n";
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_true(has_line("idempotency-key: mine-1"));
	assert_null(strstr(srv.req, k1));
	free(x.body);
	srv_stop();
	/* A key that is no token, or too long: not started. */
	r = req(ST_METHOD_GET, "/");
	for (i = 0; i < 3; i++) {
		static const char *bad[] = { "", "a b", "a\r\nX-Evil: 1" };

		r.idem_key = bad[i];
		assert_null(action_call_start(&r, on_done, &x));
	}
	memset(line, 'a', ACTION_IDEM_KEY_MAX + 1);
	line[ACTION_IDEM_KEY_MAX + 1] = '\0';
	r.idem_key = line;
	assert_null(action_call_start(&r, on_done, &x));
	line[ACTION_IDEM_KEY_MAX] = '\0';
	assert_non_null(action_call_start(&r, on_done, &x));
	action_calls_shutdown();
}

static void
test_post(void **state)
{
	const char *json = "{\"order\":42,\"note\":\"caf\xc3\xa9\"}";
	struct action_call_req r;
	struct res x;
	char len[64];

	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_POST, "/v1/orders");
	r.body = json;
	r.headers = "X-Key: k1\n";
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_int_equal(x.status, 200);
	assert_true(strncmp(srv.req, "POST /v1/orders HTTP/1.1\r\n", 26) == 0);
	assert_true(has_line("Content-Type: application/json"));
	snprintf(len, sizeof(len), "Content-Length: %zu", strlen(json));
	assert_true(has_line(len));
	assert_true(has_line("X-Key: k1"));
	assert_true(has_line("Accept: application/json"));
	assert_string_equal(strstr(srv.req, "\r\n\r\n") + 4, json);
	free(x.body);
	srv_stop();

	/* A POST without a body: Content-Length 0, no form Content-Type. */
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_POST, "/empty");
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_true(strncmp(srv.req, "POST /empty HTTP/1.1\r\n", 22) == 0);
	assert_true(has_line("Content-Length: 0"));
	assert_null(strcasestr(srv.req, "Content-Type"));
	free(x.body);
	srv_stop();
}

static void
test_methods(void **state)
{
	static const struct {
		uint8_t method;
		const char *body, *line;
	} m[] = {
		{ ST_METHOD_PUT, "{\"a\":1}", "PUT /m HTTP/1.1\r\n" },
		{ ST_METHOD_PATCH, "{\"b\":2}", "PATCH /m HTTP/1.1\r\n" },
		{ ST_METHOD_DELETE, NULL, "DELETE /m HTTP/1.1\r\n" },
		{ ST_METHOD_PUT, "", "PUT /m HTTP/1.1\r\n" },
	};
	struct action_call_req r;
	struct res x;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		srv_start(OK_200, strlen(OK_200));
		r = req(m[i].method, "/m");
		r.body = m[i].body;
		call(&r, &x);
		assert_int_equal(x.err, ACALL_OK);
		assert_int_equal(x.status, 200);
		assert_true(strncmp(srv.req, m[i].line, strlen(m[i].line)) == 0);
		if (m[i].body != NULL && m[i].body[0] != '\0') {
			assert_true(has_line("Content-Type: application/json"));
			assert_string_equal(strstr(srv.req, "\r\n\r\n") + 4,
			    m[i].body);
		} else {
			assert_null(strcasestr(srv.req, "Content-Type"));
			assert_string_equal(strstr(srv.req, "\r\n\r\n") + 4, "");
		}
		free(x.body);
		srv_stop();
	}
}

static void
test_redirect(void **state)
{
	static char reply[256];
	struct action_call_req r;
	struct res x;
	int n;

	srv_start(reply, 0);
	n = snprintf(reply, sizeof(reply), "HTTP/1.1 302 Found\r\nLocation: "
	    "http://127.0.0.1:%d/elsewhere\r\nContent-Length: 5\r\n\r\nmoved",
	    srv.port);
	srv.replylen = (size_t)n;
	r = req(ST_METHOD_GET, "/here");
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_int_equal(x.status, 302);
	assert_string_equal(x.body, "moved");
	drive_until(NULL, 100);
	assert_int_equal(srv.accepted, 1);
	assert_int_equal(srv.requests, 1);
	assert_non_null(strstr(srv.req, "GET /here "));
	free(x.body);
	srv_stop();
}

static void
test_cut(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 200000"
	    "\r\n\r\n";
	size_t big = 200000, hl = sizeof(head) - 1;
	char *reply = malloc(hl + big);
	struct action_call_req r;
	struct res x;

	assert_non_null(reply);
	memcpy(reply, head, hl);
	for (size_t i = 0; i < big; i++)
		reply[hl + i] = (char)('a' + i % 26);
	/* Cut at 1000; the rest read and dropped, the exchange whole. */
	srv_start(reply, hl + big);
	r = req(ST_METHOD_GET, "/big");
	r.max_bytes = 1000;
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_int_equal(x.status, 200);
	assert_int_equal(x.len, 1000);
	assert_int_equal(x.cut, 1);
	assert_memory_equal(x.body, reply + hl, 1000);
	assert_int_equal(srv.off, hl + big);
	free(x.body);
	srv_stop();
	/* Exactly max_bytes: whole, not cut; past 16 KiB the buffer grows. */
	srv_start(reply, hl + big);
	r = req(ST_METHOD_GET, "/big");
	r.max_bytes = (uint32_t)big;
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_int_equal(x.len, big);
	assert_int_equal(x.cut, 0);
	assert_memory_equal(x.body, reply + hl, big);
	free(x.body);
	srv_stop();
	free(reply);
}

static void
test_cut_gzip(void **state)
{
	/* 5000 'a' gzipped (41 bytes): the bound is on what it inflates to. */
	static const unsigned char gz[] = {
		0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
		0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xac,
		0xeb, 0x5f, 0xc2, 0x14, 0x7e, 0x40, 0x01, 0x00, 0x00, 0x00,
		0x00, 0x6f, 0x03, 0x76, 0x59, 0xf4, 0x4c, 0x88, 0x13, 0x00,
		0x00,
	};
	static char reply[256];
	struct action_call_req r;
	struct res x;
	int n;

	n = snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\n"
	    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
	    sizeof(gz));
	memcpy(reply + n, gz, sizeof(gz));
	srv_start(reply, (size_t)n + sizeof(gz));
	r = req(ST_METHOD_GET, "/gz");
	r.max_bytes = 1000;
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	assert_int_equal(x.status, 200);
	assert_int_equal(x.len, 1000);
	assert_int_equal(x.cut, 1);
	for (size_t i = 0; i < x.len; i++)
		assert_int_equal(x.body[i], 'a');
	assert_non_null(strcasestr(srv.req, "\r\nAccept-Encoding: "));
	free(x.body);
	srv_stop();
}

static void
test_timeout(void **state)
{
	struct action_call_req r;
	struct res x;

	srv_start(NULL, 0);
	r = req(ST_METHOD_GET, "/slow");
	r.timeout_ms = 300;
	call(&r, &x);
	assert_int_equal(x.err, ACALL_TIMEOUT);
	assert_string_equal(x.error, "timed out after 300 ms");
	assert_int_equal(x.status, 0);
	assert_int_equal(x.len, 0);
	assert_string_equal(x.body, "");
	assert_true(x.duration_ms >= 250 && x.duration_ms <= 2000);
	assert_int_equal(srv.requests, 1);
	free(x.body);
	srv_stop();
}

static void
test_closed_port(void **state)
{
	struct action_call_req r;
	struct res x;

	srv_start(NULL, 0);
	srv_stop();		/* srv.port: nobody listens now */
	r = req(ST_METHOD_GET, "/");
	call(&r, &x);
	assert_int_equal(x.err, ACALL_FAILED);
	assert_int_equal(x.status, 0);
	assert_true(x.error[0] != '\0');
	assert_null(strstr(x.error, "127.0.0.1"));
	free(x.body);
}

static void
test_refused(void **state)
{
	struct action_call_req r;
	struct res x;
	char port[16];

	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_GET, "/internal");
	r.allow_private = 0;
	r.headers = "Authorization: Bearer s3cret\n";
	call(&r, &x);
	assert_int_equal(x.err, ACALL_REFUSED);
	assert_int_equal(x.status, 0);
	assert_non_null(strstr(x.error, "private"));
	snprintf(port, sizeof(port), "%d", srv.port);
	assert_null(strstr(x.error, "127.0.0.1"));
	assert_null(strstr(x.error, port));
	drive_until(NULL, 100);
	assert_int_equal(srv.accepted, 0);
	free(x.body);
	srv_stop();
}

static void
test_cancel(void **state)
{
	struct action_call_req r;
	struct action_call *c;
	struct res x, y, z;

	/* Once the server holds the request. */
	srv_start(NULL, 0);
	memset(&x, 0, sizeof(x));
	r = req(ST_METHOD_POST, "/held");
	r.body = "{\"a\":1}";
	r.headers = "Authorization: Bearer s3cret\n";
	assert_non_null(c = action_call_start(&r, on_done, &x));
	for (int i = 0; i < WAIT_MS / 5 && srv.requests == 0; i++)
		loop_once(5);
	assert_int_equal(srv.requests, 1);
	action_call_cancel(c);
	assert_int_equal(action_calls_active(), 0);
	drive_until(NULL, 100);
	assert_int_equal(x.done, 0);
	srv_stop();

	/* At once, before the loop ran. */
	srv_start(OK_200, strlen(OK_200));
	memset(&y, 0, sizeof(y));
	r = req(ST_METHOD_GET, "/");
	assert_non_null(c = action_call_start(&r, on_done, &y));
	action_call_cancel(c);
	action_call_cancel(NULL);
	drive_until(NULL, 100);
	assert_int_equal(y.done, 0);
	assert_int_equal(action_calls_active(), 0);

	/* From its own callback: a no-op, the call freed after. */
	memset(&z, 0, sizeof(z));
	assert_non_null(z.self = action_call_start(&r, on_done, &z));
	assert_true(drive_until(&z, WAIT_MS));
	drive_until(NULL, 20);
	assert_int_equal(z.done, 1);
	assert_int_equal(z.err, ACALL_OK);
	free(z.body);
	srv_stop();

	/* Dropped by the shutdown, no callback; set up again after. */
	srv_start(NULL, 0);
	memset(&x, 0, sizeof(x));
	r = req(ST_METHOD_GET, "/");
	assert_non_null(action_call_start(&r, on_done, &x));
	drive_until(NULL, 50);
	action_calls_shutdown();
	assert_int_equal(action_calls_active(), 0);
	drive_until(NULL, 50);
	assert_int_equal(x.done, 0);
	srv_stop();
	srv_start(OK_200, strlen(OK_200));
	r = req(ST_METHOD_GET, "/");
	call(&r, &x);
	assert_int_equal(x.err, ACALL_OK);
	free(x.body);
	srv_stop();
}

static void
test_bad_requests(void **state)
{
	struct action_call_req r;
	struct res x;

	memset(&x, 0, sizeof(x));
	srv.port = 9;
	r = req(ST_METHOD_GET, "/");
	assert_null(action_call_start(&r, NULL, &x));
	assert_null(action_call_start(NULL, on_done, &x));
	r.method = ST_METHOD_MAX + 1;
	assert_null(action_call_start(&r, on_done, &x));
	r = req(ST_METHOD_GET, "/");
	r.timeout_ms = 0;
	assert_null(action_call_start(&r, on_done, &x));
	r.timeout_ms = ST_ACTION_TIMEOUT_MAX + 1;
	assert_null(action_call_start(&r, on_done, &x));
	r = req(ST_METHOD_GET, "/");
	r.url = "ftp://127.0.0.1/x";
	assert_null(action_call_start(&r, on_done, &x));
	r.url = "127.0.0.1/x";
	assert_null(action_call_start(&r, on_done, &x));
	r.url = NULL;
	assert_null(action_call_start(&r, on_done, &x));
	r = req(ST_METHOD_GET, "/");
	r.headers = "no colon here\n";
	assert_null(action_call_start(&r, on_done, &x));
	r.headers = "X-A: 1\r\nX-B: 2\n";
	assert_null(action_call_start(&r, on_done, &x));
	assert_int_equal(action_calls_active(), 0);
	drive_until(NULL, 20);
	assert_int_equal(x.done, 0);
}

/*
 * An action saved before a url naming none of its parameters was refused
 * (its schema's order_id, its url's {{gone_id}}): its request is refused
 * with the words the model reads, and nothing reaches the API, where it
 * was called at /orders//items with the action's secret header.
 */
static void
test_stored_template_refused(void **state)
{
	static const struct tpl_visitor v = { NULL, NULL };
	char url[128], params[] = "{\"type\":\"object\",\"properties\":"
	    "{\"order_id\":{\"type\":\"string\"}}}",
	    headers[] = "Authorization: Bearer s3cret\n";
	struct st_action a;
	struct action_call_req q;
	struct res x;
	const char *why = NULL;
	char *qurl = NULL, *qbody = NULL;
	json_t *args;
	int rc;

	srv_start(OK_200, strlen(OK_200));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders/{{gone_id}}/"
	    "items", srv.port);
	memset(&a, 0, sizeof(a));
	a.method = ST_METHOD_GET;
	a.url = url;
	a.parameters = params;
	a.headers = headers;
	assert_non_null(args = json_pack("{s:s}", "order_id", "7"));
	rc = action_call_req_of(&q, &a, args, &v, 1, &qurl, &qbody, &why);
	/* As tools.c's run_call: a request made is started. */
	if (rc == 0) {
		memset(&x, 0, sizeof(x));
		assert_non_null(action_call_start(&q, on_done, &x));
		drive_until(&x, WAIT_MS);
		free(x.body);
	}
	free(qurl);
	free(qbody);
	json_decref(args);
	assert_int_equal(srv.accepted, 0);
	assert_int_equal(rc, -1);
	assert_string_equal(why, "the action's url or body names a value "
	    "that is none of its parameters: the action needs fixing");
	assert_null(qurl);
	assert_null(qbody);
	srv_stop();
}

/* After each test: no call left to call back into a gone stack frame. */
static int
teardown(void **state)
{
	int left = action_calls_active();

	action_calls_shutdown();
	if (srv.lfd > 0)
		srv_stop();
	if (left != 0) {
		fprintf(stderr, "teardown: %d calls were left\n", left);
		return -1;
	}
	return 0;
}

static int
group_setup(void **state)
{
	static const char *proxies[] = { "https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY" };

	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	/* A proxy from the environment that would fail every call. */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	signal(SIGPIPE, SIG_IGN);
	loop_init();
	return 0;
}

static int
group_teardown(void **state)
{
	action_calls_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_get, teardown),
		cmocka_unit_test_teardown(test_own_accept, teardown),
		cmocka_unit_test_teardown(test_idem_key, teardown),
		cmocka_unit_test_teardown(test_post, teardown),
		cmocka_unit_test_teardown(test_methods, teardown),
		cmocka_unit_test_teardown(test_redirect, teardown),
		cmocka_unit_test_teardown(test_cut, teardown),
		cmocka_unit_test_teardown(test_cut_gzip, teardown),
		cmocka_unit_test_teardown(test_timeout, teardown),
		cmocka_unit_test_teardown(test_closed_port, teardown),
		cmocka_unit_test_teardown(test_refused, teardown),
		cmocka_unit_test_teardown(test_cancel, teardown),
		cmocka_unit_test_teardown(test_bad_requests, teardown),
		cmocka_unit_test_teardown(test_stored_template_refused,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
