/*
 * What the store operations share (storaged's private header): the frame
 * every operation runs in, dispatch.c's (the request's own txn in the
 * batch, its reply, the events it makes, who asks, the rate counts), and
 * what one subject's operations lend another's. The operations
 * themselves are optab.h's optab_op, one file a subject:
 *
 *	opconv.c	conversations, a message stored, the HTTP chat's begin
 *	opvisitor.c	the widget's visitors: WebSocket sessions, contacts,
 *			attachments, availability
 *	ophandoff.c	people answering: handoff, assignment, state (and the
 *			assistant's resolutions due), typing
 *	opowner.c	the owner's side: sign-in, API keys, the audit, users,
 *			setup, reports, the knowledge base, parleyctl
 *	opoutbox.c	what leaves: webhook deliveries and email
 *
 * Every operation has the same shape: req_begin (or a check first),
 * the store's typed call, reply_enc, req_end; one that runs no txn ends
 * with reply_stands. Where that is all it does, the operation is
 * op_call and its row names the call alone (optab.h's optab_call).
 */
#ifndef PARLEY_OPS_H
#define PARLEY_OPS_H

#include <stdint.h>

#include "dispatch.h"
#include "stmsgs.h"
#include "store.h"

struct att_claim;

/* ------------------------------------ dispatch.c: the frame of a request */

/* Fails r with code and msg (static), the events it made dropped. */
void reply_error(struct dreply *r, int code, const char *msg);

/*
 * The reply struct rep of type into r, by its layout in the message
 * table. One that will not encode leaves r->enc failed, for the request's
 * end (req_end, reply_stands) to answer.
 */
void reply_enc(struct dreply *r, uint16_t type, const void *rep);

/*
 * An event of kind about conversation c, its tail (by kind) for the
 * caller to fill. The conversation is a shallow copy: the event is
 * only encoded (reply_event), never freed. Its visitor is named here
 * unless the caller's view named it already in this request; unread
 * is one user's and the visitor's details the thread's alone: an event
 * (to every dashboard, into each webhook delivery and mail) carries
 * neither.
 */
void event_init(struct dbatch *b, struct st_event *ev, uint8_t kind,
    const struct st_conv *c);

/*
 * ev as an event r made, encoded by the table (ST_EV); the server
 * numbers it once the batch commits. Out of memory it is lost (logged),
 * and the request stands. to: EV_* flags, 0 the dashboards and, by its
 * kind, the webhooks and mails.
 */
#define EV_VISITOR	1	/* the visitor's socket hears it too */
#define EV_NO_OUTBOX	2	/* no webhook delivery nor mail: the dashboards' */
void reply_event(struct dreply *r, const struct st_event *ev, int to);

/*
 * A message stored in c: visitors hear of an agent's only, and the
 * session's other sockets of the visitor's and the answers (with an
 * answer's cited passages, m->cited, which the ring's leaves out).
 */
void event_msg(struct dbatch *b, struct dreply *r, const struct st_conv *c,
    const struct st_msg *m);

/*
 * A begin's events: the conversation if it is new, the user message,
 * its state if the message opened it again; one event for all, its
 * visitor named once (a shallow copy, as event_init's).
 */
void event_begin(struct dbatch *b, struct dreply *r,
    const struct store_chat *c);

/*
 * ST_EV_ANSWERING: the model begins answering c's last message, the
 * visitor's (ST_CHAT_ANSWER_LAST): for its session's sockets alone (none
 * for a conversation of the HTTP API), never a webhook or a mail.
 */
void event_answering(struct dbatch *b, struct dreply *r,
    const struct st_conv *c);

/* ST_EV_HANDOFF (v: the state) and ST_EV_TYPING (v: on), with a name. */
void event_state(struct dbatch *b, struct dreply *r, uint8_t kind,
    const struct st_conv *c, uint8_t v, const char *name);

/*
 * A handoff store_handoff_set changed in c to state (changed: its
 * flags, not 0), by name: ST_EV_HANDOFF (event_state's), and ST_EV_STATE
 * for the dashboards and webhooks when it opened c again.
 */
void event_handoff(struct dbatch *b, struct dreply *r,
    const struct st_conv *c, int changed, uint8_t state, const char *name);

