/*
 * A visitor's data on request (issue 22 item 6): ST_CONTACT_ERASE with
 * erase leaves every database as it was before the contact came (each
 * database's entries counted before and after, another visitor's records
 * untouched); one interrupted after its first step (a restart in between)
 * is finished by the sweep in small steps (the messages of its
 * conversations after them); without erase the
 * conversations and sessions stay, unlinked; ST_CONTACT_SESSIONS and
 * ST_CONTACT_CONVS page the sessions and conversations of a contact; a compacting copy made after erasures
 * holds no byte of an erased email or phone (their index keys are hashed,
 * and an older data directory's are hashed at open); a widget's
 * retention deletes its old conversations in the sweep's batches; a
 * contact deleted without erase takes its contact.created deliveries'
 * payloads (listed by contact_deliveries, filled at open for an older
 * data directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "contactstore.h"
#include "hookmsg.h"
#include "stmsgs.h"
#include "storeint.h"
#include "test_fixture.h"
#include "test_who.h"
#include "widgetmsg.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-erase-XXXXXX", 1);
}

/*
 * The messages of the deleted conversations removed, as the sweep's steps
 * remove them after the conversations (store_msgs_gone_sweep).
 */
static void
msgs_drain(struct fix *f)
{
	struct store_txn t;
	uint32_t n;
	int more = 1, steps = 0;

	while (more && steps++ < 1000) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_msgs_gone_sweep(&t, 3, 0, &n, &more), 0);
		assert_true(n <= 3);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
}

/* Visitor tb leaves its conversation: its next turn opens another. */
static void
new_conv(struct fix *f, const char *wid, uint8_t tb)
{
	struct st_ws_session_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN };
	struct st_ws_conv_new_rep rep;

	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_dec(f, PROTO_ST_WS_CONV_NEW, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	assert_int_equal(strlen(rep.ended), ST_ID_HEX);
}

/* ST_CONTACT_ERASE's done, or -1 with its error code in *err. */
static int
erase(struct fix *f, const char *id, int all, int *err)
{
	struct st_u8_rep done;

	if ((*err = request_dec(f, PROTO_ST_CONTACT_ERASE,
	    &(struct st_contact_erase_req){ id, (uint8_t)all }, &done)) != 0)
		return -1;
	return done.v;
}

/*
 * ST_CONTACT_ERASING for id, asked as who (NULL: nobody, any
 * organisation): erasing, or -1 not found.
 */
static int
erasing(struct fix *f, const struct st_who *who, const char *id)
{
	struct st_u8_rep u;
	int err;

	err = request_who(f, who, PROTO_ST_CONTACT_ERASING,
	    &(struct st_id_req){ id }, &u, NULL);
	if (err == PROTO_E_NOT_FOUND)
		return -1;
	assert_int_equal(err, 0);
	return u.v;
}

/*
 * A widget, a control visitor (9) with its conversation and contact,
 * then the contact under test: visitor 1 made it (a conversation, name,
 * email, phone), visitor 2 named it (its conversation linked
 * unverified), visitor 3 named it with no conversation. before: the
 * databases before visitors 1 to 3 came.
 */
static void
populate(struct fix *f, char wid[ST_WID_ARG_MAX + 1], char id[ST_ID_HEX + 1],
    char keep[ST_ID_HEX + 1], struct counts *before)
{
	char id2[ST_ID_HEX + 1];

	fix_widget_wid(f, "Shop", wid);
	fix_ws_turn(f, wid, 9, "the control visitor");
	fix_contact_submit(f, wid, 9, "Kim", "kim@example.com", "", keep);
	fix_counts_take(f, before, 64);
	fix_ws_turn(f, wid, 1, "my plan is BLUEBERRY");
	fix_contact_submit(f, wid, 1, "Zed Quux", "zed@example.com", "+1 555 000 1111",
	    id);
	fix_ws_turn(f, wid, 1, "and more");
	fix_ws_turn(f, wid, 2, "another device");
	fix_contact_submit(f, wid, 2, "Zed", "ZED@example.com", "", id2);
	assert_string_equal(id2, id);
	fix_contact_submit(f, wid, 3, "", "zed@example.com", "", id2);
	assert_string_equal(id2, id);
}

