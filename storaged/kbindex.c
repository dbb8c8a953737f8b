/*
 * The knowledge base's lexical index (see kbindex.h): a chunk's words
 * counted per field and written as postings, removed the same way (its
 * words analysed again: the analysis is deterministic within a build,
 * and the index is made again at open by a build whose analysis differs
 * from the one that made it: kb_reindex), and a search
 * scored with BM25F from the postings alone, the query terms' postings
 * walked side by side in chunk id order (MaxScore skipping what cannot
 * reach the best), the best KB_RERANK_MAX kept in a heap, then read
 * back (their URL, their query words' positions) and scored again by
 * kbrank.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "kbindex.h"
#include "kbusage.h"
#include "kbvec.h"
#include "kbrank.h"
#include "log.h"
#include "outbox.h"
#include "sha256.h"
#include "util.h"

#define KB_SEQ_KEY	"kb_seq"
/* meta: the version byte, kb_fingerprint of the analysis of the index. */
#define KB_ANALYSIS_KEY	"kb_analysis"
/*
 * meta, while the index is being made again: the version byte,
 * kb_fingerprint of the analysis it is made with, u64 the last chunk
 * indexed again (0: none yet).
 */
#define KB_REINDEX_KEY	"kb_reindex"
#define KB_REINDEX_LEN	(1 + KB_FINGERPRINT_LEN + 8)
/*
 * While it is made again at a start: systemd told every 5 s that the
 * start goes on, its timeout 60 s on from then (EXTEND_TIMEOUT_USEC).
 */
#define KB_REINDEX_ALIVE_MS	5000
#define KB_REINDEX_EXTEND_US	"60000000"
#define KB_FIELDS	3		/* title, headings, text */
#define KB_TERM_MAX	64		/* bytes: analyze.h's bound */
#define KB_POST_LEN	(2 * 2 * KB_FIELDS)	/* u16 counts, u16 lengths */
/* Word positions a posting keeps at most, and their most bytes. */
#define KB_POS_MAX	64
#define KB_POS_BYTES	(5 * KB_POS_MAX)
/* Positions between the headings' last word and the text's first. */
#define KB_POS_GAP	8
#define KB_STATS_LEN	(4 + 8 * KB_FIELDS)
#define KB_KEY_MAX	(ST_WHO_ORG_MAX + 1 + KB_TERM_MAX + 1 + 8)
#define KB_SRC_KEY_LEN	(ST_KB_SOURCE_ID_LEN + 1 + 8)
/* Postings stepped over before a seek descends the tree instead. */
#define KB_SEEK_STEPS	4
/* Postings of one term read at most by a search. */
#define KB_POSTINGS_MAX	200000

/*
 * BM25F: a field's weight and length normalisation, and k1. Titles and
 * headings name what a chunk is about in few words.
 */
static const double kb_weight[KB_FIELDS] = { 3.0, 2.0, 1.0 };
static const double kb_b[KB_FIELDS] = { 0.5, 0.5, 0.75 };
#define KB_K1		1.2

/*
 * One distinct term of a text and its count in each field; while the
 * text is read, one occurrence and its position (headings and text one
 * sequence, the title none: UINT32_MAX), then its positions pos[pfirst]
 * to pos[pfirst + pn - 1], ascending.
 */
struct kb_term {
	char t[KB_TERM_MAX];
	uint8_t len;
	uint16_t tf[KB_FIELDS];
	uint32_t at, pfirst, pn;
};

struct kb_terms {
	struct kb_term *v;
	size_t n, cap;
	uint32_t *pos;			/* after terms_fold */
	int field;
	int oom;
	uint32_t base, next;		/* the field's first position, the
					   position after the last word */
	uint32_t words[KB_FIELDS];	/* terms emitted per field */
};

struct kb_stats {
	uint32_t n;
	uint64_t words[KB_FIELDS];
};

static uint16_t
cap16(uint32_t n)
{
	return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

/* ------------------------------------------------------- a text's terms */

static int
terms_emit(void *arg, const char *term, size_t tlen, uint32_t pos)
{
	struct kb_terms *ts = arg;
	struct kb_term *nv;

	if (tlen == 0 || tlen > KB_TERM_MAX)
		return 0;
	ts->words[ts->field]++;
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? 2 * ts->cap : 64;
		if ((nv = reallocarray(ts->v, ts->cap, sizeof(*nv))) == NULL) {
			ts->oom = 1;
			return -1;
		}
		ts->v = nv;
	}
	memset(&ts->v[ts->n], 0, sizeof(ts->v[ts->n]));
	memcpy(ts->v[ts->n].t, term, tlen);
	ts->v[ts->n].len = (uint8_t)tlen;
	ts->v[ts->n].tf[ts->field] = 1;
	ts->v[ts->n].at = UINT32_MAX;
	if (ts->field > 0 && pos < UINT32_MAX - ts->base - 1) {
		ts->v[ts->n].at = ts->base + pos;
		if (ts->base + pos + 1 > ts->next)
			ts->next = ts->base + pos + 1;
	}
	ts->n++;
	return 0;
}

static int
term_cmp(const void *a, const void *b)
{
	const struct kb_term *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->t, y->t, n);

	return c != 0 ? c : (int)x->len - (int)y->len;
}

/* By term, then position. */
static int
term_at_cmp(const void *a, const void *b)
{
	const struct kb_term *x = a, *y = b;
	int c = term_cmp(a, b);

	if (c != 0 || x->at == y->at)
		return c;
	return x->at < y->at ? -1 : 1;
}

static void
terms_free(struct kb_terms *ts)
{
	free(ts->v);
	free(ts->pos);
	ts->v = NULL;
	ts->pos = NULL;
}

/*
 * Sorts ts and folds equal terms into one, their counts added and their
 * positions listed. 0, or -1 out of memory.
 */
static int
terms_fold(struct kb_terms *ts)
{
	size_t i, o = 0;
	int f;

	if (ts->n == 0)
		return 0;
	qsort(ts->v, ts->n, sizeof(ts->v[0]), term_at_cmp);
	if ((ts->pos = reallocarray(NULL, ts->n, sizeof(*ts->pos))) == NULL)
		return -1;
	for (i = 0; i < ts->n; i++)
		ts->pos[i] = ts->v[i].at;
	ts->v[0].pfirst = 0;
	ts->v[0].pn = ts->v[0].at != UINT32_MAX;
	for (i = 1; i < ts->n; i++) {
		if (term_cmp(&ts->v[o], &ts->v[i]) == 0) {
			for (f = 0; f < KB_FIELDS; f++)
				ts->v[o].tf[f] = cap16((uint32_t)ts->v[o].tf[f] +
				    ts->v[i].tf[f]);
			ts->v[o].pn += ts->v[i].at != UINT32_MAX;
			continue;
		}
		ts->v[++o] = ts->v[i];
		ts->v[o].pfirst = (uint32_t)i;
		ts->v[o].pn = ts->v[i].at != UINT32_MAX;
	}
	ts->n = o + 1;
	return 0;
}

/*
 * The distinct terms of chunk c's three fields, analysed as its
 * language. 0, or -1 with t failed (out of memory).
 */
