/*
 * The settings: keys, CORS_ORIGIN, production, numbers, TRUST_PROXY,
 * TLS_CERT/TLS_KEY, the table's other types, PROTO_MW_SETTINGS, and the
 * address helpers behind them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "proto.h"
#include "settings.h"
#include "tlsctx.h"

#define KEY24	"abcdefghijklmnopqrstuvwx"	/* exactly 24 */
/* Production (where CORS_ORIGIN must name origins), as parse() pairs. */
#define PROD	"PARLEY_ENV", "production", "CORS_ORIGIN", "https://a.example"

/* A fake environment: NULL-terminated name, value pairs. */
static const char *
get(const char *name, void *arg)
{
	const char **kv = arg;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static int
parse(struct settings *st, char *err, size_t errsz, ...)
{
	const char *kv[64];
	va_list ap;
	int n = 0;

	va_start(ap, errsz);
	while ((kv[n] = va_arg(ap, const char *)) != NULL) {
		kv[n + 1] = va_arg(ap, const char *);
		n += 2;
	}
	va_end(ap);
	return settings_parse(st, get, kv, err, errsz);
}

static void
test_defaults(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_false(st.production);
	assert_true(st.cors_any);
	assert_int_equal(st.ncors, 0);
	assert_int_equal(st.max_history, 30);
	assert_int_equal(st.rate_window_ms, 60000);
	assert_int_equal(st.rate_max, 30);
	assert_int_equal(st.ntrust, 0);
	settings_free(&st);

	/* Empty means unset. */
	assert_int_equal(parse(&st, err, sizeof(err), "CORS_ORIGIN", "",
	    "MAX_HISTORY_MESSAGES", "", "WIDGET_API_KEY", "", NULL), 0);
	assert_true(st.cors_any);
	assert_int_equal(st.max_history, 30);
	settings_free(&st);
}

/*
 * WIDGET_BUNDLE_PATH: an absolute path kept; a relative one (Open Chat
 * Widget's .env.example names ../widget/dist/chat-widget.js) ignored,
 * said (bundle_relative), in production too; a control character refused.
 */
static void
test_bundle_path(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_BUNDLE_PATH",
	    "/srv/w/chat-widget.js", NULL), 0);
	assert_string_equal(st.bundle_path, "/srv/w/chat-widget.js");
	assert_false(st.bundle_relative);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_BUNDLE_PATH",
	    "../widget/dist/chat-widget.js", NULL), 0);
	assert_null(st.bundle_path);
	assert_true(st.bundle_relative);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_BUNDLE_PATH",
	    "chat-widget.js", "PARLEY_ENV", "production", "CORS_ORIGIN",
	    "https://example.com", "WIDGET_API_KEY",
	    "k-0123456789abcdef0123456789", "ADMIN_API_KEY",
	    "a-0123456789abcdef0123456789", NULL), 0);
	assert_null(st.bundle_path);
	assert_true(st.bundle_relative);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_BUNDLE_PATH",
	    "/a\001b", NULL), -1);
	assert_non_null(strstr(err, "WIDGET_BUNDLE_PATH"));
}

static void
test_keys(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY", KEY24,
	    "ADMIN_API_KEY", KEY24 "more", NULL), 0);
	settings_free(&st);

	/* Shorter: refused in production... */
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY",
	    "abcdefghijklmnopqrstuvw", PROD, NULL), -1);
	assert_non_null(strstr(err,
	    "WIDGET_API_KEY must be at least 24 characters in production"));
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY", KEY24,
	    "ADMIN_API_KEY", "short", PROD, NULL), -1);
	assert_non_null(strstr(err,
	    "ADMIN_API_KEY must be at least 24 characters"));
	/* Never the key itself in the message. */
	assert_null(strstr(err, "short"));
	/* ... taken outside it (Open Chat Widget's 20-character sample). */
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY",
	    "change-me-widget-key", "ADMIN_API_KEY", "short", NULL), 0);
	assert_string_equal(st.widget_key, "change-me-widget-key");
	settings_free(&st);
	/*
	 * Open Chat Widget's published samples ("change-me..."), long enough
	 * or not: refused in production, the password's too; taken outside.
	 */
	assert_int_equal(parse(&st, err, sizeof(err), "DASHBOARD_PASSWORD",
	    "change-me-admin-password", PROD, NULL), -1);
	assert_non_null(strstr(err, "DASHBOARD_PASSWORD is a sample (it "
	    "begins \"change-me\""));
	assert_null(strstr(err, "admin-password"));
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY",
	    "Change-Me-widget-key-made-longer", PROD, NULL), -1);
	assert_non_null(strstr(err, "WIDGET_API_KEY is a sample"));
	assert_int_equal(parse(&st, err, sizeof(err), "DASHBOARD_PASSWORD",
	    "change-me-admin-password", NULL), 0);
	settings_free(&st);
	/* The password's minimum is not a key's: refused anywhere. */
	assert_int_equal(parse(&st, err, sizeof(err), "DASHBOARD_PASSWORD",
	    "short", NULL), -1);
	assert_non_null(strstr(err, "DASHBOARD_PASSWORD must be at least 12"));
	/*
	 * A key with white space at an end could never match (a header's
	 * value is trimmed): refused, without the key. Inside, it is taken.
	 */
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY",
	    " " KEY24, NULL), -1);
	assert_non_null(strstr(err, "WIDGET_API_KEY must not begin or end "
	    "with white space"));
	assert_null(strstr(err, KEY24));
	assert_int_equal(parse(&st, err, sizeof(err), "ADMIN_API_KEY",
	    KEY24 "\t", NULL), -1);
	assert_non_null(strstr(err, "ADMIN_API_KEY must not begin"));
	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY",
	    "abcdefghijkl mnopqrstuvwx", NULL), 0);
	settings_free(&st);

	/* Characters, not bytes: 23 two-byte characters are too few. */
	{
		char k[64] = "";
		int i;

		for (i = 0; i < 23; i++)
			strlcat(k, "\xc3\xa9", sizeof(k));
		assert_int_equal(parse(&st, err, sizeof(err),
		    "WIDGET_API_KEY", k, PROD, NULL), -1);
		strlcat(k, "\xc3\xa9", sizeof(k));
		assert_int_equal(parse(&st, err, sizeof(err),
		    "WIDGET_API_KEY", k, NULL), 0);
		settings_free(&st);
	}
}

static void
test_apikey(void **state)
{
	struct apikey k;

	apikey_init(&k, NULL);
	assert_int_equal(apikey_check(&k, KEY24), 503);
	apikey_init(&k, "");
	assert_int_equal(apikey_check(&k, ""), 503);
	apikey_init(&k, KEY24);
	assert_int_equal(apikey_check(&k, KEY24), 0);
	assert_int_equal(apikey_check(&k, NULL), 401);
	assert_int_equal(apikey_check(&k, ""), 401);
	assert_int_equal(apikey_check(&k, KEY24 "x"), 401);
	assert_int_equal(apikey_check(&k, "abcdefghijklmnopqrstuvw"), 401);
	assert_int_equal(apikey_check(&k, "Abcdefghijklmnopqrstuvwx"), 401);
	apikey_clear(&k);
	assert_int_equal(apikey_check(&k, KEY24), 503);
}

