/*
 * Sitemaps (sitemap.h) through libxml2's push parser with SAX2 callbacks
 * of our own: no tree is built (a 50 MB file is read in one pass, only
 * the entries kept), the parser's options are NONET without NOENT,
 * DTDLOAD or HUGE, and the internal-subset callback stops the parse at a
 * DOCTYPE, before any entity is declared. Errors go to a handler that
 * drops them. A gzip file (a sitemap.xml.gz) is unzipped first by zlib,
 * to at most SITEMAP_BYTES_MAX.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ZLIB_CONST
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <zlib.h>

#include "html.h"		/* fetch_markup_check */
#include "sitemap.h"

#define SITEMAP_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			 XML_PARSE_NOWARNING)
#define LASTMOD_MAX	64	/* bytes of a <lastmod> read */

enum stop {
	STOP_NONE,
	STOP_FULL,		/* SITEMAP_URLS_MAX reached */
	STOP_DOCTYPE,
	STOP_ROOT,		/* not a urlset or sitemapindex */
	STOP_MEMORY,
};

enum field { F_NONE, F_LOC, F_LASTMOD };

struct reader {
	struct sitemap *sm;
	xmlParserCtxtPtr ctxt;
	size_t cap;		/* of sm->urls */
	int depth;
	int root;		/* 0 none yet, 1 urlset, 2 sitemapindex */
	char *ns;		/* the root's namespace, NULL when none */
	int in_entry;		/* inside a url or sitemap element */
	enum field field;	/* inside its loc or lastmod */
	char loc[SITEMAP_URL_MAX + 1];
	size_t loc_len;
	int loc_over;		/* the loc was longer than SITEMAP_URL_MAX */
	char lastmod[LASTMOD_MAX + 1];
	size_t lastmod_len;
	enum stop stop;
};

