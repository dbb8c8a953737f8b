/*
 * The mail outbox (issue 23, item 4, mailbox.c), through the dispatcher
 * as the worker and the notifier ask: a user's choice (ST_NOTIFY_GET and
 * SET: who asks's own, none for a key, unknown bits refused); a handoff
 * asked for writes one mail, in its own transaction, to the enabled
 * members who chose it (not to one who did not, not to a disabled one),
 * none with email off; ST_MAIL_DUE leases (taken again only when the
 * lease ends: at least once), ST_MAIL_RESULT retries at retry_at, or
 * deletes a mail sent or out of retries, retries one for the recipients
 * it names; a visitor's message in `human`
 * writes a "waiting" mail due 2 minutes later, not sent when by then an
 * agent wrote or the conversation left `human`, and at most once per
 * conversation per 10 minutes; kept across a reopen; a deleted
 * conversation's and user's records go with them, the conversation's
 * pending mails too (an older data directory's listed by conversation at
 * open); a deleted contact's "new contact" mails, erased or not (an older
 * data directory's listed by contact at open); ST_MAIL_CHECK, which the
 * notifier asks as a leased mail's message ends, says such a mail is
 * gone (and one still pending is there); the pending bound; the bound
 * on what visitors cause (new contacts, handoffs asked for: at most
 * ST_MAIL_BOUND of each kind per organisation per window, the rest told
 * in one summary mail as the window ends; a deleted organisation's go).
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
#include "log.h"
#include "mailbox.h"
#include "mailmsg.h"
#include "orgstore.h"
#include "stmsgs.h"
#include "storeint.h"
#include "usermsg.h"
#include "widgetmsg.h"
#include "test_fixture.h"
#include "test_who.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-mailbox-XXXXXX", 0);
}

/* setup() with rate-limit counters: a visitor's requests count. */
static int
setup_rl(void **state)
{
	return fix_setup(state, "/tmp/parley-mailbox-XXXXXX", 1);
}

/*
 * db_entries(), which opens the store again: email on again after it,
 * as storaged's main sets it from SMTP_URL.
 */
static size_t
entries(struct fix *f, const char *db)
{
	size_t n = db_entries(f, db);

	store_mail_settings(f->st, 1);
	return n;
}

static struct st_who
session_of(const char *user)
{
	struct st_who w = who_of(ST_WHO_SESSION, "0123456789abcdef",
	    ST_ORG_DEFAULT, ST_ROLE_AGENT);

	strlcpy(w.user, user, sizeof(w.user));
	return w;
}

static uint32_t
choose(struct fix *f, const char *user, uint32_t mask)
{
	struct st_who w = session_of(user);
	struct st_notify rep;

	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_SET,
	    &(struct st_notify){ mask }, &rep, NULL), 0);
	return rep.mask;
}

static void
handoff(struct fix *f, const char *conv, uint8_t state)
{
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_handoff_set_req q = { conv, state, "Ada", 0 };
	struct st_handoff_set_rep rep;

	assert_int_equal(request_who(f, &key, PROTO_ST_HANDOFF_SET, &q, &rep,
	    NULL), 0);
	st_conv_free(&rep.conv);
}

/*
 * The assistant asks for a person in conv, in state ai (ST_TURN_HANDOFF:
 * as a visitor's request_human does), where handoff's waiting_human is a
 * person moving it into the queue.
 */
static void
asked(struct fix *f, const char *conv)
{
	struct st_u8_rep rep;

	assert_int_equal(request_who(f, NULL, PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ conv }, &rep, NULL), 0);
	assert_int_equal(rep.v, 1);
}

static void
visitor_says(struct fix *f, const char *conv, const char *text)
{
	struct st_msg_append_req q = { conv, "user", text, "complete", 0, 0,
	    NULL, 0, 0, NULL, 0, NULL, NULL };
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_MSG_APPEND, &q, &r), 0);
	dreply_free(&r);
}

static void
agent_says(struct fix *f, const char *conv, const char *text)
{
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_msg_conv mc;

	assert_int_equal(request_who(f, &key, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = conv,
	    .content = text, .name = "Ada" }, &mc, NULL), 0);
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
}

static void
due(struct fix *f, uint32_t max, struct st_mails *m)
{
	assert_int_equal(request_who(f, NULL, PROTO_ST_MAIL_DUE,
	    &(struct st_mail_due_req){ max, 60000 }, m, NULL), 0);
}

static int
result(struct fix *f, const char *id, int ok, uint64_t retry_at)
{
	struct st_mail_result_req q = { id, (uint8_t)ok, ok ? "" :
	    "connection refused", retry_at, NULL, 0 };

	return request_who(f, NULL, PROTO_ST_MAIL_RESULT, &q, NULL, NULL);
}

/* A failure retried for the recipients of keep (n of them). */
static int
result_for(struct fix *f, const char *id, uint64_t retry_at,
    struct st_str *keep, uint32_t n)
{
	struct st_mail_result_req q = { id, 0, "450 greylisted", retry_at,
	    keep, n };

