/*
 * parleyctl: backup, stats, widgets, export, purge and users, through
 * parley-storaged's socket (ctl.h; the usage text is in args.c); verify
 * reads a copy of the data itself, and restore puts a backup in place of
 * a stopped storaged's data.
 *
 * A user's password is read from stdin and hashed here (st_pw_scrypt,
 * the worker's scrypt, with a fresh salt): storaged only stores the
 * hash. The copies read are wiped once hashed; none is printed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "ctl.h"
#include "random.h"
#include "settings.h"
#include "staddr.h"
#include "stmsgs.h"
#include "tlschan.h"
#include "usermsg.h"
#include "util.h"
#include "msgtab.h"
#include "version.h"

#define PW_MAX		1024	/* characters, as DASHBOARD_PASSWORD */
#define PW_LINE_MAX	(4 * PW_MAX + 2)	/* bytes of one line read */

static struct ctl_args args;
static char errbuf[1024];

static void __attribute__((format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs(CTL_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_close();
	ctl_partial_drop();
	exit(1);
}

static int
timeout_for(int dflt)
{
	return args.timeout_s > 0 ? args.timeout_s : dflt;
}

/*
 * Sends type's request (req encoded by the message table; NULL: an
 * empty one), fd (or -1) riding with it, and waits for the reply: -1
 * when the exchange failed (errbuf says why), else the reply's error
 * code with storaged's message in errbuf, or 0 with the reply decoded
 * into rep by the table (free with st_rep_free). A reply that does not
 * decode ends the program; what names the command.
 */
static int
exchange(const char *what, uint16_t type, const void *req, int fd,
    int timeout_s, void *rep)
{
	struct ctl_reply r;
	struct penc e;
	int rc;

	penc_init(&e);
	if (req != NULL && st_req_encode(&e, type, req) < 0)
		die("%s: the request does not encode", what);
	rc = ctl_call(type, e.buf, e.len, fd, timeout_s, &r, errbuf,
	    sizeof(errbuf));
	penc_free(&e);
	if (rc < 0)
		return -1;
	if ((rc = (int)r.code) != 0)
		snprintf(errbuf, sizeof(errbuf), "storaged: %s (%s)", r.errmsg,
		    proto_err_name(r.code));
	else if (st_rep_decode(type, r.payload, r.len, rep) < 0)
		die("%s: storaged's answer does not decode", what);
	ctl_reply_free(&r);
	return rc;
}

/* exchange() of a request without an fd; anything but the reply ends us. */
static void
ask(const char *what, uint16_t type, const void *req, void *rep)
{
	if (exchange(what, type, req, -1, timeout_for(CTL_TIMEOUT_S), rep) != 0)
		die("%s: %s", what, errbuf);
}

/*
 * The copy is written to a temporary beside FILE (ctl_partial_open) and
 * renamed to FILE once storaged has written and synced it: a failed or
 * interrupted backup leaves no FILE.
 */
static void
cmd_backup(void)
{
	struct st_u64 bytes;
	char err[PATH_MAX + 64];
	int fd;

	if ((fd = ctl_partial_open(args.file, err, sizeof(err))) < 0)
		die("backup: %s", err);
	/* The fd travels to storaged (and is closed here). */
	if (exchange("backup", PROTO_ST_BACKUP, NULL, fd,
	    timeout_for(CTL_BACKUP_TIMEOUT_S), &bytes) != 0) {
		ctl_partial_drop();
		die("backup: %s", errbuf);
	}
	if (ctl_partial_commit(args.file, 0, err, sizeof(err)) < 0)
		die("backup: %s", err);
	/* storaged fsynced the file; its name is this directory's. */
	if (ctl_parent_sync(args.file) < 0)
		die("backup: %s written, but its directory could not be synced "
		    "(a power loss may lose the file): %s", args.file,
		    strerror(errno));
	printf("backup: %" PRIu64 " bytes written to %s\n", bytes.v,
	    args.file);
}

static void
cmd_role(void)
{
	struct st_repl_status st;

	ask("role", PROTO_ST_REPL_STATUS, NULL, &st);
	if (ctl_print_role(stdout, &st, args.json) < 0)
		die("role: cannot write the output");
}

/* A standby made primary: the old one must be stopped first (STORAGE.md). */
static void
cmd_promote(void)
{
	struct st_u64 in = { args.term }, out;

	ask("promote", PROTO_ST_REPL_PROMOTE, &in, &out);
	printf("promoted: primary with term %" PRIu64 "\n", out.v);
}

static void
cmd_stats(void)
{
	struct st_stats s;

	ask("stats", PROTO_ST_STATS, NULL, &s);
	if (ctl_print_stats(stdout, &s, args.json) < 0)
		die("stats: cannot write the output");
	st_rep_free(PROTO_ST_STATS, &s);
}

static void
cmd_widgets(void)
{
	struct st_widgets l;

	ask("widgets", PROTO_ST_WIDGET_LIST, NULL, &l);
	if (ctl_print_widgets(stdout, l.widgets, l.n, args.json) < 0)
		die("widgets: cannot write the output");
	st_rep_free(PROTO_ST_WIDGET_LIST, &l);
}

/* A conversation's row, or else m's, as the HTTP export writes it. */
static void
put_row(const struct st_conv *cv, const struct st_msg *m)
{
	struct penc e;
	int rv;

	penc_init(&e);
	rv = cv != NULL ? exprow_conv(&e, args.format, cv) :
	    exprow_msg(&e, args.format, m);
	if (rv < 0 || fwrite(e.buf, 1, e.len, stdout) != e.len)
		die("export: cannot write the output");
	penc_free(&e);
}

/*
 * Every message of a page of conversations (those with messages), as
 * many conversations a request as storaged's page holds (a conversation
 * deleted meanwhile has none).
 */
static void
export_msgs(const struct st_conv_page *cp)
{
	struct st_str ids[ST_LIST_MAX];
	struct st_msg_pages_req q = { ids, 0, 0, ST_LIST_MAX };
	struct st_msg_pages_rep pg;
	uint32_t i, skip;

	for (i = 0; i < cp->n && i < ST_LIST_MAX; i++)
		if (cp->convs[i].message_count > 0)
			ids[q.n++].s = cp->convs[i].id;
	while (q.n > 0) {
		ask("export", PROTO_ST_MSG_PAGES, &q, &pg);
		for (i = 0; i < pg.n; i++)
			put_row(NULL, &pg.msgs[i]);
		skip = exprow_pages_next(q.n, &q.from, pg.next_conv,
		    pg.next_from);
		q.ids += skip;
		q.n -= skip;
		st_rep_free(PROTO_ST_MSG_PAGES, &pg);
	}
}

static void
cmd_export(void)
{
	char cursor[ST_CURSOR_MAX + 1] = "";
	/* By creation: a conversation a message moves is still met once. */
	struct st_conv_query_req q = { ST_LIST_MAX, cursor, args.widget, "",
	    ST_ASSIGNED_ANY, "", 0, 0, ST_ORDER_CREATED };
	struct st_conv_page pg;
	struct st_audit_note_req note = { "export", "" };
	union st_any none;
	uint32_t i;
	int rc;

	/*
	 * In the organisation's log, as the HTTP export's, before a row. A
	 * standby writes nothing, its primary's log included: an export of
	 * its copy (a read) is noted nowhere.
	 */
	if ((rc = exchange("export", PROTO_ST_AUDIT_NOTE, &note, -1,
	    timeout_for(CTL_TIMEOUT_S), &none)) == 0)
		st_rep_free(PROTO_ST_AUDIT_NOTE, &none);
	else if (rc != PROTO_E_NOT_PRIMARY)
		die("export: %s", errbuf);
	fputs(exprow_header(args.format, args.rows), stdout);
	do {
		ask("export", PROTO_ST_CONV_QUERY, &q, &pg);
		/* The page's conversations (or their messages), then the next. */
		if (args.rows == EXPORT_MSGS)
			export_msgs(&pg);
		else
			for (i = 0; i < pg.n; i++)
				put_row(&pg.convs[i], NULL);
		strlcpy(cursor, pg.next_cursor, sizeof(cursor));
		st_rep_free(PROTO_ST_CONV_QUERY, &pg);
	} while (cursor[0] != '\0');
	if (fflush(stdout) != 0 || ferror(stdout))
		die("export: cannot write the output");
}

static void
cmd_purge(void)
{
	struct st_purge_req q;
	struct st_purge_rep rep;
	uint64_t total = 0;

	q.cutoff_ms = ctl_cutoff(proto_wall_ms(), args.days);
	q.max = ST_PURGE_MAX;
	q.dry_run = (uint8_t)args.dry_run;
	do {
		ask("purge", PROTO_ST_PURGE, &q, &rep);
		total += rep.n;
	} while (rep.more && rep.n > 0);
	printf("purge: %s %" PRIu64 " conversation%s with no activity for "
	    "%d day%s\n", args.dry_run ? "would delete" : "deleted", total,
	    total == 1 ? "" : "s", args.days, args.days == 1 ? "" : "s");
}

/*
 * One line of stdin into buf (its newline removed), prompt first and
 * echo off when stdin is a terminal. 0, or -1 at end of input.
 */
static int
pw_line(const char *prompt, char *buf, size_t bufsz)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), rc = 0;
	size_t n;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) < 0)
			die("the terminal: %s", strerror(errno));
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		fputs(prompt, stderr);
		fflush(stderr);
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(buf, (int)bufsz, stdin) == NULL)
		rc = -1;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc == 0 && (n = strlen(buf)) > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	else if (rc == 0 && !feof(stdin))
		die("the password: longer than %d characters", PW_MAX);
	return rc;
}

