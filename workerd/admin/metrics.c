/*
 * GET /metrics: Prometheus text (version 0.0.4) of every worker's counters
 * and storaged's own (docs/internals.md, "Metrics").
 *
 * Counting is array increments on the hot path, no allocation. Every
 * METRICS_PUSH_MS this worker sends storaged its counters' growth since
 * the last push storaged acknowledged, and its gauges; storaged adds the
 * growth to totals that outlive the worker, so a restart never makes a
 * counter go backwards. /metrics pushes first (the same channel keeps the
 * order, so the answer includes this worker's latest), then asks for the
 * totals. Without storaged it shows this worker's own, storage_up 0.
 *
 * Exactly once: a push that timed out or lost its connection may still
 * be added by storaged. So each push carries this worker's instance id
 * (random, made once) and a sequence number, and until one is
 * acknowledged it goes again as it was: the same number, the same growth
 * (the snapshot inflight less acked; what grew meanwhile waits for the
 * next number). storaged adds a number once (metrictotals.c).
 *
 * Who may read: anyone with the admin key. Without it, only when
 * PARLEY_METRICS_OPEN=loopback (off by default: a reverse proxy on the
 * same host that adds no forwarding header would open it to everyone),
 * and then only a peer on loopback, by the socket's address, that is not
 * a trusted proxy (TRUST_PROXY) and whose request carries no
 * X-Forwarded-For, Forwarded or X-Real-IP header; docs/install.md's proxy
 * snippets also refuse /metrics outright (docs/internals.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "chat.h"
#include "log.h"
#include "metricsmsg.h"
#include "random.h"
#include "upstream.h"
#include "workerd.h"
#include "ws.h"

#define METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_HEADERS	"Cache-Control: no-store\r\n"

/* Statuses counted apart; any other is counted as its class ("4xx"). */
static const int codes[] = {
	101, 200, 201, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404,
	405, 408, 409, 411, 413, 414, 415, 416, 422, 429, 431, 500, 501, 502,
	503, 504, 505
};
#define NCODES		(sizeof(codes) / sizeof(codes[0]))
#define NSLOTS		(NCODES + 5)	/* + 1xx..5xx */

/* upstream_status, then cancelled. */
static const char *const up_kinds[] = {
	"ok", "http_error", "broken", "timeout"
};
#define NUPKINDS	(sizeof(up_kinds) / sizeof(up_kinds[0]))

/* The tokens counted, by kind: a model's prompt and answer, embeddings, reranks. */
static const char *const token_labels[] = {
	"kind=\"prompt\"", "kind=\"completion\"", "kind=\"embedding\"",
	"kind=\"rerank\""
};
#define NTOKENS		(sizeof(token_labels) / sizeof(token_labels[0]))

/* The actions the model called, by outcome (metrics_tool_call's ok first). */
static const char *const tool_labels[] = {
	"outcome=\"done\"", "outcome=\"failed\""
};
#define NTOOLS		(sizeof(tool_labels) / sizeof(tool_labels[0]))

/* µs: 10 ms to 60 s, for a model's first byte and its whole answer. */
static const uint64_t up_bounds[] = {
	10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 30000000, 60000000
};
#define NUPB		(sizeof(up_bounds) / sizeof(up_bounds[0]))

/* µs: 1 ms to 30 s, an action's call (a loopback API answers in ms). */
static const uint64_t tool_bounds[] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
	2500000, 5000000, 10000000, 30000000
};
#define NTOOLB		(sizeof(tool_bounds) / sizeof(tool_bounds[0]))

struct wmetrics {
	/* By route (the last: none) and status slot. */
	uint64_t http[METRICS_ROUTES_MAX + 1][NSLOTS];
	uint64_t up_started;
	uint64_t up_ended[NUPKINDS];
	uint64_t up_cancelled;
	uint64_t starts_held;	/* turn_start_hold_ms's holds */
	struct mhist up_ttfb, up_total;
	uint64_t tokens[NTOKENS];	/* token_labels' kinds */
	uint64_t feedback[3];	/* ratings, thumbs up, thumbs down (issue 26) */
	uint64_t tools[NTOOLS];	/* actions the model called: tool_labels */
	struct mhist tool_time;	/* those that reached the API */
};

