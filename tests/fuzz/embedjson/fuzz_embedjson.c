/*
 * libFuzzer target for the readers of embedding and rerank answers
 * (workerd/model/embedjson.c). The first byte picks how many inputs the
 * request had (1-8), the second the dimensions asked (0: any, else 1-15);
 * the rest is the answer's body, read as both kinds. Properties are
 * checked, abort() otherwise: a taken embeddings answer gives a vector
 * per input, all of the length asked (or 1 to EMBED_DIMS_MAX), every
 * number finite; a taken rerank answer at most one hit per document,
 * each index below the count and once, scores finite and sorted best
 * first (equal ones by index); a refused one says why.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_embedjson: %s\n", what);
		abort();
	}
}

static void
vectors(const char *body, size_t len, size_t n, uint32_t want)
{
	const char *why = NULL;
	float *v = (float *)1;
	uint32_t dims = 0;
	uint64_t tokens = 0;

	if (embedjson_vectors(body, len, n, want, &v, &dims, &tokens,
	    &why) < 0) {
		check(why != NULL && *why != '\0', "a refusal without a reason");
		check(v == NULL, "a refusal left a vector");
		return;
	}
	check(v != NULL, "no vectors");
	check(dims >= 1 && dims <= EMBED_DIMS_MAX, "dimensions out of range");
	check(want == 0 || dims == want, "not the dimensions asked");
	for (size_t i = 0; i < n * dims; i++)
		check(isfinite(v[i]), "a number is not finite");
	free(v);
}

static void
rerank(const char *body, size_t len, size_t n)
{
	struct rerank_hit hits[8];
	unsigned char seen[8] = { 0 };
	const char *why = NULL;
	uint64_t tokens = 0;
	size_t nh = 99;

	if (embedjson_rerank(body, len, n, hits, &nh, &tokens, &why) < 0) {
		check(why != NULL && *why != '\0', "a refusal without a reason");
		return;
	}
	check(nh <= n, "more hits than documents");
	for (size_t i = 0; i < nh; i++) {
		check(hits[i].index < n, "an index out of range");
		check(!seen[hits[i].index], "an index twice");
		seen[hits[i].index] = 1;
		check(isfinite(hits[i].score), "a score is not finite");
		check(i == 0 || hits[i - 1].score > hits[i].score ||
		    (hits[i - 1].score == hits[i].score &&
		    hits[i - 1].index < hits[i].index), "hits not sorted");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	uint32_t want;

	if (size < 2)
		return 0;
	n = 1 + (data[0] & 7);
	want = data[1] & 15;
	vectors((const char *)data + 2, size - 2, n, want);
	rerank((const char *)data + 2, size - 2, n);
	return 0;
}
