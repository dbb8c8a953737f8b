/*
 * The webhooks' outbox (issue 23, outbox.c), through the dispatcher as
 * the worker and the notifier ask: a chat turn's events write one
 * delivery per enabled webhook of its organisation that wants them (in
 * the turn's own transaction), none without webhooks and none for
 * another organisation's; ST_HOOK_DUE leases what is due (taken again
 * only when the lease ends: at least once), ST_HOOK_RESULT delivers,
 * retries later or fails; five failed deliveries in a row disable the
 * webhook, which then gets none; ST_HOOK_DELIVERIES lists newest first
 * and pages; ST_HOOK_RETRY and ST_HOOK_TEST; a conversation's delete
 * is a conversation.deleted event and delivery; each webhook's room in
 * ST_HOOK_DUE (a backlog never hides another webhook's), each
 * organisation's share in it (one's never holds every slot), the first
 * slice's due index moved at open; a deleted webhook takes its
 * deliveries with it; the pending bound; kept across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agentmsg.h"
#include "hookmsg.h"
#include "kbmsg.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "storeint.h"
#include "test_fixture.h"
#include "test_who.h"

#define LEASE_MS	60000
#define SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static struct st_who OWNER;

static int
setup(void **state)
{
	OWNER = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT, ST_ROLE_OWNER);
	return fix_setup(state, "/tmp/parley-outbox-XXXXXX", 1);
}

static void
hook_new(struct fix *f, const struct st_who *who, uint32_t events,
    struct st_webhook *out)
{
	struct st_webhook in;

	memset(&in, 0, sizeof(in));
	in.url = "https://hooks.example/in";
	in.events = events;
	in.enabled = 1;
	strlcpy(in.secret, SECRET, sizeof(in.secret));
	assert_int_equal(request_who(f, who, PROTO_ST_HOOK_CREATE, &in, out,
	    NULL), 0);
}

/* A visitor's turn on the HTTP chat (widget "default": org default). */
static void
turn(struct fix *f, const char *session, const char *content)
{
	struct st_chat_begin_req q = { .widget = "default",
	    .session = session, .content = content, .rate_key = "k",
	    .window_ms = 60000, .rate_max = 0, .history_max = 10 };
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_CHAT_BEGIN, &q, &r), 0);
	assert_int_equal(r.enc.buf[0], ST_CHAT_OK);
	dreply_free(&r);
	fix_turns_end(f);	/* as its reply would */
}

static void
due(struct fix *f, uint32_t max, struct st_hook_jobs *j)
{
	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE,
	    &(struct st_hook_due_req){ .max = max, .lease_ms = LEASE_MS,
	    .per_hook = ST_HOOK_DUE_MAX }, j, NULL), 0);
}

static int
result(struct fix *f, const char *id, int ok, uint32_t code,
    uint64_t retry_at)
{
	struct st_hook_result_req q = { .id = id, .ok = (uint8_t)ok,
	    .code = code, .error = ok ? "" : "HTTP 500",
	    .duration_ms = 12, .retry_at = retry_at };

	return request_who(f, NULL, PROTO_ST_HOOK_RESULT, &q, NULL, NULL);
}

static void
list(struct fix *f, const char *hook, uint32_t limit, const char *cursor,
    struct st_deliveries *l)
{
	struct st_id_page_req q = { hook, limit, cursor };

	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_DELIVERIES, &q,
	    l, NULL), 0);
}

