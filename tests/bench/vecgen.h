/*
 * Synthetic clustered embeddings for the knowledge benchmarks
 * (kbvecbench.c, kbspeed.c): a component shared by all (random pairs'
 * cosine about 0.1, as real embeddings are not centred), 20 topics per
 * 1,000 vectors, 10 subtopics each, then each vector's own noise: the
 * same subtopic's cosine about 0.6, the same topic's 0.4. Deterministic
 * from rng's seed.
 */
#ifndef PARLEY_BENCH_VECGEN_H
#define PARLEY_BENCH_VECGEN_H

#include <err.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define SUBS_PER_TOPIC	10
#define PER_SUB		50	/* vectors a subtopic, about */

/* The weights of the parts of a vector (each a Gaussian of unit variance). */
#define W_SHARED	0.4
#define W_TOPIC		0.7
#define W_SUB		0.6
#define W_OWN		0.8

static uint64_t rng = 88172645463325252ULL;

static inline double
unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

/* Two Gaussians at a time (Box-Muller), handed out one by one. */
static inline float
gauss(void)
{
	static double spare;
	static int have;
	double r, a;

	if (have) {
		have = 0;
		return (float)spare;
	}
	r = sqrt(-2 * log(unif()));
	a = 2 * M_PI * unif();
	spare = r * sin(a);
	have = 1;
	return (float)(r * cos(a));
}

/* The centres: one shared, the topics', the subtopics'. */
struct data {
	uint32_t dim, n, topics, subs;
	float *shared, *topic, *sub;
};

static inline float *
rand_vecs(uint32_t n, uint32_t dim)
{
	float *v = malloc(sizeof(float) * n * dim);
	size_t i;

	if (v == NULL)
		err(1, "vectors");
	for (i = 0; i < (size_t)n * dim; i++)
		v[i] = gauss();
	return v;
}

static inline void
data_new(struct data *d, uint32_t dim, uint32_t n)
{
	d->dim = dim;
	d->n = n;
	d->subs = (n + PER_SUB - 1) / PER_SUB;
	d->topics = (d->subs + SUBS_PER_TOPIC - 1) / SUBS_PER_TOPIC;
	d->shared = rand_vecs(1, dim);
	d->topic = rand_vecs(d->topics, dim);
	d->sub = rand_vecs(d->subs, dim);
}

static inline void
data_free(struct data *d)
{
	free(d->shared);
	free(d->topic);
	free(d->sub);
}

/* A vector of subtopic s (wsub its weight: 0 for a topic's query) into v. */
static inline void
draw(const struct data *d, uint32_t s, double wsub, float *v)
{
	const float *t = d->topic + (size_t)(s / SUBS_PER_TOPIC) * d->dim;
	const float *u = d->sub + (size_t)s * d->dim;
	uint32_t i;

	for (i = 0; i < d->dim; i++)
		v[i] = (float)(W_SHARED * d->shared[i] + W_TOPIC * t[i] +
		    wsub * u[i] + W_OWN * gauss());
}

#endif
