/*
 * Per-client caps (clientcap.c): counts by IPv4 address and IPv6 /64,
 * the cap, entries freed at 0, many clients (the table grows and
 * shrinks), trusted proxies not counted for connections, WebSockets by
 * the client X-Forwarded-For names behind a trusted proxy; request body
 * bytes against the client's and the worker's budgets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workerd.h"

static struct ipaddr
ip(const char *s)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') != NULL ? 6 : 4;
	assert_int_equal(inet_pton(a.family == 4 ? AF_INET : AF_INET6, s,
	    a.a), 1);
	return a;
}

static void
test_cap(void **state)
{
	struct clientcap *h[4], *x;
	struct ipaddr a = ip("192.0.2.1"), b = ip("192.0.2.2");
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 3, &h[i]),
		    0);
		assert_non_null(h[i]);
	}
	assert_int_equal(clientcap_count(CLIENTCAP_CONN, &a), 3);
	/* At the cap: refused, not counted. */
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 3, &x), 1);
	assert_null(x);
	assert_int_equal(clientcap_count(CLIENTCAP_CONN, &a), 3);
	/* Another address, and the other kind, are counted apart. */
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &b, 3, &h[3]), 0);
	assert_int_equal(clientcap_take(CLIENTCAP_WS, &a, 3, &x), 0);
	assert_int_equal(clientcap_count(CLIENTCAP_WS, &a), 1);
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), 2);
	clientcap_put(x);
	assert_int_equal(clientcap_clients(CLIENTCAP_WS), 0);
	/* One given back makes room for one. */
	clientcap_put(h[0]);
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 3, &h[0]), 0);
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 3, &x), 1);
	for (i = 0; i < 4; i++)
		clientcap_put(h[i]);
	assert_int_equal(clientcap_count(CLIENTCAP_CONN, &a), 0);
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), 0);
	/* No cap: nothing counted. */
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 0, &x), 0);
	assert_null(x);
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), 0);
	clientcap_put(NULL);
}

/* An IPv6 /64 is one client, whatever its last 64 bits. */
static void
test_v6_prefix(void **state)
{
	struct clientcap *h[2], *x;
	struct ipaddr a = ip("2001:db8:1:2::1"), b = ip("2001:db8:1:2:ffff::9");
	struct ipaddr c = ip("2001:db8:1:3::1");

	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 2, &h[0]), 0);
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &b, 2, &h[1]), 0);
	assert_ptr_equal(h[0], h[1]);
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &b, 2, &x), 1);
	assert_int_equal(clientcap_take(CLIENTCAP_CONN, &c, 2, &x), 0);
	assert_int_equal(clientcap_count(CLIENTCAP_CONN, &a), 2);
	clientcap_put(x);
	clientcap_put(h[0]);
	clientcap_put(h[1]);
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), 0);
}

static struct ipaddr
nth(int i)
{
	struct ipaddr a = ip("10.0.0.0");

	a.a[1] = (uint8_t)(i >> 16);
	a.a[2] = (uint8_t)(i >> 8);
	a.a[3] = (uint8_t)i;
	return a;
}

/* 20,000 clients: every one counted alone, every entry freed. */
static void
test_many(void **state)
{
	enum { N = 20000 };
	struct clientcap **h = calloc(N, sizeof(*h)), *x;
	struct ipaddr a;
	int i;

	assert_non_null(h);
	for (i = 0; i < N; i++) {
		a = nth(i);
		assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 1, &h[i]),
		    0);
		assert_non_null(h[i]);
		assert_int_equal(clientcap_take(CLIENTCAP_CONN, &a, 1, &x), 1);
	}
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), N);
	for (i = 0; i < N; i += 2)
		clientcap_put(h[i]);
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), N / 2);
	for (i = 1; i < N; i += 2) {
		a = nth(i);
		assert_int_equal(clientcap_count(CLIENTCAP_CONN, &a), 1);
		clientcap_put(h[i]);
	}
	assert_int_equal(clientcap_clients(CLIENTCAP_CONN), 0);
	free(h);
}

