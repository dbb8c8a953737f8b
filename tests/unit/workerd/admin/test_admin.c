/*
 * The admin API: the key check, ?limit=&cursor=&widget=&q=, the JSON made
 * from storaged's replies, and (against a fake storaged) the list's
 * request, DELETE and Server-Timing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "test_client.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"

static void
test_auth(void **state)
{
	admin_init(NULL);
	assert_int_equal(admin_auth(KEY), 503);
	assert_int_equal(admin_auth(NULL), 503);
	admin_init("");
	assert_int_equal(admin_auth(""), 503);

	admin_init(KEY);
	assert_int_equal(admin_auth(KEY), 0);
	assert_int_equal(admin_auth(NULL), 401);
	assert_int_equal(admin_auth(""), 401);
	assert_int_equal(admin_auth("abcdefghijklmnopqrstuvwxyz012345678"),
	    401);	/* a prefix */
	assert_int_equal(admin_auth(KEY "x"), 401);	/* longer */
	assert_int_equal(admin_auth("Abcdefghijklmnopqrstuvwxyz0123456789"),
	    401);
	admin_init(NULL);
}

static void
test_list_query(void **state)
{
	char cursor[ST_CURSOR_MAX + 1];
	uint32_t limit;
	char big[256];
	const char *bad[] = {
		"limit=0", "limit=201", "limit=", "limit", "limit=abc",
		"limit=-1", "limit=1.5", "limit=1e3", "limit=0.5", "limit=-0",
		"limit=5e", "limit=e5", "limit=.", "limit=5%205", "limit=0x",
		"limit=-0x10", "limit=%2B0x10", "limit=0x1.5", "limit=0xC9",
		"limit=0b", "limit=0b102", "limit=0o8", "limit=0x0", "limit=00x1",
		"limit=99999999999999999999", "limit=%zz",
		"cursor=%", "limit=10&cursor=%g0",
	};
	size_t i;

	assert_int_equal(admin_list_query("", &limit, cursor, sizeof(cursor)),
	    0);
	assert_int_equal(limit, ADMIN_LIMIT_DEFAULT);
	assert_string_equal(cursor, "");

	assert_int_equal(admin_list_query("limit=1", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 1);
	assert_int_equal(admin_list_query("limit=200", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 200);
	assert_int_equal(admin_list_query("limit=007&x=y", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 7);
	/* As JavaScript's Number() reads them (the reference's zod). */
	assert_int_equal(admin_list_query("limit=%2B5", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 5);
	assert_int_equal(admin_list_query("limit=%20%35%0A", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 5);
	assert_int_equal(admin_list_query("limit=1e2", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 100);
	assert_int_equal(admin_list_query("limit=2.50e1", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 25);
	assert_int_equal(admin_list_query("limit=2000e-1", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 200);
	assert_int_equal(admin_list_query("limit=0x10", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 16);
	assert_int_equal(admin_list_query("limit=0XC8", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 200);
	assert_int_equal(admin_list_query("limit=0b101", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 5);
	assert_int_equal(admin_list_query("limit=%200o17%20", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_int_equal(limit, 15);
	assert_int_equal(admin_list_query("foo=1&cursor=abc%20d&limit=5",
	    &limit, cursor, sizeof(cursor)), 0);
	assert_int_equal(limit, 5);
	assert_string_equal(cursor, "abc d");
	assert_int_equal(admin_list_query("cursor=", &limit, cursor,
	    sizeof(cursor)), 0);
	assert_string_equal(cursor, "");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(admin_list_query(bad[i], &limit, cursor,
		    sizeof(cursor)), -1);

	/* A cursor longer than any storaged makes. */
	strlcpy(big, "cursor=", sizeof(big));
	memset(big + 7, 'a', ST_CURSOR_MAX + 1);
	big[7 + ST_CURSOR_MAX + 1] = '\0';
	assert_int_equal(admin_list_query(big, &limit, cursor,
	    sizeof(cursor)), -1);
}

static void
test_conv_json(void **state)
{
	struct st_conv c;
	char *s;

	test_fill_conv(&c, 1, 2, "hi \"there\"");
	s = test_dump(admin_conv_json(&c));
	assert_string_equal(s,
	    "{\"_id\":\"00000000000000000000000000000001\","
	    "\"_creationTime\":1700000000001,\"sessionId\":"
	    "\"sha256:abe633f3a47a2758174eabe9\","
	    "\"createdAt\":1700000000001,\"updatedAt\":1700000000501,"
	    "\"lastMessage\":\"hi \\\"there\\\"\",\"widgetId\":\"default\","
	    "\"messageCount\":2,\"contactId\":null,\"handoff\":\"ai\","
	    "\"assignee\":null,\"answered_by\":null,\"waiting_by\":null,"
	    "\"visitorName\":\"\","
	    "\"lastVisitorMessage\":\"\",\"unread\":false,"
	    "\"state\":\"open\",\"snoozed_until\":null,"
	    "\"resolved_by\":null,\"resolved_at\":null,\"handoff_requested_at\":null,\"rating\":null}");
	free(s);
	st_conv_free(&c);
	/* Who put it in the queue, while it waits there alone. */
	test_fill_conv(&c, 1, 2, "hi");
	c.handoff = ST_HANDOFF_WAITING;
	c.waiting_by = ST_WAITING_PERSON;
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"waiting_by\":\"person\""));
	free(s);
	c.handoff = ST_HANDOFF_HUMAN;
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"waiting_by\":null"));
	free(s);
	st_conv_free(&c);

	/* Assigned: who, by id and name (escaped as any text). */
	test_fill_conv(&c, 1, 2, "hi");
	strlcpy(c.assignee, "usr_0123456789abcdef0123456789abcdef",
	    sizeof(c.assignee));
	strlcpy(c.assignee_name, "Ana \"A\"", sizeof(c.assignee_name));
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"assignee\":{\"id\":"
	    "\"usr_0123456789abcdef0123456789abcdef\",\"name\":"
	    "\"Ana \\\"A\\\"\"},"));
	free(s);
	st_conv_free(&c);

	/* Rated (issue 26): the score, the comment, when. */
	test_fill_conv(&c, 1, 2, "hi");
	c.rating = 4;
	c.rating_comment = strdup("Quick \"and\" kind");
	c.rated_at = 1700000000999ULL;
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"rating\":{\"score\":4,\"comment\":"
	    "\"Quick \\\"and\\\" kind\",\"ratedAt\":1700000000999}}"));
	free(s);
	st_conv_free(&c);

	/* No message yet: no lastMessage at all. */
	test_fill_conv(&c, 2, 0, "");
	s = test_dump(admin_conv_json(&c));
	assert_null(strstr(s, "lastMessage"));
	assert_non_null(strstr(s, "\"messageCount\":0"));
	free(s);
	st_conv_free(&c);
}

static void
test_msg_json(void **state)
{
	struct st_msg m;
	char *s;

	memset(&m, 0, sizeof(m));
	strlcpy(m.id, "0123456789abcdef0123456789abcdef", sizeof(m.id));
	strlcpy(m.conv_id, "fedcba9876543210fedcba9876543210",
	    sizeof(m.conv_id));
	strlcpy(m.role, "assistant", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	m.created_at = 1700000000123ULL;
	m.prompt_tokens = 12;
	m.completion_tokens = 34;
	m.content = strdup("h\xc3\xa9llo\n");
	s = test_dump(admin_msg_json(&m));
	assert_string_equal(s,
	    "{\"_id\":\"0123456789abcdef0123456789abcdef\","
	    "\"_creationTime\":1700000000123,"
	    "\"conversationId\":\"fedcba9876543210fedcba9876543210\","
	    "\"role\":\"assistant\",\"content\":\"h\xc3\xa9llo\\n\","
	    "\"createdAt\":1700000000123,\"status\":\"complete\","
	    "\"promptTokens\":12,\"completionTokens\":34,\"feedback\":null,"
	    "\"sources\":[],\"citations\":[],\"knowledge\":\"none\"}");
	free(s);
	/* The passages it cites, as stored with it; not an array: none. */
	m.cited = strdup("[{\"n\":2,\"source_id\":\"ks_1\",\"title\":\"<b>\","
	    "\"url\":\"\"}]");
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, ",\"citations\":[{\"n\":2,\"source_id\":"
	    "\"ks_1\",\"title\":\"<b>\",\"url\":\"\"}],"));
	free(s);
	free(m.cited);
	m.cited = strdup("{\"n\":2}");
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, ",\"citations\":[],"));
	free(s);
	/* The visitor's thumb on an answer (issue 26). */
	m.feedback = ST_FEEDBACK_DOWN;
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, ",\"feedback\":\"down\","));
	free(s);
	m.feedback = ST_FEEDBACK_NONE;
	/* A person's message says who (an assistant's has no name). */
	strlcpy(m.role, "agent", sizeof(m.role));
	strlcpy(m.name, "Ada", sizeof(m.name));
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, "\"role\":\"agent\""));
	/* A key's: no author. */
	assert_non_null(strstr(s, "\"completionTokens\":34,\"name\":\"Ada\","
	    "\"authorId\":null}"));
	free(s);
	strlcpy(m.author, "usr_0123456789abcdef0123456789abcdef",
	    sizeof(m.author));
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, "\"name\":\"Ada\",\"authorId\":"
	    "\"usr_0123456789abcdef0123456789abcdef\"}"));
	free(s);
	/*
	 * A tool's step says whose tool it was: the owner's (what an older
	 * record reads as), or the visitor's page's.
	 */
	strlcpy(m.role, "tool", sizeof(m.role));
	strlcpy(m.name, "issue_refund", sizeof(m.name));
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, "\"name\":\"issue_refund\","
	    "\"origin\":\"action\",\"arguments\":\"\",\"duration_ms\":0}"));
	free(s);
	m.tool_origin = ST_TOOL_FROM_PAGE;
	s = test_dump(admin_msg_json(&m));
	assert_non_null(strstr(s, "\"origin\":\"page\""));
	free(s);
	st_msg_free(&m);
}

