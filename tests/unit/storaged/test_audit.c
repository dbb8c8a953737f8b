/*
 * storaged's audit log (issue 22, auditstore.c), through the dispatcher
 * as a worker asks, who asks set: each audited request leaves its entry
 * (action, who, target) in who asks's organisation, in the request's own
 * transaction (none for a request that fails, changes nothing, or has
 * nobody asking); people's changes (an invitation's acceptance, asked by
 * nobody, in the invitation's organisation); ST_AUDIT_NOTE; the list newest first, paged, scoped to
 * one organisation; the bound of ST_AUDIT_MAX entries, oldest dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "auditstore.h"
#include "gapmsg.h"
#include "inboxmsg.h"
#include "keymsg.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "test_who.h"
#include "usermsg.h"

static struct st_who A;

static int
setup(void **state)
{
	A = who_of(ST_WHO_ORGKEY, "key_0123456789abcdef0123456789abcdef",
	    ST_ORG_DEFAULT, ST_ROLE_OWNER);
	strlcpy(A.user, "usr_1", sizeof(A.user));
	return fix_setup(state, "/tmp/parley-audit-XXXXXX", 0);
}

/* who's log, newest first (at most 200), into l (st_rep_free). */
static void
audit_list(struct fix *f, const struct st_who *who, uint32_t limit,
    const char *cursor, struct st_audit_page *l)
{
	struct st_page_req q = { limit, cursor };

	assert_int_equal(request_who(f, who, PROTO_ST_AUDIT_LIST, &q, l,
	    NULL), 0);
}

/* The newest entry of who's log is action on target, by who. */
static void
newest_is(struct fix *f, const struct st_who *who, const char *action,
    const char *target)
{
	struct st_audit_page l;

	audit_list(f, who, 1, "", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.entries[0].action, action);
	assert_string_equal(l.entries[0].target, target);
	assert_int_equal(l.entries[0].who_kind, who->kind);
	assert_string_equal(l.entries[0].who_id, who->id);
	assert_string_equal(l.entries[0].user, who->user);
	assert_int_equal(l.entries[0].at, fake_now);
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);
}

static uint64_t
total(struct fix *f, const struct st_who *who)
{
	struct st_audit_page l;
	uint64_t n;

	audit_list(f, who, 1, "", &l);
	n = l.total;
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);
	return n;
}

/* A canned reply made, changed and deleted: an entry each, its id. */
static void
canned_actions(struct fix *f)
{
	struct st_canned_put_req q = { .id = "", .shortcut = "hi",
	    .text = "Hello" };
	struct st_canned c;
	char id[ST_CANNED_ID_LEN + 1];

	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_CANNED_PUT, &q, &c,
	    NULL), 0);
	strlcpy(id, c.id, sizeof(id));
	st_canned_free(&c);
	newest_is(f, &A, "canned_reply.create", id);
	fake_now++;
	q.id = id;
	q.text = "Hello there";
	assert_int_equal(request_who(f, &A, PROTO_ST_CANNED_PUT, &q, &c,
	    NULL), 0);
	st_canned_free(&c);
	newest_is(f, &A, "canned_reply.update", id);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_CANNED_DELETE,
	    &(struct st_id_req){ id }, NULL, NULL), 0);
	newest_is(f, &A, "canned_reply.delete", id);
}

