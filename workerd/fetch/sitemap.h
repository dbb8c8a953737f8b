/*
 * A sitemap as sitemaps.org's protocol has it, for the knowledge base's
 * crawler: a <urlset> of <url> (<loc>, <lastmod>) or a <sitemapindex> of
 * <sitemap> (<loc>, <lastmod>), read by libxml2's streaming (SAX2)
 * parser: no network, no DTD at all (a document with a DOCTYPE is
 * refused before its internal subset is read, so no external entity is
 * ever fetched and no entity expanded: no XXE, no billion laughs). Pure:
 * the fetcher gets the file and decides which hosts the locations may
 * name; this reads the bytes, gunzipped first when they are gzip's (a
 * sitemap.xml.gz).
 */
#ifndef PARLEY_FETCH_SITEMAP_H
#define PARLEY_FETCH_SITEMAP_H

#include <stddef.h>

#define SITEMAP_BYTES_MAX	(50u * 1024 * 1024)	/* bytes of a file (the protocol's 50 MB) */
#define SITEMAP_URLS_MAX	50000			/* entries of a file */
#define SITEMAP_URL_MAX		2048			/* bytes of a loc; longer ones skipped */

struct sitemap_url {
	char *loc;		/* absolute http(s), white space around it trimmed */
	long long lastmod;	/* <lastmod> (W3C datetime) as Unix seconds, 0: none */
};

struct sitemap {
	int is_index;		/* 1: a sitemapindex (locs are sitemaps), 0: a urlset */
	struct sitemap_url *urls;
	size_t nurls;
	size_t skipped;		/* locs refused: not http(s), too long, empty */
};

/*
 * Reads a sitemap or a sitemap index (len bytes, at most
 * SITEMAP_BYTES_MAX; any encoding libxml2 knows), or a gzip file of one
 * (by its first two bytes; unzipped by zlib to at most
 * SITEMAP_BYTES_MAX, else "sitemap: over 50 MB unzipped"; "sitemap: not
 * valid gzip" when it is not, or cut). The elements are
 * matched by local name in the root's namespace (the protocol's or
 * none), <loc> and <lastmod> as direct children of an entry only (an
 * image extension's <image:loc> is not one). 0 with *sm filled (free it
 * with sitemap_free); 1 the same with the first SITEMAP_URLS_MAX entries
 * when there were more (*why "sitemap: over 50000 urls"); -1 with *sm
 * zeroed and *why ("sitemap: over 50 MB", "sitemap: DOCTYPE refused",
 * "sitemap: too many attributes" and "sitemap: encoding refused" (the
 * checks of fetch_markup_check, html.h, against libxml2's quadratic
 * attribute check),
 * "sitemap: not well-formed XML", "sitemap: not a urlset or
 * sitemapindex", "sitemap: out of memory").
 */
int sitemap_parse(const char *bytes, size_t len, struct sitemap *sm,
    const char **why);

/* Frees what sm holds and zeroes it; a zeroed sm is fine. */
void sitemap_free(struct sitemap *sm);

/* A W3C datetime ("2026-11-25", "2026-11-25T21:51:45+01:00" ...) as
 * Unix seconds; -1 when it is not one. */
long long sitemap_datetime(const char *s);

#endif
