/*
 * Connections over real socketpairs: pipelined requests answered in
 * order (also when one waits on storaged), HEAD, bad input, keep-alive
 * and close, timeouts, a client leaving mid-request, output backpressure,
 * and quitting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "test_peer.h"

#define KEY	"test-admin-key-0123456789abcdef"

struct client {
	int fd;
	struct conn *c;
	char *buf;
	size_t len, cap;
	int eof;
};

struct response {
	int status;
	char head[2048];
	const char *body;	/* into the client's buffer */
	size_t body_len;
};

static struct peer P;

static int
setup(void **state)
{
	loop_init();
	worker_conf_defaults();
	admin_init(KEY);
	peer_path(&P);
	return 0;
}

static int
teardown(void **state)
{
	storec_shutdown();
	peer_cleanup(&P);
	return 0;
}

static void
client_open(struct client *cl)
{
	int sv[2];

	memset(cl, 0, sizeof(*cl));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	cl->fd = sv[1];
	cl->c = conn_new(sv[0]);
	assert_non_null(cl->c);
}

static void
client_free(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	free(cl->buf);
	cl->buf = NULL;
	drive_ms(10);
}

/* Reads what is there (the loop runs meanwhile). */
static void
client_pump(struct client *cl)
{
	ssize_t n;

	loop_once(2);
	for (;;) {
		if (cl->cap - cl->len < 65536) {
			cl->cap = cl->cap ? cl->cap * 2 : 131072;
			cl->buf = realloc(cl->buf, cl->cap + 1);
			assert_non_null(cl->buf);
		}
		n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (n > 0) {
			cl->len += (size_t)n;
			cl->buf[cl->len] = '\0';
			continue;
		}
		if (n == 0)
			cl->eof = 1;
		break;
	}
}

