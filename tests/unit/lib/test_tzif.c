/*
 * Unit tests: time zones from TZif files (lib/tzif.c) against known
 * offsets (the files in /usr/share/zoneinfo, Debian's tzdata; the years
 * past 2037 come from the footer's POSIX rule), and away mode's business
 * hours as a pure function of fixed instants (widgetmsg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "proto.h"
#include "tzif.h"
#include "util.h"
#include "widgetmsg.h"
#include "test_util.h"

struct known {
	const char *zone;
	int64_t t;
	int32_t off;
};

/* Expected offsets from Python's zoneinfo on the same tzdata. */
static const struct known known[] = {
	{ "Europe/Paris", 1782907200, 7200 },		/* 2026-07-01 summer */
	{ "Europe/Paris", 1768478400, 3600 },		/* 2026-01-15 winter */
	{ "America/New_York", 1772953199, -18000 },	/* 2026-03-08 06:59:59Z */
	{ "America/New_York", 1772953200, -14400 },	/* 07:00Z: EDT */
	{ "America/New_York", 1793512799, -14400 },	/* 2026-11-01 05:59:59Z */
	{ "America/New_York", 1793512800, -18000 },	/* 06:00Z: EST */
	{ "Asia/Kolkata", 1777939200, 19800 },		/* +05:30 */
	{ "UTC", 1777939200, 0 },
	{ "Europe/Paris", -2208988800, 561 },		/* 1900: Paris mean time */
	/* Past the transitions: the footer's rule. */
	{ "Europe/Paris", 4118126400, 7200 },		/* 2100-07-01 */
	{ "Europe/Paris", 4103697600, 3600 },		/* 2100-01-15 */
	{ "America/New_York", 4108690799, -18000 },	/* 2100-03-14 06:59:59Z */
	{ "America/New_York", 4108690800, -14400 },
	{ "America/New_York", 4129250399, -14400 },	/* 2100-11-07 05:59:59Z */
	{ "America/New_York", 4129250400, -18000 },
	{ "Australia/Sydney", 4103654400, 39600 },	/* 2100-01-15: DST */
	{ "Australia/Sydney", 4119292800, 36000 },	/* 2100-07-15 */
};

static void
test_known_offsets(void **state)
{
	const struct tzinfo *tz;
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		tz = tz_get(known[i].zone);
		assert_non_null(tz);
		if (tzif_offset(tz, known[i].t) != known[i].off)
			fail_msg("%s at %lld: %d, want %d", known[i].zone,
			    (long long)known[i].t, tzif_offset(tz, known[i].t),
			    known[i].off);
	}
	/* Loaded once: the same zone is the same pointer. */
	assert_ptr_equal(tz_get("Europe/Paris"), tz_get("Europe/Paris"));
}

/* The local date (days since the epoch) of the UTC instant t (seconds). */
static int64_t
local_date(const struct tzinfo *tz, int64_t t)
{
	int64_t l = t + tzif_offset(tz, t);

	return l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
}

/*
 * tzif_day_start: the day's first second is on it, the one before on the
 * day before. Where clocks go forward at midnight west of UTC (Santiago,
 * Havana, the Azores) midnight does not exist and the day starts an hour
 * later: the offset at the guessed instant once gave 23:00 the day before.
 */
static void
test_day_start(void **state)
{
	static const struct {
		const char *zone;
		int y, m, d;
		int64_t utc_hour;	/* the day's start, hours into the UTC day */
	} days[] = {
		{ "America/Santiago", 2026, 9, 6, 4 },	/* 00:00 -04 -> 01:00 -03 */
		{ "America/Havana", 2026, 3, 8, 5 },	/* 00:00 -05 -> 01:00 -04 */
		{ "Atlantic/Azores", 2026, 3, 29, 1 },	/* 00:00 -01 -> 01:00 +00 */
		{ "Africa/Cairo", 2026, 4, 24, -2 },	/* 00:00 +02 -> 01:00 +03 */
		{ "Europe/Paris", 2026, 3, 29, -1 },
		{ "America/Santiago", 2026, 4, 5, 4 },	/* 24:00 -03 is 23:00 -04 */
		{ "UTC", 2026, 11, 29, 0 },
		{ "Asia/Tokyo", 1970, 1, 1, -9 },	/* before the epoch */
	};
	const struct tzinfo *tz;
	int64_t day, t;
	size_t i;

	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		tz = tz_get(days[i].zone);
		assert_non_null(tz);
		day = days_from_civil(days[i].y, days[i].m, days[i].d);
		t = tzif_day_start(tz, day);
		assert_int_equal(t % 1000, 0);
		t /= 1000;
		if (t != day * 86400 + days[i].utc_hour * 3600)
			fail_msg("%s %d-%d-%d: starts at %lld, not %lld",
			    days[i].zone, days[i].y, days[i].m, days[i].d,
			    (long long)t, (long long)(day * 86400 +
			    days[i].utc_hour * 3600));
		assert_int_equal(local_date(tz, t), day);
		assert_int_equal(local_date(tz, t - 1), day - 1);
	}
}

