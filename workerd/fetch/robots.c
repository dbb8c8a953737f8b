/*
 * robots.txt (robots.h), RFC 9309: the file is read a line at a time;
 * a group is one or more User-agent lines and the rule lines after
 * them, ended by the next User-agent line that follows a rule; the rules
 * of every group naming "parley" are kept, and those of every "*" group
 * beside them until the end says which to obey. A pattern is split at
 * its '*'s when matched: its first part a prefix, each next part found
 * leftmost after the one before (memmem), the last a suffix when the
 * pattern ends in '$', so a match costs what reading the path and the
 * pattern does, whatever the stars.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "robots.h"
#include "util.h"

/* The rules of the groups of one kind ("parley"'s or "*"'s). */
struct ruleset {
	struct robots_rule *v;
	size_t n, cap;
	unsigned delay_ms;
	int delay_set;
	int seen;		/* a group of this kind exists */
};

static void
ruleset_free(struct ruleset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].pattern);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
robots_free(struct robots *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrules; i++)
		free(r->rules[i].pattern);
	proto_strv_free(r->sitemaps, r->nsitemaps);
	free(r->rules);
	memset(r, 0, sizeof(*r));
}

void
robots_deny_all(struct robots *r)
{
	r->deny_all = 1;
}

static int
unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/*
 * s (n bytes) with its percent-encoding normalised, as RFC 9309 2.2.2
 * compares: "%xx" of an unreserved character decoded, other "%xx" in
 * upper case, bytes outside printable ASCII encoded. dst holds 3n + 1
 * bytes; NUL-ended; returns its length. stars: runs of '*' made one.
 */
static size_t
normalise(char *dst, const char *s, size_t n, int stars)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (u[i] == '%' && i + 2 < n &&
		    (hi = proto_hex_digit(u[i + 1])) >= 0 &&
		    (lo = proto_hex_digit(u[i + 2])) >= 0) {
			if (unreserved(hi << 4 | lo))
				dst[o++] = (char)(hi << 4 | lo);
			else {
				dst[o++] = '%';
				dst[o++] = hex[hi];
				dst[o++] = hex[lo];
			}
			i += 2;
		} else if (u[i] <= 0x20 || u[i] >= 0x7f) {
			dst[o++] = '%';
			dst[o++] = hex[u[i] >> 4];
			dst[o++] = hex[u[i] & 15];
		} else if (stars && u[i] == '*' && o > 0 && dst[o - 1] == '*')
			continue;
		else
			dst[o++] = (char)u[i];
	}
	dst[o] = '\0';
	return o;
}

/* 1 when the pattern p (m bytes, '*' wildcards) matches s (n bytes) from
 * its start, to its end when anchored. */
static int
pattern_matches(const char *p, size_t m, int anchored, const char *s,
    size_t n)
{
	const char *star = memchr(p, '*', m), *seg, *found, *next;
	size_t pos, seglen;

	if (star == NULL)
		return anchored ? m == n && memcmp(p, s, n) == 0 :
		    m <= n && memcmp(p, s, m) == 0;
	pos = (size_t)(star - p);
	if (pos > n || memcmp(p, s, pos) != 0)
		return 0;
	for (seg = star + 1; seg < p + m; seg = next + 1) {
		next = memchr(seg, '*', (size_t)(p + m - seg));
		if (next == NULL)
			break;
		seglen = (size_t)(next - seg);
		if (seglen == 0)
			continue;
		if ((found = memmem(s + pos, n - pos, seg, seglen)) == NULL)
			return 0;
		pos = (size_t)(found - s) + seglen;
	}
	/* The part after the last star. */
	seglen = (size_t)(p + m - seg);
	if (seglen == 0)
		return 1;
	if (anchored)
		return n - pos >= seglen && memcmp(s + n - seglen, seg, seglen) == 0;
	return memmem(s + pos, n - pos, seg, seglen) != NULL;
}

