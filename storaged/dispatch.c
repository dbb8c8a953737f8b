/* Request payload in, reply payload out; payloads as in storemsg.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "agentstore.h"
#include "dashstore.h"
#include "dispatch.h"
#include "log.h"
#include "msgtab.h"
#include "storemsg.h"
#include "widgetmsg.h"
#include "widgetstore.h"

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

/* ---------------------------------------------------------------- events */

/*
 * A new event of r about conversation c: its body begun (kind, conv);
 * the caller adds what its kind carries. NULL out of memory (logged: the
 * event is lost, the request stands).
 */
static struct devent *
reply_event(struct dbatch *b, struct dreply *r, uint8_t kind,
    const struct st_conv *c, int visitor)
{
	struct devent *ev;

	if ((ev = reallocarray(r->evs, r->nevs + 1, sizeof(*ev))) == NULL) {
		log_warnx("events: out of memory: an event is lost");
		return NULL;
	}
	r->evs = ev;
	ev = &r->evs[r->nevs++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->visitor = visitor;
	ev->at = store_now(b->txn.st);
	penc_init(&ev->body);
	penc_u8(&ev->body, kind);
	penc_conv(&ev->body, c);
	return ev;
}

/* A message stored in c: visitors hear of an agent's only. */
static void
event_msg(struct dbatch *b, struct dreply *r, const struct st_conv *c,
    const struct st_msg *m)
{
	struct devent *ev;

	if ((ev = reply_event(b, r, ST_EV_MESSAGE, c,
	    strcmp(m->role, "agent") == 0)) != NULL)
		penc_msg(&ev->body, m);
}

/* A begin's events: the conversation if it is new, the user message. */
static void
event_begin(struct dbatch *b, struct dreply *r, const struct store_chat *c)
{
	if (c->created)
		reply_event(b, r, ST_EV_CONV_CREATED, &c->conv, 0);
	event_msg(b, r, &c->conv, &c->msg);
}

/* ST_EV_HANDOFF and ST_EV_TYPING: u8 state or on, str name. */
static void
event_state(struct dbatch *b, struct dreply *r, uint8_t kind,
    const struct st_conv *c, uint8_t v, const char *name)
{
	struct devent *ev;

	if ((ev = reply_event(b, r, kind, c, 1)) != NULL) {
		penc_u8(&ev->body, v);
		penc_str(&ev->body, name);
	}
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
	return 0;
}

/* The request decoded to its end: 0, or -1 with r failed (malformed). */
static int
req_whole(struct pdec *d, struct dreply *r)
{
	if (pdec_done(d) < 0) {
		malformed(r);
		return -1;
	}
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

/*
 * The request decoded to its end (else it is malformed) and its txn is
 * open. 0, or -1 with r failed.
 */
static int
req_start(struct dbatch *b, uint16_t type, struct pdec *d,
    struct store_txn *t, struct dreply *r)
{
	if (req_whole(d, r) < 0)
		return -1;
	return req_begin(b, t, r, type);
}

/* A reply with no txn behind it stands if it encodes. */
static void
reply_stands(struct dreply *r)
{
	if (r->enc.err)
		reply_error(r, PROTO_E_INTERNAL, "reply does not encode");
}

/* Ends the request's txn: the reply stands only if its txn folds in. */
static void
req_end(struct store_txn *t, struct dreply *r)
{
	if (t->err == 0 && r->enc.err)
		store_fail(t, PROTO_E_INTERNAL, "reply does not encode");
	if (store_commit(t) != 0)
		reply_error(r, t->err, t->errmsg);
	else
		r->wrote = t->wrote;
}

/* ---------------------------------------------------------------- replies */

static void
enc_convs(struct penc *e, const struct st_conv *c, uint32_t n)
{
	uint32_t i;

	penc_u32(e, n);
	for (i = 0; i < n; i++)
		penc_conv(e, &c[i]);
}

/* A page of conversations (ST_CONV_LIST, ST_CONV_QUERY). */
static void
enc_list(struct penc *e, const struct store_list *l)
{
	penc_u64(e, l->total);
	enc_convs(e, l->convs, l->n);
	penc_str(e, l->next_cursor);
}

static void
enc_msgs(struct penc *e, const struct st_msg *m, uint32_t n)
{
	uint32_t i;

	penc_u32(e, n);
	for (i = 0; i < n; i++)
		penc_msg(e, &m[i]);
}

/* Messages as the model's history: role and content only. */
static void
enc_pairs(struct penc *e, const struct st_msg *m, uint32_t n)
{
	uint32_t i;

	penc_u32(e, n);
	for (i = 0; i < n; i++) {
		penc_str(e, m[i].role);
		penc_str(e, m[i].content);
	}
}

/* A resumed session's history: role, content and name (ST_WS_OPEN). */
static void
enc_triples(struct penc *e, const struct st_msg *m, uint32_t n)
{
	uint32_t i;

	penc_u32(e, n);
	for (i = 0; i < n; i++) {
		penc_str(e, m[i].role);
		penc_str(e, m[i].content);
		penc_str(e, m[i].name);
	}
}

/* A rate count's reply: u8 limited, u64 retry_after_ms. */
static void
enc_rate(struct penc *e, int limited, uint64_t retry)
{
	penc_u8(e, (uint8_t)limited);
	penc_u64(e, retry);
}

/* ------------------------------------------------------------ conversations */

static void
op_ping(struct dbatch *b, uint16_t type, struct pdec *d, struct dreply *r)
{
	(void)b;
	(void)type;
	if (pdec_done(d) < 0)
		malformed(r);
}

static void
op_conv_open(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char widget[ST_WIDGET_MAX + 1], session[ST_SESSION_MAX + 1];
	struct store_txn t;
	struct st_conv c;
	int created;

	pdec_strbuf(d, widget, sizeof(widget));
	pdec_strbuf(d, session, sizeof(session));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_conv_open(&t, widget, session, &c, &created) == 0) {
		penc_u8(&r->enc, (uint8_t)created);
		penc_conv(&r->enc, &c);
		st_conv_free(&c);
	}
	req_end(&t, r);
}

static void
op_msg_append(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_msg m;
	struct st_conv c;

	memset(&m, 0, sizeof(m));
	pdec_strbuf(d, m.conv_id, sizeof(m.conv_id));
	pdec_strbuf(d, m.role, sizeof(m.role));
	m.content = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, m.status, sizeof(m.status));
	m.prompt_tokens = pdec_u32(d);
	m.completion_tokens = pdec_u32(d);
	if (req_start(b, type, d, &t, r) < 0) {
		st_msg_free(&m);
		return;
	}
	if (store_msg_append(&t, &m, &c) == 0) {
		penc_msg(&r->enc, &m);
		penc_conv(&r->enc, &c);
		event_msg(b, r, &c, &m);
		st_conv_free(&c);
	}
	st_msg_free(&m);
	req_end(&t, r);
}

