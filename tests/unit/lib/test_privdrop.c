/*
 * Dropping root (privdrop.c): the lookup, and, when the test runs as
 * root, a child that becomes "nobody" and must not get root back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"

static void
lookup_unset(void **state)
{
	struct privuser pu;
	char err[256];

	assert_int_equal(privdrop_lookup(NULL, &pu, err, sizeof(err)), 0);
	assert_false(pu.set);
	assert_int_equal(privdrop_lookup("", &pu, err, sizeof(err)), 0);
	assert_false(pu.set);
}

static void
lookup_unknown_and_root(void **state)
{
	struct privuser pu;
	char err[256];

	assert_int_equal(privdrop_lookup("no-such-user-parley-xyz", &pu, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-user-parley-xyz"));
	assert_int_equal(privdrop_lookup("root", &pu, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "root"));
}

static void
lookup_nobody(void **state)
{
	struct privuser pu;
	struct passwd *pw = getpwnam("nobody");
	char err[256];

	if (pw == NULL)
		fail_msg("no user \"nobody\" on this system");
	assert_int_equal(privdrop_lookup("nobody", &pu, err, sizeof(err)), 0);
	assert_true(pu.set);
	assert_int_equal(pu.uid, pw->pw_uid);
	assert_int_equal(pu.gid, pw->pw_gid);
	assert_string_equal(pu.name, "nobody");
}

/* make test runs as root (it installs packages), and Debian has nobody. */
static void
need_root_and_nobody(void)
{
	if (geteuid() != 0)
		fail_msg("dropping privileges is tested as root, as make test runs");
	if (getpwnam("nobody") == NULL)
		fail_msg("no user \"nobody\" on this system");
}

/* Exit status of the child: 0, or the number of the check that failed. */
static int
drop_child(void)
{
	struct privuser pu;
	char err[256];
	gid_t groups[8];

	if (privdrop_lookup("nobody", &pu, err, sizeof(err)) < 0)
		return 10;
	if (privdrop_to(&pu, err, sizeof(err)) < 0) {
		fprintf(stderr, "privdrop_to: %s\n", err);
		return 11;
	}
	if (getuid() != pu.uid || geteuid() != pu.uid)
		return 12;
	if (getgid() != pu.gid || getegid() != pu.gid)
		return 13;
	if (getgroups(8, groups) != 0)
		return 14;
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return 15;
	if (setgroups(0, NULL) == 0)
		return 16;
	return 0;
}

static void
drop_to_nobody(void **state)
{
	pid_t pid;
	int st;

	need_root_and_nobody();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(drop_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The parent is untouched. */
	assert_int_equal(geteuid(), 0);
}

/*
 * privdrop_nodump: the process (in a child: the test's own stays as it
 * was) is not dumpable, nor a child it forks (the PDF reader's case).
 */
static void
nodump_child_and_fork(void **state)
{
	pid_t pid, gc;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 ||
		    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
			_exit(2);
		privdrop_nodump();
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
			_exit(3);
		if ((gc = fork()) == 0)
			_exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 4);
		if (gc < 0 || waitpid(gc, &st, 0) != gc || !WIFEXITED(st))
			_exit(5);
		_exit(WEXITSTATUS(st));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Without root the drop fails and says why. */
static void
drop_without_root_fails(void **state)
{
	pid_t pid;
	int st;

	need_root_and_nobody();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct privuser pu, other;
		char err[256];

		if (privdrop_lookup("nobody", &pu, err, sizeof(err)) < 0 ||
		    privdrop_to(&pu, err, sizeof(err)) < 0)
			_exit(10);
		other = pu;
		other.uid = pu.uid - 1;
		other.gid = pu.gid - 1;
		_exit(privdrop_to(&other, err, sizeof(err)) == -1 &&
		    err[0] != '\0' ? 0 : 11);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_unset),
		cmocka_unit_test(lookup_unknown_and_root),
		cmocka_unit_test(lookup_nobody),
		cmocka_unit_test(drop_to_nobody),
		cmocka_unit_test(drop_without_root_fails),
		cmocka_unit_test(nodump_child_and_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
