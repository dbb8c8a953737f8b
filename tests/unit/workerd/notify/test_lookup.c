/*
 * A webhook URL's name resolved off the loop (workerd/notify/lookup.c):
 * the verdict comes on the loop, never before the start returns;
 * localhost (from /etc/hosts: no DNS traffic) is refused unless private
 * addresses are allowed; a cancelled lookup never calls back, and still
 * ends (its slot is free again); at most NOTIFY_LOOKUPS_MAX in flight,
 * NOTIFY_LOOKUPS_ORG of them one organisation's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "loop.h"
#include "notify.h"

struct verdict {
	int told;
	const char *why;
};

static void
told(void *arg, const char *why)
{
	struct verdict *v = arg;

	v->told++;
	v->why = why;
}

/* Turns the loop until every verdict in vs is told, or 10 s. */
static void
wait_told(struct verdict *vs, size_t n)
{
	uint64_t end = loop_clock() + 10000;
	size_t i, done;

	do {
		loop_once(20);
		for (done = 0, i = 0; i < n; i++)
			done += vs[i].told > 0;
	} while (done < n && loop_clock() < end);
}

static void
target(struct url_target *t, const char *url)
{
	const char *why;

	assert_int_equal(urlpol_parse(url, t, &why), 0);
}

static void
test_localhost(void **state)
{
	struct url_target t;
	struct verdict refused = { 0, NULL }, allowed = { 0, "x" };

	target(&t, "http://localhost:8080/h");
	assert_non_null(notify_lookup_start(&t, 0, "", told, &refused));
	assert_non_null(notify_lookup_start(&t, 1, "", told, &allowed));
	assert_int_equal(refused.told + allowed.told, 0);	/* not yet */
	wait_told(&refused, 1);
	wait_told(&allowed, 1);
	assert_int_equal(refused.told, 1);
	assert_string_equal(refused.why,
	    "url: resolves to a private, loopback or link-local address");
	assert_int_equal(allowed.told, 1);
	assert_null(allowed.why);
}

static void
test_cancel_and_bound(void **state)
{
	struct url_target t;
	struct notify_lookup *ls[NOTIFY_LOOKUPS_MAX];
	struct verdict vs[NOTIFY_LOOKUPS_MAX], last = { 0, NULL };
	char org[16];
	size_t i;

	memset(vs, 0, sizeof(vs));
	target(&t, "http://localhost/h");
	/* Each organisation its share: the fifth of one refused at once. */
	for (i = 0; i < NOTIFY_LOOKUPS_MAX; i++) {
		snprintf(org, sizeof(org), "org%zu", i / NOTIFY_LOOKUPS_ORG);
		assert_non_null(ls[i] = notify_lookup_start(&t, 1, org, told,
		    &vs[i]));
		if (i % NOTIFY_LOOKUPS_ORG == NOTIFY_LOOKUPS_ORG - 1 &&
		    i + 1 < NOTIFY_LOOKUPS_MAX)
			assert_null(notify_lookup_start(&t, 1, org, told,
			    &last));
	}
	/* Full: refused at once, whoever asks. */
	assert_null(notify_lookup_start(&t, 1, "another", told, &last));
	notify_lookup_cancel(ls[0]);
	wait_told(vs + 1, NOTIFY_LOOKUPS_MAX - 1);
	/* Let the cancelled one end too (freed, never told). */
	for (i = 0; i < 20; i++)
		loop_once(10);
	assert_int_equal(vs[0].told, 0);
	for (i = 1; i < NOTIFY_LOOKUPS_MAX; i++)
		assert_int_equal(vs[i].told, 1);
	/* Room again, the cancelled one's slot too: it ended. */
	memset(vs, 0, sizeof(vs));
	for (i = 0; i < NOTIFY_LOOKUPS_MAX; i++) {
		snprintf(org, sizeof(org), "org%zu", i / NOTIFY_LOOKUPS_ORG);
		assert_non_null(notify_lookup_start(&t, 1, org, told, &vs[i]));
	}
	wait_told(vs, NOTIFY_LOOKUPS_MAX);
	for (i = 0; i < NOTIFY_LOOKUPS_MAX; i++)
		assert_int_equal(vs[i].told, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_cancel_and_bound),
	};

	loop_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
