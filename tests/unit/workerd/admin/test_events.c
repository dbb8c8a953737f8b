/*
 * GET /v1/admin/events' pure parts: an event as SSE text (the admin API's
 * JSON in its data line) and its id, which a Last-Event-ID resumes from;
 * and, with a fake storaged, a catch-up (ST_EV_SINCE) whose reply does
 * not decode and an event (ST_EV) that does not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "agentmsg.h"
#include "test_client.h"
#include "test_util.h"
#include "workerd.h"

/* The ring's id key the fake storaged gives (and format's). */
static const uint8_t IDKEY[ST_EV_KEY_LEN] = {
	0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* The id of (epoch, seq) under IDKEY, in a static buffer. */
static const char *
idof(uint64_t epoch, uint64_t seq)
{
	static char id[EVENTS_ID_LEN + 1];

	assert_int_equal(events_id_make(IDKEY, epoch, seq, id), 0);
	return id;
}

/* An event of kind on conversation 1, epoch 0xab, seq 7. */
static void
fill_event(struct st_event *ev, uint8_t kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->epoch = 0xab;
	ev->seq = 7;
	ev->at = 1700000009000ULL;
	ev->kind = kind;
	test_fill_conv(&ev->conv, 1, 2, "hello");
	ev->conv.handoff = ST_HANDOFF_HUMAN;
}

/* The SSE text of ev, NUL-terminated (malloc'd); NULL when not sent. */
static char *
format(const struct st_event *ev, int *rc)
{
	struct buf b;
	char *s;

	buf_init(&b);
	*rc = events_format(&b, ev, IDKEY);
	buf_add(&b, "", 1);
	s = *rc == 0 ? strdup(b.data) : NULL;
	if (*rc != 0)
		assert_int_equal(b.len, 1);	/* nothing appended */
	buf_free(&b);
	return s;
}

static const char conv_json[] =
    "{\"_id\":\"00000000000000000000000000000001\","
    "\"_creationTime\":1700000000001,"
    "\"sessionId\":\"sha256:abe633f3a47a2758174eabe9\","
    "\"createdAt\":1700000000001,\"updatedAt\":1700000000501,"
    "\"lastMessage\":\"hello\",\"widgetId\":\"default\","
    "\"messageCount\":2,\"contactId\":null,\"handoff\":\"human\","
    "\"assignee\":null,\"answered_by\":null,\"waiting_by\":null,"
    "\"visitorName\":\"\","
    "\"lastVisitorMessage\":\"\",\"unread\":false,"
    "\"state\":\"open\",\"snoozed_until\":null,\"resolved_by\":null,"
    "\"resolved_at\":null,\"handoff_requested_at\":null,\"rating\":null}";

static void
test_format_conversation(void **state)
{
	struct st_event ev;
	char want[2048], *s;
	int rc;

	fill_event(&ev, ST_EV_CONV_CREATED);
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "id: %s\nevent: conversation\n"
	    "data: {\"conversation\":%s}\n\n", idof(0xab, 7), conv_json);
	assert_string_equal(s, want);
	free(s);
	st_event_free(&ev);
}

static void
test_format_message(void **state)
{
	struct st_event ev;
	char prefix[256], *s;
	int rc;

	fill_event(&ev, ST_EV_MESSAGE);
	test_fill_msg(&ev.msg, 1, 2, "line one\nline two");
	strlcpy(ev.msg.role, "agent", sizeof(ev.msg.role));
	strlcpy(ev.msg.name, "Ada", sizeof(ev.msg.name));
	ev.seq = 12345678901234ULL;
	ev.epoch = 0xfedcba9876543210ULL;
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(prefix, sizeof(prefix), "id: %s\n"
	    "event: message\ndata: {\"conversation\":{",
	    idof(0xfedcba9876543210ULL, 12345678901234ULL));
	assert_true(strncmp(s, prefix, strlen(prefix)) == 0);
	/* One data line: the newline in the content is escaped. */
	assert_non_null(strstr(s, "\"content\":\"line one\\nline two\""));
	assert_non_null(strstr(s, "\"role\":\"agent\""));
	assert_non_null(strstr(s, "\"name\":\"Ada\",\"authorId\":null}}\n\n"));
	assert_int_equal(strchr(strstr(s, "data: "), '\n')[1], '\n');
	free(s);
	st_event_free(&ev);

	/* An assistant's message has no name. */
	fill_event(&ev, ST_EV_MESSAGE);
	test_fill_msg(&ev.msg, 1, 1, "hi");
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "\"name\""));
	free(s);
	st_event_free(&ev);
}

