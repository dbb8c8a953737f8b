/*
 * GET /metrics, the worker's side: label escaping, the exposition text
 * (HELP/TYPE once, histograms cumulative with +Inf, _sum, _count, µs as
 * seconds, sorted whatever the input order), the access check, and the
 * series a worker pushes; with a fake storaged, its replies to the push
 * (ST_METRICS_PUT) and to the totals asked (ST_METRICS_GET) that do not
 * decode, and a push not acknowledged resent as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "metricsmsg.h"
#include "test_client.h"
#include "workerd.h"

static void
metrics_test_escape(void **state)
{
	char out[64] = "";

	assert_int_equal(ms_escape(out, sizeof(out), "a\\b\"c\nd/:x"), 0);
	assert_string_equal(out, "a\\\\b\\\"c\\nd/:x");
	/* Too long: -1, never an overflow. */
	out[0] = '\0';
	assert_int_equal(ms_escape(out, 4, "\"\"\""), -1);
	assert_true(strlen(out) < 4);
}

static void
metrics_test_labels_ok(void **state)
{
	assert_true(ms_labels_ok(""));
	assert_true(ms_labels_ok("a=\"\""));
	assert_true(ms_labels_ok("route=\"/v1/:id\",status=\"200\""));
	assert_true(ms_labels_ok("a=\"x\\\"y\\\\z\\n\""));
	assert_false(ms_labels_ok("a=\"x\"}"));
	assert_false(ms_labels_ok("a=\"x\",le=\"1\"\n"));
	assert_false(ms_labels_ok("a=x"));
	assert_false(ms_labels_ok("a=\"x"));
	assert_false(ms_labels_ok("a=\"x\","));
	assert_false(ms_labels_ok("1a=\"x\""));
	assert_false(ms_labels_ok("a:b=\"x\""));
	assert_false(ms_labels_ok("a=\"\\t\""));
	assert_false(ms_labels_ok("a=\"x\"b=\"y\""));
	assert_true(ms_name_ok("parley_x:y_1"));
	assert_false(ms_name_ok("1x"));
	assert_false(ms_name_ok(""));
	assert_false(ms_name_ok("a-b"));
}

/* Decodes a set into a new array. */
static struct mseries *
decode(const struct penc *e, size_t *np)
{
	struct mseries *v;
	struct pdec d;
	uint32_t n, i;

	pdec_init(&d, e->buf, e->len);
	n = pdec_u32(&d);
	assert_int_equal(d.err, 0);
	v = calloc(n + 1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < n; i++)
		assert_int_equal(ms_dec(&d, &v[i]), 0);
	assert_int_equal(pdec_done(&d), 0);
	*np = n;
	return v;
}

static const char *
render(struct mseries *v, size_t n, struct buf *b)
{
	buf_init(b);
	assert_int_equal(metrics_render(b, v, n), 0);
	buf_add(b, "", 1);
	return b->data;
}

