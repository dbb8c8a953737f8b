/*
 * The store operations and calls of conversations (optab.c's rows; the
 * frame they run in is ops.h's, a call's op_call's): a conversation
 * opened, read, listed, paged and deleted, a message stored (a
 * visitor's, the model's, an agent's), the HTTP chat's begin
 * (ST_CHAT_BEGIN) and history, feedback. The rules are the store files'
 * (convstore.c, inbox.c, feedbackstore.c...).
 */
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "attstore.h"
#include "feedbackstore.h"
#include "inbox.h"
#include "ops.h"
#include "optab.h"
#include "widgetstore.h"
#include "wsess.h"

int
call_conv_open(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_conv_open_req *q = req;
	struct st_conv_open_rep *o = rep;
	int created;

	if (store_conv_open(t, q->widget, q->session, &o->conv,
	    &created) != 0)
		return t->err;
	o->created = (uint8_t)created;
	return 0;
}

/*
 * A tool the model called in an answer's turn (role tool): stored, no
 * event (the answer after it is the turn's).
 */
static void
tool_store(struct store_txn *t, const char *conv_id,
    const struct st_tool_rec *tr, const char *turn)
{
	struct st_conv c;
	struct st_msg m;

	if (!st_action_name_valid(tr->name) ||
	    (strcmp(tr->status, "complete") != 0 &&
	    strcmp(tr->status, "failed") != 0) ||
	    !proto_utf8_valid(tr->arguments, strlen(tr->arguments)) ||
	    tr->origin > ST_TOOL_ORIGIN_MAX) {
		store_fail(t, PROTO_E_INVALID, "tools: each a name, complete or "
		    "failed, arguments of UTF-8 and an origin");
		return;
	}
	memset(&m, 0, sizeof(m));
	strlcpy(m.conv_id, conv_id, sizeof(m.conv_id));
	strlcpy(m.role, "tool", sizeof(m.role));
	strlcpy(m.status, tr->status, sizeof(m.status));
	strlcpy(m.name, tr->name, sizeof(m.name));
	/* Borrowed from the request: the store only reads them. */
	m.content = (char *)tr->content;
	m.arguments = (char *)tr->arguments;
	m.duration_ms = tr->duration_ms;
	m.tool_origin = tr->origin;
	/* Wiped: its session is the visitor's credential (the chat API's). */
	if (store_msg_append(t, &m, &c, turn) == 0)
		st_conv_free(&c);
}

void
msg_store(struct dbatch *b, uint16_t type, struct st_msg *m,
    const char *given, const struct st_msg_append_req *q,
    const struct att_claim *claim, struct dreply *r)
{
	struct st_msg_conv rep;
	struct store_person by;
	struct store_txn t;
	uint8_t cid[16];
	/* The turn a worker's reply names; NULL: the one open. */
	const char *turn = q != NULL && q->question[0] != '\0' ?
	    q->question : NULL;
	struct st_conv c;
	uint32_t i;

	if (req_begin(b, &t, r, type) < 0)
		return;
	/* A person's files: theirs, named in the message's transaction. */
	if (claim != NULL && claim->n > 0 &&
	    store_conv_find(&t, m->conv_id, cid, &c) == 0) {
		att_claim(&t, claim, cid, c.org, m);
		st_conv_free(&c);
	}
	/* The tools its turn called, before the answer, in its transaction. */
	for (i = 0; q != NULL && i < q->ntools && !t.err; i++)
		tool_store(&t, m->conv_id, &q->tools[i], turn);
	if (given != NULL && store_who_person(&t, b->who, given, &by) == 0) {
		strlcpy(m->author, by.user, sizeof(m->author));
		strlcpy(m->name, by.name, sizeof(m->name));
	}
	if (store_msg_append(&t, m, &rep.conv, turn) == 0) {
		/*
		 * A worker's reply ends its turn (the one it names, else the
		 * one open): a newer turn begun meanwhile stays open. A
		 * person's leaves it open: its reply, still to come (cut off
		 * by a takeover, or whole), takes the place the turn keeps
		 * before this message (convstore.c's msg_place), and a
		 * storaged restarted meanwhile ends it there.
		 */
		if (type == PROTO_ST_MSG_APPEND &&
		    strcmp(m->role, "user") != 0)
			store_turn_closed(&t, m->conv_id, turn);
		store_conv_view(&t, who_user(b), &rep.conv);
		if (type == PROTO_ST_MSG_APPEND) {
			/*
			 * Its reply is the message's id alone (st_msg_stored):
			 * the id's whole buffer, its NUL in it (made by the
			 * store), not a count of its characters.
			 */
			struct st_msg_stored s;

			memcpy(s.id, m->id, sizeof(s.id));
			reply_enc(r, type, &s);
		} else {
			rep.msg = *m;	/* 688 bytes: only this reply's */
			reply_enc(r, type, &rep);
		}
		event_msg(b, r, &rep.conv, m);
		/*
		 * Freed, and its session wiped going out of scope: the
		 * visitor's credential (the chat API's), not a row
		 * rl_release counts as secret. Its other bytes are ids,
		 * names, times and counts (no SECRET or hidden string row):
		 * not the whole 2.4 KiB wiped (rl_free) each reply.
		 */
		st_conv_release(&rep.conv);
		explicit_bzero(rep.conv.session, sizeof(rep.conv.session));
	}
	req_end(&t, r);
}

