/*
 * The chat turn (turn.c) driven through a fake front end that writes
 * down every operation it is called with, against a fake storaged
 * (test_peer.h) and a fake model client (turn_set_upstream): the begin
 * reply and its refusals, the early answer, the agent (each of its
 * settings in the model request), a person answering (no model), streaming
 * and backpressure, each way a turn can fail, and a client that leaves;
 * and the turn with no client that answers a conversation handed back
 * (answerlast.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat.h"
#include "test_peer.h"
#include "fake_model.h"
#include "agentmsg.h"
#include "stmsgs.h"

#define CONV	"0123456789abcdef0123456789abcdef"
#define MSGID	"fedcba9876543210fedcba9876543210"	/* the question's */

static struct peer P;

/*
 * The agent the next begin reply carries ; by default
 * a model and a prompt of its own, the rest the deployment's.
 */
static struct st_agent AG;

static void
agent_reset(void)
{
	st_agent_free(&AG);
	st_agent_defaults(&AG);
	AG.model = strdup("agent-model");
	AG.system_prompt = strdup("agent-prompt");
}


/* ------------------------------------------------------- fake model */

static void
model_says(const char *text)
{
	assert_non_null(F.arg);
	assert_true(F.cbs.can_write(F.arg));
	F.cbs.on_delta(F.arg, text, strlen(text));
}

/* --------------------------------------------------- fake front end */

static struct {
	char log[4096];		/* one line an operation */
	int start_fails, busy;
	size_t alive;
	uint64_t queued, out;	/* fe_out_pos: the output's bytes */
	struct turn *t;		/* NULL after a final operation */
} FE;

