/*
 * The fetcher's document readers (workerd/fetch/html.c): an HTML page
 * with a nav, a cookie banner, a header, a footer, a sidebar and a main
 * article gives the article's text only; headings, list items, table rows
 * and pre text as blocks; links resolved (relative, ../, absolute, a
 * <base href>), javascript: and mailto: refused, fragments dropped, each
 * once; an ISO-8859-1 page decoded; broken HTML recovered; the robots
 * meta, canonical and language read; the bounds on links and text; no
 * main: the body without its boilerplate. Markdown (front matter,
 * headings, lists, fences, links' text) and plain text to the same
 * struct, invalid UTF-8 made valid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

#define BASE	"https://example.com/docs/guide/page.html"

static void
extract(const char *html, const char *base, struct fetch_doc *doc)
{
	const char *why = "unset";

	if (html_extract(html, strlen(html), base, NULL, doc, &why) != 0)
		fail_msg("html_extract: %s", why);
	assert_null(why);
}

/* All the blocks' text, "\n" after each, kind letters before: H2: P: I: R: C:. */
static char *
dump(const struct fetch_doc *doc)
{
	static const char kinds[] = "HPIRC";
	size_t i, o = 0, cap = 64;
	char *s = malloc(cap);

	assert_non_null(s);
	s[0] = '\0';
	for (i = 0; i < doc->nblocks; i++) {
		const struct fetch_block *b = &doc->blocks[i];

		while (o + b->len + 16 > cap)
			assert_non_null(s = realloc(s, cap *= 2));
		if (b->kind == FETCH_HEADING)
			o += (size_t)sprintf(s + o, "H%d: %s\n", b->level, b->text);
		else
			o += (size_t)sprintf(s + o, "%c: %s\n", kinds[b->kind], b->text);
		assert_int_equal(b->len, strlen(b->text));
	}
	return s;
}

static void
expect_dump(const char *html, const char *want)
{
	struct fetch_doc doc;
	char *got;

	extract(html, BASE, &doc);
	got = dump(&doc);
	assert_string_equal(got, want);
	free(got);
	fetch_doc_free(&doc);
}

static int
has_link(const struct fetch_doc *doc, const char *url)
{
	size_t i;

	for (i = 0; i < doc->nlinks; i++)
		if (strcmp(doc->links[i], url) == 0)
			return 1;
	return 0;
}

static void
test_boilerplate_dropped(void **state)
{
	static const char page[] =
	    "<!DOCTYPE html><html lang=\"en-GB\"><head>"
	    "<title>  Proxy   settings | Acme </title>"
	    "<meta name=\"robots\" content=\"NOINDEX, follow\">"
	    "<link rel=\"canonical\" href=\"/docs/proxy\">"
	    "<style>body { color: red }</style>"
	    "<script>var tracking = 'SCRIPT TEXT';</script></head><body>"
	    "<div id=\"cookie-banner\"><p>We use cookies. Accept?</p>"
	    "<button>Accept</button></div>"
	    "<div class=\"cc-window consent\">Consent text</div>"
	    "<header><a href=\"/\">Acme logo</a><nav><ul>"
	    "<li><a href=\"/pricing\">Pricing</a></li></ul></nav></header>"
	    "<nav class=\"breadcrumbs\">Home / Docs</nav>"
	    "<div class=\"layout has-sidebar\">"
	    "<aside class=\"sidebar\">Sidebar links</aside>"
	    "<div role=\"navigation\">Role nav</div>"
	    "<main class=\"content main-menu-offset\">"
	    "<h1>Proxy settings</h1>"
	    "<p>Parley  reaches the\n model   through a proxy.</p>"
	    "<div class=\"breadcrumb\">Docs &gt; Proxy</div>"
	    "<p hidden>Hidden text</p>"
	    "<p aria-hidden=\"true\">Aria hidden</p>"
	    "<p style=\"display: none\">Display none</p>"
	    "<h2>Environment</h2>"
	    "<ul><li>Set <code>HTTPS_PROXY</code>.</li><li>Restart.</li></ul>"
	    "<noscript>Enable JS</noscript>"
	    "<template><p>Template text</p></template>"
	    "<form><input value=\"input text\"><select><option>Opt</option>"
	    "</select><textarea>Area</textarea><label>Label kept</label></form>"
	    "<svg><text>SVG text</text></svg>"
	    "<iframe src=\"x\">Frame</iframe>"
	    "</main>"
	    "<div class=\"social-share\">Share this</div></div>"
	    "<footer>Copyright Acme</footer>"
	    "<div id=\"CybotCookiebotDialog\">Cookiebot</div>"
	    "</body></html>";
	struct fetch_doc doc;
	char *got;

	extract(page, BASE, &doc);
	got = dump(&doc);
	assert_string_equal(got,
	    "H1: Proxy settings\n"
	    "P: Parley reaches the model through a proxy.\n"
	    "H2: Environment\n"
	    "I: Set HTTPS_PROXY.\n"
	    "I: Restart.\n"
	    "P: Label kept\n");
	free(got);
	assert_string_equal(doc.title, "Proxy settings | Acme");
	assert_string_equal(doc.lang, "en-GB");
	assert_string_equal(doc.canonical, "https://example.com/docs/proxy");
	assert_int_equal(doc.noindex, 1);
	assert_int_equal(doc.nofollow, 0);
	assert_int_equal(doc.truncated, 0);
	/* Links come from the whole page, nav included. */
	assert_true(has_link(&doc, "https://example.com/pricing"));
	assert_true(has_link(&doc, "https://example.com/"));
	fetch_doc_free(&doc);
	fetch_doc_free(&doc);		/* a zeroed doc is fine */
}

