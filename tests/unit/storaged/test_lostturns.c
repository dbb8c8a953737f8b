/*
 * storaged/lostturns.c: the model turns a worker's connection has open,
 * and those a lost worker left, ended when due unless named again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lostturns.h"

static const char *A = "0000000000000000000000000000000a";
static const char *B = "0000000000000000000000000000000b";
static const char *C = "0000000000000000000000000000000c";
static const char *M = "00000000000000000000000000000001";	/* a message */
static const char *M2 = "00000000000000000000000000000002";

static int
teardown(void **state)
{
	lost_reset();
	return 0;
}

/* A begin opens a turn once; the worker's next message ends it. */
static void
test_note(void **state)
{
	struct turnset s = { 0 };

	assert_int_equal(turnset_note(&s, 1, A, M), 0);
	assert_int_equal(turnset_note(&s, 1, A, M), 0);
	assert_int_equal(turnset_note(&s, 1, B, M), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(turnset_note(&s, 0, A, M), 0);
	assert_int_equal(turnset_note(&s, 0, C, M), 0);	/* none open: nothing */
	assert_int_equal(s.n, 1);
	assert_null(turnset_find(&s, A));
	assert_non_null(turnset_find(&s, B));
	turnset_free(&s);
	assert_int_equal(s.n, 0);
}

/*
 * A newer turn of a conversation takes its place: its message is kept.
 * The older turn's reply, naming its own question, ends neither it nor
 * (stored or not) leaves it lost; a reply naming the newer one, or none,
 * ends it.
 */
static void
test_newer(void **state)
{
	struct turnset s = { 0 };

	assert_int_equal(turnset_note(&s, 1, A, M), 0);
	assert_int_equal(turnset_note(&s, 1, A, M2), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(turnset_find(&s, A)->msg, M2);
	assert_int_equal(turnset_note(&s, 0, A, M), 0);
	assert_int_equal(lost_leave(&s, A, M, 500), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(lost_has(A, M2), 0);
	assert_int_equal(turnset_note(&s, 0, A, M2), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(turnset_note(&s, 1, A, M2), 0);
	assert_int_equal(turnset_note(&s, 0, A, ""), 0);
	assert_int_equal(s.n, 0);
	turnset_free(&s);
}

/* A connection keeps TURNS_OPEN_MAX at most: one more is refused. */
static void
test_open_bound(void **state)
{
	struct turnset s = { 0 };
	char id[ST_ID_HEX + 1];
	int i;

	for (i = 0; i < TURNS_OPEN_MAX; i++) {
		snprintf(id, sizeof(id), "%032x", i);
		assert_int_equal(turnset_note(&s, 1, id, M), 0);
	}
	assert_int_equal(turnset_note(&s, 1,
	    "ffffffffffffffffffffffffffffffff", M), -1);
	assert_int_equal(s.n, TURNS_OPEN_MAX);
	turnset_free(&s);
}

/*
 * Many turns at once, ended in another order than begun: each end finds
 * its own turn and only it (a worker streaming thousands of replies).
 */
static void
test_many(void **state)
{
	struct turnset s = { 0 };
	char id[ST_ID_HEX + 1];
	int i;

	for (i = 0; i < TURNS_OPEN_MAX; i++) {
		snprintf(id, sizeof(id), "%032x", (unsigned)i * 7919u);
		assert_int_equal(turnset_note(&s, 1, id, M), 0);
	}
	for (i = TURNS_OPEN_MAX - 1; i >= 0; i -= 2) {
		snprintf(id, sizeof(id), "%032x", (unsigned)i * 7919u);
		assert_int_equal(turnset_note(&s, 0, id, M), 0);
		assert_null(turnset_find(&s, id));
	}
	assert_int_equal(s.n, TURNS_OPEN_MAX / 2);
	for (i = 0; i < TURNS_OPEN_MAX; i += 2) {
		snprintf(id, sizeof(id), "%032x", (unsigned)i * 7919u);
		assert_non_null(turnset_find(&s, id));
	}
	turnset_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(turnset_find(&s, id));
}

/*
 * A closed connection's turns wait until due, earliest first; one named
 * again by a connection is that one's, and never comes due.
 */
static void
test_lost_due(void **state)
{
	struct turnset s1 = { 0 }, s2 = { 0 }, back = { 0 };
	struct turn_ent out[4];

	(void)turnset_note(&s1, 1, A, M);
	(void)turnset_note(&s1, 1, B, M);
	(void)turnset_note(&s2, 1, C, M);
	assert_int_equal(lost_take(&s1, 1000), 0);
	assert_int_equal(s1.n, 0);
	assert_int_equal(lost_take(&s2, 2000), 0);
	assert_int_equal(lost_count(), 3);
	assert_int_equal(lost_next(), 1000);

	assert_int_equal(lost_claim(&back, B, M), 1);
	assert_int_equal(lost_claim(&back, B, M), 0);	/* not lost: only noted */
	assert_int_equal(back.n, 1);
	assert_non_null(turnset_find(&back, B));

	assert_int_equal(lost_due(999, out, 4), 0);
	assert_int_equal(lost_due(1500, out, 4), 1);
	assert_string_equal(out[0].conv, A);
	assert_string_equal(out[0].msg, M);
	assert_int_equal(lost_next(), 2000);
	assert_int_equal(lost_due(5000, out, 4), 1);
	assert_string_equal(out[0].conv, C);
	assert_int_equal(lost_next(), 0);
	assert_int_equal(lost_count(), 0);
	turnset_free(&back);
}

/*
 * A turn two connections left is kept twice (ended twice: the second
 * finds it answered); a worker naming it takes both back.
 */
static void
test_lost_twice(void **state)
{
	struct turnset s1 = { 0 }, s2 = { 0 }, back = { 0 };
	struct turn_ent out[4];

	(void)turnset_note(&s1, 1, A, M);
	(void)turnset_note(&s2, 1, A, M);
	(void)lost_take(&s1, 10);
	(void)lost_take(&s2, 20);
	assert_int_equal(lost_count(), 2);
	/* lost_has: that turn (either copy), not another message's. */
	assert_int_equal(lost_has(A, M), 1);
	assert_int_equal(lost_has(A, M2), 0);
	assert_int_equal(lost_has(B, M), 0);
	assert_int_equal(lost_claim(&back, A, M), 1);
	assert_int_equal(lost_has(A, M), 0);
	assert_int_equal(lost_count(), 0);
	/* One read off the disk at start: its worker may still answer it. */
	assert_int_equal(lost_add(&(struct turn_ent){ .conv = "0000000000000000"
	    "000000000000000b", .msg = "00000000000000000000000000000001",
	    .restored = 1 }, 1, 10), 0);
	assert_int_equal(lost_count(), 1);
	assert_int_equal(lost_has(B, M), 0);
	assert_int_equal(lost_due(100, out, 4), 1);	/* ended all the same */
	assert_string_equal(out[0].conv, B);
	turnset_free(&back);
}

/*
 * A reply not stored: that conversation's turn alone leaves the live
 * connection's set for the lost (it holds its conversation no more),
 * due when said; a conversation with none open leaves nothing.
 */
static void
test_lost_leave(void **state)
{
	struct turnset s = { 0 };
	struct turn_ent out[2];

	(void)turnset_note(&s, 1, A, M);
	(void)turnset_note(&s, 1, B, M2);
	assert_int_equal(lost_leave(&s, B, "", 500), 1);
	assert_int_equal(s.n, 1);
	assert_null(turnset_find(&s, B));
	assert_non_null(turnset_find(&s, A));
	assert_int_equal(lost_has(B, M2), 1);
	assert_int_equal(lost_has(A, M), 0);
	assert_int_equal(lost_leave(&s, B, "", 600), 0);	/* none open now */
	assert_int_equal(lost_leave(&s, C, "", 600), 0);
	assert_int_equal(lost_next(), 500);
	assert_int_equal(lost_due(500, out, 2), 1);
	assert_string_equal(out[0].conv, B);
	assert_string_equal(out[0].msg, M2);
	turnset_free(&s);
}

/* At most max a call: the rest stay for the next. */
static void
test_lost_max(void **state)
{
	struct turnset s = { 0 };
	struct turn_ent out[2];

	(void)turnset_note(&s, 1, A, M);
	(void)turnset_note(&s, 1, B, M);
	(void)turnset_note(&s, 1, C, M);
	(void)lost_take(&s, 10);
	assert_int_equal(lost_due(10, out, 2), 2);
	assert_string_equal(out[0].conv, A);
	assert_string_equal(out[1].conv, B);
	assert_int_equal(lost_due(10, out, 2), 1);
	assert_string_equal(out[0].conv, C);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_newer),
		cmocka_unit_test(test_open_bound),
		cmocka_unit_test(test_many),
		cmocka_unit_test_teardown(test_lost_due, teardown),
		cmocka_unit_test_teardown(test_lost_twice, teardown),
		cmocka_unit_test_teardown(test_lost_max, teardown),
		cmocka_unit_test_teardown(test_lost_leave, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
