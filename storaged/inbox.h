/*
 * The inbox (issue 24, proto/inboxmsg.h): what each dashboard user has
 * read, the names and unread state a conversation is answered with, and
 * each organisation's canned replies. Conventions as in store.h: each
 * operation does nothing when t->err is set and returns t->err.
 */
#ifndef PARLEY_INBOX_H
#define PARLEY_INBOX_H

#include <stdint.h>

#include "inboxmsg.h"
#include "store.h"

/*
 * What storaged fills in c when it answers (st_conv): visitor_name (its
 * contact's name, else email, else the name made from its session) and,
 * for user (NULL or "": nobody, 0), unread: a visitor message newer
 * than the user's mark. One lookup of each per conversation.
 */
void store_conv_view(struct store_txn *, const char *user, struct st_conv *c);
/* store_conv_view of each of n; list rows drop the visitor's details. */
void store_convs_view(struct store_txn *, const char *user,
    struct st_conv *cs, uint32_t n, int list);
/*
 * ST_CONV_READ: user (NULL or "": a key, nothing written) has read
 * conversation conv_id (of t->org) up to its visitor_at.
 */
int store_conv_read(struct store_txn *, const char *user,
    const char *conv_id);
/* Every read mark of a user being deleted. */
void store_user_reads_gone(struct store_txn *, const char *user);

/* ST_CANNED_LIST: org's canned replies by shortcut (at most 200). */
int store_canned_list(struct store_txn *, const char *org,
    struct st_canned **out, uint32_t *n);
/* ST_CANNED_PUT: a new one (id "") or org's reply id replaced. */
int store_canned_put(struct store_txn *, const char *org,
    const struct st_canned_put_req *, struct st_canned *out);
/* ST_CANNED_DELETE. */
int store_canned_delete(struct store_txn *, const char *org, const char *id);
/* A deleted organisation's: at most max of them. */
int store_org_canned_sweep(struct store_txn *, const char *org,
    uint32_t max, uint32_t *n);
void store_canneds_free(struct st_canned *, uint32_t n);

#endif
