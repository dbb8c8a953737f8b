/*
 * The owner's side of workerd (admin/): the admin API's gate and answers
 * (admin.c, entity.c), the export, handoff, the event stream, dashboard
 * login and sessions (dashauth.c, hashpool.c), widgets and contacts
 * (widgets.c, gdpr.c), setup counts, agents, organisations and users,
 * API keys, notification choices, feedback, canned replies, webhooks and
 * the audit log. GET /metrics (metrics.c) is declared in workerd.h:
 * every part of the worker counts.
 */
#ifndef PARLEY_ADMIN_H
#define PARLEY_ADMIN_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dashmsg.h"
#include "exportrows.h"
#include "record.h"
#include "stmsgs.h"
#include "tzif.h"
#include "workerd.h"

/* --------------------------------------------------------------- admin.c */

#define ADMIN_LIMIT_DEFAULT	100
#define ADMIN_MAX_MESSAGES	0	/* 0: every message one reply can hold */

/* key NULL or "": the admin API answers 503. */
void admin_init(const char *key);
/* 0 authorised; else the status to answer: 503 not configured, 401. */
int admin_auth(const char *given);
/*
 * v read as the reference's z.coerce.number().int() reads a query
 * parameter (JavaScript's Number() of it, its decimal forms): white
 * space around, a sign, digits with a fraction, an exponent. 0 and *n
 * when it is an integer 1..max, else -1.
 */
int admin_query_int(const char *v, uint32_t max, uint32_t *n);
/* Parses ?limit=&cursor= (limit: admin_query_int). 0 ok, -1 invalid. */
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
	int gaps;		/* knowledge=not_found */
	int state;		/* state=: 0 any, else 1 + ST_STATE_* */
};
/*
 * ?limit=&cursor=&widget=&q=&assignee=&knowledge=not_found&state= into q, or
 * ?handoff=open[&limit=]
 * (with nothing else). 0 ok, -1 invalid.
 */
int admin_conv_query(const char *query, struct admin_conv_q *q);
struct storec_result;
struct storec_answer;
/* A list's cursor storaged refuses (PROTO_E_INVALID): 400, the client's. */
extern const struct storec_answer admin_list_errors[];

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
 * v (its reference taken) sent with status and admin_timed_headers; v
 * NULL (out of memory): 500.
 */
void admin_send_json(struct conn *, int status, json_t *v);
/* 400 "Invalid query parameters": a query the route does not take. */
void admin_bad_query(struct conn *);
/*
 * The organisation a request names: its x-organization-id header, else
 * its query's organization_id (a browser opens the event stream and the
 * export's downloads itself and sets no header on them); NULL or "" for
 * none. A malformed query value reads as "-", an id no organisation has.
 * buf (ADMIN_ORG_BUF bytes) holds the query's value.
 */
#define ADMIN_ORG_BUF	(ST_ORG_ID_MAX + 2)
const char *admin_request_org(const struct http_request *, char *buf);
/* The organisation w acts in (the default one when it names none). */
const char *admin_who_org(const struct st_who *w);
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
 * The request's JSON body (any JSON value; duplicate keys rejected; a
 * UTF-8 byte order mark at its start ignored), or NULL when answered 400
 * (not application/json, or not JSON).
 */
json_t *admin_json_body(struct conn *, struct http_request *);
/*
 * admin_json_body not answering: NULL with *why the 400's message, for a
 * handler that judges the body only after something else (a 404).
 */
json_t *admin_json_parse(struct http_request *, const char **why);
/*
 * A body field's string (or, when nullable, null: "") into *dst, its
 * old value wiped (it may be a key) and freed. NULL, or what is wrong
 * ("must be a string"); "" out of memory.
 */
const char *admin_take_text(json_t *v, char **dst, int nullable);
/*
 * The name of root's first member that allowed (NULL-ended) does not
 * name, or NULL when it names each (or root is no object).
 */
const char *admin_body_other(json_t *root, const char *const *allowed);
/*
 * A body's role ("agent", "admin", "owner") as ST_ROLE_*, or ST_ROLE_NONE
 * for anything else: not a string, another name, or one with a NUL
 * inside ("owner\u0000x", which strcmp would read as "owner").
 */
