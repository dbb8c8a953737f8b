/*
 * Files a worker serves from memory (static.c): the widget bundle and the
 * test pages. Kept out of workerd.h so that the module stands alone; the
 * router and main.c include it.
 */
#ifndef PARLEY_STATIC_H
#define PARLEY_STATIC_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

struct conn;
struct http_request;
struct route_match;

#define STATIC_BUNDLE_MAX	(8 * 1024 * 1024)	/* largest bundle read */
#define STATIC_PAGE_MAX		(1024 * 1024)		/* largest test-page file */
#define STATIC_RETRY_MS		1000	/* a missing bundle is looked for again */
#define STATIC_MODS_MAX		64	/* parts (and languages) served, each */

/*
 * Reads the bundle (WIDGET_BUNDLE_PATH, else <assets>/widget/dist/
 * chat-widget.js, and its .gz sibling when it holds the same bytes), the
 * parts/ and lang/ directories beside it (their <name>.js and .gz) and,
 * outside production, the test pages from <assets>/widget/pages/, with
 * WIDGET_API_KEY rendered into them. Called once when a worker starts; a
 * missing file is logged, never fatal. Calling it again reloads.
 */
void static_init(void);
void static_shutdown(void);

/*
 * The assets directory: PARLEY_ASSETS_DIR when set, else the nearest of
 * the executable's directory and its ancestors (up to 4 levels up) that
 * has a "widget" subdirectory, else ".". Written into out (NUL-ended).
 */
void static_assets_dir(char *out, size_t outsz);
/* The same search, starting from dir (tests). 0 found, -1 not. */
int static_find_assets(const char *dir, char *out, size_t outsz);

/* Whether an Accept-Encoding value lets us send gzip (q-values read). */
int static_accepts_gzip(const char *accept_encoding);
/* The same of every Accept-Encoding line of req, as one list. */
int static_request_accepts_gzip(const struct http_request *req);
/* Whether an If-None-Match value matches etag (weak comparison, "*"). */
int static_etag_match(const char *if_none_match, const char *etag);
/* The strong ETag of content (32 hex of its SHA-256, quoted). */
#define STATIC_ETAG_LEN	(2 + 32)
void static_etag_of(char etag[STATIC_ETAG_LEN + 1], const void *data,
    size_t len);
/* CRC-32 (IEEE 802.3, as gzip uses), continued from crc (start with 0). */
uint32_t static_crc32(uint32_t crc, const void *data, size_t len);
/* 1 when gz is a one-member gzip file of exactly data[0..len). */
int static_gzip_of(const void *gz, size_t gzlen, const void *data,
    size_t len);
/*
 * Copies tpl with every "{{WIDGET_API_KEY}}" replaced by key, HTML-escaped
 * (& < > " ' become entities). malloc'd, NUL-ended; NULL on failure.
 */
char *static_render(const char *tpl, size_t tpllen, const char *key,
    size_t *outlen);

/*
 * Reads a regular file of at most max bytes into *data (malloc'd,
 * NUL-ended, *len bytes); *st (when not NULL) gets what fstat said of the
 * file read. 0, or -1 with errno set (EFBIG: too large).
 */
int static_read_file(const char *path, size_t max, char **data,
    size_t *len, struct stat *st);

/* Whether the bundle is loaded, its size and gzip size (0 when none). */
int static_bundle_loaded(size_t *len, size_t *gzlen);

/* Whether name is "<1-32 of a-z 0-9 ->.js": a part's or language's file. */
int static_mod_name_ok(const char *name);

/*
 * GET/HEAD /widget/chat-widget.js and /api/widget/embed.js. These answer
 * any Origin (the router exempts them from the CORS_ORIGIN check).
 */
void static_bundle_get(struct conn *, struct http_request *,
    const struct route_match *);
/*
 * GET/HEAD /widget/parts/:file and /widget/lang/:file: one of the files
 * read beside the bundle, else 404; any Origin, as the bundle.
 */
void static_mod_get(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /widget-test.html, /headless-test.html: 404 in production. */
void static_page_get(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /test-pages/:file, the pages' scripts and style: 404 in production. */
void static_asset_get(struct conn *, struct http_request *,
    const struct route_match *);
/* GET /: 302 to /dashboard/ in production, else a page of links. */
void static_root_get(struct conn *, struct http_request *,
    const struct route_match *);

#endif
