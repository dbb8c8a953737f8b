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
#include "records.h"
#include "stmsgs.h"
#include "storedbs.h"
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

/* The database of struct store's member at off, by its name ("" none). */
static const char *
db_name(size_t off)
{
#define DB_AT(name, layout)						\
	if (off != 0 && off == offsetof(struct store, name))		\
		return #name;
	STORE_DBS(DB_AT)
#undef DB_AT
	return "";
}

/* The layout storedbs.h gives database name's records, or NULL. */
static const struct rlayout *
db_layout(const char *name)
{
#define DB_LAYOUT(db, layout)						\
	if (strcmp(name, #db) == 0)					\
		return (layout);
	STORE_DBS(DB_LAYOUT)
#undef DB_LAYOUT
	return NULL;
}

/*
 * storedbs.h's entity lists, which parleyctl verify holds the records
 * to, are the descriptors' own: each entity's records, order,
 * organisation order, layout and first id.
 */
static void
test_lists_as_described(void **state)
{
	static const struct store_entity *const ents[] = {
		&widget_entity, &agent_entity, &org_entity, &user_entity,
		&key_entity, &hook_entity, &kbsource_entity, &action_entity,
	};
	static const struct {
		const char *records, *order, *org_order, *first;
	} lists[] = {
#define LIST_ROW(records, order, org_order, first)			\
		{ #records, #order, #org_order, (first) },
		STORE_ENTITY_LISTS(LIST_ROW)
#undef LIST_ROW
	};
	size_t i, j;

	(void)state;
	assert_int_equal(sizeof(ents) / sizeof(ents[0]),
	    sizeof(lists) / sizeof(lists[0]));
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		const struct store_entity *e = ents[i];

		for (j = 0; j < sizeof(lists) / sizeof(lists[0]); j++)
			if (strcmp(lists[j].records, db_name(e->dbi)) == 0)
				break;
		assert_true(j < sizeof(lists) / sizeof(lists[0]));
		assert_string_equal(lists[j].order, db_name(e->order));
		assert_string_equal(lists[j].org_order,
		    db_name(e->org_order));
		assert_ptr_equal(db_layout(lists[j].records), e->layout);
		if (lists[j].first == NULL || e->first == NULL)
			assert_ptr_equal(lists[j].first, e->first);
		else
			assert_string_equal(lists[j].first, e->first);
	}
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
		cmocka_unit_test(test_lists_as_described),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
