/*
 * Unit tests: lib/heap.c, the min-heap under the loop's timers and the
 * rate windows. Random pushes, moves and removals, checked after each
 * step against the items' own keys: the order holds, every node knows
 * its place, and the top is the soonest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"

#define ITEMS	300
#define STEPS	20000

struct item {
	int id;
	struct heap_node hn;
};

/* The heap's order and places, and its top against a scan of the items. */
static void
check(const struct heap *h, struct item *it)
{
	size_t i, in = 0;
	uint64_t least = UINT64_MAX;

	for (i = 0; i < h->len; i++) {
		assert_int_equal(h->v[i]->slot, i + 1);
		if (i > 0)
			assert_true(h->v[(i - 1) / 2]->at <= h->v[i]->at);
	}
	for (i = 0; i < ITEMS; i++) {
		if (it[i].hn.slot == 0)
			continue;
		in++;
		assert_ptr_equal(h->v[it[i].hn.slot - 1], &it[i].hn);
		if (it[i].hn.at < least)
			least = it[i].hn.at;
	}
	assert_int_equal(in, h->len);
	if (in == 0)
		assert_null(heap_top(h));
	else
		assert_int_equal(heap_top(h)->at, least);
}

static void
test_random(void **state)
{
	struct item it[ITEMS];
	struct heap h = { 0 };
	size_t step, i;

	(void)state;
	srandom(39);
	memset(it, 0, sizeof(it));
	for (i = 0; i < ITEMS; i++)
		it[i].id = (int)i;
	for (step = 0; step < STEPS; step++) {
		struct item *x = &it[random() % ITEMS];

		/* Few distinct keys: ties are the usual case for timers. */
		uint64_t at = (uint64_t)(random() % 50);

		switch (random() % 3) {
		case 0:		/* arm, or move */
			x->hn.at = at;
			if (x->hn.slot != 0) {
				heap_fix(&h, &x->hn);
				break;
			}
			assert_int_equal(heap_reserve(&h, ITEMS), 0);
			heap_push(&h, &x->hn);
			break;
		case 1:		/* take out (also one in no heap) */
			heap_remove(&h, &x->hn);
			assert_int_equal(x->hn.slot, 0);
			break;
		default:	/* take the top, as the loop's timers run */
			if (heap_top(&h) != NULL) {
				struct item *t = HEAP_ITEM(heap_top(&h),
				    struct item, hn);

				heap_remove(&h, &t->hn);
			}
			break;
		}
		check(&h, it);
	}
	heap_free(&h);
	assert_int_equal(h.len, 0);
}

/* A full heap refuses one more and is unchanged. */
static void
test_reserve_max(void **state)
{
	struct item it[3];
	struct heap h = { 0 };
	size_t i;

	(void)state;
	memset(it, 0, sizeof(it));
	for (i = 0; i < 3; i++) {
		it[i].hn.at = 3 - i;
		assert_int_equal(heap_reserve(&h, 3), 0);
		heap_push(&h, &it[i].hn);
	}
	assert_int_equal(heap_reserve(&h, 3), -1);
	assert_int_equal(h.len, 3);
	assert_ptr_equal(heap_top(&h), &it[2].hn);
	heap_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_reserve_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
