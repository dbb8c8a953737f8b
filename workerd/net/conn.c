/*
 * Client connections.
 *
 * Bytes are read into one shared buffer and fed to the parser straight
 * away; only what follows a complete request (pipelining) is copied to the
 * connection, and fed again once that request has been answered, so
 * responses go out in request order and an idle connection holds no input
 * buffer. Output is appended to the connection's buffer and written at the
 * end of each round; EPOLLOUT is asked for only while some is left. A
 * connection holding more than CONN_OUT_HIGH of it is neither read nor
 * fed its next pipelined request until the client takes it.
 *
 * Each connection has one timer, armed lazily: the deadline is worked out
 * from the state when it fires, and the timer is moved only when the
 * deadline comes closer, so keep-alive traffic rarely touches the heap.
 *
 * A closed connection is unlinked at once but freed from a deferred call,
 * so callers up the stack and events already fetched never see freed
 * memory; they check c->state == CONN_DEAD. A handler may take the socket
 * away (conn_release, for a WebSocket): the connection then ends the same
 * way, without closing the fd.
 *
 * The transport calls nothing above it: routing, metrics, the worker's
 * quit and its connection count are reached through conn_hooks, set once
 * at start. conn_close() is the one teardown and says why it closed.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "workerd.h"
#include "ws.h"

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned int nconns;
/* conn_max_set's: connections and WebSockets this worker holds; 0 any. */
static unsigned int conns_max;
/*
 * The memory of outputs sent whole, kept for the next answers and stream
 * writes: a connection gives its output back once sent (conn_flush: an
 * idle one keeps nothing), and each answer, each token of a stream,
 * allocated it again and grew it from 256 bytes (the head alone is more).
 * CONN_SPARES of them for the worker (a stream's start is held a moment:
 * conn_stream_hold), each of CONN_SPARE_MAX bytes at most.
 */
#define CONN_SPARES	8
#define CONN_SPARE_MAX	4096
static struct buf spares[CONN_SPARES];
static size_t nspares;
static char rbuf[64 * 1024];
/* Reads of what a client that left had sent, at most (its queue's size). */
#define CONN_LEFT_READS	16
static int access_on;

static void no_dispatch(struct conn *, struct http_request *);
static void no_answered(int, int);
static int no_quitting(void);
static void no_changed(unsigned int);
static void no_cancel(struct storec_req *);

/* Until conn_hooks_set(): every member callable, doing nothing. */
static struct conn_hooks hooks = {
	.dispatch = no_dispatch,
	.answered = no_answered,
	.quitting = no_quitting,
	.conns_changed = no_changed,
	.sreq_cancel = no_cancel,
};

static void conn_io(int, uint32_t, void *);
static void conn_timeout(void *);
static void conn_reap(void *);
static void conn_resume(struct conn *);
static void conn_settle(struct conn *);
static void conn_flushd(void *);
static void conn_draind(void *);
static void conn_readd(void *);
static void conn_access(struct conn *);
static int conn_admit(void *, const struct http_request *, size_t, int,
    size_t *);
static void conn_body_done(struct conn *);
static void conn_input_refused(struct conn *, int, const char *,
    const char *);

/* ------------------------------------------------------------ hooks */

static void
no_dispatch(struct conn *c, struct http_request *req)
{
	conn_send_error(c, 503, NULL, "Service unavailable");
}

static void
no_answered(int route_ix, int status)
{
}

static int
no_quitting(void)
{
	return 0;
}

static void
no_changed(unsigned int n)
{
}

static void
no_cancel(struct storec_req *r)
{
}

static size_t
no_body_max(const struct http_request *req)
{
	return HTTP_MAX_BODY;
}

static int
no_head_refused(const struct http_request *req, int status, char *hdrs,
    size_t hdrsz)
{
	return status;
}

void
conn_hooks_set(const struct conn_hooks *h)
{
	hooks.dispatch = h->dispatch != NULL ? h->dispatch : no_dispatch;
	hooks.answered = h->answered != NULL ? h->answered : no_answered;
	hooks.quitting = h->quitting != NULL ? h->quitting : no_quitting;
	hooks.conns_changed = h->conns_changed != NULL ? h->conns_changed :
	    no_changed;
	hooks.sreq_cancel = h->sreq_cancel != NULL ? h->sreq_cancel :
	    no_cancel;
	hooks.body_max = h->body_max != NULL ? h->body_max : no_body_max;
	hooks.head_refused = h->head_refused != NULL ? h->head_refused :
	    no_head_refused;
}

const struct conn_hooks *
conn_hooks(void)
{
	return &hooks;
}

/* ------------------------------------------------------------ bodies */

/*
 * At a request's head (http.c's admit): its route's body limit, and its
 * body charged to its client and to this worker until it is read whole
 * or the connection ends (clientcap_body_take): 413, 429 or 503 refuse
 * it before a byte of it is buffered.
 */
