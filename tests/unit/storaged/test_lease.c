/*
 * The failover lease's pure parts (storaged/etcd.c, storaged/lease.c):
 * etcd 3.4's gateway replies as a real etcd wrote them (zeros, false and
 * empty values left out, 64-bit numbers as strings, keys and values in
 * base64), bad ones refused, the key value {"addr", "term"}, the sync
 * key's {"addr", "term", "seq"} (or an older storaged's address alone),
 * who may campaign with which data (lease_may_campaign: never a new
 * database, nor one other than the data sync or holder name), the term
 * a campaign asks (lease_campaign_term: above the data's too), and the
 * times derived from the TTL (the fence before the TTL, three renewals
 * before the fence).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"
#include "lease.h"

#define S(s)	s, sizeof(s) - 1

static void
test_grant_keepalive(void **state)
{
	int64_t n;

	assert_int_equal(etcd_parse_grant(S("{\"header\":{\"revision\":\"1\"},"
	    "\"ID\":\"2324035579109091589\",\"TTL\":\"2\"}"), &n), 0);
	assert_true(n == 2324035579109091589LL);
	assert_int_equal(etcd_parse_grant(S("{\"ID\":\"9223372036854775808\"}"),
	    &n), -1);
	assert_int_equal(etcd_parse_grant(S("{\"error\":\"no\"}"), &n), -1);
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"header\":{},"
	    "\"ID\":\"7\",\"TTL\":\"5\"}}\n"), &n), 1);
	assert_int_equal(n, 5);
	/* Revoked or expired: a result without a TTL. */
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"header\":{},"
	    "\"ID\":\"7\"}}"), &n), 0);
	/* Past etcd's longest: no reply of etcd's (its ms would overflow). */
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"ID\":\"7\","
	    "\"TTL\":\"9223372036854775807\"}}"), &n), -1);
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"ID\":\"7\","
	    "\"TTL\":\"9000000001\"}}"), &n), -1);
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"ID\":\"7\","
	    "\"TTL\":\"9000000000\"}}"), &n), 1);
	assert_int_equal(etcd_parse_keepalive(S("{\"error\":{\"grpc_code\":14,"
	    "\"message\":\"unavailable\"}}"), &n), -1);
	assert_int_equal(etcd_parse_keepalive(S("{\"result\":{\"TTL\":\"x\"}}"),
	    &n), -1);
}

static void
test_range(void **state)
{
	struct etcd_range r;

	assert_int_equal(etcd_parse_range(S("{\"header\":{\"revision\":\"2\"},"
	    "\"kvs\":[{\"key\":\"L3AvcHJpbWFyeQ==\",\"create_revision\":\"2\","
	    "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":"
	    "\"eyJhZGRyIjoiYSIsInRlcm0iOjN9\",\"lease\":\"99\"},"
	    "{\"key\":\"L3Avc3luYw==\",\"create_revision\":\"2\","
	    "\"mod_revision\":\"4\",\"version\":\"1\"}],\"count\":\"2\"}"), &r),
	    0);
	assert_int_equal(r.rev, 2);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.kvs[0].key, "/p/primary");
	assert_string_equal(r.kvs[0].value, "{\"addr\":\"a\",\"term\":3}");
	assert_int_equal(r.kvs[0].lease, 99);
	assert_string_equal(r.kvs[1].key, "/p/sync");
	assert_string_equal(r.kvs[1].value, "");
	assert_int_equal(r.kvs[1].mod_rev, 4);
	assert_int_equal(r.kvs[1].lease, 0);
	/* Nothing there: no kvs at all. */
	assert_int_equal(etcd_parse_range(S("{\"header\":{\"revision\":\"9\"}}"),
	    &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.rev, 9);
	/* Bad base64, a NUL in a value, no header, not an array. */
	assert_int_equal(etcd_parse_range(S("{\"header\":{},\"kvs\":[{\"key\":"
	    "\"L3A*\"}]}"), &r), -1);
	assert_int_equal(etcd_parse_range(S("{\"header\":{},\"kvs\":[{\"key\":"
	    "\"YQ==\",\"value\":\"AA==\"}]}"), &r), -1);
	assert_int_equal(etcd_parse_range(S("{\"kvs\":[]}"), &r), -1);
	assert_int_equal(etcd_parse_range(S("{\"header\":{},\"kvs\":{}}"), &r),
	    -1);
}

