/*
 * The client's address: socket peers (v4, v6, v4-mapped), and
 * X-Forwarded-For only behind a trusted proxy, walked from the right.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "workerd.h"

static struct ipnet trust[8];
static size_t ntrust;

static void
set_trust(const char *list)
{
	char *copy = strdup(list), *p = copy, *tok;

	ntrust = 0;
	while ((tok = strsep(&p, ",")) != NULL)
		if (*tok != '\0')
			assert_int_equal(ipnet_parse(tok, strlen(tok),
			    &trust[ntrust++]), 0);
	free(copy);
}

static const char *
walk(const char *peer, const char *xff)
{
	static char out[64];
	struct ipaddr p, a;

	assert_int_equal(ipaddr_parse(peer, strlen(peer), &p), 0);
	clientip_xff(&p, xff, trust, ntrust, &a);
	ipaddr_format(&a, out, sizeof(out));
	return out;
}

static void
test_peer_of_socket(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct ipaddr a;
	char buf[64];
	int l, c, s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	assert_true((c = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((s = accept(l, NULL, NULL)) >= 0);
	clientip_peer(s, &a);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1");
	close(s);
	close(c);
	close(l);
	clientip_peer(-1, &a);
	assert_int_equal(a.family, 0);
}

static void
test_untrusted_peer_ignores_xff(void **state)
{
	set_trust("");
	assert_string_equal(walk("203.0.113.5", "1.1.1.1"), "203.0.113.5");
	set_trust("10.0.0.0/8");
	/* A client sending the header itself cannot pick its address. */
	assert_string_equal(walk("203.0.113.5", "1.1.1.1"), "203.0.113.5");
	assert_string_equal(walk("203.0.113.5", "10.0.0.1"), "203.0.113.5");
	assert_string_equal(walk("2001:db8::5", "1.1.1.1"), "2001:db8::5");
}

static void
test_trusted_walk(void **state)
{
	set_trust("127.0.0.0/8,::1/128,10.0.0.0/8");

	/* One proxy: the entry it added. */
	assert_string_equal(walk("127.0.0.1", "198.51.100.7"), "198.51.100.7");
	/* A spoofed left part is skipped: the rightmost untrusted wins. */
	assert_string_equal(walk("127.0.0.1", "6.6.6.6, 198.51.100.7"),
	    "198.51.100.7");
	/* Trusted hops on the right are skipped. */
	assert_string_equal(walk("127.0.0.1",
	    "6.6.6.6,198.51.100.7, 10.1.1.1 ,10.2.2.2"), "198.51.100.7");
	/* All trusted: the leftmost. */
	assert_string_equal(walk("::1", "10.0.0.3, 10.0.0.4"), "10.0.0.3");
	/* IPv6 and v4-mapped entries. */
	assert_string_equal(walk("::1", "2001:db8::9"), "2001:db8::9");
	assert_string_equal(walk("::1", "[2001:db8::9]"), "2001:db8::9");
	assert_string_equal(walk("127.0.0.1", "::ffff:198.51.100.8"),
	    "198.51.100.8");
	assert_string_equal(walk("::ffff:127.0.0.1", "198.51.100.8"),
	    "198.51.100.8");
	/* No header, empty header: the peer. */
	assert_string_equal(walk("127.0.0.1", ""), "127.0.0.1");
	{
		struct ipaddr p, a;
		char buf[64];

		ipaddr_parse("127.0.0.1", 9, &p);
		assert_int_equal(clientip_xff(&p, NULL, trust, ntrust, &a), 0);
		ipaddr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, "127.0.0.1");
	}
}

static void
test_malformed_falls_back(void **state)
{
	set_trust("127.0.0.0/8,10.0.0.0/8");

	assert_string_equal(walk("127.0.0.1", "garbage"), "127.0.0.1");
	assert_string_equal(walk("127.0.0.1", "1.2.3.4:5678"), "127.0.0.1");
	assert_string_equal(walk("127.0.0.1", "1.2.3.4,"), "1.2.3.4");
	assert_string_equal(walk("127.0.0.1", "1.2.3.4,,10.0.0.1"),
	    "127.0.0.1");
	assert_string_equal(walk("127.0.0.1", "unknown, 10.0.0.1"),
	    "127.0.0.1");
	/* Garbage left of the client is never reached. */
	assert_string_equal(walk("127.0.0.1", "garbage, 198.51.100.7"),
	    "198.51.100.7");
}

static void
test_long_chain(void **state)
{
	char *xff;
	size_t i, off = 0;

	set_trust("127.0.0.0/8,10.0.0.0/8");
	xff = malloc(200 * 16);
	assert_non_null(xff);
	for (i = 0; i < 199; i++)
		off += (size_t)sprintf(xff + off, "10.0.%zu.%zu,", i / 250,
		    i % 250);
	sprintf(xff + off, "198.51.100.1");
	/* Only the right end matters. */
	assert_string_equal(walk("127.0.0.1", xff), "198.51.100.1");
	free(xff);
}

