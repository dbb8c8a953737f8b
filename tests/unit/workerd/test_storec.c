/*
 * storec against a fake storaged on a real Unix socket: request ids,
 * replies out of order, errors, cancel, timeouts, disconnect, reconnect;
 * requests as their structs (storec_ask: who asks first where the table
 * says, one that does not encode never sent) and replies decoded exactly
 * (storec_decode); the event subscription, its reply malformed too. And
 * the list of where each request workerd may send has its malformed
 * reply tested, checked against the message table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <glob.h>

#include "stmsgs.h"
#include "test_peer.h"

struct got {
	int called;
	enum storec_status status;
	uint32_t code;
	char message[64];
	char payload[64];
};

static void
record(const struct storec_result *r, void *arg)
{
	struct got *g = arg;

	g->called++;
	g->status = r->status;
	g->code = r->code;
	strlcpy(g->message, r->message, sizeof(g->message));
	g->payload[0] = '\0';
	if (r->status == STOREC_OK && r->len < sizeof(g->payload)) {
		memcpy(g->payload, r->payload, r->len);
		g->payload[r->len] = '\0';
	}
}

static struct peer P;

static int
setup(void **state)
{
	peer_setup(&P);
	return 0;
}

static int
teardown(void **state)
{
	peer_teardown(&P);
	return 0;
}

/*
 * Nobody listens: a call waits for the connection (STOREC_WAIT_MS, 2 s),
 * then completes as unavailable; a cancelled one is never called.
 */
static void
test_waits_then_unavailable(void **state)
{
	struct got g = { 0 }, gc = { 0 };
	struct storec_req *h = (void *)1, *hc = NULL;
	uint64_t t0;

	storec_init(P.path);	/* nobody listens */
	assert_false(storec_connected());
	t0 = loop_clock();
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g, &h),
	    0);
	assert_non_null(h);
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &gc,
	    &hc), 0);
	storec_cancel(hc);
	assert_null(hc);
	drive_ms(50);
	assert_int_equal(g.called, 0);
	drive_until(&g.called, 4000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, STOREC_UNAVAILABLE);
	assert_null(h);
	assert_true(loop_clock() - t0 >= 1900);
	assert_int_equal(gc.called, 0);
	storec_shutdown();
}

/* A call made before storaged listens is sent once it connects. */
static void
test_waiting_sent_on_connect(void **state)
{
	struct got g = { 0 };
	struct peer_req r;

	storec_init(P.path);	/* nobody listens yet */
	assert_int_equal(storec_call(PROTO_ST_PING, "early", 5, record, &g,
	    NULL), 0);
	assert_int_equal(storec_inflight(), 0);
	peer_listen(&P);
	assert_int_equal(peer_accept(&P, 2000), 0);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	assert_int_equal(r.type, PROTO_ST_PING);
	assert_int_equal(r.len, 5);
	peer_reply(&P, &r, "pong", 4);
	drive_until(&g.called, 1000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, STOREC_OK);
	assert_string_equal(g.payload, "pong");
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

static void
test_replies_matched_by_id(void **state)
{
	struct got g[3] = { { 0 } };
	struct peer_req r[3];
	int i;

	storec_init(P.path);
	peer_listen(&P);
	/* It retries by itself. */
	assert_int_equal(peer_accept(&P, 2000), 0);
	drive_ms(20);
	assert_true(storec_connected());

	/* Who asks is put first for the types that carry it, and only them. */
	{
		static const struct st_who who = { .kind = ST_WHO_KEY,
		    .id = "install", .org = "default", .role = ST_ROLE_OWNER };

		assert_int_equal(storec_call(PROTO_ST_CONV_GET, "x", 1, record,
		    &g[0], NULL), -1);
		assert_int_equal(storec_call_as(&who, PROTO_ST_PING, NULL, 0,
		    record, &g[0], NULL), -1);
		assert_int_equal(storec_inflight(), 0);
		for (i = 0; i < 3; i++) {
			char pl[16];

			snprintf(pl, sizeof(pl), "req%d", i);
			assert_int_equal(storec_call_as(&who, PROTO_ST_CONV_GET,
			    pl, 4, record, &g[i], NULL), 0);
		}
	}
	assert_int_equal(storec_inflight(), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(peer_recv(&P, &r[i], 1000), 0);
		assert_int_equal(r[i].type, PROTO_ST_CONV_GET);
		assert_int_equal(r[i].has_who, 1);
		assert_int_equal(r[i].who.kind, ST_WHO_KEY);
		assert_string_equal(r[i].who.id, "install");
		assert_int_equal(r[i].len, 4);
	}
	assert_int_not_equal(r[0].id, r[1].id);
	assert_int_not_equal(r[1].id, r[2].id);
	/* Answer in reverse; the middle one with an error. */
	peer_reply(&P, &r[2], "ans2", 4);
	peer_error(&P, &r[1], PROTO_E_NOT_FOUND, "no such conversation");
	peer_reply(&P, &r[0], "ans0", 4);
	drive_until(&g[0].called, 1000);
	drive_ms(20);
	assert_int_equal(g[0].called, 1);
	assert_int_equal(g[1].called, 1);
	assert_int_equal(g[2].called, 1);
	assert_int_equal(g[0].status, STOREC_OK);
	assert_string_equal(g[0].payload, "ans0");
	assert_int_equal(g[2].status, STOREC_OK);
	assert_string_equal(g[2].payload, "ans2");
	assert_int_equal(g[1].status, STOREC_ERROR);
	assert_int_equal(g[1].code, PROTO_E_NOT_FOUND);
	assert_string_equal(g[1].message, "no such conversation");
	assert_int_equal(storec_inflight(), 0);
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

static void
test_cancel_and_timeout(void **state)
{
	struct got g1 = { 0 }, g2 = { 0 };
	struct storec_req *h = NULL;
	struct peer_req r1, r2;

	wconf.storage_timeout_ms = 150;
	peer_listen(&P);
	storec_init(P.path);
	assert_int_equal(peer_accept(&P, 2000), 0);
	assert_true(storec_connected());

	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g1, &h),
	    0);
	assert_non_null(h);
	assert_int_equal(peer_recv(&P, &r1, 1000), 0);
	storec_cancel(h);
	assert_null(h);
	peer_reply(&P, &r1, NULL, 0);
	drive_ms(50);
	assert_int_equal(g1.called, 0);	/* cancelled: never called */

	/* No answer: unavailable after the timeout; a late reply is dropped. */
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g2, &h),
	    0);
	assert_int_equal(peer_recv(&P, &r2, 1000), 0);
	drive_until(&g2.called, 1000);
	assert_int_equal(g2.called, 1);
	assert_int_equal(g2.status, STOREC_UNAVAILABLE);
	assert_null(h);
	peer_reply(&P, &r2, NULL, 0);
	drive_ms(50);
	assert_int_equal(g2.called, 1);
	assert_true(storec_connected());
	wconf.storage_timeout_ms = 5000;
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/*
 * A request made at the end of a loop turn that held the loop longer than
 * the timeout (the fetcher reading a PDF) has the whole timeout for its
 * answer, from when it is sent. (A timeout of 150 ms failed once in a
 * loaded make test: the process stood still that long between the send
 * and the look 20 ms later; 1 s leaves that margin.)
 */
