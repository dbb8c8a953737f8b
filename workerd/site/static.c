/*
 * Files served from memory: the widget bundle and the test pages.
 *
 *	GET /widget/chat-widget.js	the bundle (production: max-age=300)
 *	GET /api/widget/embed.js	the same bytes (production: max-age=3600)
 *	GET /widget/parts/:file		the widget's parts, ES modules the bundle
 *	GET /widget/lang/:file		imports when it needs one (max-age=300)
 *	GET /widget-test.html		the widget embedded, set up for this server
 *	GET /headless-test.html		a form for /v1/chat and /v1/chat/stream
 *	GET /test-pages/:file		the pages' scripts and style sheet
 *	GET /				production: 302 to /dashboard/; else a
 *					page of links (index.html)
 *
 * Everything is read once, when the worker starts (a reload starts new
 * workers, so SIGHUP picks up a rebuilt bundle). The bundle comes from
 * WIDGET_BUNDLE_PATH, else <assets>/widget/dist/chat-widget.js; the gzip
 * copy the build writes beside it (<bundle>.gz) is used only when its
 * trailer (CRC-32 and size) says it holds exactly those bytes, so a stale
 * .gz is never served. There is no compressor here: without a matching
 * .gz the bundle goes out as it is. The parts and language files are the
 * files <name>.js (name: 1-32 of a-z 0-9 -) of the directories parts/ and
 * lang/ beside the bundle, at most STATIC_MODS_MAX of each, read with the
 * bundle (and with their .gz the same way); a request names one of those
 * or gets 404, so no path reaches the file system.
 *
 * The bundle answers with a strong ETag per encoding ("<hash>" and
 * "<hash>-gzip"; If-None-Match with either gives 304), Vary:
 * Accept-Encoding, Cross-Origin-Resource-Policy: cross-origin and
 * Access-Control-Allow-Origin: *: it is public, and any site may load it,
 * with or without a crossorigin attribute (the router does not apply the
 * CORS_ORIGIN check to it; the API it calls is what CORS_ORIGIN guards).
 *
 * The test pages exist outside production only (404 in production). They
 * are sent with a strict Content-Security-Policy and have no inline
 * script: the widget key is rendered, HTML-escaped, into an attribute.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zlib.h>

#include "log.h"
#include "sha256.h"
#include "static.h"
#include "workerd.h"

#define JS_TYPE		"application/javascript; charset=utf-8"
#define MOD_TYPE	"text/javascript; charset=utf-8"
#define MOD_NAME_MAX	32	/* a part's or language's name, ".js" left out */
#define HTML_TYPE	"text/html; charset=utf-8"
#define CSS_TYPE	"text/css; charset=utf-8"
#define KEY_MARK	"{{WIDGET_API_KEY}}"

/* What every answer of the bundle carries, 404 included. */
#define PUBLIC_HDRS \
	"Access-Control-Allow-Origin: *\r\n" \
	"Cross-Origin-Resource-Policy: cross-origin\r\n"

/* The test pages: their own scripts and style, calls to this origin only. */
#define PAGE_CSP \
	"Content-Security-Policy: default-src 'self'; script-src 'self'; " \
	"style-src 'self'; connect-src 'self'; img-src 'self' data:; " \
	"object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'\r\n"
#define PAGE_HDRS	"Cache-Control: no-store\r\n" PAGE_CSP

/* A file served from memory, with its gzip copy and their ETags. */
struct sfile {
	char *data;
	size_t len;
	char *gz;		/* NULL: no matching .gz */
	size_t gzlen;
	char etag[STATIC_ETAG_LEN + 1];
	char etag_gz[STATIC_ETAG_LEN + 5 + 1];
};

static struct {
	char path[PATH_MAX];
	struct sfile f;
	uint64_t tried;		/* loop_now() of the last attempt */
} bundle;

/* The widget's ES modules: dist/parts/<name>.js and dist/lang/<code>.js. */
struct smod {
	char name[MOD_NAME_MAX + 4];	/* "<name>.js" */
	struct sfile f;
};

static struct moddir {
	const char *dir;	/* beside the bundle, and in the URL */
	struct smod mods[STATIC_MODS_MAX];
	size_t n;
} moddirs[] = { { .dir = "parts" }, { .dir = "lang" } };
#define NMODDIRS	(sizeof(moddirs) / sizeof(moddirs[0]))

