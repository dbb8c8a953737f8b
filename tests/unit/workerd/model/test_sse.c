/*
 * The SSE parser: every split point, line endings, comments, multi-line
 * data, fields, the size limit, stopping on [DONE]; and the decoder of a
 * chat.completion.chunk.
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

/* Events seen, written out as "type|data\n" (data's NULs as "\\0"). */
struct rec {
	char out[8192];
	size_t len;
	int n;
	const char *stop_on;	/* return 1 on an event with this data */
};

static int
record(void *arg, const struct sse_event *ev)
{
	struct rec *r = arg;
	size_t i;

	r->n++;
	r->len += (size_t)snprintf(r->out + r->len, sizeof(r->out) - r->len,
	    "%s|", ev->type);
	for (i = 0; i < ev->len && r->len + 3 < sizeof(r->out); i++) {
		if (ev->data[i] == '\0') {
			r->out[r->len++] = '\\';
			r->out[r->len++] = '0';
		} else
			r->out[r->len++] = ev->data[i];
	}
	assert_int_equal(ev->data[ev->len], '\0');
	r->len += (size_t)snprintf(r->out + r->len, sizeof(r->out) - r->len,
	    "\n");
	if (r->stop_on != NULL && strcmp(ev->data, r->stop_on) == 0)
		return 1;
	return 0;
}

/* Feeds s in pieces cut at the given offsets; returns the last sse_feed result. */
static int
feed_cuts(struct sse *p, const char *s, size_t len, const size_t *cuts,
    int ncuts)
{
	size_t at = 0, to;
	int i, rv = 0;

	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (to < at)
			to = at;
		if ((rv = sse_feed(p, s + at, to - at, NULL)) != 0)
			return rv;
		at = to;
	}
	return rv;
}

static void
parse(const char *s, size_t len, size_t max, struct rec *r, int *rv)
{
	struct sse p;

	memset(r, 0, sizeof(*r));
	sse_init(&p, max, record, r);
	*rv = sse_feed(&p, s, len, NULL);
	r->out[r->len] = '\0';
	sse_free(&p);
}

static void
expect(const char *s, const char *want)
{
	struct rec r;
	int rv;

	parse(s, strlen(s), 0, &r, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(r.out, want);
}

/* A stream the way OpenAI and the mock send it, with some of everything. */
static const char stream[] =
    ": keep-alive comment\r\n"
    "\r\n"
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n"
    "\n"
    "event: delta\r"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r"
    "\r"
    "id: 7\n"
    "retry: 1500\n"
    "data:first\n"
    ":comment between data lines\n"
    "data:  second\r\n"
    "data\n"
    "\r\n"
    "unknown: field\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n"
    "data: [DONE]\n\n";

static const char stream_want[] =
    "message|{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n"
    "delta|{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n"
    "message|first\n second\n\n"
    "message|{\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n"
    "message|[DONE]\n";

static void
test_whole(void **state)
{
	struct rec r;
	struct sse p;
	int rv;

	expect(stream, stream_want);
	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, stream, strlen(stream), NULL), 0);
	assert_int_equal(p.retry, 1500);
	sse_free(&p);
	(void)rv;
}

static void
test_every_split(void **state)
{
	size_t len = strlen(stream), i, j, cuts[2];
	struct rec r;
	struct sse p;

	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			memset(&r, 0, sizeof(r));
			sse_init(&p, 0, record, &r);
			cuts[0] = i;
			cuts[1] = j;
			assert_int_equal(feed_cuts(&p, stream, len, cuts, 2), 0);
			r.out[r.len] = '\0';
			if (strcmp(r.out, stream_want) != 0)
				fail_msg("split at %zu,%zu:\n%s", i, j, r.out);
			sse_free(&p);
		}
	}
}

/*
 * sse_release after every feed, as upstream.c does: the buffer is gone
 * between events and kept inside one, and every split parses the same.
 */
static void
test_release_between_feeds(void **state)
{
	size_t len = strlen(stream), i, j, at, to, cuts[2];
	struct rec r;
	struct sse p;
	int k;

	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j += 7) {
			memset(&r, 0, sizeof(r));
			sse_init(&p, 0, record, &r);
			cuts[0] = i;
			cuts[1] = j;
			for (at = 0, k = 0; k <= 2; k++, at = to) {
				to = k < 2 ? cuts[k] : len;
				assert_int_equal(sse_feed(&p, stream + at,
				    to - at, NULL), 0);
				sse_release(&p);
			}
			r.out[r.len] = '\0';
			if (strcmp(r.out, stream_want) != 0)
				fail_msg("split at %zu,%zu:\n%s", i, j, r.out);
			assert_null(p.data);
			sse_free(&p);
		}
	}

	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, "data: abc\n\ndata: de", 19, NULL), 0);
	sse_release(&p);
	assert_non_null(p.data);	/* "de" waits for the rest */
	assert_int_equal(sse_feed(&p, "f\n\n", 3, NULL), 0);
	sse_release(&p);
	assert_null(p.data);
	r.out[r.len] = '\0';
	assert_string_equal(r.out, "message|abc\nmessage|def\n");
	sse_free(&p);
}

