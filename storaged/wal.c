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
#include "util.h"
#include "wal.h"

struct wal {
	int fd;
	int sync;
	int broken;		/* an append failed: none until wal_reset() */
	size_t off;		/* where the next record goes */
	size_t last;		/* where the last record written or tried began */
	size_t size;		/* the file's size: zeros from the last record on */
	size_t scanned;		/* where the records the last scan took end */
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

int
wal_scan(struct wal *w, int (*fn)(void *, uint64_t, const uint8_t *, size_t),
    void *arg)
{
	uint8_t hdr[WAL_HDR_LEN], *body = NULL;
	size_t off = 0, len;
	uint64_t seq, prev = 0;
	int rc = 0, got, first = 1;

	for (;;) {
		if ((got = pread_all(w->fd, hdr, sizeof(hdr), (off_t)off)) <= 0)
			break;
		len = proto_get_be32(hdr);
		seq = proto_get_be64(hdr + 8);
		if (len == 0 || len > WAL_BODY_MAX ||
		    (!first && seq != prev + 1))
			break;
		free(body);
		if ((body = malloc(len)) == NULL) {
			log_warn("%s: record of %zu bytes", w->path, len);
			rc = -1;
			break;
		}
		if ((got = pread_all(w->fd, body, len,
		    (off_t)(off + WAL_HDR_LEN))) <= 0)
			break;
		if (record_crc(seq, body, len) != proto_get_be32(hdr + 4))
			break;
		if ((rc = fn(arg, seq, body, len)) != 0)
			break;	/* fn's -1 is fn's to log, errno none of it */
		first = 0;
		prev = seq;
		off += WAL_HDR_LEN + len;
	}
	free(body);
	w->scanned = off;
	if (got < 0) {
		log_warn("%s: read at %zu", w->path, off);
		return -1;
	}
	return rc;
}

void
wal_append_after_scan(struct wal *w)
{
	w->off = w->scanned;
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
	uint8_t hdr[WAL_HDR_LEN];
	struct iovec iov[2];

	if (w->broken) {
		log_warnx("%s: not appending after a failed append", w->path);
		return -1;
	}
	w->last = w->off;	/* tried: what wal_unwrite() takes out */
	if (len == 0 || len > WAL_BODY_MAX) {
		log_warnx("%s: record of %zu bytes", w->path, len);
		return -1;
	}
	proto_put_be32(hdr, (uint32_t)len);
	proto_put_be32(hdr + 4, record_crc(seq, body, len));
	proto_put_be64(hdr + 8, seq);
	/*
	 * Room, then header and body in one write and one flush: until the
	 * flush nothing is in order anyway, and a torn record fails its CRC.
	 */
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	if (wal_grow(w, w->off + WAL_HDR_LEN + len) < 0 ||
	    pwritev_all(w->fd, iov, 2, (off_t)w->off) < 0) {
		log_warn("%s: append", w->path);
		w->broken = 1;
		return -1;
	}
	w->off += WAL_HDR_LEN + len;
	return 0;
}

int
wal_sync(struct wal *w)
{
	if (fdatasync(w->fd) < 0) {
		log_warn("%s: fdatasync", w->path);
		return -1;
	}
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
	return rc == 0 || (rc > 0 && proto_get_be32(hdr) == 0);
}

int
wal_unwrite(struct wal *w)
{
	return zero_header(w, w->last);
}

void
wal_reset(struct wal *w)
{
	w->off = 0;
	w->broken = 0;
}

size_t
wal_used(const struct wal *w)
{
	return w->off;
}
