/*
 * The chunker of the knowledge base: a document's blocks (html.h's
 * struct fetch_doc, from a page or an uploaded file) split into the
 * pieces storaged indexes and a chat turn's search returns. A chunk
 * never crosses a heading of its section's level or above; it carries
 * the page title and its heading path ("Install > Network > Proxy"); a
 * long section is split at block boundaries, a huge block at sentence,
 * then word, then character boundaries, each piece after the first
 * starting with the end of the one before (the overlap); a section of
 * almost nothing (a heading alone, a few words) joins the next chunk of
 * the same parent. Pure: no I/O, no state.
 */
#ifndef PARLEY_FETCH_CHUNK_H
#define PARLEY_FETCH_CHUNK_H

#include <stddef.h>

#include "html.h"

#define CHUNK_TARGET_DEFAULT	1000	/* bytes of text a chunk aims at */
#define CHUNK_MAX_DEFAULT	2000	/* bytes of text a chunk never passes */
#define CHUNK_OVERLAP_DEFAULT	200	/* bytes at most repeated from the piece before */
#define CHUNK_COUNT_MAX		10000	/* chunks of one document */
#define CHUNK_HEADING_MAX	200	/* bytes of one heading in a path */
#define CHUNK_PATH_MAX		(6 * (CHUNK_HEADING_MAX + 3))	/* bytes of a path */

/*
 * The sizes, in bytes of text; a zero field takes its default. The
 * chunker holds them sane: target at least 64, max at least target,
 * overlap at most max - target and target / 2, max_chunks at most
 * CHUNK_COUNT_MAX.
 */
struct chunk_opts {
	size_t target;
	size_t max;
	size_t overlap;
	size_t max_chunks;
};

struct chunk {
	char *title;		/* the document's title, "" when none */
	char *path;		/* the headings above it, " > " between; "" */
	char *text;		/* valid UTF-8, blocks joined by "\n" */
	size_t len;		/* strlen(text): 1 to opts' max */
};

/*
 * Splits doc's blocks into chunks (opts NULL or zeroed: the defaults).
 * 0 with *chunks (malloc'd, *n of them; NULL and 0 for a doc without
 * text) to free with chunks_free; 1 the same when the document had more
 * than max_chunks (the first ones kept, *why "chunk: too many chunks,
 * the first kept"); -1 out of memory, with *chunks NULL, *n 0 and *why.
 */
int chunk_doc(const struct fetch_doc *doc, const struct chunk_opts *opts,
    struct chunk **chunks, size_t *n, const char **why);

/* Frees n chunks and the array; chunks may be NULL. */
void chunks_free(struct chunk *chunks, size_t n);

#endif