static void
fe_log(const char *fmt, ...)
{
	size_t n = strlen(FE.log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(FE.log + n, sizeof(FE.log) - n, fmt, ap);
	va_end(ap);
	strlcat(FE.log, "\n", sizeof(FE.log));
}

static int
fe_start(void *fe, const char *conv_id, int handoff)
{
	assert_ptr_equal(fe, &FE);
	fe_log("start %s", conv_id);
	return FE.start_fails ? -1 : 0;
}

static void
fe_token(void *fe, const char *text, size_t len)
{
	fe_log("token %.*s", (int)len, text);
}

static int
fe_busy(void *fe)
{
	return FE.busy;
}

static void
fe_done(void *fe, const char *conv_id, const char *msg_id, const char *content,
    const struct turn_source *src, size_t nsrc, int handoff)
{
	fe_log("done %s", content);
	FE.t = NULL;
}

static void
fe_human(void *fe, const char *conv_id)
{
	fe_log("human %s", conv_id);
	FE.t = NULL;
}

static void
fe_error(void *fe, enum turn_at at, enum turn_cause why, int shown)
{
	fe_log("error at=%d why=%d shown=%d", at, why, shown);
	FE.t = NULL;
}

static void
fe_refused(void *fe, int code, uint64_t retry_ms)
{
	fe_log("refused %d %llu", code, (unsigned long long)retry_ms);
	FE.t = NULL;
}

/* The test's begin is ST_CHAT_BEGIN's: any result but OK and HUMAN refuses. */
static const struct turn_ops fe_ops = {
	"test", &FE.alive, PROTO_ST_CHAT_BEGIN, ST_CHAT_OK, ST_CHAT_HUMAN,
	fe_start, fe_token, fe_busy, fe_done, fe_error, fe_refused, fe_human,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};
/*
 * A front end that tells how far its output got (as the stream): each
 * token queued with 10 bytes of framing, FE.out of them written.
 */
static void
fe_out_token(void *fe, const char *text, size_t len)
{
	fe_token(fe, text, len);
	FE.queued += len + 10;
}

static void
fe_out_pos(void *fe, uint64_t *queued, uint64_t *out)
{
	*queued = FE.queued;
	*out = FE.out;
}

static const struct turn_ops fe_out_ops = {
	"test", &FE.alive, PROTO_ST_CHAT_BEGIN, ST_CHAT_OK, ST_CHAT_HUMAN,
	fe_start, fe_out_token, fe_busy, fe_done, fe_error, fe_refused,
	fe_human, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	fe_out_pos,
};
/* A front end that shows nothing before the end (as the JSON answer). */
static const struct turn_ops fe_quiet_ops = {
	"test", &FE.alive, PROTO_ST_CHAT_BEGIN, ST_CHAT_OK, ST_CHAT_HUMAN,
	NULL, NULL, NULL, fe_done, fe_error, fe_refused, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

/* ------------------------------------------------------------ setup */

static int
setup(void **state)
{
	const char *kv[] = { "RATE_LIMIT_MAX_REQUESTS", "30",
	    "MAX_HISTORY_MESSAGES", "7", NULL };

	peer_setup(&P);
	test_settings(kv);
	turn_set_upstream(&fake_model);
	return 0;
}

static int
teardown(void **state)
{
	peer_teardown(&P);
	cors_shutdown();
	settings_free(&wsettings);
	turn_set_upstream(NULL);
	return 0;
}

static int
each_setup(void **state)
{
	memset(&F, 0, sizeof(F));
	memset(&FE, 0, sizeof(FE));
	agent_reset();
	assert_int_equal(peer_connect(&P), 0);
	return 0;
}

static int
each_teardown(void **state)
{
	drive_ms(20);
	assert_int_equal(FE.alive, 0);
	st_agent_free(&AG);
	return 0;
}

/* ------------------------------------------------------------ steps */

/* Starts a turn through ops; storaged gets its begin request in pr. */
static void
begin(const struct turn_ops *ops, struct peer_req *pr)
{
	const struct st_chat_begin_req req = {
		.widget = "default", .session = "s1", .content = "question",
		.rate_key = "ip:1.2.3.4", .window_ms = 60000, .rate_max = 30,
		.history_max = 7,
	};
	struct st_chat_begin_req got;
	enum turn_cause why;

	FE.t = turn_start(ops, &FE, &req, &why);
	assert_non_null(FE.t);
	assert_int_equal(FE.alive, 1);
	peer_expect(&P, pr, PROTO_ST_CHAT_BEGIN);
	assert_true(pr->flags & PROTO_F_EARLY);
	assert_int_equal(st_req_decode(PROTO_ST_CHAT_BEGIN, pr->payload,
	    pr->len, &got), 0);
	assert_string_equal(got.widget, "default");
	assert_string_equal(got.session, "s1");
	assert_string_equal(got.content, "question");
	assert_string_equal(got.rate_key, "ip:1.2.3.4");
	assert_int_equal(got.window_ms, 60000);
	assert_int_equal(got.rate_max, 30);
	assert_int_equal(got.history_max, 7);
	st_req_free(PROTO_ST_CHAT_BEGIN, &got);
}

/*
 * rep, the reply to pr, as storaged answers it (early: before its
 * commit), cut by one byte (cut -1), whole (0) or with one more (1).
 */
static void
reply_rep(struct peer_req *pr, const void *rep, int early, int cut)
{
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, pr->type, rep), 0);
	if (cut > 0)
		penc_u8(&e, 0);
	assert_true(cut >= 0 || e.len > 0);
	peer_reply_flags(&P, pr, early ? PROTO_F_EARLY : 0, e.buf,
	    cut < 0 ? e.len - 1 : e.len);
	penc_free(&e);
	drive_ms(10);
}

/* The history the model is sent: an empty reply, the owner's, the question. */
static const struct {
	const char *role, *content;
} HISTORY[] = {
	{ "assistant", "" },		/* an empty reply is not sent */
	{ "agent", "A person here." },	/* the owner's: the assistant's side */
	{ "user", "question" },
};

/*
 * The begin reply: result, the agent, the conversation, the question
 * and (when the model answers) the history; cut as reply_rep.
 */
