/*
 * The owner stepping into a conversation (docs/widget-protocol.md, "Human
 * handoff"), authorised as the rest of the admin API:
 *
 *	POST /v1/admin/conversations/:id/handoff  {"state":"human"|"ai"|
 *		"waiting_human"[,"name":...]}  -> 200 {"conversation","changed"}
 *	POST /v1/admin/conversations/:id/messages {"content":...[,"name":...]}
 *		-> 201 {"message"}
 *	POST /v1/admin/conversations/:id/typing   {"typing":bool[,"name":...]}
 *		-> 204
 *	POST /v1/admin/conversations/:id/assign   {"user_id":"usr_..."|null}
 *		-> 200 {"conversation","changed"}; below owner, only to
 *		oneself or nobody (403)
 *	PATCH /v1/admin/conversations/:id  {"state":"open"|"snoozed"|
 *		"resolved"[,"snoozed_until":ms]} -> 200 {"conversation",
 *		"changed"}
 *	GET  /v1/admin/conversations?handoff=open  (admin.c calls
 *		handoff_list here)
 *
 * Each is one storaged request (ST_HANDOFF_SET, ST_AGENT_MSG, ST_TYPING,
 * ST_CONV_ASSIGN, ST_CONV_STATE, ST_HANDOFF_LIST); storaged's events carry the change to
 * the visitor's socket on whichever worker holds it (wschat.c) and to the
 * dashboards (events.c). The name shown to the visitor is, for a
 * dashboard session, its user's account name (storaged signs the
 * message with it, and a session taking over becomes the conversation's
 * assignee); a key has no person: the body's "name", else
 * DASHBOARD_AGENT_NAME. A hand-back (state ai) of a conversation whose
 * last message is its visitor's, unanswered, has the assistant answer it
 * at once (chat_answer_last), once storaged confirmed the state. Typing
 * is bounded per person (session or key) and conversation in each
 * worker: the same state again within HANDOFF_TYPING_MS is answered but
 * not sent, so a key held down does not flood storaged and the visitors,
 * and two people typing are both told.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "attach.h"
#include "agentmsg.h"
#include "chat.h"
#include "exportrows.h"
#include "log.h"
#include "workerd.h"

#define TYPING_SLOTS	64	/* conversations whose typing is remembered */
#define TYPING_PREFIX	"/v1/admin/conversations/"

struct typing_slot {
	uint8_t kind;			/* who types: st_who's kind, id, org */
	char id[ST_WHO_ID_MAX + 1];
	char org[ST_WHO_ORG_MAX + 1];
	char conv[ST_ID_HEX + 1];
	uint64_t at;
	int on;
};

static struct typing_slot typing[TYPING_SLOTS];

static const struct storec_answer conv_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
	{ PROTO_E_INVALID, 400, "Invalid request" },
	{ 0, 0, NULL },
};

/* ------------------------------------------------------------- pure */

int
handoff_name_valid(const char *s, size_t len)
{
	ssize_t chars;
	size_t i;

	for (i = 0; i < len; i++)	/* NUL is a control byte too */
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	chars = proto_utf8_chars(s, len);	/* -1: not UTF-8 */
	return chars >= 1 && chars <= ST_MSG_NAME_MAX && !chat_blank(s, len);
}

/* Whether slot t is who's typing in conv. */
static int
typing_is(const struct typing_slot *t, const struct st_who *who,
    const char *conv)
{
	return t->kind == who->kind && strcmp(t->conv, conv) == 0 &&
	    strcmp(t->id, who->id) == 0 && strcmp(t->org, who->org) == 0;
}

int
handoff_typing_pass(const struct st_who *who, const char *conv, int on,
    uint64_t now)
{
	struct typing_slot *t, *oldest = &typing[0];
	size_t i;

	for (i = 0; i < TYPING_SLOTS; i++) {
		t = &typing[i];
		if (typing_is(t, who, conv)) {
			if (t->on == on && now < t->at + HANDOFF_TYPING_MS)
				return 0;
			t->on = on;
			t->at = now;
			return 1;
		}
		if (t->at < oldest->at)
			oldest = t;
	}
	oldest->kind = who->kind;
	strlcpy(oldest->id, who->id, sizeof(oldest->id));
	strlcpy(oldest->org, who->org, sizeof(oldest->org));
	strlcpy(oldest->conv, conv, sizeof(oldest->conv));
	oldest->on = on;
	oldest->at = now;
	return 1;
}