static void
test_byte_by_byte(void **state)
{
	size_t len = strlen(stream), i;
	struct rec r;
	struct sse p;

	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	for (i = 0; i < len; i++)
		assert_int_equal(sse_feed(&p, stream + i, 1, NULL), 0);
	assert_int_equal(sse_feed(&p, "", 0, NULL), 0);
	r.out[r.len] = '\0';
	assert_string_equal(r.out, stream_want);
	sse_free(&p);
}

static void
test_line_endings(void **state)
{
	const char *want = "message|a\nb\n";

	expect("data: a\ndata: b\n\n", want);
	expect("data: a\r\ndata: b\r\n\r\n", want);
	expect("data: a\rdata: b\r\r", want);
	expect("data: a\r\ndata: b\n\r", want);
	/* CR CR is two line ends; CR LF one. */
	expect("data: x\r\r", "message|x\n");
	expect("data: x\r\n", "");
	expect("data: x\n\r\n", "message|x\n");
	/* A lone CR at the end of a read, then LF: still one line end. */
	{
		struct rec r;
		struct sse p;

		memset(&r, 0, sizeof(r));
		sse_init(&p, 0, record, &r);
		assert_int_equal(sse_feed(&p, "data: y\r", 8, NULL), 0);
		assert_int_equal(sse_feed(&p, "\n", 1, NULL), 0);
		assert_int_equal(r.n, 0);
		assert_int_equal(sse_feed(&p, "\r", 1, NULL), 0);
		assert_int_equal(r.n, 1);
		assert_int_equal(sse_feed(&p, "\ndata: z\n\n", 10, NULL), 0);
		assert_int_equal(r.n, 2);
		r.out[r.len] = '\0';
		assert_string_equal(r.out, "message|y\nmessage|z\n");
		sse_free(&p);
	}
}

static void
test_comments(void **state)
{
	expect(": ping\n\n", "");
	expect(":\n\n", "");
	expect(":a very long comment that is just skipped\n\ndata: 1\n\n",
	    "message|1\n");
	expect("data: a\n: in between\ndata: b\n\n", "message|a\nb\n");
	expect(": no newline at the end", "");
}

static void
test_data_fields(void **state)
{
	/* One optional space after the colon is dropped, no more. */
	expect("data:x\n\n", "message|x\n");
	expect("data: x\n\n", "message|x\n");
	expect("data:  x\n\n", "message| x\n");
	expect("data: x \n\n", "message|x \n");
	/* Empty data still makes an event; no data line makes none. */
	expect("data\n\n", "message|\n");
	expect("data:\n\n", "message|\n");
	expect("data:\ndata:\n\n", "message|\n\n");
	expect("event: x\n\n", "");
	expect("\n\n\n", "");
	/* No blank line: no event yet. */
	expect("data: a\n", "");
	expect("data: a", "");
	/* A colon in the value is part of it. */
	expect("data: a:b: c\n\n", "message|a:b: c\n");
	/* Field names are case-sensitive and exact. */
	expect("Data: a\n\n", "");
	expect("datas: a\n\n", "");
	expect("dat: a\n\n", "");
	expect("data : a\n\n", "");
	expect("averyveryverylongfieldname: a\ndata: b\n\n", "message|b\n");
	/* Embedded NUL is kept. */
	{
		struct rec r;
		int rv;

		parse("data: a\0b\n\n", 11, 0, &r, &rv);
		assert_int_equal(rv, 0);
		assert_string_equal(r.out, "message|a\\0b\n");
	}
}

static void
test_event_type(void **state)
{
	char buf[128];

	expect("event: ping\ndata: 1\n\n", "ping|1\n");
	expect("event: a\nevent: b\ndata: 1\n\n", "b|1\n");
	expect("event:\ndata: 1\n\n", "message|1\n");
	/* The type is reset after each event, also one without data. */
	expect("event: a\ndata: 1\n\ndata: 2\n\n", "a|1\nmessage|2\n");
	expect("event: a\n\ndata: 2\n\n", "message|2\n");
	/* A long name is cut. */
	snprintf(buf, sizeof(buf), "event: %s\ndata: 1\n\n",
	    "0123456789012345678901234567890123456789");
	expect(buf, "0123456789012345678901234567890|1\n");
}

