/*
 * Rate counters: a fixed window per key, kept in storaged's memory so that
 * every worker counts against the same numbers. Not stored: a storaged
 * restart forgets them.
 *
 * A key's window starts at its first counted request and lasts the
 * request's window_ms; within it at most rate_max requests are counted.
 * A request over the limit is refused and not counted; it is told how long
 * until the window ends. rate_max 0 means no limit (nothing is counted).
 *
 * Memory is bounded: windows are kept in order of their end (whatever
 * their lengths), expired ones are swept a few at a time on every hit and
 * every loop turn, and a full table makes room by dropping every expired
 * window first, then the live one that ends soonest (whose key then starts
 * afresh: the limit errs open, never closed).
 *
 * Global windows (a budget all clients share: the failed logins, a
 * widget's new sessions) are held apart from the clients', max_keys of
 * each: a client's new key only ever drops a client's window, so no number
 * of clients can reset a global budget. A new global key drops the global
 * window that ends soonest when max_keys of them are live (more widgets
 * taking new visitors in a minute than that).
 */
#ifndef PARLEY_RATELIMIT_H
#define PARLEY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Expired windows dropped per hit; the table shrinks faster than it grows. */
#define RATELIMIT_SWEEP_HIT	4

struct ratelimit;

/* NULL on ENOMEM. max_keys >= 1. */
struct ratelimit *ratelimit_new(size_t max_keys);
void ratelimit_free(struct ratelimit *);
/* Replaces the monotonic clock (ms): tests use a fake one. NULL restores. */
void ratelimit_set_clock(struct ratelimit *, long long (*now_ms)(void));

/*
 * Counts one request of key (klen bytes, any bytes). Returns 0 when it is
 * allowed (and counted), 1 when it is limited (*retry_after_ms is then the
 * time until the window ends, at least 1), -1 when memory ran out. With
 * rate_max 0 it returns 0 and touches nothing. window_ms must be >= 1 when
 * rate_max is not 0.
 */
int ratelimit_hit(struct ratelimit *, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint64_t *retry_after_ms);
/*
 * ratelimit_hit() of n at once (bytes in units, say): limited when the
 * window's count and n would pass rate_max, and then nothing counted.
 */
int ratelimit_hit_n(struct ratelimit *, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint32_t n,
    uint64_t *retry_after_ms);
/*
 * ratelimit_hit_n() of a global window (ratelimit_peek() reads either).
 * A key is global or a client's from its first hit on: keep them apart.
 */
int ratelimit_hit_global(struct ratelimit *, const void *key, size_t klen,
    uint32_t window_ms, uint32_t rate_max, uint32_t n,
    uint64_t *retry_after_ms);
/*
 * Whether a hit of key now would be limited, without counting it or
 * keeping anything: 1 (with *retry_after_ms as ratelimit_hit sets it)
 * when its window is live and holds rate_max requests, else 0.
 */
int ratelimit_peek(struct ratelimit *, const void *key, size_t klen,
    uint32_t rate_max, uint64_t *retry_after_ms);
/* Drops up to budget expired windows. Returns how many went. */
size_t ratelimit_sweep(struct ratelimit *, size_t budget);
/* What the table holds, for tests and logs. */
struct ratelimit_stats {
	size_t count;		/* keys held now, global ones included */
	size_t global;		/* global keys held now */
	uint64_t evicted;	/* live windows dropped because the table was full */
};
struct ratelimit_stats ratelimit_stats(const struct ratelimit *);

/* SipHash-2-4 of data under a 16-byte key (exposed for its test vector). */
uint64_t ratelimit_siphash(const uint8_t key[16], const void *data,
    size_t len);

#endif