static struct page {
	const char *name;	/* in <assets>/widget/pages/, and as served */
	const char *ctype;
	int render;		/* WIDGET_API_KEY rendered in */
	int top;		/* served at /<name>, else at /test-pages/<name> */
	char *data;
	size_t len;
} pages[] = {
	{ "widget-test.html", HTML_TYPE, 1, 1, NULL, 0 },
	{ "headless-test.html", HTML_TYPE, 1, 1, NULL, 0 },
	{ "widget-test.js", JS_TYPE, 0, 0, NULL, 0 },
	{ "headless-test.js", JS_TYPE, 0, 0, NULL, 0 },
	{ "test-pages.css", CSS_TYPE, 0, 0, NULL, 0 },
	{ "embed-test.html", HTML_TYPE, 0, 0, NULL, 0 },
	{ "embed-test.js", JS_TYPE, 0, 0, NULL, 0 },
	{ "index.html", HTML_TYPE, 0, 1, NULL, 0 },	/* at / (static_root_get) */
};
#define NPAGES	(sizeof(pages) / sizeof(pages[0]))

/* ------------------------------------------------------------ helpers */

/*
 * zlib's: 0.07 ms for the dashboard's 300 KB script, where a byte-at-a-time
 * table took 0.67 (a served .gz is proved current at each request).
 */
