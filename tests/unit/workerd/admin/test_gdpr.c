/*
 * GET /v1/admin/contacts/:id/export against a fake storaged: every reply
 * the export reads (ST_CONTACT_GET, ST_CONTACT_CONVS' pages, the
 * messages of each page of conversations (ST_MSG_PAGES),
 * ST_CONTACT_SESSIONS' pages of sessions and of submissions) answered
 * whole, a byte short and a byte over; and a page of conversations whose
 * messages come in two replies across them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "test_client.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define ADMIN	"x-admin-api-key: " KEY "\r\n"
#define CONTACT	"0000000000000000000000000000000c"
#define HEAD	"{\"contact\":{\"id\":\"" CONTACT "\""

static struct peer P;
static struct tclient CL;

/*
 * The export's requests in order, answered by the table: each asks type
 * (cursor, of the pages' types; conv, ST_MSG_PAGES' one conversation) and
 * is answered with next as its next cursor, conv its conversation of
 * count messages.
 */
static const struct step {
	uint16_t type;
	const char *cursor, *next;
	int conv;
	uint32_t count;
} steps[] = {
	{ PROTO_ST_CONTACT_GET, NULL, NULL, 0, 0 },
	{ PROTO_ST_CONTACT_CONVS, "", "c2", 1, 1 },
	{ PROTO_ST_MSG_PAGES, NULL, NULL, 1, 1 },
	{ PROTO_ST_CONTACT_CONVS, "c2", "", 2, 0 },
	{ PROTO_ST_MSG_PAGES, NULL, NULL, 2, 0 },
	{ PROTO_ST_CONTACT_SESSIONS, "", "s2", 0, 0 },	/* sessions */
	{ PROTO_ST_CONTACT_SESSIONS, "s2", "", 0, 0 },
	{ PROTO_ST_CONTACT_SESSIONS, "", "", 0, 0 },	/* submissions */
};
#define NSTEPS	(sizeof(steps) / sizeof(steps[0]))

static int
setup(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
	return 0;
}

static int
teardown(void **state)
{
	peer_admin_teardown(&P);
	return 0;
}

static int
each_setup(void **state)
{
	admin_init(KEY);
	if (peer_connect(&P) < 0)
		return -1;
	return tclient_open(&CL) == 0 ? 0 : -1;
}

static int
each_teardown(void **state)
{
	tclient_close(&CL);
	return 0;
}

/* ST_AUDIT_NOTE "contact.export" of CONTACT, answered as recorded. */
static void
answer_note(void)
{
	struct peer_req pr;
	struct st_audit_note_req q;

	peer_expect(&P, &pr, PROTO_ST_AUDIT_NOTE);
	assert_int_equal(st_req_decode(PROTO_ST_AUDIT_NOTE, pr.payload,
	    pr.len, &q), 0);
	assert_string_equal(q.action, "contact.export");
	assert_string_equal(q.target, CONTACT);
	st_req_free(PROTO_ST_AUDIT_NOTE, &q);
	peer_reply(&P, &pr, NULL, 0);
}

/* pr is ST_MSG_PAGES of conversations first .. first + n - 1, from. */
static void
check_pages(const struct peer_req *pr, int first, uint32_t n, uint32_t from)
{
	struct st_msg_pages_req mp;
	char conv[ST_ID_HEX + 1];
	uint32_t i;

	assert_int_equal(st_req_decode(PROTO_ST_MSG_PAGES, pr->payload,
	    pr->len, &mp), 0);
	assert_int_equal(mp.n, n);
	for (i = 0; i < n; i++) {
		snprintf(conv, sizeof(conv), "%032x", first + (int)i);
		assert_string_equal(mp.ids[i].s, conv);
	}
	assert_int_equal(mp.from, from);
	assert_int_equal(mp.limit, ST_LIST_MAX);
	st_req_free(PROTO_ST_MSG_PAGES, &mp);
}