static int
chunk_terms(struct store_txn *t, const struct st_kbchunk *c,
    struct kb_terms *ts)
{
	const char *field[KB_FIELDS] = { c->title, c->headings, c->text };
	struct analyzer *an;
	uint32_t left = KB_TERMS_MAX;
	int f, got;

	memset(ts, 0, sizeof(*ts));
	if ((an = analyzer_new(c->lang)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	for (f = 0; f < KB_FIELDS && left > 0; f++) {
		ts->field = f;
		ts->base = f == 2 && ts->next > 0 ? ts->next + KB_POS_GAP : 0;
		got = analyze(an, field[f] ? field[f] : "",
		    field[f] ? strlen(field[f]) : 0, 0, left, terms_emit, ts);
		if (got < 0) {
			ts->oom = 1;	/* emit's, or the stemmer's */
			break;
		}
		left -= (uint32_t)got;
	}
	analyzer_free(an);
	if (ts->oom || terms_fold(ts) < 0) {
		terms_free(ts);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- keys */

/* org NUL term NUL, then the id when there is one: the key's length. */
static size_t
post_key(uint8_t k[KB_KEY_MAX], const char *org, const char *term,
    size_t tlen, const uint64_t *id)
{
	size_t olen = strlen(org), n = 0;

	memcpy(k, org, olen);
	n = olen;
	k[n++] = 0;
	memcpy(k + n, term, tlen);
	n += tlen;
	k[n++] = 0;
	if (id != NULL) {
		proto_put_be64(k + n, *id);
		n += 8;
	}
	return n;
}

static void
src_key(uint8_t k[KB_SRC_KEY_LEN], const char *source, uint64_t id)
{
	memset(k, 0, KB_SRC_KEY_LEN);
	memcpy(k, source, strnlen(source, ST_KB_SOURCE_ID_LEN));
	proto_put_be64(k + ST_KB_SOURCE_ID_LEN + 1, id);
}

/* ---------------------------------------------------------- statistics */

/* org's statistics into s (zero when it has none). 0, or -1. */
static int
stats_get(struct store_txn *t, const char *org, struct kb_stats *s)
{
	const uint8_t *p;
	MDB_val v;
	int rc, f;

	memset(s, 0, sizeof(*s));
	if ((rc = db_get(t, t->st->kb_stats, org, strlen(org), &v,
	    "get knowledge stats")) != 0)
		return rc < 0 ? -1 : 0;
	if (v.mv_size != KB_STATS_LEN) {
		rec_corrupt(t, "knowledge stats");
		return -1;
	}
	p = v.mv_data;
	s->n = proto_get_be32(p);
	for (f = 0; f < KB_FIELDS; f++)
		s->words[f] = proto_get_be64(p + 4 + 8 * f);
	return 0;
}

static void
stats_put(struct store_txn *t, const char *org, const struct kb_stats *s)
{
	uint8_t v[KB_STATS_LEN];
	int f;

	if (s->n == 0) {
		db_del_quiet(t, t->st->kb_stats, org, strlen(org),
		    "delete knowledge stats");
		return;
	}
	proto_put_be32(v, s->n);
	for (f = 0; f < KB_FIELDS; f++)
		proto_put_be64(v + 4 + 8 * f, s->words[f]);
	db_put(t, t->st->kb_stats, org, strlen(org), v, sizeof(v),
	    "put knowledge stats");
}

/*
 * A term's count that would leave 0 to UINT32_MAX is held at the bound,
 * logged once a process: the index does not match its chunks (an
 * analysis that changed under it), and a count wrapped would make the
 * term's idf nonsense.
 */
static void
df_held(const char *org, int d)
{
	static int logged;

	if (logged)
		return;
	logged = 1;
	log_warnx("knowledge index: a term's count of chunks of %s would go "
	    "%s: held (the index does not match its chunks)", org,
	    d < 0 ? "below zero" : "past its bound");
}

/* Adds d (1 or -1) to term's count of chunks in org, held within bounds. */
static void
df_add(struct store_txn *t, const char *org, const struct kb_term *term,
    int d)
{
	uint8_t k[KB_KEY_MAX], v[4];
	uint32_t df = 0;
	size_t klen;
	MDB_val cur;
	int rc;

	klen = post_key(k, org, term->t, term->len, NULL) - 1;
	if ((rc = db_get(t, t->st->kb_terms, k, klen, &cur,
	    "get knowledge term")) < 0)
		return;
	if (rc == 0) {
		if (cur.mv_size != 4) {
			rec_corrupt(t, "knowledge term");
			return;
		}
		df = proto_get_be32(cur.mv_data);
	}
	if ((d < 0 && df == 0) || (d > 0 && df == UINT32_MAX)) {
		df_held(org, d);
		return;
	}
	if (d < 0 && df == 1) {
		db_del_quiet(t, t->st->kb_terms, k, klen,
		    "delete knowledge term");
		return;
	}
	proto_put_be32(v, d < 0 ? df - 1 : df + 1);
	db_put(t, t->st->kb_terms, k, klen, v, sizeof(v),
	    "put knowledge term");
}

/* ------------------------------------------------------ add and remove */

/*
 * A posting: the term's counts and the fields' lengths, then its first
 * KB_POS_MAX positions (headings and text), each the difference from
 * the one before as a varint (7 bits a byte, low first). Its length.
 */
static size_t
post_value(uint8_t v[KB_POST_LEN + KB_POS_BYTES], const struct kb_term *term,
    const uint32_t words[KB_FIELDS], const uint32_t *pos)
{
	uint32_t i, prev = 0, d;
	size_t n = KB_POST_LEN;
	int f;

	for (f = 0; f < KB_FIELDS; f++) {
		proto_put_be16(v + 2 * f, term->tf[f]);
		proto_put_be16(v + 2 * (KB_FIELDS + f), cap16(words[f]));
	}
	for (i = 0; i < term->pn && i < KB_POS_MAX; i++) {
		d = pos[term->pfirst + i] - prev;
		prev = pos[term->pfirst + i];
		for (; d >= 0x80; d >>= 7)
			v[n++] = (uint8_t)(d | 0x80);
		v[n++] = (uint8_t)d;
	}
	return n;
}

/*
 * Whether the index is being made again (kb_reindex): 1 with *last the
 * last chunk indexed again so far (those after it are not in the index
 * yet) and, when fp is not NULL, the fingerprint it is made with in fp;
 * 0 not (*last 0); -1 t failed.
 */
static int
reindex_at(struct store_txn *t, uint8_t *fp, uint64_t *last)
{
	const uint8_t *p;
	MDB_val v;
	int rc;

	*last = 0;
	if ((rc = db_get(t, t->st->meta, KB_REINDEX_KEY,
	    strlen(KB_REINDEX_KEY), &v, "get knowledge reindex")) != 0)
		return rc < 0 ? -1 : 0;
	p = v.mv_data;
	if (v.mv_size != KB_REINDEX_LEN || p[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "knowledge reindex");
		return -1;
	}
	if (fp != NULL)
		memcpy(fp, p + 1, KB_FINGERPRINT_LEN);
	*last = proto_get_be64(p + 1 + KB_FINGERPRINT_LEN);
	return 1;
}

/*
 * Chunk id of c indexed by its terms ts (chunk_terms'): a posting each,
 * each term's count and c's organisation's statistics. Errors in t.
 */
static void
chunk_index(struct store_txn *t, const struct st_kbchunk *c, uint64_t id,
    const struct kb_terms *ts)
{
	uint8_t k[KB_KEY_MAX], v[KB_POST_LEN + KB_POS_BYTES];
	struct kb_stats s;
	size_t i, vlen;
	int f;

	if (stats_get(t, c->org, &s) < 0)
		return;
	for (i = 0; i < ts->n && !t->err; i++) {
		vlen = post_value(v, &ts->v[i], ts->words, ts->pos);
		db_put(t, t->st->kb_post, k,
		    post_key(k, c->org, ts->v[i].t, ts->v[i].len, &id), v,
		    vlen, "put knowledge posting");
		df_add(t, c->org, &ts->v[i], 1);
	}
	s.n++;
	for (f = 0; f < KB_FIELDS; f++)
		s.words[f] += ts->words[f];
	stats_put(t, c->org, &s);
}

/*
 * Before the first chunk goes in: meta records this build's analysis as
 * the index's (an open with no chunk works it out for nothing, kb_reindex,
 * and may leave another's). 0, or -1 with t failed.
 */
static int
analysis_first(struct store_txn *t)
{
	uint8_t rec[1 + KB_FINGERPRINT_LEN];
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, t->st->kb_chunks, &ms)) != 0)
		return txn_lmdb(t, rc, "count knowledge chunks"), -1;
	if (ms.ms_entries > 0)
		return 0;
	rec[0] = ST_RECORD_VERSION;
	if (kb_fingerprint(rec + 1) < 0)
		return store_fail(t, PROTO_E_INTERNAL, "the text analysis's "
		    "fingerprint: out of memory"), -1;
	db_put(t, t->st->meta, KB_ANALYSIS_KEY, strlen(KB_ANALYSIS_KEY), rec,
	    sizeof(rec), "put knowledge analysis");
	return t->err ? -1 : 0;
}

/*
 * What chunk c (id, its terms ts) takes beside its record: its source
 * entry and its postings (chunk_index's), each an entry (KB_ENTRY).
 */
static uint64_t
chunk_bytes(const struct st_kbchunk *c, uint64_t id,
    const struct kb_terms *ts)
{
	uint8_t k[KB_KEY_MAX], v[KB_POST_LEN + KB_POS_BYTES];
	uint64_t n = KB_ENTRY(KB_SRC_KEY_LEN, 0);
	size_t i;

	for (i = 0; i < ts->n; i++)
		n += KB_ENTRY(post_key(k, c->org, ts->v[i].t, ts->v[i].len,
		    &id), post_value(v, &ts->v[i], ts->words, ts->pos));
	return n;
}

int
kb_chunk_add(struct store_txn *t, struct st_kbchunk *c, uint64_t *id)
{
	uint64_t bytes;

	return kb_chunk_add_bytes(t, c, id, &bytes);
}

int
kb_chunk_add_bytes(struct store_txn *t, struct st_kbchunk *c, uint64_t *id,
    uint64_t *bytes)
{
	uint8_t sk[KB_SRC_KEY_LEN], ik[8];
	struct kb_terms ts;
	const char *why;
	uint64_t last;
	int making;

	*bytes = 0;
	if (t->err)
		return -1;
	if (c->org[0] == '\0' || !st_kbsource_id_valid(c->source_id))
		return store_fail(t, PROTO_E_INVALID,
		    "chunk: no organisation or source"), -1;
	if (chunk_terms(t, c, &ts) < 0)
		return -1;
	c->len_title = ts.words[0];
	c->len_headings = ts.words[1];
	c->len_text = ts.words[2];
	c->created_at = store_now(t->st);
	if ((why = rl_invalid(&st_kbchunk_layout, c)) != NULL) {
		terms_free(&ts);
		return store_fail(t, PROTO_E_INVALID, why), -1;
	}
	if ((making = reindex_at(t, NULL, &last)) < 0 ||
	    (!making && analysis_first(t) < 0) ||
	    (*id = outq_seq_next(t, KB_SEQ_KEY)) == 0) {
		terms_free(&ts);
		return -1;
	}
	proto_put_be64(ik, *id);
	rec_put_rows(t, t->st->kb_chunks, ik, sizeof(ik), &st_kbchunk_layout,
	    c, "put knowledge chunk");
	*bytes = kb_rec_bytes(&st_kbchunk_layout, c, sizeof(ik)) +
	    chunk_bytes(c, *id, &ts);
	src_key(sk, c->source_id, *id);
	db_put(t, t->st->kb_source, sk, sizeof(sk), "", 0,
	    "put knowledge source entry");
	/* An index being made again indexes it: it is past its last chunk. */
	if (!t->err && !making)
		chunk_index(t, c, *id, &ts);
	terms_free(&ts);
	return t->err ? -1 : 0;
}

static int source_ids(struct store_txn *, const char *, uint64_t *, size_t,
    size_t *);

int
kb_chunk_bytes(struct store_txn *t, uint64_t id, uint64_t *bytes)
{
	struct st_kbchunk c;
	struct kb_terms ts;
	int rc;

	*bytes = 0;
	if (t->err)
		return -1;
	if ((rc = kb_chunk_get(t, id, &c)) != 0)
		return rc;
	if (chunk_terms(t, &c, &ts) == 0) {
		*bytes = kb_rec_bytes(&st_kbchunk_layout, &c, 8) +
		    chunk_bytes(&c, id, &ts);
		terms_free(&ts);
	}
	st_kbchunk_free(&c);
	return t->err ? -1 : 0;
}

int
kb_source_chunks_bytes(struct store_txn *t, const char *source,
    uint64_t *bytes, uint32_t *n)
{
	uint64_t ids[256], b;
	size_t got, i;
	int more;

	*bytes = 0;
	*n = 0;
	if (t->err || (more = source_ids(t, source, ids, 256, &got)) < 0)
		return -1;
	for (i = 0; i < got; i++)
		if (kb_chunk_bytes(t, ids[i], &b) == 0) {
			*bytes += b;
			(*n)++;
		}
	return t->err ? -1 : more;
}

int
kb_chunk_get(struct store_txn *t, uint64_t id, struct st_kbchunk *c)
{
	uint8_t ik[8];

	proto_put_be64(ik, id);
	return rec_load(t, t->st->kb_chunks, ik, sizeof(ik), &st_kbchunk_layout,
	    c, "knowledge chunk");
}

int
kb_chunk_who(struct store_txn *t, uint64_t id, struct st_kbchunk *c)
{
	uint8_t ik[8];

	proto_put_be64(ik, id);
	return rec_load_rows(t, t->st->kb_chunks, ik, sizeof(ik),
	    &st_kbchunk_layout, c, RL_ROW(ST_KBCHUNK_ROW_org) |
	    RL_ROW(ST_KBCHUNK_ROW_source_id), "knowledge chunk");
}

/*
 * Chunk c's (id) postings, its terms' counts and its part of the
 * statistics taken out, its words analysed again. Errors in t.
 */
static void
chunk_deindex(struct store_txn *t, const struct st_kbchunk *c, uint64_t id)
{
	uint8_t k[KB_KEY_MAX];
	struct kb_terms ts;
	struct kb_stats s;
	size_t i;
	int f;

	if (chunk_terms(t, c, &ts) < 0)
		return;
	if (stats_get(t, c->org, &s) < 0) {
		terms_free(&ts);
		return;
	}
	for (i = 0; i < ts.n && !t->err; i++) {
		db_del_quiet(t, t->st->kb_post, k,
		    post_key(k, c->org, ts.v[i].t, ts.v[i].len, &id),
		    "delete knowledge posting");
		df_add(t, c->org, &ts.v[i], -1);
	}
	terms_free(&ts);
	if (s.n > 0)
		s.n--;
	for (f = 0; f < KB_FIELDS; f++) {
		uint32_t w = f == 0 ? c->len_title : f == 1 ?
		    c->len_headings : c->len_text;
		s.words[f] = s.words[f] > w ? s.words[f] - w : 0;
	}
	stats_put(t, c->org, &s);
}

/*
 * Chunk id and its postings removed, its vector left (to the caller):
 * its organisation into org. 0, 1 when there is none, or -1.
 */
static int
chunk_unindex(struct store_txn *t, uint64_t id,
    char org[ST_WHO_ORG_MAX + 1])
{
	uint8_t sk[KB_SRC_KEY_LEN], ik[8];
	struct st_kbchunk c;
	uint64_t last;
	int rc;

	if ((rc = kb_chunk_get(t, id, &c)) != 0)
		return rc;
	/* Past the last chunk of an index being made again: not in it yet. */
	if ((rc = reindex_at(t, NULL, &last)) == 0 || (rc == 1 && id <= last))
		chunk_deindex(t, &c, id);
	src_key(sk, c.source_id, id);
	db_del_quiet(t, t->st->kb_source, sk, sizeof(sk),
	    "delete knowledge source entry");
	proto_put_be64(ik, id);
	db_del(t, t->st->kb_chunks, ik, sizeof(ik), "delete knowledge chunk");
	if (!t->err)
		memcpy(org, c.org, ST_WHO_ORG_MAX + 1);
	st_kbchunk_free(&c);
	return t->err ? -1 : 0;
}

int
kb_chunk_remove(struct store_txn *t, uint64_t id)
{
	char org[ST_WHO_ORG_MAX + 1];
	int rc;

	if ((rc = chunk_unindex(t, id, org)) != 0)
		return rc;
	/* Its vectors, in every space it has one. */
	return kb_vec_remove_spaces(t, org, 1, &id);
}

int
kb_chunks_remove(struct store_txn *t, const uint64_t *ids, uint32_t n)
{
	char org[ST_WHO_ORG_MAX + 1] = "";
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = chunk_unindex(t, ids[i], org)) < 0)
			return -1;
	/* Their vectors, each segment written once (one organisation's). */
	if (n > 0 && org[0] != '\0' &&
	    kb_vec_remove_spaces(t, org, n, ids) < 0)
		return -1;
	return t->err ? -1 : 0;
}

