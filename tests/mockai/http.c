/*
 * HTTP/1.1 connections: accept, read, parse with libhttp-parser, route,
 * write with a bounded output buffer.
 *
 * One request is answered at a time per connection: the parser pauses at
 * the end of each request and is fed again only once the answer is over,
 * so pipelined requests are answered in order. Unsent output is what
 * bounds memory: nothing new is parsed (and completions.c produces no new
 * chunk) while more than MOCK_MAX_PENDING bytes wait for the client.
 *
 * A connection that closes is only marked dead and moved to a graveyard;
 * it is freed after the current batch of events, so no caller up the
 * stack is left holding a freed pointer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mockai.h"

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(, conn) graveyard = TAILQ_HEAD_INITIALIZER(graveyard);
static struct loop_defer reap_defer;	/* frees the graveyard */
static http_parser_settings settings;
static int spare_fd = -1;		/* given up to shed a connection when out of fds */
int mock_sndbuf;

static void conn_parse(struct conn *);
static void conn_update(struct conn *);

/* ------------------------------------------------------------ buffers */

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t need, ncap;
	char *n;

	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	need = b->len + more + 1;	/* +1 keeps a NUL after the data */
	if (need <= b->cap)
		return;
	/* Reclaim sent bytes before growing. */
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		need = b->len + more + 1;
		if (need <= b->cap)
			return;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(b->p, ncap)) == NULL)
		fatal("out of memory");
	b->p = n;
	b->cap = ncap;
}

void
buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("buf_printf: bad format");
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

size_t
http_pending(const struct conn *c)
{
	return c->out.len - c->out.off;
}

long long
http_total_pending(void)
{
	struct conn *c;
	long long n = 0;

	TAILQ_FOREACH(c, &conns, entry)
		n += (long long)http_pending(c);
	return n;
}

/* ------------------------------------------------------------ requests */

static void
request_reset(struct request *r)
{
	buf_free(&r->url);
	buf_free(&r->hname);
	buf_free(&r->hvalue);
	buf_free(&r->body);
	free(r->authorization);
	free(r->content_type);
	free(r->accept);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

static int
refuse(struct conn *c, int status, const char *msg)
{
	c->err_status = status;
	c->err_msg = msg;
	return -1;	/* any callback: stop with an error (1 would mean "no body" here) */
}

static int
count_head(struct conn *c, size_t len)
{
	c->req.head_bytes += len;
	if (c->req.head_bytes > MOCK_MAX_HEAD)
		return refuse(c, 431, "Request header fields too large");
	return 0;
}

/* Keep the few headers tests look at; the rest only count toward the limit. */
static void
header_done(struct request *r)
{
	char **slot = NULL;
	char *v;
	size_t n;

	if (r->hstate != 2)
		goto out;
	if (r->hname.len == 0)
		goto out;
	if (strcasecmp(r->hname.p, "authorization") == 0)
		slot = &r->authorization;
	else if (strcasecmp(r->hname.p, "content-type") == 0)
		slot = &r->content_type;
	else if (strcasecmp(r->hname.p, "accept") == 0)
		slot = &r->accept;
	else if (strcasecmp(r->hname.p, "expect") == 0 && r->hvalue.p != NULL)
		r->expect_continue = strncasecmp(r->hvalue.p, "100-continue", 12) == 0;
	if (slot == NULL)
		goto out;
	v = r->hvalue.p ? r->hvalue.p : "";
	n = r->hvalue.len;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	free(*slot);
	if ((*slot = strndup(v, n)) == NULL)
		fatal("out of memory");
out:
	r->hname.len = r->hvalue.len = 0;
	r->hname.off = r->hvalue.off = 0;
	if (r->hname.p)
		r->hname.p[0] = '\0';
	if (r->hvalue.p)
		r->hvalue.p[0] = '\0';
	r->hstate = 0;
}

static int
on_message_begin(http_parser *p)
{
	struct conn *c = p->data;

	request_reset(&c->req);
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->req.url.len + len > 8192)
		return refuse(c, 414, "URI too long");
	buf_add(&c->req.url, at, len);
	return count_head(c, len);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->req.hstate == 2)
		header_done(&c->req);
	c->req.hstate = 1;
	if (count_head(c, len))
		return -1;
	buf_add(&c->req.hname, at, len);
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	c->req.hstate = 2;
	if (count_head(c, len))
		return -1;
	buf_add(&c->req.hvalue, at, len);
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;

	header_done(&c->req);
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > MOCK_MAX_BODY)
		return refuse(c, 413, "Request body too large");
	/*
	 * "Expect: 100-continue" (curl sends it for bodies over 1 KiB) makes
	 * the client wait for a go-ahead; give it at once.
	 */
	if (c->req.expect_continue && p->http_major == 1 && p->http_minor >= 1)
		buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->req.body.len + len > MOCK_MAX_BODY)
		return refuse(c, 413, "Request body too large");
	buf_add(&c->req.body, at, len);
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct conn *c = p->data;

	c->req.method = p->method;
	c->req.keep_alive = http_should_keep_alive(p) && !p->upgrade;
	c->req.http10 = p->http_major < 1 ||
	    (p->http_major == 1 && p->http_minor == 0);
	/* One request at a time: conn_parse() sees HPE_PAUSED and answers it. */
	http_parser_pause(p, 1);
	return 0;
}

