/*
 * The knowledge base's sources (see kbsource.h, STORAGE.md), a records.c
 * entity, and the search that reads their chunks:
 *
 *	kb_sources       id ("ks_" + 32 hex) -> source (ST_KBSOURCE_ROWS)
 *	kb_source_order  u64 created_at | id -> ()
 *	kb_source_org    org NUL u64 created_at | id -> () (records.c)
 *	kb_gone          id -> (): a deleted source whose chunks the sweep
 *	                 has still to remove (kbindex.c's kb_source_clear,
 *	                 then its pages: kbpage.c, in bounded steps); a
 *	                 search skips them meanwhile
 *	kb_due           u64 next_sync_at | id -> (): the crawl and file
 *	                 sources in the order they are due (ST_KB_DUE)
 *
 * A qa source is its own one chunk, indexed here when it is created or
 * its question, answer or language change: title the question, text the
 * answer. A crawl or file source waits, syncing, for the fetcher.
 *
 * Each source's bytes count against its organisation's knowledge base
 * quota (kbusage.c): a qa's chunk here, refused past it; a new source
 * of any type refused while the organisation's knowledge base is full;
 * a deleted one's bytes taken off at once.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "kbindex.h"
#include "kbpage.h"
#include "kbusage.h"
#include "kbvec.h"
#include "kbsource.h"
#include "log.h"
#include "optab.h"
#include "records.h"
#include "stmsgs.h"
#include "storeint.h"

/* A qa source's chunks removed at most when it is indexed again. */
#define QA_CHUNKS_MAX	16
/*
 * Hybrid search: the chunks nearest a query's embedding (at most
 * VEC_HITS kept) and the lexical ones, merged by reciprocal rank fusion
 * with its usual constant (a chunk's score: the sum over the two lists
 * of 1 / (FUSE_K + its rank)).
 */
#define VEC_HITS	20
#define FUSE_K		60


static const char *
kbsource_invalid(const void *rec)
{
	return st_kbsource_invalid(rec);
}

/* The masked fields; a source's type never changes. */
static int
kbsource_merge(struct store_txn *t, void *curp, void *reqp, uint64_t mask,
    void *arg)
{
	struct st_kbsource *cur = curp;
	const struct st_kbsource *req = reqp;

	(void)arg;
	if ((mask & ST_KSF_TYPE) && req->source_type != cur->source_type) {
		store_fail(t, PROTO_E_INVALID, "type: cannot change");
		return -1;
	}
	rl_merge(&st_kbsource_layout, cur, reqp, mask);
	return 0;
}

#define DUE_KEY_LEN	(8 + ST_KB_SOURCE_ID_LEN)

static void
due_key(uint8_t k[DUE_KEY_LEN], uint64_t at, const char *id)
{
	proto_put_be64(k, at);
	memcpy(k + 8, id, ST_KB_SOURCE_ID_LEN);
}

void
kbsource_due(struct store_txn *t, struct st_kbsource *s, uint64_t at)
{
	uint8_t k[DUE_KEY_LEN];

	if (t->err)
		return;
	if (s->next_sync_at != 0) {
		due_key(k, s->next_sync_at, s->id);
		db_del_quiet(t, t->st->kb_due, k, sizeof(k),
		    "delete knowledge source due");
	}
	s->next_sync_at = at;
	if (at != 0 && s->source_type != ST_KB_QA) {
		due_key(k, at, s->id);
		db_mark(t, t->st->kb_due, k, sizeof(k),
		    "put knowledge source due");
	}
}

uint64_t
kbsource_next_sync(const struct st_kbsource *s, uint64_t from)
{
	return s->sync_hours > 0 ? from + (uint64_t)s->sync_hours * 3600000 :
	    0;
}

void
kbsource_resync(struct store_txn *t, struct st_kbsource *s, uint64_t at)
{
	/*
	 * A sync running reads what the source was: ended, else its done
	 * would make the source ready and lose this one. ST_KB_DUE's next
	 * sync id is later still.
	 */
	s->sync_id++;
	s->sync_status = ST_KB_SYNCING;
	kbsource_due(t, s, at);
}

/*
 * Its chunks and pages go in the sweep's steps; until then a search
 * skips them. It is due no more.
 */
static void
kbsource_index_del(struct store_txn *t, const void *rec)
{
	struct st_kbsource s = *(const struct st_kbsource *)rec;

	db_mark(t, t->st->kb_gone, s.id, strlen(s.id),
	    "put knowledge source gone");
	kbsource_due(t, &s, 0);
	kb_usage_drop(t, &s);
}

