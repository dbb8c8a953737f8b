/*
 * The records storaged keeps and the payloads of its requests and replies.
 * Both sides of the socket (storaged, and its clients in workerd and the
 * tools) encode and decode through these functions, and storaged writes the
 * same encodings into LMDB behind a one-byte format version.
 *
 * Request payloads (reply payloads after "->"):
 *   ST_PING        (empty)                               -> (empty)
 *
 * Unasked, storaged -> every client (flags 0, id 0):
 *   ST_EV_STORE_FAILED  str what changed ("PATH: removed"): the data
 *                  directory or a file in it is not the one storaged
 *                  opened; every write is refused until it restarts.
 *                  Sent when found, and to each client connecting after.
 *   ST_CONV_OPEN   str widget, str session               -> u8 created, conv
 *   ST_MSG_APPEND  str conv_id, str role, str content,
 *                  str status, u32 prompt_tokens,
 *                  u32 completion_tokens, sources, u8 knowledge,
 *                  tools, str cited, str question        -> str id
 *                  (stmsgs.h's st_msg_append_req)
 *   ST_CONV_LIST   u32 limit, str cursor ("" = newest)   -> u64 total, u32 n,
 *                                                           n x conv,
 *                                                           str next_cursor ("" = end)
 *   ST_CONV_GET    str conv_id, u32 max_messages         -> conv, u32 n, n x msg,
 *                                                           u8 truncated
 *
 * The chat turn (issue 3). A rate limit is a fixed window per key that
 * starts at the key's first counted request; requests over the limit are
 * not counted. Counters live in storaged's memory: exact across workers,
 * not kept across a storaged restart. rate_max 0 means no limit.
 *   ST_RATE_HIT    str rate_key, u32 window_ms, u32 rate_max
 *                                                        -> u8 limited, u64 retry_after_ms
 *   ST_CHAT_BEGIN  str widget, str session, str content,
 *                  str rate_key, u32 window_ms, u32 rate_max,
 *                  u32 history_max                       -> u8 result (ST_CHAT_*),
 *                                                           u64 retry_after_ms,
 *                                                           and when OK or HUMAN:
 *                                                           agent (agentmsg.h),
 *                                                           u8 created, conv, msg (the
 *                                                           user message just stored),
 *                                                           u32 n, n x (str role, str content)
 *     In one write transaction: count the request; when widget is a
 *     stored widget's internal id, refuse the turn if that widget is
 *     disabled or its daily cap is reached, else count it in the cap;
 *     find or create the conversation, append the user message, and return the newest
 *     history_max messages outside failed turns, oldest first, the new one
 *     last (the agent's history_messages instead when not 0). HUMAN: the
 *     conversation is in handoff state human; no history (u32 0).
 *   ST_SESSION_HISTORY str widget, str session, u32 max_messages
 *                                                        -> u8 found, and when found:
 *                                                           conv, u32 n, n x msg
 *     The newest max_messages messages (0 = all that fit) outside failed
 *     turns, oldest first. found: ST_HISTORY_NONE, _FOUND, or _DISABLED
 *     (the widget is disabled: its chat shows nothing; nothing follows).
 *   A failed turn is left out whole: the "failed" reply and the user
 *   message it answered (a "failed" message of another role alone).
 *   "interrupted" replies are answers: kept, with their user message.
 *   Records carry no link, so pairing is by position: each failed reply
 *   takes the nearest earlier user message not taken by a later failed
 *   reply. Two turns of the same session running at the same time may so
 *   pair the wrong user message.
 */
#ifndef PARLEY_STOREMSG_H
#define PARLEY_STOREMSG_H

#include <stdint.h>

#include "proto.h"
#include "record.h"

#define ST_ID_HEX		32	/* ids are 128 random bits as lowercase hex */
#define ST_WIDGET_MAX		64
#define ST_SESSION_MAX		128
#define ST_ROLE_MAX		15
#define ST_MSG_NAME_MAX		100	/* characters of an agent message's name */
#define ST_STATUS_MAX		15
#define ST_CONTENT_MAX		(64u * 1024)	/* bytes of one message */
#define ST_PREVIEW_CHARS	500	/* lastMessage: UTF-8 characters, not bytes */
#define ST_LIST_MAX		200
#define ST_CURSOR_MAX		64
/* ST_EV_STORE_FAILED's text: a path and a few words (guard.h's why) */
#define ST_STORE_FAILED_MAX	(4096 + 104)

