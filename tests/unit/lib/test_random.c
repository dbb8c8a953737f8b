/* Unit tests: proto_random (lib/random.h), the ids' and tokens' bytes. */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "random.h"

/* Nonzero when buf[0..n) is all zeros. */
static int
all_zero(const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != 0)
			return 0;
	return 1;
}

/* Ids one after another differ, whatever size, across block ends. */
static void
test_distinct(void **state)
{
	unsigned char a[16], b[16], big[2000];
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		proto_random(a, sizeof(a));
		proto_random(b, sizeof(b));
		assert_memory_not_equal(a, b, sizeof(a));
		assert_false(all_zero(a, sizeof(a)));
	}
	/* Longer than a block: filled to its last byte. */
	memset(big, 0, sizeof(big));
	proto_random(big, sizeof(big));
	assert_false(all_zero(big + sizeof(big) - 16, 16));
	assert_false(all_zero(big + 500, 32));
	proto_random(big, 0);
}

/* Every byte value turns up in 64 KiB: not a short cycle or a bias to zero. */
static void
test_spread(void **state)
{
	static unsigned char buf[65536];
	unsigned count[256] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(buf); i += 7)
		proto_random(buf + i, sizeof(buf) - i < 7 ? sizeof(buf) - i : 7);
	for (i = 0; i < sizeof(buf); i++)
		count[buf[i]]++;
	for (i = 0; i < 256; i++) {
		assert_true(count[i] > 128);	/* 256 expected */
		assert_true(count[i] < 400);
	}
}

/*
 * A forked child does not hand out the bytes its parent hands out next
 * (the parent's block was half read when it forked).
 */
static void
test_fork(void **state)
{
	unsigned char parent[16], child[16], first[8];
	int fds[2], st;
	pid_t pid;

	(void)state;
	proto_random(first, sizeof(first));	/* the block is now in use */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		proto_random(child, sizeof(child));
		_exit(write(fds[1], child, sizeof(child)) ==
		    (ssize_t)sizeof(child) ? 0 : 1);
	}
	assert_true(pid > 0);
	proto_random(parent, sizeof(parent));
	assert_int_equal(read(fds[0], child, sizeof(child)), sizeof(child));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_memory_not_equal(parent, child, sizeof(parent));
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