static void
reply_begin_as(struct peer_req *pr, uint8_t result, int early, int cut)
{
	struct st_line h[3];
	struct st_begin_rep rep;
	size_t i;

	memset(&rep, 0, sizeof(rep));
	memset(h, 0, sizeof(h));
	rep.result = result;
	rep.ok.agent = AG;
	rep.ok.created = 1;
	strlcpy(rep.ok.conv_id, CONV, sizeof(rep.ok.conv_id));
	strlcpy(rep.ok.msg_id, MSGID, sizeof(rep.ok.msg_id));
	for (i = 0; result == ST_CHAT_OK && i < 3; i++) {
		strlcpy(h[i].role, HISTORY[i].role, sizeof(h[i].role));
		h[i].content = (char *)HISTORY[i].content;
	}
	rep.ok.history = h;
	rep.ok.nhistory = result == ST_CHAT_OK ? 3 : 0;
	reply_rep(pr, &rep, early, cut);
}

static void
reply_begin(struct peer_req *pr, int early)
{
	reply_begin_as(pr, ST_CHAT_OK, early, 0);
}

/* storaged confirms the commit after an early answer. */
static void
confirm(struct peer_req *pr)
{
	peer_reply(&P, pr, "", 0);
	drive_ms(10);
}

/*
 * The stored reply must have status and content, and name the question
 * it answers (its place, should a newer turn have begun).
 */
static void
expect_stored(struct peer_req *pr, const char *status, const char *content)
{
	struct st_msg_append_req a;

	peer_expect(&P, pr, PROTO_ST_MSG_APPEND);
	assert_int_equal(st_req_decode(PROTO_ST_MSG_APPEND, pr->payload,
	    pr->len, &a), 0);
	assert_string_equal(a.conv_id, CONV);
	assert_string_equal(a.role, "assistant");
	assert_string_equal(a.content, content);
	assert_string_equal(a.status, status);
	assert_string_equal(a.question, MSGID);
	st_req_free(PROTO_ST_MSG_APPEND, &a);
}

/* storaged stored it: the message's id, cut as reply_rep. */
static void
stored_as(struct peer_req *pr, int cut)
{
	struct st_msg_stored ms;

	strlcpy(ms.id, CONV, sizeof(ms.id));
	reply_rep(pr, &ms, 0, cut);
}

static void
stored_ok(struct peer_req *pr)
{
	stored_as(pr, 0);
}

/* ------------------------------------------------------------ tests */

static void
test_turn_complete(void **state)
{
	struct peer_req pr;

	begin(&fe_ops, &pr);
	assert_string_equal(FE.log, "");	/* storage first */
	reply_begin(&pr, 0);
	/*
	 * The agent's model and prompt, the rest the deployment's; the
	 * empty reply left out, the owner's message as the assistant's.
	 */
	assert_int_equal(F.started, 1);
	assert_int_equal(F.nmsgs, 2);
	assert_string_equal(F.model, "agent-model");
	assert_string_equal(F.prompt, "agent-prompt");
	assert_string_equal(F.base_url, "(default)");
	assert_string_equal(F.api_key, "(default)");
	assert_int_equal(F.has_temperature, 0);
	assert_int_equal(F.max_tokens, 0);
	assert_string_equal(F.role[0], "assistant");
	assert_string_equal(F.content[0], "A person here.");
	assert_string_equal(F.role[1], "user");
	model_says(" ");		/* leading white space: never */
	model_says("Hel");
	model_says("lo ");		/* trailing: waits for what follows */
	model_says("you\n");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "Hello you");
	assert_string_equal(FE.log, "start " CONV "\ntoken Hel\ntoken lo\n"
	    "token  you\n");
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken Hel\ntoken lo\n"
	    "token  you\ndone Hello you\n");
	assert_null(FE.t);
}

/* turn_held_tell's ST_TURNS_HELD, read by storaged; n: how many named. */
static void
expect_held(struct peer_req *pr, uint32_t n)
{
	struct st_turns_held h;

	turn_held_tell();
	if (n == 0) {
		peer_expect_none(&P, 30);
		return;
	}
	peer_expect(&P, pr, PROTO_ST_TURNS_HELD);
	assert_int_equal(st_req_decode(PROTO_ST_TURNS_HELD, pr->payload,
	    pr->len, &h), 0);
	assert_int_equal(h.n, n);
	assert_string_equal(h.turns[0].conv_id, CONV);
	assert_string_equal(h.turns[0].msg_id, MSGID);
	st_req_free(PROTO_ST_TURNS_HELD, &h);
}

