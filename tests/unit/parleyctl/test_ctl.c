/*
 * parleyctl's pure parts: the command line and what it prints; which
 * socket it finds (the installed one, or a permission it lacks).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "stmsgs.h"
#include "usermsg.h"

#define ARGV(...)	(char *[]){ "parleyctl", __VA_ARGS__, NULL }

static int
argc_of(char **v)
{
	int n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static int
parse(char **v, struct ctl_args *a, char *err)
{
	return ctl_parse(argc_of(v), v, a, err, 256);
}

static void
test_parse_ok(void **state)
{
	struct ctl_args a;
	char err[256];

	assert_int_equal(parse(ARGV("stats"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_STATS);
	assert_false(a.json);
	assert_null(a.sock);
	assert_int_equal(parse(ARGV("-S", "/x.sock", "-t", "5", "widgets",
	    "--json"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_WIDGETS);
	assert_true(a.json);
	assert_string_equal(a.sock, "/x.sock");
	assert_int_equal(a.timeout_s, 5);
	assert_int_equal(parse(ARGV("backup", "f.mdb"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_BACKUP);
	assert_string_equal(a.file, "f.mdb");
	assert_int_equal(parse(ARGV("restore", "f.mdb"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_RESTORE);
	assert_string_equal(a.file, "f.mdb");
	assert_null(a.data_dir);
	assert_int_equal(parse(ARGV("restore", "--data-dir", "/d", "f.mdb"),
	    &a, err), 0);
	assert_string_equal(a.file, "f.mdb");
	assert_string_equal(a.data_dir, "/d");
	assert_int_equal(parse(ARGV("restore", "f.mdb", "--data-dir=/e"), &a,
	    err), 0);
	assert_string_equal(a.data_dir, "/e");
	assert_int_equal(parse(ARGV("verify", "/var/lib/parley"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_VERIFY);
	assert_string_equal(a.file, "/var/lib/parley");

	assert_int_equal(parse(ARGV("export"), &a, err), 0);
	assert_int_equal(a.format, EXPORT_JSONL);
	assert_int_equal(a.rows, EXPORT_CONVS);
	assert_string_equal(a.widget, "");
	assert_int_equal(parse(ARGV("export", "--format", "csv",
	    "--rows=messages", "--widget", "w_1-x"), &a, err), 0);
	assert_int_equal(a.format, EXPORT_CSV);
	assert_int_equal(a.rows, EXPORT_MSGS);
	assert_string_equal(a.widget, "w_1-x");
	assert_string_equal(a.org, "default");
	assert_int_equal(parse(ARGV("export", "--org",
	    "org_0123456789abcdef0123456789abcdef", "--widget", "w"), &a, err),
	    0);
	assert_string_equal(a.org, "org_0123456789abcdef0123456789abcdef");
	assert_int_equal(parse(ARGV("widgets", "--org=default", "--json"),
	    &a, err), 0);
	assert_string_equal(a.org, "default");
	assert_true(a.json);

	assert_int_equal(parse(ARGV("purge", "--older-than", "30"), &a, err),
	    0);
	assert_int_equal(a.cmd, CMD_PURGE);
	assert_int_equal(a.days, 30);
	assert_false(a.dry_run);
	assert_int_equal(parse(ARGV("purge", "--dry-run",
	    "--older-than=36500"), &a, err), 0);
	assert_int_equal(a.days, 36500);
	assert_true(a.dry_run);
}

/* The user subcommands, and add's default name. */
static void
test_parse_user(void **state)
{
	struct ctl_args a;
	char err[256], name[401];

	assert_int_equal(parse(ARGV("user", "add", "Ann@X.test", "--role",
	    "admin"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_USER_ADD);
	assert_string_equal(a.email, "Ann@X.test");
	assert_int_equal(a.role, ST_ROLE_ADMIN);
	assert_string_equal(a.org, "default");
	assert_null(a.name);
	assert_string_equal(ctl_user_name(&a, name, sizeof(name)), "Ann");
	assert_int_equal(parse(ARGV("user", "add", "b@x.test", "--org",
	    "org_0123456789abcdef0123456789abcdef", "--name=Bea B",
	    "--role=owner"), &a, err), 0);
	assert_string_equal(a.org, "org_0123456789abcdef0123456789abcdef");
	assert_int_equal(a.role, ST_ROLE_OWNER);
	assert_string_equal(ctl_user_name(&a, name, sizeof(name)), "Bea B");
	assert_int_equal(parse(ARGV("user", "reset-password", "b@x.test"), &a,
	    err), 0);
	assert_int_equal(a.cmd, CMD_USER_PASSWORD);
	assert_string_equal(a.email, "b@x.test");
	assert_int_equal(parse(ARGV("user", "list"), &a, err), 0);
	assert_int_equal(a.cmd, CMD_USER_LIST);
	assert_string_equal(a.org, "default");
	assert_int_equal(parse(ARGV("user", "list", "--org",
	    "org_0123456789abcdef0123456789abcdef"), &a, err), 0);
	assert_string_equal(a.org, "org_0123456789abcdef0123456789abcdef");
}

static void
test_parse_errors(void **state)
{
	static const struct {
		char *argv[7];
		const char *err;
	} bad[] = {
		{ { "parleyctl" }, "no command" },
		{ { "parleyctl", "frob" }, "unknown command frob" },
		{ { "parleyctl", "-x", "stats" }, "unknown option -x" },
		{ { "parleyctl", "-S" }, "-S needs a value" },
		{ { "parleyctl", "-t", "0", "stats" }, "-t 0: not 1 to 86400 "
		    "seconds" },
		{ { "parleyctl", "backup" }, "backup: no FILE" },
		{ { "parleyctl", "backup", "a", "b" }, "unexpected argument b" },
		{ { "parleyctl", "verify" }, "verify: no PATH" },
		{ { "parleyctl", "verify", "" }, "verify: no PATH" },
		{ { "parleyctl", "verify", "a", "b" }, "unexpected argument b" },
		{ { "parleyctl", "restore" }, "restore: no FILE" },
		{ { "parleyctl", "restore", "a", "b" }, "unexpected argument b" },
		{ { "parleyctl", "restore", "a", "--data-dir" }, "restore: "
		    "--data-dir needs a directory" },
		{ { "parleyctl", "stats", "--csv" }, "unexpected argument "
		    "--csv" },
		{ { "parleyctl", "export", "--format", "xml" }, "export: format "
		    "xml is not jsonl or csv" },
		{ { "parleyctl", "export", "--rows" }, "export: --rows needs a "
		    "value" },
		{ { "parleyctl", "export", "--widget", "a b" }, "export: widget "
		    "a b is not 1 to 64 of A-Z a-z 0-9 _ -" },
		{ { "parleyctl", "purge" }, "purge: --older-than DAYS is "
		    "required" },
		{ { "parleyctl", "widgets", "--org", "org_x" }, "widgets: --org "
		    "org_x is not default or org_ and 32 hex" },
		{ { "parleyctl", "export", "--org" }, "export: --org  is not "
		    "default or org_ and 32 hex" },
		{ { "parleyctl", "stats", "--org", "default" }, "unexpected "
		    "argument --org" },
		{ { "parleyctl", "purge", "--dry-run" }, "purge: --older-than "
		    "DAYS is required" },
		{ { "parleyctl", "purge", "--older-than", "0" }, "purge: "
		    "--older-than 0: DAYS must be 1 to 36500" },
		{ { "parleyctl", "purge", "--older-than", "36501" }, "purge: "
		    "--older-than 36501: DAYS must be 1 to 36500" },
		{ { "parleyctl", "purge", "--older-than", "-3" }, "purge: "
		    "--older-than -3: DAYS must be 1 to 36500" },
		{ { "parleyctl", "purge", "--older-than", "7d" }, "purge: "
		    "--older-than 7d: DAYS must be 1 to 36500" },
		{ { "parleyctl", "purge", "--older-than" }, "purge: "
		    "--older-than needs DAYS" },
		{ { "parleyctl", "user" }, "user: add, reset-password or "
		    "list?" },
		{ { "parleyctl", "user", "remove", "a@b.c" }, "user: unknown "
		    "subcommand remove" },
		{ { "parleyctl", "user", "add", "--role", "agent" }, "user add: "
		    "no EMAIL" },
		{ { "parleyctl", "user", "add", "nope" }, "user: email: must be "
		    "an address like name@example.com" },
		{ { "parleyctl", "user", "add", "a@b.c" }, "user add: --role is "
		    "required" },
		{ { "parleyctl", "user", "add", "a@b.c", "--role", "boss" },
		    "user add: --role boss is not owner, admin or agent" },
		{ { "parleyctl", "user", "add", "a@b.c", "--name", "" },
		    "user add: name: must be 1 to 100 characters of UTF-8" },
		{ { "parleyctl", "user", "list", "--org", "x" }, "user: --org x "
		    "is not default or org_ and 32 hex" },
		{ { "parleyctl", "user", "reset-password", "a@b.c", "--role",
		    "agent" }, "unexpected argument --role" },
	};
	struct ctl_args a;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse((char **)bad[i].argv, &a, err), -1);
		assert_string_equal(err, bad[i].err);
	}
	/* -h: the usage alone. */
	assert_int_equal(parse(ARGV("-h"), &a, err), -1);
	assert_string_equal(err, "");
}