static struct wmetrics cur, acked, inflight;
static uint64_t instance;	/* ST_METRICS_PUT's; 0 until made */
static uint64_t seq = 1;	/* the pending push's, or the next one's */
static int pending;		/* inflight - acked not yet acknowledged */
static struct storec_req *push_req;
static struct loop_timer push_timer;
static uint32_t restarts;		/* MW_RESTARTS: n, */
static uint64_t restarts_run;		/* and masterd's run */
static int inited;

/* What Prometheus shows for each family. */
static const struct family {
	const char *name;
	const char *type;
	const char *help;
} families[] = {
	{ "parley_http_requests_total", "counter",
	    "HTTP answers by route pattern, method and status." },
	{ "parley_http_connections", "gauge",
	    "Open HTTP connections (WebSockets not included)." },
	{ "parley_streams_open", "gauge",
	    "Streamed HTTP answers in progress (NDJSON chat, export)." },
	{ "parley_ws_sessions_open", "gauge",
	    "Open WebSocket sessions." },
	/* chat_turns() + wschat_turns(), summed over the workers. */
	{ "parley_chat_turns_active", "gauge",
	    "Chat turns open on the workers now: HTTP and WebSocket turns "
	    "(also those whose client left, still storing) and answers to "
	    "conversations handed back to the assistant; with HTTP chat "
	    "requests waiting for storaged without a turn (history, "
	    "refusals)." },
	{ "parley_upstream_active", "gauge",
	    "Model calls in flight." },
	{ "parley_upstream_requests_total", "counter",
	    "Model calls started." },
	{ "parley_upstream_responses_total", "counter",
	    "Model calls ended, by outcome (ok, http_error, broken, "
	    "timeout)." },
	{ "parley_upstream_errors_total", "counter",
	    "Model calls that failed, by kind." },
	{ "parley_upstream_cancelled_total", "counter",
	    "Model calls stopped because their client left." },
	{ "parley_turn_starts_held_total", "counter",
	    "Turns whose start waited (at most 50 ms) to go out with the "
	    "model's first text, the model being quick lately." },
	{ "parley_upstream_ttfb_seconds", "histogram",
	    "Time from a model call's start to its first byte of answer." },
	{ "parley_upstream_duration_seconds", "histogram",
	    "Time from a model call's start to its end." },
	{ "parley_tokens_total", "counter",
	    "Tokens the model server reported, by kind (prompt, completion; "
	    "embedding and rerank: the knowledge base's)." },
	{ "parley_feedback_total", "counter",
	    "Thumbs visitors gave answers, by value (up, down)." },
	{ "parley_tool_calls_total", "counter",
	    "Actions the model called, by outcome (done: a 2xx answer; "
	    "failed: refused, another status, a timeout or no answer)." },
	{ "parley_tool_call_seconds", "histogram",
	    "Time of an action's call to its API, the answer read." },
	{ "parley_ratings_total", "counter",
	    "Ratings visitors gave conversations (a rating replaced counts "
	    "again)." },
	{ "parley_workers", "gauge",
	    "Workers reporting to storaged." },
	{ "parley_worker_restarts_total", "counter",
	    "Workers masterd replaced after they died." },
	{ "parley_storage_up", "gauge",
	    "1 when this answer holds every worker's totals from storaged." },
	{ "parley_storage_clients", "gauge",
	    "Connections to storaged." },
	{ "parley_storage_requests_total", "counter",
	    "Requests storaged ran, by type." },
	{ "parley_storage_commits_total", "counter",
	    "Transactions storaged committed, by mode (write: those that "
	    "changed the store)." },
	{ "parley_storage_commit_failures_total", "counter",
	    "Write transactions that failed to commit." },
	{ "parley_storage_record_reads_total", "counter",
	    "Stored records storaged decoded, by record." },
	{ "parley_storage_record_writes_total", "counter",
	    "Records storaged encoded and stored, by record." },
	{ "parley_storage_log_flushes_total", "counter",
	    "Flushes of the write-ahead log to disk: a write commit's, one "
	    "shared by the commits of several chat turns, or PARLEY_SYNC="
	    "interval's." },
	{ "parley_storage_shared_requests_total", "counter",
	    "Requests whose reply could wait a moment for a flush shared with "
	    "other writes (a worker's chat turns while many are alive)." },
	{ "parley_storage_shared_long_requests_total", "counter",
	    "Of those, requests whose reply could wait up to 4 ms (a worker's "
	    "chat turns while its model takes 16 ms or more to its first "
	    "text)." },
	{ "parley_storage_map_used_bytes", "gauge",
	    "Bytes of the database's map in use (PARLEY_MAP_SIZE_MB), as of "
	    "the last checkpoint." },
	{ "parley_storage_map_size_bytes", "gauge",
	    "The database's map: the most it may hold." },
	{ "parley_storage_map_reserved", "gauge",
	    "1 while the map's last sixteenth is left: only who signs in may "
	    "write (visitors get 503)." },
	{ "parley_replica_term", "gauge",
	    "This storaged's replication term, its role as the label." },
	{ "parley_replica_seq", "gauge",
	    "The last record this storaged holds." },
	{ "parley_replica_connected", "gauge",
	    "1 while the standby (or, on a standby, the primary) is linked." },
	{ "parley_replica_acked_seq", "gauge",
	    "The last record the standby acknowledged." },
	{ "parley_replica_lag_records", "gauge",
	    "Records the standby has yet to acknowledge." },
	{ "parley_replica_in_sync", "gauge",
	    "1 while the standby is in sync." },
	{ "parley_replica_alone", "gauge",
	    "1 while the primary acknowledges writes without its standby "
	    "(PARLEY_REPLICA_WAIT=degrade)." },
	{ "parley_replica_out_of_sync_total", "counter",
	    "Times the standby fell out of sync." },
	{ "parley_replica_snapshots_total", "counter",
	    "Snapshots for a standby by outcome: begun, or refused (one is "
	    "being sent, or its peer had one less than 30 s ago)." },
	{ "parley_storage_commit_seconds", "histogram",
	    "Time of one commit, the disk sync included." },
	{ "parley_storage_batch_requests", "histogram",
	    "Requests in one committed batch (group commit)." },
};
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

