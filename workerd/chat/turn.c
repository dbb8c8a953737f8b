/*
 * One chat turn for every front end (turn.h): the begin round trip and
 * its early answer, the model call, streaming with backpressure, the
 * reply stored with its status and usage, the client leaving, and every
 * error. The front ends (chat.c, wschat.c) only say how the turn looks
 * in their protocol, through struct turn_ops. The agent of the begin
 * reply becomes the model request here (model_req), and a conversation
 * a person answers ends its turn here too (turn_human).
 */
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "chat.h"
#include "embed.h"
#include "exportrows.h"
#include "log.h"
#include "stmsgs.h"
#include "tools.h"
#include "turn.h"
#include "turnfiles.h"
#include "upstream.h"
#include "workerd.h"

#define ERROR_TEXT_MAX	2000	/* bytes of a model error kept in a failed turn */

enum turn_phase {
	TURN_BEGIN,	/* the begin request in flight */
	TURN_RETRIEVE,	/* the agent's knowledge sources searched */
	TURN_MODEL,	/* the model is answering */
	TURN_FINISH,	/* the outcome is known; the store is about to start */
	TURN_STORE,	/* the reply is being stored */
	TURN_PERSON,	/* a person answers: waits for the commit, then ends */
};

/* How a turn ended, as stored with its reply. */
struct turn_outcome {
	const char *status;	/* complete, interrupted, failed */
	char *error;		/* failed: the text stored (malloc'd) */
	uint32_t prompt_tokens, completion_tokens;
	enum turn_cause cause;	/* failed: why, for the client */
};

/* A token given to the front end: where its bytes end, the reply's length. */
struct turn_mark {
	uint64_t at;
	size_t len;
};

struct turn {
	TAILQ_ENTRY(turn) entry;	/* in live */
	const struct turn_ops *ops;
	void *fe;			/* the front end's; NULL once the client left */
	enum turn_phase phase;
	struct storec_req *sreq;	/* the begin request, then the store */
	struct upstream *up;
	struct loop_defer defer;	/* model finished/capped/abandoned */
	int unconfirmed;		/* begin answered, not yet on disk */
	int unverified;			/* the begin found the identity lapsed */
	int shown;			/* ops->start was called */
	int capped;			/* reached ST_CONTENT_MAX: stop the model */
	int paused;			/* the model waits for the client to drain */
	int stopped;			/* turn_stop: no model; interrupted */
	char conv_id[ST_ID_HEX + 1];
	char msg_id[ST_ID_HEX + 1];	/* the user message's ("": not told) */
	char reply_id[ST_ID_HEX + 1];	/* the reply's, once stored */
	uint8_t handoff;		/* the conversation's, at the begin */
	struct buf reply;		/* the text so far (valid UTF-8) */
	const char *content;		/* the text stored: turn_content's, once */
	size_t streamed;		/* bytes of it sent as token events */
	/*
	 * Where its text ends without its trailing white space, for the
	 * bytes looked at so far (chat_visible_end): tokens go up to it.
	 */
	size_t visible, scanned;
	/*
	 * With ops->out_pos: the bytes of it gone out to the socket, and
	 * the tokens not yet out (oldest first); marks_lost, one could not
	 * be kept (out of memory): what was streamed is stored.
	 */
	size_t sent;
	struct turn_mark *marks;
	size_t nmarks, capmarks;
	int marks_lost;
	size_t round_at;		/* where this round's text starts */
	int new_round;			/* the next text begins a round */
	struct turn_outcome out;
	/* The agent's knowledge: the begin reply held while it is searched. */
	struct st_begin_rep *held;
	struct upstream *rup;		/* the follow-up's rewrite, asked */
	struct buf rewritten;		/* its text so far */
	char *kquery;			/* what is searched, when not the question */
	struct embed_job *ejob;		/* the question's embedding, asked */
	/* The agent's own embedding model's conf, and its space's id. */
	struct embed_conf econf;
	char kspace[ST_KB_SPACE_HEX + 1];
	struct embed_job *rjob;		/* the passages' reranking, asked */
	struct storec_req *kreq;
	struct st_kb_hits kb;		/* the passages the prompt holds */
	int searched;			/* storaged answered the search */
	/* The conversation's files, named to the model; its images read. */
	struct turn_files *files;
	int files_read;
	/*
	 * The begin reply of a first model request that held images, kept
	 * until that request is answered: asked once more without them when
	 * the model's server refuses it (turn_without_images).
	 */
	struct st_begin_rep *imaged;
	/* The agent's actions: asked of storaged, then the turn's tools. */
	struct storec_req *treq;
	struct st_actions acts;
	struct turn_tools *tools;
	/* The model asked for calls before the question was on disk. */
	int tools_waiting;
	/*
	 * Where a turn's time goes, logged at debug level as it ends (µs,
	 * monotonic): the begin sent, its (early) answer, the model asked,
	 * its first text, the first token handed to the client.
	 */
	uint64_t at_begin, at_answer, at_model, at_first, at_token;
};

static const struct turn_upstream_ops real_ups = {
	upstream_start, upstream_resume, upstream_cancel,
};
static const struct turn_upstream_ops *ups = &real_ups;

static void turn_deferred(void *);
static void turn_tools_run(struct turn *);
static void turn_answer(struct turn *, struct st_begin_rep *);
static void turn_retrieve(struct turn *, struct st_begin_rep *);
static void turn_fetch_tools(struct turn *, struct st_begin_rep *);
static void turn_prepare(struct turn *, struct st_begin_rep *);
static int is_set(const char *);
static void turn_store(struct turn *);
static void turn_event(uint16_t, const uint8_t *, size_t);
static void turn_go_on(struct turn *);

/* Every turn alive here, of every front end: a takeover stops its own. */
static TAILQ_HEAD(, turn) live = TAILQ_HEAD_INITIALIZER(live);
static size_t nlive;
/*
 * The model's time from the request to its first text, averaged over
 * the last turns (µs; an average of 1/8 weight per turn).
 */
static uint64_t model_first_us;

/*
 * A turn's writes may share storaged's disk flush with other turns'
 * (PROTO_F_SHARE: their confirmation may wait about a millisecond for
 * it) while SHARE_TURNS turns are alive here: others' writes are then
 * likely to come within that wait, and one flush serves them all. The
 * reply's append then always; the begin only when the model's first
 * text takes SHARE_MODEL_US or more, well past the flush (the first
 * token waits for the begin's confirmation). When it takes
 * SHARE_LONG_MODEL_US or more, both may wait up to PROTO_SHARE_LONG_US
 * (PROTO_F_SHARE_LONG): a quarter of the model's wait at most before
 * the first token, a little at the end of a turn that long; slow turns
 * write seldom, and a longer wait gathers more of them into one flush
 * (fewer flushes, and fewer wakeups of storaged and of this worker).
 */
#define SHARE_TURNS	8
/* Four times the wait each flag allows (proto.h): a quarter of the model's. */
#define SHARE_MODEL_US	(4 * PROTO_SHARE_US)
#define SHARE_LONG_MODEL_US	(4 * PROTO_SHARE_LONG_US)
/*
 * A worker that had SHARE_TURNS alive this recently still flags: turns
 * that end together (one shared flush confirms them all) begin again
 * together a moment later, when few are alive yet, and each such begin
 * not flagged flushed at once what the others had waiting (at c=32 and
 * a 20 ms model, one write in twenty).
 */
#define SHARE_RECENT_US	50000
/* Until when (µs, monotonic) this worker counts as busy: SHARE_RECENT_US. */
static uint64_t busy_until;

void
turn_set_upstream(const struct turn_upstream_ops *ops)
{
	ups = ops != NULL ? ops : &real_ups;
}

/* ------------------------------------------------------------ agent */

/*
 * Frees the begin reply (of the begin type), its agent's key wiped first.
 * rep is not used again (out of scope, or freed): not zeroed.
 */
static void
begin_rep_free(uint16_t type, struct st_begin_rep *rep)
{
	char *key = rep->ok.agent.api_key;

	if (key != NULL)
		explicit_bzero(key, strlen(key));
	st_rep_release(type, rep);
}

/* The first request's begin reply, kept for its retry, let go. */
static void
images_forget(struct turn *t)
{
	if (t->imaged == NULL)
		return;
	begin_rep_free(t->ops->begin_type, t->imaged);
	free(t->imaged);
	t->imaged = NULL;
}

/* ------------------------------------------------------------- life */

static void
model_stop(struct turn *t)
{
	if (t->up != NULL)
		ups->cancel(t->up);
	t->up = NULL;
}

/*
 * Where the turn's time went (at debug level: the bench's per-step view,
 * tests/bench/turn-steps.mjs), and when it began (µs, monotonic: the
 * clock the client's and storaged's moments are on).
 */
static void
turn_log_times(const struct turn *t)
{
	if (!log_wants(LOG_LEVEL_DEBUG) || t->at_answer == 0 ||
	    t->at_model == 0 || t->at_first == 0 || t->at_token == 0)
		return;
	log_debug("%s: turn times (us): begin->answer %llu, answer->model "
	    "%llu, model->first text %llu, first text->token %llu, begun at "
	    "%llu", t->ops->name,
	    (unsigned long long)(t->at_answer - t->at_begin),
	    (unsigned long long)(t->at_model - t->at_answer),
	    (unsigned long long)(t->at_first - t->at_model),
	    (unsigned long long)(t->at_token - t->at_first),
	    (unsigned long long)t->at_begin);
}

