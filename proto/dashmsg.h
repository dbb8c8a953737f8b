/*
 * The dashboard (issue 6): owner sessions, and the conversation queries,
 * deletion and message paging it needs. Conventions as in storemsg.h
 * (big-endian, str = u32 length + bytes, bytes = u32 length + bytes,
 * records behind a one-byte format version in LMDB).
 *
 * Sessions. The worker makes the session id (32 random bytes, sent to the
 * browser as 64 lowercase hex digits in the parley_session cookie) and
 * its CSRF token (64 lowercase hex digits); storaged keeps the SHA-256 of
 * the id (ST_DASH_HASH_LEN bytes), never the id, and the session's user
 * (usermsg.h). A session whose expiry has passed, or whose user is
 * disabled or gone, is not valid; disabling, deleting or a new password
 * deletes the user's sessions. Logout deletes the session, so it ends
 * everywhere at once.
 *
 * Requests (reply payloads after "->"); errors as PROTO_F_ERROR replies.
 *
 *   ST_DASH_LOGIN   bytes token_hash (32), str csrf (64 hex),
 *                   str user id, u64 expires_at (ms),
 *                   bytes pw_hash (32 or none)             -> str device
 *       Stores the session (replacing one with the same token_hash). In
 *       the same transaction, deletes every expired session; when the
 *       user has ST_DASH_USER_SESSIONS_MAX, its own that expires first
 *       goes to make room (one user's logins never end another's); when
 *       ST_DASH_SESSIONS_MAX remain in all, `full` (no other
 *       user's session ends for it). `invalid` on a malformed field (a
 *       length, csrf not 64 lowercase hex digits) or an expires_at not
 *       after storaged's now; `not found` for a user that does not
 *       exist or is disabled, or whose password hash is no longer
 *       pw_hash (the one the worker checked the password against: a
 *       password changed while the login hashed its attempt ends the
 *       user's sessions, and this one too). A session is valid while
 *       now < expires_at.
 *       device: the user's browser's known-device cookie
 *       (storaged/devcookie.h; ST_DASH_DEVICE_LEN characters, valid
 *       ST_DASH_DEVICE_DAYS), which ST_DASH_ATTEMPT reads.
 *   ST_DASH_CHECK   bytes token_hash (32), str org ("" = the user's
 *                   first), u8 want_orgs
 *       -> u8 valid (ST_DASH_INVALID, _VALID, _NOT_MEMBER), and when
 *          valid: str csrf, u64 expires_at, str user id, str email,
 *          str name, str org, u8 role, u32 n, n x (str org id,
 *          str org name, u8 role) (n 0 unless want_orgs)
 *       Read only.
 *   ST_DASH_LOGOUT  bytes token_hash (32)                    -> (empty)
 *       Deletes it; an unknown one is not an error.
 *   ST_DASH_SALT    (empty)                         -> bytes salt (16)
 *       This install's fingerprint salt: random, made when the data
 *       directory is first opened (meta "dash_fp_salt"), never changed.
 *       Read only. The worker's fingerprint of DASHBOARD_PASSWORD is
 *       scrypt with it (ST_USER_BOOT's fp).
 *
 * Login attempts (no LMDB: the rate table, as ST_RATE_HIT).
 *
 *   ST_DASH_ATTEMPT str rate_key, u32 window_ms, u32 rate_max,
 *                   u32 failures_max, str email, str device
 *                                     -> u8 limited, u64 retry_after_ms
 *       First the failed-login budget: when the window of
 *       ST_DASH_FAILED_KEY holds failures_max failures, limited is 2 and
 *       nothing is counted (failures_max 0: no budget), unless device is
 *       a known-device cookie of email (the address the attempt signs in
 *       to, normalised; "" for an invitation's acceptance), which a
 *       login of that account gave this browser: a flood of wrong
 *       passwords locks nobody out of the browsers they used. Else
 *       rate_key is counted as ST_RATE_HIT counts it: limited 1 when
 *       over rate_max.
 *       The worker counts each wrong password with ST_RATE_HIT of
 *       ST_DASH_FAILED_KEY (window_ms, failures_max), so the budget is
 *       spent by failures only and shared by every worker.
 *
 * Conversations.
 *
 *   ST_CONV_QUERY   u32 limit (1..ST_LIST_MAX), str cursor ("" = newest),
 *                   str widget ("" = every widget; else the widget's
 *                   internal id, as conv.widget), str q ("" = no search;
 *                   else 1..ST_SEARCH_MAX bytes of UTF-8), u8 assigned
 *                   (ST_ASSIGNED_*, agentmsg.h), str assignee (its
 *                   user id with ST_ASSIGNED_TO, else ""), u8 gaps,
 *                   u8 state, u8 order (ST_ORDER_*, stmsgs.h)
 *       -> u64 total, u32 n, n x conv, str next_cursor ("" = the end)
 *       Newest activity first, as ST_CONV_LIST (same cursors); with
 *       order ST_ORDER_CREATED newest first by creation, an order no
 *       message moves (an export's; its cursors are its own). With a
 *       widget (1..ST_WIDGET_MAX of [A-Za-z0-9_-], else `invalid`), only
 *       its conversations, through a per-widget index, and total is that
 *       widget's count (0 for an unknown one); else total is every
 *       conversation.
 *       With q: only conversations where q occurs, ignoring ASCII case,
 *       in the session id, the contact's name, email or phone, or any
 *       message's content; at most ST_SEARCH_SCAN conversations are
 *       looked at per request (fewer when they hold over 32 MiB of
 *       messages), so a page may hold fewer than limit
 *       matches (even none) and still have a next_cursor: the cursor
 *       after the last conversation looked at ("" once the index ends).
 *       total is still the count without q.
 *       With assigned NONE or TO: only conversations with no assignee,
 *       or with that one; bounded as a search (ST_SEARCH_SCAN looked at
 *       per request, a next_cursor to go on), total still without it.
 *   ST_CONV_DELETE  str conv_id                              -> (empty)
 *       The conversation, its messages and every index entry naming it
 *       (per-widget, session, contact). `not found`.
 *   ST_MSG_PAGE     str conv_id, u32 from, u32 limit (1..ST_LIST_MAX)
 *       -> u32 n, n x msg, u32 next (0 = no more)
 *       A conversation's messages oldest first, from position `from` (0 =
 *       the first message; pass `next` to go on). Fewer than limit when
 *       a reply would grow too large (never none while some are left).
 *       `not found` for an unknown conversation; `invalid` for a
 *       malformed id or limit. Answered for workers of the version
 *       before: this version's ask ST_MSG_PAGES.
 *   ST_MSG_PAGES    u32 n, n x str conv_id (1..ST_LIST_MAX), u32 from,
 *                   u32 limit (1..ST_LIST_MAX)
 *       -> u32 n, n x msg, u32 next_conv, u32 next_from
 *       Several conversations' messages in one request (an export's page
 *       of conversations): each one's oldest first, in the order named,
 *       from position `from` of the first. At most limit messages, fewer
 *       when a reply would grow too large (never none while some are
 *       left); go on with the ids from next_conv (n: no more) and from
 *       next_from. A conversation that is not there (deleted, or another
 *       organisation's) has none; `invalid` for a malformed id, count or
 *       limit.
 */
