/*
 * Agents in the admin API (issue 15; auth as every admin endpoint: the
 * admin key, or a dashboard session with its CSRF header):
 *
 *	GET    /v1/admin/agents		{"agents":[...]}, the default first
 *	POST   /v1/admin/agents		201 the agent
 *	GET    /v1/admin/agents/:agent_id	the agent
 *	PATCH  /v1/admin/agents/:agent_id	sets the fields present
 *	DELETE /v1/admin/agents/:agent_id	200 {"deleted":true}; 409 when
 *					widgets use it (naming them)
 *
 * An agent is who answers a widget's visitors: its prompt, model,
 * temperature, max_tokens, history length and, optionally, its own
 * OpenAI-compatible server (base_url) and key. storaged keeps them
 * (proto/agentmsg.h); a turn gets its widget's agent in the begin reply
 * (turn.c). The default agent (id "default") is this worker's own
 * settings (OPENAI_MODEL, SYSTEM_PROMPT, OPENAI_BASE_URL, OPENAI_API_KEY,
 * MAX_HISTORY_MESSAGES): it is not stored, is built here, and cannot be
 * changed or deleted (409).
 *
 * api_key is write-only: accepted on POST and PATCH ("" or null clears
 * it), never in an answer ("api_key_set" says whether there is one).
 * storaged's agent replies carry it empty anyway; agent_json never reads
 * it. The handlers are entity.c's, from the table here: the JSON is
 * mapped onto struct st_agent by its fields (types, unknown and read-only
 * fields, the integer ranges whose 0 means "unset" in the record); the
 * record's rules are st_agent_invalid's, as storaged's.
 *
 * base_url is under the outgoing-URL policy (workerd/net/urlpolicy.c):
 * no query, fragment or user info (400 naming the field); then, unless
 * the caller's organisation may reach private addresses there (the
 * default one with PARLEY_MODEL_ALLOW_PRIVATE=on, or a host listed in
 * PARLEY_MODEL_ALLOW_HOSTS), a loopback, private or link-local literal,
 * a name under "localhost", or a name any of whose addresses is one
 * (resolved off the loop, notify/lookup.c, the entity's vet) is 400, as
 * is a name that does not resolve. upstream.c checks the address again
 * as it connects.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "agentmsg.h"
#include "chat.h"
#include "log.h"
#include "notify.h"
#include "upstream.h"
#include "urlpolicy.h"
#include "workerd.h"

#define DEFAULT_NAME	"Default"

/* ---------------------------------------------------------------- JSON */

static json_t *
opt_uint(uint32_t v)
{
	return v == 0 ? json_null() : json_integer(v);
}

static json_t *
temperature_json(uint32_t milli)
{
	return milli == ST_AGENT_UNSET ? json_null() :
	    json_real(milli / 1000.0);
}

/* A URL for an answer, its password hidden (upstream_url_shown); "" null. */
static json_t *
url_shown(const char *u)
{
	size_t n;
	json_t *v;
	char *s;

	if (u == NULL || *u == '\0')
		return json_null();
	n = strlen(u) + 4;
	if ((s = malloc(n)) == NULL)
		return NULL;
	upstream_url_shown(u, s, n);
	v = exprow_text(s);
	free(s);
	return v;
}

json_t *
agent_json(const struct st_agent *a)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "id", exprow_text(a->id), &err);
	exprow_oset(o, "organization_id", exprow_text(a->org), &err);
	exprow_oset(o, "name", exprow_text(a->name ? a->name : ""), &err);
	exprow_oset(o, "system_prompt", exprow_text(a->system_prompt ?
	    a->system_prompt : ""), &err);
	exprow_oset(o, "model", exprow_text(a->model ? a->model : ""), &err);
	exprow_oset(o, "temperature", temperature_json(a->temperature_milli),
	    &err);
	exprow_oset(o, "max_tokens", opt_uint(a->max_tokens), &err);
	exprow_oset(o, "history_messages", opt_uint(a->history_messages),
	    &err);
	exprow_oset(o, "base_url", url_shown(a->base_url), &err);
	exprow_oset(o, "api_key_set", json_boolean(a->api_key_set), &err);
	exprow_oset(o, "answer_in_visitor_language",
	    json_boolean(a->answer_in_visitor_language), &err);
	exprow_oset(o, "is_default", json_false(), &err);
	exprow_oset(o, "created_at", exprow_ms(a->created_at), &err);
	exprow_oset(o, "updated_at", exprow_ms(a->updated_at), &err);
	return exprow_odone(o, err);
}

