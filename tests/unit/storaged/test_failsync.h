/*
 * A dying disk for the storaged tests that need one (test_wal, test_repl):
 * this binary's fdatasync() fails with EIO while fail_syncs counts down,
 * and it and fsync() tell synced_hook of each file they flushed (a test's
 * model of what a power loss leaves). Include once, in the test file
 * itself.
 */
#ifndef PARLEY_TEST_FAILSYNC_H
#define PARLEY_TEST_FAILSYNC_H

#include <sys/syscall.h>

#include <errno.h>
#include <unistd.h>

/* The next this many fdatasync() calls fail with EIO, as a dying disk's. */
static int fail_syncs;

/* Set: called with fd once an fdatasync() or fsync() of it succeeded. */
static void (*synced_hook)(int fd);

int
fdatasync(int fd)
{
	if (fail_syncs > 0) {
		fail_syncs--;
		errno = EIO;
		return -1;
	}
	if (syscall(SYS_fdatasync, fd) < 0)
		return -1;
	if (synced_hook != NULL)
		synced_hook(fd);
	return 0;
}

int
fsync(int fd)
{
	if (syscall(SYS_fsync, fd) < 0)
		return -1;
	if (synced_hook != NULL)
		synced_hook(fd);
	return 0;
}

#endif
