/*
 * The clocks the small bench programs read (curlcost.c, flushways.c): this
 * process's CPU time and the monotonic wall clock, in microseconds.
 */
#ifndef PARLEY_BENCHCLOCK_H
#define PARLEY_BENCHCLOCK_H

#include <sys/resource.h>

#include <time.h>

/* This process's user + system CPU so far (getrusage), in µs. */
static inline double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* CLOCK_MONOTONIC, in µs. */
static inline double
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#endif