static void
client_send(struct client *cl, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t n;
	uint64_t end = loop_clock() + 2000;

	while (off < len && loop_clock() < end) {
		n = write(cl->fd, s + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else
			client_pump(cl);
	}
	assert_int_equal(off, len);
}

/*
 * Parses the response at *off; 1 when a whole one is there. head: a
 * response to HEAD (Content-Length without a body).
 */
static int
parse_response(struct client *cl, size_t *off, int head, struct response *r)
{
	const char *s = cl->buf + *off, *eoh, *cl_hdr;
	size_t hlen, blen = 0;

	if (cl->buf == NULL || *off >= cl->len)
		return 0;
	if ((eoh = strstr(s, "\r\n\r\n")) == NULL)
		return 0;
	hlen = (size_t)(eoh - s) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, s, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(strncmp(s, "HTTP/1.1 ", 9), 0);
	r->status = atoi(s + 9);
	if ((cl_hdr = strcasestr(r->head, "\r\nContent-Length: ")) != NULL)
		blen = (size_t)strtoul(cl_hdr + 18, NULL, 10);
	if (head)
		blen = 0;
	if (cl->len - *off < hlen + blen)
		return 0;
	r->body = s + hlen;
	r->body_len = blen;
	*off += hlen + blen;
	return 1;
}

/* Waits for the next response. */
static void
next_response(struct client *cl, size_t *off, int head, struct response *r)
{
	uint64_t end = loop_clock() + 2000;

	while (!parse_response(cl, off, head, r)) {
		assert_true(loop_clock() < end);
		assert_false(cl->eof && !parse_response(cl, off, head, r));
		client_pump(cl);
	}
}

static int
body_is(const struct response *r, const char *want)
{
	return r->body_len == strlen(want) &&
	    memcmp(r->body, want, r->body_len) == 0;
}

static void
wait_eof(struct client *cl, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	while (!cl->eof && loop_clock() < end)
		client_pump(cl);
	assert_true(cl->eof);
}

#define GET(p)	"GET " p " HTTP/1.1\r\nHost: t\r\n\r\n"

static void
test_pipelined_in_order(void **state)
{
	struct client cl;
	struct response r;
	size_t off = 0;

	client_open(&cl);
	assert_int_equal(conn_count(), 1);
	client_send(&cl, GET("/health") GET("/nope")
	    "HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"
	    "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    GET("/health/"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "{\"status\":\"ok\"}"));
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	assert_null(strstr(r.head, "Connection: close"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 404);
	assert_true(body_is(&r, "{\"error\":\"Not found\"}"));
	next_response(&cl, &off, 1, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Content-Length: 15\r\n"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"));
	assert_true(body_is(&r, "{\"error\":\"Method not allowed\"}"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	drive_ms(20);
	client_pump(&cl);
	assert_int_equal(off, cl.len);	/* nothing extra after a HEAD */
	assert_false(cl.eof);		/* keep-alive */
	client_free(&cl);
	assert_int_equal(conn_count(), 0);
}

static void
test_byte_by_byte(void **state)
{
	const char *req = GET("/health") GET("/health");
	struct client cl;
	struct response r;
	size_t off = 0, i;
	char one[2] = { 0 };

	client_open(&cl);
	for (i = 0; i < strlen(req); i++) {
		one[0] = req[i];
		client_send(&cl, one);
		loop_once(0);
	}
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	client_free(&cl);
}

static void
test_bad_request_closes(void **state)
{
	struct client cl;
	struct response r;
	size_t off = 0;

	client_open(&cl);
	client_send(&cl, GET("/health") "BLAH\x01 / HTTP/1.1\r\n\r\n"
	    GET("/health"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(r.body_len > 10 && r.body[0] == '{');
	wait_eof(&cl, 1000);
	assert_int_equal(off, cl.len);	/* the request after it is dropped */
	client_free(&cl);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
}

static void
test_connection_close_and_http10(void **state)
{
	struct client cl;
	struct response r;
	size_t off = 0;

	client_open(&cl);
	client_send(&cl, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	    GET("/health"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	wait_eof(&cl, 1000);
	assert_int_equal(off, cl.len);
	client_free(&cl);

	off = 0;
	client_open(&cl);
	client_send(&cl, "GET /health HTTP/1.0\r\n\r\n");
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	wait_eof(&cl, 1000);
	client_free(&cl);
}

static void
test_half_close_still_answered(void **state)
{
	struct client cl;
	struct response r;
	size_t off = 0;

	client_open(&cl);
	client_send(&cl, GET("/health") GET("/nope"));
	shutdown(cl.fd, SHUT_WR);
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 404);
	wait_eof(&cl, 1000);
	client_free(&cl);
	assert_int_equal(conn_count(), 0);
}

static void
test_timeouts(void **state)
{
	struct client cl;
	struct response r;
	size_t off = 0;

	wconf.idle_timeout_ms = 100;
	wconf.header_timeout_ms = 150;

	/* Idle keep-alive connection. */
	client_open(&cl);
	client_send(&cl, GET("/health"));
	next_response(&cl, &off, 0, &r);
	wait_eof(&cl, 1000);
	client_free(&cl);
	assert_int_equal(conn_count(), 0);

	/* A request that never completes: 408, then closed. */
	off = 0;
	client_open(&cl);
	client_send(&cl, "GET /health HTTP/1.1\r\nHost: t\r\n");
	drive_ms(60);
	client_send(&cl, "X-Slow: 1\r\n");	/* trickling doesn't help */
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 408);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	wait_eof(&cl, 1000);
	client_free(&cl);
	assert_int_equal(conn_count(), 0);

	wconf.idle_timeout_ms = 60000;
	wconf.header_timeout_ms = 10000;
}

static void
connect_peer(void)
{
	if (storec_connected())
		return;
	peer_listen(&P);
	storec_init(P.path);
	assert_int_equal(peer_accept(&P, 2000), 0);
	drive_ms(10);
	assert_true(storec_connected());
}

static void
test_async_keeps_order(void **state)
{
	struct client cl;
	struct response r;
	struct peer_req pr;
	struct penc e;
	size_t off = 0;

	connect_peer();
	client_open(&cl);
	client_send(&cl,
	    "GET /v1/admin/conversations?limit=2 HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n"
	    GET("/health"));
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(pr.type, PROTO_ST_CONV_LIST);
	drive_ms(30);
	client_pump(&cl);
	assert_int_equal(cl.len, 0);	/* /health waits its turn */

	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");
	peer_reply(&P, &pr, e.buf, e.len);
	penc_free(&e);
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r,
	    "{\"conversations\":[],\"total\":0,\"nextCursor\":null}"));
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "{\"status\":\"ok\"}"));
	client_free(&cl);
}

static void
test_admin_errors_over_http(void **state)
{
	struct client cl;
	struct response r;
	struct peer_req pr;
	size_t off = 0;

	connect_peer();
	client_open(&cl);
	client_send(&cl, GET("/v1/admin/conversations")
	    "GET /v1/admin/conversations?limit=0 HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n"
	    "GET /v1/admin/conversations/xyz HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n"
	    "GET /v1/admin/conversations/0123456789abcdef0123456789abcdef "
	    "HTTP/1.1\r\nHost: t\r\nx-admin-api-key: " KEY "\r\n\r\n");
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 401);
	assert_true(body_is(&r, "{\"error\":\"Unauthorized\"}"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 400);
	assert_true(body_is(&r, "{\"error\":\"Invalid query parameters\"}"));
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 400);
	assert_true(body_is(&r, "{\"error\":\"Invalid conversationId\"}"));
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(pr.type, PROTO_ST_CONV_GET);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "no such conversation");
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 404);
	assert_true(body_is(&r, "{\"error\":\"Conversation not found\"}"));
	client_free(&cl);

	/* Storage gone: 503 at once, no hanging. */
	peer_close(&P);
	peer_unlisten(&P);
	drive_ms(20);
	off = 0;
	client_open(&cl);
	client_send(&cl, "GET /v1/admin/conversations HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n");
	next_response(&cl, &off, 0, &r);
	assert_int_equal(r.status, 503);
	assert_true(body_is(&r, "{\"error\":\"Storage unavailable\"}"));
	client_free(&cl);
	storec_shutdown();
}

