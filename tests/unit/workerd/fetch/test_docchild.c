/*
 * A document read in a child process of its own (workerd/fetch/
 * docchild.c): a doc comes back whole (title, language, canonical URL,
 * robots flags, links, blocks of each kind and level); the reader's
 * reason when it reads none; a reader that spins ends at its CPU time
 * bound, one that sleeps at its wall-clock bound, one that aborts (or
 * the test build's opening that aborts) or exits otherwise as a crash,
 * and what a child sends that is not a doc as a crash too, never
 * believed; each with the caller alive. On the loop (docchild_start) the
 * same, done told once; docchild_stop reaps a child still reading. The
 * reader runs with no fd of the caller's but stdio and its pipe, and
 * with the caller's keys (wsettings' secrets, what docchild_wipe_with
 * names) zeroed, the caller's own untouched; and under its system-call
 * filter (sandbox.h): a path's status, a socket, a fork fail with EPERM,
 * a file opened too (EACCES where Landlock cuts the file system: then
 * poppler-data's files open to read, and only to read), an execve and a
 * signal to another process kill the
 * child (a crash), AddressSanitizer's report is still written; where
 * seccomp fails (a filter of the test's own makes it), the reader is not
 * run and the child says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docchild.h"
#include "proto.h"
#include "loop.h"
#include "settings.h"
#include "workerd.h"

/* What a reader of these tests does not look at of its arguments. */
#define READER_UNUSED()	((void)bytes, (void)len, (void)arg, (void)doc, \
	(void)why)

static const struct docchild_bounds BOUNDS = { 1, 10000 };

static char *
sdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static int
rich_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	size_t i;

	READER_UNUSED();
	doc->title = sdup("Teapots");
	doc->lang = sdup("en-GB");
	doc->canonical = sdup("https://example.com/teapots");
	doc->nofollow = 1;
	doc->truncated = 1;
	doc->links = calloc(2, sizeof(*doc->links));
	doc->links[0] = sdup("https://example.com/a");
	doc->links[1] = sdup("https://example.com/b");
	doc->nlinks = 2;
	doc->blocks = calloc(FETCH_CODE + 1, sizeof(*doc->blocks));
	for (i = 0; i <= FETCH_CODE; i++) {
		doc->blocks[i].kind = (enum fetch_kind)i;
		doc->blocks[i].level = i == FETCH_HEADING ? 3 : 0;
		doc->blocks[i].text = sdup(i == FETCH_CODE ? "a\n  b" : "Spout");
		doc->blocks[i].len = strlen(doc->blocks[i].text);
		doc->text_bytes += doc->blocks[i].len;
	}
	doc->nblocks = FETCH_CODE + 1;
	return 0;
}

static int
empty_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	return 0;
}

/* Empty strings where a reader might leave them: a title, a link. */
static int
blank_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	doc->title = sdup("");
	doc->links = calloc(2, sizeof(*doc->links));
	doc->links[0] = sdup("");
	doc->links[1] = sdup("https://example.com/c");
	doc->nlinks = 2;
	return 0;
}

/* A reader's refusal with an empty reason. */
static int
blank_why_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	READER_UNUSED();
	*why = "";
	return -1;
}

static int
unread_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	/* The child sees the caller's bytes. */
	*why = len == 5 && memcmp(bytes, "bytes", 5) == 0 ? "pdf: damaged" :
	    "not the bytes";
	return -1;
}

static int
spin_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	volatile unsigned long n = 0;

	READER_UNUSED();
	for (;;)
		n++;
	return 0;
}

static int
sleep_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	for (;;)
		pause();
	return 0;
}

static int
abort_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	abort();
}

static int
exit_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	_exit(0);	/* nothing sent */
}

/* What a child might send were its reader subverted: arg, n bytes first. */
struct forged {
	const char *bytes;
	size_t n;
};

static int
forge_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	const struct forged *f = arg;
	struct stat st;
	ssize_t w;
	int fd;

	READER_UNUSED();
	/* The pipe's write end: the one FIFO open for writing alone. */
	for (fd = 3; fd < 1024; fd++)
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
		    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
			w = write(fd, f->bytes, f->n);
			(void)w;
			break;
		}
	_exit(0);
}

