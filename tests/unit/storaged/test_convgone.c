/*
 * Large conversations deleted by storaged's sweep (sweep_step) without
 * holding its loop: a deleted organisation's, an erased contact's and
 * the ones past their widget's retention, each of many messages. Each
 * scenario prints the longest step in ms (printed, never asserted) and
 * checks that every conversation and message went and that nothing else
 * did (every database counted before and after). test_steps checks the
 * steps' bound by messages, that a conversation is hidden from the
 * step that deletes it on, and that steps cut by a crash go on after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "orgmsg.h"
#include "proto.h"
#include "stmsgs.h"
#include "storaged.h"
#include "widgetmsg.h"
#include "wsess.h"
#include "test_fixture.h"
#include "test_who.h"

/* The scenarios' size: PARLEY_CONVGONE_CONVS, PARLEY_CONVGONE_MSGS. */
static uint32_t nconvs = 8, nmsgs = 3000;

static const struct st_who owner = { .kind = ST_WHO_KEY, .id = "install",
    .org = ST_ORG_DEFAULT, .role = ST_ROLE_OWNER };

static int
setup(void **state)
{
	fix_setup(state, "/tmp/parley-convgone-XXXXXX", 1);
	fix_reopen_map(*state, 1024);
	return 0;
}

/* Conversation id (hex) given n messages, in one transaction. */
static void
msgs_add(struct fix *f, const char *id, uint32_t n)
{
	static const char text[] = "a message of a long conversation, "
	    "long enough to fill its page as visitors' do";
	struct store_txn t;
	struct st_conv c;
	struct st_msg m;
	uint32_t i;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		strlcpy(m.conv_id, id, sizeof(m.conv_id));
		strlcpy(m.role, i % 2 ? "assistant" : "user", sizeof(m.role));
		m.content = (char *)text;
		assert_int_equal(store_msg_append(&t, &m, &c, NULL), 0);
		st_conv_free(&c);
		m.content = NULL;
		st_msg_free(&m);
	}
	assert_int_equal(store_commit(&t), 0);
}

/* A conversation of widget (internal id) and session with n messages. */
static void
conv_big(struct fix *f, const char *widget, const char *session, uint32_t n,
    char id[ST_ID_HEX + 1])
{
	struct store_txn t;
	struct st_conv c;
	int created;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, widget, session, &c, &created),
	    0);
	assert_int_equal(store_commit(&t), 0);
	strlcpy(id, c.id, ST_ID_HEX + 1);
	st_conv_free(&c);
	msgs_add(f, id, n);
}

/* The process's CPU time in µs: a step's work without the machine's load. */
static uint64_t
cpu_us(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Conversation id is gone for its readers: 1, else 0. */
static int
conv_gone(struct fix *f, const char *id)
{
	return request_st_err(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ id, 0 }) == PROTO_E_NOT_FOUND;
}

/*
 * The sweep's steps until none is left, as its timer runs them: the
 * longest one printed as scenario's (wall clock, and CPU time, which a
 * loaded machine does not stretch); *steps how many.
 */
static void
sweep_all(struct fix *f, const char *scenario, uint32_t *steps)
{
	struct store_sweep o;
	uint64_t t0, c0, us, cpu, worst = 0, worst_cpu = 0, all = 0;

	*steps = 0;
	do {
		t0 = proto_mono_us();
		c0 = cpu_us();
		assert_int_equal(sweep_step(f->st, SWEEP_BATCH,
		    SWEEP_BUDGET_US, &o), 0);
		us = proto_mono_us() - t0;
		cpu = cpu_us() - c0;
		all += us;
		if (us > worst)
			worst = us;
		if (cpu > worst_cpu)
			worst_cpu = cpu;
		if (getenv("PARLEY_CONVGONE_STEPS") != NULL)
			printf("step %u: %llu us, msgs %u orgs %u contacts %u "
			    "retained %u\n", *steps, (unsigned long long)us,
			    o.msgs, o.orgs, o.contacts, o.retained);
		(*steps)++;
	} while (o.more && *steps < 1000000);
	assert_false(o.more);
	printf("convgone %s: %u conversations x %u messages: %u steps, "
	    "longest %.1f ms (CPU %.1f ms), all %.1f ms\n", scenario, nconvs,
	    nmsgs, *steps, worst / 1000.0, worst_cpu / 1000.0, all / 1000.0);
}