const struct store_entity kbsource_entity = {
	ENTITY_NAMES("knowledge source", "no such source",
	    "sources: too many"),
	ENTITY_RECORD(kbsource, kb_sources, kb_source_order),
	ENTITY_OF_ORG(kbsource, kb_source_org, ST_KB_SOURCES_MAX),
	.org_full = "sources: at most 1000",
	ENTITY_IDS(ST_KB_SOURCE_PREFIX, ST_KB_SOURCE_ID_LEN,
	    st_kbsource_id_valid),
	.mask_all = ST_KSF_ALL,
	.invalid = kbsource_invalid,
	.merge = kbsource_merge,
	.index_del = kbsource_index_del,
};

/* ------------------------------------------------------------ indexing */

/*
 * A qa source's question and answer as its one chunk, refused (`full`)
 * past its organisation's quota; s's bytes follow.
 */
static void
qa_index(struct store_txn *t, struct st_kbsource *s)
{
	struct st_kbchunk c;
	uint64_t id, bytes;
	int left = 0;

	if (kb_source_clear(t, s->id, QA_CHUNKS_MAX, &left) < 0)
		return;
	if (left) {
		store_fail(t, PROTO_E_INTERNAL, "qa source holds too many "
		    "chunks");
		return;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.org, s->org, sizeof(c.org));
	memcpy(c.source_id, s->id, sizeof(c.source_id));
	memcpy(c.lang, s->lang, sizeof(c.lang));
	c.url = "";
	c.title = s->question;
	c.headings = "";
	c.text = s->answer;
	if (kb_chunk_add_bytes(t, &c, &id, &bytes) < 0 ||
	    kb_usage_room(t, s, s->bytes, bytes) < 0)
		return;
	kb_usage_move(t, s, s->bytes, bytes);
	s->sync_status = ST_KB_READY;
	s->chunks = 1;
	s->pages = 0;
	s->synced_at = t->st->now();
	s->next_sync_at = 0;
}

/*
 * What a source's new or changed fields ask of it: a qa indexed now, a
 * crawl or file synced by the fetcher (due now).
 */
static void
kbsource_refresh(struct store_txn *t, struct st_kbsource *s)
{
	free(s->error);
	if ((s->error = strdup("")) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if (s->source_type == ST_KB_QA) {
		qa_index(t, s);
		return;
	}
	/* A file waits for its bytes (ST_KB_FILE_PUT) before it is due. */
	if (s->source_type == ST_KB_FILE && kb_file_has(t, s->id) != 1)
		kbsource_resync(t, s, 0);
	else
		kbsource_resync(t, s, t->st->now());
}

/* out refreshed and saved; freed when t failed. */
static int
refresh_save(struct store_txn *t, struct st_kbsource *out)
{
	kbsource_refresh(t, out);
	if (t->err == 0)
		entity_save(t, &kbsource_entity, out);
	if (t->err)
		st_kbsource_free(out);
	return t->err;
}

/* ------------------------------------------------------------- sources */

int
store_kbsource_create(struct store_txn *t, const char *org,
    const struct st_kbsource *in, struct st_kbsource *out)
{
	struct st_kbsource s;

	if (t->err)
		return t->err;
	s = *in;
	s.sync_status = ST_KB_SYNCING;
	s.pages = s.chunks = 0;
	s.synced_at = s.next_sync_at = s.sync_id = s.bytes = 0;
	/* None while its organisation's knowledge base is full. */
	if (kb_usage_full(t, org != NULL ? org : ST_ORG_DEFAULT) < 0 ||
	    entity_create(t, &kbsource_entity, org, &s, out) != 0)
		return t->err;
	return refresh_save(t, out);
}

/* The fields whose change means reading the source again. */
#define KSF_CONTENT	(ST_KSF_URL | ST_KSF_LANG | ST_KSF_QUESTION |	\
	ST_KSF_ANSWER | ST_KSF_MAX_PAGES | ST_KSF_MAX_DEPTH)

/*
 * out's next sync moved to its sync_hours after its last (0: never) and
 * saved, unless it syncs now (its end schedules the next) or is a qa.
 */
