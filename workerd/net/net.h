/*
 * The transport's side of workerd (net/; the files' own headers, http.h,
 * resp.h, ws.h, tlsio.h, urlpolicy.h, curlsock.h, are beside it): the client
 * connections every handler answers on (conn.c), CORS_ORIGIN (cors.c),
 * the client's address (clientip.c) and what each client holds open
 * (clientcap.c). It names nothing above it: conn.c calls its owner
 * through conn_hooks. workerd.h includes it.
 */
#ifndef PARLEY_NET_H
#define PARLEY_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <jansson.h>

#include "http.h"
#include "loop.h"
#include "resp.h"
#include "settings.h"
#include "storemsg.h"
#include "tlsio.h"

/* ---------------------------------------------------------------- conn.c */

/*
 * Above this much unsent output a connection is not read and its next
 * pipelined request waits: one answer in flight beyond the socket's
 * buffer, as nginx holds, so a client that pipelines and never reads
 * pins about one answer per connection, not a megabyte of them.
 */
#define CONN_OUT_HIGH	(16 * 1024)
#define CONN_DRAIN_LOW	(16 * 1024)	/* a stream may write more below this */
/*
 * A worker's descriptors (RLIMIT_NOFILE) not given to client connections
 * (conn_max_for): a quarter of them and CONN_FDS_KEPT more, for storaged,
 * the model, clamd, actions, name lookups and the worker's own. A worker
 * whose table filled lost the connection masterd handed it next.
 */
#define CONN_FDS_KEPT_PART	4
#define CONN_FDS_KEPT		32

enum conn_stream {
	STREAM_NONE,
	STREAM_CHUNKED,		/* HTTP/1.1: Transfer-Encoding: chunked */
	STREAM_CLOSE,		/* HTTP/1.0: the body ends when we close */
};

enum conn_state {
	CONN_READ,	/* idle, or a request is arriving */
	CONN_BUSY,	/* a request is being answered (maybe asynchronously) */
	CONN_CLOSING,	/* last response queued: flush, then shut down */
	CONN_LINGER,	/* write side shut: drain input briefly, then close */
	CONN_DEAD,
};

struct storec_req;
struct conn;

/*
 * What the transport (conn.c, ws.c) needs from its owner, set once at
 * start with conn_hooks_set() (router_wire() does it), so that net/ calls
 * nothing above it. A member left NULL does nothing (dispatch: 503).
 */
/* A request body's charge (clientcap.c): its client's count, the bytes. */
struct clientcap;
struct clientcap_body {
	struct clientcap *cap;
	size_t bytes;
};

