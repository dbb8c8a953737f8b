/*
 * Organisations (issue 22, its first slice): the record and the payloads
 * of its storaged requests. Conventions as in storemsg.h (big-endian, str
 * = u32 length + bytes, records behind a one-byte format version in
 * LMDB). storaged/STORAGE.md tells what storaged does with each request;
 * proto/PROTOCOL.md lists them with the others.
 *
 * An organisation is a name with an id. The first one, "default" (named
 * "Default"), is made by storaged at start when missing and cannot be
 * deleted. Widgets, agents and what they hold belong to one.
 *
 * Requests (reply payloads after "->"), each led by who asks (the table's
 * who); errors as PROTO_F_ERROR replies (`invalid` with "field: what is
 * wrong", `not found`):
 *
 *   ST_ORG_CREATE  org (id and times ignored)            -> org
 *   ST_ORG_UPDATE  str id, u32 mask (ST_OF_*), org
 *                  (only the masked fields are read)     -> org
 *   ST_ORG_GET     str id                                -> org
 *   ST_ORG_LIST    (empty)         -> u32 n, n x org (the default first,
 *                                     then oldest first)
 *   ST_ORG_DELETE  str id                                -> (empty)
 *     `invalid` for the default organisation.
 *
 * An org: its rows (recordtab.h) in order (str id, str name, u64
 * created_at, u64 updated_at, ms; u32 daily_turns, 0 none).
 */
#ifndef PARLEY_ORGMSG_H
#define PARLEY_ORGMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_ORGS_MAX		1000
#define ST_ORG_DEFAULT		"default"	/* the first organisation */
#define ST_ORG_PREFIX		"org_"
/* "org_" and 32 lowercase hex; "default" is shorter. */
#define ST_ORG_ID_MAX		(4 + ST_ID_HEX)
_Static_assert(ST_ORG_ID_MAX == ST_WHO_ORG_MAX, "who asks holds an org id");
#define ST_ORG_NAME_MAX		100	/* characters */

/*
 * Visitor messages the organisation's widgets take in a UTC day, all of
 * them together, at the most (a widget's own daily cap still holds).
 */
#define ST_ORG_DAILY_TURNS_MAX	100000000

/* ST_ORG_UPDATE's mask: which fields the request sets. */
#define ST_OF_NAME		0x0001
#define ST_OF_DAILY_TURNS	0x0002

/*
 * Its rows (recordtab.h) and layout (orgmsg.c), and the mask of every
 * field an update sets.
 */
RL_RECORD(st_org, org, ST_ORG_ROWS)
#define ST_OF_ALL	(0u ST_ORG_ROWS(RF_MASK))
/*
 * NULL when o is a valid organisation, else "field: what is wrong"
 * (static text): its rows' bounds (rl_invalid), name 1-100 characters
 * of UTF-8. id and times are not checked.
 */
const char *st_org_invalid(const struct st_org *o);
/* 1 when s can name an organisation: "default" or "org_" + 32 lowercase hex. */
int st_org_id_valid(const char *s);

#endif
