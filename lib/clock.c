/* Clocks, one definition for every process. */
#include <time.h>

#include "proto.h"

/* Clock id's time in ms. */
static long long
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
proto_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t
proto_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

long long
proto_boot_ms(void)
{
	return clock_ms(CLOCK_BOOTTIME);
}

uint64_t
proto_wall_ms(void)
{
	return (uint64_t)clock_ms(CLOCK_REALTIME);
}
