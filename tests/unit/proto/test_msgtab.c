/*
 * The message table (proto/msgtab.c): one row per type, each type once,
 * names as proto.h's (PROTO_ + name), storaged's requests only to it,
 * each of storaged's messages with its layouts (stmsgs.h), the table's
 * fingerprint moved by what a payload's bytes depend on and by nothing
 * else, and proto/PROTOCOL.md's list of message types the same set of
 * types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtab.h"
#include "record.h"
#include "stmsgs.h"
#include "storemsg.h"

static void
test_rows(void **state)
{
	const struct proto_msg *m;
	int seen[PROTO_TYPE_MAX] = { 0 };
	size_t i;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		assert_true(m->type > 0 && m->type < PROTO_TYPE_MAX);
		assert_int_equal(seen[m->type]++, 0);
		assert_ptr_equal(proto_msg(m->type), m);
		assert_string_equal(proto_msg_name(m->type), m->name);
		assert_true(m->from != 0 && m->to != 0);
		/* Only storaged's requests write or are answered early. */
		if (m->write || m->early)
			assert_int_equal(m->to, PROTO_PEER_STORAGED);
		if (strncmp(m->name, "ST_", 3) == 0 &&
		    strncmp(m->name, "ST_EV", 5) != 0)
			assert_int_equal(m->to, PROTO_PEER_STORAGED);
	}
	assert_true(i > 50);
	assert_null(proto_msg(0));
	assert_null(proto_msg(0x7f));
	assert_null(proto_msg(PROTO_TYPE_MAX));
	assert_string_equal(proto_msg_name(0x7f), "UNKNOWN");
}

/*
 * The layouts (stmsgs.h): each storaged request names its request's and
 * its reply's; storaged's unasked messages their payload's and no reply
 * (between two storaged, replication's: those with no reply layout); the
 * other processes' messages none.
 */
static void
test_layouts(void **state)
{
	const struct proto_msg *m;
	size_t i, asked = 0, unasked = 0;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		if (m->type == PROTO_HELLO) {
			assert_null(m->req);
			assert_null(m->rep);
		} else if ((m->to & PROTO_PEER_STORAGED) &&
		    !((m->from & PROTO_PEER_STORAGED) && m->rep == NULL)) {
			if (m->req == NULL || m->rep == NULL)
				fail_msg("%s: a storaged request without its "
				    "request and reply layouts", m->name);
			asked++;
		} else if (m->from & PROTO_PEER_STORAGED) {
			if (m->req == NULL || m->rep != NULL)
				fail_msg("%s: storaged's unasked message needs "
				    "its payload's layout, and no reply's",
				    m->name);
			unasked++;
		} else if (m->req != NULL || m->rep != NULL)
			fail_msg("%s: not storaged's, with a layout", m->name);
	}
	assert_true(asked > 40);
	/* the events (role among them), and replication's record, snapshot and
	 * acknowledgement */
	assert_int_equal(unasked, 10);
	assert_ptr_equal(proto_msg(PROTO_ST_PING)->req, &pl_empty);
	assert_ptr_equal(proto_msg(PROTO_ST_EV)->req, &pl_event);
}

