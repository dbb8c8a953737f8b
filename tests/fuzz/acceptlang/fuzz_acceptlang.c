/*
 * libFuzzer target for the Accept-Language reader (vtext_accept,
 * workerd/chat/vtext.c), which reads a visitor's header at every widget
 * socket and config request. Properties checked, abort() otherwise: a
 * widget language always, English when the header names none, and the
 * language found is one the header names.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtext.h"
#include "widgetmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_acceptlang: %s\n", what);
		abort();
	}
}

/* 1 when hdr holds the two letters of language lang, in any case. */
static int
names(const char *hdr, int lang)
{
	char two[2];
	size_t i;

	for (i = 0; hdr[i] != '\0' && hdr[i + 1] != '\0'; i++) {
		two[0] = (char)tolower((unsigned char)hdr[i]);
		two[1] = (char)tolower((unsigned char)hdr[i + 1]);
		if (st_widget_lang_index(two, 2) == lang)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr;
	int lang;

	if ((hdr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	lang = vtext_accept(hdr);
	check(lang >= 0 && lang < ST_LANGS, "not a widget language");
	check(lang == ST_LANG_EN || names(hdr, lang),
	    "a language the header does not name");
	free(hdr);
	return 0;
}
