/*
 * storaged's agents and human handoff (issue 15, agentmsg.h): agent CRUD
 * and its in-use refusal, widgets naming agents, the agent and history
 * the begin replies carry, handoff states and their index, agent
 * messages, typing, and the events each request makes.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agentmsg.h"
#include "agentstore.h"
#include "log.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "widgetmsg.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-agents-XXXXXX", 1);
}

/* ------------------------------------------------ helpers */

static struct st_agent
agent_named(const char *name)
{
	struct st_agent a;

	st_agent_defaults(&a);
	a.name = strdup(name);
	assert_non_null(a.name);
	return a;
}

/* An agent reply (CREATE, UPDATE, GET) into out; the error code. */
static int
agent_req(struct fix *f, uint16_t type, const void *req,
    struct st_agent *out)
{
	int err;

	/* The key never leaves storaged in an agent reply. */
	if ((err = request_dec(f, type, req, out)) == 0)
		assert_string_equal(out->api_key, "");
	return err;
}

static int
agent_create(struct fix *f, const struct st_agent *in, struct st_agent *out)
{
	return agent_req(f, PROTO_ST_AGENT_CREATE, in, out);
}

static int
agent_update(struct fix *f, const char *id, uint64_t mask,
    const struct st_agent *in, struct st_agent *out)
{
	struct st_agent_update_req q = { id, mask, *in };

	return agent_req(f, PROTO_ST_AGENT_UPDATE, &q, out);
}

static int
agent_get(struct fix *f, const char *id, struct st_agent *out)
{
	return agent_req(f, PROTO_ST_AGENT_GET, &(struct st_id_req){ id },
	    out);
}

/* ST_AGENT_DELETE: the error code; *in_use and the widgets' ids. */
static int
agent_delete(struct fix *f, const char *id, int *in_use, uint32_t *n,
    char wids[4][ST_WID_LEN + 1])
{
	struct st_agent_delete_rep rep;
	uint32_t i;
	int err;

	*n = 0;
	if ((err = request_dec(f, PROTO_ST_AGENT_DELETE,
	    &(struct st_id_req){ id }, &rep)) == 0) {
		*in_use = rep.in_use;
		*n = rep.n;
		assert_true(*n <= 4);
		for (i = 0; i < *n; i++)
			strlcpy(wids[i], rep.widget_ids[i].s, ST_WID_LEN + 1);
		assert_int_equal(*in_use, *n > 0);
		st_rep_free(PROTO_ST_AGENT_DELETE, &rep);
	}
	return err;
}

/* A widget naming agent_id (with prompt and model "" unless given). */
static int
widget_with_agent(struct fix *f, const char *agent_id, const char *prompt,
    const char *model, struct st_widget *out)
{
	struct st_widget in;
	int err;

	st_widget_defaults(&in);
	strlcpy(in.agent_id, agent_id, sizeof(in.agent_id));
	in.system_prompt = strdup(prompt);
	in.model = strdup(model);
	err = request_dec(f, PROTO_ST_WIDGET_CREATE, &in, out);
	st_widget_free(&in);
	return err;
}

static int
widget_set_agent(struct fix *f, const char *wid, const char *agent_id)
{
	struct st_widget_update_req q = { .id = wid, .mask = ST_WF_AGENT_ID };
	struct dreply r;
	int err;

	st_widget_defaults(&q.w);
	strlcpy(q.w.agent_id, agent_id, sizeof(q.w.agent_id));
	err = request_st(f, PROTO_ST_WIDGET_UPDATE, &q, &r);
	dreply_free(&r);
	return err;
}

/* Widget wid's handoff_enabled set to on. */
static int
widget_set_handoff(struct fix *f, const char *wid, int on)
{
	struct st_widget_update_req q = { .id = wid,
	    .mask = ST_WF_HANDOFF_ENABLED };
	struct dreply r;
	int err;

	st_widget_defaults(&q.w);
	q.w.handoff_enabled = (uint8_t)on;
	err = request_st(f, PROTO_ST_WIDGET_UPDATE, &q, &r);
	dreply_free(&r);
	return err;
}

/* What a begin reply said after its front end's head. */
struct begin {
	int result;
	struct st_agent agent;
	int created;
	struct st_conv conv;
	uint32_t n;
	char roles[32][ST_ROLE_MAX + 1];
	int late, wrote;
	struct dreply r;	/* kept: its events */
};

static void
begin_free(struct begin *b)
{
	st_agent_free(&b->agent);
	st_conv_free(&b->conv);
	dreply_free(&b->r);
	memset(b, 0, sizeof(*b));
}

/*
 * b's reply (a begin's that goes on) decoded by the table: its agent,
 * conversation and message kept in b, the history's roles.
 */
static void
begin_take(struct fix *f, uint16_t type, struct begin *b)
{
	struct st_begin_rep rep;
	uint32_t i;

	assert_int_equal(st_rep_decode(type, b->r.enc.buf, b->r.enc.len,
	    &rep), 0);
	b->result = rep.result;
	assert_int_equal(rep.retry_ms, 0);
	/* The turn went on: the reply carries its conversation. */
	assert_true(rep.ok.conv_id[0] != '\0');
	b->agent = rep.ok.agent;
	b->created = rep.ok.created;
	/* It names it: read whole, as the tests look at it. */
	fix_conv_get(f, rep.ok.conv_id, &b->conv);
	b->n = rep.ok.nhistory;
	assert_true(b->n <= 32);
	for (i = 0; i < b->n; i++)
		strlcpy(b->roles[i], rep.ok.history[i].role, ST_ROLE_MAX + 1);
	/* What b took is its own now: the rest is freed. */
	memset(&rep.ok.agent, 0, sizeof(rep.ok.agent));
	st_rep_free(type, &rep);
	b->late = b->r.late;
	b->wrote = b->r.wrote;
	fix_turns_end(f);	/* as its reply would */
}

