/*
 * storaged's event ring (eventring.h): numbering under an epoch, typing
 * kept out, ST_EV_SINCE's answers (ok, gone, bounded), eviction by count
 * and by bytes, and which subscriber level gets which event.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentmsg.h"
#include "dispatch.h"
#include "eventring.h"
#include "log.h"
#include "ops.h"
#include "stmsgs.h"

/*
 * An event of kind about a conversation of organisation org ("" the
 * default's), with pad bytes of content.
 */
static void
dev_make_org(struct devent *ev, uint8_t kind, int visitor, size_t pad,
    const char *org)
{
	struct st_event e;

	memset(ev, 0, sizeof(*ev));
	memset(&e, 0, sizeof(e));
	ev->kind = e.kind = kind;
	ev->visitor = visitor;
	e.at = 1700000000000ull;
	strlcpy(e.conv.id, "00112233445566778899aabbccddeeff",
	    sizeof(e.conv.id));
	strlcpy(e.conv.widget, "default", sizeof(e.conv.widget));
	strlcpy(e.conv.session, "s", sizeof(e.conv.session));
	strlcpy(e.conv.org, org, sizeof(e.conv.org));
	strlcpy(ev->org, org, sizeof(ev->org));	/* as reply_event does */
	switch (kind) {
	case ST_EV_MESSAGE:
		strlcpy(e.msg.role, visitor ? "agent" : "user",
		    sizeof(e.msg.role));
		e.msg.content = malloc(pad + 1);
		assert_non_null(e.msg.content);
		memset(e.msg.content, 'x', pad);
		e.msg.content[pad] = '\0';
		break;
	case ST_EV_HANDOFF:
	case ST_EV_TYPING:
		e.state = e.on = 1;
		strlcpy(e.name, "Ana", sizeof(e.name));
		break;
	}
	penc_init(&ev->enc);
	assert_int_equal(st_req_encode(&ev->enc, PROTO_ST_EV, &e), 0);
	free(e.msg.content);
}

static void
dev_make(struct devent *ev, uint8_t kind, int visitor, size_t pad)
{
	dev_make_org(ev, kind, visitor, pad, "");
}

/* Adds an event of org's; its whole encoding decodes back with seq. */
static uint64_t
add_org(struct evring *r, uint8_t kind, size_t pad, const char *org)
{
	struct devent ev;
	struct st_event g;
	struct pdec d;
	const uint8_t *buf;
	size_t len, was;
	uint64_t seq;

	dev_make_org(&ev, kind, 0, pad, org);
	was = ev.enc.len;
	assert_int_equal(evring_add(r, &ev, &buf, &len), 0);
	assert_int_equal(len, was);
	pdec_init(&d, buf, len);
	assert_int_equal(pdec_event(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(g.epoch, evring_stats(r).epoch);
	assert_int_equal(g.kind, kind);
	assert_int_equal(g.at, 1700000000000ull);
	seq = g.seq;
	/* A kept event's encoding is the ring's now; a typing one's, ev's. */
	if (seq != 0) {
		assert_null(ev.enc.buf);
		assert_int_equal(ev.enc.len, 0);
	} else
		assert_ptr_equal(buf, ev.enc.buf);
	st_event_free(&g);
	devent_free(&ev);
	return seq;
}

static uint64_t
add(struct evring *r, uint8_t kind, size_t pad)
{
	return add_org(r, kind, pad, "");
}

/*
 * ST_EV_SINCE for org: the result, last seq, and the seqs it returned;
 * its reply encoded and decoded back by the table.
 */
static int
since_org(struct evring *r, const char *org, uint64_t epoch, uint64_t seq,
    uint32_t max, size_t max_bytes, uint64_t *last, uint64_t *seqs,
    uint32_t *n)
{
	struct st_ev_since_rep rep, back;
	struct st_event g;
	struct penc e;
	struct pdec d;
	uint32_t i;
	int res;

	assert_int_equal(evring_since(r, org, epoch, seq, max, max_bytes,
	    &rep), 0);
	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, PROTO_ST_EV_SINCE, &rep), 0);
	free(rep.events);
	assert_true(e.len <= max_bytes || rep.n <= 1);
	assert_int_equal(st_rep_decode(PROTO_ST_EV_SINCE, e.buf, e.len, &back),
	    0);
	res = back.result;
	assert_int_equal(back.epoch, evring_stats(r).epoch);
	*last = back.last_seq;
	*n = back.n;
	for (i = 0; i < back.n; i++) {
		pdec_init(&d, back.events[i].p, back.events[i].len);
		assert_int_equal(pdec_event(&d, &g), 0);
		seqs[i] = g.seq;
		st_event_free(&g);
	}
	st_rep_free(PROTO_ST_EV_SINCE, &back);
	penc_free(&e);
	return res;
}

