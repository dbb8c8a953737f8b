/* The widget visitor's WebSocket messages: what is accepted and why not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "workerd.h"

static int
parse(const char *s, struct wsmsg *m)
{
	return wsmsg_parse(s, strlen(s), m);
}

static void
test_message(void **state)
{
	struct wsmsg m;
	char *big;

	assert_int_equal(parse("{\"type\":\"message\",\"content\":\"Hello!\","
	    "\"extra\":1}", &m), 0);
	assert_int_equal(m.type, WSMSG_MESSAGE);
	assert_int_equal(m.content_len, 6);
	assert_memory_equal(m.content, "Hello!", 6);
	wsmsg_free(&m);

	/* 4000 characters (not bytes) is the most. */
	big = malloc(4000 * 2 + 64);
	assert_non_null(big);
	strcpy(big, "{\"type\":\"message\",\"content\":\"");
	for (int i = 0; i < 4000; i++)
		strcat(big, "\xc3\xa9");
	strcat(big, "\"}");
	assert_int_equal(parse(big, &m), 0);
	wsmsg_free(&m);
	big[strlen(big) - 2] = '\0';
	strcat(big, "x\"}");
	assert_int_equal(parse(big, &m), -1);
	assert_string_equal(m.error, "content: must be 1 to 4000 characters");
	wsmsg_free(&m);
	free(big);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *in, *why;
	} tab[] = {
		{ "", "Invalid message: expected a JSON object" },
		{ "not json", "Invalid message: expected a JSON object" },
		{ "[1]", "Invalid message: expected a JSON object" },
		{ "\"message\"", "Invalid message: expected a JSON object" },
		{ "{\"type\":\"message\",\"type\":\"message\",\"content\":\"a\"}",
		    "Invalid message: expected a JSON object" },
		{ "{}", "Invalid message: unknown type" },
		{ "{\"type\":7}", "Invalid message: unknown type" },
		{ "{\"type\":\"MESSAGE\",\"content\":\"a\"}",
		    "Invalid message: unknown type" },
		{ "{\"type\":\"message\"}", "content: must be a string" },
		{ "{\"type\":\"message\",\"content\":null}",
		    "content: must be a string" },
		{ "{\"type\":\"message\",\"content\":\"\"}",
		    "content: must be 1 to 4000 characters" },
		{ "{\"type\":\"message\",\"content\":\" \\n\\t\"}",
		    "content: must be 1 to 4000 characters" },
		/* JavaScript's white space, as the widget's trim() sees it. */
		{ "{\"type\":\"message\",\"content\":"
		    "\"\\u3000\\u00a0\\ufeff\\u2028\\u000b\"}",
		    "content: must be 1 to 4000 characters" },
		{ "{\"type\":\"message\",\"content\":\"a\\u0000b\"}",
		    "content: must be 1 to 4000 characters" },
		{ "{\"type\":\"contact_info\",\"email\":7}",
		    "email: must be a string" },
		{ "{\"type\":\"contact_info\",\"name\":[\"x\"]}",
		    "name: must be a string" },
		{ "{\"type\":\"contact_info\",\"phone\":\"1\\u00002\"}",
		    "phone: must be a string" },
	};
	struct wsmsg m;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (parse(tab[i].in, &m) != -1)
			fail_msg("accepted: %s", tab[i].in);
		assert_int_equal(m.type, WSMSG_INVALID);
		assert_null(m.root);
		assert_string_equal(m.error, tab[i].why);
		/*
		 * The kind its type names stays (its error answers it):
		 * none when no frame's type is named.
		 */
		if (strncmp(tab[i].why, "Invalid message: ", 17) == 0)
			assert_int_equal(m.asked, WSMSG_INVALID);
		else
			assert_int_equal(m.asked, strstr(tab[i].in,
			    "contact_info") != NULL ? WSMSG_CONTACT :
			    WSMSG_MESSAGE);
		wsmsg_free(&m);
	}
}

/* Each kind's type, as its error frames name it; none for INVALID. */
static void
test_frame_type(void **state)
{
	const struct wsframe *f;

	for (f = wsframes; f->type != NULL; f++)
		assert_string_equal(wsframe_type(f->msg), f->type);
	assert_string_equal(wsframe_type(WSMSG_RATING), "rating");
	assert_null(wsframe_type(WSMSG_INVALID));
}

static void
test_contact(void **state)
{
	struct wsmsg m;

	assert_int_equal(parse("{\"type\":\"contact_info\",\"name\":\"Jane\","
	    "\"email\":\"jane@example.com\",\"phone\":null}", &m), 0);
	assert_int_equal(m.type, WSMSG_CONTACT);
	assert_string_equal(m.name, "Jane");
	assert_string_equal(m.email, "jane@example.com");
	assert_string_equal(m.phone, "");
	wsmsg_free(&m);
	/* Fields are checked by storaged; none at all is its refusal. */
	assert_int_equal(parse("{\"type\":\"contact_info\"}", &m), 0);
	assert_string_equal(m.name, "");
	wsmsg_free(&m);
}

/* A person, please: no fields (others ignored). */
static void
test_request_human(void **state)
{
	struct wsmsg m;

	assert_int_equal(parse("{\"type\":\"request_human\"}", &m), 0);
	assert_int_equal(m.type, WSMSG_REQUEST_HUMAN);
	wsmsg_free(&m);
	assert_int_equal(parse("{\"type\":\"request_human\",\"x\":[1]}",
	    &m), 0);
	assert_int_equal(m.type, WSMSG_REQUEST_HUMAN);
	wsmsg_free(&m);
	assert_int_equal(parse("{\"type\":\"Request_human\"}", &m), -1);
	assert_string_equal(m.error, "Invalid message: unknown type");
	wsmsg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_contact),
		cmocka_unit_test(test_request_human),
		cmocka_unit_test(test_frame_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
