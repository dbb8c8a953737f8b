/*
 * Knowledge gaps (storaged/gapstore.c) through the dispatcher: an answer
 * saying it does not know (any case, a curly apostrophe) or whose search
 * found nothing makes its question a gap; one that does not, or says so
 * past the bytes read, none; a person asked for makes one; reasons of
 * one question add up in one gap; ST_GAP_LIST lists who asks's
 * organisation's newest first, with the question's terms (those of two
 * wordings of one question meet), within its range, and says when more
 * were left; ST_GAP_DELETE deletes its own only; a deleted conversation
 * takes its gaps; the table holds no entry left behind; small talk (a
 * greeting, thanks, asking for a person, no terms at all) is no gap,
 * whatever showed it, and a question beside it still is; small talk
 * after a question (four messages of it at most) leaves that question
 * the gap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "stmsgs.h"
#include "test_fixture.h"
#include "test_who.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-gapstore-XXXXXX", 0);
}

/* A message of role in conversation id. */
static void
append(struct fix *f, const char *id, const char *role, const char *content,
    uint8_t knowledge)
{
	struct st_msg_append_req q = { .conv_id = id, .role = role,
	    .content = content, .knowledge = knowledge };

	assert_int_equal(request_st_err(f, PROTO_ST_MSG_APPEND, &q), 0);
}

/* A conversation of a question and its answer, a second after the last: its id. */
static void
turn(struct fix *f, const char *session, const char *q, const char *a,
    uint8_t knowledge, char id[ST_ID_HEX + 1])
{
	fake_now += 1000;
	fix_conv_new(f, session, id);
	append(f, id, "user", q, 0);
	append(f, id, "assistant", a, knowledge);
}

/* who's gaps (NULL: the default organisation's) into rep, limit at most. */
static void
list(struct fix *f, const struct st_who *who, uint32_t limit,
    struct st_gap_list_rep *rep)
{
	struct st_gap_list_req q = { 0, UINT64_MAX, "", "", limit };

	assert_int_equal(request_who(f, who, PROTO_ST_GAP_LIST, &q, rep,
	    NULL), 0);
}

static uint64_t
delete(struct fix *f, const struct st_who *who, const char *id)
{
	struct st_str ids[1] = { { id } };
	struct st_gap_delete_req q = { ids, 1 };
	struct st_u64 rep;

	assert_int_equal(request_who(f, who, PROTO_ST_GAP_DELETE, &q, &rep,
	    NULL), 0);
	return rep.v;
}

static void
test_answers(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_rep l;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1], c[ST_ID_HEX + 1];
	char d[ST_ID_HEX + 1], e[ST_ID_HEX + 1], late[600];

	turn(f, "s1", "How do I return a jacket?",
	    "I\xe2\x80\x99M NOT SURE about returns.", ST_MSG_KB_NONE, a);
	turn(f, "s2", "Where is the shop?", "On Main Street.",
	    ST_MSG_KB_FOUND, b);
	turn(f, "s3", "Returning jackets: how?", "Here is what I found.",
	    ST_MSG_KB_NOT_FOUND, c);
	/* Said past the bytes read: not a gap. */
	memset(late, 'x', sizeof(late));
	memcpy(late + 450, " i don't know", 13);
	late[sizeof(late) - 1] = '\0';
	turn(f, "s4", "Tell me a long story", late, ST_MSG_KB_NONE, d);
	turn(f, "s5", "And the warranty?", "Two years.", ST_MSG_KB_NONE, e);
	(void)e;

	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.more, 0);
	/* Newest first. */
	assert_string_equal(l.gaps[0].conv_id, c);
	assert_string_equal(l.gaps[0].question, "Returning jackets: how?");
	assert_int_equal(l.gaps[0].reasons, ST_GAP_NOT_FOUND);
	assert_string_equal(l.gaps[1].conv_id, a);
	assert_int_equal(l.gaps[1].reasons, ST_GAP_DONT_KNOW);
	assert_int_equal(strlen(l.gaps[1].id), ST_GAP_ID_HEX);
	assert_memory_equal(l.gaps[1].id, a, ST_ID_HEX);
	/* return + jacket, stemmed alike in both wordings. */
	assert_int_equal(strlen(l.gaps[0].terms), 16);
	assert_string_equal(l.gaps[0].terms, l.gaps[1].terms);
	st_rep_free(PROTO_ST_GAP_LIST, &l);

	/* A person moving a into the queue asks for none: no reason more. */
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_SET,
	    &(struct st_handoff_set_req){ a, ST_HANDOFF_WAITING, "", 0 }), 0);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.gaps[1].reasons, ST_GAP_DONT_KNOW);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_SET,
	    &(struct st_handoff_set_req){ a, ST_HANDOFF_AI, "", 0 }), 0);

	/* The assistant asks for a person in a: one gap, both reasons. */
	assert_int_equal(request_st_err(f, PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ a }), 0);
	list(f, NULL, 1, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.more, 1);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.gaps[1].reasons, ST_GAP_DONT_KNOW | ST_GAP_HANDOFF);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	(void)b;
	(void)d;
	(void)e;
}

