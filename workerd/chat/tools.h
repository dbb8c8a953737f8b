/*
 * A chat turn's tools (tools.c): the actions its agent may call
 * (proto/actionmsg.h) offered to the model, and the rounds in which the
 * model calls them. A round: the model's answer ends asking for calls
 * (their deltas put together by model/toolcall.c); each call is checked
 * (a tool the turn has, arguments its schema takes, a verified visitor
 * where the action requires one) and run, all of a round's at once
 * (actions/call.c), an action's once storaged says, right before, that
 * it is still enabled and the turn's agent's (the turn's copy is read as
 * it begins: one the owner disabled, deleted or took off the agent since
 * is not called; one changed since is checked again and called as it is
 * stored now); every answer, or why there is none, goes back to the
 * model as a tool message, and the model is asked again, with the
 * rounds' messages after the conversation. At most TOOLS_ROUNDS_MAX
 * rounds: the last request offers no tools (neither "tools" nor
 * "tool_choice": OpenAI's chat completions take the rounds' calls and
 * tool messages without them, and a server that ignores "tool_choice":
 * "none", as Ollama does, has none to call), and the model answers in
 * words; calls it makes all the same are dropped, the turn's answer its
 * text so far.
 *
 * What the model wrote never reaches the owner's API but as arguments its
 * schema took, filled into the action's templates (actions/template.c)
 * beside the verified visitor's own fields.
 *
 * Each call of an action carries an Idempotency-Key (actions/call.h's
 * action_idem_key: the conversation, the turn's question, the action, the
 * round and the call's index), so the same call made again (a turn run
 * again) carries the same key and two calls never share one; a call the
 * model makes again, the same action with the same arguments, after one
 * that got no answer (timed out, or the connection failed: it may have
 * been applied) is that call retried: it carries the earlier one's key.
 *
 * Built in, where the agent allows it (handoff_tool) and the widget has a
 * person to hand over to: TOOL_HANDOFF, the conversation handed to a
 * person as a visitor's request is (ST_TURN_HANDOFF); where it allows it
 * (knowledge_search_tool) and has knowledge sources: TOOL_SEARCH, its
 * sources searched with the model's own query (ST_KB_RETRIEVE); where it
 * allows it (contact_form_tool) and the widget has a contact form this
 * visitor has not filled: TOOL_CONTACT, the form shown to the visitor,
 * the call ended when their details are saved (tools_contact_saved) or
 * the form skipped (tools_confirm's no).
 *
 * The page's own tools (ParleyChat.registerTools, over the widget's
 * socket): offered beside the actions; a call of one, its arguments
 * checked against its schema, is handed to the visitor's browser, whose
 * answer (at most TOOLS_PAGE_ANSWER_MAX bytes, within TOOLS_PAGE_MS) goes
 * back to the model. Its answers count in the turn's 2 MiB of tools'
 * answers as the actions' do (each call of a round reads at most its
 * share of what is left; none left, the page is not asked), and its calls
 * are stored as the page's (ST_TOOL_FROM_PAGE), never as the owner's.
 */
#ifndef PARLEY_CHAT_TOOLS_H
#define PARLEY_CHAT_TOOLS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "actionmsg.h"
#include "stmsgs.h"
#include "template.h"
#include "upstream.h"

#define TOOLS_ROUNDS_MAX	4	/* rounds of calls in one turn */
#define TOOL_HANDOFF		ST_TOOL_HANDOFF	/* actionmsg.h */
#define TOOL_SEARCH		ST_TOOL_SEARCH
#define TOOL_CONTACT		ST_TOOL_CONTACT
#define TOOLS_REASON_MAX	200	/* bytes of the form's reason */
#define TOOLS_SEARCH_K		5	/* passages a search gives */
#define TOOLS_KB_MAX		20	/* passages a turn holds in all */

struct turn_tools;

/* How a call went, as the front end shows it ("looking up..."). */
enum tool_state {
	TOOL_RUNNING,
	TOOL_DONE,
	TOOL_FAILED,
};

/* Every call of the round has ended. */
typedef void (*tools_ran_cb)(void *arg);
/*
 * A call's step told to the turn: name, id (the model's call id, which
 * the confirmation and the contact form name too: a card the visitor
 * still has is known by it), its state.
 */
typedef void (*tools_step_cb)(void *arg, const char *name, const char *id,
    enum tool_state);
/*
 * A call that changes data shown to the visitor to confirm: id (the
 * call's), the action's name, what it will do in words. 0 asked (the
 * answer comes through tools_confirm); -1 the visitor cannot be asked
 * (the call is refused).
 */
typedef int (*tools_ask_cb)(void *arg, const char *id, const char *name,
    const char *summary);
#define TOOLS_CONFIRM_MS	120000	/* a confirmation's wait at most */
#define TOOLS_PAGE_MS		15000	/* a page tool's answer's wait at most */
#define TOOLS_PAGE_MAX		8	/* tools a page registers at most */
/*
 * Bytes of their definitions, as JSON: a socket keeps them as that text,
 * parsed only for a turn. Parsed, 16 KiB of schemas may take 80 times
 * as much (an "examples" of 5,400 {}: some 1.3 MiB), on each of the
 * sockets a client holds.
 */
#define TOOLS_PAGE_BYTES	16384
#define TOOLS_PAGE_ANSWER_MAX	16384	/* bytes of a page tool's answer */
/*
 * A page tool's call handed to the browser: id (the call's), the tool's
 * name, its arguments (JSON text). 0 sent (the answer comes through
 * tools_page_answer); -1 not.
 */
typedef int (*tools_page_cb)(void *arg, const char *id, const char *name,
    const char *args);