static void
test_written_with_the_event(void **state)
{
	struct fix *f = *state;
	struct st_webhook h, all;
	struct st_hook_jobs j;
	struct st_event ev;
	struct pdec d;

	/* No webhook: a turn writes no delivery. */
	turn(f, "s0", "hello");
	assert_int_equal(db_entries(f, "deliveries"), 0);

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	hook_new(f, &OWNER, ST_HE_ALL, &all);
	/* A new conversation: created (all) and the message (both). */
	turn(f, "s1", "I need help");
	assert_int_equal(db_entries(f, "deliveries"), 3);
	assert_int_equal(db_entries(f, "hook_due"), 3);
	due(f, 64, &j);
	assert_int_equal(j.n, 3);
	/* Oldest due first; the job carries url, secret and the event. */
	assert_string_equal(j.jobs[0].url, "https://hooks.example/in");
	assert_string_equal(j.jobs[0].secret, SECRET);
	assert_int_equal(j.jobs[0].d.status, ST_DLV_PENDING);
	assert_int_equal(j.jobs[0].d.attempts, 0);
	pdec_init(&d, j.jobs[0].d.payload, j.jobs[0].d.payload_len);
	assert_int_equal(pdec_event(&d, &ev), 0);
	assert_int_equal(ev.kind, j.jobs[0].d.event == ST_HE_CONV_CREATED ?
	    ST_EV_CONV_CREATED : ST_EV_MESSAGE);
	assert_string_equal(ev.conv.session, "s1");
	st_event_free(&ev);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);

	/* Another organisation's turn: none for ours. */
	{
		struct st_who b = who_org_new(f, &OWNER, "B");

		st_webhook_free(&h);
		hook_new(f, &b, ST_HE_ALL, &h);
	}
	assert_int_equal(db_entries(f, "deliveries"), 3);
	st_webhook_free(&h);
	st_webhook_free(&all);
}

/*
 * conversation.deleted (issue 23): a request's delete is an event, with
 * the conversation as it was, and a delivery in the delete's txn.
 */
static void
test_conv_deleted(void **state)
{
	struct fix *f = *state;
	struct st_webhook h;
	struct st_hook_jobs j;
	struct st_event ev;
	struct dreply r;
	struct pdec d;
	char id[ST_ID_HEX + 1];

	hook_new(f, &OWNER, ST_HE_CONV_CREATED | ST_HE_CONV_DELETED, &h);
	turn(f, "s1", "delete me later");
	due(f, 64, &j);
	assert_int_equal(j.n, 1);
	pdec_init(&d, j.jobs[0].d.payload, j.jobs[0].d.payload_len);
	assert_int_equal(pdec_event(&d, &ev), 0);
	strlcpy(id, ev.conv.id, sizeof(id));
	st_event_free(&ev);
	assert_int_equal(result(f, j.jobs[0].d.id, 1, 200, 0), 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);

	assert_int_equal(request_st(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ id }, &r), 0);
	assert_int_equal(r.nevs, 1);
	assert_int_equal(r.evs[0].kind, ST_EV_CONV_DELETED);
	assert_int_equal(r.evs[0].hook_event, ST_HE_CONV_DELETED);
	dreply_free(&r);
	due(f, 64, &j);
	assert_int_equal(j.n, 1);
	assert_int_equal(j.jobs[0].d.event, ST_HE_CONV_DELETED);
	pdec_init(&d, j.jobs[0].d.payload, j.jobs[0].d.payload_len);
	assert_int_equal(pdec_event(&d, &ev), 0);
	assert_int_equal(ev.kind, ST_EV_CONV_DELETED);
	assert_string_equal(ev.conv.id, id);
	assert_string_equal(ev.conv.session, "s1");
	st_event_free(&ev);
	assert_int_equal(result(f, j.jobs[0].d.id, 1, 200, 0), 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);

	/* Gone already: not found, and no second event. */
	assert_int_equal(request_st(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ id }, &r), PROTO_E_NOT_FOUND);
	assert_int_equal(r.nevs, 0);
	dreply_free(&r);
	assert_int_equal(db_entries(f, "hook_due"), 0);
	st_webhook_free(&h);
}

