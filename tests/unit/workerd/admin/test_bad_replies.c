/*
 * Replies that do not decode, on the two paths test_conn.c's walk of the
 * admin routes does not take: the open handoffs (GET
 * /v1/admin/conversations?handoff=open, ST_HANDOFF_LIST) and the public
 * widget config (ST_WIDGET_GET, read by a callback of its own). Each is
 * answered with its valid struct encoded by the table, whole, a byte
 * short and a byte over: whole, the answer; else 500, nothing of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "test_client.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define WID	"wid_0123456789abcdef0123456789abcdef"

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

/* After a reply of cut: the answer's status (whole) or 500, nothing else. */
static void
expect_answer(int cut, int status, const char *want)
{
	struct tresp r;

	if (cut != 0) {
		tclient_expect_error(&CL, 500, "Internal server error");
	} else {
		tclient_expect(&CL, &r, status);
		assert_non_null(strstr(r.body, want));
		tresp_free(&r);
	}
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
}

/* The next request is an ST_SETUP_NOTE: answered (empty) cut as cut says. */
static void
note_answered(int cut)
{
	struct peer_req pr;
	uint8_t over = 0;

	peer_expect(&P, &pr, PROTO_ST_SETUP_NOTE);
	peer_reply(&P, &pr, &over, cut > 0 ? 1 : 0);
}

static void
test_handoff_list_malformed(void **state)
{
	struct peer_req pr;
	struct st_page_req q;
	struct st_conv c[2];
	struct st_conv_page page;
	int cut;

	for (cut = -1; cut <= 1; cut++) {
		tclient_request(&CL, "GET", "/v1/admin/conversations?"
		    "handoff=open&limit=7", "x-admin-api-key: " KEY "\r\n",
		    NULL);
		peer_expect(&P, &pr, PROTO_ST_HANDOFF_LIST);
		assert_int_equal(st_req_decode(PROTO_ST_HANDOFF_LIST,
		    pr.payload, pr.len, &q), 0);
		assert_int_equal(q.limit, 7);
		assert_string_equal(q.cursor, "");
		st_req_free(PROTO_ST_HANDOFF_LIST, &q);
		test_fill_conv(&c[0], 1, 2, "help");
		test_fill_conv(&c[1], 2, 3, "a person, please");
		c[0].handoff = c[1].handoff = ST_HANDOFF_WAITING;
		page = (struct st_conv_page){ 2, c, 2, "" };
		peer_reply_cut(&P, &pr, &page, cut);
		st_conv_free(&c[0]);
		st_conv_free(&c[1]);
		expect_answer(cut, 200, "\"lastMessage\":\"a person, please\"");
	}
}

static void
test_config_malformed(void **state)
{
	struct peer_req pr;
	struct st_widget_avail_rep rep;
	struct st_widget *w = &rep.widget;
	int cut;

	for (cut = -1; cut <= 1; cut++) {
		tclient_request(&CL, "GET", "/api/widget/" WID "/config",
		    "Origin: https://shop.example\r\n", NULL);
		peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
		memset(&rep, 0, sizeof(rep));
		st_widget_defaults(w);
		w->handoff_enabled = 1;
		strlcpy(w->id, "00000000000000000000000000000007",
		    sizeof(w->id));
		strlcpy(w->widget_id, WID, sizeof(w->widget_id));
		w->name = strdup("Support");
		w->greeting = strdup("Hello");
		w->system_prompt = strdup("");
		w->model = strdup("");
		rep.staffed = 1;
		peer_reply_cut(&P, &pr, &rep, cut);
		st_widget_free(w);
		if (cut == 0)
			note_answered(0);	/* the origin seen (setup.c) */
		expect_answer(cut, 200, "\"availability\":{\"away\":false");
	}
}

/*
 * ST_SETUP_NOTE (setup.c), the accepted config's: its reply a byte short
 * over (an empty one has no byte short) changes nothing (no one waits for it) and leaves nothing behind.
 */
static void
test_setup_note_malformed(void **state)
{
	struct peer_req pr;
	struct st_widget_avail_rep rep;
	int cut;

	for (cut = 0; cut <= 1; cut++) {
		tclient_request(&CL, "GET", "/api/widget/" WID "/config",
		    "Origin: https://shop.example\r\n", NULL);
		peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
		memset(&rep, 0, sizeof(rep));
		st_widget_defaults(&rep.widget);
		strlcpy(rep.widget.widget_id, WID, sizeof(rep.widget.widget_id));
		rep.widget.name = strdup("Support");
		rep.widget.greeting = strdup("Hello");
		rep.widget.system_prompt = strdup("");
		rep.widget.model = strdup("");
		peer_reply_cut(&P, &pr, &rep, 0);
		st_widget_free(&rep.widget);
		note_answered(cut);
		expect_answer(0, 200, "\"greeting\":\"Hello\"");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handoff_list_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_config_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_setup_note_malformed,
		    each_setup, each_teardown),
	};

	log_init("test_bad_replies");
	return cmocka_run_group_tests(tests, setup, teardown);
}
