/*
 * The metric totals (metrictotals.h). A worker sends what its counters grew by
 * since its last acknowledged push, so they are added here and outlive
 * the worker: a restart never makes a counter go backwards. Its gauges
 * are only true while it lives, so they stay with its connection.
 *
 * Exactly once: a push the worker saw fail (a timeout, a lost connection)
 * may have been added here already, or may still be, from this socket's
 * buffer. The worker sends it again with the same growth under the same
 * (instance, seq), and a seq not greater than its instance's last one
 * added is acknowledged and not added again (its gauges still replace).
 * All of it, the totals and the last seqs, lives in memory only: a
 * storaged restart starts the totals again anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrictotals.h"
#include "proto.h"

static struct mseries *totals;
static size_t ntotals, captotals;
static int full_logged;

/*
 * The last seq added, per worker instance. Bounded: at most NINSTANCES,
 * the least recently seen one dropped to make room, whose next push is
 * then simply added (a duplicate of it could count twice, which takes
 * more than NINSTANCES workers pushing between its send and its resend).
 * A restarted worker is a new instance; the old one ages out.
 */
#define NINSTANCES	256
static struct seen {
	uint64_t instance;
	uint64_t seq;
	uint64_t used;		/* seen_clock when last seen; 0: free */
} seen[NINSTANCES];
static uint64_t seen_clock;

/* storaged's own. */
static const uint64_t commit_bounds[] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000
};
#define NCOMMIT	(sizeof(commit_bounds) / sizeof(commit_bounds[0]))
static const uint64_t batch_bounds[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024
};
#define NBATCH	(sizeof(batch_bounds) / sizeof(batch_bounds[0]))
static struct mhist commit_h, batch_h;
static uint64_t commits[2], commit_fails, log_flushes, shared_requests;
static uint64_t shared_long;
static uint64_t requests[PROTO_TYPE_MAX];
/* Records read and written, by their place in rl_layouts. */
#define NRECORDS	32
static uint64_t rec_counts[2][NRECORDS];
/* Replication's state (smetrics_replica); repl_set 0 until told. */
static struct st_repl_status repl;
static uint64_t repl_outs;
static int repl_set;
static uint64_t repl_snaps[2];	/* begun, refused (smetrics_repl_snapshot) */
/* The map's use (smetrics_map); size 0 until told. */
static struct map_figures {
	uint64_t used, size;
	int reserved;
} map;

static struct mseries *
find(struct mseries *v, size_t n, const struct mseries *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, k->name) == 0 &&
		    strcmp(v[i].labels, k->labels) == 0)
			return &v[i];
	return NULL;
}

/* k, an MS_RUN series, into its total t (metricsmsg.h). */
static void
run_add(struct mseries *t, const struct mseries *k)
{
	if (MS_RUN_OF(k->value) < MS_RUN_OF(t->value))
		return;			/* a late push of an older run */
	if (MS_RUN_OF(k->value) > MS_RUN_OF(t->value)) {
		t->base += MS_RUN_N(t->value);
		t->value = k->value;
	} else if (k->value > t->value)
		t->value = k->value;
}

/* Adds k into totals: counters sum, MS_RUN as run_add says. */
static void
total_add(const struct mseries *k)
{
	struct mseries *t, *nv;

	if ((t = find(totals, ntotals, k)) != NULL) {
		if ((t->kind & MS_KIND_MASK) == MS_RUN)
			run_add(t, k);
		else
			t->value += k->value;
		return;
	}
	if (ntotals == MS_SERIES_MAX) {
		if (!full_logged)
			log_warnx("metrics: more than %d series; dropping",
			    MS_SERIES_MAX);
		full_logged = 1;
		return;
	}
	if ((nv = proto_grow(totals, &captotals, ntotals, sizeof(*nv), 64,
	    MS_SERIES_MAX)) == NULL)
		return;
	totals = nv;
	totals[ntotals] = *k;
	totals[ntotals++].base = 0;
}

/* The entry of instance: its own, else a free one, else the least recent. */
static struct seen *
seen_of(uint64_t instance)
{
	struct seen *old = &seen[0];
	size_t i;

	for (i = 0; i < NINSTANCES; i++)
		if (seen[i].used != 0 && seen[i].instance == instance)
			return &seen[i];
	for (i = 0; i < NINSTANCES; i++) {
		if (seen[i].used == 0)
			return &seen[i];
		if (seen[i].used < old->used)
			old = &seen[i];
	}
	return old;
}

/*
 * The gauges of set into *gvp (a new array, NULL when none), *np of
 * them. 0, or -1 out of memory.
 */
