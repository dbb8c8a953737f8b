/*
 * The knowledge base's lexical index made again at open when the text
 * analysis that made it is not this build's (storaged/kbindex.c, meta
 * "kb_analysis"), on a real LMDB: an index an older analysis made (its
 * terms, its chunks' word counts, another fingerprint or none) is
 * replaced by this analysis's, every chunk found by its words again, no
 * posting of the old terms left, each term's count the chunks holding
 * it; an index of this analysis is left alone; a making again cut short
 * goes on where it was, the chunks added and removed meanwhile counted
 * right; systemd hears that the start goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "kbindex.h"
#include "test_fixture.h"

#define SRC_A	"ks_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SRC_B	"ks_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* meta's key of the analysis that made the index (kbindex.c). */
#define ANALYSIS_KEY	"kb_analysis"
/* meta's key of the index being made again, and its length (kbindex.c). */
#define REINDEX_KEY	"kb_reindex"
#define REINDEX_LEN	(1 + KB_FINGERPRINT_LEN + 8)
/* Postings of one term these tests move at most. */
#define MOVE_MAX	(KB_REINDEX_BATCH + 64)

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-kbreindex-XXXXXX", 0);
}

/* Chunk c of org, source src, language lang, into t: its id. */
static uint64_t
chunk_put(struct store_txn *t, const char *org, const char *src,
    const char *lang, const char *title, const char *text)
{
	struct st_kbchunk c;
	uint64_t id = 0;

	memset(&c, 0, sizeof(c));
	strlcpy(c.org, org, sizeof(c.org));
	strlcpy(c.source_id, src, sizeof(c.source_id));
	strlcpy(c.lang, lang, sizeof(c.lang));
	c.url = strdup("https://example.com/page");
	c.title = strdup(title);
	c.headings = strdup("");
	c.text = strdup(text);
	assert_int_equal(kb_chunk_add(t, &c, &id), 0);
	st_kbchunk_free(&c);
	assert_true(id > 0);
	return id;
}

/* A chunk added in its own committed batch: its id. */
static uint64_t
add(struct fix *f, const char *org, const char *src, const char *lang,
    const char *title, const char *text)
{
	struct store_txn t;
	uint64_t id;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	id = chunk_put(&t, org, src, lang, title, text);
	assert_int_equal(store_commit(&t), 0);
	return id;
}

/* A search of org in lang: how many hits, the ids into ids (room for k). */
static uint32_t
search(struct fix *f, const char *org, const char *lang, const char *q,
    uint32_t k, uint64_t *ids)
{
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	struct store_txn t;
	uint32_t n = 0, i;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_search(&t, org, lang, q, strlen(q), k, NULL, hits,
	    &n), 0);
	store_abort(&t);
	for (i = 0; i < n; i++)
		ids[i] = hits[i].id;
	return n;
}

/* The chunks org has, read in a batch of its own. */
static uint32_t
count_of(struct fix *f, const char *org)
{
	struct store_txn t;
	uint32_t n;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	n = kb_chunk_count(&t, org);
	store_abort(&t);
	return n;
}

/* org NUL term: a kb_terms key, or a posting's prefix with its NUL. */
static size_t
term_key(uint8_t *k, const char *org, const char *term)
{
	size_t o = strlen(org) + 1, n = strlen(term);

	memcpy(k, org, o);
	memcpy(k + o, term, n);
	return o + n;
}

/*
 * The index as an older analysis would have made it, in t: org's term
 * from (this analysis's) was to (its postings and count moved there).
 */
