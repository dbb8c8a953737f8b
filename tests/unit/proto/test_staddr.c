/*
 * Unit tests for proto/staddr.c: storaged's addresses and their lists,
 * as a table of what parses (and to what) and what is refused (and why).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "staddr.h"

static const struct {
	const char *in;
	int kind;
	const char *host_or_path;
	unsigned int port;
	int ip;
	const char *text;
} good[] = {
	{ "unix:/run/parley/storaged.sock", STADDR_UNIX,
	    "/run/parley/storaged.sock", 0, 0, "unix:/run/parley/storaged.sock" },
	{ "unix:./var/run/storaged.sock", STADDR_UNIX,
	    "./var/run/storaged.sock", 0, 0, "unix:./var/run/storaged.sock" },
	{ "tls://10.0.0.5:4100", STADDR_TLS, "10.0.0.5", 4100, 4,
	    "tls://10.0.0.5:4100" },
	{ "TLS://127.0.0.1:1", STADDR_TLS, "127.0.0.1", 1, 4,
	    "tls://127.0.0.1:1" },
	{ "tls://[::1]:65535", STADDR_TLS, "::1", 65535, 6,
	    "tls://[::1]:65535" },
	{ "tls://[fd00::5]:4100", STADDR_TLS, "fd00::5", 4100, 6,
	    "tls://[fd00::5]:4100" },
	{ "tls://db1.example.com:4100", STADDR_TLS, "db1.example.com", 4100, 0,
	    "tls://db1.example.com:4100" },
	{ "tls://db-1:4100", STADDR_TLS, "db-1", 4100, 0, "tls://db-1:4100" },
	{ "tls://0.0.0.0:4100", STADDR_TLS, "0.0.0.0", 4100, 4,
	    "tls://0.0.0.0:4100" },
};

static const struct {
	const char *in;
	const char *why;
} bad[] = {
	{ "", "unix:/path or tls://HOST:PORT" },
	{ "/run/parley/storaged.sock", "unix:/path or tls://HOST:PORT" },
	{ "unix:", "no path" },
	{ "unix:/a\tb", "control character" },
	{ "tcp://10.0.0.5:4100", "unix:/path or tls://HOST:PORT" },
	{ "tls://10.0.0.5", "no :PORT" },
	{ "tls://10.0.0.5:", "the port" },
	{ "tls://10.0.0.5:0", "the port" },
	{ "tls://10.0.0.5:65536", "the port" },
	{ "tls://10.0.0.5:41x", "the port" },
	{ "tls://10.0.0.5:+41", "the port" },
	{ "tls://:4100", "no host" },
	{ "tls://::1:4100", "in brackets" },
	{ "tls://[::1:4100", "lacks its ]" },
	{ "tls://[::1]4100", "no :PORT" },
	{ "tls://[10.0.0.1]:4100", "not an IPv6" },
	{ "tls://[nothex::zz]:4100", "not an IPv6" },
	{ "tls://999.1.1.1:4100", "not an IPv4" },
	{ "tls://10.0.0:4100", "not an IPv4" },
	{ "tls://db_1:4100", "not an IP address or a DNS name" },
	{ "tls://-db:4100", "not an IP address or a DNS name" },
	{ "tls://db-.x:4100", "not an IP address or a DNS name" },
	{ "tls://a..b:4100", "not an IP address or a DNS name" },
	{ "tls://a b:4100", "not an IP address or a DNS name" },
	/* A user and password are no part of it, and never quoted back. */
	{ "tls://u:s3cretpw@db:4100", "\"tls://***@db:4100\": no user or "
	    "password" },
	{ "tls://u@db:4100", "no user or password" },
};

