/*
 * parley-workerd: one non-blocking event loop serving many HTTP
 * connections handed over by parley-masterd; or, started with
 * "--role notifier", masterd's one notifier (notify/notifier.c).
 *
 *	main.c		the role, set-up from masterd's settings, the loop
 *	worker.c	settings shared by the modules, graceful quit
 *	master.c	the channel to masterd (MW_SETTINGS, MW_CONN, MW_QUIT, WM_LOAD)
 *	router.c	method + path -> handler (one table); 404, 405; /health
 *	storec.c	asynchronous client of parley-storaged
 *	(the event loop is lib/loop.c, loop.h)
 *
 *	net/		the transport; it knows nothing above it (conn_hooks)
 *	  conn.c	client connections: read, parse, answer in order, timeouts
 *	  http.c	HTTP/1.1 request parsing (http.h)
 *	  resp.c	response writing (resp.h)
 *	  ws.c		WebSocket connections: handshake, framing (ws.h)
 *	  tlsio.c	TLS on a connection (tlsio.h)
 *	  cors.c	CORS_ORIGIN: which origins may call, their headers
 *	  clientip.c	the client's address (peer, TRUST_PROXY, X-Forwarded-For)
 *	model/		the model client
 *	  upstream.c	OpenAI-compatible calls on libcurl multi (upstream.h)
 *	  sse.c		the model's Server-Sent Events, parsed (sse.h)
 *	chat/		the chat turn and its front ends
 *	  turn.c	one chat turn, for every front end (turn.h)
 *	  chat.c	the HTTP chat endpoints: JSON and NDJSON (x-api-key)
 *	  wschat.c	the widget's WebSocket chat (Loquent protocol)
 *	  wsmsg.c	the widget visitor's messages, parsed and checked
 *	  wsframes.c	the visitor's frames in one table: parser, answer, rules
 *	  wsidentity.c	a socket's verified identity (identify, issue 26)
 *	  wsconvs.c	a visitor's conversations: new, listed, read (issue 26)
 *	admin/		the owner's side
 *	  admin.c	the admin API (x-admin-api-key)
 *	  export.c	GET /v1/admin/export, streamed
 *	  dashauth.c	dashboard login and sessions; the admin gate (cookie)
 *	  widgets.c	admin widgets and contacts; the public widget config
 *	  agents.c	admin agents (who answers a widget); the default one
 *	  orgs.c	admin organisations (install key only)
 *	  entity.c	the admin handlers widgets, agents and organisations share
 *	  metrics.c	GET /metrics: our counters, pushed to storaged, merged
 *	  handoff.c	a person answers: handoff state, their messages, typing
 *	  events.c	GET /v1/admin/events: storaged's events as Server-Sent Events
 *	  webhooks.c	admin webhooks: CRUD, the secret made, where a URL points
 *	notify/		the notifier's parts (notify.h): signing, addresses, retries
 *	  notifier.c	the notifier role: its process, its loop (no deliveries)
 *	site/		files served as they are
 *	  static.c	the widget bundle and the test pages (static.h)
 *	  dashpages.c	the dashboard's pages and assets (docs/dashboard.md)
 *	  openapi.c	GET /v1/openapi.json, embedded from openapi.json
 */
#ifndef PARLEY_WORKERD_H
#define PARLEY_WORKERD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <jansson.h>

#include "dashmsg.h"
#include "exportrows.h"
#include "http.h"
#include "loop.h"
#include "proto.h"
#include "stmsgs.h"
#include "resp.h"
#include "settings.h"
#include "storemsg.h"
#include "tlsio.h"

#define WORKERD_NAME		"parley-workerd"

/* The event loop is lib/loop.c (loop.h). */

/* -------------------------------------------------------------- worker.c */

struct worker_conf {
	uint32_t header_timeout_ms;	/* PARLEY_HEADER_TIMEOUT_MS */
	uint32_t idle_timeout_ms;	/* PARLEY_IDLE_TIMEOUT_MS */
	uint32_t linger_ms;		/* drain input this long after closing */
	uint32_t storage_timeout_ms;	/* a storaged request gives up after this */
};
extern struct worker_conf wconf;
/*
 * Every setting this worker uses (lib/settings.h), as masterd sent them
 * (PROTO_MW_SETTINGS, master_open); workerd never reads the environment.
 */
extern struct settings wsettings;

void worker_conf_defaults(void);
/* Gives freed heap memory back to the system now and then (worker.c). */
void worker_trim_start(void);
/* Leave: no new connections, finish what is in flight, then stop the loop. */
void worker_quit(uint32_t grace_ms, int close_idle);
int worker_quitting(void);
/* conn.c reports every change of the open connection count here. */
void worker_conns_changed(unsigned int n);
/* chat.c: a chat turn that outlived its connection has finished. */
void worker_turn_finished(void);

/* -------------------------------------------------------------- master.c */

/* Takes the channel fd (PARLEY_CHANNEL_FD) and watches it. */
/*
 * Takes the channel on fd and waits (a few seconds at most) for masterd's
 * PROTO_MW_SETTINGS, which follows its HELLO, into st; fatal when it does
 * not come or does not parse. Call before loop_init().
 */
void master_open(int fd, struct settings *st);
/*
 * Serves the channel from the loop (after loop_init). quit is how the
 * role leaves, on MW_QUIT and when the channel is lost (worker_quit, or
 * the notifier's); conns: the role takes MW_CONN and reports WM_LOAD (a
 * notifier does neither: an MW_CONN's fd is closed).
 */
void master_init(void (*quit)(uint32_t grace_ms, int close_idle), int conns);
void master_ready(void);
/* The open connection count; sent as WM_LOAD at most every 50 ms. */
void master_load(unsigned int n);

/* ---------------------------------------------------- notify/notifier.c */

/* The notifier's comm, title and log name (a worker's: WORKERD_NAME). */
#define NOTIFIER_NAME		"parley-notify"

/*
 * The notifier role (`parley-workerd --role notifier`), after main() has
 * the settings (master_open): connects to storaged (PARLEY_STORAGED),
 * tells masterd it is ready and runs its loop until MW_QUIT, the loss of
 * masterd's channel, or SIGTERM/SIGINT. Takes no connections. Returns
 * main's exit status.
 */
int notifier_run(const struct settings *);

/* ---------------------------------------------------------------- conn.c */

#define CONN_OUT_HIGH	(1024 * 1024)	/* stop reading above this much output */
#define CONN_DRAIN_LOW	(16 * 1024)	/* a stream may write more below this */

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
	int acc_status;		/* the answer's status (access log) */
	size_t acc_bytes;	/* bytes of the answer queued so far */
	uint64_t routed_us;	/* when router_dispatch took it (Server-Timing) */
	uint64_t idle_since;
	uint64_t write_since;	/* last write progress while output waits */
	uint64_t linger_until;
	/*
	 * A handler that answers later keeps its state here. sreq is
	 * cancelled and abort() called if the connection goes away first.
	 */
	struct storec_req *sreq;
	void (*abort)(struct conn *);
	void *hctx;
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

/* Sets the transport's hooks (copied; NULL members do nothing). */
void conn_hooks_set(const struct conn_hooks *);
/* The hooks as set, for ws.c; every member callable. */
const struct conn_hooks *conn_hooks(void);
/* Takes an accepted client socket. Returns NULL (fd closed) on failure. */
struct conn *conn_new(int fd);
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
/* Output not yet written to the socket. */
size_t conn_out_pending(const struct conn *);
/* Calls cb (from a deferred call) once output falls to CONN_DRAIN_LOW. */
void conn_watch_drain(struct conn *, void (*cb)(struct conn *));

/* -------------------------------------------------------------- router.c */

#define ROUTE_MAX_PARAMS	2

/* Method bits; M_GET also allows HEAD. */
#define M_GET		0x01
#define M_POST		0x02
#define M_PUT		0x04
#define M_PATCH		0x08
#define M_DELETE	0x10
#define M_OPTIONS	0x20

struct route_match;
typedef void (*route_fn)(struct conn *, struct http_request *,
    const struct route_match *);