static void
turn_free(struct turn *t)
{
	turn_log_times(t);
	if (t->sreq != NULL)
		storec_cancel(t->sreq);
	storec_cancel(t->kreq);
	storec_cancel(t->treq);
	tools_free(t->tools);
	turn_files_free(t->files);
	st_rep_free(PROTO_ST_ACTION_TOOLS, &t->acts);
	embed_cancel(t->ejob);
	embed_cancel(t->rjob);
	if (t->rup != NULL)
		ups->cancel(t->rup);
	buf_free(&t->rewritten);
	free(t->kquery);
	if (t->held != NULL) {
		begin_rep_free(t->ops->begin_type, t->held);
		free(t->held);
	}
	images_forget(t);
	st_rep_free(PROTO_ST_KB_RETRIEVE, &t->kb);
	model_stop(t);
	loop_defer_cancel(&t->defer);
	buf_free(&t->reply);
	free(t->marks);
	free(t->out.error);
	TAILQ_REMOVE(&live, t, entry);
	nlive--;
	(*t->ops->alive)--;
	free(t);
	worker_turn_finished();
}

/* The outcome is known: store it once the question is on disk. */
static void
turn_finish(struct turn *t, const char *status)
{
	t->out.status = status;
	t->phase = TURN_FINISH;
	/* Not from inside the model client's or storaged's callback. */
	loop_defer(&t->defer);
}

/* Ends as failed here (the user message is stored): text is stored. */
static void
turn_broken(struct turn *t, const char *text)
{
	t->out.cause = TURN_C_INTERNAL;
	t->out.error = strdup(text);
	turn_finish(t, "failed");
}

/* Ends before anything was stored: the client hears why. */
static void
turn_fail(struct turn *t, enum turn_at at, enum turn_cause why)
{
	if (t->fe != NULL)
		t->ops->error(t->fe, at, why, t->shown);
	turn_free(t);
}

/* What a storaged failure means for the client; storaged errors logged. */
static enum turn_cause
turn_storage_cause(const struct turn *t, const struct storec_result *r,
    const char *what)
{
	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		log_debug("%s: %s: storaged: %s", t->ops->name, what,
		    r->message);
		return TURN_C_INVALID;
	}
	if (r->status == STOREC_ERROR && r->code != PROTO_E_UNAVAILABLE) {
		log_warnx("%s: %s: storaged: %s: %s", t->ops->name, what,
		    proto_err_name(r->code), r->message);
		return TURN_C_STORAGE;
	}
	return TURN_C_UNAVAILABLE;
}

/*
 * A follow-up's rewrite still asked of the model ends with the turn's
 * client (or a person taking over): its held reply goes on, to an
 * interrupted end (turn_go_on). 1 when there was one. A rewrite has no
 * deadline but its idle timer, which a model's keep-alive comments reset.
 */
static int
rewrite_abandon(struct turn *t)
{
	if (t->rup == NULL)
		return 0;
	ups->cancel(t->rup);
	t->rup = NULL;
	buf_free(&t->rewritten);
	turn_go_on(t);
	return 1;
}

const char *
turn_msg_id(const struct turn *t)
{
	return t->msg_id;
}

const char *
turn_reply_id(const struct turn *t)
{
	return t->reply_id;
}

const char *
turn_reply_status(const struct turn *t)
{
	return t->out.status;
}

/* The marks whose bytes are out (up to out): t->sent moves on. */
static void
marks_out(struct turn *t, uint64_t out)
{
	size_t i = 0;

	while (i < t->nmarks && t->marks[i].at <= out)
		t->sent = t->marks[i++].len;
	if (i == 0)
		return;
	t->nmarks -= i;
	memmove(t->marks, t->marks + i, t->nmarks * sizeof(*t->marks));
}

/*
 * A token just given to the front end (ops->out_pos): its end kept
 * until its bytes are out. At most what the client's output holds
 * (CHAT_OUT_HIGH pauses the model) is waiting.
 */
static void
mark_token(struct turn *t)
{
	uint64_t queued, out;
	struct turn_mark *m;
	size_t cap;

	if (t->ops->out_pos == NULL || t->marks_lost)
		return;
	t->ops->out_pos(t->fe, &queued, &out);
	marks_out(t, out);
	if (queued <= out) {
		t->sent = t->streamed;
		return;
	}
	if (t->nmarks == t->capmarks) {
		cap = t->capmarks != 0 ? 2 * t->capmarks : 16;
		if ((m = reallocarray(t->marks, cap, sizeof(*m))) == NULL) {
			t->marks_lost = 1;
			return;
		}
		t->marks = m;
		t->capmarks = cap;
	}
	t->marks[t->nmarks].at = queued;
	t->marks[t->nmarks++].len = t->streamed;
}

/*
 * The client left (its output about to be thrown away): the reply is
 * cut to what had gone out to it, so that what is stored is what it
 * was sent; before the turn was shown, that is nothing.
 */
static void
reply_cut_unsent(struct turn *t)
{
	uint64_t queued, out;

	if (t->ops->out_pos == NULL)
		return;		/* nothing is sent before the end (/v1/chat) */
	if (t->marks_lost)
		t->sent = t->streamed;	/* what it was given, at least */
	else if (t->shown) {
		t->ops->out_pos(t->fe, &queued, &out);
		marks_out(t, out);
	}
	if (t->sent < t->reply.len) {
		log_debug("%s: client left; %zu bytes of the reply were not "
		    "sent it", t->ops->name, t->reply.len - t->sent);
		t->reply.len = t->sent;
	}
}

/*
 * The client left. Before the store began (the model still answering,
 * or done, its outcome waiting for the question to be on disk or for
 * turn_deferred), the reply is cut to what the client was sent and, not
 * failed, stored as interrupted: it never got the end. During the store,
 * the store finishes as it would have.
 */
void
turn_cancel(struct turn *t)
{
	if ((t->phase == TURN_MODEL || t->phase == TURN_FINISH) &&
	    t->fe != NULL)
		reply_cut_unsent(t);
	t->fe = NULL;
	if (rewrite_abandon(t))
		return;
	if (t->phase == TURN_FINISH && strcmp(t->out.status, "failed") != 0)
		t->out.status = "interrupted";
	if (t->phase != TURN_MODEL)
		return;	/* begin_done or the store finishes */
	model_stop(t);
	log_debug("%s: client left; storing %zu bytes of the reply",
	    t->ops->name, buf_pending(&t->reply));
	turn_finish(t, "interrupted");
}

void
turn_stop(struct turn *t)
{
	t->stopped = 1;
	if (rewrite_abandon(t))
		return;
	if (t->phase != TURN_MODEL)
		return;	/* begin_ok sees stopped; a finished reply stands */
	model_stop(t);
	log_debug("%s: stopped; storing %zu bytes of the reply",
	    t->ops->name, buf_pending(&t->reply));
	turn_finish(t, "interrupted");
}

void
turn_stop_all(void)
{
	struct turn *t, *next;

	for (t = TAILQ_FIRST(&live); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		turn_stop(t);
	}
}

/*
 * storaged's events: a person took over a conversation (ST_EV_HANDOFF,
 * human), so the replies in flight on it here stop (turn_stop), whichever
 * front end shows them. Nothing to do without a turn alive.
 */
static void
turn_event(uint16_t type, const uint8_t *payload, size_t len)
{
	struct turn *t, *next;
	struct st_event ev;

	if (type != PROTO_ST_EV || TAILQ_EMPTY(&live))
		return;
	/* Every worker hears every event, mostly messages: handoffs only. */
	if (pdec_event_kind(payload, len) != ST_EV_HANDOFF)
		return;
	memset(&ev, 0, sizeof(ev));
	if (st_req_decode(PROTO_ST_EV, payload, len, &ev) < 0)
		return;		/* the front ends log a malformed event */
	if (ev.kind == ST_EV_HANDOFF && ev.state == ST_HANDOFF_HUMAN)
		for (t = TAILQ_FIRST(&live); t != NULL; t = next) {
			next = TAILQ_NEXT(t, entry);
			if (strcmp(t->conv_id, ev.conv.id) == 0)
				turn_stop(t);
		}
	st_req_free(PROTO_ST_EV, &ev);
}

/* ----------------------------------------------------------- showing */

/* The user message is on disk: the client may see the turn. */
static void
turn_show(struct turn *t)
{
	if (t->fe == NULL || t->ops->start == NULL ||
	    t->out.cause == TURN_C_INTERNAL)
		return;	/* an internal failure is answered as a whole */
	if (t->ops->start(t->fe, t->conv_id, t->handoff) < 0)
		turn_cancel(t);
	else
		t->shown = 1;
}

/* Sends the reply's text not yet sent as one token event, when it may. */
static void
turn_send_tokens(struct turn *t)
{
	if (t->fe == NULL || t->unconfirmed || t->reply.len == t->streamed ||
	    t->ops->token == NULL)
		return;
	/*
	 * White space waits for the next visible character: the reply is
	 * trimmed as the reference trims it (leading white space is never
	 * in it: up_delta), and the tokens must still add up to what
	 * "done" says, a blank reply's stand-in too.
	 */
	t->visible = chat_visible_end(t->reply.data, t->reply.len, t->scanned,
	    t->visible);
	t->scanned = t->reply.len;
	if (t->visible <= t->streamed)
		return;
	if (t->streamed == 0)
		t->at_token = proto_mono_us();
	t->ops->token(t->fe, t->reply.data + t->streamed,
	    t->visible - t->streamed);
	t->streamed = t->visible;
	mark_token(t);
}