static int
conn_admit(void *arg, const struct http_request *req, size_t clen,
    int chunked, size_t *max)
{
	struct conn *c = arg;
	int st;

	conn_body_done(c);
	/* No body: nothing to limit or charge (and no route looked up twice). */
	if (clen == 0 && !chunked)
		return 0;
	*max = hooks.body_max(req);
	if (clen > *max)
		return 413;
	if ((st = clientcap_body_take(c, req, chunked ? *max : clen,
	    &c->body)) != 0)
		log_debug("connection %d: body of %zu bytes refused (%d): %s "
		    "budget spent", c->fd, chunked ? *max : clen, st,
		    st == 429 ? "the client's" : "this worker's");
	return st;
}

/* The body is read (or will never be): its charge goes back. */
static void
conn_body_done(struct conn *c)
{
	clientcap_body_put(&c->body);
}

/* ------------------------------------------------------------ life */

unsigned int
conn_count(void)
{
	return nconns;
}

/* Streamed answers in progress (metrics: walked once a second). */
unsigned int
conn_streams(void)
{
	struct conn *c;
	unsigned int n = 0;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->state == CONN_BUSY && c->stream != STREAM_NONE)
			n++;
	return n;
}

/*
 * A connection over its client's cap (clientcap.c: 429) or this worker's
 * (conn_max_set: 503): answered with a minimal JSON error written
 * straight to the socket (plain HTTP only, best effort: an HTTPS client
 * just sees the close) and closed without reading a request. What the
 * client sent already is drained first, so the close is not a reset that
 * could overtake the answer.
 */