/* Each request of the table, as who: its entry, and the time moves on. */
static void
test_each_action(void **state)
{
	struct fix *f = *state;
	struct st_widget w, wr;
	struct st_agent ag, agr;
	struct st_conv_open_req co = { "default", "s1" };
	struct st_conv_open_rep cor;
	struct st_handoff_set_req hs;
	struct st_agent_msg_req am;
	struct st_key_create_req kc = { .name = "k", .role = ST_ROLE_AGENT,
	    .hash_len = ST_KEY_HASH_LEN };
	struct st_apikey key;
	struct st_widget_update_req wu;
	struct st_agent_update_req au;
	struct st_agent_delete_rep adr;
	struct st_audit_note_req note = { "export", "" };
	char cid[ST_ID_HEX + 1], wid[ST_WID_LEN + 1], aid[ST_ID_HEX + 1];

	st_widget_defaults(&w);
	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_CREATE, &w, &wr,
	    NULL), 0);
	strlcpy(wid, wr.widget_id, sizeof(wid));
	newest_is(f, &A, "widget.create", wid);
	fake_now++;
	memset(&wu, 0, sizeof(wu));
	wu.id = wid;
	wu.mask = ST_WF_NAME;
	wu.w = w;
	wu.w.name = (char *)"Renamed";
	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_UPDATE, &wu, NULL,
	    NULL), 0);
	newest_is(f, &A, "widget.update", wid);
	st_widget_free(&w);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_RESET_ID,
	    &(struct st_id_req){ wid }, &w, NULL), 0);
	newest_is(f, &A, "widget.reset_id", wid);
	strlcpy(wid, w.widget_id, sizeof(wid));
	st_widget_free(&w);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_DELETE,
	    &(struct st_id_req){ wid }, NULL, NULL), 0);
	newest_is(f, &A, "widget.delete", wid);
	st_widget_free(&wr);

	fake_now++;
	st_agent_defaults(&ag);
	ag.name = (char *)"Bot";
	assert_int_equal(request_who(f, &A, PROTO_ST_AGENT_CREATE, &ag, &agr,
	    NULL), 0);
	strlcpy(aid, agr.id, sizeof(aid));
	st_agent_free(&agr);
	newest_is(f, &A, "agent.create", aid);
	fake_now++;
	memset(&au, 0, sizeof(au));
	au.id = aid;
	au.mask = ST_AF_NAME;
	au.a = ag;
	assert_int_equal(request_who(f, &A, PROTO_ST_AGENT_UPDATE, &au, &agr,
	    NULL), 0);
	st_agent_free(&agr);
	newest_is(f, &A, "agent.update", aid);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_AGENT_DELETE,
	    &(struct st_id_req){ aid }, &adr, NULL), 0);
	st_rep_free(PROTO_ST_AGENT_DELETE, &adr);
	newest_is(f, &A, "agent.delete", aid);

	/* A conversation (a visitor's: nobody asks, no entry). */
	fake_now++;
	assert_int_equal(request_who(f, NULL, PROTO_ST_CONV_OPEN, &co, &cor,
	    NULL), 0);
	strlcpy(cid, cor.conv.id, sizeof(cid));
	st_conv_free(&cor.conv);
	assert_int_equal(total(f, &A), 7);
	memset(&hs, 0, sizeof(hs));
	hs.conv_id = cid;
	hs.state = ST_HANDOFF_HUMAN;
	hs.name = "Ada";
	assert_int_equal(request_who(f, &A, PROTO_ST_HANDOFF_SET, &hs, NULL,
	    NULL), 0);
	newest_is(f, &A, "handoff.take", cid);
	/* Taken again: nothing changed, no entry. */
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_HANDOFF_SET, &hs, NULL,
	    NULL), 0);
	assert_int_equal(total(f, &A), 8);
	am = (struct st_agent_msg_req){ .conv_id = cid,
	    .content = "private words", .name = "Ada" };
	assert_int_equal(request_who(f, &A, PROTO_ST_AGENT_MSG, &am, NULL,
	    NULL), 0);
	newest_is(f, &A, "message.agent", cid);
	fake_now++;
	hs.state = ST_HANDOFF_AI;
	assert_int_equal(request_who(f, &A, PROTO_ST_HANDOFF_SET, &hs, NULL,
	    NULL), 0);
	newest_is(f, &A, "handoff.return", cid);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ cid }, NULL, NULL), 0);
	newest_is(f, &A, "conversation.delete", cid);

	fake_now++;
	memset(kc.hash, 1, sizeof(kc.hash));
	assert_int_equal(request_who(f, &A, PROTO_ST_KEY_CREATE, &kc, &key,
	    NULL), 0);
	newest_is(f, &A, "apikey.create", key.id);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_KEY_DELETE,
	    &(struct st_id_req){ key.id }, NULL, NULL), 0);
	newest_is(f, &A, "apikey.delete", key.id);
	st_apikey_free(&key);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), 0);
	newest_is(f, &A, "export", "");
	note.target = cid;
	/* Deleted above: an export of it is a 404, noted nowhere. */
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(request_who(f, NULL, PROTO_ST_CONV_OPEN, &co, &cor,
	    NULL), 0);
	note.target = cor.conv.id;
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), 0);
	newest_is(f, &A, "export", cor.conv.id);
	st_conv_free(&cor.conv);
	/* An action's dry run, noted by the worker before its call. */
	fake_now++;
	note = (struct st_audit_note_req){ "action.test",
	    "act_0123456789abcdef0123456789abcdef" };
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), 0);
	newest_is(f, &A, "action.test", "act_0123456789abcdef0123456789abcdef");
	assert_int_equal(total(f, &A), 16);
	canned_actions(f);
}

