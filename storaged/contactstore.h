/*
 * Contacts in LMDB (issue 5, contactstore.c): the store operations
 * behind ST_CONTACT_SUBMIT, ST_CONTACT_LIST, ST_CONTACT_GET and
 * ST_CONTACT_ERASE. Same rules as store.h: each operation does nothing
 * when t->err is set and returns t->err; results are filled only on
 * success.
 */
#ifndef PARLEY_CONTACTSTORE_H
#define PARLEY_CONTACTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "stmsgs.h"
#include "widgetmsg.h"

/* How a conversation came to its contact (a contact_convs entry). */
struct store_clink {
	int unverified;		/* a visitor named a contact it did not make */
	char *name, *email, *phone;	/* what it submitted; NULL verified */
};

struct store_contact_full {
	struct st_contact contact;
	uint32_t n;
	struct st_conv *convs;		/* n, newest activity first */
	struct store_clink *links;	/* n, convs[i]'s link */
	uint64_t total;			/* ST_CONTACT_GET's: all of them */
	char next_cursor[ST_CURSOR_MAX + 1];	/* "" = no more */
};

/*
 * NULL when the contact fields are acceptable (at least one given, email
 * and phone valid, name at most ST_CONTACT_NAME_MAX characters), else
 * "field: what is wrong".
 */
const char *store_contact_invalid(const char *name, const char *email,
    const char *phone);
/*
 * *result ST_WS_OK (out set: the contact as stored), NO_WIDGET, ORIGIN
 * (origin, the socket's, no longer allowed: nothing written),
 * NO_SESSION, TOO_MANY (the session's ST_CONTACT_SUBMITS_MAX are used:
 * nothing written) or IDENTITY (the widget takes only verified visitors
 * and the session's own identify verified none: nothing written). A contact the session did not make is never changed:
 * the session and its conversation are linked to it unverified, with what
 * was submitted kept on the link. A token_hash that names no session
 * makes one with create (a new visitor's first contact submission);
 * without, it is NO_SESSION (the socket's stored session is gone:
 * nothing written). *created: 1
 * when the contact was made by this submission. A widget in
 * contact_info_mode required keeps only the fields it asks for
 * (contactstore.c's contact_kept): a submission that leaves none of
 * them, or, from a session without a contact yet, none of its collect_*
 * fields, fails the txn with PROTO_E_INVALID (nothing written).
 */
int store_contact_submit(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    int create, const char *name, const char *email, const char *phone,
    int *result, struct st_contact *out, int *created);
/*
 * Whether conversation c, just made, is its contact's first and the
 * contact was never announced (a contact left before any conversation,
 * or a verified identify's, is announced with it; one whose only
 * conversation was deleted was announced already): 1 with out loaded
 * (st_contact_free it) and the contact marked announced, 0 not, -1
 * error.
 */
int store_contact_announce_first(struct store_txn *, const struct st_conv *c,
    struct st_contact *out);
/*
 * A conversation contact id (hex) is linked to (in the order of their
 * ids), into conv: 1 loaded (st_conv_free it), 0 none, -1 error.
 */
int store_contact_linked_conv(struct store_txn *, const char *id,
    struct st_conv *conv);
/*
 * Marks contact id (hex) announced (its contact.created webhook and
 * mail made): nothing when it is gone. The txn's error.
 */
int store_contact_announced(struct store_txn *, const char *id);
/*
 * Whether session s (its token_hash) is a verified visitor's: its own
 * identify linked it to a verified contact, checked against secret, its
 * widget's identity secret now (one changed or removed since verifies
 * nothing). 1 it is, 0 not, -1 error.
 */
int store_wsess_verified(struct store_txn *, const uint8_t
    token_hash[ST_TOKEN_HASH_LEN], const struct st_wsess *s,
    const char *secret);
/*
 * ST_WS_IDENTIFY (widgetmsg.h): rep says how it went; when verified, out
 * is the contact as stored (else zeroed). Nothing is written unless
 * verified, nor when the socket's origin is no longer allowed (ORIGIN).
 * No session under the token is NO_SESSION without q->create (the
 * socket's stored session is gone), checked before the hash as a session
 * of another widget or idle past its span is: nothing written.
 * A new visitor's session (q->create) is made only when may_create
 * (NULL: always) answers 0 for it (arg, the widget's internal id), asked before
 * anything is written: else nothing is, rep->result is ST_WS_BUSY and the
 * caller has may_create's answer (a write cannot be undone alone in a
 * batch's own txn). *created: 1 when the identify made the contact. The
 * txn's error.
 */