/* ST_CHAT_BEGIN on widget (internal id) and session, history_max 30. */
static void
chat_begin(struct fix *f, const char *widget, const char *session,
    const char *content, struct begin *b)
{
	struct st_chat_begin_req q = { .widget = widget, .session = session,
	    .content = content, .history_max = 30 };

	memset(b, 0, sizeof(*b));
	assert_int_equal(request_st(f, PROTO_ST_CHAT_BEGIN, &q, &b->r), 0);
	begin_take(f, PROTO_ST_CHAT_BEGIN, b);
}

/* ST_WS_BEGIN as a new or known visitor (token byte tb) of wid. */
static void
ws_begin(struct fix *f, const char *wid, uint8_t tb, const char *content,
    struct begin *b)
{
	struct st_ws_begin_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .content = content,
	    .window_ms = 60000, .history_max = 30, .create = 1 };

	memset(b, 0, sizeof(*b));
	memset(q.token, tb, sizeof(q.token));
	assert_int_equal(request_st(f, PROTO_ST_WS_BEGIN, &q, &b->r), 0);
	begin_take(f, PROTO_ST_WS_BEGIN, b);
}

/* ST_HANDOFF_SET: the error code; *changed and the conversation's state. */
static int
handoff_set(struct fix *f, const char *conv_id, int state, const char *name,
    int ai_only, int *changed, int *now)
{
	struct st_handoff_set_req q = { conv_id, (uint8_t)state, name,
	    (uint8_t)ai_only };
	struct st_handoff_set_rep rep;
	struct dreply r;
	int err;

	if ((err = request_st(f, PROTO_ST_HANDOFF_SET, &q, &r)) == 0) {
		assert_int_equal(st_rep_decode(PROTO_ST_HANDOFF_SET, r.enc.buf,
		    r.enc.len, &rep), 0);
		*changed = rep.changed;
		*now = rep.conv.handoff;
		st_rep_free(PROTO_ST_HANDOFF_SET, &rep);
		/* An event exactly when it changed, for visitors too. */
		assert_int_equal(r.nevs, (size_t)*changed);
		if (*changed) {
			assert_int_equal(r.evs[0].kind, ST_EV_HANDOFF);
			assert_true(r.evs[0].visitor);
		}
	}
	dreply_free(&r);
	return err;
}

/* ST_HANDOFF_LIST: the conversations' ids and states, in order. */
static uint32_t
handoff_list(struct fix *f, uint32_t limit, char ids[8][ST_ID_HEX + 1],
    int states[8])
{
	struct st_conv_page rep;
	uint32_t i, n;

	assert_int_equal(request_dec(f, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ limit, "" }, &rep), 0);
	n = rep.n;
	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		strlcpy(ids[i], rep.convs[i].id, ST_ID_HEX + 1);
		states[i] = rep.convs[i].handoff;
	}
	st_rep_free(PROTO_ST_HANDOFF_LIST, &rep);
	return n;
}

/* An event of r decoded by the table (not numbered yet: epoch, seq 0). */
static void
event_of(const struct dreply *r, size_t i, struct st_event *ev)
{
	assert_true(i < r->nevs);
	assert_int_equal(st_req_decode(PROTO_ST_EV, r->evs[i].enc.buf,
	    r->evs[i].enc.len, ev), 0);
	assert_int_equal(ev->epoch, 0);
	assert_int_equal(ev->seq, 0);
	assert_int_equal(ev->kind, r->evs[i].kind);
}

/* ------------------------------------------------ agents */

