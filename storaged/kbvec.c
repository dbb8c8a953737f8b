/*
 * The knowledge base's vector index (see kbvec.h): a vector quantised
 * twice on put (a sign bit a dimension, int8), each kept in segments by
 * its position, dense by moving the last vector into a removed one's
 * place, and searched in two steps: the Hamming distance of every sign
 * code read in place from LMDB's map, then the int8 cosine of the
 * nearest KB_VEC_CANDIDATES.
 *
 * Why segments for the int8 vectors too: a record of 1,548 bytes a
 * chunk fits two to an LMDB page, and ascending ids split every page in
 * half, so each took a page of its own (413 MB at 100,000 vectors of
 * 1,536 dimensions, against 180 MB in segments of five).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbusage.h"
#include "kbvec.h"
#include "util.h"

#define KB_VEC_VERSION	1
/*
 * A segment's value at most: one overflow page for the codes, two for
 * the int8 vectors (4,096 bytes a page less its 16-byte header).
 */
#define CSEG_BYTES	4080
#define QSEG_BYTES	8176
#define SEG_HDR		8	/* u8 version, 3 zero, u32 n */
#define META_LEN	9	/* u8 version, u32 dimension, u32 vectors */
#define REC_LEN		5	/* u8 version, u32 position */
#define ORG_KEY_MAX	(KB_VEC_NAME_MAX + 1)
#define KEY_MAX		(ORG_KEY_MAX + 8)
#define WORDS_MAX	((KB_VEC_DIM_MAX + 63) / 64)
/* Codes of a segment at most (the smallest code: one word, and an id). */
#define CSEG_N_MAX	((CSEG_BYTES - SEG_HDR) / (8 + 8))

/* An organisation's index as kb_vecmeta holds it. */
struct vmeta {
	uint32_t dim, n;
};

/* The shape of an organisation's segments, from its dimension. */
struct shape {
	uint32_t dim;
	uint32_t words;		/* u64 words of a code */
	size_t cesz;		/* a code segment's entry: code, u64 id */
	uint32_t cper;		/* entries of a full code segment */
	size_t qesz;		/* an int8 segment's entry: f32, int8[dim] */
	uint32_t qper;
};

/* One kind of segment: its database and entries. */
struct kind {
	MDB_dbi dbi;
	size_t esz;
	uint32_t per;
	const char *what;
};

/* A segment copied out to change: its value, header first. */
struct seg {
	uint32_t n;
	uint8_t v[QSEG_BYTES];
};

static void
shape_of(uint32_t dim, struct shape *s)
{
	s->dim = dim;
	s->words = (dim + 63) / 64;
	s->cesz = (size_t)s->words * 8 + 8;
	s->cper = (uint32_t)((CSEG_BYTES - SEG_HDR) / s->cesz);
	s->qesz = 4 + (size_t)dim;
	s->qper = (uint32_t)((QSEG_BYTES - SEG_HDR) / s->qesz);
}

uint64_t
kb_vec_bytes(const char *name, uint32_t dim)
{
	struct shape sh;

	shape_of(dim, &sh);
	/* A record's key: the name, NUL, u64 id (rec_key). */
	return sh.cesz + sh.qesz + KB_ENTRY(strlen(name) + 1 + 8, REC_LEN);
}

static void
kinds_of(struct store_txn *t, const struct shape *sh, struct kind *codes,
    struct kind *q8)
{
	codes->dbi = t->st->kb_vecseg;
	codes->esz = sh->cesz;
	codes->per = sh->cper;
	codes->what = "vector code segment";
	q8->dbi = t->st->kb_vecq;
	q8->esz = sh->qesz;
	q8->per = sh->qper;
	q8->what = "vector int8 segment";
}

/* ------------------------------------------------------------ keys */

/*
 * An index's key prefix (its name: org, or org~space; then NUL) into k:
 * its length, 0 when the name is refused.
 */
static size_t
org_key(struct store_txn *t, uint8_t *k, const char *org)
{
	size_t olen = org != NULL ? strnlen(org, KB_VEC_NAME_MAX + 1) : 0;

	if (olen == 0 || olen > KB_VEC_NAME_MAX) {
		store_fail(t, PROTO_E_INVALID, "vector: organisation refused");
		return 0;
	}
	memcpy(k, org, olen);
	k[olen] = 0;
	return olen + 1;
}

/* k's prefix (plen bytes) then a u32 segment: the key's length. */
static size_t
seg_key(uint8_t k[KEY_MAX], size_t plen, uint32_t s)
{
	proto_put_be32(k + plen, s);
	return plen + 4;
}

/* k's prefix (plen bytes) then a u64 chunk id: the key's length. */
static size_t
rec_key(uint8_t k[KEY_MAX], size_t plen, uint64_t id)
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
	if (v.mv_size != META_LEN || p[0] != KB_VEC_VERSION)
		goto bad;
	m->dim = proto_get_be32(p + 1);
	m->n = proto_get_be32(p + 5);
	if (m->dim == 0 || m->dim > KB_VEC_DIM_MAX || m->n == 0)
		goto bad;
	return 0;
