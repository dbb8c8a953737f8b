/*
 * Agents (see STORAGE.md, agentstore.h):
 *
 *	agents       id (32 hex) -> agent (penc_agent, with its api_key)
 *	agent_order  u64 created_at | id (32 hex) -> (nothing)
 *
 * Every value starts with ST_RECORD_VERSION. The default agent is not
 * stored: it is the deployment's environment, which the worker knows.
 */
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "random.h"
#include "storeint.h"
#include "widgetstore.h"

#define AGENT_ORDER_KEY_LEN	(8 + ST_ID_HEX)

static void
agent_save(struct store_txn *t, const struct st_agent *a)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_agent(&e, a);
	rec_put(t, t->st->agents, a->id, strlen(a->id), &e, "put agent");
	penc_free(&e);
}

/* By id: 0 loaded, 1 absent (or not an agent id), -1 error. */
static int
agent_load(struct store_txn *t, const char *id, struct st_agent *a)
{
	struct pdec d;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!st_id_valid(id))
		return t->err ? -1 : 1;
	if ((rc = rec_get(t, t->st->agents, id, strlen(id), &d, "agent")) != 0)
		return rc;
	if (pdec_agent(&d, a) < 0 || pdec_done(&d) < 0) {
		st_agent_free(a);
		rec_corrupt(t, "agent");
		return -1;
	}
	return 0;
}

/* Loads an agent a request names, or fails t with "not found". */
static int
agent_must(struct store_txn *t, const char *id, struct st_agent *a)
{
	int rc;

	if ((rc = agent_load(t, id, a)) == 1)
		store_fail(t, PROTO_E_NOT_FOUND, "no such agent");
	return rc == 0 ? 0 : -1;
}

static void
agent_order_key(uint8_t k[AGENT_ORDER_KEY_LEN], const struct st_agent *a)
{
	proto_put_be64(k, a->created_at);
	memcpy(k + 8, a->id, ST_ID_HEX);
}

/* api_key_set follows the key. */
static void
agent_key_flag(struct st_agent *a)
{
	a->api_key_set = a->api_key != NULL && a->api_key[0] != '\0';
}

int
store_agent_create(struct store_txn *t, const struct st_agent *in,
    struct st_agent *out)
{
	struct st_agent a;
	uint8_t r[ID_LEN], ok[AGENT_ORDER_KEY_LEN];
	const char *bad;
	MDB_stat ms;
	MDB_val v;
	int rc;

