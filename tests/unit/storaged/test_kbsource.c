/*
 * storaged's knowledge sources (kbmsg.h, kbsource.c), through the
 * dispatcher as a worker asks, who asks set: a qa source indexed at once
 * and found by ST_KB_SEARCH, a crawl left syncing, the checks, an update
 * indexing again, one organisation's search never finding another's, a
 * deleted source never found and its chunks and postings swept to
 * nothing, a deleted organisation's sources swept with it, a changed
 * sync_hours rescheduling the next sync, and a small source found among
 * many other sources' chunks; the spaces a page's every part holds, and
 * a source synced again for an agent's space that came while it synced;
 * Q&As placed first only when they truly match, two at most.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "kbmsg.h"
#include "kbsource.h"
#include "kbvec.h"
#include "orgmsg.h"
#include "orgstore.h"
#include "stmsgs.h"
#include "storaged.h"
#include "wsess.h"
#include "test_fixture.h"
#include "test_who.h"
#include "test_kb.h"

static int
setup(void **state)
{
	return kb_setup(state, "/tmp/parley-kbsource-XXXXXX");
}

static struct st_who
org_new(struct fix *f, const char *name)
{
	return who_org_new(f, &OWNER_A, name);
}

static int
qa_create(struct fix *f, const struct st_who *who, const char *q,
    const char *a, struct st_kbsource *out)
{
	struct st_kbsource in;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.question = (char *)q;
	in.answer = (char *)a;
	return request_who(f, who, PROTO_ST_KB_SOURCE_CREATE, &in, out, NULL);
}

/* The hits of query for who (k 10), in *h. */
static int
search(struct fix *f, const struct st_who *who, const char *query,
    struct st_kb_hits *h)
{
	struct st_kb_search_req q;

	memset(&q, 0, sizeof(q));
	q.query = query;
	q.k = 10;
	return request_who(f, who, PROTO_ST_KB_SEARCH, &q, h, NULL);
}

static void
hits_free(struct st_kb_hits *h)
{
	st_rep_free(PROTO_ST_KB_SEARCH, h);
}

static void
test_qa_found(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s;
	struct st_kb_hits h;

	assert_int_equal(qa_create(f, &OWNER_A, "How do I return an order?",
	    "Send it back within 30 days with the receipt.", &s), 0);
	assert_int_equal(strncmp(s.id, ST_KB_SOURCE_PREFIX, 3), 0);
	assert_int_equal(s.sync_status, ST_KB_READY);
	assert_int_equal(s.chunks, 1);
	assert_true(s.synced_at > 0);
	assert_int_equal(search(f, &OWNER_A, "returning my order", &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].source_id, s.id);
	assert_string_equal(h.hits[0].title, "How do I return an order?");
	assert_string_equal(h.hits[0].text,
	    "Send it back within 30 days with the receipt.");
	assert_true(h.hits[0].score > 0);
	hits_free(&h);
	/* Words it does not hold find nothing. */
	assert_int_equal(search(f, &OWNER_A, "shipping to Canada", &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	st_kbsource_free(&s);
}

static void
test_crawl_syncing(void **state)
{
	struct fix *f = *state;
	struct st_kbsource in, s;
	struct st_kb_source_list l;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_CRAWL;
	in.url = "https://docs.example.com/";
	in.max_pages = 50;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &s, NULL), 0);
	assert_int_equal(s.sync_status, ST_KB_SYNCING);
	assert_true(s.next_sync_at > 0);
	assert_int_equal(s.chunks, 0);
	assert_int_equal(s.max_pages, 50);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_LIST,
	    NULL, &l, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.sources[0].id, s.id);
	st_rep_free(PROTO_ST_KB_SOURCE_LIST, &l);
	st_kbsource_free(&s);
}

static void
test_checks(void **state)
{
	struct fix *f = *state;
	struct st_kbsource in, s;
	struct st_kbsource_update_req u;
	struct st_kb_search_req q;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_CRAWL;
	in.url = "ftp://x.example/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, NULL, NULL), PROTO_E_INVALID);
	in.source_type = ST_KB_QA;
	in.url = "";
	in.question = "Why?";
	in.answer = "  ";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, NULL, NULL), PROTO_E_INVALID);
	in.answer = "Because.";
	strlcpy(in.lang, "xx", sizeof(in.lang));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(qa_create(f, &OWNER_A, "Why?", "Because.", &s), 0);
	/* Its type never changes. */
	memset(&u, 0, sizeof(u));
	u.id = s.id;
	u.mask = ST_KSF_TYPE | ST_KSF_URL;
	u.s.source_type = ST_KB_CRAWL;
	u.s.url = "https://x.example/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_UPDATE,
	    &u, NULL, NULL), PROTO_E_INVALID);
	/* k within 1 to 50. */
	memset(&q, 0, sizeof(q));
	q.query = "why";
	q.k = 51;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SEARCH, &q,
	    NULL, NULL), PROTO_E_INVALID);
	q.k = 0;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SEARCH, &q,
	    NULL, NULL), PROTO_E_INVALID);
	st_kbsource_free(&s);
}

static void
test_update_reindexes(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, s2;
	struct st_kbsource_update_req u;
	struct st_kb_hits h;

	assert_int_equal(qa_create(f, &OWNER_A, "Opening hours?",
	    "We open at nine.", &s), 0);
	memset(&u, 0, sizeof(u));
	u.id = s.id;
	u.mask = ST_KSF_ANSWER;
	u.s.answer = "Doors open at ten on Sundays.";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_UPDATE,
	    &u, &s2, NULL), 0);
	assert_int_equal(s2.chunks, 1);
	assert_int_equal(search(f, &OWNER_A, "sundays", &h), 0);
	assert_int_equal(h.n, 1);
	hits_free(&h);
	/* The old answer's words are gone from the index. */
	assert_int_equal(search(f, &OWNER_A, "nine", &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	assert_int_equal(db_entries(f, "kb_chunks"), 1);
	st_kbsource_free(&s);
	st_kbsource_free(&s2);
}

static void
test_orgs_apart(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_kbsource sa, sb;
	struct st_kb_hits h;

	assert_int_equal(qa_create(f, &OWNER_A, "Warranty length?",
	    "Two years on every kettle.", &sa), 0);
	assert_int_equal(qa_create(f, &b, "Warranty length?",
	    "Five years on every kettle.", &sb), 0);
	assert_int_equal(search(f, &b, "kettle warranty", &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].source_id, sb.id);
	assert_non_null(strstr(h.hits[0].text, "Five"));
	hits_free(&h);
	/* Nor may B read or delete A's source. */
	assert_int_equal(request_who(f, &b, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ sa.id }, NULL, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(request_who(f, &b, PROTO_ST_KB_SOURCE_DELETE,
	    &(struct st_id_req){ sa.id }, NULL, NULL), PROTO_E_NOT_FOUND);
	st_kbsource_free(&sa);
	st_kbsource_free(&sb);
}

/* OWNER_A's source id deleted, and the sweep run to its end. */
static void
deleted_swept(struct fix *f, const char *id)
{
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_DELETE,
	    &(struct st_id_req){ id }, NULL, NULL), 0);
	fix_sweep_all(f);
}

