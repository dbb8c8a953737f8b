/*
 * What the fetcher's fuzz targets (html, chunk, pdf) share: a property
 * check that aborts naming the target, the UTF-8 check of a text
 * (fetch_utf8_clean leaves valid UTF-8 as it is), and the checks every
 * reader's document and chunks pass. Define FUZZ_NAME ("fuzz_html")
 * before including it.
 */
#ifndef PARLEY_FETCHFUZZ_H
#define PARLEY_FETCHFUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "html.h"

/* abort() with what, when cond does not hold. */
static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "%s: %s\n", FUZZ_NAME, what);
		abort();
	}
}

/* 1 when s's len bytes are valid UTF-8 without controls. */
static int
valid_utf8(const char *s, size_t len)
{
	char *c = malloc(3 * len + 1);
	int ok;

	check(c != NULL, "out of memory");
	ok = fetch_utf8_clean(c, s, len) == len && memcmp(c, s, len) == 0;
	free(c);
	return ok;
}

/*
 * doc's blocks (each whole UTF-8, its length right), their total, bound
 * and the title: what any reader's document holds. The kinds are each
 * reader's own to check.
 */
static inline void
check_doc_text(const struct fetch_doc *doc)
{
	size_t i, total = 0;

	for (i = 0; i < doc->nblocks; i++) {
		const struct fetch_block *b = &doc->blocks[i];

		check(b->len > 0 && strlen(b->text) == b->len, "block length");
		check(valid_utf8(b->text, b->len), "block not UTF-8");
		total += b->len;
	}
	check(total == doc->text_bytes && total <= FETCH_TEXT_MAX, "text bytes");
	check(doc->nblocks <= FETCH_BLOCKS_MAX, "block bound");
	if (doc->title != NULL)
		check(strlen(doc->title) > 0 && strlen(doc->title) <= FETCH_TITLE_MAX &&
		    valid_utf8(doc->title, strlen(doc->title)), "title");
}

/*
 * doc chunked (chunk_doc) and each chunk checked as any reader's: within
 * the bounds, its text and heading path whole UTF-8. The chunks, for the
 * caller's own checks (chunks_free them), and *n.
 */
static inline struct chunk *
chunks_checked(const struct fetch_doc *doc, size_t *n)
{
	struct chunk *c;
	const char *why;
	size_t i;
	int rc;

	rc = chunk_doc(doc, NULL, &c, n, &why);
	check(rc == 0 || rc == 1, "chunk_doc failed");
	check((rc == 0) == (why == NULL), "reason and result disagree");
	check(*n <= CHUNK_COUNT_MAX, "over the chunk bound");
	check((*n == 0) == (c == NULL), "chunk array and count disagree");
	for (i = 0; i < *n; i++) {
		check(c[i].len >= 1 && c[i].len <= CHUNK_MAX_DEFAULT,
		    "chunk size out of bounds");
		check(strlen(c[i].text) == c[i].len, "chunk length");
		check(valid_utf8(c[i].text, c[i].len), "chunk not UTF-8");
		check(strlen(c[i].path) <= CHUNK_PATH_MAX, "path too long");
		check(valid_utf8(c[i].path, strlen(c[i].path)), "path not UTF-8");
	}
	return c;
}

#endif