/* "name EPERM" (or "name done", "name failed") after buf's ", ". */
static void
probed(char *buf, size_t sz, const char *name, int rc)
{
	size_t n = strlen(buf);

	snprintf(buf + n, sz - n, "%s%s %s", n > 0 ? ", " : "", name,
	    rc >= 0 ? "done" : errno == EPERM ? "EPERM" : "failed");
}

/*
 * What a subverted reader would try first, each refused by the filter
 * (sandbox.h) with EPERM: a file opened, a path's status, a socket, a
 * process. Its why lists them.
 */
static int
probe_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	static char buf[128];
	struct stat st;
	pid_t pid;

	READER_UNUSED();
	buf[0] = '\0';
	probed(buf, sizeof(buf), "open", open("/etc/hostname", O_RDONLY));
	probed(buf, sizeof(buf), "stat", stat("/etc/hostname", &st));
	probed(buf, sizeof(buf), "socket", socket(AF_INET, SOCK_STREAM, 0));
	if ((pid = fork()) == 0)
		_exit(0);
	probed(buf, sizeof(buf), "fork", pid);
	*why = buf;
	return -1;
}

/* One of poppler-data's files (scripts/deps.sh installs it for the tests). */
#define POPPLER_DIR	"/usr/share/poppler/cMap/Adobe-GB1"
#define POPPLER_FILE	POPPLER_DIR "/UniGB-UCS2-H"
#define MADE_FILE	"/tmp/parley-test-docchild-made"

/*
 * A subverted reader's opens: poppler-data's directory listed (as poppler
 * scans it), its file to read, then to write, another path's to read, a
 * file made. Its why lists them.
 */
static int
files_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	static char buf[192];
	DIR *dp;

	READER_UNUSED();
	buf[0] = '\0';
	dp = opendir(POPPLER_DIR);
	probed(buf, sizeof(buf), "poppler list", dp != NULL &&
	    readdir(dp) != NULL ? 0 : -1);
	if (dp != NULL)
		closedir(dp);
	probed(buf, sizeof(buf), "poppler read", open(POPPLER_FILE, O_RDONLY));
	probed(buf, sizeof(buf), "poppler write", open(POPPLER_FILE,
	    O_WRONLY));
	probed(buf, sizeof(buf), "other read", open("/etc/hostname",
	    O_RDONLY));
	probed(buf, sizeof(buf), "make", open(MADE_FILE, O_WRONLY | O_CREAT,
	    0600));
	*why = buf;
	return -1;
}

/* Whether this kernel has Landlock (the child's file system is cut). */
static int
has_landlock(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, 1U) >= 1;
}

/*
 * A program run: one that would say so through the pipe (its fd kept
 * open across the exec). The filter kills the child at execve instead.
 */
static int
exec_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	READER_UNUSED();
	(void)fcntl(3, F_SETFD, 0);
	execl("/bin/sh", "sh", "-c", "printf 1executed >&3", (char *)NULL);
	*why = errno == EPERM ? "execve EPERM" : "execve failed";
	return -1;
}

/*
 * A signal (0: none is sent) to another process, arg's pid (the
 * caller's): the child killed.
 */
static int
signal_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	READER_UNUSED();
	*why = kill(*(const pid_t *)arg, 0) == 0 ? "signalled" :
	    "kill refused";
	return -1;
}

#ifdef __SANITIZE_ADDRESS__
/* A heap buffer overflow, for AddressSanitizer's report. */
static int
overflow_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	char *volatile p = malloc(8);

	READER_UNUSED();
	p[8] = 'x';
	*why = "not caught";
	return -1;
}
#endif

/* Keys the caller holds: two of its settings', one of its own. */
#define MODEL_KEY	"sk-model-key-of-the-fetcher"
#define ADMIN_KEY	"admin-key-a-fetcher-never-gets"
#define HELD_KEY	"an-agent's-key-in-a-sync"
static char held[] = HELD_KEY;

/* docchild_wipe_with's, as the fetcher's zeroes its syncs' keys. */
static void
wipe_held(void)
{
	explicit_bzero(held, sizeof(held));
}

/* Whether the n bytes at s (NULL: none) are all zero. */
static int
zeroed(const char *s, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (s[i] != '\0')
			return 0;
	return 1;
}

/*
 * The first fd of the child's below max but stdio and its pipe (the one
 * FIFO open for writing alone), or -1: none. fstat alone, as a reader
 * filtered of its system calls can (no /proc/self/fd opened).
 */
