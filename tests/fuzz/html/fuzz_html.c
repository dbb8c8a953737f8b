/*
 * libFuzzer target for the fetcher's document readers
 * (workerd/fetch/html.c): the input read as an HTML page (html_extract,
 * libxml2's HTML parser and our walk of its tree; then again, past its
 * first byte, under the charset that byte picks: one whose '<' is
 * another byte must be refused), as Markdown
 * (md_extract; again after fetch_text_decode under the charset the first
 * byte picks, which must give valid UTF-8) and as plain text
 * (text_extract), each result then
 * chunked (chunk_doc, the defaults). Properties are checked, abort()
 * otherwise: every block's text is valid UTF-8 of its stated length, not
 * empty, within the text bound in all, a heading's level 1-6 and no
 * other block's; the title and language bounded and valid; every link
 * absolute http(s) with a lowercase scheme, a host, no fragment, at most
 * FETCH_URL_MAX bytes and listed once, at most FETCH_LINKS_MAX of them
 * (none from Markdown or text), and each as the crawl keys it
 * (fetch_url_clean) no longer, without a fragment, stable; every chunk 1 to CHUNK_MAX_DEFAULT bytes
 * of valid UTF-8, at most CHUNK_COUNT_MAX.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "html.h"
#include "util.h"

#define FUZZ_NAME	"fuzz_html"
#include "../fetchfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_chunks(const struct fetch_doc *doc)
{
	size_t n, i;
	struct chunk *c = chunks_checked(doc, &n);

	for (i = 0; i < n; i++)
		check(valid_utf8(c[i].title, strlen(c[i].title)), "title not UTF-8");
	chunks_free(c, n);
}

/*
 * u as the crawl keys it (fetch_url_clean): no longer, no fragment, its
 * start kept, and cleaning it again changes nothing.
 */
static void
check_clean(const char *u)
{
	char *a = fetch_url_clean(u), *b;

	check(a != NULL, "clean: out of memory");
	check(strlen(a) <= strlen(u), "clean: longer");
	check(strchr(a, '#') == NULL, "clean: a fragment");
	check(strncmp(a, u, strcspn(u, "?#")) == 0, "clean: its path changed");
	b = fetch_url_clean(a);
	check(b != NULL && strcmp(a, b) == 0, "clean: not stable");
	free(a);
	free(b);
}

static void
check_doc(const struct fetch_doc *doc, int with_links)
{
	size_t i, j, skip;
	const char *u;

	check_doc_text(doc);
	for (i = 0; i < doc->nblocks; i++) {
		const struct fetch_block *b = &doc->blocks[i];

		check(b->kind >= FETCH_HEADING && b->kind <= FETCH_CODE, "kind");
		check(b->kind == FETCH_HEADING ? b->level >= 1 && b->level <= 6 :
		    b->level == 0, "heading level");
	}
	if (doc->lang != NULL)
		check(strlen(doc->lang) <= FETCH_LANG_MAX, "lang");
	check(with_links || (doc->nlinks == 0 && doc->canonical == NULL),
	    "links from a file");
	check(doc->nlinks <= FETCH_LINKS_MAX, "link bound");
	for (i = 0; i <= doc->nlinks; i++) {
		u = i < doc->nlinks ? doc->links[i] : doc->canonical;
		if (u == NULL)
			continue;
		skip = strncmp(u, "http://", 7) == 0 ? 7 :
		    strncmp(u, "https://", 8) == 0 ? 8 : 0;
		check(skip > 0, "link not http(s)");
		check(u[skip] != '\0' && u[skip] != '/', "link without a host");
		check(strchr(u, '#') == NULL, "link with a fragment");
		check(strlen(u) <= FETCH_URL_MAX, "link too long");
		for (j = 0; i < doc->nlinks && j < i; j++)
			check(strcmp(doc->links[j], u) != 0, "link listed twice");
		check_clean(u);
	}
}

/*
 * The charsets an HTTP header may give, picked by the input's first
 * byte for a second read of the rest: ASCII-keeping ones, UTF-16, and
 * ones whose '<' is another byte (the last three, always refused).
 */
static const char *const charsets[] = {
	"utf-8", "iso-8859-1", "windows-1252", "shift_jis", "koi8-r",
	"utf-16le", "x-unknown", "", "CSIBM037", "IBM1153", "utf-7",
};
#define CHARSETS	(sizeof(charsets) / sizeof(charsets[0]))
#define REFUSED_FROM	8	/* charsets[8...]: never read */

/* data read as an HTML page under charset (NULL: none given). */
static void
html_one(const uint8_t *data, size_t size, const char *charset)
{
	struct fetch_doc doc;
	const char *why;

	if (html_extract((const char *)data, size, "https://example.com/dir/page",
	    charset, &doc, &why) == 0) {
		check(why == NULL, "accepted with a reason");
		check_doc(&doc, 1);
		check_chunks(&doc);
	} else
		check(why != NULL && strncmp(why, "html: ", 6) == 0 &&
		    doc.blocks == NULL && doc.links == NULL, "refused, not clean");
	fetch_doc_free(&doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fetch_doc doc;
	const char *why;
	size_t k;

	html_one(data, size, NULL);
	if (size > 0) {
		k = data[0] % CHARSETS;
		html_one(data + 1, size - 1, charsets[k]);
		if (k >= REFUSED_FROM && size > 1) {
			check(html_extract((const char *)data + 1, size - 1,
			    "https://example.com/", charsets[k], &doc, &why) < 0 &&
			    strcmp(why, "html: charset refused") == 0,
			    "a charset whose '<' is another byte read");
			fetch_doc_free(&doc);
		}
	}

	/*
	 * Text under the charset the first byte picks (fetch_text_decode):
	 * valid UTF-8 when decoded, then read as Markdown.
	 */
	if (size > 0) {
		char *dec;
		size_t dlen;

		check(fetch_text_decode((const char *)data + 1, size - 1,
		    charsets[data[0] % CHARSETS][0] != '\0' ?
		    charsets[data[0] % CHARSETS] : NULL, &dec, &dlen) == 0,
		    "decode");
		if (dec != NULL) {
			check(proto_utf8_valid(dec, dlen), "decoded text not UTF-8");
			check(md_extract(dec, dlen, &doc, &why) == 0,
			    "decoded markdown");
			check_doc(&doc, 0);
			fetch_doc_free(&doc);
			free(dec);
		}
	}

	check(md_extract((const char *)data, size, &doc, &why) == 0, "markdown");
	check_doc(&doc, 0);
	check_chunks(&doc);
	fetch_doc_free(&doc);

	check(text_extract((const char *)data, size, &doc, &why) == 0, "text");
	check_doc(&doc, 0);
	check_chunks(&doc);
	fetch_doc_free(&doc);
	return 0;
}
