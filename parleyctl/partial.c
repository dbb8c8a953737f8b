/*
 * A file written under a temporary name beside its target and renamed
 * to it only once whole: backup's copy, restore's data.mdb. The
 * temporary is DIR/.NAME.partial-PID (mode 0600, made new); SIGINT,
 * SIGTERM and SIGHUP remove it before the signal ends us, and a failure
 * removes it, so that the target is never a part of a file. A SIGKILL
 * leaves the temporary, clearly named, and never the target.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* The temporary being written, removed by a signal while armed is set. */
static char partial[PATH_MAX];
static volatile sig_atomic_t armed;

/* SIGINT, SIGTERM, SIGHUP: the temporary removed, then the signal's end. */
static void
on_signal(int sig)
{
	int e = errno;

	if (armed)
		(void)unlink(partial);
	signal(sig, SIG_DFL);
	raise(sig);
	errno = e;
}

/* The handlers set, once. */
static void
handlers_set(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static int done;
	struct sigaction sa = { .sa_handler = on_signal };
	size_t i;

	if (done++)
		return;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* target's temporary name into buf: 0, or -1 when too long. */
static int
partial_name(const char *target, char *buf, size_t bufsz)
{
	const char *slash = strrchr(target, '/');
	int n;

	if (slash == NULL)
		n = snprintf(buf, bufsz, ".%s.partial-%ld", target,
		    (long)getpid());
	else
		n = snprintf(buf, bufsz, "%.*s/.%s.partial-%ld",
		    (int)(slash - target), target, slash + 1, (long)getpid());
	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

int
ctl_partial_open(const char *target, char *err, size_t errsz)
{
	char name[PATH_MAX];
	int fd;

	if (armed || partial_name(target, name, sizeof(name)) < 0) {
		snprintf(err, errsz, "%s: path too long", target);
		return -1;
	}
	handlers_set();
	memcpy(partial, name, sizeof(partial));
	armed = 1;
	if ((fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		armed = 0;
		snprintf(err, errsz, "%s: %s", target, strerror(errno));
	}
	return fd;
}

void
ctl_partial_drop(void)
{
	if (!armed)
		return;
	(void)unlink(partial);
	armed = 0;
}

int
ctl_rename(const char *from, const char *to, int replace)
{
	if (replace)
		return rename(from, to);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (access(to, F_OK) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int
ctl_partial_commit(const char *target, int replace, char *err, size_t errsz)
{
	if (!armed) {
		snprintf(err, errsz, "%s: nothing written", target);
		return -1;
	}
	if (ctl_rename(partial, target, replace) < 0) {
		snprintf(err, errsz, "%s: %s", target, errno == EEXIST ?
		    "exists" : strerror(errno));
		ctl_partial_drop();
		return -1;
	}
	armed = 0;
	return 0;
}

int
ctl_parent_sync(const char *path)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc, e;

	if ((size_t)snprintf(buf, sizeof(buf), "%.*s", slash == NULL ? 1 :
	    slash == path ? 1 : (int)(slash - path), slash == NULL ? "." :
	    path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}