	if (t->err)
		return t->err;
	if ((bad = st_agent_invalid(in)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if ((rc = mdb_stat(t->txn, t->st->agents, &ms)) != 0)
		return txn_lmdb(t, rc, "stat agents");
	if (ms.ms_entries >= ST_AGENTS_MAX)
		return store_fail(t, PROTO_E_INVALID, "agents: at most 1000");
	if (st_agent_copy(&a, in) < 0)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	do {
		proto_random(r, sizeof(r));
		proto_hex_encode(r, sizeof(r), a.id);
	} while ((rc = db_get(t, t->st->agents, a.id, ST_ID_HEX, &v,
	    "get agent")) == 0);
	a.created_at = a.updated_at = t->st->now();
	agent_key_flag(&a);
	agent_save(t, &a);
	agent_order_key(ok, &a);
	db_put(t, t->st->agent_order, ok, sizeof(ok), &rec_version, 1,
	    "put agent order");
	if (t->err) {
		st_agent_free(&a);
		return t->err;
	}
	*out = a;
	return 0;
}

#define SWAP(a, b) do {				\
	__typeof__(a) tmp_ = (a);		\
	(a) = (b);				\
	(b) = tmp_;				\
} while (0)

/* NULL is "" to every reader of an agent's texts. */
static const char *
text_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int
store_agent_update(struct store_txn *t, const char *id, uint32_t mask,
    const struct st_agent *in, struct st_agent *out)
{
	struct st_agent cur, req;
	const char *bad;

	if (t->err)
		return t->err;
	if (mask & ~(uint32_t)ST_AF_ALL)
		return store_fail(t, PROTO_E_INVALID, "mask: unknown fields");
	if (agent_must(t, id, &cur) < 0)
		return t->err;
	if (st_agent_copy(&req, in) < 0) {
		st_agent_free(&cur);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	/* Move the masked fields over; req frees what they replaced. */
	if (mask & ST_AF_NAME)
		SWAP(cur.name, req.name);
	if (mask & ST_AF_SYSTEM_PROMPT)
		SWAP(cur.system_prompt, req.system_prompt);
	if (mask & ST_AF_MODEL)
		SWAP(cur.model, req.model);
	if (mask & ST_AF_TEMPERATURE)
		cur.temperature_milli = req.temperature_milli;
	if (mask & ST_AF_MAX_TOKENS)
		cur.max_tokens = req.max_tokens;
	if (mask & ST_AF_HISTORY)
		cur.history_messages = req.history_messages;
	/* A key never follows its agent to a new server unless set anew. */
	if ((mask & ST_AF_BASE_URL) && !(mask & ST_AF_API_KEY) &&
	    strcmp(text_or_empty(cur.base_url), text_or_empty(req.base_url)) != 0 &&
	    *text_or_empty(cur.api_key) != '\0') {
		free(req.api_key);
		req.api_key = cur.api_key;
		if ((cur.api_key = strdup("")) == NULL) {
			st_agent_free(&cur);
			st_agent_free(&req);
			return store_fail(t, PROTO_E_INTERNAL, "out of memory");
		}
	}
	if (mask & ST_AF_BASE_URL)
		SWAP(cur.base_url, req.base_url);
	if (mask & ST_AF_API_KEY)
		SWAP(cur.api_key, req.api_key);
	st_agent_free(&req);
	if ((bad = st_agent_invalid(&cur)) != NULL) {
		st_agent_free(&cur);
		return store_fail(t, PROTO_E_INVALID, bad);
	}
	agent_key_flag(&cur);
	if (t->st->now() > cur.updated_at)
		cur.updated_at = t->st->now();
	agent_save(t, &cur);
	if (t->err) {
		st_agent_free(&cur);
		return t->err;
	}
	*out = cur;
	return 0;
}

int
store_agent_get(struct store_txn *t, const char *id, struct st_agent *out)
{
	if (t->err)
		return t->err;
	agent_must(t, id, out);
	return t->err;
}

static int
agent_load_item(struct store_txn *t, const char *id, void *item)
{
	return agent_load(t, id, item);
}

int
store_agent_list(struct store_txn *t, struct st_agent **out, uint32_t *n)
{
	struct order_list o = {
		.index = t->st->agent_order,
		.what = "agent",
		.idmin = ST_ID_HEX,
		.idmax = ST_ID_HEX,
		.max = ST_AGENTS_MAX,
		.size = sizeof(struct st_agent),
		.load = agent_load_item,
	};
	struct st_agent *as;
	uint32_t cnt;

	if (t->err)
		return t->err;
	if ((as = calloc(ST_AGENTS_MAX, sizeof(*as))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (order_list(t, &o, as, &cnt) != 0) {
		store_agents_free(as, cnt);
		return t->err;
	}
	*out = as;
	*n = cnt;
	return 0;
}

/* The public ids of the widgets that name agent id. */
static int
agent_users(struct store_txn *t, const char *id, char ***wids, uint32_t *n)
{
	struct st_widget *ws;
	uint32_t nw, i, cnt = 0;
	char **out;

	if (store_widget_list(t, &ws, &nw) != 0)
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
		store_agent_users_free(out, cnt);
		return t->err;
	}
	*wids = out;
	*n = cnt;
	return 0;
}

int
store_agent_delete(struct store_txn *t, const char *id, char ***wids,
    uint32_t *n)
{
	struct st_agent a;
	uint8_t ok[AGENT_ORDER_KEY_LEN];

	if (t->err)
		return t->err;
	if (agent_must(t, id, &a) < 0)
		return t->err;
	if (agent_users(t, id, wids, n) != 0 || *n > 0) {
		st_agent_free(&a);
		return t->err;
	}
	agent_order_key(ok, &a);
	db_del(t, t->st->agent_order, ok, sizeof(ok), "delete agent order");
	db_del(t, t->st->agents, a.id, strlen(a.id), "delete agent");
	st_agent_free(&a);
	if (t->err) {
		store_agent_users_free(*wids, 0);
		*wids = NULL;
	}
	return t->err;
}

void
store_agent_users_free(char **wids, uint32_t n)
{
	uint32_t i;

	for (i = 0; wids != NULL && i < n; i++)
		free(wids[i]);
	free(wids);
}

int
store_agent_check(struct store_txn *t, const char *id)
{
	struct st_agent a;
	int rc;

	if (t->err)
		return t->err;
	if (id[0] == '\0' || strcmp(id, ST_AGENT_DEFAULT) == 0)
		return 0;
	if ((rc = agent_load(t, id, &a)) == 1)
		return store_fail(t, PROTO_E_INVALID, "agent_id: no such agent");
	st_agent_free(&a);
	return t->err;
}

/* *dst becomes a copy of src. 0, or -1 out of memory (t failed). */
static int
str_over(struct store_txn *t, char **dst, const char *src)
{
	char *s;

	if ((s = strdup(src)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
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
	    (rc = agent_load(t, w->agent_id, &a)) < 0)
		return t->err;
	/* None, or gone since: the default agent, every field unset. */
	if (rc == 1) {
		st_agent_defaults(&a);
		if (str_over(t, &a.name, "") < 0)
			return t->err;
	}
	/* The widget's own prompt and model win over its agent's. */
	if (w != NULL && w->system_prompt != NULL &&
	    w->system_prompt[0] != '\0')
		str_over(t, &a.system_prompt, w->system_prompt);
	if (w != NULL && w->model != NULL && w->model[0] != '\0')
		str_over(t, &a.model, w->model);
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
	uint32_t i;

	for (i = 0; as != NULL && i < n; i++)
		st_agent_free(&as[i]);
	free(as);
}
