/*
 * static.c: the widget bundle and the test pages. The helpers (CRC-32,
 * the gzip trailer check, Accept-Encoding q-values, If-None-Match, the
 * key rendered HTML-escaped, the assets directory search), then real
 * requests through a connection and the router: ETag and 304, gzip,
 * HEAD, Cache-Control in development and production, any Origin for the
 * bundle, the pages' CSP, 404 for the pages in production, a missing
 * bundle (404 JSON, found later without a restart), a stale .gz ignored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "static.h"
#include "test_client.h"

static char tmpdir[64];
static char bundle_path[PATH_MAX];

#define BIG	(PATH_MAX + 64)

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void
mkdir_p(const char *path)
{
	char p[PATH_MAX], *s;

	strlcpy(p, path, sizeof(p));
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	mkdir(p, 0700);
}

/* A gzip file of data with one stored (uncompressed) deflate block. */
static size_t
make_gzip(const char *data, size_t len, unsigned char *out)
{
	static const unsigned char head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0,
	    0, 3 };
	uint32_t crc = static_crc32(0, data, len);
	size_t n = 0;

	assert_true(len < 65536);
	memcpy(out, head, sizeof(head));
	n = sizeof(head);
	out[n++] = 1;	/* BFINAL, stored */
	out[n++] = (unsigned char)(len & 0xff);
	out[n++] = (unsigned char)(len >> 8);
	out[n++] = (unsigned char)(~len & 0xff);
	out[n++] = (unsigned char)((~len >> 8) & 0xff);
	memcpy(out + n, data, len);
	n += len;
	out[n++] = (unsigned char)crc;
	out[n++] = (unsigned char)(crc >> 8);
	out[n++] = (unsigned char)(crc >> 16);
	out[n++] = (unsigned char)(crc >> 24);
	out[n++] = (unsigned char)len;
	out[n++] = (unsigned char)(len >> 8);
	out[n++] = (unsigned char)(len >> 16);
	out[n++] = (unsigned char)(len >> 24);
	return n;
}