uint32_t
static_crc32(uint32_t crc, const void *data, size_t len)
{
	return (uint32_t)crc32_z(crc, data, len);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * RFC 1952: ID1 ID2 CM=8 ... deflate data ... CRC32 ISIZE. The trailer
 * of the last (here: only) member names the uncompressed bytes.
 */
int
static_gzip_of(const void *gz, size_t gzlen, const void *data, size_t len)
{
	const unsigned char *g = gz;

	if (gz == NULL || gzlen < 18 || g[0] != 0x1f || g[1] != 0x8b ||
	    g[2] != 8)
		return 0;
	if (le32(g + gzlen - 4) != (uint32_t)len)
		return 0;
	return le32(g + gzlen - 8) == static_crc32(0, data, len);
}

static int
is_ows(int ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * A qvalue (RFC 9110 12.4.2) in thousandths: "0", "0.5", "1.000".
 * -1 when malformed.
 */
static int
qvalue(const char *s, size_t n)
{
	size_t i;
	int v, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (n == 1)
		return v;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v += (s[i] - '0') * scale;
		scale /= 10;
	}
	return v > 1000 ? -1 : v;
}

/*
 * Accept-Encoding: a comma list of codings, each with optional
 * parameters, of which "q" weighs it. gzip (or x-gzip) listed with q > 0
 * allows it; listed with q=0 forbids it, whatever "*" says; not listed,
 * "*" with q > 0 allows it. A malformed q counts as 0.
 */
int
static_accepts_gzip(const char *ae)
{
	const char *p = ae, *tok, *pn, *pv;
	size_t toklen, pnlen, pvlen;
	int q, gzip_q = -1, star_q = -1;

	if (ae == NULL)
		return 0;
	while (*p != '\0') {
		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		tok = p;
		while (*p != '\0' && *p != ',' && *p != ';' && !is_ows(*p))
			p++;
		toklen = (size_t)(p - tok);
		q = 1000;
		for (;;) {
			while (is_ows(*p))
				p++;
			if (*p != ';')
				break;
			p++;
			while (is_ows(*p))
				p++;
			pn = p;
			while (*p != '\0' && *p != '=' && *p != ',' &&
			    *p != ';' && !is_ows(*p))
				p++;
			pnlen = (size_t)(p - pn);
			while (is_ows(*p))
				p++;
			pv = p;
			pvlen = 0;
			if (*p == '=') {
				p++;
				while (is_ows(*p))
					p++;
				pv = p;
				while (*p != '\0' && *p != ',' && *p != ';' &&
				    !is_ows(*p))
					p++;
				pvlen = (size_t)(p - pv);
			}
			if (pnlen == 1 && (pn[0] == 'q' || pn[0] == 'Q')) {
				q = qvalue(pv, pvlen);
				if (q < 0)
					q = 0;
			}
		}
		/* Anything else up to the next comma is not ours to read. */
		while (*p != '\0' && *p != ',')
			p++;
		if ((toklen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
		    (toklen == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
			if (q > gzip_q)
				gzip_q = q;
		} else if (toklen == 1 && tok[0] == '*') {
			if (q > star_q)
				star_q = q;
		}
	}
	if (gzip_q >= 0)
		return gzip_q > 0;
	return star_q > 0;
}

/* Every Accept-Encoding line of the request, as one list. */
int
static_request_accepts_gzip(const struct http_request *req)
{
	struct buf b;
	int i, n = 0, yes;

	buf_init(&b);
	for (i = 0; i < req->nheaders; i++) {
		if (strcmp(req->headers[i].name, "accept-encoding") != 0)
			continue;
		if (n++ > 0)
			buf_adds(&b, ",");
		buf_adds(&b, req->headers[i].value);
	}
	if (n == 0) {
		buf_free(&b);
		return 0;
	}
	buf_add(&b, "", 1);
	yes = !b.err && static_accepts_gzip(b.data);
	buf_free(&b);
	return yes;
}

/* If-None-Match: "*" or a list of entity tags, compared weakly. */
int
static_etag_match(const char *inm, const char *etag)
{
	const char *p = inm, *e;
	size_t n;

	if (inm == NULL || etag == NULL || etag[0] == '\0')
		return 0;
	n = strlen(etag);
	while (*p != '\0') {
		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0) {
			e = p + n;
			while (is_ows(*e))
				e++;
			if (*e == '\0' || *e == ',')
				return 1;
		}
		/* Skip this tag: quoted, so a comma inside does not split it. */
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"')
				p++;
			if (*p == '"')
				p++;
		}
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

char *
static_render(const char *tpl, size_t tpllen, const char *key,
    size_t *outlen)
{
	const size_t marklen = sizeof(KEY_MARK) - 1;
	const char *p = tpl, *end = tpl + tpllen, *hit, *k;
	struct buf b;
	char *out;

	buf_init(&b);
	if (key == NULL)
		key = "";
	while (p < end) {
		hit = memmem(p, (size_t)(end - p), KEY_MARK, marklen);
		if (hit == NULL) {
			buf_add(&b, p, (size_t)(end - p));
			break;
		}
		buf_add(&b, p, (size_t)(hit - p));
		for (k = key; *k != '\0'; k++) {
			switch (*k) {
			case '&':
				buf_adds(&b, "&amp;");
				break;
			case '<':
				buf_adds(&b, "&lt;");
				break;
			case '>':
				buf_adds(&b, "&gt;");
				break;
			case '"':
				buf_adds(&b, "&quot;");
				break;
			case '\'':
				buf_adds(&b, "&#39;");
				break;
			default:
				buf_add(&b, k, 1);
			}
		}
		p = hit + marklen;
	}
	buf_add(&b, "", 1);
	if (b.err || b.data == NULL) {
		buf_free(&b);
		return NULL;
	}
	if (outlen != NULL)
		*outlen = b.len - 1;
	out = b.data;	/* the buffer is ours to hand over */
	return out;
}

/*
 * Reads a regular file of at most max bytes; *stp (when not NULL) gets
 * what fstat said of the file read. 0, or -1 with errno set.
 */
static int
read_file(const char *path, size_t max, char **data, size_t *len,
    struct stat *stp)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *p;
	int fd, saved;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		n = read(fd, p + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* the file shrank meanwhile */
			saved = errno;
			free(p);
			errno = saved;
			goto fail;
		}
		off += (size_t)n;
	}
	p[off] = '\0';
	close(fd);
	*data = p;
	*len = off;
	if (stp != NULL)
		*stp = st;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
static_read_file(const char *path, size_t max, char **data, size_t *len,
    struct stat *st)
{
	return read_file(path, max, data, len, st);
}

/* ------------------------------------------------------------ where */

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
static_find_assets(const char *dir, char *out, size_t outsz)
{
	char d[PATH_MAX], probe[PATH_MAX + 32], *slash;
	int level;

	if (strlcpy(d, dir, sizeof(d)) >= sizeof(d))
		return -1;
	for (level = 0; level < 5; level++) {
		if ((size_t)snprintf(probe, sizeof(probe), "%s/widget",
		    strcmp(d, "/") == 0 ? "" : d) < sizeof(probe) &&
		    is_dir(probe)) {
			if (strlcpy(out, d, outsz) >= outsz)
				return -1;
			return 0;
		}
		/* make install: <prefix>/sbin beside <prefix>/share/parley. */
		if ((size_t)snprintf(probe, sizeof(probe),
		    "%s/share/parley/widget", strcmp(d, "/") == 0 ? "" : d) <
		    sizeof(probe) && is_dir(probe)) {
			probe[strlen(probe) - strlen("/widget")] = '\0';
			if (strlcpy(out, probe, outsz) >= outsz)
				return -1;
			return 0;
		}
		if (strcmp(d, "/") == 0)
			break;
		/* Up one: drop the last component. */
		while (strlen(d) > 1 && d[strlen(d) - 1] == '/')
			d[strlen(d) - 1] = '\0';
		if ((slash = strrchr(d, '/')) == NULL)
			break;
		if (slash == d)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return -1;
}

void
static_assets_dir(char *out, size_t outsz)
{
	char exe[PATH_MAX], *slash;
	const char *env = wsettings.assets_dir;
	ssize_t n;

	if (env != NULL && *env != '\0') {
		strlcpy(out, env, outsz);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			if (slash == exe)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (static_find_assets(exe, out, outsz) == 0)
				return;
		}
	}
	strlcpy(out, ".", outsz);
}

/* ------------------------------------------------------------ loading */

static void
sfile_free(struct sfile *f)
{
	free(f->data);
	free(f->gz);
	memset(f, 0, sizeof(*f));
}

void
static_etag_of(char etag[STATIC_ETAG_LEN + 1], const void *data, size_t len)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t i;

	proto_sha256(data, len, d);
	etag[0] = '"';
	for (i = 0; i < 16; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", d[i]);
	etag[STATIC_ETAG_LEN - 1] = '"';
	etag[STATIC_ETAG_LEN] = '\0';
}

/*
 * Reads path (at most max bytes) into f, its ETags, and path.gz when that
 * holds exactly those bytes. 0, or -1 with errno set (f left empty).
 */
static int
sfile_load(struct sfile *f, const char *path, size_t max)
{
	char gzpath[PATH_MAX + 4];
	char *gz;
	size_t gzlen;

	sfile_free(f);
	if (read_file(path, max, &f->data, &f->len, NULL) < 0)
		return -1;
	static_etag_of(f->etag, f->data, f->len);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%.32s-gzip\"",
	    f->etag + 1);

	if ((size_t)snprintf(gzpath, sizeof(gzpath), "%s.gz", path) >=
	    sizeof(gzpath))
		return 0;
	if (read_file(gzpath, max, &gz, &gzlen, NULL) == 0) {
		if (static_gzip_of(gz, gzlen, f->data, f->len)) {
			f->gz = gz;
			f->gzlen = gzlen;
		} else {
			log_warnx("%s does not hold the bytes of %s: it is "
			    "sent without gzip", gzpath, path);
			free(gz);
		}
	} else if (errno != ENOENT)
		log_warn("%s", gzpath);
	return 0;
}

/* Whether name is "<1-32 of a-z 0-9 ->.js", a module's name. */
int
static_mod_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n < 4 || n > MOD_NAME_MAX + 3 || strcmp(name + n - 3, ".js") != 0)
		return 0;
	for (i = 0; i < n - 3; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

static void
mods_free(void)
{
	size_t d, i;

	for (d = 0; d < NMODDIRS; d++) {
		for (i = 0; i < moddirs[d].n; i++)
			sfile_free(&moddirs[d].mods[i].f);
		moddirs[d].n = 0;
	}
}

/* Reads <dist>/<dir>/<name>.js of each module directory; a missing one is quiet. */
static void
mods_load(const char *dist)
{
	char path[PATH_MAX + 64], file[PATH_MAX + 128];
	struct moddir *md;
	struct dirent *de;
	DIR *dp;
	size_t d;

	mods_free();
	for (d = 0; d < NMODDIRS; d++) {
		md = &moddirs[d];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dist,
		    md->dir) >= sizeof(path) || (dp = opendir(path)) == NULL)
			continue;
		while ((de = readdir(dp)) != NULL) {
			if (!static_mod_name_ok(de->d_name))
				continue;
			if (md->n == STATIC_MODS_MAX) {
				log_warnx("%s: more than %d files, %s and "
				    "the rest left out", path, STATIC_MODS_MAX,
				    de->d_name);
				break;
			}
			if ((size_t)snprintf(file, sizeof(file), "%s/%s", path,
			    de->d_name) >= sizeof(file))
				continue;
			if (sfile_load(&md->mods[md->n].f, file,
			    STATIC_BUNDLE_MAX) < 0) {
				log_warn("%s", file);
				continue;
			}
			strlcpy(md->mods[md->n].name, de->d_name,
			    sizeof(md->mods[md->n].name));
			md->n++;
		}
		closedir(dp);
	}
}