static void
test_no_main(void **state)
{
	/* No main: the body, without header, footer, nav and menus. */
	expect_dump("<html><body><header><h1>Site</h1></header>"
	    "<div class=\"menu\">Menu</div><div class=\"navbar-top\">Top</div>"
	    "<div class=\"content\"><h1>Title</h1><p>One.</p>"
	    "<div class=\"skip-link\">Skip</div>"
	    "<div class=\"banner\">Banner</div>"
	    "<div class=\"bannerless\">Kept</div></div>"
	    "<footer><p>Foot</p></footer></body></html>",
	    "H1: Title\nP: One.\nP: Kept\n");
	/* An article: its header and footer are its own, kept. */
	expect_dump("<body><nav>N</nav><article><header><h1>Post</h1></header>"
	    "<p>Body.</p><footer>By me</footer></article></body>",
	    "H1: Post\nP: Body.\nP: By me\n");
	/* Many articles (an FAQ, a blog index): every one, from the element
	 * holding them all, not the first alone; the page's own nav and
	 * header still dropped. */
	expect_dump("<body><header>Site</header><div><nav>N</nav>"
	    "<section class=\"posts\"><article><h2>First</h2><p>One.</p>"
	    "<footer>By me</footer></article><div><article><p>Second</p>"
	    "</article></div></section></div><p>Outside</p></body>",
	    "H2: First\nP: One.\nP: By me\nP: Second\n");
	/* Articles apart (the body alone holds them): the body. */
	expect_dump("<body><nav>N</nav><article><p>A</p></article>"
	    "<p>Between</p><article><p>B</p></article></body>",
	    "P: A\nP: Between\nP: B\n");
	/* role=main is a main; a main comes before an earlier article. */
	expect_dump("<body><article><p>Teaser</p></article>"
	    "<div role=\"main\"><p>Main text</p></div></body>",
	    "P: Main text\n");
	/* Menus, sidebars and tables of contents named by class go when they
	 * are mostly links or short; a DocBook sidebar (a boxed note) and a
	 * restaurant's menu stay. */
	expect_dump("<body><div class=\"toc\"><dl><dt><a href=\"#a\">1. Intro"
	    "</a></dt><dt><a href=\"#b\">2. Setup and configuration</a></dt>"
	    "<dt><a href=\"#c\">3. Troubleshooting</a></dt></dl></div>"
	    "<div class=\"sidebar\"><p><strong>BACK TO BASICS</strong> A "
	    "package source is a repository of packages, see <a href=\"#x\">"
	    "the list</a> for the details.</p></div>"
	    "<div class=\"widget-sidebar\"><ul><li><a href=\"/1\">Recent post "
	    "one</a></li><li><a href=\"/2\">Recent post two</a></li><li>"
	    "<a href=\"/3\">Recent post three</a></li></ul></div>"
	    "<div id=\"menu\"><p>Soup of the day with bread and butter, "
	    "grilled fish with lemon and herbs, warm apple pie with cream."
	    "</p></div>"
	    "<ul class=\"docnav top\"><li>Prev</li><li>A long handbook title "
	    "that is not a link at all</li><li>Next</li></ul></body>",
	    "P: BACK TO BASICS A package source is a repository of packages, "
	    "see the list for the details.\n"
	    "P: Soup of the day with bread and butter, grilled fish with lemon "
	    "and herbs, warm apple pie with cream.\n");
	/* A hidden main is none. */
	expect_dump("<body><main hidden><p>Old</p></main><p>Body</p></body>",
	    "P: Body\n");
	/* An empty main (a page its scripts fill): the body, menus dropped. */
	expect_dump("<body><nav>Menu</nav><main id=\"app\"> </main>"
	    "<noscript>Enable JS</noscript><p>Loading the page</p></body>",
	    "P: Loading the page\n");
}

