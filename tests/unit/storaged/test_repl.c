/*
 * Unit tests: replication's half in the store (store.h, issue 25). A
 * primary's records, as store_on_record hands them over, applied to a
 * standby's store (store_repl_apply): a gap refused, a record held
 * already skipped; a snapshot (store_backup's copy) swapped in with
 * store_swap, then the records after it; the term in meta, across the
 * stream and a reopen; a standby opened with STORE_F_STANDBY writes
 * nothing of its own; a record it wrote to its log but could not apply,
 * with the checkpoint after it failing too (fdatasync() answering EIO,
 * defined below, so wal.c and LMDB call it), never in the way of a
 * restart's replay, and the records of its read never acknowledged when
 * the flush of the zeros over it fails (the checkpoint stalled: a full
 * map, test_fullmap.h); the history's digest (store_digest) the same on
 * both sides, kept across reopens, replays and snapshots, and the resume
 * decision it makes (store_repl_resumable): a primary restored from an
 * older backup is not resumed by a standby holding other records.
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "log.h"
#include "test_fixture.h"
#include "test_failsync.h"
#include "test_fullmap.h"

#define MAXREC	64

/* What store_on_record told, copied. */
static struct {
	uint64_t seq[MAXREC];
	uint8_t *body[MAXREC];
	uint8_t pre[MAXREC][STORE_DIGEST_LEN];
	size_t len[MAXREC];
	size_t n;
} recs;

static void
capture(void *arg, uint64_t seq, const uint8_t *pre, const uint8_t *body,
    size_t len)
{
	assert_non_null(body);
	assert_non_null(pre);
	memcpy(recs.pre[recs.n], pre, STORE_DIGEST_LEN);
	assert_true(recs.n < MAXREC);
	recs.seq[recs.n] = seq;
	assert_non_null(recs.body[recs.n] = malloc(len));
	memcpy(recs.body[recs.n], body, len);
	recs.len[recs.n++] = len;
}

static void
recs_free(void)
{
	size_t i;

	for (i = 0; i < recs.n; i++)
		free(recs.body[i]);
	memset(&recs, 0, sizeof(recs));
}

/* One message in the conversation of session s (made if needed): one record. */
static void
write_one(struct store *st, const char *s, const char *content)
{
	struct store_txn t;
	struct st_conv c, after;
	struct st_msg m;
	int created;

	memset(&m, 0, sizeof(m));
	assert_int_equal(store_begin(st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, "w", s, &c, &created), 0);
	strlcpy(m.conv_id, c.id, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	m.content = strdup(content);
	assert_int_equal(store_msg_append(&t, &m, &after, NULL), 0);
	assert_int_equal(store_commit(&t), 0);
	st_msg_free(&m);
	st_conv_free(&c);
	st_conv_free(&after);
}

static struct st_stats
stats(struct store *st)
{
	struct store_txn t;
	struct st_stats s;

	assert_int_equal(store_begin(st, &t, 1), 0);
	assert_int_equal(store_stats(&t, &s), 0);
	assert_int_equal(store_commit(&t), 0);
	return s;
}

/* A compact copy of st's data into path (a backup, a snapshot). */
static void
copy_to(struct store *st, const char *path)
{
	int fd;

	assert_int_equal(store_checkpoint(st), 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(store_backup(st, fd), 0);
	close(fd);
}

static struct store *
standby_open(char *dir)
{
	struct store *st;

	assert_non_null(mkdtemp(dir));
	assert_non_null(st = store_open(dir, 64, STORE_F_STANDBY |
	    STORE_F_NOSYNC));
	return st;
}

static void
test_stream_and_snapshot(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128];
	struct store *s = standby_open(sdir);
	struct st_stats a, b;
	size_t i, first;

	/* A standby made nothing: no default widget, no record. */
	assert_int_equal(store_seq(s), 0);
	assert_int_equal(stats(s).widgets, 0);
	assert_int_equal(store_term(s), 0);

	assert_int_equal(store_set_term(p->st, 1), 0);
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "a", "one");
	write_one(p->st, "a", "two");
	assert_int_equal(recs.n, 2);
	assert_int_equal(recs.seq[1], recs.seq[0] + 1);
	assert_int_equal(recs.seq[1], store_seq(p->st));
	/* The standby lacks what came before them: refused, nothing kept. */
	assert_int_equal(store_repl_apply(s, recs.seq[0], recs.body[0],
	    recs.len[0]), -1);
	assert_int_equal(store_seq(s), 0);

	/* A snapshot of the primary, swapped in. */
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_int_equal(store_swap(s, snap), 0);
	assert_int_equal(access(snap, F_OK), -1);
	assert_int_equal(store_seq(s), store_seq(p->st));
	assert_int_equal(store_term(s), 1);
	/* Records it holds already are skipped. */
	assert_int_equal(store_repl_apply(s, recs.seq[1], recs.body[1],
	    recs.len[1]), 1);

	/* Then the records after it, in order; a gap refused. */
	first = recs.n;
	write_one(p->st, "b", "three");
	write_one(p->st, "a", "four");
	write_one(p->st, "c", "five");
	assert_int_equal(store_repl_apply(s, recs.seq[first + 1],
	    recs.body[first + 1], recs.len[first + 1]), -1);
	for (i = first; i < recs.n; i++)
		assert_int_equal(store_repl_apply(s, recs.seq[i], recs.body[i],
		    recs.len[i]), 0);
	assert_int_equal(store_repl_flush(s), 0);
	assert_int_equal(store_seq(s), store_seq(p->st));
	a = stats(p->st);
	b = stats(s);
	assert_int_equal(b.conversations, a.conversations);
	assert_int_equal(b.messages, a.messages);
	assert_int_equal(b.messages, 5);
	assert_int_equal(b.widgets, a.widgets);

	/* The term travels as a record; a reopen replays the standby's log. */
	assert_int_equal(store_set_term(p->st, 7), 0);
	assert_int_equal(store_repl_apply(s, recs.seq[recs.n - 1],
	    recs.body[recs.n - 1], recs.len[recs.n - 1]), 0);
	assert_int_equal(store_term(s), 7);
	store_close(s);
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY |
	    STORE_F_NOSYNC));
	assert_int_equal(store_term(s), 7);
	assert_int_equal(store_seq(s), store_seq(p->st));
	assert_int_equal(stats(s).messages, 5);

	store_close(s);
	rm_env(sdir);
	recs_free();
	fix_free(p);
}

