/*
 * A visitor session's conversations (issue 26, storaged/wsconvstore.c)
 * through the dispatcher: a new conversation, the list and its bound,
 * reading only the session's own, the entries swept with the session, and
 * a resume saying whether there is an earlier one to open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "storeint.h"
#include "test_fixture.h"
#include "widgetmsg.h"
#include "widgetstore.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-wsconvs-XXXXXX", 1);
}

static void
w_new(struct fix *f, struct st_widget *out)
{
	fix_widget_new(f, "Convs", out);
}

/* A message of session tb (made if need be): its conversation's id. */
static void
say(struct fix *f, const char *wid, uint8_t tb, const char *content,
    int *created, char id[ST_ID_HEX + 1])
{
	struct st_ws_begin_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .content = content,
	    .rate_key = "ws:1.2.3.4", .window_ms = 60000, .history_max = 10,
	    .idle_ms = 1000, .create = 1 };
	struct st_begin_rep rep;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_BEGIN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	*created = rep.ok.created;
	strlcpy(id, rep.ok.conv_id, ST_ID_HEX + 1);
	st_rep_free(PROTO_ST_WS_BEGIN, &rep);
	fix_turns_end(f);	/* as its reply would */
}

static void
conv_new(struct fix *f, const char *wid, uint8_t tb, char ended[ST_ID_HEX + 1])
{
	struct st_ws_session_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN };
	struct st_ws_conv_new_rep rep;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_CONV_NEW, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	strlcpy(ended, rep.ended, ST_ID_HEX + 1);
}

static void
conv_list(struct fix *f, const char *wid, uint8_t tb,
    struct st_ws_conv_list_rep *rep)
{
	struct st_ws_session_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN };

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_CONV_LIST, &q, rep), 0);
	assert_int_equal(rep->result, ST_WS_OK);
}

/* The result of ST_WS_CONV_NEW or _LIST (type) as session tb. */
static int
session_result(struct fix *f, const char *wid, uint8_t tb, uint16_t type)
{
	struct st_ws_session_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN };
	struct st_ws_conv_new_rep nr;
	struct st_ws_conv_list_rep lr;
	int result;

	memset(q.token, tb, sizeof(q.token));
	if (type == PROTO_ST_WS_CONV_NEW) {
		assert_int_equal(request_dec(f, type, &q, &nr), 0);
		return nr.result;
	}
	assert_int_equal(request_dec(f, type, &q, &lr), 0);
	result = lr.result;
	st_rep_free(type, &lr);
	return result;
}

/* The result of reading conversation id as session tb; *n its messages. */
static int
conv_read(struct fix *f, const char *wid, uint8_t tb, const char *id,
    uint32_t *n, char first[64])
{
	struct st_ws_conv_read_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = id, .history_max = 50 };
	struct st_ws_conv_read_rep rep;
	int result;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_CONV_READ, &q, &rep), 0);
	result = rep.result;
	*n = rep.nhistory;
	first[0] = '\0';
	if (rep.nhistory > 0)
		strlcpy(first, rep.history[0].content, 64);
	if (result == ST_WS_OK)
		assert_string_equal(rep.conv_id, id);
	st_rep_free(PROTO_ST_WS_CONV_READ, &rep);
	return result;
}

/* wsconvs_newest() of session tb is id. */
static void
newest_is(struct fix *f, uint8_t tb, const char *id)
{
	uint8_t h[ST_TOKEN_HASH_LEN], cid[16];
	char hex[ST_ID_HEX + 1];
	struct store_txn t;

	memset(h, tb, sizeof(h));
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(wsconvs_newest(&t, h, cid), 0);
	store_abort(&t);
	proto_hex_encode(cid, sizeof(cid), hex);
	assert_string_equal(hex, id);
}

