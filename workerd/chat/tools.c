/*
 * A chat turn's tools and their rounds (see tools.h): the request kept
 * for the next rounds (its strings copied), the tools offered, the
 * model's calls put together, checked and run, and their answers as the
 * next request's messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "chat.h"
#include "exportrows.h"
#include "log.h"
#include "orgslots.h"
#include "resp.h"
#include "schema.h"
#include "settings.h"
#include "toolcall.h"
#include "tools.h"
#include "turn.h"
#include "workerd.h"

/* Messages a turn's rounds add at most: each an assistant's and its calls'. */
#define ROUND_MSGS	(1 + TOOLCALLS_MAX)
#define WHY_MAX		512
/*
 * Bytes of the tools' answers a turn reads in all (one action's answer's
 * most): a round's calls share what is left, each reading at most its
 * share, so an owner's max_response_bytes of 2 MiB and a model asked for
 * many calls hold 2 MiB a turn, not 64 (8 calls a round, 4 rounds). The
 * page's answers (the visitor's text) count in it too, each cut to its
 * share as well as to TOOLS_PAGE_ANSWER_MAX.
 */
#define TURN_ANSWERS_MAX	ST_ACTION_ANSWER_MAX
#define ANSWERS_SPENT	"error: not called: this turn has read all the " \
			"answers from actions it may (2 MiB): answer with " \
			"what you have"
#define PAGE_SPENT	"error: not asked: this turn has read all the " \
			"answers from tools it may (2 MiB): answer with what " \
			"you have"
/*
 * The turns' calls of the owners' APIs in flight in this worker, and one
 * organisation's share: visitors steering the model (8 calls a round, 4
 * rounds a turn, each call up to 30 s) hold neither every socket of the
 * worker nor one organisation's API with every turn at once; a call past
 * them is not made, and the model is told so.
 */
#define TURN_CALLS_MAX		64
#define TURN_CALLS_ORG_MAX	32
#define CALLS_BUSY	"error: not called: too many calls of actions are " \
			"running at once: answer with what you have"

static struct orgslots turn_calls = ORGSLOTS_INIT(TURN_CALLS_MAX,
    TURN_CALLS_ORG_MAX);

/* What a call waits for, from the visitor's side. */
enum { WAIT_NONE, WAIT_CONFIRM, WAIT_PAGE, WAIT_CONTACT };

/* One call of the round. */
struct tool_run {
	struct turn_tools *tt;
	const char *name;		/* the tool's, as the model called it */
	const char *id;			/* the call's, as the model named it */
	const struct st_action *a;	/* NULL: no such action */
	struct action_call *call;	/* in flight, or NULL */
	int slot;			/* it holds one of turn_calls */
	struct storec_req *sreq;	/* a built-in's, or the check, in flight */
	int checking;			/* sreq: the action's check (run_call) */
	int wait;			/* WAIT_*: for the visitor, or the page */
	int page;			/* a page tool's call (ST_TOOL_FROM_PAGE) */
	size_t page_max;		/* its answer's bytes kept at most */
	int shown;			/* its running step was told */
	uint64_t until;			/* when the wait ends (loop_now) */
	uint64_t began;			/* when it started (loop_now) */
	char *answer;			/* the tool message's text, once ended */
	enum tool_state st;		/* and how it ended */
	uint32_t ms;			/* the call's time, 0 if none was made */
	char key[ACTION_IDEM_HEX + 1];	/* its Idempotency-Key, once made */
};

/*
 * A call of the turn that got no answer (timed out, or its connection
 * failed): it may have been applied, so the model's retry of it (the
 * same action, the same arguments) carries its key.
 */
struct lost_call {
	const char *action_id;		/* the turn's action's */
	char *args;			/* its arguments, keys sorted (JSON) */
	char key[ACTION_IDEM_HEX + 1];
};

struct turn_tools {
	struct st_actions acts;
	json_t **schemas;		/* each action's parameters, parsed */
	char *tools;			/* the "tools" array's text */
	struct upstream_req base;	/* the first request, its strings ours */
	struct upstream_msg *msgs;	/* its history, then the rounds' */
	size_t nbase, nmsgs;
	char **own;			/* the strings the messages point to */
	size_t nown, capown;
	struct toolcalls tc;
	int asked;			/* a call asked since the last round */
	uint32_t rounds;
	struct tool_run runs[TOOLCALLS_MAX];
	uint32_t nruns, pending;
	struct loop_defer ended;	/* ran, outside the last call's callback */
	struct tools_cbs cbs;
	void *arg;
	struct loop_timer wait;		/* the earliest wait's end */
	json_t *page;			/* the page's tools, as functions */
	struct tpl_visitor v;		/* its strings ours; NULL: unknown */
	int allow_private;
	char org[ST_WHO_ORG_MAX + 1];	/* whose actions and sources */
	char agent[ST_ID_HEX + 1];	/* the turn's agent's id */
	char conv_id[ST_ID_HEX + 1];	/* the turn's */
	char msg_id[ST_ID_HEX + 1];	/* its question's ("": not told) */
	struct lost_call lost[ST_TOOL_CALLS_MAX];
	uint32_t nlost;
	int handoff;			/* TOOL_HANDOFF offered */
	int contact;			/* TOOL_CONTACT offered */
	/* TOOL_SEARCH: the agent's sources (own strings), the turn's passages. */
	struct st_str *sources;
	uint32_t nsources;
	struct st_kb_hits *kb;
	/* Every call of the turn, as stored (its strings in own). */
	struct st_tool_rec recs[ST_TOOL_CALLS_MAX];
	uint32_t nrecs;
	size_t answers_read;		/* bytes: answers_max() */
};

static void round_ended(void *);
static void wait_expired(void *);
static void wait_arm(struct turn_tools *);
static void wait_start(struct turn_tools *, struct tool_run *, int,
    uint32_t);
static void run_call(struct turn_tools *, struct tool_run *,
    struct tool_call *);
static void run_made(struct turn_tools *, struct tool_run *,
    const struct st_action *, struct tool_call *);
static void run_record(struct turn_tools *, uint32_t, const char *,
    enum tool_state, uint32_t);
static size_t answers_share(const struct turn_tools *);

/* s kept until tools_free (NULL stays NULL): the copy, or NULL and t->err. */
static char *
keep(struct turn_tools *tt, const char *s, int *err)
{
	char **n, *c;

	if (s == NULL || *err)
		return NULL;
	if (tt->nown == tt->capown) {
		if ((n = reallocarray(tt->own, tt->capown ? 2 * tt->capown : 16,
		    sizeof(*n))) == NULL) {
			*err = 1;
			return NULL;
		}
		tt->own = n;
		tt->capown = tt->capown ? 2 * tt->capown : 16;
	}
	if ((c = strdup(s)) == NULL) {
		*err = 1;
		return NULL;
	}
	tt->own[tt->nown++] = c;
	return c;
}

/* The n bytes at s kept (NUL-terminated): the copy, or NULL and *err. */
static char *
keep_n(struct turn_tools *tt, const char *s, size_t n, int *err)
{
	char *c, *k;

	if (*err)
		return NULL;
	if ((c = strndup(s, n)) == NULL) {
		*err = 1;
		return NULL;
	}
	k = keep(tt, c, err);
	free(c);
	return k;
}

