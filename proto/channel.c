/*
 * A framed channel over one socket: a Unix socket, with fd passing, or
 * TLS (tlschan.c does its reads and writes).
 *
 * Received fds wait in a small queue until the message flagged PROTO_F_FD
 * claims them: the kernel delivers an fd with the first byte of the
 * sendmsg() it rode on and never merges two such sends into one read, so
 * the queue's order is the messages' order. Whatever is left unclaimed at
 * close is closed; no fd leaks. A descriptor lost on the way (our table
 * full) keeps its place as -1: its message comes with fd -1, and the
 * channel lives on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <openssl/ssl.h>

#include "log.h"
#include "msgtab.h"
#include "proto.h"
#include "tlschan.h"

_Static_assert(PCHAN_IN == EPOLLIN && PCHAN_IN == POLLIN &&
    PCHAN_OUT == EPOLLOUT && PCHAN_OUT == POLLOUT,
    "PCHAN_IN/_OUT are the poll and epoll bits");

#define RBUF_MIN	4096
#define RBUF_LIMIT	(PROTO_HDR_LEN + PROTO_MAX_PAYLOAD + RBUF_MIN)

/* Room for one descriptor's control message. */
union fd_cmsg {
	struct cmsghdr hdr;
	char buf[CMSG_SPACE(sizeof(int))];
};

/* fd passed along with mh (SCM_RIGHTS), in cm's room. */
static void
fd_attach(struct msghdr *mh, union fd_cmsg *cm, int fd)
{
	struct cmsghdr *c;

	memset(cm, 0, sizeof(*cm));
	mh->msg_control = cm->buf;
	mh->msg_controllen = sizeof(cm->buf);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
}

ssize_t
proto_sendmsg_fd(int sock, const void *buf, size_t len, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	union fd_cmsg cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0)
		fd_attach(&mh, &cm, fd);
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

ssize_t
proto_recvmsg_fds(int sock, void *buf, size_t len, int *fds, int *nfds_inout)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	} cm;
	struct cmsghdr *c;
	int room = *nfds_inout, got = 0, i, n, fd, overflow = 0;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	*nfds_inout = 0;
	if (r < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < room)
				fds[got++] = fd;
			else {
				close(fd);
				overflow = 1;
			}
		}
	}
	if ((mh.msg_flags & MSG_CTRUNC) && got == 0 && !overflow &&
	    room > 0) {
		/*
		 * Cut short before its first descriptor: our descriptor table
		 * is full (the kernel closed the one it could not install).
		 * A channel peer sends one descriptor a sendmsg, so exactly
		 * one went: -1 stands in its place, the bytes are kept.
		 */
		fds[got++] = -1;
	} else if ((mh.msg_flags & MSG_CTRUNC) || overflow) {
		/* Some fds were lost: the message stream can't be trusted. */
		for (i = 0; i < got; i++)
			close(fds[i]);
		errno = EPROTO;
		return -1;
	}
	*nfds_inout = got;
	return r;
}

int
pchan_init(struct pchan *ch, int fd, const char *myname)
{
	struct penc e;
	int flags, rv;

	memset(ch, 0, sizeof(*ch));
	ch->fd = fd;
	TAILQ_INIT(&ch->wq);
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	penc_init(&e);
	penc_u32(&e, PROTO_VERSION);
	penc_str(&e, myname);
	penc_u64(&e, proto_layouts_id());
	rv = e.err ? -1 : pchan_send(ch, PROTO_HELLO, 0, 0, e.buf, e.len, -1);
	penc_free(&e);
	return rv;
}

int
pchan_init_tls(struct pchan *ch, int fd, const char *myname, SSL_CTX *ctx,
    const char *host)
{
	if (pchan_init(ch, fd, myname) < 0)
		return -1;
	return tlschan_start(ch, ctx, host);
}

void
pchan_close(struct pchan *ch)
{
	struct pframe *f;
	int i;

	tlschan_close(ch);

	while ((f = TAILQ_FIRST(&ch->wq)) != NULL) {
		TAILQ_REMOVE(&ch->wq, f, entry);
		if (f->fd >= 0)
			close(f->fd);
		free(f);
	}
	for (i = 0; i < ch->nrfds; i++)
		if (ch->rfds[i] >= 0)
			close(ch->rfds[i]);
	ch->nrfds = 0;
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	free(ch->rbuf);
	ch->rbuf = NULL;
	ch->rlen = ch->roff = ch->rcap = 0;
	ch->wq_bytes = 0;
}

