/*
 * Who the client is, for rate limits and logs.
 *
 * The address is the socket's peer. X-Forwarded-For counts only when that
 * peer is a proxy we trust: one in TRUST_PROXY, or any peer on a Unix
 * socket (systemd's ListenStream=/path): only a process on this host can
 * reach one, and it is the local proxy in front of us (clientip_trusted).
 * The list is walked from the right (the entry our proxy added), trusted
 * proxies are skipped, and the first address that is not trusted is the
 * client. So a client cannot
 * pick its own rate-limit key by sending the header itself, and a chain
 * of trusted proxies is followed back to the real client. An entry that
 * is not an IP address ends the walk with the peer's address.
 *
 * A client, for every per-client limit, is an IPv4 address or an IPv6
 * /64 (clientip_key): one IPv6 customer is usually handed a whole /64,
 * so keying on the full address would give them 2^64 budgets.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include "log.h"
#include "workerd.h"

#define XFF_MAX_ENTRIES	64	/* walked at most; a longer chain is cut */

void
clientip_peer(int fd, struct ipaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		memset(out, 0, sizeof(*out));
		return;
	}
	ipaddr_from_sockaddr((struct sockaddr *)&ss, len, out);
}

/*
 * Splits xff at commas into at most max (start, len) entries, trimmed.
 * Returns the count, or -1 when there are more.
 */
static int
xff_split(const char *xff, const char *start[], size_t len[], int max)
{
	const char *p = xff, *e;
	int n = 0;

	while (*p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if (n == max)
			return -1;
		start[n] = p;
		len[n] = (size_t)(e - p);
		while (len[n] > 0 && (*start[n] == ' ' || *start[n] == '\t')) {
			start[n]++;
			len[n]--;
		}
		while (len[n] > 0 && (start[n][len[n] - 1] == ' ' ||
		    start[n][len[n] - 1] == '\t'))
			len[n]--;
		n++;
		p = *e == ',' ? e + 1 : e;
	}
	return n;
}

int
clientip_trusted(const struct ipaddr *peer, const struct ipnet *trust,
    size_t ntrust)
{
	return peer->family == 0 || ipnet_any(trust, ntrust, peer);
}

int
clientip_xff(const struct ipaddr *peer, const char *xff,
    const struct ipnet *trust, size_t ntrust, struct ipaddr *out)
{
	const char *start[XFF_MAX_ENTRIES];
	size_t len[XFF_MAX_ENTRIES];
	struct ipaddr a;
	int n, i;

	*out = *peer;
	if (xff == NULL || !clientip_trusted(peer, trust, ntrust))
		return 0;
	if ((n = xff_split(xff, start, len, XFF_MAX_ENTRIES)) < 0) {
		/* Only the right end matters; walk the last entries. */
		const char *p = xff + strlen(xff);
		int commas = 0;

		while (p > xff && commas < XFF_MAX_ENTRIES) {
			p--;
			if (*p == ',')
				commas++;
		}
		n = xff_split(p + 1, start, len, XFF_MAX_ENTRIES);
		if (n < 0)
			return 0;
	}
	for (i = n - 1; i >= 0; i--) {
		if (ipaddr_parse(start[i], len[i], &a) < 0) {
			*out = *peer;	/* malformed: the peer it is */
			return 0;
		}
		*out = a;
		if (!ipnet_any(trust, ntrust, &a))
			return 1;
	}
	/* Every hop is trusted: the leftmost is the client. */
	return n > 0;
}

void
clientip_of(const struct conn *c, const struct http_request *req,
    struct ipaddr *out)
{
	struct buf b;
	int i, n = 0;

	*out = c->peer;
	if (!clientip_trusted(&c->peer, wsettings.trust, wsettings.ntrust))
		return;
	/* Several X-Forwarded-For lines are one list, in order. */
	buf_init(&b);
	for (i = 0; i < req->nheaders; i++) {
		if (strcmp(req->headers[i].name, "x-forwarded-for") != 0)
			continue;
		if (n++ > 0)
			buf_adds(&b, ",");
		buf_adds(&b, req->headers[i].value);
	}
	buf_add(&b, "", 1);
	if (n > 0 && !b.err)
		clientip_xff(&c->peer, b.data + b.off, wsettings.trust,
		    wsettings.ntrust, out);
	buf_free(&b);
}

void
clientip_mask(const struct ipaddr *ip, struct ipaddr *out)
{
	*out = *ip;
	if (out->family == 6)
		memset(out->a + 8, 0, 8);
}

void
clientip_key(const struct conn *c, const struct http_request *req,
    const char *prefix, char *out, size_t outsz)
{
	struct ipaddr ip, masked;
	char addr[64];

	clientip_of(c, req, &ip);
	clientip_mask(&ip, &masked);
	ipaddr_format(&masked, addr, sizeof(addr));
	/* As snprintf("%s%s") would, at a tenth of its cost (every turn). */
	strlcpy(out, prefix, outsz);
	strlcat(out, addr, outsz);
}