bad:
	rec_corrupt(t, "vector meta");
	return -1;
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

/* ------------------------------------------------------------ records */

/* Chunk id's position (key k): 0 found, 1 none, -1 error. */
static int
pos_get(struct store_txn *t, const uint8_t *k, size_t klen, uint32_t n,
    uint32_t *pos)
{
	const uint8_t *p;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->kb_vecs, k, klen, &v, "get vector")) != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size != REC_LEN || p[0] != KB_VEC_VERSION ||
	    (*pos = proto_get_be32(p + 1)) >= n) {
		rec_corrupt(t, "vector record");
		return -1;
	}
	return 0;
}

static void
pos_put(struct store_txn *t, const uint8_t *k, size_t klen, uint32_t pos)
{
	uint8_t v[REC_LEN];

	v[0] = KB_VEC_VERSION;
	proto_put_be32(v + 1, pos);
	db_put(t, t->st->kb_vecs, k, klen, v, sizeof(v), "put vector");
}

/* ------------------------------------------------------------ segments */

/*
 * A stored segment's entries (in LMDB's map) into *e: its count, or -1
 * (t failed: corrupt).
 */
static long
seg_view(struct store_txn *t, const MDB_val *v, const struct kind *kd,
    const uint8_t **e)
{
	const uint8_t *p = v->mv_data;
	uint32_t n;

	if (v->mv_size < SEG_HDR || p[0] != KB_VEC_VERSION)
		goto bad;
	n = proto_get_be32(p + 4);
	if (n == 0 || n > kd->per || v->mv_size != SEG_HDR + n * kd->esz)
		goto bad;
	*e = p + SEG_HDR;
	return n;
bad:
	rec_corrupt(t, kd->what);
	return -1;
}

/*
 * Segment s of kd (key prefix k, plen bytes), which must be there, read
 * in place: its value into *v, its entries at *e. Their count, or -1.
 */
static long
seg_read(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, uint32_t s, MDB_val *v, const uint8_t **e)
{
	int rc;

	if ((rc = db_get(t, kd->dbi, k, seg_key(k, plen, s), v,
	    kd->what)) != 0) {
		if (rc > 0)
			rec_corrupt(t, kd->what);
		return -1;
	}
	return seg_view(t, v, kd, e);
}

/* Segment s of kd (key prefix k, plen bytes) copied into g. 0, or -1. */
static int
seg_load(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, uint32_t s, struct seg *g)
{
	const uint8_t *e;
	MDB_val v;
	long n;

	if ((n = seg_read(t, kd, k, plen, s, &v, &e)) < 0)
		return -1;
	g->n = (uint32_t)n;
	memcpy(g->v, v.mv_data, v.mv_size);
	return 0;
}

/* Writes g as segment s of kd (deleted when empty). */
static void
seg_store(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, uint32_t s, struct seg *g)
{
	size_t klen = seg_key(k, plen, s);

	if (g->n == 0) {
		db_del(t, kd->dbi, k, klen, kd->what);
		return;
	}
	memset(g->v, 0, SEG_HDR);
	g->v[0] = KB_VEC_VERSION;
	proto_put_be32(g->v + 4, g->n);
	db_put(t, kd->dbi, k, klen, g->v, SEG_HDR + g->n * kd->esz, kd->what);
}

static uint8_t *
seg_entry(struct seg *g, const struct kind *kd, uint32_t i)
{
	return g->v + SEG_HDR + i * kd->esz;
}

/* Entry e as position pos of kd (an entry there already). */
static void
seg_replace(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, uint32_t pos, const uint8_t *e, struct seg *g)
{
	if (seg_load(t, kd, k, plen, pos / kd->per, g) < 0)
		return;
	if (pos % kd->per >= g->n) {
		rec_corrupt(t, kd->what);
		return;
	}
	memcpy(seg_entry(g, kd, pos % kd->per), e, kd->esz);
	seg_store(t, kd, k, plen, pos / kd->per, g);
}

/*
 * The last segment of one kind while a put appends to it: written once
 * the put moves on to the next one, or at its end.
 */
struct tail {
	struct seg g;
	uint32_t s;
	int open;
};

static void
tail_flush(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, struct tail *tl)
{
	if (tl->open)
		seg_store(t, kd, k, plen, tl->s, &tl->g);
	tl->open = 0;
}

/*
 * tl on the segment of kd's position pos (another one flushed first):
 * read, or new when an entry appended at pos (append) starts one. 0, or
 * -1 (t failed).
 */
static int
tail_open(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, struct tail *tl, uint32_t pos, int append)
{
	uint32_t s = pos / kd->per;

	if (tl->open && tl->s != s)
		tail_flush(t, kd, k, plen, tl);
	if (tl->open)
		return 0;
	if (append && pos % kd->per == 0)
		tl->g.n = 0;
	else if (seg_load(t, kd, k, plen, s, &tl->g) < 0)
		return -1;
	if (append ? tl->g.n != pos % kd->per : pos % kd->per >= tl->g.n) {
		rec_corrupt(t, kd->what);
		return -1;
	}
	tl->s = s;
	tl->open = 1;
	return 0;
}

