/* Unit tests: PORT, PARLEY_HOST, PARLEY_WORKERS, timeouts, LISTEN_FDS (by the settings table); address format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "masterd.h"
#include "settings.h"

/* masterd's numbers are the table's rows (lib/settingtab.c). */
static int
port(const char *s, uint32_t *p)
{
	return settings_number("PORT", s, DEFAULT_PORT, p);
}

static int
workers(const char *s, long ncpu, uint32_t *n)
{
	return settings_number("PARLEY_WORKERS", s,
	    (uint32_t)default_workers(ncpu), n);
}

static int
grace(const char *s, uint32_t def, uint32_t *ms)
{
	return settings_number("PARLEY_SHUTDOWN_TIMEOUT_MS", s, def, ms);
}

static void
test_port(void **state)
{
	uint32_t p = 0;

	assert_int_equal(port(NULL, &p), 0);
	assert_int_equal(p, 4000);
	assert_int_equal(port("", &p), 0);
	assert_int_equal(p, 4000);
	assert_int_equal(port("8080", &p), 0);
	assert_int_equal(p, 8080);
	assert_int_equal(port("1", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(port("65535", &p), 0);
	assert_int_equal(p, 65535);

	p = 42;
	assert_int_equal(port("0", &p), -1);
	assert_int_equal(port("65536", &p), -1);
	assert_int_equal(port("-1", &p), -1);
	assert_int_equal(port("http", &p), -1);
	assert_int_equal(port("80x", &p), -1);
	assert_int_equal(port("4000 ", &p), -1);
	assert_int_equal(port("99999999999999999999", &p), -1);
	assert_int_equal(p, 42);	/* untouched on error */
}

static void
test_workers(void **state)
{
	uint32_t n = 0;

	assert_int_equal(workers(NULL, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(workers("", 8, &n), 0);
	assert_int_equal(n, 8);
	/* sysconf may fail (-1) or report more cores than we allow. */
	assert_int_equal(workers(NULL, -1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(workers(NULL, 1024, &n), 0);
	assert_int_equal(n, MAX_WORKERS);
	assert_int_equal(workers("1", 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(workers("256", 4, &n), 0);
	assert_int_equal(n, 256);

	assert_int_equal(workers("0", 4, &n), -1);
	assert_int_equal(workers("257", 4, &n), -1);
	assert_int_equal(workers("-2", 4, &n), -1);
	assert_int_equal(workers("two", 4, &n), -1);
}

static void
test_ms(void **state)
{
	uint32_t ms = 0;

	assert_int_equal(grace(NULL, 10000, &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(grace("", 10000, &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(grace("0", 10000, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(grace("2500", 10000, &ms), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(grace("-1", 10000, &ms), -1);
	assert_int_equal(grace("10s", 10000, &ms), -1);
	assert_int_equal(grace("86400001", 10000, &ms), -1);
}

static void
test_listen_fds(void **state)
{
	int n = -1;

	/* Not socket-activated. */
	assert_int_equal(parse_listen_fds(NULL, NULL, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse_listen_fds(NULL, "1", 100, &n), 0);
	assert_int_equal(n, 0);
	/* Meant for another process (we were started by something that was). */
	assert_int_equal(parse_listen_fds("99", "1", 100, &n), 0);
	assert_int_equal(n, 0);
	/* Ours. */
	assert_int_equal(parse_listen_fds("100", "1", 100, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(parse_listen_fds("100", "3", 100, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(parse_listen_fds("100", "0", 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse_listen_fds("100", NULL, 100, &n), 0);
	assert_int_equal(n, 0);
	/* Malformed. */
	assert_int_equal(parse_listen_fds("abc", "1", 100, &n), -1);
	assert_int_equal(parse_listen_fds("0", "1", 100, &n), -1);
	assert_int_equal(parse_listen_fds("100", "x", 100, &n), -1);
	assert_int_equal(parse_listen_fds("100", "-1", 100, &n), -1);
	/* A bad LISTEN_FDS for someone else is not our problem. */
	assert_int_equal(parse_listen_fds("99", "x", 100, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_host(void **state)
{
	char h[64];
	char longname[300];

	assert_int_equal(parse_host(NULL, h, sizeof(h)), 0);
	assert_string_equal(h, "0.0.0.0");
	assert_int_equal(parse_host("", h, sizeof(h)), 0);
	assert_string_equal(h, "0.0.0.0");
	assert_int_equal(parse_host("127.0.0.1", h, sizeof(h)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(parse_host("::1", h, sizeof(h)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(parse_host("[::1]", h, sizeof(h)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(parse_host("::", h, sizeof(h)), 0);
	assert_string_equal(h, "::");

	assert_int_equal(parse_host("[::1", h, sizeof(h)), -1);
	assert_int_equal(parse_host("[]", h, sizeof(h)), -1);
	assert_int_equal(parse_host("::1]", h, sizeof(h)), -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(parse_host(longname, h, sizeof(h)), -1);
}

static void
test_sockaddr_fmt(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	char buf[128];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4000);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sockaddr_fmt(&sin, sizeof(sin), buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:4000");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(8080);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	sockaddr_fmt(&sin6, sizeof(sin6), buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8080");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/run/parley.sock", sizeof(sun.sun_path));
	sockaddr_fmt(&sun, offsetof(struct sockaddr_un, sun_path) +
	    strlen(sun.sun_path) + 1, buf, sizeof(buf));
	assert_string_equal(buf, "unix:/run/parley.sock");
}

/* The parsers take their ranges from the one settings table. */
static void
test_table(void **state)
{
	const struct setting *r;
	uint32_t v = 0;

	r = settings_find("PORT");
	assert_non_null(r);
	assert_int_equal(r->min, 1);
	assert_int_equal(r->max, 65535);
	assert_string_equal(r->def, "4000");
	assert_int_equal(DEFAULT_PORT, 4000);
	r = settings_find("PARLEY_WORKERS");
	assert_int_equal(r->max, MAX_WORKERS);
	assert_string_equal(settings_shown(r), "one per core");
	r = settings_find("PARLEY_SHUTDOWN_TIMEOUT_MS");
	assert_int_equal(r->max, MAX_GRACE_MS);
	assert_int_equal(r->min, 0);
	assert_int_equal(grace("86400000", 1, &v), 0);
	assert_int_equal(v, MAX_GRACE_MS);
	r = settings_find("PARLEY_HOST");
	assert_string_equal(r->def, DEFAULT_HOST);
	/* Not masterd's to read from the table: systemd's. */
	assert_int_equal(settings_find("LISTEN_FDS")->type, SETTING_SYSTEMD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_ms),
		cmocka_unit_test(test_listen_fds),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_sockaddr_fmt),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests_name("masterd config", tests, NULL,
	    NULL);
}
