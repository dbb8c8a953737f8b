/*
 * The webhook retry schedule (workerd/notify/backoff.c): doubling from
 * 5 s to an hour, the jitter within (7/8, 1] of the wait, at least 24
 * hours and at most 30 of waiting in all, then no retry is left; another
 * first wait (PARLEY_NOTIFY_RETRY_MS) doubles to the same cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "notify.h"

#define HOUR_MS	3600000ULL

static void
test_doubling(void **state)
{
	assert_int_equal(notify_backoff_ms(1, 0), 5000);
	assert_int_equal(notify_backoff_ms(2, 0), 10000);
	assert_int_equal(notify_backoff_ms(3, 0), 20000);
	assert_int_equal(notify_backoff_ms(10, 0), 2560000);
	assert_int_equal(notify_backoff_ms(11, 0), HOUR_MS);
	assert_int_equal(notify_backoff_ms(NOTIFY_ATTEMPTS_MAX - 1, 0),
	    HOUR_MS);
	/* Out of range: the first, the last. */
	assert_int_equal(notify_backoff_ms(0, 0), 5000);
	assert_int_equal(notify_backoff_ms(1000, 0), HOUR_MS);
	assert_int_equal(notify_backoff_ms(~0U, 0), HOUR_MS);
}

/* PARLEY_NOTIFY_RETRY_MS: another first wait, the same cap. */
static void
test_from_base(void **state)
{
	assert_int_equal(notify_backoff_from(200, 1, 0), 200);
	assert_int_equal(notify_backoff_from(200, 2, 0), 400);
	assert_int_equal(notify_backoff_from(200, 5, 0), 3200);
	assert_true(notify_backoff_from(200, 1, 0xffffffff) > 175);
	assert_int_equal(notify_backoff_from(60000, 7, 0), HOUR_MS);
	assert_int_equal(notify_backoff_from(0, 1, 0), 1);
	assert_int_equal(notify_backoff_from(NOTIFY_BACKOFF_BASE_MS, 4, 7),
	    notify_backoff_ms(4, 7));
}

static void
test_jitter(void **state)
{
	static const uint32_t rnd[] = { 0, 1, 0x7fffffff, 0x80000000,
	    0xdeadbeef, 0xffffffff };
	uint64_t w, full;
	unsigned n;
	size_t i;

	for (n = 1; n < NOTIFY_ATTEMPTS_MAX; n++) {
		full = notify_backoff_ms(n, 0);
		for (i = 0; i < sizeof(rnd) / sizeof(rnd[0]); i++) {
			w = notify_backoff_ms(n, rnd[i]);
			assert_true(w <= full);
			assert_true(w * 8 > full * 7);
		}
		/* Each retry waits longer than the one before, or as long. */
		if (n > 1)
			assert_true(full >= notify_backoff_ms(n - 1, 0));
	}
	assert_int_equal(notify_backoff_ms(1, 0x80000000), 5000 - 312);
	assert_int_equal(notify_backoff_ms(11, 0xffffffff), 3150000 + 1);
}

static void
test_total(void **state)
{
	uint64_t lo = 0, hi = 0;
	unsigned n;

	for (n = 1; n < NOTIFY_ATTEMPTS_MAX; n++) {
		lo += notify_backoff_ms(n, 0xffffffff);
		hi += notify_backoff_ms(n, 0);
	}
	assert_true(lo >= 24 * HOUR_MS);
	assert_true(hi <= 30 * HOUR_MS);
	/* The figures in backoff.c's comment. */
	assert_int_equal(hi, 102315000);
	assert_int_equal(lo / 1000, 89525);
	/* One retry fewer would be short of 24 hours. */
	assert_true(lo - notify_backoff_ms(NOTIFY_ATTEMPTS_MAX - 1,
	    0xffffffff) < 24 * HOUR_MS);
}

static void
test_done(void **state)
{
	unsigned n;

	for (n = 0; n < NOTIFY_ATTEMPTS_MAX; n++)
		assert_int_equal(notify_backoff_done(n), 0);
	assert_int_equal(notify_backoff_done(NOTIFY_ATTEMPTS_MAX), 1);
	assert_int_equal(notify_backoff_done(NOTIFY_ATTEMPTS_MAX + 1), 1);
	assert_int_equal(notify_backoff_done(~0U), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_from_base),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