/* Route flags. */
#define R_ADMIN		0x01	/* the admin API: its key or a session */
#define R_DASH		0x02	/* the dashboard's pages and login API */
#define R_PUBLIC	0x04	/* any Origin: no CORS_ORIGIN check, no CORS headers */
/* With R_ADMIN: the install key only; a dashboard session is 403. */
#define R_INSTALL	0x08

struct route {
	unsigned int methods;
	const char *pattern;	/* "/a/b", a ":name" segment matches one segment */
	route_fn fn;
	unsigned int flags;	/* R_* */
	size_t body_max;	/* its requests' body limit; 0: ROUTE_BODY_SMALL */
	uint8_t role;		/* R_ADMIN: the lowest role it needs (st_role) */
};

/*
 * Request body limits, checked from Content-Length before a byte is read
 * (conn.c's admit): a body is charged to its client's and the worker's
 * budgets in full, so each is what its routes need, not more.
 */
#define ROUTE_BODY_SMALL	(16 * 1024)	/* none, or a few fields */
/* A 4,000-character message, each escaped as a surrogate pair (12 bytes). */
#define ROUTE_BODY_CHAT		(64 * 1024)
#define ROUTE_BODY_ADMIN	(256 * 1024)	/* a widget, an agent, a message */

enum route_result {
	ROUTE_OK,
	ROUTE_NOT_FOUND,
	ROUTE_BAD_METHOD,	/* allow holds the methods the path takes */
	ROUTE_BAD_PATH,		/* a parameter is not valid percent-encoding */
};

struct route_match {
	const struct route *route;
	int nparams;
	char *param[ROUTE_MAX_PARAMS];	/* percent-decoded, into buf */
	char allow[64];
	char buf[HTTP_MAX_URL + 1];
};

enum route_result router_match(enum http_method, const char *path,
    struct route_match *);
/* The route table, for the metrics' labels. */
/* The body limit of req's route (ROUTE_BODY_SMALL when none matches). */
size_t router_body_max(const struct http_request *);
size_t router_nroutes(void);
const struct route *router_route(size_t);
/* Routes the request and starts answering it. */
void router_dispatch(struct conn *, struct http_request *);
/*
 * Runs m's handler once an admin route's gate has said who asks
 * (c->who): a route flagged R_INSTALL answers 403 to anyone but the
 * install key, an R_ADMIN route 403 to a role below its own. The router, and dashauth.c's gate once a session checked.
 */
void router_run(struct conn *, struct http_request *,
    const struct route_match *);
/* A copy of a match whose parameters point into its own buffer. */
void router_match_copy(struct route_match *dst,
    const struct route_match *src);
/* Connects the transport to this worker (conn_hooks_set): once, at start. */
void router_wire(void);

/* --------------------------------------------------------------- admin.c */

#define ADMIN_LIMIT_DEFAULT	100
#define ADMIN_MAX_MESSAGES	0	/* 0: every message one reply can hold */

/* key NULL or "": the admin API answers 503. */
void admin_init(const char *key);
/* 0 authorised; else the status to answer: 503 not configured, 401. */
int admin_auth(const char *given);
/* Parses ?limit=&cursor=. 0 ok, -1 invalid. */
int admin_list_query(const char *query, uint32_t *limit, char *cursor,
    size_t cursorsz);
/* A widget's internal id as a filter: 1-64 of [A-Za-z0-9_-]. */
int admin_widget_valid(const char *);
/* GET /v1/admin/conversations' query (docs/dashboard.md). */
struct admin_conv_q {
	uint32_t limit;
	char cursor[ST_CURSOR_MAX + 1];
	char widget[ST_WIDGET_MAX + 1];	/* "" = every widget */
	char q[ST_SEARCH_MAX + 1];	/* "" = no search */
	int handoff_open;	/* handoff=open (alone): ST_HANDOFF_LIST */
	/* assignee=: ST_ASSIGNED_*, the user id of TO; mine: who asks's */
	int assigned, mine;
	char assignee[ST_WHO_USER_MAX + 1];
};
/*
 * ?limit=&cursor=&widget=&q=&assignee= into q, or ?handoff=open[&limit=]
 * (with nothing else). 0 ok, -1 invalid.
 */
int admin_conv_query(const char *query, struct admin_conv_q *q);
struct storec_result;
struct storec_answer;

/* Cache-Control for every admin answer. */
extern const char admin_headers[];
/*
 * admin_headers plus "Server-Timing: app;dur=<ms>" (from c->routed_us
 * to now, 3 decimals) in buf, which it returns.
 */
#define ADMIN_TIMED_HEADERS_MAX	96
const char *admin_timed_headers(const struct conn *, char *buf,
    size_t bufsz);
/*
 * The organisation a request names: its x-organization-id header, else
 * its query's organization_id (a browser opens the event stream and the
 * export's downloads itself and sets no header on them); NULL or "" for
 * none. A malformed query value reads as "-", an id no organisation has.
 * buf (ADMIN_ORG_BUF bytes) holds the query's value.
 */
#define ADMIN_ORG_BUF	(ST_ORG_ID_MAX + 2)
const char *admin_request_org(const struct http_request *, char *buf);
/*
 * The router's check of an R_ADMIN request m: a session dashauth_gate
 * already checked, or x-admin-api-key: the install key (acting in
 * x-organization-id's organisation), or an organisation's key (looked up
 * in storaged; acting in its own organisation with its role). 0 when
 * the handler may run now; 1 when answered (401, 404, or 503 without
 * ADMIN_API_KEY) or when the gate runs the route itself (router_run)
 * once storaged has found the key.
 */
int admin_gate(struct conn *, struct http_request *,
    const struct route_match *m);
/*
 * A reply decoded (its struct, stmsgs.h) as the answer's JSON; *status
 * holds the answer's success status, which it may change. NULL: out of
 * memory.
 */
typedef json_t *(*admin_json_fn)(const void *rep, int *status);
/*
 * r's payload decoded exactly as type's reply (storec_decode) and made
 * JSON by fn: NULL when it does not decode (logged) or fn fails.
 */
json_t *admin_reply_json(const struct storec_result *, uint16_t type,
    admin_json_fn fn, int *status);
/*
 * storaged's answer to c's request of type as HTTP: its error (own:
 * errors with answers of their own, as for storec_http_error), else
 * status with fn's JSON of the reply (fn NULL: no body, and the reply
 * must be empty), else 500 when the reply does not decode: the one place
 * an admin answer decodes storaged's reply.
 */
void admin_answer(struct conn *, const struct storec_result *, uint16_t type,
    int status, admin_json_fn fn, const struct storec_answer *own);
/*
 * storaged's `invalid` that says which bound: answered 400 with its text
 * (fallback when it says nothing; NULL: then not answered). 1 answered.
 */
int admin_said_invalid(struct conn *, const struct storec_result *,
    const char *fallback);
/*
 * The request's JSON body (any JSON value; duplicate keys rejected), or
 * NULL when answered 400 (not application/json, or not JSON).
 */
json_t *admin_json_body(struct conn *, struct http_request *);
/*
 * A body field's string (or, when nullable, null: "") into *dst, its
 * old value wiped (it may be a key) and freed. NULL, or what is wrong
 * ("must be a string"); "" out of memory.
 */
const char *admin_take_text(json_t *v, char **dst, int nullable);
json_t *admin_conv_json(const struct st_conv *);
json_t *admin_msg_json(const struct st_msg *);
/*
 * n items of size bytes each as item() makes them, a JSON array; NULL
 * out of memory. ADMIN_ITEMS_JSON takes the size from the array.
 */
json_t *admin_items_json(const void *items, uint32_t n, size_t size,
    admin_json_fn item);
#define ADMIN_ITEMS_JSON(a, n, item) \
	admin_items_json((a), (n), sizeof(*(a)), (item))
/* admin_conv_json of a struct st_conv (an item, or a reply's part). */
json_t *admin_conv_item(const void *conv, int *status);
/*
 * A page of a list as {key: items, "total", "nextCursor"} ("" is null);
 * NULL out of memory (items freed).
 */