static void
test_timeout_counts_from_sending(void **state)
{
	struct got g = { 0 };
	struct peer_req r;

	wconf.storage_timeout_ms = 1000;
	peer_listen(&P);
	storec_init(P.path);
	assert_int_equal(peer_accept(&P, 2000), 0);
	assert_true(storec_connected());
	drive_ms(20);
	usleep(1200 * 1000);	/* the loop held past the timeout */
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g, NULL),
	    0);
	drive_ms(20);
	assert_int_equal(g.called, 0);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	peer_reply(&P, &r, NULL, 0);
	drive_until(&g.called, 1000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, STOREC_OK);
	wconf.storage_timeout_ms = 5000;
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/*
 * A request storaged answered early has run: only its commit's flush is
 * left, and storaged confirms it however long that takes. Its
 * confirmation is not failed at the storage timeout (it was, and the
 * turn told the visitor "not saved" of a question then stored with no
 * answer ever); a request not answered early still is.
 */
static void
test_confirmation_outlives_timeout(void **state)
{
	const struct st_chat_begin_req begin = {
		.widget = "default", .session = "s1", .content = "hello",
		.history_max = 7,
	};
	struct got g = { 0 }, gp = { 0 };
	struct peer_req r, rp;

	wconf.storage_timeout_ms = 150;
	assert_int_equal(peer_connect(&P), 0);
	assert_int_equal(storec_ask_early(PROTO_ST_CHAT_BEGIN, &begin, record,
	    &g, NULL), 0);
	peer_expect(&P, &r, PROTO_ST_CHAT_BEGIN);
	peer_reply_flags(&P, &r, PROTO_F_EARLY, "a", 1);
	drive_until(&g.called, 1000);
	assert_int_equal(g.status, STOREC_OK);
	g.called = 0;
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &gp,
	    NULL), 0);
	peer_expect(&P, &rp, PROTO_ST_PING);
	drive_ms(450);			/* three timeouts: the disk is slow */
	assert_int_equal(gp.called, 1);	/* an unanswered one is failed */
	assert_int_equal(gp.status, STOREC_UNAVAILABLE);
	assert_int_equal(g.called, 0);	/* the confirmation is waited for */
	assert_int_equal(storec_inflight(), 1);
	peer_reply(&P, &r, NULL, 0);
	drive_until(&g.called, 1000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, STOREC_OK);
	assert_int_equal(storec_inflight(), 0);
	assert_true(storec_connected());
	wconf.storage_timeout_ms = 5000;
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

void storec_set_stuck_ms(uint32_t);

/*
 * STOREC_F_OUTCOME (not sent): a write whose outcome is wanted waits past
 * the storage timeout while the connection lives. Past the stuck bound
 * (three timeouts, 10 s at least: shortened here) the connection is
 * dropped (storaged ends the turns it had open on it), and every request
 * on it fails as unavailable.
 */
static void
test_outcome_waits_then_drops(void **state)
{
	struct got g = { 0 }, g2 = { 0 }, gp = { 0 };
	struct peer_req r, r2, rp;
	uint64_t t0;

	wconf.storage_timeout_ms = 200;
	storec_set_stuck_ms(1000);
	assert_int_equal(peer_connect(&P), 0);

	/* Answered late, but answered: its outcome, not a guess. */
	assert_int_equal(storec_ask_flags(NULL, PROTO_ST_PING,
	    STOREC_F_OUTCOME | PROTO_F_SHARE, NULL, record, &g, NULL), 0);
	peer_expect(&P, &r, PROTO_ST_PING);
	assert_int_equal(r.flags, PROTO_F_SHARE);	/* ours stays ours */
	drive_ms(500);
	assert_int_equal(g.called, 0);
	peer_reply(&P, &r, "ok", 2);
	drive_until(&g.called, 1000);
	assert_int_equal(g.status, STOREC_OK);
	assert_string_equal(g.payload, "ok");

	/* Never answered: storaged is stuck, and the connection goes. */
	t0 = loop_clock();
	assert_int_equal(storec_ask_flags(NULL, PROTO_ST_PING,
	    STOREC_F_OUTCOME, NULL, record, &g2, NULL), 0);
	peer_expect(&P, &r2, PROTO_ST_PING);
	drive_ms(900);
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &gp,
	    NULL), 0);
	peer_expect(&P, &rp, PROTO_ST_PING);
	drive_until(&g2.called, 2000);
	assert_int_equal(g2.called, 1);
	assert_int_equal(g2.status, STOREC_UNAVAILABLE);
	assert_true(loop_clock() - t0 >= 990);
	assert_false(storec_connected());
	/* The other request on it went with it. */
	assert_int_equal(gp.called, 1);
	assert_int_equal(gp.status, STOREC_UNAVAILABLE);
	assert_int_equal(storec_inflight(), 0);
	assert_int_equal(peer_recv(&P, &r, 500), -1);	/* closed on storaged */
	storec_set_stuck_ms(10000);
	wconf.storage_timeout_ms = 5000;
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/* A callback that calls again at once, as a pipelined request would. */
static struct got again_g;
static int again_rv = 99;

static void
call_again(const struct storec_result *r, void *arg)
{
	record(r, arg);
	again_rv = storec_call(PROTO_ST_PING, NULL, 0, record, &again_g, NULL);
}

static void
test_disconnect_and_reconnect(void **state)
{
	struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };
	struct storec_req *h1 = NULL, *h2 = NULL;
	struct peer_req r;

	peer_listen(&P);
	storec_init(P.path);
	assert_int_equal(peer_accept(&P, 2000), 0);

	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g1, &h1),
	    0);
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, call_again, &g2,
	    &h2), 0);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	peer_close(&P);
	drive_until(&g2.called, 1000);
	assert_int_equal(g1.called, 1);
	assert_int_equal(g1.status, STOREC_UNAVAILABLE);
	assert_int_equal(g2.called, 1);
	assert_int_equal(g2.status, STOREC_UNAVAILABLE);
	assert_null(h1);
	assert_null(h2);
	assert_int_equal(again_rv, 0);	/* down: waits for the connection */
	assert_int_equal(again_g.called, 0);
	assert_false(storec_connected());

	/* Comes back by itself while the listener is still there. */
	assert_int_equal(peer_accept(&P, 2000), 0);
	drive_ms(20);
	assert_true(storec_connected());
	/* What waited is sent first, then what is asked now. */
	assert_int_equal(storec_call(PROTO_ST_PING, "now", 3, record, &g3,
	    NULL), 0);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	assert_int_equal(r.len, 0);
	peer_reply(&P, &r, "w", 1);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	assert_int_equal(r.len, 3);
	peer_reply(&P, &r, "x", 1);
	drive_until(&g3.called, 1000);
	assert_int_equal(g3.status, STOREC_OK);
	assert_int_equal(again_g.called, 1);
	assert_int_equal(again_g.status, STOREC_OK);
	assert_string_equal(again_g.payload, "w");
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

static void
test_protocol_error_disconnects(void **state)
{
	struct got g = { 0 };
	struct peer_req r;
	uint8_t junk[PROTO_HDR_LEN];

	peer_listen(&P);
	storec_init(P.path);
	assert_int_equal(peer_accept(&P, 2000), 0);
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g, NULL),
	    0);
	assert_int_equal(peer_recv(&P, &r, 1000), 0);
	/* A header with an unknown type. */
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(write(P.ch.fd, junk, sizeof(junk)),
	    (ssize_t)sizeof(junk));
	drive_until(&g.called, 1000);
	assert_int_equal(g.status, STOREC_UNAVAILABLE);
	assert_false(storec_connected());
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/* ------------------------------------------------- requests as structs */

