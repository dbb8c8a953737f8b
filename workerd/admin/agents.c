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
 * it. The JSON is mapped onto struct st_agent here (types, unknown and
 * read-only fields, the integer ranges whose 0 means "unset" in the
 * record); the record's rules are st_agent_invalid's, as storaged's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "log.h"
#include "upstream.h"
#include "workerd.h"

#define ERR_MAX		256
#define NAME_SHOWN	64	/* bytes of a field's name an error shows */
#define DEFAULT_NAME	"Default"

static const char default_ro[] = "The default agent is set by the environment";

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
	exprow_oset(o, "is_default", json_true(), &err);
	exprow_oset(o, "created_at", json_null(), &err);
	exprow_oset(o, "updated_at", json_null(), &err);
	return exprow_odone(o, err);
}

/* ---------------------------------------------------- JSON -> st_agent */

/* A number from 0 to 2 (kept in thousandths, rounded), or null. */
static const char *
take_temperature(json_t *v, uint32_t *dst)
{
	double x;

	if (json_is_null(v)) {
		*dst = ST_AGENT_UNSET;
		return NULL;
	}
	if (!json_is_number(v) || !isfinite(x = json_number_value(v)) ||
	    x < 0 || x > 2)
		return "must be a number from 0 to 2, or null";
	*dst = (uint32_t)(x * 1000 + 0.5);	/* x >= 0: rounded */
	return NULL;
}

/* An integer from 1 to max, or null (0: unset). */
static const char *
take_count(json_t *v, uint32_t *dst, json_int_t max, const char *what)
{
	json_int_t n;

	if (json_is_null(v)) {
		*dst = 0;
		return NULL;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 || n > max)
		return what;
	*dst = (uint32_t)n;
	return NULL;
}

/* The fields a client may not set. */
static const char *const read_only[] = {
	"id", "api_key_set", "is_default", "created_at", "updated_at",
};

/* One field of the body into a; *bit its ST_AF_*. NULL or what is wrong. */
static const char *
agent_field(const char *k, json_t *v, struct st_agent *a, uint32_t *bit)
{
	size_t i;

	if (strcmp(k, "name") == 0) {
		*bit = ST_AF_NAME;
		return admin_take_text(v, &a->name, 0);
	} else if (strcmp(k, "system_prompt") == 0) {
		*bit = ST_AF_SYSTEM_PROMPT;
		return admin_take_text(v, &a->system_prompt, 1);
	} else if (strcmp(k, "model") == 0) {
		*bit = ST_AF_MODEL;
		return admin_take_text(v, &a->model, 1);
	} else if (strcmp(k, "temperature") == 0) {
		*bit = ST_AF_TEMPERATURE;
		return take_temperature(v, &a->temperature_milli);
	} else if (strcmp(k, "max_tokens") == 0) {
		*bit = ST_AF_MAX_TOKENS;
		return take_count(v, &a->max_tokens, ST_AGENT_TOKENS_MAX,
		    "must be an integer from 1 to 1000000, or null");
	} else if (strcmp(k, "history_messages") == 0) {
		*bit = ST_AF_HISTORY;
		return take_count(v, &a->history_messages, ST_AGENT_HISTORY_MAX,
		    "must be an integer from 1 to 200, or null");
	} else if (strcmp(k, "base_url") == 0) {
		*bit = ST_AF_BASE_URL;
		return admin_take_text(v, &a->base_url, 1);
	} else if (strcmp(k, "api_key") == 0) {
		*bit = ST_AF_API_KEY;
		return admin_take_text(v, &a->api_key, 1);
	}
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		if (strcmp(k, read_only[i]) == 0)
			return "read-only";
	return "unknown field";
}

/* Every text field set (NULL is not "" to every reader). */
static int
texts_set(struct st_agent *a)
{
	char **f[] = { &a->name, &a->system_prompt, &a->model, &a->base_url,
	    &a->api_key };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] == NULL && (*f[i] = strdup("")) == NULL)
			return -1;
	return 0;
}

