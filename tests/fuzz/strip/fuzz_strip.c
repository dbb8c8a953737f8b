/*
 * libFuzzer target for an image's metadata taken out
 * (workerd/attach/strip.c): any bytes, stripped as the type attach_sniff
 * gives them and as each image type. Properties are checked, abort()
 * otherwise: the output is never longer than the input; a refusal writes
 * nothing; a kept type is copied as it is; a stripped image strips again
 * to itself (nothing left to take out) and still sniffs as what it was.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"
#include "strip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_strip: %s\n", what);
		abort();
	}
}

static void
one(enum attach_type t, const uint8_t *data, size_t size, uint8_t *out,
    uint8_t *again)
{
	const char *why;
	size_t n, m;
	int rc = attach_strip(t, data, size, out, &n);

	check(rc >= -1 && rc <= 1 && n <= size, "bounds");
	if (rc < 0) {
		check(n == 0, "a refusal wrote");
		return;
	}
	if (rc == 1) {
		check(n == size && memcmp(out, data, size) == 0, "kept changed");
		return;
	}
	check(attach_strip(t, out, n, again, &m) == 0, "stripped refused");
	check(m == n && memcmp(again, out, n) == 0, "not stripped for good");
	if (attach_sniff(data, size, &why) == t)
		check(attach_sniff(out, n, &why) == t, "no longer its type");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum attach_type images[] = {
		ATTACH_JPEG, ATTACH_PNG, ATTACH_WEBP,
	};
	const char *why;
	uint8_t *out = malloc(size + 1), *again = malloc(size + 1);
	size_t i;

	check(out != NULL && again != NULL, "out of memory");
	one(attach_sniff(data, size, &why), data, size, out, again);
	for (i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		one(images[i], data, size, out, again);
	free(out);
	free(again);
	return 0;
}