void
op_msg_append(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_msg_append_req *q = req;
	char *sources[ST_MSG_SOURCES_MAX];
	struct st_msg m;
	uint32_t i;

	for (i = 0; i < q->nsources; i++) {
		if (!st_prefixed_id_valid(q->sources[i].s, "ks_")) {
			reply_error(r, PROTO_E_INVALID, "sources: each a "
			    "knowledge source's id");
			return;
		}
		sources[i] = (char *)q->sources[i].s;
	}
	if (q->knowledge > ST_MSG_KB_MAX) {
		reply_error(r, PROTO_E_INVALID, "knowledge: 0 to 2");
		return;
	}
	if (q->question[0] != '\0' && !st_id_valid(q->question)) {
		reply_error(r, PROTO_E_INVALID,
		    "question: a message's id or none");
		return;
	}
	/* Its strings borrowed from the request: the store only reads them. */
	m = (struct st_msg){ .content = (char *)q->content,
	    .prompt_tokens = q->prompt_tokens,
	    .completion_tokens = q->completion_tokens, .sources = sources,
	    .nsources = q->nsources, .knowledge = q->knowledge,
	    .cited = (char *)q->cited };

	/*
	 * As strlcpy would cut them (libbsd's, a byte loop: 270 instructions
	 * an id), into m's zeroed buffers, which keep their NUL.
	 */
	memcpy(m.conv_id, q->conv_id, strnlen(q->conv_id,
	    sizeof(m.conv_id) - 1));
	memcpy(m.role, q->role, strnlen(q->role, sizeof(m.role) - 1));
	memcpy(m.status, q->status, strnlen(q->status, sizeof(m.status) - 1));
	msg_store(b, type, &m, NULL, q, NULL, r);
	/*
	 * A worker's reply (or its failure) ends the turn it had open; one
	 * refused ends it too (r->err: server.c leaves it lost, to be ended
	 * as interrupted). m.conv_id: a zeroed buffer of the same size.
	 */
	if (strcmp(m.role, "user") != 0) {
		r->turn = DTURN_ENDED;
		memcpy(r->turn_conv, m.conv_id, sizeof(r->turn_conv));
		/* Checked: "" or an id. */
		strlcpy(r->turn_msg, q->question, sizeof(r->turn_msg));
	}
}

/*
 * ST_TURN_LOST, storaged's own (server.c): the worker that began a turn
 * in conversation q->conv_id was lost before it stored the reply. While
 * the turn's visitor's message (q->msg_id) is still the conversation's
 * last, an empty reply of status interrupted is stored for it, as a
 * worker stores a reply cut off: the visitor's widget shows the turn
 * ended, and the dashboard does not wait on it. Nothing otherwise
 * (answered, a newer message, or gone since).
 */
