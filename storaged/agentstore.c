/*
 * Agents (see STORAGE.md, agentstore.h):
 *
 *	agents       id (32 hex) -> agent (penc_agent, with its api_key)
 *	agent_order  u64 created_at | id (32 hex) -> (nothing)
 *	agent_org    org NUL u64 created_at | id -> () (records.c)
 *
 * Every value starts with its layout's format (record.h; every older
 * format still reads). The default agent is not stored: it is the
 * deployment's environment, which the worker knows, searching its
 * organisation's sources (store_begin_agent).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "kbpage.h"
#include "kbsource.h"
#include "records.h"
#include "stmsgs.h"
#include "optab.h"
#include "storeint.h"
#include "widgetstore.h"

/* ---------------------------------------------------------------- records */

static const char *
agent_invalid(const void *rec)
{
	return st_agent_invalid(rec);
}

/* api_key_set follows the key. */
static void
agent_key_flag(void *rec)
{
	struct st_agent *a = rec;

	a->api_key_set = a->api_key != NULL && a->api_key[0] != '\0';
}

/* NULL is "" to every reader of an agent's texts. */
static const char *
text_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* 1 when id is one of the n ids. */
static int
listed(char *const *ids, uint32_t n, const char *id)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/*
 * Each of the n ids a request gives that the agent did not name before
 * (kept, nkept) is one of org's records of e: 0, or -1 with t failed
 * (invalid: bad). An id named before stays even once its record is gone
 * (a turn passes over it), so an agent read and sent back is taken.
 */
static int
refs_admit(struct store_txn *t, const struct store_entity *e,
    const char *org, char *const *ids, uint32_t n, char *const *kept,
    uint32_t nkept, const char *bad)
{
	uint32_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (listed(kept, nkept, ids[i]))
			continue;
		if ((rc = entity_known(t, e, org, ids[i])) < 0)
			return -1;
		if (rc == 0) {
			store_fail(t, PROTO_E_INVALID, bad);
			return -1;
		}
	}
	return 0;
}

/*
 * req's actions and knowledge sources, where mask sets them, are org's
 * (old: the agent before, or NULL for a new one): 0, or -1 (t failed).
 */
static int
agent_refs(struct store_txn *t, const char *org, const struct st_agent *old,
    const struct st_agent *req, uint64_t mask)
{
	if ((mask & ST_AF_ACTIONS) && refs_admit(t, &action_entity, org,
	    req->actions, req->nactions, old != NULL ? old->actions : NULL,
	    old != NULL ? old->nactions : 0, "action_ids: no such action") < 0)
		return -1;
	if ((mask & ST_AF_KNOWLEDGE) && refs_admit(t, &kbsource_entity, org,
	    req->knowledge_sources, req->nknowledge_sources,
	    old != NULL ? old->knowledge_sources : NULL,
	    old != NULL ? old->nknowledge_sources : 0,
	    "knowledge_source_ids: no such knowledge source") < 0)
		return -1;
	return 0;
}

/*
 * Moves the masked fields over (their rows, record.h); req frees what
 * they replaced. A key never follows its agent to a new server unless
 * the update sets one: it is cleared then. New actions and sources must
 * be the organisation's (agent_refs).
 */
static int
agent_merge(struct store_txn *t, void *curp, void *reqp, uint64_t mask,
    void *arg)
{
	struct st_agent *cur = curp, *req = reqp;

	if (agent_refs(t, cur->org, cur, req, mask) < 0)
		return -1;
	if ((mask & ST_AF_BASE_URL) && !(mask & ST_AF_API_KEY) &&
	    strcmp(text_or_empty(cur->base_url),
	    text_or_empty(req->base_url)) != 0 &&
	    *text_or_empty(cur->api_key) != '\0') {
		free(req->api_key);
		if ((req->api_key = strdup("")) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			return -1;
		}
		mask |= ST_AF_API_KEY;
	}
	rl_merge(&st_agent_layout, cur, req, mask);
	return 0;
}

const struct store_entity agent_entity = {
	ENTITY_NAMES("agent", "no such agent", "agents: at most 1000"),
	ENTITY_RECORD(agent, agents, agent_order),
	.org_order = offsetof(struct store, agent_org),
	.org = offsetof(struct st_agent, org),
	ENTITY_IDS(NULL, ST_ID_HEX, st_id_valid),
	.max = ST_AGENTS_MAX,
	.mask_all = ST_AF_ALL,
	.invalid = agent_invalid,
	.prepare = agent_key_flag,
	.merge = agent_merge,
};

