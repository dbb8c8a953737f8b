/*
 * storaged's webhooks (issue 23, hookmsg.h), through the dispatcher as a
 * worker asks, who asks set: create (the secret in its reply alone),
 * the checks, get, list, update by mask (enabled again forgets the
 * failures), delete, all scoped to who asks's organisation, the 20 per
 * organisation, kept across a reopen, and swept with a deleted
 * organisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "hookmsg.h"
#include "hookstore.h"
#include "log.h"
#include "orgmsg.h"
#include "orgstore.h"
#include "stmsgs.h"
#include "storaged.h"
#include "wsess.h"
#include "test_fixture.h"
#include "test_who.h"

#define SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static struct st_who OWNER_A;

static int
setup(void **state)
{
	OWNER_A = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	return fix_setup(state, "/tmp/parley-hooks-XXXXXX", 0);
}

static struct st_webhook
hook_in(const char *url, uint32_t events)
{
	struct st_webhook h;

	memset(&h, 0, sizeof(h));
	h.url = (char *)url;
	h.events = events;
	h.enabled = 1;
	strlcpy(h.secret, SECRET, sizeof(h.secret));
	return h;
}

static int
hook_create(struct fix *f, const struct st_who *who, const char *url,
    uint32_t events, struct st_webhook *out)
{
	struct st_webhook in = hook_in(url, events);

	return request_who(f, who, PROTO_ST_HOOK_CREATE, &in, out, NULL);
}

/* A new organisation; who asks as its owner's key would. */
static struct st_who
org_new(struct fix *f, const char *name)
{
	return who_org_new(f, &OWNER_A, name);
}

static void
test_create_get_list(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_webhook a, a2, g, x;
	struct st_webhooks l;

	assert_int_equal(hook_create(f, &OWNER_A, "https://hooks.example/a",
	    ST_HE_MESSAGE_CREATED | ST_HE_HANDOFF_REQUESTED, &a), 0);
	assert_true(st_hook_id_valid(a.id));
	assert_string_equal(a.org, ST_ORG_DEFAULT);
	assert_string_equal(a.url, "https://hooks.example/a");
	assert_int_equal(a.events, ST_HE_MESSAGE_CREATED |
	    ST_HE_HANDOFF_REQUESTED);
	assert_int_equal(a.enabled, 1);
	assert_string_equal(a.secret, SECRET);	/* the create's reply only */
	assert_int_equal(a.created_at, T0);
	fake_now += 5;
	assert_int_equal(hook_create(f, &OWNER_A, "http://hooks.example/2",
	    ST_HE_ALL, &a2), 0);
	assert_int_equal(hook_create(f, &b, "https://b.example/", ST_HE_ALL,
	    &x), 0);

	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ a.id }, &g, NULL), 0);
	assert_string_equal(g.url, a.url);
	assert_string_equal(g.secret, "");
	st_webhook_free(&g);
	/* Another organisation's: not found, as an unknown one. */
	assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ a.id }, NULL, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_DELETE,
	    &(struct st_id_req){ a.id }, NULL, NULL), PROTO_E_NOT_FOUND);

	/* Each organisation its own, oldest first, no secret. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_LIST, NULL,
	    &l, NULL), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.hooks[0].id, a.id);
	assert_string_equal(l.hooks[1].id, a2.id);
	assert_string_equal(l.hooks[0].secret, "");
	assert_string_equal(l.hooks[1].secret, "");
	st_rep_free(PROTO_ST_HOOK_LIST, &l);
	assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.hooks[0].id, x.id);
	st_rep_free(PROTO_ST_HOOK_LIST, &l);

	/* Kept across a reopen, secret and all (the notifier signs). */
	fix_reopen(f);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ a2.id }, &g, NULL), 0);
	assert_string_equal(g.url, "http://hooks.example/2");
	st_webhook_free(&g);
	assert_int_equal(db_entries(f, "webhooks"), 3);

	/* Deleted. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_DELETE,
	    &(struct st_id_req){ a.id }, NULL, NULL), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ a.id }, NULL, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(db_entries(f, "webhooks"), 2);
	assert_int_equal(db_entries(f, "webhook_order"), 2);
	st_webhook_free(&a);
	st_webhook_free(&a2);
	st_webhook_free(&x);
}

static void
test_checks(void **state)
{
	struct fix *f = *state;
	struct st_webhook in;
	int n = 0;

	assert_int_equal(hook_create(f, &OWNER_A, "ftp://x.example/",
	    ST_HE_ALL, NULL), PROTO_E_INVALID);
	assert_int_equal(hook_create(f, &OWNER_A, "https:///path", ST_HE_ALL,
	    NULL), PROTO_E_INVALID);
	assert_int_equal(hook_create(f, &OWNER_A, "https://a b.example/",
	    ST_HE_ALL, NULL), PROTO_E_INVALID);
	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/", 0,
	    NULL), PROTO_E_INVALID);
	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/",
	    ST_HE_ALL + 1, NULL), PROTO_E_INVALID);
	/* A secret the server did not make. */
	in = hook_in("https://x.example/", ST_HE_ALL);
	strlcpy(in.secret, "hunter2", sizeof(in.secret));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_CREATE, &in,
	    NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(db_entries(f, "webhooks"), 0);

	/* 20 per organisation. */
	while (n < ST_HOOKS_MAX) {
		assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/",
		    ST_HE_ALL, NULL), 0);
		n++;
	}
	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/",
	    ST_HE_ALL, NULL), PROTO_E_INVALID);
	assert_int_equal(db_entries(f, "webhooks"), ST_HOOKS_MAX);
}

