/*
 * Agents, human handoff and live events (issue 15): the records and the
 * payloads of their storaged requests. Conventions as in storemsg.h
 * (big-endian, str = u32 length + bytes, records behind a one-byte format
 * version in LMDB). storaged/STORAGE.md tells what storaged does with each
 * request; proto/PROTOCOL.md lists them with the others.
 *
 * An agent is a named model configuration (prompt, model, sampling,
 * endpoint, key) that widgets point at (st_widget.agent_id). The default
 * agent (id "default", or "" in a record) is the deployment's environment:
 * it is not stored and storaged never changes it.
 *
 * Requests (reply payloads after "->"); errors as PROTO_F_ERROR replies
 * (`invalid` with "field: what is wrong", `not found`):
 *
 *   ST_AGENT_CREATE  agent (id, times, api_key_set ignored)  -> agent
 *   ST_AGENT_UPDATE  str id, u32 mask (ST_AF_*), agent
 *                    (only the masked fields are read)        -> agent
 *   ST_AGENT_GET     str id                                   -> agent
 *   ST_AGENT_LIST    (empty)                -> u32 n, n x agent (oldest first)
 *   ST_AGENT_DELETE  str id                 -> u8 in_use, u32 n,
 *                                              n x str widget_id (public ids
 *                                              of the widgets using it;
 *                                              deleted only when n = 0)
 *     The agent replies carry api_key "" and api_key_set; only the
 *     chat-begin replies (ST_CHAT_BEGIN, ST_WS_BEGIN) carry the key.
 *
 *   ST_HANDOFF_SET   str conv_id, u8 state, str name, u8 from_ai_only
 *                                           -> u8 changed, conv
 *     A team member's (who asks): waiting_human moves the conversation
 *     into the queue (waiting_by person), no request for a person as
 *     the visitor's ST_WS_REQUEST_HUMAN and the model's ST_TURN_HANDOFF
 *     are (no handoff mail, asked_at or gap: storemsg.h's waiting_by).
 *     from_ai_only 1 changes only a conversation in state ai.
 *     changed 0: the state was already that.
 *   ST_AGENT_MSG     str conv_id, str content (1-65536 bytes UTF-8),
 *                    str name (1-100 characters)    -> msg, conv
 *     Stores a message of role agent; the handoff state is not changed.
 *   ST_TYPING        str conv_id, u8 on, str name   -> (empty)
 *     Nothing stored: an event only.
 *   ST_WS_REQUEST_HUMAN  str widget_id, bytes token_hash (32),
 *                        str origin         -> u8 result (ST_WS_OK,
 *                                              NO_WIDGET, ORIGIN (as
 *                                              ST_WS_BEGIN's), NO_SESSION,
 *                                              NO_CONV), u8 changed, and
 *                                              when OK: conv
 *   ST_TURN_HANDOFF  str conv_id                -> u8 changed
 *     A chat turn's model handed the conversation to a person (its
 *     agent's handoff_tool; no who: the turn's worker asks): waiting
 *     for one, from state ai only (changed 0: it was not in the
 *     assistant's hands); the handoff event as a visitor's request's.
 *   ST_HANDOFF_LIST  u32 limit (1-200), str cursor ("" the first)
 *                                           -> a conversation page (state
 *                                              waiting_human then human,
 *                                              oldest since first in each;
 *                                              total: all of them, the
 *                                              cursor: the last one's key)
 *   ST_CONV_ASSIGN   str conv_id, str user_id ("" nobody)
 *                                           -> u8 changed, conv
 *     The user must be an enabled member of the conversation's
 *     organisation (else `not found`); the conversation's assignee and
 *     assignee_name are set. An ST_EV_HANDOFF event (its state as it is,
 *     name the assignee's) tells the dashboards, not the visitor.
 *
 * Who answers (issue 22): ST_HANDOFF_SET to human by a dashboard session
 * makes its user the conversation's assignee unless one is set (handing
 * back keeps it, as Chatwoot does). For a session's ST_HANDOFF_SET,
 * ST_AGENT_MSG and ST_TYPING the name the visitor sees is the user's
 * account name, and name is ignored; a key's (no person) is its name.
 * An agent message stores its author's user id ("" for a key's).
 *
 *   ST_EV_SUBSCRIBE  u8 level (ST_EV_LEVEL_*)       -> u64 epoch, u64 last_seq,
 *                                                     bytes id key (16)
 *     The id key: the ring's, random, under which the dashboards'
 *     streams show an event's epoch and seq (workerd/admin/events.c).
 *   ST_EV_SINCE      u64 epoch, u64 seq, u32 max (1-1000), str org
 *                                           -> u8 result (ST_EV_OK,
 *                                              ST_EV_GONE), u64 epoch,
 *                                              u64 last_seq, u32 n,
 *                                              n x bytes event
 *     The events after seq still in the ring, oldest first (every
 *     organisation's). GONE: the epoch is another run's, or events of
 *     org's ("" the default's) after seq left the ring; the others'
 *     leaving it is not told.
 *   ST_EV            storaged -> subscribed clients, unasked (flags 0,
 *                    id 0): event
 *
 * An event: u64 epoch, u64 seq, u64 at (ms), u8 kind, conv, then by kind:
 *   ST_EV_CONV_CREATED  nothing more
 *   ST_EV_MESSAGE       msg
 *   ST_EV_HANDOFF       u8 state, str name
 *   ST_EV_CONTACT       contact
 *   ST_EV_TYPING        u8 on, str name (seq 0: never kept in the ring)
 *   ST_EV_CONV_DELETED  nothing more (the conversation as it was): a
 *                       request deleted it (its own delete, a bulk
 *                       delete, a contact's erasure); the sweeps'
 *                       deletions (retention, a deleted organisation)
 *                       make none
 *   ST_EV_ANSWERING     nothing more (seq 0: never kept in the ring):
 *                       the model began answering the visitor's last
 *                       message, left unanswered by a person who handed
 *                       the conversation back (ST_CHAT_ANSWER_LAST); its
 *                       reply's ST_EV_MESSAGE ends it. The visitors'
 *                       sockets only (workerd/chat/wschat.c)
 */
