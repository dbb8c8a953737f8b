/*
 * The readers of embedding and rerank answers (workerd/model/embedjson.c):
 * what they take (rows by index, the usage, any dimensions or the ones
 * asked), and each thing they refuse (count, index, dimensions, numbers,
 * usage, not JSON).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "embedjson.h"

static int
vec(const char *body, size_t n, uint32_t dims, float **v, uint32_t *d,
    uint64_t *tokens)
{
	const char *why = NULL;
	int rc = embedjson_vectors(body, strlen(body), n, dims, v, d, tokens,
	    &why);

	if (rc < 0) {
		assert_non_null(why);
		assert_null(*v);
	}
	return rc;
}

static void
test_vectors_ok(void **state)
{
	float *v = NULL;
	uint32_t d = 0;
	uint64_t t = 9;

	/* Out of order: row i is index i's. */
	assert_int_equal(vec("{\"object\":\"list\",\"data\":["
	    "{\"index\":1,\"embedding\":[0.5,-1e-3,3]},"
	    "{\"index\":0,\"embedding\":[1,2,-0.25]}],"
	    "\"usage\":{\"prompt_tokens\":7,\"total_tokens\":8}}", 2, 0, &v, &d,
	    &t), 0);
	assert_int_equal(d, 3);
	assert_int_equal(t, 7);
	assert_true(v[0] == 1.0f && v[1] == 2.0f && v[2] == -0.25f);
	assert_true(v[3] == 0.5f && v[4] == -1e-3f && v[5] == 3.0f);
	free(v);
	/* total_tokens alone; the dimensions asked. */
	assert_int_equal(vec("{\"data\":[{\"index\":0,\"embedding\":[1,0]}],"
	    "\"usage\":{\"total_tokens\":4}}", 1, 2, &v, &d, &t), 0);
	assert_int_equal(t, 4);
	free(v);
	/* No usage: 0 tokens. */
	assert_int_equal(vec("{\"data\":[{\"index\":0,\"embedding\":[1]}]}", 1,
	    0, &v, &d, &t), 0);
	assert_int_equal(t, 0);
	free(v);
}

static void
test_vectors_refused(void **state)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"data\":[{\"index\":0,\"embedding\":[1]}",
		"{\"data\":{}}",
		"{\"data\":[]}",
		/* one too few, one too many */
		"{\"data\":[{\"index\":0,\"embedding\":[1]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]},{\"index\":2,\"embedding\":[1]}]}",
		/* index repeated, out of range, negative, missing, a string */
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,"
		    "\"embedding\":[1]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":2,"
		    "\"embedding\":[1]}]}",
		"{\"data\":[{\"index\":-1,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}]}",
		"{\"data\":[{\"embedding\":[1]},{\"index\":1,\"embedding\":[1]}]}",
		"{\"data\":[{\"index\":\"0\",\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}]}",
		/* dimensions differ; empty; not an array */
		"{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,"
		    "\"embedding\":[1]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":[]},{\"index\":1,"
		    "\"embedding\":[]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":\"AAAA\"},{\"index\":1,"
		    "\"embedding\":[1]}]}",
		/* not a number; too big for a float; null */
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[\"1\"]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1e39]}]}",
		"{\"data\":[{\"index\":0,\"embedding\":[null]},{\"index\":1,"
		    "\"embedding\":[1]}]}",
		/* usage malformed */
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}],\"usage\":{\"prompt_tokens\":-1}}",
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}],\"usage\":[]}",
		"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}],\"usage\":{\"total_tokens\":1.5}}",
		/* duplicate keys */
		"{\"data\":[],\"data\":[{\"index\":0,\"embedding\":[1]},"
		    "{\"index\":1,\"embedding\":[1]}]}",
	};
	float *v = NULL;
	uint32_t d = 0;
	uint64_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vec(bad[i], 2, 0, &v, &d, &t) == 0) {
			fprintf(stderr, "taken: %s\n", bad[i]);
			fail();
		}
	}
	/* Not the dimensions asked. */
	assert_int_equal(vec("{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}", 1,
	    3, &v, &d, &t), -1);
	/* Bad arguments. */
	assert_int_equal(vec("{\"data\":[]}", 0, 0, &v, &d, &t), -1);
	assert_int_equal(vec("{\"data\":[]}", 1, EMBED_DIMS_MAX + 1, &v, &d,
	    &t), -1);
}