/* Tests that drive the model by hand hold nothing (test_chat.c: 0). */
static uint64_t hold_ms = TURN_HOLD_MS;
void turn_set_hold_ms(uint64_t ms);

void
turn_set_hold_ms(uint64_t ms)
{
	hold_ms = ms;
}

uint64_t
turn_start_hold_ms(void)
{
	if (model_first_us == 0 || model_first_us >= hold_ms * 1000)
		return 0;
	metrics_turn_start_held();
	return hold_ms;
}

void
turn_drained(struct turn *t)
{
	if (t != NULL && t->paused && t->phase == TURN_MODEL &&
	    t->up != NULL && !t->capped) {
		t->paused = 0;
		ups->resume(t->up);
	}
}

/* ------------------------------------------------------------ model */

static int
up_can_write(void *arg)
{
	struct turn *t = arg;

	if (t->fe == NULL || t->capped || t->phase != TURN_MODEL)
		return 0;
	if (t->ops->busy == NULL || !t->ops->busy(t->fe))
		return 1;
	/* The client is slow: pause the model until it catches up. */
	t->paused = 1;
	return 0;
}

/*
 * text appended to the reply, at most what storaged keeps; past it the
 * model is stopped. 0, or -1 when capped.
 */
static int
reply_add(struct turn *t, const char *text, size_t len)
{
	size_t used;

	used = chat_utf8_append(&t->reply, text, len,
	    ST_CONTENT_MAX - buf_pending(&t->reply));
	if (used == len)
		return 0;
	/* storaged keeps 64 KiB of a message: stop the model here. */
	log_warnx("%s: reply reached %u bytes; stopping the model",
	    t->ops->name, ST_CONTENT_MAX);
	t->capped = 1;
	loop_defer(&t->defer);
	return -1;
}

/*
 * A round after tool calls begins its text: after earlier text, a blank
 * line keeps the two apart (sent as a token too: what is shown is what
 * is stored). Its own text starts after it (round_at).
 */
static void
round_begin(struct turn *t)
{
	t->new_round = 0;
	if (!chat_blank(t->reply.data, t->reply.len))
		(void)reply_add(t, "\n\n", 2);
	t->round_at = t->reply.len;
}

static void
up_delta(void *arg, const char *text, size_t len)
{
	struct turn *t = arg;
	size_t k;

	if (t->phase != TURN_MODEL || t->capped || len == 0)
		return;
	if (t->at_first == 0) {
		t->at_first = proto_mono_us();
		/* The first sample seeds the average: 0 is "none yet". */
		if (t->at_model != 0 && model_first_us == 0)
			model_first_us = t->at_first - t->at_model + 1;
		else if (t->at_model != 0)
			model_first_us = (7 * model_first_us + (t->at_first -
			    t->at_model)) / 8;
	}
	/* The reply starts at its first visible character (trimmed). */
	while (t->reply.len == 0 && len > 0 &&
	    (k = proto_js_space_len((const unsigned char *)text, len)) > 0) {
		text += k;
		len -= k;
	}
	if (len == 0)
		return;
	if (t->new_round)
		round_begin(t);
	if (!t->capped)
		(void)reply_add(t, text, len);
	turn_send_tokens(t);
}

/* A failed model call as the text stored for the turn (malloc'd; logged). */
static char *
model_error(const char *who, const struct upstream_result *r)
{
	char text[ERROR_TEXT_MAX + 1];
	struct buf b;
	char *s;

	/* The status once: not again in words of the client's own. */
	if (r->status == UPSTREAM_HTTP_ERROR && r->error != NULL &&
	    r->error[0] != '\0' && !r->error_ours)
		snprintf(text, sizeof(text), "model answered HTTP %d: %s",
		    r->http_status, r->error);
	else if (r->status == UPSTREAM_HTTP_ERROR)
		snprintf(text, sizeof(text), "model answered HTTP %d",
		    r->http_status);
	else if (r->error != NULL && r->error[0] != '\0')
		snprintf(text, sizeof(text), "%s", r->error);
	else if (r->status == UPSTREAM_TIMEOUT)
		snprintf(text, sizeof(text), "model timed out");
	else
		snprintf(text, sizeof(text), "model stream broken");
	/* Stored as the failed turn's content: valid UTF-8 only. */
	buf_init(&b);
	chat_utf8_append(&b, text, strlen(text), ERROR_TEXT_MAX);
	buf_add(&b, "", 1);
	s = b.err ? NULL : strdup(b.data);
	buf_free(&b);
	log_warnx("%s: model call failed: %s", who, s != NULL ? s : text);
	return s;
}

/* ------------------------------------------------------------ tools */

static void
up_tools(void *arg, const json_t *tool_calls)
{
	struct turn *t = arg;

	if (t->phase == TURN_MODEL && t->tools != NULL)
		tools_delta(t->tools, tool_calls);
}

static void up_done(void *, const struct upstream_result *);

static const struct upstream_cbs model_cbs = {
	up_can_write, up_delta, up_done, up_tools,
};

/* A call's step, for the client ("looking up..."). */
static void
tool_step(void *arg, const char *name, const char *id, enum tool_state st)
{
	struct turn *t = arg;

	if (t->fe != NULL && t->ops->tool != NULL && t->phase == TURN_MODEL)
		t->ops->tool(t->fe, name, id, st == TOOL_RUNNING ? "running" :
		    st == TOOL_DONE ? "done" : "failed");
}

/* The round's calls have ended: the model asked again with their answers. */
static void
tool_ran(void *arg)
{
	struct turn *t = arg;
	struct upstream_req req;

	if (t->phase != TURN_MODEL)
		return;		/* left or stopped meanwhile: stored already */
	t->new_round = 1;
	tools_request(t->tools, &req);
	if ((t->up = ups->start(&req, &model_cbs, t)) == NULL) {
		log_warnx("%s: the model request after the tools could not be "
		    "started", t->ops->name);
		t->out.cause = TURN_C_MODEL;
		t->out.error = strdup("the model request could not be started");
		turn_finish(t, "failed");
	}
}

/* A call that changes data, put to the visitor: 0 asked, -1 cannot. */
static int
tool_ask(void *arg, const char *id, const char *name, const char *summary)
{
	struct turn *t = arg;

	if (t->fe == NULL || t->ops->confirm == NULL || t->phase != TURN_MODEL)
		return -1;
	return t->ops->confirm(t->fe, id, name, summary);
}

int
turn_confirm(struct turn *t, const char *id, int yes)
{
	if (t == NULL || t->phase != TURN_MODEL || t->tools == NULL)
		return -1;
	return tools_confirm(t->tools, id, yes);
}

/* The contact form shown for a call: 0 shown, -1 cannot. */
static int
tool_form(void *arg, const char *id, const char *name, const char *reason)
{
	struct turn *t = arg;

	if (t->fe == NULL || t->ops->contact_form == NULL ||
	    t->phase != TURN_MODEL)
		return -1;
	return t->ops->contact_form(t->fe, id, name, reason);
}

int
turn_contact_saved(struct turn *t)
{
	if (t == NULL || t->phase != TURN_MODEL || t->tools == NULL)
		return -1;
	return tools_contact_saved(t->tools);
}

/* A page tool's call, handed to the visitor's browser: 0 sent, -1 not. */
static int
tool_page(void *arg, const char *id, const char *name, const char *args)
{
	struct turn *t = arg;

	if (t->fe == NULL || t->ops->page_call == NULL || t->phase != TURN_MODEL)
		return -1;
	return t->ops->page_call(t->fe, id, name, args);
}

int
turn_page_answer(struct turn *t, const char *id, const char *text,
    int failed)
{
	if (t == NULL || t->phase != TURN_MODEL || t->tools == NULL)
		return -1;
	return tools_page_answer(t->tools, id, text, failed);
}

/*
 * The model asked for calls: they run; or, past its last round, the turn
 * ends with its text; or it fails with why not.
 */
static void
turn_tools_run(struct turn *t)
{
	const char *why;
	char text[ERROR_TEXT_MAX + 1];
	int rc;

	struct tools_cbs cbs = { tool_step, tool_ran,
	    t->ops->confirm != NULL ? tool_ask : NULL,
	    t->ops->page_call != NULL ? tool_page : NULL,
	    t->ops->contact_form != NULL ? tool_form : NULL };

	/* The round's own text: what the model said before its calls. */
	rc = tools_run(t->tools, t->reply.len > t->round_at ? t->reply.data +
	    t->round_at : NULL, t->reply.len - t->round_at, &cbs, t, &why);
	if (rc == 0)
		return;
	/*
	 * Calls after its last round, which offered no tool: the answer is
	 * what it said, streamed and stored as a whole answer (the actions
	 * that ran stay on the record before it), not a failed turn.
	 */
	if (rc > 0) {
		log_warnx("%s: the model called tools after its last round, "
		    "which offered none: its calls ignored, its text so far "
		    "the answer", t->ops->name);
		turn_finish(t, "complete");
		return;
	}
	snprintf(text, sizeof(text), "the model's tool calls were refused: %s",
	    why);
	log_warnx("%s: %s", t->ops->name, text);
	t->out.cause = TURN_C_MODEL;
	t->out.error = strdup(text);
	turn_finish(t, "failed");
}

