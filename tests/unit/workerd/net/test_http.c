/*
 * Unit tests: the HTTP request reader (http.c) and the response writer
 * (resp.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "http.h"
#include "resp.h"

/* ------------------------------------------------------------ helpers */

/* Appends a canonical description of a request to d. */
static void
describe(struct buf *d, const struct http_request *r)
{
	int i;

	buf_addf(d, "[%s %s path=%s query=%s v=%u.%u ka=%d up=%d",
	    r->method_name, r->url, r->path, r->query, r->http_major,
	    r->http_minor, r->keep_alive, r->upgrade);
	for (i = 0; i < r->nheaders; i++)
		buf_addf(d, " <%s>=<%s>", r->headers[i].name,
		    r->headers[i].value);
	buf_addf(d, " body(%zu)=", r->body_len);
	buf_add(d, r->body, r->body_len);
	buf_adds(d, "]");
}

/*
 * Feeds the pieces as a connection would (re-feeding what was not consumed
 * after each request) and describes everything that came out. Returns a
 * malloc'd NUL-terminated string.
 */
static char *
run_pieces(const char *const *pieces, const size_t *lens, int n)
{
	struct http_in h;
	struct http_request *r;
	struct buf d;
	enum http_in_result res;
	size_t off, c;
	int i;
	char *s;

	buf_init(&d);
	http_in_init(&h);
	for (i = 0; i < n; i++) {
		off = 0;
		while (off < lens[i]) {
			res = http_in_feed(&h, pieces[i] + off, lens[i] - off,
			    &c);
			assert_true(c <= lens[i] - off);
			off += c;
			if (res == HTTP_IN_REQUEST) {
				r = http_in_take(&h);
				assert_non_null(r);
				assert_false(http_in_busy(&h));
				describe(&d, r);
				http_request_free(r);
				continue;
			}
			if (res == HTTP_IN_ERROR) {
				buf_addf(&d, "ERROR %d %s", http_in_status(&h),
				    http_in_message(&h));
				goto out;
			}
			assert_int_equal(res, HTTP_IN_MORE);
			assert_int_equal(off, lens[i]);
		}
	}
	buf_addf(&d, "MORE busy=%d", http_in_busy(&h));
out:
	http_in_free(&h);
	buf_add(&d, "", 1);
	assert_false(d.err);
	s = strdup(d.data);
	buf_free(&d);
	return s;
}

static char *
run_one(const char *raw, size_t len)
{
	return run_pieces(&raw, &len, 1);
}

static char *
run_str(const char *raw)
{
	return run_one(raw, strlen(raw));
}

/* Result of raw fed in one piece must equal every two-piece split and byte by byte. */
static void
check_splits(const char *raw, size_t len)
{
	char *ref, *got;
	const char *p[2];
	size_t l[2], i;
	const char **bp;
	size_t *bl;

	ref = run_one(raw, len);
	for (i = 0; i <= len; i++) {
		p[0] = raw;
		l[0] = i;
		p[1] = raw + i;
		l[1] = len - i;
		got = run_pieces(p, l, 2);
		if (strcmp(ref, got) != 0)
			fail_msg("split at %zu:\n%s\n!=\n%s", i, got, ref);
		free(got);
	}
	bp = calloc(len + 1, sizeof(*bp));
	bl = calloc(len + 1, sizeof(*bl));
	assert_non_null(bp);
	assert_non_null(bl);
	for (i = 0; i < len; i++) {
		bp[i] = raw + i;
		bl[i] = 1;
	}
	got = run_pieces(bp, bl, (int)len);
	if (strcmp(ref, got) != 0)
		fail_msg("byte by byte:\n%s\n!=\n%s", got, ref);
	free(got);
	free(bp);
	free(bl);
	free(ref);
}

/* Feeds raw in one piece and returns the error status (0 if none). */
static int
status_of(const char *raw, size_t len)
{
	struct http_in h;
	struct http_request *r;
	enum http_in_result res;
	size_t off = 0, c;
	int st = 0;

	http_in_init(&h);
	while (off < len) {
		res = http_in_feed(&h, raw + off, len - off, &c);
		off += c;
		if (res == HTTP_IN_REQUEST) {
			r = http_in_take(&h);
			http_request_free(r);
			continue;
		}
		if (res == HTTP_IN_ERROR) {
			st = http_in_status(&h);
			break;
		}
		break;
	}
	http_in_free(&h);
	return st;
}

static int
status_str(const char *raw)
{
	return status_of(raw, strlen(raw));
}

static enum http_in_result
feed_str(struct http_in *h, const char *s, size_t *c)
{
	return http_in_feed(h, s, strlen(s), c);
}

/* Feeds a complete single request; returns it (caller frees h and it). */
static struct http_request *
parse_one(struct http_in *h, const char *raw)
{
	size_t c;

	http_in_init(h);
	assert_int_equal(http_in_feed(h, raw, strlen(raw), &c),
	    HTTP_IN_REQUEST);
	assert_int_equal(c, strlen(raw));
	return http_in_take(h);
}

/* ------------------------------------------------------------ requests */

static const char *split_inputs[] = {
	"GET /health HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"POST /v1/chat?x=1&y=%20z HTTP/1.1\r\nHost: a\r\n"
	"Content-Type: application/json\r\nContent-Length: 27\r\n"
	"X-Api-Key:   secret key   \r\n\r\n"
	"{\"sessionId\":\"s\",\"m\":\"hi\"}\n",
	"POST /chat HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n",
	"\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b?q HTTP/1.1\r\nHost: a\r\n"
	"Connection: close\r\n\r\nHEAD /c HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\nHost: lf-only\nX-Empty:\nX-Sp: \n\n",
	"GET /x HTTP/1.1\r\nhOsT: a\r\nX-Folded: a\r\n b\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	"Transfer-Encoding: chunked\r\n\r\n",
	"GET /" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" " HTTP/1.1\r\n"
	"Host: a\r\nX\x01" "Bad: 1\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
	"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
};

static void
test_split_every_boundary(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(split_inputs) / sizeof(split_inputs[0]); i++)
		check_splits(split_inputs[i], strlen(split_inputs[i]));
}

