/*
 * What storaged's unit tests share: a store in a fresh temporary
 * directory on a fake clock, requests run through dispatch_one() as the
 * daemon runs them, and decoders for the replies. Include after
 * <cmocka.h>.
 */
#ifndef PARLEY_TEST_FIXTURE_H
#define PARLEY_TEST_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "dispatch.h"
#include "log.h"
#include "proto.h"
#include "ratelimit.h"
#include "record.h"
#include "stmsgs.h"
#include "store.h"
#include "storaged.h"
#include "storemsg.h"
#include "wsess.h"

#define T0	1700000000000ull

/* The store's wall clock: tests move it by hand. */
static uint64_t fake_now = T0;

static inline uint64_t
fake_clock(void)
{
	return fake_now;
}

/*
 * A delivery's or a mail's id as versions before opaque ids spelled it:
 * prefix, then seq in 16 lowercase hex (out: strlen(prefix) + 17 bytes).
 */
static inline void
fix_old_seq_id(const char *prefix, uint64_t seq, char *out)
{
	size_t n = strlen(prefix);
	uint8_t b[8];

	proto_put_be64(b, seq);
	memcpy(out, prefix, n);
	proto_hex_encode(b, sizeof(b), out + n);
}

struct fix {
	char dir[64];
	struct store *st;
	struct ratelimit *rl;	/* rate counters, if the test wants them */
};

/* A store in a fresh directory made from tmpl ("/tmp/name-XXXXXX"). */
static inline struct fix *
fix_new(const char *tmpl)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strlcpy(f->dir, tmpl, sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	f->st = store_open(f->dir, 64, STORE_F_NOSYNC);
	assert_non_null(f->st);
	fake_now = T0;
	store_set_clock(f->st, fake_clock);
	return f;
}

/* The rate counters' monotonic clock, in ms: tests move it by hand. */
#define M0	5000000ll

static long long fake_mono = M0;

static inline long long
fake_mono_clock(void)
{
	return fake_mono;
}

/* fix_new() with rate counters on the fake monotonic clock. */
static inline struct fix *
fix_new_rl(const char *tmpl)
{
	struct fix *f = fix_new(tmpl);

	fake_mono = M0;
	f->rl = ratelimit_new(1000);
	assert_non_null(f->rl);
	ratelimit_set_clock(f->rl, fake_mono_clock);
	return f;
}

/*
 * A cmocka setup: the fixture (with rate counters if rl) as *state,
 * only warnings and worse logged. fix_teardown() undoes it.
 */
static inline int
fix_setup(void **state, const char *tmpl, int rl)
{
	*state = rl ? fix_new_rl(tmpl) : fix_new(tmpl);
	log_set_level(LOG_LEVEL_WARN);
	return 0;
}

/* The sweeper's steps (2 items, 1 s of budget each) until none is left,
 * at most 50. */
static inline void
fix_sweep_all(struct fix *f)
{
	struct store_sweep o;
	int steps = 0;

	do
		assert_int_equal(sweep_step(f->st, 2, 1000000, &o), 0);
	while (o.more && ++steps < 50);
	assert_false(o.more);
}

/* Closes and opens the store again on the same directory, its map mb MiB. */
static inline void
fix_reopen_map(struct fix *f, size_t mb)
{
	store_close(f->st);
	f->st = store_open(f->dir, mb, STORE_F_NOSYNC);
	assert_non_null(f->st);
	store_set_clock(f->st, fake_clock);
}

/* The same with the tests' map of 64 MiB. */
static inline void
fix_reopen(struct fix *f)
{
	fix_reopen_map(f, 64);
}

/* meta's key deleted from dir's data.mdb behind the store's back. */
static inline void
meta_key_gone(const char *dir, const char *key)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 128), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Removes a store: LMDB's two files and the log, then the directory. */
static inline void
rm_env(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "wal.log" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/*
 * The store closed and its environment open in *env, to read or change
 * behind its back; fix_reopen() after mdb_env_close().
 */
static inline void
env_open(struct fix *f, MDB_env **env)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 128), 0);
	assert_int_equal(mdb_env_open(*env, f->dir, 0, 0600), 0);
}

