/*
 * A conversation's state (storaged/convstate.c), through the dispatcher
 * as the workers and the notifier ask: a visitor's message arms the
 * assistant's resolution its agent's resolve_after_seconds later, and
 * ST_CONV_RESOLVE_DUE resolves it then (not before), with an event, when
 * its newest reply was stored complete (a failed or interrupted reply, or
 * none, leaves it open); the visitor writing again reopens it; a person asked for keeps the
 * assistant from resolving it; a person resolves, snoozes (a lapsed
 * snooze reads as open) and reopens it with ST_CONV_STATE, audited with
 * an event, refused out of bounds; ST_CONV_QUERY's state filter; a
 * deleted conversation leaves the index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agentmsg.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "test_who.h"

#define DAY_MS	(86400ull * 1000)

static int
setup(void **state)
{
	/* Rate counters: a new HTTP chat session counts against its widget. */
	return fix_setup(state, "/tmp/parley-convstate-XXXXXX", 1);
}

/*
 * A visitor's message in session of widget wid (HTTP chat), then the
 * assistant's reply of status (NULL: none stored, its turn ended as a
 * lost one's is): the conversation as the message left it.
 */
static void
say_answered(struct fix *f, const char *wid, const char *session,
    const char *status, struct st_conv *c)
{
	struct st_chat_begin_req q = { .widget = wid, .session = session,
	    .content = "hello", .rate_key = "ip:192.0.2.1",
	    .window_ms = 60000, .rate_max = 0, .history_max = 30 };
	struct st_begin_rep rep;
	struct penc e;

	assert_int_equal(request_dec(f, PROTO_ST_CHAT_BEGIN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_OK);
	fix_conv_get(f, rep.ok.conv_id, c);
	st_rep_free(PROTO_ST_CHAT_BEGIN, &rep);
	if (status == NULL) {
		fix_turns_end(f);
		return;
	}
	append_payload(&e, c->id, "assistant", strcmp(status, "failed") == 0 ?
	    "model answered HTTP 500" : "Hi!", status, 3, 4);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
	penc_free(&e);
}

/* A visitor's message, answered whole: the conversation. */
static void
say(struct fix *f, const char *wid, const char *session, struct st_conv *c)
{
	say_answered(f, wid, session, "complete", c);
}

/* The notifier's poll: more; the events' conversations' states into st. */
static int
resolve_due(struct fix *f, int st[8], int *nev)
{
	struct st_limit_req q = { 64 };
	struct st_u8_rep more;
	struct st_event ev;
	struct dreply r;
	struct pdec d;
	size_t i;

	assert_int_equal(who_run(f, NULL, PROTO_ST_CONV_RESOLVE_DUE, &q, &more,
	    &r), 0);
	*nev = (int)r.nevs;
	for (i = 0; i < r.nevs && i < 8; i++) {
		pdec_init(&d, r.evs[i].enc.buf, r.evs[i].enc.len);
		assert_int_equal(pdec_event(&d, &ev), 0);
		assert_int_equal(ev.kind, ST_EV_STATE);
		st[i] = ev.conv.conv_state * 10 + ev.conv.resolved_by;
		st_event_free(&ev);
	}
	dreply_free(&r);
	return more.v;
}

/* ST_CONV_STATE: the error code; changed and an event's count when 0. */
static int
set_state(struct fix *f, const char *id, int state, uint64_t until,
    int *changed, int *nev)
{
	struct st_conv_state_req q = { id, (uint8_t)state, until };
	struct st_handoff_set_rep rep;
	struct dreply r;
	int err;

	err = who_run(f, NULL, PROTO_ST_CONV_STATE, &q, &rep, &r);
	if (err == 0) {
		*changed = rep.changed;
		*nev = (int)r.nevs;
		st_conv_free(&rep.conv);
	}
	dreply_free(&r);
	return err;
}

static void
test_assistant_resolves(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_conv c;
	int st[8], n;

	fix_widget_new(f, "Shop", &w);
	say(f, w.id, "s-1", &c);
	assert_int_equal(c.conv_state, ST_STATE_OPEN);
	/* The default agent's window: a day after the message. */
	assert_int_equal(c.resolve_due, T0 + DAY_MS);
	st_conv_free(&c);

	fake_now = T0 + DAY_MS - 1;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);
	fake_now = T0 + DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0], ST_STATE_RESOLVED * 10 + ST_RESOLVED_ASSISTANT);
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);

	/* The visitor comes back: open again, armed again. */
	fake_now += 5000;
	say(f, w.id, "s-1", &c);
	assert_int_equal(c.conv_state, ST_STATE_OPEN);
	assert_int_equal(c.resolved_by, ST_RESOLVED_NONE);
	assert_int_equal(c.resolved_at, 0);
	assert_int_equal(c.resolve_due, fake_now + DAY_MS);
	st_conv_free(&c);
	st_widget_free(&w);
}