/* What the turn tells its tools of itself. */
struct tools_from {
	const struct tpl_visitor *v;	/* the verified visitor, or NULL */
	const char *org;		/* whose actions (the policy's) */
	const char *agent;		/* the turn's agent's id ("": the default) */
	const char *conv_id;		/* the turn's conversation */
	const char *msg_id;		/* its question's message id ("": not told) */
	int handoff;			/* TOOL_HANDOFF offered */
	int contact;			/* TOOL_CONTACT offered */
	const char *page;		/* the page's tools (tools_page_check's text), or NULL */
	/*
	 * TOOL_SEARCH offered when kb is set: the agent's sources (n of
	 * them), and the turn's passages, to which those found are added
	 * (numbered after them, for the answer to cite), at most
	 * TOOLS_KB_MAX in all; kb is the turn's and outlives the tools.
	 */
	char *const *sources;
	uint32_t nsources;
	struct st_kb_hits *kb;
};

/*
 * The turn's callbacks for a round (ask, page, form: NULL when it
 * cannot). form shows the contact form for call id (the tool's name, the
 * model's reason for asking, maybe ""), as ask does a confirmation.
 */
struct tools_cbs {
	tools_step_cb step;
	tools_ran_cb ran;
	tools_ask_cb ask;
	tools_page_cb page;
	tools_ask_cb form;
};

/*
 * The turn's tools: acts's actions (taken: acts is left empty), the
 * request req as the first round asks it (copied whole, its strings
 * too), and from (copied): the verified visitor, whose actions these are
 * (PARLEY_ACTIONS_ALLOW_PRIVATE's for the default organisation), the
 * turn's conversation (which handoff lets the model hand to a person),
 * the page's tools. NULL out of memory, or with no tool.
 */
struct turn_tools *tools_new(struct st_actions *acts,
    const struct upstream_req *req, const struct tools_from *from);
/*
 * The first round asked again as req (copied whole, as tools_new copies
 * it), before any call was made: the model's server refused the first
 * request (turn.c: its images left out). 0, or -1 out of memory (free
 * the tools then).
 */
int tools_rebase(struct turn_tools *, const struct upstream_req *req);
/*
 * A page's tools as registered (any JSON): NULL when they may be offered
 * (an array of at most TOOLS_PAGE_MAX {"name", "description",
 * "parameters"}, names of [A-Za-z0-9_-] not a built-in's, each once,
 * a description of at most 1000 bytes, parameters schema_check takes,
 * TOOLS_PAGE_BYTES as JSON at most), else what is wrong (static or
 * thread-local). *out: them as functions of the "tools" array, that
 * array's compact JSON text (malloc'd, at most TOOLS_PAGE_BYTES bytes;
 * NULL for an empty one), which tools_new parses for its turn.
 */
const char *tools_page_check(const json_t *tools, char **out);
void tools_free(struct turn_tools *);
/*
 * The next model request into out: the first one's, its history followed
 * by the rounds' messages, the tools offered (none once the rounds are
 * used up: the last request). Valid until the next round starts or
 * tools_free.
 */
void tools_request(struct turn_tools *, struct upstream_req *out);
/*
 * A chunk's tool_calls (upstream's on_tools). An empty array (which some
 * servers send beside each text delta) is no call: ignored.
 */
void tools_delta(struct turn_tools *, const json_t *tool_calls);
/*
 * 1 when the model's answer asked for calls: a delta of at least one
 * (or one out of shape, which tools_run refuses). 0: a plain answer.
 */
int tools_asked(const struct turn_tools *);
/*
 * The calls of the turn's rounds so far, as stored before its answer
 * (role tool; each one's origin the owner's or the page's): *out, valid
 * until tools_free; how many.
 */
uint32_t tools_records(const struct turn_tools *,
    const struct st_tool_rec **out);
/*
 * The turn ends with a round's calls running (the visitor left, stopped,
 * a person took over): the calls that ended kept as records, each one
 * still in flight as failed ("no answer"), as it was made and may have
 * acted; then all stopped. Nothing when no round runs.
 */
void tools_cut(struct turn_tools *);
/*
 * The round's calls run, the model's answer that asked for them recorded
 * for the next request: its text (said, saidlen bytes of UTF-8; 0: none,
 * null) and its calls. 0, with step called for each call's start and
 * end and ran once when all have ended (from the loop, never from inside
 * tools_run); 1 when the model called after its last round, which
 * offered no tool (a server that calls all the same): nothing is called,
 * the calls dropped, and the turn ends with its text so far; -1 with
 * *why (static) when the round does not read (the turn fails: nothing
 * was called). A call of an action that changes data
 * waits for the visitor's yes, asked through ask (NULL: such calls are
 * refused), at most TOOLS_CONFIRM_MS; a no, or no answer, goes back to
 * the model.
 */
int tools_run(struct turn_tools *, const char *said, size_t saidlen,
    const struct tools_cbs *cbs, void *arg, const char **why);
/*
 * The visitor's answer to the confirmation of call id (yes 1: run it),
 * or their skip of its contact form (yes 0): 0, or -1 when no call of
 * that id waits for one.
 */
int tools_confirm(struct turn_tools *, const char *id, int yes);
/*
 * The visitor's contact details were saved: each call waiting on the
 * contact form ends (done). 0, or -1 when none waited.
 */
int tools_contact_saved(struct turn_tools *);
/*
 * The page's answer to call id: text (NUL-free, cut to
 * TOOLS_PAGE_ANSWER_MAX bytes of UTF-8, or to the call's share of what
 * the turn may still read of its tools' answers, if less; what is kept
 * counts in it), failed 1 for its error. 0, or -1 when no page call of
 * that id waits for one.
 */
int tools_page_answer(struct turn_tools *, const char *id, const char *text,
    int failed);

#endif
