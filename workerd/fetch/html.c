/*
 * The documents the knowledge base reads (html.h): an HTML page through
 * libxml2's HTML parser (its tree walked without recursion, boilerplate
 * dropped, the text gathered into blocks), Markdown and plain text by
 * line rules; the three fill the same struct fetch_doc, so uploaded files
 * and crawled pages share the chunker. No I/O, no state of our own:
 * libxml2's error reports go to a handler that drops them.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/encoding.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "html.h"
#include "util.h"

#define HTML_OPTIONS	(HTML_PARSE_NONET | HTML_PARSE_NOERROR | \
			 HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER)
#define TEXT_TITLE_MAX	120	/* bytes of a plain text's first line as title */
#define META_RAW_MAX	8192	/* raw bytes of a title read before collapsing */
#define LINK_SLOTS	4096	/* the links' hash set: > 2 * FETCH_LINKS_MAX */

/* ------------------------------------------------------------ text */

int
fetch_text_grow(struct fetch_text *b, size_t n)
{
	char *p;

	/* Room for byte len + n: n more and the NUL. */
	if ((p = proto_grow(b->p, &b->cap, b->len + n, 1, 256, SIZE_MAX)) ==
	    NULL)
		return -1;
	b->p = p;
	return 0;
}

int
fetch_text_put(struct fetch_text *b, const char *s, size_t n)
{
	if (fetch_text_grow(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void
fetch_text_free(struct fetch_text *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
fetch_utf8_clean(char *dst, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if ((n = utf8_seq(s + i, len - i)) == 0) {
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		/*
		 * A lone CR (a classic Mac line end), a form feed (a page's
		 * end, as pdftotext writes it) or a vertical tab ends a line:
		 * dropped, it joined the words on either side.
		 */
		if (n == 1 && (s[i] == '\f' || s[i] == '\v' || (s[i] == '\r' &&
		    (i + 1 == len || s[i + 1] != '\n')))) {
			dst[o++] = '\n';
			i++;
			continue;
		}
		/* NUL among them: UTF-16 read as bytes still reads. */
		if (n == 1 && ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') ||
		    s[i] == 0x7f)) {
			i++;
			continue;
		}
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/* The bytes of white space at s (n left): ASCII's or U+00A0, 0 if none. */
static size_t
space_at(const char *s, size_t n)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '\f' || *s == '\v')
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

/* Collapses s's runs of white space to one space, trims it; in place. */
static size_t
collapse(char *s, size_t len)
{
	size_t i = 0, o = 0, w;
	int space = 0;

	while (i < len) {
		if ((w = space_at(s + i, len - i)) > 0) {
			space = 1;
			i += w;
			continue;
		}
		if (space && o > 0)
			s[o++] = ' ';
		space = 0;
		s[o++] = s[i++];
	}
	s[o] = '\0';
	return o;
}

/* Code keeps its lines: leading blank lines and trailing space dropped. */
static size_t
trim_code(char *s, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'); i++)
		if (s[i] == '\n')
			start = i + 1;
	while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n'))
		len--;
	memmove(s, s + start, len - start);
	len -= start;
	s[len] = '\0';
	return len;
}

/*
 * A clean copy of s (at most raw_max of its bytes read): valid UTF-8,
 * white space collapsed, at most max bytes; NULL when empty or no memory.
 */
static char *
clean_line(const char *s, size_t len, size_t raw_max, size_t max)
{
	char *out;
	size_t n;

	if (len > raw_max)
		len = raw_max;
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	n = collapse(out, fetch_utf8_clean(out, s, len));
	if (n > max) {
		n = proto_utf8_cut(out, n, max);
		while (n > 0 && out[n - 1] == ' ')
			n--;
		out[n] = '\0';
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ the doc */

/* Whether the query parameter p (n bytes, "name" or "name=value") tracks. */
static int
tracking_param(const char *p, size_t n)
{
	static const char *const names[] = { "gclid", "fbclid", "msclkid" };
	size_t k = strcspn(p, "=&"), i;

	if (k > n)
		k = n;
	if (k > 4 && strncasecmp(p, "utm_", 4) == 0)
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (k == strlen(names[i]) && strncasecmp(p, names[i], k) == 0)
			return 1;
	return 0;
}

char *
fetch_url_clean(const char *url)
{
	size_t n = strcspn(url, "#"), q = strcspn(url, "?"), o, len;
	const char *p, *end = url + n;
	char *out;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	if (q >= n) {
		memcpy(out, url, n);
		out[n] = '\0';
		return out;
	}
	memcpy(out, url, q);
	o = q;
	for (p = url + q + 1; p < end; p += len + 1) {
		len = strcspn(p, "&#");
		if (p + len > end)
			len = (size_t)(end - p);
		if (len == 0 || tracking_param(p, len))
			continue;
		out[o] = o == q ? '?' : '&';
		o++;
		memcpy(out + o, p, len);
		o += len;
	}
	out[o] = '\0';
	return out;
}

void
fetch_doc_free(struct fetch_doc *doc)
{
	size_t i;

	if (doc == NULL)
		return;
	proto_strv_free(doc->links, doc->nlinks);
	for (i = 0; i < doc->nblocks; i++)
		free(doc->blocks[i].text);
	free(doc->blocks);
	free(doc->title);
	free(doc->lang);
	free(doc->canonical);
	memset(doc, 0, sizeof(*doc));
}

/*
 * Adds a block of len raw bytes to doc: made valid UTF-8, collapsed (code
 * trimmed), cut to what the doc's text bound leaves. 0 (an empty block
 * is not added), 1 when the doc is full (truncated set), -1 out of memory.
 */
static int
doc_add_block(struct fetch_doc *doc, enum fetch_kind kind, int level,
    const char *text, size_t len)
{
	struct fetch_block *b;
	size_t max = doc->text_max != 0 ? doc->text_max : FETCH_TEXT_MAX;
	size_t room = max > doc->text_bytes ? max - doc->text_bytes : 0, n;
	char *clean, *shrunk;

	if (room == 0 || doc->nblocks >= FETCH_BLOCKS_MAX) {
		doc->truncated = 1;
		return 1;
	}
	if (len > room) {
		len = room;
		doc->truncated = 1;
	}
	if ((clean = malloc(3 * len + 1)) == NULL)
		return -1;
	n = fetch_utf8_clean(clean, text, len);
	n = kind == FETCH_CODE ? trim_code(clean, n) : collapse(clean, n);
	if (n > room) {
		n = proto_utf8_cut(clean, n, room);
		clean[n] = '\0';
		doc->truncated = 1;
	}
	if (n == 0) {
		free(clean);
		return 0;
	}
	if ((doc->nblocks & (doc->nblocks - 1)) == 0) {	/* 0, 1, 2, 4 ... */
		b = realloc(doc->blocks, (doc->nblocks ? 2 * doc->nblocks : 16) *
		    sizeof(*b));
		if (b == NULL) {
			free(clean);
			return -1;
		}
		doc->blocks = b;
	}
	if ((shrunk = realloc(clean, n + 1)) != NULL)
		clean = shrunk;
	b = &doc->blocks[doc->nblocks++];
	b->kind = kind;
	b->level = kind == FETCH_HEADING ? level : 0;
	b->text = clean;
	b->len = n;
	doc->text_bytes += n;
	return doc->text_bytes >= max ? 1 : 0;
}

/* ------------------------------------------------------------ libxml2 */

static void
xml_ignore_error(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static void
xml_ignore_generic(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

void
fetch_xml_quiet(void)
{
	xmlInitParser();
	xmlSetStructuredErrorFunc(NULL, xml_ignore_error);
	xmlSetGenericErrorFunc(NULL, xml_ignore_generic);
}

/* The next node of a walk in document order below top (NULL at the end),
 * into n's children when descend. */
static xmlNode *
next_node(xmlNode *n, xmlNode *top, int descend)
{
	if (descend && n->children != NULL)
		return n->children;
	while (n != NULL && n != top) {
		if (n->next != NULL)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

static int
is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL &&
	    strcasecmp((const char *)n->name, name) == 0;
}

/* An attribute's value ("" for one without), NULL when absent. */
static const char *
attr(const xmlNode *n, const char *name)
{
	const xmlAttr *a;

	for (a = n->properties; a != NULL; a = a->next) {
		if (a->name == NULL || strcasecmp((const char *)a->name, name) != 0)
			continue;
		if (a->children != NULL && a->children->type == XML_TEXT_NODE &&
		    a->children->content != NULL)
			return (const char *)a->children->content;
		return "";
	}
	return NULL;
}

/* 1 when the white-space separated list s holds word (any case). */
static int
has_token(const char *s, const char *word)
{
	size_t wl = strlen(word), n;

	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t\n\r\f");
		n = strcspn(s, " \t\n\r\f");
		if (n == wl && strncasecmp(s, word, n) == 0)
			return 1;
		s += n;
	}
	return 0;
}

/* ------------------------------------------------------------ elements */

enum {
	E_DROP = 1 << 0,	/* never read: its subtree is dropped */
	E_BLOCK = 1 << 1,	/* its text is a block of its own */
	E_HEAD = 1 << 2,	/* a heading (level in the table) */
	E_PRE = 1 << 3,		/* preformatted */
	E_ITEM = 1 << 4,	/* a list item */
	E_ROW = 1 << 5,		/* a table row */
	E_CELL = 1 << 6,	/* a table cell */
	E_MAIN = 1 << 7,	/* main or article */
	E_EDGE = 1 << 8,	/* header or footer: dropped outside main */
	E_BREAK = 1 << 9,	/* br */
};

static const struct elem {
	const char *name;
	unsigned flags;
	int level;
} elems[] = {		/* sorted by name (bsearch) */
	{ "address", E_BLOCK, 0 }, { "applet", E_DROP, 0 },
	{ "article", E_BLOCK | E_MAIN, 0 }, { "aside", E_DROP, 0 },
	{ "audio", E_DROP, 0 }, { "blockquote", E_BLOCK, 0 },
	{ "body", E_BLOCK, 0 }, { "br", E_BREAK, 0 },
	{ "button", E_DROP, 0 }, { "canvas", E_DROP, 0 },
	{ "caption", E_BLOCK, 0 }, { "center", E_BLOCK, 0 },
	{ "datalist", E_DROP, 0 }, { "dd", E_BLOCK | E_ITEM, 0 },
	{ "details", E_BLOCK, 0 }, { "dialog", E_DROP, 0 },
	{ "dir", E_BLOCK, 0 }, { "div", E_BLOCK, 0 }, { "dl", E_BLOCK, 0 },
	{ "dt", E_BLOCK | E_ITEM, 0 }, { "embed", E_DROP, 0 },
	{ "fieldset", E_BLOCK, 0 }, { "figcaption", E_BLOCK, 0 },
	{ "figure", E_BLOCK, 0 }, { "footer", E_BLOCK | E_EDGE, 0 },
	{ "form", E_BLOCK, 0 }, { "frame", E_DROP, 0 },
	{ "frameset", E_DROP, 0 }, { "h1", E_BLOCK | E_HEAD, 1 },
	{ "h2", E_BLOCK | E_HEAD, 2 }, { "h3", E_BLOCK | E_HEAD, 3 },
	{ "h4", E_BLOCK | E_HEAD, 4 }, { "h5", E_BLOCK | E_HEAD, 5 },
	{ "h6", E_BLOCK | E_HEAD, 6 }, { "head", E_DROP, 0 },
	{ "header", E_BLOCK | E_EDGE, 0 }, { "hr", E_BLOCK, 0 },
	{ "iframe", E_DROP, 0 }, { "input", E_DROP, 0 },
	{ "legend", E_BLOCK, 0 }, { "li", E_BLOCK | E_ITEM, 0 },
	{ "link", E_DROP, 0 }, { "listing", E_BLOCK | E_PRE, 0 },
	{ "main", E_BLOCK | E_MAIN, 0 }, { "map", E_DROP, 0 },
	{ "math", E_DROP, 0 }, { "menu", E_DROP, 0 }, { "meta", E_DROP, 0 },
	{ "meter", E_DROP, 0 }, { "nav", E_DROP, 0 },
	{ "noembed", E_DROP, 0 }, { "noframes", E_DROP, 0 },
	{ "noscript", E_DROP, 0 }, { "object", E_DROP, 0 },
	{ "ol", E_BLOCK, 0 }, { "optgroup", E_DROP, 0 },
	{ "option", E_DROP, 0 }, { "output", E_DROP, 0 },
	{ "p", E_BLOCK, 0 }, { "param", E_DROP, 0 },
	{ "plaintext", E_BLOCK | E_PRE, 0 }, { "pre", E_BLOCK | E_PRE, 0 },
	{ "progress", E_DROP, 0 }, { "script", E_DROP, 0 },
	{ "search", E_DROP, 0 }, { "section", E_BLOCK, 0 },
	{ "select", E_DROP, 0 }, { "source", E_DROP, 0 },
	{ "style", E_DROP, 0 }, { "summary", E_BLOCK, 0 },
	{ "svg", E_DROP, 0 }, { "table", E_BLOCK, 0 }, { "td", E_CELL, 0 },
	{ "template", E_DROP, 0 }, { "textarea", E_DROP, 0 },
	{ "th", E_CELL, 0 }, { "title", E_DROP, 0 },
	{ "tr", E_BLOCK | E_ROW, 0 }, { "track", E_DROP, 0 },
	{ "ul", E_BLOCK, 0 }, { "video", E_DROP, 0 },
	{ "xmp", E_BLOCK | E_PRE, 0 },
};

static int
elem_cmp(const void *key, const void *e)
{
	return strcasecmp(key, ((const struct elem *)e)->name);
}

/* What the table says of n (an element), NULL for an inline one. */
static const struct elem *
elem_of(const xmlNode *n)
{
	if (n->name == NULL)
		return NULL;
	return bsearch(n->name, elems, sizeof(elems) / sizeof(elems[0]),
	    sizeof(elems[0]), elem_cmp);
}

static unsigned
elem_flags(const xmlNode *n)
{
	const struct elem *e = elem_of(n);

	return e != NULL ? e->flags : 0;
}

static int
role_main(const xmlNode *n)
{
	return has_token(attr(n, "role"), "main");
}

/*
 * 1 when n is hidden or says it is no content by its attributes: hidden,
 * aria-hidden="true", display:none or visibility:hidden in its style, a
 * landmark role that is not the main one.
 */
static int
hidden_by_attrs(const xmlNode *n)
{
	static const char *const roles[] = {
		"navigation", "banner", "contentinfo", "complementary",
		"search", "dialog", "alertdialog", "menu", "menubar",
	};
	const char *v;
	size_t i;

	if (attr(n, "hidden") != NULL)
		return 1;
	if ((v = attr(n, "aria-hidden")) != NULL && strcasecmp(v, "true") == 0)
		return 1;
	if ((v = attr(n, "style")) != NULL) {
		char s[256];
		size_t o = 0;

		/* "display : none" as "display:none": spaces dropped. */
		for (; *v != '\0' && o < sizeof(s) - 1; v++)
			if (*v != ' ' && *v != '\t' && *v != '\n')
				s[o++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
		s[o] = '\0';
		if (strstr(s, "display:none") || strstr(s, "visibility:hidden"))
			return 1;
	}
	if ((v = attr(n, "role")) != NULL)
		for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
			if (has_token(v, roles[i]))
				return 1;
	return 0;
}

/* What a class or id token says of its element. */
enum noise {
	NOISE_NONE,
	NOISE_ALWAYS,		/* a banner, a dialog: dropped */
	NOISE_IF_LINKS,		/* a menu, a sidebar: dropped when mostly links */
};

/*
 * What a class or id token (any case) names: a consent banner when it
 * starts with cookie, consent, gdpr or a banner vendor's name; a banner,
 * dialog or skip link when its first or last part (split at '-' and
 * '_') is one of those words ("cc-banner", "skip-link"); a menu, sidebar,
 * table of contents or share bar when it is one of theirs ("main-menu",
 * "breadcrumbs", "has-sidebar", "navbar-top", "toc"), which is dropped
 * only when its text is mostly links or short (mostly_links): a DocBook
 * "sidebar" is a boxed note of the text, a restaurant's "menu" its dishes.
 */
static enum noise
noise_token(const char *t, size_t n)
{
	static const char *const prefixes[] = {
		"cookie", "consent", "gdpr", "onetrust", "cybotcookiebot",
	};
	static const struct {
		const char *word;
		enum noise noise;
	} words[] = {
		{ "banner", NOISE_ALWAYS }, { "docnav", NOISE_ALWAYS },
		{ "modal", NOISE_ALWAYS }, { "popup", NOISE_ALWAYS },
		{ "skip", NOISE_ALWAYS }, { "skiplink", NOISE_ALWAYS },
		{ "breadcrumb", NOISE_IF_LINKS }, { "breadcrumbs", NOISE_IF_LINKS },
		{ "menu", NOISE_IF_LINKS }, { "menubar", NOISE_IF_LINKS },
		{ "nav", NOISE_IF_LINKS }, { "navbar", NOISE_IF_LINKS },
		{ "navigation", NOISE_IF_LINKS }, { "pagination", NOISE_IF_LINKS },
		{ "share", NOISE_IF_LINKS }, { "sharing", NOISE_IF_LINKS },
		{ "sidebar", NOISE_IF_LINKS }, { "social", NOISE_IF_LINKS },
		{ "toc", NOISE_IF_LINKS },
	};
	enum noise found = NOISE_NONE;
	char low[64];
	size_t i, first, last;

	if (n == 0)
		return 0;
	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(low, prefixes[i], strlen(prefixes[i])) == 0)
			return NOISE_ALWAYS;
	first = strcspn(low, "-_");
	for (last = n; last > 0 && low[last - 1] != '-' && low[last - 1] != '_';)
		last--;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i].word);

		if (((first == wl && memcmp(low, words[i].word, wl) == 0) ||
		    (n - last == wl && memcmp(low + last, words[i].word, wl) == 0)) &&
		    words[i].noise > found)
			found = words[i].noise;
	}
	return found;
}

/* What n's class and id tokens name: the strongest (noise_token). */
static enum noise
noise_by_name(const xmlNode *n)
{
	const char *v, *keys[] = { "class", "id" };
	enum noise found = NOISE_NONE, t;
	size_t k, len;

	for (k = 0; k < 2; k++) {
		if ((v = attr(n, keys[k])) == NULL)
			continue;
		while (*v != '\0') {
			v += strspn(v, " \t\n\r\f");
			len = strcspn(v, " \t\n\r\f");
			if ((t = noise_token(v, len)) > found)
				found = t;
			v += len;
		}
	}
	return found;
}

/* The bytes of s that are not white space, counted up to LINKY_TEXT. */
#define LINKY_SHORT	64	/* bytes: under this a candidate is dropped */
#define LINKY_NODES	4096	/* nodes of a candidate looked at */
#define LINKY_TEXT	8192	/* bytes of its text looked at */

static size_t
ink(const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n < LINKY_TEXT; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			n++;
	return n;
}

/*
 * 1 when n's text (white space aside, dropped elements skipped) is under
 * LINKY_SHORT bytes or at least half of it is inside links: a menu, a
 * table of contents, a list of posts. The verdict is on the first
 * LINKY_NODES nodes and LINKY_TEXT bytes, so that nested candidates cost
 * little.
 */
static int
mostly_links(xmlNode *n)
{
	xmlNode *c, *l;
	size_t text = 0, linked = 0, seen = 0, k;
	int descend;

	for (c = n; c != NULL && seen < LINKY_NODES && text < LINKY_TEXT;
	    c = next_node(c, n, descend)) {
		seen++;
		descend = 1;
		if (c->type == XML_ELEMENT_NODE && c != n) {
			if (elem_flags(c) & E_DROP)
				descend = 0;
			else if (is_elem(c, "a")) {
				descend = 0;
				for (l = c; l != NULL && seen < LINKY_NODES;
				    l = next_node(l, c, 1)) {
					seen++;
					if (l->type == XML_TEXT_NODE && l->content != NULL) {
						k = ink((const char *)l->content);
						text += k;
						linked += k;
					}
				}
			}
		} else if (c->type == XML_TEXT_NODE && c->content != NULL)
			text += ink((const char *)c->content);
	}
	return text < LINKY_SHORT || 2 * linked >= text;
}

/* Whether node is anc or lies under it. */
static int
holds(const xmlNode *anc, const xmlNode *node)
{
	for (; node != NULL; node = node->parent)
		if (node == anc)
			return 1;
	return 0;
}

/*
 * The content's root: the first <main> or role="main" element, else the
 * <article>s' nearest common element (the article itself when there is
 * one: an FAQ's or a blog index's many entries are all kept), outside
 * dropped subtrees (by tag or attributes, not by class, so a <main>
 * inside a "has-sidebar" layout is found); else <body>, else the root
 * element. The common element only climbs, so each article costs its
 * depth at most.
 */
static xmlNode *
content_root(xmlNode *top)
{
	xmlNode *n = top, *article = NULL, *body = NULL;
	unsigned f;
	int descend;

	while (n != NULL) {
		descend = 0;
		if (n->type == XML_ELEMENT_NODE) {
			f = elem_flags(n);
			if (n != top && ((f & (E_DROP | E_EDGE)) || hidden_by_attrs(n)))
				descend = 0;
			else if (is_elem(n, "main") || role_main(n))
				return n;
			else {
				if (is_elem(n, "article")) {
					if (article == NULL)
						article = n;
					while (article != NULL && !holds(article, n))
						article = article->parent;
				}
				if (body == NULL && is_elem(n, "body"))
					body = n;
				descend = 1;
			}
		}
		n = next_node(n, top, descend);
	}
	/* articles held only by <html> or above: the body holds them */
	if (article != NULL && (article->type != XML_ELEMENT_NODE ||
	    (body != NULL && holds(article, body))))
		article = NULL;
	return article ? article : body ? body : top;
}

/* ------------------------------------------------------------ the walk */

#define A_BLOCK	1	/* the element opened a block */
#define A_PRE	2	/* it counted in w->pre */
#define A_ROW	4	/* it counted in w->row */
#define A_MAIN	8	/* it counted in w->in_main */
#define A_SPACE	16	/* a block read inline: a space at its end */

/* What entering an element did, undone when leaving it. */
struct frame {
	unsigned char acts;
	unsigned char kind, level;
	unsigned cells;
};

struct walk {
	struct fetch_doc *doc;
	struct fetch_text cur;	/* the open block's text, collapsed */
	enum fetch_kind kind;	/* the open block's kind */
	int level;
	int space;		/* a space before the next character */
	int sep;		/* a cell separator before the next character */
	int pre;		/* inside pre: white space kept */
	int row;		/* inside a tr: blocks read inline */
	int in_main;		/* inside main or article */
	unsigned cells;		/* cells seen in the open row */
	int stop;		/* 1 full, -1 out of memory */
	struct frame stack[FETCH_DEPTH_MAX + 2];
	size_t depth;
};

static void
walk_flush(struct walk *w)
{
	int r;

	if (w->cur.len > 0 && w->stop == 0) {
		r = doc_add_block(w->doc, w->kind, w->level, w->cur.p, w->cur.len);
		if (r != 0)
			w->stop = r;
	}
	w->cur.len = 0;
	w->space = w->sep = 0;
}

static void
walk_put(struct walk *w, const char *s, size_t n)
{
	if (w->stop != 0)
		return;
	if (w->cur.len + n > FETCH_TEXT_MAX - w->doc->text_bytes) {
		w->doc->truncated = 1;
		walk_flush(w);
		if (w->stop == 0)
			w->stop = 1;
		return;
	}
	if (fetch_text_put(&w->cur, s, n) < 0)
		w->stop = -1;
}

/* A text node's content into the open block. */
static void
walk_text(struct walk *w, const char *s)
{
	size_t n = strlen(s), i = 0, ws, run;

	while (i < n && w->stop == 0) {
		if (w->pre) {
			if (s[i] == '\r') {
				walk_put(w, "\n", 1);
				i += s[i + 1] == '\n' ? 2 : 1;
				continue;
			}
			run = strcspn(s + i, "\r");
			walk_put(w, s + i, run);
			i += run;
			continue;
		}
		if ((ws = space_at(s + i, n - i)) > 0) {
			w->space = 1;
			i += ws;
			continue;
		}
		if (w->cur.len > 0 && w->sep)
			walk_put(w, " | ", 3);
		else if (w->cur.len > 0 && w->space)
			walk_put(w, " ", 1);
		w->space = w->sep = 0;
		for (run = 0; i + run < n && space_at(s + i + run, n - i - run) == 0;)
			run++;
		walk_put(w, s + i, run);
		i += run;
	}
}

/* 1 when the element n is not to be read (its subtree dropped). */
static int
walk_drops(const struct walk *w, const xmlNode *n, unsigned f)
{
	if (f & E_DROP)
		return 1;
	if ((f & E_EDGE) && w->in_main == 0)
		return 1;
	if (hidden_by_attrs(n))
		return 1;
	if ((f & E_MAIN) || role_main(n) || is_elem(n, "html") || is_elem(n, "body"))
		return 0;
	switch (noise_by_name(n)) {
	case NOISE_ALWAYS:
		return 1;
	case NOISE_IF_LINKS:
		return mostly_links((xmlNode *)n);
	case NOISE_NONE:
		break;
	}
	return 0;
}

static void
walk_enter(struct walk *w, const xmlNode *n, const struct elem *e)
{
	unsigned f = e != NULL ? e->flags : 0;
	struct frame *fr = &w->stack[w->depth++];

	fr->acts = 0;
	fr->kind = (unsigned char)w->kind;
	fr->level = (unsigned char)w->level;
	fr->cells = w->cells;
	if ((f & E_MAIN) || role_main(n)) {
		w->in_main++;
		fr->acts |= A_MAIN;
	}
	if (f & E_BREAK) {
		if (w->pre)
			walk_put(w, "\n", 1);
		else
			w->space = 1;
	}
	if (f & E_CELL) {
		if (w->row && !w->pre && w->cells++ > 0)
			w->sep = 1;
		else
			w->space = 1;
	}
	if (!(f & E_BLOCK))
		return;
	if (w->pre || (w->row && !(f & E_ROW))) {
		/* A block in a row or pre is read inline. */
		w->space = 1;
		fr->acts |= A_SPACE;
		return;
	}
	walk_flush(w);
	fr->acts |= A_BLOCK;
	if (f & E_ROW) {
		w->row++;
		w->cells = 0;
		w->kind = FETCH_ROW;
		fr->acts |= A_ROW;
	} else if (f & E_HEAD) {
		w->kind = FETCH_HEADING;
		w->level = e->level;
	} else if (f & E_PRE) {
		w->pre++;
		w->kind = FETCH_CODE;
		fr->acts |= A_PRE;
	} else if (f & E_ITEM)
		w->kind = FETCH_ITEM;
	else if (w->kind != FETCH_ITEM && w->kind != FETCH_HEADING)
		w->kind = FETCH_PARA;
}

static void
walk_leave(struct walk *w)
{
	struct frame *fr = &w->stack[--w->depth];

	if (fr->acts & A_BLOCK)
		walk_flush(w);
	if (fr->acts & A_SPACE)
		w->space = 1;
	if (fr->acts & A_PRE)
		w->pre--;
	if (fr->acts & A_ROW)
		w->row--;
	if (fr->acts & A_MAIN)
		w->in_main--;
	if (fr->acts & (A_BLOCK | A_ROW)) {
		w->kind = (enum fetch_kind)fr->kind;
		w->level = fr->level;
		w->cells = fr->cells;
	}
}

/*
 * Reads root's subtree into doc's blocks, in document order, without
 * recursion: an element deeper than FETCH_DEPTH_MAX is read as empty.
 * 0, or -1 out of memory.
 */
static int
walk_content(struct fetch_doc *doc, xmlNode *root)
{
	struct walk *w;
	xmlNode *n, *parent;
	const struct elem *e;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->doc = doc;
	w->kind = FETCH_PARA;
	walk_enter(w, root, elem_of(root));
	parent = root;
	n = root->children;
	while (w->stop == 0) {
		if (n == NULL) {
			walk_leave(w);
			if (parent == root)
				break;
			n = parent->next;
			parent = parent->parent;
			continue;
		}
		if (n->type == XML_ELEMENT_NODE) {
			e = elem_of(n);
			if (walk_drops(w, n, e != NULL ? e->flags : 0)) {
				n = n->next;
				continue;
			}
			walk_enter(w, n, e);
			if (n->children != NULL && w->depth <= FETCH_DEPTH_MAX) {
				parent = n;
				n = n->children;
				continue;
			}
			if (n->children != NULL)
				doc->truncated = 1;
			walk_leave(w);
		} else if ((n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) && n->content != NULL)
			walk_text(w, (const char *)n->content);
		n = n->next;
	}
	if (w->stop == 0)
		walk_flush(w);
	rc = w->stop < 0 ? -1 : 0;
	fetch_text_free(&w->cur);
	free(w);
	return rc;
}

/* ------------------------------------------------------------ links */

/* 1 when url starts "http://" or "https://" (any case) and a host. */
static int
http_url(const char *url)
{
	size_t skip;

	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	return url[skip] != '\0' && strchr("/?#\\", url[skip]) == NULL;
}

/*
 * href resolved against base (xmlBuildURI): white space trimmed, tabs and
 * newlines dropped, other bytes a URL may not hold percent-encoded; the
 * result absolute http(s), scheme lowercased, fragment dropped, at most
 * FETCH_URL_MAX bytes. A malloc'd string, or NULL (refused, no memory).
 */
static char *
resolve_url(const char *href, const char *base)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3 * FETCH_URL_MAX + 1], *out = NULL;
	const unsigned char *s = (const unsigned char *)href;
	xmlChar *built;
	size_t len, o = 0, i;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		s++;
	len = strlen((const char *)s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == '\f'))
		len--;
	if (len == 0 || s[0] == '#' || len > FETCH_URL_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			continue;
		if (s[i] == '%' && !(isxdigit(s[i + 1]) && isxdigit(s[i + 2]))) {
			memcpy(esc + o, "%25", 3);
			o += 3;
		} else if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("\"<>\\^`{|}", s[i])) {
			esc[o++] = '%';
			esc[o++] = hex[s[i] >> 4];
			esc[o++] = hex[s[i] & 15];
		} else
			esc[o++] = (char)s[i];
	}
	esc[o] = '\0';
	built = xmlBuildURI((const xmlChar *)esc, (const xmlChar *)base);
	if (built == NULL)
		return NULL;
	len = strcspn((const char *)built, "#");
	if (len > 0 && len <= FETCH_URL_MAX && http_url((const char *)built) &&
	    (out = malloc(len + 1)) != NULL) {
		memcpy(out, built, len);
		out[len] = '\0';
		for (i = 0; out[i] != ':'; i++)
			out[i] = (char)(out[i] >= 'A' && out[i] <= 'Z' ?
			    out[i] + 32 : out[i]);
	}
	xmlFree(built);
	return out;
}

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The page's links (a and area with href, not rel=nofollow), each once. */
static int
collect_links(struct fetch_doc *doc, xmlNode *top, const char *base)
{
	uint32_t *slot;
	xmlNode *n;
	const char *href, *rel;
	char *url;
	size_t i;
	int rc = -1;

	if ((slot = calloc(LINK_SLOTS, sizeof(*slot))) == NULL)
		return -1;
	if ((doc->links = calloc(FETCH_LINKS_MAX, sizeof(char *))) == NULL)
		goto out;
	for (n = top; n != NULL; n = next_node(n, top, 1)) {
		if (!is_elem(n, "a") && !is_elem(n, "area"))
			continue;
		if ((href = attr(n, "href")) == NULL)
			continue;
		if ((rel = attr(n, "rel")) != NULL && has_token(rel, "nofollow"))
			continue;
		if ((url = resolve_url(href, base)) == NULL)
			continue;
		for (i = hash_str(url) % LINK_SLOTS; slot[i] != 0;
		    i = (i + 1) % LINK_SLOTS)
			if (strcmp(doc->links[slot[i] - 1], url) == 0)
				break;
		if (slot[i] != 0) {
			free(url);
			continue;
		}
		if (doc->nlinks == FETCH_LINKS_MAX) {
			free(url);
			doc->truncated = 1;
			break;
		}
		doc->links[doc->nlinks++] = url;
		slot[i] = (uint32_t)doc->nlinks;
	}
	rc = 0;
out:
	free(slot);
	return rc;
}

/* ------------------------------------------------------------ metadata */

/* An element's text, collapsed and cut to max; NULL when empty. */
static char *
node_text(xmlNode *n, size_t max)
{
	xmlChar *raw = xmlNodeGetContent(n);
	char *s;

	if (raw == NULL)
		return NULL;
	s = clean_line((const char *)raw, strlen((const char *)raw),
	    META_RAW_MAX, max);
	xmlFree(raw);
	return s;
}

/* A language tag: letters, digits, '-' and '_', at most FETCH_LANG_MAX. */
static char *
lang_of(const char *v)
{
	size_t n;

	if (v == NULL)
		return NULL;
	while (*v == ' ')
		v++;
	n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_");
	if (n == 0 || n > FETCH_LANG_MAX || (v[n] != '\0' && v[n] != ' '))
		return NULL;
	return strndup(v, n);
}

/* The robots meta's words (name robots or parley, any case). */
static void
robots_meta(struct fetch_doc *doc, const xmlNode *n)
{
	const char *name = attr(n, "name"), *content = attr(n, "content");
	char words[256];
	size_t i;

	if (name == NULL || content == NULL || (strcasecmp(name, "robots") != 0 &&
	    strcasecmp(name, "parley") != 0))
		return;
	for (i = 0; content[i] != '\0' && i < sizeof(words) - 1; i++)
		words[i] = content[i] == ',' ? ' ' : content[i];
	words[i] = '\0';
	if (has_token(words, "noindex") || has_token(words, "none"))
		doc->noindex = 1;
	if (has_token(words, "nofollow") || has_token(words, "none"))
		doc->nofollow = 1;
}

/*
 * The page's title, language, robots meta, canonical link and the base
 * its links resolve against (*base: a malloc'd URL or NULL). 0 or -1.
 */
static int
read_meta(struct fetch_doc *doc, xmlNode *top, const char *base_url,
    char **base)
{
	xmlNode *n;
	const char *v, *canon = NULL;

	*base = NULL;
	doc->lang = lang_of(attr(top, "lang"));
	for (n = top; n != NULL; n = next_node(n, top, 1)) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (doc->title == NULL && is_elem(n, "title"))
			doc->title = node_text(n, FETCH_TITLE_MAX);
		else if (*base == NULL && is_elem(n, "base") &&
		    (v = attr(n, "href")) != NULL)
			*base = resolve_url(v, base_url);
		else if (canon == NULL && is_elem(n, "link") &&
		    has_token(attr(n, "rel"), "canonical"))
			canon = attr(n, "href");
		else if (is_elem(n, "meta"))
			robots_meta(doc, n);
	}
	if (canon != NULL)
		doc->canonical = resolve_url(canon, *base ? *base : base_url);
	return 0;
}