static void
test_split_results(void **state)
{
	char *s;

	(void)state;
	s = run_str(split_inputs[0]);
	assert_string_equal(s, "[GET /health path=/health query= v=1.1 ka=1 "
	    "up=0 <host>=<example.com> body(0)=]MORE busy=0");
	free(s);

	s = run_str(split_inputs[2]);
	assert_string_equal(s, "[POST /chat path=/chat query= v=1.1 ka=1 up=0 "
	    "<host>=<a> <transfer-encoding>=<chunked> body(12)=hello world!]"
	    "MORE busy=0");
	free(s);

	s = run_str(split_inputs[3]);
	assert_string_equal(s,
	    "[GET /a path=/a query= v=1.1 ka=1 up=0 <host>=<a> body(0)=]"
	    "[GET /b?q path=/b query=q v=1.1 ka=0 up=0 <host>=<a> "
	    "<connection>=<close> body(0)=]"
	    "[HEAD /c path=/c query= v=1.0 ka=0 up=0 body(0)=]MORE busy=0");
	free(s);

	s = run_str(split_inputs[4]);
	assert_string_equal(s, "[GET / path=/ query= v=1.1 ka=1 up=0 "
	    "<host>=<lf-only> <x-empty>=<> <x-sp>=<> body(0)=]MORE busy=0");
	free(s);

	s = run_str(split_inputs[9]);
	assert_string_equal(s, "[GET / path=/ query= v=1.1 ka=1 up=1 <host>=<a> "
	    "<connection>=<Upgrade, HTTP2-Settings> <upgrade>=<h2c> "
	    "<http2-settings>=<AAMAAABkAARAAAAAAAIAAAAA> body(0)=]"
	    "[GET /2 path=/2 query= v=1.1 ka=1 up=0 <host>=<a> body(0)=]"
	    "MORE busy=0");
	free(s);

	s = run_str(split_inputs[5]);
	assert_string_equal(s, "ERROR 400 Bad request");
	free(s);
	s = run_str(split_inputs[6]);
	assert_string_equal(s, "ERROR 400 Bad request");
	free(s);
	s = run_str(split_inputs[7]);
	assert_string_equal(s, "ERROR 400 Bad request");
	free(s);
}

static void
test_pipelined(void **state)
{
	static const char r1[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char r2[] = "POST /two HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\n\r\nhello";
	static const char r3[] = "\r\nGET /three HTTP/1.1\r\nHost: a\r\n\r\n";
	char all[512];
	struct http_in h;
	struct http_request *r;
	size_t c, off = 0, len;

	(void)state;
	len = (size_t)snprintf(all, sizeof(all), "%s%s%sGET /fo", r1, r2, r3);
	http_in_init(&h);

	assert_int_equal(http_in_feed(&h, all, len, &c), HTTP_IN_REQUEST);
	assert_int_equal(c, strlen(r1));
	/* Feeding again before taking: the same answer, nothing consumed. */
	assert_int_equal(http_in_feed(&h, all + c, len - c, &c), HTTP_IN_REQUEST);
	assert_int_equal(c, 0);
	r = http_in_take(&h);
	assert_string_equal(r->path, "/one");
	assert_null(http_in_take(&h));
	http_request_free(r);
	off = strlen(r1);

	assert_int_equal(http_in_feed(&h, all + off, len - off, &c),
	    HTTP_IN_REQUEST);
	assert_int_equal(c, strlen(r2));
	r = http_in_take(&h);
	assert_string_equal(r->path, "/two");
	assert_int_equal(r->body_len, 5);
	assert_memory_equal(r->body, "hello", 6);
	http_request_free(r);
	off += c;

	assert_int_equal(http_in_feed(&h, all + off, len - off, &c),
	    HTTP_IN_REQUEST);
	assert_int_equal(c, strlen(r3));
	r = http_in_take(&h);
	assert_string_equal(r->path, "/three");
	http_request_free(r);
	off += c;

	assert_false(http_in_busy(&h));
	assert_int_equal(http_in_feed(&h, all + off, len - off, &c),
	    HTTP_IN_MORE);
	assert_int_equal(c, len - off);
	assert_true(http_in_busy(&h));
	assert_int_equal(feed_str(&h, "ur HTTP/1.1\r\nHost: a\r\n\r\n", &c), HTTP_IN_REQUEST);
	assert_int_equal(c, 24);
	r = http_in_take(&h);
	assert_string_equal(r->url, "/four");
	http_request_free(r);
	http_in_free(&h);
}

static void
test_keep_alive(void **state)
{
	static const struct {
		const char *version;
		const char *conn;
		int ka;
	} t[] = {
		{ "1.1", NULL, 1 },
		{ "1.1", "close", 0 },
		{ "1.1", "Close", 0 },
		{ "1.1", "keep-alive", 1 },
		{ "1.1", "foo, close", 0 },
		{ "1.1", "Upgrade", 1 },
		{ "1.0", NULL, 0 },
		{ "1.0", "keep-alive", 1 },
		{ "1.0", "Keep-Alive", 1 },
		{ "1.0", "foo , keep-alive", 1 },
		{ "1.0", "close", 0 },
		{ "1.0", "keep-alive, close", 0 },
		{ "1.0", "keepalive", 0 },
	};
	char raw[256];
	struct http_in h;
	struct http_request *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].conn)
			snprintf(raw, sizeof(raw), "GET / HTTP/%s\r\nHost: a\r\n"
			    "Connection: %s\r\n\r\n", t[i].version, t[i].conn);
		else
			snprintf(raw, sizeof(raw), "GET / HTTP/%s\r\nHost: a\r\n"
			    "\r\n", t[i].version);
		r = parse_one(&h, raw);
		if (r->keep_alive != t[i].ka)
			fail_msg("%s: keep_alive %d", raw, r->keep_alive);
		http_request_free(r);
		http_in_free(&h);
	}
}

