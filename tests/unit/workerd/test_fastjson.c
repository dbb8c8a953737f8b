/*
 * The hot path's JSON without jansson, checked against jansson:
 * buf_add_jstr (resp.c) must write what json_dumps writes (plus the
 * U+2028/U+2029 escapes chat_ndjson adds), and the chunk scanner in
 * sse_chunk_parse must read every chunk as sse_chunk_parse_json does,
 * and as it reads it alone when read on after a stream's prefix; the
 * chat API's plain body (chat_parse_body) must be read as
 * chat_parse_body_json reads it, and without jansson; buf_add_dec
 * writes what printf's "%ju" does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "chat.h"
#include "resp.h"
#include "sse.h"

/* What chat_ndjson made of a string: jansson's dump, U+2028/9 escaped. */
static char *
reference(const char *s, size_t len)
{
	struct buf b;
	json_t *v;
	char *d, *p, *out;
	size_t start = 0;

	v = json_stringn(s, len);
	assert_non_null(v);
	d = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	assert_non_null(d);
	buf_init(&b);
	for (p = d; (p = strstr(p, "\xe2\x80")) != NULL; ) {
		if (p[2] == '\xa8' || p[2] == '\xa9') {
			buf_add(&b, d + start, (size_t)(p - d) - start);
			buf_adds(&b, p[2] == '\xa8' ? "\\u2028" : "\\u2029");
			p += 3;
			start = (size_t)(p - d);
		} else
			p += 2;
	}
	buf_adds(&b, d + start);
	buf_add(&b, "", 1);
	free(d);
	out = strdup(b.data);
	buf_free(&b);
	return out;
}

static void
same_as_jansson(const char *s, size_t len)
{
	struct buf b;
	char *want = reference(s, len);

	buf_init(&b);
	buf_add_jstr(&b, s, len);
	buf_add(&b, "", 1);
	assert_false(b.err);
	if (strcmp(b.data, want) != 0)
		fail_msg("buf_add_jstr wrote %s, jansson %s", b.data, want);
	free(want);
	buf_free(&b);
}

