/*
 * The model's tool calls of a round (toolcall.c), from the chunks of a
 * stream as the servers send them (sse.c's decoder first): OpenAI's
 * pieces, a call whole in one delta, two calls interleaved; and what is
 * refused, the first reason kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "toolcall.h"

/* Each chunk's data decoded and merged: the last toolcalls_add's result. */
static int
feed(struct toolcalls *tc, const char *const *chunks, size_t n,
    int *tool_finish)
{
	struct sse_chunk c;
	size_t i;
	int rc = 0;

	*tool_finish = 0;
	for (i = 0; i < n; i++) {
		assert_int_equal(sse_chunk_parse(chunks[i], strlen(chunks[i]),
		    &c), 0);
		if (c.tools != NULL)
			rc = toolcalls_add(tc, c.tools);
		*tool_finish |= c.tool_finish;
		sse_chunk_free(&c);
	}
	return rc;
}

/* chunks read into tc as a whole round of n calls, a tool_calls finish fin. */
static void
read_whole(struct toolcalls *tc, const char *const *chunks, size_t nchunks,
    int fin, uint32_t n)
{
	int f;

	toolcalls_init(tc);
	assert_int_equal(feed(tc, chunks, nchunks, &f), 0);
	assert_int_equal(f, fin);
	assert_int_equal(toolcalls_end(tc), 0);
	assert_int_equal(tc->n, n);
}

#define DELTA(x)	"{\"choices\":[{\"index\":0,\"delta\":" x "}]}"
#define TC(x)		DELTA("{\"tool_calls\":[" x "]}")

/* OpenAI's stream: the name first, the arguments in pieces. */
static void
test_openai_pieces(void **state)
{
	static const char *const chunks[] = {
		DELTA("{\"role\":\"assistant\",\"content\":null}"),
		TC("{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
		    "\"function\":{\"name\":\"get_order\",\"arguments\":\"\"}}"),
		TC("{\"index\":0,\"function\":{\"arguments\":\"{\\\"ord\"}}"),
		TC("{\"index\":0,\"function\":{\"arguments\":\"er_id\\\": \"}}"),
		TC("{\"index\":0,\"function\":{\"arguments\":\"\\\"4411\\\"}\"}}"),
		"{\"choices\":[{\"index\":0,\"delta\":{},"
		    "\"finish_reason\":\"tool_calls\"}]}",
	};
	struct toolcalls tc;

	read_whole(&tc, chunks, 6, 1, 1);
	assert_string_equal(tc.calls[0].id, "call_1");
	assert_string_equal(tc.calls[0].name, "get_order");
	assert_string_equal(tc.calls[0].args, "{\"order_id\": \"4411\"}");
	assert_string_equal(json_string_value(json_object_get(
	    tc.calls[0].parsed, "order_id")), "4411");
	toolcalls_free(&tc);
}

/* Two calls, each whole in one delta (Ollama), and one without arguments. */
static void
test_whole_and_two(void **state)
{
	static const char *const chunks[] = {
		TC("{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"now\"}},"
		    "{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"find\","
		    "\"arguments\":\"{\\\"q\\\":\\\"tea\\\"}\"}}"),
		/* A repeat of what is known is taken. */
		TC("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"find\"}}"),
	};
	struct toolcalls tc;

	read_whole(&tc, chunks, 2, 0, 2);
	assert_string_equal(tc.calls[0].name, "find");
	assert_string_equal(tc.calls[1].name, "now");
	assert_int_equal(json_object_size(tc.calls[1].parsed), 0);
	toolcalls_free(&tc);
}

/* One refused delta, or one incomplete call: the round's reason, kept. */
static void
refused(const char *chunk, int at_end, const char *why)
{
	struct toolcalls tc;
	int fin;

	toolcalls_init(&tc);
	if (!at_end) {
		assert_int_equal(feed(&tc, &chunk, 1, &fin), -1);
		assert_int_equal(toolcalls_end(&tc), -1);
	} else {
		assert_int_equal(feed(&tc, &chunk, 1, &fin), 0);
		assert_int_equal(toolcalls_end(&tc), -1);
	}
	assert_non_null(tc.why);
	if (strstr(tc.why, why) == NULL)
		fail_msg("%s: %s, not %s", chunk, tc.why, why);
	toolcalls_free(&tc);
}

/* chunk's one call ends well, its arguments not one object: parsed NULL. */
static void
not_object(const char *chunk)
{
	struct toolcalls tc;
	int fin;

	toolcalls_init(&tc);
	assert_int_equal(feed(&tc, &chunk, 1, &fin), 0);
	assert_int_equal(toolcalls_end(&tc), 0);
	assert_int_equal(tc.n, 1);
	assert_null(tc.calls[0].parsed);
	toolcalls_free(&tc);
}