static void
test_agent_crud(void **state)
{
	struct fix *f = *state;
	struct st_agent in, a, b, g;
	struct st_agents l;

	in = agent_named("Sales");
	in.system_prompt = strdup("Sell.");
	in.api_key = strdup("sk-secret");
	in.temperature_milli = 300;
	in.history_messages = 4;
	strlcpy(in.id, "ignored", sizeof(in.id));
	in.created_at = 5;
	assert_int_equal(agent_create(f, &in, &a), 0);
	assert_true(st_id_valid(a.id));
	assert_string_equal(a.name, "Sales");
	assert_int_equal(a.api_key_set, 1);
	assert_int_equal(a.temperature_milli, 300);
	assert_int_equal(a.created_at, T0);
	assert_int_equal(a.updated_at, T0);

	fake_now = T0 + 10;
	st_agent_free(&in);
	in = agent_named("Support");
	assert_int_equal(agent_create(f, &in, &b), 0);
	assert_int_equal(b.api_key_set, 0);

	/* Update: only the masked fields; "" clears the key. */
	fake_now = T0 + 20;
	free(in.name);
	in.name = strdup("Sales 2");
	in.api_key = strdup("");
	in.temperature_milli = 1999;
	assert_int_equal(agent_update(f, a.id, ST_AF_NAME | ST_AF_API_KEY,
	    &in, &g), 0);
	assert_string_equal(g.name, "Sales 2");
	assert_int_equal(g.api_key_set, 0);
	assert_int_equal(g.temperature_milli, 300);
	assert_string_equal(g.system_prompt, "Sell.");
	assert_int_equal(g.updated_at, T0 + 20);
	assert_int_equal(g.created_at, T0);
	st_agent_free(&g);
	assert_int_equal(agent_update(f, a.id, ST_AF_ALL + 1, &in, &g),
	    PROTO_E_INVALID);
	free(in.name);
	in.name = strdup("");
	assert_int_equal(agent_update(f, a.id, ST_AF_NAME, &in, &g),
	    PROTO_E_INVALID);
	assert_int_equal(agent_update(f, "0123456789abcdef0123456789abcdef",
	    ST_AF_TEMPERATURE, &in, &g), PROTO_E_NOT_FOUND);

	/* Get, and list oldest first. */
	assert_int_equal(agent_get(f, b.id, &g), 0);
	assert_string_equal(g.name, "Support");
	st_agent_free(&g);
	assert_int_equal(agent_get(f, "default", &g), PROTO_E_NOT_FOUND);
	assert_int_equal(agent_get(f, "nope", &g), PROTO_E_NOT_FOUND);
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.agents[0].id, a.id);
	assert_string_equal(l.agents[0].api_key, "");
	assert_string_equal(l.agents[1].id, b.id);
	st_rep_free(PROTO_ST_AGENT_LIST, &l);

	/* Invalid input is named; a malformed payload is malformed. */
	st_agent_free(&in);
	in = agent_named("x");
	in.temperature_milli = 5000;
	assert_int_equal(agent_create(f, &in, &g), PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_AGENT_CREATE, "\0\0", 2),
	    PROTO_E_INVALID);
	st_agent_free(&in);
	st_agent_free(&a);
	st_agent_free(&b);
}

/*
 * A new base_url clears the stored key unless the same update sets one: a
 * stolen dashboard session cannot send the key to a server of its own.
 */
static void
test_key_follows_url(void **state)
{
	struct fix *f = *state;
	struct st_agent in, a, g;

	in = agent_named("Sales");
	in.base_url = strdup("https://llm.example/v1");
	in.api_key = strdup("sk-agent-secret");
	assert_int_equal(agent_create(f, &in, &a), 0);
	assert_int_equal(a.api_key_set, 1);

	/* The same URL again, and other fields: the key stays. */
	assert_int_equal(agent_update(f, a.id, ST_AF_BASE_URL | ST_AF_NAME,
	    &in, &g), 0);
	assert_int_equal(g.api_key_set, 1);
	st_agent_free(&g);

	/* A new URL alone: the key is gone. */
	free(in.base_url);
	in.base_url = strdup("https://attacker.example/v1");
	assert_int_equal(agent_update(f, a.id, ST_AF_BASE_URL, &in, &g), 0);
	assert_string_equal(g.base_url, "https://attacker.example/v1");
	assert_int_equal(g.api_key_set, 0);
	st_agent_free(&g);
	assert_int_equal(agent_get(f, a.id, &g), 0);
	assert_int_equal(g.api_key_set, 0);
	st_agent_free(&g);

	/* A new URL with a new key: the new key. */
	free(in.base_url);
	in.base_url = strdup("https://llm2.example/v1");
	free(in.api_key);
	in.api_key = strdup("sk-second-key");
	assert_int_equal(agent_update(f, a.id, ST_AF_BASE_URL | ST_AF_API_KEY,
	    &in, &g), 0);
	assert_int_equal(g.api_key_set, 1);
	st_agent_free(&g);

	/* Back to the deployment's URL (""): the key is cleared too. */
	free(in.base_url);
	in.base_url = strdup("");
	assert_int_equal(agent_update(f, a.id, ST_AF_BASE_URL, &in, &g), 0);
	assert_int_equal(g.api_key_set, 0);
	st_agent_free(&g);
	st_agent_free(&in);
	st_agent_free(&a);
}

