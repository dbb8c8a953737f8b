/*
 * A visitor session's conversations (issue 26, wsconvstore.c): the store
 * operations behind ST_WS_CONV_NEW, ST_WS_CONV_LIST and ST_WS_CONV_READ.
 * Same rules as store.h: each does nothing when t->err is set and returns
 * t->err; the reply is filled only on success (result ST_WS_* is no
 * error: NO_WIDGET, NO_SESSION, NO_CONV come back with t->err 0).
 */
#ifndef PARLEY_WSCONVS_H
#define PARLEY_WSCONVS_H

#include <stddef.h>
#include <stdint.h>

#include "stmsgs.h"
#include "store.h"

/*
 * The session under hash on widget widget_id (public) leaves its current
 * conversation (listed, and named in out->ended): its next message opens
 * another. A session with no conversation yet: OK, nothing written; no
 * session (the worker asks only for a stored one: it is gone):
 * NO_SESSION; origin, its socket's, no longer allowed: ORIGIN, nothing
 * written. In a write transaction.
 */
int store_ws_conv_new(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_ws_conv_new_rep *out);
/*
 * The session's conversations, newest first, at most ST_WS_CONVS_MAX
 * (NO_SESSION for a session not stored: the worker asks only for a
 * stored one, so it is gone); out->convs to free with
 * st_rep_free(PROTO_ST_WS_CONV_LIST, out).
 */
int store_ws_conv_list(struct store_txn *, const char *widget_id,
    const uint8_t hash[ST_TOKEN_HASH_LEN], struct st_ws_conv_list_rep *out);
/*
 * The newest messages of conversation conv_id (hex) when it is one of
 * the session's (else NO_CONV), as ST_WS_OPEN's history: at most
 * history_max and max_bytes (0 or over ST_WS_HISTORY_BYTES: that).
 * Freed with st_rep_free(PROTO_ST_WS_CONV_READ, out).
 */
int store_ws_conv_read(struct store_txn *, const char *widget_id,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const char *conv_id,
    uint32_t history_max, size_t max_bytes, struct st_ws_conv_read_rep *out);

#endif