static void
test_who_may_send(void **state)
{
	int w = proto_peer_of("parley-workerd");
	int c = proto_peer_of("parleyctl");
	int f = proto_peer_of("parley-fetch");

	assert_int_equal(w, PROTO_PEER_WORKERD);
	assert_int_equal(c, PROTO_PEER_CTL);
	assert_int_equal(proto_peer_of("parley-masterd"), PROTO_PEER_MASTERD);
	assert_int_equal(proto_peer_of("itest"), 0);
	assert_int_equal(proto_peer_of(""), 0);
	assert_true(proto_may_send(w, PROTO_ST_WS_BEGIN, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_PURGE, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_BACKUP, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_STATS, PROTO_PEER_STORAGED));
	assert_true(proto_may_send(c, PROTO_ST_PURGE, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(c, PROTO_ST_WS_BEGIN, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(0, PROTO_ST_PING, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_EV, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, 0x7f, PROTO_PEER_STORAGED));
	/* The fetcher: its own requests, which a worker may not send. */
	assert_int_equal(f, PROTO_PEER_FETCHER);
	assert_true(proto_may_send(f, PROTO_ST_KB_PAGE_PUT, PROTO_PEER_STORAGED));
	assert_true(proto_may_send(f, PROTO_ST_PING, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_KB_PAGE_PUT,
	    PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_KB_DUE, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(f, PROTO_ST_WS_BEGIN, PROTO_PEER_STORAGED));
	assert_false(proto_may_send(f, PROTO_ST_KB_SOURCE_DELETE,
	    PROTO_PEER_STORAGED));
	/* storaged's own requests: no process a HELLO names may send them. */
	assert_int_equal(proto_peer_of("parley-storaged"), PROTO_PEER_STORAGED);
	assert_false(proto_may_send(PROTO_PEER_STORAGED, PROTO_ST_TURN_LOST,
	    PROTO_PEER_STORAGED));
	assert_false(proto_may_send(w, PROTO_ST_TURN_LOST,
	    PROTO_PEER_STORAGED));
}

/*
 * The types PROTOCOL.md's table lists: a row "| 0x2e | ..." or, for a
 * run of them, "| 0x28–0x2d | ...".
 */
static void
doc_types(int listed[PROTO_TYPE_MAX])
{
	static char doc[128 * 1024];
	const char *p;
	unsigned int a, b, t;
	size_t n;
	FILE *f;

	assert_non_null(f = fopen("proto/PROTOCOL.md", "rb"));
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	assert_non_null(p = strstr(doc, "## Message types"));
	for (; (p = strstr(p, "\n| 0x")) != NULL; p++) {
		if (sscanf(p, "\n| 0x%x–0x%x |", &a, &b) == 2 ||
		    (sscanf(p, "\n| 0x%x |", &a) == 1 && (b = a, 1))) {
			assert_true(a <= b && b < PROTO_TYPE_MAX);
			for (t = a; t <= b; t++)
				listed[t]++;
		}
	}
}

/* A copy of l's fields (l has fields) in fs, and l over them in c. */
static void
copy_layout(const struct playout *l, struct pfield *fs, struct playout *c)
{
	memcpy(fs, l->f, l->nf * sizeof(*fs));
	*c = *l;
	c->f = fs;
}

/* A storaged reply whose list's elements are a layout of fields. */
static const struct playout *
list_parent(size_t *at)
{
	const struct proto_msg *m;
	size_t i, j;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++)
		for (j = 0; m->rep != NULL && j < m->rep->nf; j++)
			if (m->rep->f[j].kind == PF_LIST &&
			    m->rep->f[j].sub->nf > 0) {
				*at = j;
				return m->rep;
			}
	return NULL;
}

/*
 * The table's fingerprint, which every HELLO carries: the same each
 * time; moved by a field's bound, kind or flags, a list element's field
 * (a layout inside a layout), a record row's bound or format; not by
 * where a member is (offsets differ between machines, the wire does not).
 */
static void
test_fingerprint(void **state)
{
	struct pfield fs[64], subfs[64];
	struct playout c, subc;
	struct rfield *rows;
	struct rlayout rc;
	const struct playout *parent;
	uint64_t h0, rh0;
	size_t at;

	assert_true(proto_layouts_id() != 0);
	assert_true(proto_layouts_id() == proto_layouts_id());

	h0 = pl_fingerprint(PROTO_FNV_START, &pl_rate_hit);
	assert_true(pl_rate_hit.nf > 0 && pl_rate_hit.nf <= 64);
	copy_layout(&pl_rate_hit, fs, &c);
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) == h0);
	fs[0].off += 8;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) == h0);
	fs[0].max++;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) != h0);
	copy_layout(&pl_rate_hit, fs, &c);
	fs[c.nf - 1].kind = fs[c.nf - 1].kind == PF_U8 ? PF_U32 : PF_U8;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) != h0);
	copy_layout(&pl_rate_hit, fs, &c);
	fs[0].flags ^= PF_F_CLIP;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) != h0);
	c.nf--;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) != h0);

	parent = list_parent(&at);
	assert_non_null(parent);
	assert_true(parent->nf <= 64 && parent->f[at].sub->nf <= 64);
	h0 = pl_fingerprint(PROTO_FNV_START, parent);
	copy_layout(parent, fs, &c);
	copy_layout(parent->f[at].sub, subfs, &subc);
	fs[at].sub = &subc;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) == h0);
	subfs[subc.nf - 1].max++;
	assert_true(pl_fingerprint(PROTO_FNV_START, &c) != h0);

	/* A record with rows: its message layout is its rows'. */
	assert_ptr_equal(pl_widget.rows, &st_widget_layout);
	rh0 = rl_fingerprint(PROTO_FNV_START, &st_widget_layout);
	assert_true(pl_fingerprint(PROTO_FNV_START, &pl_widget) == rh0);
	rows = malloc(st_widget_layout.nf * sizeof(*rows));
	assert_non_null(rows);
	memcpy(rows, st_widget_layout.f, st_widget_layout.nf * sizeof(*rows));
	rc = st_widget_layout;
	rc.f = rows;
	rows[1].off += 8;
	assert_true(rl_fingerprint(PROTO_FNV_START, &rc) == rh0);
	rows[1].bound++;
	assert_true(rl_fingerprint(PROTO_FNV_START, &rc) != rh0);
	rows[1].bound--;
	rows[rc.nf - 1].since++;
	assert_true(rl_fingerprint(PROTO_FNV_START, &rc) != rh0);
	free(rows);
}

static void
test_protocol_md(void **state)
{
	int listed[PROTO_TYPE_MAX] = { 0 };
	unsigned int t;

	doc_types(listed);
	for (t = 0; t < PROTO_TYPE_MAX; t++) {
		if ((proto_msg((uint16_t)t) != NULL) != (listed[t] == 1))
			fail_msg("type 0x%02x: %s in the table, listed %d "
			    "times in PROTOCOL.md", t, proto_msg((uint16_t)t) !=
			    NULL ? "is" : "is not", listed[t]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_who_may_send),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_protocol_md),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