static void
test_jstr_valid(void **state)
{
	static const char *cases[] = {
		"", "plain", "a\"b\\c/d", "\b\f\n\r\t", "\x01\x1f\x7f",
		"caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80",
		"line\xe2\x80\xa8sep\xe2\x80\xa9par", "\xe2\x80\xa7\xe2\x80\xaa",
		"{\"type\":\"token\"}", "\xef\xbf\xbd",
	};
	char all[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_as_jansson(cases[i], strlen(cases[i]));
	/* Every ASCII byte but NUL. */
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	same_as_jansson(all, 127);
}

/*
 * Each byte that needs a look, at each place of three 8-byte words of
 * plain text: buf_add_jstr looks at runs eight bytes at a time.
 */
static void
test_jstr_word_edges(void **state)
{
	static const char *odd[] = { "\"", "\\", "\x01", "\x1f", "\n",
	    "\x7f", " ", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80" };
	char s[40];
	size_t i, pos, n;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		for (pos = 0; pos <= 24; pos++) {
			n = strlen(odd[i]);
			memset(s, 'x', sizeof(s));
			memcpy(s + pos, odd[i], n);
			same_as_jansson(s, 24 + n);
		}
}

static void
test_jstr_invalid(void **state)
{
	struct buf b;

	/* Each byte that is not UTF-8, and a NUL, becomes U+FFFD. */
	buf_init(&b);
	buf_add_jstr(&b, "a\xff" "b\0c\xc3", 6);
	buf_add(&b, "", 1);
	assert_string_equal(b.data,
	    "\"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\"");
	buf_free(&b);
	buf_init(&b);
	/* Overlong, surrogate, past U+10FFFF. */
	buf_add_jstr(&b, "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9);
	buf_add(&b, "", 1);
	assert_int_equal(strlen(b.data), 2 + 9 * 3);
	buf_free(&b);
}

/* Two reads of one chunk came to the same fields. */
static void
same_fields(const struct sse_chunk *a, const struct sse_chunk *j)
{
	assert_int_equal(a->content == NULL, j->content == NULL);
	assert_int_equal(a->content_len, j->content_len);
	if (a->content != NULL)
		assert_memory_equal(a->content, j->content, a->content_len);
	assert_int_equal(a->finished, j->finished);
	assert_int_equal(a->has_usage, j->has_usage);
	assert_int_equal(a->prompt_tokens, j->prompt_tokens);
	assert_int_equal(a->completion_tokens, j->completion_tokens);
	assert_int_equal(a->error == NULL, j->error == NULL);
	if (a->error != NULL)
		assert_string_equal(a->error, j->error);
}

/* Both readers must agree on the outcome and every field. */
static void
agree(const char *s)
{
	struct sse_chunk a, j;
	int ra, rj;

	ra = sse_chunk_parse(s, strlen(s), &a);
	rj = sse_chunk_parse_json(s, strlen(s), &j);
	if (ra != rj)
		fail_msg("fast %d, jansson %d: %s", ra, rj, s);
	if (ra < 0)
		return;
	same_fields(&a, &j);
	sse_chunk_free(&a);
	sse_chunk_free(&j);
}

static void
test_chunk_agree(void **state)
{
	static const char *cases[] = {
		/* OpenAI's shapes */
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
		"\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\","
		"\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		"\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],"
		"\"usage\":null}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\u00e9"
		"\\n\\\"q\\\" \\\\ \\/ \\ud83d\\ude00 \xc3\xa9\"}}]}",
		"{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}",
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
		"\"completion_tokens\":8,\"total_tokens\":20}}",
		"{\"choices\":[{\"delta\":{\"content\":null,\"refusal\":\"No.\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"a\",\"refusal\":5}}]}",
		"{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":99999999999}}",
		"{\"usage\":{\"prompt_tokens\":1.5,\"completion_tokens\":-0}}",
		"{\"usage\":{\"prompt_tokens\":1e2,\"completion_tokens\":1E400}}",
		"{\"usage\":{\"prompt_tokens\":123456789012345678,"
		"\"completion_tokens\":12345678901234567890}}",
		"{\"usage\":{\"prompt_tokens\":01}}",
		"{\"usage\":{\"prompt_tokens\":\"7\"}}",
		"{\"error\":{\"message\":\"over\\u006coaded\",\"type\":1}}",
		"{\"error\":{\"message\":5}}",
		"{\"error\":\"plain\",\"choices\":5}",
		"{\"error\":7}",
		"{\"error\":null,\"choices\":[]}",
		/* keys not plain ASCII (js_string's), every short escape */
		"{\"cl\xc3\xa9\":1,\"\":2,\"choices\":[{\"delta\":{"
		"\"content\":\"\\b\\f\\r\\t\\/\\u00E9\\u00e9x\"}}]}",
		"{\"\xf0\x9f\x98\x80\":{\"\xe2\x82\xac\":[]},\"error\":\"e\\\"\"}",
		/* what jansson refuses */
		"{\"\xc3\xa9\":1,\"\xc3\xa9\":2}", "{\"\":1,\"\":2}",
		"{\"a\tb\":1}", "{\"a\xff\":1}", "{\"abc", "{\"abc\"",
		"{\"choices\":[{\"delta\":{\"content\":\"\\a\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\u00g0\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\u00\"}}]}",
		"", " ", "{", "[1]", "\"s\"", "{} x", "{}{}", "{,}", "{\"a\":1,}",
		"{\"a\":1,\"a\":2}", "{\"x\":{\"k\":1,\"k\":2}}",
		"{\"a\\u0000\":1}", "{\"\\u0061\":1,\"a\":2}",
		"{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\xed\xa0\x80\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\ud800\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\udc00\\ud800\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\x\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"tab\there\"}}]}",
		"{\"choices\":{}}", "{\"choices\":[1]}",
		"{\"choices\":[{\"delta\":\"x\"}]}",
		"{\"choices\":[{\"finish_reason\":1}]}", "{\"usage\":5}",
		"{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}", "{\"a\":-}",
		"{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "\xef\xbb\xbf{}",
		/* what the scanner leaves to jansson, which takes it */
		"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
		"{\"\\u0063hoices\":[{\"delta\":{\"content\":\"x\"}}]}",
		" \n{\"choices\":null,\"usage\":null,\"x\":[true,false,null,{}]}\t",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		agree(cases[i]);
}

/* The everyday chunk is read by the scanner, not handed to jansson. */
static void
test_chunk_fast_used(void **state)
{
	static const char s[] = "{\"id\":\"c\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"content\":\"Hi\\n\"},\"logprobs\":null,"
	    "\"finish_reason\":null}],\"usage\":null}";
	struct sse_chunk c;

	assert_int_equal(sse_chunk_parse(s, strlen(s), &c), 0);
	assert_null(c.root);
	assert_non_null(c.text);
	assert_int_equal(c.content_len, 3);
	assert_memory_equal(c.content, "Hi\n", 3);
	sse_chunk_free(&c);
	assert_null(c.text);
}

/* A stream's chunks: read with its prefix as each would be read alone. */
#define HEAD	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\"," \
		"\"created\":1700000000,\"model\":\"m\","
static void
test_chunk_prefix(void **state)
{
	static const char *chunks[] = {
		HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}",
		HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}",
		/* The same bytes, then the end: read as alone. */
		HEAD "\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}",
		/* A key of the prefix again: refused as alone (jansson's). */
		HEAD "\"model\":\"n\",\"choices\":[]}",
		/* The prefix's last value a number, which the next runs on:
		 * its comma is the prefix's, so this one is read whole. */
		"{\"id\":\"y\",\"created\":17,\"choices\":[]}",
		"{\"id\":\"y\",\"created\":175,\"choices\":[{\"delta\":"
		    "{\"content\":\"5\"}}]}",
		/* A read member first: nothing before it to keep. */
		"{\"error\":\"e\",\"choices\":[]}",
		"{\"error\":\"e\",\"choices\":[]}",
		/* Another head: read whole, and kept in its place. */
		"{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"!\"}}]}",
		"{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"?\"}}]}",
		"{\"id\":\"x\"}",
		"{\"id\":\"x\",\"usage\":{\"prompt_tokens\":3}}",
	};
	struct sse_prefix pf = { 0 };
	struct sse_chunk a, b;
	size_t i;
	int ra, rb;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		ra = sse_chunk_parse_in(&pf, chunks[i], strlen(chunks[i]), &a);
		rb = sse_chunk_parse(chunks[i], strlen(chunks[i]), &b);
		assert_int_equal(ra, rb);
		if (i == 0) {
			/* What the first kept: the members before "choices". */
			assert_non_null(pf.bytes);
			assert_int_equal(pf.len, strlen(HEAD));
			assert_int_equal(pf.nkeys, 4);
		}
		if (ra < 0)
			continue;
		/* Read on after the prefix, not handed to jansson. */
		if (b.root == NULL)
			assert_null(a.root);
		same_fields(&a, &b);
		sse_chunk_free(&a);
		sse_chunk_free(&b);
	}
	assert_int_equal(pf.len, strlen("{\"id\":\"x\","));
	assert_memory_equal(pf.bytes, "{\"id\":\"x\",", pf.len);
	sse_prefix_free(&pf);
	assert_null(pf.bytes);
}