void
op_turn_lost(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_turn_ref *q = req;
	struct st_msg m = { .content = "" };
	struct st_conv c;
	struct store_txn t;
	int stored;

	strlcpy(m.conv_id, q->conv_id, sizeof(m.conv_id));
	strlcpy(m.role, "assistant", sizeof(m.role));
	strlcpy(m.status, "interrupted", sizeof(m.status));
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_turn_lost(&t, &m, q->msg_id, &c, &stored) == 0 && stored) {
		event_msg(b, r, &c, &m);
		st_conv_free(&c);
	}
	/* Ended, or answered or gone since: open no more. */
	store_turn_closed(&t, q->conv_id, q->msg_id);
	req_end(&t, r);
}

/*
 * A page of conversations: every one (ST_CONV_LIST), a query's, or those
 * a person is wanted in (ST_HANDOFF_LIST).
 */
void
op_conv_page(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_page_req *p = req;
	const struct st_conv_query_req *q = req;
	struct st_conv_page rep;
	struct store_txn t;
	struct store_list l;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if ((type == PROTO_ST_CONV_LIST ?
	    store_conv_list(&t, p->limit, p->cursor, &l) :
	    type == PROTO_ST_HANDOFF_LIST ?
	    store_handoff_list(&t, p->limit, p->cursor, &l) :
	    store_conv_query(&t, q, &l)) == 0 &&
	    (store_convs_view(&t, who_user(b), l.convs, l.n, 1), t.err) == 0) {
		rep = (struct st_conv_page){ l.total, l.convs, l.n,
		    l.next_cursor };
		reply_enc(r, type, &rep);
		store_list_free(&l);
	}
	req_end(&t, r);
}

void
op_conv_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_conv_get_req *q = req;
	struct store_txn t;
	struct store_conv_full f;
	struct st_conv_msgs rep;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_conv_get(&t, q->conv_id, q->max_messages,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &f) == 0) {
		store_conv_view(&t, who_user(b), &f.conv);
		rep = (struct st_conv_msgs){ f.conv, f.msgs, f.n,
		    (uint8_t)f.truncated };
		reply_enc(r, type, &rep);
		store_conv_full_free(&f);
	}
	req_end(&t, r);
}

void
reply_begin_no(struct dreply *r, uint16_t type, int result, uint64_t retry)
{
	reply_enc(r, type, &(struct st_begin_rep){ .result = (uint8_t)result,
	    .retry_ms = retry });
}

/*
 * About the begin reply's length: the agent's prompt, each history line's
 * content and some bytes for the rest (the agent's other rows, the ids,
 * each line's role and lengths). Its room taken at once, the reply is
 * not grown from 256 bytes by doubling, two or three reallocs and copies
 * of what was written a turn; a longer one still grows.
 */
static size_t
begin_guess(const struct st_agent *a, const struct store_chat *c)
{
	size_t n = 256;
	uint32_t i;

	if (a->system_prompt != NULL)
		n += strlen(a->system_prompt);
	for (i = 0; i < c->n; i++)
		n += 24 + (c->history[i].content != NULL ?
		    strlen(c->history[i].content) : 0);
	return n < PROTO_MAX_PAYLOAD ? n : PROTO_MAX_PAYLOAD;
}

/*
 * reply_begin's answer without its events: the turn's reply, and the
 * turn written open when the model answers it.
 */
