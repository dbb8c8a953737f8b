/*
 * The knowledge search's second stage (kbrank.h): term proximity from a
 * chunk's query term positions, and its URL's other candidates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbrank.h"

/* Proximity's saturation and length normalisation, as BM25's. */
#define PX_K1		1.2
#define PX_B		0.75
/*
 * The proximity score's weight and the page's share, chosen on the
 * handbook's odd questions and kept for helping the even ones too
 * (tests/bench/knowledge/README.md).
 */
#define PX_WEIGHT	2.0
#define PAGE_SHARE	0.3

static int
occ_cmp(const void *a, const void *b)
{
	const struct kb_occ *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->term < y->term ? -1 : x->term > y->term;
}

/*
 * c's proximity score: each occurrence of a query term after one of
 * another term d words before adds to each the other's idf over d
 * squared; each term's sum is saturated as BM25 does a count, and
 * weighed by its idf (at most 1).
 */
static double
proximity(const double *idf, size_t nq, double avg_words, struct kb_cand *c)
{
	double acc[KB_RANK_TERMS_MAX] = { 0 }, kk, d, s = 0;
	const struct kb_occ *o = c->occ, *last = NULL;
	size_t i;

	if (c->nocc == 0)
		return 0;
	qsort(c->occ, c->nocc, sizeof(c->occ[0]), occ_cmp);
	for (i = 0; i < c->nocc; i++) {
		if (o[i].term >= nq)
			continue;
		if (last != NULL && last->term != o[i].term &&
		    o[i].pos > last->pos) {
			d = (double)(o[i].pos - last->pos);
			acc[o[i].term] += idf[last->term] / (d * d);
			acc[last->term] += idf[o[i].term] / (d * d);
		}
		last = &o[i];
	}
	kk = PX_K1 * (1 - PX_B + PX_B * c->words / (avg_words > 0 ?
	    avg_words : 1));
	for (i = 0; i < nq; i++)
		if (acc[i] > 0)
			s += fmin(1, idf[i]) * acc[i] * (PX_K1 + 1) /
			    (acc[i] + kk);
	return s;
}

void
kb_rerank(const double *idf, size_t nq, double avg_words,
    struct kb_cand *cands, size_t n)
{
	double page;
	size_t i, j;

	if (nq > KB_RANK_TERMS_MAX)
		nq = KB_RANK_TERMS_MAX;
	for (i = 0; i < n; i++) {
		cands[i].rescored = cands[i].score +
		    PX_WEIGHT * proximity(idf, nq, avg_words, &cands[i]);
		page = 0;
		for (j = 0; j < n; j++)
			if (j != i && cands[j].page == cands[i].page &&
			    cands[j].score > page)
				page = cands[j].score;
		cands[i].rescored += PAGE_SHARE * page;
	}
}
