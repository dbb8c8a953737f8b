/*
 * One chat turn, whatever the client speaks: the HTTP endpoints (chat.c:
 * a JSON answer or an NDJSON stream) and the widget's WebSocket (wschat.c)
 * each drive the same turn through a small table of operations.
 *
 * A turn's life: the front end fills its begin request (it counts the
 * request against the rate limit, stores the user message and returns
 * the history in one round trip) and calls turn_start. storaged answers it
 * early, before its commit (PROTO_F_EARLY): the model is called at once,
 * but the client is shown nothing (start) until the commit is confirmed.
 * The reply streams to the client as token events, and the model waits
 * while the client's output is above CHAT_OUT_HIGH. The reply is then
 * stored with its status and usage ("complete", "interrupted" or
 * "failed") and only after storaged acknowledged it does the client get
 * done, or error. A turn outlives its client: when the client leaves,
 * the front end calls turn_cancel and the turn stores what it has as
 * "interrupted" before it frees itself (with ops->out_pos, what it had
 * sent the client). Every turn that stored a user
 * message ends with exactly one stored assistant message: the turn's
 * writes are waited for, never failed on a timeout while storaged may
 * still run them (storec's STOREC_F_OUTCOME), and one cut off (storaged
 * stuck, or the worker lost) is ended by storaged (lostturns.h).
 *
 * Who answers is the begin reply's to say (struct st_begin_rep): the
 * model, as the effective agent the reply carries says (struct st_agent:
 * the widget's agent with the widget's own model and prompt merged in;
 * storaged's merge, key included; "" is the deployment's setting, and
 * api_key "" with a base_url of its own sends no key; turn.c wipes the
 * key when it is done), or, when the conversation is in the owner's hands
 * (the front end's human result), nobody: the user message is stored
 * and the turn ends with ops->human, the model never called and nothing
 * more stored. A begin reply that does not decode exactly ends the turn
 * before anything is shown (TURN_AT_BEGIN, TURN_C_MALFORMED): without it
 * there is no conversation to store a reply in.
 */
#ifndef PARLEY_TURN_H
#define PARLEY_TURN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tpl_visitor;
struct turn;
struct upstream;
struct upstream_req;
struct upstream_cbs;

/* Where a turn that ends without its reply stopped. */
enum turn_at {
	TURN_AT_BEGIN,	/* the begin request failed: nothing was stored */
	TURN_AT_COMMIT,	/* the user message's commit failed (nothing
			   stored), or the connection went before its
			   confirmation (storaged ends the turn if stored) */
	TURN_AT_MODEL,	/* no reply (the model or this worker failed): "failed" stored */
	TURN_AT_STORE,	/* the reply could not be stored */
};

/* Why: what an HTTP answer's status says. */
enum turn_cause {
	TURN_C_UNAVAILABLE,	/* storaged away or busy (503) */
	TURN_C_STORAGE,		/* storaged answered with an error (500) */
	TURN_C_MALFORMED,	/* storaged's answer made no sense (500) */
	TURN_C_INTERNAL,	/* failed in this worker (500) */
	TURN_C_MODEL,		/* the model failed (502) */
	TURN_C_TIMEOUT,		/* the model timed out (504) */
	TURN_C_INVALID,		/* storaged refused what the message names:
				   its attachments (400) */
};

/*
 * A knowledge passage the reply cites ("[n]" in its text): its number in
 * the prompt, its source and page.
 */
struct turn_source {
	unsigned n;
	const char *source_id, *title, *url;
};

/*
 * The cited passages as the API shows them: [{"n","source_id","title",
 * "url"}] ("url" "" for a question and answer). NULL out of memory.
 */
json_t *turn_sources_json(const struct turn_source *src, size_t n);
struct buf;
struct st_kb_hit;
/*
 * Knowledge passage n as the model reads it, appended to b: "[n] Title
 * (url)", a newline, its text (a line of it that starts as a marker
 * does, "[2]", written "\[2]": no passage of the text's own), the
 * prompt's passages and the knowledge search tool's alike, so that the
 * answer cites both by their numbers.
 */
void turn_passage_add(struct buf *b, uint32_t n, const struct st_kb_hit *h);

