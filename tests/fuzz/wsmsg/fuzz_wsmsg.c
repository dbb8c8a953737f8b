/*
 * libFuzzer target for the parser of the widget visitor's WebSocket
 * messages (wsmsg.c). Whatever the bytes, it must not crash, and what it
 * accepts must hold: a message's content is 1..CHAT_MESSAGE_MAX
 * characters without NUL and not blank, a contact's fields, a
 * resume's token and an open_conversation's id (issue 26) are
 * NUL-terminated strings, what a visitor message keeps is within its
 * bounds (issue 24), a feedback's and a rating's fields are within
 * theirs (issue 26), a confirm's and a tool result's call id is 1 to 64
 * bytes and a page's tools frame holds its list (actions), a refusal
 * says why.
 *
 * The same bytes go to the dashboard's Last-Event-ID (events.c), whose
 * accepted ids read back the same once printed as the server prints ids.
 * A message's attachments are at most 5 upload ids, and then its words
 * may be none. The chat API's body has its own target (fuzz_chatbody).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "chat.h"
#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_wsmsg: %s\n", what);
		abort();
	}
}

/*
 * events_id_parse: no crash; an accepted id is 32 lowercase hex digits,
 * and the id of what it reads is itself.
 */
static void
last_event_id(const uint8_t *data, size_t size)
{
	static const uint8_t key[ST_EV_KEY_LEN] = { 'f', 'u', 'z', 'z' };
	char s[128], again[EVENTS_ID_LEN + 1];
	uint64_t e, q;

	if (size >= sizeof(s))
		return;		/* the header is cut well before this */
	memcpy(s, data, size);
	s[size] = '\0';
	if (events_id_parse(key, s, &e, &q) < 0)
		return;
	check(events_id_make(key, e, q, again) == 0 &&
	    strcmp(again, s) == 0, "a Last-Event-ID does not read back");
}

/* A message's upload ids: at most 5, each "att_" and 32 hex digits. */
static void
attachment_ids(const struct st_str *ids, uint32_t n)
{
	uint32_t i;

	check(n <= ST_MSG_ATTS_MAX, "too many attachments");
	for (i = 0; i < n; i++)
		check(st_prefixed_id_valid(ids[i].s, "att_"), "an upload id");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsmsg m;
	size_t chars, len = size;

	if (wsmsg_parse((const char *)data, size, &m) < 0) {
		check(m.type == WSMSG_INVALID, "refused but typed");
		check(m.error[0] != '\0', "refused without a reason");
		check(m.root == NULL, "refused but kept the JSON");
	} else if (m.type == WSMSG_MESSAGE) {
		check(m.content != NULL, "no content");
		check(memchr(m.content, '\0', m.content_len) == NULL, "NUL");
		chars = utf8_chars(m.content, m.content_len);
		/* Files may go without words. */
		check((chars >= 1 || m.natts > 0) && chars <= CHAT_MESSAGE_MAX,
		    "length");
		check(m.natts > 0 || !chat_blank(m.content, m.content_len),
		    "blank");
		attachment_ids(m.atts, m.natts);
	} else if (m.type == WSMSG_REQUEST_HUMAN ||
	    m.type == WSMSG_AVAILABILITY) {
		check(m.root != NULL, "request_human without its JSON");
	} else if (m.type == WSMSG_VISITOR) {
		/* What it keeps is within its bounds, the URLs http(s). */
		check(m.visitor.page_url == NULL || !*m.visitor.page_url ||
		    (strlen(m.visitor.page_url) <= ST_VISITOR_URL_MAX &&
		    strchr(m.visitor.page_url, '#') == NULL &&
		    strncmp(m.visitor.page_url, "http", 4) == 0), "page url");
		check(m.visitor.referrer == NULL || !*m.visitor.referrer ||
		    (strlen(m.visitor.referrer) <= ST_VISITOR_URL_MAX &&
		    strncmp(m.visitor.referrer, "http", 4) == 0), "referrer");
		check(m.visitor.user_agent == NULL ||
		    strlen(m.visitor.user_agent) <= ST_VISITOR_UA_MAX, "ua");
		check(m.visitor.language == NULL ||
		    strlen(m.visitor.language) <= ST_VISITOR_LANG_MAX, "lang");
		check(m.visitor.time_zone == NULL ||
		    strlen(m.visitor.time_zone) <= ST_VISITOR_TZ_MAX, "zone");
	} else if (m.type == WSMSG_FEEDBACK) {
		/* Issue 26: a message id, a value of enum st_feedback. */
		check(m.msg_id != NULL && st_id_valid(m.msg_id), "message_id");
		check(m.value <= ST_FEEDBACK_DOWN, "feedback value");
	} else if (m.type == WSMSG_RATING) {
		check(m.score >= 1 && m.score <= 5, "score");
		check(m.comment != NULL && utf8_chars(m.comment,
		    strlen(m.comment)) <= ST_RATING_COMMENT_CHARS, "comment");
	} else if (m.type == WSMSG_CONV_OPEN) {
		check(m.conv_id != NULL, "open_conversation without its id");
		check(strlen(m.conv_id) <= len, "id past the frame");
	} else if (m.type == WSMSG_NEW_CONV || m.type == WSMSG_CONV_LIST) {
		check(m.root != NULL, "a conversations frame without its JSON");
	} else if (m.type == WSMSG_RESUME) {
		check(m.token != NULL, "no token");
		(void)strlen(m.token);
	} else if (m.type == WSMSG_IDENTIFY) {
		check(m.ext_id != NULL && m.name != NULL && m.email != NULL &&
		    m.hash != NULL && m.email_hash != NULL,
		    "an identify field is NULL");
		chars = utf8_chars(m.ext_id, strlen(m.ext_id));
		check(chars >= 1 && chars <= ST_EXTERNAL_ID_MAX, "id length");
		check(utf8_chars(m.name, strlen(m.name)) <= ST_CONTACT_NAME_MAX,
		    "name length");
		check(!*m.email || st_email_valid(m.email), "email");
		(void)strlen(m.hash);
		(void)strlen(m.email_hash);
	} else if (m.type == WSMSG_CONFIRM || m.type == WSMSG_TOOL_RESULT) {
		/* A call's id, 1 to 64 bytes; a tool result's text. */
		check(m.call_id != NULL && strlen(m.call_id) >= 1 &&
		    strlen(m.call_id) <= 64, "a call's id");
		check(m.type == WSMSG_CONFIRM || (m.result != NULL &&
		    strlen(m.result) <= len), "a tool result's text");
	} else if (m.type == WSMSG_TOOLS) {
		check(m.tools != NULL, "tools without its list");
	} else {
		check(m.type == WSMSG_CONTACT, "unknown type accepted");
		check(m.name != NULL && m.email != NULL && m.phone != NULL,
		    "a contact field is NULL");
		(void)strlen(m.name);
		(void)strlen(m.email);
		(void)strlen(m.phone);
	}
	wsmsg_free(&m);
	last_event_id(data, size);
	return 0;
}