	return request_who(f, NULL, PROTO_ST_MAIL_RESULT, &q, NULL, NULL);
}

static void
test_choice(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_who w;
	struct st_notify rep;
	char a[ST_USER_ID_MAX + 1], b[ST_USER_ID_MAX + 1];

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */

	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	who_user_new(f, ST_ORG_DEFAULT, "b@example.com", "Someone", b);
	w = session_of(a);
	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_GET, NULL, &rep,
	    NULL), 0);
	assert_int_equal(rep.mask, 0);
	assert_int_equal(choose(f, a, ST_MAIL_HANDOFF | ST_MAIL_CONTACT),
	    ST_MAIL_HANDOFF | ST_MAIL_CONTACT);
	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_GET, NULL, &rep,
	    NULL), 0);
	assert_int_equal(rep.mask, ST_MAIL_HANDOFF | ST_MAIL_CONTACT);
	/* b's is b's own. */
	w = session_of(b);
	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_GET, NULL, &rep,
	    NULL), 0);
	assert_int_equal(rep.mask, 0);
	/* Unknown bits; a key, which has no user. */
	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_SET,
	    &(struct st_notify){ 0x100 }, NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(request_who(f, &key, PROTO_ST_NOTIFY_GET, NULL,
	    NULL, NULL), PROTO_E_INVALID);
	/* Back to none: nothing stored. */
	assert_int_equal(choose(f, a, 0), 0);
	assert_int_equal(entries(f, "user_notify"), 0);
}

static int check(struct fix *, const char *);

static void
test_handoff_mail(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], b[ST_USER_ID_MAX + 1];
	char c[ST_USER_ID_MAX + 1], conv[ST_ID_HEX + 1];
	char id[ST_MAIL_ID_LEN + 1];
	struct st_mails m, again;
	struct st_event ev;
	struct pdec d;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */

	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	who_user_new(f, ST_ORG_DEFAULT, "b@example.com", "Someone", b);
	who_user_new(f, ST_ORG_DEFAULT, "c@example.com", "Someone", c);
	choose(f, a, ST_MAIL_ALL);
	choose(f, c, ST_MAIL_HANDOFF);
	fix_conv_new(f, "s1", conv);

	/* A person moving it into the queue: no visitor asked, no mail. */
	handoff(f, conv, ST_HANDOFF_WAITING);
	assert_int_equal(entries(f, "mails"), 0);
	handoff(f, conv, ST_HANDOFF_AI);

	/* Email off: no mail. */
	store_mail_settings(f->st, 0);
	asked(f, conv);
	assert_int_equal(entries(f, "mails"), 0);
	handoff(f, conv, ST_HANDOFF_AI);
	store_mail_settings(f->st, 1);

	asked(f, conv);
	assert_int_equal(entries(f, "mails"), 1);
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].kind, ST_MAIL_HANDOFF);
	assert_string_equal(m.mails[0].org, ST_ORG_DEFAULT);
	assert_int_equal(m.mails[0].nrcpt, 2);
	/* The members' index order (by user id); b chose none. */
	assert_string_equal(m.mails[0].rcpt[strcmp(a, c) < 0 ? 0 : 1],
	    "a@example.com");
	assert_string_equal(m.mails[0].rcpt[strcmp(a, c) < 0 ? 1 : 0],
	    "c@example.com");
	pdec_init(&d, m.mails[0].payload, m.mails[0].payload_len);
	assert_int_equal(pdec_event(&d, &ev), 0);
	assert_int_equal(ev.kind, ST_EV_HANDOFF);
	assert_string_equal(ev.conv.id, conv);
	assert_int_equal(ev.conv.waiting_by, ST_WAITING_ASSISTANT);
	st_event_free(&ev);
	strlcpy(id, m.mails[0].id, sizeof(id));
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	/*
	 * Its id (its Message-ID too): its number, opaque (seqid.c); the
	 * same number in the older spelling names nothing.
	 */
	assert_int_equal(strlen(id), ST_MAIL_ID_LEN);
	{
		struct store_txn t;
		char old[ST_MAIL_ID_LEN + 1];
		uint64_t seq = 0;

		assert_int_equal(store_begin(f->st, &t, 1), 0);
		assert_int_equal(store_seq_read(&t, ST_MAIL_PREFIX, id, &seq),
		    0);
		store_abort(&t);
		assert_int_equal(check(f, id), 0);
		fix_old_seq_id(ST_MAIL_PREFIX, seq, old);
		assert_int_equal(check(f, old), PROTO_E_NOT_FOUND);
	}

	/* Leased: not again until the lease ends (then again: a crash). */
	due(f, 16, &again);
	assert_int_equal(again.n, 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &again);
	fake_now += 60000;	/* the lease */
	fix_reopen(f);
	store_mail_settings(f->st, 1);
	due(f, 16, &again);
	assert_int_equal(again.n, 1);
	assert_string_equal(again.mails[0].id, id);
	st_rep_free(PROTO_ST_MAIL_DUE, &again);

	/* A failure: due at retry_at, not before, its error kept. */
	assert_int_equal(result(f, id, 0, fake_now + 5000), 0);
	due(f, 16, &again);
	assert_int_equal(again.n, 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &again);
	fake_now += 5000;
	due(f, 16, &again);
	assert_int_equal(again.n, 1);
	assert_int_equal(again.mails[0].attempts, 1);
	assert_string_equal(again.mails[0].error, "connection refused");
	st_rep_free(PROTO_ST_MAIL_DUE, &again);
	/* Sent: gone; a late answer changes nothing. */
	assert_int_equal(result(f, id, 1, 0), 0);
	assert_int_equal(result(f, id, 0, 0), 0);
	assert_int_equal(entries(f, "mails"), 0);
	assert_int_equal(entries(f, "mail_due"), 0);
	assert_int_equal(entries(f, "mail_counts"), 0);
	assert_int_equal(result(f, "ml_nonsense", 1, 0), PROTO_E_NOT_FOUND);
}

