/*
 * A document read in a child process of its own (docchild.c), for the
 * fetcher's readers that are third-party libraries given untrusted
 * bytes (poppler: pdf.c): a file that holds the reader past its CPU time
 * bound or its wall-clock bound, or runs it out of memory (the fetcher's
 * address-space bound, PARLEY_FETCH_MEMORY_MB, inherited) or into a
 * fault, ends that child alone, never the fetcher and the other
 * organisations' syncs it runs. Used by the attachments' text
 * (attextract.c, waited for on the loop: docchild_start) and the
 * knowledge base's crawled and uploaded PDFs (crawl.c, waited for where
 * it reads, as the reader itself held the loop: docchild_read).
 *
 * The contract:
 * - The child is forked with the bytes as they are in the fetcher (no
 *   copy made), runs reader on them under its own bounds (RLIMIT_CPU
 *   cpu_s soft, a second more hard; no core file; the fetcher's signal
 *   handlers and blocked signals undone; killed with the fetcher,
 *   PR_SET_PDEATHSIG), writes the struct fetch_doc it read (or the
 *   reader's reason it read none) to a pipe, and _exits: no atexit
 *   handler, no loop, no storaged, no log line (those are the fetcher's).
 * - Before the reader runs, the child closes every fd but stdio and its
 *   pipe (the fetcher's channel to masterd, its storaged connection, its
 *   transfers' sockets) and zeroes the keys the fetcher holds: the
 *   settings' secrets (wsettings) and what docchild_wipe_with names. A
 *   reader subverted by a document reads no key and reaches no peer
 *   through the fetcher's fds (it is not exec'd: the rest of the
 *   fetcher's memory, pages it fetched among it, is still there).
 * - Then, just before the reader runs, the child installs its system-call
 *   filter (sandbox.h: seccomp, PR_SET_NO_NEW_PRIVS first), for good: the
 *   reader reads and writes the fds it has, uses memory and the clocks,
 *   signals itself; it opens no file and makes no socket or process
 *   (EPERM), and a call only an attack makes (execve, ptrace, connect,
 *   a signal to another process...) kills the child (DOCCHILD_CRASH). A
 *   child that cannot install it (a kernel without seccomp) runs no
 *   reader: DOCCHILD_UNREAD, why "not read: this system cannot filter a
 *   reader's system calls (seccomp)".
 * - The fetcher reads the pipe (at most DOCCHILD_OUT_MAX bytes), kills
 *   the child at wall_ms, reaps it, and checks what it sent (counts,
 *   lengths, no NUL in a string, every bound of html.h's) before it
 *   builds a struct fetch_doc of its own from it: a child that sent
 *   anything else ended as a crash.
 * - Only one caller's child at a time per struct docchild; a child is
 *   always reaped (docchild_stop for one waited for on the loop).
 */
#ifndef PARLEY_FETCH_DOCCHILD_H
#define PARLEY_FETCH_DOCCHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "html.h"
#include "loop.h"

/* Bytes of a reader's reason sent (a longer one is cut). */
#define DOCCHILD_WHY_MAX	200
/* What a page or file is said of when its child ended DOCCHILD_CRASH. */
#define DOCCHILD_CRASH_WHY	"its reader ended (out of memory, or a fault)"

/* How a child's reading ended. */
enum docchild_end {
	DOCCHILD_READ,		/* res->doc is what it read */
	DOCCHILD_UNREAD,	/* the reader read none: res->why says why */
	DOCCHILD_CPU,		/* ended at its CPU time bound */
	DOCCHILD_LATE,		/* killed at its wall-clock bound */
	DOCCHILD_CRASH,		/* ended otherwise: out of memory, a fault */
	DOCCHILD_FAILED,	/* not started: no process or pipe to be had */
};

/*
 * A reader as the child runs it: 0 with *doc filled, or -1 with *why a
 * reason (html.h's and pdf.h's readers' contract). arg is the caller's.
 */
typedef int (*docchild_reader)(const void *bytes, size_t len, void *arg,
    struct fetch_doc *doc, const char **why);

struct docchild_bounds {
	unsigned cpu_s;		/* the child's CPU seconds (RLIMIT_CPU), > 0 */
	unsigned wall_ms;	/* its time, killed past it */
};

struct docchild_result {
	enum docchild_end end;
	/* DOCCHILD_READ: the doc, the caller's (fetch_doc_free); else zeroed. */
	struct fetch_doc doc;
	/* DOCCHILD_UNREAD: the reader's reason; else "" */
	char why[DOCCHILD_WHY_MAX + 1];
};

/*
 * wipe (NULL: none) called in every child after its fds are closed and
 * wsettings' secrets zeroed, before its reader runs: it zeroes what else
 * of the caller's memory holds a key (explicit_bzero where it is,
 * nothing freed, no lock taken). The fetcher's: its syncs' agents' keys,
 * its embedding jobs' headers, its channels' buffers (fetcher.c).
 */
void docchild_wipe_with(void (*wipe)(void));

/*
 * bytes (len) read by reader(bytes, len, arg) in a child, waited for
 * here (the caller's loop held meanwhile, as the reader in process
 * held it): res filled, its end returned.
 */
enum docchild_end docchild_read(const void *bytes, size_t len,
    const struct docchild_bounds *b, docchild_reader reader, void *arg,
    struct docchild_result *res);

/* A child waited for on the loop (docchild_start): its caller's. */
struct docchild {
	pid_t pid;		/* 0: none */
	int fd;			/* its output's read end, -1: none */
	int late;		/* killed at its wall-clock bound */
	struct docchild_bounds b;
	char *out;
	size_t outlen, outcap;
	struct loop_io io;
	struct loop_timer wall;
	void (*done)(struct docchild_result *, void *);
	void *arg;
};

/*
 * docchild_read waited for on the loop: the child has its own copy of
 * bytes (the caller may free them at once); done(res, done_arg) is
 * called once, from the loop (never from within docchild_start), res's
 * doc then done's to keep or free (fetch_doc_free). -1: not started
 * (fork or pipe failed; done not called). dc zeroed or used before; one
 * child at a time in it.
 */
int docchild_start(struct docchild *dc, const void *bytes, size_t len,
    const struct docchild_bounds *b, docchild_reader reader, void *arg,
    void (*done)(struct docchild_result *, void *), void *done_arg);
/* The child killed and reaped, done not called; none running: nothing. */
void docchild_stop(struct docchild *dc);

/*
 * What a child sent (n bytes of out) checked and made res's doc or why
 * (res zeroed before): its end, DOCCHILD_READ or DOCCHILD_UNREAD;
 * DOCCHILD_CRASH when it is not one (a count or a length past html.h's
 * bounds, an empty or NUL-holding string, bytes left over), and
 * DOCCHILD_FAILED out of memory, the doc zeroed then. Each string is
 * made clean UTF-8 as a reader's (fetch_utf8_clean), bounded after.
 * Here for its fuzz target (tests/fuzz/docchild): the child's bytes come
 * from a reader given untrusted ones.
 */
enum docchild_end docchild_decode(const char *out, size_t n,
    struct docchild_result *res);

#endif
