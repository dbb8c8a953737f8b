/*
 * A dying disk for the storaged tests that need one (test_wal, test_repl):
 * this binary's fdatasync() fails with EIO while fail_syncs counts down.
 * Include once, in the test file itself.
 */
#ifndef PARLEY_TEST_FAILSYNC_H
#define PARLEY_TEST_FAILSYNC_H

#include <sys/syscall.h>

#include <errno.h>
#include <unistd.h>

/* The next this many fdatasync() calls fail with EIO, as a dying disk's. */
static int fail_syncs;

int
fdatasync(int fd)
{
	if (fail_syncs > 0) {
		fail_syncs--;
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

#endif
