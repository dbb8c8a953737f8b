/*
 * storaged's knowledge base quota (kbusage.c), through the dispatcher as
 * the fetcher and a worker ask: an organisation's count follows its
 * pages as they are put, replaced, kept, gone from a sync and deleted
 * with their source, its qa chunks and its files; the count outlives a
 * reopen; past the quota a page, a file, a qa and a new source are
 * refused `full` with a message saying so and the size, what was stored
 * before kept and found, another organisation untouched, and a deleted
 * source makes room again. The list says used and quota. Knowledge of
 * a data directory from before the count is counted once at open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "kbmsg.h"
#include "kbusage.h"
#include "kbvec.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "storaged.h"
#include "wsess.h"
#include "test_fixture.h"
#include "test_who.h"
#include "test_kb.h"

#define URL_A	"https://shop.example/a"
#define URL_B	"https://shop.example/b"

static int
setup(void **state)
{
	return kb_setup(state, "/tmp/parley-kbquota-XXXXXX");
}

/*
 * A text of words words, malloc'd: its first ten distinct to seed
 * ("w<seed>x<i>"), the rest drawn from a vocabulary of 3,000 shared by
 * every text, the common ones more often (as a site's pages are).
 */
static char *
text_of(unsigned seed, unsigned words)
{
	char *t = calloc(words, 16);
	size_t n = 0;
	unsigned i, x = seed * 2654435761u + 1;

	assert_non_null(t);
	for (i = 0; i < words; i++) {
		x = x * 1103515245u + 12345u;
		if (i < 10)
			n += (size_t)snprintf(t + n, 16, "%sw%ux%u",
			    i ? " " : "", seed, i);
		else
			n += (size_t)snprintf(t + n, 16, " v%u",
			    (x >> 8) % 3000 * ((x >> 20) % 4 + 1) / 4);
	}
	return t;
}

/*
 * Page url of job's sync: n pieces of words words each (seed their
 * text's), v (NULL: none) their vectors; kept when keep. The error code,
 * its message into msg (when not NULL, room for 256).
 */
static int
put(struct fix *f, const struct st_kbsource *job, const char *url,
    unsigned seed, uint32_t n, unsigned words, int keep,
    const struct st_kb_vecs *v, char *msg)
{
	struct st_kb_piece pieces[4];
	struct st_kb_page_put_req q;
	struct st_kb_page_put_rep rep;
	struct dreply r;
	uint32_t i;
	int rc;

	kb_page_req(&q, job->id, job->sync_id, url, "A page");
	q.keep = (uint8_t)keep;
	for (i = 0; i < n; i++) {
		pieces[i].title = "A page";
		pieces[i].headings = "";
		pieces[i].text = text_of(seed + i, words);
	}
	q.pieces = pieces;
	q.n = n;
	if (v != NULL)
		q.vecs = *v;
	rc = who_run(f, NULL, PROTO_ST_KB_PAGE_PUT, &q, &rep, &r);
	if (msg != NULL)
		snprintf(msg, 256, "%s", r.errmsg != NULL ? r.errmsg : "");
	dreply_free(&r);
	for (i = 0; i < n; i++)
		free(pieces[i].text);
	return rc;
}

/* ST_KB_SYNC_DONE ok of job's sync, run to its end. */
static void
done(struct fix *f, const struct st_kbsource *job)
{
	struct st_kb_sync_done_req q;
	struct st_u8_rep rep;

	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, job->id, sizeof(q.source_id));
	q.sync_id = job->sync_id;
	q.ok = 1;
	q.error = "";
	do
		assert_int_equal(request_who(f, NULL, PROTO_ST_KB_SYNC_DONE,
		    &q, &rep, NULL), 0);
	while (rep.v);
}

/* who's organisation's knowledge base as the list says: used (*quota). */
static uint64_t
used_of(struct fix *f, const struct st_who *who, uint64_t *quota)
{
	struct st_kb_source_list l;
	uint64_t u;

	assert_int_equal(request_who(f, who, PROTO_ST_KB_SOURCE_LIST, NULL,
	    &l, NULL), 0);
	u = l.used;
	if (quota != NULL)
		*quota = l.quota;
	st_rep_free(PROTO_ST_KB_SOURCE_LIST, &l);
	return u;
}

