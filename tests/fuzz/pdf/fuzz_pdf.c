/*
 * libFuzzer target for the fetcher's PDF reader (workerd/fetch/pdf.c):
 * the input read as a PDF (pdf_extract: poppler-glib opens it from
 * memory, then our lines, paragraphs, edges and outline headings), the
 * result chunked (chunk_doc, the defaults). poppler is not instrumented:
 * the coverage libFuzzer reports is pdf.c's and the chunker's, though
 * ASan still sees poppler's reads of our memory and its leaks. Properties
 * are checked, abort() otherwise: refused with a "pdf: " reason and a
 * zeroed doc, or accepted without one; every block a paragraph or a
 * heading of level 1-6, valid UTF-8 of its stated length, not empty,
 * within the text and block bounds in all; the title bounded and valid;
 * no language, canonical or links; every chunk 1 to CHUNK_MAX_DEFAULT
 * bytes of valid UTF-8, carrying the doc's title, at most
 * CHUNK_COUNT_MAX. The seeds are test_pdf's PDFs (PDF_SEED_DIR).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "pdf.h"

#define FUZZ_NAME	"fuzz_pdf"
#include "../fetchfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_chunks(const struct fetch_doc *doc)
{
	size_t n, i;
	struct chunk *c = chunks_checked(doc, &n);

	for (i = 0; i < n; i++)
		check(strcmp(c[i].title, doc->title ? doc->title : "") == 0,
		    "chunk without the title");
	chunks_free(c, n);
}

static void
check_doc(const struct fetch_doc *doc)
{
	size_t i;

	check_doc_text(doc);
	for (i = 0; i < doc->nblocks; i++) {
		const struct fetch_block *b = &doc->blocks[i];

		check(b->kind == FETCH_PARA || (b->kind == FETCH_HEADING &&
		    b->level >= 1 && b->level <= 6), "kind or level");
		check(b->kind == FETCH_HEADING || b->level == 0, "level on a paragraph");
	}
	check(doc->lang == NULL && doc->canonical == NULL && doc->nlinks == 0 &&
	    doc->links == NULL, "language or links from a PDF");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fetch_doc doc;
	const char *why;

	if (pdf_extract(data, size, &doc, &why) == 0) {
		check(why == NULL, "accepted with a reason");
		check_doc(&doc);
		check_chunks(&doc);
	} else
		check(why != NULL && strncmp(why, "pdf: ", 5) == 0 &&
		    doc.blocks == NULL && doc.title == NULL && doc.nblocks == 0,
		    "refused, not clean");
	fetch_doc_free(&doc);
	return 0;
}
