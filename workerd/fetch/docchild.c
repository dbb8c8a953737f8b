/*
 * A document read in a child process of its own (docchild.h: the
 * contract). One mechanism for both ways of waiting: spawn (the pipe,
 * the fork, the child's bounds, isolation and system-call filter:
 * sandbox.c), drain (its output read as it comes), finish (killed,
 * reaped, its output checked and made a struct fetch_doc);
 * docchild_read waits with poll(2) where it is called, docchild_start
 * on the loop.
 *
 * What the child sends, in the protocol's encoding (proto.h's penc and
 * pdec): '1' and the reader's reason; or '0', a u32 of flags
 * (DOC_NOINDEX, DOC_NOFOLLOW, DOC_TRUNCATED), the title, the language
 * and the canonical URL as strings ("" none), a u32 count of links and
 * each as a string, a u32 count of blocks and each as a u8 of kind, a u8
 * of level and its text as a string.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docchild.h"
#include "log.h"
#include "proto.h"
#include "sandbox.h"
#include "settings.h"
#include "util.h"
#include "workerd.h"

#define DOC_NOINDEX	1u
#define DOC_NOFOLLOW	2u
#define DOC_TRUNCATED	4u
#define OUT_FIRST	65536	/* bytes of output room at first */
#define CHILD_OUT_FD	3	/* the child's pipe, past stdio */
/* The most a child sends: a doc at every bound of html.h's. */
#define DOCCHILD_OUT_MAX	((size_t)1 + 4 + \
	(4 + FETCH_TITLE_MAX) + (4 + FETCH_LANG_MAX) + (4 + FETCH_URL_MAX) + \
	4 + (size_t)FETCH_LINKS_MAX * (4 + FETCH_URL_MAX) + \
	4 + (size_t)FETCH_BLOCKS_MAX * (2 + 4) + FETCH_TEXT_MAX)

/* ------------------------------------------------------------ the child */

static void (*wipe_more)(void);	/* docchild_wipe_with's */

void
docchild_wipe_with(void (*wipe)(void))
{
	wipe_more = wipe;
}

/*
 * Every fd but stdio and fd (the pipe, made fd 3) closed: close_range,
 * or one by one to the fd limit where the kernel has none. The pipe's
 * fd, or -1.
 */
static int
close_fds(int fd)
{
	struct rlimit rl;
	rlim_t i;

	if (fd != CHILD_OUT_FD && dup2(fd, CHILD_OUT_FD) < 0)
		return -1;
	if (close_range(CHILD_OUT_FD + 1, ~0U, 0) == 0)
		return CHILD_OUT_FD;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	for (i = CHILD_OUT_FD + 1; i < rl.rlim_cur && i < INT_MAX; i++)
		(void)close((int)i);
	return CHILD_OUT_FD;
}

/*
 * What the fetcher holds that the reader must not read or reach: fds
 * closed, keys zeroed (docchild.h). The pipe's fd, or -1.
 */
static int
child_isolate(int fd)
{
	if ((fd = close_fds(fd)) < 0)
		return -1;
	settings_wipe(&wsettings);
	if (wipe_more != NULL)
		wipe_more();
	return fd;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): a document of one opening aborts
 * its reader as poppler does out of memory, of another it spins as a
 * page that holds poppler would: the tests of a reader that ends.
 */
static void
test_hook(const void *bytes, size_t len)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-abort";
	static const char spin[] = "%PDF-1.0\n% parley-test-spin";
	volatile unsigned long n = 0;

	if (len >= sizeof(mark) - 1 && memcmp(bytes, mark,
	    sizeof(mark) - 1) == 0)
		abort();
	if (len >= sizeof(spin) - 1 && memcmp(bytes, spin,
	    sizeof(spin) - 1) == 0)
		for (;;)
			n++;
}
#else
#define test_hook(bytes, len)	((void)0)
#endif

/* s (NULL: none) as a string; one longer than max sent as none (""). */
static void
str_put(struct penc *e, const char *s, size_t max)
{
	penc_str(e, s != NULL && strlen(s) <= max ? s : NULL);
}

/* Whether a link is sent: one, not empty, within its bound. */
static int
link_sent(const char *l)
{
	return l != NULL && l[0] != '\0' && strlen(l) <= FETCH_URL_MAX;
}

