/*
 * The PDF reader of the knowledge base (pdf.h). poppler-glib opens the
 * bytes from memory; each page's text (poppler's reading order) and the
 * boxes of its characters become lines with a box each; the lines become
 * paragraphs, the outline headings. Two passes: the pages are read first
 * (their text held, within a bound a little over the text bound), since
 * a running header or footer is only known from all of them, then the
 * blocks are written. poppler's reports (GLib's log domain "Poppler")
 * go to a handler that drops them, so a file cannot flood the log.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <poppler.h>

#include "pdf.h"
#include "util.h"

#define PDF_HEAD_SCAN	1024	/* bytes in which "%PDF-" must start */
#define EDGE_LINES	3	/* lines at a page's top and bottom looked at */
#define EDGE_PAGES	3	/* pages a running header or footer is on */
#define EDGE_KEY_MIN	3	/* bytes of one, digits and spaces aside */
#define EDGE_KEY_MAX	200	/* bytes of a line that may be one */
#define TITLE_LINE_MAX	120	/* bytes of a first line taken as the title */
#define MATCH_WORK_MAX	250000	/* line comparisons placing the headings */
#define LINES_MAX	500000	/* lines held (28 bytes each) */
#define COORD_MAX	1e6	/* points: a box further out is not known */
#define LEVEL_MAX	6	/* outline levels read */

enum { DROP_NUMBER = 1, DROP_RUNNING, DROP_HEADING };

/* ------------------------------------------------------------ structs */

struct pline {			/* a line of a page's text, not blank */
	uint32_t off, len;	/* in the page's text, spaces trimmed */
	float x1, y1, x2, y2;	/* its box in points, y downwards */
	unsigned char geo;	/* the box is known */
	unsigned char brk;	/* a blank line came before it */
	unsigned char drop;	/* DROP_NUMBER, DROP_RUNNING, DROP_HEADING */
};

struct ppage {
	char *text;		/* poppler's, g_free */
	struct pline *lines;
	size_t nlines;
	double gap;		/* the usual space between two lines, < 0: none */
};

struct pmark {			/* an outline entry */
	unsigned page;		/* 0-based */
	int level;		/* 1-6 */
	size_t seq;		/* the outline's order */
	size_t line;		/* the line of its page it goes before */
	char *title;		/* clean, malloc'd */
};

struct pdf {
	PopplerDocument *pd;
	struct fetch_doc *doc;
	struct ppage *pages;
	unsigned npages;	/* pages read */
	unsigned nwant;		/* pages to read */
	size_t raw;		/* bytes of page text held */
	size_t raw_max;		/* at most: the text kept and a quarter */
	size_t lines;		/* lines held */
	struct pmark *marks;
	size_t nmarks, capmarks, seen;
	size_t work;		/* line comparisons made placing headings */
	const char *first;	/* the first line written, its length */
	size_t first_len;
};

/* ------------------------------------------------------------ poppler */

