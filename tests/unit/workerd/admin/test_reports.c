/*
 * test_reports: GET /v1/admin/reports made from storaged's hours (a
 * scripted storaged): a zone a half hour off UTC gets a first hour that
 * starts the day before, which counts in no day and so in no total.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_client.h"
#include "reportmsg.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define HOUR	3600000ULL

static struct peer P;
static struct tclient CL;

static int
setup(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
	return 0;
}

static int
teardown(void **state)
{
	peer_admin_teardown(&P);
	return 0;
}

static int
each_setup(void **state)
{
	if (peer_connect(&P) < 0)
		return -1;
	return tclient_open(&CL) == 0 ? 0 : -1;
}

static int
each_teardown(void **state)
{
	tclient_close(&CL);
	return 0;
}

/*
 * Asia/Kolkata (+05:30), 2026-06-02 alone: storaged is asked from the
 * hour of 18:30Z the day before. One conversation in that first hour
 * (18:00Z, 23:30 local the day before) and two in the next (00:30
 * local): the report shows two, in its totals, its day, its hours and
 * its agent alike.
 */
static void
test_half_hour_zone(void **state)
{
	struct peer_req pr;
	struct st_report_get_req q;
	struct st_report_row rows[2];
	struct st_report_rep rep;
	struct tresp r;
	char agent[1] = "";
	json_t *o, *day;
	json_error_t je;

	tclient_request(&CL, "GET", "/v1/admin/reports?tz=Asia/Kolkata&"
	    "from=2026-06-02&to=2026-06-02", "x-admin-api-key: " KEY "\r\n",
	    NULL);
	peer_expect(&P, &pr, PROTO_ST_REPORT_GET);
	assert_int_equal(st_req_decode(PROTO_ST_REPORT_GET, pr.payload,
	    pr.len, &q), 0);
	/* 2026-06-01T18:30:00Z, 00:00 local on the 2nd. */
	assert_int_equal(q.from, 1780338600000ULL);
	memset(rows, 0, sizeof(rows));
	rows[0].hour = (uint32_t)(q.from / HOUR);
	rows[0].agent = agent;
	rows[0].v[ST_RC_conversations] = 1;
	rows[1].hour = rows[0].hour + 1;
	rows[1].agent = agent;
	rows[1].v[ST_RC_conversations] = 2;
	rep.rows = rows;
	rep.n = 2;
	rep.ready = 1;
	peer_reply_cut(&P, &pr, &rep, 0);
	st_req_free(PROTO_ST_REPORT_GET, &q);
	tclient_expect(&CL, &r, 200);
	o = json_loads(r.body, 0, &je);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "totals"), "conversations")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "days")), 1);
	day = json_array_get(json_object_get(o, "days"), 0);
	assert_string_equal(json_string_value(json_object_get(day, "date")),
	    "2026-06-02");
	assert_int_equal(json_integer_value(json_object_get(day,
	    "conversations")), 2);
	/* 23:30 the day before counts in no hour either: only 00:00's. */
	assert_int_equal(json_integer_value(json_array_get(json_object_get(o,
	    "hours"), 0)), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(o,
	    "hours"), 23)), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(o, "agents"), 0), "conversations")), 2);
	json_decref(o);
	tresp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_half_hour_zone,
		    each_setup, each_teardown),
	};

	log_init("test_reports");
	return cmocka_run_group_tests(tests, setup, teardown);
}