/* What a visitor's data never is: counters of messages and entries. */
static const char *const counters[] = { "meta", "daily", NULL };

static void
test_erase_all(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	struct counts before, mid, after;
	struct st_contact_get_rep g;
	int err;

	populate(f, wid, id, keep, &before);
	/* Visitor 1's second conversation (issue 26) and its list go too. */
	new_conv(f, wid, 1);
	fix_ws_turn(f, wid, 1, "a second conversation");
	fix_counts_take(f, &mid, 64);
	assert_int_equal(count_in(&mid, "convs"), count_in(&before, "convs") +
	    3);
	assert_int_equal(count_in(&mid, "wsess_convs"),
	    count_in(&before, "wsess_convs") + 3);
	assert_int_equal(count_in(&mid, "wsessions"),
	    count_in(&before, "wsessions") + 3);
	assert_int_equal(count_in(&mid, "contact_phone"), 1);

	assert_int_equal(erase(f, id, 1, &err), 1);
	fix_counts_take(f, &after, 64);
	counts_same(&before, &after, counters);
	assert_int_equal(count_in(&after, "contact_gone"), 0);
	assert_int_equal(erase(f, id, 1, &err), -1);
	assert_int_equal(err, PROTO_E_NOT_FOUND);
	assert_int_equal(erase(f, "nothex", 1, &err), -1);
	assert_int_equal(err, PROTO_E_INVALID);
	assert_int_equal(erasing(f, NULL, id), -1);
	assert_int_equal(request_who(f, NULL, PROTO_ST_CONTACT_ERASING,
	    &(struct st_id_req){ "nothex" }, NULL, NULL), PROTO_E_INVALID);
	/* The control visitor's contact is whole. */
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ keep, ST_LIST_MAX, "" }, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.contact.email, "kim@example.com");
	st_rep_free(PROTO_ST_CONTACT_GET, &g);
	/* A visitor of the erased contact starts afresh. */
	fix_ws_turn(f, wid, 1, "hello again");
}

/*
 * An erasure stopped after its first step (the store closed and opened
 * again in between, as after a crash) is finished by the sweep, a few
 * conversations a step, and then nothing of the contact is left.
 * ST_CONTACT_ERASING says it is under way until its conversations'
 * messages are gone too (the sweep's steps remove them first), to its
 * organisation alone.
 */
static void
test_erase_resumes(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	char id2[ST_ID_HEX + 1];
	struct counts before, after;
	struct store_txn t;
	struct st_who own = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER), other;
	uint32_t n;
	uint8_t tb;
	int done = 1, more = 1, steps = 0;

	other = who_org_new(f, &own, "Other");
	populate(f, wid, id, keep, &before);
	assert_int_equal(erasing(f, &own, id), 0);
	/* 7 conversations: the sweep's last step of 2 ends 1, then its sessions. */
	for (tb = 20; tb < 25; tb++) {
		fix_ws_turn(f, wid, tb, "one of many");
		fix_contact_submit(f, wid, tb, "", "zed@example.com", "", id2);
	}
	store_begin(f->st, &t, 0);
	assert_int_equal(store_contact_erase(&t, id, 1, 2, &done), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_false(done);
	fix_reopen(f);
	assert_int_equal(db_entries(f, "contact_gone"), 1);
	/* 7 links less the first step's 2, and the control visitor's. */
	assert_int_equal(db_entries(f, "contact_convs"), 5 + 1);
	assert_int_equal(erasing(f, &own, id), 1);
	assert_int_equal(erasing(f, NULL, id), 1);
	assert_int_equal(erasing(f, &other, id), -1);
	assert_int_equal(erasing(f, &own, keep), 0);
	assert_int_equal(erasing(f, &other, keep), -1);
	while (more && steps < 100) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_contact_gone_sweep(&t, 2, 0, &n, &more), 0);
		assert_true(n <= 2);
		assert_int_equal(store_commit(&t), 0);
		steps++;
		/* Messages of its conversations left: not done. */
		if (db_entries(f, "msgs_gone") > 0) {
			assert_true(more);
			assert_int_equal(erasing(f, &own, id), 1);
		}
		msgs_drain(f);
	}
	assert_false(more);
	assert_true(steps >= 4);
	assert_int_equal(erasing(f, &own, id), -1);
	fix_counts_take(f, &after, 64);
	/* Visitors 20 to 24's sessions are the contact's too: all gone. */
	counts_same(&before, &after, counters);
}

