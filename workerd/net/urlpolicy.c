/*
 * Which addresses an outgoing URL a tenant sets may reach (webhooks since
 * issue 23, agents' model servers since issue 38): no server-side
 * request forgery. A URL is http or https, read by libcurl's own URL
 * parser; its host is refused when any of its addresses is loopback,
 * private, link-local, unique-local or otherwise not the public Internet
 * (unless the caller's allow_private), when it is saved, and again at
 * each connection: the transfer's open-socket guard judges the address
 * curl connects to, so a second DNS answer (rebinding) cannot pass.
 * Redirects are not followed. Who may reach private addresses:
 * urlpolicy.h.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storemsg.h"
#include "urlpolicy.h"

/* a/len: the IPv4 network, as a host-order number, and its prefix length. */
#define V4NET(a, b, c, d, len) \
	{ (uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d), len }

static const struct {
	uint32_t net;
	unsigned len;
} v4_refused[] = {
	V4NET(0, 0, 0, 0, 8),		/* "this network" */
	V4NET(10, 0, 0, 0, 8),		/* private */
	V4NET(100, 64, 0, 0, 10),	/* shared address space (CGNAT) */
	V4NET(127, 0, 0, 0, 8),		/* loopback */
	V4NET(169, 254, 0, 0, 16),	/* link-local (cloud metadata) */
	V4NET(172, 16, 0, 0, 12),	/* private */
	V4NET(192, 0, 0, 0, 24),	/* IETF protocol assignments */
	V4NET(192, 168, 0, 0, 16),	/* private */
	V4NET(198, 18, 0, 0, 15),	/* benchmarking */
	V4NET(224, 0, 0, 0, 4),		/* multicast */
	V4NET(240, 0, 0, 0, 4),		/* reserved, broadcast 255.255.255.255 */
};

/* 1 when the IPv4 address a (host order) must be refused. */
static int
v4_private(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(v4_refused) / sizeof(v4_refused[0]); i++)
		if ((a ^ v4_refused[i].net) >> (32 - v4_refused[i].len) == 0)
			return 1;
	return 0;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* 1 when the first n bytes of a are p's. */
static int
v6_prefix(const uint8_t *a, const uint8_t *p, size_t n)
{
	return memcmp(a, p, n) == 0;
}

/* 1 when the IPv6 address a must be refused. */
static int
v6_private(const uint8_t a[16])
{
	static const uint8_t zero[12], mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	    translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	    nat64[12] = { 0, 0x64, 0xff, 0x9b },
	    nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };

	if (v6_prefix(a, zero, 12))		/* ::, ::1, IPv4-compatible */
		return 1;
	/* IPv4-mapped, IPv4-translated (::ffff:0:0/96, SIIT), NAT64 */
	if (v6_prefix(a, mapped, 12) || v6_prefix(a, translated, 12) ||
	    v6_prefix(a, nat64, 12))
		return v4_private(get_be32(a + 12));
	if (v6_prefix(a, nat64_local, 6))	/* local-use NAT64 */
		return 1;
	if (a[0] == 0x20 && a[1] == 0x02)	/* 6to4: the IPv4 after 2002: */
		return v4_private(get_be32(a + 2));
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)	/* link-local fe80::/10 */
		return 1;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)	/* site-local fec0::/10 */
		return 1;
	if ((a[0] & 0xfe) == 0xfc)		/* unique local fc00::/7 */
		return 1;
	return a[0] == 0xff;			/* multicast */
}

int
urlpol_addr_private(const struct sockaddr *sa)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return 1;
	switch (sa->sa_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)sa;
		return v4_private(ntohl(s4->sin_addr.s_addr));
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)sa;
		return v6_private(s6->sin6_addr.s6_addr);
	default:
		return 1;
	}
}

curl_socket_t
urlpol_socket(void *guard, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct urlpol_guard *g = guard;

	if (!g->allow_private && urlpol_addr_private(&a->addr)) {
		g->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int
urlpol_curl_guard_socket(CURL *e, struct urlpol_guard *g)
{
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, urlpol_socket);
	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, g);
	rc |= curl_easy_setopt(e, CURLOPT_PROXY, "");
	return (int)rc;
}

int
urlpol_curl_guard(CURL *e, struct urlpol_guard *g)
{
	CURLcode rc = CURLE_OK;

	rc |= urlpol_curl_guard_socket(e, g);
	rc |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	return (int)rc;
}

int
urlpol_curl_io(CURL *e, struct urlpol_guard *g, curl_write_callback write,
    void *arg)
{
	int bad = 0;

	bad |= urlpol_curl_guard(e, g) != 0;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, arg) != CURLE_OK;
	return bad ? -1 : 0;
}

/* ---- URLs ---- */

