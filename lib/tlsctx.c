/*
 * The TLS context the workers serve with (TLS_CERT, TLS_KEY). masterd
 * builds one at start only to refuse a bad pair early; each worker builds
 * its own, so a reload (new workers) reads the files anew. And what every
 * TLS user here shares: OpenSSL's reason for an error, and the name a
 * client checks its server's certificate for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

void
tls_reason(char *buf, size_t sz)
{
	unsigned long e = ERR_peek_last_error();
	const char *r;

	if (e == 0)
		snprintf(buf, sz, "unknown error");
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, sz, "%s", r);
	else
		ERR_error_string_n(e, buf, sz);
	ERR_clear_error();
}

STACK_OF(X509) *
tls_ca_read(const char *setting, const char *file, char *err, size_t errsz)
{
	STACK_OF(X509) *sk;
	char why[256];
	X509 *x;
	BIO *b;

	ERR_clear_error();
	if ((b = BIO_new_file(file, "r")) == NULL) {
		snprintf(err, errsz, "%s=%s: cannot read: %s", setting, file,
		    errno != 0 ? strerror(errno) : "unknown error");
		ERR_clear_error();
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL) {
		BIO_free(b);
		snprintf(err, errsz, "%s=%s: out of memory", setting, file);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			break;
		}
	BIO_free(b);
	/* Read to the end (no more blocks) with one certificate at least. */
	if (sk_X509_num(sk) > 0 && x == NULL && ERR_GET_REASON(
	    ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return sk;
	}
	if (sk_X509_num(sk) == 0 || ERR_peek_last_error() == 0) {
		ERR_clear_error();
		snprintf(why, sizeof(why), "no certificate in it");
	} else
		tls_reason(why, sizeof(why));
	snprintf(err, errsz, "%s=%s: not a PEM certificate: %s", setting,
	    file, why);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

int
tls_peer_name(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	unsigned char a[16];

	/* An IP literal is checked as an IP, and sent as no SNI. */
	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1 ? 0 : -1;
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return 0;
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
		tls_reason(why, sizeof(why));
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
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_CERT=%s: not a PEM certificate: %s",
		    cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_KEY=%s: not a PEM private key for "
		    "TLS_CERT: %s", key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "TLS_KEY=%s does not match TLS_CERT=%s",
		    key, cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