int
agent_from_json(json_t *root, struct st_agent *a, uint32_t *mask, int patch,
    char *err, size_t errsz)
{
	const char *k, *why;
	json_t *v;
	uint32_t bit;

	*mask = 0;
	if (!json_is_object(root)) {
		strlcpy(err, "body: must be a JSON object", errsz);
		return -1;
	}
	json_object_foreach(root, k, v) {
		bit = 0;
		if ((why = agent_field(k, v, a, &bit)) != NULL) {
			if (*why == '\0')
				why = "out of memory";
			snprintf(err, errsz, "%.*s: %s", NAME_SHOWN, k, why);
			return -1;
		}
		*mask |= bit;
	}
	if (!patch && !(*mask & ST_AF_NAME)) {
		strlcpy(err, "name: required", errsz);
		return -1;
	}
	if (texts_set(a) < 0) {
		strlcpy(err, "body: out of memory", errsz);
		return -1;
	}
	/*
	 * A PATCH is checked again by storaged once merged; here the fields
	 * it sets, the name it leaves alone standing in as valid.
	 */
	if (patch && !(*mask & ST_AF_NAME)) {
		free(a->name);
		if ((a->name = strdup("-")) == NULL) {
			strlcpy(err, "body: out of memory", errsz);
			return -1;
		}
	}
	if ((why = st_agent_invalid(a)) != NULL) {
		strlcpy(err, why, errsz);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- replies */

static json_t *
agent_item(struct pdec *d)
{
	struct st_agent a;
	json_t *v;

	if (pdec_agent(d, &a) < 0)
		return NULL;
	v = agent_json(&a);
	st_agent_free(&a);
	return v;
}

/* -> agent */
json_t *
agent_reply(const uint8_t *payload, size_t len)
{
	return admin_one_reply(payload, len, agent_item);
}

/* -> u32 n, n x agent: {"agents":[default, ...]} */
json_t *
agent_list_reply(const uint8_t *payload, size_t len)
{
	struct pdec d;
	json_t *root, *arr, *def;
	int err = 0;

	pdec_init(&d, payload, len);
	if ((arr = admin_array(&d, ST_AGENTS_MAX, agent_item)) == NULL)
		return NULL;
	if (pdec_done(&d) < 0 || (def = agent_default_json()) == NULL ||
	    json_array_insert_new(arr, 0, def) < 0 ||
	    (root = json_object()) == NULL) {
		json_decref(arr);
		return NULL;
	}
	exprow_oset(root, "agents", arr, &err);
	return exprow_odone(root, err);
}

/* ------------------------------------------------------------ handlers */

static const struct storec_answer agent_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Agent not found" },
	{ 0, 0, NULL },
};

/* storaged's `invalid` names the field: the client's answer (400). */
static void
agent_answer(struct conn *c, const struct storec_result *r, const char *name,
    int status)
{
	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		conn_send_error(c, 400, admin_headers,
		    r->message != NULL && r->message[0] != '\0' ?
		    r->message : "Invalid agent");
		return;
	}
	admin_answer(c, r, name, status, agent_reply, agent_errors);
}

static void
agent_done(const struct storec_result *r, void *arg)
{
	agent_answer(arg, r, "agent request", 200);
}

static void
agent_created(const struct storec_result *r, void *arg)
{
	agent_answer(arg, r, "ST_AGENT_CREATE", 201);
}

static void
agent_listed(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, "ST_AGENT_LIST", 200, agent_list_reply,
	    agent_errors);
}

/*
 * ST_AGENT_DELETE -> u8 in_use, u32 n, n x str widget_id: deleted when
 * n is 0; else 409 naming the widgets (their public ids).
 */
json_t *
agent_in_use_json(const uint8_t *payload, size_t len, int *in_use)
{
	char wid[ST_WID_LEN + 1];
	struct pdec d;
	json_t *o, *arr;
	uint32_t n, i;
	int err = 0;

	pdec_init(&d, payload, len);
	(void)pdec_u8(&d);
	n = pdec_u32(&d);
	if (d.err || n > ST_WIDGETS_MAX || (o = json_object()) == NULL)
		return NULL;
	*in_use = n > 0;
	if (n == 0) {
		exprow_oset(o, "deleted", json_true(), &err);
		return pdec_done(&d) < 0 ? (json_decref(o), NULL) :
		    exprow_odone(o, err);
	}
	exprow_oset(o, "error", exprow_text("Agent is in use"), &err);
	exprow_oset(o, "widgets", arr = json_array(), &err);
	for (i = 0; i < n && !err && !d.err; i++) {
		pdec_strbuf(&d, wid, sizeof(wid));
		if (json_array_append_new(arr, exprow_text(wid)) < 0)
			err = 1;
	}
	if (pdec_done(&d) < 0)
		err = 1;
	return exprow_odone(o, err);
}