/* An ST_RATE_HIT's reply as its callback decodes it: 0 and v, or -1. */
struct verdict {
	int called, rc;
	struct st_rate_verdict v;
};

static void
decode_verdict(const struct storec_result *r, void *arg)
{
	struct verdict *vd = arg;

	vd->called++;
	memset(&vd->v, 0xff, sizeof(vd->v));
	vd->rc = r->status == STOREC_OK ?
	    storec_decode(r, PROTO_ST_RATE_HIT, &vd->v) : -2;
}

/* ST_RATE_HIT asked, answered with reply (len bytes), decoded into vd. */
static void
ask_verdict(struct verdict *vd, const void *reply, size_t len)
{
	const struct st_rate_hit hit = { "ip:1.2.3.4", 60000, 30 };
	struct st_rate_hit got;
	struct peer_req r;

	memset(vd, 0, sizeof(*vd));
	assert_int_equal(storec_ask(NULL, PROTO_ST_RATE_HIT, &hit,
	    decode_verdict, vd, NULL), 0);
	peer_expect(&P, &r, PROTO_ST_RATE_HIT);
	assert_int_equal(r.has_who, 0);
	assert_int_equal(st_req_decode(PROTO_ST_RATE_HIT, r.payload, r.len,
	    &got), 0);
	assert_string_equal(got.key, hit.key);
	assert_int_equal(got.window_ms, hit.window_ms);
	assert_int_equal(got.max, hit.max);
	peer_reply(&P, &r, reply, len);
	drive_until(&vd->called, 1000);
	assert_int_equal(vd->called, 1);
}

/* unix:path of p, as a list entry. */
static void
peer_addr(const struct peer *p, struct staddr *a)
{
	char text[160], err[STADDR_ERR_MAX];

	snprintf(text, sizeof(text), "unix:%s", p->path);
	assert_int_equal(staddr_parse(text, strlen(text), a, err, sizeof(err)),
	    0);
}

/*
 * A list whose first address is dead, a standby that names the primary
 * (tried next, over the list's order), the primary; then a request the
 * primary answers "not primary" fails as unavailable and storec moves on
 * to the one that says it is primary now.
 */
static void
test_goes_to_primary(void **state)
{
	struct peer a, b;
	struct staddr l[3];
	struct peer_req r;
	struct got g = { 0 };

	peer_path(&a);
	peer_path(&b);
	peer_addr(&P, &l[0]);		/* nobody listens there */
	peer_addr(&a, &l[1]);
	peer_addr(&b, &l[2]);
	peer_listen(&a);
	peer_listen(&b);
	storec_init_list(l, 3, NULL);
	/* a is a standby and says b is primary: left at once, for b. */
	assert_int_equal(peer_accept_as(&a, ST_REPL_STANDBY, l[2].text,
	    2000), 0);
	assert_int_equal(peer_recv(&a, &r, 1000), -1);	/* closed, nothing asked */
	assert_false(storec_connected());
	assert_int_equal(peer_accept(&b, 2000), 0);
	assert_true(storec_connected());
	peer_close(&a);

	/* b steps down: the request in flight fails as unavailable... */
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g, NULL),
	    0);
	assert_int_equal(peer_recv(&b, &r, 1000), 0);
	assert_int_equal(pchan_send_error(&b.ch, r.type, r.id,
	    PROTO_E_NOT_PRIMARY, "not primary"), 0);
	assert_int_equal(pchan_flush_wait(&b.ch, 1000), 0);
	drive_until(&g.called, 1000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, STOREC_UNAVAILABLE);
	assert_false(storec_connected());
	/* ... and storec goes round the list to the next primary, a. */
	assert_int_equal(peer_accept(&a, 3000), 0);
	assert_true(storec_connected());
	assert_int_equal(storec_call(PROTO_ST_PING, NULL, 0, record, &g, NULL),
	    0);
	assert_int_equal(peer_recv(&a, &r, 1000), 0);
	peer_close(&a);
	peer_close(&b);
	storec_shutdown();
	peer_cleanup(&a);
	peer_cleanup(&b);
}

static void
test_ask_and_decode(void **state)
{
	static const struct st_who who = { .kind = ST_WHO_KEY,
	    .id = "install", .org = "default", .role = ST_ROLE_OWNER };
	const struct st_conv_get_req get = {
		"0123456789abcdef0123456789abcdef", 50,
	};
	struct st_chat_begin_req begin = {
		.widget = "default", .session = "s1", .content = "hello",
		.rate_key = "ip:1.2.3.4", .window_ms = 60000, .rate_max = 30,
		.history_max = 7,
	};
	const struct st_rate_verdict limited = { 1, 1500 };
	char session[ST_SESSION_MAX + 2];
	struct storec_req *h = (void *)1;
	struct st_conv_get_req gotget;
	struct st_chat_begin_req gotbegin;
	struct got g = { 0 };
	struct verdict vd;
	struct peer_req r;
	struct penc e;

	assert_int_equal(peer_connect(&P), 0);

	/* Who asks where the table says, and only there; nothing sent. */
	assert_int_equal(storec_ask(NULL, PROTO_ST_CONV_GET, &get, record, &g,
	    &h), -1);
	assert_null(h);
	assert_int_equal(storec_ask(&who, PROTO_ST_CHAT_BEGIN, &begin, record,
	    &g, NULL), -1);
	/* A request that does not encode (a session over its bound). */
	memset(session, 's', sizeof(session) - 1);
	session[sizeof(session) - 1] = '\0';
	begin.session = session;
	h = (void *)1;
	assert_int_equal(storec_ask_early(PROTO_ST_CHAT_BEGIN, &begin, record,
	    &g, &h), -1);
	assert_null(h);
	begin.session = "s1";
	assert_int_equal(storec_inflight(), 0);
	peer_expect_none(&P, 30);
	assert_int_equal(g.called, 0);

	/* Who asks first, then the struct as its layout says. */
	assert_int_equal(storec_ask(&who, PROTO_ST_CONV_GET, &get, record, &g,
	    NULL), 0);
	peer_expect(&P, &r, PROTO_ST_CONV_GET);
	assert_int_equal(r.has_who, 1);
	assert_string_equal(r.who.id, "install");
	assert_int_equal(r.flags & PROTO_F_EARLY, 0);
	assert_int_equal(st_req_decode(PROTO_ST_CONV_GET, r.payload, r.len,
	    &gotget), 0);
	assert_string_equal(gotget.conv_id, get.conv_id);
	assert_int_equal(gotget.max_messages, 50);
	st_req_free(PROTO_ST_CONV_GET, &gotget);
	peer_error(&P, &r, PROTO_E_NOT_FOUND, "no such conversation");
	drive_until(&g.called, 1000);
	assert_int_equal(g.status, STOREC_ERROR);

	/* Early: the flag asked for. */
	assert_int_equal(storec_ask_early(PROTO_ST_CHAT_BEGIN, &begin, record,
	    &g, &h), 0);
	assert_non_null(h);
	peer_expect(&P, &r, PROTO_ST_CHAT_BEGIN);
	assert_true(r.flags & PROTO_F_EARLY);
	assert_int_equal(st_req_decode(PROTO_ST_CHAT_BEGIN, r.payload, r.len,
	    &gotbegin), 0);
	assert_string_equal(gotbegin.content, "hello");
	assert_int_equal(gotbegin.history_max, 7);
	st_req_free(PROTO_ST_CHAT_BEGIN, &gotbegin);
	storec_cancel(h);

	/*
	 * After an early answer the confirmation is empty: one with a byte
	 * in it is not "on disk" but a failure; an empty one is.
	 */
	for (int padded = 1; padded >= 0; padded--) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(storec_ask_early(PROTO_ST_CHAT_BEGIN, &begin,
		    record, &g, NULL), 0);
		peer_expect(&P, &r, PROTO_ST_CHAT_BEGIN);
		peer_reply_flags(&P, &r, PROTO_F_EARLY, "a", 1);
		drive_until(&g.called, 1000);
		assert_int_equal(g.status, STOREC_OK);
		g.called = 0;
		peer_reply(&P, &r, "x", padded ? 1 : 0);
		drive_until(&g.called, 1000);
		assert_int_equal(g.called, 1);
		assert_int_equal(g.status, padded ? STOREC_ERROR : STOREC_OK);
		assert_int_equal(storec_inflight(), 0);
	}

	/* A reply decodes whole, or not at all: a byte short or over. */
	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, PROTO_ST_RATE_HIT, &limited), 0);
	ask_verdict(&vd, e.buf, e.len);
	assert_int_equal(vd.rc, 0);
	assert_int_equal(vd.v.limited, 1);
	assert_int_equal(vd.v.retry_ms, 1500);
	ask_verdict(&vd, e.buf, e.len - 1);
	assert_int_equal(vd.rc, -1);
	assert_int_equal(vd.v.limited, 0);	/* zeroed */
	assert_int_equal(vd.v.retry_ms, 0);
	penc_u8(&e, 0);
	ask_verdict(&vd, e.buf, e.len);
	assert_int_equal(vd.rc, -1);
	assert_int_equal(vd.v.retry_ms, 0);
	penc_free(&e);
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/* ---------------------------------------------- the notifier's requests */