/* A widget of who's organisation: its internal id, its public one (wid). */
static void
widget_of(struct fix *f, const struct st_who *who, char id[ST_ID_HEX + 1],
    char wid[ST_WID_ARG_MAX + 1])
{
	struct st_widget in, out;

	st_widget_defaults(&in);
	in.name = strdup("Shop");
	assert_int_equal(request_who(f, who, PROTO_ST_WIDGET_CREATE, &in,
	    &out, NULL), 0);
	strlcpy(id, out.id, ST_ID_HEX + 1);
	if (wid != NULL)
		strlcpy(wid, out.widget_id, ST_WID_ARG_MAX + 1);
	st_widget_free(&in);
	st_widget_free(&out);
}

/* Widget pub's retention_days set to days. */
static void
retention_set(struct fix *f, const char *pub, uint32_t days)
{
	struct st_widget_update_req u;
	struct st_widget out;

	memset(&u, 0, sizeof(u));
	st_widget_defaults(&u.w);
	u.id = pub;
	u.mask = ST_WF_RETENTION;
	u.w.retention_days = days;
	assert_int_equal(request_who(f, &owner, PROTO_ST_WIDGET_UPDATE, &u,
	    &out, NULL), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
}

/* What moves whatever is deleted (counters) and the requests' audit. */
static const char *const counters[] = { "meta", "daily", "audit",
    "audit_org", "audit_counts", NULL };

/*
 * A widget's retention: its old conversations go, with every message
 * and index entry, in steps; a newer one stays.
 */
static void
test_retention(void **state)
{
	struct fix *f = *state;
	char wid[ST_ID_HEX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	char pub[ST_WID_ARG_MAX + 1], sess[32];
	struct counts before, after;
	uint32_t i, steps;
	char **ids = calloc(nconvs, sizeof(*ids));

	assert_non_null(ids);
	widget_of(f, &owner, wid, pub);
	fake_now = T0 + 40 * 86400000ull;
	conv_big(f, wid, "recent", 3, keep);
	fix_counts_take(f, &before, 1024);
	fake_now = T0;
	for (i = 0; i < nconvs; i++) {
		snprintf(sess, sizeof(sess), "old-%u", i);
		conv_big(f, wid, sess, nmsgs, id);
		ids[i] = strdup(id);
	}
	fake_now = T0 + 41 * 86400000ull;
	retention_set(f, pub, 30);
	sweep_all(f, "retention", &steps);
	for (i = 0; i < nconvs; i++) {
		assert_true(conv_gone(f, ids[i]));
		free(ids[i]);
	}
	free(ids);
	assert_false(conv_gone(f, keep));
	fix_counts_take(f, &after, 1024);
	counts_same(&before, &after, counters);
}

/* The retention sweep at fake_now, in one transaction: how many went. */
static uint32_t
retention_now(struct fix *f)
{
	struct store_txn t;
	uint32_t n;
	int more;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_retention_sweep(&t, 1000, 0, &n, &more), 0);
	assert_false(more);
	assert_int_equal(store_commit(&t), 0);
	return n;
}

/*
 * A deleted widget's conversations keep its retention: they were never
 * deleted (the sweep read the live widgets only). It is forgotten once
 * none is left; a widget that kept its conversations leaves none behind.
 */
static void
test_retention_deleted_widget(void **state)
{
	struct fix *f = *state;
	char wid[ST_ID_HEX + 1], keep_wid[ST_ID_HEX + 1], old[ST_ID_HEX + 1];
	char young[ST_ID_HEX + 1], kept[ST_ID_HEX + 1];
	char pub[ST_WID_ARG_MAX + 1], keep_pub[ST_WID_ARG_MAX + 1];

	widget_of(f, &owner, wid, pub);
	widget_of(f, &owner, keep_wid, keep_pub);
	retention_set(f, pub, 30);
	fake_now = T0;
	conv_big(f, wid, "old", 3, old);
	conv_big(f, keep_wid, "kept", 3, kept);
	fake_now = T0 + 20 * 86400000ull;
	conv_big(f, wid, "young", 3, young);
	assert_int_equal(request_who(f, &owner, PROTO_ST_WIDGET_DELETE,
	    &(struct st_id_req){ pub }, NULL, NULL), 0);
	assert_int_equal(request_who(f, &owner, PROTO_ST_WIDGET_DELETE,
	    &(struct st_id_req){ keep_pub }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "widgets_retired"), 1);

	fake_now = T0 + 41 * 86400000ull;
	assert_int_equal(retention_now(f), 1);
	assert_true(conv_gone(f, old));
	assert_false(conv_gone(f, young));
	assert_int_equal(db_entries(f, "widgets_retired"), 1);
	fake_now = T0 + 61 * 86400000ull;
	assert_int_equal(retention_now(f), 1);
	assert_true(conv_gone(f, young));
	assert_int_equal(db_entries(f, "widgets_retired"), 0);
	/* Kept: no retention, nothing kept of the widget. */
	assert_false(conv_gone(f, kept));
}

/* A deleted organisation's conversations go, the other's stay. */
static void
test_org(void **state)
{
	struct fix *f = *state;
	char wid[ST_ID_HEX + 1], bwid[ST_ID_HEX + 1], id[ST_ID_HEX + 1];
	char sess[32];
	struct counts before, after;
	struct st_who b;
	uint32_t i, steps;

	widget_of(f, &owner, wid, NULL);
	conv_big(f, wid, "kept", 3, id);
	fix_counts_take(f, &before, 1024);
	b = who_org_new(f, &owner, "B");
	widget_of(f, &b, bwid, NULL);
	for (i = 0; i < nconvs; i++) {
		snprintf(sess, sizeof(sess), "b-%u", i);
		conv_big(f, bwid, sess, nmsgs, id);
	}
	assert_int_equal(request_who(f, &owner, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	sweep_all(f, "organisation", &steps);
	assert_true(conv_gone(f, id));
	fix_counts_take(f, &after, 1024);
	counts_same(&before, &after, counters);
}

/*
 * ST_CONTACT_ERASE of a contact with large conversations: the request
 * answers not done (202), the sweep finishes it, then all are gone.
 */
static void
test_contact(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], cid[ST_ID_HEX + 1];
	struct st_contact_convs_rep p;
	struct counts before, after;
	struct st_u8_rep done;
	uint64_t t0, c0;
	uint32_t i, steps;
	uint8_t tb;

	fix_widget_wid(f, "Shop", wid);
	fix_ws_turn(f, wid, 200, "the control visitor");
	fix_counts_take(f, &before, 1024);
	for (tb = 1; tb <= nconvs && tb < 200; tb++) {
		fix_ws_turn(f, wid, tb, "hello");
		fix_contact_submit(f, wid, tb, "", "big@example.com", "", cid);
	}
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_CONVS,
	    &(struct st_contact_cursor_req){ cid, "" }, &p), 0);
	assert_int_equal(p.n, nconvs);
	for (i = 0; i < p.n; i++)
		msgs_add(f, p.convs[i].id, nmsgs);
	t0 = proto_mono_us();
	c0 = cpu_us();
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_ERASE,
	    &(struct st_contact_erase_req){ cid, 1 }, &done), 0);
	printf("convgone erase request: %u conversations x %u messages: "
	    "%.1f ms (CPU %.1f ms), done %u\n", nconvs, nmsgs,
	    (proto_mono_us() - t0) / 1000.0, (cpu_us() - c0) / 1000.0, done.v);
	/* More messages than a request removes: the sweep finishes. */
	if ((uint64_t)nconvs * nmsgs > STORE_DELETE_MSGS)
		assert_false(done.v);
	sweep_all(f, "contact", &steps);
	for (i = 0; i < p.n; i++)
		assert_true(conv_gone(f, p.convs[i].id));
	st_rep_free(PROTO_ST_CONTACT_CONVS, &p);
	fix_counts_take(f, &after, 1024);
	counts_same(&before, &after, counters);
}

