/*
 * People (issue 22): the user record storaged keeps, its codec and the
 * checks both sides of the socket share. Conventions as in storemsg.h
 * (big-endian, str = u32 length + bytes, records behind a one-byte format
 * version in LMDB). The requests' structs and layouts are stmsgs.h's;
 * storaged/STORAGE.md tells what storaged does with each, and
 * proto/PROTOCOL.md lists them.
 *
 * A user: id "usr_" + 32 lowercase hex; an email (lowercased, unique, at
 * most 254 bytes); a display name (1-100 characters); a password as
 * scrypt (N=2^14, r=8, p=1) with a salt of its own, made by the worker
 * or parleyctl, never by storaged; a disabled flag; the organisations it
 * belongs to with its role in each (at most ST_MEMBERSHIPS_MAX); the
 * fingerprint of DASHBOARD_PASSWORD it was last set from (the first
 * owner only, else zero); created and updated times (ms). Disabling is
 * per membership (an owner acts on its own organisation only): the
 * record ends with one byte per membership, 1 disabled there (format 2;
 * a format 1 record has none, every membership enabled). The account's
 * own disabled flag is only read (records from before).
 *
 * Requests (reply payloads after "->"); who asks as the table says
 * (none: the worker before anyone signed in; any: the organisation is
 * who asks's):
 *
 *   ST_USER_AUTH    str email  -> u8 found, and when found: str id,
 *                   bytes salt (16), bytes hash (32), u8 disabled
 *       Read only, no who: the login's lookup.
 *   ST_USER_BOOT    str email, str name, bytes salt, bytes hash,
 *                   bytes fp (32)          -> u8 changed (0, 1 made,
 *                                             2 password replaced)
 *       The first owner from DASHBOARD_PASSWORD: made, owner of
 *       "default", when the email is free; else, when its stored fp
 *       differs from fp, its password becomes salt/hash, its sessions end.
 *   ST_USER_LIST    (empty) -> u32 n, n x member (who asks's organisation)
 *   ST_USER_INVITE  str email, u8 role, bytes token hash (32)
 *                   -> u8 result (0 ok, 1 already a member), member-less
 *                      echo: str email, u8 role, u64 expires_at
 *   ST_USER_UPDATE  str id, u32 mask (ST_UF_*), u8 role, u8 disabled
 *                   -> u8 result (0 ok, 1 the last owner), member (when 0)
 *   ST_USER_DELETE  str id -> u8 result (0 ok, 1 the last owner)
 *   ST_INVITE_SALT  bytes token hash (32) -> u8 result (0 open, its
 *                   email has no account; 1 no such invitation; 2
 *                   its email has an account), bytes salt
 *                   (16, when 2: that account's), and when 0 or 2:
 *                   str organization id, str its name, str email, u8 role
 *       Read only, no who: an anonymous acceptance's lookup, before
 *       its password is hashed (with that salt, else a fresh one); the
 *       invite page's too (what the link's holder is invited to).
 *   ST_INVITE_ACCEPT bytes token hash (32), str name, bytes salt,
 *                   bytes hash, str user (the signed-in account taking
 *                   it, or "") -> u8 result (0 the email's new account
 *                   made; 1 no such invitation, or user is not the
 *                   email's account; 2 the account joined: user, or
 *                   anonymously the email's account whose salt and hash
 *                   these are; 3 anonymous for an email with an
 *                   account, another salt or hash: nothing done, the
 *                   invitation still open, answered as 0 is), str user id,
 *                   str org, str email (the invitation's)
 *   ST_INVITE_LIST  (empty) -> u32 n, n x {str id, str email, u8 role,
 *                   u64 created_at, u64 expires_at}: who asks's
 *                   organisation's pending invitations (never a token)
 *   ST_INVITE_REVOKE str id -> (empty): one of them deleted (another
 *                   organisation's: not found)
 *   ST_USER_SET     (parleyctl) u8 mode (0 add, 1 password), str email,
 *                   str name, u8 role, bytes salt, bytes hash
 *                   -> u8 result (0 ok, 1 no such user, 2 already a
 *                      member), member (when 0)
 *   ST_USER_SELF    u8 mode (0 read, 1 name, 2 password), str name,
 *                   bytes salt (16), bytes hash (32), bytes old (32)
 *                   -> u8 result (0 done, 1 the password is no longer
 *                      old: nothing done), member, secret {str id,
 *                      bytes salt, bytes hash, u8 disabled} (mode 0;
 *                      else zero)
 *       Who asks's own account (a dashboard session; an API key is
 *       refused), its member view in who asks's organisation. A
 *       password set ends the user's other sessions, not who asks's.
 *   ST_EV_USER_GONE storaged -> every client, unasked: str user id whose
 *                   sessions just ended (disabled, deleted, password set),
 *                   str keep: the who id of the one session that did not
 *                   (its own new password's), "" none
 *
 * A member: str id, str email, str name, u8 role, u8 disabled,
 * u64 created_at, u64 updated_at.
 */
