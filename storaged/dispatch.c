/*
 * Request payload in, reply payload out: each request is decoded by its
 * layout in the message table (proto/stmsgs.h) into its struct, run by
 * the operation its row in optab.c names, and its reply struct encoded
 * by the table too. What is here: the batches and their transactions,
 * the rate counts a batch run again replays, the events a request makes,
 * the frame every operation runs in (ops.h: its txn, its reply, its
 * events, who asks), and the entities' operation (op_entity). The other
 * operations, thin glue between a request and the store files that hold
 * the rules (contactstore.c, wsess.c, userstore.c...), are in the op*.c
 * files, one a subject.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "contactstore.h"
#include "dispatch.h"
#include "hookstore.h"
#include "log.h"
#include "mailbox.h"
#include "msgtab.h"
#include "ops.h"
#include "optab.h"
#include "orgstore.h"
#include "outbox.h"
#include "widgetstore.h"

/* Bytes an event's encoding starts with (reply_event). */
#define EVENT_ENC_HINT	4096

static void reply_events_free(struct dreply *);

void
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

void
reply_enc(struct dreply *r, uint16_t type, const void *rep)
{
	(void)st_rep_encode(&r->enc, type, rep);
}

/* ---------------------------------------------------------------- events */

/*
 * An event's conversation (a shallow copy) as the dashboards show it:
 * its visitor named when name is set (issue 24), a removed member no
 * longer its assignee (store_conv_assignee_view); a failed lookup leaves
 * the made-up name, or the assignee, never fails the request that made
 * the event.
 */
static void
event_conv_view(struct store_txn *batch, struct st_conv *c, int name)
{
	struct store_txn t;

	if ((!name && c->assignee[0] == '\0') ||
	    store_begin_shared(batch, &t) != 0)
		return;
	if (name)
		store_visitor_name(&t, c);
	if (t.err)
		st_visitor_name_gen(c->session, c->visitor_name,
		    sizeof(c->visitor_name));
	else
		store_conv_assignee_view(&t, c);
	if (t.err)
		store_abort(&t);
	else
		store_commit(&t);
}

void
event_init(struct dbatch *b, struct st_event *ev, uint8_t kind,
    const struct st_conv *c)
{
	/* Zeroed around the conversation, which is copied over (3.7 KiB). */
	memset(ev, 0, offsetof(struct st_event, conv));
	memset(&ev->msg, 0, sizeof(*ev) - offsetof(struct st_event, msg));
	ev->at = store_now(b->txn.st);
	ev->kind = kind;
	ev->conv = *c;
	ev->conv.unread = 0;
	memset(&ev->conv.visitor, 0, sizeof(ev->conv.visitor));
	event_conv_view(b->req != NULL ? b->req : &b->txn, &ev->conv,
	    ev->conv.visitor_name[0] == '\0');
}

void
reply_event(struct dreply *r, const struct st_event *ev, int to)
{
	const struct st_event *ring = ev;
	struct st_event full;
	struct devent *d;

	if ((d = reallocarray(r->evs, r->nevs + 1, sizeof(*d))) == NULL) {
		log_warnx("events: out of memory: an event is lost");
		return;
	}
	r->evs = d;
	d = &r->evs[r->nevs++];
	memset(d, 0, sizeof(*d));
	d->kind = ev->kind;
	d->visitor = (to & EV_VISITOR) != 0;
	d->hook_event = to & EV_NO_OUTBOX ? 0 : store_event_hook(ev);
	d->mail_kind = to & EV_NO_OUTBOX ? 0 : store_event_mail(ev);
	strlcpy(d->org, ev->conv.org, sizeof(d->org));
	/* An id's whole buffer, its NUL in it: no count of its characters. */
	memcpy(d->conv, ev->conv.id, sizeof(d->conv));
	strlcpy(d->contact, ev->kind == ST_EV_CONTACT ? ev->contact.id :
	    ev->conv.contact_id, sizeof(d->contact));
	penc_init(&d->enc);
	/* Most carry a conversation: some 2 to 4 KiB (the ring trims it). */
	(void)penc_reserve(&d->enc, EVENT_ENC_HINT);
	/*
	 * An answer's cited passages (up to 32 KiB) are for its copies to
	 * the visitor's other sockets alone: not in the ring's (a copy of
	 * the event without them only when it has some: "" is encoded as
	 * NULL is, the same bytes, with no 3.7 KiB copy).
	 */
	if (ev->msg.cited != NULL && ev->msg.cited[0] != '\0') {
		full = *ev;
		full.msg.cited = NULL;
		ring = &full;
	}
	(void)st_req_encode(&d->enc, PROTO_ST_EV, ring);
	if (d->visitor)
		devent_cut_for_visitors(d, ev);
}