static void
test_cors(void **state)
{
	static const char *good[] = {
		"*", "https://example.com", "http://localhost:3000",
		"https://a.com, https://b.com:8443", " https://x.org ,",
		"HTTPS://Example.COM", "http://[::1]:4000", "http://127.0.0.1",
		"chrome-extension://abcdef", "https://a-b.c_d.example",
	};
	static const char *bad[] = {
		"https://example.com/", "https://example.com/path", "example.com",
		"https://", "https://a.com:0", "https://a.com:65536",
		"https://a.com:", "https://a.com:80x", "https://user@a.com",
		"ftp//a.com", "://a.com", "https://a.com?x", "https://[zz]",
		"null", ",", " , ", "https://a .com", "*.example.com",
	};
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(&st, err, sizeof(err), "CORS_ORIGIN", good[i],
		    NULL) != 0)
			fail_msg("refused \"%s\": %s", good[i], err);
		settings_free(&st);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&st, err, sizeof(err), "CORS_ORIGIN", bad[i],
		    NULL) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err, "CORS_ORIGIN"));
	}
	/* An origin with a password is refused without quoting it. */
	assert_int_equal(parse(&st, err, sizeof(err), "CORS_ORIGIN",
	    "https://u:s3cretpw@a.com", NULL), -1);
	assert_null(strstr(err, "s3cretpw"));
	assert_non_null(strstr(err, "\"https://***@a.com\""));

	/* Entries are trimmed and lower-cased; "*" is its own flag. */
	assert_int_equal(parse(&st, err, sizeof(err), "CORS_ORIGIN",
	    " https://A.com ,*, http://b.org:81", NULL), 0);
	assert_true(st.cors_any);
	assert_int_equal(st.ncors, 2);
	assert_string_equal(st.cors[0], "https://a.com");
	assert_string_equal(st.cors[1], "http://b.org:81");
	settings_free(&st);
	/* The scheme's default port is dropped: no browser sends it. */
	assert_int_equal(parse(&st, err, sizeof(err), "CORS_ORIGIN",
	    "https://a.com:443,http://b.org:80,https://c.net:8443,"
	    "http://[::1]:80,https://d.io:80", NULL), 0);
	assert_int_equal(st.ncors, 5);
	assert_string_equal(st.cors[0], "https://a.com");
	assert_string_equal(st.cors[1], "http://b.org");
	assert_string_equal(st.cors[2], "https://c.net:8443");
	assert_string_equal(st.cors[3], "http://[::1]");
	assert_string_equal(st.cors[4], "https://d.io:80");
	settings_free(&st);
}

static void
test_production(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	/* The default "*" is refused in production. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ENV",
	    "production", NULL), -1);
	assert_string_equal(err,
	    "Refusing to start with CORS_ORIGIN='*' in production.");
	assert_int_equal(parse(&st, err, sizeof(err), "NODE_ENV",
	    "production", "CORS_ORIGIN", "https://a.com,*", NULL), -1);
	assert_string_equal(err,
	    "Refusing to start with CORS_ORIGIN='*' in production.");

	assert_int_equal(parse(&st, err, sizeof(err), "NODE_ENV",
	    "production", "CORS_ORIGIN", "https://a.com", NULL), 0);
	assert_true(st.production);
	settings_free(&st);
	/* PARLEY_ENV wins over NODE_ENV. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ENV",
	    "development", "NODE_ENV", "production", NULL), 0);
	assert_false(st.production);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ENV",
	    "Production", NULL), 0);
	assert_false(st.production);
	settings_free(&st);
}

static void
test_numbers(void **state)
{
	static const struct {
		const char *name, *value;
		int ok;
		uint32_t want;
	} tab[] = {
		{ "MAX_HISTORY_MESSAGES", "1", 1, 1 },
		{ "MAX_HISTORY_MESSAGES", "200", 1, 200 },
		{ "MAX_HISTORY_MESSAGES", "0", 0, 0 },
		{ "MAX_HISTORY_MESSAGES", "201", 0, 0 },
		{ "MAX_HISTORY_MESSAGES", "-1", 0, 0 },
		{ "MAX_HISTORY_MESSAGES", "3x", 0, 0 },
		{ "MAX_HISTORY_MESSAGES", " 3", 0, 0 },
		{ "RATE_LIMIT_WINDOW_MS", "1000", 1, 1000 },
		{ "RATE_LIMIT_WINDOW_MS", "0", 0, 0 },
		{ "RATE_LIMIT_WINDOW_MS", "86400000", 1, 86400000 },
		{ "RATE_LIMIT_WINDOW_MS", "86400001", 0, 0 },
		{ "RATE_LIMIT_WINDOW_MS", "99999999999999999999999", 0, 0 },
		{ "RATE_LIMIT_MAX_REQUESTS", "0", 1, 0 },
		{ "RATE_LIMIT_MAX_REQUESTS", "5", 1, 5 },
		{ "RATE_LIMIT_MAX_REQUESTS", "1e3", 0, 0 },
		{ "WIDGET_SESSION_IDLE_DAYS", "1", 1, 1 },
		{ "WIDGET_SESSION_IDLE_DAYS", "3650", 1, 3650 },
		{ "WIDGET_SESSION_IDLE_DAYS", "0", 0, 0 },
		{ "WIDGET_SESSION_IDLE_DAYS", "3651", 0, 0 },
	};
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	uint32_t got;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		int rv = parse(&st, err, sizeof(err), tab[i].name,
		    tab[i].value, NULL);

		if (!tab[i].ok) {
			if (rv != -1)
				fail_msg("%s=%s accepted", tab[i].name,
				    tab[i].value);
			assert_non_null(strstr(err, tab[i].name));
			continue;
		}
		if (rv != 0)
			fail_msg("%s=%s: %s", tab[i].name, tab[i].value, err);
		got = tab[i].name[0] == 'M' ? st.max_history :
		    tab[i].name[0] == 'W' ? st.session_idle_days :
		    tab[i].name[11] == 'W' ? st.rate_window_ms : st.rate_max;
		assert_int_equal(got, tab[i].want);
		settings_free(&st);
	}
}

static void
test_addresses(void **state)
{
	static const struct {
		const char *in, *out;
	} tab[] = {
		{ "1.2.3.4", "1.2.3.4" },
		{ "::1", "::1" },
		{ "[::1]", "::1" },
		{ "::ffff:10.1.2.3", "10.1.2.3" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "0.0.0.0", "0.0.0.0" },
	};
	static const char *bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:80", "::1%eth0",
		"[::1", "abc", "1.2.3.4 ", " 1.2.3.4", "::g", "[]",
	};
	struct ipaddr a;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		assert_int_equal(ipaddr_parse(tab[i].in, strlen(tab[i].in), &a),
		    0);
		ipaddr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, tab[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ipaddr_parse(bad[i], strlen(bad[i]), &a) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	/* Only len bytes count. */
	assert_int_equal(ipaddr_parse("1.2.3.4,5", 7, &a), 0);
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "1.2.3.4");
	memset(&a, 0, sizeof(a));
	ipaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "local");
}

