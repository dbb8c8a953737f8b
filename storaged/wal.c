/* The write-ahead log file: records appended, flushed, read back (wal.h). */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrictotals.h"
#include "random.h"
#include "util.h"
#include "wal.h"

struct wal {
	int fd;
	int sync;
	int broken;		/* an append failed: none until wal_reset() */
	int sync_failed;	/* a flush failed: none good until wal_reset() */
	size_t off;		/* where the next record goes */
	size_t last;		/* where the last record written or tried began */
	size_t size;		/* the file's size: zeros from the last record on */
	size_t scanned;		/* where the records the last scan took end */
	uint8_t lap[8];		/* this lap's random bytes, in its records */
	uint8_t scanned_lap[8];	/* those of the last record the scan took */
	int scanned_ext;	/* it had them (not an older record) */
	uint8_t ckpt[WAL_CKPT_LEN];	/* the checkpoint id records carry */
	const uint8_t *scan_ckpt;	/* that of the record fn is given */
	uint64_t wrote;		/* the last seq written in this lap, or 0 */
	uint64_t flushed;	/* the last seq of this lap flushed, or 0 */
	char path[PATH_MAX];
};

/* ---------------------------------------------------------------- crc */

/*
 * CRC-32C: the processor's crc32 instruction where it has one (x86-64
 * with SSE4.2, eight bytes a step), else a table, a byte a step. Both
 * step the same reflected, uninverted state.
 */
static uint32_t crc_table[256];

static void
crc_init(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t
crc_soft(uint32_t crc, const uint8_t *p, size_t len)
{
	if (crc_table[1] == 0)
		crc_init();
	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w);
	}
	crc = (uint32_t)c;
	while (len-- > 0)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t
wal_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (hw)
		return ~crc_hw(~crc, buf, len);
#endif
	return ~crc_soft(~crc, buf, len);
}

static uint32_t
record_crc(uint64_t seq, const void *body, size_t len)
{
	uint8_t s[8];

	proto_put_be64(s, seq);
	return wal_crc32c(wal_crc32c(0, s, sizeof(s)), body, len);
}

/* ---------------------------------------------------------------- file */

