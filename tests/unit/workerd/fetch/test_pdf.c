/*
 * The PDF reader (workerd/fetch/pdf.c), on PDFs the test makes itself:
 * with cairo's PDF surface (fonts embedded, streams compressed, an
 * outline) and with a small writer of its own (the 14 standard fonts,
 * uncompressed streams, an /Encrypt dictionary cairo cannot write).
 * Text of several pages in order; the title from the metadata, else the
 * first heading, else the first line; paragraphs cut at wider spaces,
 * wrapped lines joined and a hyphenated word rejoined; page numbers and
 * running headers dropped; the outline's headings with their levels,
 * where their line is (after a section number too) and not repeated, or
 * at their page's start; encrypted, damaged, not-PDF and too-big
 * input refused with a reason; an empty PDF; the page, time and text
 * bounds; chunk_doc on the result. With PDF_SEED_DIR set, every PDF made
 * is also written there (the fuzz target's seeds: tests/fuzz/pdf/).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <glib.h>

#include "chunk.h"
#include "pdf.h"

/* ------------------------------------------------------------ bytes */

struct mem {
	unsigned char *p;
	size_t len, cap;
};

static void
mem_put(struct mem *m, const void *s, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 4096;
		m->p = realloc(m->p, m->cap);
		assert_non_null(m->p);
	}
	memcpy(m->p + m->len, s, n);
	m->len += n;
}

static void
mem_printf(struct mem *m, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(buf));
	mem_put(m, buf, (size_t)n);
}

/* Writes the PDF to $PDF_SEED_DIR/name when the variable is set. */
static void
seed(const struct mem *m, const char *name)
{
	const char *dir = getenv("PDF_SEED_DIR");
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(m->p, 1, m->len, f), m->len);
	fclose(f);
}

/* ------------------------------------------------------------ cairo */

static cairo_status_t
cairo_out(void *closure, const unsigned char *data, unsigned int n)
{
	mem_put(closure, data, n);
	return CAIRO_STATUS_SUCCESS;
}

/*
 * A PDF of npages A4 pages, 11-point sans, written by cairo. lines[p] is
 * page p's text, one string a line, NULL-ended: "" leaves a line's space
 * empty (a paragraph break), "#N text" is a heading of outline level N
 * (an outline entry to its page, the text in 16 points), "@N text" an
 * outline entry to the page and nothing drawn. header: a
 * running header on every page (a %d in it gets the page number);
 * numbers: each page's number at its bottom.
 */
struct cpdf {
	const char *title;
	const char *header;
	int numbers;
	int npages;
	const char *const *const *lines;
};

static void
cairo_page(cairo_surface_t *s, cairo_t *cr, const struct cpdf *c, int p,
    int *outline)
{
	const char *const *l;
	char buf[256], attrs[64];
	double y = 90;
	int level;

	cairo_set_font_size(cr, 11);
	if (c->header != NULL) {
		snprintf(buf, sizeof(buf), c->header, p + 1);
		cairo_move_to(cr, 72, 40);
		cairo_show_text(cr, buf);
	}
	for (l = c->lines[p]; *l != NULL; l++, y += 14) {
		if ((*l)[0] == '#' || (*l)[0] == '@') {
			level = (*l)[1] - '0';
			snprintf(attrs, sizeof(attrs), "page=%d", p + 1);
			outline[level] = cairo_pdf_surface_add_outline(s,
			    outline[level - 1], *l + 3, attrs,
			    CAIRO_PDF_OUTLINE_FLAG_OPEN);
			if ((*l)[0] == '@') {
				y -= 14;
				continue;
			}
			y += 10;
			cairo_set_font_size(cr, 16);
			cairo_move_to(cr, 72, y);
			cairo_show_text(cr, *l + 3);
			cairo_set_font_size(cr, 11);
			y += 10;
			continue;
		}
		cairo_move_to(cr, 72, y);
		cairo_show_text(cr, *l);
	}
	if (c->numbers) {
		snprintf(buf, sizeof(buf), "%d", p + 1);
		cairo_move_to(cr, 290, 800);
		cairo_show_text(cr, buf);
	}
	cairo_show_page(cr);
}