/*
 * A mail handed out goes to those of its recipients who still chose its
 * kind; none left, it goes unsent.
 */
static void
test_rcpt_recheck(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], c[ST_USER_ID_MAX + 1];
	char conv[ST_ID_HEX + 1];
	struct st_mails m;

	store_mail_settings(f->st, 1);
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	who_user_new(f, ST_ORG_DEFAULT, "c@example.com", "Someone", c);
	choose(f, a, ST_MAIL_HANDOFF);
	choose(f, c, ST_MAIL_ALL);
	fix_conv_new(f, "s1", conv);
	asked(f, conv);
	choose(f, a, ST_MAIL_CONTACT);	/* no more handoffs */
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].nrcpt, 1);
	assert_string_equal(m.mails[0].rcpt[0], "c@example.com");
	st_rep_free(PROTO_ST_MAIL_DUE, &m);

	choose(f, c, 0);
	fake_now += 60000;	/* the lease */
	due(f, 16, &m);
	assert_int_equal(m.n, 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	assert_int_equal(entries(f, "mails"), 0);
	assert_int_equal(entries(f, "mail_due"), 0);
	assert_int_equal(entries(f, "mail_counts"), 0);
}

/* The mails due now (a new lease): their conversations' ids, one each. */
static uint32_t
due_convs(struct fix *f, char convs[][ST_ID_HEX + 1], uint32_t max)
{
	struct st_mails m;
	struct st_event ev;
	struct pdec d;
	uint32_t i;

	due(f, 16, &m);
	assert_true(m.n <= max);
	for (i = 0; i < m.n; i++) {
		pdec_init(&d, m.mails[i].payload, m.mails[i].payload_len);
		assert_int_equal(pdec_event(&d, &ev), 0);
		strlcpy(convs[i], ev.conv.id, ST_ID_HEX + 1);
		st_event_free(&ev);
	}
	i = m.n;
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	return i;
}

static void
test_waiting(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1];
	char convs[2][ST_ID_HEX + 1];
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_mails m;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */

	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_WAITING);
	fix_conv_new(f, "s1", c1);
	fix_conv_new(f, "s2", c2);
	/* Not in human: none. */
	visitor_says(f, c1, "hello");
	assert_int_equal(entries(f, "mails"), 0);
	handoff(f, c1, ST_HANDOFF_HUMAN);
	handoff(f, c2, ST_HANDOFF_HUMAN);
	/*
	 * c1: one written, due once nobody has answered for 2 minutes;
	 * again within 10 minutes: none.
	 */
	visitor_says(f, c1, "anyone?");
	assert_int_equal(entries(f, "mails"), 1);
	assert_int_equal(due_convs(f, convs, 2), 0);
	fake_now += 60000;
	visitor_says(f, c1, "hello??");
	assert_int_equal(entries(f, "mails"), 1);
	fake_now += ST_MAIL_QUIET_MS - 60000;
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].kind, ST_MAIL_WAITING);
	assert_int_equal(m.mails[0].nrcpt, 1);
	assert_string_equal(m.mails[0].rcpt[0], "a@example.com");
	assert_int_equal(result(f, m.mails[0].id, 1, 0), 0);	/* sent */
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	assert_int_equal(entries(f, "mails"), 0);
	/*
	 * c2: a person answers within the 2 minutes: not sent, and the
	 * visitor's next message may mail again; it leaves `human`
	 * before they pass: not sent either.
	 */
	visitor_says(f, c2, "thanks");
	assert_int_equal(entries(f, "mails"), 1);
	fake_now += 60000;
	agent_says(f, c2, "Ada here");
	fake_now += ST_MAIL_QUIET_MS;
	assert_int_equal(due_convs(f, convs, 2), 0);
	assert_int_equal(entries(f, "mails"), 0);
	visitor_says(f, c2, "one more thing");
	assert_int_equal(entries(f, "mails"), 1);
	handoff(f, c2, ST_HANDOFF_AI);
	fake_now += ST_MAIL_QUIET_MS;
	assert_int_equal(due_convs(f, convs, 2), 0);
	assert_int_equal(entries(f, "mails"), 0);
	/* Back with a person, nobody answering: one more. */
	handoff(f, c2, ST_HANDOFF_HUMAN);
	visitor_says(f, c2, "still there?");
	assert_int_equal(entries(f, "mails"), 1);
	/* c1, 10 minutes after its mail: one more; both sent. */
	fake_now += ST_MAIL_WAITING_EVERY_MS;
	visitor_says(f, c1, "hello???");
	assert_int_equal(entries(f, "mails"), 2);
	fake_now += ST_MAIL_QUIET_MS;
	assert_int_equal(due_convs(f, convs, 2), 2);
	assert_string_equal(convs[0], c2);
	assert_string_equal(convs[1], c1);
	assert_int_equal(request_who(f, NULL, PROTO_ST_MAIL_DUE,
	    &(struct st_mail_due_req){ 17, 60000 }, NULL, NULL), PROTO_E_INVALID);

	/* A conversation deleted, a user deleted: what was kept goes. */
	assert_int_equal(entries(f, "mail_convs"), 2);
	assert_int_equal(request_who(f, &key, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ c1 }, NULL, NULL), 0);
	assert_int_equal(entries(f, "mail_convs"), 1);
	assert_int_equal(entries(f, "user_notify"), 1);
	assert_int_equal(request_who(f, &key, PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ a }, NULL, NULL), 0);
	assert_int_equal(entries(f, "user_notify"), 0);
}