static void
test_update(void **state)
{
	struct fix *f = *state;
	struct st_webhook_update_req u;
	struct st_webhook a, out;

	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/",
	    ST_HE_CONV_CREATED, &a), 0);
	memset(&u, 0, sizeof(u));
	u.id = a.id;
	u.mask = ST_HF_EVENTS | ST_HF_ENABLED;
	u.h.events = ST_HE_CONV_DELETED;
	u.h.enabled = 0;
	fake_now += 7;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_UPDATE, &u,
	    &out, NULL), 0);
	assert_int_equal(out.events, ST_HE_CONV_DELETED);
	assert_int_equal(out.enabled, 0);
	assert_string_equal(out.url, "https://x.example/");	/* not masked */
	assert_string_equal(out.secret, "");
	assert_int_equal(out.updated_at, T0 + 7);
	st_webhook_free(&out);
	/* A bad url is refused whole; an unknown id is not found. */
	u.mask = ST_HF_URL;
	u.h.url = "gopher://x.example/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_UPDATE, &u,
	    NULL, NULL), PROTO_E_INVALID);
	u.id = "wh_0123456789abcdef0123456789abcdef";
	u.h.url = "https://y.example/";
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_UPDATE, &u,
	    NULL, NULL), PROTO_E_NOT_FOUND);
	st_webhook_free(&a);
}

/* The secrets the notifier signs a new test delivery of hook with: its job's. */
static void
job_secrets(struct fix *f, const char *hook, char *secret, char *old)
{
	struct st_delivery d;
	struct st_hook_jobs j;

	uint32_t i;

	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_TEST,
	    &(struct st_id_req){ hook }, &d, NULL), 0);
	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE,
	    &(struct st_hook_due_req){ .max = 8, .lease_ms = 60000,
	    .per_hook = 8 }, &j, NULL), 0);
	/* Earlier ones are due again once their leases end: this one's. */
	for (i = 0; i < j.n && strcmp(j.jobs[i].d.id, d.id) != 0; i++)
		;
	assert_true(i < j.n);
	strcpy(secret, j.jobs[i].secret);
	strcpy(old, j.jobs[i].old_secret);
	st_delivery_free(&d);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);
}

/*
 * A secret rotated: the reply holds the new one, never the one before,
 * which signs beside it for ST_HOOK_SECRET_OVERLAP; a second rotation
 * drops the first; another organisation's webhook is not found, and a
 * secret the server did not make is refused.
 */
static void
test_secret_rotate(void **state)
{
	static const char s2[] = "whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
	static const char s3[] = "whsec_Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=";
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_hook_secret_req q;
	struct st_webhook a, out, g;
	char secret[ST_HOOK_SECRET_MAX + 1], old[ST_HOOK_SECRET_MAX + 1];

	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/",
	    ST_HE_CONV_CREATED, &a), 0);
	assert_string_equal(a.old_secret, "");
	assert_int_equal(a.old_until, 0);
	job_secrets(f, a.id, secret, old);
	assert_string_equal(secret, SECRET);
	assert_string_equal(old, "");

	memset(&q, 0, sizeof(q));
	q.id = a.id;
	strlcpy(q.secret, s2, sizeof(q.secret));
	fake_now += 9;
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_SECRET, &q,
	    &out, NULL), 0);
	assert_string_equal(out.secret, s2);
	assert_string_equal(out.old_secret, "");	/* never sent */
	assert_int_equal(out.old_until, T0 + 9 + ST_HOOK_SECRET_OVERLAP);
	assert_int_equal(out.updated_at, T0 + 9);
	st_webhook_free(&out);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ a.id }, &g, NULL), 0);
	assert_string_equal(g.secret, "");
	assert_string_equal(g.old_secret, "");
	assert_int_equal(g.old_until, T0 + 9 + ST_HOOK_SECRET_OVERLAP);
	st_webhook_free(&g);
	job_secrets(f, a.id, secret, old);
	assert_string_equal(secret, s2);
	assert_string_equal(old, SECRET);

	/* Again: the first goes. */
	strlcpy(q.secret, s3, sizeof(q.secret));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_SECRET, &q,
	    &out, NULL), 0);
	st_webhook_free(&out);
	job_secrets(f, a.id, secret, old);
	assert_string_equal(secret, s3);
	assert_string_equal(old, s2);
	/* Past its overlap, the one before signs no more. */
	fake_now += ST_HOOK_SECRET_OVERLAP;
	job_secrets(f, a.id, secret, old);
	assert_string_equal(secret, s3);
	assert_string_equal(old, "");

	/* Not another organisation's; not a secret of its own making. */
	assert_int_equal(request_who(f, &b, PROTO_ST_HOOK_SECRET, &q, NULL,
	    NULL), PROTO_E_NOT_FOUND);
	strlcpy(q.secret, "whsec_short", sizeof(q.secret));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_SECRET, &q,
	    NULL, NULL), PROTO_E_INVALID);
	job_secrets(f, a.id, secret, old);
	assert_string_equal(secret, s3);
	st_webhook_free(&a);
}

