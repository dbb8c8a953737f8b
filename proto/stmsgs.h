/*
 * One C struct per storaged request and reply, shared by the sender and
 * the receiver, and its layout (msgcodec.h), which the message table
 * (msgtab.c) names in the type's row: the field order is written once,
 * in stmsgs.c. What each request does is told beside its records
 * (storemsg.h, widgetmsg.h, dashmsg.h, agentmsg.h, orgmsg.h, ctlmsg.h,
 * metricsmsg.h) and in proto/PROTOCOL.md.
 *
 * Strings are const char *: a sender points them at its own text; a
 * decoded struct owns them (pl_free, or st_req_free / st_rep_free).
 * Arrays are a pointer and a count, the same way. Who asks (storemsg.h)
 * is not part of these structs: it leads the payload of the types the
 * table marks, put there and read off by the two ends' clients.
 *
 * A request type with an empty payload, or a reply that is empty, has
 * the layout pl_empty.
 */
#ifndef PARLEY_STMSGS_H
#define PARLEY_STMSGS_H

#include <stddef.h>
#include <stdint.h>

#include "actionmsg.h"
#include "agentmsg.h"
#include "attmsg.h"
#include "kbmsg.h"
#include "reportmsg.h"
#include "ctlmsg.h"
#include "dashmsg.h"
#include "feedbackmsg.h"
#include "gapmsg.h"
#include "keymsg.h"
#include "metricsmsg.h"
#include "msgcodec.h"
#include "hookmsg.h"
#include "inboxmsg.h"
#include "mailmsg.h"
#include "orgmsg.h"
#include "staddr.h"
#include "usermsg.h"
#include "storemsg.h"
#include "widgetmsg.h"

/* Longest widget or agent id a request may name (unknown ones are not found). */
#define ST_WID_ARG_MAX		128

/* ------------------------------------------------ shapes many types share */

/* One id: a widget's or agent's (ST_WID_ARG_MAX), a conversation's or contact's (ST_ID_HEX). */
struct st_id_req {
	const char *id;
};
/* A model turn: its conversation and its visitor's message (ST_TURN_LOST). */
struct st_turn_ref {
	const char *conv_id, *msg_id;
};
/*
 * ST_CHAT_ANSWER_LAST: the model's turn for a conversation's visitor's
 * last message, unanswered when a person handed it back; history_max as
 * ST_CHAT_BEGIN's (1 to ST_HISTORY_MAX).
 */
struct st_answer_last_req {
	const char *conv_id;
	uint32_t history_max;
};
/* ST_TURNS_HELD: turns a worker still answers, named on a new connection. */
#define ST_TURNS_HELD_MAX	1024	/* a message; more go in several */
struct st_turns_held {
	struct st_turn_ref *turns;
	uint32_t n;
};
/* A page of a list: u32 limit, str cursor ("" = the newest). */
struct st_page_req {
	uint32_t limit;
	const char *cursor;
};
/*
 * A page of what one id names (a webhook's deliveries, a knowledge
 * source's pages): str id, u32 limit, str cursor ("" = the first).
 */
struct st_id_page_req {
	const char *id;
	uint32_t limit;
	const char *cursor;
};
/* A page of conversations (ST_CONV_LIST, ST_CONV_QUERY). */
struct st_conv_page {
	uint64_t total;
	struct st_conv *convs;
	uint32_t n;
	const char *next_cursor;	/* "" = the end */
};
/* A message stored and its conversation after (ST_AGENT_MSG). */
struct st_msg_conv {
	struct st_msg msg;
	struct st_conv conv;
};
/*
 * ST_MSG_APPEND's reply: the stored message's id alone, in a struct of
 * its own (the turn's decode zeroed a whole st_msg_conv, 3 KiB, for it).
 */
struct st_msg_stored {
	char id[ST_ID_HEX + 1];
};
/* A number alone (ST_BACKUP's bytes; a retry inside a reply). */
struct st_u64 {
	uint64_t v;
};
struct st_str {
	const char *s;
};

/* ------------------------------------------------------- conversations */

struct st_conv_open_req {
	const char *widget, *session;
};
struct st_conv_open_rep {
	uint8_t created;
	struct st_conv conv;
};
/* A tool the model called in an answer's turn, stored before it. */
struct st_tool_rec {
	const char *name;		/* the action's: [A-Za-z0-9_-], 1-64 */
	const char *arguments;		/* at most ST_TOOL_ARGS_KEPT bytes */
	const char *status;		/* complete | failed */
	const char *content;		/* at most ST_TOOL_ANSWER_KEPT bytes */
	uint32_t duration_ms;
	uint8_t origin;			/* enum st_tool_origin: whose tool */
};
struct st_msg_append_req {
	const char *conv_id, *role, *content, *status;
	uint32_t prompt_tokens, completion_tokens;
	/* An answer's: the sources it cites, what its search found. */
	struct st_str *sources;
	uint32_t nsources;
	uint8_t knowledge;	/* enum st_msg_knowledge */
	/* An answer's: the tools called in its turn, in order (role tool). */
	struct st_tool_rec *tools;
	uint32_t ntools;
	/*
	 * An answer's: the passages it cites as its socket was sent them
	 * (turn_sources_json's array, "" none), stored with it (st_msg.cited):
	 * its copies to the session's other sockets and its histories show
	 * them.
	 */
	const char *cited;
	/*
	 * The visitor's message the reply answers (its turn's, st_begin_ok's
	 * msg_id; "" none: the turn open in the conversation): its places
	 * take it, and only its turn ends, should a newer one have begun.
	 */
	const char *question;
};
struct st_conv_get_req {
	const char *conv_id;
	uint32_t max_messages;
};
/* A conversation and its messages (ST_CONV_GET; ST_SESSION_HISTORY's). */
struct st_conv_msgs {
	struct st_conv conv;
	struct st_msg *msgs;
	uint32_t n;
	uint8_t truncated;	/* older messages left out */
};
struct st_session_history_req {
	const char *widget, *session;
	uint32_t max_messages;
};
struct st_session_history_rep {
	uint8_t found;		/* ST_HISTORY_* */
	struct st_conv_msgs h;	/* found ST_HISTORY_FOUND */
};
struct st_msg_page_req {
	const char *conv_id;
	uint32_t from, limit;
};
struct st_msg_page_rep {
	struct st_msg *msgs;
	uint32_t n;
	uint32_t next;		/* 0 = no more */
};
struct st_msg_pages_req {
	struct st_str *ids;	/* conversation ids */
	uint32_t n;
	uint32_t from, limit;	/* from: ids[0]'s */
};
struct st_msg_pages_rep {
	struct st_msg *msgs;
	uint32_t n;
	uint32_t next_conv;	/* the request's n = no more */
	uint32_t next_from;	/* the message of ids[next_conv] to go on at */
};
struct st_conv_query_req {
	uint32_t limit;
	const char *cursor;
	const char *widget;	/* "" = every widget; clipped, for its check */
	const char *q;		/* "" = no search; clipped, for its check */
	uint8_t assigned;	/* ST_ASSIGNED_* (agentmsg.h): 0 every one */
	const char *assignee;	/* ST_ASSIGNED_TO's user id; clipped */
	/* 1: only those with an answer the knowledge base found nothing for */
	uint8_t gaps;
	/* 0: any; else 1 + ST_STATE_* (a lapsed snooze is open) */
	uint8_t state;
	uint8_t order;		/* ST_ORDER_*, newest first */
};
#define ST_ORDER_ACTIVITY	0	/* the last message's time: a list's */
#define ST_ORDER_CREATED	1	/* fixed: an export's, nothing moves */
#define ST_ORDER_MAX		1