static void
test_agent_delete_in_use(void **state)
{
	struct fix *f = *state;
	struct st_agent in, a, g;
	struct st_widget w1, w2, w3;
	char wids[4][ST_WID_LEN + 1];
	uint32_t n;
	int in_use;

	in = agent_named("Bot");
	assert_int_equal(agent_create(f, &in, &a), 0);
	st_agent_free(&in);

	/* A widget may name only an agent that exists. */
	assert_int_equal(widget_with_agent(f,
	    "0123456789abcdef0123456789abcdef", "", "", &w1),
	    PROTO_E_INVALID);
	assert_int_equal(widget_with_agent(f, "bogus", "", "", &w1),
	    PROTO_E_INVALID);
	assert_int_equal(widget_with_agent(f, a.id, "", "", &w1), 0);
	assert_string_equal(w1.agent_id, a.id);
	assert_int_equal(widget_with_agent(f, "default", "", "", &w2), 0);
	assert_string_equal(w2.agent_id, "");
	assert_int_equal(widget_set_agent(f, w2.widget_id, a.id), 0);
	assert_int_equal(widget_set_agent(f, w2.widget_id,
	    "fedcba9876543210fedcba9876543210"), PROTO_E_INVALID);
	assert_int_equal(widget_with_agent(f, "", "", "", &w3), 0);

	/* In use by two: refused, naming their public ids; nothing goes. */
	assert_int_equal(agent_delete(f, a.id, &in_use, &n, wids), 0);
	assert_int_equal(in_use, 1);
	assert_int_equal(n, 2);
	assert_true((strcmp(wids[0], w1.widget_id) == 0 &&
	    strcmp(wids[1], w2.widget_id) == 0) ||
	    (strcmp(wids[1], w1.widget_id) == 0 &&
	    strcmp(wids[0], w2.widget_id) == 0));
	assert_int_equal(agent_get(f, a.id, &g), 0);
	st_agent_free(&g);

	/* Free again: deleted, then not found. */
	assert_int_equal(widget_set_agent(f, w1.widget_id, ""), 0);
	assert_int_equal(widget_set_agent(f, w2.widget_id, "default"), 0);
	assert_int_equal(agent_delete(f, a.id, &in_use, &n, wids), 0);
	assert_int_equal(in_use, 0);
	assert_int_equal(n, 0);
	assert_int_equal(agent_get(f, a.id, &g), PROTO_E_NOT_FOUND);
	assert_int_equal(agent_delete(f, a.id, &in_use, &n, wids),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(db_entries(f, "agent_order"), 0);
	st_agent_free(&a);
	st_widget_free(&w1);
	st_widget_free(&w2);
	st_widget_free(&w3);
}

static void
test_agent_limit(void **state)
{
	struct fix *f = *state;
	struct st_agent in, a;
	int i;

	in = agent_named("many");
	for (i = 0; i < ST_AGENTS_MAX; i++) {
		assert_int_equal(agent_create(f, &in, &a), 0);
		st_agent_free(&a);
	}
	assert_int_equal(agent_create(f, &in, &a), PROTO_E_INVALID);
	st_agent_free(&in);
}

/* The begin replies carry the effective agent, with its key. */
static void
test_begin_agent(void **state)
{
	struct fix *f = *state;
	struct st_agent in, a;
	struct st_widget w, w2;
	struct begin b;
	int i;

	/* No agent: the default one, empty, and the request's history. */
	chat_begin(f, "default", "s1", "hello", &b);
	assert_int_equal(b.result, ST_CHAT_OK);
	assert_string_equal(b.agent.id, "");
	assert_string_equal(b.agent.model, "");
	assert_int_equal(b.agent.temperature_milli, ST_AGENT_UNSET);
	assert_int_equal(b.late, 0);
	begin_free(&b);

	in = agent_named("Brief");
	in.system_prompt = strdup("Agent prompt");
	in.model = strdup("agent-model");
	in.api_key = strdup("sk-agent");
	in.base_url = strdup("https://llm.example/v1");
	in.history_messages = 2;
	in.max_tokens = 99;
	assert_int_equal(agent_create(f, &in, &a), 0);
	st_agent_free(&in);

	/* The widget's own model wins; its empty prompt does not. */
	assert_int_equal(widget_with_agent(f, a.id, "", "widget-model", &w),
	    0);
	for (i = 0; i < 3; i++) {
		ws_begin(f, w.widget_id, 1, "turn", &b);
		assert_int_equal(b.result, ST_WS_OK);
		begin_free(&b);
	}
	ws_begin(f, w.widget_id, 1, "turn 4", &b);
	assert_int_equal(b.result, ST_WS_OK);
	assert_string_equal(b.agent.id, a.id);
	assert_string_equal(b.agent.api_key, "sk-agent");
	assert_string_equal(b.agent.base_url, "https://llm.example/v1");
	assert_string_equal(b.agent.system_prompt, "Agent prompt");
	assert_string_equal(b.agent.model, "widget-model");
	assert_int_equal(b.agent.max_tokens, 99);
	/* The agent's history_messages (2), not the request's 30. */
	assert_int_equal(b.n, 2);
	begin_free(&b);

	/* The default agent with a widget's prompt merged in. */
	assert_int_equal(widget_with_agent(f, "", "Widget prompt", "", &w2),
	    0);
	ws_begin(f, w2.widget_id, 2, "hi", &b);
	assert_string_equal(b.agent.id, "");
	assert_string_equal(b.agent.system_prompt, "Widget prompt");
	assert_string_equal(b.agent.api_key, "");
	begin_free(&b);
	st_widget_free(&w);
	st_widget_free(&w2);
	st_agent_free(&a);
}

/* ------------------------------------------------ handoff */

static void
test_handoff_states(void **state)
{
	struct fix *f = *state;
	struct begin b1, b2, b3;
	char ids[8][ST_ID_HEX + 1];
	int states[8], changed, now;

	chat_begin(f, "default", "h1", "one", &b1);
	fake_now += 10;
	chat_begin(f, "default", "h2", "two", &b2);
	fake_now += 10;
	chat_begin(f, "default", "h3", "three", &b3);
	assert_int_equal(b1.conv.handoff, ST_HANDOFF_AI);
	assert_int_equal(handoff_list(f, 10, ids, states), 0);

	/* The visitor's request moves only a conversation the AI answers. */
	fake_now += 10;
	assert_int_equal(handoff_set(f, b2.conv.id, ST_HANDOFF_WAITING, "",
	    1, &changed, &now), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(now, ST_HANDOFF_WAITING);
	assert_int_equal(handoff_set(f, b2.conv.id, ST_HANDOFF_WAITING, "",
	    1, &changed, &now), 0);
	assert_int_equal(changed, 0);
	fake_now += 10;
	assert_int_equal(handoff_set(f, b1.conv.id, ST_HANDOFF_HUMAN, "Ana",
	    0, &changed, &now), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(handoff_set(f, b1.conv.id, ST_HANDOFF_WAITING, "",
	    1, &changed, &now), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(now, ST_HANDOFF_HUMAN);
	fake_now += 10;
	assert_int_equal(handoff_set(f, b3.conv.id, ST_HANDOFF_WAITING, "",
	    0, &changed, &now), 0);

	/* Waiting first (oldest since first), then human. */
	assert_int_equal(handoff_list(f, 10, ids, states), 3);
	assert_string_equal(ids[0], b2.conv.id);
	assert_string_equal(ids[1], b3.conv.id);
	assert_string_equal(ids[2], b1.conv.id);
	assert_int_equal(states[0], ST_HANDOFF_WAITING);
	assert_int_equal(states[2], ST_HANDOFF_HUMAN);
	assert_int_equal(handoff_list(f, 1, ids, states), 1);

	/* The owner takes a waiting one: it moves to the human list. */
	fake_now += 10;
	assert_int_equal(handoff_set(f, b2.conv.id, ST_HANDOFF_HUMAN, "Bo",
	    0, &changed, &now), 0);
	assert_int_equal(handoff_list(f, 10, ids, states), 3);
	assert_string_equal(ids[0], b3.conv.id);
	assert_string_equal(ids[1], b1.conv.id);
	assert_string_equal(ids[2], b2.conv.id);
	/* Hand back: out of the index. */
	assert_int_equal(handoff_set(f, b1.conv.id, ST_HANDOFF_AI, "", 0,
	    &changed, &now), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(handoff_list(f, 10, ids, states), 2);
	assert_int_equal(db_entries(f, "conv_handoff_at"), 2);

	/* Bad input. */
	assert_int_equal(handoff_set(f, b1.conv.id, 3, "", 0, &changed, &now),
	    PROTO_E_INVALID);
	assert_int_equal(handoff_set(f, "00000000000000000000000000000000",
	    ST_HANDOFF_HUMAN, "", 0, &changed, &now), PROTO_E_NOT_FOUND);
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ 0, "" }), PROTO_E_INVALID);
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ 201, "" }), PROTO_E_INVALID);
	/* A cursor not of 50 hex digits (a conversation list's is 48). */
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ 10, "zz" }), PROTO_E_INVALID);
	assert_int_equal(request_st_err(f, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ 10, "ffffffffffffffffffffffffffffffffffffffffffffffff" }),
	    PROTO_E_INVALID);

	/* Deleting a conversation removes its index entries. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ b2.conv.id }), 0);
	assert_int_equal(handoff_list(f, 10, ids, states), 1);
	assert_string_equal(ids[0], b3.conv.id);
	assert_int_equal(db_entries(f, "conv_handoff"), 1);
	assert_int_equal(db_entries(f, "conv_handoff_at"), 1);
	begin_free(&b1);
	begin_free(&b2);
	begin_free(&b3);
}

/* In state human the message is stored, with no history and no early answer. */
static void
test_human_begin(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct begin b;
	struct penc e;
	struct dreply r;
	struct pdec d;
	struct thread t;
	int changed, now;

	chat_begin(f, "default", "hh", "first", &b);
	assert_int_equal(b.n, 1);
	assert_int_equal(handoff_set(f, b.conv.id, ST_HANDOFF_HUMAN, "Ana", 0,
	    &changed, &now), 0);
	begin_free(&b);
	chat_begin(f, "default", "hh", "to a person", &b);
	assert_int_equal(b.result, ST_CHAT_HUMAN);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.late, 1);
	assert_int_equal(b.wrote, 1);
	assert_string_equal(b.conv.last_message, "to a person");
	assert_int_equal(b.conv.message_count, 2);
	/* The user message is an event as usual. */
	assert_int_equal(b.r.nevs, 1);
	assert_int_equal(b.r.evs[0].kind, ST_EV_MESSAGE);
	assert_false(b.r.evs[0].visitor);

	penc_init(&e);
	penc_str(&e, b.conv.id);
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	memset(&t, 0, sizeof(t));
	thread_decode(&d, &t);
	thread_is(&t, 2, "first", "to a person");
	thread_free(&t);
	dreply_free(&r);
	begin_free(&b);

	/* Waiting for a person: the model still answers. */
	assert_int_equal(widget_with_agent(f, "", "", "", &w), 0);
	ws_begin(f, w.widget_id, 9, "hello", &b);
	assert_int_equal(b.result, ST_WS_OK);
	assert_int_equal(handoff_set(f, b.conv.id, ST_HANDOFF_WAITING, "", 1,
	    &changed, &now), 0);
	begin_free(&b);
	ws_begin(f, w.widget_id, 9, "still there?", &b);
	assert_int_equal(b.result, ST_WS_OK);
	assert_int_equal(b.late, 0);
	assert_true(b.n >= 1);
	assert_int_equal(handoff_set(f, b.conv.id, ST_HANDOFF_HUMAN, "Ana", 0,
	    &changed, &now), 0);
	begin_free(&b);
	ws_begin(f, w.widget_id, 9, "hi Ana", &b);
	assert_int_equal(b.result, ST_WS_HUMAN);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.late, 1);
	begin_free(&b);
	st_widget_free(&w);
}

