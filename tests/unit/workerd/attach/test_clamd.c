/*
 * The ClamAV client (workerd/attach/clamd.c, lib/clamdaddr.c) against a
 * real clamd: Debian's /usr/sbin/clamd (clamav-daemon, which
 * scripts/deps.sh test installs; missing, the test fails), started here
 * in the foreground on a Unix socket and a loopback TCP port of a temp
 * folder, with a one-line signature database written here (EICAR's test
 * string as a body signature, so clamd reports it as
 * Parley.Test.EICAR.UNOFFICIAL wherever it sits in a stream) and a
 * StreamMaxLength of 2 MiB. No freshclam, no network.
 *
 * Scanned: EICAR's string whole and in 7-byte pieces (infected, named),
 * EICAR 1 MiB into a 1.5 MiB stream (infected), 1.5 MiB of clean bytes in
 * 100 KiB pieces and at once, and an empty file (clean), 3 MiB (over the
 * limit: CLAMD_TOO_LARGE, before the end); a listener that never answers
 * (unavailable after the 300 ms timeout, waiting for the reply or with
 * its socket full); a fake clamd's bad replies (malformed, too long,
 * none, an OK before the end); no done from inside a call, cancel
 * without done; clamd killed (unavailable at once, both sockets). No
 * descriptor is left open. The worker's cap on connections to clamd
 * (CLAMD_SCANS_MAX, then CLAMD_WAITING_MAX waiting in order, then busy)
 * against a listener served by hand. The address parser and the reply
 * parser on their own first.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clamd.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "test_util.h"

#define CLAMD_BIN	"/usr/sbin/clamd"
#define START_MS	20000	/* clamd's start, bounded */
#define SCAN_MS		5000	/* a real scan's timeout (a busy machine) */
#define SILENT_MS	300	/* the timeout against a silent listener */
#define DETECTED	"Parley.Test.EICAR.UNOFFICIAL"
#define LIMIT		(2 * 1024 * 1024)	/* StreamMaxLength */

/* EICAR's test file reversed: no scanner flags this source or binary. */
static const char eicar_rev[] = "*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$"
    "})7CC7)^P(45XZP\\4[PA@%P!O5X";

static struct {
	pid_t pid;
	char dir[64];
	char log[128];
	int port;
	struct clamd_addr ux, tcp;
	char eicar[sizeof(eicar_rev)];
} cd = { .pid = -1 };

/* ------------------------------------------------------------ helpers */

struct result {
	int got;
	struct clamd_verdict v;
	long long at;
	struct clamd_scan *scan;	/* NULL once done came */
};

static void
on_done(void *arg, const struct clamd_verdict *v)
{
	struct result *r = arg;

	r->got++;
	r->v = *v;
	r->at = proto_mono_ms();
	r->scan = NULL;
}

/* Loop rounds until r's done came or ms passed. */
static void
run_until(struct result *r, int ms)
{
	long long end = proto_mono_ms() + ms;

	while (r->got == 0 && proto_mono_ms() < end)
		loop_once(20);
}

/* The tests' results (static: a failed test's scan may still end). */
static struct result *results[16];

/* After each test: a scan a failed assertion left is cancelled. */
static int
drain(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (results[i] != NULL && results[i]->scan != NULL) {
			clamd_scan_cancel(results[i]->scan);
			results[i]->scan = NULL;
		}
	loop_once(0);
	return 0;
}

static void
start(struct result *r, const struct clamd_addr *a, uint32_t timeout_ms)
{
	size_t i;

	for (i = 0; i < sizeof(results) / sizeof(results[0]) &&
	    results[i] != NULL && results[i] != r; i++)
		;
	if (i < sizeof(results) / sizeof(results[0]))
		results[i] = r;
	memset(r, 0, sizeof(*r));
	loop_clock();
	r->scan = clamd_scan_start(a, timeout_ms, on_done, r);
	assert_non_null(r->scan);
}

/*
 * Scans len bytes fed in pieces of piece bytes, letting the loop write
 * between them (and waiting while more than 512 KiB is queued, as the
 * upload path would), then finishes and waits for the verdict.
 */