/* top's body element, else top. */
static xmlNode *
body_of(xmlNode *top)
{
	xmlNode *n;

	for (n = top->children; n != NULL; n = n->next)
		if (is_elem(n, "body"))
			return n;
	return top;
}

/* ------------------------------------------------------------ guard */

/*
 * libxml2 2.9's parsers check each attribute of a tag against those
 * before it: n attributes cost n * n / 2 comparisons, and 100,000 on one
 * <div> (900 KB) took 20 s (2 s on a sitemap's root element, the XML
 * parser comparing interned names). Before parsing, the tags' attributes are
 * counted (a '<' and a letter opens a tag, quotes are skipped, each run of
 * non-space after a space is one; NUL bytes skipped, so that UTF-16 and
 * UTF-32 pages are counted too) and a page whose sum of squares passes
 * ATTR_WORK_MAX (about a second) is refused. It over-counts (a '<' in a
 * script), never under-counts in an encoding where '<' is that byte; the
 * encodings where it is not (UTF-7, EBCDIC), or where shifted bytes may
 * look like a quote (ISO-2022, HZ), are refused (fetch_markup_check).
 */
#define ATTR_WORK_MAX	(500ull * 1000 * 1000)

static int
attr_work_ok(const char *bytes, size_t len)
{
	const unsigned char *s = (const unsigned char *)bytes;
	unsigned long long work = 0, k;
	size_t i = 0, j;
	int space;

	while (i < len) {
		if (s[i++] != '<')
			continue;
		while (i < len && s[i] == 0)
			i++;
		if (i >= len || !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
			continue;
		for (k = 0, space = 0; i < len && s[i] != '>'; i++) {
			if (s[i] == 0)
				continue;
			if (s[i] == '"' || s[i] == '\'') {
				for (j = i + 1; j < len && s[j] != s[i]; j++)
					;
				i = j;
				space = 0;
				continue;
			}
			if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
			    s[i] == '\r' || s[i] == '\f')
				space = 1;
			else if (space) {
				k++;
				space = 0;
			}
		}
		if ((work += k * k) > ATTR_WORK_MAX)
			return 0;
	}
	return 1;
}

