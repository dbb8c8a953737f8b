/*
 * The knowledge search's second stage (kbindex.c's kb_search): the best
 * candidates of the first stage's BM25F scored again with what BM25F
 * leaves out: how near to each other the query's terms stand in a chunk
 * (term proximity, after Büttcher, Clarke and Lushman, "Term proximity
 * scoring for ad-hoc retrieval on very large text collections", SIGIR
 * 2006), and the best of the other candidates of the chunk's URL (a
 * page, or a section when the URL names its anchor, that answers a
 * question tends to match it in several chunks).
 */
#ifndef PARLEY_KBRANK_H
#define PARLEY_KBRANK_H

#include <stddef.h>
#include <stdint.h>

/* Candidates of the first stage scored again. */
#define KB_RERANK_MAX		30
/* Query terms weighed at most (kbindex.h's KB_QUERY_TERMS_MAX). */
#define KB_RANK_TERMS_MAX	32

/* One occurrence of a query term in a chunk: its word position, which. */
struct kb_occ {
	uint32_t pos;
	uint32_t term;		/* index in the query's terms */
};

/* One candidate, as kbindex.c reads it. */
struct kb_cand {
	uint64_t id;
	double score;		/* first stage's BM25F */
	uint64_t page;		/* its URL's hash, anchor included */
	uint32_t words;		/* its length in words */
	struct kb_occ *occ;	/* its query terms' occurrences, any order */
	size_t nocc;
	double rescored;	/* set by kb_rerank */
};

/*
 * Sets each of the n candidates' rescored: its score, plus its
 * proximity score for the nq (at most KB_RANK_TERMS_MAX) query terms of
 * idf idf[] (avg_words the index's average chunk length), plus a share
 * of the best score of another candidate of its URL. Sorts each
 * candidate's occ by position.
 */
void kb_rerank(const double *idf, size_t nq, double avg_words,
    struct kb_cand *cands, size_t n);

#endif
