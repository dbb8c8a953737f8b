/*
 * libFuzzer target for an attachment's type (workerd/attach/sniff.c): any
 * bytes a visitor uploads. Properties are checked, abort() otherwise: the
 * type is one of the kept ones or none; a reason exactly when none; an
 * image or a PDF starts with its signature; text is valid UTF-8 with no
 * NUL and no control but tab, newline, carriage return and form feed;
 * every kept type has a MIME type and a name; the answer is the same
 * twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_sniff: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why, *why2;
	enum attach_type t = attach_sniff(data, size, &why);
	size_t i;

	check(t >= ATTACH_NONE && t < ATTACH_NTYPES, "type out of range");
	check((t == ATTACH_NONE) == (why != NULL), "a reason exactly when none");
	check(t == ATTACH_NONE || (attach_mime(t) != NULL &&
	    attach_name(t) != NULL), "a kept type unnamed");
	if (t == ATTACH_PNG)
		check(size >= 16 && data[0] == 0x89 && data[1] == 'P', "png");
	if (t == ATTACH_JPEG)
		check(size >= 4 && data[0] == 0xff && data[1] == 0xd8, "jpeg");
	if (t == ATTACH_GIF)
		check(size >= 6 && memcmp(data, "GIF8", 4) == 0, "gif");
	if (t == ATTACH_WEBP)
		check(size >= 16 && memcmp(data, "RIFF", 4) == 0, "webp");
	if (t == ATTACH_PDF)
		check(size >= 7 && memcmp(data, "%PDF-", 5) == 0, "pdf");
	if (t == ATTACH_TEXT) {
		check(size > 0 && proto_utf8_valid(data, size), "text not UTF-8");
		for (i = 0; i < size; i++)
			check(data[i] >= 0x20 ? data[i] != 0x7f :
			    data[i] == '\t' || data[i] == '\n' ||
			    data[i] == '\r' || data[i] == '\f', "text control");
	}
	check(attach_sniff(data, size, &why2) == t, "not the same twice");
	return 0;
}