static void
metrics_test_histogram(void **state)
{
	static const uint64_t bounds[] = { 1000, 5000, 250000 };
	struct mhist h, old;
	struct mseries *v, tmp;
	struct penc e;
	struct buf b;
	size_t n, i;
	uint32_t cnt = 0;
	size_t at;

	memset(&h, 0, sizeof(h));
	mh_observe(&h, bounds, 3, 1000);	/* on a bound: that bucket */
	mh_observe(&h, bounds, 3, 3000);
	mh_observe(&h, bounds, 3, 3000);
	mh_observe(&h, bounds, 3, 9000000);	/* past the last: +Inf */
	penc_init(&e);
	at = ms_set_begin(&e);
	mh_enc(&e, &cnt, "parley_upstream_ttfb_seconds", "", bounds, 3, 1,
	    &h, NULL);
	ms_set_end(&e, at, cnt);
	assert_int_equal(e.err, 0);
	v = decode(&e, &n);
	assert_int_equal(n, 6);
	/* Backwards: the renderer sorts. */
	for (i = 0; i < n / 2; i++) {
		tmp = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = tmp;
	}
	assert_string_equal(render(v, n, &b),
	    "# HELP parley_upstream_ttfb_seconds Time from a model call's "
	    "start to its first byte of answer.\n"
	    "# TYPE parley_upstream_ttfb_seconds histogram\n"
	    "parley_upstream_ttfb_seconds_bucket{le=\"0.001\"} 1\n"
	    "parley_upstream_ttfb_seconds_bucket{le=\"0.005\"} 3\n"
	    "parley_upstream_ttfb_seconds_bucket{le=\"0.25\"} 3\n"
	    "parley_upstream_ttfb_seconds_bucket{le=\"+Inf\"} 4\n"
	    "parley_upstream_ttfb_seconds_sum 9.007000\n"
	    "parley_upstream_ttfb_seconds_count 4\n");
	buf_free(&b);
	free(v);
	penc_free(&e);

	/* The growth since old; nothing when it did not grow. */
	old = h;
	mh_observe(&h, bounds, 3, 2000);
	penc_init(&e);
	cnt = 0;
	at = ms_set_begin(&e);
	mh_enc(&e, &cnt, "h", "a=\"b\"", bounds, 3, 0, &h, &old);
	mh_enc(&e, &cnt, "h2", "", bounds, 3, 0, &old, &old);
	ms_set_end(&e, at, cnt);
	v = decode(&e, &n);
	assert_int_equal(n, 6);
	assert_string_equal(v[0].labels, "a=\"b\",le=\"1000\"");
	assert_int_equal(v[0].value, 0);
	assert_int_equal(v[1].value, 1);
	assert_int_equal(v[3].value, 1);
	assert_string_equal(v[3].labels, "a=\"b\",le=\"+Inf\"");
	assert_string_equal(v[4].name, "h_sum");
	assert_int_equal(v[4].value, 2000);
	assert_int_equal(v[5].value, 1);
	free(v);
	penc_free(&e);
}

static void
metrics_test_render_families(void **state)
{
	struct mseries v[5];
	struct buf b;

	memset(v, 0, sizeof(v));
	strlcpy(v[0].name, "parley_http_requests_total", MS_NAME_MAX);
	strlcpy(v[0].labels, "route=\"/b\",method=\"GET\",status=\"200\"",
	    MS_LABELS_MAX);
	v[0].value = 3;
	strlcpy(v[1].name, "parley_zzz_unknown", MS_NAME_MAX);
	v[1].value = 7;
	strlcpy(v[2].name, "parley_http_requests_total", MS_NAME_MAX);
	strlcpy(v[2].labels, "route=\"/a\\\"q\",method=\"GET\",status=\"404\"",
	    MS_LABELS_MAX);
	v[2].value = 1;
	strlcpy(v[3].name, "parley_workers", MS_NAME_MAX);
	v[3].kind = MS_GAUGE;
	v[3].value = 2;
	strlcpy(v[4].name, "parley_storage_up", MS_NAME_MAX);
	v[4].kind = MS_GAUGE;
	assert_string_equal(render(v, 5, &b),
	    "# HELP parley_http_requests_total HTTP answers by route pattern, "
	    "method and status.\n"
	    "# TYPE parley_http_requests_total counter\n"
	    "parley_http_requests_total{route=\"/a\\\"q\",method=\"GET\","
	    "status=\"404\"} 1\n"
	    "parley_http_requests_total{route=\"/b\",method=\"GET\","
	    "status=\"200\"} 3\n"
	    "# HELP parley_workers Workers reporting to storaged.\n"
	    "# TYPE parley_workers gauge\n"
	    "parley_workers 2\n"
	    "# HELP parley_storage_up 1 when this answer holds every worker's "
	    "totals from storaged.\n"
	    "# TYPE parley_storage_up gauge\n"
	    "parley_storage_up 0\n"
	    "# TYPE parley_zzz_unknown untyped\n"
	    "parley_zzz_unknown 7\n");
	buf_free(&b);
}