static void
op_conv_list(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char cursor[ST_CURSOR_MAX + 1];
	struct store_txn t;
	struct store_list l;
	uint32_t limit;

	limit = pdec_u32(d);
	pdec_strbuf(d, cursor, sizeof(cursor));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_conv_list(&t, limit, cursor, &l) == 0) {
		enc_list(&r->enc, &l);
		store_list_free(&l);
	}
	req_end(&t, r);
}

static void
op_conv_get(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[ST_ID_HEX + 1];
	struct store_txn t;
	struct store_conv_full f;
	uint32_t max;

	pdec_strbuf(d, id, sizeof(id));
	max = pdec_u32(d);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_conv_get(&t, id, max,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &f) == 0) {
		penc_conv(&r->enc, &f.conv);
		enc_msgs(&r->enc, f.msgs, f.n);
		penc_u8(&r->enc, (uint8_t)f.truncated);
		store_conv_full_free(&f);
	}
	req_end(&t, r);
}

static int
rate_hit(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
{
	int rc;

	if ((rc = ratelimit_hit(b->rl, key, strlen(key), window_ms, rate_max,
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
	size_t cap;

	if (b->nnotes < b->notecap)
		return 0;
	cap = b->notecap ? b->notecap * 2 : 64;
	if ((n = reallocarray(b->notes, cap, sizeof(*n))) == NULL) {
		log_warnx("rate notes: out of memory");
		return -1;
	}
	b->notes = n;
	b->notecap = cap;
	return 0;
}

/*
 * The second run: the request's next count of the first run, in order.
 * A request that counts more often now (the store changed under it)
 * counts the rest for real.
 */
static int
rate_replay(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
{
	const struct rate_note *n;

	while (b->replayed < b->nnotes && b->notes[b->replayed].req < b->nreq)
		b->replayed++;
	if (b->replayed == b->nnotes || b->notes[b->replayed].req != b->nreq)
		return rate_hit(b, r, key, window_ms, rate_max, retry);
	n = &b->notes[b->replayed++];
	*retry = n->retry;
	return n->limited;
}

/*
 * Counts one request against a rate limit: 0 allowed, 1 limited (with
 * *retry set), -1 with r failed. Counts nothing when rate_max is 0.
 */
static int
rate_count(struct dbatch *b, struct dreply *r, const char *key,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry)
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
		return rate_replay(b, r, key, window_ms, rate_max, retry);
	/* Room for the note first: a count made is always noted. */
	if (b->write && rate_note_room(b) < 0) {
		reply_error(r, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	if ((rc = rate_hit(b, r, key, window_ms, rate_max, retry)) >= 0 &&
	    b->write)
		b->notes[b->nnotes++] = (struct rate_note){ b->nreq, rc, *retry };
	return rc;
}

static void
op_rate_hit(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct st_rate_hit h;
	struct st_rate_verdict v;
	int limited;

	(void)type;
	(void)pdec_rate_hit(d, &h);
	if (req_whole(d, r) < 0)
		return;
	/* No LMDB: it runs in any batch and is never void (touched 0). */
	if ((limited = rate_count(b, r, h.key, h.window_ms, h.max,
	    &v.retry_ms)) < 0)
		return;
	v.limited = (uint8_t)limited;
	penc_rate_verdict(&r->enc, &v);
	reply_stands(r);
}

/*
 * A begin reply's part after its front end's head: agent, u8 created,
 * conv, msg, the history (none for a conversation a person answers,
 * which is then answered once committed, never early); and its events.
 */
static void
enc_begin(struct dbatch *b, struct dreply *r, const struct st_agent *a,
    const struct store_chat *c)
{
	penc_agent(&r->enc, a);
	penc_u8(&r->enc, (uint8_t)c->created);
	penc_conv(&r->enc, &c->conv);
	penc_msg(&r->enc, &c->msg);
	enc_pairs(&r->enc, c->history, c->n);
	r->late = c->human;
	event_begin(b, r, c);
}

static void
op_chat_begin(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char widget[ST_WIDGET_MAX + 1], session[ST_SESSION_MAX + 1];
	char key[ST_RATE_KEY_MAX + 1];
	struct store_txn t;
	struct store_chat c;
	struct st_agent a;
	char *content;
	uint32_t window, rmax, hmax;
	uint64_t retry;
	int limited, wres;

	pdec_strbuf(d, widget, sizeof(widget));
	pdec_strbuf(d, session, sizeof(session));
	content = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, key, sizeof(key));
	window = pdec_u32(d);
	rmax = pdec_u32(d);
	hmax = pdec_u32(d);
	if (req_whole(d, r) < 0)
		goto out;
	/* What cannot run is refused before it is counted. */
	if (req_check(r, store_chat_invalid(widget, session, content,
	    hmax)) < 0)
		goto out;
	if (req_runnable(b, r, type) < 0 ||
	    (limited = rate_count(b, r, key, window, rmax, &retry)) < 0)
		goto out;
	if (limited) {
		/* Nothing else happens: no store, so the reply always stands. */
		enc_rate(&r->enc, ST_CHAT_LIMITED, retry);
		reply_stands(r);
		goto out;
	}
	if (req_begin(b, &t, r, type) < 0)
		goto out;
	/*
	 * The widget's switch and daily cap, in the txn that stores the
	 * turn, and the agent that answers it (one load of the widget).
	 */
	if (store_chat_widget_take(&t, widget, &wres, &retry, &a) == 0 &&
	    wres != ST_WS_OK)
		enc_rate(&r->enc, wres == ST_WS_CAPPED ? ST_CHAT_CAPPED :
		    ST_CHAT_DISABLED, retry);
	else if (t.err == 0) {
		if (store_chat_begin(&t, widget, session, content,
		    a.history_messages != 0 ? a.history_messages : hmax,
		    DISPATCH_CHAT_HISTORY_BYTES, &c) == 0) {
			enc_rate(&r->enc, c.human ? ST_CHAT_HUMAN : ST_CHAT_OK,
			    0);
			enc_begin(b, r, &a, &c);
			store_chat_free(&c);
		}
		st_agent_free(&a);
	}
	req_end(&t, r);
out:
	free(content);
}

static void
op_session_history(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char widget[ST_WIDGET_MAX + 1], session[ST_SESSION_MAX + 1];
	struct store_txn t;
	struct store_conv_full f;
	uint32_t max;
	int found, off;

	pdec_strbuf(d, widget, sizeof(widget));
	pdec_strbuf(d, session, sizeof(session));
	max = pdec_u32(d);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_session_history(&t, widget, session, max,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &found, &f) == 0) {
		/* A disabled widget's chat shows nothing, as it answers nothing. */
		if ((off = store_widget_disabled(&t, widget)) == 1)
			penc_u8(&r->enc, ST_HISTORY_DISABLED);
		else if (off == 0) {
			penc_u8(&r->enc,
			    found ? ST_HISTORY_FOUND : ST_HISTORY_NONE);
			if (found) {
				penc_conv(&r->enc, &f.conv);
				enc_msgs(&r->enc, f.msgs, f.n);
			}
		}
		if (found)
			store_conv_full_free(&f);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- widgets */

/* A widget id argument: up to DISPATCH_WID_MAX bytes, any of them. */
static void
dec_wid(struct pdec *d, char buf[DISPATCH_WID_MAX + 1])
{
	pdec_strbuf(d, buf, DISPATCH_WID_MAX + 1);
}

/* A token hash of exactly ST_TOKEN_HASH_LEN bytes (or none, when none_ok). */
static const uint8_t *
dec_hash(struct pdec *d, int none_ok)
{
	const uint8_t *p;
	size_t n;

	if ((p = pdec_bytes(d, &n)) == NULL)
		return NULL;
	if (n == 0 && none_ok)
		return NULL;
	if (n != ST_TOKEN_HASH_LEN)
		d->err = 1;
	return d->err ? NULL : p;
}

/* The public widget id stops working once the batch commits. */
static void
reply_gone(struct dreply *r, const char *wid)
{
	if (r->err == 0)
		strlcpy(r->gone, wid, sizeof(r->gone));
}

static void
op_widget_create(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_widget in, w;

	/* pdec_widget() fails d: req_whole() then says so. */
	pdec_widget(d, &in);
	if (req_whole(d, r) < 0)
		goto out;
	if (req_check(r, st_widget_invalid(&in)) < 0)
		goto out;
	if (req_begin(b, &t, r, type) < 0)
		goto out;
	if (store_widget_create(&t, &in, &w) == 0) {
		penc_widget(&r->enc, &w);
		st_widget_free(&w);
	}
	req_end(&t, r);
out:
	st_widget_free(&in);
}

static void
op_widget_update(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1];
	struct store_txn t;
	struct st_widget in, w;
	uint32_t mask;
	int disabled = 0;

	dec_wid(d, wid);
	mask = pdec_u32(d);
	pdec_widget(d, &in);
	if (req_start(b, type, d, &t, r) < 0) {
		st_widget_free(&in);
		return;
	}
	if (store_widget_update(&t, wid, mask, &in, &w, &disabled) == 0) {
		penc_widget(&r->enc, &w);
		st_widget_free(&w);
	}
	st_widget_free(&in);
	req_end(&t, r);
	if (disabled)
		reply_gone(r, wid);
}

/* ST_WIDGET_GET and ST_WIDGET_RESET_ID: a widget id in, the widget out. */
static void
op_widget_get(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1];
	struct store_txn t;
	struct st_widget w;
	int rc;

	dec_wid(d, wid);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (type == PROTO_ST_WIDGET_RESET_ID)
		rc = store_widget_reset_id(&t, wid, &w);
	else
		rc = store_widget_get(&t, wid, &w);
	if (rc == 0) {
		penc_widget(&r->enc, &w);
		st_widget_free(&w);
	}
	req_end(&t, r);
	if (type == PROTO_ST_WIDGET_RESET_ID)
		reply_gone(r, wid);
}

static void
op_widget_list(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_widget *ws;
	uint32_t n, i;

	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_widget_list(&t, &ws, &n) == 0) {
		penc_u32(&r->enc, n);
		for (i = 0; i < n; i++)
			penc_widget(&r->enc, &ws[i]);
		store_widgets_free(ws, n);
	}
	req_end(&t, r);
}

static void
op_widget_delete(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1];
	struct store_txn t;

	dec_wid(d, wid);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	store_widget_delete(&t, wid);
	req_end(&t, r);
	reply_gone(r, wid);
}

/* ---------------------------------------------------------------- visitors */

#define NEW_SESSIONS_WINDOW_MS	60000
#define NEW_SESSIONS_PREFIX	"newsess:"

/*
 * A new visitor session of the widget (public id) counts against its new
 * sessions per minute (store_wsess_new_max): 1 limited (*retry set), 0
 * not, -1 with r failed.
 */
static int
new_session_count(struct dbatch *b, struct dreply *r, const char *wid,
    uint64_t *retry)
{
	char key[sizeof(NEW_SESSIONS_PREFIX) + DISPATCH_WID_MAX];

	snprintf(key, sizeof(key), "%s%s", NEW_SESSIONS_PREFIX, wid);
	return rate_count(b, r, key, NEW_SESSIONS_WINDOW_MS,
	    store_wsess_new_max(b->txn.st), retry);
}

/*
 * ST_WS_OPEN's rate hits, each counted in turn until one is limited: 0
 * when none is; 1 when answered (ST_WS_LIMITED, which, retry) or failed.
 */
static int
ws_open_counted(struct dbatch *b, struct dreply *r,
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
			penc_u8(&r->enc, ST_WS_LIMITED);
			penc_u8(&r->enc, (uint8_t)i);
			penc_u64(&r->enc, retry);
			reply_stands(r);
			return 1;
		}
	}
	return 0;
}

