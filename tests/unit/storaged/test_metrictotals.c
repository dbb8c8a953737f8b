/*
 * storaged's metric totals: workers' counter growth summed and kept after
 * they go, gauges only while their connection lives, MS_RUN's runs added,
 * a malformed push changing nothing, a push resent (its instance and seq
 * again) added once, and storaged's own series.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "metrictotals.h"
#include "stmsgs.h"
#include "storemsg.h"

struct got {
	struct mseries *v;
	size_t n;
};

/*
 * A push as storaged takes it (server.c): decoded by the table, then
 * added. 0, or -1 when refused.
 */
static int
push(struct smgauges *g, const void *payload, size_t len)
{
	struct st_mput put;
	int rc;

	if (st_req_decode(PROTO_ST_METRICS_PUT, payload, len, &put) < 0)
		return -1;
	rc = smetrics_put(g, &put);
	st_req_free(PROTO_ST_METRICS_PUT, &put);
	return rc;
}

/*
 * A push of instance's number seq: n series (kind, name, labels, value)
 * from ap; its result must be rc.
 */
static void
vput(struct smgauges *g, uint64_t instance, uint64_t seq, int rc,
    uint32_t n, va_list ap)
{
	struct penc e;
	uint32_t i;

	penc_init(&e);
	penc_u64(&e, instance);
	penc_u64(&e, seq);
	penc_u32(&e, n);
	for (i = 0; i < n; i++) {
		int kind = va_arg(ap, int);
		const char *name = va_arg(ap, const char *);
		const char *labels = va_arg(ap, const char *);
		uint64_t v = va_arg(ap, uint64_t);

		ms_enc(&e, (uint8_t)kind, name, labels, v);
	}
	assert_int_equal(e.err, 0);
	assert_int_equal(push(g, e.buf, e.len), rc);
	penc_free(&e);
}

/* A push of g's client as one instance, each with a new number. */
static void
put(struct smgauges *g, int rc, uint32_t n, ...)
{
	static uint64_t seq;
	va_list ap;

	va_start(ap, n);
	vput(g, (uint64_t)(uintptr_t)g, ++seq, rc, n, ap);
	va_end(ap);
}

/* A push of instance's number seq. */
static void
put_seq(struct smgauges *g, uint64_t instance, uint64_t seq, int rc,
    uint32_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	vput(g, instance, seq, rc, n, ap);
	va_end(ap);
}

/* The reply of ST_METRICS_GET, decoded by the table. */
static void
get(struct got *r, struct smgauges *const *gs, size_t ng)
{
	struct st_mset set;
	struct penc e;

	penc_init(&e);
	smetrics_get(&e, gs, ng);
	assert_int_equal(e.err, 0);
	assert_int_equal(st_rep_decode(PROTO_ST_METRICS_GET, e.buf, e.len,
	    &set), 0);
	r->v = set.series;
	r->n = set.n;
	penc_free(&e);
}

/* The value of a series; -1 when absent. */
static long long
value(const struct got *r, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0 &&
		    strcmp(r->v[i].labels, labels) == 0)
			return (long long)r->v[i].value;
	return -1;
}

#define U(x)	((uint64_t)(x))