json_t *
agent_default_json(void)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "id", exprow_text(ST_AGENT_DEFAULT), &err);
	/* The deployment's: every organisation's widgets may name it. */
	exprow_oset(o, "organization_id", json_null(), &err);
	exprow_oset(o, "name", exprow_text(DEFAULT_NAME), &err);
	exprow_oset(o, "system_prompt", exprow_text(wsettings.system_prompt ?
	    wsettings.system_prompt : ""), &err);
	exprow_oset(o, "model", exprow_text(wsettings.openai_model ?
	    wsettings.openai_model : ""), &err);
	exprow_oset(o, "temperature", json_null(), &err);
	exprow_oset(o, "max_tokens", json_null(), &err);
	exprow_oset(o, "history_messages", opt_uint(wsettings.max_history),
	    &err);
	exprow_oset(o, "base_url", url_shown(wsettings.openai_base_url), &err);
	exprow_oset(o, "api_key_set", json_boolean(wsettings.openai_key !=
	    NULL && !chat_blank(wsettings.openai_key,
	    strlen(wsettings.openai_key))), &err);
	exprow_oset(o, "answer_in_visitor_language",
	    json_boolean(wsettings.answer_in_visitor_language), &err);
	exprow_oset(o, "is_default", json_true(), &err);
	exprow_oset(o, "created_at", json_null(), &err);
	exprow_oset(o, "updated_at", json_null(), &err);
	return exprow_odone(o, err);
}

/* ---------------------------------------------------- JSON -> st_agent */

/* A number from 0 to 2 (kept in thousandths, rounded), or null. */
static const char *
take_temperature(json_t *v, void *rec, const struct admin_field *f,
    int again)
{
	struct st_agent *a = rec;
	double x;

	if (json_is_null(v)) {
		a->temperature_milli = ST_AGENT_UNSET;
		return NULL;
	}
	if (!json_is_number(v) || !isfinite(x = json_number_value(v)) ||
	    x < 0 || x > 2)
		return "must be a number from 0 to 2, or null";
	a->temperature_milli = (uint32_t)(x * 1000 + 0.5);	/* x >= 0: rounded */
	return NULL;
}

#define AF(NAME, BIT, KIND, M) \
	{ NAME, BIT, KIND, offsetof(struct st_agent, M), 0, NULL, NULL, NULL }
#define AF_COUNT(NAME, BIT, M, MAX, WHY) \
	{ NAME, BIT, AJ_COUNT, offsetof(struct st_agent, M), MAX, WHY, NULL, \
	    NULL }

static const struct admin_field agent_fields[] = {
	AF("name", ST_AF_NAME, AJ_TEXT, name),
	AF("system_prompt", ST_AF_SYSTEM_PROMPT, AJ_TEXT_NULL, system_prompt),
	AF("model", ST_AF_MODEL, AJ_TEXT_NULL, model),
	{ "temperature", ST_AF_TEMPERATURE, AJ_TAKE,
	    offsetof(struct st_agent, temperature_milli), 0, NULL, NULL,
	    take_temperature },
	AF_COUNT("max_tokens", ST_AF_MAX_TOKENS, max_tokens,
	    ST_AGENT_TOKENS_MAX, "must be an integer from 1 to 1000000, or null"),
	AF_COUNT("history_messages", ST_AF_HISTORY, history_messages,
	    ST_AGENT_HISTORY_MAX, "must be an integer from 1 to 200, or null"),
	AF("base_url", ST_AF_BASE_URL, AJ_TEXT_NULL, base_url),
	AF("api_key", ST_AF_API_KEY, AJ_TEXT_NULL, api_key),
	AF("answer_in_visitor_language", ST_AF_VISITOR_LANG, AJ_BOOL,
	    answer_in_visitor_language),
};

/* The fields a client may not set. */
static const char *const read_only[] = {
	"id", "organization_id", "api_key_set", "is_default", "created_at",
	"updated_at", NULL,
};

static void
agent_start(void *rec, int patch)
{
	st_agent_defaults(rec);
}

static const char *
agent_invalid(void *rec, uint32_t mask, int patch)
{
	struct st_agent *a = rec;
	struct url_target t;
	const char *why;

	/*
	 * A PATCH is checked again by storaged once merged; here the fields
	 * it sets, the name it leaves alone standing in as valid.
	 */
	if (patch && !(mask & ST_AF_NAME)) {
		free(a->name);
		if ((a->name = strdup("-")) == NULL)
			return "";
	}
	if ((why = st_agent_invalid(a)) != NULL)
		return why;
	if ((mask & ST_AF_BASE_URL) && a->base_url != NULL &&
	    a->base_url[0] != '\0' &&
	    urlpol_model_parse(a->base_url, &t, &why) < 0)
		return why;
	return NULL;
}

