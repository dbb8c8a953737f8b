/*
 * How the fetcher takes a fetched answer's Content-Type (crawl.c): what
 * the answer is read as (crawl_doc_type) and its charset parameter
 * (crawl_charset), which is a parameter named charset alone: not one
 * whose name ends in it, nor "charset=" inside another's value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crawl.h"

/* A Content-Type and URL, and what the answer is read as. */
static const struct {
	const char *ctype, *url;
	enum doc_type want;
} types[] = {
	{ "text/html; charset=utf-8", "u", DOC_HTML },
	{ "APPLICATION/XHTML+XML", "u", DOC_HTML },
	{ "text/markdown", "u", DOC_MARKDOWN },
	{ "text/plain", "https://e.com/R.MD", DOC_MARKDOWN },
	{ "text/plain", "https://e.com/a.txt", DOC_TEXT },
	{ "application/pdf", "u", DOC_PDF },
	{ "image/png", "u.md", DOC_NONE },
	/* The path's name, not the query's, the fragment's nor the host's. */
	{ "text/plain", "https://e.com/README.md?raw=1", DOC_MARKDOWN },
	{ "text/plain", "https://e.com/a.md#top", DOC_MARKDOWN },
	{ "text/plain", "https://e.com/a?f=.md", DOC_TEXT },
	{ "text/plain", "https://e.com/a#.md", DOC_TEXT },
	{ "text/plain", "https://notes.md", DOC_TEXT },
	{ "text/plain", "https://notes.md?a.md", DOC_TEXT },
	{ "text/plain", "a.md?u=https://h/x", DOC_MARKDOWN },
	/* The whole media type: not one it begins. */
	{ "text/htmlx", "u", DOC_NONE },
	{ "application/pdf-x", "u", DOC_NONE },
	{ "text/plainer", "u.md", DOC_NONE },
	{ "text/plain;charset=x", "u", DOC_TEXT },
	{ "text/html ; q=1", "u", DOC_HTML },
	{ "", "", DOC_NONE },
};

static void
test_doc_type(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (crawl_doc_type(types[i].ctype, types[i].url) != types[i].want)
			fail_msg("%s at %s: read as %d, not %d", types[i].ctype,
			    types[i].url, crawl_doc_type(types[i].ctype,
			    types[i].url), types[i].want);
	}
}

static void
test_charset(void **state)
{
	char cs[64], small[4];

	(void)state;
	assert_string_equal(crawl_charset("text/html; charset=utf-8", cs,
	    sizeof(cs)), "utf-8");
	/* As it is: quotes kept, any case, up to ';' or white space. */
	assert_string_equal(crawl_charset("TEXT/HTML;CHARSET=\"ISO-8859-1\"",
	    cs, sizeof(cs)), "\"ISO-8859-1\"");
	assert_string_equal(crawl_charset("text/plain;\t charset=koi8-r ;x=1",
	    cs, sizeof(cs)), "koi8-r");
	/* Cut to its buffer. */
	assert_string_equal(crawl_charset("text/html; charset=utf-8", small,
	    sizeof(small)), "utf");
	assert_null(crawl_charset("text/html", cs, sizeof(cs)));
	assert_string_equal(cs, "");
	assert_null(crawl_charset("text/html; charset=", cs, sizeof(cs)));
	/* A parameter named charset, not one ending in it nor a value. */
	assert_null(crawl_charset("text/html; xcharset=utf-16", cs,
	    sizeof(cs)));
	assert_string_equal(crawl_charset("text/html; x-charset=utf-16; "
	    "charset=utf-8", cs, sizeof(cs)), "utf-8");
	assert_string_equal(crawl_charset("text/html; a=\"charset=utf-16\"; "
	    "charset=utf-8", cs, sizeof(cs)), "utf-8");
	/* A ';' inside a quoted value starts no parameter. */
	assert_string_equal(crawl_charset("text/html; a=\"x;charset=utf-16\"; "
	    "charset=utf-8", cs, sizeof(cs)), "utf-8");
	assert_null(crawl_charset("text/html; a=\"x\\\";charset=utf-16\"",
	    cs, sizeof(cs)));
	assert_null(crawl_charset("charset=utf-16", cs, sizeof(cs)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_type),
		cmocka_unit_test(test_charset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