#define ST_RECORD_VERSION	1	/* first byte of every stored record */

#define ST_DEFAULT_WIDGET	"default"

/* ST_SESSION_HISTORY's first byte. */
#define ST_HISTORY_NONE		0
#define ST_HISTORY_FOUND	1
#define ST_HISTORY_DISABLED	2
#define ST_RATE_KEY_MAX		128
#define ST_HISTORY_MAX		200

/*
 * Who asks (the principal): it leads the payload of every request the
 * message table marks (msgtab.h, `who`: the admin API's, the dashboard's,
 * parleyctl's), so that storaged can check it, log it and scope by it:
 * u8 kind, str id (at most ST_WHO_ID_MAX bytes), str org (the
 * organisation it acts in: "default" or "org_" + 32 hex; storaged answers
 * PROTO_E_NO_ORG when it names none), u8 role (enum st_role: what it may
 * do there; the worker enforces it from its route table), str user (a
 * user's id when a person asks, else "").
 */
enum st_who_kind {
	ST_WHO_PUBLIC = 0,	/* nobody signed in: a widget's public config */
	ST_WHO_KEY = 1,		/* the install's ADMIN_API_KEY; id "install" */
	ST_WHO_SESSION = 2,	/* a dashboard session; id: 16 hex of its hash */
	ST_WHO_CTL = 3,		/* parleyctl; id "uid <n>" */
	ST_WHO_ORGKEY = 4,	/* an organisation's API key; id: the key's id */
	ST_WHO_MAX = ST_WHO_ORGKEY,
};
/* A role in an organisation, lowest first: each may do what those below it may. */
enum st_role {
	ST_ROLE_NONE = 0,	/* nothing (the public) */
	ST_ROLE_AGENT = 1,	/* conversations and contacts */
	ST_ROLE_ADMIN = 2,	/* and widgets, agents, webhooks */
	ST_ROLE_OWNER = 3,	/* and users, keys, the audit log; the highest */
};
#define ST_WHO_ID_MAX	64
#define ST_WHO_ORG_MAX	36	/* orgmsg.h's ST_ORG_ID_MAX */
#define ST_WHO_ORG_DEFAULT	"default"	/* orgmsg.h's ST_ORG_DEFAULT */
#define ST_WHO_USER_MAX	40
struct st_who {
	uint8_t kind;		/* enum st_who_kind */
	char id[ST_WHO_ID_MAX + 1];
	char org[ST_WHO_ORG_MAX + 1];
	uint8_t role;		/* enum st_role */
	char user[ST_WHO_USER_MAX + 1];
};
/* "owner", "admin", "agent"; NULL for another value. */
const char *st_role_name(uint8_t role);
/* The role a name says, or ST_ROLE_NONE. */
uint8_t st_role_parse(const char *name);

/*
 * ST_RATE_HIT: one request counted against a limit (its key's count in
 * window_ms; max 0 is no limit). Its reply: the verdict. Their layouts
 * (pl_rate_hit, pl_rate_verdict) are in stmsgs.c with every other's.
 */
struct st_rate_hit {
	char key[ST_RATE_KEY_MAX + 1];
	uint32_t window_ms;
	uint32_t max;
};
struct st_rate_verdict {
	uint8_t limited;	/* 0 counted; else how it is limited */
	uint64_t retry_ms;	/* limited: when to try again */
};

/* ST_CHAT_BEGIN's first reply byte: the turn goes on, or why not. */
enum st_chat_result {
	ST_CHAT_OK = 0,
	ST_CHAT_LIMITED = 1,	/* the per-client rate limit (retry_after_ms) */
	ST_CHAT_DISABLED = 2,	/* the widget is disabled */
	ST_CHAT_CAPPED = 3,	/* its daily cap is reached (retry_after_ms) */
	/*
	 * The conversation is in handoff state human: the message is stored,
	 * the reply is laid out as OK with no history, and the model is not
	 * called (agentmsg.h).
	 */
	ST_CHAT_HUMAN = 4,
	/*
	 * The default widget requires a verified identity, which only the
	 * WebSocket carries: the HTTP chat API is refused, nothing stored.
	 */
	ST_CHAT_IDENTITY = 5,
	/*
	 * A new session over the widget's new sessions a minute
	 * (WIDGET_NEW_SESSIONS_PER_MINUTE, retry_after_ms): nothing stored.
	 */
	ST_CHAT_BUSY = 6,
	/*
	 * The conversation has a model turn open (store_turn_holds): its
	 * reply is still to come, and a conversation takes one turn at a
	 * time. Nothing stored, the daily cap not counted.
	 */
	ST_CHAT_TURN_OPEN = 7,
	/*
	 * ST_CHAT_ANSWER_LAST's alone: the conversation is not the
	 * assistant's (a person has it, or is waited for), or its last
	 * message is not its visitor's (answered). Nothing stored.
	 */
	ST_CHAT_NOT_AI = 8,
	ST_CHAT_ANSWERED = 9,
};

