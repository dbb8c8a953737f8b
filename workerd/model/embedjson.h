/*
 * The answers of an embedding or rerank server, read: pure functions from
 * the bytes of a 2xx body (untrusted) to checked values or an error. Each
 * allocation is bounded by what the caller asked for (n, dims), never by
 * what the body claims. The fuzz target is tests/fuzz/embedjson/.
 */
#ifndef PARLEY_EMBEDJSON_H
#define PARLEY_EMBEDJSON_H

#include <stddef.h>
#include <stdint.h>

#define EMBED_DIMS_MAX		8192	/* dimensions of a vector we take */
#define EMBED_BATCH_MAX		2048	/* inputs (documents) in one request */

/* One scored document: its index in the request, its score. */
struct rerank_hit {
	uint32_t index;
	float score;
};

/*
 * An embeddings answer for a request of n inputs (1 to EMBED_BATCH_MAX):
 * {"data":[{"index":i,"embedding":[numbers]}, ...], "usage":{...}?}
 * with exactly n entries, each index 0..n-1 once (in any order; row i of
 * the result is index i's), every vector the same length, 1 to
 * EMBED_DIMS_MAX and equal to dims unless dims is 0, every number finite
 * as a float. Tokens: usage.prompt_tokens, else usage.total_tokens, else
 * 0; a usage that is there must be an object with non-negative integers.
 * Other members are ignored. 0 with *vec (malloc'd, n x *dimsp floats,
 * the caller frees), *dimsp and *tokens set; or -1 with *why a static
 * message and nothing to free.
 */
int embedjson_vectors(const char *body, size_t len, size_t n, uint32_t dims,
    float **vec, uint32_t *dimsp, uint64_t *tokens, const char **why);

/*
 * A rerank answer for a request of n documents (1 to EMBED_BATCH_MAX):
 * {"results":[{"index":i,"relevance_score":s}, ...], "usage":{...}?}
 * with at most n results, each index below n and once, each score a
 * finite float (any documents echoed are ignored). Tokens as for
 * embedjson_vectors (total_tokens first: the shape rerankers give).
 * 0 with hits[0..*nhits) (hits has room for n) sorted best first, equal
 * scores by index; or -1 with *why a static message.
 */
int embedjson_rerank(const char *body, size_t len, size_t n,
    struct rerank_hit *hits, size_t *nhits, uint64_t *tokens,
    const char **why);

/* Sorts hits[0..n) best first, equal scores by index. */
void embedjson_sort_hits(struct rerank_hit *hits, size_t n);

#endif
