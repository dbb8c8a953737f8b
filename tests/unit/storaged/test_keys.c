/*
 * storaged's API keys (issue 22, keymsg.h), through the dispatcher as a
 * worker asks, who asks set: create (the hash kept, never sent back),
 * the checks, list and delete scoped to who asks's organisation,
 * ST_KEY_AUTH (found, unknown, deleted, its organisation gone), its
 * last_used_at written at most once a minute, the 100 per organisation,
 * and the keys kept across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "keymsg.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "test_who.h"

static struct st_who OWNER_A, OWNER_B;

static int
setup(void **state)
{
	OWNER_A = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	return fix_setup(state, "/tmp/parley-keys-XXXXXX", 0);
}

/* A hash that names key n (its bytes all n). */
static void
hash_of(uint8_t n, uint8_t h[ST_KEY_HASH_LEN])
{
	memset(h, n, ST_KEY_HASH_LEN);
}

static int
key_create(struct fix *f, const struct st_who *who, const char *name,
    uint8_t role, uint8_t n, struct st_apikey *out)
{
	struct st_key_create_req q = { .name = name, .role = role,
	    .hash_len = ST_KEY_HASH_LEN };

	hash_of(n, q.hash);
	return request_who(f, who, PROTO_ST_KEY_CREATE, &q, out, NULL);
}

static int
key_auth(struct fix *f, uint8_t n, struct st_key_auth_rep *rep, int *wrote)
{
	struct st_key_auth_req q = { .hash_len = ST_KEY_HASH_LEN };

	hash_of(n, q.hash);
	return request_who(f, NULL, PROTO_ST_KEY_AUTH, &q, rep, wrote);
}

static void
key_list(struct fix *f, const struct st_who *who, struct st_apikeys *l)
{
	assert_int_equal(request_who(f, who, PROTO_ST_KEY_LIST, NULL, l,
	    NULL), 0);
}

static int
key_delete(struct fix *f, const struct st_who *who, const char *id)
{
	return request_who(f, who, PROTO_ST_KEY_DELETE,
	    &(struct st_id_req){ id }, NULL, NULL);
}

/* A new organisation; who asks as its owner's key would. */
static struct st_who
org_new(struct fix *f, const char *name)
{
	struct st_who ctl = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_org in, out;

	memset(&in, 0, sizeof(in));
	in.name = (char *)name;
	assert_int_equal(request_who(f, &ctl, PROTO_ST_ORG_CREATE, &in, &out,
	    NULL), 0);
	ctl = who_of(ST_WHO_KEY, "install", out.id, ST_ROLE_OWNER);
	st_org_free(&out);
	return ctl;
}

