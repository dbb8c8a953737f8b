/*
 * The store and the dispatcher against a real LMDB environment in a fresh
 * temporary directory per test, through the functions the daemon uses.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "log.h"
#include "storeint.h"
#include "test_fixture.h"
#include "test_who.h"

static int
setup(void **state)
{
	*state = fix_new("/tmp/parley-store-XXXXXX");
	return 0;
}

static int
teardown(void **state)
{
	fix_free(*state);
	return 0;
}

/* ------------------------------------------------ requests via dispatch */

static int
do_open(struct fix *f, const char *w, const char *s, struct st_conv *c,
    int *created)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	penc_init(&e);
	penc_str(&e, w);
	penc_str(&e, s);
	if ((err = request(f, PROTO_ST_CONV_OPEN, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		*created = pdec_u8(&d);
		assert_int_equal(pdec_conv(&d, c), 0);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/*
 * ST_MSG_APPEND: storaged's error, or 0 with the message stored and its
 * conversation after read back into m and c (unless m is NULL).
 */
static int
do_append(struct fix *f, const char *conv_id, const char *role,
    const char *content, const char *status, struct st_msg *m,
    struct st_conv *c)
{
	char id[ST_ID_HEX + 1];
	struct st_conv_msgs cm;
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint32_t i;
	int err;

	append_payload(&e, conv_id, role, content, status, 11, 22);
	if ((err = request(f, PROTO_ST_MSG_APPEND, &e, &r)) == 0) {
		/*
		 * The reply is the message's id alone; the message stored, and
		 * its conversation, are read back.
		 */
		pdec_init(&d, r.enc.buf, r.enc.len);
		pdec_strbuf(&d, id, sizeof(id));
		assert_int_equal(pdec_done(&d), 0);
		assert_true(st_id_valid(id));
	}
	if (err == 0 && m != NULL) {
		assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
		    &(struct st_conv_get_req){ conv_id, 0 }, &cm), 0);
		for (i = 0; i < cm.n && strcmp(cm.msgs[i].id, id) != 0; i++)
			;
		assert_true(i < cm.n);
		*m = cm.msgs[i];
		memset(&cm.msgs[i], 0, sizeof(cm.msgs[i]));
		*c = cm.conv;
		memset(&cm.conv, 0, sizeof(cm.conv));
		st_rep_free(PROTO_ST_CONV_GET, &cm);
	}
	dreply_free(&r);
	return err;
}

/* Appends a user message, nothing read back. */
static int
append(struct fix *f, const char *conv_id, const char *content)
{
	return do_append(f, conv_id, "user", content, "", NULL, NULL);
}

static void
open_new(struct fix *f, const char *w, const char *s, struct st_conv *c)
{
	int created;

	assert_int_equal(do_open(f, w, s, c, &created), 0);
	assert_int_equal(created, 1);
}

/* Opens (w, s): whether that made the conversation. */
static int
open_made(struct fix *f, const char *w, const char *s)
{
	struct st_conv c;
	int created;

	assert_int_equal(do_open(f, w, s, &c, &created), 0);
	st_conv_free(&c);
	return created;
}

struct list {
	uint64_t total;
	uint32_t n;
	struct st_conv convs[ST_LIST_MAX];
	char next[ST_CURSOR_MAX + 1];
};

static int
dec_conv(struct pdec *d, void *c)
{
	return pdec_conv(d, c);
}

static int
do_list(struct fix *f, uint32_t limit, const char *cursor, struct list *l)
{
	memset(l, 0, sizeof(*l));
	return request_list(f, PROTO_ST_CONV_LIST, limit, cursor, &l->total,
	    &l->n, l->convs, sizeof(l->convs[0]), dec_conv, l->next);
}

static void
list_free(struct list *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		st_conv_free(&l->convs[i]);
	l->n = 0;
}

static int
do_get(struct fix *f, const char *id, uint32_t max, struct thread *g)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	memset(g, 0, sizeof(*g));
	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, max);
	if ((err = request(f, PROTO_ST_CONV_GET, &e, &r)) == 0) {
		g->reply_len = r.enc.len;
		pdec_init(&d, r.enc.buf, r.enc.len);
		thread_decode(&d, g);
		g->truncated = pdec_u8(&d);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/* ------------------------------------------------------------- tests */

static void
test_ping_and_unknown(void **state)
{
	struct fix *f = *state;
	struct dreply r;
	uint8_t junk[3] = { 1, 2, 3 };

	dispatch_one(f->st, NULL, PROTO_ST_PING, NULL, 0, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.enc.len, 0);
	dreply_free(&r);
	assert_int_equal(request_raw(f, PROTO_ST_PING, junk, sizeof(junk)),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, 0x1f, NULL, 0), PROTO_E_UNSUPPORTED);
	assert_int_equal(request_raw(f, PROTO_HELLO, junk, sizeof(junk)),
	    PROTO_E_UNSUPPORTED);
	assert_int_equal(request_raw(f, PROTO_ST_CONV_OPEN, junk, sizeof(junk)),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_MSG_APPEND, NULL, 0),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_CONV_LIST, junk, sizeof(junk)),
	    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_CONV_GET, junk, sizeof(junk)),
	    PROTO_E_INVALID);
}