/* refused_record's child: the records as its comment says. */
static void
refused_child(struct store *st, void *arg)
{
	uint8_t *bad;

	if (store_repl_apply(st, recs.seq[0], recs.body[0],
	    recs.len[0]) != 0 || (bad = malloc(recs.len[1])) == NULL)
		_exit(3);
	memcpy(bad, recs.body[1], recs.len[1]);
	bad[1] = 0xff;		/* its first effect's database */
	fail_syncs = 1000;
	if (store_repl_apply(st, recs.seq[1], bad, recs.len[1]) != -1)
		_exit(4);
	fail_syncs = 0;
	if (store_repl_apply(st, recs.seq[1], recs.body[1],
	    recs.len[1]) != 0 || store_repl_apply(st, recs.seq[2],
	    recs.body[2], recs.len[2]) != 0 || store_repl_flush(st) != 0)
		_exit(6);
	_exit(5);
}

/*
 * A child process opens the standby's store in dir (synced, as storaged
 * has it) and takes the primary's records 0 to 2; record 1 comes first
 * with a body it cannot apply (naming a database it lacks; in life an
 * apply that fails on a full map or a failing disk) while the disk fails
 * every flush, so the checkpoint after the failed apply fails too; then
 * the disk is well again, and records 1 and 2 come as the primary sends
 * them again. Returns the child's exit status: 1 when it exited at the
 * failed checkpoint (fatalx), 5 when it went on and acknowledged them.
 */
static int
refused_record(const char *dir)
{
	return fix_in_child(dir, STORE_F_STANDBY, refused_child, NULL);
}

/*
 * A record the standby wrote to its log and could not apply, when the
 * checkpoint that would start the log again behind it fails: the standby
 * exits, the record's header zeroed, and a restart replays what came
 * before and takes the stream from there. It went on before, appending
 * the primary's records after the one it had refused: a restart stopped
 * at that record, which it could not apply ("records are missing" for
 * the acknowledged ones behind it), or, had it applied it, at the copy
 * that followed with the same seq.
 */