/* ---------------------------------------------------------- counting */

static size_t
status_slot(int status)
{
	size_t i;

	for (i = 0; i < NCODES; i++)
		if (codes[i] == status)
			return i;
	if (status < 100 || status > 599)
		status = 500;
	return NCODES + (size_t)(status / 100 - 1);
}

void
metrics_http(int route_ix, int status)
{
	size_t r;

	if (route_ix < 0 || route_ix >= METRICS_ROUTES_MAX)
		r = METRICS_ROUTES_MAX;
	else
		r = (size_t)route_ix;
	cur.http[r][status_slot(status)]++;
}

void
metrics_upstream_start(void)
{
	cur.up_started++;
}

void
metrics_upstream_done(int status, uint64_t ttfb_us, uint64_t total_us,
    uint32_t prompt_tokens, uint32_t completion_tokens)
{
	if (status >= 0 && (size_t)status < NUPKINDS)
		cur.up_ended[status]++;
	if (ttfb_us > 0)
		mh_observe(&cur.up_ttfb, up_bounds, NUPB, ttfb_us);
	mh_observe(&cur.up_total, up_bounds, NUPB, total_us);
	cur.tokens[0] += prompt_tokens;
	cur.tokens[1] += completion_tokens;
}

void
metrics_embed_tokens(int rerank, uint64_t tokens)
{
	cur.tokens[rerank ? 3 : 2] += tokens;
}

void
metrics_tool_call(int ok, uint32_t ms)
{
	cur.tools[ok ? 0 : 1]++;
	if (ms > 0)
		mh_observe(&cur.tool_time, tool_bounds, NTOOLB,
		    (uint64_t)ms * 1000);
}

void
metrics_upstream_cancel(void)
{
	cur.up_cancelled++;
}

void
metrics_turn_start_held(void)
{
	cur.starts_held++;
}

void
metrics_feedback(uint8_t value)
{
	if (value <= ST_FEEDBACK_DOWN)
		cur.feedback[value]++;
}

void
metrics_restarts(uint32_t n, uint64_t run)
{
	restarts = n;
	restarts_run = run;
}

/* ---------------------------------------------------------- encoding */

