/*
 * storaged's table of the types it receives (storaged/optab.c): one row
 * for each type the message table (proto/msgtab.c) sends to storaged,
 * none for any other; each row the store serves has its operation (and
 * op_entity its entity); the types the server, replication or the channel
 * serve are the ones they served before the table; and the audited
 * requests are the ones there were, with the same actions and targets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentmsg.h"
#include "msgtab.h"
#include "optab.h"
#include "stmsgs.h"
#include "usermsg.h"

/* Each type msgtab sends to storaged has one row; no other type has any. */
static void
test_rows_msgtab(void **state)
{
	const struct proto_msg *m;
	const struct optab *o;
	int rows[PROTO_TYPE_MAX] = { 0 };
	size_t i, n = 0;

	for (i = 0; (o = optab_at(i)) != NULL; i++) {
		assert_true(o->type < PROTO_TYPE_MAX);
		rows[o->type]++;
		assert_ptr_equal(optab(o->type), o);
		if ((m = proto_msg(o->type)) == NULL ||
		    !(m->to & PROTO_PEER_STORAGED))
			fail_msg("type 0x%x: a row, but storaged receives it "
			    "not", o->type);
	}
	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		if (!(m->to & PROTO_PEER_STORAGED)) {
			assert_null(optab(m->type));
			continue;
		}
		if (rows[m->type] != 1)
			fail_msg("%s: %d rows", m->name, rows[m->type]);
		n++;
	}
	assert_true(n > 100);
	assert_null(optab(0));
	assert_null(optab(PROTO_TYPE_MAX));
}

/*
 * The store's rows have their operation, op_entity's their entity and
 * op_call's their store call; the others none of them.
 */
static void
test_rows_store(void **state)
{
	const struct optab *o;
	size_t i;

	for (i = 0; (o = optab_at(i)) != NULL; i++) {
		if (o->by != OPT_STORE) {
			assert_null(o->run);
			assert_null(o->ent);
			assert_null(o->call);
			continue;
		}
		if (o->run == NULL)
			fail_msg("%s: served by the store, with no operation",
			    proto_msg_name(o->type));
		assert_int_equal(o->run == op_entity, o->ent != NULL);
		if ((o->run == op_call) != (o->call != NULL))
			fail_msg("%s: a store call without op_call, or op_call "
			    "without one", proto_msg_name(o->type));
		if (o->in_org && o->run != op_call)
			fail_msg("%s: in_org, which only op_call reads",
			    proto_msg_name(o->type));
	}
}

/* Who serves what is not the store's, as server.c's table said. */
static const struct {
	uint16_t type;
	enum optab_by by;
} not_store[] = {
	{ PROTO_HELLO, OPT_CHANNEL },
	{ PROTO_ST_METRICS_PUT, OPT_METRICS },
	{ PROTO_ST_METRICS_GET, OPT_METRICS },
	{ PROTO_ST_EV_SUBSCRIBE, OPT_EVENTS },
	{ PROTO_ST_EV_SINCE, OPT_EVENTS },
	{ PROTO_ST_TURNS_HELD, OPT_TURNS },
	{ PROTO_ST_BACKUP, OPT_BACKUP },
	{ PROTO_ST_REPL_START, OPT_REPL },
	{ PROTO_ST_REPL_ACK, OPT_REPL },
	{ PROTO_ST_REPL_PROMOTE, OPT_REPL },
	{ PROTO_ST_REPL_NEWER, OPT_REPL },
	{ PROTO_ST_REPL_STATUS, OPT_REPL },
	{ PROTO_ST_REPL_REC, OPT_UPLINK },
	{ PROTO_ST_REPL_SNAP, OPT_UPLINK },
};

static void
test_served(void **state)
{
	const struct optab *o;
	size_t i, j, others = 0;

	for (i = 0; (o = optab_at(i)) != NULL; i++) {
		for (j = 0; j < sizeof(not_store) / sizeof(not_store[0]); j++)
			if (not_store[j].type == o->type)
				break;
		if (j == sizeof(not_store) / sizeof(not_store[0])) {
			if (o->by != OPT_STORE)
				fail_msg("%s: not the store's",
				    proto_msg_name(o->type));
			continue;
		}
		assert_int_equal(o->by, not_store[j].by);
		others++;
	}
	assert_int_equal(others, sizeof(not_store) / sizeof(not_store[0]));
}