/* quiet: a retry, which logs only when it finds the bundle. */
static void
bundle_load(int quiet)
{
	char dist[PATH_MAX], *slash;

	bundle.tried = loop_now();
	if (sfile_load(&bundle.f, bundle.path, STATIC_BUNDLE_MAX) < 0) {
		if (!quiet)
			log_warn("widget bundle %s: /widget/chat-widget.js "
			    "answers 404 until it is there (make builds it)",
			    bundle.path);
		mods_free();
		return;
	}
	/* The parts and languages: beside the bundle. */
	strlcpy(dist, bundle.path, sizeof(dist));
	if ((slash = strrchr(dist, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(dist, ".", sizeof(dist));
	mods_load(dist);
	if (quiet)
		log_info("widget bundle %s found (%zu bytes, gzip %zu)",
		    bundle.path, bundle.f.len, bundle.f.gzlen);
	else
		log_debug("widget bundle %s: %zu bytes, gzip %zu; %zu parts, "
		    "%zu languages", bundle.path, bundle.f.len,
		    bundle.f.gzlen, moddirs[0].n, moddirs[1].n);
}

static void
pages_free(void)
{
	size_t i;

	for (i = 0; i < NPAGES; i++) {
		free(pages[i].data);
		pages[i].data = NULL;
		pages[i].len = 0;
	}
}

static void
pages_load(const char *assets)
{
	char path[PATH_MAX + 64];
	const char *key = wsettings.widget_key;
	char *raw, *out;
	size_t i, len, outlen;

	for (i = 0; i < NPAGES; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/widget/pages/%s",
		    assets, pages[i].name) >= sizeof(path) ||
		    read_file(path, STATIC_PAGE_MAX, &raw, &len, NULL) < 0) {
			log_warn("test page %s", path);
			continue;
		}
		if (!pages[i].render) {
			pages[i].data = raw;
			pages[i].len = len;
			continue;
		}
		out = static_render(raw, len, key, &outlen);
		free(raw);
		if (out == NULL) {
			log_warnx("test page %s: out of memory", path);
			continue;
		}
		pages[i].data = out;
		pages[i].len = outlen;
	}
}

void
static_init(void)
{
	char assets[PATH_MAX];
	const char *env = wsettings.bundle_path;

	static_shutdown();
	static_assets_dir(assets, sizeof(assets));
	if (env != NULL && *env != '\0') {
		if (strlcpy(bundle.path, env, sizeof(bundle.path)) >=
		    sizeof(bundle.path))
			fatalx("WIDGET_BUNDLE_PATH is too long");
	} else if (strlcpy(bundle.path, assets, sizeof(bundle.path)) >=
	    sizeof(bundle.path) || strlcat(bundle.path,
	    "/widget/dist/chat-widget.js", sizeof(bundle.path)) >=
	    sizeof(bundle.path))
		fatalx("the assets directory's path is too long");
	bundle_load(0);
	if (!resp_production())
		pages_load(assets);
}

void
static_shutdown(void)
{
	sfile_free(&bundle.f);
	mods_free();
	bundle.tried = 0;
	pages_free();
}

int
static_bundle_loaded(size_t *len, size_t *gzlen)
{
	if (len != NULL)
		*len = bundle.f.len;
	if (gzlen != NULL)
		*gzlen = bundle.f.gzlen;
	return bundle.f.data != NULL;
}

/* ------------------------------------------------------------ answers */

/*
 * f as GET/HEAD answers it, with Cache-Control cc: gzip when accepted,
 * 304 for a matching If-None-Match (either ETag), any Origin.
 */
static void
sfile_send(struct conn *c, struct http_request *req, const struct sfile *f,
    const char *ctype, const char *cc)
{
	char hdr[512];
	const char *inm;
	int gz;

	gz = f->gz != NULL && static_request_accepts_gzip(req);
	inm = http_header(req, "if-none-match");
	if (inm != NULL && (static_etag_match(inm, f->etag) ||
	    (f->gz != NULL && static_etag_match(inm, f->etag_gz)))) {
		snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: %s\r\n"
		    "Vary: Accept-Encoding\r\n" PUBLIC_HDRS,
		    gz ? f->etag_gz : f->etag, cc);
		conn_send(c, 304, hdr, NULL, NULL, 0);
		return;
	}
	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: %s\r\n"
	    "Vary: Accept-Encoding\r\n%s" PUBLIC_HDRS,
	    gz ? f->etag_gz : f->etag, cc,
	    gz ? "Content-Encoding: gzip\r\n" : "");
	if (gz)
		conn_send(c, 200, hdr, ctype, f->gz, f->gzlen);
	else
		conn_send(c, 200, hdr, ctype, f->data, f->len);
}

