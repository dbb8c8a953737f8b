/* SHA-256 with the algorithm fetched once per process (sha256.h). */
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sha256.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *md;		/* kept for the process's life */

static void
sha256_fetch(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
proto_sha256(const void *in, size_t len, uint8_t out[PROTO_SHA256_LEN])
{
	(void)pthread_once(&once, sha256_fetch);
	/* Out of memory or no provider: OpenSSL's own one-shot, as before. */
	if (md == NULL || EVP_Digest(in, len, out, NULL, md, NULL) != 1)
		SHA256(in, len, out);
}