static void
test_delete_sweeps(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, keep;
	struct st_kb_hits h;
	char q[64];
	int i;

	assert_int_equal(qa_create(f, &OWNER_A, "Kept question?",
	    "Kept answer about parcels.", &keep), 0);
	for (i = 0; i < 5; i++) {
		snprintf(q, sizeof(q), "Question %d about parcels?", i);
		assert_int_equal(qa_create(f, &OWNER_A, q, "An answer.", &s),
		    0);
		if (i < 4)
			st_kbsource_free(&s);
	}
	/* The last one deleted: never found, before the sweep too. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_DELETE,
	    &(struct st_id_req){ s.id }, NULL, NULL), 0);
	assert_int_equal(search(f, &OWNER_A, "question 4 parcels", &h), 0);
	for (i = 0; i < (int)h.n; i++)
		assert_string_not_equal(h.hits[i].source_id, s.id);
	hits_free(&h);
	assert_int_equal(db_entries(f, "kb_gone"), 1);
	fix_sweep_all(f);
	assert_int_equal(db_entries(f, "kb_gone"), 0);
	assert_int_equal(db_entries(f, "kb_chunks"), 5);
	assert_int_equal(db_entries(f, "kb_source"), 5);
	st_kbsource_free(&s);
	st_kbsource_free(&keep);
}

static void
test_org_sweep(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_kbsource s;
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(qa_create(f, &b, "Where is the shop?",
		    "On the high street, number twelve.", &s), 0);
		st_kbsource_free(&s);
	}
	assert_int_equal(qa_create(f, &OWNER_A, "Kept?", "Yes, kept.", &s), 0);
	st_kbsource_free(&s);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	fix_sweep_all(f);
	/* The default organisation's alone is left, in every database. */
	assert_int_equal(db_entries(f, "kb_sources"), 1);
	assert_int_equal(db_entries(f, "kb_source_order"), 1);
	assert_int_equal(db_entries(f, "kb_chunks"), 1);
	assert_int_equal(db_entries(f, "kb_source"), 1);
	assert_int_equal(db_entries(f, "kb_stats"), 1);
	assert_int_equal(db_entries(f, "kb_gone"), 0);
}

/*
 * ST_KB_DUE passes over the sources of the organisations it is told the
 * fetcher syncs now: another's, due after theirs, is taken (one
 * organisation's slow site held every other's sources behind it).
 */
static void
test_due_busy(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_str busy[1] = { { ST_ORG_DEFAULT } };
	struct st_kb_due_req q = { 1, 60000, busy, 1 };
	struct st_kbsource in, a1, a2, sb, job;
	struct st_kb_jobs l;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_CRAWL;
	in.url = "https://a.example/docs/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &a1, NULL), 0);
	in.url = "https://a.example/blog/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &a2, NULL), 0);
	in.url = "https://b.example/docs/";
	assert_int_equal(request_who(f, &b, PROTO_ST_KB_SOURCE_CREATE, &in,
	    &sb, NULL), 0);
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_DUE, &q, &l, NULL),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.jobs[0].s.id, sb.id);
	st_rep_free(PROTO_ST_KB_DUE, &l);
	/* Only theirs left: none while they are busy, then theirs. */
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_DUE, &q, &l, NULL),
	    0);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_KB_DUE, &l);
	assert_int_equal(kb_due_one(f, &job), 1);
	assert_string_equal(job.org, ST_ORG_DEFAULT);
	st_kbsource_free(&job);
	st_kbsource_free(&a1);
	st_kbsource_free(&a2);
	st_kbsource_free(&sb);
}

/* The page url of source s in sync sync_id: n pieces, or kept. */
static int
page_put_vecs(struct fix *f, const struct st_kbsource *s, uint64_t sync_id,
    const char *url, const char *const *texts, uint32_t n, int keep,
    const struct st_kb_vecs *v, struct st_kb_page_put_rep *rep);

static int
page_put(struct fix *f, const struct st_kbsource *s, uint64_t sync_id,
    const char *url, const char *const *texts, uint32_t n, int keep,
    struct st_kb_page_put_rep *rep)
{
	return page_put_vecs(f, s, sync_id, url, texts, n, keep, NULL, rep);
}

/* page_put with v's embeddings (NULL: none), a row a piece. */
static int
page_put_vecs(struct fix *f, const struct st_kbsource *s, uint64_t sync_id,
    const char *url, const char *const *texts, uint32_t n, int keep,
    const struct st_kb_vecs *v, struct st_kb_page_put_rep *rep)
{
	struct st_kb_piece pieces[4];
	struct st_kb_page_put_req q;
	uint32_t i;

	kb_page_req(&q, s->id, sync_id, url, "A page");
	q.page.etag = "\"v1\"";
	q.keep = (uint8_t)keep;
	for (i = 0; i < n; i++) {
		pieces[i].title = "A page";
		pieces[i].headings = "";
		pieces[i].text = (char *)texts[i];
	}
	q.pieces = pieces;
	q.n = n;
	if (v != NULL)
		q.vecs = *v;
	return request_who(f, NULL, PROTO_ST_KB_PAGE_PUT, &q, rep, NULL);
}

static int
sync_done(struct fix *f, const struct st_kbsource *s, uint64_t sync_id,
    int ok, uint8_t *more)
{
	struct st_kb_sync_done_req q;
	struct st_u8_rep rep;
	int rc;

	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, s->id, sizeof(q.source_id));
	q.sync_id = sync_id;
	q.ok = (uint8_t)ok;
	q.error = ok == 1 ? "" : ok == ST_KB_SYNC_PARTIAL ?
	    "sitemap https://shop.example/a.xml: HTTP 503" :
	    "start page: HTTP 500";
	rc = request_who(f, NULL, PROTO_ST_KB_SYNC_DONE, &q, &rep, NULL);
	if (rc == 0 && more != NULL)
		*more = rep.v;
	return rc;
}

