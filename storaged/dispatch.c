/*
 * Request payload in, reply payload out: each request is decoded by its
 * layout in the message table (proto/stmsgs.h) into its struct, run by
 * the operation its row in optab.c names, and its reply struct encoded
 * by the table too. What is here: the batches and their transactions,
 * the rate counts a batch run again replays, the events a request makes,
 * and the operations, thin glue between a request and the store files
 * that hold the rules (contactstore.c, wsess.c, userstore.c...).
 */
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "attstore.h"
#include "feedbackstore.h"
#include "gapstore.h"
#include "agentstore.h"
#include "convstate.h"
#include "rollups.h"
#include "contactstore.h"
#include "dashstore.h"
#include "dispatch.h"
#include "handoffstore.h"
#include "hookstore.h"
#include "inbox.h"
#include "kbpage.h"
#include "kbsource.h"
#include "outbox.h"
#include "presence.h"
#include "setupcounts.h"
#include "keystore.h"
#include "mailbox.h"
#include "log.h"
#include "msgtab.h"
#include "optab.h"
#include "orgstore.h"
#include "userstore.h"
#include "stmsgs.h"
#include "storemsg.h"
#include "widgetmsg.h"
#include "widgetstore.h"
#include "wsconvstore.h"

static void reply_events_free(struct dreply *);

static void
reply_error(struct dreply *r, int code, const char *msg)
{
	reply_events_free(r);
	penc_free(&r->enc);
	r->err = code;
	r->errmsg = msg;
}

static void
malformed(struct dreply *r)
{
	reply_error(r, PROTO_E_INVALID, "malformed request");
}

/*
 * The reply struct rep of type into r, by its layout in the message
 * table. One that will not encode leaves r->enc failed, for the request's
 * end (req_end, reply_stands) to answer.
 */
static void
reply_enc(struct dreply *r, uint16_t type, const void *rep)
{
	(void)st_rep_encode(&r->enc, type, rep);
}

/* ---------------------------------------------------------------- events */

/*
 * An event's conversation (a shallow copy) named as the dashboards show
 * it (issue 24); a failed lookup leaves the made-up name, never fails
 * the request that made the event.
 */
static void
event_visitor_name(struct store_txn *batch, struct st_conv *c)
{
	struct store_txn t;

	if (store_begin_shared(batch, &t) != 0)
		return;
	store_visitor_name(&t, c);
	if (t.err) {
		st_visitor_name_gen(c->session, c->visitor_name,
		    sizeof(c->visitor_name));
		store_abort(&t);
	} else
		store_commit(&t);
}

/*
 * An event of kind about conversation c, its tail (by kind) for the
 * caller to fill. The conversation is a shallow copy: the event is
 * only encoded (reply_event), never freed. Its visitor is named here
 * unless the caller's view named it already in this request; unread
 * is one user's and the visitor's details the thread's alone: an event
 * (to every dashboard, into each webhook delivery and mail) carries
 * neither.
 */
static void
event_init(struct dbatch *b, struct st_event *ev, uint8_t kind,
    const struct st_conv *c)
{
	memset(ev, 0, sizeof(*ev));
	ev->at = store_now(b->txn.st);
	ev->kind = kind;
	ev->conv = *c;
	ev->conv.unread = 0;
	memset(&ev->conv.visitor, 0, sizeof(ev->conv.visitor));
	if (ev->conv.visitor_name[0] == '\0')
		event_visitor_name(b->req != NULL ? b->req : &b->txn,
		    &ev->conv);
}

/*
 * ev as an event r made, encoded by the table (ST_EV); the server
 * numbers it once the batch commits. Out of memory it is lost (logged),
 * and the request stands.
 */
static void
reply_event(struct dreply *r, const struct st_event *ev, int visitor)
{
	struct devent *d;

	if ((d = reallocarray(r->evs, r->nevs + 1, sizeof(*d))) == NULL) {
		log_warnx("events: out of memory: an event is lost");
		return;
	}
	r->evs = d;
	d = &r->evs[r->nevs++];
	memset(d, 0, sizeof(*d));
	d->kind = ev->kind;
	d->visitor = visitor;
	d->hook_event = store_event_hook(ev);
	d->mail_kind = store_event_mail(ev);
	strlcpy(d->org, ev->conv.org, sizeof(d->org));
	strlcpy(d->conv, ev->conv.id, sizeof(d->conv));
	penc_init(&d->enc);
	(void)st_req_encode(&d->enc, PROTO_ST_EV, ev);
}

/* A message stored in c: visitors hear of an agent's only. */
static void
event_msg(struct dbatch *b, struct dreply *r, const struct st_conv *c,
    const struct st_msg *m)
{
	struct st_event ev;

	event_init(b, &ev, ST_EV_MESSAGE, c);
	ev.msg = *m;
	reply_event(r, &ev, strcmp(m->role, "agent") == 0);
}

/*
 * A begin's events: the conversation if it is new, the user message;
 * its visitor named once for both (a shallow copy, as event_init's).
 */
static void
event_begin(struct dbatch *b, struct dreply *r, const struct store_chat *c)
{
	struct st_event ev;
	struct st_conv conv = c->conv;

	event_visitor_name(b->req != NULL ? b->req : &b->txn, &conv);
	if (c->created) {
		event_init(b, &ev, ST_EV_CONV_CREATED, &conv);
		reply_event(r, &ev, 0);
	}
	event_msg(b, r, &conv, &c->msg);
}

/* A conversation a request deleted (store.h's conv_gone): the dashboards' and webhooks'. */
static void
event_conv_gone(struct store_txn *t, const struct st_conv *c)
{
	struct st_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = store_now(t->st);
	ev.kind = ST_EV_CONV_DELETED;
	ev.conv = *c;
	event_visitor_name(t, &ev.conv);
	reply_event(t->conv_gone_arg, &ev, 0);
}

/* ST_EV_HANDOFF (v: the state) and ST_EV_TYPING (v: on), with a name. */
static void
event_state(struct dbatch *b, struct dreply *r, uint8_t kind,
    const struct st_conv *c, uint8_t v, const char *name)
{
	struct st_event ev;

	event_init(b, &ev, kind, c);
	if (kind == ST_EV_TYPING)
		ev.on = v;
	else
		ev.state = v;
	strlcpy(ev.name, name, sizeof(ev.name));
	reply_event(r, &ev, 1);
}

static void
reply_events_free(struct dreply *r)
{
	size_t i;

	for (i = 0; i < r->nevs; i++)
		devent_free(&r->evs[i]);
	free(r->evs);
	r->evs = NULL;
	r->nevs = 0;
}

/* The batch can run this request. 0, or -1 with r failed. */
static int
req_runnable(struct dbatch *b, struct dreply *r, uint16_t type)
{
	if (dispatch_is_write(type) && !b->write) {
		/* The loop sizes batches by their requests: this is a bug. */
		log_warnx("dispatch: write request in a read-only batch");
		reply_error(r, PROTO_E_INTERNAL, "write in a read batch");
		return -1;
	}
	if (b->txn.err) {
		reply_error(r, b->txn.err, b->txn.errmsg);
		return -1;
	}
	return 0;
}