static void
test_blocks(void **state)
{
	expect_dump("<main><h3>Table</h3><table><tr><th>Name</th><th>Port</th>"
	    "</tr><tr><td>http</td><td><div>80</div></td><td></td></tr>"
	    "<tr><td> https </td><td>443</td></tr></table>"
	    "<pre>\nline 1\n  line 2\r\n\n</pre>"
	    "<pre><code>a &lt; b</code></pre>"
	    "<p>Line<br>break and <b>bold</b>text &amp; more&nbsp;here</p>"
	    "<ol><li>One<ul><li>Inner</li></ul>tail</li></ol>"
	    "<dl><dt>Term</dt><dd>Definition</dd></dl>"
	    "<div>Loose <span>text</span><p>para</p>after</div>"
	    "<h6>Six</h6><blockquote>Quoted</blockquote></main>",
	    "H3: Table\n"
	    "R: Name | Port\n"
	    "R: http | 80\n"
	    "R: https | 443\n"
	    "C: line 1\n  line 2\n"
	    "C: a < b\n"
	    "P: Line break and boldtext & more here\n"
	    "I: One\n"
	    "I: Inner\n"
	    "I: tail\n"
	    "I: Term\n"
	    "I: Definition\n"
	    "P: Loose text\n"
	    "P: para\n"
	    "P: after\n"
	    "H6: Six\n"
	    "P: Quoted\n");
}

/* A page's key: its fragment and its tracking parameters dropped. */
static void
test_url_clean(void **state)
{
	static const char *const cases[][2] = {
		{ "https://example.com/a", "https://example.com/a" },
		{ "https://example.com/a#top", "https://example.com/a" },
		{ "https://example.com/a?utm_source=x&utm_medium=y",
		    "https://example.com/a" },
		{ "https://example.com/a?id=3&utm_source=x#f",
		    "https://example.com/a?id=3" },
		{ "https://example.com/a?UTM_Campaign=z&id=3&gclid=1&x",
		    "https://example.com/a?id=3&x" },
		{ "https://example.com/a?fbclid&msclkid=2",
		    "https://example.com/a" },
		{ "https://example.com/a?utm_=1&utm=2&gclidx=3&&",
		    "https://example.com/a?utm_=1&utm=2&gclidx=3" },
		{ "https://example.com/a?", "https://example.com/a" },
		{ "https://example.com/a#x?utm_source=1",
		    "https://example.com/a" },
	};
	size_t i;
	char *u;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = fetch_url_clean(cases[i][0]);
		assert_non_null(u);
		assert_string_equal(u, cases[i][1]);
		free(u);
	}
}