/*
 * Who hears of message m stored in c (reply_event's to). The visitors'
 * sockets show a person's messages and, for the session's other sockets
 * (another tab), the visitor's and the replies; the HTTP API's
 * conversations have no socket.
 */
static int
event_msg_to(const struct st_conv *c, const struct st_msg *m)
{
	int sockets = c->session[0] == WS_SESSION_MARK;

	return strcmp(m->role, "agent") == 0 || (sockets &&
	    (strcmp(m->role, "user") == 0 ||
	    strcmp(m->role, "assistant") == 0)) ? EV_VISITOR : 0;
}

void
event_msg(struct dbatch *b, struct dreply *r, const struct st_conv *c,
    const struct st_msg *m)
{
	struct st_event ev;

	event_init(b, &ev, ST_EV_MESSAGE, c);
	ev.msg = *m;
	reply_event(r, &ev, event_msg_to(c, m));
}

/*
 * A new conversation that is its contact's first: the contact's event
 * (its webhook and mail), which a contact left before any conversation
 * could not have when it was made.
 */
static void
event_contact_first(struct dbatch *b, struct dreply *r,
    const struct st_conv *conv)
{
	struct st_event ev;
	struct st_contact ct;

	if (conv->contact_id[0] == '\0' || store_contact_announce_first(
	    b->req != NULL ? b->req : &b->txn, conv, &ct) != 1)
		return;
	event_init(b, &ev, ST_EV_CONTACT, conv);
	ev.contact = ct;
	reply_event(r, &ev, 0);
	st_contact_free(&ct);
}

/*
 * One event made ready once for the begin's two or three, its kind,
 * time and message changed between them: each took a copy of the
 * conversation (2.4 KiB) of its own, after the one its naming took.
 */
void
event_begin(struct dbatch *b, struct dreply *r, const struct store_chat *c)
{
	struct st_event ev;

	event_init(b, &ev, ST_EV_CONV_CREATED, &c->conv);
	/* Named by event_init when it was not: by its contact now else. */
	if (c->conv.visitor_name[0] != '\0')
		event_conv_view(b->req != NULL ? b->req : &b->txn, &ev.conv,
		    1);
	if (c->created) {
		reply_event(r, &ev, 0);
		event_contact_first(b, r, &ev.conv);
		ev.at = store_now(b->txn.st);
	}
	ev.kind = ST_EV_MESSAGE;
	ev.msg = c->msg;
	reply_event(r, &ev, event_msg_to(&ev.conv, &c->msg));
	/* Resolved or snoozed before: its state event and webhook. */
	if (c->reopened) {
		memset(&ev.msg, 0, sizeof(ev.msg));
		ev.at = store_now(b->txn.st);
		ev.kind = ST_EV_STATE;
		reply_event(r, &ev, 0);
	}
}


/*
 * A conversation a request deleted (store.h's conv_gone): the dashboards'
 * and webhooks'. It tells what the conversation was, never what it held
 * (an erasure's event must not write it again, nor the ring keep it): no
 * message text, rating comment or visitor details, and the made-up name,
 * not its contact's.
 */