struct conn_hooks {
	/* Starts answering a parsed request (the router). */
	void (*dispatch)(struct conn *, struct http_request *);
	/* One answer's status; route_ix -1 when no route took it (metrics). */
	void (*answered)(int route_ix, int status);
	/* 1 while the worker quits: no keep-alive, no new WebSocket. */
	int (*quitting)(void);
	/* The open connection count changed; n is conn.c's share. */
	void (*conns_changed)(unsigned int n);
	/* Forgets the storaged request a handler left in c->sreq. */
	void (*sreq_cancel)(struct storec_req *);
	/* The most body bytes the request may send (its route's limit). */
	size_t (*body_max)(const struct http_request *);
	/*
	 * A request refused at its head, its body not read (413, 429, 503):
	 * the status to answer (403 for an Origin CORS_ORIGIN refuses) and
	 * the header lines it carries into hdrs (its CORS headers, so the
	 * page can read it; Retry-After).
	 */
	int (*head_refused)(const struct http_request *, int status,
	    char *hdrs, size_t hdrsz);
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	int fd;
	enum conn_state state;
	struct loop_io io;
	struct loop_timer timer;
	struct loop_defer reap;
	struct http_in in;
	char *pend;		/* input read but not yet fed to the parser */
	size_t pend_len, pend_off;
	struct buf out;
	struct http_request *req;	/* CONN_BUSY: the request being answered */
	int keep_alive;
	int head_only;
	int feeding;		/* inside conn_feed(): don't re-enter */
	int eof;		/* the client shut its sending side */
	uint64_t opened;	/* when conn_new took the socket */
	uint64_t req_start;	/* first byte of the request being read */
	uint64_t fed_at;	/* input last fed to the parser (a body's pace) */
	int served;		/* a request was read: PARLEY_IDLE_TIMEOUT_MS */
	int acc_status;		/* the answer's status (access log) */
	size_t acc_bytes;	/* bytes of the answer queued so far */
	uint64_t routed_us;	/* when router_dispatch took it (Server-Timing) */
	uint64_t idle_since;
	uint64_t write_since;	/* last write progress while output waits */
	uint64_t linger_until;
	uint64_t hold_until;	/* conn_stream_hold's end; 0 none */
	/*
	 * A handler that answers later keeps its state here. sreq is
	 * cancelled and abort() called if the connection goes away first.
	 */
	struct storec_req *sreq;
	void (*abort)(struct conn *);
	void *hctx;
	void (*hfree)(void *);	/* conn_hold's: frees hctx */
	/*
	 * abort_on_eof: the client shutting its side while the request is
	 * answered means it left (set by handlers that run long, as nginx
	 * does for proxied requests); the connection is closed at once.
	 */
	int abort_on_eof;
	/*
	 * Input came while the answer was being made: EPOLLIN is dropped
	 * until the connection reads again. Until then it stays on, so a
	 * request whose client waits quietly costs no epoll_ctl either way.
	 */
	int busy_input;
	struct ipaddr peer;	/* the socket's peer address */
	struct clientcap *cap;	/* its count in its client's (NULL: none) */
	struct clientcap_body body;	/* the body being read, charged */
	const char *cors_hdrs;	/* CORS header lines for this answer (static) */
	int admin_session;	/* a dashboard session allowed this request */
	uint64_t session_expires;	/* its end (wall ms); 0 none */
	struct st_who who;	/* who asks (the router's gate), for storaged */
	int route_ix;		/* router_route() index of the request; -1 none */
	enum conn_stream stream;
	/* Called (deferred) once output falls to CONN_DRAIN_LOW, if armed. */
	void (*drained)(struct conn *);
	int drain_armed;
	struct loop_defer flushd;	/* deferred write of streamed output */
	struct loop_defer draind;
	struct loop_defer readd;	/* read input buffered inside TLS */
	struct tlsio tls;
	/* While a handler runs from conn_input: the input after its request. */
	const char *rest;
	size_t rest_len;
};

/*
 * The connections (HTTP and WebSocket together) a worker may hold with
 * nofile descriptors: nofile less a quarter and CONN_FDS_KEPT, at least 1.
 */
unsigned int conn_max_for(uint64_t nofile);
/*
 * Sets that cap (0: none, the start's): a connection past it is answered
 * 503 {"error":"Too many connections"} and closed before its request is
 * read (over TLS only closed), as a client's over its own cap is (429).
 */
void conn_max_set(unsigned int max);
/* Sets the transport's hooks (copied; NULL members do nothing). */
void conn_hooks_set(const struct conn_hooks *);
/* The hooks as set, for ws.c; every member callable. */
const struct conn_hooks *conn_hooks(void);
/*
 * Takes an accepted client socket, non-blocking (masterd accepts with
 * SOCK_NONBLOCK, and TCP_NODELAY comes from its listener), and its
 * client's address; peer NULL: the socket is asked (getpeername).
 * Returns NULL (fd closed) on failure.
 */
struct conn *conn_new(int fd, const struct ipaddr *peer);
/*
 * The one teardown: aborts what answers c, closes the socket. why is a
 * short static reason, logged at debug level with the client and the
 * connection's age.
 */
void conn_close(struct conn *, const char *why);
/*
 * A handler lets go of c: no context, abort, drain callback or abort on
 * EOF from here (its answer is its own, or c is going).
 */
void conn_let_go(struct conn *);
/*
 * Whether the client reached c by https: c speaks TLS itself (TLS_CERT),
 * or production, where a TLS proxy is in front. A session cookie is then
 * Secure and a link given out https.
 */