void
handoff_typing_forget(const struct st_who *who, const char *conv)
{
	size_t i;

	for (i = 0; i < TYPING_SLOTS; i++)
		if (typing_is(&typing[i], who, conv))
			memset(&typing[i], 0, sizeof(typing[i]));
}

void
handoff_typing_reset(void)
{
	memset(typing, 0, sizeof(typing));
}

/* ------------------------------------------------------------- body */

/*
 * The gated request's conversation (*id) and its JSON object body; keys
 * outside allowed (NULL-ended) are an error. NULL when answered (400).
 */
static json_t *
body_object(struct conn *c, struct http_request *req,
    const struct route_match *m, const char *const *allowed, const char **id)
{
	char err[96];
	const char *k;
	json_t *root;

	if ((*id = admin_id_param(c, req, m, "Invalid conversationId")) ==
	    NULL || (root = admin_json_body(c, req)) == NULL)
		return NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		conn_send_error(c, 400, admin_headers, "Invalid JSON body");
		return NULL;
	}
	if ((k = admin_body_other(root, allowed)) != NULL) {
		snprintf(err, sizeof(err), "%.40s: unknown field", k);
		conn_send_error(c, 400, admin_headers, err);
		json_decref(root);
		return NULL;
	}
	return root;
}

#define NAME_INVALID	"name: must be 1 to 100 characters"

/*
 * "name": absent or null is DASHBOARD_AGENT_NAME; else 1-100 characters.
 * NULL when invalid (NAME_INVALID).
 */
static const char *
body_name(json_t *root)
{
	json_t *v = json_object_get(root, "name");

	if (v == NULL || json_is_null(v))
		return wsettings.dashboard_agent_name != NULL ?
		    wsettings.dashboard_agent_name : HANDOFF_NAME_DEFAULT;
	if (!json_is_string(v) || !handoff_name_valid(json_string_value(v),
	    json_string_length(v)))
		return NULL;
	return json_string_value(v);
}

/* Lets go of the body; why not NULL: the request refused with it (400). */
static void
body_done(struct conn *c, json_t *root, const char *why)
{
	json_decref(root);
	if (why != NULL)
		conn_send_error(c, 400, admin_headers, why);
}

/* ---------------------------------------------------------- answers */

/* ST_HANDOFF_SET's reply: {"conversation", "changed"}. */
static json_t *
handoff_json(const void *rep, int *status)
{
	const struct st_handoff_set_rep *h = rep;

	return json_pack("{s:o, s:b}", "conversation",
	    admin_conv_json(&h->conv), "changed", h->changed);
}

/*
 * ST_HANDOFF_SET answered; a conversation it left the assistant's has
 * its visitor's unanswered message answered now (chat_answer_last:
 * storaged says whether there is one, and begins one turn for it,
 * however many hand-backs ask: one whose earlier answer was lost with
 * its worker asks again).
 */
static void
handoff_set_done(const struct storec_result *r, void *arg)
{
	struct st_handoff_set_rep h;
	char conv[ST_ID_HEX + 1] = "";

	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_HANDOFF_SET, &h) == 0) {
		if (h.conv.handoff == ST_HANDOFF_AI)
			strlcpy(conv, h.conv.id, sizeof(conv));
		st_rep_free(PROTO_ST_HANDOFF_SET, &h);
	}
	admin_answer(arg, r, PROTO_ST_HANDOFF_SET, 200, handoff_json,
	    conv_errors);
	if (conv[0] != '\0')
		chat_answer_last(conv);
}

/* ST_AGENT_MSG's reply (the message and its conversation): {"message"}. */
static json_t *
message_json(const void *rep, int *status)
{
	const struct st_msg_conv *mc = rep;

	return json_pack("{s:o}", "message", admin_msg_json(&mc->msg));
}

/* storaged's why of a refusal (its files: too many, twice, not whole). */
static const struct admin_reply message_done = {
	PROTO_ST_AGENT_MSG, 201, message_json, conv_errors, 1
};

