/*
 * Rate counters in memory (see ratelimit.h).
 *
 * A hash table of windows, chained, keyed by SipHash-2-4 under a random
 * key (the keys come from clients: no one may aim them at one bucket), and
 * a binary min-heap of the same windows by the time they end. Windows are
 * of many lengths (a day for a chat limit, ten seconds for a resume): an
 * order by start would put a long live window before short expired ones,
 * while by end the expired windows are always those at the top of the heap,
 * and when the table is full the live window to give up is the top too,
 * the one ending soonest.
 *
 * A client's windows and the global ones (budgets all clients share) are
 * in two heaps, each with its own bound: a full table of clients' windows
 * gives up a client's, never a global one, however many keys the clients
 * make.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "log.h"
#include "proto.h"
#include "random.h"
#include "ratelimit.h"

#define BUCKETS_MIN	64
/* A full table logs its evictions at most this often. */
#define EVICT_LOG_MS	60000

struct rl_entry {
	LIST_ENTRY(rl_entry) chain;	/* in its bucket */
	struct heap_node hn;		/* hn.at: window_end() */
	int global;			/* in ends[1], else in ends[0] */
	long long start;		/* window start, monotonic ms */
	uint32_t window_ms;		/* of the last request: when it ends */
	uint32_t count;			/* requests counted in this window */
	uint64_t hash;
	uint32_t klen;
	uint8_t key[];
};

LIST_HEAD(rl_bucket, rl_entry);

struct ratelimit {
	struct rl_bucket *buckets;
	size_t nbuckets;	/* a power of two */
	size_t maxbuckets;
	size_t max_keys;
	/* Every entry by window end, clients' [0] and global [1]. */
	struct heap ends[2];
	uint8_t seed[16];
	long long (*now)(void);
	uint64_t evicted;
	uint64_t evicted_logged;
	long long evict_logged_at;
};

/* The entry that node n of the heap is. */
static struct rl_entry *
entry_of(struct heap_node *n)
{
	return HEAP_ITEM(n, struct rl_entry, hn);
}

