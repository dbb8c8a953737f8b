/*
 * parleyctl: the administration tool. It talks to parley-storaged over
 * its socket in the binary protocol (proto/PROTOCOL.md, ctlmsg.h): its
 * requests and replies are the message table's structs (proto/stmsgs.h).
 *
 *	main.c    the commands: a request struct out, its reply decoded
 *	args.c    the command line (pure: unit tested)
 *	format.c  what is printed: stats, widgets (pure); the export rows
 *	          are lib/exportrows.c's, as the HTTP export's
 *	client.c  one blocking connection to storaged
 *	verify.c  a copy of the data read back without storaged
 *	restore.c a backup put in place of a stopped storaged's data.mdb
 *	partial.c a file written under a temporary name, renamed once whole
 */
#ifndef PARLEY_CTL_H
#define PARLEY_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "ctlmsg.h"
#include "exportrows.h"
#include "storemsg.h"
#include "widgetmsg.h"

#define CTL_NAME		"parleyctl"
#define CTL_TIMEOUT_S		30	/* a reply, by default */
#define CTL_BACKUP_TIMEOUT_S	3600	/* a backup, unless -t is given */
#define CTL_DAYS_MAX		36500
#define CTL_DAY_MS		(24ull * 60 * 60 * 1000)

enum ctl_cmd { CMD_BACKUP, CMD_STATS, CMD_WIDGETS, CMD_EXPORT, CMD_PURGE,
    CMD_USER_ADD, CMD_USER_PASSWORD, CMD_USER_LIST, CMD_ROLE, CMD_PROMOTE,
    CMD_VERIFY, CMD_RESTORE };

struct ctl_args {
	const char *sock;	/* -S; NULL: PARLEY_STORAGED or --storaged */
	const char *storaged;	/* --storaged: addresses, unparsed */
	int timeout_s;		/* 0: the command's default */
	enum ctl_cmd cmd;
	const char *file;	/* backup, verify, restore */
	const char *data_dir;	/* restore: --data-dir; NULL: PARLEY_DATA_DIR */
	int json;		/* stats, widgets */
	enum export_format format;	/* export */
	enum export_rows rows;
	const char *widget;	/* export: "" = every widget */
	const char *org;	/* widgets, export: the organisation ("default") */
	int days;		/* purge */
	int dry_run;
	const char *email;	/* user add, user reset-password */
	uint8_t role;		/* user add: enum st_role */
	const char *name;	/* user add: NULL = the email's local part */
	uint64_t term;		/* promote: 0 = the standby's term + 1 */
};

extern const char ctl_usage[];

/* args.c */
/*
 * Parses argv (argv[0] is the program). 0, or -1 with a one-line reason
 * in err: a usage error.
 */
int ctl_parse(int argc, char **argv, struct ctl_args *, char *err,
    size_t errsz);
/* The purge cutoff: now_ms less days, 0 when days reach before the epoch. */
uint64_t ctl_cutoff(uint64_t now_ms, int days);

/*
 * user add's display name: the --name given, else the email's part
 * before '@' (at most ST_USER_NAME_MAX characters) into buf.
 */
const char *ctl_user_name(const struct ctl_args *, char *buf, size_t bufsz);

/* format.c: each returns 0, or -1 when the output failed. */
int ctl_print_stats(FILE *, const struct st_stats *, int json);
/* An organisation's members (ST_USER_LIST), as a table with a header. */
struct st_member_view;
int ctl_print_users(FILE *, const struct st_member_view *, uint32_t n);
/* Replication's state (ST_REPL_STATUS), as lines or a JSON object. */
struct st_repl_status;
int ctl_print_role(FILE *, const struct st_repl_status *, int json);
/* The widgets, as a table with a header or a JSON array. */
int ctl_print_widgets(FILE *, const struct st_widget *, uint32_t n, int json);

/* client.c */
struct ctl_reply {
	uint32_t code;		/* PROTO_E_*, 0 for a reply */
	char *errmsg;		/* with code */
	uint8_t *payload;
	size_t len;
};

/*
 * Connects to the first of the n addresses that answers (tls:// ones
 * with ctx, TLS 1.3 and the cluster's CA; each within CTL_CONNECT_MS)
 * and says HELLO; when there are several, to the one that says it is
 * the primary (ST_EV_ROLE): a standby is left for the primary it names,
 * or the next. 0, or -1 with err saying why the last failed.
 */