/* Not found: storaged's text says whether the conversation or the user. */
static void
assign_done(const struct storec_result *r, void *arg)
{
	static const struct storec_answer user_errors[] = {
		{ PROTO_E_NOT_FOUND, 404, "User not found" },
		{ 0, 0, NULL },
	};
	int user = r->status == STOREC_ERROR &&
	    r->code == PROTO_E_NOT_FOUND && r->message != NULL &&
	    strcmp(r->message, "no such user") == 0;

	admin_answer(arg, r, PROTO_ST_CONV_ASSIGN, 200, handoff_json,
	    user ? user_errors : conv_errors);
}

/*
 * Refused (another organisation's id, one that does not exist): not
 * remembered, so each such request is storaged's 404. The route's path
 * is TYPING_PREFIX, the checked id, "/typing".
 */
static void
typing_done(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	char conv[ST_ID_HEX + 1];

	if (r->status != STOREC_OK && c->req != NULL &&
	    strncmp(c->req->path, TYPING_PREFIX, strlen(TYPING_PREFIX)) == 0) {
		strlcpy(conv, c->req->path + strlen(TYPING_PREFIX),
		    sizeof(conv));
		handoff_typing_forget(&c->who, conv);
	}
	admin_answer(c, r, PROTO_ST_TYPING, 204, NULL, conv_errors);
}

/* --------------------------------------------------------- handlers */

void
handoff_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char *const keys[] = { "state", "name", NULL };
	struct st_handoff_set_req hs;
	const char *why = NULL, *s;
	json_t *root;
	int state;

	if ((root = body_object(c, req, m, keys, &hs.conv_id)) == NULL)
		return;
	/* A NUL inside ("human\u0000x") is no state: never cut at. */
	s = exprow_plain(json_object_get(root, "state"));
	state = s != NULL ? st_handoff_parse(s) : -1;
	if (state < 0)
		why = "state: must be one of ai, waiting_human, human";
	else if ((hs.name = body_name(root)) == NULL)
		why = NAME_INVALID;
	else {
		hs.state = (uint8_t)state;
		hs.from_ai_only = 0;	/* the owner may set any state */
		admin_ask(c, PROTO_ST_HANDOFF_SET, &hs, handoff_set_done,
		    admin_headers);
	}
	body_done(c, root, why);
}

void
handoff_message_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char *const keys[] = { "content", "name", "attachments",
	    NULL };
	struct st_str ids[ST_MSG_ATTS_MAX];
	struct st_agent_msg_req am;
	const char *s, *why = NULL;
	json_t *root, *v;
	size_t len;

	memset(&am, 0, sizeof(am));
	if ((root = body_object(c, req, m, keys, &am.conv_id)) == NULL)
		return;
	v = json_object_get(root, "content");
	s = json_is_string(v) ? json_string_value(v) : NULL;
	len = s != NULL ? json_string_length(v) : 0;
	am.atts = ids;
	/* No NUL inside: the string is its length. Files may go alone. */
	if ((why = att_ids_json(json_object_get(root, "attachments"), ids,
	    &am.natts)) != NULL)
		;
	else if (am.natts > 0 && (v == NULL || json_is_null(v) ||
	    (s != NULL && len == 0)))
		s = "";
	else if (s == NULL || len < 1 || len > ST_CONTENT_MAX ||
	    memchr(s, '\0', len) != NULL || chat_blank(s, len))
		why = "content: must be 1 to 65536 bytes of text";
	if (why != NULL)
		;
	else if ((am.name = body_name(root)) == NULL)
		why = NAME_INVALID;
	else {
		am.content = s;
		admin_ask_reply(c, &am, &message_done);
	}
	body_done(c, root, why);
}

void
handoff_typing_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char *const keys[] = { "typing", "name", NULL };
	struct st_typing_req ty;
	const char *why = NULL;
	json_t *root, *v;

	if ((root = body_object(c, req, m, keys, &ty.conv_id)) == NULL)
		return;
	v = json_object_get(root, "typing");
	ty.on = json_is_true(v);
	if (!json_is_boolean(v))
		why = "typing: must be true or false";
	else if ((ty.name = body_name(root)) == NULL)
		why = NAME_INVALID;
	else if (!handoff_typing_pass(&c->who, ty.conv_id, ty.on,
	    loop_now()))
		conn_send(c, 204, admin_headers, NULL, NULL, 0);
	else
		admin_ask(c, PROTO_ST_TYPING, &ty, typing_done, admin_headers);
	body_done(c, root, why);
}

