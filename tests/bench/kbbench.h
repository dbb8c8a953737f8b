/*
 * What the knowledge base's C benchmarks (kbeval, kbspeed, kbingest,
 * kbvecbench) share: the clocks, the order of times for percentiles,
 * a search as a turn makes it, and the removal of the temporary store
 * each one runs on.
 */
#ifndef PARLEY_BENCH_KBBENCH_H
#define PARLEY_BENCH_KBBENCH_H

#include <err.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kbsource.h"
#include "store.h"

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

/*
 * org's chunks searched for query with embedding qv (dim floats) as a
 * turn searches them, by words and meaning (store_kb_search, in a read
 * transaction): the best k into out. Exits on a failure.
 */
static inline void
kb_search_hybrid(struct store *st, const char *org, const char *query,
    const float *qv, uint32_t dim, uint32_t k, struct st_kb_hits *out)
{
	struct st_kb_search_req q;
	struct store_txn t;

	memset(&q, 0, sizeof(q));
	q.query = query;
	q.k = k;
	strlcpy(q.lang, "en", sizeof(q.lang));
	q.agent_id = "";
	q.qvec.dim = dim;
	q.qvec.min_score = 300000;
	q.qvec.data.p = (const uint8_t *)qv;
	q.qvec.data.len = dim * sizeof(float);
	if (store_begin(st, &t, 1) < 0 || store_kb_search(&t, org, &q,
	    out) != 0)
		errx(1, "hybrid search: %s", t.errmsg ? t.errmsg : "failed");
	store_abort(&t);
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