json_t *admin_page_json(const char *key, json_t *items, uint64_t total,
    const char *next_cursor);
/* ST_CONV_QUERY's (st_conv_page) and ST_CONV_GET's (st_conv_msgs) replies. */
json_t *admin_conv_page_json(const void *rep, int *status);
json_t *admin_conv_get_json(const void *rep, int *status);
/* storec_ask of c's request (who asks: c's), or 503 (with headers). */
void admin_ask(struct conn *, uint16_t type, const void *req,
    void (*cb)(const struct storec_result *, void *), const char *headers);
/* A gated list request: ?limit=&cursor= (else 400) as type's st_page_req. */
void admin_page_request(struct conn *, struct http_request *, uint16_t type,
    void (*cb)(const struct storec_result *, void *));
/* The gated request's id parameter, or NULL when answered (400: invalid). */
const char *admin_id_param(struct conn *, struct http_request *,
    const struct route_match *, const char *invalid);

void admin_conv_list(struct conn *, struct http_request *,
    const struct route_match *);
/* DELETE /v1/admin/conversations/:id (admin.c) */
void admin_conv_delete(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /v1/admin/export, streamed (export.c; docs/dashboard.md) */
void export_get(struct conn *, struct http_request *,
    const struct route_match *);
void admin_conv_get(struct conn *, struct http_request *,
    const struct route_match *);
/* POST /v1/admin/conversations/:id/read (issue 24): who asks read it. */
void admin_conv_read(struct conn *, struct http_request *,
    const struct route_match *);

/* The export's parameters (export.c); its rows are lib's (exportrows.h). */
struct export_params {
	enum export_format format;
	enum export_rows rows;
	char conv[ST_ID_HEX + 1];	/* "" = every conversation */
	char widget[ST_WIDGET_MAX + 1];	/* "" = every widget */
	const char *why;	/* -1: the parameter and what it takes */
};
/*
 * ?format=&rows=[&conversation=][&widget=]: 0, or -1 invalid with why
 * set ("rows must be conversations or messages").
 */
int export_params_parse(const char *query, struct export_params *);
/* "parley-<rows>.<jsonl|csv>"; the Content-Type. */
const char *export_filename(const struct export_params *);
const char *export_ctype(const struct export_params *);

/* ------------------------------------------------------------- handoff.c */

#define HANDOFF_NAME_DEFAULT	"Support"	/* DASHBOARD_AGENT_NAME unset */
#define HANDOFF_TYPING_MS	1000	/* the same typing state, sent at most this often */

/* POST /v1/admin/conversations/:id/handoff, /messages, /typing. */
void handoff_post(struct conn *, struct http_request *,
    const struct route_match *);
void handoff_message_post(struct conn *, struct http_request *,
    const struct route_match *);
void handoff_typing_post(struct conn *, struct http_request *,
    const struct route_match *);
/* POST /v1/admin/conversations/:id/assign: ST_CONV_ASSIGN. */
void handoff_assign_post(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /v1/admin/conversations?handoff=open (gated): ST_HANDOFF_LIST. */
void handoff_list(struct conn *, uint32_t limit);
/* An owner's display name: 1-100 characters, no control characters. */
int handoff_name_valid(const char *s, size_t len);
/*
 * 1 when a typing state for conv, asked in organisation org, may go to
 * storaged at now (ms): not when the same state went less than
 * HANDOFF_TYPING_MS ago. It is then remembered (a few dozen
 * conversations, the oldest forgotten first). Per organisation, so that
 * another organisation's request for the id neither is answered without
 * storaged (its 404) nor holds back the owner's own typing.
 */
int handoff_typing_pass(const char *org, const char *conv, int on,
    uint64_t now);
/* Forgets org's conv (storaged refused it: the next request asks again). */
void handoff_typing_forget(const char *org, const char *conv);
void handoff_typing_reset(void);	/* tests */

/* -------------------------------------------------------------- events.c */

#define EVENTS_PING_MS		15000	/* a ": ping" comment this often */
/* A dashboard's stream tells storaged it is open at least this often. */
#define EVENTS_PRESENCE_MS	30000
/* Clients a presence round looks back over for an organisation told. */
#define EVENTS_PRESENCE_SEEN_MAX	64
#define EVENTS_LINGER_MS	30000	/* level 2 kept this long after the last client */
#define EVENTS_OUT_MAX		(512 * 1024)	/* a client backed up past this is closed */

struct st_event;
/* GET /v1/admin/events: Server-Sent Events (docs/dashboard.md). */
void events_get(struct conn *, struct http_request *,
    const struct route_match *);
/* The worker quits: every stream ends (its last chunk). */
void events_quit(void);
size_t events_clients(void);
/*
 * One event as SSE text appended to out ("id:", "event:", "data:" and a
 * blank line), its data built as the admin API's JSON: 0; 1 for an event
 * the stream does not carry (typing), nothing appended; -1 on error.
 */
int events_format(struct buf *out, const struct st_event *);
/*
 * The data object of an event as the admin API's JSON (the stream's
 * "data:", a webhook's "data"): {"conversation"} for a new one, with
 * "message", "state" and "name" (a handoff), or "contact"; *name is set
 * to the stream's event name ("conversation", "message", "handoff",
 * "contact"). A new reference, or NULL out of memory or for a kind
 * without data (typing).
 */
json_t *events_data(const struct st_event *, const char **name);
/* "<epoch hex>-<seq>" (1-16 hex digits, decimal seq): 0, or -1. */
int events_last_id_parse(const char *s, uint64_t *epoch, uint64_t *seq);

/* ------------------------------------------------------------ dashauth.c */

#define DASH_COOKIE		"parley_session"
#define DASH_ID_BYTES		32	/* random bytes of a session id */
#define DASH_ID_HEX		(2 * DASH_ID_BYTES)
#define DASH_KEY_LEN		32	/* scrypt output */
#define DASH_SESSION_SECS	(7 * 24 * 3600)
#define DASH_LOGIN_WINDOW_MS	60000	/* login attempts counted per client */
#define DASH_LOGIN_MAX		10
#define DASH_WRONG_DELAY_MS	1000	/* a wrong password's answer waits */

/*
 * password NULL or "": login answers 503 and no session is valid. Hashes
 * it with a random salt and keeps that hash (fatalx when scrypt fails),
 * and a copy of the password only until the fingerprint is made (with
 * the install's salt from storaged, when a request first needs it).
 */
void dashauth_init(const char *password);
void dashauth_shutdown(void);
int dashauth_configured(void);
/* scrypt N=2^14, r=8, p=1 into out (DASH_KEY_LEN bytes). 0 or -1. */
int dashauth_scrypt(const char *pw, size_t pwlen, const void *salt,
    size_t saltlen, uint8_t out[DASH_KEY_LEN]);
/*
 * 1 when attempt is the configured password (constant-time compare).
 * Hashes on the caller's thread: not for the loop (login uses the pool).
 */
int dashauth_verify(const char *attempt, size_t len);
/* The password fingerprint sessions are stored under (NULL: none yet). */
const uint8_t *dashauth_fp(void);
/*
 * The first cookie called name in a Cookie header value ("a=b; c=d"):
 * 1 found, its value (unquoted) in out; 0 absent; -1 found but longer
 * than outsz - 1 or holding a control character.
 */
int cookie_get(const char *header, const char *name, char *out,
    size_t outsz);
/* 1 when given (a header, maybe NULL) is the session's CSRF token. */
int dashauth_csrf_ok(const char *given, const char *expected);
/* The Set-Cookie line (with CRLF) that sets id_hex, or clears (NULL). */
void dashauth_set_cookie(char *out, size_t outsz, const char *id_hex,
    int production);
/*
 * The gate of an R_ADMIN route: 0 when the handler should run now (an
 * x-admin-api-key header, or no session cookie: admin_gate decides);
 * 1 when the gate took the request (answered, or checking the session,
 * after which it runs the handler with c->admin_session set).
 */
int dashauth_gate(struct conn *, struct http_request *,
    const struct route_match *);

void dashauth_login_post(struct conn *, struct http_request *,
    const struct route_match *);
void dashauth_session_get(struct conn *, struct http_request *,
    const struct route_match *);
void dashauth_logout_post(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * POST /dashboard/api/invitations/accept {"token","name","password"}:
 * the invited user made and logged in (as a login answers, with its
 * user and organisation), under the login's attempt limits.
 */
void dashauth_accept_post(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------ hashpool.c */

#define HASHPOOL_THREADS	2	/* scrypt threads of a worker */
/* Jobs at once: queued, running, or done and not yet delivered. */
#define HASHPOOL_MAX		32

struct hashjob;
/*
 * A job's end, called from the loop: ok 1 with key (DASH_KEY_LEN bytes,
 * valid during the call), else 0 and key NULL (scrypt failed, or the pool
 * shut down before the job ran). The job is freed after the call.
 */
typedef void (*hashpool_cb)(void *arg, int ok, const uint8_t *key);
/*
 * dashauth_scrypt(pw, salt) on a pool thread (both copied; salt at most
 * 64 bytes); cb(arg) runs from the loop once, unless the job is
 * cancelled first. NULL, at once, when HASHPOOL_MAX jobs are in flight
 * or the pool cannot start: never waits. The threads start with the
 * first job; call after loop_init().
 */
struct hashjob *hashpool_submit(const char *pw, size_t pwlen,
    const void *salt, size_t saltlen, hashpool_cb cb, void *arg);
/*
 * Its owner leaves: cb will not be called. A queued job is dropped (1),
 * a running one freed when it ends (0). Not after cb ran (it is gone).
 */
int hashpool_cancel(struct hashjob *);
/* Jobs submitted and not yet delivered or freed (orphans included). */
size_t hashpool_pending(void);
/*
 * Joins the threads (a running hash ends first), then calls back every
 * job not cancelled: those hashed with their key, the queued ones with
 * ok 0. The pool may start again after.
 */
void hashpool_shutdown(void);

/* ----------------------------------------------------------- dashpages.c */

#define DASH_FILE_MAX		(4 * 1024 * 1024)	/* largest file served */

/* Where the pages are read from (<assets>/dashboard); again reloads. */
void dashpages_init(void);
/* 1 when name is a plain file name: [A-Za-z0-9._-], no "..", no leading dot. */
int dashpages_name_ok(const char *name);
/* The Content-Type for a file name's extension, NULL when not served. */
const char *dashpages_ctype(const char *name);
void dashpages_login_redirect(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_index_get(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_login_page_get(struct conn *, struct http_request *,
    const struct route_match *);
/* The page where an invitee sets a name and password (invite.html). */
void dashpages_invite_page_get(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_asset_get(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------- entity.c */

/* How a field of a request body is taken into the record (entity.c). */
enum admin_fkind {
	AJ_TEXT = 1,	/* char *: a string (admin_take_text) */
	AJ_TEXT_NULL,	/* char *: a string, or null for "" */
	AJ_BOOL,	/* uint8_t: a boolean */
	AJ_COUNT,	/* uint32_t: an integer from 1 to max, or null for 0 */
	AJ_ENUM,	/* uint8_t: a string parse() knows */
	AJ_TAKE,	/* take() */
};

struct admin_field {
	const char *name;	/* in the JSON */
	uint32_t bit;		/* its bit of the mask (ST_WF_*, ST_AF_*) */
	uint8_t kind;		/* enum admin_fkind */
	size_t off;		/* the record's member */
	json_int_t max;		/* AJ_COUNT's largest */
	const char *why;	/* AJ_COUNT, AJ_ENUM: what is wrong otherwise */
	int (*parse)(const char *);	/* AJ_ENUM: the value, or -1 */
	/*
	 * AJ_TAKE: v into rec: NULL, or what is wrong ("" out of memory).
	 * again: another name of the same bit came before.
	 */
	const char *(*take)(json_t *v, void *rec, const struct admin_field *,
	    int again);
};

/*
 * A kind of record the admin API keeps in storaged (a widget, an agent):
 * what differs between them, so that listing, creating, reading,
 * changing and deleting one are written once (entity.c).
 */
struct admin_entity {
	uint16_t list, create, get, update, del;	/* storaged's types */
	const char *not_found;	/* the 404's text (also for an id none can have) */
	const char *invalid;	/* the 400's when storaged's `invalid` has no text */
	const struct storec_answer *errors;	/* storaged's errors answered */
	int (*id_valid)(const char *);	/* the path's id may name one */
	/* An id storaged does not keep (NULL: none): read here, never changed. */
	const char *builtin;
	json_t *(*builtin_json)(void);
	const char *builtin_ro;	/* the 409's text for a change */
	/* A stored id DELETE refuses (NULL: none): 409 with kept_text. */
	const char *kept;
	const char *kept_text;
	/* The body's fields, and the ones it may not set (NULL-ended). */
	const struct admin_field *fields;
	size_t nfields;
	const char *const *read_only;
	uint32_t required;	/* the bits a POST must set ("name: required") */
	/* The record a body starts from (patch: a PATCH's). */
	void (*start)(void *rec, int patch);
	/*
	 * The record's own rules once mapped (patch: only the fields in mask
	 * are the client's): NULL, or what is wrong ("" out of memory).
	 */
	const char *(*rec_invalid)(void *rec, uint32_t mask, int patch);
	/* A "field: ..." text as the JSON names the field (NULL: as it is). */
	void (*field_text)(const char *msg, char *out, size_t outsz);
	/*
	 * u as an update request of id with mask (NULL, 0: not yet); its
	 * record, which alone is a create request.
	 */
	void *(*update_req)(union st_any *u, const char *id, uint32_t mask);
	/*
	 * The replies: one record (create, get, update; and a list's items),
	 * the list, a delete.
	 */
	admin_json_fn one, all, deleted;
	/*
	 * A check of a create's or an update's record that needs an answer
	 * from elsewhere (NULL: none), after rec_invalid: 0 store it now; 1
	 * it is under way (*state for vet_cancel, should the client leave),
	 * and admin_entity_vetted(c, why) follows on the loop; -1 answered.
	 */
	int (*vet)(struct conn *c, void *rec, uint32_t mask, int patch,
	    void **state);
	void (*vet_cancel)(void *state);
};
/*
 * A vet's verdict: NULL stores the record (as the create or update that
 * asked for it), else why ("field: ...") is the 400's text.
 */
void admin_entity_vetted(struct conn *c, const char *why);

/*
 * A body (a JSON object) onto rec, which start() set, and *mask the bits
 * of the fields present. 0, or -1 with "field: what is wrong" in err:
 * JSON types and ranges, unknown or read-only fields, a POST without a
 * required field, then rec_invalid. Every text is set (NULL is not "" to
 * every reader).
 */
int admin_entity_from_json(const struct admin_entity *, json_t *root,
    void *rec, uint32_t *mask, int patch, char *err, size_t errsz);
/* The path's id, or NULL when answered (404; 409 for a change of builtin). */
const char *admin_entity_id(const struct admin_entity *, struct conn *,
    const struct route_match *, int change);
/* admin_answer, storaged's `invalid` first (400 with its text). */
void admin_entity_answer(const struct admin_entity *, struct conn *,
    const struct storec_result *, uint16_t type, int status, admin_json_fn);
/* GET, POST on the list; GET, PATCH, DELETE on one. */
void admin_entity_list(const struct admin_entity *, struct conn *);
void admin_entity_create(const struct admin_entity *, struct conn *,
    struct http_request *);
void admin_entity_get(const struct admin_entity *, struct conn *,
    const struct route_match *);
void admin_entity_update(const struct admin_entity *, struct conn *,
    struct http_request *, const struct route_match *);
void admin_entity_delete(const struct admin_entity *, struct conn *,
    const struct route_match *);
/* An empty reply as {"deleted":true}. */
json_t *admin_deleted_json(const void *rep, int *status);
/*
 * The route handlers of entity E, P_list, P_create, P_get, P_update and
 * P_delete (router.c's table names them), each the one above.
 */
#define ADMIN_ENTITY_ROUTES(P, E)					\
	void P##_list(struct conn *c, struct http_request *req,		\
	    const struct route_match *m)				\
	{ admin_entity_list(&(E), c); }					\
	void P##_create(struct conn *c, struct http_request *req,	\
	    const struct route_match *m)				\
	{ admin_entity_create(&(E), c, req); }				\
	void P##_get(struct conn *c, struct http_request *req,		\
	    const struct route_match *m)				\
	{ admin_entity_get(&(E), c, m); }				\
	void P##_update(struct conn *c, struct http_request *req,	\
	    const struct route_match *m)				\
	{ admin_entity_update(&(E), c, req, m); }			\
	void P##_delete(struct conn *c, struct http_request *req,	\
	    const struct route_match *m)				\
	{ admin_entity_delete(&(E), c, m); }

/* ------------------------------------------------------------- widgets.c */

struct st_widget;
struct st_contact;

/*
 * The admin JSON of a widget, of a contact; the public config subset
 * (with "availability" when handoff is on: staffed is storaged's word
 * that a dashboard of its organisation is open).
 */
json_t *widget_json(const struct st_widget *);
json_t *widget_public_json(const struct st_widget *, int staffed);
/*
 * The widget's availability now (away mode, issue 23): {"away", "reason",
 * "message"}, with "type": type first unless type is NULL (the
 * WebSocket's message). NULL out of memory.
 */
json_t *widget_avail_json(const struct st_widget *, int staffed,
    const char *type);
json_t *contact_json(const struct st_contact *);
/* s as JSON text, "" (or NULL) as null: a field a contact may not have. */
json_t *json_opt_text(const char *s);
/*
 * How a conversation came to its contact, set on cv (its JSON):
 * "contactVerified", and "submitted" when not. A failure sets *err.
 */
void contact_link_json(json_t *cv, const struct st_clink *l, int *err);
/*
 * Maps a request body onto w, which the caller has set to its starting
 * values (st_widget_defaults), as admin_entity_from_json; the record's
 * rules are st_widget_invalid's, its messages naming the fields as the
 * JSON does.
 */
int widget_from_json(json_t *root, struct st_widget *w, uint32_t *mask,
    int patch, char *err, size_t errsz);
/* 1 when s looks like a public widget id ("wid_" + 32 lowercase hex). */
int widget_id_valid(const char *s);
/*
 * Replies as response bodies: a widget, ST_WIDGET_LIST's (st_widgets),
 * ST_CONTACT_LIST's (st_contact_page), ST_CONTACT_GET's
 * (st_contact_get_rep).
 */
json_t *widget_one_json(const void *rep, int *status);
json_t *widget_list_json(const void *rep, int *status);
json_t *contact_page_json(const void *rep, int *status);
json_t *contact_get_json(const void *rep, int *status);

void widgets_list(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_create(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_get(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_update(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_delete(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_reset_id(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * POST .../identity-secret: a new identity secret, shown this once
 * ({"identity_secret": 64 hex}); DELETE: removed (identity_required off),
 * the widget. Never in any other answer (identity_secret_set says
 * whether there is one).
 */
void widgets_secret_set(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_secret_delete(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_contacts_list(struct conn *, struct http_request *,
    const struct route_match *);
void widgets_contact_get(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * gdpr.c (issue 22): GET /v1/admin/contacts/:id/export, everything
 * stored about the contact as one JSON document, streamed; DELETE
 * /v1/admin/contacts/:id[?erase=all].
 */
void contacts_export(struct conn *, struct http_request *,
    const struct route_match *);
void contacts_delete(struct conn *, struct http_request *,
    const struct route_match *);
/* GET (and its OPTIONS preflight): the widget's public config. */
void widgets_config_get(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------------------------- setup.c */

/*
 * Tells storaged (ST_SETUP_NOTE, no answer awaited) that a visitor of
 * public widget_id (NULL or not one: the HTTP chat API's default widget)
 * from origin (NULL none) was refused for reason (enum st_setup_reason),
 * or that its config was fetched (ST_SETUP_SEEN).
 */
void setup_note(unsigned reason, const char *widget_id, const char *origin);
/* POST /api/widget/:wid/report?reason=csp: the widget's CSP report, 204. */
void setup_report_post(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /v1/admin/widgets/:wid/setup: refusals by reason, origins seen. */
void widgets_setup_get(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------------------------- agents.c */

struct st_agent;

/*
 * The admin JSON of an agent (never its api_key; "api_key_set" says
 * whether it has one), and of the default agent: this worker's settings.
 */
json_t *agent_json(const struct st_agent *);
json_t *agent_default_json(void);
/*
 * Maps a request body onto a, which the caller has set with
 * st_agent_defaults, as admin_entity_from_json: a POST must name it;
 * the record's rules are st_agent_invalid's (for a PATCH with the name
 * it leaves alone taken as valid). api_key "" or null clears the key.
 */
int agent_from_json(json_t *root, struct st_agent *a, uint32_t *mask,
    int patch, char *err, size_t errsz);
/* 1 when s can name an agent: "default" or 32 lowercase hex. */
int agent_id_valid(const char *s);
/*
 * Replies as response bodies: {"agents":[the default, then storaged's
 * (oldest first)]} of ST_AGENT_LIST's; ST_AGENT_DELETE's: {"deleted":
 * true}, or 409 {"error":"Agent is in use","widgets":[public ids]}.
 */
json_t *agent_list_json(const void *rep, int *status);
json_t *agent_deleted_json(const void *rep, int *status);

void agents_list(struct conn *, struct http_request *,
    const struct route_match *);
void agents_create(struct conn *, struct http_request *,
    const struct route_match *);
void agents_get(struct conn *, struct http_request *,
    const struct route_match *);
void agents_update(struct conn *, struct http_request *,
    const struct route_match *);
void agents_delete(struct conn *, struct http_request *,
    const struct route_match *);

/* ---------------------------------------------------------------- orgs.c */

/*
 * users.c (owners only): GET /v1/admin/users, the organisation's members;
 * PATCH and DELETE /v1/admin/users/:user_id, a member's role and
 * disabled flag, its membership.
 */
void users_list(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * POST /v1/admin/users: an invitation into who asks's organisation,
 * 201 with its link (the token shown this once).
 */
void users_invite(struct conn *, struct http_request *,
    const struct route_match *);
void users_update(struct conn *, struct http_request *,
    const struct route_match *);
void users_delete(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * GET /v1/admin/invitations, the organisation's pending invitations (no
 * token); DELETE /v1/admin/invitations/:invitation_id, one revoked.
 */
void invitations_list(struct conn *, struct http_request *,
    const struct route_match *);
void invitations_revoke(struct conn *, struct http_request *,
    const struct route_match *);
void orgs_list(struct conn *, struct http_request *,
    const struct route_match *);
void orgs_create(struct conn *, struct http_request *,
    const struct route_match *);
void orgs_get(struct conn *, struct http_request *,
    const struct route_match *);
void orgs_update(struct conn *, struct http_request *,
    const struct route_match *);
void orgs_delete(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------------------------- apikeys.c */

void apikeys_list(struct conn *, struct http_request *,
    const struct route_match *);
void apikeys_create(struct conn *, struct http_request *,
    const struct route_match *);
void apikeys_delete(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------------------- notifications.c */

void notifications_get(struct conn *, struct http_request *,
    const struct route_match *);
void notifications_put(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------- feedback.c (issue 26) */

/* GET /v1/admin/feedback: the thumbs and ratings per widget and agent. */
void feedback_summary_get(struct conn *, struct http_request *,
    const struct route_match *);

/* ---------------------------------------------- canned.c (issue 24) */

void canned_list(struct conn *, struct http_request *,
    const struct route_match *);
void canned_create(struct conn *, struct http_request *,
    const struct route_match *);
void canned_update(struct conn *, struct http_request *,
    const struct route_match *);
void canned_delete(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------- webhooks.c */

void webhooks_list(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_create(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_get(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_update(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_delete(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_deliveries(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_retry(struct conn *, struct http_request *,
    const struct route_match *);
void webhooks_test(struct conn *, struct http_request *,
    const struct route_match *);

/* ---------------------------------------------------------------- audit.c */

void audit_get(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * Records action (ST_AUDIT_NOTE: "export") on target ("" none) in who
 * asks's audit log, then calls cb(c, ok): ok 0 when it could not be
 * recorded (answered then: 503 or 500), and the action must not go on.
 */
void audit_note(struct conn *, const char *action, const char *target,
    void (*cb)(struct conn *, int ok));
/* GET /v1/admin/export: "export" noted in the audit log, then export_get. */
void audit_export_get(struct conn *, struct http_request *,
    const struct route_match *);

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

struct sockaddr;
void clientip_from_sockaddr(const struct sockaddr *, socklen_t,
    struct ipaddr *);
/* The peer of a connected socket (family 0 when not an IP socket). */
void clientip_peer(int fd, struct ipaddr *);
/*
 * The client behind a trusted proxy: walks xff from the right while the
 * hops are in trust. 1 when an address from xff was taken, 0 when *out
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
 * wsettings.max_conns_per_client; a trusted proxy (wsettings.trust) is
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
void clientcap_body_put(struct clientcap_body *);
/* The body bytes charged in this worker now. */
size_t clientcap_body_total(void);

/* ---------------------------------------------------------------- chat.c */

#define CHAT_MESSAGE_MAX	4000	/* characters (code points) */
#define CHAT_SESSION_MAX	128
#define CHAT_OUT_HIGH		(64 * 1024)	/* pause the model above this */
#define CHAT_HISTORY_LIMIT	100	/* messages GET /v1/chat/history returns */
#define CHAT_EMPTY_REPLY	"I could not generate a response right now."
#define CHAT_DETAILS_MAX	256
/* The default widget's refusals of an HTTP turn (403, 429). */
#define CHAT_DISABLED_TEXT	"This chat is disabled."
#define CHAT_CAPPED_TEXT	"This chat has reached its daily message " \
				"limit. Please come back tomorrow."

enum chat_body {
	CHAT_BODY_OK,
	CHAT_BODY_MALFORMED,	/* not JSON: 400 "Invalid JSON body" */
	CHAT_BODY_INVALID,	/* 400 "Invalid request payload" + details */
};

struct chat_input {
	char session[CHAT_SESSION_MAX + 1];
	char *message;		/* malloc'd, valid UTF-8, no NUL */
	struct st_visitor visitor;	/* the body's "visitor" (issue 24) */
};
/*
 * The widget's account of its visitor (issue 24) from JSON object o
 * ({pageUrl, referrer, userAgent, language, timeZone}; anything else is
 * nothing): each string kept when st_visitor_clean keeps it. Never an
 * error: what is wrong is dropped. st_visitor_free after.
 */
void chat_visitor_parse(json_t *o, struct st_visitor *v);

/* key NULL or "": the chat endpoints answer 503. */
void chat_init(const char *widget_key);
void chat_shutdown(void);
/* 0 authorised (x-api-key, else x-widget-api-key); else 401 or 503. */
int chat_auth(const struct http_request *);
/* ^[A-Za-z0-9._:-]{1,128}$ */
int chat_session_valid(const char *s, size_t len);
/*
 * Checks a request body (ctype: its Content-Type, NULL if none). On
 * CHAT_BODY_OK in is filled (free with chat_input_free); otherwise
 * details says what is wrong, for non-production answers.
 */
enum chat_body chat_parse_body(const char *ctype, const char *body,
    size_t len, struct chat_input *in, char *details, size_t detailsz);
void chat_input_free(struct chat_input *);
/* Appends v as one NDJSON line (U+2028/2029 escaped). Steals v. -1 on error. */
int chat_ndjson(struct buf *, json_t *v);
/*
 * HTTP chat turns alive (also those whose client left and which still
 * store), and history or refused requests waiting for storaged.
 */
size_t chat_turns(void);

/*
 * Appends text as valid UTF-8 without NUL (each bad byte becomes U+FFFD),
 * at most max bytes and never cutting a character. Returns the bytes of
 * text used; less than len when max was reached.
 */
size_t chat_utf8_append(struct buf *, const char *text, size_t len,
    size_t max);
/* Only white space (or nothing). */
int chat_blank(const char *, size_t);

/* The HTTP front ends of the chat turn (turn.h). */
void chat_post_v1(struct conn *, struct http_request *,
    const struct route_match *);
void chat_post_stream(struct conn *, struct http_request *,
    const struct route_match *);
void chat_get_history(struct conn *, struct http_request *,
    const struct route_match *);

/* --------------------------------------------------------------- wsmsg.c */

enum wsmsg_type {
	WSMSG_INVALID, WSMSG_MESSAGE, WSMSG_CONTACT, WSMSG_RESUME,
	WSMSG_REQUEST_HUMAN, WSMSG_AVAILABILITY, WSMSG_VISITOR,
	WSMSG_IDENTIFY,
	WSMSG_FEEDBACK, WSMSG_RATING,
	/* issue 26, wsconvs.c */
	WSMSG_NEW_CONV, WSMSG_CONV_LIST, WSMSG_CONV_OPEN,
};

/* A visitor's WebSocket message; the strings point into root. */
struct wsframe;
struct wsmsg {
	enum wsmsg_type type;
	const struct wsframe *frame;	/* its row of wsframes[]; NULL: INVALID */
	json_t *root;
	const char *content;	/* MESSAGE: 1..CHAT_MESSAGE_MAX characters */
	size_t content_len;
	/* CONTACT, IDENTIFY (name, email): "" when not given */
	const char *name, *email, *phone;
	const char *token;	/* RESUME: "" when not given, else unchecked */
	/* IDENTIFY: 1..ST_EXTERNAL_ID_MAX characters; the hash unchecked */
	const char *ext_id, *hash;
	struct st_visitor visitor;	/* VISITOR: chat_visitor_parse's, owned */
	const char *msg_id;	/* FEEDBACK: 32 lowercase hex */
	uint8_t value;		/* FEEDBACK: enum st_feedback */
	uint8_t score;		/* RATING: 1-5 */
	const char *comment;	/* RATING: <= ST_RATING_COMMENT_CHARS characters */
	const char *conv_id;	/* CONV_OPEN: a string, else unchecked */
	char error[96];		/* INVALID: what to tell the visitor */
};

/*
 * The frame's row of wsframes[] (its "type"), then its fields by the row's
 * parser: 0, or -1 with m->error set. Either way, wsmsg_free(m) after.
 */
int wsmsg_parse(const char *text, size_t len, struct wsmsg *m);
void wsmsg_free(struct wsmsg *m);
/* m fails with what (the visitor's error text): -1. */
int wsmsg_fail(struct wsmsg *m, const char *what);
/* The rows' parsers (m->root read into m's fields): 0, or -1 refused. */
int wsmsg_parse_message(struct wsmsg *m);
int wsmsg_parse_contact(struct wsmsg *m);
int wsmsg_parse_resume(struct wsmsg *m);
int wsmsg_parse_visitor(struct wsmsg *m);
int wsmsg_parse_identify(struct wsmsg *m);

/* ------------------------------------------------------------ wsframes.c */

struct wsess;
/* How a frame is bounded, beyond the socket's frame size. */
enum wsframe_bound {
	WSF_CLIENT,	/* the client's rate limit, counted by storaged */
	WSF_SOCKET,	/* a count a minute (or a socket) on the socket */
	WSF_FIRST,	/* only as the socket's first frame */
	WSF_KEPT,	/* nothing stored: kept, replaced by the next */
};
/* One frame the visitor may send (docs/widget-protocol.md). */
struct wsframe {
	const char *type;		/* its "type" */
	enum wsmsg_type msg;
	int (*parse)(struct wsmsg *);	/* its fields; NULL: none */
	void (*answer)(struct wsess *, struct wsmsg *);
	/*
	 * It writes: refused with "Identity required" on an
	 * identity_required widget until the socket's identify is verified.
	 */
	uint8_t stores;
	uint16_t st;			/* the storaged message it asks, 0 none */
	enum wsframe_bound bound;
};
/* The table; the row of "type" type, NULL when none. */
extern const struct wsframe wsframes[];
const struct wsframe *wsframe_find(const char *type);

/* ----------------------------------------------------------- wsfeedback.c */

/*
 * Feedback (issue 26, docs/widget-protocol.md "Feedback"): the visitor's
 * "feedback" (a thumb on an answer) and "rating" frames, each checked
 * (wsfb_parse_*), stored with one storaged request at a time per socket
 * (ST_WS_FEEDBACK, ST_WS_RATING), counted in a per-socket rate and in
 * the client's ("fb:" key, ST_RATE_HIT, the messages' limit), and
 * answered "feedback_saved" / "rating_saved"; and "rating_request" when a
 * person hands the conversation back to the assistant.
 */
struct wsess;
struct wsfb {
	struct wsess *s;		/* the socket's (wschat_send) */
	const char *wid;		/* its public widget id */
	const uint8_t *hash;		/* its session token's hash */
	const char *conv;		/* its conversation, "" unknown */
	const char *ended;		/* the one it left (new_conversation) */
	const int *resuming;		/* its resume is in flight */
	const char *rate_key;		/* its client's feedback count */
	struct storec_req *req;		/* in flight */
	int pend_type;			/* WSMSG_FEEDBACK or WSMSG_RATING */
	char pend_id[ST_ID_HEX + 1];	/* its message id, value, score */
	uint8_t pend_value, pend_score;
	char pend_comment[ST_RATING_COMMENT_MAX + 1];
	uint64_t window;		/* when this minute of frames began */
	unsigned int asks;		/* frames in that minute */
	int feedback_enabled;		/* the widget's settings */
	int rating_enabled;
};
/*
 * f of socket s; the pointers are s's own fields, read when needed
 * (rate_key: "fb:" and the client, "" when nothing is counted).
 */
void wsfb_init(struct wsfb *f, struct wsess *s, const char *wid,
    const uint8_t *hash, const char *conv, const char *ended,
    const int *resuming, const char *rate_key);
/* Cancels what is in flight. */
void wsfb_free(struct wsfb *f);
/* WSMSG_FEEDBACK, WSMSG_RATING: checked by wsmsg_parse, stored, answered. */
void wsfb_frame(struct wsfb *f, const struct wsmsg *m);
/* The handoff state goes from old to state: "rating_request" when handed back. */
void wsfb_handoff(struct wsfb *f, int old, int state);
/* wsmsg_parse's part: type "feedback" or "rating" (m->root read): 0 or -1. */
int wsfb_parse_feedback(struct wsmsg *m);
int wsfb_parse_rating(struct wsmsg *m);

/* ---------------------------------------------------------- wsidentity.c */

struct wsess;

/* A socket's verified identity (issue 26; docs/widget-protocol.md). */
struct wsident {
	uint8_t required;	/* the widget's identity_required */
	uint8_t verified;	/* this socket's identify was verified */
	unsigned int asks;	/* identify frames on this socket */
	struct wsess *s;	/* the socket, while req is in flight */
	struct storec_req *req;	/* ST_WS_IDENTIFY in flight */
};

/* The widget's rule (ST_WS_OPEN's widget): unverified until identify. */
void wsident_open(struct wsident *, const struct st_widget *);
/*
 * 1 when the socket's frames that store (wsframes[]'s stores) must be
 * refused with "Identity required": the widget requires an identity and
 * this socket's is not verified.
 */
int wsident_refuses(const struct wsident *);
/*
 * {"type":"identify"} of socket s (widget wid, session token hash):
 * ST_WS_IDENTIFY, answered with {"type":"identity","verified","required"}.
 * At most WSIDENT_ASKS_MAX a socket, one at a time (else an error).
 */
void wsident_identify(struct wsident *, struct wsess *s,
    const struct wsmsg *m, const char *wid, const uint8_t *token_hash);
/* Cancels the request in flight (the socket goes). */
void wsident_free(struct wsident *);

/* -------------------------------------------------------------- wschat.c */

/*
 * GET /api/widget/{widget_id}/ws[?token=]: the Loquent widget protocol over
 * a WebSocket (docs/internals.md, "Widget chat over WebSocket").
 */
void wschat_upgrade(struct conn *, struct http_request *,
    const struct route_match *);
/* Hooks storaged's widget-gone events (after storec_init). */
void wschat_init(void);
/* For a socket's add-ons (wsidentity.c, wsfeedback.c, wsconvs.c): o
 * (stolen) sent to s. */
void wschat_send(struct wsess *s, json_t *o);
/* For a socket's add-ons: s's session is stored now (made by storaged). */
void wschat_stored(struct wsess *s);
/* Turns alive, also those whose visitor left and which still store. */
size_t wschat_turns(void);
/* Closes every session open on the public widget id (it is gone). */
void wschat_widget_gone(const char *widget_id);
/* wsframes[]'s answers of socket s's frame m, each its own "type". */
void wschat_on_message(struct wsess *s, struct wsmsg *m);
void wschat_on_contact(struct wsess *s, struct wsmsg *m);
void wschat_on_resume(struct wsess *s, struct wsmsg *m);
void wschat_on_request_human(struct wsess *s, struct wsmsg *m);
void wschat_on_availability(struct wsess *s, struct wsmsg *m);
void wschat_on_visitor(struct wsess *s, struct wsmsg *m);
void wschat_on_identify(struct wsess *s, struct wsmsg *m);
void wschat_on_feedback(struct wsess *s, struct wsmsg *m);

/* ------------------------------------------------------------- wsconvs.c */

/*
 * A visitor's conversations over the WebSocket (issue 26): a new one,
 * the list, an earlier one read-only. A socket's state: its request in
 * flight (one at a time) and this minute's count.
 */
struct wsconvs {
	struct storec_req *req;
	uint64_t window;		/* when this minute of asks began */
	unsigned int asks;
};
/* open_conversation's id (a string, its form checked with it): 0 or -1. */
int wsconvs_parse_open(struct wsmsg *m);
/* Answers the frame m (new_conversation, conversations, open_conversation) of socket s. */
struct wsess;
void wsconvs_frame(struct wsess *s, struct wsmsg *m);
/* Forgets the request in flight (the socket goes). */
void wsconvs_free(struct wsconvs *);

/*
 * What wsconvs.c reads of wschat.c's socket s: its widget and token
 * hash, whether a session is stored, whether it waits for a resume or a
 * reply (busy), and its wsconvs.
 */
struct wsess_io {
	const char *wid;
	const uint8_t *hash;	/* ST_TOKEN_HASH_LEN bytes */
	int stored, resuming, busy;
	struct wsconvs *cv;
};
void wschat_io(struct wsess *s, struct wsess_io *io);
/* An error frame of text msg to s (wschat_send above sends any). */
void wschat_send_error(struct wsess *s, const char *msg);
/* The visitor's words for refusals the socket's add-ons share. */
#define WSCHAT_RESUMING_TEXT	"Your conversation is being restored."
#define WSCHAT_BUSY_TEXT	"Too many new conversations are starting " \
				"right now. Please try again in a minute."
#define WSCHAT_FIRST_TEXT	"Please send a message first."
/* A storaged result that ends the socket (NO_WIDGET, NO_SESSION): 1 closed. */
int wschat_gone(struct wsess *s, int result);
/*
 * s left its conversation (a new one starts with its next message);
 * ended: the one storaged ended ("" none), what a rating now rates.
 */
void wschat_conv_left(struct wsess *s, const char *ended);
/*
 * The "history" frame of h (n, oldest first; more: older ones left out),
 * with conversation_id (NULL or "": null), and readonly when set.
 */
void wschat_send_history(struct wsess *s, const struct st_msg *h,
    uint32_t n, int more, const char *conv_id, int readonly);

/* ------------------------------------------------------------- openapi.c */

/* Checks the embedded document parses (fatalx if not), makes its ETag. */
void openapi_init(void);
const char *openapi_etag(void);
void openapi_get(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------- metrics.c */

/*
 * GET /metrics (docs/internals.md, "Metrics"). Each worker counts on its
 * own, in plain arrays; every second it sends storaged what its counters
 * grew by (ST_METRICS_PUT), and /metrics shows storaged's totals of all
 * workers (ST_METRICS_GET), or this worker's alone when storaged is away.
 */
#define METRICS_PUSH_MS		1000
#define METRICS_ROUTES_MAX	128	/* route table entries counted apart */

/* Starts the push timer (after storec_init). */
void metrics_init(void);
void metrics_shutdown(void);
/* An answer's status for route ix (-1: no route: 404, 405, bad request). */
void metrics_http(int route_ix, int status);
/* A model call: started; ended (enum upstream_status), with its times in µs. */
void metrics_upstream_start(void);
void metrics_upstream_done(int status, uint64_t ttfb_us, uint64_t total_us,
    uint32_t prompt_tokens, uint32_t completion_tokens);
void metrics_upstream_cancel(void);
/* A visitor's thumb given (ST_FEEDBACK_UP, _DOWN), or a rating (0). */
void metrics_feedback(uint8_t value);
/* masterd's count of replaced workers (PROTO_MW_RESTARTS). */
void metrics_restarts(uint32_t);
/*
 * 0: the peer may read /metrics, else 401. Without the admin key only
 * with wsettings.metrics_open loopback, and a loopback peer that is not in
 * wsettings.trust and whose request was not forwarded (metrics_forwarded).
 */
int metrics_access(const struct ipaddr *peer, int forwarded,
    const char *admin_key_hdr);
/* 1 when the request carries X-Forwarded-For, Forwarded or X-Real-IP. */
int metrics_forwarded(const struct http_request *);
/*
 * The Prometheus text of v[0..n) (sorted here by family, labels and le),
 * HELP and TYPE once per family. 0, or -1 out of memory.
 */
struct mseries;
int metrics_render(struct buf *, struct mseries *v, size_t n);
/*
 * This worker's series into e (a set, metricsmsg.h): all of them
 * (old NULL), or the counters' growth since old plus the gauges.
 */
struct wmetrics;
void metrics_encode(struct penc *e, const struct wmetrics *old);
void metrics_get(struct conn *, struct http_request *,
    const struct route_match *);

/* -------------------------------------------------------------- storec.c */

enum storec_status {
	STOREC_OK,
	STOREC_ERROR,		/* storaged answered with an error */
	STOREC_UNAVAILABLE,	/* not connected, disconnected, or no answer in time */
};

struct storec_result {
	enum storec_status status;
	uint32_t code;		/* STOREC_ERROR: a PROTO_E_* code */
	const char *message;	/* STOREC_ERROR: storaged's text; else "" */
	const uint8_t *payload;	/* STOREC_OK: the reply payload */
	size_t len;
	int early;		/* STOREC_OK before the commit (storec_call_early) */
};

typedef void (*storec_cb)(const struct storec_result *, void *arg);

/* Starts connecting to the Unix socket at path; reconnects by itself. */
void storec_init(const char *path);
/*
 * Starts connecting to storaged at the n addresses (staddr.h), tried in
 * turn until one says it is the primary; tls (owned from now on) is the
 * client context for tls:// ones (NULL when there are none).
 */
void storec_init_list(const struct staddr *, size_t n,
    struct ssl_ctx_st *tls);
/*
 * storec_init_list with PARLEY_STORAGED and the cluster's files: a file
 * that is wrong is fatal (masterd checked them already).
 */
void storec_init_settings(const struct settings *);
/*
 * Called for each message storaged sends unasked (PROTO_ST_EV_WIDGET_GONE,
 * PROTO_ST_EV): every callback registered (a few; registering one twice
 * is a no-op) gets every message, and picks its types.
 */
typedef void (*storec_event_cb)(uint16_t type, const uint8_t *payload,
    size_t len);
void storec_on_event(storec_event_cb);
/*
 * The events wanted (ST_EV_SUBSCRIBE's level: 0 none, 1 the visitors',
 * 2 every one): asked for now when connected, on every new connection,
 * and again whenever it changes.
 */
void storec_ev_level(uint8_t level);
/* The level storaged confirmed on this connection; -1 none (or down). */
int storec_ev_level_confirmed(void);
/*
 * Called when storaged confirmed a level: its epoch and last seq then;
 * again is 1 when this follows a reconnect (events in between are lost).
 */
typedef void (*storec_sub_cb)(uint8_t level, uint64_t epoch,
    uint64_t last_seq, int again);
void storec_on_subscribed(storec_sub_cb);
int storec_connected(void);
/* cb is called each time the connection to storaged becomes usable. */
void storec_on_up(void (*cb)(void));
/*
 * 1 when storaged said, on this connection, that its data directory was
 * removed or replaced (ST_EV_STORE_FAILED): it refuses every write until
 * it restarts. /health answers 503 then.
 */
int storec_store_failed(void);
/*
 * Sends a request. cb is called exactly once from the loop, unless
 * storec_cancel() comes first. When handle is not NULL, *handle is set and
 * cleared again just before cb runs. Made while storaged is not connected
 * (starting, reconnecting), it waits for the connection up to 2 s
 * (STOREC_WAIT_MS), then completes as unavailable. Returns -1 at once (cb
 * never called) when it cannot be queued.
 */
int storec_call(uint16_t type, const void *payload, size_t len,
    storec_cb cb, void *arg, struct storec_req **handle);
/*
 * storec_call for a write whose answer is wanted before it is on disk: when
 * the request changes the store, cb runs first with early set and the
 * answer, as soon as storaged has run it, and then once more when the
 * commit is done: STOREC_OK with an empty payload, or the failure (the
 * write then did not happen). Otherwise cb runs once, as for storec_call.
 * The handle stays set until the last call.
 */
int storec_call_early(uint16_t type, const void *payload, size_t len,
    storec_cb cb, void *arg, struct storec_req **handle);
/* storec_call with the payload built in e, which it frees; -1 if e failed. */
int storec_send(uint16_t type, struct penc *e, storec_cb cb, void *arg,
    struct storec_req **handle);
/*
 * The same for the types whose payload starts with who asks (the message
 * table's `who`: admin, dashboard and parleyctl requests), which these
 * put first. A type's who given or missing wrongly is -1 (logged).
 */
int storec_call_as(const struct st_who *, uint16_t type, const void *payload,
    size_t len, storec_cb cb, void *arg, struct storec_req **handle);
int storec_send_as(const struct st_who *, uint16_t type, struct penc *e,
    storec_cb cb, void *arg, struct storec_req **handle);
/*
 * The request as its struct (stmsgs.h), encoded by the message table's
 * layout for type, who asks first for the types that carry it (else
 * NULL): storec_call_as / storec_call. -1 also when it will not encode
 * (logged). storec_ask_early: as storec_call_early.
 */
int storec_ask(const struct st_who *, uint16_t type, const void *req,
    storec_cb cb, void *arg, struct storec_req **handle);
int storec_ask_early(uint16_t type, const void *req, storec_cb cb,
    void *arg, struct storec_req **handle);
/*
 * A STOREC_OK result's payload decoded exactly as type's reply into rep
 * (its struct; free with st_rep_free): 0, or -1 (logged) when it does
 * not: the one error path for a malformed reply.
 */
int storec_decode(const struct storec_result *, uint16_t type, void *rep);
/* Forgets a request: its callback will never run. NULL is a no-op. */
void storec_cancel(struct storec_req *);
size_t storec_inflight(void);
/* Closes the connection and forgets every request (tests, exit). */
void storec_shutdown(void);

/* An HTTP answer of its own for one PROTO_E_* code of storaged's. */
struct storec_answer {
	uint32_t code;
	int status;		/* 0 ends a list */
	const char *msg;
};

/*
 * The HTTP status and text (*msg) for a call that did not succeed: the
 * entry of own (NULL: none) for storaged's error code, else 503 "Storage
 * unavailable" when storaged is away or says so, else 500 "Internal
 * server error", logged as "who: storaged: ...".
 */
int storec_http_error(const struct storec_result *,
    const struct storec_answer *own, const char *who, const char **msg);

#endif