static void
test_lease_result_retry(void **state)
{
	struct fix *f = *state;
	struct st_hook_jobs j, again;
	struct st_deliveries l;
	struct st_webhook h;
	char id[ST_DLV_ID_LEN + 1];

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	turn(f, "s1", "one");
	due(f, 64, &j);
	assert_int_equal(j.n, 1);
	strlcpy(id, j.jobs[0].d.id, sizeof(id));
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* Leased: not taken again until the lease ends (a crash: again). */
	due(f, 64, &again);
	assert_int_equal(again.n, 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &again);
	fake_now += LEASE_MS;
	fix_reopen(f);
	due(f, 64, &again);
	assert_int_equal(again.n, 1);
	assert_string_equal(again.jobs[0].d.id, id);
	st_rep_free(PROTO_ST_HOOK_DUE, &again);

	/* The lease is the notifier's, within bounds. */
	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE,
	    &(struct st_hook_due_req){ .max = 64,
	    .lease_ms = ST_HOOK_LEASE_MIN - 1, .per_hook = 1 }, NULL,
	    NULL), PROTO_E_INVALID);
	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE,
	    &(struct st_hook_due_req){ .max = 64,
	    .lease_ms = ST_HOOK_LEASE_MAX + 1, .per_hook = 1 }, NULL,
	    NULL), PROTO_E_INVALID);

	/* A failure with a retry: due at retry_at, not before. */
	assert_int_equal(result(f, id, 0, 500, fake_now + 5000), 0);
	due(f, 64, &again);
	assert_int_equal(again.n, 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &again);
	fake_now += 5000;
	due(f, 64, &again);
	assert_int_equal(again.n, 1);
	assert_int_equal(again.jobs[0].d.attempts, 1);
	assert_int_equal(again.jobs[0].d.code, 500);
	st_rep_free(PROTO_ST_HOOK_DUE, &again);
	/* Delivered: finished; a late answer changes nothing. */
	assert_int_equal(result(f, id, 1, 204, 0), 0);
	assert_int_equal(result(f, id, 0, 500, 0), 0);
	list(f, h.id, 10, "", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.dlv[0].id, id);
	assert_int_equal(l.dlv[0].status, ST_DLV_DELIVERED);
	assert_int_equal(l.dlv[0].attempts, 2);
	assert_int_equal(l.dlv[0].code, 204);
	assert_int_equal(l.dlv[0].payload_len, 0);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	assert_int_equal(db_entries(f, "hook_due"), 0);

	/* Retried by hand: due now again. */
	{
		struct st_delivery d;

		assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_RETRY,
		    &(struct st_hook_retry_req){ h.id, id }, &d, NULL), 0);
		assert_int_equal(d.status, ST_DLV_PENDING);
		st_delivery_free(&d);
		due(f, 64, &again);
		assert_int_equal(again.n, 1);
		st_rep_free(PROTO_ST_HOOK_DUE, &again);
		assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_RETRY,
		    &(struct st_hook_retry_req){ h.id, "dlv_00000000000000ff" },
		    NULL, NULL), PROTO_E_NOT_FOUND);
		/* Another webhook's path: not found. */
		assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_RETRY,
		    &(struct st_hook_retry_req){ "wh_0123456789abcdef0123456789"
		    "abcdef", id }, NULL, NULL), PROTO_E_NOT_FOUND);
	}
	st_webhook_free(&h);
}