/*
 * The model's server refused the first request, which held images, before
 * any of its answer: HTTP 400 (OpenAI's invalid_image: bytes it cannot
 * decode, which the first bytes sniff.c reads and the container strip.c
 * walks do not show), 413 (too large) or 422 (a server that cannot
 * process them). The images of the last messages go with every turn of
 * the conversation, so each would fail until the image is 10 messages
 * back: the request is asked once more, as it was, with each image left
 * out and named to the model as not shown (turn_files_drop_images).
 * Nothing of the answer was shown (an HTTP error comes before the
 * stream), and a refusal of that one fails the turn as any other. 1 when
 * asked again.
 */
static int
turn_without_images(struct turn *t, const struct upstream_result *r)
{
	struct st_begin_rep *rep = t->imaged;
	const char *why = !r->error_ours && r->error != NULL ? r->error : "";
	size_t n;

	if (rep == NULL || r->status != UPSTREAM_HTTP_ERROR ||
	    (r->http_status != 400 && r->http_status != 413 &&
	    r->http_status != 422) || t->reply.len > 0)
		return 0;
	t->imaged = NULL;	/* once a turn */
	n = turn_files_drop_images(t->files);
	log_warnx("%s: the model refused a request with %zu image%s (HTTP "
	    "%d%s%s): asking again without them", t->ops->name, n,
	    n == 1 ? "" : "s", r->http_status, why[0] != '\0' ? ": " : "",
	    why);
	turn_answer(t, rep);
	begin_rep_free(t->ops->begin_type, rep);
	free(rep);
	return 1;
}

static void
up_done(void *arg, const struct upstream_result *r)
{
	struct turn *t = arg;

	t->up = NULL;
	if (t->phase != TURN_MODEL)
		return;
	/* Each round's tokens add up (held at the field's top). */
	proto_u32_add_held(&t->out.prompt_tokens, r->prompt_tokens);
	proto_u32_add_held(&t->out.completion_tokens, r->completion_tokens);
	if (turn_without_images(t, r))
		return;
	images_forget(t);	/* the first request is answered */
	if (r->status == UPSTREAM_OK && t->tools != NULL &&
	    tools_asked(t->tools)) {
		/* No call, and no step shown, for a question not on disk. */
		if (t->unconfirmed)
			t->tools_waiting = 1;
		else
			turn_tools_run(t);
		return;
	}
	if (r->status == UPSTREAM_OK) {
		turn_finish(t, "complete");
		return;
	}
	t->out.cause = r->status == UPSTREAM_TIMEOUT ? TURN_C_TIMEOUT :
	    TURN_C_MODEL;
	t->out.error = model_error(t->ops->name, r);
	turn_finish(t, "failed");
}

static void
turn_deferred(void *arg)
{
	struct turn *t = arg;

	if (t->phase == TURN_MODEL && t->capped) {
		model_stop(t);
		t->out.status = "complete";
		t->phase = TURN_FINISH;
	}
	/* A reply is stored only after the question it answers. */
	if (t->phase == TURN_FINISH && !t->unconfirmed)
		turn_store(t);
}

/*
 * What the system prompt says of the knowledge passages it holds, and
 * what an agent that answers only from them says when none was found.
 */
#define KNOWLEDGE_TEXT	"Use the numbered sources below when they answer " \
	"the visitor's question, and cite each one you use by its number in " \
	"square brackets, like [1]. Do not cite a source you did not use. If " \
	"the sources do not hold the answer, say that you do not know rather " \
	"than guess."
#define KNOWLEDGE_NONE_TEXT "I'm sorry, I don't know the answer to that " \
	"from what I have been given. Would you like to talk to a person?"
/* Passages a turn puts in the prompt at most. */
#define KNOWLEDGE_PASSAGES	5
/* Passages a turn asks the search for when a reranker orders them. */
#define RERANK_CANDIDATES	20
/*
 * An agent with rewrite_follow_ups: the system prompt of the request that
 * turns a follow-up into a question that stands alone, the messages of
 * the conversation it is shown at most, and the tokens of its answer.
 */
#define REWRITE_TEXT	"You turn the last message of a support chat into " \
	"a search query for the knowledge base that stands alone: replace " \
	"what it refers to (it, that, the other one) with what the " \
	"conversation says it is, keep its language, and add nothing it " \
	"does not ask. Answer with the query alone."
#define REWRITE_MESSAGES	6
#define REWRITE_TOKENS		100

/*
 * issue 26: the sentence an agent with answer_in_visitor_language adds to
 * the system prompt, with the visitor's language tag ("de-DE").
 */
#define VISITOR_LANG_TEXT	"Answer in the visitor's language (%s) unless " \
				"they write to you in another one."

static int
is_set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* n ASCII letters (digits: 0-9 instead) at s, then '\0' or '-'. */
static int
subtag_is(const char *s, size_t n, int digits)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (digits ? !(s[i] >= '0' && s[i] <= '9') :
		    !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return s[n] == '\0' || s[n] == '-';
}

/*
 * Whether s is a plain language tag, as browsers give it: a language of
 * 2-3 letters, then maybe a script (4 letters), then maybe a region (2
 * letters or 3 digits): "de", "de-DE", "zh-Hant-TW", "es-419". Anything
 * else the visitor sent ("be-rude-to-everyone") stays out of the system
 * prompt.
 */
static int
lang_tag_ok(const char *s)
{
	if (subtag_is(s, 2, 0))
		s += 2;
	else if (subtag_is(s, 3, 0))
		s += 3;
	else
		return 0;
	if (*s == '-' && subtag_is(s + 1, 4, 0))
		s += 5;
	if (*s == '-' && (subtag_is(s + 1, 2, 0) || subtag_is(s + 1, 3, 1)))
		s += s[3] == '\0' || s[3] == '-' ? 3 : 4;
	return *s == '\0';
}

/*
 * The model request for the history h[0..n) (oldest first, the new
 * message last) as the agent says, skipping empty messages (a reply cut
 * before its first word says nothing). The owner's messages (role agent)
 * are the assistant's side of the conversation to the model. What the
 * agent leaves unset is the deployment's: an agent's key goes with its
 * base URL or the deployment's; a base URL of its own without a key
 * sends none (never the deployment's key to another server). An agent
 * with answer_in_visitor_language gets VISITOR_LANG_TEXT of the
 * visitor's language (the conversation's, as the widget or the HTTP
 * request told it; none when unknown or not a plain tag: lang_tag_ok)
 * written into lang (langsz bytes, to live as long as req) after the
 * system prompt. 0, or -1 out of memory; free req->msgs after.
 */
