/* parleyctl's command line: pure, so that it is unit tested. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "orgmsg.h"
#include "usermsg.h"

const char ctl_usage[] =
"usage: parleyctl [-S socket] [--storaged ADDRS] [-t seconds] command [options]\n"
"\n"
"  backup FILE            write a consistent compact copy of the data to\n"
"                         FILE (new, mode 0600) while storaged serves\n"
"  restore FILE [--data-dir DIR]\n"
"                         put backup FILE in place of the data directory's\n"
"                         data.mdb (DIR, default $PARLEY_DATA_DIR) once\n"
"                         storaged is stopped: verified first, its owner\n"
"                         and mode kept, a crashed storaged's wal.log\n"
"                         moved aside; refused while storaged runs\n"
"  verify PATH            read a backup (or a stopped storaged's data\n"
"                         directory or data.mdb) back without storaged:\n"
"                         every database read whole, every record decoded;\n"
"                         exit 1 when a problem is found\n"
"  stats [--json]         counts, data file and map size, LMDB page figures\n"
"  widgets [--json] [--org ORG]\n"
"                         the organisation's widgets: public id, internal\n"
"                         id, enabled, daily cap, name\n"
"  export [--format jsonl|csv] [--rows conversations|messages] [--widget ID]\n"
"         [--org ORG]     every conversation or message of the organisation\n"
"                         to stdout, as the HTTP export writes them\n"
"                         (default: jsonl, conversations; ID is a widget's\n"
"                         internal id)\n"
"  ORG is an organisation's id: default (the default) or org_ + 32 hex\n"
"  purge --older-than DAYS [--dry-run]\n"
"                         delete the conversations with no activity for\n"
"                         DAYS days (1 to 36500); --dry-run only counts\n"
"  user add EMAIL --role owner|admin|agent [--org ORG] [--name NAME]\n"
"                         a new user, member of ORG with that role (or an\n"
"                         existing one made a member: its password kept);\n"
"                         the password is read from stdin (NAME: the\n"
"                         email's part before @ unless given)\n"
"  user reset-password EMAIL\n"
"                         a new password, read from stdin; the user's\n"
"                         sessions end\n"
"  user list [--org ORG]  the organisation's members\n"
"  role [--json]          replication: primary, standby or fenced, the\n"
"                         term, the last record, the standby's state\n"
"  promote [--term N]     make this standby the primary (term N, default\n"
"                         its term + 1); stop the old primary first\n"
"                         (a password: one line of stdin, 12 to 1024\n"
"                         characters; at a terminal, asked twice)\n"
"\n"
"  -S socket   storaged's socket (default $PARLEY_RUN_DIR/storaged.sock,\n"
"              PARLEY_RUN_DIR defaulting to ./var/run; when that is not\n"
"              there, the installed units' /run/parley/storaged.sock)\n"
"  --storaged ADDRS\n"
"              storaged's addresses, comma-separated: unix:/path or\n"
"              tls://HOST:PORT (default $PARLEY_STORAGED); the one that\n"
"              says it is primary is used; tls:// needs PARLEY_CLUSTER_CA,\n"
"              _CERT and _KEY; backup needs a unix: one (the storaged host)\n"
"  -t seconds  how long to wait for each answer (default 30; backup 3600)\n"
"\n"
"Exit status: 0 done, 1 failed (the reason on stderr), 2 usage error.\n";

static int
fail(char *err, size_t errsz, const char *fmt, const char *arg)
{
	snprintf(err, errsz, fmt, arg);
	return -1;
}

/* A decimal u64 (digits only). 0, or -1. */
static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* A decimal integer in [min, max]. 0, or -1. */
static int
parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* 1 unless s is an organisation's id (st_org_id_valid). */
static int
org_bad(const char *s)
{
	return !st_org_id_valid(s);
}

