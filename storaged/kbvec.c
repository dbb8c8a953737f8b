/*
 * The knowledge base's vector index (see kbvec.h): a vector quantised
 * twice on put (a sign bit a dimension into its segment, int8 for its
 * record), kept dense by moving the last vector into a removed one's
 * place, and searched in two steps: the Hamming distance of every sign
 * code read in place from LMDB's map, then the int8 cosine of the
 * nearest KB_VEC_CANDIDATES.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbvec.h"
#include "util.h"

#define KB_VEC_VERSION	1
/* A segment's value fits one overflow page (4,096 bytes less its header). */
#define SEG_BYTES	4080
#define SEG_HDR		8	/* u8 version, 3 zero, u32 n */
#define META_LEN	9	/* u8 version, u32 dimension, u32 vectors */
#define REC_HDR		12	/* u8 version, 3 zero, u32 position, f32 */
#define ORG_KEY_MAX	(ST_WHO_ORG_MAX + 1)
#define SEG_KEY_MAX	(ORG_KEY_MAX + 4)
#define VEC_KEY_MAX	(ORG_KEY_MAX + 8)
#define WORDS_MAX	((KB_VEC_DIM_MAX + 63) / 64)
/* Codes of a segment at most (the smallest code: one word). */
#define SEG_N_MAX	((SEG_BYTES - SEG_HDR) / (8 + 8))

/* An organisation's index as kb_vecmeta holds it. */
struct vmeta {
	uint32_t dim, n;
};

/* A segment unpacked: its codes and their chunk ids. */
struct seg {
	uint32_t n;
	uint8_t codes[SEG_BYTES];
	uint64_t ids[SEG_N_MAX];
};

/* The shape of an organisation's codes, from its dimension. */
struct shape {
	uint32_t dim;
	uint32_t words;		/* u64 words of a code */
	size_t cbytes;		/* bytes of a code */
	uint32_t per;		/* codes of a full segment */
};

static void
shape_of(uint32_t dim, struct shape *s)
{
	s->dim = dim;
	s->words = (dim + 63) / 64;
	s->cbytes = (size_t)s->words * 8;
	s->per = (uint32_t)((SEG_BYTES - SEG_HDR) / (s->cbytes + 8));
}

/* ------------------------------------------------------------ keys */

/* org's key prefix (org NUL) into k: its length, 0 when org is refused. */
static size_t
org_key(struct store_txn *t, uint8_t *k, const char *org)
{
	size_t olen = org != NULL ? strnlen(org, ST_WHO_ORG_MAX + 1) : 0;

	if (olen == 0 || olen > ST_WHO_ORG_MAX) {
		store_fail(t, PROTO_E_INVALID, "vector: organisation refused");
		return 0;
	}
	memcpy(k, org, olen);
	k[olen] = 0;
	return olen + 1;
}

static size_t
seg_key(uint8_t k[SEG_KEY_MAX], size_t plen, uint32_t s)
{
	proto_put_be32(k + plen, s);
	return plen + 4;
}

static size_t
vec_key(uint8_t k[VEC_KEY_MAX], size_t plen, uint64_t id)
{
	proto_put_be64(k + plen, id);
	return plen + 8;
}

/* ------------------------------------------------------------ meta */

/* org's meta (key k of olen bytes) into m, zero when none. 0, or -1. */
static int
meta_get(struct store_txn *t, const uint8_t *k, size_t olen,
    struct vmeta *m)
{
	const uint8_t *p;
	MDB_val v;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = db_get(t, t->st->kb_vecmeta, k, olen, &v,
	    "get vector meta")) != 0)
		return rc < 0 ? -1 : 0;
	p = v.mv_data;
	if (v.mv_size != META_LEN || p[0] != KB_VEC_VERSION) {
		rec_corrupt(t, "vector meta");
		return -1;
	}
	m->dim = proto_get_be32(p + 1);
	m->n = proto_get_be32(p + 5);
	if (m->dim == 0 || m->dim > KB_VEC_DIM_MAX || m->n == 0) {
		rec_corrupt(t, "vector meta");
		return -1;
	}
	return 0;
}

