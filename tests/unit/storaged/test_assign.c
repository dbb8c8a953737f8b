/*
 * Who answers a conversation (issue 22), through the dispatcher as a
 * worker asks, who asks with it: a dashboard session taking over becomes
 * the assignee unless one is set, and handing back keeps it; a key's
 * take-over assigns no one; a session's messages and typing carry its
 * account's name (not the one sent) and its user id, a key's the name it
 * sent; ST_CONV_ASSIGN to an enabled member of the conversation's
 * organisation only, audited; ST_CONV_QUERY's assignee filter. Older
 * records read as unassigned, without author: test_widgetstore.c.
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
#include "keymsg.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "usermsg.h"
#include "test_fixture.h"
#include "test_who.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-assign-XXXXXX", 0);
}

/* A dashboard session of user in org, as an agent. */
static struct st_who
session_of(const char *org, const char *user)
{
	struct st_who w = who_of(ST_WHO_SESSION, "0123456789abcdef", org,
	    ST_ROLE_AGENT);

	strlcpy(w.user, user, sizeof(w.user));
	return w;
}

/* The install's key, in org. */
static struct st_who
key_of(const char *org)
{
	return who_of(ST_WHO_KEY, "install", org, ST_ROLE_OWNER);
}

/*
 * req as who; the error code, the reply decoded into rep (when 0 and
 * rep not NULL), the name its first event carries into evname (when not
 * NULL: "" when it made none).
 */
static int
ask_ev(struct fix *f, const struct st_who *who, uint16_t type,
    const void *req, void *rep, char evname[4 * ST_AGENT_NAME_MAX + 1])
{
	struct st_event ev;
	struct dreply r;
	struct pdec d;
	int err;

	err = who_run(f, who, type, req, rep, &r);
	if (evname != NULL) {
		evname[0] = '\0';
		if (err == 0 && r.nevs > 0) {
			pdec_init(&d, r.evs[0].enc.buf, r.evs[0].enc.len);
			assert_int_equal(pdec_event(&d, &ev), 0);
			strlcpy(evname, ev.kind == ST_EV_MESSAGE ? ev.msg.name :
			    ev.name, 4 * ST_AGENT_NAME_MAX + 1);
			st_event_free(&ev);
		}
	}
	dreply_free(&r);
	return err;
}

static void
org_new(struct fix *f, const char *name, char id[ST_ORG_ID_MAX + 1])
{
	struct st_org in, out;

	memset(&in, 0, sizeof(in));
	in.name = strdup(name);
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &in, &out), 0);
	strlcpy(id, out.id, ST_ORG_ID_MAX + 1);
	st_org_free(&in);
	st_org_free(&out);
}

/* ST_HANDOFF_SET as who: changed; the conversation after into c. */
static int
handoff(struct fix *f, const struct st_who *who, const char *conv,
    uint8_t state, struct st_conv *c, char evname[4 * ST_AGENT_NAME_MAX + 1])
{
	struct st_handoff_set_req q = { conv, state, "Typed", 0 };
	struct st_handoff_set_rep rep;

	assert_int_equal(ask_ev(f, who, PROTO_ST_HANDOFF_SET, &q, &rep,
	    evname), 0);
	*c = rep.conv;
	return rep.changed;
}

/* ST_CONV_ASSIGN as who: the error code; changed, c when 0. */
static int
assign(struct fix *f, const struct st_who *who, const char *conv,
    const char *user, int *changed, struct st_conv *c)
{
	struct st_conv_assign_req q = { conv, user };
	struct st_handoff_set_rep rep;
	int err;

	if ((err = ask_ev(f, who, PROTO_ST_CONV_ASSIGN, &q, &rep,
	    NULL)) == 0) {
		*changed = rep.changed;
		*c = rep.conv;
	}
	return err;
}