static int
widget_valid(const char *w)
{
	size_t n = strlen(w);

	return n >= 1 && n <= ST_WIDGET_MAX && strspn(w,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") == n;
}

/*
 * An option of the command: "--name VALUE" or "--name=VALUE". Returns 1
 * with *val set (and *i past it), 0 when argv[*i] is not this option, -1
 * when its value is missing.
 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* --org ORG of a user subcommand: 1 taken, 0 not it, -1 wrong. */
static int
user_org(int argc, char **argv, int *i, struct ctl_args *a, char *err,
    size_t errsz)
{
	const char *v;
	int r;

	if ((r = opt_value(argc, argv, i, "--org", &v)) == 0)
		return 0;
	if (r < 0 || org_bad(v))
		return fail(err, errsz, "user: --org %s is not default or org_ "
		    "and 32 hex", r < 0 ? "" : v);
	a->org = v;
	return 1;
}

/* user add's --role and --name, and --org. */
static int
user_add_opts(int argc, char **argv, int *i, struct ctl_args *a, char *err,
    size_t errsz)
{
	const char *v, *bad;
	int r;

	for (; *i < argc; (*i)++) {
		if ((r = user_org(argc, argv, i, a, err, errsz)) < 0)
			return -1;
		if (r > 0)
			continue;
		if ((r = opt_value(argc, argv, i, "--role", &v)) != 0) {
			if (r < 0 || (a->role = st_role_parse(v)) ==
			    ST_ROLE_NONE)
				return fail(err, errsz, "user add: --role %s "
				    "is not owner, admin or agent",
				    r < 0 ? "" : v);
		} else if ((r = opt_value(argc, argv, i, "--name", &v)) != 0) {
			if (r < 0)
				return fail(err, errsz, "%s",
				    "user add: --name needs a value");
			if ((bad = st_user_name_invalid(v)) != NULL)
				return fail(err, errsz, "user add: %s", bad);
			a->name = v;
		} else
			break;
	}
	if (a->role == ST_ROLE_NONE)
		return fail(err, errsz, "%s", "user add: --role is required");
	return 0;
}

/* The user subcommands, from argv[*i]; *i past what they took. */
static int
user_parse(int argc, char **argv, int *i, struct ctl_args *a, char *err,
    size_t errsz)
{
	char norm[ST_EMAIL_MAX + 1];
	const char *sub, *bad;
	int r;

	if (*i >= argc)
		return fail(err, errsz, "%s", "user: add, reset-password or "
		    "list?");
	sub = argv[(*i)++];
	if (strcmp(sub, "list") == 0) {
		a->cmd = CMD_USER_LIST;
		for (; *i < argc; (*i)++)
			if ((r = user_org(argc, argv, i, a, err, errsz)) <= 0)
				return r;
		return 0;
	}
	if (strcmp(sub, "add") == 0)
		a->cmd = CMD_USER_ADD;
	else if (strcmp(sub, "reset-password") == 0)
		a->cmd = CMD_USER_PASSWORD;
	else
		return fail(err, errsz, "user: unknown subcommand %s", sub);
	if (*i >= argc || argv[*i][0] == '-')
		return fail(err, errsz, "user %s: no EMAIL", sub);
	a->email = argv[(*i)++];
	if ((bad = st_email_normal(a->email, norm)) != NULL)
		return fail(err, errsz, "user: %s", bad);
	if (a->cmd == CMD_USER_ADD)
		return user_add_opts(argc, argv, i, a, err, errsz);
	return 0;
}

/* restore FILE [--data-dir DIR], either order; *i past them. */
static int
restore_parse(int argc, char **argv, int *i, struct ctl_args *a, char *err,
    size_t errsz)
{
	const char *v;
	int r;

	a->cmd = CMD_RESTORE;
	for (; *i < argc; (*i)++) {
		if ((r = opt_value(argc, argv, i, "--data-dir", &v)) != 0) {
			if (r < 0 || *v == '\0')
				return fail(err, errsz, "%s", "restore: "
				    "--data-dir needs a directory");
			a->data_dir = v;
		} else if (a->file == NULL && argv[*i][0] != '-' &&
		    argv[*i][0] != '\0')
			a->file = argv[*i];
		else
			break;
	}
	if (a->file == NULL)
		return fail(err, errsz, "%s", "restore: no FILE");
	return 0;
}

const char *
ctl_user_name(const struct ctl_args *a, char *buf, size_t bufsz)
{
	size_t n;

	if (a->name != NULL)
		return a->name;
	n = strcspn(a->email, "@");
	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, a->email, n);
	buf[n] = '\0';
	/* Cut to whole characters of the name's bound. */
	buf[st_utf8_prefix(buf, ST_USER_NAME_MAX)] = '\0';
	return buf;
}