static void
conn_refuse(int fd, int status)
{
#define CONN_REFUSED(line) line "\r\n"				\
	    "Content-Type: application/json; charset=utf-8\r\n"		\
	    "Content-Length: 32\r\n"					\
	    "Cache-Control: no-store\r\n"					\
	    "Connection: close\r\n\r\n"					\
	    "{\"error\":\"Too many connections\"}"
	static const char client[] =
	    CONN_REFUSED("HTTP/1.1 429 Too Many Requests");
	static const char worker[] =
	    CONN_REFUSED("HTTP/1.1 503 Service Unavailable");
#undef CONN_REFUSED
	const char *a = status == 503 ? worker : client;
	size_t len = status == 503 ? sizeof(worker) - 1 : sizeof(client) - 1;

	if (wsettings.tls_cert == NULL) {
		(void)recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		(void)send(fd, a, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	close(fd);
	hooks.answered(-1, status);
}

unsigned int
conn_max_for(uint64_t nofile)
{
	uint64_t keep = nofile / CONN_FDS_KEPT_PART + CONN_FDS_KEPT;

	if (nofile <= keep)
		return 1;
	return nofile - keep > UINT_MAX ? UINT_MAX :
	    (unsigned int)(nofile - keep);
}

void
conn_max_set(unsigned int max)
{
	conns_max = max;
}

/* Whether this worker holds all the connections it may (conn_max_set). */
static int
conn_full(void)
{
	return conns_max != 0 && nconns + ws_count() >= conns_max;
}

struct conn *
conn_new(int fd, const struct ipaddr *given)
{
	struct clientcap *cap;
	struct ipaddr peer;
	struct conn *c;

	if (conn_full()) {
		log_debug("connection %d: refused, this worker holds %u "
		    "connections (its descriptors' share)", fd, conns_max);
		conn_refuse(fd, 503);
		return NULL;
	}
	if (given != NULL)
		peer = *given;
	else
		clientip_peer(fd, &peer);
	if (clientcap_conn_take(&peer, &cap) != 0) {
		if (log_wants(LOG_LEVEL_DEBUG)) {
			char addr[64];

			ipaddr_format(&peer, addr, sizeof(addr));
			log_debug("connection %d: refused, client %s holds "
			    "PARLEY_MAX_CONNS_PER_CLIENT", fd, addr);
		}
		conn_refuse(fd, 429);
		return NULL;
	}
	if ((c = proto_zalloc(sizeof(*c))) == NULL) {
		log_warn("connection");
		clientcap_put(cap);
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->cap = cap;
	c->peer = peer;
	if (tlsio_start(&c->tls, fd) < 0) {
		clientcap_put(cap);
		close(fd);
		free(c);
		return NULL;
	}
	c->state = CONN_READ;
	c->route_ix = -1;
	http_in_init(&c->in);
	c->in.admit = conn_admit;
	c->in.admit_arg = c;
	buf_init(&c->out);
	loop_timer_init(&c->timer, conn_timeout, c);
	loop_defer_init(&c->reap, conn_reap, c);
	loop_defer_init(&c->flushd, conn_flushd, c);
	loop_defer_init(&c->draind, conn_draind, c);
	loop_defer_init(&c->readd, conn_readd, c);
	c->idle_since = c->opened = loop_now();
	/* conn_update's set for CONN_READ: the first read changes none. */
	if (loop_io_add(&c->io, fd, EPOLLIN | EPOLLRDHUP, conn_io, c) < 0) {
		log_warn("connection: epoll_ctl");
		clientcap_put(cap);
		http_in_free(&c->in);
		tlsio_free(&c->tls);
		close(fd);
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	/* Until its first request, a TLS handshake included: conn_deadline. */
	loop_timer_at(&c->timer, c->idle_since + wconf.header_timeout_ms);
	hooks.conns_changed(nconns);
	return c;
}

static void
conn_reap(void *arg)
{
	struct conn *c = arg;

	http_in_free(&c->in);
	if (c->req != NULL)
		http_request_free(c->req);
	buf_free(&c->out);
	free(c->pend);
	/* Still here if the fd was not handed over: close_notify went out. */
	if (c->tls.ssl != NULL)
		SSL_free(c->tls.ssl);
	free(c);
}

/* Out of the loop and the list; freed after this round. The fd stays. */
static void
conn_unlink(struct conn *c)
{
	loop_io_del(&c->io);
	c->fd = -1;
	loop_timer_stop(&c->timer);
	loop_defer_cancel(&c->flushd);
	loop_defer_cancel(&c->draind);
	loop_defer_cancel(&c->readd);
	c->drained = NULL;
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	/* A WebSocket taking the socket counts in its own cap instead. */
	clientcap_put(c->cap);
	c->cap = NULL;
	conn_body_done(c);
	loop_defer(&c->reap);
}

void
conn_close(struct conn *c, const char *why)
{
	char addr[64];
	int fd = c->fd;

	if (c->state == CONN_DEAD)
		return;
	/* Every close passes here: format the address only when logged. */
	if (log_wants(LOG_LEVEL_DEBUG)) {
		ipaddr_format(&c->peer, addr, sizeof(addr));
		log_debug("connection %d: closed (%s), client %s, age %llu ms",
		    fd, why, addr, (unsigned long long)(loop_now() - c->opened));
	}
	/*
	 * A request whose answer never ended (its client left, its output
	 * stalled): its line all the same, with the status sent, or 499
	 * (nginx's "client closed request") when none was.
	 */
	if (c->state == CONN_BUSY && c->req != NULL) {
		if (c->acc_status == 0)
			c->acc_status = 499;
		conn_access(c);
	}
	c->state = CONN_DEAD;
	/* Whatever answers this connection later must forget it now. */
	if (c->sreq != NULL)
		hooks.sreq_cancel(c->sreq);
	c->sreq = NULL;
	if (c->abort != NULL)
		c->abort(c);
	c->abort = NULL;
	tlsio_shutdown(&c->tls);
	conn_unlink(c);
	close(fd);
	hooks.conns_changed(nconns);
}

int
conn_release(struct conn *c, int *fd, struct tlsio *tls, struct buf *out,
    char **in, size_t *inlen)
{
	const char *rest;
	size_t len;

	if (c->state != CONN_BUSY || c->stream != STREAM_NONE)
		return -1;
	/*
	 * Inside the handler the rest of this read is still the caller's
	 * (conn_input); an answer that came later finds it held in pend.
	 */
	rest = NULL;
	len = 0;
	if (c->feeding) {
		rest = c->rest;
		len = c->rest_len;
	} else if (c->pend != NULL) {
		rest = c->pend + c->pend_off;
		len = c->pend_len - c->pend_off;
	}
	*in = NULL;
	*inlen = 0;
	if (len > 0) {
		if ((*in = malloc(len)) == NULL) {
			log_warn("connection %d", c->fd);
			return -1;
		}
		memcpy(*in, rest, len);
		*inlen = len;
	}
	*fd = c->fd;
	/* TLS state goes with the fd (bytes inside it included). */
	*tls = c->tls;
	c->tls.ssl = NULL;
	*out = c->out;
	buf_init(&c->out);
	/* Switching protocols ends this request (ws.c set its 101). */
	conn_access(c);
	/* The handler itself lets go: it has nothing to abort. */
	c->state = CONN_DEAD;
	if (c->sreq != NULL)
		hooks.sreq_cancel(c->sreq);
	c->sreq = NULL;
	c->abort = NULL;
	conn_unlink(c);
	return 0;
}

static int
conn_idle(const struct conn *c)
{
	return c->state == CONN_READ && !http_in_busy(&c->in) &&
	    c->pend_off == c->pend_len && buf_pending(&c->out) == 0;
}

void
conn_close_idle(void)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (conn_idle(c))
			conn_close(c, "idle at quit");
	}
}

/* ------------------------------------------------------------ timing */

/*
 * When c's time is up: output stalled, a held stream's end, or as it
 * reads: the handshake and a request's head PARLEY_HEADER_TIMEOUT_MS
 * from their start, a body as long again between two reads (nginx's
 * client_body_timeout: a slow but steady upload goes on), a connection
 * that never began a request as long, and one between requests
 * PARLEY_IDLE_TIMEOUT_MS.
 */
static uint64_t
conn_deadline(const struct conn *c)
{
	uint64_t d = UINT64_MAX, t;

	/* Output that makes no progress for this long is given up. */
	if (buf_pending(&c->out) > 0 && c->write_since != 0)
		d = c->write_since + wconf.header_timeout_ms;
	if (c->hold_until != 0 && c->hold_until < d)
		d = c->hold_until;
	switch (c->state) {
	case CONN_READ:
		if (tlsio_handshaking(&c->tls))
			t = c->idle_since + wconf.header_timeout_ms;
		else if (http_in_body(&c->in))
			t = c->fed_at + wconf.header_timeout_ms;
		else if (http_in_busy(&c->in))
			t = c->req_start + wconf.header_timeout_ms;
		else if (conn_idle(c))
			t = c->idle_since + (c->served ?
			    wconf.idle_timeout_ms : wconf.header_timeout_ms);
		else
			break;
		if (t < d)
			d = t;
		break;
	case CONN_LINGER:
		if (c->linger_until < d)
			d = c->linger_until;
		break;
	default:
		/* A handler at work: it bounds its own time (storaged: 5 s). */
		break;
	}
	return d;
}

/*
 * A hold ended by more output (or the answer's end): its timer, when
 * still set for it, is stopped (conn_update sets the next deadline).
 */
static void
hold_end(struct conn *c)
{
	if (c->hold_until != 0 && loop_timer_armed(&c->timer) &&
	    c->timer.hn.at == c->hold_until)
		loop_timer_stop(&c->timer);
	c->hold_until = 0;
}

static void
conn_timeout(void *arg)
{
	struct conn *c = arg;
	struct resp_opts o;
	uint64_t d = conn_deadline(c);
	const char *why;
	ssize_t n;

	if (d == UINT64_MAX)
		return;
	if (loop_now() < d) {
		loop_timer_at(&c->timer, d);
		return;
	}
	if (c->hold_until != 0 && d == c->hold_until) {
		/* The held output's time is up: it leaves alone. */
		c->hold_until = 0;
		conn_settle(c);
		return;
	}
	if (c->state == CONN_READ && http_in_body(&c->in) &&
	    buf_pending(&c->out) == 0) {
		/* Its client still reads: the 408 goes out, then the linger. */
		conn_body_done(c);
		conn_input_refused(c, 408, "Request timeout", NULL);
		conn_settle(c);
		return;
	}
	if (c->state == CONN_READ && http_in_busy(&c->in) &&
	    buf_pending(&c->out) == 0) {
		/* Tell a slow client why, if its socket takes it right now. */
		memset(&o, 0, sizeof(o));
		resp_error(&c->out, 408, &o, "Request timeout");
		n = tlsio_write(c->fd, &c->tls, c->out.data + c->out.off,
		    buf_pending(&c->out));
		(void)n;
		why = "request timeout";
	} else if (c->state == CONN_READ && tlsio_handshaking(&c->tls))
		why = "TLS handshake timeout";
	else if (c->state == CONN_READ && conn_idle(c))
		why = c->served ? "idle timeout" : "no request";
	else if (c->state == CONN_LINGER)
		why = "linger over";
	else
		why = "output stalled";
	conn_close(c, why);
}

/* Interest set and deadline for the state we are in. */
static void
conn_update(struct conn *c)
{
	size_t out = buf_pending(&c->out);
	uint32_t ev = 0;
	uint64_t d;

	switch (c->state) {
	case CONN_READ:
		c->busy_input = 0;
		/* EPOLLRDHUP too: the same set as a busy stream's (below). */
		if (!c->eof && c->pend_off == c->pend_len &&
		    out <= CONN_OUT_HIGH)
			ev |= EPOLLIN | EPOLLRDHUP;
		/*
		 * Requests held back while the output was over CONN_OUT_HIGH,
		 * which a flush has just brought under it: no event would
		 * come for them (none is asked while they wait, and nothing is
		 * left to write), so they are fed from a deferred call.
		 */
		if (c->pend_off < c->pend_len && out <= CONN_OUT_HIGH)
			loop_defer(&c->readd);
		break;
	case CONN_LINGER:
		ev |= EPOLLIN;
		break;
	case CONN_BUSY:
		/* Only to learn that the client left; its input waits. */
		if (c->abort_on_eof)
			ev |= EPOLLRDHUP;
		/*
		 * Left on from reading until input comes (busy_input): a
		 * request whose client waits quietly costs no epoll_ctl.
		 */
		if ((c->io.events & EPOLLIN) && !c->busy_input)
			ev |= EPOLLIN | EPOLLRDHUP;
		break;
	default:
		break;
	}
	if (out > 0 && c->hold_until == 0)
		ev |= EPOLLOUT;
	/* Decrypted input waiting inside TLS brings no event: go get it. */
	if ((ev & EPOLLIN) && c->state == CONN_READ && tlsio_pending(&c->tls))
		loop_defer(&c->readd);
	ev = tlsio_events(&c->tls, ev);
	if (loop_io_mod(&c->io, ev) < 0) {
		log_warn("connection %d: epoll_ctl", c->fd);
		conn_close(c, "epoll_ctl failed");
		return;
	}
	d = conn_deadline(c);
	if (d != UINT64_MAX &&
	    (!loop_timer_armed(&c->timer) || d < c->timer.hn.at))
		loop_timer_at(&c->timer, d);
}

/* ------------------------------------------------------------ output */

/* c's output, sent whole: its memory kept as a spare, or freed. */
static void
out_release(struct conn *c)
{
	if (nspares < CONN_SPARES && c->out.data != NULL && !c->out.err &&
	    buf_pending(&c->out) == 0 && c->out.cap <= CONN_SPARE_MAX) {
		spares[nspares] = c->out;
		spares[nspares].len = spares[nspares].off = 0;
		nspares++;
		buf_init(&c->out);
	} else
		buf_release(&c->out);
}

/* c's output about to be written: a spare's memory when it has none. */
static void
out_take(struct conn *c)
{
	if (c->out.data == NULL && nspares > 0) {
		c->out = spares[--nspares];
		buf_init(&spares[nspares]);
	}
}

size_t
conn_out_spares(size_t *bytes)
{
	size_t i;

	*bytes = 0;
	for (i = 0; i < nspares; i++)
		*bytes += spares[i].cap;
	return nspares;
}

static void
conn_flush(struct conn *c)
{
	size_t before;

	if (c->out.err) {
		log_warnx("connection %d: out of memory for output", c->fd);
		conn_close(c, "out of memory");
		return;
	}
	if (c->hold_until != 0) {
		if (loop_now() < c->hold_until)
			return;		/* conn_update arms the timer */
		c->hold_until = 0;
	}
	before = buf_pending(&c->out);
	if (tlsio_flush(c->fd, &c->tls, &c->out) == -1) {
		log_debug("connection %d: send: %s", c->fd, strerror(errno));
		conn_close(c, "send failed");
		return;
	}
	/* Progress, not completion, keeps a slow reader alive. */
	if (buf_pending(&c->out) < before)
		c->write_since = loop_now();
	if (c->drain_armed && c->drained != NULL &&
	    buf_pending(&c->out) <= CONN_DRAIN_LOW) {
		/* Deferred: the callback may write and end the response. */
		c->drain_armed = 0;
		loop_defer(&c->draind);
	}
	if (buf_pending(&c->out) == 0) {
		/* The stall clock starts afresh with the next response. */
		c->write_since = 0;
		out_release(c);
		if (c->state == CONN_CLOSING) {
			/*
			 * Half-close and read what the client still sends for
			 * a moment: closing with unread input would reset the
			 * connection and could destroy the response in flight.
			 */
			tlsio_shutdown(&c->tls);
			(void)shutdown(c->fd, SHUT_WR);
			c->state = CONN_LINGER;
			c->linger_until = loop_now() + wconf.linger_ms;
		}
	} else if (c->write_since == 0)
		c->write_since = loop_now();
}

/* After any work on c: write, then close or wait for the next event. */
static void
conn_settle(struct conn *c)
{
	if (c->state == CONN_DEAD)
		return;
	conn_flush(c);
	if (c->state == CONN_DEAD)
		return;
	if (c->state == CONN_READ && c->eof && c->pend_off == c->pend_len &&
	    buf_pending(&c->out) == 0) {
		/* The client is done sending and has every answer. */
		conn_close(c, "client done");
		return;
	}
	conn_update(c);
}

/* ------------------------------------------------------------ access log */

void
conn_access_log(int on)
{
	access_on = on != 0;
}

void
conn_access_format(char *out, size_t outsz, const char *client,
    const char *method, const char *path, int status, size_t bytes,
    uint64_t ms)
{
	char p[256];
	size_t i;

	for (i = 0; path[i] != '\0' && path[i] != '?' && i < sizeof(p) - 1; i++)
		p[i] = (unsigned char)path[i] <= ' ' || path[i] == 0x7f ?
		    '?' : path[i];
	p[i] = '\0';
	snprintf(out, outsz, "%s %s %s %d %zu %llu", client, method,
	    i > 0 ? p : "-", status, bytes, (unsigned long long)ms);
}

/* One line for the request just answered (or refused unparsed). */
static void
conn_access(struct conn *c)
{
	struct ipaddr ip;
	char addr[64], line[512];

	if (!access_on)
		return;
	if (c->req != NULL)
		clientip_of(c, c->req, &ip);
	else
		ip = c->peer;
	ipaddr_format(&ip, addr, sizeof(addr));
	conn_access_format(line, sizeof(line), addr[0] ? addr : "-",
	    c->req != NULL ? c->req->method_name : "-",
	    c->req != NULL ? c->req->path : "-", c->acc_status, c->acc_bytes,
	    loop_now() - c->req_start);
	log_info("access: %s", line);
}

/* ------------------------------------------------------------ requests */

void
conn_let_go(struct conn *c)
{
	c->hctx = NULL;
	c->abort = NULL;
	c->drained = NULL;
	c->abort_on_eof = 0;
}

int
conn_https(const struct conn *c)
{
	return c->tls.ssl != NULL || resp_production();
}

/* conn_hold's abort: the handler's state freed. */
static void
conn_hold_abort(struct conn *c)
{
	void *ctx = c->hctx;

	c->hctx = NULL;
	c->hfree(ctx);
}

void
conn_hold(struct conn *c, void *ctx, void (*free_ctx)(void *))
{
	c->hctx = ctx;
	c->hfree = free_ctx;
	c->abort = conn_hold_abort;
}

void *
conn_take(struct conn *c)
{
	void *ctx = c->hctx;

	conn_let_go(c);
	return ctx;
}

void
conn_drop_handler(struct conn **cp, const void *hctx)
{
	if (*cp != NULL && (*cp)->hctx == hctx)
		conn_let_go(*cp);
	*cp = NULL;
}

static void
conn_finish(struct conn *c)
{
	conn_access(c);
	if (c->req != NULL)
		http_request_free(c->req);
	c->req = NULL;
	if (c->sreq != NULL)
		hooks.sreq_cancel(c->sreq);
	c->sreq = NULL;
	conn_let_go(c);
	c->cors_hdrs = NULL;
	c->stream = STREAM_NONE;
	hold_end(c);
	c->drain_armed = 0;
	loop_defer_cancel(&c->draind);
	c->idle_since = loop_now();
	c->state = c->keep_alive ? CONN_READ : CONN_CLOSING;
	/* Answered later (storaged, upstream): go on with pipelined input. */
	if (!c->feeding)
		conn_resume(c);
}

static void
conn_dispatch(struct conn *c, struct http_request *req)
{
	c->served = 1;
	c->req = req;
	c->state = CONN_BUSY;
	c->keep_alive = req->keep_alive && !hooks.quitting();
	c->head_only = req->method == HTTP_HEAD;
	c->acc_status = 0;
	c->acc_bytes = 0;
	hooks.dispatch(c, req);
}

/*
 * The request being read is refused (status, message; hdrs: extra header
 * lines or NULL): its JSON error queued, counted and logged, and c
 * CONN_CLOSING, so that it lingers once the answer is out (conn_flush).
 */
static void
conn_input_refused(struct conn *c, int status, const char *message,
    const char *hdrs)
{
	struct resp_opts o;
	size_t before;

	memset(&o, 0, sizeof(o));
	o.keep_alive = 0;
	if (hdrs != NULL && hdrs[0] != '\0')
		o.extra_headers = hdrs;
	hooks.answered(-1, status);
	before = buf_pending(&c->out);
	resp_error(&c->out, status, &o, message);
	c->acc_status = status;
	c->acc_bytes = buf_pending(&c->out) - before;
	conn_access(c);
	c->state = CONN_CLOSING;
}

static void
conn_bad_input(struct conn *c)
{
	const struct http_request *head;
	char hdrs[2 * SETTINGS_ORIGIN_MAX + 256];
	int status = http_in_status(&c->in);

	log_debug("connection %d: bad request: %d %s (%s)", c->fd,
	    status, http_in_message(&c->in), http_in_detail(&c->in));
	hdrs[0] = '\0';
	/* Refused at its head: answered as its route would answer. */
	if ((head = http_in_refused(&c->in)) != NULL)
		status = hooks.head_refused(head, status, hdrs, sizeof(hdrs));
	conn_input_refused(c, status, status == 403 ?
	    "Origin not allowed" : http_in_message(&c->in), hdrs);
}

/*
 * Feeds input while the connection may take another request. Returns how
 * much was used; the rest waits for the request in hand to be answered.
 */
static size_t
conn_input(struct conn *c, const char *data, size_t len)
{
	enum http_in_result r;
	struct http_request *req;
	size_t used = 0, n;

	c->feeding = 1;
	while (used < len && c->state == CONN_READ &&
	    buf_pending(&c->out) <= CONN_OUT_HIGH) {
		if (!http_in_busy(&c->in))
			c->req_start = loop_now();
		n = 0;
		r = http_in_feed(&c->in, data + used, len - used, &n);
		used += n;
		if (n > 0)
			c->fed_at = loop_now();	/* a body's progress */
		if (r == HTTP_IN_ERROR) {
			conn_body_done(c);
			conn_bad_input(c);
			used = len;
			break;
		}
		if (r == HTTP_IN_MORE) {
			/* The client waits for this before sending the body. */
			if (http_in_continue(&c->in))
				buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			break;
		}
		conn_body_done(c);
		if ((req = http_in_take(&c->in)) == NULL) {
			log_warnx("connection %d: parser gave no request", c->fd);
			conn_close(c, "parser gave no request");
			break;
		}
		/* What follows the request, should its handler take the fd. */
		c->rest = data + used;
		c->rest_len = len - used;
		conn_dispatch(c, req);
		c->rest = NULL;
		c->rest_len = 0;
	}
	c->feeding = 0;
	return used;
}

/* Feeds what was held back, if the connection can take it now. */
static void
conn_resume(struct conn *c)
{
	size_t used;

	if (c->state == CONN_READ && c->pend_off < c->pend_len) {
		used = conn_input(c, c->pend + c->pend_off,
		    c->pend_len - c->pend_off);
		if (c->state == CONN_DEAD)
			return;
		c->pend_off += used;
		if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
			c->pend_off = c->pend_len;	/* no more requests */
		if (c->pend_off == c->pend_len) {
			free(c->pend);
			c->pend = NULL;
			c->pend_off = c->pend_len = 0;
		}
	}
	conn_settle(c);
}

static void
conn_read(struct conn *c)
{
	ssize_t n;
	size_t used, rest;

	n = tlsio_read(c->fd, &c->tls, rbuf, sizeof(rbuf));
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("connection %d: recv: %s", c->fd, strerror(errno));
		conn_close(c, "recv failed");
		return;
	}
	if (n == 0) {
		c->eof = 1;
		return;
	}
	used = conn_input(c, rbuf, (size_t)n);
	if (c->state != CONN_READ && c->state != CONN_BUSY)
		return;		/* closing: the rest is not wanted */
	if (used < (size_t)n) {
		/* We only read with nothing held back, so pend is empty. */
		rest = (size_t)n - used;
		if ((c->pend = malloc(rest)) == NULL) {
			log_warn("connection %d", c->fd);
			conn_close(c, "out of memory");
			return;
		}
		memcpy(c->pend, rbuf + used, rest);
		c->pend_len = rest;
		c->pend_off = 0;
	}
}

static void
conn_linger_read(struct conn *c)
{
	ssize_t n;

	/* Raw even with TLS: after close_notify the bytes are not wanted. */
	n = recv(c->fd, rbuf, sizeof(rbuf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR))
		conn_close(c, "linger done");
}

/*
 * A client that left (shut its side) during an answer: what it sent and
 * nobody will read (a request it pipelined) is read away, CONN_LEFT_READS
 * reads at most, so that closing sends a FIN after the output already
 * written, not a reset, which throws away what the socket still holds
 * for a client that reads on (the reply stored counts it as sent).
 */
static void
conn_left_read(struct conn *c)
{
	int i;

	/* Raw even with TLS: the bytes are not wanted. */
	for (i = 0; i < CONN_LEFT_READS; i++)
		if (recv(c->fd, rbuf, sizeof(rbuf), 0) <= 0)
			return;
}

static void
conn_io(int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	events = tlsio_ready(&c->tls, events);
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reset, or both sides shut: nobody will read an answer. */
		conn_close(c, "reset or hang-up");
		return;
	}
	if ((events & EPOLLRDHUP) && c->state == CONN_BUSY &&
	    c->abort_on_eof) {
		conn_left_read(c);
		conn_close(c, "client left during the answer");
		return;
	}
	if (events & EPOLLOUT) {
		conn_flush(c);
		if (c->state == CONN_DEAD)
			return;
	}
	if (events & EPOLLIN) {
		if (c->state == CONN_BUSY)
			c->busy_input = 1;
		else if (c->state == CONN_LINGER)
			conn_linger_read(c);
		else if (c->state == CONN_READ && c->pend_off == c->pend_len &&
		    !c->eof)
			conn_read(c);
		if (c->state == CONN_DEAD)
			return;
	}
	conn_resume(c);
}

