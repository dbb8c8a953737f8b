/*
 * Attachments in the worker (docs/attachments.md): the visitors' and the
 * people's uploads (upload.c), their links and JSON (attlink.c), serving
 * them (serve.c). The bytes are storaged's (proto/attmsg.h); a file's
 * type is decided here by its bytes (sniff.c).
 */
#ifndef PARLEY_ATTACH_H
#define PARLEY_ATTACH_H

#include <stdint.h>

#include <jansson.h>

#include "attmsg.h"
#include "stmsgs.h"

struct conn;
struct http_request;
struct route_match;

/* How long a visitor's link to an attachment is good for. */
#define ATT_LINK_TTL_MS		(24ull * 60 * 60 * 1000)
/* The hex digits of a link's signature. */
#define ATT_SIG_HEX		32

/* ------------------------------------------------------------ attlink.c */

/*
 * A message's n attachments as JSON: [{id, name, type, size, url}], url
 * a visitor's signed link through widget wid (its public id; "" the chat
 * API's, /v1/chat/attachments/...) valid until now + ATT_LINK_TTL_MS,
 * or, wid NULL, the dashboard's path under conversation conv_id (conv_id
 * NULL too: a canned reply's file). NULL out of memory.
 */
json_t *att_json(const struct st_msg_att *a, uint32_t n, const char *wid,
    const char *conv_id, uint64_t now_ms);
/*
 * A link's signature of attachment id until exp (ms), with the key (64
 * hex digits) into sig (ATT_SIG_HEX + 1 bytes). 0, or -1 a bad key.
 */
int att_sign(const char *key, const char *id, uint64_t exp, char *sig);
/*
 * Whether a link's exp and sig (as given) are good for attachment id,
 * signed with key, at now: 1 yes, 0 no (compared in constant time).
 */
int att_link_ok(const char *key, const char *id, const char *exp,
    const char *sig, uint64_t now_ms);
/*
 * A message's "attachments" (a visitor's frame, a person's reply): a,
 * absent or null (none), or an array of at most ST_MSG_ATTS_MAX upload
 * ids ("att_" and 32 hex digits; whose and whether whole, storaged's to
 * say) into ids (pointing into a), *n of them. NULL, or why not.
 */
const char *att_ids_json(const json_t *a, struct st_str ids[ST_MSG_ATTS_MAX],
    uint32_t *n);
/* A file name as kept: its last path part, controls out, cut at 200 bytes. */
void att_name_clean(const char *in, char *out, size_t outsz);

/* ------------------------------------------------------------- upload.c */

/*
 * A new upload's body, {"name", "size"} (and the chat API's
 * "sessionId"; no other field), into q: name, a string without NUL,
 * cleaned into name (att_name_clean) and q->name pointing at it; size 1
 * to ST_ATT_MAX. NULL, or why not (its 400 the caller's to answer, with
 * the route's headers: a visitor's page reads it only with theirs).
 * *root is jansson's reading of the body (NULL when it is not JSON),
 * the caller's to release either way. Here for its fuzz target
 * (tests/fuzz/dashbody): the body is any visitor's or client's.
 */
const char *att_new_body(struct http_request *req, json_t **root,
    char name[ST_ATT_NAME_MAX + 1], struct st_att_new_req *q);
/*
 * The chat API client's sessionId, of root (a new upload's body, read by
 * att_new_body) when not NULL, else of req's query (a piece's PUT or
 * DELETE), hashed into token (chat_session_hash), *len its length: NULL,
 * or why not (a 400's message: none given, not a string, or not
 * ^[A-Za-z0-9._:-]{1,128}$). Here for its fuzz target too.
 */
const char *att_api_session(struct http_request *req, const json_t *root,
    uint8_t *token, uint32_t *len);

/*
 * The visitor's routes (R_PUBLIC, the session token in X-Parley-Session):
 *	POST   /api/widget/:wid/attachments		a new upload
 *	PUT    /api/widget/:wid/attachments/:att	a piece
 *	DELETE /api/widget/:wid/attachments/:att	given up
 *	OPTIONS either: the preflight, any origin
 */
void att_visitor_new(struct conn *, struct http_request *,
    const struct route_match *);
void att_visitor_piece(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * The chat API's (the API key; the client's sessionId in the body or
 * the query, as /v1/chat's):
 *	POST   /v1/chat/attachments {sessionId, name, size}	a new upload
 *	PUT    /v1/chat/attachments/:att?sessionId=	a piece
 *	DELETE /v1/chat/attachments/:att?sessionId=	given up
 *	GET    /v1/chat/attachments/:att?exp=&sig=	a link (no key)
 */
void att_chat_new(struct conn *, struct http_request *,
    const struct route_match *);
void att_chat_piece(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * A person's (R_ADMIN):
 *	POST /v1/admin/conversations/:id/attachments		a new upload
 *	PUT  /v1/admin/conversations/:id/attachments/:att	a piece
 */
void att_admin_new(struct conn *, struct http_request *,
    const struct route_match *);
void att_admin_piece(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * A canned reply's files (R_ADMIN), named by the reply's "attachments"
 * (canned.c) and copied into each message that names them:
 *	POST /v1/admin/canned-replies/attachments		a new upload
 *	GET|PUT|DELETE /v1/admin/canned-replies/attachments/:att
 */
void att_canned_new(struct conn *, struct http_request *,
    const struct route_match *);
void att_canned_piece(struct conn *, struct http_request *,
    const struct route_match *);

/* --------------------------------------------------------------- scan.c */

/*
 * What a scan of an upload's last piece q came to: status 0, go on
 * storing q (its scan set); else refuse with status and msg (the upload
 * to be deleted). c is its handler's again.
 */
typedef void (*att_scan_fn)(struct conn *c, struct st_att_put_req *q,
    int status, const char *msg);
/*
 * The upload whose last piece q is, before it is kept (scan.c): with
 * PARLEY_ATTACH_STRIP an image's metadata taken out, with PARLEY_CLAMD
 * the file scanned (its earlier pieces read back from storaged); then
 * fn, with q as it is to be stored (the stripped file's last piece): 1.
 * 0 when there is nothing to do (neither set, a drop, a single piece
 * that is no image and no scan): go on at once.
 */
int att_scan(struct conn *c, const struct st_att_put_req *q, att_scan_fn fn);

/* -------------------------------------------------------------- serve.c */

/*
 *	GET /api/widget/:wid/attachments/:att?exp=&sig=	a visitor's link
 *	GET /v1/admin/conversations/:id/attachments/:att	the dashboard's
 * The bytes as their type alone, never run (nosniff, a sandboxing CSP,
 * any file but an image as a download), streamed a piece at a time.
 */
void att_visitor_get(struct conn *, struct http_request *,
    const struct route_match *);
/*	GET /v1/chat/attachments/:att?exp=&sig=	a link in the API's history */
void att_chat_get(struct conn *, struct http_request *,
    const struct route_match *);
void att_admin_get(struct conn *, struct http_request *,
    const struct route_match *);
/*	GET /v1/admin/canned-replies/attachments/:att	a canned reply's */
void att_canned_get(struct conn *, struct http_request *,
    const struct route_match *);

#endif
