/*
 * Reports in the admin API (proto/reportmsg.h says what is counted):
 *
 *	GET /v1/admin/reports?from=&to=&tz=&widget_id=&agent_id=
 *	GET /v1/admin/reports.csv?(the same)
 *
 * from and to are dates (YYYY-MM-DD, both included; default the last 30
 * days) in tz (an IANA zone, default UTC), at most 366 days; widget_id a
 * widget's id as conversations name it (widgetId), agent_id an agent's or
 * "default". storaged answers the hours that start in the range
 * (ST_REPORT_GET, in UTC) and the agents' sums over them; here the hours
 * become the zone's days (an hour counts on the day its start falls in:
 * exact for whole-hour offsets, half an hour early for +05:30), its hours
 * of the day, and the totals with their rates:
 *
 *	{"from","to","tz","ready","totals":{counts, rates},
 *	 "days":[{"date", counts}...],	every day of the range
 *	 "hours":[24 conversations counts: the busiest hours],
 *	 "agents":[{"agent_id" ("default"), counts}...],
 *	 "today":{"date","resets_at","daily_turn_budget","turns"[,
 *	     "daily_message_cap","messages" with widget_id]}}
 *
 * today is the UTC day whatever tz, as the daily bounds count: what the
 * organisation's members see of its budget (which the install key alone
 * sets) and of a widget's cap before a visitor meets them.
 *
 * The CSV is the days: a header row (date, then the counts' names), a
 * row a day.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "reportmsg.h"
#include "resp.h"
#include "tzif.h"
#include "workerd.h"

#define DAY_MS		86400000ll
#define HOUR_MS		3600000ll
#define DAYS_MAX	366
#define DAYS_DEFAULT	30

/* The sums of one day, hour of the day or agent. */
struct sums {
	uint64_t v[ST_RC_N];
};

