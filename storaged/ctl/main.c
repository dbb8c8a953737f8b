/*
 * parleyctl: backup, stats, widgets, export and purge, through
 * parley-storaged's socket (ctl.h; the usage text is in args.c).
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
#include <unistd.h>

#include "ctl.h"
#include "settings.h"

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
	exit(1);
}

static int
timeout_for(int dflt)
{
	return args.timeout_s > 0 ? args.timeout_s : dflt;
}

/* Sends a request and returns its reply; an error reply ends the program. */
static void
call(const char *what, uint16_t type, const struct penc *e, int fd,
    int timeout_s, struct ctl_reply *r)
{
	if (e != NULL && e->err)
		die("%s: out of memory", what);
	if (ctl_call(type, e != NULL ? e->buf : NULL, e != NULL ? e->len : 0,
	    fd, timeout_s, r, errbuf, sizeof(errbuf)) < 0)
		die("%s: %s", what, errbuf);
	if (r->code != 0)
		die("%s: storaged: %s (%s)", what, r->errmsg,
		    proto_err_name(r->code));
}

static void
cmd_backup(void)
{
	struct ctl_reply r;
	struct pdec d;
	uint64_t bytes;
	int fd;

	if ((fd = open(args.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		if (errno == EEXIST)
			die("backup: %s exists", args.file);
		die("backup: %s: %s", args.file, strerror(errno));
	}
	/* The fd travels to storaged; a failed copy leaves no half file. */
	if (ctl_call(PROTO_ST_BACKUP, NULL, 0, fd,
	    timeout_for(CTL_BACKUP_TIMEOUT_S), &r, errbuf, sizeof(errbuf)) < 0) {
		unlink(args.file);
		die("backup: %s", errbuf);
	}
	if (r.code != 0) {
		unlink(args.file);
		die("backup: storaged: %s (%s)", r.errmsg,
		    proto_err_name(r.code));
	}
	pdec_init(&d, r.payload, r.len);
	bytes = pdec_u64(&d);
	if (pdec_done(&d) < 0)
		die("backup: storaged's answer does not decode");
	ctl_reply_free(&r);
	printf("backup: %" PRIu64 " bytes written to %s\n", bytes, args.file);
}

static void
cmd_stats(void)
{
	struct ctl_reply r;
	struct st_stats s;
	struct pdec d;

	call("stats", PROTO_ST_STATS, NULL, -1, timeout_for(CTL_TIMEOUT_S), &r);
	pdec_init(&d, r.payload, r.len);
	if (pdec_stats(&d, &s) < 0 || pdec_done(&d) < 0)
		die("stats: storaged's answer does not decode");
	ctl_reply_free(&r);
	if (ctl_print_stats(stdout, &s, args.json) < 0)
		die("stats: cannot write the output");
}

static void
cmd_widgets(void)
{
	struct st_widget *w;
	struct ctl_reply r;
	struct pdec d;
	uint32_t n, i;
	int bad = 0;

	call("widgets", PROTO_ST_WIDGET_LIST, NULL, -1,
	    timeout_for(CTL_TIMEOUT_S), &r);
	pdec_init(&d, r.payload, r.len);
	n = pdec_u32(&d);
	if (d.err || n > r.len || (w = calloc(n ? n : 1, sizeof(*w))) == NULL)
		die("widgets: storaged's answer does not decode");
	for (i = 0; i < n && !bad; i++)
		bad = pdec_widget(&d, &w[i]) < 0;
	if (bad || pdec_done(&d) < 0)
		die("widgets: storaged's answer does not decode");
	ctl_reply_free(&r);
	if (ctl_print_widgets(stdout, w, n, args.json) < 0)
		die("widgets: cannot write the output");
	for (i = 0; i < n; i++)
		st_widget_free(&w[i]);
	free(w);
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

/* Every message of one conversation, page by page. */
static void
export_msgs(const char *conv_id)
{
	struct ctl_reply r;
	struct st_msg m;
	struct penc e;
	struct pdec d;
	uint32_t from = 0, n, i;

	do {
		penc_init(&e);
		penc_str(&e, conv_id);
		penc_u32(&e, from);
		penc_u32(&e, ST_LIST_MAX);
		if (e.err)
			die("export: out of memory");
		if (ctl_call(PROTO_ST_MSG_PAGE, e.buf, e.len, -1,
		    timeout_for(CTL_TIMEOUT_S), &r, errbuf, sizeof(errbuf)) < 0)
			die("export: %s", errbuf);
		penc_free(&e);
		/* Deleted since its page of conversations: nothing to say. */
		if (r.code == PROTO_E_NOT_FOUND) {
			ctl_reply_free(&r);
			return;
		}
		if (r.code != 0)
			die("export: storaged: %s (%s)", r.errmsg,
			    proto_err_name(r.code));
		pdec_init(&d, r.payload, r.len);
		n = pdec_u32(&d);
		for (i = 0; i < n && !d.err; i++) {
			if (pdec_msg(&d, &m) < 0)
				break;
			put_row(NULL, &m);
			st_msg_free(&m);
		}
		from = pdec_u32(&d);
		if (pdec_done(&d) < 0)
			die("export: storaged's answer does not decode");
		ctl_reply_free(&r);
	} while (from != 0);
}

static void
cmd_export(void)
{
	char cursor[ST_CURSOR_MAX + 1] = "";
	char (*ids)[ST_ID_HEX + 1] = NULL;
	struct ctl_reply r;
	struct st_conv cv;
	struct penc e;
	struct pdec d;
	uint32_t n, i, nids;

	fputs(exprow_header(args.format, args.rows), stdout);
	do {
		penc_init(&e);
		penc_u32(&e, ST_LIST_MAX);
		penc_str(&e, cursor);
		penc_str(&e, args.widget);
		penc_str(&e, "");
		call("export", PROTO_ST_CONV_QUERY, &e, -1,
		    timeout_for(CTL_TIMEOUT_S), &r);
		penc_free(&e);
		pdec_init(&d, r.payload, r.len);
		(void)pdec_u64(&d);
		n = pdec_u32(&d);
		if (d.err || n > ST_LIST_MAX)
			die("export: storaged's answer does not decode");
		if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL)
			die("export: out of memory");
		nids = 0;
		for (i = 0; i < n; i++) {
			if (pdec_conv(&d, &cv) < 0)
				die("export: storaged's answer does not "
				    "decode");
			if (args.rows == EXPORT_CONVS)
				put_row(&cv, NULL);
			else if (cv.message_count > 0)
				memcpy(ids[nids++], cv.id, sizeof(cv.id));
			st_conv_free(&cv);
		}
		pdec_strbuf(&d, cursor, sizeof(cursor));
		if (pdec_done(&d) < 0)
			die("export: storaged's answer does not decode");
		ctl_reply_free(&r);
		/* The page's conversations, then the next page. */
		for (i = 0; i < nids; i++)
			export_msgs(ids[i]);
		free(ids);
		ids = NULL;
	} while (cursor[0] != '\0');
	if (fflush(stdout) != 0 || ferror(stdout))
		die("export: cannot write the output");
}

static void
cmd_purge(void)
{
	struct ctl_reply r;
	struct penc e;
	struct pdec d;
	uint64_t cutoff, total = 0;
	uint32_t n;
	int more;

	cutoff = ctl_cutoff(proto_wall_ms(), args.days);
	do {
		penc_init(&e);
		penc_u64(&e, cutoff);
		penc_u32(&e, ST_PURGE_MAX);
		penc_u8(&e, (uint8_t)args.dry_run);
		call("purge", PROTO_ST_PURGE, &e, -1,
		    timeout_for(CTL_TIMEOUT_S), &r);
		penc_free(&e);
		pdec_init(&d, r.payload, r.len);
		n = pdec_u32(&d);
		more = pdec_u8(&d);
		if (pdec_done(&d) < 0)
			die("purge: storaged's answer does not decode");
		ctl_reply_free(&r);
		total += n;
	} while (more && n > 0);
	printf("purge: %s %" PRIu64 " conversation%s with no activity for "
	    "%d day%s\n", args.dry_run ? "would delete" : "deleted", total,
	    total == 1 ? "" : "s", args.days, args.days == 1 ? "" : "s");
}

int
main(int argc, char *argv[])
{
	char path[PATH_MAX], err[SETTINGS_ERR_MAX];
	struct settings set;

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
	/* A closed pipe (export | head) ends us quietly. */
	signal(SIGPIPE, SIG_DFL);
	if (args.sock == NULL) {
		if (settings_parse_for(&set, SETTINGS_P_CTL, settings_env, NULL,
		    err, sizeof(err)) < 0)
			die("%s", err);
		if ((size_t)snprintf(path, sizeof(path), "%s/storaged.sock",
		    set.run_dir) >= sizeof(path))
			die("PARLEY_RUN_DIR is too long");
		settings_free(&set);
		args.sock = path;
	}
	if (args.cmd == CMD_BACKUP) {
		/* Refuse before connecting: the file is the user's mistake. */
		if (access(args.file, F_OK) == 0)
			die("backup: %s exists", args.file);
	}
	if (ctl_connect(args.sock, errbuf, sizeof(errbuf)) < 0)
		die("%s", errbuf);
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
	}
	ctl_close();
	if (fflush(stdout) != 0)
		die("cannot write the output");
	return 0;
}