void
pchan_wipe(struct pchan *ch)
{
	struct pframe *f;

	if (ch->rbuf != NULL)
		explicit_bzero(ch->rbuf, ch->rcap);
	if (ch->tbuf != NULL)
		explicit_bzero(ch->tbuf, PCHAN_TLS_RECORD);
	TAILQ_FOREACH(f, &ch->wq, entry)
		explicit_bzero(f->data, f->len);
}

int
pchan_unqueue_fd(struct pchan *ch, uint16_t type, void *buf, size_t cap,
    size_t *lenp)
{
	struct proto_hdr h;
	struct pframe *f;
	int fd;

	TAILQ_FOREACH(f, &ch->wq, entry) {
		if (f->off != 0 || f->fd < 0 ||
		    proto_hdr_unpack(f->data, &h) < 0 || h.type != type)
			continue;
		TAILQ_REMOVE(&ch->wq, f, entry);
		ch->wq_bytes -= f->len;
		*lenp = f->len - PROTO_HDR_LEN < cap ?
		    f->len - PROTO_HDR_LEN : cap;
		memcpy(buf, f->data + PROTO_HDR_LEN, *lenp);
		fd = f->fd;
		free(f);
		return fd;
	}
	return -1;
}

ssize_t
pchan_read(struct pchan *ch)
{
	int fds[PROTO_MAX_FDS];
	int nfds, i;
	size_t want;
	uint8_t *nb;
	ssize_t n;

	/* Drop what pchan_next consumed; earlier payload pointers end here. */
	if (ch->roff > 0) {
		memmove(ch->rbuf, ch->rbuf + ch->roff, ch->rlen - ch->roff);
		ch->rlen -= ch->roff;
		ch->roff = 0;
	}
	/* Room for one whole message of the largest size and a bit more. */
	if (ch->rlen >= RBUF_LIMIT) {
		errno = EMSGSIZE;
		return -1;
	}
	want = ch->rlen + RBUF_MIN;
	if (want > RBUF_LIMIT)
		want = RBUF_LIMIT;
	if (want > ch->rcap) {
		size_t cap = ch->rcap ? ch->rcap : RBUF_MIN;

		while (cap < want)
			cap *= 2;
		if (cap > RBUF_LIMIT)
			cap = RBUF_LIMIT;
		if ((nb = realloc(ch->rbuf, cap)) == NULL)
			return -1;
		ch->rbuf = nb;
		ch->rcap = cap;
	}
	if (ch->ssl != NULL) {
		if ((n = tlschan_read(ch, ch->rbuf + ch->rlen,
		    ch->rcap - ch->rlen)) > 0)
			ch->rlen += (size_t)n;
		return n;
	}
	nfds = PROTO_MAX_FDS - ch->nrfds;
	n = proto_recvmsg_fds(ch->fd, ch->rbuf + ch->rlen,
	    ch->rcap - ch->rlen, fds, &nfds);
	if (n < 0)
		return -1;
	for (i = 0; i < nfds; i++)
		ch->rfds[ch->nrfds++] = fds[i];
	ch->rlen += (size_t)n;
	return n;
}

int
pchan_read_grows(const struct pchan *ch)
{
	size_t want = ch->rlen - ch->roff + RBUF_MIN;

	if (want > RBUF_LIMIT)
		want = RBUF_LIMIT;
	return want > ch->rcap;
}

void
pchan_trim(struct pchan *ch, size_t keep)
{
	if (ch->rcap <= keep || ch->rlen != ch->roff)
		return;
	free(ch->rbuf);
	ch->rbuf = NULL;
	ch->rlen = ch->roff = ch->rcap = 0;
}

/*
 * The next received descriptor into *fd (-1: one the kernel could not
 * give us, proto_recvmsg_fds). 0, or -1 when none was received.
 */
