/*
 * The write-ahead log (storaged/wal.c, storelog.c, store.c): what a batch
 * acknowledged is there after the process dies at any moment, a log torn
 * at any byte of its last record recovers without that record, a
 * checkpoint killed midway recovers, a failed batch is undone, a flush
 * the disk fails is refused and never comes back (even when the disk
 * fails the checkpoint after it too, or the flush of the zeros over it
 * while other records wait on a shared flush), and a log that skips
 * records LMDB needs is refused, and a start stalled on a full map
 * keeps the records it replayed. A record damaged after its flush, with
 * acknowledged ones after it, refuses the start; one torn by a power cut
 * in a shared flush does not (nor an earlier lap's records beyond), and
 * a log of the older format replays. With PARLEY_SYNC=interval, a
 * checkpoint is on disk before the log starts again or is emptied.
 * Crashes are real: a child process writes
 * and is killed (or _exits without closing the store); a power loss
 * leaves each file as its last flush did (test_failsync.h's hook). A
 * failing disk is
 * fdatasync() answering EIO (defined below, so wal.c and LMDB call it),
 * a failing write pwritev() answering it (the log's appends), a full
 * map a checkpoint's mdb_put() answering MDB_MAP_FULL.
 */
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "log.h"
#include "storeint.h"
#include "test_fixture.h"
#include "util.h"
#include "wal.h"
#include "test_failsync.h"
#include "test_fullmap.h"
#include "test_util.h"

/* The next this many pwritev() calls fail with EIO (the log's appends). */
static int fail_writes;

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	if (fail_writes > 0) {
		fail_writes--;
		errno = EIO;
		return -1;
	}
	return (ssize_t)syscall(SYS_pwritev, fd, iov, n, (long)off, 0L);
}

/* The store opened again as PARLEY_SYNC=full has it: each append flushed. */
static void
reopen_synced(struct fix *f)
{
	store_close(f->st);
	f->st = store_open(f->dir, 64, 0);
	assert_non_null(f->st);
}

static int
setup(void **state)
{
	fail_syncs = fail_writes = full_map = 0;	/* a failed test's too */
	synced_hook = NULL;
	return fix_setup(state, "/tmp/parley-wal-XXXXXX", 0);
}

/* ------------------------------------------------ turns */

/*
 * One batch: the conversation of session "s<n>" and its one message. 0
 * when acknowledged (the record is on disk).
 */
static int
write_turn(struct store *st, int n)
{
	struct store_txn t;
	struct st_conv c, after;
	struct st_msg m;
	char sess[32], text[32];
	int created, rc;

	snprintf(sess, sizeof(sess), "s%d", n);
	snprintf(text, sizeof(text), "turn %d", n);
	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	strlcpy(m.role, "user", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	m.content = text;
	store_begin(st, &t, 0);
	if (store_conv_open(&t, "default", sess, &c, &created) == 0)
		strlcpy(m.conv_id, c.id, sizeof(m.conv_id));
	memset(&after, 0, sizeof(after));
	store_msg_append(&t, &m, &after, NULL);
	rc = store_commit(&t);
	m.content = NULL;
	st_msg_free(&m);
	st_conv_free(&c);
	st_conv_free(&after);
	return rc;
}

/* Conversations and messages stored; they must be equal (no half turn). */
static uint64_t
turns_in(struct store *st)
{
	struct store_txn t;
	struct st_stats s;

	store_begin(st, &t, 1);
	assert_int_equal(store_stats(&t, &s), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(s.conversations, s.messages);
	return s.conversations;
}

/*
 * A child process opens dir's store, writes turns from..to-1, reporting
 * each acknowledged one on fd, then dies without closing the store (no
 * checkpoint: the last ones are only in the log). wal_max 0: the default.
 */
static pid_t
crasher(const char *dir, int from, int to, size_t wal_max, int fd)
{
	struct store *st;
	pid_t pid;
	int i;

	if ((pid = fork()) != 0)
		return pid;
	if ((st = store_open(dir, 64, 0)) == NULL)
		_exit(2);
	if (wal_max > 0)
		store_set_wal_max(st, wal_max);
	for (i = from; to < 0 || i < to; i++) {
		if (write_turn(st, i) != 0)
			_exit(3);
		if (fd >= 0 && write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(4);
	}
	_exit(0);
}

static void
crash_run(const char *dir, int from, int to)
{
	int status;
	pid_t pid = crasher(dir, from, to, 0, -1);

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
copy_file(const char *from, const char *to, off_t zero_from)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0, z;
	int in, out;

	assert_true((in = open(from, O_RDONLY)) >= 0);
	assert_true((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (zero_from >= 0 && off + n > zero_from) {
			z = zero_from > off ? zero_from - off : 0;
			memset(buf + z, 0, (size_t)(n - z));
		}
		assert_int_equal(write(out, buf, (size_t)n), n);
		off += n;
	}
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* dir's log, opened with flags (O_RDONLY, O_RDWR). */
static int
wal_fd(const char *dir, int flags)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, WAL_FILE);
	assert_true((fd = open(p, flags)) >= 0);
	return fd;
}

/* Copies dir's environment and log to a new directory; the log torn at torn. */
static void
copy_env(const char *dir, char *to, size_t tosz, off_t torn, int truncate_it)
{
	char a[128], b[128];

	strlcpy(to, "/tmp/parley-walcopy-XXXXXX", tosz);
	assert_non_null(mkdtemp(to));
	snprintf(a, sizeof(a), "%s/data.mdb", dir);
	snprintf(b, sizeof(b), "%s/data.mdb", to);
	copy_file(a, b, -1);
	snprintf(a, sizeof(a), "%s/%s", dir, WAL_FILE);
	snprintf(b, sizeof(b), "%s/%s", to, WAL_FILE);
	copy_file(a, b, truncate_it ? -1 : torn);
	if (truncate_it)
		assert_int_equal(truncate(b, torn), 0);
}

/* Offsets of the log's records: the last one's start and end. */
static void
last_record(const char *dir, off_t *start, off_t *end)
{
	uint8_t h[WAL_HDR_LEN];
	off_t off = 0;
	uint64_t seq, prev = 0;
	int fd;

	fd = wal_fd(dir, O_RDONLY);
	*start = *end = 0;
	while (pread(fd, h, sizeof(h), off) == sizeof(h) &&
	    proto_get_be32(h) != 0) {
		seq = proto_get_be64(h + 8);
		if (prev != 0 && seq != prev + 1)
			break;
		prev = seq;
		*start = off;
		off += WAL_HDR_LEN + proto_get_be32(h);
		*end = off;
	}
	close(fd);
	assert_true(*end > *start);
}

/* The offset of the log's last non-zero byte before end. */
static off_t
last_nonzero(const char *dir, off_t end)
{
	uint8_t c;
	int fd;

	fd = wal_fd(dir, O_RDONLY);
	do
		assert_int_equal(pread(fd, &c, 1, --end), 1);
	while (c == 0 && end > 0);
	close(fd);
	return end;
}

/* ------------------------------------------------ a power loss */

/*
 * The least a power loss leaves of the watched store directory: each
 * file as its last fdatasync or fsync left it (synced_hook copies it into
 * the image then), or as the kernel's writeback left it (disk_written).
 */
static struct {
	char dir[PATH_MAX];	/* the store's directory, resolved */
	char image[64];
} disk;

/* synced_hook: a file of the watched directory, copied as it is now. */
static void
disk_synced(int fd)
{
	char link[64], p[PATH_MAX], to[PATH_MAX + 64];
	const char *base;
	struct stat sb;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (n = readlink(link, p, sizeof(p) - 1)) < 0)
		return;
	p[n] = '\0';
	if ((base = strrchr(p, '/')) == NULL ||
	    (size_t)(base - p) != strlen(disk.dir) ||
	    strncmp(p, disk.dir, (size_t)(base - p)) != 0)
		return;
	snprintf(to, sizeof(to), "%s%s", disk.image, base);
	copy_file(p, to, -1);
}

/* From now on, dir's files are imaged as they are synced (an empty image). */
static void
disk_watch(const char *dir)
{
	assert_non_null(realpath(dir, disk.dir));
	strlcpy(disk.image, "/tmp/parley-walimg-XXXXXX", sizeof(disk.image));
	assert_non_null(mkdtemp(disk.image));
	synced_hook = disk_synced;
}

/* The kernel wrote dir's file name back by itself: it is in the image. */
static void
disk_written(const char *name)
{
	char from[PATH_MAX + 64], to[PATH_MAX + 64];

	snprintf(from, sizeof(from), "%s/%s", disk.dir, name);
	snprintf(to, sizeof(to), "%s/%s", disk.image, name);
	copy_file(from, to, -1);
}

/*
 * The power is lost: the image opened as the store's next start would
 * open its directory; the turns in it (-1: the start refused), then the
 * image removed.
 */
static int64_t
disk_turns_after_loss(void)
{
	struct store *st;
	int64_t n = -1;

	synced_hook = NULL;
	log_set_level(LOG_LEVEL_FATAL);
	if ((st = store_open(disk.image, 64, STORE_F_NOSYNC)) != NULL) {
		n = (int64_t)turns_in(st);
		store_close(st);
	}
	log_set_level(LOG_LEVEL_WARN);
	rm_env(disk.image);
	return n;
}

/* ------------------------------------------------ tests */

/* CRC-32C a bit at a time, as the definition has it. */
static uint32_t
crc32c_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void
test_crc32c(void **state)
{
	uint8_t buf[300 + 8];
	size_t len, off, i;

	(void)state;
	/* The check value of CRC-32C (RFC 3720, B.4). */
	assert_int_equal(wal_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(wal_crc32c(wal_crc32c(0, "1234", 4), "56789", 5),
	    0xe3069283u);
	/* Every length and alignment (the 8-byte steps and the tail). */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 300; len++)
			assert_int_equal(wal_crc32c(0, buf + off, len),
			    crc32c_bitwise(buf + off, len));
}

/* Every acknowledged turn is there after a crash, and only in the log. */
static void
test_replay_after_crash(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 50);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 50);
	/* Replayed and checkpointed: a second crash-free open agrees. */
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 50);
	assert_int_equal(write_turn(f->st, 50), 0);
	assert_int_equal(turns_in(f->st), 51);
}

