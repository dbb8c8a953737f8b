/* One AES-128 block, the cipher fetched once per process (aesblock.h). */
#include <pthread.h>

#include <openssl/evp.h>

#include "aesblock.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes;		/* kept for the process's life */

static void
aes_fetch(void)
{
	aes = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

int
proto_aes_block(const uint8_t key[PROTO_AES_KEY_LEN],
    const uint8_t in[PROTO_AES_BLOCK_LEN], uint8_t out[PROTO_AES_BLOCK_LEN],
    int enc)
{
	EVP_CIPHER_CTX *x;
	int n = 0, ok;

	(void)pthread_once(&once, aes_fetch);
	if (aes == NULL || (x = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex2(x, aes, key, NULL, enc, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_CipherUpdate(x, out, &n, in, PROTO_AES_BLOCK_LEN) == 1 &&
	    n == PROTO_AES_BLOCK_LEN;
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -1;
}
