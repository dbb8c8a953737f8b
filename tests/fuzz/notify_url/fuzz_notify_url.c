/*
 * libFuzzer target for what an organisation's owner types as a webhook
 * (workerd/notify/): the URL (urlpol_parse, libcurl's parser and our
 * checks) and the secret (notify_secret_key, the base64 reader). The
 * input, NUL-ended, is tried as both; its first 16 bytes are also an
 * IPv6 address for urlpol_addr_private. Properties are checked, abort()
 * otherwise: an accepted URL has an http(s) scheme, a host of the allowed
 * characters or an IPv6 address, a port 1-65535, a path from '/', and
 * written back as a URL it reads the same; a refused one gives a
 * "url: " reason and an empty target. An accepted secret is 24-64 bytes
 * whose base64 is the input (after "whsec_"), and signs; a refused one
 * does not. An IPv4-mapped IPv6 address is judged as its IPv4.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_notify_url: %s\n", what);
		abort();
	}
}

static void
url_accepted(const char *url, const struct url_target *t)
{
	static char again[2 * URLPOL_URL_MAX];
	struct url_target t2;
	struct in6_addr a6;
	const char *why;
	int v6;

	check(strcmp(t->scheme, "http") == 0 || strcmp(t->scheme, "https") == 0,
	    "scheme not http(s)");
	check(t->port >= 1 && t->port <= 65535, "port out of range");
	check(t->host[0] != '\0', "no host");
	v6 = inet_pton(AF_INET6, t->host, &a6) == 1;
	check(v6 || strspn(t->host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == strlen(t->host),
	    "host character");
	check(t->path[0] == '/', "path not from /");
	check(t->addr[0] == '\0' && t->family == 0, "resolved by the parse");
	check(strlen(url) <= URLPOL_URL_MAX, "too long, accepted");

	/* Written back, it reads the same. */
	snprintf(again, sizeof(again), v6 ? "%s://[%s]:%d%s" : "%s://%s:%d%s",
	    t->scheme, t->host, t->port, t->path);
	if (strlen(again) > URLPOL_URL_MAX)
		return;
	check(urlpol_parse(again, &t2, &why) == 0, "written back: refused");
	check(strcmp(t2.host, t->host) == 0 && t2.port == t->port &&
	    strcmp(t2.scheme, t->scheme) == 0, "written back: another target");
}

static void
secret(const char *s)
{
	static char enc[200];
	uint8_t key[NOTIFY_KEY_MAX];
	char sig[NOTIFY_SIG_LEN + 1];
	const char *body;
	size_t len = 99;
	int r;

	r = notify_secret_key(s, key, &len);
	check(r == 0 || r == -1, "secret: result");
	check(notify_sign(s, "msg_1", 1, "{}", 2, sig, sizeof(sig)) == r,
	    "secret: sign disagrees");
	if (r == -1) {
		check(len == 0, "secret: refused, with a length");
		check(sig[0] == '\0', "secret: refused, yet a signature");
		return;
	}
	check(len >= NOTIFY_KEY_MIN && len <= NOTIFY_KEY_MAX, "secret: length");
	check(strlen(sig) == NOTIFY_SIG_LEN && memcmp(sig, "v1,", 3) == 0,
	    "secret: signature shape");
	body = strncmp(s, "whsec_", 6) == 0 ? s + 6 : s;
	EVP_EncodeBlock((unsigned char *)enc, key, (int)len);
	check(strcmp(enc, body) == 0, "secret: not its base64");
}

static void
addr(const uint8_t *b)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int r;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	memcpy(&s6.sin6_addr, b, 16);
	r = urlpol_addr_private((struct sockaddr *)&s6);
	check(r == 0 || r == 1, "addr: result");
	memset(s6.sin6_addr.s6_addr, 0, 10);
	s6.sin6_addr.s6_addr[10] = s6.sin6_addr.s6_addr[11] = 0xff;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	memcpy(&s4.sin_addr, b + 12, 4);
	check(urlpol_addr_private((struct sockaddr *)&s6) ==
	    urlpol_addr_private((struct sockaddr *)&s4),
	    "addr: mapped IPv4 judged otherwise");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_target t;
	const char *why = NULL;
	char *s;
	int r;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	r = urlpol_parse(s, &t, &why);
	if (r == 0) {
		check(why == NULL, "accepted, with a reason");
		url_accepted(s, &t);
	} else {
		check(r == -1, "result out of range");
		check(why != NULL && strncmp(why, "url: ", 5) == 0,
		    "refused, no reason");
		check(t.host[0] == '\0' && t.port == 0, "refused, target left");
	}
	secret(s);
	if (size >= 16)
		addr(data);
	free(s);
	return 0;
}