/* Every named database's entries (fix_counts_take). */
#define FIX_DBS_MAX	128
struct counts {
	size_t n;
	char name[FIX_DBS_MAX][32];
	size_t entries[FIX_DBS_MAX];
};

/* The store closed, each database's entries counted, then opened again (mb). */
static inline void
fix_counts_take(struct fix *f, struct counts *c, size_t mb)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi main, dbi;
	MDB_val k, v;
	MDB_stat ms;
	int rc;

	memset(c, 0, sizeof(*c));
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main), 0);
	assert_int_equal(mdb_cursor_open(txn, main, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_true(c->n < FIX_DBS_MAX && k.mv_size < 32);
		memcpy(c->name[c->n], k.mv_data, k.mv_size);
		assert_int_equal(mdb_dbi_open(txn, c->name[c->n], 0, &dbi), 0);
		assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
		c->entries[c->n++] = ms.ms_entries;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen_map(f, mb);
}

/* The entries of database name in c (a failure when there is none). */
static inline size_t
count_in(const struct counts *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->entries[i];
	fail_msg("no database %s", name);
	return 0;
}

/* The same databases, each with a's entries in b but those named in skip (NULL-ended). */
static inline void
counts_same(const struct counts *a, const struct counts *b,
    const char *const *skip)
{
	size_t i, j;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		for (j = 0; skip[j] != NULL; j++)
			if (strcmp(skip[j], a->name[i]) == 0)
				break;
		if (skip[j] != NULL)
			continue;
		if (count_in(b, a->name[i]) != a->entries[i])
			fail_msg("%s: %zu entries, %zu before", a->name[i],
			    count_in(b, a->name[i]), a->entries[i]);
	}
}

/* Entries of a named database. */
static inline size_t
db_entries(struct fix *f, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen(f);
	return ms.ms_entries;
}

/*
 * The store of dir (store_open's flags) opened in a child process, its
 * log quiet, and given to fn with arg; fn ends the child with an exit
 * status of its own (returning from it: 0). Returns that status, 2 when
 * the store did not open, -1 when a signal ended the child. For what must
 * exit (fatalx) or leave a store as a crash would.
 */
