/*
 * Work in flight bounded per worker and per organisation
 * (workerd/net/orgslots.c): an organisation stops at its share, the
 * worker at its bound, and what is given back is taken again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "orgslots.h"

static void
test_org_share(void **state)
{
	struct orgslots s = ORGSLOTS_INIT(4, 2);

	assert_int_equal(orgslots_take(&s, "a"), ORGSLOTS_TAKEN);
	assert_int_equal(orgslots_take(&s, "a"), ORGSLOTS_TAKEN);
	assert_int_equal(orgslots_take(&s, "a"), ORGSLOTS_ORG_FULL);
	/* Another organisation is not held back; the default one is "". */
	assert_int_equal(orgslots_take(&s, "b"), ORGSLOTS_TAKEN);
	assert_int_equal(orgslots_take(&s, ""), ORGSLOTS_TAKEN);
	assert_int_equal(s.n, 4);
	orgslots_put(&s, "a");
	assert_int_equal(orgslots_take(&s, "a"), ORGSLOTS_TAKEN);
}

static void
test_worker_bound(void **state)
{
	struct orgslots s = ORGSLOTS_INIT(3, 3);
	char org[8];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(org, sizeof(org), "o%d", i);
		assert_int_equal(orgslots_take(&s, org), ORGSLOTS_TAKEN);
	}
	assert_int_equal(orgslots_take(&s, "o0"), ORGSLOTS_FULL);
	assert_int_equal(orgslots_take(&s, "new"), ORGSLOTS_FULL);
	/* A put of nothing taken changes nothing. */
	orgslots_put(&s, "new");
	assert_int_equal(s.n, 3);
	orgslots_put(&s, "o1");
	/* o1's entry is free again: another organisation takes it. */
	assert_int_equal(orgslots_take(&s, "new"), ORGSLOTS_TAKEN);
	assert_int_equal(orgslots_take(&s, "o1"), ORGSLOTS_FULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_org_share),
		cmocka_unit_test(test_worker_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
