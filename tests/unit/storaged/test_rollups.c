/*
 * The reports' rollups as ST_REPORT_GET reads them (rollups.c): a year
 * of an organisation whose agents are busy every hour, and a range that
 * starts on a half hour; a conversation's tokens held at their field's
 * top, not wrapped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_fixture.h"
#include "reportmsg.h"
#include "rollups.h"

#define HOUR	3600000ull
#define DAYS	366
#define AGENTS	8
#define WIDGETS	2

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-rollups-XXXXXX", 0);
}

/* Agent i's id ("" the default agent: i 0). */
static void
agent_id(int i, char id[ST_ID_HEX + 1])
{
	if (i == 0)
		id[0] = '\0';
	else
		snprintf(id, ST_ID_HEX + 1, "%032x", i);
}

/* A new conversation of widget w and agent a, counted in as conv_save does. */
static void
conv_counted(struct store_txn *t, int w, int a, uint64_t created_at)
{
	struct st_conv c;

	memset(&c, 0, sizeof(c));
	strlcpy(c.org, ST_WHO_ORG_DEFAULT, sizeof(c.org));
	snprintf(c.widget, sizeof(c.widget), "w%d", w);
	agent_id(a, c.agent_id);
	c.created_at = created_at;
	c.reported = 1;
	c.visitor_msgs = 2;
	report_conv_saved(t, NULL, &c);
}

/*
 * Each widget's conversation of each agent in each hour of the days from
 * start (a minute past the hour): a day a transaction.
 */
static void
fill(struct fix *f, uint64_t start, int days)
{
	struct store_txn t;
	uint64_t hour;
	int d, h, a, w;

	for (d = 0; d < days; d++) {
		assert_int_equal(store_begin(f->st, &t, 0), 0);
		for (h = 0; h < 24; h++) {
			hour = start + ((uint64_t)d * 24 + h) * HOUR;
			for (w = 0; w < WIDGETS; w++)
				for (a = 0; a < AGENTS; a++)
					conv_counted(&t, w, a, hour + 60000);
		}
		assert_int_equal(store_commit(&t), 0);
	}
}

/*
 * A year of 8 agents busy every hour on 2 widgets (140,544 rows): the
 * report answers every hour and every agent (it was refused: over 45,000
 * rows of an hour and an agent).
 */
static void
test_year_of_busy_agents(void **state)
{
	struct fix *f = *state;
	uint64_t start = T0 / HOUR * HOUR, hours = 0, agents = 0;
	struct st_report_get_req q = { start, start + DAYS * 24 * HOUR, "",
	    "" };
	struct st_report_rep rep;
	char id[ST_ID_HEX + 1];
	uint32_t i;

	fill(f, start, DAYS);
	assert_int_equal(request_dec(f, PROTO_ST_REPORT_GET, &q, &rep), 0);
	assert_int_equal(rep.n, DAYS * 24);
	for (i = 0; i < rep.n; i++) {
		assert_int_equal(rep.hours[i].hour, start / HOUR + i);
		assert_int_equal(rep.hours[i].v[ST_RC_conversations],
		    AGENTS * WIDGETS);
		hours += rep.hours[i].v[ST_RC_visitor_messages];
	}
	assert_int_equal(rep.m, AGENTS);
	for (i = 0; i < rep.m; i++) {
		agent_id((int)i, id);
		assert_string_equal(rep.agents[i].agent, id);
		assert_int_equal(rep.agents[i].v[ST_RC_conversations],
		    DAYS * 24 * WIDGETS);
		agents += rep.agents[i].v[ST_RC_visitor_messages];
	}
	assert_int_equal(hours, 2ull * DAYS * 24 * AGENTS * WIDGETS);
	assert_int_equal(agents, hours);
	st_rep_free(PROTO_ST_REPORT_GET, &rep);

	/* One widget, one agent: its hours alone. */
	agent_id(3, id);
	q.widget = "w1";
	q.agent = id;
	assert_int_equal(request_dec(f, PROTO_ST_REPORT_GET, &q, &rep), 0);
	assert_int_equal(rep.n, DAYS * 24);
	assert_int_equal(rep.hours[0].v[ST_RC_conversations], 1);
	assert_int_equal(rep.m, 1);
	assert_string_equal(rep.agents[0].agent, id);
	assert_int_equal(rep.agents[0].v[ST_RC_conversations], DAYS * 24);
	st_rep_free(PROTO_ST_REPORT_GET, &rep);
}

/*
 * A range from a half hour (a +05:30 zone's midnight): the hour that
 * starts before it is counted neither in the hours nor in the agents',
 * so both sum alike; the hour that starts before its end is.
 */
static void
test_half_hour_range(void **state)
{
	struct fix *f = *state;
	uint64_t start = T0 / HOUR * HOUR;
	struct st_report_get_req q = { start + HOUR / 2,
	    start + 2 * HOUR + HOUR / 2, "", "" };
	struct st_report_rep rep;

	fill(f, start, 1);
	assert_int_equal(request_dec(f, PROTO_ST_REPORT_GET, &q, &rep), 0);
	assert_int_equal(rep.n, 2);
	assert_int_equal(rep.hours[0].hour, start / HOUR + 1);
	assert_int_equal(rep.hours[1].hour, start / HOUR + 2);
	assert_int_equal(rep.m, AGENTS);
	assert_int_equal(rep.agents[0].v[ST_RC_conversations], 2 * WIDGETS);
	st_rep_free(PROTO_ST_REPORT_GET, &rep);
}

/*
 * Two answers of 3,000,000,000 prompt tokens each: the conversation's
 * count stops at UINT32_MAX (it once wrapped to 1,705,032,704, and the
 * reports summed that).
 */
static void
test_tokens_held(void **state)
{
	struct st_conv c;
	struct st_msg m;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	strlcpy(m.role, "assistant", sizeof(m.role));
	m.prompt_tokens = 3000000000u;
	m.completion_tokens = 7;
	report_msg_counted(&c, &m);
	report_msg_counted(&c, &m);
	assert_int_equal(c.answers, 2);
	assert_int_equal(c.prompt_tokens, UINT32_MAX);
	assert_int_equal(c.completion_tokens, 14);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_year_of_busy_agents,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_half_hour_range, setup,
		    fix_teardown),
		cmocka_unit_test(test_tokens_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