void
sitemap_free(struct sitemap *sm)
{
	size_t i;

	if (sm == NULL)
		return;
	for (i = 0; i < sm->nurls; i++)
		free(sm->urls[i].loc);
	free(sm->urls);
	memset(sm, 0, sizeof(*sm));
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

long long
sitemap_datetime(const char *s)
{
	struct tm tm;
	int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, th, tm_min, sign;
	long long t, off = 0;
	size_t n = strlen(s);

	memset(&tm, 0, sizeof(tm));
	if (n < 4 || !digits(s, 4, &y) || y < 1970 || y > 9999)
		return -1;
	s += 4;
	if (*s == '-') {
		if (!digits(s + 1, 2, &mo) || mo < 1 || mo > 12)
			return -1;
		s += 3;
		if (*s == '-') {
			if (!digits(s + 1, 2, &d) || d < 1 || d > 31)
				return -1;
			s += 3;
		}
	}
	if (*s == 'T' || *s == 't' || *s == ' ') {
		if (!digits(s + 1, 2, &h) || s[3] != ':' || !digits(s + 4, 2, &mi) ||
		    h > 23 || mi > 59)
			return -1;
		s += 6;
		if (*s == ':') {
			if (!digits(s + 1, 2, &sec) || sec > 60)
				return -1;
			s += 3;
			if (*s == '.')
				for (s++; *s >= '0' && *s <= '9'; s++)
					;
		}
		if (*s == 'Z' || *s == 'z')
			s++;
		else if (*s == '+' || *s == '-') {
			sign = *s == '-' ? -1 : 1;
			if (!digits(s + 1, 2, &th) || th > 23)
				return -1;
			s += 3;
			if (*s == ':')
				s++;
			if (!digits(s, 2, &tm_min) || tm_min > 59)
				return -1;
			s += 2;
			off = sign * (th * 3600LL + tm_min * 60LL);
		}
	}
	if (*s != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm);
	if (tm.tm_mday != d)		/* 31 February */
		return -1;
	return t - off;
}

static int
xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The entry read (its loc and lastmod) into sm, when its loc is one. */
static void
end_entry(struct reader *rd)
{
	struct sitemap *sm = rd->sm;
	struct sitemap_url *grown;
	const char *loc = rd->loc;
	size_t n = rd->loc_len, i, skip;
	long long t;

	while (n > 0 && xml_space(*loc)) {
		loc++;
		n--;
	}
	while (n > 0 && xml_space(loc[n - 1]))
		n--;
	if (n > 7 && strncasecmp(loc, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp(loc, "https://", 8) == 0)
		skip = 8;
	else
		skip = 0;
	for (i = 0; skip > 0 && i < n; i++)
		if ((unsigned char)loc[i] <= 0x20 || loc[i] == 0x7f)
			skip = 0;
	if (rd->loc_over || skip == 0 || strchr("/?#", loc[skip]) != NULL) {
		sm->skipped++;
		return;
	}
	if (sm->nurls >= SITEMAP_URLS_MAX) {
		rd->stop = STOP_FULL;
		xmlStopParser(rd->ctxt);
		return;
	}
	if (sm->nurls == rd->cap) {
		rd->cap = rd->cap ? 2 * rd->cap : 64;
		if ((grown = realloc(sm->urls, rd->cap * sizeof(*grown))) == NULL)
			goto nomem;
		sm->urls = grown;
	}
	if ((sm->urls[sm->nurls].loc = strndup(loc, n)) == NULL)
		goto nomem;
	for (n = rd->lastmod_len; n > 0 && xml_space(rd->lastmod[n - 1]);)
		n--;
	rd->lastmod[n] = '\0';
	for (loc = rd->lastmod; xml_space(*loc); loc++)
		;
	t = sitemap_datetime(loc);
	sm->urls[sm->nurls++].lastmod = t > 0 ? t : 0;
	return;
nomem:
	rd->stop = STOP_MEMORY;
	xmlStopParser(rd->ctxt);
}

/* 1 when the element is in the root's namespace. */
static int
same_ns(const struct reader *rd, const xmlChar *uri)
{
	if (rd->ns == NULL || uri == NULL)
		return rd->ns == NULL && uri == NULL;
	return strcmp(rd->ns, (const char *)uri) == 0;
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct reader *rd = ctx;
	const char *name = (const char *)localname;

	(void)prefix;
	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_attributes;
	(void)nb_defaulted;
	(void)attributes;
	if (rd->stop != STOP_NONE)
		return;
	rd->depth++;
	if (rd->depth == 1) {
		rd->root = strcmp(name, "urlset") == 0 ? 1 :
		    strcmp(name, "sitemapindex") == 0 ? 2 : 0;
		if (rd->root == 0) {
			rd->stop = STOP_ROOT;
			xmlStopParser(rd->ctxt);
			return;
		}
		rd->sm->is_index = rd->root == 2;
		if (uri != NULL && (rd->ns = strdup((const char *)uri)) == NULL) {
			rd->stop = STOP_MEMORY;
			xmlStopParser(rd->ctxt);
		}
		return;
	}
	if (rd->depth == 2 && same_ns(rd, uri) &&
	    strcmp(name, rd->root == 1 ? "url" : "sitemap") == 0) {
		rd->in_entry = 1;
		rd->loc_len = rd->lastmod_len = 0;
		rd->loc_over = 0;
	} else if (rd->depth == 3 && rd->in_entry && same_ns(rd, uri)) {
		if (strcmp(name, "loc") == 0) {
			rd->field = F_LOC;
			rd->loc_len = 0;
			rd->loc_over = 0;
		} else if (strcmp(name, "lastmod") == 0) {
			rd->field = F_LASTMOD;
			rd->lastmod_len = 0;
		}
	}
}

static void
on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct reader *rd = ctx;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (rd->stop != STOP_NONE)
		return;
	if (rd->depth == 3)
		rd->field = F_NONE;
	else if (rd->depth == 2 && rd->in_entry) {
		rd->in_entry = 0;
		end_entry(rd);
	}
	rd->depth--;
}

static void
on_text(void *ctx, const xmlChar *ch, int len)
{
	struct reader *rd = ctx;
	size_t n = len > 0 ? (size_t)len : 0;

	if (rd->stop != STOP_NONE || rd->depth != 3)
		return;
	if (rd->field == F_LOC) {
		if (rd->loc_len + n > SITEMAP_URL_MAX) {
			rd->loc_over = 1;
			return;
		}
		memcpy(rd->loc + rd->loc_len, ch, n);
		rd->loc_len += n;
	} else if (rd->field == F_LASTMOD) {
		if (n > LASTMOD_MAX - rd->lastmod_len)
			n = LASTMOD_MAX - rd->lastmod_len;
		memcpy(rd->lastmod + rd->lastmod_len, ch, n);
		rd->lastmod_len += n;
	}
}

/* A DOCTYPE: the parse stops before its internal subset is read. */
static void
on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
    const xmlChar *system_id)
{
	struct reader *rd = ctx;

	(void)name;
	(void)external_id;
	(void)system_id;
	rd->stop = STOP_DOCTYPE;
	xmlStopParser(rd->ctxt);
}