#ifndef PARLEY_AGENTMSG_H
#define PARLEY_AGENTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"
#include "widgetmsg.h"

#define ST_AGENTS_MAX		1000
#define ST_AGENT_DEFAULT	"default"	/* the environment's agent */
#define ST_AGENT_NAME_MAX	100	/* characters */
#define ST_AGENT_PROMPT_MAX	16384	/* bytes of UTF-8 */
#define ST_AGENT_URL_MAX	2048	/* bytes */
#define ST_AGENT_KEY_MAX	512	/* bytes of 0x21-0x7e */
#define ST_AGENT_TEMP_MAX	2000	/* temperature_milli: 2.0 */
#define ST_AGENT_TOKENS_MAX	1000000
#define ST_AGENT_HISTORY_MAX	200
/* temperature_milli: not sent to the model. */
#define ST_AGENT_UNSET		0xffffffffu

/* ST_AGENT_UPDATE's mask: which fields the request sets. */
#define ST_AF_NAME		0x0001
#define ST_AF_SYSTEM_PROMPT	0x0002
#define ST_AF_MODEL		0x0004
#define ST_AF_TEMPERATURE	0x0008
#define ST_AF_MAX_TOKENS	0x0010
#define ST_AF_HISTORY		0x0020	/* history_messages */
#define ST_AF_BASE_URL		0x0040
#define ST_AF_API_KEY		0x0080	/* "" clears it */
#define ST_AF_VISITOR_LANG	0x0100	/* answer_in_visitor_language */
#define ST_AF_KNOWLEDGE		0x0200	/* knowledge_source_ids */
#define ST_AF_KNOWLEDGE_ONLY	0x0400	/* knowledge_only */
#define ST_AF_REWRITE		0x0800	/* rewrite_follow_ups */
#define ST_AF_EMBED_MODEL	0x1000	/* embedding_model */
#define ST_AF_ACTIONS		0x2000	/* action_ids */
#define ST_AF_HANDOFF_TOOL	0x4000	/* handoff_tool */
#define ST_AF_SEARCH_TOOL	0x8000	/* knowledge_search_tool */
#define ST_AF_CONTACT_TOOL	0x10000	/* contact_form_tool */
#define ST_AF_RESOLVE_AFTER	0x20000	/* resolve_after_seconds */
#define ST_AF_VISION		0x40000	/* vision */
/* resolve_after_s: a day by default, 30 days at most; 0 never. */
#define ST_AGENT_RESOLVE_DEF	86400
#define ST_AGENT_RESOLVE_MAX	(30 * 86400)
#define ST_AGENT_ACTION_IDS_MAX	16	/* actions an agent may call */
#define ST_AGENT_ACTION_ID_LEN	(4 + ST_ID_HEX)	/* "act_" + 32 hex */
#define ST_AGENT_SOURCES_MAX	50	/* knowledge sources an agent reads */
#define ST_AGENT_SOURCE_ID_LEN	(3 + ST_ID_HEX)	/* "ks_" + 32 hex */

/* A conversation's handoff state (st_conv.handoff). */
enum st_handoff {
	ST_HANDOFF_AI = 0,		/* the model answers */
	ST_HANDOFF_WAITING = 1,		/* the visitor asked for a person */
	ST_HANDOFF_HUMAN = 2,		/* a person answers; the model does not */
};
#define ST_HANDOFF_MAX		ST_HANDOFF_HUMAN
#define ST_HANDOFF_LIST_MAX	200

/* ST_CONV_QUERY's assigned: which conversations, by their assignee. */
#define ST_ASSIGNED_ANY		0	/* every one */
#define ST_ASSIGNED_NONE	1	/* those with none */
#define ST_ASSIGNED_TO		2	/* the assignee's (a user id) */
#define ST_ASSIGNED_MAX		ST_ASSIGNED_TO