struct anydec {
	int called, rc;
	uint16_t type;
	union st_any u;
};

static void
decode_any(const struct storec_result *r, void *arg)
{
	struct anydec *d = arg;

	d->called++;
	d->rc = r->status == STOREC_OK ? storec_decode(r, d->type, &d->u) : -2;
	if (d->rc == 0)
		st_rep_free(d->type, &d->u);
}

/* type asked with req (no who), answered with reply: its decode's rc. */
static int
ask_any(uint16_t type, const void *req, const void *reply, size_t len)
{
	struct anydec d;
	struct peer_req r;

	memset(&d, 0, sizeof(d));
	d.type = type;
	assert_int_equal(storec_ask(NULL, type, req, decode_any, &d, NULL), 0);
	peer_expect(&P, &r, type);
	assert_int_equal(r.has_who, 0);
	peer_reply(&P, &r, reply, len);
	drive_until(&d.called, 1000);
	assert_int_equal(d.called, 1);
	return d.rc;
}

/*
 * type asked with req and answered with rep encoded: the reply decodes,
 * and a byte short or over does not (-1: the caller asks again later).
 */
static void
reply_whole_only(uint16_t type, const void *req, const void *rep)
{
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, type, rep), 0);
	assert_int_equal(ask_any(type, req, e.buf, e.len), 0);
	if (e.len > 0)
		assert_int_equal(ask_any(type, req, e.buf, e.len - 1), -1);
	penc_u8(&e, 0);
	assert_int_equal(ask_any(type, req, e.buf, e.len), -1);
	penc_free(&e);
}

/*
 * The notifier's ST_HOOK_DUE and ST_HOOK_RESULT (notifier.c): a reply
 * decodes whole or not at all (a byte short or over: -1, the notifier
 * then asks again later and its jobs come back with their lease).
 */