int conn_https(const struct conn *);
/*
 * A handler that answers later holds c with its state ctx (c->hctx):
 * free_ctx(ctx) is called if c goes away first.
 */
void conn_hold(struct conn *, void *ctx, void (*free_ctx)(void *));
/* What conn_hold kept, c let go (conn_let_go): the handler's to free. */
void *conn_take(struct conn *);
/*
 * A handler's own pointer to its connection let go: conn_let_go(*cp) when
 * *cp is not NULL and its handler is still hctx; *cp NULL after.
 */
void conn_drop_handler(struct conn **cp, const void *hctx);
/* The access log (one info line per answered request): off by default. */
void conn_access_log(int on);
/*
 * The access log's line for one request into out: "client method path
 * status bytes ms", the path without its query string (it may carry a
 * token), control bytes and blanks as '?', cut to fit.
 */
void conn_access_format(char *out, size_t outsz, const char *client,
    const char *method, const char *path, int status, size_t bytes,
    uint64_t ms);
unsigned int conn_count(void);
unsigned int conn_streams(void);
/* Closes idle connections (worker quitting with close_idle). */
void conn_close_idle(void);
/*
 * Hands the socket of the request being answered to another protocol
 * (ws.c, once its 101 is queued): *fd and its TLS state; the output not yet written (*out,
 * moved: write it first); the input read past the request (*in, malloc'd,
 * *inlen bytes, NULL if none: the new protocol's first bytes, before
 * anything more is read from the fd). c is then gone as after
 * conn_close(), but the fd stays open and the new owner reports the
 * connection count (conn_hooks()->conns_changed). -1, c untouched, when c is not
 * answering a plain request or memory runs out.
 */
int conn_release(struct conn *, int *fd, struct tlsio *, struct buf *out,
    char **in, size_t *inlen);

/*
 * Answers the request being handled; ends it. headers are extra full
 * header lines ("Name: value\r\n") or NULL; ctype NULL means JSON.
 */
void conn_send(struct conn *, int status, const char *headers,
    const char *ctype, const void *body, size_t len);
void conn_send_error(struct conn *, int status, const char *headers,
    const char *message);
/* Dumps v (compact) as the body; a dump failure answers 500. Steals v. */
void conn_send_json(struct conn *, int status, const char *headers,
    json_t *v);
/*
 * A streamed answer: the head now (chunked on HTTP/1.1; on HTTP/1.0 no
 * framing and the connection closes at the end), then any number of
 * writes, each sent as its own chunk after the current round of events,
 * then the end. 0, or -1 when the connection is not answering.
 */
int conn_stream_start(struct conn *, int status, const char *headers,
    const char *ctype);
void conn_stream_write(struct conn *, const void *, size_t);
void conn_stream_end(struct conn *);
/*
 * HEAD of what GET streams: the head conn_stream_start would send (no
 * Content-Length: a length of 0 would say the GET's body is empty), no
 * body; the answer ends.
 */
void conn_stream_head(struct conn *, int status, const char *headers,
    const char *ctype);
/*
 * What the stream queued so far leaves with its next write or end, or
 * ms from now, whichever is first: one packet (and one wake-up of the
 * client) where two would go, when more is known to follow soon. 0:
 * nothing held.
 */
void conn_stream_hold(struct conn *, uint64_t ms);
/* Output not yet written to the socket. */
size_t conn_out_pending(const struct conn *);
/* The output memory kept for the next answers (conn.c's spares): how many, their bytes. */
size_t conn_out_spares(size_t *bytes);
/* Calls cb (from a deferred call) once output falls to CONN_DRAIN_LOW. */
void conn_watch_drain(struct conn *, void (*cb)(struct conn *));

/* ---------------------------------------------------------------- cors.c */

enum cors_verdict {
	CORS_NO_ORIGIN,		/* no Origin header: not a CORS request */
	CORS_ALLOWED,
	CORS_DENIED,		/* 403 {"error":"Origin not allowed"} */
};

/* Preflight answer headers (methods, headers, max-age). */
extern const char cors_preflight_headers[];

