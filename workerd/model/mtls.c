/*
 * TLS on a model connection's socket (mtls.h): a client context made at
 * the first https:// connection with libcurl's CA defaults (one for each
 * owner's callback: the worker has one); each connection an SSL on the
 * socket, its handshake driven by mconn.c from the loop, then read and
 * written for its owner.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "mtls.h"
#include "tlsctx.h"

/* The contexts, by the callback they were made with. */
#define MTLS_CTXS	4
static struct {
	curl_ssl_ctx_callback cb;
	SSL_CTX *ctx;
} ctxs[MTLS_CTXS];
static int nctxs;

/*
 * The last session each server gave (a TLS 1.3 ticket, or a 1.2
 * session), by context and origin: the next connection there resumes
 * it, as libcurl's cache did (no certificate chain sent and checked
 * again). The oldest makes room.
 */
#define MTLS_SESSIONS	64
static struct {
	SSL_CTX *ctx;
	char *origin;
	SSL_SESSION *sess;
	uint64_t stamp;
} sessions[MTLS_SESSIONS];
static uint64_t session_stamp;
static int origin_index = -1;	/* SSL ex_data: the connection's origin */

/* The slot of ctx's origin: -1 when none holds it. */
static int
session_find(const SSL_CTX *c, const char *origin)
{
	int i;

	for (i = 0; i < MTLS_SESSIONS; i++)
		if (sessions[i].origin != NULL && sessions[i].ctx == c &&
		    strcmp(sessions[i].origin, origin) == 0)
			return i;
	return -1;
}