static struct mem
cairo_pdf(const struct cpdf *c, const char *seed_name)
{
	struct mem m = { 0 };
	cairo_surface_t *s;
	cairo_t *cr;
	int p, outline[8] = { CAIRO_PDF_OUTLINE_ROOT };

	s = cairo_pdf_surface_create_for_stream(cairo_out, &m, 595, 842);
	if (c->title != NULL)
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE,
		    c->title);
	cr = cairo_create(s);
	cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL,
	    CAIRO_FONT_WEIGHT_NORMAL);
	for (p = 0; p < c->npages; p++)
		cairo_page(s, cr, c, p, outline);
	if (c->npages == 0)	/* cairo writes a blank page */
		cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
	if (seed_name != NULL)
		seed(&m, seed_name);
	return m;
}

/* ------------------------------------------------------------ by hand */

/*
 * A PDF written here: one page a content stream (uncompressed, Helvetica
 * from the standard 14), xref and trailer exact; encrypt: an /Encrypt
 * dictionary (RC4, 40 bits) whose user password is not the empty one.
 */
static struct mem
hand_pdf(const char *const *contents, int npages, int encrypt,
    const char *seed_name)
{
	struct mem m = { 0 };
	size_t off[256], xref;
	int n = 0, i, obj;

	assert_true(3 + 2 * npages + 1 < 256);
	mem_printf(&m, "%%PDF-1.4\n");
	off[++n] = m.len;
	mem_printf(&m, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[++n] = m.len;
	mem_printf(&m, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", npages);
	for (i = 0; i < npages; i++)
		mem_printf(&m, " %d 0 R", 4 + 2 * i);
	mem_printf(&m, " ] >>\nendobj\n");
	off[++n] = m.len;
	mem_printf(&m, "3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont "
	    "/Helvetica >>\nendobj\n");
	for (i = 0; i < npages; i++) {
		obj = 4 + 2 * i;
		off[++n] = m.len;
		mem_printf(&m, "%d 0 obj\n<< /Type /Page /Parent 2 0 R "
		    "/MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R "
		    ">> >> /Contents %d 0 R >>\nendobj\n", obj, obj + 1);
		off[++n] = m.len;
		mem_printf(&m, "%d 0 obj\n<< /Length %zu >>\nstream\n", obj + 1,
		    strlen(contents[i]));
		mem_put(&m, contents[i], strlen(contents[i]));
		mem_printf(&m, "\nendstream\nendobj\n");
	}
	if (encrypt) {
		off[++n] = m.len;
		mem_printf(&m, "%d 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <", n);
		for (i = 0; i < 32; i++)
			mem_printf(&m, "%02x", 0x11 * (i % 15) + 3);
		mem_printf(&m, "> /U <");
		for (i = 0; i < 32; i++)
			mem_printf(&m, "%02x", 0x2b * i % 256);
		mem_printf(&m, "> /P -44 >>\nendobj\n");
	}
	xref = m.len;
	mem_printf(&m, "xref\n0 %d\n0000000000 65535 f \n", n + 1);
	for (i = 1; i <= n; i++)
		mem_printf(&m, "%010zu 00000 n \n", off[i]);
	mem_printf(&m, "trailer\n<< /Size %d /Root 1 0 R", n + 1);
	if (encrypt)
		mem_printf(&m, " /Encrypt %d 0 R /ID [<0123456789abcdef0123456789"
		    "abcdef> <0123456789abcdef0123456789abcdef>]", n);
	mem_printf(&m, " >>\nstartxref\n%zu\n%%%%EOF\n", xref);
	if (seed_name != NULL)
		seed(&m, seed_name);
	return m;
}

/* ------------------------------------------------------------ helpers */

static struct fetch_doc
extract_ok(const struct mem *m)
{
	struct fetch_doc doc;
	const char *why = "unset";

	if (pdf_extract(m->p, m->len, &doc, &why) != 0)
		fail_msg("pdf_extract: %s", why);
	assert_null(why);
	return doc;
}

/* The doc's blocks joined, one a line, "#N " before a heading. */
static char *
dump(const struct fetch_doc *doc)
{
	struct mem m = { 0 };
	size_t i;

	for (i = 0; i < doc->nblocks; i++) {
		if (doc->blocks[i].kind == FETCH_HEADING)
			mem_printf(&m, "#%d ", doc->blocks[i].level);
		else
			assert_int_equal(doc->blocks[i].kind, FETCH_PARA);
		mem_put(&m, doc->blocks[i].text, doc->blocks[i].len);
		mem_put(&m, "\n", 1);
	}
	mem_put(&m, "", 1);
	return (char *)m.p;
}

/* ------------------------------------------------------------ tests */

static const char *const order_p1[] = { "Alpha opens the first page.", NULL };
static const char *const order_p2[] = { "Bravo is the second page.", NULL };
static const char *const order_p3[] = { "Charlie closes on the third.", NULL };
static const char *const *const order_pages[] = { order_p1, order_p2,
	order_p3 };

static void
test_pages_in_order(void **state)
{
	struct cpdf c = { .title = "Field Guide", .npages = 3,
		.lines = order_pages };
	struct mem m = cairo_pdf(&c, "order.pdf");
	struct fetch_doc doc = extract_ok(&m);
	char *d = dump(&doc);

	assert_string_equal(doc.title, "Field Guide");
	assert_string_equal(d, "Alpha opens the first page.\n"
	    "Bravo is the second page.\nCharlie closes on the third.\n");
	assert_false(doc.truncated);
	assert_null(doc.lang);
	assert_int_equal(doc.nlinks, 0);
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static const char *const para_p1[] = {
	"The first paragraph of this page has words enough to wrap",
	"onto a second line where the extrac-",
	"tion of a hyphenated word goes on, and a well-known",
	"word keeps its own hyphen inside the line.",
	"",
	"A second paragraph starts after the empty line and runs",
	"on without a break",
	NULL,
};
static const char *const para_p2[] = {
	"into the next page, which goes on in lowercase.",
	"Then a short line ends here.",
	"",
	"\xe2\x80\xa2 A bullet item",
	"\xe2\x80\xa2 Another item",
	NULL,
};
static const char *const *const para_pages[] = { para_p1, para_p2 };

static void
test_paragraphs(void **state)
{
	struct cpdf c = { .npages = 2, .lines = para_pages };
	struct mem m = cairo_pdf(&c, "paragraphs.pdf");
	struct fetch_doc doc = extract_ok(&m);
	char *d = dump(&doc);

	assert_string_equal(d,
	    "The first paragraph of this page has words enough to wrap onto a "
	    "second line where the extraction of a hyphenated word goes on, "
	    "and a well-known word keeps its own hyphen inside the line.\n"
	    "A second paragraph starts after the empty line and runs on "
	    "without a break into the next page, which goes on in lowercase. "
	    "Then a short line ends here.\n"
	    "\xe2\x80\xa2 A bullet item\n"
	    "\xe2\x80\xa2 Another item\n");
	/* No metadata, no outline: the first line is over 120 bytes? No:
	 * 58, so it is the title. */
	assert_string_equal(doc.title,
	    "The first paragraph of this page has words enough to wrap");
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static const char *const edge_p1[] = { "Sales grew in the north.", NULL };
static const char *const edge_p2[] = { "Costs fell in the south.", NULL };
static const char *const edge_p3[] = { "Staff stayed the same.", NULL };
static const char *const edge_p4[] = { "The outlook is calm.", NULL };
static const char *const *const edge_pages[] = { edge_p1, edge_p2, edge_p3,
	edge_p4 };

static void
test_headers_and_numbers(void **state)
{
	struct cpdf c = { .title = "Report", .npages = 4, .numbers = 1,
		.header = "Acme Annual Report 2024, section %d",
		.lines = edge_pages };
	struct mem m = cairo_pdf(&c, "edges.pdf");
	struct fetch_doc doc = extract_ok(&m);
	char *d = dump(&doc);

	assert_string_equal(d, "Sales grew in the north.\n"
	    "Costs fell in the south.\nStaff stayed the same.\n"
	    "The outlook is calm.\n");
	free(d);
	fetch_doc_free(&doc);
	free(m.p);

	/* On two pages a header is not known as one: kept, numbers not. */
	c.npages = 2;
	m = cairo_pdf(&c, NULL);
	doc = extract_ok(&m);
	d = dump(&doc);
	assert_string_equal(d, "Acme Annual Report 2024, section 1\n"
	    "Sales grew in the north.\n"
	    "Acme Annual Report 2024, section 2\n"
	    "Costs fell in the south.\n");
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static const char *const out_p1[] = { "#1 Getting started",
	"Install the package first.", NULL };
static const char *const out_p2[] = { "#1 Configuration",
	"The main file lives in etc.", "#2 Network settings",
	"Set the proxy here.", NULL };
static const char *const out_p3[] = { "More text about the network.", NULL };
static const char *const *const out_pages[] = { out_p1, out_p2, out_p3 };

static void
test_outline(void **state)
{
	struct cpdf c = { .npages = 3, .lines = out_pages };
	struct mem m = cairo_pdf(&c, "outline.pdf");
	struct fetch_doc doc = extract_ok(&m);
	struct chunk *ch;
	const char *why;
	char *d = dump(&doc);
	size_t n, i;
	int saw_proxy = 0;

	assert_string_equal(d, "#1 Getting started\nInstall the package first.\n"
	    "#1 Configuration\nThe main file lives in etc.\n"
	    "#2 Network settings\nSet the proxy here.\n"
	    "More text about the network.\n");
	/* No metadata title: the first level-1 heading. */
	assert_string_equal(doc.title, "Getting started");

	/* The chunker on the result: every chunk carries the title, the
	 * proxy's chunk its heading path. */
	assert_int_equal(chunk_doc(&doc, NULL, &ch, &n, &why), 0);
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		assert_string_equal(ch[i].title, "Getting started");
		if (strstr(ch[i].text, "Set the proxy here.") != NULL) {
			saw_proxy = 1;
			assert_string_equal(ch[i].path,
			    "Configuration > Network settings");
		}
	}
	assert_true(saw_proxy);
	chunks_free(ch, n);
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static const char *const place_p1[] = { "Some words before the parts.", "",
	"@1 Preface", NULL };
static const char *const place_p2[] = { "Intro text on page two.", "",
	"@2 Naming", "2.1 Naming", "Names go here.", NULL };
static const char *const *const place_pages[] = { place_p1, place_p2 };

/* Outline titles that are no line of their page go to its start; one
 * after a section number ("2.1 Naming") goes where that line was. */
static void
test_outline_placement(void **state)
{
	struct cpdf c = { .title = "Names", .npages = 2, .lines = place_pages };
	struct mem m = cairo_pdf(&c, "placement.pdf");
	struct fetch_doc doc = extract_ok(&m);
	char *d = dump(&doc);

	assert_string_equal(d, "#1 Preface\nSome words before the parts.\n"
	    "Intro text on page two.\n#2 Naming\nNames go here.\n");
	assert_string_equal(doc.title, "Names");
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static void
test_hand_written(void **state)
{
	static const char *const pages[] = {
		"BT /F1 12 Tf 72 760 Td (Plain words from Helvetica.) Tj ET",
		"BT /F1 12 Tf 72 760 Td (A second page, \\(escaped\\).) Tj ET",
	};
	struct mem m = hand_pdf(pages, 2, 0, "hand.pdf");
	struct fetch_doc doc = extract_ok(&m);
	char *d = dump(&doc);

	assert_string_equal(d, "Plain words from Helvetica.\n"
	    "A second page, (escaped).\n");
	assert_string_equal(doc.title, "Plain words from Helvetica.");
	free(d);
	fetch_doc_free(&doc);
	free(m.p);
}

static void
test_refused(void **state)
{
	static const char *const pages[] = {
		"BT /F1 12 Tf 72 760 Td (Secret words.) Tj ET",
	};
	struct cpdf c = { .title = "T", .npages = 3, .lines = order_pages };
	struct mem m = hand_pdf(pages, 1, 1, "encrypted.pdf");
	struct fetch_doc doc;
	const char *why = NULL;
	char junk[256];

	assert_int_equal(pdf_extract(m.p, m.len, &doc, &why), -1);
	assert_string_equal(why, "pdf: encrypted (a password is needed)");
	assert_null(doc.blocks);
	assert_null(doc.title);
	free(m.p);

	/* Cut in two: its objects and xref gone, poppler cannot rebuild. */
	m = cairo_pdf(&c, NULL);
	m.len = 600;
	seed(&m, "truncated.pdf");
	assert_int_equal(pdf_extract(m.p, m.len, &doc, &why), -1);
	assert_string_equal(why, "pdf: damaged");
	assert_null(doc.blocks);

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(pdf_extract(junk, sizeof(junk), &doc, &why), -1);
	assert_string_equal(why, "pdf: not a PDF");
	assert_int_equal(pdf_extract(junk, 0, &doc, &why), -1);
	assert_string_equal(why, "pdf: not a PDF");
	memcpy(junk, "%PDF-1.7\n", 9);
	assert_int_equal(pdf_extract(junk, sizeof(junk), &doc, &why), -1);
	assert_string_equal(why, "pdf: damaged");
	/* The size is checked before a byte is read. */
	assert_int_equal(pdf_extract(m.p, FETCH_INPUT_MAX + 1, &doc, &why), -1);
	assert_string_equal(why, "pdf: over 16 MiB");
	free(m.p);
}

/* poppler's complaints about a broken file (logged at GLib's INFO level,
 * which G_MESSAGES_DEBUG=all or g_log_set_debug_enabled prints, to
 * stdout) reach neither stdout nor stderr. */
static void
test_quiet(void **state)
{
	struct cpdf c = { .title = "T", .npages = 3, .lines = order_pages };
	struct mem m = cairo_pdf(&c, NULL);
	struct fetch_doc doc;
	const char *why;
	FILE *tmp = tmpfile();
	int out, err;

	assert_non_null(tmp);
	g_log_set_debug_enabled(TRUE);
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	assert_true(out >= 0 && err >= 0);
	assert_int_equal(dup2(fileno(tmp), 1), 1);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	m.p[m.len / 2] ^= 0x55;		/* a stream's bytes */
	memcpy(m.p + m.len - 40, "garbage garbage garbage", 23);	/* xref */
	(void)pdf_extract(m.p, m.len, &doc, &why);
	fetch_doc_free(&doc);
	m.len = 700;
	(void)pdf_extract(m.p, m.len, &doc, &why);
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(out, 1), 1);
	assert_int_equal(dup2(err, 2), 2);
	close(out);
	close(err);
	g_log_set_debug_enabled(FALSE);
	assert_int_equal(ftell(tmp), 0);
	fseek(tmp, 0, SEEK_END);
	assert_int_equal(ftell(tmp), 0);
	fclose(tmp);
	free(m.p);
}

static void
test_empty(void **state)
{
	struct cpdf c = { .npages = 0 };
	struct mem m = cairo_pdf(&c, "empty.pdf");
	struct fetch_doc doc = extract_ok(&m);

	assert_int_equal(doc.nblocks, 0);
	assert_int_equal(doc.text_bytes, 0);
	assert_null(doc.title);
	assert_false(doc.truncated);
	fetch_doc_free(&doc);
	free(m.p);
}

/* n pages by hand, page i saying "Page body i." (as a sentence). */
static struct mem
numbered_pages(int n)
{
	static char bufs[40][96];
	const char *pages[40];
	int i;

	assert_true(n <= 40);
	for (i = 0; i < n; i++) {
		snprintf(bufs[i], sizeof(bufs[i]),
		    "BT /F1 12 Tf 72 760 Td (Sheet body %d.) Tj ET", i + 1);
		pages[i] = bufs[i];
	}
	return hand_pdf(pages, n, 0, NULL);
}

static void
test_page_and_time_bounds(void **state)
{
	struct pdf_limits lim = { .pages = 3 };
	struct mem m = numbered_pages(40);
	struct fetch_doc doc;
	const char *why;
	char *d;

	assert_int_equal(pdf_extract_limits(m.p, m.len, &lim, &doc, &why), 0);
	d = dump(&doc);
	assert_string_equal(d, "Sheet body 1.\nSheet body 2.\nSheet body 3.\n");
	assert_true(doc.truncated);
	free(d);
	fetch_doc_free(&doc);

	/* All 40 within the default bounds. */
	doc = extract_ok(&m);
	assert_int_equal(doc.nblocks, 40);
	assert_string_equal(doc.blocks[39].text, "Sheet body 40.");
	assert_false(doc.truncated);
	fetch_doc_free(&doc);

	/* A millisecond: checked between pages, so the first page is read
	 * and the 40 pages (each a fresh text layout) are not all. */
	lim.pages = 0;
	lim.time_ms = 1;
	assert_int_equal(pdf_extract_limits(m.p, m.len, &lim, &doc, &why), 0);
	assert_true(doc.truncated);
	assert_true(doc.nblocks >= 1 && doc.nblocks < 40);
	assert_string_equal(doc.blocks[0].text, "Sheet body 1.");
	fetch_doc_free(&doc);
	free(m.p);
}

/*
 * The text's bound, given smaller than the default (test_html holds the
 * default, FETCH_TEXT_MAX, over 6 MiB of text): 256 KiB, and 8 pages of
 * 60 lines of 800 bytes in 1-point type (poppler keeps 50,000 characters
 * of a page), 384 KB of text, of which the reader holds 320 KiB.
 */
static void
test_text_bound(void **state)
{
	/* The text's bound alone: no time bound a loaded machine could
	 * reach first. */
	const struct pdf_limits lim = { 0, 3600000, 256 * 1024 };
	struct mem content = { 0 }, m;
	struct fetch_doc doc;
	const char *why = "unset";
	const char *pages[8];
	char line[801];
	int i;

	memset(line, 'w', 800);
	for (i = 0; i < 800; i += 8)
		line[i] = ' ';
	line[800] = '\0';
	mem_printf(&content, "BT /F1 1 Tf 8 836 Td 0 -1.15 TD\n");
	for (i = 0; i < 60; i++)
		mem_printf(&content, "(%s) Tj T*\n", line);
	mem_printf(&content, "ET");
	mem_put(&content, "", 1);
	for (i = 0; i < 8; i++)
		pages[i] = (const char *)content.p;
	m = hand_pdf(pages, 8, 0, NULL);
	assert_int_equal(pdf_extract_limits(m.p, m.len, &lim, &doc, &why), 0);
	assert_null(why);
	/* Cut at the bound, where a space then trimmed may take one byte. */
	assert_true(doc.truncated);
	assert_true(doc.text_bytes <= lim.text &&
	    doc.text_bytes >= lim.text - 1);
	fetch_doc_free(&doc);
	free(m.p);
	free(content.p);
}

/* fontconfig, which cairo's toy font API calls, keeps 288 bytes of its
 * configuration past cairo_debug_reset_static_data (FcFini is not in
 * the libraries linked): LeakSanitizer is told, in this test only. */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_in_order),
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_headers_and_numbers),
		cmocka_unit_test(test_outline),
		cmocka_unit_test(test_outline_placement),
		cmocka_unit_test(test_hand_written),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_page_and_time_bounds),
		cmocka_unit_test(test_text_bound),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	cairo_debug_reset_static_data();	/* its font caches, for LeakSanitizer */
	return rc;
}
