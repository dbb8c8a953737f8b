/*
 * libFuzzer target for what static.c reads from a request or a file:
 * Accept-Encoding (q-values), If-None-Match, the gzip trailer check, the
 * CRC-32 and the key rendered into a page. The first byte says where to
 * cut the rest into two strings (a header value or template, and a key or
 * second value). Properties are checked, abort() otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_static: %s\n", what);
		abort();
	}
}

static char *
cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static size_t
escaped_len(const char *k)
{
	size_t n = 0;

	for (; *k != '\0'; k++) {
		switch (*k) {
		case '&': n += 5; break;
		case '<': case '>': n += 4; break;
		case '"': n += 6; break;
		case '\'': n += 5; break;
		default: n++;
		}
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char mark[] = "{{WIDGET_API_KEY}}";
	static const char etag[] = "\"0123456789abcdef0123456789abcdef\"";
	const uint8_t *rest;
	size_t cut, n, marks, i, outlen;
	char *a, *b, *out;
	int g;

	if (size == 0)
		return 0;
	n = size - 1;
	rest = data + 1;
	cut = n ? data[0] % (n + 1) : 0;
	a = cstr(rest, cut);
	b = cstr(rest + cut, n - cut);

	/* Accept-Encoding: 0 or 1; never gzip without "gzip" or "*" in it. */
	g = static_accepts_gzip(a);
	check(g == 0 || g == 1, "accepts_gzip not 0/1");
	if (g && strcasestr(a, "gzip") == NULL)
		check(strchr(a, '*') != NULL, "gzip allowed without gzip or *");
	g = static_accepts_gzip(b);
	check(g == 0 || g == 1, "accepts_gzip not 0/1");

	/* If-None-Match: the tag itself, and the tag appended to a list. */
	(void)static_etag_match(a, etag);
	(void)static_etag_match(a, b);
	check(static_etag_match(etag, etag) == 1, "a tag matches itself");
	if (strchr(a, '"') == NULL && strchr(a, '*') == NULL)
		check(static_etag_match(a, etag) == 0, "a match without a quote");

	/* The page template: each mark replaced by the escaped key. */
	marks = 0;
	for (i = 0; i + sizeof(mark) - 1 <= cut; ) {
		if (memcmp(rest + i, mark, sizeof(mark) - 1) == 0) {
			marks++;
			i += sizeof(mark) - 1;
		} else
			i++;
	}
	out = static_render((const char *)rest, cut, b, &outlen);
	check(out != NULL, "render failed");
	check(outlen == cut - marks * (sizeof(mark) - 1) +
	    marks * escaped_len(b), "rendered length");
	check(out[outlen] == '\0', "rendered not NUL-terminated");
	free(out);

	/* gzip trailer check and CRC-32 in pieces. */
	(void)static_gzip_of(rest, cut, rest + cut, n - cut);
	check(static_crc32(static_crc32(0, rest, cut), rest + cut, n - cut) ==
	    static_crc32(0, rest, n), "crc32 in pieces");

	free(a);
	free(b);
	return 0;
}