/*
 * The password (stdin; twice at a terminal), checked as a login's
 * (SETTINGS_PASSWORD_MIN to PW_MAX characters), hashed with a fresh salt
 * into q's salt and hash.
 */
static void
pw_read_hash(const char *what, uint8_t salt[ST_PW_SALT_LEN],
    uint8_t hash[ST_PW_HASH_LEN])
{
	char pw[PW_LINE_MAX], again[PW_LINE_MAX];
	ssize_t n;

	if (pw_line("Password: ", pw, sizeof(pw)) < 0)
		die("%s: no password on stdin", what);
	n = proto_utf8_chars(pw, strlen(pw));
	if (n < SETTINGS_PASSWORD_MIN || n > PW_MAX)
		die("%s: the password must be %d to %d characters", what,
		    SETTINGS_PASSWORD_MIN, PW_MAX);
	if (isatty(STDIN_FILENO)) {
		if (pw_line("Again: ", again, sizeof(again)) < 0 ||
		    strcmp(pw, again) != 0) {
			OPENSSL_cleanse(pw, sizeof(pw));
			OPENSSL_cleanse(again, sizeof(again));
			die("%s: the two passwords differ", what);
		}
		OPENSSL_cleanse(again, sizeof(again));
	}
	proto_random(salt, ST_PW_SALT_LEN);
	n = st_pw_scrypt(pw, strlen(pw), salt, ST_PW_SALT_LEN, hash);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (n < 0)
		die("%s: scrypt failed", what);
}