static int
gauges_of(const struct st_mset *set, struct mseries **gvp, size_t *np)
{
	struct mseries *gv = NULL, *o;
	const struct mseries *s;
	size_t i, ng = 0;

	for (i = 0; i < set->n; i++)
		if ((set->series[i].kind & MS_KIND_MASK) == MS_GAUGE)
			ng++;
	if (ng > 0 && (gv = calloc(ng, sizeof(*gv))) == NULL)
		return -1;
	ng = 0;
	for (i = 0; i < set->n; i++) {
		s = &set->series[i];
		if ((s->kind & MS_KIND_MASK) != MS_GAUGE)
			continue;
		/* A name twice in one set: the last one stands. */
		if ((o = find(gv, ng, s)) != NULL)
			*o = *s;
		else
			gv[ng++] = *s;
	}
	*gvp = gv;
	*np = ng;
	return 0;
}

int
smetrics_put(struct smgauges *g, const struct st_mput *put)
{
	struct mseries *gv;
	struct seen *sn;
	size_t i, ng;

	if (gauges_of(&put->set, &gv, &ng) < 0)
		return -1;
	sn = seen_of(put->instance);
	if (sn->used == 0 || sn->instance != put->instance ||
	    put->seq > sn->seq) {
		for (i = 0; i < put->set.n; i++)
			if ((put->set.series[i].kind & MS_KIND_MASK) !=
			    MS_GAUGE)
				total_add(&put->set.series[i]);
		sn->instance = put->instance;
		sn->seq = put->seq;
	}
	sn->used = ++seen_clock;
	free(g->s);
	g->s = gv;
	g->n = ng;
	return 0;
}

void
smetrics_gone(struct smgauges *g)
{
	free(g->s);
	g->s = NULL;
	g->n = 0;
}

void
smetrics_request(uint16_t type)
{
	if (type < PROTO_TYPE_MAX)
		requests[type]++;
}

void
smetrics_commit(uint64_t us, size_t nreq, int write, int failed)
{
	commits[write ? 1 : 0]++;
	if (failed)
		commit_fails++;
	mh_observe(&commit_h, commit_bounds, NCOMMIT, us);
	mh_observe(&batch_h, batch_bounds, NBATCH, nreq);
}

void
smetrics_record(const struct rlayout *l, int write)
{
	int i;

	if ((i = rl_place(l)) >= 0 && i < NRECORDS)
		rec_counts[write ? 1 : 0][i]++;
}

/* The records' reads and writes that are not 0. */
static uint32_t
records_enc(struct penc *e)
{
	static const char *const names[2] = {
		"parley_storage_record_reads_total",
		"parley_storage_record_writes_total"
	};
	char lab[64];
	uint32_t n = 0;
	size_t i;
	int w;

	for (w = 0; w < 2; w++)
		for (i = 0; i < rl_nlayouts && i < NRECORDS; i++) {
			if (rec_counts[w][i] == 0)
				continue;
			snprintf(lab, sizeof(lab), "record=\"%s\"",
			    rl_layouts[i]->name);
			ms_enc(e, MS_COUNTER, names[w], lab, rec_counts[w][i]);
			n++;
		}
	return n;
}

void
smetrics_log_flush(void)
{
	log_flushes++;
}

void
smetrics_shared_request(int longer)
{
	shared_requests++;
	if (longer)
		shared_long++;
}

void
smetrics_replica(const struct st_repl_status *s, uint64_t outs)
{
	repl = *s;
	repl_outs = outs;
	repl_set = 1;
}

void
smetrics_repl_snapshot(int refused)
{
	repl_snaps[refused != 0]++;
}

/*
 * parley_replica_*: the role and term, the standby's link, lag and state,
 * the snapshots begun and refused.
 */
static uint32_t
replica_enc(struct penc *e)
{
	static const char *const roles[] = { "primary", "standby", "fenced" };
	char lab[32];

	if (!repl_set)
		return 0;
	snprintf(lab, sizeof(lab), "role=\"%s\"", repl.role < 3 ?
	    roles[repl.role] : "?");
	ms_enc(e, MS_GAUGE, "parley_replica_term", lab, repl.term);
	ms_enc(e, MS_GAUGE, "parley_replica_seq", "", repl.seq);
	ms_enc(e, MS_GAUGE, "parley_replica_connected", "", repl.linked);
	ms_enc(e, MS_GAUGE, "parley_replica_acked_seq", "", repl.acked);
	ms_enc(e, MS_GAUGE, "parley_replica_lag_records", "",
	    repl.seq > repl.acked ? repl.seq - repl.acked : 0);
	ms_enc(e, MS_GAUGE, "parley_replica_in_sync", "", repl.in_sync);
	ms_enc(e, MS_GAUGE, "parley_replica_alone", "", repl.alone);
	ms_enc(e, MS_COUNTER, "parley_replica_out_of_sync_total", "",
	    repl_outs);
	ms_enc(e, MS_COUNTER, "parley_replica_snapshots_total",
	    "outcome=\"begun\"", repl_snaps[0]);
	ms_enc(e, MS_COUNTER, "parley_replica_snapshots_total",
	    "outcome=\"refused\"", repl_snaps[1]);
	return 10;
}

