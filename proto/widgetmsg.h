/*
 * Widgets, visitor sessions, contacts and daily caps (issue 5): the
 * records and the payloads of their storaged requests. Conventions as in
 * storemsg.h (big-endian, str = u32 length + bytes, records behind a
 * one-byte format version in LMDB).
 *
 * A widget has two ids. `id` is internal and never changes: conversations
 * and sessions point at it. `widget_id` is the public one in the embed
 * ("wid_" + 128 random bits as 32 lowercase hex); reset-id replaces it and
 * the old one stops working at once. The default widget (id "default") is
 * created by storaged at start when missing; the Open Chat Widget API's
 * conversations belong to it. It cannot be deleted.
 *
 * Session tokens: the worker makes them (32 random bytes, base64url, 43
 * characters) and storaged keeps only their SHA-256 (ST_TOKEN_HASH_LEN
 * bytes). A session belongs to one widget (internal id) and has its own
 * id (32 hex), which is the `session` of its conversation.
 *
 * Requests (reply payloads after "->"); errors as PROTO_F_ERROR replies:
 * `invalid` (message names the field: "primary_color: must be #rrggbb"),
 * `not found`.
 *
 *   ST_WIDGET_CREATE   widget (id, widget_id, times ignored)   -> widget
 *   ST_WIDGET_UPDATE   str widget_id, u32 mask (ST_WF_*),
 *                      widget (only the masked fields are read)  -> widget
 *       The merged widget is validated as a whole (st_widget_invalid).
 *   ST_WIDGET_GET      str widget_id                            -> widget
 *   ST_WIDGET_LIST     (empty)                                  -> u32 n, n x widget
 *       Oldest first (the default widget first), at most ST_WIDGETS_MAX.
 *   ST_WIDGET_DELETE   str widget_id                            -> (empty)
 *       Its sessions go too; its conversations and contacts stay.
 *   ST_WIDGET_RESET_ID str widget_id                            -> widget
 *   After a commit that deletes a widget, replaces its public id or
 *   disables it, storaged sends every client the event ST_EV_WIDGET_GONE
 *   (flags 0, id 0; payload: str old widget_id) so that workers close the
 *   WebSockets open on it.
 *
 *   ST_WIDGET_SECRET_SET str widget_id -> str secret
 *       A new identity secret (issue 26): 32 random bytes as 64
 *       lowercase hex, replacing any (rotation). The reply is the only
 *       place it is ever shown; the record keeps it.
 *   ST_WIDGET_SECRET_DEL str widget_id -> widget
 *       The secret removed, identity_required turned off.
 *
 *   ST_WS_OPEN   str widget_id, str origin, bytes token_hash (0 or 32),
 *                bytes new_hash (32), u64 idle_ms, u32 history_max (1..ST_HISTORY_MAX),
 *                u32 n (0..ST_WS_OPEN_HITS_MAX), n x rate hit (as ST_RATE_HIT's
 *                request: str key, u32 window_ms, u32 max), u8 history_hit
 *                (0, or 1 + the index of the hit charged the history read)
 *       -> u8 result (ST_WS_*: OK, NO_WIDGET, ORIGIN, LIMITED); when
 *          LIMITED: u8 which (the hit that said no), u64 retry_after_ms;
 *          when OK:
 *          widget, u8 resumed, u8 contact_submitted, str conv_id ("" when
 *          the session has none yet), u32 n, n x (str role, str content,
 *          str name ("" except role agent), str id, u8 feedback (issue
 *          26: enum st_feedback)), u8 more (older messages were
 *          left out), u8 handoff (the conversation's ST_HANDOFF_*; 0
 *          when it has none), str handoff_name (handoff human: its
 *          assignee's display name, the widget's "<name> joined"; else "")
 *       The rate hits are counted first, in order, each only when the one
 *       before was not limited (the upgrade's count, then a resume's: one
 *       round trip, not three); a limited one answers LIMITED and nothing
 *       else is done. The hit history_hit names (a resume's) is then
 *       charged, beyond its 1, the KiB of message records the open read
 *       (those the history leaves out too, rounded up): its max is a
 *       budget of history replayed, so small histories resume often and
 *       large ones seldom; a hit with max 0 is charged nothing
 *       (history_hit past n is `invalid`). The widget must exist and be
 *       enabled (else NO_WIDGET), and origin
 *       must be allowed (st_origin_allowed; else ORIGIN): then nothing is
 *       written. A token_hash naming a session of this widget active
 *       within idle_ms resumes it (its activity time is touched; history:
 *       its conversation's newest history_max messages outside failed
 *       turns and within ST_WS_HISTORY_BYTES, read newest first, sent
 *       oldest first). Otherwise nothing is stored (resumed 0, no
 *       history): new_hash is the token the worker hands out, stored
 *       only with the visitor's first message or contact submission
 *       (new_hash naming a stored session is `invalid`). A token_hash
 *       naming an expired session of this widget deletes it.
 *
 *   ST_WS_BEGIN  str widget_id, bytes token_hash, str content,
 *                str rate_key, u32 window_ms, u32 rate_max,
 *                u32 history_max, u64 idle_ms, u8 create, visitor,
 *                atts, str client_id, str origin
 *       -> u8 result (ST_WS_*), u64 retry_after_ms (LIMITED: the rate
 *          window's rest; CAPPED: ms to the next UTC day; else 0),
 *          and when OK or HUMAN: agent (agentmsg.h: the effective one,
 *          the widget's own model and prompt merged in), u8 created,
 *          conv (its id and visitor.language alone), u32 n,
 *          n x (str role, str content) (HUMAN: n is 0), u8 verified
 *          (the session is a verified visitor's, with the widget's
 *          secret now: the worker forgets a verification it holds
 *          when 0), str msg_id (the user message's: its socket is not
 *          sent the message event the session's other sockets are),
 *          u8 handoff (the conversation's state with it in: a socket
 *          that had another conversation is told it)
 *       In one write transaction, checked in this order: the widget
 *       (NO_WIDGET), the socket's origin when the widget has
 *       allowed_origins (ORIGIN: taken out since the socket opened; every
 *       visitor write checks it so, wsess_widget), the session
 *       (NO_SESSION; with create, no session
 *       under token_hash means a new visitor: its session is made here,
 *       with this message), verified visitors only (IDENTITY: the
 *       widget's identity_required and the session's own identify
 *       verified none with the widget's secret now, a new visitor
 *       included), the contact requirement
 *       (CONTACT: mode required and no contact yet), the rate limit as
 *       ST_RATE_HIT (LIMITED), for a new session its widget's new
 *       sessions per minute (BUSY: storaged's
 *       WIDGET_NEW_SESSIONS_PER_MINUTE, counted in the rate table under
 *       "newsess:" + the widget's internal id, as ST_CHAT_BEGIN's new
 *       sessions of the default widget are), a model turn of the
 *       session's conversation still open (TURN_OPEN: its reply, to
 *       another tab's message, is still to come; one turn at a time in a
 *       conversation, store.h's store_turn_holds), the daily cap (CAPPED: the
 *       widget's count of user messages this UTC day already at
 *       daily_cap; the count is in LMDB, so it survives restarts).
 *       Then: count one message, find or create the session's
 *       conversation (widget = the widget's
 *       internal id, session = the session's id, contact = the
 *       session's), append the user message, return the history as
 *       ST_CHAT_BEGIN does. Answered early with PROTO_F_EARLY.
 *
 *   ST_CONTACT_SUBMIT  str widget_id, bytes token_hash, str name,
 *                      str email, str phone, str rate_key,
 *                      u32 window_ms, u32 rate_max (0: not counted),
 *                      str origin, u8 create
 *       -> u8 result (ST_WS_OK, NO_WIDGET, ORIGIN, NO_SESSION, LIMITED,
 *          TOO_MANY, BUSY, IDENTITY: as ST_WS_BEGIN's, nothing written),
 *          and when OK: contact (as stored); when LIMITED: u64
 *          retry_after_ms
 *       With create (as ST_WS_BEGIN's: the socket's session was never
 *       stored), a token_hash naming no session is a new visitor's: its
 *       session is made here (counted as in ST_WS_BEGIN: BUSY over the
 *       limit). Without it, none is NO_SESSION, nothing written nor
 *       counted in the new sessions: the socket's stored session is gone
 *       (expired and swept, its contact erased), and a submission must
 *       not bring its token back. One of another widget, or idle past
 *       storaged's session span, is NO_SESSION (as ST_WS_BEGIN's),
 *       nothing written.
 *       Fields "" when not given; at least one must be; email and phone
 *       must be valid (st_email_valid, st_phone_norm) else `invalid`.
 *       Then the submission is counted against the rate limit as
 *       ST_RATE_HIT (LIMITED; rate_max 0: not counted). A session stores
 *       at most ST_CONTACT_SUBMITS_MAX submissions (then TOO_MANY,
 *       nothing written).
 *       Resolution (Loquent's): look up by email, then by phone; both
 *       match the same contact -> it; only one matches -> that one; they
 *       match different contacts -> the email's; none -> a new contact.
 *       A contact this session made gets the fields it lacked; any other
 *       found contact is never changed, and the link is unverified: it
 *       keeps what the visitor submitted. The contact is linked to the
 *       session and to the session's conversation (if any; later
 *       conversations of the session get it, and the link, when made).
 *       A contact holding ST_CONTACT_LINKS_MAX conversations gets no
 *       more links of a session that is not its verified identity: the
 *       conversation (the current one, a listed one, one made later)
 *       stays as it is, with no contact when it had none; the rest as
 *       above.
 *   ST_WS_IDENTIFY     str widget_id, bytes token_hash, str external_id,
 *                      str name, str email, str hash, str email_hash,
 *                      str origin, u8 create, u64 expires
 *       -> u8 result (ST_WS_OK, NO_WIDGET, ORIGIN: as ST_WS_BEGIN's,
 *          NO_SESSION, BUSY), u8 verified,
 *          u8 taken, str contact_id ("" unless verified)
 *       A visitor's identify (issue 26). verified: the widget has an
 *       identity secret and hash is the lowercase hex of
 *       HMAC-SHA256(key: the secret's 64 hex characters, message: the
 *       external id), compared in constant time (st_identity_ok); or,
 *       expires not 0, of "exp:" + expires + ":" + the external id, and
 *       expires (Unix seconds) not past storaged's clock by more than
 *       ST_IDENTITY_SKEW_S (st_identity_expiring_ok).
 *       Unverified, nothing is written. The session is checked before
 *       the hash: no session under token_hash without create (as
 *       ST_CONTACT_SUBMIT's: the socket's session was stored, and is
 *       gone), a session of another widget, or one idle past storaged's
 *       session span, is NO_SESSION whatever the hash (nothing written,
 *       verified 0). Verified: the session (made here for a new visitor,
 *       with create, counted as in ST_CONTACT_SUBMIT: BUSY) points
 *       at its organisation's contact of that external id (contact_ext;
 *       made when none, name and email filled when it lacks them, a bad
 *       email dropped), marked verified, and the session's conversations
 *       (the current one, the earlier ones it lists, the later ones) are
 *       linked to it verified. A session whose contact is another
 *       external id's verified contact is left as it is: taken 1,
 *       verified 0.
 *   ST_CONTACT_LIST    u32 limit (1..ST_LIST_MAX), str cursor ("" newest)
 *       -> u64 total, u32 n, n x contact, str next_cursor ("" = end)
 *       Newest first (created_at), paged through an index.
 *   ST_CONTACT_GET     str contact_id, u32 limit (1..ST_LIST_MAX), str
 *                      cursor ("" = the first)
 *       -> contact, u32 n, n x conv (a page of its conversations, newest
 *          activity first, at most limit), n x (u8 unverified, str name,
 *          str email, str phone): each conversation's link, with what
 *          the visitor submitted when unverified ("" otherwise), u64
 *          total (all its conversations), str next_cursor ("" = no more)
 *       The cursor (st_contact_cursor_valid) is the page's last
 *       conversation's updated_at and id: the next page is those after
 *       it in that order (one gone since is no matter).
 *   ST_CONTACT_ERASE   str contact_id, u8 erase -> u8 done
 *       The contact leaves every answer at once (record, email and phone
 *       keys) and is noted in contact_gone; then, in steps of at most 256
 *       conversations, its linked conversations are deleted with their
 *       messages and the visitor sessions naming it with their claims
 *       (erase 1), or kept and unlinked (erase 0). The first step runs
 *       in the request: done 1 when nothing was left, else storaged's
 *       sweep finishes it (after a crash too). Another organisation's
 *       contact is `not found`.
 *   ST_CONTACT_ERASING str contact_id -> u8 erasing
 *       1 while an ST_CONTACT_ERASE of the contact (who asks's
 *       organisation's) is not finished, its conversations' messages
 *       included; 0 for a contact none is under way for. `not found`
 *       once nothing of it is left, as for an unknown id or another
 *       organisation's.
 *   ST_CONTACT_CONVS   str contact_id, str cursor ("" = the first)
 *       -> u32 n, n x conv, n x link (as ST_CONTACT_GET's), str
 *          next_cursor ("" = no more)
 *       Every conversation linked to the contact, in id order (its
 *       contact_convs keys), ST_LIST_MAX a page; the cursor is the last
 *       conversation id of the page before.
 *   ST_CONTACT_SESSIONS str contact_id, str cursor ("" = the first)
 *       -> u32 n, n x (str session, str widget (internal id), u64
 *          created_at, u64 active_at, u64 expires_at, u32 submissions,
 *          u8 unverified, str name, str email, str phone: the last
 *          submission), str next_cursor ("" = no more)
 *       The visitor sessions naming the contact. Sessions have no index
 *       by contact: a request looks at most 1024 (in token-hash order),
 *       takes at most ST_LIST_MAX, and next_cursor is the last looked at.
 */