static int
stray_fd(int max)
{
	struct stat st;
	int fd, pipes = 0;

	for (fd = 3; fd < max; fd++) {
		if (fstat(fd, &st) < 0)
			continue;
		if (S_ISFIFO(st.st_mode) && (fcntl(fd, F_GETFL) &
		    O_ACCMODE) == O_WRONLY && pipes++ == 0)
			continue;
		return fd;
	}
	return -1;
}

/*
 * What the child holds of the caller's: "isolated", or why not. arg: the
 * caller's fd limit (an int).
 */
static int
isolated_reader(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why)
{
	static char buf[64];
	int fd;

	READER_UNUSED();
	if ((fd = stray_fd(*(const int *)arg)) >= 0) {
		snprintf(buf, sizeof(buf), "fd %d open", fd);
		*why = buf;
		return -1;
	}
	if (!zeroed(wsettings.openai_key, sizeof(MODEL_KEY) - 1) ||
	    !zeroed(wsettings.admin_key, sizeof(ADMIN_KEY) - 1)) {
		*why = "a setting's key kept";
		return -1;
	}
	if (!zeroed(held, sizeof(held))) {
		*why = "the caller's key kept";
		return -1;
	}
	doc->title = sdup("isolated");
	return 0;
}

/* The caller's keys, its fds open: nothing of them in the reader. */
struct isolation {
	int devnull;
	int sp[2];
	int fd_max;	/* the fd limit, at most 65536: isolated_reader's arg */
};

static void
isolation_set(struct isolation *is)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	is->fd_max = rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	assert_true((is->devnull = open("/dev/null", O_RDONLY)) >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    is->sp), 0);
	wsettings.openai_key = sdup(MODEL_KEY);
	wsettings.admin_key = sdup(ADMIN_KEY);
	docchild_wipe_with(wipe_held);
}