uint8_t admin_role_value(json_t *v);
json_t *admin_conv_json(const struct st_conv *);
json_t *admin_msg_json(const struct st_msg *);
/*
 * An answer's cited passages as its chat showed them, stored with it
 * (st_msg.cited): [{"n","source_id","title","url"}]; NULL none (an older
 * record, no knowledge cited, or not an array: left out).
 */
json_t *admin_cited_json(const struct st_msg *);
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
/*
 * conn_hold(c, ctx, free_ctx), then storec_ask of c's request (who asks:
 * c's) for cb: 0 asked; -1 when storaged is unavailable: ctx freed, c
 * let go and answered 503.
 */
int admin_ask_held(struct conn *, void *ctx, void (*free_ctx)(void *),
    uint16_t type, const void *req,
    void (*cb)(const struct storec_result *, void *));
/*
 * How storaged's reply to a request of type is answered: admin_answer's
 * arguments, and invalid_text: storaged's `invalid` that says which
 * bound answered 400 with its text first (admin_said_invalid).
 */
struct admin_reply {
	uint16_t type;
	int status;
	admin_json_fn fn;
	const struct storec_answer *own;	/* as admin_answer's, or NULL */
	int invalid_text;
};
/*
 * Asks storaged for req (how->type's request; NULL for one without) and
 * answers its reply as how says, or 503; c's handler state holds how
 * (read only, static) until then.
 */
void admin_ask_reply(struct conn *, const void *req,
    const struct admin_reply *how);
/*
 * admin_ask_reply with a request naming id alone (st_id_req), when id is
 * not NULL; NULL: its check has answered c already (admin_path_id).
 */
void admin_ask_id(struct conn *, const char *id,
    const struct admin_reply *how);
/* storaged's answer r to c's request answered as how says. */
void admin_reply_answer(struct conn *, const struct storec_result *r,
    const struct admin_reply *how);
/*
 * A read of storaged's, answered 200 with fn's JSON of its reply: one
 * without a request, or a page of a list.
 */
struct admin_view {
	struct admin_reply reply;
	int paged;		/* ?limit=&cursor= (else 400): a st_page_req */
};
/* Asks storaged for v and answers its reply (admin_ask_reply). */
void admin_view_get(struct conn *, struct http_request *,
    const struct admin_view *);
/* The route handler P answering admin_view_get of a view of type. */
#define ADMIN_VIEW_ROUTE(P, type, fn, own, paged)			\
	void P(struct conn *c, struct http_request *req,		\
	    const struct route_match *m)				\
	{								\
		static const struct admin_view v = {			\
			{ (type), 200, (fn), (own), 0 }, (paged)	\
		};							\
									\
		admin_view_get(c, req, &v);				\
	}
/*
 * A route P asking storaged a request of type naming the path's id
 * alone, ID (an expression of c and m; NULL: it has answered c), its
 * reply answered as struct admin_reply's status, fn, own and text say.
 */
#define ADMIN_ID_ROUTE(P, ID, type, status, fn, own, text)		\
	void P(struct conn *c, struct http_request *req,		\
	    const struct route_match *m)				\
	{								\
		static const struct admin_reply how = {			\
			(type), (status), (fn), (own), (text)		\
		};							\
									\
		admin_ask_id(c, (ID), &how);				\
	}
/*
 * 0 when c is a dashboard user's (a session with a user); else -1,
 * answered 403 "<what> a dashboard user's own: sign in to the dashboard"
 * (a key has no user to act for).
 */
int admin_user_only(struct conn *c, const char *what);
/*
 * The route's id parameter when valid says one may have it, else NULL,
 * answered 404 with not_found: an id none can have is one this
 * organisation does not have.
 */
const char *admin_path_id(struct conn *, const struct route_match *,
    int (*valid)(const char *), const char *not_found);
/* The gated request's id parameter, or NULL when answered (400: invalid). */
const char *admin_id_param(struct conn *, struct http_request *,
    const struct route_match *, const char *invalid);

void admin_conv_list(struct conn *, struct http_request *,
    const struct route_match *);
