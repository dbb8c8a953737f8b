/*
 * Knowledge gaps (gapstore.c, proto/gapmsg.h): the questions the
 * assistant could not answer. Conventions as in store.h: each does
 * nothing when t->err is set; errors stick in t.
 */
#ifndef PARLEY_GAPSTORE_H
#define PARLEY_GAPSTORE_H

#include <stdint.h>

#include "stmsgs.h"
#include "store.h"

/*
 * The visitor's last question in conversation c (cid) before message
 * seq before (UINT32_MAX: its last), small talk looked back past (a
 * handful of messages): on, a gap for reasons (ST_GAP_*, or'ed with the
 * ones it has); off, those reasons taken off its gap, which goes when
 * none is left. No question found: nothing.
 */
void gap_mark(struct store_txn *, const uint8_t cid[16],
    const struct st_conv *c, uint32_t before, uint8_t reasons, int on);
/*
 * Answer m (seq in conversation c, cid) just stored: a gap of its
 * question when its search found nothing or it says it does not know.
 */
void gap_answered(struct store_txn *, const uint8_t cid[16],
    const struct st_conv *c, const struct st_msg *m, uint32_t seq);
/* ST_GAP_LIST: who asks's organisation's (t->org), newest first. */
int store_gap_list(struct store_txn *, const struct st_gap_list_req *,
    struct st_gap_list_rep *out);
/* ST_GAP_DELETE: those of t->org deleted, out->v how many. */
int store_gap_delete(struct store_txn *, const struct st_gap_delete_req *,
    struct st_u64 *out);

#endif
