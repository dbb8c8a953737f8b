/*
 * libFuzzer target for sitemaps (workerd/fetch/sitemap.c): the input
 * parsed as a sitemap or sitemap index with libxml2's push parser and our
 * SAX2 callbacks, and its first line as a W3C datetime. Properties are
 * checked, abort() otherwise: 0, 1 (at the URL bound) or -1 with a
 * "sitemap: " reason and nothing kept; what is kept is at most
 * SITEMAP_URLS_MAX entries, each loc absolute http(s) with a host, no
 * white space or control byte, at most SITEMAP_URL_MAX bytes, no
 * /etc/passwd line in it that the input did not hold (no external
 * entity is ever read; a gzip input's text is its unzipped bytes, not
 * checked so), a lastmod >= 0; an input that starts with a DOCTYPE is
 * refused. A gzip input (sitemap.xml.gz) is unzipped, to at most 50 MB:
 * the corpus holds gzipped sitemaps, two members, a cut one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_sitemap: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sitemap sm;
	const char *why = NULL, *loc;
	char line[65];
	size_t i, j, n, skip;
	int rc, gz;

	/* gzip (sitemap.xml.gz): unzipped, its text not the input's. */
	gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
	rc = sitemap_parse((const char *)data, size, &sm, &why);
	check(rc >= -1 && rc <= 1, "result");
	if (rc != 0)
		check(why != NULL && strncmp(why, "sitemap: ", 9) == 0, "reason");
	else
		check(why == NULL, "accepted with a reason");
	if (rc < 0)
		check(sm.urls == NULL && sm.nurls == 0, "refused, entries kept");
	check(sm.nurls <= SITEMAP_URLS_MAX, "URL bound");
	check(rc != 1 || sm.nurls == SITEMAP_URLS_MAX, "bound reason early");
	if (size >= 9 && memcmp(data, "<!DOCTYPE", 9) == 0)
		check(rc < 0, "a DOCTYPE accepted");
	for (i = 0; i < sm.nurls; i++) {
		loc = sm.urls[i].loc;
		n = strlen(loc);
		skip = strncasecmp(loc, "http://", 7) == 0 ? 7 :
		    strncasecmp(loc, "https://", 8) == 0 ? 8 : 0;
		check(skip > 0 && n > skip && loc[skip] != '/', "loc not http(s)");
		check(n <= SITEMAP_URL_MAX, "loc too long");
		for (j = 0; j < n; j++)
			check((unsigned char)loc[j] > 0x20 && loc[j] != 0x7f,
			    "white space or control in a loc");
		check(strstr(loc, "root:x:0:0:") == NULL || gz ||
		    memmem(data, size, "root:x:0:0:", 11) != NULL,
		    "a file's content in a loc");
		check(sm.urls[i].lastmod >= 0, "lastmod");
	}
	sitemap_free(&sm);

	for (n = 0; n < size && n < sizeof(line) - 1 && data[n] != '\n'; n++)
		line[n] = data[n] ? (char)data[n] : ' ';
	line[n] = '\0';
	check(sitemap_datetime(line) >= -1, "datetime");
	return 0;
}
