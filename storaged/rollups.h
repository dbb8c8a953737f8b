/*
 * The reports' rollups (rollups.c, proto/reportmsg.h): each conversation's
 * counts summed per organisation, start hour, widget and agent, moved in
 * the transaction that changes the conversation. Errors as store.h.
 */
#ifndef PARLEY_ROLLUPS_H
#define PARLEY_ROLLUPS_H

#include <stdint.h>

#include "storeint.h"

/* The longest key of a report row: org NUL u32 hour | widget NUL agent. */
#define REPORT_KEY_MAX	(ST_WHO_ORG_MAX + 1 + 4 + ST_WIDGET_MAX + 1 + \
	ST_ID_HEX)

/*
 * What the reports counted of a conversation as stored: its counts, its
 * row's key and its reported flag (report_conv_was), not the whole
 * record (2.4 KiB) kept to read them.
 */
struct report_was {
	uint64_t n[ST_RC_N];
	uint8_t key[REPORT_KEY_MAX];
	size_t klen;
	int reported;
};

/* w = what the reports count of conversation c as it is now. */
void report_conv_was(struct report_was *w, const struct st_conv *c);
/*
 * Conversation id is saved as c: its counts move from what the stored
 * record counted (old: report_conv_was of it, NULL when none) to what c
 * counts. Called by conv_save(), which keeps c->reported as the stored
 * record had it (a new conversation's 1).
 */
void report_conv_saved(struct store_txn *t, const struct report_was *old,
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