static void
test_json_text(void **state)
{
	char *s;

	s = test_dump(exprow_text("ok \xe2\x82\xac"));
	assert_string_equal(s, "\"ok \xe2\x82\xac\"");
	free(s);
	/* Invalid UTF-8 (a lone continuation, an overlong, a surrogate). */
	s = test_dump(exprow_text("a\x80" "b\xc0\xaf" "c\xed\xa0\x80"));
	assert_string_equal(s, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
	s = test_dump(exprow_text("cut \xe2\x82"));
	assert_string_equal(s, "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
}

#define LIST_JSON(p, n) \
	test_reply_json(PROTO_ST_CONV_QUERY, admin_conv_page_json, p, n, NULL)
#define GET_JSON(p, n) \
	test_reply_json(PROTO_ST_CONV_GET, admin_conv_get_json, p, n, NULL)

static void
test_list_reply(void **state)
{
	struct penc e;
	struct st_conv c;
	char *s;
	int i;

	penc_init(&e);
	penc_u64(&e, 5);
	penc_u32(&e, 2);
	for (i = 1; i <= 2; i++) {
		test_fill_conv(&c, i, (uint32_t)i, "last");
		penc_conv(&e, &c);
		st_conv_free(&c);
	}
	penc_str(&e, "00ff");
	assert_false(e.err);
	s = test_dump(LIST_JSON(e.buf, e.len));
	assert_non_null(strstr(s, "\"total\":5"));
	assert_non_null(strstr(s, "\"nextCursor\":\"00ff\""));
	/* The sessions as digests (exprow_session), never as given. */
	assert_non_null(strstr(s, "\"sessionId\":\"sha256:abe633f3a47a2758174eabe9\""));
	assert_non_null(strstr(s, "\"sessionId\":\"sha256:2b8ea975811361aee25cfeb5\""));
	assert_null(strstr(s, "sess-1"));
	assert_true(strstr(s, "abe633f3") < strstr(s, "2b8ea975"));
	free(s);

	/* Truncated or with trailing bytes: refused. */
	assert_null(LIST_JSON(e.buf, e.len - 1));
	penc_u8(&e, 0);
	assert_null(LIST_JSON(e.buf, e.len));
	penc_free(&e);

	/* The end of the list: nextCursor null. */
	s = test_empty_page(PROTO_ST_CONV_QUERY, admin_conv_page_json);
	assert_string_equal(s,
	    "{\"conversations\":[],\"total\":0,\"nextCursor\":null}");
	free(s);

	/* A count beyond what storaged may send. */
	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, ST_LIST_MAX + 1);
	assert_null(LIST_JSON(e.buf, e.len));
	penc_free(&e);
}

static void
test_get_reply(void **state)
{
	struct penc e;
	struct st_conv c;
	struct st_msg m;
	char *s;
	int i;

	penc_init(&e);
	test_fill_conv(&c, 7, 2, "second");
	penc_conv(&e, &c);
	st_conv_free(&c);
	penc_u32(&e, 2);
	for (i = 0; i < 2; i++) {
		memset(&m, 0, sizeof(m));
		snprintf(m.id, sizeof(m.id), "%032x", 100 + i);
		snprintf(m.conv_id, sizeof(m.conv_id), "%032x", 7);
		strlcpy(m.role, i ? "assistant" : "user", sizeof(m.role));
		strlcpy(m.status, "complete", sizeof(m.status));
		m.created_at = 1700000001000ULL + (uint64_t)i;
		m.content = strdup(i ? "second" : "first");
		penc_msg(&e, &m);
		st_msg_free(&m);
	}
	penc_u8(&e, 0);
	s = test_dump(GET_JSON(e.buf, e.len));
	assert_true(strncmp(s, "{\"conversation\":{\"_id\":", 23) == 0);
	assert_non_null(strstr(s, "\"messages\":[{"));
	assert_true(strstr(s, "\"first\"") < strstr(s, "\"content\":\"second\""));
	assert_null(strstr(s, "truncated"));
	free(s);
	assert_null(GET_JSON(e.buf, e.len - 1));
	penc_free(&e);
}

static void
test_admin_conv_query(void **state)
{
	struct admin_conv_q q;
	char big[300];
	const char *bad[] = {
		"widget=", "widget=a%20b", "widget=a/b", "widget=%C3%A9",
		"q=", "q=%FF", "q=%C3", "limit=0&q=x", "q=%zz",
		"knowledge=found", "knowledge=", "knowledge=not_found_at_all",
		"widget=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	size_t i;

	assert_int_equal(admin_conv_query(NULL, &q), 0);
	assert_int_equal(q.limit, ADMIN_LIMIT_DEFAULT);
	assert_string_equal(q.widget, "");
	assert_string_equal(q.q, "");
	assert_int_equal(admin_conv_query("limit=5&cursor=ab&widget=My_w-1&"
	    "q=Hello+W%C3%B6rld", &q), 0);
	assert_int_equal(q.limit, 5);
	assert_string_equal(q.cursor, "ab");
	assert_string_equal(q.widget, "My_w-1");
	assert_string_equal(q.q, "Hello W\xc3\xb6rld");
	assert_int_equal(q.gaps, 0);
	assert_int_equal(admin_conv_query("knowledge=not_found&q=x", &q), 0);
	assert_int_equal(q.gaps, 1);
	assert_string_equal(q.q, "x");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (admin_conv_query(bad[i], &q) != -1)
			fail_msg("accepted %s", bad[i]);
	/* q: 200 bytes at most. */
	strlcpy(big, "q=", sizeof(big));
	memset(big + 2, 'a', 200);
	big[202] = '\0';
	assert_int_equal(admin_conv_query(big, &q), 0);
	assert_int_equal(strlen(q.q), 200);
	big[202] = 'a';
	big[203] = '\0';
	assert_int_equal(admin_conv_query(big, &q), -1);
	assert_int_equal(q.handoff_open, 0);

	/* handoff=open: with limit only. */
	assert_int_equal(admin_conv_query("handoff=open", &q), 0);
	assert_int_equal(q.handoff_open, 1);
	assert_int_equal(q.limit, ADMIN_LIMIT_DEFAULT);
	assert_int_equal(admin_conv_query("limit=7&handoff=open", &q), 0);
	assert_int_equal(q.limit, 7);
	assert_int_equal(q.handoff_open, 1);
	/* assignee: mine, unassigned, or a user id. */
	assert_int_equal(q.assigned, ST_ASSIGNED_ANY);
	assert_int_equal(admin_conv_query("assignee=mine", &q), 0);
	assert_int_equal(q.assigned, ST_ASSIGNED_TO);
	assert_int_equal(q.mine, 1);
	assert_int_equal(admin_conv_query("assignee=unassigned&q=x", &q), 0);
	assert_int_equal(q.assigned, ST_ASSIGNED_NONE);
	assert_int_equal(q.mine, 0);
	assert_string_equal(q.assignee, "");
	assert_int_equal(admin_conv_query("assignee="
	    "usr_0123456789abcdef0123456789abcdef", &q), 0);
	assert_int_equal(q.assigned, ST_ASSIGNED_TO);
	assert_string_equal(q.assignee, "usr_0123456789abcdef0123456789abcdef");
	assert_int_equal(admin_conv_query("assignee=", &q), -1);
	assert_int_equal(admin_conv_query("assignee=usr_0123", &q), -1);
	assert_int_equal(admin_conv_query("assignee=Mine", &q), -1);
	assert_int_equal(admin_conv_query("handoff=open&assignee=mine", &q),
	    -1);
	assert_int_equal(admin_conv_query("q=x", &q), 0);
	assert_int_equal(q.handoff_open, 0);
	for (i = 0; i < 5; i++) {
		static const char *const nope[] = {
			"handoff=", "handoff=closed", "handoff=OPEN",
			"handoff=open&q=x", "handoff=open&widget=w",
		};
		if (admin_conv_query(nope[i], &q) != -1)
			fail_msg("accepted %s", nope[i]);
	}
	/* It pages as the other lists: storaged reads the cursor. */
	assert_int_equal(admin_conv_query("handoff=open&cursor=abc", &q), 0);
	assert_int_equal(q.handoff_open, 1);
	assert_string_equal(q.cursor, "abc");
}

/* -------------------------------------------------------- HTTP, fake peer */

static struct peer P;
static struct tclient CL;

static int
peer_group_setup(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
	if (peer_connect(&P) < 0)
		return -1;
	return tclient_open(&CL) == 0 ? 0 : -1;
}

static int
peer_group_teardown(void **state)
{
	tclient_close(&CL);
	peer_admin_teardown(&P);
	return 0;
}

static void
admin_request(const char *method, const char *path)
{
	tclient_request(&CL, method, path, "x-admin-api-key: " KEY "\r\n",
	    NULL);
}

static void
admin_expect(struct tresp *r, int status, const char *body)
{
	tclient_expect(&CL, r, status);
	if (body != NULL)
		assert_string_equal(r->body, body);
}

/* "app;dur=<digits>.<3 digits>" */
static void
check_timing(const struct tresp *r)
{
	char v[64];
	const char *p;

	assert_non_null(tresp_header(r, "Server-Timing", v, sizeof(v)));
	assert_true(strncmp(v, "app;dur=", 8) == 0);
	for (p = v + 8; *p >= '0' && *p <= '9'; p++)
		;
	assert_true(p > v + 8 && *p == '.');
	assert_int_equal(strlen(p + 1), 3);
	assert_int_equal(strspn(p + 1, "0123456789"), 3);
}

/* pr's ST_CONV_QUERY is these. */
static void
assert_conv_query_to(const struct peer_req *pr, uint32_t limit,
    const char *cursor, const char *widget, const char *q, int assigned,
    const char *assignee, int gaps)
{
	struct st_conv_query_req cq;

	memset(&cq, 0, sizeof(cq));
	assert_int_equal(st_req_decode(PROTO_ST_CONV_QUERY, pr->payload,
	    pr->len, &cq), 0);
	assert_int_equal(cq.limit, limit);
	assert_string_equal(cq.cursor, cursor);
	assert_string_equal(cq.widget, widget);
	assert_string_equal(cq.q, q);
	assert_int_equal(cq.assigned, assigned);
	assert_string_equal(cq.assignee, assignee);
	assert_int_equal(cq.gaps, gaps);
	st_req_free(PROTO_ST_CONV_QUERY, &cq);
}

/* pr's ST_CONV_QUERY is these (and assigned: any, assignee ""). */
static void
assert_conv_query(const struct peer_req *pr, uint32_t limit,
    const char *cursor, const char *widget, const char *q, int gaps)
{
	assert_conv_query_to(pr, limit, cursor, widget, q, ST_ASSIGNED_ANY, "",
	    gaps);
}

static void
test_admin_list_query_request(void **state)
{
	struct peer_req pr;
	struct tresp r;
	struct penc e;

	admin_request("GET", "/v1/admin/conversations?widget=w1&q=Ab%2Cc"
	    "&limit=3&cursor=xy&knowledge=not_found");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	assert_conv_query(&pr, 3, "xy", "w1", "Ab,c", 1);
	penc_init(&e);
	penc_u64(&e, 7);
	penc_u32(&e, 0);
	penc_str(&e, "next");
	peer_reply(&P, &pr, e.buf, e.len);
	penc_free(&e);
	admin_expect(&r, 200,
	    "{\"conversations\":[],\"total\":7,\"nextCursor\":\"next\"}");
	check_timing(&r);
	tresp_free(&r);

	/* No filters: the same request with "" for both. */
	admin_request("GET", "/v1/admin/conversations");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	assert_conv_query(&pr, ADMIN_LIMIT_DEFAULT, "", "", "", 0);
	peer_error(&P, &pr, PROTO_E_INVALID, "cursor");
	admin_expect(&r, 400, "{\"error\":\"Invalid query parameters\"}");
	tresp_free(&r);

	/* A user's conversations; "mine" is no key's (no person). */
	admin_request("GET", "/v1/admin/conversations?assignee="
	    "usr_0123456789abcdef0123456789abcdef");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	assert_conv_query_to(&pr, ADMIN_LIMIT_DEFAULT, "", "", "",
	    ST_ASSIGNED_TO, "usr_0123456789abcdef0123456789abcdef", 0);
	peer_error(&P, &pr, PROTO_E_INVALID, "assignee");
	admin_expect(&r, 400, "{\"error\":\"Invalid query parameters\"}");
	tresp_free(&r);
	admin_request("GET", "/v1/admin/conversations?assignee=mine");
	admin_expect(&r, 400,
	    "{\"error\":\"assignee=mine needs a dashboard session\"}");
	tresp_free(&r);

	admin_request("GET", "/v1/admin/conversations?widget=");
	admin_expect(&r, 400, "{\"error\":\"Invalid query parameters\"}");
	tresp_free(&r);
	admin_request("GET", "/v1/admin/conversations?q=%FF");
	admin_expect(&r, 400, "{\"error\":\"Invalid query parameters\"}");
	tresp_free(&r);
}

static void
test_admin_conv_delete(void **state)
{
	struct peer_req pr;
	struct tresp r;
	struct pdec d;
	char s[64];

	admin_request("DELETE", "/v1/admin/conversations/"
	    "0123456789abcdef0123456789abcdef");
	peer_expect(&P, &pr, PROTO_ST_CONV_DELETE);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "0123456789abcdef0123456789abcdef");
	assert_int_equal(pdec_done(&d), 0);
	peer_reply(&P, &pr, NULL, 0);
	admin_expect(&r, 204, "");
	assert_null(strcasestr(r.head, "Content-Length"));
	tresp_free(&r);

	admin_request("DELETE", "/v1/admin/conversations/"
	    "0123456789abcdef0123456789abcdef");
	peer_expect(&P, &pr, PROTO_ST_CONV_DELETE);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	admin_expect(&r, 404, "{\"error\":\"Conversation not found\"}");
	tresp_free(&r);

	admin_request("DELETE", "/v1/admin/conversations/nope");
	admin_expect(&r, 400, "{\"error\":\"Invalid conversationId\"}");
	tresp_free(&r);
	peer_expect_none(&P, 50);
}

/*
 * A new invitation under the hash of another organisation's (storaged's
 * `exists`: two random 256-bit tokens alike) is 409, never a 500.
 */
static void
test_admin_invite_exists(void **state)
{
	struct peer_req pr;
	struct tresp r;

	tclient_request(&CL, "POST", "/v1/admin/users",
	    "x-admin-api-key: " KEY "\r\nContent-Type: application/json\r\n",
	    "{\"email\":\"ann@example.com\",\"role\":\"agent\"}");
	peer_expect(&P, &pr, PROTO_ST_USER_INVITE);
	peer_error(&P, &pr, PROTO_E_EXISTS,
	    "token_hash: another organization's invitation has it");
	admin_expect(&r, 409,
	    "{\"error\":\"Invitation token already in use: try again\"}");
	tresp_free(&r);
	peer_expect_none(&P, 50);
}

/*
 * A request with a body is routed at its head (its body's limit) and
 * dispatched on the route found then (router.c's kept match): the next
 * request, of another method or path, is routed as its own.
 */
/* POST path (an invitation of email) asked of storaged, "exists": 409. */
static void
invite_exists(const char *path, const char *email)
{
	struct peer_req pr;
	struct tresp r;
	char body[128];

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"role\":\"agent\"}",
	    email);
	tclient_request(&CL, "POST", path,
	    "x-admin-api-key: " KEY "\r\nContent-Type: application/json\r\n",
	    body);
	peer_expect(&P, &pr, PROTO_ST_USER_INVITE);
	peer_error(&P, &pr, PROTO_E_EXISTS, "exists");
	admin_expect(&r, 409, NULL);
	tresp_free(&r);
}

