/*
 * storaged's table of the message types it receives (optab.c): one row a
 * type, saying who serves it, the store operation that runs it (and its
 * entity), and the audit entry it leaves. server.c routes by it,
 * dispatch.c runs by it, auditstore.c audits by it. Who may send a type,
 * and whether it writes, is the message table's (proto/msgtab.c).
 */
#ifndef PARLEY_OPTAB_H
#define PARLEY_OPTAB_H

#include <stddef.h>
#include <stdint.h>

struct dbatch;
struct dreply;
struct store_txn;
struct st_cred_gone;

/* Who serves a type. */
enum optab_by {
	OPT_STORE,	/* dispatch.c: its operation, in a batch's txn */
	OPT_METRICS,	/* server.c: the clients' counters, in memory */
	OPT_EVENTS,	/* server.c: the live events (eventring.h) */
	OPT_TURNS,	/* server.c: a worker's open turns (lostturns.h) */
	OPT_BACKUP,	/* server.c: a thread, started as it is read */
	OPT_REPL,	/* server.c and repl.c: taken out as it is read */
	/*
	 * repl.c's link to its primary reads it (a standby's); sent to the
	 * server it is no request: the store's path refuses it.
	 */
	OPT_UPLINK,
	OPT_CHANNEL,	/* the channel reads it (proto/channel.c): HELLO */
};

/* Where an audit entry's target id is: a str of the request's or reply's. */
enum audit_target {
	AUD_REQ,	/* the request's first str (an id it names) */
	AUD_REP,	/* the reply's first str (the id of what it made) */
	AUD_REP2,	/* the reply's second str (a widget's public id) */
	AUD_NOTE,	/* ST_AUDIT_NOTE's target */
	AUD_NONE,	/* none: what it names is personal (an email) */
	AUD_REP_U8,	/* the reply's first str after its u8 result */
	/*
	 * ST_INVITE_ACCEPT, asked by nobody: the entry goes to the
	 * invitation's organisation (the reply's second str after its u8),
	 * by the user it made, its target (the first).
	 */
	AUD_JOIN,
};

/*
 * A store operation (dispatch.c, the op*.c files; ops.h): runs the
 * decoded request req of type in batch b; r is always filled, with its
 * reply or its error.
 */
typedef void optab_op(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r);
/*
 * A store call run in the common frame (op_call, dispatch.c: who asks's
 * organisation first when the row says so, the request's txn, the reply
 * encoded and freed, the txn ended): request type's store operation on
 * the decoded req in t, b for who asks, its reply into rep (type's reply
 * struct, zeroed; freed with st_rep_free afterwards, as a decoded reply
 * is, whether the call succeeded or not: what it leaves there is owned
 * or NULL). 0, or t's error.
 */
typedef int optab_call(struct store_txn *t, struct dbatch *b,
    const void *req, void *rep);
/*
 * A store call that is store function fn on the request and reply as
 * they are: fn(t, req, rep); STORE_CALL_ORG's with who asks's
 * organisation first (its row says in_org); STORE_CALL_ORG_ID's
 * fn(t, org, id, rep) for a request that is an id alone (st_id_req).
 */
#define STORE_CALL(name, fn)						\
	int name(struct store_txn *t, struct dbatch *b, const void *req, \
	    void *rep)							\
	{ return fn(t, req, rep); }
#define STORE_CALL_ORG(name, fn)					\
	int name(struct store_txn *t, struct dbatch *b, const void *req, \
	    void *rep)							\
	{ return fn(t, b->who->org, req, rep); }
#define STORE_CALL_ORG_ID(name, fn)					\
	int name(struct store_txn *t, struct dbatch *b, const void *req, \
	    void *rep)							\
	{ return fn(t, b->who->org,					\
	    ((const struct st_id_req *)req)->id, rep); }
/*
 * An audited request's action from the request and the reply
 * (auditstore.c), or NULL for no entry (nothing changed).
 */
typedef const char *audit_pick(const void *req, const uint8_t *rep,
    size_t replen);

/*
 * A stored entity (widgets, agents, organisations, webhooks) answers its
 * requests (create, update, get, list, delete...) one way, op_entity's
 * (dispatch.c): a new record's config checked, its store's operation run
 * into the reply struct in the request's txn, the reply encoded by the
 * table and freed. What is its own is told here, by its store file.
 */
struct entity {
	uint16_t create;	/* the request whose record is checked first */
	/* NULL when a new record's config will do, else why not (static). */
	const char *(*invalid)(const void *rec);
	/*
	 * Runs request type's store operation on the decoded req, its
	 * reply into rep (type's reply struct, zeroed; freed with
	 * st_rep_free: what the store gives is malloc'd as a decoded
	 * reply's is). *gone: a public widget id that stops working once
	 * committed. org: who asks's organisation (NULL: any, for the
	 * public config and callers without who). Returns t's error.
	 */
	int (*run)(struct store_txn *t, const char *org, uint16_t type,
	    const void *req, void *rep, const char **gone);
};

