/*
 * Reports: what the owner reads of outcomes (storaged/rollups.c keeps
 * them; workerd/admin/reports.c answers GET /v1/admin/reports). Each
 * conversation counts once, in the hour it started (UTC), under its
 * organisation, widget and agent (the agent that answered its first
 * message: st_conv.agent_id), with what it holds now: its visitor's
 * messages, the answers and their tokens, whether it is resolved and by
 * whom, whether a person was asked for or answered, the time to the
 * first person's answer and to a person's resolution, its thumbs and its
 * rating. A conversation that changes moves its counts; one deleted takes
 * them out: the figures are always a recount of the stored conversations
 * (STORAGE.md, "Reports").
 *
 *   ST_REPORT_GET  u64 from, u64 to (ms, from < to, at most
 *                  ST_REPORT_SPAN_MAX apart), str widget ("" every
 *                  one), str agent ("" every one; ST_REPORT_DEFAULT_AGENT
 *                  the default agent)
 *                           -> u32 n, n x hour, u32 m, m x agent, u8 ready,
 *                              u64 day_end, u32 budget, u32 turns,
 *                              u32 cap, u32 messages
 *     Who asks's organisation's conversations started in the hours whose
 *     start lies in [from, to) (an hour is counted whole): one row per
 *     hour with any (u32 hours since the epoch, UTC), summed over the
 *     widgets kept and the agents, by hour; and one per agent with any
 *     ("" the default one), summed over those hours, by agent. The rows
 *     are summed as they are read, so what a reply holds is bounded by
 *     the span (ST_REPORT_SPAN_MAX's hours) and the agents, whatever the
 *     number of widgets and agents behind each hour; over
 *     ST_REPORT_AGENTS_MAX agents the range is refused (`invalid`).
 *     ready 0 while conversations stored before reports existed are still
 *     being counted in (the sweep's backfill).
 *     Then today's bounds, whatever the range: the UTC day's end
 *     (day_end, ms), the organisation's daily turn budget (0 none) and
 *     its turns so far (counted only while it has a budget), and of the
 *     widget asked for (when it is the organisation's) its daily message
 *     cap (0 none) and its visitor messages so far; 0 each without one.
 */
#ifndef PARLEY_REPORTMSG_H
#define PARLEY_REPORTMSG_H

#include <stdint.h>

#include "storemsg.h"

#define ST_REPORT_SPAN_MAX	(400ull * 86400 * 1000)	/* ms */
/* The hours of ST_REPORT_SPAN_MAX, and one more where from is not whole. */
#define ST_REPORT_HOURS_MAX	(ST_REPORT_SPAN_MAX / 3600000 + 1)
/*
 * The agents one reply holds (an organisation has at most ST_AGENTS_MAX
 * at once; deleted ones stay in their rows): over it, the range is
 * refused (400).
 */
#define ST_REPORT_AGENTS_MAX	10000
#define ST_REPORT_DEFAULT_AGENT	"default"

/*
 * The counts, in their order on the wire and in the rollup's value:
 *   conversations        1 a conversation
 *   visitor_messages     its visitor's messages
 *   answers              the assistant's answers
 *   prompt_tokens, completion_tokens  the answers' tokens
 *   resolved_assistant   1 when resolved by the assistant
 *   resolved_person      1 when resolved by a person
 *   handed_off           1 when a person was asked for or answered
 *   abandoned            1 when a person was asked for and none answered
 *   first_responses, first_response_ms  1 and the ms from the visitor's
 *                        request for a person to a person's first answer
 *                        (a request: the visitor's or the assistant's,
 *                        asked_at; a person moving it to waiting_human
 *                        asks for none)
 *   resolutions, resolution_ms  1 and the ms from its start to a person
 *                        resolving it
 *   thumbs_up, thumbs_down  its answers' thumbs
 *   ratings, rating_sum  1 and its 1-5 rating, when rated
 */
#define ST_REPORT_COUNTS(X)						\
	X(conversations) X(visitor_messages) X(answers)			\
	X(prompt_tokens) X(completion_tokens) X(resolved_assistant)	\
	X(resolved_person) X(handed_off) X(abandoned)			\
	X(first_responses) X(first_response_ms) X(resolutions)		\
	X(resolution_ms) X(thumbs_up) X(thumbs_down) X(ratings)		\
	X(rating_sum)

#define ST_REPORT_ENUM(m)	ST_RC_##m,
enum st_report_count {
	ST_REPORT_COUNTS(ST_REPORT_ENUM)
	ST_RC_N
};
#undef ST_REPORT_ENUM

struct st_report_get_req {
	uint64_t from, to;
	const char *widget;
	const char *agent;
};
struct st_report_hour {
	uint32_t hour;			/* since the epoch, UTC */
	uint64_t v[ST_RC_N];
};
struct st_report_agent {
	char *agent;			/* "" the default agent */
	uint64_t v[ST_RC_N];
};
struct st_report_rep {
	struct st_report_hour *hours;
	uint32_t n;
	struct st_report_agent *agents;
	uint32_t m;
	uint8_t ready;
	/* Today (UTC): the bounds a visitor meets, and what they counted. */
	uint64_t day_end;		/* ms since the epoch */
	uint32_t budget, turns;		/* the organisation's; 0 none */
	uint32_t cap, messages;		/* the widget asked for's; 0 none */
};

/* Rows on the wire: u32 hour or str agent (u32 length), the counts. */
#define ST_REPORT_HOUR_WIRE	(4 + 8 * ST_RC_N)
#define ST_REPORT_AGENT_WIRE_MAX	(4 + ST_ID_HEX + 8 * ST_RC_N)
_Static_assert((uint64_t)ST_REPORT_HOURS_MAX * ST_REPORT_HOUR_WIRE +
    (uint64_t)ST_REPORT_AGENTS_MAX * ST_REPORT_AGENT_WIRE_MAX + 64 + 24 <=
    PROTO_MAX_PAYLOAD, "a reply of the most hours and agents encodes");

/* A count's name ("conversations"), or NULL. */
const char *st_report_count_name(int);

#endif