static void
test_admin_route_after_body(void **state)
{
	struct tresp r;

	invite_exists("/v1/admin/users", "ann@example.com");
	/* The same path, another method: 405, not the invitation again. */
	admin_request("DELETE", "/v1/admin/users");
	admin_expect(&r, 405, "{\"error\":\"Method not allowed\"}");
	tresp_free(&r);
	/* The same method, another path: 404. */
	invite_exists("/v1/admin/users", "ann@example.com");
	admin_request("POST", "/v1/admin/nowhere");
	admin_expect(&r, 404, "{\"error\":\"Not found\"}");
	tresp_free(&r);
	/* Another path of the same route: matched again, the same route. */
	invite_exists("/v1/admin/users/", "bob@example.com");
	peer_expect_none(&P, 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_list_query),
		cmocka_unit_test(test_conv_json),
		cmocka_unit_test(test_msg_json),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_list_reply),
		cmocka_unit_test(test_get_reply),
		cmocka_unit_test(test_admin_conv_query),
	};
	const struct CMUnitTest peer_tests[] = {
		cmocka_unit_test(test_admin_list_query_request),
		cmocka_unit_test(test_admin_conv_delete),
		cmocka_unit_test(test_admin_invite_exists),
		cmocka_unit_test(test_admin_route_after_body),
	};

	log_init("test_admin");
	if (cmocka_run_group_tests(tests, NULL, NULL) != 0)
		return 1;
	return cmocka_run_group_tests_name("admin over HTTP", peer_tests,
	    peer_group_setup, peer_group_teardown);
}