/* ST_EV_SINCE for the default organisation (its events are ""'s). */
static int
since(struct evring *r, uint64_t epoch, uint64_t seq, uint32_t max,
    size_t max_bytes, uint64_t *last, uint64_t *seqs, uint32_t *n)
{
	return since_org(r, ST_WHO_ORG_DEFAULT, epoch, seq, max, max_bytes,
	    last, seqs, n);
}

static void
test_numbering(void **state)
{
	struct evring *r = evring_new(), *r2 = evring_new();
	uint64_t last, seqs[16];
	uint32_t n;

	assert_non_null(r);
	assert_non_null(r2);
	/* A new run, a new epoch and id key (random: not all zero). */
	assert_true(evring_stats(r).epoch != evring_stats(r2).epoch);
	assert_memory_not_equal(evring_stats(r).id_key,
	    evring_stats(r2).id_key, ST_EV_KEY_LEN);
	assert_false(proto_zeroed(evring_stats(r).id_key, ST_EV_KEY_LEN));
	assert_int_equal(evring_stats(r).last, 0);
	assert_int_equal(add(r, ST_EV_CONV_CREATED, 0), 1);
	assert_int_equal(add(r, ST_EV_MESSAGE, 10), 2);
	/* Typing and answering: seq 0, never kept. */
	assert_int_equal(add(r, ST_EV_TYPING, 0), 0);
	assert_int_equal(add(r, ST_EV_ANSWERING, 0), 0);
	assert_int_equal(add(r, ST_EV_HANDOFF, 0), 3);
	assert_int_equal(evring_stats(r).last, 3);
	assert_int_equal(evring_stats(r).count, 3);

	/* Everything after 0, after 1, after the last (nothing). */
	assert_int_equal(since(r, evring_stats(r).epoch, 0, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(last, 3);
	assert_int_equal(n, 3);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[2], 3);
	assert_int_equal(since(r, evring_stats(r).epoch, 1, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 2);
	assert_int_equal(since(r, evring_stats(r).epoch, 3, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 0);
	/* max bounds it. */
	assert_int_equal(since(r, evring_stats(r).epoch, 0, 2, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 2);

	/* Another run's epoch, or a seq not handed out yet: gone. */
	assert_int_equal(since(r, evring_stats(r2).epoch, 0, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	assert_int_equal(n, 0);
	assert_int_equal(last, 3);
	assert_int_equal(since(r, evring_stats(r).epoch, 4, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	/* An empty ring has all of nothing. */
	assert_int_equal(since(r2, evring_stats(r2).epoch, 0, 100, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 0);
	evring_free(r);
	evring_free(r2);
}

static void
test_evict_count(void **state)
{
	struct evring *r = evring_new();
	uint64_t last, seqs[4], i;
	uint32_t n;

	for (i = 1; i <= ST_EV_RING_EVENTS + 10; i++)
		assert_int_equal(add(r, ST_EV_CONV_CREATED, 0), i);
	assert_int_equal(evring_stats(r).count, ST_EV_RING_EVENTS);
	/* Events 1..10 left: after 9, 10 is missing; after 10, none is. */
	assert_int_equal(since(r, evring_stats(r).epoch, 9, 4, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	assert_int_equal(since(r, evring_stats(r).epoch, 0, 4, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	assert_int_equal(since(r, evring_stats(r).epoch, 10, 4, 1 << 20, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 4);
	assert_int_equal(seqs[0], 11);
	assert_int_equal(last, ST_EV_RING_EVENTS + 10);
	evring_free(r);
}

/*
 * Only an organisation's own events leaving the ring make its resume
 * GONE: a resume from before the others' evicted events reads on from
 * the ring's oldest, its own all there; one of its own evicted after the
 * resume's seq makes it GONE. (Before marks, any eviction after seq did:
 * a coarse count of the others' activity.)
 */
static void
test_evict_per_org(void **state)
{
	struct evring *r = evring_new();
	uint64_t last, seqs[4], i, a1, a2, ep;
	uint32_t n;

	ep = evring_stats(r).epoch;
	a1 = add_org(r, ST_EV_CONV_CREATED, 0, "org_a");
	a2 = add_org(r, ST_EV_CONV_CREATED, 0, "org_a");
	/* B's busy hour pushes A's two and everything else out. */
	for (i = 0; i < ST_EV_RING_EVENTS + 5; i++)
		add_org(r, ST_EV_CONV_CREATED, 0, "org_b");
	assert_true(a2 + 1 < ST_EV_RING_EVENTS);
	/* A, from after its last: the others' leaving is not told. */
	assert_int_equal(since_org(r, "org_a", ep, a2, 4, 1 << 20, &last, seqs,
	    &n), ST_EV_OK);
	assert_int_equal(n, 4);
	assert_int_equal(seqs[0], evring_stats(r).last - ST_EV_RING_EVENTS + 1);
	/* A, from between its two: its second left, GONE. */
	assert_int_equal(since_org(r, "org_a", ep, a1, 4, 1 << 20, &last, seqs,
	    &n), ST_EV_GONE);
	/* B, from the same place: its own left after it, GONE. */
	assert_int_equal(since_org(r, "org_b", ep, a2, 4, 1 << 20, &last, seqs,
	    &n), ST_EV_GONE);
	/* C, never evicted: any seq of this run reads on. */
	assert_int_equal(since_org(r, "org_c", ep, 0, 4, 1 << 20, &last, seqs,
	    &n), ST_EV_OK);
	/* The default organisation's name and "" are one. */
	add(r, ST_EV_CONV_CREATED, 0);
	for (i = 0; i < ST_EV_RING_EVENTS; i++)
		add_org(r, ST_EV_CONV_CREATED, 0, "org_b");
	assert_int_equal(since(r, ep, last, 4, 1 << 20, &last, seqs, &n),
	    ST_EV_GONE);
	assert_int_equal(since_org(r, "org_a", ep, a2, 4, 1 << 20, &last, seqs,
	    &n), ST_EV_OK);
	/* Another run's epoch is still GONE. */
	assert_int_equal(since_org(r, "org_c", ep + 1, 0, 4, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	evring_free(r);
}

/*
 * More organisations evicted than the marks hold: past them, an eviction
 * counts for every organisation (GONE, as before marks), never a
 * resume told OK past its own missing events.
 */
static void
test_evict_marks_full(void **state)
{
	struct evring *r = evring_new();
	uint64_t last, seqs[4], i, ep, mine;
	uint32_t n;
	char org[32];

	ep = evring_stats(r).epoch;
	mine = add_org(r, ST_EV_CONV_CREATED, 0, "org_mine");
	for (i = 0; i < 3 * ST_EV_RING_EVENTS; i++) {
		snprintf(org, sizeof(org), "org_%" PRIu64, i);
		add_org(r, ST_EV_CONV_CREATED, 0, org);
	}
	/* Its own went first, marked: GONE from before it. */
	assert_int_equal(since_org(r, "org_mine", ep, mine - 1, 4, 1 << 20,
	    &last, seqs, &n), ST_EV_GONE);
	/* Some 2,000 organisations since: the marks are full, so GONE. */
	assert_int_equal(since_org(r, "org_new", ep, mine, 4, 1 << 20, &last,
	    seqs, &n), ST_EV_GONE);
	evring_free(r);
}

static void
test_evict_bytes(void **state)
{
	struct evring *r = evring_new();
	uint64_t last, seqs[8], i;
	uint32_t n;
	size_t big = 64 * 1024;

	/* 64 KiB messages: 8 MiB holds fewer than 128 of them. */
	for (i = 1; i <= 200; i++)
		add(r, ST_EV_MESSAGE, big);
	assert_true(evring_stats(r).bytes <= ST_EV_RING_BYTES);
	assert_true(evring_stats(r).count < 128);
	assert_true(evring_stats(r).count > 100);
	assert_int_equal(since(r, evring_stats(r).epoch, 200 - evring_stats(r).count - 1,
	    8, 1 << 30, &last, seqs, &n), ST_EV_GONE);
	assert_int_equal(since(r, evring_stats(r).epoch, 200 - evring_stats(r).count, 8,
	    1 << 30, &last, seqs, &n), ST_EV_OK);
	assert_int_equal(n, 8);
	/* A reply bounded by bytes carries what fits, at least one. */
	assert_int_equal(since(r, evring_stats(r).epoch, 190, 8, 3 * big, &last,
	    seqs, &n), ST_EV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 191);
	assert_int_equal(since(r, evring_stats(r).epoch, 190, 8, 10, &last, seqs,
	    &n), ST_EV_OK);
	assert_int_equal(n, 1);
	evring_free(r);
}

static void
test_levels(void **state)
{
	struct devent user, agent, handoff, typing, contact, created;

	dev_make(&user, ST_EV_MESSAGE, 0, 1);
	dev_make(&agent, ST_EV_MESSAGE, 1, 1);
	dev_make(&handoff, ST_EV_HANDOFF, 1, 0);
	dev_make(&typing, ST_EV_TYPING, 1, 0);
	dev_make(&contact, ST_EV_CONTACT, 0, 0);
	dev_make(&created, ST_EV_CONV_CREATED, 0, 0);
	assert_false(ev_wanted(ST_EV_LEVEL_NONE, &agent));
	assert_false(ev_wanted(ST_EV_LEVEL_NONE, &created));
	assert_true(ev_wanted(ST_EV_LEVEL_VISITOR, &agent));
	assert_true(ev_wanted(ST_EV_LEVEL_VISITOR, &handoff));
	assert_true(ev_wanted(ST_EV_LEVEL_VISITOR, &typing));
	assert_false(ev_wanted(ST_EV_LEVEL_VISITOR, &user));
	assert_false(ev_wanted(ST_EV_LEVEL_VISITOR, &contact));
	assert_false(ev_wanted(ST_EV_LEVEL_VISITOR, &created));
	assert_true(ev_wanted(ST_EV_LEVEL_ALL, &user));
	assert_true(ev_wanted(ST_EV_LEVEL_ALL, &contact));
	assert_true(ev_wanted(ST_EV_LEVEL_ALL, &typing));
	devent_free(&user);
	devent_free(&agent);
	devent_free(&handoff);
	devent_free(&typing);
	devent_free(&contact);
	devent_free(&created);
}

/*
 * A visitor-level event: its conversation cut to its id, the rest as the
 * whole one has it, numbered alike; the whole goes to the level above.
 */
static void
test_visitor_cut(void **state)
{
	struct evring *r = evring_new();
	struct devent ev;
	struct st_event whole, e, g;
	const uint8_t *buf, *vbuf;
	size_t len, vlen;
	struct pdec d;

	(void)state;
	assert_non_null(r);
	dev_make(&ev, ST_EV_MESSAGE, 1, 100);
	pdec_init(&d, ev.enc.buf, ev.enc.len);
	assert_int_equal(pdec_event(&d, &whole), 0);
	strlcpy(whole.conv.visitor_name, "A name the visitor is never sent",
	    sizeof(whole.conv.visitor_name));
	devent_cut_for_visitors(&ev, &whole);
	assert_true(ev.venc.len > 0 && ev.venc.len < ev.enc.len);
	assert_int_equal(evring_add(r, &ev, &buf, &len), 0);

	ev_for_level(ST_EV_LEVEL_ALL, &ev, buf, len, &vbuf, &vlen);
	assert_ptr_equal(vbuf, buf);
	ev_for_level(ST_EV_LEVEL_VISITOR, &ev, buf, len, &vbuf, &vlen);
	assert_ptr_equal(vbuf, ev.venc.buf);
	pdec_init(&d, vbuf, vlen);
	assert_int_equal(pdec_event(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	pdec_init(&d, buf, len);
	assert_int_equal(pdec_event(&d, &e), 0);
	assert_int_equal(g.epoch, e.epoch);
	assert_int_equal(g.seq, e.seq);
	assert_int_equal(g.seq, 1);
	assert_int_equal(g.at, e.at);
	assert_int_equal(g.kind, ST_EV_MESSAGE);
	assert_string_equal(g.conv.id, e.conv.id);
	assert_string_equal(g.msg.role, "agent");
	assert_string_equal(g.msg.content, e.msg.content);
	assert_string_equal(e.conv.widget, "default");
	assert_string_equal(g.conv.widget, "");
	assert_string_equal(g.conv.session, "");
	assert_string_equal(g.conv.visitor_name, "");
	st_event_free(&e);
	st_event_free(&g);
	st_event_free(&whole);
	devent_free(&ev);

	/* No visitor encoding (a dashboard's event): the whole, at both levels. */
	dev_make(&ev, ST_EV_MESSAGE, 0, 1);
	assert_int_equal(evring_add(r, &ev, &buf, &len), 0);
	ev_for_level(ST_EV_LEVEL_VISITOR, &ev, buf, len, &vbuf, &vlen);
	assert_ptr_equal(vbuf, buf);
	assert_int_equal(vlen, len);
	devent_free(&ev);
	evring_free(r);
}

/*
 * An answer's cited passages (reply_event): in the visitors' encoding,
 * not in the ring's, and the event it was given left as it was; an
 * event without them encodes alike.
 */
static void
test_reply_event_cited(void **state)
{
	static char cited[] = "[{\"n\":1}]";
	struct dreply r;
	struct st_event ev, e, g;
	struct pdec d;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		memset(&ev, 0, sizeof(ev));
		ev.kind = ST_EV_MESSAGE;
		ev.at = 1700000000000ull;
		strlcpy(ev.conv.id, "00112233445566778899aabbccddeeff",
		    sizeof(ev.conv.id));
		strlcpy(ev.conv.widget, "default", sizeof(ev.conv.widget));
		strlcpy(ev.conv.session, "s", sizeof(ev.conv.session));
		strlcpy(ev.msg.role, "assistant", sizeof(ev.msg.role));
		ev.msg.content = "an answer";
		ev.msg.cited = i == 0 ? cited : NULL;
		reply_event(&r, &ev, EV_VISITOR);
		assert_ptr_equal(ev.msg.cited, i == 0 ? cited : NULL);
		assert_int_equal(r.nevs, 1);
		assert_true(r.evs[0].visitor);
		pdec_init(&d, r.evs[0].enc.buf, r.evs[0].enc.len);
		assert_int_equal(pdec_event(&d, &e), 0);
		assert_int_equal(pdec_done(&d), 0);
		pdec_init(&d, r.evs[0].venc.buf, r.evs[0].venc.len);
		assert_int_equal(pdec_event(&d, &g), 0);
		assert_int_equal(pdec_done(&d), 0);
		assert_string_equal(e.msg.content, "an answer");
		assert_string_equal(e.conv.widget, "default");
		assert_true(e.msg.cited == NULL || e.msg.cited[0] == '\0');
		assert_string_equal(g.msg.content, "an answer");
		if (i == 0)
			assert_string_equal(g.msg.cited, cited);
		else
			assert_true(g.msg.cited == NULL ||
			    g.msg.cited[0] == '\0');
		st_event_free(&e);
		st_event_free(&g);
		devent_free(&r.evs[0]);
		free(r.evs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_evict_count),
		cmocka_unit_test(test_evict_per_org),
		cmocka_unit_test(test_evict_marks_full),
		cmocka_unit_test(test_evict_bytes),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_visitor_cut),
		cmocka_unit_test(test_reply_event_cited),
	};

	log_init("test_events");
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
