/*
 * The store operations and calls of the owner's side (optab.c's rows;
 * the frame they run in is ops.h's, a call's op_call's): dashboard
 * sign-in and its sessions, API keys, the audit log, users, the setup
 * checklist, reports and knowledge gaps, the knowledge base's search and
 * sync, and parleyctl's stats and purge.
 * The rules are the store files' (dashstore.c, keystore.c, userstore.c,
 * rollups.c, kbsource.c...).
 */
#include <string.h>

#include "agentstore.h"
#include "dashstore.h"
#include "gapstore.h"
#include "kbpage.h"
#include "kbsource.h"
#include "keystore.h"
#include "ops.h"
#include "optab.h"
#include "rollups.h"
#include "setupcounts.h"
#include "userstore.h"
#include "widgetstore.h"

/*
 * ST_DASH_LOGIN (an empty reply): a session it ended to make room is
 * told to every worker once committed, as a logout's (dreply's
 * cred_gone; several of its user: user_gone, dashstore.h).
 */
void
op_dash_login(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_login_req *q = req;
	struct st_dash_login_rep rep;
	struct dash_ended ended;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_dash_login(&t, q, &ended, rep.device) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
	if (r->err != 0)
		return;
	r->cred_gone = ended.cred;
	r->user_gone = ended.user;
}

int
call_dash_check(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_dash_check_req *q = req;

	return store_dash_check(t, q->token_hash, q->token_hash_len, q->org,
	    q->want_orgs, rep);
}

int
call_dash_logout(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_dash_logout_req *q = req;

	return store_dash_logout(t, q->token_hash, q->token_hash_len);
}

/* The session a logout ended, as a worker's who names it. */
void
gone_session(const void *req, struct st_cred_gone *out)
{
	const struct st_dash_logout_req *q = req;

	if (q->token_hash_len < ST_DASH_WHO_BYTES)
		return;
	out->kind = ST_WHO_SESSION;
	proto_hex_encode(q->token_hash, ST_DASH_WHO_BYTES, out->id);
}

int
call_dash_salt(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	struct st_dash_salt_rep *s = rep;

	if (store_dash_salt(t, s->salt) != 0)
		return t->err;
	s->salt_len = sizeof(s->salt);
	return 0;
}

/*
 * Whether q's device cookie is its email's (read in the batch's txn):
 * past a spent budget, a browser that signed in to the account before.
 */
static int
attempt_known_device(struct dbatch *b, const struct st_dash_attempt_req *q)
{
	struct store_txn t;
	int known;

	if (q->device[0] == '\0' || store_begin_shared(&b->txn, &t) != 0)
		return 0;
	known = store_dash_device_known(&t, q->email, q->device);
	store_abort(&t);
	return known;
}

/* The failed-login budget, then the client's count (dashmsg.h). */
void
op_dash_attempt(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_attempt_req *q = req;
	struct st_rate_verdict v = { 2, 0 };

	if (!store_dash_failed_spent(b->rl, q->failures_max, &v.retry_ms) ||
	    attempt_known_device(b, q)) {
		reply_rate_verdict(b, r, type, q->rate_key, q->window_ms,
		    q->rate_max);
		return;
	}
	reply_enc(r, type, &v);
	reply_stands(r);
}

/* The reports' rows of who asks's organisation. */
STORE_CALL(call_report_get, store_report_get)

/* The knowledge gaps of who asks's organisation. */
STORE_CALL(call_gap_list, store_gap_list)
STORE_CALL(call_gap_delete, store_gap_delete)

/*
 * ST_SETUP_NOTE: a visitor's request refused (or a config fetch seen),
 * counted under its widget's internal id: "" is the HTTP chat API's
 * default widget, an id that names no widget goes to one bucket. In
 * memory, outside the txn: counted in a batch's first run only, as the
 * rate limits are, so a batch run again counts nothing twice.
 */
void
op_setup_note(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_setup_note_req *q = req;
	struct store_txn t;
	uint64_t retry;
	int rc;

	if (q->reason >= ST_SETUP_NREASONS) {
		reply_error(r, PROTO_E_INVALID, "unknown reason");
		return;
	}
	/* A report's client beyond its minute's share is not counted. */
	if (q->rate_key[0] != '\0' && (rc = rate_count(b, r, q->rate_key,
	    60 * 1000, ST_SETUP_REPORTS_PER_MIN, &retry)) != 0) {
		if (rc > 0)
			reply_stands(r);
		return;
	}
	if (b->nested || req_begin(b, &t, r, type) < 0)
		return;
	store_setup_note_widget(&t, q->widget_id, q->reason, q->origin);
	req_end(&t, r);
}

/* ST_SETUP_GET: who asks's organisation's widget's counts (setupcounts.h). */
void
op_setup_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct st_setup_rep rep;
	struct st_widget w;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_widget_get(&t, who_org(b), q->id, &w) == 0) {
		store_setup_get(t.st, w.id, &rep);
		reply_enc(r, type, &rep);
		st_widget_free(&w);
	}
	req_end(&t, r);
}