static int
setup(void **state)
{
	loop_init();
	worker_conf_defaults();
	strlcpy(tmpdir, "/tmp/parley-static-XXXXXX", sizeof(tmpdir));
	assert_non_null(mkdtemp(tmpdir));
	snprintf(bundle_path, sizeof(bundle_path), "%s/dist/bundle.js",
	    tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	static_shutdown();
	cors_shutdown();
	settings_free(&wsettings);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return 0;
}

/* ------------------------------------------------------------ helpers */

static void
test_crc32(void **state)
{
	assert_int_equal(static_crc32(0, "", 0), 0);
	assert_int_equal(static_crc32(0, "123456789", 9), 0xcbf43926u);
	/* Continued in pieces gives the same. */
	assert_int_equal(static_crc32(static_crc32(0, "1234", 4), "56789", 5),
	    0xcbf43926u);
	assert_int_equal(static_crc32(0, "a", 1), 0xe8b7be43u);
}

static void
test_gzip_of(void **state)
{
	const char *s = "console.log('parley');\n";
	unsigned char gz[256];
	size_t n = make_gzip(s, strlen(s), gz);

	assert_true(static_gzip_of(gz, n, s, strlen(s)));
	/* Other bytes of the same length, another length, a damaged file. */
	assert_false(static_gzip_of(gz, n, "console.log('parlez');\n",
	    strlen(s)));
	assert_false(static_gzip_of(gz, n, s, strlen(s) - 1));
	gz[0] = 0x1e;
	assert_false(static_gzip_of(gz, n, s, strlen(s)));
	gz[0] = 0x1f;
	gz[2] = 7;
	assert_false(static_gzip_of(gz, n, s, strlen(s)));
	gz[2] = 8;
	assert_false(static_gzip_of(gz, 17, s, strlen(s)));
	assert_false(static_gzip_of(NULL, 0, s, strlen(s)));
	assert_true(static_gzip_of(gz, n, s, strlen(s)));
}

static void
test_accepts_gzip(void **state)
{
	static const struct {
		const char *ae;
		int gzip;
	} cases[] = {
		{ "gzip", 1 },
		{ "GZip", 1 },
		{ "x-gzip", 1 },
		{ "gzip, deflate, br", 1 },
		{ "br;q=1.0, gzip;q=0.8, *;q=0.1", 1 },
		{ "deflate, br", 0 },
		{ "identity", 0 },
		{ "", 0 },
		{ " , ,", 0 },
		{ "gzip;q=0", 0 },
		{ "gzip; q=0", 0 },
		{ "gzip ;Q=0.000", 0 },
		{ "gzip;q=0.001", 1 },
		{ "gzip;q=1", 1 },
		{ "gzip;q=1.000", 1 },
		{ "gzip;q=0, *", 0 },		/* named beats the wildcard */
		{ "*", 1 },
		{ "*;q=0.5", 1 },
		{ "*;q=0", 0 },
		{ "identity, *;q=0", 0 },
		{ "gzip;q=bogus", 0 },		/* malformed q counts as 0 */
		{ "gzip;q=1.5", 0 },
		{ "gzip;q=2", 0 },
		{ "gzip;q=0.5555", 0 },
		{ "gzip;level=9", 1 },		/* other parameters ignored */
		{ "gzip;level=9;q=0", 0 },
		{ "gzipx", 0 },
		{ "xgzip", 0 },
		{ "deflate;q=0.5,gzip", 1 },
		{ "gzip;q=0,gzip;q=0.5", 1 },	/* the best listing wins */
		{ "gzip\t;\tq=0.9", 1 },
	};
	size_t i;

	assert_false(static_accepts_gzip(NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (static_accepts_gzip(cases[i].ae) != cases[i].gzip)
			fail_msg("Accept-Encoding \"%s\": expected %d",
			    cases[i].ae, cases[i].gzip);
}

static void
test_etag_match(void **state)
{
	const char *e = "\"0123456789abcdef0123456789abcdef\"";

	assert_true(static_etag_match(e, e));
	assert_true(static_etag_match("*", e));
	assert_true(static_etag_match("W/\"0123456789abcdef0123456789abcdef\"",
	    e));
	assert_true(static_etag_match("\"x\", \"0123456789abcdef0123456789abcdef\"",
	    e));
	assert_true(static_etag_match("\"a,b\",\"0123456789abcdef0123456789abcdef\" ",
	    e));
	assert_false(static_etag_match("\"0123456789abcdef0123456789abcde\"",
	    e));
	assert_false(static_etag_match("\"0123456789abcdef0123456789abcdef-gzip\"",
	    e));
	assert_false(static_etag_match("0123456789abcdef0123456789abcdef", e));
	assert_false(static_etag_match("", e));
	assert_false(static_etag_match(NULL, e));
	assert_false(static_etag_match("*", ""));
}

static void
test_render(void **state)
{
	static const char tpl[] = "<a data-k=\"{{WIDGET_API_KEY}}\">"
	    "{{WIDGET_API_KEY}}</a>{{WIDGET_API_KEY";
	size_t n;
	char *s;

	s = static_render(tpl, sizeof(tpl) - 1, "k\"<&>'x", &n);
	assert_non_null(s);
	assert_string_equal(s, "<a data-k=\"k&quot;&lt;&amp;&gt;&#39;x\">"
	    "k&quot;&lt;&amp;&gt;&#39;x</a>{{WIDGET_API_KEY");
	assert_int_equal(n, strlen(s));
	free(s);

	s = static_render(tpl, sizeof(tpl) - 1, NULL, &n);
	assert_string_equal(s, "<a data-k=\"\"></a>{{WIDGET_API_KEY");
	free(s);

	/* Bytes after a NUL in the template are kept; UTF-8 passes. */
	s = static_render("a\0b{{WIDGET_API_KEY}}", 21, "\xc3\xa9", &n);
	assert_int_equal(n, 5);
	assert_memory_equal(s, "a\0b\xc3\xa9", 5);
	free(s);

	s = static_render("", 0, "k", &n);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
}

/* A part's or language's file name: <1-32 of a-z 0-9 ->.js, nothing else. */
static void
test_mod_name(void **state)
{
	static const char *good[] = { "forms.js", "de.js", "a.js", "x-1.js",
	    "abcdefghijklmnopqrstuvwxyz012345.js" };
	static const char *bad[] = { "", ".js", "Forms.js", "forms", "forms.js.gz",
	    "forms.JS", "../x.js", "a/b.js", "a.b.js", "a_b.js", "a b.js",
	    "abcdefghijklmnopqrstuvwxyz0123456.js", "%2e.js", "forms.js\n" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(static_mod_name_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(static_mod_name_ok(bad[i]));
}

static void
test_find_assets(void **state)
{
	char base[PATH_MAX], deep[BIG], out[PATH_MAX], w[BIG];

	snprintf(base, sizeof(base), "%s/find", tmpdir);
	snprintf(w, sizeof(w), "%s/widget", base);
	mkdir_p(w);
	/* bin/ -> its parent; build/test/bin -> three levels up. */
	snprintf(deep, sizeof(deep), "%s/bin", base);
	mkdir_p(deep);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), 0);
	assert_string_equal(out, base);
	snprintf(deep, sizeof(deep), "%s/build/test/bin", base);
	mkdir_p(deep);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), 0);
	assert_string_equal(out, base);
	/* A trailing slash is fine; the directory itself counts. */
	snprintf(deep, sizeof(deep), "%s/build/test/bin/", base);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), 0);
	assert_string_equal(out, base);
	assert_int_equal(static_find_assets(base, out, sizeof(out)), 0);
	assert_string_equal(out, base);
	/* Five levels down is too far. */
	snprintf(deep, sizeof(deep), "%s/a/b/c/d/e", base);
	mkdir_p(deep);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), -1);
	/* A file named widget is not the directory. */
	snprintf(deep, sizeof(deep), "%s/f/x", tmpdir);
	mkdir_p(deep);
	snprintf(w, sizeof(w), "%s/f/widget", tmpdir);
	write_file(w, "", 0);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), -1);

	/* An installed tree: <prefix>/sbin finds <prefix>/share/parley. */
	snprintf(w, sizeof(w), "%s/usr/share/parley/widget", tmpdir);
	mkdir_p(w);
	snprintf(deep, sizeof(deep), "%s/usr/sbin", tmpdir);
	mkdir_p(deep);
	assert_int_equal(static_find_assets(deep, out, sizeof(out)), 0);
	snprintf(w, sizeof(w), "%s/usr/share/parley", tmpdir);
	assert_string_equal(out, w);

	/* PARLEY_ASSETS_DIR wins; without it the executable's tree. */
	setenv("PARLEY_ASSETS_DIR", "/opt/parley", 1);
	test_settings_env();
	static_assets_dir(out, sizeof(out));
	assert_string_equal(out, "/opt/parley");
	unsetenv("PARLEY_ASSETS_DIR");
	test_settings_env();
	static_assets_dir(out, sizeof(out));
	/* build/test/unit/test_static -> the repository, which has widget/. */
	snprintf(w, sizeof(w), "%s/widget/build.mjs", out);
	assert_int_equal(access(w, F_OK), 0);
}

