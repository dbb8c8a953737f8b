/*
 * A PDF the knowledge base is given (an uploaded file or a fetched one)
 * read into html.h's struct fetch_doc, which the chunker (chunk.h)
 * splits like a page's. No I/O: the bytes are read from memory by
 * poppler's GLib interface (poppler-glib), never from a path, never over
 * the network; poppler's and GLib's reports about the file are dropped.
 *
 * What a PDF gives: the title (its metadata's, else the first heading,
 * else the first line), each page's text in poppler's reading order,
 * cut into paragraphs (lines joined, a word hyphenated at a line end
 * joined again), the page numbers and the running headers and footers
 * dropped, and headings from its outline (bookmarks) when it has one.
 *
 * Everything the file controls is bounded: its bytes (FETCH_INPUT_MAX),
 * the pages read (PDF_PAGES_MAX), the text kept (FETCH_TEXT_MAX; a
 * quarter more, 5 MiB, and 500,000 lines of page text held while
 * reading), the outline entries (PDF_OUTLINE_MAX, 6 levels), and the
 * time spent (PDF_TIME_MS), checked between pages: poppler cannot be
 * interrupted inside one, so a single page that takes long is not cut
 * short (the fetching process needs a CPU and memory limit of its own).
 * A bound reached keeps what came before it and sets doc->truncated.
 */
#ifndef PARLEY_FETCH_PDF_H
#define PARLEY_FETCH_PDF_H

#include <stddef.h>

#include "html.h"

#define PDF_PAGES_MAX	2000	/* pages read */
#define PDF_TIME_MS	20000	/* milliseconds of reading, between pages */
#define PDF_OUTLINE_MAX	4096	/* outline entries read */

/* The bounds pdf_extract_limits reads with; a zero field takes its
 * default (PDF_PAGES_MAX, PDF_TIME_MS, FETCH_TEXT_MAX: text is at most
 * that, a larger one is cut to it). */
struct pdf_limits {
	unsigned pages;
	unsigned time_ms;
	size_t text;		/* bytes of text kept */
};

/*
 * Reads a PDF of len bytes (at most FETCH_INPUT_MAX). Title: the
 * metadata's (Info /Title), else the first level-1 heading, else the
 * first line of text when it is at most 120 bytes. Blocks: paragraphs
 * (FETCH_PARA) from each page's lines, cut where the space between two
 * lines is wider than the page's usual one, where the text size
 * changes, at a bullet, and after a short line ending a sentence; a
 * paragraph runs on into the next page when it did not end a sentence
 * and the page goes on in lowercase. Headings (FETCH_HEADING, the
 * outline's depth as level, 1-6) come from the outline: each where its
 * title is a line of its page (that line then not repeated in a
 * paragraph), else at the start of its page. Dropped: a line at the top
 * or the bottom of a page that is a page number ("12", "xii", "Page 3 of
 * 9", "- 4 -"), or that, digits aside, is at the top or the bottom of at
 * least 3 pages (a running header or footer). A PDF without text
 * (scanned pages, no pages) gives 0 and no block. No language, no links.
 * 0 with *doc filled (fetch_doc_free), or -1 with *doc zeroed and *why a
 * static reason: "pdf: over 16 MiB", "pdf: not a PDF" (no "%PDF-" in its
 * first KiB), "pdf: encrypted (a password is needed)", "pdf: damaged"
 * (poppler could not open it), "pdf: out of memory".
 */
int pdf_extract(const void *bytes, size_t len, struct fetch_doc *doc,
    const char **why);

/* pdf_extract with other bounds on pages and time (lim NULL: the
 * defaults); for the tests. */
int pdf_extract_limits(const void *bytes, size_t len,
    const struct pdf_limits *lim, struct fetch_doc *doc, const char **why);

#endif
