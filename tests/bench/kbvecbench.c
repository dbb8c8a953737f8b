/*
 * The knowledge base's vector index measured (storaged/kbvec.c): for
 * each size, a store in a fresh temporary directory loaded with that
 * many synthetic clustered vectors (kb_vec_put_many of 64, 512 a batch,
 * one organisation; -1: kb_vec_put of each), then searched for the top
 * 20 by queries drawn like them. Prints the load's time, log and store
 * size, the searches' p50 and p99 (each in a read-only batch of its own,
 * on one thread), wall and CPU time (the thread's: what a search costs
 * when other processes share the cores), recall@20 against an exact
 * search (every vector's cosine in doubles, computed as it is loaded),
 * then the time and log of removing a tenth of them, a run of
 * ids (a source's chunks: kb_vec_remove_many of 256; -1: one by one).
 *
 *   kbvecbench [-1] [DIM [N ...]]	(1,536 dimensions; 10,000 and 100,000)
 *
 * The vectors: a component shared by all (random pairs' cosine about
 * 0.1, as real embeddings are not centred), 20 topics per 1,000
 * vectors, 10 subtopics each, then each vector's own noise: the same
 * subtopic's cosine about 0.6, the same topic's 0.4. Half the queries
 * are drawn like a vector of a subtopic, half like one of a topic only
 * (a broader question). Deterministic: the same figures each run but
 * the times.
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kbvec.h"
#include "kbbench.h"
#include "log.h"
#include "store.h"
#include "vecgen.h"

#define ORG		"default"
#define BATCH		512	/* vectors a batch (a commit) */
#define GROUP		64	/* vectors a kb_vec_put_many */
#define QUERIES		200
#define K		20

