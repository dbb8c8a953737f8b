/*
 * libFuzzer target for the Content-Range reader (http_content_range,
 * http.c), which reads the header of a file uploaded in pieces. The input
 * is the header's value. Properties are checked, abort() otherwise: a
 * value taken has FIRST <= LAST < SIZE, each of at most 10 digits, and
 * written back in its plain form it reads the same.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_range: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t first, last, total, f2, l2, t2;
	char *v, again[64];

	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	if (http_content_range(v, &first, &last, &total) == 0) {
		check(first <= last && last < total, "out of order");
		check(total < 10000000000ull, "more than 10 digits");
		snprintf(again, sizeof(again), "bytes %" PRIu64 "-%" PRIu64
		    "/%" PRIu64, first, last, total);
		check(http_content_range(again, &f2, &l2, &t2) == 0 &&
		    f2 == first && l2 == last && t2 == total,
		    "its plain form reads otherwise");
	}
	free(v);
	return 0;
}
