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

static const struct stamptab_layout three =
    STAMPTAB_LAYOUT(struct ent, name, at, 3);
static const struct stamptab_layout two =
    STAMPTAB_LAYOUT(struct ent, name, at, 2);

/* key's entry in t (of layout l), taken, counted and stamped at. */
static struct ent *
touch(struct stamptab *t, const struct stamptab_layout *l, const char *key,
    uint64_t at)
{
	struct ent *e = stamptab_take(t, l, key);

	assert_non_null(e);
	e->count++;
	e->at = at;
	return e;
}

static void
test_find_and_take(void **state)
{
	struct stamptab t = { NULL, 0 };
	struct ent *a;

	(void)state;
	assert_null(stamptab_find(&t, &three, "a"));
	a = touch(&t, &three, "a", 10);
	assert_ptr_equal(touch(&t, &three, "a", 11), a);
	assert_int_equal(a->count, 2);
	assert_ptr_equal(stamptab_find(&t, &three, "a"), a);
	assert_null(stamptab_find(&t, &three, "b"));
	assert_int_equal(t.n, 1);
	stamptab_free(&t);
}

static void
test_full_gives_oldest(void **state)
{
	struct stamptab t = { NULL, 0 };
	struct ent *b, *d;

	(void)state;
	touch(&t, &three, "a", 30);
	b = touch(&t, &three, "b", 10);		/* the oldest */
	touch(&t, &three, "c", 20);
	touch(&t, &three, "a", 40);
	d = touch(&t, &three, "d", 50);
	assert_ptr_equal(d, b);		/* b's slot, zeroed first */
	assert_int_equal(d->count, 1);
	assert_string_equal(d->name, "d");
	assert_null(stamptab_find(&t, &three, "b"));
	assert_non_null(stamptab_find(&t, &three, "a"));
	assert_non_null(stamptab_find(&t, &three, "c"));
	assert_int_equal(t.n, 3);
	/* Now c (20) is the oldest. */
	touch(&t, &three, "e", 60);
	assert_null(stamptab_find(&t, &three, "c"));
	assert_non_null(stamptab_find(&t, &three, "a"));
	stamptab_free(&t);
}

static void
test_long_key_cut(void **state)
{
	struct stamptab t = { NULL, 0 };
	struct ent *e;

	(void)state;
	e = touch(&t, &two, "abcdefghij", 1);
	assert_string_equal(e->name, "abcdefg");
	assert_ptr_equal(stamptab_find(&t, &two, "abcdefg"), e);
	stamptab_free(&t);
	assert_null(t.ents);
	assert_int_equal(t.n, 0);
	/* Used again after it was let go of. */
	assert_null(stamptab_find(&t, &two, "abcdefg"));
	touch(&t, &two, "x", 2);
	assert_non_null(stamptab_find(&t, &two, "x"));
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
