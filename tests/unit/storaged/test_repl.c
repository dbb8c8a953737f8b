/*
 * Unit tests: replication's half in the store (store.h, issue 25). A
 * primary's records, as store_on_record hands them over, applied to a
 * standby's store (store_repl_apply): a gap refused, a record held
 * already skipped; a snapshot (store_backup's copy) swapped in with
 * store_swap, then the records after it; the term in meta, across the
 * stream and a reopen; a standby opened with STORE_F_STANDBY writes
 * nothing of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>

#include "test_fixture.h"

#define MAXREC	64

/* What store_on_record told, copied. */
static struct {
	uint64_t seq[MAXREC];
	uint8_t *body[MAXREC];
	size_t len[MAXREC];
	size_t n;
} recs;

static void
capture(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
	assert_non_null(body);
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
	assert_int_equal(store_msg_append(&t, &m, &after), 0);
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
	int fd;

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
	assert_int_equal(store_checkpoint(p->st), 0);
	assert_true((fd = open(snap, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(store_backup(p->st, fd), 0);
	close(fd);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_and_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