/*
 * An erasure noted before its organisation was kept with it (format 1 of
 * contact_gone's values): under way to the organisation of the
 * conversations it has left (to no other), and finished by the sweep as
 * any other.
 */
static void
test_erase_v1_entry(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	const uint8_t tail[] = "\x07" ST_ORG_DEFAULT;
	struct counts before, after;
	struct store_txn t;
	struct st_who own = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER), other;
	uint32_t n;
	int done = 1, more = 1, steps = 0;

	other = who_org_new(f, &own, "Other");
	populate(f, wid, id, keep, &before);
	store_begin(f->st, &t, 0);
	assert_int_equal(store_contact_erase(&t, id, 1, 1, &done), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_false(done);
	assert_int_equal(erasing(f, &other, id), -1);
	/* Format 2, the default organisation's, written back as format 1. */
	db_cut(f, "contact_gone", 2, 1 + strlen(ST_ORG_DEFAULT), tail);
	assert_int_equal(erasing(f, &own, id), 1);
	assert_int_equal(erasing(f, NULL, id), 1);
	assert_int_equal(erasing(f, &other, id), -1);
	while (more && steps++ < 100) {
		msgs_drain(f);
		store_begin(f->st, &t, 0);
		assert_int_equal(store_contact_gone_sweep(&t, 2, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
	msgs_drain(f);
	assert_int_equal(erasing(f, &own, id), -1);
	fix_counts_take(f, &after, 64);
	counts_same(&before, &after, counters);
}

/* Without erase: the contact goes, its conversations and sessions stay. */
static void
test_delete_unlinks(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	char id2[ST_ID_HEX + 1];
	struct counts before, mid, after;
	struct st_conv_page pg;
	uint32_t i;
	int err;

	populate(f, wid, id, keep, &before);
	fix_counts_take(f, &mid, 64);
	assert_int_equal(erase(f, id, 0, &err), 1);
	fix_counts_take(f, &after, 64);
	assert_int_equal(count_in(&after, "contacts"), 1);
	assert_int_equal(count_in(&after, "contact_email"), 1);
	assert_int_equal(count_in(&after, "contact_phone"), 0);
	assert_int_equal(count_in(&after, "contact_created"), 1);
	assert_int_equal(count_in(&after, "contact_convs"), 1);
	assert_int_equal(count_in(&after, "convs"), count_in(&mid, "convs"));
	assert_int_equal(count_in(&after, "msgs"), count_in(&mid, "msgs"));
	assert_int_equal(count_in(&after, "wsessions"),
	    count_in(&mid, "wsessions"));
	assert_int_equal(request_dec(f, PROTO_ST_CONV_LIST,
	    &(struct st_page_req){ 200, "" }, &pg), 0);
	assert_int_equal(pg.n, 3);
	for (i = 0; i < pg.n; i++)
		assert_true(strcmp(pg.convs[i].contact_id, "") == 0 ||
		    strcmp(pg.convs[i].contact_id, keep) == 0);
	st_rep_free(PROTO_ST_CONV_LIST, &pg);
	/* The email is free again: the next visitor naming it makes one. */
	fix_contact_submit(f, wid, 1, "", "zed@example.com", "", id2);
	assert_string_not_equal(id2, id);
}

/*
 * A link of the contact to a conversation another contact holds (none is
 * made so: a bug's or a damaged copy's, put here by hand) does not make
 * an erasure delete that conversation: the link goes, the conversation
 * stays the other contact's.
 */
static void
test_erase_foreign_link(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	char kept[ST_ID_HEX + 1];
	uint8_t key[2 * ID_LEN];
	struct store_txn t;
	struct st_conv c;
	int err;

	fix_widget_wid(f, "Shop", wid);
	fix_ws_turn_id(f, wid, 9, "the other contact's words", kept);
	fix_contact_submit(f, wid, 9, "Kim", "kim@example.com", "", keep);
	fix_ws_turn(f, wid, 1, "erase me");
	fix_contact_submit(f, wid, 1, "Zed", "zed@example.com", "", id);
	assert_int_equal(proto_hex_decode(id, key, ID_LEN), 0);
	assert_int_equal(proto_hex_decode(kept, key + ID_LEN, ID_LEN), 0);
	store_begin(f->st, &t, 0);
	assert_int_equal(contact_link_new(&t, key, 0), 1);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(db_entries(f, "contact_convs"), 3);
	assert_int_equal(erase(f, id, 1, &err), 1);
	assert_int_equal(db_entries(f, "convs"), 1);
	assert_int_equal(db_entries(f, "contact_convs"), 1);
	fix_conv_get(f, kept, &c);
	assert_string_equal(c.contact_id, keep);
	st_conv_free(&c);
}

/* ST_CONTACT_SESSIONS: the sessions naming it with their submissions. */
static void
test_sessions(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], keep[ST_ID_HEX + 1];
	struct st_contact_sess_rep sr;
	struct counts before;
	uint32_t i, unverified = 0, subs = 0;

	populate(f, wid, id, keep, &before);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SESSIONS,
	    &(struct st_contact_cursor_req){ id, "" }, &sr), 0);
	assert_int_equal(sr.n, 3);
	assert_string_equal(sr.next_cursor, "");
	for (i = 0; i < sr.n; i++) {
		assert_int_equal(sr.sessions[i].session[0], '~');
		assert_string_equal(sr.sessions[i].last.email,
		    "zed@example.com");
		unverified += sr.sessions[i].last.unverified;
		subs += sr.sessions[i].submissions;
	}
	assert_int_equal(unverified, 2);
	assert_int_equal(subs, 3);
	st_rep_free(PROTO_ST_CONTACT_SESSIONS, &sr);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SESSIONS,
	    &(struct st_contact_cursor_req){ id, "zz" }, &sr), PROTO_E_INVALID);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SESSIONS,
	    &(struct st_contact_cursor_req){ "0123456789abcdef0123456789abcdef",
	    "" }, &sr), PROTO_E_NOT_FOUND);
}