static void
smetrics_test_merge(void **state)
{
	struct smgauges a, b, *both[2] = { &a, &b }, *onlyb[1] = { &b };
	struct got r;

	smetrics_reset();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	put(&a, 0, 4,
	    MS_COUNTER, "x_total", "k=\"1\"", U(3),
	    MS_GAUGE, "g", "", U(2),
	    MS_RUN, "r_total", "", MS_RUN_VALUE(10, 1),
	    MS_COUNTER | MS_MICRO, "t_sum", "", U(1500));
	put(&b, 0, 3,
	    MS_COUNTER, "x_total", "k=\"1\"", U(4),
	    MS_GAUGE, "g", "", U(5),
	    MS_RUN, "r_total", "", MS_RUN_VALUE(10, 3));
	get(&r, both, 2);
	assert_int_equal(value(&r, "x_total", "k=\"1\""), 7);
	assert_int_equal(value(&r, "g", ""), 7);
	assert_int_equal(value(&r, "r_total", ""), 3);
	assert_int_equal(value(&r, "t_sum", ""), 1500);
	assert_int_equal(value(&r, "parley_storage_clients", ""), 2);
	free(r.v);

	/* A goes: its counters stay, its gauges don't. */
	smetrics_gone(&a);
	get(&r, onlyb, 1);
	assert_int_equal(value(&r, "x_total", "k=\"1\""), 7);
	assert_int_equal(value(&r, "g", ""), 5);
	assert_int_equal(value(&r, "r_total", ""), 3);
	free(r.v);

	/* Growth adds up, gauges are replaced, a smaller max is ignored. */
	put(&b, 0, 4,
	    MS_COUNTER, "x_total", "k=\"1\"", U(1),
	    MS_COUNTER, "x_total", "k=\"2\"", U(9),
	    MS_GAUGE, "g", "", U(1),
	    MS_RUN, "r_total", "", MS_RUN_VALUE(10, 2));
	get(&r, onlyb, 1);
	assert_int_equal(value(&r, "x_total", "k=\"1\""), 8);
	assert_int_equal(value(&r, "x_total", "k=\"2\""), 9);
	assert_int_equal(value(&r, "g", ""), 1);
	assert_int_equal(value(&r, "r_total", ""), 3);
	free(r.v);

	/* A bad series anywhere: the whole push is refused. */
	put(&b, -1, 2,
	    MS_COUNTER, "x_total", "k=\"1\"", U(100),
	    MS_COUNTER, "bad name", "", U(1));
	put(&b, -1, 2,
	    MS_GAUGE, "g", "", U(50),
	    MS_COUNTER, "y", "k=\"unterminated", U(1));
	put(&b, -1, 1, 7, "y", "", U(1));		/* unknown kind */
	put(&b, -1, 1, 0x21, "y", "", U(1));
	get(&r, onlyb, 1);
	assert_int_equal(value(&r, "x_total", "k=\"1\""), 8);
	assert_int_equal(value(&r, "g", ""), 1);
	assert_int_equal(value(&r, "y", ""), -1);
	free(r.v);

	/* A count that lies, trailing bytes, a short head (instance, seq). */
	{
		uint8_t junk[20] = { [1] = 1, [19] = 9 };
		uint8_t trail[21] = { [1] = 2, [20] = 1 };

		assert_int_equal(push(&b, junk, sizeof(junk)), -1);
		assert_int_equal(push(&b, trail, sizeof(trail)), -1);
		assert_int_equal(push(&b, junk, 18), -1);
		assert_int_equal(push(&b, junk, 10), -1);
	}
	smetrics_gone(&b);
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "g", ""), -1);
	assert_int_equal(value(&r, "x_total", "k=\"1\""), 8);
	free(r.v);
	smetrics_reset();
}

/*
 * A push resent (it timed out at the worker, but storaged had it): the
 * same instance and seq adds once, its gauges still replace; a greater
 * seq adds; another instance's same seq adds; a smaller seq adds nothing.
 */
/*
 * masterd's restarts (MS_RUN): a new run (masterd started again, its count
 * from 0) adds to the last run's count, where the largest value froze the
 * total until the new count passed the old; a late push of the old run is
 * ignored; answered as a counter.
 */
static void
smetrics_test_runs(void **state)
{
	struct smgauges a;
	struct got r;

	smetrics_reset();
	memset(&a, 0, sizeof(a));
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(10, 3));
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(20, 0));
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "r_total", ""), 3);
	free(r.v);
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(20, 1));
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(10, 5));
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "r_total", ""), 4);
	free(r.v);
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(20, 2));
	put(&a, 0, 1, MS_RUN, "r_total", "", MS_RUN_VALUE(30, 1));
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "r_total", ""), 6);
	assert_int_equal(r.v[0].kind, MS_COUNTER);
	free(r.v);
	smetrics_gone(&a);
}

static void
smetrics_test_resent(void **state)
{
	struct smgauges a, *one[1] = { &a };
	struct got r;
	int i;

	(void)state;
	smetrics_reset();
	memset(&a, 0, sizeof(a));
	for (i = 0; i < 2; i++)
		put_seq(&a, 7, 1, 0, 2,
		    MS_COUNTER, "x_total", "", U(10),
		    MS_GAUGE, "g", "", U(1 + i));
	get(&r, one, 1);
	assert_int_equal(value(&r, "x_total", ""), 10);
	assert_int_equal(value(&r, "g", ""), 2);
	free(r.v);

	put_seq(&a, 7, 2, 0, 1, MS_COUNTER, "x_total", "", U(5));
	put_seq(&a, 8, 2, 0, 1, MS_COUNTER, "x_total", "", U(3));
	put_seq(&a, 7, 1, 0, 1, MS_COUNTER, "x_total", "", U(100));
	put_seq(&a, 7, 2, 0, 1, MS_COUNTER, "x_total", "", U(100));
	put_seq(&a, 8, 2, 0, 1, MS_COUNTER, "x_total", "", U(100));
	get(&r, one, 1);
	assert_int_equal(value(&r, "x_total", ""), 18);
	free(r.v);
	smetrics_gone(&a);
	smetrics_reset();
}

/*
 * The table of instances is bounded: 256 more instances push, and the
 * least recently seen one (7) is dropped, so its next push is added; the
 * others are still known.
 */
static void
smetrics_test_instances_bound(void **state)
{
	struct smgauges a;
	struct got r;
	uint64_t k;

	(void)state;
	smetrics_reset();
	memset(&a, 0, sizeof(a));
	put_seq(&a, 7, 1, 0, 1, MS_COUNTER, "x_total", "", U(1));
	put_seq(&a, 9, 1, 0, 1, MS_COUNTER, "x_total", "", U(1));
	for (k = 0; k < 255; k++) {
		/* 9 seen again each time: never the least recent. */
		put_seq(&a, 1000 + k, 1, 0, 1, MS_COUNTER, "y_total", "",
		    U(1));
		put_seq(&a, 9, 1, 0, 1, MS_COUNTER, "x_total", "", U(1));
	}
	put_seq(&a, 7, 1, 0, 1, MS_COUNTER, "x_total", "", U(1));
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "x_total", ""), 3);
	assert_int_equal(value(&r, "y_total", ""), 255);
	free(r.v);
	smetrics_gone(&a);
	smetrics_reset();
}