/*
 * The chat turns' gauge says what it counts: the answers to a hand-back
 * and the requests waiting without a turn too (chat_turns), not only
 * "turns in progress, HTTP and WebSocket".
 */
static void
metrics_test_turns_help(void **state)
{
	struct mseries v[1];
	struct buf b;

	(void)state;
	memset(v, 0, sizeof(v));
	strlcpy(v[0].name, "parley_chat_turns_active", MS_NAME_MAX);
	v[0].kind = MS_GAUGE;
	v[0].value = 3;
	assert_string_equal(render(v, 1, &b),
	    "# HELP parley_chat_turns_active Chat turns open on the workers "
	    "now: HTTP and WebSocket turns (also those whose client left, "
	    "still storing) and answers to conversations handed back to the "
	    "assistant; with HTTP chat requests waiting for storaged without "
	    "a turn (history, refusals).\n"
	    "# TYPE parley_chat_turns_active gauge\n"
	    "parley_chat_turns_active 3\n");
	buf_free(&b);
}

static void
peer(struct ipaddr *a, int family, const char *s)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, s, a->a),
	    1);
}

static void
metrics_test_access(void **state)
{
	struct ipnet lo;
	struct ipaddr a;

	admin_init("the-admin-key-0123456789abcdef");
	memset(&lo, 0, sizeof(lo));
	peer(&lo.addr, 4, "127.0.0.1");
	lo.prefix = 32;
	/* By default (PARLEY_METRICS_OPEN=off) even loopback needs the key. */
	wsettings.metrics_open = SETTINGS_METRICS_OFF;
	peer(&a, 4, "127.0.0.1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	assert_int_equal(metrics_access(&a, 0,
	    "the-admin-key-0123456789abcdef"), 0);
	peer(&a, 6, "::1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	/* Opened to loopback. */
	wsettings.metrics_open = SETTINGS_METRICS_LOOPBACK;
	peer(&a, 4, "127.0.0.1");
	assert_int_equal(metrics_access(&a, 0, NULL), 0);
	assert_int_equal(metrics_access(&a, 0, "wrong"), 0);
	peer(&a, 4, "127.200.3.4");
	assert_int_equal(metrics_access(&a, 0, NULL), 0);
	peer(&a, 6, "::1");
	assert_int_equal(metrics_access(&a, 0, NULL), 0);
	/* Anyone else needs the key. */
	peer(&a, 4, "10.0.0.1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	assert_int_equal(metrics_access(&a, 0, "wrong"), 401);
	assert_int_equal(metrics_access(&a, 0, ""), 401);
	assert_int_equal(metrics_access(&a, 0, "the-admin-key-0123456789abcdef"),
	    0);
	peer(&a, 4, "128.0.0.1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	peer(&a, 6, "::2");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	peer(&a, 6, "fe80::1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	/* A Unix socket peer is not loopback. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	/* Forwarded from loopback (a proxy on this host): the key it takes. */
	peer(&a, 4, "127.0.0.1");
	assert_int_equal(metrics_access(&a, 1, NULL), 401);
	assert_int_equal(metrics_access(&a, 1, "wrong"), 401);
	assert_int_equal(metrics_access(&a, 1,
	    "the-admin-key-0123456789abcdef"), 0);
	peer(&a, 6, "::1");
	assert_int_equal(metrics_access(&a, 1, NULL), 401);
	/* A trusted proxy on loopback, even without the header. */
	wsettings.trust = &lo;
	wsettings.ntrust = 1;
	peer(&a, 4, "127.0.0.1");
	assert_int_equal(metrics_access(&a, 0, NULL), 401);
	assert_int_equal(metrics_access(&a, 0,
	    "the-admin-key-0123456789abcdef"), 0);
	/* Another loopback address, not trusted, still may. */
	peer(&a, 4, "127.0.0.2");
	assert_int_equal(metrics_access(&a, 0, NULL), 0);
	wsettings.trust = NULL;
	wsettings.ntrust = 0;
	/* No key configured: only loopback. */
	admin_init(NULL);
	peer(&a, 4, "10.0.0.1");
	assert_int_equal(metrics_access(&a, 0, "x"), 401);
	assert_int_equal(metrics_access(&a, 0, ""), 401);
	wsettings.metrics_open = SETTINGS_METRICS_OFF;
}

static void
metrics_test_forwarded(void **state)
{
	struct http_request req;
	struct http_header hs[4];

	memset(&req, 0, sizeof(req));
	req.headers = hs;
	assert_int_equal(metrics_forwarded(&req), 0);
	req.headers[0].name = "host";
	req.headers[0].value = "localhost";
	req.nheaders = 1;
	assert_int_equal(metrics_forwarded(&req), 0);
	req.headers[1].name = "x-forwarded-for";
	req.headers[1].value = "";
	req.nheaders = 2;
	assert_int_equal(metrics_forwarded(&req), 1);
	req.headers[1].name = "forwarded";
	req.headers[1].value = "for=203.0.113.9";
	assert_int_equal(metrics_forwarded(&req), 1);
	req.headers[1].name = "x-real-ip";
	req.headers[1].value = "203.0.113.9";
	assert_int_equal(metrics_forwarded(&req), 1);
	req.headers[1].name = "x-forwarded-host";
	assert_int_equal(metrics_forwarded(&req), 0);
}

static const struct mseries *
find(const struct mseries *v, size_t n, const char *name, const char *lab)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0 &&
		    strcmp(v[i].labels, lab) == 0)
			return &v[i];
	return NULL;
}

