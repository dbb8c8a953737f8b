/*
 * Webhooks (issue 23, its first slice): an organisation's endpoints, the
 * record and the payloads of their storaged requests. Conventions as in
 * storemsg.h (big-endian, str = u32 length + bytes, records behind a
 * one-byte format version in LMDB). storaged/STORAGE.md tells what
 * storaged does with each request; proto/PROTOCOL.md lists them.
 *
 * The secret ("whsec_" + base64 of 32 random bytes, Standard Webhooks) is
 * made by the worker and kept by storaged: the notifier signs with it.
 * Only ST_HOOK_CREATE's and ST_HOOK_SECRET's replies hold it; every other
 * reply has it empty. A secret rotated (ST_HOOK_SECRET) is kept as the
 * previous one for ST_HOOK_SECRET_OVERLAP, deliveries signed with both
 * meanwhile (a receiver moves to the new one without dropping any); no
 * reply ever holds the previous one.
 * Every request is led by who asks and acts in its organisation:
 *
 *   ST_HOOK_CREATE  webhook (id, times, failures ignored) -> webhook
 *   ST_HOOK_UPDATE  str id, u32 mask (ST_HF_*), webhook
 *                   (only the masked fields are read)     -> webhook
 *   ST_HOOK_GET     str id                                -> webhook
 *   ST_HOOK_LIST    (empty)        -> u32 n, n x webhook (oldest first)
 *   ST_HOOK_DELETE  str id                                -> (empty)
 *   ST_HOOK_SECRET  str id, str secret (the new one, made by the worker)
 *                   -> webhook, with the new secret (the previous one
 *                   kept, never shown, until previous_secret_until:
 *                   now + ST_HOOK_SECRET_OVERLAP, and dropped from the
 *                   record within a minute after by storaged's sweep;
 *                   one rotated before is dropped)
 *     `not found` also for another organisation's webhook.
 *
 * A webhook: its rows in order (ST_WEBHOOK_ROWS, recordtab.h): str id
 * ("wh_" + 32 lowercase hex), str org, str url (1-2048 bytes, http or
 * https: the worker checks where it points), u32 events (ST_HE_* bits, at
 * least one), u8 enabled, str secret, u64 created_at, u64 updated_at, u32
 * failures (deliveries failed in a row), u64 disabled_at (0: not turned
 * off by its failures); format 2: str previous_secret (a rotated one, ""
 * none), u64 previous_secret_until (0 none).
 *
 * The outbox (issue 23, item 1): a request that makes an event (a
 * conversation, a message, a handoff, a contact) writes, in its own
 * transaction, one delivery per enabled webhook of the conversation's
 * organisation that wants it. The notifier takes the due ones and says
 * how each went; a delivery it took and never answered is due again
 * when its lease ends (a crash loses none: at least once).
 *
 *   ST_HOOK_DUE         u32 max (1-64), u32 lease_ms (1000-3600000:
 *                       PARLEY_NOTIFY_LEASE_MS), u32 per_hook (1-64),
 *                       u32 n, n x (str hook id, u32 room) (at most
 *                       256), u32 per_org (0-256), u32 n, n x (str org,
 *                       u32 held) (at most 256, their held 256 in all)
 *                       -> u32 n, n x job, u8 more (the notifier; each
 *                       job leased for lease_ms; at most about 1 MiB of
 *                       payloads; at most room jobs of a webhook listed,
 *                       per_hook of another, webhooks whose deliveries
 *                       are due first before the others; an
 *                       organisation's share: with per_org, none of a
 *                       webhook whose organisation's held, listed, and
 *                       the jobs of this answer reach per_org, so that
 *                       one organisation's slow receivers never hold
 *                       every slot; 0: no share; more: due ones were
 *                       left)
 *   ST_HOOK_RESULT      str id, u8 ok, u32 code, str error, u32
 *                       duration_ms, u64 retry_at (0: no retry left)
 *                                                        -> (empty)
 *   ST_HOOK_DELIVERIES  str hook id, u32 limit, str cursor
 *                       -> u32 n, n x delivery (newest first, no
 *                          payload), str next cursor
 *   ST_HOOK_RETRY       str hook id, str delivery id -> delivery (due
 *                       now again; `not found` unless it is that hook's)
 *   ST_HOOK_TEST        str hook id       -> delivery (a webhook.test)
 *
 * A delivery: its rows in order (ST_DELIVERY_ROWS, recordtab.h): str
 * id ("dlv_" + 16 hex), str hook, str org, u32 event (one ST_HE_* bit, or
 * ST_HE_TEST), u8 status (ST_DLV_*), u32 attempts, u64 created_at, u64
 * next_at, u64 updated_at, u32 code (the last answer's HTTP status, 0
 * none), str error (the last failure, "" none), u32 duration_ms (the last
 * attempt's), bytes payload (the event as ST_EV carries it, agentmsg.h;
 * empty in lists). A job: delivery, str url, str secret, str previous
 * secret ("" none, or past its overlap).
 */