static void
test_create_list_delete(void **state)
{
	struct fix *f = *state;
	struct st_apikey a, b, c;
	struct st_apikeys l;

	OWNER_B = org_new(f, "B");
	assert_int_equal(key_create(f, &OWNER_A, "CI", ST_ROLE_ADMIN, 1, &a),
	    0);
	assert_true(st_key_id_valid(a.id));
	assert_string_equal(a.org, ST_ORG_DEFAULT);
	assert_string_equal(a.name, "CI");
	assert_int_equal(a.role, ST_ROLE_ADMIN);
	assert_int_equal(a.hash_len, 0);	/* never sent back */
	assert_int_equal(a.created_at, T0);
	assert_int_equal(a.last_used_at, 0);
	fake_now += 5;
	assert_int_equal(key_create(f, &OWNER_A, "Deploy", ST_ROLE_AGENT, 2,
	    &b), 0);
	assert_int_equal(key_create(f, &OWNER_B, "B's", ST_ROLE_OWNER, 3, &c),
	    0);
	assert_string_equal(c.org, OWNER_B.org);

	/* Each organisation its own, oldest first, no hash. */
	key_list(f, &OWNER_A, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[0].id, a.id);
	assert_string_equal(l.keys[1].id, b.id);
	assert_int_equal(l.keys[0].hash_len, 0);
	st_rep_free(PROTO_ST_KEY_LIST, &l);
	key_list(f, &OWNER_B, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.keys[0].id, c.id);
	st_rep_free(PROTO_ST_KEY_LIST, &l);

	/* Another organisation's key is one this one does not have. */
	assert_int_equal(key_delete(f, &OWNER_B, a.id), PROTO_E_NOT_FOUND);
	assert_int_equal(key_delete(f, &OWNER_A, "key_nope"),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(key_delete(f, &OWNER_A, a.id), 0);
	assert_int_equal(key_delete(f, &OWNER_A, a.id), PROTO_E_NOT_FOUND);
	key_list(f, &OWNER_A, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.keys[0].id, b.id);
	st_rep_free(PROTO_ST_KEY_LIST, &l);
	/* Its hash's entry went with it. */
	assert_int_equal(db_entries(f, "apikey_hash"), 2);
	assert_int_equal(db_entries(f, "apikey_org"), 2);
	st_apikey_free(&a);
	st_apikey_free(&b);
	st_apikey_free(&c);
}

static void
test_checks(void **state)
{
	struct fix *f = *state;
	struct st_key_create_req q = { .name = "x", .role = ST_ROLE_AGENT,
	    .hash_len = ST_KEY_HASH_LEN };
	struct st_apikey k;
	struct penc e;
	char *name;

	assert_int_equal(key_create(f, &OWNER_A, "", ST_ROLE_AGENT, 1, &k),
	    PROTO_E_INVALID);
	name = repeat('n', 101);
	assert_int_equal(key_create(f, &OWNER_A, name, ST_ROLE_AGENT, 1, &k),
	    PROTO_E_INVALID);
	free(name);
	assert_int_equal(key_create(f, &OWNER_A, "x", ST_ROLE_NONE, 1, &k),
	    PROTO_E_INVALID);
	assert_int_equal(key_create(f, &OWNER_A, "x", ST_ROLE_OWNER + 1, 1,
	    &k), PROTO_E_INVALID);
	/* Nobody: no organisation to make it in. */
	assert_int_equal(request_who(f, NULL, PROTO_ST_KEY_CREATE, &q, NULL,
	    NULL), PROTO_E_INVALID);
	/* A hash that is not 32 bytes does not decode. */
	penc_init(&e);
	penc_str(&e, "x");
	penc_u8(&e, ST_ROLE_AGENT);
	penc_bytes(&e, "short", 5);
	assert_int_equal(request_err(f, PROTO_ST_KEY_CREATE, &e),
	    PROTO_E_INVALID);
	assert_int_equal(db_entries(f, "apikeys"), 0);
}

static void
test_auth(void **state)
{
	struct fix *f = *state;
	struct st_key_auth_rep rep;
	struct st_apikey k;
	struct st_apikeys l;
	struct st_who b = org_new(f, "B");
	int wrote;

	assert_int_equal(key_create(f, &b, "ops", ST_ROLE_ADMIN, 7, &k), 0);
	assert_int_equal(key_auth(f, 7, &rep, &wrote), 0);
	assert_int_equal(rep.found, 1);
	assert_string_equal(rep.k.id, k.id);
	assert_string_equal(rep.k.org, b.org);
	assert_int_equal(rep.k.role, ST_ROLE_ADMIN);
	st_apikey_free(&k);
	assert_int_equal(wrote, 1);		/* last_used_at: first use */
	key_list(f, &b, &l);
	assert_int_equal(l.keys[0].last_used_at, T0);
	st_rep_free(PROTO_ST_KEY_LIST, &l);

	/* Within the minute: found, nothing written. */
	fake_now += ST_KEY_USED_EVERY_MS - 1;
	assert_int_equal(key_auth(f, 7, &rep, &wrote), 0);
	assert_int_equal(rep.found, 1);
	assert_int_equal(wrote, 0);
	key_list(f, &b, &l);
	assert_int_equal(l.keys[0].last_used_at, T0);
	st_rep_free(PROTO_ST_KEY_LIST, &l);
	/* A minute on: written again. */
	fake_now += 1;
	assert_int_equal(key_auth(f, 7, &rep, &wrote), 0);
	assert_int_equal(wrote, 1);
	key_list(f, &b, &l);
	assert_int_equal(l.keys[0].last_used_at, T0 + ST_KEY_USED_EVERY_MS);
	st_rep_free(PROTO_ST_KEY_LIST, &l);

	/* Unknown: not found, nothing written. */
	assert_int_equal(key_auth(f, 8, &rep, &wrote), 0);
	assert_int_equal(rep.found, 0);
	assert_int_equal(wrote, 0);

	/* Kept across a reopen. */
	fix_reopen(f);
	assert_int_equal(key_auth(f, 7, &rep, NULL), 0);
	assert_int_equal(rep.found, 1);

	/* Its organisation deleted: it finds nothing. */
	assert_int_equal(request_who(f, &OWNER_A, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ b.org }, NULL, NULL), 0);
	assert_int_equal(key_auth(f, 7, &rep, NULL), 0);
	assert_int_equal(rep.found, 0);

	/* Deleted: it finds nothing. */
	assert_int_equal(key_create(f, &OWNER_A, "gone", ST_ROLE_OWNER, 9, &k),
	    0);
	assert_int_equal(key_auth(f, 9, &rep, NULL), 0);
	assert_int_equal(rep.found, 1);
	assert_int_equal(key_delete(f, &OWNER_A, rep.k.id), 0);
	assert_int_equal(key_auth(f, 9, &rep, NULL), 0);
	assert_int_equal(rep.found, 0);
	st_apikey_free(&k);
}

static void
test_at_most_100(void **state)
{
	struct fix *f = *state;
	struct st_who b = org_new(f, "B");
	struct st_apikey k;
	char name[16];
	int i;

	for (i = 0; i < ST_KEYS_MAX; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(key_create(f, &b, name, ST_ROLE_AGENT,
		    (uint8_t)(i + 1), &k), 0);
		st_apikey_free(&k);
	}
	assert_int_equal(key_create(f, &b, "one more", ST_ROLE_AGENT, 200, &k),
	    PROTO_E_INVALID);
	/* Another organisation is not full. */
	assert_int_equal(key_create(f, &OWNER_A, "mine", ST_ROLE_AGENT, 201,
	    &k), 0);
	st_apikey_free(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_list_delete, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_checks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_at_most_100, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