/*
 * The log torn at every byte of its last record (the rest zeros, as the
 * file grows, or the file cut there): the store opens without that turn,
 * consistent, and takes writes; whole, with it.
 */
static void
test_torn_every_offset(void **state)
{
	struct fix *f = *state;
	struct store *st;
	char copy[64];
	off_t start, end, at, last;
	int cut, whole;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 10);
	last_record(f->dir, &start, &end);
	last = last_nonzero(f->dir, end);
	for (at = start; at <= end; at++)
		for (cut = 0; cut <= 1; cut++) {
			if (cut && at % 7 != 0 && at != end)
				continue;	/* cut files: a sample */
			/* Zeros over zeros leave the record whole. */
			whole = at == end || (!cut && at > last);
			copy_env(f->dir, copy, sizeof(copy), at, cut);
			st = store_open(copy, 64, STORE_F_NOSYNC);
			assert_non_null(st);
			assert_int_equal(turns_in(st), whole ? 10 : 9);
			/* It takes writes after (a sample: each costs a flush). */
			if (at % 16 == 0 || at == end) {
				assert_int_equal(write_turn(st, 100), 0);
				assert_int_equal(turns_in(st), whole ? 11 : 10);
			}
			store_close(st);
			rm_env(copy);
		}
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 10);
}

/*
 * Killed at random moments while it writes, with a checkpoint every few
 * turns: every acknowledged turn is there, at most one more, never half.
 */
static void
test_killed_during_checkpoints(void **state)
{
	struct fix *f = *state;
	struct timespec ts;
	int p[2], status, round, last = -1, n, next = 0;
	uint64_t have;
	pid_t pid;

	store_close(f->st);
	f->st = NULL;
	srandom(1234);
	for (round = 0; round < 12; round++) {
		assert_int_equal(pipe(p), 0);
		pid = crasher(f->dir, next, -1, 2048, p[1]);
		assert_true(pid > 0);
		close(p[1]);
		/*
		 * Its first acknowledged turn, then a while: every round makes
		 * progress however slow the machine (a bare 20 ms was not
		 * always enough for the child to open the store under load).
		 */
		if (read(p[0], &n, sizeof(n)) == sizeof(n))
			last = n;
		ts.tv_sec = 0;
		ts.tv_nsec = (20 + random() % 60) * 1000000L;
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		while (read(p[0], &n, sizeof(n)) == sizeof(n))
			last = n;
		close(p[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		fix_reopen(f);
		have = turns_in(f->st);
		/* Turns are numbered from 0: last + 1 acknowledged. */
		assert_true(have >= (uint64_t)(last + 1));
		assert_true(have <= (uint64_t)(last + 2));
		store_close(f->st);
		f->st = NULL;
		next = (int)have;
		last = (int)have - 1;
	}
	fix_reopen(f);
	assert_true(turns_in(f->st) >= 12);	/* at least one a round */
}

/* A batch that fails after it wrote is undone; the turns before stay. */
static void
test_failed_batch_undone(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	struct st_conv c;
	int created, i;

	for (i = 0; i < 5; i++)
		assert_int_equal(write_turn(f->st, i), 0);
	store_begin(f->st, &t, 0);
	assert_int_equal(store_conv_open(&t, "default", "doomed", &c,
	    &created), 0);
	assert_true(created);
	st_conv_free(&c);
	store_fail(&t, PROTO_E_INTERNAL, "failed after a write");
	assert_int_equal(store_commit(&t), PROTO_E_INTERNAL);
	assert_int_equal(turns_in(f->st), 5);
	assert_int_equal(write_turn(f->st, 5), 0);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 6);
}

/* Turn n, whose flush fails (the warning it logs is expected): refused. */
static void
turn_flush_fails(struct store *st, int n)
{
	fail_syncs = 1;
	log_set_level(LOG_LEVEL_FATAL);
	assert_int_equal(write_turn(st, n), PROTO_E_INTERNAL);
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(fail_syncs, 0);
}

/*
 * The flush of a batch's record fails: the batch is refused (its client
 * hears an error) and undone, though its record may be in the file; it
 * does not come back at the next start, and the turns acknowledged before
 * and after it stay.
 */
static void
test_failed_sync(void **state)
{
	struct fix *f = *state;
	int i;

	reopen_synced(f);
	for (i = 0; i < 3; i++)
		assert_int_equal(write_turn(f->st, i), 0);
	turn_flush_fails(f->st, 3);
	assert_int_equal(turns_in(f->st), 3);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 3);

	/*
	 * Again as the first record after a checkpoint (the start of the
	 * file), then with acknowledged turns after the failed one.
	 */
	turn_flush_fails(f->st, 3);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 3);
	turn_flush_fails(f->st, 3);
	for (i = 4; i < 6; i++)
		assert_int_equal(write_turn(f->st, i), 0);
	assert_int_equal(turns_in(f->st), 5);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 5);
}

