/*
 * libFuzzer target for the outgoing-URL policy (workerd/net/urlpolicy.c)
 * as an agent's base_url meets it: urlpol_model_parse (libcurl's parser,
 * then no query, fragment or user info) and who may reach private
 * addresses (PARLEY_MODEL_ALLOW_HOSTS as read). The input, NUL-ended, is
 * tried as a base_url and as a host list. Properties are checked, abort()
 * otherwise: an accepted base_url has no '?', '#' or '@' in its
 * authority, an http(s) scheme, a host of the allowed characters or an
 * IPv6 address, a port 1-65535, and urlpol_parse (the webhooks' reader)
 * reads the same target; a refused one gives a "base_url: " reason and
 * an empty target. A tenant organisation reaches a private address only
 * through a list that names its host; the default one with the setting.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "urlpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_urlpolicy: %s\n", what);
		abort();
	}
}

static void
base_url(const char *s)
{
	struct url_target t, t2;
	const char *why = NULL, *why2, *auth;
	struct in6_addr a6;

	if (urlpol_model_parse(s, &t, &why) < 0) {
		check(why != NULL && strncmp(why, "base_url: ", 10) == 0,
		    "refused, no reason naming the field");
		check(t.host[0] == '\0' && t.port == 0, "refused, target left");
		return;
	}
	check(why == NULL, "accepted, with a reason");
	check(strpbrk(s, "?#") == NULL, "query or fragment accepted");
	auth = strstr(s, "//");
	check(auth != NULL, "accepted without an authority");
	check(memchr(auth + 2, '@', strcspn(auth + 2, "/\\")) == NULL,
	    "user info accepted");
	check(strcmp(t.scheme, "http") == 0 || strcmp(t.scheme, "https") == 0,
	    "scheme not http(s)");
	check(t.port >= 1 && t.port <= 65535, "port out of range");
	check(inet_pton(AF_INET6, t.host, &a6) == 1 ||
	    strspn(t.host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == strlen(t.host),
	    "host character");
	check(urlpol_parse(s, &t2, &why2) == 0 &&
	    strcmp(t.host, t2.host) == 0 && t.port == t2.port,
	    "the webhooks' reader reads another target");
	/* Who may reach it: the setting for the default org, else a list. */
	check(urlpol_private_ok("default", t.host, 1, NULL) == 1,
	    "default org with the setting refused");
	check(urlpol_private_ok("default", t.host, 0, NULL) == 0,
	    "default org without the setting allowed");
	check(urlpol_private_ok("acme", t.host, 1, NULL) == 0,
	    "tenant allowed by the default org's setting");
	check(urlpol_private_ok("acme", t.host, 0, t.host) == 1,
	    "tenant's listed host refused");
	check(urlpol_private_ok("acme", t.host, 0, "x.invalid") ==
	    (strcasecmp(t.host, "x.invalid") == 0), "unlisted host allowed");
}

static void
host_list(const char *s)
{
	char host[64];
	size_t n;

	check(urlpol_private_ok("default", "h", 0, s) ==
	    urlpol_private_ok("acme", "h", 1, s), "org and setting "
	    "matter beside a list");
	/* Its first item (spaces aside) is allowed for any tenant. */
	n = strcspn(s, ",");
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(host))
		return;
	memcpy(host, s, n);
	host[n] = '\0';
	check(strchr(host, ' ') != NULL || strchr(host, '\t') != NULL ||
	    strchr(host, ',') != NULL || urlpol_private_ok("acme", host, 0, s) == 1,
	    "listed host refused");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	base_url(s);
	host_list(s);
	free(s);
	return 0;
}