static int
reschedule_save(struct store_txn *t, struct st_kbsource *out)
{
	if (!t->err && out->source_type != ST_KB_QA &&
	    out->sync_status != ST_KB_SYNCING) {
		kbsource_due(t, out, kbsource_next_sync(out, out->synced_at));
		entity_save(t, &kbsource_entity, out);
	}
	if (t->err)
		st_kbsource_free(out);
	return t->err;
}

int
store_kbsource_update(struct store_txn *t, const char *org, const char *id,
    uint64_t mask, const struct st_kbsource *in, struct st_kbsource *out)
{
	if (entity_update(t, &kbsource_entity, org, id, mask, in, out,
	    NULL) != 0)
		return t->err;
	if (mask & KSF_CONTENT)
		return refresh_save(t, out);
	if (mask & ST_KSF_SYNC_HOURS)
		return reschedule_save(t, out);
	return t->err;
}

int
store_kbsource_delete(struct store_txn *t, const char *org, const char *id)
{
	struct st_kbsource s;

	return entity_delete(t, &kbsource_entity, org, id, &s);
}

int
store_kb_gone_sweep(struct store_txn *t, uint32_t max, uint32_t *n,
    int *more)
{
	char id[ST_KB_SOURCE_ID_LEN + 1];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, left = 0;

	*n = 0;
	*more = 0;
	if (t->err || max == 0)
		return t->err;
	if ((cur = txn_seek(t, t->st->kb_gone, NULL, 0, &k, &v, &rc)) == NULL)
		return t->err;
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return txn_lmdb(t, rc, "first knowledge source gone");
	if (k.mv_size != ST_KB_SOURCE_ID_LEN) {
		rec_corrupt(t, "knowledge source gone");
		return t->err;
	}
	memcpy(id, k.mv_data, k.mv_size);
	id[k.mv_size] = '\0';
	if (kb_source_clear(t, id, max, &left) < 0)
		return t->err;
	if (!left && kb_pages_clear(t, id, max, &left) < 0)
		return t->err;
	if (!left) {
		kb_file_clear(t, id);
		db_del(t, t->st->kb_gone, id, strlen(id),
		    "delete knowledge source gone");
	}
	*n = 1;		/* one source's step */
	*more = 1;	/* this one again, or the next: until none is left */
	return t->err;
}

int
kbsource_load(struct store_txn *t, const char *id, struct st_kbsource *s)
{
	return entity_load(t, &kbsource_entity, id, s);
}

int
kbsource_must(struct store_txn *t, const char *org, const char *id,
    struct st_kbsource *s)
{
	return entity_must(t, &kbsource_entity, org, id, s);
}

void
kbsource_save(struct store_txn *t, struct st_kbsource *s)
{
	entity_touch(t, &kbsource_entity, s);
	entity_save(t, &kbsource_entity, s);
}

void
store_kbsources_free(struct st_kbsource *ss, uint32_t n)
{
	entity_free_all(&kbsource_entity, ss, n);
}

int
store_kb_default_sources(struct store_txn *t, const char *org,
    struct st_agent *a)
{
	struct st_kbsource *ss = NULL;
	char **ids;
	uint32_t i, n = 0, m = 0;
	void *items;

