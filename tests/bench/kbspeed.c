/*
 * The knowledge search's speed beside SQLite FTS5's (make bench's
 * knowledge section): the same N chunks loaded into storaged's index
 * (kbindex.c, on a store in a fresh temporary directory, 500 chunks a
 * committed batch) and into an FTS5 table in memory (columns title,
 * headings, text; unicode61 remove_diacritics 2, as search-eval.mjs),
 * then the queries of file QUERIES (one a line) searched REPEAT times
 * in each, interleaved, the top 10 each time: each engine's p50 and p99
 * in ms on standard output. FTS5's query is search-eval.mjs's: an OR of
 * the query's words, each quoted, ranked by bm25().
 *
 *   kbspeed CHUNKS.jsonl N REPEAT QUERIES [parley] [hybrid]
 *
 * parley: Parley's index alone (no FTS5 table, no FTS5 figure).
 * hybrid: each chunk also given a synthetic 1,536-dimension embedding
 * (vecgen.h: clustered, as real ones), and each query one drawn like
 * them: the search a turn makes with an embedding model
 * (store_kb_search: the words' hits and the 20 nearest chunks merged by
 * rank fusion, every hit's chunk read), timed as a third engine. The
 * embedding call itself is not in it (the model server's). With
 * KBSPEED_SLOWEST set, the three slowest of Parley's searches and their
 * questions go to standard error.
 *
 * A chunk line: {"title","headings","text","url"} (strings). When the
 * file has fewer than N chunks it is read again, copy c of a chunk
 * without the first c words of its text (slightly different texts) and
 * its URL suffixed "#c" (another page).
 */
#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "kbindex.h"
#include "kbsource.h"
#include "kbvec.h"
#include "kbbench.h"
#include "log.h"
#include "store.h"
#include "vecgen.h"

#define ORG		"default"
#define SOURCE		"ks_00000000000000000000000000000001"
#define BATCH		500
#define K		10
#define QUERIES_MAX	10000
#define FTS_QUERY_MAX	8192
#define DIM		1536
#define VEC_GROUP	64	/* vectors a kb_vec_put_many */

struct engines {
	int fts;		/* FTS5 too */
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *ins, *sel;
};

static const char *
str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* s past its first c words (runs of non-space). */
static const char *
skip_words(const char *s, unsigned c)
{
	for (; c > 0 && *s != '\0'; c--) {
		while (*s != '\0' && isspace((unsigned char)*s))
			s++;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
	}
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return s;
}