/*
 * The organisation who asks acts in, the scope of what it may see: NULL
 * (any) for nobody's requests (a widget's public config, a visitor's)
 * and for callers that run requests themselves (tests, b->who NULL).
 */
static const char *
who_org(const struct dbatch *b)
{
	if (b->who == NULL || b->who->kind == ST_WHO_PUBLIC)
		return NULL;
	return b->who->org;
}

/* The dashboard user who asks: their id, or "" (a key). */
static const char *
who_user(const struct dbatch *b)
{
	return b->who != NULL ? b->who->user : "";
}

/* Opens the request's own txn inside the batch. 0, or -1 with r failed. */
static int
req_begin(struct dbatch *b, struct store_txn *t, struct dreply *r,
    uint16_t type)
{
	if (req_runnable(b, r, type) < 0)
		return -1;
	r->touched = 1;
	/* A nested txn only in a batch's second run (dispatch.h). */
	if ((dispatch_is_write(type) && b->nested ?
	    store_begin_child(&b->txn, t) : store_begin_shared(&b->txn, t))
	    != 0) {
		reply_error(r, t->err, t->errmsg);
		return -1;
	}
	/* What who asks may see of the conversations (store.h). */
	t->org = who_org(b);
	b->req = t;
	t->conv_gone = event_conv_gone;
	t->conv_gone_arg = r;
	return 0;
}

/* A check's verdict: bad (static) set fails r with it and gives -1, else 0. */
static int
req_check(struct dreply *r, const char *bad)
{
	if (bad != NULL) {
		reply_error(r, PROTO_E_INVALID, bad);
		return -1;
	}
	return 0;
}

/* A reply with no txn behind it stands if it encodes. */
static void
reply_stands(struct dreply *r)
{
	if (r->enc.err)
		reply_error(r, PROTO_E_INTERNAL, "reply does not encode");
}

/*
 * Ends the request's txn: the reply stands only if its txn folds in,
 * with the audit's entry of the request (auditstore.c's table) in it.
 */
static void
req_end(struct store_txn *t, struct dreply *r)
{
	size_t i;

	if (t->err == 0 && r->enc.err)
		store_fail(t, PROTO_E_INTERNAL, "reply does not encode");
	if (r->audit != NULL)
		store_audit_request(t, r->audit, r->enc.buf, r->enc.len);
	/*
	 * Its webhooks' deliveries and its mails, in the txn that stores
	 * what they tell.
	 */
	for (i = 0; i < r->nevs && t->err == 0; i++) {
		if (r->evs[i].enc.err)
			continue;
		if (r->evs[i].hook_event != 0)
			store_outbox_event(t, r->evs[i].org,
			    r->evs[i].hook_event, r->evs[i].enc.buf,
			    r->evs[i].enc.len);
		if (r->evs[i].mail_kind != 0)
			store_mail_event(t, r->evs[i].org, r->evs[i].conv,
			    r->evs[i].mail_kind, r->evs[i].enc.buf,
			    r->evs[i].enc.len);
	}
	if (store_commit(t) != 0)
		reply_error(r, t->err, t->errmsg);
	else
		r->wrote = t->wrote;
}

/* ------------------------------------------------------------ conversations */

void
op_ping(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	(void)b;
	(void)type;
	(void)req;
	(void)r;
}

void
op_conv_open(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_conv_open_req *q = req;
	struct st_conv_open_rep rep;
	struct store_txn t;
	int created;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_conv_open(&t, q->widget, q->session, &rep.conv,
	    &created) == 0) {
		rep.created = (uint8_t)created;
		reply_enc(r, type, &rep);
		st_conv_free(&rep.conv);
	}
	req_end(&t, r);
}

/*
 * A tool the model called in an answer's turn (role tool): stored, no
 * event (the answer after it is the turn's).
 */
