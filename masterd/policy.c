/*
 * The decisions masterd makes by rule, kept free of I/O so the unit
 * tests can pin them down: which children may take a connection (only
 * the rows of procs.c that get MW_CONN), which worker gets the next one,
 * and how long to wait before starting a child that keeps dying at
 * start-up.
 */
#include "masterd.h"

/*
 * <0 when a is the better choice. A worker with a backed-up channel is
 * not reading it, so anyone else goes first; then the fewest connections;
 * then whoever was chosen longest ago, which makes ties round-robin.
 */
int
pick_cmp(const struct pick_cand *a, const struct pick_cand *b)
{
	int asoft = a->queued >= CHAN_SOFT_BYTES;
	int bsoft = b->queued >= CHAN_SOFT_BYTES;

	if (asoft != bsoft)
		return asoft - bsoft;
	if (a->load != b->load)
		return a->load < b->load ? -1 : 1;
	if (a->last_pick != b->last_pick)
		return a->last_pick < b->last_pick ? -1 : 1;
	return 0;
}

int
pick_can_take(const struct worker *w)
{
	return proc_takes_conns(w->proc) && w->ready && !w->quitting &&
	    w->ch_open && w->ch.wq_bytes < CHAN_HARD_BYTES;
}

/* Index of the best candidate, or -1 when every channel is full. */
int
pick_best(const struct pick_cand *c, size_t n)
{
	size_t i;
	int best = -1;

	for (i = 0; i < n; i++) {
		if (c[i].queued >= CHAN_HARD_BYTES)
			continue;
		if (best < 0 || pick_cmp(&c[i], &c[best]) < 0)
			best = (int)i;
	}
	return best;
}

/* 0 before any failure, then 100 ms doubling up to 30 s. */
int
backoff_ms(unsigned fails)
{
	int ms = BACKOFF_MIN_MS;

	if (fails == 0)
		return 0;
	while (--fails > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}