/* ST_AGENT_MSG's error code. */
static int
agent_msg(struct fix *f, const char *conv_id, const char *content,
    const char *name)
{
	return request_st_err(f, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = conv_id, .content = content,
	    .name = name });
}

static void
test_agent_msg_and_typing(void **state)
{
	struct fix *f = *state;
	struct st_msg_conv mc;
	struct st_event ev;
	struct begin b;
	struct penc e;
	struct dreply r;
	char *big;

	chat_begin(f, "default", "am", "question", &b);
	assert_int_equal(request_st(f, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = b.conv.id,
	    .content = "An answer from a person", .name = "Ana" }, &r), 0);
	assert_int_equal(st_rep_decode(PROTO_ST_AGENT_MSG, r.enc.buf,
	    r.enc.len, &mc), 0);
	assert_string_equal(mc.msg.role, "agent");
	assert_string_equal(mc.msg.name, "Ana");
	assert_string_equal(mc.msg.status, "complete");
	assert_int_equal(mc.conv.message_count, 2);
	/* It does not change the state. */
	assert_int_equal(mc.conv.handoff, ST_HANDOFF_AI);
	/* Its event reaches visitors. */
	assert_int_equal(r.nevs, 1);
	assert_true(r.evs[0].visitor);
	event_of(&r, 0, &ev);
	assert_string_equal(ev.msg.name, "Ana");
	assert_string_equal(ev.conv.id, b.conv.id);
	st_event_free(&ev);
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
	dreply_free(&r);

	/* The next turn's history holds it, as role agent. */
	begin_free(&b);
	chat_begin(f, "default", "am", "thanks", &b);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.roles[1], "agent");
	begin_free(&b);
	chat_begin(f, "default", "am2", "x", &b);

	/* Bad input: no name, a long name, no content, too much content. */
	assert_int_equal(agent_msg(f, b.conv.id, "x", ""), PROTO_E_INVALID);
	big = repeat('n', 101);
	assert_int_equal(agent_msg(f, b.conv.id, "x", big), PROTO_E_INVALID);
	free(big);
	assert_int_equal(agent_msg(f, b.conv.id, "", "Ana"), PROTO_E_INVALID);
	/* Past the layout's bound: no struct encodes it, so by hand. */
	big = repeat('c', ST_CONTENT_MAX + 1);
	penc_init(&e);
	penc_str(&e, b.conv.id);
	penc_str(&e, big);
	penc_str(&e, "Ana");
	assert_int_equal(request_err(f, PROTO_ST_AGENT_MSG, &e),
	    PROTO_E_INVALID);
	free(big);
	assert_int_equal(agent_msg(f, "0123456789abcdef0123456789abcdef", "x",
	    "Ana"), PROTO_E_NOT_FOUND);

	/* Typing: nothing stored, an empty reply, one event. */
	assert_false(dispatch_is_write(PROTO_ST_TYPING));
	assert_int_equal(request_st(f, PROTO_ST_TYPING,
	    &(struct st_typing_req){ b.conv.id, 1, "Ana" }, &r), 0);
	assert_int_equal(r.enc.len, 0);
	assert_int_equal(r.nevs, 1);
	event_of(&r, 0, &ev);
	assert_int_equal(ev.kind, ST_EV_TYPING);
	assert_int_equal(ev.on, 1);
	assert_string_equal(ev.name, "Ana");
	st_event_free(&ev);
	dreply_free(&r);
	assert_int_equal(request_st_err(f, PROTO_ST_TYPING,
	    &(struct st_typing_req){ "0123456789abcdef0123456789abcdef", 0,
	    "" }), PROTO_E_NOT_FOUND);
	begin_free(&b);
}