/*
 * The first max (or fewer) of source's chunk ids, ascending, into ids;
 * *n how many. 1 when it has more than those, 0 when not, or -1.
 */
static int
source_ids(struct store_txn *t, const char *source, uint64_t *ids,
    size_t max, size_t *n)
{
	uint8_t probe[KB_SRC_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, more;

	*n = 0;
	src_key(probe, source, 0);
	if ((cur = txn_seek(t, t->st->kb_source, probe, ST_KB_SOURCE_ID_LEN + 1,
	    &k, &v, &rc)) == NULL)
		return -1;
	while (rc == 0 && *n < max && k.mv_size == KB_SRC_KEY_LEN &&
	    memcmp(k.mv_data, probe, ST_KB_SOURCE_ID_LEN + 1) == 0) {
		ids[(*n)++] = proto_get_be64((uint8_t *)k.mv_data +
		    ST_KB_SOURCE_ID_LEN + 1);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	more = rc == 0 && k.mv_size == KB_SRC_KEY_LEN &&
	    memcmp(k.mv_data, probe, ST_KB_SOURCE_ID_LEN + 1) == 0;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk knowledge source"), -1;
	return more;
}

int
kb_source_clear(struct store_txn *t, const char *source, uint32_t max,
    int *left)
{
	uint64_t ids[256];
	uint32_t done = 0;
	size_t n;
	int rc;

	*left = 0;
	while (!t->err && done < max) {
		if ((rc = source_ids(t, source, ids, max - done < 256 ?
		    max - done : 256, &n)) < 0)
			return -1;
		*left = rc;
		if (kb_chunks_remove(t, ids, (uint32_t)n) < 0)
			return -1;
		done += (uint32_t)n;
		if (n == 0 || !*left)
			break;
	}
	return t->err ? -1 : 0;
}

uint32_t
kb_chunk_count(struct store_txn *t, const char *org)
{
	struct kb_stats s;

	return stats_get(t, org, &s) < 0 ? 0 : s.n;
}

/* ------------------------------------------------- made again at open */

int
kb_fingerprint(uint8_t out[KB_FINGERPRINT_LEN])
{
	uint8_t an[AN_FINGERPRINT_LEN], p[5 * 4];

	/* The index's own bounds on what it keeps of a chunk's terms. */
	proto_put_be32(p, KB_TERMS_MAX);
	proto_put_be32(p + 4, KB_TERM_MAX);
	proto_put_be32(p + 8, KB_FIELDS);
	proto_put_be32(p + 12, KB_POS_MAX);
	proto_put_be32(p + 16, KB_POS_GAP);
	if (analyze_fingerprint(an) < 0)
		return -1;
	return proto_sha256_two(an, sizeof(an), p, sizeof(p), out);
}

/*
 * meta's record of the analysis that made the index against rec: 0 the
 * same, 1 another, 2 none (a data directory from before the record), -1
 * t failed.
 */
static int
analysis_cmp(struct store_txn *t, const uint8_t rec[1 + KB_FINGERPRINT_LEN])
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, KB_ANALYSIS_KEY,
	    strlen(KB_ANALYSIS_KEY), &v, "get knowledge analysis")) != 0)
		return rc < 0 ? -1 : 2;
	return v.mv_size != 1 + KB_FINGERPRINT_LEN ||
	    memcmp(v.mv_data, rec, v.mv_size) != 0;
}

