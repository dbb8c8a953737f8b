/*
 * WebSocket connections (RFC 6455) on wslay's event API.
 *
 * wslay parses and checks the frames (masking, reserved bits, opcodes,
 * control frames, fragments reassembled up to WS_MESSAGE_MAX, UTF-8 of
 * text) and answers pings and the peer's close. Its send callback never
 * says "would block": every frame it makes goes straight into our own
 * output buffer, which we write out ourselves. So wslay never holds a
 * half-sent frame, the output size is known at any time, and a close
 * frame of our own can be written when wslay's frame reader gives up
 * (it would send an empty close there, we send 1002).
 *
 * The end of a connection: once neither side's close is pending (the
 * handshake is done) it is closed; when we failed it (our close went
 * out, wslay reads no more) the write side is shut and input drained
 * until the peer closes; either way the handshake is cut after
 * ws_closing_ms. The owner hears of the end once, through on_close,
 * called from the loop (never from inside ws_send_text or ws_close), and
 * the ws is freed after the current round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "log.h"
#include "workerd.h"
#include "ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_CLOSING_MS	5000
/* A WebSocket's kernel buffers (each doubled by the kernel). */
static const int ws_sndbuf = 128 * 1024;	/* a resume's history in 2 */
static const int ws_rcvbuf = 64 * 1024;		/* a whole message */
/* Read at most this much per round: its pongs are what a pause lets by. */
#define WS_READ_ROUND	(32 * 1024)

struct ws {
	TAILQ_ENTRY(ws) entry;
	int fd;
	struct tlsio tls;		/* from conn.c, with the fd */
	wslay_event_context_ptr ctx;
	struct ws_cbs cbs;
	void *arg;
	struct loop_io io;
	struct loop_timer timer;
	struct loop_defer kick;		/* first input, then settle */
	struct loop_defer flushd;	/* write what this round queued */
	struct loop_defer draind;	/* on_drain, outside the sender */
	struct loop_defer reap;
	struct buf out;			/* framed, not yet written */
	uint64_t written;		/* bytes of it written, ever (ws_out_pos) */
	char *in;			/* read by conn.c past the request */
	size_t in_len, in_off;
	size_t round;			/* bytes read this round */
	uint64_t last_rx;		/* last message or control frame */
	uint64_t last_ping;
	uint64_t close_at;		/* closing: cut the handshake then */
	uint64_t hold_until;		/* ws_hold's end; 0 none */
	uint16_t sent_code;		/* our close frame's code; 0 none */
	int rfail;			/* the peer's side ended: EOF or error */
	int broken;			/* write error or no memory: drop */
	int raw_close;			/* our close frame was written by hand */
	int bad_close;			/* the peer's close had a 1-byte body */
	int lingering;			/* write side shut: drain until EOF */
	int high;			/* output reached WS_OUT_MAX / 4 */
	int owed;			/* sent since output was last empty */
	int dead;
	uint32_t frags;			/* frames of the message coming in */
	/*
	 * The message coming in, charged to its client's body budget as its
	 * frames begin (ws_frame_cb), given back once it is whole.
	 */
	struct clientcap_body msg;
	int refused;			/* a message past the budget: closing */
	struct ipaddr client;		/* clientip_of the upgrade */
	struct ipaddr peer;		/* the socket's peer (logs) */
	uint64_t opened;		/* when the HTTP connection began */
};

static TAILQ_HEAD(, ws) wss = TAILQ_HEAD_INITIALIZER(wss);
static unsigned int nws;

/* Tests shorten these; test_ws.c declares the setter itself. */
static uint32_t ws_ping_ms = WS_PING_MS;
static uint32_t ws_idle_ms = WS_IDLE_MS;
static uint32_t ws_closing_ms = WS_CLOSING_MS;
void ws_set_timeouts(uint32_t ping_ms, uint32_t idle_ms, uint32_t closing_ms);

static void ws_io(int, uint32_t, void *);
static void ws_timeout(void *);
static void ws_kick(void *);
static void ws_flushd(void *);
static void ws_draind(void *);
static void ws_reap(void *);
static void ws_settle(struct ws *);

