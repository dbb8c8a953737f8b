/*
 * Client socket I/O, plain or TLS (TLS_CERT): conn.c and ws.c read and
 * write through these, and the WebSocket handoff moves the struct. The
 * plain path is recv/send as before: no extra call, no allocation.
 *
 * A TLS operation may need the other direction (a read that must write
 * handshake data, a write that waits for the peer): it fails with EAGAIN
 * and records the epoll event it waits for; tlsio_events() adds that to
 * the interest and tlsio_ready() turns the event back into the blocked
 * operation. Bytes decrypted but not yet taken (tlsio_pending()) bring
 * no epoll event: the owner reads them without waiting for one.
 */
#ifndef PARLEY_TLSIO_H
#define PARLEY_TLSIO_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct tlsio {
	SSL *ssl;		/* NULL: plain */
	uint32_t rwait;		/* EPOLLIN/EPOLLOUT the last read waits for */
	uint32_t wwait;		/* the same for the last write */
	unsigned int shut:1;	/* close_notify tried */
	unsigned int broken:1;	/* a TLS error: no close_notify */
};

/* The workers' context from TLS_CERT/TLS_KEY; fatal when bad. */
void tlsio_init(const char *cert, const char *key);
void tlsio_set_ctx(SSL_CTX *);	/* tests */
/* A new connection: TLS when configured. 0, or -1 (no memory). */
int tlsio_start(struct tlsio *, int fd);
ssize_t tlsio_ssl_read(struct tlsio *, void *, size_t);
ssize_t tlsio_ssl_write(struct tlsio *, const void *, size_t);
struct buf;
/*
 * Writes out's pending bytes: 0 when all are out or the socket is full
 * (the rest waits for EPOLLOUT), -1 with errno on an error.
 */
int tlsio_flush(int fd, struct tlsio *, struct buf *out);
/* close_notify once, without waiting (closing or half-closing). */
void tlsio_shutdown(struct tlsio *);
void tlsio_free(struct tlsio *);

/* >0 bytes, 0 EOF, -1 with errno (EAGAIN: wait). */
static inline ssize_t
tlsio_read(int fd, struct tlsio *t, void *buf, size_t len)
{
	if (t->ssl == NULL)
		return recv(fd, buf, len, 0);
	return tlsio_ssl_read(t, buf, len);
}

static inline ssize_t
tlsio_write(int fd, struct tlsio *t, const void *buf, size_t len)
{
	if (t->ssl == NULL)
		return send(fd, buf, len, MSG_NOSIGNAL);
	return tlsio_ssl_write(t, buf, len);
}

/*
 * The interest for what the owner wants: a blocked operation's event is
 * added, and EPOLLOUT dropped while the write waits for input (it would
 * fire at once, again and again).
 */
static inline uint32_t
tlsio_events(const struct tlsio *t, uint32_t ev)
{
	if (t->ssl == NULL)
		return ev;
	if ((ev & EPOLLOUT) && t->wwait == EPOLLIN)
		ev = (ev & ~(uint32_t)EPOLLOUT) | EPOLLIN;
	if ((ev & EPOLLIN) && t->rwait == EPOLLOUT)
		ev |= EPOLLOUT;
	return ev;
}

/* The fired events as the operations they unblock. */
static inline uint32_t
tlsio_ready(const struct tlsio *t, uint32_t ev)
{
	if (t->ssl == NULL)
		return ev;
	if ((ev & EPOLLIN) && t->wwait == EPOLLIN)
		ev |= EPOLLOUT;
	if ((ev & EPOLLOUT) && t->rwait == EPOLLOUT)
		ev |= EPOLLIN;
	return ev;
}

/*
 * Input decrypted or buffered inside TLS: read it, epoll will not say.
 * Not after a read that wanted more: what TLS holds then is part of a
 * record, which only the socket's next bytes complete (read again at
 * once, a byte of a record held the worker in a loop of empty reads).
 */
static inline int
tlsio_pending(const struct tlsio *t)
{
	return t->ssl != NULL && t->rwait != EPOLLIN && SSL_has_pending(t->ssl);
}

/* The handshake is still going on. */
static inline int
tlsio_handshaking(const struct tlsio *t)
{
	return t->ssl != NULL && !SSL_is_init_finished(t->ssl);
}

#endif
