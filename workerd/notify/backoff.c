/*
 * When a failed webhook delivery is tried again (issue 23: "exponential
 * backoff and jitter for at least 24 hours, then the delivery is
 * failed"). Retry n waits w(n) = min(5 s * 2^(n-1), 1 h), less a jitter
 * of up to 1/8 of it, so that the deliveries a receiver's outage failed
 * together do not all come back in the same second:
 *
 *	retry	w(n)		jittered wait
 *	1	5 s		(4.375 s, 5 s]
 *	2	10 s		(8.75 s, 10 s]
 *	...	doubling
 *	10	2560 s		(2240 s, 2560 s]
 *	11-37	3600 s each	(3150 s, 3600 s]
 *
 * Retries 1-10 wait 5115 s at most and 4475.6 s at least; 27 hours
 * more at least 27 * 3150 = 85,050 s: in all at least 89,525.6 s (24.9 h;
 * 26 hourly retries would be 86,375.6 s, short of 24 h) and at most
 * 5115 + 27 * 3600 = 102,315 s (28.4 h). With the first try, 38 attempts
 * (NOTIFY_ATTEMPTS_MAX).
 *
 * PARLEY_NOTIFY_RETRY_MS sets the first wait in place of 5 s (tests);
 * the cap and the number of attempts stay.
 */
#include "notify.h"

/* Retries after the first attempt. */
#define RETRIES		(NOTIFY_ATTEMPTS_MAX - 1)

uint64_t
notify_backoff_ms(unsigned attempt, uint32_t rnd)
{
	return notify_backoff_from(NOTIFY_BACKOFF_BASE_MS, attempt, rnd);
}

uint64_t
notify_backoff_from(uint64_t base_ms, unsigned attempt, uint32_t rnd)
{
	uint64_t w = base_ms > 0 ? base_ms : 1;
	unsigned n;

	if (attempt < 1)
		attempt = 1;
	if (attempt > RETRIES)
		attempt = RETRIES;
	for (n = 1; n < attempt && w < NOTIFY_BACKOFF_CAP_MS; n++)
		w *= 2;
	if (w > NOTIFY_BACKOFF_CAP_MS)
		w = NOTIFY_BACKOFF_CAP_MS;
	/* w / 8 is whole for the default (5000 * 2^k, 3600000). */
	return w - ((w / 8) * rnd >> 32);
}

int
notify_backoff_done(unsigned attempts)
{
	return attempts >= NOTIFY_ATTEMPTS_MAX;
}
