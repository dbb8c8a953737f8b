/*
 * A conversation's state (storaged/convstate.c), through the dispatcher
 * as the workers and the notifier ask: a visitor's message arms the
 * assistant's resolution its agent's resolve_after_seconds later, and
 * ST_CONV_RESOLVE_DUE resolves it then (not before), with an event; the
 * visitor writing again reopens it; a person asked for keeps the
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

/* A visitor's message in session of widget wid (HTTP chat): the conversation. */
static void
say(struct fix *f, const char *wid, const char *session, struct st_conv *c)
{
	struct st_chat_begin_req q = { .widget = wid, .session = session,
	    .content = "hello", .rate_key = "ip:192.0.2.1",
	    .window_ms = 60000, .rate_max = 0, .history_max = 30 };
	struct st_begin_rep rep;

	assert_int_equal(request_dec(f, PROTO_ST_CHAT_BEGIN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_OK);
	fix_conv_get(f, rep.ok.conv_id, c);
	st_rep_free(PROTO_ST_CHAT_BEGIN, &rep);
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
	    "", 0, (uint8_t)state }, &pg), 0);
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
	    "", 0, 4 }), PROTO_E_INVALID);

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

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_assistant_resolves),
		T(test_person_asked_for),
		T(test_person_sets_state),
		T(test_query_and_delete),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