/* Entry e appended as position pos (the count before it). */
static void
tail_append(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, struct tail *tl, uint32_t pos, const uint8_t *e)
{
	if (tail_open(t, kd, k, plen, tl, pos, 1) == 0)
		memcpy(seg_entry(&tl->g, kd, tl->g.n++), e, kd->esz);
}

/* Entry e as position pos of kd, in tl's segment once pos is in it. */
static void
tail_set(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, struct tail *tl, uint32_t pos, const uint8_t *e)
{
	if (tail_open(t, kd, k, plen, tl, pos, 0) == 0 &&
	    pos % kd->per < tl->g.n)
		memcpy(seg_entry(&tl->g, kd, pos % kd->per), e, kd->esz);
	else if (!t->err)
		rec_corrupt(t, kd->what);
}

/*
 * The segments of kd's positions n to old - 1 go: those wholly past n
 * deleted, the one n falls in cut to it.
 */
static void
seg_cut(struct store_txn *t, const struct kind *kd, uint8_t k[KEY_MAX],
    size_t plen, uint32_t n, uint32_t old, struct seg *g)
{
	uint32_t s;

	for (s = (old - 1) / kd->per + 1; s-- > n / kd->per && !t->err;) {
		if (s * kd->per >= n) {
			db_del(t, kd->dbi, k, seg_key(k, plen, s), kd->what);
			continue;
		}
		if (seg_load(t, kd, k, plen, s, g) == 0) {
			g->n = n - s * kd->per;
			seg_store(t, kd, k, plen, s, g);
		}
	}
}

/* ------------------------------------------------------- quantisation */

/* The sum of v's squares: NaN when a value is not finite. */
static double
sum_squares(const float *v, uint32_t dim)
{
	double ss = 0;
	uint32_t i;

	for (i = 0; i < dim; i++) {
		if (!isfinite(v[i]))
			return NAN;
		ss += (double)v[i] * v[i];
	}
	return ss;
}

int
kb_vec_usable(const float *v, uint32_t dim)
{
	double ss;

	if (dim == 0 || dim > KB_VEC_DIM_MAX)
		return 0;
	ss = sum_squares(v, dim);
	return ss > 0 && isfinite(ss);
}

/* v normalised into out (dim floats): 0, or -1 (not finite, or all zero). */
static int
unit(const float *v, uint32_t dim, float *out)
{
	double ss = sum_squares(v, dim), inv;
	uint32_t i;

	if (!(ss > 0) || !isfinite(ss))
		return -1;
	inv = 1 / sqrt(ss);
	for (i = 0; i < dim; i++)
		out[i] = (float)(v[i] * inv);
	return 0;
}

/* unit() with t failed when v is refused. */
static int
normalise(struct store_txn *t, const float *v, uint32_t dim, float *out)
{
	if (unit(v, dim, out) == 0)
		return 0;
	return store_fail(t, PROTO_E_INVALID,
	    "vector: not finite, or all zero"), -1;
}

