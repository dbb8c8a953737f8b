/*
 * A PDF attachment's text, read in the fetcher (attextract.h): storaged
 * queues each PDF upload once whole (att_extract); here one at a time it
 * is taken off the queue (ST_ATT_EXTRACT_DUE), its pieces read
 * (ST_ATT_READ, any state), its text extracted by pdf.c (poppler, with
 * this process's own bounds: the untrusted bytes are parsed here, never
 * in a worker or storaged), its paragraphs joined and cut at
 * ST_ATT_TEXT_KEPT bytes at a character, and kept with it
 * (ST_ATT_TEXT_PUT). A PDF that cannot be read keeps an empty text. The
 * model is shown it with the message that names the file (turnfiles.c).
 */
#include <stdlib.h>
#include <string.h>

#include "attextract.h"
#include "fetcher.h"
#include "html.h"
#include "log.h"
#include "pdf.h"
#include "workerd.h"

#define POLL_MS		300
#define IDLE_POLL_MS	1000
#define EXTRACT_PAGES	50	/* pages read of one file */
#define EXTRACT_TIME_MS	5000
/*
 * A file's CPU time bound (RLIMIT_CPU's whole seconds): pdf.c checks
 * EXTRACT_TIME_MS between pages, and one page may hold poppler longer.
 * Any visitor may upload a PDF: past this, the fetcher ends (its own
 * bound, for the owner's pages, is a minute) and the file keeps no text.
 */
#define EXTRACT_CPU_S	5

static struct {
	struct loop_timer poll;
	struct storec_req *req;
	char id[ST_ATT_ID_LEN + 1];
	uint8_t *file;
	uint32_t size, got;
	int running;
} X;

static void ask_due(void *);

/* The job over: the next asked soon. */
static void
job_over(uint64_t next_ms)
{
	free(X.file);
	X.file = NULL;
	X.size = X.got = 0;
	if (X.running)
		loop_timer_after(&X.poll, next_ms);
}

static void
text_kept(const struct storec_result *r, void *arg)
{
	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK)
		log_warnx("attachments: %s: its text not kept: %s", X.id,
		    r->status == STOREC_ERROR ? r->message :
		    "storaged unavailable");
	job_over(POLL_MS);
}

/* doc's blocks joined by blank lines into buf (cut at a character). */
static size_t
doc_text(const struct fetch_doc *doc, char *buf, size_t bufsz)
{
	size_t i, n = 0, k;

	for (i = 0; i < doc->nblocks && n + 3 < bufsz; i++) {
		if (n > 0) {
			memcpy(buf + n, "\n\n", 2);
			n += 2;
		}
		k = doc->blocks[i].len < bufsz - 1 - n ? doc->blocks[i].len :
		    bufsz - 1 - n;
		memcpy(buf + n, doc->blocks[i].text, k);
		n += k;
	}
	/* A character cut at the end: back to its first byte, and before. */
	if (n == bufsz - 1) {
		while (n > 0 && ((uint8_t)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && (uint8_t)buf[n - 1] >= 0xc0)
			n--;
	}
	buf[n] = '\0';
	return n;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): a PDF of one opening aborts the
 * fetcher as poppler does out of memory, for the crash's test; of the
 * other it spins as a page that holds poppler would, for the CPU bound's.
 */
static void
abort_hook(const void *file, size_t size)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-abort";
	static const char spin[] = "%PDF-1.0\n% parley-test-spin";
	volatile unsigned long n = 0;

	if (size >= sizeof(mark) - 1 && memcmp(file, mark,
	    sizeof(mark) - 1) == 0)
		abort();
	if (size >= sizeof(spin) - 1 && memcmp(file, spin,
	    sizeof(spin) - 1) == 0)
		for (;;)
			n++;
}
#else
#define abort_hook(file, size)	((void)0)
#endif

/* The file whole: its text extracted and sent. */
static void
extract(void)
{
	static char text[ST_ATT_TEXT_KEPT + 1];
	/* Reading stops once the text kept is had (and a quarter more). */
	const struct pdf_limits lim = { EXTRACT_PAGES, EXTRACT_TIME_MS,
	    ST_ATT_TEXT_KEPT };
	struct st_att_text_req q = { X.id, text };
	struct fetch_doc doc;
	const char *why;
	int rc;

	text[0] = '\0';
	fetcher_cpu_bound(EXTRACT_CPU_S);
	fetcher_reading("PDF attachment", X.id);
	/* A sync running meanwhile is taken again should this end us. */
	fetcher_reading_elsewhere();
	abort_hook(X.file, X.size);
	rc = pdf_extract_limits(X.file, X.size, &lim, &doc, &why);
	fetcher_reading(NULL, NULL);
	fetcher_cpu_bound(0);
	if (rc < 0)
		log_info("attachments: %s: no text read: %s", X.id, why);
	else {
		doc_text(&doc, text, sizeof(text));
		fetch_doc_free(&doc);
	}
	if (storec_ask(NULL, PROTO_ST_ATT_TEXT_PUT, &q, text_kept, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

static void read_next(void);

static void
piece_read(const struct storec_result *r, void *arg)
{
	struct st_att_read_rep rep;

	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_READ, &rep) < 0) {
		job_over(IDLE_POLL_MS);
		return;
	}
	if (rep.result != ST_ATT_OK || rep.data.len > X.size - X.got ||
	    rep.data.len == 0) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		job_over(POLL_MS);	/* gone meanwhile */
		return;
	}
	memcpy(X.file + X.got, rep.data.p, rep.data.len);
	X.got += rep.data.len;
	st_rep_free(PROTO_ST_ATT_READ, &rep);
	if (X.got == X.size)
		extract();
	else
		read_next();
}

static void
read_next(void)
{
	struct st_att_read_req q = { X.id, X.got / ST_ATT_PIECE,
	    ST_ATT_READ_ANY, NULL };

	if (storec_ask(NULL, PROTO_ST_ATT_READ, &q, piece_read, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

static void
due_done(const struct storec_result *r, void *arg)
{
	struct st_att_due_rep rep;

	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_EXTRACT_DUE, &rep) < 0 ||
	    rep.result != ST_ATT_OK) {
		job_over(IDLE_POLL_MS);
		return;
	}
	strlcpy(X.id, rep.id, sizeof(X.id));
	/* Over what pdf.c reads: its text stays empty. */
	if (rep.size == 0 || rep.size > FETCH_INPUT_MAX ||
	    (X.file = malloc(rep.size)) == NULL) {
		X.size = 0;
		extract();
		return;
	}
	X.size = rep.size;
	X.got = 0;
	read_next();
}

static void
ask_due(void *arg)
{
	(void)arg;
	if (storec_ask(NULL, PROTO_ST_ATT_EXTRACT_DUE, NULL, due_done, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

void
attextract_start(void)
{
	X.running = 1;
	loop_timer_init(&X.poll, ask_due, NULL);
	loop_timer_after(&X.poll, POLL_MS);
}

void
attextract_stop(void)
{
	X.running = 0;
	loop_timer_stop(&X.poll);
	storec_cancel(X.req);
	X.req = NULL;
	free(X.file);
	X.file = NULL;
}
