/*
 * The store operations of what leaves Parley (optab.c's rows; the frame
 * they run in is ops.h's): the notifier's webhook deliveries and emails
 * due, their results, and the deliveries the owner reads. The rules are
 * outbox.c's and mailbox.c's.
 */
#include <string.h>

#include "mailbox.h"
#include "ops.h"
#include "optab.h"
#include "outbox.h"

void
op_hook_due(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_due_req *q = req;
	struct st_hook_jobs rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_hook_due(&t, q, &rep) == 0) {
		reply_enc(r, type, &rep);
		store_hook_jobs_free(rep.jobs, rep.n);
	}
	req_end(&t, r);
}

void
op_hook_result(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_result_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_hook_result(&t, q->id, q->ok != 0, q->code, q->error,
	    q->duration_ms, q->retry_at);
	req_end(&t, r);
}

void
op_notify(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_notify *q = req;
	struct st_notify rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if ((type == PROTO_ST_NOTIFY_GET ? 0 : store_notify_set(&t,
	    who_user(b), q->mask)) == 0 &&
	    store_notify_get(&t, who_user(b), &rep.mask) == 0)
		reply_enc(r, type, &rep);
	req_end(&t, r);
}

void
op_mail_due(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_mail_due_req *q = req;
	struct st_mails rep;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	if (store_mail_due(&t, q->max, q->lease_ms, &rep.mails,
	    &rep.n) == 0) {
		reply_enc(r, type, &rep);
		st_rep_free(type, &rep);
	}
	req_end(&t, r);
}

void
op_mail_result(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_mail_result_req *q = req;
	struct store_txn t;

	if (req_begin(b, &t, r, type) < 0)
		return;
	store_mail_result(&t, q->id, q->ok != 0, q->error, q->retry_at);
	req_end(&t, r);
}

void
op_hook_deliveries(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_id_page_req *q = req;
	struct st_deliveries rep;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (store_hook_deliveries(&t, b->who->org, q->id, q->limit,
	    q->cursor, &rep.dlv, &rep.n, rep.next_cursor) == 0) {
		reply_enc(r, type, &rep);
		store_deliveries_free(rep.dlv, rep.n);
	}
	req_end(&t, r);
}

/* ST_HOOK_RETRY (a webhook's delivery) and ST_HOOK_TEST (a webhook). */
void
op_hook_dlv(struct dbatch *b, uint16_t type, const void *req,
    struct dreply *r)
{
	const struct st_hook_retry_req *rq = req;
	const struct st_id_req *q = req;
	struct st_delivery d;
	struct store_txn t;

	if (req_org(b, r) < 0 || req_begin(b, &t, r, type) < 0)
		return;
	memset(&d, 0, sizeof(d));
	if ((type == PROTO_ST_HOOK_RETRY ? store_hook_retry(&t, b->who->org,
	    rq->hook, rq->id, &d) : store_hook_test(&t, b->who->org, q->id,
	    &d)) == 0) {
		reply_enc(r, type, &d);
		st_delivery_free(&d);
	}
	req_end(&t, r);
}