static void
term_move(struct store_txn *t, const char *org, const char *from,
    const char *to)
{
	static uint8_t keys[MOVE_MAX][128], vals[MOVE_MAX][512];
	static size_t klen[MOVE_MAX], vlen[MOVE_MAX];
	uint8_t p[128], q[128];
	size_t plen, qlen, i, n = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	plen = term_key(p, org, from);
	p[plen++] = 0;
	qlen = term_key(q, org, to);
	assert_non_null(cur = txn_seek(t, t->st->kb_post, p, plen, &k, &v,
	    &rc));
	for (; rc == 0 && key_in(&k, p, plen); rc = mdb_cursor_get(cur, &k,
	    &v, MDB_NEXT)) {
		assert_true(n < MOVE_MAX && v.mv_size <= sizeof(vals[0]));
		memcpy(keys[n], k.mv_data, k.mv_size);
		klen[n] = k.mv_size;
		memcpy(vals[n], v.mv_data, v.mv_size);
		vlen[n++] = v.mv_size;
	}
	mdb_cursor_close(cur);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		db_del(t, t->st->kb_post, keys[i], klen[i], "del posting");
		memcpy(p, q, qlen);
		p[qlen] = 0;
		memcpy(p + qlen + 1, keys[i] + plen, 8);
		db_put(t, t->st->kb_post, p, qlen + 9, vals[i], vlen[i],
		    "put posting");
	}
	assert_int_equal(db_get(t, t->st->kb_terms, keys[0], plen - 1, &v,
	    "get term"), 0);
	memcpy(vals[0], v.mv_data, v.mv_size);
	db_put(t, t->st->kb_terms, q, qlen, vals[0], v.mv_size, "put term");
	db_del(t, t->st->kb_terms, keys[0], plen - 1, "del term");
	assert_int_equal(t->err, 0);
}

/* org's statistics' words of the text field moved by d, in t. */
static void
stats_text_add(struct store_txn *t, const char *org, int64_t d)
{
	uint8_t s[4 + 8 * 3];
	MDB_val v;

	assert_int_equal(db_get(t, t->st->kb_stats, org, strlen(org), &v,
	    "get stats"), 0);
	assert_int_equal(v.mv_size, sizeof(s));
	memcpy(s, v.mv_data, sizeof(s));
	proto_put_be64(s + 4 + 16, proto_get_be64(s + 4 + 16) + (uint64_t)d);
	db_put(t, t->st->kb_stats, org, strlen(org), s, sizeof(s),
	    "put stats");
}

/* Chunk id's record's words of text set to n, in t: its old n. */
static uint32_t
len_text_set(struct store_txn *t, uint64_t id, uint32_t n)
{
	struct st_kbchunk c;
	uint8_t ik[8];
	uint32_t was;

	assert_int_equal(kb_chunk_get(t, id, &c), 0);
	was = c.len_text;
	c.len_text = n;
	proto_put_be64(ik, id);
	rec_put_rows(t, t->st->kb_chunks, ik, sizeof(ik), &st_kbchunk_layout,
	    &c, "put chunk");
	st_kbchunk_free(&c);
	return was;
}

/* Chunk id's record's words of text. */
static uint32_t
len_text(struct fix *f, uint64_t id)
{
	struct st_kbchunk c;
	struct store_txn t;
	uint32_t n;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_chunk_get(&t, id, &c), 0);
	store_abort(&t);
	n = c.len_text;
	st_kbchunk_free(&c);
	return n;
}

/* meta's record of the analysis set to rec (n bytes; NULL: none), in t. */
static void
analysis_set(struct store_txn *t, const void *rec, size_t n)
{
	if (rec == NULL)
		db_del_quiet(t, t->st->meta, ANALYSIS_KEY,
		    strlen(ANALYSIS_KEY), "del analysis");
	else
		db_put(t, t->st->meta, ANALYSIS_KEY, strlen(ANALYSIS_KEY), rec,
		    n, "put analysis");
}

/* meta's key (NUL-ended) in t: 1 present, 0 absent. */
static int
meta_has(struct store_txn *t, const char *key)
{
	MDB_val v;

	return db_get(t, t->st->meta, key, strlen(key), &v, "get meta") == 0;
}

/* Whether org's term has a count or a posting. */
static int
term_left(struct fix *f, const char *org, const char *term)
{
	uint8_t p[128];
	struct store_txn t;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t plen;
	int rc, left;

	plen = term_key(p, org, term);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	left = db_get(&t, t.st->kb_terms, p, plen, &v, "get term") == 0;
	p[plen++] = 0;
	assert_non_null(cur = txn_seek(&t, t.st->kb_post, p, plen, &k, &v,
	    &rc));
	left |= rc == 0 && key_in(&k, p, plen);
	mdb_cursor_close(cur);
	store_abort(&t);
	return left;
}

