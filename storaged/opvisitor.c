/*
 * The store operations and calls of the widget's visitors (optab.c's
 * rows; the frame they run in is ops.h's, a call's op_call's): a
 * WebSocket session opened and its turn begun (ST_WS_OPEN,
 * ST_WS_BEGIN), identity, contacts and their erasure, a visitor's
 * conversations, presence and a widget's availability, a person asked
 * for, and attachments. The rules are the store files' (wsess.c,
 * contactstore.c, wsconvstore.c, attstore.c...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "attstore.h"
#include "inbox.h"
#include "ops.h"
#include "optab.h"
#include "presence.h"
#include "widgetstore.h"
#include "wsconvstore.h"

int
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

/*
 * The history an open read (every record, those it passed over too)
 * charged to the hit q names, in KiB beyond the 1 it counted: never
 * limited (the next open is), nothing on a hit whose limit is off. 0, or
 * -1 with r failed.
 */
static int
ws_open_charged(struct dbatch *b, struct dreply *r,
    const struct st_ws_open_req *q, const struct store_ws_open *o)
{
	const struct st_rate_hit *h;
	uint64_t retry;

	if (q->history_hit == 0 || !o->resumed)
		return 0;
	h = &q->hits[q->history_hit - 1];
	if (h->max == 0 || o->read <= 1024)
		return 0;
	return rate_count_n(b, r, h->key, h->window_ms, UINT32_MAX,
	    (uint32_t)((o->read + 1023) / 1024 - 1), &retry) < 0 ? -1 : 0;
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
	if (q->history_hit > q->nhits) {
		reply_error(r, PROTO_E_INVALID, "history_hit names no hit");
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
		if (ws_open_charged(b, r, q, &o) < 0)
			/* Nothing stays of an open not counted whole. */
			store_fail(&t, r->err, r->errmsg);
		else {
			memset(&rep, 0, sizeof(rep));
			rep.result = (uint8_t)o.result;
			if (o.result == ST_WS_OK)
				store_ws_open_shown(b->txn.st, &rep.ok, &o);
			reply_enc(r, type, &rep);
		}
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
	/* A new visitor: its widget's count too (by its internal id). */
	if (wb->creating && (limited = new_session_count(b, r, wb->widget.id,
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
	int counted;

	/*
	 * What cannot run is refused before anything is counted. A message
	 * of files alone may have no words.
	 */
	if (req_check(r, store_chat_invalid("w", "s", begin_content(q->content,
	    q->natts), q->history_max)) < 0 ||
	    req_check(r, rate_invalid(q->rate_key, q->window_ms,
	    q->rate_max)) < 0 ||
	    req_check(r, q->client_id[0] != '\0' &&
	    !st_client_id_valid(q->client_id) ?
	    "cid: must be 1 to 64 letters, digits or -" : NULL) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	t.visitor = store_visitor_told(&q->visitor);
	if (store_ws_begin_check(&t, q->widget_id, q->origin, q->token,
	    q->idle_ms, q->create, &wb) != 0) {
		req_end(&t, r);
		return;
	}
	if (wb.result == ST_WS_OK) {
		if ((counted = ws_begin_counted(b, r, q, &wb)) < 0) {
			store_abort(&t);
			store_ws_begin_free(&wb);
			return;
		}
		if (counted == 0) {
			t.agent = &wb.agent;
			store_ws_begin_run(&t, &wb, q->content, q->client_id,
			    q->atts, q->natts, store_chat_history(&wb.agent,
			    q->history_max), DISPATCH_CHAT_HISTORY_BYTES);
			if (t.err == 0 && wb.result == ST_WS_OK &&
			    wb.chat.human)
				wb.result = ST_WS_HUMAN;
		}
	}
	/* The effective agent only: storaged merged the widget in. */
	if (t.err == 0 && (wb.result == ST_WS_OK || wb.result == ST_WS_HUMAN))
		reply_begin(b, &t, r, type, wb.result, wb.retry_after_ms,
		    &wb.agent, &wb.chat);
	else if (t.err == 0)
		reply_begin_no(r, type, wb.result, wb.retry_after_ms);
	store_ws_begin_free(&wb);
	req_end(&t, r);
}

/*
 * A contact saved: an event when the session has a conversation, for
 * the dashboards alone unless created (its webhook and mail are once a
 * contact: a contact made before any conversation has them with its
 * first, event_begin). A new contact of a session between conversations
 * (after "New conversation", before its first message) has them with
 * the earlier one it was linked to: the next would be its second. A
 * conversation the submission did not link (the contact full: none is
 * linked to it past ST_CONTACT_LINKS_MAX) has none.
 */
static void
event_contact(struct dbatch *b, struct dreply *r, struct store_txn *t,
    const char *wid, const uint8_t *token, const struct st_contact *ct,
    int created)
{
	struct st_event ev;
	struct st_conv c;
	uint8_t cid[16];
	int result = ST_WS_NO_CONV;

	/* Its request checked the origin already. */
	if (store_ws_conv(t, wid, NULL, token, &result, &c, cid) != 0 ||
	    (result != ST_WS_OK && (!created ||
	    store_contact_linked_conv(t, ct->id, &c) != 1)))
		return;
	/* Not linked to it (the contact was full): not its event. */
	if (strcmp(c.contact_id, ct->id) != 0) {
		st_conv_free(&c);
		return;
	}
	event_init(b, &ev, ST_EV_CONTACT, &c);
	ev.contact = *ct;
	reply_event(r, &ev, created ? 0 : EV_NO_OUTBOX);
	if (created)
		(void)store_contact_announced(t, ct->id);
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
	char wid[ST_WIDGET_MAX + 1];
	int result = 0, limited, rc, created = 0;

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
	/*
	 * A new visitor's first submission makes its session: counted, under
	 * the widget's internal id (an unknown widget's is NO_WIDGET below).
	 * Without create none is made (NO_SESSION below), nor counted.
	 */
	rc = q->create ? store_wsess_exists(&t, q->token) : 1;
	if (rc == 0 &&
	    (rc = store_widget_internal_id(&t, q->widget_id, wid)) == 0 &&
	    (rc = new_session_count(b, r, wid, &retry)) != 0) {
		store_abort(&t);
		if (rc > 0)
			reply_enc(r, type, &(struct st_contact_submit_rep){
			    .result = ST_WS_BUSY });
		return;
	}
	memset(&rep, 0, sizeof(rep));
	if (rc >= 0 && store_contact_submit(&t, q->widget_id, q->origin,
	    q->token, q->create, q->name, q->email, q->phone, &result,
	    &rep.contact, &created) == 0) {
		rep.result = (uint8_t)result;
		reply_enc(r, type, &rep);
		if (result == ST_WS_OK) {
			event_contact(b, r, &t, q->widget_id, q->token,
			    &rep.contact, created);
			st_contact_free(&rep.contact);
		}
	}
	req_end(&t, r);
}

/* A new visitor's session an identify would make, counted before. */
struct ident_count {
	struct dbatch *b;
	struct dreply *r;
	int limited;		/* new_session_count's answer */
};

static int
ident_may_create(void *arg, const char *widget)
{
	struct ident_count *ic = arg;
	uint64_t retry;

	return ic->limited = new_session_count(ic->b, ic->r, widget, &retry);
}

/*
 * ST_WS_IDENTIFY: a visitor's identify (issue 26); a new visitor's
 * session made by it counts as ST_CONTACT_SUBMIT's, before it is written
 * (BUSY: nothing kept; counted after, the batch's own txn could not undo
 * the session alone and the visitor got an error instead).
 */
void
op_ws_identify(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_ws_identify_req *q = req;
	struct st_ws_identify_rep rep;
	struct st_contact ct;
	struct store_txn t;
	struct ident_count ic = { b, r, 0 };
	int created;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_ws_identify(&t, q, ident_may_create, &ic, &rep, &ct,
	    &created) == 0 &&
	    ic.limited != 0) {
		/* Nothing written: BUSY, or r failed. */
		store_abort(&t);
		st_contact_free(&ct);
		if (ic.limited > 0)
			reply_enc(r, type, &(struct st_ws_identify_rep){
			    .result = ST_WS_BUSY });
		return;
	}
	if (t.err == 0) {
		reply_enc(r, type, &rep);
		if (rep.verified)
			event_contact(b, r, &t, q->widget_id, q->token, &ct,
			    created);
	}
	st_contact_free(&ct);
	req_end(&t, r);
}

int
call_contact_list(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_page_req *q = req;

	return store_contact_list(t, q->limit, q->cursor, rep);
}

void
op_contact_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_page_req *q = req;
	struct st_contact_get_rep rep;
	struct store_txn t;
	struct store_contact_full f;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_contact_get(&t, q->id, q->limit, q->cursor, &f) == 0) {
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

int
call_contact_erase(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_contact_erase_req *q = req;
	struct st_u8_rep *u = rep;
	int done = 0;

	if (store_contact_erase(t, q->id, q->erase, CONTACT_ERASE_STEP,
	    &done) != 0)
		return t->err;
	u->v = (uint8_t)done;
	return 0;
}

int
call_contact_erasing(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;
	struct st_u8_rep *u = rep;
	int erasing = 0;

	(void)b;
	if (store_contact_erasing(t, q->id, &erasing) != 0)
		return t->err;
	u->v = (uint8_t)erasing;
	return 0;
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

int
call_contact_sessions(struct store_txn *t, struct dbatch *b,
    const void *req, void *rep)
{
	const struct st_contact_cursor_req *q = req;

	return store_contact_sessions(t, q->id, q->cursor, rep);
}

/*
 * One client's share of its organisation's attachment quota a day
 * (ST_ATT_SHARE_WINDOW_MS): a quarter of it, or the largest file when
 * that is more. Uploads count against the quota from their start (kept an
 * hour unnamed, for good once a message names them): over an hour alone,
 * one address filled the visitors' part in four (attstore.c keeps the
 * rest for the staff).
 */
#define ATT_CLIENT_SHARE	4
#define ATT_SHARE_KEY		"att-day:"
#define ATT_PDF_KEY		"att-pdf:"

/*
 * A visitor's new upload counts its KiB against its client's bytes a
 * window first, then against its share of the quota a day, in memory
 * as a message's count is, a piece's worth at least (so tiny uploads
 * cannot heap up records): 0 allowed, 1 limited (rep's retry set), -1
 * with r failed.
 */
static int
att_counted(struct dbatch *b, struct dreply *r, const struct st_att_new_req *q,
    struct st_att_new_rep *rep)
{
	char key[sizeof(ATT_SHARE_KEY) + ST_RATE_KEY_MAX];
	uint32_t kib = (q->size > ST_ATT_PIECE ? q->size : ST_ATT_PIECE) / 1024;
	uint64_t retry = 0, share;
	int limited = 0;

	if (q->rate_kib == 0)
		return 0;
	limited = rate_count_n(b, r, q->rate_key, q->window_ms, q->rate_kib,
	    kib, &retry);
	if (limited == 0 && q->quota != 0) {
		share = q->quota / ATT_CLIENT_SHARE > ST_ATT_MAX ?
		    q->quota / ATT_CLIENT_SHARE : ST_ATT_MAX;
		snprintf(key, sizeof(key), ATT_SHARE_KEY "%s", q->rate_key);
		limited = rate_count_n(b, r, key, ST_ATT_SHARE_WINDOW_MS,
		    (uint32_t)(share / 1024), kib, &retry);
	}
	if (limited == 1) {
		rep->result = ST_ATT_RATE;
		rep->retry_ms = retry;
	}
	return limited;
}

/*
 * A visitor's PDF (its first piece) against its client's PDFs an hour,
 * each a fetcher's read of up to 5 s of CPU: before the piece, whether
 * one more is allowed (0), limited (1, rep says so) or r failed (-1);
 * count set, once the piece is stored, counted (a first piece refused,
 * out of order or of a type the widget does not take, begins no PDF).
 */
static int
pdf_rate(struct dbatch *b, struct dreply *r, const struct st_att_put_req *q,
    struct st_att_put_rep *rep, int count)
{
	char key[sizeof(ATT_PDF_KEY) + ST_RATE_KEY_MAX];
	uint64_t retry = 0;
	int limited;

	if (q->offset != 0 || q->drop || q->type != ATTACH_PDF ||
	    q->rate_key == NULL || q->rate_key[0] == '\0')
		return 0;
	snprintf(key, sizeof(key), ATT_PDF_KEY "%s", q->rate_key);
	if (count)
		return rate_count(b, r, key, ST_ATT_PDF_WINDOW_MS,
		    ST_ATT_PDF_HOUR, &retry) < 0 ? -1 : 0;
	if ((limited = rate_peek(b, r, key, ST_ATT_PDF_WINDOW_MS,
	    ST_ATT_PDF_HOUR, &retry)) == 1) {
		rep->result = ST_ATT_PDFS;
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
	if ((type == PROTO_ST_ATT_NEW &&
	    (limited = att_counted(b, r, req, &rep.n)) < 0) ||
	    (type == PROTO_ST_ATT_PUT &&
	    (limited = pdf_rate(b, r, req, &rep.p, 0)) < 0)) {
		store_abort(&t);
		return;
	}
	if (limited)
		;		/* rep.n says so */
	else if (type == PROTO_ST_ATT_NEW || type == PROTO_ST_ATT_ADMIN_NEW)
		store_att_new(&t, req, admin, who_user(b), &rep.n);
	else if (type == PROTO_ST_ATT_PUT || type == PROTO_ST_ATT_ADMIN_PUT) {
		if (store_att_put(&t, req, admin, &rep.p) == 0 &&
		    rep.p.result == ST_ATT_OK && type == PROTO_ST_ATT_PUT &&
		    pdf_rate(b, r, req, &rep.p, 1) < 0) {
			store_abort(&t);
			return;
		}
	}
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
	if (store_ws_conv(&t, q->widget_id, q->origin, q->token, &result,
	    &rep.conv, cid) == 0) {
		/* Turned off since the socket opened: no person is asked. */
		if (result == ST_WS_OK && !store_widget_hands_off(&t, q->widget_id)) {
			st_conv_free(&rep.conv);
			result = ST_WS_NO_HANDOFF;
		}
		if (result == ST_WS_OK)
			store_handoff_set(&t, cid, &rep.conv,
			    ST_HANDOFF_WAITING, 1, ST_WAITING_VISITOR, NULL,
			    &changed);
		rep.result = (uint8_t)result;
		rep.changed = changed != 0;
		reply_enc(r, type, &rep);
		if (result == ST_WS_OK) {
			if (changed)
				event_handoff(b, r, &rep.conv, changed,
				    ST_HANDOFF_WAITING, "");
			st_conv_free(&rep.conv);
		}
	}
	req_end(&t, r);
}

/* ST_WS_CONV_NEW: the session's next message opens a new conversation. */
int
call_ws_conv_new(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_ws_session_req *q = req;

	return store_ws_conv_new(t, q->widget_id, q->origin, q->token, rep);
}

/* ST_WS_CONV_LIST: the session's conversations, newest first. */
int
call_ws_conv_list(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_ws_session_req *q = req;

	return store_ws_conv_list(t, q->widget_id, q->token, rep);
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
int
call_widget_avail(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;
	struct st_widget_avail_rep *a = rep;

	if (store_widget_get(t, who_org(b), q->id, &a->widget) != 0 ||
	    store_widget_visible(t, &a->widget) != 0)
		return t->err;
	st_widget_hide_secret(&a->widget);
	a->staffed = (uint8_t)store_presence_staffed(b->txn.st,
	    a->widget.org);
	return 0;
}