static void
test_failures_disable(void **state)
{
	struct fix *f = *state;
	struct st_hook_jobs j;
	struct st_webhook h, g;
	char s[16];
	uint32_t i;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	for (i = 0; i < ST_HOOK_FAILURES_OFF; i++) {
		snprintf(s, sizeof(s), "s%u", i);
		turn(f, s, "x");
	}
	due(f, 64, &j);
	assert_int_equal(j.n, ST_HOOK_FAILURES_OFF);
	for (i = 0; i < j.n; i++)
		assert_int_equal(result(f, j.jobs[i].d.id, 0, 0, 0), 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ h.id }, &g, NULL), 0);
	assert_int_equal(g.enabled, 0);
	assert_int_equal(g.failures, ST_HOOK_FAILURES_OFF);
	assert_int_equal(g.disabled_at, fake_now);
	st_webhook_free(&g);
	/* Disabled: a turn writes none for it. */
	turn(f, "later", "x");
	assert_int_equal(db_entries(f, "hook_due"), 0);
	assert_int_equal(db_entries(f, "deliveries"), ST_HOOK_FAILURES_OFF);

	/*
	 * A test delivery of a disabled webhook is refused: it would only
	 * fail unsent (before 2026-12-04 it was made so).
	 */
	{
		struct st_delivery d;

		memset(&d, 0, sizeof(d));
		assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_TEST,
		    &(struct st_id_req){ h.id }, &d, NULL),
		    PROTO_E_UNSUPPORTED);
		st_delivery_free(&d);
		assert_int_equal(db_entries(f, "deliveries"),
		    ST_HOOK_FAILURES_OFF);
	}
	/* Deleted: its deliveries go with it. */
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_DELETE,
	    &(struct st_id_req){ h.id }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "deliveries"), 0);
	assert_int_equal(db_entries(f, "hook_due"), 0);
	assert_int_equal(db_entries(f, "hook_deliveries"), 0);
	assert_int_equal(db_entries(f, "hook_counts"), 0);
	assert_int_equal(db_entries(f, "hook_org"), 0);
	st_webhook_free(&h);
}

/* The number an opaque id of prefix names (store_seq_read): -1 for none. */
static int64_t
seq_num(struct fix *f, const char *prefix, const char *id)
{
	struct store_txn t;
	uint64_t seq = 0;
	int rc;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	rc = store_seq_read(&t, prefix, id, &seq);
	store_abort(&t);
	assert_true(rc >= 0);
	return rc == 0 ? (int64_t)seq : -1;
}

/* The number a delivery id names: -1 for none. */
static int64_t
dlv_num(struct fix *f, const char *id)
{
	return seq_num(f, ST_DLV_PREFIX, id);
}

/* The number a list's cursor stands for: -1 for none. */
static int64_t
cursor_num(struct fix *f, const char *cursor)
{
	return seq_num(f, ST_DLV_CURSOR_PREFIX, cursor);
}

static void
test_list_pages(void **state)
{
	struct fix *f = *state;
	struct st_deliveries l, l2;
	struct st_webhook h;
	char s[16];
	uint32_t i;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	for (i = 0; i < 5; i++) {
		snprintf(s, sizeof(s), "s%u", i);
		turn(f, s, "x");
	}
	list(f, h.id, 3, "", &l);
	assert_int_equal(l.n, 3);
	/* Newest first: by the numbers the opaque ids stand for. */
	assert_true(dlv_num(f, l.dlv[0].id) > dlv_num(f, l.dlv[1].id));
	/* The cursor: its own kind, the number of the last one listed. */
	assert_int_equal(strncmp(l.next_cursor, ST_DLV_CURSOR_PREFIX, 4), 0);
	assert_int_equal(cursor_num(f, l.next_cursor), dlv_num(f, l.dlv[2].id));
	list(f, h.id, 3, l.next_cursor, &l2);
	assert_int_equal(l2.n, 2);
	assert_true(dlv_num(f, l2.dlv[0].id) < dlv_num(f, l.dlv[2].id));
	assert_string_equal(l2.next_cursor, "");
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l2);
	/* Another organisation's webhook: not found. */
	{
		struct st_who b = who_of(ST_WHO_KEY, "install", "org_0123456789"
		    "abcdef0123456789abcdef", ST_ROLE_OWNER);
		struct st_id_page_req q = { h.id, 3, "" };

		assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_DELIVERIES,
		    &q, NULL, NULL), PROTO_E_NO_ORG);
	}
	st_webhook_free(&h);
}

/*
 * A delivery's id is "dlv_" and 32 hex digits that read back to its
 * number under this install's key alone: neighbours' ids far apart, a
 * digit changed or another kind's prefix names nothing, another store's
 * key reads it as nothing; the number in the older spelling ("dlv_" and
 * 16 hex digits) names nothing, as a retry or a list's cursor (else the
 * cursor would walk to the number behind an id).
 */
