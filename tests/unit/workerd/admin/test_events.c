/*
 * GET /v1/admin/events' pure parts: an event as SSE text (the admin API's
 * JSON in its data line) and the Last-Event-ID it resumes from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "test_util.h"
#include "workerd.h"

/* An event of kind on conversation 1, epoch 0xab, seq 7. */
static void
fill_event(struct st_event *ev, uint8_t kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->epoch = 0xab;
	ev->seq = 7;
	ev->at = 1700000009000ULL;
	ev->kind = kind;
	test_fill_conv(&ev->conv, 1, 2, "hello");
	ev->conv.handoff = ST_HANDOFF_HUMAN;
}

/* The SSE text of ev, NUL-terminated (malloc'd); NULL when not sent. */
static char *
format(const struct st_event *ev, int *rc)
{
	struct buf b;
	char *s;

	buf_init(&b);
	*rc = events_format(&b, ev);
	buf_add(&b, "", 1);
	s = *rc == 0 ? strdup(b.data) : NULL;
	if (*rc != 0)
		assert_int_equal(b.len, 1);	/* nothing appended */
	buf_free(&b);
	return s;
}

static const char conv_json[] =
    "{\"_id\":\"00000000000000000000000000000001\","
    "\"_creationTime\":1700000000001,"
    "\"sessionId\":\"sha256:abe633f3a47a2758174eabe9\","
    "\"createdAt\":1700000000001,\"updatedAt\":1700000000501,"
    "\"lastMessage\":\"hello\",\"widgetId\":\"default\","
    "\"messageCount\":2,\"contactId\":null,\"handoff\":\"human\"}";

static void
test_format_conversation(void **state)
{
	struct st_event ev;
	char want[1024], *s;
	int rc;

	fill_event(&ev, ST_EV_CONV_CREATED);
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "id: ab-7\nevent: conversation\n"
	    "data: {\"conversation\":%s}\n\n", conv_json);
	assert_string_equal(s, want);
	free(s);
	st_event_free(&ev);
}

static void
test_format_message(void **state)
{
	struct st_event ev;
	const char *prefix;
	char *s;
	int rc;

	fill_event(&ev, ST_EV_MESSAGE);
	test_fill_msg(&ev.msg, 1, 2, "line one\nline two");
	strlcpy(ev.msg.role, "agent", sizeof(ev.msg.role));
	strlcpy(ev.msg.name, "Ada", sizeof(ev.msg.name));
	ev.seq = 12345678901234ULL;
	ev.epoch = 0xfedcba9876543210ULL;
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	prefix = "id: fedcba9876543210-12345678901234\n"
	    "event: message\ndata: {\"conversation\":{";
	assert_true(strncmp(s, prefix, strlen(prefix)) == 0);
	/* One data line: the newline in the content is escaped. */
	assert_non_null(strstr(s, "\"content\":\"line one\\nline two\""));
	assert_non_null(strstr(s, "\"role\":\"agent\""));
	assert_non_null(strstr(s, "\"name\":\"Ada\"}}\n\n"));
	assert_int_equal(strchr(strstr(s, "data: "), '\n')[1], '\n');
	free(s);
	st_event_free(&ev);

	/* An assistant's message has no name. */
	fill_event(&ev, ST_EV_MESSAGE);
	test_fill_msg(&ev.msg, 1, 1, "hi");
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "\"name\""));
	free(s);
	st_event_free(&ev);
}

static void
test_format_handoff_contact(void **state)
{
	struct st_event ev;
	char want[1024], *s;
	int rc;

	fill_event(&ev, ST_EV_HANDOFF);
	ev.state = ST_HANDOFF_WAITING;
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "id: ab-7\nevent: handoff\n"
	    "data: {\"conversation\":%s,\"state\":\"waiting_human\","
	    "\"name\":\"\"}\n\n", conv_json);
	assert_string_equal(s, want);
	free(s);
	st_event_free(&ev);

	fill_event(&ev, ST_EV_CONTACT);
	ev.contact.name = strdup("Grace");
	ev.contact.email = strdup("g@example.com");
	ev.contact.phone = strdup("");
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	assert_true(strncmp(s, "id: ab-7\nevent: contact\n", 24) == 0);
	assert_non_null(strstr(s, ",\"contact\":{"));
	assert_non_null(strstr(s, "\"g@example.com\""));
	free(s);
	st_event_free(&ev);
}

/* Typing is the visitors' only; an event without a seq is never sent. */
static void
test_format_not_sent(void **state)
{
	struct st_event ev;
	int rc;

	fill_event(&ev, ST_EV_TYPING);
	ev.seq = 0;
	ev.on = 1;
	assert_null(format(&ev, &rc));
	assert_int_equal(rc, 1);
	st_event_free(&ev);

	fill_event(&ev, 99);
	assert_null(format(&ev, &rc));
	assert_int_equal(rc, -1);
	st_event_free(&ev);
}

static void
test_last_id(void **state)
{
	static const char *bad[] = {
		"", "-", "ab", "ab-", "-7", "ab-7x", "xy-7", "ab--7", "ab-+7",
		"ab-7 ", " ab-7", "12345678901234567-1",
		"ab-18446744073709551616", "ab-99999999999999999999",
	};
	uint64_t e, q;
	size_t i;

	assert_int_equal(events_last_id_parse("ab-7", &e, &q), 0);
	assert_true(e == 0xab && q == 7);
	assert_int_equal(events_last_id_parse("FFFFFFFFFFFFFFFF-0", &e, &q), 0);
	assert_true(e == UINT64_MAX && q == 0);
	assert_int_equal(events_last_id_parse("0-18446744073709551615", &e,
	    &q), 0);
	assert_true(e == 0 && q == UINT64_MAX - 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = q = 42;
		assert_int_equal(events_last_id_parse(bad[i], &e, &q), -1);
		assert_true(e == 42 && q == 42);	/* untouched */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_conversation),
		cmocka_unit_test(test_format_message),
		cmocka_unit_test(test_format_handoff_contact),
		cmocka_unit_test(test_format_not_sent),
		cmocka_unit_test(test_last_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