/*
 * A stream's texts are decoded into its prefix's kept buffer, one for
 * all its chunks, not each into its own allocation; a text too long to
 * keep is the chunk's own, as a chunk read alone has it.
 */
static void
test_chunk_text_kept(void **state)
{
	static const char *chunks[] = {
		HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}",
		HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"l\\no\"}}]}",
		HEAD "\"error\":{\"message\":\"sl\\u00f3w\"}}",
	};
	static const char *texts[] = { "Hel", "l\no", "sl\xc3\xb3w" };
	struct sse_prefix pf = { 0 };
	struct sse_chunk c;
	char *kept = NULL, *big;
	const char *text;
	size_t i, n = SSE_TEXT_KEEP;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(sse_chunk_parse_in(&pf, chunks[i],
		    strlen(chunks[i]), &c), 0);
		assert_null(c.root);
		assert_null(c.text);
		text = c.content != NULL ? c.content : c.error;
		assert_string_equal(text, texts[i]);
		assert_ptr_equal(text, pf.text);
		if (kept != NULL)
			assert_ptr_equal(pf.text, kept);
		kept = pf.text;
		sse_chunk_free(&c);
	}
	/* SSE_TEXT_KEEP bytes of content: the chunk's own. */
	big = malloc(strlen(HEAD) + 32 + n + 8);
	assert_non_null(big);
	memcpy(big, HEAD "\"choices\":[{\"delta\":{\"content\":\"",
	    strlen(HEAD) + 32);
	i = strlen(HEAD) + 32;
	memset(big + i, 'a', n);
	strcpy(big + i + n, "\"}}]}");
	assert_int_equal(sse_chunk_parse_in(&pf, big, strlen(big), &c), 0);
	assert_non_null(c.text);
	assert_ptr_equal(c.content, c.text);
	assert_int_equal(c.content_len, n);
	assert_ptr_equal(pf.text, kept);
	sse_chunk_free(&c);
	free(big);
	sse_prefix_free(&pf);
	assert_null(pf.text);
}