static void
test_ids_opaque(void **state)
{
	struct fix *f = *state;
	struct st_deliveries l;
	struct st_webhook h;
	struct store_txn t;
	char old[ST_DLV_ID_LEN + 1], bad[ST_DLV_ID_LEN + 1];
	uint64_t seq;
	int i, apart = 0;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	turn(f, "s1", "one");
	turn(f, "s2", "two");
	list(f, h.id, 10, "", &l);
	assert_int_equal(l.n, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(strlen(l.dlv[i].id), ST_DLV_ID_LEN);
		assert_true(st_dlv_id_valid(l.dlv[i].id));
	}
	assert_int_equal(dlv_num(f, l.dlv[0].id), dlv_num(f, l.dlv[1].id) + 1);
	for (i = 4; i < ST_DLV_ID_LEN; i++)
		apart += l.dlv[0].id[i] != l.dlv[1].id[i];
	assert_true(apart >= 16);	/* of 32 digits: about 30 differ */
	strlcpy(bad, l.dlv[0].id, sizeof(bad));
	bad[10] = bad[10] == '0' ? '1' : '0';
	assert_int_equal(dlv_num(f, bad), -1);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_seq_read(&t, ST_KB_CHUNK_PREFIX, l.dlv[0].id,
	    &seq), 1);
	memcpy(bad, ST_KB_CHUNK_PREFIX, 3);
	memmove(bad + 3, l.dlv[0].id + 4, ST_ID_HEX + 1);
	assert_int_equal(store_seq_read(&t, ST_KB_CHUNK_PREFIX, bad, &seq),
	    1);
	store_abort(&t);
	/* The older spelling of its number: nothing. */
	fix_old_seq_id(ST_DLV_PREFIX, (uint64_t)dlv_num(f, l.dlv[0].id), old);
	assert_false(st_dlv_id_valid(old));
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_RETRY,
	    &(struct st_hook_retry_req){ h.id, old }, NULL, NULL),
	    PROTO_E_NOT_FOUND);
	{
		struct st_id_page_req q = { h.id, 10, old };

		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, NULL, NULL),
		    PROTO_E_INVALID);
	}
	/*
	 * Another install's key (seqid.c's meta row, written over): the id
	 * names nothing.
	 */
	{
		uint8_t key[1 + 16] = { ST_RECORD_VERSION, 'o', 't', 'h' };

		assert_int_equal(store_begin(f->st, &t, 0), 0);
		db_put(&t, t.st->meta, "seq_id_key", strlen("seq_id_key"), key,
		    sizeof(key), "put id key");
		assert_int_equal(store_commit(&t), 0);
	}
	assert_int_equal(dlv_num(f, l.dlv[0].id), -1);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	st_webhook_free(&h);
}

/* Delivery seq leaves webhook hook's log index (what a trim takes first). */
static void
hook_index_drop(struct fix *f, const char *hook, uint64_t seq)
{
	uint8_t k[ST_HOOK_ID_LEN + 8];
	struct store_txn t;

	memcpy(k, hook, ST_HOOK_ID_LEN);
	proto_put_be64(k + ST_HOOK_ID_LEN, seq);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	db_del(&t, t.st->hook_deliveries, k, sizeof(k),
	    "del webhook delivery");
	assert_int_equal(store_commit(&t), 0);
}

/*
 * A list's cursor is a cursor: a delivery id, another organisation's (a
 * webhook-id its receiver saw) or our own, is refused as a made-up one
 * is, not taken to say where it falls among ours. A cursor whose
 * delivery has since left the log (trimmed) still gives the next page.
 */