/* x's sign code (bit i of byte i / 8 set when x[i] > 0; padding zero). */
static void
sign_code(const float *x, const struct shape *sh, uint8_t *code)
{
	uint32_t i;

	memset(code, 0, (size_t)sh->words * 8);
	for (i = 0; i < sh->dim; i++)
		if (x[i] > 0)
			code[i / 8] |= (uint8_t)(1u << (i % 8));
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

/*
 * x (normalised) as an int8 segment's entry: 1 / |q| as a big-endian
 * f32, then q, x scaled so its largest magnitude is 127.
 */
static void
int8_entry(const float *x, uint32_t dim, uint8_t *e)
{
	int8_t *q = (int8_t *)(e + 4);
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
	proto_put_be32(e, f32_bits((float)(1 / sqrt(ss))));
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

/* What a put builds: a normalised vector, its two entries, segments. */
struct putbuf {
	float x[KB_VEC_DIM_MAX];
	uint8_t code[WORDS_MAX * 8 + 8];
	uint8_t q8[4 + KB_VEC_DIM_MAX];
	struct seg g;
	struct tail codes, q8s;
};

/* Every one of n vectors normalises (into x): 0, or -1 (t failed). */
static int
all_valid(struct store_txn *t, uint32_t n, const float *v, uint32_t dim,
    float *x)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (normalise(t, v + (size_t)i * dim, dim, x) < 0)
			return -1;
	return 0;
}

/* Vector v of chunk id (checked: all_valid) into b's entries. */
static void
entries_of(struct putbuf *b, const struct shape *sh, uint64_t id,
    const float *v)
{
	(void)unit(v, sh->dim, b->x);
	sign_code(b->x, sh, b->code);
	proto_put_be64(b->code + sh->cesz - 8, id);
	int8_entry(b->x, sh->dim, b->q8);
}

int
kb_vec_put_many(struct store_txn *t, const char *org, uint32_t n,
    const uint64_t *ids, const float *v, uint32_t dim)
{
	uint8_t k[KEY_MAX], sk[KEY_MAX];
	struct kind codes, q8;
	struct putbuf *b = NULL;
	struct shape sh;
	struct vmeta m;
	uint32_t pos, i, added = 0;
	size_t plen, klen;
	int rc;

	if (!t->err && (n == 0 || n > KB_VEC_PUT_MAX))
		store_fail(t, PROTO_E_INVALID, "vector: count out of bounds");
	if ((plen = begin_org(t, org, dim, k, &m)) == 0)
		return -1;
	memcpy(sk, k, plen);
	shape_of(dim, &sh);
	kinds_of(t, &sh, &codes, &q8);
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto done;
	}
	if (all_valid(t, n, v, dim, b->x) < 0)
		goto done;
	for (i = 0; i < n && !t->err; i++) {
		entries_of(b, &sh, ids[i], v + (size_t)i * dim);
		klen = rec_key(k, plen, ids[i]);
		if ((rc = pos_get(t, k, klen, m.n, &pos)) < 0)
			break;
		if (rc == 0) {
			/* Replaced in place, after what is appended so far. */
			tail_flush(t, &codes, sk, plen, &b->codes);
			tail_flush(t, &q8, sk, plen, &b->q8s);
			seg_replace(t, &codes, sk, plen, pos, b->code, &b->g);
			seg_replace(t, &q8, sk, plen, pos, b->q8, &b->g);
			continue;
		}
		tail_append(t, &codes, sk, plen, &b->codes, m.n, b->code);
		tail_append(t, &q8, sk, plen, &b->q8s, m.n, b->q8);
		pos_put(t, k, klen, m.n++);
		added++;
	}
	tail_flush(t, &codes, sk, plen, &b->codes);
	tail_flush(t, &q8, sk, plen, &b->q8s);
	m.dim = dim;
	if (added > 0)
		meta_put(t, k, plen - 1, &m);
done:
	free(b);
	return t->err ? -1 : 0;
}

int
kb_vec_put(struct store_txn *t, const char *org, uint64_t id,
    const float *v, uint32_t dim)
{
	return kb_vec_put_many(t, org, 1, &id, v, dim);
}

/* A vector being removed: its position and chunk id. */
struct gone {
	uint32_t pos;
	uint64_t id;
};

static int
gone_cmp(const void *a, const void *b)
{
	const struct gone *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * What a removal does: r vectors go (g, by position, the first h of them
 * holes below the new count), h others move down from past it into the
 * holes (their positions and entries, copied before anything changes).
 */
struct rmplan {
	struct gone *g;
	uint32_t r, h;
	uint32_t *mpos;
	uint8_t *mcodes, *mq8;
	struct tail tl;
};

static void
plan_free(struct rmplan *p)
{
	free(p->g);
	free(p->mpos);
	free(p->mcodes);
	free(p->mq8);
}

/*
 * The positions of ids (n) into p->g, sorted, each once; those without
 * a vector left out. 0, or -1.
 */
static int
plan_gone(struct store_txn *t, uint8_t *k, size_t plen, uint32_t count,
    uint32_t n, const uint64_t *ids, struct rmplan *p)
{
	uint32_t i, o;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = pos_get(t, k, rec_key(k, plen, ids[i]), count,
		    &p->g[p->r].pos)) < 0)
			return -1;
		if (rc == 0)
			p->g[p->r++].id = ids[i];
	}
	qsort(p->g, p->r, sizeof(p->g[0]), gone_cmp);
	for (i = o = 0; i < p->r; i++)
		if (o == 0 || p->g[i].pos != p->g[o - 1].pos)
			p->g[o++] = p->g[i];
	p->r = o;
	return 0;
}

/* The positions from count - r on that stay, into p->mpos (h of them). */
static int
plan_movers(struct store_txn *t, uint32_t count, struct rmplan *p)
{
	uint32_t nn = count - p->r, pos, j = 0, m = 0;

	for (p->h = 0; p->h < p->r && p->g[p->h].pos < nn; p->h++)
		;
	j = p->h;
	for (pos = nn; pos < count; pos++) {
		if (j < p->r && p->g[j].pos == pos) {
			j++;
			continue;
		}
		if (m == p->h)
			break;
		p->mpos[m++] = pos;
	}
	if (m != p->h) {
		rec_corrupt(t, "vector positions");
		return -1;
	}
	return 0;
}

/* The movers' entries of kd copied into out (h of kd->esz bytes). */
static int
plan_copy(struct store_txn *t, const struct kind *kd, uint8_t *k,
    size_t plen, const struct rmplan *p, uint8_t *out)
{
	const uint8_t *e = NULL;
	uint32_t i, s, cur = UINT32_MAX;
	long n = 0;
	MDB_val v;

	for (i = 0; i < p->h; i++) {
		if ((s = p->mpos[i] / kd->per) != cur) {
			if ((n = seg_read(t, kd, k, plen, s, &v, &e)) < 0)
				return -1;
			cur = s;
		}
		if (p->mpos[i] % kd->per >= (uint32_t)n) {
			rec_corrupt(t, kd->what);
			return -1;
		}
		memcpy(out + (size_t)i * kd->esz, e + (p->mpos[i] % kd->per) *
		    kd->esz, kd->esz);
	}
	return 0;
}

