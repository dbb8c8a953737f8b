/*
 * IANA time zones without TZ= (issue 23, away mode): a reader of the
 * compiled zone files (TZif, RFC 8536, version 2 and later) under
 * /usr/share/zoneinfo (Debian's tzdata), and the UTC offset of a zone at
 * an instant. The offset comes from the file's transitions, and past the
 * last one (Debian's "fat" files stop at 2037, "slim" ones much earlier)
 * from the footer's POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), so
 * both kinds of file give the right answer in every year. Leap seconds
 * are not applied (the "right/" zones are refused by name).
 *
 * A zone file is read once and kept: tz_get() holds at most TZ_CACHE_MAX
 * zones (the oldest loaded goes first). Nothing here calls setenv("TZ")
 * or localtime(): the process's own time zone is never touched.
 */
#ifndef PARLEY_TZIF_H
#define PARLEY_TZIF_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX	64	/* bytes of a zone's name ("Europe/Paris") */
#define TZ_FILE_MAX	(256u * 1024)	/* a zone file's most bytes */
#define TZ_CACHE_MAX	32	/* zones kept in memory */
#define TZ_DIR		"/usr/share/zoneinfo"

/* One end of a POSIX TZ rule's daylight-saving time. */
struct tzdate {
	char kind;		/* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' */
	int day;		/* J and D: the day; M: the weekday 0 (Sun)..6 */
	int month, week;	/* M: 1..12, 1..5 (5 = the last) */
	int32_t secs;		/* local time of day of the change (may be <0, >24h) */
};

/* The footer's POSIX TZ rule. */
struct tzrule {
	int32_t std_off;	/* seconds east of UTC */
	int has_dst;
	int32_t dst_off;
	struct tzdate start, end;
};

struct tzinfo {
	uint32_t ntrans;
	int64_t *trans;		/* ascending UTC instants (seconds) */
	uint8_t *idx;		/* each transition's type */
	uint32_t ntypes;
	int32_t off[256];	/* each type's offset, seconds east of UTC */
	int has_rule;		/* a footer rule for instants past the last */
	struct tzrule rule;
};

/*
 * A TZif file of len bytes into tz: 0, or -1 when it is not a well-formed
 * version 2+ file (then tz holds nothing to free). A footer rule this
 * reader cannot follow is dropped: the last transition's offset then
 * stands past it.
 */
int tzif_parse(const uint8_t *p, size_t len, struct tzinfo *tz);
void tzif_free(struct tzinfo *tz);
/* Days since 1970-01-01 of the proleptic Gregorian y-m-d, and back. */
int64_t days_from_civil(int64_t y, int m, int d);
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* The offset (seconds east of UTC) in force at the UTC instant t (seconds). */
int32_t tzif_offset(const struct tzinfo *tz, int64_t t);
/*
 * The first instant (ms since the epoch, <0 before it) of the local date
 * day (days since 1970-01-01) in tz: its midnight, or where a gap that
 * skips midnight ends (clocks put forward at 00:00, as America/Santiago's).
 * A binary search over the seconds around it, which takes the local date
 * to go only forward there.
 */
int64_t tzif_day_start(const struct tzinfo *tz, int64_t day);
/*
 * A POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0") into r: 0, or -1 when
 * malformed (the TZif footer's grammar, RFC 8536 section 3.3.1).
 */
int tz_rule_parse(const char *s, size_t len, struct tzrule *r);

/*
 * 1 when name may name a zone: 1..TZ_NAME_MAX bytes of [A-Za-z0-9_+-]
 * parts joined by '/', no part empty or starting with '.' or '-', not
 * "right/..." (leap seconds) nor "posixrules" or "localtime". Whether the
 * zone exists is tz_get's to say.
 */
int tz_name_valid(const char *name);
/*
 * The zone name names, read from TZ_DIR once and then kept: NULL when the
 * name is not valid or no readable, well-formed zone file has it. The
 * pointer holds until TZ_CACHE_MAX other zones have been loaded.
 */
const struct tzinfo *tz_get(const char *name);
/*
 * For a zone tz_get gave NULL: logs a warning, once per name per process,
 * when name is valid but TZ_DIR has no file of it (a tzdata upgrade took
 * it away after it was stored), what then says what the caller does
 * without it. Nothing for a file that is there but unreadable (tz_get
 * logs a malformed one). The first TZ_CACHE_MAX such names are logged.
 */
void tz_warn_gone(const char *name, const char *what);

#endif
