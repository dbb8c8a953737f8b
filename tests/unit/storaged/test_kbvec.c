/*
 * The knowledge base's vector index (storaged/kbvec.c) on a real LMDB: a
 * vector found by itself and its neighbours, recall@20 of the quantised
 * search against an exact one on clustered vectors, one organisation's
 * vectors never in another's results, the dimension fixed until the
 * organisation is cleared, removals that keep every other vector
 * findable and leave no key behind, a replaced vector, the index read
 * back after a reopen (from the log), and the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <sys/wait.h>

#include "kbvec.h"
#include "test_fixture.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-kbvec-XXXXXX", 0);
}

/* ------------------------------------------------- random vectors */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double
unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

static float
gauss(void)
{
	return (float)(sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()));
}

/* dim Gaussian floats into v. */
static void
rand_vec(float *v, uint32_t dim)
{
	uint32_t i;

	for (i = 0; i < dim; i++)
		v[i] = gauss();
}

/* A point near centre c: c plus Gaussian noise of norm about spread. */
static void
near(const float *c, uint32_t dim, double spread, float *v)
{
	double s = spread / sqrt(dim);
	uint32_t i;

	for (i = 0; i < dim; i++)
		v[i] = (float)(c[i] + s * gauss());
}

static double
cos_of(const float *a, const float *b, uint32_t dim)
{
	double ab = 0, aa = 0, bb = 0;
	uint32_t i;

	for (i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(aa * bb);
}

/* ------------------------------------------------------- helpers */

/* Puts v as chunk id's vector in org, in a batch of its own: the error. */
static int
put(struct fix *f, const char *org, uint64_t id, const float *v,
    uint32_t dim)
{
	struct store_txn t;
	int rc;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	rc = kb_vec_put(&t, org, id, v, dim);
	assert_int_equal(rc < 0, t.err != 0);
	return store_commit(&t);
}

/* Removes chunk id's vector of org in a batch of its own: remove's result. */
static int
rm(struct fix *f, const char *org, uint64_t id)
{
	struct store_txn t;
	int rc;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	rc = kb_vec_remove(&t, org, id);
	assert_int_equal(store_commit(&t), 0);
	return rc;
}

/* A search of org in a read-only batch: how many hits, into hits (room for k). */
static size_t
search(struct fix *f, const char *org, const float *q, uint32_t dim,
    unsigned k, struct kb_hit *hits)
{
	struct store_txn t;
	size_t n = 99, i;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_vec_search(&t, org, q, dim, k, NULL, hits, &n),
	    0);
	store_abort(&t);
	assert_true(n <= k);
	for (i = 1; i < n; i++)
		assert_true(hits[i - 1].score >= hits[i].score);
	return n;
}

/* The error of a search refused. */
static int
search_err(struct fix *f, const char *org, const float *q, uint32_t dim,
    unsigned k)
{
	struct kb_hit hits[ST_KB_SEARCH_K_MAX + 1];
	struct store_txn t;
	size_t n = 99;
	int err;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_vec_search(&t, org, q, dim, k, NULL, hits, &n),
	    -1);
	err = t.err;
	store_abort(&t);
	assert_int_equal(n, 0);
	return err;
}

/* How many vectors org has, and its dimension into *dim (NULL: not asked). */
static uint32_t
vecs_of(struct fix *f, const char *org, uint32_t *dim)
{
	struct store_txn t;
	uint32_t n;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	n = kb_vec_count(&t, org);
	if (dim != NULL)
		*dim = kb_vec_dim(&t, org);
	store_abort(&t);
	return n;
}

static uint32_t
count_of(struct fix *f, const char *org)
{
	return vecs_of(f, org, NULL);
}

static int
has(struct fix *f, const char *org, uint64_t id)
{
	struct store_txn t;
	int rc;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	rc = kb_vec_has(&t, org, id);
	store_abort(&t);
	return rc;
}

/* The vector index's four databases are empty. */
static void
no_keys(struct fix *f)
{
	assert_int_equal(db_entries(f, "kb_vecmeta"), 0);
	assert_int_equal(db_entries(f, "kb_vecseg"), 0);
	assert_int_equal(db_entries(f, "kb_vecq"), 0);
	assert_int_equal(db_entries(f, "kb_vecs"), 0);
}

/* ---------------------------------------------------------- tests */

