/*
 * Attachments (attstore.c, proto/attmsg.h): uploads in pieces, read back,
 * named by messages, deleted with their conversation. Conventions as in
 * store.h: each does nothing when t->err is set; errors stick in t.
 */
#ifndef PARLEY_ATTSTORE_H
#define PARLEY_ATTSTORE_H

#include <stdint.h>

#include "stmsgs.h"
#include "store.h"

/*
 * ST_ATT_NEW (a visitor's, through q's widget and token) and, admin,
 * ST_ATT_ADMIN_NEW (a person's: to a conversation of who asks's
 * organisation, t->org, or with no conversation for a canned reply of
 * it; author their user id, "" a key): a new upload, or out->result why
 * not. The client's bytes a window are the caller's to count (storaged's
 * rate table).
 */
int store_att_new(struct store_txn *, const struct st_att_new_req *q,
    int admin, const char *author, struct st_att_new_rep *out);
/* ST_ATT_PUT and, admin, ST_ATT_ADMIN_PUT. */
int store_att_put(struct store_txn *, const struct st_att_put_req *q,
    int admin, struct st_att_put_rep *out);
/*
 * ST_ATT_READ (any attachment a message names) and, admin,
 * ST_ATT_ADMIN_READ (t->org's): out->data points into t's map, valid
 * while t is open.
 */
int store_att_read(struct store_txn *, const struct st_att_read_req *q,
    int admin, struct st_att_read_rep *out);

/*
 * What a message names: its uploads' ids, and whose they must be: a
 * visitor's (session: its token's hash in hex, widget: its widget's
 * internal id) or, session NULL, a person's of the conversation's
 * organisation.
 */
struct att_claim {
	const struct st_str *ids;
	uint32_t n;
	const char *session;
	const char *widget;
};
/*
 * c's uploads named by message m of conversation cid (of org): each
 * whole and the claimer's, the conversation then holding at most
 * ST_ATT_PER_CONV_MAX; m->atts their descriptions. Else t fails
 * (PROTO_E_INVALID, "attachments: ..."). c NULL or empty: nothing.
 */
int att_claim(struct store_txn *, const struct att_claim *c,
    const uint8_t cid[16], const char *org, struct st_msg *m);
/*
 * A canned reply's files (*atts, *natts of them) become ids: those it
 * has stay, each other a whole upload of org's people made for no
 * conversation (then ST_ATT_CANNED, never swept), and those it no longer
 * names are deleted; *atts then theirs (calloc'd). Else t fails
 * (PROTO_E_INVALID, "attachments: ...") and *atts stays.
 */
int att_canned_set(struct store_txn *, const char *org,
    const struct st_str *ids, uint32_t n, struct st_msg_att **atts,
    uint32_t *natts);
/* A canned reply's n files deleted with their pieces (it is gone). */
void att_canned_drop(struct store_txn *, const struct st_msg_att *a,
    uint32_t n);
/*
 * At most max uploads whose time to be named has passed deleted with
 * their pieces (*n of them; *more when some are left).
 */
int store_att_sweep(struct store_txn *, uint32_t max, uint32_t *n,
    int *more);
/*
 * The uploads of the session of token hash that no message named yet
 * deleted with their pieces: its erasure leaves none of them (they would
 * wait their hour to be swept, and a backup meanwhile keep them).
 */
void att_session_gone(struct store_txn *,
    const uint8_t hash[ST_TOKEN_HASH_LEN]);
/* ST_ATT_EXTRACT_DUE: a PDF whose text to read, taken off the queue. */
int store_att_extract_due(struct store_txn *, struct st_att_due_rep *out);
/* ST_ATT_TEXT_PUT: a PDF's text kept with it (nothing when it is gone). */
int store_att_text_put(struct store_txn *, const struct st_att_text_req *q);
/* The bytes org's attachments hold, each piece once. */
uint64_t store_att_usage(struct store_txn *, const char *org);

#endif
