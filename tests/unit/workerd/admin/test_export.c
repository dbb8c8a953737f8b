/*
 * GET /v1/admin/export: the parameters, and the stream against a fake
 * storaged (pages, a failure midway, a client that leaves, replies that
 * do not decode); GET /v1/admin/reports made from storaged's hours.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "reportmsg.h"
#include "test_client.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define ADMIN	"x-admin-api-key: " KEY "\r\n"
#define HOUR	3600000ULL
/* Conversation n's id (n a digit). */
#define ID(n)	"0000000000000000000000000000000" #n

static struct peer P;

static void
test_export_params(void **state)
{
	struct export_params p;
	const char *bad[] = {
		NULL, "", "format=jsonl", "rows=messages", "format=xml&"
		"rows=messages", "format=csv&rows=widgets", "format=CSV&"
		"rows=messages", "format=csv&rows=messages&conversation=",
		"format=csv&rows=messages&conversation=abc",
		"format=csv&rows=messages&conversation="
		    "0000000000000000000000000000000G",
		"format=csv&rows=messages&conversation="
		    "0000000000000000000000000000000A",
		"format=csv&rows=messages&widget=",
		"format=csv&rows=messages&widget=a%20b",
		"format=csv&rows=messages&widget="
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"format=csv&rows=messages&x=%zz",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (export_params_parse(bad[i], &p) != -1)
			fail_msg("accepted %s", bad[i]);
	/* The error names the parameter and what it takes. */
	assert_int_equal(export_params_parse("format=csv", &p), -1);
	assert_string_equal(p.why, "rows must be conversations or messages");
	assert_int_equal(export_params_parse("rows=messages", &p), -1);
	assert_string_equal(p.why, "format must be jsonl or csv");
	assert_int_equal(export_params_parse("format=csv&rows=messages&"
	    "conversation=abc", &p), -1);
	assert_non_null(strstr(p.why, "conversation must be"));
	/* A bad %-escape anywhere is the query's, not format's or rows'. */
	assert_int_equal(export_params_parse("format=csv&rows=conversations&"
	    "conversation=%ZZ", &p), -1);
	assert_string_equal(p.why, "Invalid query parameters");
	assert_int_equal(export_params_parse("format=j%ZZ", &p), -1);
	assert_string_equal(p.why, "Invalid query parameters");
	assert_int_equal(export_params_parse("format=jsonl&rows=conversations",
	    &p), 0);
	assert_null(p.why);
	assert_int_equal(p.format, EXPORT_JSONL);
	assert_int_equal(p.rows, EXPORT_CONVS);
	assert_string_equal(p.conv, "");
	assert_string_equal(p.widget, "");
	assert_string_equal(export_filename(&p), "parley-conversations.jsonl");
	assert_string_equal(export_ctype(&p),
	    "application/x-ndjson; charset=utf-8");
	assert_int_equal(export_params_parse("rows=messages&format=csv&"
	    "widget=my_W-1&conversation=0123456789abcdef0123456789abcdef",
	    &p), 0);
	assert_int_equal(p.format, EXPORT_CSV);
	assert_int_equal(p.rows, EXPORT_MSGS);
	assert_string_equal(p.conv, "0123456789abcdef0123456789abcdef");
	assert_string_equal(p.widget, "my_W-1");
	assert_string_equal(export_filename(&p), "parley-messages.csv");
	assert_string_equal(export_ctype(&p), "text/csv; charset=utf-8");
}

/* -------------------------------------------------------- HTTP, fake peer */

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
	admin_init(KEY);
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

static void
get(const char *path)
{
	tclient_request(&CL, "GET", path, ADMIN, NULL);
}

/*
 * An export that will run: first noted in the audit log (ST_AUDIT_NOTE
 * "export", target the one conversation or ""), answered as recorded.
 */
static void
get_noted(const char *path, const char *target)
{
	struct peer_req pr;
	char s[64];
	struct pdec d;

	get(path);
	peer_expect(&P, &pr, PROTO_ST_AUDIT_NOTE);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "export");
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, target);
	assert_int_equal(pdec_done(&d), 0);
	peer_reply(&P, &pr, NULL, 0);
}