/* IPv4 is formatted by hand: as inet_ntop does, each byte and a short buffer. */
static void
test_ipv4_format(void **state)
{
	struct ipaddr a;
	char buf[64], want[INET_ADDRSTRLEN];
	unsigned v;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	for (v = 0; v < 256; v++) {
		a.a[0] = (uint8_t)v;
		a.a[1] = (uint8_t)(255 - v);
		a.a[2] = (uint8_t)(v * 7);
		a.a[3] = (uint8_t)(v / 3);
		assert_non_null(inet_ntop(AF_INET, a.a, want, sizeof(want)));
		ipaddr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, want);
	}
	memcpy(a.a, "\xff\xff\xff\xff", 4);
	ipaddr_format(&a, buf, sizeof("255.255.255.255"));
	assert_string_equal(buf, "255.255.255.255");
	ipaddr_format(&a, buf, sizeof("255.255.255.255") - 1);
	assert_string_equal(buf, "");
}

static int
in(const char *net, const char *addr)
{
	struct ipnet n;
	struct ipaddr a;

	assert_int_equal(ipnet_parse(net, strlen(net), &n), 0);
	assert_int_equal(ipaddr_parse(addr, strlen(addr), &a), 0);
	return ipnet_contains(&n, &a);
}

static void
test_cidr(void **state)
{
	struct ipnet n;
	static const char *bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/a", "/8",
		"10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/0008", "x/8",
	};
	size_t i;

	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_true(in("10.1.2.3/8", "10.9.9.9"));	/* host bits masked */
	assert_true(in("172.16.0.0/12", "172.31.255.255"));
	assert_false(in("172.16.0.0/12", "172.32.0.0"));
	assert_true(in("192.168.1.7", "192.168.1.7"));
	assert_false(in("192.168.1.7", "192.168.1.8"));
	assert_true(in("0.0.0.0/0", "8.8.8.8"));
	assert_false(in("0.0.0.0/0", "::1"));		/* families differ */
	assert_true(in("fc00::/7", "fd12::1"));
	assert_false(in("fc00::/7", "fe80::1"));
	assert_true(in("::1", "::1"));
	assert_true(in("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
	/* v4-mapped forms are IPv4 on both sides. */
	assert_true(in("::ffff:10.0.0.0/104", "10.1.1.1"));
	assert_true(in("10.0.0.0/8", "::ffff:10.1.1.1"));
	assert_true(in("::/0", "10.1.1.1"));		/* covers the mapped range */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ipnet_parse(bad[i], strlen(bad[i]), &n) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_trust_proxy(void **state)
{
	struct settings st;
	struct ipaddr a;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(parse(&st, err, sizeof(err), "TRUST_PROXY",
	    "loopback, 10.0.0.0/8,2001:db8::1", NULL), 0);
	assert_int_equal(st.ntrust, 4);
	ipaddr_parse("127.0.0.9", 9, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("::1", 3, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("10.2.3.4", 8, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("2001:db8::1", 11, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("2001:db8::2", 11, &a);
	assert_false(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("192.168.0.1", 11, &a);
	assert_false(ipnet_any(st.trust, st.ntrust, &a));
	settings_free(&st);

	assert_int_equal(parse(&st, err, sizeof(err), "TRUST_PROXY",
	    "uniquelocal,LinkLocal", NULL), 0);
	assert_int_equal(st.ntrust, 6);
	ipaddr_parse("192.168.0.1", 11, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	ipaddr_parse("169.254.1.1", 11, &a);
	assert_true(ipnet_any(st.trust, st.ntrust, &a));
	settings_free(&st);

	assert_int_equal(parse(&st, err, sizeof(err), "TRUST_PROXY", "true",
	    NULL), -1);
	assert_non_null(strstr(err, "TRUST_PROXY entry \"true\""));
	assert_int_equal(parse(&st, err, sizeof(err), "TRUST_PROXY",
	    "loopback,1.2.3.4/40", NULL), -1);
	assert_non_null(strstr(err, "1.2.3.4/40"));
}

/*
 * PARLEY_MODEL_ALLOW_HOSTS: spaces or tabs around a comma are taken (the
 * workers' reader trims them), an empty entry or a space inside one is
 * refused at start with an error naming the variable.
 */
static void
test_model_allow_hosts(void **state)
{
	static const char *good[] = { "a.example.com, b.example.com",
	    " a.example ,\tb:1 ", "10.0.0.5", "ollama.lan,fe80::1" };
	static const char *bad[] = { "a.example .com", "a, b c", "a,,b",
	    "a,", " , ", "a;b", "a,\nb" };
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(&st, err, sizeof(err), "PARLEY_MODEL_ALLOW_HOSTS",
		    good[i], NULL) != 0)
			fail_msg("\"%s\" refused: %s", good[i], err);
		assert_string_equal(st.model_allow_hosts, good[i]);
		settings_free(&st);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&st, err, sizeof(err), "PARLEY_MODEL_ALLOW_HOSTS",
		    bad[i], NULL) != -1)
			fail_msg("\"%s\" taken", bad[i]);
		assert_non_null(strstr(err, "PARLEY_MODEL_ALLOW_HOSTS must "));
	}
}

static void
test_tls(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_null(st.tls_cert);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "TLS_CERT", "/c.pem",
	    "TLS_KEY", "/k.pem", NULL), 0);
	assert_string_equal(st.tls_cert, "/c.pem");
	assert_string_equal(st.tls_key, "/k.pem");
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "TLS_CERT", "/c.pem",
	    NULL), -1);
	assert_non_null(strstr(err, "TLS_CERT is set, TLS_KEY is not"));
	assert_int_equal(parse(&st, err, sizeof(err), "TLS_KEY", "/k.pem",
	    "TLS_CERT", "", NULL), -1);
	assert_non_null(strstr(err, "TLS_KEY is set, TLS_CERT is not"));
	/* The files are tls_ctx_new()'s: missing ones are named. */
	assert_null(tls_ctx_new("/nonexistent/c.pem", "/k.pem", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "TLS_CERT=/nonexistent/c.pem: cannot read"));
}