#ifndef PARLEY_USERMSG_H
#define PARLEY_USERMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dashmsg.h"
#include "orgmsg.h"
#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_USERS_MAX		10000
#define ST_USER_PREFIX		"usr_"
#define ST_USER_ID_MAX		(4 + ST_ID_HEX)
_Static_assert(ST_USER_ID_MAX <= ST_WHO_USER_MAX, "who asks holds a user id");
_Static_assert(ST_USER_ID_MAX <= ST_WIDGET_MAX, "an order key holds it");
#define ST_EMAIL_MAX		254	/* bytes */
#define ST_USER_NAME_MAX	100	/* characters */
#define ST_MEMBERSHIPS_MAX	100
#define ST_PW_SALT_LEN		16
#define ST_PW_HASH_LEN		32
#define ST_USER_FP_LEN		32
#define ST_INVITES_MAX		1000	/* pending per organisation */
#define ST_INVITES_ALL_MAX	20000	/* pending in the install */
#define ST_INVITE_MS		(7ull * 24 * 3600 * 1000)
#define ST_INVITE_HASH_LEN	32	/* SHA-256 of the token */
#define ST_INVITE_PREFIX	"inv_"	/* + the hash's first 16 bytes, hex */
#define ST_INVITE_ID_MAX	(4 + ST_ID_HEX)
#define ST_OWNER_EMAIL		"owner@localhost"

/* ST_USER_UPDATE's mask. */
#define ST_UF_ROLE		0x0001
#define ST_UF_DISABLED		0x0002
#define ST_UF_ALL		0x0003

/* ST_USER_SELF's mode. */
#define ST_SELF_READ		0
#define ST_SELF_NAME		1
#define ST_SELF_PASSWORD	2

/* ST_USER_SET's mode. */
#define ST_USER_SET_ADD		0
#define ST_USER_SET_PASSWORD	1

struct st_member {
	char org[ST_ORG_ID_MAX + 1];
	uint8_t role;		/* enum st_role, AGENT..OWNER */
	uint8_t disabled;	/* by an owner of org: cannot act in org */
};

/*
 * A user's kinds of its own (record.h). PASSWORD: bytes salt (16),
 * bytes hash (32), bytes fp (32: DASHBOARD_PASSWORD's, or zero), each
 * of exactly its length; a secret, zeroed when freed.
 */
#define RF_DECL_PASSWORD(m, b)						\
	uint8_t salt[ST_PW_SALT_LEN];					\
	uint8_t m[ST_PW_HASH_LEN];					\
	uint8_t fp[ST_USER_FP_LEN];
#define RF_KIND_PASSWORD	RF_OWN
#define RF_OFF_PASSWORD(T, m)	offsetof(T, salt)
#define RF_SIZE_PASSWORD(T, m)	(offsetof(T, fp) + ST_USER_FP_LEN -	\
				    offsetof(T, salt))