/* ST_CONV_QUERY's payload: limit, cursor, widget, q, every assignee. */
static void
check_query(const struct peer_req *pr, const char *cursor,
    const char *widget)
{
	struct st_conv_query_req q;

	memset(&q, 0, sizeof(q));
	assert_int_equal(st_req_decode(PROTO_ST_CONV_QUERY, pr->payload,
	    pr->len, &q), 0);
	assert_int_equal(q.limit, ST_LIST_MAX);
	assert_string_equal(q.cursor, cursor);
	assert_string_equal(q.widget, widget);
	assert_string_equal(q.q, "");
	assert_int_equal(q.assigned, ST_ASSIGNED_ANY);
	assert_string_equal(q.assignee, "");
	assert_int_equal(q.gaps, 0);
	assert_int_equal(q.order, ST_ORDER_CREATED);
	st_req_free(PROTO_ST_CONV_QUERY, &q);
}

/*
 * ST_MSG_PAGES's payload: the conversations convs (nconvs of them, by
 * number), from, limit.
 */
static void
check_pages(const struct peer_req *pr, const int *convs, uint32_t nconvs,
    uint32_t from)
{
	struct st_msg_pages_req q;
	char want[64];
	uint32_t i;

	assert_int_equal(pr->type, PROTO_ST_MSG_PAGES);
	memset(&q, 0, sizeof(q));
	assert_int_equal(st_req_decode(PROTO_ST_MSG_PAGES, pr->payload,
	    pr->len, &q), 0);
	assert_int_equal(q.n, nconvs);
	for (i = 0; i < nconvs; i++) {
		snprintf(want, sizeof(want), "%032x", convs[i]);
		assert_string_equal(q.ids[i].s, want);
	}
	assert_int_equal(q.from, from);
	assert_int_equal(q.limit, ST_LIST_MAX);
	st_req_free(PROTO_ST_MSG_PAGES, &q);
}

/* The next request: ST_MSG_PAGES of conversation conv alone, from. */
static void
expect_pages_of(struct peer_req *pr, int conv, uint32_t from)
{
	peer_expect(&P, pr, PROTO_ST_MSG_PAGES);
	check_pages(pr, &conv, 1, from);
}

/* A page of conversations numbered first.., each with counts[i] messages. */
static void
reply_conv_list(const struct peer_req *pr, int first, int n,
    const uint32_t *counts, const char *next)
{
	struct st_conv c;
	struct penc e;
	int i;

	penc_init(&e);
	penc_u64(&e, 99);
	penc_u32(&e, (uint32_t)n);
	for (i = 0; i < n; i++) {
		test_fill_conv(&c, first + i, counts[i], "last");
		penc_conv(&e, &c);
		st_conv_free(&c);
	}
	penc_str(&e, next);
	peer_reply_enc(&P, pr, &e);
}

/* reply_conv_list with count messages each. */
static void
reply_convs(const struct peer_req *pr, int first, int n, uint32_t count,
    const char *next)
{
	uint32_t counts[ST_LIST_MAX];
	int i;

	for (i = 0; i < n; i++)
		counts[i] = count;
	reply_conv_list(pr, first, n, counts, next);
}

/*
 * ST_MSG_PAGES's reply: messages first.. of conversation conv (n of
 * them), then first2.. of conv2 (n2), and where to go on.
 */
static void
reply_pages(const struct peer_req *pr, int conv, int first, int n,
    int conv2, int first2, int n2, uint32_t next_conv, uint32_t next_from)
{
	struct st_msg m[8];
	struct st_msg_pages_rep mp;
	char text[32];
	int i;

	assert_true(n + n2 <= 8);
	for (i = 0; i < n + n2; i++) {
		snprintf(text, sizeof(text), "m%d,%d", i < n ? conv : conv2,
		    i < n ? first + i : first2 + i - n);
		test_fill_msg(&m[i], i < n ? conv : conv2,
		    i < n ? first + i : first2 + i - n, text);
	}
	memset(&mp, 0, sizeof(mp));
	mp.msgs = m;
	mp.n = (uint32_t)(n + n2);
	mp.next_conv = next_conv;
	mp.next_from = next_from;
	peer_reply_cut(&P, pr, &mp, 0);
	for (i = 0; i < n + n2; i++)
		st_msg_free(&m[i]);
}

/* reply_pages of one conversation's messages. */
static void
reply_msgs(const struct peer_req *pr, int conv, int first, int n,
    uint32_t next_conv, uint32_t next_from)
{
	reply_pages(pr, conv, first, n, 0, 0, 0, next_conv, next_from);
}

