/*
 * libFuzzer target for what the fetcher reads back from a document's
 * child (workerd/fetch/docchild.c, docchild_decode): the child runs
 * poppler on untrusted bytes, and a document that subverts it may make
 * it send anything. Properties are checked, abort() otherwise: an input
 * is read (its doc as any reader's: every block clean UTF-8 of its
 * stated length, within the text and block bounds; the title, language,
 * canonical URL and links each clean UTF-8 within their bounds), or its
 * reason given (clean UTF-8, not empty, bounded), or refused as a crash with a zeroed
 * doc; never a read past the input. The seeds are documents the child
 * sends (made by hand from its format: docchild.c's opening comment).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docchild.h"

#define FUZZ_NAME	"fuzz_docchild"
#include "../fetchfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s (NULL: none) clean UTF-8 of 1 to max bytes. */
static void
check_str(const char *s, size_t max, const char *what)
{
	if (s == NULL)
		return;
	check(strlen(s) > 0 && strlen(s) <= max && valid_utf8(s, strlen(s)),
	    what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fetch_doc zero;
	struct docchild_result res;
	size_t i;

	memset(&res, 0, sizeof(res));
	switch (docchild_decode((const char *)data, size, &res)) {
	case DOCCHILD_READ:
		check_doc_text(&res.doc);
		check_str(res.doc.title, FETCH_TITLE_MAX, "title");
		check_str(res.doc.lang, FETCH_LANG_MAX, "language");
		check_str(res.doc.canonical, FETCH_URL_MAX, "canonical");
		check(res.doc.nlinks <= FETCH_LINKS_MAX, "link bound");
		for (i = 0; i < res.doc.nlinks; i++) {
			check(res.doc.links[i] != NULL, "a link none");
			check_str(res.doc.links[i], FETCH_URL_MAX, "link");
		}
		for (i = 0; i < res.doc.nblocks; i++)
			check(res.doc.blocks[i].kind <= FETCH_CODE &&
			    res.doc.blocks[i].level <= 6, "block kind");
		fetch_doc_free(&res.doc);
		break;
	case DOCCHILD_UNREAD:
		check(res.why[0] != '\0' && strlen(res.why) <= DOCCHILD_WHY_MAX &&
		    valid_utf8(res.why, strlen(res.why)), "reason");
		check(memcmp(&res.doc, &zero, sizeof(zero)) == 0,
		    "a reason with a doc");
		break;
	case DOCCHILD_CRASH:
	case DOCCHILD_FAILED:
		check(memcmp(&res.doc, &zero, sizeof(zero)) == 0,
		    "refused with a doc left");
		break;
	default:
		check(0, "an end decode never gives");
	}
	return 0;
}