static void
test_retry_and_id(void **state)
{
	struct rec r;
	struct sse p;
	const char *s = "retry: 3000\nretry: 12x\nretry:\nid: 5\nid\n"
	    "data: a\n\nretry: 99999999999999\n\n";

	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, s, strlen(s), NULL), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(p.retry, UINT32_MAX);
	sse_free(&p);
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, "retry: 250\nretry: 1a\n", 21, NULL), 0);
	assert_int_equal(p.retry, 250);
	sse_free(&p);
}

static void
test_bom(void **state)
{
	struct rec r;
	struct sse p;

	expect("\xef\xbb\xbf" "data: a\n\n", "message|a\n");
	/* Split inside the BOM. */
	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, "\xef", 1, NULL), 0);
	assert_int_equal(sse_feed(&p, "\xbb\xbf" "da", 4, NULL), 0);
	assert_int_equal(sse_feed(&p, "ta: b\n\n", 7, NULL), 0);
	r.out[r.len] = '\0';
	assert_string_equal(r.out, "message|b\n");
	/* Only at the very start. */
	assert_int_equal(sse_feed(&p, "\xef\xbb\xbf" "data: c\n\n", 12, NULL),
	    0);
	assert_int_equal(r.n, 1);	/* "\xef\xbb\xbfdata" is no field we know */
	sse_free(&p);
}

static void
test_size_limit(void **state)
{
	struct rec r;
	struct sse p;
	char big[64];
	int rv;

	/* Exactly the limit is fine. */
	parse("data: 0123456789abcdef\n\n", 24, 16, &r, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(r.out, "message|0123456789abcdef\n");
	/* One more is an error, before the line even ends. */
	parse("data: 0123456789abcdefg", 23, 16, &r, &rv);
	assert_int_equal(rv, SSE_TOO_BIG);
	/* The joining newlines count. */
	parse("data: 01234567\ndata: 01234567\n\n", 31, 16, &r, &rv);
	assert_int_equal(rv, SSE_TOO_BIG);
	parse("data: 0123456\ndata: 01234567\n\n", 30, 16, &r, &rv);
	assert_int_equal(rv, 0);
	/* The error is sticky. */
	memset(&r, 0, sizeof(r));
	sse_init(&p, 16, record, &r);
	memset(big, 'x', sizeof(big));
	assert_int_equal(sse_feed(&p, "data: ", 6, NULL), 0);
	assert_int_equal(sse_feed(&p, big, sizeof(big), NULL), SSE_TOO_BIG);
	assert_int_equal(sse_feed(&p, "\n\ndata: a\n\n", 11, NULL),
	    SSE_TOO_BIG);
	assert_int_equal(r.n, 0);
	sse_free(&p);
	/* Comments and unknown fields of any length cost nothing. */
	memset(&r, 0, sizeof(r));
	sse_init(&p, 16, record, &r);
	assert_int_equal(sse_feed(&p, ":", 1, NULL), 0);
	for (rv = 0; rv < 1000; rv++)
		assert_int_equal(sse_feed(&p, big, sizeof(big), NULL), 0);
	assert_int_equal(sse_feed(&p, "\nfoo:", 5, NULL), 0);
	for (rv = 0; rv < 1000; rv++)
		assert_int_equal(sse_feed(&p, big, sizeof(big), NULL), 0);
	assert_int_equal(sse_feed(&p, "\n\ndata: ok\n\n", 12, NULL), 0);
	assert_int_equal(r.n, 1);
	assert_true(p.cap <= 4096);
	sse_free(&p);
}

static void
test_default_limit(void **state)
{
	struct rec r;
	struct sse p;
	char *big;
	size_t n = SSE_MAX_EVENT + 1;

	big = malloc(n);
	assert_non_null(big);
	memset(big, 'y', n);
	memset(&r, 0, sizeof(r));
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, "data:", 5, NULL), 0);
	assert_int_equal(sse_feed(&p, big, n - 1, NULL), 0);
	assert_int_equal(sse_feed(&p, "\n\n", 2, NULL), 0);
	assert_int_equal(r.n, 1);
	/* The big buffer is not kept once its event is out. */
	assert_null(p.data);
	assert_int_equal(sse_feed(&p, "data:", 5, NULL), 0);
	assert_int_equal(sse_feed(&p, big, n, NULL), SSE_TOO_BIG);
	sse_free(&p);
	free(big);
}

