/* The loop's timer heap and deferred calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "loop.h"
#include "proto.h"

#define NT	500

static struct loop_timer timers[NT];
static uint64_t fired_at[NT];
static int order[NT], nfired;

static void
fire(void *arg)
{
	int i = (int)(intptr_t)arg;

	fired_at[i] = loop_now();
	order[nfired++] = i;
}

static void
test_heap_order(void **state)
{
	uint64_t base;
	int i, cancelled = 0;

	loop_init();
	base = loop_now();
	srandom(42);
	for (i = 0; i < NT; i++) {
		loop_timer_init(&timers[i], fire, (void *)(intptr_t)i);
		loop_timer_at(&timers[i], base + 10 + (uint64_t)(random() % 200));
	}
	/* Move some, stop some. */
	for (i = 0; i < NT; i += 7)
		loop_timer_at(&timers[i], base + 5 + (uint64_t)(random() % 250));
	for (i = 3; i < NT; i += 11) {
		loop_timer_stop(&timers[i]);
		assert_false(loop_timer_armed(&timers[i]));
		cancelled++;
	}
	assert_int_equal(loop_timer_count(), NT - cancelled);
	while (loop_timer_count() > 0)
		loop_once(50);
	assert_int_equal(nfired, NT - cancelled);
	for (i = 1; i < nfired; i++)
		assert_true(timers[order[i - 1]].hn.at <= timers[order[i]].hn.at);
	for (i = 0; i < nfired; i++)
		assert_true(fired_at[order[i]] >= timers[order[i]].hn.at);
}

static int ndefer;
static struct loop_defer d1, d2;

static void
deferred(void *arg)
{
	ndefer++;
	/* Queuing again from a deferred call runs it in the same round. */
	if (arg != NULL && ndefer < 3)
		loop_defer(&d2);
}

static void
test_defer(void **state)
{
	loop_defer_init(&d1, deferred, &d1);
	loop_defer_init(&d2, deferred, NULL);
	loop_defer(&d1);
	loop_defer(&d1);	/* once only */
	loop_once(0);
	assert_int_equal(ndefer, 2);
	loop_defer(&d2);
	loop_defer_cancel(&d2);
	loop_once(0);
	assert_int_equal(ndefer, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_defer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
