/*
 * storaged's addresses (staddr.h): parsed once, here, for every process
 * that names one (PARLEY_STORAGED, PARLEY_STORAGED_LISTEN, parleyctl's
 * --storaged), and the sockets they make.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "staddr.h"
#include "util.h"

/*
 * Quotes at most 80 bytes of the address in messages, a user's password
 * hidden (proto_url_shown): errors reach the logs.
 */
static int
bad(char *err, size_t errsz, const char *s, size_t len, const char *why)
{
	char raw[81], shown[128];

	snprintf(raw, sizeof(raw), "%.*s", (int)(len > 80 ? 80 : len), s);
	proto_url_shown(raw, shown, sizeof(shown));
	snprintf(err, errsz, "\"%s\": %s", shown, why);
	return -1;
}

/* Letters, digits and dashes, labels of 1..63, no dash at either end. */
static int
dns_name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > STADDR_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* All digits and dots: meant as IPv4, so it must be one. */
static int
looks_v4(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return 0;
	return 1;
}

/* "HOST:PORT" after tls://. */
static int
parse_hostport(const char *s, size_t len, struct staddr *a, const char *all,
    size_t alllen, char *err, size_t errsz)
{
	const char *colon, *h = s;
	size_t hlen, i;
	unsigned long port = 0;
	unsigned char bin[16];

	if (memchr(s, '@', len) != NULL)
		return bad(err, errsz, all, alllen, "no user or password "
		    "goes in the address (tls://HOST:PORT)");
	if (len > 0 && s[0] == '[') {
		if ((colon = memchr(s, ']', len)) == NULL)
			return bad(err, errsz, all, alllen, "an IPv6 address "
			    "in brackets lacks its ]");
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
		if (colon == s + len || *colon != ':')
			return bad(err, errsz, all, alllen, "no :PORT after "
			    "the address");
	} else {
		if ((colon = memrchr(s, ':', len)) == NULL)
			return bad(err, errsz, all, alllen, "no :PORT (write "
			    "tls://HOST:PORT)");
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return bad(err, errsz, all, alllen, "an IPv6 address "
			    "goes in brackets: tls://[::1]:4100");
	}
	if (hlen == 0 || hlen > STADDR_HOST_MAX)
		return bad(err, errsz, all, alllen, "no host before :PORT");
	memcpy(a->host, h, hlen);
	a->host[hlen] = '\0';
	for (i = (size_t)(colon + 1 - s); i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || (port = port * 10 +
		    (unsigned long)(s[i] - '0')) > 65535)
			return bad(err, errsz, all, alllen, "the port is a "
			    "number from 1 to 65535");
	}
	if (port == 0)
		return bad(err, errsz, all, alllen, "the port is a number "
		    "from 1 to 65535");
	a->port = (uint16_t)port;
	if (h != s) {
		if (inet_pton(AF_INET6, a->host, bin) != 1)
			return bad(err, errsz, all, alllen, "not an IPv6 "
			    "address in the brackets");
		a->host_ip = 6;
	} else if (inet_pton(AF_INET, a->host, bin) == 1)
		a->host_ip = 4;
	else if (looks_v4(a->host, hlen))
		return bad(err, errsz, all, alllen, "not an IPv4 address");
	else if (!dns_name_ok(a->host, hlen))
		return bad(err, errsz, all, alllen, "the host is not an IP "
		    "address or a DNS name");
	snprintf(a->text, sizeof(a->text), a->host_ip == 6 ? "tls://[%s]:%u" :
	    "tls://%s:%u", a->host, (unsigned int)a->port);
	return 0;
}

int
staddr_parse(const char *s, size_t len, struct staddr *a, char *err,
    size_t errsz)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (len >= 5 && strncasecmp(s, "unix:", 5) == 0) {
		if (len == 5)
			return bad(err, errsz, s, len, "no path after unix:");
		if (len - 5 >= STADDR_PATH_MAX)
			return bad(err, errsz, s, len, "the socket path is "
			    "too long");
		for (i = 5; i < len; i++)
			if (iscntrl((unsigned char)s[i]))
				return bad(err, errsz, s, len, "a control "
				    "character in the path");
		a->kind = STADDR_UNIX;
		memcpy(a->path, s + 5, len - 5);
		snprintf(a->text, sizeof(a->text), "unix:%s", a->path);
		return 0;
	}
	if (len >= 6 && strncasecmp(s, "tls://", 6) == 0) {
		a->kind = STADDR_TLS;
		return parse_hostport(s + 6, len - 6, a, s, len, err, errsz);
	}
	return bad(err, errsz, s, len, "an address is unix:/path or "
	    "tls://HOST:PORT");
}