static void
test_refused(void **state)
{
	struct toolcalls tc;
	char big[TOOLCALL_ARGS_MAX + 200];

	refused(DELTA("{\"tool_calls\":{}}"), 0, "not an array");
	refused(TC("3"), 0, "not an object");
	refused(TC("{\"id\":\"x\"}"), 0, "no index");
	refused(TC("{\"index\":8,\"id\":\"x\"}"), 0, "more than 8");
	refused(TC("{\"index\":-1}"), 0, "more than 8");
	refused(TC("{\"index\":0,\"type\":\"code\"}"), 0, "type");
	refused(TC("{\"index\":0,\"id\":\"a\"},{\"index\":0,\"id\":\"b\"}"), 0,
	    "a second one");
	refused(TC("{\"index\":0,\"id\":5}"), 0, "id out of shape");
	refused(TC("{\"index\":0,\"function\":[]}"), 0, "function not");
	refused(TC("{\"index\":0,\"function\":{\"arguments\":{}}}"), 0,
	    "not a string");
	refused(TC("{\"index\":0,\"function\":{\"name\":\"a\"}},"
	    "{\"index\":0,\"function\":{\"name\":\"b\"}}"), 0, "a second one");
	/* Complete only at the end. */
	refused(TC("{\"index\":0,\"function\":{\"name\":\"f\"}}"), 1,
	    "without an id");
	refused(TC("{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"f\"}}"),
	    1, "without an id");
	/* Two calls of one id: a visitor's yes to one would run the other. */
	refused(TC("{\"index\":0,\"id\":\"dup\",\"function\":{\"name\":"
	    "\"f\"}},{\"index\":1,\"id\":\"dup\",\"function\":{\"name\":"
	    "\"g\"}}"), 1, "two with one id");
	refused(TC("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":"
	    "\"get order\"}}"), 1, "a name not");
	/* Arguments not one object: that call's parsed NULL, the round on. */
	not_object(TC("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"[1]\"}}"));
	not_object(TC("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"{\\\"a\\\":1\"}}"));
	not_object(TC("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"{\\\"n\\\":12345678901234567890}\"}}"));
	/* None at all. */
	toolcalls_init(&tc);
	assert_int_equal(toolcalls_end(&tc), -1);
	toolcalls_free(&tc);
	/* Arguments past 16 KiB. */
	snprintf(big, sizeof(big), TC("{\"index\":0,\"id\":\"a\",\"function\":"
	    "{\"name\":\"f\",\"arguments\":\"%0*d\"}}"), TOOLCALL_ARGS_MAX + 1,
	    0);
	refused(big, 0, "over 16 KiB");
}

/*
 * The mock model's stream of two calls, as it sent it (recorded from
 * `[[mock:call=get_order,args={"order_id":"4411"},call=now]]`, its data
 * lines one a line): read whole.
 */
static void
test_mock_stream(void **state)
{
	char line[4096];
	struct toolcalls tc;
	struct sse_chunk c;
	FILE *f;
	int fin = 0;

	assert_non_null(f = fopen("tests/fixtures/toolcall/mock-stream.txt",
	    "r"));
	toolcalls_init(&tc);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(sse_chunk_parse(line, strlen(line), &c), 0);
		if (c.tools != NULL)
			assert_int_equal(toolcalls_add(&tc, c.tools), 0);
		fin |= c.tool_finish;
		sse_chunk_free(&c);
	}
	fclose(f);
	assert_int_equal(fin, 1);
	assert_int_equal(toolcalls_end(&tc), 0);
	assert_int_equal(tc.n, 2);
	assert_string_equal(tc.calls[0].name, "get_order");
	assert_string_equal(tc.calls[0].args, "{\"order_id\":\"4411\"}");
	assert_string_equal(tc.calls[1].name, "now");
	assert_string_equal(tc.calls[1].args, "{}");
	toolcalls_free(&tc);
}

/* A finish reason spelt with an escape is still tool_calls, either reader. */
static void
test_finish_escaped(void **state)
{
	static const char data[] = "{\"choices\":[{\"delta\":{},"
	    "\"finish_reason\":\"tool\\u005fcalls\"}]}";
	struct sse_chunk c;

	assert_int_equal(sse_chunk_parse(data, strlen(data), &c), 0);
	assert_int_equal(c.tool_finish, 1);
	sse_chunk_free(&c);
	assert_int_equal(sse_chunk_parse_json(data, strlen(data), &c), 0);
	assert_int_equal(c.tool_finish, 1);
	sse_chunk_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_pieces),
		cmocka_unit_test(test_whole_and_two),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_finish_escaped),
		cmocka_unit_test(test_mock_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
