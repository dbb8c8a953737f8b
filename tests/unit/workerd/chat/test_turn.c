/*
 * The chat turn (turn.c) driven through a fake front end that writes
 * down every operation it is called with, against a fake storaged
 * (test_peer.h) and a fake model client (turn_set_upstream): the begin
 * reply and its refusals, the early answer, the agent (each of its
 * settings in the model request), a person answering (no model), streaming
 * and backpressure, each way a turn can fail, and a client that leaves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_peer.h"
#include "fake_model.h"
#include "agentmsg.h"

#define CONV	"0123456789abcdef0123456789abcdef"
#define HUMAN	9	/* the test's begin result for "a person answers" */

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

/*
 * The test's begin reply: u8 result (0, HUMAN, else a refusal), u64
 * retry, then (0 or HUMAN) the agent.
 */
static int
fe_begin(struct pdec *d, struct st_agent *a, uint64_t *retry_ms)
{
	uint8_t result = pdec_u8(d);

	*retry_ms = pdec_u64(d);
	if (d->err)
		return -1;
	if (result != 0 && result != HUMAN)
		return result;
	if (pdec_agent(d, a) < 0)
		return -1;
	return result == HUMAN ? TURN_HUMAN : 0;
}

static int
fe_start(void *fe, const char *conv_id)
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
fe_done(void *fe, const char *conv_id, const char *content)
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

static const struct turn_ops fe_ops = {
	"test", &FE.alive, fe_begin, fe_start, fe_token, fe_busy, fe_done,
	fe_error, fe_refused, fe_human,
};
/* A front end that shows nothing before the end (as the JSON answer). */
static const struct turn_ops fe_quiet_ops = {
	"test", &FE.alive, fe_begin, NULL, NULL, NULL, fe_done, fe_error,
	fe_refused, NULL,
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
	enum turn_cause why;
	struct penc e;
	struct pdec d;
	char key[ST_RATE_KEY_MAX + 1];

	penc_init(&e);
	penc_str(&e, "question");
	turn_enc_limits(&e, "ip:1.2.3.4");
	FE.t = turn_start(ops, &FE, PROTO_ST_CHAT_BEGIN, &e, &why);
	assert_non_null(FE.t);
	assert_int_equal(FE.alive, 1);
	peer_expect(&P, pr, PROTO_ST_CHAT_BEGIN);
	assert_true(pr->flags & PROTO_F_EARLY);
	pdec_init(&d, pr->payload, pr->len);
	pdec_strbuf(&d, key, sizeof(key));
	assert_string_equal(key, "question");
	pdec_strbuf(&d, key, sizeof(key));
	assert_string_equal(key, "ip:1.2.3.4");
	assert_int_equal(pdec_u32(&d), 60000);
	assert_int_equal(pdec_u32(&d), 30);
	assert_int_equal(pdec_u32(&d), 7);
	assert_int_equal(pdec_done(&d), 0);
}

