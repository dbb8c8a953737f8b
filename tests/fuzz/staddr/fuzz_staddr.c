/*
 * libFuzzer target for proto/staddr.c, storaged's addresses
 * (PARLEY_STORAGED, PARLEY_STORAGED_LISTEN, parleyctl --storaged): any
 * bytes parse or are refused with a message, never crash; what parses
 * is a unix: path or a tls:// host and port 1..65535 whose text form
 * parses again to the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "staddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_one(const struct staddr *a)
{
	struct staddr b;
	char err[STADDR_ERR_MAX];

	if (a->kind == STADDR_UNIX) {
		if (a->path[0] == '\0' || strlen(a->path) >= STADDR_PATH_MAX)
			abort();
	} else if (a->kind != STADDR_TLS || a->port == 0 ||
	    a->host[0] == '\0')
		abort();
	if (staddr_parse(a->text, strlen(a->text), &b, err, sizeof(err)) < 0 ||
	    b.kind != a->kind || b.port != a->port || b.host_ip != a->host_ip ||
	    strcmp(b.host, a->host) != 0 || strcmp(b.path, a->path) != 0 ||
	    strcmp(b.text, a->text) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct staddr l[STADDR_LIST_MAX], one;
	char err[STADDR_ERR_MAX], *s;
	size_t n = 0, i;

	if (staddr_parse((const char *)data, size, &one, err, sizeof(err)) == 0)
		check_one(&one);
	else if (err[0] == '\0')
		abort();
	/* The list reads a string: up to the first NUL. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = '\0';
	if (staddr_list_parse(s, l, STADDR_LIST_MAX, &n, err, sizeof(err)) == 0) {
		if (n > STADDR_LIST_MAX)
			abort();
		for (i = 0; i < n; i++)
			check_one(&l[i]);
	} else if (err[0] == '\0')
		abort();
	free(s);
	return 0;
}