/* Failover: PARLEY_ETCD's list, PARLEY_ADVERTISE, the cluster's name. */
static void
test_failover(void **state)
{
	static const char *good_etcd[] = { "http://127.0.0.1:2379",
	    "http://10.0.0.7:2379,http://10.0.0.8:2379,http://etcd-3.lan:2379",
	    "http://[::1]:2379", "http://[fd00::7]:2379,http://a:1" };
	static const char *tls_etcd[] = { "https://127.0.0.1:2379",
	    "https://10.0.0.7:2379,https://[fd00::8]:2379,https://etcd-3.lan:1" };
	static const char *bad_etcd[] = { "http://a:1,https://b:2",
	    "https://a:1,http://b:2", "https://127.0.0.1", "ftp://a:1",
	    "HTTPS://a:1", "https://a:1/", "http://127.0.0.1", "http://127.0.0.1:", "http://:2379",
	    "http://a:2379,", ",http://a:2379", "http://a:2379 ,http://b:1",
	    "http://a:123456", "http://a b:1", "http://[::1:2379",
	    "http://a:1/v3", "http://a:1,http://a:1,http://a:1,http://a:1,"
	    "http://a:1,http://a:1,http://a:1,http://a:1,http://a:1" };
	static const char *good_adv[] = { "tls://10.0.0.5:4100",
	    "tls://[fd00::5]:4100", "tls://db-1.lan:4100",
	    "unix:/run/parley/storaged.sock" };
	static const char *bad_adv[] = { "10.0.0.5:4100", "tls://10.0.0.5",
	    "unix:relative", "tcp://10.0.0.5:4100", "tls://a:1,tls://b:2",
	    "tls://::1:4100", "tls://a:70000" };
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	size_t i;

	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_null(st.etcd);
	assert_null(st.advertise);
	assert_int_equal(st.lease_ttl_s, 5);
	assert_string_equal(st.cluster_name, "parley");
	settings_free(&st);
	for (i = 0; i < sizeof(good_etcd) / sizeof(good_etcd[0]); i++) {
		assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ETCD",
		    good_etcd[i], NULL), 0);
		assert_string_equal(st.etcd, good_etcd[i]);
		settings_free(&st);
	}
	for (i = 0; i < sizeof(bad_etcd) / sizeof(bad_etcd[0]); i++) {
		assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ETCD",
		    bad_etcd[i], NULL), -1);
		assert_non_null(strstr(err, "PARLEY_ETCD must be a URL list"));
	}
	/* https: with the cluster's three files only, naming the missing one. */
	for (i = 0; i < sizeof(tls_etcd) / sizeof(tls_etcd[0]); i++) {
		assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED,
		    get, (const char *[]){ "PARLEY_ETCD", tls_etcd[i],
		    "PARLEY_CLUSTER_CA", "/c/ca.pem", "PARLEY_CLUSTER_CERT",
		    "/c/s.pem", "PARLEY_CLUSTER_KEY", "/c/s.key", NULL }, err,
		    sizeof(err)), 0);
		assert_string_equal(st.etcd, tls_etcd[i]);
		settings_free(&st);
	}
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_ETCD", tls_etcd[0], NULL }, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "PARLEY_ETCD is https://: PARLEY_CLUSTER_CA, "
	    "PARLEY_CLUSTER_CERT and PARLEY_CLUSTER_KEY must be set "
	    "(PARLEY_CLUSTER_CA is not); scripts/cluster-certs.sh makes them");
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_ETCD", tls_etcd[1], "PARLEY_CLUSTER_CA",
	    "/c/ca.pem", "PARLEY_CLUSTER_CERT", "/c/s.pem", NULL }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "(PARLEY_CLUSTER_KEY is not)"));
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_ETCD", tls_etcd[0], "PARLEY_CLUSTER_CA",
	    "/c/ca.pem", "PARLEY_CLUSTER_KEY", "/c/s.key", NULL }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "(PARLEY_CLUSTER_CERT is not)"));
	/* Over http, no files needed; only storaged reads PARLEY_ETCD. */
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_ETCD", good_etcd[0], NULL }, err,
	    sizeof(err)), 0);
	settings_free(&st);
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_WORKERD, get,
	    (const char *[]){ "PARLEY_ETCD", tls_etcd[0], NULL }, err,
	    sizeof(err)), 0);
	settings_free(&st);
	for (i = 0; i < sizeof(good_adv) / sizeof(good_adv[0]); i++) {
		assert_int_equal(parse(&st, err, sizeof(err),
		    "PARLEY_ADVERTISE", good_adv[i], NULL), 0);
		settings_free(&st);
	}
	for (i = 0; i < sizeof(bad_adv) / sizeof(bad_adv[0]); i++)
		assert_int_equal(parse(&st, err, sizeof(err),
		    "PARLEY_ADVERTISE", bad_adv[i], NULL), -1);
	/* auto wants both; one line names what is missing. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ROLE", "auto",
	    "PARLEY_ETCD", "http://127.0.0.1:2379", NULL), -1);
	assert_string_equal(err, "PARLEY_ROLE is auto: PARLEY_ADVERTISE "
	    "(this storaged's address) must be set too");
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ROLE", "auto",
	    "PARLEY_ADVERTISE", "tls://10.0.0.5:4100", NULL), -1);
	assert_string_equal(err, "PARLEY_ROLE is auto: PARLEY_ETCD (the etcd "
	    "endpoints) must be set too");
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ROLE", "auto",
	    "PARLEY_ETCD", "http://127.0.0.1:2379", "PARLEY_ADVERTISE",
	    "unix:/run/a/storaged.sock", NULL), 0);
	assert_int_equal(st.role, SETTINGS_ROLE_AUTO);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_CLUSTER_NAME",
	    "shop-eu.1", "PARLEY_LEASE_TTL_S", "2", NULL), 0);
	assert_int_equal(st.lease_ttl_s, 2);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_CLUSTER_NAME",
	    "a/b", NULL), -1);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_LEASE_TTL_S",
	    "1", NULL), -1);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_LEASE_TTL_S",
	    "61", NULL), -1);
}

/* Email: SMTP_URL's schemes, SMTP_FROM with it, user and password together. */
/* PARLEY_STORAGED, PARLEY_STORAGED_LISTEN and the cluster's files. */
static void
test_storaged(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	/* Unset: the socket in PARLEY_RUN_DIR. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_RUN_DIR",
	    "/run/p", NULL), 0);
	assert_int_equal(st.nstoraged, 1);
	assert_string_equal(st.storaged[0].text, "unix:/run/p/storaged.sock");
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_STORAGED",
	    "tls://10.0.0.5:4100,tls://[fd00::6]:4100", "PARLEY_CLUSTER_CA",
	    "/c/ca.pem", "PARLEY_CLUSTER_CERT", "/c/w.pem",
	    "PARLEY_CLUSTER_KEY", "/c/w.key", NULL), 0);
	assert_int_equal(st.nstoraged, 2);
	assert_string_equal(st.storaged[1].host, "fd00::6");
	settings_free(&st);
	/* A tls:// address without the files names the one missing. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_STORAGED",
	    "unix:/x,tls://10.0.0.5:4100", "PARLEY_CLUSTER_CA", "/c/ca.pem",
	    NULL), -1);
	assert_non_null(strstr(err, "PARLEY_STORAGED names a tls:// address"));
	assert_non_null(strstr(err, "PARLEY_CLUSTER_CERT is not"));
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_STORAGED",
	    "tls://10.0.0.5", NULL), -1);
	assert_non_null(strstr(err, "PARLEY_STORAGED: \"tls://10.0.0.5\": "
	    "no :PORT"));
	/* A password in the value is not quoted back: errors reach logs. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_STORAGED",
	    "tls://u:s3cretpw@h:1", NULL), -1);
	assert_null(strstr(err, "s3cretpw"));
	assert_non_null(strstr(err, "no user or password"));
	/* The listener: tls:// only, and the files with it. */
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_STORAGED_LISTEN", "tls://0.0.0.0:4100",
	    NULL }, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PARLEY_STORAGED_LISTEN is set"));
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_STORAGED_LISTEN",
	    "unix:/x", NULL), -1);
	assert_non_null(strstr(err, "PARLEY_STORAGED_LISTEN"));
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_STORAGED_LISTEN", "tls://[::]:4100",
	    "PARLEY_CLUSTER_CA", "/c/ca.pem", "PARLEY_CLUSTER_CERT", "/c/s.pem",
	    "PARLEY_CLUSTER_KEY", "/c/s.key", NULL }, err, sizeof(err)), 0);
	assert_string_equal(st.storaged_listen, "tls://[::]:4100");
	settings_free(&st);
	/* A standby's tls:// primary: dialled with the files. */
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_PRIMARY", "tls://[::1]:4100",
	    "PARLEY_CLUSTER_CA", "/c/ca.pem", "PARLEY_CLUSTER_CERT", "/c/s.pem",
	    "PARLEY_CLUSTER_KEY", "/c/s.key", NULL }, err, sizeof(err)), 0);
	settings_free(&st);
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_PRIMARY", "tls://db.example:4100",
	    "PARLEY_CLUSTER_CA", "/c/ca.pem", NULL }, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PARLEY_CLUSTER_CERT is not"));
	/* storaged alone does not read the clients' list. */
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    (const char *[]){ "PARLEY_STORAGED", "tls://10.0.0.5:4100", NULL },
	    err, sizeof(err)), 0);
	settings_free(&st);
}