static void
test_outbox_malformed(void **state)
{
	const struct st_hook_due_req due = { .max = 8, .lease_ms = 60000,
	    .per_hook = 12 };
	const struct st_mail_due_req mdue = { 8, 60000 };
	const struct st_limit_req rdue = { 64 };
	struct st_u8_rep more = { 1 };
	const struct st_hook_result_req res = { "dlv_0000000000000001", 1,
	    200, "", 12, 0 };
	const struct st_mail_result_req mres = { "ml_0000000000000001", 1, "",
	    0, NULL, 0 };
	const struct st_id_req mcheck = { "ml_0000000000000001" };
	struct st_hook_job job;
	struct st_hook_jobs jobs = { &job, 1, 0 };
	struct st_mail mail;
	struct st_mails mails = { &mail, 1 };

	assert_int_equal(peer_connect(&P), 0);
	memset(&job, 0, sizeof(job));
	strlcpy(job.d.id, ST_DLV_PREFIX "0123456789abcdef0123456789abcdef",
	    sizeof(job.d.id));
	job.url = "https://hooks.example/";
	reply_whole_only(PROTO_ST_HOOK_DUE, &due, &jobs);
	assert_int_equal(ask_any(PROTO_ST_HOOK_RESULT, &res, "", 0), 0);
	assert_int_equal(ask_any(PROTO_ST_HOOK_RESULT, &res, "x", 1), -1);
	/* The mail outbox's, alike (mailer.c). */
	memset(&mail, 0, sizeof(mail));
	strlcpy(mail.id, ST_MAIL_PREFIX "0123456789abcdef0123456789abcdef",
	    sizeof(mail.id));
	reply_whole_only(PROTO_ST_MAIL_DUE, &mdue, &mails);
	assert_int_equal(ask_any(PROTO_ST_MAIL_RESULT, &mres, "", 0), 0);
	assert_int_equal(ask_any(PROTO_ST_MAIL_RESULT, &mres, "x", 1), -1);
	assert_int_equal(ask_any(PROTO_ST_MAIL_CHECK, &mcheck, "", 0), 0);
	assert_int_equal(ask_any(PROTO_ST_MAIL_CHECK, &mcheck, "x", 1), -1);
	/* The assistant's resolutions' (resolver.c): u8 more. */
	reply_whole_only(PROTO_ST_CONV_RESOLVE_DUE, &rdue, &more);
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/*
 * The fetcher's requests (fetch/fetcher.c) and a turn's ST_KB_RETRIEVE
 * (turn.c) and ST_ACTION_TOOLS: each reply decodes whole or not at all.
 */
static void
test_fetcher_malformed(void **state)
{
	const struct st_kb_due_req due = { 4, 60000, NULL, 0 };
	const struct st_kb_page_get_req get = { "ks_0000000000000001",
	    "https://example.com/" };
	struct st_kb_page_put_req put;
	const struct st_kb_sync_done_req done = { "ks_0000000000000001", 7,
	    1, "" };
	const struct st_kb_file_get_req fget = { "ks_0000000000000001", 7 };
	struct st_kb_retrieve_req ret;
	struct st_kb_job job;
	struct st_kb_jobs jobs = { &job, 1 };
	struct st_kbpage page;
	const struct st_kb_page_put_rep counts = { 3, 12 };
	const struct st_u8_rep one = { 1 };
	struct st_kb_file file;
	struct st_kb_hit hit;
	struct st_kb_hits hits = { &hit, 1 };
	struct st_action_tools_req treq;
	struct st_action act;
	struct st_actions acts = { &act, 1 };

	(void)state;
	assert_int_equal(peer_connect(&P), 0);
	memset(&job, 0, sizeof(job));
	strcpy(job.s.id, "ks_0000000000000001");
	job.s.name = job.s.question = "";
	job.s.url = job.s.answer = job.s.error = "";
	reply_whole_only(PROTO_ST_KB_DUE, &due, &jobs);
	memset(&page, 0, sizeof(page));
	page.url = "https://example.com/";
	page.title = page.etag = page.last_modified = page.error = "";
	reply_whole_only(PROTO_ST_KB_PAGE_GET, &get, &page);
	memset(&put, 0, sizeof(put));
	strcpy(put.source_id, get.source_id);
	put.page = page;
	reply_whole_only(PROTO_ST_KB_PAGE_PUT, &put, &counts);
	reply_whole_only(PROTO_ST_KB_SYNC_DONE, &done, &one);
	memset(&file, 0, sizeof(file));
	strcpy(file.content_type, "text/plain");
	file.data.p = (const uint8_t *)"hello";
	file.data.len = 5;
	reply_whole_only(PROTO_ST_KB_FILE_GET, &fget, &file);
	/* A PDF's text read (attextract.c): its due, then its text kept. */
	{
		const struct st_att_due_rep adue = { ST_ATT_OK,
		    "att_0123456789abcdef0123456789abcdef", 9, 1 };
		const struct st_att_text_req atext = {
		    "att_0123456789abcdef0123456789abcdef", "words", 0 };

		reply_whole_only(PROTO_ST_ATT_EXTRACT_DUE, NULL, &adue);
		assert_int_equal(ask_any(PROTO_ST_ATT_TEXT_PUT, &atext, "",
		    0), 0);
		assert_int_equal(ask_any(PROTO_ST_ATT_TEXT_PUT, &atext, "x",
		    1), -1);
	}
	memset(&ret, 0, sizeof(ret));
	strcpy(ret.org, "org_default");
	ret.query = "refunds";
	ret.k = 4;
	memset(&hit, 0, sizeof(hit));
	strcpy(hit.source_id, get.source_id);
	hit.url = hit.title = hit.headings = "";
	hit.text = "Refunds take five days.";
	reply_whole_only(PROTO_ST_KB_RETRIEVE, &ret, &hits);
	memset(&treq, 0, sizeof(treq));
	strcpy(treq.org, "org_default");
	memset(&act, 0, sizeof(act));
	strcpy(act.id, "act_00000000000000000000000000000001");
	strcpy(act.name, "order");
	act.description = "d";
	act.parameters = "{}";
	act.url = "https://example.com/";
	act.body = act.headers = "";
	reply_whole_only(PROTO_ST_ACTION_TOOLS, &treq, &acts);
	reply_whole_only(PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ "00000000000000000000000000000001" }, &one);
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/* ------------------------------------------------ events and their level */

static int ev_a, ev_b, sub_calls, sub_again;
static uint8_t sub_level;
static uint64_t sub_epoch, sub_seq;
static uint8_t sub_key[ST_EV_KEY_LEN];

static void
on_ev_a(uint16_t type, const uint8_t *payload, size_t len)
{
	if (type == PROTO_ST_EV && len == 3 && memcmp(payload, "abc", 3) == 0)
		ev_a++;
}

static void
on_ev_b(uint16_t type, const uint8_t *payload, size_t len)
{
	ev_b++;
}

static void
on_sub(uint8_t level, uint64_t epoch, uint64_t last_seq,
    const uint8_t *id_key, int again)
{
	sub_calls++;
	sub_level = level;
	sub_epoch = epoch;
	sub_seq = last_seq;
	memcpy(sub_key, id_key, sizeof(sub_key));
	sub_again = again;
}

/*
 * The next request is ST_EV_SUBSCRIBE(level): answered epoch, seq and
 * an id key of epoch's low byte, 16 times.
 */
static void
expect_subscribe(uint8_t level, uint64_t epoch, uint64_t seq)
{
	struct peer_req r;
	struct penc e;
	uint8_t key[ST_EV_KEY_LEN];
	int before = sub_calls, i;

	peer_expect(&P, &r, PROTO_ST_EV_SUBSCRIBE);
	assert_int_equal(r.len, 1);
	assert_int_equal(r.payload[0], level);
	assert_int_equal(storec_ev_level_confirmed(), -1);	/* in flight */
	penc_init(&e);
	penc_u64(&e, epoch);
	penc_u64(&e, seq);
	memset(key, (int)(epoch & 0xff), sizeof(key));
	penc_bytes(&e, key, sizeof(key));
	peer_reply_enc(&P, &r, &e);
	for (i = 0; i < 200 && sub_calls == before; i++)
		drive_ms(5);
	assert_int_equal(sub_level, level);
	assert_true(sub_epoch == epoch && sub_seq == seq);
	assert_memory_equal(sub_key, key, sizeof(key));
	assert_int_equal(storec_ev_level_confirmed(), level);
}

static void
test_event_subscription(void **state)
{
	ev_a = ev_b = sub_calls = 0;
	peer_listen(&P);
	storec_init(P.path);
	storec_on_event(on_ev_a);
	storec_on_event(on_ev_b);
	storec_on_event(on_ev_a);	/* once is enough */
	storec_on_subscribed(on_sub);
	storec_ev_level(1);		/* before the connection: asked on it */
	assert_int_equal(peer_accept(&P, 2000), 0);
	expect_subscribe(1, 77, 5);
	assert_int_equal(sub_again, 0);

	/* Unasked events reach every callback once. */
	assert_int_equal(pchan_send(&P.ch, PROTO_ST_EV, 0, 0, "abc", 3, -1), 0);
	assert_int_equal(pchan_flush_wait(&P.ch, 1000), 0);
	drive_until(&ev_b, 1000);
	assert_int_equal(ev_a, 1);
	assert_int_equal(ev_b, 1);

	/* A change is asked for; the same level again is not. */
	storec_ev_level(2);
	expect_subscribe(2, 77, 9);
	storec_ev_level(2);
	peer_expect_none(&P, 50);

	/* Dropped for falling behind: asked again, and it missed events. */
	assert_int_equal(pchan_send(&P.ch, PROTO_ST_EV_LOST, 0, 0, NULL, 0,
	    -1), 0);
	assert_int_equal(pchan_flush_wait(&P.ch, 1000), 0);
	expect_subscribe(2, 77, 12);
	assert_int_equal(sub_again, 1);
	assert_int_equal(ev_b, 1);	/* not an event for the callbacks */

	/* After a reconnect the level wanted is asked for again. */
	peer_close(&P);
	drive_ms(30);
	assert_int_equal(storec_ev_level_confirmed(), -1);
	assert_int_equal(peer_accept(&P, 2000), 0);
	expect_subscribe(2, 78, 0);
	assert_int_equal(sub_again, 1);

	/* Refused (an older storaged): not asked again on this connection. */
	storec_ev_level(1);
	{
		struct peer_req r;

		peer_expect(&P, &r, PROTO_ST_EV_SUBSCRIBE);
		peer_error(&P, &r, PROTO_E_INVALID, "unknown type");
	}
	drive_ms(30);
	storec_ev_level(2);
	peer_expect_none(&P, 50);
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
}

/*
 * ST_EV_SUBSCRIBE's reply whole, a byte short and a byte over (its valid
 * struct encoded by the table): whole, the level confirmed and told;
 * else refused as an error is: not confirmed (-1), nobody told, not
 * asked again on that connection, asked again on the next.
 */
static void
test_subscribe_malformed(void **state)
{
	const struct st_ev_subscribe_rep rep = { 0xab, 9, { 1, 2, 3 },
	    ST_EV_KEY_LEN };
	struct peer_req r;
	int cut, before;

	for (cut = -1; cut <= 1; cut++) {
		assert_int_equal(peer_connect(&P), 0);
		storec_on_subscribed(on_sub);
		before = sub_calls;
		storec_ev_level(ST_EV_LEVEL_ALL);
		peer_expect(&P, &r, PROTO_ST_EV_SUBSCRIBE);
		assert_int_equal(r.len, 1);
		assert_int_equal(r.payload[0], ST_EV_LEVEL_ALL);
		peer_reply_cut(&P, &r, &rep, cut);
		drive_ms(30);
		if (cut == 0) {
			assert_int_equal(sub_calls, before + 1);
			assert_int_equal(sub_level, ST_EV_LEVEL_ALL);
			assert_true(sub_epoch == 0xab && sub_seq == 9);
			assert_int_equal(storec_ev_level_confirmed(),
			    ST_EV_LEVEL_ALL);
		} else {
			assert_int_equal(sub_calls, before);
			assert_int_equal(storec_ev_level_confirmed(), -1);
			storec_ev_level(ST_EV_LEVEL_VISITOR);
			storec_ev_level(ST_EV_LEVEL_ALL);
			peer_expect_none(&P, 50);
			/* A new connection asks again. */
			peer_close(&P);
			assert_int_equal(peer_accept(&P, 2000), 0);
			expect_subscribe(ST_EV_LEVEL_ALL, 0xab, 10);
		}
		assert_int_equal(storec_inflight(), 0);
		storec_shutdown();
		peer_close(&P);
		peer_unlisten(&P);
	}
}

/* ------------------------------------------- where each reply is tested */

#define CONN	"tests/unit/workerd/net/test_conn.c"
#define CHAT	"tests/unit/workerd/chat/test_chat.c"
#define WSCHAT	"tests/unit/workerd/chat/test_wschat.c"
#define TURN	"tests/unit/workerd/chat/test_turn.c"
#define DASH	"tests/unit/workerd/admin/test_dashauth.c"
#define EXPORT	"tests/unit/workerd/admin/test_export.c"
#define EVENTS	"tests/unit/workerd/admin/test_events.c"
#define METRICS	"tests/unit/workerd/admin/test_metrics.c"
#define BAD	"tests/unit/workerd/admin/test_bad_replies.c"
#define STOREC	"tests/unit/workerd/test_storec.c"
#define APIKEYS	"tests/unit/workerd/admin/test_apikeys.c"
#define GDPR	"tests/unit/workerd/admin/test_gdpr.c"
#define ADMIN_WALK	CONN, "test_admin_bad_replies"

/*
 * Every type workerd may send storaged (the table's rows from
 * PROTO_PEER_WORKERD to PROTO_PEER_STORAGED with a reply) and the tests that answer
 * it with a reply a byte short and a byte over and check the request
 * fails cleanly; file NULL: workerd never sends it (its sources do not
 * name it). A type new to the table needs its row here, and the row a
 * test that is there.
 */
static const struct {
	uint16_t type;
	const char *file, *test;
} reply_tests[] = {
	{ PROTO_ST_PING, NULL, NULL },
	{ PROTO_ST_CONV_OPEN, NULL, NULL },
	{ PROTO_ST_CONV_LIST, NULL, NULL },	/* ST_CONV_QUERY instead */
	{ PROTO_ST_MSG_APPEND, CHAT, "test_malformed_replies" },
	{ PROTO_ST_MSG_APPEND, WSCHAT, "test_ws_requests_malformed" },
	{ PROTO_ST_MSG_APPEND, TURN, "test_turn_model_fails" },
	{ PROTO_ST_TURNS_HELD, TURN, "test_turn_held" },
	{ PROTO_ST_CONV_GET, ADMIN_WALK },
	{ PROTO_ST_CONV_GET, EXPORT, "test_export_malformed" },
	{ PROTO_ST_CHAT_BEGIN, CHAT, "test_malformed_replies" },
	{ PROTO_ST_CHAT_BEGIN, TURN, "test_turn_refusals" },
	{ PROTO_ST_CHAT_ANSWER_LAST, TURN, "test_turn_answer_last" },
	{ PROTO_ST_RATE_HIT, CHAT, "test_malformed_replies" },
	{ PROTO_ST_RATE_HIT, DASH, "test_dash_malformed" },
	{ PROTO_ST_RATE_HIT, STOREC, "test_ask_and_decode" },
	{ PROTO_ST_SESSION_HISTORY, CHAT, "test_malformed_replies" },
	{ PROTO_ST_WIDGET_CREATE, ADMIN_WALK },
	{ PROTO_ST_WIDGET_UPDATE, ADMIN_WALK },
	{ PROTO_ST_WIDGET_GET, ADMIN_WALK },
	{ PROTO_ST_WIDGET_AVAIL, BAD, "test_config_malformed" },
	{ PROTO_ST_SETUP_NOTE, BAD, "test_setup_note_malformed" },
	{ PROTO_ST_SETUP_GET, ADMIN_WALK },
	{ PROTO_ST_WIDGET_AVAIL, WSCHAT, "test_ws_availability" },
	{ PROTO_ST_PRESENCE_SEEN, DASH, "test_events_presence" },
	{ PROTO_ST_WIDGET_LIST, ADMIN_WALK },
	{ PROTO_ST_WIDGET_DELETE, ADMIN_WALK },
	{ PROTO_ST_WIDGET_RESET_ID, ADMIN_WALK },
	{ PROTO_ST_WIDGET_SECRET_SET, ADMIN_WALK },
	{ PROTO_ST_WIDGET_SECRET_DEL, ADMIN_WALK },
	{ PROTO_ST_WS_IDENTIFY, WSCHAT, "test_ws_requests_malformed" },
	{ PROTO_ST_WS_OPEN, WSCHAT, "test_ws_open_malformed" },
	{ PROTO_ST_WS_OPEN, WSCHAT, "test_ws_resume_malformed" },
	{ PROTO_ST_WS_BEGIN, WSCHAT, "test_ws_requests_malformed" },
	{ PROTO_ST_CONTACT_SUBMIT, WSCHAT, "test_ws_requests_malformed" },
	{ PROTO_ST_CONTACT_LIST, ADMIN_WALK },
	{ PROTO_ST_CONTACT_GET, ADMIN_WALK },
	{ PROTO_ST_CONTACT_GET, GDPR, "test_contact_export_malformed" },
	{ PROTO_ST_DASH_LOGIN, DASH, "test_dash_malformed" },
	{ PROTO_ST_DASH_CHECK, DASH, "test_dash_malformed" },
	{ PROTO_ST_DASH_LOGOUT, DASH, "test_dash_malformed" },
	{ PROTO_ST_DASH_SALT, DASH, "test_dash_malformed" },
	{ PROTO_ST_DASH_ATTEMPT, DASH, "test_dash_malformed" },
	{ PROTO_ST_CONV_DELETE, ADMIN_WALK },
	{ PROTO_ST_CONV_QUERY, ADMIN_WALK },
	{ PROTO_ST_CONV_QUERY, EXPORT, "test_export_malformed" },
	{ PROTO_ST_MSG_PAGE, NULL, NULL },	/* ST_MSG_PAGES instead */
	{ PROTO_ST_MSG_PAGES, EXPORT, "test_export_malformed" },
	{ PROTO_ST_MSG_PAGES, GDPR, "test_contact_export_malformed" },
	{ PROTO_ST_METRICS_PUT, METRICS, "metrics_test_push_malformed" },
	{ PROTO_ST_METRICS_GET, METRICS, "metrics_test_totals_malformed" },
	{ PROTO_ST_AGENT_CREATE, ADMIN_WALK },
	{ PROTO_ST_AGENT_UPDATE, ADMIN_WALK },
	{ PROTO_ST_AGENT_GET, ADMIN_WALK },
	{ PROTO_ST_AGENT_LIST, ADMIN_WALK },
	{ PROTO_ST_AGENT_DELETE, ADMIN_WALK },
	{ PROTO_ST_HANDOFF_SET, ADMIN_WALK },
	{ PROTO_ST_AGENT_MSG, ADMIN_WALK },
	{ PROTO_ST_TYPING, ADMIN_WALK },
	{ PROTO_ST_CONV_ASSIGN, ADMIN_WALK },
	{ PROTO_ST_CONV_STATE, ADMIN_WALK },
	{ PROTO_ST_REPORT_GET, ADMIN_WALK },
	{ PROTO_ST_GAP_LIST, ADMIN_WALK },
	{ PROTO_ST_GAP_DELETE, ADMIN_WALK },
	{ PROTO_ST_WS_REQUEST_HUMAN, WSCHAT, "test_ws_requests_malformed" },
	{ PROTO_ST_WS_FEEDBACK, WSCHAT, "test_ws_feedback_malformed" },
	{ PROTO_ST_WS_RATING, WSCHAT, "test_ws_feedback_malformed" },
	{ PROTO_ST_FEEDBACK_SUMMARY, ADMIN_WALK },
	{ PROTO_ST_WS_CONV_NEW, WSCHAT, "test_ws_convs_malformed" },
	{ PROTO_ST_WS_CONV_LIST, WSCHAT, "test_ws_convs_malformed" },
	{ PROTO_ST_WS_CONV_READ, WSCHAT, "test_ws_convs_malformed" },
	{ PROTO_ST_EV_SUBSCRIBE, STOREC, "test_subscribe_malformed" },
	{ PROTO_ST_EV_SINCE, EVENTS, "test_since_malformed" },
	{ PROTO_ST_HANDOFF_LIST, BAD, "test_handoff_list_malformed" },
	{ PROTO_ST_ORG_CREATE, ADMIN_WALK },
	{ PROTO_ST_ORG_UPDATE, ADMIN_WALK },
	{ PROTO_ST_ORG_GET, ADMIN_WALK },
	{ PROTO_ST_ORG_LIST, ADMIN_WALK },
	{ PROTO_ST_ORG_DELETE, ADMIN_WALK },
	{ PROTO_ST_KEY_CREATE, ADMIN_WALK },
	{ PROTO_ST_KEY_LIST, ADMIN_WALK },
	{ PROTO_ST_KEY_DELETE, ADMIN_WALK },
	{ PROTO_ST_KEY_AUTH, APIKEYS, "test_key_auth_malformed" },
	{ PROTO_ST_AUDIT_LIST, ADMIN_WALK },
	{ PROTO_ST_AUDIT_NOTE, EXPORT, "test_export_note_malformed" },
	{ PROTO_ST_USER_AUTH, DASH, "test_dash_malformed" },
	{ PROTO_ST_USER_BOOT, DASH, "test_dash_malformed" },
	{ PROTO_ST_USER_LIST, ADMIN_WALK },
	{ PROTO_ST_USER_INVITE, ADMIN_WALK },
	{ PROTO_ST_USER_UPDATE, ADMIN_WALK },
	{ PROTO_ST_USER_DELETE, ADMIN_WALK },
	{ PROTO_ST_USER_SELF, ADMIN_WALK },
	{ PROTO_ST_INVITE_ACCEPT, DASH, "test_dash_accept_malformed" },
	{ PROTO_ST_INVITE_SALT, DASH, "test_dash_accept_malformed" },
	{ PROTO_ST_INVITE_LIST, ADMIN_WALK },
	{ PROTO_ST_INVITE_REVOKE, ADMIN_WALK },
	{ PROTO_ST_CONTACT_ERASE, ADMIN_WALK },
	{ PROTO_ST_CONTACT_ERASING, ADMIN_WALK },
	{ PROTO_ST_CONTACT_CONVS, GDPR, "test_contact_export_malformed" },
	{ PROTO_ST_CONTACT_SESSIONS, GDPR, "test_contact_export_malformed" },
	{ PROTO_ST_HOOK_CREATE, ADMIN_WALK },
	{ PROTO_ST_HOOK_UPDATE, ADMIN_WALK },
	{ PROTO_ST_HOOK_GET, ADMIN_WALK },
	{ PROTO_ST_HOOK_LIST, ADMIN_WALK },
	{ PROTO_ST_HOOK_DELETE, ADMIN_WALK },
	{ PROTO_ST_HOOK_DELIVERIES, ADMIN_WALK },
	{ PROTO_ST_HOOK_RETRY, ADMIN_WALK },
	{ PROTO_ST_HOOK_TEST, ADMIN_WALK },
	{ PROTO_ST_HOOK_SECRET, ADMIN_WALK },
	/* The notifier's (notifier.c). */
	{ PROTO_ST_HOOK_DUE, STOREC, "test_outbox_malformed" },
	{ PROTO_ST_HOOK_RESULT, STOREC, "test_outbox_malformed" },
	{ PROTO_ST_CONV_RESOLVE_DUE, STOREC, "test_outbox_malformed" },
	/* A dashboard user's own (admin/notifications.c), and mailer.c's. */
	{ PROTO_ST_NOTIFY_GET, ADMIN_WALK },
	{ PROTO_ST_NOTIFY_SET, ADMIN_WALK },
	{ PROTO_ST_MAIL_DUE, STOREC, "test_outbox_malformed" },
	{ PROTO_ST_MAIL_RESULT, STOREC, "test_outbox_malformed" },
	{ PROTO_ST_MAIL_CHECK, STOREC, "test_outbox_malformed" },
	/* The inbox (admin.c's read, canned.c). */
	{ PROTO_ST_CONV_READ, ADMIN_WALK },
	{ PROTO_ST_CANNED_LIST, ADMIN_WALK },
	{ PROTO_ST_CANNED_PUT, ADMIN_WALK },
	{ PROTO_ST_CANNED_DELETE, ADMIN_WALK },
	/* The knowledge base (admin/knowledge.c). */
	{ PROTO_ST_KB_SOURCE_CREATE, ADMIN_WALK },
	{ PROTO_ST_KB_SOURCE_UPDATE, ADMIN_WALK },
	{ PROTO_ST_KB_SOURCE_GET, ADMIN_WALK },
	{ PROTO_ST_KB_SOURCE_LIST, ADMIN_WALK },
	{ PROTO_ST_KB_SOURCE_DELETE, ADMIN_WALK },
	{ PROTO_ST_KB_SEARCH, ADMIN_WALK },
	{ PROTO_ST_AGENT_EMBED, CONN, "test_agent_embed_bad_replies" },
	{ PROTO_ST_KB_SYNC, ADMIN_WALK },
	{ PROTO_ST_KB_PAGES, ADMIN_WALK },
	{ PROTO_ST_KB_FILE_PUT, ADMIN_WALK },
	{ PROTO_ST_ATT_NEW, CONN, "test_attach_bad_replies" },
	{ PROTO_ST_ATT_PUT, CONN, "test_attach_bad_replies" },
	{ PROTO_ST_ATT_READ, CONN, "test_attach_bad_replies" },
	{ PROTO_ST_ATT_ADMIN_NEW, ADMIN_WALK },
	{ PROTO_ST_ATT_ADMIN_PUT, ADMIN_WALK },
	{ PROTO_ST_ATT_ADMIN_READ, ADMIN_WALK },
	{ PROTO_ST_KB_FILE_GET, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_KB_RETRIEVE, STOREC, "test_fetcher_malformed" },
	/* Actions (admin/actions.c), and a turn's tools (chat/tools.c). */
	{ PROTO_ST_ACTION_CREATE, ADMIN_WALK },
	{ PROTO_ST_ACTION_UPDATE, ADMIN_WALK },
	{ PROTO_ST_ACTION_GET, ADMIN_WALK },
	{ PROTO_ST_ACTION_LIST, ADMIN_WALK },
	{ PROTO_ST_ACTION_DELETE, ADMIN_WALK },
	{ PROTO_ST_ACTION_TOOLS, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_TURN_HANDOFF, STOREC, "test_fetcher_malformed" },
	/* The fetcher's (fetch/fetcher.c). */
	{ PROTO_ST_KB_DUE, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_KB_PAGE_GET, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_KB_PAGE_PUT, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_KB_SYNC_DONE, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_ATT_EXTRACT_DUE, STOREC, "test_fetcher_malformed" },
	{ PROTO_ST_ATT_TEXT_PUT, STOREC, "test_fetcher_malformed" },
};
#define NREPLY_TESTS	(sizeof(reply_tests) / sizeof(reply_tests[0]))

/*
 * 1 when m is a request workerd (a worker or the fetcher) may send
 * storaged (HELLO, unanswered, is not).
 */
static int
worker_asks(const struct proto_msg *m)
{
	return (m->from & (PROTO_PEER_WORKERD | PROTO_PEER_FETCHER)) &&
	    (m->to & PROTO_PEER_STORAGED) && m->rep != NULL;
}

static int
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* 1 when s holds word as a whole identifier. */
static int
has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = s; (p = strstr(p, word)) != NULL; p += n)
		if ((p == s || !ident_char(p[-1])) && !ident_char(p[n]))
			return 1;
	return 0;
}