/* The organisation's pending count as mail_counts holds it (0 absent). */
static uint32_t
pending_of(struct fix *f, const char *org)
{
	uint8_t rec[8];

	if (entries(f, "mail_counts") == 0)
		return 0;
	assert_int_equal(db_value(f, "mail_counts", org, strlen(org), rec,
	    sizeof(rec)), 5);
	store_mail_settings(f->st, 1);
	return proto_get_be32(rec + 1);
}


/*
 * A member who chose every mail; conversations c1 with two mails pending
 * (the first leased) and c2 with one: into id, the leased one's id.
 */
/* ST_MAIL_CHECK of id: 0 (still to be sent), or the error's code. */
static int
check(struct fix *f, const char *id)
{
	return request_who(f, NULL, PROTO_ST_MAIL_CHECK,
	    &(struct st_id_req){ id }, NULL, NULL);
}

static void
two_convs_mailed(struct fix *f, char c1[ST_ID_HEX + 1],
    char c2[ST_ID_HEX + 1], char id[ST_MAIL_ID_LEN + 1])
{
	char a[ST_USER_ID_MAX + 1];
	struct st_mails m;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_ALL);
	fix_conv_new(f, "s1", c1);
	fix_conv_new(f, "s2", c2);
	asked(f, c1);
	due(f, 1, &m);
	assert_int_equal(m.n, 1);
	strlcpy(id, m.mails[0].id, ST_MAIL_ID_LEN + 1);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	handoff(f, c1, ST_HANDOFF_AI);
	asked(f, c1);
	asked(f, c2);
	assert_int_equal(entries(f, "mails"), 3);
	assert_int_equal(entries(f, "mail_due"), 3);
	assert_int_equal(pending_of(f, ST_ORG_DEFAULT), 3);
}

/*
 * After the first of two deletions: one mail left (the other's), leased
 * out already; the deleted one's outcome, told late, changes nothing.
 */
static void
one_mail_left(struct fix *f, const char *id)
{
	assert_int_equal(check(f, id), PROTO_E_NOT_FOUND);
	assert_int_equal(entries(f, "mails"), 1);
	assert_int_equal(entries(f, "mail_due"), 1);
	assert_int_equal(entries(f, "conv_mails"), 1);
	assert_int_equal(pending_of(f, ST_ORG_DEFAULT), 1);
	assert_int_equal(result(f, id, 1, 0), 0);
	assert_int_equal(entries(f, "mails"), 1);
}

/* After both deletions: nothing of either mail is left. */
static void
no_mail_left(struct fix *f)
{
	assert_int_equal(entries(f, "mails"), 0);
	assert_int_equal(entries(f, "mail_due"), 0);
	assert_int_equal(entries(f, "mail_counts"), 0);
	assert_int_equal(entries(f, "conv_mails"), 0);
	assert_int_equal(entries(f, "contact_mails"), 0);
}

/*
 * c1 deleted: its mails go (the leased one too: a late answer changes
 * nothing), with their due entries and the count; c2's stays, and is the
 * one sent. A deleted conversation's mail once stayed, and was sent
 * with what the visitor wrote after an erasure. The leased one, in the
 * notifier's hands, is pending until then and gone after (ST_MAIL_CHECK:
 * the notifier then does not send it; it once did).
 */
static void
c1_deleted(struct fix *f, const char *c1, const char *c2, const char *id)
{
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	char convs[4][ST_ID_HEX + 1];

	assert_int_equal(check(f, id), 0);
	assert_int_equal(request_who(f, &key, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ c1 }, NULL, NULL), 0);
	one_mail_left(f, id);
	fake_now += 60000;	/* past every lease */
	assert_int_equal(due_convs(f, convs, 4), 1);
	assert_string_equal(convs[0], c2);
	/* c2's deleted: nothing of either is left. */
	assert_int_equal(request_who(f, &key, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ c2 }, NULL, NULL), 0);
	no_mail_left(f);
}