int
ctl_parse(int argc, char **argv, struct ctl_args *a, char *err, size_t errsz)
{
	const char *cmd, *v;
	int i = 1, r, have_days = 0;

	memset(a, 0, sizeof(*a));
	a->widget = "";
	a->org = ST_ORG_DEFAULT;
	err[0] = '\0';
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return fail(err, errsz, "%s", "");
		if (strcmp(argv[i], "--storaged") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return fail(err, errsz, "%s",
				    "--storaged needs addresses");
			a->storaged = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "-S") == 0 || strcmp(argv[i], "-t") == 0) {
			if (i + 1 >= argc)
				return fail(err, errsz, "%s needs a value",
				    argv[i]);
			if (argv[i][1] == 'S') {
				a->sock = argv[++i];
				if (*a->sock == '\0')
					return fail(err, errsz, "%s",
					    "-S needs a path");
			} else if (parse_int(argv[++i], 1, 86400,
			    &a->timeout_s) < 0)
				return fail(err, errsz, "-t %s: not 1 to 86400 "
				    "seconds", argv[i]);
			continue;
		}
		return fail(err, errsz, "unknown option %s", argv[i]);
	}
	if (a->sock != NULL && a->storaged != NULL)
		return fail(err, errsz, "%s", "-S and --storaged: one or the "
		    "other");
	if (i >= argc)
		return fail(err, errsz, "%s", "no command");
	cmd = argv[i++];
	if (strcmp(cmd, "backup") == 0) {
		a->cmd = CMD_BACKUP;
		if (i >= argc)
			return fail(err, errsz, "%s", "backup: no FILE");
		a->file = argv[i++];
		if (*a->file == '\0')
			return fail(err, errsz, "%s", "backup: empty FILE");
	} else if (strcmp(cmd, "verify") == 0) {
		a->cmd = CMD_VERIFY;
		if (i >= argc || *argv[i] == '\0')
			return fail(err, errsz, "%s", "verify: no PATH");
		a->file = argv[i++];
	} else if (strcmp(cmd, "restore") == 0) {
		if (restore_parse(argc, argv, &i, a, err, errsz) < 0)
			return -1;
	} else if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "widgets") == 0) {
		a->cmd = cmd[0] == 's' ? CMD_STATS : CMD_WIDGETS;
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0)
				a->json = 1;
			else if (a->cmd == CMD_WIDGETS && (r = opt_value(argc,
			    argv, &i, "--org", &v)) != 0) {
				if (r < 0 || org_bad(v))
					return fail(err, errsz, "widgets: "
					    "--org %s is not default or org_ "
					    "and 32 hex", r < 0 ? "" : v);
				a->org = v;
			} else
				break;
		}
	} else if (strcmp(cmd, "export") == 0) {
		a->cmd = CMD_EXPORT;
		for (; i < argc; i++) {
			if ((r = opt_value(argc, argv, &i, "--format",
			    &v)) != 0) {
				if (r < 0)
					return fail(err, errsz, "%s",
					    "export: --format needs a value");
				if (strcmp(v, "jsonl") == 0)
					a->format = EXPORT_JSONL;
				else if (strcmp(v, "csv") == 0)
					a->format = EXPORT_CSV;
				else
					return fail(err, errsz, "export: "
					    "format %s is not jsonl or csv", v);
			} else if ((r = opt_value(argc, argv, &i, "--rows",
			    &v)) != 0) {
				if (r < 0)
					return fail(err, errsz, "%s",
					    "export: --rows needs a value");
				if (strcmp(v, "conversations") == 0)
					a->rows = EXPORT_CONVS;
				else if (strcmp(v, "messages") == 0)
					a->rows = EXPORT_MSGS;
				else
					return fail(err, errsz, "export: rows "
					    "%s is not conversations or "
					    "messages", v);
			} else if ((r = opt_value(argc, argv, &i, "--widget",
			    &v)) != 0) {
				if (r < 0)
					return fail(err, errsz, "%s",
					    "export: --widget needs a value");
				if (!widget_valid(v))
					return fail(err, errsz, "export: "
					    "widget %s is not 1 to 64 of "
					    "A-Z a-z 0-9 _ -", v);
				a->widget = v;
			} else if ((r = opt_value(argc, argv, &i, "--org",
			    &v)) != 0) {
				if (r < 0 || org_bad(v))
					return fail(err, errsz, "export: "
					    "--org %s is not default or org_ "
					    "and 32 hex", r < 0 ? "" : v);
				a->org = v;
			} else
				break;
		}
	} else if (strcmp(cmd, "purge") == 0) {
		a->cmd = CMD_PURGE;
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--dry-run") == 0)
				a->dry_run = 1;
			else if ((r = opt_value(argc, argv, &i,
			    "--older-than", &v)) != 0) {
				if (r < 0)
					return fail(err, errsz, "%s", "purge: "
					    "--older-than needs DAYS");
				if (parse_int(v, 1, CTL_DAYS_MAX,
				    &a->days) < 0)
					return fail(err, errsz, "purge: "
					    "--older-than %s: DAYS must be 1 "
					    "to 36500", v);
				have_days = 1;
			} else
				break;
		}
		if (i == argc && !have_days)
			return fail(err, errsz, "%s",
			    "purge: --older-than DAYS is required");
	} else if (strcmp(cmd, "user") == 0) {
		if (user_parse(argc, argv, &i, a, err, errsz) < 0)
			return -1;
	} else if (strcmp(cmd, "role") == 0) {
		a->cmd = CMD_ROLE;
		if (i < argc && strcmp(argv[i], "--json") == 0) {
			a->json = 1;
			i++;
		}
	} else if (strcmp(cmd, "promote") == 0) {
		a->cmd = CMD_PROMOTE;
		if (i < argc && (r = opt_value(argc, argv, &i, "--term",
		    &v)) != 0) {
			if (r < 0 || parse_u64(v, &a->term) < 0 ||
			    a->term == 0)
				return fail(err, errsz, "promote: --term %s "
				    "is not a whole number above 0",
				    r < 0 ? "" : v);
			i++;
		}
	} else
		return fail(err, errsz, "unknown command %s", cmd);
	if (i < argc)
		return fail(err, errsz, "unexpected argument %s", argv[i]);
	return 0;
}

uint64_t
ctl_cutoff(uint64_t now_ms, int days)
{
	uint64_t span = (uint64_t)days * CTL_DAY_MS;

	return now_ms > span ? now_ms - span : 0;
}