/* ---------------------------------------------------------------- siphash */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t
ratelimit_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	while (left > 0) {
		left--;
		b |= (uint64_t)p[i + left] << (8 * left);
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---------------------------------------------------------------- table */

struct ratelimit *
ratelimit_new(size_t max_keys)
{
	struct ratelimit *rl;
	size_t i;

	if (max_keys == 0)
		max_keys = 1;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->max_keys = max_keys;
	/* Load factor at most 1 once fully grown. */
	for (rl->maxbuckets = BUCKETS_MIN; rl->maxbuckets < max_keys &&
	    rl->maxbuckets < SIZE_MAX / 2 / sizeof(struct rl_bucket);
	    rl->maxbuckets *= 2)
		;
	rl->nbuckets = BUCKETS_MIN;
	if ((rl->buckets = calloc(rl->nbuckets, sizeof(*rl->buckets))) ==
	    NULL) {
		free(rl);
		return NULL;
	}
	for (i = 0; i < rl->nbuckets; i++)
		LIST_INIT(&rl->buckets[i]);
	proto_random(rl->seed, sizeof(rl->seed));
	rl->now = proto_mono_ms;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i, g;

	if (rl == NULL)
		return;
	for (g = 0; g < 2; g++) {
		for (i = 0; i < rl->ends[g].len; i++)
			free(entry_of(rl->ends[g].v[i]));
		heap_free(&rl->ends[g]);
	}
	free(rl->buckets);
	free(rl);
}

void
ratelimit_set_clock(struct ratelimit *rl, long long (*now_ms)(void))
{
	rl->now = now_ms != NULL ? now_ms : proto_mono_ms;
}

struct ratelimit_stats
ratelimit_stats(const struct ratelimit *rl)
{
	struct ratelimit_stats st = { rl->ends[0].len + rl->ends[1].len,
	    rl->ends[1].len, rl->evicted };

	return st;
}

/* When e's window ends, monotonic ms. */
static long long
window_end(const struct rl_entry *e)
{
	return e->start + (long long)e->window_ms;
}

/* Whether e's window is over at now. */
static int
expired(const struct rl_entry *e, long long now)
{
	return now >= window_end(e);
}

/* Puts e in its place after its window changed. */
static void
ends_fix(struct ratelimit *rl, struct rl_entry *e)
{
	e->hn.at = (uint64_t)window_end(e);
	heap_fix(&rl->ends[e->global], &e->hn);
}

/* ---------------------------------------------------------------- windows */

/* Forgets e: out of its chain and the heap, freed. */
static void
entry_drop(struct ratelimit *rl, struct rl_entry *e)
{
	LIST_REMOVE(e, chain);
	heap_remove(&rl->ends[e->global], &e->hn);
	free(e);
}

/* Drops up to budget expired windows of heap h, soonest ended first. */
static size_t
sweep_heap(struct ratelimit *rl, struct heap *h, long long now,
    size_t budget)
{
	struct heap_node *top;
	size_t n = 0;

	while (n < budget && (top = heap_top(h)) != NULL &&
	    expired(entry_of(top), now)) {
		entry_drop(rl, entry_of(top));
		n++;
	}
	return n;
}

/* Drops up to budget expired windows, clients' first; how many. */
static size_t
sweep(struct ratelimit *rl, long long now, size_t budget)
{
	size_t n = sweep_heap(rl, &rl->ends[0], now, budget);

	return n + sweep_heap(rl, &rl->ends[1], now, budget - n);
}

size_t
ratelimit_sweep(struct ratelimit *rl, size_t budget)
{
	if (rl->ends[0].len == 0 && rl->ends[1].len == 0)
		return 0;
	return sweep(rl, rl->now(), budget);
}

/* Doubles the bucket array; a failure only leaves the chains longer. */
static void
grow(struct ratelimit *rl)
{
	struct rl_bucket *nb;
	struct rl_entry *e;
	size_t n = rl->nbuckets * 2, i, g;

	if ((nb = calloc(n, sizeof(*nb))) == NULL) {
		log_warn("rate table: grow to %zu buckets", n);
		return;
	}
	for (i = 0; i < n; i++)
		LIST_INIT(&nb[i]);
	/* Every entry is in a heap: walk those rather than the chains. */
	for (g = 0; g < 2; g++)
		for (i = 0; i < rl->ends[g].len; i++) {
			e = entry_of(rl->ends[g].v[i]);
			LIST_INSERT_HEAD(&nb[e->hash & (n - 1)], e, chain);
		}
	free(rl->buckets);
	rl->buckets = nb;
	rl->nbuckets = n;
}

static struct rl_entry *
lookup(struct ratelimit *rl, const void *key, size_t klen, uint64_t h)
{
	struct rl_entry *e;

	LIST_FOREACH(e, &rl->buckets[h & (rl->nbuckets - 1)], chain)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/*
 * Room for one more key of its kind (global or a client's): every expired
 * window goes first, then the live one of that kind that ends soonest
 * (the least of a limit lost). A client's key never drops a global one.
 */
static void
make_room(struct ratelimit *rl, int global, long long now)
{
	struct heap *h = &rl->ends[global];

	if (h->len < rl->max_keys)
		return;
	sweep(rl, now, SIZE_MAX);
	if (h->len < rl->max_keys)
		return;
	entry_drop(rl, entry_of(heap_top(h)));
	rl->evicted++;
	if (rl->evict_logged_at == 0 ||
	    now - rl->evict_logged_at >= EVICT_LOG_MS) {
		log_warnx("rate table full (%zu %s keys): dropped %llu live "
		    "windows; raise PARLEY_RATE_KEYS", rl->max_keys,
		    global ? "global" : "client",
		    (unsigned long long)(rl->evicted - rl->evicted_logged));
		rl->evicted_logged = rl->evicted;
		rl->evict_logged_at = now != 0 ? now : 1;
	}
}

/*
 * A new window for key (hash h, global or a client's) starting at now, in
 * the table and its heap with a length of 0 (the caller sets it, then
 * fixes the heap); room made first. NULL on ENOMEM or a key too long.
 */
static struct rl_entry *
entry_new(struct ratelimit *rl, const void *key, size_t klen, uint64_t h,
    int global, long long now)
{
	struct rl_entry *e;

	if (klen > UINT32_MAX || klen > SIZE_MAX - sizeof(*e) ||
	    (e = malloc(sizeof(*e) + klen)) == NULL)
		return NULL;
	make_room(rl, global, now);
	if (heap_reserve(&rl->ends[global], rl->max_keys) < 0) {
		free(e);
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->start = now;
	e->hn.at = (uint64_t)now;
	e->hash = h;
	e->global = global;
	e->klen = (uint32_t)klen;
	if (klen > 0)
		memcpy(e->key, key, klen);
	if (rl->ends[0].len + rl->ends[1].len >= rl->nbuckets &&
	    rl->nbuckets < rl->maxbuckets)
		grow(rl);
	LIST_INSERT_HEAD(&rl->buckets[h & (rl->nbuckets - 1)], e, chain);
	heap_push(&rl->ends[global], &e->hn);
	return e;
}

int
ratelimit_peek(struct ratelimit *rl, const void *key, size_t klen,
    uint32_t rate_max, uint64_t *retry_after_ms)
{
	struct rl_entry *e;
	long long now;

	*retry_after_ms = 0;
	if (rate_max == 0)
		return 0;
	now = rl->now();
	e = lookup(rl, key, klen, ratelimit_siphash(rl->seed, key, klen));
	if (e == NULL || expired(e, now) || e->count < rate_max)
		return 0;
	*retry_after_ms = (uint64_t)(e->start + e->window_ms - now);
	return 1;
}

int
ratelimit_hit(struct ratelimit *rl, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry_after_ms)
{
	return ratelimit_hit_n(rl, key, klen, window_ms, rate_max, 1,
	    retry_after_ms);
}

/* ratelimit_hit_n() of a global window or a client's. */
static int
hit(struct ratelimit *rl, const void *key, size_t klen, int global,
    uint32_t window_ms, uint32_t rate_max, uint32_t n,
    uint64_t *retry_after_ms)
{
	struct rl_entry *e;
	long long now;
	uint64_t h;

	*retry_after_ms = 0;
	if (rate_max == 0)
		return 0;
	if (window_ms == 0)
		window_ms = 1;	/* callers check; be safe anyway */
	now = rl->now();
	sweep(rl, now, RATELIMIT_SWEEP_HIT);
	h = ratelimit_siphash(rl->seed, key, klen);

	if ((e = lookup(rl, key, klen, h)) == NULL) {
		if ((e = entry_new(rl, key, klen, h, global, now)) == NULL)
			return -1;
	} else if (now - e->start >= (long long)window_ms) {
		/* Its window is over: this request starts the next one. */
		e->start = now;
		e->count = 0;
	}
	/* The request's length applies, so the window may end elsewhere. */
	e->window_ms = window_ms;
	ends_fix(rl, e);
	if ((uint64_t)e->count + n > rate_max) {
		/* now - start < window_ms here, so at least 1. */
		*retry_after_ms = (uint64_t)(e->start + window_ms - now);
		return 1;
	}
	e->count += n;
	return 0;
}

int
ratelimit_hit_n(struct ratelimit *rl, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint32_t n,
    uint64_t *retry_after_ms)
{
	return hit(rl, key, klen, 0, window_ms, rate_max, n, retry_after_ms);
}

int
ratelimit_hit_global(struct ratelimit *rl, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint32_t n,
    uint64_t *retry_after_ms)
{
	return hit(rl, key, klen, 1, window_ms, rate_max, n, retry_after_ms);
}