#define RF_COUNT_PASSWORD	RF_NOCOUNT
#define RF_CODEC_PASSWORD	(&st_password_codec)
#define RF_NAMES_PASSWORD	RF_NONAME
extern const struct rcodec st_password_codec;
/* MEMBERS: u32 n (at most b), n x (str org, u8 role); malloc'd. */
#define RF_DECL_MEMBERS(m, b)	struct st_member *m; uint32_t n;
#define RF_KIND_MEMBERS		RF_OWN
#define RF_OFF_MEMBERS(T, m)	offsetof(T, m)
#define RF_SIZE_MEMBERS(T, m)	(offsetof(T, n) + sizeof(uint32_t) -	\
				    offsetof(T, m))
#define RF_COUNT_MEMBERS	RF_NOCOUNT
#define RF_CODEC_MEMBERS	(&st_members_codec)
#define RF_NAMES_MEMBERS	RF_NONAME
extern const struct rcodec st_members_codec;
/*
 * MEMBER_OFF: each membership's disabled flag, u32 n (the memberships'
 * count, or 0: every one enabled) and n x u8 (0 or 1). It has no member
 * of its own: the flags are the memberships' (MEMBERS, an earlier row),
 * and its default, every one enabled, is theirs zeroed.
 */
#define RF_DECL_MEMBER_OFF(m, b)
#define RF_KIND_MEMBER_OFF	RF_OWN
#define RF_OFF_MEMBER_OFF(T, m)	offsetof(T, mems)
#define RF_SIZE_MEMBER_OFF(T, m)	0
#define RF_COUNT_MEMBER_OFF	RF_NOCOUNT
#define RF_CODEC_MEMBER_OFF	(&st_member_off_codec)
#define RF_NAMES_MEMBER_OFF	RF_NONAME
extern const struct rcodec st_member_off_codec;

/* Its rows (recordtab.h) and layout (usermsg.c). */
RL_RECORD(st_user, user, ST_USER_ROWS)

/* Its rows (recordtab.h) and layout (usermsg.c). */
RL_RECORD(st_invite, invite, ST_INVITE_ROWS)

/* Its rows (recordtab.h) and layout (usermsg.c). */
RL_RECORD(st_dsess, dsess, ST_DSESS_ROWS)

/*
 * NULL when u is a valid user, else "field: what is wrong" (static):
 * email (st_email_invalid), name 1-100 characters, memberships (at most
 * ST_MEMBERSHIPS_MAX, each a valid organisation id and role, no
 * organisation twice).
 */
const char *st_user_invalid(const struct st_user *u);
/*
 * The email in its stored form into out (ST_EMAIL_MAX + 1): ASCII
 * lowercased. NULL, or why it cannot be an email (static): 3 to 254
 * bytes, one '@' with text on both sides, no white space or control
 * character.
 */
const char *st_email_normal(const char *in, char out[ST_EMAIL_MAX + 1]);
/* NULL when name is 1-100 characters of UTF-8, not all white space, else
 * why not. */
const char *st_user_name_invalid(const char *name);
/*
 * The password hash users are kept with: scrypt (N=2^14, r=8, p=1) of
 * pw with salt into out; the worker's and parleyctl's, one function so
 * both hash alike. 0, or -1 when scrypt failed.
 */
int st_pw_scrypt(const char *pw, size_t pwlen, const void *salt,
    size_t saltlen, uint8_t out[ST_PW_HASH_LEN]);
/* 1 when s can be a user id: "usr_" and 32 lowercase hex. */
int st_user_id_valid(const char *s);
/* 1 when s can be an invitation id: "inv_" and 32 lowercase hex. */
int st_invite_id_valid(const char *s);
/* The membership of org in u, or NULL. */
const struct st_member *st_user_member(const struct st_user *u,
    const char *org);
/*
 * The membership of org in u when u may act there (neither the account
 * nor that membership disabled), else NULL.
 */
const struct st_member *st_user_acts(const struct st_user *u,
    const char *org);

#endif
