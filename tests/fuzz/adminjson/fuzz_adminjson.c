/*
 * libFuzzer target for the admin API's JSON bodies mapped onto records
 * (entity.c, admin_entity_from_json), for each entity with a body: an
 * action, an agent, a knowledge source, an organisation, a webhook, a
 * widget. The first byte picks the entity (bits 1-7, modulo their
 * number) and POST or PATCH (bit 0); the rest is the body. The record
 * starts as the route's does (entity_body: the entity's update request,
 * its start). Whatever the bytes, nothing crashes or leaks; what is
 * refused says why, naming a field; what is accepted has every text set,
 * only known bits in its mask, and a POST's (an agent's and a widget's
 * PATCH too: they start from whole defaults) is a record storaged takes
 * (the kind's st_*_invalid).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actionmsg.h"
#include "admin.h"
#include "agentmsg.h"
#include "hookmsg.h"
#include "kbmsg.h"
#include "orgmsg.h"
#include "widgetmsg.h"
#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each kind's check as storaged runs it, on the record as a void *. */
#define STORE_CHECK(name, fn)						\
	static const char *name(const void *r) { return fn(r); }
STORE_CHECK(action_check, st_action_invalid)
STORE_CHECK(agent_check, st_agent_invalid)
STORE_CHECK(source_check, st_kbsource_invalid)
STORE_CHECK(org_check, st_org_invalid)
STORE_CHECK(hook_check, st_webhook_invalid)
STORE_CHECK(widget_check, st_widget_invalid)

static const struct kind {
	const char *name;
	const struct admin_entity *e;
	const char *(*store_invalid)(const void *);
	uint64_t all;		/* the bits a mask may hold */
	int patch_whole;	/* a PATCH starts from a whole record */
} kinds[] = {
	{ "action", &action_entity, action_check, ST_ACF_ALL, 0 },
	{ "agent", &agent_entity, agent_check, ST_AF_ALL, 1 },
	{ "source", &kb_source_entity, source_check, ST_KSF_ALL, 0 },
	{ "org", &org_entity, org_check, ST_OF_ALL, 0 },
	{ "webhook", &hook_entity, hook_check, ST_HF_ALL, 0 },
	{ "widget", &widget_entity, widget_check, ST_WF_ALL, 1 },
};

static void
check(int cond, const struct kind *k, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_adminjson: %s: %s\n", k->name, what);
		abort();
	}
}

/* Every text row of a record with rows is set (NULL is not ""). */
static int
texts_set(const struct rlayout *l, const void *rec)
{
	const struct rfield *f;
	size_t i;

	for (i = 0; l != NULL && i < l->nf; i++) {
		f = &l->f[i];
		if ((f->kind == RF_TEXT || f->kind == RF_STR ||
		    f->kind == RF_BYTES) &&
		    *(char *const *)((const char *)rec + f->off) == NULL)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kind *k;
	json_error_t jerr;
	json_t *root;
	union st_any u;
	char err[256];
	uint64_t mask = 0;
	void *rec;
	int patch;

	if (size < 1)
		return 0;
	k = &kinds[(data[0] >> 1) % (sizeof(kinds) / sizeof(kinds[0]))];
	patch = data[0] & 1;
	root = json_loadb((const char *)data + 1, size - 1,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		return 0;
	memset(&u, 0, sizeof(u));
	rec = k->e->update_req(&u, NULL, 0);
	k->e->start(rec, patch);
	err[0] = '\0';
	if (admin_entity_from_json(k->e, root, rec, &mask, patch, err,
	    sizeof(err)) < 0)
		check(strstr(err, ": ") != NULL, k, "refused without a field");
	else {
		check(texts_set(k->e->layout, rec), k, "a text is NULL");
		check((mask & ~k->all) == 0, k, "mask");
		if (!patch || k->patch_whole)
			check(k->store_invalid(rec) == NULL, k,
			    "accepted but invalid");
	}
	st_req_free(k->e->create, rec);
	json_decref(root);
	return 0;
}