/* ------------------------------------------------------------ served */

static const char js[] = "/* test bundle */ console.log(\"parley\");\n";

/* A request on a fresh connection; the response in r (free it). */
static void
get(const char *path, const char *headers, struct tresp *r)
{
	struct tclient cl;
	size_t off = 0;
	char req[1024];

	assert_int_equal(tclient_open(&cl), 0);
	snprintf(req, sizeof(req), "%s HTTP/1.1\r\nHost: t\r\n%s\r\n", path,
	    headers != NULL ? headers : "");
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	if (!tresp_wait(&cl, &off, r, 3000))
		fail_msg("no answer to %s", path);
	tclient_close(&cl);
}

/* get() for the status alone. */
static int
status_of(const char *path, const char *headers)
{
	struct tresp r;
	int status;

	get(path, headers, &r);
	status = r.status;
	tresp_free(&r);
	return status;
}

static const char *
hdr(const struct tresp *r, const char *name)
{
	static char v[4][512];
	static int i;

	i = (i + 1) % 4;
	return tresp_header(r, name, v[i], sizeof(v[i]));
}

static void
make_assets(const char *key)
{
	char p[BIG], dir[PATH_MAX];
	unsigned char gz[256];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/assets/widget/pages", tmpdir);
	mkdir_p(dir);
	snprintf(p, sizeof(p), "%s/widget-test.html", dir);
	write_str(p, "<p data-k=\"{{WIDGET_API_KEY}}\">w</p>\n");
	snprintf(p, sizeof(p), "%s/headless-test.html", dir);
	write_str(p, "<input value=\"{{WIDGET_API_KEY}}\">\n");
	snprintf(p, sizeof(p), "%s/widget-test.js", dir);
	write_str(p, "1;\n");
	snprintf(p, sizeof(p), "%s/test-pages.css", dir);
	write_str(p, "p{}\n");
	/* headless-test.js left out: it answers 404. */
	snprintf(dir, sizeof(dir), "%s/assets", tmpdir);
	setenv("PARLEY_ASSETS_DIR", dir, 1);

	snprintf(dir, sizeof(dir), "%s/dist", tmpdir);
	mkdir_p(dir);
	write_file(bundle_path, js, sizeof(js) - 1);
	n = make_gzip(js, sizeof(js) - 1, gz);
	snprintf(p, sizeof(p), "%s.gz", bundle_path);
	write_file(p, gz, n);
	setenv("WIDGET_BUNDLE_PATH", bundle_path, 1);
	setenv("WIDGET_API_KEY", key, 1);
	test_settings_env();
}

