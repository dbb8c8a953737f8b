/*
 * What the knowledge base's C benchmarks (kbeval, kbspeed, kbingest,
 * kbvecbench) share: the clocks, the order of times for percentiles,
 * and the removal of the temporary store each one runs on.
 */
#ifndef PARLEY_BENCH_KBBENCH_H
#define PARLEY_BENCH_KBBENCH_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Clock id's time in ms. */
static inline double
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Monotonic time in ms. */
static inline double
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* qsort's order of times (doubles), shortest first. */
static inline int
ms_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Removes the temporary store: LMDB's two files, the log, the folder. */
static inline void
remove_store(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "wal.log" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

#endif