static const char *
method_name(unsigned int methods)
{
	if (methods & M_GET)
		return "GET";
	if (methods & M_POST)
		return "POST";
	if (methods & M_PUT)
		return "PUT";
	if (methods & M_PATCH)
		return "PATCH";
	if (methods & M_DELETE)
		return "DELETE";
	return "OPTIONS";
}

static void
http_labels(char *out, size_t outsz, size_t r, size_t slot)
{
	const struct route *rt = r < router_nroutes() &&
	    r < METRICS_ROUTES_MAX ? router_route(r) : NULL;
	char st[8];

	if (slot < NCODES)
		snprintf(st, sizeof(st), "%d", codes[slot]);
	else
		snprintf(st, sizeof(st), "%zuxx", slot - NCODES + 1);
	strlcpy(out, "route=\"", outsz);
	if (ms_escape(out, outsz, rt != NULL ? rt->pattern : "other") < 0)
		out[0] = '\0';
	strlcat(out, "\",method=\"", outsz);
	strlcat(out, rt != NULL ? method_name(rt->methods) : "other", outsz);
	strlcat(out, "\",status=\"", outsz);
	strlcat(out, st, outsz);
	strlcat(out, "\"", outsz);
}

/* Counter v - o, when it grew (or, without old, when it is not 0). */
#define COUNTER(name, labels, v, o) do {				\
	uint64_t d_ = (v) - (old != NULL ? (o) : 0);			\
	if (d_ != 0) {							\
		ms_enc(e, MS_COUNTER, (name), (labels), d_);		\
		n++;							\
	}								\
} while (0)

/* w's series into e, as metrics_encode says of cur. */
static void
encode_set(struct penc *e, const struct wmetrics *w,
    const struct wmetrics *old)
{
	char lab[MS_LABELS_MAX + 1];
	uint32_t n = 0;
	size_t at, r, sl, k;

	at = ms_set_begin(e);
	for (r = 0; r <= METRICS_ROUTES_MAX; r++)
		for (sl = 0; sl < NSLOTS; sl++) {
			if (w->http[r][sl] == (old ? old->http[r][sl] : 0))
				continue;
			http_labels(lab, sizeof(lab), r, sl);
			COUNTER("parley_http_requests_total", lab,
			    w->http[r][sl], old->http[r][sl]);
		}
	COUNTER("parley_upstream_requests_total", "", w->up_started,
	    old->up_started);
	for (k = 0; k < NUPKINDS; k++) {
		snprintf(lab, sizeof(lab), "outcome=\"%s\"", up_kinds[k]);
		COUNTER("parley_upstream_responses_total", lab,
		    w->up_ended[k], old->up_ended[k]);
		if (k == 0)
			continue;
		snprintf(lab, sizeof(lab), "kind=\"%s\"", up_kinds[k]);
		COUNTER("parley_upstream_errors_total", lab,
		    w->up_ended[k], old->up_ended[k]);
	}
	COUNTER("parley_upstream_cancelled_total", "", w->up_cancelled,
	    old->up_cancelled);
	COUNTER("parley_turn_starts_held_total", "", w->starts_held,
	    old->starts_held);
	for (k = 0; k < NTOKENS; k++)
		COUNTER("parley_tokens_total", token_labels[k], w->tokens[k],
		    old->tokens[k]);
	for (k = 0; k < NTOOLS; k++)
		COUNTER("parley_tool_calls_total", tool_labels[k], w->tools[k],
		    old->tools[k]);
	mh_enc(e, &n, "parley_tool_call_seconds", "", tool_bounds, NTOOLB, 1,
	    &w->tool_time, old ? &old->tool_time : NULL);
	COUNTER("parley_ratings_total", "", w->feedback[0], old->feedback[0]);
	COUNTER("parley_feedback_total", "value=\"up\"", w->feedback[1],
	    old->feedback[1]);
	COUNTER("parley_feedback_total", "value=\"down\"", w->feedback[2],
	    old->feedback[2]);
	mh_enc(e, &n, "parley_upstream_ttfb_seconds", "", up_bounds, NUPB, 1,
	    &w->up_ttfb, old ? &old->up_ttfb : NULL);
	mh_enc(e, &n, "parley_upstream_duration_seconds", "", up_bounds, NUPB,
	    1, &w->up_total, old ? &old->up_total : NULL);

	ms_enc(e, MS_GAUGE, "parley_workers", "", 1);
	ms_enc(e, MS_GAUGE, "parley_http_connections", "", conn_count());
	ms_enc(e, MS_GAUGE, "parley_streams_open", "", conn_streams());
	ms_enc(e, MS_GAUGE, "parley_ws_sessions_open", "", ws_count());
	ms_enc(e, MS_GAUGE, "parley_chat_turns_active", "",
	    chat_turns() + wschat_turns());
	ms_enc(e, MS_GAUGE, "parley_upstream_active", "",
	    (uint64_t)upstream_active());
	ms_enc(e, MS_RUN, "parley_worker_restarts_total", "",
	    MS_RUN_VALUE(restarts_run, restarts));
	n += 7;
	ms_set_end(e, at, n);
}

