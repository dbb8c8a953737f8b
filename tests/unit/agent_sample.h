/*
 * An agent with every field set to something other than its default, for
 * the unit tests of its codec (proto/) and of its stored bytes (storaged/):
 * they pin what it encodes to, so both fill it the same.
 */
#ifndef PARLEY_TEST_AGENT_SAMPLE_H
#define PARLEY_TEST_AGENT_SAMPLE_H

#include <string.h>

#include "agentmsg.h"

/* a (freed by st_agent_free) with id id, made at t0 and changed 1 ms later. */
static inline void
agent_sample(struct st_agent *a, const char *id, uint64_t t0)
{
	st_agent_defaults(a);
	strlcpy(a->id, id, sizeof(a->id));
	a->name = strdup("Sales — “bot”");
	a->system_prompt = strdup("You sell things.");
	a->model = strdup("gpt-4o-mini");
	a->temperature_milli = 700;
	a->max_tokens = 512;
	a->history_messages = 12;
	a->base_url = strdup("https://llm.example/v1");
	a->api_key = strdup("sk-test-123");
	a->api_key_set = 1;
	a->created_at = t0;
	a->updated_at = t0 + 1;
}

#endif
