/*
 * storaged's knowledge-base unit tests' shared steps (test_kbsource,
 * test_kbquota): a crawl source made and its first sync's job taken, as
 * the fetcher takes it. Include after test_fixture.h and test_who.h.
 */
#ifndef PARLEY_TEST_KB_H
#define PARLEY_TEST_KB_H

/* Who makes the sources: the install key, the default organisation's owner. */
static struct st_who OWNER_A;

/* A cmocka setup: OWNER_A, and the fixture in a directory made of tmpl. */
static inline int
kb_setup(void **state, const char *tmpl)
{
	OWNER_A = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	return fix_setup(state, tmpl, 0);
}

/* ST_KB_DUE for one job (lease 60 s): 1 taken into *job, 0 none. */
static inline int
kb_due_one(struct fix *f, struct st_kbsource *job)
{
	struct st_kb_due_req q = { 1, 60000, NULL, 0 };
	struct st_kb_jobs l;
	int n;

	assert_int_equal(request_who(f, NULL, PROTO_ST_KB_DUE, &q, &l, NULL),
	    0);
	n = (int)l.n;
	if (n == 1) {
		*job = l.jobs[0].s;
		memset(&l.jobs[0].s, 0, sizeof(l.jobs[0].s));
	}
	st_rep_free(PROTO_ST_KB_DUE, &l);
	return n;
}

/* A crawl source of url made by who (*s; sync every sync_hours, 0 never
 * again) and its first sync's job taken (*job). */
static inline void
kb_crawl_new(struct fix *f, const struct st_who *who, const char *url,
    uint32_t sync_hours, struct st_kbsource *s, struct st_kbsource *job)
{
	struct st_kbsource in;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_CRAWL;
	in.url = (char *)url;
	in.sync_hours = sync_hours;
	assert_int_equal(request_who(f, who, PROTO_ST_KB_SOURCE_CREATE, &in,
	    s, NULL), 0);
	assert_int_equal(kb_due_one(f, job), 1);
}

/*
 * *q zeroed as a page of source id's sync sync_id: url, its title, HTTP
 * 200, no etag (callers set what else they test).
 */
static inline void
kb_page_req(struct st_kb_page_put_req *q, const char *id, uint64_t sync_id,
    const char *url, const char *title)
{
	memset(q, 0, sizeof(*q));
	strlcpy(q->source_id, id, sizeof(q->source_id));
	q->sync_id = sync_id;
	q->page.url = (char *)url;
	q->page.title = (char *)title;
	q->page.code = 200;
}

#endif
