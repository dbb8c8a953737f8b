/*
 * The admin API's pure parts: the key check, ?limit=&cursor=, and the
 * JSON made from storaged's replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "test_peer.h"

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
		"limit=-1", "limit=%2B5", "limit=1.5", "limit=1e2",
		"limit=99999999999999999999", "limit=%20%35", "limit=%zz",
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
fill_conv(struct st_conv *c, int n, uint32_t count, const char *last)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%032x", n);
	strlcpy(c->widget, "default", sizeof(c->widget));
	snprintf(c->session, sizeof(c->session), "sess-%d", n);
	c->created_at = 1700000000000ULL + (uint64_t)n;
	c->updated_at = 1700000000500ULL + (uint64_t)n;
	c->message_count = count;
	c->last_message = strdup(last);
}

static void
test_conv_json(void **state)
{
	struct st_conv c;
	char *s;

	fill_conv(&c, 1, 2, "hi \"there\"");
	s = test_dump(admin_conv_json(&c));
	assert_string_equal(s,
	    "{\"_id\":\"00000000000000000000000000000001\","
	    "\"_creationTime\":1700000000001,\"sessionId\":\"sess-1\","
	    "\"createdAt\":1700000000001,\"updatedAt\":1700000000501,"
	    "\"lastMessage\":\"hi \\\"there\\\"\",\"widgetId\":\"default\","
	    "\"messageCount\":2,\"contactId\":null}");
	free(s);
	st_conv_free(&c);

	/* No message yet: no lastMessage at all. */
	fill_conv(&c, 2, 0, "");
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
	    "\"promptTokens\":12,\"completionTokens\":34}");
	free(s);
	st_msg_free(&m);
}

static void
test_json_text(void **state)
{
	char *s;

	s = test_dump(json_text("ok \xe2\x82\xac"));
	assert_string_equal(s, "\"ok \xe2\x82\xac\"");
	free(s);
	/* Invalid UTF-8 (a lone continuation, an overlong, a surrogate). */
	s = test_dump(json_text("a\x80" "b\xc0\xaf" "c\xed\xa0\x80"));
	assert_string_equal(s, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
	s = test_dump(json_text("cut \xe2\x82"));
	assert_string_equal(s, "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
}

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
		fill_conv(&c, i, (uint32_t)i, "last");
		penc_conv(&e, &c);
		st_conv_free(&c);
	}
	penc_str(&e, "00ff");
	assert_false(e.err);
	s = test_dump(admin_list_reply(e.buf, e.len));
	assert_non_null(strstr(s, "\"total\":5"));
	assert_non_null(strstr(s, "\"nextCursor\":\"00ff\""));
	assert_non_null(strstr(s, "\"sessionId\":\"sess-1\""));
	assert_non_null(strstr(s, "\"sessionId\":\"sess-2\""));
	assert_true(strstr(s, "sess-1") < strstr(s, "sess-2"));
	free(s);

	/* Truncated or with trailing bytes: refused. */
	assert_null(admin_list_reply(e.buf, e.len - 1));
	penc_u8(&e, 0);
	assert_null(admin_list_reply(e.buf, e.len));
	penc_free(&e);

	/* The end of the list: nextCursor null. */
	s = test_empty_page(admin_list_reply);
	assert_string_equal(s,
	    "{\"conversations\":[],\"total\":0,\"nextCursor\":null}");
	free(s);

	/* A count beyond what storaged may send. */
	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, ST_LIST_MAX + 1);
	assert_null(admin_list_reply(e.buf, e.len));
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
	fill_conv(&c, 7, 2, "second");
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
	s = test_dump(admin_get_reply(e.buf, e.len));
	assert_true(strncmp(s, "{\"conversation\":{\"_id\":", 23) == 0);
	assert_non_null(strstr(s, "\"messages\":[{"));
	assert_true(strstr(s, "\"first\"") < strstr(s, "\"content\":\"second\""));
	assert_null(strstr(s, "truncated"));
	free(s);
	assert_null(admin_get_reply(e.buf, e.len - 1));
	penc_free(&e);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
