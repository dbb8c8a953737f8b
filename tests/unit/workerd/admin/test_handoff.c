/*
 * The owner's handoff endpoints' pure parts: the display name's rule and
 * the per-conversation bound on typing notices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "workerd.h"

static int
name_ok(const char *s)
{
	return handoff_name_valid(s, strlen(s));
}

static void
test_name(void **state)
{
	char big[512];
	size_t i;

	assert_true(name_ok("Ada"));
	assert_true(name_ok("J\xc3\xa9r\xc3\xb4me L."));
	assert_false(name_ok(""));
	assert_false(name_ok("   "));
	assert_false(name_ok("a\nb"));
	assert_false(name_ok("a\tb"));
	assert_false(name_ok("a\x7f"));
	assert_false(name_ok("bad \xff utf-8"));
	assert_false(handoff_name_valid("a\0b", 3));
	/* 100 characters (not bytes) at most. */
	for (i = 0; i < 100; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[200] = '\0';
	assert_true(name_ok(big));
	memcpy(big + 200, "x", 2);
	assert_false(name_ok(big));
}

#define ORG_B	"org_0123456789abcdef0123456789abcdef"

/* A caller of org: a session (id its hash) or the install's key. */
static struct st_who
who_of(uint8_t kind, const char *id, const char *org)
{
	struct st_who w;

	memset(&w, 0, sizeof(w));
	w.kind = kind;
	strlcpy(w.id, id, sizeof(w.id));
	strlcpy(w.org, org, sizeof(w.org));
	return w;
}

static void
test_typing_bound(void **state)
{
	const char *a = "0123456789abcdef0123456789abcdef";
	const char *b = "fedcba9876543210fedcba9876543210";
	struct st_who me = who_of(ST_WHO_SESSION, "00112233aabbccdd", "default");
	struct st_who mate = who_of(ST_WHO_SESSION, "ffeeddcc99887766",
	    "default");
	struct st_who key = who_of(ST_WHO_KEY, "install", "default");
	struct st_who other = who_of(ST_WHO_ORGKEY, "00112233aabbccdd", ORG_B);
	char id[40];
	int i;

	handoff_typing_reset();
	assert_true(handoff_typing_pass(&me, a, 1, 10000));
	/* The same state again within HANDOFF_TYPING_MS: not sent. */
	assert_false(handoff_typing_pass(&me, a, 1, 10001));
	assert_false(handoff_typing_pass(&me, a, 1,
	    10000 + HANDOFF_TYPING_MS - 1));
	/* Another conversation has its own. */
	assert_true(handoff_typing_pass(&me, b, 1, 10002));
	/* A colleague typing in the same one too, and a key. */
	assert_true(handoff_typing_pass(&mate, a, 1, 10002));
	assert_false(handoff_typing_pass(&mate, a, 1, 10003));
	assert_true(handoff_typing_pass(&key, a, 1, 10003));
	/* A change always goes. */
	assert_true(handoff_typing_pass(&me, a, 0, 10003));
	assert_true(handoff_typing_pass(&me, a, 1, 10004));
	assert_false(handoff_typing_pass(&me, a, 1, 10005));
	/* And the same state once the interval passed. */
	assert_true(handoff_typing_pass(&me, a, 1,
	    10004 + HANDOFF_TYPING_MS));
	/* Another organisation's request for the id has its own. */
	assert_true(handoff_typing_pass(&other, a, 1, 10005));
	assert_false(handoff_typing_pass(&other, a, 1, 10006));
	assert_false(handoff_typing_pass(&me, a, 1, 10007));
	/* Forgotten (storaged refused it), the next one asks again. */
	handoff_typing_forget(&other, a);
	assert_true(handoff_typing_pass(&other, a, 1, 10008));
	assert_false(handoff_typing_pass(&me, a, 1, 10009));

	/* Many conversations: the oldest is forgotten, the bound holds. */
	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "%032x", i);
		assert_true(handoff_typing_pass(&me, id, 1, 20000 + (uint64_t)i));
		assert_false(handoff_typing_pass(&me, id, 1, 20000 + (uint64_t)i));
	}
	handoff_typing_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_typing_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