/*
 * Whom who may assign ("" nobody). The route lets agents in (router.c's
 * table); whom they name is the body's, so it is checked here: an owner
 * (the install key is one) anyone, an admin or an agent themself or
 * nobody (docs/dashboard.md's Assign to). A key acts with its role and
 * is nobody's self: below owner, it may only unassign.
 */
static int
assign_allowed(const struct st_who *who, const char *user_id)
{
	return who->role >= ST_ROLE_OWNER || *user_id == '\0' ||
	    (who->user[0] != '\0' && strcmp(user_id, who->user) == 0);
}

void
handoff_assign_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char *const keys[] = { "user_id", NULL };
	struct st_conv_assign_req as;
	const char *why = NULL;
	json_t *root, *v;

	if ((root = body_object(c, req, m, keys, &as.conv_id)) == NULL)
		return;
	v = json_object_get(root, "user_id");
	/* null: nobody answers it. */
	if (json_is_null(v))
		as.user_id = "";
	else if (json_is_string(v) && st_user_id_valid(json_string_value(v)))
		as.user_id = json_string_value(v);
	else
		why = "user_id: must be a user id or null";
	if (why != NULL)
		;
	else if (!assign_allowed(&c->who, as.user_id))
		conn_send_error(c, 403, admin_headers, "Only an owner can "
		    "assign a conversation to someone else");
	else
		admin_ask(c, PROTO_ST_CONV_ASSIGN, &as, assign_done,
		    admin_headers);
	body_done(c, root, why);
}

/* A snooze's time storaged refused: its text says why. */
static const struct admin_reply state_done = {
	PROTO_ST_CONV_STATE, 200, handoff_json, conv_errors, 1
};

/* A person resolves, snoozes or reopens it (storaged checks the times). */
void
handoff_state_patch(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char *const keys[] = { "state", "snoozed_until", NULL };
	struct st_conv_state_req q = { NULL, 0, 0 };
	const char *why = NULL, *s;
	json_t *root, *st, *until;
	int state;

	if ((root = body_object(c, req, m, keys, &q.conv_id)) == NULL)
		return;
	st = json_object_get(root, "state");
	until = json_object_get(root, "snoozed_until");
	if ((s = exprow_plain(st)) == NULL ||
	    (state = st_conv_state_parse(s)) < 0)
		why = "state: must be open, snoozed or resolved";
	else if (state == ST_STATE_SNOOZED && (!json_is_integer(until) ||
	    json_integer_value(until) <= 0))
		why = "snoozed_until: a time in ms since the epoch, with "
		    "snoozed";
	else if (state != ST_STATE_SNOOZED && until != NULL &&
	    !json_is_null(until))
		why = "snoozed_until: only with state snoozed";
	else {
		q.state = (uint8_t)state;
		q.snoozed_until = state == ST_STATE_SNOOZED ?
		    (uint64_t)json_integer_value(until) : 0;
		admin_ask_reply(c, &q, &state_done);
	}
	body_done(c, root, why);
}

/* ST_HANDOFF_LIST's page of conversations. */
static json_t *
list_json(const void *rep, int *status)
{
	const struct st_conv_page *l = rep;

	return admin_page_json("conversations", ADMIN_ITEMS_JSON(l->convs,
	    l->n, admin_conv_item), l->total, l->next_cursor);
}

static const struct admin_reply list_done = {
	PROTO_ST_HANDOFF_LIST, 200, list_json, admin_list_errors, 0
};

void
handoff_list(struct conn *c, uint32_t limit, const char *cursor)
{
	struct st_page_req q;

	q.limit = limit < ST_HANDOFF_LIST_MAX ? limit : ST_HANDOFF_LIST_MAX;
	q.cursor = cursor;
	admin_ask_reply(c, &q, &list_done);
}
