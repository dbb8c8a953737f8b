/*
 * parleyctl's requests to storaged (proto/ctlmsg.h): ST_PURGE and
 * ST_STATS through the dispatcher, and the backup (store_backup, as the
 * server's backup thread runs it) taken while writes go on.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctlmsg.h"
#include "dashstore.h"
#include "test_fixture.h"

#define DAY	(24ull * 3600000)

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-admin-XXXXXX", 0);
}

/* A conversation of (w, s) with one message, at the fake clock's time. */
static void
conv_at(struct fix *f, const char *w, const char *s, uint64_t at,
    char id[ST_ID_HEX + 1])
{
	struct dreply r;
	struct st_conv c;
	struct penc e;
	struct pdec d;

	fake_now = at;
	penc_init(&e);
	penc_str(&e, w);
	penc_str(&e, s);
	assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	(void)pdec_u8(&d);
	assert_int_equal(pdec_conv(&d, &c), 0);
	dreply_free(&r);
	strlcpy(id, c.id, ST_ID_HEX + 1);
	st_conv_free(&c);
	append_payload(&e, id, "user", "hello", "", 0, 0);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
}

static int
conv_exists(struct fix *f, const char *id)
{
	struct penc e;
	int rc;

	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, 0);
	rc = request_err(f, PROTO_ST_CONV_GET, &e);
	assert_true(rc == 0 || rc == PROTO_E_NOT_FOUND);
	return rc == 0;
}