/* Source id's bytes (OWNER_A's). */
static uint64_t
bytes_of(struct fix *f, const char *id)
{
	struct st_kbsource s;
	uint64_t b;

	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_GET,
	    &(struct st_id_req){ id }, &s, NULL), 0);
	b = s.bytes;
	st_kbsource_free(&s);
	return b;
}

/* The hits of query for who (k 10): how many. */
static uint32_t
found(struct fix *f, const struct st_who *who, const char *query)
{
	struct st_kb_search_req q;
	struct st_kb_hits h;
	uint32_t n;

	memset(&q, 0, sizeof(q));
	q.query = query;
	q.k = 10;
	assert_int_equal(request_who(f, who, PROTO_ST_KB_SEARCH, &q, &h,
	    NULL), 0);
	n = h.n;
	st_rep_free(PROTO_ST_KB_SEARCH, &h);
	return n;
}

/*
 * The count goes up with each page put, down with a smaller one put in
 * its place, stays with one kept, goes down with the pages a sync did
 * not see, and to nothing (its key gone) when the source is deleted;
 * each step the source's bytes are the organisation's.
 */
static void
test_count_follows_pages(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job, job2;
	uint64_t a, ab, a2, quota = 1;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(used_of(f, &OWNER_A, &quota), 0);
	assert_int_equal(quota, 0);	/* none set */
	assert_int_equal(put(f, &job, URL_A, 1, 2, 200, 0, NULL, NULL), 0);
	a = used_of(f, &OWNER_A, NULL);
	/* Two chunks of 200 words: their text, postings and records. */
	assert_true(a > 2 * 200 * 5);
	assert_int_equal(bytes_of(f, s.id), a);
	assert_int_equal(put(f, &job, URL_B, 10, 1, 100, 0, NULL, NULL), 0);
	ab = used_of(f, &OWNER_A, NULL);
	assert_true(ab > a);
	/* A replaced by less: the count follows it down. */
	assert_int_equal(put(f, &job, URL_A, 20, 1, 50, 0, NULL, NULL), 0);
	a2 = used_of(f, &OWNER_A, NULL);
	assert_true(a2 < ab);
	assert_int_equal(bytes_of(f, s.id), a2);
	/* Kept as it is: the same. */
	assert_int_equal(put(f, &job, URL_A, 0, 0, 0, 1, NULL, NULL), 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), a2);
	done(f, &job);
	/* A sync that sees A alone: B's bytes go with B. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SYNC,
	    &(struct st_id_req){ s.id }, NULL, NULL), 0);
	assert_int_equal(kb_due_one(f, &job2), 1);
	assert_int_equal(put(f, &job2, URL_A, 0, 0, 0, 1, NULL, NULL), 0);
	done(f, &job2);
	assert_true(used_of(f, &OWNER_A, NULL) < a2);
	assert_int_equal(bytes_of(f, s.id), used_of(f, &OWNER_A, NULL));
	/* Deleted: nothing counted at once, its data swept after. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_DELETE,
	    &(struct st_id_req){ s.id }, NULL, NULL), 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), 0);
	assert_int_equal(db_entries(f, "kb_usage"), 0);
	fix_sweep_all(f);
	assert_int_equal(db_entries(f, "kb_chunks"), 0);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&job2);
}

/* *v: two rows of 8 dimensions, 1 to 8 each, in rows. */
static void
vecs_two(float rows[2][8], struct st_kb_vecs *v)
{
	int i;

	for (i = 0; i < 8; i++)
		rows[0][i] = rows[1][i] = (float)(i + 1);
	memset(v, 0, sizeof(*v));
	v->dim = 8;
	v->data.p = (const uint8_t *)rows;
	v->data.len = 2 * 8 * sizeof(float);
}