static void
meta_put(struct store_txn *t, const uint8_t *k, size_t olen,
    const struct vmeta *m)
{
	uint8_t v[META_LEN];

	if (m->n == 0) {
		db_del_quiet(t, t->st->kb_vecmeta, k, olen,
		    "delete vector meta");
		return;
	}
	v[0] = KB_VEC_VERSION;
	proto_put_be32(v + 1, m->dim);
	proto_put_be32(v + 5, m->n);
	db_put(t, t->st->kb_vecmeta, k, olen, v, sizeof(v),
	    "put vector meta");
}

/* ------------------------------------------------------------ segments */

/*
 * A stored segment's codes (*codes, in LMDB's map) and ids (big-endian
 * u64s at *ids): its count, or -1 (t failed: corrupt).
 */
static long
seg_view(struct store_txn *t, const MDB_val *v, const struct shape *sh,
    const uint8_t **codes, const uint8_t **ids)
{
	const uint8_t *p = v->mv_data;
	uint32_t n;

	if (v->mv_size < SEG_HDR || p[0] != KB_VEC_VERSION)
		goto bad;
	n = proto_get_be32(p + 4);
	if (n == 0 || n > sh->per ||
	    v->mv_size != SEG_HDR + (size_t)n * (sh->cbytes + 8))
		goto bad;
	*codes = p + SEG_HDR;
	*ids = p + SEG_HDR + (size_t)n * sh->cbytes;
	return n;
bad:
	rec_corrupt(t, "vector segment");
	return -1;
}

/* Segment s (key k, plen its org prefix) copied into g. 0, or -1. */
static int
seg_load(struct store_txn *t, uint8_t k[SEG_KEY_MAX], size_t plen,
    uint32_t s, const struct shape *sh, struct seg *g)
{
	const uint8_t *codes, *ids;
	MDB_val v;
	long n;
	uint32_t i;
	int rc;

	if ((rc = db_get(t, t->st->kb_vecseg, k, seg_key(k, plen, s), &v,
	    "get vector segment")) != 0) {
		if (rc > 0)
			rec_corrupt(t, "vector segment missing");
		return -1;
	}
	if ((n = seg_view(t, &v, sh, &codes, &ids)) < 0)
		return -1;
	g->n = (uint32_t)n;
	memcpy(g->codes, codes, g->n * sh->cbytes);
	for (i = 0; i < g->n; i++)
		g->ids[i] = proto_get_be64(ids + 8 * i);
	return 0;
}

/* Writes g as segment s (deleted when empty). */
static void
seg_store(struct store_txn *t, uint8_t k[SEG_KEY_MAX], size_t plen,
    uint32_t s, const struct shape *sh, const struct seg *g)
{
	uint8_t v[SEG_BYTES];
	size_t klen = seg_key(k, plen, s), off;
	uint32_t i;

	if (g->n == 0) {
		db_del(t, t->st->kb_vecseg, k, klen, "delete vector segment");
		return;
	}
	memset(v, 0, SEG_HDR);
	v[0] = KB_VEC_VERSION;
	proto_put_be32(v + 4, g->n);
	off = SEG_HDR + g->n * sh->cbytes;
	memcpy(v + SEG_HDR, g->codes, g->n * sh->cbytes);
	for (i = 0; i < g->n; i++)
		proto_put_be64(v + off + 8 * i, g->ids[i]);
	db_put(t, t->st->kb_vecseg, k, klen, v, off + 8 * (size_t)g->n,
	    "put vector segment");
}

/* ------------------------------------------------------- quantisation */

/*
 * v normalised into out (dim floats). 0, or -1 (t failed: not finite,
 * or all zero).
 */
