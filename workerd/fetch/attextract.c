/*
 * A PDF attachment's text, read in the fetcher (attextract.h): storaged
 * queues each PDF upload once whole (attqueue.c: in its client's turn);
 * here one at a time it is taken off the queue (ST_ATT_EXTRACT_DUE:
 * leased; its text not kept within ST_ATT_LEASE_MS, the fetcher dead, it
 * comes back, at most ST_ATT_EXTRACT_TRIES times), its pieces read
 * (ST_ATT_READ, any state), its text extracted by pdf.c
 * (poppler: the untrusted bytes are parsed in the fetcher's own child,
 * never in a worker or storaged), its paragraphs joined and cut at
 * ST_ATT_TEXT_KEPT bytes at a character, and kept with it
 * (ST_ATT_TEXT_PUT). A PDF that cannot be read keeps an empty text. The
 * model is shown it with the message that names the file (turnfiles.c).
 *
 * The text is read in a child process of one file (read_child): a PDF
 * that holds poppler (EXTRACT_CPU_S of CPU, EXTRACT_WALL_MS of time) or
 * runs it out of memory (the fetcher's address-space bound, inherited)
 * ends the child alone, never the fetcher and the knowledge sync it
 * runs meanwhile: any visitor may upload PDFs, and theirs once ended the
 * fetcher one after another, every organisation's syncs with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attextract.h"
#include "fetcher.h"
#include "html.h"
#include "log.h"
#include "pdf.h"
#include "workerd.h"

#define POLL_MS		300
#define IDLE_POLL_MS	1000
#define EXTRACT_PAGES	50	/* pages read of one file */
#define EXTRACT_TIME_MS	5000
/*
 * A file's CPU time bound (its child's RLIMIT_CPU): pdf.c checks
 * EXTRACT_TIME_MS between pages, and one page may hold poppler longer.
 * Past it, or past EXTRACT_WALL_MS, the child ends and the file keeps no
 * text.
 */
#define EXTRACT_CPU_S	5
#define EXTRACT_WALL_MS	30000
/* A read ends well within its lease: never read twice at once. */
_Static_assert(EXTRACT_WALL_MS + 15000 <= ST_ATT_LEASE_MS,
    "a PDF's lease outlasts its reading");
/* What a child sends: '0' and the text, or '1' and why it read none. */
#define CHILD_OUT_MAX	(1 + ST_ATT_TEXT_KEPT)

static struct {
	struct loop_timer poll;
	struct storec_req *req;
	char id[ST_ATT_ID_LEN + 1];
	uint8_t attempt;	/* its lease's: 1 the first */
	uint8_t *file;
	uint32_t size, got;
	int running;
	pid_t child;		/* reading the file; 0: none */
	int fd;			/* its output's read end */
	struct loop_io io;
	struct loop_timer wall;	/* EXTRACT_WALL_MS */
	char out[CHILD_OUT_MAX + 1];
	size_t outlen;
} X;

static void ask_due(void *);

/* The job over: the next asked soon. */
static void
job_over(uint64_t next_ms)
{
	free(X.file);
	X.file = NULL;
	X.size = X.got = 0;
	if (X.running)
		loop_timer_after(&X.poll, next_ms);
}

static void
text_kept(const struct storec_result *r, void *arg)
{
	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK)
		log_warnx("attachments: %s: its text not kept: %s", X.id,
		    r->status == STOREC_ERROR ? r->message :
		    "storaged unavailable");
	job_over(POLL_MS);
}

/* doc's blocks joined by blank lines into buf (cut at a character). */
static size_t
doc_text(const struct fetch_doc *doc, char *buf, size_t bufsz)
{
	size_t i, n = 0, k;

	for (i = 0; i < doc->nblocks && n + 3 < bufsz; i++) {
		if (n > 0) {
			memcpy(buf + n, "\n\n", 2);
			n += 2;
		}
		k = doc->blocks[i].len < bufsz - 1 - n ? doc->blocks[i].len :
		    bufsz - 1 - n;
		memcpy(buf + n, doc->blocks[i].text, k);
		n += k;
	}
	/* A character cut at the end: left out. */
	if (n == bufsz - 1)
		n = proto_utf8_whole(buf, n);
	buf[n] = '\0';
	return n;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): a PDF of one opening aborts the
 * fetcher as poppler does out of memory, for the crash's test; of
 * another it spins as a page that holds poppler would, for the CPU
 * bound's; of another it waits on its first lease (the test ends the
 * fetcher meanwhile), read on the next, for the lease's.
 */
