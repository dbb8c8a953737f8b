/*
 * A name resolved off the loop (lib/dnslookup.c), localhost from
 * /etc/hosts (no DNS traffic): done runs on the loop, never before the
 * start returns; dnslookup_start gives the first address alone,
 * dnslookup_start_all every address too (the caller's to free), each
 * one loopback with the port asked for; a second start while one is
 * pending starts nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "dnslookup.h"
#include "loop.h"

static int answers;

static void
answered(struct dnslookup *l)
{
	(void)l;
	answers++;
}

/* Turns the loop until n answers in all, or 10 s. */
static void
wait_answers(int n)
{
	uint64_t end = loop_clock() + 10000;

	while (answers < n && loop_clock() < end)
		loop_once(20);
	assert_int_equal(answers, n);
}

/* sa is a loopback address (127/8 or ::1) with port 8080. */
static void
assert_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *in = (const void *)sa;
	const struct sockaddr_in6 *in6 = (const void *)sa;

	if (sa->sa_family == AF_INET) {
		assert_int_equal(ntohl(in->sin_addr.s_addr) >> 24, 127);
		assert_int_equal(ntohs(in->sin_port), 8080);
	} else {
		assert_int_equal(sa->sa_family, AF_INET6);
		assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
		assert_int_equal(ntohs(in6->sin6_port), 8080);
	}
}

static void
test_first(void **state)
{
	static struct dnslookup l;

	(void)state;
	answers = 0;
	assert_int_equal(dnslookup_start(&l, "localhost", 8080, answered), 0);
	assert_int_equal(dnslookup_start(&l, "localhost", 8080, answered), 1);
	assert_int_equal(answers, 0);	/* not yet */
	wait_answers(1);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.pending, 0);
	assert_null(l.res);
	assert_loopback((const struct sockaddr *)&l.ss);
}

static void
test_all(void **state)
{
	static struct dnslookup l;
	const struct addrinfo *ai;
	int n = 0;

	(void)state;
	answers = 0;
	assert_int_equal(dnslookup_start_all(&l, "localhost", 8080, answered),
	    0);
	assert_int_equal(answers, 0);
	wait_answers(1);
	assert_int_equal(l.rc, 0);
	assert_non_null(l.res);
	/* The first address is in ss too. */
	assert_int_equal(l.sl, l.res->ai_addrlen);
	assert_memory_equal(&l.ss, l.res->ai_addr, l.sl);
	for (ai = l.res; ai != NULL; ai = ai->ai_next, n++)
		assert_loopback(ai->ai_addr);
	assert_true(n >= 1);
	freeaddrinfo(l.res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first),
		cmocka_unit_test(test_all),
	};

	loop_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
