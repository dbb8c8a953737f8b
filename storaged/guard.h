/*
 * The data directory's guard: the directory, LMDB's data file and the
 * write-ahead log, each known by device and inode from the moment the
 * store opened them. A path that is gone, or names another file, means
 * someone removed or replaced what storaged writes to: a write
 * acknowledged after that would be lost at the next start, so store.c
 * refuses every write from then on (STORAGE.md, "The data directory
 * guarded").
 *
 * The directory is also watched with inotify: a name in it created,
 * deleted or moved, or the directory itself deleted or moved, queues an
 * event as the change is made. A quick check (each write batch's) reads
 * that queue, one system call, and stats the paths only when something
 * came; the full check (every second, and before a checkpoint) always
 * stats them, for what no event tells: a directory above this one
 * renamed.
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
	int watching;		/* ifd is the directory's inotify watch */
	int ifd;
};

/*
 * Watches path (dir/name, or dir alone when name is NULL) as it is now;
 * dir alone also gets its inotify watch (without one, where inotify
 * cannot be had, every check is a full one: logged once). 0, or -1
 * logged (it cannot be stat'ed, the path is too long, or the guard is
 * full).
 */
int guard_add(struct guard *, const char *dir, const char *name);
/*
 * 0 while each watched path names the file it named at guard_add, else
 * -1 with g->why saying which changed and how. full: stats every path;
 * else only when the directory's watch has news (or there is no watch).
 * Once it has failed it fails without looking again. Logs nothing.
 */
int guard_check(struct guard *, int full);
/* The inotify watch closed (the paths stay as they were). */
void guard_free(struct guard *);

#endif