static void
test_new_list_read(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_ws_conv_list_rep l;
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char ended[ST_ID_HEX + 1], first[64];
	uint32_t n;
	int created;

	w_new(f, &a);
	/*
	 * No session stored: gone (the worker answers a socket with nothing
	 * stored itself, and asks only for a stored one: closed 4001).
	 */
	assert_int_equal(session_result(f, a.widget_id, 1,
	    PROTO_ST_WS_CONV_NEW), ST_WS_NO_SESSION);
	assert_int_equal(session_result(f, a.widget_id, 1,
	    PROTO_ST_WS_CONV_LIST), ST_WS_NO_SESSION);

	say(f, a.widget_id, 1, "first question", &created, c1);
	assert_int_equal(created, 1);
	fake_now += 10;
	conv_new(f, a.widget_id, 1, ended);
	assert_string_equal(ended, c1);
	/* Again before a message: nothing more to end. */
	conv_new(f, a.widget_id, 1, ended);
	assert_string_equal(ended, "");
	newest_is(f, 1, c1);	/* the one just left */
	say(f, a.widget_id, 1, "second question", &created, c2);
	assert_int_equal(created, 1);
	assert_string_not_equal(c1, c2);
	say(f, a.widget_id, 1, "more", &created, other);
	assert_int_equal(created, 0);
	assert_string_equal(other, c2);

	conv_list(f, a.widget_id, 1, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.convs[0].id, c2);
	assert_int_equal(l.convs[0].current, 1);
	assert_string_equal(l.convs[0].preview, "second question");
	assert_string_equal(l.convs[1].id, c1);
	assert_int_equal(l.convs[1].current, 0);
	assert_string_equal(l.convs[1].preview, "first question");
	assert_true(l.convs[1].started_at < l.convs[0].started_at);
	st_rep_free(PROTO_ST_WS_CONV_LIST, &l);

	/* The old one reads; another session's and no id do not. */
	assert_int_equal(conv_read(f, a.widget_id, 1, c1, &n, first), ST_WS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(first, "first question");
	assert_int_equal(conv_read(f, a.widget_id, 1, c2, &n, first), ST_WS_OK);
	assert_int_equal(n, 2);
	say(f, a.widget_id, 2, "someone else", &created, other);
	assert_int_equal(conv_read(f, a.widget_id, 2, c1, &n, first),
	    ST_WS_NO_CONV);
	assert_int_equal(conv_read(f, a.widget_id, 1, other, &n, first),
	    ST_WS_NO_CONV);
	assert_int_equal(conv_read(f, a.widget_id, 1, "zz", &n, first),
	    ST_WS_NO_CONV);
	assert_int_equal(conv_read(f, a.widget_id, 3, c1, &n, first),
	    ST_WS_NO_SESSION);
	st_widget_free(&a);
}

/*
 * Session tb resumed (ST_WS_OPEN): whether it says the session lists a
 * conversation other than its current one.
 */
static int
open_earlier(struct fix *f, const char *wid, uint8_t tb)
{
	struct st_ws_open_req q = { .widget_id = wid, .origin = "",
	    .token_len = ST_TOKEN_HASH_LEN, .new_hash_len = ST_TOKEN_HASH_LEN,
	    .history_max = 10 };
	struct st_ws_open_rep rep;
	int earlier;

	memset(q.token, tb, sizeof(q.token));
	memset(q.new_hash, 0xee, sizeof(q.new_hash));
	assert_int_equal(request_dec(f, PROTO_ST_WS_OPEN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	assert_int_equal(rep.ok.resumed, 1);
	earlier = rep.ok.earlier;
	st_rep_free(PROTO_ST_WS_OPEN, &rep);
	return earlier;
}

/*
 * A resume says "earlier" once the session has a conversation besides
 * the one it is on: not with one, nor right after New with none; yes
 * after New (the one left), before and after the new one's first message.
 */
static void
test_resume_earlier(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1], ended[ST_ID_HEX + 1];
	int created;

	w_new(f, &a);
	say(f, a.widget_id, 5, "only one", &created, c1);
	assert_int_equal(open_earlier(f, a.widget_id, 5), 0);
	say(f, a.widget_id, 5, "still the one", &created, c1);
	assert_int_equal(open_earlier(f, a.widget_id, 5), 0);
	fake_now += 10;
	conv_new(f, a.widget_id, 5, ended);
	assert_string_equal(ended, c1);
	/* None current yet: the one left is an earlier one. */
	assert_int_equal(open_earlier(f, a.widget_id, 5), 1);
	say(f, a.widget_id, 5, "the new one", &created, c2);
	assert_int_equal(created, 1);
	assert_int_equal(open_earlier(f, a.widget_id, 5), 1);
	/* Another session of the widget: its own, one. */
	say(f, a.widget_id, 6, "someone else", &created, c2);
	assert_int_equal(open_earlier(f, a.widget_id, 6), 0);
	st_widget_free(&a);
}

static void
test_bound_and_sweep(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_ws_conv_list_rep l;
	struct store_sweep o;
	struct store_txn t;
	char c1[ST_ID_HEX + 1], id[ST_ID_HEX + 1], ended[ST_ID_HEX + 1];
	char text[32], first[64];
	uint32_t n;
	int created, i;

	w_new(f, &a);
	say(f, a.widget_id, 1, "q0", &created, c1);
	for (i = 1; i <= ST_WS_CONVS_MAX + 4; i++) {
		fake_now += 1;
		conv_new(f, a.widget_id, 1, ended);
		snprintf(text, sizeof(text), "q%d", i);
		say(f, a.widget_id, 1, text, &created, id);
		assert_int_equal(created, 1);
	}
	assert_int_equal(db_entries(f, "wsess_convs"), ST_WS_CONVS_MAX);
	assert_int_equal(db_entries(f, "convs"), ST_WS_CONVS_MAX + 5);
	conv_list(f, a.widget_id, 1, &l);
	assert_int_equal(l.n, ST_WS_CONVS_MAX);
	assert_string_equal(l.convs[0].preview, text);
	assert_string_equal(l.convs[0].id, id);
	assert_string_equal(l.convs[ST_WS_CONVS_MAX - 1].preview, "q5");
	st_rep_free(PROTO_ST_WS_CONV_LIST, &l);
	/* The oldest left the list: no longer the session's to read. */
	assert_int_equal(conv_read(f, a.widget_id, 1, c1, &n, first),
	    ST_WS_NO_CONV);

	/* Expired: the session's entries go with it; conversations stay. */
	fake_now += 2000;
	do {
		assert_int_equal(store_begin(f->st, &t, 0), 0);
		assert_int_equal(store_wsess_sweep(&t, 64, 0, &o), 0);
		assert_int_equal(store_commit(&t), 0);
	} while (o.more);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(db_entries(f, "wsess_convs"), 0);
	assert_int_equal(db_entries(f, "convs"), ST_WS_CONVS_MAX + 5);
	st_widget_free(&a);
}

/* Conversation id's contact id into out. */
static void
conv_contact(struct fix *f, const char *id, char out[ST_ID_HEX + 1])
{
	uint8_t cid[16];
	struct store_txn t;
	struct st_conv c;

	assert_int_equal(proto_hex_decode(id, cid, sizeof(cid)), 0);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(conv_load(&t, cid, &c), 0);
	store_abort(&t);
	strlcpy(out, c.contact_id, ST_ID_HEX + 1);
	st_conv_free(&c);
}

/*
 * A verified identify links the session's conversations to its contact:
 * the earlier ones it lists as well as the current one.
 */
static void
test_identify_links_all(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_ws_identify_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .external_id = "user-7", .name = "", .email = "", .create = 1 };
	struct st_ws_identify_rep rep;
	unsigned char mac[EVP_MAX_MD_SIZE];
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1], ended[ST_ID_HEX + 1];
	char hex[ST_SECRET_HEX + 1], got[ST_ID_HEX + 1];
	unsigned int n = 0;
	int created;

	w_new(f, &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	say(f, a.widget_id, 4, "before", &created, c1);
	conv_new(f, a.widget_id, 4, ended);
	say(f, a.widget_id, 4, "after", &created, c2);
	assert_string_not_equal(c1, c2);

	assert_non_null(HMAC(EVP_sha256(), sec.secret, ST_SECRET_HEX,
	    (const unsigned char *)q.external_id, strlen(q.external_id), mac,
	    &n));
	proto_hex_encode(mac, n, hex);
	q.widget_id = a.widget_id;
	q.hash = hex;
	memset(q.token, 4, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_IDENTIFY, &q, &rep), 0);
	assert_int_equal(rep.verified, 1);
	conv_contact(f, c2, got);
	assert_string_equal(got, rep.contact_id);
	conv_contact(f, c1, got);
	assert_string_equal(got, rep.contact_id);
	st_widget_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
		T(test_new_list_read),
		T(test_resume_earlier),
		T(test_bound_and_sweep),
		T(test_identify_links_all),
#undef T
	};

	log_init("test_wsconvs");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