/* A batch of kb_reindex's ends: 0, or -1 logged. */
static int
reindex_commit(struct store_txn *t)
{
	if (store_commit(t) == 0)
		return 0;
	log_warnx("%s: the knowledge index made again: %s", t->st->dir,
	    t->errmsg != NULL ? t->errmsg : "failed");
	return -1;
}

/* meta's record that the index is made again with rec, up to chunk last. */
static void
reindex_mark(struct store_txn *t, const uint8_t rec[1 + KB_FINGERPRINT_LEN],
    uint64_t last)
{
	uint8_t v[KB_REINDEX_LEN];

	memcpy(v, rec, 1 + KB_FINGERPRINT_LEN);
	proto_put_be64(v + 1 + KB_FINGERPRINT_LEN, last);
	db_put(t, t->st->meta, KB_REINDEX_KEY, strlen(KB_REINDEX_KEY), v,
	    sizeof(v), "put knowledge reindex");
}

/*
 * The index emptied (postings, term counts, statistics), to be made
 * again with rec: from its first chunk, or done at once when there is
 * none (*todo 0). Errors in t.
 */
static void
reindex_empty(struct store_txn *t, const uint8_t rec[1 + KB_FINGERPRINT_LEN],
    int *todo)
{
	MDB_stat ms;
	int rc;

	if ((rc = db_drop(t, t->st->kb_post)) != 0 ||
	    (rc = db_drop(t, t->st->kb_terms)) != 0 ||
	    (rc = db_drop(t, t->st->kb_stats)) != 0 ||
	    (rc = mdb_stat(t->txn, t->st->kb_chunks, &ms)) != 0) {
		txn_lmdb(t, rc, "empty the knowledge index");
		return;
	}
	if ((*todo = ms.ms_entries > 0))
		reindex_mark(t, rec, 0);
	else {
		db_del_quiet(t, t->st->meta, KB_REINDEX_KEY,
		    strlen(KB_REINDEX_KEY), "delete knowledge reindex");
		db_put(t, t->st->meta, KB_ANALYSIS_KEY, strlen(KB_ANALYSIS_KEY),
		    rec, 1 + KB_FINGERPRINT_LEN, "put knowledge analysis");
	}
}