/* The begin reply: result, the agent, the conversation, history. */
static void
reply_begin_as(struct peer_req *pr, uint8_t result, int early,
    int good_history)
{
	struct st_conv c;
	struct st_msg m;
	struct penc e;

	penc_init(&e);
	penc_u8(&e, result);
	penc_u64(&e, 0);
	penc_agent(&e, &AG);
	penc_u8(&e, 1);
	memset(&c, 0, sizeof(c));
	strlcpy(c.id, CONV, sizeof(c.id));
	strlcpy(c.widget, "default", sizeof(c.widget));
	strlcpy(c.session, "s1", sizeof(c.session));
	c.last_message = strdup("x");
	penc_conv(&e, &c);
	st_conv_free(&c);
	memset(&m, 0, sizeof(m));
	strlcpy(m.id, CONV, sizeof(m.id));
	strlcpy(m.conv_id, CONV, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	m.content = strdup("question");
	penc_msg(&e, &m);
	st_msg_free(&m);
	if (result == HUMAN)
		penc_u32(&e, 0);
	else {
		/* 0: 9 entries said, 3 there; 2: a role too long. */
		penc_u32(&e, good_history ? 3 : 9);
		penc_str(&e, good_history == 2 ? "assistant-with-a-long-name" :
		    "assistant");
		penc_str(&e, "");	/* an empty reply is not sent */
		penc_str(&e, "agent");	/* the owner's: the assistant's side */
		penc_str(&e, "A person here.");
		penc_str(&e, "user");
		penc_str(&e, "question");
	}
	assert_false(e.err);
	peer_reply_flags(&P, pr, early ? PROTO_F_EARLY : 0, e.buf, e.len);
	penc_free(&e);
	drive_ms(10);
}

static void
reply_begin(struct peer_req *pr, int early, int good_history)
{
	reply_begin_as(pr, 0, early, good_history);
}

/* storaged confirms the commit after an early answer. */
static void
confirm(struct peer_req *pr)
{
	peer_reply(&P, pr, "", 0);
	drive_ms(10);
}

/* The stored reply must have status and content; storaged says OK. */
static void
expect_stored(struct peer_req *pr, const char *status, const char *content)
{
	char s[ST_CONTENT_MAX + 1];
	struct pdec d;

	peer_expect(&P, pr, PROTO_ST_MSG_APPEND);
	pdec_init(&d, pr->payload, pr->len);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, CONV);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "assistant");
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, content);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, status);
	(void)pdec_u32(&d);
	(void)pdec_u32(&d);
	assert_int_equal(pdec_done(&d), 0);
}

static void
stored_ok(struct peer_req *pr)
{
	peer_reply(&P, pr, "", 0);
	drive_ms(10);
}

/* ------------------------------------------------------------ tests */

static void
test_turn_complete(void **state)
{
	struct peer_req pr;

	begin(&fe_ops, &pr);
	assert_string_equal(FE.log, "");	/* storage first */
	reply_begin(&pr, 0, 1);
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
	model_says(" ");		/* leading blanks wait */
	model_says("Hel");
	model_says("lo");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", " Hello");
	assert_string_equal(FE.log, "start " CONV "\ntoken  Hel\ntoken lo\n");
	stored_ok(&pr);
	assert_string_equal(FE.log, "start " CONV "\ntoken  Hel\ntoken lo\n"
	    "done  Hello\n");
	assert_null(FE.t);
}

static void
test_turn_blank_and_quiet(void **state)
{
	struct peer_req pr;

	/* A blank reply: the stand-in is a token too, and stored. */
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 1, 1);
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
	reply_begin(&pr, 1, 1);
	model_says("never shown");
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "commit failed");
	drive_ms(10);
	assert_int_equal(F.cancelled, 1);
	peer_expect_none(&P, 30);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_COMMIT, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);
}