int
staddr_list_parse(const char *s, struct staddr *out, size_t max, size_t *n,
    char *err, size_t errsz)
{
	const char *p = s, *e, *end;

	*n = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		e = end;
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		if (e == p) {
			snprintf(err, errsz, "an empty entry in the list");
			return -1;
		}
		if (*n == max) {
			snprintf(err, errsz, "more than %zu addresses", max);
			return -1;
		}
		if (staddr_parse(p, (size_t)(e - p), &out[*n], err,
		    errsz) < 0)
			return -1;
		(*n)++;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

int
staddr_any_tls(const struct staddr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].kind == STADDR_TLS)
			return 1;
	return 0;
}

/* a's IP socket address: a literal as is, a name through the resolver. */
static int
resolve(const struct staddr *a, struct sockaddr_storage *ss, socklen_t *sl,
    char *err, size_t errsz)
{
	struct addrinfo hints, *res;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (a->host_ip ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%u", (unsigned int)a->port);
	if ((rc = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		snprintf(err, errsz, "%s: %s", a->text, gai_strerror(rc));
		errno = EHOSTUNREACH;
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A non-blocking, close-on-exec stream socket of family, or -1 with err. */
static int
stream_socket(const struct staddr *a, int family, char *err, size_t errsz)
{
	int fd;

	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		snprintf(err, errsz, "%s: socket: %s", a->text,
		    strerror(errno));
	return fd;
}

int
staddr_named(const struct staddr *a)
{
	return a->kind == STADDR_TLS && !a->host_ip;
}

int
staddr_connect(const struct staddr *a, int *in_progress, char *err,
    size_t errsz)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t sl = sizeof(*sun);

	*in_progress = 0;
	memset(&ss, 0, sizeof(ss));
	if (a->kind == STADDR_UNIX) {
		sun->sun_family = AF_UNIX;
		strlcpy(sun->sun_path, a->path, sizeof(sun->sun_path));
	} else if (resolve(a, &ss, &sl, err, errsz) < 0)
		return -1;
	return staddr_connect_at(a, &ss, sl, in_progress, err, errsz);
}

int
staddr_connect_at(const struct staddr *a, const struct sockaddr_storage *ss,
    uint32_t sl, int *in_progress, char *err, size_t errsz)
{
	int fd, one = 1, e;

	*in_progress = 0;
	if ((fd = stream_socket(a, ss->ss_family, err, errsz)) < 0)
		return -1;
	/* Requests are small and batched already: no Nagle delay. */
	if (a->kind == STADDR_TLS)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, (socklen_t)sl) == 0)
		return fd;
	if (errno == EINPROGRESS || errno == EAGAIN) {
		*in_progress = 1;
		return fd;
	}
	e = errno;
	snprintf(err, errsz, "%s: %s", a->text, strerror(e));
	close(fd);
	errno = e;
	return -1;
}

int
staddr_dead_after(const struct staddr *a, int fd, unsigned ms)
{
	return a->kind == STADDR_TLS ? staddr_tcp_dead_after(fd, ms) : 0;
}

int
staddr_tcp_dead_after(int fd, unsigned ms)
{
	unsigned user = ms;
	int on = 1, idle = (int)(ms / 2000), intvl = 1, cnt = 3;

	if (idle < 1)
		idle = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user,
	    sizeof(user)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		return -1;
	return 0;
}

int
staddr_listen(const struct staddr *a, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (a->kind != STADDR_TLS) {
		snprintf(err, errsz, "%s: a network listener is tls://ADDR:PORT",
		    a->text);
		return -1;
	}
	if (resolve(a, &ss, &sl, err, errsz) < 0)
		return -1;
	if ((fd = stream_socket(a, ss.ss_family, err, errsz)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd,
	    SOMAXCONN) < 0) {
		snprintf(err, errsz, "%s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