static void
tool_store(struct store_txn *t, const char *conv_id,
    const struct st_tool_rec *tr)
{
	struct st_conv c;
	struct st_msg m;

	if (!st_action_name_valid(tr->name) ||
	    (strcmp(tr->status, "complete") != 0 &&
	    strcmp(tr->status, "failed") != 0) ||
	    !proto_utf8_valid(tr->arguments, strlen(tr->arguments))) {
		store_fail(t, PROTO_E_INVALID, "tools: each a name, complete or "
		    "failed, and arguments of UTF-8");
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
	if (store_msg_append(t, &m, &c) == 0)
		st_conv_free(&c);
}

/*
 * m stored in its conversation (ST_MSG_APPEND, ST_AGENT_MSG): the reply
 * is the message and the conversation after (ST_MSG_APPEND's layout
 * sends the message alone); its event. An agent's
 * (given not NULL: the name its request gave) is signed by who asks
 * (store_who_person): its author and the name the visitor sees.
 */
static void
msg_store(struct dbatch *b, uint16_t type, struct st_msg *m,
    const char *given, const struct st_msg_append_req *q,
    const struct att_claim *claim, struct dreply *r)
{
	struct st_msg_conv rep;
	struct store_person by;
	struct store_txn t;
	uint8_t cid[16];
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
		tool_store(&t, m->conv_id, &q->tools[i]);
	if (given != NULL && store_who_person(&t, b->who, given, &by) == 0) {
		strlcpy(m->author, by.user, sizeof(m->author));
		strlcpy(m->name, by.name, sizeof(m->name));
	}
	if (store_msg_append(&t, m, &rep.conv) == 0) {
		store_conv_view(&t, who_user(b), &rep.conv);
		rep.msg = *m;
		reply_enc(r, type, &rep);
		event_msg(b, r, &rep.conv, m);
		st_conv_free(&rep.conv);
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
	/* Its strings borrowed from the request: the store only reads them. */
	m = (struct st_msg){ .content = (char *)q->content,
	    .prompt_tokens = q->prompt_tokens,
	    .completion_tokens = q->completion_tokens, .sources = sources,
	    .nsources = q->nsources, .knowledge = q->knowledge };

	strlcpy(m.conv_id, q->conv_id, sizeof(m.conv_id));
	strlcpy(m.role, q->role, sizeof(m.role));
	strlcpy(m.status, q->status, sizeof(m.status));
	msg_store(b, type, &m, NULL, q, NULL, r);
}

/* A page of conversations: every one (ST_CONV_LIST) or a query's. */
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
	    store_conv_query(&t, q->limit, q->cursor, q->widget, q->q,
	    q->assigned, q->assignee != NULL ? q->assignee : "", q->gaps,
	    q->state, &l)) == 0 &&
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

static int
rate_hit(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t n, uint64_t *retry)
{
	int rc;

	if ((rc = ratelimit_hit_n(b->rl, key, strlen(key), window_ms,
	    rate_max, n, retry)) < 0) {
		log_warnx("rate table: out of memory");
		reply_error(r, PROTO_E_INTERNAL, "out of memory");
	}
	return rc;
}

/* One more note fits in b->notes. 0, or -1 out of memory (logged). */
static int
rate_note_room(struct dbatch *b)
{
	struct rate_note *n;

	if ((n = proto_grow(b->notes, &b->notecap, b->nnotes, sizeof(*n), 64,
	    SIZE_MAX)) == NULL) {
		log_warnx("rate notes: out of memory");
		return -1;
	}
	b->notes = n;
	return 0;
}

/*
 * The second run: the request's next count of the first run, in order.
 * A request that counts more often now (the store changed under it)
 * counts the rest for real.
 */
static int
rate_replay(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t units, uint64_t *retry)
{
	const struct rate_note *n;

	while (b->replayed < b->nnotes && b->notes[b->replayed].req < b->nreq)
		b->replayed++;
	if (b->replayed == b->nnotes || b->notes[b->replayed].req != b->nreq)
		return rate_hit(b, r, key, window_ms, rate_max, units, retry);
	n = &b->notes[b->replayed++];
	*retry = n->retry;
	return n->limited;
}

/*
 * Counts n against a rate limit (one request, or an upload's KiB): 0
 * allowed, 1 limited (with *retry set, nothing counted), -1 with r
 * failed. Counts nothing when rate_max is 0.
 */
static int
rate_count_n(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t n, uint64_t *retry)
{
	int rc;

	*retry = 0;
	if (rate_max == 0)
		return 0;
	if (key[0] == '\0' || window_ms == 0) {
		reply_error(r, PROTO_E_INVALID,
		    "a rate limit needs a key and a window");
		return -1;
	}
	if (b->rl == NULL) {
		log_warnx("dispatch: rate limit asked of a batch without "
		    "counters");
		reply_error(r, PROTO_E_INTERNAL, "no rate counters");
		return -1;
	}
	if (b->nested)
		return rate_replay(b, r, key, window_ms, rate_max, n, retry);
	/* Room for the note first: a count made is always noted. */
	if (b->write && rate_note_room(b) < 0) {
		reply_error(r, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	if ((rc = rate_hit(b, r, key, window_ms, rate_max, n, retry)) >= 0 &&
	    b->write)
		b->notes[b->nnotes++] = (struct rate_note){ b->nreq, rc, *retry };
	return rc;
}

/* rate_count_n() of one request. */
static int
rate_count(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
{
	return rate_count_n(b, r, key, window_ms, rate_max, 1, retry);
}

void
op_rate_hit(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_rate_hit *h = req;
	struct st_rate_verdict v;
	int limited;

	/* No LMDB: it runs in any batch and is never void (touched 0). */
	if ((limited = rate_count(b, r, h->key, h->window_ms, h->max,
	    &v.retry_ms)) < 0)
		return;
	v.limited = (uint8_t)limited;
	reply_enc(r, type, &v);
	reply_stands(r);
}

/* A begin's answer that goes no further: its result and retry alone. */
static void
reply_begin_no(struct dreply *r, uint16_t type, int result, uint64_t retry)
{
	reply_enc(r, type, &(struct st_begin_rep){ .result = (uint8_t)result,
	    .retry_ms = retry });
}

/*
 * A begin's answer when the turn goes on (result OK) or a person answers
 * (HUMAN): the effective agent, the conversation and the history, the
 * user message last (none for a conversation a person answers, which is
 * then answered once committed, never early); and its events.
 */
static void
reply_begin(struct dbatch *b, struct dreply *r, uint16_t type, int result,
    uint64_t retry, const struct st_agent *a, const struct store_chat *c)
{
	struct st_begin_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = (uint8_t)result;
	rep.retry_ms = retry;
	rep.ok = (struct st_begin_ok){ *a, (uint8_t)c->created, c->conv,
	    c->history, c->n };
	reply_enc(r, type, &rep);
	r->late = c->human;
	event_begin(b, r, c);
}

/* A begin's content as checked: a message of files alone has no words. */
static const char *
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
	struct st_agent a;
	char org[ST_WHO_ORG_MAX + 1];
	uint64_t retry;
	int limited, wres;

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
	t.visitor = store_visitor_told(&q->visitor);
	/*
	 * The widget's switch and daily cap, in the txn that stores the
	 * turn, and the agent that answers it (one load of the widget).
	 */
	if (store_chat_widget_take(&t, q->widget, &wres, &retry, &a,
	    org) == 0 && wres != ST_WS_OK)
		reply_begin_no(r, type, store_chat_refused(wres), retry);
	else if (t.err == 0) {
		t.agent = &a;
		if (store_chat_begin(&t, q->widget, q->session, org, q->content,
		    &claim,
		    store_chat_history(&a, q->history_max),
		    DISPATCH_CHAT_HISTORY_BYTES, &c) == 0) {
			reply_begin(b, r, type, c.human ? ST_CHAT_HUMAN :
			    ST_CHAT_OK, 0, &a, &c);
			store_chat_free(&c);
		}
		st_agent_free(&a);
	}
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
	int found;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_session_history(&t, q->widget, q->session, q->max_messages,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &found, &f) == 0) {
		if (store_session_shown(&t, q->widget, found ? &f : NULL,
		    &rep) == 0)
			reply_enc(r, type, &rep);
		if (found)
			store_conv_full_free(&f);
	}
	req_end(&t, r);
}

/* ----------------------------------------- widgets, agents, organisations */

/* The public widget id stops working once the batch commits. */
static void
reply_gone(struct dreply *r, const char *wid)
{
	if (r->err == 0)
		strlcpy(r->gone, wid, sizeof(r->gone));
}

/* ------------------------------------------------------- the outbox */

static int req_org(struct dbatch *, struct dreply *);

void
op_hook_due(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_due_req *q = req;
	struct st_hook_jobs rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_hook_due(&t, q, &rep) == 0) {
		reply_enc(r, type, &rep);
		store_hook_jobs_free(rep.jobs, rep.n);
	}
	req_end(&t, r);
}

void
op_hook_result(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_result_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_hook_result(&t, q->id, q->ok != 0, q->code, q->error,
	    q->duration_ms, q->retry_at);
	req_end(&t, r);
}

/* --------------------------------------------------------------- email */

void
op_notify(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_notify *q = req;
	struct st_notify rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if ((type == PROTO_ST_NOTIFY_GET ? 0 : store_notify_set(&t,
	    who_user(b), q->mask)) == 0 &&
	    store_notify_get(&t, who_user(b), &rep.mask) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
}

void
op_mail_due(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_mail_due_req *q = req;
	struct st_mails rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_mail_due(&t, q->max, q->lease_ms, &rep.mails,
	    &rep.n) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

void
op_mail_result(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_mail_result_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_mail_result(&t, q->id, q->ok != 0, q->error, q->retry_at);
	req_end(&t, r);
}

void
op_hook_deliveries(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_deliveries_req *q = req;
	struct st_deliveries rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (store_hook_deliveries(&t, b->who->org, q->hook, q->limit,
	    q->cursor, &rep.dlv, &rep.n, rep.next_cursor) == 0) {
		reply_enc(r, type, &rep);
		store_deliveries_free(rep.dlv, rep.n);
	}
	req_end(&t, r);
}

/* ST_HOOK_RETRY (a webhook's delivery) and ST_HOOK_TEST (a webhook). */
void
op_hook_dlv(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_retry_req *rq = req;
	const struct st_id_req *q = req;
	struct st_delivery d;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&d, 0, sizeof(d));
	if ((type == PROTO_ST_HOOK_RETRY ? store_hook_retry(&t, b->who->org,
	    rq->hook, rq->id, &d) : store_hook_test(&t, b->who->org, q->id,
	    &d)) == 0) {
		reply_enc(r, type, &d);
		st_delivery_free(&d);
	}
	req_end(&t, r);
}

/* Every entity request (struct entity). */
void
op_entity(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct entity *e = optab(type)->ent;
	const char *gone = NULL;
	struct store_txn t;
	union st_any rep;

	if (type == e->create && req_check(r, e->invalid(req)) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (e->run(&t, who_org(b), type, req, &rep, &gone) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
	if (gone != NULL)
		reply_gone(r, gone);
}

/* ---------------------------------------------------------------- visitors */

/*
 * A new visitor session of the widget (public id) counts against its new
 * sessions per minute (store_wsess_new_max): 1 limited (*retry set), 0
 * not, -1 with r failed.
 */
static int
new_session_count(struct dbatch *b, struct dreply *r, const char *wid,
    uint64_t *retry)
{
	char key[WSESS_NEW_KEY_MAX];

	store_wsess_new_key(wid, key);
	return rate_count(b, r, key, WSESS_NEW_WINDOW_MS,
	    store_wsess_new_max(b->txn.st), retry);
}

/* A token hash of the request: NULL when it carries none. */
static const uint8_t *
token_of(const uint8_t *token, uint32_t len)
{
	return len > 0 ? token : NULL;
}

/*
 * ST_WS_OPEN's rate hits, each counted in turn until one is limited: 0
 * when none is; 1 when answered (ST_WS_LIMITED, which, retry) or failed.
 */
static int
ws_open_counted(struct dbatch *b, struct dreply *r, uint16_t type,
    const struct st_rate_hit *hits, uint32_t n)
{
	uint64_t retry;
	uint32_t i;
	int limited;

	for (i = 0; i < n; i++) {
		if ((limited = rate_count(b, r, hits[i].key,
		    hits[i].window_ms, hits[i].max, &retry)) < 0)
			return 1;
		if (limited) {
			reply_enc(r, type, &(struct st_ws_open_rep){
			    .result = ST_WS_LIMITED,
			    .limited = { (uint8_t)i, retry } });
			reply_stands(r);
			return 1;
		}
	}
	return 0;
}

void
op_ws_open(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_open_req *q = req;
	struct st_ws_open_rep rep;
	struct store_txn t;
	struct store_ws_open o;

	/* As ST_CHAT_BEGIN: 0 ("all that fit") could pass ST_HISTORY_MAX. */
	if (q->history_max < 1 || q->history_max > ST_HISTORY_MAX) {
		reply_error(r, PROTO_E_INVALID, "history_max must be 1 to 200");
		return;
	}
	/* The counts first, as separate requests were: nothing else then. */
	if (ws_open_counted(b, r, type, q->hits, q->nhits) != 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_open(&t, q->widget_id, q->origin,
	    token_of(q->token, q->token_len), q->new_hash, q->idle_ms,
	    q->history_max, DISPATCH_WS_HISTORY_BYTES, &o) == 0) {
		memset(&rep, 0, sizeof(rep));
		rep.result = (uint8_t)o.result;
		if (o.result == ST_WS_OK)
			store_ws_open_shown(b->txn.st, &rep.ok, &o);
		reply_enc(r, type, &rep);
		store_ws_open_free(&o);
	}
	req_end(&t, r);
}

/*
 * ST_WS_BEGIN's counts once its session checked out: the visitor's rate,
 * then a new visitor's widget's new sessions. 0 to go on; 1 with
 * wb->result and its retry set; -1 with r failed.
 */
static int
ws_begin_counted(struct dbatch *b, struct dreply *r,
    const struct st_ws_begin_req *q, struct store_ws_begin *wb)
{
	uint64_t retry = 0;
	int limited;

	/* Counted in memory, as ST_CHAT_BEGIN is: it stands whatever follows. */
	if ((limited = rate_count(b, r, q->rate_key, q->window_ms,
	    q->rate_max, &retry)) != 0) {
		wb->result = ST_WS_LIMITED;
		wb->retry_after_ms = retry;
		return limited;
	}
	/* A new visitor: its widget's count too. */
	if (wb->creating && (limited = new_session_count(b, r, q->widget_id,
	    &retry)) != 0) {
		wb->result = ST_WS_BUSY;
		wb->retry_after_ms = retry;
		return limited;
	}
	return 0;
}

void
op_ws_begin(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_begin_req *q = req;
	struct store_txn t;
	struct store_ws_begin wb;
	struct st_agent a;
	const char *bad;
	int counted, agent = 0;

	/*
	 * What cannot run is refused before anything is counted. A message
	 * of files alone may have no words.
	 */
	if ((bad = store_chat_invalid("w", "s", begin_content(q->content,
	    q->natts), q->history_max)) != NULL || (q->rate_max != 0 &&
	    (q->rate_key[0] == '\0' || q->window_ms == 0))) {
		reply_error(r, PROTO_E_INVALID, bad != NULL ? bad :
		    "a rate limit needs a key and a window");
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	t.visitor = store_visitor_told(&q->visitor);
	if (store_ws_begin_check(&t, q->widget_id, q->token, q->idle_ms,
	    q->create, &wb) != 0) {
		req_end(&t, r);
		return;
	}
	if (wb.result == ST_WS_OK) {
		if ((counted = ws_begin_counted(b, r, q, &wb)) < 0) {
			store_abort(&t);
			store_ws_begin_free(&wb);
			return;
		}
		if (counted == 0 &&
		    store_begin_agent(&t, &wb.widget, &a) == 0) {
			agent = 1;
			t.agent = &a;
			store_ws_begin_run(&t, &wb, q->content, q->atts,
			    q->natts, store_chat_history(&a, q->history_max),
			    DISPATCH_CHAT_HISTORY_BYTES);
			if (t.err == 0 && wb.result == ST_WS_OK &&
			    wb.chat.human)
				wb.result = ST_WS_HUMAN;
		}
	}
	/* The effective agent only: storaged merged the widget in. */
	if (t.err == 0 && (wb.result == ST_WS_OK || wb.result == ST_WS_HUMAN))
		reply_begin(b, r, type, wb.result, wb.retry_after_ms, &a,
		    &wb.chat);
	else if (t.err == 0)
		reply_begin_no(r, type, wb.result, wb.retry_after_ms);
	if (agent)
		st_agent_free(&a);
	store_ws_begin_free(&wb);
	req_end(&t, r);
}

/* A contact saved: an event when the session has a conversation. */
static void
event_contact(struct dbatch *b, struct dreply *r, struct store_txn *t,
    const char *wid, const uint8_t *token, const struct st_contact *ct)
{
	struct st_event ev;
	struct st_conv c;
	uint8_t cid[16];
	int result = ST_WS_NO_CONV;

	if (store_ws_conv(t, wid, token, &result, &c, cid) != 0 ||
	    result != ST_WS_OK)
		return;
	event_init(b, &ev, ST_EV_CONTACT, &c);
	ev.contact = *ct;
	reply_event(r, &ev, 0);
	st_conv_free(&c);
}

void
op_contact_submit(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_contact_submit_req *q = req;
	struct st_contact_submit_rep rep;
	struct store_txn t;
	uint64_t retry;
	int result, limited, rc;

	if (req_check(r, store_contact_invalid(q->name, q->email,
	    q->phone)) < 0)
		return;
	/* Counted in memory, as ST_WS_BEGIN: it stands whatever follows. */
	if ((limited = rate_count(b, r, q->rate_key, q->window_ms,
	    q->rate_max, &retry)) < 0)
		return;
	if (limited) {
		reply_enc(r, type, &(struct st_contact_submit_rep){
		    .result = ST_WS_LIMITED, .retry_ms = retry });
		reply_stands(r);
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	/* A new visitor's first submission makes its session: counted. */
	if ((rc = store_wsess_exists(&t, q->token)) == 0 &&
	    (rc = new_session_count(b, r, q->widget_id, &retry)) != 0) {
		store_abort(&t);
		if (rc > 0)
			reply_enc(r, type, &(struct st_contact_submit_rep){
			    .result = ST_WS_BUSY });
		return;
	}
	memset(&rep, 0, sizeof(rep));
	if (rc >= 0 && store_contact_submit(&t, q->widget_id, q->token,
	    q->name, q->email, q->phone, &result, &rep.contact) == 0) {
		rep.result = (uint8_t)result;
		reply_enc(r, type, &rep);
		if (result == ST_WS_OK) {
			event_contact(b, r, &t, q->widget_id, q->token,
			    &rep.contact);
			st_contact_free(&rep.contact);
		}
	}
	req_end(&t, r);
}

/*
 * ST_WS_IDENTIFY: a visitor's identify (issue 26); a new visitor's
 * session made by it counts as ST_CONTACT_SUBMIT's (BUSY: nothing kept).
 */
void
op_ws_identify(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_identify_req *q = req;
	struct st_ws_identify_rep rep;
	struct st_contact ct;
	struct store_txn t;
	uint64_t retry;
	int created, rc;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_identify(&t, q, &rep, &ct, &created) == 0 && created &&
	    (rc = new_session_count(b, r, q->widget_id, &retry)) != 0) {
		store_abort(&t);
		st_contact_free(&ct);
		if (rc > 0)
			reply_enc(r, type, &(struct st_ws_identify_rep){
			    .result = ST_WS_BUSY });
		return;
	}
	if (t.err == 0) {
		reply_enc(r, type, &rep);
		if (rep.verified)
			event_contact(b, r, &t, q->widget_id, q->token, &ct);
	}
	st_contact_free(&ct);
	req_end(&t, r);
}

void
op_contact_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_page_req *q = req;
	struct st_contact_page rep;
	struct store_txn t;
	struct store_contacts l;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_list(&t, q->limit, q->cursor, &l) == 0) {
		rep = (struct st_contact_page){ l.total, l.contacts, l.n,
		    l.next_cursor };
		reply_enc(r, type, &rep);
		store_contacts_free(&l);
	}
	req_end(&t, r);
}

void
op_contact_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_contact_get_rep rep;
	struct store_txn t;
	struct store_contact_full f;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_get(&t, q->id, &f) == 0) {
		store_convs_view(&t, who_user(b), f.convs, f.n, 1);
		if (store_contact_get_rep(&rep, &f) == 0) {
			reply_enc(r, type, &rep);
			free(rep.links);
		} else
			store_fail(&t, PROTO_E_INTERNAL, "out of memory");
		store_contact_full_free(&f);
	}
	req_end(&t, r);
}

void
op_contact_erase(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_contact_erase_req *q = req;
	struct store_txn t;
	int done = 0;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_erase(&t, q->id, q->erase, CONTACT_ERASE_STEP,
	    &done) == 0)
		reply_enc(r, type, &(struct st_u8_rep){ (uint8_t)done });
	req_end(&t, r);
}

