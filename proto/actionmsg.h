/*
 * Actions: an organisation's HTTP APIs the model may call for the
 * visitor (the OpenAI tool-calling shape), the record and the payloads
 * of their storaged requests. Conventions as in storemsg.h (big-endian,
 * str = u32 length + bytes, records behind a one-byte format version in
 * LMDB). storaged/STORAGE.md tells what storaged does with each request;
 * proto/PROTOCOL.md lists them.
 *
 * The admin API's, each led by who asks and acting in its organisation
 * (`not found` also for another organisation's action):
 *
 *   ST_ACTION_CREATE  action (id, times ignored)      -> action
 *   ST_ACTION_UPDATE  str id, u32 mask (ST_ACF_*), action
 *                     (only the masked fields are read) -> action
 *   ST_ACTION_GET     str id                          -> action
 *   ST_ACTION_LIST    (empty)  -> u32 n, n x action (oldest first)
 *   ST_ACTION_DELETE  str id                          -> (empty)
 *   Their replies hold no header values: headers is "" and header_names
 *   says which are set.
 *
 * A chat turn's (no who: the turn's agent names its organisation):
 *
 *   ST_ACTION_TOOLS   str org, u32 n, n x str id (at most
 *                     ST_AGENT_ACTION_IDS_MAX), u8 disabled_too -> u32 n,
 *                     n x action: those that exist, are org's and are
 *                     enabled (disabled_too 1: enabled or not, for the
 *                     admin API's dry run, which asks as who asks's
 *                     organisation), in the order asked, headers and all
 */
#ifndef PARLEY_ACTIONMSG_H
#define PARLEY_ACTIONMSG_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_ACTIONS_MAX		100	/* per organisation */
#define ST_ACTION_PREFIX	"act_"
#define ST_ACTION_ID_LEN	(4 + ST_ID_HEX)
#define ST_ACTION_NAME_MAX	64	/* bytes of [A-Za-z0-9_-]: a tool's name */
#define ST_ACTION_DESC_MAX	1000	/* characters */
#define ST_ACTION_SCHEMA_MAX	8192	/* bytes of its parameters' JSON */
#define ST_ACTION_URL_MAX	2048	/* bytes */
#define ST_ACTION_BODY_MAX	2048	/* bytes of its body template */
#define ST_ACTION_HEADERS_MAX	8	/* headers an action sends */
#define ST_ACTION_HNAME_MAX	64	/* bytes of a header's name */
#define ST_ACTION_HVALUE_MAX	1024	/* bytes of a header's value */
/* Its headers as stored: "Name: value" lines, each ended by "\n". */
#define ST_ACTION_HLINES_MAX	(ST_ACTION_HEADERS_MAX *		\
	(ST_ACTION_HNAME_MAX + 2 + ST_ACTION_HVALUE_MAX + 1))
/* Their names shown: each and a "\n". */
#define ST_ACTION_HNAMES_MAX	(ST_ACTION_HEADERS_MAX *		\
	(ST_ACTION_HNAME_MAX + 1))
#define ST_ACTION_TIMEOUT_MAX	30000	/* ms */
#define ST_ACTION_TIMEOUT_DEF	10000	/* ms: timeout_ms null */
#define ST_ACTION_ANSWER_MAX	2097152	/* bytes read of an answer: 2 MiB */
#define ST_ACTION_ANSWER_DEF	16384	/* bytes: max_response_bytes null */

enum st_method {
	ST_METHOD_GET = 0,
	ST_METHOD_POST = 1,
	ST_METHOD_PUT = 2,
	ST_METHOD_PATCH = 3,
	ST_METHOD_DELETE = 4,
};
#define ST_METHOD_MAX		ST_METHOD_DELETE

/* ST_ACTION_UPDATE's mask: which fields the request sets. */
#define ST_ACF_NAME		0x0001
#define ST_ACF_DESCRIPTION	0x0002
#define ST_ACF_PARAMETERS	0x0004
#define ST_ACF_METHOD		0x0008
#define ST_ACF_URL		0x0010
#define ST_ACF_BODY		0x0020
#define ST_ACF_HEADERS		0x0040
#define ST_ACF_CHANGES		0x0080	/* changes_data */
#define ST_ACF_VERIFIED		0x0100	/* requires_verified */
#define ST_ACF_TIMEOUT		0x0200	/* timeout_ms */
#define ST_ACF_ANSWER		0x0400	/* max_response_bytes */
#define ST_ACF_ENABLED		0x0800

