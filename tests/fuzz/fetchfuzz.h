/*
 * What the fetcher's fuzz targets (html, chunk, pdf) share: a property
 * check that aborts naming the target, and the UTF-8 check of a text
 * (fetch_utf8_clean leaves valid UTF-8 as it is). Define FUZZ_NAME
 * ("fuzz_html") before including it.
 */
#ifndef PARLEY_FETCHFUZZ_H
#define PARLEY_FETCHFUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