static void
test_conv_deleted_mails(void **state)
{
	struct fix *f = *state;
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1];
	char id[ST_MAIL_ID_LEN + 1];

	two_convs_mailed(f, c1, c2, id);
	c1_deleted(f, c1, c2, id);
}

/* fix_index_unfilled, the mails' settings set again (SMTP_URL set). */
static void
index_unfilled(struct fix *f, const char *db, const char *mark)
{
	fix_index_unfilled(f, db, mark);
	store_mail_settings(f->st, 1);
}

/* An older data directory's mails are listed by conversation at open. */
static void
test_conv_mails_filled(void **state)
{
	struct fix *f = *state;
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1];
	char id[ST_MAIL_ID_LEN + 1];

	two_convs_mailed(f, c1, c2, id);
	index_unfilled(f, "conv_mails", "conv_mails_filled");
	assert_int_equal(entries(f, "conv_mails"), 3);
	c1_deleted(f, c1, c2, id);
}

/*
 * Visitor tb says hello (its session and conversation made if new), then
 * submits name and email: the contact's id into id.
 */
static void
visitor_contact(struct fix *f, const char *wid, uint8_t tb,
    const char *name, const char *email, char id[ST_ID_HEX + 1])
{
	fix_ws_turn(f, wid, tb, "hello");
	fix_contact_submit(f, wid, tb, name, email, "", id);
}

/* ST_CONTACT_ERASE of contact id (all: erase=all), done in one step. */
static void
contact_delete(struct fix *f, const char *id, int all)
{
	struct st_u8_rep done;

	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_ERASE,
	    &(struct st_contact_erase_req){ id, (uint8_t)all }, &done), 0);
	assert_int_equal(done.v, 1);
}

/*
 * A member who chose every mail; contact zed with its "new contact" mail
 * pending, leased (its visitor's second submission makes none: a contact
 * is new once), then contact kim with one: into id, the leased one's id.
 */
static void
two_contacts_mailed(struct fix *f, char zed[ST_ID_HEX + 1],
    char kim[ST_ID_HEX + 1], char id[ST_MAIL_ID_LEN + 1])
{
	char a[ST_USER_ID_MAX + 1], wid[ST_WID_ARG_MAX + 1];
	char again[ST_ID_HEX + 1];
	struct st_mails m;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_ALL);
	fix_widget_wid(f, "Shop", wid);
	visitor_contact(f, wid, 1, "Zed", "zed@example.com", zed);
	due(f, 1, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].kind, ST_MAIL_CONTACT);
	strlcpy(id, m.mails[0].id, ST_MAIL_ID_LEN + 1);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	visitor_contact(f, wid, 1, "Zed Quux", "zed@example.com", again);
	assert_string_equal(again, zed);
	assert_int_equal(entries(f, "mails"), 1);
	visitor_contact(f, wid, 2, "Kim", "kim@example.com", kim);
	assert_int_equal(entries(f, "mails"), 2);
	assert_int_equal(entries(f, "contact_mails"), 2);
	assert_int_equal(pending_of(f, ST_ORG_DEFAULT), 2);
}

/*
 * zed deleted without an erase (its conversation stays): its mails go
 * (the leased one too: a late answer changes nothing), with their due
 * and conv_mails entries and the count; kim's stays, and is the one
 * sent. A deleted contact's mail once stayed, and was sent with its
 * name and email; the leased one is gone to ST_MAIL_CHECK (the notifier
 * then does not send it). kim erased: nothing of either is left.
 */
static void
zed_deleted(struct fix *f, const char *zed, const char *kim,
    const char *id)
{
	struct st_mails m;
	struct st_event ev;
	struct pdec d;

	assert_int_equal(check(f, id), 0);
	contact_delete(f, zed, 0);
	assert_int_equal(entries(f, "contact_mails"), 1);
	one_mail_left(f, id);
	fake_now += 60000;	/* past every lease */
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	pdec_init(&d, m.mails[0].payload, m.mails[0].payload_len);
	assert_int_equal(pdec_event(&d, &ev), 0);
	assert_string_equal(ev.contact.id, kim);
	st_event_free(&ev);
	assert_int_equal(check(f, m.mails[0].id), 0);
	assert_int_equal(check(f, "ml_nonsense"), PROTO_E_NOT_FOUND);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	contact_delete(f, kim, 1);
	no_mail_left(f);
}

static void
test_contact_deleted_mails(void **state)
{
	struct fix *f = *state;
	char zed[ST_ID_HEX + 1], kim[ST_ID_HEX + 1];
	char id[ST_MAIL_ID_LEN + 1];

	two_contacts_mailed(f, zed, kim, id);
	zed_deleted(f, zed, kim, id);
}