/*
 * 1 when libxml2 would decode the markup's own characters from other
 * bytes than their ASCII ones under the encoding named low: the count of
 * attributes before the parse (attr_work_ok) reads ASCII, and would not
 * see such a page's tags. The decoder itself is asked (its iconv or ICU
 * converter), not a list of names: a list missed EBCDIC pages by the
 * dozen (CSIBM037, IBM1153...), and their quadratic attribute lists took
 * libxml2 minutes. UTF-16 and UTF-32 keep '<' as 0x3C beside zero bytes,
 * which the count reads.
 */
static int
charset_not_ascii(const char *low)
{
	static const char probe[] = "<a b='c' d=\"e\"/>\t\n\r =";
	xmlCharEncodingHandlerPtr h;
	xmlBufferPtr in, out;
	int bad = 1;

	if (strncmp(low, "utf-16", 6) == 0 || strncmp(low, "utf-32", 6) == 0 ||
	    strncmp(low, "utf16", 5) == 0 || strncmp(low, "utf32", 5) == 0 ||
	    strncmp(low, "ucs-", 4) == 0)
		return 0;
	/* An encoding libxml2 does not know is not decoded as one. */
	if ((h = xmlFindCharEncodingHandler(low)) == NULL)
		return 0;
	in = xmlBufferCreate();
	out = xmlBufferCreate();
	if (in != NULL && out != NULL &&
	    xmlBufferAdd(in, (const xmlChar *)probe, sizeof(probe) - 1) == 0 &&
	    xmlCharEncInFunc(h, out, in) >= 0 &&
	    (size_t)xmlBufferLength(out) == sizeof(probe) - 1 &&
	    memcmp(xmlBufferContent(out), probe, sizeof(probe) - 1) == 0)
		bad = 0;
	xmlBufferFree(in);
	xmlBufferFree(out);
	(void)xmlCharEncCloseFunc(h);
	return bad;
}