/* The caller's own keys and fds as they were; then gone. */
static void
isolation_check_unset(struct isolation *is)
{
	assert_string_equal(wsettings.openai_key, MODEL_KEY);
	assert_string_equal(wsettings.admin_key, ADMIN_KEY);
	assert_string_equal(held, HELD_KEY);
	assert_int_equal(fcntl(is->devnull, F_GETFD), 0);
	assert_true(fcntl(is->sp[0], F_GETFD) >= 0);
	close(is->devnull);
	close(is->sp[0]);
	close(is->sp[1]);
	free(wsettings.openai_key);
	free(wsettings.admin_key);
	wsettings.openai_key = wsettings.admin_key = NULL;
	docchild_wipe_with(NULL);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static enum docchild_end
read_with(docchild_reader reader, void *arg, const struct docchild_bounds *b,
    struct docchild_result *res)
{
	return docchild_read("bytes", 5, b != NULL ? b : &BOUNDS, reader, arg,
	    res);
}

static void
test_isolated(void **state)
{
	struct docchild_result res;
	struct isolation is;

	(void)state;
	isolation_set(&is);
	read_with(isolated_reader, &is.fd_max, NULL, &res);
	if (res.end != DOCCHILD_READ)
		fail_msg("%d: %s", res.end, res.why);
	assert_string_equal(res.doc.title, "isolated");
	fetch_doc_free(&res.doc);
	isolation_check_unset(&is);
}

static void
test_doc_whole(void **state)
{
	struct docchild_result res;
	size_t i;

	(void)state;
	assert_int_equal(read_with(rich_reader, NULL, NULL, &res),
	    DOCCHILD_READ);
	assert_int_equal(res.end, DOCCHILD_READ);
	assert_string_equal(res.doc.title, "Teapots");
	assert_string_equal(res.doc.lang, "en-GB");
	assert_string_equal(res.doc.canonical, "https://example.com/teapots");
	assert_int_equal(res.doc.noindex, 0);
	assert_int_equal(res.doc.nofollow, 1);
	assert_int_equal(res.doc.truncated, 1);
	assert_int_equal(res.doc.nlinks, 2);
	assert_string_equal(res.doc.links[1], "https://example.com/b");
	assert_int_equal(res.doc.nblocks, FETCH_CODE + 1);
	for (i = 0; i <= FETCH_CODE; i++) {
		assert_int_equal(res.doc.blocks[i].kind, i);
		assert_int_equal(res.doc.blocks[i].level,
		    i == FETCH_HEADING ? 3 : 0);
	}
	assert_string_equal(res.doc.blocks[FETCH_CODE].text, "a\n  b");
	assert_int_equal(res.doc.blocks[FETCH_CODE].len, 5);
	assert_int_equal(res.doc.text_bytes, 5 * FETCH_CODE + 5);
	fetch_doc_free(&res.doc);

	/* A doc of nothing: no title, no block. */
	assert_int_equal(read_with(empty_reader, NULL, NULL, &res),
	    DOCCHILD_READ);
	assert_null(res.doc.title);
	assert_null(res.doc.lang);
	assert_int_equal(res.doc.nblocks, 0);
	assert_int_equal(res.doc.nlinks, 0);
	fetch_doc_free(&res.doc);

	/* Empty strings are none: the doc read, not a crash. */
	assert_int_equal(read_with(blank_reader, NULL, NULL, &res),
	    DOCCHILD_READ);
	assert_null(res.doc.title);
	assert_int_equal(res.doc.nlinks, 1);
	assert_string_equal(res.doc.links[0], "https://example.com/c");
	fetch_doc_free(&res.doc);
}

static void
test_unread(void **state)
{
	struct docchild_result res;

	(void)state;
	assert_int_equal(read_with(unread_reader, NULL, NULL, &res),
	    DOCCHILD_UNREAD);
	assert_string_equal(res.why, "pdf: damaged");
	assert_null(res.doc.title);
	/* An empty reason is a reason all the same, not a crash. */
	assert_int_equal(read_with(blank_why_reader, NULL, NULL, &res),
	    DOCCHILD_UNREAD);
	assert_string_equal(res.why, "not read");
}

/*
 * A spinning reader ends at its CPU bound: DOCCHILD_CPU, not its wall
 * bound's DOCCHILD_LATE (no wall time asserted: a loaded machine gives
 * the child its CPU second late, and two make tests at once took it past
 * 8 s).
 */
static void
test_cpu_bound(void **state)
{
	const struct docchild_bounds b = { 1, 120000 };	/* the wall far off */
	struct docchild_result res;

	(void)state;
	assert_int_equal(read_with(spin_reader, NULL, &b, &res),
	    DOCCHILD_CPU);
	assert_string_equal(res.why, "");
}

static void
test_wall_bound(void **state)
{
	const struct docchild_bounds b = { 5, 300 };
	struct docchild_result res;
	double t0 = now_s();

	(void)state;
	assert_int_equal(read_with(sleep_reader, NULL, &b, &res),
	    DOCCHILD_LATE);
	/* Not before its bound; that it ended at all is the kill (it pauses). */
	assert_true(now_s() - t0 >= 0.29);
}

static void
test_crash(void **state)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-abort\n";
	struct docchild_result res;

	(void)state;
	assert_int_equal(read_with(abort_reader, NULL, NULL, &res),
	    DOCCHILD_CRASH);
	assert_int_equal(read_with(exit_reader, NULL, NULL, &res),
	    DOCCHILD_CRASH);
	/* The test build's opening: its reader aborts before it reads. */
	assert_int_equal(docchild_read(mark, sizeof(mark) - 1, &BOUNDS,
	    rich_reader, NULL, &res), DOCCHILD_CRASH);
}

static void
test_filtered(void **state)
{
	struct docchild_result res;
	pid_t self = getpid();

	(void)state;
	assert_int_equal(read_with(probe_reader, NULL, NULL, &res),
	    DOCCHILD_UNREAD);
	assert_string_equal(res.why, has_landlock() ?
	    "open failed, stat EPERM, socket EPERM, fork EPERM" :
	    "open EPERM, stat EPERM, socket EPERM, fork EPERM");
	/* Files: poppler-data's to read alone, where Landlock cuts; else none. */
	if (access(POPPLER_FILE, R_OK) != 0)
		fail_msg("%s is missing: scripts/deps.sh test installs "
		    "poppler-data", POPPLER_FILE);
	unlink(MADE_FILE);
	assert_int_equal(read_with(files_reader, NULL, NULL, &res),
	    DOCCHILD_UNREAD);
	assert_string_equal(res.why, has_landlock() ?
	    "poppler list done, poppler read done, poppler write EPERM, "
	    "other read failed, make EPERM" : "poppler list EPERM, "
	    "poppler read EPERM, poppler write EPERM, other read EPERM, "
	    "make EPERM");
	assert_int_equal(access(MADE_FILE, F_OK), -1);
	/* Killed: no program run, no other process reached. */
	assert_int_equal(read_with(exec_reader, NULL, NULL, &res),
	    DOCCHILD_CRASH);
	assert_int_equal(read_with(signal_reader, &self, NULL, &res),
	    DOCCHILD_CRASH);
	/* Its own signal still is (abort: test_crash), its reading too. */
	assert_int_equal(read_with(rich_reader, NULL, NULL, &res),
	    DOCCHILD_READ);
	fetch_doc_free(&res.doc);
}

