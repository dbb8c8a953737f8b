/*
 * libFuzzer target for the TZif parser and the POSIX TZ rules it reads
 * (lib/tzif.c). Zone files are system files, but the parser reads
 * bytes: whatever they are, it must not crash or leak, and a file it
 * accepts must hold together: transitions ascending, each naming a type
 * that exists, offsets within ±26 hours at any instant asked (the far
 * past and future included, where the footer's rule answers). The same
 * bytes as an organisation's tz, a zone's name (tz_name_valid): one taken
 * stays inside the zone directory: no '.', no '/' first or last or twice,
 * at most TZ_NAME_MAX bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tzif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_tzif: %s\n", what);
		abort();
	}
}

static const int64_t instants[] = {
	INT64_MIN, -62135596800LL, -2208988800LL, -1, 0, 1700000000,
	1772953200, 2147483647, 4108690800LL, 253402300799LL, INT64_MAX,
};

/* size bytes of data as a zone's name. */
static void
name_is(const uint8_t *data, size_t size)
{
	char name[TZ_NAME_MAX + 2];

	if (size > TZ_NAME_MAX + 1 || memchr(data, '\0', size) != NULL)
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if (!tz_name_valid(name))
		return;
	check(size >= 1 && size <= TZ_NAME_MAX, "a name's length");
	check(strchr(name, '.') == NULL && name[0] != '/' &&
	    name[size - 1] != '/' && strstr(name, "//") == NULL,
	    "a name that leaves the zone directory");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tzinfo tz;
	struct tzrule r;
	uint32_t i;
	int32_t off;

	if (tzif_parse(data, size, &tz) == 0) {
		check(tz.ntypes >= 1 && tz.ntypes <= 256, "types");
		for (i = 0; i < tz.ntrans; i++) {
			check(tz.idx[i] < tz.ntypes, "a transition's type");
			check(i == 0 || tz.trans[i] > tz.trans[i - 1],
			    "transitions ascending");
		}
		for (i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
			off = tzif_offset(&tz, instants[i]);
			check(off > -26 * 3600 - 167 * 3600 &&
			    off < 26 * 3600 + 167 * 3600, "offset in range");
		}
		tzif_free(&tz);
	}
	/* The same bytes as a footer rule alone. */
	if (tz_rule_parse((const char *)data, size, &r) == 0 && r.has_dst)
		(void)r.start.kind;
	name_is(data, size);
	return 0;
}
