/*
 * TLS on a channel: storaged and its clients across hosts (issue 25).
 *
 * Both sides speak TLS 1.3 only and verify each other against the
 * cluster's CA; the client also checks the server's name or IP against
 * its certificate. No renegotiation, no session tickets: the connections
 * are few and long-lived.
 *
 * Everything is non-blocking. The handshake runs inside the channel's
 * own reads and writes: whichever the caller makes first drives it, and
 * pchan_events() says what it waits for (its WANT_READ / WANT_WRITE
 * mapped onto PCHAN_IN / PCHAN_OUT). A read takes records until the
 * buffer is full or the socket is drained, so a short read still means
 * "drained"; what OpenSSL holds past a full buffer is pchan_buffered().
 * Writes gather the queued frames into one buffer of up to one record
 * (PCHAN_TLS_RECORD) and write it whole: a batch of replies leaves in
 * few records, not one per frame.
 *
 * The socket BIO is our own, to send with MSG_NOSIGNAL: parleyctl keeps
 * SIGPIPE (a closed stdout ends it quietly), and a peer gone must be an
 * EPIPE there, not a signal.
 */
#include <sys/param.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tlschan.h"
#include "tlsctx.h"
#include "util.h"

/* ------------------------------------------------------------ the BIO */

static int
bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

static int
bio_write(BIO *b, const char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = recv(bio_fd(b), buf, (size_t)len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* One method for the process, made on first use. */
static BIO_METHOD *
bio_method(void)
{
	static BIO_METHOD *m;

	if (m != NULL)
		return m;
	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "parley socket")) == NULL)
		return NULL;
	if (!BIO_meth_set_write(m, bio_write) ||
	    !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl) ||
	    !BIO_meth_set_create(m, bio_create)) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}

/* ------------------------------------------------------------ contexts */

static int
readable(const char *name, const char *path, char *err, size_t errsz)
{
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errsz, "%s is not set (a tls:// address needs "
		    "PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT and "
		    "PARLEY_CLUSTER_KEY)", name);
		return -1;
	}
	if (access(path, R_OK) < 0) {
		snprintf(err, errsz, "%s=%s: cannot read: %s", name, path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Our own certificate against the CA: the peer would refuse it otherwise. */
static int
ctx_check_own(SSL_CTX *ctx, const char *ca, const char *cert, char *err,
    size_t errsz)
{
	X509_STORE_CTX *sc;
	STACK_OF(X509) *chain = NULL;
	X509 *x = SSL_CTX_get0_certificate(ctx);
	int ok = 0, code = X509_V_ERR_UNSPECIFIED;

	(void)SSL_CTX_get0_chain_certs(ctx, &chain);
	if ((sc = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), x,
	    chain) == 1) {
		ok = X509_verify_cert(sc) == 1;
		code = X509_STORE_CTX_get_error(sc);
	}
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	if (ok)
		return 0;
	snprintf(err, errsz, "PARLEY_CLUSTER_CERT=%s is not accepted by "
	    "PARLEY_CLUSTER_CA=%s: %s", cert, ca,
	    X509_verify_cert_error_string(code));
	return -1;
}

/* The files into ctx, each named when it is the wrong one. */
static int
ctx_load(SSL_CTX *ctx, const char *ca, const char *cert, const char *key,
    char *err, size_t errsz)
{
	char why[256];

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "PARLEY_CLUSTER_CA=%s: not a PEM "
		    "certificate: %s", ca, why);
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "PARLEY_CLUSTER_CERT=%s: not a PEM "
		    "certificate: %s", cert, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			goto mismatch;
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "PARLEY_CLUSTER_KEY=%s: not a PEM private "
		    "key: %s", key, why);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
mismatch:
		ERR_clear_error();
		snprintf(err, errsz, "PARLEY_CLUSTER_KEY=%s is not the key of "
		    "PARLEY_CLUSTER_CERT=%s", key, cert);
		return -1;
	}
	return ctx_check_own(ctx, ca, cert, err, errsz);
}

