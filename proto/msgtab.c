/*
 * The table of every message type (msgtab.h): its name, which processes
 * may send it and which receive it, and, for storaged's requests, whether
 * it writes and whether storaged may answer it before its commit. The
 * logs' names, storaged's dispatch (write or read batch) and its check of
 * who may ask what read it; proto/PROTOCOL.md's list is checked against
 * it (tests/unit/proto/test_msgtab.c).
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "msgtab.h"
#include "stmsgs.h"

#define W	PROTO_PEER_WORKERD
#define C	PROTO_PEER_CTL
#define M	PROTO_PEER_MASTERD
#define S	PROTO_PEER_STORAGED
#define F	PROTO_PEER_FETCHER
#define SELF	PROTO_PEER_SELF
#define ANY	(W | C | M | S | F)

/*
 * type, name, from, to, write, early, who (0 none, 1 any, 2 the install
 * key or parleyctl only: PROTO_WHO_*); its request and reply layouts
 */
static const struct proto_msg msgs[] = {
	{ PROTO_HELLO, "HELLO", ANY, ANY, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_MW_CONN, "MW_CONN", M, W, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_WM_READY, "WM_READY", W, M, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_WM_LOAD, "WM_LOAD", W, M, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_MW_QUIT, "MW_QUIT", M, W, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_MW_RESTARTS, "MW_RESTARTS", M, W, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_MW_SETTINGS, "MW_SETTINGS", M, W, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_MW_PING, "MW_PING", M, W, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_WM_PONG, "WM_PONG", W, M, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_WM_QUITTING, "WM_QUITTING", W, M, 0, 0, 0,
	    NULL, NULL },
	{ PROTO_ST_PING, "ST_PING", W | C | M | F, S, 0, 0, 0,
	    &pl_empty, &pl_empty },
	{ PROTO_ST_CONV_OPEN, "ST_CONV_OPEN", W, S, 1, 0, 0,
	    &pl_conv_open_req, &pl_conv_open_rep },
	{ PROTO_ST_MSG_APPEND, "ST_MSG_APPEND", W, S, 1, 0, 0,
	    &pl_msg_append_req, &pl_msg_stored },
	{ PROTO_ST_CONV_LIST, "ST_CONV_LIST", W, S, 0, 0, 1,
	    &pl_page_req, &pl_conv_page },
	{ PROTO_ST_CONV_GET, "ST_CONV_GET", W, S, 0, 0, 1,
	    &pl_conv_get_req, &pl_conv_get_rep },
	{ PROTO_ST_CHAT_BEGIN, "ST_CHAT_BEGIN", W, S, 1, 1, 0,
	    &pl_chat_begin_req, &pl_chat_begin_rep },
	{ PROTO_ST_RATE_HIT, "ST_RATE_HIT", W, S, 0, 0, 0,
	    &pl_rate_hit, &pl_rate_verdict },
	{ PROTO_ST_SESSION_HISTORY, "ST_SESSION_HISTORY", W, S, 0, 0, 0,
	    &pl_session_history_req, &pl_session_history_rep },
	{ PROTO_ST_WIDGET_CREATE, "ST_WIDGET_CREATE", W, S, 1, 0, 1,
	    &pl_widget, &pl_widget },
	{ PROTO_ST_WIDGET_UPDATE, "ST_WIDGET_UPDATE", W, S, 1, 0, 1,
	    &pl_widget_update_req, &pl_widget },
	{ PROTO_ST_WIDGET_GET, "ST_WIDGET_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_widget },
	{ PROTO_ST_WIDGET_LIST, "ST_WIDGET_LIST", W | C, S, 0, 0, 1,
	    &pl_empty, &pl_widgets },
	{ PROTO_ST_WIDGET_DELETE, "ST_WIDGET_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	{ PROTO_ST_WIDGET_RESET_ID, "ST_WIDGET_RESET_ID", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_widget },
	{ PROTO_ST_WIDGET_SECRET_SET, "ST_WIDGET_SECRET_SET", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_secret_rep },
	{ PROTO_ST_WIDGET_SECRET_DEL, "ST_WIDGET_SECRET_DEL", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_widget },
	{ PROTO_ST_WS_IDENTIFY, "ST_WS_IDENTIFY", W, S, 1, 0, 0,
	    &pl_ws_identify_req, &pl_ws_identify_rep },
	{ PROTO_ST_WS_OPEN, "ST_WS_OPEN", W, S, 1, 0, 0,
	    &pl_ws_open_req, &pl_ws_open_rep },
	{ PROTO_ST_WS_BEGIN, "ST_WS_BEGIN", W, S, 1, 1, 0,
	    &pl_ws_begin_req, &pl_ws_begin_rep },
	{ PROTO_ST_CONTACT_SUBMIT, "ST_CONTACT_SUBMIT", W, S, 1, 0, 0,
	    &pl_contact_submit_req, &pl_contact_submit_rep },
	{ PROTO_ST_CONTACT_LIST, "ST_CONTACT_LIST", W, S, 0, 0, 1,
	    &pl_page_req, &pl_contact_page },
	{ PROTO_ST_CONTACT_GET, "ST_CONTACT_GET", W, S, 0, 0, 1,
	    &pl_contact_get_req, &pl_contact_get_rep },
	{ PROTO_ST_CONTACT_ERASE, "ST_CONTACT_ERASE", W, S, 1, 0, 1,
	    &pl_contact_erase_req, &pl_u8_rep },
	{ PROTO_ST_CONTACT_ERASING, "ST_CONTACT_ERASING", W, S, 0, 0, 1,
	    &pl_cid_req, &pl_u8_rep },
	{ PROTO_ST_CONTACT_SESSIONS, "ST_CONTACT_SESSIONS", W, S, 0, 0, 1,
	    &pl_contact_cursor_req, &pl_contact_sess_rep },
	{ PROTO_ST_CONTACT_CONVS, "ST_CONTACT_CONVS", W, S, 0, 0, 1,
	    &pl_contact_cursor_req, &pl_contact_convs_rep },
	{ PROTO_ST_PRESENCE_SEEN, "ST_PRESENCE_SEEN", W, S, 0, 0, 1,
	    &pl_empty, &pl_empty },
	{ PROTO_ST_WIDGET_AVAIL, "ST_WIDGET_AVAIL", W, S, 0, 0, 0,
	    &pl_wid_req, &pl_widget_avail_rep },
	{ PROTO_ST_SETUP_NOTE, "ST_SETUP_NOTE", W, S, 0, 0, 0,
	    &pl_setup_note_req, &pl_empty },
	{ PROTO_ST_SETUP_GET, "ST_SETUP_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_setup_rep },
	{ PROTO_ST_DASH_LOGIN, "ST_DASH_LOGIN", W, S, 1, 0, 0,
	    &pl_dash_login_req, &pl_dash_login_rep },
	{ PROTO_ST_DASH_CHECK, "ST_DASH_CHECK", W, S, 0, 0, 0,
	    &pl_dash_check_req, &pl_dash_check_rep },
	{ PROTO_ST_DASH_LOGOUT, "ST_DASH_LOGOUT", W, S, 1, 0, 0,
	    &pl_dash_logout_req, &pl_empty },
	{ PROTO_ST_DASH_SALT, "ST_DASH_SALT", W, S, 0, 0, 0,
	    &pl_empty, &pl_dash_salt_rep },
	{ PROTO_ST_DASH_ATTEMPT, "ST_DASH_ATTEMPT", W, S, 0, 0, 0,
	    &pl_dash_attempt_req, &pl_rate_verdict },
	{ PROTO_ST_CONV_DELETE, "ST_CONV_DELETE", W, S, 1, 0, 1,
	    &pl_cid_req, &pl_empty },
	{ PROTO_ST_CONV_QUERY, "ST_CONV_QUERY", W | C, S, 0, 0, 1,
	    &pl_conv_query_req, &pl_conv_page },
	{ PROTO_ST_MSG_PAGE, "ST_MSG_PAGE", W | C, S, 0, 0, 1,
	    &pl_msg_page_req, &pl_msg_page_rep },
	{ PROTO_ST_MSG_PAGES, "ST_MSG_PAGES", W | C, S, 0, 0, 1,
	    &pl_msg_pages_req, &pl_msg_pages_rep },
	{ PROTO_ST_METRICS_PUT, "ST_METRICS_PUT", W, S, 0, 0, 0,
	    &pl_mput, &pl_empty },
	{ PROTO_ST_METRICS_GET, "ST_METRICS_GET", W, S, 0, 0, 0,
	    &pl_empty, &pl_mset_all },
	{ PROTO_ST_BACKUP, "ST_BACKUP", C, S, 0, 0, 0,
	    &pl_empty, &pl_u64 },
	{ PROTO_ST_STATS, "ST_STATS", C, S, 0, 0, 1,
	    &pl_empty, &pl_stats },
	{ PROTO_ST_PURGE, "ST_PURGE", C, S, 1, 0, 1,
	    &pl_purge_req, &pl_purge_rep },
	{ PROTO_ST_AGENT_CREATE, "ST_AGENT_CREATE", W, S, 1, 0, 1,
	    &pl_agent, &pl_agent },
	{ PROTO_ST_AGENT_UPDATE, "ST_AGENT_UPDATE", W, S, 1, 0, 1,
	    &pl_agent_update_req, &pl_agent },
	{ PROTO_ST_AGENT_GET, "ST_AGENT_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_agent },
	{ PROTO_ST_AGENT_LIST, "ST_AGENT_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_agents },
	{ PROTO_ST_AGENT_EMBED, "ST_AGENT_EMBED", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_kb_space },
	{ PROTO_ST_AGENT_DELETE, "ST_AGENT_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_agent_delete_rep },
	{ PROTO_ST_HANDOFF_SET, "ST_HANDOFF_SET", W, S, 1, 0, 1,
	    &pl_handoff_set_req, &pl_handoff_set_rep },
	{ PROTO_ST_AGENT_MSG, "ST_AGENT_MSG", W, S, 1, 0, 1,
	    &pl_agent_msg_req, &pl_msg_conv },
	{ PROTO_ST_TYPING, "ST_TYPING", W, S, 0, 0, 1,
	    &pl_typing_req, &pl_empty },
	{ PROTO_ST_WS_FEEDBACK, "ST_WS_FEEDBACK", W, S, 1, 0, 0,
	    &pl_ws_feedback_req, &pl_ws_feedback_rep },
	{ PROTO_ST_WS_RATING, "ST_WS_RATING", W, S, 1, 0, 0,
	    &pl_ws_rating_req, &pl_ws_rating_rep },
	{ PROTO_ST_FEEDBACK_SUMMARY, "ST_FEEDBACK_SUMMARY", W, S, 0, 0, 1,
	    &pl_empty, &pl_fb_summary },
	{ PROTO_ST_WS_REQUEST_HUMAN, "ST_WS_REQUEST_HUMAN", W, S, 1, 0, 0,
	    &pl_ws_session_req, &pl_request_human_rep },
	{ PROTO_ST_WS_CONV_NEW, "ST_WS_CONV_NEW", W, S, 1, 0, 0,
	    &pl_ws_session_req, &pl_ws_conv_new_rep },
	{ PROTO_ST_WS_CONV_LIST, "ST_WS_CONV_LIST", W, S, 0, 0, 0,
	    &pl_ws_session_req, &pl_ws_conv_list_rep },
	{ PROTO_ST_WS_CONV_READ, "ST_WS_CONV_READ", W, S, 0, 0, 0,
	    &pl_ws_conv_read_req, &pl_ws_conv_read_rep },
	{ PROTO_ST_EV_SUBSCRIBE, "ST_EV_SUBSCRIBE", W, S, 0, 0, 0,
	    &pl_ev_subscribe_req, &pl_ev_subscribe_rep },
	{ PROTO_ST_EV_SINCE, "ST_EV_SINCE", W, S, 0, 0, 0,
	    &pl_ev_since_req, &pl_ev_since_rep },
	{ PROTO_ST_HANDOFF_LIST, "ST_HANDOFF_LIST", W, S, 0, 0, 1,
	    &pl_page_req, &pl_conv_page },
	{ PROTO_ST_CONV_ASSIGN, "ST_CONV_ASSIGN", W, S, 1, 0, 1,
	    &pl_conv_assign_req, &pl_handoff_set_rep },
	{ PROTO_ST_CONV_STATE, "ST_CONV_STATE", W, S, 1, 0, 1,
	    &pl_conv_state_req, &pl_handoff_set_rep },
	{ PROTO_ST_REPORT_GET, "ST_REPORT_GET", W, S, 0, 0, 1,
	    &pl_report_get_req, &pl_report_rep },
	{ PROTO_ST_GAP_LIST, "ST_GAP_LIST", W, S, 0, 0, 1,
	    &pl_gap_list_req, &pl_gap_list_rep },
	{ PROTO_ST_GAP_DELETE, "ST_GAP_DELETE", W, S, 1, 0, 1,
	    &pl_gap_delete_req, &pl_u64 },
	{ PROTO_ST_ATT_NEW, "ST_ATT_NEW", W, S, 1, 0, 0,
	    &pl_att_new_req, &pl_att_new_rep },
	{ PROTO_ST_ATT_PUT, "ST_ATT_PUT", W, S, 1, 0, 0,
	    &pl_att_put_req, &pl_att_put_rep },
	{ PROTO_ST_ATT_READ, "ST_ATT_READ", W | F, S, 0, 0, 0,
	    &pl_att_read_req, &pl_att_read_rep },
	{ PROTO_ST_ATT_ADMIN_NEW, "ST_ATT_ADMIN_NEW", W, S, 1, 0, 1,
	    &pl_att_new_req, &pl_att_new_rep },
	{ PROTO_ST_ATT_ADMIN_PUT, "ST_ATT_ADMIN_PUT", W, S, 1, 0, 1,
	    &pl_att_put_req, &pl_att_put_rep },
	{ PROTO_ST_ATT_ADMIN_READ, "ST_ATT_ADMIN_READ", W, S, 0, 0, 1,
	    &pl_att_read_req, &pl_att_read_rep },
	/* The fetcher's: a PDF's text read for the model. */
	{ PROTO_ST_ATT_EXTRACT_DUE, "ST_ATT_EXTRACT_DUE", F, S, 1, 0, 0,
	    &pl_empty, &pl_att_due_rep },
	{ PROTO_ST_ATT_TEXT_PUT, "ST_ATT_TEXT_PUT", F, S, 1, 0, 0,
	    &pl_att_text_req, &pl_empty },
	/* The notifier's: the assistant's resolutions that are due. */
	{ PROTO_ST_CONV_RESOLVE_DUE, "ST_CONV_RESOLVE_DUE", W, S, 1, 0, 0,
	    &pl_limit_req, &pl_u8_rep },
	{ PROTO_ST_ORG_CREATE, "ST_ORG_CREATE", W | C, S, 1, 0, 2,
	    &pl_org, &pl_org },
	{ PROTO_ST_ORG_UPDATE, "ST_ORG_UPDATE", W | C, S, 1, 0, 2,
	    &pl_org_update_req, &pl_org },
	{ PROTO_ST_ORG_GET, "ST_ORG_GET", W | C, S, 0, 0, 2,
	    &pl_wid_req, &pl_org },
	{ PROTO_ST_ORG_LIST, "ST_ORG_LIST", W | C, S, 0, 0, 2,
	    &pl_empty, &pl_orgs },
	{ PROTO_ST_ORG_DELETE, "ST_ORG_DELETE", W | C, S, 1, 0, 2,
	    &pl_wid_req, &pl_empty },
	{ PROTO_ST_KEY_CREATE, "ST_KEY_CREATE", W, S, 1, 0, 1,
	    &pl_key_create_req, &pl_apikey },
	{ PROTO_ST_KEY_LIST, "ST_KEY_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_apikeys },
	{ PROTO_ST_KEY_DELETE, "ST_KEY_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	/* Finds who asks: none yet. Writes last_used_at (once a minute). */
	{ PROTO_ST_KEY_AUTH, "ST_KEY_AUTH", W, S, 1, 0, 0,
	    &pl_key_auth_req, &pl_key_auth_rep },
	{ PROTO_ST_AUDIT_LIST, "ST_AUDIT_LIST", W, S, 0, 0, 1,
	    &pl_page_req, &pl_audit_page },
	{ PROTO_ST_AUDIT_NOTE, "ST_AUDIT_NOTE", W | C, S, 1, 0, 1,
	    &pl_audit_note_req, &pl_empty },
	{ PROTO_ST_USER_AUTH, "ST_USER_AUTH", W, S, 0, 0, 0,
	    &pl_user_auth_req, &pl_user_auth_rep },
	{ PROTO_ST_USER_BOOT, "ST_USER_BOOT", W, S, 1, 0, 0,
	    &pl_user_boot_req, &pl_u8_rep },
	{ PROTO_ST_USER_LIST, "ST_USER_LIST", W | C, S, 0, 0, 1,
	    &pl_empty, &pl_members },
	{ PROTO_ST_USER_INVITE, "ST_USER_INVITE", W, S, 1, 0, 1,
	    &pl_user_invite_req, &pl_user_invite_rep },
	{ PROTO_ST_USER_UPDATE, "ST_USER_UPDATE", W, S, 1, 0, 1,
	    &pl_user_update_req, &pl_user_update_rep },
	{ PROTO_ST_USER_DELETE, "ST_USER_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_u8_rep },
	{ PROTO_ST_INVITE_ACCEPT, "ST_INVITE_ACCEPT", W, S, 1, 0, 0,
	    &pl_invite_accept_req, &pl_invite_accept_rep },
	{ PROTO_ST_INVITE_SALT, "ST_INVITE_SALT", W, S, 0, 0, 0,
	    &pl_invite_salt_req, &pl_invite_salt_rep },
	{ PROTO_ST_USER_SET, "ST_USER_SET", C, S, 1, 0, 1,
	    &pl_user_set_req, &pl_user_set_rep },
	{ PROTO_ST_USER_SELF, "ST_USER_SELF", W, S, 1, 0, 1,
	    &pl_user_self_req, &pl_user_self_rep },
	{ PROTO_ST_INVITE_LIST, "ST_INVITE_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_invites },
	{ PROTO_ST_INVITE_REVOKE, "ST_INVITE_REVOKE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	{ PROTO_ST_HOOK_CREATE, "ST_HOOK_CREATE", W, S, 1, 0, 1,
	    &pl_webhook, &pl_webhook },
	{ PROTO_ST_HOOK_UPDATE, "ST_HOOK_UPDATE", W, S, 1, 0, 1,
	    &pl_hook_update_req, &pl_webhook },
	{ PROTO_ST_HOOK_GET, "ST_HOOK_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_webhook },
	{ PROTO_ST_HOOK_LIST, "ST_HOOK_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_webhooks },
	{ PROTO_ST_HOOK_DELETE, "ST_HOOK_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	{ PROTO_ST_HOOK_SECRET, "ST_HOOK_SECRET", W, S, 1, 0, 1,
	    &pl_hook_secret_req, &pl_webhook },
	/* The notifier's: no who (it acts for every organisation). */
	{ PROTO_ST_HOOK_DUE, "ST_HOOK_DUE", W, S, 1, 0, 0,
	    &pl_hook_due_req, &pl_hook_jobs },
	{ PROTO_ST_HOOK_RESULT, "ST_HOOK_RESULT", W, S, 1, 0, 0,
	    &pl_hook_result_req, &pl_empty },
	{ PROTO_ST_HOOK_DELIVERIES, "ST_HOOK_DELIVERIES", W, S, 0, 0, 1,
	    &pl_hook_deliveries_req, &pl_deliveries },
	{ PROTO_ST_HOOK_RETRY, "ST_HOOK_RETRY", W, S, 1, 0, 1,
	    &pl_hook_retry_req, &pl_delivery },
	{ PROTO_ST_HOOK_TEST, "ST_HOOK_TEST", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_delivery },
	/* Email (issue 23): a user's own choice; the notifier's mails. */
	{ PROTO_ST_NOTIFY_GET, "ST_NOTIFY_GET", W, S, 0, 0, 1,
	    &pl_empty, &pl_notify },
	{ PROTO_ST_NOTIFY_SET, "ST_NOTIFY_SET", W, S, 1, 0, 1,
	    &pl_notify, &pl_notify },
	{ PROTO_ST_MAIL_DUE, "ST_MAIL_DUE", W, S, 1, 0, 0,
	    &pl_mail_due_req, &pl_mails },
	{ PROTO_ST_MAIL_RESULT, "ST_MAIL_RESULT", W, S, 1, 0, 0,
	    &pl_mail_result_req, &pl_empty },
	{ PROTO_ST_MAIL_CHECK, "ST_MAIL_CHECK", W, S, 0, 0, 0,
	    &pl_mail_id_req, &pl_empty },
	/* The inbox (issue 24): read marks, canned replies. */
	{ PROTO_ST_CONV_READ, "ST_CONV_READ", W, S, 1, 0, 1,
	    &pl_cid_req, &pl_empty },
	{ PROTO_ST_CANNED_LIST, "ST_CANNED_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_canneds },
	{ PROTO_ST_CANNED_PUT, "ST_CANNED_PUT", W, S, 1, 0, 1,
	    &pl_canned_put_req, &pl_canned },
	{ PROTO_ST_CANNED_DELETE, "ST_CANNED_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	/* The knowledge base: an organisation's sources and its search. */
	{ PROTO_ST_KB_SOURCE_CREATE, "ST_KB_SOURCE_CREATE", W, S, 1, 0, 1,
	    &pl_kbsource, &pl_kbsource },
	{ PROTO_ST_KB_SOURCE_UPDATE, "ST_KB_SOURCE_UPDATE", W, S, 1, 0, 1,
	    &pl_kbsource_update_req, &pl_kbsource },
	{ PROTO_ST_KB_SOURCE_GET, "ST_KB_SOURCE_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_kbsource },
	{ PROTO_ST_KB_SOURCE_LIST, "ST_KB_SOURCE_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_kbsources },
	{ PROTO_ST_KB_SOURCE_DELETE, "ST_KB_SOURCE_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	{ PROTO_ST_KB_SEARCH, "ST_KB_SEARCH", W, S, 0, 0, 1,
	    &pl_kb_search_req, &pl_kb_hits },
	{ PROTO_ST_KB_SYNC, "ST_KB_SYNC", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_kbsource },
	{ PROTO_ST_KB_PAGES, "ST_KB_PAGES", W, S, 0, 0, 1,
	    &pl_kb_pages_req, &pl_kb_pages },
	{ PROTO_ST_KB_FILE_PUT, "ST_KB_FILE_PUT", W, S, 1, 0, 1,
	    &pl_kb_file_put_req, &pl_kb_file_put_rep },
	/*
	 * The fetcher's alone (a worker may not send them, nor the fetcher
	 * anything else): no who, it acts for every organisation.
	 */
	{ PROTO_ST_KB_DUE, "ST_KB_DUE", F, S, 1, 0, 0,
	    &pl_kb_due_req, &pl_kb_jobs },
	{ PROTO_ST_KB_PAGE_GET, "ST_KB_PAGE_GET", F, S, 0, 0, 0,
	    &pl_kb_page_get_req, &pl_kbpage },
	{ PROTO_ST_KB_PAGE_PUT, "ST_KB_PAGE_PUT", F, S, 1, 0, 0,
	    &pl_kb_page_put_req, &pl_kb_page_put_rep },
	{ PROTO_ST_KB_SYNC_DONE, "ST_KB_SYNC_DONE", F, S, 1, 0, 0,
	    &pl_kb_sync_done_req, &pl_u8_rep },
	{ PROTO_ST_KB_FILE_GET, "ST_KB_FILE_GET", F, S, 0, 0, 0,
	    &pl_kb_file_get_req, &pl_kb_file },
	/* Actions: an organisation's HTTP tools for the model. */
	{ PROTO_ST_ACTION_CREATE, "ST_ACTION_CREATE", W, S, 1, 0, 1,
	    &pl_action, &pl_action },
	{ PROTO_ST_ACTION_UPDATE, "ST_ACTION_UPDATE", W, S, 1, 0, 1,
	    &pl_action_update_req, &pl_action },
	{ PROTO_ST_ACTION_GET, "ST_ACTION_GET", W, S, 0, 0, 1,
	    &pl_wid_req, &pl_action },
	{ PROTO_ST_ACTION_LIST, "ST_ACTION_LIST", W, S, 0, 0, 1,
	    &pl_empty, &pl_actions },
	{ PROTO_ST_ACTION_DELETE, "ST_ACTION_DELETE", W, S, 1, 0, 1,
	    &pl_wid_req, &pl_empty },
	/*
	 * storaged's own request, run in a batch as a client's is, never
	 * sent: the turn of a worker lost meanwhile ended (server.c).
	 */
	{ PROTO_ST_TURN_LOST, "ST_TURN_LOST", SELF, S, 1, 0, 0,
	    &pl_turn_ref, &pl_empty },
	/* A worker's turns it still answers, named on each new connection. */
	{ PROTO_ST_TURNS_HELD, "ST_TURNS_HELD", W, S, 0, 0, 0,
	    &pl_turns_held, &pl_empty },
	/*
	 * A worker's turn for the visitor's last message of a conversation
	 * handed back to the assistant unanswered: a begin's reply.
	 */
	{ PROTO_ST_CHAT_ANSWER_LAST, "ST_CHAT_ANSWER_LAST", W, S, 1, 1, 0,
	    &pl_answer_last_req, &pl_chat_begin_rep },
	/* A chat turn's: its model hands the conversation to a person. */
	{ PROTO_ST_TURN_HANDOFF, "ST_TURN_HANDOFF", W, S, 1, 0, 0,
	    &pl_cid_req, &pl_u8_rep },
	/* A chat turn's: its agent names the organisation and the actions. */
	{ PROTO_ST_ACTION_TOOLS, "ST_ACTION_TOOLS", W, S, 0, 0, 0,
	    &pl_action_tools_req, &pl_actions },
	/* A chat turn's: its agent names the organisation and the sources. */
	{ PROTO_ST_KB_RETRIEVE, "ST_KB_RETRIEVE", W, S, 0, 0, 0,
	    &pl_kb_retrieve_req, &pl_kb_hits },
	/*
	 * Replication (issue 25, storaged/repl.c): a standby (a storaged)
	 * asks its primary for the stream, which sends records and snapshot
	 * chunks unasked and hears the standby's acknowledgements unasked;
	 * parleyctl promotes a standby and asks either where it stands; a
	 * standby promoted by hand tells the primary it followed to step down.
	 */
	{ PROTO_ST_REPL_START, "ST_REPL_START", S, S, 0, 0, 0,
	    &pl_repl_start_req, &pl_repl_start_rep },
	{ PROTO_ST_REPL_REC, "ST_REPL_REC", S, S, 0, 0, 0,
	    &pl_repl_rec, NULL },
	{ PROTO_ST_REPL_SNAP, "ST_REPL_SNAP", S, S, 0, 0, 0,
	    &pl_repl_snap, NULL },
	{ PROTO_ST_REPL_ACK, "ST_REPL_ACK", S, S, 0, 0, 0,
	    &pl_u64, NULL },
	{ PROTO_ST_REPL_NEWER, "ST_REPL_NEWER", S, S, 0, 0, 0,
	    &pl_repl_newer_req, &pl_u64 },
	{ PROTO_ST_REPL_PROMOTE, "ST_REPL_PROMOTE", C, S, 0, 0, 0,
	    &pl_u64, &pl_u64 },
	{ PROTO_ST_REPL_STATUS, "ST_REPL_STATUS", C, S, 0, 0, 0,
	    &pl_empty, &pl_repl_status },
	{ PROTO_ST_EV_USER_GONE, "ST_EV_USER_GONE", S, W, 0, 0, 0,
	    &pl_user_gone, NULL },
	{ PROTO_ST_EV_CRED_GONE, "ST_EV_CRED_GONE", S, W, 0, 0, 0,
	    &pl_cred_gone, NULL },
	{ PROTO_ST_EV_WIDGET_GONE, "ST_EV_WIDGET_GONE", S, W, 0, 0, 0,
	    &pl_widget_gone, NULL },
	{ PROTO_ST_EV_STORE_FAILED, "ST_EV_STORE_FAILED", S, W | F, 0, 0, 0,
	    &pl_store_failed, NULL },
	{ PROTO_ST_EV, "ST_EV", S, W, 0, 0, 0,
	    &pl_event, NULL },
	{ PROTO_ST_EV_LOST, "ST_EV_LOST", S, W, 0, 0, 0,
	    &pl_empty, NULL },
	/* The transport (issue 25): which storaged is primary. */
	{ PROTO_ST_EV_ROLE, "ST_EV_ROLE", S, W | C | F, 0, 0, 0,
	    &pl_ev_role, NULL },
};

/* By type: filled once from msgs (types are below PROTO_TYPE_MAX). */
static const struct proto_msg *by_type[PROTO_TYPE_MAX];

const struct proto_msg *
proto_msg(uint16_t type)
{
	size_t i;

	if (type >= PROTO_TYPE_MAX)
		return NULL;
	if (by_type[PROTO_HELLO] == NULL)
		for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
			by_type[msgs[i].type] = &msgs[i];
	return by_type[type];
}

const struct proto_msg *
proto_msg_at(size_t i)
{
	return i < sizeof(msgs) / sizeof(msgs[0]) ? &msgs[i] : NULL;
}

const char *
proto_msg_name(uint16_t type)
{
	const struct proto_msg *m = proto_msg(type);

	return m != NULL ? m->name : "UNKNOWN";
}

int
proto_peer_of(const char *hello_name)
{
	static const struct {
		const char *name;
		int peer;
	} peers[] = {
		{ "parley-workerd", PROTO_PEER_WORKERD },
		{ "parleyctl", PROTO_PEER_CTL },
		{ "parley-masterd", PROTO_PEER_MASTERD },
		{ "parley-storaged", PROTO_PEER_STORAGED },
		{ "parley-fetch", PROTO_PEER_FETCHER },
	};
	size_t i;

	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		if (strcmp(hello_name, peers[i].name) == 0)
			return peers[i].peer;
	return 0;
}

/* The table's fingerprint, walked once (about 700,000 instructions). */
static pthread_once_t layouts_once = PTHREAD_ONCE_INIT;
static uint64_t layouts_id;

static void
layouts_walk(void)
{
	const struct proto_msg *m;
	uint64_t h = PROTO_FNV_START;
	size_t i;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		m = &msgs[i];
		h = proto_fnv1a_u64(h, m->type);
		h = proto_fnv1a_u64(h, m->from);
		h = proto_fnv1a_u64(h, m->to);
		h = proto_fnv1a_u64(h, m->who);
		h = m->req != NULL ? pl_fingerprint(h, m->req) : h;
		h = m->rep != NULL ? pl_fingerprint(h, m->rep) : h;
	}
	layouts_id = h;
}

uint64_t
proto_layouts_id(void)
{
	pthread_once(&layouts_once, layouts_walk);
	return layouts_id;
}

int
proto_may_send(int peer, uint16_t type, int to)
{
	const struct proto_msg *m = proto_msg(type);

	return m != NULL && (m->from & peer) && (m->to & to);
}

const char *
proto_err_name(uint32_t code)
{
	switch (code) {
	case PROTO_E_INTERNAL:		return "internal";
	case PROTO_E_INVALID:		return "invalid";
	case PROTO_E_NOT_FOUND:		return "not found";
	case PROTO_E_UNSUPPORTED:	return "unsupported";
	case PROTO_E_UNAVAILABLE:	return "unavailable";
	case PROTO_E_NO_ORG:		return "no such organisation";
	case PROTO_E_EXISTS:		return "exists";
	case PROTO_E_NOT_PRIMARY:	return "not primary";
	case PROTO_E_FULL:		return "full";
	}
	return "unknown";
}