/* An invitation into who's organisation of email (token hash bytes hb). */
static int
invite(struct fix *f, const struct st_who *who, const char *email,
    uint8_t hb, struct st_user_invite_rep *rep)
{
	struct st_user_invite_req q = { .email = email, .role = ST_ROLE_AGENT,
	    .token_hash_len = ST_INVITE_HASH_LEN };

	memset(q.token_hash, hb, sizeof(q.token_hash));
	return request_who(f, who, PROTO_ST_USER_INVITE, &q, rep, NULL);
}

/*
 * People: an invitation (no email in the log), its acceptance (asked by
 * nobody: the invitation's organisation's entry, by the user it made), a
 * role change, a delete; none for an invitation of a member, nor for a
 * change refused (the last owner).
 */
static void
test_user_actions(void **state)
{
	struct fix *f = *state;
	struct st_user_boot_req boot = { .email = ST_OWNER_EMAIL,
	    .name = "Owner", .salt_len = ST_PW_SALT_LEN,
	    .hash_len = ST_PW_HASH_LEN, .fp_len = ST_USER_FP_LEN };
	struct st_invite_accept_req ac = { .token_hash_len = ST_INVITE_HASH_LEN,
	    .name = "Ann", .salt_len = ST_PW_SALT_LEN,
	    .hash_len = ST_PW_HASH_LEN };
	struct st_user_update_req up = { .mask = ST_UF_ROLE,
	    .role = ST_ROLE_ADMIN };
	struct st_user_auth_req who_owner = { ST_OWNER_EMAIL };
	struct st_user_auth_rep owner;
	struct st_user_invite_rep iv;
	struct st_invite_accept_rep acr;
	struct st_user_update_rep upr;
	struct st_audit_page l;
	struct st_u8_rep v;
	struct st_invites il;
	char ann[ST_USER_ID_MAX + 1], inv[ST_INVITE_ID_MAX + 1];

	assert_int_equal(request_who(f, NULL, PROTO_ST_USER_BOOT, &boot, &v,
	    NULL), 0);
	assert_int_equal(request_who(f, NULL, PROTO_ST_USER_AUTH, &who_owner,
	    &owner, NULL), 0);
	assert_int_equal(owner.found, 1);
	fake_now++;
	assert_int_equal(invite(f, &A, "Ann@Example.com", 1, &iv), 0);
	assert_int_equal(iv.result, 0);
	newest_is(f, &A, "user.invite", "");
	fake_now++;
	memset(ac.token_hash, 1, sizeof(ac.token_hash));
	assert_int_equal(request_who(f, NULL, PROTO_ST_INVITE_ACCEPT, &ac,
	    &acr, NULL), 0);
	assert_int_equal(acr.result, 0);
	strlcpy(ann, acr.d.user, sizeof(ann));
	audit_list(f, &A, 1, "", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.entries[0].action, "user.join");
	assert_string_equal(l.entries[0].target, ann);
	assert_string_equal(l.entries[0].user, ann);
	assert_int_equal(l.entries[0].who_kind, ST_WHO_PUBLIC);
	assert_string_equal(l.entries[0].who_id, "invitation");
	assert_int_equal(l.entries[0].at, fake_now);
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);
	fake_now++;
	up.id = ann;
	assert_int_equal(request_who(f, &A, PROTO_ST_USER_UPDATE, &up, &upr,
	    NULL), 0);
	assert_int_equal(upr.result, 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &upr);
	newest_is(f, &A, "user.update", ann);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ ann }, &v, NULL), 0);
	assert_int_equal(v.v, 0);
	newest_is(f, &A, "user.delete", ann);
	assert_int_equal(total(f, &A), 4);
	/* An invitation revoked: its id. */
	fake_now++;
	assert_int_equal(invite(f, &A, "bob@example.com", 3, &iv), 0);
	assert_int_equal(request_who(f, &A, PROTO_ST_INVITE_LIST, NULL, &il,
	    NULL), 0);
	assert_int_equal(il.n, 1);
	strlcpy(inv, il.v[0].id, sizeof(inv));
	st_rep_free(PROTO_ST_INVITE_LIST, &il);
	fake_now++;
	assert_int_equal(request_who(f, &A, PROTO_ST_INVITE_REVOKE,
	    &(struct st_id_req){ inv }, NULL, NULL), 0);
	newest_is(f, &A, "user.invite_revoke", inv);
	assert_int_equal(total(f, &A), 6);

	/* Refused or changing nothing: no entry. */
	fake_now++;
	assert_int_equal(invite(f, &A, ST_OWNER_EMAIL, 2, &iv), 0);
	assert_int_equal(iv.result, 1);
	up.id = owner.s.id;
	assert_int_equal(request_who(f, &A, PROTO_ST_USER_UPDATE, &up, &upr,
	    NULL), 0);
	assert_int_equal(upr.result, 1);
	assert_int_equal(request_who(f, &A, PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ owner.s.id }, &v, NULL), 0);
	assert_int_equal(v.v, 1);
	/* A token that is no invitation: nothing joined. */
	memset(ac.token_hash, 9, sizeof(ac.token_hash));
	assert_int_equal(request_who(f, NULL, PROTO_ST_INVITE_ACCEPT, &ac,
	    &acr, NULL), 0);
	assert_int_equal(acr.result, 1);
	assert_int_equal(total(f, &A), 6);
}