#ifndef PARLEY_DASHMSG_H
#define PARLEY_DASHMSG_H

#include "proto.h"
#include "storemsg.h"

#define ST_DASH_HASH_LEN	32	/* SHA-256 of the session id */
#define ST_DASH_FP_LEN		32	/* password fingerprint */
#define ST_DASH_CSRF_LEN	64	/* hex digits */
#define ST_DASH_SESSIONS_MAX	10000	/* sessions kept at once, in all */
#define ST_DASH_USER_SESSIONS_MAX 20	/* sessions kept at once, a user's */
#define ST_DASH_SALT_LEN	16	/* the install's fingerprint salt */
#define ST_DASH_DEVICE_LEN	81	/* a known-device cookie's characters */
#define ST_DASH_DEVICE_DAYS	90	/* and how long it is one */
/* Who asks for a session: the hex of its hash's first bytes. */
#define ST_DASH_WHO_BYTES	8
/* ST_DASH_CHECK's valid */
#define ST_DASH_INVALID		0	/* no such session (or ended) */
#define ST_DASH_VALID		1
#define ST_DASH_NOT_MEMBER	2	/* the user is not in that organisation */	/* the install's fingerprint salt */
#define ST_DASH_FAILED_KEY	"login-failed:*"	/* the failed-login budget */
#define ST_SEARCH_MAX		200	/* bytes of a search text */
#define ST_SEARCH_SCAN		2000	/* conversations looked at per search request */

#endif