/* 1 when label (n bytes) names an encoding where '<' is not the byte
 * 0x3C (UTF-7, EBCDIC: "ebcdic-...", IBM's and cp's EBCDIC pages, and
 * any other charset_not_ascii finds) or where shifted bytes may look
 * like a quote or a '>' (ISO-2022, HZ). */
static int
charset_label_refused(const char *label, size_t n)
{
	static const char *const ebcdic[] = {
		"37", "273", "277", "278", "280", "284", "285", "290", "297",
		"420", "423", "424", "500", "870", "871", "875", "880", "905",
		"918", "1025", "1026", "1047", "1140", "1141", "1142", "1143",
		"1144", "1145", "1146", "1147", "1148", "1149",
	};
	char low[32];
	const char *num;
	size_t i;

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)(label[i] >= 'A' && label[i] <= 'Z' ?
		    label[i] + 32 : label[i]);
	low[n] = '\0';
	if (strstr(low, "utf-7") || strstr(low, "utf7") || strstr(low, "ebcdic") ||
	    strstr(low, "2022") || strncmp(low, "hz", 2) == 0)
		return 1;
	if (strncmp(low, "ibm", 3) == 0)
		num = low + 3;
	else if (strncmp(low, "cp", 2) == 0)
		num = low + 2;
	else
		return charset_not_ascii(low);
	num += strspn(num, "-_0");
	for (i = 0; i < sizeof(ebcdic) / sizeof(ebcdic[0]); i++)
		if (strcmp(num, ebcdic[i]) == 0)
			return 1;
	return charset_not_ascii(low);
}