/* ---------------------------------------------------------------- agents */

/*
 * An agent with an embedding model of its own, saved with a new model,
 * server or sources: its sources synced soon, for the fetcher to embed
 * their pages in its space (kbpage.c's job_spaces).
 */
static int
agent_space_sync(struct store_txn *t, const struct st_agent *a,
    uint64_t mask)
{
	uint32_t i;

	if (t->err || a->embedding_model == NULL ||
	    a->embedding_model[0] == '\0' || !(mask & (ST_AF_EMBED_MODEL |
	    ST_AF_BASE_URL | ST_AF_KNOWLEDGE)))
		return t->err;
	for (i = 0; i < a->nknowledge_sources && !t->err; i++)
		kb_sync_soon(t, a->org, a->knowledge_sources[i]);
	return t->err;
}

int
store_agent_create(struct store_txn *t, const char *org,
    const struct st_agent *in, struct st_agent *out)
{
	if (agent_refs(t, org, NULL, in, ST_AF_ALL) < 0 ||
	    entity_create(t, &agent_entity, org, in, out) != 0)
		return t->err;
	return agent_space_sync(t, out, ST_AF_ALL);
}

int
store_agent_update(struct store_txn *t, const char *org, const char *id,
    uint64_t mask, const struct st_agent *in, struct st_agent *out)
{
	if (entity_update(t, &agent_entity, org, id, mask, in, out, NULL) != 0)
		return t->err;
	return agent_space_sync(t, out, mask);
}

int
store_agent_get(struct store_txn *t, const char *org, const char *id,
    struct st_agent *out)
{
	return entity_get(t, &agent_entity, org, id, out);
}

int
store_agent_embed(struct store_txn *t, const char *org, const char *id,
    struct st_kb_space *out)
{
	struct st_agent a;

	memset(out, 0, sizeof(*out));
	if (store_agent_check(t, org, id) != 0)
		return t->err;
	if (strcmp(id, ST_AGENT_DEFAULT) == 0 ||
	    store_agent_get(t, org, id, &a) != 0)
		return t->err;
	if (st_agent_space(&a, out->id)) {
		out->base_url = a.base_url;
		out->api_key = a.api_key;
		out->model = a.embedding_model;
		a.base_url = a.api_key = a.embedding_model = NULL;
	}
	st_agent_free(&a);
	return t->err;
}

int
store_agent_list(struct store_txn *t, const char *org, struct st_agent **out,
    uint32_t *n)
{
	void *as;

	if (entity_list(t, &agent_entity, org, &as, n) == 0)
		*out = as;
	return t->err;
}

/*
 * The public ids of org's widgets that name agent id (only its own may:
 * widget_admit).
 */