static void
test_header_names_values(void **state)
{
	static const char raw[] = "GET /p?q=1 HTTP/1.1\r\n"
	    "HOST:example.org\r\n"
	    "X-Custom-HEADER:   some  value \t \r\n"
	    "x-empty:\r\n"
	    "X-Spaces:    \r\n"
	    "X-Dup: one\r\n"
	    "x-dup: two\r\n"
	    "X-Tab:\tv\t\r\n"
	    "\r\n";
	struct http_in h;
	struct http_request *r;

	(void)state;
	check_splits(raw, strlen(raw));
	r = parse_one(&h, raw);
	assert_int_equal(r->nheaders, 7);
	assert_string_equal(r->headers[0].name, "host");
	assert_string_equal(r->headers[0].value, "example.org");
	assert_string_equal(r->headers[1].name, "x-custom-header");
	assert_string_equal(r->headers[1].value, "some  value");
	assert_string_equal(r->headers[2].value, "");
	assert_string_equal(r->headers[3].value, "");
	assert_string_equal(http_header(r, "x-dup"), "one");
	assert_string_equal(http_header(r, "x-tab"), "v");
	assert_null(http_header(r, "x-missing"));
	/* The name asked for in any case; a prefix or a longer name is not it. */
	assert_string_equal(http_header(r, "X-Custom-Header"), "some  value");
	assert_string_equal(http_header(r, "HOST"), "example.org");
	assert_null(http_header(r, "hos"));
	assert_null(http_header(r, "hostx"));
	assert_null(http_header(r, "x-custom-header "));
	assert_null(http_header(r, ""));
	assert_string_equal(r->method_name, "GET");
	assert_int_equal(r->method, HTTP_GET);
	assert_string_equal(r->path, "/p");
	assert_string_equal(r->query, "q=1");
	assert_non_null(r->body);
	assert_int_equal(r->body_len, 0);
	http_request_free(r);
	http_in_free(&h);

	/* Absolute-form, fragment, asterisk. */
	r = parse_one(&h, "GET http://a.example:81/x/y?k=v#frag HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n");
	assert_string_equal(r->path, "/x/y");
	assert_string_equal(r->query, "k=v");
	http_request_free(r);
	http_in_free(&h);
	r = parse_one(&h, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_string_equal(r->path, "*");
	assert_string_equal(r->query, "");
	http_request_free(r);
	http_in_free(&h);
	r = parse_one(&h, "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_string_equal(r->path, "/a");
	http_request_free(r);
	http_in_free(&h);
}

static void
test_query_param(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(http_query_param("a=1&b=two", "b", b, sizeof(b)), 1);
	assert_string_equal(b, "two");
	assert_int_equal(http_query_param("a=1&b=two", "a", b, sizeof(b)), 1);
	assert_string_equal(b, "1");
	assert_int_equal(http_query_param("a=1&b=two", "c", b, sizeof(b)), 0);
	assert_int_equal(http_query_param("", "a", b, sizeof(b)), 0);
	assert_int_equal(http_query_param(NULL, "a", b, sizeof(b)), 0);
	assert_int_equal(http_query_param("x=%41%62+c%2B%26", "x", b,
	    sizeof(b)), 1);
	assert_string_equal(b, "Ab c+&");
	assert_int_equal(http_query_param("my+key=1&your%20key=2", "my key", b,
	    sizeof(b)), 1);
	assert_string_equal(b, "1");
	assert_int_equal(http_query_param("flag&x=1", "flag", b, sizeof(b)), 1);
	assert_string_equal(b, "");
	assert_int_equal(http_query_param("x=&y=2", "x", b, sizeof(b)), 1);
	assert_string_equal(b, "");
	assert_int_equal(http_query_param("&&x=1&&", "x", b, sizeof(b)), 1);
	assert_string_equal(b, "1");
	assert_int_equal(http_query_param("x=a=b", "x", b, sizeof(b)), 1);
	assert_string_equal(b, "a=b");
	/* One name given twice, however spelt: which was meant is not known. */
	assert_int_equal(http_query_param("x=1&x=2", "x", b, sizeof(b)), -2);
	assert_int_equal(http_query_param("x=1&y=0&x=1", "x", b, sizeof(b)),
	    -2);
	assert_int_equal(http_query_param("my+key=1&my%20key=2", "my key", b,
	    sizeof(b)), -2);
	assert_int_equal(http_query_param("x&x=", "x", NULL, 0), -2);
	assert_int_equal(http_query_param("x=1&x=2", "y", b, sizeof(b)), 0);
	assert_int_equal(http_query_param("xx=1", "x", b, sizeof(b)), 0);
	assert_int_equal(http_query_param("x=%e2%82%ac", "x", b, sizeof(b)), 1);
	assert_string_equal(b, "\xe2\x82\xac");
	/* Malformed escapes, anywhere. */
	assert_int_equal(http_query_param("x=%4", "x", b, sizeof(b)), -1);
	assert_int_equal(http_query_param("x=%zz", "x", b, sizeof(b)), -1);
	assert_int_equal(http_query_param("x=%", "x", b, sizeof(b)), -1);
	assert_int_equal(http_query_param("x=%00", "x", b, sizeof(b)), -1);
	assert_int_equal(http_query_param("y=%g1&x=1", "x", b, sizeof(b)), -1);
	/* Too long for buf. */
	assert_int_equal(http_query_param("x=1234", "x", b, 4), -1);
	assert_int_equal(http_query_param("x=1234", "x", b, 5), 1);
	assert_string_equal(b, "1234");
	assert_int_equal(http_query_param("x=1", "x", b, 0), -1);
	/* Presence only. */
	assert_int_equal(http_query_param("x=1", "x", NULL, 0), 1);
	assert_int_equal(http_query_param("x=1", "y", NULL, 0), 0);
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_limit_header_bytes(void **state)
{
	struct buf b;
	char *v = repeat('v', 1000);
	int i;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 17; i++)
		buf_addf(&b, "X-H%d: %s\r\n", i, v);
	buf_adds(&b, "\r\n");
	assert_int_equal(status_of(b.data, b.len), 431);
	/* Just under the limit passes. */
	buf_free(&b);
	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 15; i++)
		buf_addf(&b, "X-H%d: %s\r\n", i, v);
	buf_adds(&b, "\r\n");
	assert_int_equal(status_of(b.data, b.len), 0);
	/* A single huge header, never ending: 431 without waiting for the end. */
	buf_free(&b);
	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	for (i = 0; i < 20; i++)
		buf_adds(&b, v);
	assert_int_equal(status_of(b.data, b.len), 431);
	buf_free(&b);
	free(v);
}

static void
test_limit_header_count(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS - 1; i++)
		buf_addf(&b, "X-%d: v\r\n", i);
	buf_adds(&b, "\r\n");
	assert_int_equal(status_of(b.data, b.len), 0);
	buf_free(&b);

	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		buf_addf(&b, "X-%d: v\r\n", i);
	buf_adds(&b, "\r\n");
	assert_int_equal(status_of(b.data, b.len), 431);
	buf_free(&b);
}

