/*
 * libFuzzer target for how the fetcher takes a fetched answer's
 * Content-Type (workerd/fetch/crawl.c): what the answer is read as
 * (crawl_doc_type) and its charset parameter (crawl_charset), any
 * site's header. Byte 0 is the charset buffer's size (1 to 64, the
 * crawl's own); the rest, to a NUL and at most 127 bytes (crawl.c's
 * header buffer), is the Content-Type, and after that NUL the answer's
 * URL. Properties are checked, abort() otherwise: the type is one of
 * the five and is read the same twice, in upper case, with a parameter
 * added, and with another URL (but text/plain's Markdown for a path in
 * ".md") or a query added; a type is only read from a text/ or
 * application/ type, and from a whole media type of those read (not
 * text/htmlx); the
 * charset (in a buffer of exactly its size, so an overflow is ASan's)
 * is NULL exactly when empty, shorter than its buffer, without ';',
 * space or tab, found in the Content-Type after a parameter's name
 * "charset=" (after a ';' and white space), the start of what a 64-byte
 * buffer gets, and a "; charset=x" added to a Content-Type without one
 * (nor a quote) gives x.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawl.h"

#define CTYPE_MAX	127	/* crawl.c's f->ctype holds 128 bytes */
#define URL_MAX		2048	/* of the answer's URL read */
#define CS_MAX		64	/* crawl.c's charset buffers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ctype: %s\n", what);
		abort();
	}
}

/* The next NUL-ended field of [*p, end), at most max bytes, into out. */
static void
field(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
	size_t n = 0;

	while (*p < end && **p != '\0' && n < max)
		out[n++] = (char)*(*p)++;
	out[n] = '\0';
	while (*p < end && *(*p)++ != '\0')
		;
}

/* ctype's whole media type (to ';', white space or the end) is one read. */
static int
named_type(const char *ctype)
{
	static const char *const names[] = { "text/html",
	    "application/xhtml+xml", "text/markdown", "text/x-markdown",
	    "text/plain", "application/pdf" };
	size_t n = strcspn(ctype, "; \t"), i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(ctype, names[i], n) == 0)
			return 1;
	return 0;
}

static void
check_type(const char *ctype, const char *url)
{
	char up[CTYPE_MAX + 1], more[CTYPE_MAX + 32], murl[URL_MAX + 16];
	enum doc_type t = crawl_doc_type(ctype, url), other;
	size_t i, n = strcspn(url, "?#");	/* the path's end */

	check((int)t >= (int)DOC_NONE && (int)t <= (int)DOC_PDF, "not a type");
	check(crawl_doc_type(ctype, url) == t, "read otherwise twice");
	for (i = 0; ctype[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)ctype[i]);
	up[i] = '\0';
	check(crawl_doc_type(up, url) == t, "read otherwise in upper case");
	snprintf(more, sizeof(more), "%s; charset=utf-8", ctype);
	check(crawl_doc_type(more, url) == t, "a parameter changes the type");
	other = crawl_doc_type(ctype, "https://example.com/page");
	check(other == t || (t == DOC_MARKDOWN && other == DOC_TEXT && n > 3
	    && strncasecmp(url + n - 3, ".md", 3) == 0), "the URL changes it");
	check(t != DOC_MARKDOWN || crawl_doc_type(ctype, "https://e.com/a.md")
	    == t, "a Markdown type not read from a .md path");
	/* A query or fragment added changes nothing. */
	snprintf(murl, sizeof(murl), "%s?x=1.txt#y", url);
	check(crawl_doc_type(ctype, murl) == t || strpbrk(url, "?#") != NULL,
	    "a query changes the type");
	check(t == DOC_NONE || strncasecmp(ctype, "text/", 5) == 0 ||
	    strncasecmp(ctype, "application/", 12) == 0,
	    "a type of neither text/ nor application/");
	check(t == DOC_NONE || named_type(ctype),
	    "a type read from one it only begins");
}

static void
check_charset(const char *ctype, size_t cssz)
{
	char *cs, full[CS_MAX], more[CTYPE_MAX + 32];
	const char *r, *p, *q;
	size_t n;

	if ((cs = malloc(cssz)) == NULL)
		return;
	r = crawl_charset(ctype, cs, cssz);
	n = strlen(cs);
	check(n < cssz, "a charset past its buffer");
	check(r == NULL ? n == 0 : r == cs && n > 0, "NULL exactly when none");
	check(strpbrk(cs, "; \t") == NULL, "a charset holding ; or space");
	(void)crawl_charset(ctype, full, sizeof(full));
	check(strncmp(cs, full, n) == 0, "a small buffer's not the start");
	/* After "charset=" that follows a ';' and white space. */
	for (p = ctype; n > 0 && (p = strcasestr(p, "charset=")) != NULL;
	    p++) {
		for (q = p; q > ctype && (q[-1] == ' ' || q[-1] == '\t'); q--)
			;
		if (strncmp(p + 8, cs, n) == 0 && q > ctype && q[-1] == ';')
			break;
	}
	check(n == 0 || p != NULL, "a charset not of a parameter so named");
	/* (Not after a quote: an open one takes in what follows.) */
	if (strcasestr(ctype, "charset=") == NULL &&
	    strchr(ctype, '"') == NULL) {
		snprintf(more, sizeof(more), "%s; charset=x", ctype);
		check(crawl_charset(more, full, sizeof(full)) != NULL &&
		    strcmp(full, "x") == 0, "an added charset not read");
	}
	free(cs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ctype[CTYPE_MAX + 1], url[URL_MAX + 1];
	const uint8_t *p = data + 1, *end = data + size;

	if (size < 1)
		return 0;
	field(&p, end, ctype, CTYPE_MAX);
	field(&p, end, url, sizeof(url) - 1);
	check_type(ctype, url);
	check_charset(ctype, 1 + data[0] % CS_MAX);
	return 0;
}
