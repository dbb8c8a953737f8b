/*
 * The data directory's guard: the directory, LMDB's data file and the
 * write-ahead log, each known by device and inode from the moment the
 * store opened them. A path that is gone, or names another file, means
 * someone removed or replaced what storaged writes to: a write
 * acknowledged after that would be lost at the next start, so store.c
 * refuses every write from then on (STORAGE.md, "The data directory
 * guarded").
 */
#ifndef PARLEY_GUARD_H
#define PARLEY_GUARD_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

#define GUARD_FILES	3	/* the directory, data.mdb, wal.log */

struct guard {
	struct {
		char path[PATH_MAX];
		dev_t dev;
		ino_t ino;
	} f[GUARD_FILES];
	size_t n;
	char why[PATH_MAX + 64];	/* what changed, once failed */
	int failed;		/* sticky: only a restart clears it */
};

/*
 * Watches path (dir/name, or dir alone when name is NULL) as it is now.
 * 0, or -1 logged (it cannot be stat'ed, the path is too long, or the
 * guard is full).
 */
int guard_add(struct guard *, const char *dir, const char *name);
/*
 * Stats every watched path: 0 while each names the file it named at
 * guard_add, else -1 with g->why saying which changed and how. Once it
 * has failed it fails without looking again. Logs nothing.
 */
int guard_check(struct guard *);

#endif
