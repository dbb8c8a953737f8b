/*
 * Connections over real socketpairs: pipelined requests answered in
 * order (also when one waits on storaged, or comes while one does), HEAD, bad input, keep-alive
 * and close, timeouts, a client leaving mid-request, output backpressure,
 * an idle connection holding no buffers, the access log and the close
 * reason, and quitting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>

#include "admin.h"
#include "test_client.h"
#include "test_util.h"

#define KEY	"test-admin-key-0123456789abcdef"
#define CONV	"0123456789abcdef0123456789abcdef"

/* A response read in place, in the client's buffer. */
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
	peer_setup(&P);
	admin_init(KEY);
	return 0;
}

static int
teardown(void **state)
{
	peer_teardown(&P);
	return 0;
}

static void
send_str(struct tclient *cl, const char *s)
{
	assert_int_equal(tclient_send(cl, s, strlen(s)), 0);
}

/*
 * Parses the response at *off; 1 when a whole one is there. head: a
 * response to HEAD (Content-Length without a body).
 */
static int
parse_response(struct tclient *cl, size_t *off, int head, struct response *r)
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

/* Waits for the next response, at most ms. */
static void
next_response_within(struct tclient *cl, size_t *off, int head,
    struct response *r, uint64_t ms)
{
	uint64_t end = loop_clock() + ms;

	while (!parse_response(cl, off, head, r)) {
		assert_true(loop_clock() < end);
		assert_false(cl->eof && !parse_response(cl, off, head, r));
		tclient_pump(cl);
	}
}

/* Waits for the next response: 2 s at most. */
static void
next_response(struct tclient *cl, size_t *off, int head, struct response *r)
{
	next_response_within(cl, off, head, r, 2000);
}

static int
body_is(const struct response *r, const char *want)
{
	return r->body_len == strlen(want) &&
	    memcmp(r->body, want, r->body_len) == 0;
}

/* Waits for the next response: its status, and its body unless NULL. */
static void
expect_answer(struct tclient *cl, size_t *off, struct response *r,
    int status, const char *body)
{
	next_response(cl, off, 0, r);
	assert_int_equal(r->status, status);
	if (body != NULL)
		assert_true(body_is(r, body));
}

/* storaged's answer to ST_CONV_QUERY: no conversations. */
static void
reply_no_convs(const struct peer_req *pr)
{
	struct penc e;

	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");
	peer_reply(&P, pr, e.buf, e.len);
	penc_free(&e);
}

#define GET(p)	"GET " p " HTTP/1.1\r\nHost: t\r\n\r\n"
#define ADMIN_GET(p)							\
	"GET " p " HTTP/1.1\r\nHost: t\r\nx-admin-api-key: " KEY "\r\n\r\n"

static void
test_pipelined_in_order(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	assert_int_equal(conn_count(), 1);
	send_str(&cl, GET("/health") GET("/nope")
	    "HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"
	    "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    GET("/health/"));
	expect_answer(&cl, &off, &r, 200, "{\"status\":\"ok\"}");
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	assert_null(strstr(r.head, "Connection: close"));
	expect_answer(&cl, &off, &r, 404, "{\"error\":\"Not found\"}");
	next_response(&cl, &off, 1, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Content-Length: 15\r\n"));
	expect_answer(&cl, &off, &r, 405, "{\"error\":\"Method not allowed\"}");
	assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"));
	expect_answer(&cl, &off, &r, 200, NULL);
	drive_ms(20);
	tclient_pump(&cl);
	assert_int_equal(off, cl.len);	/* nothing extra after a HEAD */
	assert_false(cl.eof);		/* keep-alive */
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);
}

static void
test_byte_by_byte(void **state)
{
	const char *req = GET("/health") GET("/health");
	struct tclient cl;
	struct response r;
	size_t off = 0, i;
	char one[2] = { 0 };

	assert_int_equal(tclient_open(&cl), 0);
	for (i = 0; i < strlen(req); i++) {
		one[0] = req[i];
		send_str(&cl, one);
		loop_once(0);
	}
	expect_answer(&cl, &off, &r, 200, NULL);
	expect_answer(&cl, &off, &r, 200, NULL);
	tclient_close(&cl);
}

static void
test_bad_request_closes(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/health") "BLAH\x01 / HTTP/1.1\r\n\r\n"
	    GET("/health"));
	expect_answer(&cl, &off, &r, 200, NULL);
	expect_answer(&cl, &off, &r, 400, NULL);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(r.body_len > 10 && r.body[0] == '{');
	assert_true(tclient_wait_eof(&cl, 1000));
	assert_int_equal(off, cl.len);	/* the request after it is dropped */
	tclient_close(&cl);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
}

static void
test_connection_close_and_http10(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	    GET("/health"));
	expect_answer(&cl, &off, &r, 200, NULL);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(tclient_wait_eof(&cl, 1000));
	assert_int_equal(off, cl.len);
	tclient_close(&cl);

	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, "GET /health HTTP/1.0\r\n\r\n");
	expect_answer(&cl, &off, &r, 200, NULL);
	assert_true(tclient_wait_eof(&cl, 1000));
	tclient_close(&cl);
}

static void
test_half_close_still_answered(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/health") GET("/nope"));
	shutdown(cl.fd, SHUT_WR);
	expect_answer(&cl, &off, &r, 200, NULL);
	expect_answer(&cl, &off, &r, 404, NULL);
	assert_true(tclient_wait_eof(&cl, 1000));
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);
}

static void
test_timeouts(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;

	wconf.idle_timeout_ms = 100;
	wconf.header_timeout_ms = 150;

	/* Idle keep-alive connection. */
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/health"));
	next_response(&cl, &off, 0, &r);
	assert_true(tclient_wait_eof(&cl, 1000));
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);

	/* A request that never completes: 408, then closed. */
	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, "GET /health HTTP/1.1\r\nHost: t\r\n");
	drive_ms(60);
	/*
	 * Trickling doesn't help. On a loaded machine the 150 ms may be up
	 * already, the 408 sent and the socket closed: this send then fails
	 * (EPIPE; SIGPIPE ignored), and the answer is the same.
	 */
	(void)tclient_send(&cl, "X-Slow: 1\r\n", 11);
	expect_answer(&cl, &off, &r, 408, NULL);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(tclient_wait_eof(&cl, 1000));
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);

	wconf.idle_timeout_ms = 60000;
	wconf.header_timeout_ms = 10000;
}