/* ------------------------------------------------------------ responses */

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 500 ? "Client Error" : "Server Error";
	}
}

static void
put_head(struct conn *c, int status, const char *ctype, const char *extra,
    long long clen)
{
	struct buf *o = &c->out;

	buf_printf(o, "HTTP/1.1 %d %s\r\nServer: mockai\r\n", status,
	    http_reason(status));
	if (ctype != NULL)
		buf_printf(o, "Content-Type: %s\r\n", ctype);
	if (extra != NULL)
		buf_add(o, extra, strlen(extra));
	if (clen >= 0)
		buf_printf(o, "Content-Length: %lld\r\n", clen);
	else if (c->chunked)
		buf_printf(o, "Transfer-Encoding: chunked\r\n");
	buf_printf(o, "Connection: %s\r\n\r\n",
	    c->req.keep_alive ? "keep-alive" : "close");
}

void
http_respond(struct conn *c, int status, const char *ctype,
    const char *extra, const char *body, size_t len)
{
	if (c->dead)
		return;
	put_head(c, status, ctype, extra, (long long)len);
	if (c->req.method != HTTP_HEAD)
		buf_add(&c->out, body, len);
	http_request_done(c);
}

void
http_respond_json(struct conn *c, int status, json_t *j, const char *extra)
{
	char *s = json_dumps(j, JSON_COMPACT);
	struct buf b = { 0 };

	json_decref(j);
	if (s == NULL)
		fatalx("json_dumps failed");
	buf_add(&b, s, strlen(s));
	buf_add(&b, "\n", 1);
	free(s);
	http_respond(c, status, "application/json", extra, b.p, b.len);
	buf_free(&b);
}

void
http_stream_begin(struct conn *c, int status, const char *ctype,
    const char *extra)
{
	/* HTTP/1.0 has no chunked encoding: the body ends when we close. */
	if (c->req.http10)
		c->req.keep_alive = 0;
	c->chunked = !c->req.http10;
	put_head(c, status, ctype, extra, -1);
}

void
http_stream_write(struct conn *c, const char *data, size_t len)
{
	if (c->dead || len == 0)
		return;
	if (c->chunked)
		buf_printf(&c->out, "%zx\r\n", len);
	buf_add(&c->out, data, len);
	if (c->chunked)
		buf_add(&c->out, "\r\n", 2);
}

void
http_stream_end(struct conn *c)
{
	if (c->dead)
		return;
	if (c->chunked)
		buf_add(&c->out, "0\r\n\r\n", 5);
	c->chunked = 0;
	http_request_done(c);
}

void
http_cut(struct conn *c)
{
	if (c->dead)
		return;
	/* No terminating chunk: the client sees the body end too early. */
	c->close_after = 1;
	http_flush(c);
}

void
http_request_done(struct conn *c)
{
	if (c->dead)
		return;
	if (!c->req.keep_alive)
		c->close_after = 1;
	c->busy = 0;
	c->want_pump = 0;
	request_reset(&c->req);
	http_flush(c);
	if (!c->dead && !c->dispatching)
		conn_parse(c);
}