static void
test_smtp(void **state)
{
	static const char *bad_urls[] = { "http://mail.example.com",
	    "smtp://", "smtp://:25", "smtp://u:p@mail.example.com",
	    "smtp://mail.example.com/x", "smtps://a b" };
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	size_t i;

	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_null(st.smtp_url);
	assert_null(st.public_url);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_URL",
	    "smtp://127.0.0.1:2525", "SMTP_FROM", "parley@example.com",
	    "SMTP_USER", "u", "SMTP_PASSWORD", "p w", "PARLEY_PUBLIC_URL",
	    "https://chat.example.com", NULL), 0);
	assert_string_equal(st.smtp_url, "smtp://127.0.0.1:2525");
	assert_string_equal(st.smtp_password, "p w");
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_URL",
	    "smtps://[::1]:465", "SMTP_FROM", "a@b.c", NULL), 0);
	settings_free(&st);
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		assert_int_equal(parse(&st, err, sizeof(err), "SMTP_URL",
		    bad_urls[i], "SMTP_FROM", "a@b.c", NULL), -1);
		assert_non_null(strstr(err, "SMTP_URL"));
	}
	/* A refused URL's password is not in the error (it is logged). */
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_URL",
	    "smtp://user:s3cret@mail.example.com", "SMTP_FROM", "a@b.c",
	    NULL), -1);
	assert_non_null(strstr(err, "\"smtp://***@mail.example.com\""));
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_ETCD",
	    "http://root:s3cret@etcd,http://root:s3cret@[::1", NULL), -1);
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_URL",
	    "smtp://mail.example.com", NULL), -1);
	assert_non_null(strstr(err, "SMTP_FROM"));
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_USER", "u",
	    NULL), -1);
	assert_non_null(strstr(err, "SMTP_USER is set, SMTP_PASSWORD is not"));
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_FROM", "no-at",
	    NULL), -1);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_PUBLIC_URL",
	    "ftp://x", NULL), -1);
	/* The password is wiped by settings_free(), never in an error. */
	assert_int_equal(parse(&st, err, sizeof(err), "SMTP_PASSWORD",
	    "secret\nline", "SMTP_USER", "u", NULL), -1);
	assert_null(strstr(err, "secret"));
}

/* Every row of the table: a unique name, a default its own rule takes. */
static void
test_table(void **state)
{
	const struct setting *r;
	struct settings st;
	char err[SETTINGS_ERR_MAX], rule[256];
	size_t i, j;

	assert_true(settings_count > 30);
	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		assert_ptr_equal(settings_find(r->name), r);
		for (j = i + 1; j < settings_count; j++)
			assert_string_not_equal(r->name, settings_table[j].name);
		assert_non_null(r->doc);
		assert_true(r->procs != 0);
		assert_non_null(settings_rule(r, rule, sizeof(rule)));
		assert_non_null(settings_shown(r));
		if (r->def != NULL && r->type != SETTING_LIST) {
			const char *kv[] = { r->name, r->def, NULL };

			if (settings_parse(&st, get, kv, err, sizeof(err)) < 0)
				fail_msg("%s=%s: %s", r->name, r->def, err);
			settings_free(&st);
		}
	}
	assert_null(settings_find("NOPE"));
	/* What the docs promise. */
	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_int_equal(st.port, 4000);
	assert_string_equal(st.host, "0.0.0.0");
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.shutdown_ms, 10000);
	assert_string_equal(st.run_dir, "./var/run");
	assert_string_equal(st.data_dir, "./var/data");
	assert_int_equal(st.sync_mode, SETTINGS_SYNC_FULL);
	assert_int_equal(st.role, SETTINGS_ROLE_PRIMARY);
	assert_null(st.primary);
	assert_int_equal(st.replica_wait, SETTINGS_WAIT_DEGRADE);
	assert_int_equal(st.header_timeout_ms, 10000);
	assert_int_equal(st.access_log, 0);
	assert_int_equal(st.log_level, 1);	/* info */
	assert_null(st.widget_key);
	assert_null(st.user);
	settings_free(&st);
}