/*
 * An older data directory's mails are listed by contact at open
 * (contact_mails emptied and its mark gone behind the store's back).
 */
static void
test_contact_mails_filled(void **state)
{
	struct fix *f = *state;
	char zed[ST_ID_HEX + 1], kim[ST_ID_HEX + 1];
	char id[ST_MAIL_ID_LEN + 1];

	two_contacts_mailed(f, zed, kim, id);
	index_unfilled(f, "contact_mails", "contact_mails_filled");
	assert_int_equal(entries(f, "contact_mails"), 2);
	zed_deleted(f, zed, kim, id);
}

/* An organisation holds at most ST_MAIL_PENDING_MAX pending mails. */
static void
test_pending_bound(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], conv[ST_ID_HEX + 1];
	struct st_mails m;
	uint32_t i;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */

	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_HANDOFF);
	fix_conv_new(f, "s1", conv);
	log_set_level(LOG_LEVEL_WARN);
	/* Each in a window of its own: past the visitors' bound too. */
	for (i = 0; i < ST_MAIL_PENDING_MAX + 5; i++) {
		fake_now += ST_MAIL_BOUND_WINDOW_MS;
		asked(f, conv);
		handoff(f, conv, ST_HANDOFF_AI);
	}
	assert_int_equal(entries(f, "mails"), ST_MAIL_PENDING_MAX);
	/* One sent: room for one more. */
	due(f, 1, &m);
	assert_int_equal(result(f, m.mails[0].id, 1, 0), 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	fake_now += ST_MAIL_BOUND_WINDOW_MS;
	asked(f, conv);
	assert_int_equal(entries(f, "mails"), ST_MAIL_PENDING_MAX);
	assert_int_equal(entries(f, "mail_due"), ST_MAIL_PENDING_MAX);
}

/*
 * ST_MAIL_RCPT_MAX members who chose the kind, then one more: each
 * handoff is stored and its mail goes to the first ST_MAIL_RCPT_MAX
 * (the cap's stop was once taken for an LMDB error, failing the handoff).
 */
static void
test_rcpt_cap(void **state)
{
	struct fix *f = *state;
	char u[ST_USER_ID_MAX + 1], conv[ST_ID_HEX + 1], email[32];
	struct st_mails m;
	uint32_t i, j;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */
	fix_conv_new(f, "s1", conv);
	for (i = 0; i < ST_MAIL_RCPT_MAX + 1; i++) {
		snprintf(email, sizeof(email), "m%u@example.com", i);
		who_user_new(f, ST_ORG_DEFAULT, email, "Someone", u);
		choose(f, u, ST_MAIL_HANDOFF);
		if (i < ST_MAIL_RCPT_MAX - 1)
			continue;
		asked(f, conv);
		handoff(f, conv, ST_HANDOFF_AI);
	}
	due(f, 16, &m);
	assert_int_equal(m.n, 2);
	for (j = 0; j < m.n; j++)
		assert_int_equal(m.mails[j].nrcpt, ST_MAIL_RCPT_MAX);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
}

/*
 * An assignment changes no handoff state: it tells the dashboards alone.
 * Assigning a conversation that waits for a person once re-sent the
 * "handoff requested" mail and webhook to everyone.
 */
/*
 * ST_MAIL_RESULT retried for some recipients (those refused for now):
 * the mail is due again for them alone; one naming none of its
 * recipients drops it.
 */
static void
test_rcpt_result(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], c[ST_USER_ID_MAX + 1];
	char conv[ST_ID_HEX + 1], id[ST_MAIL_ID_LEN + 1];
	struct st_str keep[] = { { "c@example.com" } };
	struct st_str other[] = { { "x@example.com" } };
	struct st_mails m;

	store_mail_settings(f->st, 1);
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	who_user_new(f, ST_ORG_DEFAULT, "c@example.com", "Someone", c);
	choose(f, a, ST_MAIL_HANDOFF);
	choose(f, c, ST_MAIL_HANDOFF);
	fix_conv_new(f, "s1", conv);
	asked(f, conv);
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].nrcpt, 2);
	strlcpy(id, m.mails[0].id, sizeof(id));
	st_rep_free(PROTO_ST_MAIL_DUE, &m);

	assert_int_equal(result_for(f, id, fake_now + 5000, keep, 1), 0);
	fake_now += 5000;
	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].nrcpt, 1);
	assert_string_equal(m.mails[0].rcpt[0], "c@example.com");
	assert_int_equal(m.mails[0].attempts, 1);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);

	assert_int_equal(result_for(f, id, fake_now + 5000, other, 1), 0);
	assert_int_equal(entries(f, "mails"), 0);
	assert_int_equal(entries(f, "mail_due"), 0);
	assert_int_equal(entries(f, "mail_counts"), 0);
}

