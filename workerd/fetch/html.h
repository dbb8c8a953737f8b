/*
 * A fetched or uploaded document as the knowledge base reads it: bytes in
 * (an HTML page, a Markdown or a plain-text file), a struct fetch_doc out
 * (title, language, canonical URL, robots meta, the page's links and its
 * readable text as ordered blocks: headings and body blocks), which the
 * chunker (chunk.h) splits. No I/O: the fetcher hands the bytes it got and
 * the URL it got them from. The HTML is parsed by libxml2's HTML parser
 * (no network, errors silenced, recovering from broken markup), the
 * page's boilerplate (scripts, menus, headers and footers, cookie banners,
 * hidden elements ...) dropped; Markdown and plain text by line rules.
 *
 * Everything a page controls is bounded: the text kept (FETCH_TEXT_MAX),
 * the blocks, the links, the walk's depth, the title and URL lengths.
 * A bound reached keeps what came before it and sets doc->truncated.
 * The text out is valid UTF-8 whatever came in (U+FFFD for invalid bytes,
 * control characters but tab and newline dropped).
 */
#ifndef PARLEY_FETCH_HTML_H
#define PARLEY_FETCH_HTML_H

#include <stddef.h>

#define FETCH_INPUT_MAX		(16u << 20)	/* bytes html_extract reads */
#define FETCH_TEXT_MAX		(4u << 20)	/* bytes of block text kept */
#define FETCH_BLOCKS_MAX	100000		/* blocks kept */
#define FETCH_LINKS_MAX		2000		/* links kept */
#define FETCH_DEPTH_MAX		256		/* element depth walked */
#define FETCH_TITLE_MAX		512		/* bytes of the title */
#define FETCH_URL_MAX		2048		/* bytes of a link or canonical */
#define FETCH_LANG_MAX		35		/* bytes of the language tag */

enum fetch_kind {
	FETCH_HEADING,		/* a heading, level 1-6 */
	FETCH_PARA,		/* a paragraph (or any other body text) */
	FETCH_ITEM,		/* a list item (li, dt, dd) */
	FETCH_ROW,		/* a table row, cells joined by " | " */
	FETCH_CODE,		/* preformatted: its newlines kept */
};

struct fetch_block {
	enum fetch_kind kind;
	int level;		/* 1-6 for a heading, 0 otherwise */
	char *text;		/* NUL-ended UTF-8, white space collapsed (not in code) */
	size_t len;		/* strlen(text), > 0 */
};

struct fetch_doc {
	char *title;		/* <title>, else the first h1; NULL when none */
	char *lang;		/* <html lang>, NULL when none */
	char *canonical;	/* <link rel=canonical>, absolute http(s); NULL */
	int noindex;		/* robots meta: do not index this page */
	int nofollow;		/* robots meta: do not follow its links */
	char **links;		/* absolute http(s) URLs, no fragment, each once */
	size_t nlinks;
	struct fetch_block *blocks;	/* the readable text, in order */
	size_t nblocks;
	size_t text_bytes;	/* sum of the blocks' len */
	/* Bytes of block text kept: 0 is FETCH_TEXT_MAX; a reader given a
	 * smaller bound (pdf_limits' text) sets it before adding a block. */
	size_t text_max;
	int truncated;		/* a bound cut the text, blocks or links */
};

/*
 * Reads an HTML page of len bytes (at most FETCH_INPUT_MAX) fetched from
 * base_url (absolute http(s), what links resolve against unless the page
 * has a <base href>; NULL: only absolute links are kept). charset: the
 * one of the HTTP Content-Type, NULL when none (the page's <meta charset>
 * is then honoured, else libxml2's guess). The text is taken from the
 * first <main> or role="main" element, else the first <article>, else
 * <body> (and from <body> when that element has no text), without
 * boilerplate (internals.md lists what is dropped).
 * Links come from the whole page (nav included, rel=nofollow excepted):
 * resolved with xmlBuildURI, http and https only, fragment dropped, at
 * most FETCH_LINKS_MAX, each once. Refused before parsing: a page whose
 * tags hold so many attributes that libxml2's quadratic check of them
 * would take over a second ("html: too many attributes"), and one in
 * UTF-7, EBCDIC, ISO-2022 or HZ, where that count cannot see the tags
 * ("html: charset refused": fetch_markup_check). 0 with *doc filled (free it with fetch_doc_free, even when
 * it holds no block), or -1 with *doc zeroed and *why a static reason
 * ("html: ...").
 */
int html_extract(const char *bytes, size_t len, const char *base_url,
    const char *charset, struct fetch_doc *doc, const char **why);

/*
 * Reads a Markdown file (UTF-8): front matter ("---" or "+++" fenced at
 * the top) dropped but for its title, ATX ("# ...") and setext headings,
 * paragraphs, list items, fenced code (``` or ~~~, newlines kept);
 * links' and images' text kept, their URLs, reference definitions and
 * autolinks dropped, code-span backticks and ** __ dropped. Title: the
 * front matter's "title:", else the first level-1 heading. No links are
 * collected. 0 with *doc filled (fetch_doc_free), or -1 with *why.
 */
int md_extract(const char *bytes, size_t len, struct fetch_doc *doc,
    const char **why);

/*
 * Reads a plain-text file (UTF-8): paragraphs at blank lines, white
 * space collapsed within each; the title is the first line when it is
 * at most 120 bytes. 0 with *doc filled (fetch_doc_free), or -1 with
 * *why.
 */
