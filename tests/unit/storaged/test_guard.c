/*
 * The data directory's guard (storaged/guard.c) on a directory of its own:
 * the quick check (a write batch's) stats the paths only when the
 * directory's inotify watch has news, the full one (every second) always.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"

struct fix {
	char top[64];		/* a temporary directory */
	char dir[PATH_MAX];	/* top/data: the one guarded */
	struct guard g;
};

/* An empty file at dir/name. */
static void
touch(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
}

/* dir/from renamed dir/to. */
static void
move(const char *dir, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	assert_int_equal(rename(a, b), 0);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->top, sizeof(f->top), "/tmp/parley-guard-XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->top);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	touch(f->dir, "data.mdb");
	touch(f->dir, "wal.log");
	assert_int_equal(guard_add(&f->g, f->dir, NULL), 0);
	assert_int_equal(guard_add(&f->g, f->dir, "data.mdb"), 0);
	assert_int_equal(guard_add(&f->g, f->dir, "wal.log"), 0);
	assert_true(f->g.watching);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char cmd[PATH_MAX + 16];

	guard_free(&f->g);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/*
 * What the directory's watch tells: another file made there, and
 * data.mdb moved away and back, are news the paths are stat'ed for and
 * pass; wal.log replaced by another file fails the quick check at once,
 * and sticks.
 */
static void
test_guard_watch(void **state)
{
	struct fix *f = *state;

	assert_int_equal(guard_check(&f->g, 0), 0);
	touch(f->dir, "lock.mdb");
	assert_int_equal(guard_check(&f->g, 0), 0);
	move(f->dir, "data.mdb", "away.mdb");
	move(f->dir, "away.mdb", "data.mdb");
	assert_int_equal(guard_check(&f->g, 0), 0);
	assert_int_equal(guard_check(&f->g, 1), 0);

	touch(f->dir, "new.log");
	move(f->dir, "new.log", "wal.log");
	assert_int_equal(guard_check(&f->g, 0), -1);
	assert_non_null(strstr(f->g.why, "wal.log: replaced by another file"));
	assert_int_equal(guard_check(&f->g, 1), -1);
}

/*
 * The directory removed whole (rm -rf): the files' deletions are news,
 * the quick check fails naming the first path gone.
 */
static void
test_guard_removed(void **state)
{
	struct fix *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(guard_check(&f->g, 0), -1);
	assert_non_null(strstr(f->g.why, "data: removed"));
}

/*
 * A directory above the guarded one renamed: no event reaches the
 * directory's watch, so the quick check does not look (the paths are not
 * stat'ed); the full one, every second, finds the directory gone.
 */
static void
test_guard_parent_renamed(void **state)
{
	struct fix *f = *state;
	char moved[128];

	snprintf(moved, sizeof(moved), "%s.moved", f->top);
	assert_int_equal(rename(f->top, moved), 0);
	assert_int_equal(guard_check(&f->g, 0), 0);
	assert_int_equal(guard_check(&f->g, 1), -1);
	assert_non_null(strstr(f->g.why, "data: removed"));
	assert_int_equal(rename(moved, f->top), 0);
	/* Put back, it stays failed. */
	assert_int_equal(guard_check(&f->g, 1), -1);
}

/* Without a watch (inotify not had), every check stats the paths. */
static void
test_guard_unwatched(void **state)
{
	struct fix *f = *state;

	guard_free(&f->g);
	assert_false(f->g.watching);
	assert_int_equal(guard_check(&f->g, 0), 0);
	move(f->dir, "data.mdb", "away.mdb");
	touch(f->dir, "data.mdb");
	assert_int_equal(guard_check(&f->g, 0), -1);
	assert_non_null(strstr(f->g.why, "data.mdb: replaced by another file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guard_watch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard_removed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard_parent_renamed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard_unwatched, setup,
		    teardown),
	};

	log_init("test_guard");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