void
metrics_encode(struct penc *e, const struct wmetrics *old)
{
	encode_set(e, &cur, old);
}

/* ---------------------------------------------------------- rendering */

struct rkey {
	struct mseries *s;
	int fam;		/* families[] index; NFAMILIES: unknown */
	int rank;		/* histograms: bucket 0, sum 1, count 2 */
	size_t blen;		/* labels before le */
	double le;
};

static int
family_of(const char *name, int *rank)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	size_t i, k, fl;

	*rank = 0;
	for (i = 0; i < NFAMILIES; i++) {
		fl = strlen(families[i].name);
		if (strncmp(name, families[i].name, fl) != 0)
			continue;
		if (name[fl] == '\0')
			return (int)i;
		if (strcmp(families[i].type, "histogram") != 0)
			continue;
		for (k = 0; k < 3; k++)
			if (strcmp(name + fl, sfx[k]) == 0) {
				*rank = (int)k;
				return (int)i;
			}
	}
	return NFAMILIES;
}

static int
rkey_cmp(const void *a, const void *b)
{
	const struct rkey *x = a, *y = b;
	size_t l;
	int c;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	if (x->fam == NFAMILIES &&
	    (c = strcmp(x->s->name, y->s->name)) != 0)
		return c;
	/* A histogram's series stay together per label set. */
	l = x->blen < y->blen ? x->blen : y->blen;
	if ((c = memcmp(x->s->labels, y->s->labels, l)) != 0)
		return c;
	if (x->blen != y->blen)
		return x->blen < y->blen ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->le != y->le)
		return x->le < y->le ? -1 : 1;
	return strcmp(x->s->labels, y->s->labels);
}

/* Where the le label of a _bucket series starts (its length if none). */
static size_t
le_at(const char *labels, double *le)
{
	const char *p = strstr(labels, "le=\"");

	while (p != NULL && p != labels && p[-1] != ',')
		p = strstr(p + 1, "le=\"");
	if (p == NULL) {
		*le = 0;
		return strlen(labels);
	}
	*le = strncmp(p + 4, "+Inf\"", 5) == 0 ? INFINITY :
	    strtod(p + 4, NULL);
	return p == labels ? 0 : (size_t)(p - labels - 1);
}

int
metrics_render(struct buf *b, struct mseries *v, size_t n)
{
	struct rkey *k;
	const char *last = NULL;
	size_t i;

	if (n == 0)
		return 0;
	if ((k = calloc(n, sizeof(*k))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		k[i].s = &v[i];
		k[i].fam = family_of(v[i].name, &k[i].rank);
		if (k[i].rank == 0 && k[i].fam < (int)NFAMILIES &&
		    strcmp(families[k[i].fam].type, "histogram") == 0)
			k[i].blen = le_at(v[i].labels, &k[i].le);
		else
			k[i].blen = strlen(v[i].labels);
	}
	qsort(k, n, sizeof(*k), rkey_cmp);
	for (i = 0; i < n; i++) {
		const char *fname = k[i].fam < (int)NFAMILIES ?
		    families[k[i].fam].name : k[i].s->name;

		if (last == NULL || strcmp(last, fname) != 0) {
			if (k[i].fam < (int)NFAMILIES)
				buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n",
				    fname, families[k[i].fam].help, fname,
				    families[k[i].fam].type);
			else
				buf_addf(b, "# TYPE %s untyped\n", fname);
			last = fname;
		}
		buf_adds(b, k[i].s->name);
		if (k[i].s->labels[0] != '\0')
			buf_addf(b, "{%s}", k[i].s->labels);
		if ((k[i].s->kind & MS_KIND_MASK) == MS_RUN)	/* our own */
			buf_addf(b, " %lu\n", (unsigned long)MS_RUN_N(
			    k[i].s->value));
		else if (k[i].s->kind & MS_MICRO)
			buf_addf(b, " %llu.%06llu\n",
			    (unsigned long long)(k[i].s->value / 1000000),
			    (unsigned long long)(k[i].s->value % 1000000));
		else
			buf_addf(b, " %llu\n",
			    (unsigned long long)k[i].s->value);
	}
	free(k);
	return b->err ? -1 : 0;
}

