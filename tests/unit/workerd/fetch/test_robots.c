/*
 * robots.txt (workerd/fetch/robots.c) against RFC 9309: its examples
 * (5.1 and 5.2, with "parley" where they say foobot or barbot), the
 * longest match winning and Allow winning a tie, '*' and '$', the
 * percent-encoding table of 2.2.2, the group for "parley" (any case,
 * "parley/1.0", several groups combined) else "*", rules outside groups
 * ignored, Crawl-delay bounded, Sitemap lines (absolute http(s), each
 * once), comments, CR and CRLF lines, a BOM, over-long lines and the
 * 500 KiB bound, /robots.txt always allowed, robots_deny_all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"

static void
parse(const char *txt, struct robots *r)
{
	const char *why = "unset";

	assert_int_equal(robots_parse(txt, strlen(txt), r, &why), 0);
	assert_null(why);
}

/* Checks each "path" against want (1 allowed, 0 not). */
static void
expect(const char *txt, const char *const *paths, const int *want, size_t n)
{
	struct robots r;
	size_t i;

	parse(txt, &r);
	for (i = 0; i < n; i++)
		if (robots_allowed(&r, paths[i]) != want[i])
			fail_msg("%s: %s, want %s", paths[i],
			    want[i] ? "disallowed" : "allowed",
			    want[i] ? "allowed" : "disallowed");
	robots_free(&r);
}

#define EXPECT(txt, ...) do { \
	static const struct { const char *p; int w; } c_[] = { __VA_ARGS__ }; \
	const char *p_[sizeof(c_) / sizeof(c_[0])]; \
	int w_[sizeof(c_) / sizeof(c_[0])]; \
	size_t i_; \
	for (i_ = 0; i_ < sizeof(c_) / sizeof(c_[0]); i_++) { \
		p_[i_] = c_[i_].p; \
		w_[i_] = c_[i_].w; \
	} \
	expect(txt, p_, w_, sizeof(c_) / sizeof(c_[0])); \
} while (0)

/* RFC 9309 5.1, the file as written with one agent renamed. */
static const char rfc_example[] =
    "User-Agent: *\n"
    "Disallow: *.gif$\n"
    "Disallow: /example/\n"
    "Allow: /publications/\n"
    "\n"
    "User-Agent: %s\n"
    "Disallow:/\n"
    "Allow:/example/page.html\n"
    "Allow:/example/allowed.gif\n"
    "\n"
    "User-Agent: %s\n"
    "User-Agent: %s\n"
    "Disallow: /example/page.html\n"
    "\n"
    "User-Agent: %s\n"
    "\n";

static void
rfc(char *buf, size_t size, const char *foo, const char *bar,
    const char *baz, const char *qux)
{
	snprintf(buf, size, rfc_example, foo, bar, baz, qux);
}

static void
test_rfc_examples(void **state)
{
	char txt[512];

	/* We are foobot: only the two allowed pages. */
	rfc(txt, sizeof(txt), "parley", "barbot", "bazbot", "quxbot");
	EXPECT(txt, { "/example/page.html", 1 }, { "/example/allowed.gif", 1 },
	    { "/", 0 }, { "/publications/", 0 }, { "/example/other", 0 },
	    { "/example/page.html?x=1", 1 });
	/* We are bazbot (a group of two agents): only page.html refused. */
	rfc(txt, sizeof(txt), "foobot", "barbot", "parley", "quxbot");
	EXPECT(txt, { "/example/page.html", 0 }, { "/example/other", 1 },
	    { "/a.gif", 1 }, { "/", 1 });
	/* We are quxbot, a group without rules: everything. */
	rfc(txt, sizeof(txt), "foobot", "barbot", "bazbot", "parley");
	EXPECT(txt, { "/example/page.html", 1 }, { "/x.gif", 1 });
	/* Not named: the "*" group. */
	rfc(txt, sizeof(txt), "foobot", "barbot", "bazbot", "quxbot");
	EXPECT(txt, { "/a/b.gif", 0 }, { "/a/b.gif?x", 1 }, { "/example/", 0 },
	    { "/example/x", 0 }, { "/publications/", 1 }, { "/", 1 },
	    { "/other", 1 });

	/* 5.2: the longest match. */
	EXPECT("User-Agent: parley\n"
	    "Allow: /example/page/\n"
	    "Disallow: /example/page/disallowed.gif\n",
	    { "/example/page/", 1 }, { "/example/page/other", 1 },
	    { "/example/page/disallowed.gif", 0 });
}