/* ST_USER_SET: mode's request as parleyctl, in args.org. */
static void
user_set(const char *what, uint8_t mode)
{
	char namebuf[4 * ST_USER_NAME_MAX + 1];
	struct st_user_set_req q = {
		.mode = mode,
		.email = args.email,
		.name = ctl_user_name(&args, namebuf, sizeof(namebuf)),
		.role = args.role,
		.salt_len = ST_PW_SALT_LEN,
		.hash_len = ST_PW_HASH_LEN,
	};
	struct st_user_set_rep rep;
	const char *role;

	if (mode == ST_USER_SET_PASSWORD)
		q.role = ST_ROLE_AGENT;		/* not read */
	pw_read_hash(what, q.salt, q.hash);
	ask(what, PROTO_ST_USER_SET, &q, &rep);
	OPENSSL_cleanse(&q, sizeof(q));
	if (rep.result == 1)
		die("%s: no user %s", what, args.email);
	if (rep.result == 2)
		die("%s: %s is a member of %s already", what, args.email,
		    args.org);
	role = st_role_name(rep.m.role);
	if (mode == ST_USER_SET_ADD)
		printf("%s: %s %s, %s of %s\n", what, rep.m.id, rep.m.email,
		    role != NULL ? role : "-", args.org);
	else
		printf("%s: %s %s: password set, its sessions ended\n", what,
		    rep.m.id, rep.m.email);
	st_rep_free(PROTO_ST_USER_SET, &rep);
}

