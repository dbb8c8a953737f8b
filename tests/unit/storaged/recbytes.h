/*
 * The stored-bytes tests' hex (tests/unit/storaged/test_recbytes*.c):
 * the bytes they write down are hex strings, compared byte by byte with
 * what the code encodes or storaged stores, and put in LMDB as an older
 * version stored them (test_fixture.h's db_value and db_write).
 */
#ifndef PARLEY_TEST_RECBYTES_H
#define PARLEY_TEST_RECBYTES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_fixture.h"

/* The bytes of hex into out (its size at least): how many. */
static inline size_t
unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = strlen(hex) / 2, i;
	unsigned v;

	assert_int_equal(strlen(hex) % 2, 0);
	assert_true(n <= size);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* s's bytes as hex into out (2 * strlen(s) + 1 bytes): out. */
static inline const char *
hex_of(const char *s, char *out)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)s[i]);
	out[2 * i] = '\0';
	return out;
}

/* The len bytes at p are hex's (at most 2048 bytes). */
static inline void
assert_bytes(const uint8_t *p, size_t len, const char *hex)
{
	uint8_t want[2048];
	size_t n = unhex(hex, want, sizeof(want)), i;

	if (n != len)
		fail_msg("%zu bytes, %zu written down", len, n);
	for (i = 0; i < n; i++)
		if (p[i] != want[i])
			fail_msg("byte %zu is %02x, %02x written down", i,
			    p[i], want[i]);
}

/* hex as db's value under key (klen bytes), over what was there. */
static inline void
db_put_hex(struct fix *f, const char *db, const void *key, size_t klen,
    const char *hex)
{
	uint8_t val[2048];

	db_write(f, db, key, klen, val, unhex(hex, val, sizeof(val)));
}

/* storaged's value of db under key (klen bytes) is hex. */
static inline void
assert_stored(struct fix *f, const char *db, const void *key, size_t klen,
    const char *hex)
{
	uint8_t buf[2048];

	assert_bytes(buf, db_value(f, db, key, klen, buf, sizeof(buf)), hex);
}

#endif
