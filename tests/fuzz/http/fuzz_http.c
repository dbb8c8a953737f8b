/*
 * libFuzzer target for the HTTP request reader. The first byte says where
 * to split the rest into two reads; the reads go through http_in the way a
 * connection feeds them, every request is taken, looked at and freed, and
 * its query string is searched. The same bytes fed in one piece must give
 * exactly the same requests and outcome (checked, abort() otherwise).
 * Error messages also go through resp_error's JSON escaping. An admit
 * (conn.c's part) gives each request a body limit from its path, and
 * refuses some: the body never passes the limit it was given. Each
 * request is also asked whether it is a WebSocket upgrade
 * (ws_check_upgrade): taken only as a GET of HTTP/1.1 with version 13 and
 * a key of 24 base64 characters, else refused with a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "resp.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_http: %s\n", what);
		abort();
	}
}

static size_t admitted_max;	/* the limit the last admit gave */

/* By the path: "/s..." 64 bytes, "/busy" 429, "/full" 503, "/big" 413. */
static int
admit(void *arg, const struct http_request *r, size_t clen, int chunked,
    size_t *max)
{
	check(r->path != NULL, "admit before the path");
	*max = strncmp(r->path, "/s", 2) == 0 ? 64 : HTTP_MAX_BODY;
	admitted_max = *max;
	if (strcmp(r->path, "/busy") == 0)
		return 429;
	if (strcmp(r->path, "/full") == 0)
		return 503;
	if (strcmp(r->path, "/big") == 0 && (clen > 0 || chunked))
		return 413;
	return 0;
}

/* The upgrade check: 0 taken (and what it takes is there), else a reason. */
static int
upgrade_is(const struct http_request *r)
{
	const char *why, *key;
	int st = ws_check_upgrade(r, &why);

	check(st == 0 || st == 400 || st == 426, "upgrade status");
	check((st == 0) == (why == NULL), "upgrade reason");
	if (st != 0)
		return st;
	key = http_header(r, "sec-websocket-key");
	check(r->method == HTTP_GET && r->http_minor == 1 && key != NULL &&
	    strlen(key) == 24, "upgrade taken without its parts");
	check(strcmp(http_header(r, "sec-websocket-version"), "13") == 0,
	    "upgrade version");
	return 0;
}

static void
look_at(const struct http_request *r, struct buf *d)
{
	static const char *names[] = { "limit", "token", "", "a b", "x" };
	char small[4], big[256];
	size_t i;
	int n, k;

	check(r->url != NULL && r->path != NULL && r->query != NULL,
	    "missing url/path/query");
	check(r->body != NULL && r->body[r->body_len] == '\0',
	    "body not NUL-terminated");
	check(r->body_len <= HTTP_MAX_BODY, "body over the limit");
	check(r->body_len <= admitted_max, "body over the admitted limit");
	check(strlen(r->url) <= HTTP_MAX_URL, "url over the limit");
	check(r->nheaders >= 0 && r->nheaders <= HTTP_MAX_HEADERS,
	    "header count");
	check(r->http_major == 1 && r->http_minor <= 1, "version");
	check(r->method_name != NULL, "method name");
	for (n = 0; n < r->nheaders; n++) {
		const char *p;

		for (p = r->headers[n].name; *p; p++)
			check(!(*p >= 'A' && *p <= 'Z'), "name not lower-case");
		check(http_header(r, r->headers[n].name) != NULL, "lookup");
	}
	(void)http_header(r, "host");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = http_query_param(r->query, names[i], big, sizeof(big));
		check(n >= -2 && n <= 1, "query result");
		if (n == 1)
			check(strlen(big) < sizeof(big), "query overflow");
		/*
		 * Presence agrees, and given twice is told whatever the
		 * buffer (a value too long for big is still present).
		 */
		k = http_query_param(r->query, names[i], NULL, 0);
		check(n == -1 ? k == -1 || k == 1 : k == n, "presence");
		(void)http_query_param(r->query, names[i], small, sizeof(small));
		if (n == -2)
			check(http_query_param(r->query, names[i], small,
			    sizeof(small)) == -2, "twice, small buffer");
	}
	buf_addf(d, "[%s %s %s %s %u.%u %d %d %d", r->method_name, r->url,
	    r->path, r->query, r->http_major, r->http_minor, r->keep_alive,
	    r->upgrade, r->nheaders);
	for (n = 0; n < r->nheaders; n++)
		buf_addf(d, "<%s>=<%s>", r->headers[n].name, r->headers[n].value);
	buf_addf(d, " %zu:", r->body_len);
	buf_add(d, r->body, r->body_len);
	buf_addf(d, " ws %d]", upgrade_is(r));
}

/* Feeds the pieces as a connection would; describes the outcome into d. */
static void
run(const char *const *piece, const size_t *len, int npieces, struct buf *d)
{
	struct http_in h;
	struct http_request *r;
	enum http_in_result res;
	size_t off, c;
	int i, st;

	http_in_init(&h);
	h.admit = admit;
	admitted_max = HTTP_MAX_BODY;
	for (i = 0; i < npieces; i++) {
		off = 0;
		while (off < len[i]) {
			res = http_in_feed(&h, piece[i] + off, len[i] - off, &c);
			check(c <= len[i] - off, "consumed too much");
			off += c;
			(void)http_in_continue(&h);
			if (res == HTTP_IN_REQUEST) {
				check(!http_in_busy(&h), "busy with a request ready");
				r = http_in_take(&h);
				check(r != NULL, "no request to take");
				look_at(r, d);
				http_request_free(r);
				continue;
			}
			if (res == HTTP_IN_ERROR) {
				st = http_in_status(&h);
				check(st == 400 || st == 413 || st == 414 ||
				    st == 429 || st == 431 || st == 501 ||
				    st == 503 || st == 505 || st == 500,
				    "unexpected status");
				check(http_in_message(&h) != NULL &&
				    http_in_detail(&h) != NULL, "no message");
				buf_addf(d, "ERROR %d %s", st, http_in_message(&h));
				goto out;
			}
			check(res == HTTP_IN_MORE && off == len[i],
			    "MORE before the end of input");
		}
	}
	buf_addf(d, "MORE %d", http_in_busy(&h));
out:
	http_in_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf one, two, out;
	const char *p[2];
	size_t l[2], split;
	char *msg;

	if (size == 0)
		return 0;
	split = (size_t)data[0] * (size - 1) / 255;
	data++;
	size--;

	p[0] = (const char *)data;
	l[0] = split;
	p[1] = (const char *)data + split;
	l[1] = size - split;
	buf_init(&two);
	run(p, l, 2, &two);

	buf_init(&one);
	run(p, &size, 1, &one);
	check(!one.err && !two.err, "buf error");
	check(one.len == two.len &&
	    (one.len == 0 || memcmp(one.data, two.data, one.len) == 0),
	    "split changed the result");
	buf_free(&one);
	buf_free(&two);

	/* The raw bytes as a query string and as an error message. */
	if ((msg = malloc(size + 1)) != NULL) {
		char b[64];

		memcpy(msg, data, size);
		msg[size] = '\0';
		(void)http_query_param(msg, "a", b, sizeof(b));
		(void)http_query_param(msg, "", b, sizeof(b));
		if (size <= 512) {
			buf_init(&out);
			resp_error(&out, 400, NULL, msg);
			check(out.err || buf_pending(&out) > 0, "no response");
			buf_free(&out);
		}
		free(msg);
	}
	return 0;
}