static void
test_crawl_sync(void **state)
{
	struct fix *f = *state;
	static const char *const a[] = { "Kettles boil water fast.",
	    "Descale kettles monthly." };
	static const char *const b[] = { "Toasters brown bread." };
	struct st_kbsource s, job, job2, got;
	struct st_kb_page_put_rep rep;
	struct st_kb_page_get_req g;
	struct st_kbpage page;
	struct st_kb_hits h;
	uint8_t more = 1;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_string_equal(job.id, s.id);
	assert_true(job.sync_id > 0);
	/* Leased: not due again meanwhile. */
	assert_int_equal(kb_due_one(f, &job2), 0);
	assert_int_equal(page_put(f, &job, job.sync_id, "https://shop.example/k",
	    a, 2, 0, &rep), 0);
	assert_int_equal(page_put(f, &job, job.sync_id, "https://shop.example/t",
	    b, 1, 0, &rep), 0);
	assert_int_equal(rep.pages, 2);
	assert_int_equal(rep.chunks, 3);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.sync_status, ST_KB_READY);
	assert_int_equal(got.next_sync_at, 0);	/* no sync_hours */
	st_kbsource_free(&got);
	assert_int_equal(search(f, &OWNER_A, "toaster", &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].url, "https://shop.example/t");
	hits_free(&h);
	assert_int_equal(kb_due_one(f, &job2), 0);

	/* Synced again on demand: one page kept, the other gone. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SYNC,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.sync_status, ST_KB_SYNCING);
	st_kbsource_free(&got);
	assert_int_equal(kb_due_one(f, &job2), 1);
	assert_true(job2.sync_id > job.sync_id);
	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, s.id, sizeof(g.source_id));
	g.url = "https://shop.example/k";
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_GET, &g, &page,
	    NULL), 0);
	assert_string_equal(page.etag, "\"v1\"");
	assert_int_equal(page.chunks, 2);
	st_kbpage_free(&page);
	/* The old sync is over. */
	assert_int_equal(page_put(f, &job, job.sync_id, "https://shop.example/k",
	    NULL, 0, 1, &rep), PROTO_E_NOT_FOUND);
	assert_int_equal(page_put(f, &job2, job2.sync_id,
	    "https://shop.example/k", NULL, 0, 1, &rep), 0);
	assert_int_equal(sync_done(f, &job2, job2.sync_id, 1, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.pages, 1);
	assert_int_equal(got.chunks, 2);
	st_kbsource_free(&got);
	assert_int_equal(search(f, &OWNER_A, "toaster", &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	assert_int_equal(db_entries(f, "kb_chunks"), 2);
	assert_int_equal(db_entries(f, "kb_page_chunks"), 2);
	assert_int_equal(db_entries(f, "kb_pages"), 1);

	/* Deleted: its pages, chunks and due entry swept to nothing. */
	deleted_swept(f, s.id);
	assert_int_equal(db_entries(f, "kb_pages"), 0);
	assert_int_equal(db_entries(f, "kb_page_chunks"), 0);
	assert_int_equal(db_entries(f, "kb_chunks"), 0);
	assert_int_equal(db_entries(f, "kb_post"), 0);
	assert_int_equal(db_entries(f, "kb_due"), 0);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&job2);
}

/*
 * A source synced again while its sync runs: that sync ended (its puts
 * and done `not found`), a new one due now.
 */
static void
test_sync_again(void **state)
{
	struct fix *f = *state;
	static const char *const a[] = { "Kettles boil water fast." };
	struct st_kbsource s, job, job2, got;
	struct st_kb_page_put_rep rep;
	uint8_t more = 1;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(page_put(f, &job, job.sync_id,
	    "https://shop.example/k", a, 1, 0, &rep), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SYNC,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.sync_status, ST_KB_SYNCING);
	st_kbsource_free(&got);
	assert_int_equal(page_put(f, &job, job.sync_id,
	    "https://shop.example/t", a, 1, 0, &rep), PROTO_E_NOT_FOUND);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(kb_due_one(f, &job2), 1);
	assert_true(job2.sync_id > job.sync_id);
	assert_int_equal(page_put(f, &job2, job2.sync_id,
	    "https://shop.example/t", a, 1, 0, &rep), 0);
	assert_int_equal(sync_done(f, &job2, job2.sync_id, 1, &more), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.sync_status, ST_KB_READY);
	assert_int_equal(got.pages, 1);
	st_kbsource_free(&got);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&job2);
}

/*
 * A partial sync (a part of the site not read): the source ready, its
 * error kept, the pages the sync did not see kept.
 */
static void
test_sync_partial(void **state)
{
	struct fix *f = *state;
	static const char *const a[] = { "Kettles boil water fast." };
	struct st_kbsource s, job, job2, got;
	struct st_kb_page_put_rep rep;
	uint8_t more = 1;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(page_put(f, &job, job.sync_id,
	    "https://shop.example/k", a, 1, 0, &rep), 0);
	assert_int_equal(page_put(f, &job, job.sync_id,
	    "https://shop.example/t", a, 1, 0, &rep), 0);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SYNC,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	st_kbsource_free(&got);
	assert_int_equal(kb_due_one(f, &job2), 1);
	/* /t unseen, kept; the source ready with why. */
	assert_int_equal(page_put(f, &job2, job2.sync_id,
	    "https://shop.example/k", NULL, 0, 1, &rep), 0);
	assert_int_equal(sync_done(f, &job2, job2.sync_id, ST_KB_SYNC_PARTIAL,
	    &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.sync_status, ST_KB_READY);
	assert_string_equal(got.error,
	    "sitemap https://shop.example/a.xml: HTTP 503");
	assert_int_equal(got.pages, 2);
	assert_int_equal(db_entries(f, "kb_pages"), 2);
	st_kbsource_free(&got);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&job2);
}

static void
test_pages_listed(void **state)
{
	struct fix *f = *state;
	static const char *const t[] = { "Some text." };
	struct st_kbsource s, job;
	struct st_kb_page_put_rep rep;
	struct st_id_page_req q;
	struct st_kb_pages l;
	char url[64], cursor[ST_KB_CURSOR_MAX + 1];
	int i, seen = 0, calls = 0;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://docs.example/", 0, &s, &job);
	for (i = 0; i < 5; i++) {
		snprintf(url, sizeof(url), "https://docs.example/%d", i);
		assert_int_equal(page_put(f, &job, job.sync_id, url, t, 1, 0,
		    &rep), 0);
	}
	/* A failed sync keeps its pages. */
	assert_int_equal(sync_done(f, &job, job.sync_id, 0, &more), 0);
	cursor[0] = '\0';
	do {
		memset(&q, 0, sizeof(q));
		q.id = s.id;
		q.limit = 2;
		q.cursor = cursor;
		assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_PAGES,
		    &q, &l, NULL), 0);
		seen += (int)l.n;
		strlcpy(cursor, l.next_cursor, sizeof(cursor));
		st_rep_free(PROTO_ST_KB_PAGES, &l);
	} while (cursor[0] != '\0' && ++calls < 10);
	assert_int_equal(seen, 5);
	assert_int_equal(calls, 2);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

static void
test_file(void **state)
{
	struct fix *f = *state;
	static const uint8_t bytes[] = "# Title\n\nSome words.\n";
	struct st_kbsource in, s, job, got;
	struct st_kb_file_put_req q;
	struct st_kb_file_put_rep put;
	struct st_kb_file_get_req g;
	struct st_kb_file file;
	struct dreply r;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_FILE;
	in.url = "notes.md";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &s, NULL), 0);
	/* Not due before its file. */
	assert_int_equal(s.next_sync_at, 0);
	assert_int_equal(kb_due_one(f, &job), 0);
	memset(&q, 0, sizeof(q));
	q.id = s.id;
	strlcpy(q.content_type, "image/png", sizeof(q.content_type));
	q.data.p = bytes;
	q.data.len = sizeof(bytes) - 1;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, &q,
	    NULL, NULL), PROTO_E_INVALID);
	strlcpy(q.content_type, "text/markdown; charset=utf-8",
	    sizeof(q.content_type));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, &q,
	    &put, NULL), 0);
	assert_int_equal(put.source.sync_status, ST_KB_SYNCING);
	assert_int_equal(put.stored, 1);
	st_kbsource_free(&put.source);
	assert_int_equal(kb_due_one(f, &job), 1);
	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, s.id, sizeof(g.source_id));
	g.sync_id = job.sync_id;
	assert_int_equal(who_run(f, NULL, PROTO_ST_KB_FILE_GET, &g, &file,
	    &r), 0);
	assert_string_equal(file.content_type, "text/markdown; charset=utf-8");
	assert_int_equal(file.data.len, sizeof(bytes) - 1);
	assert_memory_equal(file.data.p, bytes, file.data.len);
	dreply_free(&r);
	/* Another sync's ask: refused. */
	g.sync_id = job.sync_id + 1;
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_FILE_GET, &g, NULL,
	    NULL), PROTO_E_NOT_FOUND);
	/* A qa source takes no file. */
	assert_int_equal(qa_create(f, &OWNER_A, "Q?", "A.", &got), 0);
	q.id = got.id;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, &q,
	    NULL, NULL), PROTO_E_INVALID);
	st_kbsource_free(&got);
	/* Deleted: its file swept. */
	assert_int_equal(db_entries(f, "kb_files"), 1);
	deleted_swept(f, s.id);
	assert_int_equal(db_entries(f, "kb_files"), 0);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* A page put of sync job, with links (NULL: not known), kept or read. */
