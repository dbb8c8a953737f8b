/*
 * Feedback (issue 26; feedbackstore.c, proto/feedbackmsg.h): a visitor's
 * thumbs and rating, and the organisation's counts of them. Errors as
 * store.h: each does nothing when t->err is set; 0 or t's error.
 */
#ifndef PARLEY_FEEDBACK_H
#define PARLEY_FEEDBACK_H

#include "feedbackmsg.h"
#include "store.h"

/*
 * ST_WS_FEEDBACK: the thumb q->value on the session's assistant message
 * q->msg_id, counted; rep->result says whose it was (feedbackmsg.h).
 */
int store_ws_feedback(struct store_txn *, const struct st_ws_feedback_req *q,
    struct st_ws_feedback_rep *rep);
/* ST_WS_RATING: the session's conversation rated (`invalid` out of bounds). */
int store_ws_rating(struct store_txn *, const struct st_ws_rating_req *q,
    struct st_ws_rating_rep *rep);
/*
 * ST_FEEDBACK_SUMMARY: org's counts summed, in total, per widget and per
 * agent (proto/feedbackmsg.h); out is freed by its layout (st_rep_free),
 * after a failure too.
 */
int store_fb_summary(struct store_txn *, const char *org,
    struct st_fb_summary *out);

#endif
