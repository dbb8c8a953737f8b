/*
 * Known devices' cookies (devcookie.h): made when a dashboard login
 * succeeds, checked when the failed-login budget of every client is
 * spent, so that a flood of wrong passwords from many addresses locks
 * nobody out of the browsers they signed in from before.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "devcookie.h"
#include "usermsg.h"
#include "util.h"

#define EXPIRY_HEX	16
#define MAC_HEX		64

/* The hex of the mac of email and the expiry's hex into out: 0, or -1. */
static int
device_mac(const uint8_t key[DEVCOOKIE_KEY_LEN], const char *email,
    const char *expiry_hex, char out[MAC_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char msg[sizeof("device:\n") + ST_EMAIL_MAX + EXPIRY_HEX];
	unsigned int n = 0;
	int len;

	len = snprintf(msg, sizeof(msg), "device:%s\n%s", email, expiry_hex);
	if (len < 0 || (size_t)len >= sizeof(msg) ||
	    HMAC(EVP_sha256(), key, DEVCOOKIE_KEY_LEN,
	    (const unsigned char *)msg, (size_t)len, mac, &n) == NULL ||
	    n * 2 != MAC_HEX)
		return -1;
	proto_hex_encode(mac, n, out);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

void
devcookie_make(const uint8_t key[DEVCOOKIE_KEY_LEN], const char *email,
    uint64_t expires_at, char out[ST_DASH_DEVICE_LEN + 1])
{
	char expiry[EXPIRY_HEX + 1], mac[MAC_HEX + 1];

	snprintf(expiry, sizeof(expiry), "%016llx",
	    (unsigned long long)expires_at);
	if (device_mac(key, email, expiry, mac) < 0) {
		out[0] = '\0';	/* no cookie: the login stands without */
		return;
	}
	snprintf(out, ST_DASH_DEVICE_LEN + 1, "%s.%s", expiry, mac);
}

int
devcookie_valid(const uint8_t key[DEVCOOKIE_KEY_LEN], const char *email,
    const char *cookie, uint64_t now)
{
	char expiry[EXPIRY_HEX + 1], want[MAC_HEX + 1];
	uint8_t at[8];
	int ok;

	if (strlen(cookie) != ST_DASH_DEVICE_LEN || cookie[EXPIRY_HEX] != '.')
		return 0;
	memcpy(expiry, cookie, EXPIRY_HEX);
	expiry[EXPIRY_HEX] = '\0';
	if (proto_hex_decode(expiry, at, sizeof(at)) < 0 ||
	    proto_get_be64(at) <= now ||
	    device_mac(key, email, expiry, want) < 0)
		return 0;
	ok = CRYPTO_memcmp(want, cookie + EXPIRY_HEX + 1, MAC_HEX) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