/*
 * The turns a worker names to storaged on a new connection: one the
 * model answers, on disk (not while the begin is unconfirmed, nor once
 * its reply is being stored). storaged's reply, even a malformed one,
 * changes nothing of the turn.
 */
static void
test_turn_held(void **state)
{
	struct peer_req pr, hr;

	begin(&fe_ops, &pr);
	expect_held(&hr, 0);		/* the begin in flight */
	reply_begin(&pr, 1);
	expect_held(&hr, 0);		/* not yet on disk */
	confirm(&pr);
	model_says("Hi");
	expect_held(&hr, 1);
	peer_reply(&P, &hr, "x", 1);	/* a byte over */
	drive_ms(10);
	expect_held(&hr, 1);
	peer_error(&P, &hr, PROTO_E_INVALID, "no");
	drive_ms(10);
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "Hi");
	expect_held(&hr, 0);		/* its reply being stored */
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken Hi\ndone Hi\n");
	expect_held(&hr, 0);
}

static void
test_turn_blank_and_quiet(void **state)
{
	struct peer_req pr;

	/* A blank reply: the stand-in is a token too, and stored. */
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	model_says(" \n");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", CHAT_EMPTY_REPLY);
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken " CHAT_EMPTY_REPLY
	    "\ndone " CHAT_EMPTY_REPLY "\n");

	/* Without start, token and busy: only the end. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_quiet_ops, &pr);
	reply_begin(&pr, 0);
	model_says("quiet");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "quiet");
	stored_ok(&pr);
	assert_string_equal(FE.log, "done quiet\n");
}

/*
 * The early answer: the model starts, nothing is shown and nothing
 * stored until the commit is confirmed; a failed commit cancels all.
 */
static void
test_turn_early(void **state)
{
	struct peer_req pr;
	char want[64];

	begin(&fe_ops, &pr);
	reply_begin(&pr, 1);
	assert_int_equal(F.started, 1);
	model_says("Hi");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	peer_expect_none(&P, 30);
	assert_string_equal(FE.log, "");
	confirm(&pr);
	expect_stored(&pr, "complete", "Hi");
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken Hi\ndone Hi\n");

	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 1);
	model_says("never shown");
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "commit failed");
	drive_ms(10);
	assert_int_equal(F.cancelled, 1);
	peer_expect_none(&P, 30);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_COMMIT, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);
}

/*
 * storaged slower than the storage timeout (a disk whose flush takes
 * seconds): the question's confirmation and the reply's store are
 * waited for, not failed at the timeout, since storaged goes on with
 * them whatever the worker decides (the question was told "not saved"
 * and stored with no answer ever; the reply told "not saved" and stored
 * complete). The turn ends as it would have, only later.
 */
static void
test_turn_slow_storage(void **state)
{
	uint32_t timeout = wconf.storage_timeout_ms;
	struct peer_req pr;

	/* A new connection: no request in flight with a longer timeout. */
	storec_shutdown();
	peer_close(&P);
	peer_unlisten(&P);
	wconf.storage_timeout_ms = 100;
	assert_int_equal(peer_connect(&P), 0);
	begin(&fe_ops, &pr);
	assert_int_equal(pr.flags & STOREC_F_OUTCOME, 0);	/* not sent */
	reply_begin(&pr, 1);
	model_says("Hi");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(300);			/* the commit's flush is slow */
	assert_string_equal(FE.log, "");
	assert_int_equal(F.cancelled, 0);
	confirm(&pr);
	expect_stored(&pr, "complete", "Hi");
	assert_int_equal(pr.flags & STOREC_F_OUTCOME, 0);
	drive_ms(300);			/* and the reply's */
	assert_string_equal(FE.log, "start " CONV "\ntoken Hi\n");
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken Hi\ndone Hi\n");
	assert_int_equal(FE.alive, 0);
	wconf.storage_timeout_ms = timeout;
}