/*
 * Before its first request a connection has the header timeout, not the
 * idle one: silent, or sending only empty lines, it is closed without an
 * answer. After a request, the idle timeout.
 */
static void
test_first_request_timeout(void **state)
{
	struct tclient cl;
	struct response r;
	uint64_t t0;
	size_t off = 0;

	wconf.idle_timeout_ms = 2000;
	wconf.header_timeout_ms = 150;

	t0 = loop_clock();
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, "\r\n\r\n");
	assert_true(tclient_wait_eof(&cl, 1000));
	assert_true(loop_clock() - t0 >= 140);
	assert_int_equal(cl.len, 0);
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);

	/* One request answered: idle for longer than the header timeout. */
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/health"));
	expect_answer(&cl, &off, &r, 200, NULL);
	drive_ms(400);
	assert_int_equal(conn_count(), 1);
	send_str(&cl, GET("/health"));
	expect_answer(&cl, &off, &r, 200, NULL);
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);

	wconf.idle_timeout_ms = 60000;
	wconf.header_timeout_ms = 10000;
}

#define SLOW_HEAD	"POST /health HTTP/1.1\r\nHost: t\r\n" \
			"Content-Length: 12\r\n\r\n"

/*
 * A body is bounded by its pace, not its whole time: one byte every
 * 60 ms for 720 ms passes a header timeout of 300 ms (a loaded machine
 * may hold this process a while between two bytes: 240 ms of room).
 * One that stops is answered 408 and the connection lingers
 * (half-closed: the client reads the answer, then the end) rather than
 * closing on it.
 */
static void
test_body_pace(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;
	int i;

	wconf.header_timeout_ms = 300;

	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, SLOW_HEAD);
	for (i = 0; i < 12; i++) {
		drive_ms(60);
		send_str(&cl, "x");
	}
	next_response(&cl, &off, 0, &r);
	assert_int_not_equal(r.status, 408);
	tclient_close(&cl);
	assert_int_equal(conn_count(), 0);

	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, SLOW_HEAD "xyz");
	expect_answer(&cl, &off, &r, 408, "{\"error\":\"Request timeout\"}");
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(tclient_wait_eof(&cl, 1000));
	/* Lingering: what the client still sends is read away. */
	send_str(&cl, "more");
	drive_ms(20);
	assert_int_equal(conn_count(), 1);
	tclient_close(&cl);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);

	wconf.header_timeout_ms = 10000;
}

/*
 * Past the worker's cap (conn_max_set) a connection is answered 503 and
 * closed, unread; the ones held work on. The cap keeps a quarter of the
 * descriptors and CONN_FDS_KEPT more.
 */
static void
test_worker_cap(void **state)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n";
	struct tclient a, b;
	struct response r;
	size_t off = 0;

	assert_int_equal(conn_max_for(256), 160);
	assert_int_equal(conn_max_for(65536), 49120);
	assert_int_equal(conn_max_for(40), 1);

	conn_max_set(1);
	assert_int_equal(tclient_open(&a), 0);
	assert_int_equal(tclient_open(&b), -1);
	assert_true(tclient_wait_eof(&b, 1000));
	assert_int_equal(strncmp(b.buf, busy, sizeof(busy) - 1), 0);
	assert_non_null(strstr(b.buf,
	    "\r\n\r\n{\"error\":\"Too many connections\"}"));
	assert_int_equal(conn_count(), 1);
	send_str(&a, GET("/health"));
	expect_answer(&a, &off, &r, 200, NULL);
	tclient_close(&b);
	tclient_close(&a);
	assert_int_equal(conn_count(), 0);

	/* Room again. */
	assert_int_equal(tclient_open(&a), 0);
	tclient_close(&a);
	conn_max_set(0);
}

/*
 * An admin request that waits on storaged, then /health on the same
 * connection: sent together (pipelined), or, when later, sent while the
 * first waits (the connection stays watched for input: busy_input).
 * /health waits its turn either way, and the connection reads on after.
 */
static void
async_then_health(int later)
{
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	size_t off = 0;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&cl), 0);
	if (later)
		send_str(&cl, ADMIN_GET("/v1/admin/conversations?limit=2"));
	else
		send_str(&cl, ADMIN_GET("/v1/admin/conversations?limit=2")
		    GET("/health"));
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(pr.type, PROTO_ST_CONV_QUERY);
	if (later) {
		drive_ms(10);
		send_str(&cl, GET("/health"));
	}
	drive_ms(30);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);	/* /health waits its turn */
	assert_int_equal(conn_count(), 1);

	reply_no_convs(&pr);
	expect_answer(&cl, &off, &r, 200,
	    "{\"conversations\":[],\"total\":0,\"nextCursor\":null}");
	assert_non_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	expect_answer(&cl, &off, &r, 200, "{\"status\":\"ok\"}");
	send_str(&cl, GET("/health"));
	expect_answer(&cl, &off, &r, 200, "{\"status\":\"ok\"}");
	tclient_close(&cl);
}

static void
test_async_keeps_order(void **state)
{
	async_then_health(0);
}

static void
test_input_while_busy(void **state)
{
	async_then_health(1);
}