/* ------------------------------------------------------------ the turn */

struct st_chat_begin_req {
	const char *widget, *session, *content, *rate_key;
	uint32_t window_ms, rate_max, history_max;
	/* issue 24: what the widget told (st_visitor_clean'd); all "": nothing */
	struct st_visitor visitor;
	/*
	 * The uploads the message names (content may then be ""), the
	 * session's own: token the hash they were uploaded with
	 * (st_att_new_req's api); read only with uploads (the chat API's
	 * turn sends none without: token_len 0).
	 */
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	uint32_t natts;
	struct st_str *atts;
};
/*
 * A line of a begin's history: what the model is sent of a message, its
 * role, content and files (a whole st_msg, 688 bytes, was zeroed for each
 * line of every turn's decode).
 */
struct st_line {
	char role[ST_ROLE_MAX + 1];
	char *content;
	struct st_msg_att *atts;
	uint32_t natts;
};
/*
 * A begin's answer when the turn goes on (or a person answers): the
 * effective agent, the conversation (its id and its visitor's language:
 * all the turn reads of it; a whole st_conv here, 2.4 KiB, was zeroed
 * by every turn's decode) and the history the model is sent (a line of
 * each message, the user message just stored last; none when a person
 * answers).
 */
struct st_begin_ok {
	struct st_agent agent;
	uint8_t created;
	char conv_id[ST_ID_HEX + 1];
	char *language;		/* the visitor's (st_visitor.language) */
	struct st_line *history;
	uint32_t nhistory;
	/* ST_WS_BEGIN's alone: the session is a verified visitor's */
	uint8_t verified;
	/*
	 * The user message's id: the turn's, which the worker names again
	 * to a storaged it connects to anew (ST_TURNS_HELD), and which a
	 * socket is not sent again when the session's other sockets are
	 * (wschat.c).
	 */
	char msg_id[ST_ID_HEX + 1];
	/*
	 * The conversation's handoff state (ST_HANDOFF_*) with the message
	 * in: a socket that had another conversation is told it (wschat.c).
	 */
	uint8_t handoff;
	/*
	 * Decoded: the one allocation that holds history's lines, then
	 * the language and each line's content (not one a string); not on
	 * the wire.
	 */
	char *text;
};
/* ST_CHAT_BEGIN (result ST_CHAT_*) and ST_WS_BEGIN (result ST_WS_*). */
struct st_begin_rep {
	uint8_t result;
	uint64_t retry_ms;
	struct st_begin_ok ok;	/* result OK or HUMAN */
};

/* ------------------------------------------------------------ visitors */

struct st_ws_open_req {
	const char *widget_id;
	const char *origin;	/* clipped: a longer one is not allowed */
	uint8_t token[ST_TOKEN_HASH_LEN];	/* none: a new visitor */
	uint32_t token_len;
	uint8_t new_hash[ST_TOKEN_HASH_LEN];
	uint32_t new_hash_len;
	uint64_t idle_ms;
	uint32_t history_max;
	struct st_rate_hit *hits;	/* at most ST_WS_OPEN_HITS_MAX */
	uint32_t nhits;
	/*
	 * 1 + the index of the hit (a resume's) that is also charged the
	 * history the open reads, in KiB beyond the 1 it counted: its max is
	 * a budget of history replayed. 0: none.
	 */
	uint8_t history_hit;
};
struct st_ws_limited {
	uint8_t which;		/* the hit that said no */
	uint64_t retry_ms;
};
struct st_ws_open_ok {
	struct st_widget widget;
	uint8_t resumed, contact_submitted;
	char conv_id[ST_ID_HEX + 1];	/* "" when none yet */
	struct st_msg *history;	/* role, content, name, id, feedback, status */
	uint32_t nhistory;
	uint8_t more, handoff;
	/* handoff human: its assignee's display name, "" when none */
	char handoff_name[4 * ST_MSG_NAME_MAX + 1];
	/* a dashboard of the widget's organisation was open lately (issue 23) */
	uint8_t staffed;
	/* the session lists a conversation other than conv_id (its earlier) */
	uint8_t earlier;
};
struct st_ws_open_rep {
	uint8_t result;			/* ST_WS_* */
	struct st_ws_limited limited;	/* result ST_WS_LIMITED */
	struct st_ws_open_ok ok;	/* result ST_WS_OK */
};
struct st_ws_begin_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *content, *rate_key;
	uint32_t window_ms, rate_max, history_max;
	uint64_t idle_ms;
	uint8_t create;
	struct st_visitor visitor;	/* as st_chat_begin_req's */
	uint32_t natts;			/* the uploads the message names */
	struct st_str *atts;
	const char *client_id;		/* the widget's id of it: "" none */
	const char *origin;		/* the socket's Origin: still allowed? */
};
/*
 * A visitor's session: its widget and token, and its socket's Origin,
 * checked by the writes (ST_WS_REQUEST_HUMAN, ST_WS_CONV_NEW).
 */