/*
 * What the widget tells of its visitor (issue 24): the page (no
 * fragment), the referrer, navigator.userAgent, navigator.language and
 * the Intl time zone; each malloc'd or NULL (read as ""), or, with
 * block, all five in that one allocation (a decode's and a copy's: one
 * malloc, not five; st_visitor_free frees either). Untrusted:
 * st_visitor_clean() drops each value past its bound or of the wrong
 * shape to "", never failing what carries it.
 */
#define ST_VISITOR_URL_MAX	2048
#define ST_VISITOR_UA_MAX	512
#define ST_VISITOR_LANG_MAX	35
#define ST_VISITOR_TZ_MAX	64
struct st_visitor {
	char *page_url, *referrer, *user_agent, *language, *time_zone;
	char *block;	/* what the five point into, or NULL: their own */
};
/*
 * The readable name of a visitor without a contact (issue 24): "Amber
 * Otter 42", the same for the same session, always. Into buf (at least
 * ST_VISITOR_NAME_MAX + 1 bytes).
 */
#define ST_VISITOR_NAME_MAX	(4 * 254)
void st_visitor_name_gen(const char *session, char *buf, size_t bufsz);
/* Each value dropped to "" (freed) unless within its bound and shape. */
void st_visitor_clean(struct st_visitor *);
void st_visitor_free(struct st_visitor *);
/* 1 when a and b hold the same values (NULL as ""). */
int st_visitor_same(const struct st_visitor *a, const struct st_visitor *b);
/* Copies of src's values into dst (freed first). 0, or -1 out of memory. */
int st_visitor_copy(struct st_visitor *dst, const struct st_visitor *src);
void penc_visitor(struct penc *, const struct st_visitor *);
int pdec_visitor(struct pdec *, struct st_visitor *);

/*
 * A conversation as rows (record.h), in its stored order. Its JSON (the
 * admin API's admin_conv_json, the widget's) is written by hand: json is
 * the key the admin API shows a row under, or would. Its strings
 * (last_message, last_visitor, rating_comment) are malloc'd or NULL, read
 * as ""; the rows since format 2 are "" or 0 in older records.
 *   id, widget, session   its id, its widget's, the visitor's session
 *   created_at, updated_at  ms since the epoch
 *   last_message          "" when none
 *   contact_id            the visitor's contact; "" when none
 *   handoff               ST_HANDOFF_* (agentmsg.h)
 *   org                   the organisation it belongs to (issue 22), its
 *                         widget's when it was made, kept when the widget
 *                         goes; "" in older records, read as
 *                         ST_WHO_ORG_DEFAULT (conv_load)
 *   assignee, assignee_name  the member who answers it (issue 22): a user
 *                         id, "" none; and that user's display name when
 *                         assigned, kept so that the list and the
 *                         visitor's widget need no lookup (a rename shows
 *                         at the next assignment)
 *   last_visitor, visitor_at, visitor  issue 24, the inbox: the visitor's
 *                         last message (role user) cut as last_message;
 *                         its time, strictly increasing (an unread mark
 *                         compares it); what the widget last told of the
 *                         visitor
 *   visitor_name, unread  filled by storaged when it answers, stored
 *                         empty: the visitor's name (its contact's name,
 *                         else email, else st_visitor_name_gen of the
 *                         session), and whether who asks (a user) has not
 *                         read the visitor's last message
 *   rating, rating_comment, rated_at  issue 26, feedback: the visitor's
 *                         rating (1-5, 0 none), its comment and when it
 *                         was given
 *   fb_up, fb_down, fb_agent  the thumbs its assistant messages hold, and
 *                         the agent they and the rating are counted under
 *                         (feedback_counts: agent_id at the first one,
 *                         the widget's agent for one not yet reported;
 *                         kept so that a change is counted where the
 *                         first one was)
 *   conv_state, snoozed_until  open, snoozed (until that time; past it, it
 *                         reads as open: store_conv_view) or resolved
 *   resolved_by, resolved_at  who resolved it (the assistant, when the
 *                         visitor did not come back within its agent's
 *                         resolve_after_s; a person) and when; none and 0
 *                         unless resolved
 *   handed_off            a person was asked for or answered in it: the
 *                         assistant no longer resolves it by itself
 *   resolve_due           when the assistant resolves it (its key in the
 *                         conv_resolve index, convstate.c); 0 none
 *   agent_id, visitor_msgs, answers, prompt_tokens, completion_tokens,
 *   asked_at, person_at, reported  what the reports count of it
 *                         (reportmsg.h): the agent that answered its first
 *                         message ("" the default one), its visitor's
 *                         messages, the answers and their tokens, when a
 *                         person was first asked for and first answered at
 *                         that or after (until then a person's earlier
 *                         message's time; 0 never); reported 1 once its counts are in the
 *                         rollups (a new one at once; an older one when
 *                         the backfill reaches it)
 *   human_by, human_by_name  who took over, while a person answers
 *   waiting_by            who put it in waiting_human the last time: the
 *                         visitor (request_human), the assistant (its
 *                         model's transfer_to_human) or a person (a team
 *                         member, ST_HANDOFF_SET); none never. Only the
 *                         first two ask for a person (st_waiting_asked):
 *                         a handoff mail, asked_at and a gap follow
 *                         them, not a person moving it into the queue
 */