struct optab {
	uint16_t type;
	enum optab_by by;
	optab_op *run;		/* OPT_STORE: the operation; else NULL */
	const struct entity *ent;	/* op_entity's entity, else NULL */
	optab_call *call;	/* op_call's store call, else NULL */
	uint8_t in_org;		/* op_call: who asks acts in an organisation */
	/*
	 * The audit: the action (pick NULL) or the pick that says it; both
	 * NULL for a request that leaves no entry. Widgets are named by
	 * their public id, as the API names them; the others by their id.
	 */
	const char *action;
	enum audit_target target;
	audit_pick *pick;
	/*
	 * A write of nobody (no who asks) taken in the map's reserve
	 * (store.h, STORE_MAP_RESERVE), where the others are refused:
	 * signing in (an owner must be able to come and make room), and
	 * the outboxes' and schedules' leases and results, which change
	 * records already there and, refused, would come back and be
	 * logged at every poll.
	 */
	uint8_t in_reserve;
	/*
	 * A write that makes room (a delete, a purge): taken, as the
	 * in_reserve rows, in the map's floor (store.h, STORE_MAP_FLOOR).
	 */
	uint8_t frees;
	/*
	 * op_call: the credential a request that succeeded ended (a
	 * logout's session, a deleted key), told to every worker.
	 */
	void (*cred_gone)(const void *req, struct st_cred_gone *out);
};

/* The row of type, or NULL for a type storaged does not receive. */
const struct optab *optab(uint16_t type);
/* The i-th row (0, 1, ...) by type, or NULL past the last: to walk the table. */
const struct optab *optab_at(size_t i);

/* The operations (dispatch.c and op*.c), each named by the rows it runs. */
optab_op op_ping, op_msg_append, op_conv_page, op_conv_get, op_chat_begin,
    op_chat_answer_last,
    op_rate_hit, op_session_history, op_entity, op_ws_open, op_ws_begin,
    op_contact_submit, op_ws_identify, op_contact_get, op_contact_convs,
    op_presence_seen, op_setup_note,
    op_setup_get, op_dash_attempt, op_handoff_set, op_agent_msg, op_typing,
    op_ws_request_human, op_turn_handoff, op_turn_lost, op_ws_conv_read,
    op_conv_assign, op_conv_state, op_resolve_due, op_att, op_audit_note, op_user,
    op_dash_login, op_call;
/* The store calls op_call runs (the op*.c files), each its row's. */
optab_call call_hook_due, call_hook_result, call_hook_deliveries,
    call_hook_retry, call_hook_test, call_notify_get, call_notify_set,
    call_mail_due, call_mail_result, call_mail_check, call_dash_check,
    call_dash_logout, call_dash_salt, call_report_get, call_gap_list,
    call_gap_delete, call_stats, call_purge, call_key_create, call_key_list,
    call_key_delete, call_key_auth, call_audit_list, call_conv_open,
    call_conv_delete, call_msg_page, call_msg_pages, call_conv_read,
    call_ws_feedback, call_ws_rating, call_fb_summary, call_canned_list,
    call_canned_put, call_canned_delete, call_contact_erase,
    call_contact_erasing,
    call_ws_conv_new, call_ws_conv_list, call_contact_list,
    call_contact_sessions, call_widget_avail, call_kb_search,
    call_kb_retrieve, call_agent_embed, call_kb_due, call_kb_page_get,
    call_kb_page_put, call_kb_sync_done, call_kb_sync, call_kb_pages,
    call_kb_file_put, call_kb_file_get;
/* The credentials op_call's rows end (opowner.c): optab's cred_gone. */
void gone_session(const void *req, struct st_cred_gone *out);
void gone_org(const void *req, struct st_cred_gone *out);
void gone_key(const void *req, struct st_cred_gone *out);
/* The entities op_entity runs, each its store file's (widgetstore.c...). */
extern const struct entity store_widget_entity, store_agent_entity,
    store_org_entity, store_hook_entity, store_kbsource_entity,
    store_action_entity;
/* auditstore.c's picks, each its type's (ST_HANDOFF_SET's, ...). */
audit_pick audit_pick_handoff, audit_pick_assign, audit_pick_state,
    audit_pick_agent_delete,
    audit_pick_invite, audit_pick_update, audit_pick_delete,
    audit_pick_user_set, audit_pick_user_self, audit_pick_join,
    audit_pick_contact_erase,
    audit_pick_note, audit_pick_kb_file, audit_pick_gap_delete,
    audit_pick_canned_put;

#endif