/* ------------------------------------------------------------ answers */

/*
 * The extra header lines of an answer: the CORS lines the router chose,
 * then the handler's. tmp holds the joined copy (free it after use).
 */
static const char *
conn_headers(struct conn *c, const char *headers, struct buf *tmp)
{
	buf_init(tmp);
	if (c->cors_hdrs == NULL || *c->cors_hdrs == '\0')
		return headers;
	buf_adds(tmp, c->cors_hdrs);
	buf_adds(tmp, headers);
	buf_add(tmp, "", 1);
	return tmp->err ? headers : tmp->data;
}

/* An answer being written: its options, its header lines, where it began. */
struct answer {
	struct resp_opts o;
	struct buf hdrs;	/* the joined header lines (conn_headers) */
	size_t before;		/* c->out's bytes pending when it began */
};

/*
 * Begins c's answer a (status, ctype, the extra header lines): counted
 * (hooks.answered), keep-alive ended by a quit, a->o filled; the caller
 * writes it, then calls conn_answered. -1 (nothing held) when c has no
 * request to answer.
 */
static int
conn_answering(struct conn *c, struct answer *a, int status,
    const char *ctype, const char *headers)
{
	struct resp_opts *o = &a->o;

	if (c->state != CONN_BUSY || c->stream != STREAM_NONE) {
		log_warnx("connection %d: answer without a request", c->fd);
		return -1;
	}
	hooks.answered(c->route_ix, status);
	c->acc_status = status;
	/* A quit that came meanwhile ends keep-alive here. */
	if (hooks.quitting())
		c->keep_alive = 0;
	memset(o, 0, sizeof(*o));
	o->keep_alive = c->keep_alive;
	/* An HTTP/1.0 client reuses the connection only when told to. */
	if (c->keep_alive && c->req != NULL && c->req->http_minor == 0)
		o->keep_alive = RESP_KEEP_SAID;
	o->content_type = ctype;
	o->extra_headers = conn_headers(c, headers, &a->hdrs);
	o->head_only = c->head_only;
	out_take(c);
	a->before = buf_pending(&c->out);
	return 0;
}

