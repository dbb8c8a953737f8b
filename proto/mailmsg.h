/*
 * Email notifications (issue 23, item 4): a dashboard user's choice of
 * emails, the mail outbox's record and the storaged requests that move
 * it. Conventions as in storemsg.h (big-endian, str = u32 length +
 * bytes, records behind a one-byte format version in LMDB).
 * storaged/STORAGE.md tells what storaged does with each request;
 * proto/PROTOCOL.md lists them.
 *
 *   ST_NOTIFY_GET  (empty)       -> u32 mask (ST_MAIL_* bits; 0 none)
 *   ST_NOTIFY_SET  u32 mask      -> u32 mask
 *     who asks is the dashboard user whose choice it is (its user id;
 *     `invalid` with none: the install key, an API key).
 *   ST_MAIL_DUE    u32 max (1-16), u32 lease_ms (1000-3600000:
 *                  PARLEY_NOTIFY_LEASE_MS) -> u32 n, n x mail (the
 *                  notifier's; each leased for lease_ms)
 *   ST_MAIL_RESULT str id, u8 ok, str error, u64 retry_at (0: no retry
 *                  left)                                 -> (empty)
 *
 * A mail (one per event, to every member of the conversation's
 * organisation who wants that kind, enabled, at most ST_MAIL_RCPT_MAX):
 * its rows below in order (str id, str org, u32 kind, u32 attempts,
 * u64 created_at, u64 next_at, str error, u32 n, n x str recipient
 * email, bytes payload).
 */
#ifndef PARLEY_MAILMSG_H
#define PARLEY_MAILMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "hookmsg.h"
#include "record.h"
#include "storemsg.h"
#include "usermsg.h"

/* The emails a user may choose (ST_NOTIFY_*'s mask, a mail's kind). */
#define ST_MAIL_HANDOFF		0x0001	/* a visitor asked for a person */
#define ST_MAIL_WAITING		0x0002	/* a visitor wrote, nobody answers */
#define ST_MAIL_CONTACT		0x0004	/* a new contact */
#define ST_MAIL_ALL		0x0007

#define ST_MAIL_PREFIX		"ml_"
#define ST_MAIL_ID_LEN		(3 + 16)	/* "ml_" + u64 seq in hex */
#define ST_MAIL_RCPT_MAX	50	/* recipients of one mail */
#define ST_MAIL_PENDING_MAX	1000	/* per organisation: past it, none */
#define ST_MAIL_DUE_MAX		16	/* mails an ST_MAIL_DUE takes */
#define ST_MAIL_ERROR_MAX	200
/* A visitor's message in `human` makes a mail when no agent wrote for: */
#define ST_MAIL_QUIET_MS	(2 * 60 * 1000)
/* and at most one such mail per conversation per: */
#define ST_MAIL_WAITING_EVERY_MS	(10 * 60 * 1000)


/*
 * The mail record, a row per field in stored order (record.h), of format
 * 1: its id ("ml_" + 16 hex: st_seq_id and st_seq_parse of hookmsg.h
 * with ST_MAIL_PREFIX), its organisation, kind (one ST_MAIL_* bit),
 * attempts, created_at and next_at, the last failure (error), its
 * recipients' emails (malloc'd) and the event. The notifier's alone:
 * never shown, no request sets a row.
 *
 *   kind     member             JSON                 since bit
 *            view     bound                      x
 */
#define ST_MAIL_ROWS(F)							\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_HID, ST_MAIL_ID_LEN, 0)					\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(U32, kind, "kind", 1, RF_RO,					\
	    RF_HID, ST_MAIL_ALL, 0)					\
	F(U32, attempts, "attempts", 1, RF_RO,				\
	    RF_HID, UINT32_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)						\
	F(TIME, next_at, "next_at", 1, RF_RO,				\
	    RF_HID, 0, 0)						\
	F(BUF, error, "error", 1, RF_RO,				\
	    RF_HID, ST_MAIL_ERROR_MAX, 0)				\
	F(LIST, rcpt, "recipients", 1, RF_RO,				\
	    RF_HID, ST_MAIL_RCPT_MAX, ST_EMAIL_MAX)			\
	F(PAYLOAD, payload, "payload", 1, RF_RO,			\
	    RF_HID, PROTO_MAX_PAYLOAD, 0)

/* Its layout (mailmsg.c). */
RL_RECORD(st_mail, mail, ST_MAIL_ROWS)
/* A kind's name ("handoff", "waiting", "contact"), or NULL. */
const char *st_mail_kind_name(uint32_t bit);

#endif