/* Steps of max STEP_MAX: the messages a step may remove. */
#define STEP_MAX	2
#define STEP_MSGS	(STEP_MAX * SWEEP_MSGS_PER)

/* fix_in_child()'s: *arg sweep steps, then the process ends unclosed. */
static void
steps_child(struct store *st, void *arg)
{
	struct store_sweep o;
	int i;

	for (i = 0; i < *(int *)arg; i++)
		if (sweep_step(st, STEP_MAX, 10000000, &o) != 0 || !o.more)
			_exit(1);
}

/*
 * A deleted organisation's 3 conversations of 100 messages: no step
 * removes more than STEP_MSGS messages; the step that deletes a
 * conversation hides it from every reader while its messages are still
 * stored; a crash (the process gone, the store unclosed) in the middle
 * of a conversation's messages, and the steps after it finish the work;
 * then nothing of them is left and everything else is as it was.
 */
static void
test_steps(void **state)
{
	struct fix *f = *state;
	char wid[ST_ID_HEX + 1], bwid[ST_ID_HEX + 1], ids[3][ST_ID_HEX + 1];
	char keep[ST_ID_HEX + 1], sess[32];
	struct counts before, after;
	struct store_sweep o;
	struct st_who b;
	size_t was, left;
	uint32_t i, steps = 0;
	int hidden = 0, crash = 3;

	widget_of(f, &owner, wid, NULL);
	conv_big(f, wid, "kept", 3, keep);
	fix_counts_take(f, &before, 1024);
	b = who_org_new(f, &owner, "B");
	widget_of(f, &b, bwid, NULL);
	for (i = 0; i < 3; i++) {
		snprintf(sess, sizeof(sess), "b-%u", i);
		conv_big(f, bwid, sess, 100, ids[i]);
	}
	assert_int_equal(request_who(f, &owner, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	was = db_entries(f, "msgs");
	assert_int_equal(was, 3 + 3 * 100);
	do {
		assert_int_equal(sweep_step(f->st, STEP_MAX, 10000000, &o), 0);
		left = db_entries(f, "msgs");
		assert_true(left <= was && was - left <= STEP_MSGS);
		if (!hidden && conv_gone(f, ids[0])) {
			hidden = 1;
			/*
			 * Its messages are all still stored (a step deletes
			 * conversations once none is left to remove), and
			 * out of reach.
			 */
			assert_true(left >= 3 + 100);
			assert_int_equal(request_st_err(f, PROTO_ST_MSG_PAGE,
			    &(struct st_msg_page_req){ ids[0], 0, 10 }),
			    PROTO_E_NOT_FOUND);
			/* A crash in the middle of its messages. */
			store_close(f->st);
			f->st = NULL;
			assert_int_equal(fix_in_child(f->dir, STORE_F_NOSYNC,
			    steps_child, &crash), 0);
			fix_reopen_map(f, 1024);
			left = db_entries(f, "msgs");
			assert_true(was - left <= (size_t)(crash + 1) * STEP_MSGS);
			assert_true(left > 3);	/* some for after the crash */
		}
		was = left;
	} while (o.more && ++steps < 1000);
	assert_false(o.more);
	assert_true(hidden);
	assert_true(steps >= 300 / STEP_MSGS);
	for (i = 0; i < 3; i++)
		assert_true(conv_gone(f, ids[i]));
	assert_false(conv_gone(f, keep));
	fix_counts_take(f, &after, 1024);
	counts_same(&before, &after, counters);
}

/*
 * Steps with no time (a budget of 0): each deletes one conversation of a
 * deleted organisation and at most 64 messages (between two looks at
 * the clock); they all go all the same.
 */
static void
test_out_of_time(void **state)
{
	struct fix *f = *state;
	char wid[ST_ID_HEX + 1], pub[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1];
	char sess[32];
	struct store_sweep o;
	struct st_who b;
	uint32_t i, steps = 0, orgs = 0;

	b = who_org_new(f, &owner, "B");
	widget_of(f, &b, wid, pub);
	for (i = 0; i < 5; i++) {
		snprintf(sess, sizeof(sess), "b-%u", i);
		conv_big(f, wid, sess, 100, id);
	}
	assert_int_equal(request_who(f, &owner, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	do {
		assert_int_equal(sweep_step(f->st, SWEEP_BATCH, 0, &o), 0);
		assert_true(o.msgs <= 64);
		/* Its conversations one a step, then its other records. */
		if (orgs < 5)
			assert_true(o.orgs <= 1);
		orgs += o.orgs;
	} while (o.more && ++steps < 1000);
	assert_false(o.more);
	assert_true(steps >= 5 + 500 / 64);
	assert_int_equal(db_entries(f, "convs"), 0);
	assert_int_equal(db_entries(f, "msgs"), 0);
	assert_int_equal(db_entries(f, "msgs_gone"), 0);
}

/*
 * ST_CONV_DELETE removes at most STORE_DELETE_MSGS of its messages, the
 * conversation out of reach at once; the sweep removes the rest.
 */
static void
test_delete_request(void **state)
{
	struct fix *f = *state;
	char id[ST_ID_HEX + 1], small[ST_ID_HEX + 1];
	uint32_t steps;

	conv_big(f, "w", "big", STORE_DELETE_MSGS + 100, id);
	conv_big(f, "w", "small", 10, small);
	assert_int_equal(request_who(f, &owner, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ id }, NULL, NULL), 0);
	assert_true(conv_gone(f, id));
	assert_int_equal(db_entries(f, "msgs"), 100 + 10);
	assert_int_equal(db_entries(f, "msgs_gone"), 1);
	sweep_all(f, "delete request's rest", &steps);
	assert_int_equal(db_entries(f, "msgs"), 10);
	assert_int_equal(db_entries(f, "msgs_gone"), 0);
	/* A small one goes whole in its request. */
	assert_int_equal(request_who(f, &owner, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ small }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "msgs"), 0);
	assert_int_equal(db_entries(f, "msgs_gone"), 0);
}

/*
 * A delete request removes its own conversation's messages, whatever
 * another organisation's larger deletion left for the sweep.
 */
static void
test_delete_beside_backlog(void **state)
{
	struct fix *f = *state;
	char bwid[ST_ID_HEX + 1], big[ST_ID_HEX + 1], small[ST_ID_HEX + 1];
	struct st_who b;

	b = who_org_new(f, &owner, "B");
	widget_of(f, &b, bwid, NULL);
	conv_big(f, bwid, "big", 3 * STORE_DELETE_MSGS, big);
	assert_int_equal(request_who(f, &b, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ big }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "msgs"), 2 * STORE_DELETE_MSGS);
	conv_big(f, "w", "small", 10, small);
	assert_int_equal(request_who(f, &owner, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ small }, NULL, NULL), 0);
	/* Its 10 went in its request; B's wait for the sweep, as before. */
	assert_int_equal(db_entries(f, "msgs"), 2 * STORE_DELETE_MSGS);
	assert_int_equal(db_entries(f, "msgs_gone"), 1);
}