/* The batch can run this request. 0, or -1 with r failed. */
int req_runnable(struct dbatch *b, struct dreply *r, uint16_t type);

/*
 * The organisation who asks acts in, the scope of what it may see: NULL
 * (any) for nobody's requests (a widget's public config, a visitor's)
 * and for callers that run requests themselves (tests, b->who NULL).
 */
const char *who_org(const struct dbatch *b);

/* The dashboard user who asks: their id, or "" (a key). */
const char *who_user(const struct dbatch *b);

/* Opens the request's own txn inside the batch. 0, or -1 with r failed. */
int req_begin(struct dbatch *b, struct store_txn *t, struct dreply *r,
    uint16_t type);

/* A check's verdict: bad (static) set fails r with it and gives -1, else 0. */
int req_check(struct dreply *r, const char *bad);

/* A reply with no txn behind it stands if it encodes. */
void reply_stands(struct dreply *r);

/*
 * Ends the request's txn: the reply stands only if its txn folds in,
 * with the audit's entry of the request (auditstore.c's table) in it.
 */
void req_end(struct store_txn *t, struct dreply *r);

/*
 * Why a rate limit cannot count (static text): a limit (rate_max not 0)
 * with no key or no window. NULL when it can.
 */
const char *rate_invalid(const char *key, uint32_t window_ms,
    uint32_t rate_max);
/*
 * Counts n against a rate limit (one request, or an upload's KiB): 0
 * allowed, 1 limited (with *retry set, nothing counted), -1 with r
 * failed. Counts nothing when rate_max is 0 (nor when n is 0: rate_peek).
 */
int rate_count_n(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t n, uint64_t *retry);

/* rate_count_n() of one request. */
int rate_count(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry);
/*
 * Whether rate_count() now would be limited, counting nothing (its n 0):
 * asked before what it would count is known to be stored, which is then
 * counted. A batch's second run replays it as it replays the counts.
 */
int rate_peek(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry);

/*
 * A rate verdict (ST_RATE_HIT's, ST_DASH_ATTEMPT's) as r's reply of
 * type: key counted against rate_max a window, limited or not.
 */
void reply_rate_verdict(struct dbatch *b, struct dreply *r, uint16_t type,
    const char *key, uint32_t window_ms, uint32_t rate_max);

/* Who asks acts in an organisation: 0, or -1 with r failed. */
int req_org(struct dbatch *b, struct dreply *r);

/* --------------- opconv.c: what a visitor's or an agent's message shares */

/*
 * m stored in its conversation (ST_MSG_APPEND, ST_AGENT_MSG): the reply
 * is the message and the conversation after (ST_MSG_APPEND's layout
 * sends the message alone); its event. An agent's
 * (given not NULL: the name its request gave) is signed by who asks
 * (store_who_person): its author and the name the visitor sees.
 */
void msg_store(struct dbatch *b, uint16_t type, struct st_msg *m,
    const char *given, const struct st_msg_append_req *q,
    const struct att_claim *claim, struct dreply *r);

/* A begin's answer that goes no further: its result and retry alone. */
void reply_begin_no(struct dreply *r, uint16_t type, int result,
    uint64_t retry);

/*
 * A begin's answer when the turn goes on (result OK) or a person answers
 * (HUMAN): the effective agent, the conversation and the history, the
 * user message last (none for a conversation a person answers, which is
 * then answered once committed, never early); and its events. A turn the
 * model answers is written open in t (store_turn_opened).
 */
void reply_begin(struct dbatch *b, struct store_txn *t, struct dreply *r,
    uint16_t type, int result, uint64_t retry, const struct st_agent *a,
    const struct store_chat *c);

/* A begin's content as checked: a message of files alone has no words. */
const char *begin_content(const char *content, uint32_t natts);

/* ------------------------------------- opvisitor.c: the widget's visitors */

/*
 * A new visitor session of the widget whose internal id is wid counts
 * against its new sessions per minute (store_wsess_new_max): 1 limited
 * (*retry set), 0 not, -1 with r failed. The internal id whichever way
 * the session starts (the HTTP chat's "default", a WebSocket's widget):
 * one budget per widget, which a reset of its public id does not renew.
 */
int new_session_count(struct dbatch *b, struct dreply *r, const char *wid,
    uint64_t *retry);

#endif /* PARLEY_OPS_H */