static void
test_assign_no_mail(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_webhook in, h;
	struct st_handoff_set_rep rep;
	char a[ST_USER_ID_MAX + 1], conv[ST_ID_HEX + 1];
	size_t dlv;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_ALL);
	memset(&in, 0, sizeof(in));
	in.url = "https://hooks.example/in";
	in.events = ST_HE_ALL;
	in.enabled = 1;
	strlcpy(in.secret, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	    sizeof(in.secret));
	assert_int_equal(request_who(f, &key, PROTO_ST_HOOK_CREATE, &in, &h,
	    NULL), 0);
	st_webhook_free(&h);
	fix_conv_new(f, "s1", conv);
	asked(f, conv);
	assert_int_equal(entries(f, "mails"), 1);
	dlv = entries(f, "deliveries");
	assert_true(dlv > 0);
	assert_int_equal(request_who(f, &key, PROTO_ST_CONV_ASSIGN,
	    &(struct st_conv_assign_req){ conv, a }, &rep, NULL), 0);
	assert_int_equal(rep.changed, 1);
	st_conv_free(&rep.conv);
	assert_int_equal(request_who(f, &key, PROTO_ST_CONV_ASSIGN,
	    &(struct st_conv_assign_req){ conv, "" }, &rep, NULL), 0);
	assert_int_equal(rep.changed, 1);
	st_conv_free(&rep.conv);
	assert_int_equal(entries(f, "mails"), 1);
	assert_int_equal(entries(f, "deliveries"), dlv);
}

/* A "new contact" mail of org to its members who chose it, as an event makes one. */
static void
mail_for(struct fix *f, const char *org)
{
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_mail_event(&t, org, "", ST_MAIL_CONTACT, NULL,
	    0), 0);
	assert_int_equal(store_commit(&t), 0);
}

/* org (a new one) with a member who wants "new contact" mails. */
static void
org_mailed(struct fix *f, const char *name, char org[ST_ORG_ID_MAX + 1])
{
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_who o = who_org_new(f, &key, name), w;
	char user[ST_USER_ID_MAX + 1], email[64];

	strlcpy(org, o.org, ST_ORG_ID_MAX + 1);
	snprintf(email, sizeof(email), "%s@example.com", name);
	who_user_new(f, org, email, name, user);
	w = who_of(ST_WHO_SESSION, "0123456789abcdef", org, ST_ROLE_AGENT);
	strlcpy(w.user, user, sizeof(w.user));
	assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_SET,
	    &(struct st_notify){ ST_MAIL_CONTACT }, NULL, NULL), 0);
}

/*
 * One organisation's backlog does not hold another's mail behind it: A
 * has 40 mails due before B's one, and the first answer of 4 holds B's;
 * then A, B and C are served in turn, each its mails in due order, and
 * every mail is taken once.
 */
static void
test_due_fair(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1], c[ST_ORG_ID_MAX + 1];
	char last[ST_ORG_ID_MAX + 1] = "";
	struct st_mails m;
	uint32_t i, na = 0, nb = 0, nc = 0;

	store_mail_settings(f->st, 1);
	org_mailed(f, "a", a);
	org_mailed(f, "b", b);
	org_mailed(f, "c", c);
	/* Two windows of A's (its visitors' bound), then B's. */
	for (i = 0; i < 40; i++) {
		if (i == ST_MAIL_BOUND)
			fake_now += ST_MAIL_BOUND_WINDOW_MS;
		mail_for(f, a);
	}
	mail_for(f, b);
	due(f, 4, &m);
	assert_int_equal(m.n, 4);
	for (i = 0; i < m.n; i++)
		nb += strcmp(m.mails[i].org, b) == 0;
	assert_int_equal(nb, 1);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);

	/* 37 of A's left, 3 of B's and 3 of C's: one each in turn. */
	for (i = 0; i < 3; i++) {
		mail_for(f, b);
		mail_for(f, c);
	}
	for (;;) {
		due(f, 1, &m);
		if (m.n == 0)
			break;
		if (nb < 4 && nc < 3)	/* while all three have some */
			assert_string_not_equal(m.mails[0].org, last);
		strlcpy(last, m.mails[0].org, sizeof(last));
		na += strcmp(last, a) == 0;
		nb += strcmp(last, b) == 0;
		nc += strcmp(last, c) == 0;
		st_rep_free(PROTO_ST_MAIL_DUE, &m);
		assert_true(na + nb + nc <= 44);	/* each once */
	}
	assert_int_equal(na, 37);
	assert_int_equal(nb, 4);
	assert_int_equal(nc, 3);
}

/* The mails due now, each answered sent: how many, kind kind each. */
static uint32_t
due_sent(struct fix *f, uint32_t kind)
{
	struct st_mails m;
	uint32_t i, n = 0;

	for (;;) {
		due(f, 16, &m);
		if (m.n == 0)
			break;
		for (i = 0; i < m.n; i++) {
			assert_int_equal(m.mails[i].kind, kind);
			assert_int_equal(m.mails[i].held, 0);
			assert_int_equal(result(f, m.mails[i].id, 1, 0), 0);
		}
		n += m.n;
		st_rep_free(PROTO_ST_MAIL_DUE, &m);
	}
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	return n;
}

/*
 * The summary due now: of kind, telling held events, the first at since,
 * to a@ alone, no payload; answered sent.
 */