/* ST_PURGE: the error code, or 0 with *n and *more. */
static int
purge(struct fix *f, uint64_t cutoff, uint32_t max, int dry, uint32_t *n,
    int *more)
{
	struct dreply r;
	struct penc e;
	struct pdec d;
	int rc;

	penc_init(&e);
	penc_u64(&e, cutoff);
	penc_u32(&e, max);
	penc_u8(&e, (uint8_t)dry);
	if ((rc = request(f, PROTO_ST_PURGE, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		*n = pdec_u32(&d);
		*more = pdec_u8(&d);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return rc;
}

static void
stats(struct fix *f, struct st_stats *s)
{
	struct dreply r;
	struct penc e;
	struct pdec d;

	penc_init(&e);
	assert_int_equal(request(f, PROTO_ST_STATS, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_stats(&d, s), 0);
	assert_int_equal(pdec_done(&d), 0);
	dreply_free(&r);
}

static void
test_purge(void **state)
{
	struct fix *f = *state;
	char old[5][ST_ID_HEX + 1], fresh[2][ST_ID_HEX + 1];
	char sess[16];
	struct st_stats s;
	uint32_t n;
	int i, more;

	/* Three old in one widget, two in another; two recent ones. */
	for (i = 0; i < 5; i++) {
		snprintf(sess, sizeof(sess), "old%d", i);
		conv_at(f, i < 3 ? "default" : "w2", sess,
		    T0 - (100 - i) * DAY, old[i]);
	}
	conv_at(f, "default", "new0", T0 - DAY, fresh[0]);
	conv_at(f, "w2", "new1", T0, fresh[1]);
	fake_now = T0;

	/* Bad max; a cutoff nothing is older than. */
	assert_int_equal(purge(f, T0, 0, 0, &n, &more), PROTO_E_INVALID);
	assert_int_equal(purge(f, T0, ST_PURGE_MAX + 1, 0, &n, &more),
	    PROTO_E_INVALID);
	assert_int_equal(purge(f, T0 - 200 * DAY, 10, 0, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);

	/* Dry run: counts all, deletes nothing. */
	assert_int_equal(purge(f, T0 - 30 * DAY, 1, 1, &n, &more), 0);
	assert_int_equal(n, 5);
	assert_false(more);
	for (i = 0; i < 5; i++)
		assert_true(conv_exists(f, old[i]));

	/* In batches of 2: 2, 2 (more each time), then the last one. */
	assert_int_equal(purge(f, T0 - 30 * DAY, 2, 0, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(purge(f, T0 - 30 * DAY, 2, 0, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(purge(f, T0 - 30 * DAY, 2, 0, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_false(more);
	for (i = 0; i < 5; i++)
		assert_false(conv_exists(f, old[i]));
	assert_true(conv_exists(f, fresh[0]));
	assert_true(conv_exists(f, fresh[1]));

	/* As ST_CONV_DELETE: messages and indexes went too. */
	stats(f, &s);
	assert_int_equal(s.conversations, 2);
	assert_int_equal(s.messages, 2);
	assert_int_equal(purge(f, T0 - 30 * DAY, 10, 1, &n, &more), 0);
	assert_int_equal(n, 0);

	/* A session whose conversation went starts a new one. */
	conv_at(f, "default", "old0", T0, old[0]);
	stats(f, &s);
	assert_int_equal(s.conversations, 3);
}

static void
test_purge_malformed(void **state)
{
	struct fix *f = *state;
	struct penc e;

	penc_init(&e);
	penc_u64(&e, T0);
	penc_u32(&e, 10);
	assert_int_equal(request_err(f, PROTO_ST_PURGE, &e), PROTO_E_INVALID);
}

static void
test_stats(void **state)
{
	struct fix *f = *state;
	char id[ST_ID_HEX + 1];
	struct st_stats s;

	conv_at(f, "default", "a", T0, id);
	conv_at(f, "default", "b", T0, id);
	stats(f, &s);
	assert_int_equal(s.conversations, 2);
	assert_int_equal(s.messages, 2);
	assert_int_equal(s.widgets, 1);	/* the default widget */
	assert_int_equal(s.contacts, 0);
	assert_true(s.page_size > 0);
	assert_int_equal(s.map_size, 64ull * 1024 * 1024);
	assert_true(s.file_size > 0);
	assert_true(s.leaf_pages > 0);
	assert_true(s.last_txnid > 0);
}

/* ------------------------------------------------------------ backup */

struct bk {
	struct store *st;
	int fd;
	int rc;
	volatile int done;
};

static void *
bk_thread(void *arg)
{
	struct bk *b = arg;

	b->rc = store_backup(b->st, b->fd);
	b->done = 1;
	return NULL;
}

/* Messages of the conversation in the environment at dir. */
static uint32_t
msgs_in(struct store *st, const char *id)
{
	struct dreply r;
	struct st_conv c;
	struct penc e;
	struct pdec d;
	uint32_t n;

	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, 0);
	assert_int_equal(e.err, 0);
	dispatch_one(st, NULL, PROTO_ST_CONV_GET, e.buf, e.len, &r);
	penc_free(&e);
	if (r.err != 0) {
		dreply_free(&r);
		return 0;
	}
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_conv(&d, &c), 0);
	n = pdec_u32(&d);
	st_conv_free(&c);
	dreply_free(&r);
	return n;
}

/*
 * The must-show at the store's level: a backup taken while another
 * thread keeps committing opens as an environment and holds every
 * message committed before it began.
 */
static void
test_backup_under_writes(void **state)
{
	struct fix *f = *state;
	char ids[40][ST_ID_HEX + 1], dir[64], path[128], sess[16];
	static char big[4000];
	struct penc e;
	struct store *copy;
	struct st_stats s;
	struct bk b;
	pthread_t th;
	int i, j, during = 0;

	memset(big, 'x', sizeof(big) - 1);
	/* Enough data that the copy takes a while. */
	for (i = 0; i < 40; i++) {
		snprintf(sess, sizeof(sess), "s%d", i);
		conv_at(f, "default", sess, T0, ids[i]);
		for (j = 0; j < 50; j++) {
			append_payload(&e, ids[i], "user", big, "", 0, 0);
			assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND,
			    &e), 0);
		}
	}
	strlcpy(dir, "/tmp/parley-restore-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	b.st = f->st;
	b.fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(b.fd >= 0);
	b.done = 0;
	/* As storaged does before a backup: the copy reads LMDB's commit. */
	assert_int_equal(store_checkpoint(f->st), 0);
	assert_int_equal(pthread_create(&th, NULL, bk_thread, &b), 0);
	/* Writes go on while it copies: the loop is never held. */
	for (i = 0; i < 2000 && !b.done; i++) {
		append_payload(&e, ids[i % 40], "assistant", "later", "", 0,
		    0);
		assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
		during++;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(b.rc, 0);
	close(b.fd);

	/* The copy opens, and has the 40 x 51 messages from before. */
	copy = store_open(dir, 64, STORE_F_NOSYNC);
	assert_non_null(copy);
	for (i = 0; i < 40; i++)
		assert_true(msgs_in(copy, ids[i]) >= 51);
	penc_init(&e);
	{
		struct dreply r;
		struct pdec d;

		dispatch_one(copy, NULL, PROTO_ST_STATS, e.buf, e.len, &r);
		assert_int_equal(r.err, 0);
		pdec_init(&d, r.enc.buf, r.enc.len);
		assert_int_equal(pdec_stats(&d, &s), 0);
		dreply_free(&r);
	}
	penc_free(&e);
	assert_int_equal(s.conversations, 40);
	assert_true(s.messages >= 40 * 51);
	assert_true(s.messages <= 40 * 51 + (uint64_t)during);
	store_close(copy);
	rm_env(dir);
}

static void
test_backup_bad_fd(void **state)
{
	struct fix *f = *state;

	/* A read-only descriptor: LMDB's write fails, reported, no crash. */
	int fd = open("/dev/null", O_RDONLY);

	assert_true(fd >= 0);
	assert_int_not_equal(store_backup(f->st, fd), 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_purge, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_purge_malformed, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_backup_under_writes,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_backup_bad_fd, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