/* Webhook id as stored, secrets and all (store_hook_load). */
static void
hook_stored(struct fix *f, const char *id, struct st_webhook *h)
{
	struct store_txn t;

	store_begin(f->st, &t, 1);
	assert_int_equal(store_hook_load(&t, id, h), 0);
	store_abort(&t);
}

/* Rotates id's secret to s. */
static void
hook_rotate(struct fix *f, const char *id, const char *s)
{
	struct st_hook_secret_req q = { .id = id };
	struct st_webhook out;

	strlcpy(q.secret, s, sizeof(q.secret));
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_HOOK_SECRET, &q,
	    &out, NULL), 0);
	st_webhook_free(&out);
}

/*
 * The sweep's walk drops a rotated secret once its day is over, one
 * webhook a step here: the secret rotated first goes, the one rotated
 * later stays until its own day is over, a webhook never rotated is not
 * written; the walk ends; storaged's sweep walks too.
 */
static void
test_secret_swept(void **state)
{
	static const char s2[] = "whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
	struct fix *f = *state;
	struct st_webhook a, b, c, g;
	char cursor[ST_HOOK_ID_LEN + 1] = "";
	struct store_sweep o;
	struct store_txn t;
	uint32_t n, dropped = 0;
	int steps = 0;

	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/a",
	    ST_HE_ALL, &a), 0);
	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/b",
	    ST_HE_ALL, &b), 0);
	assert_int_equal(hook_create(f, &OWNER_A, "https://x.example/c",
	    ST_HE_ALL, &c), 0);
	hook_rotate(f, a.id, s2);
	fake_now += ST_HOOK_SECRET_OVERLAP / 2;
	hook_rotate(f, b.id, s2);
	fake_now += ST_HOOK_SECRET_OVERLAP / 2;	/* a's day is over */
	do {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_hook_old_sweep(&t, 1, cursor, &n), 0);
		assert_int_equal(store_commit(&t), 0);
		dropped += n;
	} while (++steps < 10 && cursor[0] != '\0');
	assert_int_equal(steps, 4);	/* one webhook a step, then the end */
	assert_int_equal(dropped, 1);
	hook_stored(f, a.id, &g);
	assert_string_equal(g.secret, s2);
	assert_string_equal(g.old_secret, "");
	assert_int_equal(g.old_until, 0);
	st_webhook_free(&g);
	hook_stored(f, b.id, &g);
	assert_string_equal(g.old_secret, SECRET);
	assert_int_equal(g.old_until, fake_now + ST_HOOK_SECRET_OVERLAP / 2);
	st_webhook_free(&g);
	hook_stored(f, c.id, &g);
	assert_string_equal(g.secret, SECRET);
	assert_int_equal(g.updated_at, c.updated_at);
	st_webhook_free(&g);

	/* Past b's day, storaged's sweep (its first walk): b's goes too. */
	fake_now += ST_HOOK_SECRET_OVERLAP / 2;
	assert_int_equal(sweep_step(f->st, SWEEP_BATCH, 1000000, &o), 0);
	assert_int_equal(o.secrets, 1);
	assert_false(o.more);
	hook_stored(f, b.id, &g);
	assert_string_equal(g.secret, s2);
	assert_string_equal(g.old_secret, "");
	st_webhook_free(&g);
	st_webhook_free(&a);
	st_webhook_free(&b);
	st_webhook_free(&c);
}

static void
test_org_sweep(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct store_txn t;
	uint32_t n;
	int more = 1, steps = 0;

	assert_int_equal(hook_create(f, &b, "https://b.example/1", ST_HE_ALL,
	    NULL), 0);
	assert_int_equal(hook_create(f, &b, "https://b.example/2", ST_HE_ALL,
	    NULL), 0);
	assert_int_equal(hook_create(f, &OWNER_A, "https://a.example/",
	    ST_HE_ALL, NULL), 0);
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	while (more && steps++ < 20) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_org_sweep(&t, 1, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
	/* The default organisation's is kept. */
	assert_int_equal(db_entries(f, "webhooks"), 1);
	assert_int_equal(db_entries(f, "webhook_order"), 1);
}

/* The retired index (org NUL id), as an older storaged left it, is emptied. */
static void
test_retired_index(void **state)
{
	struct fix *f = *state;
	static const char key[] = "default\0wh_0123456789abcdef0123456789abcdef";
	uint8_t version = ST_RECORD_VERSION;
	MDB_val k = { sizeof(key) - 1, (void *)key }, v = { 1, &version };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "hook_org", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	assert_int_equal(db_entries(f, "hook_org"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_get_list, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_checks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_update, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_secret_rotate, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_secret_swept, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_sweep, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_retired_index, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
