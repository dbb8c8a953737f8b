/*
 * The write-ahead log: one file, wal.log in the data directory, of records
 * appended in order, each acknowledged once it is on disk. storaged writes
 * there what a batch changed (store.c, storelog.c) and applies it to LMDB
 * in a write transaction that is committed, and synced, only now and then
 * (a checkpoint). After a checkpoint the log starts again at offset 0.
 *
 * A record: u32 length of the body, u32 CRC-32C of seq and body, u64 seq,
 * then the body; integers big-endian. Seqs go up by one from record to
 * record. The file grows in zero-filled steps of WAL_GROW bytes ahead of
 * the records, so an append rewrites blocks the file already has and one
 * fdatasync flushes it without a metadata change most of the time.
 *
 * A record's body begins with WAL_EXT_LEN bytes of the log's own (since
 * 2026-12-02; older records lack them, their first byte an operation's
 * kind, storelog.c): u8 WAL_EXT_MARK, u64 flushed, the seq up to which
 * the log was known on disk when the record was written (the last record
 * of its lap whose fdatasync had returned, 0 for none), and the lap's 8
 * random bytes, drawn anew each time the log starts again at offset 0 or
 * is opened, so that no record of another lap carries them; then (since
 * 2026-12-06, mark WAL_EXT_MARK; the previous mark, WAL_EXT1_MARK, has
 * none) the checkpoint id (wal_set_ckpt): the 8 random bytes storaged
 * recorded in meta with the checkpoint the record follows, so that a
 * data.mdb that is not that checkpoint (a backup put back) is told from
 * it (store.c). wal_scan takes them off: fn gets the body the caller
 * appended, and wal_scan_ckpt() the record's checkpoint id.
 *
 * Reading stops at the first record that is not whole and intact (a torn
 * append, the zeros ahead, or a stale record of the log's previous lap,
 * whose seq is not the next one): what follows was never acknowledged.
 * Unless a whole record of the same lap after it says it was flushed
 * (flushed at or past the seq that belongs there): a power cut leaves
 * torn only what no flush had covered, so that record was on disk whole
 * and was damaged since, and the records after it were acknowledged. The
 * scan refuses it (wal_scan's -1), rather than leave them out silently.
 * The log's first record, with no record before it, names its lap with
 * its own bytes.
 */
#ifndef PARLEY_WAL_H
#define PARLEY_WAL_H

#include <stddef.h>
#include <stdint.h>

#define WAL_FILE	"wal.log"
#define WAL_HDR_LEN	16
/* The log's own bytes at the start of a body: mark, flushed, lap. */
#define WAL_EXT_MARK	0xf2	/* no operation's kind (storelog.c) */
#define WAL_CKPT_LEN	8
#define WAL_EXT_LEN	(1 + 8 + 8 + WAL_CKPT_LEN)
/* The previous build's (2026-12-02 to 2026-12-05): no checkpoint id. */
#define WAL_EXT1_MARK	0xf1
#define WAL_EXT1_LEN	(1 + 8 + 8)
#define WAL_GROW	(1024 * 1024)
/* A record body longer than this is not one of ours (a torn length). */
#define WAL_BODY_MAX	(1024u * 1024 * 1024)

struct wal;

/*
 * Opens (creating if needed) dir/wal.log. With sync 0, wal_append() does
 * not flush: wal_sync() does. NULL on failure, logged.
 */
struct wal *wal_open(const char *dir, int sync);
void wal_close(struct wal *);

/*
 * Reads the records from offset 0: each intact one whose seq follows the
 * one before is passed to fn(arg, seq, body, len), in order, until fn
 * returns non-zero (returned) or the records end (0). -1 on a read error,
 * or, with damage set, where the records end at a damaged one that a
 * later record of its lap shows was flushed (the rest of the file read):
 * both logged. Where the next wal_append() writes does not change.
 */
int wal_scan(struct wal *, int damage, int (*fn)(void *, uint64_t,
    const uint8_t *, size_t), void *arg);
/*
 * The next record goes after the last one the last wal_scan() passed to
 * fn and fn took (returned 0): records replayed at a start that no
 * checkpoint could commit are kept, not written over, and the lap goes
 * on (its random bytes).
 */
void wal_append_after_scan(struct wal *);
/*
 * The checkpoint id the records written from now on carry (WAL_CKPT_LEN
 * bytes): the one of the checkpoint they follow.
 */
void wal_set_ckpt(struct wal *, const uint8_t *id);
/*
 * In wal_scan's fn: the checkpoint id of the record handed over, or NULL
 * for a record of an older format (none).
 */
const uint8_t *wal_scan_ckpt(const struct wal *);
/*
 * Appends one record and, in sync mode, flushes it (fdatasync): it is
 * acknowledged when this returns 0. -1 on failure, logged: the record may
 * be partly written, and the caller must not append after it (it stops
 * writing until wal_reset(); a later scan stops at the torn record).
 */
int wal_append(struct wal *, uint64_t seq, const void *body, size_t len);
/*
 * wal_append() without the flush, whatever the mode: a standby writes the
 * records a read brought, then flushes them once (wal_sync) before it
 * acknowledges them. 0, or -1 as wal_append().
 */
int wal_write(struct wal *, uint64_t seq, const void *body, size_t len);
/*
 * Flushes what was appended (fdatasync). 0, or -1 logged. Once one has
 * failed, every later one fails too until wal_reset(): the kernel may
 * have dropped what the failed one could not write, and says so once.
 */
int wal_sync(struct wal *);
/*
 * After a checkpoint: the next record goes to offset 0 again (the records
 * before are in LMDB now, and older than any that follows); a failed
 * flush is forgotten.
 */
void wal_reset(struct wal *);
/*
 * The log emptied on disk: its first header zeroed and flushed, so no
 * scan finds a record (a standby's log before it swaps a snapshot in),
 * then wal_reset(). 0, or -1 logged.
 */
int wal_clear(struct wal *);
/*
 * 1 when dir's log holds no record (absent, or its first header zeros:
 * emptied by a clean close), 0 when it holds one or cannot be read.
 */
int wal_file_empty(const char *dir);
/*
 * The last record written, or tried by an append that failed, taken out
 * of the log: its header zeroed, then flushed, so no scan reads it or
 * past it (a refused batch's record, which a restart must not replay).
 * The zeros are in the file even when the flush fails: a later read
 * sees them, though a power loss may leave the record. No append follows
 * until wal_reset() (nothing of the lap after the zeros). 0, or -1 logged.
 */
int wal_unwrite(struct wal *);
/* Bytes appended since the last reset. */
size_t wal_used(const struct wal *);

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t wal_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