/* This thread's CPU time: a search's cost on a machine shared with others. */
static double
cpu_ms(void)
{
	return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

/* The exact top K of one query: a min-heap of scores (the worst on top). */
struct exact {
	double s[K];
	uint64_t id[K];
	uint32_t n;
};

static void
exact_offer(struct exact *e, double s, uint64_t id)
{
	uint32_t i = 0, c;
	double xs;
	uint64_t xi;

	if (e->n < K) {
		/* Sift up. */
		i = e->n++;
		e->s[i] = s;
		e->id[i] = id;
		while (i > 0 && e->s[(i - 1) / 2] > e->s[i]) {
			c = (i - 1) / 2;
			xs = e->s[c], e->s[c] = e->s[i], e->s[i] = xs;
			xi = e->id[c], e->id[c] = e->id[i], e->id[i] = xi;
			i = c;
		}
		return;
	}
	if (s <= e->s[0])
		return;
	e->s[0] = s;
	e->id[0] = id;
	for (;;) {
		c = 2 * i + 1;
		if (c >= K)
			return;
		if (c + 1 < K && e->s[c + 1] < e->s[c])
			c++;
		if (e->s[i] <= e->s[c])
			return;
		xs = e->s[c], e->s[c] = e->s[i], e->s[i] = xs;
		xi = e->id[c], e->id[c] = e->id[i], e->id[i] = xi;
		i = c;
	}
}

static double
dot_n(const float *a, const float *b, uint32_t dim, double *nb)
{
	double ab = 0, bb = 0;
	uint32_t i;

	for (i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		bb += (double)b[i] * b[i];
	}
	*nb = sqrt(bb);
	return ab;
}

/* The queries, normalised, and their exact top K as the vectors load. */
struct queries {
	float *q;
	struct exact *ex;
};

static void
queries_new(struct queries *qs, const struct data *d)
{
	double nq, s;
	uint32_t i, j;

	if ((qs->q = malloc(sizeof(float) * QUERIES * d->dim)) == NULL ||
	    (qs->ex = calloc(QUERIES, sizeof(*qs->ex))) == NULL)
		err(1, "queries");
	for (i = 0; i < QUERIES; i++) {
		float *q = qs->q + (size_t)i * d->dim;

		draw(d, (uint32_t)(unif() * d->subs) % d->subs,
		    i % 2 ? W_SUB : 0, q);
		dot_n(q, q, d->dim, &nq);
		s = 1 / nq;
		for (j = 0; j < d->dim; j++)
			q[j] = (float)(q[j] * s);
	}
}

/* kb_vec_put of each vector rather than kb_vec_put_many (-1). */
static int one_by_one;
/* Bytes of log records written (store_on_record). */
static uint64_t logged;

static void
on_record(void *arg, uint64_t seq, const uint8_t *pre, const uint8_t *body,
    size_t len)
{
	(void)arg;
	(void)seq;
	(void)pre;
	if (body != NULL)
		logged += len;
}

/* Puts n vectors (v, ids from first) into t: 0, or -1. */
static int
put_group(struct store_txn *t, const float *v, uint32_t n, uint32_t dim,
    uint64_t first)
{
	uint64_t ids[GROUP];
	uint32_t i;

	for (i = 0; i < n; i++)
		ids[i] = first + i;
	if (!one_by_one)
		return kb_vec_put_many(t, ORG, n, ids, v, dim);
	for (i = 0; i < n; i++)
		if (kb_vec_put(t, ORG, ids[i], v + (size_t)i * dim, dim) < 0)
			return -1;
	return 0;
}

/* Loads d's vectors into st, scoring each against every query. */
static double
load(struct store *st, const struct data *d, struct queries *qs)
{
	struct store_txn t;
	float *v, *g;
	double t0, spent = 0, nv;
	uint32_t i, j, n = 0;

	if ((g = malloc(sizeof(float) * d->dim * GROUP)) == NULL)
		err(1, "vector");
	if (store_begin(st, &t, 0) != 0)
		errx(1, "store_begin");
	for (i = 0; i < d->n; i++) {
		v = g + (size_t)n++ * d->dim;
		draw(d, i % d->subs, W_SUB, v);
		for (j = 0; j < QUERIES; j++) {
			double ab = dot_n(qs->q + (size_t)j * d->dim, v,
			    d->dim, &nv);

			exact_offer(&qs->ex[j], ab / nv, i + 1);
		}
		if (n < GROUP && i + 1 < d->n)
			continue;
		t0 = now_ms();
		if (put_group(&t, g, n, d->dim, i + 2 - n) < 0)
			errx(1, "put %u: %s", i + 1, t.errmsg);
		n = 0;
		if ((i + 1) % BATCH == 0 && (store_commit(&t) != 0 ||
		    store_begin(st, &t, 0) != 0))
			errx(1, "commit");
		spent += now_ms() - t0;
	}
	t0 = now_ms();
	if (store_commit(&t) != 0 || store_checkpoint(st) != 0)
		errx(1, "commit");
	spent += now_ms() - t0;
	free(g);
	return spent;
}

/*
 * Removes a tenth of the vectors, a run of ids from the middle (a
 * source's chunks), 256 a batch: the time in ms, the log in *bytes.
 */
static double
remove_run(struct store *st, const struct data *d, uint64_t *bytes)
{
	uint64_t ids[256], first = d->n / 2 + 1, left = d->n / 10, before;
	struct store_txn t;
	uint32_t n, i, removed;
	double t0 = now_ms();

	before = logged;
	while (left > 0) {
		n = left < 256 ? (uint32_t)left : 256;
		for (i = 0; i < n; i++)
			ids[i] = first + i;
		if (store_begin(st, &t, 0) != 0)
			errx(1, "store_begin");
		if (one_by_one) {
			for (i = 0; i < n; i++)
				if (kb_vec_remove(&t, ORG, ids[i]) != 0)
					errx(1, "remove: %s", t.errmsg);
		} else if (kb_vec_remove_many(&t, ORG, n, ids,
		    &removed) != 0 || removed != n)
			errx(1, "remove: %s", t.errmsg ? t.errmsg : "short");
		if (store_commit(&t) != 0)
			errx(1, "commit");
		first += n;
		left -= n;
	}
	*bytes = logged - before;
	return now_ms() - t0;
}

static double
file_mb(const char *dir, const char *name)
{
	char p[128];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0 ? sb.st_size / 1048576.0 : 0;
}

/*
 * Searches each query: the times into ms (wall) and cpu, recall@K's mean
 * (the lowest in *min), the exact first and K-th cosines' means in *top1
 * and *topk.
 */
static double
search_all(struct store *st, const struct data *d, const struct queries *qs,
    double *ms, double *cpu, double *min, double *top1, double *topk,
    double *err)
{
	struct kb_hit hits[K];
	struct store_txn t;
	double t0, c0, sum = 0, r, lo, hi;
	size_t n, h;
	uint32_t i, j;

	*min = 1;
	*top1 = *topk = *err = 0;
	for (i = 0; i < QUERIES; i++) {
		const struct exact *e = &qs->ex[i];

		t0 = now_ms();
		c0 = cpu_ms();
		if (store_begin(st, &t, 1) != 0 || kb_vec_search(&t, ORG,
		    qs->q + (size_t)i * d->dim, d->dim, K, NULL, hits, &n) != 0)
			errx(1, "search: %s", t.errmsg ? t.errmsg : "failed");
		store_abort(&t);
		ms[i] = now_ms() - t0;
		cpu[i] = cpu_ms() - c0;
		lo = 2;
		hi = -2;
		for (j = 0; j < K; j++) {
			lo = e->s[j] < lo ? e->s[j] : lo;
			hi = e->s[j] > hi ? e->s[j] : hi;
		}
		*topk += lo;
		*top1 += hi;
		for (r = 0, h = 0; h < n; h++)
			for (j = 0; j < K; j++) {
				if (hits[h].id != e->id[j])
					continue;
				r++;
				if (fabs(hits[h].score - e->s[j]) > *err)
					*err = fabs(hits[h].score - e->s[j]);
			}
		r /= K;
		sum += r;
		*min = r < *min ? r : *min;
	}
	*topk /= QUERIES;
	*top1 /= QUERIES;
	return sum / QUERIES;
}

static void
run(uint32_t dim, uint32_t n)
{
	char dir[] = "/tmp/parley-kbvecbench-XXXXXX";
	double ms[QUERIES], cpu[QUERIES], load_ms, recall, min, top1, topk;
	double err, rm_ms;
	uint64_t rm_bytes;
	struct queries qs;
	struct store *st;
	struct data d;

	rng = 0x2545f4914f6cdd1dull ^ n;
	data_new(&d, dim, n);
	queries_new(&qs, &d);
	if (mkdtemp(dir) == NULL || (st = store_open(dir, 8192,
	    STORE_F_NOSYNC)) == NULL)
		errx(1, "store in %s", dir);
	logged = 0;
	store_on_record(st, on_record, NULL);
	load_ms = load(st, &d, &qs);
	printf("kbvecbench: %u vectors x %u: loaded %s in %.0f ms (%.1f us a "
	    "vector), log %.0f MB (%.2f KB a vector), data.mdb %.0f MB\n", n,
	    dim, one_by_one ? "one by one" : "64 a put", load_ms,
	    load_ms * 1e3 / n, logged / 1048576.0, logged / 1024.0 / n,
	    file_mb(dir, "data.mdb"));
	fflush(stdout);
	recall = search_all(st, &d, &qs, ms, cpu, &min, &top1, &topk, &err);
	qsort(ms, QUERIES, sizeof(ms[0]), ms_cmp);
	qsort(cpu, QUERIES, sizeof(cpu[0]), ms_cmp);
	printf("kbvecbench: %u vectors x %u: top-%d search (%d queries) p50 "
	    "%.2f ms, p99 %.2f ms, max %.2f ms; CPU p50 %.2f ms, p99 %.2f "
	    "ms; recall@%d %.4f (lowest %.2f); exact cosines: 1st %.3f, "
	    "%dth %.3f on average, int8's off by %.4f at most\n", n, dim, K,
	    QUERIES, ms[QUERIES / 2], ms[(QUERIES * 99) / 100],
	    ms[QUERIES - 1], cpu[QUERIES / 2], cpu[(QUERIES * 99) / 100], K,
	    recall, min, top1, K, topk, err);
	rm_ms = remove_run(st, &d, &rm_bytes);
	printf("kbvecbench: %u vectors x %u: a run of %u removed %s in %.0f "
	    "ms, log %.2f KB a vector\n", n, dim, n / 10, one_by_one ?
	    "one by one" : "256 a call", rm_ms, rm_bytes / 1024.0 / (n / 10));
	fflush(stdout);
	store_close(st);
	remove_store(dir);
	free(qs.q);
	free(qs.ex);
	data_free(&d);
}

int
main(int argc, char *argv[])
{
	static const uint32_t sizes[] = { 10000, 100000 };
	uint32_t dim = 1536, n;
	int i;

	log_set_level(LOG_LEVEL_WARN);
	if (argc > 1 && strcmp(argv[1], "-1") == 0) {
		one_by_one = 1;
		argc--;
		argv++;
	}
	if (argc > 1 && ((dim = (uint32_t)atoi(argv[1])) < 1 ||
	    dim > KB_VEC_DIM_MAX))
		errx(2, "usage: kbvecbench [-1] [DIM [N ...]] (DIM 1 to %d)",
		    KB_VEC_DIM_MAX);
	if (argc <= 2) {
		for (i = 0; i < 2; i++)
			run(dim, sizes[i]);
		return 0;
	}
	for (i = 2; i < argc; i++) {
		if ((n = (uint32_t)atoi(argv[i])) < 1 || n > 10000000)
			errx(2, "N: 1 to 10,000,000");
		run(dim, n);
	}
	return 0;
}