/* storaged's errors as HTTP answers: its own for some, else 500 or 503. */
static void
test_admin_storage_errors(void **state)
{
	static const struct {
		const char *req;
		uint16_t type;
		uint32_t code;
		int status;
		const char *body;
	} tab[] = {
		{ ADMIN_GET("/v1/admin/conversations?cursor=zz"),
		    PROTO_ST_CONV_QUERY, PROTO_E_INVALID, 400,
		    "{\"error\":\"Invalid query parameters\"}" },
		{ ADMIN_GET("/v1/admin/conversations"), PROTO_ST_CONV_QUERY,
		    PROTO_E_NOT_FOUND, 500,
		    "{\"error\":\"Internal server error\"}" },
		{ ADMIN_GET("/v1/admin/conversations"), PROTO_ST_CONV_QUERY,
		    PROTO_E_UNAVAILABLE, 503,
		    "{\"error\":\"Storage unavailable\"}" },
		{ ADMIN_GET("/v1/admin/conversations/" CONV), PROTO_ST_CONV_GET,
		    PROTO_E_INVALID, 400,
		    "{\"error\":\"Invalid conversationId\"}" },
		{ ADMIN_GET("/v1/admin/conversations/" CONV), PROTO_ST_CONV_GET,
		    PROTO_E_INTERNAL, 500,
		    "{\"error\":\"Internal server error\"}" },
		{ ADMIN_GET("/v1/admin/conversations/" CONV), PROTO_ST_CONV_GET,
		    PROTO_E_UNAVAILABLE, 503,
		    "{\"error\":\"Storage unavailable\"}" },
	};
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	size_t off = 0, i;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&cl), 0);
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		send_str(&cl, tab[i].req);
		assert_int_equal(peer_recv(&P, &pr, 1000), 0);
		assert_int_equal(pr.type, tab[i].type);
		peer_error(&P, &pr, tab[i].code, "storaged says no");
		expect_answer(&cl, &off, &r, tab[i].status, tab[i].body);
	}
	tclient_close(&cl);
}

/* The methods a route may take (M_* bits) and their names, for the walks. */
static const struct {
	unsigned int bit;
	const char *name;
} verbs[] = {
	{ M_GET, "GET" }, { M_POST, "POST" }, { M_PUT, "PUT" },
	{ M_PATCH, "PATCH" }, { M_DELETE, "DELETE" },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

/* pattern with each ":name" segment given a well-formed id. */
static void
route_path(const char *pattern, char *out, size_t outsz)
{
	const char *p = pattern, *e;

	out[0] = '\0';
	while (*p != '\0') {
		e = strchr(p + 1, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, "/:delivery_id", 13) == 0)
			strlcat(out, "/dlv_0123456789abcdef0123456789abcdef",
			    outsz);
		else if (p[1] == ':') {
			strlcat(out, strncmp(p, "/:wid", 5) == 0 ? "/wid_" :
			    strncmp(p, "/:org_id", 8) == 0 ? "/org_" :
			    strncmp(p, "/:key_id", 8) == 0 ? "/key_" :
			    strncmp(p, "/:hook_id", 9) == 0 ? "/wh_" :
			    strncmp(p, "/:source_id", 11) == 0 ? "/ks_" :
			    strncmp(p, "/:action_id", 11) == 0 ? "/act_" :
			    strncmp(p, "/:user_id", 9) == 0 ? "/usr_" :
			    strncmp(p, "/:invitation_id", 15) == 0 ? "/inv_" :
			    strncmp(p, "/:canned_id", 11) == 0 ? "/cr_" :
			    strncmp(p, "/:att", 5) == 0 ? "/att_" : "/",
			    outsz);
			strlcat(out, CONV, outsz);
		} else
			strncat(out, p, (size_t)(e - p));
		p = e;
	}
}

/*
 * Every R_ADMIN route of the table, with each of its methods, without
 * credentials and with a wrong key: 401 from the router before its
 * handler (no storaged here: a handler that ran would answer 503). A new
 * admin route is covered without being listed.
 */
static void
test_admin_routes_gated(void **state)
{
	const struct route *rt;
	struct tclient cl;
	struct response r;
	char path[512], req[1024];
	size_t i, k, off, n = 0;
	int wrong;

	for (i = 0; (rt = router_route(i)) != NULL; i++) {
		if (!(rt->flags & R_ADMIN))
			continue;
		route_path(rt->pattern, path, sizeof(path));
		for (k = 0; k < NVERBS; k++) {
			if (!(rt->methods & verbs[k].bit))
				continue;
			for (wrong = 0; wrong < 2; wrong++) {
				snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n"
				    "Host: t\r\n%sContent-Type: application/json"
				    "\r\nContent-Length: 2\r\n\r\n{}",
				    verbs[k].name, path, wrong ? "x-admin-api-key: "
				    "wrong-key-0123456789abcdef\r\n" : "");
				assert_int_equal(tclient_open(&cl), 0);
				send_str(&cl, req);
				off = 0;
				expect_answer(&cl, &off, &r, 401,
				    "{\"error\":\"Unauthorized\"}");
				tclient_close(&cl);
				n++;
			}
		}
	}
	/* The 21 admin routes of today at least, twice each. */
	assert_true(n >= 2 * 21);
}

/* A dashboard session's id and CSRF token, as storaged holds them here. */
#define DASH_PW		"dashboard password"
#define DASH_SID	"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"
#define DASH_CSRF	"00112233445566778899aabbccddeeff" \
			"00112233445566778899aabbccddeeff"
#define USER_ID		"usr_0123456789abcdef0123456789abcdef"

/*
 * storaged's side of a session check: the salt and the first owner's
 * boot when the worker asks for them first, then ST_DASH_CHECK answered
 * valid (an owner of "default").
 */
static void answer_session_as(const char *user);

static void
answer_session_valid(void)
{
	answer_session_as("");
}

