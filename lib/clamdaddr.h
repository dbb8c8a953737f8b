/*
 * Where the ClamAV daemon is (PARLEY_CLAMD): `unix:/path` or
 * `tcp:HOST:PORT`, HOST an IP literal (IPv4, or IPv6 in brackets). The
 * one parser of that value, in lib/ so masterd's settings check and the
 * workers' scanner (workerd/attach/clamd.c) read it the same way. No
 * name is resolved: a lookup would block the worker's loop. The code is
 * in clamdaddr.c.
 */
#ifndef PARLEY_CLAMDADDR_H
#define PARLEY_CLAMDADDR_H

#include <sys/socket.h>

#define CLAMD_PATH_MAX	108	/* sun_path, its NUL included */
/* "unix:" and a path, or "tcp:[v6]:65535", with the NUL */
#define CLAMD_ADDR_TEXT_MAX	(5 + CLAMD_PATH_MAX)

struct clamd_addr {
	struct sockaddr_storage ss;	/* AF_UNIX, AF_INET or AF_INET6 */
	socklen_t sslen;
	char text[CLAMD_ADDR_TEXT_MAX];	/* as the logs say it */
};

/*
 * spec into *out: "unix:" and an absolute path shorter than sun_path,
 * without control characters; or "tcp:" then an IPv4 address or an
 * IPv6 one in brackets, ":" and a port from 1 to 65535 (the schemes in
 * any case). 0, or -1 with *why a static reason (the value not quoted)
 * and *out zeroed.
 */
int clamd_addr_parse(const char *spec, struct clamd_addr *out,
    const char **why);

#endif