/* The hand-over as a function the model may call (TOOL_HANDOFF). */
static json_t *
handoff_function(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s, s:i}}}}}",
	    "type", "function", "function", "name", TOOL_HANDOFF,
	    "description", "Hand the conversation to a person of the team: "
	    "when the visitor asks for one, or when you cannot help them. "
	    "A person answers here; tell the visitor so.",
	    "parameters", "type", "object", "properties", "reason", "type",
	    "string", "description", "Why, in a few words, for the team.",
	    "maxLength", 200);
}

/* The contact form as a function the model may call (TOOL_CONTACT). */
static json_t *
contact_function(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s, s:i}}}}}",
	    "type", "function", "function", "name", TOOL_CONTACT,
	    "description", "Show the visitor a form for their contact details "
	    "(name, email or phone), for the team to get back to them: when "
	    "they want to be contacted, or when the team must follow up. The "
	    "call ends when they have saved or skipped it.",
	    "parameters", "type", "object", "properties", "reason", "type",
	    "string", "description", "Why you ask, in one short sentence "
	    "the visitor reads above the form.", "maxLength",
	    TOOLS_REASON_MAX);
}

/* The knowledge search as a function the model may call (TOOL_SEARCH). */
static json_t *
search_function(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s, s:i}}, "
	    "s:[s]}}}", "type", "function", "function", "name", TOOL_SEARCH,
	    "description", "Search the knowledge base again, with a query of "
	    "your own, when the sources you were given do not answer. Cite "
	    "what you use by its number, like [6].",
	    "parameters", "type", "object", "properties", "query", "type",
	    "string", "description", "What to look for, in a few words.",
	    "maxLength", ST_KB_QUERY_MAX, "required", "query");
}

/* arr as compact JSON text, arr released: NULL for NULL or out of memory. */
static char *
array_text(json_t *arr)
{
	char *s = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;

	json_decref(arr);
	return s;
}