static void
test_scope_and_delete(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", "default",
	    ST_ROLE_OWNER), other;
	struct st_gap_list_rep l;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1], id[ST_GAP_ID_HEX + 1];

	turn(f, "s1", "Is it waterproof?", "I do not know.", 0, a);
	turn(f, "s2", "Is it warm?", "I could not find that.", 0, b);
	other = who_org_new(f, &key, "Other");

	list(f, &other, 10, &l);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	list(f, &key, 10, &l);
	assert_int_equal(l.n, 2);
	strlcpy(id, l.gaps[1].id, sizeof(id));
	st_rep_free(PROTO_ST_GAP_LIST, &l);

	/* Another organisation's: ignored; ours: gone, once. */
	assert_int_equal(delete(f, &other, id), 0);
	assert_int_equal(delete(f, &key, id), 1);
	assert_int_equal(delete(f, &key, id), 0);
	assert_int_equal(delete(f, &key, "not hex"), 0);
	list(f, &key, 10, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.gaps[0].conv_id, b);
	st_rep_free(PROTO_ST_GAP_LIST, &l);

	/* The conversation deleted: its gap and its index entry go. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ b }), 0);
	list(f, &key, 10, &l);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	assert_int_equal(db_entries(f, "gaps"), 0);
	assert_int_equal(db_entries(f, "gap_time"), 0);
}

/*
 * A widget's list among many others' gaps looks at limit x
 * ST_GAP_SCAN_PER of them at most: past them, more, and nothing walked
 * further.
 */
static void
test_scan_bound(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_req q = { 0, UINT64_MAX, "wgt_elsewhere", "", 1 };
	struct st_gap_list_rep l;
	char id[ST_ID_HEX + 1], session[16];
	int i;

	for (i = 0; i < ST_GAP_SCAN_PER + 1; i++) {
		snprintf(session, sizeof(session), "s%d", i);
		turn(f, session, "Is it waterproof?", "I do not know.", 0, id);
	}
	/* Another widget's: 40 looked at for 1, so more, none found. */
	assert_int_equal(request_who(f, NULL, PROTO_ST_GAP_LIST, &q, &l,
	    NULL), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.more, 1);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	/* 80 for 2: all 41 looked at, none left. */
	q.limit = 2;
	assert_int_equal(request_who(f, NULL, PROTO_ST_GAP_LIST, &q, &l,
	    NULL), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.more, 0);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	/* Every widget's: the newest, and more. */
	list(f, NULL, 1, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.gaps[0].conv_id, id);
	assert_int_equal(l.more, 1);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
}

