/*
 * An organisation's API keys and its audit log (issue 22, items 3 and 5):
 * the records, their checks, and the payloads of their storaged requests
 * (whose structs and layouts are stmsgs.h's and stmsgs.c's). Conventions
 * as in storemsg.h (big-endian, str = u32 length + bytes, records behind
 * a one-byte format version in LMDB). storaged/STORAGE.md tells what
 * storaged does with each request; proto/PROTOCOL.md lists them.
 *
 * A key is made by the worker: 32 random bytes shown once as "pk_" and
 * 64 lowercase hex digits (the secret); storaged keeps only its SHA-256
 * (one round is enough: the secret is 256 random bits), never the
 * secret. Every request but ST_KEY_AUTH is led by who asks and acts in
 * its organisation (who->org):
 *
 *   ST_KEY_CREATE   str name, u8 role, bytes hash (32)   -> key
 *   ST_KEY_LIST     (empty)       -> u32 n, n x key (oldest first)
 *   ST_KEY_DELETE   str id                               -> (empty)
 *     `not found` also for another organisation's key.
 *   ST_KEY_AUTH     bytes hash (32)  -> u8 found, and when found: str id,
 *                   str org, u8 role (no who asks: it finds out who)
 *   ST_AUDIT_LIST   u32 limit, str cursor -> u64 total, u32 n,
 *                   n x entry (newest first), str next cursor
 *   ST_AUDIT_NOTE   str action, str target               -> (empty)
 *     an action no request records itself (ST_AUDIT_NOTE_ACTIONS).
 *
 * A key, as sent: its rows in order (ST_APIKEY_ROWS, recordtab.h): str
 * id ("key_" + 32 lowercase hex), str org, str name (1-100 characters), u8
 * role (enum st_role, agent to owner), bytes hash (32 stored; always empty
 * in a reply), u64 created_at, u64 updated_at, u64 last_used_at (0: never;
 * moved at most once a minute).
 *
 * An audit entry: u64 at (ms), u8 who kind (enum st_who_kind), str who
 * id, str user ("" none), str action ("widget.create"...), str target
 * (the id acted on, "" none). Never content nor secrets.
 */
#ifndef PARLEY_KEYMSG_H
#define PARLEY_KEYMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_KEYS_MAX		100	/* per organisation */
#define ST_KEY_PREFIX		"key_"
#define ST_KEY_ID_LEN		(4 + ST_ID_HEX)
#define ST_KEY_NAME_MAX		100	/* characters */
#define ST_KEY_HASH_LEN		32	/* SHA-256 */
/* The secret: "pk_" and 64 lowercase hex digits (32 random bytes). */
#define ST_KEY_SECRET_PREFIX	"pk_"
#define ST_KEY_SECRET_BYTES	32
#define ST_KEY_SECRET_LEN	(3 + 2 * ST_KEY_SECRET_BYTES)
/* last_used_at moves when it is at least this old. */
#define ST_KEY_USED_EVERY_MS	60000

#define ST_AUDIT_MAX		10000	/* entries kept per organisation */
#define ST_AUDIT_ACTION_MAX	32
#define ST_AUDIT_TARGET_MAX	64

/* The fields a create sets (keys do not change: no update). */
#define ST_KF_NAME		0x0001
#define ST_KF_ROLE		0x0002

/*
 * A key's kind of its own (record.h). HASH: uint8_t m[bound] and
 * uint32_t m_len (bound or 0); bytes of m_len.
 */
#define RF_DECL_HASH(m, b)	uint8_t m[b]; uint32_t m##_len;
#define RF_KIND_HASH		RF_OWN
#define RF_OFF_HASH		RF_OFF_GEN
#define RF_SIZE_HASH(T, m)	(offsetof(T, m##_len) + sizeof(uint32_t) - \
	offsetof(T, m))
#define RF_COUNT_HASH		RF_NOCOUNT
#define RF_CODEC_HASH		(&st_hash_codec)
#define RF_NAMES_HASH		RF_NONAME

extern const struct rcodec st_hash_codec;

/* Its rows (recordtab.h) and layout (keymsg.c). */
RL_RECORD(st_apikey, apikey, ST_APIKEY_ROWS)

struct st_audit_entry {
	uint64_t at;
	uint8_t who_kind;
	char who_id[ST_WHO_ID_MAX + 1];
	char user[ST_WHO_USER_MAX + 1];
	char action[ST_AUDIT_ACTION_MAX + 1];
	char target[ST_AUDIT_TARGET_MAX + 1];
};
/*
 * NULL when k's name and role are valid, else "field: what is wrong"
 * (static, or rl_invalid's buffer): name 1-100 characters of UTF-8, role
 * agent, admin or owner.
 */
const char *st_apikey_invalid(const struct st_apikey *k);
/* 1 when s can name a key: "key_" + 32 lowercase hex. */
int st_key_id_valid(const char *s);
/* 1 when s has the shape of a secret: "pk_" + 64 lowercase hex. */
int st_key_secret_shape(const char *s);
/*
 * 1 when action is one ST_AUDIT_NOTE may record ("export",
 * "contact.export", "action.test": an action's dry run, its target the
 * action's id).
 */
int st_audit_note_action(const char *action);

#endif
