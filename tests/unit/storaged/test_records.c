/*
 * records.c's organisation orders, through the dispatcher as a worker
 * asks: a list of one organisation's records reads its own alone,
 * however many the others hold, oldest first; a data directory whose
 * organisation order lacks records (one of before it) has it filled at
 * open; a deleted organisation's sweep takes its entries with it.
 * Webhooks stand for every entity with an organisation: the steps are
 * records.c's, the same for each.
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
#include "log.h"
#include "orgmsg.h"
#include "orgstore.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "test_who.h"

#define HOOK_SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-records-XXXXXX", 0);
}

/* Two new organisations, as the install's key makes them. */
static void
orgs_new(struct fix *f, struct st_who *a, struct st_who *b)
{
	struct st_who install = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);

	*a = who_org_new(f, &install, "A");
	*b = who_org_new(f, &install, "B");
}

/* A new webhook of who's organisation, a millisecond on; its id into id. */
static void
hook_new(struct fix *f, const struct st_who *who, char id[ST_HOOK_ID_LEN + 1])
{
	struct st_webhook in, out;

	memset(&in, 0, sizeof(in));
	in.url = "https://x.example/";
	in.events = ST_HE_ALL;
	in.enabled = 1;
	strlcpy(in.secret, HOOK_SECRET, sizeof(in.secret));
	fake_now++;	/* each one later: the order is by creation */
	assert_int_equal(request_who(f, who, PROTO_ST_HOOK_CREATE, &in, &out,
	    NULL), 0);
	strlcpy(id, out.id, ST_HOOK_ID_LEN + 1);
	st_webhook_free(&out);
}

/*
 * who's webhooks are ids (n of them, oldest first); the records the list
 * decoded, in all.
 */
static uint64_t
hooks_are(struct fix *f, const struct st_who *who,
    char ids[][ST_HOOK_ID_LEN + 1], uint32_t n)
{
	struct st_webhooks l;
	uint64_t d0, d1, puts;
	uint32_t i;

	store_costs(f->st, &d0, &puts);
	assert_int_equal(request_who(f, who, PROTO_ST_HOOK_LIST, NULL, &l,
	    NULL), 0);
	store_costs(f->st, &d1, &puts);
	assert_int_equal(l.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l.hooks[i].id, ids[i]);
	st_rep_free(PROTO_ST_HOOK_LIST, &l);
	return d1 - d0;
}

/* One organisation's list reads as many records whatever the others hold. */
static void
test_list_reads_its_own(void **state)
{
	struct fix *f = *state;
	struct st_who oa, ob;
	char as[3][ST_HOOK_ID_LEN + 1], other[ST_HOOK_ID_LEN + 1];
	uint64_t alone, among;
	int i;

	orgs_new(f, &oa, &ob);
	/* Each organisation's among the other's, in creation order. */
	hook_new(f, &ob, other);
	hook_new(f, &oa, as[0]);
	hook_new(f, &ob, other);
	hook_new(f, &oa, as[1]);
	hook_new(f, &oa, as[2]);
	alone = hooks_are(f, &oa, as, 3);
	for (i = 0; i < ST_HOOKS_MAX - 2; i++)
		hook_new(f, &ob, other);
	among = hooks_are(f, &oa, as, 3);
	assert_int_equal(among, alone);
	assert_int_equal(db_entries(f, "webhook_org"), 3 + ST_HOOKS_MAX);
}

/* Emptied behind storaged's back, the organisation order is made again. */
static void
test_filled_at_open(void **state)
{
	struct fix *f = *state;
	struct st_who oa, ob;
	char as[2][ST_HOOK_ID_LEN + 1], bs[3][ST_HOOK_ID_LEN + 1];

	orgs_new(f, &oa, &ob);
	hook_new(f, &ob, bs[0]);
	hook_new(f, &oa, as[0]);
	hook_new(f, &ob, bs[1]);
	hook_new(f, &ob, bs[2]);
	hook_new(f, &oa, as[1]);
	db_empty(f, "webhook_org", NULL);

	assert_int_equal(db_entries(f, "webhook_org"), 5);
	hooks_are(f, &oa, as, 2);
	hooks_are(f, &ob, bs, 3);
	/* Then kept: a new one goes in beside them. */
	hook_new(f, &oa, as[1]);
	assert_int_equal(db_entries(f, "webhook_org"), 6);
}

/* A deleted organisation's entries go with its records; the others stay. */
static void
test_swept(void **state)
{
	struct fix *f = *state;
	struct st_who oa, ob;
	char as[1][ST_HOOK_ID_LEN + 1], other[ST_HOOK_ID_LEN + 1];
	struct store_txn t;
	uint32_t n;
	int more = 1, steps = 0;

	orgs_new(f, &oa, &ob);
	hook_new(f, &ob, other);
	hook_new(f, &oa, as[0]);
	hook_new(f, &ob, other);
	assert_int_equal(request_who(f, &oa, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ ob.org }, NULL, NULL), 0);
	while (more && steps++ < 20) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_org_sweep(&t, 1, 0, &n, &more), 0);
		assert_int_equal(store_commit(&t), 0);
	}
	assert_false(more);
	assert_int_equal(db_entries(f, "webhook_org"), 1);
	hooks_are(f, &oa, as, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_reads_its_own, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_filled_at_open, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_swept, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
