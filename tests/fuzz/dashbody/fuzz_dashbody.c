/*
 * libFuzzer target for the dashboard's small JSON bodies, any client's:
 * a login's (dashauth_login_read), an invitation's acceptance's
 * (dashauth_accept_read, and dashauth_accept_signed_in's {"token"}
 * alone), workerd/admin/dashauth.c; and a new upload's
 * (att_new_body, workerd/attach/upload.c). Byte 0 picks the
 * Content-Type (bits 0-1: application/json, with a charset, text/plain,
 * none) and whether DASHBOARD_PASSWORD is set (bit 2); the rest is the
 * body, read by each reader. Properties are checked against jansson's
 * reading of the body (admin_json_parse, the readers' own), abort()
 * otherwise. A refusal has a message and a status of its reader's
 * (400, 404 for a token that is not one, 503 a password alone without
 * DASHBOARD_PASSWORD, 500) and keeps no password. A login taken has
 * the body's password, NUL-ended, and its email normalised (one that
 * normalises to itself) or the first owner's; an acceptance taken a
 * token of 64 hex digits whose SHA-256 it keeps, a valid name and a
 * password of 12 to 1024 characters without NUL, as the body gave them;
 * {"token"} alone is 1 or -1 exactly when the body is that object, -1
 * exactly when the acceptance says 404. An upload taken has only its
 * three fields, a size of 1 to ST_ATT_MAX and the name cleaned
 * (att_name_clean's): 1 to ST_ATT_NAME_MAX bytes of UTF-8 without a
 * control, a quote, a slash or a backslash; and an API client's is
 * taken (att_api_session) exactly when its sessionId is a string of 1
 * to 128 of A-Z a-z 0-9 . _ : -, as that string's hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "attach.h"
#include "chat.h"
#include "settings.h"
#include "sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_dashbody: %s\n", what);
		abort();
	}
}

/* k's string in root (an object or not), or NULL. */
static json_t *
str_of(json_t *root, const char *k)
{
	json_t *v = json_is_object(root) ? json_object_get(root, k) : NULL;

	return json_is_string(v) ? v : NULL;
}

/* cr's password is v's, NUL-ended. */
static void
check_password(const struct dash_creds *cr, json_t *v)
{
	check(v != NULL && cr->pw != NULL, "taken without a password");
	check(cr->pwlen == json_string_length(v) && memcmp(cr->pw,
	    json_string_value(v), cr->pwlen) == 0, "not the body's password");
	check(cr->pw[cr->pwlen] == '\0', "the password not NUL-ended");
}

static void
signin(struct http_request *req, json_t *root, int set)
{
	struct dash_creds cr;
	char again[ST_EMAIL_MAX + 1];
	json_t *email = str_of(root, "email");
	const char *msg;
	int status;

	memset(&cr, 0, sizeof(cr));
	if ((msg = dashauth_login_read(req, &cr, &status)) != NULL) {
		check(*msg != '\0', "a login refused without a message");
		check(status == 400 || status == 500 || (status == 503 &&
		    !set && email == NULL), "a login's status");
		check(cr.pw == NULL, "a refused login keeps a password");
		return;
	}
	check_password(&cr, str_of(root, "password"));
	check(cr.by_email == (email != NULL), "by_email");
	if (email != NULL)
		check(strlen(json_string_value(email)) ==
		    json_string_length(email), "an email with a NUL taken");
	else
		check(set && st_email_normal(ST_OWNER_EMAIL, again) == NULL &&
		    strcmp(again, cr.email) == 0, "not the first owner");
	check(st_email_normal(cr.email, again) == NULL &&
	    strcmp(again, cr.email) == 0, "an email not normalised");
	dash_creds_clear(&cr);
}