static void
test_put_search_remove(void **state)
{
	struct fix *f = *state;
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	float v[3][16], q[16];
	uint64_t i;

	for (i = 0; i < 3; i++) {
		rand_vec(v[i], 16);
		assert_int_equal(put(f, "default", 10 + i, v[i], 16), 0);
	}
	assert_int_equal(count_of(f, "default"), 3);
	/* Each finds itself first, at a cosine of about 1; scaling is no matter. */
	for (i = 0; i < 3; i++) {
		for (int j = 0; j < 16; j++)
			q[j] = 5 * v[i][j];
		assert_int_equal(search(f, "default", q, 16, 10, hits), 3);
		assert_true(hits[0].id == 10 + i);
		assert_true(fabs(hits[0].score - 1) < 0.01);
		assert_true(fabs(hits[1].score - cos_of(q, v[hits[1].id - 10],
		    16)) < 0.02);
	}
	assert_int_equal(search(f, "default", v[0], 16, 1, hits), 1);
	assert_true(hits[0].id == 10);
	assert_int_equal(rm(f, "default", 10), 0);
	assert_int_equal(rm(f, "default", 10), 1);
	assert_int_equal(has(f, "default", 10), 0);
	assert_int_equal(has(f, "default", 11), 1);
	assert_int_equal(search(f, "default", v[0], 16, 10, hits), 2);
	assert_true(hits[0].id != 10 && hits[1].id != 10);
	/* An organisation without vectors finds none, whatever the dimension. */
	assert_int_equal(search(f, "org_none", v[0], 16, 10, hits), 0);
	assert_int_equal(search(f, "org_none", v[0], 3, 10, hits), 0);
}

static void
test_recall_clustered(void **state)
{
	enum { DIM = 256, N = 4000, CLUSTERS = 40, QUERIES = 30, K = 20 };
	struct fix *f = *state;
	struct kb_hit hits[K];
	struct store_txn t;
	float *c, *x, q[DIM];
	double *sc, best[K], found = 0;
	uint32_t i, j, r, worse;

	c = malloc(sizeof(float) * DIM * CLUSTERS);
	x = malloc(sizeof(float) * DIM * N);
	sc = malloc(sizeof(double) * N);
	assert_true(c != NULL && x != NULL && sc != NULL);
	for (i = 0; i < CLUSTERS; i++)
		rand_vec(c + i * DIM, DIM);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < N; i++) {
		near(c + (i % CLUSTERS) * DIM, DIM, 1.0 * sqrt(DIM),
		    x + (size_t)i * DIM);
		assert_int_equal(kb_vec_put(&t, "default", i + 1,
		    x + (size_t)i * DIM, DIM), 0);
	}
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(count_of(f, "default"), N);
	for (r = 0; r < QUERIES; r++) {
		near(c + (r % CLUSTERS) * DIM, DIM, 1.0 * sqrt(DIM), q);
		for (i = 0; i < N; i++)
			sc[i] = cos_of(q, x + (size_t)i * DIM, DIM);
		assert_int_equal(search(f, "default", q, DIM, K, hits), K);
		/* A hit is right when fewer than K vectors beat it exactly. */
		for (j = 0; j < K; j++) {
			best[j] = sc[hits[j].id - 1];
			assert_true(fabs(best[j] - hits[j].score) < 0.01);
			for (worse = 0, i = 0; i < N; i++)
				worse += sc[i] > best[j];
			found += worse < K;
		}
	}
	print_message("recall@20 %.4f over %d queries\n",
	    found / (QUERIES * K), QUERIES);
	assert_true(found / (QUERIES * K) >= 0.95);
	free(c);
	free(x);
	free(sc);
}

static void
test_orgs_apart(void **state)
{
	struct fix *f = *state;
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	float v[32];
	size_t n, i;

	rand_vec(v, 32);
	assert_int_equal(put(f, "org_1", 1, v, 32), 0);
	assert_int_equal(put(f, "org_2", 2, v, 32), 0);
	assert_int_equal(put(f, "org_10", 3, v, 32), 0);
	/* The same id in two organisations: two vectors. */
	assert_int_equal(put(f, "org_2", 1, v, 32), 0);
	n = search(f, "org_1", v, 32, 50, hits);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == 1);
	n = search(f, "org_2", v, 32, 50, hits);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		assert_true(hits[i].id == 1 || hits[i].id == 2);
	assert_int_equal(rm(f, "org_1", 2), 1);
	assert_int_equal(rm(f, "org_2", 1), 0);
	assert_int_equal(has(f, "org_2", 1), 0);
	n = search(f, "org_1", v, 32, 50, hits);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == 1);
	assert_int_equal(count_of(f, "org_10"), 1);
}

