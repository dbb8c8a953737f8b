/*
 * The store operations of the owner's side (optab.c's rows; the frame
 * they run in is ops.h's): dashboard sign-in and its sessions, API keys,
 * the audit log, users, the setup checklist, reports and knowledge gaps,
 * the knowledge base's search and sync, and parleyctl's stats and purge.
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

void
op_dash_login(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_login_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_dash_login(&t, q->token_hash, q->token_hash_len, q->csrf,
	    q->user, q->expires_at);
	req_end(&t, r);
}

void
op_dash_check(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_check_req *q = req;
	struct st_dash_check_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_dash_check(&t, q->token_hash, q->token_hash_len, q->org,
	    q->want_orgs, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

void
op_dash_logout(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_logout_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_dash_logout(&t, q->token_hash, q->token_hash_len);
	req_end(&t, r);
}

void
op_dash_salt(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_dash_salt_rep rep;
	struct store_txn t;

	(void)req;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_dash_salt(&t, rep.salt) == 0) {
		rep.salt_len = sizeof(rep.salt);
		reply_enc(r, type, &rep);
	}
	req_end(&t, r);
}

/* The failed-login budget, then the client's count (dashmsg.h). */
void
op_dash_attempt(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_dash_attempt_req *q = req;
	struct st_rate_verdict v = { 2, 0 };

	if (!store_dash_failed_spent(b->rl, q->failures_max, &v.retry_ms)) {
		reply_rate_verdict(b, r, type, q->rate_key, q->window_ms,
		    q->rate_max);
		return;
	}
	reply_enc(r, type, &v);
	reply_stands(r);
}

/* The reports' rows of who asks's organisation. */
void
op_report_get(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_report_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_report_get(&t, req, &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* The knowledge gaps of who asks's organisation: listed or deleted. */
void
op_gaps(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	union {
		struct st_gap_list_rep list;
		struct st_u64 deleted;
	} rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if ((type == PROTO_ST_GAP_LIST ? store_gap_list(&t, req, &rep.list) :
	    store_gap_delete(&t, req, &rep.deleted)) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	} else if (type == PROTO_ST_GAP_LIST)
		st_rep_free(type, &rep);
	req_end(&t, r);
}

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

void
op_stats(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	struct store_txn t;
	struct st_stats s;

	(void)req;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_stats(&t, &s) == 0)
		reply_enc(r, type, &s);
	req_end(&t, r);
}

void
op_purge(struct dbatch *b, uint16_t type, const void *req, struct dreply *r)
{
	const struct st_purge_req *q = req;
	struct st_purge_rep rep;
	struct store_txn t;
	int more;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_purge(&t, q->cutoff_ms, q->max, q->dry_run != 0, &rep.n,
	    &more) == 0) {
		rep.more = (uint8_t)more;
		reply_enc(r, type, &rep);
	}
	req_end(&t, r);
}

/*
 * The knowledge base's searches (kbsource.h): who asks's organisation's,
 * or a chat turn's, of the organisation and sources it names.
 */
void
op_kb_search(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_kb_hits h;
	struct st_kb_space sp;
	struct store_txn t;

	if ((type == PROTO_ST_KB_SEARCH || type == PROTO_ST_AGENT_EMBED) &&
	    req_org(b, r) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	if (type == PROTO_ST_AGENT_EMBED) {
		if (store_agent_embed(&t, b->who->org,
		    ((const struct st_id_req *)req)->id, &sp) == 0)
			reply_enc(r, type, &sp);
		st_rep_free(type, &sp);
		req_end(&t, r);
		return;
	}
	if ((type == PROTO_ST_KB_SEARCH ? store_kb_search(&t, b->who->org,
	    req, &h) : store_kb_retrieve(&t, req, &h)) == 0)
		reply_enc(r, type, &h);
	st_rep_free(type, &h);	/* what a failed search found too */
	req_end(&t, r);
}

/*
 * A knowledge source's sync (kbpage.h): the fetcher's requests (no who:
 * every organisation's), and the admin API's sync and pages (who asks's).
 */
void
op_kb_sync(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;
	union st_any rep;

	if ((type == PROTO_ST_KB_SYNC || type == PROTO_ST_KB_PAGES ||
	    type == PROTO_ST_KB_FILE_PUT) && req_org(b, r) < 0)
		return;
	if (req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	switch (type) {
	case PROTO_ST_KB_DUE:
		store_kb_due(&t, req, &rep.kbj);
		break;
	case PROTO_ST_KB_PAGE_GET:
		store_kb_page_get(&t, req, &rep.kbp);
		break;
	case PROTO_ST_KB_PAGE_PUT:
		store_kb_page_put(&t, req, &rep.kbpp);
		break;
	case PROTO_ST_KB_SYNC_DONE:
		store_kb_sync_done(&t, req, &rep.u8.v);
		break;
	case PROTO_ST_KB_SYNC:
		store_kb_sync(&t, b->who->org, q->id, &rep.kbs);
		break;
	case PROTO_ST_KB_PAGES:
		store_kb_pages(&t, b->who->org, req, &rep.kbpl);
		break;
	case PROTO_ST_KB_FILE_PUT:
		store_kb_file_put(&t, b->who->org, req, &rep.kbfp);
		break;
	case PROTO_ST_KB_FILE_GET:
		store_kb_file_get(&t, req, &rep.kbf);
		break;
	}
	if (t.err == 0)
		reply_enc(r, type, &rep);
	st_rep_free(type, &rep);
	req_end(&t, r);
}

void
op_key_create(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_key_create_req *q = req;
	struct st_apikey k;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	if (store_key_create(&t, b->who->org, q->name, q->role, q->hash,
	    q->hash_len, &k) == 0) {
		reply_enc(r, type, &k);
		st_apikey_free(&k);
	}
	req_end(&t, r);
}

void
op_key_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	struct st_apikeys rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (store_key_list(&t, b->who->org, &rep.keys, &rep.n) == 0) {
		reply_enc(r, type, &rep);
		store_keys_free(rep.keys, rep.n);
	}
	req_end(&t, r);
}

void
op_key_delete(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_req *q = req;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	store_key_delete(&t, b->who->org, q->id);
	req_end(&t, r);
}

void
op_key_auth(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_key_auth_req *q = req;
	struct st_key_auth_rep rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_key_auth_rep(&t, q->hash, q->hash_len, &rep) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
}

void
op_audit_list(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_page_req *q = req;
	struct st_audit_page rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	if (store_audit_page(&t, b->who->org, q->limit, q->cursor,
	    &rep) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

/* The entry is req_end's, as for every audited request. */
void
op_audit_note(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_audit_note_req *q = req;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_check(r,
	    st_audit_note_action(q->action) ? NULL :
	    "action: not one a note may record") < 0 ||
	    req_begin(b, &t, r, type) < 0)
		return;
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
	if (t.err == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
	if (r->err == 0)
		strlcpy(r->user_gone, gone, sizeof(r->user_gone));
}