static void
test_links(void **state)
{
	static const char page[] =
	    "<html><body>"
	    "<a href=\"other.html\">rel</a>"
	    "<a href=\"../intro.html#part\">up</a>"
	    "<a href=\"/abs/path?q=1&amp;r=2\">root</a>"
	    "<a href=\"http://other.example/x\">abs</a>"
	    "<a href=\"HTTPS://Upper.example/Y\">upper</a>"
	    "<a href=\"//cdn.example/lib\">scheme-relative</a>"
	    "<a href=\"javascript:alert(1)\">js</a>"
	    "<a href=\"mailto:a@example.com\">mail</a>"
	    "<a href=\"ftp://example.com/f\">ftp</a>"
	    "<a href=\"data:text/html,hi\">data</a>"
	    "<a href=\"#top\">fragment</a>"
	    "<a href=\"\">empty</a>"
	    "<a href=\"  other.html  \">again</a>"
	    "<a href=\"other.html#x\">again with fragment</a>"
	    "<a href=\"caf\xc3\xa9 menu.html\">space</a>"
	    "<a href=\"100%.html\">percent</a>"
	    "<a rel=\"nofollow\" href=\"/nofollow\">nf</a>"
	    "<area href=\"/area\">"
	    "</body></html>";
	static const char *want[] = {
		"https://example.com/docs/guide/other.html",
		"https://example.com/docs/intro.html",
		"https://example.com/abs/path?q=1&r=2",
		"http://other.example/x",
		"https://Upper.example/Y",
		"https://cdn.example/lib",
		"https://example.com/docs/guide/caf%C3%A9%20menu.html",
		"https://example.com/docs/guide/100%25.html",
		"https://example.com/area",
	};
	struct fetch_doc doc;
	size_t i;

	extract(page, BASE, &doc);
	for (i = 0; i < doc.nlinks; i++)
		printf("  link %s\n", doc.links[i]);
	assert_int_equal(doc.nlinks, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < doc.nlinks; i++)
		assert_string_equal(doc.links[i], want[i]);
	fetch_doc_free(&doc);

	/* A <base href> is what links resolve against. */
	extract("<html><head><base href=\"https://cdn.example/root/\">"
	    "<link rel=canonical href=\"page\"></head>"
	    "<body><a href=\"a/b\">x</a><a href=\"../c\">y</a></body></html>",
	    BASE, &doc);
	assert_int_equal(doc.nlinks, 2);
	assert_string_equal(doc.links[0], "https://cdn.example/root/a/b");
	assert_string_equal(doc.links[1], "https://cdn.example/c");
	assert_string_equal(doc.canonical, "https://cdn.example/root/page");
	fetch_doc_free(&doc);

	/* No base URL: only absolute links. */
	extract("<a href=\"rel\">r</a><a href=\"http://a.example/\">a</a>",
	    NULL, &doc);
	assert_int_equal(doc.nlinks, 1);
	assert_string_equal(doc.links[0], "http://a.example/");
	fetch_doc_free(&doc);
}

static void
test_links_bounded(void **state)
{
	size_t cap = 64 * (FETCH_LINKS_MAX + 100), o = 0, i;
	char *page = malloc(cap);
	struct fetch_doc doc;

	assert_non_null(page);
	o += (size_t)sprintf(page + o, "<body>");
	for (i = 0; i < FETCH_LINKS_MAX + 100; i++)
		o += (size_t)sprintf(page + o, "<a href=\"/p%zu\">x</a>", i);
	/* Duplicates do not count. */
	o += (size_t)sprintf(page + o, "<a href=\"/p0\">x</a></body>");
	extract(page, BASE, &doc);
	assert_int_equal(doc.nlinks, FETCH_LINKS_MAX);
	assert_string_equal(doc.links[FETCH_LINKS_MAX - 1],
	    "https://example.com/p1999");
	assert_int_equal(doc.truncated, 1);
	fetch_doc_free(&doc);
	free(page);
}