struct st_ws_session_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *origin;		/* the socket's Origin: still allowed? */
};
/*
 * A visitor session's conversations (issue 26, storaged/wsconvstore.c):
 * ST_WS_CONV_NEW (st_ws_session_req) makes the session's next message
 * start another conversation; ST_WS_CONV_LIST lists the session's, newest
 * first; ST_WS_CONV_READ reads one of them.
 */
#define ST_WS_CONVS_MAX		50	/* conversations listed per session */
#define ST_WS_PREVIEW_MAX	80	/* characters of a listed preview */
struct st_ws_conv_new_rep {
	uint8_t result;			/* ST_WS_OK, NO_WIDGET, NO_SESSION */
	char ended[ST_ID_HEX + 1];	/* the conversation it ended; "" none */
};
struct st_ws_conv_item {
	char id[ST_ID_HEX + 1];
	uint64_t started_at, updated_at;	/* ms since the epoch */
	char preview[4 * ST_WS_PREVIEW_MAX + 1];	/* first visitor message */
	uint8_t current;		/* the session's current conversation */
};
struct st_ws_conv_list_rep {
	uint8_t result;			/* ST_WS_OK, NO_WIDGET, NO_SESSION */
	struct st_ws_conv_item *convs;	/* newest first */
	uint32_t n;			/* at most ST_WS_CONVS_MAX */
};
struct st_ws_conv_read_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *conv_id;		/* 32 lowercase hex digits */
	uint32_t history_max;		/* 1 to ST_HISTORY_MAX */
};
struct st_ws_conv_read_rep {
	uint8_t result;			/* OK, NO_WIDGET, NO_SESSION, NO_CONV */
	char conv_id[ST_ID_HEX + 1];
	struct st_msg *history;	/* role, content, name, id, feedback, status */
	uint32_t nhistory;
	uint8_t more;			/* older messages were left out */
};
/* ST_WIDGET_AVAIL: the widget, and whether a dashboard of its organisation is open. */
struct st_widget_avail_rep {
	struct st_widget widget;
	uint8_t staffed;
};
/*
 * Setup mistakes (issue 24): why a widget's visitor was refused, counted
 * per widget in storaged's memory (storaged/setupcounts.h). ST_SETUP_SEEN is
 * no refusal: an accepted config fetch, its origin remembered only.
 */
enum st_setup_reason {
	ST_SETUP_SEEN = 0,
	ST_SETUP_KEY,		/* data-api-key refused (401) */
	ST_SETUP_CORS,		/* Origin not in CORS_ORIGIN */
	ST_SETUP_ORIGIN,	/* Origin not in the widget's allowed_origins */
	ST_SETUP_CSP,		/* the page's CSP blocked the widget's socket */
	ST_SETUP_DISABLED,	/* the widget is disabled */
	ST_SETUP_NREASONS
};
#define ST_SETUP_ORIGIN_MAX	100	/* bytes of an origin kept; longer cut */
#define ST_SETUP_ORIGINS	8	/* distinct origins kept per widget */
/*
 * A widget's own CSP reports (POST /api/widget/:wid/report) come from
 * anyone: each client's counted at most this many a minute, and their
 * origins kept apart from those the server saw itself.
 */