static void
scan(struct result *r, const struct clamd_addr *a, const void *p,
    size_t len, size_t piece, uint32_t timeout_ms)
{
	const char *b = p;
	size_t off = 0, n;

	start(r, a, timeout_ms);
	while (off < len && r->got == 0) {
		n = len - off < piece ? len - off : piece;
		if (clamd_scan_feed(r->scan, b + off, n) < 0)
			break;
		off += n;
		loop_once(0);
		while (r->got == 0 && clamd_scan_queued(r->scan) > 512 * 1024)
			loop_once(20);
	}
	if (r->got == 0 && r->scan != NULL)
		clamd_scan_finish(r->scan);
	run_until(r, (int)timeout_ms + 2000);
	assert_int_equal(r->got, 1);
	/* Exactly once: nothing more comes. */
	loop_once(0);
	assert_int_equal(r->got, 1);
}

/* The scan dropped, the pointer with it. */
static void
cancel(struct result *r)
{
	clamd_scan_cancel(r->scan);
	r->scan = NULL;
}

/* A feed that must be taken: on -1 the verdict is shown. */
static void
feed_ok(struct result *r, const void *p, size_t len)
{
	if (clamd_scan_feed(r->scan, p, len) == 0)
		return;
	loop_once(0);
	fail_msg("feed refused: got %d, result %d, \"%s\"", r->got,
	    r->v.result, r->v.why);
}

/* 1.5 MiB of bytes no signature matches (a pattern). */
static char *
clean_bytes(size_t len)
{
	char *p = malloc(len);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (char)('a' + (i * 7) % 26);
	return p;
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0;
	return fclose(f) != 0 || rc ? -1 : 0;
}

/* A loopback port nothing listens on now. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* A blocking connect to a: 1 when it is accepted. */
static int
can_connect(const struct clamd_addr *a)
{
	int fd, ok;

	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (const struct sockaddr *)&a->ss, a->sslen) == 0;
	close(fd);
	return ok;
}