/* ---------------------------------------------------- the chat body */

/* jansson's allocations while counted. */
static size_t jallocs;

static void *
count_malloc(size_t n)
{
	jallocs++;
	return malloc(n);
}

/* The plain body of every API turn is read without jansson. */
static void
test_body_fast_used(void **state)
{
	static const char *bodies[] = {
		"{\"sessionId\":\"s-1\",\"message\":\"hello 1\"}",
		" {\"message\":\"h\\u00e9 \\\"q\\\"\\n\",\"sessionId\":\"a.b:c_d\"}\r\n",
	};
	static const char *want[] = { "hello 1", "h\xc3\xa9 \"q\"\n" };
	char details[CHAT_DETAILS_MAX];
	struct chat_input in;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		jallocs = 0;
		json_set_alloc_funcs(count_malloc, free);
		assert_int_equal(chat_parse_body("application/json", bodies[i],
		    strlen(bodies[i]), &in, details, sizeof(details)),
		    CHAT_BODY_OK);
		json_set_alloc_funcs(malloc, free);
		assert_int_equal(jallocs, 0);
		assert_string_equal(in.message, want[i]);
		assert_string_equal(details, "");
		chat_input_free(&in);
	}
}

/* Both readers of the body: the same answer, details and input. */
static void
body_agree(const char *s, size_t len)
{
	char da[CHAT_DETAILS_MAX], dj[CHAT_DETAILS_MAX];
	struct chat_input a, j;
	enum chat_body ra, rj;

	ra = chat_parse_body("application/json", s, len, &a, da, sizeof(da));
	rj = chat_parse_body_json("application/json", s, len, &j, dj,
	    sizeof(dj));
	if (ra != rj || strcmp(da, dj) != 0)
		fail_msg("fast %d (%s), jansson %d (%s): %s", ra, da, rj, dj, s);
	if (ra == CHAT_BODY_OK) {
		assert_string_equal(a.session, j.session);
		assert_string_equal(a.message, j.message);
		assert_int_equal(a.natts, j.natts);
	}
	chat_input_free(&a);
	chat_input_free(&j);
}