#ifndef PARLEY_HOOKMSG_H
#define PARLEY_HOOKMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_HOOKS_MAX		20	/* per organisation */
#define ST_HOOK_PREFIX		"wh_"
#define ST_HOOK_ID_LEN		(3 + ST_ID_HEX)
#define ST_HOOK_URL_MAX		2048
/* "whsec_" and base64 of 24 to 64 bytes. */
#define ST_HOOK_SECRET_MAX	96
/* A rotated secret still signs, beside the new one, this long (ms). */
#define ST_HOOK_SECRET_OVERLAP	(24ull * 3600 * 1000)

/* The events a webhook may want (its `events`). */
#define ST_HE_CONV_CREATED	0x0001	/* conversation.created */
#define ST_HE_MESSAGE_CREATED	0x0002	/* message.created */
#define ST_HE_HANDOFF_REQUESTED	0x0004	/* handoff.requested */
#define ST_HE_HANDOFF_CHANGED	0x0008	/* handoff.changed */
#define ST_HE_CONTACT_CREATED	0x0010	/* contact.created */
#define ST_HE_CONV_DELETED	0x0020	/* conversation.deleted */
#define ST_HE_TEST		0x0040	/* webhook.test: POST .../test only */
#define ST_HE_CONV_STATE	0x0080	/* conversation.state_changed */
#define ST_HE_ALL		0x00bf	/* every bit but ST_HE_TEST */
#define ST_HE_MAX		ST_HE_CONV_STATE	/* a delivery's event */

/* The outbox's bounds and times. */
#define ST_DLV_PREFIX		"dlv_"
/*
 * "dlv_" + 32 hex: its number under the install's id key (storaged's
 * seqid.c), opaque. (A delivery stored before, whose stored id is its
 * number in 16 hex, is shown so too.)
 */
#define ST_DLV_ID_LEN		(4 + ST_ID_HEX)
/*
 * A deliveries list's cursor: "dlc_" + 32 hex, the number of the last
 * delivery listed under the same key as an id but its own kind, so a
 * delivery id (a webhook-id any receiver sees) is never a cursor, and a
 * cursor outlives its delivery leaving the bounded log.
 */
#define ST_DLV_CURSOR_PREFIX	"dlc_"
#define ST_DLV_ERROR_MAX	200
#define ST_HOOK_DUE_MAX		64	/* jobs a ST_HOOK_DUE takes */
/* Jobs the notifier holds at once: ST_HOOK_DUE's held lists, its share. */
#define ST_HOOK_HELD_MAX	256
#define ST_HOOK_DUE_BYTES	(1024u * 1024)	/* payloads in one reply */
/* A job taken and not answered is due again after lease_ms, in these bounds. */
#define ST_HOOK_LEASE_MIN	1000
#define ST_HOOK_LEASE_MAX	3600000
#define ST_HOOK_PENDING_MAX	10000	/* per webhook: past it, the oldest fails */
#define ST_HOOK_LOG_MAX		500	/* finished deliveries kept per webhook */
#define ST_HOOK_FAILURES_OFF	5	/* failed deliveries in a row: disabled */