/* The sweep's contact steps until none is left. */
static void
sweep_all(struct fix *f)
{
	struct store_txn t;
	uint32_t n;
	int more = 1, steps = 0;

	while (more && steps++ < 1000) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_contact_gone_sweep(&t, 256, 0, &n, &more),
		    0);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
}

/* The bytes of a compacting copy of the store (parleyctl backup's). */
static char *
backup_bytes(struct fix *f, size_t *len)
{
	char path[128];
	char *buf;
	FILE *fp;
	long n;

	fix_reopen(f);	/* the last batch checkpointed */
	snprintf(path, sizeof(path), "%s/backup.mdb", f->dir);
	assert_non_null(fp = fopen(path, "w+"));
	assert_int_equal(store_backup(f->st, fileno(fp)), 0);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(path);
	*len = (size_t)n;
	return buf;
}

static int
holds(const char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

/*
 * Many contacts, every other one erased: the indexes keyed by email and
 * phone span many pages (so their keys are also separators in branch
 * pages), and a compacting copy made afterwards holds no byte of an
 * erased one's email or phone, while it holds every kept one's.
 */
static void
test_erased_not_in_backup(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], email[64], phone[32];
	char (*ids)[ST_ID_HEX + 1];
	size_t len;
	char *buf;
	int i, err, n = 2000;

	assert_non_null(ids = calloc((size_t)n, sizeof(*ids)));
	fix_widget_wid(f, "Shop", wid);
	for (i = 0; i < n; i++) {
		struct st_contact_submit_req q = { .widget_id = wid,
		    .token_len = ST_TOKEN_HASH_LEN, .name = "", .email = email,
		    .phone = phone, .rate_key = "", .window_ms = 60000,
		    .create = 1 };
		struct st_contact_submit_rep rep;

		snprintf(email, sizeof(email), "person-%04d-stale@example.com",
		    i);
		snprintf(phone, sizeof(phone), "+3361%07d", 1000000 + i);
		memset(q.token, 0, sizeof(q.token));
		memcpy(q.token, &i, sizeof(i));
		assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SUBMIT, &q,
		    &rep), 0);
		assert_int_equal(rep.result, ST_WS_OK);
		strlcpy(ids[i], rep.contact.id, sizeof(ids[i]));
		st_rep_free(PROTO_ST_CONTACT_SUBMIT, &rep);
	}
	/* More sessions than a step looks at: the sweep finishes each. */
	for (i = 0; i < n; i += 2) {
		assert_true(erase(f, ids[i], 1, &err) >= 0);
		sweep_all(f);
	}
	buf = backup_bytes(f, &len);
	for (i = 0; i < n; i++) {
		snprintf(email, sizeof(email), "person-%04d-stale@example.com",
		    i);
		snprintf(phone, sizeof(phone), "+3361%07d", 1000000 + i);
		if (holds(buf, len, email) != (i % 2) ||
		    holds(buf, len, phone) != (i % 2))
			fail_msg("the backup %s %s, %s", i % 2 ? "lacks" :
			    "holds", email, phone);
	}
	free(buf);
	free(ids);
}