/*
 * An organisation's spaces (agents' own embedding models): indexes of
 * their own, each with its dimension, searched apart; a chunk's removal
 * takes its vectors from every space; another organisation's spaces
 * untouched.
 */
static void
test_spaces(void **state)
{
	struct fix *f = *state;
	char a[KB_VEC_NAME_MAX + 1], b[KB_VEC_NAME_MAX + 1];
	char o[KB_VEC_NAME_MAX + 1];
	const char *sa = kb_vec_space("org_1", "0123456789abcdef", a);
	const char *sb = kb_vec_space("org_1", "fedcba9876543210", b);
	const char *so = kb_vec_space("org_10", "0123456789abcdef", o);
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	struct store_txn t;
	uint64_t ids[2] = { 1, 2 };
	uint32_t dim;
	float v[64];

	assert_string_equal(kb_vec_space("org_1", "", a), "org_1");
	assert_null(kb_vec_space("org_1", "0123", a));
	assert_null(kb_vec_space("org_1", "0123456789abcdeg", a));
	assert_non_null(sa);
	assert_non_null(sb);
	assert_non_null(so);
	rand_vec(v, 64);
	assert_int_equal(put(f, "org_1", 1, v, 32), 0);
	assert_int_equal(put(f, sa, 1, v, 64), 0);
	assert_int_equal(put(f, sa, 2, v, 64), 0);
	assert_int_equal(put(f, sb, 1, v, 16), 0);
	assert_int_equal(put(f, so, 1, v, 64), 0);
	assert_int_equal(search(f, sa, v, 64, 50, hits), 2);
	assert_int_equal(search(f, "org_1", v, 32, 50, hits), 1);
	assert_int_equal(vecs_of(f, sb, &dim), 1);
	assert_int_equal(dim, 16);
	/* Chunks 1 and 2 removed from org_1: from each of its spaces. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_vec_remove_spaces(&t, "org_1", 2, ids), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(count_of(f, "org_1"), 0);
	assert_int_equal(count_of(f, sa), 0);
	assert_int_equal(count_of(f, sb), 0);
	assert_int_equal(count_of(f, so), 1);
}

static void
test_dimension_fixed(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	float v[64];
	int left = 1;

	rand_vec(v, 64);
	assert_int_equal(put(f, "default", 1, v, 32), 0);
	assert_int_equal(put(f, "default", 2, v, 64), PROTO_E_INVALID);
	assert_int_equal(put(f, "org_2", 2, v, 64), 0);
	assert_int_equal(search_err(f, "default", v, 64, 5), PROTO_E_INVALID);
	assert_int_equal(count_of(f, "default"), 1);
	/* Cleared, the organisation takes another dimension. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_vec_clear(&t, "default", 100, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(kb_vec_dim(&t, "default"), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(put(f, "default", 2, v, 64), 0);
	assert_int_equal(has(f, "default", 1), 0);
	assert_int_equal(count_of(f, "default"), 1);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_vec_dim(&t, "default"), 64);
	store_abort(&t);
	/* Removing the last vector frees the dimension as well. */
	assert_int_equal(rm(f, "default", 2), 0);
	assert_int_equal(put(f, "default", 3, v, 8), 0);
}

/* Every vector of v (n, ids 1 to n) still present finds itself first. */
static void
all_found(struct fix *f, const float *v, uint32_t dim, uint32_t n,
    const int *gone)
{
	struct kb_hit hits[2];
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (gone[i]) {
			assert_int_equal(has(f, "default", i + 1), 0);
			continue;
		}
		assert_int_equal(search(f, "default", v + (size_t)i * dim,
		    dim, 2, hits) > 0, 1);
		assert_true(hits[0].id == i + 1);
		assert_true(hits[0].score > 0.99);
	}
}

