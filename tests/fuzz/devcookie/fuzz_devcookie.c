/*
 * libFuzzer target for the known-device cookie's check (devcookie_valid,
 * storaged/devcookie.c), which reads the untrusted bytes of a browser's
 * Cookie header on every dashboard login. The first byte picks the
 * email; the rest is the cookie. Properties are checked, abort()
 * otherwise: only a cookie this key made for that email is valid, and it
 * stays valid for another key or email never; a valid one made here
 * checks valid, and one changed by a byte does not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[DEVCOOKIE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t other[DEVCOOKIE_KEY_LEN] = { 8, 7, 6, 5, 4, 3, 2, 1 };

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_devcookie: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *emails[] = { "a@b.test", "owner@localhost", "",
	    "x@y.z" };
	char made[ST_DASH_DEVICE_LEN + 1], *cookie;
	const char *email;
	uint64_t now = 1700000000000ull;
	int v;

	if (size < 1)
		return 0;
	email = emails[data[0] & 3];
	if ((cookie = malloc(size)) == NULL)
		abort();
	memcpy(cookie, data + 1, size - 1);
	cookie[size - 1] = '\0';
	v = devcookie_valid(key, email, cookie, now);
	check(v == 0 || v == 1, "result out of range");
	if (v == 1) {
		check(strlen(cookie) == ST_DASH_DEVICE_LEN, "valid, not whole");
		check(!devcookie_valid(other, email, cookie, now),
		    "valid under another key");
	}
	free(cookie);

	/* One made from the input's time: valid until it, then not. */
	devcookie_make(key, email, now + 1 + data[0], made);
	check(strlen(made) == ST_DASH_DEVICE_LEN, "made, not whole");
	check(devcookie_valid(key, email, made, now), "made, not valid");
	check(!devcookie_valid(key, email, made, now + 1 + data[0]),
	    "valid at its expiry");
	made[size % ST_DASH_DEVICE_LEN] ^= 1;
	check(!devcookie_valid(key, email, made, now), "changed, still valid");
	return 0;
}