/* The other types: choices, booleans, texts, secrets; one line each. */
static void
test_types(void **state)
{
	static const struct {
		const char *name, *value;
		int ok;
		const char *says;	/* in the message when refused */
	} tab[] = {
		{ "PARLEY_SYNC", "interval", 1, NULL },
		{ "PARLEY_SYNC", "always", 0, "PARLEY_SYNC must be one of "
		    "full|nometa|interval|replica, not \"always\"" },
		{ "PARLEY_SYNC", "replica", 1, NULL },
		{ "PARLEY_ROLE", "standby", 0, "PARLEY_PRIMARY" },
		{ "PARLEY_ROLE", "leader", 0, "PARLEY_ROLE must be one of "
		    "primary|standby|auto" },
		{ "PARLEY_ROLE", "auto", 0, "PARLEY_ROLE is auto: PARLEY_ETCD "
		    "(the etcd endpoints) and PARLEY_ADVERTISE (this storaged's "
		    "address) must be set too" },
		{ "PARLEY_PRIMARY", "unix:/run/parley/storaged.sock", 1, NULL },
		/* well-formed, but dialled with the cluster's files (below) */
		{ "PARLEY_PRIMARY", "tls://10.0.0.5:4100", 0,
		    "PARLEY_PRIMARY is a tls:// address: PARLEY_CLUSTER_CA" },
		{ "PARLEY_PRIMARY", "unix:relative.sock", 0, "PARLEY_PRIMARY" },
		{ "PARLEY_PRIMARY", "tls://::1:4100", 0, "PARLEY_PRIMARY" },
		{ "PARLEY_PRIMARY", "tls://10.0.0.5:70000", 0, "PARLEY_PRIMARY" },
		{ "PARLEY_PRIMARY", "tcp://10.0.0.5:4100", 0, "PARLEY_PRIMARY" },
		{ "PARLEY_REPLICA_WAIT", "block", 1, NULL },
		{ "PARLEY_REPLICA_WAIT", "never", 0, "PARLEY_REPLICA_WAIT must be "
		    "one of degrade|block" },
		{ "PARLEY_LOG_LEVEL", "debug", 1, NULL },
		{ "PARLEY_LOG_LEVEL", "loud", 0, "PARLEY_LOG_LEVEL" },
		{ "PARLEY_ACCESS_LOG", "on", 1, NULL },
		{ "PARLEY_ACCESS_LOG", "TRUE", 1, NULL },
		{ "PARLEY_ACCESS_LOG", "0", 1, NULL },
		{ "PARLEY_ACCESS_LOG", "maybe", 0, "PARLEY_ACCESS_LOG must be "
		    "on or off" },
		{ "OPENAI_BASE_URL", "http://127.0.0.1:1/v1", 1, NULL },
		{ "OPENAI_BASE_URL", "ftp://x", 0, "OPENAI_BASE_URL must be a "
		    "URL: http:// or https://, a host (in ASCII: punycode), a "
		    "port of 1 to 65535 if any, no query or fragment, not "
		    "\"ftp://x\"" },
		/* Taken here, every worker exited at its start (no IDN). */
		{ "OPENAI_BASE_URL", "https://ex\xc3\xa4mple.com/v1", 0,
		    "OPENAI_BASE_URL" },
		{ "OPENAI_BASE_URL", "https://xn--exmple-cua.com/v1", 1, NULL },
		/* "/chat/completions" went into the query, or was cut off. */
		{ "OPENAI_BASE_URL", "https://h/v1?api-version=1", 0,
		    "OPENAI_BASE_URL" },
		{ "OPENAI_BASE_URL", "https://h/v1#x", 0, "OPENAI_BASE_URL" },
		{ "OPENAI_BASE_URL", "http://h:65536/v1", 0, "OPENAI_BASE_URL" },
		{ "OPENAI_BASE_URL", "http://u:p/w@h/v1", 0,
		    "not \"http://***@h/v1\"" },
		{ "SMTP_URL", "smtp://h:70000", 0, "SMTP_URL" },
		{ "OPENAI_MODEL", "two words", 0, "OPENAI_MODEL" },
		{ "PARLEY_HOST", "[::1]", 1, NULL },
		{ "PARLEY_HOST", "a b", 0, "PARLEY_HOST" },
		{ "PARLEY_USER", "-x", 0, "PARLEY_USER" },
		{ "PARLEY_RUN_DIR", "/run/parley", 1, NULL },
		{ "PARLEY_RUN_DIR", "/run/" "0123456789012345678901234567890123456789"
		    "01234567890123456789012345678901234567890123456789", 0,
		    "PARLEY_RUN_DIR must be at most 93 bytes, not 95" },
		{ "PARLEY_HEADER_TIMEOUT_MS", "abc", 0, "PARLEY_HEADER_TIMEOUT_MS "
		    "must be a whole number from 100 to 3600000, not \"abc\"" },
		{ "PORT", "", 1, NULL },
		{ "PORT", "65536", 0, "PORT" },
		{ "OPENAI_API_KEY", "  sk-1\n", 1, NULL },
		{ "OPENAI_API_KEY", "sk-1\nsk-2", 0, "OPENAI_API_KEY must be one "
		    "line (its 9 characters are not shown)" },
	};
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		int rv = parse(&st, err, sizeof(err), tab[i].name,
		    tab[i].value, NULL);

		if (tab[i].ok) {
			if (rv != 0)
				fail_msg("%s=%s: %s", tab[i].name,
				    tab[i].value, err);
			settings_free(&st);
			continue;
		}
		if (rv != -1)
			fail_msg("%s=%s accepted", tab[i].name, tab[i].value);
		if (strstr(err, tab[i].says) == NULL)
			fail_msg("%s=%s: \"%s\"", tab[i].name, tab[i].value,
			    err);
		assert_null(strchr(err, '\n'));
	}
	/* A secret's value is never in the message, its length is. */
	{
		char k[2000];

		memset(k, 'z', sizeof(k) - 1);
		k[sizeof(k) - 1] = '\0';
		assert_int_equal(parse(&st, err, sizeof(err), "ADMIN_API_KEY", k,
		    NULL), -1);
		assert_non_null(strstr(err, "ADMIN_API_KEY must be at most "
		    "1024 bytes; it has 1999"));
		assert_null(strstr(err, "zzz"));
	}
	/* The values land in their fields. */
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_SYNC", "nometa",
	    "PARLEY_ACCESS_LOG", "yes", "PARLEY_LOG_LEVEL", "warn",
	    "PARLEY_HEADER_TIMEOUT_MS", "250", "WIDGET_API_KEY", KEY24, NULL), 0);
	assert_int_equal(st.sync_mode, SETTINGS_SYNC_NOMETA);
	assert_int_equal(st.access_log, 1);
	assert_int_equal(st.log_level, 2);
	assert_int_equal(st.header_timeout_ms, 250);
	assert_string_equal(st.widget_key, KEY24);
	settings_free(&st);
}

/* A process checks only its own: storaged ignores the workers' CORS. */
static void
test_procs(void **state)
{
	const char *kv[] = { "CORS_ORIGIN", "nope", "PARLEY_RATE_KEYS", "5",
	    NULL };
	const char *kv2[] = { "CORS_ORIGIN", "nope", NULL };
	struct settings st;
	char err[SETTINGS_ERR_MAX];

	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get, kv,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PARLEY_RATE_KEYS"));
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_STORAGED, get,
	    kv2, err, sizeof(err)), 0);
	settings_free(&st);
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_MASTERD, get, kv2,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CORS_ORIGIN"));
}

