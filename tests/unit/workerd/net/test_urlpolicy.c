/*
 * Where a webhook may go (workerd/net/urlpolicy.c): the refused address
 * ranges at their edges, IPv4 inside IPv6 judged as IPv4; URLs read by
 * libcurl's parser (http and https only, no credentials, ports, length);
 * resolving address literals and "localhost" (/etc/hosts), never a name
 * on the Internet; the pin set on a curl handle, with no transfer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "notify.h"
#include "urlpolicy.h"

#define REFUSED	"url: resolves to a private, loopback or link-local address"

static int
private(const char *addr)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return urlpol_addr_private((struct sockaddr *)&s4);
	}
	assert_int_equal(inet_pton(AF_INET6, addr, &s6.sin6_addr), 1);
	s6.sin6_family = AF_INET6;
	return urlpol_addr_private((struct sockaddr *)&s6);
}

static void
test_addr_v4(void **state)
{
	static const char *yes[] = {
		"0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255",
		"100.64.0.0", "100.127.255.255", "127.0.0.1", "127.255.255.254",
		"169.254.0.0", "169.254.169.254", "169.254.255.255",
		"172.16.0.0", "172.31.255.255", "192.0.0.0", "192.0.0.255",
		"192.168.0.0", "192.168.255.255", "198.18.0.0",
		"198.19.255.255", "224.0.0.1", "239.255.255.255", "240.0.0.0",
		"255.255.255.254", "255.255.255.255",
	};
	static const char *no[] = {
		"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255",
		"100.128.0.0", "126.255.255.255", "128.0.0.0",
		"169.253.255.255", "169.255.0.0", "172.15.255.255",
		"172.32.0.0", "191.255.255.255", "192.0.1.0", "192.167.255.255",
		"192.169.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "8.8.8.8", "93.184.216.34", "1.1.1.1",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (private(yes[i]) != 1)
			fail_msg("%s not refused", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (private(no[i]) != 0)
			fail_msg("%s refused", no[i]);
}

static void
test_addr_v6(void **state)
{
	static const char *yes[] = {
		"::", "::1", "::2", "::8.8.8.8", "::ffff:127.0.0.1",
		"::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
		"::ffff:0:7f00:1", "::ffff:0:a00:1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::8.8.8.8",
		"2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::",
		"fe80::1", "febf:ffff::1", "fec0::1", "feff::", "fc00::", "fd00::1",
		"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::",
		"ff02::1",
	};
	static const char *no[] = {
		"::ffff:8.8.8.8", "::ffff:0:808:808", "::1:0:0:0",
		"64:ff9b::8.8.8.8",
		"64:ff9b:2::1", "2002:808:808::1", "2606:4700::1111",
		"2001:db8::1", "2a00:1450:4001::200e", "fbff::1", "fe00::1",
		"fe7f::1", "100::1",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (private(yes[i]) != 1)
			fail_msg("%s not refused", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (private(no[i]) != 0)
			fail_msg("%s refused", no[i]);
}

static void
test_addr_other(void **state)
{
	struct sockaddr_un su;

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	assert_int_equal(urlpol_addr_private((struct sockaddr *)&su), 1);
	assert_int_equal(urlpol_addr_private(NULL), 1);
}

static void
parse_ok(const char *url, const char *scheme, const char *host, int port,
    const char *path)
{
	struct url_target t;
	const char *why = "x";

	if (urlpol_parse(url, &t, &why) != 0)
		fail_msg("%s: %s", url, why);
	assert_null(why);
	assert_string_equal(t.scheme, scheme);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	assert_string_equal(t.path, path);
	assert_string_equal(t.addr, "");
	assert_int_equal(t.family, 0);
}

static void
parse_bad(const char *url, const char *want)
{
	struct url_target t;
	const char *why = NULL;

	if (urlpol_parse(url, &t, &why) != -1)
		fail_msg("%s accepted", url);
	assert_non_null(why);
	assert_memory_equal(why, "url: ", 5);
	if (want != NULL && strcmp(why, want) != 0)
		fail_msg("%s: \"%s\", not \"%s\"", url, why, want);
	assert_string_equal(t.host, "");
}

static void
test_url_good(void **state)
{
	parse_ok("https://hooks.example.com/a/b?x=1&y=2", "https",
	    "hooks.example.com", 443, "/a/b?x=1&y=2");
	parse_ok("http://example.com", "http", "example.com", 80, "/");
	parse_ok("HTTPS://Example.COM:65535", "https", "Example.COM", 65535,
	    "/");
	parse_ok("http://hook_1.example.com:1/", "http",
	    "hook_1.example.com", 1, "/");
	parse_ok("http://10.0.0.1:8080/x", "http", "10.0.0.1", 8080, "/x");
	/* curl writes an IPv4 address in its one form. */
	parse_ok("http://0x7f000001/", "http", "127.0.0.1", 80, "/");
	parse_ok("http://[::1]:9000/p?q", "http", "::1", 9000, "/p?q");
	parse_ok("https://[2606:4700::1111]/", "https", "2606:4700::1111",
	    443, "/");
	parse_ok("https://example.com/a/../b", "https", "example.com", 443,
	    "/b");
	/* curl reads extra slashes as it would fetch it. */
	parse_ok("http:///hook", "http", "hook", 80, "/");
}