/* pr asks what s says it should. */
static void
check_step(const struct peer_req *pr, const struct step *s)
{
	struct st_id_page_req one;
	struct st_contact_cursor_req cq;

	if (s->type == PROTO_ST_CONTACT_GET) {
		assert_int_equal(st_req_decode(s->type, pr->payload, pr->len,
		    &one), 0);
		assert_string_equal(one.id, CONTACT);
		/* The contact alone: its conversations are the pages'. */
		assert_int_equal(one.limit, 1);
		assert_string_equal(one.cursor, "");
		st_req_free(s->type, &one);
	} else if (s->type == PROTO_ST_MSG_PAGES) {
		check_pages(pr, s->conv, 1, 0);
	} else {
		assert_int_equal(st_req_decode(s->type, pr->payload, pr->len,
		    &cq), 0);
		assert_string_equal(cq.id, CONTACT);
		assert_string_equal(cq.cursor, s->cursor);
		st_req_free(s->type, &cq);
	}
}

static void
reply_contact(const struct peer_req *pr, int cut)
{
	struct st_contact_get_rep g;

	memset(&g, 0, sizeof(g));
	strlcpy(g.contact.id, CONTACT, sizeof(g.contact.id));
	g.contact.name = "Jane";
	g.contact.email = "jane@shop.example";
	g.contact.phone = "";
	g.contact.created_at = g.contact.updated_at = 1700000000000ULL;
	peer_reply_cut(&P, pr, &g, cut);
}

/* A page of n conversations from first, linked unverified, then next. */
static void
reply_convs_n(const struct peer_req *pr, int first, uint32_t n,
    uint32_t count, const char *next, int cut)
{
	struct st_clink l[3];
	struct st_contact_convs_rep rep = { NULL, n, l, next };
	struct st_conv c[3];
	uint32_t i;

	assert_true(n <= 3);
	for (i = 0; i < n; i++) {
		l[i] = (struct st_clink){ 1, "Jane", "jane@shop.example", "" };
		test_fill_conv(&c[i], first + (int)i, count, "last");
	}
	rep.convs = c;
	peer_reply_cut(&P, pr, &rep, cut);
	for (i = 0; i < n; i++)
		st_conv_free(&c[i]);
}

static void
reply_convs(const struct peer_req *pr, const struct step *s, int cut)
{
	reply_convs_n(pr, s->conv, 1, s->count, s->next, cut);
}

/*
 * ST_MSG_PAGES' reply: message k (of n) of conversation convs[k], then
 * where the next page starts.
 */
static void
reply_pages(const struct peer_req *pr, const int *convs, uint32_t n,
    uint32_t next_conv, uint32_t next_from, int cut)
{
	struct st_msg_pages_rep mp;
	struct st_msg m[3];
	uint32_t k;

	assert_true(n <= 3);
	for (k = 0; k < n; k++)
		test_fill_msg(&m[k], convs[k], (int)k, "hello gdpr");
	memset(&mp, 0, sizeof(mp));
	mp.msgs = m;
	mp.n = n;
	mp.next_conv = next_conv;
	mp.next_from = next_from;
	peer_reply_cut(&P, pr, &mp, cut);
	for (k = 0; k < n; k++)
		st_msg_free(&m[k]);
}

/* Conversation conv's count (0 or 1) messages, none left. */
static void
reply_msgs(const struct peer_req *pr, const struct step *s, int cut)
{
	reply_pages(pr, &s->conv, s->count, 1, 0, cut);
}

/* A page of one session with one submission. */
static void
reply_sessions(const struct peer_req *pr, const struct step *s, int cut)
{
	struct st_contact_sess cs;
	struct st_contact_sess_rep rep = { &cs, 1, "" };

	strlcpy(rep.next_cursor, s->next, sizeof(rep.next_cursor));
	memset(&cs, 0, sizeof(cs));
	strlcpy(cs.session, "sess-1", sizeof(cs.session));
	strlcpy(cs.widget, "shop", sizeof(cs.widget));
	cs.created_at = cs.active_at = 1700000000000ULL;
	cs.expires_at = 1800000000000ULL;
	cs.submissions = 1;
	cs.last.name = "Jane";
	cs.last.email = "jane@shop.example";
	cs.last.phone = "";
	peer_reply_cut(&P, pr, &rep, cut);
}