static void
test_bundle(void **state)
{
	struct tresp r;
	char etag[64], etag_gz[80], h[160];
	unsigned char gz[256];
	size_t n, len, gzlen;

	resp_set_production(0);
	test_cors_origin("https://site.example");
	make_assets("key-0123456789-0123456789");
	static_init();
	n = make_gzip(js, sizeof(js) - 1, gz);
	assert_true(static_bundle_loaded(&len, &gzlen));
	assert_int_equal(len, sizeof(js) - 1);
	assert_int_equal(gzlen, n);

	get("GET /widget/chat-widget.js", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, sizeof(js) - 1);
	assert_memory_equal(r.body, js, r.body_len);
	assert_string_equal(hdr(&r, "Content-Type"),
	    "application/javascript; charset=utf-8");
	assert_string_equal(hdr(&r, "Cache-Control"), "no-store");
	assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding");
	assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
	assert_string_equal(hdr(&r, "Cross-Origin-Resource-Policy"),
	    "cross-origin");
	assert_null(hdr(&r, "Content-Encoding"));
	strlcpy(etag, hdr(&r, "ETag"), sizeof(etag));
	assert_int_equal(strlen(etag), 34);
	assert_int_equal(etag[0], '"');
	tresp_free(&r);

	/* The other path: the same bytes, the same tag. */
	get("GET /api/widget/embed.js", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, js, sizeof(js) - 1);
	assert_string_equal(hdr(&r, "ETag"), etag);
	assert_string_equal(hdr(&r, "Cache-Control"), "no-store");
	tresp_free(&r);

	/* gzip: the .gz bytes, their own tag. */
	get("GET /widget/chat-widget.js", "Accept-Encoding: gzip, br\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, gz, n);
	snprintf(etag_gz, sizeof(etag_gz), "\"%.32s-gzip\"", etag + 1);
	assert_string_equal(hdr(&r, "ETag"), etag_gz);
	assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding");
	tresp_free(&r);
	get("GET /widget/chat-widget.js", "Accept-Encoding: gzip;q=0, *\r\n",
	    &r);
	assert_null(hdr(&r, "Content-Encoding"));
	assert_int_equal(r.body_len, sizeof(js) - 1);
	tresp_free(&r);
	/* Two Accept-Encoding lines make one list. */
	get("GET /widget/chat-widget.js",
	    "Accept-Encoding: deflate\r\nAccept-Encoding: gzip\r\n", &r);
	assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
	tresp_free(&r);

	/* 304 for either tag; the tag of what would be sent. */
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
	get("GET /widget/chat-widget.js", h, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(hdr(&r, "ETag"), etag);
	assert_string_equal(hdr(&r, "Cache-Control"), "no-store");
	assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding");
	tresp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s\r\nAccept-Encoding: gzip\r\n",
	    etag_gz);
	get("GET /widget/chat-widget.js", h, &r);
	assert_int_equal(r.status, 304);
	assert_string_equal(hdr(&r, "ETag"), etag_gz);
	tresp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s\r\nAccept-Encoding: gzip\r\n",
	    etag);
	assert_int_equal(status_of("GET /widget/chat-widget.js", h), 304);
	assert_int_equal(status_of("GET /widget/chat-widget.js",
	    "If-None-Match: \"nope\"\r\n"), 200);

	/* HEAD: the length of what GET sends, no body. */
	{
		struct tclient cl;
		const char *q = "HEAD /widget/chat-widget.js HTTP/1.1\r\n"
		    "Host: t\r\nAccept-Encoding: gzip\r\n\r\n"
		    "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

		assert_int_equal(tclient_open(&cl), 0);
		assert_int_equal(tclient_send(&cl, q, strlen(q)), 0);
		drive_ms(50);
		tclient_pump(&cl);
		assert_non_null(strstr(cl.buf, "HTTP/1.1 200 OK"));
		snprintf(h, sizeof(h), "Content-Length: %zu\r\n", n);
		assert_non_null(strstr(cl.buf, h));
		/* Right after the head comes the next answer. */
		assert_non_null(strstr(cl.buf, "\r\n\r\nHTTP/1.1 200 OK"));
		assert_non_null(strstr(cl.buf, "{\"status\":\"ok\"}"));
		tclient_close(&cl);
	}

	/* Any Origin gets the bundle; the rest still checks CORS_ORIGIN. */
	get("GET /widget/chat-widget.js", "Origin: https://elsewhere.example\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
	assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding");
	tresp_free(&r);
	get("GET /widget-test.html", "Origin: https://elsewhere.example\r\n",
	    &r);
	assert_int_equal(r.status, 403);
	tresp_free(&r);
	get("GET /widget-test.html", "Origin: https://site.example\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"),
	    "https://site.example");
	tresp_free(&r);
	get("POST /widget/chat-widget.js", "Content-Length: 0\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(hdr(&r, "Allow"), "GET, HEAD");
	tresp_free(&r);

	/* Production: cached 300 s at both addresses. */
	resp_set_production(1);
	get("GET /widget/chat-widget.js", NULL, &r);
	assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=300");
	tresp_free(&r);
	get("GET /api/widget/embed.js", NULL, &r);
	assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=300");
	tresp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
	get("GET /api/widget/embed.js", h, &r);
	assert_int_equal(r.status, 304);
	assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=300");
	tresp_free(&r);
	resp_set_production(0);
	unsetenv("PARLEY_ASSETS_DIR");
	unsetenv("WIDGET_BUNDLE_PATH");
	unsetenv("WIDGET_API_KEY");
	test_settings_env();
}

static void
test_pages(void **state)
{
	struct tresp r;

	resp_set_production(0);
	test_cors_origin("*");
	make_assets("k\"<&>'-0123456789-0123456789");
	static_init();

	get("GET /widget-test.html", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(hdr(&r, "Cache-Control"), "no-store");
	assert_non_null(strstr(hdr(&r, "Content-Security-Policy"),
	    "script-src 'self';"));
	assert_non_null(strstr(hdr(&r, "Content-Security-Policy"),
	    "frame-ancestors 'none'"));
	assert_string_equal(r.body, "<p data-k=\"k&quot;&lt;&amp;&gt;&#39;"
	    "-0123456789-0123456789\">w</p>\n");
	tresp_free(&r);
	get("GET /headless-test.html", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<input value=\"k&quot;&lt;&amp;&gt;&#39;"
	    "-0123456789-0123456789\">\n");
	tresp_free(&r);
	get("GET /test-pages/widget-test.js", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Type"),
	    "application/javascript; charset=utf-8");
	assert_string_equal(r.body, "1;\n");
	tresp_free(&r);
	get("GET /test-pages/test-pages.css", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Type"), "text/css; charset=utf-8");
	tresp_free(&r);
	/* Missing on disk, unknown, a page under the wrong path, traversal. */
	assert_int_equal(status_of("GET /test-pages/headless-test.js",
	    NULL), 404);
	assert_int_equal(status_of("GET /test-pages/nope.js", NULL), 404);
	assert_int_equal(status_of("GET /test-pages/widget-test.html",
	    NULL), 404);
	assert_int_equal(status_of("GET /widget-test.js", NULL), 404);
	assert_int_equal(status_of("GET /test-pages/..%2Fwidget-test.js",
	    NULL), 404);
	assert_int_equal(status_of("GET /test-pages/../pages/widget-test.js",
	    NULL), 404);

	/* Production: the pages are not there, the bundle is. */
	resp_set_production(1);
	get("GET /widget-test.html", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\":\"Not found\"}");
	tresp_free(&r);
	static_init();		/* a worker started in production */
	assert_int_equal(status_of("GET /headless-test.html", NULL), 404);
	assert_int_equal(status_of("GET /test-pages/widget-test.js",
	    NULL), 404);
	assert_int_equal(status_of("GET /widget/chat-widget.js", NULL), 200);
	resp_set_production(0);
	unsetenv("PARLEY_ASSETS_DIR");
	unsetenv("WIDGET_BUNDLE_PATH");
	unsetenv("WIDGET_API_KEY");
	test_settings_env();
}

static void
test_missing_then_built(void **state)
{
	struct tresp r;
	char p[PATH_MAX + 8], dir[PATH_MAX];
	unsigned char gz[256];
	size_t n;

	resp_set_production(0);
	test_cors_origin("*");
	snprintf(dir, sizeof(dir), "%s/later", tmpdir);
	mkdir_p(dir);
	snprintf(p, sizeof(p), "%s/later/b.js", tmpdir);
	setenv("WIDGET_BUNDLE_PATH", p, 1);
	test_settings_env();
	static_init();
	assert_false(static_bundle_loaded(NULL, NULL));
	get("GET /widget/chat-widget.js", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\":\"Widget bundle not found\"}");
	assert_string_equal(hdr(&r, "Content-Type"),
	    "application/json; charset=utf-8");
	assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
	tresp_free(&r);

	/* Built now, with a .gz of other bytes: found a second later, no gzip. */
	write_file(p, js, sizeof(js) - 1);
	n = make_gzip("something else", 14, gz);
	strlcat(p, ".gz", sizeof(p));
	write_file(p, gz, n);
	/* Looked a moment ago. */
	assert_int_equal(status_of("GET /api/widget/embed.js", NULL), 404);
	drive_ms(STATIC_RETRY_MS + 50);
	get("GET /api/widget/embed.js", "Accept-Encoding: gzip\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_null(hdr(&r, "Content-Encoding"));
	assert_int_equal(r.body_len, sizeof(js) - 1);
	assert_memory_equal(r.body, js, sizeof(js) - 1);
	tresp_free(&r);

	/* A directory is not a bundle. */
	setenv("WIDGET_BUNDLE_PATH", dir, 1);
	test_settings_env();
	static_init();
	assert_false(static_bundle_loaded(NULL, NULL));
	unsetenv("WIDGET_BUNDLE_PATH");
	test_settings_env();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_gzip_of),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_mod_name),
		cmocka_unit_test(test_find_assets),
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_missing_then_built),
	};

	log_init("test_static");
	return cmocka_run_group_tests(tests, setup, teardown);
}