#define LABELS_MAX	32	/* distinct labels a page's scan asks about */

/*
 * 1 when a label after one of key's occurrences in the bytes names one
 * (charset_label_refused). Each distinct label is asked once (the
 * decoder's lookup is not free), and a page of more than LABELS_MAX of
 * them is refused rather than asked about each.
 */
static int
labels_refused(const char *bytes, size_t len, const char *key)
{
	const char *p = bytes, *end = bytes + len, *v;
	const char *seen[LABELS_MAX];
	size_t seen_n[LABELS_MAX], nseen = 0, n, i, kn = strlen(key);

	while (p < end && (p = memmem(p, (size_t)(end - p), key, kn)) != NULL) {
		for (v = p + kn; v < end && (*v == ' ' || *v == '=' || *v == '"' ||
		    *v == '\'' || *v == ':'); v++)
			;
		for (n = 0; v + n < end && n < 32 && v[n] != '"' && v[n] != '\'' &&
		    v[n] != ' ' && v[n] != ';' && v[n] != '>' && v[n] != '/' &&
		    v[n] != '?'; n++)
			;
		p += kn;
		for (i = 0; i < nseen && (seen_n[i] != n ||
		    strncasecmp(seen[i], v, n) != 0); i++)
			;
		if (i < nseen)
			continue;
		if (nseen == LABELS_MAX || charset_label_refused(v, n))
			return 1;
		seen[nseen] = v;
		seen_n[nseen++] = n;
	}
	return 0;
}

