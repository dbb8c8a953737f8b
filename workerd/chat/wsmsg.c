/*
 * The widget visitor's WebSocket frames, parsed and checked before
 * anything is done with them: the frame's "type" names its row of
 * wsframes.c's table, whose parser (here, wsfeedback.c's, wsconvs.c's)
 * reads its fields. Any other text gets an error the visitor can read;
 * nothing here trusts the input. Other keys are ignored, as the Loquent
 * widget does.
 */
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "chat.h"
#include "exportrows.h"
#include "workerd.h"

static int
fail(struct wsmsg *m, const char *what)
{
	json_decref(m->root);
	m->root = NULL;
	m->type = WSMSG_INVALID;
	m->frame = NULL;
	snprintf(m->error, sizeof(m->error), "%s", what);
	return -1;
}

int
wsmsg_fail(struct wsmsg *m, const char *what)
{
	return fail(m, what);
}

/* A string field: absent or null is "", else a string without NUL. */
static int
contact_field(struct wsmsg *m, const char *name, const char **out)
{
	json_t *v = json_object_get(m->root, name);
	char what[64];

	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if ((*out = exprow_plain(v)) == NULL) {
		snprintf(what, sizeof(what), "%s: must be a string", name);
		return fail(m, what);
	}
	return 0;
}

/*
 * identify's expires: absent or null is 0 (none), else an integer
 * 1..ST_IDENTITY_EXPIRES_MAX (JSON's: 1.5, "1" and true are not).
 */
static int
expires_field(struct wsmsg *m)
{
	json_t *v = json_object_get(m->root, "expires");
	json_int_t n;

	m->expires = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (n < 1 || (uint64_t)n > ST_IDENTITY_EXPIRES_MAX)
		return fail(m, "expires: must be an integer, 1 to 2^40 "
		    "(Unix seconds)");
	m->expires = (uint64_t)n;
	return 0;
}

/*
 * identify: id 1..ST_EXTERNAL_ID_MAX characters, name at most
 * ST_CONTACT_NAME_MAX, email "" or a valid address, hash and email_hash
 * strings (their form is checked with them), expires absent or an
 * integer (expires_field).
 */
int
wsmsg_parse_identify(struct wsmsg *m)
{
	size_t n;

	if (contact_field(m, "id", &m->ext_id) < 0 ||
	    contact_field(m, "name", &m->name) < 0 ||
	    contact_field(m, "email", &m->email) < 0 ||
	    contact_field(m, "hash", &m->hash) < 0 ||
	    contact_field(m, "email_hash", &m->email_hash) < 0)
		return -1;
	n = strlen(m->ext_id);
	if (n < 1 || utf8_chars(m->ext_id, n) < 1 ||
	    utf8_chars(m->ext_id, n) > ST_EXTERNAL_ID_MAX)
		return fail(m, "id: must be 1 to 128 characters");
	n = strlen(m->name);
	if (n > 0 && (utf8_chars(m->name, n) < 1 ||
	    utf8_chars(m->name, n) > ST_CONTACT_NAME_MAX))
		return fail(m, "name: must be at most 200 characters");
	if (m->email[0] != '\0' && !st_email_valid(m->email))
		return fail(m, "email: not a valid address");
	return expires_field(m);
}

/*
 * message: content 1..CHAT_MESSAGE_MAX characters, not blank; cid absent
 * or 1 to ST_CLIENT_ID_MAX letters, digits and '-'.
 */
