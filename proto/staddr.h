/*
 * Where storaged is (proto/staddr.c): the one parser of an address,
 * `unix:/path`, `tls://HOST:PORT` or `tls://[v6]:PORT`, and of a list of
 * them (PARLEY_STORAGED, at most STADDR_LIST_MAX), used by the settings
 * check, the workers, parleyctl and storaged's listener; and the
 * sockets made from one (a non-blocking connect, a TCP listener).
 */
#ifndef PARLEY_STADDR_H
#define PARLEY_STADDR_H

#include <stddef.h>
#include <stdint.h>

#define STADDR_LIST_MAX		8
#define STADDR_PATH_MAX		108	/* sun_path */
#define STADDR_HOST_MAX		253	/* a DNS name */
/* "tls://[" host "]:65535" or "unix:" path, with its NUL */
#define STADDR_TEXT_MAX		(STADDR_HOST_MAX + 16)
#define STADDR_ERR_MAX		256

enum staddr_kind { STADDR_UNIX = 1, STADDR_TLS = 2 };

struct staddr {
	enum staddr_kind kind;
	char path[STADDR_PATH_MAX];	/* unix: */
	char host[STADDR_HOST_MAX + 1];	/* tls: IP without brackets, or a name */
	uint16_t port;			/* tls: 1..65535 */
	int host_ip;			/* tls: 4 or 6 when host is an IP, else 0 */
	char text[STADDR_TEXT_MAX];	/* as the logs say it (scheme lower-cased) */
};

/*
 * One address from s[0..len): "unix:PATH" (no control characters, shorter
 * than sun_path), "tls://HOST:PORT" with HOST an IPv4 address, "[IPv6]"
 * or a DNS name. 0, or -1 with one line in err quoting the address.
 */
int staddr_parse(const char *s, size_t len, struct staddr *, char *err,
    size_t errsz);
/*
 * A comma-separated list (spaces around entries ignored; an empty entry
 * or more than max entries is an error): *n set, 0 or -1 with err. An
 * empty s is a list of none.
 */
int staddr_list_parse(const char *s, struct staddr *out, size_t max,
    size_t *n, char *err, size_t errsz);
/* 1 when any of the n is tls://. */
int staddr_any_tls(const struct staddr *, size_t n);

/*
 * A non-blocking, close-on-exec socket connecting to a: the fd, with
 * *in_progress 1 while the connect goes on (wait for writable, then
 * SO_ERROR); -1 with errno and a line in err. A DNS name is resolved
 * here, blocking: a process with a loop resolves it off the loop
 * (staddr_named, lib/dnslookup.h) and calls staddr_connect_at.
 */
int staddr_connect(const struct staddr *, int *in_progress, char *err,
    size_t errsz);
/* 1 when a is tls:// with a DNS name, which a connect must resolve. */
int staddr_named(const struct staddr *a);
/* staddr_connect to a's host at ss (sl bytes), already resolved. */
struct sockaddr_storage;
int staddr_connect_at(const struct staddr *a,
    const struct sockaddr_storage *ss, uint32_t sl, int *in_progress,
    char *err, size_t errsz);
/*
 * A tls:// connection fd whose peer vanished (its host cut off or gone,
 * so no reset ever comes) errors out within about ms: data unacknowledged
 * for ms (TCP_USER_TIMEOUT), or an idle link whose keepalive probes go
 * unanswered. Nothing for a unix: fd. 0, or -1 with errno.
 */
int staddr_dead_after(const struct staddr *, int fd, unsigned ms);
/* The same for any TCP fd (storaged's accepted tls:// clients). */
int staddr_tcp_dead_after(int fd, unsigned ms);
/* A listening TCP socket (non-blocking, SO_REUSEADDR) on a tls:// address. */
int staddr_listen(const struct staddr *, char *err, size_t errsz);

#endif
