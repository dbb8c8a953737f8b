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
 * it (a hidden row). The handlers are entity.c's, from the table here:
 * the JSON is the record's rows both ways (recjson.c: types, unknown and
 * read-only fields, the integer ranges whose 0 means "unset" in the
 * record) but for temperature and base_url, below; the record's rules
 * are st_agent_invalid's, as storaged's.
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
temperature_json(uint32_t milli)
{
	return milli == ST_AGENT_UNSET ? json_null() :
	    json_real(milli / 1000.0);
}

/* A URL for an answer, its password hidden (proto_url_shown); "" null. */
static json_t *
url_shown(const char *u)
{
	size_t n;
	json_t *v;
	char *s;

	if (u == NULL || *u == '\0')
		return json_null();
	n = 2 * strlen(u) + 1;
	if ((s = malloc(n)) == NULL)
		return NULL;
	proto_url_shown(u, s, n);
	v = exprow_text(s);
	free(s);
	return v;
}

/* temperature_milli: a number of thousandths, null when unset. */
static void
temperature_out(json_t *o, const void *rec, int *err)
{
	const struct st_agent *a = rec;

	exprow_oset(o, "temperature", temperature_json(a->temperature_milli),
	    err);
}

/* base_url: its password hidden, null for none. */
static void
base_url_out(json_t *o, const void *rec, int *err)
{
	const struct st_agent *a = rec;

	exprow_oset(o, "base_url", url_shown(a->base_url), err);
}

/* The rows an agent shows its own way. */
static const struct rec_own agent_own[] = {
	{ "temperature", temperature_out },
	{ "base_url", base_url_out },
	{ NULL, NULL },
};

json_t *
agent_json(const struct st_agent *a)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rec_json_fields(o, &st_agent_layout, a, RF_ADM, agent_own, &err);
	exprow_oset(o, "is_default", json_false(), &err);
	return exprow_odone(o, err);
}

/*
 * The default agent is no record: the worker's settings, with null
 * where a stored agent has its organisation and times. Written out here.
 */
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
	exprow_oset(o, "history_messages", json_opt_uint(wsettings.max_history),
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
	/*
	 * No list: the deployment's agent searches all of its
	 * organisation's sources that have chunks (storaged's
	 * store_begin_agent).
	 */
	exprow_oset(o, "knowledge_source_ids", json_array(), &err);
	exprow_oset(o, "knowledge_only", json_false(), &err);
	exprow_oset(o, "rewrite_follow_ups", json_false(), &err);
	/* Its embeddings are the install's (PARLEY_EMBED_MODEL). */
	exprow_oset(o, "embedding_model", exprow_text(""), &err);
	/* It calls no action, and hands over by itself to nobody. */
	exprow_oset(o, "action_ids", json_array(), &err);
	exprow_oset(o, "handoff_tool", json_false(), &err);
	exprow_oset(o, "knowledge_search_tool", json_false(), &err);
	exprow_oset(o, "contact_form_tool", json_false(), &err);
	exprow_oset(o, "resolve_after_seconds",
	    json_integer(ST_AGENT_RESOLVE_DEF), &err);
	/* The deployment's model is not known to take images. */
	exprow_oset(o, "vision", json_false(), &err);
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

/* The field an agent takes its own way; the rest are its rows. */
static const struct admin_field agent_fields[] = {
	{ "temperature", ST_AF_TEMPERATURE, AJ_TAKE,
	    offsetof(struct st_agent, temperature_milli), 0, NULL, NULL,
	    take_temperature },
};

/* The field a client may not set besides the read-only rows. */
static const char *const read_only[] = {
	"is_default", NULL,
};

static void
agent_start(void *rec, int patch)
{
	st_agent_defaults(rec);
}

static const char *
agent_invalid(void *rec, uint64_t mask, int patch)
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

/*
 * A new base_url where the caller's organisation may not reach private
 * addresses: a literal or "localhost" judged here, a name resolved
 * (agent_entity's vet).
 */
static int
agent_vet(struct conn *c, void *rec, uint64_t mask, int patch,
    void **state)
{
	struct st_agent *a = rec;
	struct url_target t;
	const char *why;

	if (!(mask & ST_AF_BASE_URL) || a->base_url == NULL ||
	    a->base_url[0] == '\0' ||
	    urlpol_model_parse(a->base_url, &t, &why) < 0 ||
	    urlpol_private_ok(c->who.org, t.host,
	    wsettings.model_allow_private, wsettings.model_allow_hosts))
		return 0;
	return admin_vet_url(c, &t, state);
}

ADMIN_UPDATE_REQ(agent_update_req, au, a)

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

int
agent_id_valid(const char *s)
{
	return strcmp(s, ST_AGENT_DEFAULT) == 0 ||
	    (strlen(s) == ST_ID_HEX && st_id_valid(s));
}

const struct admin_entity agent_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_AGENT),
	.not_found = "Agent not found",
	.invalid = "Invalid agent",
	.id_valid = agent_id_valid,
	.builtin = ST_AGENT_DEFAULT,
	.builtin_json = agent_default_json,
	.builtin_ro = "The default agent is set by the environment",
	.layout = &st_agent_layout,
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
	.vet_cancel = admin_vet_url_cancel,
	.vet_why = base_url_why,
};

ADMIN_ENTITY_ROUTES(agents, agent_entity)
