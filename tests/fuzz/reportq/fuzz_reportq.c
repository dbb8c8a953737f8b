/*
 * libFuzzer target for the reports routes' query string (report_query,
 * workerd/admin/reports.c: GET /v1/admin/reports and reports.csv), any
 * client's ?from=&to=&tz=&widget_id=&agent_id=. The input, to its first
 * NUL, is the query; an empty one is also read as no query (NULL).
 * Properties are checked, abort() otherwise: the same query reads the
 * same twice in a row (a third time when a midnight fell between); a
 * refusal names its parameter ("tz: ", "from: "...) or
 * the query; what is taken has a valid zone's name that tz_get gives
 * (UTC when tz is not given), from_day <= to_day, 366 days at most,
 * from_day not before 1970-01-01, a from= or to= given read back as
 * the same text, storaged's range the first instants of from_day and of
 * the day after to_day in the zone (from 0 at the earliest, before to),
 * the widget and agent "" or valid and pointed at by the request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

#define QUERY_MAX	4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_reportq: %s\n", what);
		abort();
	}
}

/* One reading of query into its own q, sq, widget and agent. */
struct reading {
	struct report_q q;
	struct st_report_get_req sq;
	char widget[ST_WIDGET_MAX + 1], agent[ST_ID_HEX + 1];
	const char *why;
};

static void
read_query(const char *query, struct reading *r)
{
	memset(r, 0, sizeof(*r));
	r->why = report_query(query, &r->q, &r->sq, r->widget, r->agent);
}

/* A refusal names its parameter, or the query's escapes. */
static int
named(const char *why)
{
	static const char *const names[] = { "Invalid query parameters",
	    "tz: ", "from: ", "to: ", "widget_id: ", "agent_id: " };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(why, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* A date given (name in query) reads back as days, the same text. */
static void
check_date(const char *query, const char *name, int64_t days)
{
	char given[16], back[16];
	int64_t y;
	int m, d;

	if (query == NULL || http_query_param(query, name, given,
	    sizeof(given)) != 1)
		return;
	civil_from_days(days, &y, &m, &d);
	snprintf(back, sizeof(back), "%04d-%02d-%02d", (int)y, m, d);
	check(strcmp(given, back) == 0, "a date read as another day");
}

static void
check_taken(const char *query, const struct reading *r)
{
	const struct report_q *q = &r->q;
	int64_t start;
	char tz[TZ_NAME_MAX + 1];

	check(tz_name_valid(q->tz), "an invalid zone's name taken");
	check(q->zone != NULL && q->zone == tz_get(q->tz), "not tz's zone");
	if (query == NULL || http_query_param(query, "tz", tz,
	    sizeof(tz)) != 1)
		strlcpy(tz, "UTC", sizeof(tz));
	check(strcmp(q->tz, tz) == 0, "not the zone given (or UTC)");
	check(q->from_day >= 0, "from before 1970-01-01");
	check(q->from_day <= q->to_day, "from after to");
	check(q->to_day - q->from_day < 366, "more than 366 days");
	check_date(query, "from", q->from_day);
	check_date(query, "to", q->to_day);
	start = tzif_day_start(q->zone, q->from_day);
	check(r->sq.from == (start > 0 ? (uint64_t)start : 0),
	    "storaged's from is not from_day's start");
	check(r->sq.to == (uint64_t)tzif_day_start(q->zone, q->to_day + 1),
	    "storaged's to is not the start of the day after to_day");
	check(r->sq.from < r->sq.to, "an empty range");
	check(r->sq.widget == r->widget && r->sq.agent == r->agent,
	    "the request's widget and agent elsewhere");
	check(r->widget[0] == '\0' || admin_widget_valid(r->widget),
	    "an invalid widget id taken");
	check(q->by_widget == (r->widget[0] != '\0'), "by_widget");
	check(r->agent[0] == '\0' || st_id_valid(r->agent) ||
	    strcmp(r->agent, ST_REPORT_DEFAULT_AGENT) == 0,
	    "an invalid agent id taken");
}

/* Two readings of one query the same: answer, range, widget and agent. */
static int
same_reading(const struct reading *a, const struct reading *b)
{
	if ((a->why == NULL) != (b->why == NULL))
		return 0;
	if (a->why != NULL)
		return strcmp(a->why, b->why) == 0;
	return a->q.from_day == b->q.from_day && a->q.to_day == b->q.to_day &&
	    strcmp(a->q.tz, b->q.tz) == 0 && a->sq.from == b->sq.from &&
	    a->sq.to == b->sq.to && strcmp(a->widget, b->widget) == 0 &&
	    strcmp(a->agent, b->agent) == 0;
}

/*
 * The same query reads the same twice in a row. A default to= is the
 * zone's today: a midnight may fall between two readings, never between
 * the second and a third (microseconds apart), so a third settles it.
 */
static void
check_query(const char *query)
{
	struct reading a, b;

	read_query(query, &a);
	read_query(query, &b);
	if (!same_reading(&a, &b)) {
		read_query(query, &a);
		check(same_reading(&a, &b), "the same query, another reading");
	}
	if (a.why != NULL) {
		check(named(a.why), "a refusal naming no parameter");
		return;
	}
	check_taken(query, &a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char query[QUERY_MAX + 1];
	size_t n = 0;

	while (n < size && n < QUERY_MAX && data[n] != '\0') {
		query[n] = (char)data[n];
		n++;
	}
	query[n] = '\0';
	check_query(query);
	if (n == 0)
		check_query(NULL);
	return 0;
}
