/*
 * libFuzzer target for a page's Parley embed tags
 * (workerd/fetch/pagetags.c: "Check my page" reads an owner's page, any
 * bytes a server sends): the input read as an HTML page, with and without
 * a charset, for a widget id. Properties are checked, abort() otherwise:
 * at most PAGE_TAGS_MAX tags; each tag's values valid UTF-8 without
 * controls and bounded; a refusal says why and lists nothing; found only
 * when a tag names the id (its data-widget, or its src carrying it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "pagetags.h"

#define FUZZ_NAME	"fuzz_pagetags"
#include "../fetchfuzz.h"

#define WID	"w_0123abcd"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_tags(const struct page_tags *t)
{
	size_t i;
	int named = 0;

	check(t->n <= PAGE_TAGS_MAX, "tag bound");
	for (i = 0; i < t->n; i++) {
		const char *dw = t->tag[i].data_widget, *src = t->tag[i].src;

		check(dw != NULL || src != NULL, "a tag of nothing");
		if (dw != NULL) {
			check(strlen(dw) <= 200 && valid_utf8(dw, strlen(dw)),
			    "data-widget");
			named |= strcmp(dw, WID) == 0;
		}
		if (src != NULL) {
			check(valid_utf8(src, strlen(src)), "src");
			named |= strstr(src, WID) != NULL;
		}
	}
	/* Found by a tag past the listed ones is possible; listed ones agree. */
	check(!named || t->found, "a tag names the widget, not found");
	if (t->other != NULL)
		check(strlen(t->other) <= 200 &&
		    valid_utf8(t->other, strlen(t->other)), "other id");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const charsets[] = { "", "utf-8", "iso-8859-1" };
	struct page_tags t;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
		why = NULL;
		if (page_tags_find((const char *)data, size, charsets[i], WID,
		    &t, &why) < 0) {
			check(why != NULL && t.n == 0 && t.other == NULL,
			    "a refusal with tags");
			continue;
		}
		check_tags(&t);
		page_tags_free(&t);
	}
	return 0;
}
