/*
 * libFuzzer target for the admin lists' limit (admin_query_int,
 * admin.c), which reads a query parameter as JavaScript's Number() does
 * (the reference's zod coercion). The input is the parameter's decoded
 * value. Properties are checked, abort() otherwise: a value taken is
 * 1..200; written back in its plain form it reads the same; and, when
 * the value is ASCII and not "0b" or "0o" (which strtod does not read),
 * strtod reads all of it (but its white space) as that same number.
 * The same bytes are also read as an export's query string
 * (export_params_parse, export.c): taken only with a format and rows of
 * their two words each, a conversation of 32 hex digits or none, a
 * widget id or none; refused with a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_listlimit: %s\n", what);
		abort();
	}
}

/* query as an export's parameters. */
static void
export_query(const char *query)
{
	struct export_params p;

	if (export_params_parse(query, &p) < 0) {
		check(p.why != NULL && *p.why != '\0', "a refusal's reason");
		return;
	}
	check(p.why == NULL, "a reason with parameters taken");
	check(p.format == EXPORT_JSONL || p.format == EXPORT_CSV, "format");
	check(p.rows == EXPORT_CONVS || p.rows == EXPORT_MSGS, "rows");
	check(p.conv[0] == '\0' || st_id_valid(p.conv), "conversation id");
	check(p.widget[0] == '\0' || admin_widget_valid(p.widget),
	    "widget id");
	check(export_filename(&p) != NULL && export_ctype(&p) != NULL,
	    "file name and type");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v, *end, again[16];
	uint32_t n, n2;
	size_t i, last;
	int ascii = 1;

	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	if (admin_query_int(v, 200, &n) == 0) {
		check(n >= 1 && n <= 200, "out of 1..200");
		snprintf(again, sizeof(again), "%u", n);
		check(admin_query_int(again, 200, &n2) == 0 && n2 == n,
		    "its plain form reads otherwise");
		for (i = 0; i < size; i++)
			if (data[i] >= 0x80)
				ascii = 0;
		for (last = size; last > 0 && strchr(" \t\n\v\f\r",
		    v[last - 1]) != NULL; last--)
			;
		/* strtod reads hex too, but not "0b" and "0o". */
		if (ascii && strlen(v) == size && strpbrk(v, "bBoO") == NULL) {
			check(strtod(v, &end) == (double)n, "strtod reads "
			    "another number");
			check((size_t)(end - v) == last, "strtod stops early");
		}
	}
	if (strlen(v) == size)
		export_query(v);
	free(v);
	return 0;
}