/* path's text (malloc'd, NUL-terminated); the test fails when unread. */
static char *
slurp(const char *path)
{
	FILE *f;
	char *s;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot read (run from the repository's top)",
		    path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(s = malloc((size_t)n + 1));
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* 1 when src defines the cmocka test named test and registers it. */
static int
has_test(const char *src, const char *test)
{
	char def[128];
	const char *p;
	size_t n = strlen(test);

	snprintf(def, sizeof(def), "\n%s(void **state)\n{", test);
	if (strstr(src, def) == NULL)
		return 0;
	for (p = src; (p = strstr(p, "cmocka_unit_test")) != NULL; p++) {
		if ((p = strchr(p, '(')) == NULL)
			break;
		p += 1 + strspn(p + 1, " \t\n");
		if (strncmp(p, test, n) == 0 && !ident_char(p[n]))
			return 1;
	}
	return 0;
}

/* 1 when some source of workerd names the constant of type m. */
static int
worker_names(const glob_t *g, const struct proto_msg *m)
{
	char word[64];
	char *src;
	size_t i;
	int found = 0;

	snprintf(word, sizeof(word), "PROTO_%s", m->name);
	for (i = 0; i < g->gl_pathc && !found; i++) {
		src = slurp(g->gl_pathv[i]);
		found = has_word(src, word);
		free(src);
	}
	return found;
}

/*
 * Each request workerd may send storaged (walked in the message table)
 * has a row in reply_tests; each row is such a request, and names a test
 * that is there, registered with cmocka, or else a type no source of
 * workerd names.
 */
static void
test_every_reply_tested(void **state)
{
	static const char *const srcs[] = {
		"workerd/*.[ch]", "workerd/*/*.[ch]",
	};
	const struct proto_msg *m;
	glob_t g;
	size_t i, k, n = 0;
	char *src;

	memset(&g, 0, sizeof(g));
	for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++)
		assert_int_equal(glob(srcs[i], i > 0 ? GLOB_APPEND : 0, NULL,
		    &g), 0);
	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		if (!worker_asks(m))
			continue;
		n++;
		for (k = 0; k < NREPLY_TESTS; k++)
			if (reply_tests[k].type == m->type)
				break;
		if (k == NREPLY_TESTS)
			fail_msg("%s: workerd may send it, but reply_tests "
			    "names no test of its malformed reply", m->name);
	}
	/* Today's 41, ST_PING among them: the walk found the table. */
	assert_true(n >= 41);
	for (k = 0; k < NREPLY_TESTS; k++) {
		m = proto_msg(reply_tests[k].type);
		if (m == NULL || !worker_asks(m))
			fail_msg("reply_tests[%zu]: type 0x%x is no request "
			    "workerd may send", k, reply_tests[k].type);
		if (reply_tests[k].file == NULL) {
			if (worker_names(&g, m))
				fail_msg("%s: workerd sends it now: name the "
				    "test of its malformed reply", m->name);
			continue;
		}
		src = slurp(reply_tests[k].file);
		if (!has_test(src, reply_tests[k].test))
			fail_msg("%s: %s has no test %s", m->name,
			    reply_tests[k].file, reply_tests[k].test);
		free(src);
	}
	globfree(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_then_unavailable),
		cmocka_unit_test(test_waiting_sent_on_connect),
		cmocka_unit_test(test_replies_matched_by_id),
		cmocka_unit_test(test_cancel_and_timeout),
		cmocka_unit_test(test_timeout_counts_from_sending),
		cmocka_unit_test(test_confirmation_outlives_timeout),
		cmocka_unit_test(test_outcome_waits_then_drops),
		cmocka_unit_test(test_disconnect_and_reconnect),
		cmocka_unit_test(test_protocol_error_disconnects),
		cmocka_unit_test(test_goes_to_primary),
		cmocka_unit_test(test_ask_and_decode),
		cmocka_unit_test(test_outbox_malformed),
		cmocka_unit_test(test_fetcher_malformed),
		cmocka_unit_test(test_event_subscription),
		cmocka_unit_test(test_subscribe_malformed),
		cmocka_unit_test(test_every_reply_tested),
	};

	log_init("test_storec");
	return cmocka_run_group_tests(tests, setup, teardown);
}