/* doc as the child sends it, into e (its sticky error: out of memory). */
static void
doc_encode(const struct fetch_doc *doc, struct penc *e)
{
	uint32_t flags = (doc->noindex ? DOC_NOINDEX : 0) |
	    (doc->nofollow ? DOC_NOFOLLOW : 0) |
	    (doc->truncated ? DOC_TRUNCATED : 0);
	uint32_t nlinks = 0, nblocks = 0;
	size_t i, text = 0;

	for (i = 0; i < doc->nlinks && nlinks < FETCH_LINKS_MAX; i++)
		nlinks += link_sent(doc->links[i]);
	for (i = 0; i < doc->nblocks && nblocks < FETCH_BLOCKS_MAX &&
	    text + doc->blocks[i].len <= FETCH_TEXT_MAX; i++) {
		text += doc->blocks[i].len;
		nblocks++;
	}
	if (nblocks < doc->nblocks || nlinks < doc->nlinks)
		flags |= DOC_TRUNCATED;
	penc_u8(e, '0');
	penc_u32(e, flags);
	str_put(e, doc->title, FETCH_TITLE_MAX);
	str_put(e, doc->lang, FETCH_LANG_MAX);
	str_put(e, doc->canonical, FETCH_URL_MAX);
	penc_u32(e, nlinks);
	for (i = 0; nlinks > 0 && i < doc->nlinks; i++)
		if (link_sent(doc->links[i])) {
			penc_str(e, doc->links[i]);
			nlinks--;
		}
	penc_u32(e, nblocks);
	for (i = 0; i < nblocks; i++) {
		penc_u8(e, (uint8_t)doc->blocks[i].kind);
		penc_u8(e, (uint8_t)doc->blocks[i].level);
		penc_strn(e, doc->blocks[i].text, doc->blocks[i].len);
	}
}

/*
 * What the child read sent on fd: the doc (rc 0) or why it read none;
 * then _exit.
 */
static void __attribute__((noreturn))
child_send(int fd, int rc, const struct fetch_doc *doc, const char *why)
{
	struct penc e;

	penc_init(&e);
	if (rc < 0) {
		if (why == NULL || why[0] == '\0')
			why = "not read";
		penc_u8(&e, '1');
		penc_raw(&e, why, strnlen(why, DOCCHILD_WHY_MAX));
	} else
		doc_encode(doc, &e);
	if (e.err)
		_exit(3);
	_exit(proto_write_all(fd, e.buf, e.len) < 0 ? 2 : 0);
}

/*
 * The child: bytes read by reader under its own bounds and system-call
 * filter (sandbox.h; none to be had: not read, sandbox_enter's reason
 * sent), what it read written to fd, then _exit (no atexit handler, no
 * loop, no storaged, no log: those are the fetcher's). parent: the
 * fetcher's pid.
 */