static void
event_conv_gone(struct store_txn *t, const struct st_conv *c)
{
	struct st_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = store_now(t->st);
	ev.kind = ST_EV_CONV_DELETED;
	ev.conv = *c;
	ev.conv.last_message = NULL;
	ev.conv.last_visitor = NULL;
	ev.conv.rating_comment = NULL;
	ev.conv.unread = 0;
	memset(&ev.conv.visitor, 0, sizeof(ev.conv.visitor));
	st_visitor_name_gen(c->session, ev.conv.visitor_name,
	    sizeof(ev.conv.visitor_name));
	reply_event(t->conv_gone_arg, &ev, 0);
}

void
event_answering(struct dbatch *b, struct dreply *r, const struct st_conv *c)
{
	struct st_event ev;

	event_init(b, &ev, ST_EV_ANSWERING, c);
	reply_event(r, &ev, EV_NO_OUTBOX |
	    (c->session[0] == WS_SESSION_MARK ? EV_VISITOR : 0));
}

void
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
	reply_event(r, &ev, EV_VISITOR);
}

void
event_handoff(struct dbatch *b, struct dreply *r, const struct st_conv *c,
    int changed, uint8_t state, const char *name)
{
	struct st_event ev;

	event_state(b, r, ST_EV_HANDOFF, c, state, name);
	if ((changed & HANDOFF_REOPENED) == 0)
		return;
	event_init(b, &ev, ST_EV_STATE, c);
	ev.state = c->handoff;
	reply_event(r, &ev, 0);
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

int
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

const char *
who_org(const struct dbatch *b)
{
	if (b->who == NULL || b->who->kind == ST_WHO_PUBLIC)
		return NULL;
	return b->who->org;
}

const char *
who_user(const struct dbatch *b)
{
	return b->who != NULL ? b->who->user : "";
}

int
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

int
req_check(struct dreply *r, const char *bad)
{
	if (bad != NULL) {
		reply_error(r, PROTO_E_INVALID, bad);
		return -1;
	}
	return 0;
}

void
reply_stands(struct dreply *r)
{
	if (r->enc.err)
		reply_error(r, PROTO_E_INTERNAL, "reply does not encode");
}

void
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

/* ------------------------------------------------- the ping, rate limits */

void
op_ping(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	(void)b;
	(void)type;
	(void)req;
	(void)r;
}

/*
 * Whether key is a global budget, all clients' together: the failed
 * logins (a worker's ST_RATE_HIT) and a widget's new sessions (counted
 * here alone). A client's key always begins with its worker's prefix
 * ("ip:", "login:"...), never one of these.
 */
static int
rate_global(const char *key)
{
	return strcmp(key, ST_DASH_FAILED_KEY) == 0 ||
	    strncmp(key, WSESS_NEW_PREFIX, strlen(WSESS_NEW_PREFIX)) == 0;
}

/* n of key counted (n 0: whether one more would be limited, none counted). */
static int
rate_hit(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t n, uint64_t *retry)
{
	int rc;

	if (n == 0)
		return ratelimit_peek(b->rl, key, strlen(key), rate_max, retry);
	if ((rc = (rate_global(key) ? ratelimit_hit_global :
	    ratelimit_hit_n)(b->rl, key, strlen(key), window_ms, rate_max, n,
	    retry)) < 0) {
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

const char *
rate_invalid(const char *key, uint32_t window_ms, uint32_t rate_max)
{
	return rate_max != 0 && (key[0] == '\0' || window_ms == 0) ?
	    "a rate limit needs a key and a window" : NULL;
}

int
rate_count_n(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint32_t n, uint64_t *retry)
{
	int rc;

	*retry = 0;
	if (rate_max == 0)
		return 0;
	if (req_check(r, rate_invalid(key, window_ms, rate_max)) < 0)
		return -1;
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

int
rate_count(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
{
	return rate_count_n(b, r, key, window_ms, rate_max, 1, retry);
}

int
rate_peek(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
{
	return rate_count_n(b, r, key, window_ms, rate_max, 0, retry);
}

void
reply_rate_verdict(struct dbatch *b, struct dreply *r, uint16_t type,
    const char *key, uint32_t window_ms, uint32_t rate_max)
{
	struct st_rate_verdict v = { 0, 0 };
	int limited;

	/* No LMDB: it runs in any batch and is never void (touched 0). */
	if ((limited = rate_count(b, r, key, window_ms, rate_max,
	    &v.retry_ms)) < 0)
		return;
	v.limited = (uint8_t)limited;
	reply_enc(r, type, &v);
	reply_stands(r);
}

void
op_rate_hit(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_rate_hit *h = req;

	reply_rate_verdict(b, r, type, h->key, h->window_ms, h->max);
}

/* ------------------------------ widgets, agents, organisations, webhooks */

/* The session, key or organisation a request of type ended, if any. */
static void
reply_cred_gone(struct dreply *r, uint16_t type, const void *req)
{
	const struct optab *o = optab(type);

	if (r->err == 0 && o->cred_gone != NULL)
		o->cred_gone(req, &r->cred_gone);
}

/* The public widget id stops working once the batch commits. */
static void
reply_gone(struct dreply *r, const char *wid)
{
	if (r->err == 0)
		strlcpy(r->gone, wid, sizeof(r->gone));
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
	reply_cred_gone(r, type, req);
}

/* The common frame of a store call (optab.h's optab_call). */
void
op_call(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	const struct optab *o = optab(type);
	struct store_txn t;
	union st_any rep;

	if ((o->in_org && req_org(b, r) < 0) || req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (o->call(&t, b, req, &rep) == 0 && t.err == 0)
		reply_enc(r, type, &rep);
	/* What a failed call found too (a search's hits, a half-made page). */
	st_rep_free(type, &rep);
	req_end(&t, r);
	reply_cred_gone(r, type, req);
}

/* -------------------------------------------------------------- who asks */

int
req_org(struct dbatch *b, struct dreply *r)
{
	if (b->who == NULL || b->who->org[0] == '\0') {
		reply_error(r, PROTO_E_INVALID, "who asks: no organisation");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- the batch */

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

/*
 * Why the map's room refuses op's write now (store_write_refused), or
 * NULL: its last part is kept for who signs in (STORE_MAP_RESERVE), and
 * its floor for signing in, the rows that say in_reserve and the deletes
 * (STORE_MAP_FLOOR, optab.h), as is a stalled store's.
 */
static const char *
map_refuses(const struct dbatch *b, const struct optab *op)
{
	enum store_writer who = STORE_W_SIGNED;
	const char *why;

	if (op->in_reserve || op->frees)
		who = STORE_W_ROOM;
	else if (b->who == NULL || b->who->kind == ST_WHO_PUBLIC)
		who = STORE_W_NOBODY;
	/* The store first: every request passes here, and it rarely refuses. */
	if ((why = store_write_refused(b->txn.st, who)) == NULL)
		return NULL;
	return dispatch_is_write(op->type) ? why : NULL;
}

void
dispatch_run(struct dbatch *b, uint16_t type, const void *payload,
    size_t len, struct dreply *r)
{
	const struct optab *op;
	union st_any req;
	const char *full;
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
		else if ((full = map_refuses(b, op)) != NULL)
			reply_error(r, PROTO_E_UNAVAILABLE, full);
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
dispatch_one_as(struct store *st, struct ratelimit *rl,
    const struct st_who *who, uint16_t type, const void *payload,
    size_t len, struct dreply *r)
{
	struct dbatch b;

	dispatch_begin(st, rl, &b, dispatch_is_write(type));
	b.who = who;
	/* Alone in its batch, it never runs twice (dispatch_rerun). */
	dispatch_run(&b, type, payload, len, r);
	if (dispatch_end(&b) < 0)
		dreply_batch_failed(r, &b);
}

void
dispatch_one(struct store *st, struct ratelimit *rl, uint16_t type,
    const void *payload, size_t len, struct dreply *r)
{
	dispatch_one_as(st, rl, NULL, type, payload, len, r);
}