/*
 * In a process whose filter makes seccomp(2) and PR_SET_SECCOMP fail as
 * a kernel without them: the reader is not run, the child says why.
 * The process's exit status: 0, or 1 and what it got on stderr.
 */
static void __attribute__((noreturn))
no_seccomp_main(void)
{
	struct docchild_result res;
	scmp_filter_ctx f;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    (f = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
	    seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(seccomp),
	    0) < 0 || seccomp_rule_add(f, SCMP_ACT_ERRNO(EINVAL),
	    SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP)) < 0 ||
	    seccomp_load(f) < 0)
		_exit(2);
	seccomp_release(f);
	if (read_with(rich_reader, NULL, NULL, &res) == DOCCHILD_UNREAD &&
	    strcmp(res.why, "not read: this system cannot filter a "
	    "reader's system calls (seccomp)") == 0)
		_exit(0);
	fprintf(stderr, "end %d: %s\n", res.end, res.why);
	fetch_doc_free(&res.doc);
	_exit(1);
}

static void
test_no_seccomp(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		no_seccomp_main();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's report from within the filter, on stderr. */
static void
test_asan_report(void **state)
{
	char path[] = "/tmp/test_docchild.XXXXXX", buf[8192];
	struct docchild_result res;
	int fd, saved;
	ssize_t n;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_true((saved = dup(2)) >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	read_with(overflow_reader, NULL, NULL, &res);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(res.end, DOCCHILD_CRASH);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	if (strstr(buf, "ERROR: AddressSanitizer: heap-buffer-overflow") ==
	    NULL)
		fail_msg("no report: %s", buf);
}
#endif

/*
 * A forged doc's opening into e: '0', flags 0, the title, language and
 * canonical URL none, links, then blocks (the caller's).
 */
static void
forged_head(struct penc *e, uint32_t nlinks)
{
	penc_init(e);
	penc_u8(e, '0');
	penc_u32(e, 0);
	penc_str(e, "");
	penc_str(e, "");
	penc_str(e, "");
	penc_u32(e, nlinks);
}

/* e's bytes read as a child's output: the end. */
static enum docchild_end
forged_read(struct penc *e, struct docchild_result *res)
{
	struct forged f = { (const char *)e->buf, e->len };
	enum docchild_end end;

	assert_false(e->err);
	end = read_with(forge_reader, &f, NULL, res);
	penc_free(e);
	return end;
}

/* A doc of one block (kind, its text n bytes of t), forged into e. */
static void
forged_block(struct penc *e, uint8_t kind, const char *t, size_t n)
{
	forged_head(e, 0);
	penc_u32(e, 1);
	penc_u8(e, kind);
	penc_u8(e, 0);
	penc_strn(e, t, n);
}

static void
test_forged(void **state)
{
	struct docchild_result res;
	struct forged f;
	struct penc e;

	(void)state;
	/* Links over FETCH_LINKS_MAX. */
	forged_head(&e, FETCH_LINKS_MAX + 1);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_CRASH);
	/* A title that says it is longer than what follows. */
	penc_init(&e);
	penc_u8(&e, '0');
	penc_u32(&e, 0);
	penc_u32(&e, 40);
	penc_raw(&e, "short", 5);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_CRASH);
	/* A block with a NUL in its text; one of an unknown kind. */
	forged_block(&e, FETCH_PARA, "a\0b", 3);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_CRASH);
	forged_block(&e, 9, "a", 1);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_CRASH);
	/* The same form, well made: believed (a block "a", a paragraph). */
	forged_block(&e, FETCH_PARA, "a", 1);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_READ);
	assert_int_equal(res.doc.nblocks, 1);
	assert_string_equal(res.doc.blocks[0].text, "a");
	fetch_doc_free(&res.doc);
	/* Bytes after the doc: not one. */
	forged_block(&e, FETCH_PARA, "a", 1);
	penc_u8(&e, 0);
	assert_int_equal(forged_read(&e, &res), DOCCHILD_CRASH);
	/* '1' and no reason. */
	f = (struct forged){ "1", 1 };
	assert_int_equal(read_with(forge_reader, &f, NULL, &res),
	    DOCCHILD_CRASH);
}