/*
 * The action record, a row per field in stored order (record.h), of
 * format 1. name is the tool's name the model calls (unique in its
 * organisation); description tells the model when to use it;
 * parameters is a JSON Schema of the arguments, as JSON text (the admin
 * API shows and takes it as an object: workerd/admin/actions.c, which
 * checks it with workerd/actions/schema.c); url and body are templates
 * (workerd/actions/template.c: {{argument}}, {{visitor.external_id}},
 * {{visitor.email}}; body "" sends none); headers are sent with each
 * call, "Name: value" lines, never shown (header_names, storaged's
 * from them: each name and a newline, says which are set); changes_data: the visitor confirms each
 * call first; requires_verified: only a verified visitor's turn may call
 * it; timeout_ms and max_response_bytes null are ST_ACTION_TIMEOUT_DEF
 * and ST_ACTION_ANSWER_DEF.
 *
 *   kind     member             JSON                 since bit
 *            view     bound                      x
 */
#define ST_ACTION_ROWS(F)						\
	F(BUF, id, "id", 1, RF_RO,					\
	    RF_ADM, ST_ACTION_ID_LEN, 0)				\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_ADM, ST_WHO_ORG_MAX, 0)					\
	F(BUF, name, "name", 1, ST_ACF_NAME,				\
	    RF_ADM, ST_ACTION_NAME_MAX, 0)				\
	F(STR, description, "description", 1, ST_ACF_DESCRIPTION,	\
	    RF_ADM, ST_ACTION_DESC_MAX, 1)				\
	F(BYTES, parameters, "parameters", 1, ST_ACF_PARAMETERS,	\
	    RF_ADM, ST_ACTION_SCHEMA_MAX, 0)				\
	F(ENUM, method, "method", 1, ST_ACF_METHOD,			\
	    RF_ADM, ST_METHOD_MAX, ST_METHOD_GET)			\
	F(BYTES, url, "url", 1, ST_ACF_URL,				\
	    RF_ADM, ST_ACTION_URL_MAX, 0)				\
	F(BYTES, body, "body", 1, ST_ACF_BODY,				\
	    RF_ADM, ST_ACTION_BODY_MAX, 0)				\
	F(BYTES, headers, "headers", 1, ST_ACF_HEADERS,		\
	    RF_HID, ST_ACTION_HLINES_MAX, 0)				\
	F(BUF, header_names, "header_names", 1, RF_RO,			\
	    RF_ADM, ST_ACTION_HNAMES_MAX, 0)				\
	F(BOOL, changes_data, "changes_data", 1, ST_ACF_CHANGES,	\
	    RF_ADM, 1, 0)						\
	F(BOOL, requires_verified, "requires_verified", 1, ST_ACF_VERIFIED, \
	    RF_ADM, 1, 0)						\
	F(COUNT, timeout_ms, "timeout_ms", 1, ST_ACF_TIMEOUT,		\
	    RF_ADM, ST_ACTION_TIMEOUT_MAX, 0)				\
	F(COUNT, max_response_bytes, "max_response_bytes", 1, ST_ACF_ANSWER, \
	    RF_ADM, ST_ACTION_ANSWER_MAX, 0)				\
	F(BOOL, enabled, "enabled", 1, ST_ACF_ENABLED,			\
	    RF_ADM, 1, 1)						\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)						\
	F(TIME, updated_at, "updated_at", 1, RF_RO,			\
	    RF_ADM, 0, 0)

/* Its layout (actionmsg.c), and the mask of every field an update sets. */
RL_RECORD(st_action, action, ST_ACTION_ROWS)
#define ST_ACF_ALL	(0u ST_ACTION_ROWS(RF_MASK))

/* A method's name ("GET"; NULL out of range) and back (-1): its ENUM. */
const char *st_method_name(int);
int st_method_parse(const char *);
/* 1 when s can name an action: "act_" + 32 lowercase hex. */
int st_action_id_valid(const char *s);
/* 1 when s is a tool's name: 1-64 bytes of [A-Za-z0-9_-]. */
int st_action_name_valid(const char *s);
/*
 * 1 when s is a header's name: 1-64 bytes of an HTTP token, none of
 * those the transfer sets itself (Host, Content-Length,
 * Transfer-Encoding, Connection, Content-Type: the body is JSON).
 */
int st_action_hname_valid(const char *s);
/*
 * NULL when a is a valid action, else "field: what is wrong" (static):
 * its rows' bounds, its name, an http(s) url, no body for GET or
 * DELETE, its headers' lines and names. Where the url points and
 * whether the templates and the schema read are the worker's
 * (workerd/admin/actions.c).
 */
const char *st_action_invalid(const struct st_action *a);

/*
 * ST_ACTION_UPDATE's payload (mask: ST_ACF_*); ST_ACTION_LIST's and
 * ST_ACTION_TOOLS's reply.
 */
RL_ENTITY_REQS(st_action, a, uint32_t, actions);

/* ST_ACTION_TOOLS's payload. */
struct st_action_tools_req {
	char org[ST_WHO_ORG_MAX + 1];
	struct st_str *ids;
	uint32_t n;
	uint8_t disabled_too;	/* 1: a disabled one too (a dry run's) */
};

#endif
