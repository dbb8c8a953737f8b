/*
 * Sitemaps (workerd/fetch/sitemap.c): a urlset's locs (white space
 * trimmed, entities and CDATA read, an image extension's loc not taken,
 * non-http(s) and over-long ones skipped) and lastmods; a sitemap index;
 * no namespace; a DOCTYPE refused, so external entities (XXE: a file, a
 * URL, a parameter entity) and entity expansion (billion laughs) give no
 * content and no blow-up; an undeclared entity, broken or cut XML and
 * another root refused; 50,000 entries kept of more; the 50 MB bound; W3C
 * datetimes; a gzip file (sitemap.xml.gz) unzipped, two members joined,
 * one cut or corrupt refused, a zip bomb stopped at 50 MB unzipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "sitemap.h"

#define NS	"xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\""

static void
parse_ok(const char *xml, struct sitemap *sm)
{
	const char *why = "unset";

	if (sitemap_parse(xml, strlen(xml), sm, &why) != 0)
		fail_msg("sitemap_parse: %s", why);
	assert_null(why);
}

static void
parse_bad(const char *xml, const char *want)
{
	struct sitemap sm;
	const char *why = NULL;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sitemap_parse(xml, strlen(xml), &sm, &why), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(why);
	assert_string_equal(why, want);
	assert_null(sm.urls);
	assert_int_equal(sm.nurls, 0);
	/* Refused at once, not after an expansion. */
	assert_true(t1.tv_sec - t0.tv_sec < 2);
}