/* A child's turns: turn n, then what follows it (then). */
struct turns {
	int n, then;
};

/* deferred_flush_fails' child. */
static void
deferred_child(struct store *st, void *arg)
{
	const struct turns *t = arg;

	store_defer_flush(st, 1);
	if (write_turn(st, t->n) != 0 || store_flushed(st) >= store_seq(st))
		_exit(3);
	store_defer_flush(st, 0);
	fail_syncs = 1;
	if (t->then == 0)
		(void)store_flush(st);
	else
		(void)write_turn(st, t->n + 1);
	_exit(4);
}

/*
 * A child process opens dir's store (PARLEY_SYNC=full), logs turn n
 * without its flush (store_defer_flush, a shared flush's batch), then
 * the flush fails: the shared one (then 0), or that of turn n + 1, a
 * batch of its own (then 1). Returns the child's exit status.
 */
static int
deferred_flush_fails(const char *dir, int n, int then)
{
	struct turns t = { n, then };

	return fix_in_child(dir, 0, deferred_child, &t);
}

/*
 * Shared flushes: a flush that fails while records logged unflushed wait
 * for it exits the process (fatalx: after a failed fdatasync Linux may
 * call their pages clean unwritten, and their replies were held), be it
 * the shared flush or the next batch's own. The records were written, so
 * the next start replays them, as after a kill -9 during a flush. A
 * batch whose log write fails while records wait is refused and undone
 * as any other, and the waiting records are kept, now on disk.
 */
static void
test_shared_flush_fails(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(deferred_flush_fails(f->dir, 100, 0), 1);
	assert_int_equal(deferred_flush_fails(f->dir, 200, 1), 1);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 3);

	store_defer_flush(f->st, 1);
	assert_int_equal(write_turn(f->st, 300), 0);
	store_defer_flush(f->st, 0);
	assert_true(store_flushed(f->st) < store_seq(f->st));
	fail_writes = 1;
	log_set_level(LOG_LEVEL_FATAL);
	assert_int_equal(write_turn(f->st, 301), PROTO_E_INTERNAL);
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(fail_writes, 0);
	assert_true(store_flushed(f->st) == store_seq(f->st));
	assert_int_equal(write_turn(f->st, 302), 0);
	assert_int_equal(turns_in(f->st), 5);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 5);
}

/*
 * test_waiting_unwrite_fails' child: turn n logged unflushed (a shared
 * flush's batch); turn n + 1's log write fails, the checkpoint after it
 * finds the map full (a stall, not an exit) and the flush of the zeros
 * over its header fails. Exit status 6: it went on, and the server's
 * next flush (store_flush, answered 0) released turn n's replies.
 */
static void
waiting_child(struct store *st, void *arg)
{
	const struct turns *t = arg;

	store_defer_flush(st, 1);
	if (write_turn(st, t->n) != 0 || store_flushed(st) >= store_seq(st))
		_exit(3);
	store_defer_flush(st, 0);
	fail_writes = 1;
	full_map = 1;
	fail_syncs = 1;
	if (write_turn(st, t->n + 1) != PROTO_E_INTERNAL || fail_writes != 0 ||
	    fail_syncs != 0 || store_stalled(st) == NULL)
		_exit(4);
	if (store_flush(st) == 1 && store_flushed(st) == store_seq(st))
		_exit(6);
	_exit(5);
}

/*
 * A refused batch's record zeroed (its checkpoint stalled for want of
 * room) while records of earlier batches wait on a shared flush, and the
 * flush of those zeros fails: the process exits, as when the shared
 * flush itself fails (test_shared_flush_fails). It stayed up, and the
 * server's next flush, answered 0 (Linux says a writeback error once),
 * sent the waiting records' replies. Neither turn was acknowledged; the
 * next start has the turns before, and the waiting one as the disk kept
 * it (here: kept), never the refused one.
 */
static void
test_waiting_unwrite_fails(void **state)
{
	struct fix *f = *state;
	struct turns t = { 400, 1 };

	assert_int_equal(write_turn(f->st, 0), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(fix_in_child(f->dir, 0, waiting_child, &t), 1);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 2);
}

/* checkpoint_fails' child: turn n, then n + 1 on a failing disk. */
static void
checkpoint_child(struct store *st, void *arg)
{
	const struct turns *t = arg;

	if (write_turn(st, t->n) != 0)
		_exit(3);
	fail_syncs = 1000;
	if (write_turn(st, t->n + 1) != PROTO_E_INTERNAL)
		_exit(4);
	_exit(5);
}

/*
 * A child process opens dir's store (PARLEY_SYNC=full) and stores turn
 * n; then the disk fails every flush: turn n + 1's, so it is refused,
 * and the checkpoint's that would spend its number, and the one of the
 * zeros over its header. Returns the child's exit status (5: it went on
 * serving).
 */
static int
checkpoint_fails(const char *dir, int n)
{
	struct turns t = { n, 1 };

	return fix_in_child(dir, 0, checkpoint_child, &t);
}

/*
 * A refused turn whose number no checkpoint could record (the disk fails
 * LMDB's flush too): the process exits rather than go on with a number
 * it cannot spend (its undo replayed the refused record from the page
 * cache, which reads then served, and the next checkpoint kept), and the
 * next start does not replay it: its header was zeroed. The turns
 * acknowledged before it stay.
 */
static void
test_failed_checkpoint(void **state)
{
	struct fix *f = *state;

	assert_int_equal(write_turn(f->st, 0), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(checkpoint_fails(f->dir, 1), 1);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 2);
	assert_int_equal(write_turn(f->st, 3), 0);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 3);
}

/*
 * PARLEY_SYNC=interval (STORE_F_NOSYNC): a clean stop's checkpoint is on
 * disk before the log is emptied. Its commit was not synced (MDB_NOSYNC)
 * and the log's emptying was (wal_clear): a power loss after the stop
 * found LMDB at the checkpoint before (here: none) and an empty log, the
 * turns acknowledged since gone, though the exit had synced them.
 */
static void
test_interval_close_synced(void **state)
{
	struct fix *f = *state;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(write_turn(f->st, i), 0);
	disk_watch(f->dir);
	assert_int_equal(store_sync(f->st), 0);	/* the exit's (server_sync) */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(disk_turns_after_loss(), 3);
}

/*
 * The same for a checkpoint made as the log fills: LMDB's commit is on
 * disk before the log starts again, so a power loss after the next
 * record was written over the log's start (the kernel may write it back
 * at any moment) keeps the turns the last interval's sync had on disk.
 * It found LMDB before the checkpoint and the new lap's record, after
 * which the start refused ("records are missing").
 */