static void
agent_deleted(const struct storec_result *r, void *arg)
{
	char hdrs[ADMIN_TIMED_HEADERS_MAX];
	struct conn *c = arg;
	json_t *v;
	int in_use = 0;

	if (admin_failed(c, r, agent_errors))
		return;
	if ((v = agent_in_use_json(r->payload, r->len, &in_use)) == NULL) {
		log_warnx("admin: malformed ST_AGENT_DELETE reply");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	conn_send_json(c, in_use ? 409 : 200, admin_timed_headers(c, hdrs,
	    sizeof(hdrs)), v);
}

int
agent_id_valid(const char *s)
{
	return strcmp(s, ST_AGENT_DEFAULT) == 0 ||
	    (strlen(s) == ST_ID_HEX && st_id_valid(s));
}

/*
 * The gate, then the path's :agent_id: NULL when answered (401, 404; the
 * default agent on a write: 409).
 */
static const char *
agent_param(struct conn *c, struct http_request *req,
    const struct route_match *m, int write)
{
	const char *id = m->nparams > 0 ? m->param[0] : "";

	if (!agent_id_valid(id)) {
		conn_send_error(c, 404, admin_headers, "Agent not found");
		return NULL;
	}
	if (write && strcmp(id, ST_AGENT_DEFAULT) == 0) {
		conn_send_error(c, 409, admin_headers, default_ro);
		return NULL;
	}
	return id;
}

/*
 * The request's agent: a from nothing plus the body. 0, or -1 when the
 * request has been answered (400).
 */
static int
agent_body(struct conn *c, struct http_request *req, struct st_agent *a,
    uint32_t *mask, int patch)
{
	char err[ERR_MAX];
	json_t *root;
	int rv;

	st_agent_defaults(a);
	if ((root = admin_json_body(c, req)) == NULL)
		return -1;
	rv = agent_from_json(root, a, mask, patch, err, sizeof(err));
	json_decref(root);
	if (rv < 0) {
		conn_send_error(c, 400, admin_headers, err);
		return -1;
	}
	return 0;
}

void
agents_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (storec_call_as(&c->who, PROTO_ST_AGENT_LIST, NULL, 0,
	    agent_listed, c, &c->sreq) < 0)
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
}

void
agents_create(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_agent a;
	struct penc e;
	uint32_t mask;

	if (agent_body(c, req, &a, &mask, 0) == 0) {
		penc_init(&e);
		penc_agent(&e, &a);
		admin_send(c, PROTO_ST_AGENT_CREATE, &e, agent_created,
		    admin_headers);
	}
	st_agent_free(&a);
}

void
agents_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char hdrs[ADMIN_TIMED_HEADERS_MAX];
	const char *id;
	struct penc e;
	json_t *v;

	if ((id = agent_param(c, req, m, 0)) == NULL)
		return;
	if (strcmp(id, ST_AGENT_DEFAULT) == 0) {
		if ((v = agent_default_json()) == NULL)
			conn_send_error(c, 500, admin_headers,
			    "Internal server error");
		else
			conn_send_json(c, 200, admin_timed_headers(c, hdrs,
			    sizeof(hdrs)), v);
		return;
	}
	penc_init(&e);
	penc_str(&e, id);
	admin_send(c, PROTO_ST_AGENT_GET, &e, agent_done, admin_headers);
}

void
agents_update(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_agent a;
	const char *id;
	struct penc e;
	uint32_t mask;

	if ((id = agent_param(c, req, m, 1)) == NULL)
		return;
	if (agent_body(c, req, &a, &mask, 1) == 0) {
		penc_init(&e);
		penc_str(&e, id);
		penc_u32(&e, mask);
		penc_agent(&e, &a);
		admin_send(c, PROTO_ST_AGENT_UPDATE, &e, agent_done,
		    admin_headers);
	}
	st_agent_free(&a);
}

void
agents_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *id;
	struct penc e;

	if ((id = agent_param(c, req, m, 1)) == NULL)
		return;
	penc_init(&e);
	penc_str(&e, id);
	admin_send(c, PROTO_ST_AGENT_DELETE, &e, agent_deleted, admin_headers);
}