/*
 * An erasure whose own conversations are gone whole is done (the API's
 * 200), whatever another organisation's deletion left for the sweep.
 */
static void
test_erase_done_beside_backlog(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], cid[ST_ID_HEX + 1];
	char bwid[ST_ID_HEX + 1], big[ST_ID_HEX + 1];
	struct st_u8_rep done;
	struct st_who b;

	b = who_org_new(f, &owner, "B");
	widget_of(f, &b, bwid, NULL);
	conv_big(f, bwid, "big", 2 * STORE_DELETE_MSGS + 100, big);
	assert_int_equal(request_who(f, &b, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ big }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "msgs_gone"), 1);
	fix_widget_wid(f, "Shop", wid);
	fix_ws_turn(f, wid, 1, "hello");
	fix_contact_submit(f, wid, 1, "", "small@example.com", "", cid);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_ERASE,
	    &(struct st_contact_erase_req){ cid, 1 }, &done), 0);
	assert_int_equal(done.v, 1);
	/* Its one message went with it; B's alone wait. */
	assert_int_equal(db_entries(f, "msgs"), STORE_DELETE_MSGS + 100);
	assert_int_equal(db_entries(f, "msgs_gone"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: the sweep looks at retention once a minute. */
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_retention_deleted_widget,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_org, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_contact, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_steps, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_delete_request, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_time, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_delete_beside_backlog, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_erase_done_beside_backlog,
		    setup, fix_teardown),
	};
	const char *s;

	if ((s = getenv("PARLEY_CONVGONE_CONVS")) != NULL)
		nconvs = (uint32_t)strtoul(s, NULL, 10);
	if ((s = getenv("PARLEY_CONVGONE_MSGS")) != NULL)
		nmsgs = (uint32_t)strtoul(s, NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