/* answer_session_valid() of a session of user ("": none). */
static void
answer_session_as(const char *user)
{
	struct st_dash_salt_rep salt;
	struct st_dash_check_rep ok;
	struct peer_req pr;
	struct penc e;

	assert_int_equal(peer_recv(&P, &pr, 10000), 0);
	if (pr.type == PROTO_ST_DASH_SALT) {
		memset(&salt, 0, sizeof(salt));
		salt.salt_len = sizeof(salt.salt);
		penc_init(&e);
		assert_int_equal(st_rep_encode(&e, pr.type, &salt), 0);
		peer_reply_enc(&P, &pr, &e);
		assert_int_equal(peer_recv(&P, &pr, 10000), 0);
		assert_int_equal(pr.type, PROTO_ST_USER_BOOT);
		penc_init(&e);
		assert_int_equal(st_rep_encode(&e, pr.type,
		    &(struct st_u8_rep){ 0 }), 0);
		peer_reply_enc(&P, &pr, &e);
		assert_int_equal(peer_recv(&P, &pr, 10000), 0);
	}
	assert_int_equal(pr.type, PROTO_ST_DASH_CHECK);
	memset(&ok, 0, sizeof(ok));
	ok.valid = 1;
	strlcpy(ok.s.org, "default", sizeof(ok.s.org));
	strlcpy(ok.s.user, user, sizeof(ok.s.user));
	ok.s.role = ST_ROLE_OWNER;
	strlcpy(ok.s.csrf, DASH_CSRF, sizeof(ok.s.csrf));
	ok.s.expires_at = 4000000000000ULL;
	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, pr.type, &ok), 0);
	peer_reply_enc(&P, &pr, &e);
}

/*
 * Every route flagged R_INSTALL (with R_ADMIN), each method, with a
 * valid dashboard session (and its CSRF token): 403 from the router once
 * the session is checked, its handler never run (storaged hears nothing
 * but the checks). A new such route is covered without being listed.
 */
static void
test_install_routes_refuse_sessions(void **state)
{
	static const char BODY[] = "{\"name\":\"n\"}";
	const struct route *rt;
	struct tclient cl;
	struct response r;
	char path[512], req[1024];
	size_t i, k, off, n = 0;

	dashauth_init(DASH_PW);
	assert_int_equal(peer_connect(&P), 0);
	for (i = 0; (rt = router_route(i)) != NULL; i++) {
		if (!(rt->flags & R_INSTALL))
			continue;
		assert_true(rt->flags & R_ADMIN);
		route_path(rt->pattern, path, sizeof(path));
		for (k = 0; k < NVERBS; k++) {
			if (!(rt->methods & verbs[k].bit))
				continue;
			snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n"
			    "Host: t\r\nCookie: parley_session=" DASH_SID
			    "\r\nx-csrf-token: " DASH_CSRF "\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\n\r\n%s",
			    verbs[k].name, path, strlen(BODY), BODY);
			assert_int_equal(tclient_open(&cl), 0);
			send_str(&cl, req);
			answer_session_valid();
			off = 0;
			expect_answer(&cl, &off, &r, 403, "{\"error\":"
			    "\"Only the install API key may do this\"}");
			tclient_close(&cl);
			n++;
		}
	}
	peer_expect_none(&P, 50);
	dashauth_init(NULL);
	/* The organisations' five at least. */
	assert_true(n >= 5);
}

/* A body each admin write takes as valid (else "{}"). */
static const char *
route_body(const char *pattern, unsigned int method)
{
	if (method == M_POST && strstr(pattern, "/handoff") != NULL)
		return "{\"state\":\"human\"}";
	if (method == M_POST && strstr(pattern, "/messages") != NULL)
		return "{\"content\":\"x\"}";
	if (method == M_POST && strstr(pattern, "/typing") != NULL)
		return "{\"typing\":true}";
	if (method == M_POST && strstr(pattern, "/assign") != NULL)
		return "{\"user_id\":null}";
	if (method == M_PATCH && strcmp(pattern,
	    "/v1/admin/conversations/:id") == 0)
		return "{\"state\":\"resolved\"}";
	if (method == M_POST && strcmp(pattern, "/v1/admin/api-keys") == 0)
		return "{\"name\":\"n\",\"role\":\"agent\"}";
	if (method == M_POST && strcmp(pattern, "/v1/admin/webhooks") == 0)
		return "{\"url\":\"https://93.184.216.34/h\","
		    "\"events\":[\"message.created\"]}";
	if (method == M_POST && strcmp(pattern,
	    "/v1/admin/knowledge/sources") == 0)
		return "{\"type\":\"qa\",\"question\":\"q\","
		    "\"answer\":\"a\"}";
	if (method == M_POST && strcmp(pattern, "/v1/admin/actions") == 0)
		return "{\"name\":\"order\",\"description\":\"d\","
		    "\"parameters\":{\"type\":\"object\",\"properties\":"
		    "{\"id\":{\"type\":\"string\"}}},"
		    "\"url\":\"https://93.184.216.34/o/{{id}}\"}";
	if (method == M_POST && strcmp(pattern,
	    "/v1/admin/knowledge/search") == 0)
		return "{\"query\":\"q\"}";
	if (method == M_POST && strcmp(pattern,
	    "/v1/admin/knowledge-gaps/resolve") == 0)
		return "{\"ids\":[\"0123456789abcdef0123456789abcdef"
		    "00000001\"]}";
	if (method == M_POST && strcmp(pattern,
	    "/v1/admin/profile/password") == 0)
		return "{\"current_password\":\"x\","
		    "\"new_password\":\"a new password\"}";
	if (method == M_POST && strstr(pattern, "/attachments") != NULL)
		return "{\"name\":\"fork.png\",\"size\":1}";
	if (method == M_PUT && strstr(pattern, "/attachments/") != NULL)
		return "x";
	if (strncmp(pattern, "/v1/admin/canned-replies", 24) == 0)
		return "{\"shortcut\":\"s\",\"text\":\"t\"}";
	if (method == M_POST && strcmp(pattern, "/v1/admin/users") == 0)
		return "{\"email\":\"a@example.com\",\"role\":\"agent\"}";
	if ((method == M_POST || method == M_PATCH) &&
	    (strcmp(pattern, "/v1/admin/widgets") == 0 ||
	    strcmp(pattern, "/v1/admin/agents") == 0 ||
	    strcmp(pattern, "/v1/admin/widgets/:wid") == 0 ||
	    strcmp(pattern, "/v1/admin/agents/:agent_id") == 0 ||
	    strcmp(pattern, "/v1/admin/organizations") == 0 ||
	    strcmp(pattern, "/v1/admin/organizations/:org_id") == 0 ||
	    strcmp(pattern, "/v1/admin/profile") == 0))
		return "{\"name\":\"n\"}";
	return "{}";
}

