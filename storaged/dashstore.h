/*
 * The dashboard's storage (proto/dashmsg.h): owner sessions, the
 * conversation query (per-widget index, search), deletion and message
 * paging. Conventions as in store.h: each operation does nothing when
 * t->err is set and returns t->err; results are filled only on success.
 */
#ifndef PARLEY_DASHSTORE_H
#define PARLEY_DASHSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "dashmsg.h"
#include "store.h"

/* What store_dash_check() returns. */
struct store_dash_check {
	int valid;		/* stored, not expired, made under fp */
	char csrf[ST_DASH_CSRF_LEN + 1];	/* when valid */
	uint64_t expires_at;			/* when valid */
};

/* What store_msg_page() returns. */
struct store_msg_page {
	uint32_t n;
	struct st_msg *msgs;	/* n, oldest first */
	uint32_t next;		/* position after the last; 0 = no more */
};

/*
 * Stores an owner session (hash: ST_DASH_HASH_LEN bytes, fp:
 * ST_DASH_FP_LEN, csrf: ST_DASH_CSRF_LEN lowercase hex, expires_at in
 * the future), after deleting the expired ones and, at
 * ST_DASH_SESSIONS_MAX, the one that expires first.
 */
int store_dash_login(struct store_txn *, const uint8_t *hash, size_t hlen,
    const char *csrf, const uint8_t *fp, size_t fplen, uint64_t expires_at);
/* Reads only. */
int store_dash_check(struct store_txn *, const uint8_t *hash, size_t hlen,
    const uint8_t *fp, size_t fplen, struct store_dash_check *out);
/* An unknown session is not an error. */
int store_dash_logout(struct store_txn *, const uint8_t *hash, size_t hlen);
/* ST_DASH_SALT: the install's fingerprint salt (made at open). 0 or err. */
int store_dash_salt(struct store_txn *, uint8_t salt[ST_DASH_SALT_LEN]);

/*
 * ST_CONV_LIST with a widget filter (widget "" = every widget) and a
 * search (q "" = none), as dashmsg.h says. out->total is the count
 * without q.
 */
int store_conv_query(struct store_txn *, uint32_t limit, const char *cursor,
    const char *widget, const char *q, struct store_list *out);
/* The conversation, its messages and every index entry naming it. */
int store_conv_delete(struct store_txn *, const char *conv_id);
/*
 * At most limit messages from position from, oldest first, within
 * max_bytes of encoded messages (at least one when any is left).
 */
int store_msg_page(struct store_txn *, const char *conv_id, uint32_t from,
    uint32_t limit, size_t max_bytes, struct store_msg_page *out);
void store_msg_page_free(struct store_msg_page *);
/*
 * ST_PURGE (ctlmsg.h): deletes up to max conversations whose updated_at
 * is before cutoff, oldest of each widget first; *more is 1 when some
 * are left. dry_run deletes nothing and counts them all.
 */
int store_purge(struct store_txn *, uint64_t cutoff, uint32_t max,
    int dry_run, uint32_t *n, int *more);

#endif
