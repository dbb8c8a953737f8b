/*
 * storaged's organisations (issue 22, orgmsg.h), through the dispatcher
 * as a client asks: the default one made at open (and kept across a
 * reopen), create, list (the default first, then oldest first), get,
 * update of the name, the checks, delete, the default kept, the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "test_fixture.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-orgs-XXXXXX", 0);
}

static struct st_org
org_named(const char *name)
{
	struct st_org o;

	memset(&o, 0, sizeof(o));
	o.name = strdup(name);
	assert_non_null(o.name);
	return o;
}

static int
org_create(struct fix *f, const char *name, struct st_org *out)
{
	struct st_org in = org_named(name);
	int err;

	err = request_dec(f, PROTO_ST_ORG_CREATE, &in, out);
	st_org_free(&in);
	return err;
}

static int
org_get(struct fix *f, const char *id, struct st_org *out)
{
	return request_dec(f, PROTO_ST_ORG_GET, &(struct st_id_req){ id },
	    out);
}

static int
org_rename(struct fix *f, const char *id, uint64_t mask, const char *name,
    struct st_org *out)
{
	struct st_org_update_req q = { id, mask, org_named(name) };
	int err;

	err = request_dec(f, PROTO_ST_ORG_UPDATE, &q, out);
	st_org_free(&q.o);
	return err;
}

static int
org_delete(struct fix *f, const char *id)
{
	return request_st_err(f, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ id });
}

static void
org_list(struct fix *f, struct st_orgs *l)
{
	assert_int_equal(request_dec(f, PROTO_ST_ORG_LIST, NULL, l), 0);
}

/* The default organisation is there from the first open, and stays one. */
static void
test_org_default(void **state)
{
	struct fix *f = *state;
	struct st_orgs l;
	struct st_org o;
	uint64_t made;

	assert_int_equal(org_get(f, ST_ORG_DEFAULT, &o), 0);
	assert_string_equal(o.id, "default");
	assert_string_equal(o.name, "Default");
	assert_true(o.created_at > 0);
	made = o.created_at;
	st_org_free(&o);
	/* Not made again: the same record after a reopen. */
	fix_reopen(f);
	org_list(f, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.orgs[0].id, "default");
	assert_int_equal(l.orgs[0].created_at, made);
	st_rep_free(PROTO_ST_ORG_LIST, &l);
	assert_int_equal(db_entries(f, "orgs"), 1);
	assert_int_equal(db_entries(f, "org_order"), 1);
}

static void
test_org_crud(void **state)
{
	struct fix *f = *state;
	struct st_org a, b, o;
	struct st_orgs l;

	fake_now = T0 + 10;
	assert_int_equal(org_create(f, "Acme", &a), 0);
	assert_true(st_org_id_valid(a.id));
	assert_int_equal(strncmp(a.id, "org_", 4), 0);
	assert_int_equal(strlen(a.id), 36);
	assert_string_equal(a.name, "Acme");
	assert_int_equal(a.created_at, T0 + 10);
	assert_int_equal(a.updated_at, T0 + 10);
	fake_now = T0 + 20;
	assert_int_equal(org_create(f, "Émile & fils", &b), 0);
	assert_string_not_equal(a.id, b.id);

	/* The default first, then oldest first. */
	org_list(f, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.orgs[0].id, ST_ORG_DEFAULT);
	assert_string_equal(l.orgs[1].id, a.id);
	assert_string_equal(l.orgs[2].id, b.id);
	assert_string_equal(l.orgs[2].name, "Émile & fils");
	st_rep_free(PROTO_ST_ORG_LIST, &l);

	assert_int_equal(org_get(f, a.id, &o), 0);
	assert_string_equal(o.name, "Acme");
	st_org_free(&o);

	/* A new name; a mask without it changes nothing but the time. */
	fake_now = T0 + 30;
	assert_int_equal(org_rename(f, a.id, ST_OF_NAME, "Acme Ltd", &o), 0);
	assert_string_equal(o.name, "Acme Ltd");
	assert_int_equal(o.created_at, T0 + 10);
	assert_int_equal(o.updated_at, T0 + 30);
	st_org_free(&o);
	assert_int_equal(org_rename(f, a.id, 0, "ignored", &o), 0);
	assert_string_equal(o.name, "Acme Ltd");
	st_org_free(&o);
	/* The default one may be renamed. */
	assert_int_equal(org_rename(f, ST_ORG_DEFAULT, ST_OF_NAME, "Main", &o),
	    0);
	assert_string_equal(o.name, "Main");
	st_org_free(&o);

	assert_int_equal(org_delete(f, a.id), 0);
	assert_int_equal(org_get(f, a.id, &o), PROTO_E_NOT_FOUND);
	assert_int_equal(org_delete(f, a.id), PROTO_E_NOT_FOUND);
	org_list(f, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.orgs[1].id, b.id);
	st_rep_free(PROTO_ST_ORG_LIST, &l);
	assert_int_equal(db_entries(f, "org_order"), 2);

	/* Kept across a reopen. */
	fix_reopen(f);
	assert_int_equal(org_get(f, b.id, &o), 0);
	assert_string_equal(o.name, "Émile & fils");
	st_org_free(&o);
	st_org_free(&a);
	st_org_free(&b);
}