static void
cmd_user_list(void)
{
	struct st_members l;

	ask("user list", PROTO_ST_USER_LIST, NULL, &l);
	if (ctl_print_users(stdout, l.m, l.n) < 0)
		die("user list: cannot write the output");
	st_rep_free(PROTO_ST_USER_LIST, &l);
}

/*
 * Where the installed units (systemd/) put storaged's socket: its
 * RuntimeDirectory, whatever the install's prefix.
 */
#define INSTALLED_SOCK	"/run/parley/storaged.sock"

/*
 * The socket the installed units serve, when nothing names an address
 * (no -S, --storaged, PARLEY_STORAGED or PARLEY_RUN_DIR) and the
 * development default (set, from PARLEY_RUN_DIR's default) is not
 * there: then an installed parleyctl finds the installed storaged by
 * itself. NULL otherwise; one we may not look at ends us, saying so.
 */
static const char *
installed_sock(const struct settings *set)
{
	int r;

	if (args.storaged != NULL || getenv("PARLEY_STORAGED") != NULL ||
	    getenv("PARLEY_RUN_DIR") != NULL || set->nstoraged != 1 ||
	    set->storaged[0].kind != STADDR_UNIX)
		return NULL;
	if ((r = ctl_installed_sock(set->storaged[0].path, INSTALLED_SOCK,
	    errbuf, sizeof(errbuf))) < 0)
		die("%s", errbuf);
	return r == 1 ? INSTALLED_SOCK : NULL;
}

/*
 * The addresses to try into l (*n of them): -S's socket alone, else
 * PARLEY_STORAGED (or --storaged; the socket in PARLEY_RUN_DIR unless
 * either is set, or the installed one: installed_sock); *ctx the
 * cluster's client context when one is tls://.
 */
static void
storaged_addrs(struct staddr *l, size_t *n, SSL_CTX **ctx)
{
	char err[SETTINGS_ERR_MAX], one[STADDR_PATH_MAX + 8];
	struct settings set;
	const char *sock = args.sock;

	*ctx = NULL;
	/* -S alone reads no setting: a bad one elsewhere does not stop it. */
	if (sock == NULL) {
		if (settings_parse_for(&set, SETTINGS_P_CTL, settings_env,
		    NULL, err, sizeof(err)) < 0)
			die("%s", err);
		if ((sock = installed_sock(&set)) != NULL)
			settings_free(&set);
	}
	if (sock != NULL) {
		if ((size_t)snprintf(one, sizeof(one), "unix:%s", sock) >=
		    sizeof(one))
			die("-S: %s: the socket path is too long", sock);
		if (staddr_parse(one, strlen(one), l, err, sizeof(err)) < 0)
			die("-S: %s", err);
		*n = 1;
		return;
	}
	*n = set.nstoraged;
	memcpy(l, set.storaged, *n * sizeof(*l));
	if (args.storaged != NULL && staddr_list_parse(args.storaged, l,
	    STADDR_LIST_MAX, n, err, sizeof(err)) < 0)
		die("--storaged: %s", err);
	if (*n == 0)
		die("--storaged: no address");
	if (staddr_any_tls(l, *n) && (*ctx = tlschan_ctx_new(0,
	    set.cluster_ca, set.cluster_cert, set.cluster_key, err,
	    sizeof(err))) == NULL)
		die("%s", err);
	settings_free(&set);
}