static void
test_refused_record(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128];
	struct store *s;
	size_t i;
	int status;

	/* The standby begins from the primary's snapshot. */
	s = standby_open(sdir);
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_int_equal(store_swap(s, snap), 0);
	store_close(s);
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "a", "one");
	write_one(p->st, "a", "two");
	write_one(p->st, "b", "three");
	assert_int_equal(recs.n, 3);

	status = refused_record(sdir);
	/* The restart: what came before the refused record, and the stream. */
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY));
	assert_int_equal(status, 1);
	assert_int_equal(store_seq(s), recs.seq[0]);
	for (i = 1; i < recs.n; i++)
		assert_int_equal(store_repl_apply(s, recs.seq[i], recs.body[i],
		    recs.len[i]), 0);
	assert_int_equal(store_repl_flush(s), 0);
	store_close(s);
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY));
	assert_int_equal(store_seq(s), store_seq(p->st));
	assert_int_equal(stats(s).messages, 3);

	store_close(s);
	rm_env(sdir);
	recs_free();
	fix_free(p);
}

/*
 * test_refused_waiting's child: record 0 taken and flushed (acknowledged),
 * record 1 taken (its flush waits for the read's end), then record 2 with
 * a body it cannot apply while the map is full (the checkpoint stalls,
 * the standby stays up) and the flush of the zeros over it fails. Exit
 * status 5: the read's flush (store_repl_flush) refused; 6: it succeeded,
 * and repl.c acknowledged record 1.
 */
static void
waiting_child(struct store *st, void *arg)
{
	uint8_t *bad;

	(void)arg;
	if (store_repl_apply(st, recs.seq[0], recs.body[0],
	    recs.len[0]) != 0 || store_repl_flush(st) != 0 ||
	    store_repl_apply(st, recs.seq[1], recs.body[1], recs.len[1]) != 0 ||
	    (bad = malloc(recs.len[2])) == NULL)
		_exit(3);
	memcpy(bad, recs.body[2], recs.len[2]);
	bad[1] = 0xff;		/* its first effect's database */
	full_map = 1;
	fail_syncs = 1;
	if (store_repl_apply(st, recs.seq[2], bad, recs.len[2]) != -1 ||
	    fail_syncs != 0 || store_stalled(st) == NULL)
		_exit(4);
	_exit(store_repl_flush(st) == 0 ? 6 : 5);
}

/*
 * The standby's records of one read wait for its flush when a record
 * after them cannot be applied, the checkpoint stalls for want of room
 * and the flush of the zeros over that record fails: the read's flush
 * fails too (repl.c exits on it), never acknowledging them. It answered
 * 0 before (Linux says a writeback error once), and the standby
 * acknowledged a record whose pages the kernel may have dropped. The
 * restart has what the disk kept (here: records 0 and 1), never the
 * refused record, and takes the stream from there.
 */
static void
test_refused_waiting(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128];
	struct store *s;
	int status;

	(void)state;
	s = standby_open(sdir);
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_int_equal(store_swap(s, snap), 0);
	store_close(s);
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "a", "one");
	write_one(p->st, "a", "two");
	write_one(p->st, "b", "three");
	assert_int_equal(recs.n, 3);

	status = fix_in_child(sdir, STORE_F_STANDBY, waiting_child, NULL);
	assert_int_equal(status, 5);
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY));
	assert_int_equal(store_seq(s), recs.seq[1]);
	assert_int_equal(store_repl_apply(s, recs.seq[2], recs.body[2],
	    recs.len[2]), 0);
	assert_int_equal(store_repl_flush(s), 0);
	assert_int_equal(stats(s).messages, 3);

	store_close(s);
	rm_env(sdir);
	recs_free();
	fix_free(p);
}

/* crashed_child: a record, its digest into the file arg, no checkpoint. */
static void
crashed_child(struct store *st, void *arg)
{
	FILE *f;

	store_digest_on(st);
	write_one(st, "z", "not checkpointed");
	if ((f = fopen(arg, "wb")) == NULL || fwrite(store_digest(st), 1,
	    STORE_DIGEST_LEN, f) != STORE_DIGEST_LEN || fclose(f) != 0)
		_exit(3);
	_exit(0);
}

/* The digest of the store of dir after a crash's replay equals what it was. */
static void
digest_replayed(const char *dir)
{
	uint8_t d[STORE_DIGEST_LEN];
	char path[128];
	struct store *st;
	FILE *f;

	snprintf(path, sizeof(path), "%s.digest", dir);
	assert_int_equal(fix_in_child(dir, STORE_F_NOSYNC, crashed_child,
	    path), 0);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fread(d, 1, sizeof(d), f), sizeof(d));
	fclose(f);
	unlink(path);
	assert_non_null(st = store_open(dir, 64, STORE_F_NOSYNC));
	assert_memory_equal(store_digest(st), d, sizeof(d));
	store_close(st);
}