static void
test_stop_on_done(void **state)
{
	const char *s = "data: a\n\ndata: [DONE]\n\ndata: after\n\n";
	struct rec r;
	struct sse p;
	size_t used;

	assert_true(sse_is_done("[DONE]", 6));
	assert_false(sse_is_done("[DONE] ", 7));
	assert_false(sse_is_done("[done]", 6));
	memset(&r, 0, sizeof(r));
	r.stop_on = "[DONE]";
	sse_init(&p, 0, record, &r);
	assert_int_equal(sse_feed(&p, s, strlen(s), &used), 1);
	assert_int_equal(used, strlen("data: a\n\ndata: [DONE]\n\n"));
	assert_int_equal(r.n, 2);
	/* The rest can be fed on. */
	r.stop_on = NULL;
	assert_int_equal(sse_feed(&p, s + used, strlen(s) - used, &used), 0);
	assert_int_equal(used, strlen("data: after\n\n"));
	r.out[r.len] = '\0';
	assert_string_equal(r.out, "message|a\nmessage|[DONE]\nmessage|after\n");
	sse_free(&p);
}

/* ------------------------------------------------------------ chunks */

static void
test_chunk_content(void **state)
{
	struct sse_chunk c;
	const char *s;

	s = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	    "\"Hi \\u00e9\\n\"},\"finish_reason\":null}],\"usage\":null}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_non_null(c.content);
	assert_int_equal(c.content_len, 6);
	assert_memory_equal(c.content, "Hi \xc3\xa9\n", 6);
	assert_false(c.finished);
	assert_false(c.has_usage);
	assert_null(c.error);
	sse_chunk_free(&c);

	s = "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.content_len, 0);
	sse_chunk_free(&c);

	s = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_null(c.content);
	assert_true(c.finished);
	sse_chunk_free(&c);

	s = "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
	    "\"completion_tokens\":8,\"total_tokens\":20}}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_true(c.has_usage);
	assert_int_equal(c.prompt_tokens, 12);
	assert_int_equal(c.completion_tokens, 8);
	sse_chunk_free(&c);

	s = "{\"choices\":[{\"delta\":{\"content\":null,\"refusal\":\"No.\"}}]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.content_len, 3);
	sse_chunk_free(&c);

	s = "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":99999999999}}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.prompt_tokens, 0);
	assert_int_equal(c.completion_tokens, UINT32_MAX);
	sse_chunk_free(&c);

	/* A \u0000 is legal JSON: taken, and the content drops it. */
	s = "{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\\u0000\"}}]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.content_len, 2);
	assert_string_equal(c.content, "ab");
	sse_chunk_free(&c);
	s = "{\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_int_equal(c.content_len, 0);
	sse_chunk_free(&c);

	/* Unknown keys are fine, so is an object with nothing we use. */
	s = "{\"object\":\"chat.completion.chunk\",\"x\":[1,2]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_null(c.content);
	sse_chunk_free(&c);
}

static void
test_chunk_error(void **state)
{
	struct sse_chunk c;
	const char *s;

	s = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_string_equal(c.error, "overloaded");
	sse_chunk_free(&c);
	s = "{\"error\":{}}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_string_equal(c.error, "");
	sse_chunk_free(&c);
	s = "{\"error\":null,\"choices\":[]}";
	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_null(c.error);
	sse_chunk_free(&c);
}

static void
test_chunk_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"not json",
		"[1]",
		"\"string\"",
		"{\"choices\":{}}",
		"{\"choices\":[1]}",
		"{\"choices\":[{\"delta\":\"x\"}]}",
		"{\"choices\":[{\"delta\":{\"content\":5}}]}",
		"{\"choices\":[{\"finish_reason\":1}]}",
		"{\"usage\":5}",
		"{\"a\":1,\"a\":2}",
		"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}",
		"{} trailing",
	};
	struct sse_chunk c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sse_chunk_parse(bad[i], strlen(bad[i]), &c) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_null(c.root);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_release_between_feeds),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_data_fields),
		cmocka_unit_test(test_event_type),
		cmocka_unit_test(test_retry_and_id),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_default_limit),
		cmocka_unit_test(test_stop_on_done),
		cmocka_unit_test(test_chunk_content),
		cmocka_unit_test(test_chunk_error),
		cmocka_unit_test(test_chunk_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
