/*
 * The inbox (issue 24): what a dashboard user has read, and an
 * organisation's canned replies. Conventions as in storemsg.h; every
 * request is led by who asks and acts in its organisation. What
 * storaged does with each is told in storaged/STORAGE.md, and
 * proto/PROTOCOL.md lists them.
 *
 *   ST_CONV_READ      str conv_id                       -> (empty)
 *     Who asks's user has read the conversation up to its visitor's
 *     last message (st_conv.visitor_at); nothing for a key (no user).
 *     `not found` for another organisation's, as an unknown one.
 *   ST_CANNED_LIST    (empty)  -> u32 n, n x canned (by shortcut)
 *   ST_CANNED_PUT     str id ("" = a new one), str shortcut, str text,
 *                     u8 set_atts, u32 n, n x str upload id
 *                                                        -> canned
 *     `invalid`: st_canned_invalid()'s "field: what is wrong", or
 *     already ST_CANNED_MAX in the organisation; `exists`: another of
 *     its replies has the shortcut; `not found`: no such id there.
 *   ST_CANNED_DELETE  str id                             -> (empty)
 *
 * A canned reply: its rows (recordtab.h) in order (str id, str
 * shortcut, str text, u64 created_at, u64 updated_at).
 */
#ifndef PARLEY_INBOXMSG_H
#define PARLEY_INBOXMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_CANNED_MAX		200	/* per organisation */
#define ST_CANNED_PREFIX	"cr_"
#define ST_CANNED_ID_LEN	(3 + ST_ID_HEX)
#define ST_CANNED_SHORT_MAX	32	/* bytes of [a-z0-9_-] */
#define ST_CANNED_TEXT_CHARS	2000
#define ST_CANNED_TEXT_MAX	(4 * ST_CANNED_TEXT_CHARS)	/* bytes */

/* Its rows (recordtab.h) and layout (inboxmsg.c). */
RL_RECORD(st_canned, canned, ST_CANNED_ROWS)

struct st_str;
/*
 * set_atts: the reply's files become atts (upload ids: those it keeps
 * already, and whole uploads of the person's organisation made for it,
 * ST_ATT_ADMIN_NEW without a conversation); else they stay as they are.
 */
struct st_canned_put_req {
	const char *id, *shortcut, *text;
	uint8_t set_atts;
	uint32_t natts;
	struct st_str *atts;
};
struct st_canneds {
	struct st_canned *items;
	uint32_t n;
};

/* 1 when s is "cr_" and 32 lowercase hex digits. */
int st_canned_id_valid(const char *s);
/*
 * NULL when shortcut and text are valid, else "field: what is wrong":
 * by hand, not rl_invalid, for the shortcut's characters and the admin
 * API's words ("shortcut: 1 to 32 characters"...).
 */
const char *st_canned_invalid(const char *shortcut, const char *text);

#endif