static void
links_put(struct fix *f, const struct st_kbsource *job, int keep,
    const char *links)
{
	static const char *const text[] = { "Kettles boil water." };
	struct st_kb_piece piece = { "A page", "", (char *)text[0] };
	struct st_kb_page_put_req q;
	struct st_kb_page_put_rep rep;

	kb_page_req(&q, job->id, job->sync_id, "https://shop.example/",
	    "A page");
	q.page.etag = "\"v1\"";
	q.page.links = (char *)links;
	q.page.links_known = links != NULL;
	q.keep = (uint8_t)keep;
	q.pieces = &piece;
	q.n = keep ? 0 : 1;
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_PUT, &q, &rep,
	    NULL), 0);
}

/* The page's links as stored ("-" when not known). */
static void
links_are(struct fix *f, const struct st_kbsource *s, const char *want)
{
	struct st_kb_page_get_req g;
	struct st_kbpage page;

	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, s->id, sizeof(g.source_id));
	g.url = "https://shop.example/";
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_GET, &g, &page,
	    NULL), 0);
	assert_string_equal(page.links_known ? page.links : "-", want);
	st_kbpage_free(&page);
}

/*
 * A link crawl's page keeps its links: stored when read, left by a keep
 * that did not read them (a 304), replaced by one that did (unchanged
 * bytes read for their links alone).
 */
static void
test_page_links(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	links_put(f, &job, 0, NULL);
	links_are(f, &s, "-");
	links_put(f, &job, 0, "kettles\ntoasters\n");
	links_are(f, &s, "kettles\ntoasters\n");
	links_put(f, &job, 1, NULL);
	links_are(f, &s, "kettles\ntoasters\n");
	links_put(f, &job, 1, "");
	links_are(f, &s, "");
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* One piece of an upload (kbmsg.h) of total bytes: its reply in *put. */
static int
piece(struct fix *f, const char *id, const uint8_t *file, uint32_t offset,
    uint32_t len, uint32_t total, struct st_kb_file_put_rep *put)
{
	struct st_kb_file_put_req q;

	memset(&q, 0, sizeof(q));
	q.id = id;
	strlcpy(q.content_type, "text/plain", sizeof(q.content_type));
	q.data.p = file + offset;
	q.data.len = len;
	q.offset = offset;
	q.total = total;
	memset(put, 0, sizeof(*put));
	return request_who(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, &q, put, NULL);
}

/*
 * A file uploaded in pieces: each after the one before, not due before
 * the last, which joins them as the file; a piece elsewhere stores
 * nothing and says where the upload stands; a new upload starts at 0
 * and leaves the file as it was until its last piece.
 */
static void
test_file_pieces(void **state)
{
	struct fix *f = *state;
	enum { A = ST_KB_PIECE_MIN, TOTAL = 2 * ST_KB_PIECE_MIN + 100 };
	static uint8_t file[TOTAL + 1];	/* a byte past: a piece too long */
	struct st_kbsource in, s, job;
	struct st_kb_file_put_rep put;
	struct st_kb_file_get_req g;
	struct st_kb_file got;
	struct dreply r;
	uint32_t i;

	for (i = 0; i < TOTAL; i++)
		file[i] = (uint8_t)('a' + i % 26);
	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_FILE;
	in.url = "big.txt";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &s, NULL), 0);
	/* Not where an upload starts: nothing stored, it stands at 0. */
	assert_int_equal(piece(f, s.id, file, A, A, TOTAL, &put), 0);
	assert_int_equal(put.stored, 0);
	assert_int_equal(put.received, 0);
	st_kbsource_free(&put.source);
	assert_int_equal(db_entries(f, "kb_files"), 0);
	/* The first: stored, not due yet. */
	assert_int_equal(piece(f, s.id, file, 0, A, TOTAL, &put), 0);
	assert_int_equal(put.stored, 1);
	assert_int_equal(put.received, A);
	assert_int_equal(put.total, TOTAL);
	assert_int_equal(put.source.next_sync_at, 0);
	st_kbsource_free(&put.source);
	assert_int_equal(kb_due_one(f, &job), 0);
	/* Bad pieces: past the total, too small before the last. */
	assert_int_equal(piece(f, s.id, file, A, TOTAL - A + 1, TOTAL, &put),
	    PROTO_E_INVALID);
	assert_int_equal(piece(f, s.id, file, A, 100, TOTAL, &put),
	    PROTO_E_INVALID);
	/* Elsewhere, or of another size: nothing stored, resume at A or 0. */
	assert_int_equal(piece(f, s.id, file, A + 1, A, TOTAL, &put), 0);
	assert_int_equal(put.stored, 0);
	assert_int_equal(put.received, A);
	st_kbsource_free(&put.source);
	assert_int_equal(piece(f, s.id, file, A, A, TOTAL + 1, &put), 0);
	assert_int_equal(put.stored, 0);
	assert_int_equal(put.received, 0);
	st_kbsource_free(&put.source);
	assert_int_equal(db_entries(f, "kb_files"), 1);
	/* The rest: joined as the file, due now, the pieces gone. */
	assert_int_equal(piece(f, s.id, file, A, A, TOTAL, &put), 0);
	assert_int_equal(put.received, 2 * A);
	st_kbsource_free(&put.source);
	assert_int_equal(piece(f, s.id, file, 2 * A, TOTAL - 2 * A, TOTAL,
	    &put), 0);
	assert_int_equal(put.stored, 1);
	assert_int_equal(put.received, TOTAL);
	assert_int_equal(put.source.sync_status, ST_KB_SYNCING);
	st_kbsource_free(&put.source);
	assert_int_equal(db_entries(f, "kb_files"), 1);
	assert_int_equal(kb_due_one(f, &job), 1);
	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, s.id, sizeof(g.source_id));
	g.sync_id = job.sync_id;
	assert_int_equal(who_run(f, NULL, PROTO_ST_KB_FILE_GET, &g, &got, &r),
	    0);
	assert_int_equal(got.data.len, TOTAL);
	assert_memory_equal(got.data.p, file, TOTAL);
	dreply_free(&r);
	/* A new upload: the file stays as it was beside its first piece. */
	assert_int_equal(piece(f, s.id, file, 0, A, TOTAL, &put), 0);
	assert_int_equal(put.received, A);
	st_kbsource_free(&put.source);
	assert_int_equal(db_entries(f, "kb_files"), 2);
	assert_int_equal(who_run(f, NULL, PROTO_ST_KB_FILE_GET, &g, &got, &r),
	    0);
	assert_int_equal(got.data.len, TOTAL);
	dreply_free(&r);
	/* Deleted: the file and the piece swept. */
	deleted_swept(f, s.id);
	assert_int_equal(db_entries(f, "kb_files"), 0);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* sync_hours: synced again that long after the last sync ended, not before. */
static void
test_scheduled_sync(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job, got;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://news.example/", 2, &s, &job);
	fake_now += 1000;
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ s.id }, &got, NULL), 0);
	assert_int_equal(got.next_sync_at, fake_now + 2 * 3600000ull);
	st_kbsource_free(&got);
	st_kbsource_free(&job);
	fake_now += 2 * 3600000ull - 1;
	assert_int_equal(kb_due_one(f, &job), 0);
	fake_now += 1;
	assert_int_equal(kb_due_one(f, &job), 1);
	assert_string_equal(job.id, s.id);
	st_kbsource_free(&job);
	st_kbsource_free(&s);
}