static void
test_cursor_own(void **state)
{
	struct fix *f = *state;
	struct st_webhook h, h2, hb;
	struct st_delivery theirs, mine;
	struct st_who b;
	struct st_id_page_req q;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h2);
	turn(f, "s1", "one");
	b = who_org_new(f, &OWNER, "B");
	hook_new(f, &b, ST_HE_ALL, &hb);
	assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_TEST,
	    &(struct st_id_req){ hb.id }, &theirs, NULL), 0);
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_TEST,
	    &(struct st_id_req){ h2.id }, &mine, NULL), 0);
	turn(f, "s2", "two");
	q = (struct st_id_page_req){ h.id, 10, theirs.id };
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_DELIVERIES, &q,
	    NULL, NULL), PROTO_E_INVALID);
	q.cursor = mine.id;	/* ours, of the other webhook */
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_DELIVERIES, &q,
	    NULL, NULL), PROTO_E_INVALID);
	{
		struct st_deliveries l, l2;

		q = (struct st_id_page_req){ h.id, 1, "" };
		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, &l, NULL), 0);
		assert_int_equal(l.n, 1);
		q.cursor = l.next_cursor;	/* its own: the next page */
		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, &l2, NULL), 0);
		assert_int_equal(l2.n, 1);
		assert_string_not_equal(l2.dlv[0].id, l.dlv[0].id);
		st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l2);
		/* Its delivery gone from the webhook's log, as a trim does. */
		hook_index_drop(f, h.id, (uint64_t)dlv_num(f, l.dlv[0].id));
		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, &l2, NULL), 0);
		assert_int_equal(l2.n, 1);
		assert_true(dlv_num(f, l2.dlv[0].id) <
		    cursor_num(f, l.next_cursor));
		st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l2);
		q.cursor = l.dlv[0].id;	/* our own delivery's id */
		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, NULL, NULL), PROTO_E_INVALID);
		st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	}
	st_delivery_free(&theirs);
	st_delivery_free(&mine);
	st_webhook_free(&h);
	st_webhook_free(&h2);
	st_webhook_free(&hb);
}

/*
 * A data directory from before the id key, whose older deliveries and
 * mails the open still indexes (their marks missing): the key is made
 * first, so the open shows their ids and goes on.
 */
static void
test_upgrade_makes_key_first(void **state)
{
	struct fix *f = *state;
	struct st_deliveries l;
	struct st_webhook h;
	struct store_txn t;
	static const char *const gone[] = {
		"seq_id_key", "conv_deliveries_filled",
		"contact_deliveries_filled", "conv_mails_filled",
		"contact_mails_filled",
	};
	size_t i;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	turn(f, "s1", "one");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		db_del_quiet(&t, t.st->meta, gone[i], strlen(gone[i]),
		    "del mark");
	assert_int_equal(store_commit(&t), 0);
	fix_reopen(f);
	list(f, h.id, 10, "", &l);
	assert_int_equal(l.n, 1);
	assert_true(dlv_num(f, l.dlv[0].id) >= 1);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	st_webhook_free(&h);
}

/* ST_HOOK_DUE with rooms: held webhooks' room, per_hook for the rest. */
static void
due_room(struct fix *f, uint32_t per_hook, const char *hook, uint32_t room,
    struct st_hook_jobs *j)
{
	struct st_hook_room held;
	struct st_hook_due_req q = { .max = 64, .lease_ms = LEASE_MS,
	    .per_hook = per_hook, .held = &held, .nheld = hook != NULL };

	if (hook != NULL) {
		strlcpy(held.hook, hook, sizeof(held.hook));
		held.room = room;
	}
	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE, &q, j, NULL),
	    0);
}

/* Jobs of a webhook in j. */
static uint32_t
jobs_of(const struct st_hook_jobs *j, const char *hook)
{
	uint32_t i, n = 0;

	for (i = 0; i < j->n; i++)
		n += strcmp(j->jobs[i].d.hook, hook) == 0;
	return n;
}

/*
 * A backlog on one webhook never hides another's due deliveries: each
 * gets at most its room, the webhooks soonest due first; more says what
 * was left.
 */