static void
test_open_idempotent(void **state)
{
	struct fix *f = *state;
	struct st_conv a, b, c, d;
	int created;

	assert_int_equal(do_open(f, "w1", "s1", &a, &created), 0);
	assert_int_equal(created, 1);
	assert_true(st_id_valid(a.id));
	assert_string_equal(a.widget, "w1");
	assert_string_equal(a.session, "s1");
	assert_true(a.created_at == T0 && a.updated_at == T0);
	assert_int_equal(a.message_count, 0);
	assert_string_equal(a.last_message, "");

	fake_now += 1000;
	assert_int_equal(do_open(f, "w1", "s1", &b, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(a.id, b.id);
	assert_true(b.created_at == T0 && b.updated_at == T0);

	/* The pair is the key: either half differing makes another. */
	open_new(f, "w1", "s2", &c);
	open_new(f, "w2", "s1", &d);
	assert_string_not_equal(a.id, c.id);
	assert_string_not_equal(a.id, d.id);
	assert_string_not_equal(c.id, d.id);
	st_conv_free(&a);
	st_conv_free(&b);
	st_conv_free(&c);
	st_conv_free(&d);
}

/*
 * A conversation's id starts with its creation time (48 bits of
 * milliseconds, hex), so new ones sort after older ones and land in the
 * same pages; the other 80 bits are random: ids made in the same
 * millisecond differ.
 */
static void
test_ids_by_time(void **state)
{
	struct fix *f = *state;
	struct st_conv a, b, c;
	char want[13];

	open_new(f, "w", "first", &a);
	open_new(f, "w", "same-ms", &b);
	fake_now += 1;
	open_new(f, "w", "later", &c);
	snprintf(want, sizeof(want), "%012llx", (unsigned long long)T0);
	assert_memory_equal(a.id, want, 12);
	assert_memory_equal(b.id, want, 12);
	assert_string_not_equal(a.id, b.id);
	assert_true(strcmp(c.id, a.id) > 0 && strcmp(c.id, b.id) > 0);
	assert_true(st_id_valid(c.id));
	st_conv_free(&a);
	st_conv_free(&b);
	st_conv_free(&c);
}

static void
test_open_invalid(void **state)
{
	struct fix *f = *state;
	struct st_conv c;
	struct store_txn t;
	char *w64 = repeat('w', 64), *w65 = repeat('w', 65);
	char *s128 = repeat('s', 128), *s129 = repeat('s', 129);
	int created;

	assert_int_equal(do_open(f, "", "s", &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(do_open(f, "w", "", &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(do_open(f, w65, "s", &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(do_open(f, "w", s129, &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(do_open(f, "\xff", "s", &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(do_open(f, "w", "\xc0\xaf", &c, &created),
	    PROTO_E_INVALID);

	/* The limits themselves are fine. */
	open_new(f, w64, s128, &c);
	assert_string_equal(c.widget, w64);
	assert_string_equal(c.session, s128);
	st_conv_free(&c);

	/* The store checks on its own too, not only the decoder. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, w65, "s", &c, &created),
	    PROTO_E_INVALID);
	/* Sticky: what follows a failure fails the same way. */
	assert_int_equal(store_conv_open(&t, "w", "s", &c, &created),
	    PROTO_E_INVALID);
	assert_int_equal(store_commit(&t), PROTO_E_INVALID);

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_conv_open(&t, "w", s129, &c, &created),
	    PROTO_E_INVALID);
	store_abort(&t);

	free(w64);
	free(w65);
	free(s128);
	free(s129);
}

/*
 * A txn keeps the session index's last answer (sess_find): what writes
 * the index in it, or undoes a nested txn's write, must be seen by the
 * next read, never the answer kept from before.
 */
static void
test_session_read_again_after_writes(void **state)
{
	struct fix *f = *state;
	struct store_txn t, ch;
	struct st_conv c;
	char first[ST_ID_HEX + 1];
	int created;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_chat_session_exists(&t, "w", "s"), 0);
	/* Made in a nested txn undone: still none. */
	assert_int_equal(store_begin_child(&t, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "s", &c, &created), 0);
	assert_int_equal(created, 1);
	st_conv_free(&c);
	store_abort(&ch);
	assert_int_equal(store_chat_session_exists(&t, "w", "s"), 0);
	/* Made here: found, and opened as that one. */
	assert_int_equal(store_conv_open(&t, "w", "s", &c, &created), 0);
	assert_int_equal(created, 1);
	strlcpy(first, c.id, sizeof(first));
	st_conv_free(&c);
	assert_int_equal(store_chat_session_exists(&t, "w", "s"), 1);
	assert_int_equal(store_conv_open(&t, "w", "s", &c, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(c.id, first);
	st_conv_free(&c);
	/* Deleted: none again, and the next open makes another. */
	assert_int_equal(store_conv_delete(&t, first), 0);
	assert_int_equal(store_chat_session_exists(&t, "w", "s"), 0);
	assert_int_equal(store_conv_open(&t, "w", "s", &c, &created), 0);
	assert_int_equal(created, 1);
	assert_string_not_equal(c.id, first);
	st_conv_free(&c);
	assert_int_equal(store_commit(&t), 0);
}

static void
test_append_updates(void **state)
{
	struct fix *f = *state;
	struct st_conv c, c2;
	struct st_msg m;

	open_new(f, "w", "s", &c);
	fake_now = T0 + 5000;
	assert_int_equal(do_append(f, c.id, "user", "hello there", "",
	    &m, &c2), 0);
	assert_true(st_id_valid(m.id));
	assert_string_not_equal(m.id, c.id);
	assert_string_equal(m.conv_id, c.id);
	assert_string_equal(m.role, "user");
	assert_string_equal(m.status, "complete");
	assert_string_equal(m.content, "hello there");
	assert_true(m.created_at == T0 + 5000);
	assert_int_equal(m.prompt_tokens, 11);
	assert_int_equal(m.completion_tokens, 22);
	assert_string_equal(c2.id, c.id);
	assert_true(c2.created_at == T0);
	assert_true(c2.updated_at == T0 + 5000);
	assert_int_equal(c2.message_count, 1);
	assert_string_equal(c2.last_message, "hello there");
	st_msg_free(&m);
	st_conv_free(&c2);

	/* A clock stepping back never moves updated_at back. */
	fake_now = T0 + 10;
	assert_int_equal(do_append(f, c.id, "assistant", "hi!",
	    "interrupted", &m, &c2), 0);
	assert_string_equal(m.status, "interrupted");
	assert_true(m.created_at == T0 + 10);
	assert_true(c2.updated_at == T0 + 5000);
	assert_int_equal(c2.message_count, 2);
	assert_string_equal(c2.last_message, "hi!");
	st_msg_free(&m);
	st_conv_free(&c2);

	fake_now = T0 + 6000;
	assert_int_equal(do_append(f, c.id, "system", "", "failed", &m,
	    &c2), 0);
	assert_true(c2.updated_at == T0 + 6000);
	assert_int_equal(c2.message_count, 3);
	assert_string_equal(c2.last_message, "");
	st_msg_free(&m);
	st_conv_free(&c2);
	st_conv_free(&c);
}

/* ST_TURN_LOST of conversation id's turn for msg: storaged's error, or 0. */
static int
turn_lost(struct fix *f, const char *id, const char *msg)
{
	struct dreply r;
	int err;

	err = request_st(f, PROTO_ST_TURN_LOST,
	    &(struct st_turn_ref){ id, msg }, &r);
	if (err == 0)
		assert_int_equal(r.enc.len, 0);
	dreply_free(&r);
	return err;
}

/* Conversation id's messages into cm (free with st_rep_free). */
static void
conv_msgs(struct fix *f, const char *id, struct st_conv_msgs *cm)
{
	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ id, 0 }, cm), 0);
}

/*
 * ST_TURN_LOST (storaged's own, server.c): a turn whose visitor's
 * message is still the conversation's last gets an empty reply of status
 * interrupted, once; one answered since, one with a newer visitor's
 * message (the session went on elsewhere), an unknown conversation and
 * one without messages get nothing. A worker's message marks its turn
 * ended in the reply (dreply's turn, which server.c keeps), a visitor's
 * not.
 */
static void
test_turn_lost(void **state)
{
	struct fix *f = *state;
	struct st_conv_msgs cm;
	struct st_conv c, c2, cx;
	struct st_msg m, m2;
	struct dreply r;
	struct penc e;

	open_new(f, "w", "s", &c);
	open_new(f, "w", "s2", &c2);
	assert_int_equal(turn_lost(f, c2.id, c2.id), 0);	/* no message */
	conv_msgs(f, c2.id, &cm);
	assert_int_equal(cm.n, 0);
	st_rep_free(PROTO_ST_CONV_GET, &cm);

	assert_int_equal(do_append(f, c.id, "user", "hello", "", &m, &cx), 0);
	st_conv_free(&cx);
	assert_int_equal(turn_lost(f, c.id, m.id), 0);
	conv_msgs(f, c.id, &cm);
	assert_int_equal(cm.n, 2);
	assert_string_equal(cm.msgs[1].role, "assistant");
	assert_string_equal(cm.msgs[1].status, "interrupted");
	assert_string_equal(cm.msgs[1].content, "");
	assert_int_equal(cm.conv.message_count, 2);
	st_rep_free(PROTO_ST_CONV_GET, &cm);
	/* Ended already: nothing more. */
	assert_int_equal(turn_lost(f, c.id, m.id), 0);
	conv_msgs(f, c.id, &cm);
	assert_int_equal(cm.n, 2);
	st_rep_free(PROTO_ST_CONV_GET, &cm);

	/* A newer visitor's message: the older turn's loss adds nothing. */
	assert_int_equal(do_append(f, c.id, "user", "first", "", &m2, &cx), 0);
	st_conv_free(&cx);
	st_msg_free(&m2);
	assert_int_equal(do_append(f, c.id, "user", "second", "", &m2, &cx),
	    0);
	st_conv_free(&cx);
	assert_int_equal(turn_lost(f, c.id, m.id), 0);
	conv_msgs(f, c.id, &cm);
	assert_int_equal(cm.n, 4);
	st_rep_free(PROTO_ST_CONV_GET, &cm);

	/* A visitor's message opens nothing; the model's reply ends it. */
	append_payload(&e, c.id, "user", "again", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	assert_int_equal(r.turn, 0);
	dreply_free(&r);
	append_payload(&e, c.id, "assistant", "an answer", "", 1, 2);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	assert_int_equal(r.turn, DTURN_ENDED);
	assert_string_equal(r.turn_conv, c.id);
	dreply_free(&r);
	assert_int_equal(turn_lost(f, c.id, m2.id), 0);
	conv_msgs(f, c.id, &cm);
	assert_int_equal(cm.n, 6);
	assert_string_equal(cm.msgs[5].content, "an answer");
	st_rep_free(PROTO_ST_CONV_GET, &cm);

	/* Unknown: nothing; not an id: refused. */
	assert_int_equal(turn_lost(f, "0123456789abcdef0123456789abcdef",
	    m.id), 0);
	assert_int_equal(turn_lost(f, "zz", m.id), PROTO_E_INVALID);
	st_msg_free(&m);
	st_msg_free(&m2);
	st_conv_free(&c);
	st_conv_free(&c2);
}

static void
test_append_preview_utf8(void **state)
{
	static const char *chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9d\x84\x9e" };	/* a é € 𝄞 */
	struct fix *f = *state;
	struct st_conv c, c2;
	struct st_msg m;
	struct thread g;
	char *content = calloc(1, 600 * 4 + 1);
	size_t i, cut = 0;

	assert_non_null(content);
	for (i = 0; i < 600; i++) {
		strlcat(content, chars[(i * 7) % 4], 600 * 4 + 1);
		if (i == ST_PREVIEW_CHARS - 1)
			cut = strlen(content);
	}
	open_new(f, "w", "s", &c);
	assert_int_equal(do_append(f, c.id, "assistant", content, "",
	    &m, &c2), 0);
	assert_int_equal(strlen(c2.last_message), cut);
	assert_memory_equal(c2.last_message, content, cut);
	/* The next byte starts a character: nothing was cut in half. */
	assert_true(((unsigned char)content[cut] & 0xc0) != 0x80);
	assert_string_equal(m.content, content);
	st_msg_free(&m);
	st_conv_free(&c2);

	/* Short content is its own preview. */
	assert_int_equal(do_append(f, c.id, "user", "\xe2\x82\xac\xc3\xa9",
	    "", &m, &c2), 0);
	assert_string_equal(c2.last_message, "\xe2\x82\xac\xc3\xa9");
	st_msg_free(&m);
	st_conv_free(&c2);

	assert_int_equal(do_get(f, c.id, 0, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.msgs[0].content, content);
	assert_string_equal(g.conv.last_message, "\xe2\x82\xac\xc3\xa9");
	thread_free(&g);
	st_conv_free(&c);
	free(content);
}

static void
test_append_invalid(void **state)
{
	struct fix *f = *state;
	struct st_conv c, c2;
	struct st_msg m;
	struct store_txn t;
	char *max = repeat('x', ST_CONTENT_MAX);
	char *over = repeat('x', ST_CONTENT_MAX + 1);
	char upper[ST_ID_HEX + 1];
	struct penc e;
	struct thread g;
	size_t i;

	open_new(f, "w", "s", &c);
	strlcpy(upper, c.id, sizeof(upper));
	for (i = 0; i < ST_ID_HEX; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');

	assert_int_equal(append(f, "", "x"), PROTO_E_INVALID);
	assert_int_equal(append(f, "nothex", "x"), PROTO_E_INVALID);
	assert_int_equal(append(f, upper, "x"), PROTO_E_INVALID);
	upper[ST_ID_HEX - 1] = '\0';
	assert_int_equal(append(f, upper, "x"), PROTO_E_INVALID);
	assert_int_equal(append(f, "0123456789abcdef0123456789abcdef0",
	    "x"), PROTO_E_INVALID);
	assert_int_equal(append(f, "0123456789abcdef0123456789abcdef",
	    "x"), PROTO_E_NOT_FOUND);
	assert_int_equal(do_append(f, c.id, "bot", "x", "", &m, &c2),
	    PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "", "x", "", &m, &c2),
	    PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "User", "x", "", &m, &c2),
	    PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "a-role-far-too-long", "x",
	    "", &m, &c2), PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "user", "x", "done", &m, &c2),
	    PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "user", "\xc3\x28", "", &m,
	    &c2), PROTO_E_INVALID);
	assert_int_equal(do_append(f, c.id, "user", "\xed\xa0\x80", "",
	    &m, &c2), PROTO_E_INVALID);	/* a surrogate */
	assert_int_equal(append(f, c.id, over), PROTO_E_INVALID);

	/* Missing the last field. */
	penc_init(&e);
	penc_str(&e, c.id);
	penc_str(&e, "user");
	penc_str(&e, "x");
	penc_str(&e, "");
	penc_u32(&e, 1);
	assert_int_equal(request_raw(f, PROTO_ST_MSG_APPEND, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_free(&e);

	/* The store checks the content size itself as well. */
	memset(&m, 0, sizeof(m));
	strlcpy(m.conv_id, c.id, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	m.content = over;
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_msg_append(&t, &m, &c2, NULL), PROTO_E_INVALID);
	store_abort(&t);

	/* Nothing of the above was stored; the largest content is fine. */
	assert_int_equal(append(f, c.id, max), 0);
	assert_int_equal(do_get(f, c.id, 0, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.conv.message_count, 1);
	assert_string_equal(g.msgs[0].content, max);
	thread_free(&g);

	st_conv_free(&c);
	free(max);
	free(over);
}

static void
test_list_order(void **state)
{
	struct fix *f = *state;
	struct st_conv a, b, c;
	struct list l;

	open_new(f, "w", "a", &a);
	fake_now++;
	open_new(f, "w", "b", &b);
	fake_now++;
	open_new(f, "w", "c", &c);

	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_true(l.total == 3);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.convs[0].id, c.id);
	assert_string_equal(l.convs[1].id, b.id);
	assert_string_equal(l.convs[2].id, a.id);
	assert_string_equal(l.next, "");
	list_free(&l);

	fake_now++;
	assert_int_equal(append(f, a.id, "first"), 0);
	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_string_equal(l.convs[0].id, a.id);
	assert_string_equal(l.convs[0].last_message, "first");
	assert_int_equal(l.convs[0].message_count, 1);
	assert_string_equal(l.convs[1].id, c.id);
	assert_string_equal(l.convs[2].id, b.id);
	list_free(&l);

	fake_now++;
	assert_int_equal(append(f, b.id, "second"), 0);
	assert_int_equal(do_list(f, 2, "", &l), 0);
	assert_true(l.total == 3);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.convs[0].id, b.id);
	assert_string_equal(l.convs[1].id, a.id);
	assert_string_not_equal(l.next, "");
	list_free(&l);

	st_conv_free(&a);
	st_conv_free(&b);
	st_conv_free(&c);
}

static void
test_list_paging(void **state)
{
	struct fix *f = *state;
	enum { N = 250 };
	char (*ids)[ST_ID_HEX + 1] = calloc(N, sizeof(*ids));
	char (*seen)[ST_ID_HEX + 1] = calloc(N, sizeof(*seen));
	char cursor[ST_CURSOR_MAX + 1] = "", sess[16];
	struct st_conv c;
	struct list l;
	uint64_t prev = UINT64_MAX;
	size_t nseen = 0, i, j;
	uint32_t limits[] = { 7, 1, 200, 13 };
	size_t li;

	assert_non_null(ids);
	assert_non_null(seen);
	for (i = 0; i < N; i++) {
		/* Groups of three share a millisecond: ties break on id. */
		if (i % 3 == 0)
			fake_now++;
		snprintf(sess, sizeof(sess), "s%zu", i);
		open_new(f, "w", sess, &c);
		strlcpy(ids[i], c.id, sizeof(ids[i]));
		st_conv_free(&c);
	}
	/* Some activity moves a few to the front. */
	for (i = 0; i < N; i += 50) {
		fake_now++;
		assert_int_equal(append(f, ids[i], "bump"), 0);
	}

	for (li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
		nseen = 0;
		prev = UINT64_MAX;
		cursor[0] = '\0';
		for (;;) {
			assert_int_equal(do_list(f, limits[li], cursor,
			    &l), 0);
			assert_true(l.total == N);
			for (i = 0; i < l.n; i++) {
				assert_true(l.convs[i].updated_at <= prev);
				prev = l.convs[i].updated_at;
				for (j = 0; j < nseen; j++)
					assert_string_not_equal(seen[j],
					    l.convs[i].id);
				assert_true(nseen < N);
				strlcpy(seen[nseen++], l.convs[i].id,
				    sizeof(seen[0]));
			}
			strlcpy(cursor, l.next, sizeof(cursor));
			if (l.next[0] == '\0') {
				list_free(&l);
				break;
			}
			assert_int_equal(l.n, limits[li]);
			list_free(&l);
		}
		assert_int_equal(nseen, N);
		/* The bumped ones lead, newest first. */
		assert_string_equal(seen[0], ids[200]);
		assert_string_equal(seen[4], ids[0]);
	}
	free(ids);
	free(seen);
}

static void
test_list_invalid(void **state)
{
	struct fix *f = *state;
	struct st_conv c;
	struct list l;
	char *s;

	open_new(f, "w", "s", &c);
	assert_int_equal(do_list(f, 0, "", &l), PROTO_E_INVALID);
	assert_int_equal(do_list(f, ST_LIST_MAX + 1, "", &l),
	    PROTO_E_INVALID);
	assert_int_equal(do_list(f, UINT32_MAX, "", &l), PROTO_E_INVALID);
	assert_int_equal(do_list(f, 1, "xyz", &l), PROTO_E_INVALID);
	s = repeat('A', STORE_CURSOR_LEN);
	assert_int_equal(do_list(f, 1, s, &l), PROTO_E_INVALID);
	free(s);
	s = repeat('a', STORE_CURSOR_LEN - 1);
	assert_int_equal(do_list(f, 1, s, &l), PROTO_E_INVALID);
	free(s);
	s = repeat('a', STORE_CURSOR_LEN + 1);
	assert_int_equal(do_list(f, 1, s, &l), PROTO_E_INVALID);
	free(s);
	s = repeat('a', ST_CURSOR_MAX + 1);
	assert_int_equal(do_list(f, 1, s, &l), PROTO_E_INVALID);
	free(s);

	/* Well-formed cursors that name no entry still page correctly. */
	assert_int_equal(do_list(f, ST_LIST_MAX, "", &l), 0);
	assert_int_equal(l.n, 1);
	list_free(&l);
	s = repeat('f', STORE_CURSOR_LEN);
	assert_int_equal(do_list(f, 5, s, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.convs[0].id, c.id);
	assert_string_equal(l.next, "");
	list_free(&l);
	free(s);
	s = repeat('0', STORE_CURSOR_LEN);
	assert_int_equal(do_list(f, 5, s, &l), 0);
	assert_int_equal(l.n, 0);
	assert_true(l.total == 1);
	assert_string_equal(l.next, "");
	free(s);
	st_conv_free(&c);
}

static void
test_list_empty(void **state)
{
	struct fix *f = *state;
	struct list l;

	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_true(l.total == 0);
	assert_int_equal(l.n, 0);
	assert_string_equal(l.next, "");
}

static void
test_get(void **state)
{
	struct fix *f = *state;
	struct st_conv a, b;
	struct thread g;
	char text[16];
	int i;

	open_new(f, "w", "a", &a);
	open_new(f, "w", "b", &b);
	/* Interleaved: each conversation keeps only its own, in order. */
	for (i = 0; i < 5; i++) {
		fake_now++;
		snprintf(text, sizeof(text), "a%d", i);
		assert_int_equal(append(f, a.id, text), 0);
		snprintf(text, sizeof(text), "b%d", i);
		assert_int_equal(append(f, b.id, text), 0);
	}
	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	assert_string_equal(g.conv.id, a.id);
	assert_int_equal(g.conv.message_count, 5);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.truncated, 0);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		assert_string_equal(g.msgs[i].content, text);
		assert_string_equal(g.msgs[i].conv_id, a.id);
		assert_true(g.msgs[i].created_at == T0 + 1 + (uint64_t)i);
	}
	thread_free(&g);

	assert_int_equal(do_get(f, b.id, 2, &g), 0);
	thread_is(&g, 2, "b0", "b1");
	assert_int_equal(g.truncated, 1);
	thread_free(&g);

	assert_int_equal(do_get(f, b.id, 5, &g), 0);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.truncated, 0);
	thread_free(&g);

	assert_int_equal(do_get(f, b.id, 6, &g), 0);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.truncated, 0);
	thread_free(&g);

	/* A conversation without messages. */
	st_conv_free(&a);
	open_new(f, "w", "c", &a);
	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.truncated, 0);
	thread_free(&g);

	assert_int_equal(do_get(f, "0123456789abcdef0123456789abcdef", 0,
	    &g), PROTO_E_NOT_FOUND);
	assert_int_equal(do_get(f, "", 0, &g), PROTO_E_INVALID);
	assert_int_equal(do_get(f, "0123456789ABCDEF0123456789abcdef", 0,
	    &g), PROTO_E_INVALID);
	assert_int_equal(do_get(f, "0123456789abcdef0123456789abcdef00",
	    0, &g), PROTO_E_INVALID);
	st_conv_free(&a);
	st_conv_free(&b);
}

static void
test_get_byte_budget(void **state)
{
	struct fix *f = *state;
	struct store_conv_full full;
	struct store_txn t;
	struct st_conv c;
	struct thread g;
	char *big = repeat('z', ST_CONTENT_MAX);
	int i, n = 140;

	open_new(f, "w", "s", &c);
	for (i = 0; i < n; i++)
		assert_int_equal(append(f, c.id, big), 0);

	/* 140 x 64 KiB is past the largest reply: cut, flagged, in bounds. */
	assert_int_equal(do_get(f, c.id, 0, &g), 0);
	assert_int_equal(g.truncated, 1);
	assert_true(g.n > 100 && g.n < (uint32_t)n);
	assert_true(g.reply_len <= PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN +
	    4096);
	assert_int_equal(g.conv.message_count, n);
	thread_free(&g);

	/* Through the store: the budget counts encoded messages exactly. */
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_conv_get(&t, c.id, 0, 3 * (ST_CONTENT_MAX +
	    200), &full), 0);
	assert_int_equal(full.n, 3);
	assert_int_equal(full.truncated, 1);
	store_conv_full_free(&full);
	assert_int_equal(store_conv_get(&t, c.id, 0, 0, &full), 0);
	assert_int_equal(full.n, 0);
	assert_int_equal(full.truncated, 1);
	store_conv_full_free(&full);
	assert_int_equal(store_commit(&t), 0);

	st_conv_free(&c);
	free(big);
}

/* A failing request in a batch undoes only itself. */
static void
test_batch_nested_failure(void **state)
{
	struct fix *f = *state;
	struct dbatch b;
	struct dreply r[6];
	struct penc e;
	struct pdec d;
	struct st_conv c;
	struct thread g;
	int i;

	assert_int_equal(dispatch_begin(f->st, NULL, &b, 1), 0);
	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	dispatch_run(&b, PROTO_ST_CONV_OPEN, e.buf, e.len, &r[0]);
	penc_free(&e);
	assert_int_equal(r[0].err, 0);
	pdec_init(&d, r[0].enc.buf, r[0].enc.len);
	assert_int_equal(pdec_u8(&d), 1);
	assert_int_equal(pdec_conv(&d, &c), 0);

	append_payload(&e, "0123456789abcdef0123456789abcdef", "user", "lost",
	    "", 0, 0);
	dispatch_run(&b, PROTO_ST_MSG_APPEND, e.buf, e.len, &r[1]);
	penc_free(&e);
	assert_int_equal(r[1].err, PROTO_E_NOT_FOUND);

	for (i = 2; i <= 3; i++) {
		append_payload(&e, c.id, i == 2 ? "user" : "robot", "kept", "",
		    0, 0);
		dispatch_run(&b, PROTO_ST_MSG_APPEND, e.buf, e.len, &r[i]);
		penc_free(&e);
	}
	assert_int_equal(r[2].err, 0);
	assert_int_equal(r[3].err, PROTO_E_INVALID);

	/* A read later in the batch sees the batch's earlier writes. */
	penc_init(&e);
	penc_str(&e, c.id);
	penc_u32(&e, 0);
	dispatch_run(&b, PROTO_ST_CONV_GET, e.buf, e.len, &r[4]);
	penc_free(&e);
	assert_int_equal(r[4].err, 0);
	dispatch_run(&b, PROTO_ST_PING, NULL, 0, &r[5]);
	assert_int_equal(r[5].err, 0);
	assert_int_equal(dispatch_end(&b), 0);
	for (i = 0; i < 6; i++)
		dreply_free(&r[i]);

	assert_int_equal(do_get(f, c.id, 0, &g), 0);
	thread_is(&g, 1, "kept");
	assert_int_equal(g.conv.message_count, 1);
	thread_free(&g);
	st_conv_free(&c);
	assert_int_equal(open_made(f, "w", "s"), 0);
}

/* Through the store: a child that wrote and then failed leaves no trace. */
static void
test_store_nested_abort(void **state)
{
	struct fix *f = *state;
	struct store_txn p, ch;
	struct st_conv c;
	struct list l;
	int created;

	assert_int_equal(store_begin(f->st, &p, 0), 0);
	assert_int_equal(store_begin_child(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "a", &c, &created), 0);
	st_conv_free(&c);
	assert_int_equal(store_commit(&ch), 0);

	assert_int_equal(store_begin_child(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "b", &c, &created), 0);
	st_conv_free(&c);
	store_fail(&ch, PROTO_E_INTERNAL, "simulated");
	assert_int_equal(store_commit(&ch), PROTO_E_INTERNAL);

	assert_int_equal(store_begin_child(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "c", &c, &created), 0);
	st_conv_free(&c);
	assert_int_equal(store_commit(&ch), 0);
	assert_int_equal(p.err, 0);
	assert_int_equal(store_commit(&p), 0);

	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_true(l.total == 2);
	list_free(&l);
	assert_int_equal(open_made(f, "w", "b"), 1);
	assert_int_equal(open_made(f, "w", "a"), 0);
}

/*
 * A request shares its batch's txn (store_begin_shared): its writes are
 * the batch's; a failure before any write leaves the batch to commit; one
 * after a write (or an abort after one) fails the batch, and nothing of
 * it is stored (dispatch then runs the batch again, nested).
 */
static void
test_store_shared(void **state)
{
	struct fix *f = *state;
	struct store_txn p, ch;
	struct st_conv c;
	struct list l;
	int created;

	/* Wrote, then committed: the parent commits it. */
	assert_int_equal(store_begin(f->st, &p, 0), 0);
	assert_int_equal(store_begin_shared(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "a", &c, &created), 0);
	st_conv_free(&c);
	assert_int_equal(store_commit(&ch), 0);
	assert_int_equal(p.wrote, 1);
	assert_int_equal(store_commit(&p), 0);
	assert_int_equal(open_made(f, "w", "a"), 0);

	/* Failed before writing: the parent is as it was and commits. */
	assert_int_equal(store_begin(f->st, &p, 0), 0);
	assert_int_equal(store_begin_shared(&p, &ch), 0);
	store_fail(&ch, PROTO_E_NOT_FOUND, "simulated");
	assert_int_equal(store_commit(&ch), PROTO_E_NOT_FOUND);
	assert_int_equal(p.err, 0);
	assert_int_equal(p.wrote, 0);
	assert_int_equal(store_commit(&p), 0);

	/* Failed after a write: the parent fails; nothing is stored. */
	assert_int_equal(store_begin(f->st, &p, 0), 0);
	assert_int_equal(store_begin_shared(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "b", &c, &created), 0);
	st_conv_free(&c);
	store_fail(&ch, PROTO_E_INTERNAL, "simulated");
	assert_int_equal(store_commit(&ch), PROTO_E_INTERNAL);
	assert_int_equal(p.err, PROTO_E_INTERNAL);
	assert_int_not_equal(store_commit(&p), 0);

	/* Aborted after a write: the same. */
	assert_int_equal(store_begin(f->st, &p, 0), 0);
	assert_int_equal(store_begin_shared(&p, &ch), 0);
	assert_int_equal(store_conv_open(&ch, "w", "c", &c, &created), 0);
	st_conv_free(&c);
	store_abort(&ch);
	assert_int_not_equal(p.err, 0);
	assert_int_not_equal(store_commit(&p), 0);

	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_true(l.total == 1);
	list_free(&l);
	assert_int_equal(open_made(f, "w", "b"), 1);
	assert_int_equal(open_made(f, "w", "c"), 1);
}

/* A batch that does not commit: its successful writes are not acknowledged. */
static void
test_batch_commit_failure(void **state)
{
	struct fix *f = *state;
	struct dbatch b;
	struct dreply r[4];
	struct penc e;
	int i;

	assert_int_equal(dispatch_begin(f->st, NULL, &b, 1), 0);
	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	dispatch_run(&b, PROTO_ST_CONV_OPEN, e.buf, e.len, &r[0]);
	dispatch_run(&b, PROTO_ST_PING, NULL, 0, &r[1]);
	dispatch_run(&b, PROTO_ST_CONV_OPEN, e.buf, 3, &r[2]);
	/* As if LMDB had failed under the batch. */
	store_fail(&b.txn, PROTO_E_INTERNAL, "simulated");
	dispatch_run(&b, PROTO_ST_CONV_OPEN, e.buf, e.len, &r[3]);
	penc_free(&e);
	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[3].err, PROTO_E_INTERNAL);
	assert_int_equal(dispatch_end(&b), -1);
	for (i = 0; i < 4; i++)
		dreply_commit_failed(&r[i]);
	assert_int_equal(r[0].err, PROTO_E_INTERNAL);
	assert_int_equal(r[1].err, 0);
	assert_int_equal(r[2].err, PROTO_E_INVALID);
	assert_int_equal(r[3].err, PROTO_E_INTERNAL);
	for (i = 0; i < 4; i++)
		dreply_free(&r[i]);

	assert_int_equal(open_made(f, "w", "s"), 1);

	/* A read-only batch refuses a write rather than attempt it. */
	assert_int_equal(dispatch_begin(f->st, NULL, &b, 0), 0);
	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "t");
	dispatch_run(&b, PROTO_ST_CONV_OPEN, e.buf, e.len, &r[0]);
	penc_free(&e);
	assert_int_equal(r[0].err, PROTO_E_INTERNAL);
	assert_int_equal(dispatch_end(&b), 0);
	dreply_free(&r[0]);
}

/* A full map fails requests, never the process; what is acked is there. */
static void
test_map_full(void **state)
{
	struct fix small;
	struct dbatch b;
	struct dreply r;
	struct penc e;
	struct st_conv c;
	struct thread g;
	char *big = repeat('m', ST_CONTENT_MAX);
	int i, ok = 0, failed = 0, ended;

	/* A store of its own, with a map of 2 MiB. */
	memset(&small, 0, sizeof(small));
	strlcpy(small.dir, "/tmp/parley-store-XXXXXX", sizeof(small.dir));
	assert_non_null(mkdtemp(small.dir));
	small.st = store_open(small.dir, 2, STORE_F_NOSYNC);
	assert_non_null(small.st);
	open_new(&small, "w", "s", &c);

	log_set_level(LOG_LEVEL_FATAL);
	assert_int_equal(dispatch_begin(small.st, NULL, &b, 1), 0);
	for (i = 0; i < 40; i++) {
		append_payload(&e, c.id, "user", big, "", 0, 0);
		dispatch_run(&b, PROTO_ST_MSG_APPEND, e.buf, e.len, &r);
		penc_free(&e);
		if (r.err == 0)
			ok++;
		else {
			/* Full (unavailable), the rest "to be run again". */
			assert_true(r.err == PROTO_E_UNAVAILABLE ||
			    r.err == PROTO_E_INTERNAL);
			failed++;
		}
		dreply_free(&r);
	}
	ended = dispatch_end(&b);
	log_set_level(LOG_LEVEL_INFO);
	assert_true(failed > 0);

	assert_int_equal(do_get(&small, c.id, 0, &g), 0);
	assert_int_equal(g.n, ended == 0 ? (uint32_t)ok : 0);
	assert_int_equal(g.conv.message_count, g.n);
	thread_free(&g);

	/*
	 * The store is not wedged: reopened with the larger map the error
	 * asks for, it takes writes again. (Whether a small write fits in
	 * what the committed part of the batch left depends on how the
	 * random ids laid out the pages, so it is not asserted.)
	 */
	store_close(small.st);
	small.st = store_open(small.dir, 4, STORE_F_NOSYNC);
	assert_non_null(small.st);
	assert_int_equal(append(&small, c.id, "small"), 0);
	assert_int_equal(do_get(&small, c.id, 0, &g), 0);
	assert_int_equal(g.n, (ended == 0 ? (uint32_t)ok : 0) + 1);
	thread_free(&g);
	st_conv_free(&c);
	store_close(small.st);
	rm_env(small.dir);
	free(big);
}

/*
 * The map's last sixteenth is kept for who signs in (STORE_MAP_RESERVE):
 * there nobody's writes (a visitor's) are refused as unavailable, before
 * the map is full; an owner's deletes still run (with a full map they
 * could not: a delete takes pages too), and once they made room nobody's
 * writes are taken again.
 */
static void
test_map_reserve(void **state)
{
	struct fix *f = *state;
	struct st_who owner = who_of(ST_WHO_KEY, "install",
	    ST_WHO_ORG_DEFAULT, ST_ROLE_OWNER);
	struct st_conv c[64], again;
	struct dreply r;
	char sess[16];
	char *big = repeat('m', ST_CONTENT_MAX);
	int i, j, n, created, err = 0;

	fix_reopen_map(f, 4);
	log_set_level(LOG_LEVEL_FATAL);	/* "only requests of who ..." */
	for (n = 0; n < 64 && err == 0; n++) {
		snprintf(sess, sizeof(sess), "s%d", n);
		if ((err = do_open(f, "w", sess, &c[n], &created)) != 0)
			break;
		for (j = 0; j < 8 && err == 0; j++)
			err = append(f, c[n].id, big);
	}
	assert_int_equal(err, PROTO_E_UNAVAILABLE);
	assert_true(store_map_reserved(f->st));
	/* Signing in is not refused (this one names no user). */
	{
		uint8_t h[ST_DASH_HASH_LEN];
		struct penc e;

		memset(h, 7, sizeof(h));
		penc_init(&e);
		penc_bytes(&e, h, sizeof(h));
		penc_str(&e, "0123456789abcdef0123456789abcdef");
		penc_str(&e, "usr_none");
		penc_u64(&e, fake_now + 60000);
		assert_int_not_equal(request(f, PROTO_ST_DASH_LOGIN, &e,
		    &r), PROTO_E_UNAVAILABLE);
		dreply_free(&r);
	}
	/* Refused, not failed: the conversations so far are all there. */
	for (i = 0; i < n / 2; i++) {
		assert_int_equal(who_run(f, &owner, PROTO_ST_CONV_DELETE,
		    &(struct st_id_req){ c[i].id }, NULL, &r), 0);
		dreply_free(&r);
	}
	assert_int_equal(do_open(f, "w", "again", &again, &created), 0);
	assert_int_equal(append(f, again.id, "room again"), 0);
	assert_false(store_map_reserved(f->st));
	log_set_level(LOG_LEVEL_INFO);
	for (i = 0; i < n; i++)
		st_conv_free(&c[i]);
	st_conv_free(&again);
	free(big);
}

/*
 * The map's last thirty-second (STORE_MAP_FLOOR): who signs in writes in
 * the reserve, but is refused there as unavailable ("the store is full")
 * before the map is full, so no checkpoint fails (the store never
 * stalls); the owner's deletes still run, and the store opens again at
 * the same size.
 */
static void
test_map_floor(void **state)
{
	struct fix *f = *state;
	struct st_who owner = who_of(ST_WHO_KEY, "install",
	    ST_WHO_ORG_DEFAULT, ST_ROLE_OWNER);
	struct st_conv c[64];
	struct dreply r;
	struct penc e;
	char sess[16];
	char *big = repeat('m', ST_CONTENT_MAX);
	char *answer = repeat('a', 8192);
	int i, j, n, created, err = 0, owned = 0;

	fix_reopen_map(f, 4);
	log_set_level(LOG_LEVEL_FATAL);
	for (n = 0; n < 64 && err == 0; n++) {
		snprintf(sess, sizeof(sess), "s%d", n);
		if ((err = do_open(f, "w", sess, &c[n], &created)) != 0)
			break;
		for (j = 0; j < 8 && err == 0; j++)
			err = append(f, c[n].id, big);
	}
	assert_int_equal(err, PROTO_E_UNAVAILABLE);
	/* The owner's own writes go on in the reserve, up to the floor. */
	for (i = 0; i < 400; i++) {
		append_payload(&e, c[0].id, "assistant", answer, "", 0, 0);
		dispatch_one_as(f->st, f->rl, &owner, PROTO_ST_MSG_APPEND,
		    e.buf, e.len, &r);
		penc_free(&e);
		err = r.err;
		if (err != 0)
			assert_non_null(strstr(r.errmsg, "the store is full"));
		dreply_free(&r);
		if (err != 0)
			break;
		owned++;
	}
	assert_int_equal(err, PROTO_E_UNAVAILABLE);
	assert_true(owned > 0);
	assert_null(store_stalled(f->st));
	/* The deletes run, and the store opens again at the same size. */
	for (i = 0; i < n / 2; i++) {
		assert_int_equal(who_run(f, &owner, PROTO_ST_CONV_DELETE,
		    &(struct st_id_req){ c[i].id }, NULL, &r), 0);
		dreply_free(&r);
	}
	fix_reopen_map(f, 4);
	assert_int_equal(append(f, c[n - 1].id, "room again"), 0);
	log_set_level(LOG_LEVEL_INFO);
	for (i = 0; i < n; i++)
		st_conv_free(&c[i]);
	free(answer);
	free(big);
}

/*
 * Another program's LMDB file in the data directory (a wrong file put in
 * place as a restore): refused, not taken for a new store and written
 * into.
 */
static void
test_foreign_env_refused(void **state)
{
	char dir[] = "/tmp/parley-foreign-XXXXXX";
	MDB_val k = { 3, "foo" }, v = { 3, "bar" };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	log_set_level(LOG_LEVEL_FATAL + 1);
	assert_null(store_open(dir, 64, STORE_F_NOSYNC));
	log_set_level(LOG_LEVEL_INFO);
	rm_env(dir);
}

static void
test_reopen(void **state)
{
	struct fix *f = *state;
	struct st_conv a, c;
	struct list l;
	struct thread g;
	int created;

	open_new(f, "w", "s", &a);
	fake_now++;
	assert_int_equal(append(f, a.id, "one"), 0);
	assert_int_equal(append(f, a.id, "two"), 0);
	fix_reopen(f);

	assert_int_equal(do_open(f, "w", "s", &c, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(c.id, a.id);
	assert_int_equal(c.message_count, 2);
	assert_string_equal(c.last_message, "two");
	assert_true(c.updated_at == T0 + 1);
	st_conv_free(&c);
	assert_int_equal(append(f, a.id, "three"), 0);

	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	thread_is(&g, 3, "one", "two", "three");
	thread_free(&g);
	assert_int_equal(do_list(f, 10, "", &l), 0);
	assert_true(l.total == 1);
	assert_int_equal(l.n, 1);
	list_free(&l);
	st_conv_free(&a);
}

/*
 * Shared flushes: batches committed after store_defer_flush(st, 1) are
 * logged unflushed (store_flushed stays before the first of them) until
 * a flush covers them: store_flush, a batch logged with its flush, a
 * checkpoint. Opened again, every one is there. STORE_F_NOSYNC flushes
 * nothing anyway: there the deferral is not taken.
 */
static void
test_shared_flush(void **state)
{
	struct fix *f = *state;
	struct st_conv a;
	struct thread g;
	uint64_t s0;

	store_close(f->st);
	f->st = store_open(f->dir, 64, 0);
	assert_non_null(f->st);
	store_set_clock(f->st, fake_clock);
	open_new(f, "w", "s", &a);
	s0 = store_seq(f->st);
	assert_true(store_flushed(f->st) == s0);
	assert_int_equal(store_flush(f->st), 0);	/* none waits */

	store_defer_flush(f->st, 1);
	assert_int_equal(append(f, a.id, "one"), 0);
	assert_int_equal(append(f, a.id, "two"), 0);
	store_defer_flush(f->st, 0);
	assert_true(store_seq(f->st) == s0 + 2);
	assert_true(store_flushed(f->st) == s0);
	assert_int_equal(store_flush(f->st), 1);
	assert_true(store_flushed(f->st) == s0 + 2);

	/* A batch logged with its flush covers those before it. */
	store_defer_flush(f->st, 1);
	assert_int_equal(append(f, a.id, "three"), 0);
	store_defer_flush(f->st, 0);
	assert_true(store_flushed(f->st) == s0 + 2);
	assert_int_equal(append(f, a.id, "four"), 0);
	assert_true(store_flushed(f->st) == s0 + 4);
	assert_int_equal(store_flush(f->st), 0);

	/* So does a checkpoint. */
	store_defer_flush(f->st, 1);
	assert_int_equal(append(f, a.id, "five"), 0);
	store_defer_flush(f->st, 0);
	assert_true(store_flushed(f->st) == s0 + 4);
	assert_int_equal(store_checkpoint(f->st), 0);
	assert_true(store_flushed(f->st) == s0 + 5);

	fix_reopen(f);		/* STORE_F_NOSYNC */
	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	thread_is(&g, 5, "one", "two", "three", "four", "five");
	thread_free(&g);
	store_defer_flush(f->st, 1);
	assert_int_equal(append(f, a.id, "six"), 0);
	store_defer_flush(f->st, 0);
	assert_true(store_flushed(f->st) == store_seq(f->st));
	st_conv_free(&a);
}

/*
 * The data directory guarded: data.mdb moved away under an open store.
 * The write that finds it (its batch's check) and every one after fail
 * with unavailable, reads still answer, no checkpoint is made; put back
 * and opened again, every write acknowledged before is there.
 */
static void
test_guard(void **state)
{
	struct fix *f = *state;
	char data[128], moved[128];
	struct st_conv a;
	struct thread g;

	assert_int_equal(store_created(f->st), 1);
	open_new(f, "w", "s", &a);
	assert_int_equal(append(f, a.id, "kept"), 0);
	assert_int_equal(store_guard(f->st, 1), 0);
	assert_null(store_failed(f->st));

	snprintf(data, sizeof(data), "%s/data.mdb", f->dir);
	snprintf(moved, sizeof(moved), "%s/moved.mdb", f->dir);
	assert_int_equal(rename(data, moved), 0);
	log_set_level(LOG_LEVEL_FATAL);	/* the error line, once */
	assert_int_equal(append(f, a.id, "refused at commit"),
	    PROTO_E_UNAVAILABLE);
	assert_non_null(store_failed(f->st));
	assert_non_null(strstr(store_failed(f->st), "data.mdb: removed"));
	assert_int_equal(append(f, a.id, "refused at once"),
	    PROTO_E_UNAVAILABLE);
	assert_int_equal(store_checkpoint(f->st), -1);
	/* Put back, it stays failed: only a restart clears it. */
	assert_int_equal(rename(moved, data), 0);
	assert_int_equal(store_guard(f->st, 1), -1);
	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	thread_is(&g, 1, "kept");
	thread_free(&g);
	log_set_level(LOG_LEVEL_WARN);

	fix_reopen(f);
	assert_int_equal(store_created(f->st), 0);
	assert_null(store_failed(f->st));
	assert_int_equal(append(f, a.id, "after"), 0);
	assert_int_equal(do_get(f, a.id, 0, &g), 0);
	thread_is(&g, 2, "kept", "after");
	thread_free(&g);
	st_conv_free(&a);
}

/*
 * Byte off of a value behind the store's back (key NULL: the first),
 * rewritten as byte unless byte is -1; the byte it was.
 */
static uint8_t
poke_or_peek(const char *dir, const char *db, const void *key, size_t klen,
    size_t off, int byte)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, nv;
	uint8_t *buf, was;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (key != NULL) {
		k.mv_size = klen;
		k.mv_data = (void *)key;
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	} else {
		assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
		assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		mdb_cursor_close(cur);
	}
	buf = malloc(v.mv_size);
	assert_non_null(buf);
	memcpy(buf, v.mv_data, v.mv_size);
	assert_true(off < v.mv_size);
	was = buf[off];
	if (byte >= 0) {
		buf[off] = (uint8_t)byte;
		nv.mv_size = v.mv_size;
		nv.mv_data = buf;
		assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(buf);
	return was;
}

static void
poke(const char *dir, const char *db, const void *key, size_t klen,
    size_t off, uint8_t byte)
{
	poke_or_peek(dir, db, key, klen, off, byte);
}

/* poke() while the store is closed (one environment per process), reopened. */
static void
poke_reopen(struct fix *f, const char *db, const void *key, size_t klen,
    size_t off, uint8_t byte)
{
	store_close(f->st);
	f->st = NULL;
	poke(f->dir, db, key, klen, off, byte);
	fix_reopen(f);
}

static void
test_unknown_record_version(void **state)
{
	struct fix *f = *state;
	struct st_conv a, c;
	struct list l;
	struct thread g;
	int created;

	open_new(f, "w", "s", &a);
	assert_int_equal(append(f, a.id, "hello"), 0);
	poke_reopen(f, "msgs", NULL, 0, 0, 99);

	log_set_level(LOG_LEVEL_FATAL);
	assert_int_equal(do_get(f, a.id, 0, &g), PROTO_E_INTERNAL);
	/* The conversation itself still reads. */
	assert_int_equal(do_open(f, "w", "s", &c, &created), 0);
	st_conv_free(&c);

	poke_reopen(f, "convs", NULL, 0, 0, 0);
	assert_int_equal(do_open(f, "w", "s", &c, &created),
	    PROTO_E_INTERNAL);
	assert_int_equal(do_list(f, 10, "", &l), PROTO_E_INTERNAL);
	assert_int_equal(append(f, a.id, "x"), PROTO_E_INTERNAL);
	log_set_level(LOG_LEVEL_INFO);
	st_conv_free(&a);
}

static void
test_schema_version(void **state)
{
	struct fix *f = *state;

	/* u8 record version, u32 schema version: the last byte is ours. */
	poke_reopen(f, "meta", "schema", 6, 4, STORE_SCHEMA_VERSION);
	store_close(f->st);
	f->st = NULL;

	log_set_level(LOG_LEVEL_FATAL);
	poke(f->dir, "meta", "schema", 6, 4, STORE_SCHEMA_VERSION + 1);
	assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
	poke(f->dir, "meta", "schema", 6, 4, STORE_SCHEMA_OLDEST - 1);
	assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
	poke(f->dir, "meta", "schema", 6, 4, STORE_SCHEMA_VERSION);
	poke(f->dir, "meta", "schema", 6, 0, 7);
	assert_null(store_open(f->dir, 64, STORE_F_NOSYNC));
	poke(f->dir, "meta", "schema", 6, 0, ST_RECORD_VERSION);
	log_set_level(LOG_LEVEL_INFO);

	/* An older version's data opens, and is this build's from then on. */
	poke(f->dir, "meta", "schema", 6, 4, STORE_SCHEMA_OLDEST);
	fix_reopen(f);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(poke_or_peek(f->dir, "meta", "schema", 6, 4, -1),
	    STORE_SCHEMA_VERSION);
	fix_reopen(f);
}

/*
 * The tables in their places as of this writing: the WAL names a table
 * by its place in store_dbs[], so a table put in the middle would replay
 * an older log into the wrong tables. A new one goes last (and may be
 * added here).
 */
static const char *const db_places[] = {
	"meta", "convs", "sessions", "activity", "msgs", "widgets",
	"widget_ids", "widget_order", "wsessions", "widget_wsess",
	"contacts", "contact_email", "contact_phone", "contact_created",
	"contact_convs", "daily", "wsess_claims", "wsess_expiry",
	"wsess_gone", "widget_activity", "widget_counts", "dsessions",
	"dsess_expiry", "agents", "agent_order", "conv_handoff",
	"conv_handoff_at", "orgs", "org_order", "org_activity", "org_counts",
	"org_gone", "apikeys", "apikey_order", "apikey_hash", "apikey_org",
	"audit", "audit_org", "audit_counts", "users", "user_order",
	"user_email", "org_users", "invites", "dsess_user", "contact_gone",
	"conv_activity", "conv_counts", "webhooks", "webhook_order",
	"hook_org", "deliveries", "delivery_due", "hook_due", "due_hooks",
	"hook_deliveries", "hook_counts", "mails", "mail_due", "mail_counts",
	"mail_convs", "user_notify", "read_marks", "user_reads", "canned",
	"contact_ext", "feedback_counts", "wsess_convs", "kb_chunks",
	"kb_post", "kb_terms", "kb_stats", "kb_source", "kb_sources",
	"kb_source_order", "kb_gone", "kb_pages", "kb_page_chunks", "kb_due",
	"kb_vecmeta", "kb_vecseg", "kb_vecq", "kb_vecs", "kb_files",
	"actions", "action_order", "conv_resolve", "report_hours", "gaps",
	"gap_time", "atts", "att_chunks", "att_refs", "att_usage", "att_due",
	"att_conv", "att_extract", "att_text", "widget_org", "agent_org",
	"webhook_org", "kb_source_org", "action_org", "contact_org",
	"contact_counts", "invite_org", "conv_deliveries", "conv_mails",
	"contact_deliveries", "contact_mails", "msgs_gone", "turns_open",
	"widgets_retired", "att_queue", "att_lanes", "att_leases",
	"conv_created", "contact_links", "mail_bounds"
};

static void
test_db_places(void **state)
{
	size_t i, n = sizeof(db_places) / sizeof(db_places[0]);

	(void)state;
	assert_true(NDBS >= n);
	for (i = 0; i < n; i++)
		if (strcmp(store_dbs[i].name, db_places[i]) != 0)
			fail_msg("store_dbs[%zu] is %s, was %s: a table goes "
			    "last, never between", i, store_dbs[i].name,
			    db_places[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_and_unknown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ids_by_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_read_again_after_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_updates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_preview_utf8,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_byte_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_nested_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_shared, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_nested_abort,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_commit_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_reserve, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_floor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shared_flush, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test(test_foreign_env_refused),
		cmocka_unit_test(test_db_places),
		cmocka_unit_test_setup_teardown(test_turn_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_record_version,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup,
		    teardown),
	};

	log_init("test_store");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
