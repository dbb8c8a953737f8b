/*
 * A client of etcd's v3 HTTP/JSON gateway (etcd 3.4: POST /v3/lease/grant,
 * /v3/lease/keepalive, /v3/lease/revoke, /v3/kv/range, /v3/kv/txn) over
 * libcurl's easy interface. Every call blocks for at most its timeout:
 * run it on a thread of its own (storaged/lease.c), never on the loop.
 * Keys and values travel in base64, 64-bit numbers as JSON strings, and
 * the gateway leaves out every field whose value is zero, false or empty.
 *
 * A reply is input from the network: the parsers (etcd_parse_*) are pure
 * functions of its bytes, and tests/fuzz/etcd feeds them.
 */
#ifndef PARLEY_ETCD_H
#define PARLEY_ETCD_H

#include <stddef.h>
#include <stdint.h>

#define ETCD_ENDPOINTS_MAX	8
#define ETCD_KEY_MAX		128	/* bytes of a key, its NUL included */
#define ETCD_VALUE_MAX		512	/* bytes of a value, its NUL included */
#define ETCD_KVS_MAX		16	/* pairs one range reads */
#define ETCD_REPLY_MAX		(64u * 1024)	/* a longer reply is an error */
#define ETCD_ERR_MAX		256

/* One key and its value as a range reads them. */
struct etcd_kv {
	char key[ETCD_KEY_MAX];
	char value[ETCD_VALUE_MAX];	/* decoded; text without a NUL inside */
	int64_t create_rev;
	int64_t mod_rev;
	int64_t lease;			/* 0: none */
};

/* What a range read. */
struct etcd_range {
	int64_t rev;			/* the store's revision at the read */
	size_t n;
	struct etcd_kv kvs[ETCD_KVS_MAX];
};

/* A compare of a txn: the key's revision of that kind equals rev (0: absent). */
enum etcd_target { ETCD_CREATE, ETCD_MOD };
struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	int64_t rev;
};

/* A put of a txn (lease 0: none). */
struct etcd_put {
	const char *key;
	const char *value;
	int64_t lease;
};

/* PEM paths for https:// endpoints (PARLEY_CLUSTER_CA, _CERT, _KEY). */
struct etcd_tls {
	const char *ca;		/* the only CA etcd's certificate may chain to */
	const char *cert;	/* ours, presented as a client certificate */
	const char *key;
};

struct etcd;

/*
 * A client of endpoints ("http://h:p,http://h:p" or all https://,
 * PARLEY_ETCD, checked by the settings). With https (tls: its three
 * paths, all set; copied), TLS 1.2 or later, etcd's certificate verified
 * against tls->ca alone, ours presented; tls is not read with http. NULL
 * when out of memory. A call that fails moves on to the next endpoint for
 * the following one.
 */
struct etcd *etcd_new(const char *endpoints, const struct etcd_tls *tls);
void etcd_free(struct etcd *);
/* Why the last call failed (one line, no secret), "" after a success. */
const char *etcd_error(const struct etcd *);

/* A new lease of ttl_s seconds: 0 and its id, or -1. */
int etcd_grant(struct etcd *, int ttl_s, int timeout_ms, int64_t *id);
/* One renewal: 1 (alive, *ttl_s its TTL), 0 (the lease is gone), -1 failed. */
int etcd_keepalive(struct etcd *, int64_t id, int timeout_ms, int64_t *ttl_s);
/* Revokes it (its keys go): 0 (also when it was gone already), or -1. */
int etcd_revoke(struct etcd *, int64_t id, int timeout_ms);
/* Every key under prefix (at most ETCD_KVS_MAX, in key order): 0 or -1. */
int etcd_range(struct etcd *, const char *prefix, int timeout_ms,
    struct etcd_range *);
/*
 * If every compare holds, every put, in one revision: 1 done, 0 a compare
 * failed (nothing written), -1 failed (*rev unknown; a timeout may hide a
 * success). *rev: the store's revision after it.
 */
int etcd_txn(struct etcd *, const struct etcd_cmp *, size_t ncmp,
    const struct etcd_put *, size_t nput, int timeout_ms, int64_t *rev);

/* etcd's longest lease (its MaxLeaseTTL): a TTL past it is malformed. */
#define ETCD_TTL_MAX	9000000000LL

/* The replies (buf: the body of a 200): as the calls above, -1 malformed. */
int etcd_parse_grant(const char *buf, size_t len, int64_t *id);
int etcd_parse_keepalive(const char *buf, size_t len, int64_t *ttl_s);
int etcd_parse_range(const char *buf, size_t len, struct etcd_range *);
int etcd_parse_txn(const char *buf, size_t len, int64_t *rev);

#endif