static void
test_interval_checkpoint_synced(void **state)
{
	struct fix *f = *state;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(write_turn(f->st, i), 0);
	disk_watch(f->dir);
	assert_int_equal(store_sync(f->st), 0);	/* the interval's */
	store_set_wal_max(f->st, 1);	/* the next batch checkpoints first */
	assert_int_equal(write_turn(f->st, 3), 0);
	disk_written(WAL_FILE);
	assert_true(disk_turns_after_loss() >= 3);
}

/* LMDB older than the log's first record: refused, not silently short. */
static void
test_gap_refused(void **state)
{
	struct fix *f = *state;
	struct stderr_capture cap;
	char a[128], b[128], said[4096];

	assert_int_equal(write_turn(f->st, 0), 0);
	store_close(f->st);		/* checkpoint 1 */
	f->st = NULL;
	snprintf(a, sizeof(a), "%s/data.mdb", f->dir);
	snprintf(b, sizeof(b), "%s/old.mdb", f->dir);
	copy_file(a, b, -1);
	fix_reopen(f);
	assert_int_equal(write_turn(f->st, 1), 0);
	store_close(f->st);		/* checkpoint 2 */
	f->st = NULL;
	crash_run(f->dir, 2, 5);	/* records after checkpoint 2 */
	copy_file(b, a, -1);		/* LMDB back at checkpoint 1 */
	unlink(b);
	/* Said as it is: no read error (it said "read at 0: File exists"). */
	stderr_capture_start(&cap);
	assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
	stderr_capture_end(&cap, said, sizeof(said));
	assert_non_null(strstr(said, "records are missing"));
	assert_null(strstr(said, "read at"));
	/* The log untouched: with the right LMDB it would replay. */
	f->st = NULL;
}

/* dir/name's size, or -1 when it is missing. */
static off_t
size_of(const char *dir, const char *name)
{
	struct stat sb;
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/*
 * data.mdb found empty (a copy onto a full disk) or missing beside a log,
 * after a clean stop or a crash: refused, not a new database made over
 * it (which served an empty store); nothing written. An empty one beside
 * an empty log, or beside lock.mdb alone (the log moved away), is refused
 * too: a start makes data.mdb and syncs its first commit before it makes
 * the log, so no start that died leaves both empty (until 2026-12 both
 * empty made a new database). A backup restored into an empty directory
 * (data.mdb alone) or over the empty one opens, and an empty data.mdb
 * alone starts anew.
 */
static void
test_lost_mdb_refused(void **state)
{
	struct fix *f = *state;
	char a[128], b[128], copy[64];
	off_t wal;
	int crashed, fd, i;

	assert_int_equal(write_turn(f->st, 0), 0);
	store_close(f->st);
	f->st = NULL;
	snprintf(a, sizeof(a), "%s/data.mdb", f->dir);
	snprintf(b, sizeof(b), "%s/old.mdb", f->dir);
	copy_file(a, b, -1);		/* the backup: one turn */
	for (crashed = 0; crashed <= 1; crashed++) {
		if (crashed)
			crash_run(f->dir, 1, 3);
		wal = size_of(f->dir, WAL_FILE);
		assert_true(wal > 0);
		assert_int_equal(truncate(a, 0), 0);
		log_set_level(LOG_LEVEL_FATAL);
		assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
		assert_int_equal(size_of(f->dir, "data.mdb"), 0);
		assert_int_equal(unlink(a), 0);
		assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
		log_set_level(LOG_LEVEL_WARN);
		assert_int_equal(size_of(f->dir, "data.mdb"), -1);
		assert_int_equal(size_of(f->dir, WAL_FILE), wal);
		copy_file(b, a, -1);
	}
	/* The backup alone in an empty directory. */
	strlcpy(copy, "/tmp/parley-walcopy-XXXXXX", sizeof(copy));
	assert_non_null(mkdtemp(copy));
	snprintf(a, sizeof(a), "%s/data.mdb", copy);
	copy_file(b, a, -1);
	f->st = store_open(copy, 64, STORE_F_NOSYNC);
	assert_non_null(f->st);
	assert_int_equal(turns_in(f->st), 1);
	store_close(f->st);
	f->st = NULL;
	rm_env(copy);
	/* data.mdb empty beside an empty log, then beside lock.mdb alone. */
	assert_non_null(mkdtemp(strcpy(copy, "/tmp/parley-walcopy-XXXXXX")));
	for (i = 0; i < 3; i++) {
		snprintf(a, sizeof(a), "%s/%s", copy, i == 0 ? "data.mdb" :
		    i == 1 ? WAL_FILE : "lock.mdb");
		assert_true((fd = open(a, O_WRONLY | O_CREAT, 0600)) >= 0);
		close(fd);
	}
	for (i = 0; i < 2; i++) {
		log_set_level(LOG_LEVEL_FATAL);
		assert_null(store_open(copy, 64, STORE_F_NOSYNC));
		log_set_level(LOG_LEVEL_WARN);
		assert_int_equal(size_of(copy, "data.mdb"), 0);
		assert_int_equal(size_of(copy, "lock.mdb"), 0);
		snprintf(a, sizeof(a), "%s/%s", copy, WAL_FILE);
		assert_int_equal(size_of(copy, WAL_FILE), i == 0 ? 0 : -1);
		(void)unlink(a);
	}
	/* An empty data.mdb alone: nothing says it held one; a new one. */
	snprintf(a, sizeof(a), "%s/lock.mdb", copy);
	assert_int_equal(unlink(a), 0);
	f->st = store_open(copy, 64, STORE_F_NOSYNC);
	assert_non_null(f->st);
	assert_int_equal(turns_in(f->st), 0);
	store_close(f->st);
	f->st = NULL;
	rm_env(copy);
	/* The backup put over the empty data.mdb (then the log moved away). */
	snprintf(a, sizeof(a), "%s/data.mdb", f->dir);
	assert_int_equal(rename(b, a), 0);
	snprintf(a, sizeof(a), "%s/%s", f->dir, WAL_FILE);
	assert_int_equal(unlink(a), 0);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 1);
}

/*
 * A conversation made and deleted, again and again, in a small map: the
 * open transaction cannot reuse the pages each delete frees (a table
 * emptied and filled again takes a new page), so with checkpoints only at
 * a full log (16 MiB, more than the map) the map filled after some 1,800
 * rounds and every write was refused. Checkpoints now come sooner when
 * the map is short of room: every round is stored.
 */
static void
test_churn_in_small_map(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	struct st_conv c;
	int created, i;

	fix_reopen_map(f, 8);
	log_set_level(LOG_LEVEL_ERROR);	/* "the map ... used": expected */
	for (i = 0; i < 4000; i++) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_conv_open(&t, "default", "churn", &c,
		    &created), 0);
		assert_true(created);
		assert_int_equal(store_commit(&t), 0);
		store_begin(f->st, &t, 0);
		assert_int_equal(store_conv_delete(&t, c.id), 0);
		assert_int_equal(store_commit(&t), 0);
		st_conv_free(&c);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(write_turn(f->st, 0), 0);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 1);
}