static void
test_take_over(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], b[ST_USER_ID_MAX + 1];
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1];
	char ev[4 * ST_AGENT_NAME_MAX + 1];
	struct st_who sa, sb, key = key_of("default");
	struct st_conv c;

	who_user_new(f, "default", "ana@example.com", "Ana", a);
	who_user_new(f, "default", "bo@example.com", "Bo", b);
	sa = session_of("default", a);
	sb = session_of("default", b);
	fix_conv_new(f, "s1", c1);
	fix_conv_new(f, "s2", c2);

	/* A takes over: A's, and the visitor is told A's account name. */
	assert_int_equal(handoff(f, &sa, c1, ST_HANDOFF_HUMAN, &c, ev), 1);
	assert_string_equal(c.assignee, a);
	assert_string_equal(c.assignee_name, "Ana");
	assert_string_equal(ev, "Ana");
	st_conv_free(&c);
	/* Handing back keeps it (a support tool's follow-up is still A's). */
	assert_int_equal(handoff(f, &sa, c1, ST_HANDOFF_AI, &c, NULL), 1);
	assert_int_equal(c.handoff, ST_HANDOFF_AI);
	assert_string_equal(c.assignee, a);
	st_conv_free(&c);
	/* B taking over A's conversation joins, and it stays A's. */
	assert_int_equal(handoff(f, &sb, c1, ST_HANDOFF_HUMAN, &c, ev), 1);
	assert_string_equal(c.assignee, a);
	assert_string_equal(ev, "Bo");
	st_conv_free(&c);

	/* A key has no person: nobody's, and the name it sent. */
	assert_int_equal(handoff(f, &key, c2, ST_HANDOFF_HUMAN, &c, ev), 1);
	assert_string_equal(c.assignee, "");
	assert_string_equal(ev, "Typed");
	st_conv_free(&c);
	/* A session taking over one in state human already takes it. */
	assert_int_equal(handoff(f, &sb, c2, ST_HANDOFF_HUMAN, &c, NULL), 1);
	assert_string_equal(c.assignee, b);
	assert_string_equal(c.assignee_name, "Bo");
	st_conv_free(&c);
	/* And again: nothing changes. */
	assert_int_equal(handoff(f, &sb, c2, ST_HANDOFF_HUMAN, &c, NULL), 0);
	st_conv_free(&c);
}

static void
test_author(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], c1[ST_ID_HEX + 1];
	char ev[4 * ST_AGENT_NAME_MAX + 1];
	struct st_who sa, key = key_of("default");
	struct st_msg_conv mc;
	struct st_conv_msgs cm;

	who_user_new(f, "default", "ana@example.com", "Ana", a);
	sa = session_of("default", a);
	fix_conv_new(f, "s1", c1);

	assert_int_equal(ask_ev(f, &sa, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = c1, .content = "Hello",
	    .name = "Typed" }, &mc, ev), 0);
	assert_string_equal(mc.msg.author, a);
	assert_string_equal(mc.msg.name, "Ana");
	assert_string_equal(ev, "Ana");
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
	assert_int_equal(ask_ev(f, &key, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = c1, .content = "Hi",
	    .name = "Bot" }, &mc, ev), 0);
	assert_string_equal(mc.msg.author, "");
	assert_string_equal(mc.msg.name, "Bot");
	assert_string_equal(ev, "Bot");
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);

	/* Stored so: the thread reads both back. */
	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ c1, 10 }, &cm), 0);
	assert_int_equal(cm.n, 2);
	assert_string_equal(cm.msgs[0].author, a);
	assert_string_equal(cm.msgs[0].name, "Ana");
	assert_string_equal(cm.msgs[1].author, "");
	assert_string_equal(cm.msgs[1].name, "Bot");
	st_rep_free(PROTO_ST_CONV_GET, &cm);

	/* Typing: the account's name too. */
	assert_int_equal(ask_ev(f, &sa, PROTO_ST_TYPING,
	    &(struct st_typing_req){ c1, 1, "Typed" }, NULL, ev), 0);
	assert_string_equal(ev, "Ana");
}

/* The newest audit entry of org's log: its action into action. */
static void
audit_newest(struct fix *f, const char *org, char *action, size_t sz)
{
	struct st_who key = key_of(org);
	struct st_audit_page pg;

	assert_int_equal(request_who(f, &key, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 1, "" }, &pg, NULL), 0);
	assert_int_equal(pg.n, 1);
	strlcpy(action, pg.entries[0].action, sz);
	st_rep_free(PROTO_ST_AUDIT_LIST, &pg);
}