static void
op_ws_open(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1], origin[ST_ORIGIN_MAX + 1];
	const uint8_t *token, *fresh;
	struct st_rate_hit hits[ST_WS_OPEN_HITS_MAX];
	struct store_txn t;
	struct store_ws_open o;
	uint64_t idle;
	uint32_t hmax, n, i;

	dec_wid(d, wid);
	pdec_strbuf(d, origin, sizeof(origin));
	token = dec_hash(d, 1);
	fresh = dec_hash(d, 0);
	idle = pdec_u64(d);
	hmax = pdec_u32(d);
	if ((n = pdec_u32(d)) > ST_WS_OPEN_HITS_MAX)
		d->err = 1;
	for (i = 0; i < n && !d->err; i++)
		(void)pdec_rate_hit(d, &hits[i]);
	if (req_whole(d, r) < 0)
		return;
	/* As ST_CHAT_BEGIN: 0 ("all that fit") could pass ST_HISTORY_MAX. */
	if (hmax < 1 || hmax > ST_HISTORY_MAX) {
		reply_error(r, PROTO_E_INVALID, "history_max must be 1 to 200");
		return;
	}
	/* The counts first, as separate requests were: nothing else then. */
	if (ws_open_counted(b, r, hits, n) != 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_open(&t, wid, origin, token, fresh, idle, hmax,
	    DISPATCH_WS_HISTORY_BYTES, &o) == 0) {
		penc_u8(&r->enc, (uint8_t)o.result);
		if (o.result == ST_WS_OK) {
			penc_widget(&r->enc, &o.widget);
			penc_u8(&r->enc, (uint8_t)o.resumed);
			penc_u8(&r->enc, (uint8_t)o.contact_submitted);
			penc_str(&r->enc, o.conv_id);
			enc_triples(&r->enc, o.history, o.n);
			penc_u8(&r->enc, (uint8_t)o.more);
			penc_u8(&r->enc, o.handoff);
		}
		store_ws_open_free(&o);
	}
	req_end(&t, r);
}