/* Source s's sync_hours set to hours; its next_sync_at as the reply has it. */
static uint64_t
hours_set(struct fix *f, const struct st_kbsource *s, uint32_t hours)
{
	struct st_kbsource_update_req u;
	struct st_kbsource got;
	uint64_t at;

	memset(&u, 0, sizeof(u));
	u.id = s->id;
	u.mask = ST_KSF_SYNC_HOURS;
	u.s.sync_hours = hours;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_UPDATE,
	    &u, &got, NULL), 0);
	assert_int_equal(got.sync_hours, hours);
	at = got.next_sync_at;
	st_kbsource_free(&got);
	return at;
}

/*
 * sync_hours changed: the next sync moves to that long after the last
 * (0: none), and is due then. Before, it stayed where the old value put
 * it: never (from 0), a year on (from 8,760 to 1).
 */
static void
test_sync_hours_reschedules(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	uint64_t synced;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://news.example/", 0, &s, &job);
	fake_now += 1000;
	synced = fake_now;
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	st_kbsource_free(&job);
	assert_int_equal(hours_set(f, &s, 8760), synced + 8760 * 3600000ull);
	assert_int_equal(hours_set(f, &s, 1), synced + 3600000ull);
	assert_int_equal(hours_set(f, &s, 0), 0);
	fake_now += 3600000ull;
	assert_int_equal(kb_due_one(f, &job), 0);
	assert_int_equal(hours_set(f, &s, 1), synced + 3600000ull);
	assert_int_equal(kb_due_one(f, &job), 1);
	assert_string_equal(job.id, s.id);
	st_kbsource_free(&job);
	st_kbsource_free(&s);
}

/*
 * A crawl source of shop.example into *crawl, one page of it (url, one
 * piece of text) put and its sync ended: what the retrieve tests search.
 */
static void
crawl_page_synced(struct fix *f, const char *url, const char *text,
    struct st_kbsource *crawl)
{
	const char *const t[] = { text };
	struct st_kb_page_put_rep rep;
	struct st_kbsource job;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, crawl, &job);
	assert_int_equal(page_put(f, &job, job.sync_id, url, t, 1, 0, &rep),
	    0);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	st_kbsource_free(&job);
}

/* ST_KB_RETRIEVE of query in the default organisation's n srcs, k 5. */
static int
retrieve_in(struct fix *f, const char *query, struct st_str *srcs,
    uint32_t n, struct st_kb_hits *h)
{
	struct st_kb_retrieve_req q;

	memset(&q, 0, sizeof(q));
	strlcpy(q.org, "default", sizeof(q.org));
	q.query = query;
	q.k = 5;
	q.sources = srcs;
	q.n = n;
	return request_who(f, NULL, PROTO_ST_KB_RETRIEVE, &q, h, NULL);
}

/* A Q&A (q, a) of OWNER_A into *qa, src naming it for a retrieve. */
static void
qa_listed(struct fix *f, const char *q, const char *a, struct st_kbsource *qa,
    struct st_str *src)
{
	assert_int_equal(qa_create(f, &OWNER_A, q, a, qa), 0);
	src->s = qa->id;
}

/* The n Q&As of qa and crawl freed: what a retrieve test made. */
static void
retrieved_free(struct st_kbsource *qa, uint32_t n, struct st_kbsource *crawl)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_kbsource_free(&qa[i]);
	st_kbsource_free(crawl);
}

/* A turn's search: the owner's qa answer ahead of a better-scored page. */
static void
test_retrieve_qa_first(void **state)
{
	struct fix *f = *state;
	struct st_kbsource crawl, qa;
	struct st_str srcs[2];
	struct st_kb_hits h;

	crawl_page_synced(f, "https://shop.example/returns", "Returns: returns "
	    "are free. Returns within thirty days; returns by post; returns "
	    "at the shop.", &crawl);
	assert_int_equal(qa_create(f, &OWNER_A, "Can I send it back?",
	    "Yes: returns are accepted for most of the items we sell, in "
	    "the shop and online, with the receipt or an order number, and "
	    "the money goes back to the card that paid.", &qa), 0);
	srcs[0].s = crawl.id;
	srcs[1].s = qa.id;
	assert_int_equal(retrieve_in(f, "returns", srcs, 2, &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.hits[0].source_id, qa.id);
	assert_true(h.hits[0].score < h.hits[1].score);	/* yet first */
	hits_free(&h);
	/* A source not listed is not searched. */
	assert_int_equal(retrieve_in(f, "returns", srcs, 1, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].source_id, crawl.id);
	hits_free(&h);
	st_kbsource_free(&crawl);
	st_kbsource_free(&qa);
}

/*
 * Five Q&As sharing one ordinary word with the question, a page that
 * answers it: the Q&As, weak matches, do not take every passage's place
 * (they took all five, the page left out).
 */
static void
test_retrieve_weak_qas(void **state)
{
	struct fix *f = *state;
	static const char *const qas[][2] = {
		{ "Can I cancel an order?", "Yes, within one hour of paying." },
		{ "Is an order insured?", "Yes, every parcel up to 500 euros." },
		{ "Can I pay an order in instalments?", "Yes, in three "
		    "payments by card." },
		{ "Can I return part of an order?", "Yes, any item within "
		    "thirty days." },
		{ "Where is an order made?", "In our workshop in Leeds." },
	};
	struct st_kbsource crawl, qa[5];
	struct st_str srcs[6];
	struct st_kb_hits h;
	uint32_t i;

	crawl_page_synced(f, "https://shop.example/address", "Change the "
	    "delivery address of an order before it ships: open the order "
	    "and choose Change delivery address.", &crawl);
	srcs[0].s = crawl.id;
	for (i = 0; i < 5; i++)
		qa_listed(f, qas[i][0], qas[i][1], &qa[i], &srcs[i + 1]);
	assert_int_equal(retrieve_in(f, "change order delivery address", srcs,
	    6, &h), 0);
	assert_int_equal(h.n, 5);
	for (i = 0; i < h.n && strcmp(h.hits[i].source_id, crawl.id) != 0;
	    i++)
		;
	assert_true(i < h.n);
	/* Ranked by score, the page first: no Q&A placed ahead of it. */
	assert_int_equal(i, 0);
	for (i = 0; i < h.n; i++)
		assert_int_equal(h.hits[i].qa, 0);
	hits_free(&h);
	retrieved_free(qa, 5, &crawl);
}

/*
 * Three Q&As that truly match, a page scored above them: two Q&As go
 * first (marked qa), the third after the page, as their scores rank.
 */
static void
test_retrieve_qa_front_bounded(void **state)
{
	struct fix *f = *state;
	static const char *const qs[] = { "Can I send it back?",
	    "Can I bring it back?", "Can I post it back?" };
	struct st_kbsource crawl, qa[3];
	struct st_str srcs[4];
	struct st_kb_hits h;
	uint32_t i;

	crawl_page_synced(f, "https://shop.example/returns", "Returns: returns "
	    "are free. Returns within thirty days; returns by post; returns "
	    "at the shop.", &crawl);
	srcs[0].s = crawl.id;
	for (i = 0; i < 3; i++)
		qa_listed(f, qs[i], "Yes: returns are accepted for most of the "
		    "items we sell, in the shop and online, with the receipt or "
		    "an order number.", &qa[i], &srcs[i + 1]);
	assert_int_equal(retrieve_in(f, "returns", srcs, 4, &h), 0);
	assert_int_equal(h.n, 4);
	assert_true(h.hits[0].qa && h.hits[1].qa);
	assert_string_not_equal(h.hits[0].source_id, crawl.id);
	assert_string_not_equal(h.hits[1].source_id, crawl.id);
	assert_string_equal(h.hits[2].source_id, crawl.id);
	assert_false(h.hits[2].qa || h.hits[3].qa);
	assert_true(h.hits[3].score < h.hits[2].score);
	hits_free(&h);
	retrieved_free(qa, 3, &crawl);
}

/* A deleted source's chunks take their vectors with them (kbvec.c). */
static void
test_delete_drops_vectors(void **state)
{
	struct fix *f = *state;
	float v[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	struct st_kbsource s;
	struct st_kb_hits h;
	struct store_txn t;

	assert_int_equal(qa_create(f, &OWNER_A, "Vector question?",
	    "A vector answer.", &s), 0);
	assert_int_equal(search(f, &OWNER_A, "vector answer", &h), 0);
	assert_int_equal(h.n, 1);
	store_begin(f->st, &t, 0);
	assert_int_equal(kb_vec_put(&t, "default", h.hits[0].chunk_id, v, 8),
	    0);
	assert_int_equal(store_commit(&t), 0);
	hits_free(&h);
	assert_true(db_entries(f, "kb_vecs") > 0);
	deleted_swept(f, s.id);
	assert_int_equal(db_entries(f, "kb_vecs"), 0);
	assert_int_equal(db_entries(f, "kb_vecseg"), 0);
	assert_int_equal(db_entries(f, "kb_vecq"), 0);
	assert_int_equal(db_entries(f, "kb_vecmeta"), 0);
	assert_int_equal(db_entries(f, "kb_chunks"), 0);
	st_kbsource_free(&s);
}

/* org's vector count, read in a transaction of its own. */
static uint32_t
vec_count(struct fix *f, const char *org)
{
	struct store_txn t;
	uint32_t n;

	store_begin(f->st, &t, 1);
	n = kb_vec_count(&t, org);
	store_abort(&t);
	return n;
}

/* q: an ST_KB_RETRIEVE of the default organisation's source, k 5. */
static void
retrieve_of(struct st_kb_retrieve_req *q, struct st_str *srcs,
    const char *source)
{
	memset(q, 0, sizeof(*q));
	strlcpy(q->org, "default", sizeof(q->org));
	q->k = 5;
	srcs[0].s = source;
	q->sources = srcs;
	q->n = 1;
}

/* ST_KB_RETRIEVE of q's query with embedding qv (NULL: none): its rc. */
static int
retrieve_vec(struct fix *f, struct st_kb_retrieve_req *q, const char *query,
    const float *qv, uint32_t dim, uint32_t rows, struct st_kb_hits *h)
{
	q->query = query;
	memset(&q->qvec, 0, sizeof(q->qvec));
	if (qv != NULL) {
		q->qvec.dim = dim;
		q->qvec.min_score = 500000;
		q->qvec.data.p = (const uint8_t *)qv;
		q->qvec.data.len = rows * dim * sizeof(float);
	}
	return request_who(f, NULL, PROTO_ST_KB_RETRIEVE, q, h, NULL);
}

/*
 * Agent "Own" of OWNER_A into *made: embedding model emb-b at base_url
 * with api_key (NULL: the defaults), src its one knowledge source.
 */
static void
agent_embedding(struct fix *f, const struct st_kbsource *src,
    const char *base_url, const char *api_key, struct st_agent *made)
{
	char *srcs_list[1] = { (char *)src->id };
	struct st_agent a;

	st_agent_defaults(&a);
	a.name = "Own";
	if (base_url != NULL)
		a.base_url = (char *)base_url;
	if (api_key != NULL)
		a.api_key = (char *)api_key;
	a.embedding_model = "emb-b";
	a.knowledge_sources = srcs_list;
	a.nknowledge_sources = 1;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_AGENT_CREATE, &a,
	    made, NULL), 0);
}