static void
test_urlset(void **state)
{
	static const char xml[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<urlset " NS " xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\">\n"
	    "  <url>\n"
	    "    <loc>\n      https://example.com/a?x=1&amp;y=2\n    </loc>\n"
	    "    <lastmod>2026-11-25</lastmod>\n"
	    "    <changefreq>daily</changefreq>\n"
	    "    <image:image><image:loc>https://example.com/img.png</image:loc></image:image>\n"
	    "  </url>\n"
	    "  <url><loc><![CDATA[https://example.com/b]]></loc>"
	    "<lastmod> 2026-11-25T21:51:45+00:00 </lastmod></url>\n"
	    "  <url><loc>ftp://example.com/f</loc></url>\n"
	    "  <url><loc>/relative</loc></url>\n"
	    "  <url><loc>https://</loc></url>\n"
	    "  <url><loc>https://exa mple.com/</loc></url>\n"
	    "  <url><lastmod>2026-01-01</lastmod></url>\n"
	    "  <url><loc>HTTP://example.com/c</loc><lastmod>not a date</lastmod></url>\n"
	    "  <!-- a comment --><url><loc>https://example.com/d</loc>"
	    "<lastmod>2026-11</lastmod></url>\n"
	    "</urlset>\n";
	struct sitemap sm;

	parse_ok(xml, &sm);
	assert_int_equal(sm.is_index, 0);
	assert_int_equal(sm.nurls, 4);
	assert_string_equal(sm.urls[0].loc, "https://example.com/a?x=1&y=2");
	assert_int_equal(sm.urls[0].lastmod, 1795564800);
	assert_string_equal(sm.urls[1].loc, "https://example.com/b");
	assert_int_equal(sm.urls[1].lastmod, 1795643505);
	assert_string_equal(sm.urls[2].loc, "HTTP://example.com/c");
	assert_int_equal(sm.urls[2].lastmod, 0);
	assert_string_equal(sm.urls[3].loc, "https://example.com/d");
	assert_int_equal(sm.urls[3].lastmod, 1793491200);
	assert_int_equal(sm.skipped, 5);
	sitemap_free(&sm);
	sitemap_free(&sm);
}

static void
test_index_and_no_ns(void **state)
{
	struct sitemap sm;
	char *xml = malloc(SITEMAP_URL_MAX + 512);

	parse_ok("<sitemapindex " NS "><sitemap><loc>https://example.com/s1.xml"
	    "</loc><lastmod>2024-02-29T12:30:00.123Z</lastmod></sitemap>"
	    "<sitemap><loc>https://example.com/s2.xml.gz</loc></sitemap>"
	    "<url><loc>https://example.com/not-an-entry</loc></url>"
	    "</sitemapindex>", &sm);
	assert_int_equal(sm.is_index, 1);
	assert_int_equal(sm.nurls, 2);
	assert_string_equal(sm.urls[0].loc, "https://example.com/s1.xml");
	assert_int_equal(sm.urls[0].lastmod, 1709209800);
	assert_string_equal(sm.urls[1].loc, "https://example.com/s2.xml.gz");
	sitemap_free(&sm);

	/* No namespace; an element of another one is not a loc. */
	parse_ok("<urlset xmlns:x=\"urn:x\"><url><x:loc>https://x.example/</x:loc>"
	    "<loc>https://example.com/</loc></url></urlset>", &sm);
	assert_int_equal(sm.nurls, 1);
	assert_string_equal(sm.urls[0].loc, "https://example.com/");
	sitemap_free(&sm);

	/* A loc over SITEMAP_URL_MAX is skipped. */
	assert_non_null(xml);
	strcpy(xml, "<urlset><url><loc>https://example.com/");
	memset(xml + strlen(xml), 'a', SITEMAP_URL_MAX);
	strcpy(xml + strlen("<urlset><url><loc>https://example.com/") +
	    SITEMAP_URL_MAX, "</loc></url><url><loc>https://ok.example/</loc>"
	    "</url></urlset>");
	parse_ok(xml, &sm);
	assert_int_equal(sm.nurls, 1);
	assert_int_equal(sm.skipped, 1);
	assert_string_equal(sm.urls[0].loc, "https://ok.example/");
	sitemap_free(&sm);
	free(xml);
}

static void
test_xxe(void **state)
{
	/* An external entity naming a file. */
	parse_bad("<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE urlset [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
	    "<urlset><url><loc>https://example.com/&xxe;</loc></url></urlset>",
	    "sitemap: DOCTYPE refused");
	/* An external DTD on the network, a parameter entity. */
	parse_bad("<!DOCTYPE urlset SYSTEM \"http://127.0.0.1:1/evil.dtd\">"
	    "<urlset/>", "sitemap: DOCTYPE refused");
	parse_bad("<!DOCTYPE urlset [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
	    "%p;]><urlset/>", "sitemap: DOCTYPE refused");
	/* Without a DOCTYPE an entity is undeclared: not well-formed. */
	parse_bad("<urlset><url><loc>https://example.com/&xxe;</loc></url>"
	    "</urlset>", "sitemap: not well-formed XML");
}

static void
test_billion_laughs(void **state)
{
	parse_bad("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n<urlset><url><loc>https://example.com/&lol9;</loc></url></urlset>",
	    "sitemap: DOCTYPE refused");
}

static void
test_not_sitemaps(void **state)
{
	struct sitemap sm;
	const char *why;
	size_t i;

	parse_bad("<html><body>hi</body></html>",
	    "sitemap: not a urlset or sitemapindex");
	parse_bad("not xml at all", "sitemap: not well-formed XML");
	parse_bad("", "sitemap: not well-formed XML");
	parse_bad("<urlset><url><loc>https://example.com/</loc></url>",
	    "sitemap: not well-formed XML");
	parse_bad("<urlset><url><loc>https://a.example/</url></urlset>",
	    "sitemap: not well-formed XML");
	assert_int_equal(sitemap_parse("<urlset/>", SITEMAP_BYTES_MAX + 1, &sm,
	    &why), -1);
	assert_string_equal(why, "sitemap: over 50 MB");
	/* libxml2's attribute check is quadratic: refused before parsing. */
	{
		size_t n = 30000, o;
		char *xml = malloc(n * 16 + 64);

		assert_non_null(xml);
		o = (size_t)sprintf(xml, "<urlset");
		for (i = 0; i < n; i++)
			o += (size_t)sprintf(xml + o, " a%zu=\"1\"", i);
		o += (size_t)sprintf(xml + o, "/>");
		assert_int_equal(sitemap_parse(xml, o, &sm, &why), -1);
		assert_string_equal(why, "sitemap: too many attributes");
		free(xml);
	}
	parse_bad("<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-urlset/+AD4-",
	    "sitemap: encoding refused");
	/* An empty urlset is a sitemap of nothing. */
	parse_ok("<urlset " NS "/>", &sm);
	assert_int_equal(sm.nurls, 0);
	sitemap_free(&sm);
}

static void
test_bound(void **state)
{
	size_t n = SITEMAP_URLS_MAX + 5, i, o = 0;
	char *xml = malloc(n * 64 + 64);
	struct sitemap sm;
	const char *why = NULL;

	assert_non_null(xml);
	o += (size_t)sprintf(xml, "<urlset " NS ">");
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(xml + o, "<url><loc>https://e.example/%zu</loc></url>", i);
	o += (size_t)sprintf(xml + o, "</urlset>");
	assert_int_equal(sitemap_parse(xml, o, &sm, &why), 1);
	assert_string_equal(why, "sitemap: over 50000 urls");
	assert_int_equal(sm.nurls, SITEMAP_URLS_MAX);
	assert_string_equal(sm.urls[SITEMAP_URLS_MAX - 1].loc,
	    "https://e.example/49999");
	sitemap_free(&sm);
	free(xml);
}

/*
 * len bytes of data gzipped (a member of its own) after the *n bytes of
 * *gz, which grows.
 */
static void
gzip_add(char **gz, size_t *n, const char *data, size_t len)
{
	z_stream z;
	size_t room;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
	    Z_DEFAULT_STRATEGY), Z_OK);
	room = deflateBound(&z, len) + 64;
	assert_non_null(*gz = realloc(*gz, *n + room));
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)*gz + *n;
	z.avail_out = (uInt)room;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*n += room - z.avail_out;
	deflateEnd(&z);
}

