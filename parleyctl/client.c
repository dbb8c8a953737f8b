/*
 * One connection to storaged, used one request at a time: send, then
 * wait for the reply with the same id. Unasked events (ST_EV_WIDGET_GONE)
 * are skipped.
 *
 * Given several addresses (PARLEY_STORAGED, --storaged), it goes to the
 * one that says it is primary (ST_EV_ROLE, right after storaged's HELLO),
 * as the workers do; a tls:// one speaks TLS 1.3 with the cluster's
 * certificates. What TLS holds decrypted is read before waiting on the
 * socket (pchan_buffered).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "ctl.h"
#include "msgtab.h"
#include "staddr.h"
#include "stmsgs.h"
#include "orgmsg.h"
#include "storemsg.h"

static struct pchan ch = { .fd = -1 };
static uint32_t next_id;

/* Each address gets this long to connect, shake hands and say its role. */
#define CTL_CONNECT_MS	5000

/* Waits for ch's socket (what pchan_events says) until deadline. 0 or -1. */
static int
ctl_wait(long long deadline, char *err, size_t errsz)
{
	struct pollfd pfd;
	long long left;

	if (pchan_buffered(&ch))
		return 0;
	if ((left = deadline - proto_mono_ms()) <= 0) {
		snprintf(err, errsz, "storaged did not answer in time");
		return -1;
	}
	pfd.fd = ch.fd;
	pfd.events = (short)pchan_events(&ch, 1);
	if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
		snprintf(err, errsz, "poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* What a user without the rights to storaged's socket is told. */
#define CTL_DENIED	"permission denied: run as root or the parley user"

int
ctl_installed_sock(const char *dev, const char *installed, char *err,
    size_t errsz)
{
	struct stat st;

	if (stat(dev, &st) == 0)
		return 0;
	if (stat(installed, &st) == 0)
		return S_ISSOCK(st.st_mode) ? 1 : 0;
	if (errno != EACCES)
		return 0;
	snprintf(err, errsz, CTL_DENIED " (%s cannot be reached)", installed);
	return -1;
}

/* a's socket, connected by deadline: the fd, or -1 with err. */
static int
connect_addr(const struct staddr *a, long long deadline, char *err,
    size_t errsz)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int fd, inprogress, e = 0;

	if ((fd = staddr_connect(a, &inprogress, err, errsz)) < 0) {
		if (a->kind == STADDR_UNIX && (errno == ENOENT ||
		    errno == ECONNREFUSED))
			snprintf(err, errsz, "storaged is not running (%s %s)",
			    errno == ENOENT ? "no socket at" :
			    "nothing listens on", a->path);
		else if (a->kind == STADDR_UNIX && errno == EACCES)
			snprintf(err, errsz, CTL_DENIED " (%s)", a->path);
		return -1;
	}
	pfd.fd = fd;
	if (inprogress && poll(&pfd, 1, (int)(deadline - proto_mono_ms())) <= 0)
		e = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
		e = errno;
	if (e != 0) {
		snprintf(err, errsz, "%s: %s", a->text, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* The channel's TLS handshake and our HELLO, by deadline. 0 or -1. */
static int
ctl_hello(long long deadline, char *err, size_t errsz)
{
	int r;

	while ((r = pchan_flush(&ch)) == 0 || pchan_handshaking(&ch)) {
		if (r < 0)
			break;
		if (pchan_handshaking(&ch) && pchan_read(&ch) < 0 &&
		    errno != EAGAIN)
			break;
		if (ctl_wait(deadline, err, errsz) < 0)
			return -1;
	}
	if (r < 0 || pchan_handshaking(&ch)) {
		snprintf(err, errsz, "%s", pchan_why(&ch));
		return -1;
	}
	return 0;
}

/* storaged's ST_EV_ROLE into *r, by deadline (other messages skipped). */
static int
ctl_role(struct st_ev_role *r, long long deadline, char *err, size_t errsz)
{
	struct pmsg m;
	ssize_t n;
	int rc;

	for (;;) {
		while ((rc = pchan_next(&ch, &m)) == 1) {
			if (m.fd >= 0)
				close(m.fd);
			if (m.hdr.type != PROTO_ST_EV_ROLE ||
			    (m.hdr.flags & PROTO_F_REPLY))
				continue;
			if (st_req_decode(PROTO_ST_EV_ROLE, m.payload,
			    m.hdr.len, r) < 0) {
				snprintf(err, errsz, "malformed ST_EV_ROLE");
				return -1;
			}
			return 0;
		}
		if (rc < 0) {
			snprintf(err, errsz, "protocol error");
			return -1;
		}
		if (ctl_wait(deadline, err, errsz) < 0)
			return -1;
		if ((n = pchan_read(&ch)) == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EINTR)) {
			snprintf(err, errsz, "%s", n == 0 ? "closed" :
			    strerror(errno));
			return -1;
		}
	}
}

/*
 * Address i connected and said hello; with more than one address, its
 * role heard. 1 primary (or the only one), 0 not (*named: the primary
 * it names, or -1), -1 failed (err).
 */
static int
ctl_try(const struct staddr *l, size_t n, size_t i, SSL_CTX *ctx,
    int *named, char *err, size_t errsz)
{
	long long deadline = proto_mono_ms() + CTL_CONNECT_MS;
	struct st_ev_role r;
	char why[256];
	size_t j;
	int fd, rc;

	*named = -1;
	if ((fd = connect_addr(&l[i], deadline, err, errsz)) < 0)
		return -1;
	rc = l[i].kind == STADDR_TLS ? pchan_init_tls(&ch, fd, CTL_NAME, ctx,
	    l[i].host) : pchan_init(&ch, fd, CTL_NAME);
	if (rc < 0 || ctl_hello(deadline, why, sizeof(why)) < 0 ||
	    (n > 1 && ctl_role(&r, deadline, why, sizeof(why)) < 0)) {
		snprintf(err, errsz, "%s: %s", l[i].text, rc < 0 ?
		    strerror(errno) : why);
		ctl_close();
		return -1;
	}
	if (n == 1 || r.role == ST_REPL_PRIMARY)
		return 1;
	for (j = 0; j < n; j++)
		if (strcmp(l[j].text, r.primary) == 0)
			*named = (int)j;
	snprintf(err, errsz, "%s is not the primary (it says %s)", l[i].text,
	    r.primary[0] != '\0' ? r.primary : "it knows none");
	ctl_close();
	return 0;
}

int
ctl_connect_list(const struct staddr *l, size_t n, SSL_CTX *ctx, char *err,
    size_t errsz)
{
	int tried[STADDR_LIST_MAX] = { 0 }, named;
	size_t i = 0, k;

	for (;;) {
		tried[i] = 1;
		if (ctl_try(l, n, i, ctx, &named, err, errsz) == 1)
			return 0;
		if (named >= 0 && !tried[named]) {
			i = (size_t)named;
			continue;
		}
		for (k = 0; k < n && tried[k]; k++)
			;
		if (k == n)
			return -1;
		i = k;
	}
}

void
ctl_close(void)
{
	if (ch.fd >= 0)
		pchan_close(&ch);
	ch.fd = -1;
}

void
ctl_reply_free(struct ctl_reply *r)
{
	free(r->errmsg);
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

/* The message m as r. 0, or -1 when an error reply does not decode. */
static int
take_reply(const struct pmsg *m, struct ctl_reply *r)
{
	struct pdec d;

	memset(r, 0, sizeof(*r));
	if (m->hdr.flags & PROTO_F_ERROR) {
		pdec_init(&d, m->payload, m->hdr.len);
		r->code = pdec_u32(&d);
		r->errmsg = pdec_strdup(&d, 4096);
		if (pdec_done(&d) < 0 || r->code == 0) {
			free(r->errmsg);
			r->errmsg = NULL;
			return -1;
		}
		return 0;
	}
	r->len = m->hdr.len;
	if ((r->payload = malloc(r->len ? r->len : 1)) == NULL)
		return -1;
	memcpy(r->payload, m->payload, r->len);
	return 0;
}

/* The organisation parleyctl acts in (--org). */
static char ctl_org[ST_WHO_ORG_MAX + 1] = ST_ORG_DEFAULT;

void
ctl_set_org(const char *org)
{
	strlcpy(ctl_org, org, sizeof(ctl_org));
}

/*
 * Sends one request: who asks first where the message table says so
 * (parleyctl, by the user that runs it, in ctl_org).
 */
static int
ctl_send(uint16_t type, uint32_t id, const void *payload, size_t len, int fd)
{
	const struct proto_msg *m = proto_msg(type);
	struct st_who who;
	struct penc e;
	int rc;

	if (m == NULL || !m->who)
		return pchan_send(&ch, type, 0, id, payload, len, fd);
	memset(&who, 0, sizeof(who));
	who.kind = ST_WHO_CTL;
	snprintf(who.id, sizeof(who.id), "uid %u", (unsigned int)getuid());
	strlcpy(who.org, ctl_org, sizeof(who.org));
	who.role = ST_ROLE_OWNER;
	penc_init(&e);
	penc_who(&e, &who);
	if (len > 0)
		penc_raw(&e, payload, len);
	rc = e.err ? -1 : pchan_send(&ch, type, 0, id, e.buf, e.len, fd);
	penc_free(&e);
	return rc;
}

int
ctl_call(uint16_t type, const void *payload, size_t len, int fd,
    int timeout_s, struct ctl_reply *r, char *err, size_t errsz)
{
	struct pollfd pfd;
	struct pmsg m;
	long long deadline, left;
	uint32_t id = ++next_id;
	ssize_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	deadline = proto_mono_ms() + (long long)timeout_s * 1000;
	if (ctl_send(type, id, payload, len, fd) < 0 ||
	    pchan_flush_wait(&ch, timeout_s * 1000) < 0) {
		snprintf(err, errsz, "cannot send to storaged: %s",
		    strerror(errno));
		return -1;
	}
	for (;;) {
		while ((rc = pchan_next(&ch, &m)) == 1) {
			if (m.fd >= 0)
				close(m.fd);
			if (!(m.hdr.flags & PROTO_F_REPLY))
				continue;	/* an event */
			if (m.hdr.id != id || m.hdr.type != type) {
				snprintf(err, errsz, "storaged answered "
				    "something else (%s)",
				    proto_msg_name(m.hdr.type));
				return -1;
			}
			if (take_reply(&m, r) < 0) {
				snprintf(err, errsz, "%s",
				    "storaged's answer does not decode");
				return -1;
			}
			return 0;
		}
		if (rc < 0) {
			snprintf(err, errsz, "%s", "protocol error from storaged");
			return -1;
		}
		if ((left = deadline - proto_mono_ms()) <= 0) {
			snprintf(err, errsz, "storaged did not answer within "
			    "%d s", timeout_s);
			return -1;
		}
		pfd.fd = ch.fd;
		pfd.events = POLLIN;
		/* TLS may hold what the socket will not signal again. */
		if (!pchan_buffered(&ch) && poll(&pfd, 1, (int)left) < 0 &&
		    errno != EINTR) {
			snprintf(err, errsz, "poll: %s", strerror(errno));
			return -1;
		}
		n = pchan_read(&ch);
		if (n == 0) {
			snprintf(err, errsz, "%s",
			    "storaged closed the connection");
			return -1;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			snprintf(err, errsz, "read from storaged: %s",
			    strerror(errno));
			return -1;
		}
	}
}
