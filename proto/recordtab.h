/*
 * Every stored record's rows: the fields of each record, one row a
 * field, in its stored order, as record.h describes them. A record's
 * rows are its format on disk and on the wire: a row added, moved or
 * retyped here is a format change, and this file is where a review of
 * the stored formats reads. The struct of each, made of its rows
 * (RL_RECORD), and its message types are in its own header (named in
 * its section); its layout in that header's .c.
 *
 * A row's columns, as each list writes them:
 *
 *   kind     member             JSON                 since bit
 *            view     bound                      x[, least]
 *
 * The constants a row names (bounds, update bits) are its own header's:
 * a list is expanded where its record's header includes this file
 * (record.h does), after them.
 */
#ifndef PARLEY_RECORDTAB_H
#define PARLEY_RECORDTAB_H

/* --------------------------------------- an organisation (orgmsg.h) */

/*
 * The organisation record, a row per field in stored order (record.h),
 * of format 1: its id ("default", or "org_" and 32 lowercase hex), its
 * name (malloc'd, 1-100 characters of UTF-8), its times; format 2 its
 * daily turn budget (0: none), which the install key alone sets.
 */
#define ST_ORG_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_ORG_ID_MAX, 0)					\
	F(STR, name, "name", 1, ST_OF_NAME,				\
	    RF_ADM, ST_ORG_NAME_MAX, 1)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(COUNT, daily_turns, "daily_turn_budget", 2, ST_OF_DAILY_TURNS,	\
	    RF_ADM, ST_ORG_DAILY_TURNS_MAX, 0)

/* ------------------------------------- a dashboard user (usermsg.h) */

/*
 * The user record, a row per field in stored order (record.h): its id,
 * email (lowercased, unique), display name (malloc'd), password (never
 * shown), the account's disabled flag (only read: records from before),
 * memberships, times; format 2 each membership's disabled flag (a
 * format 1 record has none: every membership enabled). Never shown as
 * itself (a member view is made of it), no request sets a row: the
 * user requests say what changes.
 */
#define ST_USER_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_HID, ST_USER_ID_MAX, 0)					\
	F(BUF, email, "email", 1, RF_RO,				\
	    RF_HID, ST_EMAIL_MAX, 0)					\
	F(STR, name, "name", 1, RF_RO,					\
	    RF_HID, ST_USER_NAME_MAX, 1)				\
	F(PASSWORD, hash, "password", 1, RF_RO,				\
	    RF_HID, 0, 0)						\
	F(BOOL, disabled, "disabled", 1, RF_RO,				\
	    RF_HID, 1, 0)						\
	F(MEMBERS, mems, "memberships", 1, RF_RO,			\
	    RF_HID, ST_MEMBERSHIPS_MAX, 0)				\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(MEMBER_OFF, mems_disabled, "memberships_disabled", 2, RF_RO,	\
	    RF_HID, ST_MEMBERSHIPS_MAX, 0)

/* ---------------------------------------- an invitation (usermsg.h) */

/*
 * An invitation, storaged's alone (userstore.c: under the SHA-256 of
 * its token), a row per field in stored order: the organisation it is
 * into, the email invited, the role it gives, its times; format 2 its
 * claimed flag (a wrong password for the email's account once set it,
 * hiding the invitation; now never set nor read: such a try leaves the
 * invitation open). Never shown as itself (ST_INVITE_LIST's view is made
 * of it), no request sets a row.
 */