static void
test_format_handoff_contact(void **state)
{
	struct st_event ev;
	char want[2048], *s;
	int rc;

	fill_event(&ev, ST_EV_HANDOFF);
	ev.state = ST_HANDOFF_WAITING;
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "id: %s\nevent: handoff\n"
	    "data: {\"conversation\":%s,\"state\":\"waiting_human\","
	    "\"name\":\"\"}\n\n", idof(0xab, 7), conv_json);
	assert_string_equal(s, want);
	free(s);
	st_event_free(&ev);

	fill_event(&ev, ST_EV_CONTACT);
	ev.contact.name = strdup("Grace");
	ev.contact.email = strdup("g@example.com");
	ev.contact.phone = strdup("");
	s = format(&ev, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "id: %s\nevent: contact\n",
	    idof(0xab, 7));
	assert_true(strncmp(s, want, strlen(want)) == 0);
	assert_non_null(strstr(s, ",\"contact\":{"));
	assert_non_null(strstr(s, "\"g@example.com\""));
	free(s);
	st_event_free(&ev);
}

/* Typing is the visitors' only; an event without a seq is never sent. */
static void
test_format_not_sent(void **state)
{
	struct st_event ev;
	int rc;

	fill_event(&ev, ST_EV_TYPING);
	ev.seq = 0;
	ev.on = 1;
	assert_null(format(&ev, &rc));
	assert_int_equal(rc, 1);
	st_event_free(&ev);

	fill_event(&ev, 99);
	assert_null(format(&ev, &rc));
	assert_int_equal(rc, -1);
	st_event_free(&ev);
}

/* Bits in which two ids (32 hex digits each) differ. */
static int
bits_apart(const char *a, const char *b)
{
	uint8_t x[16], y[16];
	int i, n = 0;

	assert_int_equal(proto_hex_decode(a, x, sizeof(x)), 0);
	assert_int_equal(proto_hex_decode(b, y, sizeof(y)), 0);
	for (i = 0; i < 16; i++)
		n += __builtin_popcount((unsigned)(x[i] ^ y[i]));
	return n;
}

/*
 * An event's id: AES-128 of (epoch, seq) (FIPS-197's example: key
 * 00..0f, block 00112233..ff), read back under its key; consecutive
 * seqs' ids far apart (nothing to count by); under another key another
 * (epoch, seq); anything but 32 lowercase hex digits refused, untouched.
 */
static void
test_event_ids(void **state)
{
	static const uint8_t fips[ST_EV_KEY_LEN] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	static const char *bad[] = {
		"", "ab-7", "69c4e0d86a7b0430d8cdb78070b4c55",
		"69c4e0d86a7b0430d8cdb78070b4c55a0",
		"69C4E0D86A7B0430D8CDB78070B4C55A",
		"69c4e0d86a7b0430d8cdb78070b4c55g",
		" 69c4e0d86a7b0430d8cdb78070b4c55a",
	};
	char id[EVENTS_ID_LEN + 1], next[EVENTS_ID_LEN + 1];
	uint64_t e, q, seqs[] = { 0, 1, 7, 8, 1u << 20, UINT64_MAX };
	size_t i;

	assert_int_equal(events_id_make(fips, 0x0011223344556677ULL,
	    0x8899aabbccddeeffULL, id), 0);
	assert_string_equal(id, "69c4e0d86a7b0430d8cdb78070b4c55a");
	assert_int_equal(events_id_parse(fips, id, &e, &q), 0);
	assert_true(e == 0x0011223344556677ULL && q == 0x8899aabbccddeeffULL);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		assert_int_equal(events_id_make(IDKEY, 0xab, seqs[i], id), 0);
		assert_int_equal(strlen(id), EVENTS_ID_LEN);
		assert_int_equal(events_id_parse(IDKEY, id, &e, &q), 0);
		assert_true(e == 0xab && q == seqs[i]);
		assert_int_equal(events_id_make(IDKEY, 0xab, seqs[i] + 1,
		    next), 0);
		assert_true(bits_apart(id, next) >= 32);
		assert_int_equal(events_id_parse(fips, id, &e, &q), 0);
		assert_false(e == 0xab);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = q = 42;
		assert_int_equal(events_id_parse(IDKEY, bad[i], &e, &q), -1);
		assert_true(e == 42 && q == 42);	/* untouched */
	}
}