/*
 * kb_reindex's first batch: nothing to do (*todo 0) when meta records
 * rec as the index's analysis (*cmp 0, as analysis_cmp); else the index
 * made again from *last on: a making again with rec under way goes on
 * after its last chunk, any other starts over, emptied (reindex_empty).
 * 0, or -1 logged.
 */
static int
reindex_begin(struct store *st, const uint8_t rec[1 + KB_FINGERPRINT_LEN],
    int *cmp, int *todo, uint64_t *last)
{
	uint8_t fp[KB_FINGERPRINT_LEN];
	struct store_txn t;
	int rc;

	*todo = 0;
	store_begin(st, &t, 0);
	if (t.err == 0 && (*cmp = analysis_cmp(&t, rec)) > 0 &&
	    (rc = reindex_at(&t, fp, last)) >= 0) {
		if (rc == 1 && memcmp(fp, rec + 1, KB_FINGERPRINT_LEN) == 0)
			*todo = 1;
		else {
			*last = 0;
			reindex_empty(&t, rec, todo);
		}
	}
	return reindex_commit(&t);
}

/*
 * Chunk id indexed again by this build's analysis (the index emptied
 * before): its postings, term counts and statistics, and its record's
 * word counts when they changed. 0, or -1 with t failed.
 */
static int
chunk_reindex(struct store_txn *t, uint64_t id)
{
	struct st_kbchunk c;
	struct kb_terms ts;
	uint8_t ik[8];
	int rc;

	if ((rc = kb_chunk_get(t, id, &c)) != 0)
		return rc < 0 ? -1 : 0;
	if (chunk_terms(t, &c, &ts) == 0) {
		if (c.len_title != ts.words[0] ||
		    c.len_headings != ts.words[1] ||
		    c.len_text != ts.words[2]) {
			c.len_title = ts.words[0];
			c.len_headings = ts.words[1];
			c.len_text = ts.words[2];
			proto_put_be64(ik, id);
			rec_put_rows(t, t->st->kb_chunks, ik, sizeof(ik),
			    &st_kbchunk_layout, &c, "put knowledge chunk");
		}
		if (!t->err)
			chunk_index(t, &c, id, &ts);
		terms_free(&ts);
	}
	st_kbchunk_free(&c);
	return t->err ? -1 : 0;
}

/*
 * A batch of kb_reindex: the next KB_REINDEX_BATCH chunks after chunk
 * *last (0: from the first) indexed again with rec, *last the last of
 * them, recorded (reindex_mark); *n how many (0: none was left). 0, or
 * -1 logged.
 */
static int
reindex_step(struct store *st, const uint8_t rec[1 + KB_FINGERPRINT_LEN],
    uint64_t *last, uint32_t *n)
{
	uint8_t from[8], ids[KB_REINDEX_BATCH * 8];
	struct store_txn t;
	uint32_t i;

	proto_put_be64(from, *last);
	store_begin(st, &t, 0);
	if (txn_keys(&t, st->kb_chunks, "walk knowledge chunks", from,
	    sizeof(from), 1, 0, 8, ids, KB_REINDEX_BATCH, n) == 0)
		for (i = 0; i < *n && !t.err; i++)
			chunk_reindex(&t, proto_get_be64(ids + 8 * i));
	if (*n > 0) {
		*last = proto_get_be64(ids + 8 * (*n - 1));
		reindex_mark(&t, rec, *last);
	}
	return reindex_commit(&t);
}

/*
 * Tells systemd, at most every KB_REINDEX_ALIVE_MS (*next: when next),
 * that a start or a promotion working through the knowledge base (the
 * index made again, the quota's count: kbcount.c) goes on: the start's
 * timeout moved on, the watchdog fed (the loop does not turn meanwhile).
 */
void
kb_start_alive(long long *next)
{
	long long now = proto_mono_ms();

	if (now < *next)
		return;
	*next = now + KB_REINDEX_ALIVE_MS;
	proto_sd_notify("EXTEND_TIMEOUT_USEC=" KB_REINDEX_EXTEND_US
	    "\nWATCHDOG=1");
}

/*
 * No chunk, and no making again under way: nothing an analysis made, so
 * no fingerprint is worked out (some 15 ms at each start); the first
 * chunk added records it (analysis_first). 0 on an error: the caller
 * reads again.
 */
static int
nothing_indexed(struct store *st)
{
	struct store_txn t;
	uint64_t last;
	MDB_stat ms;
	int none;

	if (store_begin(st, &t, 1) != 0)
		return 0;
	none = mdb_stat(t.txn, st->kb_chunks, &ms) == 0 &&
	    ms.ms_entries == 0 && reindex_at(&t, NULL, &last) == 0;
	store_abort(&t);
	return none;
}

/*
 * The lexical index made again when meta does not record this build's
 * analysis as the one that made it (kb_fingerprint): a data directory
 * from before the record, or a build whose analysis changed (libstemmer
 * upgraded, langtab's or foldtab's tables edited). A chunk is removed
 * by analysing its text again: with another analysis, its old terms'
 * postings would stay forever, and the counts of terms it never had
 * would go down. Emptied in one batch, every chunk indexed again in
 * batches of KB_REINDEX_BATCH (a checkpoint may come between them: no
 * one record holds the whole index), each recording how far it went
 * (meta KB_REINDEX_KEY: a start cut short goes on from there; a chunk
 * added or removed meanwhile is indexed by the rest, or was not in the
 * index yet), then the analysis recorded. The vectors (kbvec.c) do not
 * hang on the analysis: kept. 0, or -1 logged.
 */