static void
op_ws_begin(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1], key[ST_RATE_KEY_MAX + 1];
	const uint8_t *token;
	struct store_txn t;
	struct store_ws_begin wb;
	struct st_agent a;
	const char *bad;
	char *content;
	uint32_t window, rmax, hmax;
	uint64_t idle, retry = 0;
	int limited, create, agent = 0;

	dec_wid(d, wid);
	token = dec_hash(d, 0);
	content = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, key, sizeof(key));
	window = pdec_u32(d);
	rmax = pdec_u32(d);
	hmax = pdec_u32(d);
	idle = pdec_u64(d);
	create = pdec_u8(d) != 0;
	if (pdec_done(d) < 0) {
		free(content);
		malformed(r);
		return;
	}
	/* What cannot run is refused before anything is counted. */
	if ((bad = store_chat_invalid("w", "s", content, hmax)) != NULL ||
	    (rmax != 0 && (key[0] == '\0' || window == 0))) {
		free(content);
		reply_error(r, PROTO_E_INVALID, bad != NULL ? bad :
		    "a rate limit needs a key and a window");
		return;
	}
	if (req_begin(b, &t, r, type) < 0) {
		free(content);
		return;
	}
	if (store_ws_begin_check(&t, wid, token, idle, create, &wb) != 0) {
		free(content);
		req_end(&t, r);
		return;
	}
	if (wb.result == ST_WS_OK) {
		/* Counted in memory, as ST_CHAT_BEGIN is: it stands whatever follows. */
		if ((limited = rate_count(b, r, key, window, rmax,
		    &retry)) < 0) {
			store_abort(&t);
			store_ws_begin_free(&wb);
			free(content);
			return;
		}
		if (limited) {
			wb.result = ST_WS_LIMITED;
			wb.retry_after_ms = retry;
		} else if (wb.creating && (limited = new_session_count(b, r,
		    wid, &retry)) != 0) {
			/* A new visitor: its widget's count too. */
			if (limited < 0) {
				store_abort(&t);
				store_ws_begin_free(&wb);
				free(content);
				return;
			}
			wb.result = ST_WS_BUSY;
			wb.retry_after_ms = retry;
		} else if (store_begin_agent(&t, &wb.widget, &a) == 0) {
			agent = 1;
			store_ws_begin_run(&t, &wb, content,
			    a.history_messages != 0 ? a.history_messages :
			    hmax, DISPATCH_CHAT_HISTORY_BYTES);
			if (t.err == 0 && wb.result == ST_WS_OK &&
			    wb.chat.human)
				wb.result = ST_WS_HUMAN;
		}
	}
	free(content);
	if (t.err == 0) {
		penc_u8(&r->enc, (uint8_t)wb.result);
		penc_u64(&r->enc, wb.retry_after_ms);
		/* The effective agent only: storaged merged the widget in. */
		if (wb.result == ST_WS_OK || wb.result == ST_WS_HUMAN)
			enc_begin(b, r, &a, &wb.chat);
	}
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
	struct devent *ev;
	struct st_conv c;
	uint8_t cid[16];
	int result = ST_WS_NO_CONV;

	if (store_ws_conv(t, wid, token, &result, &c, cid) != 0 ||
	    result != ST_WS_OK)
		return;
	if ((ev = reply_event(b, r, ST_EV_CONTACT, &c, 0)) != NULL)
		penc_contact(&ev->body, ct);
	st_conv_free(&c);
}