static void
test_of_request(void **state)
{
	struct http_request req;
	struct http_header hs[4];
	struct conn c;
	struct ipaddr a;
	char buf[64];

	memset(&req, 0, sizeof(req));
	req.headers = hs;
	memset(&c, 0, sizeof(c));
	memset(&wsettings, 0, sizeof(wsettings));
	ipaddr_parse("127.0.0.1", 9, &c.peer);
	req.headers[0].name = "x-forwarded-for";
	req.headers[0].value = "6.6.6.6, 198.51.100.1";
	req.headers[1].name = "host";
	req.headers[1].value = "x";
	req.headers[2].name = "x-forwarded-for";
	req.headers[2].value = "127.0.0.2";
	req.nheaders = 3;

	/* Nothing trusted: the peer. */
	clientip_of(&c, &req, &a);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1");

	/* Behind loopback proxies: both header lines are one list. */
	set_trust("127.0.0.0/8");
	wsettings.trust = trust;
	wsettings.ntrust = ntrust;
	clientip_of(&c, &req, &a);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1");
	memset(&wsettings, 0, sizeof(wsettings));
}

/*
 * A peer on a Unix socket (systemd's ListenStream=/path) is the local
 * proxy in front of us, trusted with no TRUST_PROXY naming it: each
 * visitor it forwards is its own client, not all of them the proxy.
 */
static void
test_unix_peer_is_proxy(void **state)
{
	struct http_request req;
	struct http_header hs[1];
	struct conn c;
	struct ipaddr a;
	char buf[64];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&c, 0, sizeof(c));
	clientip_peer(sv[0], &c.peer);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(c.peer.family, 0);
	memset(&req, 0, sizeof(req));
	req.headers = hs;
	req.headers[0].name = "x-forwarded-for";
	req.headers[0].value = "6.6.6.6, 198.51.100.1";
	req.nheaders = 1;
	memset(&wsettings, 0, sizeof(wsettings));
	clientip_of(&c, &req, &a);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1");
	/* TRUST_PROXY names other hops, walked as behind any trusted peer. */
	set_trust("198.51.100.0/24");
	wsettings.trust = trust;
	wsettings.ntrust = ntrust;
	clientip_of(&c, &req, &a);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "6.6.6.6");
	memset(&wsettings, 0, sizeof(wsettings));
	assert_int_equal(clientip_xff(&c.peer, "203.0.113.9", NULL, 0, &a), 1);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.9");
}

/* Per-client keys: IPv4 whole, IPv6 by its /64, behind a trusted proxy too. */
static void
test_key(void **state)
{
	struct http_request req;
	struct http_header hs[4];
	struct conn c;
	char key[80];

	(void)state;
	memset(&req, 0, sizeof(req));
	req.headers = hs;
	memset(&c, 0, sizeof(c));
	memset(&wsettings, 0, sizeof(wsettings));
	ipaddr_parse("203.0.113.7", 11, &c.peer);
	clientip_key(&c, &req, "ip:", key, sizeof(key));
	assert_string_equal(key, "ip:203.0.113.7");

	ipaddr_parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, &c.peer);
	clientip_key(&c, &req, "login:", key, sizeof(key));
	assert_string_equal(key, "login:2001:db8:1:2::");

	/* Two addresses of one /64 behind a trusted proxy: one key. */
	ipaddr_parse("127.0.0.1", 9, &c.peer);
	set_trust("127.0.0.0/8");
	wsettings.trust = trust;
	wsettings.ntrust = ntrust;
	req.headers[0].name = "x-forwarded-for";
	req.headers[0].value = "2001:db8:5:6::1";
	req.nheaders = 1;
	clientip_key(&c, &req, "ip:", key, sizeof(key));
	assert_string_equal(key, "ip:2001:db8:5:6::");
	req.headers[0].value = "2001:db8:5:6:ffff::9";
	clientip_key(&c, &req, "ip:", key, sizeof(key));
	assert_string_equal(key, "ip:2001:db8:5:6::");
	req.headers[0].value = "2001:db8:5:7::1";
	clientip_key(&c, &req, "ip:", key, sizeof(key));
	assert_string_equal(key, "ip:2001:db8:5:7::");

	/* A key longer than the room is cut, never overrun. */
	clientip_key(&c, &req, "ip:", key, 8);
	assert_string_equal(key, "ip:2001");
	memset(&wsettings, 0, sizeof(wsettings));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_of_socket),
		cmocka_unit_test(test_untrusted_peer_ignores_xff),
		cmocka_unit_test(test_trusted_walk),
		cmocka_unit_test(test_malformed_falls_back),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_of_request),
		cmocka_unit_test(test_unix_peer_is_proxy),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