/* The chunks of org whose record the index is read against. */
struct org_sums {
	char org[ST_WHO_ORG_MAX + 1];
	uint32_t n;
	uint64_t words[3];
};

/*
 * Each organisation's statistics are its chunks and the sum of their
 * word counts.
 */
static void
stats_match_chunks(struct fix *f)
{
	struct org_sums orgs[4];
	struct st_kbchunk c;
	struct store_txn t;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t norgs = 0, i;
	int rc;

	memset(orgs, 0, sizeof(orgs));
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(mdb_cursor_open(t.txn, t.st->kb_chunks, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_int_equal(kb_chunk_get(&t, proto_get_be64(k.mv_data),
		    &c), 0);
		for (i = 0; i < norgs && strcmp(orgs[i].org, c.org) != 0; i++)
			;
		if (i == norgs) {
			assert_true(norgs < 4);
			strlcpy(orgs[norgs++].org, c.org, sizeof(orgs[0].org));
		}
		orgs[i].n++;
		orgs[i].words[0] += c.len_title;
		orgs[i].words[1] += c.len_headings;
		orgs[i].words[2] += c.len_text;
		st_kbchunk_free(&c);
	}
	mdb_cursor_close(cur);
	for (i = 0; i < norgs; i++) {
		assert_int_equal(db_get(&t, t.st->kb_stats, orgs[i].org,
		    strlen(orgs[i].org), &v, "get stats"), 0);
		assert_int_equal(proto_get_be32(v.mv_data), orgs[i].n);
		assert_true(proto_get_be64((uint8_t *)v.mv_data + 4) ==
		    orgs[i].words[0]);
		assert_true(proto_get_be64((uint8_t *)v.mv_data + 12) ==
		    orgs[i].words[1]);
		assert_true(proto_get_be64((uint8_t *)v.mv_data + 20) ==
		    orgs[i].words[2]);
	}
	store_abort(&t);
}

/*
 * Each term's count is the postings under it, and no posting lacks a
 * count.
 */
static void
terms_match_postings(struct fix *f)
{
	struct store_txn t;
	MDB_cursor *cur, *pc;
	MDB_val k, v, pk, pv;
	uint64_t postings = 0, counted = 0, posted;
	int rc, prc;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(mdb_cursor_open(t.txn, t.st->kb_terms, &cur), 0);
	assert_int_equal(mdb_cursor_open(t.txn, t.st->kb_post, &pc), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t p[128];

		assert_true(k.mv_size < sizeof(p) && v.mv_size == 4);
		memcpy(p, k.mv_data, k.mv_size);
		p[k.mv_size] = 0;
		pk.mv_data = p;
		pk.mv_size = k.mv_size + 1;
		posted = 0;
		for (prc = mdb_cursor_get(pc, &pk, &pv, MDB_SET_RANGE);
		    prc == 0 && key_in(&pk, p, k.mv_size + 1) &&
		    pk.mv_size == k.mv_size + 9;
		    prc = mdb_cursor_get(pc, &pk, &pv, MDB_NEXT))
			posted++;
		if (posted != proto_get_be32(v.mv_data))
			fail_msg("term %.*s: counted %u, %llu postings",
			    (int)k.mv_size, (char *)k.mv_data,
			    proto_get_be32(v.mv_data),
			    (unsigned long long)posted);
		counted += posted;
	}
	for (prc = mdb_cursor_get(pc, &pk, &pv, MDB_FIRST); prc == 0;
	    prc = mdb_cursor_get(pc, &pk, &pv, MDB_NEXT))
		postings++;
	mdb_cursor_close(pc);
	mdb_cursor_close(cur);
	store_abort(&t);
	/* Every posting is under a term counted. */
	assert_true(postings == counted);
}

/* The index matches its chunks: its statistics, its terms' counts. */
static void
index_matches_chunks(struct fix *f)
{
	stats_match_chunks(f);
	terms_match_postings(f);
}

/*
 * Chunks of two organisations in two languages, then the index as an
 * older analysis made it: "cups" its term where this analysis has "cup"
 * (in both), "printers" where it has "printer", the first chunk's text
 * of 999 words. The record of that analysis: rec (n bytes; NULL none).
 * Then the store opens again: *a, *b, *c the chunks, *words a's words.
 */
static void
old_index_reopened(struct fix *f, const void *rec, size_t n, uint64_t *a,
    uint64_t *b, uint64_t *c, uint32_t *words)
{
	struct store_txn t;
	uint64_t ids[10];

	*a = add(f, "default", SRC_A, "en", "Printers", "Installing a "
	    "printer with CUPS.");
	*b = add(f, "default", SRC_B, "en", "Scanners", "Scanning documents "
	    "with SANE, and printing them through CUPS.");
	*c = add(f, "org_2", SRC_A, "fr", "Imprimantes", "Installer une "
	    "imprimante avec CUPS.");
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 2);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	term_move(&t, "default", "cup", "cups");
	term_move(&t, "org_2", "cup", "cups");
	term_move(&t, "default", "printer", "printers");
	*words = len_text_set(&t, *a, 999);
	stats_text_add(&t, "default", 999 - (int64_t)*words);
	analysis_set(&t, rec, n);
	assert_int_equal(store_commit(&t), 0);
	/* What the older analysis's index answers: not this one's terms. */
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 0);
	fix_reopen(f);
}

