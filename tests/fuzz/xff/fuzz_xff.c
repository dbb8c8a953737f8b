/*
 * libFuzzer target for who the client is (clientip_xff,
 * workerd/net/clientip.c): X-Forwarded-For as a client or a chain of
 * proxies sends it, walked against TRUST_PROXY's blocks (ipnet_parse,
 * ipaddr_parse, lib/settings.c). Byte 0 picks the peer (a Unix socket, a
 * trusted proxy, an untrusted client, over IPv4 or IPv6); the rest, up to
 * its first newline, is TRUST_PROXY's list (comma-separated, the blocks
 * that parse kept), and after it the header's value. Properties are
 * checked, abort() otherwise: a block taken has its prefix within its
 * family's bits and nothing set past it, holds its own address, and
 * written back reads the same; an address taken reads the same from its
 * own text; an untrusted peer, or no header, is the client; an address
 * taken from the header is one of its entries; and what a client wrote
 * left of the first untrusted hop never changes the answer: junk put in
 * front of such a header, or a trusted proxy's hop added at its right end,
 * gives the same client (a header ending in a comma excepted: the hop
 * after it makes an empty entry, and the walk falls back to the peer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workerd.h"

#define TRUST_MAX	8
#define ENTRIES_SAFE	60	/* below clientip.c's walk of 64 entries */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_xff: %s\n", what);
		abort();
	}
}

static int
addr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

/* a read from its own text gives a again. */
static void
addr_again(const struct ipaddr *a)
{
	struct ipaddr b;
	char txt[64];

	check(a->family == 4 || a->family == 6, "an address of no family");
	if (a->family == 4)
		check(a->a[4] == 0 && memcmp(a->a + 4, a->a + 5, 11) == 0,
		    "an IPv4 address with bytes past its 4");
	ipaddr_format(a, txt, sizeof(txt));
	check(ipaddr_parse(txt, strlen(txt), &b) == 0 && addr_eq(a, &b),
	    "an address reads otherwise from its own text");
}

/* One TRUST_PROXY block, kept in t when it parses. */
static void
block(const char *s, size_t len, struct ipnet *t, size_t *nt)
{
	struct ipnet n, again;
	unsigned int bits, i;
	char txt[80];

	if (ipnet_parse(s, len, &n) < 0)
		return;
	bits = n.addr.family == 4 ? 32 : 128;
	check(n.addr.family == 4 || n.addr.family == 6, "a block of no family");
	check(n.prefix <= bits, "a prefix past the family's bits");
	for (i = n.prefix; i < bits; i++)
		check(!(n.addr.a[i / 8] & (0x80u >> (i % 8))),
		    "a bit set past the prefix");
	check(ipnet_contains(&n, &n.addr), "a block without its address");
	addr_again(&n.addr);
	ipaddr_format(&n.addr, txt, sizeof(txt));
	snprintf(txt + strlen(txt), sizeof(txt) - strlen(txt), "/%u",
	    n.prefix);
	/* An IPv4 block written as such: its prefix is its own. */
	if (ipnet_parse(txt, strlen(txt), &again) == 0)
		check(addr_eq(&n.addr, &again.addr) &&
		    again.prefix == n.prefix, "a block reads otherwise again");
	else
		check(0, "a block's own text does not read");
	if (*nt < TRUST_MAX)
		t[(*nt)++] = n;
}

/* Whether a is one of xff's comma-separated entries, blanks trimmed. */
static int
an_entry(const char *xff, const struct ipaddr *a)
{
	const char *p = xff, *e;
	struct ipaddr b;
	size_t n;

	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (ipaddr_parse(p, n, &b) == 0 && addr_eq(a, &b))
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static size_t
commas(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == ',';
	return n;
}

/* The answer for xff with text added before or after it (NULL: none). */
static int
walk(const struct ipaddr *peer, const char *before, const char *xff,
    const char *after, const struct ipnet *t, size_t nt, struct ipaddr *out)
{
	size_t len = strlen(xff) + (before ? strlen(before) : 0) +
	    (after ? strlen(after) : 0) + 1;
	char *s = malloc(len);
	int r;

	if (s == NULL)
		abort();
	snprintf(s, len, "%s%s%s", before ? before : "", xff,
	    after ? after : "");
	r = clientip_xff(peer, s, t, nt, out);
	free(s);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const peers[] = { NULL, "10.0.0.1", "203.0.113.9",
	    "fd00::1", "2001:db8::9" };
	struct ipnet trust[TRUST_MAX];
	struct ipaddr peer, out, out2, a;
	size_t nt = 0, i, start;
	char *s, *xff, *nl, txt[80];
	int r, r2;

	if (size < 1)
		return 0;
	/* The peers: a Unix socket, then a proxy and a client of each family. */
	memset(&peer, 0, sizeof(peer));
	if (peers[data[0] % 5] != NULL && ipaddr_parse(peers[data[0] % 5],
	    strlen(peers[data[0] % 5]), &peer) < 0)
		abort();
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	/* The header's value is text: it stops at a NUL as the reader's does. */
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		xff = nl + 1;
	} else
		xff = s + strlen(s);
	/* The peers 10.0.0.1 and fd00::1 are proxies whatever the list. */
	block("10.0.0.0/8", 10, trust, &nt);
	block("fd00::/8", 8, trust, &nt);
	for (i = start = 0; ; i++) {
		if (s[i] == ',' || s[i] == '\0') {
			block(s + start, i - start, trust, &nt);
			start = i + 1;
		}
		if (s[i] == '\0')
			break;
	}
	/* The whole value as one address too (what ipaddr_parse takes). */
	if (ipaddr_parse(xff, strlen(xff), &a) == 0)
		addr_again(&a);

	r = clientip_xff(&peer, xff, trust, nt, &out);
	check(r == 0 || r == 1, "an answer neither 0 nor 1");
	if (!clientip_trusted(&peer, trust, nt) || xff[0] == '\0')
		check(r == 0 && addr_eq(&out, &peer),
		    "an untrusted peer's header, or none, counted");
	check(clientip_xff(&peer, NULL, trust, nt, &out2) == 0 &&
	    addr_eq(&out2, &peer), "no header, yet not the peer");
	if (r == 0) {
		check(addr_eq(&out, &peer), "0, yet not the peer");
		goto done;
	}
	addr_again(&out);
	check(an_entry(xff, &out), "a client that is none of the entries");
	/* The rest holds only when the walk found an untrusted hop. */
	if (ipnet_any(trust, nt, &out) || commas(xff) >= ENTRIES_SAFE)
		goto done;
	r2 = walk(&peer, "6.6.6.6, junk ,", xff, NULL, trust, nt, &out2);
	check(r2 == 1 && addr_eq(&out, &out2),
	    "what the client put in front changed the client");
	r2 = walk(&peer, "2001:db8::66,", xff, NULL, trust, nt, &out2);
	check(r2 == 1 && addr_eq(&out, &out2),
	    "an IPv6 address in front changed the client");
	/*
	 * A trusted proxy adds its own hop, the first block's address (after
	 * a value that ends in a comma, an empty entry between: malformed).
	 */
	if (xff[strlen(xff) - 1] == ',')
		goto done;
	ipaddr_format(&trust[0].addr, txt + 2, sizeof(txt) - 2);
	txt[0] = ',';
	txt[1] = ' ';
	r2 = walk(&peer, NULL, xff, txt, trust, nt, &out2);
	check(r2 == 1 && addr_eq(&out, &out2),
	    "a trusted proxy's hop changed the client");
done:
	free(s);
	return 0;
}