static void
metrics_test_counting(void **state)
{
	const struct mseries *s;
	struct mseries *v;
	struct penc e;
	struct buf b;
	size_t n;

	metrics_shutdown();
	metrics_http(0, 200);
	metrics_http(0, 200);
	metrics_http(-1, 404);
	metrics_http(-1, 418);		/* not listed: its class */
	metrics_http(10000, 999);	/* out of range: other, 5xx */
	metrics_upstream_start();
	metrics_upstream_done(0, 1500, 20000, 10, 4);
	metrics_upstream_start();
	metrics_upstream_done(2, 0, 30000, 0, 0);
	metrics_upstream_cancel();
	metrics_restarts(3, 1700000000000ull);

	penc_init(&e);
	metrics_encode(&e, NULL);
	assert_int_equal(e.err, 0);
	v = decode(&e, &n);
	assert_non_null(s = find(v, n, "parley_http_requests_total",
	    "route=\"/health\",method=\"GET\",status=\"200\""));
	assert_int_equal(s->value, 2);
	assert_non_null(s = find(v, n, "parley_http_requests_total",
	    "route=\"other\",method=\"other\",status=\"404\""));
	assert_int_equal(s->value, 1);
	assert_non_null(s = find(v, n, "parley_http_requests_total",
	    "route=\"other\",method=\"other\",status=\"4xx\""));
	assert_non_null(s = find(v, n, "parley_http_requests_total",
	    "route=\"other\",method=\"other\",status=\"5xx\""));
	assert_non_null(s = find(v, n, "parley_upstream_requests_total", ""));
	assert_int_equal(s->value, 2);
	assert_non_null(s = find(v, n, "parley_upstream_errors_total",
	    "kind=\"broken\""));
	assert_int_equal(s->value, 1);
	assert_null(find(v, n, "parley_upstream_errors_total",
	    "kind=\"timeout\""));
	assert_non_null(s = find(v, n, "parley_upstream_cancelled_total", ""));
	assert_int_equal(s->value, 1);
	assert_non_null(s = find(v, n, "parley_tokens_total",
	    "kind=\"prompt\""));
	assert_int_equal(s->value, 10);
	/* A failed call without a first byte counts in duration, not ttfb. */
	assert_non_null(s = find(v, n, "parley_upstream_ttfb_seconds_count",
	    ""));
	assert_int_equal(s->value, 1);
	assert_non_null(s = find(v, n, "parley_upstream_duration_seconds_sum",
	    ""));
	assert_int_equal(s->value, 50000);
	assert_int_equal(s->kind, MS_COUNTER | MS_MICRO);
	assert_non_null(s = find(v, n, "parley_worker_restarts_total", ""));
	assert_int_equal(s->kind, MS_RUN);
	assert_int_equal(s->value, MS_RUN_VALUE(1700000000000ull, 3));
	assert_non_null(s = find(v, n, "parley_workers", ""));
	assert_int_equal(s->kind, MS_GAUGE);
	/* Every series renders; the text passes the checks of the labels. */
	render(v, n, &b);
	assert_non_null(strstr(b.data,
	    "parley_upstream_duration_seconds_sum 0.050000\n"));
	/* Our own restarts (no storaged): the count, not its run. */
	assert_non_null(strstr(b.data, "\nparley_worker_restarts_total 3\n"));
	buf_free(&b);
	free(v);
	penc_free(&e);
	metrics_shutdown();
}

