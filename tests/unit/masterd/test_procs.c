/*
 * Unit tests: masterd's process table (masterd/procs.c). Each row by its
 * role; what each row's channel carries agrees with proto/msgtab.c; every
 * row gets the life-cycle messages; only the workers take connections
 * (the notifier never gets MW_CONN, sends no WM_LOAD, and one runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "masterd.h"
#include "msgtab.h"

static void
test_rows_by_role(void **state)
{
	const struct proc *p;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		assert_non_null(p = proc_of(r));
		assert_int_equal(p->role, r);
		assert_non_null(p->name);
		assert_true(p->count == PROC_N_WORKERS || p->count > 0);
	}
	assert_null(proc_of(ROLE_MAX));
	assert_null(proc_of((enum proc_role)-1));
	assert_string_equal(proc_of(ROLE_WORKER)->name, "worker");
	assert_string_equal(proc_of(ROLE_NOTIFIER)->name, "notifier");
}

/* masterd -> workerd and workerd -> masterd, as the message table has it. */
static void
test_rows_agree_with_msgtab(void **state)
{
	const struct proc *p;
	size_t i;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		p = proc_of(r);
		for (i = 0; i < PROC_MSGS_MAX && p->gets[i] != 0; i++)
			assert_true(proto_may_send(PROTO_PEER_MASTERD,
			    p->gets[i], PROTO_PEER_WORKERD));
		for (i = 0; i < PROC_MSGS_MAX && p->sends[i] != 0; i++)
			assert_true(proto_may_send(PROTO_PEER_WORKERD,
			    p->sends[i], PROTO_PEER_MASTERD));
		/* Nothing a child sends is something masterd sends. */
		for (i = 0; i < PROC_MSGS_MAX && p->sends[i] != 0; i++)
			assert_false(proc_gets(p, p->sends[i]));
		assert_false(proc_gets(p, 0));
		assert_false(proc_sends(p, 0));
		assert_false(proc_sends(p, PROTO_HELLO));
	}
}

/* Started, told to quit, ready: what workers.c does with every row. */
static void
test_every_row_lives_alike(void **state)
{
	const struct proc *p;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		p = proc_of(r);
		assert_true(proc_gets(p, PROTO_MW_SETTINGS));
		assert_true(proc_gets(p, PROTO_MW_QUIT));
		assert_true(proc_sends(p, PROTO_WM_READY));
	}
}

static void
test_worker_row(void **state)
{
	const struct proc *p = proc_of(ROLE_WORKER);

	assert_true(proc_takes_conns(p));
	assert_true(proc_gets(p, PROTO_MW_CONN));
	assert_true(proc_gets(p, PROTO_MW_RESTARTS));
	assert_true(proc_sends(p, PROTO_WM_LOAD));
	assert_null(p->role_arg);
	assert_int_equal(p->prog, PROG_WORKERD);
	assert_int_equal(proc_want(p, 1), 1);
	assert_int_equal(proc_want(p, 7), 7);
	assert_int_equal(proc_want(p, MAX_WORKERS), MAX_WORKERS);
}

/* One for the install, whatever PARLEY_WORKERS; no connection, no load. */
static void
test_notifier_row(void **state)
{
	const struct proc *p = proc_of(ROLE_NOTIFIER);

	assert_false(proc_takes_conns(p));
	assert_false(proc_gets(p, PROTO_MW_CONN));
	assert_false(proc_gets(p, PROTO_MW_RESTARTS));
	assert_false(proc_sends(p, PROTO_WM_LOAD));
	assert_string_equal(p->role_arg, "notifier");
	assert_int_equal(p->prog, PROG_WORKERD);
	assert_int_equal(proc_want(p, 1), 1);
	assert_int_equal(proc_want(p, 7), 1);
	assert_int_equal(proc_want(p, MAX_WORKERS), 1);
}

/*
 * One for the install, a program of its own (parley-fetch, no role
 * argument); no connection, no load.
 */
static void
test_fetcher_row(void **state)
{
	const struct proc *p = proc_of(ROLE_FETCHER);

	assert_false(proc_takes_conns(p));
	assert_false(proc_gets(p, PROTO_MW_CONN));
	assert_false(proc_sends(p, PROTO_WM_LOAD));
	assert_null(p->role_arg);
	assert_int_equal(p->prog, PROG_FETCH);
	assert_int_equal(proc_want(p, 7), 1);
}

/* Only the workers' row takes connections. */
static void
test_one_row_takes_conns(void **state)
{
	int r, n = 0;

	for (r = 0; r < ROLE_MAX; r++)
		n += proc_takes_conns(proc_of(r));
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_by_role),
		cmocka_unit_test(test_rows_agree_with_msgtab),
		cmocka_unit_test(test_every_row_lives_alike),
		cmocka_unit_test(test_worker_row),
		cmocka_unit_test(test_notifier_row),
		cmocka_unit_test(test_fetcher_row),
		cmocka_unit_test(test_one_row_takes_conns),
	};

	return cmocka_run_group_tests_name("masterd procs", tests, NULL, NULL);
}