static void
test_names(void **state)
{
	assert_true(tz_name_valid("Europe/Paris"));
	assert_true(tz_name_valid("America/Argentina/Buenos_Aires"));
	assert_true(tz_name_valid("Etc/GMT+5"));
	assert_true(tz_name_valid("UTC"));
	assert_false(tz_name_valid(""));
	assert_false(tz_name_valid("../etc/passwd"));
	assert_false(tz_name_valid("Europe/../../etc/passwd"));
	assert_false(tz_name_valid("/etc/passwd"));
	assert_false(tz_name_valid("Europe//Paris"));
	assert_false(tz_name_valid("Europe/"));
	assert_false(tz_name_valid("Europe/.hidden"));
	assert_false(tz_name_valid("Europe/Pa ris"));
	assert_false(tz_name_valid("right/Europe/Paris"));
	assert_false(tz_name_valid("localtime"));
	assert_false(tz_name_valid(
	    "A1234567890123456789012345678901234567890123456789012345678901234"));
	assert_null(tz_get("Mars/Olympus_Mons"));
	assert_null(tz_get("../etc/passwd"));
	/* A directory is no zone. */
	assert_null(tz_get("Europe"));
}

static void
test_rules(void **state)
{
	struct tzrule r;
	static const char *bad[] = {
		"", "EST", "EST5EDT", "E5", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0",
		"EST5EDT,J0,J365", "EST5EDT,M3.2.0,M11.1.0x", "<AB>5",
		"EST99", "EST5EDT,M3.2.0/168,M11.1.0",
	};
	size_t i;

	assert_int_equal(tz_rule_parse("<+0330>-3:30", 12, &r), 0);
	assert_int_equal(r.std_off, 12600);
	assert_false(r.has_dst);
	assert_int_equal(tz_rule_parse("CET-1CEST,M3.5.0,M10.5.0/3", 26, &r), 0);
	assert_int_equal(r.std_off, 3600);
	assert_int_equal(r.dst_off, 7200);
	assert_int_equal(r.end.secs, 3 * 3600);
	assert_int_equal(tz_rule_parse("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	    32, &r), 0);
	assert_int_equal(r.start.secs, -7200);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tz_rule_parse(bad[i], strlen(bad[i]), &r) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
}

/* A TZif v2 file with no transitions: one type (off) and a footer. */
static size_t
tiny_tzif(uint8_t *b, int32_t off, const char *footer)
{
	size_t n = 0;
	int v;

	for (v = 0; v < 2; v++) {
		memset(b + n, 0, 44);
		memcpy(b + n, "TZif2", 5);
		proto_put_be32(b + n + 36, 1);	/* typecnt */
		proto_put_be32(b + n + 40, 4);	/* charcnt */
		n += 44;
		proto_put_be32(b + n, (uint32_t)off);
		b[n + 4] = 0;
		b[n + 5] = 0;
		memcpy(b + n + 6, "XYZ", 4);
		n += 10;
	}
	n += (size_t)sprintf((char *)b + n, "\n%s\n", footer);
	return n;
}

static void
test_parse(void **state)
{
	struct tzinfo tz;
	uint8_t b[256];
	size_t n, i;

	/* No transitions: the footer's rule does it all. */
	n = tiny_tzif(b, -18000, "EST5EDT,M3.2.0,M11.1.0");
	assert_int_equal(tzif_parse(b, n, &tz), 0);
	assert_int_equal(tz.ntrans, 0);
	assert_true(tz.has_rule);
	assert_int_equal(tzif_offset(&tz, 1772953199), -18000);
	assert_int_equal(tzif_offset(&tz, 1772953200), -14400);
	/* Far instants are clamped, not overflowed. */
	(void)tzif_offset(&tz, INT64_MAX);
	(void)tzif_offset(&tz, INT64_MIN);
	tzif_free(&tz);
	/* An empty footer: the one type. */
	n = tiny_tzif(b, 19800, "");
	assert_int_equal(tzif_parse(b, n, &tz), 0);
	assert_false(tz.has_rule);
	assert_int_equal(tzif_offset(&tz, 0), 19800);
	tzif_free(&tz);
	/* Every shorter prefix is refused. */
	n = tiny_tzif(b, 3600, "CET-1");
	for (i = 0; i < n; i++)
		assert_int_equal(tzif_parse(b, i, &tz), -1);
	/* Version 1 is refused; so is an offset of 26 hours. */
	b[4] = 0;
	assert_int_equal(tzif_parse(b, n, &tz), -1);
	n = tiny_tzif(b, 26 * 3600, "");
	assert_int_equal(tzif_parse(b, n, &tz), -1);
}

/* ------------------------------------------------------- business hours */

static void
test_hours_open_at(void **state)
{
	const struct st_hours mon[] = {
		{ 0, 9 * 60, 17 * 60 + 30 },	/* mon 09:00-17:30 */
	};
	const struct st_hours wrap[] = {
		{ 0, 0, 60 },			/* mon 00:00-01:00 */
		{ 6, 23 * 60, ST_DAY_MINUTES },	/* sun 23:00-24:00 */
	};

	/* 2026-11-23 (a Monday) 12:00Z, in +01:00: 13:00 local. */
	assert_true(st_hours_open_at(mon, 1, 3600, 1795435200));
	/* 17:00Z is 18:00 local: closed. */
	assert_false(st_hours_open_at(mon, 1, 3600, 1795453200));
	/* ... but 16:00 in -01:00 open; no hours at all: closed. */
	assert_true(st_hours_open_at(mon, 1, -3600, 1795453200));
	assert_false(st_hours_open_at(mon, 0, 3600, 1795435200));
	/* Sunday 23:30Z is Monday 00:30 in +01:00. */
	assert_true(st_hours_open_at(wrap, 2, 3600, 1795390200));
	/* Sunday 22:59Z in +01:00 is 23:59 Sunday: up to 24:00. */
	assert_true(st_hours_open_at(wrap, 2, 3600, 1795388340));
	assert_false(st_hours_open_at(wrap, 2, 0, 1795388340));
	/* Before 1970: 1969-12-29 was a Monday. */
	assert_true(st_hours_open_at(mon, 1, 0, -223200));
}

static void
test_availability(void **state)
{
	struct st_widget w;

	st_widget_defaults(&w);
	assert_int_equal(st_widget_availability(&w, 1, 1795435200),
	    ST_AVAIL_OPEN);
	assert_int_equal(st_widget_availability(&w, 0, 1795435200),
	    ST_AVAIL_NOBODY);
	assert_string_equal(st_avail_reason(ST_AVAIL_NOBODY), "nobody");
	assert_null(st_avail_reason(ST_AVAIL_OPEN));
	/* A zone and no hours: always closed, staffed or not. */
	strlcpy(w.timezone, "UTC", sizeof(w.timezone));
	assert_int_equal(st_widget_availability(&w, 1, 1795435200),
	    ST_AVAIL_HOURS);
	/* Paris, Monday 09:00-17:30: 12:00Z is 13:00 there. */
	strlcpy(w.timezone, "Europe/Paris", sizeof(w.timezone));
	w.nhours = 1;
	w.hours[0] = (struct st_hours){ 0, 540, 1050 };
	assert_int_equal(st_widget_availability(&w, 1, 1795435200),
	    ST_AVAIL_OPEN);
	assert_int_equal(st_widget_availability(&w, 1, 1795453200),
	    ST_AVAIL_HOURS);
}

/*
 * A zone stored valid whose file a tzdata upgrade took away: the widget
 * is open as without hours, and that is logged once, not at each look.
 */
static void
test_availability_zone_gone(void **state)
{
	static const char zone[] = "Europe/Parley_Gone";
	struct st_widget w;
	struct stderr_capture cap;
	char text[4096], *at;

	log_init("parley-test");
	st_widget_defaults(&w);
	strlcpy(w.timezone, zone, sizeof(w.timezone));
	w.nhours = 1;
	w.hours[0] = (struct st_hours){ 0, 540, 1050 };
	stderr_capture_start(&cap);
	/* Monday 17:00Z: closed in any zone near Europe's. */
	assert_int_equal(st_widget_availability(&w, 1, 1795453200),
	    ST_AVAIL_OPEN);
	assert_int_equal(st_widget_availability(&w, 0, 1795453200),
	    ST_AVAIL_NOBODY);
	stderr_capture_end(&cap, text, sizeof(text));
	assert_non_null(at = strstr(text, "time zone Europe/Parley_Gone: no "
	    "file in /usr/share/zoneinfo: business hours of widgets in it "
	    "are not applied\n"));
	assert_null(strstr(at + 1, "time zone"));
	st_widget_free(&w);
}

static void
test_hours_invalid(void **state)
{
	struct st_widget w;
	uint32_t i;

	st_widget_defaults(&w);
	assert_null(st_widget_invalid(&w));
	w.nhours = 1;
	w.hours[0] = (struct st_hours){ 0, 540, 1050 };
	assert_string_equal(st_widget_invalid(&w),
	    "business_hours: timezone: required");
	strlcpy(w.timezone, "Mars/Olympus_Mons", sizeof(w.timezone));
	assert_non_null(strstr(st_widget_invalid(&w), "IANA"));
	strlcpy(w.timezone, "Europe/Paris", sizeof(w.timezone));
	assert_null(st_widget_invalid(&w));
	w.hours[0].end = 540;			/* empty */
	assert_non_null(st_widget_invalid(&w));
	w.hours[0] = (struct st_hours){ 0, 540, ST_DAY_MINUTES + 1 };
	assert_non_null(st_widget_invalid(&w));
	w.hours[0] = (struct st_hours){ 7, 540, 600 };	/* no such day */
	assert_non_null(st_widget_invalid(&w));
	/* Overlapping, out of order, five a day. */
	w.nhours = 2;
	w.hours[0] = (struct st_hours){ 0, 540, 720 };
	w.hours[1] = (struct st_hours){ 0, 700, 800 };
	assert_non_null(strstr(st_widget_invalid(&w), "overlap"));
	w.hours[1] = (struct st_hours){ 0, 720, 800 };	/* touching is fine */
	assert_null(st_widget_invalid(&w));
	w.hours[0].day = 1;
	assert_non_null(strstr(st_widget_invalid(&w), "order"));
	w.nhours = 5;
	for (i = 0; i < 5; i++)
		w.hours[i] = (struct st_hours){ 2, (uint16_t)(i * 60),
		    (uint16_t)(i * 60 + 30) };
	assert_non_null(strstr(st_widget_invalid(&w), "4 intervals"));
	w.nhours = 0;
	w.away_message = calloc(1, 502);
	assert_non_null(w.away_message);
	memset(w.away_message, 'a', 501);
	assert_non_null(strstr(st_widget_invalid(&w), "away_message"));
	w.away_message[500] = '\0';
	assert_null(st_widget_invalid(&w));
	st_widget_free(&w);
}

/* The record's new fields survive the codec; an older one reads as none. */
static void
test_hours_codec(void **state)
{
	struct st_widget w, back;
	struct penc e;
	struct pdec d;

	st_widget_defaults(&w);
	strlcpy(w.timezone, "Asia/Kolkata", sizeof(w.timezone));
	w.nhours = 2;
	w.hours[0] = (struct st_hours){ 0, 540, 720 };
	w.hours[1] = (struct st_hours){ 6, 1380, ST_DAY_MINUTES };
	w.away_message = strdup("Back at nine.");
	penc_init(&e);
	penc_widget(&e, &w);
	assert_false(e.err);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &back), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(back.timezone, "Asia/Kolkata");
	assert_int_equal(back.nhours, 2);
	assert_int_equal(back.hours[1].day, 6);
	assert_int_equal(back.hours[1].end, ST_DAY_MINUTES);
	assert_string_equal(back.away_message, "Back at nine.");
	st_widget_free(&back);
	/* A count past ST_HOURS_MAX does not decode. */
	e.len -= 4 + strlen("Back at nine.") + 2 * 5 + 4;
	penc_u32(&e, ST_HOURS_MAX + 1);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &back), -1);
	penc_free(&e);
	st_widget_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_offsets),
		cmocka_unit_test(test_day_start),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_hours_open_at),
		cmocka_unit_test(test_availability),
		cmocka_unit_test(test_availability_zone_gone),
		cmocka_unit_test(test_hours_invalid),
		cmocka_unit_test(test_hours_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