static void
test_txn(void **state)
{
	int64_t rev;

	assert_int_equal(etcd_parse_txn(S("{\"header\":{\"revision\":\"5\"},"
	    "\"succeeded\":true,\"responses\":[]}"), &rev), 1);
	assert_int_equal(rev, 5);
	/* A failed compare: "succeeded" left out. */
	assert_int_equal(etcd_parse_txn(S("{\"header\":{\"revision\":\"6\"}}"),
	    &rev), 0);
	assert_int_equal(etcd_parse_txn(S("{\"header\":{},\"succeeded\":1}"),
	    &rev), -1);
	assert_int_equal(etcd_parse_txn(S("[]"), &rev), -1);
}

static void
test_value(void **state)
{
	char addr[LEASE_ADDR_MAX], small[4];
	uint64_t term;

	assert_int_equal(lease_parse_value("{\"addr\":\"tls://10.0.0.5:4100\","
	    "\"term\":12}", addr, sizeof(addr), &term), 0);
	assert_string_equal(addr, "tls://10.0.0.5:4100");
	assert_int_equal(term, 12);
	assert_int_equal(lease_parse_value("{\"addr\":\"a\",\"term\":0}", addr,
	    sizeof(addr), &term), -1);
	assert_int_equal(lease_parse_value("{\"addr\":\"a\"}", addr,
	    sizeof(addr), &term), -1);
	assert_int_equal(lease_parse_value("{\"addr\":\"abcd\",\"term\":1}",
	    small, sizeof(small), &term), -1);
	assert_int_equal(lease_parse_value("", addr, sizeof(addr), &term), -1);
}

static void
test_sync_value(void **state)
{
	char addr[LEASE_ADDR_MAX], small[4];
	uint64_t term, seq;

	assert_int_equal(lease_parse_sync("{\"addr\":\"tls://10.0.0.6:4100\","
	    "\"term\":12,\"seq\":340}", addr, sizeof(addr), &term, &seq), 0);
	assert_string_equal(addr, "tls://10.0.0.6:4100");
	assert_int_equal(term, 12);
	assert_int_equal(seq, 340);
	/* An older storaged's: the address alone, no data named. */
	assert_int_equal(lease_parse_sync("tls://10.0.0.6:4100", addr,
	    sizeof(addr), &term, &seq), 0);
	assert_string_equal(addr, "tls://10.0.0.6:4100");
	assert_int_equal(term, 0);
	assert_int_equal(seq, 0);
	assert_int_equal(lease_parse_sync("", addr, sizeof(addr), &term, &seq),
	    0);
	assert_string_equal(addr, "");
	assert_int_equal(lease_parse_sync("{\"addr\":\"a\",\"term\":0,"
	    "\"seq\":1}", addr, sizeof(addr), &term, &seq), -1);
	assert_int_equal(lease_parse_sync("{\"addr\":\"a\",\"term\":1}",
	    addr, sizeof(addr), &term, &seq), -1);
	assert_int_equal(lease_parse_sync("{\"addr\":\"\",\"term\":1,"
	    "\"seq\":1}", addr, sizeof(addr), &term, &seq), -1);
	assert_int_equal(lease_parse_sync("{\"addr\":\"a\",\"term\":1,"
	    "\"seq\":-1}", addr, sizeof(addr), &term, &seq), -1);
	assert_int_equal(lease_parse_sync("{\"addr\":\"abcd\",\"term\":1,"
	    "\"seq\":1}", small, sizeof(small), &term, &seq), -1);
	assert_int_equal(lease_parse_sync("abcd", small, sizeof(small), &term,
	    &seq), -1);
	assert_int_equal(lease_parse_sync("{", addr, sizeof(addr), &term,
	    &seq), -1);
}

/*
 * Who campaigns with which data: the name in sync or holder is not
 * enough; a new database (no term) never, while either names anyone.
 */
