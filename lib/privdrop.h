/*
 * Dropping root without systemd (docs/internals.md, "Settings":
 * PARLEY_USER).
 *
 * A daemon started as root does what needs root (masterd binds its port;
 * storaged creates its directories and hands them to the user), then
 * becomes PARLEY_USER for good: supplementary groups cleared, then gid,
 * then uid, and it checks that root cannot be regained.
 *
 *	PARLEY_USER unset	no change; as root a warning says so
 *	PARLEY_USER=name	as root: become name (an unknown name is fatal);
 *				not root: we must already be name, else fatal
 *
 * Under systemd the unit's User= does this and PARLEY_USER stays unset.
 */
#ifndef PARLEY_PRIVDROP_H
#define PARLEY_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privuser {
	int set;		/* PARLEY_USER was given */
	char name[64];
	uid_t uid;
	gid_t gid;
};

/*
 * Looks name up (NULL or "": pu->set = 0). 0, or -1 with a message in
 * err. Pure apart from the user database.
 */
int privdrop_lookup(const char *name, struct privuser *pu, char *err,
    size_t errsz);
/*
 * Becomes pu (setgroups, setgid, setuid) and verifies setuid(0) and
 * setgid(0) now fail. 0, or -1 with a message in err. Only for root.
 */
int privdrop_to(const struct privuser *pu, char *err, size_t errsz);

/*
 * For the daemons: user is PARLEY_USER (struct settings.user; NULL: no
 * change); fatal when it names no user (or, without root, a user we are
 * not). Call before any work that may fail late, so a typo stops the start.
 */
void privdrop_init(struct privuser *pu, const char *user);
/* As root with PARLEY_USER: privdrop_to() or fatal; logs the change. */
void privdrop_apply(const struct privuser *pu);
/*
 * The process unreadable by another of its user (PR_SET_DUMPABLE 0: no
 * /proc/<pid>/mem, no ptrace, no core file): a child subverted (a PDF
 * that takes over poppler in the fetcher's reader) cannot read the keys
 * of its parent or masterd. Inherited by fork, reset by exec: each
 * program calls it at start. Fatal if refused.
 */
void privdrop_nodump(void);
/* As root with PARLEY_USER: chown path (not following a link) to pu. */
void privdrop_chown(const struct privuser *pu, const char *path);

#endif