static void
op_contact_submit(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1], key[ST_RATE_KEY_MAX + 1];
	const uint8_t *token;
	struct store_txn t;
	struct st_contact c;
	char *name, *email, *phone;
	uint32_t window, rmax;
	uint64_t retry;
	int result, limited, rc;

	dec_wid(d, wid);
	token = dec_hash(d, 0);
	name = pdec_strdup(d, 4 * ST_CONTACT_NAME_MAX);
	email = pdec_strdup(d, ST_EMAIL_MAX);
	phone = pdec_strdup(d, ST_PHONE_MAX);
	/* The rate fields may be left out (older clients): not counted. */
	key[0] = '\0';
	window = rmax = 0;
	if (!d->err && d->off < d->len) {
		pdec_strbuf(d, key, sizeof(key));
		window = pdec_u32(d);
		rmax = pdec_u32(d);
	}
	if (req_whole(d, r) < 0)
		goto out;
	if (req_check(r, store_contact_invalid(name, email, phone)) < 0)
		goto out;
	/* Counted in memory, as ST_WS_BEGIN: it stands whatever follows. */
	if ((limited = rate_count(b, r, key, window, rmax, &retry)) < 0)
		goto out;
	if (limited) {
		penc_u8(&r->enc, ST_WS_LIMITED);
		penc_u64(&r->enc, retry);
		goto out;
	}
	if (req_begin(b, &t, r, type) < 0)
		goto out;
	/* A new visitor's first submission makes its session: counted. */
	if ((rc = store_wsess_exists(&t, token)) == 0 &&
	    (rc = new_session_count(b, r, wid, &retry)) != 0) {
		store_abort(&t);
		if (rc > 0)
			penc_u8(&r->enc, ST_WS_BUSY);
		goto out;
	}
	if (rc >= 0 && store_contact_submit(&t, wid, token, name, email,
	    phone, &result, &c) == 0) {
		penc_u8(&r->enc, (uint8_t)result);
		if (result == ST_WS_OK) {
			penc_contact(&r->enc, &c);
			event_contact(b, r, &t, wid, token, &c);
			st_contact_free(&c);
		}
	}
	req_end(&t, r);
out:
	free(name);
	free(email);
	free(phone);
}

static void
op_contact_list(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char cursor[ST_CURSOR_MAX + 1];
	struct store_txn t;
	struct store_contacts l;
	uint32_t limit, i;

	limit = pdec_u32(d);
	pdec_strbuf(d, cursor, sizeof(cursor));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_contact_list(&t, limit, cursor, &l) == 0) {
		penc_u64(&r->enc, l.total);
		penc_u32(&r->enc, l.n);
		for (i = 0; i < l.n; i++)
			penc_contact(&r->enc, &l.contacts[i]);
		penc_str(&r->enc, l.next_cursor);
		store_contacts_free(&l);
	}
	req_end(&t, r);
}

/* n x (u8 unverified, str name, str email, str phone) */
static void
enc_links(struct penc *e, const struct store_clink *l, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		penc_u8(e, (uint8_t)l[i].unverified);
		penc_str(e, l[i].name != NULL ? l[i].name : "");
		penc_str(e, l[i].email != NULL ? l[i].email : "");
		penc_str(e, l[i].phone != NULL ? l[i].phone : "");
	}
}