#define ST_RATING_MAX		5
/* A conversation's state (st_conv.conv_state). */
enum st_conv_state {
	ST_STATE_OPEN = 0,
	ST_STATE_SNOOZED = 1,
	ST_STATE_RESOLVED = 2,
};
#define ST_CONV_STATE_MAX	ST_STATE_RESOLVED
/* Who resolved it (st_conv.resolved_by). */
enum st_resolved_by {
	ST_RESOLVED_NONE = 0,
	ST_RESOLVED_ASSISTANT = 1,
	ST_RESOLVED_PERSON = 2,
};
#define ST_RESOLVED_BY_MAX	ST_RESOLVED_PERSON
/* "open", "snoozed", "resolved"; NULL for another value. */
RL_ENUM_DECLS(conv_state);
/* "none", "assistant", "person"; NULL for another value. */
RL_ENUM_DECLS(resolved_by);
/* Who put it in waiting_human the last time (st_conv.waiting_by). */
enum st_waiting_by {
	ST_WAITING_NONE = 0,
	ST_WAITING_VISITOR = 1,
	ST_WAITING_ASSISTANT = 2,
	ST_WAITING_PERSON = 3,
};
#define ST_WAITING_BY_MAX	ST_WAITING_PERSON
/* "none", "visitor", "assistant", "person"; NULL for another value. */
RL_ENUM_DECLS(waiting_by);
/*
 * 1 when by (enum st_waiting_by) asked for a person: the visitor, or the
 * assistant as if the visitor had; 0 for a person moving it, or none.
 */
int st_waiting_asked(int by);
/* A snooze's end at most this far ahead: a year. */
#define ST_SNOOZE_MAX_MS	(366ull * 86400 * 1000)
/*
 * VISITOR, the conversation's own kind: struct st_visitor visitor, its
 * five strings (penc_visitor); its JSON is the conversation's.
 */
#define RF_DECL_VISITOR(m, b)	struct st_visitor m;
#define RF_KIND_VISITOR		RF_OWN
#define RF_OFF_VISITOR		RF_OFF_GEN
#define RF_SIZE_VISITOR		RF_SIZE_GEN
#define RF_COUNT_VISITOR	RF_NOCOUNT
#define RF_CODEC_VISITOR	(&st_conv_visitor_codec)
#define RF_NAMES_VISITOR	RF_NONAME
extern const struct rcodec st_conv_visitor_codec;

/*
 * Its rows (recordtab.h) and layout (storemsg.c): its refuse fails a
 * decode of unread past 1 or a rating past ST_RATING_MAX, as every
 * decode of it (older formats too).
 */
