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
 *                  left), u32 n, n x str recipient (retried: those it
 *                  is still for, the others got it or refused it for
 *                  good; none: all)                      -> (empty)
 *   ST_MAIL_CHECK  str id -> (empty): the mail is still to be sent;
 *                  `not found` when it is gone (its conversation or
 *                  contact deleted since it was leased: the notifier
 *                  asks as its message ends, and sends nothing then)
 *
 * A mail (one per event, to every member of the conversation's
 * organisation who wants that kind, enabled, at most ST_MAIL_RCPT_MAX;
 * ST_MAIL_DUE hands it out to those of them who still are, and drops it
 * when none is):
 * its rows (recordtab.h) in order (str id, str org, u32 kind, u32
 * attempts, u64 created_at, u64 next_at, str error, u32 n, n x str
 * recipient email, bytes payload; format 2: u32 held). A summary (held >
 * 0) has no payload: held events of its kind past ST_MAIL_BOUND, the
 * first at created_at.
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
/* "ml_" + 32 hex: its number, opaque (storaged's seqid.c). */
#define ST_MAIL_ID_LEN		(3 + ST_ID_HEX)
#define ST_MAIL_RCPT_MAX	50	/* recipients of one mail */
#define ST_MAIL_PENDING_MAX	1000	/* per organisation: past it, none */
#define ST_MAIL_DUE_MAX		16	/* mails an ST_MAIL_DUE takes */
#define ST_MAIL_ERROR_MAX	200
/*
 * A visitor's message in `human` makes a mail sent when no agent has
 * written after it for:
 */
#define ST_MAIL_QUIET_MS	(2 * 60 * 1000)
/* and at most one such mail per conversation per: */
#define ST_MAIL_WAITING_EVERY_MS	(10 * 60 * 1000)
/*
 * The kinds any visitor can make (a new contact, a person asked for:
 * new conversations are free) are bounded per organisation: at most
 * ST_MAIL_BOUND mails of each kind in a window of ST_MAIL_BOUND_WINDOW_MS
 * (from the first); the events past it make one summary mail (its held
 * count), due as the window ends. "waiting" is not: it needs a person to
 * have taken the conversation over, and mails once per conversation per
 * ST_MAIL_WAITING_EVERY_MS.
 */
#define ST_MAIL_BOUNDED		(ST_MAIL_HANDOFF | ST_MAIL_CONTACT)
#define ST_MAIL_BOUND		20
#define ST_MAIL_BOUND_WINDOW_MS	(60 * 60 * 1000)


/* Its rows (recordtab.h) and layout (mailmsg.c). */
RL_RECORD(st_mail, mail, ST_MAIL_ROWS)
/* A kind's name ("handoff", "waiting", "contact"), or NULL. */
const char *st_mail_kind_name(uint32_t bit);

#endif