/*
 * A data directory from before hashed keys (contact_email keyed by the
 * email itself): the first open hashes its keys, and the email still
 * resolves to its contact.
 */
static void
test_keys_hashed_at_open(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], id2[ST_ID_HEX + 1];
	static const char email[] = "old@example.com";
	uint8_t v[1 + 16];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, d;

	fix_widget_wid(f, "Shop", wid);
	fix_contact_submit(f, wid, 1, "", email, "", id);
	fix_reopen(f);	/* checkpointed */
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "contact_email", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	v[0] = 1;
	assert_int_equal(proto_hex_decode(id, v + 1, 16), 0);
	k.mv_size = strlen(email);
	k.mv_data = (void *)email;
	d.mv_size = sizeof(v);
	d.mv_data = v;
	assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	k.mv_size = strlen("contact_keys_hashed");
	k.mv_data = "contact_keys_hashed";
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	assert_int_equal(db_entries(f, "contact_email"), 1);
	fix_contact_submit(f, wid, 2, "", email, "", id2);
	assert_string_equal(id2, id);
	assert_int_equal(db_entries(f, "contacts"), 1);
}

/*
 * A contact's contact.created delivery, pending, listed by
 * contact_deliveries (emptied and its mark gone, as a data directory of
 * before it: filled at open); the contact deleted without erase: the
 * delivery failed ("contact deleted"), its payload gone (a retry is
 * invalid), its entry too.
 */