	if (t->err)
		return t->err;
	if (entity_list(t, &kbsource_entity, org, &items, &n) != 0)
		return t->err;
	ss = items;
	if ((ids = calloc(ST_AGENT_SOURCES_MAX, sizeof(*ids))) == NULL) {
		store_kbsources_free(ss, n);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	for (i = 0; i < n && m < ST_AGENT_SOURCES_MAX; i++) {
		if (ss[i].chunks == 0)
			continue;
		if ((ids[m++] = strdup(ss[i].id)) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			break;
		}
	}
	store_kbsources_free(ss, n);
	if (t->err || m == 0) {
		proto_strv_free(ids, m);
		return t->err;
	}
	proto_strv_free(a->knowledge_sources, a->nknowledge_sources);
	a->knowledge_sources = ids;
	a->nknowledge_sources = m;
	return 0;
}

/*
 * What the begins' cache holds of stored source v (store_kb_default_sources
 * lists it when it has chunks), into org: 1 listed, 0 not, -1 when it
 * does not decode. Its strings are read and left (no row kept but org).
 */
static int
begin_part(const MDB_val *v, char org[ST_WHO_ORG_MAX + 1])
{
	const uint8_t *p = v->mv_data;
	struct st_kbsource s;
	struct pdec d;
	int listed;

	if (v->mv_size < 1 || p[0] < 1 ||
	    p[0] > rl_version(&st_kbsource_layout))
		return -1;
	pdec_init(&d, p + 1, v->mv_size - 1);
	if (rl_dec_rows(&d, &st_kbsource_layout, &s, p[0],
	    RL_ROW(ST_KBSOURCE_ROW_org)) < 0 || pdec_done(&d) < 0) {
		rl_free(&st_kbsource_layout, &s);
		return -1;
	}
	listed = s.chunks != 0;
	strlcpy(org, s.org, ST_WHO_ORG_MAX + 1);
	rl_free(&st_kbsource_layout, &s);
	return listed;
}

int
kbsource_begin_same(struct store_txn *t, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	MDB_val key = { .mv_size = klen, .mv_data = (void *)k };
	MDB_val nv = { .mv_size = vlen, .mv_data = (void *)v }, ov;
	char oorg[ST_WHO_ORG_MAX + 1], norg[ST_WHO_ORG_MAX + 1];
	int was;

	/* Absent (a new source) or unreadable: not the same. */
	if (mdb_get(t->txn, t->st->kb_sources, &key, &ov) != 0)
		return 0;
	t->st->ndecodes++;	/* a stored record read (store_costs) */
	if ((was = begin_part(&ov, oorg)) < 0)
		return 0;
	return begin_part(&nv, norg) == was && strcmp(oorg, norg) == 0;
}

/* -------------------------------------------------------------- search */

int
kbsource_gone(struct store_txn *t, const char *id)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->kb_gone, id, strlen(id), &v,
	    "get knowledge source gone")) < 0)
		return -1;
	return rc == 0;
}

