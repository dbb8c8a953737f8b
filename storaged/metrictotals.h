/*
 * storaged's side of GET /metrics (metricsmsg.h): the workers' counters
 * summed, the gauges of the connections still open, and storaged's own
 * (commit latency, batch sizes, requests by type).
 */
#ifndef PARLEY_STORAGED_METRICS_H
#define PARLEY_STORAGED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "metricsmsg.h"
#include "record.h"
#include "stmsgs.h"

/* A client's latest gauges; zeroed by the owner, freed by smetrics_gone. */
struct smgauges {
	struct mseries *s;
	size_t n;
};

/*
 * ST_METRICS_PUT (decoded, so well-formed) from the client owning g: its
 * counters added unless its instance's last seq added is put->seq or
 * greater (a push resent), its gauges replacing g's either way. 0, or -1
 * out of memory (nothing changed).
 */
int smetrics_put(struct smgauges *g, const struct st_mput *put);
/* The client closed: its gauges stop counting (its counters stay). */
void smetrics_gone(struct smgauges *g);
/* ST_METRICS_GET's reply; the live gauges are those of gs[0..ng). */
void smetrics_get(struct penc *, struct smgauges *const *gs, size_t ng);
/* One request of a batch; a batch's commit (µs) and its size. */
void smetrics_request(uint16_t type);
void smetrics_commit(uint64_t us, size_t nreq, int write, int failed);
/*
 * One stored record decoded (write 0) or encoded and put (write 1), by
 * its layout (one of rl_layouts): parley_storage_record_reads_total and
 * _writes_total, what a request costs in records.
 */
void smetrics_record(const struct rlayout *, int write);
/* One flush of the write-ahead log (wal_sync), whatever made it. */
void smetrics_log_flush(void);
/*
 * One request flagged PROTO_F_SHARE (its flush may be shared); longer:
 * PROTO_F_SHARE_LONG too (it may wait longer for it).
 */
void smetrics_shared_request(int longer);
/*
 * Replication's state (repl.c), shown as parley_replica_*: s as
 * ST_REPL_STATUS says it, outs the times the standby went out of sync.
 */
void smetrics_replica(const struct st_repl_status *s, uint64_t outs);
/*
 * A snapshot for a standby begun (refused 0) or refused (1: one is being
 * sent, or its peer's last was too recent): parley_replica_snapshots_total.
 */
void smetrics_repl_snapshot(int refused);
/* The map's use (parley_storage_map_*), as the store last read it. */
void smetrics_map(uint64_t used, uint64_t size, int reserved);
/* Forgets everything (tests). */
void smetrics_reset(void);

#endif