#ifndef PARLEY_WIDGETMSG_H
#define PARLEY_WIDGETMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"
#include "tzif.h"

#define ST_WID_PREFIX		"wid_"
#define ST_WID_LEN		(4 + ST_ID_HEX)	/* "wid_" + 32 hex */
#define ST_WIDGETS_MAX		1000
#define ST_NAME_MAX		100	/* characters (UTF-8) */
#define ST_GREETING_MAX		500	/* characters */
#define ST_COLOR_LEN		7	/* "#rrggbb" */
#define ST_ORIGINS_MAX		32
#define ST_RETENTION_DAYS_MAX	3650	/* a widget's retention_days */
#define ST_ORIGIN_MAX		255	/* bytes of "scheme://host[:port]" */
#define ST_PROMPT_MAX		8000	/* characters */
#define ST_MODEL_MAX		100	/* bytes: [A-Za-z0-9._:/-] */
#define ST_HANDOFF_LABEL_MAX	100	/* characters */
#define ST_TOKEN_HASH_LEN	32	/* SHA-256 of a session token */
#define ST_CONTACT_NAME_MAX	200	/* characters */
#define ST_EMAIL_MAX		254	/* bytes */
#define ST_PHONE_MAX		32	/* bytes as given */
/* A contact's conversations' cursor: 16 hex of updated_at, then the id. */
#define ST_CONTACT_CURSOR_LEN	(16 + ST_ID_HEX)
#define ST_DEFAULT_COLOR	"#4f46e5"
#define ST_DEFAULT_TEXT_COLOR	"#ffffff"
#define ST_SESSION_IDLE_MS	(30ull * 24 * 3600 * 1000)	/* default: 30 days */
#define ST_NEW_SESSIONS_PER_MIN	3000	/* default: per widget per minute */
/*
 * Bytes of history records a resume reads and sends (ST_WS_OPEN): a
 * quarter of the WebSocket output cap, whatever the conversation's length.
 */