static void
reply_turn(struct store_txn *t, struct dreply *r, uint16_t type, int result,
    uint64_t retry, const struct st_agent *a, const struct store_chat *c)
{
	struct st_begin_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = (uint8_t)result;
	rep.retry_ms = retry;
	rep.ok = (struct st_begin_ok){ .agent = *a,
	    .created = (uint8_t)c->created, .language = c->conv.visitor.language,
	    .history = c->history, .nhistory = c->n,
	    .verified = (uint8_t)c->verified,
	    .handoff = (uint8_t)c->conv.handoff };
	memcpy(rep.ok.conv_id, c->conv.id, sizeof(rep.ok.conv_id));
	memcpy(rep.ok.msg_id, c->msg.id, sizeof(rep.ok.msg_id));
	/* Out of memory: e failed, which reply_enc leaves as it is. */
	(void)penc_reserve(&r->enc, begin_guess(a, c));
	reply_enc(r, type, &rep);
	r->late = c->human;
	/* The model answers it: a turn open until its reply is stored. */
	if (!c->human) {
		r->turn = DTURN_BEGUN;
		memcpy(r->turn_conv, c->conv.id, sizeof(r->turn_conv));
		memcpy(r->turn_msg, c->msg.id, sizeof(r->turn_msg));
		store_turn_opened(t, c->conv.id, c->msg.id);
	}
}

void
reply_begin(struct dbatch *b, struct store_txn *t, struct dreply *r,
    uint16_t type, int result, uint64_t retry, const struct st_agent *a,
    const struct store_chat *c)
{
	reply_turn(t, r, type, result, retry, a, c);
	event_begin(b, r, c);
}

const char *
begin_content(const char *content, uint32_t natts)
{
	return natts > 0 && content[0] == '\0' ? "-" : content;
}

