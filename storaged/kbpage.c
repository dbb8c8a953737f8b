/*
 * The pages of the knowledge base's crawl and file sources (see
 * kbpage.h, STORAGE.md), and the fetcher's requests that sync them:
 *
 *	kb_pages        source id | 16 bytes of SHA-256(url) -> page
 *	                (ST_KBPAGE_ROWS)
 *	kb_page_chunks  source id | url hash | u64 chunk id -> (): a page's
 *	                chunks, replaced when it changes
 *	kb_files        source id -> version, str content type, bytes: a
 *	                file source's file, read by the fetcher as its one
 *	                page; source id | '+' | u64 offset -> version, str
 *	                content type, u32 total, bytes: a piece of a file
 *	                being uploaded in pieces, joined as the file by the
 *	                last
 *
 * A sync is a source's sync id, given when the fetcher takes it
 * (ST_KB_DUE): its page puts and its end carry it, and any other is
 * refused as ended (the source deleted, changed, or taken again once
 * its lease ran out). A page put in the sync is marked seen by it; its
 * end removes the pages it did not see (gone from the site), a bounded
 * step at a time, then the source is ready.
 *
 * What a page keeps counts against its organisation's quota
 * (kbusage.c): its bytes row, its record's bytes and its chunks' and
 * vectors', added when it is put, moved when it changes, taken off when
 * it goes (a page of before the count: counted once at open, kbcount.c);
 * a put that would pass the quota is refused (`full`), the page as it
 * was before kept. So is a file's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "agentstore.h"
#include "kbindex.h"
#include "kbpage.h"
#include "kbsource.h"
#include "kbusage.h"
#include "kbvec.h"
#include "log.h"
#include "sha256.h"
#include "storeint.h"

#define HASH_LEN	16	/* bytes of a URL's SHA-256 in a key */
#define PAGE_KEY_LEN	KB_PAGE_KEY_LEN
#define CHUNK_KEY_LEN	(PAGE_KEY_LEN + 8)
/* Chunks one ST_KB_SYNC_DONE step removes at most, pages at most. */
#define DONE_CHUNKS	256
#define DONE_PAGES	256
/* Due entries one ST_KB_DUE looks at (a deleted source's are dropped). */
#define DUE_LOOK	64
/* Due entries one ST_KB_DUE walks at most past busy organisations'. */
#define DUE_SCAN	1024

static void
page_key(uint8_t k[PAGE_KEY_LEN], const char *source, const char *url)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	proto_sha256(url, strlen(url), h);
	memcpy(k, source, ST_KB_SOURCE_ID_LEN);
	memcpy(k + ST_KB_SOURCE_ID_LEN, h, HASH_LEN);
}

/* 1 when source may be a source id (so a key of it has its length). */
static int
source_ok(const char *source)
{
	return st_kbsource_id_valid(source);
}

/* The page under k into p: 0, 1 absent, -1. */
static int
page_load(struct store_txn *t, const uint8_t k[PAGE_KEY_LEN],
    struct st_kbpage *p)
{
	return rec_load(t, t->st->kb_pages, k, PAGE_KEY_LEN, &st_kbpage_layout,
	    p, "knowledge page");
}

/*
 * The first max chunk ids of the page under k (kb_page_chunks) into
 * ids, *n how many. 0, or -1 with t failed.
 */
static int
page_chunk_ids(struct store_txn *t, const uint8_t k[PAGE_KEY_LEN],
    uint64_t *ids, uint32_t max, uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val kk, v;
	int rc;

	*n = 0;
	if ((cur = txn_seek(t, t->st->kb_page_chunks, k, PAGE_KEY_LEN, &kk,
	    &v, &rc)) == NULL)
		return -1;
	for (; rc == 0 && *n < max && kk.mv_size == CHUNK_KEY_LEN &&
	    memcmp(kk.mv_data, k, PAGE_KEY_LEN) == 0;
	    rc = mdb_cursor_get(cur, &kk, &v, MDB_NEXT))
		ids[(*n)++] = proto_get_be64((const uint8_t *)kk.mv_data +
		    PAGE_KEY_LEN);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "walk knowledge page chunks");
		return -1;
	}
	return 0;
}

/*
 * The chunks of the page under k removed, at most max (all: max 0);
 * *n how many. 0, or -1.
 */
static int
page_chunks_drop(struct store_txn *t, const uint8_t k[PAGE_KEY_LEN],
    uint32_t max, uint32_t *n)
{
	uint64_t ids[DONE_CHUNKS];
	uint8_t ck[CHUNK_KEY_LEN];
	uint32_t got, i, want;

	*n = 0;
	do {
		want = max == 0 || max - *n > DONE_CHUNKS ? DONE_CHUNKS :
		    max - *n;
		if (page_chunk_ids(t, k, ids, want, &got) < 0)
			return -1;
		if (kb_chunks_remove(t, ids, got) < 0)
			return -1;
		for (i = 0; i < got && !t->err; i++) {
			memcpy(ck, k, PAGE_KEY_LEN);
			proto_put_be64(ck + PAGE_KEY_LEN, ids[i]);
			db_del(t, t->st->kb_page_chunks, ck, sizeof(ck),
			    "delete knowledge page chunk");
		}
		*n += got;
	} while (got == DONE_CHUNKS && (max == 0 || *n < max) && !t->err);
	return t->err ? -1 : 0;
}

/* The source of a sync, which must still be it: 0, or -1 (`not found`). */
static int
sync_source(struct store_txn *t, const char *id, uint64_t sync_id,
    struct st_kbsource *s)
{
	int rc;

	if (!source_ok(id))
		return store_fail(t, PROTO_E_NOT_FOUND, "no such source"), -1;
	if ((rc = kbsource_load(t, id, s)) < 0)
		return -1;
	if (rc == 0 && s->sync_id == sync_id &&
	    s->sync_status == ST_KB_SYNCING && s->source_type != ST_KB_QA)
		return 0;
	if (rc == 0)
		st_kbsource_free(s);
	store_fail(t, PROTO_E_NOT_FOUND, "sync ended");
	return -1;
}