#define ST_WS_HISTORY_BYTES	(256u * 1024)
/* Rate hits an ST_WS_OPEN may carry: the upgrade's and a resume's. */
#define ST_WS_OPEN_HITS_MAX	2
/* Contact submissions a visitor session may make (ST_CONTACT_SUBMIT). */
#define ST_CONTACT_SUBMITS_MAX	3
/*
 * Conversations a contact holds before a visitor not its verified
 * identity links no more to it (ST_CONTACT_SUBMIT, ST_WS_BEGIN): an
 * email typed in the contact form proves nothing, and ST_CONTACT_GET
 * reads every linked conversation.
 */
#define ST_CONTACT_LINKS_MAX	1000
/* Away mode (issue 23): business hours, the away message. */
#define ST_HOURS_PER_DAY	4	/* intervals a day */
#define ST_HOURS_MAX		(7 * ST_HOURS_PER_DAY)
#define ST_DAY_MINUTES		1440	/* 24:00, the latest end */
#define ST_AWAY_MESSAGE_MAX	500	/* characters */
#define ST_REPLY_TIME_MAX	80	/* characters */
/* Issue 26: starter questions, proactive message, language, identity. */
#define ST_STARTERS_MAX		4
#define ST_STARTER_MAX		120	/* characters, after trim */
#define ST_PROACTIVE_MAX	500	/* characters */
#define ST_PROACTIVE_DELAY_MAX	600	/* seconds */
#define ST_PROACTIVE_DELAY_DEF	10
#define ST_PROACTIVE_PATH_MAX	200	/* characters */
#define ST_LANG_LEN		2
#define ST_SECRET_HEX		64	/* an identity secret: 32 bytes, hex */
#define ST_SECRET_HIDDEN	"*"	/* a set secret in storaged's replies */
#define ST_EXTERNAL_ID_MAX	128	/* characters of an identify's id */
/* English; the other languages: workerd/chat/vtext.c VT_AWAY. */
#define ST_DEFAULT_AWAY_MESSAGE	"We're away right now. Leave your email " \
				"and we'll get back to you."