/* Step i's request, answered cut; the audit note after the contact. */
static void
answer_step(size_t i, int cut)
{
	const struct step *s = &steps[i];
	struct peer_req pr;

	peer_expect(&P, &pr, s->type);
	check_step(&pr, s);
	if (s->type == PROTO_ST_CONTACT_GET)
		reply_contact(&pr, cut);
	else if (s->type == PROTO_ST_CONTACT_CONVS)
		reply_convs(&pr, s, cut);
	else if (s->type == PROTO_ST_MSG_PAGES)
		reply_msgs(&pr, s, cut);
	else
		reply_sessions(&pr, s, cut);
	if (s->type == PROTO_ST_CONTACT_GET && cut == 0)
		answer_note();
}

/* The whole document's arrays: 2 conversations, 2 sessions, 1 submission. */
static void
check_document(const struct tresp *r)
{
	json_error_t jerr;
	json_t *doc;

	assert_non_null(strstr(r->head, "Content-Disposition: attachment; "
	    "filename=\"contact-" CONTACT ".json\"\r\n"));
	assert_non_null(doc = json_loadb(r->body, r->body_len, 0, &jerr));
	assert_int_equal(json_array_size(json_object_get(doc,
	    "conversations")), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "sessions")),
	    2);
	assert_int_equal(json_array_size(json_object_get(doc,
	    "submissions")), 1);
	json_decref(doc);
	assert_non_null(strstr(r->body, "\"content\":\"hello gdpr\""));
	assert_non_null(strstr(r->body, "\"widget\":\"shop\""));
	assert_non_null(strstr(r->body,
	    "\"submissions\":[{\"session\":\"sha256:"));
}

/*
 * The export's end after step's reply of cut: whole, a complete 200
 * document; cut before the head went out (the contact), a 500 JSON
 * answer; after it, a stream cut short (no final chunk, no document that
 * parses, the connection closed). Then nothing in flight, nothing asked.
 */
static void
expect_end(size_t step, int cut)
{
	json_error_t jerr;
	struct tresp r;

	if (cut != 0 && step == 0) {
		tclient_expect_error(&CL, 500, "Internal server error");
	} else if (cut != 0) {
		assert_true(tclient_wait_eof(&CL, 3000));
		assert_int_equal(tresp_parse(&CL, &CL.off, 1, &r), 1);
		assert_int_equal(r.status, 200);
		assert_false(r.complete);
		assert_int_equal(strncmp(r.body, HEAD, strlen(HEAD)), 0);
		assert_null(json_loadb(r.body, r.body_len, 0, &jerr));
		tresp_free(&r);
	} else {
		assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
		assert_int_equal(r.status, 200);
		assert_true(r.complete);
		check_document(&r);
		tresp_free(&r);
	}
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
	tclient_close(&CL);
	assert_int_equal(tclient_open(&CL), 0);
}

/*
 * Each reply of the export in turn, the ones before it whole, answered
 * whole, a byte short and a byte over: ST_CONTACT_GET, both pages of
 * ST_CONTACT_CONVS, each one's ST_MSG_PAGES, both pages of sessions and the page of
 * submissions (ST_CONTACT_SESSIONS). The request ends as expect_end says.
 */
static void
test_contact_export_malformed(void **state)
{
	size_t step, i;
	int cut;

	for (step = 0; step < NSTEPS; step++) {
		for (cut = -1; cut <= 1; cut++) {
			tclient_request(&CL, "GET", "/v1/admin/contacts/"
			    CONTACT "/export", ADMIN, NULL);
			for (i = 0; i < NSTEPS; i++) {
				answer_step(i, i == step ? cut : 0);
				if (i == step && cut != 0)
					break;
			}
			expect_end(step, cut);
		}
	}
}

/*
 * The audit note's empty reply padded: the contact's export not noted,
 * it does not start (500 JSON, nothing more asked); the connection goes
 * on, and storaged's error after the head cuts the stream.
 */
static void
test_contact_export_note_malformed(void **state)
{
	struct peer_req pr;

	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT "/export",
	    ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_GET);
	reply_contact(&pr, 0);
	peer_expect(&P, &pr, PROTO_ST_AUDIT_NOTE);
	peer_reply(&P, &pr, "x", 1);
	tclient_expect_error(&CL, 500, "Internal server error");
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
	/* The connection goes on: the next export runs, storaged fails it. */
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT "/export",
	    ADMIN, NULL);
	answer_step(0, 0);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_CONVS);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	expect_end(1, 1);
}

