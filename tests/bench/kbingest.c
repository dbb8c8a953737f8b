/*
 * The knowledge base's ingest rate (make bench's knowledge section):
 * the HTML pages of a folder read into memory, then each one through
 * the path a crawled page takes: extraction (workerd/fetch/html.c
 * html_extract), chunking (chunk.c chunk_doc, default sizes) and
 * indexing (kbindex.c kb_chunk_add, the page's chunks in one batch,
 * committed), on a store in a fresh temporary directory, ROUNDS times
 * (a fresh store each). Prints, for each round, pages and chunks a
 * second and the time spent in each step.
 *
 *   kbingest DIR [ROUNDS [nosync]]
 *
 * nosync: the store opened with STORE_F_NOSYNC (PARLEY_SYNC=interval's
 * commits); without it a commit is flushed, as PARLEY_SYNC=full.
 */
#include <dirent.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "html.h"
#include "kbindex.h"
#include "kbbench.h"
#include "log.h"
#include "store.h"

#define ORG		"default"
#define SOURCE		"ks_00000000000000000000000000000001"
#define BASE_URL	"https://debian-handbook.info/browse/stable/"
#define PAGES_MAX	10000

struct page {
	char *name;
	char *bytes;
	size_t len;
};

struct times {
	double extract, chunk, index;
	size_t chunks, text;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct page *)a)->name,
	    ((const struct page *)b)->name);
}

/* The .html files of dir, read, sorted by name: how many. */
static size_t
read_pages(const char *dir, struct page *pages)
{
	char path[4096];
	struct dirent *de;
	size_t n = 0, len;
	FILE *fp;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		err(1, "%s", dir);
	while (n < PAGES_MAX && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".html") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			err(1, "%s", path);
		fseek(fp, 0, SEEK_END);
		pages[n].len = (size_t)ftell(fp);
		rewind(fp);
		if ((pages[n].bytes = malloc(pages[n].len + 1)) == NULL ||
		    (pages[n].name = strdup(de->d_name)) == NULL)
			err(1, "page");
		if (fread(pages[n].bytes, 1, pages[n].len, fp) != pages[n].len)
			errx(1, "%s: short read", path);
		fclose(fp);
		n++;
	}
	closedir(d);
	qsort(pages, n, sizeof(pages[0]), name_cmp);
	return n;
}

/* Indexes the n chunks of page p in one committed batch. */
static void
store_page(struct store *st, const struct page *p, const struct chunk *ch,
    size_t n)
{
	struct st_kbchunk c;
	struct store_txn t;
	uint64_t id;
	size_t i;

	if (store_begin(st, &t, 0) < 0)
		errx(1, "store_begin");
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		strlcpy(c.org, ORG, sizeof(c.org));
		strlcpy(c.source_id, SOURCE, sizeof(c.source_id));
		strlcpy(c.lang, "en", sizeof(c.lang));
		if (asprintf(&c.url, "%s%s", BASE_URL, p->name) < 0 ||
		    (c.title = strdup(ch[i].title)) == NULL ||
		    (c.headings = strdup(ch[i].path)) == NULL ||
		    (c.text = strdup(ch[i].text)) == NULL)
			err(1, "chunk");
		if (kb_chunk_add(&t, &c, &id) < 0)
			errx(1, "%s: kb_chunk_add: %s", p->name,
			    t.errmsg ? t.errmsg : "failed");
		st_kbchunk_free(&c);
	}
	if (store_commit(&t) < 0)
		errx(1, "%s: commit", p->name);
}

/* One page through the three steps, timed into tm. */
static void
ingest(struct store *st, const struct page *p, struct times *tm)
{
	struct fetch_doc doc;
	struct chunk *ch = NULL;
	char url[1024];
	const char *why;
	size_t n = 0, i;
	double t0 = now_ms(), t1, t2;

	snprintf(url, sizeof(url), "%s%s", BASE_URL, p->name);
	if (html_extract(p->bytes, p->len, url, NULL, &doc, &why) < 0)
		errx(1, "%s: %s", p->name, why);
	t1 = now_ms();
	if (chunk_doc(&doc, NULL, &ch, &n, &why) < 0)
		errx(1, "%s: %s", p->name, why);
	t2 = now_ms();
	store_page(st, p, ch, n);
	tm->extract += t1 - t0;
	tm->chunk += t2 - t1;
	tm->index += now_ms() - t2;
	tm->chunks += n;
	for (i = 0; i < n; i++)
		tm->text += ch[i].len;
	chunks_free(ch, n);
	fetch_doc_free(&doc);
}

int
main(int argc, char *argv[])
{
	static struct page pages[PAGES_MAX];
	char dir[] = "/tmp/parley-kbingest-XXXXXX";
	struct times tm;
	struct store *st;
	size_t n, i, bytes = 0;
	int rounds = 3, r, flags = 0;
	double t0, ms;

	if (argc < 2 || argc > 4 || (argc > 2 && (rounds = atoi(argv[2])) < 1))
		errx(2, "usage: kbingest DIR [ROUNDS [nosync]]");
	if (argc == 4) {
		if (strcmp(argv[3], "nosync") != 0)
			errx(2, "usage: kbingest DIR [ROUNDS [nosync]]");
		flags = STORE_F_NOSYNC;
	}
	log_set_level(LOG_LEVEL_WARN);
	if ((n = read_pages(argv[1], pages)) == 0)
		errx(1, "%s: no .html page", argv[1]);
	for (i = 0; i < n; i++)
		bytes += pages[i].len;
	printf("%zu pages, %.1f MB of HTML, a batch committed a page (%s)\n",
	    n, bytes / 1e6, flags ? "not flushed: nosync" : "flushed: full");
	for (r = 0; r < rounds; r++) {
		strlcpy(dir, "/tmp/parley-kbingest-XXXXXX", sizeof(dir));
		if (mkdtemp(dir) == NULL ||
		    (st = store_open(dir, 4096, flags)) == NULL)
			errx(1, "store in %s", dir);
		memset(&tm, 0, sizeof(tm));
		t0 = now_ms();
		for (i = 0; i < n; i++)
			ingest(st, &pages[i], &tm);
		ms = now_ms() - t0;
		printf("round %d: %.0f pages/s, %.0f chunks/s (%zu chunks, "
		    "%.2f MB of text) in %.0f ms: extraction %.0f ms, chunking "
		    "%.0f ms, indexing and commits %.0f ms\n", r + 1,
		    n / (ms / 1e3), tm.chunks / (ms / 1e3), tm.chunks,
		    tm.text / 1e6, ms, tm.extract, tm.chunk, tm.index);
		store_close(st);
		remove_store(dir);
	}
	for (i = 0; i < n; i++) {
		free(pages[i].name);
		free(pages[i].bytes);
	}
	return 0;
}