enum st_position { ST_POS_BOTTOM_RIGHT = 0, ST_POS_BOTTOM_LEFT = 1 };
enum st_contact_mode {
	ST_CONTACT_NONE = 0, ST_CONTACT_OPTIONAL = 1, ST_CONTACT_REQUIRED = 2,
};

/* ST_WS_OPEN / ST_WS_BEGIN / ST_CONTACT_SUBMIT results. */
enum st_ws_result {
	ST_WS_OK = 0,
	ST_WS_NO_WIDGET = 1,	/* unknown, disabled, or its public id changed */
	ST_WS_ORIGIN = 2,	/* the origin is not allowed */
	ST_WS_NO_SESSION = 3,	/* unknown or expired token */
	ST_WS_CONTACT = 4,	/* contact info required first */
	ST_WS_LIMITED = 5,	/* the per-client rate limit */
	ST_WS_CAPPED = 6,	/* the widget's daily message cap */
	ST_WS_TOO_MANY = 7,	/* the session's contact submissions are used */
	ST_WS_BUSY = 8,		/* the widget's new sessions per minute */
	ST_WS_HUMAN = 9,	/* ST_WS_BEGIN: stored; a person answers, not the model */
	ST_WS_NO_CONV = 10,	/* ST_WS_REQUEST_HUMAN: the session has no conversation */
	ST_WS_NO_MSG = 11,	/* ST_WS_FEEDBACK: not an assistant message of it */
	ST_WS_IDENTITY = 12,	/* the widget takes only verified visitors */
	ST_WS_NO_HANDOFF = 13,	/* ST_WS_REQUEST_HUMAN: handoff_enabled is off */
	ST_WS_TURN_OPEN = 14,	/* ST_WS_BEGIN: the conversation's reply is to come */
};

