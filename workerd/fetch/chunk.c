/*
 * The chunker (chunk.h): a document's blocks walked once, a section at a
 * time. The open piece (buf) gathers a section's blocks, joined by "\n",
 * until the next would take it past the target; it is then written out as
 * a chunk and the next piece starts with its last sentence(s) (at most
 * the overlap). A block too long for one piece is cut at a sentence's
 * end, else a space, else a character boundary. A heading ends the open
 * piece unless what it holds is tiny (under an eighth of the target) and
 * the heading is of a child or a sibling section: the tiny text then
 * opens the next section's piece, a sibling's heading as its first line.
 * Every text is made valid UTF-8 as it comes in, and every cut falls on
 * an ASCII byte or a character boundary, so what goes out is valid too.
 */
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "util.h"

#define TARGET_MIN	64	/* bytes: the least target the chunker takes */
#define CUT_MIN		16	/* bytes: the least room a block's piece is cut to */

struct chunker {
	size_t target, max, overlap, max_chunks, tiny;
	char *title;
	struct chunk *out;	/* chunks written, n of cap */
	size_t n, cap;
	char *heads[7];		/* heads[1..6]: the headings above, NULL when none */
	int level;		/* the open section's heading level, 0 before any */
	struct fetch_text buf;	/* the open piece */
	size_t ovl;		/* its first bytes, repeated from the piece before */
	size_t body;		/* its bytes of body text (not overlap, not headings) */
	size_t pieces;		/* pieces written of the open section */
	size_t sect_start;	/* where the open section's text starts in buf */
	int stop;		/* 1 at max_chunks, -1 out of memory */
};