struct staddr;
struct ssl_ctx_st;
int ctl_connect_list(const struct staddr *, size_t n, struct ssl_ctx_st *ctx,
    char *err, size_t errsz);
/*
 * Whether installed (the systemd units' socket) is the one to use, dev
 * (the development default) not being there: 1 yes, 0 no (dev is there,
 * or installed is not a socket), -1 with err when installed's directory
 * is closed to us (EACCES: not root nor the user storaged runs as), which
 * is not "not running".
 */
int ctl_installed_sock(const char *dev, const char *installed, char *err,
    size_t errsz);
/* The organisation the requests act in (who asks's org); "default" until set. */
void ctl_set_org(const char *org);
/*
 * One request and its reply; fd (or -1) rides with it and is closed.
 * 0 with r filled (free with ctl_reply_free), or -1 with err set: the
 * connection failed or timeout_s passed.
 */
int ctl_call(uint16_t type, const void *payload, size_t len, int fd,
    int timeout_s, struct ctl_reply *r, char *err, size_t errsz);
void ctl_reply_free(struct ctl_reply *);
void ctl_close(void);

/* verify.c */
/*
 * Reads path (a data file, or a data directory's data.mdb) without
 * storaged, as a start would (verify.c's comment says what is checked),
 * and prints each problem found and a summary to out: 0 none found, 1
 * found (a read that crashed on a damaged page too: it reads in a child
 * process), -1 it could not be read at all or a storaged is running on it
 * (err says why).
 */
int ctl_verify(const char *path, FILE *out, char *err, size_t errsz);
/*
 * ctl_verify of file as a backup (whole, whatever its name), without
 * taking its directory's locks: for restore, which holds the data
 * directory's. 0, 1 or -1 as ctl_verify.
 */
int ctl_verify_backup(const char *file, FILE *out, char *err, size_t errsz);
/*
 * The data directory dir's locks taken as storaged takes them (the
 * directory and its storaged.data.lock when there; exclusive or shared,
 * never waiting) into fd (each -1 when not there): 0, or -1 when one is
 * held (a storaged runs on dir). Released by ctl_locks_close.
 */
int ctl_data_lock(const char *dir, int exclusive, int fd[2]);
void ctl_locks_close(int fd[2]);
/*
 * Whether dir's wal.log holds records a start would replay (its header's
 * first u32, storaged/wal.c's wal_file_empty, is not 0): 1 or 0.
 */
int ctl_wal_dirty(const char *dir);

/* restore.c */
/*
 * file (a backup) put in place of dir's data.mdb while no storaged runs
 * on dir (its locks held throughout): file verified whole first (its
 * report to out), copied beside data.mdb with data.mdb's owner and mode
 * (else the directory's owner, 0600), synced and renamed over it; a
 * wal.log holding records (a storaged that did not stop cleanly) moved
 * aside to wal.log.before-restore-TIME. What was done said on out. 0, or
 * -1 with err (nothing changed unless err says so).
 */
int ctl_restore(const char *file, const char *dir, FILE *out, char *err,
    size_t errsz);

/* partial.c */
/*
 * Makes target's temporary, DIR/.NAME.partial-PID (new, mode 0600), to
 * be written and then renamed to target (ctl_partial_commit) or removed
 * (ctl_partial_drop); until then SIGINT, SIGTERM or SIGHUP removes it
 * before ending us. One at a time. The fd, or -1 with err.
 */
int ctl_partial_open(const char *target, char *err, size_t errsz);
/*
 * The temporary renamed to target (an existing target refused, "exists",
 * unless replace): 0, or -1 with err and the temporary removed. The
 * caller syncs the directory (ctl_parent_sync).
 */
int ctl_partial_commit(const char *target, int replace, char *err,
    size_t errsz);
/*
 * rename(2), an existing to refused (EEXIST) unless replace: atomically
 * where the filesystem can (RENAME_NOREPLACE), else after a look.
 * 0, or -1 (errno).
 */
int ctl_rename(const char *from, const char *to, int replace);
/* The temporary removed, if one is there. */
void ctl_partial_drop(void);
/*
 * The directory that names path fsynced: the entry of a file just made
 * or renamed is on disk too. 0, or -1 (errno).
 */
int ctl_parent_sync(const char *path);

#endif
