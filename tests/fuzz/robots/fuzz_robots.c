/*
 * libFuzzer target for robots.txt (workerd/fetch/robots.c): the input
 * parsed as a file, then paths asked. Properties are checked, abort()
 * otherwise: the parse succeeds; the rules, sitemaps and delay are
 * within their bounds, each sitemap absolute http(s); /robots.txt is
 * always allowed; for paths over a small alphabet (so the fuzzer's rules
 * match them; the input's last bytes and fixed ones), robots_allowed
 * agrees with a plain longest-match evaluation over the kept rules with a
 * dynamic-programming wildcard matcher (the library's splits patterns at
 * '*' and uses memmem); after robots_deny_all nothing is allowed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "robots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH_MAX_LEN	40

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_robots: %s\n", what);
		abort();
	}
}

/* 1 when p (m bytes, '*' any run) matches a prefix of s (the whole of s
 * when anchored): dynamic programming over s's prefixes. */
static int
naive_match(const char *p, size_t m, int anchored, const char *s, size_t n)
{
	unsigned char prev[PATH_MAX_LEN + 2], cur[PATH_MAX_LEN + 2];
	size_t i, j;

	/* prev[j]: p[0..i) matches s[0..j) exactly. */
	memset(prev, 0, sizeof(prev));
	prev[0] = 1;
	for (i = 0; i < m; i++) {
		memset(cur, 0, sizeof(cur));
		for (j = 0; j <= n; j++) {
			if (p[i] == '*')
				cur[j] = prev[j] || (j > 0 && cur[j - 1]);
			else
				cur[j] = j > 0 && prev[j - 1] && s[j - 1] == p[i];
		}
		memcpy(prev, cur, sizeof(prev));
	}
	if (anchored)
		return prev[n];
	for (j = 0; j <= n; j++)
		if (prev[j])
			return 1;
	return 0;
}

static int
naive_allowed(const struct robots *r, const char *path)
{
	size_t i, best = 0, n = strlen(path);
	int found = 0, allow = 1;

	if (strcmp(path, "/robots.txt") == 0)
		return 1;
	for (i = 0; i < r->nrules; i++) {
		const struct robots_rule *rule = &r->rules[i];

		if (!naive_match(rule->pattern, strlen(rule->pattern),
		    rule->anchored, path, n))
			continue;
		if (!found || rule->len > best || (rule->len == best && rule->allow)) {
			if (found && rule->len == best)
				allow = allow || rule->allow;
			else
				allow = rule->allow;
			best = rule->len;
			found = 1;
		}
	}
	return allow;
}

static void
ask(const struct robots *r, const char *path)
{
	if (robots_allowed(r, path) != naive_allowed(r, path)) {
		fprintf(stderr, "path \"%s\"\n", path);
		check(0, "robots_allowed disagrees with the plain matcher");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char alphabet[] = "/ab.*?$x";
	static const char *fixed[] = { "/", "/a", "/a/b", "/ab.x", "/a?b", "/x$" };
	struct robots r;
	const char *why;
	char path[PATH_MAX_LEN + 1];
	size_t i, n, k;

	check(robots_parse((const char *)data, size, &r, &why) == 0, "parse failed");
	check(r.nrules <= ROBOTS_RULES_MAX, "rule bound");
	check(r.nsitemaps <= ROBOTS_SITEMAPS_MAX, "sitemap bound");
	check(r.delay_ms <= ROBOTS_DELAY_MAX_MS, "delay bound");
	check(r.group >= 0 && r.group <= 2 && (r.group > 0 || r.nrules == 0),
	    "rules without a group");
	for (i = 0; i < r.nsitemaps; i++)
		check((strncasecmp(r.sitemaps[i], "http://", 7) == 0 ||
		    strncasecmp(r.sitemaps[i], "https://", 8) == 0) &&
		    strlen(r.sitemaps[i]) <= ROBOTS_URL_MAX, "sitemap URL");
	for (i = 0; i < r.nrules; i++) {
		const char *p = r.rules[i].pattern;

		check(r.rules[i].len == strlen(p) + (size_t)r.rules[i].anchored,
		    "rule weight");
		check(strstr(p, "**") == NULL, "stars not collapsed");
	}
	check(robots_allowed(&r, "/robots.txt") == 1, "/robots.txt refused");
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ask(&r, fixed[i]);
	/* The input's last bytes as a path over the alphabet. */
	n = size < PATH_MAX_LEN - 1 ? size : PATH_MAX_LEN - 1;
	path[0] = '/';
	for (k = 0; k < n; k++)
		path[k + 1] = alphabet[data[size - n + k] & 7];
	path[n + 1] = '\0';
	ask(&r, path);
	robots_deny_all(&r);
	check(robots_allowed(&r, "/") == 0 && robots_allowed(&r, path) == 0,
	    "allowed after deny_all");
	robots_free(&r);
	return 0;
}