#define ST_SETUP_REPORTS_PER_MIN	10
/* ST_SETUP_NOTE: widget_id public, "" = the HTTP chat API's (the default widget). */
struct st_setup_note_req {
	uint8_t reason;			/* enum st_setup_reason */
	const char *widget_id;
	char origin[ST_SETUP_ORIGIN_MAX + 1];	/* "" none */
	/* "" the server's own note; a report's client (rate key), counted */
	const char *rate_key;
};
struct st_setup_origin {
	char origin[ST_SETUP_ORIGIN_MAX + 1];
	uint64_t last_at;		/* ms since the epoch */
	uint8_t reason;			/* the last one seen from it */
	uint32_t count;			/* notes from it */
};
/* ST_SETUP_GET's reply: counts since storaged started (since). */
struct st_setup_rep {
	uint64_t since;
	uint64_t key, cors, origin, csp, disabled;
	struct st_setup_origin *origins;	/* most recent first */
	uint32_t norigins;
	/* the origins of ST_SETUP_CSP reports, most recent first */
	struct st_setup_origin *reports;
	uint32_t nreports;
};
struct st_contact_submit_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *name, *email, *phone;	/* clipped, for their check */
	const char *rate_key;		/* rate_max 0: not counted */
	uint32_t window_ms, rate_max;
	const char *origin;		/* the socket's Origin: still allowed? */
	/*
	 * No session under token: a new visitor's, made here (as
	 * st_ws_begin_req's create); 0: the socket's session was stored,
	 * and none is now NO_SESSION.
	 */
	uint8_t create;
};
struct st_contact_submit_rep {
	uint8_t result;			/* ST_WS_* */
	struct st_contact contact;	/* result ST_WS_OK */
	uint64_t retry_ms;		/* result ST_WS_LIMITED */
};
/* ST_WIDGET_SECRET_SET's reply: the new identity secret, shown once. */
struct st_secret_rep {
	char secret[ST_SECRET_HEX + 1];
};
/* ST_WS_IDENTIFY (widgetmsg.h). */
struct st_ws_identify_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *external_id;	/* 1..ST_EXTERNAL_ID_MAX characters */
	const char *name, *email;	/* "" when not given */
	const char *hash;		/* 64 lowercase hex */
	const char *email_hash;		/* "" or 64 hex: the email's (st_identity_email_ok) */
	const char *origin;		/* the socket's Origin: still allowed? */
	uint8_t create;			/* as st_contact_submit_req's */
	/* Unix seconds, the hash's expiring form (st_identity_expiring_ok); 0: none */
	uint64_t expires;
};
struct st_ws_identify_rep {
	uint8_t result;			/* ST_WS_OK, NO_WIDGET, NO_SESSION, BUSY */
	uint8_t verified;		/* the hash is the secret's for the id */
	uint8_t taken;			/* the session is another identity's */
	char contact_id[ST_ID_HEX + 1];	/* verified: the contact */
	uint8_t email_verified;		/* verified, and email_hash the email's */
};
struct st_contact_page {
	uint64_t total;
	struct st_contact *contacts;	/* n, newest first */
	uint32_t n;
	char next_cursor[ST_CURSOR_MAX + 1];	/* "" = no more */
};
/* A conversation's link to a contact; what the visitor submitted when unverified. */
struct st_clink {
	uint8_t unverified;
	const char *name, *email, *phone;
};
struct st_contact_get_rep {
	struct st_contact contact;
	struct st_conv *convs;		/* newest activity first */
	uint32_t n;
	struct st_clink *links;		/* n: convs[i]'s link */
	uint64_t total;			/* the contact's conversations, all */
	char next_cursor[ST_CURSOR_MAX + 1];	/* "" = no more */
};
/* ST_CONTACT_ERASE: a contact deleted, with (erase 1) or without its data. */
struct st_contact_erase_req {
	const char *id;
	uint8_t erase;
};
/* ST_CONTACT_SESSIONS, ST_CONTACT_CONVS: the next page of a contact's. */
struct st_contact_cursor_req {
	const char *id;
	const char *cursor;		/* "" = the first */
};
/* A visitor session naming a contact, and its last submission. */
struct st_contact_sess {
	char session[ST_ID_HEX + 2];
	char widget[ST_WIDGET_MAX + 1];	/* the widget's internal id */
	uint64_t created_at, active_at, expires_at;
	uint32_t submissions;		/* 0: none (last is empty) */
	struct st_clink last;
};
struct st_contact_sess_rep {
	struct st_contact_sess *sessions;
	uint32_t n;
	char next_cursor[ST_CURSOR_MAX + 1];	/* "" = no more */
};
/* ST_CONTACT_CONVS: a page of a contact's conversations, by id. */
struct st_contact_convs_rep {
	struct st_conv *convs;
	uint32_t n;
	struct st_clink *links;		/* n: convs[i]'s link */
	const char *next_cursor;	/* "" = no more */
};

/* ------------------------------------------------------------- widgets */

RL_ENTITY_REQS(st_widget, w, uint64_t, widgets);	/* mask: ST_WF_* */

/* -------------------------------------------------------------- agents */

RL_ENTITY_REQS(st_agent, a, uint32_t, agents);	/* mask: ST_AF_* */
struct st_agent_delete_rep {
	uint8_t in_use;
	struct st_str *widget_ids;	/* the widgets using it (then not deleted) */
	uint32_t n;
};

/* ------------------------------------------------------- organisations */

RL_ENTITY_REQS(st_org, o, uint32_t, orgs);	/* mask: ST_OF_* */

/* ------------------------------------------ API keys, the audit log */

struct st_key_create_req {
	const char *name;
	uint8_t role;
	uint8_t hash[ST_KEY_HASH_LEN];
	uint32_t hash_len;
};
struct st_apikeys {
	struct st_apikey *keys;
	uint32_t n;
};
struct st_key_auth_req {
	uint8_t hash[ST_KEY_HASH_LEN];
	uint32_t hash_len;
};
struct st_key_auth_ok {
	char id[ST_KEY_ID_LEN + 1];
	char org[ST_WHO_ORG_MAX + 1];
	uint8_t role;
};
struct st_key_auth_rep {
	uint8_t found;
	struct st_key_auth_ok k;	/* when found is 1 */
};

struct st_audit_page {
	uint64_t total;
	struct st_audit_entry *entries;
	uint32_t n;
	const char *next_cursor;
};
struct st_audit_note_req {
	const char *action;
	const char *target;
};

/* ---------------------------------------------------- handoff, events */

struct st_handoff_set_req {
	const char *conv_id;
	uint8_t state;			/* ST_HANDOFF_* */
	const char *name;
	uint8_t from_ai_only;
};
struct st_handoff_set_rep {
	uint8_t changed;
	struct st_conv conv;
};
struct st_agent_msg_req {
	const char *conv_id, *content, *name;
	uint32_t natts;			/* who asks's uploads it names */
	struct st_str *atts;
};
/* ST_CONV_STATE; its reply is a struct st_handoff_set_rep. */
struct st_conv_state_req {
	const char *conv_id;
	uint8_t state;			/* ST_STATE_* (storemsg.h) */
	uint64_t snoozed_until;		/* ms; with ST_STATE_SNOOZED alone */
};
/* ST_CONV_ASSIGN; its reply is a struct st_handoff_set_rep. */
struct st_conv_assign_req {
	const char *conv_id;
	const char *user_id;		/* "" = nobody */
};
struct st_typing_req {
	const char *conv_id;
	uint8_t on;
	const char *name;
};
struct st_request_human_rep {
	uint8_t result;			/* ST_WS_OK, NO_WIDGET, NO_SESSION, NO_CONV */
	uint8_t changed;
	struct st_conv conv;		/* result ST_WS_OK */
};
struct st_ev_subscribe_req {
	uint8_t level;			/* ST_EV_LEVEL_* */
};
struct st_ev_subscribe_rep {
	uint64_t epoch, last_seq;
	uint8_t id_key[ST_EV_KEY_LEN];	/* the ring's (eventring.h) */
	uint32_t id_key_len;
};
struct st_ev_since_req {
	uint64_t epoch, seq;
	uint32_t max;
	char org[ST_WHO_ORG_MAX + 1];	/* whose events are wanted */
};
/*
 * An event as bytes (ST_EV_SINCE's list): decoding checks that they
 * hold exactly one event, and p then points into the payload.
 */
