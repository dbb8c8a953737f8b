/*
 * The listening socket: our own, or the one systemd passed as fd 3
 * (socket activation). Accepted connections go straight to a worker;
 * masterd never reads a byte of them.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "masterd.h"
#include "settings.h"

void
sockaddr_fmt(const void *sa, socklen_t salen, char *buf, size_t bufsz)
{
	const struct sockaddr *s = sa;
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (s->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun = sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);

		if (salen <= off)
			snprintf(buf, bufsz, "unix:(unnamed)");
		else if (sun->sun_path[0] == '\0')
			snprintf(buf, bufsz, "unix:@%.*s", (int)(salen - off - 1),
			    sun->sun_path + 1);
		else
			snprintf(buf, bufsz, "unix:%.*s", (int)(salen - off),
			    sun->sun_path);
		return;
	}
	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, bufsz, "(unknown address)");
		return;
	}
	snprintf(buf, bufsz, s->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, serv);
}

static void
listener_name(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0) {
		strlcpy(l->name, "(unknown address)", sizeof(l->name));
		return;
	}
	sockaddr_fmt(&ss, len, l->name, sizeof(l->name));
}

/*
 * TCP_NODELAY on the listener: each accepted socket inherits it (Linux
 * copies it at accept), so no worker sets it a connection. Responses are
 * written whole; Nagle would hold back their tail. A listener that is not
 * TCP (a Unix socket from systemd) has none to set.
 */
static void
listener_nodelay(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) < 0)
		log_warn("%s: setsockopt TCP_NODELAY", l->name);
}

static void
listener_adopt(struct listener *l, const struct config *cf)
{
	int fd = SD_LISTEN_FDS_START, on = 0, i, flags;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0)
		fatal("LISTEN_FDS: fd %d", fd);
	if (!on)
		fatalx("LISTEN_FDS: fd %d is not a listening socket "
		    "(use a stream socket without Accept=yes)", fd);
	/* systemd passes fds inheritable; workers must not get this one. */
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fatal("LISTEN_FDS: fd %d", fd);
	for (i = 1; i < cf->listen_fds; i++) {
		log_warnx("LISTEN_FDS: ignoring extra socket fd %d",
		    SD_LISTEN_FDS_START + i);
		close(SD_LISTEN_FDS_START + i);
	}
	l->fd = fd;
	listener_name(l);
	strlcat(l->name, " (from systemd)", sizeof(l->name));
	listener_nodelay(l);
}

static void
listener_bind(struct listener *l, const struct config *cf)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int fd = -1, on = 1, off = 0, rv, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", cf->port);
	if ((rv = getaddrinfo(cf->host, port, &hints, &res)) != 0)
		fatalx("PARLEY_HOST \"%s\": %s", cf->host, gai_strerror(rv));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) < 0)
			log_warn("setsockopt SO_REUSEADDR");
		/* "::" should take IPv4 too, whatever the sysctl says. */
		if (ai->ai_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off)) < 0)
			log_warn("setsockopt IPV6_V6ONLY");
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		fatal("cannot listen on %s port %d", cf->host, cf->port);
	}
	l->fd = fd;
	listener_name(l);
	listener_nodelay(l);
}

void
listener_open(struct listener *l, const struct config *cf)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (cf->listen_fds > 0)
		listener_adopt(l, cf);
	else
		listener_bind(l, cf);
}

/*
 * Accepts until the backlog is empty, no worker can take more, or the
 * batch is done (level-triggered epoll brings us back for the rest).
 */
void
listener_accept(struct listener *l, long long now)
{
	struct sockaddr_storage ss;
	struct ipaddr peer;
	struct worker *w;
	socklen_t len;
	int fd, i;

	for (i = 0; i < ACCEPT_BATCH && l->fd >= 0; i++) {
		/* Choose first: without a worker the kernel keeps the queue. */
		if ((w = workers_pick()) == NULL)
			return;
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (proto_accept_err(errno)) {
			case PROTO_ACCEPT_EMPTY:
				return;
			case PROTO_ACCEPT_NEXT:
			case PROTO_ACCEPT_NET:
				continue;
			default:
				/* EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying now would spin. */
				if (now - l->warned >= 5000 || l->warned == 0) {
					log_warn("accept (pausing %d ms)",
					    ACCEPT_PAUSE_MS);
					l->warned = now;
				}
				l->paused_until = now + ACCEPT_PAUSE_MS;
				return;
			}
		}
		ipaddr_from_sockaddr((struct sockaddr *)&ss, len, &peer);
		worker_hand_conn(w, &fd, &peer);
	}
}

static void
listener_io(int fd, uint32_t events, void *arg)
{
	listener_accept(arg, mono_ms());
}

/* Poll the listener only while a worker can take a connection. */
void
listener_sync(struct listener *l, long long now)
{
	int want;

	if (l->fd < 0)
		return;
	want = now >= l->paused_until && workers_pick() != NULL;
	if (want == l->armed)
		return;
	if (!want)
		loop_io_del(&l->io);
	else if (loop_io_add(&l->io, l->fd, EPOLLIN, listener_io, l) < 0)
		fatal("epoll_ctl listener");
	l->armed = want;
}

void
listener_close(struct listener *l)
{
	if (l->fd < 0)
		return;
	if (l->armed)
		loop_io_del(&l->io);
	l->armed = 0;
	close(l->fd);
	l->fd = -1;
}