int
robots_allowed(const struct robots *r, const char *path_and_query)
{
	const struct robots_rule *rule;
	const char *path = path_and_query;
	char *norm;
	size_t n, i, best = 0;
	int found = 0, allow = 1;

	if (r->deny_all)
		return 0;
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (strcmp(path, "/robots.txt") == 0)
		return 1;
	n = strlen(path);
	if ((norm = malloc(3 * n + 2)) == NULL)
		return 0;
	norm[0] = '/';			/* a path not starting with '/' gets one */
	n = path[0] == '/' ? normalise(norm, path, n, 0) :
	    normalise(norm + 1, path, n, 0) + 1;
	for (i = 0; i < r->nrules; i++) {
		rule = &r->rules[i];
		if (found && (rule->len < best ||
		    (rule->len == best && (allow || !rule->allow))))
			continue;
		if (!pattern_matches(rule->pattern, strlen(rule->pattern),
		    rule->anchored, norm, n))
			continue;
		found = 1;
		best = rule->len;
		allow = rule->allow;
	}
	free(norm);
	return allow;
}

/* Adds an Allow or Disallow of value (n bytes, not empty) to s. */
static int
ruleset_add(struct ruleset *s, int allow, const char *value, size_t n,
    int *truncated)
{
	struct robots_rule *rule, *grown;
	int anchored = 0;
	char *p;

	if (s->n >= ROBOTS_RULES_MAX) {
		*truncated = 1;
		return 0;
	}
	if (value[n - 1] == '$') {
		anchored = 1;
		n--;
	}
	if ((p = malloc(3 * n + 1)) == NULL)
		return -1;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		if ((grown = realloc(s->v, s->cap * sizeof(*grown))) == NULL) {
			free(p);
			return -1;
		}
		s->v = grown;
	}
	rule = &s->v[s->n++];
	rule->len = normalise(p, value, n, 1);
	rule->pattern = p;
	rule->anchored = anchored;
	rule->len += (size_t)anchored;
	rule->allow = allow;
	return 0;
}

/* A Crawl-delay's value in ms ("10", "0.5"), bounded; -1 if not one. */
static long
delay_ms(const char *v, size_t n)
{
	unsigned long ms = 0, scale = 1000;
	size_t i = 0;
	int digits = 0;

	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
		if (ms < ROBOTS_DELAY_MAX_MS)
			ms = ms * 10 + (unsigned long)(v[i] - '0') * 1000;
	if (i < n && v[i] == '.')
		for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
			if ((scale /= 10) > 0)
				ms += (unsigned long)(v[i] - '0') * scale;
	if (digits == 0 || i != n)
		return -1;
	return ms > ROBOTS_DELAY_MAX_MS ? ROBOTS_DELAY_MAX_MS : (long)ms;
}