/*
 * The one job ST_KB_DUE gives now, src's with one space (want's, key and
 * all, when want is not NULL), into *job: the job before it freed.
 */
static void
due_spaced(struct fix *f, const struct st_kbsource *src,
    const struct st_kb_space *want, struct st_kbsource *job)
{
	struct st_kb_due_req dq = { 1, 60000, NULL, 0 };
	struct st_kb_jobs l;

	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_DUE, &dq, &l, NULL),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.jobs[0].s.id, src->id);
	assert_int_equal(l.jobs[0].nspaces, 1);
	if (want != NULL) {
		assert_string_equal(l.jobs[0].spaces[0].id, want->id);
		assert_string_equal(l.jobs[0].spaces[0].model, want->model);
		assert_string_equal(l.jobs[0].spaces[0].api_key, want->api_key);
		assert_string_equal(l.jobs[0].spaces[0].base_url,
		    want->base_url);
	}
	st_kbsource_free(job);
	*job = l.jobs[0].s;
	memset(&l.jobs[0].s, 0, sizeof(l.jobs[0].s));
	st_rep_free(PROTO_ST_KB_DUE, &l);
}

/*
 * An agent with an embedding model of its own: saved, its source is due
 * again, its job carries the agent's space (key and all); a page's
 * vectors in that space are kept apart, recorded on the page, searched
 * in that space alone; ST_AGENT_EMBED gives a worker the same space.
 */
static void
test_agent_spaces(void **state)
{
	struct fix *f = *state;
	static const char *const t[] = { "Parcels leave within two days." };
	static const float row[] = { 1, 0, 0, 0 }, near[] = { 1, 0.1f, 0, 0 };
	struct st_kb_space want = { "", "https://models.example/v1", "sk-own",
	    "emb-b" };
	char *const space = want.id;
	struct st_kbsource src, job;
	struct st_kb_page_put_req q;
	struct st_kb_page_put_rep rep;
	struct st_kb_space_vecs sv;
	struct st_kb_piece piece = { "Dispatch", "", (char *)t[0] };
	struct st_kb_page_get_req g;
	struct st_kb_retrieve_req rq;
	struct st_kb_space es;
	struct st_kbpage page;
	struct st_agent made;
	struct st_kb_hits h;
	struct st_str rs[1];
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &src, &job);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	agent_embedding(f, &src, "https://models.example/v1", "sk-own", &made);
	st_kb_space_id("https://models.example/v1", "emb-b", space);
	/* Due again at once, with the agent's space. */
	due_spaced(f, &src, &want, &job);
	/* A page with the space's vectors alone. */
	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, job.id, sizeof(q.source_id));
	q.sync_id = job.sync_id;
	q.page.url = "https://shop.example/ship";
	q.page.title = "Dispatch";
	q.page.code = 200;
	q.pieces = &piece;
	q.n = 1;
	memset(&sv, 0, sizeof(sv));
	memcpy(sv.space, space, sizeof(sv.space));
	sv.vecs.dim = 4;
	sv.vecs.data.p = (const uint8_t *)row;
	sv.vecs.data.len = sizeof(row);
	q.svecs = &sv;
	q.nsvecs = 1;
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_PUT, &q, &rep,
	    NULL), 0);
	assert_int_equal(vec_count(f, "default"), 0);
	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, src.id, sizeof(g.source_id));
	g.url = "https://shop.example/ship";
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_GET, &g, &page,
	    NULL), 0);
	assert_true(st_kb_spaces_have(page.spaces, space));
	st_kbpage_free(&page);
	/* Found by meaning in its space, not in the install's. */
	retrieve_of(&rq, rs, src.id);
	assert_int_equal(retrieve_vec(f, &rq, "how fast is shipping", near, 4,
	    1, &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	memcpy(rq.space, space, sizeof(rq.space));
	assert_int_equal(retrieve_vec(f, &rq, "how fast is shipping", near, 4,
	    1, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].text, t[0]);
	hits_free(&h);
	strlcpy(rq.space, "not hex at all!!", sizeof(rq.space));
	assert_int_equal(retrieve_vec(f, &rq, "how fast is shipping", near, 4,
	    1, &h), PROTO_E_INVALID);
	/* The worker's ask for the agent's model, key included. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_AGENT_EMBED,
	    &(struct st_id_req){ made.id }, &es, NULL), 0);
	assert_string_equal(es.id, space);
	assert_string_equal(es.api_key, "sk-own");
	st_rep_free(PROTO_ST_AGENT_EMBED, &es);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_AGENT_EMBED,
	    &(struct st_id_req){ "0123456789abcdef0123456789abcdef" }, &es,
	    NULL), PROTO_E_INVALID);
	st_agent_free(&made);
	st_kbsource_free(&src);
	st_kbsource_free(&job);
}

/*
 * A one-piece part of page url in job's sync (parts: the first's count),
 * with the install's vector (install) and space's (NULL: none).
 */
static void
part_put(struct fix *f, const struct st_kbsource *job, const char *url,
    uint32_t parts, int install, const char *space)
{
	static const float row[] = { 1, 0, 0, 0 };
	struct st_kb_piece piece = { "Dispatch", "",
	    "Parcels leave within two days." };
	struct st_kb_vecs v = { 4, 0, { (const uint8_t *)row,
	    sizeof(row) } };
	struct st_kb_space_vecs sv;
	struct st_kb_page_put_req q;
	struct st_kb_page_put_rep rep;

	kb_page_req(&q, job->id, job->sync_id, url, "Dispatch");
	q.page.parts = parts;
	q.pieces = &piece;
	q.n = 1;
	if (install)
		q.vecs = v;
	if (space != NULL) {
		memset(&sv, 0, sizeof(sv));
		strlcpy(sv.space, space, sizeof(sv.space));
		sv.vecs = v;
		q.svecs = &sv;
		q.nsvecs = 1;
	}
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_PUT, &q, &rep,
	    NULL), 0);
}