static void
smetrics_test_own(void **state)
{
	struct got r;

	smetrics_reset();
	get(&r, NULL, 0);
	/* No commit yet: no histogram, the counters at 0. */
	assert_int_equal(value(&r, "parley_storage_commit_seconds_count", ""),
	    -1);
	assert_int_equal(value(&r, "parley_storage_commits_total",
	    "mode=\"write\""), 0);
	free(r.v);

	smetrics_request(PROTO_ST_CHAT_BEGIN);
	smetrics_request(PROTO_ST_CHAT_BEGIN);
	smetrics_request(PROTO_ST_PING);
	smetrics_request(0xffff);	/* out of range: ignored */
	smetrics_commit(300, 3, 1, 0);
	smetrics_commit(2000000, 1, 0, 0);
	smetrics_commit(10, 40, 1, 1);
	smetrics_log_flush();
	smetrics_log_flush();
	smetrics_shared_request(0);
	smetrics_shared_request(1);
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "parley_storage_requests_total",
	    "type=\"ST_CHAT_BEGIN\""), 2);
	assert_int_equal(value(&r, "parley_storage_requests_total",
	    "type=\"ST_PING\""), 1);
	assert_int_equal(value(&r, "parley_storage_commits_total",
	    "mode=\"write\""), 2);
	assert_int_equal(value(&r, "parley_storage_commits_total",
	    "mode=\"read\""), 1);
	assert_int_equal(value(&r, "parley_storage_commit_failures_total", ""),
	    1);
	assert_int_equal(value(&r, "parley_storage_log_flushes_total", ""), 2);
	assert_int_equal(value(&r, "parley_storage_shared_requests_total", ""),
	    2);
	assert_int_equal(value(&r,
	    "parley_storage_shared_long_requests_total", ""), 1);
	/* Cumulative buckets; seconds in le; +Inf is the count. */
	assert_int_equal(value(&r, "parley_storage_commit_seconds_bucket",
	    "le=\"0.00025\""), 1);
	assert_int_equal(value(&r, "parley_storage_commit_seconds_bucket",
	    "le=\"0.0005\""), 2);
	assert_int_equal(value(&r, "parley_storage_commit_seconds_bucket",
	    "le=\"1\""), 2);
	assert_int_equal(value(&r, "parley_storage_commit_seconds_bucket",
	    "le=\"+Inf\""), 3);
	assert_int_equal(value(&r, "parley_storage_commit_seconds_sum", ""),
	    2000310);
	assert_int_equal(value(&r, "parley_storage_commit_seconds_count", ""),
	    3);
	assert_int_equal(value(&r, "parley_storage_batch_requests_bucket",
	    "le=\"1\""), 1);
	assert_int_equal(value(&r, "parley_storage_batch_requests_bucket",
	    "le=\"4\""), 2);
	assert_int_equal(value(&r, "parley_storage_batch_requests_bucket",
	    "le=\"64\""), 3);
	assert_int_equal(value(&r, "parley_storage_batch_requests_sum", ""),
	    44);
	free(r.v);
	smetrics_reset();
}

/* Every record layout has its reads and writes counted, by its name. */
static void
smetrics_test_records(void **state)
{
	struct got r;
	size_t i;

	(void)state;
	smetrics_reset();
	for (i = 0; i < rl_nlayouts; i++) {
		smetrics_record(rl_layouts[i], 0);
		smetrics_record(rl_layouts[i], 1);
		smetrics_record(rl_layouts[i], 1);
	}
	smetrics_record(&st_conv_layout, 0);
	get(&r, NULL, 0);
	for (i = 0; i < rl_nlayouts; i++) {
		char lab[64];

		snprintf(lab, sizeof(lab), "record=\"%s\"",
		    rl_layouts[i]->name);
		assert_int_equal(value(&r, "parley_storage_record_reads_total",
		    lab), rl_layouts[i] == &st_conv_layout ? 2 : 1);
		assert_int_equal(value(&r,
		    "parley_storage_record_writes_total", lab), 2);
	}
	free(r.v);
	smetrics_reset();
	get(&r, NULL, 0);
	assert_int_equal(value(&r, "parley_storage_record_reads_total",
	    "record=\"conversation\""), -1);
	free(r.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(smetrics_test_merge),
		cmocka_unit_test(smetrics_test_runs),
		cmocka_unit_test(smetrics_test_resent),
		cmocka_unit_test(smetrics_test_instances_bound),
		cmocka_unit_test(smetrics_test_own),
		cmocka_unit_test(smetrics_test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
