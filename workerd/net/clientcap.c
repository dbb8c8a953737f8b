/*
 * Per-client caps on what one client holds open in this worker: its
 * connections (PARLEY_MAX_CONNS_PER_CLIENT, by the socket's peer) and its
 * WebSockets (PARLEY_MAX_WS_PER_CLIENT, by clientip_of: X-Forwarded-For
 * behind a trusted proxy). A client is an IPv4 address or an IPv6 /64
 * (clientip_mask), as for every per-client limit.
 *
 * The counts are per worker: masterd spreads connections over the
 * workers, so one client holds at most workers x cap in all, and never
 * more than its cap of any one worker's share. A trusted proxy's own
 * connections (clientip_trusted: TRUST_PROXY's, or any on a Unix socket)
 * are not capped (it carries many clients); their WebSockets are, by the
 * client it names.
 *
 * The bytes of request bodies being read are counted the same way
 * (PARLEY_MAX_BODY_KB_PER_CLIENT, by clientip_of), with their total in
 * this worker (PARLEY_MAX_BODY_MB): a body is charged in full at its head
 * (http.c allocates it at once), so half-sent bodies pin no more than the
 * budgets.
 *
 * Each table is a hash of the clients holding something open: one entry
 * per client, made at its first take and freed when its count drops to
 * 0, so memory follows what is open. The hash is keyed by a random seed,
 * so a client cannot choose addresses that share a chain. Every
 * operation is O(1) on average.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "random.h"
#include "workerd.h"

#define CC_BUCKETS_MIN	64

struct clientcap {
	LIST_ENTRY(clientcap) entry;
	struct cctable *table;
	struct ipaddr ip;		/* masked */
	uint32_t n;
};

LIST_HEAD(ccchain, clientcap);

struct cctable {
	struct ccchain *b;
	size_t nb;			/* a power of 2, or 0 before the first */
	size_t n;			/* clients */
	uint64_t seed[2];
};

static struct cctable tables[CLIENTCAP_KINDS];

static uint64_t
cc_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static size_t
cc_bucket(const struct cctable *t, const struct ipaddr *ip)
{
	uint64_t a, b;

	memcpy(&a, ip->a, 8);
	memcpy(&b, ip->a + 8, 8);
	a = cc_mix(a ^ t->seed[0]);
	a = cc_mix(a ^ b ^ t->seed[1] ^ (uint64_t)ip->family);
	return (size_t)a & (t->nb - 1);
}