/* ------------------------------------------------- replies, fake peer */

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define HEALTH	"route=\"/health\",method=\"GET\",status=\"200\""

static struct peer P;

static int
peer_up(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
	metrics_shutdown();
	return peer_connect(&P) == 0 ? 0 : -1;
}

static int
peer_down(void **state)
{
	metrics_shutdown();
	peer_admin_teardown(&P);
	return 0;
}

/* The instance and seq of the last push ask_metrics saw. */
static uint64_t pushed_instance, pushed_seq;

/*
 * GET /metrics on cl: its push comes first, answered (cut, empty), and
 * *health set to the /health 200s it pushed (0 when none).
 */
static void
ask_metrics(struct tclient *cl, int cut, uint64_t *health)
{
	const struct mseries *s;
	struct peer_req pr;
	struct st_mput put;
	char none;

	tclient_request(cl, "GET", "/metrics", "x-admin-api-key: " KEY "\r\n",
	    NULL);
	peer_expect(&P, &pr, PROTO_ST_METRICS_PUT);
	assert_int_equal(st_req_decode(PROTO_ST_METRICS_PUT, pr.payload, pr.len,
	    &put), 0);
	s = find(put.set.series, put.set.n, "parley_http_requests_total",
	    HEALTH);
	*health = s != NULL ? s->value : 0;
	pushed_instance = put.instance;
	pushed_seq = put.seq;
	st_req_free(PROTO_ST_METRICS_PUT, &put);
	peer_reply_cut(&P, &pr, &none, cut);
}

/* ST_METRICS_GET's totals: three workers, 5 answers of /health. */
static void
reply_totals(int cut)
{
	struct mseries v[2];
	struct st_mset set;
	struct peer_req pr;

	peer_expect(&P, &pr, PROTO_ST_METRICS_GET);
	memset(v, 0, sizeof(v));
	v[0].kind = MS_GAUGE;
	strlcpy(v[0].name, "parley_workers", sizeof(v[0].name));
	v[0].value = 3;
	v[1].kind = MS_COUNTER;
	strlcpy(v[1].name, "parley_http_requests_total", sizeof(v[1].name));
	strlcpy(v[1].labels, HEALTH, sizeof(v[1].labels));
	v[1].value = 5;
	set.series = v;
	set.n = 2;
	peer_reply_cut(&P, &pr, &set, cut);
}

/*
 * The totals whole, a byte short and a byte over (their valid struct
 * encoded by the table): whole, storaged's series and storage up; else
 * 500, never this worker's own nor storaged's half.
 */
