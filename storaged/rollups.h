/*
 * The reports' rollups (rollups.c, proto/reportmsg.h): each conversation's
 * counts summed per organisation, start hour, widget and agent, moved in
 * the transaction that changes the conversation. Errors as store.h.
 */
#ifndef PARLEY_ROLLUPS_H
#define PARLEY_ROLLUPS_H

#include <stdint.h>

#include "storeint.h"

/*
 * Conversation id is saved as c: its counts move from what the stored
 * record (old, NULL when none) counted to what c counts. Called by
 * conv_save(), which keeps c->reported as the stored record had it (a
 * new conversation's 1).
 */
void report_conv_saved(struct store_txn *t, const struct st_conv *old,
    const struct st_conv *c);
/*
 * Message m (stored, or being stored) counted into its conversation c:
 * the visitor's, an answer and its tokens, a person's first answer.
 */
void report_msg_counted(struct st_conv *c, const struct st_msg *m);
/*
 * ST_REPORT_GET: who asks's (t->org) rows of [from, to) into *out
 * (st_rep_free'd by the caller). 0, or t's error (`invalid`).
 */
int store_report_get(struct store_txn *t, const struct st_report_get_req *q,
    struct st_report_rep *out);
/*
 * The sweep's step: up to max conversations stored before the reports
 * counted in (their messages counted); *n how many, *more 1 while some
 * are left.
 */
int store_report_backfill(struct store_txn *t, uint32_t max, uint32_t *n,
    int *more);

extern const struct store_module report_module;

#endif