static void
test_remove_leaves_nothing(void **state)
{
	/* 1,536 dimensions: 20 codes a segment, so 47 fill three. */
	enum { DIM = 1536, N = 47 };
	static const uint32_t order[] = { 5, 47, 21, 1, 40, 20, 41, 2, 33 };
	struct fix *f = *state;
	struct store_txn t;
	float *v;
	int gone[N] = { 0 }, left = 1;
	uint32_t i, left_n = N, steps = 0;

	v = malloc(sizeof(float) * DIM * N);
	assert_non_null(v);
	for (i = 0; i < N; i++) {
		rand_vec(v + (size_t)i * DIM, DIM);
		assert_int_equal(put(f, "default", i + 1, v + (size_t)i * DIM,
		    DIM), 0);
	}
	all_found(f, v, DIM, N, gone);
	/* From the middle, the last, the first, at segment edges. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		assert_int_equal(rm(f, "default", order[i]), 0);
		gone[order[i] - 1] = 1;
		assert_int_equal(count_of(f, "default"), --left_n);
		all_found(f, v, DIM, N, gone);
	}
	/* A replaced vector is found by its new value, nothing added. */
	rand_vec(v + 9 * DIM, DIM);
	assert_int_equal(put(f, "default", 10, v + 9 * DIM, DIM), 0);
	assert_int_equal(count_of(f, "default"), left_n);
	all_found(f, v, DIM, N, gone);
	/* Then the rest, one by one, from the front. */
	for (i = 0; i < N; i++)
		if (!gone[i])
			assert_int_equal(rm(f, "default", i + 1), 0);
	assert_int_equal(count_of(f, "default"), 0);
	no_keys(f);
	/* Again, cleared in bounded steps: whole segments, from the last. */
	for (i = 0; i < N; i++)
		assert_int_equal(put(f, "default", i + 1, v + (size_t)i * DIM,
		    DIM), 0);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_vec_clear(&t, "default", 0, &left), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(left, 1);
	assert_int_equal(count_of(f, "default"), N);
	while (left && steps++ < 10) {
		assert_int_equal(store_begin(f->st, &t, 0), 0);
		assert_int_equal(kb_vec_clear(&t, "default", 1, &left), 0);
		assert_int_equal(store_commit(&t), 0);
		/* What is left is ids 1 to its count, still found. */
		memset(gone, 0, sizeof(gone));
		if (left)
			all_found(f, v, DIM, count_of(f, "default"), gone);
	}
	assert_int_equal(steps, 3);
	no_keys(f);
	free(v);
}

/* kb_vec_put_many of n vectors in a batch of its own: the error. */
static int
put_many(struct fix *f, uint32_t n, const uint64_t *ids, const float *v,
    uint32_t dim)
{
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	(void)kb_vec_put_many(&t, "default", n, ids, v, dim);
	return store_commit(&t);
}

static void
test_put_many(void **state)
{
	/* 1,536 dimensions: segments of 20 codes and of 5 int8 vectors. */
	enum { DIM = 1536, N = 47, AGAIN = 3 };
	static const uint64_t again[AGAIN] = { 2, 30, 46 };
	struct fix *f = *state;
	uint64_t ids[N + AGAIN];
	float *v, *w;
	int gone[N] = { 0 };
	uint32_t i;

	v = malloc(sizeof(float) * DIM * (N + AGAIN));
	w = malloc(sizeof(float) * DIM * 3);
	assert_true(v != NULL && w != NULL);
	for (i = 0; i < N + AGAIN; i++)
		rand_vec(v + (size_t)i * DIM, DIM);
	/* Three singly first, so the batch begins mid-segment. */
	for (i = 0; i < 3; i++)
		assert_int_equal(put(f, "default", i + 1, v + (size_t)i * DIM,
		    DIM), 0);
	/*
	 * Ids 4 to 47, then again 2 (stored before), 30 (appended in this
	 * batch, its segments written) and 46 (in the segments being
	 * appended to): the later vector of each stays, in place.
	 */
	for (i = 3; i < N; i++)
		ids[i - 3] = i + 1;
	for (i = 0; i < AGAIN; i++)
		ids[N - 3 + i] = again[i];
	assert_int_equal(put_many(f, N - 3 + AGAIN, ids, v + 3 * DIM, DIM),
	    0);
	for (i = 0; i < AGAIN; i++)
		memcpy(v + (again[i] - 1) * DIM, v + (size_t)(N + i) * DIM,
		    sizeof(float) * DIM);
	assert_int_equal(count_of(f, "default"), N);
	all_found(f, v, DIM, N, gone);
	/* One vector refused: nothing of the batch is written. */
	rand_vec(w, DIM * 3);
	w[DIM + 7] = NAN;
	ids[0] = 100;
	ids[1] = 101;
	ids[2] = 1;
	assert_int_equal(put_many(f, 3, ids, w, DIM), PROTO_E_INVALID);
	assert_int_equal(count_of(f, "default"), N);
	assert_int_equal(has(f, "default", 100), 0);
	all_found(f, v, DIM, N, gone);
	assert_int_equal(put_many(f, 0, ids, w, DIM), PROTO_E_INVALID);
	assert_int_equal(put_many(f, KB_VEC_PUT_MAX + 1, ids, w, DIM),
	    PROTO_E_INVALID);
	/* Removed one by one: nothing left. */
	for (i = 0; i < N; i++)
		assert_int_equal(rm(f, "default", N - i), 0);
	no_keys(f);
	free(v);
	free(w);
}

