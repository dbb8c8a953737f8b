/*
 * What one visitor message costs storaged: the records decoded and the
 * keys written by a conversation's first and a later ST_WS_BEGIN and
 * ST_CHAT_BEGIN, run through dispatch as the daemon runs them. The
 * counts are exact: a change that makes a turn dearer (or cheaper) says
 * so here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_fixture.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-costs-XXXXXX", 1);
}

/* What a message may cost: records decoded, keys written. */
struct cost {
	uint64_t decodes, puts;
};

/* Runs one begin (its reply must go on to the model): what it cost. */
static void
begin_cost(struct fix *f, uint16_t type, const void *q, int created,
    struct cost *c)
{
	struct st_begin_rep rep;
	struct dreply r;
	uint64_t d0, p0, d1, p1;

	store_costs(f->st, &d0, &p0);
	assert_int_equal(request_st(f, type, q, &r), 0);
	store_costs(f->st, &d1, &p1);
	assert_int_equal(st_rep_decode(type, r.enc.buf, r.enc.len, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_OK);
	assert_int_equal(rep.ok.created, created);
	assert_true(rep.ok.nhistory >= 1);
	st_rep_free(type, &rep);
	dreply_free(&r);
	c->decodes = d1 - d0;
	c->puts = p1 - p0;
	fake_now += 1000;
	fix_turns_end(f);	/* as its reply would */
}

/*
 * A conversation's first message and a later one by request q of type
 * (its content at *content), each printed and held to what it may cost.
 */
static void
costs_are(struct fix *f, const char *what, uint16_t type, const void *q,
    const char **content, const struct cost want[2])
{
	struct cost got;
	int i;

	for (i = 0; i < 2; i++) {
		*content = i == 0 ? "hello" : "and again";
		begin_cost(f, type, q, i == 0, &got);
		print_message("%s, %s message: %llu record decodes, %llu "
		    "puts\n", what, i == 0 ? "first" : "later",
		    (unsigned long long)got.decodes,
		    (unsigned long long)got.puts);
		assert_int_equal(got.decodes, want[i].decodes);
		assert_int_equal(got.puts, want[i].puts);
	}
}

static void
test_ws_begin_cost(void **state)
{
	/*
	 * Each message puts the assistant's resolution time (convstate.c),
	 * its conversation's report row (rollups.c) and its turn open
	 * (turnstore.c: a storaged started again ends it); a later one also
	 * reads that row (the conversation as loaded says what the reports
	 * counted of it: not read again). A later one a second after the
	 * first leaves the session and its expiry entry as they are (stored
	 * once a minute: wsess.c's touch_due), and finds its widget and
	 * agent in memory (widgetstore.c's begin cache, as the chat API's).
	 * The first also puts the new conversation's creation key
	 * (convquery.c's conv_created: an export's order), and decodes the
	 * widget's organisation (its daily turn budget) into the cache.
	 */
	static const struct cost want[2] = { { 2, 14 }, { 4, 7 } };
	struct fix *f = *state;
	struct st_widget w;
	struct st_ws_begin_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .rate_key = "ip:192.0.2.1", .window_ms = 60000, .rate_max = 20,
	    .history_max = 30, .create = 1 };

	fix_widget_new(f, "Costs", &w);
	q.widget_id = w.widget_id;
	memset(q.token, 7, sizeof(q.token));
	costs_are(f, "ST_WS_BEGIN", PROTO_ST_WS_BEGIN, &q, &q.content, want);
	st_widget_free(&w);
}

/*
 * The widget, its organisation and its agent are decoded by the first
 * begin only: a later one finds them in memory (widgetstore.c's begin
 * cache). The history's
 * last message, the visitor's just stored, is not decoded again
 * (msgs_newest lends it), in either begin.
 */
static void
test_chat_begin_cost(void **state)
{
	static const struct cost want[2] = { { 2, 10 }, { 3, 7 } };
	struct fix *f = *state;
	struct st_widget w;
	struct st_chat_begin_req q = { .session = "s-costs",
	    .rate_key = "ip:192.0.2.1", .window_ms = 60000, .rate_max = 20,
	    .history_max = 30 };

	fix_widget_new(f, "Costs", &w);
	q.widget = w.id;
	costs_are(f, "ST_CHAT_BEGIN", PROTO_ST_CHAT_BEGIN, &q, &q.content,
	    want);
	st_widget_free(&w);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ws_begin_cost),
		T(test_chat_begin_cost),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
