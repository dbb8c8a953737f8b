/*
 * The address policy of every outgoing URL a tenant can set (webhooks,
 * agents' base_url): how such a URL is read (libcurl's own parser, the
 * one the transfer uses), which addresses it may reach (no loopback,
 * private, link-local or otherwise non-public one, unless allowed), and
 * how a transfer is held to the address checked (pinned, no redirect, no
 * proxy). One module so that a new kind of URL gets the same rules.
 *
 * Who may reach private addresses:
 *	webhooks	PARLEY_WEBHOOK_ALLOW_PRIVATE=on
 *	model servers	the deployment's own (OPENAI_BASE_URL) always; an
 *			agent of the default organisation when
 *			PARLEY_MODEL_ALLOW_PRIVATE=on; any agent whose host is
 *			in PARLEY_MODEL_ALLOW_HOSTS; no other
 */
#ifndef PARLEY_URLPOLICY_H
#define PARLEY_URLPOLICY_H

#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <curl/curl.h>

#define URLPOL_URL_MAX		2048		/* bytes of an outgoing URL */

/*
 * 1 when a tenant's URL must not connect to sa (unless allowed): IPv4 this-network 0/8, 10/8,
 * CGNAT 100.64/10, loopback 127/8, link-local 169.254/16, 172.16/12,
 * 192.0.0/24, 192.168/16, benchmarking 198.18/15, multicast 224/4,
 * reserved 240/4 and broadcast; IPv6 ::/96 (unspecified, loopback and
 * IPv4-compatible), link-local fe80::/10, site-local fec0::/10, unique
 * local fc00::/7, multicast ff00::/8, and the IPv4 inside ::ffff:0:0/96,
 * NAT64 64:ff9b::/96 (64:ff9b:1::/48 is local: refused) and 6to4
 * 2002::/16 judged as IPv4. 1 for any other family too; 0 otherwise.
 */
int urlpol_addr_private(const struct sockaddr *sa);
/* The refusal of a private, loopback or link-local address (its *why). */
extern const char urlpol_private_why[];

/* The settings that let the default organisation reach such addresses. */
enum urlpol_allow {
	URLPOL_ALLOW_WEBHOOK,		/* PARLEY_WEBHOOK_ALLOW_PRIVATE */
	URLPOL_ALLOW_KNOWLEDGE,		/* PARLEY_KNOWLEDGE_ALLOW_PRIVATE */
	URLPOL_ALLOW_ACTIONS,		/* PARLEY_ACTIONS_ALLOW_PRIVATE */
};
/*
 * why, or when it is urlpol_private_why, the same refusal naming the
 * setting which that allows it ("(PARLEY_WEBHOOK_ALLOW_PRIVATE=on allows
 * it, in the default organization)"): static text, the admin API's 400.
 */
const char *urlpol_private_named(const char *why, enum urlpol_allow which);

/*
 * What a transfer's connections are held to, and what came of it: a
 * private, loopback or link-local address is refused unless
 * allow_private; refused says one was.
 */
struct urlpol_guard {
	int allow_private;
	int refused;
};

/*
 * The socket curl asks for (CURLOPT_OPENSOCKETFUNCTION, its data a
 * struct urlpol_guard) to reach a, held to the guard as it connects:
 * CURL_SOCKET_BAD and the guard's refused set when a is private and
 * not allowed; else socket()'s answer (close-on-exec).
 */
curl_socket_t urlpol_socket(void *guard, curlsocktype purpose,
    struct curl_sockaddr *a);
/*
 * Transfer e held to g: each socket it opens (urlpol_socket), none it did
 * not open itself (a new connection, not kept after), and no proxy (one
 * would connect where the guard cannot see). 0, or a CURLcode's bits.
 */
int urlpol_curl_guard(CURL *e, struct urlpol_guard *g);
/*
 * The same without "a new connection, not kept after": for a connection
 * its owner never gives back to be reused (model/mconn.c's, connect-only:
 * FORBID_REUSE would close it as soon as it is made).
 */
