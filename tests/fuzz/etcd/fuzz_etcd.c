/*
 * etcd's replies as storaged's lease reads them (storaged/etcd.c,
 * storaged/lease.c): the first byte picks the parser (grant, keepalive,
 * range, txn, the primary key's value and the sync key's), the rest is
 * the reply. Any bytes are read or refused without a crash, a leak or an
 * overflow, and what a range yields is bounded text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "lease.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every key and value is a NUL-terminated string within its array. */
static void
check_range(const struct etcd_range *r)
{
	size_t i;

	if (r->n > ETCD_KVS_MAX)
		abort();
	for (i = 0; i < r->n; i++)
		if (memchr(r->kvs[i].key, '\0', ETCD_KEY_MAX) == NULL ||
		    memchr(r->kvs[i].value, '\0', ETCD_VALUE_MAX) == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct etcd_range r;
	const char *buf = (const char *)data + 1;
	char addr[LEASE_ADDR_MAX], *s;
	uint64_t term, seq;
	int64_t n;

	if (len < 1)
		return 0;
	len--;
	switch (data[0] % 5) {
	case 0:
		(void)etcd_parse_grant(buf, len, &n);
		break;
	case 1:
		(void)etcd_parse_keepalive(buf, len, &n);
		break;
	case 2:
		if (etcd_parse_range(buf, len, &r) == 0)
			check_range(&r);
		break;
	case 3:
		(void)etcd_parse_txn(buf, len, &n);
		break;
	default:
		if ((s = strndup(buf, len)) == NULL)
			return 0;
		if (lease_parse_value(s, addr, sizeof(addr), &term) == 0 &&
		    (memchr(addr, '\0', sizeof(addr)) == NULL || term == 0))
			abort();
		if (lease_parse_sync(s, addr, sizeof(addr), &term, &seq) == 0 &&
		    memchr(addr, '\0', sizeof(addr)) == NULL)
			abort();
		free(s);
		break;
	}
	return 0;
}