int store_ws_identify(struct store_txn *, const struct st_ws_identify_req *,
    int (*may_create)(void *arg, const char *widget), void *arg,
    struct st_ws_identify_rep *rep, struct st_contact *out, int *created);
/*
 * A deleted organisation's contacts (issue 22, orgstore.c's sweep): at
 * most max of them removed, with their index keys and links; *n how many
 * (0: none are left).
 */
int store_org_contacts_sweep(struct store_txn *, const char *org,
    uint32_t max, uint32_t *n);
/*
 * ST_CONTACT_ERASE (issue 22): the contact leaves every answer at once
 * (record, email and phone keys) and is noted in contact_gone; then, in
 * steps of at most max conversations (the first step's: STORE_DELETE_MIN,
 * then as many as STORE_DELETE_US gives time for), every conversation
 * linked to it is deleted with its messages and every visitor session naming it with its
 * claims (erase), or they are kept and unlinked (!erase). The first step
 * runs here, with at most STORE_DELETE_MSGS messages of the conversations
 * it deletes (t->msgs_now); *done 1 when that finished it and none of
 * them left messages for the sweep, else the sweep goes on
 * (store_contact_gone_sweep, store_msgs_gone_sweep).
 * Another organisation's contact is not found.
 */
#define CONTACT_ERASE_STEP	256	/* conversations ST_CONTACT_ERASE ends */
int store_contact_erase(struct store_txn *, const char *contact_id,
    int erase, uint32_t max, int *done);
/*
 * ST_CONTACT_ERASING: *erasing 1 while the erasure or deletion of
 * contact_id (ST_CONTACT_ERASE) by t->org (NULL: any) is not finished,
 * its conversations' messages included; 0 for a contact of t->org's
 * that none is under way for. 0, or t's error: not found once nothing of
 * it is left (and for an unknown id or another organisation's), invalid
 * for an id that is not 32 lowercase hex.
 */
int store_contact_erasing(struct store_txn *, const char *contact_id,
    int *erasing);
/*
 * One step of the first contact in contact_gone, at most max
 * conversations (*n of them), none more once deadline (proto_mono_us();
 * 0: none) has passed; *more 1 when one was there (call again).
 */
int store_contact_gone_sweep(struct store_txn *, uint32_t max,
    uint64_t deadline, uint32_t *n, int *more);
/*
 * ST_CONTACT_LIST: a page of contacts (t's organisation's), newest first,
 * into out, owned by it (st_rep_free) or left zero on failure.
 */
int store_contact_list(struct store_txn *, uint32_t limit,
    const char *cursor, struct st_contact_page *out);
/*
 * ST_CONTACT_GET: the contact and a page of its conversations, newest
 * activity first: at most limit (1..ST_LIST_MAX) after cursor ("" from
 * the first, else st_contact_cursor_valid: else PROTO_E_INVALID), total
 * all of them, next_cursor the page's last when more follow, else "".
 */
int store_contact_get(struct store_txn *, const char *contact_id,
    uint32_t limit, const char *cursor, struct store_contact_full *out);
/*
 * f as ST_CONTACT_GET's reply rep: the contact and its conversations
 * (with total and next_cursor),
 * their links pointing at f's strings (rep->links, malloc'd, to free
 * before f). 0, or -1 out of memory.
 */
int store_contact_get_rep(struct st_contact_get_rep *rep,
    const struct store_contact_full *f);
/*
 * ST_CONTACT_CONVS: the contact's conversations after cursor ("" from the
 * first, else a conversation id), in id order, at most ST_LIST_MAX, with
 * their links; next_cursor the last when the page is full, else "".
 */
int store_contact_convs(struct store_txn *, const char *contact_id,
    const char *cursor, struct store_contact_full *out);

/*
 * ST_CONTACT_SESSIONS: the visitor sessions naming the contact, with
 * their last submission, from after cursor (64 hex of a token hash, ""
 * from the first): at most CONTACT_SESS_SCAN sessions are looked at and
 * ST_LIST_MAX taken; next_cursor is the last looked at, "" at the end.
 * out is owned by it (st_rep_free) or left zero on failure.
 */
int store_contact_sessions(struct store_txn *, const char *contact_id,
    const char *cursor, struct st_contact_sess_rep *out);
/*
 * c's visitor_name (issue 24): its contact's name, else its email, else
 * st_visitor_name_gen of its session. One contact lookup at most.
 */
void store_visitor_name(struct store_txn *, struct st_conv *c);
void store_contact_full_free(struct store_contact_full *);
void store_clink_free(struct store_clink *);

#endif