/*
 * The same at its worst: batches that each put a one-byte key in an empty
 * table and delete it again, about the least a batch can log (34 bytes,
 * and the log's own WAL_EXT_LEN) for a page of the map (80 to 1, 120 to
 * 1 before those: STORE_MAP_PER_LOG allows for twice that). The map
 * holds them all.
 */
static void
test_churn_tiny_batches(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	size_t log0;
	int i;

	fix_reopen_map(f, 8);
	log_set_level(LOG_LEVEL_ERROR);	/* "the map ... used": expected */
	for (i = 0; i < 4000; i++) {
		log0 = wal_used(f->st->wal);
		store_begin(f->st, &t, 0);
		db_put(&t, f->st->kb_gone, "k", 1, "", 0, "churn");
		db_del(&t, f->st->kb_gone, "k", 1, "churn");
		assert_int_equal(store_commit(&t), 0);
		/* A checkpoint may have begun the log again before it. */
		if (wal_used(f->st->wal) > log0)
			assert_in_range(wal_used(f->st->wal) - log0,
			    20 + WAL_EXT_LEN, 40 + WAL_EXT_LEN);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(write_turn(f->st, 0), 0);
}

/*
 * A child opens dir's store with every checkpoint failing as a full map
 * fails it (mdb_put below): stalled at its start, its log's records
 * replayed into the open transaction alone. It stores turn n (a write
 * let through a stall: a delete, a sign-in), tries the checkpoint again
 * as the second's timer does, and dies as kill -9 would. Its exit
 * status: 0 stored, 1 refused, 2 not opened stalled; 1 from fatalx.
 */
static int
stalled_write(const char *dir, int n)
{
	struct store *st;
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		full_map = 1;
		if ((st = store_open(dir, 64, 0)) == NULL ||
		    store_stalled(st) == NULL)
			_exit(2);
		if (write_turn(st, n) != 0)
			_exit(1);
		(void)store_retry(st);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static struct store *open_copy(const char *, char *, size_t);

/* The inodes of the files fdatasync'd or fsync'd (synced_hook), in order. */
static ino_t synced_ino[64];
static int nsynced;

static void
note_synced(int fd)
{
	struct stat sb;

	if (nsynced < 64 && fstat(fd, &sb) == 0)
		synced_ino[nsynced++] = sb.st_ino;
}

/*
 * A start whose checkpoint stalls (the map full) keeps the records it
 * replayed in the log alone, and goes on with them: it flushes the log
 * first, as the process that wrote them may not have (PARLEY_SYNC=
 * interval, a shared flush it died in) and they are held from then on (a
 * standby names them in its next ST_REPL_START, which its primary takes
 * as their acknowledgement). A flush that fails refuses the start. Until
 * 2026-12-06 the stalled start went on without a flush.
 */
static void
test_stalled_start_flushes(void **state)
{
	struct fix *f = *state;
	struct store *st;
	struct stat sb;
	char p[128], said[4096];
	int i, found = 0;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 3);
	snprintf(p, sizeof(p), "%s/%s", f->dir, WAL_FILE);
	assert_int_equal(stat(p, &sb), 0);
	nsynced = 0;
	synced_hook = note_synced;
	full_map = 1;
	st = store_open(f->dir, 64, STORE_F_NOSYNC);
	synced_hook = NULL;
	assert_non_null(st);
	assert_non_null(store_stalled(st));
	for (i = 0; i < nsynced; i++)
		found |= synced_ino[i] == sb.st_ino;
	assert_true(found);
	store_close(st);
	/* Its flush failing: refused, nothing held that may not be on disk. */
	fail_syncs = 1;
	st = open_copy(f->dir, said, sizeof(said));
	fail_syncs = 0;
	full_map = 0;
	assert_null(st);
	assert_non_null(strstr(said, "cannot flush the 3 records"));
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 3);
}

/*
 * A start whose log replays but whose checkpoint does not fit the map
 * (PARLEY_MAP_SIZE_MB lowered): stalled, the replayed records in the log
 * alone. A write let through then went to the log's offset 0, over them:
 * the checkpoint tried next exited, and every start after found a gap
 * and refused to open, at any map size. It goes after them: every
 * acknowledged turn is there at the next start.
 */
static void
test_stalled_start_appends_after(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 5);	/* five turns in the log alone */
	log_set_level(LOG_LEVEL_FATAL + 1);
	assert_int_equal(stalled_write(f->dir, 5), 0);
	log_set_level(LOG_LEVEL_WARN);
	reopen_synced(f);
	assert_int_equal(turns_in(f->st), 6);
}

/*
 * A batch's log record as storelog.c documents it (a format on disk):
 * u8 kind, u8 database, u32 key length, the key, and for a put u32 value
 * length and the value, big-endian.
 */
static void
test_oplog_bytes(void **state)
{
	struct fix *f = *state;
	struct store *st = f->st;
	uint8_t db = (uint8_t)(st->db_place[st->convs] - 1);
	const uint8_t want[] = {
		1, db, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 3, 'x', 'y', 'z',
		2, db, 0, 0, 0, 1, 'c',
		1, db, 0, 0, 0, 1, 'd', 0, 0, 0, 0,
		3, db, 0, 0, 0, 0,
	};

	assert_true(st->db_place[st->convs] != 0);
	oplog_clear(&st->log);
	oplog_put(st, st->convs, "ab", 2, "xyz", 3);
	oplog_del(st, st->convs, "c", 1);
	oplog_put(st, st->convs, "d", 1, "", 0);
	oplog_drop(st, st->convs);
	assert_int_equal(st->log.err, 0);
	assert_int_equal(st->log.len, sizeof(want));
	assert_memory_equal(st->log.buf, want, sizeof(want));
	oplog_clear(&st->log);
}

/* ------------------------------------------------ damage or torn */

/* The log's records, as a scan takes them: offset, body length, seq. */
struct recs {
	off_t off[64];
	size_t len[64];
	uint64_t seq[64];
	int n;
};

/*
 * dir's log read as wal_scan reads it (whole records, seqs one by one,
 * of one lap), CRCs left unchecked: the records a test damages.
 */
static void
log_records(const char *dir, struct recs *r)
{
	uint8_t h[WAL_HDR_LEN + WAL_EXT_LEN], lap[8];
	off_t off = 0;
	int fd;

	fd = wal_fd(dir, O_RDONLY);
	memset(r, 0, sizeof(*r));
	while (r->n < 64 && pread(fd, h, sizeof(h), off) == sizeof(h) &&
	    proto_get_be32(h) != 0) {
		if (r->n > 0 && (proto_get_be64(h + 8) != r->seq[r->n - 1] + 1 ||
		    (h[WAL_HDR_LEN] == WAL_EXT_MARK &&
		    memcmp(h + WAL_HDR_LEN + 9, lap, sizeof(lap)) != 0)))
			break;
		memcpy(lap, h + WAL_HDR_LEN + 9, sizeof(lap));
		r->off[r->n] = off;
		r->len[r->n] = proto_get_be32(h);
		r->seq[r->n] = proto_get_be64(h + 8);
		off += WAL_HDR_LEN + (off_t)r->len[r->n++];
	}
	close(fd);
}