static void
test_charset(void **state)
{
	/* "Café déjà" in ISO-8859-1, declared by the page. */
	static const char latin1[] =
	    "<html><head><meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=iso-8859-1\"><title>Caf\xe9</title>"
	    "</head><body><p>Caf\xe9 d\xe9j\xe0</p></body></html>";
	static const char meta5[] =
	    "<html><head><meta charset=\"windows-1252\"></head><body>"
	    "<p>\x93quoted\x94 \x80</p></body></html>";
	struct fetch_doc doc;
	const char *why;

	extract(latin1, BASE, &doc);
	assert_string_equal(doc.title, "Caf\xc3\xa9");
	assert_int_equal(doc.nblocks, 1);
	assert_string_equal(doc.blocks[0].text, "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0");
	fetch_doc_free(&doc);

	extract(meta5, BASE, &doc);
	assert_int_equal(doc.nblocks, 1);
	assert_string_equal(doc.blocks[0].text,
	    "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac");
	fetch_doc_free(&doc);

	/* The HTTP header's charset, given by the caller. */
	assert_int_equal(html_extract("<p>\xe9t\xe9</p>", 10, BASE,
	    "ISO-8859-1", &doc, &why), 0);
	assert_int_equal(doc.nblocks, 1);
	assert_string_equal(doc.blocks[0].text, "\xc3\xa9t\xc3\xa9");
	fetch_doc_free(&doc);

	/* Which labels read as UTF-8 (a cut page then ends at a whole one). */
	assert_true(fetch_charset_utf8(NULL));
	assert_true(fetch_charset_utf8(""));
	assert_true(fetch_charset_utf8("utf-8"));
	assert_true(fetch_charset_utf8("\"UTF-8\""));
	assert_true(fetch_charset_utf8("'utf8'"));
	assert_true(fetch_charset_utf8("us-ascii"));
	assert_false(fetch_charset_utf8("iso-8859-1"));
	assert_false(fetch_charset_utf8("\"windows-1252\""));
	assert_false(fetch_charset_utf8("utf-16"));
	assert_false(fetch_charset_utf8("utf-8x"));
}

