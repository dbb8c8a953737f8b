/*
 * SHA-256 (sha256.h) and one AES-128 block (aesblock.h), their OpenSSL
 * algorithms fetched once per process: OpenSSL 3 looks an algorithm up in
 * the provider tables on every SHA256() or EVP_aes_128_ecb() init, two
 * thirds of the cost for a short input.
 */
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "aesblock.h"
#include "sha256.h"

/*
 * Each fetched at its first use, kept for the process's life: a fetch
 * costs millions of instructions (the cipher's 3 M under callgrind), so
 * a worker that never shows an event id never pays for the cipher.
 */
static pthread_once_t md_once = PTHREAD_ONCE_INIT, aes_once =
    PTHREAD_ONCE_INIT;
static EVP_MD *md;
static EVP_CIPHER *aes;

/*
 * A digest context kept per thread (its key made with md's fetch, the
 * context freed when its thread ends): EVP_Digest makes and frees one a
 * call, and each hash's init then allocates its state again, most of a
 * short input's cost (callgrind: some 3,700 instructions a chat turn in
 * a worker, which hashes its API key and its session).
 */
static pthread_key_t ctx_key;
static int ctx_keyed;

static void
ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
md_fetch(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx_keyed = pthread_key_create(&ctx_key, ctx_free) == 0;
}

/* This thread's context (NULL: out of memory), md fetched. */
static EVP_MD_CTX *
md_ctx(void)
{
	EVP_MD_CTX *ctx;

	(void)pthread_once(&md_once, md_fetch);
	if (md == NULL || !ctx_keyed)
		return NULL;
	if ((ctx = pthread_getspecific(ctx_key)) != NULL)
		return ctx;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    pthread_setspecific(ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static void
aes_fetch(void)
{
	aes = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

void
proto_sha256(const void *in, size_t len, uint8_t out[PROTO_SHA256_LEN])
{
	/* Out of memory or no provider: OpenSSL's own one-shot, as before. */
	if (proto_sha256_two(in, len, "", 0, out) < 0)
		SHA256(in, len, out);
}

int
proto_sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[PROTO_SHA256_LEN])
{
	EVP_MD_CTX *ctx;

	if ((ctx = md_ctx()) == NULL)
		return -1;
	/* Init again (same md: its state reused) whatever the last left. */
	return EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a, alen) == 1 &&
	    EVP_DigestUpdate(ctx, b, blen) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1 ? 0 : -1;
}

int
proto_aes_block(const uint8_t key[PROTO_AES_KEY_LEN],
    const uint8_t in[PROTO_AES_BLOCK_LEN], uint8_t out[PROTO_AES_BLOCK_LEN],
    int enc)
{
	EVP_CIPHER_CTX *x;
	int n = 0, ok;

	(void)pthread_once(&aes_once, aes_fetch);
	if (aes == NULL || (x = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex2(x, aes, key, NULL, enc, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_CipherUpdate(x, out, &n, in, PROTO_AES_BLOCK_LEN) == 1 &&
	    n == PROTO_AES_BLOCK_LEN;
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -1;
}