/* A page's vectors count: its quantised codes, a row a chunk. */
static void
test_vectors_count(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	float rows[2][8];
	struct st_kb_vecs v;
	uint64_t plain, with;

	vecs_two(rows, &v);
	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(put(f, &job, URL_A, 1, 2, 40, 0, NULL, NULL), 0);
	plain = used_of(f, &OWNER_A, NULL);
	assert_int_equal(put(f, &job, URL_A, 1, 2, 40, 0, &v, NULL), 0);
	with = used_of(f, &OWNER_A, NULL);
	assert_int_equal(with - plain, 2 * kb_vec_bytes(ST_ORG_DEFAULT, 8));
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* The count is durable: the same after the store is opened again. */
static void
test_count_reopen(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	uint64_t u;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(put(f, &job, URL_A, 1, 3, 120, 0, NULL, NULL), 0);
	u = used_of(f, &OWNER_A, NULL);
	assert_true(u > 0);
	fix_reopen(f);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);
	assert_int_equal(bytes_of(f, s.id), u);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* rc and msg as a refusal for a full knowledge base. */
static void
assert_full(int rc, const char *msg)
{
	assert_int_equal(rc, PROTO_E_FULL);
	assert_non_null(strstr(msg, "knowledge base is full"));
	assert_non_null(strstr(msg, "MiB"));
	assert_non_null(strstr(msg, "PARLEY_KB_QUOTA_MB"));
}

/*
 * Past the quota: the page refused `full` (the message says so and the
 * size), nothing of it stored, the pages before it kept and found; a new
 * source and a qa refused; another organisation's pages stored; a
 * deleted source makes room.
 */
static void
test_quota_refuses(void **state)
{
	struct fix *f = *state;
	struct st_who b = who_org_new(f, &OWNER_A, "B");
	struct st_kbsource s, job, sb, jobb, in, out;
	char msg[256];
	struct dreply r;
	uint64_t u, quota;
	int rc;

	memset(&in, 0, sizeof(in));
	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(put(f, &job, URL_A, 1, 2, 300, 0, NULL, NULL), 0);
	u = used_of(f, &OWNER_A, NULL);
	/* Room for a little more, not for B's page. */
	store_kb_settings(f->st, u + 1000);
	assert_full(put(f, &job, URL_B, 5, 2, 300, 0, NULL, msg), msg);
	assert_int_equal(used_of(f, &OWNER_A, &quota), u);
	assert_int_equal(quota, u + 1000);
	assert_int_equal(db_entries(f, "kb_pages"), 1);
	assert_int_equal(found(f, &OWNER_A, "w1x7"), 1);
	/* A replaced by no more than it kept: taken. */
	assert_int_equal(put(f, &job, URL_A, 1, 2, 300, 0, NULL, NULL), 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);

	/* Another organisation, its own count: stored. */
	kb_crawl_new(f, &b, "https://shop.example/", 0, &sb, &jobb);
	assert_int_equal(put(f, &jobb, URL_A, 7, 1, 100, 0, NULL, NULL), 0);
	assert_int_equal(found(f, &b, "w7x3"), 1);

	/* A small page fits the room left. */
	assert_int_equal(put(f, &job, URL_B, 9, 1, 3, 0, NULL, NULL), 0);
	assert_true(used_of(f, &OWNER_A, NULL) > u);
	/* Full to the byte: no page, no new source, nor a qa. */
	store_kb_settings(f->st, used_of(f, &OWNER_A, NULL));
	assert_full(put(f, &job, "https://shop.example/c", 11, 1, 3, 0,
	    NULL, msg), msg);
	in.source_type = ST_KB_CRAWL;
	in.url = "https://other.example/";
	rc = who_run(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE, &in, NULL, &r);
	assert_full(rc, r.errmsg);
	dreply_free(&r);
	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.question = "Opening hours?";
	in.answer = "Nine to five.";
	rc = who_run(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE, &in, NULL, &r);
	assert_full(rc, r.errmsg);
	dreply_free(&r);
	/* The source deleted: room again. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_DELETE,
	    &(struct st_id_req){ s.id }, NULL, NULL), 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &out, NULL), 0);
	assert_int_equal(out.bytes, used_of(f, &OWNER_A, NULL));
	st_kbsource_free(&out);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&sb);
	st_kbsource_free(&jobb);
}

/*
 * OWNER_A's file source "handbook.md" (*fs), n bytes of 'a' in file
 * uploaded whole by *q (kept for a later piece), answered *rep.
 */
static void
file_source_new(struct fix *f, uint8_t *file, size_t n, struct st_kbsource *fs,
    struct st_kb_file_put_req *q, struct st_kb_file_put_rep *rep)
{
	struct st_kbsource in;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_FILE;
	in.url = "handbook.md";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, fs, NULL), 0);
	memset(file, 'a', n);
	memset(q, 0, sizeof(*q));
	q->id = fs->id;
	strlcpy(q->content_type, "text/markdown", sizeof(q->content_type));
	q->data.p = file;
	q->data.len = n;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, q,
	    rep, NULL), 0);
}