static void
test_cutoff(void **state)
{
	assert_int_equal(ctl_cutoff(10 * CTL_DAY_MS, 3), 7 * CTL_DAY_MS);
	assert_int_equal(ctl_cutoff(CTL_DAY_MS, 36500), 0);
}

/* What f printed, as a string to free. */
static char *
printed(char **buf, size_t *len, FILE *f)
{
	fclose(f);
	return *buf;
}

static void
test_stats_out(void **state)
{
	struct st_stats s;
	char *buf;
	size_t len;
	FILE *f;

	memset(&s, 0, sizeof(s));
	s.conversations = 12;
	s.messages = 345;
	s.page_size = 4096;
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_stats(f, &s, 0), 0);
	printed(&buf, &len, f);
	assert_non_null(strstr(buf, "conversations     12\n"
	    "messages          345\n"));
	assert_non_null(strstr(buf, "page size         4096\n"));
	free(buf);
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_stats(f, &s, 1), 0);
	printed(&buf, &len, f);
	assert_true(strncmp(buf, "{\"conversations\":12,\"messages\":345,",
	    35) == 0);
	assert_int_equal(buf[len - 1], '\n');
	free(buf);
}

static void
test_widgets_out(void **state)
{
	struct st_widget w[2];
	char *buf;
	size_t len;
	FILE *f;

	st_widget_defaults(&w[0]);
	st_widget_defaults(&w[1]);
	strlcpy(w[0].id, "default", sizeof(w[0].id));
	strlcpy(w[0].widget_id, "wid_1", sizeof(w[0].widget_id));
	w[0].name = strdup("Default");
	strlcpy(w[1].id, "shop", sizeof(w[1].id));
	strlcpy(w[1].widget_id, "wid_22", sizeof(w[1].widget_id));
	w[1].enabled = 0;
	w[1].daily_cap = 50;
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_widgets(f, w, 2, 0), 0);
	printed(&buf, &len, f);
	assert_string_equal(buf,
	    "PUBLIC ID  ID       ENABLED  DAILY CAP  NAME\n"
	    "wid_1      default  yes      -          Default\n"
	    "wid_22     shop     no       50         -\n");
	free(buf);
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_widgets(f, w, 2, 1), 0);
	printed(&buf, &len, f);
	assert_string_equal(buf, "[{\"id\":\"default\",\"widget_id\":\"wid_1\","
	    "\"name\":\"Default\",\"enabled\":true,\"daily_message_cap\":null},"
	    "{\"id\":\"shop\",\"widget_id\":\"wid_22\",\"name\":null,"
	    "\"enabled\":false,\"daily_message_cap\":50}]\n");
	free(buf);
	/* A widget's name as a user's: no control character printed. */
	free(w[1].name);
	assert_non_null(w[1].name = strdup("evil\x1b]0;pwned\x07\r\nfake"));
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_widgets(f, &w[1], 1, 0), 0);
	printed(&buf, &len, f);
	assert_non_null(strstr(buf, "evil?]0;pwned???fake\n"));
	free(buf);
	st_widget_free(&w[0]);
	st_widget_free(&w[1]);
}

