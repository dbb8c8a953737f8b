/*
 * The knowledge search's evaluation driver (make bench's knowledge
 * section, tests/bench/knowledge/): storaged's own index (kbindex.c) on
 * a store in a fresh temporary directory, loaded with the chunks of a
 * JSON Lines file, then searched with the queries read from standard
 * input, one a line. For each it prints a line of the chunks found,
 * best first, separated by spaces, each its id, a tab and its score
 * ("-" for none). On standard error, the
 * load's and the searches' times.
 *
 *   kbeval CHUNKS.jsonl [K [VECTORS QVECTORS DIM]] < QUERIES
 *
 * With VECTORS (each chunk's embedding, in file order: DIM f32 each, as
 * the host stores them) and QVECTORS (each query's), the chunks get
 * their embeddings and each query is searched as a turn with an
 * embedding model searches (store_kb_search: the words' hits and the
 * nearest chunks merged by rank fusion, min_score 0.3).
 *
 * A chunk line: {"id","url","title","headings","text"} (strings); its
 * "id" is what the output names it by. Loaded 500 chunks a batch, as
 * one organisation's one source, in English.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kbindex.h"
#include "kbsource.h"
#include "kbvec.h"
#include "kbbench.h"
#include "log.h"
#include "store.h"

#define ORG		"default"
#define SOURCE		"ks_00000000000000000000000000000001"
#define BATCH		500
#define LINE_MAX_BYTES	(1 << 20)

static char *
str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return strdup(s != NULL ? s : "");
}

/* Loads the chunks of path: their names, by the stored ids (1, 2, ...). */
static char **
load(struct store *st, const char *path, size_t *n)
{
	struct store_txn t;
	struct st_kbchunk c;
	char **names = NULL, *line = NULL;
	size_t cap = 0, lcap = 0;
	uint64_t id;
	FILE *fp;
	json_t *o;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	*n = 0;
	if (store_begin(st, &t, 0) < 0)
		errx(1, "store_begin");
	while (getline(&line, &lcap, fp) > 0) {
		if ((o = json_loads(line, 0, NULL)) == NULL)
			errx(1, "%s: line %zu: not JSON", path, *n + 1);
		memset(&c, 0, sizeof(c));
		strlcpy(c.org, ORG, sizeof(c.org));
		strlcpy(c.source_id, SOURCE, sizeof(c.source_id));
		strlcpy(c.lang, "en", sizeof(c.lang));
		c.url = str_of(o, "url");
		c.title = str_of(o, "title");
		c.headings = str_of(o, "headings");
		c.text = str_of(o, "text");
		if (kb_chunk_add(&t, &c, &id) < 0 || id != *n + 1)
			errx(1, "%s: line %zu: not stored", path, *n + 1);
		st_kbchunk_free(&c);
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((names = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				err(1, "names");
		}
		names[(*n)++] = str_of(o, "id");
		json_decref(o);
		if (*n % BATCH == 0 && (store_commit(&t) < 0 ||
		    store_begin(st, &t, 0) < 0))
			errx(1, "commit");
	}
	if (store_commit(&t) < 0)
		errx(1, "commit");
	free(line);
	fclose(fp);
	return names;
}

/* The whole of file path, which must hold rows of dim floats: *rows. */
static float *
read_rows(const char *path, uint32_t dim, size_t *rows)
{
	float *v;
	long len;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	if (fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0 ||
	    len % (long)(dim * sizeof(float)) != 0)
		errx(1, "%s: not rows of %u floats", path, dim);
	rewind(fp);
	if ((v = malloc(len > 0 ? (size_t)len : 1)) == NULL)
		err(1, "%s", path);
	if (fread(v, 1, (size_t)len, fp) != (size_t)len)
		errx(1, "%s: short read", path);
	fclose(fp);
	*rows = (size_t)len / (dim * sizeof(float));
	return v;
}

/* Chunk i + 1's embedding: row i of path (n rows), 500 a batch. */
static void
vectors_put(struct store *st, const char *path, uint32_t dim, size_t n)
{
	uint64_t ids[BATCH];
	struct store_txn t;
	size_t rows, i, j;
	float *v = read_rows(path, dim, &rows);

	if (rows != n)
		errx(1, "%s: %zu rows for %zu chunks", path, rows, n);
	for (i = 0; i < n; i += j) {
		for (j = 0; j < BATCH && i + j < n; j++)
			ids[j] = i + j + 1;
		if (store_begin(st, &t, 0) < 0 || kb_vec_put_many(&t, ORG,
		    (uint32_t)j, ids, v + i * dim, dim) < 0 ||
		    store_commit(&t) < 0)
			errx(1, "vectors: %s", t.errmsg ? t.errmsg : "failed");
	}
	free(v);
}

/* query (len bytes) searched with embedding qv as a turn: hits into out. */
static void
hybrid_search(struct store *st, const char *query, size_t len,
    const float *qv, uint32_t dim, uint32_t k, struct st_kb_hits *out)
{
	char *qs = strndup(query, len);

	if (qs == NULL)
		err(1, "query");
	kb_search_hybrid(st, ORG, qs, qv, dim, k, out);
	free(qs);
}

int
main(int argc, char *argv[])
{
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	char dir[] = "/tmp/parley-kbeval-XXXXXX", *line = NULL, **names;
	double t0, *ms = NULL;
	size_t n, lcap = 0, nq = 0, qcap = 0, len;
	uint32_t k = 10, nh, i;
	struct st_kb_hits h;
	struct store_txn t;
	struct store *st;
	float *qv = NULL;
	size_t nqv = 0;
	uint32_t dim = 0;

	if (argc != 2 && argc != 3 && argc != 6)
		errx(2, "usage: kbeval CHUNKS.jsonl [K [VECTORS QVECTORS DIM]] "
		    "< QUERIES");
	if (argc >= 3 && ((k = (uint32_t)atoi(argv[2])) < 1 ||
	    k > ST_KB_SEARCH_K_MAX))
		errx(2, "K: 1 to %d", ST_KB_SEARCH_K_MAX);
	if (argc == 6 && ((dim = (uint32_t)atoi(argv[5])) < 1 ||
	    dim > KB_VEC_DIM_MAX))
		errx(2, "DIM: 1 to %d", KB_VEC_DIM_MAX);
	log_set_level(LOG_LEVEL_WARN);
	if (mkdtemp(dir) == NULL || (st = store_open(dir, 4096,
	    STORE_F_NOSYNC)) == NULL)
		errx(1, "store in %s", dir);
	t0 = now_ms();
	names = load(st, argv[1], &n);
	fprintf(stderr, "kbeval: %zu chunks loaded in %.0f ms\n", n,
	    now_ms() - t0);
	if (dim > 0) {
		vectors_put(st, argv[3], dim, n);
		qv = read_rows(argv[4], dim, &nqv);
	}
	while (getline(&line, &lcap, stdin) > 0) {
		len = strcspn(line, "\n");
		if (nq == qcap) {
			qcap = qcap ? 2 * qcap : 256;
			if ((ms = reallocarray(ms, qcap, sizeof(*ms))) == NULL)
				err(1, "times");
		}
		t0 = now_ms();
		if (dim > 0) {
			if (nq >= nqv)
				errx(1, "%s: fewer rows than queries", argv[4]);
			hybrid_search(st, line, len, qv + nq * dim, dim, k, &h);
			ms[nq++] = now_ms() - t0;
			for (i = 0; i < h.n; i++)
				printf("%s%s\t%.6f", i ? " " : "",
				    names[h.hits[i].chunk_id - 1],
				    h.hits[i].score / 1e6);
			printf("%s\n", h.n ? "" : "-");
			st_rep_free(PROTO_ST_KB_SEARCH, &h);
			fflush(stdout);
			continue;
		}
		if (store_begin(st, &t, 1) < 0 || kb_search(&t, ORG, "en",
		    line, len, k, NULL, hits, &nh) < 0)
			errx(1, "search: %s", t.errmsg ? t.errmsg : "failed");
		store_abort(&t);
		ms[nq++] = now_ms() - t0;
		for (i = 0; i < nh; i++)
			printf("%s%s\t%.4f", i ? " " : "",
			    names[hits[i].id - 1], hits[i].score);
		printf("%s\n", nh ? "" : "-");
		fflush(stdout);
	}
	if (nq > 0) {
		qsort(ms, nq, sizeof(*ms), ms_cmp);
		fprintf(stderr, "kbeval: %zu searches, p50 %.3f ms, p99 %.3f "
		    "ms\n", nq, ms[nq / 2], ms[(nq * 99) / 100]);
	}
	store_close(st);
	remove_store(dir);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ms);
	free(qv);
	free(line);
	return 0;
}