static int
cc_same(const struct ipaddr *x, const struct ipaddr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

/* Resizes to nb buckets (a power of 2). 0, or -1 with t unchanged. */
static int
cc_rehash(struct cctable *t, size_t nb)
{
	struct ccchain *nbk, *old = t->b;
	struct clientcap *e;
	size_t i, onb = t->nb;

	if ((nbk = calloc(nb, sizeof(*nbk))) == NULL)
		return -1;
	if (onb == 0)
		proto_random(t->seed, sizeof(t->seed));
	t->b = nbk;
	t->nb = nb;
	for (i = 0; i < nb; i++)
		LIST_INIT(&nbk[i]);
	for (i = 0; i < onb; i++)
		while ((e = LIST_FIRST(&old[i])) != NULL) {
			LIST_REMOVE(e, entry);
			LIST_INSERT_HEAD(&t->b[cc_bucket(t, &e->ip)], e,
			    entry);
		}
	free(old);
	return 0;
}

static struct clientcap *
cc_find(const struct cctable *t, const struct ipaddr *ip)
{
	struct clientcap *e;

	if (t->nb == 0)
		return NULL;
	LIST_FOREACH(e, &t->b[cc_bucket(t, ip)], entry)
		if (cc_same(&e->ip, ip))
			return e;
	return NULL;
}

/* clientcap_take of amount units (max >= amount > 0). */
static int
cc_take(enum clientcap_kind kind, const struct ipaddr *ip, uint32_t amount,
    uint32_t max, struct clientcap **out)
{
	struct cctable *t = &tables[kind];
	struct clientcap *e;
	struct ipaddr m;

	*out = NULL;
	if (max == 0)
		return 0;
	if (amount > max)
		return 1;
	clientip_mask(ip, &m);
	if ((e = cc_find(t, &m)) != NULL) {
		if (e->n > max - amount)
			return 1;
		e->n += amount;
		*out = e;
		return 0;
	}
	/* Grown before it is needed: a chain stays about one long. */
	if ((t->nb == 0 && cc_rehash(t, CC_BUCKETS_MIN) < 0) ||
	    (t->n >= t->nb && cc_rehash(t, t->nb * 2) < 0) ||
	    (e = proto_zalloc(sizeof(*e))) == NULL) {
		/* Errs open: the client goes uncounted, never refused. */
		log_warn("clientcap");
		return 0;
	}
	e->table = t;
	e->ip = m;
	e->n = amount;
	LIST_INSERT_HEAD(&t->b[cc_bucket(t, &m)], e, entry);
	t->n++;
	*out = e;
	return 0;
}

int
clientcap_take(enum clientcap_kind kind, const struct ipaddr *ip,
    uint32_t max, struct clientcap **out)
{
	return cc_take(kind, ip, 1, max, out);
}

/* Gives back amount units of e (what one take of it took). */
static void
cc_put(struct clientcap *e, uint32_t amount)
{
	struct cctable *t;

	if (e == NULL)
		return;
	if ((e->n -= amount) > 0)
		return;
	t = e->table;
	LIST_REMOVE(e, entry);
	free(e);
	/* Nobody left: give back what a crowd made the table grow to. */
	if (--t->n == 0 && t->nb > CC_BUCKETS_MIN) {
		free(t->b);
		t->b = NULL;
		t->nb = 0;
	}
}

void
clientcap_put(struct clientcap *e)
{
	cc_put(e, 1);
}

uint32_t
clientcap_count(enum clientcap_kind kind, const struct ipaddr *ip)
{
	struct clientcap *e;
	struct ipaddr m;

	clientip_mask(ip, &m);
	e = cc_find(&tables[kind], &m);
	return e != NULL ? e->n : 0;
}

size_t
clientcap_clients(enum clientcap_kind kind)
{
	return tables[kind].n;
}

int
clientcap_conn_take(const struct ipaddr *peer, struct clientcap **out)
{
	*out = NULL;
	if (clientip_trusted(peer, wsettings.trust, wsettings.ntrust))
		return 0;
	return clientcap_take(CLIENTCAP_CONN, peer,
	    wsettings.max_conns_per_client, out);
}

int
clientcap_ws_take(const struct conn *c, const struct http_request *req,
    struct clientcap **out)
{
	struct ipaddr ip;

	clientip_of(c, req, &ip);
	return clientcap_take(CLIENTCAP_WS, &ip, wsettings.max_ws_per_client,
	    out);
}

/* ------------------------------------------------------------ bodies */

static size_t body_total;	/* body bytes charged in this worker */

int
clientcap_body_take(const struct conn *c, const struct http_request *req,
    size_t n, struct clientcap_body *out)
{
	struct ipaddr ip;

	clientip_of(c, req, &ip);
	return clientcap_body_take_ip(&ip, n, out);
}

int
clientcap_body_take_ip(const struct ipaddr *ip, size_t n,
    struct clientcap_body *out)
{
	uint64_t total_max = (uint64_t)wsettings.body_mb * 1024 * 1024;
	uint32_t client_max = wsettings.body_kb_per_client * 1024;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	/* 0 is no budget (settings never read: conn.c's own tests). */
	if (total_max > 0 && (n > total_max || body_total > total_max - n))
		return 503;
	if (client_max > 0 && (n > client_max || cc_take(CLIENTCAP_BODY, ip,
	    (uint32_t)n, client_max, &out->cap) != 0))
		return 429;
	out->bytes = n;
	body_total += n;
	return 0;
}

void
clientcap_body_put(struct clientcap_body *b)
{
	if (b->bytes == 0)
		return;
	cc_put(b->cap, (uint32_t)b->bytes);
	body_total -= b->bytes;
	memset(b, 0, sizeof(*b));
}

size_t
clientcap_body_total(void)
{
	return body_total;
}