static void
summary_sent(struct fix *f, uint32_t kind, uint32_t held, uint64_t since)
{
	struct st_mails m;

	due(f, 16, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.mails[0].kind, kind);
	assert_int_equal(m.mails[0].held, held);
	assert_int_equal(m.mails[0].created_at, since);
	assert_int_equal(m.mails[0].payload_len, 0);
	assert_int_equal(m.mails[0].nrcpt, 1);
	assert_string_equal(m.mails[0].rcpt[0], "a@example.com");
	assert_int_equal(result(f, m.mails[0].id, 1, 0), 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
}

/*
 * Visitors flooding an organisation with new contacts: the first
 * ST_MAIL_BOUND of the window are mailed at once, the 5 past it are not
 * (each once made a mail of its own, to every member who chose it, until
 * the organisation's 1,000 pending were full and its real mails were
 * dropped), and are told in one summary mail as the window ends, not
 * before; a handoff asked for meanwhile is its own kind, mailed at once.
 * The next window: a single new contact is mailed at once again.
 */
static void
test_visitor_bound(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], wid[ST_WID_ARG_MAX + 1];
	char id[ST_ID_HEX + 1], conv[ST_ID_HEX + 1], name[32], email[64];
	uint64_t start = fake_now, since = 0;
	uint32_t i;

	store_mail_settings(f->st, 1);	/* as with SMTP_URL set */
	who_user_new(f, ST_ORG_DEFAULT, "a@example.com", "Someone", a);
	choose(f, a, ST_MAIL_CONTACT | ST_MAIL_HANDOFF);
	fix_widget_wid(f, "Shop", wid);
	log_set_level(LOG_LEVEL_WARN);
	for (i = 0; i < ST_MAIL_BOUND + 5; i++) {
		if (i == ST_MAIL_BOUND)
			since = fake_now;
		snprintf(name, sizeof(name), "Flood %u", i);
		snprintf(email, sizeof(email), "flood%u@example.com", i);
		visitor_contact(f, wid, (uint8_t)(i + 1), name, email, id);
		fake_now += 1000;
	}
	/* The bound's mails and one summary: not one mail each. */
	assert_int_equal(entries(f, "mails"), ST_MAIL_BOUND + 1);
	assert_int_equal(pending_of(f, ST_ORG_DEFAULT), ST_MAIL_BOUND + 1);
	assert_int_equal(entries(f, "mail_bounds"), 1);
	assert_int_equal(due_sent(f, ST_MAIL_CONTACT), ST_MAIL_BOUND);
	/* Another kind has its own bound: mailed at once. */
	fix_conv_new(f, "s1", conv);
	asked(f, conv);
	assert_int_equal(due_sent(f, ST_MAIL_HANDOFF), 1);
	/* The summary is due as the window ends, not before. */
	fake_now = start + ST_MAIL_BOUND_WINDOW_MS - 1;
	assert_int_equal(due_sent(f, ST_MAIL_CONTACT), 0);
	fake_now++;
	summary_sent(f, ST_MAIL_CONTACT, 5, since);
	assert_int_equal(entries(f, "mails"), 0);
	assert_int_equal(entries(f, "mail_counts"), 0);
	/* A new window: one new contact is mailed at once. */
	visitor_contact(f, wid, 200, "Single", "single@example.com", id);
	assert_int_equal(due_sent(f, ST_MAIL_CONTACT), 1);
}

/*
 * A deleted organisation's bounds go in its sweep, with the summary mail
 * still pending (it tells what only that organisation saw).
 */
static void
test_bound_org_swept(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	char b[ST_ORG_ID_MAX + 1];
	struct store_txn t;
	uint32_t i, n;
	int more = 1, steps = 0;

	store_mail_settings(f->st, 1);
	org_mailed(f, "b", b);
	for (i = 0; i < ST_MAIL_BOUND + 3; i++)
		mail_for(f, b);
	assert_int_equal(entries(f, "mails"), ST_MAIL_BOUND + 1);
	assert_int_equal(entries(f, "mail_bounds"), 1);
	assert_int_equal(request_who(f, &key, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b }, NULL, NULL), 0);
	while (more && steps++ < 50) {
		assert_int_equal(store_begin(f->st, &t, 0), 0);
		assert_int_equal(store_org_sweep(&t, 4, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
	assert_int_equal(entries(f, "mail_bounds"), 0);
	assert_int_equal(entries(f, "mails"), ST_MAIL_BOUND);
	assert_int_equal(pending_of(f, b), ST_MAIL_BOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_choice, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_handoff_mail, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_recheck, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_waiting, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_conv_deleted_mails,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_conv_mails_filled, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_contact_deleted_mails,
		    setup_rl, fix_teardown),
		cmocka_unit_test_setup_teardown(test_contact_mails_filled,
		    setup_rl, fix_teardown),
		cmocka_unit_test_setup_teardown(test_pending_bound, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_cap, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_result, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_due_fair, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_assign_no_mail, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_visitor_bound, setup_rl,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_bound_org_swept, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