static void
test_vectors_big(void **state)
{
	size_t n = 50, dims = 1536, cap = n * dims * 12 + 1024, len = 0;
	char *b = malloc(cap);
	float *v = NULL;
	uint32_t d = 0;
	uint64_t t;

	assert_non_null(b);
	len += (size_t)snprintf(b + len, cap - len, "{\"data\":[");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(b + len, cap - len,
		    "%s{\"index\":%zu,\"embedding\":[", i ? "," : "", n - 1 - i);
		for (size_t k = 0; k < dims; k++)
			len += (size_t)snprintf(b + len, cap - len, "%s%zu",
			    k ? "," : "", (n - 1 - i) * 10000 + k);
		len += (size_t)snprintf(b + len, cap - len, "]}");
	}
	len += (size_t)snprintf(b + len, cap - len, "]}");
	assert_int_equal(embedjson_vectors(b, len, n, 1536, &v, &d, &t,
	    &(const char *){ NULL }), 0);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < dims; k += 97)
			assert_true(v[i * dims + k] == (float)(i * 10000 + k));
	free(v);
	free(b);
}

static int
rr(const char *body, size_t n, struct rerank_hit *h, size_t *nh,
    uint64_t *t)
{
	const char *why = NULL;
	int rc = embedjson_rerank(body, strlen(body), n, h, nh, t, &why);

	if (rc < 0)
		assert_non_null(why);
	return rc;
}

static void
test_rerank(void **state)
{
	static const char *bad[] = {
		"{}",
		"{\"results\":{}}",
		"{\"results\":[{\"index\":0,\"relevance_score\":1},{\"index\":1,"
		    "\"relevance_score\":1},{\"index\":2,\"relevance_score\":1},"
		    "{\"index\":0,\"relevance_score\":1}]}",
		"{\"results\":[{\"index\":3,\"relevance_score\":1}]}",
		"{\"results\":[{\"index\":1,\"relevance_score\":1},{\"index\":1,"
		    "\"relevance_score\":0}]}",
		"{\"results\":[{\"index\":1}]}",
		"{\"results\":[{\"index\":1,\"relevance_score\":\"0.5\"}]}",
		"{\"results\":[{\"index\":1,\"relevance_score\":1e300}]}",
		"{\"results\":[{\"index\":1,\"score\":0.5}]}",
		"{\"results\":[1]}",
		"{\"results\":[],\"usage\":{\"total_tokens\":\"3\"}}",
	};
	struct rerank_hit h[3];
	size_t nh = 0;
	uint64_t t = 0;

	/* Sorted best first, ties by index, documents ignored. */
	assert_int_equal(rr("{\"id\":\"x\",\"results\":["
	    "{\"index\":2,\"relevance_score\":0.1,\"document\":{\"text\":\"c\"}},"
	    "{\"index\":0,\"relevance_score\":0.5},"
	    "{\"index\":1,\"relevance_score\":0.5}],"
	    "\"usage\":{\"total_tokens\":12,\"prompt_tokens\":3}}", 3, h, &nh,
	    &t), 0);
	assert_int_equal(nh, 3);
	assert_int_equal(t, 12);
	assert_int_equal(h[0].index, 0);
	assert_int_equal(h[1].index, 1);
	assert_int_equal(h[2].index, 2);
	assert_true(h[2].score == 0.1f);
	/* Fewer results than documents (a server's top_n). */
	assert_int_equal(rr("{\"results\":[{\"index\":1,\"relevance_score\":-2}]}",
	    3, h, &nh, &t), 0);
	assert_int_equal(nh, 1);
	assert_int_equal(t, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rr(bad[i], 3, h, &nh, &t) == 0) {
			fprintf(stderr, "taken: %s\n", bad[i]);
			fail();
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_ok),
		cmocka_unit_test(test_vectors_refused),
		cmocka_unit_test(test_vectors_big),
		cmocka_unit_test(test_rerank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
