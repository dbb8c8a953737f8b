/* The loop's timer heap and deferred calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

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

static int chained;
static int chain_at_read;	/* chained when the pipe was read */
static struct loop_defer chain;

static void
chain_next(void *arg)
{
	if (++chained < 100000)
		loop_defer(&chain);
}

static void
pipe_read(int fd, uint32_t events, void *arg)
{
	char c;

	if (read(fd, &c, 1) == 1)
		chain_at_read = chained;
}

/*
 * A chain of deferred calls, each queuing the next, does not keep a ready
 * descriptor waiting until it ends, and the loop does not sleep while it
 * goes on.
 */
static void
test_defer_chain(void **state)
{
	struct loop_io io;
	int p[2], rounds;

	assert_int_equal(pipe(p), 0);
	memset(&io, 0, sizeof(io));
	assert_int_equal(loop_io_add(&io, p[0], EPOLLIN, pipe_read, NULL), 0);
	loop_defer_init(&chain, chain_next, NULL);
	loop_defer(&chain);
	loop_once(0);
	assert_true(chained > 0 && chained < 100000);
	assert_int_equal(write(p[1], "x", 1), 1);
	chain_at_read = -1;
	for (rounds = 0; chained < 100000 && rounds < 100000; rounds++)
		loop_once(-1);	/* never sleeps: calls are left */
	assert_int_equal(chained, 100000);
	assert_true(chain_at_read >= 0 && chain_at_read < 1000);
	loop_io_del(&io);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_defer_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
