/* Dropping root to PARLEY_USER (see privdrop.h). */
#include <sys/stat.h>
#include <sys/types.h>

#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
privdrop_lookup(const char *name, struct privuser *pu, char *err,
    size_t errsz)
{
	struct passwd *pw;

	memset(pu, 0, sizeof(*pu));
	if (name == NULL || name[0] == '\0')
		return 0;
	if (strlcpy(pu->name, name, sizeof(pu->name)) >= sizeof(pu->name)) {
		snprintf(err, errsz, "PARLEY_USER is too long");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errsz, "PARLEY_USER \"%s\": %s", name,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "PARLEY_USER \"%s\" is root: name an "
		    "unprivileged user", name);
		return -1;
	}
	pu->set = 1;
	pu->uid = pw->pw_uid;
	pu->gid = pw->pw_gid;
	return 0;
}

int
privdrop_to(const struct privuser *pu, char *err, size_t errsz)
{
	if (setgroups(0, NULL) < 0) {
		snprintf(err, errsz, "setgroups: %s", strerror(errno));
		return -1;
	}
	/* gid first: without root we could no longer change it. */
	if (setresgid(pu->gid, pu->gid, pu->gid) < 0) {
		snprintf(err, errsz, "setresgid %u: %s", (unsigned)pu->gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(pu->uid, pu->uid, pu->uid) < 0) {
		snprintf(err, errsz, "setresuid %u: %s", (unsigned)pu->uid,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errsz, "root could be regained after dropping "
		    "to %s", pu->name);
		return -1;
	}
	if (getuid() != pu->uid || geteuid() != pu->uid ||
	    getgid() != pu->gid || getegid() != pu->gid) {
		snprintf(err, errsz, "still not %s after dropping", pu->name);
		return -1;
	}
	return 0;
}

void
privdrop_init(struct privuser *pu, const char *user)
{
	char err[256];

	if (privdrop_lookup(user, pu, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (!pu->set) {
		if (geteuid() == 0)
			log_warnx("running as root: set PARLEY_USER to the "
			    "user to run as (or use the systemd units)");
		return;
	}
	if (geteuid() != 0 && (geteuid() != pu->uid || getuid() != pu->uid))
		fatalx("PARLEY_USER is %s but we run as uid %u without root "
		    "to switch: start as root or as %s", pu->name,
		    (unsigned)geteuid(), pu->name);
}

void
privdrop_apply(const struct privuser *pu)
{
	char err[256];

	if (!pu->set || geteuid() != 0)
		return;
	if (privdrop_to(pu, err, sizeof(err)) < 0)
		fatalx("cannot drop root: %s", err);
	log_info("running as %s (uid %u, gid %u)", pu->name,
	    (unsigned)pu->uid, (unsigned)pu->gid);
}

void
privdrop_chown(const struct privuser *pu, const char *path)
{
	if (!pu->set || geteuid() != 0)
		return;
	if (fchownat(AT_FDCWD, path, pu->uid, pu->gid,
	    AT_SYMLINK_NOFOLLOW) < 0)
		fatal("chown %s to %s", path, pu->name);
}

void
privdrop_nodump(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("prctl PR_SET_DUMPABLE");
}