/* Ends a, written: its bytes counted (the access log), its headers freed. */
static void
conn_answered(struct conn *c, struct answer *a)
{
	c->acc_bytes += buf_pending(&c->out) - a->before;
	buf_free(&a->hdrs);
}

void
conn_send(struct conn *c, int status, const char *headers, const char *ctype,
    const void *body, size_t len)
{
	struct answer a;

	if (conn_answering(c, &a, status, ctype, headers) < 0)
		return;
	resp_send(&c->out, status, &a.o, body, len);
	conn_answered(c, &a);
	conn_finish(c);
}

void
conn_send_error(struct conn *c, int status, const char *headers,
    const char *message)
{
	struct answer a;

	if (conn_answering(c, &a, status, NULL, headers) < 0)
		return;
	resp_error(&c->out, status, &a.o, message);
	conn_answered(c, &a);
	conn_finish(c);
}

void
conn_send_json(struct conn *c, int status, const char *headers, json_t *v)
{
	char *s;

	/* 15 digits: an agent's temperature 0.7 is 0.7, not 0.69999999999999996. */
	s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(15)) : NULL;
	json_decref(v);
	if (s == NULL) {
		log_warnx("connection %d: cannot build the JSON answer", c->fd);
		conn_send_error(c, 500, headers, "Internal server error");
		return;
	}
	conn_send(c, status, headers, NULL, s, strlen(s));
	free(s);
}