/* The action named name, or -1. */
static int
action_named(const struct turn_tools *tt, const char *name)
{
	uint32_t i;

	for (i = 0; i < tt->acts.n; i++)
		if (strcmp(tt->acts.actions[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * The page's tools less those named like one of the agent's actions: the
 * owner's action keeps its name. Offered too, a page tool of that name
 * took the action's calls: its API never called, its confirmation and
 * verified-visitor checks skipped, and the visitor's answer stored as the
 * action's.
 */
static void
page_drop_actions(struct turn_tools *tt)
{
	const char *name;
	size_t i = 0;

	while (tt->page != NULL && i < json_array_size(tt->page)) {
		name = json_string_value(json_object_get(json_object_get(
		    json_array_get(tt->page, i), "function"), "name"));
		if (name != NULL && action_named(tt, name) >= 0)
			(void)json_array_remove(tt->page, i);
		else
			i++;
	}
}

/* 1 when action i's name is a built-in's or an earlier action's. */
static int
act_offered(const struct turn_tools *tt, uint32_t i)
{
	uint32_t j;

	if (st_tool_builtin(tt->acts.actions[i].name))
		return 1;
	for (j = 0; j < i; j++)
		if (strcmp(tt->acts.actions[j].name,
		    tt->acts.actions[i].name) == 0)
			return 1;
	return 0;
}

/* The "tools" array: each action as a function the model may call. */
static char *
tools_text(struct turn_tools *tt)
{
	json_t *arr = json_array(), *f;
	uint32_t i;

	if (arr != NULL && tt->handoff &&
	    json_array_append_new(arr, handoff_function()) < 0)
		goto fail;
	if (arr != NULL && tt->kb != NULL &&
	    json_array_append_new(arr, search_function()) < 0)
		goto fail;
	if (arr != NULL && tt->contact &&
	    json_array_append_new(arr, contact_function()) < 0)
		goto fail;
	if (arr != NULL && tt->page != NULL && json_array_extend(arr,
	    tt->page) < 0)
		goto fail;
	for (i = 0; arr != NULL && i < tt->acts.n; i++) {
		/* An agent stored before each name was refused twice. */
		if (act_offered(tt, i))
			continue;
		f = json_pack("{s:s, s:{s:s, s:s, s:O}}", "type", "function",
		    "function", "name", tt->acts.actions[i].name,
		    "description", tt->acts.actions[i].description,
		    "parameters", tt->schemas[i]);
		if (f == NULL || json_array_append_new(arr, f) < 0)
			goto fail;
	}
	return array_text(arr);
fail:
	json_decref(arr);
	return NULL;
}

/* The first request's strings and history copied into tt->base. */
static int
copy_request(struct turn_tools *tt, const struct upstream_req *req)
{
	int err = 0;
	size_t i;

	tt->base = *req;
	tt->base.model = keep(tt, req->model, &err);
	tt->base.system_prompt = keep(tt, req->system_prompt, &err);
	tt->base.system_extra = keep(tt, req->system_extra, &err);
	tt->base.base_url = keep(tt, req->base_url, &err);
	tt->base.org = keep(tt, req->org, &err);
	tt->base.api_key = keep(tt, req->api_key, &err);
	if ((tt->msgs = calloc(req->nmsgs + TOOLS_ROUNDS_MAX * ROUND_MSGS,
	    sizeof(*tt->msgs))) == NULL)
		return -1;
	for (i = 0; i < req->nmsgs && !err; i++) {
		tt->msgs[i].role = keep(tt, req->msgs[i].role, &err);
		tt->msgs[i].content = keep(tt, req->msgs[i].content, &err);
		/* The turn's images, read: they live as long as the turn. */
		tt->msgs[i].images = req->msgs[i].images;
		tt->msgs[i].nimages = req->msgs[i].nimages;
	}
	tt->nbase = tt->nmsgs = req->nmsgs;
	return err ? -1 : 0;
}

struct turn_tools *
tools_new(struct st_actions *acts, const struct upstream_req *req,
    const struct tools_from *from)
{
	const struct tpl_visitor *v = from->v;
	struct turn_tools *tt;
	uint32_t i;
	int err = 0;

	if ((acts->n == 0 && !from->handoff && !from->contact &&
	    from->page == NULL && (from->kb == NULL ||
	    from->nsources == 0)) ||
	    (tt = calloc(1, sizeof(*tt))) == NULL)
		return NULL;
	tt->handoff = from->handoff;
	tt->contact = from->contact;
	tt->kb = from->nsources > 0 ? from->kb : NULL;
	strlcpy(tt->conv_id, from->conv_id, sizeof(tt->conv_id));
	strlcpy(tt->msg_id, from->msg_id != NULL ? from->msg_id : "",
	    sizeof(tt->msg_id));
	/* As the frame was read: a string may hold \u0000 (wsmsg.c). */
	if (from->page != NULL && (tt->page = json_loads(from->page,
	    JSON_ALLOW_NUL, NULL)) == NULL) {
		free(tt);
		return NULL;
	}
	loop_timer_init(&tt->wait, wait_expired, tt);
	tt->acts = *acts;
	memset(acts, 0, sizeof(*acts));
	page_drop_actions(tt);
	toolcalls_init(&tt->tc);
	loop_defer_init(&tt->ended, round_ended, tt);
	tt->allow_private = action_private_ok(from->org);
	strlcpy(tt->org, from->org, sizeof(tt->org));
	strlcpy(tt->agent, from->agent != NULL ? from->agent : "",
	    sizeof(tt->agent));
	if ((tt->schemas = calloc(tt->acts.n, sizeof(*tt->schemas))) == NULL)
		goto fail;
	for (i = 0; i < tt->acts.n; i++)
		if ((tt->schemas[i] = json_loads(tt->acts.actions[i].parameters,
		    0, NULL)) == NULL)
			goto fail;
	if (v != NULL) {
		tt->v.external_id = keep(tt, v->external_id, &err);
		tt->v.email = keep(tt, v->email, &err);
	}
	if (tt->kb != NULL && (tt->sources = calloc(from->nsources,
	    sizeof(*tt->sources))) == NULL)
		goto fail;
	for (i = 0; tt->kb != NULL && i < from->nsources; i++)
		tt->sources[tt->nsources++].s = keep(tt, from->sources[i], &err);
	if (err || copy_request(tt, req) < 0 ||
	    (tt->tools = tools_text(tt)) == NULL)
		goto fail;
	return tt;
fail:
	tools_free(tt);
	return NULL;
}

int
tools_rebase(struct turn_tools *tt, const struct upstream_req *req)
{
	/* The key's old copy wiped: only base's is, by tools_free. */
	if (tt->base.api_key != NULL)
		explicit_bzero((char *)tt->base.api_key,
		    strlen(tt->base.api_key));
	free(tt->msgs);
	tt->msgs = NULL;
	tt->nbase = tt->nmsgs = 0;
	return copy_request(tt, req);
}

/* r's slot of turn_calls given back, when it holds one. */
static void
run_slot_put(struct tool_run *r)
{
	if (!r->slot)
		return;
	orgslots_put(&turn_calls, r->tt->org);
	r->slot = 0;
}

static void
runs_clear(struct turn_tools *tt)
{
	uint32_t i;

	for (i = 0; i < tt->nruns; i++) {
		action_call_cancel(tt->runs[i].call);
		run_slot_put(&tt->runs[i]);
		storec_cancel(tt->runs[i].sreq);
		free(tt->runs[i].answer);
	}
	memset(tt->runs, 0, sizeof(tt->runs));
	tt->nruns = tt->pending = 0;
}

void
tools_free(struct turn_tools *tt)
{
	uint32_t i;

	if (tt == NULL)
		return;
	loop_defer_cancel(&tt->ended);
	loop_timer_stop(&tt->wait);
	json_decref(tt->page);
	runs_clear(tt);
	for (i = 0; i < tt->nlost; i++)
		free(tt->lost[i].args);
	toolcalls_free(&tt->tc);
	for (i = 0; tt->schemas != NULL && i < tt->acts.n; i++)
		json_decref(tt->schemas[i]);
	free(tt->schemas);
	st_rep_free(PROTO_ST_ACTION_TOOLS, &tt->acts);
	free(tt->sources);
	if (tt->base.api_key != NULL)
		explicit_bzero((char *)tt->base.api_key,
		    strlen(tt->base.api_key));
	proto_strv_free(tt->own, tt->nown);
	free(tt->msgs);
	free(tt->tools);
	free(tt);
}

void
tools_request(struct turn_tools *tt, struct upstream_req *out)
{
	*out = tt->base;
	out->msgs = tt->msgs;
	out->nmsgs = tt->nmsgs;
	/* The last request offers none: nothing to call, whatever a server does. */
	out->tools = tt->rounds < TOOLS_ROUNDS_MAX ? tt->tools : NULL;
}

void
tools_delta(struct turn_tools *tt, const json_t *tool_calls)
{
	/* "tool_calls": [] beside a text delta asks for nothing. */
	if (json_is_array(tool_calls) && json_array_size(tool_calls) == 0)
		return;
	tt->asked = 1;
	(void)toolcalls_add(&tt->tc, tool_calls);	/* sticky: tools_run says */
}

int
tools_asked(const struct turn_tools *tt)
{
	return tt->asked;
}

/* ------------------------------------------------------------- a round */


/* The round's calls as the assistant's message has them: a JSON text. */
static char *
calls_text(const struct toolcalls *tc)
{
	json_t *arr = json_array(), *c;
	uint32_t i;

	for (i = 0; arr != NULL && i < tc->n; i++) {
		c = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", tc->calls[i].id,
		    "type", "function", "function", "name", tc->calls[i].name,
		    "arguments", tc->calls[i].args != NULL ?
		    tc->calls[i].args : "{}");
		if (c == NULL || json_array_append_new(arr, c) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return array_text(arr);
}

/*
 * What the model reads for a call: head, then text (what was kept of the
 * answer, the action's max_response_bytes) as valid UTF-8; malloc'd.
 */
static char *
answer_text(const char *head, const char *text, size_t len, int cut)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, head);
	/*
	 * Bytes that are not UTF-8 take three each as U+FFFD: what they
	 * leave out of len is said to be cut, as a longer answer is.
	 */
	if (chat_utf8_append(&b, text, len, len) < len)
		cut = 1;
	if (cut)
		buf_adds(&b, "\n[the answer was longer: this is its beginning]");
	return buf_cstr(&b);
}

static void
round_ended(void *arg)
{
	struct turn_tools *tt = arg;
	uint32_t i;
	int err = 0;

	for (i = 0; i < tt->nruns; i++) {
		run_record(tt, i, tt->runs[i].answer, tt->runs[i].st,
		    tt->runs[i].ms);
		tt->msgs[tt->nmsgs].role = "tool";
		tt->msgs[tt->nmsgs].tool_call_id = keep(tt, tt->tc.calls[i].id,
		    &err);
		tt->msgs[tt->nmsgs].content = keep(tt, tt->runs[i].answer != NULL ?
		    tt->runs[i].answer : "error: out of memory", &err);
		tt->nmsgs++;
	}
	runs_clear(tt);
	loop_timer_stop(&tt->wait);
	toolcalls_free(&tt->tc);
	toolcalls_init(&tt->tc);
	tt->asked = 0;
	if (err)
		log_warnx("tools: out of memory keeping a round's answers");
	tt->cbs.ran(tt->arg);
}

/* s as valid UTF-8 of at most max bytes, kept: NULL out of memory. */
static const char *
keep_cut(struct turn_tools *tt, const char *s, size_t max, int *err)
{
	struct buf b;
	const char *k;

	buf_init(&b);
	chat_utf8_append(&b, s, strlen(s), max);
	buf_add(&b, "", 1);
	k = b.err ? NULL : keep(tt, b.data, err);
	if (b.err)
		*err = 1;
	buf_free(&b);
	return k;
}

/* Call i's record, for the thread: name, arguments, how it went, whose. */
static void
run_record(struct turn_tools *tt, uint32_t i, const char *answer,
    enum tool_state st, uint32_t ms)
{
	struct st_tool_rec *rec;
	int err = 0;

	if (tt->nrecs == ST_TOOL_CALLS_MAX)
		return;
	rec = &tt->recs[tt->nrecs];
	rec->name = keep(tt, tt->tc.calls[i].name, &err);
	rec->arguments = keep_cut(tt, tt->tc.calls[i].args != NULL ?
	    tt->tc.calls[i].args : "{}", ST_TOOL_ARGS_KEPT, &err);
	rec->content = keep_cut(tt, answer != NULL ? answer :
	    "error: out of memory", ST_TOOL_ANSWER_KEPT, &err);
	rec->status = st == TOOL_DONE ? "complete" : "failed";
	rec->duration_ms = ms;
	/* The page named it and answered it: never shown as the owner's. */
	rec->origin = tt->runs[i].page ? ST_TOOL_FROM_PAGE :
	    ST_TOOL_FROM_ACTION;
	if (!err && st_action_name_valid(rec->name))
		tt->nrecs++;
}

void
tools_cut(struct turn_tools *tt)
{
	struct tool_run *r;
	uint32_t i;

	loop_defer_cancel(&tt->ended);
	for (i = 0; i < tt->nruns; i++) {
		r = &tt->runs[i];
		if (r->st != TOOL_RUNNING)
			run_record(tt, i, r->answer, r->st, r->ms);
		else if (r->checking)	/* nothing was called yet */
			run_record(tt, i, "error: not called: the turn ended "
			    "before the call was made", TOOL_FAILED,
			    (uint32_t)(loop_now() - r->began));
		else if (r->call != NULL || r->sreq != NULL ||
		    r->wait == WAIT_PAGE)	/* the page may have acted */
			run_record(tt, i, "error: no answer: the turn ended "
			    "while the call was made", TOOL_FAILED,
			    (uint32_t)(loop_now() - r->began));
		else if (r->wait == WAIT_CONFIRM || r->wait == WAIT_CONTACT)
			run_record(tt, i, "error: no answer: the turn ended "
			    "before the visitor's", TOOL_FAILED,
			    (uint32_t)(loop_now() - r->began));
	}
	runs_clear(tt);
}

uint32_t
tools_records(const struct turn_tools *tt, const struct st_tool_rec **out)
{
	*out = tt->recs;
	return tt->nrecs;
}

/*
 * TOOLS_CONFIRM_MS, or the test build's PARLEY_TEST_CONFIRM_MS if lower:
 * a browser test sees a card the wait ended without waiting two minutes.
 */
static uint32_t
confirm_ms(void)
{
	return (uint32_t)SETTINGS_TEST_LOWER("PARLEY_TEST_CONFIRM_MS",
	    TOOLS_CONFIRM_MS);
}

/*
 * TURN_ANSWERS_MAX, or the test build's PARLEY_TEST_TURN_ANSWERS_MAX if
 * lower: a test fills the budget with a few page answers.
 */
static size_t
answers_max(void)
{
	return (size_t)SETTINGS_TEST_LOWER("PARLEY_TEST_TURN_ANSWERS_MAX",
	    TURN_ANSWERS_MAX);
}

/*
 * What one call of the round may read of the turn's answers (an action's
 * or the page's): the round's calls share what is left, so together they
 * read at most that. 0 when nothing is left.
 */
static size_t
answers_share(const struct turn_tools *tt)
{
	size_t max = answers_max();

	return tt->answers_read < max ? (max - tt->answers_read) /
	    (tt->nruns > 0 ? tt->nruns : 1) : 0;
}

/* r's running step told (its end is told too, then). */
static void
run_shown(struct turn_tools *tt, struct tool_run *r)
{
	r->shown = 1;
	tt->cbs.step(tt->arg, r->name, r->id, TOOL_RUNNING);
}

/* One call has ended with answer (malloc'd; NULL out of memory). */
static void
run_end(struct tool_run *r, char *answer, enum tool_state st, uint32_t ms)
{
	struct turn_tools *tt = r->tt;

	r->call = NULL;
	run_slot_put(r);
	r->sreq = NULL;
	r->answer = answer;
	r->st = st;
	r->ms = ms;
	metrics_tool_call(st == TOOL_DONE, ms);
	if (r->shown)
		tt->cbs.step(tt->arg, r->name, r->id, st);
	if (--tt->pending == 0)
		loop_defer(&tt->ended);
}

/* r's call's arguments as JSON, keys sorted (malloc'd), or NULL. */
static char *
run_args(const struct tool_run *r)
{
	const struct turn_tools *tt = r->tt;

	return json_dumps(tt->tc.calls[r - tt->runs].parsed, JSON_COMPACT |
	    JSON_SORT_KEYS);
}

/* r got no answer: its key kept for the model's retry of it (lost_take). */
static void
lost_add(struct tool_run *r)
{
	struct turn_tools *tt = r->tt;
	struct lost_call *l;

	if (tt->nlost == ST_TOOL_CALLS_MAX)
		return;
	l = &tt->lost[tt->nlost];
	if ((l->args = run_args(r)) == NULL)
		return;		/* out of memory: a retry gets a key of its own */
	l->action_id = r->a->id;
	memcpy(l->key, r->key, sizeof(l->key));
	tt->nlost++;
}

/*
 * r's Idempotency-Key into r->key: a call of the turn that got no answer,
 * of the same action with the same arguments, gives its own (taken: a
 * second retry after that one's answer is a new call); else the call's
 * (action_idem_key).
 */
static void
run_key(struct turn_tools *tt, struct tool_run *r)
{
	char *args = run_args(r);
	uint32_t i;

	for (i = 0; args != NULL && i < tt->nlost; i++) {
		if (strcmp(tt->lost[i].action_id, r->a->id) != 0 ||
		    strcmp(tt->lost[i].args, args) != 0)
			continue;
		memcpy(r->key, tt->lost[i].key, sizeof(r->key));
		free(tt->lost[i].args);
		tt->lost[i] = tt->lost[--tt->nlost];
		free(args);
		return;
	}
	free(args);
	action_idem_key(r->key, tt->conv_id, tt->msg_id, r->a->id, tt->rounds,
	    (uint32_t)(r - tt->runs));
}

static void
call_done(void *arg, const struct action_call_result *res)
{
	struct tool_run *r = arg;
	char head[96];
	int ok = res->err == ACALL_OK && res->status >= 200 &&
	    res->status < 300;

	if (res->err == ACALL_OK)
		r->tt->answers_read += res->len;
	if (res->err == ACALL_TIMEOUT || res->err == ACALL_FAILED)
		lost_add(r);
	if (res->err != ACALL_OK) {
		snprintf(head, sizeof(head), "error: ");
		run_end(r, answer_text(head, res->error, strlen(res->error), 0),
		    TOOL_FAILED, res->duration_ms);
		return;
	}
	if (ok)
		head[0] = '\0';
	else
		snprintf(head, sizeof(head), "error: the API answered HTTP "
		    "%d: ", res->status);
	run_end(r, answer_text(head, res->body, res->len, res->cut),
	    ok ? TOOL_DONE : TOOL_FAILED, res->duration_ms);
}

/*
 * Why a call of action a (schema: its parameters, parsed) with args is
 * not made, into why; or NULL.
 */
static const char *
call_refused(struct turn_tools *tt, const struct st_action *a,
    const json_t *schema, const json_t *args, char *why, size_t whysz)
{
	char v[WHY_MAX - 8];

	if (schema_validate(schema, args, v, sizeof(v)) < 0) {
		snprintf(why, whysz, "error: %s", v);
		return why;
	}
	if (a->requires_verified && tt->v.external_id == NULL)
		return "error: this needs a signed-in visitor (a verified "
		    "identity); ask the visitor to sign in first";
	if (a->changes_data && tt->cbs.ask == NULL)
		return "error: this changes data and needs the visitor's "
		    "confirmation, which this chat cannot ask for; tell the "
		    "visitor it cannot be done here";
	return NULL;
}

#define HANDOFF_FAILED	"error: the conversation could not be handed to a " \
	"person; tell the visitor to try again"
#define SEARCH_FAILED	"error: the knowledge base could not be searched"

/*
 * A storaged answer to one of r's tools: 0 with rep its decoded reply
 * (of type), or -1 with the failure logged (what failed) and r ended
 * as failed, the model told fail.
 */
static int
run_answer(struct tool_run *r, const struct storec_result *res,
    uint16_t type, void *rep, const char *what, const char *fail)
{
	r->sreq = NULL;
	if (res->status == STOREC_OK && storec_decode(res, type, rep) == 0)
		return 0;
	log_warnx("tools: %s failed: %s", what, storec_why(res));
	run_end(r, strdup(fail), TOOL_FAILED, 0);
	return -1;
}

/* The hand-over, as storaged answered it. */
static void
handoff_done(const struct storec_result *res, void *arg)
{
	struct tool_run *r = arg;
	struct st_u8_rep rep;

	if (run_answer(r, res, PROTO_ST_TURN_HANDOFF, &rep,
	    "the hand-over to a person", HANDOFF_FAILED) < 0)
		return;
	run_end(r, strdup(rep.v ? "The conversation is handed to a person of "
	    "the team, who will answer here. Tell the visitor so." :
	    "The conversation is already waiting for a person or with one."),
	    TOOL_DONE, 0);
}

/* The number the turn gave passage h already (1 up), 0 when none. */
static uint32_t
kb_number(const struct st_kb_hits *kb, const struct st_kb_hit *h)
{
	uint32_t i;

	for (i = 0; i < kb->n; i++)
		if (kb->hits[i].chunk_id == h->chunk_id &&
		    strcmp(kb->hits[i].source_id, h->source_id) == 0)
			return i + 1;
	return 0;
}

/*
 * The passages storaged found, as the model reads them: "[n] Title (url)"
 * and the text. One the turn has already keeps its number (cited once);
 * a new one is added after the turn's (at most TOOLS_KB_MAX in all). r's
 * answer; NULL out of memory.
 */
static char *
search_text(struct turn_tools *tt, struct st_kb_hits *found)
{
	struct st_kb_hits *kb = tt->kb;
	struct st_kb_hit *h;
	struct buf b;
	uint32_t i, n;

	buf_init(&b);
	for (i = 0; i < found->n; i++) {
		if ((n = kb_number(kb, &found->hits[i])) == 0) {
			if (kb->n >= TOOLS_KB_MAX || (h = reallocarray(kb->hits,
			    kb->n + 1, sizeof(*h))) == NULL)
				continue;
			kb->hits = h;
			kb->hits[kb->n] = found->hits[i];
			memset(&found->hits[i], 0, sizeof(found->hits[i]));
			n = ++kb->n;
		}
		if (b.len > 0)
			buf_adds(&b, "\n\n");
		turn_passage_add(&b, n, &kb->hits[n - 1]);
	}
	if (b.len == 0)
		buf_adds(&b, "Nothing more was found in the knowledge base.");
	return buf_cstr(&b);
}

/* The search's passages, as storaged answered them. */
static void
search_done(const struct storec_result *res, void *arg)
{
	struct tool_run *r = arg;
	struct st_kb_hits found;

	if (run_answer(r, res, PROTO_ST_KB_RETRIEVE, &found,
	    "the knowledge base's search", SEARCH_FAILED) < 0)
		return;
	run_end(r, search_text(r->tt, &found), TOOL_DONE, 0);
	st_rep_free(PROTO_ST_KB_RETRIEVE, &found);
}

/* The built-in search of the agent's sources, or ended with why not. */
static void
search_start(struct turn_tools *tt, struct tool_run *r, struct tool_call *tc)
{
	const json_t *query = json_object_get(tc->parsed, "query");
	struct st_kb_retrieve_req q;

	run_shown(tt, r);
	if (!json_is_string(query) || json_string_length(query) == 0 ||
	    json_string_length(query) > ST_KB_QUERY_MAX) {
		run_end(r, strdup("error: query: a string of 1 to 2000 bytes"),
		    TOOL_FAILED, 0);
		return;
	}
	memset(&q, 0, sizeof(q));
	strlcpy(q.org, tt->org, sizeof(q.org));
	q.query = json_string_value(query);
	q.k = TOOLS_SEARCH_K;
	q.sources = tt->sources;
	q.n = tt->nsources;
	if (storec_ask(NULL, PROTO_ST_KB_RETRIEVE, &q, search_done, r,
	    &r->sreq) < 0)
		run_end(r, strdup(SEARCH_FAILED), TOOL_FAILED, 0);
}

/* The built-in hand-over asked of storaged, or ended with why not. */
static void
handoff_start(struct turn_tools *tt, struct tool_run *r)
{
	struct st_id_req q = { tt->conv_id };

	run_shown(tt, r);
	if (storec_ask(NULL, PROTO_ST_TURN_HANDOFF, &q, handoff_done, r,
	    &r->sreq) < 0)
		run_end(r, strdup(HANDOFF_FAILED), TOOL_FAILED, 0);
}

/* ------------------------------------------------------ confirmations */

/*
 * What a call will do, in words, for the visitor: the action's
 * description (at most SUMMARY_DESC_MAX bytes, "…" after one cut), then
 * each argument as "name: value" on a line of its own (a string as it
 * is, another value as JSON), each value at most SUMMARY_VALUE_MAX bytes
 * (never half a character; after a cut "…" and the value's whole length,
 * so the visitor knows more is sent than shown). The model writes the arguments, so a value cannot
 * make a line of its own or hide one: its control characters, line and
 * paragraph separators and direction overrides are spaces, its runs of
 * white space (Unicode's: summary_space) one, none at its ends. A name
 * too is the model's (a schema with additionalProperties lets it choose
 * them): each of those characters and each colon in it is "_", and it
 * is cut at SUMMARY_NAME_MAX bytes, so it cannot start a line or pass for
 * a name and value. NULL when the arguments take more than
 * SUMMARY_ARGS_MAX bytes (the visitor is not asked what cannot be shown
 * whole) or out of memory.
 */
#define SUMMARY_DESC_MAX	300
#define SUMMARY_NAME_MAX	64
#define SUMMARY_ARGS_MAX	1000
#define SUMMARY_VALUE_MAX	200

/*
 * The bytes of a character at s that a summary shows as a space, or 0:
 * Unicode's white space too (U+00A0, U+2003, U+3000...), which the card
 * shows as wide as it is (white-space: pre-wrap): a run of it, kept,
 * pushed what followed onto a line of its own, as a run of spaces would.
 */
static size_t
summary_space(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f || s[0] == ' ')
		return 1;
	if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))	/* NEL, NBSP */
		return 2;
	if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)	/* U+1680 */
		return 3;
	/* U+2000-U+200A, U+2028-U+202E (separators, overrides), U+202F */
	if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a ||
	    (s[2] >= 0xa8 && s[2] <= 0xaf)))
		return 3;
	/* U+205F, U+2066-U+2069 */
	if (s[0] == 0xe2 && s[1] == 0x81 && (s[2] == 0x9f ||
	    (s[2] >= 0xa6 && s[2] <= 0xa9)))
		return 3;
	if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)	/* U+3000 */
		return 3;
	return 0;
}

