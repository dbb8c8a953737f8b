/*
 * TLS on a model connection's socket, the client's side (model/mtls.c):
 * mconn.c has libcurl make the TCP connection of an https:// origin and
 * keeps the socket alone (a libcurl handle kept per connection for its
 * TLS is some 40 KiB an open stream); this is the TLS on it. The server
 * is checked as libcurl checks it: its default CA file and folder (the
 * system's), the origin's host name (or IP), TLS 1.2 or later, and
 * http/1.1 offered alone (ALPN). One OpenSSL context serves every
 * connection of the worker.
 */
#ifndef PARLEY_MTLS_H
#define PARLEY_MTLS_H

#include <stddef.h>

#include <curl/curl.h>

struct ssl_st;

enum mtls_step {
	MTLS_DONE,	/* the handshake is over; the server checked */
	MTLS_WANT_IN,	/* waits for the socket to be readable */
	MTLS_WANT_OUT,	/* waits for it to be writable */
	MTLS_FAILED,	/* *rc and the log say why */
};

/*
 * TLS for the connected socket fd to host (a DNS name or an IP literal,
 * no brackets), resuming the last session of origin ("https://host:port":
 * kept as long as the connection). easy: a handle of the connection's,
 * for libcurl's CA defaults. cb (NULL: none) is called with a new
 * context, as libcurl calls CURLOPT_SSL_CTX_FUNCTION; a context is made
 * once for each cb (the worker has one). NULL, logged, when it cannot
 * start.
 */
struct ssl_st *mtls_new(int fd, const char *host, const char *origin,
    CURL *easy, curl_ssl_ctx_callback cb);
/* The handshake's next step; on MTLS_FAILED, *rc is libcurl's code. */
enum mtls_step mtls_handshake(struct ssl_st *, const char *host,
    CURLcode *rc);
/*
 * curl_easy_recv's and curl_easy_send's: CURLE_AGAIN means wait, for
 * the socket to be writable too when *want_out is set (TLS may have to
 * write to read). A clean close, or one without close_notify, reads 0.
 */
CURLcode mtls_recv(struct ssl_st *, char *, size_t, size_t *got,
    int *want_out);
CURLcode mtls_send(struct ssl_st *, const char *, size_t, size_t *sent,
    int *want_out);
/* Says close_notify if it can, frees the TLS state (not the socket). */
void mtls_free(struct ssl_st *);
/* The shared context freed: at shutdown. */
void mtls_shutdown(void);

#endif