static int
normalise(struct store_txn *t, const float *v, uint32_t dim, float *out)
{
	double ss = 0, inv;
	uint32_t i;

	for (i = 0; i < dim; i++) {
		if (!isfinite(v[i]))
			goto bad;
		ss += (double)v[i] * v[i];
	}
	if (!(ss > 0) || !isfinite(ss))
		goto bad;
	inv = 1 / sqrt(ss);
	for (i = 0; i < dim; i++)
		out[i] = (float)(v[i] * inv);
	return 0;
bad:
	return store_fail(t, PROTO_E_INVALID,
	    "vector: not finite, or all zero"), -1;
}

/* x's sign code (bit i of byte i / 8 set when x[i] > 0; padding zero). */
static void
sign_code(const float *x, const struct shape *sh, uint8_t *code)
{
	uint32_t i;

	memset(code, 0, sh->cbytes);
	for (i = 0; i < sh->dim; i++)
		if (x[i] > 0)
			code[i / 8] |= (uint8_t)(1u << (i % 8));
}

/*
 * x (normalised) as int8 into q, scaled so its largest magnitude is
 * 127: 1 / |q| (the factor of a cosine with q).
 */
static float
int8_code(const float *x, uint32_t dim, int8_t *q)
{
	float amax = 0, a, scale;
	double ss = 0;
	uint32_t i;

	for (i = 0; i < dim; i++)
		if ((a = fabsf(x[i])) > amax)
			amax = a;
	scale = 127 / amax;
	for (i = 0; i < dim; i++) {
		q[i] = (int8_t)lrintf(x[i] * scale);
		ss += (double)q[i] * q[i];
	}
	return (float)(1 / sqrt(ss));
}

static uint32_t
f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* ------------------------------------------------------------ records */

/* A stored record's position, factor and int8 vector. 0, or -1 (corrupt). */
static int
rec_view(struct store_txn *t, const MDB_val *v, uint32_t dim,
    uint32_t *pos, float *inv, const int8_t **q)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != REC_HDR + (size_t)dim || p[0] != KB_VEC_VERSION) {
		rec_corrupt(t, "vector record");
		return -1;
	}
	*pos = proto_get_be32(p + 4);
	*inv = bits_f32(proto_get_be32(p + 8));
	*q = (const int8_t *)(p + REC_HDR);
	return 0;
}

/* Writes chunk id's record (key k) at pos with x (normalised). */
static void
rec_store(struct store_txn *t, const uint8_t *k, size_t klen, uint32_t pos,
    const float *x, uint32_t dim)
{
	uint8_t v[REC_HDR + KB_VEC_DIM_MAX];
	float inv;

	inv = int8_code(x, dim, (int8_t *)(v + REC_HDR));
	memset(v, 0, REC_HDR);
	v[0] = KB_VEC_VERSION;
	proto_put_be32(v + 4, pos);
	proto_put_be32(v + 8, f32_bits(inv));
	db_put(t, t->st->kb_vecs, k, klen, v, REC_HDR + (size_t)dim,
	    "put vector");
}

/* Rewrites the position of the record under k (present). */
static void
rec_move(struct store_txn *t, const uint8_t *k, size_t klen, uint32_t dim,
    uint32_t pos)
{
	uint8_t v[REC_HDR + KB_VEC_DIM_MAX];
	MDB_val cur;
	int rc;

	if ((rc = db_get(t, t->st->kb_vecs, k, klen, &cur,
	    "get vector")) != 0) {
		if (rc > 0)
			rec_corrupt(t, "vector record missing");
		return;
	}
	if (cur.mv_size != REC_HDR + (size_t)dim) {
		rec_corrupt(t, "vector record");
		return;
	}
	memcpy(v, cur.mv_data, cur.mv_size);
	proto_put_be32(v + 4, pos);
	db_put(t, t->st->kb_vecs, k, klen, v, cur.mv_size, "put vector");
}

/* ------------------------------------------------------- put and remove */

/*
 * Checks org and dim, then reads org's meta: its key's length, 0 with t
 * failed.
 */