/*
 * A visitor who leaves after a failed or interrupted reply, or none, was
 * not helped: the silence is no resolution by the assistant (it counted
 * in assistant_resolution_rate). The conversation stays open, out of the
 * index; the visitor writing again, answered, arms it again.
 */
static void
test_unanswered_not_resolved(void **state)
{
	static const char *const statuses[] = { "failed", "interrupted", NULL };
	static const char *const sessions[] = { "s-f", "s-i", "s-n" };
	struct fix *f = *state;
	char ids[3][ST_ID_HEX + 1];
	struct st_widget w;
	struct st_conv c;
	int st[8], n, i;

	fix_widget_new(f, "Shop", &w);
	for (i = 0; i < 3; i++) {
		say_answered(f, w.id, sessions[i], statuses[i], &c);
		assert_int_equal(c.resolve_due, T0 + DAY_MS);
		strlcpy(ids[i], c.id, sizeof(ids[i]));
		st_conv_free(&c);
	}
	fake_now = T0 + DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);
	for (i = 0; i < 3; i++) {
		fix_conv_get(f, ids[i], &c);
		assert_int_equal(c.conv_state, ST_STATE_OPEN);
		assert_int_equal(c.resolved_by, ST_RESOLVED_NONE);
		assert_int_equal(c.resolve_due, 0);
		st_conv_free(&c);
	}
	assert_int_equal(db_entries(f, "conv_resolve"), 0);

	/* Back, and answered this time: resolved at the new due time. */
	fake_now += 5000;
	say(f, w.id, "s-f", &c);
	assert_int_equal(c.resolve_due, fake_now + DAY_MS);
	st_conv_free(&c);
	fake_now += DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0], ST_STATE_RESOLVED * 10 + ST_RESOLVED_ASSISTANT);
	st_widget_free(&w);
}

static void
test_person_asked_for(void **state)
{
	struct fix *f = *state;
	struct st_handoff_set_req h;
	struct st_widget w;
	struct st_conv c;
	char id[ST_ID_HEX + 1];
	int st[8], n;

	fix_widget_new(f, "Shop", &w);
	say(f, w.id, "s-2", &c);
	strlcpy(id, c.id, sizeof(id));
	st_conv_free(&c);
	h = (struct st_handoff_set_req){ id, ST_HANDOFF_WAITING, "", 1 };
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_SET, &h), 0);
	fake_now = T0 + 2 * DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);
	fix_conv_get(f, id, &c);
	assert_int_equal(c.conv_state, ST_STATE_OPEN);
	assert_int_equal(c.handed_off, 1);
	assert_int_equal(c.resolve_due, 0);
	st_conv_free(&c);
	/* Even when the visitor writes again: a person was asked for. */
	say(f, w.id, "s-2", &c);
	assert_int_equal(c.resolve_due, 0);
	st_conv_free(&c);
	st_widget_free(&w);
}