int
fetch_markup_check(const char *bytes, size_t len, const char *charset)
{
	if ((charset != NULL && charset_label_refused(charset, strlen(charset))) ||
	    (len >= 4 && memcmp(bytes, "\x4c\x6f\xa7\x94", 4) == 0) ||
	    labels_refused(bytes, len, "harset") ||
	    labels_refused(bytes, len, "ncoding"))
		return FETCH_MARKUP_CHARSET;
	if (!attr_work_ok(bytes, len))
		return FETCH_MARKUP_ATTRIBUTES;
	return 0;
}

/* A charset label's room: iconv's names are shorter. */
#define CHARSET_NAME_MAX	64

/* charset's label, quotes dropped, into name: its length; 0 none or too long. */
static size_t
charset_label(const char *charset, char *name, size_t namesz)
{
	size_t n;

	charset += strspn(charset, "\"'");
	n = strcspn(charset, "\"'");
	if (n == 0 || n >= namesz)
		return 0;
	memcpy(name, charset, n);
	name[n] = '\0';
	return n;
}

/*
 * 1 when charset (NULL: none) names a wide encoding (NUL bytes its own),
 * its label read as charset_utf8 reads it.
 */
static int
charset_wide(const char *charset)
{
	static const char *const wide[] = {
		"utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2",
		"ucs-4", "ucs4", "unicode", "iso-10646",
	};
	char name[CHARSET_NAME_MAX];
	size_t i;

	if (charset == NULL || charset_label(charset, name, sizeof(name)) == 0)
		return 0;
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (strncasecmp(name, wide[i], strlen(wide[i])) == 0)
			return 1;
	return 0;
}

int
fetch_html_nul_free(const char *bytes, size_t len, const char *charset,
    char **copy, size_t *n)
{
	size_t i, o;

	*copy = NULL;
	*n = len;
	if (len == 0 || memchr(bytes, '\0', len) == NULL ||
	    charset_wide(charset) ||
	    memchr(bytes, '\0', len < 4 ? len : 4) != NULL)
		return 0;
	if ((*copy = malloc(len)) == NULL)
		return -1;
	for (i = o = 0; i < len; i++)
		if (bytes[i] != '\0')
			(*copy)[o++] = bytes[i];
	*n = o;
	return 0;
}

/* The first h1's text below top, NULL when none. */
static char *
first_h1(xmlNode *top)
{
	xmlNode *n;

	for (n = top; n != NULL; n = next_node(n, top, 1))
		if (is_elem(n, "h1"))
			return node_text(n, FETCH_TITLE_MAX);
	return NULL;
}

int
html_extract(const char *bytes, size_t len, const char *base_url,
    const char *charset, struct fetch_doc *doc, const char **why)
{
	htmlDocPtr hdoc = NULL;
	xmlNode *top, *root, *body;
	char *base = NULL, *copy = NULL;
	size_t i;
	int rc = -1;

	memset(doc, 0, sizeof(*doc));
	if (len > FETCH_INPUT_MAX) {
		*why = "html: over 16 MiB";
		return -1;
	}
	switch (fetch_markup_check(bytes, len, charset)) {
	case FETCH_MARKUP_CHARSET:
		*why = "html: charset refused";
		return -1;
	case FETCH_MARKUP_ATTRIBUTES:
		*why = "html: too many attributes";
		return -1;
	}
	*why = "html: out of memory";
	if (fetch_html_nul_free(bytes, len, charset, &copy, &len) < 0)
		goto out;
	fetch_xml_quiet();
	*why = "html: not a document";
	if (len == 0 || (hdoc = htmlReadMemory(copy != NULL ? copy : bytes,
	    (int)len, base_url, charset, HTML_OPTIONS)) == NULL)
		goto out;
	if ((top = xmlDocGetRootElement(hdoc)) == NULL)
		goto out;
	*why = "html: out of memory";
	if (read_meta(doc, top, base_url, &base) < 0 ||
	    collect_links(doc, top, base ? base : base_url) < 0 ||
	    walk_content(doc, root = content_root(top)) < 0)
		goto out;
	/* An empty main (a page its scripts fill): the body's text. */
	if (doc->nblocks == 0 && !doc->truncated &&
	    (body = body_of(top)) != root && walk_content(doc, body) < 0)
		goto out;
	for (i = 0; doc->title == NULL && i < doc->nblocks; i++)
		if (doc->blocks[i].kind == FETCH_HEADING && doc->blocks[i].level == 1)
			doc->title = clean_line(doc->blocks[i].text,
			    doc->blocks[i].len, META_RAW_MAX, FETCH_TITLE_MAX);
	if (doc->title == NULL)
		doc->title = first_h1(top);
	*why = NULL;
	rc = 0;
out:
	free(base);
	free(copy);
	if (hdoc != NULL)
		xmlFreeDoc(hdoc);
	if (rc < 0)
		fetch_doc_free(doc);
	return rc;
}

/* ------------------------------------------------------------ lines */

/* The next line of s[*at..len) (CR before LF dropped); 0 at the end. */
static int
next_line(const char *s, size_t len, size_t *at, const char **line,
    size_t *n)
{
	const char *nl;
	size_t rest;

	if (*at >= len)
		return 0;
	*line = s + *at;
	rest = len - *at;
	nl = memchr(*line, '\n', rest);
	*n = nl ? (size_t)(nl - *line) : rest;
	*at += *n + (nl ? 1 : 0);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\f' && s[i] != '\v')
			return 0;
	return 1;
}

/*
 * Whether charset (NULL: none) reads as UTF-8, its label copied into
 * name: none, a label past iconv's names, UTF-8 or its subset US-ASCII.
 */
static int
charset_utf8(const char *charset, char name[CHARSET_NAME_MAX])
{
	if (charset == NULL || charset_label(charset, name,
	    CHARSET_NAME_MAX) == 0)
		return 1;
	return strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0 ||
	    strcasecmp(name, "us-ascii") == 0 || strcasecmp(name, "ascii") == 0;
}

int
fetch_charset_utf8(const char *charset)
{
	char name[CHARSET_NAME_MAX];

	return charset_utf8(charset, name);
}

/*
 * The iconv(3) name of a text's encoding: its UTF-16 byte order mark's
 * (which the decoder then skips), else charset's (quotes dropped, copied
 * into name); NULL for UTF-8 (charset_utf8) or none.
 */
static const char *
text_encoding(const char *bytes, size_t len, const char *charset,
    char name[CHARSET_NAME_MAX])
{
	if (len >= 2 && memcmp(bytes, "\xff\xfe", 2) == 0)
		return "UTF-16";	/* iconv reads the mark's order */
	if (len >= 2 && memcmp(bytes, "\xfe\xff", 2) == 0)
		return "UTF-16";
	if (len >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0)
		return NULL;
	return charset_utf8(charset, name) ? NULL : name;
}