void
chunks_free(struct chunk *chunks, size_t n)
{
	size_t i;

	if (chunks == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(chunks[i].title);
		free(chunks[i].path);
		free(chunks[i].text);
	}
	free(chunks);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

/*
 * 1 when s[0..p) ends a sentence: '.', '!' or '?' (closing quotes and
 * brackets after it allowed), or an ideographic full stop, exclamation or
 * question mark.
 */
static int
sentence_ends(const char *s, size_t p)
{
	size_t q = p;

	if (p >= 3 && (memcmp(s + p - 3, "\xe3\x80\x82", 3) == 0 ||
	    memcmp(s + p - 3, "\xef\xbc\x81", 3) == 0 ||
	    memcmp(s + p - 3, "\xef\xbc\x9f", 3) == 0))
		return 1;
	while (q > 0 && p - q < 3 && s[q - 1] != '\0' &&
	    strchr("\"')]", s[q - 1]) != NULL)
		q--;
	return q > 0 && (s[q - 1] == '.' || s[q - 1] == '!' || s[q - 1] == '?');
}

/*
 * Where to cut s (n bytes, n > lim) for a piece of at most lim bytes:
 * after the last sentence in its second half, else at the last space
 * past its first quarter, else at the last character boundary. > 0.
 */
static size_t
cut_point(const char *s, size_t n, size_t lim)
{
	size_t p, cut;

	for (p = lim; p > lim / 2; p--)
		if (s[p] == '\n' || (is_space(s[p]) && sentence_ends(s, p)) ||
		    (!is_space(s[p]) && sentence_ends(s, p) && p >= 3 &&
		    (unsigned char)s[p - 3] >= 0xe0))
			return p;
	for (p = lim; p > lim / 4; p--)
		if (is_space(s[p]))
			return p;
	cut = proto_utf8_cut(s, n, lim);
	if (cut == 0)		/* no boundary in reach: one character */
		for (cut = 1; cut < n && ((unsigned char)s[cut] & 0xc0) == 0x80;)
			cut++;
	return cut;
}

/*
 * Where the overlap of the piece s (len bytes) starts: its last
 * sentence(s) within min(overlap, len / 2) bytes, else its last words,
 * else a character boundary. len when there is to be none.
 */
static size_t
overlap_start(const char *s, size_t len, size_t overlap)
{
	size_t limit = overlap < len / 2 ? overlap : len / 2, start, q;

	if (limit == 0)
		return len;
	start = len - limit;
	while (start < len && ((unsigned char)s[start] & 0xc0) == 0x80)
		start++;
	for (q = start; q < len; q++)
		if (!is_space(s[q]) && (s[q - 1] == '\n' ||
		    (is_space(s[q - 1]) && sentence_ends(s, q - 1))))
			return q;
	for (q = start; q < len; q++)
		if (!is_space(s[q]) && is_space(s[q - 1]))
			return q;
	return start;
}

/* The heading path: heads[1..6] joined by " > ". */
static char *
heading_path(const struct chunker *c)
{
	char *p = malloc(CHUNK_PATH_MAX + 1);
	size_t o = 0, n;
	int i;

	if (p == NULL)
		return NULL;
	for (i = 1; i <= 6; i++) {
		if (c->heads[i] == NULL)
			continue;
		n = strlen(c->heads[i]);
		if (o > 0) {
			memcpy(p + o, " > ", 3);
			o += 3;
		}
		memcpy(p + o, c->heads[i], n);
		o += n;
	}
	p[o] = '\0';
	return p;
}

/*
 * Writes the open piece out as a chunk (unless it holds no body text
 * and not force). keep: the next piece starts with its overlap; else
 * empty.
 */
static void
emit(struct chunker *c, int keep, int force)
{
	struct chunk *ch, *grown;
	size_t from;

	if (c->stop != 0)
		return;
	if (c->buf.len == 0 || (c->body == 0 && !force)) {
		if (!keep)
			c->buf.len = c->ovl = 0;
		return;
	}
	if (c->n >= c->max_chunks) {
		c->stop = 1;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		if ((grown = realloc(c->out, c->cap * sizeof(*grown))) == NULL) {
			c->stop = -1;
			return;
		}
		c->out = grown;
	}
	ch = &c->out[c->n];
	ch->title = strdup(c->title);
	ch->path = heading_path(c);
	ch->text = strndup(c->buf.p, c->buf.len);
	ch->len = c->buf.len;
	c->n++;
	if (ch->title == NULL || ch->path == NULL || ch->text == NULL) {
		c->stop = -1;
		return;
	}
	c->pieces++;
	c->body = 0;
	if (!keep) {
		c->buf.len = c->ovl = 0;
		return;
	}
	from = overlap_start(c->buf.p, c->buf.len, c->overlap);
	memmove(c->buf.p, c->buf.p + from, c->buf.len - from);
	c->buf.len -= from;
	c->buf.p[c->buf.len] = '\0';
	c->ovl = c->buf.len;
}

/* Appends s (n bytes) to the open piece, "\n" before it if not first. */
static void
put(struct chunker *c, const char *s, size_t n)
{
	if (c->stop != 0)
		return;
	if ((c->buf.len > 0 && fetch_text_put(&c->buf, "\n", 1) < 0) ||
	    fetch_text_put(&c->buf, s, n) < 0)
		c->stop = -1;
}

/* A body block's clean text into pieces. */
static void
add_body(struct chunker *c, const char *x, size_t n)
{
	size_t used, room, lim, span;

	while (n > 0 && c->stop == 0) {
		if (c->body > 0 && c->buf.len + 1 + n > c->target) {
			emit(c, 1, 0);
			continue;
		}
		used = c->buf.len > 0 ? c->buf.len + 1 : 0;
		room = used < c->max ? c->max - used : 0;
		if (n <= room) {
			put(c, x, n);
			c->body += n;
			return;
		}
		lim = room < c->target ? room : c->target;
		if (lim < CUT_MIN) {
			/* Carried headings leave no room: out on their own. */
			emit(c, 0, 1);
			continue;
		}
		span = cut_point(x, n, lim);
		put(c, x, span);
		c->body += span;
		for (x += span, n -= span; n > 0 && is_space(*x); x++, n--)
			;
		if (n > 0)
			emit(c, 1, 0);
	}
}

/*
 * The heading h (n bytes) of a tiny section as a line of the open piece,
 * where that section's text starts (before it, after what came before).
 */
static void
insert_heading(struct chunker *c, const char *h, size_t n)
{
	size_t at = c->sect_start, tail = c->buf.len - at;
	size_t sep_before = at > 0, sep_after = at == 0 && tail > 0;

	if (c->stop != 0)
		return;
	if (fetch_text_grow(&c->buf, n + sep_before + sep_after) < 0) {
		c->stop = -1;
		return;
	}
	c->buf.len += n + sep_before + sep_after;
	memmove(c->buf.p + at + n + sep_before + sep_after, c->buf.p + at, tail);
	if (sep_before)
		c->buf.p[at] = '\n';
	memcpy(c->buf.p + at + sep_before, h, n);
	if (sep_after)
		c->buf.p[at + sep_before + n] = '\n';
	c->buf.p[c->buf.len] = '\0';
}

/* A heading of the given level and clean text (NULL: none). */
static void
add_heading(struct chunker *c, int level, char *text)
{
	size_t held = c->buf.len - c->ovl;
	const char *sibling = level == c->level ? c->heads[level] : NULL;
	int i;

	if (c->pieces == 0 && held < c->tiny && level >= c->level &&
	    (held > 0 || sibling != NULL)) {
		/* Tiny: into the next section's piece (a child's or a sibling's). */
		if (sibling != NULL) {
			size_t hn = strlen(sibling);

			if (c->buf.len + hn + 1 > c->target)
				emit(c, 0, 0);
			else
				insert_heading(c, sibling, hn);
		}
	} else
		emit(c, 0, 0);
	if (c->buf.len == c->ovl)
		c->buf.len = c->ovl = 0;
	c->ovl = 0;
	for (i = level; i <= 6; i++) {
		free(c->heads[i]);
		c->heads[i] = NULL;
	}
	c->heads[level] = text;
	c->level = level;
	c->pieces = 0;
	c->sect_start = c->buf.len;
}

/* A heading's or title's text: one line, clean, at most max bytes;
 * NULL when empty. At most 4 * max bytes of it are read. */
static char *
heading_text(const char *s, size_t n, size_t max)
{
	return fetch_clean_line(s, n > 4 * max ? 4 * max : n, max);
}

/* opts made sane, zeroes taken as defaults (chunk.h). */
static void
chunker_sizes(struct chunker *c, const struct chunk_opts *o)
{
	size_t most_overlap;

	c->target = o && o->target ? o->target : CHUNK_TARGET_DEFAULT;
	if (c->target < TARGET_MIN)
		c->target = TARGET_MIN;
	if (c->target > FETCH_TEXT_MAX)
		c->target = FETCH_TEXT_MAX;
	c->max = o && o->max ? o->max : CHUNK_MAX_DEFAULT;
	if (c->max < c->target)
		c->max = c->target;
	c->overlap = o && o->overlap ? o->overlap : CHUNK_OVERLAP_DEFAULT;
	most_overlap = c->max > c->target ? c->max - c->target - 1 : 0;
	if (most_overlap > c->target / 2)
		most_overlap = c->target / 2;
	if (c->overlap > most_overlap)
		c->overlap = most_overlap;
	c->max_chunks = o && o->max_chunks ? o->max_chunks : CHUNK_COUNT_MAX;
	if (c->max_chunks > CHUNK_COUNT_MAX)
		c->max_chunks = CHUNK_COUNT_MAX;
	c->tiny = c->target / 8;
}

int
chunk_doc(const struct fetch_doc *doc, const struct chunk_opts *opts,
    struct chunk **chunks, size_t *n, const char **why)
{
	struct chunker c;
	const struct fetch_block *b;
	char *clean = NULL, *head;
	size_t i, len;
	int level, rc = -1;

	*chunks = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	chunker_sizes(&c, opts);
	*why = "chunk: out of memory";
	c.title = doc->title ? heading_text(doc->title,
	    strlen(doc->title), FETCH_TITLE_MAX) : NULL;
	if (c.title == NULL && (c.title = strdup("")) == NULL)
		goto out;
	for (i = 0; i < doc->nblocks && c.stop == 0; i++) {
		b = &doc->blocks[i];
		if (b->text == NULL || b->len == 0)
			continue;
		if (b->kind == FETCH_HEADING) {
			level = b->level < 1 ? 1 : b->level > 6 ? 6 : b->level;
			head = heading_text(b->text, b->len, CHUNK_HEADING_MAX);
			add_heading(&c, level, head);
			continue;
		}
		if ((clean = malloc(3 * b->len + 1)) == NULL)
			goto out;
		len = fetch_utf8_clean(clean, b->text, b->len);
		add_body(&c, clean, len);
		free(clean);
		clean = NULL;
	}
	emit(&c, 0, 0);
	if (c.stop < 0)
		goto out;
	if (c.stop > 0)
		*why = "chunk: too many chunks, the first kept";
	else
		*why = NULL;
	rc = c.stop > 0 ? 1 : 0;
	*chunks = c.out;
	*n = c.n;
	c.out = NULL;
	c.n = 0;
out:
	chunks_free(c.out, c.n);
	for (i = 0; i < 7; i++)
		free(c.heads[i]);
	fetch_text_free(&c.buf);
	free(c.title);
	return rc;
}