/*
 * A qa's chunk counts, and moves with its answer; an uploaded file
 * counts, and one past the quota is refused.
 */
static void
test_qa_and_file(void **state)
{
	struct fix *f = *state;
	struct st_kbsource in, qa, fs;
	struct st_kbsource_update_req u;
	struct st_kb_file_put_req q;
	struct st_kb_file_put_rep rep;
	static uint8_t file[20000];
	struct dreply r;
	uint64_t one, two;
	int rc;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.question = "Opening hours?";
	in.answer = "Nine to five.";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &qa, NULL), 0);
	one = used_of(f, &OWNER_A, NULL);
	assert_true(one > 0);
	assert_int_equal(qa.bytes, one);
	memset(&u, 0, sizeof(u));
	u.id = qa.id;
	u.mask = ST_KSF_ANSWER;
	u.s.answer = text_of(3, 100);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_UPDATE,
	    &u, NULL, NULL), 0);
	free(u.s.answer);
	two = used_of(f, &OWNER_A, NULL);
	assert_true(two > one);

	file_source_new(f, file, sizeof(file), &fs, &q, &rep);
	assert_true(rep.source.bytes > sizeof(file));
	assert_int_equal(used_of(f, &OWNER_A, NULL), two + rep.source.bytes);
	st_kbsource_free(&rep.source);
	/* A bigger one past the quota: refused, the first kept. */
	store_kb_settings(f->st, two + sizeof(file) + 1000);
	q.data.len = sizeof(file) / 2;
	q.total = sizeof(file) * 2;	/* its first piece */
	rc = who_run(f, &OWNER_A, PROTO_ST_KB_FILE_PUT, &q, NULL, &r);
	assert_full(rc, r.errmsg);
	dreply_free(&r);
	assert_int_equal(db_entries(f, "kb_files"), 1);
	st_kbsource_free(&qa);
	st_kbsource_free(&fs);
}

/*
 * Each record of db behind the store's back as an older storaged left
 * it: of format ver - 1, without its last row (bytes: cut bytes long).
 */
static void
records_older(MDB_txn *txn, const char *db, uint8_t ver, size_t cut)
{
	static uint8_t keys[1024][64], buf[8192];
	size_t lens[1024];
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc, n = 0, i;

	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_true(n < 1024 && k.mv_size <= sizeof(keys[0]));
		memcpy(keys[n], k.mv_data, k.mv_size);
		lens[n++] = k.mv_size;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		k.mv_data = keys[i];
		k.mv_size = lens[i];
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		assert_true(v.mv_size > 9 && v.mv_size <= sizeof(buf));
		assert_int_equal(((uint8_t *)v.mv_data)[0], ver);
		memcpy(buf, v.mv_data, v.mv_size);
		buf[0] = (uint8_t)(ver - 1);
		v.mv_data = buf;
		v.mv_size -= cut;
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
}

/*
 * The data directory as a storaged of before the quota left it: sources
 * of format 3, pages of format 4 (no bytes), no kb_usage, and none of
 * meta's kb_count (its marker) when older; reopened.
 */