/* The index old_index_reopened left made again: found, nothing left. */
static void
made_again(struct fix *f, uint64_t a, uint64_t b, uint64_t c,
    uint32_t words)
{
	struct store_txn t;
	uint64_t ids[10];

	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 2);
	assert_true((ids[0] == a && ids[1] == b) ||
	    (ids[0] == b && ids[1] == a));
	assert_int_equal(search(f, "default", "en", "printer", 10, ids), 1);
	assert_true(ids[0] == a);
	assert_int_equal(search(f, "org_2", "fr", "cups", 10, ids), 1);
	assert_true(ids[0] == c);
	assert_false(term_left(f, "default", "cups"));
	assert_false(term_left(f, "org_2", "cups"));
	assert_false(term_left(f, "default", "printers"));
	assert_int_equal(len_text(f, a), words);
	index_matches_chunks(f);
	/* Removed now, a chunk takes every posting and count it had. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_remove(&t, a), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 1);
	assert_true(ids[0] == b);
	assert_int_equal(search(f, "default", "en", "installing", 10, ids),
	    0);
	assert_false(term_left(f, "default", "instal"));
	index_matches_chunks(f);
}

static void
test_changed_analysis_makes_index_again(void **state)
{
	struct fix *f = *state;
	uint8_t other[1 + KB_FINGERPRINT_LEN];
	uint64_t a, b, c;
	uint32_t words;

	other[0] = ST_RECORD_VERSION;
	memset(other + 1, 0xa5, KB_FINGERPRINT_LEN);
	old_index_reopened(f, other, sizeof(other), &a, &b, &c, &words);
	made_again(f, a, b, c, words);
}

static void
test_unrecorded_analysis_makes_index_again(void **state)
{
	struct fix *f = *state;
	uint64_t a, b, c;
	uint32_t words;

	/* A data directory of before the record. */
	old_index_reopened(f, NULL, 0, &a, &b, &c, &words);
	made_again(f, a, b, c, words);
}

/* meta's record of the index's analysis is want (the version byte first). */
static void
analysis_is(struct fix *f, const uint8_t want[1 + KB_FINGERPRINT_LEN])
{
	struct store_txn t;
	MDB_val v;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(db_get(&t, t.st->meta, ANALYSIS_KEY,
	    strlen(ANALYSIS_KEY), &v, "get analysis"), 0);
	assert_int_equal(v.mv_size, 1 + KB_FINGERPRINT_LEN);
	assert_memory_equal(v.mv_data, want, 1 + KB_FINGERPRINT_LEN);
	store_abort(&t);
}

