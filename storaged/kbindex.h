/*
 * The knowledge base's lexical index, in the store's LMDB (so it is in
 * the log, replicated to the standby and in backups like every record):
 * chunks (proto/kbmsg.h) under a u64 id, and for each organisation and
 * term the chunks that hold it, ranked by BM25F over three fields
 * (title, headings, text), its best candidates scored again with the
 * proximity of the query's words and their page (kbrank.h). Words
 * become terms through analyze.c, in the chunk's language; a query is
 * analysed in the language it is given.
 *
 *   kb_chunks	u64 id -> version, chunk
 *   kb_post	org NUL term NUL u64 id -> its term counts and field
 *		lengths (BM25F reads no record), then its word positions
 *		in headings and text (the second stage's proximity)
 *   kb_terms	org NUL term -> u32 chunks holding it
 *   kb_stats	org -> u32 chunks, u64 words per field (the averages)
 *   kb_source	source id NUL u64 id -> (): a source's chunks
 *   meta	"kb_analysis" -> the version byte, kb_fingerprint of the
 *		text analysis that made kb_post, kb_terms and kb_stats,
 *		put with the first chunk: at open, made again when it is
 *		not this build's (kbindex_module, storeint.h)
 *   meta	"kb_reindex" -> the version byte, kb_fingerprint, u64 the
 *		last chunk indexed again: while it is made again
 *
 * Errors as store.h: each call does nothing when t->err is set, and
 * returns -1 with t's sticky error set when it fails.
 */
#ifndef PARLEY_KBINDEX_H
#define PARLEY_KBINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "kbmsg.h"
#include "storeint.h"

/* Terms of one chunk indexed at most: the rest of a long text is not. */
#define KB_TERMS_MAX		4096
/* Distinct terms of a query looked up at most. */
#define KB_QUERY_TERMS_MAX	32
/* Chunks indexed again a batch when the index is made again at open. */
#define KB_REINDEX_BATCH	256
/* Bytes of kb_fingerprint's digest. */
#define KB_FINGERPRINT_LEN	32

/* A chunk found: its id and score (BM25F, or a vector's cosine). */
struct kb_hit {
	uint64_t id;
	double score;
};

/*
 * What a search may find: keep says of chunk id 1 (it may be a hit), 0
 * (not: another agent's source, a deleted one) or -1 (t failed). A
 * search asks it of a chunk only when the chunk would enter its best
 * so far, before ranking it there: chunks it refuses crowd out none it
 * keeps. NULL: every chunk may.
 *
 * ids (NULL: not known): the nids chunks, ascending, that alone may be
 * hits (kb_filter_sources: those of the sources keep lets through),
 * freed by whoever set them. A chunk not among them is passed over in
 * memory, before keep is asked and, in a vector search, before it takes
 * one of the KB_VEC_CANDIDATES: the other sources' chunks, however
 * many, spend neither.
 */
struct kb_filter {
	int (*keep)(struct store_txn *, uint64_t id, void *arg);
	void *arg;
	uint64_t *ids;
	size_t nids;
};
/*
 * A lexical search asks its filter's keep at most this many times (each
 * a chunk's record read): past it, no chunk more is kept. Its cost stays
 * bounded when the filter refuses most of what matches.
 */
#define KB_FILTER_MAX		20000
/*
 * A filter's ids at most (800 KB): sources of more chunks than that are
 * filtered by keep alone. Reading them is a cursor's step a chunk.
 */
#define KB_FILTER_IDS_MAX	100000

/* 1 when fl's ids let chunk id through (fl or its ids NULL: any), else 0. */
int kb_filter_allows(const struct kb_filter *fl, uint64_t id);
/*
 * fl's ids set to the chunks of the n sources (the caller's to check:
 * those keep lets through), allocated; left NULL when they hold more
 * than KB_FILTER_IDS_MAX (reading at most one more). 0, or -1.
 */
int kb_filter_sources(struct store_txn *, struct kb_filter *fl,
    const char *const *sources, uint32_t n);

