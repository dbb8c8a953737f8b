/*
 * Email notifications (issue 23, item 4; proto/mailmsg.h): each user's
 * choice of emails, and the mail outbox: mails written in the
 * transaction of the event that causes them, taken by the notifier and
 * answered (mailbox.c). Conventions as in store.h: each operation does
 * nothing when t->err is set and returns t->err; results are filled only
 * on success.
 */
#ifndef PARLEY_MAILBOX_H
#define PARLEY_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mailmsg.h"
#include "store.h"

struct st_event;

/* SMTP_URL is set (on): events write mails; off: none is written. */
void store_mail_settings(struct store *, int on);
/* A user deleted: their choice goes. */
void store_mail_user_gone(struct store_txn *, const char *user);
/*
 * A contact (id) deleted, erased or not: its pending "new contact" mails
 * (ST_MAIL_CONTACT, its details), listed by contact_mails, go as a sent
 * one does; at most its organisation's ST_MAIL_PENDING_MAX.
 */
void store_mail_contact_gone(struct store_txn *, const uint8_t id[16]);
/*
 * A conversation (conv) kept when its contact (hex) is deleted: its
 * pending mails that named that contact (the conversation's visitor
 * name, the contact's name or email) name the made-up visitor instead.
 */
void store_mail_conv_unlinked(struct store_txn *, const uint8_t conv[16],
    const char *contact);
/*
 * A deleted organisation's mail bounds (orgstore.c's sweep): at most max
 * of its kinds' windows go, each with its summary mail still pending; *n
 * how many (0: none is left).
 */
int store_org_mail_sweep(struct store_txn *, const char *org, uint32_t max,
    uint32_t *n);
/* ST_NOTIFY_GET: user's choice (ST_MAIL_* bits; 0 when never set). */
int store_notify_get(struct store_txn *, const char *user, uint32_t *mask);
/* ST_NOTIFY_SET: user's choice becomes mask (only ST_MAIL_ALL bits). */
int store_notify_set(struct store_txn *, const char *user, uint32_t mask);
/*
 * An event of org about conversation conv (hex) made in t, of mail kind
 * (one ST_MAIL_* bit; 0 none): one pending mail of payload (the event as
 * ST_EV carries it) to the enabled members of org who chose that kind,
 * at most ST_MAIL_RCPT_MAX, due now (ST_MAIL_WAITING: ST_MAIL_QUIET_MS
 * later, and not sent when by then an agent wrote in conv or it left
 * `human`). None when email is off, nobody chose it, org holds
 * ST_MAIL_PENDING_MAX pending (logged), or, for ST_MAIL_WAITING, such a
 * mail of conv is younger than ST_MAIL_WAITING_EVERY_MS. Of a kind of
 * ST_MAIL_BOUNDED past ST_MAIL_BOUND in its window: none, the event
 * counted in the window's summary mail instead (held; made by the first,
 * due as the window ends, to those who want the kind at the last).
 */
int store_mail_event(struct store_txn *, const char *org, const char *conv,
    uint32_t kind, const void *payload, size_t len);
/*
 * The mail kind (one ST_MAIL_* bit) an event may make, or 0: a handoff
 * asked for, a new contact, a visitor's message in handoff state human.
 */
uint32_t store_event_mail(const struct st_event *);
/*
 * ST_MAIL_DUE: up to max (1 to ST_MAIL_DUE_MAX) mails due at now, the
 * organisations in turn (each its oldest due first: one's backlog holds
 * no other's mail behind it), each leased (due again at now + lease_ms,
 * 1 s to 1 h); *out freed as the reply's list (st_rep_free of a struct
 * st_mails).
 */
int store_mail_due(struct store_txn *, uint32_t max, uint32_t lease_ms,
    struct st_mail **out, uint32_t *n);
/*
 * ST_MAIL_RESULT: ok, sent (the mail goes); else retried at retry_at,
 * for those of its recipients in keep when nkeep > 0 (the rest got it or
 * refused it for good), or dropped when retry_at is 0 (logged). A mail
 * no longer there (a late answer): 0.
 */
int store_mail_result(struct store_txn *, const char *id, int ok,
    const char *error, uint64_t retry_at, const struct st_str *keep,
    uint32_t nkeep);
/*
 * ST_MAIL_CHECK: 0 while the mail id is pending (leased or not); `not
 * found` once it is gone: its conversation or contact deleted (or
 * erased) since it was leased, or answered. Reads only. The notifier
 * asks right before it ends the mail's message, and sends nothing when
 * it is gone.
 */
int store_mail_check(struct store_txn *, const char *id);

#endif
