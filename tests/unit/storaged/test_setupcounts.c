/*
 * The widgets' setup counts (storaged/setupcounts.c, issue 24): exact per reason,
 * and bounded however many widgets, origins and bytes a visitor sends: at
 * most ST_SETUP_ORIGINS origins per widget (the oldest go), each cut at
 * ST_SETUP_ORIGIN_MAX bytes, at most SETUP_WIDGETS_MAX widgets (the one
 * noted longest ago goes), unknown reasons ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "setupcounts.h"
#include "stmsgs.h"
#include "test_fixture.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-test-setup-XXXXXX", 0);
}

static void
test_counts(void **state)
{
	struct fix *f = *state;
	struct st_setup_rep r;
	int i;

	store_setup_start(f->st);
	store_setup_get(f->st, "w1", &r);
	assert_int_equal(r.since, T0);
	assert_int_equal(r.key + r.cors + r.origin + r.csp + r.disabled, 0);
	assert_int_equal(r.norigins, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(store_setup_note(f->st, "w1", "wid_x",
		    ST_SETUP_KEY, "https://a.example"), 0);
	assert_int_equal(store_setup_note(f->st, "w1", "wid_x", ST_SETUP_CORS,
	    ""), 0);
	assert_int_equal(store_setup_note(f->st, "w1", "wid_x", ST_SETUP_SEEN,
	    "https://b.example"), 0);
	assert_int_equal(store_setup_note(f->st, "w1", "wid_x",
	    ST_SETUP_NREASONS, "https://c.example"), 0);	/* ignored */
	assert_int_equal(store_setup_note(f->st, "w2", "wid_y", ST_SETUP_CSP,
	    "https://a.example"), 0);
	store_setup_get(f->st, "w1", &r);
	assert_int_equal(r.key, 3);
	assert_int_equal(r.cors, 1);
	assert_int_equal(r.origin + r.csp + r.disabled, 0);
	/* no origin is no entry; most recent first */
	assert_int_equal(r.norigins, 2);
	assert_string_equal(r.origins[0].origin, "https://b.example");
	assert_int_equal(r.origins[0].reason, ST_SETUP_SEEN);
	assert_string_equal(r.origins[1].origin, "https://a.example");
	assert_int_equal(r.origins[1].count, 3);
	assert_int_equal(r.origins[1].reason, ST_SETUP_KEY);
	store_setup_get(f->st, "w2", &r);
	assert_int_equal(r.csp, 1);
	assert_int_equal(r.key, 0);
	/* a CSP report's origin is listed apart from the sites seen */
	assert_int_equal(r.norigins, 0);
	assert_int_equal(r.nreports, 1);
	assert_string_equal(r.reports[0].origin, "https://a.example");
	store_setup_get(f->st, "w1", &r);
	assert_int_equal(r.nreports, 0);
}

static void
test_origins_bounded(void **state)
{
	struct fix *f = *state;
	struct st_setup_rep r;
	char o[400];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(o, sizeof(o), "https://site%d.example", i);
		fake_now = T0 + (uint64_t)i;
		store_setup_note(f->st, "w", "", ST_SETUP_ORIGIN, o);
	}
	store_setup_get(f->st, "w", &r);
	assert_int_equal(r.origin, 20);
	assert_int_equal(r.norigins, ST_SETUP_ORIGINS);
	assert_string_equal(r.origins[0].origin, "https://site19.example");
	assert_string_equal(r.origins[ST_SETUP_ORIGINS - 1].origin,
	    "https://site12.example");
	/* one seen again comes to the front, the list stays as long */
	store_setup_note(f->st, "w", "", ST_SETUP_SEEN, "https://site13.example");
	store_setup_get(f->st, "w", &r);
	assert_int_equal(r.norigins, ST_SETUP_ORIGINS);
	assert_string_equal(r.origins[0].origin, "https://site13.example");
	assert_int_equal(r.origins[0].count, 2);
	assert_string_equal(r.origins[1].origin, "https://site19.example");
	/* a long one is cut */
	memset(o, 'x', sizeof(o) - 1);
	o[sizeof(o) - 1] = '\0';
	store_setup_note(f->st, "w", "", ST_SETUP_KEY, o);
	store_setup_get(f->st, "w", &r);
	assert_int_equal(strlen(r.origins[0].origin), ST_SETUP_ORIGIN_MAX);
}

static void
test_widgets_bounded(void **state)
{
	struct fix *f = *state;
	struct st_setup_rep r;
	char id[32];
	int i;

	for (i = 0; i < SETUP_WIDGETS_MAX + 10; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		fake_now = T0 + (uint64_t)i;
		assert_int_equal(store_setup_note(f->st, id, "",
		    ST_SETUP_KEY, "https://a.example"), 0);
	}
	/* the ten noted longest ago are forgotten, the rest kept */
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		store_setup_get(f->st, id, &r);
		assert_int_equal(r.key, 0);
	}
	for (i = 10; i < SETUP_WIDGETS_MAX + 10; i += 101) {
		snprintf(id, sizeof(id), "w%d", i);
		store_setup_get(f->st, id, &r);
		assert_int_equal(r.key, 1);
		assert_int_equal(r.norigins, 1);
	}
	/* every unknown id shares one entry */
	for (i = 0; i < 50; i++)
		store_setup_note(f->st, SETUP_UNKNOWN, "wid_none",
		    ST_SETUP_CSP, "https://a.example");
	store_setup_get(f->st, SETUP_UNKNOWN, &r);
	assert_int_equal(r.csp, 50);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_counts),
		T(test_origins_bounded),
		T(test_widgets_bounded),
	};

	log_init("test_setup");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