static int
pchan_take_fd(struct pchan *ch, int *fd)
{
	if (ch->nrfds == 0)
		return -1;
	*fd = ch->rfds[0];
	memmove(ch->rfds, ch->rfds + 1, (size_t)(ch->nrfds - 1) * sizeof(int));
	ch->nrfds--;
	return 0;
}

static int
pchan_hello(struct pchan *ch, const struct pmsg *m)
{
	struct pdec d;
	uint32_t version;
	uint64_t layouts = 0;

	pdec_init(&d, m->payload, m->hdr.len);
	version = pdec_u32(&d);
	pdec_strbuf(&d, ch->peer, sizeof(ch->peer));
	if (version == PROTO_VERSION)
		layouts = pdec_u64(&d);
	if (d.err || (version == PROTO_VERSION && pdec_done(&d) < 0)) {
		log_warnx("channel: malformed HELLO");
		return -1;
	}
	if (version != PROTO_VERSION) {
		log_warnx("channel: peer %s speaks protocol %u, we speak %u",
		    ch->peer, version, PROTO_VERSION);
		return -1;
	}
	if (layouts != proto_layouts_id()) {
		log_warnx("channel: peer %s's messages are laid out otherwise "
		    "(%016llx, ours %016llx): another build; run one release "
		    "on every machine", ch->peer, (unsigned long long)layouts,
		    (unsigned long long)proto_layouts_id());
		return -1;
	}
	ch->hello_seen = 1;
	return 0;
}

int
pchan_next(struct pchan *ch, struct pmsg *m)
{
	const uint8_t *p;
	size_t avail;

	for (;;) {
		avail = ch->rlen - ch->roff;
		if (avail < PROTO_HDR_LEN)
			return 0;
		p = ch->rbuf + ch->roff;
		if (proto_hdr_unpack(p, &m->hdr) < 0) {
			log_warnx("channel: message of %u bytes is over the limit",
			    m->hdr.len);
			return -1;
		}
		if (m->hdr.type == 0 || m->hdr.type >= PROTO_TYPE_MAX) {
			log_warnx("channel: unknown message type %u", m->hdr.type);
			return -1;
		}
		if (avail - PROTO_HDR_LEN < m->hdr.len)
			return 0;
		m->payload = p + PROTO_HDR_LEN;
		m->fd = -1;
		if ((m->hdr.flags & PROTO_F_FD) &&
		    pchan_take_fd(ch, &m->fd) < 0) {
			log_warnx("channel: %s carries no fd",
			    proto_msg_name(m->hdr.type));
			return -1;
		}
		ch->roff += PROTO_HDR_LEN + m->hdr.len;
		if (!ch->hello_seen) {
			if (m->hdr.type != PROTO_HELLO) {
				log_warnx("channel: %s before HELLO",
				    proto_msg_name(m->hdr.type));
				if (m->fd >= 0)
					close(m->fd);
				return -1;
			}
			if (m->hdr.flags & PROTO_F_FD) {
				if (m->fd >= 0)
					close(m->fd);
				return -1;
			}
			if (pchan_hello(ch, m) < 0)
				return -1;
			continue;
		}
		if (m->hdr.type == PROTO_HELLO) {
			log_warnx("channel: second HELLO");
			if (m->fd >= 0)
				close(m->fd);
			return -1;
		}
		return 1;
	}
}

