/*
 * Time zones from the compiled zone files (tzif.h): the TZif parser, the
 * footer's POSIX TZ rules, the offset at an instant, and a small cache of
 * loaded zones.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tzif.h"
#include "util.h"

#define TZIF_HDR	44
#define DAY_SECS	86400
/* RFC 8536: offsets are within (-25h, 26h); rule times within ±167h. */
#define OFF_MAX		(26 * 3600)
/* Instants are taken within years 1 to 9999 (no overflow past that). */
#define T_MIN		(-62135596800LL)
#define T_MAX		253402300799LL

/* ------------------------------------------------------------ TZif bytes */

struct tzhdr {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static void
hdr_read(const uint8_t *p, struct tzhdr *h)
{
	h->isutcnt = proto_get_be32(p + 20);
	h->isstdcnt = proto_get_be32(p + 24);
	h->leapcnt = proto_get_be32(p + 28);
	h->timecnt = proto_get_be32(p + 32);
	h->typecnt = proto_get_be32(p + 36);
	h->charcnt = proto_get_be32(p + 40);
}

/* Bytes of a data block with tsize-byte times, or 0 when absurd. */
static uint64_t
block_size(const struct tzhdr *h, unsigned tsize)
{
	if (h->typecnt < 1 || h->typecnt > 256 || h->timecnt > TZ_FILE_MAX ||
	    h->leapcnt > TZ_FILE_MAX || h->charcnt > TZ_FILE_MAX ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return 0;
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 +
	    h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
	    h->isutcnt;
}

/* The version 2+ block at p (its header checked): transitions and types. */
static int
block_read(const uint8_t *p, const struct tzhdr *h, struct tzinfo *tz)
{
	const uint8_t *idx = p + (size_t)h->timecnt * 8;
	const uint8_t *types = idx + h->timecnt;
	uint32_t i;
	int32_t off;

	tz->ntypes = h->typecnt;
	for (i = 0; i < h->typecnt; i++) {
		off = (int32_t)proto_get_be32(types + 6 * i);
		if (off <= -OFF_MAX || off >= OFF_MAX || types[6 * i + 4] > 1)
			return -1;
		tz->off[i] = off;
	}
	if (h->timecnt == 0)
		return 0;
	tz->trans = calloc(h->timecnt, sizeof(*tz->trans));
	tz->idx = malloc(h->timecnt);
	if (tz->trans == NULL || tz->idx == NULL)
		return -1;
	for (i = 0; i < h->timecnt; i++) {
		tz->trans[i] = (int64_t)proto_get_be64(p + 8 * i);
		if (idx[i] >= h->typecnt ||
		    (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
			return -1;
		tz->idx[i] = idx[i];
	}
	tz->ntrans = h->timecnt;
	return 0;
}

int
tzif_parse(const uint8_t *p, size_t len, struct tzinfo *tz)
{
	struct tzhdr h1, h2;
	uint64_t n1, n2;
	const uint8_t *foot, *nl;
	size_t rest;

	memset(tz, 0, sizeof(*tz));
	if (len < TZIF_HDR || memcmp(p, "TZif", 4) != 0 || p[4] < '2')
		return -1;
	hdr_read(p, &h1);
	if ((n1 = block_size(&h1, 4)) == 0 || n1 > len - TZIF_HDR ||
	    len - TZIF_HDR - n1 < TZIF_HDR)
		return -1;
	p += TZIF_HDR + n1;
	len -= TZIF_HDR + n1;
	if (memcmp(p, "TZif", 4) != 0 || p[4] < '2')
		return -1;
	hdr_read(p, &h2);
	if ((n2 = block_size(&h2, 8)) == 0 || n2 > len - TZIF_HDR)
		return -1;
	if (block_read(p + TZIF_HDR, &h2, tz) < 0)
		goto bad;
	/* The footer: "\n" rule "\n" (an empty rule: none). */
	foot = p + TZIF_HDR + n2;
	rest = len - TZIF_HDR - (size_t)n2;
	if (rest < 2 || foot[0] != '\n' ||
	    (nl = memchr(foot + 1, '\n', rest - 1)) == NULL)
		goto bad;
	if (nl > foot + 1 && tz_rule_parse((const char *)foot + 1,
	    (size_t)(nl - foot - 1), &tz->rule) == 0)
		tz->has_rule = 1;
	return 0;
bad:
	tzif_free(tz);
	return -1;
}

void
tzif_free(struct tzinfo *tz)
{
	free(tz->trans);
	free(tz->idx);
	memset(tz, 0, sizeof(*tz));
}

/* ------------------------------------------------------- POSIX TZ rules */

struct rscan {
	const char *s, *end;
};

static int
peek(const struct rscan *r)
{
	return r->s < r->end ? (unsigned char)*r->s : -1;
}

/* A number of at most max; -1 when none. */
static long
rnum(struct rscan *r, long max)
{
	long v = 0;
	int any = 0;

	while (peek(r) >= '0' && peek(r) <= '9') {
		v = v * 10 + (*r->s++ - '0');
		any = 1;
		if (v > max)
			return -1;
	}
	return any ? v : -1;
}

/* A zone abbreviation: 3+ letters, or <3+ of [A-Za-z0-9+-]>. */
static int
rname(struct rscan *r)
{
	const char *start;

	if (peek(r) == '<') {
		start = ++r->s;
		while (peek(r) >= 0 && (isalnum(peek(r)) || peek(r) == '+' ||
		    peek(r) == '-'))
			r->s++;
		if (peek(r) != '>' || r->s - start < 3)
			return -1;
		r->s++;
		return 0;
	}
	start = r->s;
	while (peek(r) >= 0 && isalpha(peek(r)))
		r->s++;
	return r->s - start >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] of at most maxh hours, into *secs. */
static int
rtime(struct rscan *r, long maxh, int32_t *secs)
{
	long h, m = 0, sec = 0;
	int neg = 0;

	if (peek(r) == '+' || peek(r) == '-')
		neg = *r->s++ == '-';
	if ((h = rnum(r, maxh)) < 0)
		return -1;
	if (peek(r) == ':') {
		r->s++;
		if ((m = rnum(r, 59)) < 0)
			return -1;
		if (peek(r) == ':') {
			r->s++;
			if ((sec = rnum(r, 59)) < 0)
				return -1;
		}
	}
	*secs = (int32_t)((h * 3600 + m * 60 + sec) * (neg ? -1 : 1));
	return 0;
}

/* Jn, n or Mm.w.d, then [/time] (default 02:00). */
static int
rdate(struct rscan *r, struct tzdate *d)
{
	long a, b, c;

	if (peek(r) == 'J') {
		r->s++;
		d->kind = 'J';
		if ((a = rnum(r, 365)) < 1)
			return -1;
		d->day = (int)a;
	} else if (peek(r) == 'M') {
		r->s++;
		d->kind = 'M';
		if ((a = rnum(r, 12)) < 1 || peek(r) != '.')
			return -1;
		r->s++;
		if ((b = rnum(r, 5)) < 1 || peek(r) != '.')
			return -1;
		r->s++;
		if ((c = rnum(r, 6)) < 0)
			return -1;
		d->month = (int)a;
		d->week = (int)b;
		d->day = (int)c;
	} else {
		d->kind = 'D';
		if ((a = rnum(r, 365)) < 0)
			return -1;
		d->day = (int)a;
	}
	d->secs = 2 * 3600;
	if (peek(r) == '/') {
		r->s++;
		return rtime(r, 167, &d->secs);
	}
	return 0;
}

int
tz_rule_parse(const char *s, size_t len, struct tzrule *out)
{
	struct rscan r = { s, s + len };
	int32_t west;

	memset(out, 0, sizeof(*out));
	if (rname(&r) < 0 || rtime(&r, 24, &west) < 0)
		return -1;
	out->std_off = -west;
	if (peek(&r) < 0)
		return 0;
	if (rname(&r) < 0)
		return -1;
	out->has_dst = 1;
	out->dst_off = out->std_off + 3600;
	if (peek(&r) != ',' && peek(&r) >= 0) {
		if (rtime(&r, 24, &west) < 0)
			return -1;
		out->dst_off = -west;
	}
	/* A rule with no dates: this reader does not guess US ones. */
	if (peek(&r) != ',')
		return -1;
	r.s++;
	if (rdate(&r, &out->start) < 0 || peek(&r) != ',')
		return -1;
	r.s++;
	if (rdate(&r, &out->end) < 0 || peek(&r) >= 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------ calendar helpers */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; H. Hinnant's). */
int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* The year of day z (days since 1970-01-01). */
static int64_t
year_of_days(int64_t z)
{
	int64_t y;
	int m, d;

	civil_from_days(z, &y, &m, &d);
	return y;
}

static int
leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	return m == 2 && leap_year(y) ? 29 : d[m - 1];
}

/* The local day (days since 1970-01-01) a rule's date falls on in year y. */
static int64_t
rule_day(int64_t y, const struct tzdate *d)
{
	int64_t first;
	int wd, day;

	if (d->kind == 'J')
		return days_from_civil(y, 1, 1) + d->day - 1 +
		    (leap_year(y) && d->day >= 60);
	if (d->kind == 'D')
		return days_from_civil(y, 1, 1) + d->day;
	first = days_from_civil(y, d->month, 1);
	/* 1970-01-01 was a Thursday (4). */
	wd = (int)((first % 7 + 7 + 4) % 7);
	day = 1 + (d->day - wd + 7) % 7 + (d->week - 1) * 7;
	while (day > month_days(y, d->month))
		day -= 7;
	return first + day - 1;
}

/* The rule's offset at t. */
static int32_t
rule_offset(const struct tzrule *r, int64_t t)
{
	int64_t y, start, end;

	if (!r->has_dst)
		return r->std_off;
	y = year_of_days(floor_div(t + r->std_off, DAY_SECS));
	/* The change to DST is in standard time's clock, back in DST's. */
	start = rule_day(y, &r->start) * DAY_SECS + r->start.secs - r->std_off;
	end = rule_day(y, &r->end) * DAY_SECS + r->end.secs - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	/* The southern hemisphere: DST over the new year. */
	return t >= end && t < start ? r->std_off : r->dst_off;
}

int32_t
tzif_offset(const struct tzinfo *tz, int64_t t)
{
	uint32_t lo, hi, mid;

	t = t < T_MIN ? T_MIN : t > T_MAX ? T_MAX : t;
	if (tz->ntrans == 0)
		return tz->has_rule ? rule_offset(&tz->rule, t) : tz->off[0];
	if (t < tz->trans[0])
		return tz->off[0];
	if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule)
		return rule_offset(&tz->rule, t);
	/* The last transition at or before t. */
	lo = 0;
	hi = tz->ntrans;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[tz->idx[lo]];
}

int64_t
tzif_day_start(const struct tzinfo *tz, int64_t day)
{
	/* Every offset is within OFF_MAX: the day starts between the two. */
	int64_t lo = day * DAY_SECS - OFF_MAX, hi = day * DAY_SECS + OFF_MAX;
	int64_t mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (floor_div(mid + tzif_offset(tz, mid), DAY_SECS) < day)
			lo = mid;
		else
			hi = mid;
	}
	return hi * 1000;
}

/* ---------------------------------------------------------------- names */

int
tz_name_valid(const char *name)
{
	size_t n = strlen(name), part = 0;
	const char *p;

	if (n < 1 || n > TZ_NAME_MAX || strncmp(name, "right/", 6) == 0 ||
	    strcmp(name, "posixrules") == 0 || strcmp(name, "localtime") == 0)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p == '/') {
			if (part == 0)
				return 0;
			part = 0;
			continue;
		}
		if (part == 0 && (*p == '.' || *p == '-'))
			return 0;
		if (!isalnum((unsigned char)*p) && strchr("_+-", *p) == NULL)
			return 0;
		part++;
	}
	return part > 0;
}

/* ---------------------------------------------------------------- cache */

struct tzslot {
	char name[TZ_NAME_MAX + 1];
	struct tzinfo tz;
};

static struct tzslot cache[TZ_CACHE_MAX];
static size_t ncached, next_out;

/* The file's bytes (malloc'd) into *out: its length, or -1. */
static ssize_t
tz_read(const char *name, uint8_t **out)
{
	char path[sizeof(TZ_DIR) + 1 + TZ_NAME_MAX + 1];
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n = -1, got;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 1 ||
	    st.st_size > (off_t)TZ_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size)) == NULL)
		goto done;
	while (off < (size_t)st.st_size) {
		got = read(fd, buf + off, (size_t)st.st_size - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			goto done;
		off += (size_t)got;
	}
	n = (ssize_t)off;
	*out = buf;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return n;
}

