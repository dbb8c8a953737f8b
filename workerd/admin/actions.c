/*
 * An organisation's actions in the admin API (proto/actionmsg.h), admins
 * and owners (the routes' role):
 *
 *	GET    /v1/admin/actions		{"actions":[...]}, oldest first
 *	POST   /v1/admin/actions		201 the action
 *	GET    /v1/admin/actions/:action_id	the action
 *	PATCH  /v1/admin/actions/:action_id	sets the fields present
 *	DELETE /v1/admin/actions/:action_id	200 {"deleted":true}
 *
 * Each action's JSON carries "warnings" too: what it saved that is likely
 * not meant (action_warnings), never refused.
 *
 * The JSON is the record's rows both ways (recjson.c), but for two
 * fields: parameters, a JSON Schema object (stored as its text, checked
 * by actions/schema.c), and headers, an object of names and values that
 * is write-only: a reply shows header_names alone, and a PATCH with
 * headers replaces them all (one moving the url to another origin
 * without them clears them: storaged's action_merge). The url and body templates
 * (actions/template.c) may name the schema's arguments and the verified
 * visitor's fields; the body, filled with sample values, must read as
 * JSON.
 *
 * Where the url points is checked here, before storaged sees it, as a
 * crawl's start URL is (knowledge.c): a loopback, private or link-local
 * literal, a name under "localhost", or a name any of whose addresses is
 * one (resolved off the loop, the entity's vet) is 400, unless the action
 * is the default organisation's and PARLEY_ACTIONS_ALLOW_PRIVATE=on. The
 * call checks each address again as it connects (actions/call.c).
 *
 * The handlers are entity.c's, from the table here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actionmsg.h"
#include "admin.h"
#include "call.h"
#include "notify.h"
#include "schema.h"
#include "template.h"
#include "urlpolicy.h"
#include "workerd.h"

/* ---------------------------------------------------------------- JSON */

/* parameters: the schema as an object. */
static void
parameters_out(json_t *o, const void *rec, int *err)
{
	const struct st_action *a = rec;

	exprow_oset(o, "parameters", a->parameters != NULL ?
	    json_loads(a->parameters, 0, NULL) : json_object(), err);
}