static void
abort_hook(const void *file, size_t size)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-abort";
	static const char spin[] = "%PDF-1.0\n% parley-test-spin";
	static const char hold[] = "%PDF-1.4\n% parley-test-hold";
	volatile unsigned long n = 0;

	if (size >= sizeof(mark) - 1 && memcmp(file, mark,
	    sizeof(mark) - 1) == 0)
		abort();
	if (size >= sizeof(spin) - 1 && memcmp(file, spin,
	    sizeof(spin) - 1) == 0)
		for (;;)
			n++;
	if (X.attempt == 1 && size >= sizeof(hold) - 1 && memcmp(file, hold,
	    sizeof(hold) - 1) == 0)
		pause();
}

/* A PDF of this opening ends the fetcher itself, each time it is read. */
static void
kill_hook(const void *file, size_t size)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-kill-fetcher";

	if (size >= sizeof(mark) - 1 && memcmp(file, mark,
	    sizeof(mark) - 1) == 0)
		(void)kill(getpid(), SIGKILL);
}
#else
#define abort_hook(file, size)	((void)0)
#define kill_hook(file, size)	((void)0)
#endif

/*
 * A file's CPU time bound: EXTRACT_CPU_S, or less in the test build
 * (PARLEY_TEST_ATT_CPU_S: the test of PDFs that hold the reader, which
 * burnt 5 s of a core for each).
 */
static int
extract_cpu_s(void)
{
	return (int)SETTINGS_TEST_LOWER("PARLEY_TEST_ATT_CPU_S", EXTRACT_CPU_S);
}

/*
 * text (NUL-terminated) kept as the file's text, failed: none could be
 * read (so "" is not taken for a PDF without text): the job over then.
 */
static void
text_put(const char *text, int failed)
{
	struct st_att_text_req q = { X.id, text, failed != 0 };

	if (storec_ask(NULL, PROTO_ST_ATT_TEXT_PUT, &q, text_kept, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

/* n bytes of buf written whole to fd (the child's): 0, or -1. */
static int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The child: X.file read with its own bounds, its text (or why none)
 * written to fd, then _exit (no atexit handler, no loop, no storaged:
 * those are the fetcher's).
 */
static void
read_child(int fd)
{
	static char out[CHILD_OUT_MAX + 1];
	/* Reading stops once the text kept is had (and a quarter more). */
	const struct pdf_limits lim = { EXTRACT_PAGES, EXTRACT_TIME_MS,
	    ST_ATT_TEXT_KEPT };
	const rlim_t cpu_s = (rlim_t)extract_cpu_s();
	const struct rlimit cpu = { cpu_s, cpu_s + 1 };
	const struct rlimit nocore = { 0, 0 };
	static const int sigs[] = { SIGXCPU, SIGABRT, SIGSEGV, SIGBUS };
	struct fetch_doc doc;
	const char *why;
	sigset_t none;
	size_t i, n;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The fetcher's handlers and blocked signals are not the child's. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setrlimit(RLIMIT_CORE, &nocore) < 0 ||
	    setrlimit(RLIMIT_CPU, &cpu) < 0)
		_exit(2);
	abort_hook(X.file, X.size);
	if (pdf_extract_limits(X.file, X.size, &lim, &doc, &why) < 0) {
		n = (size_t)snprintf(out, sizeof(out), "1%s", why);
		n = n < sizeof(out) ? n : sizeof(out) - 1;
	} else {
		out[0] = '0';
		n = 1 + doc_text(&doc, out + 1, sizeof(out) - 1);
	}
	_exit(write_all(fd, out, n) < 0 ? 2 : 0);
}

/* Why the child that ended with status read no text. */
static const char *
child_why(int status)
{
	static char why[64];

	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
	    WTERMSIG(status) == SIGKILL)) {
		snprintf(why, sizeof(why), "took more than %d s of CPU, or "
		    "%d s, to read", extract_cpu_s(), EXTRACT_WALL_MS / 1000);
		return why;
	}
	if (WIFSIGNALED(status))
		return "its reader ended (out of memory, or a fault)";
	return "its reader ended without a text";
}

/* The child reaped (killed first, were it still reading): its status. */
static int
child_reap(void)
{
	int status = 0;

	loop_io_del(&X.io);
	loop_timer_stop(&X.wall);
	close(X.fd);
	X.fd = -1;
	(void)kill(X.child, SIGKILL);
	while (waitpid(X.child, &status, 0) < 0 && errno == EINTR)
		;
	X.child = 0;
	return status;
}

/* The child's end: reaped, its text kept. */
static void
child_end(void)
{
	int status = child_reap();

	X.out[X.outlen] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && X.outlen > 0 &&
	    X.out[0] == '0') {
		text_put(X.out + 1, 0);
		return;
	}
	log_info("attachments: %s: no text read: %s", X.id,
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 && X.outlen > 1 ?
	    X.out + 1 : child_why(status));
	text_put("", 1);
}