/* 1 when ST_KB_PAGE_GET of source's page url says it holds space. */
static int
page_holds(struct fix *f, const struct st_kbsource *src, const char *url,
    const char *space)
{
	struct st_kb_page_get_req g;
	struct st_kbpage page;
	int held;

	memset(&g, 0, sizeof(g));
	strlcpy(g.source_id, src->id, sizeof(g.source_id));
	g.url = url;
	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_PAGE_GET, &g, &page,
	    NULL), 0);
	held = st_kb_spaces_have(page.spaces, space);
	st_kbpage_free(&page);
	return held;
}

/*
 * ST_KB_PAGE_GET's spaces: those every part of the page holds, the
 * install's ("") when each part's chunks have its vectors (a page of no
 * chunk needs none; a part missing holds none). A page stored without
 * them (the embedding server failing, the model set after) is read
 * again for them by the fetcher (crawl.c's spaces_held).
 */
static void
test_page_spaces(void **state)
{
	struct fix *f = *state;
	static const char *const A = "https://shop.example/a";
	static const char *const A2 = "https://shop.example/a#part-2";
	char space[ST_KB_SPACE_HEX + 1];
	struct st_kb_page_put_rep rep;
	struct st_kbsource src, job;

	st_kb_space_id("https://models.example/v1", "emb-b", space);
	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &src, &job);
	/* Both parts with the install's vectors, the second not the space's. */
	part_put(f, &job, A, 2, 1, space);
	part_put(f, &job, A2, 0, 1, NULL);
	assert_true(page_holds(f, &src, A, ""));
	assert_false(page_holds(f, &src, A, space));
	part_put(f, &job, A2, 0, 1, space);
	assert_true(page_holds(f, &src, A, space));
	/* The second part put without the install's vectors. */
	part_put(f, &job, A2, 0, 0, space);
	assert_false(page_holds(f, &src, A, ""));
	assert_true(page_holds(f, &src, A, space));
	/* One part without them; a part missing; a page of no chunk. */
	part_put(f, &job, "https://shop.example/b", 1, 0, NULL);
	assert_false(page_holds(f, &src, "https://shop.example/b", ""));
	part_put(f, &job, "https://shop.example/c", 2, 1, space);
	assert_false(page_holds(f, &src, "https://shop.example/c", ""));
	assert_false(page_holds(f, &src, "https://shop.example/c", space));
	assert_int_equal(page_put(f, &job, job.sync_id,
	    "https://shop.example/d", NULL, 0, 0, &rep), 0);
	assert_true(page_holds(f, &src, "https://shop.example/d", ""));
	st_kbsource_free(&src);
	st_kbsource_free(&job);
}

/*
 * An agent given an embedding model while its source syncs: that sync
 * (its spaces fixed when it began) goes on, and its end makes the
 * source due again at once, the agent's space in the job; that one's
 * end, not.
 */
static void
test_space_while_syncing(void **state)
{
	struct fix *f = *state;
	struct st_kbsource src, job, got;
	struct st_agent made;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &src, &job);
	agent_embedding(f, &src, NULL, NULL, &made);
	assert_int_equal(kb_due_one(f, &got), 0);	/* the sync goes on */
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	due_spaced(f, &src, NULL, &job);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	assert_int_equal(kb_due_one(f, &got), 0);
	st_agent_free(&made);
	st_kbsource_free(&src);
	st_kbsource_free(&job);
}

/*
 * Hybrid search: a page's embeddings stored with it; a question with no
 * word in common found by its embedding alone when near enough, merged
 * with the words' hits by rank fusion otherwise; embeddings that do not
 * fit (another dimension, not finite) leave the page found by its words.
 */
