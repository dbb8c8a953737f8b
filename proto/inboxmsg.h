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
 *   ST_CANNED_PUT     str id ("" = a new one), str shortcut, str text
 *                                                        -> canned
 *     `invalid`: st_canned_invalid()'s "field: what is wrong", or
 *     already ST_CANNED_MAX in the organisation; `exists`: another of
 *     its replies has the shortcut; `not found`: no such id there.
 *   ST_CANNED_DELETE  str id                             -> (empty)
 *
 * A canned reply: str id ("cr_" + 32 lowercase hex), str shortcut (1-32
 * of [a-z0-9_-]), str text (1-2000 characters of UTF-8), u64
 * created_at, u64 updated_at.
 */
#ifndef PARLEY_INBOXMSG_H
#define PARLEY_INBOXMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "storemsg.h"

#define ST_CANNED_MAX		200	/* per organisation */
#define ST_CANNED_PREFIX	"cr_"
#define ST_CANNED_ID_LEN	(3 + ST_ID_HEX)
#define ST_CANNED_SHORT_MAX	32	/* bytes of [a-z0-9_-] */
#define ST_CANNED_TEXT_CHARS	2000
#define ST_CANNED_TEXT_MAX	(4 * ST_CANNED_TEXT_CHARS)	/* bytes */

struct st_canned {
	char id[ST_CANNED_ID_LEN + 1];
	char shortcut[ST_CANNED_SHORT_MAX + 1];
	char *text;		/* malloc'd */
	uint64_t created_at, updated_at;
};
struct st_canned_put_req {
	const char *id, *shortcut, *text;
};
struct st_canneds {
	struct st_canned *items;
	uint32_t n;
};

void penc_canned(struct penc *, const struct st_canned *);
/* 0, or -1 (the struct freed and zeroed). */
int pdec_canned(struct pdec *, struct st_canned *);
void st_canned_free(struct st_canned *);
/* 1 when s is "cr_" and 32 lowercase hex digits. */
int st_canned_id_valid(const char *s);
/* NULL when shortcut and text are valid, else "field: what is wrong". */
const char *st_canned_invalid(const char *shortcut, const char *text);

#endif
