/*
 * Feedback (issue 26): a visitor's thumb on an assistant answer, a
 * visitor's 1-5 rating of a conversation, and the owner's summary of
 * them. Conventions as in storemsg.h; storaged/STORAGE.md ("Feedback")
 * tells what storaged keeps, proto/PROTOCOL.md lists the types.
 *
 *   ST_WS_FEEDBACK  str widget_id, bytes token_hash (32), str conv_id
 *                   ("" = the session's current one), str msg_id,
 *                   u8 value (enum st_feedback: 0 takes it back),
 *                   str origin
 *                                          -> u8 result, u8 changed
 *     The socket's origin still allowed (else ORIGIN, as ST_WS_BEGIN's).
 *     The visitor's session (the token's, of that widget, live) must
 *     own the conversation (its session), and msg_id must be one of
 *     its assistant messages: else NO_SESSION, NO_CONV, or NO_MSG;
 *     `invalid` when the widget's feedback_enabled is off.
 *     The message's feedback is set, and the organisation's
 *     feedback_counts row of (widget, agent) moves with it; changed 0
 *     when it held that value already (nothing written).
 *   ST_WS_RATING    str widget_id, bytes token_hash (32), str conv_id
 *                   ("" = current), u8 score (1-5), str comment
 *                   (<= ST_RATING_COMMENT_CHARS characters), str origin
 *                                          -> u8 result
 *     The conversation's rating (the last one counts: a rating given
 *     again replaces the one before in the counts); results as above.
 *     `invalid` for a score or comment out of bounds, or when the
 *     widget's rating_enabled is off.
 *   ST_FEEDBACK_SUMMARY (empty)
 *          -> u64 up, u64 down, u64 ratings, u64 rating_sum, u8 cut,
 *             u32 nw, nw x row, u32 na, na x row
 *     Who asks's organisation's counts summed: first over every row (the
 *     total), then per widget and per agent, each a row of str id (the
 *     widget's internal id; the agent's, "" the default agent), str name
 *     ("" when gone, and for the default agent), u64 up, u64 down,
 *     u64 ratings, u64 rating_sum. storaged sums them (an organisation's
 *     (widget, agent) rows are many more than its widgets and agents).
 *     Each list most answers rated first (then most ratings, then id),
 *     at most ST_FB_LIST_MAX: cut 1 when one was cut there (the total
 *     still counts every row).
 */
#ifndef PARLEY_FEEDBACKMSG_H
#define PARLEY_FEEDBACKMSG_H

#include <stdint.h>

#include "agentmsg.h"
#include "storemsg.h"
#include "widgetmsg.h"

/* The widgets, and the agents, one summary lists at most. */
#define ST_FB_LIST_MAX		5000

struct st_ws_feedback_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *conv_id;
	const char *msg_id;
	uint8_t value;		/* enum st_feedback */
	const char *origin;	/* the socket's Origin: still allowed? */
};
struct st_ws_feedback_rep {
	uint8_t result;		/* ST_WS_OK, NO_WIDGET, NO_SESSION, NO_CONV, NO_MSG */
	uint8_t changed;
};
struct st_ws_rating_req {
	const char *widget_id;
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	const char *conv_id;
	uint8_t score;		/* 1-5 */
	const char *comment;
	const char *origin;	/* the socket's Origin: still allowed? */
};
struct st_ws_rating_rep {
	uint8_t result;		/* ST_WS_OK, NO_WIDGET, NO_SESSION, NO_CONV */
};
struct st_fb_row {
	const char *id, *name;
	uint64_t up, down, ratings, rating_sum;
};
struct st_fb_summary {
	struct st_fb_row total;		/* id and name NULL */
	uint8_t cut;
	struct st_fb_row *widgets, *agents;
	uint32_t nw, na;
};

/* A row on the wire at most: id, name (u32 length each), four u64. */
#define ST_FB_ROW_WIRE_MAX	(4 + ST_WIDGET_MAX + 4 + 4 * ST_NAME_MAX + 32)
_Static_assert(ST_WIDGET_MAX >= ST_ID_HEX && ST_NAME_MAX >= ST_AGENT_NAME_MAX,
    "a row's bounds hold a widget's and an agent's");
_Static_assert(2ull * ST_FB_LIST_MAX * ST_FB_ROW_WIRE_MAX + 64 <=
    PROTO_MAX_PAYLOAD, "a summary of the most rows encodes");

#endif