static void
test_broken(void **state)
{
	struct fetch_doc doc;
	const char *why = NULL;

	/* Unclosed and misnested tags, stray ends: recovered. */
	expect_dump("<title>T</title><h1>Head<p>First <b>bold <i>both</b> "
	    "italic</i><p>Second<li>item</div></span><h2>Sub</h2></b>tail",
	    "H1: Head\nP: First bold both italic\nP: Second\nI: item\n"
	    "H2: Sub\nI: tail\n");
	/* No title: the first h1. */
	extract("<body><h2>Two</h2><h1> First  one </h1><h1>Other</h1></body>",
	    BASE, &doc);
	assert_string_equal(doc.title, "First one");
	fetch_doc_free(&doc);
	/* Nothing at all. */
	assert_int_equal(html_extract("", 0, BASE, NULL, &doc, &why), -1);
	assert_string_equal(why, "html: not a document");
	assert_null(doc.blocks);
	/* Text only: libxml2 makes it a body. */
	extract("just text", BASE, &doc);
	assert_int_equal(doc.nblocks, 1);
	assert_string_equal(doc.blocks[0].text, "just text");
	assert_null(doc.title);
	fetch_doc_free(&doc);
	/*
	 * A NUL byte in the page: libxml2 stopped there (the paragraph and
	 * heading after it were lost); left out, as a browser's text does.
	 * A UTF-16 page's own NUL bytes are kept (BOM, or its charset).
	 */
	{
		static const char nul[] = "<body><p>before the nul</p>\0"
		    "<p>after the\0 nul</p><h2>Last</h2></body>";
		static const char wide[] = "\xff\xfe<\0p\0>\0w\0i\0d\0e\0";
		static const char le[] = "<\0p\0>\0l\0e\0";
		char *d;

		assert_int_equal(html_extract(nul, sizeof(nul) - 1, BASE, NULL,
		    &doc, &why), 0);
		d = dump(&doc);
		assert_string_equal(d, "P: before the nul\nP: after the nul\n"
		    "H2: Last\n");
		free(d);
		fetch_doc_free(&doc);
		assert_int_equal(html_extract(wide, sizeof(wide) - 1, BASE, NULL,
		    &doc, &why), 0);
		d = dump(&doc);
		assert_string_equal(d, "P: wide\n");
		free(d);
		fetch_doc_free(&doc);
		assert_int_equal(html_extract(le, sizeof(le) - 1, BASE,
		    "UTF-16LE", &doc, &why), 0);
		d = dump(&doc);
		assert_string_equal(d, "P: le\n");
		free(d);
		fetch_doc_free(&doc);
	}
	/* Invalid UTF-8 in a UTF-8 page: valid text out. */
	extract("<meta charset=utf-8><p>a\xff" "b\xc3(</p>", BASE, &doc);
	assert_int_equal(doc.nblocks, 1);
	printf("  invalid UTF-8 read as: %s\n", doc.blocks[0].text);
	fetch_doc_free(&doc);
	/* libxml2's attribute check is quadratic: a tag of 30,000 attributes
	 * (UTF-8 or UTF-16) is refused at once; 200 on many tags are fine. */
	{
		size_t n = 30000, i, o;
		char *page = malloc(n * 16 + 64), *wide;

		assert_non_null(page);
		o = (size_t)sprintf(page, "<body><div");
		for (i = 0; i < n; i++)
			o += (size_t)sprintf(page + o, " a%zu=\"x>\"", i);
		o += (size_t)sprintf(page + o, ">text</div>");
		assert_int_equal(html_extract(page, o, BASE, NULL, &doc, &why), -1);
		assert_string_equal(why, "html: too many attributes");
		assert_non_null(wide = malloc(2 * o + 2));
		wide[0] = '\xff';
		wide[1] = '\xfe';
		for (i = 0; i < o; i++) {
			wide[2 + 2 * i] = page[i];
			wide[3 + 2 * i] = 0;
		}
		assert_int_equal(html_extract(wide, 2 * o + 2, BASE, NULL, &doc,
		    &why), -1);
		assert_string_equal(why, "html: too many attributes");
		free(wide);
		o = (size_t)sprintf(page, "<body>");
		for (i = 0; i < 2000; i++)
			o += (size_t)sprintf(page + o, "<p %s>t</p>", i % 2 ?
			    "class=a id=b" : "data-x=1 data-y=2 title=\"a b c\"");
		assert_int_equal(html_extract(page, o, BASE, NULL, &doc, &why), 0);
		assert_int_equal(doc.nblocks, 2000);
		fetch_doc_free(&doc);
		free(page);
	}
	/* Encodings where '<' is not the byte '<' are refused. */
	assert_int_equal(html_extract("<meta charset=\"UTF-7\">+ADw-p+AD4-x", 34,
	    BASE, NULL, &doc, &why), -1);
	assert_string_equal(why, "html: charset refused");
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "IBM037", &doc, &why),
	    -1);
	assert_int_equal(html_extract("<meta http-equiv=content-type content="
	    "'text/html; charset=cp1047'>", 66, BASE, NULL, &doc, &why), -1);
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "ISO-2022-JP", &doc,
	    &why), -1);
	assert_int_equal(html_extract("<meta charset=cp1252><p>x</p>", 29, BASE,
	    NULL, &doc, &why), 0);
	fetch_doc_free(&doc);
	/*
	 * EBCDIC under names no list had (the decoder is asked): the
	 * caller's, or a meta's in ASCII before EBCDIC bytes. Their
	 * quadratic attribute lists took libxml2 minutes.
	 */
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "CSIBM037", &doc,
	    &why), -1);
	assert_string_equal(why, "html: charset refused");
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "IBM1153", &doc,
	    &why), -1);
	assert_int_equal(html_extract("<meta http-equiv=Content-Type content="
	    "\"text/html; charset=CSIBM037\">\x4c\x97\x6e", 71, BASE, NULL,
	    &doc, &why), -1);
	assert_string_equal(why, "html: charset refused");
	/* ASCII-keeping ones still read, UTF-16 too. */
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "KOI8-R", &doc,
	    &why), 0);
	fetch_doc_free(&doc);
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "Shift_JIS", &doc,
	    &why), 0);
	fetch_doc_free(&doc);
	assert_int_equal(html_extract("<p>x</p>", 8, BASE, "utf-16le", &doc,
	    &why), 0);
	fetch_doc_free(&doc);
	/* A label is asked once; more than 32 distinct ones refuse the page. */
	{
		char many[40 * 24];
		size_t i, o = 0;

		for (i = 0; i < 40; i++)
			o += (size_t)sprintf(many + o, "<p>charset=l%zu</p>", i);
		assert_int_equal(html_extract(many, o, BASE, NULL, &doc, &why),
		    -1);
		assert_string_equal(why, "html: charset refused");
		o = 0;
		for (i = 0; i < 40; i++)
			o += (size_t)sprintf(many + o, "<p>charset=utf-8</p>");
		assert_int_equal(html_extract(many, o, BASE, NULL, &doc, &why),
		    0);
		fetch_doc_free(&doc);
	}
	/* Over the input bound. */
	assert_int_equal(html_extract("x", FETCH_INPUT_MAX + 1, BASE, NULL,
	    &doc, &why), -1);
	assert_string_equal(why, "html: over 16 MiB");
}