static void
test_export_bad_requests(void **state)
{
	struct peer_req pr;

	/* The error names the parameter and what it takes. */
	get("/v1/admin/export?format=csv");
	tclient_expect_error(&CL, 400, "rows must be conversations or "
	    "messages");
	get("/v1/admin/export?format=csv&rows=messages&conversation=xyz");
	tclient_expect_error(&CL, 400, "conversation must be a conversation "
	    "id (32 hex digits)");
	peer_expect_none(&P, 50);

	/* An unknown conversation: 404 before anything is sent. */
	get_noted("/v1/admin/export?format=csv&rows=messages&conversation="
	    ID(9), ID(9));
	peer_expect(&P, &pr, PROTO_ST_CONV_GET);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Conversation not found");
	get_noted("/v1/admin/export?format=jsonl&rows=conversations&"
	    "conversation=" ID(9), ID(9));
	peer_expect(&P, &pr, PROTO_ST_CONV_GET);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Conversation not found");

	/* storaged failing before the first byte: an ordinary answer. */
	get_noted("/v1/admin/export?format=jsonl&rows=conversations", "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");

	/* No key. */
	{
		const char *req = "GET /v1/admin/export?format=csv&"
		    "rows=messages HTTP/1.1\r\nHost: t\r\n\r\n";

		assert_int_equal(tclient_send(&CL, req, strlen(req)), 0);
	}
	tclient_expect_error(&CL, 401, "Unauthorized");
}

/*
 * rows=messages: a page of conversations' messages asked for together,
 * those without messages never named; each reply says where the next
 * request goes on (within a conversation, at a later one, or past the
 * page), and one that does not move on goes to the next conversation.
 */