enum st_dlv_status {
	ST_DLV_PENDING = 0,
	ST_DLV_DELIVERED = 1,
	ST_DLV_FAILED = 2,
};

/* ST_HOOK_UPDATE's mask: which fields the request sets. */
#define ST_HF_URL		0x0001
#define ST_HF_EVENTS		0x0002
#define ST_HF_ENABLED		0x0004

/*
 * Its rows (recordtab.h) and layout (hookmsg.c), and the mask of every
 * field an update sets.
 */
RL_RECORD(st_webhook, webhook, ST_WEBHOOK_ROWS)
#define ST_HF_ALL	(0u ST_WEBHOOK_ROWS(RF_MASK))

/*
 * A kind of its own (record.h), a delivery's and a mail's (mailmsg.h):
 * PAYLOAD, uint8_t *m (malloc'd; NULL for none) and uint32_t m_len; bytes
 * (the event as ST_EV carries it, agentmsg.h), at most PROTO_MAX_PAYLOAD.
 */
#define RF_DECL_PAYLOAD(m, b)	uint8_t *m; uint32_t m##_len;
#define RF_KIND_PAYLOAD		RF_OWN
#define RF_OFF_PAYLOAD		RF_OFF_GEN
#define RF_SIZE_PAYLOAD(T, m)	(offsetof(T, m##_len) + sizeof(uint32_t) - \
	offsetof(T, m))
#define RF_COUNT_PAYLOAD	RF_NOCOUNT
#define RF_CODEC_PAYLOAD	(&st_payload_codec)
#define RF_NAMES_PAYLOAD	RF_NONAME

extern const struct rcodec st_payload_codec;

/* Its rows (recordtab.h) and layout (hookmsg.c). */
RL_RECORD(st_delivery, delivery, ST_DELIVERY_ROWS)
/* A status's name ("pending"; NULL out of range) and back (-1): its ENUM. */
const char *st_status_name(int status);
int st_status_parse(const char *name);

/* A due delivery as the notifier takes it: where, and how to sign. */
struct st_hook_job {
	struct st_delivery d;
	char *url;		/* malloc'd */
	char secret[ST_HOOK_SECRET_MAX + 1];
	char old_secret[ST_HOOK_SECRET_MAX + 1];	/* "": none */
};

/*
 * NULL when h is a valid webhook, else "field: what is wrong" (static):
 * url 1-2048 bytes starting http:// or https:// without controls or
 * spaces, events at least one known bit and no other, secret "whsec_"
 * and more. Where the url points is the worker's check (workerd/notify).
 */
const char *st_webhook_invalid(const struct st_webhook *h);
/* url's part of st_webhook_invalid: NULL, or "url: ..." (static). */
const char *st_webhook_url_invalid(const char *url);
/* A job is a message, not a record: its delivery's rows, its url, secret. */
void st_hook_job_free(struct st_hook_job *);
void penc_hook_job(struct penc *, const struct st_hook_job *);
/* 0, or -1 on a decode error (the struct is then freed and zeroed). */
int pdec_hook_job(struct pdec *, struct st_hook_job *);
/* 1 when id has a delivery id's shape, else 0; which it names is storaged's. */
int st_dlv_id_valid(const char *id);
/* 1 when s can name a webhook: "wh_" + 32 lowercase hex. */
int st_hook_id_valid(const char *s);
/* An event's bit by its name ("message.created"), or 0. */
uint32_t st_hook_event_parse(const char *name);
/* The name of one bit, or NULL. */
const char *st_hook_event_name(uint32_t bit);

#endif