/* "YYYY-MM-DD" into days since the epoch: 0, or -1. */
static int
date_parse(const char *s, int64_t *days)
{
	int y, m, d, n = 0, i;
	int64_t back_y;
	int back_m, back_d;

	/* Digits where digits go: %d alone takes a sign or a space. */
	for (i = 0; i < 10 && s[i] != '\0'; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return -1;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return -1;
	*days = days_from_civil(y, m, d);
	civil_from_days(*days, &back_y, &back_m, &back_d);
	return back_m == m && back_d == d ? 0 : -1;	/* no 31 February */
}

static void
date_fmt(int64_t days, char out[11])
{
	int64_t y;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}

const char *
report_query(const char *query, struct report_q *q,
    struct st_report_get_req *sq, char widget[ST_WIDGET_MAX + 1],
    char agent[ST_ID_HEX + 1])
{
	char from[16] = "", to[16] = "";
	int64_t now, today, start;
	int r;

	strlcpy(q->tz, "UTC", sizeof(q->tz));
	widget[0] = agent[0] = '\0';
	/* A bad escape anywhere makes every parameter unreadable. */
	if (query != NULL && http_query_param(query, "tz", NULL, 0) < 0)
		return "Invalid query parameters";
	if (query != NULL && ((r = http_query_param(query, "tz", q->tz,
	    sizeof(q->tz))) < 0 || (r > 0 && !tz_name_valid(q->tz))))
		return "tz: must be an IANA time zone, like Europe/Paris";
	if ((q->zone = tz_get(q->tz)) == NULL)
		return "tz: no such time zone";
	now = (int64_t)proto_wall_ms();
	today = (now + (int64_t)tzif_offset(q->zone, now / 1000) * 1000) /
	    DAY_MS;
	q->to_day = today;
	q->from_day = today - (DAYS_DEFAULT - 1);
	if (query != NULL && ((r = http_query_param(query, "to", to,
	    sizeof(to))) < 0 || (r > 0 && date_parse(to, &q->to_day) < 0)))
		return "to: must be a date, YYYY-MM-DD";
	if (query != NULL && ((r = http_query_param(query, "from", from,
	    sizeof(from))) < 0 || (r > 0 && date_parse(from, &q->from_day) <
	    0)))
		return "from: must be a date, YYYY-MM-DD";
	/* The default range starts no earlier than from= itself may. */
	if (from[0] == '\0')
		q->from_day = q->to_day - (DAYS_DEFAULT - 1) < 0 ? 0 :
		    q->to_day - (DAYS_DEFAULT - 1);
	if (q->from_day > q->to_day)
		return "from: must be on or before to";
	if (q->to_day - q->from_day >= DAYS_MAX)
		return "from: must be at most 366 days before to";
	if (query != NULL && ((r = http_query_param(query, "widget_id",
	    widget, ST_WIDGET_MAX + 1)) < 0 || (r > 0 &&
	    !admin_widget_valid(widget))))
		return "widget_id: must be a widget's id";
	if (query != NULL && ((r = http_query_param(query, "agent_id", agent,
	    ST_ID_HEX + 1)) < 0 || (r > 0 && !st_id_valid(agent) &&
	    strcmp(agent, ST_REPORT_DEFAULT_AGENT) != 0)))
		return "agent_id: must be an agent's id or default";
	/* 1970-01-01 east of UTC starts before the epoch: from it. */
	start = tzif_day_start(q->zone, q->from_day);
	sq->from = start > 0 ? (uint64_t)start : 0;
	sq->to = (uint64_t)tzif_day_start(q->zone, q->to_day + 1);
	sq->widget = widget;
	sq->agent = agent;
	q->by_widget = widget[0] != '\0';
	return NULL;
}

static void
sums_add(struct sums *s, const uint64_t v[ST_RC_N])
{
	int i;

	for (i = 0; i < ST_RC_N; i++)
		s->v[i] += v[i];
}

/* The counts v into o by their names. */
static void
counts_set(json_t *o, const uint64_t v[ST_RC_N], int *err)
{
	int i;

	for (i = 0; i < ST_RC_N; i++)
		exprow_oset(o, st_report_count_name(i),
		    json_integer((json_int_t)v[i]), err);
}

/* n / d, or null when d is 0. */
static json_t *
ratio(uint64_t n, uint64_t d)
{
	return d > 0 ? json_real((double)n / (double)d) : json_null();
}

/* The totals: the counts and what they make (null when undefined). */
static json_t *
totals_json(const struct sums *t)
{
	const uint64_t *v = t->v;
	json_t *o = json_object();
	int err = o == NULL;

	if (o == NULL)
		return NULL;
	counts_set(o, t->v, &err);
	exprow_oset(o, "assistant_resolution_rate",
	    ratio(v[ST_RC_resolved_assistant], v[ST_RC_conversations]), &err);
	exprow_oset(o, "handed_off_rate", ratio(v[ST_RC_handed_off],
	    v[ST_RC_conversations]), &err);
	exprow_oset(o, "abandoned_rate", ratio(v[ST_RC_abandoned],
	    v[ST_RC_conversations]), &err);
	exprow_oset(o, "first_response_avg_ms", ratio(
	    v[ST_RC_first_response_ms], v[ST_RC_first_responses]), &err);
	exprow_oset(o, "resolution_avg_ms", ratio(v[ST_RC_resolution_ms],
	    v[ST_RC_resolutions]), &err);
	exprow_oset(o, "positive_share", ratio(v[ST_RC_thumbs_up],
	    v[ST_RC_thumbs_up] + v[ST_RC_thumbs_down]), &err);
	exprow_oset(o, "rating_avg", ratio(v[ST_RC_rating_sum],
	    v[ST_RC_ratings]), &err);
	return exprow_odone(o, err);
}

/* What the hours make: days, hours of the day, totals; the agents as told. */
struct report {
	int64_t ndays;
	struct sums *days;		/* ndays */
	struct sums hours[24];
	struct sums total;
};

static int
report_make(const struct report_q *q, const struct st_report_rep *rep,
    struct report *r)
{
	const struct st_report_hour *row;
	int64_t start, local, day;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->ndays = q->to_day - q->from_day + 1;
	if ((r->days = calloc((size_t)r->ndays, sizeof(*r->days))) == NULL)
		return -1;
	for (i = 0; i < rep->n; i++) {
		row = &rep->hours[i];
		start = (int64_t)row->hour * HOUR_MS;
		local = start + (int64_t)tzif_offset(q->zone, start / 1000) *
		    1000;
		/*
		 * storaged sends the hours that start in the range: one
		 * whose local day is outside it all the same (a zone that
		 * puts its clocks back at midnight) is left out.
		 */
		day = local / DAY_MS - q->from_day;
		if (day < 0 || day >= r->ndays)
			continue;
		sums_add(&r->days[day], row->v);
		r->hours[(local % DAY_MS) / HOUR_MS].v[ST_RC_conversations] +=
		    row->v[ST_RC_conversations];
		sums_add(&r->total, row->v);
	}
	return 0;
}

static void
report_free(struct report *r)
{
	free(r->days);
}

/* A bound (0 none) as JSON: a number, or null. */
static json_t *
bound_json(uint32_t n)
{
	return n != 0 ? json_integer(n) : json_null();
}

/*
 * Today's bounds (UTC, whatever tz): the organisation's daily turn budget
 * and its turns so far (null without a budget: not counted then), and of
 * the widget asked for its daily message cap and its messages so far.
 */
static json_t *
today_json(const struct report_q *q, const struct st_report_rep *rep)
{
	json_t *o = json_object();
	char date[11];
	int err = o == NULL;

	date_fmt((int64_t)(rep->day_end / DAY_MS) - 1, date);
	exprow_oset(o, "date", json_string(date), &err);
	exprow_oset(o, "resets_at", exprow_ms(rep->day_end), &err);
	exprow_oset(o, "daily_turn_budget", bound_json(rep->budget), &err);
	exprow_oset(o, "turns", rep->budget != 0 ? json_integer(rep->turns) :
	    json_null(), &err);
	if (q->by_widget) {
		exprow_oset(o, "daily_message_cap", bound_json(rep->cap),
		    &err);
		exprow_oset(o, "messages", json_integer(rep->messages), &err);
	}
	return exprow_odone(o, err);
}

static json_t *
report_json(const struct report_q *q, const struct report *r,
    const struct st_report_rep *rep)
{
	json_t *o = json_object(), *days = json_array(), *hours = json_array();
	json_t *agents = json_array(), *d;
	char date[11];
	int64_t i;
	int err = o == NULL || days == NULL || hours == NULL || agents == NULL;

	for (i = 0; !err && i < r->ndays; i++) {
		date_fmt(q->from_day + i, date);
		if ((d = json_pack("{s:s}", "date", date)) == NULL)
			err = 1;
		else
			counts_set(d, r->days[i].v, &err);
		err |= json_array_append_new(days, d) < 0;
	}
	for (i = 0; !err && i < 24; i++)
		err |= json_array_append_new(hours, json_integer((json_int_t)
		    r->hours[i].v[ST_RC_conversations])) < 0;
	for (i = 0; !err && i < rep->m; i++) {
		d = json_pack("{s:s}", "agent_id", rep->agents[i].agent[0] !=
		    '\0' ? rep->agents[i].agent : ST_REPORT_DEFAULT_AGENT);
		if (d == NULL)
			err = 1;
		else
			counts_set(d, rep->agents[i].v, &err);
		err |= json_array_append_new(agents, d) < 0;
	}
	date_fmt(q->from_day, date);
	exprow_oset(o, "from", json_string(date), &err);
	date_fmt(q->to_day, date);
	exprow_oset(o, "to", json_string(date), &err);
	exprow_oset(o, "tz", json_string(q->tz), &err);
	exprow_oset(o, "ready", json_boolean(rep->ready), &err);
	exprow_oset(o, "totals", totals_json(&r->total), &err);
	exprow_oset(o, "days", days, &err);
	exprow_oset(o, "hours", hours, &err);
	exprow_oset(o, "agents", agents, &err);
	exprow_oset(o, "today", today_json(q, rep), &err);
	return exprow_odone(o, err);
}

/* The days as CSV (a header row, then a row a day). NULL out of memory. */
static char *
report_csv(const struct report_q *q, const struct report *r, size_t *len)
{
	struct buf b;
	char date[11];
	int64_t i;
	int k;

	buf_init(&b);
	buf_adds(&b, "date");
	for (k = 0; k < ST_RC_N; k++)
		buf_addf(&b, ",%s", st_report_count_name(k));
	buf_adds(&b, "\r\n");
	for (i = 0; i < r->ndays; i++) {
		date_fmt(q->from_day + i, date);
		buf_adds(&b, date);
		for (k = 0; k < ST_RC_N; k++)
			buf_addf(&b, ",%llu",
			    (unsigned long long)r->days[i].v[k]);
		buf_adds(&b, "\r\n");
	}
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

/* ST_REPORT_GET's rows made into the answer the request asked. */
static void
report_done(const struct storec_result *res, void *arg)
{
	struct conn *c = arg;
	struct report_q *q = c->hctx;
	struct st_report_rep rep;
	struct report r;
	char *csv;
	size_t len;
	json_t *v;

	memset(&r, 0, sizeof(r));	/* report_free's, when the zone is gone */
	conn_let_go(c);
	if (res->status != STOREC_OK) {
		if (!admin_said_invalid(c, res, NULL))
			admin_answer(c, res, PROTO_ST_REPORT_GET, 200, NULL,
			    NULL);
	} else if (storec_decode(res, PROTO_ST_REPORT_GET, &rep) < 0) {
		log_warnx("reports: ST_REPORT_GET: a reply that does not "
		    "decode");
		conn_send_error(c, 500, admin_headers, "Internal server error");
	} else {
		/*
		 * Asked again: while storaged answered, TZ_CACHE_MAX other
		 * zones may have taken the slot q->zone points to.
		 */
		if ((q->zone = tz_get(q->tz)) == NULL ||
		    report_make(q, &rep, &r) < 0)
			conn_send_error(c, 500, admin_headers,
			    "Internal server error");
		else if (q->csv) {
			if ((csv = report_csv(q, &r, &len)) == NULL)
				conn_send_error(c, 500, admin_headers,
				    "Internal server error");
			else
				conn_send(c, 200, admin_headers,
				    "text/csv; charset=utf-8", csv, len);
			free(csv);
		} else if ((v = report_json(q, &r, &rep)) == NULL)
			conn_send_error(c, 500, admin_headers,
			    "Internal server error");
		else
			conn_send_json(c, 200, admin_headers, v);
		report_free(&r);
		st_rep_free(PROTO_ST_REPORT_GET, &rep);
	}
	free(q);
}

static void
report_ask(struct conn *c, struct http_request *req, int csv)
{
	char widget[ST_WIDGET_MAX + 1], agent[ST_ID_HEX + 1];
	struct st_report_get_req sq;
	struct report_q *q;
	const char *why;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	q->csv = csv;
	if ((why = report_query(req->query, q, &sq, widget, agent)) != NULL) {
		free(q);
		conn_send_error(c, 400, admin_headers, why);
		return;
	}
	admin_ask_held(c, q, free, PROTO_ST_REPORT_GET, &sq, report_done);
}

void
reports_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	report_ask(c, req, 0);
}

void
reports_csv_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	report_ask(c, req, 1);
}