struct st_evblob {
	const uint8_t *p;
	uint32_t len;
};
struct st_ev_since_rep {
	uint8_t result;			/* ST_EV_OK, ST_EV_GONE */
	uint64_t epoch, last_seq;
	struct st_evblob *events;
	uint32_t n;
};
struct st_limit_req {
	uint32_t limit;
};

/* ----------------------------------------------------------- dashboard */

struct st_dash_login_req {
	uint8_t token_hash[ST_DASH_HASH_LEN];
	uint32_t token_hash_len;	/* the store checks the lengths */
	const char *csrf;		/* clipped, for its check */
	char user[ST_USER_ID_MAX + 1];	/* whose session */
	uint64_t expires_at;
	/* the password hash the login checked (none: not checked here) */
	uint8_t pw_hash[ST_PW_HASH_LEN];
	uint32_t pw_hash_len;
};
struct st_dash_check_req {
	uint8_t token_hash[ST_DASH_HASH_LEN];
	uint32_t token_hash_len;
	char org[ST_ORG_ID_MAX + 1];	/* x-organization-id; "" the first */
	uint8_t want_orgs;		/* 1: every membership in the reply */
};
/* A membership as a session sees it (the switcher). */
struct st_dash_org {
	char id[ST_ORG_ID_MAX + 1];
	char *name;
	uint8_t role;
};
struct st_dash_session {
	char csrf[ST_DASH_CSRF_LEN + 1];
	uint64_t expires_at;
	char user[ST_USER_ID_MAX + 1];
	char email[ST_EMAIL_MAX + 1];
	char *name;
	char org[ST_ORG_ID_MAX + 1];	/* the session's organisation now */
	uint8_t role;			/* its role there */
	struct st_dash_org *orgs;	/* want_orgs: every membership */
	uint32_t n;
};
struct st_dash_check_rep {
	uint8_t valid;			/* ST_DASH_* below */
	struct st_dash_session s;	/* valid */
};
struct st_dash_logout_req {
	uint8_t token_hash[ST_DASH_HASH_LEN];
	uint32_t token_hash_len;
};
struct st_dash_salt_rep {
	uint8_t salt[ST_DASH_SALT_LEN];
	uint32_t salt_len;
};
struct st_dash_login_rep {
	char device[ST_DASH_DEVICE_LEN + 1];
};
struct st_dash_attempt_req {
	const char *rate_key;
	uint32_t window_ms, rate_max, failures_max;
	char email[ST_EMAIL_MAX + 1];		/* normalised; "" none */
	char device[ST_DASH_DEVICE_LEN + 1];	/* a cookie; "" none */
};

/* -------------------------------------------------------------- people */

struct st_user_auth_req {
	const char *email;		/* clipped, for its check */
};
struct st_user_secret {
	char id[ST_USER_ID_MAX + 1];
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
	uint8_t disabled;
};
struct st_user_auth_rep {
	uint8_t found;
	struct st_user_secret s;	/* found */
};
struct st_user_boot_req {
	const char *email;
	const char *name;
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
	uint8_t fp[ST_USER_FP_LEN];
	uint32_t fp_len;
};
struct st_u8_rep {
	uint8_t v;
};
/* A user as an organisation's member. */
struct st_member_view {
	char id[ST_USER_ID_MAX + 1];
	char email[ST_EMAIL_MAX + 1];
	char *name;
	uint8_t role;
	uint8_t disabled;
	uint64_t created_at, updated_at;
};
struct st_members {
	struct st_member_view *m;
	uint32_t n;
};
struct st_invite_view {
	char id[ST_INVITE_ID_MAX + 1];
	char email[ST_EMAIL_MAX + 1];
	uint8_t role;
	uint64_t created_at, expires_at;
};
struct st_invites {
	struct st_invite_view *v;
	uint32_t n;
};
struct st_user_invite_req {
	const char *email;
	uint8_t role;
	uint8_t token_hash[ST_INVITE_HASH_LEN];
	uint32_t token_hash_len;
};
struct st_invite_echo {
	char email[ST_EMAIL_MAX + 1];
	uint8_t role;
	uint64_t expires_at;
};
struct st_user_invite_rep {
	uint8_t result;			/* 0 ok, 1 already a member */
	struct st_invite_echo e;	/* 0 */
};
struct st_user_update_req {
	const char *id;
	uint32_t mask;			/* ST_UF_* */
	uint8_t role;
	uint8_t disabled;
};
struct st_user_update_rep {
	uint8_t result;			/* 0 ok, 1 the last owner */
	struct st_member_view m;	/* 0 */
};
struct st_invite_accept_req {
	uint8_t token_hash[ST_INVITE_HASH_LEN];
	uint32_t token_hash_len;
	const char *name;
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
	/* The signed-in account taking it, or "": a new account's. */
	const char *user;
};
/*
 * ST_INVITE_SALT: what an anonymous acceptance hashes its password with
 * before ST_INVITE_ACCEPT (the login's ST_USER_AUTH, without the hash).
 */
struct st_invite_salt_req {
	uint8_t token_hash[ST_INVITE_HASH_LEN];
	uint32_t token_hash_len;
};
struct st_pw_salt {
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
};
/*
 * What the invitation's holder may see of it (the invite page): the
 * organisation's id and name, the email invited, the role it gives.
 */