int
wsmsg_parse_message(struct wsmsg *m)
{
	json_t *content = json_object_get(m->root, "content");
	const char *why;
	size_t chars;

	if (!json_is_string(content))
		return fail(m, "content: must be a string");
	if (contact_field(m, "cid", &m->cid) < 0)
		return -1;
	if (m->cid[0] != '\0' && !st_client_id_valid(m->cid))
		return fail(m, "cid: must be 1 to 64 letters, digits or -");
	m->content = json_string_value(content);
	m->content_len = json_string_length(content);
	if ((why = att_ids_json(json_object_get(m->root, "attachments"),
	    m->atts, &m->natts)) != NULL)
		return fail(m, why);
	/* Files may go without words. */
	if (m->natts > 0 && m->content_len == 0)
		return 0;
	/* The HTTP chat's rule: UTF-16 units, as the widget's box counts. */
	chars = proto_utf16_units(m->content, m->content_len);
	if (memchr(m->content, '\0', m->content_len) != NULL ||
	    chars < 1 || chars > CHAT_MESSAGE_MAX ||
	    chat_blank(m->content, m->content_len))
		return fail(m, "content: must be 1 to 4000 characters");
	return 0;
}

/* contact_info: name, email and phone, each a string or absent. */
int
wsmsg_parse_contact(struct wsmsg *m)
{
	if (contact_field(m, "name", &m->name) < 0 ||
	    contact_field(m, "email", &m->email) < 0 ||
	    contact_field(m, "phone", &m->phone) < 0)
		return -1;
	return 0;
}

/* resume: the token, a string or absent (its form checked with it). */
int
wsmsg_parse_resume(struct wsmsg *m)
{
	return contact_field(m, "token", &m->token);
}

/* visitor: what the widget tells of its visitor; a wrong value is dropped. */
int
wsmsg_parse_visitor(struct wsmsg *m)
{
	chat_visitor_parse(m->root, &m->visitor);
	return 0;
}

int
wsmsg_parse(const char *text, size_t len, struct wsmsg *m)
{
	json_error_t jerr;
	const char *type;

	memset(m, 0, sizeof(*m));
	m->root = json_loadb(text, len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr);
	if (m->root == NULL || !json_is_object(m->root))
		return fail(m, "Invalid message: expected a JSON object");
	/* A type with a NUL in it names no frame ("message\u0000x"). */
	type = exprow_plain(json_object_get(m->root, "type"));
	if ((m->frame = wsframe_find(type != NULL ? type : "")) == NULL)
		return fail(m, "Invalid message: unknown type");
	m->type = m->asked = m->frame->msg;
	return m->frame->parse != NULL ? m->frame->parse(m) : 0;
}

void
wsmsg_free(struct wsmsg *m)
{
	json_decref(m->root);
	st_visitor_free(&m->visitor);
	memset(m, 0, sizeof(*m));
}

/* "id": a call's id, 1 to 64 bytes: 0, or -1 failed. */
static int
call_id(struct wsmsg *m)
{
	json_t *id = json_object_get(m->root, "id");

	if ((m->call_id = exprow_plain(id)) == NULL || m->call_id[0] == '\0' ||
	    strlen(m->call_id) > 64)
		return wsmsg_fail(m, "id: must be the call's id");
	return 0;
}

int
wsmsg_parse_confirm(struct wsmsg *m)
{
	json_t *ok = json_object_get(m->root, "ok");

	if (call_id(m) < 0)
		return -1;
	if (!json_is_boolean(ok))
		return wsmsg_fail(m, "ok: must be true or false");
	m->yes = json_is_true(ok);
	return 0;
}

int
wsmsg_parse_tools(struct wsmsg *m)
{
	if ((m->tools = json_object_get(m->root, "tools")) == NULL)
		return wsmsg_fail(m, "tools: required");
	return 0;
}

int
wsmsg_parse_tool_result(struct wsmsg *m)
{
	json_t *res = json_object_get(m->root, "result");
	json_t *err = json_object_get(m->root, "error");

	if (call_id(m) < 0)
		return -1;
	m->yes = res != NULL;
	if ((res == NULL) == (err == NULL) ||
	    (m->result = exprow_plain(m->yes ? res : err)) == NULL)
		return wsmsg_fail(m, "result or error: a string, one of them");
	return 0;
}