/*
 * A front end: its begin request and how it shows the turn. fe is the
 * front end's own pointer (turn_start's); the turn calls nothing with it
 * after turn_cancel. After a final operation (done, error or refused)
 * the turn is gone: forget it. Optional operations may be NULL.
 */
struct turn_ops {
	const char *name;	/* the log prefix: "chat", "wschat" */
	size_t *alive;		/* the front end's count of its turns alive */
	/*
	 * The begin request's type, whose reply is a struct st_begin_rep,
	 * and the results of that reply the turn goes on with: result_ok,
	 * the model answers; result_human, a person does. Any other result
	 * is a refusal of the front end's own (refused).
	 */
	uint16_t begin_type;
	uint8_t result_ok, result_human;
	/*
	 * Optional. The user message is on disk: show the turn (its status
	 * line, "start", "typing_start"); handoff is the conversation's state
	 * (enum st_handoff) as the begin found it. -1: the client cannot be
	 * answered; the front end let go of it and the turn goes on as if it
	 * left.
	 */
	int (*start)(void *fe, const char *conv_id, int handoff);
	/* Optional. Reply text the client has not seen yet (len > 0). */
	void (*token)(void *fe, const char *text, size_t len);
	/*
	 * Optional. 1 while the client's output is above CHAT_OUT_HIGH: the
	 * model waits until the front end calls turn_drained.
	 */
	int (*busy)(void *fe);
	/*
	 * Final: the reply, as stored (the stand-in for a blank one too),
	 * its message id ("" when nothing was stored: a person answers),
	 * the knowledge passages it cites (nsrc of them, by number) and the
	 * conversation's handoff state as start was told it.
	 */
	void (*done)(void *fe, const char *conv_id, const char *msg_id,
	    const char *content, const struct turn_source *src, size_t nsrc,
	    int handoff);
	/* Final: no reply. shown: start was called. */
	void (*error)(void *fe, enum turn_at, enum turn_cause, int shown);
	/* Final: begin's refusal (its code > 0 and retry_ms). */
	void (*refused)(void *fe, int code, uint64_t retry_ms);
	/*
	 * Optional final: begin said result_human: the message is on disk
	 * and a person answers, so no model and nothing more is stored.
	 * NULL: as done with an empty reply.
	 */
	void (*human)(void *fe, const char *conv_id);
	/*
	 * Optional: a tool the model called is running, or has ended (state
	 * "running", "done", "failed"): the client may say so ("looking
	 * up..."). id: the model's call id ("" if it gave none).
	 */
	void (*tool)(void *fe, const char *name, const char *id,
	    const char *state);
	/*
	 * Optional: the verified visitor's own fields into v (NULL for a
	 * field not known): 0; -1 when the visitor is not verified (the
	 * actions that require one are refused).
	 */
	int (*visitor)(void *fe, struct tpl_visitor *v);
	/*
	 * Optional: 1 when the conversation may be handed to a person (the
	 * widget's handoff): the agent's handoff_tool is offered then.
	 */
	int (*can_hand_over)(void *fe);
	/*
	 * Optional: a call that changes data shown to the visitor to confirm
	 * (id the call's, the action's name, what it will do in words): 0
	 * asked (the answer comes through turn_confirm), -1 not. NULL: such
	 * calls are refused.
	 */
	int (*confirm)(void *fe, const char *id, const char *name,
	    const char *summary);
	/*
	 * Optional: the page's own tools (tools_page_check's text), or
	 * NULL; and a call of one handed to the page (id the call's, the
	 * tool's name, its arguments as JSON text): 0 sent (the answer comes
	 * through turn_page_answer), -1 not.
	 */
	const char *(*page_tools)(void *fe);
	int (*page_call)(void *fe, const char *id, const char *name,
	    const char *args);
	/*
	 * Optional: 1 when the visitor can be shown a contact form they have
	 * not filled yet (the agent's contact_form_tool is offered then); and
	 * the form shown for call id (the tool's name, the model's reason,
	 * maybe ""): 0 shown (its end comes through turn_contact_saved or
	 * turn_confirm's no), -1 not.
	 */
	int (*has_contact_form)(void *fe);
	int (*contact_form)(void *fe, const char *id, const char *name,
	    const char *reason);
	/*
	 * Optional: begin's reply (result_ok or result_human) said the
	 * visitor's session is not a verified one (ok.verified 0): the
	 * front end forgets a verification of its own before the turn's
	 * actions read visitor.
	 */
	void (*unverified)(void *fe);
	/*
	 * Optional: how far the client's output got, in the front end's
	 * own count of bytes: queued, all it was given so far; out, what
	 * of it went to the socket (the rest waits in the front end's
	 * buffer, which a client leaving throws away). With it, a client
	 * that leaves gets stored the reply it was sent: the tokens whose
	 * bytes had all gone out, never one still in that buffer or not
	 * handed to it (the question not yet on disk).
	 */
	void (*out_pos)(void *fe, uint64_t *queued, uint64_t *out);
};