/* A Sitemap line's URL: absolute http(s), each once, bounded. */
static int
add_sitemap(struct robots *r, const char *v, size_t n)
{
	size_t skip, i;
	char *url, **grown;

	if (n > 7 && strncasecmp(v, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	if (n > ROBOTS_URL_MAX || memchr(v, '\0', n) != NULL ||
	    strchr("/?#", v[skip]) != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
			return 0;
	for (i = 0; i < r->nsitemaps; i++)
		if (strlen(r->sitemaps[i]) == n && memcmp(r->sitemaps[i], v, n) == 0)
			return 0;
	if (r->nsitemaps >= ROBOTS_SITEMAPS_MAX) {
		r->truncated = 1;
		return 0;
	}
	if ((url = strndup(v, n)) == NULL)
		return -1;
	grown = realloc(r->sitemaps, (r->nsitemaps + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(url);
		return -1;
	}
	r->sitemaps = grown;
	r->sitemaps[r->nsitemaps++] = url;
	return 0;
}

static int
key_is(const char *k, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(k, word, n) == 0;
}

static int
blank_char(char c)
{
	return c == ' ' || c == '\t';
}

/* The state of a parse: the open group and the two kinds of rules. */
struct reader {
	struct robots *r;
	struct ruleset ours, star;
	int in_group;		/* a User-agent line seen */
	int had_rule;		/* the open group has a rule line */
	int for_us, for_star;	/* the open group names "parley", "*" */
};

/* One line (n bytes, no line end). 0, or -1 out of memory. */
static int
read_line(struct reader *rd, const char *line, size_t n)
{
	const char *k, *v, *colon, *hash;
	size_t kn, vn, tok;
	long ms;
	int allow;

	if ((hash = memchr(line, '#', n)) != NULL)
		n = (size_t)(hash - line);
	if ((colon = memchr(line, ':', n)) == NULL)
		return 0;
	for (k = line; k < colon && blank_char(*k); k++)
		;
	for (kn = (size_t)(colon - k); kn > 0 && blank_char(k[kn - 1]); kn--)
		;
	v = colon + 1;
	vn = n - (size_t)(v - line);
	while (vn > 0 && blank_char(*v)) {
		v++;
		vn--;
	}
	while (vn > 0 && blank_char(v[vn - 1]))
		vn--;
	if (key_is(k, kn, "user-agent")) {
		if (rd->had_rule)
			rd->for_us = rd->for_star = rd->had_rule = 0;
		rd->in_group = 1;
		for (tok = 0; tok < vn && (v[tok] == '-' || v[tok] == '_' ||
		    (v[tok] >= 'a' && v[tok] <= 'z') ||
		    (v[tok] >= 'A' && v[tok] <= 'Z')); tok++)
			;
		if (vn > 0 && v[0] == '*')
			rd->for_star = rd->star.seen = 1;
		else if (tok > 0 && key_is(v, tok, ROBOTS_AGENT))
			rd->for_us = rd->ours.seen = 1;
		return 0;
	}
	if (key_is(k, kn, "sitemap") || key_is(k, kn, "site-map"))
		return add_sitemap(rd->r, v, vn);
	allow = key_is(k, kn, "allow");
	if (!allow && !key_is(k, kn, "disallow") && !key_is(k, kn, "crawl-delay"))
		return 0;
	if (!rd->in_group)
		return 0;
	rd->had_rule = 1;
	if (key_is(k, kn, "crawl-delay")) {
		if ((ms = delay_ms(v, vn)) < 0)
			return 0;
		if (rd->for_us && !rd->ours.delay_set) {
			rd->ours.delay_ms = (unsigned)ms;
			rd->ours.delay_set = 1;
		}
		if (rd->for_star && !rd->star.delay_set) {
			rd->star.delay_ms = (unsigned)ms;
			rd->star.delay_set = 1;
		}
		return 0;
	}
	if (vn == 0)		/* "Disallow:" with no path: no rule */
		return 0;
	if (rd->for_us &&
	    ruleset_add(&rd->ours, allow, v, vn, &rd->r->truncated) < 0)
		return -1;
	if (rd->for_star &&
	    ruleset_add(&rd->star, allow, v, vn, &rd->r->truncated) < 0)
		return -1;
	return 0;
}

int
robots_parse(const char *bytes, size_t len, struct robots *r,
    const char **why)
{
	struct reader rd;
	struct ruleset *kept;
	size_t at = 0, n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&rd, 0, sizeof(rd));
	rd.r = r;
	if (len > ROBOTS_BYTES_MAX) {
		/* Only the first 500 KiB, and of those whole lines. */
		r->truncated = 1;
		for (len = ROBOTS_BYTES_MAX; len > 0 && bytes[len - 1] != '\n' &&
		    bytes[len - 1] != '\r'; len--)
			;
	}
	bytes = proto_bom_skip(bytes, &len);
	while (at < len) {
		for (n = 0; at + n < len && bytes[at + n] != '\n' &&
		    bytes[at + n] != '\r'; n++)
			;
		if (n <= ROBOTS_LINE_MAX && read_line(&rd, bytes + at, n) < 0) {
			*why = "robots: out of memory";
			goto out;
		}
		at += n + 1;
	}
	kept = rd.ours.seen ? &rd.ours : rd.star.seen ? &rd.star : NULL;
	r->group = rd.ours.seen ? 2 : rd.star.seen ? 1 : 0;
	if (kept != NULL) {
		r->rules = kept->v;
		r->nrules = kept->n;
		r->delay_ms = kept->delay_ms;
		memset(kept, 0, sizeof(*kept));
	}
	*why = NULL;
	rc = 0;
out:
	ruleset_free(&rd.ours);
	ruleset_free(&rd.star);
	if (rc < 0)
		robots_free(r);
	return rc;
}