static void
test_robots_meta(void **state)
{
	struct fetch_doc doc;

	extract("<meta name=ROBOTS content=\"none\"><p>x</p>", BASE, &doc);
	assert_int_equal(doc.noindex, 1);
	assert_int_equal(doc.nofollow, 1);
	fetch_doc_free(&doc);
	extract("<meta name=\"parley\" content=\"nofollow\">"
	    "<meta name=\"googlebot\" content=\"noindex\"><p>x</p>", BASE, &doc);
	assert_int_equal(doc.noindex, 0);
	assert_int_equal(doc.nofollow, 1);
	fetch_doc_free(&doc);
	extract("<html lang=\"en; drop table\"><p>x</p>", BASE, &doc);
	assert_null(doc.lang);
	fetch_doc_free(&doc);
}

static void
test_deep_and_big(void **state)
{
	size_t depth = 5000, i, o = 0, n;
	char *page = malloc(depth * 10 + 100);
	struct fetch_doc doc;

	/* 5,000 nested divs: no recursion, the deep text is dropped. */
	assert_non_null(page);
	o += (size_t)sprintf(page + o, "<body><p>top</p>");
	for (i = 0; i < depth; i++)
		o += (size_t)sprintf(page + o, "<div>");
	o += (size_t)sprintf(page + o, "deep");
	extract(page, BASE, &doc);
	assert_true(doc.nblocks >= 1);
	assert_string_equal(doc.blocks[0].text, "top");
	fetch_doc_free(&doc);
	free(page);

	/* 6 MiB of text: FETCH_TEXT_MAX kept. */
	n = 6u << 20;
	assert_non_null(page = malloc(n + 64));
	o = (size_t)sprintf(page, "<body><p>");
	for (i = 0; i < n; i++)
		page[o++] = (char)(i % 7 == 6 ? ' ' : 'a' + i % 7);
	strcpy(page + o, "</p><p>more</p></body>");
	extract(page, BASE, &doc);
	assert_int_equal(doc.truncated, 1);
	assert_true(doc.text_bytes <= FETCH_TEXT_MAX);
	assert_true(doc.text_bytes > FETCH_TEXT_MAX - 16);
	fetch_doc_free(&doc);
	free(page);
}