static void
test_users_out(void **state)
{
	struct st_member_view m[2];
	char *buf;
	size_t len;
	FILE *f;

	memset(m, 0, sizeof(m));
	strlcpy(m[0].id, "usr_0123456789abcdef0123456789abcdef",
	    sizeof(m[0].id));
	strlcpy(m[0].email, "owner@localhost", sizeof(m[0].email));
	m[0].name = (char *)"Owner";
	m[0].role = ST_ROLE_OWNER;
	strlcpy(m[1].id, "usr_fedcba9876543210fedcba9876543210",
	    sizeof(m[1].id));
	strlcpy(m[1].email, "a@x.test", sizeof(m[1].email));
	m[1].name = (char *)"Ann";
	m[1].role = ST_ROLE_AGENT;
	m[1].disabled = 1;
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_users(f, m, 2), 0);
	printed(&buf, &len, f);
	assert_string_equal(buf,
	    "ID                                    EMAIL            ROLE   "
	    "DISABLED  NAME\n"
	    "usr_0123456789abcdef0123456789abcdef  owner@localhost  owner  "
	    "no        Owner\n"
	    "usr_fedcba9876543210fedcba9876543210  a@x.test         agent  "
	    "yes       Ann\n");
	free(buf);
	/* A name's escapes, CR, BEL and C1 controls never reach a terminal. */
	m[1].name = (char *)"Bob\x1b[2K\r\x1b]0;owned\x07\xc2\x9b" "2J\x7f"
	    "\xc3\xa9";
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(ctl_print_users(f, &m[1], 1), 0);
	printed(&buf, &len, f);
	assert_non_null(strstr(buf, "Bob?[2K??]0;owned???2J?\xc3\xa9\n"));
	free(buf);
}

