/*
 * storaged's table of the message types it receives (optab.h): one row a
 * type, in the message table's order (proto/msgtab.c), saying who serves
 * it, the store operation that runs it (and its entity, for op_entity),
 * and the audit entry it leaves: an action and where its target is, or
 * a pick that says the action from the request and the reply. A type
 * added to storaged is served, run and audited by adding its row here
 * (tests/unit/storaged/test_optab.c checks it against msgtab.c).
 */
#include <stddef.h>

#include "optab.h"
#include "proto.h"

/* Indexed by type: optab() is a lookup, 2 to 4 times a request. */
#define ROW(t, ...)	[t] = { t, __VA_ARGS__ }

static const struct optab rows[PROTO_TYPE_MAX] = {
	ROW(PROTO_HELLO, OPT_CHANNEL, .run = NULL),
	ROW(PROTO_ST_PING, OPT_STORE, .run = op_ping),
	ROW(PROTO_ST_CONV_OPEN, OPT_STORE, .run = op_conv_open),
	ROW(PROTO_ST_MSG_APPEND, OPT_STORE, .run = op_msg_append),
	ROW(PROTO_ST_CONV_LIST, OPT_STORE, .run = op_conv_page),
	ROW(PROTO_ST_CONV_GET, OPT_STORE, .run = op_conv_get),
	ROW(PROTO_ST_CHAT_BEGIN, OPT_STORE, .run = op_chat_begin),
	ROW(PROTO_ST_RATE_HIT, OPT_STORE, .run = op_rate_hit),
	ROW(PROTO_ST_SESSION_HISTORY, OPT_STORE, .run = op_session_history),
	ROW(PROTO_ST_WIDGET_CREATE, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.create", .target = AUD_REP2),
	ROW(PROTO_ST_WIDGET_UPDATE, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.update", .target = AUD_REQ),
	ROW(PROTO_ST_WIDGET_GET, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity),
	ROW(PROTO_ST_WIDGET_LIST, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity),
	ROW(PROTO_ST_WIDGET_DELETE, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.delete", .target = AUD_REQ),
	ROW(PROTO_ST_WIDGET_RESET_ID, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.reset_id",
	    .target = AUD_REQ),
	ROW(PROTO_ST_WIDGET_SECRET_SET, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.identity_secret.set",
	    .target = AUD_REQ),
	ROW(PROTO_ST_WIDGET_SECRET_DEL, OPT_STORE, .run = op_entity,
	    .ent = &store_widget_entity, .action = "widget.identity_secret.delete",
	    .target = AUD_REQ),
	ROW(PROTO_ST_WS_IDENTIFY, OPT_STORE, .run = op_ws_identify),
	ROW(PROTO_ST_WS_OPEN, OPT_STORE, .run = op_ws_open),
	ROW(PROTO_ST_WS_BEGIN, OPT_STORE, .run = op_ws_begin),
	ROW(PROTO_ST_CONTACT_SUBMIT, OPT_STORE, .run = op_contact_submit),
	ROW(PROTO_ST_CONTACT_LIST, OPT_STORE, .run = op_contact_list),
	ROW(PROTO_ST_CONTACT_GET, OPT_STORE, .run = op_contact_get),
	ROW(PROTO_ST_CONTACT_ERASE, OPT_STORE, .run = op_contact_erase,
	    .target = AUD_REQ, .pick = audit_pick_contact_erase),
	ROW(PROTO_ST_CONTACT_SESSIONS, OPT_STORE, .run = op_contact_sessions),
	ROW(PROTO_ST_CONTACT_CONVS, OPT_STORE, .run = op_contact_convs),
	ROW(PROTO_ST_PRESENCE_SEEN, OPT_STORE, .run = op_presence_seen),
	ROW(PROTO_ST_WIDGET_AVAIL, OPT_STORE, .run = op_widget_avail),
	ROW(PROTO_ST_SETUP_NOTE, OPT_STORE, .run = op_setup_note),
	ROW(PROTO_ST_SETUP_GET, OPT_STORE, .run = op_setup_get),
	ROW(PROTO_ST_DASH_LOGIN, OPT_STORE, .run = op_dash_login),
	ROW(PROTO_ST_DASH_CHECK, OPT_STORE, .run = op_dash_check),
	ROW(PROTO_ST_DASH_LOGOUT, OPT_STORE, .run = op_dash_logout),
	ROW(PROTO_ST_DASH_SALT, OPT_STORE, .run = op_dash_salt),
	ROW(PROTO_ST_DASH_ATTEMPT, OPT_STORE, .run = op_dash_attempt),
	ROW(PROTO_ST_CONV_DELETE, OPT_STORE, .run = op_conv_delete,
	    .action = "conversation.delete", .target = AUD_REQ),
	ROW(PROTO_ST_CONV_QUERY, OPT_STORE, .run = op_conv_page),
	ROW(PROTO_ST_MSG_PAGE, OPT_STORE, .run = op_msg_page),
	ROW(PROTO_ST_METRICS_PUT, OPT_METRICS, .run = NULL),
	ROW(PROTO_ST_METRICS_GET, OPT_METRICS, .run = NULL),
	ROW(PROTO_ST_BACKUP, OPT_BACKUP, .run = NULL),
	ROW(PROTO_ST_STATS, OPT_STORE, .run = op_stats),
	ROW(PROTO_ST_PURGE, OPT_STORE, .run = op_purge),
	ROW(PROTO_ST_AGENT_CREATE, OPT_STORE, .run = op_entity,
	    .ent = &store_agent_entity, .action = "agent.create", .target = AUD_REP),
	ROW(PROTO_ST_AGENT_UPDATE, OPT_STORE, .run = op_entity,
	    .ent = &store_agent_entity, .action = "agent.update", .target = AUD_REQ),
	ROW(PROTO_ST_AGENT_GET, OPT_STORE, .run = op_entity,
	    .ent = &store_agent_entity),
	ROW(PROTO_ST_AGENT_LIST, OPT_STORE, .run = op_entity,
	    .ent = &store_agent_entity),
	ROW(PROTO_ST_AGENT_DELETE, OPT_STORE, .run = op_entity,
	    .ent = &store_agent_entity,
	    .target = AUD_REQ, .pick = audit_pick_agent_delete),
	ROW(PROTO_ST_HANDOFF_SET, OPT_STORE, .run = op_handoff_set,
	    .target = AUD_REQ, .pick = audit_pick_handoff),
	ROW(PROTO_ST_AGENT_MSG, OPT_STORE, .run = op_agent_msg,
	    .action = "message.agent", .target = AUD_REQ),
	ROW(PROTO_ST_TYPING, OPT_STORE, .run = op_typing),
	ROW(PROTO_ST_WS_FEEDBACK, OPT_STORE, .run = op_feedback),
	ROW(PROTO_ST_WS_RATING, OPT_STORE, .run = op_feedback),
	ROW(PROTO_ST_FEEDBACK_SUMMARY, OPT_STORE, .run = op_feedback),
	ROW(PROTO_ST_WS_REQUEST_HUMAN, OPT_STORE, .run = op_ws_request_human),
	ROW(PROTO_ST_WS_CONV_NEW, OPT_STORE, .run = op_ws_conv_new),
	ROW(PROTO_ST_WS_CONV_LIST, OPT_STORE, .run = op_ws_conv_list),
	ROW(PROTO_ST_WS_CONV_READ, OPT_STORE, .run = op_ws_conv_read),
	ROW(PROTO_ST_EV_SUBSCRIBE, OPT_EVENTS, .run = NULL),
	ROW(PROTO_ST_EV_SINCE, OPT_EVENTS, .run = NULL),
	ROW(PROTO_ST_HANDOFF_LIST, OPT_STORE, .run = op_handoff_list),
	ROW(PROTO_ST_CONV_ASSIGN, OPT_STORE, .run = op_conv_assign,
	    .target = AUD_REQ, .pick = audit_pick_assign),
	ROW(PROTO_ST_ORG_CREATE, OPT_STORE, .run = op_entity,
	    .ent = &store_org_entity),
	ROW(PROTO_ST_ORG_UPDATE, OPT_STORE, .run = op_entity,
	    .ent = &store_org_entity),
	ROW(PROTO_ST_ORG_GET, OPT_STORE, .run = op_entity,
	    .ent = &store_org_entity),
	ROW(PROTO_ST_ORG_LIST, OPT_STORE, .run = op_entity,
	    .ent = &store_org_entity),
	ROW(PROTO_ST_ORG_DELETE, OPT_STORE, .run = op_entity,
	    .ent = &store_org_entity),
	ROW(PROTO_ST_KEY_CREATE, OPT_STORE, .run = op_key_create,
	    .action = "apikey.create", .target = AUD_REP),
	ROW(PROTO_ST_KEY_LIST, OPT_STORE, .run = op_key_list),
	ROW(PROTO_ST_KEY_DELETE, OPT_STORE, .run = op_key_delete,
	    .action = "apikey.delete", .target = AUD_REQ),
	ROW(PROTO_ST_KEY_AUTH, OPT_STORE, .run = op_key_auth),
	ROW(PROTO_ST_AUDIT_LIST, OPT_STORE, .run = op_audit_list),
	ROW(PROTO_ST_AUDIT_NOTE, OPT_STORE, .run = op_audit_note,
	    .target = AUD_NOTE, .pick = audit_pick_note),
	ROW(PROTO_ST_USER_AUTH, OPT_STORE, .run = op_user),
	ROW(PROTO_ST_USER_BOOT, OPT_STORE, .run = op_user),
	ROW(PROTO_ST_USER_LIST, OPT_STORE, .run = op_user),
	ROW(PROTO_ST_USER_INVITE, OPT_STORE, .run = op_user,
	    .target = AUD_NONE, .pick = audit_pick_invite),
	ROW(PROTO_ST_USER_UPDATE, OPT_STORE, .run = op_user,
	    .target = AUD_REQ, .pick = audit_pick_update),
	ROW(PROTO_ST_USER_DELETE, OPT_STORE, .run = op_user,
	    .target = AUD_REQ, .pick = audit_pick_delete),
	ROW(PROTO_ST_INVITE_ACCEPT, OPT_STORE, .run = op_user,
	    .target = AUD_JOIN, .pick = audit_pick_join),
	ROW(PROTO_ST_USER_SET, OPT_STORE, .run = op_user,
	    .target = AUD_REP_U8, .pick = audit_pick_user_set),
	ROW(PROTO_ST_INVITE_LIST, OPT_STORE, .run = op_user),
	ROW(PROTO_ST_INVITE_REVOKE, OPT_STORE, .run = op_user),
	ROW(PROTO_ST_HOOK_CREATE, OPT_STORE, .run = op_entity,
	    .ent = &store_hook_entity, .action = "webhook.create", .target = AUD_REP),
	ROW(PROTO_ST_HOOK_UPDATE, OPT_STORE, .run = op_entity,
	    .ent = &store_hook_entity, .action = "webhook.update", .target = AUD_REQ),
	ROW(PROTO_ST_HOOK_GET, OPT_STORE, .run = op_entity,
	    .ent = &store_hook_entity),
	ROW(PROTO_ST_HOOK_LIST, OPT_STORE, .run = op_entity,
	    .ent = &store_hook_entity),
	ROW(PROTO_ST_HOOK_DELETE, OPT_STORE, .run = op_entity,
	    .ent = &store_hook_entity, .action = "webhook.delete", .target = AUD_REQ),
	ROW(PROTO_ST_HOOK_DUE, OPT_STORE, .run = op_hook_due),
	ROW(PROTO_ST_HOOK_RESULT, OPT_STORE, .run = op_hook_result),
	ROW(PROTO_ST_HOOK_DELIVERIES, OPT_STORE, .run = op_hook_deliveries),
	ROW(PROTO_ST_HOOK_RETRY, OPT_STORE, .run = op_hook_dlv),
	ROW(PROTO_ST_HOOK_TEST, OPT_STORE, .run = op_hook_dlv),
	ROW(PROTO_ST_NOTIFY_GET, OPT_STORE, .run = op_notify),
	ROW(PROTO_ST_NOTIFY_SET, OPT_STORE, .run = op_notify),
	ROW(PROTO_ST_MAIL_DUE, OPT_STORE, .run = op_mail_due),
	ROW(PROTO_ST_MAIL_RESULT, OPT_STORE, .run = op_mail_result),
	ROW(PROTO_ST_CONV_READ, OPT_STORE, .run = op_conv_read),
	ROW(PROTO_ST_CANNED_LIST, OPT_STORE, .run = op_canned),
	ROW(PROTO_ST_CANNED_PUT, OPT_STORE, .run = op_canned),
	ROW(PROTO_ST_CANNED_DELETE, OPT_STORE, .run = op_canned),
	ROW(PROTO_ST_KB_SOURCE_CREATE, OPT_STORE, .run = op_entity,
	    .ent = &store_kbsource_entity, .action = "knowledge_source.create",
	    .target = AUD_REP),
	ROW(PROTO_ST_KB_SOURCE_UPDATE, OPT_STORE, .run = op_entity,
	    .ent = &store_kbsource_entity, .action = "knowledge_source.update",
	    .target = AUD_REQ),
	ROW(PROTO_ST_KB_SOURCE_GET, OPT_STORE, .run = op_entity,
	    .ent = &store_kbsource_entity),
	ROW(PROTO_ST_KB_SOURCE_LIST, OPT_STORE, .run = op_entity,
	    .ent = &store_kbsource_entity),
	ROW(PROTO_ST_KB_SOURCE_DELETE, OPT_STORE, .run = op_entity,
	    .ent = &store_kbsource_entity, .action = "knowledge_source.delete",
	    .target = AUD_REQ),
	ROW(PROTO_ST_KB_SEARCH, OPT_STORE, .run = op_kb_search),
	ROW(PROTO_ST_AGENT_EMBED, OPT_STORE, .run = op_kb_search),
	ROW(PROTO_ST_KB_SYNC, OPT_STORE, .run = op_kb_sync,
	    .action = "knowledge_source.sync", .target = AUD_REQ),
	ROW(PROTO_ST_KB_PAGES, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_KB_FILE_PUT, OPT_STORE, .run = op_kb_sync,
	    .target = AUD_REQ, .pick = audit_pick_kb_file),
	ROW(PROTO_ST_KB_FILE_GET, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_KB_RETRIEVE, OPT_STORE, .run = op_kb_search),
	ROW(PROTO_ST_KB_DUE, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_KB_PAGE_GET, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_KB_PAGE_PUT, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_KB_SYNC_DONE, OPT_STORE, .run = op_kb_sync),
	ROW(PROTO_ST_REPL_START, OPT_REPL, .run = NULL),
	ROW(PROTO_ST_REPL_REC, OPT_UPLINK, .run = NULL),
	ROW(PROTO_ST_REPL_SNAP, OPT_UPLINK, .run = NULL),
	ROW(PROTO_ST_REPL_ACK, OPT_REPL, .run = NULL),
	ROW(PROTO_ST_REPL_PROMOTE, OPT_REPL, .run = NULL),
	ROW(PROTO_ST_REPL_STATUS, OPT_REPL, .run = NULL),
};

#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/*
 * An empty slot's type is 0, and no row is type 0 (PROTO_HELLO is not):
 * a type written twice is an error of the compiler's (-Woverride-init).
 */
const struct optab *
optab(uint16_t type)
{
	if (type == 0 || type >= NROWS || rows[type].type != type)
		return NULL;
	return &rows[type];
}

const struct optab *
optab_at(size_t i)
{
	size_t t;

	for (t = 1; t < NROWS; t++)
		if (rows[t].type == t && i-- == 0)
			return &rows[t];
	return NULL;
}
