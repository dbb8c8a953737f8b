/*
 * lib/primitives.c: SHA-256 against the standard's vectors, in one pass
 * and in two parts, again and again on one thread's kept context, and
 * on threads at once, each of which ends (its context freed: the leak
 * check of the ASan build would see one kept).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "sha256.h"

/* FIPS 180-2's examples. */
static const char *const ABC =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const EMPTY =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *const TWO_BLOCKS =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char *const TWO_BLOCKS_IN =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void
hex(const uint8_t d[PROTO_SHA256_LEN], char out[2 * PROTO_SHA256_LEN + 1])
{
	proto_hex_encode(d, PROTO_SHA256_LEN, out);
}

static void
check(const char *in, const char *want)
{
	uint8_t d[PROTO_SHA256_LEN];
	char h[2 * PROTO_SHA256_LEN + 1];

	proto_sha256(in, strlen(in), d);
	hex(d, h);
	assert_string_equal(h, want);
}

static void
test_vectors(void **state)
{
	uint8_t d[PROTO_SHA256_LEN];
	char h[2 * PROTO_SHA256_LEN + 1];
	int i;

	/* The kept context gives the same each time, whatever came before. */
	for (i = 0; i < 3; i++) {
		check("abc", ABC);
		check("", EMPTY);
		check(TWO_BLOCKS_IN, TWO_BLOCKS);
	}
	assert_int_equal(proto_sha256_two("ab", 2, "c", 1, d), 0);
	hex(d, h);
	assert_string_equal(h, ABC);
	assert_int_equal(proto_sha256_two("", 0, "", 0, d), 0);
	hex(d, h);
	assert_string_equal(h, EMPTY);
	check("abc", ABC);
}

static void *
hash_many(void *arg)
{
	uint8_t d[PROTO_SHA256_LEN];
	char h[2 * PROTO_SHA256_LEN + 1];
	int i, *bad = arg;

	for (i = 0; i < 2000; i++) {
		proto_sha256(i % 2 ? "abc" : TWO_BLOCKS_IN,
		    i % 2 ? 3 : strlen(TWO_BLOCKS_IN), d);
		hex(d, h);
		if (strcmp(h, i % 2 ? ABC : TWO_BLOCKS) != 0)
			(*bad)++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	int bad[4] = { 0 }, i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hash_many,
		    &bad[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(bad[i], 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