static void
op_contact_get(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[ST_ID_HEX + 1];
	struct store_txn t;
	struct store_contact_full f;

	pdec_strbuf(d, id, sizeof(id));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_contact_get(&t, id, &f) == 0) {
		penc_contact(&r->enc, &f.contact);
		enc_convs(&r->enc, f.convs, f.n);
		enc_links(&r->enc, f.links, f.n);
		store_contact_full_free(&f);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- dashboard */

/*
 * A str field into buf, cut to bufsz - 1 bytes: with buf one longer than
 * the field may be, the store sees one too long and says which field.
 */
static void
dec_clip(struct pdec *d, char *buf, size_t bufsz)
{
	const uint8_t *p;
	size_t n;

	buf[0] = '\0';
	if ((p = pdec_bytes(d, &n)) == NULL)
		return;
	if (memchr(p, '\0', n) != NULL) {
		d->err = 1;
		return;
	}
	if (n > bufsz - 1)
		n = bufsz - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static void
op_dash_login(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char csrf[ST_DASH_CSRF_LEN + 2];
	const uint8_t *hash, *fp;
	struct store_txn t;
	size_t hlen, fplen;
	uint64_t expires;

	hash = pdec_bytes(d, &hlen);
	dec_clip(d, csrf, sizeof(csrf));
	fp = pdec_bytes(d, &fplen);
	expires = pdec_u64(d);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	store_dash_login(&t, hash, hlen, csrf, fp, fplen, expires);
	req_end(&t, r);
}

static void
op_dash_check(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	const uint8_t *hash, *fp;
	struct store_txn t;
	struct store_dash_check c;
	size_t hlen, fplen;

	hash = pdec_bytes(d, &hlen);
	fp = pdec_bytes(d, &fplen);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_dash_check(&t, hash, hlen, fp, fplen, &c) == 0) {
		penc_u8(&r->enc, (uint8_t)c.valid);
		if (c.valid) {
			penc_str(&r->enc, c.csrf);
			penc_u64(&r->enc, c.expires_at);
		}
	}
	req_end(&t, r);
}

static void
op_dash_logout(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	const uint8_t *hash;
	struct store_txn t;
	size_t hlen;

	hash = pdec_bytes(d, &hlen);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	store_dash_logout(&t, hash, hlen);
	req_end(&t, r);
}

static void
op_dash_salt(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	uint8_t salt[ST_DASH_SALT_LEN];
	struct store_txn t;

	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_dash_salt(&t, salt) == 0)
		penc_bytes(&r->enc, salt, sizeof(salt));
	req_end(&t, r);
}

/* The failed-login budget, then the client's count (dashmsg.h). */
static void
op_dash_attempt(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char key[ST_RATE_KEY_MAX + 1];
	uint32_t window, max, failures;
	uint64_t retry = 0;
	int limited;

	(void)type;
	pdec_strbuf(d, key, sizeof(key));
	window = pdec_u32(d);
	max = pdec_u32(d);
	failures = pdec_u32(d);
	if (req_whole(d, r) < 0)
		return;
	if (failures != 0 && b->rl != NULL &&
	    ratelimit_peek(b->rl, ST_DASH_FAILED_KEY,
	    strlen(ST_DASH_FAILED_KEY), failures, &retry)) {
		enc_rate(&r->enc, 2, retry);
		reply_stands(r);
		return;
	}
	if ((limited = rate_count(b, r, key, window, max, &retry)) < 0)
		return;
	enc_rate(&r->enc, limited, retry);
	reply_stands(r);
}

static void
op_conv_query(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char cursor[ST_CURSOR_MAX + 1], widget[ST_WIDGET_MAX + 2];
	char q[ST_SEARCH_MAX + 2];
	struct store_txn t;
	struct store_list l;
	uint32_t limit;

	limit = pdec_u32(d);
	pdec_strbuf(d, cursor, sizeof(cursor));
	dec_clip(d, widget, sizeof(widget));
	dec_clip(d, q, sizeof(q));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_conv_query(&t, limit, cursor, widget, q, &l) == 0) {
		enc_list(&r->enc, &l);
		store_list_free(&l);
	}
	req_end(&t, r);
}

static void
op_conv_delete(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[ST_ID_HEX + 1];
	struct store_txn t;

	pdec_strbuf(d, id, sizeof(id));
	if (req_start(b, type, d, &t, r) < 0)
		return;
	store_conv_delete(&t, id);
	req_end(&t, r);
}

static void
op_msg_page(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[ST_ID_HEX + 1];
	struct store_txn t;
	struct store_msg_page pg;
	uint32_t from, limit;

	pdec_strbuf(d, id, sizeof(id));
	from = pdec_u32(d);
	limit = pdec_u32(d);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_msg_page(&t, id, from, limit,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &pg) == 0) {
		enc_msgs(&r->enc, pg.msgs, pg.n);
		penc_u32(&r->enc, pg.next);
		store_msg_page_free(&pg);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- agents */

/* An agent reply: the agent without its key. */
static void
enc_agent(struct penc *e, struct st_agent *a)
{
	store_agent_scrub(a);
	penc_agent(e, a);
}

static void
op_agent_create(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_agent in, a;

	/* pdec_agent() fails d: req_whole() then says so. */
	pdec_agent(d, &in);
	if (req_whole(d, r) < 0)
		goto out;
	if (req_check(r, st_agent_invalid(&in)) < 0)
		goto out;
	if (req_begin(b, &t, r, type) < 0)
		goto out;
	if (store_agent_create(&t, &in, &a) == 0) {
		enc_agent(&r->enc, &a);
		st_agent_free(&a);
	}
	req_end(&t, r);
out:
	st_agent_free(&in);
}

static void
op_agent_update(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[DISPATCH_WID_MAX + 1];
	struct store_txn t;
	struct st_agent in, a;
	uint32_t mask;

	dec_wid(d, id);
	mask = pdec_u32(d);
	pdec_agent(d, &in);
	if (req_start(b, type, d, &t, r) < 0) {
		st_agent_free(&in);
		return;
	}
	if (store_agent_update(&t, id, mask, &in, &a) == 0) {
		enc_agent(&r->enc, &a);
		st_agent_free(&a);
	}
	st_agent_free(&in);
	req_end(&t, r);
}

static void
op_agent_get(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[DISPATCH_WID_MAX + 1];
	struct store_txn t;
	struct st_agent a;

	dec_wid(d, id);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_agent_get(&t, id, &a) == 0) {
		enc_agent(&r->enc, &a);
		st_agent_free(&a);
	}
	req_end(&t, r);
}