/* One part of u into buf (bufsz bytes), flags as curl_url_get's. 0, or -1. */
static int
url_part(CURLU *u, CURLUPart what, unsigned flags, char *buf, size_t bufsz)
{
	char *s = NULL;
	int r = -1;

	if (curl_url_get(u, what, &s, flags) == CURLUE_OK && s != NULL &&
	    strlcpy(buf, s, bufsz) < bufsz)
		r = 0;
	curl_free(s);
	return r;
}

/* 1 when u has this part (a user name, a password, a zone id...). */
static int
url_has(CURLU *u, CURLUPart what)
{
	char *s = NULL;
	int r;

	r = curl_url_get(u, what, &s, 0) == CURLUE_OK && s != NULL;
	curl_free(s);
	return r;
}

/*
 * The host as curl gives it into t->host: an ASCII name of letters,
 * digits, '.', '-', '_'; an IPv4 address (curl writes any form of one
 * as a.b.c.d); or "[IPv6]", stored without its brackets. Only ASCII: a
 * name curl would turn to punycode (IDN) would not match the pin.
 */
static const char *
url_host(CURLU *u, struct url_target *t)
{
	char host[sizeof(t->host) + 2];
	struct in6_addr a6;
	size_t n, i;

	if (url_part(u, CURLUPART_HOST, 0, host, sizeof(host)) == -1 ||
	    (n = strlen(host)) == 0)
		return "url: host missing or too long";
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']')
			return "url: bad IPv6 address";
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) != 1)
			return "url: bad IPv6 address";
		if (url_has(u, CURLUPART_ZONEID))
			return "url: IPv6 zone ids are not allowed";
		strlcpy(t->host, host + 1, sizeof(t->host));
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-_", host[i]) == NULL)
			return "url: host must be an ASCII name or an IP address";
	if (strlcpy(t->host, host, sizeof(t->host)) >= sizeof(t->host))
		return "url: host missing or too long";
	return NULL;
}

/* The parts of a URL curl has read into t; NULL, or why not. */
static const char *
url_fill(CURLU *u, struct url_target *t)
{
	char port[8], query[URLPOL_URL_MAX + 1];
	const char *why;
	long p;

	if (url_part(u, CURLUPART_SCHEME, 0, t->scheme,
	    sizeof(t->scheme)) == -1 || (strcmp(t->scheme, "http") != 0 &&
	    strcmp(t->scheme, "https") != 0))
		return "url: must be http or https";
	if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD) ||
	    url_has(u, CURLUPART_OPTIONS))
		return "url: must not hold a user name or password";
	if (url_has(u, CURLUPART_FRAGMENT))
		return "url: must not have a fragment";
	if ((why = url_host(u, t)) != NULL)
		return why;
	if (url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port,
	    sizeof(port)) == -1 || (p = strtol(port, NULL, 10)) < 1 ||
	    p > 65535)
		return "url: port must be 1-65535";
	t->port = (int)p;
	if (url_part(u, CURLUPART_PATH, 0, t->path, sizeof(t->path)) == -1)
		return "url: path too long";
	if (url_has(u, CURLUPART_QUERY)) {
		if (url_part(u, CURLUPART_QUERY, 0, query,
		    sizeof(query)) == -1 ||
		    strlcat(t->path, "?", sizeof(t->path)) >= sizeof(t->path) ||
		    strlcat(t->path, query, sizeof(t->path)) >= sizeof(t->path))
			return "url: path too long";
	}
	return NULL;
}

int
urlpol_parse(const char *url, struct url_target *t, const char **why)
{
	CURLU *u;
	CURLUcode rc;

	memset(t, 0, sizeof(*t));
	*why = NULL;
	if (url == NULL || url[0] == '\0')
		*why = "url: missing";
	else if (strnlen(url, URLPOL_URL_MAX + 1) > URLPOL_URL_MAX)
		*why = "url: longer than 2048 bytes";
	else if ((u = curl_url()) == NULL)
		*why = "url: out of memory";
	else {
		/* No CURLU_NON_SUPPORT_SCHEME, no guessing: a scheme curl knows. */
		rc = curl_url_set(u, CURLUPART_URL, url, 0);
		if (rc == CURLUE_UNSUPPORTED_SCHEME || rc == CURLUE_BAD_SCHEME)
			*why = "url: must be http or https";
		else if (rc == CURLUE_BAD_PORT_NUMBER)
			*why = "url: port must be 1-65535";
		else if (rc != CURLUE_OK)
			*why = "url: not a valid URL";
		else
			*why = url_fill(u, t);
		curl_url_cleanup(u);
	}
	if (*why != NULL) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	return 0;
}

/* ---- resolving and pinning ---- */

/* 1 when host is an IPv4 or IPv6 address (not a name). */
static int
host_literal(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1;
}

const char urlpol_private_why[] =
    "url: resolves to a private, loopback or link-local address";
#define PRIVATE_WHY	urlpol_private_why

/* PRIVATE_WHY naming the setting that allows it (urlpol_private_named). */
#define PRIVATE_NAMED(var)						\
	"url: resolves to a private, loopback or link-local address ("	\
	var "=on allows it, in the default organization)"