static void
test_turn_refusals(void **state)
{
	static const uint8_t results[] = { ST_CHAT_OK, ST_CHAT_HUMAN, 5 };
	static const struct {
		uint32_t code;
		const char *msg;
		enum turn_cause why;
	} errs[] = {
		{ PROTO_E_INTERNAL, "disk full", TURN_C_STORAGE },
		{ PROTO_E_INVALID, "attachments: no such upload",
		    TURN_C_INVALID },
		{ PROTO_E_UNAVAILABLE, "busy", TURN_C_UNAVAILABLE },
	};
	struct st_begin_rep refusal;
	struct peer_req pr;
	char want[64];
	size_t i;
	int early, cut;

	/* The front end's refusal, with its retry. */
	begin(&fe_ops, &pr);
	memset(&refusal, 0, sizeof(refusal));
	refusal.result = 5;
	refusal.retry_ms = 1500;
	reply_rep(&pr, &refusal, 0, 0);
	assert_string_equal(FE.log, "refused 5 1500\n");
	assert_int_equal(F.started, 0);

	/*
	 * storaged errors before the model: nothing stored. What the message
	 * names refused is the client's error.
	 */
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		memset(FE.log, 0, sizeof(FE.log));
		begin(&fe_ops, &pr);
		peer_error(&P, &pr, errs[i].code, errs[i].msg);
		drive_ms(10);
		snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
		    TURN_AT_BEGIN, errs[i].why);
		assert_string_equal(FE.log, want);
	}
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	peer_reply(&P, &pr, "\0", 1);
	drive_ms(10);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_BEGIN, TURN_C_MALFORMED);
	assert_string_equal(FE.log, want);
	peer_expect_none(&P, 30);
	assert_int_equal(F.started, 0);

	/*
	 * A begin reply a byte short or a byte over, early or not, whatever
	 * its result: the turn fails before anything is shown or stored
	 * (there is no conversation to store in), the model never called,
	 * the commit's confirmation not waited for.
	 */
	for (early = 0; early < 2; early++)
		for (cut = -1; cut <= 1; cut += 2)
			for (i = 0; i < sizeof(results); i++) {
				memset(FE.log, 0, sizeof(FE.log));
				begin(&fe_ops, &pr);
				reply_begin_as(&pr, results[i], early, cut);
				assert_string_equal(FE.log, want);
				assert_null(FE.t);
				if (early)
					confirm(&pr);
				peer_expect_none(&P, 30);
			}
	assert_int_equal(F.started, 0);
}