/*
 * Counters with fixed labels that should read 0 rather than be missing
 * (an alert on errors needs the series before the first error).
 */
static const struct {
	const char *name, *labels;
} zeros[] = {
	{ "parley_upstream_requests_total", "" },
	{ "parley_upstream_responses_total", "outcome=\"ok\"" },
	{ "parley_upstream_errors_total", "kind=\"http_error\"" },
	{ "parley_upstream_errors_total", "kind=\"broken\"" },
	{ "parley_upstream_errors_total", "kind=\"timeout\"" },
	{ "parley_upstream_cancelled_total", "" },
	{ "parley_turn_starts_held_total", "" },
	{ "parley_tokens_total", "kind=\"prompt\"" },
	{ "parley_tokens_total", "kind=\"completion\"" },
	{ "parley_tokens_total", "kind=\"embedding\"" },
	{ "parley_tokens_total", "kind=\"rerank\"" },
	{ "parley_feedback_total", "value=\"up\"" },
	{ "parley_feedback_total", "value=\"down\"" },
	{ "parley_ratings_total", "" },
};
#define NZEROS	(sizeof(zeros) / sizeof(zeros[0]))

static void
add_zeros(struct mseries *v, size_t *np)
{
	size_t i, j, n = *np;

	for (i = 0; i < NZEROS; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(v[j].name, zeros[i].name) == 0 &&
			    strcmp(v[j].labels, zeros[i].labels) == 0)
				break;
		if (j < n)
			continue;
		memset(&v[*np], 0, sizeof(v[*np]));
		strlcpy(v[*np].name, zeros[i].name, sizeof(v[*np].name));
		strlcpy(v[*np].labels, zeros[i].labels,
		    sizeof(v[*np].labels));
		(*np)++;
	}
}

/* set's series, then extra's and room for the zeros; NULL out of memory. */
static struct mseries *
series_with(const struct st_mset *set, const struct mseries *extra,
    size_t nextra, size_t *np)
{
	struct mseries *v;

	if ((v = calloc((size_t)set->n + nextra + NZEROS, sizeof(*v))) == NULL)
		return NULL;
	if (set->n > 0)
		memcpy(v, set->series, set->n * sizeof(*v));
	memcpy(v + set->n, extra, nextra * sizeof(*v));
	*np = set->n + nextra;
	add_zeros(v, np);
	return v;
}

/* ---------------------------------------------------------- pushing */

static void
push_done(const struct storec_result *r, void *arg)
{
	char none;	/* the empty reply's struct: nothing */

	/*
	 * Not taken, or answered with anything but the empty reply: the
	 * growth goes again with the next push.
	 */
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_METRICS_PUT, &none) == 0) {
		acked = inflight;
		pending = 0;
		seq++;
	}
}

/* This worker's instance id, made the first time. */
static uint64_t
instance_id(void)
{
	while (instance == 0)
		proto_random(&instance, sizeof(instance));
	return instance;
}

/*
 * ST_METRICS_PUT: the pending push again when there is one (the same seq,
 * the same growth, its snapshot's gauges), else a new one of cur.
 */
static void
push(void)
{
	struct penc e;

	if (push_req != NULL || !storec_connected())
		return;
	if (!pending) {
		inflight = cur;
		pending = 1;
	}
	penc_init(&e);
	penc_u64(&e, instance_id());
	penc_u64(&e, seq);
	encode_set(&e, &inflight, &acked);
	(void)storec_send(PROTO_ST_METRICS_PUT, &e, push_done, NULL,
	    &push_req);
}