int
fetch_text_decode(const char *bytes, size_t len, const char *charset,
    char **out, size_t *outlen)
{
	char name[CHARSET_NAME_MAX], *dst = NULL, *grown, *ip, *op;
	const char *enc;
	size_t cap, il, ol, o = 0, unit = 1;
	iconv_t cd;
	int grow = 1;

	*out = NULL;
	*outlen = 0;
	if ((enc = text_encoding(bytes, len, charset, name)) == NULL ||
	    (cd = iconv_open("UTF-8", enc)) == (iconv_t)-1)
		return 0;	/* unknown: read as UTF-8, as before */
	/* What a byte the encoding does not map skips: its code unit. */
	if (strncasecmp(enc, "utf-16", 6) == 0 ||
	    strncasecmp(enc, "utf16", 5) == 0 ||
	    strncasecmp(enc, "ucs-2", 5) == 0 ||
	    strncasecmp(enc, "ucs2", 4) == 0)
		unit = 2;
	else if (strncasecmp(enc, "utf-32", 6) == 0 ||
	    strncasecmp(enc, "utf32", 5) == 0 ||
	    strncasecmp(enc, "ucs-4", 5) == 0 ||
	    strncasecmp(enc, "ucs4", 4) == 0)
		unit = 4;
	cap = 2 * len + 16;
	ip = (char *)(uintptr_t)bytes;
	il = len;
	for (;;) {
		if (grow || cap - o < 16) {
			if (dst != NULL)
				cap *= 2;
			grow = 0;
			if ((grown = realloc(dst, cap)) == NULL) {
				free(dst);
				iconv_close(cd);
				return -1;
			}
			dst = grown;
		}
		op = dst + o;
		ol = cap - o;
		if (iconv(cd, il > 0 ? &ip : NULL, &il, &op, &ol) !=
		    (size_t)-1) {
			o = (size_t)(op - dst);
			if (il == 0)
				break;
			continue;
		}
		o = (size_t)(op - dst);
		if (errno == E2BIG) {
			grow = 1;
			continue;
		}
		if (errno != EILSEQ)	/* EINVAL: cut at the end */
			break;
		/* Bytes the encoding does not map: U+FFFD, and on. */
		if (cap - o < 3) {
			grow = 1;
			continue;
		}
		memcpy(dst + o, "\xef\xbf\xbd", 3);
		o += 3;
		ip += unit < il ? unit : il;
		il -= unit < il ? unit : il;
	}
	iconv_close(cd);
	*out = dst;
	*outlen = o;
	return 0;
}

int
text_extract(const char *bytes, size_t len, struct fetch_doc *doc,
    const char **why)
{
	struct fetch_text para = { 0 };
	const char *line;
	size_t at = 0, n;
	int r = 0, rc = -1, first = 1;

	memset(doc, 0, sizeof(*doc));
	bytes = proto_bom_skip(bytes, &len);
	*why = "text: out of memory";
	while (r == 0 && next_line(bytes, len, &at, &line, &n)) {
		if (first && !blank(line, n)) {
			first = 0;
			if (n <= TEXT_TITLE_MAX)
				doc->title = clean_line(line, n, n, FETCH_TITLE_MAX);
		}
		if (blank(line, n)) {
			if (para.len > 0)
				r = doc_add_block(doc, FETCH_PARA, 0, para.p, para.len);
			para.len = 0;
			continue;
		}
		if (para.len + n + 1 > FETCH_TEXT_MAX) {
			doc->truncated = 1;
			break;
		}
		if (fetch_text_put(&para, " ", 1) < 0 || fetch_text_put(&para, line, n) < 0)
			goto out;
	}
	if (r == 0 && para.len > 0)
		r = doc_add_block(doc, FETCH_PARA, 0, para.p, para.len);
	if (r < 0)
		goto out;
	*why = NULL;
	rc = 0;
out:
	fetch_text_free(&para);
	if (rc < 0)
		fetch_doc_free(doc);
	return rc;
}

/* ------------------------------------------------------------ markdown */

/* The next occurrence of c in s[from..n), remembered: the searches of a
 * line start at growing offsets, so each byte is looked at about once. */
struct md_find {
	size_t from, at;	/* last searched from, found at (n: none) */
	int set;
};

static size_t
md_find(const char *s, size_t n, size_t from, char c, struct md_find *f)
{
	const char *p;

	if (f->set && from >= f->from && from <= f->at)
		return f->at;
	p = from < n ? memchr(s + from, c, n - from) : NULL;
	f->from = from;
	f->at = p ? (size_t)(p - s) : n;
	f->set = 1;
	return f->at;
}

/* Inline text without its marks: ` ** __ and "![" / "[" / "]" dropped. */
static int
md_plain(struct fetch_text *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '`' || s[i] == '[' || s[i] == ']' ||
		    (s[i] == '!' && i + 1 < n && s[i + 1] == '['))
			continue;
		if ((s[i] == '*' || s[i] == '_') && i + 1 < n && s[i + 1] == s[i]) {
			i++;
			continue;
		}
		if (fetch_text_put(out, s + i, 1) < 0)
			return -1;
	}
	return 0;
}

/* 1 when s[0..n) is an autolink's inside: a scheme's URL or an address. */
static int
md_autolink(const char *s, size_t n)
{
	size_t i, colon = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '<')
			return 0;
		if (s[i] == ':' && colon == 0)
			colon = i;
	}
	return colon >= 2 || memchr(s, '@', n) != NULL;
}

/*
 * A Markdown line's inline text: links and images as their text
 * ([text](url), [text][ref]), autolinks <http://...> dropped, code-span
 * backticks and strong marks dropped.
 */
static int
md_inline(struct fetch_text *out, const char *s, size_t n)
{
	struct md_find close = { 0 }, paren = { 0 }, gt = { 0 };
	size_t i = 0, j, k, start = 0;

	while (i < n) {
		if (s[i] == '[') {
			j = md_find(s, n, i + 1, ']', &close);
			if (j < n && j + 1 < n && (s[j + 1] == '(' || s[j + 1] == '[')) {
				k = md_find(s, n, j + 2, s[j + 1] == '(' ? ')' : ']',
				    s[j + 1] == '(' ? &paren : &close);
				if (k < n) {
					/* An image's "!" goes with its brackets. */
					size_t end = i > start && s[i - 1] == '!' ? i - 1 : i;

					if (md_plain(out, s + start, end - start) < 0 ||
					    md_plain(out, s + i + 1, j - i - 1) < 0)
						return -1;
					i = start = k + 1;
					continue;
				}
			}
		} else if (s[i] == ']' && i + 1 < n && s[i + 1] == '(') {
			/* The end of a link whose text held a link (a badge). */
			k = md_find(s, n, i + 2, ')', &paren);
			if (k < n) {
				if (md_plain(out, s + start, i - start) < 0)
					return -1;
				i = start = k + 1;
				continue;
			}
		} else if (s[i] == '<') {
			k = md_find(s, n, i + 1, '>', &gt);
			if (k < n && k - i <= FETCH_URL_MAX &&
			    md_autolink(s + i + 1, k - i - 1)) {
				if (md_plain(out, s + start, i - start) < 0)
					return -1;
				i = start = k + 1;
				continue;
			}
		}
		i++;
	}
	return md_plain(out, s + start, n - start);
}

/* The Markdown reader's state: the open paragraph or item, the fence. */
struct md {
	struct fetch_doc *doc;
	struct fetch_text para;	/* the open paragraph or item, inline done */
	enum fetch_kind kind;	/* FETCH_PARA or FETCH_ITEM */
	struct fetch_text code;	/* the open fenced block */
	char fence;		/* '`' or '~' inside a fence, else 0 */
	size_t fence_len;
	int r;			/* doc_add_block's last: 1 full, -1 no memory */
};

static void
md_flush(struct md *m)
{
	if (m->para.len > 0 && m->r == 0)
		m->r = doc_add_block(m->doc, m->kind, 0, m->para.p, m->para.len);
	m->para.len = 0;
	m->kind = FETCH_PARA;
}

static void
md_add(struct md *m, enum fetch_kind kind, int level, const char *s,
    size_t n)
{
	struct fetch_text t = { 0 };

	if (m->r != 0)
		return;
	if (md_inline(&t, s, n) < 0)
		m->r = -1;
	else if (t.len > 0)
		m->r = doc_add_block(m->doc, kind, level, t.p, t.len);
	fetch_text_free(&t);
}