static void
make_older_closed(struct fix *f, int older)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 8, "kb_count" };

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	if (older) {
		records_older(txn, "kb_sources", 4, 8);	/* a TIME */
		records_older(txn, "kb_pages", 5, 4);	/* a U32 */
		assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	}
	assert_int_equal(mdb_dbi_open(txn, "kb_usage", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* As make_older_closed, then the store opened again (its count at open). */
static void
make_older(struct fix *f, int older)
{
	make_older_closed(f, older);
	f->st = store_open(f->dir, 64, STORE_F_NOSYNC);
	assert_non_null(f->st);
	store_set_clock(f->st, fake_clock);
}

/*
 * The store opened again, what it logs at info meanwhile (stderr) into
 * buf (n bytes, NUL-ended).
 */
static void
open_logged(struct fix *f, char *buf, size_t n)
{
	char path[PATH_MAX];
	ssize_t got;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/open.log", f->dir);
	fflush(stderr);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_true((saved = dup(2)) >= 0);
	assert_true(dup2(fd, 2) == 2);
	log_set_level(LOG_LEVEL_INFO);
	f->st = store_open(f->dir, 64, STORE_F_NOSYNC);
	log_set_level(LOG_LEVEL_WARN);
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	assert_non_null(f->st);
	store_set_clock(f->st, fake_clock);
	got = pread(fd, buf, n - 1, 0);
	assert_true(got >= 0);
	buf[got] = '\0';
	close(fd);
}

/*
 * Knowledge stored before the quota is counted once at open: the count
 * of a data directory whose sources and pages kept no bytes (a crawl's
 * pages, one with vectors; a qa; a file; another organisation's 70
 * pages, more than the count reads at a time) is what was counted as
 * they were put, each source's and organisation's; a page put again
 * moves it as any put does, and the quota refuses past it. A data
 * directory counted is not counted again: its count lost behind the
 * store's back stays lost.
 */
static void
test_count_older(void **state)
{
	struct fix *f = *state;
	struct st_who b = who_org_new(f, &OWNER_A, "B");
	struct st_kbsource s, job, in, qa, fs, sb, jobb;
	struct st_kb_file_put_req q;
	struct st_kb_file_put_rep rep;
	static uint8_t file[5000];
	static float rows[2][8];
	struct st_kb_vecs v;
	char msg[256], url[64];
	uint64_t u, bs, bq, bf, ub;
	int i;

	kb_crawl_new(f, &b, "https://b.example/", 0, &sb, &jobb);
	for (i = 0; i < 70; i++) {
		snprintf(url, sizeof(url), "https://b.example/%d", i);
		assert_int_equal(put(f, &jobb, url, (unsigned)i + 100, 1, 20,
		    0, NULL, NULL), 0);
	}
	ub = used_of(f, &b, NULL);
	vecs_two(rows, &v);
	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	assert_int_equal(put(f, &job, URL_A, 1, 2, 200, 0, &v, NULL), 0);
	assert_int_equal(put(f, &job, URL_B, 5, 3, 150, 0, NULL, NULL), 0);
	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.question = "Opening hours?";
	in.answer = "Nine to five, and on Saturdays ten to two.";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_KB_SOURCE_CREATE,
	    &in, &qa, NULL), 0);
	file_source_new(f, file, sizeof(file), &fs, &q, &rep);
	st_kbsource_free(&rep.source);
	u = used_of(f, &OWNER_A, NULL);
	bs = bytes_of(f, s.id);
	bq = bytes_of(f, qa.id);
	bf = bytes_of(f, fs.id);
	assert_true(bs > 0 && bq > 0 && bf > sizeof(file));
	assert_int_equal(bs + bq + bf, u);

	make_older(f, 1);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);
	assert_int_equal(used_of(f, &b, NULL), ub);
	assert_int_equal(bytes_of(f, s.id), bs);
	assert_int_equal(bytes_of(f, qa.id), bq);
	assert_int_equal(bytes_of(f, fs.id), bf);
	/* A page put again: its counted bytes out, its new ones in. */
	assert_int_equal(put(f, &job, URL_A, 1, 2, 200, 0, &v, NULL), 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);
	/* The quota refuses past what was stored before it. */
	store_kb_settings(f->st, u + 1000);
	assert_full(put(f, &job, "https://shop.example/c", 9, 2, 300, 0,
	    NULL, msg), msg);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);

	/* Counted once: a count lost now is not made again. */
	make_older(f, 0);
	assert_int_equal(used_of(f, &OWNER_A, NULL), 0);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
	st_kbsource_free(&qa);
	st_kbsource_free(&fs);
	st_kbsource_free(&sb);
	st_kbsource_free(&jobb);
}

/*
 * OWNER_A's crawl s (its job) of 530 pages of 4 chunks, more than one
 * batch of the count takes (2,048 chunks about): the organisation's count.
 */