/* ------------------------------------------------- the stream, fake peer */

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define RETRY	"retry: 2000\n\n"

/* A stream opened on cl with the install's key, resuming after (0xab, 7). */
static void
open_resumed(struct tclient *cl)
{
	char head[256];

	assert_int_equal(tclient_open(cl), 0);
	snprintf(head, sizeof(head), "x-admin-api-key: %s\r\n"
	    "Last-Event-ID: %s\r\n", KEY, idof(0xab, 7));
	tclient_request(cl, "GET", "/v1/admin/events", head, NULL);
}

static struct peer P;

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

/*
 * The next request, the subscription's answered on the way (at level 2,
 * epoch 0xab, up to seq 9) if this is the stream that asks for it.
 */
static void
next_request(struct peer_req *pr)
{
	struct st_ev_subscribe_rep sub = { 0xab, 9, { 0 }, ST_EV_KEY_LEN };

	memcpy(sub.id_key, IDKEY, sizeof(IDKEY));

	assert_int_equal(peer_recv(&P, pr, 2000), 0);
	if (pr->type != PROTO_ST_EV_SUBSCRIBE)
		return;
	assert_int_equal(pr->len, 1);
	assert_int_equal(pr->payload[0], ST_EV_LEVEL_ALL);
	peer_reply_cut(&P, pr, &sub, 0);
	assert_int_equal(peer_recv(&P, pr, 2000), 0);
}

/*
 * ST_EV_SINCE's reply to a client at (0xab, 7), cut: OK with events 8 and 9
 * (their SSE text appended to text), or GONE with none.
 */
static void
reply_since(const struct peer_req *pr, uint8_t result, int cut,
    struct buf *text)
{
	struct st_ev_since_rep rep;
	struct st_evblob blob[2];
	struct st_event ev;
	struct penc e[2];
	int i;

	memset(&rep, 0, sizeof(rep));
	rep.result = result;
	rep.epoch = 0xab;
	rep.last_seq = 9;
	for (i = 0; i < 2; i++) {
		fill_event(&ev, ST_EV_CONV_CREATED);
		ev.seq = 8 + (uint64_t)i;
		penc_init(&e[i]);
		assert_int_equal(st_req_encode(&e[i], PROTO_ST_EV, &ev), 0);
		blob[i].p = e[i].buf;
		blob[i].len = (uint32_t)e[i].len;
		if (result == ST_EV_OK)
			assert_int_equal(events_format(text, &ev, IDKEY), 0);
		st_event_free(&ev);
	}
	if (result == ST_EV_OK) {
		rep.events = blob;
		rep.n = 2;
	} else
		buf_addf(text, "id: %s\nevent: reset\ndata: {}\n\n",
		    idof(0xab, 9));
	peer_reply_cut(&P, pr, &rep, cut);
	penc_free(&e[0]);
	penc_free(&e[1]);
}

/*
 * ST_EV_SINCE's reply OK of n events from seq first on, of organisation
 * org ("": the stream's own, their SSE text appended to text), the ring
 * up to last.
 */
