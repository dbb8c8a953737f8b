/*
 * Widgets, visitor sessions and contacts: records, their encodings and
 * the checks both sides of the socket share (see widgetmsg.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attmsg.h"
#include "widgetmsg.h"

/* Strings NULL in a struct read as "". */
#define S(p)	((p) != NULL ? (p) : "")

/* ---------------------------------------------------------- the record */

static void
hours_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_widget *w = rec;
	uint32_t i;

	penc_str(e, w->timezone);
	penc_u32(e, w->nhours);
	for (i = 0; i < w->nhours && i < ST_HOURS_MAX; i++) {
		penc_u8(e, w->hours[i].day);
		penc_u16(e, w->hours[i].start);
		penc_u16(e, w->hours[i].end);
	}
}

static void
hours_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_widget *w = rec;
	uint32_t i;

	pdec_strbuf(d, w->timezone, sizeof(w->timezone));
	if ((w->nhours = pdec_u32(d)) > ST_HOURS_MAX)
		d->err = 1;
	for (i = 0; i < w->nhours && !d->err; i++) {
		w->hours[i].day = pdec_u8(d);
		w->hours[i].start = pdec_u16(d);
		w->hours[i].end = pdec_u16(d);
	}
}

const struct rcodec st_hours_codec = {
	"HOURS", hours_enc, hours_dec, NULL, NULL,
};

#define WIDGET_ROW(...)	RF_ROW(struct st_widget, __VA_ARGS__)

RL_LAYOUT(st_widget_layout, "widget", struct st_widget,
    ST_WIDGET_ROWS(WIDGET_ROW), NULL);

void
st_widget_defaults(struct st_widget *w)
{
	rl_defaults(&st_widget_layout, w);
	strlcpy(w->primary_color, ST_DEFAULT_COLOR, sizeof(w->primary_color));
	strlcpy(w->text_color, ST_DEFAULT_TEXT_COLOR, sizeof(w->text_color));
}

#define CONTACT_ROW(...)	RF_ROW(struct st_contact, __VA_ARGS__)

RL_LAYOUT(st_contact_layout, "contact", struct st_contact,
    ST_CONTACT_ROWS(CONTACT_ROW), NULL);

#define WSESS_ROW(...)	RF_ROW(struct st_wsess, __VA_ARGS__)

RL_LAYOUT(st_wsess_layout, "wsession", struct st_wsess,
    ST_WSESS_ROWS(WSESS_ROW), NULL);

int
st_wsess_late_v1(const uint8_t *p, size_t len, struct st_wsess *s)
{
	struct pdec d;

	memset(s, 0, sizeof(*s));
	if (len < 2 || p[0] != 1)
		return -1;
	pdec_init(&d, p + 1, len - 1);
	if (rl_dec(&d, &st_wsess_layout, s, 2) == 0 && pdec_done(&d) == 0)
		return 0;
	rl_free(&st_wsess_layout, s);
	return -1;
}

/* ---------------------------------------------------------------- checks */

static int
color_valid(const char *c)
{
	size_t i;

	if (c[0] != '#' || strlen(c) != ST_COLOR_LEN)
		return 0;
	for (i = 1; i < ST_COLOR_LEN; i++)
		if (!isxdigit((unsigned char)c[i]))
			return 0;
	return 1;
}

int
st_model_valid(const char *m)
{
	size_t n = strlen(m);

	if (n > ST_MODEL_MAX)
		return 0;
	for (; *m != '\0'; m++)
		if (!isalnum((unsigned char)*m) && strchr("._:/-", *m) == NULL)
			return 0;
	return 1;
}

/* The business hours, by day then start: NULL when fine. */
static const char *
hours_invalid(const struct st_widget *w)
{
	const struct st_hours *h = NULL, *prev = NULL;
	uint32_t i, inday = 0;

	if (w->nhours > ST_HOURS_MAX)
		return "business_hours: at most 4 intervals a day";
	for (i = 0; i < w->nhours; prev = h, i++) {
		h = &w->hours[i];
		if (h->day > 6 || h->start >= h->end ||
		    h->end > ST_DAY_MINUTES)
			return "business_hours: each interval must be "
			    "[\"HH:MM\", \"HH:MM\"], its start before its end "
			    "(24:00 at the latest)";
		inday = prev != NULL && prev->day == h->day ? inday + 1 : 1;
		if (inday > ST_HOURS_PER_DAY)
			return "business_hours: at most 4 intervals a day";
		if (prev != NULL && (prev->day > h->day ||
		    (prev->day == h->day && prev->end > h->start)))
			return "business_hours: a day's intervals must be in "
			    "order and must not overlap";
	}
	return NULL;
}