static void
metrics_test_totals_malformed(void **state)
{
	struct tclient cl;
	struct tresp r;
	uint64_t health;
	int cut;

	assert_int_equal(tclient_open(&cl), 0);
	for (cut = -1; cut <= 1; cut++) {
		ask_metrics(&cl, 0, &health);
		reply_totals(cut);
		if (cut != 0) {
			tclient_expect_error(&cl, 500, "Internal server error");
			continue;
		}
		tclient_expect(&cl, &r, 200);
		assert_non_null(strstr(r.body, "\nparley_workers 3\n"));
		assert_non_null(strstr(r.body, "\nparley_storage_up 1\n"));
		assert_non_null(strstr(r.body, "{" HEALTH "} 5\n"));
		tresp_free(&r);
	}
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&cl);
}

/*
 * The push's empty reply a byte over is no acknowledgement: the growth
 * it carried goes again with the next push. Whole, it does not.
 */
static void
metrics_test_push_malformed(void **state)
{
	struct tclient cl;
	struct tresp r;
	uint64_t health;
	int over;

	assert_int_equal(tclient_open(&cl), 0);
	for (over = 0; over <= 1; over++) {
		metrics_shutdown();
		metrics_http(0, 200);
		metrics_http(0, 200);
		ask_metrics(&cl, over, &health);
		assert_int_equal(health, 2);
		reply_totals(0);
		tclient_expect(&cl, &r, 200);
		tresp_free(&r);
		ask_metrics(&cl, 0, &health);
		assert_int_equal(health, over ? 2 : 0);
		reply_totals(0);
		tclient_expect(&cl, &r, 200);
		tresp_free(&r);
	}
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&cl);
}

/* GET /metrics answered by the totals, whatever they are. */
static void
scrape(struct tclient *cl, int cut, uint64_t *health)
{
	struct tresp r;

	ask_metrics(cl, cut, health);
	reply_totals(0);
	tclient_expect(cl, &r, 200);
	tresp_free(&r);
}

/*
 * A push not acknowledged (storaged may have added it all the same) goes
 * again as it was: the same instance, the same seq, the same growth, not
 * what grew since; the next number only after an acknowledgement.
 */
static void
metrics_test_push_resent(void **state)
{
	struct tclient cl;
	uint64_t health, inst, seq;

	(void)state;
	assert_int_equal(tclient_open(&cl), 0);
	metrics_shutdown();
	metrics_http(0, 200);
	metrics_http(0, 200);
	scrape(&cl, 1, &health);
	assert_int_equal(health, 2);
	inst = pushed_instance;
	seq = pushed_seq;
	assert_true(inst != 0);
	metrics_http(0, 200);
	metrics_http(0, 200);
	metrics_http(0, 200);
	scrape(&cl, 0, &health);
	assert_int_equal(health, 2);
	assert_true(pushed_instance == inst);
	assert_true(pushed_seq == seq);
	/* Acknowledged: what grew meanwhile goes under the next number. */
	scrape(&cl, 0, &health);
	assert_int_equal(health, 3);
	assert_true(pushed_instance == inst);
	assert_true(pushed_seq == seq + 1);
	scrape(&cl, 0, &health);
	assert_int_equal(health, 0);
	assert_true(pushed_seq == seq + 2);
	assert_int_equal(storec_inflight(), 0);
	tclient_close(&cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metrics_test_escape),
		cmocka_unit_test(metrics_test_labels_ok),
		cmocka_unit_test(metrics_test_histogram),
		cmocka_unit_test(metrics_test_render_families),
		cmocka_unit_test(metrics_test_turns_help),
		cmocka_unit_test(metrics_test_access),
		cmocka_unit_test(metrics_test_forwarded),
		cmocka_unit_test(metrics_test_counting),
		cmocka_unit_test_setup_teardown(metrics_test_totals_malformed,
		    peer_up, peer_down),
		cmocka_unit_test_setup_teardown(metrics_test_push_malformed,
		    peer_up, peer_down),
		cmocka_unit_test_setup_teardown(metrics_test_push_resent,
		    peer_up, peer_down),
	};

	log_init("test_metrics");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
