/*
 * Unit tests: the shared helpers of lib/util.h (UTF-8, hex, byte order,
 * JSON Content-Type, accept4()'s errors).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

#define S(lit)	(lit), sizeof(lit) - 1

static void
test_utf8_valid(void **state)
{
	(void)state;
	assert_true(proto_utf8_valid(S("")));
	assert_true(proto_utf8_valid(S("plain ascii")));
	assert_true(proto_utf8_valid(S("a\0b")));			/* NUL is a character */
	assert_true(proto_utf8_valid(S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")));
	assert_true(proto_utf8_valid(S("\xf4\x8f\xbf\xbf")));	/* U+10FFFF */
	assert_false(proto_utf8_valid(S("\x80")));		/* lone continuation */
	assert_false(proto_utf8_valid(S("\xc0\xaf")));		/* overlong / */
	assert_false(proto_utf8_valid(S("\xe0\x80\xaf")));	/* overlong, 3 bytes */
	assert_false(proto_utf8_valid(S("\xed\xa0\x80")));	/* surrogate */
	assert_false(proto_utf8_valid(S("\xf4\x90\x80\x80")));	/* past U+10FFFF */
	assert_false(proto_utf8_valid(S("ok \xe2\x82")));	/* cut */
	assert_false(proto_utf8_valid(S("\xff")));
	/* The length bounds the check: the cut is outside it. */
	assert_true(proto_utf8_valid("ok \xe2\x82", 3));
}

static void
test_utf8_chars(void **state)
{
	(void)state;
	assert_int_equal(proto_utf8_chars(S("")), 0);
	assert_int_equal(proto_utf8_chars(S("abc")), 3);
	assert_int_equal(proto_utf8_chars(S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")), 3);
	assert_int_equal(proto_utf8_chars(S("a\xc0\xaf")), -1);
	assert_int_equal(proto_utf8_chars(S("a\xe2\x82")), -1);
	assert_int_equal(proto_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	assert_int_equal(proto_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 2), 0);
	assert_int_equal(proto_utf8_seq_len((const unsigned char *)"x", 0), 0);
	assert_int_equal(proto_utf8_seq_len((const unsigned char *)"\0", 1), 1);
	assert_int_equal(proto_utf8_char_len((const unsigned char *)"\0", 1), 0);
	assert_int_equal(proto_utf8_char_len((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(proto_utf8_char_len((const unsigned char *)"\xc3", 1), 0);
	assert_int_equal(proto_utf8_char_len((const unsigned char *)"a", 0), 0);
}

/* proto_utf8_chars as it was, a sequence at a time: the reference. */
static ssize_t
chars_bytewise(const unsigned char *p, size_t n)
{
	size_t i = 0, k;
	ssize_t chars = 0;

	while (i < n) {
		if ((k = proto_utf8_seq_len(p + i, n - i)) == 0)
			return -1;
		i += k;
		chars++;
	}
	return chars;
}

/*
 * The ASCII runs counted eight bytes a step (proto_ascii_len) agree with
 * the count a sequence at a time: each sequence, good or bad, after 0 to
 * 17 ASCII bytes and before 0 to 9, so that it falls at every place of a
 * word and across two; a NUL and a DEL are ASCII.
 */
static void
test_utf8_chars_runs(void **state)
{
	static const char *const seqs[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80",
		"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xff", "\x7f",
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	};
	unsigned char buf[64];
	size_t i, pre, post, len, n;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		for (pre = 0; pre <= 17; pre++)
			for (post = 0; post <= 9; post++) {
				len = strlen(seqs[i]);
				memset(buf, 'a', sizeof(buf));
				buf[pre / 2] = '\0';
				memcpy(buf + pre, seqs[i], len);
				n = pre + len + post;
				assert_int_equal(proto_utf8_chars(buf, n),
				    chars_bytewise(buf, n));
				assert_int_equal(proto_utf8_valid(buf, n),
				    chars_bytewise(buf, n) >= 0);
				/* Cut inside the sequence. */
				assert_int_equal(proto_utf8_chars(buf, pre + 1),
				    chars_bytewise(buf, pre + 1));
			}
	for (n = 0; n <= 20; n++)
		assert_int_equal(proto_ascii_len((const unsigned char *)
		    "abcdefghijklmnopqrst", n), n);
	memcpy(buf, "abcdefghij\xc3\xa9klmnop", 18);
	for (n = 0; n <= 18; n++)
		assert_int_equal(proto_ascii_len(buf, n), n < 10 ? n : 10);
}

/* A cut never splits a character: at each max, the most whole ones. */
/* JavaScript's white space (trim(), Number()) and its string lengths. */
static void
test_js_text(void **state)
{
	static const char *const spaces[] = { " ", "\t", "\n", "\v", "\f",
	    "\r", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80",
	    "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9",
	    "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
	    "\xef\xbb\xbf" };
	static const char *const others[] = { "a", "", "\x85", "\xc2\x85",
	    "\xe2\x80\x8b", "\xe2\x80\x8c", "\xe1\xa0\x8e",
	    "\xe2\x80", "\xe2\x80\x41" };
	size_t i;

	for (i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
		assert_int_equal(proto_js_space_len((const unsigned char *)
		    spaces[i], strlen(spaces[i]) + 1), strlen(spaces[i]));
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(proto_js_space_len((const unsigned char *)
		    others[i], strlen(others[i])), 0);
	assert_int_equal(proto_utf16_units("", 0), 0);
	assert_int_equal(proto_utf16_units("a\xc3\xa9\xe2\x82\xac", 6), 3);
	assert_int_equal(proto_utf16_units("\xf0\x9f\x98\x80" "a", 5), 3);
}

/* proto_utf16_units as it was, a byte at a time: the reference. */
static size_t
units_bytewise(const char *s, size_t n)
{
	size_t i, units = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			units += (unsigned char)s[i] >= 0xf0 ? 2 : 1;
	return units;
}

/* Its ASCII runs, eight bytes a step, at every place of a word. */
static void
test_utf16_units_runs(void **state)
{
	static const char *const seqs[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\x80", "\xf0", "" };
	char buf[64];
	size_t i, pre, post, n;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		for (pre = 0; pre <= 17; pre++)
			for (post = 0; post <= 9; post++) {
				memset(buf, 'a', sizeof(buf));
				memcpy(buf + pre, seqs[i], strlen(seqs[i]));
				n = pre + strlen(seqs[i]) + post;
				assert_int_equal(proto_utf16_units(buf, n),
				    units_bytewise(buf, n));
			}
}

static void
test_utf8_cut(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";	/* a é € 😀 */
	const size_t at[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };
	size_t max;

	(void)state;
	for (max = 0; max < sizeof(at) / sizeof(at[0]); max++)
		assert_int_equal(proto_utf8_cut(s, strlen(s), max), at[max]);
	assert_int_equal(proto_utf8_cut("a\xc3\xa9", 3, 2), 1);
}

/* A count held at UINT32_MAX: it never wraps to a small number. */
static void
test_u32_add_held(void **state)
{
	uint32_t n = 5;

	(void)state;
	proto_u32_add_held(&n, 7);
	assert_int_equal(n, 12);
	n = 3000000000u;
	proto_u32_add_held(&n, 3000000000u);
	assert_int_equal(n, UINT32_MAX);
	proto_u32_add_held(&n, 1);
	assert_int_equal(n, UINT32_MAX);
	n = UINT32_MAX - 1;
	proto_u32_add_held(&n, 1);
	assert_int_equal(n, UINT32_MAX);
}

/* The code point of each whole sequence, 1 to 4 bytes. */
static void
test_utf8_cp(void **state)
{
	const unsigned char *s = (const unsigned char *)
	    "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf";
	const uint32_t want[] = { 0x61, 0xe9, 0x20ac, 0x1f600, 0xffff };
	size_t i, k, n = strlen((const char *)s), at = 0;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		k = proto_utf8_seq_len(s + at, n - at);
		assert_int_not_equal(k, 0);
		assert_int_equal(proto_utf8_cp(s + at, k), want[i]);
		at += k;
	}
	assert_int_equal(at, n);
}

/* Each cut of "a é € 😀" at a byte bound, without its broken character. */
static void
test_utf8_whole(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	const size_t at[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10 };
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(at) / sizeof(at[0]); n++)
		assert_int_equal(proto_utf8_whole(s, n), at[n]);
	/* Not UTF-8: kept as it is, never read before s. */
	assert_int_equal(proto_utf8_whole("\x80\x80", 2), 2);
	assert_int_equal(proto_utf8_whole("a\x80\x80\x80\x80", 5), 5);
	assert_int_equal(proto_utf8_whole("\xc3", 1), 0);
}

static void
test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t out[sizeof(in)];
	char hex[2 * sizeof(in) + 1];

	(void)state;
	memset(hex, 'x', sizeof(hex));
	proto_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(proto_hex_decode(hex, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));

	proto_hex_encode(in, 0, hex);
	assert_string_equal(hex, "");
	/* Exactly 2n lowercase digits, then the end of the string. */
	assert_int_equal(proto_hex_decode("00017F80abff", out, 6), -1);
	assert_int_equal(proto_hex_decode("00017f80abf", out, 6), -1);
	assert_int_equal(proto_hex_decode("00017f80abff0", out, 6), -1);
	assert_int_equal(proto_hex_decode("00017f80abfg", out, 6), -1);
	assert_int_equal(proto_hex_decode("", out, 0), 0);

	assert_int_equal(proto_hex_digit('0'), 0);
	assert_int_equal(proto_hex_digit('9'), 9);
	assert_int_equal(proto_hex_digit('a'), 10);
	assert_int_equal(proto_hex_digit('F'), 15);
	assert_int_equal(proto_hex_digit('g'), -1);
	assert_int_equal(proto_hex_digit('/'), -1);
	assert_int_equal(proto_hex_digit(0x80 + '1'), -1);
	assert_int_equal(proto_hex_digit(-1), -1);
}

static void
test_be(void **state)
{
	uint8_t b[8];

	(void)state;
	proto_put_be32(b, 0x01020304u);
	assert_memory_equal(b, "\x01\x02\x03\x04", 4);
	assert_int_equal(proto_get_be32(b), 0x01020304u);
	proto_put_be32(b, UINT32_MAX);
	assert_int_equal(proto_get_be32(b), UINT32_MAX);
	proto_put_be64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(proto_get_be64(b) == 0x0102030405060708ull);
	proto_put_be64(b, UINT64_MAX);
	assert_true(proto_get_be64(b) == UINT64_MAX);
}

static void
test_json_ctype(void **state)
{
	(void)state;
	assert_true(proto_json_ctype("application/json"));
	assert_true(proto_json_ctype("Application/JSON"));
	assert_true(proto_json_ctype("application/json; charset=utf-8"));
	assert_true(proto_json_ctype("application/json \t;charset=utf-8"));
	assert_true(proto_json_ctype("application/json  "));
	assert_false(proto_json_ctype(NULL));
	assert_false(proto_json_ctype(""));
	assert_false(proto_json_ctype("application/jsonx"));
	assert_false(proto_json_ctype("application/json-patch+json"));
	assert_false(proto_json_ctype("text/plain"));
	assert_false(proto_json_ctype(" application/json"));
	assert_false(proto_json_ctype("application/js"));
}

/* One UTF-8 byte order mark at the start, and only there, is skipped. */
static void
test_bom_skip(void **state)
{
	static const struct {
		const char *in;
		size_t len, skip;
	} cases[] = {
		{ "\xef\xbb\xbf{}", 5, 3 },
		{ "\xef\xbb\xbf", 3, 3 },
		{ "\xef\xbb\xbf\xef\xbb\xbf{}", 8, 3 },
		{ "{}", 2, 0 },
		{ " \xef\xbb\xbf{}", 6, 0 },
		{ "\xef\xbb", 2, 0 },
		{ "\xef\xbb\xbe{}", 5, 0 },
		{ "", 0, 0 },
	};
	static const char cut[] = "\xef\xbb\xbf{}";
	const char *p;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len;
		p = proto_bom_skip(cases[i].in, &len);
		assert_ptr_equal(p, cases[i].in + cases[i].skip);
		assert_int_equal(len, cases[i].len - cases[i].skip);
	}
	/* A mark cut by len is not one. */
	len = 2;
	assert_ptr_equal(proto_bom_skip(cut, &len), cut);
	assert_int_equal(len, 2);
}

/* The byte loop proto_json_plain_len must agree with. */
static size_t
plain_len_bytes(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && proto_json_plain[p[i]])
		i++;
	return i;
}

/*
 * Every byte value at every place of 24 plain bytes, and runs of every
 * length: the word-at-a-time run stops at the first byte that needs a
 * look, never before (a borrow only marks bytes after it) nor after.
 */
static void
test_json_plain_len(void **state)
{
	unsigned char s[40];
	size_t pos, n;
	int c;

	(void)state;
	for (c = 0; c < 256; c++)
		for (pos = 0; pos < 24; pos++) {
			memset(s, 'x', sizeof(s));
			s[pos] = (unsigned char)c;
			/* A byte below it that borrows: a zero, '!' under '"'. */
			if (pos > 0)
				s[pos - 1] = (unsigned char)(c & 1 ? 0x21 : 0x5d);
			for (n = pos; n <= 24; n += 8)
				assert_int_equal(proto_json_plain_len(s, n),
				    plain_len_bytes(s, n));
			assert_int_equal(proto_json_plain_len(s, 24),
			    proto_json_plain[c] ? 24 : pos);
		}
	for (n = 0; n <= 40; n++) {
		memset(s, 'a', sizeof(s));
		assert_int_equal(proto_json_plain_len(s, n), n);
	}
}

/* Every errno of errs[0..n) means want. */
static void
accept_errs(const int *errs, size_t n, enum proto_accept want)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(proto_accept_err(errs[i]), want);
}

#define ACCEPT_ERRS(errs, want) \
	accept_errs((errs), sizeof(errs) / sizeof((errs)[0]), (want))

static void
test_accept_err(void **state)
{
	static const int empty[] = { EAGAIN, EWOULDBLOCK };
	static const int next[] = { EINTR, ECONNABORTED };
	static const int net[] = { EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN,
	    ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH };
	static const int spent[] = { EMFILE, ENFILE, ENOBUFS, ENOMEM };
	static const int other[] = { EBADF, EINVAL, ENOTSOCK, EPERM };

	(void)state;
	ACCEPT_ERRS(empty, PROTO_ACCEPT_EMPTY);
	ACCEPT_ERRS(next, PROTO_ACCEPT_NEXT);
	ACCEPT_ERRS(net, PROTO_ACCEPT_NET);
	ACCEPT_ERRS(spent, PROTO_ACCEPT_SPENT);
	ACCEPT_ERRS(other, PROTO_ACCEPT_OTHER);
}

/* An array grown one element at a time: 4, 8, then capped at 10. */
/* Even and odd counts, one, none, and elements past the 256-byte swap. */
static void
test_reverse(void **state)
{
	int a[5] = { 1, 2, 3, 4, 5 }, b[4] = { 1, 2, 3, 4 }, one = 7;
	static char big[3][600];
	size_t i;

	proto_reverse(a, 5, sizeof(a[0]));
	for (i = 0; i < 5; i++)
		assert_int_equal(a[i], 5 - (int)i);
	proto_reverse(b, 4, sizeof(b[0]));
	for (i = 0; i < 4; i++)
		assert_int_equal(b[i], 4 - (int)i);
	proto_reverse(&one, 1, sizeof(one));
	assert_int_equal(one, 7);
	proto_reverse(NULL, 0, sizeof(one));
	for (i = 0; i < 3; i++)
		memset(big[i], 'a' + (int)i, sizeof(big[i]));
	proto_reverse(big, 3, sizeof(big[0]));
	for (i = 0; i < sizeof(big[0]); i++) {
		assert_int_equal(big[0][i], 'c');
		assert_int_equal(big[1][i], 'b');
		assert_int_equal(big[2][i], 'a');
	}
}

static void
test_grow(void **state)
{
	int *a = NULL, *na;
	size_t cap = 0, n;

	(void)state;
	for (n = 0; n < 10; n++) {
		na = proto_grow(a, &cap, n, sizeof(*a), 4, 10);
		assert_non_null(na);
		a = na;
		a[n] = (int)n;
		assert_int_equal(cap, n < 4 ? 4 : n < 8 ? 8 : 10);
	}
	/* Full at max: NULL, the array and its capacity left alone. */
	assert_null(proto_grow(a, &cap, 10, sizeof(*a), 4, 10));
	assert_int_equal(cap, 10);
	for (n = 0; n < 10; n++)
		assert_int_equal(a[n], (int)n);
	/* Room left: the same array back. */
	assert_ptr_equal(proto_grow(a, &cap, 9, sizeof(*a), 4, 10), a);
	free(a);
}

/* A URL's password hidden, each of a list's, cut to the room. */
static void
test_url_shown(void **state)
{
	char out[64];
	const char *u;

	proto_url_shown("https://u:pw@host/v1", out, sizeof(out));
	assert_string_equal(out, "https://***@host/v1");
	/* A '@' in a path hides what is before it: it may be a password's. */
	proto_url_shown("https://host/a@b", out, sizeof(out));
	assert_string_equal(out, "https://***@b");
	proto_url_shown("smtp://u:sec/ret@h:1:2", out, sizeof(out));
	assert_string_equal(out, "smtp://***@h:1:2");
	proto_url_shown("smtps://me%40x.com:p@ss#1@mail.example.com", out,
	    sizeof(out));
	assert_string_equal(out, "smtps://***@mail.example.com");
	proto_url_shown("http://root:Pa55/w0rd@10.0.0.5:2379,http://a:b@c",
	    out, sizeof(out));
	assert_string_equal(out, "http://***@10.0.0.5:2379,http://***@c");
	proto_url_shown("http://a:1@h1,http://b:2@h2", out, sizeof(out));
	assert_string_equal(out, "http://***@h1,http://***@h2");
	proto_url_shown("no url at all", out, sizeof(out));
	assert_string_equal(out, "no url at all");
	proto_url_shown("smtp://@h", out, sizeof(out));
	assert_string_equal(out, "smtp://***@h");
	proto_url_shown("https://user:secret@host", out, 12);
	assert_string_equal(out, "https://***");
	proto_url_shown("https://user:secret@host", out, 9);
	assert_string_equal(out, "https://");
	/* 2 * strlen + 1 fits the worst: every "://" with an empty user. */
	u = "a://@a://@";
	proto_url_shown(u, out, 2 * strlen(u) + 1);
	assert_string_equal(out, "a://***@a://***@");
}

/*
 * proto_zalloc's struct is zeroed whatever the chunk held: a chunk freed
 * dirty and taken again (malloc's cache), and a new one (the sanitised
 * build's malloc fills those with 0xbe).
 */
static void
test_zalloc(void **state)
{
	static const size_t sizes[] = { 1, 24, 240, 680, 1008, 5000 };
	unsigned char *p;
	size_t i, j, k;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < 2; k++) {
			p = proto_zalloc(sizes[i]);
			assert_non_null(p);
			for (j = 0; j < sizes[i]; j++)
				assert_int_equal(p[j], 0);
			memset(p, 0xa5, sizes[i]);
			free(p);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_utf8_chars_runs),
		cmocka_unit_test(test_utf16_units_runs),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_utf8_cp),
		cmocka_unit_test(test_u32_add_held),
		cmocka_unit_test(test_utf8_whole),
		cmocka_unit_test(test_js_text),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_url_shown),
		cmocka_unit_test(test_be),
		cmocka_unit_test(test_json_ctype),
		cmocka_unit_test(test_bom_skip),
		cmocka_unit_test(test_json_plain_len),
		cmocka_unit_test(test_accept_err),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_zalloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