static void
test_url_bad(void **state)
{
	char url[URLPOL_URL_MAX + 2];

	parse_bad(NULL, "url: missing");
	parse_bad("", "url: missing");
	parse_bad("https://hooks.example.com/a#frag",
	    "url: must not have a fragment");
	parse_bad("ftp://example.com/", "url: must be http or https");
	parse_bad("file:///etc/passwd", "url: must be http or https");
	parse_bad("gopher://example.com/", "url: must be http or https");
	parse_bad("javascript:alert(1)", "url: must be http or https");
	parse_bad("example.com/hook", "url: must be http or https");
	parse_bad("http://user:pw@example.com/",
	    "url: must not hold a user name or password");
	parse_bad("http://user@example.com/",
	    "url: must not hold a user name or password");
	parse_bad("http://:pw@example.com/",
	    "url: must not hold a user name or password");
	parse_bad("http://example.com:0/", "url: port must be 1-65535");
	parse_bad("http://example.com:65536/", "url: port must be 1-65535");
	parse_bad("http://example.com:-1/", NULL);
	parse_bad("http://", NULL);
	parse_bad("http://exa mple.com/", NULL);
	parse_bad("http://example.com\r\nX: y/", NULL);
	parse_bad("http://zo\xc3\xab.example/",
	    "url: host must be an ASCII name or an IP address");
	parse_bad("http://[fe80::1%25eth0]/",
	    "url: IPv6 zone ids are not allowed");
	parse_bad("http://[::1/", NULL);

	/* 2048 bytes pass, 2049 do not. */
	memset(url, 'a', sizeof(url));
	memcpy(url, "https://example.com/", 20);
	url[URLPOL_URL_MAX] = '\0';
	parse_ok(url, "https", "example.com", 443, url + 19);
	url[URLPOL_URL_MAX] = 'a';
	url[URLPOL_URL_MAX + 1] = '\0';
	parse_bad(url, "url: longer than 2048 bytes");
}

static void
resolve(const char *url, int allow, int want, const char *addr, int family)
{
	struct url_target t;
	const char *why = NULL;

	assert_int_equal(urlpol_parse(url, &t, &why), 0);
	if (urlpol_resolve(&t, allow, &why) != want)
		fail_msg("%s (allow %d): %s", url, allow, why ? why : "ok");
	if (want == -1) {
		assert_string_equal(why, REFUSED);
		assert_string_equal(t.addr, "");
		assert_int_equal(t.family, 0);
		return;
	}
	assert_null(why);
	if (addr != NULL)
		assert_string_equal(t.addr, addr);
	if (family != 0)
		assert_int_equal(t.family, family);
}