/* The acceptance's reading, then {"token"} alone's. */
static void
invitation(struct http_request *req, json_t *root)
{
	struct dash_creds cr;
	uint8_t tok[ST_INVITE_HASH_LEN], hash[ST_INVITE_HASH_LEN],
	    alone[ST_INVITE_HASH_LEN];
	json_t *token = str_of(root, "token"), *name = str_of(root, "name");
	int status, rc, valid;
	const char *msg;

	memset(&cr, 0, sizeof(cr));
	valid = token != NULL && json_string_length(token) == 2 * sizeof(tok)
	    && proto_hex_decode(json_string_value(token), tok,
	    sizeof(tok)) == 0;
	if (valid)
		proto_sha256(tok, sizeof(tok), hash);
	msg = dashauth_accept_read(req, &cr, &status);
	check(msg == NULL || *msg != '\0', "refused without a message");
	check(msg == NULL || status == 400 || status == 404 || status == 500,
	    "an acceptance's status");
	check(msg == NULL || cr.pw == NULL, "a refusal keeps a password");
	check(!json_is_object(root) || (msg != NULL && status == 404) ==
	    !valid, "404 for a valid token, or not for a wrong one");
	if (msg == NULL) {
		check(valid && memcmp(cr.token_hash, hash, sizeof(hash)) == 0,
		    "not the token's hash");
		check(name != NULL && cr.name != NULL && strcmp(cr.name,
		    json_string_value(name)) == 0 && st_user_name_invalid(
		    cr.name) == NULL, "not the body's valid name");
		check_password(&cr, str_of(root, "password"));
		check(memchr(cr.pw, '\0', cr.pwlen) == NULL &&
		    proto_utf8_chars(cr.pw, cr.pwlen) >= SETTINGS_PASSWORD_MIN
		    && proto_utf8_chars(cr.pw, cr.pwlen) <= 1024,
		    "a password out of bounds");
	}
	dash_creds_clear(&cr);

	rc = dashauth_accept_signed_in(req, alone);
	check(rc == 0 || (json_object_size(root) == 1 && json_object_get(root,
	    "token") != NULL), "{\"token\"} alone, and more");
	if (json_object_size(root) == 1 && json_object_get(root, "token"))
		check(rc == (valid ? 1 : -1), "{\"token\"} alone misread");
	check(rc != 1 || memcmp(alone, hash, sizeof(hash)) == 0,
	    "{\"token\"} alone: not the token's hash");
}

/* ^[A-Za-z0-9._:-]{1,128}$, read here apart from chat_session_valid. */
static int
session_ok(json_t *v)
{
	const char *p;
	size_t i, n;

	if (v == NULL || (n = json_string_length(v)) < 1 || n > 128)
		return 0;
	for (p = json_string_value(v), i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
		    p[i] == '_' || p[i] == ':' || p[i] == '-'))
			return 0;
	return 1;
}

/*
 * An API client's upload: taken exactly when its sessionId is one, then
 * as that sessionId's hash.
 */
static void
upload_session(struct http_request *req, json_t *root)
{
	uint8_t token[ST_TOKEN_HASH_LEN], want[ST_TOKEN_HASH_LEN];
	json_t *v = str_of(root, "sessionId");
	uint32_t len = 0;
	const char *why;

	why = att_api_session(req, root, token, &len);
	check((why == NULL) == session_ok(v), "a sessionId misread");
	if (why != NULL) {
		check(*why != '\0', "a sessionId refused without a reason");
		return;
	}
	chat_session_hash(json_string_value(v), want);
	check(len == ST_TOKEN_HASH_LEN && memcmp(token, want,
	    sizeof(want)) == 0, "not the sessionId's hash");
}

static void
upload(struct http_request *req)
{
	char name[ST_ATT_NAME_MAX + 1], clean[ST_ATT_NAME_MAX + 1];
	struct st_att_new_req q;
	json_t *root = NULL, *n, *s, *v;
	const char *why, *k, *p;

	memset(&q, 0, sizeof(q));
	why = att_new_body(req, &root, name, &q);
	if (why != NULL) {
		check(*why != '\0', "an upload refused without a reason");
		json_decref(root);
		return;
	}
	check(json_is_object(root), "an upload's body not an object");
	json_object_foreach(root, k, v)
		check(strcmp(k, "name") == 0 || strcmp(k, "size") == 0 ||
		    strcmp(k, "sessionId") == 0, "an upload's unknown field");
	n = str_of(root, "name");
	s = json_object_get(root, "size");
	check(n != NULL && json_is_integer(s), "name and size");
	check(q.size >= 1 && q.size <= ST_ATT_MAX &&
	    (json_int_t)q.size == json_integer_value(s), "not the size");
	att_name_clean(json_string_value(n), clean, sizeof(clean));
	check(q.name == name && strcmp(name, clean) == 0, "not the name");
	check(strlen(name) >= 1 && strlen(name) <= ST_ATT_NAME_MAX &&
	    proto_utf8_valid(name, strlen(name)), "a name's bounds");
	for (p = name; *p != '\0'; p++)
		check((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '"' &&
		    *p != '/' && *p != '\\', "a name's byte");
	upload_session(req, root);
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = { "application/json",
	    "application/json; charset=utf-8", "text/plain", NULL };
	struct http_header h = { "content-type", NULL };
	struct http_request req;
	const char *why;
	json_t *root;
	int set;

	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	h.value = (char *)ctypes[data[0] & 3];
	req.headers = &h;
	req.nheaders = h.value != NULL;
	if ((req.body = malloc(size)) == NULL)
		return 0;
	memcpy(req.body, data + 1, size - 1);
	req.body[size - 1] = '\0';
	req.body_len = size - 1;
	set = (data[0] & 4) != 0;
	dashauth_init(set ? "a first owner's password" : NULL);

	root = admin_json_parse(&req, &why);
	signin(&req, root, set);
	invitation(&req, root);
	upload(&req);
	json_decref(root);
	dashauth_shutdown();
	free(req.body);
	return 0;
}
