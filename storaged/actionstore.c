/*
 * An organisation's actions (see actionstore.h, STORAGE.md), a records.c
 * entity:
 *
 *	actions       id ("act_" + 32 hex) -> action (ST_ACTION_ROWS)
 *	action_order  u64 created_at | id -> ()
 *	action_org    org NUL u64 created_at | id -> () (records.c)
 *
 * A name is its organisation's once: it is the tool's name the model
 * calls. The headers' values leave storaged only in a turn's tools
 * (ST_ACTION_TOOLS); the admin API's replies carry their names alone.
 * An update that moves the url to another origin without new headers
 * clears them (action_headers_stay).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actionstore.h"
#include "optab.h"
#include "records.h"
#include "stmsgs.h"
#include "storeint.h"


static const char *
action_invalid(const void *rec)
{
	return st_action_invalid(rec);
}

/*
 * A new name (a new action's too): none of its organisation's other
 * actions has it. (Their count is bounded by org_full.)
 */
static int
action_admit(struct store_txn *t, const void *rec, uint64_t mask)
{
	const struct st_action *a = rec;
	struct st_action *all;
	uint32_t n, i;

	if (mask != UINT32_MAX && !(mask & ST_ACF_NAME))
		return 0;
	if (entity_list(t, &action_entity, a->org, (void **)&all, &n) != 0)
		return t->err;
	for (i = 0; i < n && !t->err; i++)
		if (strcmp(all[i].id, a->id) != 0 &&
		    strcmp(all[i].name, a->name) == 0)
			store_fail(t, PROTO_E_INVALID, "name: another action "
			    "has it");
	entity_free_all(&action_entity, all, n);
	return t->err;
}

/*
 * The headers' values are write-only: a url changed by an update that
 * leaves the headers as they were would take them wherever it points
 * with the next call, another path of the same origin included (on a
 * shared host the path is the tenant: script.google.com/macros/s/<id>,
 * hooks.zapier.com/hooks/catch/<id>), by an admin never shown them. They
 * are cleared then, as an agent's key is (agentstore.c). 0, or -1.
 */
static int
action_headers_stay(struct store_txn *t, const struct st_action *cur,
    struct st_action *req, uint64_t *mask)
{
	const char *a = cur->url != NULL ? cur->url : "";
	const char *b = req->url != NULL ? req->url : "";

	if (!(*mask & ST_ACF_URL) || (*mask & ST_ACF_HEADERS) ||
	    cur->headers == NULL || cur->headers[0] == '\0' ||
	    strcmp(a, b) == 0)
		return 0;
	free(req->headers);
	if ((req->headers = strdup("")) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	*mask |= ST_ACF_HEADERS;
	return 0;
}

/*
 * An update's fields merged. A url or body the update leaves as it was,
 * stored before its placeholders had to name a parameter, is refused as
 * the whole record is, but in words that say it is the stored one to
 * send again: the update (a new description alone) did not name it.
 */
static int
action_merge(struct store_txn *t, void *curp, void *reqp, uint64_t mask,
    void *arg)
{
	static _Thread_local char why_buf[320];
	const char *why, *field;

	(void)arg;
	if (action_headers_stay(t, curp, reqp, &mask) < 0)
		return -1;
	rl_merge(&st_action_layout, curp, reqp, mask);
	if ((mask & ST_ACF_PARAMETERS) ||
	    (why = st_action_templates_invalid(curp)) == NULL)
		return 0;
	if (strncmp(why, "url: ", 5) == 0 && !(mask & ST_ACF_URL))
		field = "url";
	else if (strncmp(why, "body: ", 6) == 0 && !(mask & ST_ACF_BODY))
		field = "body";
	else
		return 0;	/* the update's own: entity_invalid says */
	snprintf(why_buf, sizeof(why_buf), "%s: this action's %s, saved "
	    "before such a %s was refused, has %s: send %s with this change",
	    field, field, field, why + strlen(field) + 2, field);
	store_fail(t, PROTO_E_INVALID, why_buf);
	return -1;
}

/* header_names follows the headers: each name and a newline. */
static void
action_names(void *rec)
{
	struct st_action *a = rec;
	const char *p = a->headers != NULL ? a->headers : "", *colon, *nl;
	size_t len, at = 0;

	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		if ((colon = memchr(p, ':', (size_t)(nl - p))) == NULL)
			continue;	/* refused by st_action_invalid */
		len = (size_t)(colon - p);
		if (at + len + 1 > ST_ACTION_HNAMES_MAX)
			break;
		memcpy(a->header_names + at, p, len);
		a->header_names[at + len] = '\n';
		at += len + 1;
	}
	a->header_names[at] = '\0';
}