static void
test_resolve(void **state)
{
	static const struct {
		const char *url, *addr;
		int family;
	} local[] = {
		{ "http://127.0.0.1/", "127.0.0.1", AF_INET },
		{ "http://[::1]:8080/", "::1", AF_INET6 },
		{ "https://10.0.0.1/", "10.0.0.1", AF_INET },
		{ "http://169.254.169.254/latest/meta-data/",
		    "169.254.169.254", AF_INET },
		{ "http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", AF_INET6 },
		{ "http://[fd00::1]/", "fd00::1", AF_INET6 },
		{ "http://0.0.0.0/", "0.0.0.0", AF_INET },
		{ "http://0/", "0.0.0.0", AF_INET },
		/* /etc/hosts: loopback, whichever family comes first */
		{ "http://localhost:3000/hook", NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		resolve(local[i].url, 0, -1, NULL, 0);
		resolve(local[i].url, 1, 0, local[i].addr, local[i].family);
	}
	/* A public address: resolving a literal sends nothing. */
	resolve("https://93.184.216.34/hook", 0, 0, "93.184.216.34", AF_INET);
	resolve("https://[2606:4700::1111]/hook", 0, 0, "2606:4700::1111",
	    AF_INET6);
}

static void
test_resolve_none(void **state)
{
	struct url_target t;
	const char *why = NULL;

	memset(&t, 0, sizeof(t));
	t.port = 80;
	assert_int_equal(urlpol_resolve(&t, 1, &why), -1);
	assert_string_equal(why, "url: host does not resolve");
}

/* Without a lookup: localhost names and private literals; names pass. */
static void
test_check_literal(void **state)
{
	static const char *const refused[] = {
		"http://localhost/h", "http://LOCALHOST./h",
		"http://api.localhost:8080/h", "http://127.0.0.1/h",
		"http://[::1]/h", "http://10.0.0.1/h", "http://[fd00::1]/h",
	};
	static const char *const taken[] = {
		"https://93.184.216.34/h", "https://[2606:4700::1111]/h",
	};
	static const char *const names[] = {	/* a lookup's to judge */
		"https://hooks.example/h", "https://notlocalhost/h",
		"https://localhost.example/h",
	};
	struct url_target t;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(urlpol_parse(refused[i], &t, &why), 0);
		if (urlpol_check_literal(&t, &why) != -1)
			fail_msg("%s: taken", refused[i]);
		assert_string_equal(why, "url: resolves to a private, loopback "
		    "or link-local address");
	}
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		assert_int_equal(urlpol_parse(taken[i], &t, &why), 0);
		if (urlpol_check_literal(&t, &why) != 0)
			fail_msg("%s: refused (%s)", taken[i], why);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(urlpol_parse(names[i], &t, &why), 0);
		if (urlpol_check_literal(&t, &why) != 1)
			fail_msg("%s: judged without a lookup", names[i]);
	}
}

static int
setup(void **state)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	curl_global_cleanup();
	return 0;
}

/* An agent's base_url: no query, fragment or user info; who may go private. */
static void
test_model(void **state)
{
	static const char *const bad[] = {
		"http://127.0.0.1:9/internal/admin?x=", "http://h.example/v1#",
		"https://u:p@h.example/v1", "https://u@h.example/v1",
		"http://h.example/v1?", "ftp://h.example/", "",
	};
	struct url_target t;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(urlpol_model_parse(bad[i], &t, &why), -1);
		assert_memory_equal(why, "base_url: ", 10);
		assert_string_equal(t.host, "");
	}
	assert_int_equal(urlpol_model_parse("http://[::ffff:127.0.0.1]:8/v1",
	    &t, &why), 0);
	assert_string_equal(t.host, "::ffff:127.0.0.1");
	assert_int_equal(urlpol_private_ok("default", "x", 1, NULL), 1);
	assert_int_equal(urlpol_private_ok("default", "x", 0, NULL), 0);
	assert_int_equal(urlpol_private_ok("acme", "x", 1, NULL), 0);
	assert_int_equal(urlpol_private_ok("acme", "Ollama.LAN", 0,
	    "a.example, ollama.lan ,10.0.0.5"), 1);
	assert_int_equal(urlpol_private_ok("acme", "10.0.0.5", 0,
	    "a.example, ollama.lan ,10.0.0.5"), 1);
	assert_int_equal(urlpol_private_ok("acme", "lan", 0,
	    "ollama.lan"), 0);
	assert_int_equal(urlpol_private_ok("acme", "", 0, ","), 0);
}

/*
 * The refusal of a private address names the setting that allows it,
 * one per kind of URL; any other text is left as it is.
 */
static void
test_private_named(void **state)
{
	(void)state;
	assert_string_equal(urlpol_private_named(REFUSED,
	    URLPOL_ALLOW_KNOWLEDGE), REFUSED " (PARLEY_KNOWLEDGE_ALLOW_PRIVATE"
	    "=on allows it, in the default organization)");
	assert_string_equal(urlpol_private_named(REFUSED,
	    URLPOL_ALLOW_ACTIONS), REFUSED " (PARLEY_ACTIONS_ALLOW_PRIVATE"
	    "=on allows it, in the default organization)");
	assert_string_equal(urlpol_private_named(REFUSED,
	    URLPOL_ALLOW_WEBHOOK), REFUSED " (PARLEY_WEBHOOK_ALLOW_PRIVATE"
	    "=on allows it, in the default organization)");
	assert_string_equal(urlpol_private_named("url: must be http(s)",
	    URLPOL_ALLOW_ACTIONS), "url: must be http(s)");
	assert_null(urlpol_private_named(NULL, URLPOL_ALLOW_KNOWLEDGE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_addr_v4),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_addr_other),
		cmocka_unit_test(test_url_good),
		cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_none),
		cmocka_unit_test(test_check_literal),
		cmocka_unit_test(test_private_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
