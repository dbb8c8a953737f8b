/*
 * The store operations and calls of people answering (optab.c's rows;
 * the frame they run in is ops.h's, a call's op_call's): a conversation
 * handed to a person or back, assigned, its state changed (and the
 * assistant's own resolutions that came due), an agent's message and
 * typing, the model handing over, the handoff list, canned replies. The
 * rules are the store files' (handoffstore.c, convstate.c, inbox.c...).
 */
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "attstore.h"
#include "convstate.h"
#include "handoffstore.h"
#include "inbox.h"
#include "ops.h"
#include "optab.h"

/*
 * A session's take-over names its user ("<name> joined"), and assigns
 * the conversation to it when it is no one's (store_handoff_set). A
 * team member's waiting_human moves it into the queue: no visitor asked
 * (no handoff mail, no request in the reports).
 */
void
op_handoff_set(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_handoff_set_req *q = req;
	struct st_handoff_set_rep rep;
	struct store_person by;
	uint8_t cid[16];
	struct store_txn t;
	int changed;

	if (req_check(r, store_person_name_invalid(q->name, 0)) < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
	if (store_who_person(&t, b->who, q->name, &by) == 0 &&
	    store_conv_find(&t, q->conv_id, cid, &rep.conv) == 0) {
		if (store_handoff_set(&t, cid, &rep.conv, q->state,
		    q->from_ai_only != 0, ST_WAITING_PERSON, &by,
		    &changed) == 0) {
			store_conv_view(&t, who_user(b), &rep.conv);
			rep.changed = changed != 0;
			reply_enc(r, type, &rep);
			if (changed)
				event_handoff(b, r, &rep.conv, changed,
				    q->state, by.name);
		}
		st_conv_free(&rep.conv);
	}
	req_end(&t, r);
}

/* A person's change of a conversation as found (cid, c), as store.h's. */
typedef int (*conv_change_fn)(struct store_txn *, const uint8_t *cid,
    struct st_conv *c, const void *req, int *changed);

/*
 * conv_id changed by fn (req its request): the reply {changed, conv}, as
 * who asks sees it, and when it changed an event of kind, not for the
 * visitor: ST_EV_STATE for the dashboards and webhooks; ST_EV_HANDOFF
 * (an assignment: its state as it is and the assignee's name) for the
 * dashboards alone, as its state did not change: no webhook or mail
 * "handoff requested" or "changed" again.
 */
static void
conv_change(struct dbatch *b, uint16_t type, const char *conv_id,
    conv_change_fn fn, const void *req, uint8_t kind, struct dreply *r)
{
	struct st_handoff_set_rep rep;
	struct st_event ev;
	uint8_t cid[16];
	struct store_txn t;
	int changed;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_conv_find(&t, conv_id, cid, &rep.conv) == 0) {
		if (fn(&t, cid, &rep.conv, req, &changed) == 0) {
			store_conv_view(&t, who_user(b), &rep.conv);
			rep.changed = (uint8_t)changed;
			reply_enc(r, type, &rep);
			if (changed) {
				event_init(b, &ev, kind, &rep.conv);
				ev.state = rep.conv.handoff;
				strlcpy(ev.name, rep.conv.assignee_name,
				    sizeof(ev.name));
				reply_event(r, &ev, kind == ST_EV_HANDOFF ?
				    EV_NO_OUTBOX : 0);
			}
		}
		st_conv_free(&rep.conv);
	}
	req_end(&t, r);
}

static int
assign_run(struct store_txn *t, const uint8_t *cid, struct st_conv *c,
    const void *req, int *changed)
{
	const struct st_conv_assign_req *q = req;

	return store_conv_assign(t, cid, c, q->user_id, changed);
}

/* The dashboards hear of it as a handoff event; the visitor does not. */
void
op_conv_assign(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_conv_assign_req *q = req;

	conv_change(b, type, q->conv_id, assign_run, req, ST_EV_HANDOFF, r);
}

static int
state_run(struct store_txn *t, const uint8_t *cid, struct st_conv *c,
    const void *req, int *changed)
{
	const struct st_conv_state_req *q = req;

	return store_conv_set_state(t, cid, c, q->state, q->snoozed_until,
	    changed);
}

/* A person sets the state: the dashboards and webhooks hear of it. */
void
op_conv_state(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_conv_state_req *q = req;

	conv_change(b, type, q->conv_id, state_run, req, ST_EV_STATE, r);
}

/* The notifier's poll: the assistant resolves those whose time has come. */
void
op_resolve_due(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_limit_req *q = req;
	struct st_u8_rep rep = { 0 };
	struct st_conv *cs;
	struct st_event ev;
	struct store_txn t;
	uint32_t n, i;
	int more;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_resolve_due(&t, q->limit, &cs, &n, &more) == 0) {
		rep.v = (uint8_t)more;
		reply_enc(r, type, &rep);
		for (i = 0; i < n; i++) {
			event_init(b, &ev, ST_EV_STATE, &cs[i]);
			reply_event(r, &ev, 0);
		}
		st_convs_free(cs, n);
	}
	req_end(&t, r);
}

void
op_agent_msg(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_agent_msg_req *q = req;
	struct att_claim claim = { q->atts, q->natts, NULL, NULL };
	struct st_msg m;

	if (q->content[0] == '\0' && q->natts == 0) {
		reply_error(r, PROTO_E_INVALID, "content: must not be empty");
		return;
	}
	if (req_check(r, store_person_name_invalid(q->name, 1)) < 0)
		return;
	memset(&m, 0, sizeof(m));
	strlcpy(m.conv_id, q->conv_id, sizeof(m.conv_id));
	strlcpy(m.role, "agent", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	/* Borrowed from the request: the store only reads it. */
	m.content = (char *)q->content;
	msg_store(b, type, &m, q->name, NULL, &claim, r);
	free(m.atts);
}

void
op_typing(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	const struct st_typing_req *q = req;
	struct store_person by;
	uint8_t cid[16];
	struct store_txn t;
	struct st_conv c;

	if (req_check(r, store_person_name_invalid(q->name, 0)) < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
	/* Nothing stored: the conversation must exist, the rest is an event. */
	if (store_who_person(&t, b->who, q->name, &by) == 0 &&
	    store_conv_find(&t, q->conv_id, cid, &c) == 0) {
		event_state(b, r, ST_EV_TYPING, &c, q->on != 0, by.name);
		st_conv_free(&c);
	}
	req_end(&t, r);
}

/*
 * ST_TURN_HANDOFF: a turn's model handed its conversation to a person:
 * waiting for one, as a visitor's request (from state ai only).
 */
void
op_turn_handoff(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_u8_rep rep = { 0 };
	struct st_conv c;
	uint8_t cid[16];
	struct store_txn t;
	int changed = 0;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_conv_find(&t, q->id, cid, &c) == 0) {
		if (store_handoff_set(&t, cid, &c, ST_HANDOFF_WAITING, 1,
		    ST_WAITING_ASSISTANT, NULL, &changed) == 0) {
			rep.v = changed != 0;
			reply_enc(r, type, &rep);
			if (changed)
				event_handoff(b, r, &c, changed,
				    ST_HANDOFF_WAITING, "");
		}
		st_conv_free(&c);
	}
	req_end(&t, r);
}

/* Canned replies: who asks's organisation's, listed, put, deleted. */
int
call_canned_list(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	struct st_canneds *l = rep;

	return store_canned_list(t, b->who->org, &l->items, &l->n);
}

STORE_CALL_ORG(call_canned_put, store_canned_put)

int
call_canned_delete(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;

	return store_canned_delete(t, b->who->org, q->id);
}