static void
test_limit_url(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	p = repeat('a', HTTP_MAX_URL - 1);
	buf_init(&b);
	buf_addf(&b, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", p);
	assert_int_equal(status_of(b.data, b.len), 0);
	buf_free(&b);
	free(p);

	p = repeat('a', HTTP_MAX_URL);
	buf_init(&b);
	buf_addf(&b, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", p);
	assert_int_equal(status_of(b.data, b.len), 414);
	buf_free(&b);
	free(p);

	/* Longer than the whole head limit: still 414, not 431. */
	p = repeat('a', 3 * HTTP_MAX_HEADER_BYTES);
	buf_init(&b);
	buf_addf(&b, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", p);
	assert_int_equal(status_of(b.data, b.len), 414);
	buf_free(&b);
	free(p);
}

static void
test_limit_body(void **state)
{
	struct http_in h;
	struct http_request *r;
	struct buf b;
	size_t c;
	char *body;
	int i;

	(void)state;
	/* Content-Length over the limit: rejected at the head, no body sent. */
	buf_init(&b);
	buf_addf(&b, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
	    HTTP_MAX_BODY + 1);
	http_in_init(&h);
	assert_int_equal(http_in_feed(&h, b.data, b.len, &c), HTTP_IN_ERROR);
	assert_int_equal(http_in_status(&h), 413);
	assert_string_equal(http_in_message(&h), "Request body too large");
	http_in_free(&h);
	buf_free(&b);
	assert_int_equal(status_str("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 99999999999999999999\r\n\r\n"), 400);
	assert_int_equal(status_str("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 18446744073709551615\r\n\r\n"), 400);

	/* Exactly the limit is fine. */
	body = repeat('b', HTTP_MAX_BODY);
	buf_init(&b);
	buf_addf(&b, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s",
	    HTTP_MAX_BODY, body);
	http_in_init(&h);
	assert_int_equal(http_in_feed(&h, b.data, b.len, &c), HTTP_IN_REQUEST);
	assert_int_equal(c, b.len);
	r = http_in_take(&h);
	assert_int_equal(r->body_len, HTTP_MAX_BODY);
	assert_memory_equal(r->body, body, HTTP_MAX_BODY);
	assert_int_equal(r->body[HTTP_MAX_BODY], '\0');
	http_request_free(r);
	http_in_free(&h);
	buf_free(&b);

	/* Chunked: rejected when the running total goes over. */
	buf_init(&b);
	buf_adds(&b, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 3; i++)
		buf_addf(&b, "%x\r\n%s\r\n", HTTP_MAX_BODY / 2, body +
		    HTTP_MAX_BODY / 2);
	buf_adds(&b, "0\r\n\r\n");
	assert_int_equal(status_of(b.data, b.len), 413);
	buf_free(&b);
	/* Two halves exactly: fine. */
	buf_init(&b);
	buf_adds(&b, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 2; i++)
		buf_addf(&b, "%x\r\n%s\r\n", HTTP_MAX_BODY / 2, body +
		    HTTP_MAX_BODY / 2);
	buf_adds(&b, "0\r\n\r\n");
	assert_int_equal(status_of(b.data, b.len), 0);
	buf_free(&b);
	/* A single chunk size over the limit: rejected at its size line. */
	assert_int_equal(status_str("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n900000\r\n"), 413);
	assert_int_equal(status_str("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"), 413);
	free(body);
}

static void
test_bad_requests(void **state)
{
#define R(s, st) { s, sizeof(s) - 1, st }
	static const struct {
		const char *raw;
		size_t len;
		int status;
	} t[] = {
		/* Content-Length with Transfer-Encoding (both orders). */
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "Content-Length: 5\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		  "Content-Length: 5\r\n\r\n", 400),
		/* A header of who asks twice: the first would win. */
		R("GET / HTTP/1.1\r\nHost: a\r\nX-Organization-Id: o1\r\n"
		  "X-Organization-Id: o2\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nx-admin-api-key: k\r\n"
		  "X-Admin-Api-Key: k\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\n"
		  "Authorization: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-Api-Key: a\r\n"
		  "x-api-key: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-Widget-Api-Key: a\r\n"
		  "X-Widget-Api-Key: a\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-CSRF-Token: a\r\n"
		  "X-CSRF-Token: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-Parley-Session: a\r\n"
		  "Accept: */*\r\nX-Parley-Session: b\r\n\r\n", 400),
		/* Two Content-Lengths, same or different. */
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Content-Length: 5\r\n\r\nhello", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Content-Length: 6\r\n\r\nhello!", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n"
		  "\r\nhello", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
		/* Bad chunk size. */
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "\r\n5\r\nhelloXX0\r\n\r\n", 400),
		/* Chunked framing is checked exactly (no smuggling). */
#define CH "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		R(CH "5\rXhello\r\n0\r\n\r\n", 400),
		R(CH "5\nhello\r\n0\r\n\r\n", 400),
		R(CH "5\r\nhello\n0\r\n\r\n", 400),
		R(CH "5\r\nhello\r\r0\r\n\r\n", 400),
		R(CH "5\r\nhello\r\n0\r\n\rX", 400),
		R(CH "5;a=\x01\r\nhello\r\n0\r\n\r\n", 400),
		R(CH "\r\n5\r\nhello\r\n0\r\n\r\n", 400),
		R(CH "-5\r\nhello\r\n0\r\n\r\n", 400),
		R(CH "5\r\nhello\r\n0\r\nA: b\rX\r\n\r\n", 400),
		R(CH "5\r\nhello\r\n0\r\nA: \x02\r\n\r\n", 400),
		R(CH "5 ;a=b\r\nhello\r\n0\r\nA: b\r\n\n", 0),
		R(CH "5\r\nhello\r\n0\r\n\n", 0),
		R(CH "00005\r\nhello\r\n000\r\n\r\n", 0),
		R(CH "0\r\n\r\n", 0),
#undef CH
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n"
		  "\r\n", 501),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
		  "\r\n0\r\n\r\n", 400),
		/* NUL and control bytes in headers. */
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x07\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX\0A: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400),
		/* Bad request lines. */
		R("GARBAGE\r\n\r\n", 400),
		R("GET\r\n\r\n", 400),
		R(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
		R("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
		/* A method unknown in a well-formed line: 501 (RFC 9110, 9.1). */
		R("get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
		R("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
		R("GETS / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
		R("GE / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
		R("X-Y.Z~ /a?b HTTP/1.0\r\n\r\n", 501),
		R("XYZZY / HTTP/1.1\r\n", 501),
		R("BREW / HTTP/1.1", 0),
		R("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
		R("BREW / HTTP/0.9\r\n\r\n", 505),
		/* Not a method, or no line around it: 400. */
		R("BR(EW / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
		R("BREW\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
		R("BREW / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400),
		R("BREW\r\n\r\n", 400),
		R("BREW /\x01 HTTP/1.1\r\n\r\n", 400),
		/* The line decides, not a fault after it. */
		R("BREW / HTTP/1.1\r\nX-A: \x01\r\n\r\n", 501),
		R("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
		R("GET / FTP/1.1\r\nHost: a\r\n\r\n", 400),
		R("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
		R("GET / HTTP/12.0\r\nHost: a\r\n\r\n", 400),
		R("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
		/* Versions. */
		R("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
		R("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
		R("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
		R("GET /\r\n\r\n", 400),
		R("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
		R("GET / XTTP/1.1\r\nHost: a\r\n\r\n", 400),
		R("GET / HTTP/1.0\r\n\r\n", 0),
		/* Host. */
		R("GET / HTTP/1.1\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost:\r\n\r\n", 0),
		R("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: [::1]:4000\r\n\r\n", 0),
		/* Folding, bare CR, header name syntax. */
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n c\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
		R("GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
		R("GET / HTTP/1.1\r\nHost: a\r\nX-\xc3\xa9: b\r\n\r\n", 400),
		/* Transfer codings. */
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
		R("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
		R("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: chunked, gzip\r\n\r\n", 501),
		R("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
		R("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
		R("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n"
		  "0\r\n\r\n", 0),
		R("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501),
		R("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 30\r\n"
		  "\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n", 501),
		/* Valid odd ones. */
		R("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
		R("DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0),
	};
#undef R
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = t[i].len;

		st = status_of(t[i].raw, len);
		if (st != t[i].status)
			fail_msg("case %zu: %d, want %d: %s", i, st, t[i].status,
			    t[i].raw);
		check_splits(t[i].raw, len);
	}
}

/*
 * A control byte anywhere in a head's line is the scanner's to refuse
 * (plain_run reads a line eight bytes a step): before, in and after its
 * words, a TAB let through.
 */
static void
test_head_control_bytes(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: bbbbbbbbbbbbb\x01" "bb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: bbbbbbbbbb\tbb\x7f" "bbbbbbbb"
		    "\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: bbbbbbbbbb\tbbbbbbbbbbbbb\x1f"
		    "\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		    "\x7f\r\n\r\n",
		"GET /aaaaaaaaaaaaaaaaaaaa\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	static const char good[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X-A: bbbbbbbbbb\tbbbbbbbbbb\t\tbb\xc3\xa9" "bbbbbbbbbb\r\n\r\n";
	struct http_in h;
	struct http_request *r;
	size_t i, c;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_in_init(&h);
		assert_int_equal(feed_str(&h, bad[i], &c), HTTP_IN_ERROR);
		assert_int_equal(http_in_status(&h), 400);
		assert_string_equal(http_in_detail(&h),
		    "control character in request head");
		http_in_free(&h);
	}
	http_in_init(&h);
	assert_int_equal(feed_str(&h, good, &c), HTTP_IN_REQUEST);
	r = http_in_take(&h);
	assert_string_equal(http_header(r, "x-a"), "bbbbbbbbbb\tbbbbbbbbbb\t\tbb"
	    "\xc3\xa9" "bbbbbbbbbb");
	http_request_free(r);
	http_in_free(&h);
}

static void
test_error_details(void **state)
{
	struct http_in h;
	size_t c;
	static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n";

	(void)state;
	http_in_init(&h);
	assert_int_equal(http_in_feed(&h, raw, sizeof(raw) - 1, &c),
	    HTTP_IN_ERROR);
	assert_int_equal(http_in_status(&h), 400);
	assert_string_equal(http_in_message(&h), "Bad request");
	assert_string_equal(http_in_detail(&h), "obsolete line folding");
	/* Sticky. */
	assert_int_equal(feed_str(&h, "GET", &c), HTTP_IN_ERROR);
	assert_int_equal(c, 0);
	assert_false(http_in_busy(&h));
	http_in_free(&h);

	http_in_init(&h);
	assert_int_equal(feed_str(&h, "GET / HTTP/3.0\r\n\r\n", &c),
	    HTTP_IN_ERROR);
	assert_int_equal(http_in_status(&h), 505);
	assert_string_equal(http_in_message(&h), "HTTP version not supported");
	http_in_free(&h);

	http_in_init(&h);
	assert_int_equal(feed_str(&h, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: br\r\n\r\n", &c), HTTP_IN_ERROR);
	assert_int_equal(http_in_status(&h), 501);
	assert_string_equal(http_in_message(&h), "Not implemented");
	http_in_free(&h);

	http_in_init(&h);
	assert_int_equal(feed_str(&h, "BAD\x01", &c), HTTP_IN_ERROR);
	assert_int_equal(http_in_status(&h), 400);
	assert_true(strlen(http_in_detail(&h)) > 0);
	http_in_free(&h);
}

static void
test_chunked_body(void **state)
{
	static const char raw[] = "POST /v1/chat/stream HTTP/1.1\r\n"
	    "Host: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nWiki\r\n"
	    "5;name=value\r\npedia\r\n"
	    "E\r\n in\r\n\r\nchunks.\r\n"
	    "0\r\n"
	    "Expires: never\r\n"
	    "\r\n"
	    "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_in h;
	struct http_request *r;
	size_t c, first;

	(void)state;
	first = strstr(raw, "GET /next") - raw;
	http_in_init(&h);
	assert_int_equal(http_in_feed(&h, raw, sizeof(raw) - 1, &c),
	    HTTP_IN_REQUEST);
	assert_int_equal(c, first);
	r = http_in_take(&h);
	assert_int_equal(r->body_len, 23);
	assert_memory_equal(r->body, "Wikipedia in\r\n\r\nchunks.", 24);
	/* Trailers are dropped. */
	assert_int_equal(r->nheaders, 2);
	assert_null(http_header(r, "expires"));
	http_request_free(r);
	assert_int_equal(http_in_feed(&h, raw + c, sizeof(raw) - 1 - c, &c),
	    HTTP_IN_REQUEST);
	r = http_in_take(&h);
	assert_string_equal(r->path, "/next");
	http_request_free(r);
	http_in_free(&h);
	check_splits(raw, sizeof(raw) - 1);
}

static void
test_busy(void **state)
{
	struct http_in h;
	struct http_request *r;
	size_t c;

	(void)state;
	http_in_init(&h);
	assert_false(http_in_busy(&h));
	assert_int_equal(feed_str(&h, "\r\n", &c), HTTP_IN_MORE);
	assert_int_equal(c, 2);
	assert_false(http_in_busy(&h));
	assert_int_equal(feed_str(&h, "", &c), HTTP_IN_MORE);
	assert_int_equal(c, 0);
	assert_int_equal(feed_str(&h, "P", &c), HTTP_IN_MORE);
	assert_true(http_in_busy(&h));
	assert_int_equal(feed_str(&h, "OST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 3\r\n\r\nab", &c), HTTP_IN_MORE);
	assert_int_equal(c, strlen("OST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 3\r\n\r\nab"));
	assert_true(http_in_busy(&h));
	assert_int_equal(feed_str(&h, "c", &c), HTTP_IN_REQUEST);
	assert_false(http_in_busy(&h));
	r = http_in_take(&h);
	assert_string_equal(r->body, "abc");
	http_request_free(r);
	/* A request left half-way is freed by http_in_free. */
	assert_int_equal(feed_str(&h, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 3\r\n\r\nab", &c), HTTP_IN_MORE);
	assert_true(http_in_busy(&h));
	http_in_free(&h);
}

static void
test_expect_continue(void **state)
{
	struct http_in h;
	struct http_request *r;
	size_t c;
	static const char head[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";

	(void)state;
	http_in_init(&h);
	assert_int_equal(http_in_continue(&h), 0);
	assert_int_equal(http_in_feed(&h, head, sizeof(head) - 1, &c),
	    HTTP_IN_MORE);
	assert_int_equal(http_in_continue(&h), 1);
	assert_int_equal(http_in_continue(&h), 0);
	assert_int_equal(feed_str(&h, "ok", &c), HTTP_IN_REQUEST);
	r = http_in_take(&h);
	assert_string_equal(r->body, "ok");
	http_request_free(r);
	/* No body: nothing to continue. */
	assert_int_equal(feed_str(&h, "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Expect: 100-continue\r\n\r\n", &c), HTTP_IN_REQUEST);
	assert_int_equal(http_in_continue(&h), 0);
	http_request_free(http_in_take(&h));
	http_in_free(&h);
}

static void
test_upgrade(void **state)
{
	static const char head[] = "GET /api/widget/w/ws?token=t HTTP/1.1\r\n"
	    "Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";
	char raw[256];
	struct http_in h;
	struct http_request *r;
	size_t c;

	(void)state;
	memcpy(raw, head, sizeof(head) - 1);
	memcpy(raw + sizeof(head) - 1, "\x81\x80xxxx", 6);
	http_in_init(&h);
	assert_int_equal(http_in_feed(&h, raw, sizeof(head) - 1 + 6, &c),
	    HTTP_IN_REQUEST);
	assert_int_equal(c, sizeof(head) - 1);
	r = http_in_take(&h);
	assert_true(r->upgrade);
	assert_true(r->keep_alive);
	assert_string_equal(r->query, "token=t");
	http_request_free(r);
	http_in_free(&h);
}

/* ------------------------------------------------------------ responses */

static void
test_buf(void **state)
{
	struct buf b;
	char big[3000];
	size_t i;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_pending(&b), 0);
	buf_adds(&b, "hello ");
	buf_addf(&b, "%s %d", "world", 42);
	assert_int_equal(buf_pending(&b), 14);
	assert_memory_equal(b.data + b.off, "hello world 42", 14);
	buf_consume(&b, 6);
	assert_int_equal(buf_pending(&b), 8);
	assert_memory_equal(b.data + b.off, "world 42", 8);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_addf(&b, "%s|", big);
	assert_int_equal(buf_pending(&b), 8 + sizeof(big));
	assert_memory_equal(b.data + b.off, "world 42xx", 10);
	assert_int_equal(b.data[b.off + buf_pending(&b) - 1], '|');
	buf_consume(&b, 100000);
	assert_int_equal(buf_pending(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	for (i = 0; i < 10000; i++)
		buf_add(&b, "0123456789", 10);
	assert_int_equal(buf_pending(&b), 100000);
	buf_add(&b, NULL, 0);
	buf_adds(&b, NULL);
	assert_false(b.err);
	buf_free(&b);
	assert_null(b.data);
}

/* buf_release frees an empty buffer only; the next add allocates again. */
static void
test_buf_release(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_release(&b);
	assert_null(b.data);
	buf_adds(&b, "0123456789");
	buf_release(&b);		/* bytes pending: kept */
	assert_non_null(b.data);
	assert_int_equal(buf_pending(&b), 10);
	buf_consume(&b, 4);
	buf_release(&b);
	assert_non_null(b.data);
	assert_memory_equal(b.data + b.off, "456789", 6);
	buf_consume(&b, 6);
	buf_release(&b);		/* all written: memory returned */
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_pending(&b), 0);
	buf_adds(&b, "again");
	assert_int_equal(buf_pending(&b), 5);
	assert_memory_equal(b.data + b.off, "again", 5);
	buf_free(&b);
}

/*
 * The memory a parsed request keeps, which an open stream holds for its
 * life: a body of declared length gets exactly its size, a chunked one
 * starts small and grows whole; the header array grows with the headers;
 * the parser's scratch is given back at each request's end; a request
 * slimmed once read keeps only its line, its X-Forwarded-For and Origin.
 */
static void
test_request_memory(void **state)
{
	struct http_in h;
	struct http_request *r;
	struct buf b;
	size_t used, i;
	char *big;

	(void)state;
	http_in_init(&h);
	buf_init(&b);
	buf_adds(&b, "POST /v1/chat/stream HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 300\r\n\r\n");
	for (i = 0; i < 300; i++)
		buf_add(&b, "m", 1);
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	assert_int_equal(h.body_cap, 301);
	assert_null(h.name.p);
	assert_null(h.value.p);
	r = http_in_take(&h);
	assert_int_equal(r->body_len, 300);
	assert_int_equal(r->nheaders, 2);
	assert_int_equal(r->headers_cap, 8);
	assert_ptr_equal(r->headers, r->hfirst);	/* in the request */
	assert_string_equal(r->headers[1].name, "content-length");
	/* Names and values in one allocation, one after another. */
	assert_ptr_equal(r->headers[0].name, r->hbytes);
	assert_ptr_equal(r->headers[1].name, r->headers[0].value + 2);
	assert_int_equal(r->hbytes_len, sizeof("host\0a\0content-length\0"
	    "300") );
	/* Its path and query in one allocation, the query after the path. */
	assert_string_equal(r->path, "/v1/chat/stream");
	assert_ptr_equal(r->query, r->path + strlen(r->path) + 1);
	assert_string_equal(r->query, "");
	http_request_free(r);
	buf_free(&b);

	/* 40 headers and a 100 KiB chunked body in 1000-byte chunks. */
	big = malloc(1000);
	assert_non_null(big);
	memset(big, 'z', 1000);
	buf_init(&b);
	buf_adds(&b, "POST /x HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 39; i++)
		buf_addf(&b, "X-%zu: v%zu\r\n", i, i);
	buf_adds(&b, "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 100; i++) {
		buf_adds(&b, "3e8\r\n");
		buf_add(&b, big, 1000);
		buf_adds(&b, "\r\n");
	}
	buf_adds(&b, "0\r\n\r\n");
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	assert_true(h.body_cap >= 100001 && h.body_cap <= 2 * 100001);
	r = http_in_take(&h);
	assert_int_equal(r->nheaders, 41);
	assert_int_equal(r->headers_cap, 64);
	assert_ptr_not_equal(r->headers, r->hfirst);
	assert_string_equal(r->headers[39].name, "x-38");
	assert_string_equal(r->headers[39].value, "v38");
	/* Moved as it grew: every header where its bytes are now. */
	assert_string_equal(r->headers[0].name, "host");
	assert_string_equal(r->headers[0].value, "a");
	assert_string_equal(r->headers[40].name, "transfer-encoding");
	assert_ptr_equal(r->headers[0].name, r->hbytes);
	assert_ptr_equal(r->headers[40].value + sizeof("chunked"),
	    r->hbytes + r->hbytes_len);
	assert_int_equal(r->body_len, 100000);
	for (i = 0; i < 100000; i++)
		if (r->body[i] != 'z')
			break;
	assert_int_equal(i, 100000);
	http_request_free(r);
	buf_free(&b);

	/* Slimmed once read: the line stays, headers and body go. */
	buf_init(&b);
	buf_adds(&b, "POST /v1/chat/stream?x=1 HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	r = http_in_take(&h);
	http_request_slim(r);
	assert_null(r->headers);
	assert_int_equal(r->nheaders, 0);
	assert_null(http_header(r, "host"));
	assert_null(r->body);
	assert_int_equal(r->body_len, 0);
	assert_string_equal(r->method_name, "POST");
	assert_string_equal(r->path, "/v1/chat/stream");
	assert_string_equal(r->query, "x=1");
	assert_int_equal(r->http_minor, 1);
	http_request_free(r);
	buf_free(&b);

	/*
	 * What the connection still reads stays: X-Forwarded-For (each
	 * line, in order: the access log's client) and Origin (a refusal's
	 * note), in one allocation of their size; past the request's own 8,
	 * in an array of their count.
	 */
	buf_init(&b);
	buf_adds(&b, "POST /v1/chat HTTP/1.1\r\nHost: a\r\n"
	    "X-Forwarded-For: 192.0.2.1\r\nOrigin: https://a.example\r\n"
	    "X-Api-Key: k\r\nX-Forwarded-For: 198.51.100.2\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	r = http_in_take(&h);
	http_request_slim(r);
	assert_int_equal(r->nheaders, 3);
	assert_ptr_equal(r->headers, r->hfirst);
	assert_string_equal(r->headers[0].value, "192.0.2.1");
	assert_string_equal(http_header(r, "origin"), "https://a.example");
	assert_string_equal(r->headers[2].name, "x-forwarded-for");
	assert_string_equal(r->headers[2].value, "198.51.100.2");
	assert_null(http_header(r, "host"));
	assert_null(http_header(r, "x-api-key"));
	assert_int_equal(r->hbytes_len, sizeof("x-forwarded-for") +
	    sizeof("192.0.2.1") + sizeof("origin") +
	    sizeof("https://a.example") + sizeof("x-forwarded-for") +
	    sizeof("198.51.100.2"));
	assert_null(r->body);
	http_request_free(r);
	buf_free(&b);
	buf_init(&b);
	buf_adds(&b, "GET /v1/admin/events HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 10; i++)
		buf_adds(&b, "X-Forwarded-For: 192.0.2.9\r\nX-A: b\r\n");
	buf_adds(&b, "\r\n");
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	r = http_in_take(&h);
	http_request_slim(r);
	assert_int_equal(r->nheaders, 10);
	assert_ptr_not_equal(r->headers, r->hfirst);
	for (i = 0; i < 10; i++)
		assert_string_equal(r->headers[i].value, "192.0.2.9");
	http_request_free(r);
	buf_free(&b);

	/* A small chunked body starts at 1 KiB. */
	buf_init(&b);
	buf_adds(&b, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
	assert_int_equal(http_in_feed(&h, b.data, b.len, &used),
	    HTTP_IN_REQUEST);
	assert_int_equal(h.body_cap, 1024);
	r = http_in_take(&h);
	assert_int_equal(r->body_len, 5);
	assert_string_equal(r->body, "hello");
	http_request_free(r);
	buf_free(&b);
	free(big);
	http_in_free(&h);
}

/* The response in b with its Date value replaced by "DATE". */
static char *
undated(const struct buf *b)
{
	char *s, *d, *e;

	s = strndup(b->data + b->off, buf_pending(b));
	assert_non_null(s);
	d = strstr(s, "\r\nDate: ");
	assert_non_null(d);
	d += 8;
	e = strstr(d, "\r\n");
	assert_non_null(e);
	assert_int_equal(e - d, 29);
	assert_memory_equal(e - 4, " GMT", 4);
	memcpy(d, "DATE", 4);
	memmove(d + 4, e, strlen(e) + 1);
	return s;
}

static void
test_resp_simple(void **state)
{
	struct buf b;
	char *s;
	char date[64], date2[64];
	struct resp_opts o = { 1, NULL, NULL, 0 };
	int tries;

	(void)state;
	resp_set_production(0);
	/* Exact bytes, Date included. */
	for (tries = 0; tries < 5; tries++) {
		resp_http_date(time(NULL), date, sizeof(date));
		buf_init(&b);
		resp_send(&b, 200, &o, "{\"status\":\"ok\"}", 15);
		resp_http_date(time(NULL), date2, sizeof(date2));
		if (strcmp(date, date2) == 0)
			break;
		buf_free(&b);
	}
	s = strndup(b.data, b.len);
	{
		char want[1024];

		snprintf(want, sizeof(want),
		    "HTTP/1.1 200 OK\r\n"
		    "Date: %s\r\n"
		    "Content-Type: application/json; charset=utf-8\r\n"
		    "Content-Length: 15\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "X-Frame-Options: DENY\r\n"
		    "Referrer-Policy: no-referrer\r\n"
		    "Permissions-Policy: camera=(), microphone=(), "
		    "geolocation=()\r\n"
		    "\r\n"
		    "{\"status\":\"ok\"}", date);
		assert_string_equal(s, want);
	}
	free(s);
	buf_free(&b);

	/* Production: HSTS; not keep-alive: Connection: close; extra headers. */
	resp_set_production(1);
	assert_true(resp_production());
	o.keep_alive = 0;
	o.extra_headers = "Cache-Control: no-store\r\nX-A: b";
	o.content_type = "text/plain";
	buf_init(&b);
	resp_send(&b, 404, &o, "nope", 4);
	s = undated(&b);
	assert_string_equal(s,
	    "HTTP/1.1 404 Not Found\r\n"
	    "Date: DATE\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 4\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n"
	    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
	    "Connection: close\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-A: b\r\n"
	    "\r\n"
	    "nope");
	free(s);
	buf_free(&b);
	resp_set_production(0);
	assert_false(resp_production());

	/* 204 and 304: no body, no Content-Length. */
	buf_init(&b);
	resp_send(&b, 204, NULL, "ignored", 7);
	s = undated(&b);
	assert_string_equal(s,
	    "HTTP/1.1 204 No Content\r\n"
	    "Date: DATE\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n"
	    "\r\n");
	free(s);
	buf_free(&b);
	buf_init(&b);
	resp_send(&b, 304, NULL, NULL, 0);
	s = undated(&b);
	assert_null(strstr(s, "Content-Length"));
	assert_non_null(strstr(s, "HTTP/1.1 304 Not Modified\r\n"));
	assert_int_equal(strcmp(s + strlen(s) - 4, "\r\n\r\n"), 0);
	free(s);
	buf_free(&b);

	/* HEAD: Content-Length of the body, no body. */
	o = (struct resp_opts){ 1, "", NULL, 1 };
	buf_init(&b);
	resp_send(&b, 200, &o, "12345", 5);
	s = undated(&b);
	assert_non_null(strstr(s, "Content-Length: 5\r\n"));
	assert_null(strstr(s, "\r\nContent-Type"));
	assert_int_equal(strcmp(s + strlen(s) - 4, "\r\n\r\n"), 0);
	free(s);
	buf_free(&b);
}

static void
test_resp_error(void **state)
{
	struct buf b;
	char *s, *body;

	(void)state;
	buf_init(&b);
	resp_error(&b, 400, NULL, "say \"hi\"\nnow\t\x01 \\ / \xc3\xa9");
	s = undated(&b);
	body = strstr(s, "\r\n\r\n") + 4;
	assert_string_equal(body,
	    "{\"error\":\"say \\\"hi\\\"\\nnow\\t\\u0001 \\\\ / \xc3\xa9\"}");
	assert_non_null(strstr(s, "HTTP/1.1 400 Bad Request\r\n"));
	{
		char cl[64];

		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
		assert_non_null(strstr(s, cl));
	}
	free(s);
	buf_free(&b);

	/* Invalid UTF-8 still gives valid JSON. */
	buf_init(&b);
	resp_error(&b, 500, NULL, "bad \xff byte");
	s = undated(&b);
	body = strstr(s, "\r\n\r\n") + 4;
	assert_string_equal(body, "{\"error\":\"bad ? byte\"}");
	free(s);
	buf_free(&b);

	/* NULL message: the reason phrase. */
	buf_init(&b);
	resp_error(&b, 429, NULL, NULL);
	s = undated(&b);
	body = strstr(s, "\r\n\r\n") + 4;
	assert_string_equal(body, "{\"error\":\"Too Many Requests\"}");
	free(s);
	buf_free(&b);
}

static void
test_resp_chunked(void **state)
{
	struct buf b;
	char *s;
	struct resp_opts o = { 1, "application/x-ndjson; charset=utf-8",
	    "Cache-Control: no-store, no-transform\r\nX-Accel-Buffering: no\r\n",
	    0 };
	char big[300];

	(void)state;
	buf_init(&b);
	resp_chunked_start(&b, 200, &o);
	resp_chunk(&b, "{\"type\":\"start\"}\n", 17);
	resp_chunk(&b, "", 0);
	resp_chunk(&b, NULL, 0);
	memset(big, 'z', sizeof(big));
	resp_chunk(&b, big, sizeof(big));
	resp_chunked_end(&b);
	s = undated(&b);
	{
		char want[2048];
		int n;

		n = snprintf(want, sizeof(want),
		    "HTTP/1.1 200 OK\r\n"
		    "Date: DATE\r\n"
		    "Content-Type: application/x-ndjson; charset=utf-8\r\n"
		    "Transfer-Encoding: chunked\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "X-Frame-Options: DENY\r\n"
		    "Referrer-Policy: no-referrer\r\n"
		    "Permissions-Policy: camera=(), microphone=(), "
		    "geolocation=()\r\n"
		    "Cache-Control: no-store, no-transform\r\n"
		    "X-Accel-Buffering: no\r\n"
		    "\r\n"
		    "11\r\n{\"type\":\"start\"}\n\r\n"
		    "12c\r\n%.300s\r\n"
		    "0\r\n\r\n", big);
		assert_true(n > 0);
		assert_string_equal(s, want);
	}
	assert_null(strstr(s, "Content-Length"));
	free(s);
	buf_free(&b);
}

static void
test_resp_reason_date(void **state)
{
	static const int codes[] = { 200, 201, 204, 301, 302, 304, 400, 401,
	    403, 404, 405, 408, 409, 413, 414, 415, 429, 431, 500, 501, 502,
	    503, 504, 505 };
	char d[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *r = resp_reason(codes[i]);

		assert_non_null(r);
		assert_true(strlen(r) > 1);
		assert_string_not_equal(r, "Client Error");
		assert_string_not_equal(r, "Server Error");
		assert_string_not_equal(r, "Success");
		assert_string_not_equal(r, "Redirection");
	}
	assert_string_equal(resp_reason(418), "Client Error");
	assert_string_equal(resp_reason(599), "Server Error");
	resp_http_date((time_t)784111777, d, sizeof(d));
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	resp_http_date((time_t)0, d, sizeof(d));
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	resp_http_date((time_t)1709251199, d, sizeof(d));
	assert_string_equal(d, "Thu, 29 Feb 2024 23:59:59 GMT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_every_boundary),
		cmocka_unit_test(test_split_results),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_header_names_values),
		cmocka_unit_test(test_query_param),
		cmocka_unit_test(test_limit_header_bytes),
		cmocka_unit_test(test_limit_header_count),
		cmocka_unit_test(test_limit_url),
		cmocka_unit_test(test_limit_body),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_head_control_bytes),
		cmocka_unit_test(test_error_details),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_buf_release),
		cmocka_unit_test(test_request_memory),
		cmocka_unit_test(test_resp_simple),
		cmocka_unit_test(test_resp_error),
		cmocka_unit_test(test_resp_chunked),
		cmocka_unit_test(test_resp_reason_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