static uint64_t
pages_530(struct fix *f, struct st_kbsource *s, struct st_kbsource *job)
{
	char url[64];
	int i;

	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, s, job);
	for (i = 0; i < 530; i++) {
		snprintf(url, sizeof(url), "https://shop.example/%d", i);
		assert_int_equal(put(f, job, url, (unsigned)i * 4, 4, 5, 0,
		    NULL, NULL), 0);
	}
	return used_of(f, &OWNER_A, NULL);
}

/*
 * A count of more chunks than one batch takes (2,048 about: 530 pages
 * of 4) goes on from where each batch left it: the same count.
 */
static void
test_count_older_batches(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	uint64_t u;

	u = pages_530(f, &s, &job);
	make_older(f, 1);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);
	assert_int_equal(bytes_of(f, s.id), u);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/*
 * A count killed between two batches (the test build's kill after the
 * second: the sources', then a first of pages) goes on at the next start
 * from the last batch committed: the same count, nothing counted twice.
 */
static void
test_count_killed(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	static char log[4096];
	uint64_t u;
	pid_t pid;
	int status;

	u = pages_530(f, &s, &job);
	make_older_closed(f, 1);
	if ((pid = fork()) == 0) {
		setenv("PARLEY_TEST_KBCOUNT_EXIT_AFTER", "2", 1);
		(void)store_open(f->dir, 64, STORE_F_NOSYNC);
		_exit(0);	/* the count ended first: the hook never ran */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 9);
	/*
	 * The next start counts the rest alone: the pages after the first
	 * batch's 512 (2,048 chunks), none of the sources again.
	 */
	open_logged(f, log, sizeof(log));
	if (strstr(log, "counted what was stored before it: 0 sources, "
	    "18 pages, 72 chunks") == NULL)
		fail_msg("the resumed count logged: %s", log);
	assert_int_equal(used_of(f, &OWNER_A, NULL), u);
	assert_int_equal(bytes_of(f, s.id), u);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

/* The bytes of LMDB's pages that the knowledge base's databases hold. */
static uint64_t
kb_pages_bytes(struct fix *f)
{
	static const char *const dbs[] = { "kb_chunks", "kb_post",
	    "kb_terms", "kb_stats", "kb_source", "kb_pages",
	    "kb_page_chunks", "kb_vecmeta", "kb_vecseg", "kb_vecq",
	    "kb_vecs", "kb_sources", "kb_source_order", "kb_source_org" };
	uint64_t n = 0;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;
	size_t i;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		assert_int_equal(mdb_dbi_open(txn, dbs[i], 0, &dbi), 0);
		assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
		n += (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages +
		    ms.ms_overflow_pages) * ms.ms_psize;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen(f);
	return n;
}

/*
 * The count is a fair measure of what the pages take in LMDB: within a
 * third of the pages its databases hold, 60 pages of 4 chunks of 250
 * words, half with vectors (4.98 MB counted against 5.28 MB of pages).
 */
static void
test_count_near_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_kbsource s, job;
	static float rows[4][256];
	struct st_kb_vecs v;
	char url[64];
	uint64_t used, lmdb;
	int i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 256; j++)
			rows[i][j] = (float)((i * 7 + j * 13) % 17) - 8.0f;
	memset(&v, 0, sizeof(v));
	v.dim = 256;
	v.data.p = (const uint8_t *)rows;
	v.data.len = sizeof(rows);
	kb_crawl_new(f, &OWNER_A, "https://shop.example/", 0, &s, &job);
	for (i = 0; i < 60; i++) {
		snprintf(url, sizeof(url), "https://shop.example/%d", i);
		assert_int_equal(put(f, &job, url, (unsigned)i * 4, 4, 250, 0,
		    i % 2 ? &v : NULL, NULL), 0);
	}
	used = used_of(f, &OWNER_A, NULL);
	lmdb = kb_pages_bytes(f);
	print_message("counted %llu bytes, LMDB's pages %llu\n",
	    (unsigned long long)used, (unsigned long long)lmdb);
	assert_true(used * 4 >= lmdb * 3 && used * 3 <= lmdb * 4);
	st_kbsource_free(&s);
	st_kbsource_free(&job);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_follows_pages, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_vectors_count, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_reopen, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_quota_refuses, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_qa_and_file, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_near_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_older, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_killed, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_older_batches, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