/* ------------------------------------------------------------ streams */

void
conn_stream_head(struct conn *c, int status, const char *headers,
    const char *ctype)
{
	struct answer a;

	if (conn_answering(c, &a, status, ctype, headers) < 0)
		return;
	if (c->req != NULL && c->req->http_major == 1 &&
	    c->req->http_minor == 0) {
		c->keep_alive = 0;
		a.o.keep_alive = 0;
		resp_close_delimited_start(&c->out, status, &a.o);
	} else
		resp_chunked_start(&c->out, status, &a.o);
	conn_answered(c, &a);
	conn_finish(c);
}

int
conn_stream_start(struct conn *c, int status, const char *headers,
    const char *ctype)
{
	struct answer a;
	int http10;

	if (conn_answering(c, &a, status, ctype, headers) < 0)
		return -1;
	http10 = c->req != NULL && c->req->http_major == 1 &&
	    c->req->http_minor == 0;
	if (http10) {
		/* No chunked encoding in HTTP/1.0: the close ends the body. */
		c->keep_alive = 0;
		a.o.keep_alive = 0;
		resp_close_delimited_start(&c->out, status, &a.o);
		c->stream = STREAM_CLOSE;
	} else {
		resp_chunked_start(&c->out, status, &a.o);
		c->stream = STREAM_CHUNKED;
	}
	conn_answered(c, &a);
	loop_defer(&c->flushd);
	return 0;
}