static void
test_delete_wipes_deliveries(void **state)
{
	struct fix *f = *state;
	struct st_who own = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1];
	struct st_webhook in, h;
	struct st_deliveries l;
	int err;

	memset(&in, 0, sizeof(in));
	in.url = "https://hooks.example/in";
	in.events = ST_HE_CONTACT_CREATED;
	in.enabled = 1;
	strlcpy(in.secret, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	    sizeof(in.secret));
	assert_int_equal(request_who(f, &own, PROTO_ST_HOOK_CREATE, &in, &h,
	    NULL), 0);
	fix_widget_wid(f, "Shop", wid);
	fix_ws_turn(f, wid, 1, "hello");
	fix_contact_submit(f, wid, 1, "Zed", "zed@example.com", "", id);
	assert_int_equal(db_entries(f, "deliveries"), 1);
	assert_int_equal(db_entries(f, "contact_deliveries"), 1);
	fix_reopen(f);	/* checkpointed */
	fix_index_unfilled(f, "contact_deliveries", "contact_deliveries_filled");
	assert_int_equal(db_entries(f, "contact_deliveries"), 1);
	assert_int_equal(erase(f, id, 0, &err), 1);
	assert_int_equal(db_entries(f, "contact_deliveries"), 0);
	assert_int_equal(db_entries(f, "deliveries"), 1);
	assert_int_equal(request_who(f, &own, PROTO_ST_HOOK_DELIVERIES,
	    &(struct st_id_page_req){ h.id, 10, "" }, &l, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.dlv[0].status, ST_DLV_FAILED);
	assert_string_equal(l.dlv[0].error, "contact deleted");
	assert_int_equal(request_who(f, &own, PROTO_ST_HOOK_RETRY,
	    &(struct st_hook_retry_req){ h.id, l.dlv[0].id }, NULL, NULL),
	    PROTO_E_INVALID);
	st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	st_webhook_free(&h);
}

/*
 * A widget's retention: its conversations last active more than
 * retention_days ago go (with their messages) in the sweep's batches;
 * newer ones, another widget's, and the contacts stay.
 */
static void
test_retention(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], other[ST_WID_ARG_MAX + 1];
	char id[ST_ID_HEX + 1];
	struct st_widget_update_req u;
	struct st_widget out;
	struct store_txn t;
	struct counts before, after;
	uint32_t n, total = 0;
	uint8_t tb;
	int more = 1, steps = 0;

	fix_widget_wid(f, "Shop", wid);
	fix_widget_wid(f, "Shop", other);
	for (tb = 1; tb <= 5; tb++)
		fix_ws_turn(f, wid, tb, "an old conversation");
	fix_contact_submit(f, wid, 1, "", "old@example.com", "", id);
	fix_ws_turn(f, other, 9, "another widget's, as old");
	fake_now += 31 * 86400000ull;
	fix_ws_turn(f, wid, 10, "a recent conversation");
	fix_counts_take(f, &before, 64);

	memset(&u, 0, sizeof(u));
	st_widget_defaults(&u.w);
	u.id = wid;
	u.mask = ST_WF_RETENTION;
	u.w.retention_days = 3651;
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out),
	    PROTO_E_INVALID);
	u.w.retention_days = 30;
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	assert_int_equal(out.retention_days, 30);
	st_widget_free(&out);
	st_widget_free(&u.w);

	while (more && steps++ < 100) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_retention_sweep(&t, 2, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
		assert_true(n <= 2);
		total += n;
	}
	assert_false(more);
	assert_int_equal(total, 5);
	assert_true(steps >= 3);
	msgs_drain(f);
	fix_counts_take(f, &after, 64);
	assert_int_equal(count_in(&after, "convs"), count_in(&before, "convs") -
	    5);
	assert_int_equal(count_in(&after, "msgs"), count_in(&before, "msgs") -
	    5);
	assert_int_equal(count_in(&after, "contact_convs"), 0);
	assert_int_equal(count_in(&after, "contacts"), 1);
	/* Nothing is old enough now; a day later, nothing more either. */
	fake_now += 86400000ull;
	store_begin(f->st, &t, 0);
	assert_int_equal(store_retention_sweep(&t, 2, 0, &n, &more), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(n, 0);
	assert_false(more);
}

/* Retention sweeps until none is left: how many it deleted. */
static uint32_t
retention_run(struct fix *f)
{
	struct store_txn t;
	uint32_t n, total = 0;
	int more = 1, steps = 0;

	while (more && steps++ < 100) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_retention_sweep(&t, 2, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
		total += n;
	}
	assert_false(more);
	return total;
}

/*
 * A person's snooze is activity to retention: a conversation snoozed to
 * wake after the cutoff is kept, and deleted retention_days after it
 * wakes if nothing happens; the expired ones beside it go at once.
 */
