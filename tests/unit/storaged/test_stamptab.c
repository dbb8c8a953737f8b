/*
 * storaged's bounded table of stamped entries (stamptab.h): a key found
 * again, a new key in a free slot, a full table giving the slot stamped
 * longest ago (zeroed) to a new key, a long key cut to fit, and a table
 * let go of and used again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stamptab.h"

struct ent {
	uint32_t count;
	char name[8];
	uint64_t at;
};

/* key's entry, taken, counted and stamped at. */
static struct ent *
touch(struct stamptab *t, const char *key, uint64_t at)
{
	struct ent *e = stamptab_take(t, key);

	assert_non_null(e);
	e->count++;
	e->at = at;
	return e;
}

static void
test_find_and_take(void **state)
{
	struct stamptab t = STAMPTAB_INIT(struct ent, name, at, 3);
	struct ent *a;

	(void)state;
	assert_null(stamptab_find(&t, "a"));
	a = touch(&t, "a", 10);
	assert_ptr_equal(touch(&t, "a", 11), a);
	assert_int_equal(a->count, 2);
	assert_ptr_equal(stamptab_find(&t, "a"), a);
	assert_null(stamptab_find(&t, "b"));
	assert_int_equal(t.n, 1);
	stamptab_free(&t);
}

static void
test_full_gives_oldest(void **state)
{
	struct stamptab t = STAMPTAB_INIT(struct ent, name, at, 3);
	struct ent *b, *d;

	(void)state;
	touch(&t, "a", 30);
	b = touch(&t, "b", 10);		/* the oldest */
	touch(&t, "c", 20);
	touch(&t, "a", 40);
	d = touch(&t, "d", 50);
	assert_ptr_equal(d, b);		/* b's slot, zeroed first */
	assert_int_equal(d->count, 1);
	assert_string_equal(d->name, "d");
	assert_null(stamptab_find(&t, "b"));
	assert_non_null(stamptab_find(&t, "a"));
	assert_non_null(stamptab_find(&t, "c"));
	assert_int_equal(t.n, 3);
	/* Now c (20) is the oldest. */
	touch(&t, "e", 60);
	assert_null(stamptab_find(&t, "c"));
	assert_non_null(stamptab_find(&t, "a"));
	stamptab_free(&t);
}

static void
test_long_key_cut(void **state)
{
	struct stamptab t = STAMPTAB_INIT(struct ent, name, at, 2);
	struct ent *e;

	(void)state;
	e = touch(&t, "abcdefghij", 1);
	assert_string_equal(e->name, "abcdefg");
	assert_ptr_equal(stamptab_find(&t, "abcdefg"), e);
	stamptab_free(&t);
	assert_null(t.ents);
	assert_int_equal(t.n, 0);
	/* Used again after it was let go of. */
	assert_null(stamptab_find(&t, "abcdefg"));
	touch(&t, "x", 2);
	assert_non_null(stamptab_find(&t, "x"));
	stamptab_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_take),
		cmocka_unit_test(test_full_gives_oldest),
		cmocka_unit_test(test_long_key_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