struct st_invite_about {
	char org[ST_ORG_ID_MAX + 1];
	char org_name[ST_ORG_NAME_MAX * 4 + 1];	/* UTF-8 */
	char email[ST_EMAIL_MAX + 1];
	uint8_t role;
};
struct st_invite_salt_rep {
	/*
	 * 0 the invitation is open and its email has no account, 1 no such
	 * invitation, 2 the email has an account: its salt
	 */
	uint8_t result;
	struct st_pw_salt s;		/* 2 */
	struct st_invite_about a;	/* 0, 2 */
};
struct st_invite_done {
	char user[ST_USER_ID_MAX + 1];
	char org[ST_ORG_ID_MAX + 1];
	char email[ST_EMAIL_MAX + 1];	/* the invitation's */
};
struct st_invite_accept_rep {
	/*
	 * 0 a new user, 1 no such invitation, 2 the account joined (signed
	 * in, or anonymously with its own password), 3 anonymous for an
	 * account that exists, without its password: nothing done
	 */
	uint8_t result;
	struct st_invite_done d;	/* 0, 2, 3 (3: org only) */
};
struct st_user_set_req {
	uint8_t mode;			/* ST_USER_SET_* */
	const char *email;
	const char *name;
	uint8_t role;
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
};
/* result 0 ok, 1 no such user, 2 already a member; the member when 0 */
struct st_user_set_rep {
	uint8_t result;
	struct st_member_view m;
};
struct st_user_self_req {
	uint8_t mode;			/* ST_SELF_* */
	const char *name;		/* ST_SELF_NAME */
	/* ST_SELF_PASSWORD (else none): the new salt and hash, the old */
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
	uint8_t old[ST_PW_HASH_LEN];
	uint32_t old_len;
};
/*
 * result 0 done, 1 the password changed since old was read (nothing
 * done); the member; its salt and hash (ST_SELF_READ, else none)
 */
struct st_user_self_rep {
	uint8_t result;
	struct st_member_view m;
	uint8_t salt[ST_PW_SALT_LEN];
	uint32_t salt_len;
	uint8_t hash[ST_PW_HASH_LEN];
	uint32_t hash_len;
};
struct st_user_gone {
	char id[ST_USER_ID_MAX + 1];
	char keep[ST_WHO_ID_MAX + 1];	/* a session not ended (its who id), "" */
};
/*
 * ST_EV_CRED_GONE, storaged -> every client, unasked: one credential
 * ended, a dashboard session logged out (kind ST_WHO_SESSION, id its
 * who id), an organisation's API key deleted (ST_WHO_ORGKEY, the key's
 * id), or a whole organisation deleted (ST_CRED_ORG, its id: every
 * session, key and install key acting in it). Workers end the event
 * streams opened with it, which checked it once, when they opened.
 */
struct st_cred_gone {
	uint8_t kind;		/* enum st_who_kind, or ST_CRED_ORG; 0: none */
	char id[ST_WHO_ID_MAX + 1];
};
#define ST_CRED_ORG	0x80

/* ------------------------------------------------ the transport (issue 25) */

/*
 * ST_EV_ROLE: which storaged this is (enum st_repl_role: a primary serves
 * writes, a standby and a fenced primary refuse them) and the primary's
 * address (staddr.h's text), "" when not known.
 */
struct st_ev_role {
	uint8_t role;
	char primary[STADDR_TEXT_MAX];
};

/* ------------------------------------------------ metrics, parleyctl */

/* A metric set (metricsmsg.h); a worker's push may be written with ms_enc. */
struct st_mset {
	struct mseries *series;
	uint32_t n;
};
/*
 * ST_METRICS_PUT: a worker's push. instance is the worker's (random,
 * made once when it starts), seq its push's number: a push resent after
 * a timeout or a lost connection keeps both, and its growth, so storaged
 * adds it once (metrictotals.c). The worker writes the two with penc_u64,
 * then the set with ms_enc.
 */
struct st_mput {
	uint64_t instance;
	uint64_t seq;
	struct st_mset set;
};
struct st_purge_req {
	uint64_t cutoff_ms;
	uint32_t max;
	uint8_t dry_run;
};
struct st_purge_rep {
	uint32_t n;
	uint8_t more;
};

/* ------------------------------------------------------------ webhooks */

RL_ENTITY_REQS(st_webhook, h, uint32_t, hooks);	/* mask: ST_HF_* */
/* A webhook the notifier holds jobs of, and how many more it takes. */
struct st_hook_room {
	char hook[ST_HOOK_ID_LEN + 1];
	uint32_t room;
};
/* An organisation the notifier holds jobs of, and how many. */
struct st_org_held {
	char org[ST_WHO_ORG_MAX + 1];
	uint32_t held;
};
struct st_hook_due_req {
	uint32_t max;
	uint32_t lease_ms;
	uint32_t per_hook;		/* a webhook not in held: at most this */
	struct st_hook_room *held;	/* at most ST_HOOK_HELD_MAX */
	uint32_t nheld;
	uint32_t per_org;		/* an organisation's share; 0 none */
	struct st_org_held *orgs;	/* at most ST_HOOK_HELD_MAX */
	uint32_t norgs;
};
/* ST_MAIL_DUE: at most max mails, each leased for lease_ms. */
struct st_mail_due_req {
	uint32_t max;
	uint32_t lease_ms;
};
struct st_hook_jobs {
	struct st_hook_job *jobs;
	uint32_t n;
	uint8_t more;	/* due ones left: the bounds, a webhook's room */
};
struct st_hook_result_req {
	const char *id;		/* a delivery's */
	uint8_t ok;
	uint32_t code;
	const char *error;
	uint32_t duration_ms;
	uint64_t retry_at;	/* 0: no retry left */
};
/* ST_HOOK_SECRET: webhook id's new secret (made by the worker). */
struct st_hook_secret_req {
	const char *id;
	char secret[ST_HOOK_SECRET_MAX + 1];
};
struct st_hook_retry_req {
	const char *hook;	/* the delivery's webhook */
	const char *id;		/* the delivery */
};
struct st_deliveries {
	struct st_delivery *dlv;
	uint32_t n;
	char next_cursor[ST_CURSOR_MAX + 1];
};

/* ---------------------------------------------------------------- email */

struct st_notify {
	uint32_t mask;		/* ST_MAIL_* */
};
struct st_mails {
	struct st_mail *mails;
	uint32_t n;
};
struct st_mail_result_req {
	const char *id;		/* a mail's */
	uint8_t ok;
	const char *error;
	uint64_t retry_at;	/* 0: no retry left */
	/* Retried: the recipients it is still for (none: all of them). */
	struct st_str *rcpt;
	uint32_t nrcpt;
};

/* --------------------------------------------------------- the layouts */