void
ws_set_timeouts(uint32_t ping_ms, uint32_t idle_ms, uint32_t closing_ms)
{
	ws_ping_ms = ping_ms;
	ws_idle_ms = idle_ms;
	ws_closing_ms = closing_ms;
}

unsigned int
ws_count(void)
{
	return nws;
}

/* ------------------------------------------------------------ handshake */

void
ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *m;

	out[0] = '\0';
	if ((m = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(m, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(m, key, strlen(key)) == 1 &&
	    EVP_DigestUpdate(m, WS_GUID, sizeof(WS_GUID) - 1) == 1 &&
	    EVP_DigestFinal_ex(m, md, &mdlen) == 1 && mdlen == 20)
		EVP_EncodeBlock((unsigned char *)out, md, 20);
	EVP_MD_CTX_free(m);
}

/* Whether the comma-separated list s holds token (case-insensitive). */
static int
has_token(const char *s, const char *token)
{
	size_t tlen = strlen(token), n;
	const char *e;

	while (s != NULL && *s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		e = s + strcspn(s, ",");
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(s, token, n) == 0)
			return 1;
		s = e;
	}
	return 0;
}

/* Every header line of that name, as one list would be read. */
static int
header_has_token(const struct http_request *req, const char *lname,
    const char *token)
{
	int i;

	for (i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, lname) == 0 &&
		    has_token(req->headers[i].value, token))
			return 1;
	return 0;
}

/* 16 bytes in base64: 22 characters of the alphabet and "==". */
static int
key_valid(const char *k)
{
	size_t i;

	if (k == NULL || strlen(k) != 24 || strcmp(k + 22, "==") != 0)
		return 0;
	for (i = 0; i < 22; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", k[i]) == NULL)
			return 0;
	return 1;
}

int
ws_check_upgrade(const struct http_request *req, const char **why)
{
	const char *v;

	*why = NULL;
	if (req->method != HTTP_GET) {
		*why = "WebSocket upgrade needs GET";
		return 400;
	}
	if (req->http_major != 1 || req->http_minor < 1) {
		*why = "WebSocket upgrade needs HTTP/1.1";
		return 400;
	}
	if (!header_has_token(req, "upgrade", "websocket") ||
	    !header_has_token(req, "connection", "upgrade")) {
		*why = "Not a WebSocket upgrade";
		return 400;
	}
	if ((v = http_header(req, "sec-websocket-version")) == NULL) {
		*why = "Missing Sec-WebSocket-Version";
		return 400;
	}
	if (strcmp(v, "13") != 0) {
		*why = "Unsupported WebSocket version";
		return 426;
	}
	if (!key_valid(http_header(req, "sec-websocket-key"))) {
		*why = "Invalid Sec-WebSocket-Key";
		return 400;
	}
	return 0;
}

/* ------------------------------------------------------------ wslay glue */

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws *ws = arg;
	ssize_t n;

	if (ws->in != NULL) {
		/* What conn.c read past the request comes first. */
		n = (ssize_t)(ws->in_len - ws->in_off < len ?
		    ws->in_len - ws->in_off : len);
		memcpy(buf, ws->in + ws->in_off, (size_t)n);
		ws->in_off += (size_t)n;
		if (ws->in_off == ws->in_len) {
			free(ws->in);
			ws->in = NULL;
			ws->in_len = ws->in_off = 0;
		}
		return n;
	}
	if (ws->round >= WS_READ_ROUND) {
		/* Let the others have their turn; epoll tells us again. */
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	for (;;) {
		n = tlsio_read(ws->fd, &ws->tls, buf, len);
		if (n > 0) {
			ws->round += (size_t)n;
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
			return -1;
		}
		if (n < 0)
			log_debug("websocket %d: recv: %s", ws->fd,
			    strerror(errno));
		ws->rfail = 1;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct ws *ws = arg;

	buf_add(&ws->out, data, len);
	if (ws->out.err) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* Queues our close and reads no more (a peer that broke the rules). */
static void
ws_fail(struct ws *ws, uint16_t code, const char *reason)
{
	log_debug("websocket %d: closing %u: %s", ws->fd, code, reason);
	(void)wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
	    strlen(reason));
	wslay_event_shutdown_read(ws->ctx);
}

static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws *ws = arg;
	const char *msg;

	/* A whole message or control frame: the peer is alive. */
	ws->last_rx = loop_now();
	if (m->opcode < WSLAY_CONNECTION_CLOSE)
		clientcap_body_put(&ws->msg);	/* no longer held */
	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
		/*
		 * Our close is out: the owner asked to hear no more; or the
		 * message was refused for its fragments or its client's
		 * budget (ws_frame_cb).
		 */
		if (ws->close_at != 0 || ws->frags > WS_FRAGMENTS_MAX ||
		    ws->refused)
			return;
		/* wslay checks this too; the owner relies on it. */
		if (!proto_utf8_valid(m->msg, m->msg_length)) {
			ws_fail(ws, WS_CLOSE_BAD_DATA, "invalid UTF-8");
			return;
		}
		msg = m->msg_length > 0 ? (const char *)m->msg : "";
		if (ws->cbs.on_text != NULL)
			ws->cbs.on_text(ws, msg, m->msg_length, ws->arg);
		break;
	case WSLAY_BINARY_FRAME:
		if (ws->close_at == 0)
			ws_fail(ws, WS_CLOSE_UNSUPPORTED,
			    "binary messages are not supported");
		break;
	case WSLAY_CONNECTION_CLOSE:
		/* wslay answers with an empty close; RFC 6455 5.5.1: 1002. */
		if (m->msg_length == 1)
			ws->bad_close = 1;
		break;
	default:
		/* Ping (wslay queued the pong), pong. */
		break;
	}
}