/*
 * Appends text to b, at most max bytes of it (never half a character),
 * "…" after one cut. 1 when it was cut.
 */
static int
summary_cut(struct buf *b, const char *text, size_t len, size_t max)
{
	if (chat_utf8_append(b, text, len, max) >= len)
		return 0;
	buf_adds(b, "\u2026");
	return 1;
}

/*
 * Appends v to b as summary_text shows it: an argument's name (name 1),
 * each character summary_space finds and each colon "_", cut at
 * SUMMARY_NAME_MAX; a value, each run of those characters one space,
 * none at its ends, cut at SUMMARY_VALUE_MAX, and then said to be: "…"
 * and its whole length, " (1234 characters in all)", v's as it is sent.
 */
static void
summary_clean(struct buf *b, const char *v, int name)
{
	const unsigned char *s = (const unsigned char *)v;
	struct buf one;
	size_t n;

	buf_init(&one);
	while (*s != '\0') {
		if ((n = name && *s == ':' ? 1 : summary_space(s)) == 0) {
			buf_add(&one, s++, 1);
			continue;
		}
		if (name)
			buf_add(&one, "_", 1);
		else if (one.len > 0 && one.data[one.len - 1] != ' ')
			buf_add(&one, " ", 1);
		s += n;
	}
	if (!name && one.len > 0 && one.data[one.len - 1] == ' ')
		one.len--;
	if (summary_cut(b, one.data != NULL ? one.data : "", one.len,
	    name ? SUMMARY_NAME_MAX : SUMMARY_VALUE_MAX) && !name)
		buf_addf(b, " (%zd characters in all)",
		    proto_utf8_chars(v, strlen(v)));
	buf_free(&one);
}

