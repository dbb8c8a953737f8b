/*
 * The audit log of each organisation (issue 22, proto/keymsg.h), kept by
 * auditstore.c. Which requests leave an entry, and what it says, is
 * their rows in storaged's table (optab.c): dispatch.c hands every
 * request that ends well to store_audit_request() inside the request's
 * own transaction, so the entry is written with the change it records,
 * or neither is. Errors as store.h.
 */
#ifndef PARLEY_AUDITSTORE_H
#define PARLEY_AUDITSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "keymsg.h"
#include "stmsgs.h"
#include "store.h"
#include "storemsg.h"

/* What a request that ran well says to the audit: see store_audit_request. */
struct audit_req {
	uint16_t type;
	const struct st_who *who;	/* NULL: nobody (no entry) */
	const void *req;		/* the decoded request (stmsgs.h) */
	const void *payload;		/* its payload, after who asks */
	size_t len;
};

/*
 * When q's row (optab.c) has an audit and who asks acts in an
 * organisation, appends its entry (the action, who, the target id taken from the
 * request or the reply rep) to that organisation's log, dropping the
 * oldest past ST_AUDIT_MAX. Nothing for any other request. 0, or t's
 * error.
 */
int store_audit_request(struct store_txn *, const struct audit_req *q,
    const void *rep, size_t replen);
/* Appends e (its at set here) to org's log, bounded as above. */
int store_audit_add(struct store_txn *, const char *org,
    struct st_audit_entry *e);
/*
 * ST_AUDIT_LIST: a page of org's entries, newest first: limit 1-200,
 * cursor "" or a previous page's next_cursor. out->entries (out->n) and
 * out->next_cursor are malloc'd (st_rep_free of ST_AUDIT_LIST).
 */
int store_audit_page(struct store_txn *, const char *org, uint32_t limit,
    const char *cursor, struct st_audit_page *out);
/*
 * A deleted organisation's sweep (orgstore.c): at most max of org's
 * entries deleted, oldest first, its count with them; *n how many.
 */
int store_org_audit_sweep(struct store_txn *, const char *org, uint32_t max,
    uint32_t *n);

#endif
