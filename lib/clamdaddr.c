/*
 * PARLEY_CLAMD's value read into a socket address (clamdaddr.h): a Unix
 * socket path, or an IP literal and a port; nothing resolved.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clamdaddr.h"

static int
fail(struct clamd_addr *a, const char **why, const char *reason)
{
	memset(a, 0, sizeof(*a));
	*why = reason;
	return -1;
}

static int
parse_unix(const char *path, struct clamd_addr *a, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	size_t len = strlen(path), i;

	if (len == 0)
		return fail(a, why, "no path after unix:");
	if (path[0] != '/')
		return fail(a, why, "the socket path is absolute "
		    "(unix:/run/clamav/clamd.ctl)");
	if (len >= sizeof(sun->sun_path))
		return fail(a, why, "the socket path is too long (107 bytes "
		    "at most)");
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)path[i]))
			return fail(a, why, "a control character in the path");
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	a->sslen = (socklen_t)sizeof(*sun);
	snprintf(a->text, sizeof(a->text), "unix:%s", path);
	return 0;
}

/* "1".."65535", digits only; 0 when not. */
static unsigned int
parse_port(const char *s)
{
	unsigned int port = 0;

	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		port = port * 10 + (unsigned int)(*s - '0');
	}
	return port <= 65535 ? port : 0;
}

/* "HOST:PORT" after tcp:, HOST an IPv4 literal or [IPv6]. */
static int
parse_tcp(const char *s, struct clamd_addr *a, const char **why)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h = s;
	size_t hlen;
	unsigned int port;
	int v6 = s[0] == '[';

	if (v6) {
		if ((colon = strchr(s, ']')) == NULL)
			return fail(a, why, "an IPv6 address in brackets "
			    "lacks its ]");
		h = s + 1;
		hlen = (size_t)(colon - h);
		if (*++colon != ':')
			return fail(a, why, "no :PORT after the address");
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return fail(a, why, "no :PORT (write tcp:HOST:PORT)");
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return fail(a, why, "an IPv6 address goes in brackets: "
			    "tcp:[::1]:3310");
	}
	if (hlen == 0)
		return fail(a, why, "no host before :PORT");
	if ((port = parse_port(colon + 1)) == 0)
		return fail(a, why, "the port is a number from 1 to 65535");
	if (hlen >= sizeof(host))
		return fail(a, why, "the host is not an IP address (names "
		    "are not resolved)");
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail(a, why, "not an IPv6 address in the "
			    "brackets");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->sslen = (socklen_t)sizeof(*sin6);
		snprintf(a->text, sizeof(a->text), "tcp:[%s]:%u", host, port);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return fail(a, why, "the host is not an IP address (names "
		    "are not resolved)");
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	a->sslen = (socklen_t)sizeof(*sin);
	snprintf(a->text, sizeof(a->text), "tcp:%s:%u", host, port);
	return 0;
}

int
clamd_addr_parse(const char *spec, struct clamd_addr *a, const char **why)
{
	memset(a, 0, sizeof(*a));
	*why = NULL;
	if (spec == NULL)
		return fail(a, why, "no address");
	if (strncasecmp(spec, "unix:", 5) == 0)
		return parse_unix(spec + 5, a, why);
	if (strncasecmp(spec, "tcp:", 4) == 0)
		return parse_tcp(spec + 4, a, why);
	return fail(a, why, "clamd's address is unix:/path or tcp:HOST:PORT");
}