/* kb_vec_remove_many of n ids in a batch of its own: how many went. */
static uint32_t
rm_many(struct fix *f, uint32_t n, const uint64_t *ids)
{
	struct store_txn t;
	uint32_t removed = 99;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_vec_remove_many(&t, "default", n, ids, &removed),
	    0);
	assert_int_equal(store_commit(&t), 0);
	return removed;
}

static void
test_remove_many(void **state)
{
	/* Segments of 20 codes and of 5 int8 vectors at 1,536 dimensions. */
	enum { DIM = 1536, N = 100 };
	struct fix *f = *state;
	uint64_t ids[N + 4];
	float *v;
	int gone[N] = { 0 };
	uint32_t i, n = 0, left = N;

	v = malloc(sizeof(float) * DIM * N);
	assert_non_null(v);
	for (i = 0; i < N; i++) {
		rand_vec(v + (size_t)i * DIM, DIM);
		ids[i] = i + 1;
	}
	assert_int_equal(put_many(f, N, ids, v, DIM), 0);
	/*
	 * A source's run (21 to 60), a few apart (3, 95, the last), one
	 * named twice and one without a vector.
	 */
	for (i = 21; i <= 60; i++)
		ids[n++] = i;
	ids[n++] = 3;
	ids[n++] = 95;
	ids[n++] = 100;
	ids[n++] = 40;
	ids[n++] = 1000;
	assert_int_equal(rm_many(f, n, ids), 43);
	for (i = 0; i < n; i++)
		if (ids[i] <= N && !gone[ids[i] - 1]) {
			gone[ids[i] - 1] = 1;
			left--;
		}
	assert_int_equal(count_of(f, "default"), left);
	all_found(f, v, DIM, N, gone);
	assert_int_equal(rm_many(f, 0, ids), 0);
	assert_int_equal(rm_many(f, 2, ids), 0);
	/* The rest, every other first, then all. */
	for (n = 0, i = 0; i < N; i += 2) {
		if (gone[i])
			continue;
		ids[n++] = i + 1;
		gone[i] = 1;
		left--;
	}
	assert_int_equal(rm_many(f, n, ids), n);
	assert_int_equal(count_of(f, "default"), left);
	all_found(f, v, DIM, N, gone);
	for (n = 0, i = 0; i < N; i++)
		ids[n++] = i + 1;
	assert_int_equal(rm_many(f, n, ids), left);
	no_keys(f);
	free(v);
}

static void
test_reopen_keeps_index(void **state)
{
	struct fix *f = *state;
	struct kb_hit hits[4];
	float v[4][300];
	uint32_t i;

	for (i = 0; i < 4; i++) {
		rand_vec(v[i], 300);
		assert_int_equal(put(f, "default", 100 + i, v[i], 300), 0);
	}
	assert_int_equal(rm(f, "default", 101), 0);
	fix_reopen(f);
	assert_int_equal(count_of(f, "default"), 3);
	for (i = 0; i < 4; i++) {
		assert_int_equal(search(f, "default", v[i], 300, 4, hits), 3);
		if (i != 1)
			assert_true(hits[0].id == 100 + i);
	}
}

/*
 * A child writes vectors and dies without closing the store: what it
 * was acknowledged is replayed from the log (every database of the index
 * is logged, as the standby receives it).
 */