static inline int
fix_in_child(const char *dir, int flags,
    void (*fn)(struct store *, void *), void *arg)
{
	struct store *st;
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		if ((st = store_open(dir, 64, flags)) == NULL)
			_exit(2);
		log_set_level(LOG_LEVEL_FATAL + 1);
		fn(st, arg);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Databases d1 and d2 (NULL: d1 alone) emptied behind the store's back,
 * and meta's mark (NULL: none) deleted, then it opens again.
 */
static inline void
db_empty_unmarked(struct fix *f, const char *d1, const char *d2,
    const char *mark)
{
	const char *dbs[2] = { d1, d2 };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k;
	int i;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (i = 0; i < 2 && dbs[i] != NULL; i++) {
		assert_int_equal(mdb_dbi_open(txn, dbs[i], 0, &dbi), 0);
		assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	}
	if (mark != NULL) {
		assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
		k.mv_size = strlen(mark);
		k.mv_data = (void *)(uintptr_t)mark;
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

/* Databases d1 and d2 (NULL: d1 alone) emptied, then it opens again. */
static inline void
db_empty(struct fix *f, const char *d1, const char *d2)
{
	db_empty_unmarked(f, d1, d2, NULL);
}

/*
 * An index (db) emptied and its meta mark gone behind the store's back
 * (a data directory from before the index), then the store opened again:
 * it fills the index at open.
 */
static inline void
fix_index_unfilled(struct fix *f, const char *db, const char *mark)
{
	db_empty_unmarked(f, db, NULL, mark);
}

static inline void
fix_free(struct fix *f)
{
	ratelimit_free(f->rl);
	store_close(f->st);
	rm_env(f->dir);
	free(f);
}

static inline int
fix_teardown(void **state)
{
	fix_free(*state);
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

/*
 * Runs one request (and frees req). The error code, or 0 with the reply
 * in *r; either way r is for dreply_free().
 */
static inline int
request(struct fix *f, uint16_t type, struct penc *req, struct dreply *r)
{
	assert_int_equal(req->err, 0);
	dispatch_one(f->st, f->rl, type, req->buf, req->len, r);
	penc_free(req);
	if (r->err == 0)
		assert_true(r->enc.len <= PROTO_MAX_PAYLOAD);
	else
		assert_non_null(r->errmsg);
	return r->err;
}

/* request() of a request struct, encoded by the message table. */
static inline int
request_st(struct fix *f, uint16_t type, const void *req, struct dreply *r)
{
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_req_encode(&e, type, req), 0);
	return request(f, type, &e, r);
}

/*
 * request_st() with its reply decoded exactly by the table into rep
 * (when 0; free with st_rep_free): the error code.
 */
static inline int
request_dec(struct fix *f, uint16_t type, const void *req, void *rep)
{
	struct dreply r;
	int err;

	if ((err = request_st(f, type, req, &r)) == 0)
		assert_int_equal(st_rep_decode(type, r.enc.buf, r.enc.len,
		    rep), 0);
	dreply_free(&r);
	return err;
}

/* A new conversation of the default organisation (a free widget name): id. */
static inline void
fix_conv_new(struct fix *f, const char *session, char id[ST_ID_HEX + 1])
{
	struct st_conv_open_rep rep;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_OPEN,
	    &(struct st_conv_open_req){ "w", session }, &rep), 0);
	strlcpy(id, rep.conv.id, ST_ID_HEX + 1);
	st_conv_free(&rep.conv);
}

/*
 * Conversation id as ST_CONV_GET reads it (storaged's view: a lapsed
 * snooze opens), into *out (st_conv_free it): what a begin's or an
 * append's reply does not carry whole.
 */
static inline void
fix_conv_get(struct fix *f, const char *id, struct st_conv *out)
{
	struct st_conv_msgs cm;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ id, 0 }, &cm), 0);
	*out = cm.conv;
	memset(&cm.conv, 0, sizeof(cm.conv));
	st_rep_free(PROTO_ST_CONV_GET, &cm);
}

/*
 * What a begin's reply says of its conversation (ST_CHAT_BEGIN's and
 * ST_WS_BEGIN's, after created): its id, into id, and the visitor's
 * language, into lang ("" when told none).
 */
static inline void
fix_dec_begin_conv(struct pdec *d, char id[ST_ID_HEX + 1],
    char lang[ST_VISITOR_LANG_MAX + 1])
{
	pdec_strbuf(d, id, ST_ID_HEX + 1);
	assert_true(st_id_valid(id));
	pdec_strbuf(d, lang, ST_VISITOR_LANG_MAX + 1);
}

/* A widget named name, the rest defaults, as stored into *out. */
static inline void
fix_widget_new(struct fix *f, const char *name, struct st_widget *out)
{
	struct st_widget in;

	st_widget_defaults(&in);
	in.name = strdup(name);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_CREATE, &in, out), 0);
	st_widget_free(&in);
}

/* fix_widget_new's widget: its public id, visitors' own, into wid. */
static inline void
fix_widget_wid(struct fix *f, const char *name, char wid[ST_WID_ARG_MAX + 1])
{
	struct st_widget w;

	fix_widget_new(f, name, &w);
	strlcpy(wid, w.widget_id, ST_WID_ARG_MAX + 1);
	st_widget_free(&w);
}

/* fix_turns_end's gathering of the turns open. */
struct fix_turns {
	char conv[64][ST_ID_HEX + 1];
	size_t n;
};

static inline void
fix_turn_note(const char *conv, const char *msg, void *arg)
{
	struct fix_turns *ft = arg;

	(void)msg;
	assert_true(ft->n < 64);
	strlcpy(ft->conv[ft->n++], conv, sizeof(ft->conv[0]));
}