SSL_CTX *
tlschan_ctx_new(int server, const char *ca, const char *cert,
    const char *key, char *err, size_t errsz)
{
	SSL_CTX *ctx;
	char why[256];

	if (readable("PARLEY_CLUSTER_CA", ca, err, errsz) < 0 ||
	    readable("PARLEY_CLUSTER_CERT", cert, err, errsz) < 0 ||
	    readable("PARLEY_CLUSTER_KEY", key, err, errsz) < 0)
		return NULL;
	if ((ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method())) == NULL) {
		tls_reason(why, sizeof(why));
		snprintf(err, errsz, "cluster TLS: cannot make a context: %s",
		    why);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		snprintf(err, errsz, "cluster TLS: this OpenSSL has no TLS 1.3");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ?
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	if (ctx_load(ctx, ca, cert, key, err, errsz) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* ------------------------------------------------------------ channels */

int
tlschan_peer_role(const struct pchan *ch)
{
	X509 *x;
	X509_NAME *n;
	ASN1_STRING *v;
	const unsigned char *d;
	int i, len;

	if (ch->ssl == NULL || !ch->tls_up ||
	    SSL_get_verify_result(ch->ssl) != X509_V_OK ||
	    (x = SSL_get0_peer_certificate(ch->ssl)) == NULL ||
	    (n = X509_get_subject_name(x)) == NULL)
		return TLSCHAN_ROLE_OTHER;
	if ((i = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName,
	    -1)) < 0)
		return TLSCHAN_ROLE_NONE;
	if (X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, i) >= 0)
		return TLSCHAN_ROLE_OTHER;
	if ((v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i))) ==
	    NULL)
		return TLSCHAN_ROLE_OTHER;
	d = ASN1_STRING_get0_data(v);
	len = ASN1_STRING_length(v);
	if (len == 8 && memcmp(d, "storaged", 8) == 0)
		return TLSCHAN_ROLE_STORAGED;
	if (len == 5 && memcmp(d, "front", 5) == 0)
		return TLSCHAN_ROLE_FRONT;
	return TLSCHAN_ROLE_OTHER;
}

int
tlschan_peer_cn(const struct pchan *ch, char *buf, size_t sz)
{
	X509 *x;
	X509_NAME *n;
	ASN1_STRING *v;
	const unsigned char *d;
	size_t i, len;
	int at;

	if (ch->ssl == NULL || !ch->tls_up ||
	    SSL_get_verify_result(ch->ssl) != X509_V_OK ||
	    (x = SSL_get0_peer_certificate(ch->ssl)) == NULL ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    (at = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) < 0 ||
	    (v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, at))) ==
	    NULL || ASN1_STRING_length(v) <= 0)
		return -1;
	d = ASN1_STRING_get0_data(v);
	len = (size_t)ASN1_STRING_length(v);
	if (len > sz - 1)
		len = sz - 1;
	for (i = 0; i < len; i++)
		buf[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
	buf[len] = '\0';
	return 0;
}

int
tlschan_start(struct pchan *ch, SSL_CTX *ctx, const char *host)
{
	BIO_METHOD *m;
	BIO *b;

	if ((m = bio_method()) == NULL || (ch->ssl = SSL_new(ctx)) == NULL)
		goto fail;
	if ((b = BIO_new(m)) == NULL)
		goto fail;
	BIO_set_data(b, (void *)(intptr_t)ch->fd);
	SSL_set_bio(ch->ssl, b, b);
	if (host == NULL) {
		SSL_set_accept_state(ch->ssl);
		ch->tls_hs_want = PCHAN_IN;
	} else {
		if (tls_peer_name(ch->ssl, host) < 0)
			goto fail;
		SSL_set_connect_state(ch->ssl);
		ch->tls_hs_want = PCHAN_OUT;
	}
	if ((ch->tbuf = malloc(PCHAN_TLS_RECORD)) == NULL)
		goto fail;
	return 0;
fail:
	tls_reason(ch->tls_why, sizeof(ch->tls_why));
	errno = ENOMEM;
	return -1;
}

/*
 * An SSL call's failure r: PCHAN_IN / PCHAN_OUT when it waits for the
 * socket, 0 on a clean EOF, -1 on an error (errno, tls_why set).
 */