/* PROTO_MW_SETTINGS: what masterd encodes, a worker decodes. */
static void
test_msg(void **state)
{
	const char *kv[] = { "WIDGET_API_KEY", KEY24, "PORT", "8080",
	    "CORS_ORIGIN", "https://a.com", "PARLEY_ACCESS_LOG", "on",
	    "PARLEY_IDLE_TIMEOUT_MS", "1234", "SYSTEM_PROMPT", "Be brief.",
	    "PARLEY_DATA_DIR", "/data", NULL };
	struct settings st;
	struct penc e;
	struct pdec d;
	char err[SETTINGS_ERR_MAX];
	uint32_t n;

	penc_init(&e);
	settings_msg_encode(&e, get, kv, 0, NULL);
	assert_false(e.err);
	/* Only the workers' settings go: not PORT, not PARLEY_DATA_DIR. */
	pdec_init(&d, e.buf, e.len);
	n = pdec_u32(&d);
	assert_int_equal(n, 5);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_string_equal(st.widget_key, KEY24);
	assert_int_equal(st.ncors, 1);
	assert_string_equal(st.cors[0], "https://a.com");
	assert_int_equal(st.access_log, 1);
	assert_int_equal(st.idle_timeout_ms, 1234);
	assert_string_equal(st.system_prompt, "Be brief.");
	assert_int_equal(st.port, 4000);
	assert_null(st.public_url);
	assert_false(st.public_url_set);
	settings_free(&st);

	/* Cut short, or a byte too many. */
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len - 1, err,
	    sizeof(err)), -1);
	penc_u8(&e, 0);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bytes after"));
	penc_free(&e);

	/* Not a worker's setting; twice; a bad value; a bad count. */
	penc_init(&e);
	penc_u32(&e, 1);
	penc_str(&e, "PORT");
	penc_str(&e, "80");
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "PORT is not a worker's setting"));
	penc_free(&e);
	penc_init(&e);
	penc_u32(&e, 2);
	penc_str(&e, "MAX_HISTORY_MESSAGES");
	penc_str(&e, "1");
	penc_str(&e, "MAX_HISTORY_MESSAGES");
	penc_str(&e, "2");
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	penc_free(&e);
	penc_init(&e);
	penc_u32(&e, 1);
	penc_str(&e, "MAX_HISTORY_MESSAGES");
	penc_str(&e, "0");
	penc_u8(&e, 0);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "MAX_HISTORY_MESSAGES must be"));
	penc_free(&e);
	penc_init(&e);
	penc_u32(&e, 100000);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	penc_free(&e);
}

/*
 * PARLEY_PUBLIC_URL as the workers get it: masterd sends its default when
 * unset (workers_env), and whether the operator set it, which the
 * invitation links need (users.c): the value alone cannot tell.
 */
static void
test_msg_public_url(void **state)
{
	const char *set[] = { "PARLEY_PUBLIC_URL", "https://chat.example.com/",
	    NULL };
	const char *dflt[] = { "PARLEY_PUBLIC_URL", "http://localhost:4000",
	    NULL };
	struct settings st;
	struct penc e;
	char err[SETTINGS_ERR_MAX];

	/* masterd's own: set or not. */
	assert_int_equal(parse(&st, err, sizeof(err), NULL), 0);
	assert_false(st.public_url_set);
	settings_free(&st);
	assert_int_equal(parse(&st, err, sizeof(err), "PARLEY_PUBLIC_URL",
	    "https://chat.example.com/", NULL), 0);
	assert_true(st.public_url_set);
	settings_free(&st);
	/* The workers': as the message says. */
	penc_init(&e);
	settings_msg_encode(&e, get, set, 1, NULL);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_string_equal(st.public_url, "https://chat.example.com/");
	assert_true(st.public_url_set);
	settings_free(&st);
	penc_free(&e);
	penc_init(&e);
	settings_msg_encode(&e, get, dflt, 0, NULL);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_string_equal(st.public_url, "http://localhost:4000");
	assert_false(st.public_url_set);
	settings_free(&st);
	penc_free(&e);
	/* Neither 0 nor 1; none. */
	penc_init(&e);
	penc_u32(&e, 0);
	penc_u8(&e, 2);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "public_url_set"));
	penc_free(&e);
	penc_init(&e);
	penc_u32(&e, 0);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "public_url_set"));
	penc_free(&e);
}

/*
 * A secret masterd does not give a child (masterd/procs.c) goes as its
 * name and an empty value: its bytes are nowhere in the message, the
 * child reads it unset and withheld, and SMTP_USER without its withheld
 * password is not refused (in production too); a password merely unset
 * still is. The table's secrets fit struct settings' withheld.
 */
static void
test_msg_withheld(void **state)
{
	static const char *const secrets[] = { "WIDGET_API_KEY",
	    "ADMIN_API_KEY", "DASHBOARD_PASSWORD", "OPENAI_API_KEY",
	    "SMTP_PASSWORD" };
	const char *kv[] = { "NODE_ENV", "production",
	    "WIDGET_API_KEY", KEY24 "-widget", "ADMIN_API_KEY", KEY24 "-admin",
	    "DASHBOARD_PASSWORD", "dashboard-password-1",
	    "OPENAI_API_KEY", "sk-openai-key-1",
	    "SMTP_URL", "smtps://mail.example.com", "SMTP_FROM", "a@example.com",
	    "SMTP_USER", "mailer", "SMTP_PASSWORD", "smtp-password-1",
	    "CORS_ORIGIN", "https://a.com", NULL };
	const char *gives[] = { "OPENAI_API_KEY", NULL };
	struct settings st;
	struct penc e;
	char err[SETTINGS_ERR_MAX];
	size_t i, n = 0;

	for (i = 0; i < settings_count; i++)
		n += settings_table[i].type == SETTING_SECRET;
	assert_true(n <= 32);
	penc_init(&e);
	settings_msg_encode(&e, get, kv, 0, gives);
	assert_false(e.err);
	for (i = 0; kv[i] != NULL; i += 2)
		if (strcmp(kv[i], "OPENAI_API_KEY") != 0 &&
		    settings_find(kv[i])->type == SETTING_SECRET)
			assert_null(memmem(e.buf, e.len, kv[i + 1],
			    strlen(kv[i + 1])));
	assert_non_null(memmem(e.buf, e.len, "sk-openai-key-1", 15));
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_true(st.production);
	assert_string_equal(st.openai_key, "sk-openai-key-1");
	assert_null(st.widget_key);
	assert_null(st.admin_key);
	assert_null(st.dashboard_password);
	assert_null(st.smtp_password);
	assert_string_equal(st.smtp_user, "mailer");
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_int_equal(settings_withheld(&st, secrets[i]),
		    strcmp(secrets[i], "OPENAI_API_KEY") != 0);
	assert_false(settings_withheld(&st, "SMTP_USER"));
	assert_false(settings_withheld(&st, "NO_SUCH_SETTING"));
	settings_free(&st);
	penc_free(&e);

	/* Every secret given (NULL): none withheld. */
	penc_init(&e);
	settings_msg_encode(&e, get, kv, 0, NULL);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_string_equal(st.smtp_password, "smtp-password-1");
	assert_int_equal(st.withheld, 0);
	settings_free(&st);
	penc_free(&e);

	/* SMTP_USER with a password neither given nor withheld: refused. */
	penc_init(&e);
	penc_u32(&e, 3);
	penc_str(&e, "SMTP_URL");
	penc_str(&e, "smtps://mail.example.com");
	penc_str(&e, "SMTP_FROM");
	penc_str(&e, "a@example.com");
	penc_str(&e, "SMTP_USER");
	penc_str(&e, "mailer");
	penc_u8(&e, 0);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "SMTP_USER and SMTP_PASSWORD go together"));
	penc_free(&e);
}