static void
test_may_campaign(void **state)
{
	const char *me = "unix:/b", *why = NULL;

#define MAY(term, seq, hs, sa, st, ss, hh, ha, ht) \
	lease_may_campaign(me, term, seq, hs, sa, st, ss, hh, ha, ht, &why)
	/* A new cluster: anyone, a new database too. */
	assert_int_equal(MAY(0, 0, 0, "", 0, 0, 0, "", 0), 1);
	/* Named in sync with this data, or with less of it. */
	assert_int_equal(MAY(7, 40, 1, me, 7, 40, 1, "unix:/a", 7), 1);
	assert_int_equal(MAY(7, 55, 1, me, 7, 40, 1, "unix:/a", 7), 1);
	/* Named in sync, and this data is emptied, or older. */
	assert_int_equal(MAY(0, 0, 1, me, 7, 40, 1, "unix:/a", 7), 0);
	assert_string_equal(why, "this data is new (no term): it is not the "
	    "data etcd names");
	assert_int_equal(MAY(7, 39, 1, me, 7, 40, 1, "unix:/a", 7), 0);
	assert_int_equal(MAY(6, 90, 1, me, 7, 40, 1, "unix:/a", 7), 0);
	/*
	 * A later term: the primary won the lease again and this standby
	 * applied its term record before sync was written anew.
	 */
	assert_int_equal(MAY(8, 41, 1, me, 7, 40, 1, "unix:/a", 7), 1);
	/* An older storaged's sync value: the name, any data but a new one. */
	assert_int_equal(MAY(3, 1, 1, me, 0, 0, 1, "unix:/a", 7), 1);
	assert_int_equal(MAY(0, 0, 1, me, 0, 0, 1, "unix:/a", 7), 0);
	/* The last primary: its data of its term or later, never new. */
	assert_int_equal(MAY(7, 1, 1, "", 0, 0, 1, me, 7), 1);
	assert_int_equal(MAY(9, 1, 1, "", 0, 0, 1, me, 7), 1);
	assert_int_equal(MAY(6, 99, 1, "", 0, 0, 1, me, 7), 0);
	assert_int_equal(MAY(0, 0, 1, "", 0, 0, 1, me, 7), 0);
	assert_int_equal(MAY(0, 0, 0, "", 0, 0, 1, me, 7), 0);
	/*
	 * The last primary with fewer records of its term than the standby
	 * in sync was named with (restored from an older backup): not it,
	 * the standby; with as many or more, or a later term, it may.
	 */
	assert_int_equal(MAY(7, 39, 1, "unix:/a", 7, 40, 1, me, 7), 0);
	assert_string_equal(why, "this data lacks records the standby in sync "
	    "holds (the last primary's, restored from an older backup?)");
	assert_int_equal(MAY(7, 40, 1, "unix:/a", 7, 40, 1, me, 7), 1);
	assert_int_equal(MAY(8, 2, 1, "unix:/a", 7, 40, 1, me, 7), 1);
	assert_int_equal(MAY(7, 39, 1, "", 0, 0, 1, me, 7), 1);
	/* Named nowhere. */
	assert_int_equal(MAY(7, 40, 1, "unix:/c", 7, 40, 1, "unix:/a", 7), 0);
	assert_string_equal(why, "etcd names another");
	assert_int_equal(MAY(7, 40, 1, "", 0, 0, 0, "", 0), 0);
#undef MAY
}

/*
 * A campaign's term is above etcd's revision, holder's and sync's terms
 * and this data's. Until 2026-12-06 it was the revision plus one: after
 * etcd's keys were lost (a reset: revision 1), data of term 40 was
 * refused a term of 2 (repl_promote: at or below the data's), storaged
 * exited, and each restart's campaign raised the revision by about 2:
 * some 20 crash-restarts before it could be primary again.
 */
static void
test_campaign_term(void **state)
{
	/* The revision alone, as before: a cluster whose terms it gave. */
	assert_true(lease_campaign_term(9, 7, 7, 7) == 10);
	assert_true(lease_campaign_term(0, 0, 0, 0) == 1);
	/* etcd reset: its revision below the data's term. */
	assert_true(lease_campaign_term(1, 0, 0, 40) == 41);
	assert_true(lease_campaign_term(3, 0, 0, 40) > 40);
	/* holder or sync written by hand with a term above the revision. */
	assert_true(lease_campaign_term(5, 12, 0, 3) == 13);
	assert_true(lease_campaign_term(5, 0, 30, 30) == 31);
	/* A revision etcd cannot give: none is below 0. */
	assert_true(lease_campaign_term(-1, 0, 0, 0) == 1);
}

/* The fence comes a margin before the TTL; three renewals fit before it. */
static void
test_times(void **state)
{
	unsigned int ttl;

	assert_int_equal(lease_margin_ms(2), 1000);
	assert_int_equal(lease_margin_ms(5), 1000);
	assert_int_equal(lease_margin_ms(60), 12000);
	assert_int_equal(lease_renew_ms(2), 333);
	assert_int_equal(lease_poll_ms(2), 500);
	assert_int_equal(lease_poll_ms(60), 1000);
	for (ttl = 2; ttl <= 60; ttl++) {
		assert_true(lease_margin_ms(ttl) < ttl * 1000LL);
		assert_true(3 * lease_renew_ms(ttl) <= ttl * 1000LL -
		    lease_margin_ms(ttl));
		assert_true(lease_renew_ms(ttl) > 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grant_keepalive),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_sync_value),
		cmocka_unit_test(test_may_campaign),
		cmocka_unit_test(test_campaign_term),
		cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
