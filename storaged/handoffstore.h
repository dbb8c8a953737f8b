/*
 * handoffstore.c's rules on the people who answer a conversation: the
 * name a person shows. (Its operations on the handoff state and the
 * person behind a request are declared in agentstore.h.)
 */
#ifndef PARLEY_HANDOFFSTORE_H
#define PARLEY_HANDOFFSTORE_H

#include <stddef.h>

/*
 * NULL when display name s (an agent's message's, a take-over's, a
 * typing's) is UTF-8 of min (0 or 1) to ST_AGENT_NAME_MAX characters,
 * else why not (static).
 */
const char *store_person_name_invalid(const char *s, size_t min);

#endif