static void
child_readable(int fd, uint32_t events, void *arg)
{
	ssize_t n;

	(void)events;
	(void)arg;
	for (;;) {
		if (X.outlen == CHILD_OUT_MAX) {
			child_end();	/* more than a child sends */
			return;
		}
		n = read(fd, X.out + X.outlen, CHILD_OUT_MAX - X.outlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			child_end();
			return;
		}
		X.outlen += (size_t)n;
	}
}

/* EXTRACT_WALL_MS passed: the child killed, the file keeps no text. */
static void
child_late(void *arg)
{
	(void)arg;
	child_end();
}

/* The file whole: its text read by a child of its own, then sent. */
static void
extract(void)
{
	int fds[2];

	if (X.size == 0 || pipe2(fds, O_CLOEXEC) < 0) {
		text_put("", 1);
		return;
	}
	kill_hook(X.file, X.size);
	if ((X.child = fork()) < 0) {
		log_warn("attachments: %s: fork", X.id);
		X.child = 0;
		close(fds[0]);
		close(fds[1]);
		text_put("", 1);
		return;
	}
	if (X.child == 0) {
		close(fds[0]);
		read_child(fds[1]);
	}
	close(fds[1]);
	X.fd = fds[0];
	X.outlen = 0;
	if (fcntl(X.fd, F_SETFL, O_NONBLOCK) < 0 ||
	    loop_io_add(&X.io, X.fd, EPOLLIN, child_readable, NULL) < 0) {
		log_warn("attachments: %s: its reader's output", X.id);
		X.io.fd = -1;
		child_end();
		return;
	}
	loop_timer_after(&X.wall, EXTRACT_WALL_MS);
}

static void read_next(void);

static void
piece_read(const struct storec_result *r, void *arg)
{
	struct st_att_read_rep rep;

	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_READ, &rep) < 0) {
		job_over(IDLE_POLL_MS);
		return;
	}
	if (rep.result != ST_ATT_OK || rep.data.len > X.size - X.got ||
	    rep.data.len == 0) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		job_over(POLL_MS);	/* gone meanwhile */
		return;
	}
	memcpy(X.file + X.got, rep.data.p, rep.data.len);
	X.got += rep.data.len;
	st_rep_free(PROTO_ST_ATT_READ, &rep);
	if (X.got == X.size)
		extract();
	else
		read_next();
}

static void
read_next(void)
{
	struct st_att_read_req q = { X.id, X.got / ST_ATT_PIECE,
	    ST_ATT_READ_ANY, NULL };

	if (storec_ask(NULL, PROTO_ST_ATT_READ, &q, piece_read, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

static void
due_done(const struct storec_result *r, void *arg)
{
	struct st_att_due_rep rep;

	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_EXTRACT_DUE, &rep) < 0 ||
	    rep.result != ST_ATT_OK) {
		job_over(IDLE_POLL_MS);
		return;
	}
	strlcpy(X.id, rep.id, sizeof(X.id));
	X.attempt = rep.attempt;
	log_info("attachments: %s: reading its text (try %u)", X.id,
	    (unsigned)X.attempt);
	/* Over what pdf.c reads: its text stays empty. */
	if (rep.size == 0 || rep.size > FETCH_INPUT_MAX ||
	    (X.file = malloc(rep.size)) == NULL) {
		X.size = 0;
		extract();
		return;
	}
	X.size = rep.size;
	X.got = 0;
	read_next();
}

static void
ask_due(void *arg)
{
	(void)arg;
	if (storec_ask(NULL, PROTO_ST_ATT_EXTRACT_DUE, NULL, due_done, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

void
attextract_start(void)
{
	X.running = 1;
	X.fd = -1;
	loop_timer_init(&X.wall, child_late, NULL);
	loop_timer_init(&X.poll, ask_due, NULL);
	loop_timer_after(&X.poll, POLL_MS);
}

void
attextract_stop(void)
{
	X.running = 0;
	loop_timer_stop(&X.poll);
	if (X.child > 0)
		(void)child_reap();
	storec_cancel(X.req);
	X.req = NULL;
	free(X.file);
	X.file = NULL;
}
