/*
 * parleyctl restore: a backup put in place of a stopped storaged's
 * data.mdb, the one way to restore. A copy over data.mdb by hand while
 * storaged ran rewrote the file it had mapped (its next write crashed; a
 * commit in between wrote old pages into the copy): here the data
 * directory's locks, those storaged holds while it runs, are taken
 * first and held to the end, so a running storaged is refused and none
 * can start meanwhile (it says "another storaged is running").
 *
 * Then the backup is verified whole (verify.c, as parleyctl verify),
 * copied to .data.mdb.partial-PID beside data.mdb (partial.c: a signal
 * removes it) with data.mdb's owner and mode (else the directory's
 * owner, 0600: storaged runs as that user and makes its files 0600),
 * fsynced, renamed over data.mdb, and the directory fsynced.
 *
 * The log: a wal.log holding records (storaged did not stop cleanly) is
 * the replaced data.mdb's, never the backup's: once a backup is copied
 * storaged checkpoints with a new checkpoint id, so no record written
 * after it carries the backup's, and a start refuses to replay such a
 * log over it (storaged/store.c's replay_one). It is moved aside, not
 * deleted, to wal.log.before-restore-TIME (UTC), after the rename: a
 * restore cut short between the two leaves a start that refuses, never
 * one that replays. An empty log (a clean stop) stays: it replays
 * nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define COPY_CHUNK	(1 << 20)

/* The copy's owner and mode: data.mdb's, else dir's owner and 0600. */
static int
owner_of(const char *target, const char *dir, struct stat *want)
{
	if (stat(target, want) == 0 && S_ISREG(want->st_mode)) {
		want->st_mode &= 0777;
		return 0;
	}
	if (stat(dir, want) < 0)
		return -1;
	want->st_mode = 0600;
	return 0;
}

/* in's size bytes to out, synced: 0, or -1 with err. */
static int
copy_all(int in, int out, off_t size, const char *file, char *err,
    size_t errsz)
{
	char *buf;
	off_t done = 0;
	ssize_t n;

	if ((buf = malloc(COPY_CHUNK)) == NULL) {
		snprintf(err, errsz, "restore: out of memory");
		return -1;
	}
	while ((n = read(in, buf, COPY_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || proto_write_all(out, buf, (size_t)n) < 0)
			break;
		done += n;
	}
	free(buf);
	if (n != 0 || fsync(out) < 0) {
		snprintf(err, errsz, "restore: copying %s: %s; nothing was "
		    "changed", file, strerror(errno));
		return -1;
	}
	if (done != size) {
		snprintf(err, errsz, "restore: %s changed while it was copied; "
		    "nothing was changed", file);
		return -1;
	}
	return 0;
}

/*
 * dir's wal.log moved aside when it holds records (the comment above).
 * 0, or -1 with err: data.mdb is replaced already.
 */
static int
log_aside(const char *dir, FILE *out, char *err, size_t errsz)
{
	char from[PATH_MAX], to[PATH_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!ctl_wal_dirty(dir))
		return 0;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	if ((size_t)snprintf(from, sizeof(from), "%s/wal.log", dir) >=
	    sizeof(from) || (size_t)snprintf(to, sizeof(to),
	    "%s/wal.log.before-restore-%s", dir, stamp) >= sizeof(to))
		errno = ENAMETOOLONG;
	else if (ctl_rename(from, to, 0) == 0 && ctl_parent_sync(to) == 0) {
		fprintf(out, "restore: %s held writes made after the replaced "
		    "data.mdb's last checkpoint (storaged did not stop "
		    "cleanly), which the backup does not hold: moved aside to "
		    "%s\n", from, to);
		return 0;
	}
	snprintf(err, errsz, "restore: data.mdb replaced, but %s/wal.log (the "
	    "replaced data.mdb's writes) could not be moved aside: %s; move "
	    "it away yourself: storaged refuses to start beside it", dir,
	    strerror(errno));
	return -1;
}

/* in (file, sb) copied to target's temporary with want's owner and mode. */
static int
copy_in(int in, const struct stat *sb, const char *file, const char *target,
    const struct stat *want, char *err, size_t errsz)
{
	char why[PATH_MAX + 64];
	int fd;

	if ((fd = ctl_partial_open(target, why, sizeof(why))) < 0) {
		snprintf(err, errsz, "restore: %s; nothing was changed", why);
		return -1;
	}
	if (fchown(fd, want->st_uid, want->st_gid) < 0 ||
	    fchmod(fd, want->st_mode) < 0) {
		snprintf(err, errsz, "restore: cannot give the copy data.mdb's "
		    "owner (%ju:%ju) and mode (%04o): %s; nothing was changed",
		    (uintmax_t)want->st_uid, (uintmax_t)want->st_gid,
		    (unsigned)want->st_mode, strerror(errno));
		close(fd);
		ctl_partial_drop();
		return -1;
	}
	if (copy_all(in, fd, sb->st_size, file, err, errsz) < 0) {
		close(fd);
		ctl_partial_drop();
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errsz, "restore: the copy of %s: %s; nothing was "
		    "changed", file, strerror(errno));
		ctl_partial_drop();
		return -1;
	}
	if (ctl_partial_commit(target, 1, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "restore: %s; nothing was changed", why);
		return -1;
	}
	return 0;
}

