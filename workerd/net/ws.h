/*
 * WebSocket connections (RFC 6455): the upgrade handshake (SHA-1 from
 * OpenSSL) and framing with wslay's event API, on a connection taken over
 * from conn.c once the 101 answer is queued.
 *
 * Limits: a text message of at most WS_MESSAGE_MAX bytes in at most
 * WS_FRAGMENTS_MAX frames (larger, or more: close 1009; wslay keeps each
 * fragment in an allocation of its own, so a message of 1-byte fragments
 * would cost a hundred times its bytes), charged while it comes to its
 * client's body budget (clientcap_body_take_ip; past it: close 1009); binary messages are refused
 * (close 1003); text that is not UTF-8
 * closes 1007; protocol errors 1002 (wslay's). A ping goes out after
 * WS_PING_MS of silence from the peer, and a peer silent for WS_IDLE_MS
 * (no pong, no message) is dropped without a closing handshake. A closing
 * handshake the peer does not finish within 5 s is cut. A socket with
 * WS_READ_PAUSE unsent bytes or more is not read until they drain (the
 * pongs of a client that floods pings and never reads stay bounded: at
 * most one read round more); output beyond WS_OUT_MAX unsent bytes
 * closes the connection (1008): a client that does not read cannot grow
 * the worker.
 * A quitting worker closes every WebSocket with 1001 ("going away").
 *
 * The owner (wschat.c) gets whole text messages through on_text and is
 * told once through on_close when the socket is gone, whoever closed it;
 * after on_close the ws is freed and must not be used.
 */
#ifndef PARLEY_WS_H
#define PARLEY_WS_H

#include <stddef.h>
#include <stdint.h>

#define WS_MESSAGE_MAX	(64u * 1024)
#define WS_FRAGMENTS_MAX	256
/* The largest message sent is the resume's history (wschat.c): 512 KiB. */
#define WS_OUT_MAX	(576u * 1024)
#define WS_READ_PAUSE	(32u * 1024)
#define WS_PING_MS	30000
#define WS_IDLE_MS	75000

/* Close codes (RFC 6455 section 7.4.1) and ours (4000-4999). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011
#define WS_CLOSE_WIDGET_GONE	4004	/* the widget was disabled, deleted or re-keyed */

struct conn;
struct http_request;
struct ws;

struct ws_cbs {
	/* One whole text message, valid UTF-8, at most WS_MESSAGE_MAX bytes. */
	void (*on_text)(struct ws *, const char *msg, size_t len, void *arg);
	/*
	 * Output fell below WS_OUT_MAX / 4 after ws_out_pending() was high
	 * (at or above WS_OUT_MAX / 4 once a message was queued), or all
	 * that was sent has been written: an owner that paused at any mark
	 * up to WS_OUT_MAX / 4 resumes here. It may come when nothing was
	 * paused. Called from the loop.
	 */
	void (*on_drain)(struct ws *, void *arg);
	/*
	 * The connection is gone; ws is freed right after this returns.
	 * code: the peer's close code if it sent one (1005: a close without
	 * a code), else ours, else 1006 (it just ended: EOF, reset, silence).
	 * Always called from the loop, never from inside ws_send_text() or
	 * ws_close().
	 */
	void (*on_close)(struct ws *, uint16_t code, void *arg);
	/*
	 * Whether the socket is in the middle of an answer (a reply
	 * streaming): a quitting worker's ws_close_idle leaves it to close
	 * when it is over. NULL: never.
	 */
	int (*busy)(void *arg);
};

/*
 * Checks an upgrade request (GET, HTTP/1.1, Upgrade: websocket, Connection
 * with "upgrade", Sec-WebSocket-Version 13, a Sec-WebSocket-Key that is 16
 * bytes in base64). 0 when it is one, else the HTTP status to refuse it
 * with (400, or 426 for another version: the caller adds the header
 * "Sec-WebSocket-Version: 13") and *why, a short static text for the JSON
 * error.
 */
int ws_check_upgrade(const struct http_request *, const char **why);
/*
 * Answers 101 and turns c into a WebSocket: from here conn.c no longer
 * owns the fd (c is freed after this round; the request stays valid until
 * the handler returns). Output c had not written yet goes out first, and
 * bytes read past the request are the WebSocket's first input. Returns
 * NULL when that fails: c was answered (400 bad key, 503 while the worker
 * quits) or closed; either way the caller is done with it.
 */
struct ws *ws_accept(struct conn *c, const struct http_request *,
    const struct ws_cbs *, void *arg);
/*
 * Queues one text message (written after this round of events); -1 when
 * the ws is closing, or would go over WS_OUT_MAX (it then closes, 1008).
 */
int ws_send_text(struct ws *, const char *data, size_t len);
/*
 * What was sent so far leaves with the next message or close, or ms from
 * now, whichever is first (conn_stream_hold's, for a socket). 0: nothing
 * held.
 */
void ws_hold(struct ws *, uint64_t ms);
size_t ws_out_pending(const struct ws *);
/*
 * How far the output got, in bytes: queued, all that was queued so far
 * (each message counted once framed: ws_send_text frames it at once);
 * out, what of it was written to the socket. The rest waits in the
 * buffer, which a connection closing throws away.
 */
void ws_out_pos(const struct ws *, uint64_t *queued, uint64_t *out);
/*
 * Starts the closing handshake with code and reason (at most 123 bytes);
 * on_close follows once it is done or timed out.
 */
void ws_close(struct ws *, uint16_t code, const char *reason);
/* Open WebSockets in this worker; they count as connections for drain. */
unsigned int ws_count(void);
/* A quitting worker: close every WebSocket with code. */
void ws_close_all(uint16_t code, const char *reason);
/* The same for every WebSocket not busy (its callbacks' busy). */
void ws_close_idle(uint16_t code, const char *reason);
/* Sec-WebSocket-Accept for key (RFC 6455 4.2.2); out holds 29 bytes. */
void ws_accept_key(const char *key, char out[29]);

#endif