/* ST_WIDGET_UPDATE's mask: which fields the request sets. */
#define ST_WF_NAME		0x0001
#define ST_WF_GREETING		0x0002
#define ST_WF_PRIMARY_COLOR	0x0004
#define ST_WF_TEXT_COLOR	0x0008
#define ST_WF_POSITION		0x0010
#define ST_WF_CONTACT_MODE	0x0020
#define ST_WF_COLLECT_NAME	0x0040
#define ST_WF_COLLECT_EMAIL	0x0080
#define ST_WF_COLLECT_PHONE	0x0100
#define ST_WF_ORIGINS		0x0200
#define ST_WF_DAILY_CAP		0x0400
#define ST_WF_ENABLED		0x0800
#define ST_WF_SYSTEM_PROMPT	0x1000
#define ST_WF_MODEL		0x2000
#define ST_WF_AGENT_ID		0x4000
#define ST_WF_HANDOFF_ENABLED	0x8000
#define ST_WF_HANDOFF_LABEL	0x10000
#define ST_WF_RETENTION		0x20000
#define ST_WF_HOURS		0x40000	/* timezone and hours together */
#define ST_WF_AWAY_MESSAGE	0x80000
#define ST_WF_STARTERS		0x100000
#define ST_WF_PROACTIVE_MESSAGE	0x200000
#define ST_WF_PROACTIVE_DELAY	0x400000
#define ST_WF_PROACTIVE_PATH	0x800000
#define ST_WF_LANGUAGE		0x1000000
#define ST_WF_IDENTITY_REQUIRED	0x2000000
#define ST_WF_UNREAD_SOUND	0x4000000
#define ST_WF_UNREAD_TITLE	0x8000000
#define ST_WF_FEEDBACK		0x10000000
#define ST_WF_RATING		0x20000000
#define ST_WF_REPLY_TIME	0x40000000
#define ST_WF_ATTACH_TYPES	0x80000000ull
#define ST_WF_ATTACH_MAX_MB	0x100000000ull