/*
 * The resume decision (store_repl_resumable, as repl.c's ST_REPL_START
 * asks it). A standby with the primary's records resumes, at the
 * primary's last record or from the backlog (the digest kept before the
 * next record), also after both reopen and after a crash's replay. A
 * primary restored from an older backup, in the same term, that then
 * wrote other records up to and past the standby's last: the standby's
 * last record number is the primary's and its term too, but not its
 * records, so it takes a snapshot (it resumed before: only the term and
 * the number were compared). Data whose digest is unknown (from before
 * it was kept) never resumes either; a snapshot gives the standby the
 * primary's digest.
 */
static void
test_resume_digest(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128], bk[128];
	char rdir[64] = "/tmp/parley-repl-r-XXXXXX", path[128];
	uint8_t at_backup[STORE_DIGEST_LEN];
	struct store *s = standby_open(sdir), *r;
	const char *why;
	uint64_t bseq, slast;
	size_t i;

	assert_int_equal(store_set_term(p->st, 1), 0);
	/* A primary with a standby chains its records (repl.c's). */
	store_digest_on(p->st);
	write_one(p->st, "a", "one");
	/* A new standby: another term, another digest. */
	assert_int_equal(store_repl_resumable(p->st, store_term(s),
	    store_seq(s), store_digest(s), NULL, &why), 0);
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_int_equal(store_swap(s, snap), 0);
	assert_memory_equal(store_digest(s), store_digest(p->st),
	    STORE_DIGEST_LEN);
	assert_int_equal(store_repl_resumable(p->st, 1, store_seq(s),
	    store_digest(s), NULL, &why), 1);

	/* The stream: the digest before each record is the standby's. */
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "a", "two");
	write_one(p->st, "b", "three");
	for (i = 0; i < recs.n; i++) {
		assert_memory_equal(recs.pre[i], store_digest(s),
		    STORE_DIGEST_LEN);
		assert_int_equal(store_repl_apply(s, recs.seq[i], recs.body[i],
		    recs.len[i]), 0);
	}
	assert_memory_equal(store_digest(s), store_digest(p->st),
	    STORE_DIGEST_LEN);
	store_close(s);
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY |
	    STORE_F_NOSYNC));
	fix_reopen(p);
	store_digest_on(p->st);
	assert_int_equal(store_repl_resumable(p->st, 1, store_seq(s),
	    store_digest(s), NULL, &why), 1);

	/* A backup; then a record the standby gets and the backup lacks. */
	snprintf(bk, sizeof(bk), "%s/backup.mdb", p->dir);
	copy_to(p->st, bk);
	recs_free();
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "z", "again");
	write_one(p->st, "c", "only on the old primary");
	bseq = recs.seq[0] - 1;
	for (i = 0; i < recs.n; i++)
		assert_int_equal(store_repl_apply(s, recs.seq[i], recs.body[i],
		    recs.len[i]), 0);
	memcpy(at_backup, recs.pre[0], sizeof(at_backup));
	slast = store_seq(s);
	assert_int_equal(slast, store_seq(p->st));

	/* The primary restored from the backup: its term, fewer records. */
	assert_non_null(mkdtemp(rdir));
	snprintf(path, sizeof(path), "%s/data.mdb", rdir);
	assert_int_equal(rename(bk, path), 0);
	assert_non_null(r = store_open(rdir, 64, STORE_F_NOSYNC));
	store_set_clock(r, fake_clock);
	store_digest_on(r);
	assert_int_equal(store_seq(r), bseq);
	assert_int_equal(store_term(r), 1);
	assert_memory_equal(store_digest(r), at_backup, STORE_DIGEST_LEN);
	recs_free();
	store_on_record(r, capture, NULL);
	for (i = 0; store_seq(r) <= slast; i++)
		write_one(r, "d", "written after the restore");
	/* Its backlog: the record after the standby's last, and its digest. */
	assert_int_equal(recs.seq[slast - bseq], slast + 1);
	assert_int_equal(store_repl_resumable(r, 1, slast, store_digest(s),
	    recs.pre[slast - bseq], &why), 0);
	assert_non_null(strstr(why, "digest"));
	/* At its own last record too, and short of the backlog. */
	assert_int_equal(store_repl_resumable(r, 1, slast, store_digest(s),
	    NULL, &why), 0);
	/* A standby at the backup's record is the same history: it resumes. */
	assert_int_equal(store_repl_resumable(r, 1, bseq, at_backup,
	    recs.pre[0], &why), 1);
	assert_int_equal(store_repl_resumable(r, 2, bseq, at_backup,
	    recs.pre[0], &why), 0);

	/* The standby's data from before the digest was kept: a snapshot. */
	store_close(s);
	meta_key_gone(sdir, "wal_digest");
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY |
	    STORE_F_NOSYNC));
	assert_int_equal(store_seq(s), slast);
	assert_int_equal(store_repl_resumable(p->st, 1, slast,
	    store_digest(s), NULL, &why), 0);
	/* Once made, it is kept: a reopen has the same. */
	memcpy(at_backup, store_digest(s), sizeof(at_backup));
	store_close(s);
	assert_non_null(s = store_open(sdir, 64, STORE_F_STANDBY |
	    STORE_F_NOSYNC));
	assert_memory_equal(store_digest(s), at_backup, STORE_DIGEST_LEN);
	/* A snapshot of the restored primary: its digest. */
	copy_to(r, snap);
	assert_int_equal(store_swap(s, snap), 0);
	assert_int_equal(store_repl_resumable(r, 1, store_seq(s),
	    store_digest(s), NULL, &why), 1);

	/* A crash's replay has the digest it had (the child opens it). */
	store_close(r);
	digest_replayed(rdir);

	store_close(s);
	rm_env(sdir);
	rm_env(rdir);
	recs_free();
	fix_free(p);
}