static void
sql_ok(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		errx(1, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

/* Chunk o, copy c, into both engines (the store's batch t). */
static void
add_chunk(struct engines *e, struct store_txn *t, json_t *o, unsigned c)
{
	struct st_kbchunk ch;
	char url[ST_KB_URL_MAX];
	const char *text = skip_words(str_of(o, "text"), c);
	uint64_t id;

	snprintf(url, sizeof(url), c ? "%.2000s#%u" : "%.2000s",
	    str_of(o, "url"), c);
	memset(&ch, 0, sizeof(ch));
	strlcpy(ch.org, ORG, sizeof(ch.org));
	strlcpy(ch.source_id, SOURCE, sizeof(ch.source_id));
	strlcpy(ch.lang, "en", sizeof(ch.lang));
	if ((ch.url = strdup(url)) == NULL ||
	    (ch.title = strdup(str_of(o, "title"))) == NULL ||
	    (ch.headings = strdup(str_of(o, "headings"))) == NULL ||
	    (ch.text = strdup(text)) == NULL)
		err(1, "chunk");
	if (kb_chunk_add(t, &ch, &id) < 0)
		errx(1, "kb_chunk_add: %s", t->errmsg ? t->errmsg : "failed");
	st_kbchunk_free(&ch);
	if (!e->fts)
		return;
	sqlite3_reset(e->ins);
	sqlite3_bind_int64(e->ins, 1, (sqlite3_int64)id);
	sqlite3_bind_text(e->ins, 2, str_of(o, "title"), -1, SQLITE_STATIC);
	sqlite3_bind_text(e->ins, 3, str_of(o, "headings"), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(e->ins, 4, text, -1, SQLITE_STATIC);
	sql_ok(e->db, sqlite3_step(e->ins), "insert");
}

/* Loads n chunks of path into both engines, reading it again as needed. */
static void
load(struct engines *e, const char *path, size_t n)
{
	struct store_txn t;
	size_t done = 0, lcap = 0, lines;
	unsigned copy = 0;
	char *line = NULL;
	FILE *fp;
	json_t *o;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	sql_ok(e->db, sqlite3_exec(e->db, "BEGIN", NULL, NULL, NULL), "begin");
	if (store_begin(e->st, &t, 0) < 0)
		errx(1, "store_begin");
	while (done < n) {
		for (lines = 0; done < n && getline(&line, &lcap, fp) > 0;
		    lines++) {
			if ((o = json_loads(line, 0, NULL)) == NULL)
				errx(1, "%s: a line is not JSON", path);
			add_chunk(e, &t, o, copy);
			json_decref(o);
			if (++done % BATCH == 0 && (store_commit(&t) < 0 ||
			    store_begin(e->st, &t, 0) < 0))
				errx(1, "commit");
		}
		if (lines == 0 && done < n)
			errx(1, "%s: no chunk", path);
		rewind(fp);
		copy++;
	}
	if (store_commit(&t) < 0)
		errx(1, "commit");
	sql_ok(e->db, sqlite3_exec(e->db, "COMMIT", NULL, NULL, NULL),
	    "commit");
	free(line);
	fclose(fp);
}

/* search-eval.mjs's FTS5 query: the words, each quoted, ORed. */
static void
fts_query(const char *q, char *out, size_t cap)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)q;

	out[0] = '\0';
	while (*p != '\0' && n + 16 < cap) {
		if (!isalnum(*p) && *p < 0x80) {
			p++;
			continue;
		}
		if (n > 0) {
			memcpy(out + n, " OR ", 4);
			n += 4;
		}
		out[n++] = '"';
		while ((*p >= 0x80 || isalnum(*p)) && n + 8 < cap)
			out[n++] = (char)tolower(*p++);
		out[n++] = '"';
	}
	out[n] = '\0';
}

static double
parley_search(struct engines *e, const char *q)
{
	struct kb_hit hits[K];
	struct store_txn t;
	uint32_t nh;
	double t0 = now_ms();

	if (store_begin(e->st, &t, 1) < 0 ||
	    kb_search(&t, ORG, "en", q, strlen(q), K, NULL, hits, &nh) < 0)
		errx(1, "search: %s", t.errmsg ? t.errmsg : "failed");
	store_abort(&t);
	return now_ms() - t0;
}

/*
 * Every chunk (ids 1 to n) its synthetic embedding, 512 a committed
 * batch; the queries' drawn into qv (nq rows), half like a chunk of a
 * subtopic, half like one of a topic only (a broader question).
 */
static void
vectors_load(struct engines *e, size_t n, float *qv, size_t nq)
{
	uint64_t ids[VEC_GROUP];
	float *v = malloc(sizeof(float) * VEC_GROUP * DIM);
	struct store_txn t;
	struct data d;
	size_t i, g;

	if (v == NULL)
		err(1, "vectors");
	rng = 0x9e3779b97f4a7c15ull ^ n;
	data_new(&d, DIM, (uint32_t)n);
	for (i = 0; i < n; i += g) {
		if (i % 512 == 0 && store_begin(e->st, &t, 0) < 0)
			errx(1, "store_begin");
		for (g = 0; g < VEC_GROUP && i + g < n; g++) {
			ids[g] = i + g + 1;
			draw(&d, (uint32_t)((i + g) % d.subs), W_SUB,
			    v + g * DIM);
		}
		if (kb_vec_put_many(&t, ORG, (uint32_t)g, ids, v, DIM) < 0)
			errx(1, "kb_vec_put_many: %s", t.errmsg);
		if (((i + g) % 512 == 0 || i + g == n) && store_commit(&t) < 0)
			errx(1, "commit");
	}
	for (i = 0; i < nq; i++)
		draw(&d, (uint32_t)(unif() * d.subs), i % 2 ? 0 : W_SUB,
		    qv + i * DIM);
	data_free(&d);
	free(v);
}

/* A turn's search: words and the embedding qv, fused; chunks read. */
static double
hybrid_search(struct engines *e, const char *q, const float *qv)
{
	struct st_kb_hits h;
	double t0 = now_ms();

	kb_search_hybrid(e->st, ORG, q, qv, DIM, K, &h);
	st_rep_free(PROTO_ST_KB_SEARCH, &h);
	return now_ms() - t0;
}

static double
fts_search(struct engines *e, const char *q)
{
	char m[FTS_QUERY_MAX];
	double t0 = now_ms();
	int rc;

	fts_query(q, m, sizeof(m));
	if (m[0] == '\0')
		return now_ms() - t0;
	sqlite3_reset(e->sel);
	sqlite3_bind_text(e->sel, 1, m, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(e->sel)) == SQLITE_ROW)
		(void)sqlite3_column_double(e->sel, 1);
	sql_ok(e->db, rc, "search");
	return now_ms() - t0;
}