/*
 * A route's body type: a file source's file, or an upload's piece, is its
 * bytes, not JSON; the piece says where it goes.
 */
static const char *
route_ctype(const char *pattern)
{
	size_t n = strlen(pattern);

	if (strstr(pattern, "/attachments/:att") != NULL)
		return "application/octet-stream\r\nContent-Range: bytes 0-0/1";
	return n > 5 && strcmp(pattern + n - 5, "/file") == 0 ?
	    "text/plain" : "application/json";
}

/* The replies test_admin_bad_replies tries for each request. */
enum reply_kind {
	REPLY_NONE,	/* no byte */
	REPLY_STRAY,	/* one stray byte */
	REPLY_SHORT,	/* a valid reply but for its last byte */
	REPLY_LONG,	/* a valid reply and one byte more */
	REPLY_KINDS
};

/*
 * A valid reply to a request of type into e: its zeroed reply struct
 * encoded by the message table, which must decode back.
 */
static void
valid_reply(uint16_t type, struct penc *e)
{
	union st_any rep;

	memset(&rep, 0, sizeof(rep));
	penc_init(e);
	if (st_rep_encode(e, type, &rep) < 0)
		fail_msg("%s: a zeroed reply does not encode",
		    proto_msg_name(type));
	if (st_rep_decode(type, e->buf, e->len, &rep) < 0)
		fail_msg("%s: a zeroed reply does not decode",
		    proto_msg_name(type));
	st_rep_free(type, &rep);
}

/*
 * The reply of kind to a request of type into e. A valid reply that is
 * empty has no last byte to drop: it is sent whole.
 */
static void
reply_of(enum reply_kind kind, uint16_t type, struct penc *e)
{
	if (kind == REPLY_NONE || kind == REPLY_STRAY) {
		penc_init(e);
		if (kind == REPLY_STRAY)
			penc_u8(e, 0xff);
		return;
	}
	valid_reply(type, e);
	if (kind == REPLY_LONG)
		penc_u8(e, 0);
	else if (e->len > 0)
		e->len--;
}

/* 1 when e holds a whole reply of type (st_rep_decode). */
static int
reply_whole(uint16_t type, const struct penc *e)
{
	union st_any rep;

	if (st_rep_decode(type, e->buf, e->len, &rep) < 0)
		return 0;
	st_rep_free(type, &rep);
	return 1;
}

/*
 * The next response, each later storaged request (a route that asks
 * again after the reply the walk tried: a password change's stored
 * password) answered with a valid zeroed reply. 2 s at most.
 */
static void
response_answering(struct tclient *cl, size_t *off, struct response *r)
{
	uint64_t end = loop_clock() + 2000;
	struct peer_req pr;
	struct penc e;

	while (!parse_response(cl, off, 0, r)) {
		assert_true(loop_clock() < end);
		assert_false(cl->eof && !parse_response(cl, off, 0, r));
		tclient_pump(cl);
		if (peer_recv(&P, &pr, 5) == 0) {
			valid_reply(pr.type, &e);
			peer_reply(&P, &pr, e.buf, e.len);
			penc_free(&e);
		}
	}
}

/*
 * storaged's request pr answered with a reply of kind (its type's layout)
 * and cl's response read into r: 1 when the reply was whole.
 */
static int
answer_with(enum reply_kind kind, struct peer_req *pr, struct tclient *cl,
    struct response *r)
{
	struct penc e;
	size_t off = 0;
	int whole;

	reply_of(kind, pr->type, &e);
	whole = reply_whole(pr->type, &e);
	peer_reply(&P, pr, e.buf, e.len);
	penc_free(&e);
	response_answering(cl, &off, r);
	return whole;
}

/*
 * Every admin route of the table with the key, its storaged request
 * answered with no reply, one stray byte, and a valid reply of the
 * request's type (its zeroed struct, encoded by the table) a byte short
 * and a byte long: 500 JSON for each that does not decode, never a crash
 * or a hang; a success for the ones that do (nothing, for the requests
 * whose reply is empty). The event stream and the export answer in a
 * stream of their own and are left out. A dashboard user's own routes
 * (/v1/admin/notifications, /v1/admin/profile: a key is 403) are asked
 * with a session. A password change that goes on (the attempt's count
 * whole) reads a zeroed account, without a password to check: 500.
 */