static void
test_replay_after_crash(void **state)
{
	enum { DIM = 1536, N = 12 };
	struct fix *f = *state;
	struct kb_hit hits[2];
	struct store_txn t;
	struct store *st;
	float *v;
	int status, gone[N] = { 0 };
	uint32_t i;
	pid_t pid;

	v = malloc(sizeof(float) * DIM * N);
	assert_non_null(v);
	for (i = 0; i < N; i++)
		rand_vec(v + (size_t)i * DIM, DIM);
	for (i = 0; i < 4; i++)
		assert_int_equal(put(f, "default", i + 1, v + (size_t)i * DIM,
		    DIM), 0);
	store_close(f->st);
	f->st = NULL;
	if ((pid = fork()) == 0) {
		if ((st = store_open(f->dir, 64, 0)) == NULL)
			_exit(2);
		for (i = 4; i < N; i++) {
			if (store_begin(st, &t, 0) != 0 || kb_vec_put(&t,
			    "default", i + 1, v + (size_t)i * DIM, DIM) != 0 ||
			    (i % 3 == 0 && kb_vec_remove(&t, "default",
			    i) != 0) || store_commit(&t) != 0)
				_exit(3);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	f->st = store_open(f->dir, 64, STORE_F_NOSYNC);
	assert_non_null(f->st);
	store_set_clock(f->st, fake_clock);
	for (i = 4; i < N; i++)
		if (i % 3 == 0)
			gone[i - 1] = 1;
	assert_int_equal(count_of(f, "default"), N - 2);
	all_found(f, v, DIM, N, gone);
	assert_int_equal(search(f, "default", v + 2 * DIM, DIM, 2, hits), 2);
	free(v);
}

static void
test_bounds(void **state)
{
	struct fix *f = *state;
	static float v[KB_VEC_DIM_MAX + 1];
	char org[KB_VEC_NAME_MAX + 2];
	float zero[8] = { 0 }, bad[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	rand_vec(v, KB_VEC_DIM_MAX + 1);
	assert_int_equal(put(f, "default", 1, v, 0), PROTO_E_INVALID);
	assert_int_equal(put(f, "default", 1, v, KB_VEC_DIM_MAX + 1),
	    PROTO_E_INVALID);
	assert_int_equal(put(f, "default", 1, zero, 8), PROTO_E_INVALID);
	bad[3] = NAN;
	assert_int_equal(put(f, "default", 1, bad, 8), PROTO_E_INVALID);
	bad[3] = INFINITY;
	assert_int_equal(put(f, "default", 1, bad, 8), PROTO_E_INVALID);
	assert_int_equal(put(f, "", 1, v, 8), PROTO_E_INVALID);
	memset(org, 'o', sizeof(org) - 1);
	org[sizeof(org) - 1] = '\0';
	assert_int_equal(put(f, org, 1, v, 8), PROTO_E_INVALID);
	org[KB_VEC_NAME_MAX] = '\0';
	assert_int_equal(put(f, org, 1, v, 8), 0);
	assert_int_equal(count_of(f, "default"), 0);
	/* The largest dimension, in an overflow page of its own. */
	assert_int_equal(put(f, "default", 1, v, KB_VEC_DIM_MAX), 0);
	assert_int_equal(put(f, "default", 2, v + 1, KB_VEC_DIM_MAX), 0);
	assert_int_equal(search_err(f, "default", v, KB_VEC_DIM_MAX, 0),
	    PROTO_E_INVALID);
	assert_int_equal(search_err(f, "default", v, KB_VEC_DIM_MAX,
	    ST_KB_SEARCH_K_MAX + 1), PROTO_E_INVALID);
	assert_int_equal(search_err(f, "default", zero, 8, 5),
	    PROTO_E_INVALID);
	{
		struct kb_hit hits[ST_KB_SEARCH_K_MAX];

		assert_int_equal(search(f, "default", v, KB_VEC_DIM_MAX,
		    ST_KB_SEARCH_K_MAX, hits), 2);
		assert_true(hits[0].id == 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_search_remove, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_recall_clustered, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_orgs_apart, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_spaces, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_dimension_fixed, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_remove_leaves_nothing,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_put_many, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_remove_many, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_index, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_replay_after_crash, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
