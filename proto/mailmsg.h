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
 * str id ("ml_" + 16 hex: st_seq_id and st_seq_parse of hookmsg.h with
 * ST_MAIL_PREFIX), str org, u32 kind (one ST_MAIL_* bit), u32
 * attempts, u64 created_at, u64 next_at, str error (the last failure),
 * u32 n, n x str recipient email, bytes payload (the event as ST_EV
 * carries it, agentmsg.h).
 */
#ifndef PARLEY_MAILMSG_H
#define PARLEY_MAILMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
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

struct st_mail {
	char id[ST_MAIL_ID_LEN + 1];
	char org[ST_WHO_ORG_MAX + 1];
	uint32_t kind;		/* one ST_MAIL_* bit */
	uint32_t attempts;
	uint64_t created_at, next_at;
	char error[ST_MAIL_ERROR_MAX + 1];
	char (*rcpt)[ST_EMAIL_MAX + 1];	/* malloc'd, nrcpt of them */
	uint32_t nrcpt;
	uint8_t *payload;	/* malloc'd: the event (ST_EV) */
	uint32_t payload_len;
};

void st_mail_free(struct st_mail *);
void penc_mail(struct penc *, const struct st_mail *);
/* 0, or -1 on a decode error (the struct is then freed and zeroed). */
int pdec_mail(struct pdec *, struct st_mail *);
/* A kind's name ("handoff", "waiting", "contact"), or NULL. */
const char *st_mail_kind_name(uint32_t bit);

#endif
