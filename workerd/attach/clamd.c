/*
 * The ClamAV daemon's client (clamd.h): one non-blocking connection per
 * scan on the worker's loop. What the caller feeds is copied into the
 * scan's output buffer as INSTREAM chunks and written as the socket takes
 * it; clamd's reply is read whenever it comes, even mid-stream (clamd
 * answers "INSTREAM size limit exceeded. ERROR" and closes as soon as the
 * stream passes its StreamMaxLength). A verdict closes the connection at
 * once and reaches the caller from a deferred call, which then frees the
 * scan; the loop_io stays valid until that round ends (loop.h). Nothing
 * of the file is ever logged or put in a verdict. A scan past the
 * worker's CLAMD_SCANS_MAX connections waits in `waiting', its timer
 * bounding the wait; a connection closed lets the first waiting in.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clamd.h"
#include "log.h"
#include "loop.h"
#include "resp.h"
#include "util.h"

/* The command, sent with its NUL (the z form: replies end in NUL too). */
static const char instream[] = "zINSTREAM";
/* The largest chunk written: a bigger piece is split. */
#define CHUNK_MAX	(1024 * 1024)
/* Bytes of a reply quoted in a verdict's why. */
#define QUOTE_MAX	120

struct clamd_scan {
	TAILQ_ENTRY(clamd_scan) entry;	/* in waiting, while queued */
	struct clamd_addr a;		/* where to connect once let in */
	int queued;			/* waits for a connection */
	int slot;			/* holds one of CLAMD_SCANS_MAX */
	struct loop_io io;
	struct loop_timer timer;	/* clamd making no progress */
	struct loop_defer defer;	/* done, then the free */
	char addr[CLAMD_ADDR_TEXT_MAX];
	int fd;
	int connecting;
	int finished;		/* the chunk of length 0 is queued */
	int over;		/* verdict known, connection closed */
	int dropped;		/* cancelled: freed without done */
	int in_done;
	uint32_t timeout_ms;
	struct buf out;		/* command and chunks not yet written */
	char reply[CLAMD_REPLY_MAX];
	size_t rlen;
	struct clamd_verdict v;
	void (*done)(void *, const struct clamd_verdict *);
	void *arg;
};

/* The scans waiting for a connection, first started first; how many. */
static TAILQ_HEAD(, clamd_scan) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static size_t nwaiting;
static size_t nslots;		/* connections held (or being made) */

/* ------------------------------------------------------------ the reply */

/* Printable ASCII of p[0..len) into out (outsz > 0), others '?', cut. */
static void
sanitize(char *out, size_t outsz, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outsz; i++)
		out[i] = p[i] >= 0x20 && p[i] <= 0x7e ? p[i] : '?';
	out[i] = '\0';
}

static int
is(const char *r, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(r, lit, len) == 0;
}

static int
ends(const char *r, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && memcmp(r + len - n, lit, n) == 0;
}

/* An unavailable verdict: what (static) and the reply quoted. */
static void
reply_bad(struct clamd_verdict *v, const char *what, const char *r,
    size_t len)
{
	char q[QUOTE_MAX + 1];

	sanitize(q, sizeof(q), r, len);
	v->result = CLAMD_UNAVAILABLE;
	snprintf(v->why, sizeof(v->why), "%s: \"%s%s\"", what, q,
	    len > QUOTE_MAX ? "..." : "");
}