void
http_flush(struct conn *c)
{
	while (!c->dead && c->out.off < c->out.len) {
		ssize_t n = send(c->io.fd, c->out.p + c->out.off,
		    c->out.len - c->out.off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out.off += (size_t)n;
			mock_stats.bytes_sent += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		http_close(c);	/* EPIPE, ECONNRESET: the client is gone */
		return;
	}
	if (c->out.off == c->out.len) {
		c->out.off = c->out.len = 0;
		/* A big backlog drained: give its memory back. */
		if (c->out.cap > 64 * 1024)
			buf_free(&c->out);
		if (c->close_after) {
			http_close(c);
			return;
		}
	}
	conn_update(c);
}

static void
error_json(struct conn *c, int status, const char *msg)
{
	http_respond_json(c, status,
	    openai_error(msg, "invalid_request_error", NULL, NULL), NULL);
}

/* ------------------------------------------------------------ routing */

static void
set_path(struct request *r)
{
	const char *u = r->url.p ? r->url.p : "";
	size_t n;

	/* absolute-form ("http://host/path") is legal; keep just the path */
	if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
		const char *s = strchr(u, '/') + 2;

		u = strchr(s, '/');
		if (u == NULL)
			u = "/";
	}
	n = strcspn(u, "?#");
	if ((r->path = strndup(u, n)) == NULL)
		fatal("out of memory");
}

static void
dispatch(struct conn *c)
{
	struct request *r = &c->req;
	char msg[160];

	set_path(r);
	log_debug("fd %d: %s %s", c->io.fd, http_method_str(r->method), r->path);
	if (strncmp(r->path, "/_mock/", 7) == 0 || strcmp(r->path, "/health") == 0) {
		control_handle(c);
		return;
	}
	control_record(r);
	if (strcmp(r->path, "/v1/chat/completions") == 0 ||
	    strcmp(r->path, "/chat/completions") == 0) {
		if (r->method == HTTP_POST)
			completions_handle(c);
		else
			http_respond_json(c, 405, openai_error(
			    "Only POST is supported on this path.",
			    "invalid_request_error", NULL, NULL),
			    "Allow: POST\r\n");
		return;
	}
	if (strcmp(r->path, "/v1/embeddings") == 0 ||
	    strcmp(r->path, "/embeddings") == 0 ||
	    strcmp(r->path, "/v1/rerank") == 0 || strcmp(r->path, "/rerank") == 0) {
		if (r->method != HTTP_POST)
			http_respond_json(c, 405, openai_error(
			    "Only POST is supported on this path.",
			    "invalid_request_error", NULL, NULL),
			    "Allow: POST\r\n");
		else if (strstr(r->path, "rerank") != NULL)
			rerank_handle(c);
		else
			embeddings_handle(c);
		return;
	}
	if ((strcmp(r->path, "/v1/models") == 0 || strcmp(r->path, "/models") == 0) &&
	    r->method == HTTP_GET) {
		completions_models(c);
		return;
	}
	/* OpenAI's wording for an unknown path. */
	snprintf(msg, sizeof(msg), "Invalid URL (%s %.100s)",
	    http_method_str(r->method), r->path);
	error_json(c, 404, msg);
}

/* Parse what was read, answering one request at a time. */
static void
conn_parse(struct conn *c)
{
	if (c->dispatching)
		return;
	c->dispatching = 1;
	while (!c->dead && !c->busy && !c->close_after &&
	    c->in_off < c->in_len && http_pending(c) <= MOCK_MAX_PENDING) {
		size_t n = http_parser_execute(&c->parser, &settings,
		    c->in + c->in_off, c->in_len - c->in_off);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

		c->in_off += n;
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			c->busy = 1;
			if (c->parser.upgrade)	/* we speak nothing else: answer, then close */
				c->req.keep_alive = 0;
			dispatch(c);
			continue;
		}
		if (e != HPE_OK) {
			int status = c->err_status ? c->err_status : 400;
			const char *msg = c->err_msg ? c->err_msg :
			    http_errno_description(e);
			char text[200];

			log_debug("bad request on fd %d: %s", c->io.fd, msg);
			if (c->err_status)	/* a limit: its own words say it */
				snprintf(text, sizeof(text), "%s", msg);
			else
				snprintf(text, sizeof(text), "Malformed HTTP request: %s", msg);
			c->busy = 1;
			c->req.keep_alive = 0;
			c->in_off = c->in_len;	/* the rest is not worth reading */
			error_json(c, status, text);
			break;
		}
	}
	c->dispatching = 0;
	if (c->dead)
		return;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	else if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	conn_update(c);
}

