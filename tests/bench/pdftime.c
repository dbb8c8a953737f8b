/*
 * The PDF reader's speed (workerd/fetch/pdf.c): reads each PDF named on
 * the command line with pdf_extract, N times (PDFTIME_ROUNDS, default
 * 3), and prints its pages, blocks, text bytes, title and pages per
 * second of the fastest round; PDFTIME_DUMP=1 prints the blocks too
 * (a heading as "#N text"); PDFTIME_TEXT=BYTES reads with that text
 * bound (an attachment's reader: 16384, workerd/fetch/attextract.c;
 * its time is then the figure, the rate counting pages not read).
 * Built on request:
 * make build/release/bench/pdftime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poppler.h>

#include "pdf.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The file's bytes (malloc'd) in *len, NULL when it cannot be read. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	*len = p ? (size_t)n : 0;
	fclose(f);
	return p;
}

static void
dump(const struct fetch_doc *doc)
{
	size_t i;

	for (i = 0; i < doc->nblocks; i++)
		if (doc->blocks[i].kind == FETCH_HEADING)
			printf("#%d %s\n", doc->blocks[i].level, doc->blocks[i].text);
		else
			printf("%s\n\n", doc->blocks[i].text);
}

/* The pages poppler sees in the file, for the rate. */
static int
page_count(const char *bytes, size_t len)
{
	GBytes *gb = g_bytes_new_static(bytes, len);
	PopplerDocument *d = poppler_document_new_from_bytes(gb, NULL, NULL);
	int n = d ? poppler_document_get_n_pages(d) : 0;

	if (d != NULL)
		g_object_unref(d);
	g_bytes_unref(gb);
	return n;
}

int
main(int argc, char **argv)
{
	const char *env = getenv("PDFTIME_ROUNDS");
	const char *text = getenv("PDFTIME_TEXT");
	const struct pdf_limits lim = { 0, 0,
	    text != NULL ? strtoul(text, NULL, 10) : 0 };
	int rounds = env ? atoi(env) : 3, i, r, pages;
	struct fetch_doc doc;
	const char *why;
	double best, t;
	size_t len;
	char *bytes;

	for (i = 1; i < argc; i++) {
		if ((bytes = slurp(argv[i], &len)) == NULL) {
			fprintf(stderr, "pdftime: cannot read %s\n", argv[i]);
			return 1;
		}
		pages = page_count(bytes, len);
		best = 1e9;
		for (r = 0; r < (rounds > 0 ? rounds : 1); r++) {
			t = now();
			if (pdf_extract_limits(bytes, len, &lim, &doc,
			    &why) != 0) {
				fprintf(stderr, "pdftime: %s: %s\n", argv[i], why);
				free(bytes);
				return 1;
			}
			t = now() - t;
			best = t < best ? t : best;
			if (r + 1 < rounds)
				fetch_doc_free(&doc);
		}
		printf("%s: %d pages, %zu blocks, %zu bytes of text%s, title \"%s\": "
		    "%.3f s, %.0f pages/s\n", argv[i], pages, doc.nblocks,
		    doc.text_bytes, doc.truncated ? " (truncated)" : "",
		    doc.title ? doc.title : "", best, pages / best);
		if (getenv("PDFTIME_DUMP") != NULL)
			dump(&doc);
		fetch_doc_free(&doc);
		free(bytes);
	}
	return 0;
}