/*
 * Every model turn open ended, as its reply ends it, no message stored:
 * for tests of something else that begin turn after turn in a
 * conversation with no reply between, which a conversation's one turn at
 * a time refuses (store_turn_holds).
 */
static inline void
fix_turns_end(struct fix *f)
{
	struct fix_turns ft = { .n = 0 };
	struct store_txn t;
	size_t i;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_turns_open(&t, fix_turn_note, &ft), 0);
	for (i = 0; i < ft.n; i++)
		store_turn_closed(&t, ft.conv[i], NULL);
	assert_int_equal(store_commit(&t), 0);
}

/* As fix_ws_turn, its conversation's id into id (when not NULL). */
static inline void
fix_ws_turn_id(struct fix *f, const char *wid, uint8_t tb,
    const char *content, char id[ST_ID_HEX + 1])
{
	struct st_ws_begin_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .content = content,
	    .rate_key = "", .window_ms = 60000, .history_max = 20,
	    .create = 1 };
	struct st_begin_rep rep;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_BEGIN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	if (id != NULL)
		strlcpy(id, rep.ok.conv_id, ST_ID_HEX + 1);
	st_rep_free(PROTO_ST_WS_BEGIN, &rep);
	fix_turns_end(f);	/* as its reply would */
}

/* Visitor tb's chat turn saying content (its session made if new). */
static inline void
fix_ws_turn(struct fix *f, const char *wid, uint8_t tb, const char *content)
{
	fix_ws_turn_id(f, wid, tb, content, NULL);
}

/* Visitor tb's contact submission: the contact's id into id. */
static inline void
fix_contact_submit(struct fix *f, const char *wid, uint8_t tb,
    const char *name, const char *email, const char *phone,
    char id[ST_ID_HEX + 1])
{
	struct st_contact_submit_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .name = name, .email = email,
	    .phone = phone, .rate_key = "", .window_ms = 60000, .create = 1 };
	struct st_contact_submit_rep rep;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SUBMIT, &q, &rep),
	    0);
	assert_int_equal(rep.result, ST_WS_OK);
	strlcpy(id, rep.contact.id, ST_ID_HEX + 1);
	st_rep_free(PROTO_ST_CONTACT_SUBMIT, &rep);
}

/* request() for its error code alone. */
static inline int
request_err(struct fix *f, uint16_t type, struct penc *req)
{
	struct dreply r;
	int err;

	err = request(f, type, req, &r);
	dreply_free(&r);
	return err;
}

/* request_st() for its error code alone. */
static inline int
request_st_err(struct fix *f, uint16_t type, const void *req)
{
	struct dreply r;
	int err;

	err = request_st(f, type, req, &r);
	dreply_free(&r);
	return err;
}

/*
 * A list request (ST_CONV_LIST, ST_CONTACT_LIST): its error code, or 0
 * with u64 total, u32 n (at most limit), n items that dec() reads into
 * items (size bytes each) and the next cursor.
 */
