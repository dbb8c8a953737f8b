/*
 * The dashboard's pages (docs/dashboard.md, "Pages"):
 *
 *	GET /login			302 to /dashboard/login
 *	GET /dashboard			301 to /dashboard/
 *	GET /dashboard/			<assets>/dashboard/index.html
 *	GET /dashboard/login		<assets>/dashboard/login.html
 *	GET /dashboard/invite		<assets>/dashboard/invite.html
 *	GET /dashboard/assets/:file	<assets>/dashboard/assets/<file>
 *
 * Served in production too: the pages hold no data (that comes from the
 * admin API, behind a session). Files are read when asked for, not at
 * start, so a rebuilt dashboard shows without a reload; they are small
 * and in the page cache. Only plain names are served from assets/
 * ([A-Za-z0-9._-], no leading dot, no ".."), with a type known by their
 * extension; anything else is 404. Every answer carries the dashboard's
 * Content-Security-Policy (no inline script or style anywhere) and
 * Cache-Control: no-cache, and a file its ETag (its modification time and
 * size, as nginx makes one): a browser asks again at each load and a
 * matching If-None-Match gets 304 from a stat, the file not read (the
 * page's script is some 300 KB). A file with a <name>.gz beside it
 * (dashboard/build.mjs writes one for each script) goes gzipped to a
 * browser that accepts it, when the .gz's trailer says it holds exactly
 * the file's bytes; the .gz itself is not served by its name (no type).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "site.h"
#include "static.h"
#include "workerd.h"

#define DASH_CSP \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"font-src 'self'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'\r\n"
#define DASH_HDRS	"Cache-Control: no-cache\r\n" DASH_CSP

static char dashdir[PATH_MAX];	/* <assets>/dashboard */

void
dashpages_init(void)
{
	char assets[PATH_MAX];

	static_assets_dir(assets, sizeof(assets));
	if ((size_t)snprintf(dashdir, sizeof(dashdir), "%s/dashboard",
	    assets) >= sizeof(dashdir))
		fatalx("the assets directory's path is too long");
}

int
dashpages_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || name[0] == '\0' || name[0] == '.' ||
	    strlen(name) > NAME_MAX || strstr(name, "..") != NULL)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	return 1;
}

