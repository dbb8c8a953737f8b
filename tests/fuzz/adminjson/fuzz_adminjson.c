/*
 * libFuzzer target for the admin API's JSON bodies mapped onto records:
 * an agent's (agents.c, agent_from_json) and a widget's (widgets.c,
 * widget_from_json). The first byte picks POST or PATCH; the rest is
 * the body. Whatever the bytes, nothing crashes or leaks; what is
 * accepted is a valid record (st_agent_invalid, st_widget_invalid) with
 * every text set; what is refused says why, naming a field.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "agentmsg.h"
#include "widgetmsg.h"
#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_adminjson: %s\n", what);
		abort();
	}
}

static void
agent_case(json_t *root, int patch)
{
	struct st_agent a;
	char err[256];
	uint64_t mask;

	st_agent_defaults(&a);
	err[0] = '\0';
	if (agent_from_json(root, &a, &mask, patch, err, sizeof(err)) < 0)
		check(strstr(err, ": ") != NULL, "agent: refused without a field");
	else {
		check(a.name != NULL && a.system_prompt != NULL &&
		    a.model != NULL && a.base_url != NULL && a.api_key != NULL,
		    "agent: a text is NULL");
		check(st_agent_invalid(&a) == NULL, "agent: accepted but invalid");
		check((mask & ~(uint32_t)ST_AF_ALL) == 0, "agent: mask");
		check(patch || (mask & ST_AF_NAME), "agent: created unnamed");
	}
	st_agent_free(&a);
}

static void
widget_case(json_t *root)
{
	struct st_widget w;
	char err[256];
	uint64_t mask;

	st_widget_defaults(&w);
	err[0] = '\0';
	if (widget_from_json(root, &w, &mask, 1, err, sizeof(err)) < 0)
		check(strstr(err, ": ") != NULL, "widget: refused without a field");
	else {
		check(st_widget_invalid(&w) == NULL, "widget: accepted but invalid");
		check((mask & ~(uint32_t)ST_WF_ALL) == 0, "widget: mask");
	}
	st_widget_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *root;

	if (size < 1)
		return 0;
	root = json_loadb((const char *)data + 1, size - 1,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		return 0;
	agent_case(root, data[0] & 1);
	widget_case(root);
	json_decref(root);
	return 0;
}