static int
agent_users(struct store_txn *t, const char *org, const char *id,
    char ***wids, uint32_t *n)
{
	struct st_widget *ws = NULL;
	uint32_t nw = 0, i, cnt = 0;
	char **out;

	if (store_widget_list(t, org, &ws, &nw) != 0)
		return t->err;
	if ((out = calloc(nw + 1, sizeof(*out))) == NULL) {
		store_widgets_free(ws, nw);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	for (i = 0; i < nw; i++) {
		if (strcmp(ws[i].agent_id, id) != 0)
			continue;
		if ((out[cnt] = strdup(ws[i].widget_id)) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			break;
		}
		cnt++;
	}
	store_widgets_free(ws, nw);
	if (t->err) {
		proto_strv_free(out, cnt);
		return t->err;
	}
	*wids = out;
	*n = cnt;
	return 0;
}

int
store_agent_delete(struct store_txn *t, const char *org, const char *id,
    char ***wids, uint32_t *n)
{
	struct st_agent a;

	if (t->err)
		return t->err;
	if (entity_must(t, &agent_entity, org, id, &a) < 0)
		return t->err;
	if (agent_users(t, a.org, id, wids, n) != 0 || *n > 0) {
		st_agent_free(&a);
		return t->err;
	}
	entity_remove(t, &agent_entity, &a);
	st_agent_free(&a);
	if (t->err) {
		proto_strv_free(*wids, 0);
		*wids = NULL;
	}
	return t->err;
}

int
store_agent_check(struct store_txn *t, const char *org, const char *id)
{
	int rc;

	if (t->err)
		return t->err;
	if (id[0] == '\0' || strcmp(id, ST_AGENT_DEFAULT) == 0)
		return 0;
	if ((rc = entity_known(t, &agent_entity, org, id)) == 0)
		return store_fail(t, PROTO_E_INVALID, "agent_id: no such agent");
	return t->err;
}

int
store_begin_agent(struct store_txn *t, const struct st_widget *w,
    struct st_agent *out)
{
	struct st_agent a;
	int rc = 1;

	if (t->err)
		return t->err;
	if (w != NULL && w->agent_id[0] != '\0' &&
	    (rc = entity_load(t, &agent_entity, w->agent_id, &a)) < 0)
		return t->err;
	/* Never another organisation's (widget_admit keeps it so). */
	if (rc == 0 && !entity_in_org(&agent_entity, &a, w->org)) {
		st_agent_free(&a);
		rc = 1;
	}
	/*
	 * None, or gone since: the default agent, every field unset but its
	 * organisation's and the sources it searches (those of its
	 * organisation with chunks: none, no search).
	 */
	if (rc == 1) {
		st_agent_defaults(&a);
		strlcpy(a.org, w != NULL && w->org[0] != '\0' ? w->org :
		    ST_WHO_ORG_DEFAULT, sizeof(a.org));
		if (store_set_str(t, &a.name, "") < 0 ||
		    store_kb_default_sources(t, a.org, &a) != 0) {
			st_agent_free(&a);
			return t->err;
		}
	}
	/* The widget's own prompt and model win over its agent's. */
	if (w != NULL && w->system_prompt != NULL &&
	    w->system_prompt[0] != '\0')
		store_set_str(t, &a.system_prompt, w->system_prompt);
	if (w != NULL && w->model != NULL && w->model[0] != '\0')
		store_set_str(t, &a.model, w->model);
	if (t->err) {
		st_agent_free(&a);
		return t->err;
	}
	*out = a;
	return 0;
}

void
store_agent_scrub(struct st_agent *a)
{
	agent_key_flag(a);
	if (a->api_key != NULL)
		a->api_key[0] = '\0';
}

void
store_agents_free(struct st_agent *as, uint32_t n)
{
	entity_free_all(&agent_entity, as, n);
}

/* ------------------------------------------------ its requests (optab.h) */

/* The widgets still using the agent, moved into the reply; else deleted. */
static int
agent_delete(struct store_txn *t, const char *org, const char *id,
    struct st_agent_delete_rep *rep)
{
	char **wids;
	uint32_t n, i;

	if (store_agent_delete(t, org, id, &wids, &n) != 0)
		return t->err;
	if (n > 0 && (rep->widget_ids = calloc(n,
	    sizeof(*rep->widget_ids))) == NULL) {
		proto_strv_free(wids, n);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	for (i = 0; i < n; i++)
		rep->widget_ids[i].s = wids[i];
	/* The array alone: its ids are the reply's now. */
	proto_strv_free(wids, 0);
	rep->in_use = n > 0;
	rep->n = n;
	return 0;
}

/* Its records go out without their key (store_agent_scrub). */
static int
agent_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_agent_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_agents *l = rep;
	uint32_t i;

	(void)gone;
	switch (type) {
	case PROTO_ST_AGENT_CREATE:
		store_agent_create(t, org, req, rep);
		break;
	case PROTO_ST_AGENT_UPDATE:
		store_agent_update(t, org, u->id, u->mask, &u->a, rep);
		break;
	case PROTO_ST_AGENT_GET:
		store_agent_get(t, org, q->id, rep);
		break;
	case PROTO_ST_AGENT_LIST:
		if (store_agent_list(t, org, &l->agents, &l->n) == 0)
			for (i = 0; i < l->n; i++)
				store_agent_scrub(&l->agents[i]);
		return t->err;
	case PROTO_ST_AGENT_DELETE:
		return agent_delete(t, org, q->id, rep);
	default:
		return store_fail(t, PROTO_E_UNSUPPORTED,
		    "not an agent request");
	}
	if (t->err == 0)
		store_agent_scrub(rep);
	return t->err;
}

const struct entity store_agent_entity = {
	PROTO_ST_AGENT_CREATE, agent_invalid, agent_run
};