void
conn_stream_write(struct conn *c, const void *data, size_t len)
{
	size_t before;

	if (c->state != CONN_BUSY || c->stream == STREAM_NONE || len == 0)
		return;
	hold_end(c);
	out_take(c);
	before = buf_pending(&c->out);
	if (c->stream == STREAM_CHUNKED)
		resp_chunk(&c->out, data, len);
	else
		buf_add(&c->out, data, len);
	c->acc_bytes += buf_pending(&c->out) - before;
	loop_defer(&c->flushd);
}

void
conn_stream_end(struct conn *c)
{
	size_t before;

	if (c->state != CONN_BUSY || c->stream == STREAM_NONE)
		return;
	if (c->stream == STREAM_CHUNKED) {
		out_take(c);
		before = buf_pending(&c->out);
		resp_chunked_end(&c->out);
		c->acc_bytes += buf_pending(&c->out) - before;
	}
	loop_defer_cancel(&c->flushd);
	conn_finish(c);
}

void
conn_stream_hold(struct conn *c, uint64_t ms)
{
	if (ms > 0 && c->state == CONN_BUSY && c->stream != STREAM_NONE)
		c->hold_until = loop_now() + ms;
}

size_t
conn_out_pending(const struct conn *c)
{
	return buf_pending(&c->out);
}

void
conn_watch_drain(struct conn *c, void (*cb)(struct conn *))
{
	c->drained = cb;
	c->drain_armed = 1;
	if (buf_pending(&c->out) <= CONN_DRAIN_LOW) {
		c->drain_armed = 0;
		loop_defer(&c->draind);
	}
}

static void
conn_flushd(void *arg)
{
	struct conn *c = arg;

	conn_settle(c);
}

static void
conn_readd(void *arg)
{
	struct conn *c = arg;

	if (c->state != CONN_DEAD)
		conn_io(c->fd, EPOLLIN, c);
}

static void
conn_draind(void *arg)
{
	struct conn *c = arg;
	void (*cb)(struct conn *) = c->drained;

	if (c->state == CONN_BUSY && cb != NULL)
		cb(c);
}