static void
test_one(void **state)
{
	struct staddr a;
	char err[STADDR_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (staddr_parse(good[i].in, strlen(good[i].in), &a, err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", good[i].in, err);
			fail();
		}
		assert_int_equal(a.kind, good[i].kind);
		assert_string_equal(a.kind == STADDR_UNIX ? a.path : a.host,
		    good[i].host_or_path);
		assert_int_equal(a.port, good[i].port);
		assert_int_equal(a.host_ip, good[i].ip);
		assert_string_equal(a.text, good[i].text);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (staddr_parse(bad[i].in, strlen(bad[i].in), &a, err,
		    sizeof(err)) == 0 || strstr(err, bad[i].why) == NULL) {
			fprintf(stderr, "%s: \"%s\"\n", bad[i].in, err);
			fail();
		}
	}
}

static void
test_list(void **state)
{
	struct staddr l[STADDR_LIST_MAX];
	char err[STADDR_ERR_MAX], nine[512];
	size_t n = 99, i;

	assert_int_equal(staddr_list_parse("", l, STADDR_LIST_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(staddr_list_parse("  ", l, STADDR_LIST_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(staddr_list_parse("tls://10.0.0.5:4100, "
	    "tls://[::1]:4100 ,unix:/x", l, STADDR_LIST_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(l[0].text, "tls://10.0.0.5:4100");
	assert_string_equal(l[1].text, "tls://[::1]:4100");
	assert_string_equal(l[2].text, "unix:/x");
	assert_true(staddr_any_tls(l, n));
	assert_false(staddr_any_tls(l + 2, 1));
	assert_int_equal(staddr_list_parse("tls://a:1,,tls://b:1", l,
	    STADDR_LIST_MAX, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty entry"));
	assert_int_equal(staddr_list_parse("tls://a:1,", l, STADDR_LIST_MAX,
	    &n, err, sizeof(err)), -1);
	assert_int_equal(staddr_list_parse("tls://a:1,nope", l,
	    STADDR_LIST_MAX, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"nope\""));
	nine[0] = '\0';
	for (i = 0; i < 9; i++)
		snprintf(nine + strlen(nine), sizeof(nine) - strlen(nine),
		    "%stls://10.0.0.%zu:4100", i ? "," : "", i + 1);
	assert_int_equal(staddr_list_parse(nine, l, STADDR_LIST_MAX, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 8"));
	*strrchr(nine, ',') = '\0';
	assert_int_equal(staddr_list_parse(nine, l, STADDR_LIST_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 8);
}

static int
sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t sl = sizeof(v);

	assert_int_equal(getsockopt(fd, level, name, &v, &sl), 0);
	return v;
}

/* A listener on loopback and a connect to it, both from addresses. */
static void
test_sockets(void **state)
{
	struct staddr a;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char err[STADDR_ERR_MAX], text[64];
	int l, c, inp;

	assert_int_equal(staddr_parse("tls://127.0.0.1:1", 17, &a, err,
	    sizeof(err)), 0);
	a.port = 0;	/* any free port */
	assert_true((l = staddr_listen(&a, err, sizeof(err))) >= 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	snprintf(text, sizeof(text), "tls://127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(staddr_parse(text, strlen(text), &a, err,
	    sizeof(err)), 0);
	assert_true((c = staddr_connect(&a, &inp, err, sizeof(err))) >= 0);
	/* A peer that vanishes is given up within 5 s, idle or not. */
	assert_int_equal(staddr_dead_after(&a, c, 5000), 0);
	assert_int_equal(sockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
	assert_int_equal(sockopt(c, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(sockopt(c, IPPROTO_TCP, TCP_KEEPIDLE), 2);
	close(c);
	close(l);
	/* Nobody there now: refused at once or once connected. */
	c = staddr_connect(&a, &inp, err, sizeof(err));
	if (c >= 0)
		close(c);
	else
		assert_non_null(strstr(err, text));
	assert_int_equal(staddr_parse("unix:/nonexistent/x.sock", 24, &a, err,
	    sizeof(err)), 0);
	assert_int_equal(staddr_connect(&a, &inp, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(staddr_dead_after(&a, -1, 5000), 0);	/* unix: nothing */
	assert_non_null(strstr(err, "unix:/nonexistent/x.sock"));
	assert_int_equal(staddr_listen(&a, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_sockets),
	};

	log_init("test_staddr");
	log_set_level(LOG_LEVEL_FATAL);
	return cmocka_run_group_tests_name("staddr", tests, NULL, NULL);
}