static void
test_body_agree(void **state)
{
	static const char *cases[] = {
		"{\"sessionId\":\"s1\",\"message\":\"hi\"}",
		"{\"message\":\"\\ud83d\\ude00\\/\\b\\f\\t\",\"sessionId\":\"s\"}",
		"{\"sessionId\":\"s1\",\"message\":\"   \"}",
		"{\"sessionId\":\"s1\",\"message\":\"\"}",
		"{\"sessionId\":\"\",\"message\":\"hi\"}",
		"{\"sessionId\":\"a b\",\"message\":\"hi\"}",
		"{\"sessionId\":\"\\u0061\",\"message\":\"hi\"}",
		"{\"sessionId\":\"a\\u0000\",\"message\":\"hi\"}",
		"{\"sessionId\":\"s1\",\"message\":\"a\\u0000b\"}",
		"{\"sessionId\":\"s1\",\"message\":\"x\",\"message\":\"y\"}",
		"{\"sessionId\":\"s1\",\"sessionId\":\"s2\",\"message\":\"y\"}",
		"{\"sessionId\":\"s1\",\"message\":\"x\"",
		"{\"sessionId\":\"s1\",\"message\":\"x\"} {}",
		"{\"sessionId\":\"s1\",\"message\":\"x\",}",
		"{\"sessionId\":\"s1\"}", "{\"message\":\"hi\"}", "{}", "[]", "",
		"{\"sessionId\":1,\"message\":\"hi\"}",
		"{\"sessionId\":\"s1\",\"message\":null}",
		"{\"sessionId\":\"s1\",\"message\":\"a\xff\"}",
		"{\"sessionId\":\"s1\",\"message\":\"\\ud800\"}",
		"{\"sessionId\":\"s1\",\"message\":\"tab\there\"}",
		"{\"sessionId\":\"s1\",\"message\":\"x\",\"extra\":1}",
		"{\"sessionId\":\"s1\",\"message\":\"x\",\"visitor\":"
		    "{\"language\":\"fr\"}}",
		"{\"sessionId\":\"s1\",\"message\":\"x\",\"attachments\":[]}",
		"{\"\\u0073essionId\":\"s1\",\"message\":\"x\"}",
		"\xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		"\xef\xbb\xbf\xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		" \xef\xbb\xbf{\"sessionId\":\"s1\",\"message\":\"x\"}",
		"\xef\xbb\xbf",
	};
	char big[4100 + 64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		body_agree(cases[i], strlen(cases[i]));
	/* A NUL after the object; messages of 4,000 and 4,001 characters. */
	body_agree("{\"sessionId\":\"s\",\"message\":\"x\"}\0", 33);
	for (i = 4000; i <= 4001; i++) {
		memcpy(big, "{\"sessionId\":\"s\",\"message\":\"", 28);
		memset(big + 28, 'a', i);
		memcpy(big + 28 + i, "\"}", 3);
		body_agree(big, strlen(big));
	}
	/*
	 * i emoji (4 bytes, 2 UTF-16 units each) and 2,000 a's: the limit
	 * counts units, as the JSON read does; 1,001 emoji is one past it.
	 */
	for (i = 1000; i <= 1001; i++) {
		char *emo = malloc(28 + 4 * i + 2000 + 3);
		size_t k;

		assert_non_null(emo);
		memcpy(emo, "{\"sessionId\":\"s\",\"message\":\"", 28);
		for (k = 0; k < i; k++)
			memcpy(emo + 28 + 4 * k, "\xf0\x9f\x98\x80", 4);
		memset(emo + 28 + 4 * i, 'a', 2000);
		memcpy(emo + 28 + 4 * i + 2000, "\"}", 3);
		body_agree(emo, strlen(emo));
		free(emo);
	}
}

/* buf_add_dec writes what "%ju" does (a response's status and length). */
static void
test_dec(void **state)
{
	static const uint64_t v[] = { 0, 1, 9, 10, 99, 100, 200, 404, 65535,
	    1234567890123ULL, UINT64_MAX / 10, UINT64_MAX };
	char want[32];
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_init(&b);
		buf_adds(&b, "x");
		buf_add_dec(&b, v[i]);
		snprintf(want, sizeof(want), "x%ju", (uintmax_t)v[i]);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jstr_valid),
		cmocka_unit_test(test_jstr_invalid),
		cmocka_unit_test(test_jstr_word_edges),
		cmocka_unit_test(test_chunk_agree),
		cmocka_unit_test(test_chunk_fast_used),
		cmocka_unit_test(test_chunk_prefix),
		cmocka_unit_test(test_chunk_text_kept),
		cmocka_unit_test(test_body_fast_used),
		cmocka_unit_test(test_body_agree),
		cmocka_unit_test(test_dec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