/* Chunk c as hit h (its strings moved over). */
static void
hit_take(struct st_kb_hit *h, struct st_kbchunk *c, double score)
{
	double m = score * 1e6;

	memcpy(h->source_id, c->source_id, sizeof(h->source_id));
	h->url = c->url;
	h->title = c->title;
	h->headings = c->headings;
	h->text = c->text;
	c->url = c->title = c->headings = c->text = NULL;
	h->score = m <= 0 ? 0 : m >= UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* 1 when id is one of the n sources (NULL: any source). */
static int
source_listed(const char *id, const struct st_str *sources, uint32_t n)
{
	uint32_t i;

	if (sources == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if (sources[i].s != NULL && strcmp(sources[i].s, id) == 0)
			return 1;
	return 0;
}

/*
 * Chunk id as out's next hit with score: one a search's src_filter kept
 * (org's, of a listed source, not deleted: checked there, in the same
 * txn). 1 added, 0 not (gone), -1 t failed.
 */
static int
hit_add(struct store_txn *t, uint64_t id, double score,
    struct st_kb_hits *out)
{
	struct st_kbchunk c;
	int rc;

	if ((rc = kb_chunk_get(t, id, &c)) != 0)
		return rc < 0 ? -1 : 0;	/* 1: gone (a race is none: one txn) */
	out->hits[out->n].chunk_id = id;
	hit_take(&out->hits[out->n++], &c, score);
	st_kbchunk_free(&c);
	return 1;
}

/*
 * What a search of org keeps (kbindex.h's kb_filter): chunks of the
 * listed sources (NULL: any) that are not deleted, each source's
 * verdict remembered (the first SRC_SEEN_MAX sources a search meets).
 */
#define SRC_SEEN_MAX	64
struct src_filter {
	const char *org;
	const struct st_str *sources;
	uint32_t nsources, nseen;
	struct {
		char id[ST_KB_SOURCE_ID_LEN + 1];
		int keep;
	} seen[SRC_SEEN_MAX];
};

/* kb_filter's keep over a struct src_filter: 1, 0, or -1. */
static int
src_keep(struct store_txn *t, uint64_t id, void *arg)
{
	struct src_filter *f = arg;
	struct st_kbchunk c;
	uint32_t i;
	int rc, keep;

	if ((rc = kb_chunk_who(t, id, &c)) != 0)
		return rc < 0 ? -1 : 0;
	keep = strcmp(c.org, f->org) == 0;
	for (i = 0; keep && i < f->nseen; i++)
		if (strcmp(f->seen[i].id, c.source_id) == 0)
			break;
	if (keep && i < f->nseen)
		keep = f->seen[i].keep;
	else if (keep) {
		if ((rc = kbsource_gone(t, c.source_id)) < 0)
			keep = -1;
		else
			keep = rc == 0 && source_listed(c.source_id,
			    f->sources, f->nsources);
		if (keep >= 0 && f->nseen < SRC_SEEN_MAX) {
			memcpy(f->seen[f->nseen].id, c.source_id,
			    sizeof(f->seen[0].id));
			f->seen[f->nseen++].keep = keep;
		}
	}
	st_kbchunk_free(&c);
	return keep;
}

/*
 * f and fl set to keep org's chunks of the n sources (NULL: any) not
 * deleted. With sources, fl's ids are the chunks of those listed that
 * are org's and not deleted (kbindex.h: the others' chunks then spend
 * no question of keep's, no vector candidate), none when they hold more
 * than KB_FILTER_IDS_MAX. 0, or t's error; src_filter_free after.
 */
static int
src_filter_init(struct store_txn *t, struct src_filter *f,
    struct kb_filter *fl, const char *org, const struct st_str *sources,
    uint32_t n)
{
	const char *live[ST_AGENT_SOURCES_MAX];
	uint32_t i, m = 0;

	f->org = org;
	f->sources = sources;
	f->nsources = n;
	f->nseen = 0;
	memset(fl, 0, sizeof(*fl));
	fl->keep = src_keep;
	fl->arg = f;
	if (sources == NULL || t->err)
		return t->err;
	for (i = 0; i < n && m < ST_AGENT_SOURCES_MAX && !t->err; i++)
		if (sources[i].s != NULL &&
		    !source_listed(sources[i].s, sources, i) &&
		    entity_known(t, &kbsource_entity, org, sources[i].s) == 1 &&
		    kbsource_gone(t, sources[i].s) == 0)
			live[m++] = sources[i].s;
	if (!t->err)
		(void)kb_filter_sources(t, fl, live, m);
	return t->err;
}

/* Frees what src_filter_init allocated for fl. */
static void
src_filter_free(struct kb_filter *fl)
{
	free(fl->ids);
	fl->ids = NULL;
}

static int
str_same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* 1 when y is the same passage as one of out's first n hits (hits_dedup). */
static int
hit_copy(const struct st_kb_hits *out, uint32_t n, const struct st_kb_hit *y)
{
	const struct st_kb_hit *x;
	uint32_t j;

	for (j = 0; j < n; j++) {
		x = &out->hits[j];
		if (str_same(x->text, y->text) &&
		    str_same(x->title, y->title) &&
		    str_same(x->headings, y->headings))
			return 1;
	}
	return 0;
}

/*
 * Org's best chunks for query in language lang, added to out (room for
 * want more) while out holds fewer than want, a copy of one it holds
 * not counted (hits_dedup): those fl keeps (src_filter_init), filtered
 * inside the search (chunks of other sources outranking them crowd none
 * out). 0, or t's error.
 */
static int
hits_add(struct store_txn *t, const char *org, const char *lang,
    const char *query, uint32_t want, const struct kb_filter *fl,
    struct st_kb_hits *out)
{
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	uint32_t n = 0, i, k;

	/*
	 * Twice want, as deep a first stage as before the filter (kbrank.h:
	 * the candidates reranked): the chunks want takes rank the same.
	 */
	k = want * 2 > ST_KB_SEARCH_K_MAX ? ST_KB_SEARCH_K_MAX : want * 2;
	if (kb_search(t, org, lang, query, strlen(query), k, fl, hits,
	    &n) < 0)
		return t->err;
	for (i = 0; i < n && out->n < want && !t->err; i++)
		if (hit_add(t, hits[i].id, hits[i].score, out) == 1 &&
		    hit_copy(out, out->n - 1, &out->hits[out->n - 1]))
			st_kb_hit_clear(&out->hits[--out->n]);
	return t->err;
}

/* Best first (a stable order: languages merged). */
static int
hit_cmp(const void *a, const void *b)
{
	const struct st_kb_hit *x = a, *y = b;

	return x->score < y->score ? 1 : x->score > y->score ? -1 :
	    x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

/* Where chunk id is among out's first n hits, or n. */
static uint32_t
hit_find(const struct st_kb_hits *out, uint32_t n, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < n && out->hits[i].chunk_id != id; i++)
		;
	return i;
}

/*
 * out's lexical hits (best first; room for VEC_HITS more) merged with
 * the chunks nearest the query's embedding qv (in org's vector space
 * space, kbvec.h: "" the install's) by reciprocal rank fusion,
 * best first, each score the fused one in millionths. A chunk found by
 * its vector alone joins only with a cosine of qv->min_score or more: an
 * off-topic question finds nothing. An organisation without vectors of
 * qv's dimension (none yet, or another model's): out unchanged. 0, or
 * t's error (PROTO_E_INVALID: qv is not one usable row).
 */
static int
vec_fuse(struct store_txn *t, const char *org, const char *space,
    const struct st_kb_vecs *qv, const struct kb_filter *fl,
    struct st_kb_hits *out)
{
	static float x[KB_VEC_DIM_MAX];
	char buf[KB_VEC_NAME_MAX + 1];
	const char *name = kb_vec_space(org, space, buf);
	struct kb_hit vh[2 * VEC_HITS];
	double fused[ST_AGENT_SOURCES_MAX * ST_KB_SEARCH_K_MAX + VEC_HITS];
	uint32_t lex = out->n, rank = 0, i, j;
	size_t nv = 0;

	if (t->err || qv->dim == 0)
		return t->err;
	if (name == NULL)
		return store_fail(t, PROTO_E_INVALID, "space: 16 hex digits");
	if (qv->data.len != qv->dim * sizeof(float))
		return store_fail(t, PROTO_E_INVALID, "query embedding: one "
		    "row");
	st_kb_vec_row(qv, 0, x);
	if (!kb_vec_usable(x, qv->dim))
		return store_fail(t, PROTO_E_INVALID, "query embedding: not "
		    "finite, or all zero");
	if (kb_vec_dim(t, name) != qv->dim || t->err)
		return t->err;
	if (kb_vec_search(t, name, x, qv->dim, 2 * VEC_HITS, fl, vh,
	    &nv) < 0)
		return t->err;
	for (i = 0; i < lex; i++)
		fused[i] = 1.0 / (FUSE_K + i + 1);
	for (i = 0; i < nv && rank < VEC_HITS && !t->err; i++) {
		double f = 1.0 / (FUSE_K + rank + 1);

		if ((j = hit_find(out, out->n, vh[i].id)) < out->n) {
			fused[j] += f;
			rank++;
		} else if (vh[i].score * 1e6 >= qv->min_score &&
		    hit_add(t, vh[i].id, 0, out) == 1) {
			fused[out->n - 1] = f;
			rank++;
		}
	}
	for (i = 0; i < out->n; i++)
		out->hits[i].score = (uint32_t)(fused[i] * 1e6);
	qsort(out->hits, out->n, sizeof(*out->hits), hit_cmp);
	return t->err;
}

/*
 * A passage found twice (one page under two URLs, "/docs/" and
 * "/docs/index.html", or in two sources) kept once, where it ranks
 * first: the few passages a prompt holds are not spent on copies.
 */
static void
hits_dedup(struct st_kb_hits *out)
{
	uint32_t i, n = 0;

	for (i = 0; i < out->n; i++) {
		if (hit_copy(out, n, &out->hits[i]))
			st_kb_hit_clear(&out->hits[i]);
		else if (n++ != i) {
			out->hits[n - 1] = out->hits[i];
			memset(&out->hits[i], 0, sizeof(out->hits[i]));
		}
	}
	out->n = n;
}

/* Frees out's hits from the k-th on: the best k kept. */
static void
hits_cut(struct st_kb_hits *out, uint32_t k)
{
	uint32_t i;

	for (i = k; i < out->n; i++)
		st_kb_hit_clear(&out->hits[i]);
	if (out->n > k)
		out->n = k;
}

/* Org's agent id's sources searched as its turns do (ST_KB_RETRIEVE). */
static int
agent_search(struct store_txn *t, const char *org,
    const struct st_kb_search_req *q, struct st_kb_hits *out)
{
	struct st_str srcs[ST_AGENT_SOURCES_MAX];
	struct st_kb_retrieve_req rq;
	struct st_agent a;
	uint32_t i;

	/* "agent_id: no such agent" (invalid) for none of org's. */
	if (store_agent_check(t, org, q->agent_id) != 0)
		return t->err;
	/* The default agent: org's sources that have chunks. */
	if (strcmp(q->agent_id, ST_AGENT_DEFAULT) == 0) {
		st_agent_defaults(&a);
		if (store_kb_default_sources(t, org, &a) != 0) {
			st_agent_free(&a);
			return t->err;
		}
	} else if (store_agent_get(t, org, q->agent_id, &a) != 0)
		return t->err;
	memset(&rq, 0, sizeof(rq));
	strlcpy(rq.org, org, sizeof(rq.org));
	rq.query = q->query;
	rq.k = q->k;
	/*
	 * The agent's own embedding model's space, or the install's: a
	 * query embedded by another model is searched by its words alone.
	 */
	(void)st_agent_space(&a, rq.space);
	if (strcmp(rq.space, q->space) == 0)
		rq.qvec = q->qvec;
	for (i = 0; i < a.nknowledge_sources && i < ST_AGENT_SOURCES_MAX; i++)
		srcs[i].s = a.knowledge_sources[i];
	rq.sources = srcs;
	rq.n = i;
	store_kb_retrieve(t, &rq, out);
	st_agent_free(&a);
	return t->err;
}

static int
search_hits(struct store_txn *t, const char *org,
    const struct st_kb_search_req *q, struct st_kb_hits *out)
{
	struct src_filter f;
	struct kb_filter fl;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (q->k < 1 || q->k > ST_KB_SEARCH_K_MAX)
		return store_fail(t, PROTO_E_INVALID, "k: must be 1 to 50");
	if (q->agent_id != NULL && q->agent_id[0] != '\0')
		return agent_search(t, org, q, out);
	if ((out->hits = calloc(q->k + VEC_HITS, sizeof(*out->hits))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	(void)src_filter_init(t, &f, &fl, org, NULL, 0);
	if (hits_add(t, org, q->lang, q->query, q->k, &fl, out) == 0 &&
	    vec_fuse(t, org, q->space, &q->qvec, &fl, out) == 0) {
		hits_dedup(out);
		hits_cut(out, q->k);
	}
	return t->err;
}

/* The hits, each chunk's id as the admin API shows it (store_seq_show). */
int
store_kb_search(struct store_txn *t, const char *org,
    const struct st_kb_search_req *q, struct st_kb_hits *out)
{
	uint32_t i;

	if (search_hits(t, org, q, out) == 0)
		for (i = 0; i < out->n && !t->err; i++)
			(void)store_seq_show(t, ST_KB_CHUNK_PREFIX,
			    out->hits[i].chunk_id, out->hits[i].chunk_ref);
	return t->err;
}

/*
 * A Q&A that truly matches the question: its words' score QA_SHARE of
 * the best hit's at least (one sharing a single ordinary word with it
 * scores a hundredth of a page that answers it; test_kbsource's strong
 * one, half). At most QA_FRONT of them go ahead of the pages (of the 5
 * a turn's prompt holds); the other Q&As rank by their scores as pages
 * do.
 */
#define QA_SHARE	(1.0 / 3)
#define QA_FRONT	2

/*
 * The hits of the n qa sources qas that truly match the question (out:
 * the words' hits, best first) marked qa, before their scores are fused
 * with the vectors' (which rank, not score).
 */
static void
qa_mark(struct st_kb_hits *out, const struct st_str *qas, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < out->n && n > 0; i++)
		if (out->hits[i].score >= QA_SHARE * out->hits[0].score &&
		    source_listed(out->hits[i].source_id, qas, n))
			out->hits[i].qa = 1;
}

/*
 * The owner's own answers win: the first QA_FRONT hits marked qa
 * (qa_mark) move ahead of every other, in their order; the rest stay
 * where their scores put them, unmarked.
 */
static void
qa_first(struct st_kb_hits *out)
{
	struct st_kb_hit h;
	uint32_t i, j, front = 0;

	for (i = 0; i < out->n; i++) {
		if (!out->hits[i].qa)
			continue;
		if (front == QA_FRONT) {
			out->hits[i].qa = 0;
			continue;
		}
		h = out->hits[i];
		for (j = i; j > front; j--)
			out->hits[j] = out->hits[j - 1];
		out->hits[front++] = h;
	}
}

/*
 * q's hits added to out (room for them): its sources' chunks in each of
 * the nl languages langs, the nqa qa sources qas' again, those that
 * truly match marked (qa_mark), then fused with those nearest q's
 * embedding. Each list of sources filtered once
 * (src_filter_init reads their chunks' ids). 0, or t's error.
 */
static int
retrieve_hits(struct store_txn *t, const struct st_kb_retrieve_req *q,
    char langs[][ST_KB_LANG_MAX + 1], uint32_t nl, const struct st_str *qas,
    uint32_t nqa, struct st_kb_hits *out)
{
	struct src_filter f, fq;
	struct kb_filter fl, flq = { 0 };
	uint32_t j;

	(void)src_filter_init(t, &f, &fl, q->org, q->sources, q->n);
	for (j = 0; j < nl && !t->err; j++)
		hits_add(t, q->org, langs[j], q->query, out->n + q->k, &fl,
		    out);
	/*
	 * The Q&As' own best too: pages' chunks that outranked a matching
	 * answer past the k kept above left it out of qa_first's reach.
	 */
	if (nqa > 0)
		(void)src_filter_init(t, &fq, &flq, q->org, qas, nqa);
	for (j = 0; nqa > 0 && j < nl && !t->err; j++)
		hits_add(t, q->org, langs[j], q->query, out->n + q->k, &flq,
		    out);
	if (!t->err) {
		qsort(out->hits, out->n, sizeof(*out->hits), hit_cmp);
		qa_mark(out, qas, nqa);
		(void)vec_fuse(t, q->org, q->space, &q->qvec, &fl, out);
	}
	src_filter_free(&fl);
	src_filter_free(&flq);
	return t->err;
}

int
store_kb_retrieve(struct store_txn *t, const struct st_kb_retrieve_req *q,
    struct st_kb_hits *out)
{
	char langs[ST_AGENT_SOURCES_MAX][ST_KB_LANG_MAX + 1];
	char qa[ST_AGENT_SOURCES_MAX][ST_KB_SOURCE_ID_LEN + 1];
	struct st_str qas[ST_AGENT_SOURCES_MAX];
	struct st_kbsource s;
	uint32_t nl = 0, nqa = 0, i, j;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (q->k < 1 || q->k > ST_KB_SEARCH_K_MAX || q->n > ST_AGENT_SOURCES_MAX)
		return store_fail(t, PROTO_E_INVALID, "k: 1 to 50; sources: "
		    "at most 50");
	/* The languages of the listed sources that are org's. */
	for (i = 0; i < q->n && !t->err; i++) {
		if (q->sources[i].s == NULL ||
		    !st_kbsource_id_valid(q->sources[i].s) ||
		    (rc = kbsource_load(t, q->sources[i].s, &s)) != 0)
			continue;
		if (strcmp(s.org, q->org) == 0) {
			for (j = 0; j < nl && strcmp(langs[j], s.lang) != 0;
			    j++)
				;
			if (j == nl)
				strlcpy(langs[nl++], s.lang, sizeof(langs[0]));
			if (s.source_type == ST_KB_QA) {
				memcpy(qa[nqa], s.id, sizeof(qa[0]));
				qas[nqa].s = qa[nqa];
				nqa++;
			}
		}
		st_kbsource_free(&s);
	}
	if (t->err || nl == 0)
		return t->err;
	if ((out->hits = calloc((size_t)q->k * nl * (nqa > 0 ? 2 : 1) +
	    VEC_HITS, sizeof(*out->hits))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (retrieve_hits(t, q, langs, nl, qas, nqa, out) != 0)
		return t->err;
	qa_first(out);
	hits_dedup(out);
	hits_cut(out, q->k);
	return 0;
}

/* ------------------------------------------------ its requests (optab.h) */

static int
kbsource_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_kbsource_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_kb_source_list *l = rep;
	void *all;

	(void)gone;
	switch (type) {
	case PROTO_ST_KB_SOURCE_CREATE:
		return store_kbsource_create(t, org, req, rep);
	case PROTO_ST_KB_SOURCE_UPDATE:
		return store_kbsource_update(t, org, u->id, u->mask, &u->s,
		    rep);
	case PROTO_ST_KB_SOURCE_GET:
		return entity_get(t, &kbsource_entity, org, q->id, rep);
	case PROTO_ST_KB_SOURCE_LIST:
		if (entity_list(t, &kbsource_entity, org, &all, &l->n) == 0)
			l->sources = all;
		l->used = kb_usage_get(t, org != NULL ? org : ST_ORG_DEFAULT);
		l->quota = t->st->kb_quota;
		return t->err;
	case PROTO_ST_KB_SOURCE_DELETE:
		return store_kbsource_delete(t, org, q->id);
	}
	return store_fail(t, PROTO_E_UNSUPPORTED,
	    "not a knowledge source request");
}

const struct entity store_kbsource_entity = {
	PROTO_ST_KB_SOURCE_CREATE, kbsource_invalid, kbsource_run
};