static void
test_matching(void **state)
{
	/* Allow wins a tie; the longer rule wins either way. */
	EXPECT("user-agent: *\nallow: /folder\ndisallow: /folder\n"
	    "allow: /p\ndisallow: /\n"
	    "disallow: /page*.htm\nallow: /page\n",
	    { "/folder/x", 1 }, { "/page", 1 }, { "/page.htm", 0 },
	    { "/pages.html", 0 }, { "/x", 0 }, { "/p", 1 });
	/* Whatever their order. */
	EXPECT("user-agent: *\ndisallow: /folder\nallow: /folder\n"
	    "disallow: /*.gif$\nallow: /*.gif$\n",
	    { "/folder/x", 1 }, { "/a.gif", 1 });
	/* "$": the end of the path; "/$" is the root only. */
	EXPECT("User-agent: *\nDisallow: /\nAllow: /$\nAllow: /*.php$\n"
	    "Allow: /exact$\n",
	    { "/", 1 }, { "/index.html", 0 }, { "/a/b.php", 1 },
	    { "/a/b.php?x=1", 0 }, { "/a.php5", 0 }, { "/exact", 1 },
	    { "/exactly", 0 });
	/* "*" anywhere, several, a run of them; the query is part of it. */
	EXPECT("User-agent: *\nDisallow: /*/private/*.pdf\n"
	    "Disallow: /*?sessionid=\nDisallow: /a***b\nDisallow: *secret\n",
	    { "/x/private/a.pdf", 0 }, { "/x/y/private/z/a.pdf", 0 },
	    { "/x/private/a.txt", 1 }, { "/private/a.pdf", 1 },
	    { "/shop?sessionid=1", 0 }, { "/shop?id=1&sessionid=1", 1 },
	    { "/ab", 0 }, { "/a/x/b", 0 }, { "/ba", 1 },
	    { "/top/secret/x", 0 });
	/* Case matters in paths. */
	EXPECT("User-agent: *\nDisallow: /Admin\n",
	    { "/Admin/x", 0 }, { "/admin/x", 1 });
	/* An empty Disallow allows all; /robots.txt always is. */
	EXPECT("User-agent: *\nDisallow:\n", { "/", 1 }, { "/x", 1 });
	EXPECT("User-agent: *\nDisallow: /\n", { "/", 0 }, { "", 0 },
	    { "/robots.txt", 1 }, { "x", 0 });
	/* A path without '/' is taken as under the root. */
	EXPECT("User-agent: *\nDisallow: /x\n", { "x", 0 }, { "?q", 1 });
}

static void
test_percent(void **state)
{
	/* RFC 9309 2.2.2's table (but its https:// row). */
	EXPECT("User-agent: *\n"
	    "Disallow: /foo/bar?baz=quz\n"
	    "Disallow: /foo/bar/\xe3\x83\x84\n"
	    "Disallow: /foo/bar/%62%61%7A\n"
	    "Disallow: /lower/%e3%83%84\n",
	    { "/foo/bar?baz=quz", 0 }, { "/foo/bar/%E3%83%84", 0 },
	    { "/foo/bar/%e3%83%84", 0 }, { "/foo/bar/\xe3\x83\x84", 0 },
	    { "/foo/bar/baz", 0 }, { "/foo/bar/%62az", 0 },
	    { "/lower/%E3%83%84", 0 }, { "/foo/bar/%2Fbaz", 1 },
	    { "/foo/bar", 1 });
	/* A reserved character's encoding is not its character. */
	EXPECT("User-agent: *\nDisallow: /a%2Fb\n",
	    { "/a%2fb", 0 }, { "/a/b", 1 });
}

static void
test_groups(void **state)
{
	struct robots r;

	/* Our token any case, with a version; not a longer name. */
	EXPECT("User-agent: PARLEY/1.0\nDisallow: /a\n\n"
	    "User-agent: *\nDisallow: /b\n",
	    { "/a", 0 }, { "/b", 1 });
	EXPECT("User-agent: parleybot\nDisallow: /a\n\n"
	    "User-agent: *\nDisallow: /b\n",
	    { "/a", 1 }, { "/b", 0 });
	/* Two groups for us are one; a "*" group is then not ours. */
	EXPECT("User-agent: parley\nDisallow: /a\n"
	    "User-agent: other\nDisallow: /o\n"
	    "User-agent: *\nDisallow: /star\n"
	    "User-agent: Parley\nDisallow: /b\n",
	    { "/a", 0 }, { "/b", 0 }, { "/o", 1 }, { "/star", 1 });
	/* Rules before any User-agent line are no group's. */
	EXPECT("Disallow: /\nUser-agent: *\nDisallow: /x\n",
	    { "/", 1 }, { "/x", 0 });
	/* Blank lines and comments do not end a group; a rule line does. */
	EXPECT("# comment\nUser-agent: a # ours? no\n\nUser-agent: parley\n"
	    "# between\n\nDisallow: /p # trailing\nUser-agent: b\nDisallow: /b\n",
	    { "/p", 0 }, { "/b", 1 }, { "/p#x", 0 });
	/* No group for us or "*": all allowed. */
	parse("User-agent: other\nDisallow: /\n", &r);
	assert_int_equal(r.group, 0);
	assert_int_equal(robots_allowed(&r, "/x"), 1);
	robots_deny_all(&r);
	assert_int_equal(robots_allowed(&r, "/x"), 0);
	assert_int_equal(robots_allowed(&r, "/robots.txt"), 0);
	robots_free(&r);
	robots_free(&r);
}

