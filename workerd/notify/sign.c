/*
 * Webhook signatures as the Standard Webhooks specification has them
 * (https://www.standardwebhooks.com): a secret is "whsec_" and the
 * base64 of its key; a message's webhook-signature is "v1," and the
 * base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>").
 * The reference libraries verify what this signs (tests/unit/workerd/
 * notify/test_sign.c has a vector made by the npm one). Key bytes on the
 * stack are wiped once used.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "notify.h"
#include "random.h"

#define PREFIX_LEN	(sizeof(NOTIFY_SECRET_PREFIX) - 1)
/* The longest base64 of a key: 64 bytes in 88 characters. */
#define KEY_B64_MAX	(4 * ((NOTIFY_KEY_MAX + 2) / 3))

int
notify_secret_new(char out[NOTIFY_SECRET_LEN + 1])
{
	uint8_t key[NOTIFY_SECRET_BYTES];
	int n;

	proto_random(key, sizeof(key));
	memcpy(out, NOTIFY_SECRET_PREFIX, PREFIX_LEN);
	n = EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, key,
	    sizeof(key));
	explicit_bzero(key, sizeof(key));
	if (n != NOTIFY_SECRET_LEN - (int)PREFIX_LEN) {
		explicit_bzero(out, NOTIFY_SECRET_LEN + 1);
		return -1;
	}
	return 0;
}

/* The value (0-63) of a standard base64 character; -1 for any other. */
static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Decodes n characters of padded standard base64 into out (room for
 * outmax bytes). Only the canonical spelling: whole quads, "=" only at
 * the end, unused bits 0. The byte count, or -1.
 */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax)
{
	uint32_t acc = 0;
	size_t i, pad = 0, len = 0;
	int v;

	if (n == 0 || n % 4 != 0)
		return -1;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	if (n / 4 * 3 - pad > outmax)
		return -1;
	for (i = 0; i < n - pad; i++) {
		if ((v = b64_value((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[len++] = acc >> 16;
			out[len++] = acc >> 8 & 0xff;
			out[len++] = acc & 0xff;
			acc = 0;
		}
	}
	if (pad == 2) {			/* 2 characters: 12 bits, 1 byte */
		if (acc & 0xf)
			return -1;
		out[len++] = acc >> 4;
	} else if (pad == 1) {		/* 3 characters: 18 bits, 2 bytes */
		if (acc & 0x3)
			return -1;
		out[len++] = acc >> 10;
		out[len++] = acc >> 2 & 0xff;
	}
	return (int)len;
}

int
notify_secret_key(const char *secret, uint8_t key[NOTIFY_KEY_MAX],
    size_t *keylen)
{
	size_t n;
	int len;

	*keylen = 0;
	if (secret == NULL)
		return -1;
	if (strncmp(secret, NOTIFY_SECRET_PREFIX, PREFIX_LEN) == 0)
		secret += PREFIX_LEN;
	if ((n = strnlen(secret, KEY_B64_MAX + 1)) > KEY_B64_MAX)
		return -1;
	len = b64_decode(secret, n, key, NOTIFY_KEY_MAX);
	if (len < NOTIFY_KEY_MIN) {
		explicit_bzero(key, NOTIFY_KEY_MAX);
		return -1;
	}
	*keylen = (size_t)len;
	return 0;
}

/* HMAC-SHA256 of msg_id "." ts "." payload into md (32 bytes). 0, or -1. */
static int
hmac_message(const uint8_t *key, size_t keylen, const char *msg_id,
    const char *ts, const void *payload, size_t len, uint8_t md[32])
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t mdlen = 0;
	int ok = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(mac)) != NULL)
		ok = EVP_MAC_init(ctx, key, keylen, params) &&
		    EVP_MAC_update(ctx, (const unsigned char *)msg_id,
		    strlen(msg_id)) &&
		    EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
		    EVP_MAC_update(ctx, (const unsigned char *)ts,
		    strlen(ts)) &&
		    EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
		    (len == 0 || EVP_MAC_update(ctx, payload, len)) &&
		    EVP_MAC_final(ctx, md, &mdlen, 32) && mdlen == 32;
	EVP_MAC_CTX_free(ctx);		/* cleanses the key it holds */
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

int
notify_sign(const char *secret, const char *msg_id, uint64_t timestamp_s,
    const void *payload, size_t len, char *out, size_t outsz)
{
	uint8_t key[NOTIFY_KEY_MAX], md[32];
	char ts[24];
	size_t keylen;
	int r = -1;

	if (outsz > 0)
		out[0] = '\0';
	if (msg_id == NULL || (payload == NULL && len != 0) ||
	    outsz < NOTIFY_SIG_LEN + 1)
		return -1;
	if (notify_secret_key(secret, key, &keylen) == -1)
		return -1;
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)timestamp_s);
	if (hmac_message(key, keylen, msg_id, ts, payload, len, md) == 0) {
		memcpy(out, "v1,", 3);
		EVP_EncodeBlock((unsigned char *)out + 3, md, sizeof(md));
		r = 0;
	}
	explicit_bzero(key, sizeof(key));
	return r;
}