static char *
summary_text(const struct st_action *a, const json_t *args)
{
	const char *k, *d = a->description != NULL ? a->description : a->name;
	struct buf b;
	size_t start;
	json_t *v;
	char *s;

	buf_init(&b);
	summary_cut(&b, d, strlen(d), SUMMARY_DESC_MAX);
	start = b.len;
	json_object_foreach((json_t *)args, k, v) {
		buf_adds(&b, "\n");
		summary_clean(&b, k, 1);
		buf_adds(&b, ": ");
		if (json_is_string(v))
			summary_clean(&b, json_string_value(v), 0);
		else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) !=
		    NULL) {
			summary_clean(&b, s, 0);
			free(s);
		}
	}
	if (b.len - start > SUMMARY_ARGS_MAX)
		b.err = 1;
	buf_add(&b, "", 1);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* r waits for the visitor's yes (asked), or is refused. */
static void
confirm_ask(struct turn_tools *tt, struct tool_run *r, struct tool_call *tc)
{
	char *summary = summary_text(r->a, tc->parsed);

	if (summary == NULL ||
	    tt->cbs.ask(tt->arg, tc->id, r->name, summary) < 0) {
		free(summary);
		run_end(r, strdup("error: the visitor could not be asked to "
		    "confirm (arguments too long to show whole?); it was not "
		    "done"), TOOL_FAILED, 0);
		return;
	}
	free(summary);
	wait_start(tt, r, WAIT_CONFIRM, confirm_ms());
}