/* Whether meta records an analysis of the index. */
static int
analysis_recorded(struct fix *f)
{
	struct store_txn t;
	int has;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	has = meta_has(&t, ANALYSIS_KEY);
	store_abort(&t);
	return has;
}

static void
test_analysis_recorded(void **state)
{
	struct fix *f = *state;
	uint8_t want[1 + KB_FINGERPRINT_LEN], again[KB_FINGERPRINT_LEN];
	uint8_t other[1 + KB_FINGERPRINT_LEN];
	struct store_txn t;
	uint64_t first, a, b, c, ids[10];
	uint32_t words;

	want[0] = ST_RECORD_VERSION;
	assert_int_equal(kb_fingerprint(want + 1), 0);
	assert_int_equal(kb_fingerprint(again), 0);
	assert_memory_equal(want + 1, again, KB_FINGERPRINT_LEN);
	/*
	 * A new data directory has nothing an analysis made: its opens
	 * record none; its first chunk records this build's.
	 */
	assert_false(analysis_recorded(f));
	fix_reopen(f);
	assert_false(analysis_recorded(f));
	first = add(f, "org_9", SRC_B, "en", "Printers", "Installing a "
	    "printer with CUPS.");
	analysis_is(f, want);
	/* The open that made the index again records it too. */
	memset(other, 0x5a, sizeof(other));
	old_index_reopened(f, other, sizeof(other), &a, &b, &c, &words);
	analysis_is(f, want);
	/*
	 * Every chunk gone and another analysis recorded: an open leaves the
	 * record, and the first chunk added replaces it, so the next open
	 * keeps the index (a term moved behind its back stays moved).
	 */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_remove(&t, a), 0);
	assert_int_equal(kb_chunk_remove(&t, b), 0);
	assert_int_equal(kb_chunk_remove(&t, c), 0);
	assert_int_equal(kb_chunk_remove(&t, first), 0);
	analysis_set(&t, other, sizeof(other));
	assert_int_equal(store_commit(&t), 0);
	fix_reopen(f);
	analysis_is(f, other);
	add(f, "default", SRC_A, "en", "Printers", "Installing a printer with "
	    "CUPS.");
	analysis_is(f, want);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	term_move(&t, "default", "cup", "cupz");
	assert_int_equal(store_commit(&t), 0);
	fix_reopen(f);
	assert_true(term_left(f, "default", "cupz"));
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 0);
}

static void
test_same_analysis_kept(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	uint64_t ids[10];

	add(f, "default", SRC_A, "en", "Printers", "Installing a printer with "
	    "CUPS.");
	/*
	 * A term moved behind its back, the record left: an open with the
	 * same analysis does not make the index again (it would move back).
	 */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	term_move(&t, "default", "cup", "cupz");
	assert_int_equal(store_commit(&t), 0);
	fix_reopen(f);
	assert_true(term_left(f, "default", "cupz"));
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 0);
}

/* A datagram socket bound at dir/notify, as systemd's NOTIFY_SOCKET. */
static int
notify_socket(const char *dir, struct sockaddr_un *sun)
{
	int fd;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/notify", dir);
	assert_true((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sun, sizeof(*sun)), 0);
	return fd;
}

