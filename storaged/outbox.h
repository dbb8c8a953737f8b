/*
 * The webhooks' outbox (issue 23, proto/hookmsg.h): deliveries written
 * in the transaction of the event that causes them, taken by the
 * notifier, answered, listed and retried (outbox.c). Conventions as in
 * store.h: each operation does nothing when t->err is set and returns
 * t->err; results are filled only on success.
 */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "hookmsg.h"
#include "stmsgs.h"
#include "store.h"

/*
 * An event of org (event: one ST_HE_* bit) made in t: one pending
 * delivery of payload (the event as ST_EV carries it) per enabled
 * webhook of org that wants it. Costs one index lookup when org has
 * none.
 */
int store_outbox_event(struct store_txn *, const char *org, uint32_t event,
    const void *payload, size_t len);
/*
 * ST_HOOK_DUE: up to q->max deliveries due at now, each with its
 * webhook's url and secret, leased (due again at now + q->lease_ms,
 * ST_HOOK_LEASE_MIN to _MAX), at most about ST_HOOK_DUE_BYTES of
 * payloads: the webhooks soonest due first, at most the room q gives
 * each (its held entry, else per_hook), a webhook's soonest due first;
 * with q->per_org, an organisation's jobs (what q->orgs says the notifier
 * holds of it, and those of this answer) at most per_org: a webhook of an
 * organisation at its share is passed by (each webhook looked at with
 * room costs a read of its record). out->more: due ones were left. A due
 * delivery whose webhook is gone or disabled fails instead. out is for store_hook_jobs_free (jobs, n).
 */
int store_hook_due(struct store_txn *, const struct st_hook_due_req *q,
    struct st_hook_jobs *out);
/*
 * ST_HOOK_RESULT: ok, delivered; else retried at retry_at, or failed
 * when 0 (its webhook's failures counted: ST_HOOK_FAILURES_OFF in a row
 * disable it). A delivery already finished is left as it is (a late
 * answer of a lease that ran out): 0.
 */
int store_hook_result(struct store_txn *, const char *id, int ok,
    uint32_t code, const char *error, uint32_t duration_ms,
    uint64_t retry_at);
/* ST_HOOK_DELIVERIES: org's webhook hook's, newest first, no payloads. */
int store_hook_deliveries(struct store_txn *, const char *org,
    const char *hook, uint32_t limit, const char *cursor,
    struct st_delivery **out, uint32_t *n, char *next_cursor);
/*
 * ST_HOOK_RETRY: org's webhook hook's delivery due now again; invalid
 * when its conversation or its contact was deleted (its payload erased).
 */
int store_hook_retry(struct store_txn *, const char *org, const char *hook,
    const char *id, struct st_delivery *out);
/* ST_HOOK_TEST: a webhook.test delivery of org's webhook hook, due now. */
int store_hook_test(struct store_txn *, const char *org, const char *hook,
    struct st_delivery *out);
/*
 * Every delivery of a webhook being deleted. (A conversation deleted
 * erases its deliveries' payloads: outbox_module's conv_deleted.)
 */
void store_outbox_hook_gone(struct store_txn *, const char *hook);
/*
 * A contact (id) deleted, erased or not: its events' deliveries
 * (contact.created, its details) keep no payload, listed by
 * contact_deliveries; a pending one fails ("contact deleted", not
 * counted against its webhook), none can be retried.
 */
void outbox_contact_gone(struct store_txn *, const uint8_t id[16]);
/*
 * A conversation (conv) kept when its contact (hex) is deleted: its
 * deliveries that named that contact (the conversation's visitorName,
 * the contact's name or email) name the made-up visitor instead,
 * pending and finished. As many as conv_deliveries lists of it.
 */
void outbox_conv_unlinked(struct store_txn *, const uint8_t conv[16],
    const char *contact);
