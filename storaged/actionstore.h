/*
 * An organisation's actions (actionstore.c, proto/actionmsg.h): the HTTP
 * tools its agents' turns may call, a records.c entity. Errors as
 * store.h: each call does nothing when t->err is set and returns t's
 * sticky error.
 */
#ifndef PARLEY_ACTIONSTORE_H
#define PARLEY_ACTIONSTORE_H

#include <stdint.h>

#include "actionmsg.h"
#include "storeint.h"

/*
 * A chat turn's tools: q->org's actions among q->ids that exist and are
 * enabled (or not, with q->disabled_too: a dry run's), in the order
 * asked, headers and all, into out (freed by st_rep_free of
 * ST_ACTION_TOOLS).
 */
int store_action_tools(struct store_txn *, const struct st_action_tools_req *q,
    struct st_actions *out);

#endif