/* ST_WS_REQUEST_HUMAN: the session's conversation to waiting_human. */
/*
 * A visitor's socket resumes the session of token hash h on wid: the
 * conversation's handoff state in the ST_WS_OPEN reply.
 */
static int
ws_open_handoff(struct fix *f, const char *wid, const uint8_t *h)
{
	struct st_ws_open_req q = { .widget_id = wid, .origin = "",
	    .token_len = ST_TOKEN_HASH_LEN, .new_hash_len = ST_TOKEN_HASH_LEN,
	    .history_max = 10 };
	struct st_ws_open_rep rep;
	int handoff;

	memcpy(q.token, h, ST_TOKEN_HASH_LEN);
	memset(q.new_hash, 0xee, sizeof(q.new_hash));
	assert_int_equal(request_dec(f, PROTO_ST_WS_OPEN, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	assert_int_equal(rep.ok.resumed, 1);
	handoff = rep.ok.handoff;
	st_rep_free(PROTO_ST_WS_OPEN, &rep);
	return handoff;
}

static void
test_request_human(void **state)
{
	struct fix *f = *state;
	struct st_ws_session_req q = { .token_len = ST_TOKEN_HASH_LEN };
	struct st_request_human_rep rep;
	struct dreply r;
	struct st_widget w;
	struct begin b;
	int i, changed, now;

	assert_int_equal(widget_with_agent(f, "", "", "", &w), 0);
	assert_int_equal(widget_set_handoff(f, w.widget_id, 1), 0);
	memset(q.token, 5, sizeof(q.token));
	for (i = 0; i < 4; i++) {
		q.widget_id = i == 0 ? "wid_nope" : w.widget_id;
		assert_int_equal(request_st(f, PROTO_ST_WS_REQUEST_HUMAN, &q,
		    &r), 0);
		assert_int_equal(st_rep_decode(PROTO_ST_WS_REQUEST_HUMAN,
		    r.enc.buf, r.enc.len, &rep), 0);
		switch (i) {
		case 0:
			assert_int_equal(rep.result, ST_WS_NO_WIDGET);
			assert_int_equal(rep.changed, 0);
			break;
		case 1:
			/* No session yet. */
			assert_int_equal(rep.result, ST_WS_NO_SESSION);
			assert_int_equal(rep.changed, 0);
			ws_begin(f, w.widget_id, 5, "hello", &b);
			begin_free(&b);
			break;
		case 2:
		case 3:
			assert_int_equal(rep.result, ST_WS_OK);
			assert_int_equal(rep.changed, i == 2);
			assert_int_equal(rep.conv.handoff, ST_HANDOFF_WAITING);
			/* The visitor asked: a request the reports count. */
			assert_int_equal(rep.conv.waiting_by,
			    ST_WAITING_VISITOR);
			assert_int_not_equal(rep.conv.asked_at, 0);
			assert_int_equal(r.nevs, (size_t)(i == 2));
			/* A reload learns the state with its history. */
			assert_int_equal(ws_open_handoff(f, w.widget_id,
			    q.token), ST_HANDOFF_WAITING);
			if (i == 3) {
				/* The owner hands back: the visitor may ask again. */
				assert_int_equal(handoff_set(f, rep.conv.id,
				    ST_HANDOFF_AI, "", 0, &changed, &now), 0);
			}
			break;
		}
		st_rep_free(PROTO_ST_WS_REQUEST_HUMAN, &rep);
		dreply_free(&r);
	}

	/* Handoffs turned off: refused, nothing changed. */
	assert_int_equal(widget_set_handoff(f, w.widget_id, 0), 0);
	assert_int_equal(request_dec(f, PROTO_ST_WS_REQUEST_HUMAN, &q, &rep),
	    0);
	assert_int_equal(rep.result, ST_WS_NO_HANDOFF);
	assert_int_equal(rep.changed, 0);
	st_rep_free(PROTO_ST_WS_REQUEST_HUMAN, &rep);
	assert_int_equal(widget_set_handoff(f, w.widget_id, 1), 0);

	/* A session whose conversation was deleted has none. */
	ws_begin(f, w.widget_id, 5, "again", &b);
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ b.conv.id }), 0);
	begin_free(&b);
	assert_int_equal(request_dec(f, PROTO_ST_WS_REQUEST_HUMAN, &q, &rep),
	    0);
	assert_int_equal(rep.result, ST_WS_NO_CONV);
	st_rep_free(PROTO_ST_WS_REQUEST_HUMAN, &rep);
	/* A token hash of another length does not encode, and is malformed. */
	q.token_len = 5;
	{
		struct penc e;

		penc_init(&e);
		assert_int_equal(st_req_encode(&e, PROTO_ST_WS_REQUEST_HUMAN,
		    &q), -1);
		penc_free(&e);
		penc_init(&e);
		penc_str(&e, q.widget_id);
		penc_bytes(&e, q.token, q.token_len);
		assert_int_equal(request_err(f, PROTO_ST_WS_REQUEST_HUMAN,
		    &e), PROTO_E_INVALID);
	}
	st_widget_free(&w);
}

