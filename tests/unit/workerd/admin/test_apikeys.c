/*
 * An organisation's API key at the worker (admin.c's gate, apikeys.c),
 * against a fake storaged: a key that is not the install's but has a
 * secret's shape is looked up by ST_KEY_AUTH with the SHA-256 of the
 * secret (never the secret); unknown: 401; found: the route runs as
 * who {ST_WHO_ORGKEY, its id, org, role}, 403 below the route's role and
 * on the organisations' routes, 404 for another organisation's
 * x-organization-id; ST_KEY_AUTH's reply that does not decode: 500. The
 * create: the secret shown is "pk_" + 64 hex whose SHA-256 is the hash
 * sent, and the 400s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "test_client.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define SECRET	"pk_00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff"
#define KEY_ID	"key_0123456789abcdef0123456789abcdef"
#define ORG	"org_0123456789abcdef0123456789abcdef"
#define WITH(s)	"x-admin-api-key: " s "\r\n"

static struct peer P;
static struct tclient CL;

static int
setup(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
	return 0;
}

static int
teardown(void **state)
{
	peer_admin_teardown(&P);
	return 0;
}

static int
each_setup(void **state)
{
	if (peer_connect(&P) < 0)
		return -1;
	return tclient_open(&CL) == 0 ? 0 : -1;
}

static int
each_teardown(void **state)
{
	tclient_close(&CL);
	return 0;
}

/* The next request is ST_KEY_AUTH of SECRET's hash, no who asks. */
static void
expect_auth(struct peer_req *pr)
{
	struct st_key_auth_req q;
	uint8_t want[SHA256_DIGEST_LENGTH];

	peer_expect(&P, pr, PROTO_ST_KEY_AUTH);
	assert_int_equal(pr->has_who, 0);
	assert_int_equal(st_req_decode(PROTO_ST_KEY_AUTH, pr->payload,
	    pr->len, &q), 0);
	SHA256((const unsigned char *)SECRET, strlen(SECRET), want);
	assert_int_equal(q.hash_len, sizeof(want));
	assert_memory_equal(q.hash, want, sizeof(want));
	/* Never the secret itself. */
	assert_null(memmem(pr->payload, pr->len, SECRET, strlen(SECRET)));
}

/* ST_KEY_AUTH's answer: found with role in ORG, or not. */
static void
auth_reply(const struct peer_req *pr, int found, uint8_t role, int cut)
{
	struct st_key_auth_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.found = (uint8_t)found;
	if (found) {
		strlcpy(rep.k.id, KEY_ID, sizeof(rep.k.id));
		strlcpy(rep.k.org, ORG, sizeof(rep.k.org));
		rep.k.role = role;
	}
	peer_reply_cut(&P, pr, &rep, cut);
}

static void
test_key_unknown(void **state)
{
	struct peer_req pr;

	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET),
	    NULL);
	expect_auth(&pr);
	auth_reply(&pr, 0, 0, 0);
	tclient_expect_error(&CL, 401, "Unauthorized");
	/* Not a secret's shape: 401 at once, storaged not asked. */
	tclient_request(&CL, "GET", "/v1/admin/conversations",
	    WITH("pk_00112233"), NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	peer_expect_none(&P, 30);
}

static void
test_key_acts_as_itself(void **state)
{
	struct peer_req pr;

	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET),
	    NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_AGENT, 0);
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	assert_int_equal(pr.has_who, 1);
	assert_int_equal(pr.who.kind, ST_WHO_ORGKEY);
	assert_string_equal(pr.who.id, KEY_ID);
	assert_string_equal(pr.who.org, ORG);
	assert_int_equal(pr.who.role, ST_ROLE_AGENT);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");

	/* Its own organisation named: fine; another: 404. */
	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET)
	    "x-organization-id: " ORG "\r\n", NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_AGENT, 0);
	peer_expect(&P, &pr, PROTO_ST_CONV_QUERY);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");
	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET)
	    "x-organization-id: default\r\n", NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_OWNER, 0);
	tclient_expect_error(&CL, 404, "Organization not found");
	peer_expect_none(&P, 30);
}

static void
test_key_roles(void **state)
{
	struct peer_req pr;

	/* An agent's key on an admin's route, an admin's on an owner's. */
	tclient_request(&CL, "GET", "/v1/admin/widgets", WITH(SECRET), NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_AGENT, 0);
	tclient_expect_error(&CL, 403, "Your role may not do this");
	tclient_request(&CL, "GET", "/v1/admin/api-keys", WITH(SECRET), NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_ADMIN, 0);
	tclient_expect_error(&CL, 403, "Your role may not do this");
	/* The organisations are the install key's, an owner's key or not. */
	tclient_request(&CL, "GET", "/v1/admin/organizations", WITH(SECRET),
	    NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, ST_ROLE_OWNER, 0);
	tclient_expect_error(&CL, 403, "Only the install API key may do this");
	peer_expect_none(&P, 30);
}

