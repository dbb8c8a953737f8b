/*
 * libFuzzer target for the Cookie header parser (cookie_get, dashauth.c),
 * which reads untrusted bytes on every admin request. The first byte picks
 * the cookie name and the output size; the rest is the header value.
 * Properties are checked, abort() otherwise: a bounded, NUL-ended value
 * taken from the input, without control characters or a ';', and nothing
 * written when none is found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_cookie: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { DASH_COOKIE, "a", "theme", "" };
	char out[300], *hdr;
	const char *name;
	size_t outsz, n, i;
	int r;

	if (size < 1)
		return 0;
	name = names[data[0] & 3];
	outsz = 1 + (size_t)(data[0] >> 2) * 4;	/* 1 .. 253 */
	if ((hdr = malloc(size)) == NULL)
		abort();
	memcpy(hdr, data + 1, size - 1);
	hdr[size - 1] = '\0';

	memset(out, 'X', sizeof(out));
	r = cookie_get(hdr, name, out, outsz);
	check(r >= -1 && r <= 1, "result out of range");
	check(out[outsz] == 'X', "wrote past outsz");
	if (r != 1)
		check(out[0] == '\0', "no value, yet output");
	else {
		n = strnlen(out, outsz);
		check(n < outsz, "value not NUL-ended in bounds");
		check(strstr(hdr, out) != NULL, "value not from the input");
		for (i = 0; i < n; i++)
			check((unsigned char)out[i] >= 0x20 &&
			    out[i] != 0x7f && out[i] != ';',
			    "control character or ';' in a value");
		/* The same input gives the same answer. */
		check(cookie_get(hdr, name, out, outsz) == 1, "not stable");
	}
	free(hdr);
	return 0;
}