/* The other languages' "I don't know": a gap; a plain answer in them, none. */
static void
test_languages(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_rep l;
	char id[ST_ID_HEX + 1];

	turn(f, "s1", "Wie lange dauert der Versand?",
	    "Das weiß ich leider nicht: ich weiß es nicht.", 0, id);
	turn(f, "s2", "Combien coûte la livraison ?",
	    "Désolé, je ne sais pas.", 0, id);
	turn(f, "s3", "¿Cuánto cuesta el envío?", "No lo sé.", 0, id);
	turn(f, "s4", "Quanto costa la spedizione?", "Costa 5 euro.", 0, id);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.gaps[0].question, "¿Cuánto cuesta el envío?");
	assert_string_equal(l.gaps[2].question, "Wie lange dauert der Versand?");
	st_rep_free(PROTO_ST_GAP_LIST, &l);
}

/*
 * The answer is lowered eight ASCII bytes a step and a byte at a time
 * elsewhere: a phrase in capitals is found wherever it falls in a word
 * of eight, after two-byte characters or with a curly apostrophe, and
 * when it ends at the last byte read (400), not one byte later.
 */
static void
test_answer_places(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_rep l;
	char a[420], id[ST_ID_HEX + 1], session[16];
	int n = 0, k;

	for (k = 0; k < 9; k++) {
		memset(a, 'X', (size_t)k);
		snprintf(a + k, sizeof(a) - (size_t)k, "%s", k < 6 ?
		    " I DON'T KNOW." : " Sorry: I DON\xe2\x80\x99T KNOW.");
		snprintf(session, sizeof(session), "a%d", k);
		turn(f, session, "Is it waterproof?", a, 0, id);
		n++;
	}
	for (k = 1; k <= 3; k++) {
		memset(a, 0, sizeof(a));
		while (strlen(a) < 2 * (size_t)k)
			strcat(a, "\xc3\xa9");
		strcat(a, "I DON\xe2\x80\x99T KNOW.");
		snprintf(session, sizeof(session), "b%d", k);
		turn(f, session, "Is it waterproof?", a, 0, id);
		n++;
	}
	/* "I DON'T KNOW" is 12 bytes: bytes 388 to 399, then 389 to 400. */
	for (k = 388; k <= 389; k++) {
		memset(a, 'X', (size_t)k);
		snprintf(a + k, sizeof(a) - (size_t)k, "I DON'T KNOW");
		snprintf(session, sizeof(session), "c%d", k);
		turn(f, session, "Is it waterproof?", a, 0, id);
	}
	n++;
	list(f, NULL, 50, &l);
	assert_int_equal(l.n, n);
	/* Newest first: the one past the bytes read is none. */
	assert_string_not_equal(l.gaps[0].conv_id, id);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
}

/* A long question is kept cut, marked: 124 characters and "…". */
static void
test_long_question(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_rep l;
	char q[400], id[ST_ID_HEX + 1];

	memset(q, 'q', sizeof(q));
	memcpy(q, "why ", 4);
	q[sizeof(q) - 1] = '\0';
	turn(f, "s1", q, "I don't know.", 0, id);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(strlen(l.gaps[0].question), 124 + 3);
	assert_memory_equal(l.gaps[0].question, q, 124);
	assert_string_equal(l.gaps[0].question + 124, "\xe2\x80\xa6");
	st_rep_free(PROTO_ST_GAP_LIST, &l);
}

static void
test_bounds(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_req q = { 10, 5, "", "", 10 };
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_GAP_LIST, &q, &r),
	    PROTO_E_INVALID);
	dreply_free(&r);
	q = (struct st_gap_list_req){ 0, 5, "", "", 0 };
	assert_int_equal(request_st(f, PROTO_ST_GAP_LIST, &q, &r),
	    PROTO_E_INVALID);
	dreply_free(&r);
	q.limit = ST_GAP_LIST_MAX + 1;
	assert_int_equal(request_st(f, PROTO_ST_GAP_LIST, &q, &r),
	    PROTO_E_INVALID);
	dreply_free(&r);
}

/*
 * Small talk is no gap: a greeting handed to a person, thanks whose
 * answer found nothing, "can a person help me?" and a German "Hallo,
 * danke!" with an "I don't know", a question of stopwords alone; a
 * question of a word more (the invoice) handed to a person still is.
 */