/* DELETE /v1/admin/conversations/:id (admin.c) */
void admin_conv_delete(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * GET /v1/admin/export, streamed (export.c; docs/dashboard.md); 503 when
 * credwatch_downloads_full.
 */
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
void handoff_state_patch(struct conn *, struct http_request *,
    const struct route_match *);
/* A report's parameters (reports.c), kept in c->hctx while storaged answers. */
struct report_q {
	int64_t from_day, to_day;	/* local days since 1970-01-01 */
	char tz[TZ_NAME_MAX + 1];
	const struct tzinfo *zone;
	int csv;
	int by_widget;			/* widget_id given */
};
/*
 * A reports route's query string (NULL: none), ?from=&to=&tz=&widget_id=
 * &agent_id=, into q (but csv) and sq (its widget and agent pointing at
 * widget and agent, "" when not given): NULL, or the 400's message
 * naming the parameter. Taken: tz a zone tz_get has, from_day <=
 * to_day, 366 days at most (both included), sq's from and to the first
 * instants of from_day and of the day after to_day in tz (from 0 at the
 * earliest). Here for its fuzz target (tests/fuzz/reportq): the
 * query is any client's.
 */
const char *report_query(const char *query, struct report_q *q,
    struct st_report_get_req *sq, char widget[ST_WIDGET_MAX + 1],
    char agent[ST_ID_HEX + 1]);
/* reports.c: GET /v1/admin/reports and /v1/admin/reports.csv. */
void reports_get(struct conn *, struct http_request *,
    const struct route_match *);
void reports_csv_get(struct conn *, struct http_request *,
    const struct route_match *);
void handoff_assign_post(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /v1/admin/conversations?handoff=open (gated): ST_HANDOFF_LIST. */
void handoff_list(struct conn *, uint32_t limit, const char *cursor);
/* An owner's display name: 1-100 characters, no control characters. */
int handoff_name_valid(const char *s, size_t len);
/*
 * 1 when who's typing state for conv may go to storaged at now (ms): not
 * when who's same state went less than HANDOFF_TYPING_MS ago. It is then
 * remembered (a few dozen, the oldest forgotten first). Per caller (its
 * organisation, session or key), so that another organisation's request
 * for the id neither is answered without storaged (its 404) nor holds
 * back the owner's own typing, and a colleague's typing is not held back.
 */
int handoff_typing_pass(const struct st_who *who, const char *conv, int on,
    uint64_t now);
/* Forgets who's conv (storaged refused it: the next request asks again). */
void handoff_typing_forget(const struct st_who *who, const char *conv);
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
 * blank line), its data built as the admin API's JSON and its id under
 * key (events_id_make): 0; 1 for an event the stream does not carry
 * (typing), nothing appended; -1 on error.
 */
int events_format(struct buf *out, const struct st_event *,
    const uint8_t key[ST_EV_KEY_LEN]);
/*
 * The data object of an event as the admin API's JSON (the stream's
 * "data:", a webhook's "data"): {"conversation"} for a new one, with
 * "message", "state" and "name" (a handoff), or "contact"; *name is set
 * to the stream's event name ("conversation", "message", "handoff",
 * "contact"). A new reference, or NULL out of memory or for a kind
 * without data (typing).
 */
json_t *events_data(const struct st_event *, const char **name);
/*
 * An event's id as a stream shows it: its epoch and seq (16 bytes,
 * big-endian) as one AES-128 block under key, the ring's (storaged's, at
 * the subscription), in 32 hex digits. Opaque: a seq counts every
 * organisation's events, which another's stream must not read off its
 * ids. 0, or -1 (OpenSSL failed).
 */
#define EVENTS_ID_LEN	32
int events_id_make(const uint8_t key[ST_EV_KEY_LEN], uint64_t epoch,
    uint64_t seq, char out[EVENTS_ID_LEN + 1]);
/*
 * A Last-Event-ID read back under key: 0, or -1 when it is not 32 hex
 * digits. An id made under another key (storaged restarted or failed
 * over since) reads as an epoch the ring does not have: a reset.
 */
int events_id_parse(const uint8_t key[ST_EV_KEY_LEN], const char *s,
    uint64_t *epoch, uint64_t *seq);

/* ------------------------------------------------------------ dashauth.c */

#define DASH_COOKIE		"parley_session"
/*
 * The cookie's name over https: a browser takes a __Host- cookie only
 * Secure, with Path=/ and no Domain, so a neighbour subdomain cannot set
 * one for this host (a session of its own, signed in as the attacker).
 */
#define DASH_COOKIE_HTTPS	"__Host-" DASH_COOKIE
/*
 * A known device's cookie (storaged/devcookie.h), set beside the session
 * at a login and kept after it ends; its __Host- name over https.
 */
#define DASH_DEVICE		"parley_device"
#define DASH_DEVICE_HTTPS	"__Host-" DASH_DEVICE
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
/*
 * The Set-Cookie line (with CRLF) that sets id_hex, or clears (NULL);
 * DASH_COOKIE_HTTPS and Secure when secure (the client came by https:
 * conn_https), else DASH_COOKIE.
 */
void dashauth_set_cookie(char *out, size_t outsz, const char *id_hex,
    int secure);
/*
 * The Set-Cookie line (with CRLF) of a known-device cookie, DASH_DEVICE
 * or (secure) DASH_DEVICE_HTTPS, for ST_DASH_DEVICE_DAYS.
 */
void dashauth_device_cookie(char *out, size_t outsz, const char *device,
    int secure);
/*
 * The request's known-device cookie (the https name over https), "" when
 * none or not one in shape: storaged checks it (ST_DASH_ATTEMPT).
 */
void dashauth_device(const struct conn *, const struct http_request *,
    char out[ST_DASH_DEVICE_LEN + 1]);
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
/*
 * GET /dashboard/api/signed-in: the session's answer with "signed_in":
 * true, else 200 {"signed_in":false} (no cookie, a malformed or unknown
 * one): the pages' question whether someone is signed in, which a
 * signed-out visitor answers without an error.
 */
void dashauth_signed_in_get(struct conn *, struct http_request *,
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
/*
 * POST /dashboard/api/invitations/view {"token"}: 200 the invitation's
 * organisation (id, name), email and role, to the link's holder; 404 an
 * unknown, spent or expired one. Nothing is hashed: not a login
 * attempt.
 */
void dashauth_invite_view_post(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * A wrong password, counted against the failed-login budget of every
 * client (DASHBOARD_LOGIN_FAILURES_PER_MINUTE; none when 0).
 */
void dashauth_count_failure(void);

/*
 * The bodies of a login and of an invitation's acceptance, read from req
 * (its Content-Type and JSON as admin_json_parse reads them). Here for
 * their fuzz target (tests/fuzz/dashbody): the bodies are any client's.
 */
struct dash_creds {
	char *pw;			/* the password, NUL-ended, pwlen bytes */
	size_t pwlen;
	int by_email;			/* a login's {"email","password"} */
	char email[ST_EMAIL_MAX + 1];	/* a login's, normalised */
	uint8_t token_hash[ST_INVITE_HASH_LEN];	/* an acceptance's token's SHA-256 */
	char *name;			/* an acceptance's new account's name */
};
/*
 * A login's body, {"email","password"} (an email st_email_normal takes,
 * without NUL) or {"password"} alone (DASHBOARD_OWNER_EMAIL's, the
 * first owner's), into cr (email normalised, the password copied):
 * NULL, or the answer's message with *status: 400, 503 for the
 * password alone without DASHBOARD_PASSWORD, 500 out of memory.
 * jansson's copy of the password is wiped; cr's is dash_creds_clear's.
 */
const char *dashauth_login_read(struct http_request *req,
    struct dash_creds *cr, int *status);
/*
 * An invitation's acceptance's body, {"token","name","password"}, into
 * cr (the token's SHA-256, the name, the password copied): NULL, or the
 * answer's message with *status: 404 for a token that is
 * not 64 hex digits, 400 naming the field (a name st_user_name_invalid
 * takes, a password of SETTINGS_PASSWORD_MIN to 1024 characters without
 * NUL), 500 out of memory. jansson's copy of the password is wiped.
 * cr holds what was copied before a refusal too: dash_creds_clear's
 * either way.
 */
const char *dashauth_accept_read(struct http_request *req,
    struct dash_creds *cr, int *status);
/*
 * A signed-in acceptance's (or a view's) body, {"token"} alone: 1 with
 * the token's SHA-256 in hash, -1 for a token that is not 64 hex
 * digits, 0 for any other body.
 */
int dashauth_accept_signed_in(struct http_request *req,
    uint8_t hash[ST_INVITE_HASH_LEN]);
/* cr's password wiped and freed, its name freed. */
void dash_creds_clear(struct dash_creds *cr);

/* ------------------------------------------------------------ gaps.c */

/* GET /v1/admin/knowledge-gaps: the questions not answered, grouped. */
void gaps_get(struct conn *, struct http_request *,
    const struct route_match *);
/* POST /v1/admin/knowledge-gaps/resolve {"ids"}: answered or dismissed. */
void gaps_resolve_post(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------ profile.c */

/* GET and PATCH /v1/admin/profile: the signed-in user's name. */
void profile_get(struct conn *, struct http_request *,
    const struct route_match *);
void profile_patch(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * POST /v1/admin/profile/password {"current_password","new_password"}:
 * 204; the user's other sessions ended. Counted as a login attempt.
 */
void profile_password_post(struct conn *, struct http_request *,
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

/* ------------------------------------------------------------ recjson.c */

/* A row a record shows its own way (by the row's JSON name). */
struct rec_own {
	const char *json;
	void (*out)(json_t *o, const void *rec, int *err);	/* its keys into o */
};

/*
 * rec's rows into o in row order, as the JSON shows them: view RF_PUB
 * the public rows, RF_ADM every shown row; the rows own names its own
 * way (own ends with a NULL json). err as exprow_oset.
 */
void rec_json_fields(json_t *o, const struct rlayout *, const void *rec,
    int view, const struct rec_own *own, int *err);
/* A new object of rec's rows (rec_json_fields), or NULL. */
json_t *rec_json(const struct rlayout *, const void *rec, int view,
    const struct rec_own *own);
/*
 * v into row f of rec, by its kind and bounds: NULL, or what is wrong
 * ("" out of memory; "read-only" for a kind no body sets).
 */
const char *rec_take(json_t *v, void *rec, const struct rfield *f);
/* Every string row left NULL made "": 0, or -1 out of memory. */
int rec_texts_set(const struct rlayout *, void *rec);

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
	uint64_t bit;		/* its bit of the mask (ST_WF_*, ST_AF_*) */
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
	/* The 404's text: storaged's not_found, and an id none can have. */
	const char *not_found;
	const char *invalid;	/* the 400's when storaged's `invalid` has no text */
	int (*id_valid)(const char *);	/* the path's id may name one */
	/* An id storaged does not keep (NULL: none): read here, never changed. */
	const char *builtin;
	json_t *(*builtin_json)(void);
	const char *builtin_ro;	/* the 409's text for a change */
	/* A stored id DELETE refuses (NULL: none): 409 with kept_text. */
	const char *kept;
	const char *kept_text;
	/*
	 * A record with rows (proto/record.h): the body's fields are its
	 * rows (recjson.c), those no request sets read-only (a hidden one
	 * unknown, unless a request sets it: write-only), and fields below
	 * take their own way or under another name. NULL: only the fields
	 * below.
	 */
	const struct rlayout *layout;
	/*
	 * The body's fields, and the others it may not set (NULL-ended, or
	 * NULL for none).
	 */
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
	const char *(*rec_invalid)(void *rec, uint64_t mask, int patch);
	/* A "field: ..." text as the JSON names the field (NULL: as it is). */
	void (*field_text)(const char *msg, char *out, size_t outsz);
	/*
	 * u as an update request of id with mask (NULL, 0: not yet); its
	 * record, which alone is a create request.
	 */
	void *(*update_req)(union st_any *u, const char *id, uint64_t mask);
	/*
	 * The replies: one record (create, get, update; and a list's items),
	 * the list, a delete.
	 */
	admin_json_fn one, all, deleted;
	/*
	 * A check of a create's or an update's record that needs an answer
	 * from elsewhere (NULL: none), after rec_invalid: 0 store it now; 1
	 * it is under way (*state for vet_cancel, should the client leave or
	 * its credential end meanwhile: entity.c watches it, credwatch, and
	 * answers 401), and the verdict follows on the loop: NULL stores
	 * the record, else its text is the 400's; -1 answered.
	 */
	int (*vet)(struct conn *c, void *rec, uint64_t mask, int patch,
	    void **state);
	void (*vet_cancel)(void *state);
	/* A vet's refusal as the 400 says it (NULL: as it is). */
	const char *(*vet_why)(const char *why);
};
struct url_target;
/*
 * A vet's look (called from an entity's vet alone) at where t points: a
 * literal address or "localhost" judged at once (0 may be stored; -1 a
 * private one, answered 400 with the entity's vet_why), a name resolved
 * off the loop (1: its verdict follows, *state for vet_cancel); -1
 * answered 503 when too many are being resolved.
 */
int admin_vet_url(struct conn *, struct url_target *t, void **state);
/* A vet_cancel for a *state that is a name lookup (notify_lookup_start). */
void admin_vet_url_cancel(void *state);

/*
 * A body (a JSON object) onto rec, which start() set, and *mask the bits
 * of the fields present. 0, or -1 with "field: what is wrong" in err:
 * JSON types and ranges, unknown or read-only fields, a POST without a
 * required field, a PATCH's fields out of their rows' bounds
 * (rl_rows_invalid), then rec_invalid. Every text is set (NULL is not "" to
 * every reader).
 */
int admin_entity_from_json(const struct admin_entity *, json_t *root,
    void *rec, uint64_t *mask, int patch, char *err, size_t errsz);
/*
 * The entities, each its file's: an action (actions.c), an agent
 * (agents.c: a POST must name it; for a PATCH the name it leaves alone
 * is taken as valid; api_key "" or null clears the key), a knowledge
 * source (knowledge.c), an organisation (orgs.c), a webhook
 * (webhooks.c), a widget (widgets.c). Each record's rules are its
 * st_*_invalid's, their messages naming the fields as the JSON does.
 */
extern const struct admin_entity action_entity, agent_entity,
    kb_source_entity, org_entity, hook_entity, widget_entity;
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
/* An entity's storaged types: T_LIST, T_CREATE, T_GET, T_UPDATE, T_DELETE. */
#define ADMIN_ENTITY_TYPES(T)						\
	.list = T##_LIST, .create = T##_CREATE, .get = T##_GET,	\
	.update = T##_UPDATE, .del = T##_DELETE

/*
 * An admin_json_fn, NAME, of a list's reply (struct T, n of its ITEMS):
 * {KEY: [ITEM's JSON of each]}. Its storage class is the caller's
 * ("static ADMIN_LIST_JSON(...)").
 */
#define ADMIN_LIST_JSON(NAME, T, KEY, ITEMS, ITEM)			\
	json_t *NAME(const void *rep, int *status)			\
	{								\
		const struct T *l = rep;				\
									\
		return json_pack("{s:o}", KEY,				\
		    ADMIN_ITEMS_JSON(l->ITEMS, l->n, ITEM));		\
	}

/*
 * An entity's update_req, NAME: the union's member M, an update request
 * of id, mask and the record R.
 */
#define ADMIN_UPDATE_REQ(NAME, M, R)					\
	static void *NAME(union st_any *u, const char *id, uint64_t mask) \
	{								\
		u->M.id = id;						\
		u->M.mask = mask;					\
		return &u->M.R;						\
	}

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
 * that a dashboard of its organisation is open; lang the visitor's
 * vtext_accept, for a default away message).
 */
json_t *widget_json(const struct st_widget *);
json_t *widget_public_json(const struct st_widget *, int staffed,
    int lang);
/*
 * The widget's availability now (away mode, issue 23): {"away", "reason",
 * "message"}, with "type": type first unless type is NULL (the
 * WebSocket's message); the message the widget's, else away_default (a
 * vtext VT_AWAY). NULL out of memory.
 */
json_t *widget_avail_json(const struct st_widget *, int staffed,
    const char *type, const char *away_default);
/* A contact as the admin API shows it: its rows (recjson.c). */
json_t *contact_json(const struct st_contact *);
/* s as JSON text, "" (or NULL) as null: a field a contact may not have. */
json_t *json_opt_text(const char *s);
/* n, or null for 0 (none). */
json_t *json_opt_uint(uint32_t n);
/* A time (ms), or null for 0 (never). */
json_t *json_opt_ms(uint64_t ms);
/*
 * How a conversation came to its contact, set on cv (its JSON):
 * "contactVerified", and "submitted" when not. A failure sets *err.
 */
void contact_link_json(json_t *cv, const struct st_clink *l, int *err);
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
 * /v1/admin/contacts/:id[?erase=all]; GET /v1/admin/contacts/:id/erasure,
 * whether that delete is still under way.
 */
void contacts_export(struct conn *, struct http_request *,
    const struct route_match *);
void contacts_delete(struct conn *, struct http_request *,
    const struct route_match *);
void contacts_erasure(struct conn *, struct http_request *,
    const struct route_match *);
/* GET (and its OPTIONS preflight): the widget's public config. */
void widgets_config_get(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * The OPTIONS preflight of a visitor's uploads (/api/widget/:wid/
 * attachments[/:att]): answered as the config's is, for the origins the
 * widget allows alone (the Origin echoed, Vary: Origin), with the
 * uploads' methods and headers; another is 403 without CORS headers.
 */
void widgets_uploads_preflight(struct conn *, const struct route_match *);

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
/* GET /v1/admin/api-keys/:key_id: one of who asks's organisation's keys. */
void apikeys_get(struct conn *, struct http_request *,
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

/* actions.c: an organisation's actions. */
void actions_list(struct conn *, struct http_request *,
    const struct route_match *);
void actions_create(struct conn *, struct http_request *,
    const struct route_match *);
void actions_get(struct conn *, struct http_request *,
    const struct route_match *);
void actions_update(struct conn *, struct http_request *,
    const struct route_match *);
void actions_delete(struct conn *, struct http_request *,
    const struct route_match *);
/* actiontest.c: an action's dry run. */
void actions_test(struct conn *, struct http_request *,
    const struct route_match *);

/* knowledge.c: the knowledge base's sources and search. */
void knowledge_sources_list(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_create(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_get(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_update(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_delete(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_search(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_sync(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_pages(struct conn *, struct http_request *,
    const struct route_match *);
void knowledge_sources_file(struct conn *, struct http_request *,
    const struct route_match *);
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
/* POST /v1/admin/webhooks/:hook_id/secret: a new one, the old kept a day. */
void webhooks_secret(struct conn *, struct http_request *,
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

/* ------------------------------------------------------------ pagecheck.c */

/*
 * POST /v1/admin/widgets/:wid/check-page {"url"}: the page fetched (one
 * GET on the loop, bounded, under the knowledge crawler's address
 * policy) and searched for the widget's embed tag. 200 with what it
 * holds; 400 a bad body or a refused address; 404 no such widget; 502
 * the page could not be fetched.
 */
void widgets_check_page(struct conn *, struct http_request *,
    const struct route_match *);
/* At exit: the page checks' curl multi handle let go (a check still held
 * by a connection is freed with it, its handle already detached). */
void widgets_check_page_shutdown(void);


/* ----------------------------------------------------------- credwatch.c */

/*
 * A long answer (an event stream, an export) watched for the end of the
 * credential it was asked with: checked once, when it began, it must end
 * when storaged says the credential ended (a key deleted, a session
 * logged out, a user removed, an organisation deleted) or when the
 * dashboard session it was asked with expires.
 */
struct credwatch {
	struct conn *c;			/* the answer's: c->who is watched */
	int download;			/* counted by credwatch_downloads_full */
	void (*ended)(void *);
	void *arg;
	int on;				/* in the list */
	struct loop_timer expiry;	/* a session's end */
	TAILQ_ENTRY(credwatch) entry;
};
#define CREDWATCH_DOWNLOADS_ORG	8	/* an organisation's, a worker's */
/*
 * w (its owner's, alive until credwatch_stop) watched for c's credential
 * from now: once it ends, w is stopped and ended(arg) called, which ends
 * the answer. download: an export, counted by credwatch_downloads_full.
 */
void credwatch_start(struct credwatch *w, struct conn *c, int download,
    void (*ended)(void *), void *arg);
/*
 * 1 when the organisation c acts in has CREDWATCH_DOWNLOADS_ORG downloads
 * (exports of conversations or of contacts) running in this worker, else
 * 0. credwatch_refuse_download: the same, c then answered 503.
 */
int credwatch_downloads_full(const struct conn *c);
int credwatch_refuse_download(struct conn *c);
/* w no longer watched; a no-op when it is not (or never was) started. */
void credwatch_stop(struct credwatch *w);
/*
 * The end of c's download what (a name for the log) whose credential
 * ended, once its owner has let its state go: its storaged request
 * forgotten; a 401 before its first byte (started 0), cut after.
 */
void credwatch_answer(struct conn *c, int started, const char *what);

#endif
