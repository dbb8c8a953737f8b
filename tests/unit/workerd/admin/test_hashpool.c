/*
 * The hash pool (workerd/admin/hashpool.c): a job's key is scrypt's, and
 * comes back through the loop; the loop runs while hashes do; a full pool
 * refuses at once; a cancelled job (queued, running, or done and not yet
 * read) never calls back and is freed; shutdown joins the threads, calls back what was left, and
 * the pool starts again after. ASan sees every job freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin.h"
#include "test_peer.h"

#define PW	"correct horse battery"

struct got {
	int called;
	int ok;
	uint8_t key[DASH_KEY_LEN];
};

static void
record(void *arg, int ok, const uint8_t *key)
{
	struct got *g = arg;

	g->called++;
	g->ok = ok;
	if (ok)
		memcpy(g->key, key, DASH_KEY_LEN);
}

/* Runs the loop until the pool has delivered or dropped every job. */
static void
drain(int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	while (hashpool_pending() > 0 && loop_clock() < end)
		loop_once(5);
	assert_int_equal(hashpool_pending(), 0);
}

static int
setup(void **state)
{
	log_init("test_hashpool");
	loop_init();
	return 0;
}

static int
teardown(void **state)
{
	hashpool_shutdown();
	return 0;
}

static void
test_hash_result(void **state)
{
	uint8_t want[DASH_KEY_LEN];
	struct got g = { 0 }, e = { 0 };
	int rounds = 0;

	assert_int_equal(dashauth_scrypt(PW, strlen(PW), "salt", 4, want), 0);
	assert_non_null(hashpool_submit(PW, strlen(PW), "salt", 4, record,
	    &g));
	assert_non_null(hashpool_submit("", 0, "salt", 4, record, &e));
	assert_int_equal(hashpool_pending(), 2);
	/* Nothing is called from inside submit. */
	assert_int_equal(g.called, 0);
	/* The loop turns while the hash runs: many rounds of 1 ms. */
	while (g.called == 0 && rounds < 5000) {
		loop_once(1);
		rounds++;
	}
	drain(5000);
	assert_int_equal(g.called, 1);
	assert_true(g.ok);
	assert_memory_equal(g.key, want, sizeof(want));
	assert_true(rounds > 5);
	assert_int_equal(e.called, 1);
	assert_true(e.ok);
	assert_memory_not_equal(e.key, want, sizeof(want));
	/* Too long a salt is refused. */
	assert_null(hashpool_submit(PW, 1, want, 65, record, &g));
}

static void
test_hash_full(void **state)
{
	static struct got g[HASHPOOL_MAX + 1];
	static struct hashjob *j[HASHPOOL_MAX + 1];
	int i;

	memset(g, 0, sizeof(g));
	for (i = 0; i < HASHPOOL_MAX; i++)
		assert_non_null(j[i] = hashpool_submit(PW, strlen(PW), "s", 1,
		    record, &g[i]));
	/* Full: refused at once, whatever the threads have done meanwhile. */
	assert_null(hashpool_submit(PW, strlen(PW), "s", 1, record,
	    &g[HASHPOOL_MAX]));
	assert_int_equal(hashpool_pending(), HASHPOOL_MAX);
	/* The last one is still queued: cancelled, it makes room at once. */
	assert_int_equal(hashpool_cancel(j[HASHPOOL_MAX - 1]), 1);
	assert_int_equal(hashpool_pending(), HASHPOOL_MAX - 1);
	assert_non_null(j[HASHPOOL_MAX - 1] = hashpool_submit(PW, strlen(PW),
	    "s", 1, record, &g[HASHPOOL_MAX]));
	assert_int_equal(hashpool_pending(), HASHPOOL_MAX);
	/*
	 * Everyone leaves before the loop ran: the queued go at once, the
	 * running when they end; no callback, nothing left (ASan).
	 */
	for (i = 0; i < HASHPOOL_MAX; i++)
		hashpool_cancel(j[i]);
	drain(5000);
	for (i = 0; i < HASHPOOL_MAX + 1; i++)
		assert_int_equal(g[i].called, 0);
}

static void
test_hash_orphan(void **state)
{
	struct got g = { 0 }, h = { 0 };
	struct hashjob *j, *k;

	/* Running (a thread took it): orphaned, freed at its end. */
	for (;;) {
		assert_non_null(j = hashpool_submit(PW, strlen(PW), "s", 1,
		    record, &g));
		usleep(5000);
		if (hashpool_cancel(j) == 0)
			break;
		/* Still queued (a busy machine): dropped; again. */
		assert_int_equal(hashpool_pending(), 0);
	}
	assert_int_equal(hashpool_pending(), 1);
	drain(5000);
	assert_int_equal(g.called, 0);

	/* Done and waiting in the pipe: dropped when read. */
	assert_non_null(k = hashpool_submit(PW, strlen(PW), "s", 1, record,
	    &h));
	usleep(300000);
	assert_int_equal(hashpool_cancel(k), 0);
	drain(5000);
	assert_int_equal(h.called, 0);
}

static void
test_hash_shutdown(void **state)
{
	static struct got g[8];
	struct got again = { 0 };
	int fds, i;

	memset(g, 0, sizeof(g));
	hashpool_shutdown();	/* what the tests before started */
	fds = count_fds();
	for (i = 0; i < 8; i++)
		assert_non_null(hashpool_submit(PW, strlen(PW), "s", 1, record,
		    &g[i]));
	assert_int_equal(count_fds(), fds + 2);	/* the pipe */
	/* Joins the two running; every job hears once, the queued as failed. */
	hashpool_shutdown();
	assert_int_equal(hashpool_pending(), 0);
	assert_int_equal(count_fds(), fds);
	for (i = 0; i < 8; i++)
		assert_int_equal(g[i].called, 1);
	/* The last ones never ran. */
	assert_false(g[7].ok);
	hashpool_shutdown();	/* again: nothing */

	/* It starts again with the next job. */
	assert_non_null(hashpool_submit(PW, strlen(PW), "s", 1, record,
	    &again));
	drain(5000);
	assert_int_equal(again.called, 1);
	assert_true(again.ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_result),
		cmocka_unit_test(test_hash_full),
		cmocka_unit_test(test_hash_orphan),
		cmocka_unit_test(test_hash_shutdown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