/* The byte at off of dir's log, bits flipped (a disk's damage). */
static void
flip_byte(const char *dir, off_t off, uint8_t bits)
{
	uint8_t c;
	int fd;

	fd = wal_fd(dir, O_RDWR);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= bits;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* The byte at off of dir's log. */
static uint8_t
byte_at(const char *dir, off_t off)
{
	uint8_t c;
	int fd;

	fd = wal_fd(dir, O_RDONLY);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	close(fd);
	return c;
}

/* A copy of dir opened: NULL when refused, what it said in said. */
static struct store *
open_copy(const char *copy, char *said, size_t saidsz)
{
	struct stderr_capture cap;
	struct store *st;

	stderr_capture_start(&cap);
	st = store_open(copy, 64, STORE_F_NOSYNC);
	stderr_capture_end(&cap, said, saidsz);
	return st;
}

/*
 * A record the disk damaged after its flush returned, whole acknowledged
 * records after it (each flushed on its own): the start is refused,
 * saying which record, where, and what to do; not started without the
 * records after it, which it did until 2026-12-02 (and for the log's
 * first record, which no record before it names the lap of, until
 * 2026-12-03). Damage in its body (the CRC fails) or in its length
 * (where the next record is, unknown).
 */
static void
test_damage_refused(void **state)
{
	struct fix *f = *state;
	struct recs r;
	struct store *st;
	char copy[64], said[4096], want[128];
	int k, how, i, j;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 5);	/* five records, each flushed */
	log_records(f->dir, &r);
	assert_true(r.n >= 5);
	assert_int_equal(r.off[0], 0);
	/*
	 * The log's first record, then the third of the five; the length
	 * zeroed too (one bit flipped does it to a length of one bit set),
	 * not taken for the log's clean end (a zeroed header) until
	 * 2026-12-04 at the first record.
	 */
	for (i = 0; i < 6; i++) {
		k = i < 3 ? 0 : r.n - 3;
		how = i % 3;
		copy_env(f->dir, copy, sizeof(copy), -1, 0);
		if (how == 0)
			flip_byte(copy, r.off[k] + WAL_HDR_LEN +
			    (off_t)r.len[k] - 1, 0x10);
		else if (how == 1)
			flip_byte(copy, r.off[k], 0x40);
		else
			for (j = 0; j < 4; j++)
				flip_byte(copy, r.off[k] + j,
				    byte_at(copy, r.off[k] + j));
		st = open_copy(copy, said, sizeof(said));
		assert_null(st);
		snprintf(want, sizeof(want), "record %llu at offset %lld is "
		    "damaged", (unsigned long long)r.seq[k],
		    (long long)r.off[k]);
		assert_non_null(strstr(said, want));
		assert_non_null(strstr(said, WAL_FILE));
		assert_non_null(strstr(said, "Restore a backup"));
		assert_non_null(strstr(said, "move wal.log away"));
		rm_env(copy);
	}
	/* Undamaged, all five. */
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 5);
}

/*
 * shared_flush's child: turns n and n + 1 flushed each, then three
 * logged to share a flush (store_defer_flush) that never comes: a power
 * cut before it.
 */
static void
shared_child(struct store *st, void *arg)
{
	int i, n = *(const int *)arg;

	for (i = n; i < n + 5; i++) {
		store_defer_flush(st, i >= n + 2);
		if (write_turn(st, i) != 0)
			_exit(3);
	}
	if (store_flushed(st) + 3 != store_seq(st))
		_exit(4);
	_exit(0);
}

/*
 * dir's store after shared_child (turns 0..4), its log's first shared
 * record torn, opened from a copy: it starts, without the three records
 * that shared the flush (none was acknowledged), and takes writes.
 */
static void
shared_flush_torn(const char *dir)
{
	struct recs r;
	struct store *st;
	char copy[64], said[4096];
	int k;

	log_records(dir, &r);
	assert_true(r.n >= 5);
	k = r.n - 3;
	copy_env(dir, copy, sizeof(copy), -1, 0);
	/* Torn: its end never written (zeros, or an older lap's bytes). */
	flip_byte(copy, r.off[k] + WAL_HDR_LEN + (off_t)r.len[k] - 1, 0x10);
	st = open_copy(copy, said, sizeof(said));
	assert_non_null(st);
	assert_null(strstr(said, "damaged"));
	assert_int_equal(turns_in(st), 2);
	assert_int_equal(write_turn(st, 100), 0);
	assert_int_equal(turns_in(st), 3);
	store_close(st);
	rm_env(copy);
}

/*
 * A power cut during a shared flush: records 3..5 written under one
 * fdatasync, record 3 torn, 4 and 5 whole (the disk wrote them first).
 * None was acknowledged, and no later record says it was flushed: a torn
 * tail, not damage; the start leaves the three out, as before.
 */
static void
test_shared_flush_torn(void **state)
{
	struct fix *f = *state;

	int n = 0;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(fix_in_child(f->dir, 0, shared_child, &n), 0);
	shared_flush_torn(f->dir);
}

/*
 * A backup put back after a clean stop: the log's earlier lap (ten
 * records, each flushed: flushed far past the new lap's seqs) lies
 * beyond the new lap's records, at the same offsets (the same turns, the
 * same lengths). A record of it says nothing of the new lap's: the new
 * lap torn in a shared flush starts (without the three), and the new
 * lap whole starts with its five, not the old lap's turns after them.
 */
static void
test_old_lap_beyond(void **state)
{
	struct fix *f = *state;
	char a[128], b[128];
	int n = 0;

	store_close(f->st);		/* the backup's checkpoint */
	f->st = NULL;
	snprintf(a, sizeof(a), "%s/data.mdb", f->dir);
	snprintf(b, sizeof(b), "%s/backup.mdb", f->dir);
	copy_file(a, b, -1);
	crash_run(f->dir, 0, 10);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 10);
	store_close(f->st);		/* the log emptied: its header zeroed */
	f->st = NULL;
	copy_file(b, a, -1);		/* the backup put back */
	unlink(b);
	assert_int_equal(fix_in_child(f->dir, 0, shared_child, &n), 0);
	shared_flush_torn(f->dir);
	/* Whole (a kill -9, no power cut): its five, and no more. */
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 5);
}

/*
 * Record seq of body (len bytes) written at out in fd as the log's
 * header has it (its length, the CRC of seq and body, seq): where the
 * next goes.
 */
static off_t
record_put(int fd, off_t out, uint64_t seq, const uint8_t *body, size_t len)
{
	uint8_t h[WAL_HDR_LEN], s[8];

	proto_put_be64(s, seq);
	proto_put_be32(h, (uint32_t)len);
	proto_put_be32(h + 4, wal_crc32c(wal_crc32c(0, s, sizeof(s)), body,
	    len));
	proto_put_be64(h + 8, seq);
	assert_int_equal(pwrite(fd, h, sizeof(h), out), sizeof(h));
	assert_int_equal(pwrite(fd, body, len, out + WAL_HDR_LEN),
	    (ssize_t)len);
	return out + WAL_HDR_LEN + (off_t)len;
}

/* fd's log ended at out (zeros, as the file grows), and closed. */
static void
log_end(int fd, off_t out)
{
	uint8_t h[WAL_HDR_LEN];

	memset(h, 0, sizeof(h));
	assert_int_equal(pwrite(fd, h, sizeof(h), out), sizeof(h));
	close(fd);
}