const char *
dashpages_ctype(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "application/javascript; charset=utf-8" },
		{ ".mjs", "application/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json; charset=utf-8" },
		{ ".map", "application/json; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".webp", "image/webp" },
		{ ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" },
		{ ".woff", "font/woff" },
	};
	const char *dot;
	size_t i;

	if (name == NULL || (dot = strrchr(name, '.')) == NULL)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/*
 * A file's ETag, quotes included: its modification time and size, and
 * "-gzip" for its .gz (gz).
 */
static void
file_etag(char *tag, size_t size, const struct stat *st, int gz)
{
	snprintf(tag, size, "\"%jx.%lx-%jx%s\"", (uintmax_t)st->st_mtim.tv_sec,
	    (unsigned long)st->st_mtim.tv_nsec, (uintmax_t)st->st_size,
	    gz ? "-gzip" : "");
}

/*
 * <path>.gz when req accepts gzip and it holds exactly data[0..len) (its
 * gzip trailer's CRC-32 and size): malloc'd, its length in *gzlen; else
 * NULL, and data is sent as it is (a stale .gz never is).
 */
static char *
file_gz(struct http_request *req, const char *path, const char *data,
    size_t len, size_t *gzlen)
{
	char gzpath[PATH_MAX + NAME_MAX + 20], *gz;

	if (!static_request_accepts_gzip(req) ||
	    (size_t)snprintf(gzpath, sizeof(gzpath), "%s.gz", path) >=
	    sizeof(gzpath) ||
	    static_read_file(gzpath, DASH_FILE_MAX, &gz, gzlen, NULL) < 0)
		return NULL;
	if (static_gzip_of(gz, *gzlen, data, len))
		return gz;
	free(gz);
	return NULL;
}

/*
 * Sends <dashdir>/<rel> (gzipped when its .gz is current and req accepts
 * it; 304 when req already has it), or 404.
 */
static void
file_send(struct conn *c, struct http_request *req, const char *rel,
    const char *ctype)
{
	char path[PATH_MAX + NAME_MAX + 16], tag[64], tgz[64];
	char hdr[sizeof(DASH_HDRS) + sizeof(tag) + 64];
	const char *inm = http_header(req, "if-none-match"), *hit;
	struct stat st;
	char *data, *gz;
	size_t len, gzlen;

	if (dashdir[0] == '\0')
		dashpages_init();
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dashdir, rel) >=
	    sizeof(path)) {
		conn_send_error(c, 404, DASH_HDRS, "Not found");
		return;
	}
	/* Either encoding's tag: the browser has this version of the file
	 * (the 304 names the tag it sent). */
	if (inm != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		file_etag(tag, sizeof(tag), &st, 0);
		file_etag(tgz, sizeof(tgz), &st, 1);
		hit = static_etag_match(inm, tag) ? tag :
		    static_etag_match(inm, tgz) ? tgz : NULL;
		if (hit != NULL) {
			snprintf(hdr, sizeof(hdr), "ETag: %s\r\n"
			    "Vary: Accept-Encoding\r\n" DASH_HDRS, hit);
			conn_send(c, 304, hdr, NULL, NULL, 0);
			return;
		}
	}
	if (static_read_file(path, DASH_FILE_MAX, &data, &len, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("dashboard %s", path);
		conn_send_error(c, 404, DASH_HDRS, "Not found");
		return;
	}
	gz = file_gz(req, path, data, len, &gzlen);
	file_etag(tag, sizeof(tag), &st, gz != NULL);
	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nVary: Accept-Encoding\r\n%s"
	    DASH_HDRS, tag, gz != NULL ? "Content-Encoding: gzip\r\n" : "");
	if (gz != NULL)
		conn_send(c, 200, hdr, ctype, gz, gzlen);
	else
		conn_send(c, 200, hdr, ctype, data, len);
	free(gz);
	free(data);
}

/* A redirect to target, keeping the query. */
static void
redirect(struct conn *c, struct http_request *req, int status,
    const char *target)
{
	char hdr[HTTP_MAX_URL + 64];

	if (req->query != NULL && req->query[0] != '\0')
		snprintf(hdr, sizeof(hdr), "Location: %s?%s\r\n"
		    "Cache-Control: no-cache\r\n", target, req->query);
	else
		snprintf(hdr, sizeof(hdr), "Location: %s\r\n"
		    "Cache-Control: no-cache\r\n", target);
	conn_send(c, status, hdr, "", NULL, 0);
}

void
dashpages_login_redirect(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	redirect(c, req, 302, "/dashboard/login");
}

/*
 * The router ignores one trailing slash, so "/dashboard" and
 * "/dashboard/" both come here: only the latter is the page, so that
 * its relative links resolve under /dashboard/.
 */
void
dashpages_index_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	size_t n = strlen(req->path);

	if (n == 0 || req->path[n - 1] != '/') {
		redirect(c, req, 301, "/dashboard/");
		return;
	}
	file_send(c, req, "index.html", "text/html; charset=utf-8");
}

void
dashpages_login_page_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	file_send(c, req, "login.html", "text/html; charset=utf-8");
}

void
dashpages_invite_page_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	file_send(c, req, "invite.html", "text/html; charset=utf-8");
}

void
dashpages_asset_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char rel[NAME_MAX + 16];
	const char *name = m->nparams > 0 ? m->param[0] : "", *ctype;

	if (!dashpages_name_ok(name) ||
	    (ctype = dashpages_ctype(name)) == NULL) {
		conn_send_error(c, 404, DASH_HDRS, "Not found");
		return;
	}
	snprintf(rel, sizeof(rel), "assets/%s", name);
	file_send(c, req, rel, ctype);
}
