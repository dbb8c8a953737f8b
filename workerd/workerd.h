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
 *
 * This header declares what the whole worker shares: worker.c, master.c,
 * router.c, storec.c and the metrics' counters (admin/metrics.c), and,
 * through net/net.h, the connection every handler answers on. Each
 * subfolder's own declarations are in its header: net/net.h (conn.c,
 * cors.c, clientip.c, clientcap.c), admin/admin.h, chat/chat.h (beside
 * turn.h), site/site.h (dashpages.c, openapi.c; static.h), notify/notify.h
 * (with the notifier role), model/upstream.h and sse.h.
 */
#ifndef PARLEY_WORKERD_H
#define PARLEY_WORKERD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <jansson.h>

#include "loop.h"
#include "net.h"
#include "proto.h"
#include "stmsgs.h"
#include "settings.h"
#include "storemsg.h"

#define WORKERD_NAME		"parley-workerd"

/* The event loop is lib/loop.c (loop.h). */

/* -------------------------------------------------------------- worker.c */

struct worker_conf {
	uint32_t header_timeout_ms;	/* PARLEY_HEADER_TIMEOUT_MS */
	uint32_t idle_timeout_ms;	/* PARLEY_IDLE_TIMEOUT_MS */
	uint32_t linger_ms;		/* drain input this long after closing */
	uint32_t storage_timeout_ms;	/* PARLEY_STORAGE_TIMEOUT_MS */
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

/*
 * The start of each of masterd's children (a worker and the notifier,
 * parley-workerd; the fetcher, parley-fetch), before loop_init: named
 * name (its comm, process title and log lines), its channel on fd 3
 * (PARLEY_CHANNEL_FD) taken, masterd's settings read into wsettings
 * (master_open), its log level and wconf set. Fatal when masterd did not
 * start it.
 */
void master_start(const char *name, int argc, char *argv[], char *envp[]);
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
/*
 * The worker quits on its own (its SIGTERM): masterd sends it no more
 * connections (WM_QUITTING, a worker's alone) and starts another.
 */
void master_quitting(void);
/* The open connection count; sent as WM_LOAD at most every 50 ms. */
void master_load(unsigned int n);
/*
 * The channel's bytes zeroed (pchan_wipe: MW_SETTINGS's keys among
 * them), nothing closed: for a forked child (fetch/docchild.c).
 */
void master_wipe(void);

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
/*
 * The path exactly, not with a trailing slash as the others: a proxy's
 * rule for the exact path (docs/haproxy.cfg's deny of /metrics) covers it.
 */
#define R_EXACT		0x10

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
#define ROUTE_BODY_FILE		ST_KB_FILE_MAX	/* a knowledge source's file */
#define ROUTE_BODY_PIECE	ST_ATT_PIECE	/* an upload's piece */

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
/* conn_hooks's head_refused: CORS as router_dispatch would answer it. */
int router_head_refused(const struct http_request *, int status,
    char *hdrs, size_t hdrsz);
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

/* ------------------------------------------------------- admin/metrics.c */

/* Here rather than in admin.h: every part of the worker counts. */

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
/* A turn's start held for the model's first text (turn_start_hold_ms). */
void metrics_turn_start_held(void);
/* Tokens an embeddings (rerank 0) or rerank (1) job's answers reported. */
void metrics_embed_tokens(int rerank, uint64_t tokens);
/* An action the model called has ended: ok (a 2xx answer), ms its call's (0: none made). */
void metrics_tool_call(int ok, uint32_t ms);
/* A visitor's thumb given (ST_FEEDBACK_UP, _DOWN), or a rating (0). */
void metrics_feedback(uint8_t value);
/* masterd's count of replaced workers (PROTO_MW_RESTARTS). */
void metrics_restarts(uint32_t n, uint64_t run);
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
	int early;		/* STOREC_OK before the commit (storec_ask_early) */
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
 * The process name our HELLO gives storaged (WORKERD_NAME unless set,
 * before the first connection): storaged takes from each process only
 * the requests proto/msgtab.c lets it send (the fetcher: its own).
 */
void storec_hello_name(const char *name);
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
 * Called when storaged confirmed a level: its epoch and last seq then,
 * and its ring's id key (ST_EV_KEY_LEN bytes); again is 1 when this
 * follows a reconnect (events in between are lost).
 */
typedef void (*storec_sub_cb)(uint8_t level, uint64_t epoch,
    uint64_t last_seq, const uint8_t *id_key, int again);
void storec_on_subscribed(storec_sub_cb);
int storec_connected(void);
/*
 * The wait before a loop asks one of storaged's queues again (ms: its
 * POLL_MS or IDLE_POLL_MS: the notifier's outbox and mail outbox, the
 * fetcher's syncs and attachments), or the test build's
 * PARLEY_TEST_POLL_MS if lower: a test's job starts without sitting out
 * an idle poll.
 */
uint64_t storec_poll_ms(uint64_t ms);
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
 * (logged). storec_ask_early for a write whose answer is wanted before
 * it is on disk: when the request changes the store, cb runs first with
 * early set and the answer, as soon as storaged has run it, and then
 * once more when the commit is done: STOREC_OK with an empty payload,
 * or the failure (the write then did not happen). Otherwise cb runs
 * once, as for storec_ask. The handle stays set until the last call.
 */
int storec_ask(const struct st_who *, uint16_t type, const void *req,
    storec_cb cb, void *arg, struct storec_req **handle);
int storec_ask_early(uint16_t type, const void *req, storec_cb cb,
    void *arg, struct storec_req **handle);
/*
 * Either, with the request's flags: PROTO_F_EARLY for storec_ask_early's
 * answers, PROTO_F_SHARE when its reply may wait a moment for a disk
 * flush shared with other writes (proto.h), and STOREC_F_OUTCOME (ours,
 * not sent) for a write whose outcome the caller must know: it is not
 * failed at the storage timeout (storaged would still run it) but waits
 * while the connection lives, three storage timeouts at most (10 s at
 * least; then the connection is dropped as stuck, and cb says
 * unavailable). A request answered early waits so for its confirmation,
 * flagged or not.
 */
#define STOREC_F_OUTCOME	0x8000
int storec_ask_flags(const struct st_who *, uint16_t type, uint16_t flags,
    const void *req, storec_cb cb, void *arg, struct storec_req **handle);
/*
 * A STOREC_OK result's payload decoded exactly as type's reply into rep
 * (its struct; free with st_rep_free): 0, or -1 (logged) when it does
 * not: the one error path for a malformed reply.
 */
int storec_decode(const struct storec_result *, uint16_t type, void *rep);
/*
 * Why a request failed, for a log line: storaged's text (STOREC_ERROR),
 * "storaged unavailable", or, of a STOREC_OK result whose decode failed,
 * "a reply that does not decode".
 */
const char *storec_why(const struct storec_result *);
/* Forgets a request: its callback will never run. NULL is a no-op. */
void storec_cancel(struct storec_req *);
size_t storec_inflight(void);
/* Closes the connection and forgets every request (tests, exit). */
void storec_shutdown(void);
/*
 * The connection's bytes zeroed (pchan_wipe: replies that held a key
 * among them), nothing closed: for a forked child (fetch/docchild.c).
 */
void storec_wipe(void);

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
/*
 * The owner's text for storaged refusing a write because its store is
 * full (its map, or its disk: storaged/store.h), or NULL for any other
 * answer: what to do, where a visitor hears "Storage unavailable".
 */
const char *storec_full_text(const struct storec_result *);

#endif