/* A server's new session (SSL_CTX_sess_set_new_cb): 1 when kept. */
static int
session_new(SSL *ssl, SSL_SESSION *sess)
{
	const char *origin = SSL_get_ex_data(ssl, origin_index);
	SSL_CTX *c = SSL_get_SSL_CTX(ssl);
	char *copy;
	int i, slot;

	if (origin == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	if ((slot = session_find(c, origin)) < 0) {
		if ((copy = strdup(origin)) == NULL)
			return 0;
		for (slot = 0, i = 1; i < MTLS_SESSIONS; i++)
			if (sessions[slot].origin != NULL &&
			    (sessions[i].origin == NULL ||
			    sessions[i].stamp < sessions[slot].stamp))
				slot = i;
		free(sessions[slot].origin);
		sessions[slot].origin = copy;
		sessions[slot].ctx = c;
	}
	SSL_SESSION_free(sessions[slot].sess);
	sessions[slot].sess = sess;
	sessions[slot].stamp = ++session_stamp;
	return 1;
}

/*
 * The worker's client context: TLS 1.2 or later, the server's
 * certificate checked against what libcurl would trust (its default CA
 * file and folder: the system's), http/1.1 offered alone, OpenSSL's
 * buffers freed whenever empty (an open stream is idle most of the time).
 */
static SSL_CTX *
ctx_get(CURL *easy, curl_ssl_ctx_callback cb)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	char *cafile = NULL, *capath = NULL, why[256];
	SSL_CTX *ctx;
	int i, ok;

	for (i = 0; i < nctxs; i++)
		if (ctxs[i].cb == cb)
			return ctxs[i].ctx;
	if (nctxs == MTLS_CTXS) {
		log_warnx("model TLS: more than %d kinds of context",
		    MTLS_CTXS);
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		tls_reason(why, sizeof(why));
		log_warnx("model TLS: no context: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, session_new);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	(void)curl_easy_getinfo(easy, CURLINFO_CAINFO, &cafile);
	(void)curl_easy_getinfo(easy, CURLINFO_CAPATH, &capath);
	if (cafile == NULL && capath == NULL)
		ok = SSL_CTX_set_default_verify_paths(ctx);
	else
		ok = SSL_CTX_load_verify_locations(ctx, cafile, capath);
	if (ok != 1) {
		/* Then no server is trusted: each connection says so. */
		tls_reason(why, sizeof(why));
		log_warnx("model TLS: the CA certificates (%s, %s): %s",
		    cafile != NULL ? cafile : "-", capath != NULL ? capath :
		    "-", why);
	}
	/* The owner's part, as libcurl calls CURLOPT_SSL_CTX_FUNCTION. */
	if (cb != NULL && cb(easy, ctx, NULL) != CURLE_OK) {
		log_warnx("model TLS: the context's callback failed");
		SSL_CTX_free(ctx);
		return NULL;
	}
	ERR_clear_error();
	ctxs[nctxs].cb = cb;
	ctxs[nctxs++].ctx = ctx;
	return ctx;
}

struct ssl_st *
mtls_new(int fd, const char *host, const char *origin, CURL *easy,
    curl_ssl_ctx_callback cb)
{
	char why[256];
	SSL_CTX *c;
	SSL *ssl = NULL;
	int i;

	if (origin_index < 0 && (origin_index = SSL_get_ex_new_index(0,
	    NULL, NULL, NULL, NULL)) < 0)
		return NULL;
	if ((c = ctx_get(easy, cb)) == NULL)
		return NULL;
	ERR_clear_error();
	if ((ssl = SSL_new(c)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    tls_peer_name(ssl, host) < 0 ||
	    SSL_set_ex_data(ssl, origin_index, (void *)origin) != 1 ||
	    ((i = session_find(c, origin)) >= 0 &&
	    SSL_set_session(ssl, sessions[i].sess) != 1)) {
		tls_reason(why, sizeof(why));
		log_warnx("model TLS: %s: %s", host, why);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}


/* SSL_get_error's waits; 0 for anything else. */
static enum mtls_step
waits(SSL *ssl, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return MTLS_WANT_IN;
	case SSL_ERROR_WANT_WRITE:
		return MTLS_WANT_OUT;
	default:
		return MTLS_FAILED;
	}
}

enum mtls_step
mtls_handshake(struct ssl_st *ssl, const char *host, CURLcode *rc)
{
	enum mtls_step st;
	char why[256];
	long v;
	int r;

	ERR_clear_error();
	if ((r = SSL_do_handshake(ssl)) == 1)
		return MTLS_DONE;
	if ((st = waits(ssl, r)) != MTLS_FAILED)
		return st;
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		ERR_clear_error();
		log_warnx("model TLS: %s: certificate: %s", host,
		    X509_verify_cert_error_string(v));
		*rc = CURLE_PEER_FAILED_VERIFICATION;
	} else {
		if (ERR_peek_error() == 0)
			snprintf(why, sizeof(why), "%s", errno != 0 ?
			    strerror(errno) : "connection closed");
		else
			tls_reason(why, sizeof(why));
		log_warnx("model TLS: %s: handshake: %s", host, why);
		*rc = CURLE_SSL_CONNECT_ERROR;
	}
	return MTLS_FAILED;
}

/*
 * What SSL_read's or SSL_write's n <= 0 means: CURLE_AGAIN (*want_out
 * set when TLS waits to write), CURLE_OK for a read of the server's
 * close (with SSL_OP_IGNORE_UNEXPECTED_EOF, one without close_notify
 * too), else err.
 */
static CURLcode
io_failed(SSL *ssl, int n, int *want_out, CURLcode err)
{
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return CURLE_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want_out = 1;
		return CURLE_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		if (err == CURLE_RECV_ERROR)
			return CURLE_OK;	/* closed: 0 bytes */
		break;
	default:
		break;
	}
	ERR_clear_error();
	return err;
}

CURLcode
mtls_recv(struct ssl_st *ssl, char *p, size_t len, size_t *got,
    int *want_out)
{
	int n;

	*got = 0;
	*want_out = 0;
	ERR_clear_error();
	if ((n = SSL_read(ssl, p, len > INT_MAX ? INT_MAX : (int)len)) > 0) {
		*got = (size_t)n;
		return CURLE_OK;
	}
	return io_failed(ssl, n, want_out, CURLE_RECV_ERROR);
}

CURLcode
mtls_send(struct ssl_st *ssl, const char *p, size_t len, size_t *sent,
    int *want_out)
{
	int n;

	*sent = 0;
	*want_out = 0;
	if (len == 0)
		return CURLE_OK;
	ERR_clear_error();
	if ((n = SSL_write(ssl, p, len > INT_MAX ? INT_MAX : (int)len)) > 0) {
		*sent = (size_t)n;
		return CURLE_OK;
	}
	return io_failed(ssl, n, want_out, CURLE_SEND_ERROR);
}

void
mtls_free(struct ssl_st *ssl)
{
	/*
	 * close_notify, when the socket takes it: without it OpenSSL
	 * counts the connection's session as bad and no longer resumes it.
	 */
	if (ssl != NULL && SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}

void
mtls_shutdown(void)
{
	int i;

	for (i = 0; i < MTLS_SESSIONS; i++) {
		SSL_SESSION_free(sessions[i].sess);
		free(sessions[i].origin);
		memset(&sessions[i], 0, sizeof(sessions[i]));
	}
	while (nctxs > 0)
		SSL_CTX_free(ctxs[--nctxs].ctx);
}
