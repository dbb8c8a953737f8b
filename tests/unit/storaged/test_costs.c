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

/* A widget with the defaults, its ids in *w. */
static void
widget_new(struct fix *f, struct st_widget *w)
{
	struct st_widget in;

	st_widget_defaults(&in);
	in.system_prompt = strdup("be brief");
	in.model = strdup("");
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_CREATE, &in, w), 0);
	st_widget_free(&in);
}

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
}

static void
cost_is(const char *what, const struct cost *c, uint64_t decodes,
    uint64_t puts)
{
	print_message("%s: %llu record decodes, %llu puts\n", what,
	    (unsigned long long)c->decodes, (unsigned long long)c->puts);
	assert_int_equal(c->decodes, decodes);
	assert_int_equal(c->puts, puts);
}

static void
test_ws_begin_cost(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_ws_begin_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .rate_key = "ip:192.0.2.1", .window_ms = 60000, .rate_max = 20,
	    .history_max = 30, .create = 1 };
	struct cost first, later;

	widget_new(f, &w);
	q.widget_id = w.widget_id;
	memset(q.token, 7, sizeof(q.token));
	q.content = "hello";
	begin_cost(f, PROTO_ST_WS_BEGIN, &q, 1, &first);
	q.content = "and again";
	begin_cost(f, PROTO_ST_WS_BEGIN, &q, 0, &later);
	cost_is("ST_WS_BEGIN, first message", &first, 2, 10);
	cost_is("ST_WS_BEGIN, later message", &later, 5, 6);
	st_widget_free(&w);
}

static void
test_chat_begin_cost(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_chat_begin_req q = { .session = "s-costs",
	    .rate_key = "ip:192.0.2.1", .window_ms = 60000, .rate_max = 20,
	    .history_max = 30 };
	struct cost first, later;

	widget_new(f, &w);
	q.widget = w.id;
	q.content = "hello";
	begin_cost(f, PROTO_ST_CHAT_BEGIN, &q, 1, &first);
	q.content = "and again";
	begin_cost(f, PROTO_ST_CHAT_BEGIN, &q, 0, &later);
	cost_is("ST_CHAT_BEGIN, first message", &first, 2, 6);
	cost_is("ST_CHAT_BEGIN, later message", &later, 4, 4);
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