/* The sessions' and submissions' empty pages; then the document. */
static json_t *
pages_end(void)
{
	struct st_contact_sess_rep rep = { NULL, 0, "" };
	struct peer_req pr;
	json_error_t jerr;
	struct tresp r;
	json_t *doc;

	peer_expect(&P, &pr, PROTO_ST_CONTACT_SESSIONS);
	peer_reply_cut(&P, &pr, &rep, 0);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_SESSIONS);
	peer_reply_cut(&P, &pr, &rep, 0);
	assert_true(tresp_wait(&CL, &CL.off, &r, 3000));
	assert_int_equal(r.status, 200);
	assert_true(r.complete);
	doc = json_loadb(r.body, r.body_len, 0, &jerr);
	tresp_free(&r);
	assert_non_null(doc);
	return doc;
}

/* Conversation i of doc: its id, and how many messages it holds. */
static void
check_conv(json_t *doc, size_t i, int conv, size_t nmsgs)
{
	json_t *c = json_array_get(json_object_get(doc, "conversations"), i);
	json_t *msgs = json_object_get(c, "messages");
	char id[ST_ID_HEX + 1];
	size_t k;

	snprintf(id, sizeof(id), "%032x", conv);
	assert_string_equal(json_string_value(json_object_get(c, "_id")), id);
	assert_int_equal(json_array_size(msgs), nmsgs);
	for (k = 0; k < nmsgs; k++)
		assert_string_equal(json_string_value(json_object_get(
		    json_array_get(msgs, k), "conversationId")), id);
}

/*
 * An export begun: the contact answered and noted, then one page of n
 * conversations from 1 (count messages each, none after); *pr is the
 * ST_MSG_PAGES that follows, not yet answered.
 */
static void
export_to_pages(struct peer_req *pr, uint32_t n, uint32_t count)
{
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT "/export",
	    ADMIN, NULL);
	answer_step(0, 0);
	peer_expect(&P, pr, PROTO_ST_CONTACT_CONVS);
	reply_convs_n(pr, 1, n, count, "", 0);
	peer_expect(&P, pr, PROTO_ST_MSG_PAGES);
}

/*
 * A page of three conversations, their messages in two replies: the first
 * ends within conversation 1 (asked again from its third message), the
 * second passes over conversation 2 (deleted meanwhile: none) to 3. Each
 * message lands in its own conversation's array, 2 with none.
 */
static void
test_contact_export_pages(void **state)
{
	static const int first[] = { 1, 1 }, second[] = { 1, 3 };
	struct peer_req pr;
	json_t *doc;

	export_to_pages(&pr, 3, 3);
	check_pages(&pr, 1, 3, 0);
	reply_pages(&pr, first, 2, 0, 2, 0);
	peer_expect(&P, &pr, PROTO_ST_MSG_PAGES);
	check_pages(&pr, 1, 3, 2);
	reply_pages(&pr, second, 2, 3, 0, 0);
	doc = pages_end();
	assert_int_equal(json_array_size(json_object_get(doc,
	    "conversations")), 3);
	check_conv(doc, 0, 1, 3);
	check_conv(doc, 1, 2, 0);
	check_conv(doc, 2, 3, 1);
	json_decref(doc);
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
}

/*
 * A message of a conversation that was not asked, or a reply whose
 * messages went past where it says the next page starts: the stream is
 * cut, never a document that nests them wrong.
 */
static void
test_contact_export_stray_message(void **state)
{
	static const int stray[] = { 9 }, third[] = { 3 };
	struct peer_req pr;

	export_to_pages(&pr, 1, 1);
	reply_pages(&pr, stray, 1, 1, 0, 0);
	expect_end(1, 1);
	export_to_pages(&pr, 3, 1);
	reply_pages(&pr, third, 1, 1, 0, 0);
	expect_end(1, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_contact_export_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(
		    test_contact_export_note_malformed, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_contact_export_pages,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(
		    test_contact_export_stray_message, each_setup,
		    each_teardown),
	};

	log_init("test_gdpr");
	return cmocka_run_group_tests(tests, setup, teardown);
}
