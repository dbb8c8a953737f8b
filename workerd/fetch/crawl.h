/*
 * One sync of a crawl or file source, in the fetcher (crawl.c): for a
 * crawl, robots.txt read first, then the start page's site walked by its
 * links (or the start sitemap's pages), each page fetched with libcurl
 * under the address policy; for a file, its bytes asked of storaged
 * (ST_KB_FILE_GET) as its one page. Each page read by the document
 * readers (html.h; pdf.h in a child process of its own, docchild.h) and
 * the chunker (chunk.h), and told to
 * storaged (ST_KB_PAGE_PUT); the end told too (ST_KB_SYNC_DONE).
 * Bounded in pages, depth, bytes a page and time.
 */
#ifndef PARLEY_FETCH_CRAWL_H
#define PARLEY_FETCH_CRAWL_H

#include <stddef.h>
#include <stdint.h>

#include "kbmsg.h"

/* A crawl's bounds and manners (the fetcher's settings). */
struct crawl_conf {
	uint32_t max_pages;	/* pages fetched at most (a source's own wins) */
	uint32_t max_depth;	/* links followed from the start at most */
	size_t page_bytes;	/* bytes of one answer read at most */
	uint64_t time_ms;	/* a sync's time at most */
	unsigned inflight;	/* fetches at once */
	int allow_private;	/* PARLEY_KNOWLEDGE_ALLOW_PRIVATE */
	/*
	 * PARLEY_FETCH_CPU_SECONDS: a PDF's reader's CPU time bound (its
	 * child's, docchild.h), the fetcher's own for the readers that run
	 * in it.
	 */
	unsigned cpu_s;
	/* The embedding model each page's chunks go to, or NULL (none). */
	const struct embed_conf *embed;
};

struct crawl;
struct embed_conf;

/*
 * What an answer is read as, by its Content-Type ctype (its media type,
 * in any case, up to a ';', white space or the end): text/html and
 * application/xhtml+xml HTML, text/markdown and text/x-markdown
 * Markdown, text/plain Markdown when url's path (before any '?' or '#')
 * ends in ".md" and plain text otherwise, application/pdf a PDF;
 * anything else nothing.
 */
enum doc_type { DOC_NONE, DOC_HTML, DOC_MARKDOWN, DOC_TEXT, DOC_PDF };
enum doc_type crawl_doc_type(const char *ctype, const char *url);
/*
 * ctype's charset parameter, as it is (mediatype_charset's), into cs
 * (cssz >= 1 bytes, cut to fit): cs, or NULL when there is none ("" in
 * cs). Here, with crawl_doc_type, for their fuzz target
 * (tests/fuzz/ctype): the Content-Type is any site's.
 */
const char *crawl_charset(const char *ctype, char *cs, size_t cssz);

/*
 * Starts the sync of job (a crawl or file source with its sync id, and
 * the spaces its pages are embedded in besides the install's: now the
 * crawl's, job emptied); done(arg) is called once it has ended, its end
 * told to storaged or given up (the lease brings it back). NULL out of
 * memory (job left to its owner, done not called).
 */
struct crawl *crawl_start(struct st_kb_job *job,
    const struct crawl_conf *conf, void (*done)(void *), void *arg);
/*
 * What the last fetcher read when it ended at its CPU time bound or
 * crashed (rec: a record crawl.c made, fetcher_reading_sync), told to
 * storaged as a sync of its own: a page or a file source's file put as
 * failed, "took more than cpu_s s of CPU to read" or "the fetcher ended
 * reading it (...)" (a sync reading it again keeps it so, unread, while
 * its bytes are the same), and its sync ended to be taken again at once
 * (ST_KB_SYNC_AGAIN); a sync that was reading nothing of its own (the
 * fetcher read a visitor's attachment) is ended so alone; a sitemap or
 * robots.txt fails its sync. done(arg) once told; NULL out of memory or
 * rec not understood (done not called).
 */
struct crawl *crawl_recover(const char *rec, const struct crawl_conf *conf,
    unsigned cpu_s, void (*done)(void *), void *arg);
/*
 * c's sync alone as a record crawl_recover reads (the sync taken again at
 * once, not after its lease) into buf of size bytes: its length.
 */
size_t crawl_sync_record(const struct crawl *c, char *buf, size_t size);
/* Stops c at once (quitting): transfers dropped, nothing told; c freed. */
void crawl_stop(struct crawl *c);
/*
 * c's agents' own keys (its spaces') zeroed where they are, nothing
 * freed: for a forked child (docchild.c). NULL: nothing.
 */
void crawl_wipe(struct crawl *c);
/*
 * Stops c's transfers and gives its sync back to storaged, due now
 * (ST_KB_SYNC_AGAIN), for the next fetcher at once rather than after its
 * lease; c's done is called once storaged has it (or could not), c freed.
 */
void crawl_give_back(struct crawl *c);

#endif