/* The run of c at s's start (n bytes), after at most 3 spaces. */
static size_t
md_run(const char *s, size_t n, char c, size_t *indent)
{
	size_t i = 0, r = 0;

	while (i < n && i < 3 && s[i] == ' ')
		i++;
	*indent = i;
	while (i + r < n && s[i + r] == c)
		r++;
	return r;
}

/* 1 when the line is c repeated (spaces allowed), at least min times. */
static int
md_rule(const char *s, size_t n, char c, size_t min, int spaces)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == c)
			count++;
		else if (!(s[i] == ' ' || s[i] == '\t') ||
		    (!spaces && count > 0 && !blank(s + i, n - i)))
			return 0;
	}
	return count >= min;
}

/* The list marker's length at s ("- ", "* ", "+ ", "12. ", "3) "), 0. */
static size_t
md_item(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') &&
	    (s[1] == ' ' || s[1] == '\t'))
		return 2;
	while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i > 0 && i + 1 < n && (s[i] == '.' || s[i] == ')') &&
	    (s[i + 1] == ' ' || s[i + 1] == '\t'))
		return i + 2;
	return 0;
}

/* A table's delimiter row ("|---|:--:|"). */
static int
md_table_rule(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '|' && s[i] != '-' && s[i] != ':' && s[i] != ' ' &&
		    s[i] != '\t')
			return 0;
	return memchr(s, '|', n) != NULL && memchr(s, '-', n) != NULL;
}

/* A front matter at the top ("---" or "+++" lines around it): its end,
 * 0 when none; its "title:" or "title =" into doc->title. */
static size_t
md_front_matter(struct fetch_doc *doc, const char *s, size_t len)
{
	const char *line, *v;
	size_t at = 0, n, vn, i;
	char mark;

	if (!next_line(s, len, &at, &line, &n) || n != 3 ||
	    (memcmp(line, "---", 3) != 0 && memcmp(line, "+++", 3) != 0))
		return 0;
	mark = line[0];
	while (next_line(s, len, &at, &line, &n)) {
		if (n == 3 && (memcmp(line, mark == '-' ? "---" : "+++", 3) == 0 ||
		    (mark == '-' && memcmp(line, "...", 3) == 0)))
			return at;
		if (doc->title != NULL || n < 6 || strncasecmp(line, "title", 5) != 0)
			continue;
		for (i = 5; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == n || (line[i] != ':' && line[i] != '='))
			continue;
		v = line + i + 1;
		vn = n - i - 1;
		while (vn > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
			v++;
			vn -= 2;
		}
		doc->title = clean_line(v, vn, vn, FETCH_TITLE_MAX);
	}
	free(doc->title);
	doc->title = NULL;
	return 0;
}

/* One line outside a fence. */
static void
md_line(struct md *m, const char *s, size_t n)
{
	const char *close;
	size_t indent, run, mark;

	while (1) {		/* block quotes: their marks dropped */
		for (indent = 0; indent < n && indent < 3 && s[indent] == ' ';)
			indent++;
		if (indent >= n || s[indent] != '>')
			break;
		s += indent + 1;
		n -= indent + 1;
		if (n > 0 && s[0] == ' ') {
			s++;
			n--;
		}
	}
	if (blank(s, n)) {
		md_flush(m);
		return;
	}
	if (((run = md_run(s, n, '`', &indent)) >= 3 &&
	    memchr(s + indent + run, '`', n - indent - run) == NULL) ||
	    (run = md_run(s, n, '~', &indent)) >= 3) {
		md_flush(m);
		m->fence = s[indent];
		m->fence_len = run;
		m->code.len = 0;
		return;
	}
	if ((run = md_run(s, n, '#', &indent)) >= 1 && run <= 6 &&
	    (indent + run == n || s[indent + run] == ' ' || s[indent + run] == '\t')) {
		size_t a = indent + run, b = n;

		md_flush(m);
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		while (b > a && s[b - 1] == '#')	/* a closing sequence */
			b--;
		if (b < n && b > a && s[b - 1] != ' ' && s[b - 1] != '\t')
			b = n;		/* "C#": not a closing sequence */
		md_add(m, FETCH_HEADING, (int)run, s + a, b - a);
		return;
	}
	if (m->para.len > 0 && m->kind == FETCH_PARA &&
	    (md_rule(s, n, '=', 1, 0) || md_rule(s, n, '-', 1, 0))) {
		if (m->r == 0)
			m->r = doc_add_block(m->doc, FETCH_HEADING,
			    md_rule(s, n, '=', 1, 0) ? 1 : 2, m->para.p, m->para.len);
		m->para.len = 0;
		return;
	}
	if (md_rule(s, n, '-', 3, 1) || md_rule(s, n, '*', 3, 1) ||
	    md_rule(s, n, '_', 3, 1)) {
		md_flush(m);
		return;
	}
	for (indent = 0; indent < n && (s[indent] == ' ' || s[indent] == '\t');)
		indent++;
	if (n - indent >= 2 && s[indent] == '[' &&
	    (close = memchr(s + indent, ']', n - indent)) != NULL &&
	    close + 1 < s + n && close[1] == ':')
		return;			/* a link reference definition */
	if (md_table_rule(s, n))
		return;
	if ((mark = md_item(s + indent, n - indent)) > 0) {
		md_flush(m);
		m->kind = FETCH_ITEM;
		s += indent + mark;
		n -= indent + mark;
	}
	if (m->r != 0)
		return;
	if (m->para.len > 0 && fetch_text_put(&m->para, " ", 1) < 0)
		m->r = -1;
	else if (m->para.len + n > FETCH_TEXT_MAX) {
		m->doc->truncated = 1;
		m->r = 1;
	} else if (md_inline(&m->para, s, n) < 0)
		m->r = -1;
}

int
md_extract(const char *bytes, size_t len, struct fetch_doc *doc,
    const char **why)
{
	struct md m;
	const char *line;
	size_t at, n, indent, run, i;
	int rc = -1;

	memset(doc, 0, sizeof(*doc));
	memset(&m, 0, sizeof(m));
	m.doc = doc;
	m.kind = FETCH_PARA;
	bytes = proto_bom_skip(bytes, &len);
	at = md_front_matter(doc, bytes, len);
	while (m.r == 0 && next_line(bytes, len, &at, &line, &n)) {
		if (m.fence == 0) {
			md_line(&m, line, n);
			continue;
		}
		run = md_run(line, n, m.fence, &indent);
		if (run >= m.fence_len && blank(line + indent + run,
		    n - indent - run)) {
			if (m.code.len > 0)
				m.r = doc_add_block(doc, FETCH_CODE, 0, m.code.p,
				    m.code.len);
			m.fence = 0;
			continue;
		}
		if (m.code.len + n + 1 > FETCH_TEXT_MAX) {
			doc->truncated = 1;
			m.r = 1;
		} else if (fetch_text_put(&m.code, line, n) < 0 ||
		    fetch_text_put(&m.code, "\n", 1) < 0)
			m.r = -1;
	}
	if (m.fence != 0 && m.code.len > 0 && m.r == 0)
		m.r = doc_add_block(doc, FETCH_CODE, 0, m.code.p, m.code.len);
	md_flush(&m);
	if (m.r < 0) {
		*why = "markdown: out of memory";
		goto out;
	}
	for (i = 0; doc->title == NULL && i < doc->nblocks; i++)
		if (doc->blocks[i].kind == FETCH_HEADING && doc->blocks[i].level == 1)
			doc->title = clean_line(doc->blocks[i].text,
			    doc->blocks[i].len, META_RAW_MAX, FETCH_TITLE_MAX);
	*why = NULL;
	rc = 0;
out:
	fetch_text_free(&m.para);
	fetch_text_free(&m.code);
	if (rc < 0)
		fetch_doc_free(doc);
	return rc;
}

/* ------------------------------------------------------------ for pdf.c */

int
fetch_doc_add(struct fetch_doc *doc, enum fetch_kind kind, int level,
    const char *text, size_t len)
{
	return doc_add_block(doc, kind, level, text, len);
}

char *
fetch_clean_line(const char *s, size_t len, size_t max)
{
	return clean_line(s, len, META_RAW_MAX, max);
}