static void
push_tick(void *arg)
{
	push();
	loop_timer_after(&push_timer, METRICS_PUSH_MS);
}

void
metrics_init(void)
{
	(void)instance_id();
	loop_timer_init(&push_timer, push_tick, NULL);
	loop_timer_after(&push_timer, METRICS_PUSH_MS);
	inited = 1;
}

void
metrics_shutdown(void)
{
	if (inited)
		loop_timer_stop(&push_timer);
	storec_cancel(push_req);
	push_req = NULL;
	inited = 0;
	memset(&cur, 0, sizeof(cur));
	memset(&acked, 0, sizeof(acked));
	memset(&inflight, 0, sizeof(inflight));
	/* Counting starts again: a new instance for storaged. */
	instance = 0;
	seq = 1;
	pending = 0;
	restarts = restarts_run = 0;
}

/* ---------------------------------------------------------- the route */

int
metrics_forwarded(const struct http_request *req)
{
	return http_header(req, "x-forwarded-for") != NULL ||
	    http_header(req, "forwarded") != NULL ||
	    http_header(req, "x-real-ip") != NULL;
}

int
metrics_access(const struct ipaddr *peer, int forwarded, const char *key)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	int loopback;

	loopback = (peer->family == 4 && peer->a[0] == 127) ||
	    (peer->family == 6 && memcmp(peer->a, lo6, 16) == 0);
	/* A proxy on this host connects from loopback for someone else. */
	if (wsettings.metrics_open == SETTINGS_METRICS_LOOPBACK &&
	    loopback && !forwarded &&
	    !ipnet_any(wsettings.trust, wsettings.ntrust, peer))
		return 0;
	return key != NULL && admin_auth(key) == 0 ? 0 : 401;
}

/* set's series and parley_storage_up as the answer; set NULL: 500. */
static void
answer(struct conn *c, const struct st_mset *set, int storage_up)
{
	struct mseries up, *v = NULL;
	struct buf b;
	size_t n = 0;

	memset(&up, 0, sizeof(up));
	up.kind = MS_GAUGE;
	strlcpy(up.name, "parley_storage_up", sizeof(up.name));
	up.value = storage_up;
	if (set != NULL)
		v = series_with(set, &up, 1, &n);
	buf_init(&b);
	if (v == NULL || metrics_render(&b, v, n) < 0) {
		log_warnx("metrics: cannot build the answer");
		conn_send_error(c, 500, METRICS_HEADERS,
		    "Internal server error");
	} else
		conn_send(c, 200, METRICS_HEADERS, METRICS_CTYPE, b.data,
		    b.len);
	buf_free(&b);
	free(v);
}

/* Without storaged: ours alone, everything counted so far (a push's set). */
static void
answer_own(struct conn *c)
{
	struct st_mput own;
	struct penc e;
	int rv = -1;

	memset(&own, 0, sizeof(own));
	penc_init(&e);
	penc_u64(&e, 0);
	penc_u64(&e, 0);
	metrics_encode(&e, NULL);
	if (!e.err)
		rv = st_req_decode(PROTO_ST_METRICS_PUT, e.buf, e.len, &own);
	penc_free(&e);
	answer(c, rv == 0 ? &own.set : NULL, 0);
	st_req_free(PROTO_ST_METRICS_PUT, &own);
}

static void
got_totals(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct st_mset set;

	if (r->status != STOREC_OK) {
		answer_own(c);
		return;
	}
	if (storec_decode(r, PROTO_ST_METRICS_GET, &set) < 0) {
		answer(c, NULL, 1);
		return;
	}
	answer(c, &set, 1);
	st_rep_free(PROTO_ST_METRICS_GET, &set);
}

void
metrics_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (metrics_access(&c->peer, metrics_forwarded(req),
	    http_header(req, "x-admin-api-key")) != 0) {
		conn_send_error(c, 401, METRICS_HEADERS, "Unauthorized");
		return;
	}
	push();
	if (storec_ask(NULL, PROTO_ST_METRICS_GET, NULL, got_totals, c,
	    &c->sreq) < 0)
		answer_own(c);
}