const char *
urlpol_private_named(const char *why, enum urlpol_allow which)
{
	static const char *const named[] = {
		[URLPOL_ALLOW_WEBHOOK] =
		    PRIVATE_NAMED("PARLEY_WEBHOOK_ALLOW_PRIVATE"),
		[URLPOL_ALLOW_KNOWLEDGE] =
		    PRIVATE_NAMED("PARLEY_KNOWLEDGE_ALLOW_PRIVATE"),
		[URLPOL_ALLOW_ACTIONS] =
		    PRIVATE_NAMED("PARLEY_ACTIONS_ALLOW_PRIVATE"),
	};

	if (why != NULL && strcmp(why, urlpol_private_why) == 0 &&
	    (unsigned)which < sizeof(named) / sizeof(named[0]))
		return named[which];
	return why;
}

/* "localhost" or a name under it, a trailing dot or not, any case. */
static int
host_localhost(const char *host)
{
	size_t n = strlen(host), l = strlen("localhost");

	if (n > 0 && host[n - 1] == '.')
		n--;
	return (n == l && strncasecmp(host, "localhost", l) == 0) ||
	    (n > l && host[n - l - 1] == '.' &&
	    strncasecmp(host + n - l, "localhost", l) == 0);
}

int
urlpol_check_literal(struct url_target *t, const char **why)
{
	if (host_localhost(t->host)) {
		*why = PRIVATE_WHY;
		return -1;
	}
	/* A literal resolves without a lookup: its one address is judged. */
	if (host_literal(t->host))
		return urlpol_resolve(t, 0, why);
	*why = NULL;
	return 1;
}

int
urlpol_resolve(struct url_target *t, int allow_private, const char **why)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	t->addr[0] = '\0';
	t->family = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV |
	    (host_literal(t->host) ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%d", t->port);
	if (t->host[0] == '\0' ||
	    getaddrinfo(t->host, port, &hints, &res) != 0) {
		*why = "url: host does not resolve";
		return -1;
	}
	rc = urlpol_addrs_check(res, allow_private, t, why);
	freeaddrinfo(res);
	return rc;
}

int
urlpol_addrs_check(const struct addrinfo *res, int allow_private,
    struct url_target *t, const char **why)
{
	const struct addrinfo *ai, *first = NULL;
	int refused = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (first == NULL)
			first = ai;
		if (urlpol_addr_private(ai->ai_addr))
			refused = 1;
	}
	if (first == NULL || (refused && !allow_private)) {
		*why = first == NULL ? "url: host does not resolve" :
		    PRIVATE_WHY;
		return -1;
	}
	if (t != NULL) {
		t->family = first->ai_family;
		inet_ntop(first->ai_family, first->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)first->ai_addr)->
		    sin_addr : (const void *)&((struct sockaddr_in6 *)
		    first->ai_addr)->sin6_addr, t->addr, sizeof(t->addr));
	}
	*why = NULL;
	return 0;
}

/* ---- model servers ---- */

int
urlpol_model_parse(const char *url, struct url_target *t, const char **why)
{
	static char msg[128];
	const char *auth, *end, *part;

	if (urlpol_parse(url, t, &part) < 0) {
		/* "url: x" of urlpol_parse as "base_url: x". */
		if (strncmp(part, "url: ", 5) == 0)
			part += 5;
		goto refused;
	}
	part = NULL;
	if (strpbrk(url, "?#") != NULL)
		part = "must not have a query or a fragment";
	else if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		part = "must be an http:// or https:// URL";
	else {
		/* The authority: after "//" to the first '/'; '@' is user info. */
		auth = strstr(url, "//") + 2;
		end = auth + strcspn(auth, "/\\");
		if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
			part = "must not hold a user name or password";
	}
	if (part == NULL) {
		*why = NULL;
		return 0;
	}
refused:
	snprintf(msg, sizeof(msg), "base_url: %s", part);
	*why = msg;
	memset(t, 0, sizeof(*t));
	return -1;
}

/* 1 when item (n bytes, spaces around it ignored) names host, any case. */
static int
host_item(const char *item, size_t n, const char *host)
{
	while (n > 0 && (item[0] == ' ' || item[0] == '\t')) {
		item++;
		n--;
	}
	while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
		n--;
	return n > 0 && strlen(host) == n && strncasecmp(item, host, n) == 0;
}

int
urlpol_private_ok(const char *org, const char *host, int allow_private,
    const char *allow_hosts)
{
	const char *p, *comma;

	if (allow_private && org != NULL && strcmp(org, ST_WHO_ORG_DEFAULT) == 0)
		return 1;
	if (allow_hosts == NULL || host == NULL || host[0] == '\0')
		return 0;
	for (p = allow_hosts; ; p = comma + 1) {
		comma = strchr(p, ',');
		if (host_item(p, comma != NULL ? (size_t)(comma - p) :
		    strlen(p), host))
			return 1;
		if (comma == NULL)
			return 0;
	}
}