/* Away mode's fields: NULL when fine. */
static const char *
away_invalid(const struct st_widget *w)
{
	if (w->timezone[0] == '\0' && w->nhours > 0)
		return "business_hours: timezone: required";
	if (w->timezone[0] != '\0' && tz_get(w->timezone) == NULL)
		return "business_hours: timezone: must be an IANA time zone "
		    "name (\"Europe/Paris\")";
	return hours_invalid(w);
}

/* In ST_LANG_* order. */
static const char *const langs[ST_LANGS] = {
	"en", "es", "pt", "fr", "de", "it", "nl", "pl", "tr", "ar", "ja", "zh",
};

int
st_widget_lang_index(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strlen(langs[i]) == len && memcmp(s, langs[i], len) == 0)
			return (int)i;
	return -1;
}

int
st_widget_lang_valid(const char *s)
{
	return s[0] == '\0' || st_widget_lang_index(s, strlen(s)) >= 0;
}

int
st_secret_valid(const char *s)
{
	size_t i;

	for (i = 0; i < ST_SECRET_HEX; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return s[i] == '\0';
}

void
st_widget_hide_secret(struct st_widget *w)
{
	if (w->identity_secret[0] == '\0')
		return;
	explicit_bzero(w->identity_secret, sizeof(w->identity_secret));
	strlcpy(w->identity_secret, ST_SECRET_HIDDEN,
	    sizeof(w->identity_secret));
}

/* 1 when s is 1..max characters of UTF-8 with no space at either end. */
static int
starter_fits(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && !isspace((unsigned char)s[0]) &&
	    !isspace((unsigned char)s[n - 1]) && proto_text_fits(s, max);
}

/*
 * What visitors may attach: each type known and named once (the size,
 * 1 to 25 MB, is its row's: rl_invalid).
 */
static const char *
attach_invalid(const struct st_widget *w)
{
	uint32_t i, j;

	for (i = 0; i < w->nattachment_types; i++) {
		if (st_attach_kind(S(w->attachment_types[i])) < 0)
			return "attachment_types: each must be \"image\", "
			    "\"pdf\" or \"text\"";
		for (j = 0; j < i; j++)
			if (strcmp(S(w->attachment_types[i]),
			    S(w->attachment_types[j])) == 0)
				return "attachment_types: each at most once";
	}
	return NULL;
}

/* The starters, the language, attachments and the secret: NULL when fine. */
static const char *
engage_invalid(const struct st_widget *w)
{
	const char *why;
	uint32_t i;

	for (i = 0; i < w->nstarters; i++)
		if (!starter_fits(S(w->starters[i]), ST_STARTER_MAX))
			return "starter_questions: each must be 1 to 120 "
			    "characters of UTF-8 (after trimming spaces)";
	if (!st_widget_lang_valid(w->language))
		return "language: must be \"\" or one of en es pt fr de it nl "
		    "pl tr ar ja zh";
	if ((why = attach_invalid(w)) != NULL)
		return why;
	if (w->identity_secret[0] != '\0' &&
	    !st_secret_valid(w->identity_secret))
		return "identity_secret: must be 64 lowercase hex digits";
	return NULL;
}

/* Each row's bounds (record.h), then what ties them together. */
const char *
st_widget_invalid(const struct st_widget *w)
{
	const char *why;
	uint32_t i;

	if ((why = rl_invalid(&st_widget_layout, w)) != NULL)
		return why;
	if (!color_valid(w->primary_color))
		return "primary_color: must be #rrggbb";
	if (!color_valid(w->text_color))
		return "text_color: must be #rrggbb";
	if (w->contact_mode == ST_CONTACT_REQUIRED && !w->collect_name &&
	    !w->collect_email && !w->collect_phone)
		return "contact_info_mode: required needs a field to collect";
	for (i = 0; i < w->norigins; i++)
		if (w->origins == NULL || !st_origin_valid(S(w->origins[i])))
			return "allowed_origins: each must be "
			    "http(s)://host[:port]";
	if (!st_model_valid(S(w->model)))
		return "model: at most 100 of A-Z a-z 0-9 . _ : / -";
	if (w->agent_id[0] != '\0' && strcmp(w->agent_id, "default") != 0 &&
	    !st_id_valid(w->agent_id))
		return "agent_id: no such agent";
	if ((why = away_invalid(w)) != NULL)
		return why;
	return engage_invalid(w);
}

/* An origin taken apart; host points into the string (hlen bytes). */
struct origin {
	int https;
	const char *host;
	size_t hlen;
	unsigned port;
};

static int
origin_parse(const char *s, struct origin *o)
{
	const char *p, *h;
	size_t i;
	unsigned long port = 0;

	if (strlen(s) > ST_ORIGIN_MAX)
		return -1;
	if (strncasecmp(s, "http://", 7) == 0) {
		o->https = 0;
		p = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		o->https = 1;
		p = s + 8;
	} else
		return -1;
	h = p;
	if (*p == '[') {
		/* An IPv6 literal. */
		for (p++; isxdigit((unsigned char)*p) || *p == ':' ||
		    *p == '.'; p++)
			;
		if (*p != ']' || p == h + 1)
			return -1;
		p++;
	} else {
		for (; isalnum((unsigned char)*p) || *p == '-' || *p == '.';
		    p++)
			;
		if (p == h || h[0] == '.' || h[0] == '-' || p[-1] == '-')
			return -1;
	}
	o->host = h;
	o->hlen = (size_t)(p - h);
	if (*p == ':') {
		p++;
		for (i = 0; isdigit((unsigned char)p[i]) && i < 6; i++)
			port = port * 10 + (unsigned long)(p[i] - '0');
		if (i == 0 || port < 1 || port > 65535)
			return -1;
		p += i;
	} else
		port = o->https ? 443 : 80;
	o->port = (unsigned)port;
	return *p == '\0' ? 0 : -1;
}

int
st_origin_valid(const char *s)
{
	struct origin o;

	return s != NULL && origin_parse(s, &o) == 0;
}

int
st_origin_allowed(const struct st_widget *w, const char *origin)
{
	struct origin want, got;
	uint32_t i;

	if (w->norigins == 0)
		return 1;
	if (origin == NULL || origin_parse(origin, &got) < 0)
		return 0;
	for (i = 0; i < w->norigins; i++) {
		if (origin_parse(S(w->origins[i]), &want) < 0)
			continue;
		if (want.https == got.https && want.port == got.port &&
		    want.hlen == got.hlen &&
		    strncasecmp(want.host, got.host, got.hlen) == 0)
			return 1;
	}
	return 0;
}

int
st_email_valid(const char *s)
{
	const char *at, *dot, *p;
	size_t n;

	if (s == NULL || (n = strlen(s)) < 5 || n > ST_EMAIL_MAX)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			return 0;
	if ((at = strchr(s, '@')) == NULL || at == s || at - s > 64 ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	/* domain.tld: labels not empty, a dot inside, none at either end */
	p = at + 1;
	if ((dot = strrchr(p, '.')) == NULL || p[0] == '.' ||
	    dot[1] == '\0' || strstr(p, "..") != NULL)
		return 0;
	return 1;
}

int
st_contact_cursor_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 1;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return st_id_valid(s + 16);
}

int
st_phone_norm(const char *s, char *out, size_t outsz)
{
	size_t o = 0, digits = 0;
	int plus = 0;

	if (s == NULL || outsz == 0)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '+' && !plus && digits == 0 && o == 0) {
			plus = 1;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = '+';
		} else if (isdigit((unsigned char)*s)) {
			if (++digits > 15 || o + 1 >= outsz)
				return -1;
			out[o++] = *s;
		} else if (strchr(" .-()", *s) == NULL)
			return -1;
	}
	out[o] = '\0';
	return digits >= 7 ? 0 : -1;
}

