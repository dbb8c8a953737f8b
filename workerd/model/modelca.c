/*
 * The model servers' CA certificates (modelca.h): PARLEY_MODEL_CA's,
 * read once, added to each TLS context a model connection makes (the
 * worker's own, mtls.c, and libcurl's: through a proxy, embeddings,
 * reranking) on top of the system's.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "modelca.h"
#include "tlsctx.h"

static STACK_OF(X509) *cas;
static int loaded;
static int curl_openssl = -1;	/* libcurl's TLS is OpenSSL; -1 not asked */

int
modelca_init(const char *file)
{
	char err[512];

	if (loaded)
		return 0;
	loaded = 1;
	if (file == NULL)
		return 0;
	if ((cas = tls_ca_read("PARLEY_MODEL_CA", file, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("model servers: %d CA certificate(s) of PARLEY_MODEL_CA "
	    "trusted besides the system's", sk_X509_num(cas));
	return 0;
}

CURLcode
modelca_ssl_ctx(CURL *c, void *ssl_ctx, void *arg)
{
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
	int i;

	/* An open stream's TLS buffers are empty most of the time. */
	SSL_CTX_set_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	for (i = 0; cas != NULL && i < sk_X509_num(cas); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(cas, i)) != 1) {
			ERR_clear_error();	/* there already */
		}
	return CURLE_OK;
}

CURLcode
modelca_curl(CURL *e)
{
	const curl_version_info_data *vi;

	if (curl_openssl < 0) {
		vi = curl_version_info(CURLVERSION_NOW);
		curl_openssl = vi != NULL && vi->ssl_version != NULL &&
		    strncmp(vi->ssl_version, "OpenSSL/", 8) == 0;
	}
	if (!curl_openssl)
		return CURLE_OK;
	return curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, modelca_ssl_ctx);
}

void
modelca_free(void)
{
	sk_X509_pop_free(cas, X509_free);
	cas = NULL;
	loaded = 0;
}