static int
model_req(struct upstream_req *req, const struct st_line *h, uint32_t n,
    const struct turn_files *files, const struct st_agent *a,
    const char *visitor_lang, char *lang, size_t langsz)
{
	struct upstream_msg *msgs;
	uint32_t i, k = 0;

	memset(req, 0, sizeof(*req));
	if ((msgs = calloc(n ? n : 1, sizeof(*msgs))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		/* A message's files are named after its text (turnfiles.c). */
		msgs[k].content = turn_files_text(files, i, h[i].content);
		msgs[k].nimages = turn_files_images(files, i,
		    &msgs[k].images);
		if (msgs[k].content[0] == '\0' && msgs[k].nimages == 0)
			continue;
		msgs[k].role = strcmp(h[i].role, "agent") == 0 ?
		    "assistant" : h[i].role;
		k++;
	}
	req->msgs = msgs;
	req->nmsgs = k;
	if (is_set(a->model))
		req->model = a->model;
	if (is_set(a->system_prompt))
		req->system_prompt = a->system_prompt;
	/* The default agent (id "") is the deployment's: its setting. */
	if ((a->id[0] != '\0' ? a->answer_in_visitor_language :
	    wsettings.answer_in_visitor_language) && is_set(visitor_lang) &&
	    lang_tag_ok(visitor_lang)) {
		snprintf(lang, langsz, VISITOR_LANG_TEXT, visitor_lang);
		req->system_extra = lang;
	}
	if (is_set(a->base_url)) {
		req->base_url = a->base_url;
		/* An agent's own server: under the address policy. */
		req->org = a->org[0] != '\0' ? a->org : ST_WHO_ORG_DEFAULT;
		req->api_key = is_set(a->api_key) ? a->api_key : "";
	} else if (is_set(a->api_key))
		req->api_key = a->api_key;
	if (a->temperature_milli != ST_AGENT_UNSET) {
		req->has_temperature = 1;
		req->temperature_milli = a->temperature_milli;
	}
	req->max_tokens = a->max_tokens;
	return 0;
}

/*
 * The system prompt's knowledge: what to do with the passages, then each
 * one numbered ("[1] Title (url)", its text), after the language
 * sentence when there is one. NULL out of memory.
 */
static char *
knowledge_text(const char *lang, const struct st_kb_hits *kb)
{
	struct buf b;
	uint32_t i;

	buf_init(&b);
	if (lang != NULL)
		buf_addf(&b, "%s\n\n", lang);
	buf_adds(&b, KNOWLEDGE_TEXT);
	for (i = 0; i < kb->n; i++) {
		buf_adds(&b, "\n\n");
		turn_passage_add(&b, i + 1, &kb->hits[i]);
	}
	return buf_cstr(&b);
}

/* 1 when s (a line's start) reads as a passage's marker: "[" digits "]". */
static int
marker_at(const char *s)
{
	size_t n;

	if (s[0] != '[')
		return 0;
	n = strspn(s + 1, "0123456789");
	return n > 0 && s[1 + n] == ']';
}

/*
 * A passage's text, each line that starts like a marker ("[2] ...", a
 * page's footnote) written "\[2] ...": the model reads it as the text's,
 * never as a passage of its own, so cites no other passage's number
 * for it.
 */
static void
passage_text_add(struct buf *b, const char *text)
{
	const char *s = text, *nl;

	for (;;) {
		if (marker_at(s))
			buf_adds(b, "\\");
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		buf_add(b, s, (size_t)(nl - s) + 1);
		s = nl + 1;
	}
	buf_adds(b, s);
}

void
turn_passage_add(struct buf *b, uint32_t n, const struct st_kb_hit *h)
{
	buf_addf(b, "[%u] %s", n, h->title != NULL ? h->title : "");
	if (is_set(h->url))
		buf_addf(b, " (%s)", h->url);
	buf_adds(b, "\n");
	passage_text_add(b, h->text != NULL ? h->text : "");
}

/*
 * The agent's actions (asked of storaged) and its built-in tools (the
 * hand-over where the front end has a person, the knowledge search where
 * it has sources, the contact form where the visitor has one to fill) as
 * the model's tools: req
 * becomes the tools' copy with the tools offered (its messages the
 * tools', the caller's left to free). Without them (none, or out of
 * memory: logged), req is left as it is. A request asked again keeps the
 * tools its first one was offered, with its own history (tools_rebase).
 */
static void
turn_tools_offer(struct turn *t, const struct st_agent *a,
    struct upstream_req *req)
{
	struct tpl_visitor v = { NULL, NULL };
	struct tools_from from;

	if (t->tools != NULL) {
		/* Asked again (turn_without_images): its tools, this history. */
		if (tools_rebase(t->tools, req) == 0) {
			tools_request(t->tools, req);
			return;
		}
		log_warnx("%s: out of memory: the agent's actions not offered",
		    t->ops->name);
		tools_free(t->tools);
		t->tools = NULL;
		return;
	}
	memset(&from, 0, sizeof(from));
	from.org = a->org[0] != '\0' ? a->org : ST_WHO_ORG_DEFAULT;
	from.agent = a->id;
	from.conv_id = t->conv_id;
	from.msg_id = t->msg_id;
	from.handoff = a->handoff_tool && t->fe != NULL &&
	    t->ops->can_hand_over != NULL && t->ops->can_hand_over(t->fe);
	from.contact = a->contact_tool && t->fe != NULL &&
	    t->ops->has_contact_form != NULL &&
	    t->ops->has_contact_form(t->fe);
	if (t->fe != NULL && t->ops->page_tools != NULL)
		from.page = t->ops->page_tools(t->fe);
	if (a->search_tool && a->nknowledge_sources > 0) {
		from.sources = a->knowledge_sources;
		from.nsources = a->nknowledge_sources;
		from.kb = &t->kb;
	}
	if (t->acts.n == 0 && !from.handoff && !from.contact &&
	    from.page == NULL && from.kb == NULL)
		return;
	if (t->fe != NULL && t->ops->visitor != NULL &&
	    t->ops->visitor(t->fe, &v) == 0)
		from.v = &v;
	t->tools = tools_new(&t->acts, req, &from);
	if (t->tools == NULL) {
		log_warnx("%s: out of memory: the agent's actions not offered",
		    t->ops->name);
		return;
	}
	tools_request(t->tools, req);
}

/*
 * The answer to the begin reply's history, from its agent: the model,
 * given the passages its knowledge search found. The turn is shown first
 * when its question is on disk already (and not shown yet: a request
 * asked again). A first request that holds images takes rep (left
 * zeroed) until it is answered: turn_without_images asks it again from
 * rep.
 */
static void
turn_answer(struct turn *t, struct st_begin_rep *rep)
{
	const struct st_begin_ok *ok = &rep->ok;
	struct upstream_req req;
	struct upstream_msg *msgs;
	char lang[sizeof(VISITOR_LANG_TEXT) + ST_VISITOR_LANG_MAX];
	char *extra = NULL;
	size_t i, images = 0;

	if (model_req(&req, ok->history, ok->nhistory, t->files, &ok->agent,
	    ok->language, lang, sizeof(lang)) < 0) {
		turn_broken(t, "out of memory");
		return;
	}
	msgs = (struct upstream_msg *)req.msgs;
	if (t->kb.n > 0 && (req.system_extra = extra = knowledge_text(
	    req.system_extra, &t->kb)) == NULL) {
		free(msgs);
		turn_broken(t, "out of memory");
		return;
	}
	turn_tools_offer(t, &ok->agent, &req);
	for (i = 0; i < req.nmsgs; i++)
		images += req.msgs[i].nimages;
	t->phase = TURN_MODEL;
	if (!t->unconfirmed && !t->shown)
		turn_show(t);
	if (t->phase == TURN_MODEL) {
		t->at_model = proto_mono_us();
		t->up = ups->start(&req, &model_cbs, t);
	}
	free(msgs);
	free(extra);
	if (t->phase != TURN_MODEL)
		t->up = NULL;	/* it finished already: the handle is gone */
	else if (t->up != NULL && images > 0 && t->imaged == NULL &&
	    (t->imaged = malloc(sizeof(*t->imaged))) != NULL) {
		/* Kept for its retry without them (rep the turn's now). */
		*t->imaged = *rep;
		memset(rep, 0, sizeof(*rep));
	} else if (t->up == NULL) {
		log_warnx("%s: the model request could not be started",
		    t->ops->name);
		t->out.cause = TURN_C_MODEL;
		t->out.error = strdup("the model request could not be started");
		turn_finish(t, "failed");
	}
}

/* ------------------------------------------------------------ storing */

/*
 * An id storaged's reply holds into the turn's: the whole array copied
 * (the decode wrote it NUL-terminated, pdec_strbuf's), not strlcpy's byte
 * loop, some 270 instructions an id and four ids a turn.
 */
_Static_assert(sizeof(((struct st_begin_ok *)0)->conv_id) == ST_ID_HEX + 1 &&
    sizeof(((struct st_begin_ok *)0)->msg_id) == ST_ID_HEX + 1 &&
    sizeof(((struct st_msg_stored *)0)->id) == ST_ID_HEX + 1 &&
    sizeof(((struct turn *)0)->conv_id) == ST_ID_HEX + 1 &&
    sizeof(((struct turn *)0)->msg_id) == ST_ID_HEX + 1 &&
    sizeof(((struct turn *)0)->reply_id) == ST_ID_HEX + 1,
    "the ids id_copy copies are ST_ID_HEX + 1 bytes");
static void
id_copy(char *dst, const char *src)
{
	memcpy(dst, src, ST_ID_HEX + 1);
}

/*
 * The text stored for the turn: the error, the stand-in for a blank
 * reply, or the reply itself, trimmed as the reference's
 * assistantMessage.trim() (its start already was: up_delta), a prefix
 * of what was sent (NUL-terminated here). Made once, by turn_store (the
 * reply no longer changes then), and kept for store_done: the reply was
 * scanned again for it.
 */
static const char *
turn_content(struct turn *t)
{
	struct buf *reply = &t->reply;

	if (t->content != NULL)
		return t->content;
	if (strcmp(t->out.status, "failed") == 0)
		t->content = t->out.error != NULL ? t->out.error :
		    "model call failed";
	else if ((reply->len = chat_visible_end(reply->data, reply->len, 0,
	    0)) == 0 && strcmp(t->out.status, "complete") == 0)
		t->content = CHAT_EMPTY_REPLY;
	else {
		buf_add(reply, "", 1);
		reply->len--;		/* NUL-terminated, not counted */
		t->content = reply->data != NULL ? reply->data : "";
	}
	return t->content;
}

/*
 * 1 when the citation at s (after its "[") is "n]", or a list "1, n]"
 * of numbers naming n (comma, optional space), as models write one.
 */
static int
cite_names(const char *s, unsigned n)
{
	unsigned long v;
	int hit = 0;
	size_t d;

	for (;;) {
		if ((d = strspn(s, "0123456789")) == 0 || d > 9)
			return 0;
		v = strtoul(s, NULL, 10);
		hit |= v == n;
		s += d;
		if (*s == ']')
			return hit;
		if (*s++ != ',')
			return 0;
		s += *s == ' ';
	}
}

/*
 * Where the code that the run of backticks at s (run long) opens ends:
 * after the next run of as many, as Markdown closes an inline span or a
 * fence; NULL when none does (the backticks are then text).
 */
static const char *
code_end(const char *s, size_t run)
{
	size_t r;

	for (s += run; (s = strchr(s, '`')) != NULL; s += r)
		if ((r = strspn(s, "`")) == run)
			return s + r;
	return NULL;
}

/*
 * 1 when text cites passage n: "[n]", or n in a list "[1, n]", outside
 * code: "list[1]" in a code span or a fenced block is an index.
 */
static int
cites(const char *text, unsigned n)
{
	const char *s = text, *end;
	size_t run;

	while ((s = strpbrk(s, "[`")) != NULL) {
		if (*s == '[') {
			if (cite_names(++s, n))
				return 1;
			continue;
		}
		run = strspn(s, "`");
		s = (end = code_end(s, run)) != NULL ? end : s + run;
	}
	return 0;
}

/* The passages content cites, by number, into src: how many. */
static size_t
cited_passages(const struct turn *t, const char *content,
    struct turn_source src[KNOWLEDGE_PASSAGES])
{
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < t->kb.n && n < KNOWLEDGE_PASSAGES; i++) {
		if (!cites(content, i + 1))
			continue;
		src[n].n = i + 1;
		src[n].source_id = t->kb.hits[i].source_id;
		src[n].title = t->kb.hits[i].title != NULL ?
		    t->kb.hits[i].title : "";
		src[n].url = t->kb.hits[i].url != NULL ? t->kb.hits[i].url : "";
		n++;
	}
	return n;
}