/*
 * What the outboxes share (the webhooks' here, the mails' in mailbox.c):
 * a due index (u64 at | u64 seq, OUTQ_DUE_KEY_LEN bytes big-endian ->
 * version byte, org) and a sequence in meta.
 *
 * outq_due_move: seq's entry moves from at `from` to at `to` (0: none
 * there), its value the version byte and org (whose it is: a fair pick
 * reads it, mailbox.c).
 * outq_seq_next: the next number of the sequence kept in meta under key
 * (1, 2, ...); 0 with t failed.
 */
#define OUTQ_DUE_KEY_LEN	16
void outq_due_move(struct store_txn *, MDB_dbi due, uint64_t seq,
    uint64_t from, uint64_t to, const char *org);
uint64_t outq_seq_next(struct store_txn *, const char *key);
/*
 * The seqs of index's first keys prefix (plen bytes) | u64 seq, lowest
 * first, at most max, into seqs (*n). 0, or -1 with t failed.
 */
int outq_prefix_seqs(struct store_txn *, MDB_dbi index, const void *prefix,
    size_t plen, uint64_t *seqs, uint32_t max, uint32_t *n);
/*
 * An outbox's conversation index (conversation id[16] | u64 seq -> ():
 * the webhooks' conv_deliveries, the mails' conv_mails), so that a
 * conversation deleted finds what it wrote; and its contact index
 * (contact id[16] | u64 seq -> (): contact_deliveries, contact_mails),
 * so that a contact deleted finds what told of it.
 *
 * outq_id_set: the record stored under seq, of payload (an event as
 * ST_EV carries it), is in index (on) or not, under the id id_of reads
 * in the payload: pdec_event_conv (the conversation's id, its head) for
 * a conversation index, pdec_event_contact (the contact a contact event
 * saved) for a contact index; nothing when the payload names none
 * (empty, or another event).
 * outq_payload_id: that id, decoded into id: 0, or -1 when the payload
 * names none (as above).
 * outq_conv_take: every entry of conversation id goes, a batch at a
 * time; take(t, seq) after each, which loads the record (it may be gone)
 * and does what the deletion asks of it.
 * outq_conv_fill: once per data directory (its meta key `meta` unset: a
 * directory from before the index), each(t, seq) for every record of
 * recs (u64 seq -> record), which puts it in the index; then `meta` says
 * so (what names the records in the log, by what the index lists them
 * by). 0, or t's error.
 * outq_conv_take and outq_conv_fill serve a contact index as well (its
 * key is as long).
 */
void outq_id_set(struct store_txn *, MDB_dbi index,
    int (*id_of)(const void *, size_t, char *), const void *payload,
    size_t len, uint64_t seq, int on);
int outq_payload_id(int (*id_of)(const void *, size_t, char *),
    const void *payload, size_t len, uint8_t id[16]);
void outq_conv_take(struct store_txn *, MDB_dbi index, const uint8_t id[16],
    void (*take)(struct store_txn *, uint64_t seq));
/*
 * outq_conv_each: each(t, seq, arg) for every entry of conversation id,
 * the index left as it is (each may rewrite the records it names).
 * outq_event_unname: a record's payload (*payload, *len: an event as
 * ST_EV carries it, a delivery's or a mail's) whose conversation names
 * contact (hex) re-encoded in place (the old freed, the new the
 * record's) with the conversation's made-up visitor name in place of
 * the contact's name or email: 1, the record to save; 0 when it names
 * another or none (or does not decode), untouched; -1 t failed.
 */
void outq_conv_each(struct store_txn *, MDB_dbi index, const uint8_t id[16],
    void (*each)(struct store_txn *, uint64_t seq, const char *arg),
    const char *arg);
int outq_event_unname(struct store_txn *, uint8_t **payload, uint32_t *len,
    const char *contact);

int outq_conv_fill(struct store_txn *, MDB_dbi recs, const char *meta,
    void (*each)(struct store_txn *, uint64_t seq), const char *what,
    const char *by);
void store_deliveries_free(struct st_delivery *, uint32_t n);
void store_hook_jobs_free(struct st_hook_job *, uint32_t n);

#endif