int urlpol_curl_guard_socket(CURL *e, struct urlpol_guard *g);
/*
 * Transfer e held to g (urlpol_curl_guard) and its answer's bytes given
 * to write with arg. 0, or -1.
 */
int urlpol_curl_io(CURL *e, struct urlpol_guard *g,
    curl_write_callback write, void *arg);

/* Where a URL goes: parsed by urlpol_parse, resolved by urlpol_resolve. */
struct url_target {
	char scheme[8];			/* "http" or "https" */
	char host[256];			/* a name, or an address (IPv6 unbracketed) */
	int port;			/* 1-65535 (80, 443 when none is written) */
	char path[2048];		/* path, and "?query" if any; no fragment */
	char addr[INET6_ADDRSTRLEN];	/* the address to connect to, "" until resolved */
	int family;			/* AF_INET or AF_INET6; 0 until resolved */
};

/*
 * Reads an outgoing URL with libcurl's URL parser (the one the transfer
 * uses, so both see the same host): http or https, a host (an ASCII name,
 * an IPv4 address or a bracketed IPv6 one without zone id), no user name
 * or password, no fragment, a port 1-65535, at most URLPOL_URL_MAX bytes. 0 with t
 * filled (not resolved), or -1 with *why a static message ("url: ...").
 */
int urlpol_parse(const char *url, struct url_target *t,
    const char **why);
/*
 * Resolves t->host (getaddrinfo; an address literal without DNS). -1 with
 * *why "url: host does not resolve", or, unless allow_private, "url:
 * resolves to a private, loopback or link-local address" when ANY address
 * is urlpol_addr_private. 0 with the first address in t->addr, t->family.
 * Only a verdict: the transfer resolves again, and its open-socket guard
 * (urlpol_curl_guard_socket) checks the address it connects to.
 */
int urlpol_resolve(struct url_target *t, int allow_private,
    const char **why);
/*
 * The verdict on a lookup's answer (res), urlpol_resolve's rules: 0, with
 * the first address in t->addr and t->family when t is not NULL; or -1
 * with *why "url: host does not resolve" (no IPv4 or IPv6 address) or,
 * unless allow_private, the private address text when ANY is private.
 */
struct addrinfo;
int urlpol_addrs_check(const struct addrinfo *res, int allow_private,
    struct url_target *t, const char **why);

/*
 * What can be told of t's host without a lookup (a check on the worker's
 * loop, where getaddrinfo would block): -1 with *why as urlpol_resolve's
 * for a name under "localhost" (loopback whatever DNS says, RFC 6761) or
 * an address literal urlpol_addr_private refuses; 0 for a literal it
 * allows; 1 for another name, which only a lookup can judge
 * (notify_lookup_start; and each connection checks its address too).
 */
int urlpol_check_literal(struct url_target *t, const char **why);
/* ---- model servers (agents' base_url) ---- */

/*
 * An agent's base_url as urlpol_parse reads it, and more: no query, no
 * fragment, no user name or password (a '?', '#' or '@' anywhere is
 * refused: the server's path is appended to it). 0 with t filled, or -1
 * with *why naming the field ("base_url: ...", valid until the next call).
 */
int urlpol_model_parse(const char *url, struct url_target *t,
    const char **why);
/*
 * Whether organisation org's URL to host (NULL: none named) may reach
 * private addresses, the one rule of every tenant's outgoing request
 * (agents, knowledge, page checks, actions, webhooks): 1 when org is
 * the default one and allow_private (its PARLEY_*_ALLOW_PRIVATE
 * setting), or host is one of allow_hosts (PARLEY_MODEL_ALLOW_HOSTS,
 * PARLEY_WEBHOOK_ALLOW_HOSTS: comma-separated names or addresses, any
 * case, spaces and tabs around each ignored; NULL or "" none); else 0.
 */
int urlpol_private_ok(const char *org, const char *host,
    int allow_private, const char *allow_hosts);

#endif