/*
 * The primary among storaged_addrs(). A backup's fd rides only on a Unix
 * socket: it keeps the unix: ones, and says so when there are none.
 */
static void
connect_storaged(void)
{
	struct staddr l[STADDR_LIST_MAX];
	SSL_CTX *ctx;
	size_t n, i, k = 0;

	storaged_addrs(l, &n, &ctx);
	for (i = 0; args.cmd == CMD_BACKUP && i < n; i++)
		if (l[i].kind == STADDR_UNIX)
			l[k++] = l[i];
	if (args.cmd == CMD_BACKUP && (n = k) == 0)
		die("backup: backup needs the Unix socket: run parleyctl backup "
		    "on the storaged host");
	if (ctl_connect_list(l, n, ctx, errbuf, sizeof(errbuf)) < 0)
		die("%s", errbuf);
	SSL_CTX_free(ctx);
}

/* verify: the copy read here, without storaged (verify.c). */
static int
cmd_verify(void)
{
	int rc = ctl_verify(args.file, stdout, errbuf, sizeof(errbuf));

	if (rc < 0)
		die("%s", errbuf);
	if (fflush(stdout) != 0)
		die("cannot write the output");
	return rc;
}

/*
 * restore: a backup in place of a stopped storaged's data.mdb (restore.c),
 * in --data-dir or PARLEY_DATA_DIR: named, never guessed.
 */
static int
cmd_restore(void)
{
	const char *dir = args.data_dir != NULL ? args.data_dir :
	    getenv("PARLEY_DATA_DIR");

	if (dir == NULL || *dir == '\0')
		die("restore: which data directory? --data-dir DIR, or "
		    "PARLEY_DATA_DIR (the systemd units': /var/lib/parley)");
	if (ctl_restore(args.file, dir, stdout, errbuf, sizeof(errbuf)) < 0)
		die("%s", errbuf);
	if (fflush(stdout) != 0)
		die("cannot write the output");
	return 0;
}

int
main(int argc, char *argv[])
{
	version_arg(argc, argv, CTL_NAME, PROTO_VERSION,
	    proto_layouts_id());
	if (ctl_parse(argc, argv, &args, errbuf, sizeof(errbuf)) < 0) {
		/* -h asked for it: no error. */
		if (errbuf[0] == '\0') {
			fputs(ctl_usage, stdout);
			return 0;
		}
		fprintf(stderr, CTL_NAME ": %s\n", errbuf);
		fputs(ctl_usage, stderr);
		return 2;
	}
	ctl_set_org(args.org);
	/* A closed pipe (export | head) ends us quietly (TLS sends without). */
	signal(SIGPIPE, SIG_DFL);
	if (args.cmd == CMD_BACKUP) {
		/* Refuse before connecting: the file is the user's mistake. */
		if (access(args.file, F_OK) == 0)
			die("backup: %s exists", args.file);
	}
	if (args.cmd == CMD_VERIFY)
		return cmd_verify();
	if (args.cmd == CMD_RESTORE)
		return cmd_restore();
	connect_storaged();
	switch (args.cmd) {
	case CMD_BACKUP:
		cmd_backup();
		break;
	case CMD_STATS:
		cmd_stats();
		break;
	case CMD_WIDGETS:
		cmd_widgets();
		break;
	case CMD_EXPORT:
		cmd_export();
		break;
	case CMD_PURGE:
		cmd_purge();
		break;
	case CMD_USER_ADD:
		user_set("user add", ST_USER_SET_ADD);
		break;
	case CMD_USER_PASSWORD:
		user_set("user reset-password", ST_USER_SET_PASSWORD);
		break;
	case CMD_USER_LIST:
		cmd_user_list();
		break;
	case CMD_ROLE:
		cmd_role();
		break;
	case CMD_PROMOTE:
		cmd_promote();
		break;
	case CMD_VERIFY:	/* above: no storaged */
	case CMD_RESTORE:
		break;
	}
	ctl_close();
	if (fflush(stdout) != 0)
		die("cannot write the output");
	return 0;
}