/*
 * What visitors may attach (attachment_types: none, the widget's default,
 * takes none), and how big a file may be (attachment_max_mb).
 */
#define ST_ATTACH_TYPES_MAX	3	/* "image", "pdf", "text" */
#define ST_ATTACH_TYPE_LEN	5
#define ST_ATTACH_MB_MIN	1	/* its row's least */
#define ST_ATTACH_MB_MAX	25
#define ST_ATTACH_MB_DEFAULT	10

/* One interval of business hours: [start, end) minutes of a local day. */
struct st_hours {
	uint8_t day;		/* 0 Monday .. 6 Sunday */
	uint16_t start, end;	/* 0..1439, start+1..1440 */
};

/* Whether a person may be asked now (the widget protocol's availability). */
enum st_avail {
	ST_AVAIL_OPEN = 0,	/* within hours, and a dashboard is open */
	ST_AVAIL_HOURS = 1,	/* away: outside the business hours */
	ST_AVAIL_NOBODY = 2,	/* away: no dashboard open lately */
};

/*
 * Business hours, a widget's kind of its own (record.h): the IANA zone
 * ("" none: always open; a zone and no hours: always closed), then u32 n
 * and n x (u8 day, u16 start, u16 end), by day then start.
 */
#define RF_DECL_HOURS(m, b)						\
	char timezone[TZ_NAME_MAX + 1];					\
	uint32_t n##m;							\
	struct st_hours m[b];
#define RF_KIND_HOURS		RF_OWN
#define RF_OFF_HOURS(T, m)	offsetof(T, timezone)
#define RF_SIZE_HOURS(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m) - \
				    offsetof(T, timezone))