/* ST_HANDOFF_SET to state (a person's, as the admin API's): its conv. */
static void
person_sets(struct fix *f, const char *conv_id, int state,
    struct st_handoff_set_rep *rep)
{
	assert_int_equal(request_dec(f, PROTO_ST_HANDOFF_SET,
	    &(struct st_handoff_set_req){ conv_id, (uint8_t)state, "Ana", 0 },
	    rep), 0);
	assert_int_equal(rep->changed, 1);
}

/*
 * Who put a conversation in waiting_human: a person moving it into the
 * queue (ST_HANDOFF_SET) asks for none, so the reports' request time
 * (asked_at) stays unset, though a person has it now (handed_off); the
 * assistant's ST_TURN_HANDOFF asks, as the visitor's request does
 * (test_request_human), and a person's move after it keeps its time.
 */
static void
test_waiting_by(void **state)
{
	struct fix *f = *state;
	struct st_handoff_set_rep rep;
	struct st_u8_rep asked;
	struct begin b;
	uint64_t at;

	chat_begin(f, "default", "wb1", "one", &b);
	assert_int_equal(b.conv.waiting_by, ST_WAITING_NONE);
	fake_now += 10;
	person_sets(f, b.conv.id, ST_HANDOFF_WAITING, &rep);
	assert_int_equal(rep.conv.handoff, ST_HANDOFF_WAITING);
	assert_int_equal(rep.conv.waiting_by, ST_WAITING_PERSON);
	assert_int_equal(rep.conv.asked_at, 0);
	assert_int_equal(rep.conv.handed_off, 1);
	st_rep_free(PROTO_ST_HANDOFF_SET, &rep);
	person_sets(f, b.conv.id, ST_HANDOFF_AI, &rep);
	st_rep_free(PROTO_ST_HANDOFF_SET, &rep);

	fake_now += 10;
	at = fake_now;
	assert_int_equal(request_dec(f, PROTO_ST_TURN_HANDOFF,
	    &(struct st_id_req){ b.conv.id }, &asked), 0);
	assert_int_equal(asked.v, 1);
	fake_now += 10;
	person_sets(f, b.conv.id, ST_HANDOFF_AI, &rep);
	assert_int_equal(rep.conv.waiting_by, ST_WAITING_ASSISTANT);
	assert_int_equal(rep.conv.asked_at, at);
	st_rep_free(PROTO_ST_HANDOFF_SET, &rep);
	fake_now += 10;
	person_sets(f, b.conv.id, ST_HANDOFF_WAITING, &rep);
	assert_int_equal(rep.conv.waiting_by, ST_WAITING_PERSON);
	assert_int_equal(rep.conv.asked_at, at);
	st_rep_free(PROTO_ST_HANDOFF_SET, &rep);
	begin_free(&b);
}