/* Event kinds (st_event.kind). */
enum st_ev_kind {
	ST_EV_CONV_CREATED = 1,
	ST_EV_MESSAGE = 2,
	ST_EV_HANDOFF = 3,
	ST_EV_CONTACT = 4,
	ST_EV_TYPING = 5,
	ST_EV_CONV_DELETED = 6,
	ST_EV_STATE = 7,	/* its state changed (st_conv.conv_state) */
	ST_EV_ANSWERING = 8,	/* the model answers a hand back's question */
};

/* ST_EV_SUBSCRIBE's id key: an AES-128 key (lib/aesblock.h). */
#define ST_EV_KEY_LEN	16

/* ST_EV_SUBSCRIBE levels. */
enum st_ev_level {
	ST_EV_LEVEL_NONE = 0,
	ST_EV_LEVEL_VISITOR = 1,	/* visitor-shown messages, handoff, typing */
	ST_EV_LEVEL_ALL = 2,		/* every event */
};

/* ST_EV_SINCE results. */
#define ST_EV_OK		0
#define ST_EV_GONE		1
#define ST_EV_SINCE_MAX		1000
/* The ring storaged keeps: the newest events within both bounds. */
#define ST_EV_RING_EVENTS	4096
#define ST_EV_RING_BYTES	(8u * 1024 * 1024)

/*
 * Its rows (recordtab.h) and layout (agentmsg.c), and the mask of every
 * field an update sets.
 */
RL_RECORD(st_agent, agent, ST_AGENT_ROWS)
#define ST_AF_ALL	(0u ST_AGENT_ROWS(RF_MASK))

struct st_event {
	uint64_t epoch;
	uint64_t seq;		/* 1, 2, ... per epoch; 0 for typing, answering */
	uint64_t at;		/* ms since the epoch */
	uint8_t kind;		/* enum st_ev_kind */
	struct st_conv conv;
	struct st_msg msg;	/* ST_EV_MESSAGE */
	uint8_t state;		/* ST_EV_HANDOFF: enum st_handoff */
	uint8_t on;		/* ST_EV_TYPING */
	char name[4 * ST_AGENT_NAME_MAX + 1];	/* ST_EV_HANDOFF, ST_EV_TYPING */
	struct st_contact contact;	/* ST_EV_CONTACT */
};

/*
 * Every field empty or unset (rl_defaults): the default agent as a
 * begin reply carries it. Its string pointers are NULL, which every
 * function here reads as ""; a decoded agent has them all allocated.
 */
void st_agent_defaults(struct st_agent *);
/*
 * NULL when a is a valid agent config, else "field: what is wrong"
 * (static text) naming the first bad field: name 1-100 characters of
 * UTF-8, system_prompt UTF-8 of at most 16384 bytes, model's characters,
 * the numbers' ranges, answer_in_visitor_language a boolean, base_url ""
 * or http(s):// without spaces or control characters, api_key printable
 * ASCII. id, times and api_key_set are not checked.
 */
const char *st_agent_invalid(const struct st_agent *a);

/*
 * An event's wire form: u64 epoch, u64 seq, u64 at, u8 kind with
 * ST_EV_FORMATS set, then the formats (u8 each) its conversation,
 * message and contact are written in, then the conversation and what
 * its kind carries. A payload an outbox keeps (a pending mail, a webhook
 * delivery) is read by the build after an upgrade: it reads each record
 * as the format it was written in (record.h's migration at read). A
 * kind without ST_EV_FORMATS (an outbox's payload of before payloads
 * said their formats) is of the ST_EV_LEGACY_* formats, the last ones
 * such payloads were written in.
 */
#define ST_EV_FORMATS		0x80
#define ST_EV_LEGACY_CONV	10
#define ST_EV_LEGACY_MSG	9
#define ST_EV_LEGACY_CONTACT	5

void st_event_free(struct st_event *);
/* ev in the wire form above, its records in the current formats. */
void penc_event(struct penc *, const struct st_event *);
/*
 * 0 ok, -1 on a decode error, an unknown kind or a record format this
 * build does not know (the struct is then freed).
 */
int pdec_event(struct pdec *, struct st_event *);
/* An event payload's kind (ST_EV_*) without decoding the rest; -1 if short. */
int pdec_event_kind(const void *payload, size_t len);
/*
 * An event payload's conversation's id (the first of its rows) into id
 * without decoding the rest: 0, or -1 if short or not an id.
 */
int pdec_event_conv(const void *payload, size_t len, char id[ST_ID_HEX + 1]);
/*
 * A contact event's payload's contact id (ST_EV_CONTACT: the contact it
 * saved) into id: 0, or -1 for another kind, or a payload that does not
 * decode.
 */
int pdec_event_contact(const void *payload, size_t len,
    char id[ST_ID_HEX + 1]);

/* "ai", "waiting_human", "human"; NULL for another value. */
const char *st_handoff_name(int state);
/* The state named s, or -1. */
int st_handoff_parse(const char *s);

#endif