static void
test_admin_bad_replies(void **state)
{
	static const char *const kinds[REPLY_KINDS] = {
		"none", "a stray byte", "a byte short", "a byte long",
	};
	const struct route *rt;
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	char path[512], req[1024];
	const char *body;
	size_t i, k, n = 0, nwhole = 0;
	int kind, whole, own, want;

	dashauth_init(DASH_PW);
	assert_int_equal(peer_connect(&P), 0);
	for (i = 0; (rt = router_route(i)) != NULL; i++) {
		if (!(rt->flags & R_ADMIN) || strstr(rt->pattern, "/events") ||
		    strstr(rt->pattern, "/export"))
			continue;
		own = strcmp(rt->pattern, "/v1/admin/notifications") == 0 ||
		    strncmp(rt->pattern, "/v1/admin/profile", 17) == 0;
		route_path(rt->pattern, path, sizeof(path));
		for (k = 0; k < NVERBS; k++) {
			if (!(rt->methods & verbs[k].bit))
				continue;
			for (kind = 0; kind < REPLY_KINDS; kind++) {
				body = route_body(rt->pattern, verbs[k].bit);
				snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n"
				    "Host: t\r\n%s\r\n"
				    "Content-Type: %s\r\n"
				    "Content-Length: %zu\r\n\r\n%s",
				    verbs[k].name, path, own ?
				    "Cookie: parley_session=" DASH_SID
				    "\r\nx-csrf-token: " DASH_CSRF :
				    "x-admin-api-key: " KEY,
				    route_ctype(rt->pattern), strlen(body), body);
				handoff_typing_reset();	/* typing again: sent */
				assert_int_equal(tclient_open(&cl), 0);
				send_str(&cl, req);
				if (own)
					answer_session_as(USER_ID);
				if (peer_recv(&P, &pr, 1000) != 0)
					fail_msg("%s %s: no storaged request",
					    verbs[k].name, path);
				/* The request's type says the reply's layout. */
				whole = answer_with(kind, &pr, &cl, &r);
				want = !whole || strstr(rt->pattern,
				    "/password") != NULL ? 500 : 0;
				/*
				 * A zeroed attachment is no file of this
				 * conversation: nothing to serve.
				 */
				if (whole && verbs[k].bit == M_GET &&
				    strstr(rt->pattern, "/attachments/") != NULL)
					want = 404;
				if (want ? r.status != want : r.status / 100 != 2)
					fail_msg("%s %s (%s), reply %s%s: %d",
					    verbs[k].name, path,
					    proto_msg_name(pr.type), kinds[kind],
					    whole ? " (whole)" : "", r.status);
				tclient_close(&cl);
				n++;
				nwhole += whole;
			}
		}
	}
	dashauth_init(NULL);
	/* The 19 admin routes of today, each reply kind. */
	assert_true(n >= REPLY_KINDS * 19);
	/* Nothing (or a short nothing) is whole for the three empty replies. */
	assert_true(nwhole >= 3 * 2);
}

/*
 * A visitor's upload routes (R_PUBLIC, the session token's): a new
 * upload, a piece, a link to a file; each storaged request answered with
 * no reply, a stray byte, a valid zeroed reply a byte short and a byte
 * long: 500 for each that does not decode, never a crash or a hang. A
 * whole zeroed reply goes on: a new upload 201, a piece 200; a link
 * signed with no key opens nothing (403).
 */
static void
test_attach_bad_replies(void **state)
{
	static const char token[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
	static const struct {
		const char *method, *path, *extra, *body;
		uint16_t type;
		int whole_status;
	} routes[] = {
		{ "POST", "/api/widget/wid_1/attachments",
		    "Content-Type: application/json\r\n",
		    "{\"name\":\"a.png\",\"size\":9}", PROTO_ST_ATT_NEW, 201 },
		{ "PUT", "/api/widget/wid_1/attachments/att_" CONV,
		    "Content-Range: bytes 0-0/9\r\n", "x", PROTO_ST_ATT_PUT,
		    200 },
		{ "GET", "/api/widget/wid_1/attachments/att_" CONV
		    "?exp=99999999999999&sig=0123456789abcdef0123456789abcdef",
		    "", "", PROTO_ST_ATT_READ, 403 },
	};
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	char req[1024];
	size_t i;
	int kind, whole;

	assert_int_equal(peer_connect(&P), 0);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		for (kind = 0; kind < REPLY_KINDS; kind++) {
			snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n"
			    "X-Parley-Session: %s\r\n%sContent-Length: %zu"
			    "\r\n\r\n%s", routes[i].method, routes[i].path,
			    token, routes[i].extra, strlen(routes[i].body),
			    routes[i].body);
			assert_int_equal(tclient_open(&cl), 0);
			send_str(&cl, req);
			if (peer_recv(&P, &pr, 1000) != 0)
				fail_msg("%s: no storaged request", routes[i].path);
			assert_int_equal(pr.type, routes[i].type);
			whole = answer_with(kind, &pr, &cl, &r);
			assert_int_equal(r.status, whole ?
			    routes[i].whole_status : 500);
			tclient_close(&cl);
		}
}

/*
 * The admin search for an agent asks its embedding model first
 * (ST_AGENT_EMBED): a reply that does not decode is 500; a whole one
 * (no model of its own) goes on to the search.
 */
static void
test_agent_embed_bad_replies(void **state)
{
	static const char body[] = "{\"query\":\"q\",\"agent_id\":"
	    "\"0123456789abcdef0123456789abcdef\"}";
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	struct penc e;
	char req[512];
	size_t off;
	int kind, whole;

	assert_int_equal(peer_connect(&P), 0);
	snprintf(req, sizeof(req), "POST /v1/admin/knowledge/search "
	    "HTTP/1.1\r\nHost: t\r\nx-admin-api-key: " KEY "\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "\r\n%s", strlen(body), body);
	for (kind = 0; kind < REPLY_KINDS; kind++) {
		assert_int_equal(tclient_open(&cl), 0);
		send_str(&cl, req);
		assert_int_equal(peer_recv(&P, &pr, 1000), 0);
		assert_int_equal(pr.type, PROTO_ST_AGENT_EMBED);
		reply_of(kind, pr.type, &e);
		whole = reply_whole(pr.type, &e);
		peer_reply(&P, &pr, e.buf, e.len);
		penc_free(&e);
		if (whole) {
			assert_int_equal(peer_recv(&P, &pr, 1000), 0);
			assert_int_equal(pr.type, PROTO_ST_KB_SEARCH);
			valid_reply(pr.type, &e);
			peer_reply(&P, &pr, e.buf, e.len);
			penc_free(&e);
		}
		off = 0;
		next_response(&cl, &off, 0, &r);
		assert_int_equal(r.status, whole ? 200 : 500);
		tclient_close(&cl);
	}
}

static void
test_admin_errors_over_http(void **state)
{
	struct tclient cl;
	struct response r;
	struct peer_req pr;
	size_t off = 0;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/v1/admin/conversations")
	    ADMIN_GET("/v1/admin/conversations?limit=0")
	    ADMIN_GET("/v1/admin/conversations/xyz")
	    ADMIN_GET("/v1/admin/conversations/" CONV));
	expect_answer(&cl, &off, &r, 401, "{\"error\":\"Unauthorized\"}");
	expect_answer(&cl, &off, &r, 400,
	    "{\"error\":\"Invalid query parameters\"}");
	expect_answer(&cl, &off, &r, 400,
	    "{\"error\":\"Invalid conversationId\"}");
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(pr.type, PROTO_ST_CONV_GET);
	/* Who asks: the install key, as the router's gate found. */
	assert_int_equal(pr.has_who, 1);
	assert_int_equal(pr.who.kind, ST_WHO_KEY);
	assert_string_equal(pr.who.id, "install");
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "no such conversation");
	expect_answer(&cl, &off, &r, 404,
	    "{\"error\":\"Conversation not found\"}");
	tclient_close(&cl);

	/*
	 * Storage gone: 503, no hanging. A request storec makes before it has
	 * seen the connection go (a loaded machine: the 20 ms below may not
	 * be enough) waits up to STOREC_WAIT_MS (2 s) for a new one: the
	 * answer is bounded by that and the usual 2 s.
	 */
	peer_close(&P);
	peer_unlisten(&P);
	drive_ms(20);
	off = 0;
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, ADMIN_GET("/v1/admin/conversations"));
	next_response_within(&cl, &off, 0, &r, 2000 + 2000);
	assert_int_equal(r.status, 503);
	assert_true(body_is(&r, "{\"error\":\"Storage unavailable\"}"));
	tclient_close(&cl);
	storec_shutdown();
}