static void
on_error(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static void
on_generic_error(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* The XML of a sitemap, as sitemap_parse says, its length checked. */
static int
xml_parse(const char *bytes, size_t len, struct sitemap *sm,
    const char **why)
{
	xmlSAXHandler sax;
	struct reader *rd;
	size_t first = len < 4 ? len : 4;
	int rc = -1;

	switch (fetch_markup_check(bytes, len, NULL)) {
	case FETCH_MARKUP_CHARSET:
		*why = "sitemap: encoding refused";
		return -1;
	case FETCH_MARKUP_ATTRIBUTES:
		*why = "sitemap: too many attributes";
		return -1;
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		*why = "sitemap: out of memory";
		return -1;
	}
	rd->sm = sm;
	xmlInitParser();
	xmlSetStructuredErrorFunc(NULL, on_error);
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_doctype;
	sax.serror = on_error;
	*why = "sitemap: out of memory";
	rd->ctxt = xmlCreatePushParserCtxt(&sax, rd, bytes, (int)first, NULL);
	if (rd->ctxt == NULL)
		goto out;
	xmlCtxtUseOptions(rd->ctxt, SITEMAP_OPTIONS);
	xmlParseChunk(rd->ctxt, bytes + first, (int)(len - first), 1);
	switch (rd->stop) {
	case STOP_FULL:
		*why = "sitemap: over 50000 urls";
		rc = 1;
		goto out;
	case STOP_DOCTYPE:
		*why = "sitemap: DOCTYPE refused";
		goto out;
	case STOP_ROOT:
		*why = "sitemap: not a urlset or sitemapindex";
		goto out;
	case STOP_MEMORY:
		goto out;
	case STOP_NONE:
		break;
	}
	if (!rd->ctxt->wellFormed) {
		*why = "sitemap: not well-formed XML";
		goto out;
	}
	if (rd->root == 0) {
		*why = "sitemap: not a urlset or sitemapindex";
		goto out;
	}
	*why = NULL;
	rc = 0;
out:
	if (rd->ctxt != NULL)
		xmlFreeParserCtxt(rd->ctxt);
	free(rd->ns);
	free(rd);
	if (rc < 0)
		sitemap_free(sm);
	return rc;
}

/* 1 when bytes (len) start as a gzip file does (RFC 1952's ID1, ID2). */
static int
is_gzip(const char *bytes, size_t len)
{
	return len >= 2 && (unsigned char)bytes[0] == 0x1f &&
	    (unsigned char)bytes[1] == 0x8b;
}

/*
 * z's next output into *buf (*cap bytes, grown twice over, to at most
 * SITEMAP_BYTES_MAX + 1, where it is over), *n of them used: inflate's
 * return, Z_MEM_ERROR when the buffer cannot grow.
 */
static int
inflate_more(z_stream *z, char **buf, size_t *cap, size_t *n)
{
	size_t want;
	char *nb;
	int zr;

	if (*n == *cap) {
		want = *cap == 0 ? 64 * 1024 : *cap * 2;
		if (want > SITEMAP_BYTES_MAX + 1)
			want = SITEMAP_BYTES_MAX + 1;
		if ((nb = realloc(*buf, want)) == NULL)
			return Z_MEM_ERROR;
		*buf = nb;
		*cap = want;
	}
	z->next_out = (Bytef *)*buf + *n;
	z->avail_out = (uInt)(*cap - *n);
	zr = inflate(z, Z_NO_FLUSH);
	*n = *cap - z->avail_out;
	return zr;
}

/*
 * gz's gzip members (len bytes; what follows the last, not one, is
 * ignored as gzip(1) does) unzipped into *out (*outlen bytes; free it),
 * at most SITEMAP_BYTES_MAX: 0, or -1 and *why ("sitemap: over 50 MB
 * unzipped", a zip bomb among them; "sitemap: not valid gzip",
 * "sitemap: out of memory").
 */
static int
gunzip(const char *gz, size_t len, char **out, size_t *outlen,
    const char **why)
{
	z_stream z;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int zr;

	memset(&z, 0, sizeof(z));
	*why = "sitemap: out of memory";
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)	/* gzip alone */
		return -1;
	z.next_in = (const Bytef *)gz;
	z.avail_in = (uInt)len;		/* at most SITEMAP_BYTES_MAX */
	for (;;) {
		zr = inflate_more(&z, &buf, &cap, &n);
		if (n > SITEMAP_BYTES_MAX) {
			*why = "sitemap: over 50 MB unzipped";
			goto fail;
		}
		if (zr == Z_STREAM_END && !is_gzip((const char *)z.next_in,
		    z.avail_in))
			break;
		if (zr == Z_STREAM_END)
			zr = inflateReset(&z);
		if (zr == Z_MEM_ERROR)
			goto fail;
		/* Z_BUF_ERROR with room left: no more input, a file cut. */
		if (zr != Z_OK && (zr != Z_BUF_ERROR || z.avail_out > 0)) {
			*why = "sitemap: not valid gzip";
			goto fail;
		}
	}
	inflateEnd(&z);
	*out = buf;
	*outlen = n;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return -1;
}

int
sitemap_parse(const char *bytes, size_t len, struct sitemap *sm,
    const char **why)
{
	char *xml;
	size_t n;
	int rc;

	memset(sm, 0, sizeof(*sm));
	if (len > SITEMAP_BYTES_MAX) {
		*why = "sitemap: over 50 MB";
		return -1;
	}
	if (!is_gzip(bytes, len))
		return xml_parse(bytes, len, sm, why);
	if (gunzip(bytes, len, &xml, &n, why) < 0)
		return -1;
	rc = xml_parse(xml, n, sm, why);
	free(xml);
	return rc;
}