/* parleyctl's ST_USER_SET: user.add, user.password; none when refused. */
static void
test_user_set(void **state)
{
	struct fix *f = *state;
	struct st_who ctl = who_of(ST_WHO_CTL, "uid 0", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_user_set_req q = { .mode = ST_USER_SET_ADD,
	    .email = "cy@x.test", .name = "Cy", .role = ST_ROLE_AGENT,
	    .salt_len = ST_PW_SALT_LEN, .hash_len = ST_PW_HASH_LEN };
	struct st_user_set_rep rep;
	char id[ST_USER_ID_MAX + 1];

	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 0);
	strlcpy(id, rep.m.id, sizeof(id));
	st_rep_free(PROTO_ST_USER_SET, &rep);
	newest_is(f, &ctl, "user.add", id);
	fake_now++;
	q.mode = ST_USER_SET_PASSWORD;
	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	st_rep_free(PROTO_ST_USER_SET, &rep);
	newest_is(f, &ctl, "user.password", id);
	/* A member already; no such user: nothing changed, no entry. */
	q.mode = ST_USER_SET_ADD;
	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 2);
	q.mode = ST_USER_SET_PASSWORD;
	q.email = "nobody@x.test";
	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 1);
	assert_int_equal(total(f, &ctl), 2);
}

/* No entry for what failed, changed nothing, or was nobody's. */
static void
test_no_entry(void **state)
{
	struct fix *f = *state;
	struct st_audit_note_req note = { "widget.delete", "" };
	struct st_widget w;
	struct st_str gid[1] = { { "0123456789abcdef0123456789abcdef01234567" } };
	struct st_gap_delete_req gq = { gid, 1 };
	struct st_u64 gone;

	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_DELETE,
	    &(struct st_id_req){ "wid_nope" }, NULL, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(request_who(f, &A, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ "0123456789abcdef0123456789abcdef" }, NULL,
	    NULL), PROTO_E_NOT_FOUND);
	/* A note may record only what no request records itself. */
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), PROTO_E_INVALID);
	/* Reads leave none. */
	assert_int_equal(request_who(f, &A, PROTO_ST_WIDGET_LIST, NULL, NULL,
	    NULL), 0);
	/*
	 * Resolving gaps that are not there deletes none: no entry (a
	 * flood of them would push the log's older entries out).
	 */
	assert_int_equal(request_who(f, &A, PROTO_ST_GAP_DELETE, &gq, &gone,
	    NULL), 0);
	assert_int_equal(gone.v, 0);
	/* Nobody asking (a test, a tool of old): none. */
	st_widget_defaults(&w);
	assert_int_equal(request_who(f, NULL, PROTO_ST_WIDGET_CREATE, &w, NULL,
	    NULL), 0);
	st_widget_free(&w);
	assert_int_equal(total(f, &A), 0);
	assert_int_equal(db_entries(f, "audit"), 0);
}