static void
test_turn_refusals(void **state)
{
	struct peer_req pr;
	struct penc e;
	char want[64];

	/* The front end's refusal, with its retry. */
	begin(&fe_ops, &pr);
	penc_init(&e);
	penc_u8(&e, 5);
	penc_u64(&e, 1500);
	peer_reply_enc(&P, &pr, &e);
	drive_ms(10);
	assert_string_equal(FE.log, "refused 5 1500\n");
	assert_int_equal(F.started, 0);

	/* storaged errors before the model: nothing stored. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	peer_error(&P, &pr, PROTO_E_INTERNAL, "disk full");
	drive_ms(10);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_BEGIN, TURN_C_STORAGE);
	assert_string_equal(FE.log, want);
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	drive_ms(10);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_BEGIN, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);
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
	 * The user message stored but the history malformed: recorded as
	 * failed, answered as a whole (never shown), no model.
	 */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 1, 0);
	confirm(&pr);
	expect_stored(&pr, "failed", "internal error: malformed history");
	stored_ok(&pr);
	snprintf(want, sizeof(want), "error at=%d why=%d shown=0\n",
	    TURN_AT_MODEL, TURN_C_INTERNAL);
	assert_string_equal(FE.log, want);
	assert_int_equal(F.started, 0);

	/* A string of the history over its limit: the same. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 1, 2);
	confirm(&pr);
	expect_stored(&pr, "failed", "internal error: malformed history");
	stored_ok(&pr);
	assert_string_equal(FE.log, want);
	assert_int_equal(F.started, 0);
}

static void
test_turn_model_fails(void **state)
{
	struct peer_req pr;
	char want[128];

	begin(&fe_ops, &pr);
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 0, 1);
	expect_stored(&pr, "failed", "the model request could not be started");
	stored_ok(&pr);
	snprintf(want, sizeof(want), "start " CONV "\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_MODEL, TURN_C_MODEL);
	assert_string_equal(FE.log, want);
	F.fail_start = 0;

	/* The reply cannot be stored. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0, 1);
	model_says("ok");
	fake_model_done(UPSTREAM_OK, NULL, 3, 4);
	drive_ms(10);
	expect_stored(&pr, "complete", "ok");
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	drive_ms(10);
	snprintf(want, sizeof(want), "start " CONV "\ntoken ok\n"
	    "error at=%d why=%d shown=1\n", TURN_AT_STORE, TURN_C_UNAVAILABLE);
	assert_string_equal(FE.log, want);
}

/* The turn outlives its client and stores what it has. */
static void
test_turn_cancel(void **state)
{
	struct peer_req pr;

	/* Mid-reply: the model is cancelled, the text so far stored. */
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 0, 1);
	expect_stored(&pr, "interrupted", "");
	stored_ok(&pr);
	assert_int_equal(F.started, 0);
	assert_string_equal(FE.log, "");

	/* During the store: it completes, nothing is shown. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 0, 1);
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
	reply_begin(&pr, 0, 1);
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
	reply_begin(pr, 0, 1);
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
	reply_begin_as(&pr, HUMAN, 0, 1);
	assert_int_equal(F.started, 0);
	assert_string_equal(FE.log, "human " CONV "\n");
	assert_null(FE.t);
	peer_expect_none(&P, 30);

	/* Answered early (storaged does not, but if): after the commit. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	reply_begin_as(&pr, HUMAN, 1, 1);
	assert_string_equal(FE.log, "");
	confirm(&pr);
	assert_string_equal(FE.log, "human " CONV "\n");
	peer_expect_none(&P, 30);

	/* A front end without the operation: done with an empty reply. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_quiet_ops, &pr);
	reply_begin_as(&pr, HUMAN, 0, 1);
	assert_string_equal(FE.log, "done \n");
	peer_expect_none(&P, 30);

	/* The client left meanwhile: nothing to tell, nothing stored. */
	memset(FE.log, 0, sizeof(FE.log));
	begin(&fe_ops, &pr);
	turn_cancel(FE.t);
	reply_begin_as(&pr, HUMAN, 0, 1);
	assert_string_equal(FE.log, "");
	peer_expect_none(&P, 30);
	assert_int_equal(F.started, 0);
}

/* storaged is away: the turn does not start, no operation is called. */
static void
test_turn_no_storage(void **state)
{
	enum turn_cause why;
	struct penc e;

	peer_close(&P);
	peer_unlisten(&P);
	drive_ms(20);
	penc_init(&e);
	penc_str(&e, "question");
	assert_null(turn_start(&fe_ops, &FE, PROTO_ST_CHAT_BEGIN, &e, &why));
	assert_int_equal(why, TURN_C_UNAVAILABLE);
	assert_int_equal(FE.alive, 0);
	assert_string_equal(FE.log, "");
	storec_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_turn_complete,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_blank_and_quiet,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_early,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_refusals,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_model_fails,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_turn_cancel,
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