RL_RECORD(st_conv, conv, ST_CONV_ROWS)

/* A message's feedback (st_msg.feedback): none, a thumb up, down. */
enum st_feedback {
	ST_FEEDBACK_NONE = 0,
	ST_FEEDBACK_UP = 1,
	ST_FEEDBACK_DOWN = 2,
};
#define ST_RATING_COMMENT_CHARS	1000
#define ST_RATING_COMMENT_MAX	(4 * ST_RATING_COMMENT_CHARS)	/* bytes */
/* "up", "down"; NULL for none or another value. */
const char *st_feedback_name(uint8_t);

/* What an answer's knowledge search found (st_msg.knowledge). */
enum st_msg_knowledge {
	ST_MSG_KB_NONE = 0,		/* none made (no source, a person) */
	ST_MSG_KB_FOUND = 1,		/* passages given to the model */
	ST_MSG_KB_NOT_FOUND = 2,	/* searched, nothing found: a gap */
};
#define ST_MSG_KB_MAX		2
#define ST_MSG_SOURCES_MAX	5	/* the sources an answer cites, at most */
#define ST_MSG_SOURCE_ID_LEN	(3 + ST_ID_HEX)	/* "ks_" + 32 hex */
/*
 * The bytes of an answer's cited passages as JSON (st_msg_append_req.cited,
 * st_msg.cited): 5 passages' titles and URLs, escaped; more is not sent.
 */
#define ST_MSG_CITED_MAX	32768
/* "none", "found", "not_found"; NULL for another value. */
const char *st_msg_knowledge_name(uint8_t);

/*
 * A message's attachment (format 7: visitors' files, a person's reply
 * with files): the attachment's id ("att_" and 32 hex digits; its bytes
 * are storaged's attachment store's, proto/attmsg.h), its type (enum
 * attach_type: decided by its bytes), size, file name as uploaded, and
 * the key the worker signs its links for visitors with (64 hex digits;
 * never shown).
 */
#define ST_ATT_ID_LEN		(4 + ST_ID_HEX)
#define ST_ATT_NAME_MAX		200	/* bytes of a file name kept */
#define ST_MSG_ATTS_MAX		5	/* a message's attachments, at most */
enum attach_type {
	ATTACH_NONE = 0,	/* none of the kept types: refused */
	ATTACH_PNG,
	ATTACH_JPEG,
	ATTACH_GIF,
	ATTACH_WEBP,
	ATTACH_PDF,
	ATTACH_TEXT,		/* UTF-8 text, no NUL, no control but tab,
				   newline, carriage return, form feed */
	ATTACH_NTYPES
};
struct playout;
struct st_msg_att {
	char id[ST_ATT_ID_LEN + 1];
	uint8_t type;
	uint32_t size;
	char name[ST_ATT_NAME_MAX + 1];
	char key[64 + 1];
};
extern const struct playout pl_msg_att;

/*
 * ATTS, the message's own kind: u32 n, n x attachment (pl_msg_att); the
 * array calloc'd when decoded (NULL none). Its JSON is the message's.
 */