static void
test_hybrid_retrieve(void **state)
{
	struct fix *f = *state;
	static const char *const t[] = {
		"Parcels leave the warehouse within two days.",
		"Gift cards never expire.",
		"Opening hours: nine to five on weekdays.",
	};
	static const float rows[] = { 1, 0, 0, 0,  0, 1, 0, 0,  0, 0, 1, 0 };
	static const float bad[] = { 1, 0, 0, 0,  0, 0, 0, 0 };
	const float near0[] = { 1, 0.1f, 0, 0 }, off[] = { 0, 0, 0, 1 };
	const float two[] = { 1, 0, 0, 0, 1, 0, 0, 0 }, zero[4] = { 0 };
	const float five[] = { 1, 0, 0, 0, 0 };
	struct st_kb_vecs v = { 4, 0, { (const uint8_t *)rows,
	    sizeof(rows) } };
	struct st_kbsource src, job;
	struct st_kb_page_put_rep rep;
	struct st_kb_retrieve_req q;
	struct st_str srcs[1];
	struct st_kb_hits h;
	uint8_t more;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &src, &job);
	assert_int_equal(page_put_vecs(f, &job, job.sync_id,
	    "https://shop.example/faq", t, 3, 0, &v, &rep), 0);
	assert_int_equal(vec_count(f, "default"), 3);
	/* A page whose rows do not fit is stored without them. */
	v.data.p = (const uint8_t *)bad;
	v.data.len = sizeof(bad);
	assert_int_equal(page_put_vecs(f, &job, job.sync_id,
	    "https://shop.example/zero", t + 1, 2, 0, &v, &rep), 0);
	v.dim = 5;
	v.data.p = (const uint8_t *)five;
	v.data.len = sizeof(five);
	assert_int_equal(page_put_vecs(f, &job, job.sync_id,
	    "https://shop.example/five", t + 2, 1, 0, &v, &rep), 0);
	assert_int_equal(rep.chunks, 6);
	assert_int_equal(vec_count(f, "default"), 3);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);

	retrieve_of(&q, srcs, src.id);
	/* No word in common: nothing by words, the parcels by meaning. */
	assert_int_equal(retrieve_vec(f, &q, "how fast is shipping", NULL, 0,
	    0, &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	assert_int_equal(retrieve_vec(f, &q, "how fast is shipping", near0, 4,
	    1, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].text, t[0]);
	hits_free(&h);
	/* Off topic: the nearest is not near enough. */
	assert_int_equal(retrieve_vec(f, &q, "how fast is shipping", off, 4,
	    1, &h), 0);
	assert_int_equal(h.n, 0);
	hits_free(&h);
	/*
	 * Both lists: the gift cards found by words (twice: one page has
	 * no vectors) and the parcels by meaning, fused (1/61 a list's
	 * first, 1/62 its second): the card chunk both lists hold first,
	 * then the parcels. The other page's card chunk is the same
	 * passage (title, headings, text): kept once, where it ranks first.
	 */
	assert_int_equal(retrieve_vec(f, &q, "gift cards", rows, 4, 1, &h),
	    0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.hits[0].text, t[1]);
	assert_string_equal(h.hits[1].text, t[0]);
	assert_int_equal(h.hits[0].score, (uint32_t)((1.0 / 61 + 1.0 / 62) *
	    1e6));
	assert_int_equal(h.hits[1].score, (uint32_t)(1e6 / 61));
	hits_free(&h);
	/* Another dimension: searched by words alone (the two pages' card
	 * passage, once). */
	assert_int_equal(retrieve_vec(f, &q, "gift cards", five, 5, 1, &h),
	    0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.hits[0].text, t[1]);
	hits_free(&h);
	/* Not one usable row: refused. */
	assert_int_equal(retrieve_vec(f, &q, "gift cards", two, 4, 2, &h),
	    PROTO_E_INVALID);
	assert_int_equal(retrieve_vec(f, &q, "gift cards", zero, 4, 1, &h),
	    PROTO_E_INVALID);
	st_kbsource_free(&src);
	st_kbsource_free(&job);
}

/*
 * n chunks of source s (its org "default") of text, put straight into
 * the index, ids into ids; the first nv of them with vector v (8 dims).
 */
static void
chunks_put(struct fix *f, const struct st_kbsource *s, const char *text,
    uint64_t *ids, uint32_t n, const float *v, uint32_t nv)
{
	static float rows[1024 * 8];
	struct st_kbchunk c;
	struct store_txn t;
	uint32_t i;

	assert_true(nv <= 1024);
	store_begin(f->st, &t, 0);
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		strlcpy(c.org, "default", sizeof(c.org));
		memcpy(c.source_id, s->id, sizeof(c.source_id));
		memcpy(c.lang, s->lang, sizeof(c.lang));
		c.url = "https://old.example/p";
		c.title = "Old page";
		c.headings = "";
		c.text = (char *)text;
		assert_int_equal(kb_chunk_add(&t, &c, &ids[i]), 0);
	}
	for (i = 0; i < nv; i++)
		memcpy(rows + 8 * i, v, 8 * sizeof(*v));
	if (nv > 0)
		assert_int_equal(kb_vec_put_many(&t, "default", nv, ids, rows,
		    8), 0);
	assert_int_equal(store_commit(&t), 0);
}

/* A query's embedding, and the vector of source A's chunks: the same. */
static const float NEAR[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };

/*
 * Source A of n older chunks matching "returns" (the first nv with the
 * vector NEAR), then source B (into *b) of two chunks matching it too,
 * their vectors less near NEAR (a sign apart, cosines of 0.85).
 */
static void
small_source_new(struct fix *f, uint32_t n, uint32_t nv,
    struct st_kbsource *b)
{
	static const char *const t[] = { "Returns need the receipt.",
	    "Returns by post take a week." };
	static const float mine[16] = { 1, 1, 1, 1, 1, 1, 1, -0.5f,
	    1, 1, 1, 1, 1, 1, -0.5f, 1 };
	static uint64_t ids[20500];
	struct st_kb_vecs v = { 8, 0, { (const uint8_t *)mine,
	    sizeof(mine) } };
	struct st_kbsource a, job;
	struct st_kb_page_put_rep rep;
	uint8_t more;

	assert_true(n <= 20500);
	kb_crawl_new(f, &OWNER_A, "https://old.example/", 0, &a, &job);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	st_kbsource_free(&job);
	chunks_put(f, &a, "Returns are free within thirty days.", ids, n,
	    NEAR, nv);
	kb_crawl_new(f, &OWNER_A, "https://new.example/", 0, b, &job);
	assert_int_equal(page_put_vecs(f, &job, job.sync_id,
	    "https://new.example/returns", t, 2, 0, &v, &rep), 0);
	assert_int_equal(sync_done(f, &job, job.sync_id, 1, &more), 0);
	st_kbsource_free(&a);
	st_kbsource_free(&job);
}

/* A retrieve of b alone for query (embedding NEAR, or none) finds b's 2. */
static void
small_source_found(struct fix *f, const struct st_kbsource *b,
    const char *query, int vec)
{
	struct st_kb_retrieve_req q;
	struct st_str srcs[1];
	struct st_kb_hits h;

	retrieve_of(&q, srcs, b->id);
	assert_int_equal(retrieve_vec(f, &q, query, vec ? NEAR : NULL, 8,
	    vec ? 1 : 0, &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.hits[0].source_id, b->id);
	assert_string_equal(h.hits[1].source_id, b->id);
	hits_free(&h);
}

/* small_source_new(n, nv), then small_source_found(query, vec). */
static void
small_source_case(struct fix *f, uint32_t n, uint32_t nv, const char *query,
    int vec)
{
	struct st_kbsource b;

	small_source_new(f, n, nv, &b);
	small_source_found(f, &b, query, vec);
	st_kbsource_free(&b);
}

/*
 * A small source found by words among many others' chunks: 20,500 older
 * chunks of A match too, past KB_FILTER_MAX (the filter's questions).
 * Before, A's chunks spent every question: none of B's was found.
 */
static void
test_small_source_words(void **state)
{
	small_source_case(*state, 20500, 0, "returns", 0);
}

/*
 * A small source found by meaning among many others' vectors: 1,000 of
 * A's nearer the query than B's, past KB_VEC_CANDIDATES. Before, A's
 * took every candidate and were refused after: none of B's was found.
 */
static void
test_small_source_vectors(void **state)
{
	small_source_case(*state, 1000, 1000, "how fast is shipping", 1);
}

/* Every test on a store of its own. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_qa_found),
		T(test_crawl_syncing),
		T(test_checks),
		T(test_update_reindexes),
		T(test_orgs_apart),
		T(test_delete_sweeps),
		T(test_org_sweep),
		T(test_due_busy),
		T(test_crawl_sync),
		T(test_sync_partial),
		T(test_sync_again),
		T(test_pages_listed),
		T(test_agent_spaces),
		T(test_page_spaces),
		T(test_space_while_syncing),
		T(test_page_links),
		T(test_file_pieces),
		T(test_file),
		T(test_delete_drops_vectors),
		T(test_retrieve_qa_first),
		T(test_retrieve_weak_qas),
		T(test_retrieve_qa_front_bounded),
		T(test_scheduled_sync),
		T(test_hybrid_retrieve),
		T(test_sync_hours_reschedules),
		T(test_small_source_words),
		T(test_small_source_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