/* ------------------------------------------------------------ the socket */

static void
conn_update(struct conn *c)
{
	uint32_t ev = EPOLLRDHUP;

	if (c->dead)
		return;
	if (c->in_len < MOCK_IN_CAP)
		ev |= EPOLLIN;
	if (http_pending(c) > 0 || c->want_pump)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		if (loop_io_mod(&c->io, ev) < 0)
			fatal("epoll_ctl(MOD, fd %d)", c->io.fd);
		c->events = ev;
	}
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	if (c->in_len == MOCK_IN_CAP)
		return;
	n = read(c->io.fd, c->in + c->in_len, MOCK_IN_CAP - c->in_len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		http_close(c);
		return;
	}
	if (n == 0) {
		/*
		 * The client closed its side. Clients of this server do that
		 * only when they give up, so stop whatever was in progress.
		 */
		http_close(c);
		return;
	}
	c->in_len += (size_t)n;
	conn_parse(c);
}

static void
conn_event(int fd, uint32_t ev, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (ev & (EPOLLERR | EPOLLHUP)) {
		http_close(c);
		return;
	}
	if (ev & EPOLLIN)
		conn_read(c);
	else if (ev & EPOLLRDHUP) {
		/* Input buffer full (so not reading) and the client left. */
		http_close(c);
		return;
	}
	if (c->dead)
		return;
	if (ev & EPOLLOUT) {
		http_flush(c);
		if (c->dead)
			return;
		c->want_pump = 0;
		if (c->stream != NULL && http_pending(c) <= MOCK_MAX_PENDING)
			completions_pump(c);
		if (!c->dead && !c->busy)
			conn_parse(c);
	}
	conn_update(c);
}


static void
conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	static const int one = 1;

	if (c == NULL) {
		log_warnx("out of memory for a connection");
		close(fd);
		return;
	}
	/*
	 * Each event goes out when written, as a model server's do: with
	 * Nagle a chunk sent after a pause (first_delay_ms) waits for the
	 * ACK of the head, which the client delays 40 ms.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("TCP_NODELAY");
	/* A small send buffer makes a slow reader hold the stream sooner. */
	if (mock_sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &mock_sndbuf,
	    sizeof(mock_sndbuf)) == -1)
		log_warn("SO_SNDBUF");
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->events = EPOLLIN | EPOLLRDHUP;
	if (loop_io_add(&c->io, fd, c->events, conn_event, c) < 0)
		fatal("epoll_ctl(ADD, fd %d)", fd);
	TAILQ_INSERT_TAIL(&conns, c, entry);
}

void
http_listen_ready(int lfd)
{
	/* Bounded, so one busy listener cannot starve the connections. */
	for (int i = 0; i < 128; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of fds: take the connection and drop it, or we spin. */
			log_warnx("out of file descriptors; dropping a connection");
			if (spare_fd != -1) {
				close(spare_fd);
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
			return;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_warn("accept");
		return;
	}
}

void
http_close(struct conn *c)
{
	int fd;

	if (c->dead)
		return;
	if (c->stream != NULL)
		completions_abort(c);
	ptimer_stop(c);
	fd = c->io.fd;
	loop_io_del(&c->io);
	close(fd);
	c->dead = 1;
	TAILQ_REMOVE(&conns, c, entry);
	TAILQ_INSERT_TAIL(&graveyard, c, entry);
	/* Freed once this batch of events is handled. */
	loop_defer(&reap_defer);
}

static void
reap(void *arg)
{
	http_reap();
}

void
http_reap(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&graveyard)) != NULL) {
		TAILQ_REMOVE(&graveyard, c, entry);
		request_reset(&c->req);
		buf_free(&c->out);
		free(c);
	}
}

void
http_close_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		http_close(c);
	http_reap();
	if (spare_fd != -1)
		close(spare_fd);
	spare_fd = -1;
}

void
http_init(void)
{
	memset(&settings, 0, sizeof(settings));
	settings.on_message_begin = on_message_begin;
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	loop_defer_init(&reap_defer, reap, NULL);
}