/*
 * A stream whose queued output is held (conn_stream_hold) sends nothing
 * until its next write, which leaves with it in one piece, or until the
 * hold's time is up, when it leaves alone.
 */
static void
test_stream_hold(void **state)
{
	struct tclient cl;
	struct peer_req pr;
	uint64_t start;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&cl), 0);
	/* A request that waits on storaged: the connection answers later. */
	send_str(&cl, ADMIN_GET("/v1/admin/conversations"));
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	assert_int_equal(conn_stream_start(cl.c, 200, "", "text/plain"), 0);
	conn_stream_write(cl.c, "first", 5);
	conn_stream_hold(cl.c, 5000);
	drive_ms(30);
	tclient_pump(&cl);
	assert_int_equal(cl.len, 0);		/* held */
	conn_stream_write(cl.c, "second", 6);
	start = loop_clock();
	while (strstr(cl.buf != NULL ? cl.buf : "", "second") == NULL) {
		assert_true(loop_clock() - start < 2000);
		loop_once(10);
		tclient_pump(&cl);
	}
	/* Both came in the one write that the second made. */
	assert_non_null(strstr(cl.buf, "200"));
	assert_non_null(strstr(cl.buf, "first"));

	/* Held alone: out once its time is up, not before. */
	conn_stream_write(cl.c, "third", 5);
	conn_stream_hold(cl.c, 150);
	start = loop_clock();
	while (strstr(cl.buf, "third") == NULL) {
		assert_true(loop_clock() - start < 2000);
		loop_once(10);
		tclient_pump(&cl);
	}
	assert_true(loop_clock() - start >= 140);
	conn_stream_end(cl.c);
	drive_ms(10);
	tclient_pump(&cl);
	assert_non_null(strstr(cl.buf, "0\r\n\r\n"));
	tclient_close(&cl);
}

static void
test_client_leaves_mid_request(void **state)
{
	struct tclient cl;
	struct peer_req pr;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, ADMIN_GET("/v1/admin/conversations"));
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
	tclient_close(&cl);
}

static void
test_output_backpressure(void **state)
{
	enum { N = 12000 };
	static const char req[] = GET("/health");
	struct tclient cl;
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
	assert_int_equal(tclient_open(&cl), 0);
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
	tclient_close(&cl);
}

/*
 * Once an answer is written out, the connection keeps no output buffer
 * and no parser scratch while it waits for the next request.
 */
static void
test_idle_keeps_no_buffers(void **state)
{
	struct tclient cl;
	struct response r;
	size_t off = 0;
	int i;

	assert_int_equal(tclient_open(&cl), 0);
	for (i = 0; i < 3; i++) {
		send_str(&cl, "GET /health HTTP/1.1\r\nHost: t\r\n"
		    "X-Something-Long: 0123456789012345678901234567890123456789"
		    "\r\n\r\n");
		expect_answer(&cl, &off, &r, 200, NULL);
		assert_int_equal(cl.c->state, CONN_READ);
		assert_int_equal(buf_pending(&cl.c->out), 0);
		assert_null(cl.c->out.data);
		assert_null(cl.c->in.name.p);
		assert_null(cl.c->in.value.p);
		assert_null(cl.c->pend);
	}
	tclient_close(&cl);
}

/*
 * The output an answer gave back is kept for the next answer to take
 * (not allocated and grown again), a few for the worker: a connection
 * still keeps none while idle.
 */
