/*
 * libFuzzer target for the chunker (workerd/fetch/chunk.c) on a
 * document made of the input: bytes 0-3 pick the options (target, max,
 * overlap, chunk bound; 0 the default), then each block is a byte (its
 * kind: 0 a heading, else a body kind; its level 0-7, out of range on
 * purpose) and its text up to the next 0xFE byte, raw: invalid UTF-8,
 * NULs and controls included. Properties are checked, abort() otherwise:
 * 0 or 1 and the reason to match; at most the chunk bound; each chunk
 * 1 to the (sane) max bytes, its length its strlen, valid UTF-8, a path
 * within CHUNK_PATH_MAX; no chunk for a document without body text; the
 * body text's letters and digits all in some chunk, in order, when the
 * chunk bound was not reached (nothing is lost).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

#define FUZZ_NAME	"fuzz_chunk"
#include "../fetchfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BLOCKS	512


static int
alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* 1 when every ASCII letter and digit of the body blocks appears, in
 * order, in the chunks' texts (overlaps may repeat some). */
static int
nothing_lost(const struct fetch_doc *doc, const struct chunk *c, size_t n)
{
	size_t b, i, ci = 0, ti = 0;

	for (b = 0; b < doc->nblocks; b++) {
		if (doc->blocks[b].kind == FETCH_HEADING)
			continue;
		for (i = 0; i < doc->blocks[b].len; i++) {
			unsigned char ch = (unsigned char)doc->blocks[b].text[i];

			if (!alnum(ch))
				continue;
			for (;;) {
				if (ci >= n)
					return 0;
				if (ti >= c[ci].len) {
					ci++;
					ti = 0;
					continue;
				}
				if ((unsigned char)c[ci].text[ti++] == ch)
					break;
			}
		}
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fetch_block blocks[MAX_BLOCKS];
	struct fetch_doc doc;
	struct chunk_opts o;
	struct chunk *c;
	const char *why;
	char *copy;
	size_t n, i, at, end, max, target, body = 0;
	int rc;

	if (size < 4)
		return 0;
	memset(&o, 0, sizeof(o));
	o.target = (size_t)data[0] * 8;
	o.max = data[1] ? o.target + (size_t)data[1] * 8 : 0;
	o.overlap = (size_t)data[2] * 2;
	o.max_chunks = data[3];
	target = o.target ? o.target : CHUNK_TARGET_DEFAULT;
	if (target < 64)
		target = 64;
	max = o.max ? o.max : CHUNK_MAX_DEFAULT;
	if (max < target)
		max = target;
	/* The text, NUL-ended blocks in a copy of the input. */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&doc, 0, sizeof(doc));
	doc.blocks = blocks;
	doc.title = size > 4 && data[4] & 1 ? copy + 5 : NULL;
	for (at = 4; at < size && doc.nblocks < MAX_BLOCKS; at = end + 1) {
		struct fetch_block *b = &blocks[doc.nblocks];
		const uint8_t *fe = memchr(data + at + 1, 0xfe, size - at - 1 > 0 ?
		    size - at - 1 : 0);

		end = fe ? (size_t)(fe - data) : size;
		if (at + 1 >= size)
			break;
		b->kind = data[at] % 5 == 0 ? FETCH_HEADING :
		    (enum fetch_kind)(data[at] % 5);
		b->level = (data[at] >> 3) % 8;
		b->text = copy + at + 1;
		b->len = end - at - 1;
		copy[end] = '\0';
		if (b->kind != FETCH_HEADING)
			body += b->len;
		doc.nblocks++;
	}
	rc = chunk_doc(&doc, &o, &c, &n, &why);
	check(rc == 0 || rc == 1, "chunk_doc failed");
	check((rc == 0) == (why == NULL), "reason and result disagree");
	check(n <= (o.max_chunks ? o.max_chunks : CHUNK_COUNT_MAX), "chunk bound");
	check((n == 0) == (c == NULL), "array and count disagree");
	if (body == 0)
		check(n == 0, "a chunk without body text");
	for (i = 0; i < n; i++) {
		check(c[i].len >= 1, "empty chunk");
		if (c[i].len > max) {
			fprintf(stderr, "chunk %zu: %zu > %zu\n", i, c[i].len, max);
			check(0, "chunk over max");
		}
		check(strlen(c[i].text) == c[i].len, "chunk length");
		check(valid_utf8(c[i].text, c[i].len), "chunk not UTF-8");
		check(strlen(c[i].path) <= CHUNK_PATH_MAX, "path too long");
		check(valid_utf8(c[i].path, strlen(c[i].path)), "path not UTF-8");
		check(valid_utf8(c[i].title, strlen(c[i].title)), "title not UTF-8");
	}
	if (rc == 0)
		check(nothing_lost(&doc, c, n), "body text lost");
	chunks_free(c, n);
	free(copy);
	return 0;
}
