/*
 * One chat turn, whatever the client speaks: the HTTP endpoints (chat.c:
 * a JSON answer or an NDJSON stream) and the widget's WebSocket (wschat.c)
 * each drive the same turn through a small table of operations.
 *
 * A turn's life: the front end builds its begin request (it counts the
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
 * "interrupted" before it frees itself. Every turn that stored a user
 * message ends with exactly one stored assistant message.
 *
 * Who answers is the begin reply's to say: the model, as the effective
 * agent the reply carries says (struct st_agent: the widget's agent
 * with the widget's own model and prompt merged in; storaged's merge),
 * or, when the conversation is in the owner's hands (the begin op says
 * TURN_HUMAN), nobody: the user message is stored and the turn ends
 * with ops->human, the model never called and nothing more stored.
 */
#ifndef PARLEY_TURN_H
#define PARLEY_TURN_H

#include <stddef.h>
#include <stdint.h>

struct pdec;
struct penc;
struct turn;
struct upstream;
struct upstream_req;
struct upstream_cbs;

/* Where a turn that ends without its reply stopped. */
enum turn_at {
	TURN_AT_BEGIN,	/* the begin request failed: nothing was stored */
	TURN_AT_COMMIT,	/* the user message's commit failed: nothing stored */
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
};

/*
 * Who answers the turn is the begin reply's agent record, as
 * proto/agentmsg.h's struct st_agent (the effective agent: the widget's
 * own model and prompt merged in by storaged, key included): "" or NULL
 * is the deployment's setting; api_key "" with a
 * base_url of its own sends no key. turn.c wipes the key when it frees it.
 */
struct st_agent;

/*
 * A front end: how its begin reply reads and how it shows the turn. fe
 * is the front end's own pointer (turn_start's); the turn calls nothing
 * with it after turn_cancel. After a final operation (done, error or
 * refused) the turn is gone: forget it. Optional operations may be NULL.
 */
struct turn_ops {
	const char *name;	/* the log prefix: "chat", "wschat" */
	size_t *alive;		/* the front end's count of its turns alive */
	/*
	 * Reads the begin reply up to "u8 created, conv, msg, history": the
	 * front end's head, then the agent record into *agent (pdec_agent;
	 * it comes st_agent_defaults'd and turn.c frees it).
	 * 0 when the model answers; TURN_HUMAN when a person does
	 * (storaged's HUMAN result: the same layout, the agent read too);
	 * > 0, a refusal of the front end's own (with *retry_ms); -1
	 * malformed.
	 */
	int (*begin)(struct pdec *, struct st_agent *agent,
	    uint64_t *retry_ms);
	/*
	 * Optional. The user message is on disk: show the turn (its status
	 * line, "start", "typing_start"). -1: the client cannot be answered;
	 * the front end let go of it and the turn goes on as if it left.
	 */
	int (*start)(void *fe, const char *conv_id);
	/* Optional. Reply text the client has not seen yet (len > 0). */
	void (*token)(void *fe, const char *text, size_t len);
	/*
	 * Optional. 1 while the client's output is above CHAT_OUT_HIGH: the
	 * model waits until the front end calls turn_drained.
	 */
	int (*busy)(void *fe);
	/* Final: the reply, as stored (the stand-in for a blank one too). */
	void (*done)(void *fe, const char *conv_id, const char *content);
	/* Final: no reply. shown: start was called. */
	void (*error)(void *fe, enum turn_at, enum turn_cause, int shown);
	/* Final: begin's refusal (its code > 0 and retry_ms). */
	void (*refused)(void *fe, int code, uint64_t retry_ms);
	/*
	 * Optional final: begin said TURN_HUMAN: the message is on disk and a
	 * person answers, so no model and nothing more is stored. NULL: as
	 * done with an empty reply.
	 */
	void (*human)(void *fe, const char *conv_id);
};

/*
 * What begin returns when the conversation is in handoff state human
 * (ST_CHAT_HUMAN, ST_WS_HUMAN): the rest of the reply reads as OK's.
 */
#define TURN_HUMAN	(-2)

/*
 * Starts a turn: sends the begin request (type with the payload in e,
 * which it frees) early-answered. Returns the turn, or NULL when it did
 * not start (no operation is called): the front end answers as for
 * TURN_AT_BEGIN with *why.
 */
struct turn *turn_start(const struct turn_ops *, void *fe, uint16_t type,
    struct penc *e, enum turn_cause *why);
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
/* The client's output drained: a waiting model goes on. */
void turn_drained(struct turn *);
/*
 * Appends what the begin request of every front end carries for the
 * rate limit and the history: str rate_key, u32 window_ms, u32 max,
 * u32 max_history (the product settings).
 */
void turn_enc_limits(struct penc *, const char *rate_key);

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