/*
 * dir's log rewritten in an older record format, each CRC of seq and its
 * body: keep_ext 0, as storaged wrote it until 2026-12-02 (each body
 * without the log's own bytes, WAL_EXT_LEN); 1, as the storaged before
 * 2026-12-06 (the log's own bytes without the checkpoint id: mark
 * WAL_EXT1_MARK, flushed, lap).
 */
static void
log_to_format(const char *dir, int keep_ext)
{
	const size_t keep = keep_ext ? WAL_EXT1_LEN : 0;
	struct recs r;
	uint8_t *body;
	size_t len;
	off_t out = 0;
	int fd, i;

	log_records(dir, &r);
	fd = wal_fd(dir, O_RDWR);
	for (i = 0; i < r.n; i++) {
		len = r.len[i] - WAL_EXT_LEN + keep;
		assert_non_null(body = malloc(len));
		if (keep > 0) {
			assert_int_equal(pread(fd, body, keep, r.off[i] +
			    WAL_HDR_LEN), (ssize_t)keep);
			assert_int_equal(body[0], WAL_EXT_MARK);
			body[0] = WAL_EXT1_MARK;
		}
		assert_int_equal(pread(fd, body + keep, len - keep, r.off[i] +
		    WAL_HDR_LEN + WAL_EXT_LEN), (ssize_t)(len - keep));
		out = record_put(fd, out, r.seq[i], body, len);
		free(body);
	}
	log_end(fd, out);
}

/*
 * A log of the older format (no flushed, no lap) replays; and its
 * records behave as before: one damaged, with records after it, ends
 * the reading there (nothing tells damage from a torn write in it).
 */
static void
test_old_format_replays(void **state)
{
	struct fix *f = *state;
	struct recs r;
	struct store *st;
	char copy[64], said[4096];

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 5);
	log_to_format(f->dir, 0);
	log_records(f->dir, &r);
	assert_true(r.n >= 5);
	/* The rewrite: the first body an operation's, not the log's mark. */
	assert_int_equal(byte_at(f->dir, r.off[0] + WAL_HDR_LEN), 1);
	copy_env(f->dir, copy, sizeof(copy), -1, 0);
	flip_byte(copy, r.off[r.n - 3] + WAL_HDR_LEN +
	    (off_t)r.len[r.n - 3] - 1, 0x10);
	st = open_copy(copy, said, sizeof(said));
	assert_non_null(st);
	assert_int_equal(turns_in(st), 2);
	store_close(st);
	rm_env(copy);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 5);
	/* Checkpointed: the next records are of the new format. */
	assert_int_equal(write_turn(f->st, 5), 0);
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 6);
}

/* ------------------------------------------------ a backup put back */

/* What backup_child does: its first turn's number, the backup's path. */
struct backup_run {
	const char *path;
	int from;
};

/*
 * fix_in_child's fn: a turn, then a backup into b->path as storaged
 * makes one (its checkpoint, the copy, store_backup_seal after it), then
 * one more turn, then the process dies without closing (the kill -9 of
 * operations.md's restore): that turn is in the log alone.
 */
static void
backup_child(struct store *st, void *arg)
{
	const struct backup_run *b = arg;
	int fd;

	if (write_turn(st, b->from) != 0)
		_exit(3);
	if ((fd = open(b->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0 || store_checkpoint(st) < 0 ||
	    store_backup(st, fd) != 0 || store_backup_seal(st) < 0)
		_exit(4);
	close(fd);
	if (write_turn(st, b->from + 1) != 0)
		_exit(5);
}

/* dir/a renamed dir/b. */
static void
rename_in(const char *dir, const char *a, const char *b)
{
	char pa[128], pb[128];

	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	snprintf(pb, sizeof(pb), "%s/%s", dir, b);
	assert_int_equal(rename(pa, pb), 0);
}

/* dir/a copied to dir/b. */
static void
copy_in(const char *dir, const char *a, const char *b)
{
	char pa[128], pb[128];

	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	snprintf(pb, sizeof(pb), "%s/%s", dir, b);
	copy_file(pa, pb, -1);
}

/* dir's store opened, refused for a log of another checkpoint. */
static void
refused_other_checkpoint(const char *dir)
{
	char said[4096];

	assert_null(open_copy(dir, said, sizeof(said)));
	assert_non_null(strstr(said, "follow another checkpoint"));
	assert_non_null(strstr(said, "move wal.log away to start from "
	    "data.mdb alone"));
}

/*
 * operations.md's restore after a crash: a backup, one more turn, the
 * process killed, the backup put in place of data.mdb with the log left
 * beside it. The log's first record is the backup's wal_seq + 1 (no
 * checkpoint came between the backup's and the crash), yet it is not
 * replayed over the backup: the start is refused, saying what to do (it
 * replayed it silently until 2026-12-06). The log is untouched: beside
 * the data.mdb it was written for, it replays; moved away, the backup
 * starts alone.
 */
static void
test_backup_put_back_refused(void **state)
{
	struct fix *f = *state;
	char bk[128];
	struct backup_run b = { bk, 0 };

	store_close(f->st);
	f->st = NULL;
	snprintf(bk, sizeof(bk), "%s/backup.mdb", f->dir);
	assert_int_equal(fix_in_child(f->dir, 0, backup_child, &b), 0);
	copy_in(f->dir, "data.mdb", "live.mdb");
	copy_in(f->dir, "backup.mdb", "data.mdb");
	refused_other_checkpoint(f->dir);
	/* The database the log was written for: both turns. */
	rename_in(f->dir, "live.mdb", "data.mdb");
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 2);
	/* Again, and the log moved away: the backup alone. */
	store_close(f->st);
	f->st = NULL;
	unlink(bk);
	b.from = 2;
	assert_int_equal(fix_in_child(f->dir, 0, backup_child, &b), 0);
	copy_in(f->dir, "backup.mdb", "data.mdb");
	refused_other_checkpoint(f->dir);
	rename_in(f->dir, WAL_FILE, "wal.moved");
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 3);
	unlink(bk);
	snprintf(bk, sizeof(bk), "%s/wal.moved", f->dir);
	unlink(bk);
}

/*
 * The same backup put back a second time: restored into an empty
 * directory, started (nothing to replay), written to, killed; then the
 * backup put back over that directory's log. Refused too: the start that
 * replayed nothing drew a checkpoint id of its own.
 */
static void
test_backup_put_back_twice(void **state)
{
	struct fix *f = *state;
	char bk[128], dir[64], p[128];
	struct backup_run b = { bk, 0 };

	store_close(f->st);
	f->st = NULL;
	snprintf(bk, sizeof(bk), "%s/backup.mdb", f->dir);
	assert_int_equal(fix_in_child(f->dir, 0, backup_child, &b), 0);
	strlcpy(dir, "/tmp/parley-walcopy-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	copy_file(bk, p, -1);
	crash_run(dir, 10, 12);		/* after the restore: two turns */
	copy_file(bk, p, -1);		/* the backup put back again */
	refused_other_checkpoint(dir);
	rm_env(dir);
	unlink(bk);
}

/*
 * The first start after an upgrade, the storaged before it killed: its
 * data.mdb has no checkpoint id (meta "wal_ckpt") and its log's records
 * carry none (the mark 0xf1). They replay, every acknowledged turn; the
 * records after are of the new format, and replay at the next crash. A
 * data.mdb without an id under a log of records that carry one (a backup
 * made before the upgrade, put back after it) is refused.
 */
static void
test_previous_format_replays(void **state)
{
	struct fix *f = *state;
	struct recs r;

	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 0, 5);
	log_to_format(f->dir, 1);
	meta_key_gone(f->dir, "wal_ckpt");
	log_records(f->dir, &r);
	assert_true(r.n >= 5);
	assert_int_equal(byte_at(f->dir, r.off[0] + WAL_HDR_LEN),
	    WAL_EXT1_MARK);
	crash_run(f->dir, 5, 7);	/* replays them, then two more */
	fix_reopen(f);
	assert_int_equal(turns_in(f->st), 7);
	/* Records with an id, a data.mdb without: refused. */
	store_close(f->st);
	f->st = NULL;
	crash_run(f->dir, 7, 9);
	meta_key_gone(f->dir, "wal_ckpt");
	refused_other_checkpoint(f->dir);
}