/*
 * Starts a turn: sends the begin request (req: the struct of
 * ops->begin_type's request, stmsgs.h) early-answered. Returns the turn,
 * or NULL when it did not start (no operation is called): the front end
 * answers as for TURN_AT_BEGIN with *why.
 */
struct turn *turn_start(const struct turn_ops *, void *fe, const void *req,
    enum turn_cause *why);
/*
 * The visitor's answer to the confirmation of call id (yes 1: run it),
 * or their skip of its contact form (yes 0): 0, or -1 when the turn has
 * no call of that id waiting for one.
 */
int turn_confirm(struct turn *, const char *id, int yes);
/*
 * The visitor's contact details were saved: a call waiting on the
 * contact form ends. 0, or -1 when the turn has none waiting.
 */
int turn_contact_saved(struct turn *);
/*
 * The page's answer to its tool's call id (failed 1: its error): 0, or
 * -1 when the turn has no page call of that id waiting.
 */
int turn_page_answer(struct turn *, const char *id, const char *text,
    int failed);
/*
 * The id of the user message the turn stored: "" until begin has
 * answered (and for a begin that does not tell it: ST_CHAT_BEGIN's).
 */
const char *turn_msg_id(const struct turn *);
/*
 * The id of the reply the turn stored, whatever its status: "" until it
 * is stored (the front end's done or error knows it then).
 */
const char *turn_reply_id(const struct turn *);
/*
 * The status its reply was stored with: "complete", or "interrupted"
 * (stopped: a person took over, the worker quit), as the front end's done
 * is told it; NULL before the turn's end is known.
 */
const char *turn_reply_status(const struct turn *);
/* The client left: nothing more is shown; the turn stores and ends. */
void turn_cancel(struct turn *);
/*
 * A person took the conversation over: the model stops (or is never
 * called), what it said is stored as "interrupted", and the client hears
 * done with that text once it is stored (as for any reply). A reply
 * already complete is stored as it is. The turns call it themselves on
 * storaged's handoff event for their conversation (ST_EV_HANDOFF, human).
 */
void turn_stop(struct turn *);
/*
 * A quitting worker's grace is over: every turn stopped as turn_stop
 * does (its text so far stored "interrupted", its client told done).
 */
void turn_stop_all(void);
/* The client's output drained: a waiting model goes on. */
void turn_drained(struct turn *);
/*
 * Names to storaged the turns this worker still answers (ST_TURNS_HELD),
 * on each new connection: a storaged that saw an older one close keeps
 * them open rather than ending them as a lost worker's (storaged's
 * lostturns.h), and one started since learns them.
 */
void turn_held_tell(void);
/*
 * How long a front end may hold what it shows first ("start") for the
 * model's first text to go with it: TURN_HOLD_MS while that text has
 * lately come within it of the request, else 0 (shown at once: a
 * person perceives no 50 ms, but a slow model's wait they would).
 * Called once a turn, as its start is shown: a hold is counted in
 * /metrics (parley_turn_starts_held_total).
 */
#define TURN_HOLD_MS	50
uint64_t turn_start_hold_ms(void);

/* The model client the turns use (upstream.h); tests swap it. */
struct turn_upstream_ops {
	struct upstream *(*start)(const struct upstream_req *,
	    const struct upstream_cbs *, void *);
	void (*resume)(struct upstream *);
	void (*cancel)(struct upstream *);
};
/* NULL: the real one (upstream.c). */
void turn_set_upstream(const struct turn_upstream_ops *);

#endif