#define ST_INVITE_ROWS(F)						\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_ORG_ID_MAX, 0)					\
	F(BUF, email, "email", 1, RF_RO,				\
	    RF_HID, ST_EMAIL_MAX, 0)					\
	F(U8, role, "role", 1, RF_RO,					\
	    RF_HID, ST_ROLE_OWNER, 0)					\
	F(TIME, expires_at, "expires_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(BOOL, claimed, "claimed", 2, RF_RO,				\
	    RF_HID, 1, 0)

/* ---------------------------------- a dashboard session (usermsg.h) */

/*
 * A dashboard session, storaged's alone (dashstore.c: under the SHA-256
 * of its id), a row per field in stored order: its CSRF token, its user
 * (format 2), when it expires and when it was made. Format 1 (one owner,
 * before there were users) held the password's fingerprint where format
 * 2 holds the user: read and dropped, so such a session has no user, is
 * never valid, and is only there to be deleted. Never shown, no request
 * sets a row.
 */
#define ST_DSESS_ROWS(F)						\
	F(BUF, csrf, "csrf", 1, RF_RO,					\
	    RF_HID, ST_DASH_CSRF_LEN, 0)				\
	F(GONE, fp, "fingerprint", 1, RF_RO,				\
	    RF_HID, ST_DASH_FP_LEN, 2)					\
	F(BUF, user, "user_id", 2, RF_RO,				\
	    RF_HID, ST_USER_ID_MAX, 0)					\
	F(TIME, expires_at, "expires_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)

/* ------------------------------------------- a widget (widgetmsg.h) */

/*
 * The widget record, a row per field in stored order (record.h). Its
 * format is the newest row's since; an older record reads the rows it
 * lacks as their defaults. The identity secret (64 lowercase hex, ""
 * none) is set and removed only by ST_WIDGET_SECRET_SET/DEL, never by a
 * create or an update, never shown. A record stored before
 * organisations (format 3) reads as the default organisation's.
 */
#define ST_WIDGET_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_WIDGET_MAX, 0)					\
	F(BUF, widget_id, "widget_id", 1, RF_RO,			\
	    RF_ADM, ST_WID_LEN, 0)					\
	F(TEXT, name, "name", 1, ST_WF_NAME,				\
	    RF_PUB, ST_NAME_MAX, 0)					\
	F(TEXT, greeting, "greeting", 1, ST_WF_GREETING,		\
	    RF_PUB, ST_GREETING_MAX, 0)					\
	F(BUF, primary_color, "primary_color", 1, ST_WF_PRIMARY_COLOR,	\
	    RF_PUB, ST_COLOR_LEN, 0)					\
	F(BUF, text_color, "text_color", 1, ST_WF_TEXT_COLOR,		\
	    RF_PUB, ST_COLOR_LEN, 0)					\
	F(ENUM, position, "position", 1, ST_WF_POSITION,		\
	    RF_PUB, ST_POS_BOTTOM_LEFT, 0)				\
	F(ENUM, contact_mode, "contact_info_mode", 1, ST_WF_CONTACT_MODE, \
	    RF_PUB, ST_CONTACT_REQUIRED, 0)				\
	F(BOOL, collect_name, "collect_name", 1, ST_WF_COLLECT_NAME,	\
	    RF_PUB, 1, 0)						\
	F(BOOL, collect_email, "collect_email", 1, ST_WF_COLLECT_EMAIL,	\
	    RF_PUB, 1, 0)						\
	F(BOOL, collect_phone, "collect_phone", 1, ST_WF_COLLECT_PHONE,	\
	    RF_PUB, 1, 0)						\
	F(BOOL, enabled, "enabled", 1, ST_WF_ENABLED,			\
	    RF_ADM, 1, 1)						\
	F(LIST, origins, "allowed_origins", 1, ST_WF_ORIGINS,		\
	    RF_ADM, ST_ORIGINS_MAX, ST_ORIGIN_MAX)			\
	F(COUNT, daily_cap, "daily_message_cap", 1, ST_WF_DAILY_CAP,	\
	    RF_ADM, UINT32_MAX, 0)					\
	F(TEXT, system_prompt, "system_prompt", 1, ST_WF_SYSTEM_PROMPT,	\
	    RF_ADM, ST_PROMPT_MAX, 0)					\
	F(TEXT, model, "model", 1, ST_WF_MODEL,				\
	    RF_ADM, ST_MODEL_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(BUF, agent_id, "agent_id", 2, ST_WF_AGENT_ID,			\
	    RF_ADM, ST_ID_HEX, 0)					\
	F(BOOL, handoff_enabled, "handoff_enabled", 2, ST_WF_HANDOFF_ENABLED, \
	    RF_PUB, 1, 0)						\
	F(TEXT, handoff_label, "handoff_label", 2, ST_WF_HANDOFF_LABEL,	\
	    RF_PUB, ST_HANDOFF_LABEL_MAX, 0)				\
	F(BUF, org, "organization_id", 3, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(COUNT, retention_days, "retention_days", 4, ST_WF_RETENTION,	\
	    RF_ADM, ST_RETENTION_DAYS_MAX, 0)				\
	F(HOURS, hours, "business_hours", 5, ST_WF_HOURS,		\
	    RF_ADM, ST_HOURS_MAX, 0)					\
	F(TEXT, away_message, "away_message", 5, ST_WF_AWAY_MESSAGE,	\
	    RF_ADM, ST_AWAY_MESSAGE_MAX, 0)				\
	F(ARRAY, starters, "starter_questions", 6, ST_WF_STARTERS,	\
	    RF_PUB, ST_STARTERS_MAX, 4 * ST_STARTER_MAX)		\
	F(STR, proactive_message, "proactive_message", 6,		\
	    ST_WF_PROACTIVE_MESSAGE, RF_PUB, ST_PROACTIVE_MAX, 0)	\
	F(U32, proactive_delay_s, "proactive_delay_s", 6,		\
	    ST_WF_PROACTIVE_DELAY, RF_PUB, ST_PROACTIVE_DELAY_MAX,	\
	    ST_PROACTIVE_DELAY_DEF)					\
	F(STR, proactive_path, "proactive_path", 6, ST_WF_PROACTIVE_PATH, \
	    RF_PUB, ST_PROACTIVE_PATH_MAX, 0)				\
	F(BUF, language, "language", 6, ST_WF_LANGUAGE,			\
	    RF_PUB, ST_LANG_LEN, 0)					\
	F(BOOL, identity_required, "identity_required", 6,		\
	    ST_WF_IDENTITY_REQUIRED, RF_PUB, 1, 0)			\
	F(SECRET, identity_secret, "identity_secret", 6, RF_RO,		\
	    RF_ADM, ST_SECRET_HEX, 0)					\
	F(BOOL, unread_sound, "unread_sound", 6, ST_WF_UNREAD_SOUND,	\
	    RF_PUB, 1, 0)						\
	F(BOOL, unread_title, "unread_title", 6, ST_WF_UNREAD_TITLE,	\
	    RF_PUB, 1, 0)						\
	F(BOOL, feedback_enabled, "feedback_enabled", 6, ST_WF_FEEDBACK, \
	    RF_PUB, 1, 1)						\
	F(BOOL, rating_enabled, "rating_enabled", 6, ST_WF_RATING,	\
	    RF_PUB, 1, 0)						\
	F(TEXT, reply_time, "reply_time", 7, ST_WF_REPLY_TIME,		\
	    RF_PUB, ST_REPLY_TIME_MAX, 0)				\
	F(ARRAY, attachment_types, "attachment_types", 8,		\
	    ST_WF_ATTACH_TYPES, RF_PUB, ST_ATTACH_TYPES_MAX,		\
	    ST_ATTACH_TYPE_LEN)						\
	F(U32, attachment_max_mb, "attachment_max_mb", 8,		\
	    ST_WF_ATTACH_MAX_MB, RF_PUB, ST_ATTACH_MB_MAX,		\
	    ST_ATTACH_MB_DEFAULT, ST_ATTACH_MB_MIN)

/* ------------------------------------------ a contact (widgetmsg.h) */

/*
 * The contact record, a row per field in stored order (record.h): its id
 * (32 lowercase hex), name (at most 200 characters), email (lowercased,
 * at most 254 bytes: st_email_normal) and phone (normalised,
 * st_phone_norm), "" each when not given, its times; format 2 (issue
 * 22) its organisation, its widget's when first submitted (an older
 * record reads as "default"; another organisation's same email or phone
 * is another contact); format 3 (issue 26) the site's user id a
 * verified identify named ("" none) and whether the contact is that
 * verified identity's; format 4 whether its email is one the site
 * signed (an identify's email_hash): set when a signed email is the
 * one stored, kept while it stays (a contact's email, once given, is
 * never changed). Strings are malloc'd. No request sets a row: a
 * submission or an identify makes and fills it in storaged.
 */
#define ST_CONTACT_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_ID_HEX, 0)					\
	F(TEXT, name, "name", 1, RF_RO,					\
	    RF_ADM, ST_CONTACT_NAME_MAX, 0)				\
	F(TEXT, email, "email", 1, RF_RO,				\
	    RF_ADM, ST_EMAIL_MAX, 0)					\
	F(TEXT, phone, "phone", 1, RF_RO,				\
	    RF_ADM, ST_PHONE_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(BUF, org, "organization_id", 2, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(TEXT, external_id, "external_id", 3, RF_RO,			\
	    RF_ADM, ST_EXTERNAL_ID_MAX, 0)				\
	F(BOOL, verified, "verified", 3, RF_RO,				\
	    RF_ADM, 1, 0)						\
	F(BOOL, email_verified, "email_verified", 4, RF_RO,		\
	    RF_ADM, 1, 0)						\
	F(TIME, announced_at, "announced_at", 5, RF_RO,			\
	    RF_HID, 0, 0)

/* ----------------------------------- a widget session (widgetmsg.h) */

/*
 * A visitor session, storaged's alone (wsess.c: under the SHA-256 of its
 * token), a row per field in stored order: its conversation's session id
 * ('~' and 32 hex digits: a name the HTTP API's sessionId cannot give,
 * so the conversation opens with the session token only), its widget's
 * internal id, when it was made and last active, its contact ("" none
 * yet); format 2 its expiry, its wsess_expiry key (0: not indexed yet).
 * Format 1 was written both without its expiry (before the index) and
 * with it, which reads as format 2 (wsess_load). Never shown, no request
 * sets a row.
 */
#define ST_WSESS_ROWS(F)						\
	F(BUF, id, "session_id", 1, RF_RO,				\
	    RF_HID, ST_ID_HEX + 1, 0)					\
	F(BUF, widget, "widget", 1, RF_RO,				\
	    RF_HID, ST_WIDGET_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, active_at, "active_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(BUF, contact_id, "contact_id", 1, RF_RO,			\
	    RF_HID, ST_ID_HEX, 0)					\
	F(TIME, expires_at, "expires_at", 2, RF_RO,			\
	    RF_HID, 0, 0)

/* -------------------------------------- a conversation (storemsg.h) */

#define ST_CONV_ROWS(F)							\
	F(BUF, id, "_id", 1, RF_RO, RF_ADM, ST_ID_HEX, 0)		\
	F(BUF, widget, "widgetId", 1, RF_RO, RF_ADM, ST_WIDGET_MAX, 0)	\
	F(BUF, session, "sessionId", 1, RF_RO, RF_ADM, ST_SESSION_MAX, 0) \
	F(TIME, created_at, "createdAt", 1, RF_RO, RF_ADM, 0, 0)	\
	F(TIME, updated_at, "updatedAt", 1, RF_RO, RF_ADM, 0, 0)	\
	F(U32, message_count, "messageCount", 1, RF_RO, RF_ADM,		\
	    UINT32_MAX, 0)						\
	F(BYTES, last_message, "lastMessage", 1, RF_RO, RF_ADM,		\
	    ST_CONTENT_MAX, 0)						\
	F(BUF, contact_id, "contactId", 2, RF_RO, RF_ADM, ST_ID_HEX, 0)	\
	F(ENUM, handoff, "handoff", 3, RF_RO, RF_ADM, ST_HANDOFF_MAX, 0)	\
	F(BUF, org, "organizationId", 4, RF_RO, RF_ADM, ST_WHO_ORG_MAX, 0) \
	F(BUF, assignee, "assignee", 5, RF_RO, RF_ADM, ST_WHO_USER_MAX, 0) \
	F(BUF, assignee_name, "assigneeName", 5, RF_RO, RF_ADM,		\
	    4 * ST_MSG_NAME_MAX, 0)					\
	F(BYTES, last_visitor, "lastVisitorMessage", 6, RF_RO, RF_ADM,	\
	    ST_CONTENT_MAX, 0)						\
	F(TIME, visitor_at, "visitorAt", 6, RF_RO, RF_ADM, 0, 0)	\
	F(VISITOR, visitor, "visitor", 6, RF_RO, RF_ADM, 0, 0)		\
	F(BUF, visitor_name, "visitorName", 6, RF_RO, RF_ADM,		\
	    ST_VISITOR_NAME_MAX, 0)					\
	F(BOOL, unread, "unread", 6, RF_RO, RF_ADM, 1, 0)		\
	F(U8, rating, "rating", 7, RF_RO, RF_ADM, ST_RATING_MAX, 0)	\
	F(TEXT, rating_comment, "ratingComment", 7, RF_RO, RF_ADM,	\
	    ST_RATING_COMMENT_CHARS, 0)					\
	F(TIME, rated_at, "ratedAt", 7, RF_RO, RF_ADM, 0, 0)		\
	F(U32, fb_up, "feedbackUp", 7, RF_RO, RF_ADM, UINT32_MAX, 0)	\
	F(U32, fb_down, "feedbackDown", 7, RF_RO, RF_ADM, UINT32_MAX, 0) \
	F(BUF, fb_agent, "feedbackAgentId", 7, RF_RO, RF_ADM, ST_ID_HEX, 0) \
	F(ENUM, conv_state, "state", 8, RF_RO, RF_ADM, ST_CONV_STATE_MAX, 0) \
	F(TIME, snoozed_until, "snoozed_until", 8, RF_RO, RF_ADM, 0, 0)	\
	F(ENUM, resolved_by, "resolved_by", 8, RF_RO, RF_ADM,		\
	    ST_RESOLVED_BY_MAX, 0)					\
	F(TIME, resolved_at, "resolved_at", 8, RF_RO, RF_ADM, 0, 0)	\
	F(BOOL, handed_off, "handed_off", 8, RF_RO, RF_ADM, 1, 0)	\
	F(TIME, resolve_due, "resolve_due", 8, RF_RO, RF_HID, 0, 0)	\
	F(BUF, agent_id, "agent_id", 8, RF_RO, RF_ADM, ST_ID_HEX, 0)	\
	F(U32, visitor_msgs, "visitor_messages", 8, RF_RO, RF_ADM,	\
	    UINT32_MAX, 0)						\
	F(U32, answers, "answers", 8, RF_RO, RF_ADM, UINT32_MAX, 0)	\
	F(U32, prompt_tokens, "prompt_tokens", 8, RF_RO, RF_ADM,	\
	    UINT32_MAX, 0)						\
	F(U32, completion_tokens, "completion_tokens", 8, RF_RO, RF_ADM, \
	    UINT32_MAX, 0)						\
	F(TIME, asked_at, "handoff_requested_at", 8, RF_RO, RF_ADM, 0, 0) \
	F(TIME, person_at, "person_answered_at", 8, RF_RO, RF_ADM, 0, 0) \
	F(BOOL, reported, "reported", 8, RF_RO, RF_HID, 1, 0)		\
	F(BUF, human_by, "answered_by", 9, RF_RO, RF_ADM,		\
	    ST_WHO_USER_MAX, 0)						\
	F(BUF, human_by_name, "answered_by_name", 9, RF_RO, RF_ADM,	\
	    4 * ST_MSG_NAME_MAX, 0)					\
	F(ENUM, waiting_by, "waiting_by", 10, RF_RO, RF_HID,		\
	    ST_WAITING_BY_MAX, 0)

/* ------------------------------------------- a message (storemsg.h) */

#define ST_MSG_ROWS(F)							\
	F(BUF, id, "_id", 1, RF_RO, RF_ADM, ST_ID_HEX, 0)		\
	F(BUF, conv_id, "conversationId", 1, RF_RO, RF_ADM, ST_ID_HEX, 0) \
	F(BUF, role, "role", 1, RF_RO, RF_ADM, ST_ROLE_MAX, 0)		\
	F(BUF, status, "status", 1, RF_RO, RF_ADM, ST_STATUS_MAX, 0)	\
	F(TIME, created_at, "createdAt", 1, RF_RO, RF_ADM, 0, 0)	\
	F(U32, prompt_tokens, "promptTokens", 1, RF_RO, RF_ADM,		\
	    UINT32_MAX, 0)						\
	F(U32, completion_tokens, "completionTokens", 1, RF_RO, RF_ADM,	\
	    UINT32_MAX, 0)						\
	F(BYTES, content, "content", 1, RF_RO, RF_ADM, ST_CONTENT_MAX, 0) \
	F(BUF, name, "name", 2, RF_RO, RF_ADM, 4 * ST_MSG_NAME_MAX, 0)	\
	F(BUF, author, "authorId", 3, RF_RO, RF_ADM, ST_WHO_USER_MAX, 0) \
	F(U8, feedback, "feedback", 4, RF_RO, RF_ADM, ST_FEEDBACK_MAX, 0)	\
	F(LIST, sources, "sources", 5, RF_RO, RF_ADM, ST_MSG_SOURCES_MAX,	\
	    ST_MSG_SOURCE_ID_LEN)					\
	F(U8, knowledge, "knowledge", 5, RF_RO, RF_ADM, ST_MSG_KB_MAX, 0)	\
	F(BYTES, arguments, "arguments", 6, RF_RO, RF_ADM, ST_TOOL_ARGS_KEPT, 0) \
	F(U32, duration_ms, "duration_ms", 6, RF_RO, RF_ADM, UINT32_MAX, 0) \
	F(ATTS, atts, "attachments", 7, RF_RO, RF_ADM, ST_MSG_ATTS_MAX, 0) \
	F(BUF, client_id, "cid", 8, RF_RO, RF_HID, ST_CLIENT_ID_MAX, 0)	\
	F(BYTES, cited, "cited", 9, RF_RO, RF_HID, ST_MSG_CITED_MAX, 0)	\
	F(ENUM, tool_origin, "origin", 10, RF_RO, RF_ADM, ST_TOOL_ORIGIN_MAX, \
	    0)

/* -------------------------------------------- an agent (agentmsg.h) */

/*
 * The agent record, a row per field in stored order (record.h); its
 * format is the newest row's since, an older record reading the rows it
 * lacks as their defaults: format 1 (before organisations) as the
 * default organisation's (storaged/records.c), formats 1 and 2 without
 * answer_in_visitor_language, formats 1 to 3 without the knowledge rows,
 * formats 1 to 4 without rewrite_follow_ups, formats 1 to 5 without
 * embedding_model, formats 1 to 6 without action_ids, handoff_tool and
 * knowledge_search_tool, formats 1 to 7 without contact_form_tool and
 * resolve_after_seconds (a day, the default).
 * The struct's strings are malloc'd.
 *
 * id is 32 hex ("" in a begin reply's default agent); name 1-100
 * characters; system_prompt "" is the deployment's SYSTEM_PROMPT, model
 * "" OPENAI_MODEL, base_url "" OPENAI_BASE_URL; temperature_milli 0-2000
 * or ST_AGENT_UNSET (not sent to the model; its JSON is a number from 0
 * to 2, agents.c's); max_tokens 0 is not sent, history_messages 0 the
 * deployment's. api_key ("" none) is write-only: only the chat-begin
 * replies carry it, storaged's agent replies say only api_key_set
 * (storaged's, from the key); a new base_url clears it unless the same
 * update sets one. org is stamped by storaged at create from who asks
 * (a begin reply's default agent: its widget's organisation, or the
 * default one's). answer_in_visitor_language: the
 * turn's system prompt asks the model to answer in the visitor's
 * language when the widget told it. knowledge_sources: the ids of the
 * organisation's knowledge sources each turn searches (at most 50, "ks_"
 * and 32 hex each; none: no search; a begin reply's default agent: its
 * organisation's sources that have chunks, storaged's
 * store_kb_default_sources), their best passages put in the prompt to
 * be cited; knowledge_only: with nothing found, the agent
 * says it does not know and offers a person instead of asking the model;
 * rewrite_follow_ups: a question that follows others is first rewritten
 * by the model into one that stands alone, which is what is searched
 * (one more model call before the answer). embedding_model: "" the
 * install's (PARLEY_EMBED_MODEL at OPENAI_BASE_URL); else the model of
 * the agent's own model server (base_url, api_key) that embeds its
 * sources' chunks and its questions, in a vector space of their own
 * (kbmsg.h, st_kb_space_id). actions: the ids of the organisation's
 * actions (actionmsg.h) its turns may call (at most 16, "act_" and 32
 * hex each; none: no tools), those deleted or disabled left out.
 * handoff_tool: its model may hand the conversation to a person by itself
 * (a built-in tool, transfer_to_human, offered where the widget has a
 * person to hand over to). knowledge_search_tool: its model may search its
 * knowledge sources again with a query of its own (a built-in tool,
 * search_knowledge), the passages it finds numbered after the prompt's.
 * contact_form_tool: its model may ask the visitor for their contact
 * details (a built-in tool, collect_contact, offered where the widget
 * collects some and this visitor has not left them): the widget shows
 * its contact form, and the call ends when they are saved or skipped.
 * resolve_after_s: a conversation it answered, in which no person was
 * asked for, is resolved by the assistant when the visitor has not
 * written for this many seconds (0: never).
 * vision: its model takes images: the visitor's recent pictures go to it
 * as image_url parts (workerd/chat/turn.c).
 */
#define ST_AGENT_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_ID_HEX, 0)					\
	F(STR, name, "name", 1, ST_AF_NAME,				\
	    RF_ADM, ST_AGENT_NAME_MAX, 1)				\
	F(BYTES, system_prompt, "system_prompt", 1, ST_AF_SYSTEM_PROMPT, \
	    RF_ADM, ST_AGENT_PROMPT_MAX, 0)				\
	F(BYTES, model, "model", 1, ST_AF_MODEL,			\
	    RF_ADM, ST_MODEL_MAX, 0)					\
	F(U32, temperature_milli, "temperature", 1, ST_AF_TEMPERATURE,	\
	    RF_ADM, UINT32_MAX, ST_AGENT_UNSET)				\
	F(COUNT, max_tokens, "max_tokens", 1, ST_AF_MAX_TOKENS,		\
	    RF_ADM, ST_AGENT_TOKENS_MAX, 0)				\
	F(COUNT, history_messages, "history_messages", 1, ST_AF_HISTORY, \
	    RF_ADM, ST_AGENT_HISTORY_MAX, 0)				\
	F(BYTES, base_url, "base_url", 1, ST_AF_BASE_URL,		\
	    RF_ADM, ST_AGENT_URL_MAX, 0)				\
	F(BYTES, api_key, "api_key", 1, ST_AF_API_KEY,			\
	    RF_HID, ST_AGENT_KEY_MAX, 0)				\
	F(BOOL, api_key_set, "api_key_set", 1, RF_RO,			\
	    RF_ADM, 1, 0)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(BUF, org, "organization_id", 2, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(BOOL, answer_in_visitor_language, "answer_in_visitor_language", \
	    3, ST_AF_VISITOR_LANG, RF_ADM, 1, 0)				\
	F(LIST, knowledge_sources, "knowledge_source_ids", 4,		\
	    ST_AF_KNOWLEDGE, RF_ADM, ST_AGENT_SOURCES_MAX,		\
	    ST_AGENT_SOURCE_ID_LEN)					\
	F(BOOL, knowledge_only, "knowledge_only", 4, ST_AF_KNOWLEDGE_ONLY, \
	    RF_ADM, 1, 0)						\
	F(BOOL, rewrite_follow_ups, "rewrite_follow_ups", 5, ST_AF_REWRITE, \
	    RF_ADM, 1, 0)						\
	F(BYTES, embedding_model, "embedding_model", 6, ST_AF_EMBED_MODEL, \
	    RF_ADM, ST_MODEL_MAX, 0)					\
	F(LIST, actions, "action_ids", 7, ST_AF_ACTIONS, RF_ADM,	\
	    ST_AGENT_ACTION_IDS_MAX, ST_AGENT_ACTION_ID_LEN)		\
	F(BOOL, handoff_tool, "handoff_tool", 7, ST_AF_HANDOFF_TOOL,	\
	    RF_ADM, 1, 0)						\
	F(BOOL, search_tool, "knowledge_search_tool", 7, ST_AF_SEARCH_TOOL, \
	    RF_ADM, 1, 0)						\
	F(BOOL, contact_tool, "contact_form_tool", 8, ST_AF_CONTACT_TOOL, \
	    RF_ADM, 1, 0)						\
	F(U32, resolve_after_s, "resolve_after_seconds", 8,		\
	    ST_AF_RESOLVE_AFTER, RF_ADM, ST_AGENT_RESOLVE_MAX,		\
	    ST_AGENT_RESOLVE_DEF)					\
	F(BOOL, vision, "vision", 9, ST_AF_VISION, RF_ADM, 1, 0)

/* -------------------------------------------- an API key (keymsg.h) */

/*
 * The API key record, a row per field in stored order (record.h), of
 * format 1: its name malloc'd, 1-100 characters of UTF-8; its hash (32
 * stored, none in replies) and its organisation never shown, nor its
 * updated_at.
 */
#define ST_APIKEY_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_KEY_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(STR, name, "name", 1, ST_KF_NAME,				\
	    RF_ADM, ST_KEY_NAME_MAX, 1)					\
	F(U8, role, "role", 1, ST_KF_ROLE,				\
	    RF_ADM, ST_ROLE_OWNER, 0)					\
	F(HASH, hash, "hash", 1, RF_RO,					\
	    RF_HID, ST_KEY_HASH_LEN, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, last_used_at, "last_used_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)

/* -------------------------------------------- a webhook (hookmsg.h) */

/*
 * The webhook record, a row per field in stored order (record.h), of
 * format 1. Its url is malloc'd; its events ST_HE_* bits (shown as their
 * names, workerd/admin/webhooks.c); its secret never shown but by the
 * create's reply ("" in the others) and zeroed when freed; a new one is
 * enabled.
 */
#define ST_WEBHOOK_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_HOOK_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(BYTES, url, "url", 1, ST_HF_URL,				\
	    RF_ADM, ST_HOOK_URL_MAX, 0)					\
	F(U32, events, "events", 1, ST_HF_EVENTS,			\
	    RF_ADM, ST_HE_ALL, 0)					\
	F(BOOL, enabled, "enabled", 1, ST_HF_ENABLED,			\
	    RF_ADM, 1, 1)						\
	F(SECRET, secret, "secret", 1, RF_RO,				\
	    RF_HID, ST_HOOK_SECRET_MAX, 0)				\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(U32, failures, "failures", 1, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)					\
	F(TIME, disabled_at, "disabled_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(SECRET, old_secret, "previous_secret", 2, RF_RO,		\
	    RF_HID, ST_HOOK_SECRET_MAX, 0)				\
	F(TIME, old_until, "previous_secret_until", 2, RF_RO,		\
	    RF_ADM, 0, 0)

/* ----------------------------------- a webhook delivery (hookmsg.h) */

/*
 * The delivery record, a row per field in stored order (record.h), of
 * format 1: storaged's alone (no request sets a row). Its event (one
 * ST_HE_* bit or ST_HE_TEST) is shown as its name, its code, error,
 * duration and next attempt as null when there are none
 * (workerd/admin/webhooks.c); its organisation and payload (NULL, none,
 * in lists) never.
 */
#define ST_DELIVERY_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_DLV_ID_LEN, 0)					\
	F(BUF, hook, "webhook_id", 1, RF_RO,				\
	    RF_ADM, ST_HOOK_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(U32, event, "event", 1, RF_RO,				\
	    RF_ADM, ST_HE_MAX, 0)					\
	F(ENUM, status, "status", 1, RF_RO,				\
	    RF_ADM, ST_DLV_FAILED, ST_DLV_PENDING)			\
	F(U32, attempts, "attempts", 1, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, next_at, "next_attempt_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(U32, code, "response_code", 1, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)					\
	F(BUF, error, "last_error", 1, RF_RO,				\
	    RF_ADM, ST_DLV_ERROR_MAX, 0)				\
	F(U32, duration_ms, "duration_ms", 1, RF_RO,			\
	    RF_ADM, UINT32_MAX, 0)					\
	F(PAYLOAD, payload, "payload", 1, RF_RO,			\
	    RF_HID, PROTO_MAX_PAYLOAD, 0)

/* ----------------------------------------------- a mail (mailmsg.h) */

/*
 * The mail record, a row per field in stored order (record.h), of format
 * 1: its id ("ml_" + 32 hex: its number as storaged's seqid.c shows
 * it; "ml_" + the number in 16 hex in one stored before, shown so too),
 * its organisation, kind (one ST_MAIL_* bit),
 * attempts, created_at and next_at, the last failure (error), its
 * recipients' emails (malloc'd) and the event; format 2 held: a
 * summary's count of the events past ST_MAIL_BOUND it tells of (no
 * event then), 0 an event's own mail. The notifier's alone: never
 * shown, no request sets a row.
 */
#define ST_MAIL_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_HID, ST_MAIL_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(U32, kind, "kind", 1, RF_RO,					\
	    RF_HID, ST_MAIL_ALL, 0)					\
	F(U32, attempts, "attempts", 1, RF_RO,				\
	    RF_HID, UINT32_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, next_at, "next_at", 1, RF_RO,				\
	    RF_HID, 0, 0)						\
	F(BUF, error, "error", 1, RF_RO,				\
	    RF_HID, ST_MAIL_ERROR_MAX, 0)				\
	F(LIST, rcpt, "recipients", 1, RF_RO,				\
	    RF_HID, ST_MAIL_RCPT_MAX, ST_EMAIL_MAX)			\
	F(PAYLOAD, payload, "payload", 1, RF_RO,			\
	    RF_HID, PROTO_MAX_PAYLOAD, 0)				\
	F(U32, held, "held", 2, RF_RO,					\
	    RF_HID, UINT32_MAX, 0)

/* -------------------------------------- a canned reply (inboxmsg.h) */

/*
 * The canned reply record, a row per field in stored order (record.h),
 * of format 2: its id ("cr_" + 32 lowercase hex), its shortcut (1-32 of
 * [a-z0-9_-]), its text (malloc'd, 1-2000 characters of UTF-8), its
 * times (ms; the admin API's JSON names them in camelCase), since format
 * 2 its files (attachments in state ST_ATT_CANNED, described as a
 * message's are). No row has
 * a bit: ST_CANNED_PUT sets shortcut and text whole, no update mask.
 */
#define ST_CANNED_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_CANNED_ID_LEN, 0)				\
	F(BUF, shortcut, "shortcut", 1, RF_RO,				\
	    RF_ADM, ST_CANNED_SHORT_MAX, 0)				\
	F(STR, text, "text", 1, RF_RO,					\
	    RF_ADM, ST_CANNED_TEXT_CHARS, 1)				\
	F(TIME, created_at, "createdAt", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updatedAt", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(ATTS, atts, "attachments", 2, RF_RO, RF_ADM, ST_MSG_ATTS_MAX, 0)

/* ------------------------------------------ an action (actionmsg.h) */

/*
 * The action record, a row per field in stored order (record.h), of
 * format 1. name is the tool's name the model calls (unique in its
 * organisation); description tells the model when to use it;
 * parameters is a JSON Schema of the arguments, as JSON text (the admin
 * API shows and takes it as an object: workerd/admin/actions.c, which
 * checks it with workerd/actions/schema.c); url and body are templates
 * (workerd/actions/template.c: {{argument}}, {{visitor.external_id}},
 * {{visitor.email}}; body "" sends none); headers are sent with each
 * call, "Name: value" lines, never shown (header_names, storaged's
 * from them: each name and a newline, says which are set); changes_data: the visitor confirms each
 * call first; requires_verified: only a verified visitor's turn may call
 * it; timeout_ms and max_response_bytes null are ST_ACTION_TIMEOUT_DEF
 * and ST_ACTION_ANSWER_DEF.
 */
#define ST_ACTION_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_ACTION_ID_LEN, 0)				\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(BUF, name, "name", 1, ST_ACF_NAME,				\
	    RF_ADM, ST_ACTION_NAME_MAX, 0)				\
	F(STR, description, "description", 1, ST_ACF_DESCRIPTION,	\
	    RF_ADM, ST_ACTION_DESC_MAX, 1)				\
	F(BYTES, parameters, "parameters", 1, ST_ACF_PARAMETERS,	\
	    RF_ADM, ST_ACTION_SCHEMA_MAX, 0)				\
	F(ENUM, method, "method", 1, ST_ACF_METHOD,			\
	    RF_ADM, ST_METHOD_MAX, ST_METHOD_GET)			\
	F(BYTES, url, "url", 1, ST_ACF_URL,				\
	    RF_ADM, ST_ACTION_URL_MAX, 0)				\
	F(BYTES, body, "body", 1, ST_ACF_BODY,				\
	    RF_ADM, ST_ACTION_BODY_MAX, 0)				\
	F(BYTES, headers, "headers", 1, ST_ACF_HEADERS,		\
	    RF_HID, ST_ACTION_HLINES_MAX, 0)				\
	F(BUF, header_names, "header_names", 1, RF_RO,			\
	    RF_ADM, ST_ACTION_HNAMES_MAX, 0)				\
	F(BOOL, changes_data, "changes_data", 1, ST_ACF_CHANGES,	\
	    RF_ADM, 1, 0)						\
	F(BOOL, requires_verified, "requires_verified", 1, ST_ACF_VERIFIED, \
	    RF_ADM, 1, 0)						\
	F(COUNT, timeout_ms, "timeout_ms", 1, ST_ACF_TIMEOUT,		\
	    RF_ADM, ST_ACTION_TIMEOUT_MAX, 0)				\
	F(COUNT, max_response_bytes, "max_response_bytes", 1, ST_ACF_ANSWER, \
	    RF_ADM, ST_ACTION_ANSWER_MAX, 0)				\
	F(BOOL, enabled, "enabled", 1, ST_ACF_ENABLED,			\
	    RF_ADM, 1, 1)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)

/* ------------------------------------- a knowledge source (kbmsg.h) */

/*
 * The source record, of format 4 (format 1: no embedding_tokens; 2: no
 * sync_again; 3: no bytes). A crawl's url is its start page or sitemap; a file's the name it was uploaded under; a qa's question and
 * answer are its one chunk. language: the widget language its words are
 * analysed in ("" is English). max_pages, max_depth: a crawl's bounds
 * (null: the fetcher's defaults); sync_hours: how often it syncs again
 * (null: on demand only). status, error, pages, chunks and the times are
 * storaged's; embed_tokens, the tokens the embedding model reported for
 * its pages (PARLEY_EMBED_MODEL), summed (at most UINT32_MAX);
 * sync_again, set when an agent reading it got an embedding model (or
 * server) while it synced: the running sync's spaces were fixed when it
 * began, so its end makes it due again at once (kb_sync_soon).
 * bytes: what it keeps, counted against its organisation's knowledge
 * base quota (kbpage.c's kb_usage: its pages', its file's, a qa's
 * chunk; a u64, so a TIME row as sync_id is; absent from a source of
 * format 3 or older: storaged's kbcount.c counts it once at open).
 */
#define ST_KBSOURCE_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_KB_SOURCE_ID_LEN, 0)				\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(ENUM, source_type, "type", 1, ST_KSF_TYPE,			\
	    RF_ADM, ST_KB_TYPE_MAX, ST_KB_CRAWL)			\
	F(STR, name, "name", 1, ST_KSF_NAME,				\
	    RF_ADM, ST_KB_NAME_MAX, 0)					\
	F(BYTES, url, "url", 1, ST_KSF_URL,				\
	    RF_ADM, ST_KB_URL_MAX, 0)					\
	F(BUF, lang, "language", 1, ST_KSF_LANG,			\
	    RF_ADM, ST_KB_LANG_MAX, 0)					\
	F(STR, question, "question", 1, ST_KSF_QUESTION,		\
	    RF_ADM, ST_KB_QUESTION_MAX, 0)				\
	F(BYTES, answer, "answer", 1, ST_KSF_ANSWER,			\
	    RF_ADM, ST_KB_TEXT_MAX, 0)					\
	F(COUNT, max_pages, "max_pages", 1, ST_KSF_MAX_PAGES,		\
	    RF_ADM, ST_KB_PAGES_MAX, 0)				\
	F(COUNT, max_depth, "max_depth", 1, ST_KSF_MAX_DEPTH,		\
	    RF_ADM, ST_KB_DEPTH_MAX, 0)				\
	F(COUNT, sync_hours, "sync_hours", 1, ST_KSF_SYNC_HOURS,	\
	    RF_ADM, ST_KB_SYNC_HOURS_MAX, 0)				\
	F(ENUM, sync_status, "status", 1, RF_RO,			\
	    RF_ADM, ST_KB_STATUS_MAX, ST_KB_SYNCING)			\
	F(BYTES, error, "error", 1, RF_RO,				\
	    RF_ADM, ST_KB_ERROR_MAX, 0)				\
	F(U32, pages, "pages", 1, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)					\
	F(U32, chunks, "chunks", 1, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)					\
	F(TIME, synced_at, "synced_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, next_sync_at, "next_sync_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, sync_id, "sync_id", 1, RF_RO,				\
	    RF_HID, 0, 0)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(U32, embed_tokens, "embedding_tokens", 2, RF_RO,		\
	    RF_ADM, UINT32_MAX, 0)					\
	F(BOOL, sync_again, "sync_again", 3, RF_RO,			\
	    RF_HID, 1, 0)						\
	F(TIME, bytes, "bytes", 4, RF_RO,				\
	    RF_ADM, 0, 0)

/* --------------------------------------- a knowledge page (kbmsg.h) */

/*
 * A page a crawl or file source read, of format 5: where (url, as
 * fetched after redirects), its title, the validators of a conditional
 * GET (etag, last_modified), the SHA-256 of its bytes, the HTTP status
 * (0: none, the fetch failed) and why it gave no chunks (error), its
 * chunk count, the sync that last saw it (seen: a sync id) and when;
 * since format 2, the links a link crawl follows from it (links_known:
 * links holds them, one a line, each after the crawl's start directory),
 * so that a re-sync asks it conditionally and on a 304 follows them
 * unread; and its parts: a page of more than ST_KB_PAGE_CHUNKS_MAX
 * chunks is stored as parts of that many, the first under its URL (with
 * parts, their count), the next ones under the URL and "#part-2", ...
 * (0 or 1: one part); and the vector spaces (st_kb_space) other than
 * the install's its chunks have vectors in, each id and a newline (those
 * of its part alone: ST_KB_PAGE_GET answers those of every part, and the
 * install's as an empty line when its chunks have its vectors); since
 * format 3, the start directory its links follow (links_base: a changed
 * start URL has other links, so stored ones of another base are not
 * followed, the page read whole again); since format 4, the language its
 * chunks were analysed in (lang: its source's when they were put; a
 * source's language changed, its pages are read whole again); since
 * format 5, the bytes it takes (bytes: its record's, its chunks' and
 * their vectors', as storaged's kbusage.c counts them against its
 * organisation's quota; 0 for a page of format 4 or older until
 * storaged's kbcount.c counts it, once at open).
 */
#define ST_KBPAGE_ROWS(F)						\
	F(BUF, source_id, "source_id", 1, RF_RO,			\
	    RF_ADM, ST_KB_SOURCE_ID_LEN, 0)				\
	F(BYTES, url, "url", 1, RF_RO,					\
	    RF_ADM, ST_KB_URL_MAX, 0)					\
	F(STR, title, "title", 1, RF_RO,				\
	    RF_ADM, ST_KB_TITLE_MAX, 0)					\
	F(BYTES, etag, "etag", 1, RF_RO,				\
	    RF_HID, ST_KB_ETAG_MAX, 0)					\
	F(BYTES, last_modified, "last_modified", 1, RF_RO,		\
	    RF_HID, ST_KB_LASTMOD_MAX, 0)				\
	F(BUF, hash, "hash", 1, RF_RO,					\
	    RF_HID, ST_KB_HASH_HEX, 0)					\
	F(U32, code, "status_code", 1, RF_RO,				\
	    RF_ADM, 999, 0)						\
	F(BYTES, error, "error", 1, RF_RO,				\
	    RF_ADM, ST_KB_ERROR_MAX, 0)				\
	F(U32, chunks, "chunks", 1, RF_RO,				\
	    RF_ADM, ST_KB_PAGE_CHUNKS_MAX, 0)				\
	F(TIME, seen, "sync_id", 1, RF_RO,				\
	    RF_HID, 0, 0)						\
	F(TIME, fetched_at, "fetched_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(BYTES, links, "links", 2, RF_RO,				\
	    RF_HID, ST_KB_LINKS_MAX, 0)					\
	F(BOOL, links_known, "links_known", 2, RF_RO,			\
	    RF_HID, 1, 0)						\
	F(U32, parts, "parts", 2, RF_RO,				\
	    RF_HID, ST_KB_PAGE_PARTS_MAX, 0)				\
	F(BYTES, spaces, "spaces", 2, RF_RO,				\
	    RF_HID, ST_KB_PAGE_SPACES_MAX, 0)				\
	F(BYTES, links_base, "links_base", 3, RF_RO,			\
	    RF_HID, ST_KB_URL_MAX, 0)					\
	F(BUF, lang, "language", 4, RF_RO,				\
	    RF_HID, ST_KB_LANG_MAX, 0)					\
	F(U32, bytes, "bytes", 5, RF_RO,				\
	    RF_ADM, UINT32_MAX, 0)

/* -------------------------------------- a knowledge chunk (kbmsg.h) */

/*
 * The chunk record, a row per field in stored order (record.h). org and
 * source_id say whose it is (a search sees its organisation's alone; a
 * source's deletion removes its chunks); lang is the language its words
 * were analysed in; the lengths are its fields' words as indexed. No
 * route shows a chunk yet: every row is hidden (RF_HID) until one does.
 */
#define ST_KBCHUNK_ROWS(F)						\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(BUF, source_id, "source_id", 1, RF_RO,			\
	    RF_HID, ST_KB_SOURCE_ID_LEN, 0)				\
	F(BUF, lang, "language", 1, RF_RO,				\
	    RF_HID, ST_KB_LANG_MAX, 0)					\
	F(BYTES, url, "url", 1, RF_RO,					\
	    RF_HID, ST_KB_URL_MAX, 0)					\
	F(STR, title, "title", 1, RF_RO,				\
	    RF_HID, ST_KB_TITLE_MAX, 0)					\
	F(STR, headings, "headings", 1, RF_RO,				\
	    RF_HID, ST_KB_HEADINGS_MAX, 0)				\
	F(BYTES, text, "text", 1, RF_RO,				\
	    RF_HID, ST_KB_TEXT_MAX, 0)					\
	F(U32, len_title, "len_title", 1, RF_RO,			\
	    RF_HID, UINT32_MAX, 0)					\
	F(U32, len_headings, "len_headings", 1, RF_RO,			\
	    RF_HID, UINT32_MAX, 0)					\
	F(U32, len_text, "len_text", 1, RF_RO,				\
	    RF_HID, UINT32_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)

/* --------------------------------------- a knowledge gap (gapmsg.h) */

/*
 * The gap record, a row per field in stored order (record.h): its id,
 * its organisation, conversation, widget and agent ("" the default
 * one), when the question was asked, the reasons (ST_GAP_*), the
 * question (cut at a character boundary) and its terms (up to
 * ST_GAP_TERMS_MAX hashes, 8 hex digits each, in the question's order,
 * each once). No request sets a row, and none is shown as itself: the
 * worker shows gaps grouped (workerd/admin/gaps.c writes their JSON).
 */
#define ST_GAP_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_HID, ST_GAP_ID_HEX, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_ORG_ID_MAX, 0)					\
	F(BUF, conv_id, "conversation_id", 1, RF_RO,			\
	    RF_HID, ST_ID_HEX, 0)					\
	F(BUF, widget, "widget_id", 1, RF_RO,				\
	    RF_HID, ST_WIDGET_MAX, 0)					\
	F(BUF, agent, "agent_id", 1, RF_RO,				\
	    RF_HID, ST_ID_HEX, 0)					\
	F(TIME, at, "at", 1, RF_RO,					\
	    RF_HID, 0, 0)						\
	F(U8, reasons, "reasons", 1, RF_RO,				\
	    RF_HID, ST_GAP_REASONS_ALL, 0)				\
	F(BYTES, question, "question", 1, RF_RO,			\
	    RF_HID, ST_GAP_QUESTION_MAX, 0)				\
	F(BUF, terms, "terms", 1, RF_RO,				\
	    RF_HID, 8 * ST_GAP_TERMS_MAX, 0)

/* ----------------------------------------- an attachment (attmsg.h) */

/*
 * The attachment record, a row per field in stored order (record.h): its
 * id, organisation, the widget a visitor sent it through (its internal
 * id; "" a person's) and the visitor's session (its token's hash, hex;
 * "" a person's), the person's user id ("" a visitor's or a key's), its
 * conversation once named ("" before), name, type (enum attach_type),
 * size, bytes received, when made, when an upload not yet named is swept
 * (0 once named), state, scan, the key its links are signed with, and
 * its pieces' SHA-256s (hex, in order); format 2 a PDF's text's outcome
 * (enum st_att_text_status: READY, FAILED; NONE not read yet, and a
 * format 1 record's, which its kept text decides). Never shown as
 * itself: the message that names it shows its description (st_msg_att).
 */
#define ST_ATT_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_HID, ST_ATT_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_ORG_ID_MAX, 0)					\
	F(BUF, widget, "widget", 1, RF_RO,				\
	    RF_HID, ST_WIDGET_MAX, 0)					\
	F(BUF, session, "session", 1, RF_RO,				\
	    RF_HID, 2 * ST_TOKEN_HASH_LEN, 0)				\
	F(BUF, author, "author_id", 1, RF_RO,				\
	    RF_HID, ST_WHO_USER_MAX, 0)					\
	F(BUF, conv_id, "conversation_id", 1, RF_RO,			\
	    RF_HID, ST_ID_HEX, 0)					\
	F(BUF, name, "name", 1, RF_RO,					\
	    RF_HID, ST_ATT_NAME_MAX, 0)					\
	F(U8, type, "type", 1, RF_RO,					\
	    RF_HID, ATTACH_NTYPES - 1, 0)				\
	F(U32, size, "size", 1, RF_RO,					\
	    RF_HID, ST_ATT_MAX, 0)					\
	F(U32, received, "received", 1, RF_RO,				\
	    RF_HID, ST_ATT_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, expires_at, "expires_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(U8, state, "state", 1, RF_RO,					\
	    RF_HID, ST_ATT_CANNED, 0)					\
	F(U8, scan, "scan", 1, RF_RO,					\
	    RF_HID, ST_ATT_SCAN_MAX, 0)					\
	F(BUF, key, "key", 1, RF_RO,					\
	    RF_HID, ST_ATT_KEY_HEX, 0)					\
	F(LIST, pieces, "pieces", 1, RF_RO,				\
	    RF_HID, ST_ATT_PIECES_MAX, 2 * ST_ATT_HASH_LEN)		\
	F(U8, text_status, "text_status", 2, RF_RO,			\
	    RF_HID, ST_ATT_TEXT_FAILED, 0)

#endif /* PARLEY_RECORDTAB_H */