/* A Unix socket bound at path (its fd, left open). */
static int
sock_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * The installed socket: used when the development one is not there; one
 * in a directory closed to us (as /run/parley, 0700 parley, is to a user)
 * is "permission denied", not "storaged is not running" at the
 * development path. Closed to us: as root, by being another user in a
 * child (root passes any mode); as a user, by the directory's mode 0.
 */
static void
test_installed_sock(void **state)
{
	char base[] = "/tmp/test_ctl.XXXXXX", closed[64], sock[96], dev[96];
	char err[256];
	pid_t pid;
	int fd, st;

	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0755), 0);
	snprintf(closed, sizeof(closed), "%s/run", base);
	snprintf(sock, sizeof(sock), "%s/storaged.sock", closed);
	snprintf(dev, sizeof(dev), "%s/dev.sock", base);
	assert_int_equal(mkdir(closed, 0700), 0);
	fd = sock_at(sock);
	assert_int_equal(ctl_installed_sock(dev, sock, err, sizeof(err)), 1);
	assert_int_equal(ctl_installed_sock(dev, dev, err, sizeof(err)), 0);
	if (geteuid() != 0)
		assert_int_equal(chmod(closed, 0), 0);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		err[0] = '\0';
		_exit(ctl_installed_sock(dev, sock, err, sizeof(err)) == -1 &&
		    strstr(err, "permission denied: run as root or the parley "
		    "user") != NULL ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(chmod(closed, 0700), 0);
	close(fd);
	assert_int_equal(unlink(sock), 0);
	assert_int_equal(rmdir(closed), 0);
	assert_int_equal(rmdir(base), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_cutoff),
		cmocka_unit_test(test_stats_out),
		cmocka_unit_test(test_widgets_out),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_users_out),
		cmocka_unit_test(test_installed_sock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