static void
test_person_sets_state(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_conv c;
	char id[ST_ID_HEX + 1];
	int changed, nev, st[8], n;

	fix_widget_new(f, "Shop", &w);
	say(f, w.id, "s-3", &c);
	strlcpy(id, c.id, sizeof(id));
	st_conv_free(&c);

	/* Out of bounds: refused, nothing changed. */
	assert_int_equal(set_state(f, id, 3, 0, &changed, &nev),
	    PROTO_E_INVALID);
	assert_int_equal(set_state(f, id, ST_STATE_SNOOZED, T0, &changed,
	    &nev), PROTO_E_INVALID);
	assert_int_equal(set_state(f, id, ST_STATE_SNOOZED,
	    T0 + 400 * DAY_MS, &changed, &nev), PROTO_E_INVALID);
	assert_int_equal(set_state(f, id, ST_STATE_RESOLVED, T0 + 5,
	    &changed, &nev), PROTO_E_INVALID);
	assert_int_equal(set_state(f, "0123456789abcdef0123456789abcdef",
	    ST_STATE_RESOLVED, 0, &changed, &nev), PROTO_E_NOT_FOUND);

	/* Resolved by a person: an event; again: unchanged, none. */
	fake_now = T0 + 10;
	assert_int_equal(set_state(f, id, ST_STATE_RESOLVED, 0, &changed,
	    &nev), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(nev, 1);
	assert_int_equal(set_state(f, id, ST_STATE_RESOLVED, 0, &changed,
	    &nev), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(nev, 0);
	fix_conv_get(f, id, &c);
	assert_int_equal(c.conv_state, ST_STATE_RESOLVED);
	assert_int_equal(c.resolved_by, ST_RESOLVED_PERSON);
	assert_int_equal(c.resolved_at, T0 + 10);
	assert_int_equal(c.resolve_due, 0);
	st_conv_free(&c);
	/* The assistant's resolution was off: nothing due a day later. */
	fake_now = T0 + 2 * DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);

	/* Snoozed for an hour: snoozed, then open once it has passed. */
	assert_int_equal(set_state(f, id, ST_STATE_SNOOZED,
	    fake_now + 3600000, &changed, &nev), 0);
	assert_int_equal(changed, 1);
	fix_conv_get(f, id, &c);
	assert_int_equal(c.conv_state, ST_STATE_SNOOZED);
	assert_int_equal(c.snoozed_until, fake_now + 3600000);
	assert_int_equal(c.resolved_by, ST_RESOLVED_NONE);
	st_conv_free(&c);
	fake_now += 3600000;
	fix_conv_get(f, id, &c);
	assert_int_equal(c.conv_state, ST_STATE_OPEN);
	assert_int_equal(c.snoozed_until, 0);
	st_conv_free(&c);
	/* Open as it reads: opening it changes nothing. */
	assert_int_equal(set_state(f, id, ST_STATE_OPEN, 0, &changed, &nev),
	    0);
	assert_int_equal(changed, 0);
	st_widget_free(&w);
}

/* The ids ST_CONV_QUERY's state filter keeps (1 + state), in order. */
static void
query_state(struct fix *f, int state, char *ids, size_t sz)
{
	struct st_conv_page pg;
	uint32_t i;

	ids[0] = '\0';
	assert_int_equal(request_dec(f, PROTO_ST_CONV_QUERY,
	    &(struct st_conv_query_req){ 200, "", "", "", ST_ASSIGNED_ANY,
	    "", 0, (uint8_t)state, ST_ORDER_ACTIVITY }, &pg), 0);
	for (i = 0; i < pg.n; i++) {
		strlcat(ids, pg.convs[i].session, sz);
		strlcat(ids, " ", sz);
	}
	st_rep_free(PROTO_ST_CONV_QUERY, &pg);
}

static void
test_query_and_delete(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_conv a, b;
	char ids[256];
	int changed, nev, st[8], n;

	fix_widget_new(f, "Shop", &w);
	say(f, w.id, "s-a", &a);
	fake_now += 1;
	say(f, w.id, "s-b", &b);
	assert_int_equal(set_state(f, a.id, ST_STATE_RESOLVED, 0, &changed,
	    &nev), 0);
	query_state(f, 1 + ST_STATE_OPEN, ids, sizeof(ids));
	assert_string_equal(ids, "s-b ");
	query_state(f, 1 + ST_STATE_RESOLVED, ids, sizeof(ids));
	assert_string_equal(ids, "s-a ");
	query_state(f, 1 + ST_STATE_SNOOZED, ids, sizeof(ids));
	assert_string_equal(ids, "");
	query_state(f, 0, ids, sizeof(ids));
	assert_string_equal(ids, "s-b s-a ");
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_QUERY,
	    &(struct st_conv_query_req){ 200, "", "", "", ST_ASSIGNED_ANY,
	    "", 0, 4, ST_ORDER_ACTIVITY }), PROTO_E_INVALID);

	/* b deleted: its due key goes with it, nothing is resolved. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ b.id }), 0);
	fake_now += 2 * DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_entries(f, "conv_resolve"), 0);
	st_conv_free(&a);
	st_conv_free(&b);
	st_widget_free(&w);
}

/*
 * r's events (n of them, at most 3) decoded into ev, with whether each
 * reaches the visitor's sockets.
 */
