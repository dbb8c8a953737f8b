/*
 * The workers' TLS context (lib/tlsctx.c): masterd builds one at start
 * only to refuse a bad pair early; each worker builds its own. And the
 * helpers every TLS user here shares.
 */
#ifndef PARLEY_TLSCTX_H
#define PARLEY_TLSCTX_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;
struct stack_st_X509;

/*
 * The workers' TLS context from PEM files (TLS 1.2+, ALPN http/1.1): NULL
 * with a message naming TLS_CERT or TLS_KEY in err when a file cannot be
 * read or the key does not match the certificate.
 */
struct ssl_ctx_st *tls_ctx_new(const char *cert, const char *key, char *err,
    size_t errsz);
/* OpenSSL's reason for its last error into buf; its queue is cleared. */
void tls_reason(char *buf, size_t sz);
/*
 * What a client's ssl checks the server's certificate for: host, an IP
 * literal (checked as an IP, no SNI) or a DNS name (no partial
 * wildcards; sent as SNI). 0, or -1 out of memory.
 */
int tls_peer_name(struct ssl_st *ssl, const char *host);
/*
 * The certificates of a PEM file (CA certificates to trust): NULL with
 * one line in err naming setting and file when it cannot be read or holds
 * none. Freed with sk_X509_pop_free(sk, X509_free).
 */
struct stack_st_X509 *tls_ca_read(const char *setting, const char *file,
    char *err, size_t errsz);

#endif