/* settings_wipe: every secret zeroed where it is, the rest untouched. */
static void
test_wipe(void **state)
{
	struct settings st;
	char err[SETTINGS_ERR_MAX];
	char *widget;
	size_t i, len = strlen(KEY24);

	assert_int_equal(parse(&st, err, sizeof(err), "WIDGET_API_KEY", KEY24,
	    "OPENAI_API_KEY", "sk-1", "SYSTEM_PROMPT", "Be brief.", NULL), 0);
	widget = st.widget_key;
	settings_wipe(&st);
	assert_ptr_equal(st.widget_key, widget);
	for (i = 0; i < len; i++)
		assert_int_equal(widget[i], 0);
	assert_string_equal(st.openai_key, "");
	assert_null(st.admin_key);
	assert_string_equal(st.system_prompt, "Be brief.");
	settings_free(&st);
}

/*
 * A value longer than the workers' decoder takes is refused by masterd's
 * parse, naming it: a list (CORS_ORIGIN) or a number with leading zeros
 * once passed masterd and stopped every worker. At the bound it passes.
 */
static void
test_value_max(void **state)
{
	struct settings st;
	struct penc e;
	char err[SETTINGS_ERR_MAX];
	size_t n = SETTINGS_VALUE_MAX + 1, head = strlen("https://a.example ");
	char *v = malloc(n + 1);
	const char *kv[] = { "CORS_ORIGIN", v, NULL };

	assert_non_null(v);
	/* "https://a.example" and spaces: a list masterd read entry by entry */
	memset(v, ' ', n);
	memcpy(v, "https://a.example ", head);
	v[n] = '\0';
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_MASTERD, get, kv,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CORS_ORIGIN must be at most 65536 bytes"));
	/* zeros before a number */
	kv[0] = "PARLEY_IDLE_TIMEOUT_MS";
	memset(v, '0', n);
	memcpy(v + n - 5, "60000", 5);
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_MASTERD, get, kv,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PARLEY_IDLE_TIMEOUT_MS must be at most"));
	/* One byte fewer: masterd takes it, and so does a worker. */
	memmove(v, v + 1, n);
	assert_int_equal(settings_parse_for(&st, SETTINGS_P_MASTERD, get, kv,
	    err, sizeof(err)), 0);
	assert_int_equal(st.idle_timeout_ms, 60000);
	settings_free(&st);
	penc_init(&e);
	settings_msg_encode(&e, get, kv, 0, NULL);
	assert_int_equal(settings_msg_decode(&st, e.buf, e.len, err,
	    sizeof(err)), 0);
	assert_int_equal(st.idle_timeout_ms, 60000);
	settings_free(&st);
	penc_free(&e);
	free(v);
}

/* sa's address as ipaddr_from_sockaddr takes it, formatted; its family checked. */
static const char *
sockaddr_shown(const void *sa, socklen_t len, int family)
{
	static char buf[64];
	struct ipaddr a;

	ipaddr_from_sockaddr(sa, len, &a);
	assert_int_equal(a.family, family);
	ipaddr_format(&a, buf, sizeof(buf));
	return buf;
}

static void
test_sockaddr(void **state)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	assert_string_equal(sockaddr_shown(&s4, sizeof(s4), 4), "192.0.2.7");

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::42", &s6.sin6_addr);
	assert_string_equal(sockaddr_shown(&s6, sizeof(s6), 6),
	    "2001:db8::42");
	/* A v4 client on a dual-stack socket is shown as IPv4. */
	inet_pton(AF_INET6, "::ffff:198.51.100.1", &s6.sin6_addr);
	assert_string_equal(sockaddr_shown(&s6, sizeof(s6), 4),
	    "198.51.100.1");

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	assert_string_equal(sockaddr_shown(&su, sizeof(su), 0), "local");
}

/* MW_CONN's address on the wire: each family through and back; the rest refused. */
static void
test_ipaddr_wire(void **state)
{
	static const char *const tab[] = { "192.0.2.7", "2001:db8::42" };
	uint8_t b[IPADDR_WIRE_LEN];
	struct ipaddr a, back, none;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		assert_int_equal(ipaddr_parse(tab[i], strlen(tab[i]), &a), 0);
		ipaddr_enc(b, &a);
		assert_int_equal(ipaddr_dec(b, sizeof(b), &back), 0);
		assert_memory_equal(&a, &back, sizeof(a));
		ipaddr_format(&back, buf, sizeof(buf));
		assert_string_equal(buf, tab[i]);
	}
	memset(&none, 0, sizeof(none));
	ipaddr_enc(b, &none);
	assert_int_equal(ipaddr_dec(b, sizeof(b), &back), 0);
	assert_int_equal(back.family, 0);
	/* An IPv4 address's bytes past its four are not taken. */
	ipaddr_parse("192.0.2.7", 9, &a);
	ipaddr_enc(b, &a);
	b[9] = 0xff;
	assert_int_equal(ipaddr_dec(b, sizeof(b), &back), 0);
	assert_memory_equal(&a, &back, sizeof(a));
	/* Another length (an older masterd's empty payload), another family. */
	assert_int_equal(ipaddr_dec(b, 0, &back), -1);
	assert_int_equal(ipaddr_dec(b, sizeof(b) - 1, &back), -1);
	b[0] = 5;
	assert_int_equal(ipaddr_dec(b, sizeof(b), &back), -1);
	assert_int_equal(back.family, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_ipaddr_wire),
		cmocka_unit_test(test_ipv4_format),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bundle_path),
		cmocka_unit_test(test_apikey),
		cmocka_unit_test(test_cors),
		cmocka_unit_test(test_production),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_trust_proxy),
		cmocka_unit_test(test_model_allow_hosts),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_storaged),
		cmocka_unit_test(test_smtp),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_procs),
		cmocka_unit_test(test_msg),
		cmocka_unit_test(test_msg_public_url),
		cmocka_unit_test(test_msg_withheld),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_value_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