void
smetrics_map(uint64_t used, uint64_t size, int reserved)
{
	map = (struct map_figures){ used, size, reserved };
}

static uint32_t
map_enc(struct penc *e)
{
	if (map.size == 0)
		return 0;
	ms_enc(e, MS_GAUGE, "parley_storage_map_used_bytes", "", map.used);
	ms_enc(e, MS_GAUGE, "parley_storage_map_size_bytes", "", map.size);
	ms_enc(e, MS_GAUGE, "parley_storage_map_reserved", "",
	    (uint64_t)map.reserved);
	return 3;
}

void
smetrics_get(struct penc *e, struct smgauges *const *gs, size_t ng)
{
	struct mseries *sum = NULL, *o;
	size_t nsum = 0, cap = 0, i, j;
	uint32_t n = 0;
	size_t at;
	char lab[64];
	int t;

	at = ms_set_begin(e);
	for (i = 0; i < ntotals; i++, n++)
		if ((totals[i].kind & MS_KIND_MASK) == MS_RUN)
			ms_enc(e, MS_COUNTER, totals[i].name, totals[i].labels,
			    totals[i].base + MS_RUN_N(totals[i].value));
		else
			ms_enc(e, totals[i].kind, totals[i].name,
			    totals[i].labels, totals[i].value);
	/* The gauges of every live worker, summed. */
	for (i = 0; i < ng; i++)
		cap += gs[i]->n;
	if (cap > 0 && (sum = calloc(cap, sizeof(*sum))) == NULL) {
		e->err = 1;
		return;
	}
	for (i = 0; i < ng; i++)
		for (j = 0; j < gs[i]->n; j++) {
			if ((o = find(sum, nsum, &gs[i]->s[j])) != NULL)
				o->value += gs[i]->s[j].value;
			else
				sum[nsum++] = gs[i]->s[j];
		}
	for (i = 0; i < nsum; i++, n++)
		ms_enc(e, sum[i].kind, sum[i].name, sum[i].labels,
		    sum[i].value);
	free(sum);

	ms_enc(e, MS_GAUGE, "parley_storage_clients", "", ng);
	ms_enc(e, MS_COUNTER, "parley_storage_commits_total",
	    "mode=\"read\"", commits[0]);
	ms_enc(e, MS_COUNTER, "parley_storage_commits_total",
	    "mode=\"write\"", commits[1]);
	ms_enc(e, MS_COUNTER, "parley_storage_commit_failures_total", "",
	    commit_fails);
	ms_enc(e, MS_COUNTER, "parley_storage_log_flushes_total", "",
	    log_flushes);
	ms_enc(e, MS_COUNTER, "parley_storage_shared_requests_total", "",
	    shared_requests);
	ms_enc(e, MS_COUNTER, "parley_storage_shared_long_requests_total", "",
	    shared_long);
	n += 7;
	for (t = 0; t < PROTO_TYPE_MAX; t++) {
		if (requests[t] == 0)
			continue;
		snprintf(lab, sizeof(lab), "type=\"%s\"", proto_msg_name(t));
		ms_enc(e, MS_COUNTER, "parley_storage_requests_total", lab,
		    requests[t]);
		n++;
	}
	n += records_enc(e);
	n += replica_enc(e);
	n += map_enc(e);
	mh_enc(e, &n, "parley_storage_commit_seconds", "", commit_bounds,
	    NCOMMIT, 1, &commit_h, NULL);
	mh_enc(e, &n, "parley_storage_batch_requests", "", batch_bounds,
	    NBATCH, 0, &batch_h, NULL);
	ms_set_end(e, at, n);
}

void
smetrics_reset(void)
{
	free(totals);
	totals = NULL;
	ntotals = captotals = 0;
	memset(seen, 0, sizeof(seen));
	seen_clock = 0;
	full_logged = 0;
	memset(&commit_h, 0, sizeof(commit_h));
	memset(&batch_h, 0, sizeof(batch_h));
	memset(commits, 0, sizeof(commits));
	memset(requests, 0, sizeof(requests));
	memset(rec_counts, 0, sizeof(rec_counts));
	commit_fails = log_flushes = shared_requests = shared_long = 0;
	repl_set = 0;
	repl_outs = 0;
	memset(repl_snaps, 0, sizeof(repl_snaps));
	memset(&map, 0, sizeof(map));
}