int
tools_confirm(struct turn_tools *tt, const char *id, int yes)
{
	struct tool_run *r;
	uint32_t i;
	int kind;

	for (i = 0; i < tt->nruns; i++) {
		r = &tt->runs[i];
		if ((r->wait != WAIT_CONFIRM && (r->wait != WAIT_CONTACT ||
		    yes)) || strcmp(tt->tc.calls[i].id, id) != 0)
			continue;
		kind = r->wait;
		r->wait = WAIT_NONE;
		wait_arm(tt);
		if (kind == WAIT_CONTACT)
			run_end(r, strdup("The visitor chose not to leave their "
			    "contact details; go on without them."), TOOL_DONE,
			    0);
		else if (yes)
			run_call(tt, r, &tt->tc.calls[i]);
		else
			run_end(r, strdup("error: the visitor said no; it was "
			    "not done"), TOOL_FAILED, 0);
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------- contact form */

/* The widget's contact form shown for r (its reason), or r ended. */
static void
contact_ask(struct turn_tools *tt, struct tool_run *r, struct tool_call *tc)
{
	const json_t *reason = json_object_get(tc->parsed, "reason");

	run_shown(tt, r);
	if (reason != NULL && (!json_is_string(reason) ||
	    json_string_length(reason) > TOOLS_REASON_MAX)) {
		run_end(r, strdup("error: reason: a string of at most 200 "
		    "bytes"), TOOL_FAILED, 0);
		return;
	}
	if (tt->cbs.form == NULL || tt->cbs.form(tt->arg, tc->id, r->name,
	    reason != NULL ? json_string_value(reason) : "") < 0) {
		run_end(r, strdup("error: the form could not be shown; ask the "
		    "visitor for their details in words"), TOOL_FAILED, 0);
		return;
	}
	wait_start(tt, r, WAIT_CONTACT, confirm_ms());
}

int
tools_contact_saved(struct turn_tools *tt)
{
	struct tool_run *r;
	uint32_t i;
	int found = 0;

	for (i = 0; i < tt->nruns; i++) {
		r = &tt->runs[i];
		if (r->wait != WAIT_CONTACT)
			continue;
		r->wait = WAIT_NONE;
		found = 1;
		run_end(r, strdup("The visitor's contact details were saved: "
		    "the team can reach them now. Thank them."), TOOL_DONE, 0);
	}
	if (!found)
		return -1;
	wait_arm(tt);
	return 0;
}

/* The wait timer at the earliest wait's end, or stopped for none. */
static void
wait_arm(struct turn_tools *tt)
{
	uint64_t at = 0;
	uint32_t i;

	for (i = 0; i < tt->nruns; i++)
		if (tt->runs[i].wait != WAIT_NONE &&
		    (at == 0 || tt->runs[i].until < at))
			at = tt->runs[i].until;
	if (at == 0)
		loop_timer_stop(&tt->wait);
	else
		loop_timer_at(&tt->wait, at);
}

/* r waits for the visitor's side (kind), at most ms. */
static void
wait_start(struct turn_tools *tt, struct tool_run *r, int kind, uint32_t ms)
{
	r->wait = kind;
	r->until = loop_now() + ms;
	wait_arm(tt);
}

/* No answer in time: each call whose wait ended goes back to the model. */
static void
wait_expired(void *arg)
{
	struct turn_tools *tt = arg;
	struct tool_run *r;
	uint64_t now = loop_now();
	uint32_t i;
	int kind;

	for (i = 0; i < tt->nruns; i++) {
		r = &tt->runs[i];
		if (r->wait == WAIT_NONE || r->until > now)
			continue;
		kind = r->wait;
		r->wait = WAIT_NONE;
		run_end(r, strdup(kind == WAIT_CONFIRM ? "error: the visitor "
		    "did not confirm in time; it was not done" :
		    kind == WAIT_CONTACT ? "error: the visitor did not fill in "
		    "the form in time; go on without their details" : "error: "
		    "the page did not answer in time"), TOOL_FAILED, 0);
	}
	wait_arm(tt);
}

/* ---------------------------------------------------------- page tools */

/* The page's tool named name (its function's), or NULL. */
static const json_t *
page_named(const struct turn_tools *tt, const char *name)
{
	const json_t *f;
	size_t i;

	json_array_foreach(tt->page, i, f)
		if (strcmp(json_string_value(json_object_get(json_object_get(f,
		    "function"), "name")), name) == 0)
			return json_object_get(json_object_get(f, "function"),
			    "parameters");
	return NULL;
}

/* r's arguments checked, then handed to the page; or r ended with why not. */
static void
page_ask(struct turn_tools *tt, struct tool_run *r, struct tool_call *tc,
    const json_t *schema)
{
	char why[WHY_MAX - 8], buf[WHY_MAX];

	r->page = 1;
	run_shown(tt, r);
	if (schema_validate(schema, tc->parsed, why, sizeof(why)) < 0) {
		snprintf(buf, sizeof(buf), "error: %s", why);
		run_end(r, strdup(buf), TOOL_FAILED, 0);
		return;
	}
	/* Its answer is read as an action's is: its share of what is left. */
	if ((r->page_max = answers_share(tt)) == 0) {
		run_end(r, strdup(PAGE_SPENT), TOOL_FAILED, 0);
		return;
	}
	if (r->page_max > TOOLS_PAGE_ANSWER_MAX)
		r->page_max = TOOLS_PAGE_ANSWER_MAX;
	if (tt->cbs.page == NULL || tt->cbs.page(tt->arg, tc->id, r->name,
	    tc->args != NULL ? tc->args : "{}") < 0) {
		run_end(r, strdup("error: the page could not be asked"),
		    TOOL_FAILED, 0);
		return;
	}
	wait_start(tt, r, WAIT_PAGE, TOOLS_PAGE_MS);
}

int
tools_page_answer(struct turn_tools *tt, const char *id, const char *text,
    int failed)
{
	struct tool_run *r;
	struct buf b;
	uint32_t i;
	size_t at;

	for (i = 0; i < tt->nruns; i++) {
		r = &tt->runs[i];
		if (r->wait != WAIT_PAGE || strcmp(tt->tc.calls[i].id, id) != 0)
			continue;
		r->wait = WAIT_NONE;
		buf_init(&b);
		if (failed)
			buf_adds(&b, "error: ");
		at = b.len;
		chat_utf8_append(&b, text, strlen(text), r->page_max);
		/* The turn's budget: the bytes the model will read of it. */
		tt->answers_read += b.len - at;
		buf_add(&b, "", 1);
		run_end(r, b.err ? NULL : b.data, failed ? TOOL_FAILED :
		    TOOL_DONE, 0);
		if (b.err)
			buf_free(&b);
		wait_arm(tt);
		return 0;
	}
	return -1;
}

/* One page tool as a function of the "tools" array, into arr. */
static const char *
page_one(const json_t *t, json_t *arr)
{
	const json_t *name = json_object_get(t, "name");
	const json_t *desc = json_object_get(t, "description");
	const json_t *params = json_object_get(t, "parameters");
	const char *why;
	size_t i;
	json_t *f;

	if (!json_is_object(t) || exprow_plain(name) == NULL ||
	    !st_action_name_valid(json_string_value(name)) ||
	    st_tool_builtin(json_string_value(name)))
		return "tools: each needs a name of A-Z, a-z, 0-9, _ and -";
	json_array_foreach(arr, i, f)
		if (strcmp(json_string_value(json_object_get(json_object_get(f,
		    "function"), "name")), json_string_value(name)) == 0)
			return "tools: a name is given twice";
	if (!json_is_string(desc) || json_string_length(desc) == 0 ||
	    json_string_length(desc) > ST_ACTION_DESC_MAX)
		return "tools: each needs a description of 1 to 1000 bytes";
	if ((why = schema_check(params)) != NULL)
		return why;
	f = json_pack("{s:s, s:{s:O, s:O, s:O}}", "type", "function",
	    "function", "name", name, "description", desc, "parameters",
	    params);
	if (f == NULL || json_array_append_new(arr, f) < 0)
		return "tools: out of memory";
	return NULL;
}

const char *
tools_page_check(const json_t *tools, char **out)
{
	const char *why = NULL;
	const json_t *t;
	json_t *arr;
	size_t i;
	char *s = NULL;

	*out = NULL;
	if (!json_is_array(tools) || json_array_size(tools) > TOOLS_PAGE_MAX)
		return "tools: must be an array of at most 8 tools";
	if ((arr = json_array()) == NULL)
		return "tools: out of memory";
	json_array_foreach(tools, i, t)
		if ((why = page_one(t, arr)) != NULL)
			break;
	if (why == NULL && json_array_size(arr) > 0 &&
	    ((s = json_dumps(arr, JSON_COMPACT)) == NULL ||
	    strlen(s) > TOOLS_PAGE_BYTES))
		why = "tools: at most 16384 bytes as JSON";
	json_decref(arr);
	if (why != NULL) {
		free(s);
		return why;
	}
	*out = s;
	return NULL;
}

/* Call i of the round started, or ended at once with why not. */
static void
run_start(struct turn_tools *tt, uint32_t i)
{
	struct tool_run *r = &tt->runs[i];
	struct tool_call *tc = &tt->tc.calls[i];
	const json_t *schema;
	const char *refused;
	char buf[WHY_MAX];
	int k;

	r->tt = tt;
	r->name = tc->name;
	r->id = tc->id;
	r->began = loop_now();
	tt->pending++;
	if (tc->parsed == NULL) {
		run_end(r, strdup("error: the arguments are not one JSON object "
		    "(a number past 64 bits or a NUL is refused too): send them "
		    "again"), TOOL_FAILED, 0);
		return;
	}
	if (tt->handoff && strcmp(tc->name, TOOL_HANDOFF) == 0) {
		handoff_start(tt, r);
		return;
	}
	if (tt->kb != NULL && strcmp(tc->name, TOOL_SEARCH) == 0) {
		search_start(tt, r, tc);
		return;
	}
	if (tt->contact && strcmp(tc->name, TOOL_CONTACT) == 0) {
		contact_ask(tt, r, tc);
		return;
	}
	if (tt->page != NULL && (schema = page_named(tt, tc->name)) != NULL) {
		page_ask(tt, r, tc, schema);
		return;
	}
	if ((k = action_named(tt, tc->name)) < 0) {
		snprintf(buf, sizeof(buf), "error: there is no tool named %s",
		    tc->name);
		run_end(r, strdup(buf), TOOL_FAILED, 0);
		return;
	}
	r->a = &tt->acts.actions[k];
	run_shown(tt, r);
	if ((refused = call_refused(tt, r->a, tt->schemas[k], tc->parsed, buf,
	    sizeof(buf))) != NULL) {
		run_end(r, strdup(refused), TOOL_FAILED, 0);
		return;
	}
	if (r->a->changes_data) {
		confirm_ask(tt, r, tc);
		return;
	}
	run_call(tt, r, tc);
}

#define ACTION_GONE	"error: not called: this action is no longer " \
	"available (the owner disabled or deleted it); tell the visitor it " \
	"cannot be done now"
#define ACTION_UNCHECKED	"error: not called: whether this action is " \
	"still available could not be checked; it was not done"
#define ACTION_NOW_CHANGES	"error: not called: the owner changed this " \
	"action while you called it: it now changes data and needs the " \
	"visitor's confirmation; call it again"

/*
 * r's call of action a as run_checked read it (the turn's copy, r->a,
 * may be older): refused as run_start refuses one (a's parameters, a
 * verified visitor), or when a changes data now and its visitor was not
 * asked; else made (run_made).
 */
static void
run_recheck(struct turn_tools *tt, struct tool_run *r,
    const struct st_action *a, struct tool_call *tc)
{
	json_t *old = tt->schemas[r->a - tt->acts.actions], *schema = old;
	const char *refused;
	char buf[WHY_MAX];

	if (strcmp(a->parameters, r->a->parameters) != 0 &&
	    (schema = json_loads(a->parameters, 0, NULL)) == NULL) {
		run_end(r, strdup(ACTION_UNCHECKED), TOOL_FAILED, 0);
		return;
	}
	refused = a->changes_data && !r->a->changes_data ? ACTION_NOW_CHANGES :
	    call_refused(tt, a, schema, tc->parsed, buf, sizeof(buf));
	if (schema != old)
		json_decref(schema);
	if (refused != NULL)
		run_end(r, strdup(refused), TOOL_FAILED, 0);
	else
		run_made(tt, r, a, tc);
}

/*
 * Storaged's answer to r's check: the action still the organisation's,
 * enabled and listed by the turn's agent, called as it is stored now
 * (its url, method, headers, body, timeout), or r ended (it was not
 * called).
 */
static void
run_checked(const struct storec_result *res, void *arg)
{
	struct tool_run *r = arg;
	struct turn_tools *tt = r->tt;
	struct st_actions now;
	uint32_t i = (uint32_t)(r - tt->runs);
	int there;

	r->checking = 0;
	if (run_answer(r, res, PROTO_ST_ACTION_TOOLS, &now,
	    "the check that an action is still enabled",
	    ACTION_UNCHECKED) < 0)
		return;
	there = now.n == 1 && strcmp(now.actions[0].id, r->a->id) == 0;
	if (!there)
		run_end(r, strdup(ACTION_GONE), TOOL_FAILED, 0);
	else
		run_recheck(tt, r, &now.actions[0], &tt->tc.calls[i]);
	st_rep_free(PROTO_ST_ACTION_TOOLS, &now);	/* headers wiped */
}

/*
 * Run r's call (checked), once storaged says its action is still there,
 * enabled and the turn's agent's: the turn's copy was read as the turn
 * began, and the owner may have disabled, deleted, changed it or taken
 * it off the agent since (a confirmation waits up to two minutes). One
 * lookup of one record (and the agent's); a call of an action that is
 * gone is not made, the model told so; one changed is made as it is now.
 */
static void
run_call(struct turn_tools *tt, struct tool_run *r, struct tool_call *tc)
{
	struct st_action_tools_req q;
	struct st_str id = { r->a->id };

	(void)tc;	/* found again by r's index once checked */
	memset(&q, 0, sizeof(q));
	strlcpy(q.org, tt->org, sizeof(q.org));
	strlcpy(q.agent, tt->agent, sizeof(q.agent));
	q.ids = &id;
	q.n = 1;
	r->checking = 1;
	if (storec_ask(NULL, PROTO_ST_ACTION_TOOLS, &q, run_checked, r,
	    &r->sreq) < 0) {
		r->checking = 0;
		run_end(r, strdup(ACTION_UNCHECKED), TOOL_FAILED, 0);
	}
}

/*
 * Run r's call (checked, still enabled) of action a as run_checked read
 * it: its templates filled, its API called.
 */
static void
run_made(struct turn_tools *tt, struct tool_run *r, const struct st_action *a,
    struct tool_call *tc)
{
	struct action_call_req q;
	const char *why;
	char buf[WHY_MAX], *url, *body;
	size_t share;

	if ((share = answers_share(tt)) == 0) {
		run_end(r, strdup(ANSWERS_SPENT), TOOL_FAILED, 0);
		return;
	}
	if (action_call_req_of(&q, a, tc->parsed, &tt->v, tt->allow_private,
	    &url, &body, &why) < 0) {
		snprintf(buf, sizeof(buf), "error: %s", why);
		run_end(r, strdup(buf), TOOL_FAILED, 0);
		return;
	}
	if (q.max_bytes > share)
		q.max_bytes = (uint32_t)share;
	run_key(tt, r);
	q.idem_key = r->key;
	if (orgslots_take(&turn_calls, tt->org) == ORGSLOTS_TAKEN) {
		r->slot = 1;
		r->call = action_call_start(&q, call_done, r);
	}
	free(url);
	free(body);
	if (!r->slot) {
		run_end(r, strdup(CALLS_BUSY), TOOL_FAILED, 0);
		return;
	}
	if (r->call == NULL)
		run_end(r, strdup("error: the call could not be started"),
		    TOOL_FAILED, 0);
}

int
tools_run(struct turn_tools *tt, const char *said, size_t saidlen,
    const struct tools_cbs *cbs, void *arg, const char **why)
{
	char *calls;
	uint32_t i;
	int err = 0;

	/* Calls of tools the last request did not offer: none is made. */
	if (tt->rounds >= TOOLS_ROUNDS_MAX)
		return 1;
	if (toolcalls_end(&tt->tc) < 0) {
		*why = tt->tc.why;
		return -1;
	}
	if ((calls = calls_text(&tt->tc)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	tt->msgs[tt->nmsgs].role = "assistant";
	/* What the model said before its calls, for it to read next round. */
	tt->msgs[tt->nmsgs].content = saidlen > 0 ?
	    keep_n(tt, said, saidlen, &err) : NULL;
	tt->msgs[tt->nmsgs].tool_calls = keep(tt, calls, &err);
	free(calls);
	if (err) {
		*why = "out of memory";
		return -1;
	}
	tt->nmsgs++;
	tt->rounds++;
	tt->cbs = *cbs;
	tt->arg = arg;
	tt->nruns = tt->tc.n;
	/* One more than the calls: none ends the round while they start. */
	tt->pending = 1;
	for (i = 0; i < tt->nruns; i++)
		run_start(tt, i);
	if (--tt->pending == 0)
		loop_defer(&tt->ended);
	return 0;
}