static void
test_export_messages_pages(void **state)
{
	static const uint32_t counts[] = { 3, 0, 1 };
	static const int c13[] = { 1, 3 }, c56[] = { 5, 6 };
	struct peer_req pr;
	struct tresp r;
	char v[128];

	get_noted("/v1/admin/export?format=csv&rows=messages&widget=w1",
	    "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	check_query(&pr, "", "w1");
	/* Conversations 1 and 3 with messages, 2 without. */
	reply_conv_list(&pr, 1, 3, counts, "cur1");
	peer_expect(&P, &pr, PROTO_ST_MSG_PAGES);
	check_pages(&pr, c13, 2, 0);
	reply_msgs(&pr, 1, 0, 2, 0, 2);
	peer_expect(&P, &pr, PROTO_ST_MSG_PAGES);
	check_pages(&pr, c13, 2, 2);
	reply_msgs(&pr, 1, 2, 1, 1, 0);
	expect_pages_of(&pr, 3, 0);
	reply_msgs(&pr, 3, 0, 1, 1, 0);
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	check_query(&pr, "cur1", "w1");
	reply_convs(&pr, 4, 1, 0, "cur2");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	check_query(&pr, "cur2", "w1");
	reply_convs(&pr, 5, 2, 1, "");
	peer_expect(&P, &pr, PROTO_ST_MSG_PAGES);
	check_pages(&pr, c56, 2, 0);
	/* Nothing, and no move: conversation 5 is passed over. */
	reply_msgs(&pr, 5, 0, 0, 0, 0);
	expect_pages_of(&pr, 6, 0);
	/* Deleted meanwhile: storaged has none of it, and says it is done. */
	reply_msgs(&pr, 6, 0, 0, 1, 0);

	assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
	assert_int_equal(r.status, 200);
	assert_true(r.complete);
	assert_string_equal(tresp_header(&r, "Content-Type", v, sizeof(v)),
	    "text/csv; charset=utf-8");
	assert_string_equal(tresp_header(&r, "Content-Disposition", v,
	    sizeof(v)), "attachment; filename=\"parley-messages.csv\"");
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	assert_non_null(tresp_header(&r, "Transfer-Encoding", v, sizeof(v)));
	assert_string_equal(r.body,
	    "id,conversationId,role,status,content,createdAt,promptTokens,"
	    "completionTokens,name,feedback,sources,knowledge,arguments,"
	    "durationMs,origin\r\n"
	    "000000000000000000000000000003e8,00000000000000000000000000000001,"
	    "user,complete,\"m1,0\",1700000001000,0,0,,,,,,,\r\n"
	    "000000000000000000000000000003e9,00000000000000000000000000000001,"
	    "assistant,complete,\"m1,1\",1700000001001,1,2,,,,none,,,\r\n"
	    "000000000000000000000000000003ea,00000000000000000000000000000001,"
	    "user,complete,\"m1,2\",1700000001002,2,4,,,,,,,\r\n"
	    "000000000000000000000000000003e8,00000000000000000000000000000003,"
	    "user,complete,\"m3,0\",1700000001000,0,0,,,,,,,\r\n");
	tresp_free(&r);
	peer_expect_none(&P, 50);
	assert_int_equal(storec_inflight(), 0);

	/* The connection goes on with the next request. */
	get_noted("/v1/admin/export?format=jsonl&rows=conversations&"
	    "conversation=" ID(5), ID(5));
	peer_expect(&P, &pr, PROTO_ST_CONV_GET);
	{
		struct st_conv c;
		struct penc e;

		penc_init(&e);
		test_fill_conv(&c, 5, 0, "");
		penc_conv(&e, &c);
		st_conv_free(&c);
		penc_u32(&e, 0);
		penc_u8(&e, 0);
		peer_reply_enc(&P, &pr, &e);
	}
	assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
	assert_int_equal(r.status, 200);
	assert_string_equal(tresp_header(&r, "Content-Disposition", v,
	    sizeof(v)), "attachment; filename=\"parley-conversations.jsonl\"");
	assert_non_null(strstr(r.body, "\"id\":\"00000000000000000000000000000005\""));
	/* One line. */
	assert_ptr_equal(strchr(r.body, '\n'), r.body + r.body_len - 1);
	tresp_free(&r);
}

static void
test_export_storage_fails_midway(void **state)
{
	struct peer_req pr;
	struct tresp r;

	get_noted("/v1/admin/export?format=jsonl&rows=conversations", "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	reply_convs(&pr, 1, 2, 1, "more");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	check_query(&pr, "more", "");
	peer_error(&P, &pr, PROTO_E_INTERNAL, "disk on fire");

	/* The head and the first page came; no final chunk, then close. */
	assert_true(tclient_wait_eof(&CL, 3000));
	assert_int_equal(tresp_parse(&CL, &CL.off, 1, &r), 1);
	assert_int_equal(r.status, 200);
	assert_false(r.complete);
	assert_non_null(strstr(r.body, "00000000000000000000000000000002"));
	tresp_free(&r);
	assert_int_equal(storec_inflight(), 0);
}

static void
test_export_client_leaves(void **state)
{
	struct peer_req pr;

	get_noted("/v1/admin/export?format=csv&rows=messages", "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	reply_convs(&pr, 1, 1, 5, "");
	expect_pages_of(&pr, 1, 0);
	assert_int_equal(storec_inflight(), 1);
	/* The client goes: the request in flight is forgotten. */
	close(CL.fd);
	CL.fd = -1;
	drive_ms(50);
	assert_int_equal(storec_inflight(), 0);
	/* storaged's late answer finds nobody (ASan: no use after free). */
	reply_msgs(&pr, 1, 0, 1, 1, 0);
	drive_ms(50);
	peer_expect_none(&P, 50);
}

/* The next page waits until the client has taken most of the last. */
static void
test_export_backpressure(void **state)
{
	struct peer_req pr;
	struct st_conv c;
	struct penc e;
	struct tresp r;
	char *big;
	int i;

	assert_non_null(big = malloc(2001));
	memset(big, 'x', 2000);
	big[2000] = '\0';
	get_noted("/v1/admin/export?format=csv&rows=conversations", "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	/* 200 x 2 KB: more than the socket takes at once. */
	penc_init(&e);
	penc_u64(&e, 400);
	penc_u32(&e, ST_LIST_MAX);
	for (i = 0; i < ST_LIST_MAX; i++) {
		test_fill_conv(&c, i + 1, 1, big);
		penc_conv(&e, &c);
		st_conv_free(&c);
	}
	penc_str(&e, "next");
	assert_false(e.err);
	/* Too big to flush in one go: the worker reads meanwhile. */
	assert_int_equal(pchan_send(&P.ch, pr.type, PROTO_F_REPLY, pr.id,
	    e.buf, e.len, -1), 0);
	for (i = 0; i < 1000 && pchan_pending(&P.ch); i++) {
		assert_true(pchan_flush(&P.ch) >= 0);
		loop_once(2);
	}
	assert_false(pchan_pending(&P.ch));
	penc_free(&e);
	free(big);
	drive_ms(50);
	assert_true(conn_out_pending(CL.c) >= CONN_DRAIN_LOW);
	peer_expect_none(&P, 50);
	/* The client reads: the next page is asked for. */
	for (i = 0; i < 200 && peer_recv(&P, &pr, 5) < 0; i++)
		tclient_pump(&CL);
	assert_int_equal(pr.type, PROTO_ST_CONV_QUERY);
	check_query(&pr, "next", "");
	reply_convs(&pr, 500, 1, 1, "");
	assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
	assert_int_equal(r.status, 200);
	assert_true(r.complete);
	/* The header row first, although the first page came with rows. */
	assert_true(strncmp(r.body, "id,widgetId,sessionId,contactId,"
	    "createdAt,updatedAt,messageCount,lastMessage,handoff,rating,"
	    "ratingComment,state,snoozedUntil,resolvedBy,resolvedAt\r\n"
	    "00000000000000000000000000000001,", 181) == 0);
	assert_non_null(strstr(r.body, "000000000000000000000000000001f4"));
	tresp_free(&r);
}

/* ------------------------------------------- replies that do not decode */

/* ST_CONV_QUERY's page: conversations 1 and 2 (count messages each), next. */
static void
reply_convs_cut(const struct peer_req *pr, uint32_t count, const char *next,
    int cut)
{
	struct st_conv c[2];
	struct st_conv_page page;

	test_fill_conv(&c[0], 1, count, "one");
	test_fill_conv(&c[1], 2, count, "two");
	memset(&page, 0, sizeof(page));
	page.total = 2;
	page.convs = c;
	page.n = 2;
	page.next_cursor = next;
	peer_reply_cut(&P, pr, &page, cut);
	st_conv_free(&c[0]);
	st_conv_free(&c[1]);
}

/*
 * ST_MSG_PAGES's: messages 0 and 1 of conversation conv, the next page
 * at the request's next_conv.
 */
static void
reply_msgs_cut(const struct peer_req *pr, int conv, uint32_t next_conv,
    int cut)
{
	struct st_msg m[2];
	struct st_msg_pages_rep mp;

	test_fill_msg(&m[0], conv, 0, "first");
	test_fill_msg(&m[1], conv, 1, "second");
	memset(&mp, 0, sizeof(mp));
	mp.msgs = m;
	mp.n = 2;
	mp.next_conv = next_conv;
	peer_reply_cut(&P, pr, &mp, cut);
	st_msg_free(&m[0]);
	st_msg_free(&m[1]);
}

/* ST_CONV_GET's: conversation 5 and its one message. */
static void
reply_conv_cut(const struct peer_req *pr, int cut)
{
	struct st_conv_msgs cm;
	struct st_msg m;

	memset(&cm, 0, sizeof(cm));
	test_fill_conv(&cm.conv, 5, 1, "only");
	test_fill_msg(&m, 5, 0, "only");
	cm.msgs = &m;
	cm.n = 1;
	peer_reply_cut(&P, pr, &cm, cut);
	st_conv_free(&cm.conv);
	st_msg_free(&m);
}

/*
 * The export's end after a reply of cut, before anything was sent
 * (started 0) or after its head: whole, a complete 200 holding want;
 * else a 500 JSON answer before the head, a cut stream (no final chunk,
 * the connection closed) after it, never a 200 that looks whole.
 */
static void
expect_end(int cut, int started, const char *want)
{
	struct tresp r;

	if (cut != 0 && !started) {
		tclient_expect_error(&CL, 500, "Internal server error");
	} else if (cut != 0) {
		assert_true(tclient_wait_eof(&CL, 3000));
		assert_int_equal(tresp_parse(&CL, &CL.off, 1, &r), 1);
		assert_int_equal(r.status, 200);
		assert_false(r.complete);
		assert_non_null(strstr(r.body, want));
		tresp_free(&r);
	} else {
		assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
		assert_int_equal(r.status, 200);
		assert_true(r.complete);
		assert_non_null(strstr(r.body, want));
		tresp_free(&r);
	}
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
	tclient_close(&CL);
	assert_int_equal(tclient_open(&CL), 0);
}


/*
 * Every storaged reply an export reads, whole, a byte short and a byte
 * over (its valid struct encoded by the table): ST_CONV_QUERY's first
 * page and a later one, ST_CONV_GET's (conversation=), ST_MSG_PAGES's
 * (after the head went out: conversation= and a page of them).
 */
static void
test_export_malformed(void **state)
{
	struct peer_req pr;
	int cut;

	for (cut = -1; cut <= 1; cut++) {
		/* The first page of conversations. */
		get_noted("/v1/admin/export?format=jsonl&rows=conversations",
		    "");
		peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
		reply_convs_cut(&pr, 1, "", cut);
		expect_end(cut, 0, "\"id\":\"" ID(2) "\"");

		/* A later page: the first one's rows went out. */
		get_noted("/v1/admin/export?format=jsonl&rows=conversations",
		    "");
		peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
		reply_convs_cut(&pr, 1, "more", 0);
		peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
		check_query(&pr, "more", "");
		reply_convs_cut(&pr, 1, "", cut);
		expect_end(cut, 1, "\"id\":\"" ID(2) "\"");

		/* One conversation. */
		get_noted("/v1/admin/export?format=jsonl&rows=conversations&"
		    "conversation=" ID(5), ID(5));
		peer_expect(&P, &pr, PROTO_ST_CONV_GET);
		reply_conv_cut(&pr, cut);
		expect_end(cut, 0, "\"id\":\"" ID(5) "\"");

		/* One conversation's messages: it is there, then they come. */
		get_noted("/v1/admin/export?format=csv&rows=messages&"
		    "conversation=" ID(5), ID(5));
		peer_expect(&P, &pr, PROTO_ST_CONV_GET);
		reply_conv_cut(&pr, 0);
		expect_pages_of(&pr, 5, 0);
		reply_msgs_cut(&pr, 5, 1, cut);
		expect_end(cut, 1, cut == 0 ? ",second," : "id,conversationId,");

		/* A page's: conversation 1's cut, then 2's empty. */
		get_noted("/v1/admin/export?format=csv&rows=messages", "");
		peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
		reply_convs_cut(&pr, 2, "", 0);
		peer_expect(&P, &pr, PROTO_ST_MSG_PAGES);
		check_pages(&pr, (const int[]){ 1, 2 }, 2, 0);
		reply_msgs_cut(&pr, 1, 1, cut);
		if (cut == 0) {
			expect_pages_of(&pr, 2, 0);
			reply_msgs(&pr, 2, 0, 0, 1, 0);
		}
		expect_end(cut, 1, cut == 0 ? ",second," : "id,conversationId,");
	}
}

/*
 * An export is noted in the audit log first: not noted (storaged's
 * error, or a reply that does not decode), it does not start.
 */
static void
test_export_note_refused(void **state)
{
	struct peer_req pr;

	get("/v1/admin/export?format=csv&rows=messages");
	peer_expect(&P, &pr, PROTO_ST_AUDIT_NOTE);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");
	peer_expect_none(&P, 50);
}

static void
test_export_note_malformed(void **state)
{
	struct peer_req pr;

	get("/v1/admin/export?format=csv&rows=messages");
	peer_expect(&P, &pr, PROTO_ST_AUDIT_NOTE);
	peer_reply(&P, &pr, "x", 1);
	tclient_expect_error(&CL, 500, "Internal server error");
	peer_expect_none(&P, 50);
	/* The connection goes on. */
	get_noted("/v1/admin/export?format=csv&rows=messages", "");
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");
}

/*
 * Asia/Kolkata (+05:30), 2026-06-02 alone: storaged is asked from
 * 18:30Z the day before, and answers the hours that start from there
 * with its agents' sums over them. An hour that starts before (18:00Z,
 * 23:30 local the day before: one conversation) counts on no day all the
 * same; two in the next (00:30 local): the report shows two, in its
 * totals, its day, its hours and its agent alike.
 */
static void
test_half_hour_zone(void **state)
{
	struct peer_req pr;
	struct st_report_get_req q;
	struct st_report_hour rows[2];
	struct st_report_agent agents[1];
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
	memset(agents, 0, sizeof(agents));
	rows[0].hour = (uint32_t)(q.from / HOUR);
	rows[0].v[ST_RC_conversations] = 1;
	rows[1].hour = rows[0].hour + 1;
	rows[1].v[ST_RC_conversations] = 2;
	agents[0].agent = agent;
	agents[0].v[ST_RC_conversations] = 2;
	rep.hours = rows;
	rep.n = 2;
	rep.agents = agents;
	rep.m = 1;
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
		cmocka_unit_test(test_export_params),
		cmocka_unit_test_setup_teardown(test_export_bad_requests,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_export_note_refused,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_export_note_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_export_messages_pages,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(
		    test_export_storage_fails_midway, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_export_client_leaves,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_export_backpressure,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_export_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_half_hour_zone,
		    each_setup, each_teardown),
	};

	log_init("test_export");
	return cmocka_run_group_tests(tests, setup, teardown);
}