/* Records with codecs of their own. */
extern const struct playout pl_conv, pl_msg, pl_widget, pl_agent,
    pl_contact, pl_event, pl_stats, pl_rate_hit, pl_rate_verdict, pl_org,
    pl_apikey, pl_user, pl_webhook, pl_delivery, pl_mail, pl_canned,
    pl_kbsource, pl_kbpage, pl_action;

/* Every request's and reply's; the table (msgtab.c) names them by type. */
extern const struct playout pl_wid_req, pl_cid_req, pl_turn_ref,
    pl_answer_last_req,
    pl_turns_held, pl_page_req,
    pl_conv_page, pl_msg_conv, pl_msg_stored, pl_u64,
    pl_conv_open_req, pl_conv_open_rep, pl_msg_append_req,
    pl_conv_get_req, pl_conv_get_rep, pl_session_history_req,
    pl_session_history_rep, pl_msg_page_req, pl_msg_page_rep,
    pl_msg_pages_req, pl_msg_pages_rep,
    pl_conv_query_req, pl_chat_begin_req, pl_chat_begin_rep,
    pl_ws_begin_rep, pl_ws_open_req, pl_ws_open_rep, pl_ws_begin_req,
    pl_ws_session_req, pl_contact_submit_req, pl_contact_submit_rep,
    pl_secret_rep, pl_ws_identify_req, pl_ws_identify_rep,
    pl_contact_page, pl_contact_get_req, pl_contact_get_rep,
    pl_contact_erase_req,
    pl_contact_cursor_req, pl_contact_sess_rep, pl_contact_convs_rep,
    pl_widget_update_req,
    pl_widgets, pl_agent_update_req, pl_agents, pl_agent_delete_rep,
    pl_org_update_req, pl_orgs,
    pl_handoff_set_req, pl_handoff_set_rep, pl_agent_msg_req,
    pl_conv_assign_req, pl_conv_state_req, pl_report_get_req, pl_report_rep,
    pl_gap_list_req, pl_gap_list_rep, pl_gap_delete_req,
    pl_att_new_req, pl_att_new_rep, pl_att_put_req, pl_att_put_rep,
    pl_att_read_req, pl_att_read_rep, pl_att_due_rep, pl_att_text_req,
    pl_typing_req, pl_request_human_rep, pl_ev_subscribe_req,
    pl_ev_subscribe_rep, pl_ev_since_req, pl_ev_since_rep, pl_limit_req,
    pl_dash_login_req, pl_dash_login_rep, pl_dash_check_req,
    pl_dash_check_rep, pl_dash_logout_req, pl_dash_salt_rep,
    pl_dash_attempt_req, pl_mset, pl_mput, pl_mset_all, pl_purge_req,
    pl_purge_rep, pl_widget_gone,
    pl_key_create_req, pl_apikeys, pl_key_auth_req, pl_key_auth_rep,
    pl_audit_entry, pl_audit_page, pl_audit_note_req,
    pl_user_auth_req, pl_user_auth_rep, pl_user_boot_req, pl_u8_rep,
    pl_members, pl_invites, pl_user_invite_req, pl_user_invite_rep,
    pl_user_update_req, pl_user_update_rep, pl_invite_accept_req,
    pl_invite_accept_rep, pl_invite_salt_req, pl_invite_salt_rep,
    pl_user_set_req, pl_user_set_rep, pl_user_gone,
    pl_cred_gone,
    pl_user_self_req, pl_user_self_rep,
    pl_hook_update_req, pl_hook_secret_req, pl_webhooks, pl_hook_due_req,
    pl_hook_jobs, pl_hook_result_req, pl_hook_deliveries_req, pl_deliveries,
    pl_hook_retry_req, pl_widget_avail_rep, pl_notify, pl_mails,
    pl_setup_note_req, pl_setup_rep,
    pl_mail_result_req, pl_mail_id_req, pl_mail_due_req, pl_store_failed,
    pl_canneds,
    pl_canned_put_req, pl_repl_newer_req, pl_repl_start_req,
    pl_repl_start_rep, pl_repl_rec, pl_repl_snap, pl_repl_status, pl_ev_role,
    pl_ws_feedback_req, pl_ws_feedback_rep, pl_ws_rating_req,
    pl_ws_rating_rep, pl_fb_summary, pl_ws_conv_new_rep,
    pl_ws_conv_list_rep, pl_ws_conv_read_req, pl_ws_conv_read_rep,
    pl_kbsource_update_req, pl_kbsources, pl_kb_search_req, pl_kb_hits,
    pl_kb_due_req, pl_kb_jobs, pl_kb_page_get_req, pl_kb_page_put_req,
    pl_kb_page_put_rep, pl_kb_sync_done_req, pl_kb_pages_req, pl_kb_pages,
    pl_kb_file_put_req, pl_kb_file_put_rep, pl_kb_file_get_req, pl_kb_file,
    pl_kb_retrieve_req, pl_kb_space, pl_action_update_req, pl_actions,
    pl_action_tools_req;

/* ------------------------------------------------ replication (issue 25) */

/* Most bytes of a log record's part or of a snapshot's chunk in one message. */
#define ST_REPL_CHUNK		(1024u * 1024)
/* A storaged's role (ST_REPL_STATUS, ST_EV_ROLE). */
enum st_repl_role {
	ST_REPL_PRIMARY = 0,
	ST_REPL_STANDBY,
	ST_REPL_FENCED		/* lost its lease: it may not write either */
};
/* Bytes of anything, at most ST_REPL_CHUNK: p points into the payload. */
struct st_blob {
	const uint8_t *p;
	uint32_t len;
};
/* A storaged's address as others reach it (PARLEY_ADVERTISE), at most. */
#define ST_REPL_ADDR_MAX	255
/* Bytes of a history's digest (storaged's store_digest: SHA-256). */
#define ST_REPL_DIGEST_LEN	32
/*
 * ST_REPL_START: what the standby holds (its LMDB's repl_term, its last
 * record, the digest of its records up to that one) and its
 * PARLEY_ADVERTISE ("" unset): the name the primary records in etcd once
 * it is in sync.
 */