static void
test_small_talk(void **state)
{
	struct fix *f = *state;
	static const char *const talk[] = {
		"hi", "Thanks!", "Can a person help me?", "Hallo, danke!",
		"Is it?", "Hello, can I talk to a real human please?",
	};
	struct st_gap_list_rep l;
	char id[ST_ID_HEX + 1], session[16];
	size_t k;

	for (k = 0; k < sizeof(talk) / sizeof(talk[0]); k++) {
		snprintf(session, sizeof(session), "t%zu", k);
		turn(f, session, talk[k], "I don't know.", ST_MSG_KB_NOT_FOUND,
		    id);
		assert_int_equal(request_st_err(f, PROTO_ST_TURN_HANDOFF,
		    &(struct st_id_req){ id }), 0);
	}
	turn(f, "q", "Can a person look at my invoice?", "Sure.",
	    ST_MSG_KB_NONE, id);
	assert_int_equal(request_st_err(f, PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ id }), 0);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.gaps[0].question,
	    "Can a person look at my invoice?");
	assert_int_equal(l.gaps[0].reasons, ST_GAP_HANDOFF);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	assert_int_equal(db_entries(f, "gaps"), 1);
	assert_int_equal(db_entries(f, "gap_time"), 1);
}

/* n turns of small talk ("thanks", "You're welcome!") appended to conversation id. */
static void
thanks(struct fix *f, const char *id, int n)
{
	while (n-- > 0) {
		append(f, id, "user", "thanks", 0);
		append(f, id, "assistant", "You're welcome!", ST_MSG_KB_NONE);
	}
}

/* The conversation id handed to a person by the assistant. */
static void
handoff(struct fix *f, const char *id)
{
	assert_int_equal(request_st_err(f, PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ id }), 0);
}

/*
 * Small talk after a question leaves that question the gap: asked, well
 * answered, then "thanks" and asking for a person, handed to a person,
 * the question is the gap; an "I don't know" to more thanks adds its
 * reason to it. Past four small talk messages nothing further back is
 * looked at; four are looked past.
 */
static void
test_small_talk_back(void **state)
{
	struct fix *f = *state;
	struct st_gap_list_rep l;
	char a[ST_ID_HEX + 1], b[ST_ID_HEX + 1], c[ST_ID_HEX + 1];

	turn(f, "s1", "How do I export my invoices?",
	    "Open Billing, then Export.", ST_MSG_KB_FOUND, a);
	thanks(f, a, 1);
	append(f, a, "user", "can I talk to a person", 0);
	handoff(f, a);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.gaps[0].question, "How do I export my invoices?");
	assert_string_equal(l.gaps[0].conv_id, a);
	assert_int_equal(l.gaps[0].reasons, ST_GAP_HANDOFF);
	st_rep_free(PROTO_ST_GAP_LIST, &l);

	append(f, a, "user", "ok, thanks!", 0);
	append(f, a, "assistant", "I don't know.", ST_MSG_KB_NONE);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.gaps[0].reasons, ST_GAP_HANDOFF | ST_GAP_DONT_KNOW);
	st_rep_free(PROTO_ST_GAP_LIST, &l);

	/* Five small talk messages after the question: too far back. */
	turn(f, "s2", "Is the jacket waterproof?", "Yes.", ST_MSG_KB_FOUND, b);
	thanks(f, b, 5);
	handoff(f, b);
	/* Four: looked past. */
	turn(f, "s3", "Does the coat shrink?", "No.", ST_MSG_KB_FOUND, c);
	thanks(f, c, 4);
	handoff(f, c);
	list(f, NULL, 10, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.gaps[0].conv_id, c);
	assert_string_equal(l.gaps[0].question, "Does the coat shrink?");
	assert_string_equal(l.gaps[1].conv_id, a);
	st_rep_free(PROTO_ST_GAP_LIST, &l);
	assert_int_equal(db_entries(f, "gaps"), 2);
	assert_int_equal(db_entries(f, "gap_time"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_scope_and_delete, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_languages, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_long_question, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_answer_places, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_bound, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_small_talk, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_small_talk_back, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
