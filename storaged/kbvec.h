/*
 * The knowledge base's vector index, in the store's LMDB beside the
 * lexical one (kbindex.h): each organisation's chunk embeddings, kept
 * quantised, searched by cosine. Every key begins with the organisation,
 * so one organisation's search never reads another's vectors; the DBs
 * are in the log and on the standby like every record. An organisation
 * has an index for the install's embedding model (named by the
 * organisation) and one for each agent's own model (its "space": named
 * org~space, kb_vec_space), each with its own dimension.
 *
 *   kb_vecmeta	org -> version, u32 dimension, u32 vectors
 *   kb_vecseg	org NUL u32 segment -> version, u32 n, n entries: a sign
 *		code (a bit a dimension, in 64-bit words), the u64 chunk id
 *   kb_vecq	org NUL u32 segment -> version, u32 n, n entries: f32
 *		1/|q|, the int8 vector q (dimension bytes)
 *   kb_vecs	org NUL u64 chunk id -> version, u32 position
 *
 * The vectors are dense in positions 0 .. n - 1: position p is entry
 * p % N of segment p / N, N as many as fit one LMDB page for the codes
 * (20 at 1,536 dimensions) and two for the int8 vectors (5). A removal
 * moves the last vector into the hole. A search scans every code
 * (Hamming distance, popcount) read in place from LMDB's map, keeps the
 * KB_VEC_CANDIDATES nearest, and rescores them with their int8 vectors.
 *
 * An organisation's dimension is its first vector's; a vector of
 * another dimension is refused (PROTO_E_INVALID) until every vector of
 * the organisation is removed (kb_vec_clear), which frees the dimension.
 *
 * Errors as store.h: each call does nothing when t->err is set, and
 * returns -1 with t's sticky error set when it fails.
 */
#ifndef PARLEY_KBVEC_H
#define PARLEY_KBVEC_H

#include <stddef.h>
#include <stdint.h>

#include "kbmsg.h"
#include "kbindex.h"
#include "storeint.h"

/*
 * An index's name: an organisation (the install's vector space), or an
 * organisation, KB_VEC_SPACE_SEP and a space's id (st_kb_space: an
 * agent's embedding model). Every call below takes one as its org.
 */
#define KB_VEC_SPACE_SEP	'~'
#define KB_VEC_NAME_MAX		(ST_WHO_ORG_MAX + 1 + ST_KB_SPACE_HEX)
/* Spaces of an organisation kb_vec_remove_spaces reads at most. */
#define KB_VEC_SPACES_SEEN	64

/* Dimensions of a vector at most. */
#define KB_VEC_DIM_MAX		ST_KB_VEC_DIM_MAX
/* Vectors of one kb_vec_put_many at most (an embeddings request's inputs). */
#define KB_VEC_PUT_MAX		2048
/* Codes nearest by Hamming distance a search rescores (all when fewer). */
#define KB_VEC_CANDIDATES	800

/*
 * Sets chunk id's vector in org (v: dim floats, finite, not all zero;
 * L2-normalised here), replacing one it has. dim is 1 to KB_VEC_DIM_MAX
 * and the organisation's dimension when it has vectors. 0, or -1
 * (PROTO_E_INVALID: org, dim or v refused).
 */
int kb_vec_put(struct store_txn *, const char *org, uint64_t id,
    const float *v, uint32_t dim);

/*
 * What a vector of dim dimensions of index name takes (the quota's
 * count, kbusage.c): its sign code and int8 vector in their segments
 * and its position record with its key.
 */
uint64_t kb_vec_bytes(const char *name, uint32_t dim);

/*
 * kb_vec_put of n (1 to KB_VEC_PUT_MAX) vectors, v's n x dim floats, the
 * i-th chunk ids[i]'s (an id twice: the later one stays), each segment
 * written once: the log holds about 1.8 KB a vector at 1,536 dimensions
 * in batches of 64, against 6.7 KB put one by one. Nothing is written
 * when one of them is refused. 0, or -1 (PROTO_E_INVALID: n, org, dim or
 * a vector refused).
 */
int kb_vec_put_many(struct store_txn *, const char *org, uint32_t n,
    const uint64_t *ids, const float *v, uint32_t dim);

/*
 * Removes chunk id's vector from org, the organisation's last vector
 * moved into its place. 0, 1 when it has none, or -1.
 */
int kb_vec_remove(struct store_txn *, const char *org, uint64_t id);

/*
 * kb_vec_remove of n (0 to KB_VEC_PUT_MAX) chunks' vectors (a chunk
 * without one, or named twice, is passed over), the last vectors moved
 * into the holes, each segment written once: *removed how many went. A
 * source's chunks, put together, are mostly in the same segments. 0,
 * or -1.
 */
int kb_vec_remove_many(struct store_txn *, const char *org, uint32_t n,
    const uint64_t *ids, uint32_t *removed);

/*
 * The k (1 to ST_KB_SEARCH_K_MAX) chunks of org whose vectors are
 * nearest q (dim floats, finite, not all zero; the organisation's
 * dimension) by cosine that fl keeps (NULL: any; its ids, when set,
 * choose the codes that may be candidates; keep asked of the
 * KB_VEC_CANDIDATES rescored only, as they would enter the k best),
 * best first (equal scores: lower id first), into hits (room for k); *n
 * how many. An organisation without vectors finds none. Reads only:
 * runs in a read-only batch. 0, or -1 (PROTO_E_INVALID: k, dim or q
 * refused).
 */
int kb_vec_search(struct store_txn *, const char *org, const float *q,
    uint32_t dim, unsigned k, const struct kb_filter *fl,
    struct kb_hit *hits, size_t *n);

/*
 * 1 when v (dim floats, 1 to KB_VEC_DIM_MAX) may be put or searched:
 * every value finite, not all zero.
 */
int kb_vec_usable(const float *v, uint32_t dim);

/* How many vectors org has (0 on error). */
uint32_t kb_vec_count(struct store_txn *, const char *org);

/* org's dimension: 0 while it has no vector (or on error). */
uint32_t kb_vec_dim(struct store_txn *, const char *org);

/* 1 when chunk id has a vector in org, 0 when not, or -1. */
int kb_vec_has(struct store_txn *, const char *org, uint64_t id);

/*
 * Removes org's vectors in a bounded step: whole code segments from the
 * last (20 vectors at 1,536 dimensions) until max are gone or none is
 * left; *left 1 when some remain. Once none does, org has no key left
 * and no dimension. 0, or -1.
 */
int kb_vec_clear(struct store_txn *, const char *org, uint32_t max,
    int *left);

/*
 * The index name of org's space (space "" or NULL: org itself; else 16
 * hex digits) into buf, returned; NULL for a space id refused.
 */
const char *kb_vec_space(const char *org, const char *space,
    char buf[KB_VEC_NAME_MAX + 1]);

/*
 * kb_vec_remove_many of chunks ids from org's index and from each of its
 * spaces' (at most KB_VEC_SPACES_SEEN of them). 0, or -1.
 */
int kb_vec_remove_spaces(struct store_txn *, const char *org, uint32_t n,
    const uint64_t *ids);

#endif