static int dones, gave_up;
static struct docchild_result got;

static void
on_done(struct docchild_result *res, void *arg)
{
	assert_ptr_equal(arg, &dones);
	dones++;
	got = *res;
}

static void
give_up(void *arg)
{
	(void)arg;
	gave_up = 1;
}

/* The loop turned until done is told n times in all, or 10 s. */
static void
run_until(struct loop_timer *t, int n)
{
	gave_up = 0;
	loop_timer_after(t, 10000);
	while (dones < n && !gave_up)
		loop_once(100);
	loop_timer_stop(t);
}

static void
test_on_loop(void **state)
{
	struct docchild dc;
	struct loop_timer t;
	const struct docchild_bounds late = { 5, 200 };
	struct isolation is;
	int status;

	(void)state;
	memset(&dc, 0, sizeof(dc));
	loop_init();
	loop_timer_init(&t, give_up, NULL);
	assert_int_equal(docchild_start(&dc, "bytes", 5, &BOUNDS, rich_reader,
	    NULL, on_done, &dones), 0);
	assert_int_equal(dones, 0);	/* never from within start */
	run_until(&t, 1);
	assert_int_equal(dones, 1);
	assert_int_equal(got.end, DOCCHILD_READ);
	assert_string_equal(got.doc.title, "Teapots");
	assert_int_equal(got.doc.nblocks, FETCH_CODE + 1);
	fetch_doc_free(&got.doc);
	assert_int_equal(dc.pid, 0);

	/* Its wall-clock bound on the loop. */
	assert_int_equal(docchild_start(&dc, "bytes", 5, &late, sleep_reader,
	    NULL, on_done, &dones), 0);
	run_until(&t, 2);
	assert_int_equal(dones, 2);
	assert_int_equal(got.end, DOCCHILD_LATE);

	/* The reader's reason on the loop. */
	assert_int_equal(docchild_start(&dc, "bytes", 5, &BOUNDS,
	    unread_reader, NULL, on_done, &dones), 0);
	run_until(&t, 3);
	assert_int_equal(dones, 3);
	assert_int_equal(got.end, DOCCHILD_UNREAD);
	assert_string_equal(got.why, "pdf: damaged");

	/* Stopped while it reads: reaped, done not told. */
	assert_int_equal(docchild_start(&dc, "bytes", 5, &BOUNDS, sleep_reader,
	    NULL, on_done, &dones), 0);
	docchild_stop(&dc);
	assert_int_equal(dc.pid, 0);
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);	/* no child */
	docchild_stop(&dc);	/* none: nothing */
	loop_once(300);
	assert_int_equal(dones, 3);

	/* Isolated on the loop too (its epoll and timer fds not the child's). */
	isolation_set(&is);
	assert_int_equal(docchild_start(&dc, "bytes", 5, &BOUNDS,
	    isolated_reader, &is.fd_max, on_done, &dones), 0);
	run_until(&t, 4);
	assert_int_equal(dones, 4);
	if (got.end != DOCCHILD_READ)
		fail_msg("%d: %s", got.end, got.why);
	assert_string_equal(got.doc.title, "isolated");
	fetch_doc_free(&got.doc);
	isolation_check_unset(&is);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_whole),
		cmocka_unit_test(test_unread),
		cmocka_unit_test(test_cpu_bound),
		cmocka_unit_test(test_wall_bound),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_on_loop),
		cmocka_unit_test(test_isolated),
		cmocka_unit_test(test_filtered),
		cmocka_unit_test(test_no_seccomp),
#ifdef __SANITIZE_ADDRESS__
		cmocka_unit_test(test_asan_report),
#endif
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