static void
op_agent_list(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_agent *as;
	uint32_t n, i;

	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_agent_list(&t, &as, &n) == 0) {
		penc_u32(&r->enc, n);
		for (i = 0; i < n; i++)
			enc_agent(&r->enc, &as[i]);
		store_agents_free(as, n);
	}
	req_end(&t, r);
}

static void
op_agent_delete(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[DISPATCH_WID_MAX + 1];
	struct store_txn t;
	char **wids;
	uint32_t n, i;

	dec_wid(d, id);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_agent_delete(&t, id, &wids, &n) == 0) {
		penc_u8(&r->enc, n > 0);
		penc_u32(&r->enc, n);
		for (i = 0; i < n; i++)
			penc_str(&r->enc, wids[i]);
		store_agent_users_free(wids, n);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- handoff */

/* A display name: UTF-8 of min to ST_AGENT_NAME_MAX characters. */
static int
name_ok(const char *s, size_t min)
{
	ssize_t n = proto_utf8_chars(s, strlen(s));

	return n >= 0 && (size_t)n >= min && n <= ST_AGENT_NAME_MAX;
}

static void
op_handoff_set(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char id[ST_ID_HEX + 1], name[4 * ST_AGENT_NAME_MAX + 1];
	uint8_t cid[16];
	struct store_txn t;
	struct st_conv c;
	int state, ai_only, changed;

	pdec_strbuf(d, id, sizeof(id));
	state = pdec_u8(d);
	pdec_strbuf(d, name, sizeof(name));
	ai_only = pdec_u8(d) != 0;
	if (req_whole(d, r) < 0)
		return;
	if (!name_ok(name, 0)) {
		reply_error(r, PROTO_E_INVALID,
		    "name: must be at most 100 characters of UTF-8");
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_conv_find(&t, id, cid, &c) == 0) {
		if (store_handoff_set(&t, cid, &c, state, ai_only,
		    &changed) == 0) {
			penc_u8(&r->enc, (uint8_t)changed);
			penc_conv(&r->enc, &c);
			if (changed)
				event_state(b, r, ST_EV_HANDOFF, &c,
				    (uint8_t)state, name);
		}
		st_conv_free(&c);
	}
	req_end(&t, r);
}

static void
op_agent_msg(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_msg m;
	struct st_conv c;

	memset(&m, 0, sizeof(m));
	pdec_strbuf(d, m.conv_id, sizeof(m.conv_id));
	m.content = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, m.name, sizeof(m.name));
	if (req_whole(d, r) < 0)
		goto out;
	if (m.content[0] == '\0') {
		reply_error(r, PROTO_E_INVALID, "content: must not be empty");
		goto out;
	}
	if (!name_ok(m.name, 1)) {
		reply_error(r, PROTO_E_INVALID,
		    "name: must be 1 to 100 characters of UTF-8");
		goto out;
	}
	strlcpy(m.role, "agent", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	if (req_begin(b, &t, r, type) < 0)
		goto out;
	if (store_msg_append(&t, &m, &c) == 0) {
		penc_msg(&r->enc, &m);
		penc_conv(&r->enc, &c);
		event_msg(b, r, &c, &m);
		st_conv_free(&c);
	}
	req_end(&t, r);
out:
	st_msg_free(&m);
}

static void
op_typing(struct dbatch *b, uint16_t type, struct pdec *d, struct dreply *r)
{
	char id[ST_ID_HEX + 1], name[4 * ST_AGENT_NAME_MAX + 1];
	uint8_t cid[16];
	struct store_txn t;
	struct st_conv c;
	uint8_t on;

	pdec_strbuf(d, id, sizeof(id));
	on = pdec_u8(d) != 0;
	pdec_strbuf(d, name, sizeof(name));
	if (req_whole(d, r) < 0)
		return;
	if (!name_ok(name, 0)) {
		reply_error(r, PROTO_E_INVALID,
		    "name: must be at most 100 characters of UTF-8");
		return;
	}
	if (req_begin(b, &t, r, type) < 0)
		return;
	/* Nothing stored: the conversation must exist, the rest is an event. */
	if (store_conv_find(&t, id, cid, &c) == 0) {
		event_state(b, r, ST_EV_TYPING, &c, on, name);
		st_conv_free(&c);
	}
	req_end(&t, r);
}

static void
op_ws_request_human(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	char wid[DISPATCH_WID_MAX + 1];
	const uint8_t *token;
	uint8_t cid[16];
	struct store_txn t;
	struct st_conv c;
	int result = ST_WS_NO_CONV, changed = 0;

	dec_wid(d, wid);
	token = dec_hash(d, 0);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_ws_conv(&t, wid, token, &result, &c, cid) == 0) {
		if (result == ST_WS_OK)
			store_handoff_set(&t, cid, &c, ST_HANDOFF_WAITING, 1,
			    &changed);
		penc_u8(&r->enc, (uint8_t)result);
		penc_u8(&r->enc, (uint8_t)changed);
		if (result == ST_WS_OK) {
			penc_conv(&r->enc, &c);
			if (changed)
				event_state(b, r, ST_EV_HANDOFF, &c,
				    ST_HANDOFF_WAITING, "");
			st_conv_free(&c);
		}
	}
	req_end(&t, r);
}