static void
test_assign(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], b[ST_USER_ID_MAX + 1];
	char x[ST_USER_ID_MAX + 1], org[ST_ORG_ID_MAX + 1];
	char c1[ST_ID_HEX + 1], action[ST_AUDIT_ACTION_MAX + 1];
	struct st_who sa, key = key_of("default");
	struct st_user_update_rep up;
	struct st_conv c;
	int changed;

	who_user_new(f, "default", "ana@example.com", "Ana", a);
	who_user_new(f, "default", "bo@example.com", "Bo", b);
	org_new(f, "Other", org);
	who_user_new(f, org, "xi@example.com", "Xi", x);
	sa = session_of("default", a);
	fix_conv_new(f, "s1", c1);

	assert_int_equal(assign(f, &sa, c1, b, &changed, &c), 0);
	assert_int_equal(changed, 1);
	assert_string_equal(c.assignee, b);
	assert_string_equal(c.assignee_name, "Bo");
	assert_int_equal(c.handoff, ST_HANDOFF_AI);
	st_conv_free(&c);
	audit_newest(f, "default", action, sizeof(action));
	assert_string_equal(action, "conversation.assign");
	assert_int_equal(assign(f, &key, c1, b, &changed, &c), 0);
	assert_int_equal(changed, 0);
	st_conv_free(&c);

	/* Another organisation's user, an unknown one: not found. */
	assert_int_equal(assign(f, &sa, c1, x, &changed, &c),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(assign(f, &sa, c1,
	    "usr_00000000000000000000000000000000", &changed, &c),
	    PROTO_E_NOT_FOUND);
	/* A disabled member neither. */
	assert_int_equal(request_who(f, &key, PROTO_ST_USER_UPDATE,
	    &(struct st_user_update_req){ a, ST_UF_DISABLED, 0, 1 }, &up,
	    NULL), 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_int_equal(assign(f, &key, c1, a, &changed, &c),
	    PROTO_E_NOT_FOUND);
	/* Still B's; then nobody's. */
	assert_int_equal(assign(f, &key, c1, "", &changed, &c), 0);
	assert_int_equal(changed, 1);
	assert_string_equal(c.assignee, "");
	assert_string_equal(c.assignee_name, "");
	st_conv_free(&c);
	/* Another organisation's conversation is not found to its key. */
	key = key_of(org);
	assert_int_equal(assign(f, &key, c1, x, &changed, &c),
	    PROTO_E_NOT_FOUND);
}

/* The ids of an assignee query's page, in order, joined by spaces. */
static int
query(struct fix *f, uint8_t assigned, const char *assignee, char *ids,
    size_t sz)
{
	struct st_who key = key_of("default");
	struct st_conv_page pg;
	uint32_t i;
	int err;

	ids[0] = '\0';
	if ((err = request_who(f, &key, PROTO_ST_CONV_QUERY,
	    &(struct st_conv_query_req){ 200, "", "", "", assigned,
	    assignee, 0, 0, ST_ORDER_ACTIVITY }, &pg, NULL)) != 0)
		return err;
	for (i = 0; i < pg.n; i++) {
		if (i > 0)
			strlcat(ids, " ", sz);
		strlcat(ids, pg.convs[i].id, sz);
	}
	/* total counts them all, as with a search. */
	assert_int_equal(pg.total, 3);
	st_rep_free(PROTO_ST_CONV_QUERY, &pg);
	return 0;
}

static void
test_filter(void **state)
{
	struct fix *f = *state;
	char a[ST_USER_ID_MAX + 1], b[ST_USER_ID_MAX + 1];
	char c1[ST_ID_HEX + 1], c2[ST_ID_HEX + 1], c3[ST_ID_HEX + 1];
	char ids[3 * (ST_ID_HEX + 1)];
	struct st_who key = key_of("default");
	struct st_conv c;
	int changed;

	who_user_new(f, "default", "ana@example.com", "Ana", a);
	who_user_new(f, "default", "bo@example.com", "Bo", b);
	fix_conv_new(f, "s1", c1);
	fix_conv_new(f, "s2", c2);
	fix_conv_new(f, "s3", c3);
	assert_int_equal(assign(f, &key, c1, a, &changed, &c), 0);
	st_conv_free(&c);
	assert_int_equal(assign(f, &key, c3, b, &changed, &c), 0);
	st_conv_free(&c);

	assert_int_equal(query(f, ST_ASSIGNED_TO, a, ids, sizeof(ids)), 0);
	assert_string_equal(ids, c1);
	assert_int_equal(query(f, ST_ASSIGNED_TO, b, ids, sizeof(ids)), 0);
	assert_string_equal(ids, c3);
	assert_int_equal(query(f, ST_ASSIGNED_NONE, "", ids, sizeof(ids)),
	    0);
	assert_string_equal(ids, c2);
	/* Every one without the filter (in the same ms: any order). */
	assert_int_equal(query(f, ST_ASSIGNED_ANY, "", ids, sizeof(ids)), 0);
	assert_int_equal(strlen(ids), 3 * ST_ID_HEX + 2);
	assert_non_null(strstr(ids, c1));
	assert_non_null(strstr(ids, c2));
	assert_non_null(strstr(ids, c3));

	/* A user id with TO only, and a mode the table knows. */
	assert_int_equal(query(f, ST_ASSIGNED_TO, "", ids, sizeof(ids)),
	    PROTO_E_INVALID);
	assert_int_equal(query(f, ST_ASSIGNED_NONE, a, ids, sizeof(ids)),
	    PROTO_E_INVALID);
	assert_int_equal(query(f, ST_ASSIGNED_MAX + 1, "", ids, sizeof(ids)),
	    PROTO_E_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_take_over, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_author, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_assign, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