static const char *const positions[] = { "bottom_right", "bottom_left" };
static const char *const modes[] = { "none", "optional", "required" };

RL_ENUM_FUNCS(position, positions, 2)

RL_ENUM_FUNCS(contact_mode, modes, 3)

/* ------------------------------------------------------------ away mode */

static const char *const days[] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
};

RL_ENUM_FUNCS(day, days, 7)

int
st_hours_open_at(const struct st_hours *h, uint32_t n, int32_t offset,
    int64_t now_s)
{
	int64_t local = now_s + offset, day, minute;
	int wd;
	uint32_t i;

	day = local / 86400 - (local % 86400 < 0);
	minute = (local - day * 86400) / 60;
	/* 1970-01-01 was a Thursday: 3 counting from Monday. */
	wd = (int)(((day % 7) + 7 + 3) % 7);
	for (i = 0; i < n; i++)
		if (h[i].day == wd && minute >= h[i].start &&
		    minute < h[i].end)
			return 1;
	return 0;
}

int
st_widget_availability(const struct st_widget *w, int staffed,
    int64_t now_s)
{
	const struct tzinfo *tz;

	if (w->timezone[0] == '\0')
		return staffed ? ST_AVAIL_OPEN : ST_AVAIL_NOBODY;
	/*
	 * A zone stored valid whose file is gone since (a tzdata upgrade):
	 * open as if it had no hours, and the operator told once.
	 */
	if ((tz = tz_get(w->timezone)) == NULL)
		tz_warn_gone(w->timezone, "business hours of widgets in it are "
		    "not applied");
	else if (!st_hours_open_at(w->hours, w->nhours,
	    tzif_offset(tz, now_s), now_s))
		return ST_AVAIL_HOURS;
	return staffed ? ST_AVAIL_OPEN : ST_AVAIL_NOBODY;
}

const char *
st_avail_reason(int avail)
{
	return avail == ST_AVAIL_HOURS ? "hours" :
	    avail == ST_AVAIL_NOBODY ? "nobody" : NULL;
}