static void
test_org_invalid(void **state)
{
	struct fix *f = *state;
	char longname[4 * 101 + 1];
	struct st_org_update_req q;
	struct st_org o;
	int i;

	assert_int_equal(org_create(f, "", &o), PROTO_E_INVALID);
	assert_int_equal(org_create(f, "\xff", &o), PROTO_E_INVALID);
	/* 100 characters of 2 bytes each: fine; 101: not. */
	for (i = 0; i < 100; i++)
		memcpy(longname + 2 * i, "\xc3\xa9", 2);
	longname[200] = '\0';
	assert_int_equal(org_create(f, longname, &o), 0);
	st_org_free(&o);
	memcpy(longname + 200, "x", 2);
	assert_int_equal(org_create(f, longname, &o), PROTO_E_INVALID);

	assert_int_equal(org_rename(f, ST_ORG_DEFAULT, ST_OF_NAME, "", &o),
	    PROTO_E_INVALID);
	/* A bit no field has. */
	assert_int_equal(org_rename(f, ST_ORG_DEFAULT, 0x4, "x", &o),
	    PROTO_E_INVALID);
	/* A daily turn budget past its bound, from storaged's side too. */
	q = (struct st_org_update_req){ ST_ORG_DEFAULT, ST_OF_DAILY_TURNS,
	    org_named("x") };
	q.o.daily_turns = ST_ORG_DAILY_TURNS_MAX + 1;
	assert_int_equal(request_dec(f, PROTO_ST_ORG_UPDATE, &q, &o),
	    PROTO_E_INVALID);
	q.o.daily_turns = ST_ORG_DAILY_TURNS_MAX;
	assert_int_equal(request_dec(f, PROTO_ST_ORG_UPDATE, &q, &o), 0);
	assert_int_equal(o.daily_turns, ST_ORG_DAILY_TURNS_MAX);
	assert_string_equal(o.name, "Default");	/* its name not in the mask */
	st_org_free(&o);
	st_org_free(&q.o);
	/* Ids none can have, and one no organisation has. */
	assert_int_equal(org_get(f, "", &o), PROTO_E_NOT_FOUND);
	assert_int_equal(org_get(f, "0123456789abcdef0123456789abcdef", &o),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(org_get(f, "org_0123456789abcdef0123456789ABCDEF",
	    &o), PROTO_E_NOT_FOUND);
	assert_int_equal(org_get(f, "org_0123456789abcdef0123456789abcdef",
	    &o), PROTO_E_NOT_FOUND);
	assert_int_equal(org_rename(f, "org_0123456789abcdef0123456789abcdef",
	    ST_OF_NAME, "x", &o), PROTO_E_NOT_FOUND);
}

static void
test_org_default_kept(void **state)
{
	struct fix *f = *state;
	struct dreply r;
	struct st_org o;

	assert_int_equal(request_st(f, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ ST_ORG_DEFAULT }, &r), PROTO_E_INVALID);
	assert_non_null(strstr(r.errmsg, "default organization"));
	dreply_free(&r);
	assert_int_equal(org_get(f, ST_ORG_DEFAULT, &o), 0);
	st_org_free(&o);
}

/* At most 1000, the default counted; a deletion makes room. */
static void
test_org_limit(void **state)
{
	struct fix *f = *state;
	struct st_org o, last;
	int i;

	memset(&last, 0, sizeof(last));
	for (i = 1; i < ST_ORGS_MAX; i++) {
		st_org_free(&last);
		assert_int_equal(org_create(f, "many", &last), 0);
	}
	assert_int_equal(org_create(f, "one more", &o), PROTO_E_INVALID);
	assert_int_equal(org_delete(f, last.id), 0);
	assert_int_equal(org_create(f, "one more", &o), 0);
	st_org_free(&o);
	st_org_free(&last);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_org_default, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_crud, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_invalid, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_default_kept, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_limit, setup,
		    fix_teardown),
	};

	log_init("test_orgs");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