/* The audited requests: an action, or NULL where a pick says it. */
static const struct {
	uint16_t type;
	const char *action;
	enum audit_target target;
} audited[] = {
	{ PROTO_ST_WIDGET_CREATE, "widget.create", AUD_REP2 },
	{ PROTO_ST_WIDGET_UPDATE, "widget.update", AUD_REQ },
	{ PROTO_ST_WIDGET_DELETE, "widget.delete", AUD_REQ },
	{ PROTO_ST_WIDGET_RESET_ID, "widget.reset_id", AUD_REQ },
	{ PROTO_ST_WIDGET_SECRET_SET, "widget.identity_secret.set", AUD_REQ },
	{ PROTO_ST_WIDGET_SECRET_DEL, "widget.identity_secret.delete",
	    AUD_REQ },
	{ PROTO_ST_AGENT_CREATE, "agent.create", AUD_REP },
	{ PROTO_ST_AGENT_UPDATE, "agent.update", AUD_REQ },
	{ PROTO_ST_AGENT_DELETE, NULL, AUD_REQ },
	{ PROTO_ST_CONV_DELETE, "conversation.delete", AUD_REQ },
	{ PROTO_ST_HANDOFF_SET, NULL, AUD_REQ },
	{ PROTO_ST_AGENT_MSG, "message.agent", AUD_REQ },
	{ PROTO_ST_CONV_ASSIGN, NULL, AUD_REQ },
	{ PROTO_ST_CONV_STATE, NULL, AUD_REQ },
	{ PROTO_ST_KEY_CREATE, "apikey.create", AUD_REP },
	{ PROTO_ST_KEY_DELETE, "apikey.delete", AUD_REQ },
	{ PROTO_ST_HOOK_CREATE, "webhook.create", AUD_REP },
	{ PROTO_ST_HOOK_UPDATE, "webhook.update", AUD_REQ },
	{ PROTO_ST_HOOK_DELETE, "webhook.delete", AUD_REQ },
	{ PROTO_ST_HOOK_SECRET, "webhook.secret_rotate", AUD_REQ },
	{ PROTO_ST_KB_SOURCE_CREATE, "knowledge_source.create", AUD_REP },
	{ PROTO_ST_KB_SOURCE_UPDATE, "knowledge_source.update", AUD_REQ },
	{ PROTO_ST_KB_SOURCE_DELETE, "knowledge_source.delete", AUD_REQ },
	{ PROTO_ST_ACTION_CREATE, "action.create", AUD_REP },
	{ PROTO_ST_ACTION_UPDATE, "action.update", AUD_REQ },
	{ PROTO_ST_ACTION_DELETE, "action.delete", AUD_REQ },
	{ PROTO_ST_KB_SYNC, "knowledge_source.sync", AUD_REQ },
	{ PROTO_ST_KB_FILE_PUT, NULL, AUD_REQ },
	{ PROTO_ST_CONTACT_ERASE, NULL, AUD_REQ },
	{ PROTO_ST_AUDIT_NOTE, NULL, AUD_NOTE },
	{ PROTO_ST_USER_INVITE, NULL, AUD_NONE },
	{ PROTO_ST_USER_UPDATE, NULL, AUD_REQ },
	{ PROTO_ST_USER_DELETE, NULL, AUD_REQ },
	{ PROTO_ST_INVITE_ACCEPT, NULL, AUD_JOIN },
	{ PROTO_ST_USER_SET, NULL, AUD_REP_U8 },
	{ PROTO_ST_USER_SELF, NULL, AUD_REP_U8 },
	{ PROTO_ST_GAP_DELETE, NULL, AUD_NONE },
	{ PROTO_ST_INVITE_REVOKE, "user.invite_revoke", AUD_REQ },
	{ PROTO_ST_CANNED_PUT, NULL, AUD_REP },
	{ PROTO_ST_CANNED_DELETE, "canned_reply.delete", AUD_REQ },
	{ PROTO_ST_ORG_CREATE, "organization.create", AUD_REP },
	{ PROTO_ST_ORG_UPDATE, "organization.update", AUD_REQ },
	{ PROTO_ST_ORG_DELETE, "organization.delete", AUD_REQ },
};

#define NAUDITED	(sizeof(audited) / sizeof(audited[0]))

static void
test_audit_rows(void **state)
{
	const struct optab *o;
	size_t i, j, n = 0;

	for (i = 0; (o = optab_at(i)) != NULL; i++) {
		if (o->action == NULL && o->pick == NULL)
			continue;
		for (j = 0; j < NAUDITED && audited[j].type != o->type; j++)
			;
		if (j == NAUDITED)
			fail_msg("%s: audited, as it was not",
			    proto_msg_name(o->type));
		/* An action or a pick, never both. */
		assert_int_equal(o->action == NULL, o->pick != NULL);
		if (audited[j].action != NULL)
			assert_string_equal(o->action, audited[j].action);
		else
			assert_non_null(o->pick);
		assert_int_equal(o->target, audited[j].target);
		n++;
	}
	assert_int_equal(n, NAUDITED);
}

/* The action type's pick says of req and a reply of one byte, b. */
static const char *
pick(uint16_t type, const void *req, uint8_t b)
{
	const struct optab *o = optab(type);

	assert_non_null(o);
	assert_non_null(o->pick);
	return o->pick(req, &b, 1);
}