/* done, with the passages the reply cites, by number. */
static void
cited_done(struct turn *t, const char *msg_id, const char *content)
{
	struct turn_source src[KNOWLEDGE_PASSAGES];
	size_t n = cited_passages(t, content, src);

	t->ops->done(t->fe, t->conv_id, msg_id, content, src, n, t->handoff);
}

/*
 * The passages content cites as done gives them, as JSON (malloc'd), kept
 * with the answer for its copies to the visitor's other sockets and its
 * histories; NULL none (or too long to keep, or out of memory: they go
 * without).
 */
static char *
cited_json(const struct turn *t, const char *content)
{
	struct turn_source src[KNOWLEDGE_PASSAGES];
	size_t n = cited_passages(t, content, src);
	json_t *a;
	char *text;

	if (n == 0 || (a = turn_sources_json(src, n)) == NULL)
		return NULL;
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text != NULL && strlen(text) > ST_MSG_CITED_MAX) {
		free(text);
		text = NULL;
	}
	return text;
}

/*
 * The flags of a turn's write (begin: the begin's): PROTO_F_SHARE (and
 * PROTO_F_SHARE_LONG) as SHARE_TURNS says, and STOREC_F_OUTCOME: its
 * outcome is waited for, not guessed at the storage timeout. storaged
 * goes on with a write the worker gave up on: a question said not
 * stored was stored all the same, with no answer ever (the turn gone,
 * storaged counting it open on the live connection), and a reply said
 * not stored was stored complete.
 * Only a storaged stuck (no answer in three storage timeouts, 10 s at
 * least) has the connection dropped, and then ends such a turn itself
 * (lostturns.h).
 */
static uint16_t
turn_share(int begin)
{
	uint64_t now = proto_mono_us();

	if (nlive >= SHARE_TURNS)
		busy_until = now + SHARE_RECENT_US;
	if (now >= busy_until || (begin && model_first_us < SHARE_MODEL_US))
		return STOREC_F_OUTCOME;
	if (model_first_us >= SHARE_LONG_MODEL_US)
		return STOREC_F_OUTCOME | PROTO_F_SHARE | PROTO_F_SHARE_LONG;
	return STOREC_F_OUTCOME | PROTO_F_SHARE;
}

/*
 * ST_MSG_APPEND -> the stored message's id (st_msg_stored), decoded: a
 * reply that does not decode fails the store.
 */
static void
store_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;
	const char *content = turn_content(t);
	struct st_msg_stored ms;
	char msg_id[ST_ID_HEX + 1] = "";
	int ok = r->status == STOREC_OK, valid = 0;

	if (!ok)
		log_warnx("%s: storing the %s reply of %s failed: %s",
		    t->ops->name, t->out.status, t->conv_id, storec_why(r));
	else if (storec_decode(r, PROTO_ST_MSG_APPEND, &ms) == 0) {
		id_copy(msg_id, ms.id);
		id_copy(t->reply_id, ms.id);
		st_rep_release(PROTO_ST_MSG_APPEND, &ms);
		valid = 1;
	}
	if (t->fe == NULL)
		;
	else if (strcmp(t->out.status, "failed") == 0)
		t->ops->error(t->fe, TURN_AT_MODEL, t->out.cause, t->shown);
	else if (!ok)
		t->ops->error(t->fe, TURN_AT_STORE,
		    turn_storage_cause(t, r, "storing the reply"), t->shown);
	else if (!valid)
		t->ops->error(t->fe, TURN_AT_STORE, TURN_C_MALFORMED, t->shown);
	else {
		/* The stand-in for a blank reply is a token too. */
		if (chat_blank(t->reply.data, t->reply.len) &&
		    t->ops->token != NULL)
			t->ops->token(t->fe, CHAT_EMPTY_REPLY,
			    strlen(CHAT_EMPTY_REPLY));
		cited_done(t, msg_id, content);
	}
	turn_free(t);
}

/*
 * The sources content cites (each once, in their passages' order) into
 * out (room for ST_MSG_SOURCES_MAX): how many.
 */
static uint32_t
cited_sources(const struct turn *t, const char *content, struct st_str *out)
{
	uint32_t i, j, n = 0;

	for (i = 0; i < t->kb.n && n < ST_MSG_SOURCES_MAX; i++) {
		if (!cites(content, i + 1))
			continue;
		for (j = 0; j < n && strcmp(out[j].s,
		    t->kb.hits[i].source_id) != 0; j++)
			;
		if (j == n)
			out[n++].s = t->kb.hits[i].source_id;
	}
	return n;
}

static void
turn_store(struct turn *t)
{
	struct st_msg_append_req req = {
		.conv_id = t->conv_id,
		.role = "assistant",
		.status = t->out.status,
		.prompt_tokens = t->out.prompt_tokens,
		.completion_tokens = t->out.completion_tokens,
		/* Its place is its question's, should a newer turn have begun. */
		.question = t->msg_id,
	};
	struct st_str sources[ST_MSG_SOURCES_MAX];
	const struct st_tool_rec *recs;
	struct storec_result r;
	char *cited;
	int rc;

	t->phase = TURN_STORE;
	req.content = turn_content(t);
	/* Stored with the answer: the thread and the gaps report read it. */
	req.sources = sources;
	req.nsources = cited_sources(t, req.content, sources);
	/* Stored too: its copies to the other tabs and its histories show them. */
	req.cited = cited = cited_json(t, req.content);
	req.knowledge = !t->searched ? ST_MSG_KB_NONE : t->kb.n > 0 ?
	    ST_MSG_KB_FOUND : ST_MSG_KB_NOT_FOUND;
	/* The tools its turn called: the thread's steps before it. */
	if (t->tools != NULL) {
		tools_cut(t->tools);
		req.ntools = tools_records(t->tools, &recs);
		req.tools = (struct st_tool_rec *)recs;	/* only read */
	}
	rc = storec_ask_flags(NULL, PROTO_ST_MSG_APPEND, turn_share(0), &req,
	    store_done, t, &t->sreq);
	free(cited);	/* encoded */
	if (rc == 0)
		return;
	memset(&r, 0, sizeof(r));
	r.status = STOREC_UNAVAILABLE;
	r.message = "";
	store_done(&r, t);
}

/* ------------------------------------------------------------ human */

/*
 * A person answers (result_human) and the user message is on disk: the
 * turn ends with nothing stored and no model called. The front end
 * says so (ops->human; without one, done with an empty reply).
 */
static void
turn_human(struct turn *t)
{
	if (t->fe != NULL && t->ops->human != NULL)
		t->ops->human(t->fe, t->conv_id);
	else if (t->fe != NULL)
		t->ops->done(t->fe, t->conv_id, "", "", NULL, 0,
		    ST_HANDOFF_HUMAN);
	turn_free(t);
}

/* --------------------------------------------------------- knowledge */

/* The user's newest message in the begin reply's history, or "". */
static const char *
last_question(const struct st_begin_ok *ok)
{
	uint32_t i;

	for (i = ok->nhistory; i > 0; i--)
		if (strcmp(ok->history[i - 1].role, "user") == 0)
			return ok->history[i - 1].content;
	return "";
}

/*
 * An agent that answers only from its sources found none: it says so and
 * offers a person, no model asked; the reply is stored as any other.
 */
static void
turn_know_nothing(struct turn *t)
{
	t->phase = TURN_MODEL;
	if (!t->unconfirmed)
		turn_show(t);
	buf_adds(&t->reply, KNOWLEDGE_NONE_TEXT);
	turn_send_tokens(t);
	if (t->phase == TURN_MODEL)
		turn_finish(t, t->reply.err ? "failed" : "complete");
}

/*
 * The passages found, reranked or not, cut to what the prompt holds: the
 * answer (an agent that answers only from its sources, finding none, says
 * so).
 */
static void
turn_found(struct turn *t)
{
	struct st_begin_rep *rep = t->held;
	uint32_t i;

	for (i = KNOWLEDGE_PASSAGES; i < t->kb.n; i++)
		st_kb_hit_clear(&t->kb.hits[i]);
	if (t->kb.n > KNOWLEDGE_PASSAGES)
		t->kb.n = KNOWLEDGE_PASSAGES;
	/*
	 * A search that failed found nothing too: an agent that answers only
	 * from its sources does not answer freely (stored as not searched).
	 */
	if (t->fe == NULL || t->stopped)
		turn_finish(t, "interrupted");
	else if (t->kb.n == 0 && rep->ok.agent.knowledge_only)
		turn_know_nothing(t);
	else
		turn_answer(t, rep);
	t->held = NULL;
	begin_rep_free(t->ops->begin_type, rep);
	free(rep);
}