/* ST_KEY_AUTH's reply a byte short or over, or a role none has: 500. */
static void
test_key_auth_malformed(void **state)
{
	struct peer_req pr;
	int cut;

	for (cut = -1; cut <= 1; cut += 2) {
		tclient_request(&CL, "GET", "/v1/admin/conversations",
		    WITH(SECRET), NULL);
		expect_auth(&pr);
		auth_reply(&pr, 1, ST_ROLE_OWNER, cut);
		tclient_expect_error(&CL, 500, "Internal server error");
	}
	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET),
	    NULL);
	expect_auth(&pr);
	auth_reply(&pr, 1, 9, 0);
	tclient_expect_error(&CL, 500, "Internal server error");
	tclient_request(&CL, "GET", "/v1/admin/conversations", WITH(SECRET),
	    NULL);
	expect_auth(&pr);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");
	peer_expect_none(&P, 30);
	assert_int_equal(storec_inflight(), 0);
}

/* The create: the secret shown hashes to what storaged got. */
static void
test_key_create(void **state)
{
	struct st_key_create_req q;
	struct st_apikey k;
	struct peer_req pr;
	struct tresp r;
	uint8_t h[SHA256_DIGEST_LENGTH];
	const char *s;
	size_t i;

	tclient_request(&CL, "POST", "/v1/admin/api-keys", WITH(KEY)
	    "Content-Type: application/json\r\n",
	    "{\"name\":\"CI\",\"role\":\"admin\"}");
	peer_expect(&P, &pr, PROTO_ST_KEY_CREATE);
	assert_int_equal(pr.who.kind, ST_WHO_KEY);
	assert_int_equal(st_req_decode(PROTO_ST_KEY_CREATE, pr.payload, pr.len,
	    &q), 0);
	assert_string_equal(q.name, "CI");
	assert_int_equal(q.role, ST_ROLE_ADMIN);
	assert_null(memmem(pr.payload, pr.len, "pk_", 3));
	memset(&k, 0, sizeof(k));
	strlcpy(k.id, KEY_ID, sizeof(k.id));
	strlcpy(k.org, "default", sizeof(k.org));
	k.name = (char *)"CI";
	k.role = ST_ROLE_ADMIN;
	k.created_at = 1700000000000ull;
	peer_reply_cut(&P, &pr, &k, 0);
	tclient_expect(&CL, &r, 201);
	assert_non_null(s = strstr(r.body, "\"key\":\"pk_"));
	s += strlen("\"key\":\"");
	for (i = 3; i < ST_KEY_SECRET_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", s[i]));
	assert_int_equal(s[ST_KEY_SECRET_LEN], '"');
	SHA256((const unsigned char *)s, ST_KEY_SECRET_LEN, h);
	assert_memory_equal(h, q.hash, sizeof(h));
	assert_non_null(strstr(r.body, "\"last_used_at\":null"));
	tresp_free(&r);
	st_req_free(PROTO_ST_KEY_CREATE, &q);

	/* The 400s, storaged not asked. */
	tclient_request(&CL, "POST", "/v1/admin/api-keys", WITH(KEY)
	    "Content-Type: application/json\r\n", "{\"name\":\"CI\"}");
	tclient_expect_error(&CL, 400, "role: required");
	tclient_request(&CL, "POST", "/v1/admin/api-keys", WITH(KEY)
	    "Content-Type: application/json\r\n",
	    "{\"name\":\"CI\",\"role\":\"god\"}");
	tclient_expect_error(&CL, 400, "role: must be agent, admin or owner");
	tclient_request(&CL, "POST", "/v1/admin/api-keys", WITH(KEY)
	    "Content-Type: application/json\r\n",
	    "{\"name\":\"\",\"role\":\"agent\"}");
	tclient_expect_error(&CL, 400,
	    "name: must be 1 to 100 characters of UTF-8");
	tclient_request(&CL, "DELETE", "/v1/admin/api-keys/key_nope",
	    WITH(KEY), NULL);
	tclient_expect_error(&CL, 404, "API key not found");
	peer_expect_none(&P, 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_unknown,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_key_acts_as_itself,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_key_roles,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_key_auth_malformed,
		    each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_key_create,
		    each_setup, each_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