/* Which requests make which events (SPEC B, "Events"). */
static void
test_request_events(void **state)
{
	struct fix *f = *state;
	uint8_t h[ST_TOKEN_HASH_LEN];
	struct st_contact_submit_req cs;
	struct st_widget w;
	struct st_event ev;
	struct begin b;
	struct penc e;
	struct dreply r;

	/* A new conversation: created, then the user message. */
	chat_begin(f, "default", "ev", "hello", &b);
	assert_int_equal(b.r.nevs, 2);
	assert_int_equal(b.r.evs[0].kind, ST_EV_CONV_CREATED);
	event_of(&b.r, 0, &ev);
	assert_int_equal(ev.at, T0);
	st_event_free(&ev);
	event_of(&b.r, 1, &ev);
	assert_int_equal(ev.kind, ST_EV_MESSAGE);
	assert_string_equal(ev.msg.role, "user");
	assert_string_equal(ev.msg.content, "hello");
	st_event_free(&ev);

	/* The assistant's reply, by ST_MSG_APPEND, whatever its status. */
	append_payload(&e, b.conv.id, "assistant", "partial", "interrupted",
	    0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	assert_int_equal(r.nevs, 1);
	event_of(&r, 0, &ev);
	assert_string_equal(ev.msg.status, "interrupted");
	assert_false(r.evs[0].visitor);
	st_event_free(&ev);
	dreply_free(&r);
	begin_free(&b);

	/* A request that fails makes none. */
	append_payload(&e, "0123456789abcdef0123456789abcdef", "assistant",
	    "x", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(r.nevs, 0);
	dreply_free(&r);

	/* A contact saved: for the session's conversation, when it has one. */
	assert_int_equal(widget_with_agent(f, "", "", "", &w), 0);
	memset(h, 3, sizeof(h));
	ws_begin(f, w.widget_id, 3, "hi", &b);
	cs = (struct st_contact_submit_req){ .widget_id = w.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .name = "Vi",
	    .email = "vi@example.com", .create = 1 };
	memcpy(cs.token, h, sizeof(h));
	assert_int_equal(request_st(f, PROTO_ST_CONTACT_SUBMIT, &cs, &r), 0);
	assert_int_equal(r.nevs, 1);
	event_of(&r, 0, &ev);
	assert_int_equal(ev.kind, ST_EV_CONTACT);
	assert_string_equal(ev.contact.email, "vi@example.com");
	assert_string_equal(ev.conv.id, b.conv.id);
	st_event_free(&ev);
	dreply_free(&r);
	begin_free(&b);
	/* A visitor with no conversation yet: saved, no event. */
	cs.name = "Wu";
	cs.email = "";
	memset(cs.token, 4, sizeof(cs.token));
	assert_int_equal(request_st(f, PROTO_ST_CONTACT_SUBMIT, &cs, &r), 0);
	assert_int_equal(r.nevs, 0);
	dreply_free(&r);
	st_widget_free(&w);

	/* A batch that fails to commit publishes nothing. */
	chat_begin(f, "default", "ev2", "x", &b);
	assert_int_equal(b.r.nevs, 2);
	dreply_commit_failed(&b.r);
	assert_int_equal(b.r.nevs, 0);
	assert_null(b.r.evs);
	begin_free(&b);
}

/*
 * The new databases are in the write-ahead log: a process that dies
 * without a checkpoint loses none of their acknowledged writes.
 */
static void
test_logged(void **state)
{
	struct fix *f = *state;
	char ids[8][ST_ID_HEX + 1];
	int states[8], status, changed, now;
	struct st_agent in, a, *as;
	struct store_txn t;
	struct begin b;
	uint32_t n;
	pid_t pid;

	store_close(f->st);
	f->st = NULL;
	if ((pid = fork()) == 0) {
		if ((f->st = store_open(f->dir, 64, 0)) == NULL)
			_exit(2);
		in = agent_named("Logged");
		if (agent_create(f, &in, &a) != 0)
			_exit(3);
		chat_begin(f, "default", "wal", "hi", &b);
		if (handoff_set(f, b.conv.id, ST_HANDOFF_WAITING, "", 1,
		    &changed, &now) != 0 || !changed)
			_exit(4);
		_exit(0);	/* no store_close: no checkpoint */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fix_reopen(f);
	store_begin(f->st, &t, 1);
	assert_int_equal(store_agent_list(&t, NULL, &as, &n), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(n, 1);
	assert_string_equal(as[0].name, "Logged");
	store_agents_free(as, n);
	assert_int_equal(handoff_list(f, 10, ids, states), 1);
	assert_int_equal(states[0], ST_HANDOFF_WAITING);
	assert_int_equal(db_entries(f, "agent_order"), 1);
	assert_int_equal(db_entries(f, "conv_handoff_at"), 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_agent_crud),
		T(test_key_follows_url),
		T(test_agent_delete_in_use),
		T(test_agent_limit),
		T(test_begin_agent),
		T(test_handoff_states),
		T(test_human_begin),
		T(test_agent_msg_and_typing),
		T(test_request_human),
		T(test_waiting_by),
		T(test_request_events),
		T(test_logged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