static void __attribute__((noreturn))
child_main(int fd, pid_t parent, const void *bytes, size_t len,
    const struct docchild_bounds *b, docchild_reader reader, void *arg)
{
	static const int sigs[] = { SIGXCPU, SIGABRT, SIGSEGV, SIGBUS };
	const rlim_t cpu_s = b->cpu_s > 0 ? b->cpu_s : 1;
	const struct rlimit cpu = { cpu_s, cpu_s + 1 };
	const struct rlimit nocore = { 0, 0 };
	struct fetch_doc doc;
	const char *why = NULL;
	sigset_t none;
	size_t i;
	int rc = -1;

	/* Ended with the fetcher; one gone before this line: now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(2);
	if ((fd = child_isolate(fd)) < 0)
		_exit(2);
	/* The fetcher's handlers and blocked signals are not the child's. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setrlimit(RLIMIT_CORE, &nocore) < 0 ||
	    setrlimit(RLIMIT_CPU, &cpu) < 0)
		_exit(2);
	memset(&doc, 0, sizeof(doc));
	if (sandbox_enter(&why) == 0) {
		test_hook(bytes, len);
		rc = reader(bytes, len, arg, &doc, &why);
	}
	child_send(fd, rc, &doc, why);
}

/* ------------------------------------------------------------ the fetcher */

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* dc's child started (dc->pid, dc->fd, non-blocking): 0, or -1. */
static int
spawn(struct docchild *dc, const void *bytes, size_t len,
    const struct docchild_bounds *b, docchild_reader reader, void *arg)
{
	pid_t parent = getpid();
	int fds[2];

	dc->pid = 0;
	dc->fd = -1;
	dc->io.fd = -1;
	dc->late = 0;
	dc->out = NULL;
	dc->outlen = dc->outcap = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("a document's reader: pipe");
		return -1;
	}
	if ((dc->pid = fork()) < 0) {
		log_warn("a document's reader: fork");
		dc->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (dc->pid == 0) {
		close(fds[0]);
		child_main(fds[1], parent, bytes, len, b, reader, arg);
	}
	close(fds[1]);
	dc->fd = fds[0];
	if (fcntl(dc->fd, F_SETFL, O_NONBLOCK) < 0) {
		log_warn("a document's reader's output");
		close(dc->fd);
		dc->fd = -1;
		(void)kill(dc->pid, SIGKILL);
		while (waitpid(dc->pid, NULL, 0) < 0 && errno == EINTR)
			;
		dc->pid = 0;
		return -1;
	}
	return 0;
}

/*
 * What dc's child wrote so far read: 1 once it is all read (its end, a
 * failure, or more than a child sends), 0 while more may come.
 */
static int
drain(struct docchild *dc)
{
	size_t cap;
	ssize_t n;
	char *p;

	for (;;) {
		if (dc->outlen == dc->outcap) {
			if (dc->outcap >= DOCCHILD_OUT_MAX)
				return 1;	/* more than a child sends */
			cap = dc->outcap == 0 ? OUT_FIRST : dc->outcap * 2;
			if (cap > DOCCHILD_OUT_MAX)
				cap = DOCCHILD_OUT_MAX;
			if ((p = realloc(dc->out, cap + 1)) == NULL)
				return 1;
			dc->out = p;
			dc->outcap = cap;
		}
		n = read(dc->fd, dc->out + dc->outlen, dc->outcap - dc->outlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return 1;
		dc->outlen += (size_t)n;
	}
}

/*
 * A string of d's (pdec_str: at most max bytes, no NUL) into *s, made
 * clean UTF-8 as a reader's text is (fetch_utf8_clean: a child a
 * document subverted may send anything) and still within max; "" none
 * (NULL), when none_ok. 0, or -1 (not one: *oom set when memory ran out).
 */
static int
str_take(struct pdec *d, size_t max, int none_ok, char **s, size_t *len,
    int *oom)
{
	const uint8_t *p;
	size_t n, m;

	*s = NULL;
	if ((p = pdec_str(d, max, &n)) == NULL)
		return -1;
	if (n == 0)
		return none_ok ? 0 : -1;
	if ((*s = malloc(3 * n + 1)) == NULL) {
		*oom = 1;
		return -1;
	}
	if ((m = fetch_utf8_clean(*s, (const char *)p, n)) == 0 || m > max) {
		free(*s);
		*s = NULL;
		return -1;
	}
	if (len != NULL)
		*len = m;
	return 0;
}

enum docchild_end
docchild_decode(const char *out, size_t n, struct docchild_result *res)
{
	struct fetch_doc *d = &res->doc;
	struct pdec pd;
	uint32_t flags, nlinks, nblocks, i;
	uint8_t kind, level;
	int oom = 0;
	size_t text = 0;

	if (n >= 1 && out[0] == '1') {
		char clean[3 * DOCCHILD_WHY_MAX + 1];

		/* Clean UTF-8 as a reader's, cut at a character. */
		n = fetch_utf8_clean(clean, out + 1,
		    n - 1 < DOCCHILD_WHY_MAX ? n - 1 : DOCCHILD_WHY_MAX);
		n = proto_utf8_cut(clean, n, DOCCHILD_WHY_MAX);
		memcpy(res->why, clean, n);
		res->why[n] = '\0';
		return n > 0 ? DOCCHILD_UNREAD : DOCCHILD_CRASH;
	}
	if (n < 1 || out[0] != '0')
		return DOCCHILD_CRASH;
	pdec_init(&pd, out + 1, n - 1);
	flags = pdec_u32(&pd);
	if (pd.err || flags > (DOC_NOINDEX | DOC_NOFOLLOW | DOC_TRUNCATED))
		return DOCCHILD_CRASH;
	d->noindex = (flags & DOC_NOINDEX) != 0;
	d->nofollow = (flags & DOC_NOFOLLOW) != 0;
	d->truncated = (flags & DOC_TRUNCATED) != 0;
	if (str_take(&pd, FETCH_TITLE_MAX, 1, &d->title, NULL, &oom) < 0 ||
	    str_take(&pd, FETCH_LANG_MAX, 1, &d->lang, NULL, &oom) < 0 ||
	    str_take(&pd, FETCH_URL_MAX, 1, &d->canonical, NULL, &oom) < 0 ||
	    (nlinks = pdec_u32(&pd), pd.err) || nlinks > FETCH_LINKS_MAX)
		goto bad;
	if (nlinks > 0 && (d->links = calloc(nlinks,
	    sizeof(*d->links))) == NULL) {
		oom = 1;
		goto bad;
	}
	d->nlinks = nlinks;
	for (i = 0; i < nlinks; i++)
		if (str_take(&pd, FETCH_URL_MAX, 0, &d->links[i], NULL,
		    &oom) < 0)
			goto bad;
	nblocks = pdec_u32(&pd);
	if (pd.err || nblocks > FETCH_BLOCKS_MAX)
		goto bad;
	if (nblocks > 0 && (d->blocks = calloc(nblocks,
	    sizeof(*d->blocks))) == NULL) {
		oom = 1;
		goto bad;
	}
	d->nblocks = nblocks;
	for (i = 0; i < nblocks; i++) {
		kind = pdec_u8(&pd);
		level = pdec_u8(&pd);
		if (pd.err || kind > FETCH_CODE || level > 6 ||
		    str_take(&pd, FETCH_TEXT_MAX - text, 0, &d->blocks[i].text,
		    &d->blocks[i].len, &oom) < 0)
			goto bad;
		d->blocks[i].kind = (enum fetch_kind)kind;
		d->blocks[i].level = level;
		text += d->blocks[i].len;
	}
	d->text_bytes = text;
	if (pdec_done(&pd) < 0)
		goto bad;
	return DOCCHILD_READ;
bad:
	fetch_doc_free(d);
	return oom ? DOCCHILD_FAILED : DOCCHILD_CRASH;
}

/*
 * dc's child killed (were it still reading), reaped, and what it sent
 * made res: its end. dc holds no child after.
 */
static enum docchild_end
finish(struct docchild *dc, const struct docchild_bounds *b,
    struct docchild_result *res)
{
	struct rusage ru;
	int status = 0;
	uint64_t cpu_ms;

	memset(res, 0, sizeof(*res));
	loop_io_del(&dc->io);
	loop_timer_stop(&dc->wall);
	close(dc->fd);
	dc->fd = -1;
	(void)kill(dc->pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	while (wait4(dc->pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	dc->pid = 0;
	cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	if (dc->late)
		res->end = DOCCHILD_LATE;
	else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
	    (WTERMSIG(status) == SIGKILL &&
	    cpu_ms + 100 >= (uint64_t)b->cpu_s * 1000)))
		res->end = DOCCHILD_CPU;	/* SIGKILL: the hard limit */
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		res->end = DOCCHILD_CRASH;
	else
		res->end = docchild_decode(dc->out, dc->outlen, res);
	free(dc->out);
	dc->out = NULL;
	dc->outlen = dc->outcap = 0;
	return res->end;
}

enum docchild_end
docchild_read(const void *bytes, size_t len, const struct docchild_bounds *b,
    docchild_reader reader, void *arg, struct docchild_result *res)
{
	struct docchild dc;
	struct pollfd pfd;
	uint64_t end = now_ms() + b->wall_ms, t;

	memset(&dc, 0, sizeof(dc));
	loop_timer_init(&dc.wall, NULL, NULL);
	if (spawn(&dc, bytes, len, b, reader, arg) < 0) {
		memset(res, 0, sizeof(*res));
		return res->end = DOCCHILD_FAILED;
	}
	while (!drain(&dc)) {
		if ((t = now_ms()) >= end) {
			dc.late = 1;
			break;
		}
		pfd.fd = dc.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - t)) < 0 && errno != EINTR) {
			log_warn("a document's reader: poll");
			break;
		}
	}
	return finish(&dc, b, res);
}