static int
kb_reindex(struct store *st)
{
	uint8_t rec[1 + KB_FINGERPRINT_LEN];
	struct store_txn t;
	uint64_t last = 0, from, done = 0;
	long long next = 0;
	uint32_t n;
	int cmp = 0, todo;

	if (nothing_indexed(st))
		return 0;
	rec[0] = ST_RECORD_VERSION;
	if (kb_fingerprint(rec + 1) < 0) {
		log_warnx("%s: the text analysis's fingerprint: out of memory, "
		    "or a stemmer libstemmer lacks", st->dir);
		return -1;
	}
	if (reindex_begin(st, rec, &cmp, &todo, &last) < 0)
		return -1;
	if (!todo)
		return 0;
	from = last;
	do {
		kb_start_alive(&next);
		if (reindex_step(st, rec, &last, &n) < 0)
			return -1;
		done += n;
	} while (n > 0);
	store_begin(st, &t, 0);
	db_del_quiet(&t, st->meta, KB_REINDEX_KEY, strlen(KB_REINDEX_KEY),
	    "delete knowledge reindex");
	db_put(&t, st->meta, KB_ANALYSIS_KEY, strlen(KB_ANALYSIS_KEY), rec,
	    sizeof(rec), "put knowledge analysis");
	if (reindex_commit(&t) < 0)
		return -1;
	log_info("made the knowledge index again%s: %llu chunks (%s)",
	    from > 0 ? ", on from where a start left it" : "",
	    (unsigned long long)done, cmp == 2 ? "the text analysis that "
	    "made it was not recorded" : "the text analysis changed");
	return 0;
}

const struct store_module kbindex_module = {
	.name = "knowledge index",
	.init_steps = kb_reindex,
};

/* ---------------------------------------------------------------- search */

/*
 * BM25F's length normalisation of each field, a + c * length, from the
 * organisation's averages: worked out once a search, since scoring
 * postings is most of a search's time.
 */
struct kb_norm {
	double a[KB_FIELDS], c[KB_FIELDS];
};

static void
norm_set(struct kb_norm *nm, const double avg[KB_FIELDS])
{
	int f;

	for (f = 0; f < KB_FIELDS; f++) {
		nm->a[f] = (1 - kb_b[f]) / kb_weight[f];
		nm->c[f] = kb_b[f] / avg[f] / kb_weight[f];
	}
}

/*
 * One posting's BM25F part, given the term's idf. Most postings have
 * the term in one field only: the others cost nothing.
 */
static double
post_score(const uint8_t *v, double idf, const struct kb_norm *nm)
{
	double tf = 0;
	unsigned n, len;
	int f;

	for (f = 0; f < KB_FIELDS; f++) {
		if ((n = (unsigned)v[2 * f] << 8 | v[2 * f + 1]) == 0)
			continue;
		len = (unsigned)v[2 * (KB_FIELDS + f)] << 8 |
		    v[2 * (KB_FIELDS + f) + 1];
		tf += n / (nm->a[f] + nm->c[f] * len);
	}
	return idf * tf / (KB_K1 + tf);
}

