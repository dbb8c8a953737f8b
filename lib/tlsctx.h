/*
 * The workers' TLS context (lib/tlsctx.c): masterd builds one at start
 * only to refuse a bad pair early; each worker builds its own.
 */
#ifndef PARLEY_TLSCTX_H
#define PARLEY_TLSCTX_H

#include <stddef.h>

struct ssl_ctx_st;

/*
 * The workers' TLS context from PEM files (TLS 1.2+, ALPN http/1.1): NULL
 * with a message naming TLS_CERT or TLS_KEY in err when a file cannot be
 * read or the key does not match the certificate.
 */
struct ssl_ctx_st *tls_ctx_new(const char *cert, const char *key, char *err,
    size_t errsz);

#endif
