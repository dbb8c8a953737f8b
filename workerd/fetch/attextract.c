/*
 * A PDF attachment's text, read in the fetcher (attextract.h): storaged
 * queues each PDF upload once whole (attqueue.c: in its client's turn);
 * here one at a time it is taken off the queue (ST_ATT_EXTRACT_DUE:
 * leased; its text not kept within ST_ATT_LEASE_MS, the fetcher dead, it
 * comes back, at most ST_ATT_EXTRACT_TRIES times), its pieces read
 * (ST_ATT_READ, any state), its text extracted by pdf.c
 * (poppler: the untrusted bytes are parsed in the fetcher's own child,
 * never in a worker or storaged), its paragraphs joined and cut at
 * ST_ATT_TEXT_KEPT bytes at a character, and kept with it
 * (ST_ATT_TEXT_PUT). A PDF that cannot be read keeps an empty text. The
 * model is shown it with the message that names the file (turnfiles.c).
 *
 * The text is read in a child process of one file (docchild.h, waited
 * for on the loop): a PDF that holds poppler (EXTRACT_CPU_S of CPU,
 * EXTRACT_WALL_MS of time) or runs it out of memory (the fetcher's
 * address-space bound, inherited) ends the child alone, never the
 * fetcher and the knowledge syncs it runs meanwhile: any visitor may
 * upload PDFs, and theirs once ended the fetcher one after another,
 * every organisation's syncs with it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attextract.h"
#include "docchild.h"
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
 * A file's CPU time bound (its child's RLIMIT_CPU): pdf.c checks
 * EXTRACT_TIME_MS between pages, and one page may hold poppler longer.
 * Past it, or past EXTRACT_WALL_MS, the child ends and the file keeps no
 * text.
 */
#define EXTRACT_CPU_S	5
#define EXTRACT_WALL_MS	30000
/* A read ends well within its lease: never read twice at once. */
_Static_assert(EXTRACT_WALL_MS + 15000 <= ST_ATT_LEASE_MS,
    "a PDF's lease outlasts its reading");

static struct {
	struct loop_timer poll;
	struct storec_req *req;
	char id[ST_ATT_ID_LEN + 1];
	uint8_t attempt;	/* its lease's: 1 the first */
	uint8_t *file;
	uint32_t size, got;
	int running;
	struct docchild child;	/* reading the file */
	char text[ST_ATT_TEXT_KEPT + 1];
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
		loop_timer_after(&X.poll, storec_poll_ms(next_ms));
}

static void
text_kept(const struct storec_result *r, void *arg)
{
	(void)arg;
	X.req = NULL;
	if (r->status != STOREC_OK)
		log_warnx("attachments: %s: its text not kept: %s", X.id,
		    storec_why(r));
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
	/* A character cut at the end: left out. */
	if (n == bufsz - 1)
		n = proto_utf8_whole(buf, n);
	buf[n] = '\0';
	return n;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): a PDF of this opening waits, in its
 * reader, on its first lease (the test ends the fetcher meanwhile), read
 * on the next, for the lease's test. (Those that abort or spin their
 * reader: docchild.c's.)
 */
static void
hold_hook(const void *file, size_t size)
{
	static const char hold[] = "%PDF-1.4\n% parley-test-hold";

	if (X.attempt == 1 && size >= sizeof(hold) - 1 && memcmp(file, hold,
	    sizeof(hold) - 1) == 0)
		pause();
}

/* A PDF of this opening ends the fetcher itself, each time it is read. */
static void
kill_hook(const void *file, size_t size)
{
	static const char mark[] = "%PDF-1.0\n% parley-test-kill-fetcher";

	if (size >= sizeof(mark) - 1 && memcmp(file, mark,
	    sizeof(mark) - 1) == 0)
		(void)kill(getpid(), SIGKILL);
}
#else
#define hold_hook(file, size)	((void)0)
#define kill_hook(file, size)	((void)0)
#endif

/*
 * A file's CPU time bound: EXTRACT_CPU_S, or less in the test build
 * (PARLEY_TEST_ATT_CPU_S: the test of PDFs that hold the reader, which
 * burnt 5 s of a core for each).
 */
static int
extract_cpu_s(void)
{
	return (int)SETTINGS_TEST_LOWER("PARLEY_TEST_ATT_CPU_S", EXTRACT_CPU_S);
}

/*
 * text (NUL-terminated) kept as the file's text, failed: none could be
 * read (so "" is not taken for a PDF without text): the job over then.
 */
static void
text_put(const char *text, int failed)
{
	struct st_att_text_req q = { X.id, text, failed != 0 };

	if (storec_ask(NULL, PROTO_ST_ATT_TEXT_PUT, &q, text_kept, NULL,
	    &X.req) < 0)
		job_over(IDLE_POLL_MS);
}

/* The reader the child runs: pdf.c's, within an attachment's bounds. */
static int
att_reader(const void *file, size_t size, void *arg, struct fetch_doc *doc,
    const char **why)
{
	/* Reading stops once the text kept is had (and a quarter more). */
	const struct pdf_limits lim = { EXTRACT_PAGES, EXTRACT_TIME_MS,
	    ST_ATT_TEXT_KEPT };

	(void)arg;
	hold_hook(file, size);
	return pdf_extract_limits(file, size, &lim, doc, why);
}

/* The child's end: its text kept, or none and why logged. */
static void
att_read(struct docchild_result *res, void *arg)
{
	char late[64];
	const char *why = res->why;

	(void)arg;
	if (res->end == DOCCHILD_READ) {
		doc_text(&res->doc, X.text, sizeof(X.text));
		fetch_doc_free(&res->doc);
		text_put(X.text, 0);
		return;
	}
	if (res->end == DOCCHILD_CPU || res->end == DOCCHILD_LATE) {
		snprintf(late, sizeof(late), "took more than %d s of CPU, or "
		    "%d s, to read", extract_cpu_s(), EXTRACT_WALL_MS / 1000);
		why = late;
	} else if (res->end == DOCCHILD_CRASH)
		why = DOCCHILD_CRASH_WHY;
	else if (res->end == DOCCHILD_FAILED)
		why = "out of memory";
	log_info("attachments: %s: no text read: %s", X.id, why);
	text_put("", 1);
}

/* The file whole: its text read by a child of its own, then sent. */
static void
extract(void)
{
	const struct docchild_bounds b = { (unsigned)extract_cpu_s(),
	    EXTRACT_WALL_MS };

	if (X.size == 0) {
		text_put("", 1);
		return;
	}
	kill_hook(X.file, X.size);
	if (docchild_start(&X.child, X.file, X.size, &b, att_reader, NULL,
	    att_read, NULL) < 0) {
		log_warnx("attachments: %s: its reader not started", X.id);
		text_put("", 1);
	}
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
	X.attempt = rep.attempt;
	log_info("attachments: %s: reading its text (try %u)", X.id,
	    (unsigned)X.attempt);
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
	X.child.fd = -1;
	loop_timer_init(&X.poll, ask_due, NULL);
	loop_timer_after(&X.poll, storec_poll_ms(POLL_MS));
}

void
attextract_stop(void)
{
	X.running = 0;
	loop_timer_stop(&X.poll);
	docchild_stop(&X.child);
	storec_cancel(X.req);
	X.req = NULL;
	free(X.file);
	X.file = NULL;
}
