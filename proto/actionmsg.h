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
 *                     ST_AGENT_ACTION_IDS_MAX), u8 disabled_too, str
 *                     agent -> u32 n, n x action: those that exist, are
 *                     org's and are enabled (disabled_too 1: enabled or
 *                     not, for the admin API's dry run, which asks as who
 *                     asks's organisation), and, agent not "", that org's
 *                     agent of that id lists (a turn's check before a
 *                     call: the owner may have taken the action off the
 *                     agent since the turn began), in the order asked,
 *                     headers and all
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
 * Its rows (recordtab.h) and layout (actionmsg.c), and the mask of
 * every field an update sets.
 */
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
 * The tools a turn may offer of its own (workerd/chat/tools.c): no action
 * may take their names, or the model would get one name twice and its
 * calls would never reach the action.
 */
#define ST_TOOL_HANDOFF		"transfer_to_human"	/* the hand-over */
#define ST_TOOL_SEARCH		"search_knowledge"	/* the knowledge search */
#define ST_TOOL_CONTACT		"collect_contact"	/* the contact form */
/* 1 when name is one of those. */
int st_tool_builtin(const char *name);
/*
 * 1 when s is a header's name: 1-64 bytes of an HTTP token, none of
 * those the transfer sets itself (Host, Content-Length,
 * Transfer-Encoding, Connection, Content-Type: the body is JSON).
 */
int st_action_hname_valid(const char *s);
/*
 * NULL when a is a valid action, else "field: what is wrong" (static):
 * its rows' bounds, its name, an http(s) url, no body for GET or
 * DELETE, its headers' lines and names, its templates naming its
 * parameters (st_action_templates_invalid). Where the url points and
 * whether the schema and a filled body read are the worker's
 * (workerd/admin/actions.c).
 */
const char *st_action_invalid(const struct st_action *a);
/*
 * a's url and body naming its parameters (its schema's "properties") or a
 * verified visitor's fields only (actiontpl.h): part of st_action_invalid,
 * and what a call checks again of an action stored before it was. NULL,
 * or why not ("url: ...", "body: ...", "parameters: ...").
 */
const char *st_action_templates_invalid(const struct st_action *a);

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
	char agent[ST_ID_HEX + 1];	/* "": any; else only those it lists */
};

#endif
