/*
 * Agents and the human handoff (issue 15, proto/agentmsg.h): the stored
 * agents (agentstore.c), a conversation's handoff state and its index
 * (handoffstore.c). Conventions as in store.h: each operation does nothing
 * when t->err is set and returns t->err; results are filled only on
 * success.
 */
#ifndef PARLEY_AGENTSTORE_H
#define PARLEY_AGENTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "store.h"
#include "widgetmsg.h"

/*
 * Each takes org, the organisation who asks acts in (NULL: any): another
 * organisation's agent is `not found` exactly like an unknown id.
 *
 * ST_AGENT_CREATE: a new agent of org from in (id, times, org and
 * api_key_set are made here), checked by st_agent_invalid, at most
 * ST_AGENTS_MAX (all organisations together). out is the agent as
 * stored, with its key: store_agent_scrub() before a reply.
 */
int store_agent_create(struct store_txn *, const char *org,
    const struct st_agent *in, struct st_agent *out);
/* ST_AGENT_UPDATE: the masked fields (ST_AF_*) of in, checked as a whole. */
int store_agent_update(struct store_txn *, const char *org, const char *id,
    uint64_t mask, const struct st_agent *in, struct st_agent *out);
/* ST_AGENT_GET: "not found" for an unknown id, "default" included. */
int store_agent_get(struct store_txn *, const char *org, const char *id,
    struct st_agent *out);
/* ST_AGENT_LIST: org's agents, oldest first (*out: n of them). */
int store_agent_list(struct store_txn *, const char *org,
    struct st_agent **out, uint32_t *n);
/*
 * ST_AGENT_DELETE: deletes the agent unless widgets use it: then *n is
 * their count and *wids their public ids (free with proto_strv_free),
 * and nothing is deleted.
 */
int store_agent_delete(struct store_txn *, const char *org, const char *id,
    char ***wids, uint32_t *n);
/*
 * An agent id a widget of org may name: 0 ("" / "default", or stored and
 * org's), or fails t ("agent_id: no such agent").
 */
int store_agent_check(struct store_txn *, const char *org, const char *id);
/*
 * The agent a chat turn of widget w (NULL: no stored widget) answers
 * with: the widget's agent, or the default one (id "", every field
 * empty or unset but org, the widget's or the default organisation, and
 * knowledge_sources, store_kb_default_sources': its organisation's that
 * have chunks), with the widget's own system_prompt and model over its
 * agent's when not "". Carries the api_key.
 */
int store_begin_agent(struct store_txn *, const struct st_widget *w,
    struct st_agent *out);
/*
 * ST_AGENT_EMBED: the embedding model of org's agent id as a worker
 * embeds its questions with (its space, base_url, api_key: the key goes
 * to the worker alone), into out; id "" when it has none of its own (the
 * install's). "agent_id: no such agent" (invalid) as store_agent_check.
 */
struct st_kb_space;
int store_agent_embed(struct store_txn *, const char *org, const char *id,
    struct st_kb_space *out);
/* An agent for an agent reply: api_key "" (api_key_set says if it has one). */
void store_agent_scrub(struct st_agent *);
void store_agents_free(struct st_agent *, uint32_t n);

/*
 * The conversation a request names (32 hex): 0 with cid and c set (its
 * assignee as store_conv_assignee_view leaves it), or -1 with t failed
 * (`invalid` id, `not found`).
 */
int store_conv_find(struct store_txn *, const char *conv_id,
    uint8_t cid[16], struct st_conv *c);
/*
 * c's assignee cleared (and its name) when it is no longer a member of
 * c's organisation: a removed member's conversations are nobody's, read
 * and filtered as such, without a walk of them at its removal; the next
 * save of one stores it so. A disabled member keeps its own.
 */
void store_conv_assignee_view(struct store_txn *, struct st_conv *c);
/*
 * The person behind a request (issue 22): a dashboard session's user,
 * by id and by its account's display name; anyone else (a key, which
 * has no person) is user "" with the name it gave.
 */
struct store_person {
	char user[ST_WHO_USER_MAX + 1];
	char name[4 * ST_MSG_NAME_MAX + 1];
};
/* Who asks (NULL: nobody) as a person, given the name it sent. */
int store_who_person(struct store_txn *, const struct st_who *who,
    const char *given, struct store_person *out);
/*
 * Sets conversation cid's handoff state (c is it, as loaded; updated in
 * place and saved) and its index entries. from_ai_only: only a
 * conversation in state ai changes. waiting_by: ST_WAITING_*
 * (storemsg.h), who makes the change: the visitor, the assistant or a
 * person. Taking over (human) by a user (by not NULL, by->user set) makes
 * it the assignee unless one is set; handing back keeps the assignee.
 * waiting_human records waiting_by in c and opens a snoozed or resolved
 * conversation again, as a visitor's message does; only the visitor's
 * or the assistant's is a request for a person (st_waiting_asked): the
 * first one sets c->asked_at, and each makes its question a gap.
 * *changed 0 when nothing changed, else HANDOFF_CHANGED, with
 * HANDOFF_REOPENED when it was opened again (a state event is due).
 */
#define HANDOFF_CHANGED		1
#define HANDOFF_REOPENED	2
int store_handoff_set(struct store_txn *, const uint8_t cid[16],
    struct st_conv *c, int state, int from_ai_only, int waiting_by,
    const struct store_person *by, int *changed);
/*
 * ST_CONV_ASSIGN: conversation cid (c, as loaded; updated and saved) to
 * user ("" none), an enabled member of the conversation's organisation
 * (else `not found`). *changed 0 when it was already so.
 */
int store_conv_assign(struct store_txn *, const uint8_t cid[16],
    struct st_conv *c, const char *user, int *changed);
/*
 * ST_HANDOFF_LIST: at most limit (1 to ST_HANDOFF_LIST_MAX)
 * conversations in state waiting_human, then human, each oldest first
 * (by when they entered it), after cursor ("" the first: else the hex of
 * the last one's key, as out->next_cursor gives it); out->total: all of
 * them. out as store_list_free frees it.
 */
int store_handoff_list(struct store_txn *, uint32_t limit,
    const char *cursor, struct store_list *out);

#endif