static void
events_of(struct dreply *r, size_t n, struct st_event ev[3], int vis[3])
{
	struct pdec d;
	size_t i;

	assert_int_equal(r->nevs, n);
	for (i = 0; i < n; i++) {
		pdec_init(&d, r->evs[i].enc.buf, r->evs[i].enc.len);
		assert_int_equal(pdec_event(&d, &ev[i]), 0);
		assert_int_equal(pdec_done(&d), 0);
		vis[i] = r->evs[i].visitor;
	}
}

/*
 * A begin's events (dispatch.c's event_begin: one event made ready for
 * them all): a new conversation, then the visitor's message, each of the
 * conversation, its visitor named (made up from the session) and no
 * unread count nor visitor details; only the message has one. Resolved,
 * the message opens it again: the message, then its state. A
 * visitor's socket session with a contact: the contact's name, and the
 * visitor's other sockets hear of the message.
 */
static void
test_begin_events(void **state)
{
	struct fix *f = *state;
	struct st_chat_begin_req q = { .session = "s-ev", .content = "hello",
	    .rate_key = "ip:192.0.2.1", .window_ms = 60000, .rate_max = 0,
	    .history_max = 30 };
	struct st_ws_begin_req wq = { .token_len = ST_TOKEN_HASH_LEN,
	    .content = "again", .rate_key = "", .window_ms = 60000,
	    .history_max = 20, .create = 1 };
	char name[ST_VISITOR_NAME_MAX + 1], cid[ST_ID_HEX + 1];
	struct st_begin_rep rep;
	struct st_event ev[3];
	struct st_widget w;
	struct dreply r;
	struct penc e;
	int vis[3], st[8], n, i;

	fix_widget_new(f, "Shop", &w);
	q.widget = w.id;
	st_visitor_name_gen("s-ev", name, sizeof(name));
	assert_int_equal(who_run(f, NULL, PROTO_ST_CHAT_BEGIN, &q, &rep, &r),
	    0);
	events_of(&r, 2, ev, vis);
	assert_int_equal(ev[0].kind, ST_EV_CONV_CREATED);
	assert_int_equal(ev[1].kind, ST_EV_MESSAGE);
	for (i = 0; i < 2; i++) {
		assert_string_equal(ev[i].conv.id, rep.ok.conv_id);
		assert_string_equal(ev[i].conv.session, "s-ev");
		assert_string_equal(ev[i].conv.visitor_name, name);
		assert_int_equal(ev[i].conv.unread, 0);
		assert_string_equal(ev[i].conv.visitor.user_agent, "");
		assert_int_equal(ev[i].at, T0);
		assert_int_equal(vis[i], 0);
	}
	assert_string_equal(ev[0].msg.role, "");
	assert_null(ev[0].msg.content);
	assert_string_equal(ev[1].msg.role, "user");
	assert_string_equal(ev[1].msg.content, "hello");
	for (i = 0; i < 2; i++)
		st_event_free(&ev[i]);
	/* Answered (a day's silence after that resolves it). */
	append_payload(&e, rep.ok.conv_id, "assistant", "Hi!", "complete", 1,
	    1);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
	penc_free(&e);
	st_rep_free(PROTO_ST_CHAT_BEGIN, &rep);
	dreply_free(&r);

	/* Resolved a day on; the visitor writes again. */
	fake_now = T0 + DAY_MS;
	assert_int_equal(resolve_due(f, st, &n), 0);
	assert_int_equal(n, 1);
	fake_now += 1000;
	q.content = "back";
	assert_int_equal(who_run(f, NULL, PROTO_ST_CHAT_BEGIN, &q, &rep, &r),
	    0);
	events_of(&r, 2, ev, vis);
	assert_int_equal(ev[0].kind, ST_EV_MESSAGE);
	assert_int_equal(ev[1].kind, ST_EV_STATE);
	for (i = 0; i < 2; i++) {
		assert_string_equal(ev[i].conv.id, rep.ok.conv_id);
		assert_string_equal(ev[i].conv.visitor_name, name);
		assert_int_equal(ev[i].conv.conv_state, ST_STATE_OPEN);
		assert_int_equal(ev[i].at, fake_now);
	}
	assert_string_equal(ev[0].msg.content, "back");
	for (i = 0; i < 2; i++)
		st_event_free(&ev[i]);
	st_rep_free(PROTO_ST_CHAT_BEGIN, &rep);
	dreply_free(&r);

	/* Open: the message alone (the turn before it answered). */
	fix_turns_end(f);
	q.content = "more";
	assert_int_equal(who_run(f, NULL, PROTO_ST_CHAT_BEGIN, &q, &rep, &r),
	    0);
	events_of(&r, 1, ev, vis);
	assert_int_equal(ev[0].kind, ST_EV_MESSAGE);
	assert_string_equal(ev[0].msg.content, "more");
	st_event_free(&ev[0]);
	st_rep_free(PROTO_ST_CHAT_BEGIN, &rep);
	dreply_free(&r);

	/* A socket's visitor who left a contact: its name. */
	fix_ws_turn(f, w.widget_id, 7, "hi");
	fix_contact_submit(f, w.widget_id, 7, "Ada Lovelace",
	    "ada@example.com", "", cid);
	wq.widget_id = w.widget_id;
	memset(wq.token, 7, sizeof(wq.token));
	assert_int_equal(who_run(f, NULL, PROTO_ST_WS_BEGIN, &wq, &rep, &r),
	    0);
	assert_int_equal(rep.result, ST_WS_OK);
	events_of(&r, 1, ev, vis);
	assert_int_equal(ev[0].kind, ST_EV_MESSAGE);
	assert_string_equal(ev[0].conv.contact_id, cid);
	assert_string_equal(ev[0].conv.visitor_name, "Ada Lovelace");
	assert_string_equal(ev[0].msg.content, "again");
	assert_int_equal(vis[0], 1);
	st_event_free(&ev[0]);
	st_rep_free(PROTO_ST_WS_BEGIN, &rep);
	dreply_free(&r);
	st_widget_free(&w);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_assistant_resolves),
		T(test_unanswered_not_resolved),
		T(test_person_asked_for),
		T(test_person_sets_state),
		T(test_query_and_delete),
		T(test_begin_events),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