/* The settings' caps; a trusted proxy's connections are not capped. */
static void
test_settings(void **state)
{
	struct ipnet lo;
	struct clientcap *h, *x;
	struct ipaddr p = ip("127.0.0.9"), q = ip("127.0.0.10"), u;
	struct http_request req;
	struct http_header hs[4];
	struct conn c;

	memset(&lo, 0, sizeof(lo));
	lo.addr = p;
	lo.prefix = 32;
	wsettings.max_conns_per_client = 1;
	wsettings.max_ws_per_client = 1;
	assert_int_equal(clientcap_conn_take(&q, &h), 0);
	assert_int_equal(clientcap_conn_take(&q, &x), 1);
	clientcap_put(h);
	wsettings.trust = &lo;
	wsettings.ntrust = 1;
	assert_int_equal(clientcap_conn_take(&p, &h), 0);
	assert_null(h);
	assert_int_equal(clientcap_conn_take(&p, &x), 0);
	assert_null(x);
	/* A peer on a Unix socket is the local proxy: not capped either. */
	wsettings.trust = NULL;
	wsettings.ntrust = 0;
	memset(&u, 0, sizeof(u));
	assert_int_equal(clientcap_conn_take(&u, &h), 0);
	assert_null(h);
	assert_int_equal(clientcap_conn_take(&u, &x), 0);
	assert_null(x);
	wsettings.trust = &lo;
	wsettings.ntrust = 1;

	/* WebSockets: by the client a trusted proxy names. */
	memset(&c, 0, sizeof(c));
	memset(&req, 0, sizeof(req));
	req.headers = hs;
	c.peer = p;
	req.headers[0].name = "x-forwarded-for";
	req.headers[0].value = "198.51.100.7";
	req.nheaders = 1;
	assert_int_equal(clientcap_ws_take(&c, &req, &h), 0);
	assert_non_null(h);
	assert_int_equal(clientcap_ws_take(&c, &req, &x), 1);
	req.headers[0].value = "198.51.100.8";
	assert_int_equal(clientcap_ws_take(&c, &req, &x), 0);
	clientcap_put(x);
	clientcap_put(h);
	/* From a peer that is not trusted the header is the client's own. */
	c.peer = q;
	assert_int_equal(clientcap_ws_take(&c, &req, &h), 0);
	req.headers[0].value = "198.51.100.9";
	assert_int_equal(clientcap_ws_take(&c, &req, &x), 1);
	clientcap_put(h);
	assert_int_equal(clientcap_clients(CLIENTCAP_WS), 0);
	memset(&wsettings, 0, sizeof(wsettings));
}

/* Body bytes: per client (429), in all (503), given back in full. */
static void
test_bodies(void **state)
{
	struct clientcap_body a, b, c2, d, e;
	struct http_request req;
	struct conn c;

	memset(&c, 0, sizeof(c));
	memset(&req, 0, sizeof(req));
	wsettings.body_kb_per_client = 256;
	wsettings.body_mb = 1;
	c.peer = ip("192.0.2.1");
	assert_int_equal(clientcap_body_take(&c, &req, 200 * 1024, &a), 0);
	assert_int_equal(clientcap_body_take(&c, &req, 56 * 1024, &b), 0);
	/* The client's 256 KiB are spent: one byte more is refused. */
	assert_int_equal(clientcap_body_take(&c, &req, 1, &d), 429);
	assert_int_equal(d.bytes, 0);
	assert_int_equal(clientcap_body_take(&c, &req, 257 * 1024, &d), 429);
	/* Another client (the same /64 is the same client in IPv6). */
	c.peer = ip("192.0.2.2");
	assert_int_equal(clientcap_body_take(&c, &req, 256 * 1024, &c2), 0);
	assert_int_equal(clientcap_body_total(), 512 * 1024);
	/* The worker's 1 MiB: 768 KiB taken, one body more than the rest. */
	c.peer = ip("192.0.2.3");
	assert_int_equal(clientcap_body_take(&c, &req, 256 * 1024, &d), 0);
	c.peer = ip("192.0.2.4");
	assert_int_equal(clientcap_body_take(&c, &req, 256 * 1024 + 1, &e),
	    503);
	assert_int_equal(e.bytes, 0);
	clientcap_body_put(&d);
	clientcap_body_put(&a);
	clientcap_body_put(&a);		/* a second put is a no-op */
	clientcap_body_put(&b);
	clientcap_body_put(&c2);
	assert_int_equal(clientcap_body_total(), 0);
	assert_int_equal(clientcap_clients(CLIENTCAP_BODY), 0);
	/* No budget set: nothing refused, nothing counted per client. */
	memset(&wsettings, 0, sizeof(wsettings));
	assert_int_equal(clientcap_body_take(&c, &req, 2 * 1024 * 1024, &a),
	    0);
	assert_int_equal(clientcap_clients(CLIENTCAP_BODY), 0);
	clientcap_body_put(&a);
	assert_int_equal(clientcap_body_total(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_v6_prefix),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