/* A listening socket at a that never accepts nor reads. */
static int
silent_listener(const struct clamd_addr *a)
{
	int fd, one = 1;

	if (a->ss.ss_family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (const struct sockaddr *)&a->ss, a->sslen),
	    0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void
addr(struct clamd_addr *a, const char *fmt, ...)
{
	char spec[256];
	const char *why;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	assert_int_equal(clamd_addr_parse(spec, a, &why), 0);
}

static void
print_log(void)
{
	char line[512];
	FILE *f = fopen(cd.log, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "clamd's output (%s):\n", cd.log);
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/* ------------------------------------------------------ clamd itself */

/* The folder: clamd.conf, db/parley.ndb, the socket; the log. */
static int
clamd_files(void)
{
	char path[192], hex[2 * sizeof(cd.eicar) + 1], text[1024];

	strlcpy(cd.dir, "/tmp/parley-clamd-XXXXXX", sizeof(cd.dir));
	if (mkdtemp(cd.dir) == NULL)
		return -1;
	snprintf(cd.log, sizeof(cd.log), "%s/clamd.log", cd.dir);
	snprintf(path, sizeof(path), "%s/db", cd.dir);
	if (mkdir(path, 0700) < 0)
		return -1;
	/* A body signature: name, any file type, any offset, the hex. */
	proto_hex_encode(cd.eicar, strlen(cd.eicar), hex);
	snprintf(text, sizeof(text), "Parley.Test.EICAR:0:*:%s\n", hex);
	snprintf(path, sizeof(path), "%s/db/parley.ndb", cd.dir);
	if (write_file(path, text) < 0)
		return -1;
	if ((cd.port = free_port()) < 0)
		return -1;
	snprintf(text, sizeof(text),
	    "Foreground yes\n"
	    "LocalSocket %s/clamd.sock\n"
	    "TCPSocket %d\n"
	    "TCPAddr 127.0.0.1\n"
	    "DatabaseDirectory %s/db\n"
	    "TemporaryDirectory %s\n"
	    "StreamMaxLength %d\n"
	    "MaxThreads 4\n"
	    "SelfCheck 0\n",
	    cd.dir, cd.port, cd.dir, cd.dir, LIMIT);
	snprintf(path, sizeof(path), "%s/clamd.conf", cd.dir);
	if (write_file(path, text) < 0)
		return -1;
	addr(&cd.ux, "unix:%s/clamd.sock", cd.dir);
	addr(&cd.tcp, "tcp:127.0.0.1:%d", cd.port);
	return 0;
}

static void
clamd_exec(pid_t parent)
{
	char conf[192];
	int fd;

	snprintf(conf, sizeof(conf), "--config-file=%s/clamd.conf", cd.dir);
	if ((fd = open(cd.log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setsid();
	/* Gone with the test, even when a sanitizer aborts it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	execl(CLAMD_BIN, "clamd", "--foreground", conf, (char *)NULL);
	_exit(127);
}

/* Both its sockets accept within START_MS, or it is stopped: 0 or -1. */
static int
clamd_wait(void)
{
	long long t0 = proto_mono_ms();
	int st;

	while (proto_mono_ms() - t0 < START_MS) {
		if (waitpid(cd.pid, &st, WNOHANG) == cd.pid) {
			fprintf(stderr, "clamd exited at its start (status "
			    "%d)\n", st);
			cd.pid = -1;
			return -1;
		}
		if (can_connect(&cd.ux) && can_connect(&cd.tcp)) {
			fprintf(stderr, "clamd answers after %lld ms\n",
			    proto_mono_ms() - t0);
			return 0;
		}
		usleep(10000);
	}
	fprintf(stderr, "clamd did not answer in %d ms\n", START_MS);
	return -1;
}

static void
clamd_kill(int sig)
{
	if (cd.pid <= 0)
		return;
	kill(cd.pid, sig);
	waitpid(cd.pid, NULL, 0);
	cd.pid = -1;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	clamd_kill(SIGTERM);
	if (cd.dir[0] != '\0')
		nftw(cd.dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int
setup(void **state)
{
	size_t i, n = strlen(eicar_rev);
	pid_t parent = getpid();

	for (i = 0; i < n; i++)
		cd.eicar[i] = eicar_rev[n - 1 - i];
	cd.eicar[n] = '\0';
	if (access(CLAMD_BIN, X_OK) < 0) {
		fprintf(stderr, "test_clamd: %s is missing: this test runs a "
		    "real clamd (Debian's clamav-daemon; scripts/deps.sh test "
		    "installs it)\n", CLAMD_BIN);
		return -1;
	}
	if (clamd_files() < 0) {
		fprintf(stderr, "test_clamd: temp folder: %s\n",
		    strerror(errno));
		teardown(state);
		return -1;
	}
	if ((cd.pid = fork()) == 0)
		clamd_exec(parent);
	if (cd.pid < 0 || clamd_wait() < 0) {
		clamd_kill(SIGKILL);
		print_log();
		teardown(state);
		return -1;
	}
	return 0;
}


/* ------------------------------------------------------------- parsers */

static void
test_addr_parse(void **state)
{
	static const char *bad[] = {
		"", "clamd", "unix:", "unix:clamd.ctl", "unix:/run/a\nb",
		"tcp:", "tcp:127.0.0.1", "tcp:127.0.0.1:", "tcp:127.0.0.1:0",
		"tcp:127.0.0.1:65536", "tcp:127.0.0.1:33a", "tcp:127.0.0.1:+33",
		"tcp:127.0.0.1:003310", "tcp:localhost:3310", "tcp::3310",
		"tcp:1.2.3:3310", "tcp:::1:3310", "tcp:[::1]3310", "tcp:[::1",
		"tcp:[]:3310", "tcp:[zz]:3310", "tcp:[127.0.0.1]:3310",
		"tcp:[fe80::1%eth0]:3310", "http://127.0.0.1:3310",
	};
	struct clamd_addr a;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a.ss;
	char longpath[160];
	const char *why;
	size_t i;

	assert_int_equal(clamd_addr_parse("unix:/run/clamav/clamd.ctl", &a,
	    &why), 0);
	assert_null(why);
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/clamav/clamd.ctl");
	assert_string_equal(a.text, "unix:/run/clamav/clamd.ctl");
	assert_int_equal(clamd_addr_parse("tcp:127.0.0.1:3310", &a, &why), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 3310);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(a.sslen, sizeof(struct sockaddr_in));
	assert_string_equal(a.text, "tcp:127.0.0.1:3310");
	assert_int_equal(clamd_addr_parse("TCP:[::1]:65535", &a, &why), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_string_equal(a.text, "tcp:[::1]:65535");
	assert_int_equal(clamd_addr_parse("tcp:10.0.0.7:1", &a, &why), 0);
	assert_int_equal(clamd_addr_parse("tcp:[2001:db8::1]:3310", &a, &why),
	    0);

	/* The longest path sun_path holds, and one byte more. */
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[5 + 107] = '\0';
	assert_int_equal(clamd_addr_parse(longpath, &a, &why), 0);
	longpath[5 + 107] = 'a';
	longpath[5 + 108] = '\0';
	assert_int_equal(clamd_addr_parse(longpath, &a, &why), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (clamd_addr_parse(bad[i], &a, &why) != -1)
			fail_msg("\"%s\" taken", bad[i]);
		assert_non_null(why);
		assert_true(proto_zeroed(&a, sizeof(a)));
	}
	assert_int_equal(clamd_addr_parse("tcp:localhost:3310", &a, &why), -1);
	assert_non_null(strstr(why, "not an IP address"));
}

static void
test_reply_parse(void **state)
{
	static const struct {
		const char *reply;
		size_t len;
		enum clamd_result result;
		const char *name, *why;
	} cases[] = {
#define R(s)	s, sizeof(s) - 1
		{ R("stream: OK\0"), CLAMD_CLEAN, "", "" },
		{ R("stream: OK\n"), CLAMD_CLEAN, "", "" },
		{ R("stream: OK"), CLAMD_CLEAN, "", "" },
		{ R("stream: Win.Test.EICAR_HDB-1 FOUND\0"), CLAMD_INFECTED,
		    "Win.Test.EICAR_HDB-1", "" },
		{ R("stream: Eicar(44d8:68) FOUND\0"), CLAMD_INFECTED,
		    "Eicar(44d8:68)", "" },
		{ R("stream: Bad\x01\xffName FOUND\0"), CLAMD_INFECTED,
		    "Bad??Name", "" },
		{ R("INSTREAM size limit exceeded. ERROR\0"), CLAMD_TOO_LARGE,
		    "", "the file is over clamd's StreamMaxLength" },
		{ R("stream: Can't allocate memory ERROR\0"), CLAMD_UNAVAILABLE,
		    "", "clamd's error: \"stream: Can't allocate memory "
		    "ERROR\"" },
		{ R("COMMAND READ TIMED OUT\0"), CLAMD_UNAVAILABLE, "",
		    "a malformed reply: \"COMMAND READ TIMED OUT\"" },
		{ R("UNKNOWN COMMAND\0"), CLAMD_UNAVAILABLE, "",
		    "a malformed reply: \"UNKNOWN COMMAND\"" },
		{ R("stream:  FOUND\0"), CLAMD_UNAVAILABLE, "",
		    "a malformed reply: \"stream:  FOUND\"" },
		{ R("stream: OK\0stream: OK\0"), CLAMD_UNAVAILABLE, "",
		    "a NUL inside the reply: \"stream: OK?stream: OK\"" },
		{ R("1: stream: OK\0"), CLAMD_UNAVAILABLE, "",
		    "a malformed reply: \"1: stream: OK\"" },
		{ R("stream: ok\0"), CLAMD_UNAVAILABLE, "",
		    "a malformed reply: \"stream: ok\"" },
		{ R("\0\n"), CLAMD_UNAVAILABLE, "", "an empty reply" },
		{ R(""), CLAMD_UNAVAILABLE, "", "an empty reply" },
#undef R
	};
	struct clamd_verdict v;
	char big[600];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&v, 0x5a, sizeof(v));
		clamd_reply_parse(cases[i].reply, cases[i].len, &v);
		if (v.result != cases[i].result)
			fail_msg("case %zu: result %d", i, v.result);
		assert_string_equal(v.name, cases[i].name);
		assert_string_equal(v.why, cases[i].why);
	}
	/* A name over the bound is cut; a long reply quoted in part. */
	memset(big, 'N', sizeof(big));
	memcpy(big, "stream: ", 8);
	memcpy(big + sizeof(big) - 7, " FOUND", 7);
	clamd_reply_parse(big, sizeof(big), &v);
	assert_int_equal(v.result, CLAMD_INFECTED);
	assert_int_equal(strlen(v.name), CLAMD_NAME_MAX);
	memcpy(big + sizeof(big) - 7, " ERROR", 7);
	clamd_reply_parse(big, sizeof(big), &v);
	assert_int_equal(v.result, CLAMD_UNAVAILABLE);
	assert_true(strlen(v.why) < 200);
	assert_non_null(strstr(v.why, "...\""));
}

/* --------------------------------------------------------- real clamd */

static void
test_eicar(void **state)
{
	static struct result r;
	int fds = count_fds();

	scan(&r, &cd.ux, cd.eicar, strlen(cd.eicar), 1 << 20, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_INFECTED);
	assert_string_equal(r.v.name, DETECTED);
	assert_string_equal(r.v.why, "");
	/* Over TCP, in 7-byte pieces: ten chunks and a short one. */
	scan(&r, &cd.tcp, cd.eicar, strlen(cd.eicar), 7, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_INFECTED);
	assert_string_equal(r.v.name, DETECTED);
	assert_int_equal(count_fds(), fds);
}

static void
test_eicar_inside(void **state)
{
	size_t len = 1536 * 1024;
	char *p = clean_bytes(len);
	static struct result r;

	memcpy(p + 1024 * 1024 + 3, cd.eicar, strlen(cd.eicar));
	scan(&r, &cd.ux, p, len, 64 * 1024, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_INFECTED);
	assert_string_equal(r.v.name, DETECTED);
	free(p);
}

static void
test_clean(void **state)
{
	size_t len = 1536 * 1024;
	char *p = clean_bytes(len);
	static struct result r;
	int fds = count_fds();

	scan(&r, &cd.ux, p, len, 100 * 1024, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_CLEAN);
	assert_string_equal(r.v.name, "");
	assert_string_equal(r.v.why, "");
	/* All of it in one feed (two chunks: 1 MiB at most each), TCP. */
	scan(&r, &cd.tcp, p, len, len, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_CLEAN);
	/* An empty file. */
	scan(&r, &cd.ux, p, 0, 1, SCAN_MS);
	assert_int_equal(r.v.result, CLAMD_CLEAN);
	free(p);
	assert_int_equal(count_fds(), fds);
}

/* Over StreamMaxLength: clamd says so mid-stream and closes. */
static void
test_too_large(void **state)
{
	size_t len = 3 * 1024 * 1024;
	char *p = clean_bytes(len);
	const struct clamd_addr *as[] = { &cd.ux, &cd.tcp };
	static struct result r;
	size_t i;
	int fds = count_fds();

	for (i = 0; i < 2; i++) {
		scan(&r, as[i], p, len, 1 << 20, SCAN_MS);
		assert_int_equal(r.v.result, CLAMD_TOO_LARGE);
		assert_non_null(strstr(r.v.why, "StreamMaxLength"));
		assert_true(strncmp(r.v.why, as[i]->text,
		    strlen(as[i]->text)) == 0);
	}
	/* Told before the end: feeding stops, no finish needed. */
	start(&r, &cd.ux, SCAN_MS);
	/* -1 when clamd said so while the feed wrote. */
	(void)clamd_scan_feed(r.scan, p, len);
	run_until(&r, SCAN_MS);
	assert_int_equal(r.got, 1);
	assert_int_equal(r.v.result, CLAMD_TOO_LARGE);
	free(p);
	assert_int_equal(count_fds(), fds);
}

/* A listener that never answers: unavailable after the timeout. */
static void
test_silent(void **state)
{
	struct clamd_addr a[2];
	size_t big = 8 * 1024 * 1024, i;
	char *p = clean_bytes(big);
	static struct result r;
	long long t0, took;
	int fd, fds = count_fds();

	addr(&a[0], "unix:%s/silent.sock", cd.dir);
	addr(&a[1], "tcp:127.0.0.1:%d", free_port());
	for (i = 0; i < 2; i++) {
		fd = silent_listener(&a[i]);
		/*
		 * Everything fits in the socket's buffers; no reply comes.
		 * The verdict is never early; how late is the machine's load
		 * (seen 1,049 ms on a busy one), bounded by the wait for it
		 * (the timeout and 2 s), far below a real scan's SCAN_MS.
		 */
		t0 = proto_mono_ms();
		scan(&r, &a[i], cd.eicar, strlen(cd.eicar), 1 << 20, SILENT_MS);
		took = r.at - t0;
		assert_int_equal(r.v.result, CLAMD_UNAVAILABLE);
		assert_non_null(strstr(r.v.why, "no reply in 300 ms"));
		if (took < SILENT_MS - 20)
			fail_msg("the verdict after %lld ms", took);
		/* 8 MiB the socket does not take: the writes wait, stop. */
		t0 = proto_mono_ms();
		start(&r, &a[i], SILENT_MS);
		feed_ok(&r, p, big);
		clamd_scan_finish(r.scan);
		assert_true(clamd_scan_queued(r.scan) > 0);
		run_until(&r, SILENT_MS + 2000);
		took = r.at - t0;
		assert_int_equal(r.got, 1);
		assert_int_equal(r.v.result, CLAMD_UNAVAILABLE);
		assert_non_null(strstr(r.v.why, "took no bytes in 300 ms"));
		if (took < SILENT_MS - 20)
			fail_msg("the verdict after %lld ms", took);
		close(fd);
	}
	free(p);
	assert_int_equal(count_fds(), fds);
}

/*
 * What a client sends clamd on fd read as clamd reads it: the command,
 * then chunks up to the one of length 0. 0, or -1 (cut short).
 */
static int
read_instream(int fd)
{
	uint8_t head[10], len4[4], sink[4096];
	uint32_t n;
	ssize_t got;

	if (recv(fd, head, sizeof(head), MSG_WAITALL) != sizeof(head))
		return -1;
	for (;;) {
		if (recv(fd, len4, 4, MSG_WAITALL) != 4)
			return -1;
		if ((n = proto_get_be32(len4)) == 0)
			return 0;
		while (n > 0) {
			got = recv(fd, sink, n < sizeof(sink) ? n :
			    sizeof(sink), 0);
			if (got <= 0)
				return -1;
			n -= (uint32_t)got;
		}
	}
}

/* A fake clamd: reads the stream (or not), answers reply, closes. */
struct fake {
	int lfd;
	int read_stream;	/* read up to the chunk of length 0 first */
	const char *reply;
	size_t len;
};

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	int fd;

	if ((fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	if (f->read_stream && read_instream(fd) < 0)
		goto out;
	if (f->len > 0)
		(void)send(fd, f->reply, f->len, MSG_NOSIGNAL);
	if (!f->read_stream)
		usleep(100000);	/* the client writes on, then reads */
out:
	close(fd);
	return NULL;
}

static void
test_fake_replies(void **state)
{
	static char longreply[2000];
	static const struct {
		int read_stream;
		const char *reply;
		size_t len;
		enum clamd_result result;
		const char *want;	/* in name (infected) or why */
	} cases[] = {
		{ 1, "stream: Bad\x01Name FOUND", 22, CLAMD_INFECTED,
		    "Bad?Name" },
		{ 1, "hello\0", 6, CLAMD_UNAVAILABLE, "a malformed reply: "
		    "\"hello\"" },
		{ 1, longreply, sizeof(longreply), CLAMD_UNAVAILABLE,
		    "a reply longer than 1024 bytes" },
		{ 1, "", 0, CLAMD_UNAVAILABLE, "without a reply" },
		/* No NUL: the end of the connection ends it. */
		{ 1, "stream: OK", 10, CLAMD_CLEAN, "" },
		{ 0, "stream: OK\0", 11, CLAMD_UNAVAILABLE,
		    "OK before the end" },
	};
	struct clamd_addr a;
	struct fake f;
	static struct result r;
	pthread_t th;
	size_t big = 4 * 1024 * 1024, i;
	char *p = clean_bytes(big);
	int fds = count_fds();

	memset(longreply, 'x', sizeof(longreply));
	addr(&a, "unix:%s/fake.sock", cd.dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.lfd = silent_listener(&a);
		f.read_stream = cases[i].read_stream;
		f.reply = cases[i].reply;
		f.len = cases[i].len;
		assert_int_equal(pthread_create(&th, NULL, fake_run, &f), 0);
		/* Enough that an early reply comes before the end. */
		scan(&r, &a, p, f.read_stream ? 1000 : big, 64 * 1024, SCAN_MS);
		pthread_join(th, NULL);
		close(f.lfd);
		if (r.v.result != cases[i].result)
			fail_msg("case %zu: %d (%s)", i, r.v.result, r.v.why);
		if (strstr(cases[i].result == CLAMD_INFECTED ? r.v.name :
		    r.v.why, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\"", i, r.v.why);
	}
	free(p);
	assert_int_equal(count_fds(), fds);
}

/* done never comes from inside a call; a cancelled scan's never comes. */
static void
test_deferred_and_cancel(void **state)
{
	struct clamd_addr none;
	static struct result r;
	int fds = count_fds();

	addr(&none, "unix:%s/none.sock", cd.dir);
	start(&r, &none, SCAN_MS);
	assert_int_equal(r.got, 0);	/* refused at once, told later */
	assert_int_equal(clamd_scan_feed(r.scan, "x", 1), -1);
	clamd_scan_finish(r.scan);
	assert_int_equal(r.got, 0);
	loop_once(0);
	assert_int_equal(r.got, 1);
	assert_int_equal(r.v.result, CLAMD_UNAVAILABLE);
	assert_non_null(strstr(r.v.why, "none.sock: connect: No such file"));

	/* Cancelled with its verdict known but not yet told. */
	start(&r, &none, SCAN_MS);
	cancel(&r);
	loop_once(0);
	loop_once(0);
	assert_int_equal(r.got, 0);

	/* Cancelled mid-stream, and once finished, on a real clamd. */
	start(&r, &cd.ux, SCAN_MS);
	assert_int_equal(clamd_scan_feed(r.scan, "abc", 3), 0);
	loop_once(10);
	cancel(&r);
	start(&r, &cd.tcp, SCAN_MS);
	assert_int_equal(clamd_scan_feed(r.scan, cd.eicar, strlen(cd.eicar)),
	    0);
	clamd_scan_finish(r.scan);
	cancel(&r);
	run_until(&r, 300);
	assert_int_equal(r.got, 0);
	assert_int_equal(count_fds(), fds);
}

/* ------------------------------------------------- the worker's cap */

#define NCAP	(CLAMD_SCANS_MAX + CLAMD_WAITING_MAX)

/*
 * One connection of lfd's queue served as clamd would: its stream read
 * to the chunk of length 0, "stream: OK" answered, closed. 0, or -1
 * (nothing to accept, or no stream, within 2 s).
 */
static int
serve_one(int lfd)
{
	struct timeval tv = { 2, 0 };
	int fd, rc = -1;

	(void)setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_instream(fd) == 0)
		rc = send(fd, "stream: OK", 11, MSG_NOSIGNAL) == 11 ? 0 : -1;
	close(fd);
	return rc;
}

/*
 * At most CLAMD_SCANS_MAX connections at once: NCAP scans started at
 * once (each fed and finished) hold CLAMD_SCANS_MAX descriptors, the
 * rest waiting; one more is busy at once, naming the cap. Served one at
 * a time, each verdict lets the next waiting scan in, in the order they
 * started, never more connections than the cap; all clean in the end.
 * A wait past its timeout is busy too.
 */
static void
test_cap(void **state)
{
	static struct result r[NCAP + 1];
	struct clamd_addr a;
	long long t0;
	int lfd, fds, i, k;

	addr(&a, "unix:%s/cap.sock", cd.dir);
	lfd = silent_listener(&a);
	assert_int_equal(listen(lfd, 128), 0);
	fds = count_fds();
	loop_clock();
	for (i = 0; i < NCAP; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].scan = clamd_scan_start(&a, SCAN_MS, on_done, &r[i]);
		assert_non_null(r[i].scan);
		feed_ok(&r[i], "abc", 3);
		clamd_scan_finish(r[i].scan);
	}
	loop_once(0);
	if (count_fds() != fds + CLAMD_SCANS_MAX)
		fail_msg("%d connections open, not %d", count_fds() - fds,
		    CLAMD_SCANS_MAX);
	/* One more than can wait: busy, told from the loop. */
	start(&r[NCAP], &a, SCAN_MS);
	assert_int_equal(r[NCAP].got, 0);
	loop_once(0);
	assert_int_equal(r[NCAP].got, 1);
	assert_int_equal(r[NCAP].v.result, CLAMD_BUSY);
	assert_non_null(strstr(r[NCAP].v.why, "8 scans at once in a worker "
	    "and 32 waiting"));
	for (k = 0; k < NCAP; k++) {
		loop_once(0);
		loop_once(0);
		assert_int_equal(serve_one(lfd), 0);
		run_until(&r[k], SCAN_MS);
		/* In order: scan k is the one served, none after it done. */
		assert_int_equal(r[k].got, 1);
		if (r[k].v.result != CLAMD_CLEAN)
			fail_msg("scan %d: %d (%s)", k, r[k].v.result,
			    r[k].v.why);
		for (i = k + 1; i < NCAP; i++)
			assert_int_equal(r[i].got, 0);
		if (count_fds() > fds + CLAMD_SCANS_MAX)
			fail_msg("%d connections open after %d served",
			    count_fds() - fds, k + 1);
	}
	loop_once(0);
	assert_int_equal(count_fds(), fds);

	/* Every connection held: a scan waits, busy after its timeout. */
	for (i = 0; i < CLAMD_SCANS_MAX; i++)
		start(&r[i], &a, SCAN_MS);
	t0 = proto_mono_ms();
	start(&r[NCAP], &a, SILENT_MS);
	run_until(&r[NCAP], SILENT_MS + 2000);
	assert_int_equal(r[NCAP].v.result, CLAMD_BUSY);
	assert_non_null(strstr(r[NCAP].v.why, "no connection free in 300 ms"));
	if (r[NCAP].at - t0 < SILENT_MS - 20)
		fail_msg("busy after %lld ms", r[NCAP].at - t0);
	for (i = 0; i < CLAMD_SCANS_MAX; i++)
		cancel(&r[i]);
	loop_once(0);
	close(lfd);
	assert_int_equal(count_fds(), fds - 1);
}

/* clamd gone (killed, its socket file left): unavailable at once. */
static void
test_stopped(void **state)
{
	const struct clamd_addr *as[] = { &cd.ux, &cd.tcp };
	static struct result r;
	long long t0;
	size_t i;

	clamd_kill(SIGKILL);
	for (i = 0; i < 2; i++) {
		t0 = proto_mono_ms();
		scan(&r, as[i], cd.eicar, strlen(cd.eicar), 1 << 20, SCAN_MS);
		assert_int_equal(r.v.result, CLAMD_UNAVAILABLE);
		assert_non_null(strstr(r.v.why, "Connection refused"));
		if (r.at - t0 > 200)
			fail_msg("told after %lld ms", r.at - t0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_addr_parse, drain),
		cmocka_unit_test_teardown(test_reply_parse, drain),
		cmocka_unit_test_teardown(test_eicar, drain),
		cmocka_unit_test_teardown(test_eicar_inside, drain),
		cmocka_unit_test_teardown(test_clean, drain),
		cmocka_unit_test_teardown(test_too_large, drain),
		cmocka_unit_test_teardown(test_silent, drain),
		cmocka_unit_test_teardown(test_fake_replies, drain),
		cmocka_unit_test_teardown(test_deferred_and_cancel, drain),
		cmocka_unit_test_teardown(test_cap, drain),
		/* Last: clamd is killed. */
		cmocka_unit_test_teardown(test_stopped, drain),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_clamd");
	loop_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