/*
 * A primary that chains nothing (no standby expected nor seen: a
 * single-host install pays nothing for the digest): its history is
 * unknown after a record, no resume, until a checkpoint gives it a new
 * one, which a snapshot then carries.
 */
static void
test_digest_off(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128];
	uint8_t before[STORE_DIGEST_LEN];
	struct store *s = standby_open(sdir);
	const char *why;

	assert_int_equal(store_set_term(p->st, 1), 0);
	memcpy(before, store_digest(p->st), sizeof(before));
	write_one(p->st, "a", "one");
	assert_memory_equal(store_digest(p->st), before, sizeof(before));
	assert_int_equal(store_repl_resumable(p->st, 1, store_seq(p->st),
	    store_digest(p->st), NULL, &why), 0);
	assert_non_null(strstr(why, "no digest"));
	/* A standby arrives: a snapshot, its checkpoint a new history. */
	store_digest_on(p->st);
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_memory_not_equal(store_digest(p->st), before, sizeof(before));
	assert_int_equal(store_swap(s, snap), 0);
	assert_int_equal(store_repl_resumable(p->st, 1, store_seq(s),
	    store_digest(s), NULL, &why), 1);
	recs_free();
	store_on_record(p->st, capture, NULL);
	write_one(p->st, "b", "two");
	assert_int_equal(store_repl_apply(s, recs.seq[0], recs.body[0],
	    recs.len[0]), 0);
	assert_memory_equal(store_digest(s), store_digest(p->st),
	    STORE_DIGEST_LEN);
	store_close(s);
	rm_env(sdir);
	recs_free();
	fix_free(p);
}

/*
 * A standby on PARLEY_SYNC=interval (STORE_F_NOSYNC) flushes the records
 * it applied before it says it holds them, as one on full does: a
 * primary on `replica` counts its acknowledgement as on its disk. Its
 * flush, failing (EIO), fails store_repl_flush; until 2026-12-06 it
 * answered 0 without a flush, the records in the page cache alone.
 */
static void
test_standby_interval_flushes(void **state)
{
	struct fix *p = fix_new("/tmp/parley-repl-p-XXXXXX");
	char sdir[64] = "/tmp/parley-repl-s-XXXXXX", snap[128];
	struct store *s = standby_open(sdir);
	size_t i, first;

	store_on_record(p->st, capture, NULL);
	snprintf(snap, sizeof(snap), "%s/snapshot.mdb.part", sdir);
	copy_to(p->st, snap);
	assert_int_equal(store_swap(s, snap), 0);
	first = recs.n;
	write_one(p->st, "a", "one");
	write_one(p->st, "a", "two");
	for (i = first; i < recs.n; i++)
		assert_int_equal(store_repl_apply(s, recs.seq[i], recs.body[i],
		    recs.len[i]), 0);
	fail_syncs = 1;
	assert_int_equal(store_repl_flush(s), -1);
	assert_int_equal(fail_syncs, 0);	/* the flush was tried */
	fail_syncs = 0;
	store_close(s);
	rm_env(sdir);
	recs_free();
	fix_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_and_snapshot),
		cmocka_unit_test(test_refused_record),
		cmocka_unit_test(test_refused_waiting),
		cmocka_unit_test(test_resume_digest),
		cmocka_unit_test(test_digest_off),
		cmocka_unit_test(test_standby_interval_flushes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