static void
log_drop(const gchar *domain, GLogLevelFlags level, const gchar *msg,
    gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void
quiet_init(void)
{
	g_log_set_handler("Poppler", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
	    G_LOG_FLAG_RECURSION, log_drop, NULL);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "%PDF-" in the first PDF_HEAD_SCAN bytes, where poppler looks. */
static int
pdf_header(const char *s, size_t len)
{
	size_t i, n = len < PDF_HEAD_SCAN ? len : PDF_HEAD_SCAN;

	for (i = 0; i + 5 <= n; i++)
		if (memcmp(s + i, "%PDF-", 5) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ lines */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* A box within COORD_MAX points: its differences never NaN (qsort,
 * usual_gap), its corners floats. */
static int
box_known(const double box[4])
{
	int i;

	for (i = 0; i < 4; i++)
		if (!(fabs(box[i]) < COORD_MAX))	/* NaN too */
			return 0;
	return box[0] <= box[2] && box[1] <= box[3];
}

/* Adds the line pp->text[off..end) unless blank: 1 added, 0 blank, -1
 * out of memory. */
static int
line_add(struct ppage *pp, size_t *cap, size_t off, size_t end, int brk,
    const double box[4])
{
	const char *t = pp->text;
	struct pline *l;

	while (off < end && is_space(t[off]))
		off++;
	while (end > off && is_space(t[end - 1]))
		end--;
	if (off == end)
		return 0;
	if ((l = proto_grow(pp->lines, cap, pp->nlines, sizeof(*l), 64,
	    LINES_MAX)) == NULL)
		return -1;
	pp->lines = l;
	l = &pp->lines[pp->nlines++];
	memset(l, 0, sizeof(*l));
	l->off = (uint32_t)off;
	l->len = (uint32_t)(end - off);
	l->brk = (unsigned char)brk;
	if ((l->geo = (unsigned char)box_known(box))) {
		l->x1 = (float)box[0];
		l->y1 = (float)box[1];
		l->x2 = (float)box[2];
		l->y2 = (float)box[3];
	}
	return 1;
}

/*
 * Cuts pp->text's first len bytes into lines, each with the box of its
 * characters (r: one rectangle for each character of the text, nr of
 * them; a text and rectangles that do not match leave every box
 * unknown), at most *room of them (counted down). 0; 1 when the lines
 * ran out (the rest of the page not read); -1 out of memory.
 */
static int
page_lines(struct ppage *pp, size_t len, const PopplerRectangle *r,
    guint nr, int cut, size_t *room)
{
	const char *t = pp->text;
	double box[4] = { INFINITY, INFINITY, -INFINITY, -INFINITY };
	size_t i, start = 0, k = 0, cap = 0;
	int brk = 0, rc;
	char c;

	for (i = 0; i <= len; i++) {
		c = i < len ? t[i] : '\n';
		if (((unsigned char)c & 0xc0) == 0x80)
			continue;
		if (c != '\n') {
			if (!is_space(c) && k < nr) {
				box[0] = fmin(box[0], r[k].x1);
				box[1] = fmin(box[1], r[k].y1);
				box[2] = fmax(box[2], r[k].x2);
				box[3] = fmax(box[3], r[k].y2);
			}
			k++;
			continue;
		}
		if (*room == 0)
			return 1;
		if ((rc = line_add(pp, &cap, start, i, brk, box)) < 0)
			return -1;
		*room -= (size_t)rc;
		brk = rc == 0 && pp->nlines > 0;
		start = i + 1;
		box[0] = box[1] = INFINITY;
		box[2] = box[3] = -INFINITY;
		k++;
	}
	/* The text ends without a newline, which counted one too many. */
	if (!cut && k - 1 != nr)
		for (i = 0; i < pp->nlines; i++)
			pp->lines[i].geo = 0;
	return 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median space between a line and the next one below it (the lower
 * one of an even count), -1 when no two lines are one under the other. */
static double
usual_gap(const struct ppage *pp)
{
	const struct pline *a, *b;
	double *g, h, m = -1;
	size_t i, n = 0;

	if (pp->nlines < 2 || (g = malloc((pp->nlines - 1) * sizeof(*g))) == NULL)
		return -1;
	for (i = 1; i < pp->nlines; i++) {
		a = &pp->lines[i - 1];
		b = &pp->lines[i];
		h = fmin(a->y2 - a->y1, b->y2 - b->y1);
		if (a->geo && b->geo && b->y1 > a->y1 + 0.5 * h)
			g[n++] = b->y1 - a->y2;
	}
	if (n > 0) {
		qsort(g, n, sizeof(*g), dbl_cmp);
		m = g[(n - 1) / 2];
	}
	free(g);
	return m;
}

/* ------------------------------------------------------------ pages */

/* Reads page i into p->pages[i], its text cut to what raw_max leaves and
 * its lines to what LINES_MAX does: 0, -1 out of memory. */
static int
page_read(struct pdf *p, unsigned i)
{
	struct ppage *pp = &p->pages[i];
	PopplerPage *page;
	PopplerRectangle *r = NULL;
	guint nr = 0;
	size_t len, room = LINES_MAX - p->lines;
	int rc = 0, cut = 0;

	if ((page = poppler_document_get_page(p->pd, (int)i)) == NULL)
		return 0;
	pp->gap = -1;
	pp->text = poppler_page_get_text(page);
	if (pp->text != NULL && pp->text[0] != '\0') {
		len = strlen(pp->text);
		if (len > p->raw_max - p->raw) {
			len = proto_utf8_cut(pp->text, len, p->raw_max - p->raw);
			cut = 1;
			p->doc->truncated = 1;
		}
		p->raw += len;
		if (!poppler_page_get_text_layout(page, &r, &nr))
			nr = 0;
		if ((rc = page_lines(pp, len, r, nr, cut, &room)) == 1)
			p->doc->truncated = 1;
		p->lines = LINES_MAX - room;
		pp->gap = usual_gap(pp);
	}
	g_free(r);
	g_object_unref(page);
	return rc < 0 ? -1 : 0;
}

/* Reads the pages, at least one, until the time or the text runs out. */
static int
pages_read(struct pdf *p, unsigned time_ms, const struct timespec *t0)
{
	unsigned i;

	for (i = 0; i < p->nwant; i++) {
		if ((i > 0 && ms_since(t0) >= (long)time_ms) ||
		    p->raw >= p->raw_max || p->lines >= LINES_MAX) {
			p->doc->truncated = 1;
			break;
		}
		if (page_read(p, i) < 0)
			return -1;
		p->npages = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------ edges */

/*
 * Whether the line is a page number: "12", "xii", "Page 3", "3 of 9",
 * "3 / 9", "- 4 -", "[5]", "— 6 —".
 */
static size_t
deco(const char *s, size_t n)
{
	if (n >= 1 && strchr(" -[]()|", s[0]) != NULL)
		return 1;
	if (n >= 3 && (unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
	    ((unsigned char)s[2] == 0x93 || (unsigned char)s[2] == 0x94))
		return 3;
	return 0;
}

static size_t
number_at(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 6 && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i > 0)
		return i < 6 ? i : 0;
	while (i < n && i < 8 && strchr("ivxlcIVXLC", s[i]) != NULL)
		i++;
	return i < 8 ? i : 0;
}

static int
page_number(const char *s, size_t n)
{
	size_t i = 0, w, nums = 0;

	while (i < n && (w = deco(s + i, n - i)) > 0)
		i += w;
	for (;;) {
		if (n > i && strchr(" -[]()|", s[n - 1]) != NULL)
			n--;
		else if (n - i >= 3 && deco(s + n - 3, 3) == 3)
			n -= 3;
		else
			break;
	}
	if (n - i >= 4 && strncasecmp(s + i, "page", 4) == 0)
		i += 4;
	else if (n - i >= 2 && strncasecmp(s + i, "p.", 2) == 0)
		i += 2;
	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if ((w = number_at(s + i, n - i)) == 0)
			return 0;
		i += w;
		nums++;
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			return 1;
		if (nums == 2)
			return 0;
		if (s[i] == '/')
			i++;
		else if (n - i >= 2 && strncasecmp(s + i, "of", 2) == 0)
			i += 2;
		else
			return 0;
	}
}

/* The key of a line that may be a running header: FNV-1a of its bytes
 * but digits and spaces, ASCII lowercased; 0 when it may not be one. */
static uint64_t
edge_key(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037u;
	size_t i, kept = 0;
	unsigned char c;

	if (n > EDGE_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || c == ' ' || c == '\t')
			continue;
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 1099511628211u;
		kept++;
	}
	return kept < EDGE_KEY_MIN ? 0 : h ? h : 1;
}

struct ekey {
	uint64_t h;
	unsigned pages;		/* pages it is at an edge of */
	unsigned last;		/* the last such page + 1 */
};

struct etab {
	struct ekey *k;
	size_t mask;
};

static struct ekey *
etab_find(const struct etab *t, uint64_t h)
{
	size_t i = (size_t)h & t->mask;

	while (t->k[i].h != 0 && t->k[i].h != h)
		i = (i + 1) & t->mask;
	t->k[i].h = h;
	return &t->k[i];
}

/* Line j of page i is at an edge: a page looked at from the top
 * (j < EDGE_LINES) or the bottom. */
static int
at_edge(const struct ppage *pp, size_t j)
{
	return j < EDGE_LINES || j + EDGE_LINES >= pp->nlines;
}

/* Why line j of a page at its edge is dropped: DROP_NUMBER, DROP_RUNNING,
 * 0 when it is not. */
static int
droppable(const struct etab *t, const struct ppage *pp, size_t j)
{
	const struct pline *l = &pp->lines[j];
	uint64_t h;

	if (page_number(pp->text + l->off, l->len))
		return DROP_NUMBER;
	h = edge_key(pp->text + l->off, l->len);
	return h != 0 && etab_find(t, h)->pages >= EDGE_PAGES ? DROP_RUNNING : 0;
}

/* Whether two lines are on the same row of the page. */
static int
same_row(const struct pline *a, const struct pline *b)
{
	return a->geo && b->geo && fabs(a->y1 - b->y1) <
	    0.5 * fmin(a->y2 - a->y1, b->y2 - b->y1);
}

/* Drops a page's lines at its edges on the row of a page number there
 * ("Chapter 2: Syntax      3"). */
static void
number_rows_drop(struct ppage *pp)
{
	size_t j, k, n = pp->nlines;

	for (j = 0; j < n; j++) {
		if (!at_edge(pp, j))
			j = n - EDGE_LINES;
		if (pp->lines[j].drop != DROP_NUMBER)
			continue;
		for (k = 0; k < n; k++) {
			if (!at_edge(pp, k))
				k = n - EDGE_LINES;
			if (!pp->lines[k].drop && same_row(&pp->lines[j],
			    &pp->lines[k]))
				pp->lines[k].drop = DROP_RUNNING;
		}
	}
}

/* Drops the page numbers and the running headers and footers of a page:
 * a page number among its EDGE_LINES first or last lines and what is on
 * its row, a running one from its top, and from its bottom, while the
 * lines are one or the other; but the running ones stay when nothing
 * else would (pages of a line or two alike but for their digits: "Sheet
 * 1", "Sheet 2" ...). */
static void
page_edges_drop(const struct etab *t, struct ppage *pp)
{
	size_t j, n = pp->nlines, left = n;
	struct pline *l;

	for (j = 0; j < n; j++) {
		if (!at_edge(pp, j))
			j = n - EDGE_LINES;
		l = &pp->lines[j];
		if (page_number(pp->text + l->off, l->len))
			l->drop = DROP_NUMBER;
	}
	number_rows_drop(pp);
	for (j = 0; j < n && j < EDGE_LINES && (pp->lines[j].drop ||
	    droppable(t, pp, j)); j++)
		if (!pp->lines[j].drop)
			pp->lines[j].drop = DROP_RUNNING;
	for (j = n; j > 0 && j + EDGE_LINES > n && (pp->lines[j - 1].drop ||
	    droppable(t, pp, j - 1)); j--)
		if (!pp->lines[j - 1].drop)
			pp->lines[j - 1].drop = DROP_RUNNING;
	for (j = 0; j < n; j++)
		left -= pp->lines[j].drop != 0;
	for (j = 0; left == 0 && j < n; j++)
		if (pp->lines[j].drop == DROP_RUNNING)
			pp->lines[j].drop = 0;
}

/* Marks the page numbers and the running headers and footers dropped. */
static int
edges_drop(struct pdf *p)
{
	struct etab t;
	struct ekey *e;
	struct ppage *pp;
	size_t slots = 64, j;
	unsigned i;
	uint64_t h;

	while (slots < 4 * 2 * EDGE_LINES * (size_t)p->npages)
		slots *= 2;
	if ((t.k = calloc(slots, sizeof(*t.k))) == NULL)
		return -1;
	t.mask = slots - 1;
	for (i = 0; i < p->npages; i++) {
		pp = &p->pages[i];
		for (j = 0; j < pp->nlines; j++) {
			if (!at_edge(pp, j))
				j = pp->nlines - EDGE_LINES;
			h = edge_key(pp->text + pp->lines[j].off, pp->lines[j].len);
			if (h != 0 && (e = etab_find(&t, h))->last != i + 1) {
				e->pages++;
				e->last = i + 1;
			}
		}
	}
	for (i = 0; i < p->npages; i++)
		page_edges_drop(&t, &p->pages[i]);
	free(t.k);
	return 0;
}

/* ------------------------------------------------------------ outline */

static int
mark_add(struct pdf *p, PopplerAction *a, int level)
{
	PopplerDest *d, *found = NULL;
	struct pmark *m;
	int page;

	if (a->type != POPPLER_ACTION_GOTO_DEST || a->goto_dest.dest == NULL ||
	    a->goto_dest.title == NULL)
		return 0;
	d = a->goto_dest.dest;
	if (d->type == POPPLER_DEST_NAMED) {
		if (d->named_dest == NULL ||
		    (found = poppler_document_find_dest(p->pd, d->named_dest)) == NULL)
			return 0;
		d = found;
	}
	page = d->page_num;
	if (found != NULL)
		poppler_dest_free(found);
	if (page < 1 || (unsigned)page > p->nwant)
		return 0;
	if ((m = proto_grow(p->marks, &p->capmarks, p->nmarks, sizeof(*m), 16,
	    PDF_OUTLINE_MAX)) == NULL)
		return -1;
	p->marks = m;
	m = &p->marks[p->nmarks];
	m->title = fetch_clean_line(a->goto_dest.title,
	    strlen(a->goto_dest.title), FETCH_TITLE_MAX);
	if (m->title == NULL)
		return 0;
	m->page = (unsigned)page - 1;
	m->level = level;
	m->seq = p->nmarks++;
	m->line = 0;
	return 0;
}

/* The entries of one level of the outline and, depth first, those
 * below them, at most PDF_OUTLINE_MAX in all and LEVEL_MAX levels. */
static int
outline_walk(struct pdf *p, PopplerIndexIter *it, int level)
{
	PopplerIndexIter *child;
	PopplerAction *a;
	int rc = 0;

	do {
		if (p->seen++ >= PDF_OUTLINE_MAX) {
			p->doc->truncated = 1;
			return 0;
		}
		if ((a = poppler_index_iter_get_action(it)) != NULL) {
			rc = mark_add(p, a, level);
			poppler_action_free(a);
		}
		if (rc == 0 && level < LEVEL_MAX &&
		    (child = poppler_index_iter_get_child(it)) != NULL) {
			rc = outline_walk(p, child, level + 1);
			poppler_index_iter_free(child);
		}
	} while (rc == 0 && poppler_index_iter_next(it));
	return rc;
}

static int
mark_cmp(const void *a, const void *b)
{
	const struct pmark *x = a, *y = b;

	if (x->page != y->page)
		return x->page < y->page ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
outline_read(struct pdf *p)
{
	PopplerIndexIter *it;
	int rc;

	if ((it = poppler_index_iter_new(p->pd)) == NULL)
		return 0;
	rc = outline_walk(p, it, 1);
	poppler_index_iter_free(it);
	if (p->nmarks > 1)
		qsort(p->marks, p->nmarks, sizeof(*p->marks), mark_cmp);
	return rc;
}

/* Whether the line's text is the title (clean: white space collapsed),
 * its runs of white space read as one, ASCII case aside. */
static int
line_is(const char *s, size_t n, const char *title)
{
	size_t i = 0;

	while (i < n && *title != '\0') {
		if (is_space(s[i])) {
			if (*title++ != ' ')
				return 0;
			while (i < n && is_space(s[i]))
				i++;
			continue;
		}
		if (s[i] != *title && !((unsigned char)s[i] < 0x80 &&
		    strncasecmp(s + i, title, 1) == 0))
			return 0;
		i++;
		title++;
	}
	return i == n && *title == '\0';
}

/* Whether the line is the title, or the title after a section number
 * ("2.1 Naming" for "Naming": a word of digits, capitals and dots with a
 * digit in it). */
static int
line_titles(const char *s, size_t n, const char *title)
{
	size_t i;
	int digit = 0;

	if (line_is(s, n, title))
		return 1;
	for (i = 0; i < n && i < 16 && ((s[i] >= '0' && s[i] <= '9') ||
	    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.'); i++)
		digit |= s[i] >= '0' && s[i] <= '9';
	return digit && i < n && is_space(s[i]) &&
	    line_is(s + i + 1, n - i - 1, title);
}

/* Places page i's headings (marks[a..b)): each before the first line at
 * or after the one before it that is its title (that line dropped), else
 * where the one before went. */
static void
marks_place(struct pdf *p, unsigned i, size_t a, size_t b)
{
	struct ppage *pp = &p->pages[i];
	struct pline *l;
	size_t m, j, from = 0;

	for (m = a; m < b; m++) {
		p->marks[m].line = from;
		for (j = from; j < pp->nlines && p->work < MATCH_WORK_MAX; j++) {
			p->work++;
			l = &pp->lines[j];
			if (!l->drop && line_titles(pp->text + l->off, l->len,
			    p->marks[m].title)) {
				l->drop = DROP_HEADING;
				p->marks[m].line = j;
				from = j + 1;
				break;
			}
		}
	}
}

/* ------------------------------------------------------------ blocks */

struct emit {
	struct pdf *p;
	struct fetch_text para;
	const struct pline *last;	/* the paragraph's last line, NULL */
	const char *last_text;		/* its page's text */
	unsigned last_page;
	double minx, maxx;		/* the paragraph's left and right */
	int r;				/* sticky: 0, 1 the doc is full, -1 */
};

static void
flush(struct emit *e)
{
	if (e->r == 0 && e->para.len > 0)
		e->r = fetch_doc_add(e->p->doc, FETCH_PARA, 0, e->para.p,
		    e->para.len);
	e->para.len = 0;
	e->last = NULL;
}

static int
ends_sentence(const char *s, size_t n)
{
	while (n > 0 && strchr(")]\"'", s[n - 1]) != NULL)
		n--;
	/* ’ ” */
	while (n >= 3 && (unsigned char)s[n - 3] == 0xe2 &&
	    (unsigned char)s[n - 2] == 0x80 &&
	    ((unsigned char)s[n - 1] == 0x99 || (unsigned char)s[n - 1] == 0x9d))
		n -= 3;
	if (n == 0)
		return 0;
	if (strchr(".!?:;", s[n - 1]) != NULL)
		return 1;
	return n >= 3 && memcmp(s + n - 3, "\xe3\x80\x82", 3) == 0;	/* 。 */
}

static int
starts_lower(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	return (n >= 1 && u[0] >= 'a' && u[0] <= 'z') ||
	    (n >= 2 && u[0] == 0xc3 && u[1] >= 0x9f && u[1] <= 0xbf);
}

/* A list item's start: a bullet, a dash, or "12." / "3)" and a space. */
static int
bullet(const char *s, size_t n)
{
	static const char *const marks[] = {
		"\xe2\x80\xa2", "\xe2\x80\xa3", "\xe2\x97\xa6", "\xe2\x96\xaa",
		"\xe2\x97\x8f", "\xe2\x96\xa0", "\xe2\x81\x83",
	};
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (n >= 3 && memcmp(s, marks[i], 3) == 0)
			return 1;
	if (n >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ')
		return 1;
	for (i = 0; i < n && i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	return i > 0 && i < 3 && i + 1 < n && (s[i] == '.' || s[i] == ')') &&
	    s[i + 1] == ' ';
}

/* Whether line l (of text t, on a new page or not) starts a paragraph
 * after the paragraph's last line. */
static int
breaks(const struct emit *e, const char *t, const struct pline *l,
    int newpage, double gap)
{
	const struct pline *q = e->last;
	const char *qs = e->last_text + q->off, *s = t + l->off;
	double hq, hl, h;

	if (newpage)
		return ends_sentence(qs, q->len) || !starts_lower(s, l->len);
	if (l->brk || bullet(s, l->len))
		return 1;
	if (!l->geo || !q->geo)
		return 0;
	hq = q->y2 - q->y1;
	hl = l->y2 - l->y1;
	h = fmin(hq, hl);
	if (same_row(q, l))
		return 0;
	if (l->y1 < q->y1)			/* up: another column */
		return 1;
	if (hl > 1.25 * hq || hq > 1.25 * hl)	/* another size */
		return 1;
	if (l->y1 - q->y2 > (gap >= 0 ? fmin(gap, h) + 0.3 * h : 0.6 * h))
		return 1;
	return ends_sentence(qs, q->len) &&
	    q->x2 < e->maxx - 0.2 * (e->maxx - e->minx);
}

/* The paragraph ends with a hyphen that splits a word: "extrac-" and the
 * next line in lowercase; a soft hyphen always does. Its bytes, or 0. */
static size_t
hyphen_end(const struct fetch_text *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)b->p;

	if (b->len >= 2 && u[b->len - 2] == 0xc2 && u[b->len - 1] == 0xad)
		return 2;
	if (!starts_lower(s, n) || b->len < 2)
		return 0;
	if (u[b->len - 1] == '-' && (u[b->len - 2] >= 0x80 ||
	    (u[b->len - 2] >= 'a' && u[b->len - 2] <= 'z') ||
	    (u[b->len - 2] >= 'A' && u[b->len - 2] <= 'Z')))
		return 1;
	if (b->len >= 4 && memcmp(b->p + b->len - 3, "\xe2\x80\x90", 3) == 0)
		return 3;
	return 0;
}

static void
line_write(struct emit *e, unsigned i, const struct pline *l)
{
	const struct ppage *pp = &e->p->pages[i];
	const char *s = pp->text + l->off;
	size_t hy;

	if (e->last != NULL && breaks(e, pp->text, l, e->last_page != i, pp->gap))
		flush(e);
	if (e->r != 0)
		return;
	if (e->p->first == NULL) {
		e->p->first = s;
		e->p->first_len = l->len;
	}
	if (e->para.len == 0) {
		e->minx = l->x1;
		e->maxx = l->x2;
	} else if ((hy = hyphen_end(&e->para, s, l->len)) > 0)
		e->para.len -= hy;
	else if (fetch_text_put(&e->para, " ", 1) < 0)
		e->r = -1;
	if (e->r == 0 && fetch_text_put(&e->para, s, l->len) < 0)
		e->r = -1;
	if (l->geo) {
		e->minx = fmin(e->minx, l->x1);
		e->maxx = fmax(e->maxx, l->x2);
	}
	e->last = l;
	e->last_text = pp->text;
	e->last_page = i;
}

static void
heading_write(struct emit *e, const struct pmark *m)
{
	flush(e);
	if (e->r == 0)
		e->r = fetch_doc_add(e->p->doc, FETCH_HEADING, m->level, m->title,
		    strlen(m->title));
}

/* Writes the pages' blocks: each page's headings among its lines. */
static int
blocks_write(struct pdf *p)
{
	struct emit e;
	const struct ppage *pp;
	size_t m = 0, a, j;
	unsigned i;

	memset(&e, 0, sizeof(e));
	e.p = p;
	for (i = 0; i < p->npages && e.r == 0; i++) {
		pp = &p->pages[i];
		for (a = m; m < p->nmarks && p->marks[m].page == i; m++)
			;
		marks_place(p, i, a, m);
		for (j = 0; j <= pp->nlines && e.r == 0; j++) {
			for (; a < m && p->marks[a].line == j && e.r == 0; a++)
				heading_write(&e, &p->marks[a]);
			if (j < pp->nlines && !pp->lines[j].drop)
				line_write(&e, i, &pp->lines[j]);
		}
	}
	flush(&e);
	fetch_text_free(&e.para);
	return e.r < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ the doc */

static void
title_read(struct pdf *p)
{
	char *t = poppler_document_get_title(p->pd);

	if (t != NULL)
		p->doc->title = fetch_clean_line(t, strlen(t), FETCH_TITLE_MAX);
	g_free(t);
}

/* The title when the metadata had none: the first heading when the
 * text starts with one, else the first line when it is short, else the
 * first level-1 heading. */
static void
title_fallback(struct pdf *p)
{
	struct fetch_doc *doc = p->doc;
	size_t i;

	if (doc->title != NULL || doc->nblocks == 0)
		return;
	if (doc->blocks[0].kind != FETCH_HEADING && p->first != NULL &&
	    p->first_len <= TITLE_LINE_MAX)
		doc->title = fetch_clean_line(p->first, p->first_len,
		    FETCH_TITLE_MAX);
	for (i = 0; doc->title == NULL && i < doc->nblocks; i++)
		if (doc->blocks[i].kind == FETCH_HEADING &&
		    (i == 0 || doc->blocks[i].level == 1))
			doc->title = fetch_clean_line(doc->blocks[i].text,
			    doc->blocks[i].len, FETCH_TITLE_MAX);
}

static void
pdf_free(struct pdf *p)
{
	size_t i;

	for (i = 0; p->pages != NULL && i < p->nwant; i++) {
		g_free(p->pages[i].text);
		free(p->pages[i].lines);
	}
	free(p->pages);
	for (i = 0; i < p->nmarks; i++)
		free(p->marks[i].title);
	free(p->marks);
	if (p->pd != NULL)
		g_object_unref(p->pd);
}

/* Opens the document: -1 with *why when poppler cannot. */
static int
pdf_open(struct pdf *p, const void *bytes, size_t len, const char **why)
{
	GBytes *gb;
	GError *err = NULL;

	gb = g_bytes_new_static(bytes, len);
	p->pd = poppler_document_new_from_bytes(gb, NULL, &err);
	g_bytes_unref(gb);
	if (p->pd != NULL)
		return 0;
	*why = err != NULL && g_error_matches(err, POPPLER_ERROR,
	    POPPLER_ERROR_ENCRYPTED) ? "pdf: encrypted (a password is needed)" :
	    "pdf: damaged";
	if (err != NULL)
		g_error_free(err);
	return -1;
}

int
pdf_extract_limits(const void *bytes, size_t len,
    const struct pdf_limits *lim, struct fetch_doc *doc, const char **why)
{
	struct pdf p;
	struct timespec t0;
	unsigned max_pages = lim && lim->pages ? lim->pages : PDF_PAGES_MAX;
	unsigned time_ms = lim && lim->time_ms ? lim->time_ms : PDF_TIME_MS;
	size_t text_max = lim && lim->text && lim->text < FETCH_TEXT_MAX ?
	    lim->text : FETCH_TEXT_MAX;
	int n, rc = -1;

	memset(doc, 0, sizeof(*doc));
	memset(&p, 0, sizeof(p));
	doc->text_max = text_max;
	p.raw_max = text_max + text_max / 4;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (len > FETCH_INPUT_MAX) {
		*why = "pdf: over 16 MiB";
		return -1;
	}
	if (!pdf_header(bytes, len)) {
		*why = "pdf: not a PDF";
		return -1;
	}
	pthread_once(&quiet_once, quiet_init);
	if (pdf_open(&p, bytes, len, why) < 0)
		goto out;
	p.doc = doc;
	n = poppler_document_get_n_pages(p.pd);
	p.nwant = n > 0 ? (unsigned)n : 0;
	if (p.nwant > max_pages) {
		p.nwant = max_pages;
		doc->truncated = 1;
	}
	*why = "pdf: out of memory";
	if (p.nwant > 0 && (p.pages = calloc(p.nwant, sizeof(*p.pages))) == NULL)
		goto out;
	title_read(&p);
	if (outline_read(&p) < 0 || pages_read(&p, time_ms, &t0) < 0 ||
	    edges_drop(&p) < 0 || blocks_write(&p) < 0)
		goto out;
	title_fallback(&p);
	*why = NULL;
	rc = 0;
out:
	pdf_free(&p);
	if (rc < 0)
		fetch_doc_free(doc);
	return rc;
}

int
pdf_extract(const void *bytes, size_t len, struct fetch_doc *doc,
    const char **why)
{
	return pdf_extract_limits(bytes, len, NULL, doc, why);
}