void
op_contact_convs(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_contact_cursor_req *q = req;
	struct st_contact_get_rep g;
	struct st_contact_convs_rep rep;
	struct store_txn t;
	struct store_contact_full f;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_convs(&t, q->id, q->cursor, &f) == 0) {
		store_convs_view(&t, who_user(b), f.convs, f.n, 0);
		if (store_contact_get_rep(&g, &f) == 0) {
			rep = (struct st_contact_convs_rep){ g.convs, g.n,
			    g.links, f.next_cursor };
			reply_enc(r, type, &rep);
			free(g.links);
		} else
			store_fail(&t, PROTO_E_INTERNAL, "out of memory");
		store_contact_full_free(&f);
	}
	req_end(&t, r);
}

void
op_contact_sessions(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_contact_cursor_req *q = req;
	struct st_contact_sess_rep rep;
	struct store_txn t;
	struct store_contact_sess l;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_sessions(&t, q->id, q->cursor, &l) == 0) {
		rep = (struct st_contact_sess_rep){ l.sessions, l.n,
		    l.next_cursor };
		reply_enc(r, type, &rep);
		store_contact_sess_free(&l);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- dashboard */

void
op_dash_login(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_login_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_dash_login(&t, q->token_hash, q->token_hash_len, q->csrf,
	    q->user, q->expires_at);
	req_end(&t, r);
}

void
op_dash_check(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_check_req *q = req;
	struct st_dash_check_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_dash_check(&t, q->token_hash, q->token_hash_len, q->org,
	    q->want_orgs, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

void
op_dash_logout(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_logout_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_dash_logout(&t, q->token_hash, q->token_hash_len);
	req_end(&t, r);
}

void
op_dash_salt(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_dash_salt_rep rep;
	struct store_txn t;

	(void)req;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_dash_salt(&t, rep.salt) == 0) {
		rep.salt_len = sizeof(rep.salt);
		reply_enc(r, type, &rep);
	}
	req_end(&t, r);
}

/* The failed-login budget, then the client's count (dashmsg.h). */
void
op_dash_attempt(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_attempt_req *q = req;
	struct st_rate_verdict v = { 0, 0 };
	int limited;

	if (store_dash_failed_spent(b->rl, q->failures_max, &v.retry_ms))
		v.limited = 2;
	else if ((limited = rate_count(b, r, q->rate_key, q->window_ms,
	    q->rate_max, &v.retry_ms)) < 0)
		return;
	else
		v.limited = (uint8_t)limited;
	reply_enc(r, type, &v);
	reply_stands(r);
}

void
op_conv_delete(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_conv_delete(&t, q->id);
	req_end(&t, r);
}

void
op_msg_page(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_msg_page_req *q = req;
	struct st_msg_page_rep rep;
	struct store_txn t;
	struct store_msg_page pg;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_msg_page(&t, q->conv_id, q->from, q->limit,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &pg) == 0) {
		rep = (struct st_msg_page_rep){ pg.msgs, pg.n, pg.next };
		reply_enc(r, type, &rep);
		store_msg_page_free(&pg);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- handoff */

/*
 * A session's take-over names its user ("<name> joined"), and assigns
 * the conversation to it when it is no one's (store_handoff_set).
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
		    q->from_ai_only != 0, &by, &changed) == 0) {
			store_conv_view(&t, who_user(b), &rep.conv);
			rep.changed = (uint8_t)changed;
			reply_enc(r, type, &rep);
			if (changed)
				event_state(b, r, ST_EV_HANDOFF, &rep.conv,
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
 * who asks sees it, and when it changed an event of kind for the
 * dashboards and webhooks, not the visitor (ST_EV_HANDOFF: its state as
 * it is and the assignee's name).
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
				reply_event(r, &ev, 0);
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

/* The reports' rows of who asks's organisation. */
void
op_report_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_report_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_report_get(&t, req, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* The knowledge gaps of who asks's organisation: listed or deleted. */
void
op_gaps(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	union {
		struct st_gap_list_rep list;
		struct st_u64 deleted;
	} rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if ((type == PROTO_ST_GAP_LIST ? store_gap_list(&t, req, &rep.list) :
	    store_gap_delete(&t, req, &rep.deleted)) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	} else if (type == PROTO_ST_GAP_LIST)
		st_rep_free(type, &rep);
	req_end(&t, r);
}

/*
 * A visitor's new upload counts its KiB against its client's bytes a
 * window first, in memory as a message's count is, a piece's worth at
 * least (so tiny uploads cannot heap up records): 0 allowed, 1 limited
 * (rep's retry set), -1 with r failed.
 */
static int
att_counted(struct dbatch *b, struct dreply *r, const struct st_att_new_req *q,
    struct st_att_new_rep *rep)
{
	uint64_t retry = 0;
	int limited;

	if (q->rate_bytes == 0)
		return 0;
	if ((limited = rate_count_n(b, r, q->rate_key, q->window_ms,
	    q->rate_bytes / 1024, (q->size > ST_ATT_PIECE ? q->size :
	    ST_ATT_PIECE) / 1024, &retry)) == 1) {
		rep->result = ST_ATT_RATE;
		rep->retry_ms = retry;
	}
	return limited;
}

/* Attachments: a new upload, a piece, a read; a visitor's or a person's. */
void
op_att(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	union {
		struct st_att_new_rep n;
		struct st_att_put_rep p;
		struct st_att_read_rep rd;
		struct st_att_due_rep due;
	} rep;
	int admin = type == PROTO_ST_ATT_ADMIN_NEW ||
	    type == PROTO_ST_ATT_ADMIN_PUT || type == PROTO_ST_ATT_ADMIN_READ;
	struct store_txn t;
	int limited = 0;

	memset(&rep, 0, sizeof(rep));
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (type == PROTO_ST_ATT_NEW &&
	    (limited = att_counted(b, r, req, &rep.n)) < 0) {
		store_abort(&t);
		return;
	}
	if (limited)
		;		/* rep.n says so */
	else if (type == PROTO_ST_ATT_NEW || type == PROTO_ST_ATT_ADMIN_NEW)
		store_att_new(&t, req, admin, who_user(b), &rep.n);
	else if (type == PROTO_ST_ATT_PUT || type == PROTO_ST_ATT_ADMIN_PUT)
		store_att_put(&t, req, admin, &rep.p);
	else if (type == PROTO_ST_ATT_EXTRACT_DUE)
		store_att_extract_due(&t, &rep.due);
	else if (type == PROTO_ST_ATT_TEXT_PUT)
		store_att_text_put(&t, req);
	else
		store_att_read(&t, req, admin, &rep.rd);
	if (t.err == 0)
		reply_enc(r, type, &rep);
	if (type == PROTO_ST_ATT_READ || type == PROTO_ST_ATT_ADMIN_READ) {
		st_att_free(&rep.rd.att);
		free((char *)rep.rd.text);
	}
	req_end(&t, r);
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

void
op_ws_request_human(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_session_req *q = req;
	struct st_request_human_rep rep;
	uint8_t cid[16];
	struct store_txn t;
	int result = ST_WS_NO_CONV, changed = 0;

	if (req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (store_ws_conv(&t, q->widget_id, q->token, &result, &rep.conv,
	    cid) == 0) {
		if (result == ST_WS_OK)
			store_handoff_set(&t, cid, &rep.conv,
			    ST_HANDOFF_WAITING, 1, NULL, &changed);
		rep.result = (uint8_t)result;
		rep.changed = (uint8_t)changed;
		reply_enc(r, type, &rep);
		if (result == ST_WS_OK) {
			if (changed)
				event_state(b, r, ST_EV_HANDOFF, &rep.conv,
				    ST_HANDOFF_WAITING, "");
			st_conv_free(&rep.conv);
		}
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
		if (store_handoff_set(&t, cid, &c, ST_HANDOFF_WAITING, 1, NULL,
		    &changed) == 0) {
			rep.v = (uint8_t)changed;
			reply_enc(r, type, &rep);
			if (changed)
				event_state(b, r, ST_EV_HANDOFF, &c,
				    ST_HANDOFF_WAITING, "");
		}
		st_conv_free(&c);
	}
	req_end(&t, r);
}

/* ST_WS_CONV_NEW: the session's next message opens a new conversation. */
void
op_ws_conv_new(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_session_req *q = req;
	struct st_ws_conv_new_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_conv_new(&t, q->widget_id, q->token, &rep) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
}

/* ST_WS_CONV_LIST: the session's conversations, newest first. */
void
op_ws_conv_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_session_req *q = req;
	struct st_ws_conv_list_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_conv_list(&t, q->widget_id, q->token, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* ST_WS_CONV_READ: one of the session's conversations, read-only. */
void
op_ws_conv_read(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_conv_read_req *q = req;
	struct st_ws_conv_read_rep rep;
	struct store_txn t;

	if (q->history_max < 1 || q->history_max > ST_HISTORY_MAX) {
		reply_error(r, PROTO_E_INVALID, "history_max must be 1 to 200");
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_conv_read(&t, q->widget_id, q->token, q->conv_id,
	    q->history_max, DISPATCH_WS_HISTORY_BYTES, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/*
 * ST_PRESENCE_SEEN: a signed-in dashboard of who asks's organisation has
 * its live stream open. Memory only (presence.h): no LMDB, never void.
 */
void
op_presence_seen(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	if (b->who == NULL || b->who->kind != ST_WHO_SESSION ||
	    b->who->org[0] == '\0') {
		reply_error(r, PROTO_E_INVALID,
		    "who asks: not a dashboard session");
		return;
	}
	if (store_presence_seen(b->txn.st, b->who->org) < 0) {
		reply_error(r, PROTO_E_INTERNAL, "out of memory");
		return;
	}
}

/*
 * ST_WIDGET_AVAIL: a widget by its public id (a visitor's request: any
 * organisation's, enabled or not, as the public config's ST_WIDGET_GET)
 * and whether its organisation has a dashboard open.
 */
void
op_widget_avail(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_widget_avail_rep rep;
	struct store_txn t;

	memset(&rep, 0, sizeof(rep));
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_widget_get(&t, who_org(b), q->id, &rep.widget) == 0) {
		st_widget_hide_secret(&rep.widget);
		rep.staffed = (uint8_t)store_presence_staffed(b->txn.st,
		    rep.widget.org);
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/*
 * ST_SETUP_NOTE: a visitor's request refused (or a config fetch seen),
 * counted under its widget's internal id: "" is the HTTP chat API's
 * default widget, an id that names no widget goes to one bucket. In
 * memory, outside the txn: counted in a batch's first run only, as the
 * rate limits are, so a batch run again counts nothing twice.
 */
void
op_setup_note(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_setup_note_req *q = req;
	struct store_txn t;
	uint64_t retry;
	int rc;

	if (q->reason >= ST_SETUP_NREASONS) {
		reply_error(r, PROTO_E_INVALID, "unknown reason");
		return;
	}
	/* A report's client beyond its minute's share is not counted. */
	if (q->rate_key[0] != '\0' && (rc = rate_count(b, r, q->rate_key,
	    60 * 1000, ST_SETUP_REPORTS_PER_MIN, &retry)) != 0) {
		if (rc > 0)
			reply_stands(r);
		return;
	}
	if (b->nested || req_begin(b, &t, r, type) < 0)
		return;
	store_setup_note_widget(&t, q->widget_id, q->reason, q->origin);
	req_end(&t, r);
}

/* ST_SETUP_GET: who asks's organisation's widget's counts (setupcounts.h). */
void
op_setup_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_setup_rep rep;
	struct st_widget w;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_widget_get(&t, who_org(b), q->id, &w) == 0) {
		store_setup_get(t.st, w.id, &rep);
		reply_enc(r, type, &rep);
		st_widget_free(&w);
	}
	req_end(&t, r);
}

void
op_handoff_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_limit_req *q = req;
	struct st_convs rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_handoff_list(&t, q->limit, &rep.convs, &rep.n) == 0) {
		store_convs_view(&t, who_user(b), rep.convs, rep.n, 1);
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- parleyctl */

void
op_stats(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	struct store_txn t;
	struct st_stats s;

	(void)req;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_stats(&t, &s) == 0)
		reply_enc(r, type, &s);
	req_end(&t, r);
}

void
op_purge(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	const struct st_purge_req *q = req;
	struct st_purge_rep rep;
	struct store_txn t;
	int more;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_purge(&t, q->cutoff_ms, q->max, q->dry_run != 0, &rep.n,
	    &more) == 0) {
		rep.more = (uint8_t)more;
		reply_enc(r, type, &rep);
	}
	req_end(&t, r);
}

/* --------------------------------------------------- API keys, the audit */

/* Who asks acts in an organisation: 0, or -1 with r failed. */
static int
req_org(struct dbatch *b, struct dreply *r)
{
	if (b->who == NULL || b->who->org[0] == '\0') {
		reply_error(r, PROTO_E_INVALID, "who asks: no organisation");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------- the inbox (issue 24) */

void
op_conv_read(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_conv_read(&t, who_user(b), q->id);
	req_end(&t, r);
}

/* ST_CANNED_LIST, _PUT and _DELETE, in who asks's organisation. */
void
op_canned(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_canneds l;
	struct st_canned c;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	if (type == PROTO_ST_CANNED_LIST) {
		if (store_canned_list(&t, b->who->org, &l.items, &l.n) == 0) {
			reply_enc(r, type, &l);
			store_canneds_free(l.items, l.n);
		}
	} else if (type == PROTO_ST_CANNED_PUT) {
		if (store_canned_put(&t, b->who->org, req, &c) == 0) {
			reply_enc(r, type, &c);
			st_canned_free(&c);
		}
	} else
		store_canned_delete(&t, b->who->org, q->id);
	req_end(&t, r);
}

/*
 * The knowledge base's searches (kbsource.h): who asks's organisation's,
 * or a chat turn's, of the organisation and sources it names.
 */
void
op_kb_search(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_kb_hits h;
	struct st_kb_space sp;
	struct store_txn t;

	if ((type == PROTO_ST_KB_SEARCH || type == PROTO_ST_AGENT_EMBED) &&
	    req_org(b, r) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (type == PROTO_ST_AGENT_EMBED) {
		if (store_agent_embed(&t, b->who->org,
		    ((const struct st_id_req *)req)->id, &sp) == 0)
			reply_enc(r, type, &sp);
		st_rep_free(type, &sp);
		req_end(&t, r);
		return;
	}
	if ((type == PROTO_ST_KB_SEARCH ? store_kb_search(&t, b->who->org,
	    req, &h) : store_kb_retrieve(&t, req, &h)) == 0)
		reply_enc(r, type, &h);
	st_rep_free(type, &h);	/* what a failed search found too */
	req_end(&t, r);
}

/*
 * A knowledge source's sync (kbpage.h): the fetcher's requests (no who:
 * every organisation's), and the admin API's sync and pages (who asks's).
 */
void
op_kb_sync(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;
	union st_any rep;

	if ((type == PROTO_ST_KB_SYNC || type == PROTO_ST_KB_PAGES ||
	    type == PROTO_ST_KB_FILE_PUT) && req_org(b, r) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	switch (type) {
	case PROTO_ST_KB_DUE:
		store_kb_due(&t, req, &rep.kbj);
		break;
	case PROTO_ST_KB_PAGE_GET:
		store_kb_page_get(&t, req, &rep.kbp);
		break;
	case PROTO_ST_KB_PAGE_PUT:
		store_kb_page_put(&t, req, &rep.kbpp);
		break;
	case PROTO_ST_KB_SYNC_DONE:
		store_kb_sync_done(&t, req, &rep.u8.v);
		break;
	case PROTO_ST_KB_SYNC:
		store_kb_sync(&t, b->who->org, q->id, &rep.kbs);
		break;
	case PROTO_ST_KB_PAGES:
		store_kb_pages(&t, b->who->org, req, &rep.kbpl);
		break;
	case PROTO_ST_KB_FILE_PUT:
		store_kb_file_put(&t, b->who->org, req, &rep.kbfp);
		break;
	case PROTO_ST_KB_FILE_GET:
		store_kb_file_get(&t, req, &rep.kbf);
		break;
	}
	if (t.err == 0)
		reply_enc(r, type, &rep);
	st_rep_free(type, &rep);
	req_end(&t, r);
}

/*
 * Feedback (issue 26, feedbackstore.h): a visitor's thumb or rating (no who
 * asks: the session's token proves it), and the organisation's summary.
 */
void
op_feedback(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_ws_feedback_rep fr;
	struct st_ws_rating_rep rr;
	struct st_fb_summary sum;
	struct store_txn t;

	if (type == PROTO_ST_FEEDBACK_SUMMARY && req_org(b, r) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (type == PROTO_ST_WS_FEEDBACK) {
		if (store_ws_feedback(&t, req, &fr) == 0)
			reply_enc(r, type, &fr);
	} else if (type == PROTO_ST_WS_RATING) {
		if (store_ws_rating(&t, req, &rr) == 0)
			reply_enc(r, type, &rr);
	} else if (store_fb_summary(&t, b->who->org, &sum) == 0)
		reply_enc(r, type, &sum);
	if (type == PROTO_ST_FEEDBACK_SUMMARY)
		store_fb_summary_free(&sum);
	req_end(&t, r);
}

void
op_key_create(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_key_create_req *q = req;
	struct st_apikey k;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	if (store_key_create(&t, b->who->org, q->name, q->role, q->hash,
	    q->hash_len, &k) == 0) {
		reply_enc(r, type, &k);
		st_apikey_free(&k);
	}
	req_end(&t, r);
}

void
op_key_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_apikeys rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (store_key_list(&t, b->who->org, &rep.keys, &rep.n) == 0) {
		reply_enc(r, type, &rep);
		store_keys_free(rep.keys, rep.n);
	}
	req_end(&t, r);
}

void
op_key_delete(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	store_key_delete(&t, b->who->org, q->id);
	req_end(&t, r);
}

void
op_key_auth(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_key_auth_req *q = req;
	struct st_key_auth_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_key_auth_rep(&t, q->hash, q->hash_len, &rep) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
}

void
op_audit_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_page_req *q = req;
	struct st_audit_page rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	if (store_audit_page(&t, b->who->org, q->limit, q->cursor,
	    &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* The entry is req_end's, as for every audited request. */
void
op_audit_note(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_audit_note_req *q = req;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_check(r,
	    st_audit_note_action(q->action) ? NULL :
	    "action: not one a note may record") < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
	req_end(&t, r);
}

/* ------------------------------------------------------------------ people */

/*
 * Every people request (usermsg.h): its store operation in the request's
 * txn, the reply encoded by the table; a user whose sessions ended is
 * told to every worker once committed (dreply's user_gone).
 */
void
op_user(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	char gone[ST_USER_ID_MAX + 1] = "";
	union store_user_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_user_run(&t, b->who, type, req, &rep, gone);
	if (t.err == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
	if (r->err == 0)
		strlcpy(r->user_gone, gone, sizeof(r->user_gone));
}

/*
 * The row of a type the store serves (optab.c), or NULL: for no other
 * type has dispatch an operation.
 */
static const struct optab *
store_op(uint16_t type)
{
	const struct optab *o = optab(type);

	return o != NULL && o->by == OPT_STORE ? o : NULL;
}

int
dispatch_is_write(uint16_t type)
{
	const struct proto_msg *m = proto_msg(type);

	return store_op(type) != NULL && m != NULL && m->write;
}

int
dispatch_begin(struct store *st, struct ratelimit *rl, struct dbatch *b,
    int write)
{
	memset(b, 0, sizeof(*b));
	b->rl = rl;
	b->write = write;
	return store_begin(st, &b->txn, !write) == 0 ? 0 : -1;
}

/*
 * 1 when who asks acts in an organisation that does not exist: a key's
 * x-organization-id, or one deleted under an open session.
 */
static int
who_org_gone(struct dbatch *b)
{
	if (b->who == NULL || b->who->kind == ST_WHO_PUBLIC)
		return 0;
	return store_org_exists(&b->txn, b->who->org) == 0;
}

void
dispatch_run(struct dbatch *b, uint16_t type, const void *payload,
    size_t len, struct dreply *r)
{
	const struct optab *op;
	union st_any req;
	int was_ok = b->txn.err == 0;

	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	b->nreq++;
	/* The batch runs again anyway: the rest wait for that run. */
	if (b->failed_write) {
		reply_error(r, PROTO_E_INTERNAL, "batch to be run again");
		return;
	}
	if ((op = store_op(type)) == NULL)
		reply_error(r, PROTO_E_UNSUPPORTED, "not a storaged request");
	else if (st_req_decode(type, payload, len, &req) < 0)
		malformed(r);
	else {
		struct audit_req aq = { type, b->who, &req, payload, len };

		r->audit = &aq;
		if (who_org_gone(b))
			reply_error(r, PROTO_E_NO_ORG, "no such organisation");
		else
			op->run(b, type, &req, r);
		r->audit = NULL;
		st_req_free(type, &req);
	}
	/* Only a request that wrote and then failed fails a shared txn. */
	if (was_ok && b->txn.err != 0 && b->write && !b->nested)
		b->failed_write = 1;
}


int
dispatch_rerun(struct dbatch *b)
{
	struct store *st = b->txn.st;

	/* A batch of one holds nothing else to keep: it just fails. */
	if (!b->failed_write || b->nreq == 1)
		return 0;
	log_info("batch: a request of %zu failed after it wrote; running "
	    "them again, each in its own transaction", b->nreq);
	store_abort(&b->txn);
	b->failed_write = 0;
	b->nested = 1;
	b->nreq = 0;
	b->replayed = 0;
	store_begin(st, &b->txn, 0);
	return 1;
}

int
dispatch_end(struct dbatch *b)
{
	int rc;

	rc = store_commit(&b->txn);
	free(b->notes);
	b->notes = NULL;
	log_debug("batch: %zu requests, %s%s", b->nreq,
	    b->write ? "write" : "read-only", rc != 0 ? ", failed" : "");
	if (rc != 0 && b->write) {
		log_warnx("batch of %zu requests did not commit", b->nreq);
		return -1;
	}
	return 0;
}

void
dreply_commit_failed(struct dreply *r)
{
	reply_events_free(r);
	if (r->touched && r->err == 0)
		reply_error(r, PROTO_E_INTERNAL, "commit failed");
}

void
dreply_batch_failed(struct dreply *r, const struct dbatch *b)
{
	if (b->txn.err != PROTO_E_UNAVAILABLE) {
		dreply_commit_failed(r);
		return;
	}
	reply_events_free(r);
	if (r->touched && r->err == 0)
		reply_error(r, b->txn.err, b->txn.errmsg);
}

void
dreply_free(struct dreply *r)
{
	reply_events_free(r);
	penc_free(&r->enc);
}

void
dispatch_one(struct store *st, struct ratelimit *rl, uint16_t type,
    const void *payload, size_t len, struct dreply *r)
{
	struct dbatch b;

	dispatch_begin(st, rl, &b, dispatch_is_write(type));
	/* Alone in its batch, it never runs twice (dispatch_rerun). */
	dispatch_run(&b, type, payload, len, r);
	if (dispatch_end(&b) < 0)
		dreply_batch_failed(r, &b);
}