/* Not there at start (not built yet): look again, not too often. */
static void
bundle_retry(void)
{
	if (bundle.f.data == NULL && bundle.path[0] != '\0' &&
	    (bundle.tried == 0 || loop_now() - bundle.tried >= STATIC_RETRY_MS))
		bundle_load(1);
}

void
static_bundle_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	(void)m;
	bundle_retry();
	if (bundle.f.data == NULL) {
		conn_send_error(c, 404, "Cache-Control: no-store\r\n"
		    PUBLIC_HDRS, "Widget bundle not found");
		return;
	}
	/*
	 * As long as its parts: a core cached longer would import the
	 * parts of a newer build, made for a newer core, after an upgrade.
	 */
	sfile_send(c, req, &bundle.f, JS_TYPE, resp_production() ?
	    "public, max-age=300" : "no-store");
}

void
static_mod_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const struct moddir *md = NULL;
	const char *name = m->nparams > 0 ? m->param[0] : "";
	size_t d, i;

	bundle_retry();
	/* The route's pattern names the directory: /widget/<dir>/:file. */
	for (d = 0; d < NMODDIRS; d++)
		if (strncmp(m->route->pattern + strlen("/widget/"),
		    moddirs[d].dir, strlen(moddirs[d].dir)) == 0)
			md = &moddirs[d];
	for (i = 0; md != NULL && i < md->n; i++) {
		if (strcmp(md->mods[i].name, name) != 0)
			continue;
		sfile_send(c, req, &md->mods[i].f, MOD_TYPE,
		    resp_production() ? "public, max-age=300" : "no-store");
		return;
	}
	conn_send_error(c, 404, "Cache-Control: no-store\r\n" PUBLIC_HDRS,
	    "Not found");
}

static void
page_send(struct conn *c, const char *name, int top)
{
	size_t i;

	if (!resp_production()) {
		for (i = 0; i < NPAGES; i++) {
			if (pages[i].top != top ||
			    strcmp(pages[i].name, name) != 0)
				continue;
			if (pages[i].data == NULL)
				break;
			conn_send(c, 200, PAGE_HDRS, pages[i].ctype,
			    pages[i].data, pages[i].len);
			return;
		}
	}
	conn_send_error(c, 404, NULL, "Not found");
}

void
static_page_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	/* The route's own pattern: "/widget-test.html" -> the page's name. */
	page_send(c, m->route->pattern + 1, 1);
}

void
static_root_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (resp_production()) {
		conn_send(c, 302, "Location: /dashboard/\r\n"
		    "Cache-Control: no-cache\r\n", "", NULL, 0);
		return;
	}
	page_send(c, "index.html", 1);
}

void
static_asset_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	page_send(c, m->nparams > 0 ? m->param[0] : "", 0);
}
