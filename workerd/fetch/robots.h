/*
 * A site's robots.txt as RFC 9309 reads it, for the knowledge base's
 * crawler (product token "parley"): the rules of the groups that name
 * "parley" (any case), else of the "*" groups, else none; a path is
 * allowed unless its longest matching rule is a Disallow (an Allow wins a
 * tie); "*" matches any run of bytes, a final "$" the end; paths and
 * patterns compared with their percent-encoding normalised. Also the
 * group's Crawl-delay and every Sitemap line. Pure: the fetcher gets the
 * file (and treats a 4xx as "no file", a 5xx or no answer as
 * robots_deny_all), this reads the bytes.
 */
#ifndef PARLEY_FETCH_ROBOTS_H
#define PARLEY_FETCH_ROBOTS_H

#include <stddef.h>

#define ROBOTS_AGENT		"parley"	/* our product token */
#define ROBOTS_BYTES_MAX	(500 * 1024)	/* bytes read of a file (RFC 9309 2.5) */
#define ROBOTS_LINE_MAX		4096		/* bytes of a line; longer ones ignored */
#define ROBOTS_RULES_MAX	5000		/* rules kept of the group(s) obeyed */
#define ROBOTS_SITEMAPS_MAX	100		/* Sitemap URLs kept */
#define ROBOTS_DELAY_MAX_MS	60000		/* Crawl-delay's bound */
#define ROBOTS_URL_MAX		2048		/* bytes of a Sitemap URL */

struct robots_rule {
	char *pattern;		/* normalised, '*' wildcards, no final '$' */
	size_t len;		/* its length, the rule's weight */
	int anchored;		/* a final '$': the path must end where it does */
	int allow;		/* Allow (1) or Disallow (0) */
};

struct robots {
	struct robots_rule *rules;	/* of the group(s) obeyed */
	size_t nrules;
	int group;		/* 2: "parley"'s, 1: "*"'s, 0: none (all allowed) */
	int deny_all;		/* robots_deny_all: nothing allowed */
	unsigned delay_ms;	/* the group's Crawl-delay, ms (0: none), bounded */
	char **sitemaps;	/* absolute http(s) URLs, each once */
	size_t nsitemaps;
	int truncated;		/* over ROBOTS_BYTES_MAX or a bound: some cut */
};

/*
 * Reads a robots.txt of len bytes (only the first ROBOTS_BYTES_MAX, the
 * line cut there dropped; a UTF-8 BOM skipped; CR, LF or CRLF lines; '#'
 * comments; keys any case, "user-agent", "allow", "disallow",
 * "crawl-delay", "sitemap"; other lines ignored). 0 with *r filled (free
 * it with robots_free), or -1 with *r zeroed and *why ("robots: out of
 * memory"). An empty file allows everything.
 */
int robots_parse(const char *bytes, size_t len, struct robots *r,
    const char **why);

/*
 * 1 when r lets the crawler fetch path_and_query (what follows the
 * authority: "/a/b?c=d"; "" is "/"), 0 when not. "/robots.txt" is
 * always allowed. Cost: linear in the path and the patterns.
 */
int robots_allowed(const struct robots *r, const char *path_and_query);

/* The answer to a server error or no answer (RFC 9309 2.3.1.4): r
 * (zeroed or parsed) disallows everything from now on. */
void robots_deny_all(struct robots *r);

/* Frees what r holds and zeroes it; a zeroed r is fine. */
void robots_free(struct robots *r);

#endif
