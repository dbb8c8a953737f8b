/*
 * A visitor's verified identity (issue 26): the page's server computes
 * HMAC-SHA256(the widget's identity secret, the user's id), or for an
 * identity that expires HMAC-SHA256(the secret, "exp:" + expires + ":" +
 * the id), and for an email it vouches for HMAC-SHA256(the secret,
 * "email:" + the email), and the widget passes them on in its identify;
 * storaged checks them here against the secret it holds now (a rotated or
 * removed secret is never trusted) and, for the expiring form, against
 * its clock. Each form's prefix keeps its hash from passing for another's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "widgetmsg.h"

/* A signed value's bytes, its prefix included: an id's (4 * 128, "exp:" and 13 digits) or an email's. */
#define SIGNED_MAX	1024

/*
 * 1 when hash is the hex of HMAC-SHA256(secret, prefix + value); 0 for a
 * value longer than any the identify frame allows.
 */
static int
signed_ok(const char *secret, const char *prefix, const char *value,
    const char *hash)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char want[2 * EVP_MAX_MD_SIZE + 1], msg[SIGNED_MAX];
	unsigned int n = 0;
	int len, ok;

	if (!st_secret_valid(secret) || strlen(hash) != ST_SECRET_HEX)
		return 0;
	len = snprintf(msg, sizeof(msg), "%s%s", prefix, value);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return 0;
	if (HMAC(EVP_sha256(), secret, ST_SECRET_HEX,
	    (const unsigned char *)msg, (size_t)len, mac, &n) == NULL ||
	    n * 2 != ST_SECRET_HEX)
		return 0;
	proto_hex_encode(mac, n, want);
	ok = CRYPTO_memcmp(want, hash, ST_SECRET_HEX) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int
st_identity_ok(const char *secret, const char *id, const char *hash)
{
	/*
	 * Its message would be an email's, or an expiring identity's: its
	 * hash would sign that email, or that id until then.
	 */
	if (strncmp(id, ST_EMAIL_HASH_PREFIX,
	    strlen(ST_EMAIL_HASH_PREFIX)) == 0 ||
	    strncmp(id, ST_EXP_HASH_PREFIX, strlen(ST_EXP_HASH_PREFIX)) == 0)
		return 0;
	return signed_ok(secret, "", id, hash);
}

int
st_identity_expiring_ok(const char *secret, const char *id, uint64_t expires,
    uint64_t now_s, const char *hash)
{
	char prefix[48];

	if (expires == 0)
		return st_identity_ok(secret, id, hash);
	if (expires > ST_IDENTITY_EXPIRES_MAX ||
	    expires + ST_IDENTITY_SKEW_S < now_s)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s%llu:", ST_EXP_HASH_PREFIX,
	    (unsigned long long)expires);
	return signed_ok(secret, prefix, id, hash);
}

int
st_identity_email_ok(const char *secret, const char *email, const char *hash)
{
	return email[0] != '\0' &&
	    signed_ok(secret, ST_EMAIL_HASH_PREFIX, email, hash);
}