/* Sifts hit i down the min-heap h of n hits (the worst at the top). */
void kb_hit_sift(struct kb_hit *h, uint32_t n, uint32_t i);
/* Best first, then by id: qsort's order of hits. */
int kb_hit_cmp(const void *a, const void *b);

/*
 * Stores chunk c (org, source_id, lang, url, title, headings, text set
 * by the caller; its lengths and created_at set here) and indexes its
 * words. *id is its new id. 0, or -1 (c invalid: PROTO_E_INVALID).
 */
int kb_chunk_add(struct store_txn *, struct st_kbchunk *c, uint64_t *id);
/*
 * kb_chunk_add, and what the chunk takes into *bytes (the quota's count,
 * kbusage.c): its record, its source entry and its postings, each with
 * its key (kbusage.h's KB_ENTRY).
 */
int kb_chunk_add_bytes(struct store_txn *, struct st_kbchunk *c,
    uint64_t *id, uint64_t *bytes);

/*
 * Removes chunk id and its postings. 0, 1 when there is none, or -1.
 */
int kb_chunk_remove(struct store_txn *, uint64_t id);
/*
 * kb_chunk_remove of the n chunks ids (at most KB_VEC_PUT_MAX, of one
 * organisation; one that is gone is passed over), their vectors removed
 * together (kb_vec_remove_many: each segment written once). 0, or -1.
 */
int kb_chunks_remove(struct store_txn *, const uint64_t *ids, uint32_t n);

/*
 * Removes at most max of source's chunks (a bounded step of a source's
 * deletion): *left is 1 when some remain. 0, or -1.
 */
int kb_source_clear(struct store_txn *, const char *source, uint32_t max,
    int *left);

/*
 * The k (1 to ST_KB_SEARCH_K_MAX) best chunks of org for query (UTF-8,
 * at most ST_KB_QUERY_MAX bytes, analysed as language lang) that fl
 * keeps (NULL: any), best first, into hits (room for k); *n how many.
 * A query of no words finds none. 0, or -1.
 */
int kb_search(struct store_txn *, const char *org, const char *lang,
    const char *query, size_t qlen, uint32_t k, const struct kb_filter *fl,
    struct kb_hit *hits, uint32_t *n);

/*
 * What stored chunk id takes, as kb_chunk_add_bytes counted it when it
 * was added (its text analysed again), into *bytes: a data directory's
 * count of before the quota (kbcount.c). 0, 1 when absent, or -1.
 */
int kb_chunk_bytes(struct store_txn *, uint64_t id, uint64_t *bytes);
/*
 * kb_chunk_bytes of the first 256 of source's chunks (a qa's) summed
 * into *bytes, *n how many. 1 when it has more than those, 0, or -1.
 */
int kb_source_chunks_bytes(struct store_txn *, const char *source,
    uint64_t *bytes, uint32_t *n);
/*
 * Tells systemd, at most every few seconds (*next: when next, 0 at
 * first), that a start working through the whole knowledge base goes
 * on (kb_reindex, kbcount.c): the start's timeout moved on, the
 * watchdog fed.
 */
void kb_start_alive(long long *next);

/* Chunk id into c (zeroed here): 0, 1 when absent, or -1. */
int kb_chunk_get(struct store_txn *, uint64_t id, struct st_kbchunk *c);
/*
 * kb_chunk_get of chunk id's org and source_id alone (its strings left
 * unread): a search's filter. 0, 1 when absent, or -1.
 */
int kb_chunk_who(struct store_txn *, uint64_t id, struct st_kbchunk *c);

/* How many chunks org has indexed (0 on error). */
uint32_t kb_chunk_count(struct store_txn *, const char *org);

/*
 * What makes a chunk's postings in this build, as a digest: the text
 * analysis's (analyze_fingerprint) and the index's bounds on the terms
 * it keeps. 0, or -1 (out of memory, or a stemmer of langtab's that
 * libstemmer lacks).
 */
int kb_fingerprint(uint8_t out[KB_FINGERPRINT_LEN]);

#endif
