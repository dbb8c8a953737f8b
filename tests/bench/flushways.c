/*
 * Ways to make storaged's log record durable on this disk, side by side:
 * what storaged does (a write into the page cache, then fdatasync), a
 * write on a file opened O_DSYNC (the flush in the write), and a 4 KiB
 * block written O_DIRECT | O_DSYNC (no page cache: the block as the log
 * would have to rewrite its last one). Each way n records of 400 bytes,
 * back to back and then 1 ms apart (a lone visitor's turns), into a
 * zero-filled 1 MiB file in DIR, as storaged's log grows (wal.c). Prints
 * each way's wall p50 and p99 and CPU (user + system, getrusage) per
 * record; the 1 ms sleep is not counted. Prints, never asserts.
 *
 *   make build/release/bench/flushways
 *   build/release/bench/flushways /var/tmp 500
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchclock.h"

#define FILE_BYTES	(1024 * 1024)
#define RECORD_BYTES	400
#define BLOCK_BYTES	4096
#define SPACED_US	1000
#define N_MAX		100000

enum way { WAY_FDATASYNC, WAY_DSYNC, WAY_DIRECT, WAY_N };

static const char *const way_names[WAY_N] = {
	"write + fdatasync (storaged)",
	"write, O_DSYNC",
	"4 KiB block, O_DIRECT | O_DSYNC",
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A zero-filled file of FILE_BYTES at path, synced; -1 said why. */
static int
file_make(const char *path, const char *zeros)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    pwrite(fd, zeros, FILE_BYTES, 0) != FILE_BYTES || fsync(fd) < 0) {
		fprintf(stderr, "flushways: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* One record made durable by way w at offset off; -1 said why. */
static int
record_put(int fd, enum way w, const char *buf, off_t off)
{
	ssize_t n;

	if (w == WAY_DIRECT)
		n = pwrite(fd, buf, BLOCK_BYTES, off / BLOCK_BYTES *
		    BLOCK_BYTES);
	else
		n = pwrite(fd, buf, RECORD_BYTES, off);
	if (n < 0 || (w == WAY_FDATASYNC && fdatasync(fd) < 0)) {
		fprintf(stderr, "flushways: %s: %s\n", way_names[w],
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* n records by way w, spaced_us apart; the figures printed. */
static int
way_run(const char *path, enum way w, const char *buf, int n,
    int spaced_us, double *walls)
{
	int flags = O_RDWR, fd, i;
	double cpu = 0, t0, c0;

	if (w == WAY_DSYNC)
		flags |= O_DSYNC;
	else if (w == WAY_DIRECT)
		flags |= O_DIRECT | O_DSYNC;
	if ((fd = open(path, flags)) < 0) {
		fprintf(stderr, "flushways: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (spaced_us > 0)
			usleep(spaced_us);
		c0 = cpu_us();
		t0 = wall_us();
		if (record_put(fd, w, buf, (off_t)i * RECORD_BYTES %
		    FILE_BYTES) < 0) {
			close(fd);
			return -1;
		}
		walls[i] = wall_us() - t0;
		cpu += cpu_us() - c0;
	}
	close(fd);
	qsort(walls, (size_t)n, sizeof(*walls), cmp_double);
	printf("  %-34s %s: wall p50 %4.0f us, p99 %4.0f us; CPU %3.0f us "
	    "a record\n", way_names[w], spaced_us > 0 ? "1 ms apart  " :
	    "back to back", walls[n / 2], walls[n * 99 / 100], cpu / n);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096], *zeros = NULL, *buf = NULL;
	double *walls = NULL;
	int n, rc = 1, w, spaced;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > N_MAX) {
		fprintf(stderr, "usage: flushways DIR N (1 to %d)\n", N_MAX);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/flushways.%ld", argv[1],
	    (long)getpid());
	if ((zeros = aligned_alloc(BLOCK_BYTES, FILE_BYTES)) == NULL ||
	    (buf = aligned_alloc(BLOCK_BYTES, BLOCK_BYTES)) == NULL ||
	    (walls = calloc((size_t)n, sizeof(*walls))) == NULL) {
		fprintf(stderr, "flushways: out of memory\n");
		goto done;
	}
	memset(zeros, 0, FILE_BYTES);
	memset(buf, 'r', BLOCK_BYTES);
	if (file_make(path, zeros) < 0)
		goto done;
	printf("flushways: %d records of %d bytes each way, in %s\n", n,
	    RECORD_BYTES, argv[1]);
	for (spaced = 0; spaced <= SPACED_US; spaced += SPACED_US)
		for (w = 0; w < WAY_N; w++)
			if (way_run(path, (enum way)w, buf, n, spaced,
			    walls) < 0)
				goto done;
	rc = 0;
done:
	unlink(path);
	free(walls);
	free(buf);
	free(zeros);
	return rc;
}