static void
test_due_per_webhook(void **state)
{
	struct fix *f = *state;
	struct st_webhook a, b;
	struct st_hook_jobs j;
	uint32_t i;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &a);
	for (i = 0; i < 30; i++)
		turn(f, "busy", "x");
	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &b);
	turn(f, "busy", "y");
	turn(f, "busy", "z");
	assert_int_equal(db_entries(f, "due_hooks"), 2);

	/* 4 each: a's 4 oldest, b's 2; more of a's are left. */
	due_room(f, 4, NULL, 0, &j);
	assert_int_equal(j.n, 6);
	assert_int_equal(jobs_of(&j, a.id), 4);
	assert_int_equal(jobs_of(&j, b.id), 2);
	assert_int_equal(j.more, 1);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* a is full at the notifier: none of its; b has none due now. */
	due_room(f, 4, a.id, 0, &j);
	assert_int_equal(j.n, 0);
	assert_int_equal(j.more, 1);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* a has room for 3: its next 3, soonest due first. */
	due_room(f, 4, a.id, 3, &j);
	assert_int_equal(jobs_of(&j, a.id), 3);
	assert_int_equal(j.n, 3);
	assert_int_equal(j.more, 1);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* All of a's rest: 32 - 7 = 25 (the turns' two with b's). */
	due_room(f, 64, NULL, 0, &j);
	assert_int_equal(jobs_of(&j, a.id), 25);
	assert_int_equal(j.n, 25);
	assert_int_equal(j.more, 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* Every one leased: each webhook is in due_hooks at its lease's end. */
	assert_int_equal(db_entries(f, "due_hooks"), 2);
	assert_int_equal(db_entries(f, "hook_due"), 34);
	st_webhook_free(&a);
	st_webhook_free(&b);
}

/* ST_HOOK_DUE with a share: per_org, org holding held (NULL: none). */
static int
due_share(struct fix *f, uint32_t per_org, const char *org, uint32_t held,
    struct st_hook_jobs *j)
{
	struct st_org_held oh;
	struct st_hook_due_req q = { .max = 64, .lease_ms = LEASE_MS,
	    .per_hook = 4, .per_org = per_org, .orgs = &oh,
	    .norgs = org != NULL };

	if (org != NULL) {
		strlcpy(oh.org, org, sizeof(oh.org));
		oh.held = held;
	}
	return request_who(f, NULL, PROTO_ST_HOOK_DUE, &q, j, NULL);
}

/* n webhook.test deliveries of who's webhook h, due now. */
static void
tests_of(struct fix *f, const struct st_who *who, const struct st_webhook *h,
    int n)
{
	struct st_delivery d;

	while (n-- > 0) {
		assert_int_equal(request_who(f, who, PROTO_ST_HOOK_TEST,
		    &(struct st_id_req){ h->id }, &d, NULL), 0);
		st_delivery_free(&d);
	}
}

/* Jobs of org's webhooks in j. */
static uint32_t
jobs_of_org(const struct st_hook_jobs *j, const char *org)
{
	uint32_t i, n = 0;

	for (i = 0; i < j->n; i++)
		n += strcmp(j->jobs[i].d.org, org) == 0;
	return n;
}

/*
 * An organisation's share: with per_org, an organisation's jobs (what
 * the notifier says it holds of it and what the answer takes) stay
 * within it, whatever its webhooks' rooms; another organisation's
 * webhook, due later, still gets its own. A share out of bounds, or held
 * counts past ST_HOOK_HELD_MAX in all, are refused.
 */