static size_t
begin_org(struct store_txn *t, const char *org, uint32_t dim,
    uint8_t *k, struct vmeta *m)
{
	size_t plen;

	if (t->err || (plen = org_key(t, k, org)) == 0)
		return 0;
	if (dim == 0 || dim > KB_VEC_DIM_MAX) {
		store_fail(t, PROTO_E_INVALID, "vector: dimension out of "
		    "bounds");
		return 0;
	}
	if (meta_get(t, k, plen - 1, m) < 0)
		return 0;
	if (m->n > 0 && m->dim != dim) {
		store_fail(t, PROTO_E_INVALID, "vector: dimension differs "
		    "from the organisation's");
		return 0;
	}
	return plen;
}

int
kb_vec_put(struct store_txn *t, const char *org, uint64_t id,
    const float *v, uint32_t dim)
{
	uint8_t k[VEC_KEY_MAX], sk[SEG_KEY_MAX];
	uint8_t code[WORDS_MAX * 8];
	const int8_t *oldq;
	struct shape sh;
	struct vmeta m;
	struct seg *g = NULL;
	float *x = NULL, inv;
	uint32_t pos;
	size_t plen, klen;
	MDB_val cur;
	int rc;

	if ((plen = begin_org(t, org, dim, k, &m)) == 0)
		return -1;
	memcpy(sk, k, plen);
	shape_of(dim, &sh);
	if ((x = malloc(dim * sizeof(*x))) == NULL ||
	    (g = malloc(sizeof(*g))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto done;
	}
	if (normalise(t, v, dim, x) < 0)
		goto done;
	sign_code(x, &sh, code);
	klen = vec_key(k, plen, id);
	if ((rc = db_get(t, t->st->kb_vecs, k, klen, &cur,
	    "get vector")) < 0)
		goto done;
	if (rc == 0) {
		/* Replaced in place: same position, same id. */
		if (rec_view(t, &cur, dim, &pos, &inv, &oldq) < 0)
			goto done;
		if (pos >= m.n) {
			rec_corrupt(t, "vector position");
			goto done;
		}
	} else {
		pos = m.n++;
		m.dim = dim;
	}
	if (pos % sh.per == 0 && rc != 0)
		g->n = 0;
	else if (seg_load(t, sk, plen, pos / sh.per, &sh, g) < 0)
		goto done;
	if (rc != 0) {
		if (g->n != pos % sh.per) {
			rec_corrupt(t, "vector segment length");
			goto done;
		}
		g->n++;
	}
	memcpy(g->codes + (pos % sh.per) * sh.cbytes, code, sh.cbytes);
	g->ids[pos % sh.per] = id;
	seg_store(t, sk, plen, pos / sh.per, &sh, g);
	rec_store(t, k, klen, pos, x, dim);
	if (rc != 0)
		meta_put(t, k, plen - 1, &m);
done:
	free(x);
	free(g);
	return t->err ? -1 : 0;
}

/*
 * Fills position pos (in segment h, loaded; NULL: in g) with the last
 * vector (the last of g, the last segment) and tells its record; g loses
 * its last.
 */
static void
fill_hole(struct store_txn *t, uint8_t *k, size_t plen,
    const struct shape *sh, struct seg *g, struct seg *h, uint32_t pos)
{
	uint32_t last = g->n - 1, slot = pos % sh->per;
	struct seg *to = h != NULL ? h : g;

	if (h != NULL || slot != last) {
		memcpy(to->codes + slot * sh->cbytes,
		    g->codes + last * sh->cbytes, sh->cbytes);
		to->ids[slot] = g->ids[last];
		rec_move(t, k, vec_key(k, plen, g->ids[last]), sh->dim, pos);
	}
	g->n--;
}

int
kb_vec_remove(struct store_txn *t, const char *org, uint64_t id)
{
	uint8_t k[VEC_KEY_MAX], sk[SEG_KEY_MAX], mk[VEC_KEY_MAX];
	struct seg *g = NULL, *h = NULL;
	const int8_t *q;
	struct shape sh;
	struct vmeta m;
	uint32_t pos, lastseg;
	size_t plen, klen;
	MDB_val cur;
	float inv;
	int rc;

	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return -1;
	if (m.n == 0)
		return 1;
	klen = vec_key(k, plen, id);
	if ((rc = db_get(t, t->st->kb_vecs, k, klen, &cur, "get vector")) != 0)
		return rc;
	if (rec_view(t, &cur, m.dim, &pos, &inv, &q) < 0)
		return -1;
	if (pos >= m.n) {
		rec_corrupt(t, "vector position");
		return -1;
	}
	shape_of(m.dim, &sh);
	memcpy(sk, k, plen);
	memcpy(mk, k, plen);
	lastseg = (m.n - 1) / sh.per;
	if ((g = malloc(sizeof(*g))) == NULL ||
	    (h = malloc(sizeof(*h))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto done;
	}
	if (seg_load(t, sk, plen, lastseg, &sh, g) < 0)
		goto done;
	if (g->n != (m.n - 1) % sh.per + 1) {
		rec_corrupt(t, "vector segment length");
		goto done;
	}
	if (pos / sh.per == lastseg)
		fill_hole(t, mk, plen, &sh, g, NULL, pos);
	else if (seg_load(t, sk, plen, pos / sh.per, &sh, h) == 0) {
		fill_hole(t, mk, plen, &sh, g, h, pos);
		seg_store(t, sk, plen, pos / sh.per, &sh, h);
	}
	seg_store(t, sk, plen, lastseg, &sh, g);
	db_del(t, t->st->kb_vecs, k, klen, "delete vector");
	m.n--;
	meta_put(t, k, plen - 1, &m);
done:
	free(g);
	free(h);
	return t->err ? -1 : 0;
}

int
kb_vec_clear(struct store_txn *t, const char *org, uint32_t max, int *left)
{
	uint8_t k[VEC_KEY_MAX], sk[SEG_KEY_MAX];
	const uint8_t *codes, *ids;
	struct shape sh;
	struct vmeta m;
	uint32_t done = 0, s;
	size_t plen;
	MDB_val v;
	long n, i;

	*left = 0;
	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return -1;
	shape_of(m.dim ? m.dim : 1, &sh);
	memcpy(sk, k, plen);
	while (m.n > 0 && done < max && !t->err) {
		s = (m.n - 1) / sh.per;
		if (db_get(t, t->st->kb_vecseg, sk, seg_key(sk, plen, s), &v,
		    "get vector segment") != 0 ||
		    (n = seg_view(t, &v, &sh, &codes, &ids)) < 0)
			break;
		if ((uint32_t)n != (m.n - 1) % sh.per + 1) {
			rec_corrupt(t, "vector segment length");
			break;
		}
		for (i = n; i-- > 0 && !t->err;)
			db_del(t, t->st->kb_vecs, k, vec_key(k, plen,
			    proto_get_be64(ids + 8 * i)), "delete vector");
		db_del(t, t->st->kb_vecseg, sk, seg_key(sk, plen, s),
		    "delete vector segment");
		m.n -= (uint32_t)n;
		done += (uint32_t)n;
	}
	if (done > 0)
		meta_put(t, k, plen - 1, &m);
	*left = m.n > 0;
	return t->err ? -1 : 0;
}

uint32_t
kb_vec_count(struct store_txn *t, const char *org)
{
	uint8_t k[ORG_KEY_MAX];
	struct vmeta m;
	size_t plen;

	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return 0;
	return m.n;
}

uint32_t
kb_vec_dim(struct store_txn *t, const char *org)
{
	uint8_t k[ORG_KEY_MAX];
	struct vmeta m;
	size_t plen;

	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return 0;
	return m.dim;
}

int
kb_vec_has(struct store_txn *t, const char *org, uint64_t id)
{
	uint8_t k[VEC_KEY_MAX];
	size_t plen;
	MDB_val v;
	int rc;

	if (t->err || (plen = org_key(t, k, org)) == 0)
		return -1;
	if ((rc = db_get(t, t->st->kb_vecs, k, vec_key(k, plen, id), &v,
	    "get vector")) < 0)
		return -1;
	return rc == 0;
}

/* ---------------------------------------------------------------- search */

/* A candidate: its Hamming distance and chunk id. */
struct cand {
	uint32_t dist;
	uint64_t id;
};

/* The nearest codes so far, a max-heap on distance (the farthest on top). */
struct cands {
	struct cand *v;
	uint32_t n, cap;
};

static void
cand_down(struct cands *c, uint32_t i)
{
	struct cand x;
	uint32_t j;

	for (;;) {
		j = 2 * i + 1;
		if (j >= c->n)
			return;
		if (j + 1 < c->n && c->v[j + 1].dist > c->v[j].dist)
			j++;
		if (c->v[i].dist >= c->v[j].dist)
			return;
		x = c->v[i];
		c->v[i] = c->v[j];
		c->v[j] = x;
		i = j;
	}
}

static void
cand_up(struct cands *c, uint32_t i)
{
	struct cand x;
	uint32_t p;

	while (i > 0 && c->v[p = (i - 1) / 2].dist < c->v[i].dist) {
		x = c->v[i];
		c->v[i] = c->v[p];
		c->v[p] = x;
		i = p;
	}
}

/* Offers the code of chunk id (big-endian at idp) at distance d. */
static void
cand_offer(struct cands *c, uint32_t d, const uint8_t *idp)
{
	if (c->n < c->cap) {
		c->v[c->n].dist = d;
		c->v[c->n].id = proto_get_be64(idp);
		cand_up(c, c->n++);
	} else if (d < c->v[0].dist) {
		c->v[0].dist = d;
		c->v[0].id = proto_get_be64(idp);
		cand_down(c, 0);
	}
}

/*
 * The Hamming distances of n codes (words u64s each) from q into d. The
 * body is inlined into a popcnt build and a plain one: -O2 for any
 * x86-64 calls libgcc for __builtin_popcountll.
 */
static inline __attribute__((always_inline)) void
ham_body(const uint8_t *codes, uint32_t n, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	uint64_t w;
	uint32_t i, j, s;

	for (i = 0; i < n; i++, codes += 8 * (size_t)words) {
		s = 0;
		for (j = 0; j < words; j++) {
			memcpy(&w, codes + 8 * j, 8);
			s += (uint32_t)__builtin_popcountll(w ^ q[j]);
		}
		d[i] = s;
	}
}

static void
ham_plain(const uint8_t *codes, uint32_t n, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	ham_body(codes, n, words, q, d);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) static void
ham_popcnt(const uint8_t *codes, uint32_t n, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	ham_body(codes, n, words, q, d);
}
#endif

typedef void (*ham_fn)(const uint8_t *, uint32_t, uint32_t,
    const uint64_t *, uint32_t *);

static ham_fn
ham_pick(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	static ham_fn fn;

	if (fn == NULL) {
		__builtin_cpu_init();
		fn = __builtin_cpu_supports("popcnt") ? ham_popcnt : ham_plain;
	}
	return fn;
#else
	return ham_plain;
#endif
}

/* Every code of org (prefix k, plen bytes) offered to c. 0, or -1. */
static int
scan_codes(struct store_txn *t, const uint8_t *k, size_t plen,
    const struct shape *sh, const uint64_t *q, struct cands *c)
{
	const uint8_t *codes, *ids;
	uint32_t d[SEG_N_MAX], i;
	ham_fn ham = ham_pick();
	MDB_cursor *cur;
	MDB_val ck, cv;
	long n;
	int rc;

	if ((cur = txn_seek(t, t->st->kb_vecseg, k, plen, &ck, &cv,
	    &rc)) == NULL)
		return -1;
	while (rc == 0 && ck.mv_size == plen + 4 &&
	    memcmp(ck.mv_data, k, plen) == 0) {
		if ((n = seg_view(t, &cv, sh, &codes, &ids)) < 0)
			break;
		ham(codes, (uint32_t)n, sh->words, q, d);
		for (i = 0; i < (uint32_t)n; i++)
			cand_offer(c, d[i], ids + 8 * i);
		rc = mdb_cursor_get(cur, &ck, &cv, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk vector segments");
	return t->err ? -1 : 0;
}

/* The cosine of x (normalised) with a record's int8 vector. */
static double
cosine(const float *x, const int8_t *q, float inv, uint32_t dim)
{
	float s = 0;
	uint32_t i;

	for (i = 0; i < dim; i++)
		s += x[i] * q[i];
	return (double)s * inv;
}

/* Sifts hit i down the min-heap h of n (the worst at the top). */
static void
hit_down(struct kb_vec_hit *h, size_t n, size_t i)
{
	struct kb_vec_hit x;
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && h[c + 1].score < h[c].score)
			c++;
		if (h[i].score <= h[c].score)
			return;
		x = h[i];
		h[i] = h[c];
		h[c] = x;
		i = c;
	}
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct kb_vec_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The candidates rescored with their int8 vectors, the k best into
 * hits, best first: how many. -1 with t failed.
 */
static long
rescore(struct store_txn *t, uint8_t *k, size_t plen, const float *x,
    uint32_t dim, const struct cands *c, unsigned kk, struct kb_vec_hit *hits)
{
	const int8_t *q;
	uint32_t i, pos;
	size_t n = 0, j;
	MDB_val v;
	double s;
	float inv;
	int rc;

	for (i = 0; i < c->n; i++) {
		if ((rc = db_get(t, t->st->kb_vecs, k,
		    vec_key(k, plen, c->v[i].id), &v, "get vector")) != 0) {
			if (rc > 0)
				rec_corrupt(t, "vector record missing");
			return -1;
		}
		if (rec_view(t, &v, dim, &pos, &inv, &q) < 0)
			return -1;
		s = cosine(x, q, inv, dim);
		if (n < kk) {
			hits[n].id = c->v[i].id;
			hits[n++].score = s;
			if (n == kk)
				for (j = kk / 2 + 1; j-- > 0;)
					hit_down(hits, n, j);
		} else if (s > hits[0].score || (s == hits[0].score &&
		    c->v[i].id < hits[0].id)) {
			hits[0].id = c->v[i].id;
			hits[0].score = s;
			hit_down(hits, n, 0);
		}
	}
	qsort(hits, n, sizeof(hits[0]), hit_cmp);
	return (long)n;
}

int
kb_vec_search(struct store_txn *t, const char *org, const float *q,
    uint32_t dim, unsigned k, struct kb_vec_hit *hits, size_t *n)
{
	uint8_t key[VEC_KEY_MAX];
	uint64_t qcode[WORDS_MAX];
	struct cands c = { 0 };
	struct shape sh;
	struct vmeta m;
	float *x = NULL;
	size_t plen;
	long got;

	*n = 0;
	if (!t->err && (k < 1 || k > ST_KB_SEARCH_K_MAX))
		store_fail(t, PROTO_E_INVALID, "vector search: k out of "
		    "bounds");
	if ((plen = begin_org(t, org, dim, key, &m)) == 0)
		return -1;
	if (m.n == 0)
		return 0;
	shape_of(dim, &sh);
	c.cap = m.n < KB_VEC_CANDIDATES ? m.n : KB_VEC_CANDIDATES;
	if ((x = malloc(dim * sizeof(*x))) == NULL ||
	    (c.v = calloc(c.cap, sizeof(*c.v))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto done;
	}
	if (normalise(t, q, dim, x) < 0)
		goto done;
	sign_code(x, &sh, (uint8_t *)qcode);
	if (scan_codes(t, key, plen, &sh, qcode, &c) < 0 ||
	    (got = rescore(t, key, plen, x, dim, &c, k, hits)) < 0)
		goto done;
	*n = (size_t)got;
done:
	free(x);
	free(c.v);
	return t->err ? -1 : 0;
}
