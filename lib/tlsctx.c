/*
 * The TLS context the workers serve with (TLS_CERT, TLS_KEY). masterd
 * builds one at start only to refuse a bad pair early; each worker builds
 * its own, so a reload (new workers) reads the files anew.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlsctx.h"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* http/1.1 when offered; a client offering only others goes on without. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_http11,
	    sizeof(alpn_http11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void
ssl_reason(char *buf, size_t sz)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, sz, "unknown error");
	else
		ERR_error_string_n(e, buf, sz);
	ERR_clear_error();
}

SSL_CTX *
tls_ctx_new(const char *cert, const char *key, char *err, size_t errsz)
{
	SSL_CTX *ctx;
	char why[256];

	/* access() first: "cannot read" beats an OpenSSL error string. */
	if (access(cert, R_OK) < 0) {
		snprintf(err, errsz, "TLS_CERT=%s: cannot read: %s", cert,
		    strerror(errno));
		return NULL;
	}
	if (access(key, R_OK) < 0) {
		snprintf(err, errsz, "TLS_KEY=%s: cannot read: %s", key,
		    strerror(errno));
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_CERT: cannot make a context: %s", why);
		return NULL;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * No renegotiation (a client could make us do handshakes at will);
	 * a client that leaves without close_notify is an EOF, as in plain
	 * HTTP, where every message has its own length anyway.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * Writes come from a buffer that moves and grows (struct buf);
	 * buffers are freed while idle: memory per open stream matters.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	/*
	 * Resumption by tickets only: a server-side cache would keep a
	 * session per client in each worker (up to 20,480 of them).
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_num_tickets(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_CERT=%s: not a PEM certificate: %s",
		    cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_KEY=%s: not a PEM private key for "
		    "TLS_CERT: %s", key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_KEY=%s does not match TLS_CERT=%s",
		    key, cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