static void
test_gzip(void **state)
{
	const char *a = "<urlset " NS "><url><loc>https://e.example/a</loc>"
	    "</url><url><loc>https://e.example/b</loc></url></urlset>";
	struct sitemap sm;
	const char *why = "unset";
	char *gz = NULL;
	size_t n = 0;

	gzip_add(&gz, &n, a, strlen(a));
	assert_int_equal(sitemap_parse(gz, n, &sm, &why), 0);
	assert_null(why);
	assert_int_equal(sm.nurls, 2);
	assert_string_equal(sm.urls[1].loc, "https://e.example/b");
	sitemap_free(&sm);
	/* Bytes that are not a member after it: ignored, as gzip(1) does. */
	assert_non_null(gz = realloc(gz, n + 4));
	memcpy(gz + n, "\0\0\0\0", 4);
	assert_int_equal(sitemap_parse(gz, n + 4, &sm, &why), 0);
	sitemap_free(&sm);
	/* Cut, or corrupt: refused. */
	assert_int_equal(sitemap_parse(gz, n - 12, &sm, &why), -1);
	assert_string_equal(why, "sitemap: not valid gzip");
	assert_null(sm.urls);
	gz[12] ^= 0x55;
	assert_int_equal(sitemap_parse(gz, n, &sm, &why), -1);
	assert_string_equal(why, "sitemap: not valid gzip");
	free(gz);
	/* Two members: one file. */
	gz = NULL;
	n = 0;
	gzip_add(&gz, &n, a, 40);
	gzip_add(&gz, &n, a + 40, strlen(a) - 40);
	assert_int_equal(sitemap_parse(gz, n, &sm, &why), 0);
	assert_int_equal(sm.nurls, 2);
	sitemap_free(&sm);
	free(gz);
}

/* 60 MB of white space in 60 KB: stopped at 50 MB, quickly. */
static void
test_gzip_bomb(void **state)
{
	size_t big = 60u << 20, n = 0;
	char *xml = malloc(big), *gz = NULL;
	struct sitemap sm;
	const char *why = NULL;

	assert_non_null(xml);
	memset(xml, ' ', big);
	memcpy(xml, "<urlset " NS ">", strlen("<urlset " NS ">"));
	gzip_add(&gz, &n, xml, big);
	free(xml);
	assert_true(n < 200 * 1024);
	assert_int_equal(sitemap_parse(gz, n, &sm, &why), -1);
	assert_string_equal(why, "sitemap: over 50 MB unzipped");
	assert_null(sm.urls);
	free(gz);
}

static void
test_datetime(void **state)
{
	assert_int_equal(sitemap_datetime("2026-11-25"), 1795564800);
	assert_int_equal(sitemap_datetime("2026-11-25T21:51:45Z"), 1795643505);
	assert_int_equal(sitemap_datetime("2026-11-25T22:51:45+01:00"), 1795643505);
	assert_int_equal(sitemap_datetime("2026-11-25T16:51:45-0500"), 1795643505);
	assert_int_equal(sitemap_datetime("2026-11-25T21:51Z"), 1795643460);
	assert_int_equal(sitemap_datetime("2026"), 1767225600);
	assert_int_equal(sitemap_datetime("2026-11"), 1793491200);
	assert_int_equal(sitemap_datetime("2026-13-01"), -1);
	assert_int_equal(sitemap_datetime("2026-02-30"), -1);
	assert_int_equal(sitemap_datetime("2026-11-25T25:00Z"), -1);
	assert_int_equal(sitemap_datetime("2026-11-25X"), -1);
	assert_int_equal(sitemap_datetime("yesterday"), -1);
	assert_int_equal(sitemap_datetime(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlset),
		cmocka_unit_test(test_index_and_no_ns),
		cmocka_unit_test(test_xxe),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_not_sitemaps),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_gzip_bomb),
		cmocka_unit_test(test_datetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