static void
test_delay_sitemaps(void **state)
{
	struct robots r;

	parse("\xef\xbb\xbfSitemap: https://example.com/sitemap.xml\r\n"
	    "User-agent: *\r\nCrawl-delay: 5\r\nDisallow: /x\r\n"
	    "User-agent: parley\rCrawl-delay: 0.5\rCrawl-delay: 9\r"
	    "Disallow: /y\r"
	    "sitemap: /relative.xml\n"
	    "SITEMAP:http://example.com/other.xml\n"
	    "Sitemap: https://example.com/sitemap.xml\n"
	    "Sitemap: ftp://example.com/s.xml\n"
	    "Sitemap: https:///nohost.xml\n", &r);
	assert_int_equal(r.group, 2);
	assert_int_equal(r.delay_ms, 500);
	assert_int_equal(robots_allowed(&r, "/x"), 1);
	assert_int_equal(robots_allowed(&r, "/y"), 0);
	assert_int_equal(r.nsitemaps, 2);
	assert_string_equal(r.sitemaps[0], "https://example.com/sitemap.xml");
	assert_string_equal(r.sitemaps[1], "http://example.com/other.xml");
	robots_free(&r);

	parse("User-agent: *\nCrawl-delay: 3600\n", &r);
	assert_int_equal(r.delay_ms, ROBOTS_DELAY_MAX_MS);
	robots_free(&r);
	parse("User-agent: *\nCrawl-delay: soon\nCrawl-delay: -1\n", &r);
	assert_int_equal(r.delay_ms, 0);
	robots_free(&r);
}

static void
test_bounds(void **state)
{
	size_t size = ROBOTS_BYTES_MAX + 4096, o = 0;
	char *txt = malloc(size + 1);
	struct robots r;
	const char *why;

	assert_non_null(txt);
	/* A line over the bound is ignored, the next read. */
	o += (size_t)sprintf(txt, "User-agent: *\nDisallow: /");
	memset(txt + o, 'a', ROBOTS_LINE_MAX);
	o += ROBOTS_LINE_MAX;
	o += (size_t)sprintf(txt + o, "\nDisallow: /b\n");
	/* Comments up to 500 KiB; a rule across the bound and one past it. */
	while (o < ROBOTS_BYTES_MAX - 20)
		o += (size_t)sprintf(txt + o, "# filler filler\n");
	o += (size_t)sprintf(txt + o, "Disallow: /cut-in-the-middle\n"
	    "Disallow: /after\n");
	assert_true(o > ROBOTS_BYTES_MAX);
	assert_int_equal(robots_parse(txt, o, &r, &why), 0);
	assert_int_equal(r.truncated, 1);
	assert_int_equal(robots_allowed(&r, "/aaaa"), 1);
	assert_int_equal(robots_allowed(&r, "/b"), 0);
	assert_int_equal(robots_allowed(&r, "/cut"), 1);
	assert_int_equal(robots_allowed(&r, "/after"), 1);
	robots_free(&r);

	/* More rules than kept: the first ROBOTS_RULES_MAX. */
	o = (size_t)sprintf(txt, "User-agent: *\n");
	for (size_t i = 0; i < ROBOTS_RULES_MAX + 10; i++)
		o += (size_t)sprintf(txt + o, "Disallow: /r%zu/\n", i);
	assert_int_equal(robots_parse(txt, o, &r, &why), 0);
	assert_int_equal(r.nrules, ROBOTS_RULES_MAX);
	assert_int_equal(r.truncated, 1);
	assert_int_equal(robots_allowed(&r, "/r0/"), 0);
	assert_int_equal(robots_allowed(&r, "/r5005/"), 1);
	robots_free(&r);

	/* Empty and binary files. */
	assert_int_equal(robots_parse("", 0, &r, &why), 0);
	assert_int_equal(robots_allowed(&r, "/"), 1);
	robots_free(&r);
	assert_int_equal(robots_parse("User-agent: *\nDisallow: /a\0b\n", 29, &r,
	    &why), 0);
	assert_int_equal(robots_allowed(&r, "/a"), 1);
	assert_int_equal(robots_allowed(&r, "/a%00b"), 0);
	robots_free(&r);
	free(txt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_delay_sitemaps),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