/* What a wal_scan handed on: each record's seq and its body's first byte. */
struct taken {
	int n;
	uint64_t seq[16];
	uint8_t first[16];
};

static int
take_record(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
	struct taken *t = arg;

	assert_true(t->n < 16 && len > 0);
	t->seq[t->n] = seq;
	t->first[t->n++] = body[0];
	return 0;
}

/* A start's reading of dir's log, then the log kept open (returned). */
static struct wal *
started(const char *dir, struct taken *t)
{
	struct wal *w;

	memset(t, 0, sizeof(*t));
	assert_non_null(w = wal_open(dir, 1));
	assert_int_equal(wal_scan(w, 1, take_record, t), 0);
	return w;
}

/* f's store closed and its log removed: a log of the test's own, open. */
static struct wal *
own_log(struct fix *f)
{
	char p[128];
	struct wal *w;

	store_close(f->st);
	f->st = NULL;
	snprintf(p, sizeof(p), "%s/%s", f->dir, WAL_FILE);
	assert_int_equal(unlink(p), 0);
	assert_non_null(w = wal_open(f->dir, 1));
	return w;
}

/*
 * A start that goes on with a lap torn in a shared flush (its checkpoint
 * stalled: wal_append_after_scan): records 1..5 flushed one by one, then
 * 6, 7 and 8 under one flush, 6 torn, 7 and 8 whole, none acknowledged.
 * The start takes 1..5 and writes its own 6, as long as the torn one,
 * where it was: the next start takes 1..6, that 6, and not the first
 * process's 7 and 8 after it, which carry the same lap's bytes and follow
 * with the next seqs (the start cleared them).
 */
static void
test_torn_lap_continued(void **state)
{
	struct fix *f = *state;
	const off_t rec = WAL_HDR_LEN + WAL_EXT_LEN + 100;
	uint8_t body[100];
	struct taken t;
	struct wal *w;
	uint64_t s;
	int i;

	w = own_log(f);
	memset(body, 'a', sizeof(body));
	for (s = 1; s <= 5; s++)
		assert_int_equal(wal_append(w, s, body, sizeof(body)), 0);
	memset(body, 'p', sizeof(body));
	for (s = 6; s <= 8; s++)
		assert_int_equal(wal_write(w, s, body, sizeof(body)), 0);
	assert_int_equal(wal_sync(w), 0);
	wal_close(w);
	flip_byte(f->dir, 5 * rec + WAL_HDR_LEN + WAL_EXT_LEN + 50, 0xff);

	w = started(f->dir, &t);
	assert_int_equal(t.n, 5);
	wal_append_after_scan(w);
	memset(body, 'N', sizeof(body));
	assert_int_equal(wal_append(w, 6, body, sizeof(body)), 0);
	wal_close(w);			/* killed: nothing more */

	w = started(f->dir, &t);
	wal_close(w);
	assert_int_equal(t.n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(t.seq[i], (uint64_t)i + 1);
	assert_int_equal(t.first[5], 'N');
}

/*
 * The log's first record torn in a flush it shared (records 1..3 written,
 * then one flush that a power cut beat: 1 torn, 2 and 3 whole, none says
 * a flush): a start takes no record and goes on. The same log once a
 * later record of its lap says record 1 was flushed: record 1 was on
 * disk whole, so its damage is refused, naming it.
 */
static void
test_first_torn_or_damaged(void **state)
{
	struct fix *f = *state;
	struct stderr_capture cap;
	uint8_t body[100];
	char said[4096];
	struct taken t;
	struct wal *w;
	uint64_t s;
	int rc;

	w = own_log(f);
	memset(body, 'a', sizeof(body));
	for (s = 1; s <= 3; s++)
		assert_int_equal(wal_write(w, s, body, sizeof(body)), 0);
	assert_int_equal(wal_sync(w), 0);
	wal_close(w);
	flip_byte(f->dir, WAL_HDR_LEN + WAL_EXT_LEN + 50, 0xff);
	w = started(f->dir, &t);
	wal_close(w);
	assert_int_equal(t.n, 0);

	/*
	 * A start that read 1..3 goes on with their lap: its record 4 says
	 * nothing flushed yet (this process flushed none), its 5 that 4 was.
	 */
	assert_non_null(w = wal_open(f->dir, 1));
	memset(&t, 0, sizeof(t));
	flip_byte(f->dir, WAL_HDR_LEN + WAL_EXT_LEN + 50, 0xff);
	assert_int_equal(wal_scan(w, 1, take_record, &t), 0);
	assert_int_equal(t.n, 3);
	wal_append_after_scan(w);
	for (s = 4; s <= 5; s++)
		assert_int_equal(wal_append(w, s, body, sizeof(body)), 0);
	wal_close(w);
	flip_byte(f->dir, WAL_HDR_LEN + WAL_EXT_LEN + 50, 0xff);
	assert_non_null(w = wal_open(f->dir, 1));
	memset(&t, 0, sizeof(t));
	stderr_capture_start(&cap);
	rc = wal_scan(w, 1, take_record, &t);
	stderr_capture_end(&cap, said, sizeof(said));
	wal_close(w);
	assert_int_equal(rc, -1);
	assert_int_equal(t.n, 0);
	assert_non_null(strstr(said, "record 1 at offset 0 is damaged"));
	assert_non_null(strstr(said, "yet record 5 after it"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
		cmocka_unit_test(test_crc32c),
		T(test_replay_after_crash),
		T(test_torn_every_offset),
		T(test_killed_during_checkpoints),
		T(test_failed_batch_undone),
		T(test_failed_sync),
		T(test_shared_flush_fails),
		T(test_waiting_unwrite_fails),
		T(test_failed_checkpoint),
		T(test_interval_close_synced),
		T(test_interval_checkpoint_synced),
		T(test_gap_refused),
		T(test_lost_mdb_refused),
		T(test_churn_in_small_map),
		T(test_churn_tiny_batches),
		T(test_stalled_start_appends_after),
		T(test_stalled_start_flushes),
		T(test_oplog_bytes),
		T(test_damage_refused),
		T(test_shared_flush_torn),
		T(test_old_lap_beyond),
		T(test_old_format_replays),
		T(test_backup_put_back_refused),
		T(test_backup_put_back_twice),
		T(test_previous_format_replays),
		T(test_torn_lap_continued),
		T(test_first_torn_or_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