/* kd cut to nn of count, the movers' entries (in) written into the holes. */
static void
plan_apply(struct store_txn *t, const struct kind *kd, uint8_t *k,
    size_t plen, uint32_t count, struct rmplan *p, const uint8_t *in)
{
	uint32_t i;

	seg_cut(t, kd, k, plen, count - p->r, count, &p->tl.g);
	p->tl.open = 0;
	for (i = 0; i < p->h && !t->err; i++)
		tail_set(t, kd, k, plen, &p->tl, p->g[i].pos,
		    in + (size_t)i * kd->esz);
	tail_flush(t, kd, k, plen, &p->tl);
}

/* The removed chunks' records deleted, the movers' given their holes. */
static void
plan_records(struct store_txn *t, uint8_t *k, size_t plen,
    const struct shape *sh, const struct rmplan *p)
{
	uint32_t i;

	for (i = 0; i < p->r && !t->err; i++)
		db_del(t, t->st->kb_vecs, k, rec_key(k, plen, p->g[i].id),
		    "delete vector");
	for (i = 0; i < p->h && !t->err; i++)
		pos_put(t, k, rec_key(k, plen, proto_get_be64(p->mcodes +
		    (i + 1) * sh->cesz - 8)), p->g[i].pos);
}

/* Room for a plan of n ids at most: 0, or -1 (t failed). */
static int
plan_alloc(struct store_txn *t, const struct shape *sh, uint32_t n,
    struct rmplan *p)
{
	memset(p, 0, sizeof(*p));
	p->g = calloc(n, sizeof(*p->g));
	p->mpos = calloc(n, sizeof(*p->mpos));
	p->mcodes = malloc(n * sh->cesz);
	p->mq8 = malloc(n * sh->qesz);
	if (p->g == NULL || p->mpos == NULL || p->mcodes == NULL ||
	    p->mq8 == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	return 0;
}

int
kb_vec_remove_many(struct store_txn *t, const char *org, uint32_t n,
    const uint64_t *ids, uint32_t *removed)
{
	uint8_t k[KEY_MAX];
	struct kind codes, q8;
	struct rmplan p;
	struct shape sh;
	struct vmeta m;
	size_t plen;

	*removed = 0;
	memset(&p, 0, sizeof(p));
	if (!t->err && n > KB_VEC_PUT_MAX)
		store_fail(t, PROTO_E_INVALID, "vector: count out of bounds");
	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return -1;
	if (m.n == 0 || n == 0)
		return 0;
	shape_of(m.dim, &sh);
	kinds_of(t, &sh, &codes, &q8);
	if (plan_alloc(t, &sh, n, &p) < 0 ||
	    plan_gone(t, k, plen, m.n, n, ids, &p) < 0 || p.r == 0 ||
	    plan_movers(t, m.n, &p) < 0 ||
	    plan_copy(t, &codes, k, plen, &p, p.mcodes) < 0 ||
	    plan_copy(t, &q8, k, plen, &p, p.mq8) < 0)
		goto done;
	plan_apply(t, &codes, k, plen, m.n, &p, p.mcodes);
	plan_apply(t, &q8, k, plen, m.n, &p, p.mq8);
	plan_records(t, k, plen, &sh, &p);
	m.n -= p.r;
	meta_put(t, k, plen - 1, &m);
	*removed = p.r;
done:
	plan_free(&p);
	return t->err ? -1 : 0;
}

int
kb_vec_remove(struct store_txn *t, const char *org, uint64_t id)
{
	uint32_t removed;

	if (kb_vec_remove_many(t, org, 1, &id, &removed) < 0)
		return -1;
	return removed == 0;
}

/*
 * The last code segment of org (prefix in k and sk, plen bytes; m its
 * meta) and its chunks' position records deleted, copied first into g
 * (a delete may move the pages a view points into). Its count, or 0
 * with t failed.
 */
static uint32_t
clear_last(struct store_txn *t, const struct kind *codes, uint8_t *k,
    uint8_t *sk, size_t plen, const struct vmeta *m, struct seg *g)
{
	uint32_t s = (m->n - 1) / codes->per, i;
	const uint8_t *e;

	if (seg_load(t, codes, sk, plen, s, g) < 0)
		return 0;
	if (g->n != (m->n - 1) % codes->per + 1) {
		rec_corrupt(t, codes->what);
		return 0;
	}
	for (i = 0; i < g->n && !t->err; i++) {
		e = seg_entry(g, codes, i) + codes->esz - 8;
		db_del(t, t->st->kb_vecs, k, rec_key(k, plen,
		    proto_get_be64(e)), "delete vector");
	}
	db_del(t, codes->dbi, sk, seg_key(sk, plen, s), codes->what);
	return t->err ? 0 : g->n;
}

int
kb_vec_clear(struct store_txn *t, const char *org, uint32_t max, int *left)
{
	uint8_t k[KEY_MAX], sk[KEY_MAX];
	struct kind codes, q8;
	struct shape sh;
	struct vmeta m;
	struct seg *g = NULL;
	uint32_t done = 0, n, old;
	size_t plen;

	*left = 0;
	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, &m) < 0)
		return -1;
	if (m.n == 0 || max == 0) {
		*left = m.n > 0;
		return 0;
	}
	shape_of(m.dim, &sh);
	kinds_of(t, &sh, &codes, &q8);
	memcpy(sk, k, plen);
	old = m.n;
	if ((g = malloc(sizeof(*g))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	while (m.n > 0 && done < max &&
	    (n = clear_last(t, &codes, k, sk, plen, &m, g)) > 0) {
		m.n -= n;
		done += n;
	}
	seg_cut(t, &q8, sk, plen, m.n, old, g);
	meta_put(t, k, plen - 1, &m);
	free(g);
	*left = m.n > 0;
	return t->err ? -1 : 0;
}

/* Org's vector metadata into m: 0, or -1 (none read: t failed or no key). */
static int
org_meta(struct store_txn *t, const char *org, struct vmeta *m)
{
	uint8_t k[ORG_KEY_MAX];
	size_t plen;

	if (t->err || (plen = org_key(t, k, org)) == 0 ||
	    meta_get(t, k, plen - 1, m) < 0)
		return -1;
	return 0;
}

uint32_t
kb_vec_count(struct store_txn *t, const char *org)
{
	struct vmeta m;

	return org_meta(t, org, &m) < 0 ? 0 : m.n;
}

uint32_t
kb_vec_dim(struct store_txn *t, const char *org)
{
	struct vmeta m;

	return org_meta(t, org, &m) < 0 ? 0 : m.dim;
}

int
kb_vec_has(struct store_txn *t, const char *org, uint64_t id)
{
	uint8_t k[KEY_MAX];
	size_t plen;
	MDB_val v;
	int rc;

	if (t->err || (plen = org_key(t, k, org)) == 0)
		return -1;
	if ((rc = db_get(t, t->st->kb_vecs, k, rec_key(k, plen, id), &v,
	    "get vector")) < 0)
		return -1;
	return rc == 0;
}

/* ---------------------------------------------------------------- search */

/* A candidate: its Hamming distance, position and chunk id. */
struct cand {
	uint32_t dist, pos;
	uint64_t id;
};

/* The nearest codes so far, a max-heap on distance (the farthest on top). */
struct cands {
	struct cand *v;
	uint32_t n, cap;
};

static void
cand_swap(struct cands *c, uint32_t i, uint32_t j)
{
	struct cand x = c->v[i];

	c->v[i] = c->v[j];
	c->v[j] = x;
}

static void
cand_down(struct cands *c, uint32_t i)
{
	uint32_t j;

	for (;;) {
		j = 2 * i + 1;
		if (j >= c->n)
			return;
		if (j + 1 < c->n && c->v[j + 1].dist > c->v[j].dist)
			j++;
		if (c->v[i].dist >= c->v[j].dist)
			return;
		cand_swap(c, i, j);
		i = j;
	}
}

/*
 * Offers the entry e (its id in its last 8 bytes, esz) at pos, distance
 * d, when fl's ids hold it (kbindex.h: other sources' vectors, however
 * near, take no candidate's place).
 */
static void
cand_offer(struct cands *c, uint32_t d, uint32_t pos, const uint8_t *e,
    size_t esz, const struct kb_filter *fl)
{
	uint32_t i, p;

	if (c->n == c->cap && d >= c->v[0].dist)
		return;
	if (!kb_filter_allows(fl, proto_get_be64(e + esz - 8)))
		return;
	if (c->n < c->cap) {
		i = c->n++;
		c->v[i].dist = d;
		c->v[i].pos = pos;
		c->v[i].id = proto_get_be64(e + esz - 8);
		while (i > 0 && c->v[p = (i - 1) / 2].dist < c->v[i].dist) {
			cand_swap(c, i, p);
			i = p;
		}
		return;
	}
	c->v[0].dist = d;
	c->v[0].pos = pos;
	c->v[0].id = proto_get_be64(e + esz - 8);
	cand_down(c, 0);
}

/*
 * The Hamming distances of n codes (words u64s each, esz bytes apart)
 * from q into d. The body is inlined into a popcnt build and a plain
 * one: -O2 for any x86-64 has no popcnt instruction.
 */
static inline __attribute__((always_inline)) void
ham_body(const uint8_t *e, uint32_t n, size_t esz, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	uint64_t w;
	uint32_t i, j, s;

	for (i = 0; i < n; i++, e += esz) {
		s = 0;
		for (j = 0; j < words; j++) {
			memcpy(&w, e + 8 * j, 8);
			s += (uint32_t)__builtin_popcountll(w ^ q[j]);
		}
		d[i] = s;
	}
}

static void
ham_plain(const uint8_t *e, uint32_t n, size_t esz, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	ham_body(e, n, esz, words, q, d);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) static void
ham_popcnt(const uint8_t *e, uint32_t n, size_t esz, uint32_t words,
    const uint64_t *q, uint32_t *d)
{
	ham_body(e, n, esz, words, q, d);
}
#endif

typedef void (*ham_fn)(const uint8_t *, uint32_t, size_t, uint32_t,
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

/* The first bytes of a segment's value asked of memory ahead of its scan. */
static void
prefetch(const MDB_val *v)
{
	const char *p = v->mv_data;
	size_t off;

	for (off = 0; off < v->mv_size; off += 64)
		__builtin_prefetch(p + off);
}

/*
 * Every code of org (prefix k, plen bytes) offered to c (those fl's ids
 * hold), the next segment fetched while one is scanned (each is a page
 * of its own somewhere in the map). 0, or -1.
 */
static int
scan_codes(struct store_txn *t, const uint8_t *k, size_t plen,
    const struct shape *sh, const struct kind *kd, const uint64_t *q,
    const struct kb_filter *fl, struct cands *c)
{
	const uint8_t *e;
	uint32_t d[CSEG_N_MAX], i, base;
	ham_fn ham = ham_pick();
	MDB_cursor *cur;
	MDB_val ck, cv, nk, nv;
	long n;
	int rc, nrc;

	if ((cur = txn_seek(t, kd->dbi, k, plen, &ck, &cv, &rc)) == NULL)
		return -1;
	while (rc == 0 && ck.mv_size == plen + 4 &&
	    memcmp(ck.mv_data, k, plen) == 0) {
		if ((n = seg_view(t, &cv, kd, &e)) < 0)
			break;
		base = proto_get_be32((const uint8_t *)ck.mv_data + plen) *
		    sh->cper;
		if ((nrc = mdb_cursor_get(cur, &nk, &nv, MDB_NEXT)) == 0)
			prefetch(&nv);
		ham(e, (uint32_t)n, sh->cesz, sh->words, q, d);
		for (i = 0; i < (uint32_t)n; i++)
			cand_offer(c, d[i], base + i, e + i * sh->cesz,
			    sh->cesz, fl);
		rc = nrc;
		ck = nk;
		cv = nv;
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk vector segments");
	return t->err ? -1 : 0;
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* Four of q (int8) as floats. */
static inline v4f
q4(const int8_t *q)
{
	v4i i = { q[0], q[1], q[2], q[3] };

	return __builtin_convertvector(i, v4f);
}

/*
 * The cosine of x (normalised) with an int8 segment's entry e: in
 * vectors of four floats, four sums at a time (-O2 vectorises no loop
 * of unknown length; one chain of scalar additions took 4 times as
 * long, most of a search at 10,000 vectors). Built twice, picked as the
 * program loads: AVX2's conversions halve a search's rescoring (1.0 to
 * 0.55 ms at 10,000 vectors of 1,536).
 */
__attribute__((target_clones("avx2", "default"))) static double
cosine(const float *x, const uint8_t *e, uint32_t dim)
{
	const int8_t *q = (const int8_t *)(e + 4);
	v4f a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, xv[4];
	float s = 0;
	uint32_t i;

	for (i = 0; i + 16 <= dim; i += 16) {
		memcpy(xv, x + i, sizeof(xv));
		a += xv[0] * q4(q + i);
		b += xv[1] * q4(q + i + 4);
		c += xv[2] * q4(q + i + 8);
		d += xv[3] * q4(q + i + 12);
	}
	for (; i < dim; i++)
		s += x[i] * q[i];
	a += b + c + d;
	return ((double)a[0] + a[1] + a[2] + a[3] + s) *
	    bits_f32(proto_get_be32(e));
}

static int
pos_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* 1 when chunk id at score s would enter the k best in hits (n so far). */
static int
hit_enters(const struct kb_hit *hits, size_t n, unsigned k, uint64_t id,
    double s)
{
	return n < k || s > hits[0].score || (s == hits[0].score &&
	    id < hits[0].id);
}

/* Offers chunk id at score s to the k best in hits (n so far). */
static void
hit_offer(struct kb_hit *hits, size_t *n, unsigned k, uint64_t id,
    double s)
{
	size_t j;

	if (*n < k) {
		hits[*n].id = id;
		hits[(*n)++].score = s;
		if (*n == k)
			for (j = k / 2 + 1; j-- > 0;)
				kb_hit_sift(hits, (uint32_t)*n, (uint32_t)j);
	} else if (s > hits[0].score || (s == hits[0].score &&
	    id < hits[0].id)) {
		hits[0].id = id;
		hits[0].score = s;
		kb_hit_sift(hits, (uint32_t)*n, 0);
	}
}

/*
 * The candidates rescored with their int8 vectors (in position order: a
 * segment read once), the k best that fl keeps (NULL: any) into hits,
 * best first: how many. -1 with t failed.
 */
static long
rescore(struct store_txn *t, uint8_t *k, size_t plen, const float *x,
    const struct kind *kd, uint32_t dim, struct cands *c,
    const struct kb_filter *fl, unsigned kk, struct kb_hit *hits)
{
	const uint8_t *e = NULL;
	uint32_t i, s, cur = UINT32_MAX;
	size_t n = 0;
	long sn = 0;
	double cs;
	int keep;
	MDB_val v;

	qsort(c->v, c->n, sizeof(c->v[0]), pos_cmp);
	for (i = 0; i < c->n; i++) {
		if ((s = c->v[i].pos / kd->per) != cur) {
			if ((sn = seg_read(t, kd, k, plen, s, &v, &e)) < 0)
				return -1;
			cur = s;
		}
		if (c->v[i].pos % kd->per >= (uint32_t)sn) {
			rec_corrupt(t, kd->what);
			return -1;
		}
		cs = cosine(x, e + (c->v[i].pos % kd->per) * kd->esz, dim);
		if (!hit_enters(hits, n, kk, c->v[i].id, cs))
			continue;
		if (fl != NULL && (keep = fl->keep(t, c->v[i].id,
		    fl->arg)) != 1) {
			if (keep < 0)
				return -1;
			continue;
		}
		hit_offer(hits, &n, kk, c->v[i].id, cs);
	}
	qsort(hits, n, sizeof(hits[0]), kb_hit_cmp);
	return (long)n;
}

int
kb_vec_search(struct store_txn *t, const char *org, const float *q,
    uint32_t dim, unsigned k, const struct kb_filter *fl,
    struct kb_hit *hits, size_t *n)
{
	uint8_t key[KEY_MAX];
	uint64_t qcode[WORDS_MAX];
	struct cands c = { 0 };
	struct kind codes, q8;
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
	kinds_of(t, &sh, &codes, &q8);
	c.cap = m.n < KB_VEC_CANDIDATES ? m.n : KB_VEC_CANDIDATES;
	if ((x = malloc(dim * sizeof(*x))) == NULL ||
	    (c.v = calloc(c.cap, sizeof(*c.v))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto done;
	}
	if (normalise(t, q, dim, x) < 0)
		goto done;
	sign_code(x, &sh, (uint8_t *)qcode);
	if (scan_codes(t, key, plen, &sh, &codes, qcode, fl, &c) < 0 ||
	    (got = rescore(t, key, plen, x, &q8, dim, &c, fl, k,
	    hits)) < 0)
		goto done;
	*n = (size_t)got;
done:
	free(x);
	free(c.v);
	return t->err ? -1 : 0;
}

/* ------------------------------------------------------------ spaces */

const char *
kb_vec_space(const char *org, const char *space,
    char buf[KB_VEC_NAME_MAX + 1])
{
	size_t i;

	if (space == NULL || space[0] == '\0')
		return org;
	if (strlen(space) != ST_KB_SPACE_HEX)
		return NULL;
	for (i = 0; i < ST_KB_SPACE_HEX; i++)
		if (proto_hex_digit(space[i]) < 0)
			return NULL;
	if (snprintf(buf, KB_VEC_NAME_MAX + 1, "%s%c%s", org, KB_VEC_SPACE_SEP,
	    space) > KB_VEC_NAME_MAX)
		return NULL;
	return buf;
}

int
kb_vec_remove_spaces(struct store_txn *t, const char *org, uint32_t n,
    const uint64_t *ids)
{
	char names[KB_VEC_SPACES_SEEN][KB_VEC_NAME_MAX + 1];
	uint8_t probe[KB_VEC_NAME_MAX + 1];
	size_t plen = strlen(org), i, nn = 0;
	uint32_t removed;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (t->err || n == 0)
		return t->err ? -1 : 0;
	if (kb_vec_remove_many(t, org, n, ids, &removed) < 0)
		return -1;
	/* Its other spaces: the kb_vecmeta keys org~... */
	if (plen + 1 > KB_VEC_NAME_MAX)
		return 0;
	memcpy(probe, org, plen);
	probe[plen] = KB_VEC_SPACE_SEP;
	if ((cur = txn_seek(t, t->st->kb_vecmeta, probe, plen + 1, &k, &v,
	    &rc)) == NULL)
		return -1;
	while (rc == 0 && nn < KB_VEC_SPACES_SEEN && k.mv_size > plen + 1 &&
	    k.mv_size <= KB_VEC_NAME_MAX &&
	    memcmp(k.mv_data, probe, plen + 1) == 0) {
		memcpy(names[nn], k.mv_data, k.mv_size);
		names[nn++][k.mv_size] = '\0';
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk vector spaces"), -1;
	for (i = 0; i < nn && !t->err; i++)
		(void)kb_vec_remove_many(t, names[i], n, ids, &removed);
	return t->err ? -1 : 0;
}
