/*
 * A visitor's verified identity (issue 26): the page's server computes
 * HMAC-SHA256(the widget's identity secret, the user's id) and the widget
 * passes it on in its identify; storaged checks it here against the
 * secret it holds now (a rotated or removed secret is never trusted).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "widgetmsg.h"

int
st_identity_ok(const char *secret, const char *id, const char *hash)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char want[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int n = 0;
	int ok;

	if (!st_secret_valid(secret) || strlen(hash) != ST_SECRET_HEX)
		return 0;
	if (HMAC(EVP_sha256(), secret, ST_SECRET_HEX,
	    (const unsigned char *)id, strlen(id), mac, &n) == NULL ||
	    n * 2 != ST_SECRET_HEX)
		return 0;
	proto_hex_encode(mac, n, want);
	ok = CRYPTO_memcmp(want, hash, ST_SECRET_HEX) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