struct st_repl_start_req {
	uint64_t term, last_seq;
	uint8_t digest[ST_REPL_DIGEST_LEN];
	uint32_t digest_len;	/* always ST_REPL_DIGEST_LEN */
	const char *addr;
};
/*
 * ST_REPL_NEWER: a standby promoted by hand (a fixed pair) tells the
 * primary it followed that it is primary now, in term, at addr (its
 * PARLEY_ADVERTISE, "" unset). Answered with an st_u64: 1 when this
 * fenced it, 0 when it was no primary; an error when its term is not
 * older.
 */
struct st_repl_newer_req {
	uint64_t term;
	const char *addr;
};
/* Its reply: the primary's term and last record; snapshot 1: one comes first. */
struct st_repl_start_rep {
	uint64_t term, seq;
	uint8_t snapshot;
};
/* ST_REPL_REC: a log record, in parts of ST_REPL_CHUNK (more 1: a part follows). */
struct st_repl_rec {
	uint64_t seq;
	uint8_t more;
	struct st_blob part;
};
/*
 * ST_REPL_SNAP: a chunk of a compact copy of the primary's data.mdb,
 * taken after its checkpoint of record seq; last 1 (chunk empty): whole.
 */
struct st_repl_snap {
	uint64_t seq;
	uint8_t last;
	struct st_blob chunk;
};
/* ST_REPL_STATUS's reply. */
struct st_repl_status {
	uint8_t role;		/* enum st_repl_role */
	uint64_t term;		/* LMDB's repl_term */
	uint64_t seq;		/* the last log record on this storaged's disk */
	uint8_t linked;		/* a primary: a standby streams; a standby:
				 * its primary streams to it, its data
				 * checked (no snapshot still to come) */
	uint64_t acked;		/* a primary: the standby's last acknowledged record */
	uint8_t in_sync;	/* a primary: the standby has every acknowledged write */
	uint8_t alone;		/* a primary: acknowledging without the standby */
};

/*
 * By type, from the table: a request's (or an unasked message's) and a
 * reply's payload. encode: 0, or -1 when it will not encode (a field
 * over its bound; e's error is set). decode: the whole payload exactly,
 * 0, or -1 (the struct zeroed). free: what decoding allocated. A type
 * with no row, or no layout, fails.
 */
int st_req_encode(struct penc *, uint16_t type, const void *req);
int st_req_decode(uint16_t type, const void *payload, size_t len, void *req);
void st_req_free(uint16_t type, void *req);
int st_rep_encode(struct penc *, uint16_t type, const void *rep);
int st_rep_decode(uint16_t type, const void *payload, size_t len, void *rep);
void st_rep_free(uint16_t type, void *rep);
/* As st_rep_free for a reply not used again: rep is not zeroed (pl_release). */
void st_rep_release(uint16_t type, void *rep);

/* The largest request and reply struct: room enough for any type's. */
union st_any {
	struct st_secret_rep secret;
	struct st_ws_identify_rep wsid;
	struct st_conv_page page;
	struct st_conv_msgs cm;
	struct st_begin_rep begin;
	struct st_ws_open_req wsopen;
	struct st_ws_open_rep wsopenr;
	struct st_ws_begin_req wsbegin;
	struct st_contact_submit_req cs;
	struct st_contact_submit_rep csr;
	struct st_contact_get_rep cg;
	struct st_contact_sess_rep csess;
	struct st_contact_convs_rep cconvs;
	struct st_widget_update_req wu;
	struct st_widget widget;
	struct st_widget_avail_rep wavail;
	struct st_agent_update_req au;
	struct st_org_update_req ou;
	struct st_dash_login_req dl;
	struct st_ev_since_rep evs;
	struct st_event ev;
	struct st_stats stats;
	struct st_msg_conv mc;
	struct st_msg_stored stored;
	struct st_chat_begin_req cb;
	/* API keys, the audit log (keymsg.h) */
	struct st_apikey key;
	struct st_key_create_req kc;
	struct st_audit_page audit;
	struct st_dash_check_rep dc;
	struct st_user_set_req us;
	struct st_user_self_rep uself;
	struct st_invite_accept_req ia;
	struct st_user_update_rep uu;
	/* webhooks (hookmsg.h) */
	struct st_webhook_update_req hu;
	struct st_hook_secret_req hsec;
	struct st_webhook hook;
	struct st_hook_jobs jobs;
	struct st_deliveries dlvs;
	struct st_delivery dlv;
	/* email (mailmsg.h) */
	struct st_mails mails;
	/* the inbox (inboxmsg.h) */
	struct st_canned canned;
	struct st_canneds canneds;
	struct st_canned_put_req cput;
	/* replication */
	struct st_repl_status rs;
	struct st_repl_snap snap;
	/* feedback (feedbackmsg.h) */
	struct st_ws_feedback_req wfb;
	struct st_ws_rating_req wrt;
	struct st_fb_summary fbs;
	/* the knowledge base (kbmsg.h) */
	struct st_kbsource kbs;
	struct st_kbsource_update_req kbsu;
	struct st_kb_source_list kbsl;
	struct st_kb_search_req kbq;
	struct st_kb_hits kbh;
	struct st_kb_jobs kbj;
	struct st_kbpage kbp;
	struct st_kb_page_put_rep kbpp;
	struct st_kb_pages kbpl;
	struct st_u8_rep u8;
	struct st_kb_file kbf;
	struct st_kb_file_put_rep kbfp;
	struct st_kb_space kbsp;
	/* actions (actionmsg.h) */
	struct st_action act;
	struct st_action_update_req actu;
	struct st_actions actl;
	struct st_action_tools_req actt;
	/* reports (reportmsg.h) */
	struct st_report_get_req rpq;
	struct st_report_rep rp;
	struct st_gap_list_req glq;
	struct st_gap_list_rep gl;
	struct st_gap_delete_req gdq;
	/* attachments (attmsg.h) */
	struct st_att_new_req anq;
	struct st_att_new_rep an;
	struct st_att_put_req apq;
	struct st_att_put_rep ap;
	struct st_att_read_req arq;
	struct st_att_read_rep ar;
	struct st_att_due_rep adue;
	struct st_att_text_req atext;
};

#endif