static void
test_made_again_in_batches(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	struct sockaddr_un sun;
	uint64_t ids[ST_KB_SEARCH_K_MAX];
	char text[64], got[128];
	uint32_t i, n = KB_REINDEX_BATCH + 7;
	ssize_t len;
	int fd;

	/* More chunks than a batch indexes, one of them last. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < n - 1; i++) {
		snprintf(text, sizeof(text), "Note %u about CUPS.", i);
		chunk_put(&t, "default", SRC_A, "en", "Notes", text);
	}
	chunk_put(&t, "default", SRC_B, "en", "Last", "The zebra comes last.");
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	term_move(&t, "default", "cup", "cups");
	term_move(&t, "default", "zebra", "zebras");
	analysis_set(&t, NULL, 0);
	assert_int_equal(store_commit(&t), 0);
	/* Under systemd, the start's timeout moves on as it goes. */
	fd = notify_socket(f->dir, &sun);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	fix_reopen(f);
	unsetenv("NOTIFY_SOCKET");
	len = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	close(fd);
	unlink(sun.sun_path);
	assert_true(len > 0);
	got[len] = '\0';
	assert_string_equal(got, "EXTEND_TIMEOUT_USEC=60000000\nWATCHDOG=1");
	assert_int_equal(search(f, "default", "en", "zebra", 10, ids), 1);
	assert_int_equal(search(f, "default", "en", "cups",
	    ST_KB_SEARCH_K_MAX, ids), ST_KB_SEARCH_K_MAX);
	assert_false(term_left(f, "default", "cups"));
	assert_false(term_left(f, "default", "zebras"));
	assert_int_equal(count_of(f, "default"), n);
	index_matches_chunks(f);
}

static void
test_made_again_goes_on(void **state)
{
	struct fix *f = *state;
	uint8_t mark[REINDEX_LEN], other[1 + KB_FINGERPRINT_LEN];
	uint64_t a, b, c, gone, ids[10];
	struct store_txn t;

	a = add(f, "default", SRC_A, "en", "Printers", "Installing a printer "
	    "with CUPS.");
	b = add(f, "default", SRC_A, "en", "Scanners", "Scanning with SANE "
	    "and CUPS.");
	/*
	 * A start cut short making the index again with this analysis, after
	 * both chunks: the older record still there, the first chunk's
	 * "printer" made "printerz" (what a start going on leaves alone).
	 */
	other[0] = ST_RECORD_VERSION;
	memset(other + 1, 0xa5, KB_FINGERPRINT_LEN);
	mark[0] = ST_RECORD_VERSION;
	assert_int_equal(kb_fingerprint(mark + 1), 0);
	proto_put_be64(mark + 1 + KB_FINGERPRINT_LEN, b);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	analysis_set(&t, other, sizeof(other));
	db_put(&t, t.st->meta, REINDEX_KEY, strlen(REINDEX_KEY), mark,
	    sizeof(mark), "put reindex");
	term_move(&t, "default", "printer", "printerz");
	assert_int_equal(store_commit(&t), 0);
	/*
	 * Meanwhile (a store stalled on the way, serving): a chunk added is
	 * left to the rest of the making, one past it removed takes no count
	 * of the index, one before it removed takes its own.
	 */
	c = add(f, "default", SRC_B, "en", "Zebras", "The zebra and CUPS.");
	assert_int_equal(search(f, "default", "en", "zebra", 10, ids), 0);
	gone = add(f, "default", SRC_B, "en", "Gone", "Scanning zebra CUPS.");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_remove(&t, gone), 0);
	assert_int_equal(kb_chunk_remove(&t, b), 0);
	assert_int_equal(store_commit(&t), 0);
	terms_match_postings(f);
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 1);
	assert_int_equal(count_of(f, "default"), 1);
	fix_reopen(f);
	assert_int_equal(search(f, "default", "en", "zebra", 10, ids), 1);
	assert_true(ids[0] == c);
	assert_int_equal(search(f, "default", "en", "cups", 10, ids), 2);
	assert_true((ids[0] == a && ids[1] == c) ||
	    (ids[0] == c && ids[1] == a));
	assert_int_equal(search(f, "default", "en", "scanning", 10, ids), 0);
	assert_true(term_left(f, "default", "printerz"));
	assert_int_equal(count_of(f, "default"), 2);
	index_matches_chunks(f);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_false(meta_has(&t, REINDEX_KEY));
	assert_true(meta_has(&t, ANALYSIS_KEY));
	store_abort(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_changed_analysis_makes_index_again, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unrecorded_analysis_makes_index_again, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_analysis_recorded, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_same_analysis_kept, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_made_again_in_batches,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_made_again_goes_on, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