const struct store_entity action_entity = {
	ENTITY_NAMES("action", "no such action", "actions: too many"),
	ENTITY_RECORD(action, actions, action_order),
	ENTITY_OF_ORG(action, action_org, ST_ACTIONS_MAX),
	.org_full = "actions: at most 100",
	ENTITY_IDS(ST_ACTION_PREFIX, ST_ACTION_ID_LEN, st_action_id_valid),
	.mask_all = ST_ACF_ALL,
	.invalid = action_invalid,
	.admit = action_admit,
	.prepare = action_names,
	.merge = action_merge,
};

/* The admin API's replies: the headers' values wiped, their names kept. */
static void
action_scrub(struct st_action *a)
{
	if (a->headers == NULL)
		return;
	explicit_bzero(a->headers, strlen(a->headers));
}

/*
 * q's agent (org's) into a: 0, or -1 with t failed. None asked: a->id
 * "" and every action passes (action_listed); one gone or another
 * organisation's lists none.
 */
static int
tools_agent(struct store_txn *t, const struct st_action_tools_req *q,
    struct st_agent *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if (q->agent[0] == '\0')
		return 0;
	if ((rc = entity_load(t, &agent_entity, q->agent, a)) < 0)
		return -1;
	if (rc == 1 || !entity_in_org(&agent_entity, a, q->org)) {
		st_agent_free(a);
		memset(a, 0, sizeof(*a));
	}
	strlcpy(a->id, q->agent, sizeof(a->id));
	return 0;
}

/* 1 when agent a (tools_agent's) may call action id. */
static int
action_listed(const struct st_agent *a, const char *id)
{
	uint32_t i;

	if (a->id[0] == '\0')
		return 1;
	for (i = 0; i < a->nactions; i++)
		if (strcmp(a->actions[i], id) == 0)
			return 1;
	return 0;
}

int
store_action_tools(struct store_txn *t, const struct st_action_tools_req *q,
    struct st_actions *out)
{
	struct st_agent agent;
	uint32_t i, n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || q->n == 0)
		return t->err;
	if (tools_agent(t, q, &agent) < 0)
		return t->err;
	if ((out->actions = calloc(q->n, sizeof(*out->actions))) == NULL) {
		st_agent_free(&agent);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	for (i = 0; i < q->n && !t->err; i++) {
		if (!st_action_id_valid(q->ids[i].s) ||
		    !action_listed(&agent, q->ids[i].s))
			continue;
		rc = entity_load(t, &action_entity, q->ids[i].s,
		    &out->actions[n]);
		if (rc != 0)
			continue;	/* absent, or t failed */
		if (!entity_in_org(&action_entity, &out->actions[n], q->org) ||
		    (!out->actions[n].enabled && !q->disabled_too)) {
			st_action_free(&out->actions[n]);
			continue;
		}
		n++;
	}
	st_agent_free(&agent);
	out->n = n;
	/* A dry run's one action: absent, or another organisation's. */
	if (!t->err && n == 0 && q->disabled_too)
		store_fail(t, PROTO_E_NOT_FOUND, "no such action");
	/* A failed request's reply is not sent, nor freed by the caller. */
	if (t->err)
		st_rep_free(PROTO_ST_ACTION_TOOLS, out);
	return t->err;
}

/* ------------------------------------------------ its requests (optab.h) */

static int
action_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_action_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_actions *l = rep;
	void *all;
	uint32_t i;

	(void)gone;
	switch (type) {
	case PROTO_ST_ACTION_CREATE:
		if (entity_create(t, &action_entity, org, req, rep) == 0)
			action_scrub(rep);
		return t->err;
	case PROTO_ST_ACTION_UPDATE:
		if (entity_update(t, &action_entity, org, u->id, u->mask,
		    &u->a, rep, NULL) == 0)
			action_scrub(rep);
		return t->err;
	case PROTO_ST_ACTION_GET:
		if (entity_get(t, &action_entity, org, q->id, rep) == 0)
			action_scrub(rep);
		return t->err;
	case PROTO_ST_ACTION_LIST:
		if (entity_list(t, &action_entity, org, &all, &l->n) != 0)
			return t->err;
		l->actions = all;
		for (i = 0; i < l->n; i++)
			action_scrub(&l->actions[i]);
		return t->err;
	case PROTO_ST_ACTION_DELETE:
		/* The reply is empty: what was loaded is freed. */
		return entity_delete(t, &action_entity, org, q->id, rep);
	case PROTO_ST_ACTION_TOOLS:
		return store_action_tools(t, req, rep);
	}
	return store_fail(t, PROTO_E_UNSUPPORTED, "not an action request");
}

const struct entity store_action_entity = {
	PROTO_ST_ACTION_CREATE, action_invalid, action_run
};