static int
tls_failed(struct pchan *ch, int r)
{
	long v;

	switch (SSL_get_error(ch->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return PCHAN_IN;
	case SSL_ERROR_WANT_WRITE:
		return PCHAN_OUT;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0)
				errno = ECONNRESET;
			snprintf(ch->tls_why, sizeof(ch->tls_why), "%s",
			    strerror(errno));
			return -1;
		}
		break;
	default:
		break;
	}
	if (!ch->tls_up && (v = SSL_get_verify_result(ch->ssl)) != X509_V_OK) {
		snprintf(ch->tls_why, sizeof(ch->tls_why), "certificate: %s",
		    X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else
		tls_reason(ch->tls_why, sizeof(ch->tls_why));
	errno = EPROTO;
	return -1;
}

/* 1 once the handshake is done, 0 while it waits, -1 when it failed. */
static int
tls_handshake(struct pchan *ch)
{
	int r;

	if (ch->tls_up)
		return 1;
	ERR_clear_error();
	if ((r = SSL_do_handshake(ch->ssl)) == 1) {
		ch->tls_up = 1;
		ch->tls_hs_want = 0;
		return 1;
	}
	if ((r = tls_failed(ch, r)) > 0) {
		ch->tls_hs_want = (uint32_t)r;
		return 0;
	}
	if (r == 0) {
		snprintf(ch->tls_why, sizeof(ch->tls_why),
		    "closed during the handshake");
		errno = ECONNRESET;
	}
	return -1;
}

ssize_t
tlschan_read(struct pchan *ch, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int r;

	if (ch->tls_rerr != 0)
		goto sticky;
	if ((r = tls_handshake(ch)) <= 0) {
		if (r == 0)
			errno = EAGAIN;
		return -1;
	}
	while (got < len) {
		ERR_clear_error();
		r = SSL_read(ch->ssl, buf + got, (int)MIN(len - got, INT_MAX));
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if ((r = tls_failed(ch, r)) > 0)
			break;		/* drained: a short read */
		ch->tls_rerr = r == 0 ? 1 : -1;
		ch->tls_errno = errno;
		break;
	}
	if (got > 0)
		return (ssize_t)got;
	if (ch->tls_rerr == 0) {
		errno = EAGAIN;
		return -1;
	}
sticky:
	if (ch->tls_rerr > 0)
		return 0;
	errno = ch->tls_errno;
	return -1;
}

/* The queued frames into tbuf, up to one record. */
static void
tls_gather(struct pchan *ch)
{
	struct pframe *f;
	size_t k;

	ch->tlen = ch->toff = 0;
	while (ch->tlen < PCHAN_TLS_RECORD &&
	    (f = TAILQ_FIRST(&ch->wq)) != NULL) {
		k = MIN(f->len - f->off, PCHAN_TLS_RECORD - ch->tlen);
		memcpy(ch->tbuf + ch->tlen, f->data + f->off, k);
		ch->tlen += k;
		f->off += k;
		if (f->off == f->len) {
			TAILQ_REMOVE(&ch->wq, f, entry);
			free(f);
		}
	}
}

int
tlschan_flush(struct pchan *ch)
{
	int r;

	if ((r = tls_handshake(ch)) <= 0)
		return r;
	ch->tls_w_want = 0;
	for (;;) {
		if (ch->toff == ch->tlen) {
			tls_gather(ch);
			if (ch->tlen == 0)
				return 1;
		}
		/* A retry after WANT_* repeats the same bytes, as it must. */
		ERR_clear_error();
		r = SSL_write(ch->ssl, ch->tbuf + ch->toff,
		    (int)(ch->tlen - ch->toff));
		if (r > 0) {
			ch->toff += (size_t)r;
			ch->wq_bytes -= (size_t)r;
			continue;
		}
		if ((r = tls_failed(ch, r)) > 0) {
			ch->tls_w_want = (uint32_t)r;
			return 0;
		}
		if (r == 0)
			errno = EPIPE;
		return -1;
	}
}

void
tlschan_close(struct pchan *ch)
{
	if (ch->ssl != NULL) {
		/* One try at close_notify; a peer that is gone is gone. */
		if (ch->tls_up && ch->tls_rerr >= 0)
			(void)SSL_shutdown(ch->ssl);
		SSL_free(ch->ssl);
		ERR_clear_error();
	}
	ch->ssl = NULL;
	free(ch->tbuf);
	ch->tbuf = NULL;
	ch->tlen = ch->toff = 0;
	ch->tls_up = 0;
}