static inline int
request_list(struct fix *f, uint16_t type, uint32_t limit,
    const char *cursor, uint64_t *total, uint32_t *n, void *items,
    size_t size, int (*dec)(struct pdec *, void *),
    char next[ST_CURSOR_MAX + 1])
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint32_t i;
	int err;

	*n = 0;
	penc_init(&e);
	penc_u32(&e, limit);
	penc_str(&e, cursor);
	if ((err = request(f, type, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		*total = pdec_u64(&d);
		*n = pdec_u32(&d);
		assert_true(*n <= limit);
		for (i = 0; i < *n; i++)
			assert_int_equal(dec(&d, (char *)items + i * size), 0);
		pdec_strbuf(&d, next, ST_CURSOR_MAX + 1);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/* A raw request payload: the error code. */
static inline int
request_raw(struct fix *f, uint16_t type, const void *p, size_t len)
{
	struct dreply r;
	int err;

	dispatch_one(f->st, f->rl, type, p, len, &r);
	err = r.err;
	if (err != 0)
		assert_non_null(r.errmsg);
	dreply_free(&r);
	return err;
}

/* An ST_MSG_APPEND payload. */
static inline void
append_payload(struct penc *e, const char *conv_id, const char *role,
    const char *content, const char *status, uint32_t ptok, uint32_t ctok)
{
	/* By hand: the tests send what the encoder would refuse, too. */
	penc_init(e);
	penc_str(e, conv_id);
	penc_str(e, role);
	penc_str(e, content);
	penc_str(e, status);
	penc_u32(e, ptok);
	penc_u32(e, ctok);
	penc_u32(e, 0);		/* no sources */
	penc_u8(e, ST_MSG_KB_NONE);
	penc_u32(e, 0);		/* no tools */
	penc_str(e, "");	/* no cited passages */
	penc_str(e, "");	/* no question named: the open turn's */
}

/* A conversation with its messages (ST_CONV_GET, ST_SESSION_HISTORY). */
struct thread {
	int found;		/* ST_SESSION_HISTORY */
	struct st_conv conv;
	uint32_t n;
	struct st_msg *msgs;
	int truncated;		/* older messages left out */
	size_t reply_len;
};

/* conv, u32 n, n x msg */
static inline void
thread_decode(struct pdec *d, struct thread *t)
{
	uint32_t i;

	assert_int_equal(pdec_conv(d, &t->conv), 0);
	t->n = pdec_u32(d);
	assert_true(t->n < 100000);
	t->msgs = calloc(t->n + 1, sizeof(*t->msgs));
	assert_non_null(t->msgs);
	for (i = 0; i < t->n; i++)
		assert_int_equal(pdec_msg(d, &t->msgs[i]), 0);
}

static inline void
thread_free(struct thread *t)
{
	uint32_t i;

	st_conv_free(&t->conv);
	for (i = 0; i < t->n; i++)
		st_msg_free(&t->msgs[i]);
	free(t->msgs);
	memset(t, 0, sizeof(*t));
}

/* t holds n messages, with these contents in order. */
static inline void
thread_is(const struct thread *t, uint32_t n, ...)
{
	va_list ap;
	uint32_t i;

	assert_int_equal(t->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(t->msgs[i].content,
		    va_arg(ap, const char *));
	va_end(ap);
}

static inline char *
repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* ------------------------------------------- records behind the store */

/*
 * Every record of db replaced by what rewrite(v, e) writes into e (a new
 * encoding, its version byte first); at least one record.
 */
static inline void
db_rewrite(struct fix *f, const char *db,
    void (*rewrite)(const MDB_val *, struct penc *))
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, nv;
	struct penc e;
	uint8_t kbuf[512];
	size_t n = 0;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		penc_init(&e);
		rewrite(&v, &e);
		nv.mv_size = e.len;
		nv.mv_data = e.buf;
		/* k points into the page the put changes: a copy of it. */
		assert_true(k.mv_size <= sizeof(kbuf));
		memcpy(kbuf, k.mv_data, k.mv_size);
		k.mv_data = kbuf;
		assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
		penc_free(&e);
		n++;
	}
	assert_true(n > 0);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

/* db_cut's: the version it cuts from, the bytes, their expected value. */
static struct {
	uint8_t ver;
	size_t cut;
	const uint8_t *tail;
} cut_arg;

static inline void
cut_one(const MDB_val *v, struct penc *e)
{
	const uint8_t *p = v->mv_data;
	size_t i;

	assert_int_equal(p[0], cut_arg.ver);
	for (i = v->mv_size - cut_arg.cut; i < v->mv_size; i++)
		assert_int_equal(p[i], cut_arg.tail != NULL ?
		    cut_arg.tail[i - (v->mv_size - cut_arg.cut)] : 0);
	penc_u8(e, cut_arg.ver - 1);
	penc_raw(e, p + 1, v->mv_size - 1 - cut_arg.cut);
}

/*
 * Rewrites every record of db from format ver to format ver - 1: its last
 * cut bytes (the newer format's fields: tail, or all zero when NULL) go.
 */
static inline void
db_cut(struct fix *f, const char *db, uint8_t ver, size_t cut,
    const uint8_t *tail)
{
	cut_arg.ver = ver;
	cut_arg.cut = cut;
	cut_arg.tail = tail;
	db_rewrite(f, db, cut_one);
}

/*
 * A new widget record's issue 26 fields (format 6): no starters, no
 * proactive message, a 10 s delay, no path, no language, not required,
 * no secret, no sound or title, thumbs on, no rating.
 */
#define WIDGET_V6_TAIL	"\0\0\0\0" "\0\0\0\0" "\0\0\0\12" "\0\0\0\0" \
			"\0\0\0\0" "\0" "\0\0\0\0" "\0\0\1\0"

/* db_layout_to's: the record's layout and the format it writes. */
static struct {
	const struct rlayout *l;
	int ver;
} layout_arg;

static inline void
layout_one(const MDB_val *v, struct penc *e)
{
	const uint8_t *p = v->mv_data;
	struct pdec d;
	void *rec;

	assert_non_null(rec = calloc(1, layout_arg.l->size));
	pdec_init(&d, p + 1, v->mv_size - 1);
	assert_int_equal(rl_dec(&d, layout_arg.l, rec, p[0]), 0);
	assert_int_equal(pdec_done(&d), 0);
	penc_u8(e, (uint8_t)layout_arg.ver);
	rl_enc_as(e, layout_arg.l, rec, layout_arg.ver);
	rl_free(layout_arg.l, rec);
	free(rec);
}

/*
 * Rewrites every record of db, a record with rows (layout l), as format
 * ver: the rows newer than it go, whatever the newest format is.
 */
static inline void
db_layout_to(struct fix *f, const char *db, const struct rlayout *l,
    int ver)
{
	layout_arg.l = l;
	layout_arg.ver = ver;
	db_rewrite(f, db, layout_one);
}

/* db_cut of fields that were zero (an empty str, a u8 0, ...). */
static inline void
db_to_older(struct fix *f, const char *db, uint8_t ver, size_t cut)
{
	db_cut(f, db, ver, cut, NULL);
}

/* Every conversation written again as format 5 (issue 24's and 26's rows go). */
static inline void
convs_to_v5(struct fix *f)
{
	db_layout_to(f, "convs", &st_conv_layout, 5);
}

/* A record's last field when it is str org "default" (issue 22's). */
static const uint8_t org_default_tail[] = "\0\0\0\7default";
#define ORG_TAIL_LEN	(sizeof(org_default_tail) - 1)

/*
 * db's value under key (klen bytes): its first size bytes at most into
 * buf; its whole length.
 */
static inline size_t
db_read(struct fix *f, const char *db, const void *key, size_t klen,
    uint8_t *buf, size_t size)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	k.mv_size = klen;
	k.mv_data = (void *)key;
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	memcpy(buf, v.mv_data, v.mv_size < size ? v.mv_size : size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen(f);
	return v.mv_size;
}

/* The first byte of db's record under key. */
static inline uint8_t
db_version(struct fix *f, const char *db, const void *key, size_t klen)
{
	uint8_t ver;

	assert_true(db_read(f, db, key, klen, &ver, 1) >= 1);
	return ver;
}

/* db's value under key (klen bytes) into buf (size bytes at least): its length. */
static inline size_t
db_value(struct fix *f, const char *db, const void *key, size_t klen,
    uint8_t *buf, size_t size)
{
	size_t n = db_read(f, db, key, klen, buf, size);

	assert_true(n <= size);
	return n;
}

/* The len bytes at val as db's value under key (klen bytes), over what was there. */
static inline void
db_write(struct fix *f, const char *db, const void *key, size_t klen,
    const void *val, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	k.mv_size = klen;
	k.mv_data = (void *)key;
	v.mv_size = len;
	v.mv_data = (void *)val;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

#endif