static void
test_due_org_share(void **state)
{
	struct fix *f = *state;
	struct st_webhook a[3], hb;
	struct st_hook_jobs j;
	struct st_who b;
	int i;

	for (i = 0; i < 3; i++) {
		hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &a[i]);
		tests_of(f, &OWNER, &a[i], 4);
	}
	b = who_org_new(f, &OWNER, "B");
	hook_new(f, &b, ST_HE_ALL, &hb);
	tests_of(f, &b, &hb, 2);

	/* 12 of ours due, 4 a webhook: the share, 6, of them; b's 2. */
	assert_int_equal(due_share(f, 6, NULL, 0, &j), 0);
	assert_int_equal(jobs_of_org(&j, a[0].org), 6);
	assert_int_equal(jobs_of(&j, hb.id), 2);
	assert_int_equal(j.n, 8);
	assert_int_equal(j.more, 1);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* Ours held at the share: none of ours; then 2 below it: 2. */
	assert_int_equal(due_share(f, 6, a[0].org, 6, &j), 0);
	assert_int_equal(j.n, 0);
	assert_int_equal(j.more, 1);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	assert_int_equal(due_share(f, 6, a[0].org, 4, &j), 0);
	assert_int_equal(jobs_of_org(&j, a[0].org), 2);
	assert_int_equal(j.n, 2);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	/* No share: the rest, 4, each webhook within its room. */
	assert_int_equal(due_share(f, 0, a[0].org, 8, &j), 0);
	assert_int_equal(jobs_of_org(&j, a[0].org), 4);
	assert_int_equal(j.more, 0);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);

	assert_int_equal(due_share(f, ST_HOOK_HELD_MAX + 1, NULL, 0, &j),
	    PROTO_E_INVALID);
	assert_int_equal(due_share(f, 6, a[0].org, ST_HOOK_HELD_MAX + 1,
	    &j), PROTO_E_INVALID);
	for (i = 0; i < 3; i++)
		st_webhook_free(&a[i]);
	st_webhook_free(&hb);
}

/* A data directory with the first slice's due index has it moved at open. */
static void
test_due_index_moved(void **state)
{
	struct fix *f = *state;
	struct st_webhook h;
	struct st_hook_jobs j;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi hd, dh, old;
	MDB_cursor *cur;
	MDB_val k, v, ok, one = { 1, (void *)"\x01" };
	uint8_t key[16];

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	turn(f, "s1", "one");
	turn(f, "s2", "two");
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "hook_due", 0, &hd), 0);
	assert_int_equal(mdb_dbi_open(txn, "due_hooks", 0, &dh), 0);
	assert_int_equal(mdb_dbi_open(txn, "delivery_due", 0, &old), 0);
	assert_int_equal(mdb_cursor_open(txn, hd, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		memcpy(key, (uint8_t *)k.mv_data + ST_HOOK_ID_LEN, 16);
		ok.mv_size = sizeof(key);
		ok.mv_data = key;
		assert_int_equal(mdb_put(txn, old, &ok, &one, 0), 0);
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_drop(txn, hd, 0), 0);
	assert_int_equal(mdb_drop(txn, dh, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);

	assert_int_equal(db_entries(f, "delivery_due"), 0);
	assert_int_equal(db_entries(f, "hook_due"), 2);
	assert_int_equal(db_entries(f, "due_hooks"), 1);
	due(f, 64, &j);
	assert_int_equal(j.n, 2);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
	st_webhook_free(&h);
}

/* Past ST_HOOK_PENDING_MAX pending, a webhook's oldest fails. */
static void
test_pending_bound(void **state)
{
	struct fix *f = *state;
	struct st_deliveries l;
	struct st_webhook h;
	uint32_t i;

	hook_new(f, &OWNER, ST_HE_MESSAGE_CREATED, &h);
	for (i = 0; i < ST_HOOK_PENDING_MAX + 1; i++)
		turn(f, "chatty", "x");
	assert_int_equal(db_entries(f, "hook_due"), ST_HOOK_PENDING_MAX);
	assert_int_equal(db_entries(f, "deliveries"),
	    ST_HOOK_PENDING_MAX + 1);
	list(f, h.id, 1, "", &l);	/* the newest is pending */
	assert_int_equal(l.dlv[0].status, ST_DLV_PENDING);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	st_webhook_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_opaque, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_cursor_own, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_makes_key_first,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_written_with_the_event,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_conv_deleted, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_due_per_webhook, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_due_index_moved, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_due_org_share, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_lease_result_retry, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_failures_disable, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_pending_bound, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