void
clamd_reply_parse(const void *p, size_t len, struct clamd_verdict *v)
{
	static const char pre[] = "stream: ", found[] = " FOUND";
	const char *r = p;

	memset(v, 0, sizeof(*v));
	while (len > 0 && (r[len - 1] == '\0' || r[len - 1] == '\n' ||
	    r[len - 1] == '\r'))
		len--;
	if (len == 0) {
		strlcpy(v->why, "an empty reply", sizeof(v->why));
		return;
	}
	if (memchr(r, '\0', len) != NULL)
		reply_bad(v, "a NUL inside the reply", r, len);
	else if (is(r, len, "stream: OK"))
		v->result = CLAMD_CLEAN;
	else if (is(r, len, "INSTREAM size limit exceeded. ERROR")) {
		v->result = CLAMD_TOO_LARGE;
		strlcpy(v->why, "the file is over clamd's StreamMaxLength",
		    sizeof(v->why));
	} else if (len > sizeof(pre) - 1 + sizeof(found) - 1 &&
	    memcmp(r, pre, sizeof(pre) - 1) == 0 && ends(r, len, found)) {
		v->result = CLAMD_INFECTED;
		sanitize(v->name, sizeof(v->name), r + sizeof(pre) - 1,
		    len - (sizeof(pre) - 1) - (sizeof(found) - 1));
	} else if (ends(r, len, " ERROR"))
		reply_bad(v, "clamd's error", r, len);
	else
		reply_bad(v, "a malformed reply", r, len);
}

/* -------------------------------------------------------------- a scan */

/* Done, from the loop (never inside the caller's call), then the free. */
static void
scan_deliver(void *arg)
{
	struct clamd_scan *s = arg;

	if (!s->dropped) {
		s->in_done = 1;
		s->done(s->arg, &s->v);
	}
	free(s);
}

static void let_in(void);

/*
 * The connection closed (or the wait left), what was queued dropped, the
 * free deferred; a connection given up lets the next waiting scan in.
 */
static void
scan_close(struct clamd_scan *s)
{
	loop_io_del(&s->io);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	loop_timer_stop(&s->timer);
	buf_free(&s->out);
	s->over = 1;
	loop_defer(&s->defer);
	if (s->queued) {
		TAILQ_REMOVE(&waiting, s, entry);
		nwaiting--;
		s->queued = 0;
	}
	if (s->slot) {
		s->slot = 0;
		nslots--;
		let_in();
	}
}

/* The verdict's why: the address, then what (cut to fit). */
static void
scan_why(struct clamd_scan *s, const char *what)
{
	strlcpy(s->v.why, s->addr, sizeof(s->v.why));
	strlcat(s->v.why, ": ", sizeof(s->v.why));
	strlcat(s->v.why, what, sizeof(s->v.why));
}

/*
 * The scan ends with verdict result (CLAMD_UNAVAILABLE, or CLAMD_BUSY: the
 * file never sent) and why, printf-style, after the address.
 */
static void __attribute__((format(printf, 3, 4)))
scan_end(struct clamd_scan *s, enum clamd_result result, const char *fmt,
    ...)
{
	char why[CLAMD_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	memset(&s->v, 0, sizeof(s->v));
	s->v.result = result;
	scan_why(s, why);
	log_debug("clamd %s", s->v.why);
	scan_close(s);
}

/* Unavailable: why, printf-style, after the address. */
#define scan_fail(s, ...)	scan_end((s), CLAMD_UNAVAILABLE, __VA_ARGS__)

/* The reply read (up to its NUL, or all there was): the verdict. */
static void
scan_reply(struct clamd_scan *s)
{
	struct clamd_verdict v;
	int sent_all = s->finished && buf_pending(&s->out) == 0;

	clamd_reply_parse(s->reply, s->rlen, &v);
	if (v.result == CLAMD_CLEAN && !sent_all) {
		scan_fail(s, "it said OK before the end of the stream");
		return;
	}
	s->v = v;
	if (v.why[0] != '\0')
		scan_why(s, v.why);
	scan_close(s);
}

/* 1 while the scan waits on clamd (not on the caller's next feed). */
static int
scan_waiting(const struct clamd_scan *s)
{
	return s->connecting || s->finished || buf_pending(&s->out) > 0;
}

/*
 * The interest and the timer: output watched while there is some, the
 * timer restarted on progress, started when a wait begins, stopped when
 * the scan waits on its caller.
 */
static void
scan_watch(struct clamd_scan *s, int progress)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (s->over)
		return;
	if (s->connecting || buf_pending(&s->out) > 0)
		ev |= EPOLLOUT;
	if (loop_io_mod(&s->io, ev) < 0) {
		scan_fail(s, "epoll: %s", strerror(errno));
		return;
	}
	if (!scan_waiting(s))
		loop_timer_stop(&s->timer);
	else if (progress || !loop_timer_armed(&s->timer))
		loop_timer_after(&s->timer, s->timeout_ms);
}