/*
 * A frame begins: a message in more than WS_FRAGMENTS_MAX is refused; its
 * bytes so far are charged to its client's body budget, as an HTTP body
 * being read is (PARLEY_MAX_BODY_KB_PER_CLIENT, PARLEY_MAX_BODY_MB), so
 * the sockets of one address cannot each hold a message half sent: one
 * past it is closed 1009.
 */
static void
ws_frame_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *f, void *arg)
{
	struct ws *ws = arg;
	size_t held;
	int st;

	(void)ctx;
	if (f->opcode >= WSLAY_CONNECTION_CLOSE)	/* control frames */
		return;
	ws->frags = f->opcode == WSLAY_CONTINUATION_FRAME ? ws->frags + 1 : 1;
	if (ws->frags == WS_FRAGMENTS_MAX + 1)
		ws_fail(ws, WS_CLOSE_TOO_BIG, "message in too many fragments");
	held = ws->frags > 1 ? ws->msg.bytes : 0;
	/* Past WS_MESSAGE_MAX wslay closes 1009 itself. */
	if (ws->refused || ws->frags > WS_FRAGMENTS_MAX ||
	    f->payload_length == 0 || f->payload_length > WS_MESSAGE_MAX - held)
		return;
	clientcap_body_put(&ws->msg);
	if ((st = clientcap_body_take_ip(&ws->client,
	    held + (size_t)f->payload_length, &ws->msg)) != 0) {
		ws->refused = 1;
		ws_fail(ws, WS_CLOSE_TOO_BIG, st == 429 ?
		    "message over the client's budget" :
		    "message over the worker's budget");
	}
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_frame_recv_start_callback = ws_frame_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

/* Frames what wslay holds into our buffer. */
static void
ws_pump(struct ws *ws)
{
	if (wslay_event_want_write(ws->ctx) &&
	    wslay_event_send(ws->ctx) < 0) {
		log_warnx("websocket %d: out of memory for output", ws->fd);
		ws->broken = 1;
	}
	if (wslay_event_get_close_sent(ws->ctx) && ws->sent_code == 0)
		ws->sent_code = wslay_event_get_status_code_sent(ws->ctx);
}

/* ------------------------------------------------------------ life */

struct ws *
ws_accept(struct conn *c, const struct http_request *req,
    const struct ws_cbs *cbs, void *arg)
{
	struct ws *ws;
	const char *key;
	char accept[29], head[160];
	int fd, route_ix;

	key = http_header(req, "sec-websocket-key");
	if (!key_valid(key)) {
		conn_send_error(c, 400, NULL, "Invalid Sec-WebSocket-Key");
		return NULL;
	}
	if (conn_hooks()->quitting()) {
		/* It would be told to go away at once. */
		conn_send_error(c, 503, NULL, "Server is shutting down");
		return NULL;
	}
	ws_accept_key(key, accept);
	if (accept[0] == '\0' || (ws = calloc(1, sizeof(*ws))) == NULL) {
		log_warnx("websocket: cannot accept");
		conn_close(c, "WebSocket: out of memory");
		return NULL;
	}
	if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0) {
		log_warnx("websocket: wslay context");
		free(ws);
		conn_close(c, "WebSocket: no wslay context");
		return NULL;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_MESSAGE_MAX);
	route_ix = c->route_ix;
	ws->peer = c->peer;
	clientip_of(c, req, &ws->client);
	ws->opened = c->opened;
	(void)snprintf(head, sizeof(head), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	c->acc_status = 101;
	c->acc_bytes = strlen(head);
	if (conn_release(c, &fd, &ws->tls, &ws->out, &ws->in, &ws->in_len) < 0) {
		wslay_event_context_free(ws->ctx);
		free(ws);
		conn_close(c, "WebSocket: cannot take the socket");
		return NULL;
	}
	conn_hooks()->answered(route_ix, 101);
	/* After anything conn.c still had to write. */
	buf_adds(&ws->out, head);
	/*
	 * The kernel's buffers bounded too (each grows to megabytes on its
	 * own): what a peer leaves unread, so one that floods pings and reads
	 * nothing is soon paused (WS_READ_PAUSE), and what it sends while
	 * paused.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &ws_sndbuf,
	    sizeof(ws_sndbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ws_rcvbuf,
	    sizeof(ws_rcvbuf));
	ws->fd = fd;
	ws->cbs = *cbs;
	ws->arg = arg;
	ws->last_rx = loop_now();
	loop_timer_init(&ws->timer, ws_timeout, ws);
	loop_defer_init(&ws->kick, ws_kick, ws);
	loop_defer_init(&ws->flushd, ws_flushd, ws);
	loop_defer_init(&ws->draind, ws_draind, ws);
	loop_defer_init(&ws->reap, ws_reap, ws);
	if (ws->out.err || loop_io_add(&ws->io, fd, EPOLLIN, ws_io, ws) < 0) {
		log_warn("websocket %d: cannot watch", fd);
		tlsio_free(&ws->tls);
		close(fd);
		ws_reap(ws);
		conn_hooks()->conns_changed(conn_count());
		return NULL;
	}
	TAILQ_INSERT_TAIL(&wss, ws, entry);
	nws++;
	conn_hooks()->conns_changed(conn_count());
	log_debug("websocket %d: open", fd);
	/* The 101 goes out and any early input is read this round. */
	loop_defer(&ws->kick);
	return ws;
}

static void
ws_reap(void *arg)
{
	struct ws *ws = arg;

	clientcap_body_put(&ws->msg);
	wslay_event_context_free(ws->ctx);
	buf_free(&ws->out);
	free(ws->in);
	free(ws);
}

/*
 * The one teardown: the fd closes, the owner hears of it, the ws goes.
 * why is a short static reason, logged at debug level.
 */
static void
ws_finish(struct ws *ws, const char *why)
{
	char addr[64];
	uint16_t code;

	if (ws->dead)
		return;
	ws->dead = 1;
	if (wslay_event_get_close_received(ws->ctx))
		code = wslay_event_get_status_code_received(ws->ctx);
	else if (ws->sent_code != 0)
		code = ws->sent_code;
	else
		code = 1006;	/* no close frame either way */
	if (log_wants(LOG_LEVEL_DEBUG)) {
		ipaddr_format(&ws->peer, addr, sizeof(addr));
		log_debug("websocket %d: closed (%s, code %u), client %s, "
		    "age %llu ms", ws->fd, why, code, addr,
		    (unsigned long long)(loop_now() - ws->opened));
	}
	loop_io_del(&ws->io);
	tlsio_free(&ws->tls);
	close(ws->fd);
	ws->fd = -1;
	loop_timer_stop(&ws->timer);
	loop_defer_cancel(&ws->kick);
	loop_defer_cancel(&ws->flushd);
	loop_defer_cancel(&ws->draind);
	TAILQ_REMOVE(&wss, ws, entry);
	nws--;
	if (ws->cbs.on_close != NULL)
		ws->cbs.on_close(ws, code, ws->arg);
	loop_defer(&ws->reap);
	conn_hooks()->conns_changed(conn_count());
}

/* ------------------------------------------------------------ I/O */

/*
 * Our 1002 written by hand in place of what wslay would send, which it
 * never frames: we stop its writing first.
 */
static void
ws_protocol_close(struct ws *ws, const char *why)
{
	static const unsigned char proto_close[] = { 0x88, 0x02, 0x03, 0xea };

	log_debug("websocket %d: closing 1002: %s", ws->fd, why);
	if (ws->sent_code == 0 && !ws->raw_close) {
		wslay_event_shutdown_write(ws->ctx);
		buf_add(&ws->out, proto_close, sizeof(proto_close));
		ws->raw_close = 1;
		ws->sent_code = WS_CLOSE_PROTOCOL;
	}
	wslay_event_shutdown_read(ws->ctx);
}

static void
ws_read(struct ws *ws)
{
	int r;

	ws->round = 0;
	r = wslay_event_recv(ws->ctx);
	if (ws->rfail) {
		/* Nobody to send wslay's empty close to. */
		wslay_event_shutdown_write(ws->ctx);
		return;
	}
	if (ws->bad_close) {
		ws_protocol_close(ws, "close frame with a 1-byte body");
		return;
	}
	if (r >= 0)
		return;
	if (r == WSLAY_ERR_NOMEM) {
		log_warnx("websocket %d: out of memory for input", ws->fd);
		ws->broken = 1;
		return;
	}
	/*
	 * wslay's frame reader found a broken frame and queued a close
	 * without a code (framed only when we pump, which we don't):
	 * what is wrong is the protocol, 1002.
	 */
	ws_protocol_close(ws, "bad frame");
}

static void
ws_linger_read(struct ws *ws)
{
	char scratch[4096];
	ssize_t n;
	int i;

	/* Thrown away; a bounded amount per round, epoll calls again. */
	for (i = 0; i < 16; i++) {
		n = recv(ws->fd, scratch, sizeof(scratch), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			ws->rfail = 1;
		return;
	}
}

static void
ws_flush(struct ws *ws)
{
	size_t pending;
	int rc;

	if (ws->out.err) {
		ws->broken = 1;
		return;
	}
	if (ws->hold_until != 0) {
		/* A closing socket holds nothing back. */
		if (loop_now() < ws->hold_until && ws->close_at == 0 &&
		    ws->sent_code == 0)
			return;		/* ws_settle arms the timer */
		ws->hold_until = 0;
	}
	pending = buf_pending(&ws->out);
	rc = tlsio_flush(ws->fd, &ws->tls, &ws->out);
	ws->written += pending - buf_pending(&ws->out);
	if (rc == -1) {
		log_debug("websocket %d: send: %s", ws->fd, strerror(errno));
		ws->broken = 1;
		return;
	}
	/*
	 * on_drain below the mark after reaching it, and once all that was
	 * sent is out: an owner that paused at a lower mark of its own
	 * hears of it too. Deferred: the owner may send more from it.
	 */
	if (ws->high && buf_pending(&ws->out) < WS_OUT_MAX / 4) {
		ws->high = 0;
		loop_defer(&ws->draind);
	}
	if (ws->owed && buf_pending(&ws->out) == 0) {
		ws->owed = 0;
		loop_defer(&ws->draind);
	}
}

static uint64_t
ws_deadline(const struct ws *ws)
{
	uint64_t d, t;

	if (ws->close_at != 0)
		return ws->close_at;
	d = ws->last_rx + ws_idle_ms;
	t = (ws->last_ping > ws->last_rx ? ws->last_ping : ws->last_rx) +
	    ws_ping_ms;
	if (t < d)
		d = t;
	return ws->hold_until != 0 && ws->hold_until < d ? ws->hold_until : d;
}

/*
 * A hold ended by more output or a close: its timer, when still set for
 * it, goes to the next deadline.
 */
static void
hold_end(struct ws *ws)
{
	uint64_t at = ws->hold_until;

	ws->hold_until = 0;
	if (at != 0 && loop_timer_armed(&ws->timer) && ws->timer.hn.at == at)
		loop_timer_at(&ws->timer, ws_deadline(ws));
}

/* After any work on ws: frame, write, end or wait for the next event. */
static void
ws_settle(struct ws *ws)
{
	uint32_t ev = 0;
	uint64_t d;
	int rd, closed_out;

	if (ws->dead)
		return;
	ws_pump(ws);
	if (!ws->broken)
		ws_flush(ws);
	if (ws->broken) {
		ws_finish(ws, "send failed or out of memory");
		return;
	}
	rd = wslay_event_want_read(ws->ctx) && !ws->rfail;
	closed_out = ws->sent_code != 0;
	if (ws->rfail && !ws->lingering &&
	    !wslay_event_get_close_received(ws->ctx)) {
		/* Gone without a close frame (EOF or reset). */
		ws_finish(ws, "peer gone without a close");
		return;
	}
	if (buf_pending(&ws->out) > WS_OUT_MAX && !closed_out) {
		/* Pongs piling up for a peer that does not read. */
		ws_fail(ws, WS_CLOSE_POLICY, "output limit");
		ws_pump(ws);
		if (ws->broken || (closed_out = ws->sent_code != 0) == 0) {
			ws_finish(ws, "output limit");
			return;
		}
		rd = 0;
	}
	if (ws->close_at == 0 && (closed_out || !rd))
		ws->close_at = loop_now() + ws_closing_ms;
	if (!rd && !wslay_event_want_write(ws->ctx) &&
	    buf_pending(&ws->out) == 0) {
		if (ws->rfail || (closed_out &&
		    wslay_event_get_close_received(ws->ctx))) {
			/* The handshake is done, or the peer has gone. */
			ws_finish(ws, ws->rfail ? "peer gone" : "closed");
			return;
		}
		if (!ws->lingering) {
			/*
			 * We failed the connection and read no more frames:
			 * half-close, and drain until the peer closes too.
			 */
			tlsio_shutdown(&ws->tls);
			(void)shutdown(ws->fd, SHUT_WR);
			ws->lingering = 1;
		}
	}
	/* Backed up: read on once the peer has taken what it was sent. */
	if (rd && ws_out_pending(ws) >= WS_READ_PAUSE)
		rd = 0;
	if (rd || ws->lingering)
		ev |= EPOLLIN;
	if (buf_pending(&ws->out) > 0 && ws->hold_until == 0)
		ev |= EPOLLOUT;
	/* Input held inside TLS brings no event (a round cut short). */
	if (rd && !ws->lingering && tlsio_pending(&ws->tls))
		loop_defer(&ws->kick);
	ev = tlsio_events(&ws->tls, ev);
	if (loop_io_mod(&ws->io, ev) < 0) {
		log_warn("websocket %d: epoll_ctl", ws->fd);
		ws_finish(ws, "epoll_ctl failed");
		return;
	}
	d = ws_deadline(ws);
	if (!loop_timer_armed(&ws->timer) || d < ws->timer.hn.at)
		loop_timer_at(&ws->timer, d);
}

static void
ws_io(int fd, uint32_t events, void *arg)
{
	struct ws *ws = arg;

	events = tlsio_ready(&ws->tls, events);
	if (events & EPOLLERR) {
		ws->rfail = 1;
		ws_finish(ws, "socket error");
		return;
	}
	if (events & EPOLLOUT)
		ws_flush(ws);
	if (events & (EPOLLIN | EPOLLHUP)) {
		if (ws->lingering)
			ws_linger_read(ws);
		else if (wslay_event_want_read(ws->ctx) && !ws->rfail)
			ws_read(ws);
		else
			ws->rfail = 1;	/* hung up; nothing more to read */
	}
	ws_settle(ws);
}

static void
ws_timeout(void *arg)
{
	struct ws *ws = arg;
	uint64_t now = loop_now(), d = ws_deadline(ws);
	struct wslay_event_msg ping;

	if (now < d) {
		loop_timer_at(&ws->timer, d);
		return;
	}
	if (d == ws->hold_until) {
		/* The held output's time is up: it leaves alone. */
		ws->hold_until = 0;
		ws_settle(ws);
		return;
	}
	if (ws->close_at != 0) {
		ws_finish(ws, "closing handshake timed out");
		return;
	}
	if (now >= ws->last_rx + ws_idle_ms) {
		ws_finish(ws, "peer silent");
		return;
	}
	memset(&ping, 0, sizeof(ping));
	ping.opcode = WSLAY_PING;
	(void)wslay_event_queue_msg(ws->ctx, &ping);
	ws->last_ping = now;
	ws_settle(ws);
}

static void
ws_kick(void *arg)
{
	struct ws *ws = arg;

	if (ws->dead)
		return;
	if (ws->in != NULL || (tlsio_pending(&ws->tls) && !ws->lingering &&
	    !ws->rfail && wslay_event_want_read(ws->ctx)))
		ws_read(ws);
	ws_settle(ws);
}

static void
ws_flushd(void *arg)
{
	ws_settle(arg);
}

static void
ws_draind(void *arg)
{
	struct ws *ws = arg;

	if (!ws->dead && ws->close_at == 0 && ws->cbs.on_drain != NULL)
		ws->cbs.on_drain(ws, ws->arg);
}

/* ------------------------------------------------------------ owner */

void
ws_hold(struct ws *ws, uint64_t ms)
{
	if (ms > 0 && !ws->dead && ws->close_at == 0 && ws->sent_code == 0)
		ws->hold_until = loop_now() + ms;
}

size_t
ws_out_pending(const struct ws *ws)
{
	return buf_pending(&ws->out) +
	    wslay_event_get_queued_msg_length(ws->ctx);
}

void
ws_out_pos(const struct ws *ws, uint64_t *queued, uint64_t *out)
{
	*out = ws->written;
	*queued = ws->written + ws_out_pending(ws);
}

int
ws_send_text(struct ws *ws, const char *data, size_t len)
{
	struct wslay_event_msg m;

	if (ws->dead || ws->close_at != 0 || ws->sent_code != 0 ||
	    !wslay_event_get_write_enabled(ws->ctx))
		return -1;
	if (ws_out_pending(ws) + len > WS_OUT_MAX) {
		log_debug("websocket %d: output over %u bytes", ws->fd,
		    WS_OUT_MAX);
		ws_close(ws, WS_CLOSE_POLICY, "output limit");
		return -1;
	}
	hold_end(ws);	/* what was held goes with this */
	memset(&m, 0, sizeof(m));
	m.opcode = WSLAY_TEXT_FRAME;
	m.msg = (const uint8_t *)data;
	m.msg_length = len;
	if (wslay_event_queue_msg(ws->ctx, &m) != 0)
		return -1;
	ws_pump(ws);
	ws->owed = 1;
	if (ws_out_pending(ws) >= WS_OUT_MAX / 4)
		ws->high = 1;
	loop_defer(&ws->flushd);
	return 0;
}

void
ws_close(struct ws *ws, uint16_t code, const char *reason)
{
	size_t len;

	if (ws->dead || ws->close_at != 0 || ws->sent_code != 0)
		return;
	if (reason == NULL)
		reason = "";
	/* The frame's limit; never cut a character in two. */
	len = proto_utf8_cut(reason, strlen(reason), 123);
	if (wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
	    len) != 0)
		return;
	hold_end(ws);
	ws_pump(ws);
	ws->close_at = loop_now() + ws_closing_ms;
	loop_defer(&ws->flushd);
}

void
ws_close_all(uint16_t code, const char *reason)
{
	struct ws *ws;

	TAILQ_FOREACH(ws, &wss, entry)
		ws_close(ws, code, reason);
}

void
ws_close_idle(uint16_t code, const char *reason)
{
	struct ws *ws;

	TAILQ_FOREACH(ws, &wss, entry)
		if (ws->cbs.busy == NULL || !ws->cbs.busy(ws->arg))
			ws_close(ws, code, reason);
}