static void
reply_page(const struct peer_req *pr, uint64_t first, uint32_t n,
    const char *org, uint64_t last, struct buf *text)
{
	struct st_ev_since_rep rep;
	struct st_evblob *blob;
	struct st_event ev;
	struct penc *e;
	uint32_t i;

	blob = calloc(n, sizeof(*blob));
	e = calloc(n, sizeof(*e));
	assert_true(blob != NULL && e != NULL);
	memset(&rep, 0, sizeof(rep));
	rep.result = ST_EV_OK;
	rep.epoch = 0xab;
	rep.last_seq = last;
	for (i = 0; i < n; i++) {
		fill_event(&ev, ST_EV_CONV_CREATED);
		ev.seq = first + i;
		strlcpy(ev.conv.org, org, sizeof(ev.conv.org));
		penc_init(&e[i]);
		assert_int_equal(st_req_encode(&e[i], PROTO_ST_EV, &ev), 0);
		blob[i].p = e[i].buf;
		blob[i].len = (uint32_t)e[i].len;
		if (org[0] == '\0')
			assert_int_equal(events_format(text, &ev, IDKEY), 0);
		st_event_free(&ev);
	}
	rep.events = blob;
	rep.n = n;
	peer_reply_cut(&P, pr, &rep, 0);
	for (i = 0; i < n; i++)
		penc_free(&e[i]);
	free(e);
	free(blob);
}

/* The next request is ST_EV_SINCE from (0xab, seq). */
static void
expect_since(struct peer_req *pr, uint64_t seq)
{
	struct st_ev_since_req since;

	assert_int_equal(peer_recv(&P, pr, 2000), 0);
	assert_int_equal(pr->type, PROTO_ST_EV_SINCE);
	assert_int_equal(st_req_decode(PROTO_ST_EV_SINCE, pr->payload,
	    pr->len, &since), 0);
	assert_true(since.epoch == 0xab);
	assert_int_equal(since.seq, seq);
	/* Whose: the stream's (the install's key: the default's). */
	assert_string_equal(since.org, ST_WHO_ORG_DEFAULT);
}

/* The stream so far is want, and goes on (within 2 s). */
static void
expect_body(struct tclient *cl, const char *want)
{
	uint64_t end = loop_clock() + 2000;
	struct tresp r;
	size_t off;

	for (;;) {
		tclient_pump(cl);
		off = 0;
		if (tresp_parse(cl, &off, 1, &r) == 1) {
			if (r.body_len >= strlen(want))
				break;
			tresp_free(&r);
		}
		assert_true(loop_clock() < end);
	}
	assert_int_equal(r.status, 200);
	assert_false(r.complete);
	assert_string_equal(r.body, want);
	tresp_free(&r);
}

/*
 * A catch-up after (0xab, 7), ST_EV_SINCE answered OK (two events)
 * or GONE, whole, a byte short and a byte over (its valid struct encoded
 * by the table): whole, the events or the reset, and the stream goes on
 * live; else it ends at once as for a failed catch-up (its final chunk:
 * the browser reconnects with the same Last-Event-ID), nothing sent but
 * the retry line.
 */
static void
test_since_malformed(void **state)
{
	static const uint8_t results[] = { ST_EV_OK, ST_EV_GONE };
	struct peer_req pr;
	struct st_ev_since_req since;
	struct tclient cl;
	struct tresp r;
	struct buf want;
	size_t i;
	int cut;

	assert_int_equal(peer_connect(&P), 0);
	for (i = 0; i < sizeof(results); i++)
		for (cut = -1; cut <= 1; cut++) {
			open_resumed(&cl);
			next_request(&pr);
			assert_int_equal(pr.type, PROTO_ST_EV_SINCE);
			assert_int_equal(st_req_decode(PROTO_ST_EV_SINCE,
			    pr.payload, pr.len, &since), 0);
			assert_true(since.epoch == 0xab && since.seq == 7);
			assert_int_equal(since.max, ST_EV_SINCE_MAX);
			buf_init(&want);
			buf_adds(&want, RETRY);
			reply_since(&pr, results[i], cut, &want);
			buf_add(&want, "", 1);
			if (cut == 0) {
				expect_body(&cl, want.data);
				assert_int_equal(events_clients(), 1);
			} else {
				assert_true(tresp_wait(&cl, &cl.off, &r, 2000));
				assert_int_equal(r.status, 200);
				assert_string_equal(r.body, RETRY);
				tresp_free(&r);
				assert_int_equal(events_clients(), 0);
			}
			buf_free(&want);
			assert_int_equal(storec_inflight(), 0);
			tclient_close(&cl);
			assert_int_equal(events_clients(), 0);
			peer_expect_none(&P, 30);
		}
}

