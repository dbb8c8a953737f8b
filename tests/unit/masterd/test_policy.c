/*
 * Unit tests: who may take a connection (only a ready worker, never the
 * notifier), least-loaded choice (ties, pending counts, full channels),
 * backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "masterd.h"

static void
test_pick_least_loaded(void **state)
{
	struct pick_cand c[3] = {
		{ .load = 7 }, { .load = 2 }, { .load = 5 },
	};

	assert_int_equal(pick_best(c, 3), 1);
	c[1].load = 9;
	assert_int_equal(pick_best(c, 3), 2);
}

static void
test_pick_empty(void **state)
{
	assert_int_equal(pick_best(NULL, 0), -1);
}

/* Load counts what was sent since the last WM_LOAD, not the report alone. */
static void
test_pick_counts_pending(void **state)
{
	struct pick_cand c[2];
	uint32_t reported[2] = { 1, 3 }, sent[2] = { 0, 0 };
	uint64_t last[2] = { 0, 0 }, serial = 0;
	int i, got, order[6];
	const int want[6] = { 0, 0, 1, 0, 1, 0 };

	for (i = 0; i < 6; i++) {
		c[0] = (struct pick_cand){ reported[0] + sent[0], 0, last[0] };
		c[1] = (struct pick_cand){ reported[1] + sent[1], 0, last[1] };
		got = pick_best(c, 2);
		assert_true(got == 0 || got == 1);
		sent[got]++;
		last[got] = ++serial;
		order[i] = got;
	}
	/* 1+4 vs 3+2: the sent counts kept them level. */
	assert_memory_equal(order, want, sizeof(want));

	/* A new report replaces report + sent. */
	reported[0] = 0;
	sent[0] = 0;
	c[0] = (struct pick_cand){ reported[0] + sent[0], 0, last[0] };
	c[1] = (struct pick_cand){ reported[1] + sent[1], 0, last[1] };
	assert_int_equal(pick_best(c, 2), 0);
}

/* Equal loads rotate: whoever was picked longest ago goes next. */
static void
test_pick_ties_round_robin(void **state)
{
	struct pick_cand c[3];
	uint64_t serial = 0;
	int i, got, seen[3] = { 0, 0, 0 };

	memset(c, 0, sizeof(c));
	for (i = 0; i < 9; i++) {
		got = pick_best(c, 3);
		assert_int_equal(got, i % 3);
		c[got].last_pick = ++serial;
		seen[got]++;
	}
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 3);
	assert_int_equal(seen[2], 3);
}

static void
test_pick_cmp_order(void **state)
{
	struct pick_cand a = { 1, 0, 5 }, b = { 1, 0, 5 };

	assert_int_equal(pick_cmp(&a, &b), 0);
	b.last_pick = 4;
	assert_true(pick_cmp(&a, &b) > 0);
	b.load = 2;
	assert_true(pick_cmp(&a, &b) < 0);
	a.queued = CHAN_SOFT_BYTES;
	assert_true(pick_cmp(&a, &b) > 0);
}

/* A backed-up channel loses to a busier worker that reads its channel. */
static void
test_pick_avoids_backed_up_channel(void **state)
{
	struct pick_cand c[2] = {
		{ .load = 0, .queued = CHAN_SOFT_BYTES },
		{ .load = 50, .queued = 12 },
	};

	assert_int_equal(pick_best(c, 2), 1);
	/* Both backed up: load decides again. */
	c[1].queued = CHAN_SOFT_BYTES + 100;
	assert_int_equal(pick_best(c, 2), 0);
	/* Past the hard mark a worker gets nothing at all. */
	c[0].queued = CHAN_HARD_BYTES;
	assert_int_equal(pick_best(c, 2), 1);
	c[1].queued = CHAN_HARD_BYTES + 1;
	assert_int_equal(pick_best(c, 2), -1);
}

/* Only a row that takes connections, ready, not quitting, reading. */
static void
test_pick_can_take(void **state)
{
	struct worker w;

	memset(&w, 0, sizeof(w));
	w.proc = proc_of(ROLE_WORKER);
	w.ready = 1;
	w.ch_open = 1;
	assert_true(pick_can_take(&w));
	w.ch.wq_bytes = CHAN_HARD_BYTES - 1;
	assert_true(pick_can_take(&w));
	w.ch.wq_bytes = CHAN_HARD_BYTES;
	assert_false(pick_can_take(&w));
	w.ch.wq_bytes = 0;
	w.ready = 0;
	assert_false(pick_can_take(&w));
	w.ready = 1;
	w.quitting = 1;
	assert_false(pick_can_take(&w));
	w.quitting = 0;
	w.ch_open = 0;
	assert_false(pick_can_take(&w));
	w.ch_open = 1;
	assert_true(pick_can_take(&w));

	/* The same record as the notifier: never, however idle. */
	w.proc = proc_of(ROLE_NOTIFIER);
	assert_false(pick_can_take(&w));
}

static void
test_backoff_schedule(void **state)
{
	assert_int_equal(backoff_ms(0), 0);
	assert_int_equal(backoff_ms(1), 100);
	assert_int_equal(backoff_ms(2), 200);
	assert_int_equal(backoff_ms(3), 400);
	assert_int_equal(backoff_ms(4), 800);
	assert_int_equal(backoff_ms(8), 12800);
	assert_int_equal(backoff_ms(9), 25600);
	assert_int_equal(backoff_ms(10), 30000);
	assert_int_equal(backoff_ms(11), 30000);
	assert_int_equal(backoff_ms(1000), 30000);
	assert_int_equal(backoff_ms(UINT32_MAX), 30000);
}

static void
test_backoff_monotonic(void **state)
{
	unsigned i;

	for (i = 1; i < 100; i++) {
		assert_true(backoff_ms(i + 1) >= backoff_ms(i));
		assert_true(backoff_ms(i) >= BACKOFF_MIN_MS);
		assert_true(backoff_ms(i) <= BACKOFF_MAX_MS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_least_loaded),
		cmocka_unit_test(test_pick_empty),
		cmocka_unit_test(test_pick_counts_pending),
		cmocka_unit_test(test_pick_ties_round_robin),
		cmocka_unit_test(test_pick_cmp_order),
		cmocka_unit_test(test_pick_avoids_backed_up_channel),
		cmocka_unit_test(test_pick_can_take),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_backoff_monotonic),
	};

	return cmocka_run_group_tests_name("masterd policy", tests, NULL,
	    NULL);
}