static void
report(const char *name, double *ms, size_t n)
{
	qsort(ms, n, sizeof(*ms), ms_cmp);
	printf("%-8s %zu searches  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
	    name, n, ms[n / 2], ms[(n * 99) / 100], ms[n - 1]);
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/parley-kbspeed-XXXXXX", *line = NULL;
	char *qs[QUERIES_MAX];
	struct engines e = { 0 };
	size_t n, nq = 0, lcap = 0, i, r, repeat, ns = 0;
	double t0, *pms, *fms, *hms = NULL;
	float *qv = NULL;
	ssize_t len;
	FILE *qf;
	int fts = 1, hybrid = 0;

	for (; argc > 5; argc--) {
		if (strcmp(argv[argc - 1], "parley") == 0)
			fts = 0;
		else if (strcmp(argv[argc - 1], "hybrid") == 0)
			hybrid = 1;
		else
			break;
	}
	if (argc != 5 || (n = strtoul(argv[2], NULL, 10)) < 1 ||
	    (repeat = strtoul(argv[3], NULL, 10)) < 1 || repeat > 1000)
		errx(2, "usage: kbspeed CHUNKS.jsonl N REPEAT QUERIES [parley] "
		    "[hybrid]");
	if ((qf = fopen(argv[4], "r")) == NULL)
		err(1, "%s", argv[4]);
	log_set_level(LOG_LEVEL_WARN);
	if (mkdtemp(dir) == NULL || (e.st = store_open(dir, 8192,
	    STORE_F_NOSYNC)) == NULL)
		errx(1, "store in %s", dir);
	if (sqlite3_open(":memory:", &e.db) != SQLITE_OK)
		errx(1, "sqlite3_open");
	sql_ok(e.db, sqlite3_exec(e.db, "CREATE VIRTUAL TABLE t USING "
	    "fts5(title, headings, text, tokenize='unicode61 "
	    "remove_diacritics 2')", NULL, NULL, NULL), "create");
	sql_ok(e.db, sqlite3_prepare_v2(e.db, "INSERT INTO t(rowid, title, "
	    "headings, text) VALUES (?, ?, ?, ?)", -1, &e.ins, NULL), "insert");
	sql_ok(e.db, sqlite3_prepare_v2(e.db, "SELECT rowid, bm25(t) FROM t "
	    "WHERE t MATCH ? ORDER BY rank LIMIT 10", -1, &e.sel, NULL),
	    "select");
	e.fts = fts;
	t0 = now_ms();
	load(&e, argv[1], n);
	fprintf(stderr, "kbspeed: %zu chunks into both in %.0f ms\n", n,
	    now_ms() - t0);
	while (nq < QUERIES_MAX && (len = getline(&line, &lcap, qf)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '\0' && (qs[nq++] = strdup(line)) == NULL)
			err(1, "query");
	}
	fclose(qf);
	if (nq == 0)
		errx(1, "no query");
	if ((pms = calloc(nq * repeat, sizeof(*pms))) == NULL ||
	    (fms = calloc(nq * repeat, sizeof(*fms))) == NULL ||
	    (hms = calloc(nq * repeat, sizeof(*hms))) == NULL)
		err(1, "times");
	if (hybrid) {
		if ((qv = malloc(sizeof(float) * DIM * nq)) == NULL)
			err(1, "query vectors");
		t0 = now_ms();
		vectors_load(&e, n, qv, nq);
		fprintf(stderr, "kbspeed: %zu embeddings of %d dimensions in "
		    "%.0f ms\n", n, DIM, now_ms() - t0);
	}
	for (r = 0; r < repeat; r++)
		for (i = 0; i < nq; i++, ns++) {
			pms[ns] = parley_search(&e, qs[i]);
			fms[ns] = fts ? fts_search(&e, qs[i]) : 0;
			hms[ns] = hybrid ? hybrid_search(&e, qs[i],
			    qv + i * DIM) : 0;
		}
	/* The slowest questions (the p99's), for whoever tunes the index. */
	for (r = 0; r < 3 && getenv("KBSPEED_SLOWEST") != NULL; r++) {
		size_t worst = 0;

		for (i = 1; i < ns; i++)
			if (pms[i] > pms[worst])
				worst = i;
		fprintf(stderr, "kbspeed: slow: %.3f ms: %s\n", pms[worst],
		    qs[worst % nq]);
		pms[worst] = -pms[worst];
	}
	for (i = 0; i < ns; i++)
		if (pms[i] < 0)
			pms[i] = -pms[i];
	printf("%zu chunks, %zu queries x %zu:\n", n, nq, repeat);
	report("parley", pms, ns);
	if (fts)
		report("fts5", fms, ns);
	if (hybrid)
		report("hybrid", hms, ns);
	sqlite3_finalize(e.ins);
	sqlite3_finalize(e.sel);
	sqlite3_close(e.db);
	store_close(e.st);
	remove_store(dir);
	for (i = 0; i < nq; i++)
		free(qs[i]);
	free(pms);
	free(fms);
	free(hms);
	free(qv);
	free(line);
	return 0;
}