int
call_stats(struct store_txn *t, struct dbatch *b, const void *req, void *rep)
{
	return store_stats(t, rep);
}

int
call_purge(struct store_txn *t, struct dbatch *b, const void *req, void *rep)
{
	const struct st_purge_req *q = req;
	struct st_purge_rep *p = rep;
	int more;

	/* Their messages, up to a bound: the sweep removes the rest. */
	t->msgs_now = STORE_DELETE_MSGS;
	if (store_purge(t, q->cutoff_ms, q->max, q->dry_run != 0,
	    proto_mono_us() + STORE_DELETE_US, &p->n, &more) != 0)
		return t->err;
	p->more = (uint8_t)more;
	return 0;
}

/*
 * The knowledge base's searches (kbsource.h): who asks's organisation's,
 * or a chat turn's, of the organisation and sources it names; and an
 * agent's embedding space.
 */
STORE_CALL_ORG(call_kb_search, store_kb_search)
STORE_CALL(call_kb_retrieve, store_kb_retrieve)

STORE_CALL_ORG_ID(call_agent_embed, store_agent_embed)

/*
 * A knowledge source's sync (kbpage.h): the fetcher's requests (no who:
 * every organisation's), and the admin API's sync, pages and files (who
 * asks's).
 */
STORE_CALL(call_kb_due, store_kb_due)
STORE_CALL(call_kb_page_get, store_kb_page_get)
STORE_CALL(call_kb_page_put, store_kb_page_put)

int
call_kb_sync_done(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	struct st_u8_rep *more = rep;

	return store_kb_sync_done(t, req, &more->v);
}

STORE_CALL_ORG_ID(call_kb_sync, store_kb_sync)

STORE_CALL_ORG(call_kb_pages, store_kb_pages)
STORE_CALL_ORG(call_kb_file_put, store_kb_file_put)
STORE_CALL(call_kb_file_get, store_kb_file_get)

int
call_key_create(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_key_create_req *q = req;

	return store_key_create(t, b->who->org, q->name, q->role, q->hash,
	    q->hash_len, rep);
}

int
call_key_list(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	struct st_apikeys *l = rep;

	return store_key_list(t, b->who->org, &l->keys, &l->n);
}

int
call_key_delete(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;

	return store_key_delete(t, b->who->org, q->id);
}

/* The organisation a deletion ended: every stream acting in it. */
void
gone_org(const void *req, struct st_cred_gone *out)
{
	const struct st_id_req *q = req;

	out->kind = ST_CRED_ORG;
	strlcpy(out->id, q->id, sizeof(out->id));
}

/* The key a deletion ended. */
void
gone_key(const void *req, struct st_cred_gone *out)
{
	const struct st_id_req *q = req;

	out->kind = ST_WHO_ORGKEY;
	strlcpy(out->id, q->id, sizeof(out->id));
}

int
call_key_auth(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_key_auth_req *q = req;

	return store_key_auth_rep(t, q->hash, q->hash_len, rep);
}

int
call_audit_list(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_page_req *q = req;

	return store_audit_page(t, b->who->org, q->limit, q->cursor, rep);
}

/* The entry is req_end's, as for every audited request. */
void
op_audit_note(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_audit_note_req *q = req;
	struct store_txn t;

	uint8_t id[ID_LEN];
	struct st_conv c;

	if (req_org(b, r) < 0 || req_check(r,
	    st_audit_note_action(q->action) ? NULL :
	    "action: not one a note may record") < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
	/* An export of one conversation: the organisation's, else none. */
	if (strcmp(q->action, "export") == 0 && q->target != NULL &&
	    q->target[0] != '\0' && conv_by_hex(&t, q->target, id, &c) == 0)
		st_conv_free(&c);
	req_end(&t, r);
}

/*
 * Every people request (usermsg.h): its store operation in the request's
 * txn, the reply encoded by the table; a user whose sessions ended is
 * told to every worker once committed (dreply's user_gone).
 */
void
op_user(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	char gone[ST_USER_ID_MAX + 1] = "";
	union store_user_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_user_run(&t, b->who, type, req, &rep, gone);
	if (t.err == 0)
		reply_enc(r, type, &rep);
	/* What a failed request made too (a member's view), as op_call. */
	st_rep_free(type, &rep);
	req_end(&t, r);
	if (r->err != 0 || gone[0] == '\0')
		return;
	strlcpy(r->user_gone.id, gone, sizeof(r->user_gone.id));
	/* One's own new password keeps the session that set it. */
	if (type == PROTO_ST_USER_SELF && b->who != NULL)
		strlcpy(r->user_gone.keep, b->who->id,
		    sizeof(r->user_gone.keep));
}