const struct tzinfo *
tz_get(const char *name)
{
	struct tzslot *slot;
	struct tzinfo tz;
	uint8_t *buf = NULL;
	ssize_t n;
	size_t i;
	int rc;

	if (!tz_name_valid(name))
		return NULL;
	for (i = 0; i < ncached; i++)
		if (strcmp(cache[i].name, name) == 0)
			return &cache[i].tz;
	if ((n = tz_read(name, &buf)) < 0)
		return NULL;
	rc = tzif_parse(buf, (size_t)n, &tz);
	free(buf);
	if (rc < 0) {
		log_warnx("time zone %s: not a TZif version 2+ file", name);
		return NULL;
	}
	if (ncached < TZ_CACHE_MAX)
		slot = &cache[ncached++];
	else {
		slot = &cache[next_out];
		next_out = (next_out + 1) % TZ_CACHE_MAX;
		tzif_free(&slot->tz);
	}
	strlcpy(slot->name, name, sizeof(slot->name));
	slot->tz = tz;
	return &slot->tz;
}

/* The zones already warned about by tz_warn_gone. */
static char gone[TZ_CACHE_MAX][TZ_NAME_MAX + 1];
static size_t ngone;

void
tz_warn_gone(const char *name, const char *what)
{
	char path[sizeof(TZ_DIR) + 1 + TZ_NAME_MAX + 1];
	struct stat st;
	size_t i;

	if (!tz_name_valid(name) || ngone == TZ_CACHE_MAX)
		return;
	for (i = 0; i < ngone; i++)
		if (strcmp(gone[i], name) == 0)
			return;
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if (stat(path, &st) == 0 || errno != ENOENT)
		return;
	strlcpy(gone[ngone++], name, sizeof(gone[0]));
	log_warnx("time zone %s: no file in %s: %s", name, TZ_DIR, what);
}