#define RF_DECL_ATTS(m, b)	uint32_t n##m; struct st_msg_att *m;
#define RF_KIND_ATTS		RF_OWN
#define RF_OFF_ATTS(T, m)	offsetof(T, n##m)
#define RF_SIZE_ATTS(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m) - \
				    offsetof(T, n##m))
#define RF_COUNT_ATTS		RF_NOCOUNT
#define RF_CODEC_ATTS		(&st_msg_atts_codec)
#define RF_NAMES_ATTS		RF_NONAME
extern const struct rcodec st_msg_atts_codec;

/*
 * A message as rows (record.h), in its stored order; its JSON
 * (admin_msg_json) is written by hand, json the admin API's key.
 *   role      user | assistant | system | agent | tool (an action the
 *             model called in the turn of the answer after it: the
 *             thread's step, never in a history)
 *   status    complete | interrupted | failed
 *   content   at most ST_CONTENT_MAX bytes
 *   name      role agent: the display name the visitor sees (1-100
 *             characters)
 *   author    role agent: its author's user id; "" for a key's, or older
 *             ones
 *   feedback  role assistant: the visitor's thumb (enum st_feedback)
 *   sources   role assistant: the knowledge sources its text cites, each
 *             once, in the order of their passages
 *   knowledge role assistant: what its knowledge search found (enum
 *             st_msg_knowledge)
 * and for a tool's (format 6): name the action's, content its answer as
 * the model read it (cut to ST_TOOL_ANSWER_KEPT bytes), status complete
 * or failed (the answer says why), arguments as the model wrote them
 * (JSON text, cut to ST_TOOL_ARGS_KEPT bytes), duration_ms the call's.
 * Format 7: attachments, a visitor's or a person's files (role user or
 * agent; content may then be "").
 * Format 8: client_id, the id a widget sent its visitor's message with
 * ("" none): the history it is given back in says which of its messages
 * were stored, its answer lost with the socket. 1 to ST_CLIENT_ID_MAX
 * letters, digits and '-' (st_client_id_valid).
 * Format 9: cited, role assistant: the passages its text cites as the
 * chat showed them (turn_sources_json's array as JSON text: each one's
 * number, source, title and URL; at most ST_MSG_SOURCES_MAX, at most
 * ST_MSG_CITED_MAX bytes; "" none), so that a history, the thread and
 * the API show them as the answer did. An older record reads with none.
 * Format 10: tool_origin, role tool: whose tool the model called (enum
 * st_tool_origin): the owner's (an action, or a built-in: transfer_to_human,
 * search_knowledge, collect_contact), or one the visitor's page
 * registered (ParleyChat.registerTools: its name and answer the page's, so
 * the visitor's). An older record reads as the owner's.
 */
#define ST_CLIENT_ID_MAX	64
/* Whether s is a client_id: 1 to ST_CLIENT_ID_MAX of [A-Za-z0-9-]. */
int st_client_id_valid(const char *s);
#define ST_TOOL_ARGS_KEPT	8192	/* bytes of a call's arguments kept */
#define ST_TOOL_ANSWER_KEPT	4096	/* bytes of its answer kept */
#define ST_TOOL_CALLS_MAX	32	/* calls a turn stores at most */
#define ST_FEEDBACK_MAX		2	/* ST_FEEDBACK_DOWN */
/* Whose tool a tool's message records (st_msg.tool_origin). */
enum st_tool_origin {
	ST_TOOL_FROM_ACTION = 0,	/* the owner's: an action, a built-in */
	ST_TOOL_FROM_PAGE = 1,		/* the visitor's page's */
};
#define ST_TOOL_ORIGIN_MAX	ST_TOOL_FROM_PAGE
/* "action", "page"; NULL for another value. */
RL_ENUM_DECLS(tool_origin);
/*
 * Its rows (recordtab.h) and layout (storemsg.c): a feedback past
 * ST_FEEDBACK_MAX, a tool_origin past ST_TOOL_ORIGIN_MAX fail a decode.
 */
RL_RECORD(st_msg, msg, ST_MSG_ROWS)
/* Each row's index, ST_MSG_ROW_role...: RL_ROW(ST_MSG_ROW_role). */
#define ST_MSG_ROW_INDEX(K, m, ...)	ST_MSG_ROW_##m,
enum st_msg_row { ST_MSG_ROWS(ST_MSG_ROW_INDEX) ST_MSG_NROWS };

/*
 * Who asks, both ways: 0, or -1 (a kind past ST_WHO_MAX, a role past
 * ST_ROLE_OWNER, a string too long, an org that is neither "" nor an
 * organisation's id: "" is read as the default one).
 */
void penc_who(struct penc *, const struct st_who *);
int pdec_who(struct pdec *, struct st_who *);
/* "key:install@default", "session:0123abcd...@org_...", for the logs. */
const char *st_who_name(const struct st_who *, char *buf, size_t bufsz);

/* n records and the array that holds them. */
void st_msgs_free(struct st_msg *, uint32_t n);
void st_convs_free(struct st_conv *, uint32_t n);

/* 1 when s is exactly ST_ID_HEX lowercase hex digits. */
int st_id_valid(const char *s);
/* 1 when s is prefix ("usr_", "wh_"…) and then an st_id_valid id. */
int st_prefixed_id_valid(const char *s, const char *prefix);
/* 1 when u is an http:// or https:// URL of printable ASCII with a host. */
int st_web_url_valid(const char *u);
/* Length in bytes of the first max UTF-8 characters of s. */
size_t st_utf8_prefix(const char *s, size_t max_chars);

#endif
