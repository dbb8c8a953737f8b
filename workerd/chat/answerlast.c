/*
 * The model's answer to a question a person left unanswered: when a
 * person hands a conversation back to the assistant (admin/handoff.c)
 * while its last message is its visitor's, the assistant answers it at
 * once. A chat turn (turn.h) with no client of its own: storaged begins
 * it for the message already stored (ST_CHAT_ANSWER_LAST, a begin's
 * reply: the history, the agent, the turn open so that a lost worker's
 * is ended), the reply is stored as any turn's. The visitor's open
 * sockets show it as a turn of their own (wschat.c): the assistant typing
 * from its begin (storaged's ST_EV_ANSWERING, on every worker; here at
 * once, start), its text as it streams on this worker's (token), then
 * the reply its event carries, which the dashboards get too.
 */
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "log.h"
#include "storemsg.h"
#include "turn.h"
#include "workerd.h"

/* A turn's front end: only the conversation, for the logs. */
struct answer {
	char conv[ST_ID_HEX + 1];
};

static size_t nanswers;		/* turns alive */

/* The question is on disk and the turn open: this worker's sockets show it. */
static int
answer_start(void *fe, const char *conv_id, int handoff)
{
	wschat_answer_begun(conv_id);
	return 0;
}

static void
answer_token(void *fe, const char *text, size_t len)
{
	struct answer *a = fe;

	wschat_answer_token(a->conv, text, len);
}

static void
answer_done(void *fe, const char *conv_id, const char *msg_id,
    const char *content, const struct turn_source *src, size_t nsrc,
    int handoff)
{
	struct answer *a = fe;

	log_info("answer: conversation %s answered (message %s)", a->conv,
	    msg_id);
	free(a);
}

static void
answer_error(void *fe, enum turn_at at, enum turn_cause why, int shown)
{
	struct answer *a = fe;

	log_warnx("answer: conversation %s not answered (at %d, cause %d)",
	    a->conv, (int)at, (int)why);
	free(a);
}

/* Nothing to answer (answered, taken over again, a turn open): no error. */
static void
answer_refused(void *fe, int code, uint64_t retry_ms)
{
	struct answer *a = fe;

	log_debug("answer: conversation %s: nothing to answer (%d)", a->conv,
	    code);
	free(a);
}

static const struct turn_ops answer_ops = {
	.name = "answer",
	.alive = &nanswers,
	.begin_type = PROTO_ST_CHAT_ANSWER_LAST,
	.result_ok = ST_CHAT_OK,
	.result_human = ST_CHAT_HUMAN,	/* never its: the state is ai */
	.start = answer_start,
	.token = answer_token,
	.done = answer_done,
	.error = answer_error,
	.refused = answer_refused,
};

void
chat_answer_last(const char *conv_id)
{
	struct st_answer_last_req q = { .conv_id = conv_id,
	    .history_max = wsettings.max_history };
	enum turn_cause why;
	struct answer *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("answer");
		return;
	}
	strlcpy(a->conv, conv_id, sizeof(a->conv));
	if (turn_start(&answer_ops, a, &q, &why) == NULL) {
		log_warnx("answer: conversation %s not answered: storage "
		    "unavailable", a->conv);
		free(a);
	}
}

size_t
chat_answer_turns(void)
{
	return nanswers;
}