static void
op_handoff_list(struct dbatch *b, uint16_t type, struct pdec *d,
    struct dreply *r)
{
	struct store_txn t;
	struct st_conv *cs;
	uint32_t limit, n, i;

	limit = pdec_u32(d);
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_handoff_list(&t, limit, &cs, &n) == 0) {
		enc_convs(&r->enc, cs, n);
		for (i = 0; i < n; i++)
			st_conv_free(&cs[i]);
		free(cs);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- parleyctl */

static void
op_stats(struct dbatch *b, uint16_t type, struct pdec *d, struct dreply *r)
{
	struct store_txn t;
	struct st_stats s;

	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_stats(&t, &s) == 0)
		penc_stats(&r->enc, &s);
	req_end(&t, r);
}

static void
op_purge(struct dbatch *b, uint16_t type, struct pdec *d, struct dreply *r)
{
	struct store_txn t;
	uint64_t cutoff;
	uint32_t max, n;
	int dry, more;

	cutoff = pdec_u64(d);
	max = pdec_u32(d);
	dry = pdec_u8(d) != 0;
	if (req_start(b, type, d, &t, r) < 0)
		return;
	if (store_purge(&t, cutoff, max, dry, &n, &more) == 0) {
		penc_u32(&r->enc, n);
		penc_u8(&r->enc, (uint8_t)more);
	}
	req_end(&t, r);
}

/* ---------------------------------------------------------------- table */

static const struct op {
	uint16_t type;
	void (*run)(struct dbatch *, uint16_t, struct pdec *,
	    struct dreply *);
} ops[] = {
	{ PROTO_ST_PING, op_ping },
	{ PROTO_ST_CONV_OPEN, op_conv_open },
	{ PROTO_ST_MSG_APPEND, op_msg_append },
	{ PROTO_ST_CONV_LIST, op_conv_list },
	{ PROTO_ST_CONV_GET, op_conv_get },
	{ PROTO_ST_CHAT_BEGIN, op_chat_begin },
	{ PROTO_ST_RATE_HIT, op_rate_hit },
	{ PROTO_ST_SESSION_HISTORY, op_session_history },
	{ PROTO_ST_WIDGET_CREATE, op_widget_create },
	{ PROTO_ST_WIDGET_UPDATE, op_widget_update },
	{ PROTO_ST_WIDGET_GET, op_widget_get },
	{ PROTO_ST_WIDGET_LIST, op_widget_list },
	{ PROTO_ST_WIDGET_DELETE, op_widget_delete },
	{ PROTO_ST_WIDGET_RESET_ID, op_widget_get },
	{ PROTO_ST_WS_OPEN, op_ws_open },
	{ PROTO_ST_WS_BEGIN, op_ws_begin },
	{ PROTO_ST_CONTACT_SUBMIT, op_contact_submit },
	{ PROTO_ST_CONTACT_LIST, op_contact_list },
	{ PROTO_ST_CONTACT_GET, op_contact_get },
	{ PROTO_ST_DASH_LOGIN, op_dash_login },
	{ PROTO_ST_DASH_CHECK, op_dash_check },
	{ PROTO_ST_DASH_LOGOUT, op_dash_logout },
	{ PROTO_ST_DASH_SALT, op_dash_salt },
	{ PROTO_ST_DASH_ATTEMPT, op_dash_attempt },
	{ PROTO_ST_CONV_DELETE, op_conv_delete },
	{ PROTO_ST_CONV_QUERY, op_conv_query },
	{ PROTO_ST_MSG_PAGE, op_msg_page },
	{ PROTO_ST_STATS, op_stats },
	{ PROTO_ST_PURGE, op_purge },
	{ PROTO_ST_AGENT_CREATE, op_agent_create },
	{ PROTO_ST_AGENT_UPDATE, op_agent_update },
	{ PROTO_ST_AGENT_GET, op_agent_get },
	{ PROTO_ST_AGENT_LIST, op_agent_list },
	{ PROTO_ST_AGENT_DELETE, op_agent_delete },
	{ PROTO_ST_HANDOFF_SET, op_handoff_set },
	{ PROTO_ST_AGENT_MSG, op_agent_msg },
	{ PROTO_ST_TYPING, op_typing },
	{ PROTO_ST_WS_REQUEST_HUMAN, op_ws_request_human },
	{ PROTO_ST_HANDOFF_LIST, op_handoff_list },
};

static const struct op *
op_find(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].type == type)
			return &ops[i];
	return NULL;
}

int
dispatch_is_write(uint16_t type)
{
	const struct proto_msg *m = proto_msg(type);

	return op_find(type) != NULL && m != NULL && m->write;
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

void
dispatch_run(struct dbatch *b, uint16_t type, const void *payload,
    size_t len, struct dreply *r)
{
	const struct op *op;
	struct pdec d;

	int was_ok = b->txn.err == 0;

	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	b->nreq++;
	/* The batch runs again anyway: the rest wait for that run. */
	if (b->failed_write) {
		reply_error(r, PROTO_E_INTERNAL, "batch to be run again");
		return;
	}
	pdec_init(&d, payload, len);
	if ((op = op_find(type)) != NULL)
		op->run(b, type, &d, r);
	else
		reply_error(r, PROTO_E_UNSUPPORTED, "not a storaged request");
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
		dreply_commit_failed(r);
}