static void
test_markdown(void **state)
{
	static const char md[] =
	    "\xef\xbb\xbf---\n"
	    "title: \"Install guide\"\n"
	    "tags: [a, b]\n"
	    "---\n"
	    "# Install\n"
	    "\n"
	    "Parley runs on **Debian** 12. See [the docs](https://x.example/d)\n"
	    "and ![a diagram](img.png) or [ref link][r].\n"
	    "\n"
	    "[r]: https://x.example/ref\n"
	    "\n"
	    "Network\n"
	    "-------\n"
	    "\n"
	    "- first item\n"
	    "  continued\n"
	    "* second `code` item\n"
	    "1. numbered <https://auto.example/link> item\n"
	    "\n"
	    "```sh\n"
	    "make -j2\n"
	    "  # not a heading\n"
	    "```\n"
	    "\n"
	    "Title One\n"
	    "=========\n"
	    "> quoted text\n"
	    "\n"
	    "| a | b |\n"
	    "|---|---|\n"
	    "\n"
	    "## C# notes ##\n"
	    "[![badge](b.svg)](https://ci.example) done\n"
	    "~~~\n"
	    "unclosed fence\n";
	struct fetch_doc doc;
	const char *why = "unset";
	char *got;

	assert_int_equal(md_extract(md, strlen(md), &doc, &why), 0);
	assert_null(why);
	got = dump(&doc);
	assert_string_equal(got,
	    "H1: Install\n"
	    "P: Parley runs on Debian 12. See the docs and a diagram or ref link.\n"
	    "H2: Network\n"
	    "I: first item continued\n"
	    "I: second code item\n"
	    "I: numbered item\n"
	    "C: make -j2\n  # not a heading\n"
	    "H1: Title One\n"
	    "P: quoted text\n"
	    "P: | a | b |\n"
	    "H2: C# notes\n"
	    "P: badge done\n"
	    "C: unclosed fence\n");
	free(got);
	assert_string_equal(doc.title, "Install guide");
	assert_int_equal(doc.nlinks, 0);
	fetch_doc_free(&doc);

	/* No front matter: the first level-1 heading; "---" alone a rule. */
	assert_int_equal(md_extract("Intro\n\n---\n\n# Main\ntext\n", 24, &doc,
	    &why), 0);
	assert_string_equal(doc.title, "Main");
	got = dump(&doc);
	assert_string_equal(got, "P: Intro\nH1: Main\nP: text\n");
	free(got);
	fetch_doc_free(&doc);

	/* A table rule or list marker as the last line, no NUL after it: the
	 * line is read by its length only (the html fuzz target's first find). */
	{
		static const char *ends[] = { "a\n|--|", "a\n- ", "a\n-", "a\n|" };
		size_t i, n;
		char *buf;

		for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			n = strlen(ends[i]);
			assert_non_null(buf = malloc(n));
			memcpy(buf, ends[i], n);
			assert_int_equal(md_extract(buf, n, &doc, &why), 0);
			fetch_doc_free(&doc);
			free(buf);
		}
	}
}

static void
test_text(void **state)
{
	static const char txt[] =
	    "Release notes\r\n"
	    "\r\n"
	    "Version 2 adds\n"
	    "a knowledge   base.\n"
	    "  \n"
	    "\n"
	    "Bad \xff byte and a NUL \0 here.\n"
	    "\n"
	    "Page one ends\fpage two, an old Mac's\rline.\n";
	struct fetch_doc doc;
	const char *why = "unset";
	char *got;

	assert_int_equal(text_extract(txt, sizeof(txt) - 1, &doc, &why), 0);
	assert_null(why);
	assert_string_equal(doc.title, "Release notes");
	got = dump(&doc);
	assert_string_equal(got,
	    "P: Release notes\n"
	    "P: Version 2 adds a knowledge base.\n"
	    "P: Bad \xef\xbf\xbd byte and a NUL here.\n"
	    "P: Page one ends page two, an old Mac's line.\n");
	free(got);
	fetch_doc_free(&doc);

	/* A long first line is no title. */
	{
		char line[200];

		memset(line, 'x', sizeof(line));
		assert_int_equal(text_extract(line, sizeof(line), &doc, &why), 0);
		assert_null(doc.title);
		assert_int_equal(doc.nblocks, 1);
		fetch_doc_free(&doc);
	}
	assert_int_equal(text_extract("", 0, &doc, &why), 0);
	assert_int_equal(doc.nblocks, 0);
	fetch_doc_free(&doc);
}

static void
test_utf8_clean(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\xe2\x82", "a\xef\xbf\xbd\xef\xbf\xbd" },		/* cut */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "t\tn\nr\rb\bd\x7f", "t\tn\nr\nbd" },
		/* a line's end, not nothing: the words stay apart */
		{ "crlf\r\nmac\rpage\fvt\vend\r", "crlf\nmac\npage\nvt\nend\n" },
		{ "n\x01u\x1fl", "nul" },
	};
	char out[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = fetch_utf8_clean(out, cases[i].in, strlen(cases[i].in));
		assert_int_equal(n, strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boilerplate_dropped),
		cmocka_unit_test(test_no_main),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_url_clean),
		cmocka_unit_test(test_links_bounded),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_robots_meta),
		cmocka_unit_test(test_deep_and_big),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_utf8_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