/* header_names: an array of the names set. */
static void
header_names_out(json_t *o, const void *rec, int *err)
{
	const struct st_action *a = rec;
	const char *p = a->header_names, *nl;
	json_t *arr = json_array();

	for (; arr != NULL && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		if (json_array_append_new(arr, json_stringn(p,
		    (size_t)(nl - p))) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	exprow_oset(o, "header_names", arr, err);
}

static const struct rec_own action_own[] = {
	{ "parameters", parameters_out },
	{ "header_names", header_names_out },
	{ NULL, NULL },
};

/*
 * What is saved but likely not meant, as "field: why" texts (the save is
 * not refused: an action saved so before, and one edited for something
 * else, still save): an action that requires a verified visitor and whose
 * url and body name none of the visitor's fields tells its API nothing of
 * who asks, so any signed-in visitor may have it act as any other.
 */
#define WARN_UNNAMED_VISITOR	"requires_verified: neither the url nor " \
	"the body names {{visitor.external_id}} or {{visitor.email}}: your " \
	"API is not told which visitor asks, so the verification protects " \
	"nothing (any signed-in visitor may have it act for any other)"

static json_t *
action_warnings(const struct st_action *a)
{
	json_t *arr = json_array();

	if (arr != NULL && a->requires_verified &&
	    !tpl_names_visitor(a->url) && !tpl_names_visitor(a->body) &&
	    json_array_append_new(arr, json_string(WARN_UNNAMED_VISITOR)) < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* The action's rows, and its warnings (action_warnings: [] for none). */
static json_t *
action_json(const void *rep, int *status)
{
	json_t *o = rec_json(&st_action_layout, rep, RF_ADM, action_own);
	json_t *w;

	if (o == NULL)
		return NULL;
	if ((w = action_warnings(rep)) == NULL ||
	    json_object_set_new(o, "warnings", w) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static ADMIN_LIST_JSON(actions_json, st_actions, "actions", actions,
    action_json)

/* --------------------------------------------------- JSON -> st_action */

/* A JSON Schema object within the subset, kept as its text. */
static const char *
take_parameters(json_t *v, void *rec, const struct admin_field *f, int again)
{
	struct st_action *a = rec;
	const char *why;
	char *s;

	/* "parameters: " or "parameters." leads: the entity writes the name. */
	if ((why = schema_check(v)) != NULL)
		return why + (strncmp(why, "parameters: ", 12) == 0 ? 12 :
		    strncmp(why, "parameters.", 11) == 0 ? 11 : 0);
	if ((s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return "";
	if (strlen(s) > ST_ACTION_SCHEMA_MAX) {
		free(s);
		return "must be at most 8192 bytes as JSON";
	}
	free(a->parameters);
	a->parameters = s;
	return NULL;
}

/* An object of header names and string values, as "Name: value" lines. */
static const char *
take_headers(json_t *v, void *rec, const struct admin_field *f, int again)
{
	struct st_action *a = rec;
	const char *k;
	struct buf b;
	json_t *x;

	if (!json_is_object(v))
		return "must be an object of header names and values";
	if (json_object_size(v) > ST_ACTION_HEADERS_MAX)
		return "at most 8";
	buf_init(&b);
	json_object_foreach(v, k, x) {
		if (!st_action_hname_valid(k)) {
			buf_free(&b);
			return "a name must be an HTTP token, not one the call "
			    "sets itself (Host, Content-Type, Content-Length...)";
		}
		if (exprow_plain(x) == NULL || json_string_length(x) >
		    ST_ACTION_HVALUE_MAX || strpbrk(json_string_value(x),
		    "\r\n") != NULL) {
			buf_free(&b);
			return "each value must be a string of at most 1024 "
			    "bytes on one line";
		}
		buf_addf(&b, "%s: %s\n", k, json_string_value(x));
	}
	buf_add(&b, "", 1);
	if (b.err) {
		buf_free(&b);
		return "";
	}
	if (a->headers != NULL)
		explicit_bzero(a->headers, strlen(a->headers));
	free(a->headers);
	a->headers = b.data;
	return NULL;
}

static const struct admin_field action_fields[] = {
	{ "parameters", ST_ACF_PARAMETERS, AJ_TAKE,
	    offsetof(struct st_action, parameters), 0, NULL, NULL,
	    take_parameters },
	{ "headers", ST_ACF_HEADERS, AJ_TAKE,
	    offsetof(struct st_action, headers), 0, NULL, NULL, take_headers },
};

static void
action_start(void *rec, int patch)
{
	rl_defaults(&st_action_layout, rec);
}

/* thread-local: a "field: why" text. */
static _Thread_local char why_buf[160];

static const char *
field_why(const char *field, const char *why)
{
	snprintf(why_buf, sizeof(why_buf), "%s: %s", field, why);
	return why_buf;
}

/*
 * The templates against the schema's arguments (a PATCH that leaves the
 * schema as stored: any name), and the body filled with sample values
 * reading as JSON.
 */
static const char *
templates_invalid(const struct st_action *a, uint64_t mask, int patch)
{
	const char *names[SCHEMA_PROPS_MAX];
	static const struct tpl_visitor sample_visitor = { "x", "x@x.x" };
	const char *why, *const *nm = NULL;
	json_t *schema = NULL, *args;
	size_t n = 0, i;
	char *out;

	if (!patch || (mask & ST_ACF_PARAMETERS)) {
		if ((schema = json_loads(a->parameters, 0, NULL)) == NULL)
			return "parameters: must be a JSON Schema object";
		n = schema_names(schema, names, SCHEMA_PROPS_MAX);
		nm = names;
	}
	why = NULL;
	if ((!patch || (mask & ST_ACF_URL)) && (why = tpl_check(TPL_URL,
	    a->url, nm, n)) != NULL)
		why = strncmp(why, "url: ", 5) == 0 ? why : field_why("url",
		    why);
	else if ((!patch || (mask & ST_ACF_BODY)) && a->body[0] != '\0') {
		if ((why = tpl_check(TPL_JSON, a->body, nm, n)) != NULL)
			why = field_why("body", why);
		else if ((args = json_object()) == NULL)
			why = "";
		else {
			for (i = 0; i < n; i++)
				json_object_set_new(args, names[i],
				    json_string("x"));
			if (tpl_expand(TPL_JSON, a->body, args,
			    &sample_visitor, &out, &why) == 0)
				free(out);
			else
				why = field_why("body", why);
			json_decref(args);
		}
	}
	json_decref(schema);
	return why;
}

/* The host of url, a template: what stands before its first placeholder. */
static int
url_target_of(const char *url, struct url_target *t, const char **why)
{
	char head[ST_ACTION_URL_MAX + 1], *ph;

	strlcpy(head, url, sizeof(head));
	if ((ph = strstr(head, "{{")) != NULL)
		*ph = '\0';
	return urlpol_parse(head, t, why);
}

/* A POST as a whole; a PATCH's fields (storaged checks the merge). */
static const char *
action_invalid(void *rec, uint64_t mask, int patch)
{
	struct st_action *a = rec;
	struct url_target t;
	const char *why;

	if (!patch && (why = st_action_invalid(a)) != NULL)
		return why;
	if (patch && (mask & ST_ACF_NAME) && !st_action_name_valid(a->name))
		return "name: must be 1-64 characters of A-Z, a-z, 0-9, _ "
		    "and -";
	if ((!patch || (mask & ST_ACF_URL)) &&
	    url_target_of(a->url, &t, &why) < 0)
		return why;
	return templates_invalid(a, mask, patch);
}

/* A refusal of a private address names the setting that allows it. */
static const char *
action_why(const char *why)
{
	return urlpol_private_named(why, URLPOL_ALLOW_ACTIONS);
}

/* A new url's host where the caller's organisation may not reach private addresses. */
static int
action_vet(struct conn *c, void *rec, uint64_t mask, int patch, void **state)
{
	struct st_action *a = rec;
	struct url_target t;
	const char *why;

	if ((patch && !(mask & ST_ACF_URL)) ||
	    url_target_of(a->url, &t, &why) < 0 ||
	    action_private_ok(c->who.org))
		return 0;
	return admin_vet_url(c, &t, state);
}

ADMIN_UPDATE_REQ(action_update_req, actu, a)

/* ------------------------------------------------------------ handlers */

const struct admin_entity action_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_ACTION),
	.not_found = "Action not found",
	.invalid = "Invalid action",
	.id_valid = st_action_id_valid,
	.layout = &st_action_layout,
	.fields = action_fields,
	.nfields = sizeof(action_fields) / sizeof(action_fields[0]),
	.required = ST_ACF_NAME | ST_ACF_DESCRIPTION | ST_ACF_PARAMETERS |
	    ST_ACF_URL,
	.start = action_start,
	.rec_invalid = action_invalid,
	.update_req = action_update_req,
	.one = action_json,
	.all = actions_json,
	.deleted = admin_deleted_json,
	.vet = action_vet,
	.vet_cancel = admin_vet_url_cancel,
	.vet_why = action_why,
};

ADMIN_ENTITY_ROUTES(actions, action_entity)
