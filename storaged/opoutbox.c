/*
 * The store calls of what leaves Parley (optab.c's rows, each run in
 * op_call's frame: optab.h): the notifier's webhook deliveries and
 * emails due, their results, the deliveries the owner reads, and a
 * user's choice of emails. The rules are outbox.c's and mailbox.c's.
 */
#include "mailbox.h"
#include "ops.h"
#include "optab.h"
#include "outbox.h"

STORE_CALL(call_hook_due, store_hook_due)

int
call_hook_result(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_hook_result_req *q = req;

	return store_hook_result(t, q->id, q->ok != 0, q->code, q->error,
	    q->duration_ms, q->retry_at);
}

int
call_notify_get(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	struct st_notify *n = rep;

	return store_notify_get(t, who_user(b), &n->mask);
}

int
call_notify_set(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_notify *q = req;

	if (store_notify_set(t, who_user(b), q->mask) != 0)
		return t->err;
	return call_notify_get(t, b, req, rep);
}

int
call_mail_due(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_mail_due_req *q = req;
	struct st_mails *m = rep;

	return store_mail_due(t, q->max, q->lease_ms, &m->mails, &m->n);
}

int
call_mail_result(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_mail_result_req *q = req;

	return store_mail_result(t, q->id, q->ok != 0, q->error, q->retry_at,
	    q->rcpt, q->nrcpt);
}

int
call_mail_check(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_req *q = req;

	return store_mail_check(t, q->id);
}

int
call_hook_deliveries(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_id_page_req *q = req;
	struct st_deliveries *l = rep;

	return store_hook_deliveries(t, b->who->org, q->id, q->limit,
	    q->cursor, &l->dlv, &l->n, l->next_cursor);
}

/* ST_HOOK_RETRY: a webhook's delivery due now again. */
int
call_hook_retry(struct store_txn *t, struct dbatch *b, const void *req,
    void *rep)
{
	const struct st_hook_retry_req *q = req;

	return store_hook_retry(t, b->who->org, q->hook, q->id, rep);
}

/* ST_HOOK_TEST: a test delivery of a webhook, due now. */
STORE_CALL_ORG_ID(call_hook_test, store_hook_test)
