/*
 * A canned one-shot HTTP server for workerd's unit tests: the answers a
 * real server (the mock model) never gives. Asserts with cmocka: include
 * this after <cmocka.h>. Inline: a file may use some of them only.
 */
#ifndef PARLEY_TEST_CANNED_H
#define PARLEY_TEST_CANNED_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libcurl honours the proxy variables; the test servers are on loopback. */
static inline void
canned_no_proxy(void)
{
	static const char *proxies[] = { "http_proxy", "HTTP_PROXY",
	    "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	size_t i;

	for (i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
}

/*
 * Reads one request from fd: its head, then Content-Length bytes of body.
 * 0, or -1 when the peer closed or sent more than 64 KiB.
 */
static inline int
canned_request(int fd)
{
	char buf[65536];
	size_t got = 0;
	ssize_t n;
	char *h, *cl;

	for (;;) {
		if ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if ((h = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "content-length:")) != NULL &&
		    got >= (size_t)(h + 4 - buf) + strtoul(cl + 15, NULL, 10))
			return 0;
	}
}

/*
 * Reads a request's head from fd (and what came of its body with it):
 * its Content-Length, *body_got those bytes; -1 when the peer closed.
 */
static inline long
canned_head(int fd, size_t *body_got)
{
	static char buf[65536];
	size_t got = 0;
	ssize_t n;
	char *h, *cl;

	for (;;) {
		if (got == sizeof(buf) - 1 ||
		    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if ((h = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "content-length:")) != NULL) {
			*body_got = got - (size_t)(h + 4 - buf);
			return strtol(cl + 15, NULL, 10);
		}
	}
}

/* Reads and drops n bytes from fd; 0, or -1 when the peer closed. */
static inline int
canned_discard(int fd, size_t n)
{
	static char buf[65536];
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf))) <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

/* Writes len bytes of reply to fd; 0 or -1. */
static inline int
canned_write(int fd, const char *reply, size_t len)
{
	size_t off;
	ssize_t n;

	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, reply + off, len - off)) <= 0)
			return -1;
	return 0;
}

/* A listening socket on a loopback port of its own; *port is it. */
static inline int
canned_listen(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int lfd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return lfd;
}

/*
 * A one-shot server: accepts one connection, reads the request, writes
 * reply, then closes (hold 0) or keeps the connection open (hold 1) until
 * killed. Returns its port; *pid is the child.
 */
static inline int
canned(const char *reply, size_t len, int hold, pid_t *pid)
{
	int lfd, fd, port;

	lfd = canned_listen(&port);
	if ((*pid = fork()) == 0) {
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    canned_request(fd) < 0 || canned_write(fd, reply, len) < 0)
			_exit(1);
		if (hold)
			pause();
		close(fd);
		_exit(0);
	}
	close(lfd);
	return port;
}

#endif
