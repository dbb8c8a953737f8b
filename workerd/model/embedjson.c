/*
 * Reading embedding and rerank answers (embedjson.h): jansson parses the
 * body (duplicate keys refused), then every value the caller will use is
 * checked before it is copied out. No allocation depends on the body's
 * sizes beyond what the caller asked for.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embedjson.h"

/* A JSON number that fits a float: 0 with *out, or -1. */
static int
float_of(const json_t *j, float *out)
{
	double d;

	if (!json_is_number(j))
		return -1;
	d = json_number_value(j);
	if (!isfinite(d) || fabs(d) > FLT_MAX)
		return -1;
	*out = (float)d;
	return 0;
}

/* usage.first, else usage.second, else 0; -1 when usage is malformed. */
static int
usage_tokens(const json_t *root, const char *first, const char *second,
    uint64_t *tokens)
{
	const json_t *u = json_object_get(root, "usage"), *t;
	const char *keys[2] = { first, second };

	*tokens = 0;
	if (u == NULL || json_is_null(u))
		return 0;
	if (!json_is_object(u))
		return -1;
	for (int i = 1; i >= 0; i--) {
		if ((t = json_object_get(u, keys[i])) == NULL || json_is_null(t))
			continue;
		if (!json_is_integer(t) || json_integer_value(t) < 0)
			return -1;
		*tokens = (uint64_t)json_integer_value(t);
	}
	return 0;
}

/* The index member of e: 0..n-1 and not seen yet (marked now); or -1. */
static long
index_of(const json_t *e, size_t n, unsigned char *seen)
{
	const json_t *ix = json_object_get(e, "index");
	json_int_t i;

	if (!json_is_integer(ix))
		return -1;
	i = json_integer_value(ix);
	if (i < 0 || (uint64_t)i >= n || seen[i])
		return -1;
	seen[i] = 1;
	return (long)i;
}

/* One entry of "data" into vec's row; *dims fixed by the first. 0 or -1. */
static int
vector_entry(const json_t *e, size_t n, unsigned char *seen, float **vec,
    uint32_t *dims, const char **why)
{
	const json_t *emb, *x;
	long row;
	size_t d, k;

	if (!json_is_object(e) || (row = index_of(e, n, seen)) < 0) {
		*why = "an entry's index is missing, out of range or repeated";
		return -1;
	}
	emb = json_object_get(e, "embedding");
	if (!json_is_array(emb) || (d = json_array_size(emb)) == 0 ||
	    d > EMBED_DIMS_MAX) {
		*why = "an embedding is not an array of 1 to 8192 numbers";
		return -1;
	}
	if (*dims == 0)
		*dims = (uint32_t)d;
	if (d != *dims) {
		*why = "the embeddings' dimensions differ (or not those asked)";
		return -1;
	}
	if (*vec == NULL && (*vec = calloc(n, *dims * sizeof(float))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	json_array_foreach(emb, k, x)
		if (float_of(x, *vec + (size_t)row * *dims + k) < 0) {
			*why = "an embedding holds something other than a "
			    "finite number";
			return -1;
		}
	return 0;
}

int
embedjson_vectors(const char *body, size_t len, size_t n, uint32_t dims,
    float **vecp, uint32_t *dimsp, uint64_t *tokens, const char **why)
{
	json_t *root = NULL, *data, *e;
	unsigned char *seen = NULL;
	float *vec = NULL;
	size_t i;
	int rc = -1;

	*vecp = NULL;
	if (n == 0 || n > EMBED_BATCH_MAX || dims > EMBED_DIMS_MAX) {
		*why = "bad arguments";
		return -1;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(root)) {
		*why = "the answer is not a JSON object";
		goto out;
	}
	data = json_object_get(root, "data");
	if (!json_is_array(data) || json_array_size(data) != n) {
		*why = "the answer's data is not an array of one entry per input";
		goto out;
	}
	if (usage_tokens(root, "prompt_tokens", "total_tokens", tokens) < 0) {
		*why = "the answer's usage is malformed";
		goto out;
	}
	if ((seen = calloc(n, 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	json_array_foreach(data, i, e)
		if (vector_entry(e, n, seen, &vec, &dims, why) < 0)
			goto out;
	*vecp = vec;
	*dimsp = dims;
	vec = NULL;
	rc = 0;
out:
	free(vec);
	free(seen);
	json_decref(root);
	return rc;
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct rerank_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void
embedjson_sort_hits(struct rerank_hit *hits, size_t n)
{
	if (n > 1)
		qsort(hits, n, sizeof(*hits), hit_cmp);
}

int
embedjson_rerank(const char *body, size_t len, size_t n,
    struct rerank_hit *hits, size_t *nhits, uint64_t *tokens,
    const char **why)
{
	json_t *root = NULL, *res, *e;
	unsigned char *seen = NULL;
	size_t i;
	long ix;
	int rc = -1;

	*nhits = 0;
	if (n == 0 || n > EMBED_BATCH_MAX) {
		*why = "bad arguments";
		return -1;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(root)) {
		*why = "the answer is not a JSON object";
		goto out;
	}
	res = json_object_get(root, "results");
	if (!json_is_array(res) || json_array_size(res) > n) {
		*why = "the answer's results are not an array of at most one "
		    "entry per document";
		goto out;
	}
	if (usage_tokens(root, "total_tokens", "prompt_tokens", tokens) < 0) {
		*why = "the answer's usage is malformed";
		goto out;
	}
	if ((seen = calloc(n, 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	json_array_foreach(res, i, e) {
		if (!json_is_object(e) || (ix = index_of(e, n, seen)) < 0) {
			*why = "a result's index is missing, out of range or "
			    "repeated";
			goto out;
		}
		if (float_of(json_object_get(e, "relevance_score"),
		    &hits[i].score) < 0) {
			*why = "a result's relevance_score is not a finite number";
			goto out;
		}
		hits[i].index = (uint32_t)ix;
	}
	*nhits = json_array_size(res);
	embedjson_sort_hits(hits, *nhits);
	rc = 0;
out:
	free(seen);
	json_decref(root);
	return rc;
}
