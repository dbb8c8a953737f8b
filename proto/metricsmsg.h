/*
 * Metrics between the workers and storaged (GET /metrics).
 *
 * A metric set is a list of series, each one number with its name and
 * labels already in the Prometheus text form:
 *
 *	u32 n, n x (u8 kind, str name, str labels, u64 value)
 *
 * kind is MS_COUNTER, MS_GAUGE or MS_RUN, or'ed with MS_MICRO when value
 * is in microseconds (shown in seconds). labels is "" or the inside of the
 * braces: name="value"{,name="value"}, values escaped as the exposition
 * format says. A histogram is its _bucket (cumulative, le label), _sum and
 * _count series.
 *
 *   ST_METRICS_PUT  u64 instance, u64 seq, set   -> (empty)
 *       A worker, every second: its counters' increase since its last
 *       acknowledged PUT, and its gauges' current values. storaged adds
 *       the counters to its totals (so they survive the worker), keeps the
 *       gauges of that connection until it closes, and each MS_RUN's
 *       newest run.
 *       instance is the worker's (random, made when it starts), seq the
 *       push's number: an unacknowledged push goes again with the same seq
 *       and the same growth, and storaged adds no seq of an instance twice.
 *   ST_METRICS_GET  (empty)                      -> set
 *       The totals, the gauges of the live connections, storaged's own.
 */
#ifndef PARLEY_METRICSMSG_H
#define PARLEY_METRICSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define MS_COUNTER	0
#define MS_GAUGE	1
/*
 * A count a process hands to every worker (masterd's replaced workers,
 * MW_RESTARTS), from 0 at each of its starts: value is MS_RUN_VALUE(run,
 * n), run its start (wall ms since MS_RUN_EPOCH_MS: two starts never
 * share one), n at most MS_RUN_N_MAX. storaged keeps the newest run's
 * largest n and adds each older run's last to it, so the total goes on
 * growing across runs; a late push of an older run (its workers still
 * quitting) is ignored. A clock set back before the last run's start
 * holds the total until it passes it. It is answered as a counter.
 */
#define MS_RUN		2
#define MS_RUN_EPOCH_MS		1577836800000ull	/* 2020-01-01 */
#define MS_RUN_N_MAX		0xfffffu		/* 20 bits */
#define MS_RUN_VALUE(run, n)	(((uint64_t)(run) << 20) | \
	((n) < MS_RUN_N_MAX ? (uint64_t)(n) : MS_RUN_N_MAX))
#define MS_RUN_OF(v)		((v) >> 20)
#define MS_RUN_N(v)		((uint32_t)((v) & MS_RUN_N_MAX))
#define MS_KIND_MASK	0x0f
#define MS_MICRO	0x10

#define MS_NAME_MAX	128
#define MS_LABELS_MAX	512
#define MS_SERIES_MAX	4096	/* series one set may hold */

struct mseries {
	uint8_t kind;
	char name[MS_NAME_MAX + 1];
	char labels[MS_LABELS_MAX + 1];
	uint64_t value;
	uint64_t base;		/* MS_RUN, in storaged's totals: older runs' */
};

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
int ms_name_ok(const char *);
/* "" or name="value"{,name="value"} with \\, \" and \n the only escapes. */
int ms_labels_ok(const char *);
/* Appends the label value v escaped (\\, \", \n) to out; -1 if it won't fit. */
int ms_escape(char *out, size_t outsz, const char *v);

void ms_enc(struct penc *, uint8_t kind, const char *name,
    const char *labels, uint64_t value);
/*
 * A set is written as ms_set_begin, the series (counting them in *n),
 * ms_set_end, which writes the count in front.
 */
size_t ms_set_begin(struct penc *);
void ms_set_end(struct penc *, size_t at, uint32_t n);

/*
 * A histogram with fixed upper bounds (ascending, at most MH_BOUNDS_MAX;
 * +Inf is implied): per-bucket counts, not cumulative; the last is +Inf.
 */
#define MH_BOUNDS_MAX	16
struct mhist {
	uint64_t b[MH_BOUNDS_MAX + 1];
	uint64_t sum;
	uint64_t count;
};
void mh_observe(struct mhist *, const uint64_t *bounds, size_t nb,
    uint64_t v);
/*
 * Writes h minus base (NULL: nothing; for a worker's increase since its
 * last push) as base_bucket (cumulative, le), base_sum, base_count, with
 * labels before le. micro: bounds and sum are µs, shown in seconds.
 * Nothing when the count did not grow.
 */
void mh_enc(struct penc *, uint32_t *n, const char *base, const char *labels,
    const uint64_t *bounds, size_t nb, int micro, const struct mhist *h,
    const struct mhist *old);
/* One series; 0, or -1 when malformed (bad kind, name or labels). */
int ms_dec(struct pdec *, struct mseries *);

#endif