/*
 * The reranker's order of the page passages (after the Q&A ones), the
 * rest dropped; on a failure, the search's order.
 */
static void
reranked(void *arg, const struct embed_result *r)
{
	struct turn *t = arg;

	t->rjob = NULL;
	if (r->err != EMBED_OK)
		log_warnx("%s: passages not reranked (%s): the search's "
		    "order", t->ops->name, r->error);
	else
		(void)rerank_hits_apply(&t->kb, rerank_hits_from(&t->kb), r, 0);
	turn_found(t);
}

/*
 * With a reranker, the page passages (more than one) put in its order,
 * the question against each one's title and text: 0 started, -1 not.
 */
static int
turn_rerank(struct turn *t)
{
	uint32_t from = rerank_hits_from(&t->kb);
	const char *query = t->kquery != NULL ? t->kquery :
	    last_question(&t->held->ok);

	t->rjob = rerank_hits_start(embed_install(EMBED_FOR_RERANK), query,
	    &t->kb, from, KNOWLEDGE_PASSAGES > from ? KNOWLEDGE_PASSAGES -
	    from : 1, reranked, t);
	return t->rjob != NULL ? 0 : -1;
}

/* The knowledge search's passages (none on a failure), reranked, answered. */
static void
retrieved(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;

	t->kreq = NULL;
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_KB_RETRIEVE, &t->kb) == 0)
		t->searched = 1;
	else
		log_warnx("%s: knowledge search: %s", t->ops->name,
		    storec_why(r));
	if (t->fe != NULL && !t->stopped && turn_rerank(t) == 0)
		return;
	turn_found(t);
}

/*
 * The held agent's knowledge sources searched for the user's question,
 * with its embedding r (NULL: by its words alone); without storaged's
 * answer, as though none was found (turn_found).
 */
static void
turn_search(struct turn *t, const struct embed_result *r)
{
	struct st_str srcs[ST_AGENT_SOURCES_MAX];
	struct st_begin_rep *rep = t->held;
	const struct st_agent *a = &rep->ok.agent;
	struct st_kb_retrieve_req q;
	uint32_t i;

	memset(&q, 0, sizeof(q));
	/* A record of the default organisation may name none. */
	strlcpy(q.org, a->org[0] != '\0' ? a->org : ST_WHO_ORG_DEFAULT,
	    sizeof(q.org));
	q.query = t->kquery != NULL ? t->kquery : last_question(&rep->ok);
	q.k = embed_install(EMBED_FOR_RERANK) != NULL ? RERANK_CANDIDATES :
	    KNOWLEDGE_PASSAGES;
	for (i = 0; i < a->nknowledge_sources && i < ST_AGENT_SOURCES_MAX;
	    i++)
		srcs[i].s = a->knowledge_sources[i];
	q.sources = srcs;
	q.n = i;
	if (r != NULL && r->n == 1 && r->dims <= ST_KB_VEC_DIM_MAX) {
		q.qvec.dim = r->dims;
		q.qvec.min_score = wsettings.embed_min_score * 1000;
		q.qvec.data.p = (const uint8_t *)r->vec;
		q.qvec.data.len = r->dims * (uint32_t)sizeof(float);
		memcpy(q.space, t->kspace, sizeof(q.space));
	}
	if (storec_ask(NULL, PROTO_ST_KB_RETRIEVE, &q, retrieved, t,
	    &t->kreq) < 0) {
		log_warnx("%s: knowledge search: not sent", t->ops->name);
		turn_found(t);
	}
}

/* The question's embedding: searched with it, or by its words alone. */
static void
turn_embedded(void *arg, const struct embed_result *r)
{
	struct turn *t = arg;

	t->ejob = NULL;
	if (r->err != EMBED_OK)
		log_warnx("%s: question not embedded (%s): searched by its "
		    "words", t->ops->name, r->error);
	turn_search(t, r->err == EMBED_OK ? r : NULL);
}

/*
 * What is searched (the rewritten follow-up, or the question: its first
 * ST_KB_QUERY_MAX bytes), embedded first when the agent or the install
 * has an embedding model.
 */
static void
turn_find(struct turn *t)
{
	const struct embed_conf *ec = embed_for_agent(&t->held->ok.agent,
	    EMBED_FOR_QUERY, &t->econf, t->kspace);
	const char *query = last_question(&t->held->ok);
	size_t n = strlen(query);

	/* A visitor's message may be 4,000 characters, 16 KB. */
	if (t->kquery == NULL && n > ST_KB_QUERY_MAX)
		t->kquery = strndup(query, proto_utf8_cut(query, n,
		    ST_KB_QUERY_MAX));
	if (t->kquery != NULL)
		query = t->kquery;

	if (ec != NULL && (t->ejob = embed_start(ec, &query, 1,
	    turn_embedded, t)) != NULL)
		return;
	turn_search(t, NULL);
}

static int
rewrite_can_write(void *arg)
{
	(void)arg;
	return 1;
}

/*
 * The rewrite's text, kept to what a search takes: whole pieces only
 * (each is whole UTF-8), the rest dropped.
 */
static void
rewrite_delta(void *arg, const char *text, size_t len)
{
	struct turn *t = arg;

	if (t->rewritten.len + len <= ST_KB_QUERY_MAX)
		buf_add(&t->rewritten, text, len);
}

/*
 * The follow-up's rewrite: searched for in its place when the model gave
 * one, else the question as asked.
 */
static void
rewrite_done(void *arg, const struct upstream_result *r)
{
	struct turn *t = arg;

	t->rup = NULL;
	/* The rewrite's tokens are the turn's too. */
	proto_u32_add_held(&t->out.prompt_tokens, r->prompt_tokens);
	proto_u32_add_held(&t->out.completion_tokens, r->completion_tokens);
	if (r->status != UPSTREAM_OK || t->rewritten.err)
		log_warnx("%s: the follow-up was not rewritten (%s): searched "
		    "as asked", t->ops->name, r->error);
	else if (!chat_blank(t->rewritten.data, t->rewritten.len))
		t->kquery = strndup(t->rewritten.data, t->rewritten.len);
	buf_free(&t->rewritten);
	turn_find(t);
}

/* 1 when the held history holds a visitor's message before the last. */
static int
is_follow_up(const struct st_begin_ok *ok)
{
	uint32_t i, users = 0;

	for (i = 0; i < ok->nhistory; i++)
		if (strcmp(ok->history[i].role, "user") == 0 &&
		    ok->history[i].content[0] != '\0')
			users++;
	return users > 1;
}

/*
 * The model asked for the follow-up as a question that stands alone, from
 * the conversation's last REWRITE_MESSAGES messages (one user message
 * holding them, as "Visitor:" and "Assistant:" lines). 0, or -1 (not
 * started: search the question as asked).
 */
static int
turn_rewrite(struct turn *t)
{
	static const struct upstream_cbs cbs = {
		.can_write = rewrite_can_write, .on_delta = rewrite_delta,
		.on_done = rewrite_done,
	};
	const struct st_begin_ok *ok = &t->held->ok;
	struct upstream_msg m = { .role = "user" };
	struct upstream_req req;
	struct buf b;
	uint32_t i;

	if (model_req(&req, NULL, 0, NULL, &ok->agent, NULL, NULL, 0) < 0)
		return -1;
	free((struct upstream_msg *)req.msgs);
	buf_init(&b);
	buf_adds(&b, "Conversation:");
	i = ok->nhistory > REWRITE_MESSAGES ? ok->nhistory - REWRITE_MESSAGES :
	    0;
	for (; i < ok->nhistory; i++)
		if (ok->history[i].content[0] != '\0')
			buf_addf(&b, "\n%s: %s", strcmp(ok->history[i].role,
			    "user") == 0 ? "Visitor" : "Assistant",
			    ok->history[i].content);
	buf_add(&b, "", 1);
	if (b.err) {
		buf_free(&b);
		return -1;
	}
	m.content = b.data;
	req.system_prompt = REWRITE_TEXT;
	req.system_extra = NULL;
	req.msgs = &m;
	req.nmsgs = 1;
	req.has_temperature = 1;
	req.temperature_milli = 0;
	req.max_tokens = REWRITE_TOKENS;
	buf_init(&t->rewritten);
	t->rup = ups->start(&req, &cbs, t);
	buf_free(&b);
	return t->rup != NULL ? 0 : -1;
}

/*
 * The begin reply moved into the turn (t->held) while what the model
 * needs is asked for: 0, or -1 out of memory (rep left as it was).
 */
static int
turn_hold(struct turn *t, struct st_begin_rep *rep)
{
	if ((t->held = malloc(sizeof(*t->held))) == NULL)
		return -1;
	*t->held = *rep;
	memset(rep, 0, sizeof(*rep));
	t->phase = TURN_RETRIEVE;
	return 0;
}

/*
 * The agent's knowledge sources searched for the user's question before
 * the model is asked (rep moved into the turn): a follow-up rewritten
 * first when the agent says so, then the query embedded when the install
 * has an embedding model, while the question's write reaches the disk.
 */
static void
turn_retrieve(struct turn *t, struct st_begin_rep *rep)
{
	if (turn_hold(t, rep) < 0) {
		turn_answer(t, rep);
		return;
	}
	if (t->held->ok.agent.rewrite_follow_ups &&
	    is_follow_up(&t->held->ok) && turn_rewrite(t) == 0)
		return;
	turn_find(t);
}