static void
test_output_spare(void **state)
{
	struct tclient a, b;
	struct response r;
	size_t offa = 0, offb = 0, n, bytes, kept;

	assert_int_equal(tclient_open(&a), 0);
	assert_int_equal(tclient_open(&b), 0);
	send_str(&a, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_answer(&a, &offa, &r, 200, NULL);
	assert_null(a.c->out.data);
	n = conn_out_spares(&kept);
	/* A head and a small body: more than 256 bytes. */
	assert_in_range(n, 1, 8);
	assert_in_range(kept, 512 * n, 4096 * n);
	/* The next answer takes one and gives it back. */
	send_str(&b, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_answer(&b, &offb, &r, 200, NULL);
	assert_null(b.c->out.data);
	assert_int_equal(conn_out_spares(&bytes), n);
	assert_int_equal(bytes, kept);
	tclient_close(&a);
	tclient_close(&b);
}

/* ---- what the logs say (stderr captured into a file) ---- */

static struct stderr_capture captured;

static void
capture_start(void)
{
	stderr_capture_start(&captured);
}

/* Stops capturing; the log lines written meanwhile (static). */
static const char *
capture_end(void)
{
	static char text[16384];

	return stderr_capture_end(&captured, text, sizeof(text));
}

static void
test_access_format(void **state)
{
	char line[128], longpath[400];

	conn_access_format(line, sizeof(line), "192.0.2.7", "GET",
	    "/v1/chat/history", 200, 123, 4);
	assert_string_equal(line, "192.0.2.7 GET /v1/chat/history 200 123 4");
	/* The query string can carry a token: never logged. */
	conn_access_format(line, sizeof(line), "::1", "POST",
	    "/v1/chat?key=secret", 401, 0, 0);
	assert_string_equal(line, "::1 POST /v1/chat 401 0 0");
	/* Blanks and control bytes cannot forge a field or a line. */
	conn_access_format(line, sizeof(line), "local", "GET",
	    "/a b\r\nc\x7f", 404, 9, 1);
	assert_string_equal(line, "local GET /a?b??c? 404 9 1");
	conn_access_format(line, sizeof(line), "local", "-", "", 400, 5, 0);
	assert_string_equal(line, "local - - 400 5 0");
	/* A long path is cut; the line still ends with its numbers. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	conn_access_format(longpath, sizeof(longpath), "local", "GET",
	    longpath, 200, 1, 2);
	assert_true(strlen(longpath) < 300);
	assert_non_null(strstr(longpath, "aaa 200 1 2"));
}

/* Off by default; on, one line per request with the bytes sent. */
static void
test_access_log(void **state)
{
	struct tclient cl;
	struct response r;
	const char *text, *p;
	char want[64];
	size_t off = 0, first;

	assert_int_equal(tclient_open(&cl), 0);
	capture_start();
	send_str(&cl, GET("/health?token=secret"));
	expect_answer(&cl, &off, &r, 200, NULL);
	text = capture_end();
	assert_null(strstr(text, "access:"));

	conn_access_log(1);
	capture_start();
	first = off;
	send_str(&cl, GET("/health?token=secret") GET("/nowhere"));
	expect_answer(&cl, &off, &r, 200, NULL);
	snprintf(want, sizeof(want), "access: local GET /health 200 %zu ",
	    strlen(r.head) + r.body_len);
	assert_int_equal(off - first, strlen(r.head) + r.body_len);
	expect_answer(&cl, &off, &r, 404, NULL);
	send_str(&cl, "BLAH\x01 / HTTP/1.1\r\n\r\n");
	expect_answer(&cl, &off, &r, 400, NULL);
	assert_true(tclient_wait_eof(&cl, 1000));
	text = capture_end();
	conn_access_log(0);

	assert_non_null(p = strstr(text, want));
	assert_non_null(strstr(text, "access: local GET /nowhere 404 "));
	assert_non_null(strstr(text, "access: local - - 400 "));
	assert_null(strstr(text, "secret"));
	/* One line each, at info level. */
	assert_non_null(strstr(text, ": info: access: "));
	assert_null(strstr(p + strlen(want), "GET /health"));
	tclient_close(&cl);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
}

/* The teardown says why, with the client and the connection's age. */
static void
test_close_reason(void **state)
{
	struct tclient cl;
	struct response r;
	const char *text;
	size_t off = 0;

	log_set_level(LOG_LEVEL_DEBUG);
	capture_start();
	assert_int_equal(tclient_open(&cl), 0);
	send_str(&cl, GET("/health"));
	expect_answer(&cl, &off, &r, 200, NULL);
	shutdown(cl.fd, SHUT_WR);
	assert_true(tclient_wait_eof(&cl, 1000));
	drive_ms(20);
	text = capture_end();
	log_set_level(LOG_LEVEL_INFO);
	assert_non_null(strstr(text, "closed (client done), client local, age "));
	assert_int_equal(conn_count(), 0);
	tclient_close(&cl);
}

/* Last: quitting is for good. */
static void
test_quit(void **state)
{
	struct tclient idle, busy;
	struct response r;
	struct peer_req pr;
	size_t off = 0;

	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(tclient_open(&idle), 0);
	assert_int_equal(tclient_open(&busy), 0);
	send_str(&busy, ADMIN_GET("/v1/admin/conversations"));
	assert_int_equal(peer_recv(&P, &pr, 1000), 0);
	worker_quit(5000, 1);
	assert_true(worker_quitting());
	/* idle: closed at once */
	assert_true(tclient_wait_eof(&idle, 1000));
	assert_int_equal(conn_count(), 1);
	assert_false(loop_stopped());

	reply_no_convs(&pr);
	expect_answer(&busy, &off, &r, 200, NULL);
	/* Finished in flight, but no more keep-alive. */
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	assert_true(tclient_wait_eof(&busy, 1000));
	/* It lingers (half-closed) until the client closes too. */
	assert_int_equal(conn_count(), 1);
	tclient_close(&busy);
	drive_ms(20);
	assert_int_equal(conn_count(), 0);
	assert_true(loop_stopped());
	tclient_close(&idle);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_routes_gated),
		cmocka_unit_test(test_install_routes_refuse_sessions),
		cmocka_unit_test(test_pipelined_in_order),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_bad_request_closes),
		cmocka_unit_test(test_connection_close_and_http10),
		cmocka_unit_test(test_half_close_still_answered),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_first_request_timeout),
		cmocka_unit_test(test_body_pace),
		cmocka_unit_test(test_worker_cap),
		cmocka_unit_test(test_stream_hold),
		cmocka_unit_test(test_async_keeps_order),
		cmocka_unit_test(test_input_while_busy),
		cmocka_unit_test(test_admin_storage_errors),
		cmocka_unit_test(test_admin_bad_replies),
		cmocka_unit_test(test_agent_embed_bad_replies),
		cmocka_unit_test(test_attach_bad_replies),
		cmocka_unit_test(test_admin_errors_over_http),
		cmocka_unit_test(test_client_leaves_mid_request),
		cmocka_unit_test(test_output_backpressure),
		cmocka_unit_test(test_idle_keeps_no_buffers),
		cmocka_unit_test(test_output_spare),
		cmocka_unit_test(test_access_format),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_close_reason),
		cmocka_unit_test(test_quit),
	};

	log_init("test_conn");
	/* A send to a socket the server closed fails, as the worker's do. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