/* Newest first, paged, each organisation its own. */
static void
test_pages_and_orgs(void **state)
{
	struct fix *f = *state;
	struct st_audit_note_req note = { "contact.export", "" };
	struct st_audit_page l;
	struct st_who ctl = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_who b;
	struct st_org in, out;
	char targets[7][8], cursor[ST_CURSOR_MAX + 1] = "";
	uint32_t i, got = 0;

	memset(&in, 0, sizeof(in));
	in.name = (char *)"B";
	assert_int_equal(request_who(f, &ctl, PROTO_ST_ORG_CREATE, &in, &out,
	    NULL), 0);
	b = who_of(ST_WHO_ORGKEY, "key_b", out.id, ST_ROLE_OWNER);
	/* The install key acts in the default organisation: its entry. */
	newest_is(f, &ctl, "organization.create", out.id);
	st_org_free(&out);
	for (i = 0; i < 7; i++) {
		snprintf(targets[i], sizeof(targets[i]), "t%u", i);
		note.target = targets[i];
		/* Two in the same ms: the order still holds. */
		fake_now += i % 2;
		assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_NOTE, &note,
		    NULL, NULL), 0);
	}
	note.target = "b's";
	assert_int_equal(request_who(f, &b, PROTO_ST_AUDIT_NOTE, &note, NULL,
	    NULL), 0);

	/* Three at a time, newest first, to the end. */
	do {
		audit_list(f, &A, 3, cursor, &l);
		assert_int_equal(l.total, 8);
		for (i = 0; i < l.n; i++, got++)
			assert_string_equal(l.entries[i].action, got < 7 ?
			    "contact.export" : "organization.create");
		for (i = 0; i < l.n && got - l.n + i < 7; i++)
			assert_string_equal(l.entries[i].target,
			    targets[6 - (got - l.n + i)]);
		strlcpy(cursor, l.next_cursor, sizeof(cursor));
		st_rep_free(PROTO_ST_AUDIT_LIST, &l);
	} while (cursor[0] != '\0');
	assert_int_equal(got, 8);

	/* B sees its own alone; A never B's. */
	audit_list(f, &b, 200, "", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.total, 1);
	assert_string_equal(l.entries[0].target, "b's");
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);

	/* The checks. */
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 0, "" }, NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 201, "" }, NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(request_who(f, &A, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 10, "zz" }, NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(request_who(f, NULL, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 10, "" }, NULL, NULL), PROTO_E_INVALID);
}

/* Past ST_AUDIT_MAX, each new entry drops the oldest, in its txn. */
static void
test_bounded(void **state)
{
	struct fix *f = *state;
	struct st_audit_entry e;
	struct st_audit_page l;
	struct store_txn t;
	uint32_t i;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = 0; i < ST_AUDIT_MAX + 5; i++) {
		memset(&e, 0, sizeof(e));
		e.who_kind = ST_WHO_KEY;
		strlcpy(e.action, "export", sizeof(e.action));
		snprintf(e.target, sizeof(e.target), "%u", i);
		fake_now++;
		assert_int_equal(store_audit_add(&t, ST_ORG_DEFAULT, &e), 0);
	}
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(total(f, &A), ST_AUDIT_MAX);
	assert_int_equal(db_entries(f, "audit"), ST_AUDIT_MAX);
	assert_int_equal(db_entries(f, "audit_org"), ST_AUDIT_MAX);
	/* The newest kept; the oldest kept is the sixth. */
	audit_list(f, &A, 1, "", &l);
	assert_string_equal(l.entries[0].target, "10004");
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_audit_page(&t, ST_ORG_DEFAULT, 1,
	    "000000000000000000000000000000000000000000000000", &l), 0);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_AUDIT_LIST, &l);
	store_abort(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_action, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_no_entry, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_user_actions, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_user_set, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_pages_and_orgs, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