static void
assert_action(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

/* The picks say the actions they said: by request, reply and no reply. */
static void
test_audit_picks(void **state)
{
	struct st_handoff_set_req h = { .state = ST_HANDOFF_HUMAN };
	struct st_contact_erase_req ce = { .erase = 1 };
	struct st_user_set_req us = { .mode = ST_USER_SET_ADD };
	struct st_user_self_req uself = { .mode = ST_SELF_READ };
	struct st_audit_note_req an = { "widget.embed", "w" };
	struct st_kb_file_put_req fp = { .data = { NULL, ST_KB_PIECE_MIN } };
	const struct optab *o;

	assert_action(pick(PROTO_ST_HANDOFF_SET, &h, 1), "handoff.take");
	assert_action(pick(PROTO_ST_HANDOFF_SET, &h, 0), NULL);
	h.state = ST_HANDOFF_AI;
	assert_action(pick(PROTO_ST_HANDOFF_SET, &h, 1), "handoff.return");
	h.state = ST_HANDOFF_WAITING;
	assert_action(pick(PROTO_ST_HANDOFF_SET, &h, 1), NULL);
	assert_action(pick(PROTO_ST_CONV_ASSIGN, NULL, 1),
	    "conversation.assign");
	assert_action(pick(PROTO_ST_CONV_ASSIGN, NULL, 0), NULL);
	assert_action(pick(PROTO_ST_CONV_STATE, NULL, 1),
	    "conversation.state");
	assert_action(pick(PROTO_ST_CONV_STATE, NULL, 0), NULL);
	assert_action(pick(PROTO_ST_AGENT_DELETE, NULL, 0), "agent.delete");
	assert_action(pick(PROTO_ST_AGENT_DELETE, NULL, 1), NULL);
	assert_action(pick(PROTO_ST_USER_INVITE, NULL, 0), "user.invite");
	assert_action(pick(PROTO_ST_USER_INVITE, NULL, 1), NULL);
	assert_action(pick(PROTO_ST_USER_UPDATE, NULL, 0), "user.update");
	assert_action(pick(PROTO_ST_USER_UPDATE, NULL, 1), NULL);
	assert_action(pick(PROTO_ST_USER_DELETE, NULL, 0), "user.delete");
	assert_action(pick(PROTO_ST_USER_DELETE, NULL, 1), NULL);
	assert_action(pick(PROTO_ST_USER_SET, &us, 0), "user.add");
	assert_action(pick(PROTO_ST_USER_SET, &us, 1), NULL);
	us.mode = ST_USER_SET_PASSWORD;
	assert_action(pick(PROTO_ST_USER_SET, &us, 0), "user.password");
	assert_action(pick(PROTO_ST_USER_SELF, &uself, 0), NULL);
	uself.mode = ST_SELF_NAME;
	assert_action(pick(PROTO_ST_USER_SELF, &uself, 0), "user.profile");
	uself.mode = ST_SELF_PASSWORD;
	assert_action(pick(PROTO_ST_USER_SELF, &uself, 0), "user.password");
	assert_action(pick(PROTO_ST_USER_SELF, &uself, 1), NULL);
	assert_action(pick(PROTO_ST_INVITE_ACCEPT, NULL, 0), "user.join");
	assert_action(pick(PROTO_ST_INVITE_ACCEPT, NULL, 2), "user.join");
	assert_action(pick(PROTO_ST_INVITE_ACCEPT, NULL, 1), NULL);
	assert_action(pick(PROTO_ST_CONTACT_ERASE, &ce, 0), "contact.erase");
	ce.erase = 0;
	assert_action(pick(PROTO_ST_CONTACT_ERASE, &ce, 0), "contact.delete");
	assert_action(pick(PROTO_ST_AUDIT_NOTE, &an, 0), "widget.embed");
	/* A file whole, or its last piece, stored: not a piece before. */
	assert_action(pick(PROTO_ST_KB_FILE_PUT, &fp, 1),
	    "knowledge_source.file");
	assert_action(pick(PROTO_ST_KB_FILE_PUT, &fp, 0), NULL);
	fp.total = 3 * ST_KB_PIECE_MIN;
	assert_action(pick(PROTO_ST_KB_FILE_PUT, &fp, 1), NULL);
	fp.offset = 2 * ST_KB_PIECE_MIN;
	assert_action(pick(PROTO_ST_KB_FILE_PUT, &fp, 1),
	    "knowledge_source.file");
	/* No reply: the picks that read one say nothing. */
	o = optab(PROTO_ST_CONV_ASSIGN);
	assert_null(o->pick(NULL, NULL, 0));
	o = optab(PROTO_ST_USER_INVITE);
	assert_null(o->pick(NULL, NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_msgtab),
		cmocka_unit_test(test_rows_store),
		cmocka_unit_test(test_served),
		cmocka_unit_test(test_audit_rows),
		cmocka_unit_test(test_audit_picks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