static void
test_turn_model_fails(void **state)
{
	struct peer_req pr;
	char want[128];
	int cut;

	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	model_says("half");
	fake_model_done(UPSTREAM_TIMEOUT, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "failed", "model timed out");
	stored_ok(&pr);
	snprintf(want, sizeof(want), "start " CONV "\ntoken half\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_MODEL, TURN_C_TIMEOUT);
	assert_string_equal(FE.log, want);

	/* A model that cannot start. */
	memset(FE.log, 0, sizeof(FE.log));
	F.fail_start = 1;
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	expect_stored(&pr, "failed", "the model request could not be started");
	stored_ok(&pr);
	snprintf(want, sizeof(want), "start " CONV "\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_MODEL, TURN_C_MODEL);
	assert_string_equal(FE.log, want);
	F.fail_start = 0;

	/* The reply cannot be stored. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	model_says("ok");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "ok");
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	drive_ms(10);
	snprintf(want, sizeof(want), "start " CONV "\ntoken ok\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_STORE, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);

	/* Stored, but the reply a byte short or over: not done. */
	snprintf(want, sizeof(want), "start " CONV "\ntoken ok\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_STORE, TURN_C_MALFORMED);
	for (cut = -1; cut <= 1; cut += 2) {
		memset(FE.log, 0, sizeof(FE.log));
		begin(&fe_ops, &pr);
		reply_begin(&pr, 0);
		model_says("ok");
		fake_model_done(UPSTREAM_OK, NULL, 3, 4);
		drive_ms(10);
		expect_stored(&pr, "complete", "ok");
		stored_as(&pr, cut);
		assert_string_equal(FE.log, want);
		assert_null(FE.t);
	}
}

/*
 * A front end that tells how far its output got: a client that leaves
 * has stored the tokens whose bytes had all gone out, not those its
 * output still held (thrown away with it).
 */
static void
test_turn_cancel_unsent(void **state)
{
	struct peer_req pr;

	FE.queued = FE.out = 0;
	begin(&fe_out_ops, &pr);
	reply_begin(&pr, 0);
	model_says("You ");
	FE.out = FE.queued;		/* out */
	model_says("sa");
	model_says("id");
	FE.out += 5;			/* "sa" partly written */
	turn_cancel(FE.t);
	assert_int_equal(F.cancelled, 1);
	expect_stored(&pr, "interrupted", "You");
	stored_ok(&pr);
	assert_int_equal(FE.alive, 0);
	/* The space waited for "sa": it went with it. */
	assert_string_equal(FE.log, "start " CONV "\ntoken You\ntoken  sa\n"
	    "token id\n");

	/* All of it out: all of it stored. */
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	FE.queued = FE.out = 0;
	begin(&fe_out_ops, &pr);
	reply_begin(&pr, 0);
	model_says("You ");
	model_says("said");
	FE.out = FE.queued;
	turn_cancel(FE.t);
	expect_stored(&pr, "interrupted", "You said");
	stored_ok(&pr);

	/*
	 * The model done, and the client gone before the store began (in
	 * the same round, its last token still in the output): what went
	 * out, interrupted, not the whole reply complete.
	 */
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	FE.queued = FE.out = 0;
	begin(&fe_out_ops, &pr);
	reply_begin(&pr, 0);
	model_says("You ");
	model_says("said");
	FE.out = FE.queued;
	model_says(" it");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	turn_cancel(FE.t);
	drive_ms(10);
	expect_stored(&pr, "interrupted", "You said");
	stored_ok(&pr);
	assert_int_equal(FE.alive, 0);

	/*
	 * The model done before the question was on disk, the client gone
	 * before it was: it was shown nothing, nothing is stored.
	 */
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	FE.queued = FE.out = 0;
	begin(&fe_out_ops, &pr);
	reply_begin(&pr, 1);
	model_says("You said");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	turn_cancel(FE.t);
	confirm(&pr);
	expect_stored(&pr, "interrupted", "");
	stored_ok(&pr);
	assert_string_equal(FE.log, "");
	assert_int_equal(FE.alive, 0);
}

/* The turn outlives its client and stores what it has. */
static void
test_turn_cancel(void **state)
{
	struct peer_req pr;

	/* Mid-reply: the model is cancelled, the text so far stored. */
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	model_says("You sa");
	turn_cancel(FE.t);
	assert_int_equal(F.cancelled, 1);
	expect_stored(&pr, "interrupted", "You sa");
	assert_int_equal(FE.alive, 1);
	stored_ok(&pr);
	assert_int_equal(FE.alive, 0);
	assert_string_equal(FE.log, "start " CONV "\ntoken You sa\n");

	/* During the begin: no model, an empty interrupted reply. */
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	turn_cancel(FE.t);
	reply_begin(&pr, 0);
	expect_stored(&pr, "interrupted", "");
	stored_ok(&pr);
	assert_int_equal(F.started, 0);
	assert_string_equal(FE.log, "");

	/* During the store: it completes, nothing is shown. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", CHAT_EMPTY_REPLY);
	turn_cancel(FE.t);
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\n");

	/* The front end cannot show the turn: as if the client left. */
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	FE.start_fails = 1;
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	assert_int_equal(F.started, 0);
	expect_stored(&pr, "interrupted", "");
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\n");
}

static void
test_turn_backpressure(void **state)
{
	struct peer_req pr;

	begin(&fe_ops, &pr);
	reply_begin(&pr, 0);
	turn_drained(FE.t);		/* not paused: no resume */
	assert_int_equal(F.resumed, 0);
	FE.busy = 1;
	assert_false(F.cbs.can_write(F.arg));
	FE.busy = 0;
	turn_drained(FE.t);
	assert_int_equal(F.resumed, 1);
	turn_drained(FE.t);		/* once */
	assert_int_equal(F.resumed, 1);
	assert_true(F.cbs.can_write(F.arg));
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", CHAT_EMPTY_REPLY);
	stored_ok(&pr);
}

/* Runs one turn with AG as its agent to the model's start. */
static void
agent_turn(struct peer_req *pr)
{
	memset(&F, 0, sizeof(F));
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, pr);
	reply_begin(pr, 0);
	assert_int_equal(F.started, 1);
	fake_model_done(UPSTREAM_OK, NULL, 1, 1);
	drive_ms(10);
	expect_stored(pr, "complete", CHAT_EMPTY_REPLY);
	stored_ok(pr);
}

static void
set(char **f, const char *v)
{
	free(*f);
	*f = strdup(v);
}

/* Every setting of the agent reaches the model request. */
static void
test_turn_agent(void **state)
{
	struct peer_req pr;

	/* Its own server and key, temperature and max_tokens. */
	set(&AG.base_url, "http://llm.example/v1");
	set(&AG.api_key, "agent-key-123456");
	AG.temperature_milli = 0;
	AG.max_tokens = 42;
	agent_turn(&pr);
	assert_string_equal(F.base_url, "http://llm.example/v1");
	assert_string_equal(F.api_key, "agent-key-123456");
	assert_int_equal(F.has_temperature, 1);
	assert_int_equal(F.temperature_milli, 0);
	assert_int_equal(F.max_tokens, 42);

	/* Its own server without a key: none sent, not the deployment's. */
	set(&AG.api_key, "");
	AG.temperature_milli = 1500;
	agent_turn(&pr);
	assert_string_equal(F.base_url, "http://llm.example/v1");
	assert_string_equal(F.api_key, "");
	assert_int_equal(F.temperature_milli, 1500);

	/* A key with the deployment's server. */
	set(&AG.base_url, "");
	set(&AG.api_key, "agent-key-on-default");
	AG.temperature_milli = ST_AGENT_UNSET;
	AG.max_tokens = 0;
	agent_turn(&pr);
	assert_string_equal(F.base_url, "(default)");
	assert_string_equal(F.api_key, "agent-key-on-default");
	assert_int_equal(F.has_temperature, 0);
	assert_int_equal(F.max_tokens, 0);

	/* The default agent (all empty): the deployment's everything. */
	st_agent_free(&AG);
	st_agent_defaults(&AG);
	agent_turn(&pr);
	assert_string_equal(F.model, "(default)");
	assert_string_equal(F.prompt, "(default)");
	assert_string_equal(F.base_url, "(default)");
	assert_string_equal(F.api_key, "(default)");
	assert_int_equal(F.has_temperature, 0);

	/* A malformed agent record: the turn does not start. */
	memset(FE.log, 0, sizeof(FE.log));
	{
		struct penc e;
		char want[64];

		begin(&fe_ops, &pr);
		penc_init(&e);
		penc_u8(&e, 0);
		penc_u64(&e, 0);
		penc_str(&e, "only half an agent");
		peer_reply_enc(&P, &pr, &e);
		drive_ms(10);
		snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
		    TURN_AT_BEGIN, TURN_C_MALFORMED);
		assert_string_equal(FE.log, want);
	}
}

/*
 * A person answers: the user message is stored, the model never called,
 * nothing stored after it, the front end told (ops->human).
 */
static void
test_turn_human(void **state)
{
	struct peer_req pr;

	begin(&fe_ops, &pr);
	reply_begin_as(&pr, ST_CHAT_HUMAN, 0, 0);
	assert_int_equal(F.started, 0);
	assert_string_equal(FE.log, "human " CONV "\n");
	assert_null(FE.t);
	peer_expect_none(&P, 30);

	/* Answered early (storaged does not, but if): after the commit. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin_as(&pr, ST_CHAT_HUMAN, 1, 0);
	assert_string_equal(FE.log, "");
	confirm(&pr);
	assert_string_equal(FE.log, "human " CONV "\n");
	peer_expect_none(&P, 30);

	/* A front end without the operation: done with an empty reply. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_quiet_ops, &pr);
	reply_begin_as(&pr, ST_CHAT_HUMAN, 0, 0);
	assert_string_equal(FE.log, "done \n");
	peer_expect_none(&P, 30);

	/* The client left meanwhile: nothing to tell, nothing stored. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	turn_cancel(FE.t);
	reply_begin_as(&pr, ST_CHAT_HUMAN, 0, 0);
	assert_string_equal(FE.log, "");
	peer_expect_none(&P, 30);
	assert_int_equal(F.started, 0);
}

/*
 * storaged is away: the turn's begin waits for it (2 s at most, storec),
 * then the turn ends unavailable at its begin, nothing shown.
 */
static void
test_turn_no_storage(void **state)
{
	const struct st_chat_begin_req req = { .widget = "default",
	    .session = "s1", .content = "question", .rate_key = "ip:1.2.3.4",
	    .window_ms = 60000, .rate_max = 30, .history_max = 7 };
	enum turn_cause why;
	char want[64];
	int i;

	peer_close(&P);
	peer_unlisten(&P);
	drive_ms(20);
	assert_false(storec_connected());
	assert_non_null(FE.t = turn_start(&fe_ops, &FE, &req, &why));
	drive_ms(100);
	assert_string_equal(FE.log, "");
	for (i = 0; i < 300 && FE.t != NULL; i++)
		drive_ms(10);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_BEGIN, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);
	assert_null(FE.t);
	storec_shutdown();
}

/*
 * The turn with no client (answerlast.c) for a conversation handed back
 * with its visitor's question unanswered: its begin names the
 * conversation and the history the model may read; the model answers and
 * the reply is stored as any turn's, nothing shown. storaged's refusal
 * (nothing to answer) and a begin reply a byte short or a byte over end
 * it: the model not called, nothing stored, no turn left alive.
 */
static void
test_turn_answer_last(void **state)
{
	uint32_t max = wsettings.max_history;
	struct st_answer_last_req got;
	struct st_begin_rep no;
	struct peer_req pr;
	int cut;

	wsettings.max_history = 9;
	chat_answer_last(CONV);
	assert_int_equal(chat_answer_turns(), 1);
	peer_expect(&P, &pr, PROTO_ST_CHAT_ANSWER_LAST);
	assert_true(pr.flags & PROTO_F_EARLY);
	assert_int_equal(st_req_decode(PROTO_ST_CHAT_ANSWER_LAST, pr.payload,
	    pr.len, &got), 0);
	assert_string_equal(got.conv_id, CONV);
	assert_int_equal(got.history_max, 9);
	st_req_free(PROTO_ST_CHAT_ANSWER_LAST, &got);
	reply_begin(&pr, 0);
	assert_int_equal(F.started, 1);
	assert_string_equal(F.role[F.nmsgs - 1], "user");
	assert_string_equal(F.content[F.nmsgs - 1], "question");
	model_says("Open at nine.");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "Open at nine.");
	stored_ok(&pr);
	assert_int_equal(chat_answer_turns(), 0);
	assert_string_equal(FE.log, "");

	memset(&F, 0, sizeof(F));
	chat_answer_last(CONV);
	peer_expect(&P, &pr, PROTO_ST_CHAT_ANSWER_LAST);
	memset(&no, 0, sizeof(no));
	no.result = ST_CHAT_ANSWERED;
	reply_rep(&pr, &no, 0, 0);
	assert_int_equal(chat_answer_turns(), 0);
	for (cut = -1; cut <= 1; cut += 2) {
		chat_answer_last(CONV);
		peer_expect(&P, &pr, PROTO_ST_CHAT_ANSWER_LAST);
		reply_begin_as(&pr, ST_CHAT_OK, 0, cut);
		assert_int_equal(chat_answer_turns(), 0);
	}
	assert_int_equal(F.started, 0);
	peer_expect_none(&P, 30);
	wsettings.max_history = max;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_turn_held,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_complete,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_blank_and_quiet,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_early,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_slow_storage,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_refusals,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_answer_last,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_model_fails,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_cancel,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_cancel_unsent,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_backpressure,
		    each_setup, each_teardown),
		/* Last: it takes storaged away. */
		cmocka_unit_test_setup_teardown(test_turn_agent,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_human,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_no_storage,
		    each_setup, each_teardown),
	};

	log_init("test_turn");
	return cmocka_run_group_tests(tests, setup, teardown);
}