static void
test_client_leaves_mid_request(void **state)
{
	struct client cl;
	struct peer_req pr;

	connect_peer();
	client_open(&cl);
	client_send(&cl, "GET /v1/admin/conversations HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n");
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(storec_inflight(), 1);
	close(cl.fd);
	cl.fd = -1;
	drive_ms(30);
	assert_int_equal(conn_count(), 0);
	assert_int_equal(storec_inflight(), 0);	/* cancelled */
	/* The late reply finds nobody, harmlessly. */
	peer_reply(&P, &pr, "junk", 4);
	drive_ms(30);
	assert_true(storec_connected());
	client_free(&cl);
}

static void
test_output_backpressure(void **state)
{
	enum { N = 12000 };
	static const char req[] = GET("/health");
	struct client cl;
	struct response r;
	char *all;
	size_t off = 0, sent = 0, total, max_out = 0;
	ssize_t n;
	int got = 0;

	total = (sizeof(req) - 1) * N;
	all = malloc(total + 1);
	assert_non_null(all);
	for (n = 0; n < N; n++)
		memcpy(all + (size_t)n * (sizeof(req) - 1), req,
		    sizeof(req) - 1);
	client_open(&cl);
	/* Send everything without reading: the worker must stop reading. */
	while (sent < total) {
		n = write(cl.fd, all + sent, total - sent);
		if (n > 0)
			sent += (size_t)n;
		loop_once(1);
		if (buf_pending(&cl.c->out) > max_out)
			max_out = buf_pending(&cl.c->out);
		if (n <= 0 && buf_pending(&cl.c->out) > CONN_OUT_HIGH)
			break;	/* stuck as it should be */
	}
	assert_true(max_out <= CONN_OUT_HIGH + 4096);
	/* Now read: every answer arrives, in order, none lost. */
	while (got < N) {
		if (sent < total) {
			n = write(cl.fd, all + sent, total - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		next_response(&cl, &off, 0, &r);
		assert_int_equal(r.status, 200);
		got++;
		if (buf_pending(&cl.c->out) > max_out)
			max_out = buf_pending(&cl.c->out);
	}
	assert_true(max_out <= CONN_OUT_HIGH + 4096);
	assert_true(max_out > CONN_OUT_HIGH / 2);	/* it was exercised */
	free(all);
	client_free(&cl);
}

/* Last: quitting is for good. */
static void
test_quit(void **state)
{
	struct client idle, busy;
	struct response r;
	struct peer_req pr;
	struct penc e;
	size_t off = 0;

	connect_peer();
	client_open(&idle);
	client_open(&busy);
	client_send(&busy, "GET /v1/admin/conversations HTTP/1.1\r\n"
	    "Host: t\r\nx-admin-api-key: " KEY "\r\n\r\n");
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	worker_quit(5000, 1);
	assert_true(worker_quitting());
	wait_eof(&idle, 1000);		/* idle: closed at once */
	assert_int_equal(conn_count(), 1);
	assert_false(loop_stopped());

	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");
	peer_reply(&P, &pr, e.buf, e.len);
	penc_free(&e);
	next_response(&busy, &off, 0, &r);
	assert_int_equal(r.status, 200);
	/* Finished in flight, but no more keep-alive. */
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	wait_eof(&busy, 1000);
	/* It lingers (half-closed) until the client closes too. */
	assert_int_equal(conn_count(), 1);
	client_free(&busy);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
	assert_true(loop_stopped());
	client_free(&idle);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_in_order),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_bad_request_closes),
		cmocka_unit_test(test_connection_close_and_http10),
		cmocka_unit_test(test_half_close_still_answered),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_async_keeps_order),
		cmocka_unit_test(test_admin_errors_over_http),
		cmocka_unit_test(test_client_leaves_mid_request),
		cmocka_unit_test(test_output_backpressure),
		cmocka_unit_test(test_quit),
	};

	log_init("test_conn");
	return cmocka_run_group_tests(tests, setup, teardown);
}
