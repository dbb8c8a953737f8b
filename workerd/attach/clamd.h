/*
 * An upload scanned by the ClamAV daemon (PARLEY_CLAMD) before it is
 * stored (clamd.c): one connection per file, clamd's INSTREAM command
 * (`zINSTREAM\0`, then chunks `<u32 big-endian length><bytes>`, then a
 * chunk of length 0), its one-line reply read back; all of it on the
 * worker's loop, never blocking. The address is clamdaddr.h's (lib/).
 *
 * A scan's life: clamd_scan_start, clamd_scan_feed as the upload's bytes
 * come, clamd_scan_finish after the last; then done(arg, verdict) once,
 * from the loop, never from inside a clamd_scan_* call. done may come
 * before finish (clamd away, a stream over clamd's StreamMaxLength):
 * stop feeding then. clamd_scan_cancel drops a scan without its done.
 *
 * A worker holds at most CLAMD_SCANS_MAX connections to clamd (every
 * address together); a scan started past them waits for one, in order,
 * its bytes fed meanwhile held (clamd_scan_queued says how many). Past
 * CLAMD_WAITING_MAX waiting, or after waiting its timeout_ms, its
 * verdict is CLAMD_BUSY: try again later.
 */
#ifndef PARLEY_CLAMD_H
#define PARLEY_CLAMD_H

#include <stddef.h>
#include <stdint.h>

#include "clamdaddr.h"

/*
 * What clamd said. A zeroed verdict is CLAMD_UNAVAILABLE, never clean.
 * The upload path stores a file only on CLAMD_CLEAN; CLAMD_TOO_LARGE is
 * "could not scan" like CLAMD_UNAVAILABLE (PARLEY_CLAMD_UNAVAILABLE
 * decides), told apart so the log can say what to change. CLAMD_BUSY
 * is this worker's own: too many scans at once, the file never sent.
 */
enum clamd_result {
	CLAMD_UNAVAILABLE = 0,	/* no verdict: connect refused, timeout,
				   reset, a malformed or ERROR reply */
	CLAMD_CLEAN,		/* "stream: OK" */
	CLAMD_INFECTED,		/* "stream: NAME FOUND": name set */
	CLAMD_TOO_LARGE,	/* "INSTREAM size limit exceeded. ERROR": the
				   file is over clamd's StreamMaxLength */
	CLAMD_BUSY,		/* never sent: CLAMD_WAITING_MAX scans were
				   waiting, or this one waited timeout_ms */
};

/*
 * Scans connected to clamd at once in one worker, at most; the next
 * CLAMD_WAITING_MAX wait for a connection in the order they started.
 */
#define CLAMD_SCANS_MAX		8
#define CLAMD_WAITING_MAX	32

#define CLAMD_NAME_MAX	128	/* bytes of a signature's name kept */
#define CLAMD_WHY_MAX	256
#define CLAMD_REPLY_MAX	1024	/* the longest reply read */

struct clamd_verdict {
	enum clamd_result result;
	/* CLAMD_INFECTED: the signature ("Win.Test.EICAR_HDB-1"), printable
	   ASCII (others '?'), cut at CLAMD_NAME_MAX bytes; else "" */
	char name[CLAMD_NAME_MAX + 1];
	/* CLAMD_UNAVAILABLE, CLAMD_TOO_LARGE, CLAMD_BUSY: one line saying
	   why, with the address ("unix:/run/clamav/clamd.ctl: connect: No
	   such file or directory"); else "". Never any of the file's
	   bytes. */
	char why[CLAMD_WHY_MAX];
};

struct clamd_scan;

/*
 * Reads clamd's reply to INSTREAM, the len bytes at p (NULs, CRs and
 * newlines at its end ignored), into *v (every field set): "stream: OK"
 * CLAMD_CLEAN; "stream: NAME FOUND" CLAMD_INFECTED with NAME sanitized;
 * "INSTREAM size limit exceeded. ERROR" CLAMD_TOO_LARGE; any other
 * "... ERROR", and anything else (empty, a NUL inside, no name),
 * CLAMD_UNAVAILABLE with why quoting the reply sanitized. Pure: the
 * scanner's one parser, fuzzed (tests/fuzz/clamd).
 */
void clamd_reply_parse(const void *p, size_t len, struct clamd_verdict *v);

/*
 * Starts scanning one file at a (connecting without blocking). Every
 * wait on clamd (the connect, a write the socket does not take, the
 * reply after the last chunk) may last timeout_ms from clamd's last
 * progress before the verdict is CLAMD_UNAVAILABLE; the time the caller
 * takes between feeds is not counted (clamd's ReadTimeout, 120 s by
 * default, bounds that: a slower caller gets CLAMD_UNAVAILABLE). The
 * scan, or NULL when memory ran out (no done then). A connect that
 * fails at once still returns a scan: its done says why, from the loop.
 * After done returns the scan is freed: drop the pointer in done.
 */
struct clamd_scan *clamd_scan_start(const struct clamd_addr *a,
    uint32_t timeout_ms, void (*done)(void *arg, const struct clamd_verdict *),
    void *arg);
/*
 * Queues len more bytes of the file: copied into the scan's own buffer
 * (buf is the caller's again on return), written as INSTREAM chunks as
 * the socket takes them. Any size at once (a 1 MiB piece); len 0 does
 * nothing. 0; or -1, nothing queued, once the verdict is known (its
 * done is coming), after clamd_scan_finish, or out of memory (the
 * verdict is then CLAMD_UNAVAILABLE).
 */
int clamd_scan_feed(struct clamd_scan *, const void *buf, size_t len);
/* Bytes fed and not yet taken by the socket: pause the upload while high. */
size_t clamd_scan_queued(const struct clamd_scan *);
/*
 * The file is whole: queues the chunk of length 0 and waits for the
 * reply. Once; nothing when the verdict is already known.
 */
void clamd_scan_finish(struct clamd_scan *);
/*
 * Drops the scan: its connection closed at once, its memory freed once
 * the loop's current round ends, its done never called (a no-op from
 * inside its own done). Not after its done has returned.
 */
void clamd_scan_cancel(struct clamd_scan *);

#endif