/* ------------------------------------------------- the agent's actions */

/* The files read (or left out): the turn goes on with its held reply. */
static void
files_read(void *arg)
{
	turn_go_on(arg);
}

/*
 * The conversation's files first (an agent with vision: its images read,
 * rep moved into the turn meanwhile), then the knowledge searched (rep
 * then the turn's), or the model asked.
 */
static void
turn_prepare(struct turn *t, struct st_begin_rep *rep)
{
	if (!t->files_read) {
		t->files_read = 1;
		t->files = turn_files_new(rep->ok.history, rep->ok.nhistory,
		    rep->ok.agent.vision);
		if (turn_files_to_read(t->files) && turn_hold(t, rep) == 0) {
			turn_files_fetch(t->files, files_read, t);
			return;
		}
	}
	if (rep->ok.agent.nknowledge_sources > 0)
		turn_retrieve(t, rep);
	else
		turn_answer(t, rep);
}

/* The held begin reply goes on: its knowledge, then the model. */
static void
turn_go_on(struct turn *t)
{
	struct st_begin_rep *rep = t->held;

	t->held = NULL;
	if (t->fe == NULL || t->stopped)
		turn_finish(t, "interrupted");
	else
		turn_prepare(t, rep);
	begin_rep_free(t->ops->begin_type, rep);
	free(rep);
}

/* The agent's actions: the turn's tools, or (on a failure) none. */
static void
tools_fetched(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;

	t->treq = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ACTION_TOOLS, &t->acts) < 0)
		log_warnx("%s: the agent's actions: %s: answered without them",
		    t->ops->name, storec_why(r));
	turn_go_on(t);
}

/*
 * The agent's actions asked of storaged (rep moved into the turn) while
 * the question's write reaches the disk; without storaged's answer the
 * turn goes on without them.
 */
static void
turn_fetch_tools(struct turn *t, struct st_begin_rep *rep)
{
	struct st_str ids[ST_AGENT_ACTION_IDS_MAX];
	const struct st_agent *a = &rep->ok.agent;
	struct st_action_tools_req q;
	uint32_t i;

	if (turn_hold(t, rep) < 0) {
		turn_prepare(t, rep);
		return;
	}
	a = &t->held->ok.agent;
	memset(&q, 0, sizeof(q));
	strlcpy(q.org, a->org[0] != '\0' ? a->org : ST_WHO_ORG_DEFAULT,
	    sizeof(q.org));
	for (i = 0; i < a->nactions && i < ST_AGENT_ACTION_IDS_MAX; i++)
		ids[i].s = a->actions[i];
	q.ids = ids;
	q.n = i;
	if (storec_ask(NULL, PROTO_ST_ACTION_TOOLS, &q, tools_fetched, t,
	    &t->treq) < 0)
		turn_go_on(t);
}

/* ------------------------------------------------------------ begin */

/* The begin request's commit, after its early answer started the turn. */
/*
 * The begin found the visitor's identity no longer verified: the front
 * end is told once what it answers is on disk (an early answer may yet
 * fail to commit), before anything else of the turn.
 */
static void
turn_tell_unverified(struct turn *t)
{
	if (!t->unverified)
		return;
	t->unverified = 0;
	if (t->fe != NULL && t->ops->unverified != NULL)
		t->ops->unverified(t->fe);
}

static void
begin_confirmed(struct turn *t, const struct storec_result *r)
{
	t->unconfirmed = 0;
	if (r->status != STOREC_OK) {
		/*
		 * storaged said the commit failed (nothing stored), or the
		 * connection was lost (storaged gone, or stuck and dropped):
		 * whether the question is stored is not known, and if it is,
		 * storaged ends its turn as a lost worker's (lostturns.h).
		 * Either way nothing of this turn is shown or stored here.
		 */
		model_stop(t);
		turn_fail(t, TURN_AT_COMMIT,
		    turn_storage_cause(t, r, "starting the turn"));
		return;
	}
	turn_tell_unverified(t);
	if (t->phase == TURN_PERSON) {
		turn_human(t);
		return;
	}
	if (t->phase != TURN_MODEL && t->phase != TURN_FINISH)
		return;
	turn_show(t);
	turn_send_tokens(t);
	if (t->phase == TURN_FINISH)
		loop_defer(&t->defer);
	else if (t->phase == TURN_MODEL && t->tools_waiting) {
		t->tools_waiting = 0;
		turn_tools_run(t);
	}
}

/*
 * The begin reply (ops->begin_type's, struct st_begin_rep): a refusal of
 * the front end's, a person answering, or the model's turn.
 */
static void
begin_ok(struct turn *t, const struct storec_result *r)
{
	uint16_t type = t->ops->begin_type;
	struct st_begin_rep rep;

	t->at_answer = proto_mono_us();
	if (storec_decode(r, type, &rep) < 0) {
		turn_fail(t, TURN_AT_BEGIN, TURN_C_MALFORMED);
		return;
	}
	if (rep.result != t->ops->result_ok &&
	    rep.result != t->ops->result_human) {
		if (t->fe != NULL)
			t->ops->refused(t->fe, rep.result, rep.retry_ms);
		turn_free(t);
		goto out;
	}
	t->unverified = !rep.ok.verified;
	id_copy(t->conv_id, rep.ok.conv_id);
	id_copy(t->msg_id, rep.ok.msg_id);
	/* Its conversation's state, for a socket that had another one. */
	t->handoff = st_handoff_name(rep.ok.handoff) != NULL ?
	    rep.ok.handoff : ST_HANDOFF_AI;
	t->unconfirmed = r->early;
	if (!t->unconfirmed)
		turn_tell_unverified(t);
	if (rep.result == t->ops->result_human) {
		/* Nothing answers the history: a person does. */
		t->phase = TURN_PERSON;
		if (!t->unconfirmed)
			turn_human(t);
		goto out;
	}
	/* The user message is stored now: the turn must end with a reply. */
	if (t->fe == NULL || t->stopped)
		turn_finish(t, "interrupted");	/* left or stopped meanwhile */
	else if (rep.ok.agent.nactions > 0)
		turn_fetch_tools(t, &rep);	/* rep is the turn's now */
	else
		turn_prepare(t, &rep);
out:
	begin_rep_free(type, &rep);
}

static void
begin_done(const struct storec_result *r, void *arg)
{
	struct turn *t = arg;

	if (t->unconfirmed)
		begin_confirmed(t, r);
	else if (r->status != STOREC_OK)
		turn_fail(t, TURN_AT_BEGIN,
		    turn_storage_cause(t, r, "starting the turn"));
	else
		begin_ok(t, r);
}

struct turn *
turn_start(const struct turn_ops *ops, void *fe, const void *req,
    enum turn_cause *why)
{
	struct turn *t;

	if ((t = proto_zalloc(sizeof(*t))) == NULL) {
		log_warn("%s", ops->name);
		*why = TURN_C_INTERNAL;
		return NULL;
	}
	t->ops = ops;
	t->fe = fe;
	t->phase = TURN_BEGIN;
	t->at_begin = proto_mono_us();
	buf_init(&t->reply);
	loop_defer_init(&t->defer, turn_deferred, t);
	TAILQ_INSERT_TAIL(&live, t, entry);
	nlive++;
	storec_on_event(turn_event);	/* once: it knows its callbacks */
	(*ops->alive)++;
	if (storec_ask_flags(NULL, ops->begin_type, PROTO_F_EARLY |
	    turn_share(1), req, begin_done, t, &t->sreq) < 0) {
		*why = TURN_C_UNAVAILABLE;
		turn_free(t);
		t = NULL;
	}
	return t;
}

/* ST_TURNS_HELD's answer: nobody waits for it. */
static void
held_done(const struct storec_result *res, void *arg)
{
	(void)arg;
	if (res->status != STOREC_OK)
		log_debug("turns held: storaged did not take them");
}

static void
held_send(const struct st_turns_held *q)
{
	(void)storec_ask(NULL, PROTO_ST_TURNS_HELD, q, held_done, NULL, NULL);
}

/*
 * The model answers it, on a begin storaged has on disk: what storaged
 * would end if this worker were lost (a turn storing its reply ends
 * by that, a person's has no model).
 */
static int
turn_answering(const struct turn *t)
{
	return t->conv_id[0] != '\0' && t->msg_id[0] != '\0' &&
	    !t->unconfirmed && (t->phase == TURN_RETRIEVE ||
	    t->phase == TURN_MODEL || t->phase == TURN_FINISH);
}

void
turn_held_tell(void)
{
	struct st_turn_ref refs[ST_TURNS_HELD_MAX];
	struct st_turns_held q = { refs, 0 };
	struct turn *t;

	TAILQ_FOREACH(t, &live, entry) {
		if (!turn_answering(t))
			continue;
		refs[q.n++] = (struct st_turn_ref){ t->conv_id, t->msg_id };
		if (q.n == ST_TURNS_HELD_MAX) {
			held_send(&q);
			q.n = 0;
		}
	}
	if (q.n > 0)
		held_send(&q);
}

json_t *
turn_sources_json(const struct turn_source *src, size_t n)
{
	json_t *a, *o;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		o = json_pack("{s:I, s:s, s:o, s:s}", "n", (json_int_t)src[i].n,
		    "source_id", src[i].source_id, "title",
		    exprow_text(src[i].title), "url", src[i].url);
		if (o == NULL || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