#define RF_COUNT_HOURS		RF_NOCOUNT
#define RF_CODEC_HOURS		(&st_hours_codec)
#define RF_NAMES_HOURS		RF_NONAME
extern const struct rcodec st_hours_codec;

/*
 * A widget: its rows' members. Strings are malloc'd ("" none: JSON null
 * for TEXT); agent_id "" is the default agent; origins none: any origin
 * may embed it; daily_cap is user messages a UTC day (0 no cap);
 * retention_days deletes its conversations that many days after their
 * last activity (0 kept); language "" is the visitor's.
 */
/*
 * Its rows (recordtab.h) and layout (widgetmsg.c), and the mask of
 * every field an update sets.
 */
RL_RECORD(st_widget, widget, ST_WIDGET_ROWS)
#define ST_WF_ALL	(0u ST_WIDGET_ROWS(RF_MASK))

/* Its rows (recordtab.h) and layout (widgetmsg.c). */
RL_RECORD(st_contact, contact, ST_CONTACT_ROWS)

/* Its rows (recordtab.h) and layout (widgetmsg.c). */
RL_RECORD(st_wsess, wsess, ST_WSESS_ROWS)
/*
 * A stored visitor session (p: its format byte, then the record) read
 * when it is one of format 1 stored after the expiry index, which ends
 * with format 2's rows under format byte 1: 0 read into s, else -1 (s
 * zeroed; read it by its format byte). storaged's load and parleyctl
 * verify read it so.
 */
int st_wsess_late_v1(const uint8_t *p, size_t len, struct st_wsess *s);

/*
 * A widget with every default (no name, enabled, no cap, no origins).
 * Its string pointers are NULL, which every function here reads as "";
 * a decoded widget has them all allocated.
 */
void st_widget_defaults(struct st_widget *);

/*
 * NULL when w is a valid widget config, else a message naming the first
 * bad field, "field: what is wrong" (static text). Checks: colours
 * #rrggbb, position and contact mode in range, required mode collects at
 * least one field, lengths (in characters where noted), UTF-8, origins
 * each st_origin_valid and no more than ST_ORIGINS_MAX, the model's
 * characters, agent_id "", "default" or 32 lowercase hex (whether that
 * agent exists is storaged's check), handoff_label's length,
 * retention_days at most ST_RETENTION_DAYS_MAX, business hours (a zone
 * tz_get finds when hours or a zone are given; each day's intervals at
 * most ST_HOURS_PER_DAY, start before end, in order, not overlapping),
 * away_message's length; starter questions (at most ST_STARTERS_MAX, each
 * 1..ST_STARTER_MAX characters), the proactive message's and path's
 * lengths, proactive_delay_s at most ST_PROACTIVE_DELAY_MAX, the language,
 * the booleans, the identity secret "" or st_secret_valid. Whether
 * identity_required has a secret is storaged's check (a PATCH's request
 * has none). The ids and times are not checked.
 */
const char *st_widget_invalid(const struct st_widget *w);
/*
 * 1 when the local time at now_s (UTC seconds), offset seconds east of
 * UTC, falls in one of the n intervals h; 0 otherwise. Pure.
 */
int st_hours_open_at(const struct st_hours *h, uint32_t n, int32_t offset,
    int64_t now_s);
/*
 * The widget's availability at now_s (enum st_avail): outside its
 * business hours (in its zone, read through tz_get; a zone that cannot
 * be read counts as open), else not staffed (no dashboard of its
 * organisation seen lately, storaged's word), else open.
 */
int st_widget_availability(const struct st_widget *w, int staffed,
    int64_t now_s);
/* "hours", "nobody", or NULL for ST_AVAIL_OPEN. */
const char *st_avail_reason(int avail);
/* "mon".."sun" for 0..6 and back (-1 when unknown). */
const char *st_day_name(int day);
int st_day_parse(const char *s);
/*
 * The widget languages, in this order: ST_LANG_EN is 0 (English, the
 * default), then "es", "pt", "fr", "de", "it", "nl", "pl", "tr", "ar",
 * "ja", "zh".
 */