static void
test_retention_snoozed(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], snoozed[ST_ID_HEX + 1];
	char plain[ST_ID_HEX + 1];
	struct st_conv_state_req q = { .state = ST_STATE_SNOOZED };
	struct st_handoff_set_rep rep;
	struct st_widget_update_req u;
	struct st_widget out;
	struct st_conv c;
	uint64_t wake;

	fix_widget_wid(f, "Shop", wid);
	memset(&u, 0, sizeof(u));
	st_widget_defaults(&u.w);
	u.id = wid;
	u.mask = ST_WF_RETENTION;
	u.w.retention_days = 30;
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
	fix_ws_turn_id(f, wid, 1, "snoozed for later", snoozed);
	fix_ws_turn_id(f, wid, 2, "left alone", plain);
	/* Snoozed on day 29 until day 40. */
	fake_now += 29 * 86400000ull;
	wake = fake_now + 11 * 86400000ull;
	q.conv_id = snoozed;
	q.snoozed_until = wake;
	assert_int_equal(request_who(f, NULL, PROTO_ST_CONV_STATE, &q,
	    &rep, NULL), 0);
	st_conv_free(&rep.conv);

	/* Day 31: the one left alone goes, the snoozed one stays. */
	fake_now += 2 * 86400000ull;
	assert_int_equal(retention_run(f), 1);
	fix_conv_get(f, snoozed, &c);
	assert_int_equal(c.conv_state, ST_STATE_SNOOZED);
	st_conv_free(&c);
	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ plain, 0 }, &(struct st_conv_msgs){ 0 }),
	    PROTO_E_NOT_FOUND);
	/* Woken on day 40 and left: kept until 30 days after. */
	fake_now = wake + 29 * 86400000ull;
	assert_int_equal(retention_run(f), 0);
	fix_conv_get(f, snoozed, &c);
	st_conv_free(&c);
	fake_now = wake + 30 * 86400000ull + 1;
	assert_int_equal(retention_run(f), 1);
}

/*
 * ST_CONTACT_CONVS pages every conversation of a contact, in id order,
 * ST_LIST_MAX a page, whatever their number.
 */
static void
test_convs_paged(void **state)
{
	struct fix *f = *state;
	char wid[ST_WID_ARG_MAX + 1], id[ST_ID_HEX + 1], id2[ST_ID_HEX + 1];
	char last[ST_ID_HEX + 1] = "", cursor[ST_ID_HEX + 1] = "";
	struct st_contact_convs_rep p;
	uint32_t seen = 0, i, pages = 0;
	int tb;

	fix_widget_wid(f, "Shop", wid);
	for (tb = 1; tb <= ST_LIST_MAX + 1; tb++) {
		fix_ws_turn(f, wid, (uint8_t)tb, "hello");
		fix_contact_submit(f, wid, (uint8_t)tb, "", "many@example.com", "",
		    tb == 1 ? id : id2);
	}
	do {
		assert_int_equal(request_dec(f, PROTO_ST_CONTACT_CONVS,
		    &(struct st_contact_cursor_req){ id, cursor }, &p), 0);
		for (i = 0; i < p.n; i++) {
			assert_true(strcmp(p.convs[i].id, last) > 0);
			assert_string_equal(p.convs[i].contact_id, id);
			strlcpy(last, p.convs[i].id, sizeof(last));
		}
		seen += p.n;
		pages++;
		strlcpy(cursor, p.next_cursor, sizeof(cursor));
		st_rep_free(PROTO_ST_CONTACT_CONVS, &p);
	} while (cursor[0] != '\0' && pages < 10);
	assert_int_equal(seen, ST_LIST_MAX + 1);
	assert_int_equal(pages, 2);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_CONVS,
	    &(struct st_contact_cursor_req){ id, "xyz" }, &p), PROTO_E_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_erase_all, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_erase_resumes, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_erase_v1_entry, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_delete_unlinks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_erase_foreign_link, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_erased_not_in_backup, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_keys_hashed_at_open, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_delete_wipes_deliveries,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_retention_snoozed, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_convs_paged, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