/*
 * A catch-up through pages, each ending before the ring's last (cut at
 * ST_EV_SINCE_MAX events or at the reply's bytes: any page, short or
 * full, is followed): one of another organisation's events alone, then
 * two of the stream's own, then the last. Each next page is asked from
 * the last event of the one before, the stream's own events sent in
 * order, none skipped. (A full page of others' events was once asked
 * again forever; a short one went live past what it left out. A full
 * page is more than the fake peer, in this one thread, can send.)
 */
static void
test_since_pages(void **state)
{
	static const char other[] = "org_0123456789abcdef0123456789abcdef";
	struct peer_req pr;
	struct tclient cl;
	struct buf want;

	assert_int_equal(peer_connect(&P), 0);
	open_resumed(&cl);
	buf_init(&want);
	buf_adds(&want, RETRY);
	next_request(&pr);
	assert_int_equal(pr.type, PROTO_ST_EV_SINCE);
	reply_page(&pr, 8, 3, other, 2000, &want);
	expect_since(&pr, 10);
	reply_page(&pr, 11, 2, "", 2000, &want);
	expect_since(&pr, 12);
	reply_page(&pr, 13, 2, other, 2000, &want);
	expect_since(&pr, 14);
	reply_page(&pr, 2000, 1, "", 2000, &want);
	buf_add(&want, "", 1);
	expect_body(&cl, want.data);
	peer_expect_none(&P, 50);
	assert_int_equal(events_clients(), 1);
	buf_free(&want);
	tclient_close(&cl);
}

/*
 * An event storaged sends unasked (ST_EV) a byte short or a byte over
 * reaches no live stream (nor ends it); whole, it does.
 */
static void
test_event_malformed(void **state)
{
	static const int cuts[] = { -1, 1, 0 };
	struct peer_req pr;
	struct st_event ev;
	struct tclient cl;
	struct buf want;
	struct penc e;
	size_t i;

	assert_int_equal(peer_connect(&P), 0);
	open_resumed(&cl);
	next_request(&pr);
	assert_int_equal(pr.type, PROTO_ST_EV_SINCE);
	buf_init(&want);
	buf_adds(&want, RETRY);
	reply_since(&pr, ST_EV_OK, 0, &want);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		fill_event(&ev, ST_EV_HANDOFF);
		ev.seq = 10;
		penc_init(&e);
		assert_int_equal(st_req_encode(&e, PROTO_ST_EV, &ev), 0);
		if (cuts[i] > 0)
			penc_u8(&e, 0);
		if (cuts[i] < 0)
			e.len--;
		assert_int_equal(pchan_send(&P.ch, PROTO_ST_EV, 0, 0, e.buf,
		    e.len, -1), 0);
		assert_int_equal(pchan_flush_wait(&P.ch, 1000), 0);
		penc_free(&e);
		drive_ms(30);
		if (cuts[i] == 0)
			assert_int_equal(events_format(&want, &ev, IDKEY), 0);
		st_event_free(&ev);
		buf_add(&want, "", 1);
		expect_body(&cl, want.data);
		want.len--;
	}
	buf_free(&want);
	tclient_close(&cl);
	assert_int_equal(events_clients(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_conversation),
		cmocka_unit_test(test_format_message),
		cmocka_unit_test(test_format_handoff_contact),
		cmocka_unit_test(test_format_not_sent),
		cmocka_unit_test(test_event_ids),
		cmocka_unit_test(test_since_malformed),
		cmocka_unit_test(test_since_pages),
		cmocka_unit_test(test_event_malformed),
	};

	log_init("test_events");
	return cmocka_run_group_tests(tests, setup, teardown);
}