void
kb_hit_sift(struct kb_hit *h, uint32_t n, uint32_t i)
{
	struct kb_hit x;
	uint32_t c;

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

int
kb_hit_cmp(const void *a, const void *b)
{
	const struct kb_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* term's idf in org into *idf (0 when no chunk holds it). 0, or -1. */
static int
term_idf(struct store_txn *t, const char *org, const struct kb_term *term,
    const struct kb_stats *s, double *idf)
{
	uint8_t probe[KB_KEY_MAX];
	size_t plen = post_key(probe, org, term->t, term->len, NULL);
	uint32_t df = 0;
	MDB_val v;
	int rc;

	*idf = 0;
	if ((rc = db_get(t, t->st->kb_terms, probe, plen - 1, &v,
	    "get knowledge term")) != 0)
		return rc < 0 ? -1 : 0;
	if (v.mv_size == 4)
		df = proto_get_be32(v.mv_data);
	/*
	 * More chunks counted than the organisation has is an index that
	 * does not match its chunks (df_held): read as every chunk holding
	 * the term, not as n - df wrapped, which made the term the rarest
	 * of all (an idf of some 18).
	 */
	if (df > s->n)
		df = s->n;
	*idf = log(1 + (s->n - df + 0.5) / (df + 0.5));
	return 0;
}

/*
 * One query term's postings walked in chunk id order (the keys' order):
 * its cursor, its key prefix, the chunk it stands on (UINT64_MAX past
 * the last) and what it adds at most (ub: idf times its query count,
 * BM25's saturation staying under 1).
 */
struct kb_list {
	MDB_cursor *cur;
	uint8_t key[KB_KEY_MAX];
	size_t plen;
	uint64_t id;
	MDB_val v;
	uint32_t seen;
	double idf, qw, ub;
};

/* l's chunk from the cursor's last answer rc, k. 0, or -1 (t failed). */
static int
list_at(struct store_txn *t, struct kb_list *l, int rc, const MDB_val *k)
{
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk knowledge postings"), -1;
	if (rc != 0 || l->seen++ >= KB_POSTINGS_MAX ||
	    k->mv_size != l->plen + 8 || memcmp(k->mv_data, l->key,
	    l->plen) != 0 || l->v.mv_size < KB_POST_LEN)
		l->id = UINT64_MAX;
	else
		l->id = proto_get_be64((const uint8_t *)k->mv_data + l->plen);
	return 0;
}

/* Opens l on term's postings in org, at its first chunk. 0, or -1. */
static int
list_open(struct store_txn *t, const char *org, const struct kb_term *term,
    struct kb_list *l)
{
	MDB_val k;
	int rc;

	l->plen = post_key(l->key, org, term->t, term->len, NULL);
	if ((l->cur = txn_seek(t, t->st->kb_post, l->key, l->plen, &k, &l->v,
	    &rc)) == NULL)
		return -1;
	return list_at(t, l, rc, &k);
}

/* Moves l to its next chunk. 0, or -1. */
static int
list_next(struct store_txn *t, struct kb_list *l)
{
	MDB_val k;

	return list_at(t, l, mdb_cursor_get(l->cur, &k, &l->v, MDB_NEXT), &k);
}

/* Moves l to its first chunk at or after id. 0, or -1. */
static int
list_seek(struct store_txn *t, struct kb_list *l, uint64_t id)
{
	MDB_val k;
	int step;

	/*
	 * The chunk is often a few postings on, on the cursor's page: a
	 * step costs less than a descent from the root.
	 */
	for (step = 0; l->id < id && step < KB_SEEK_STEPS; step++)
		if (list_next(t, l) < 0)
			return -1;
	if (l->id >= id)
		return 0;
	proto_put_be64(l->key + l->plen, id);
	k.mv_size = l->plen + 8;
	k.mv_data = l->key;
	return list_at(t, l, mdb_cursor_get(l->cur, &k, &l->v, MDB_SET_RANGE),
	    &k);
}

/* Offers chunk id of score sc to the min-heap h of *n (room for m). */
static void
heap_offer(struct kb_hit *h, uint32_t *n, uint32_t m, uint64_t id, double sc)
{
	uint32_t i;

	if (*n < m) {
		h[(*n)++] = (struct kb_hit){ id, sc };
		if (*n == m)
			for (i = m / 2 + 1; i-- > 0;)
				kb_hit_sift(h, m, i);
	} else if (sc > h[0].score) {
		h[0] = (struct kb_hit){ id, sc };
		kb_hit_sift(h, m, 0);
	}
}

static int
id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
kb_filter_allows(const struct kb_filter *fl, uint64_t id)
{
	return fl == NULL || fl->ids == NULL ||
	    bsearch(&id, fl->ids, fl->nids, sizeof(id), id_cmp) != NULL;
}

int
kb_filter_sources(struct store_txn *t, struct kb_filter *fl,
    const char *const *sources, uint32_t n)
{
	size_t got, nids = 0;
	uint32_t i;
	int more = 0;

	fl->ids = NULL;
	fl->nids = 0;
	if (t->err)
		return -1;
	if ((fl->ids = malloc(KB_FILTER_IDS_MAX * sizeof(*fl->ids))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	for (i = 0; i < n && !more; i++, nids += got)
		if ((more = source_ids(t, sources[i], fl->ids + nids,
		    KB_FILTER_IDS_MAX - nids, &got)) < 0)
			break;
	if (more != 0) {
		free(fl->ids);
		fl->ids = NULL;
		return more < 0 ? -1 : 0;
	}
	qsort(fl->ids, nids, sizeof(*fl->ids), id_cmp);
	fl->nids = nids;
	return 0;
}

/*
 * 1 when chunk id of score sc would enter the min-heap h of nt (room
 * for m), fl's ids hold it and fl keeps it (its *asked-th question:
 * past KB_FILTER_MAX, no), else 0; -1 with t failed. With ids, only
 * the chunks of the sources kept are asked: those refused spend none.
 */
static int
heap_admits(struct store_txn *t, const struct kb_filter *fl,
    const struct kb_hit *h, uint32_t nt, uint32_t m, uint64_t id, double sc,
    uint32_t *asked)
{
	if (nt == m && sc <= h[0].score)
		return 0;
	if (fl == NULL)
		return 1;
	if (!kb_filter_allows(fl, id) || (*asked)++ >= KB_FILTER_MAX)
		return 0;
	return fl->keep(t, id, fl->arg);
}

/*
 * The first stage: the m best chunks of the n lists l by BM25F that fl
 * keeps (NULL: any) into top (best first), *nt how many. Document at a time with MaxScore (Turtle
 * and Flood 1995): the lists sorted by what they add at most, those
 * whose sum stays under the m-th best score so far cannot bring a chunk
 * in alone, so they are only looked up (a seek) for the chunks the
 * others bring, and only while the chunk can still enter. 0, or -1.
 */
static int
first_stage(struct store_txn *t, struct kb_list *l, size_t n,
    const struct kb_norm *nm, const struct kb_filter *fl, uint32_t m,
    struct kb_hit *top, uint32_t *nt)
{
	double cum[KB_QUERY_TERMS_MAX], theta = 0, sc;
	struct kb_list x;
	uint64_t d;
	size_t i, j, e = 0;
	uint32_t asked = 0;
	int rc;

	*nt = 0;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && l[j - 1].ub > l[j].ub; j--) {
			x = l[j];
			l[j] = l[j - 1];
			l[j - 1] = x;
		}
	for (i = 0; i < n; i++)
		cum[i] = l[i].ub + (i ? cum[i - 1] : 0);
	while (e < n && !t->err) {
		for (d = UINT64_MAX, i = e; i < n; i++)
			if (l[i].id < d)
				d = l[i].id;
		if (d == UINT64_MAX)
			break;
		sc = 0;
		for (i = e; i < n; i++)
			if (l[i].id == d) {
				sc += l[i].qw * post_score(l[i].v.mv_data,
				    l[i].idf, nm);
				if (list_next(t, &l[i]) < 0)
					return -1;
			}
		for (i = e; i-- > 0;) {
			if (*nt == m && sc + cum[i] <= theta)
				break;
			if (list_seek(t, &l[i], d) < 0)
				return -1;
			if (l[i].id == d)
				sc += l[i].qw * post_score(l[i].v.mv_data,
				    l[i].idf, nm);
		}
		if ((rc = heap_admits(t, fl, top, *nt, m, d, sc, &asked)) < 0)
			return -1;
		if (rc == 1)
			heap_offer(top, nt, m, d, sc);
		if (*nt == m) {
			theta = top[0].score;
			while (e < n && cum[e] <= theta)
				e++;
		}
	}
	qsort(top, *nt, sizeof(top[0]), kb_hit_cmp);
	return t->err ? -1 : 0;
}

/*
 * The query's distinct terms into ts (counts in tf[0]), in byte order,
 * all of them (terms_rarest keeps KB_QUERY_TERMS_MAX). 0, or -1.
 */
static int
query_terms(struct store_txn *t, const char *lang, const char *query,
    size_t qlen, struct kb_terms *ts)
{
	struct analyzer *an;

	memset(ts, 0, sizeof(*ts));
	if ((an = analyzer_new(lang)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	/*
	 * Stopwords are never indexed, so a query of stopwords alone finds
	 * nothing and is not searched with them. Every term of the query's
	 * ST_KB_QUERY_MAX bytes (a term and what ends it: 2 bytes or more),
	 * repeats and all, before the distinct ones are counted: a cap of
	 * 128 left a question's words after its 128th unsearched.
	 */
	if (analyze(an, query, qlen, 0, ST_KB_QUERY_MAX / 2 + 1, terms_emit,
	    ts) < 0)
		ts->oom = 1;	/* emit's, or the stemmer's */
	analyzer_free(an);
	if (ts->oom || terms_fold(ts) < 0) {
		terms_free(ts);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	}
	return 0;
}

/*
 * A query of more than KB_QUERY_TERMS_MAX distinct terms (ts, in byte
 * order) cut to its rarest in org (highest idf: those that tell its
 * chunks apart; a term no chunk holds last), kept in byte order: what a
 * long question is searched by does not hang on how its words sort.
 * 0, or -1 (ts freed).
 */
static int
terms_rarest(struct store_txn *t, const char *org, const struct kb_stats *s,
    struct kb_terms *ts)
{
	struct kb_hit *r;	/* a term's idf as the score, its place the id */
	struct kb_term *v;
	size_t i;

	if (ts->n <= KB_QUERY_TERMS_MAX)
		return 0;
	r = calloc(ts->n, sizeof(*r));
	v = calloc(KB_QUERY_TERMS_MAX, sizeof(*v));
	for (i = 0; r != NULL && v != NULL && i < ts->n && !t->err; i++) {
		r[i].id = i;
		(void)term_idf(t, org, &ts->v[i], s, &r[i].score);
	}
	if (!t->err && (r == NULL || v == NULL))
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (!t->err) {
		/* Rarest first (highest idf), then in byte order. */
		qsort(r, ts->n, sizeof(*r), kb_hit_cmp);
		for (i = 0; i < KB_QUERY_TERMS_MAX; i++)
			v[i] = ts->v[r[i].id];
		qsort(v, KB_QUERY_TERMS_MAX, sizeof(*v), term_cmp);
		memcpy(ts->v, v, KB_QUERY_TERMS_MAX * sizeof(*v));
		ts->n = KB_QUERY_TERMS_MAX;
	}
	free(r);
	free(v);
	if (t->err)
		terms_free(ts);
	return t->err ? -1 : 0;
}

/*
 * FNV-1a of url: its page's (or section's, with an anchor) identity
 * among a search's candidates.
 */
static uint64_t
page_hash(const char *s)
{
	return proto_fnv1a(PROTO_FNV_START, s, s != NULL ? strlen(s) : 0);
}

/* Occurrences of the query's terms in a search's candidates. */
struct kb_occs {
	struct kb_occ *v;
	size_t n, cap;
};

/*
 * Appends the positions of posting value v (len bytes) as occurrences
 * of query term j. 0, or -1 out of memory.
 */
static int
occs_add(struct kb_occs *o, const uint8_t *v, size_t len, uint32_t j)
{
	struct kb_occ *nv;
	uint32_t pos = 0, d;
	size_t i = KB_POST_LEN;
	int shift;

	while (i < len) {
		for (d = 0, shift = 0; i < len && shift < 32; shift += 7) {
			d |= (uint32_t)(v[i] & 0x7f) << shift;
			if ((v[i++] & 0x80) == 0)
				break;
		}
		pos += d;
		if (o->n == o->cap) {
			o->cap = o->cap ? 2 * o->cap : 256;
			if ((nv = reallocarray(o->v, o->cap,
			    sizeof(*nv))) == NULL)
				return -1;
			o->v = nv;
		}
		o->v[o->n].pos = pos;
		o->v[o->n++].term = j;
	}
	return 0;
}

/*
 * Candidate c's page, length and query term occurrences (appended to o,
 * c->nocc set; c->occ is set once o stops growing). 0, or -1.
 */
static int
cand_read(struct store_txn *t, const char *org, const struct kb_terms *ts,
    struct kb_cand *c, struct kb_occs *o)
{
	uint8_t k[KB_KEY_MAX];
	struct st_kbchunk ch;
	size_t j, before = o->n;
	MDB_val v;
	int rc;

	if (kb_chunk_get(t, c->id, &ch) != 0)
		return t->err ? -1 : 0;
	/*
	 * A Q&A's chunk has no URL: each is a page of its own, not one
	 * "" page of them all (its best would lift the others).
	 */
	c->page = ch.url != NULL && ch.url[0] != '\0' ? page_hash(ch.url) :
	    ~c->id;
	c->words = ch.len_headings + ch.len_text;
	st_kbchunk_free(&ch);
	for (j = 0; j < ts->n && j < KB_RANK_TERMS_MAX; j++) {
		if ((rc = db_get(t, t->st->kb_post, k, post_key(k, org,
		    ts->v[j].t, ts->v[j].len, &c->id), &v,
		    "get knowledge posting")) < 0)
			return -1;
		if (rc == 0 && occs_add(o, v.mv_data, v.mv_size,
		    (uint32_t)j) < 0)
			return store_fail(t, PROTO_E_INTERNAL,
			    "out of memory"), -1;
	}
	c->nocc = o->n - before;
	return 0;
}

/*
 * The first stage's nt best, top (best first): the first KB_RERANK_MAX
 * of them read back and scored again by kbrank.c; the best k of them
 * into hits, best first, *n how many. 0, or -1.
 */
static int
rerank(struct store_txn *t, const char *org, const struct kb_terms *ts,
    const double *idf, double avg_words, struct kb_hit *top, uint32_t nt,
    uint32_t k, struct kb_hit *hits, uint32_t *n)
{
	struct kb_cand cands[KB_RERANK_MAX];
	struct kb_occs o = { 0 };
	uint32_t m = KB_RERANK_MAX, nc, i;
	size_t at = 0;

	nc = nt < m ? nt : m;
	memset(cands, 0, sizeof(cands));
	for (i = 0; i < nc && !t->err; i++) {
		cands[i].id = top[i].id;
		cands[i].score = top[i].score;
		cand_read(t, org, ts, &cands[i], &o);
	}
	if (!t->err) {
		for (i = 0; i < nc; i++) {
			cands[i].occ = o.v + at;
			at += cands[i].nocc;
		}
		kb_rerank(idf, ts->n, avg_words, cands, nc);
		for (i = 0; i < nc; i++)
			top[i].score = cands[i].rescored;
		qsort(top, nc, sizeof(top[0]), kb_hit_cmp);
		*n = nt < k ? nt : k;
		memcpy(hits, top, *n * sizeof(hits[0]));
	}
	free(o.v);
	return t->err ? -1 : 0;
}

int
kb_search(struct store_txn *t, const char *org, const char *lang,
    const char *query, size_t qlen, uint32_t k, const struct kb_filter *fl,
    struct kb_hit *hits, uint32_t *n)
{
	struct kb_hit top[KB_RERANK_MAX > ST_KB_SEARCH_K_MAX ? KB_RERANK_MAX :
	    ST_KB_SEARCH_K_MAX];
	struct kb_list l[KB_QUERY_TERMS_MAX];
	double avg[KB_FIELDS], idf[KB_QUERY_TERMS_MAX];
	struct kb_terms ts;
	struct kb_stats s;
	struct kb_norm nm;
	uint32_t nt = 0;
	size_t i, nl = 0;
	int f;

	*n = 0;
	if (t->err)
		return -1;
	if (k < 1 || k > ST_KB_SEARCH_K_MAX || qlen > ST_KB_QUERY_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "search: k or query out of bounds"), -1;
	if (stats_get(t, org, &s) < 0 || s.n == 0)
		return t->err ? -1 : 0;
	for (f = 0; f < KB_FIELDS; f++)
		avg[f] = s.words[f] > 0 ? (double)s.words[f] / s.n : 1;
	norm_set(&nm, avg);
	if (query_terms(t, lang, query, qlen, &ts) < 0 ||
	    terms_rarest(t, org, &s, &ts) < 0)
		return -1;
	memset(l, 0, sizeof(l));
	for (i = 0; i < ts.n && !t->err; i++) {
		if (term_idf(t, org, &ts.v[i], &s, &idf[i]) < 0 || idf[i] == 0)
			continue;
		l[nl].idf = idf[i];
		l[nl].qw = ts.v[i].tf[0];
		l[nl].ub = idf[i] * l[nl].qw;
		if (list_open(t, org, &ts.v[i], &l[nl]) == 0)
			nl++;
		else if (l[nl].cur != NULL)
			mdb_cursor_close(l[nl].cur);
	}
	if (!t->err && first_stage(t, l, nl, &nm, fl, k > KB_RERANK_MAX ? k :
	    KB_RERANK_MAX, top, &nt) == 0)
		rerank(t, org, &ts, idf, avg[1] + avg[2], top, nt, k, hits, n);
	for (i = 0; i < nl; i++)
		mdb_cursor_close(l[i].cur);
	terms_free(&ts);
	return t->err ? -1 : 0;
}