void cors_init(const struct settings *);
void cors_shutdown(void);
/*
 * Decides for a request's Origin (NULL: none); *headers is set to the
 * header lines the answer carries (static; NULL for none).
 */
enum cors_verdict cors_check(const char *origin, const char **headers);

/* ------------------------------------------------------------ clientip.c */

/* The peer of a connected socket (family 0 when not an IP socket). */
void clientip_peer(int fd, struct ipaddr *);
/*
 * Whether peer is a proxy whose X-Forwarded-For counts and whose own
 * connections are not capped: one in trust, or a peer that is not an IP
 * address (family 0: a Unix socket, reached only from this host, by the
 * proxy in front of us).
 */
int clientip_trusted(const struct ipaddr *peer, const struct ipnet *trust,
    size_t ntrust);
/*
 * The client behind a trusted proxy (clientip_trusted): walks xff from
 * the right while the hops are in trust. 1 when an address from xff was taken, 0 when *out
 * is the peer (untrusted peer, no header, or a malformed entry).
 */
int clientip_xff(const struct ipaddr *peer, const char *xff,
    const struct ipnet *trust, size_t ntrust, struct ipaddr *out);
/* The request's client (wsettings.trust, every X-Forwarded-For line). */
void clientip_of(const struct conn *, const struct http_request *,
    struct ipaddr *);
/* The client as limits count it: IPv4 as is, IPv6 cut to its /64. */
void clientip_mask(const struct ipaddr *, struct ipaddr *out);
/*
 * The request's per-client limit key: prefix, then clientip_of's address
 * through clientip_mask, formatted ("login:203.0.113.7",
 * "ip:2001:db8:1:2::"). Cut to outsz.
 */
void clientip_key(const struct conn *, const struct http_request *,
    const char *prefix, char *out, size_t outsz);

/* ----------------------------------------------------------- clientcap.c */

/* What one client holds open in this worker, each counted apart. */
enum clientcap_kind { CLIENTCAP_CONN, CLIENTCAP_WS, CLIENTCAP_BODY,
    CLIENTCAP_KINDS };
struct clientcap;	/* one client's count: the handle a take returns */

/*
 * Counts one more of kind for ip (through clientip_mask): 0 counted, with
 * *out the handle to give back (NULL when nothing was counted: max 0 is
 * no cap, and out of memory errs open); 1 when ip already holds max
 * (nothing counted).
 */
int clientcap_take(enum clientcap_kind, const struct ipaddr *ip,
    uint32_t max, struct clientcap **out);
/* Gives one back; the client's entry goes with its last. NULL is a no-op. */
void clientcap_put(struct clientcap *);
/* What ip holds now; how many clients hold anything. */
uint32_t clientcap_count(enum clientcap_kind, const struct ipaddr *ip);
size_t clientcap_clients(enum clientcap_kind);
/*
 * clientcap_take for a new connection from peer, with
 * wsettings.max_conns_per_client; a trusted proxy (clientip_trusted) is
 * not counted.
 */
int clientcap_conn_take(const struct ipaddr *peer, struct clientcap **out);
/*
 * clientcap_take for a WebSocket upgrade, by the request's client
 * (clientip_of), with wsettings.max_ws_per_client.
 */
int clientcap_ws_take(const struct conn *, const struct http_request *,
    struct clientcap **out);
/*
 * Charges n body bytes to the request's client (clientip_of, against
 * PARLEY_MAX_BODY_KB_PER_CLIENT) and to this worker's total (against
 * PARLEY_MAX_BODY_MB): 0 with *out set, 429 (the client's budget) or 503
 * (the worker's), nothing charged. clientcap_body_put gives it back.
 */
int clientcap_body_take(const struct conn *, const struct http_request *,
    size_t n, struct clientcap_body *out);
/*
 * The same for the client ip (clientip_of's, taken earlier): a WebSocket
 * message being reassembled (ws.c).
 */
int clientcap_body_take_ip(const struct ipaddr *ip, size_t n,
    struct clientcap_body *out);
void clientcap_body_put(struct clientcap_body *);
/* The body bytes charged in this worker now. */
size_t clientcap_body_total(void);

#endif