void
op_chat_begin(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_chat_begin_req *q = req;
	char sess[2 * ST_TOKEN_HASH_LEN + 1];
	const struct att_claim claim = { q->atts, q->natts, sess, q->widget };
	struct store_txn t;
	struct store_chat c;
	struct st_agent own;
	const struct st_agent *a;
	char org[ST_WHO_ORG_MAX + 1];
	uint64_t retry;
	int limited, wres, held;

	/* What cannot run is refused before it is counted. */
	if (req_check(r, store_chat_invalid(q->widget, q->session,
	    begin_content(q->content, q->natts), q->history_max)) < 0 ||
	    req_check(r, q->natts > 0 && q->token_len != ST_TOKEN_HASH_LEN ?
	    "attachments: the session's hash" : NULL) < 0)
		return;
	proto_hex_encode(q->token, q->token_len, sess);
	if (req_runnable(b, r, type) < 0 || (limited = rate_count(b, r,
	    q->rate_key, q->window_ms, q->rate_max, &retry)) < 0)
		return;
	if (limited) {
		/* Nothing else happens: no store, so the reply always stands. */
		reply_begin_no(r, type, ST_CHAT_LIMITED, retry);
		reply_stands(r);
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	/*
	 * A new session counts against the widget's, as ST_WS_BEGIN's (the
	 * session looked up only when there is a limit to count it in).
	 */
	if (store_wsess_new_max(t.st) != 0 &&
	    store_chat_session_exists(&t, q->widget, q->session) == 0 &&
	    (limited = new_session_count(b, r, q->widget, &retry)) != 0) {
		store_abort(&t);	/* nothing written yet */
		if (limited > 0)
			reply_begin_no(r, type, ST_CHAT_BUSY, retry);
		return;
	}
	/*
	 * One turn at a time in a conversation (store_turn_holds): a
	 * second begun while the first's reply is to come (a double submit)
	 * is refused before anything is written or the daily cap counted.
	 */
	if ((held = store_turn_holds(&t, q->widget, q->session)) != 0) {
		if (held < 0) {
			req_end(&t, r);
			return;
		}
		store_abort(&t);	/* nothing written */
		reply_begin_no(r, type, ST_CHAT_TURN_OPEN, 0);
		return;
	}
	t.visitor = store_visitor_told(&q->visitor);
	/*
	 * The widget's switch and daily cap, in the txn that stores the
	 * turn, and the agent that answers it (one load of the widget).
	 */
	if (store_chat_widget_take(&t, q->widget, &wres, &retry, &own, &a,
	    org) == 0 && wres != ST_WS_OK)
		reply_begin_no(r, type, store_chat_refused(wres), retry);
	else if (t.err == 0) {
		t.agent = a;
		if (store_chat_begin(&t, q->widget, q->session, org, q->content,
		    &claim,
		    store_chat_history(a, q->history_max),
		    DISPATCH_CHAT_HISTORY_BYTES, &c) == 0) {
			reply_begin(b, &t, r, type, c.human ? ST_CHAT_HUMAN :
			    ST_CHAT_OK, 0, a, &c);
			store_chat_free(&c);
		}
	}
	st_agent_free(&own);
	req_end(&t, r);
}

/*
 * ST_CHAT_ANSWER_LAST: a person handed conversation q->conv_id back
 * with its visitor's last message unanswered. The model's turn for that
 * message is begun as a begin's is (the history, the agent, the turn written
 * open: lostturns.h ends it if the worker is lost), with nothing stored:
 * the message is stored already, and counted in its widget's daily cap
 * then. Its one event, ST_EV_ANSWERING, has the visitor's sockets show
 * the assistant writing until the reply's ST_EV_MESSAGE. Refused with
 * its result, nothing written, when the conversation is not the
 * assistant's, its last message is not its visitor's, a turn is open for
 * it, or its widget is disabled.
 */
void
op_chat_answer_last(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_answer_last_req *q = req;
	struct store_txn t;
	struct store_chat c;
	struct st_agent own;
	const struct st_agent *a;
	int result, wres;

	if (req_check(r, q->history_max < 1 ||
	    q->history_max > ST_HISTORY_MAX ?
	    "history_max must be 1 to 200" : NULL) < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
	memset(&own, 0, sizeof(own));
	if (store_chat_answer_find(&t, q->conv_id, &result, &c) != 0)
		;
	else if (result != ST_CHAT_OK)
		reply_begin_no(r, type, result, 0);
	else if (store_chat_widget_agent(&t, c.conv.widget, &wres, &own,
	    &a) == 0 && wres != ST_WS_OK) {
		reply_begin_no(r, type, ST_CHAT_DISABLED, 0);
		store_chat_free(&c);
	} else if (t.err != 0)
		store_chat_free(&c);
	else if (store_chat_lines(&t, store_chat_history(a, q->history_max),
	    DISPATCH_CHAT_HISTORY_BYTES, &c) == 0) {
		reply_turn(&t, r, type, ST_CHAT_OK, 0, a, &c);
		/* The visitor's sockets show the assistant writing. */
		event_answering(b, r, &c.conv);
		store_chat_free(&c);
	}
	st_agent_free(&own);
	req_end(&t, r);
}

void
op_session_history(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_session_history_req *q = req;
	struct st_session_history_rep rep;
	struct store_txn t;
	struct store_conv_full f;
	int found = 0;

	if (req_begin(b, &t, r, type) < 0)
		return;
	/* As much as a resume shows: a long conversation costs no more. */
	if (store_session_history(&t, q->widget, q->session, q->max_messages,
	    ST_WS_HISTORY_BYTES, &found, &f) == 0) {
		if (store_session_shown(&t, q->widget, found ? &f : NULL,
		    &rep) == 0)
			reply_enc(r, type, &rep);
		if (found)
			store_conv_full_free(&f);
	}
	req_end(&t, r);
}

int
call_conv_delete(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;

	/* Its messages, when not too many: the room they took comes back. */
	t->msgs_now = STORE_DELETE_MSGS;
	return store_conv_delete(t, q->id);
}

int
call_msg_page(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	return store_msg_page(t, req, PROTO_MAX_PAYLOAD -
	    DISPATCH_REPLY_MARGIN, rep);
}

int
call_msg_pages(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	return store_msg_pages(t, req, PROTO_MAX_PAYLOAD -
	    DISPATCH_REPLY_MARGIN, rep);
}

int
call_conv_read(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;

	return store_conv_read(t, who_user(b), q->id);
}

STORE_CALL(call_ws_feedback, store_ws_feedback)
STORE_CALL(call_ws_rating, store_ws_rating)

int
call_fb_summary(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	return store_fb_summary(t, b->who->org, rep);
}