/* Reads what clamd sent; a reply (its NUL, or the end) gives the verdict. */
static void
scan_read(struct clamd_scan *s)
{
	const char *nul;
	ssize_t n;

	for (;;) {
		n = recv(s->fd, s->reply + s->rlen, sizeof(s->reply) - s->rlen,
		    0);
		if (n > 0) {
			/* What may follow the NUL is not read. */
			if ((nul = memchr(s->reply + s->rlen, '\0',
			    (size_t)n)) != NULL) {
				s->rlen = (size_t)(nul - s->reply) + 1;
				scan_reply(s);
				return;
			}
			s->rlen += (size_t)n;
			if (s->rlen == sizeof(s->reply)) {
				scan_fail(s, "a reply longer than %d bytes",
				    CLAMD_REPLY_MAX);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (s->rlen > 0)
			scan_reply(s);
		else if (n == 0)
			scan_fail(s, "it closed the connection without a "
			    "reply");
		else
			scan_fail(s, "read: %s", strerror(errno));
		return;
	}
}

/* Writes what is queued; 1 when any byte went. */
static int
scan_write(struct clamd_scan *s)
{
	ssize_t n;
	int progress = 0;

	while (buf_pending(&s->out) > 0) {
		n = send(s->fd, s->out.data + s->out.off, buf_pending(&s->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf_consume(&s->out, (size_t)n);
			progress = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* It stopped reading: its reply may be waiting. */
			scan_read(s);
			if (!s->over)
				scan_fail(s, "it closed the connection "
				    "without a reply");
			return progress;
		}
		scan_fail(s, "write: %s", strerror(errno));
		return progress;
	}
	buf_release(&s->out);
	return progress;
}

/* The connect's outcome, once the socket is writable or in error. */
static int
scan_connected(struct clamd_scan *s)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err != 0) {
		scan_fail(s, "connect: %s", strerror(err));
		return -1;
	}
	s->connecting = 0;
	return 0;
}

static void
scan_io(int fd, uint32_t events, void *arg)
{
	struct clamd_scan *s = arg;
	int progress = 0;

	if (s->connecting) {
		if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
			return;
		if (scan_connected(s) < 0)
			return;
		progress = 1;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		scan_read(s);
		if (s->over)
			return;
	}
	if (events & EPOLLOUT) {
		progress |= scan_write(s);
		if (s->over)
			return;
	}
	scan_watch(s, progress);
}

static void
scan_timeout(void *arg)
{
	struct clamd_scan *s = arg;

	if (s->queued)
		scan_end(s, CLAMD_BUSY, "no connection free in %u ms (%d "
		    "scans at once in a worker)", s->timeout_ms,
		    CLAMD_SCANS_MAX);
	else if (s->connecting)
		scan_fail(s, "connect: no answer in %u ms", s->timeout_ms);
	else if (buf_pending(&s->out) > 0)
		scan_fail(s, "it took no bytes in %u ms", s->timeout_ms);
	else
		scan_fail(s, "no reply in %u ms", s->timeout_ms);
}

/* The socket, connecting; a failure is the verdict (deferred). */
static void
scan_connect(struct clamd_scan *s, const struct clamd_addr *a)
{
	int family = a->ss.ss_family;

	if ((s->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		scan_fail(s, "socket: %s", strerror(errno));
		return;
	}
	if (connect(s->fd, (const struct sockaddr *)&a->ss, a->sslen) < 0) {
		/* A Unix socket's EAGAIN is a full listen queue, not a wait. */
		if (errno != EINPROGRESS || family == AF_UNIX) {
			scan_fail(s, "connect: %s", errno == EAGAIN ?
			    "its listen queue is full" : strerror(errno));
			return;
		}
		s->connecting = 1;
	}
	if (loop_io_add(&s->io, s->fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT,
	    scan_io, s) < 0) {
		scan_fail(s, "epoll: %s", strerror(errno));
		return;
	}
	loop_timer_after(&s->timer, s->timeout_ms);
}

/* s takes a connection: connects (a failure its verdict, deferred). */
static void
scan_begin(struct clamd_scan *s)
{
	s->slot = 1;
	nslots++;
	scan_connect(s, &s->a);
}

/*
 * The first waiting scans connect while there is room; what they were
 * fed meanwhile is written once connected (EPOLLOUT watched from the
 * start).
 */
static void
let_in(void)
{
	struct clamd_scan *s;

	while (nslots < CLAMD_SCANS_MAX &&
	    (s = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, s, entry);
		nwaiting--;
		s->queued = 0;
		loop_timer_stop(&s->timer);
		scan_begin(s);
	}
}

/*
 * A new scan connects, or waits its turn (its timer running), or, with
 * CLAMD_WAITING_MAX waiting already, is busy at once (deferred).
 */
static void
scan_admit(struct clamd_scan *s)
{
	if (nslots < CLAMD_SCANS_MAX && nwaiting == 0) {
		scan_begin(s);
		return;
	}
	if (nwaiting >= CLAMD_WAITING_MAX) {
		scan_end(s, CLAMD_BUSY, "%d scans at once in a worker and "
		    "%d waiting", CLAMD_SCANS_MAX, CLAMD_WAITING_MAX);
		return;
	}
	TAILQ_INSERT_TAIL(&waiting, s, entry);
	nwaiting++;
	s->queued = 1;
	loop_timer_after(&s->timer, s->timeout_ms);
}

/* What was fed or finished goes out, when s has a connection. */
static void
scan_push(struct clamd_scan *s)
{
	if (s->queued)
		return;
	if (!s->connecting)
		scan_watch(s, scan_write(s));
	else
		scan_watch(s, 0);
}

struct clamd_scan *
clamd_scan_start(const struct clamd_addr *a, uint32_t timeout_ms,
    void (*done)(void *, const struct clamd_verdict *), void *arg)
{
	struct clamd_scan *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->io.fd = -1;
	s->fd = -1;
	loop_timer_init(&s->timer, scan_timeout, s);
	loop_defer_init(&s->defer, scan_deliver, s);
	strlcpy(s->addr, a->text, sizeof(s->addr));
	s->a = *a;
	s->timeout_ms = timeout_ms;
	s->done = done;
	s->arg = arg;
	buf_init(&s->out);
	buf_add(&s->out, instream, sizeof(instream));
	if (s->out.err) {
		free(s);
		return NULL;
	}
	scan_admit(s);
	return s;
}

int
clamd_scan_feed(struct clamd_scan *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t head[4];
	size_t n;

	if (s->over || s->finished)
		return -1;
	while (len > 0) {
		n = len < CHUNK_MAX ? len : CHUNK_MAX;
		proto_put_be32(head, (uint32_t)n);
		buf_add(&s->out, head, sizeof(head));
		buf_add(&s->out, p, n);
		p += n;
		len -= n;
	}
	if (s->out.err) {
		scan_fail(s, "out of memory for the stream");
		return -1;
	}
	scan_push(s);
	return s->over ? -1 : 0;
}

size_t
clamd_scan_queued(const struct clamd_scan *s)
{
	return s->over ? 0 : buf_pending(&s->out);
}

void
clamd_scan_finish(struct clamd_scan *s)
{
	static const uint8_t end[4];

	if (s->over || s->finished)
		return;
	buf_add(&s->out, end, sizeof(end));
	if (s->out.err) {
		scan_fail(s, "out of memory for the stream");
		return;
	}
	s->finished = 1;
	scan_push(s);
}

void
clamd_scan_cancel(struct clamd_scan *s)
{
	if (s == NULL || s->in_done)
		return;
	s->dropped = 1;
	if (!s->over)
		scan_close(s);
}