/* "url: x", a lookup's verdict, as "base_url: x". */
static const char *
base_url_why(const char *why)
{
	static char msg[128];

	if (why == NULL)
		return NULL;
	snprintf(msg, sizeof(msg), "base_url: %s",
	    strncmp(why, "url: ", 5) == 0 ? why + 5 : why);
	return msg;
}

static void
agent_looked_up(void *arg, const char *why)
{
	admin_entity_vetted(arg, base_url_why(why));
}

/*
 * A new base_url where the caller's organisation may not reach private
 * addresses: a literal or "localhost" judged here, a name resolved
 * (agent_entity's vet).
 */
static int
agent_vet(struct conn *c, void *rec, uint32_t mask, int patch,
    void **state)
{
	struct st_agent *a = rec;
	struct url_target t;
	const char *why;
	int rc;

	if (!(mask & ST_AF_BASE_URL) || a->base_url == NULL ||
	    a->base_url[0] == '\0' ||
	    urlpol_model_parse(a->base_url, &t, &why) < 0 ||
	    urlpol_model_private_ok(c->who.org, t.host,
	    wsettings.model_allow_private, wsettings.model_allow_hosts))
		return 0;
	if ((rc = urlpol_check_literal(&t, &why)) == 0)
		return 0;
	if (rc < 0) {
		conn_send_error(c, 400, admin_headers, base_url_why(why));
		return -1;
	}
	if ((*state = notify_lookup_start(&t, 0, agent_looked_up, c)) ==
	    NULL) {
		conn_send_error(c, 503, admin_headers,
		    "Too many URLs being checked; try again");
		return -1;
	}
	return 1;
}

static void
agent_vet_cancel(void *state)
{
	notify_lookup_cancel(state);
}

static void *
agent_update_req(union st_any *u, const char *id, uint32_t mask)
{
	u->au.id = id;
	u->au.mask = mask;
	return &u->au.a;
}

/* ------------------------------------------------------------- replies */

static json_t *
agent_one_json(const void *rep, int *status)
{
	return agent_json(rep);
}

json_t *
agent_list_json(const void *rep, int *status)
{
	const struct st_agents *l = rep;
	json_t *arr;

	arr = ADMIN_ITEMS_JSON(l->agents, l->n, agent_one_json);
	if (arr == NULL || json_array_insert_new(arr, 0,
	    agent_default_json()) < 0) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o}", "agents", arr);
}

static json_t *
wid_item(const void *wid, int *status)
{
	return exprow_text(((const struct st_str *)wid)->s);
}

/* Deleted when no widget uses it; else 409 naming the widgets. */
json_t *
agent_deleted_json(const void *rep, int *status)
{
	const struct st_agent_delete_rep *d = rep;

	if (d->n == 0)
		return admin_deleted_json(rep, status);
	*status = 409;
	return json_pack("{s:o, s:o}", "error", exprow_text("Agent is in use"),
	    "widgets", ADMIN_ITEMS_JSON(d->widget_ids, d->n, wid_item));
}

/* ------------------------------------------------------------ handlers */

static const struct storec_answer agent_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Agent not found" },
	{ 0, 0, NULL },
};

int
agent_id_valid(const char *s)
{
	return strcmp(s, ST_AGENT_DEFAULT) == 0 ||
	    (strlen(s) == ST_ID_HEX && st_id_valid(s));
}

static const struct admin_entity agent_entity = {
	.list = PROTO_ST_AGENT_LIST,
	.create = PROTO_ST_AGENT_CREATE,
	.get = PROTO_ST_AGENT_GET,
	.update = PROTO_ST_AGENT_UPDATE,
	.del = PROTO_ST_AGENT_DELETE,
	.not_found = "Agent not found",
	.invalid = "Invalid agent",
	.errors = agent_errors,
	.id_valid = agent_id_valid,
	.builtin = ST_AGENT_DEFAULT,
	.builtin_json = agent_default_json,
	.builtin_ro = "The default agent is set by the environment",
	.fields = agent_fields,
	.nfields = sizeof(agent_fields) / sizeof(agent_fields[0]),
	.read_only = read_only,
	.required = ST_AF_NAME,
	.start = agent_start,
	.rec_invalid = agent_invalid,
	.update_req = agent_update_req,
	.one = agent_one_json,
	.all = agent_list_json,
	.deleted = agent_deleted_json,
	.vet = agent_vet,
	.vet_cancel = agent_vet_cancel,
};

int
agent_from_json(json_t *root, struct st_agent *a, uint32_t *mask, int patch,
    char *err, size_t errsz)
{
	return admin_entity_from_json(&agent_entity, root, a, mask, patch, err,
	    errsz);
}

ADMIN_ENTITY_ROUTES(agents, agent_entity)