/* ------------------------------------------------------------ on the loop */

/* dc's child ended, or its output is all read: done told. */
static void
loop_end(struct docchild *dc)
{
	struct docchild_result res;

	(void)finish(dc, &dc->b, &res);
	dc->done(&res, dc->arg);
}

static void
loop_readable(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	if (drain(arg))
		loop_end(arg);
}

/* Its wall-clock bound passed: the child killed. */
static void
loop_late(void *arg)
{
	struct docchild *dc = arg;

	dc->late = 1;
	loop_end(dc);
}

int
docchild_start(struct docchild *dc, const void *bytes, size_t len,
    const struct docchild_bounds *b, docchild_reader reader, void *arg,
    void (*done)(struct docchild_result *, void *), void *done_arg)
{
	struct docchild_result res;

	loop_timer_init(&dc->wall, loop_late, dc);
	dc->b = *b;
	dc->done = done;
	dc->arg = done_arg;
	if (spawn(dc, bytes, len, b, reader, arg) < 0)
		return -1;
	if (loop_io_add(&dc->io, dc->fd, EPOLLIN, loop_readable, dc) < 0) {
		log_warn("a document's reader's output");
		dc->io.fd = -1;
		(void)finish(dc, b, &res);
		fetch_doc_free(&res.doc);
		return -1;
	}
	loop_timer_after(&dc->wall, b->wall_ms);
	return 0;
}

void
docchild_stop(struct docchild *dc)
{
	struct docchild_result res;

	if (dc->pid <= 0)
		return;
	(void)finish(dc, &dc->b, &res);
	fetch_doc_free(&res.doc);
}