int
pchan_send(struct pchan *ch, uint16_t type, uint16_t flags, uint32_t id,
    const void *payload, size_t len, int fd)
{
	struct proto_hdr h;
	struct pframe *f;

	if (len > PROTO_MAX_PAYLOAD || ch->fd < 0) {
		if (fd >= 0)
			close(fd);
		errno = EMSGSIZE;
		return -1;
	}
	if (fd >= 0 && ch->ssl != NULL) {
		/* An fd rides only on a Unix socket. */
		close(fd);
		errno = EOPNOTSUPP;
		return -1;
	}
	if ((f = malloc(sizeof(*f) + PROTO_HDR_LEN + len)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	h.type = type;
	h.flags = flags | (fd >= 0 ? PROTO_F_FD : 0);
	h.len = (uint32_t)len;
	h.id = id;
	proto_hdr_pack(&h, f->data);
	if (len > 0)
		memcpy(f->data + PROTO_HDR_LEN, payload, len);
	f->len = PROTO_HDR_LEN + len;
	f->off = 0;
	f->fd = fd;
	TAILQ_INSERT_TAIL(&ch->wq, f, entry);
	ch->wq_bytes += f->len;
	return 0;
}

int
pchan_send_error(struct pchan *ch, uint16_t type, uint32_t id, uint32_t code,
    const char *message)
{
	struct penc e;
	int rv;

	penc_init(&e);
	penc_error(&e, code, message);
	rv = e.err ? -1 : pchan_send(ch, type, PROTO_F_REPLY | PROTO_F_ERROR,
	    id, e.buf, e.len, -1);
	penc_free(&e);
	return rv;
}

/*
 * Frames queued together leave in one sendmsg (up to FLUSH_IOV of them):
 * a storaged batch answers many requests at once, and a syscall per frame
 * was most of its socket cost. A frame carrying an fd only ever starts a
 * gather, so the fd still rides on its own frame's first byte.
 */
#define FLUSH_IOV	64

int
pchan_flush(struct pchan *ch)
{
	struct iovec iov[FLUSH_IOV];
	struct msghdr mh;
	union fd_cmsg cm;
	struct pframe *f, *first;
	size_t left;
	ssize_t n;
	int niov;

	if (ch->ssl != NULL)
		return tlschan_flush(ch);
	while ((first = TAILQ_FIRST(&ch->wq)) != NULL) {
		niov = 0;
		for (f = first; f != NULL && niov < FLUSH_IOV;
		    f = TAILQ_NEXT(f, entry)) {
			if (f != first && f->fd >= 0)
				break;
			iov[niov].iov_base = f->data + f->off;
			iov[niov].iov_len = f->len - f->off;
			niov++;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)niov;
		if (first->off == 0 && first->fd >= 0)
			fd_attach(&mh, &cm, first->fd);
		do {
			n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (n == 0)
			return 0;
		if (first->off == 0 && first->fd >= 0) {
			/* The peer holds its own copy now. */
			close(first->fd);
			first->fd = -1;
		}
		ch->wq_bytes -= (size_t)n;
		/* Drop the frames that went whole; note how far the next got. */
		while (n > 0 && (f = TAILQ_FIRST(&ch->wq)) != NULL) {
			left = f->len - f->off;
			if ((size_t)n < left) {
				f->off += (size_t)n;
				return 0;
			}
			n -= (ssize_t)left;
			TAILQ_REMOVE(&ch->wq, f, entry);
			free(f);
		}
	}
	return 1;
}

int
pchan_pending(const struct pchan *ch)
{
	return !TAILQ_EMPTY(&ch->wq) || ch->toff < ch->tlen;
}

uint32_t
pchan_events(const struct pchan *ch, int reading)
{
	uint32_t ev = reading ? PCHAN_IN : 0;

	if (ch->ssl != NULL && !ch->tls_up)
		return ch->tls_hs_want;
	if (pchan_pending(ch))
		ev |= ch->ssl != NULL && ch->tls_w_want == PCHAN_IN ?
		    PCHAN_IN : PCHAN_OUT;
	return ev;
}

int
pchan_buffered(const struct pchan *ch)
{
	/* A read that ended in EOF or an error says so on the next call. */
	return ch->ssl != NULL && (ch->tls_rerr != 0 || (ch->tls_up &&
	    SSL_has_pending(ch->ssl)));
}

int
pchan_handshaking(const struct pchan *ch)
{
	return ch->ssl != NULL && !ch->tls_up;
}

const char *
pchan_tls_why(const struct pchan *ch)
{
	return ch->tls_why;
}

const char *
pchan_why(const struct pchan *ch)
{
	return ch->tls_why[0] != '\0' ? ch->tls_why : strerror(errno);
}

int
pchan_flush_wait(struct pchan *ch, int timeout_ms)
{
	long long deadline = proto_mono_ms() + timeout_ms;
	struct pollfd pfd;
	int r;

	while ((r = pchan_flush(ch)) == 0) {
		long long left = deadline - proto_mono_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = ch->fd;
		pfd.events = (short)pchan_events(ch, 0);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
	}
	return r < 0 ? -1 : 0;
}