/* file checked (a whole backup, not data.mdb itself): 0, or -1 with err. */
static int
backup_check(int in, const char *file, const char *target, FILE *out,
    char *err, size_t errsz)
{
	char why[PATH_MAX + 128];
	struct stat sb, tb;
	int rc;

	if (fstat(in, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "restore: %s: not a file; nothing was "
		    "changed", file);
		return -1;
	}
	if (stat(target, &tb) == 0 && tb.st_dev == sb.st_dev &&
	    tb.st_ino == sb.st_ino) {
		snprintf(err, errsz, "restore: %s is the data directory's "
		    "data.mdb itself; nothing was changed", file);
		return -1;
	}
	if ((rc = ctl_verify_backup(file, out, why, sizeof(why))) < 0)
		snprintf(err, errsz, "restore: %s; nothing was changed", why);
	else if (rc > 0)
		snprintf(err, errsz, "restore: %s is not a whole Parley backup "
		    "this parleyctl reads (verify's report above); nothing was "
		    "changed", file);
	return rc == 0 ? 0 : -1;
}

/* The restore itself, dir's locks held. */
static int
restore_locked(const char *file, const char *dir, const char *target,
    FILE *out, char *err, size_t errsz)
{
	struct stat sb, want;
	int in, rc = -1;

	if ((in = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "restore: %s: %s", file, strerror(errno));
		return -1;
	}
	if (backup_check(in, file, target, out, err, errsz) < 0 ||
	    fstat(in, &sb) < 0)
		goto done;
	if (owner_of(target, dir, &want) < 0) {
		snprintf(err, errsz, "restore: %s: %s", dir, strerror(errno));
		goto done;
	}
	if (copy_in(in, &sb, file, target, &want, err, errsz) < 0)
		goto done;
	if (ctl_parent_sync(target) < 0) {
		snprintf(err, errsz, "restore: data.mdb replaced, but %s could "
		    "not be synced (a power loss may undo it): %s", dir,
		    strerror(errno));
		goto done;
	}
	if (log_aside(dir, out, err, errsz) < 0)
		goto done;
	fprintf(out, "restore: %s restored as %s (%jd bytes, owner %ju:%ju, "
	    "mode %04o); start storaged\n", file, target, (intmax_t)sb.st_size,
	    (uintmax_t)want.st_uid, (uintmax_t)want.st_gid,
	    (unsigned)want.st_mode);
	rc = 0;
done:
	close(in);
	return rc;
}

int
ctl_restore(const char *file, const char *dir_given, FILE *out, char *err,
    size_t errsz)
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct stat sb;
	int lockfd[2], rc;

	if (realpath(dir_given, dir) == NULL || stat(dir, &sb) < 0) {
		snprintf(err, errsz, "restore: data directory %s: %s", dir_given,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errsz, "restore: data directory %s: not a "
		    "directory", dir_given);
		return -1;
	}
	if ((size_t)snprintf(target, sizeof(target), "%s/data.mdb", dir) >=
	    sizeof(target)) {
		snprintf(err, errsz, "restore: %s: path too long", dir);
		return -1;
	}
	if (ctl_data_lock(dir, 1, lockfd) < 0) {
		snprintf(err, errsz, "restore: a storaged is running on %s: "
		    "stop it first (systemctl stop parley-storaged); nothing "
		    "was changed", dir);
		return -1;
	}
	rc = restore_locked(file, dir, target, out, err, errsz);
	ctl_locks_close(lockfd);
	return rc;
}