int text_extract(const char *bytes, size_t len, struct fetch_doc *doc,
    const char **why);

/*
 * A text file's bytes (Markdown, plain text: len bytes) as UTF-8, for
 * md_extract and text_extract, which read UTF-8: a UTF-16 byte order
 * mark says its encoding, else charset (the Content-Type's parameter,
 * NULL when none) does; one iconv(3) does not know, UTF-8 or US-ASCII
 * reads the bytes as they are. 0 with *out NULL (read bytes as they
 * are) or a malloc'd copy of *outlen bytes (a byte the encoding does
 * not map is U+FFFD); -1 out of memory.
 */
int fetch_text_decode(const char *bytes, size_t len, const char *charset,
    char **out, size_t *outlen);

/*
 * Whether a Content-Type's charset parameter (quotes dropped; NULL or
 * empty when none) reads as UTF-8: utf-8, utf8, or their subset US-ASCII.
 */
int fetch_charset_utf8(const char *charset);

/*
 * What is checked of untrusted markup (HTML or XML, len bytes) before
 * libxml2 2.9 parses it, whose check of a tag's attributes against each
 * other is quadratic: 0 when it may be parsed; FETCH_MARKUP_ATTRIBUTES
 * when the tags' attribute counts (a '<' and a letter opens a tag, quoted
 * values skipped, NUL bytes skipped for UTF-16 and UTF-32) have a sum of
 * squares over 500 million (about a second of libxml2's time);
 * FETCH_MARKUP_CHARSET when charset (the caller's, NULL when none), a
 * "charset" or "encoding" label in the bytes, or an EBCDIC start names an
 * encoding where '<' is not the byte 0x3C (UTF-7, EBCDIC) or where
 * shifted bytes may look like a quote (ISO-2022, HZ), which the count
 * could not see through. Linear in len.
 */
enum {
	FETCH_MARKUP_CHARSET = 1,
	FETCH_MARKUP_ATTRIBUTES = 2,
};
int fetch_markup_check(const char *bytes, size_t len, const char *charset);
/* libxml2 set up, its reports (this thread's) sent nowhere: before a parse. */
void fetch_xml_quiet(void);
/*
 * The page's bytes as libxml2's HTML parser is to read them: it stops at
 * a NUL byte, the rest of the page lost, so a page in a charset of single
 * bytes or UTF-8 is read without its NUL bytes (a browser's text leaves
 * them out too). A wide one holds NUL bytes of its own and is read as it
 * is: charset (NULL when none) naming UTF-16, UTF-32, UCS-2 or UCS-4, or
 * a NUL in the first 4 bytes (a BOM's or a '<' in a wide encoding).
 * *copy is NULL when bytes serve as they are, else a copy without them to
 * free, *n bytes either way. -1 out of memory.
 */
int fetch_html_nul_free(const char *bytes, size_t len, const char *charset,
    char **copy, size_t *n);

/*
 * url (a page's address as a link, a sitemap or a source names it) as
 * the knowledge base keys its page: its fragment dropped, and the
 * query's campaign-tracking parameters (utm_*, gclid, fbclid, msclkid:
 * they name how a visitor came, never another page), "?" too when none
 * is left; the rest as it is. A malloc'd string no longer than url, or
 * NULL out of memory.
 */
char *fetch_url_clean(const char *url);

/* Frees what a doc holds and zeroes it; a zeroed doc is fine. */
void fetch_doc_free(struct fetch_doc *doc);

/*
 * Writes src's len bytes to dst as valid UTF-8: a byte that does not
 * start a valid sequence (overlong, surrogate, past U+10FFFF, cut) is
 * U+FFFD; a lone CR, a form feed and a vertical tab are a newline; the
 * other C0 controls but tab and newline (a CR before LF, NUL) and DEL are
 * dropped.
 * dst must hold 3 * len + 1 bytes; it is NUL-ended. Returns the bytes
 * written (the NUL not counted).
 */
size_t fetch_utf8_clean(char *dst, const char *src, size_t len);

/*
 * For the readers of other formats (pdf.c), what html.c's own use: adds
 * a block of len raw bytes to doc, made valid UTF-8, white space
 * collapsed (code trimmed), cut to what doc's text bound (text_max)
 * leaves (an empty block is not added). 0; 1 when the doc is full
 * (truncated set); -1 out of memory.
 */
int fetch_doc_add(struct fetch_doc *doc, enum fetch_kind kind, int level,
    const char *text, size_t len);

/*
 * A clean copy of s (len bytes, at most 8 KiB of them read): valid
 * UTF-8, white space collapsed, cut at a character boundary to at most
 * max bytes; NULL when empty or out of memory. Free it with free().
 */
char *fetch_clean_line(const char *s, size_t len, size_t max);

/* A growing text, NUL-ended when not empty; zeroed, it is empty. */
struct fetch_text {
	char *p;
	size_t len, cap;
};

/* Room in b for n more bytes and a NUL. 0, or -1 out of memory. */
int fetch_text_grow(struct fetch_text *b, size_t n);
/* Appends s's n bytes to b. 0, or -1 out of memory (b as it was). */
int fetch_text_put(struct fetch_text *b, const char *s, size_t n);
/* Frees what b holds and zeroes it. */
void fetch_text_free(struct fetch_text *b);

#endif