#define ST_LANG_EN	0
#define ST_LANGS	12
/* s's first len bytes name one (exactly, lowercase): its index; else -1. */
int st_widget_lang_index(const char *s, size_t len);
/* 1 when s is "" or one of the widget languages ("en", "es", ...). */
int st_widget_lang_valid(const char *s);
/* 1 when s is ST_SECRET_HEX lowercase hex digits. */
int st_secret_valid(const char *s);
/*
 * A widget as storaged answers it: a set identity secret becomes
 * ST_SECRET_HIDDEN (only storaged, which checks identify frames, needs
 * it; the replies say whether there is one).
 */
void st_widget_hide_secret(struct st_widget *);
/*
 * 1 when hash (64 lowercase hex) is HMAC-SHA256 of id keyed with secret
 * (its 64 characters as they are), compared in constant time; 0 when it
 * is not, or secret is "", or id begins with ST_EMAIL_HASH_PREFIX or
 * ST_EXP_HASH_PREFIX (its message would be an email's, or an expiring
 * identity's) (proto/identity.c).
 */
int st_identity_ok(const char *secret, const char *id, const char *hash);
/*
 * The expiring form: an identify's expires, Unix seconds (1 to
 * ST_IDENTITY_EXPIRES_MAX), signed with its id: hash is HMAC-SHA256 of
 * "exp:" + expires in decimal + ":" + id. An expires earlier than now by
 * more than ST_IDENTITY_SKEW_S (the page's server's clock and storaged's
 * may differ) verifies nothing: a leaked hash is replayed only until then.
 */
#define ST_EXP_HASH_PREFIX	"exp:"
#define ST_IDENTITY_EXPIRES_MAX	(UINT64_C(1) << 40)
#define ST_IDENTITY_SKEW_S	60
/*
 * st_identity_ok's for an identify with expires (0: none, the plain
 * form, st_identity_ok itself): 1 when hash is the expiring form's for
 * id and expires, and expires is within its bounds and not past now_s
 * (Unix seconds) by more than ST_IDENTITY_SKEW_S; else 0.
 */
int st_identity_expiring_ok(const char *secret, const char *id,
    uint64_t expires, uint64_t now_s, const char *hash);
/*
 * The same for an email: hash is HMAC-SHA256 of "email:" and the email
 * (the prefix keeps an id's signature from passing for an email's).
 */
#define ST_EMAIL_HASH_PREFIX	"email:"
int st_identity_email_ok(const char *secret, const char *email,
    const char *hash);
/* 1 when m is at most ST_MODEL_MAX bytes of [A-Za-z0-9._:/-]. */
int st_model_valid(const char *m);
/* 1 when s is "scheme://host[:port]" with scheme http or https, no path. */
int st_origin_valid(const char *s);
/*
 * 1 when origin (the request's Origin header, NULL or "" when absent) may
 * use w: any origin when w has none listed, else an exact match
 * (case-insensitive scheme and host, the default port equal to none).
 */
int st_origin_allowed(const struct st_widget *w, const char *origin);
/* 1 when s is a plausible e-mail address (local@domain.tld, no spaces). */
int st_email_valid(const char *s);
/*
 * 1 when s is "" or an ST_CONTACT_GET cursor: 16 lowercase hex digits
 * (a conversation's updated_at) then its id (st_id_valid).
 */
int st_contact_cursor_valid(const char *s);
/*
 * Normalises a phone number into out (digits with an optional leading +;
 * spaces, dots, dashes and parentheses dropped): 0, or -1 when it is not
 * 7 to 15 digits or has other characters.
 */
int st_phone_norm(const char *s, char *out, size_t outsz);

/* "bottom_right" ... and back; -1 when unknown. */
RL_ENUM_DECLS(position);
RL_ENUM_DECLS(contact_mode);

#endif
