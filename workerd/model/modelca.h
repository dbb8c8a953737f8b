/*
 * What a model server's TLS is checked against, for every client of
 * model servers (model/modelca.c): the system's CA certificates, as
 * libcurl's, and PARLEY_MODEL_CA's besides (a model on the owner's
 * network with a certificate of their own CA). Also what each TLS
 * context gets: OpenSSL's buffers freed whenever they are empty.
 */
#ifndef PARLEY_MODELCA_H
#define PARLEY_MODELCA_H

#include <curl/curl.h>

/*
 * Reads file's certificates (NULL: none but the system's), once until
 * modelca_free. 0, or -1 logged (masterd checked the file: it changed).
 */
int modelca_init(const char *file);
/* The SSL_CTX callback (CURLOPT_SSL_CTX_FUNCTION's, and mtls.h's). */
CURLcode modelca_ssl_ctx(CURL *, void *ssl_ctx, void *arg);
/* Sets it on e when libcurl's TLS is OpenSSL's. 0, or a CURLcode. */
CURLcode modelca_curl(CURL *e);
/* The certificates freed. */
void modelca_free(void);

#endif