/* Writes iov[0..n) whole at off (iov is used up). 0, or -1 (errno). */
static int
pwritev_all(int fd, struct iovec *iov, int n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwritev(fd, iov, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += w;
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int
pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return pwritev_all(fd, &v, 1, off);
}

/* 1 when len bytes were read, 0 at the end of the file, -1 on error. */
static int
pread_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = pread(fd, p, len, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 1;
}

/* Zeros from the file's end up to at least need bytes, in WAL_GROW steps. */
static int
wal_grow(struct wal *w, size_t need)
{
	static const uint8_t zeros[64 * 1024];
	size_t to = (need + WAL_GROW - 1) / WAL_GROW * WAL_GROW, n;

	while (w->size < to) {
		n = to - w->size < sizeof(zeros) ? to - w->size : sizeof(zeros);
		if (pwrite_all(w->fd, zeros, n, (off_t)w->size) < 0) {
			log_warn("%s: grow", w->path);
			return -1;
		}
		w->size += n;
	}
	return 0;
}

struct wal *
wal_open(const char *dir, int sync)
{
	struct wal *w;
	struct stat sb;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("wal_open");
		return NULL;
	}
	w->sync = sync;
	if ((size_t)snprintf(w->path, sizeof(w->path), "%s/%s", dir,
	    WAL_FILE) >= sizeof(w->path)) {
		log_warnx("%s: path too long", dir);
		free(w);
		return NULL;
	}
	if ((w->fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fstat(w->fd, &sb) < 0) {
		log_warn("%s", w->path);
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		return NULL;
	}
	w->size = (size_t)sb.st_size;
	wal_reset(w);
	return w;
}

void
wal_close(struct wal *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	free(w);
}

/*
 * The record at off: 1 when whole (length in bounds, CRC right), its seq
 * and its body (malloc'd, the caller's to free) set; 0 when not (torn,
 * zeros, the file's end); -1 on a read error (errno) or out of memory
 * (logged, errno 0).
 */
static int
record_read(struct wal *w, size_t off, uint64_t *seq, uint8_t **body,
    size_t *len)
{
	uint8_t hdr[WAL_HDR_LEN];
	int got;

	*body = NULL;
	if ((got = pread_all(w->fd, hdr, sizeof(hdr), (off_t)off)) <= 0)
		return got;
	*len = proto_get_be32(hdr);
	*seq = proto_get_be64(hdr + 8);
	if (*len == 0 || *len > WAL_BODY_MAX)
		return 0;
	if ((*body = malloc(*len)) == NULL) {
		log_warn("%s: record of %zu bytes", w->path, *len);
		errno = 0;
		return -1;
	}
	if ((got = pread_all(w->fd, *body, *len,
	    (off_t)(off + WAL_HDR_LEN))) > 0 &&
	    record_crc(*seq, *body, *len) == proto_get_be32(hdr + 4))
		return 1;
	free(*body);
	*body = NULL;
	return got < 0 ? -1 : 0;
}

/*
 * How many of body's first bytes are the log's own: WAL_EXT_LEN (mark
 * WAL_EXT_MARK, with a checkpoint id), WAL_EXT1_LEN (the previous mark,
 * without), else 0 (an older record: operations alone). The lap's bytes
 * are at 9 in both.
 */
static size_t
body_ext(const uint8_t *body, size_t len)
{
	if (len > WAL_EXT_LEN && body[0] == WAL_EXT_MARK)
		return WAL_EXT_LEN;
	if (len > WAL_EXT1_LEN && body[0] == WAL_EXT1_MARK)
		return WAL_EXT1_LEN;
	return 0;
}

/* What lap_walk hands fn: a whole record of the lap, at. */
typedef int (*lap_fn)(struct wal *, size_t at, uint64_t seq,
    const uint8_t *body, size_t len, void *arg);

/*
 * fn(w, at, seq, body, len, arg) for each whole record of lap found after
 * off, in the file's order, until fn returns non-zero (returned); 0 at
 * the file's end; -1 as record_read. The lap's bytes are found wherever
 * they are, not by lengths: the damage at off may be in a length.
 */
static int
lap_walk(struct wal *w, size_t off, const uint8_t *lap, lap_fn fn,
    void *arg)
{
	enum { LAP_AT = WAL_HDR_LEN + 1 + 8, CHUNK = 64 * 1024 };
	uint8_t *buf, *p, *body;
	size_t pos = off + 1 + LAP_AT, at, len;
	uint64_t rseq;
	ssize_t n;
	int rc = 0;

	if ((buf = malloc(CHUNK)) == NULL) {
		log_warn("%s: scan", w->path);
		errno = 0;
		return -1;
	}
	/* Bounded by the file's end: each step moves on CHUNK - 7 bytes. */
	while (rc == 0) {
		if ((n = pread(w->fd, buf, CHUNK, (off_t)pos)) < 0 &&
		    errno == EINTR)
			continue;
		if (n < 0)
			rc = -1;
		if (n < (ssize_t)sizeof(w->lap))
			break;
		for (p = buf; rc == 0 && (p = memmem(p, (size_t)n - (size_t)(p -
		    buf), lap, sizeof(w->lap))) != NULL; p++) {
			at = pos + (size_t)(p - buf) - LAP_AT;
			if ((rc = record_read(w, at, &rseq, &body, &len)) <= 0)
				continue;
			rc = 0;
			if (body_ext(body, len) &&
			    memcmp(body + 9, lap, sizeof(w->lap)) == 0)
				rc = fn(w, at, rseq, body, len, arg);
			free(body);
		}
		pos += (size_t)n - (sizeof(w->lap) - 1);
	}
	free(buf);
	return rc;
}

/* What vouch_one looks for: a record flushed at or past seq; by: its seq. */
struct vouch {
	uint64_t seq, by;
};

/* lap_walk's fn: 1 when this record says the log was flushed past v->seq. */
static int
vouch_one(struct wal *w, size_t at, uint64_t seq, const uint8_t *body,
    size_t len, void *arg)
{
	struct vouch *v = arg;

	if (proto_get_be64(body + 1) < v->seq)
		return 0;
	v->by = seq;
	return 1;
}

/* lap_walk's fn: the record's header zeroed (a stale one of the lap). */
static int
stale_zeroed(struct wal *w, size_t at, uint64_t seq, const uint8_t *body,
    size_t len, void *arg)
{
	static const uint8_t zeros[WAL_HDR_LEN];

	if (pwrite_all(w->fd, zeros, sizeof(zeros), (off_t)at) < 0) {
		log_warn("%s: zeroing the stale record at %zu", w->path, at);
		return -1;
	}
	(*(size_t *)arg)++;
	return 0;
}

/*
 * The lap's records found after off, where its reading ended at a torn
 * record that none of them vouched for: never acknowledged (a power cut
 * in a shared flush left them whole), their headers zeroed and flushed
 * before a record is written. A start that goes on with the lap
 * (wal_append_after_scan) writes its records from off: one as long as
 * the torn one would put them next in the file again, with the next seq,
 * and a later reading would take them after it. 0, or -1 logged.
 */
static int
lap_stale_cleared(struct wal *w, size_t off, const uint8_t *lap)
{
	size_t n = 0;

	if (lap_walk(w, off, lap, stale_zeroed, &n) < 0 ||
	    (n > 0 && wal_sync(w) < 0))
		return -1;
	if (n > 0)
		log_info("%s: %zu record%s of the log written after the one "
		    "torn at offset %zu (never acknowledged) cleared", w->path,
		    n, n == 1 ? "" : "s", off);
	return 0;
}

/*
 * 1 when the header h is the log's clean end: zero_header zeroes all of
 * it, so a length alone zeroed (a bit flipped in a length of one bit
 * set) is damage, not an end.
 */
static int
header_is_end(const uint8_t *h)
{
	return proto_get_be32(h) == 0 && proto_get_be32(h + 4) == 0 &&
	    proto_get_be64(h + 8) == 0;
}

/*
 * The log's first record, not whole: the lap its own bytes name and, in
 * v->seq, its seq (at least 1). 1 when it names one, 0 when it does not:
 * a zeroed header (the log's clean end, header_is_end), an older
 * format's record, or its mark or lap bytes gone; -1 on a read error
 * (errno).
 */
static int
first_lap(struct wal *w, uint8_t lap[8], struct vouch *v)
{
	static const uint8_t none[8];
	uint8_t h[WAL_HDR_LEN + WAL_EXT_LEN];
	int got;

	if ((got = pread_all(w->fd, h, sizeof(h), 0)) <= 0)
		return got;
	if (header_is_end(h) || (h[WAL_HDR_LEN] != WAL_EXT_MARK &&
	    h[WAL_HDR_LEN] != WAL_EXT1_MARK) ||
	    memcmp(h + WAL_HDR_LEN + 9, none, sizeof(none)) == 0)
		return 0;
	memcpy(lap, h + WAL_HDR_LEN + 9, 8);
	v->seq = proto_get_be64(h + 8) != 0 ? proto_get_be64(h + 8) : 1;
	return 1;
}

/*
 * Where the records end at off at a record that is not whole (prev the
 * last read, when off is past 0): 1 when a later record of its lap says
 * it was flushed (v->by: that record; v->seq: the damaged one's), 0 when
 * none does, -1 as lap_walk. The lap is the records' before it or, for
 * the log's first record, its own bytes (first_lap).
 */
static int
end_vouched(struct wal *w, size_t off, uint64_t prev, struct vouch *v)
{
	uint8_t lap[8];
	int got;

	if (off > 0) {
		if (!w->scanned_ext)
			return 0;
		v->seq = prev + 1;
		return lap_walk(w, off, w->scanned_lap, vouch_one, v);
	}
	if ((got = first_lap(w, lap, v)) <= 0)
		return got;
	return lap_walk(w, 0, lap, vouch_one, v);
}

int
wal_scan(struct wal *w, int damage, int (*fn)(void *, uint64_t,
    const uint8_t *, size_t), void *arg)
{
	uint8_t *body = NULL;
	size_t off = 0, len, skip;
	uint64_t seq, prev = 0;
	struct vouch v = { 0, 0 };
	int rc = 0, got, ext;

	w->scanned_ext = 0;
	for (;;) {
		if ((got = record_read(w, off, &seq, &body, &len)) <= 0)
			break;
		ext = body_ext(body, len);
		/*
		 * Not the next seq, or not of the lap the records before are
		 * of: a stale record of an earlier lap.
		 */
		if ((prev != 0 && seq != prev + 1) || (w->scanned_ext && (!ext ||
		    memcmp(body + 9, w->scanned_lap, sizeof(w->lap)) != 0))) {
			got = 0;
			break;
		}
		skip = body_ext(body, len);
		w->scan_ckpt = skip == WAL_EXT_LEN ? body + WAL_EXT1_LEN : NULL;
		rc = fn(arg, seq, body + skip, len - skip);
		w->scan_ckpt = NULL;
		if (rc != 0)
			break;	/* fn's -1 is fn's to log, errno none of it */
		if ((w->scanned_ext = ext))
			memcpy(w->scanned_lap, body + 9, sizeof(w->lap));
		prev = seq;
		off += WAL_HDR_LEN + len;
		free(body);
		body = NULL;
	}
	free(body);
	w->scanned = off;
	/*
	 * The records end at off, not by fn: torn by a power cut if nothing
	 * after says the record there was flushed, else damaged since. Torn,
	 * what the lap holds after it goes (lap_stale_cleared): a start
	 * goes on with the lap only after a record it read.
	 */
	if (got == 0 && rc == 0 && damage) {
		if ((got = end_vouched(w, off, prev, &v)) > 0) {
			log_errorx("%s: record %llu at offset %zu is damaged "
			    "(its CRC or length is wrong), yet record %llu "
			    "after it was written once it was on disk whole: "
			    "the records after it were acknowledged, and "
			    "starting without them would lose them. Restore a "
			    "backup (docs/operations.md), or move %s away to "
			    "start from the last checkpoint alone on purpose%s",
			    w->path, (unsigned long long)v.seq, off,
			    (unsigned long long)v.by, WAL_FILE, off == 0 ?
			    "" : " (without the records before it either)");
			return -1;
		}
		if (got == 0 && off > 0 && w->scanned_ext &&
		    lap_stale_cleared(w, off, w->scanned_lap) < 0)
			return -1;
	}
	if (got < 0) {
		if (errno != 0)
			log_warn("%s: read at %zu", w->path, off);
		return -1;
	}
	return rc;
}

void
wal_set_ckpt(struct wal *w, const uint8_t *id)
{
	memcpy(w->ckpt, id, sizeof(w->ckpt));
}

const uint8_t *
wal_scan_ckpt(const struct wal *w)
{
	return w->scan_ckpt;
}

void
wal_append_after_scan(struct wal *w)
{
	w->off = w->scanned;
	/*
	 * The lap goes on, flushed by this process nothing yet: what the
	 * scan read may have been in the page cache alone.
	 */
	if (w->scanned_ext && w->off > 0)
		memcpy(w->lap, w->scanned_lap, sizeof(w->lap));
	w->flushed = 0;
}

int
wal_append(struct wal *w, uint64_t seq, const void *body, size_t len)
{
	if (wal_write(w, seq, body, len) < 0)
		return -1;
	if (w->sync && wal_sync(w) < 0) {
		w->broken = 1;
		return -1;
	}
	return 0;
}

int
wal_write(struct wal *w, uint64_t seq, const void *body, size_t len)
{
	uint8_t hdr[WAL_HDR_LEN], ext[WAL_EXT_LEN];
	struct iovec iov[3];
	uint32_t crc;

	if (w->broken) {
		log_warnx("%s: not appending after a failed append", w->path);
		return -1;
	}
	w->last = w->off;	/* tried: what wal_unwrite() takes out */
	if (len == 0 || len > WAL_BODY_MAX - WAL_EXT_LEN) {
		log_warnx("%s: record of %zu bytes", w->path, len);
		return -1;
	}
	/* What a later record's flushed proves of this one: wal_sync. */
	ext[0] = WAL_EXT_MARK;
	proto_put_be64(ext + 1, w->flushed);
	memcpy(ext + 9, w->lap, sizeof(w->lap));
	memcpy(ext + 17, w->ckpt, sizeof(w->ckpt));
	crc = wal_crc32c(record_crc(seq, ext, sizeof(ext)), body, len);
	proto_put_be32(hdr, (uint32_t)(sizeof(ext) + len));
	proto_put_be32(hdr + 4, crc);
	proto_put_be64(hdr + 8, seq);
	/*
	 * Room, then header and body in one write and one flush: until the
	 * flush nothing is in order anyway, and a torn record fails its CRC.
	 */
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = ext;
	iov[1].iov_len = sizeof(ext);
	iov[2].iov_base = (void *)body;
	iov[2].iov_len = len;
	if (wal_grow(w, w->off + WAL_HDR_LEN + sizeof(ext) + len) < 0 ||
	    pwritev_all(w->fd, iov, 3, (off_t)w->off) < 0) {
		log_warn("%s: append", w->path);
		w->broken = 1;
		return -1;
	}
	w->off += WAL_HDR_LEN + sizeof(ext) + len;
	w->wrote = seq;
	return 0;
}

int
wal_sync(struct wal *w)
{
	/*
	 * Linux tells a failed writeback once and may call the pages it
	 * could not write clean: a later fdatasync that succeeds does not
	 * cover what was written before it. Sticky until the log begins
	 * again behind a checkpoint (wal_reset).
	 */
	if (w->sync_failed) {
		log_warnx("%s: not flushing: a flush of it failed, and the "
		    "records written before that may be lost", w->path);
		return -1;
	}
	if (fdatasync(w->fd) < 0) {
		log_warn("%s: fdatasync", w->path);
		w->sync_failed = 1;
		return -1;
	}
	/*
	 * Every record written so far is on disk whole: a power cut from
	 * now on cannot tear them, so a record that says so and is read
	 * whole proves their damage (wal_scan).
	 */
	w->flushed = w->wrote;
	smetrics_log_flush();
	return 0;
}

/* The header at off zeroed and flushed: a scan stops there. 0, or -1 logged. */
static int
zero_header(struct wal *w, size_t off)
{
	static const uint8_t zeros[WAL_HDR_LEN];

	if (pwrite_all(w->fd, zeros, sizeof(zeros), (off_t)off) < 0 ||
	    wal_sync(w) < 0) {
		log_warn("%s: zeroing the header at %zu", w->path, off);
		return -1;
	}
	return 0;
}

int
wal_clear(struct wal *w)
{
	if (zero_header(w, 0) < 0)
		return -1;
	wal_reset(w);
	return 0;
}

int
wal_file_empty(const char *dir)
{
	uint8_t hdr[WAL_HDR_LEN];
	char path[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, WAL_FILE) >=
	    sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	rc = pread_all(fd, hdr, sizeof(hdr), 0);
	close(fd);
	/* A file shorter than a header holds none either. */
	return rc == 0 || (rc > 0 && header_is_end(hdr));
}

int
wal_unwrite(struct wal *w)
{
	/*
	 * No record after the zeros in this lap: none could say that what
	 * they took out was flushed (wal_scan would call it damaged).
	 */
	w->broken = 1;
	return zero_header(w, w->last);
}

void
wal_reset(struct wal *w)
{
	w->off = 0;
	w->broken = 0;
	w->sync_failed = 0;	/* what it failed to write is in LMDB now */
	/*
	 * A new lap: its records tell themselves from the earlier laps'
	 * left beyond them by these bytes, and vouch for its records alone.
	 */
	proto_random(w->lap, sizeof(w->lap));
	w->wrote = w->flushed = 0;
}

size_t
wal_used(const struct wal *w)
{
	return w->off;
}
