/*
 * TLS on client sockets (see tlsio.h). Non-blocking throughout: the
 * handshake happens inside the first reads, bounded by the connection's
 * header timeout.
 */
#include <errno.h>
#include <stdint.h>

#include <openssl/err.h>

#include "log.h"
#include "resp.h"
#include "tlsctx.h"
#include "settings.h"
#include "tlsio.h"

static SSL_CTX *tls_ctx;

int
tlsio_flush(int fd, struct tlsio *t, struct buf *out)
{
	size_t left;
	ssize_t n;

	while ((left = buf_pending(out)) > 0) {
		n = tlsio_write(fd, t, out->data + out->off, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		buf_consume(out, (size_t)n);
	}
	return 0;
}

void
tlsio_init(const char *cert, const char *key)
{
	char err[SETTINGS_ERR_MAX];

	if (cert == NULL)
		return;
	if ((tls_ctx = tls_ctx_new(cert, key, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	log_info("TLS with %s", cert);
}

void
tlsio_set_ctx(SSL_CTX *ctx)
{
	tls_ctx = ctx;
}

int
tlsio_start(struct tlsio *t, int fd)
{
	t->rwait = t->wwait = 0;
	t->shut = t->broken = 0;
	t->ssl = NULL;
	if (tls_ctx == NULL)
		return 0;
	if ((t->ssl = SSL_new(tls_ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		log_warnx("connection %d: cannot start TLS", fd);
		ERR_clear_error();
		SSL_free(t->ssl);
		t->ssl = NULL;
		return -1;
	}
	SSL_set_accept_state(t->ssl);
	return 0;
}

/* One result of SSL_read/SSL_write as recv/send would give it. */
static ssize_t
tlsio_result(struct tlsio *t, int n, uint32_t *wait)
{
	int e;

	if (n > 0) {
		*wait = 0;
		return n;
	}
	e = SSL_get_error(t->ssl, n);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*wait = EPOLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*wait = EPOLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF). */
		*wait = 0;
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		break;
	default:
		log_debug("connection %d: TLS: %s", SSL_get_fd(t->ssl),
		    ERR_reason_error_string(ERR_peek_last_error()) ?
		    ERR_reason_error_string(ERR_peek_last_error()) : "error");
		errno = EPROTO;
		break;
	}
	ERR_clear_error();
	/* After a fatal error OpenSSL forbids SSL_shutdown. */
	t->broken = 1;
	*wait = 0;
	return -1;
}

ssize_t
tlsio_ssl_read(struct tlsio *t, void *buf, size_t len)
{
	int n;

	if (t->broken) {
		errno = EPROTO;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	n = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return tlsio_result(t, n, &t->rwait);
}

ssize_t
tlsio_ssl_write(struct tlsio *t, const void *buf, size_t len)
{
	int n;

	if (t->broken) {
		errno = EPIPE;
		return -1;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return tlsio_result(t, n, &t->wwait);
}

void
tlsio_shutdown(struct tlsio *t)
{
	if (t->ssl == NULL || t->shut || t->broken)
		return;
	t->shut = 1;
	if (!SSL_is_init_finished(t->ssl))
		return;
	/* Once: what the socket takes now; we never wait for the reply. */
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

void
tlsio_free(struct tlsio *t)
{
	if (t->ssl == NULL)
		return;
	tlsio_shutdown(t);
	SSL_free(t->ssl);
	t->ssl = NULL;
}