/* ----------------------------------------------------------- the jobs */

/* 1 when org is one of q's busy organisations (ST_KB_DUE skips them). */
static int
org_busy(const struct st_kb_due_req *q, const char *org)
{
	uint32_t i;

	for (i = 0; i < q->nbusy; i++)
		if (q->busy[i].s != NULL && strcmp(q->busy[i].s, org) == 0)
			return 1;
	return 0;
}

/*
 * Up to DUE_LOOK sources due by now, into ids and ats: how many. Those
 * of q's busy organisations are passed over (DUE_SCAN entries looked at
 * at most), so another organisation's source due later is still found
 * behind many of theirs.
 */
static uint32_t
due_ids(struct store_txn *t, const struct st_kb_due_req *q, uint64_t now,
    char ids[][ST_KB_SOURCE_ID_LEN + 1], uint64_t *ats)
{
	struct st_kbsource s;
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t n = 0, seen = 0;
	int rc, busy;

	if ((cur = txn_seek(t, t->st->kb_due, NULL, 0, &k, &v, &rc)) == NULL)
		return 0;
	while (rc == 0 && n < DUE_LOOK && seen++ < DUE_SCAN && !t->err &&
	    k.mv_size == 8 + ST_KB_SOURCE_ID_LEN &&
	    proto_get_be64(k.mv_data) <= now) {
		ats[n] = proto_get_be64(k.mv_data);
		memcpy(ids[n], (const char *)k.mv_data + 8,
		    ST_KB_SOURCE_ID_LEN);
		ids[n][ST_KB_SOURCE_ID_LEN] = '\0';
		busy = 0;
		if (q->nbusy > 0 && kbsource_load(t, ids[n], &s) == 0) {
			busy = org_busy(q, s.org);
			st_kbsource_free(&s);
		}
		if (!busy)
			n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk knowledge due");
	return n;
}

/* 1 when agent a reads source id. */
static int
agent_reads(const struct st_agent *a, const char *id)
{
	uint32_t i;

	for (i = 0; i < a->nknowledge_sources; i++)
		if (strcmp(a->knowledge_sources[i], id) == 0)
			return 1;
	return 0;
}

/*
 * The vector spaces of the agents of job's organisation that read its
 * source with an embedding model of their own (st_kb_space: the fetcher
 * embeds its pages in each), at most ST_KB_SPACES_MAX. 0, or -1.
 */
static int
job_spaces(struct store_txn *t, struct st_kb_job *job)
{
	struct st_kb_space *sp;
	struct st_agent *as = NULL;
	char id[ST_KB_SPACE_HEX + 1];
	uint32_t n = 0, i, j;

	if (store_agent_list(t, job->s.org, &as, &n) != 0)
		return -1;
	for (i = 0; i < n && !t->err; i++) {
		if (!agent_reads(&as[i], job->s.id) ||
		    !st_agent_space(&as[i], id))
			continue;
		for (j = 0; j < job->nspaces; j++)
			if (strcmp(job->spaces[j].id, id) == 0)
				break;
		if (j < job->nspaces)
			continue;
		if (job->nspaces == ST_KB_SPACES_MAX) {
			log_warnx("knowledge source %s: read by agents of more "
			    "than %d embedding models: the first %d embed it",
			    job->s.id, ST_KB_SPACES_MAX, ST_KB_SPACES_MAX);
			break;
		}
		if (job->spaces == NULL && (job->spaces = calloc(
		    ST_KB_SPACES_MAX, sizeof(*job->spaces))) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			break;
		}
		sp = &job->spaces[job->nspaces++];
		memcpy(sp->id, id, sizeof(sp->id));
		if ((sp->base_url = strdup(as[i].base_url != NULL ?
		    as[i].base_url : "")) == NULL || (sp->api_key = strdup(
		    as[i].api_key != NULL ? as[i].api_key : "")) == NULL ||
		    (sp->model = strdup(as[i].embedding_model)) == NULL)
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	store_agents_free(as, n);
	return t->err ? -1 : 0;
}

int
store_kb_due(struct store_txn *t, const struct st_kb_due_req *q,
    struct st_kb_jobs *out)
{
	char ids[DUE_LOOK][ST_KB_SOURCE_ID_LEN + 1];
	uint64_t ats[DUE_LOOK], now = t->st->now();
	struct st_kbsource s;
	uint32_t n, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (q->max < 1 || q->max > ST_KB_DUE_MAX || q->lease_ms < 1000 ||
	    q->lease_ms > ST_KB_LEASE_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "max: 1 to 8; lease_ms: 1000 to 90000000");
	n = due_ids(t, q, now, ids, ats);
	if (n > 0 && (out->jobs = calloc(q->max, sizeof(*out->jobs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < n && out->n < q->max && !t->err; i++) {
		if ((rc = kbsource_load(t, ids[i], &s)) < 0)
			break;
		if (rc == 1) {	/* gone: its entry is stale */
			strlcpy(s.id, ids[i], sizeof(s.id));
			s.next_sync_at = ats[i];
			kbsource_due(t, &s, 0);
			continue;
		}
		/* A new sync: later than any before it. */
		s.sync_id = now > s.sync_id ? now : s.sync_id + 1;
		s.sync_status = ST_KB_SYNCING;
		s.sync_again = 0;	/* its spaces are today's (job_spaces) */
		kbsource_due(t, &s, now + q->lease_ms);
		kbsource_save(t, &s);
		out->jobs[out->n++].s = s;	/* its strings the reply's */
		job_spaces(t, &out->jobs[out->n - 1]);
	}
	return t->err;
}

/* ---------------------------------------------------------- the pages */

/* Keeps in the list of spaces a (st_kbpage's) those b holds too. */
static void
spaces_meet(char *a, const char *b)
{
	char id[ST_KB_SPACE_HEX + 1], *p, *w = a, *nl;
	size_t n;

	for (p = a; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		n = (size_t)(nl - p);
		if (n > ST_KB_SPACE_HEX)
			continue;
		memcpy(id, p, n);
		id[n] = '\0';
		if (st_kb_spaces_have(b, id)) {
			memmove(w, p, n + 1);
			w += n + 1;
		}
	}
	*w = '\0';
}

/*
 * Whether the part under k has its chunks' vectors in org's install
 * space: 1 (or it has no chunk), 0, or -1. Its first chunk's tells, a
 * part's vectors being put all at once (kb_vec_put_many).
 */
static int
part_install_held(struct store_txn *t, const char *org,
    const uint8_t k[PAGE_KEY_LEN])
{
	uint64_t id;
	uint32_t n;

	if (page_chunk_ids(t, k, &id, 1, &n) < 0)
		return -1;
	return n == 0 ? 1 : kb_vec_has(t, org, id);
}

/*
 * Page p's spaces (its first part's, under url) made those every part
 * holds: the parts' lists met, and the install's space, as an empty
 * line first, when each part has its vectors (part_install_held). A
 * part missing holds none. 0, or -1.
 */
static int
page_spaces(struct store_txn *t, const struct st_kbsource *s,
    const char *url, struct st_kbpage *p)
{
	char u[ST_KB_URL_MAX + 16], *sp;
	uint8_t k[PAGE_KEY_LEN];
	struct st_kbpage part;
	uint32_t i;
	int held, rc;

	page_key(k, s->id, url);
	held = part_install_held(t, s->org, k);
	for (i = 2; i <= p->parts && held >= 0 && !t->err; i++) {
		snprintf(u, sizeof(u), "%s#part-%u", url, i);
		page_key(k, s->id, u);
		if ((rc = page_load(t, k, &part)) < 0)
			return -1;
		if (p->spaces != NULL)
			spaces_meet(p->spaces, rc == 0 && part.spaces != NULL ?
			    part.spaces : "");
		if (rc == 0)
			st_kbpage_free(&part);
		if (held == 1)
			held = rc == 0 ? part_install_held(t, s->org, k) : 0;
	}
	if (held < 0 || t->err)
		return -1;
	if (asprintf(&sp, "%s%s", held ? "\n" : "", p->spaces != NULL ?
	    p->spaces : "") < 0)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	free(p->spaces);
	p->spaces = sp;
	return 0;
}

int
store_kb_page_get(struct store_txn *t, const struct st_kb_page_get_req *q,
    struct st_kbpage *out)
{
	uint8_t k[PAGE_KEY_LEN];
	struct st_kbsource s;
	int rc;

	if (t->err)
		return t->err;
	if (!source_ok(q->source_id))
		return store_fail(t, PROTO_E_NOT_FOUND, "no such page");
	page_key(k, q->source_id, q->url);
	if ((rc = page_load(t, k, out)) == 1)
		return store_fail(t, PROTO_E_NOT_FOUND, "no such page");
	if (rc == 0 && kbsource_load(t, q->source_id, &s) == 0) {
		(void)page_spaces(t, &s, q->url, out);
		st_kbsource_free(&s);
	}
	return t->err;
}

/*
 * Piece i of q as a chunk of source s's page url, indexed; its key put,
 * what they take added to *bytes. Its id, or 0 (t failed).
 */
static uint64_t
piece_add(struct store_txn *t, const struct st_kbsource *s,
    const uint8_t k[PAGE_KEY_LEN], const char *url,
    const struct st_kb_piece *pc, uint64_t *bytes)
{
	uint8_t ck[CHUNK_KEY_LEN];
	struct st_kbchunk c;
	uint64_t id, n;

	memset(&c, 0, sizeof(c));
	memcpy(c.org, s->org, sizeof(c.org));
	memcpy(c.source_id, s->id, sizeof(c.source_id));
	memcpy(c.lang, s->lang, sizeof(c.lang));
	c.url = (char *)url;
	c.title = pc->title != NULL ? pc->title : "";
	c.headings = pc->headings != NULL ? pc->headings : "";
	c.text = pc->text != NULL ? pc->text : "";
	if (kb_chunk_add_bytes(t, &c, &id, &n) < 0)
		return 0;
	memcpy(ck, k, PAGE_KEY_LEN);
	proto_put_be64(ck + PAGE_KEY_LEN, id);
	db_mark(t, t->st->kb_page_chunks, ck, sizeof(ck),
	    "put knowledge page chunk");
	*bytes += n + KB_ENTRY(sizeof(ck), 1);
	return t->err ? 0 : id;
}

/*
 * The embeddings v of source s's n new chunks ids, put when there is a
 * row for each and they fit the organisation's vectors (its dimension;
 * finite, not all zero): 1, what they take added to *bytes. Else the
 * page stays, found by its words alone (0): a model server that changed
 * its embeddings must not lose the pages.
 */
static int
page_vecs_put(struct store_txn *t, const struct st_kbsource *s,
    const char *space, const struct st_kb_vecs *v, const uint64_t *ids,
    uint32_t n, uint64_t *bytes)
{
	char buf[KB_VEC_NAME_MAX + 1];
	const char *name = kb_vec_space(s->org, space, buf);
	uint32_t have, i;
	float *x;

	if (t->err || v->dim == 0 || n == 0)
		return 0;
	if (name == NULL) {
		log_warnx("knowledge source %s: embeddings of a space id "
		    "refused: kept without them", s->id);
		return 0;
	}
	if (v->data.len / (v->dim * sizeof(float)) != n) {
		log_warnx("knowledge source %s: %u embeddings for %u chunks: "
		    "kept without them", s->id, (unsigned)(v->data.len /
		    (v->dim * sizeof(float))), (unsigned)n);
		return 0;
	}
	have = kb_vec_dim(t, name);
	if (t->err)
		return 0;
	if (have != 0 && have != v->dim) {
		log_warnx("knowledge source %s: embeddings of %u dimensions, "
		    "its organisation's have %u: kept without them", s->id,
		    (unsigned)v->dim, (unsigned)have);
		return 0;
	}
	if ((x = malloc((size_t)n * v->dim * sizeof(float))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return 0;
	}
	for (i = 0; i < n; i++) {
		st_kb_vec_row(v, i, x + (size_t)i * v->dim);
		if (!kb_vec_usable(x + (size_t)i * v->dim, v->dim))
			break;
	}
	if (i < n)
		log_warnx("knowledge source %s: an embedding not finite or "
		    "all zero: kept without them", s->id);
	else if (kb_vec_put_many(t, name, n, ids, x, v->dim) == 0) {
		free(x);
		*bytes += (uint64_t)n * kb_vec_bytes(name, v->dim);
		return 1;
	}
	free(x);
	return 0;
}

/*
 * q's embeddings in its job's other spaces put (page_vecs_put, *bytes
 * its): the spaces stored, each id and a newline, into spaces (room for
 * ST_KB_PAGE_SPACES_MAX).
 */
static void
space_vecs_put(struct store_txn *t, const struct st_kbsource *s,
    const struct st_kb_page_put_req *q, const uint64_t *ids,
    char spaces[ST_KB_PAGE_SPACES_MAX + 1], uint64_t *bytes)
{
	size_t len = 0;
	uint32_t i;

	spaces[0] = '\0';
	for (i = 0; i < q->nsvecs && i < ST_KB_SPACES_MAX; i++) {
		if (q->svecs[i].space[0] == '\0' ||
		    st_kb_spaces_have(spaces, q->svecs[i].space) ||
		    !page_vecs_put(t, s, q->svecs[i].space, &q->svecs[i].vecs,
		    ids, q->n, bytes))
			continue;
		len += (size_t)snprintf(spaces + len,
		    ST_KB_PAGE_SPACES_MAX + 1 - len, "%s\n",
		    q->svecs[i].space);
	}
}

/* What page p's record takes under its key. */
static uint64_t
page_rec_bytes(const struct st_kbpage *p)
{
	return kb_rec_bytes(&st_kbpage_layout, p, PAGE_KEY_LEN);
}

/* p's bytes made its record's and more (its chunks' and vectors'). */
static void
page_bytes_set(struct st_kbpage *p, uint64_t more)
{
	uint64_t n = page_rec_bytes(p) + more;

	p->bytes = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* What chunk id's vector in index name takes (0: none). */
static uint64_t
vec_bytes(struct store_txn *t, const char *name, uint64_t id)
{
	uint32_t dim;

	if (name == NULL || kb_vec_has(t, name, id) != 1 ||
	    (dim = kb_vec_dim(t, name)) == 0)
		return 0;
	return kb_vec_bytes(name, dim);
}

/*
 * What chunk id of page p (of org) takes with its key under the page
 * and its vectors (the install's space's, p's spaces'), as a put counts
 * them. 0 when it is absent.
 */
static uint64_t
chunk_recount(struct store_txn *t, const char *org,
    const struct st_kbpage *p, uint64_t id)
{
	char buf[KB_VEC_NAME_MAX + 1], space[ST_KB_SPACE_HEX + 1];
	const char *sp = p->spaces != NULL ? p->spaces : "", *nl;
	uint64_t n;

	if (kb_chunk_bytes(t, id, &n) != 0)
		return 0;
	n += KB_ENTRY(CHUNK_KEY_LEN, 1) + vec_bytes(t, org, id);
	for (; *sp != '\0'; sp = *nl ? nl + 1 : nl) {
		nl = sp + strcspn(sp, "\n");
		if ((size_t)(nl - sp) >= sizeof(space))
			continue;
		memcpy(space, sp, (size_t)(nl - sp));
		space[nl - sp] = '\0';
		n += vec_bytes(t, kb_vec_space(org, space, buf), id);
	}
	return n;
}

int
kb_page_recount(struct store_txn *t, const struct st_kbsource *s,
    const uint8_t *k, uint64_t *bytes, uint32_t *chunks)
{
	uint64_t ids[ST_KB_PAGE_CHUNKS_MAX], more = 0;
	struct st_kbpage p;
	uint32_t n, i;
	int rc;

	*bytes = 0;
	if (t->err)
		return -1;
	if ((rc = page_load(t, k, &p)) != 0)
		return rc;
	if (page_chunk_ids(t, k, ids, ST_KB_PAGE_CHUNKS_MAX, &n) < 0)
		goto out;
	for (i = 0; i < n && !t->err; i++)
		more += chunk_recount(t, s->org, &p, ids[i]);
	page_bytes_set(&p, more);
	rec_put_rows(t, t->st->kb_pages, k, PAGE_KEY_LEN, &st_kbpage_layout,
	    &p, "put knowledge page");
	*bytes = p.bytes;
	*chunks += n;
out:
	st_kbpage_free(&p);
	return t->err ? -1 : 0;
}

/* src ("" for NULL) copied into *dst, its old one freed: 0, or -1. */
static int
str_set(struct store_txn *t, char **dst, const char *src)
{
	char *c;

	if ((c = strdup(src != NULL ? src : "")) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	free(*dst);
	*dst = c;
	return 0;
}

/*
 * Page old under k seen unchanged by q's sync: its chunks kept, its
 * error and (read again) its links q's; s's bytes follow. Never refused
 * for the quota: what it keeps changes by its links at most.
 */
static void
page_keep(struct store_txn *t, struct st_kbsource *s,
    const struct st_kb_page_put_req *q, const uint8_t k[PAGE_KEY_LEN],
    struct st_kbpage *old)
{
	uint64_t was = old->bytes, rec = page_rec_bytes(old);

	/* Its error is this sync's: "" once it answered again. */
	if (str_set(t, &old->error, q->page.error) < 0)
		return;
	/* Its links when they were read again (its bytes unchanged). */
	if (q->page.links_known) {
		if (str_set(t, &old->links, q->page.links) < 0)
			return;
		old->links_known = 1;
	}
	old->seen = q->sync_id;
	old->fetched_at = t->st->now();
	/* Its record's change; a page of before the count (0) stays out. */
	if (was > 0)
		page_bytes_set(old, was - (rec < was ? rec : was));
	rec_put_rows(t, t->st->kb_pages, k, PAGE_KEY_LEN, &st_kbpage_layout,
	    old, "put knowledge page");
	kb_usage_move(t, s, was, old->bytes);
}

/* The least q's page takes: its record and its pieces' text. */
static uint64_t
put_least(const struct st_kb_page_put_req *q)
{
	uint64_t n = kb_rec_bytes(&st_kbpage_layout, &q->page, PAGE_KEY_LEN);
	uint32_t i;

	for (i = 0; i < q->n; i++)
		n += (q->pieces[i].title != NULL ? strlen(q->pieces[i].title) :
		    0) + (q->pieces[i].headings != NULL ?
		    strlen(q->pieces[i].headings) : 0) +
		    (q->pieces[i].text != NULL ? strlen(q->pieces[i].text) : 0);
	return n;
}

/*
 * The page under k (old, or NULL: none) replaced by q's: its chunks
 * dropped, q's pieces put with their vectors (ids: room for q->n), its
 * record; refused (`full`) when it would take its organisation past the
 * quota, checked before a write by what it takes at least, then by what
 * it took. s's counts and bytes follow.
 */
static void
page_replace(struct store_txn *t, struct st_kbsource *s,
    const struct st_kb_page_put_req *q, const uint8_t k[PAGE_KEY_LEN],
    const struct st_kbpage *old, uint64_t *ids)
{
	char spaces[ST_KB_PAGE_SPACES_MAX + 1];
	uint64_t was = old != NULL ? old->bytes : 0, bytes = 0;
	struct st_kbpage p;
	uint32_t dropped = 0, i;

	if (kb_usage_room(t, s, was, put_least(q)) < 0 ||
	    page_chunks_drop(t, k, 0, &dropped) < 0)
		return;
	for (i = 0; i < q->n && !t->err; i++)
		ids[i] = piece_add(t, s, k, q->page.url, &q->pieces[i], &bytes);
	(void)page_vecs_put(t, s, "", &q->vecs, ids, q->n, &bytes);
	space_vecs_put(t, s, q, ids, spaces, &bytes);
	s->embed_tokens = q->tokens > UINT32_MAX - s->embed_tokens ?
	    UINT32_MAX : s->embed_tokens + q->tokens;
	p = q->page;
	p.spaces = spaces;
	/* What its chunks were just analysed in (piece_add). */
	memcpy(p.lang, s->lang, sizeof(p.lang));
	memcpy(p.source_id, s->id, sizeof(p.source_id));
	p.chunks = q->n;
	p.seen = q->sync_id;
	p.fetched_at = t->st->now();
	page_bytes_set(&p, bytes);
	if (kb_usage_room(t, s, was, p.bytes) < 0)
		return;
	rec_put_rows(t, t->st->kb_pages, k, PAGE_KEY_LEN, &st_kbpage_layout,
	    &p, "put knowledge page");
	kb_usage_move(t, s, was, p.bytes);
	s->chunks = s->chunks - (dropped < s->chunks ? dropped : s->chunks) +
	    q->n;
}

int
store_kb_page_put(struct store_txn *t, const struct st_kb_page_put_req *q,
    struct st_kb_page_put_rep *out)
{
	uint8_t k[PAGE_KEY_LEN];
	struct st_kbsource s;
	struct st_kbpage old;
	uint64_t *ids = NULL;
	int had;

	memset(out, 0, sizeof(*out));
	if (t->err || sync_source(t, q->source_id, q->sync_id, &s) < 0)
		return t->err;
	page_key(k, s.id, q->page.url != NULL ? q->page.url : "");
	if ((had = page_load(t, k, &old)) < 0)
		goto out;
	if (q->keep && had == 1)
		store_fail(t, PROTO_E_INVALID, "keep: no such page");
	else if (q->keep)
		page_keep(t, &s, q, k, &old);
	else if (q->n > 0 && (ids = calloc(q->n, sizeof(*ids))) == NULL)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	else
		page_replace(t, &s, q, k, had == 0 ? &old : NULL, ids);
	if (t->err)
		goto out;
	if (had == 1)
		s.pages++;
	kbsource_save(t, &s);
	out->pages = s.pages;
	out->chunks = s.chunks;
out:
	if (had == 0)
		st_kbpage_free(&old);
	st_kbsource_free(&s);
	free(ids);
	return t->err;
}

/*
 * One step of the pages sync_id did not see: removed, their chunks with
 * them (a page whose chunks outlast the step stays for the next); *more
 * 1 when the step ended early. The source's counts and bytes follow.
 */
static int
unseen_drop(struct store_txn *t, struct st_kbsource *s, uint64_t sync_id,
    int *more)
{
	uint8_t keys[DONE_PAGES][PAGE_KEY_LEN];
	uint64_t bytes[DONE_PAGES];
	uint32_t n = 0, budget = DONE_CHUNKS, dropped, i;
	struct st_kbpage p;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, gone;

	*more = 0;
	if ((cur = txn_seek(t, t->st->kb_pages, s->id, ST_KB_SOURCE_ID_LEN,
	    &k, &v, &rc)) == NULL)
		return -1;
	while (rc == 0 && k.mv_size == PAGE_KEY_LEN &&
	    memcmp(k.mv_data, s->id, ST_KB_SOURCE_ID_LEN) == 0) {
		if (rec_dec_rows(t, &v, &st_kbpage_layout, &p,
		    "knowledge page") < 0)
			break;
		gone = p.seen != sync_id;
		if (gone && n < DONE_PAGES)
			bytes[n] = p.bytes;
		st_kbpage_free(&p);
		if (gone && n == DONE_PAGES) {
			*more = 1;
			break;
		}
		if (gone)
			memcpy(keys[n++], k.mv_data, PAGE_KEY_LEN);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (t->err)
		return -1;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk knowledge pages");
	for (i = 0; i < n && !t->err; i++) {
		if (budget == 0) {
			*more = 1;
			break;
		}
		if (page_chunks_drop(t, keys[i], budget, &dropped) < 0)
			return -1;
		s->chunks -= dropped < s->chunks ? dropped : s->chunks;
		budget -= dropped < budget ? dropped : budget;
		if (budget == 0 && dropped > 0) {
			*more = 1;	/* it may have more: the next step's */
			break;
		}
		db_del(t, t->st->kb_pages, keys[i], PAGE_KEY_LEN,
		    "delete knowledge page");
		kb_usage_move(t, s, bytes[i], 0);
		s->pages -= s->pages > 0;
	}
	return t->err ? -1 : 0;
}

int
store_kb_sync_done(struct store_txn *t, const struct st_kb_sync_done_req *q,
    uint8_t *more)
{
	struct st_kbsource s;
	uint64_t now = t->st->now();
	int left = 0;

	*more = 0;
	if (t->err || sync_source(t, q->source_id, q->sync_id, &s) < 0)
		return t->err;
	if (q->ok == ST_KB_SYNC_AGAIN) {
		/* Its lease cut short: due now, ST_KB_DUE's next. */
		kbsource_due(t, &s, now);
		kbsource_save(t, &s);
		goto out;
	}
	/* Partial: its unseen pages may be where the unread part leads. */
	if (q->ok == 1 && unseen_drop(t, &s, q->sync_id, &left) < 0)
		goto out;
	if (left) {
		*more = 1;
		kbsource_save(t, &s);
		goto out;
	}
	free(s.error);
	if ((s.error = strdup(q->ok == 1 || q->error == NULL ? "" :
	    q->error)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto out;
	}
	s.sync_status = q->ok ? ST_KB_READY : ST_KB_FAILED;
	s.synced_at = now;
	/* An agent's space came while it ran: synced again for it now. */
	kbsource_due(t, &s, s.sync_again ? now : kbsource_next_sync(&s, now));
	s.sync_again = 0;
	kbsource_save(t, &s);
out:
	st_kbsource_free(&s);
	return t->err;
}

/*
 * out syncing, due now (a sync of it running ended) and saved; freed
 * when t failed. t->err.
 */
static int
sync_now(struct store_txn *t, struct st_kbsource *out)
{
	if (!t->err) {
		kbsource_resync(t, out, t->st->now());
		kbsource_save(t, out);
	}
	if (t->err)
		st_kbsource_free(out);
	return t->err;
}

void
kb_sync_soon(struct store_txn *t, const char *org, const char *id)
{
	struct st_kbsource s;
	int rc;

	if (t->err || !source_ok(id))
		return;
	if ((rc = kbsource_load(t, id, &s)) != 0)
		return;		/* gone (1), or t failed */
	if (strcmp(s.org, org) == 0 && s.source_type != ST_KB_QA &&
	    (s.source_type != ST_KB_FILE || kb_file_has(t, id) == 1)) {
		if (s.sync_status != ST_KB_SYNCING)
			sync_now(t, &s);
		else if (!s.sync_again) {
			/* Its sync's spaces were fixed at its start. */
			s.sync_again = 1;
			kbsource_save(t, &s);
		}
	}
	st_kbsource_free(&s);
}

int
store_kb_sync(struct store_txn *t, const char *org, const char *id,
    struct st_kbsource *out)
{
	if (t->err || kbsource_must(t, org, id, out) < 0)
		return t->err;
	if (out->source_type == ST_KB_QA)
		store_fail(t, PROTO_E_INVALID, "type: a qa source is indexed "
		    "when it is saved");
	return sync_now(t, out);
}

int
store_kb_pages(struct store_txn *t, const char *org,
    const struct st_id_page_req *q, struct st_kb_pages *out)
{
	uint8_t start[PAGE_KEY_LEN + 1];
	char last[2 * HASH_LEN + 1] = "";
	struct st_kbsource s;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t klen = ST_KB_SOURCE_ID_LEN;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || kbsource_must(t, org, q->id, &s) < 0)
		return t->err;
	if (q->limit < 1 || q->limit > ST_KB_PAGES_LIMIT_MAX) {
		store_fail(t, PROTO_E_INVALID, "limit: must be 1 to 200");
		goto out;
	}
	memcpy(start, s.id, ST_KB_SOURCE_ID_LEN);
	if (q->cursor != NULL && q->cursor[0] != '\0') {
		if (strlen(q->cursor) != 2 * HASH_LEN ||
		    proto_hex_decode(q->cursor, start + ST_KB_SOURCE_ID_LEN,
		    HASH_LEN) < 0) {
			store_fail(t, PROTO_E_INVALID, "cursor: not one of ours");
			goto out;
		}
		start[PAGE_KEY_LEN] = 0;	/* just past it */
		klen = PAGE_KEY_LEN + 1;
	}
	if ((out->pages = calloc(q->limit, sizeof(*out->pages))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		goto out;
	}
	if ((cur = txn_seek(t, t->st->kb_pages, start, klen, &k, &v, &rc)) ==
	    NULL)
		goto out;
	while (rc == 0 && k.mv_size == PAGE_KEY_LEN &&
	    memcmp(k.mv_data, s.id, ST_KB_SOURCE_ID_LEN) == 0) {
		if (out->n == q->limit) {	/* one more: a next page */
			memcpy(out->next_cursor, last, sizeof(last));
			break;
		}
		if (rec_dec_rows(t, &v, &st_kbpage_layout,
		    &out->pages[out->n], "knowledge page") < 0)
			break;
		proto_hex_encode((const uint8_t *)k.mv_data +
		    ST_KB_SOURCE_ID_LEN, HASH_LEN, last);
		out->n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk knowledge pages");
out:
	st_kbsource_free(&s);
	return t->err;
}

int
kb_pages_clear(struct store_txn *t, const char *source, uint32_t max,
    int *left)
{
	uint8_t keys[DONE_PAGES][CHUNK_KEY_LEN];
	size_t lens[DONE_PAGES];
	MDB_dbi dbs[2] = { t->st->kb_page_chunks, t->st->kb_pages };
	uint32_t n, i, d, done = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*left = 0;
	if (t->err)
		return -1;
	if (!source_ok(source))
		return 0;
	for (d = 0; d < 2 && !t->err; d++) {
		n = 0;
		if ((cur = txn_seek(t, dbs[d], source, ST_KB_SOURCE_ID_LEN, &k,
		    &v, &rc)) == NULL)
			return -1;
		while (rc == 0 && n < DONE_PAGES && done + n < max &&
		    k.mv_size >= PAGE_KEY_LEN && k.mv_size <= CHUNK_KEY_LEN &&
		    memcmp(k.mv_data, source, ST_KB_SOURCE_ID_LEN) == 0) {
			memcpy(keys[n], k.mv_data, k.mv_size);
			lens[n++] = k.mv_size;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		*left |= rc == 0 && k.mv_size >= PAGE_KEY_LEN &&
		    memcmp(k.mv_data, source, ST_KB_SOURCE_ID_LEN) == 0;
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return txn_lmdb(t, rc, "walk knowledge pages gone");
		for (i = 0; i < n; i++)
			db_del(t, dbs[d], keys[i], lens[i],
			    "delete knowledge page gone");
		done += n;
	}
	return t->err ? -1 : 0;
}

/* ---------------------------------------------------------------- files */

int
kb_file_has(struct store_txn *t, const char *source)
{
	MDB_val v;
	int rc;

	if (!source_ok(source))
		return 0;
	if ((rc = db_get(t, t->st->kb_files, source, ST_KB_SOURCE_ID_LEN, &v,
	    "get knowledge file")) < 0)
		return -1;
	return rc == 0;
}

/* An upload's piece: source id | '+' | u64 offset (big-endian: in order). */
#define PIECE_KEY_LEN	(ST_KB_SOURCE_ID_LEN + 1 + 8)

static void
piece_key(uint8_t k[PIECE_KEY_LEN], const char *source, uint64_t offset)
{
	memcpy(k, source, ST_KB_SOURCE_ID_LEN);
	k[ST_KB_SOURCE_ID_LEN] = '+';
	proto_put_be64(k + ST_KB_SOURCE_ID_LEN + 1, offset);
}

/* Where an upload in pieces stands. */
struct pieces {
	uint32_t n;			/* pieces stored */
	uint32_t end;			/* where the last ends */
	uint32_t total;			/* the file's size */
	char ctype[ST_KB_CTYPE_MAX + 1];
};

/*
 * Source's pieces walked in order into p; with join (room for joinsz
 * bytes), their bytes copied into it. 0, or -1 (t failed: a piece that
 * does not follow the one before, or past the total, is corrupt).
 */
static int
pieces_walk(struct store_txn *t, const char *source, struct pieces *p,
    uint8_t *join, uint32_t joinsz)
{
	uint8_t k0[PIECE_KEY_LEN];
	const uint8_t *b;
	MDB_cursor *cur;
	MDB_val k, v;
	struct pdec d;
	size_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	piece_key(k0, source, 0);
	if ((cur = txn_seek(t, t->st->kb_files, k0, sizeof(k0), &k, &v,
	    &rc)) == NULL)
		return -1;
	for (; rc == 0 && k.mv_size == PIECE_KEY_LEN &&
	    memcmp(k.mv_data, k0, ST_KB_SOURCE_ID_LEN + 1) == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (rec_open(t, &v, &d, "knowledge file piece") < 0)
			break;
		pdec_strbuf(&d, p->ctype, sizeof(p->ctype));
		p->total = pdec_u32(&d);
		b = pdec_bytes(&d, &n);
		if (d.err || b == NULL || proto_get_be64((const uint8_t *)
		    k.mv_data + ST_KB_SOURCE_ID_LEN + 1) != p->end ||
		    p->total > ST_KB_FILE_MAX || n > p->total - p->end) {
			rec_corrupt(t, "knowledge file piece");
			break;
		}
		if (join != NULL && p->end + n <= joinsz)
			memcpy(join + p->end, b, n);
		p->end += (uint32_t)n;
		p->n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && !t->err)
		txn_lmdb(t, rc, "walk knowledge file pieces");
	return t->err ? -1 : 0;
}

/* Deletes source's pieces (at most a file's worth: bounded). */
static void
pieces_drop(struct store_txn *t, const char *source)
{
	uint8_t k0[PIECE_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	piece_key(k0, source, 0);
	while (!t->err) {
		/* Seek again after each delete: no cursor state to trust. */
		if ((cur = txn_seek(t, t->st->kb_files, k0, sizeof(k0), &k, &v,
		    &rc)) == NULL)
			return;
		if (rc == 0 && k.mv_size == PIECE_KEY_LEN &&
		    memcmp(k.mv_data, k0, ST_KB_SOURCE_ID_LEN + 1) == 0)
			rc = db_cursor_del(t, cur, t->st->kb_files, &k);
		else if (rc == 0)
			rc = MDB_NOTFOUND;
		mdb_cursor_close(cur);
		if (rc != 0) {
			if (rc != MDB_NOTFOUND)
				write_failed(t, rc, "delete knowledge file piece");
			return;
		}
	}
}

int
kb_file_clear(struct store_txn *t, const char *source)
{
	if (t->err || !source_ok(source))
		return t->err ? -1 : 0;
	db_del_quiet(t, t->st->kb_files, source, ST_KB_SOURCE_ID_LEN,
	    "delete knowledge file");
	pieces_drop(t, source);
	return t->err ? -1 : 0;
}

uint64_t
kb_file_bytes(struct store_txn *t, const char *source)
{
	MDB_val v;

	if (db_get(t, t->st->kb_files, source, ST_KB_SOURCE_ID_LEN, &v,
	    "get knowledge file") != 0)
		return 0;
	return v.mv_size + ST_KB_SOURCE_ID_LEN + KB_ENTRY_BYTES;
}

/*
 * What a file of len bytes of type ctype takes: file_save's record
 * (version, str, bytes), its key.
 */
static uint64_t
file_cost(const char *ctype, uint32_t len)
{
	return 1 + 4 + strlen(ctype) + 4 + (uint64_t)len +
	    ST_KB_SOURCE_ID_LEN + KB_ENTRY_BYTES;
}

/*
 * The file record of source s: type, bytes; refused (`full`) past its
 * organisation's quota, s's bytes following.
 */
static void
file_save(struct store_txn *t, struct st_kbsource *s, const char *ctype,
    const uint8_t *data, uint32_t len)
{
	uint64_t was = kb_file_bytes(t, s->id);
	struct penc e;

	if (kb_usage_room(t, s, was, file_cost(ctype, len)) < 0)
		return;
	penc_init(&e);
	penc_u8(&e, rec_version);
	penc_str(&e, ctype);
	penc_bytes(&e, data, len);
	rec_put(t, t->st->kb_files, s->id, ST_KB_SOURCE_ID_LEN, &e,
	    "put knowledge file");
	penc_free(&e);
	kb_usage_move(t, s, was, kb_file_bytes(t, s->id));
}

/*
 * q's piece stored after the source s's pieces before it (kbmsg.h): *got
 * where they end now; *stored 0 when it does not start there (nothing
 * stored). The last joins them as the file (*whole 1). A first piece of
 * a file that would take s's organisation past its quota is refused
 * (`full`), as its join would be. 0, or -1 (t failed).
 */
static int
piece_put(struct store_txn *t, struct st_kbsource *s,
    const struct st_kb_file_put_req *q, uint32_t *got, uint8_t *stored,
    int *whole)
{
	uint8_t k[PIECE_KEY_LEN];
	uint64_t end = (uint64_t)q->offset + q->data.len;
	struct pieces p;
	struct penc e;
	uint8_t *file;

	*whole = 0;
	*got = 0;
	*stored = 1;
	if (end > q->total)
		return store_fail(t, PROTO_E_INVALID, "Content-Range: past "
		    "the file's size"), -1;
	if (end < q->total && q->data.len < ST_KB_PIECE_MIN)
		return store_fail(t, PROTO_E_INVALID, "Content-Range: a piece "
		    "before the last is at least 8 KiB"), -1;
	if (q->offset == 0 && kb_usage_room(t, s, kb_file_bytes(t, s->id),
	    file_cost(q->content_type, q->total)) < 0)
		return -1;
	if (q->offset == 0)
		pieces_drop(t, q->id);		/* a new upload */
	else if (pieces_walk(t, q->id, &p, NULL, 0) < 0)
		return -1;
	else if (p.n == 0 || p.end != q->offset || p.total != q->total ||
	    strcmp(p.ctype, q->content_type) != 0) {
		/* Resume there: of another size or type, none is this file's. */
		*got = p.total == q->total && strcmp(p.ctype,
		    q->content_type) == 0 ? p.end : 0;
		*stored = 0;
		return 0;
	}
	penc_init(&e);
	penc_u8(&e, rec_version);
	penc_str(&e, q->content_type);
	penc_u32(&e, q->total);
	penc_bytes(&e, q->data.p, q->data.len);
	piece_key(k, q->id, q->offset);
	rec_put(t, t->st->kb_files, k, sizeof(k), &e, "put knowledge file "
	    "piece");
	penc_free(&e);
	*got = (uint32_t)end;
	if (t->err || end < q->total)
		return t->err ? -1 : 0;
	if ((file = malloc(q->total)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	if (pieces_walk(t, q->id, &p, file, q->total) == 0 &&
	    p.end != q->total)
		rec_corrupt(t, "knowledge file pieces");
	if (!t->err) {
		file_save(t, s, q->content_type, file, q->total);
		pieces_drop(t, q->id);
		*whole = 1;
	}
	free(file);
	return t->err ? -1 : 0;
}

int
store_kb_file_put(struct store_txn *t, const char *org,
    const struct st_kb_file_put_req *q, struct st_kb_file_put_rep *out)
{
	int whole = 1;

	memset(out, 0, sizeof(*out));
	out->total = q->total;
	out->stored = 1;
	if (t->err || kbsource_must(t, org, q->id, &out->source) < 0)
		return t->err;
	if (out->source.source_type != ST_KB_FILE)
		store_fail(t, PROTO_E_INVALID, "type: not a file source");
	else if (!st_kb_file_type_ok(q->content_type))
		store_fail(t, PROTO_E_INVALID, "Content-Type: HTML, Markdown, "
		    "plain text or PDF");
	else if (q->data.len > ST_KB_FILE_MAX || q->total > ST_KB_FILE_MAX)
		store_fail(t, PROTO_E_INVALID, "file: at most 7 MiB");
	else if (q->total > 0)
		piece_put(t, &out->source, q, &out->received, &out->stored,
		    &whole);
	else
		file_save(t, &out->source, q->content_type, q->data.p,
		    q->data.len);
	if (t->err) {
		st_kbsource_free(&out->source);
		return t->err;
	}
	/* A piece but the last: the source as it is, nothing new to read. */
	return whole ? sync_now(t, &out->source) : 0;
}

int
store_kb_file_get(struct store_txn *t, const struct st_kb_file_get_req *q,
    struct st_kb_file *out)
{
	struct st_kbsource s;
	struct pdec d;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || sync_source(t, q->source_id, q->sync_id, &s) < 0)
		return t->err;
	st_kbsource_free(&s);
	if ((rc = rec_get(t, t->st->kb_files, q->source_id,
	    ST_KB_SOURCE_ID_LEN, &d, "get knowledge file")) < 0)
		return t->err;
	if (rc == 1)
		return store_fail(t, PROTO_E_NOT_FOUND, "no file uploaded");
	pdec_strbuf(&d, out->content_type, sizeof(out->content_type));
	out->data.p = pdec_bytes(&d, &n);
	if (d.err || out->data.p == NULL || n > ST_KB_FILE_MAX) {
		rec_corrupt(t, "knowledge file");
		return t->err;
	}
	out->data.len = (uint32_t)n;
	return 0;
}
