/*
 * Text analysis (analyze.h): decodes UTF-8, splits words, folds them
 * (foldtab.c), reads apostrophes and technical joins, drops stopwords and
 * stems (langtab.c, libstemmer), and pairs CJK characters.
 *
 * One pass over the text, one code point at a time, no allocation: the
 * word being read is kept folded in a buffer of AN_TERM_MAX bytes (what
 * does not fit is dropped: the word is cut at a character boundary,
 * never split in two terms), the compound it belongs to ("apt-get") in
 * another, and the last CJK character for its bigram.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "analyze.h"
#include "foldtab.h"
#include "langtab.h"
#include "util.h"

/* A compound's part short enough to be joined, in bytes. */
#define JOIN_PART_MAX	10
/* The most parts joined: "a-b-c" gives "abc", "a-b-c-d" nothing joined. */
#define JOIN_PARTS	3
/* Not a code point: an invalid byte. */
#define CP_BAD		0xffffffffu

struct analyzer {
	const struct lang *lang;
	struct sb_stemmer *stemmer;	/* NULL: not stemmed */
};

/* A call's state. */
struct an_run {
	const struct analyzer *a;
	struct sb_stemmer *stemmer;
	unsigned flags;
	uint32_t max, count;
	an_emit_fn emit;
	void *arg;
	int done;		/* 1: max reached, -1: failed */
	uint32_t pos;		/* the next word's position */
	/* The word being read, folded; apostrophes as '\''. */
	char word[AN_TERM_MAX];
	size_t wlen;
	int wfull;		/* a character did not fit: the rest is cut */
	int apos_wait;		/* an apostrophe, kept if a letter follows */
	int join_wait;		/* a hyphen or dot after the word */
	/* The compound: its parts so far, joined while they are short. */
	char join[JOIN_PART_MAX * JOIN_PARTS];
	size_t jlen;
	unsigned nparts;
	int join_ok;		/* every part short, at most JOIN_PARTS */
	uint32_t last_pos;	/* its last part's position */
	/* The CJK run: its last character (folded) and its length. */
	char cjk_prev[FOLD_MAX];
	size_t cjk_plen;
	uint32_t cjk_n;
};

struct analyzer *
analyzer_new(const char *lang)
{
	struct analyzer *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->lang = lang_find(lang);
	if (a->lang->stemmer != NULL &&
	    (a->stemmer = sb_stemmer_new(a->lang->stemmer, "UTF_8")) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
analyzer_free(struct analyzer *a)
{
	if (a == NULL)
		return;
	if (a->stemmer != NULL)
		sb_stemmer_delete(a->stemmer);
	free(a);
}

/* ---------------------------------------------------------------- UTF-8 */

/*
 * The code point at *pp (strict UTF-8: no overlong form, no surrogate,
 * nothing past U+10FFFF), *pp past it; CP_BAD and one byte for an
 * invalid or truncated sequence. Reads nothing at or past end.
 */
static uint32_t
utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t k = proto_utf8_seq_len(p, (size_t)(end - p));

	*pp = p + (k > 0 ? k : 1);
	return k > 0 ? proto_utf8_cp(p, k) : CP_BAD;
}

/* ---------------------------------------------------------------- terms */

/* Hands a term to the caller, within the bound. */
static void
term_out(struct an_run *r, const char *t, size_t tlen, uint32_t pos)
{
	if (r->done)
		return;
	if (r->emit(r->arg, t, tlen, pos) != 0) {
		r->done = -1;
		return;
	}
	if (++r->count == r->max)
		r->done = 1;
}

/* 1 when w has a character other than an ASCII digit. */
static int
has_letter(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (w[i] < '0' || w[i] > '9')
			return 1;
	return 0;
}

/* A folded word as a term: dropped as a stopword, or stemmed and out. */
static void
word_out(struct an_run *r, const char *w, size_t len, uint32_t pos)
{
	const sb_symbol *s;
	int slen;

	if (!(r->flags & AN_KEEP_STOPWORDS) &&
	    wordlist_has(&r->a->lang->stop, w, len))
		return;
	if (r->stemmer == NULL || !has_letter(w, len)) {
		term_out(r, w, len, pos);
		return;
	}
	if ((s = sb_stemmer_stem(r->stemmer, (const sb_symbol *)w,
	    (int)len)) == NULL) {
		r->done = -1;
		return;
	}
	if ((slen = sb_stemmer_length(r->stemmer)) <= 0) {
		term_out(r, w, len, pos);
		return;
	}
	term_out(r, (const char *)s,
	    proto_utf8_cut((const char *)s, (size_t)slen, AN_TERM_MAX), pos);
}

/* The next word's position; the last one past UINT32_MAX words. */
static uint32_t
pos_take(struct an_run *r)
{
	uint32_t p = r->pos;

	if (r->pos < UINT32_MAX)
		r->pos++;
	return p;
}

/* ---------------------------------------------------------------- words */

/* Removes every apostrophe of w[*len]. */
static void
apos_remove(char *w, size_t *len)
{
	size_t i, n = 0;

	for (i = 0; i < *len; i++)
		if (w[i] != '\'')
			w[n++] = w[i];
	*len = n;
}

/*
 * The word's apostrophes read by the language's rule: where the word
 * starts in r->word and its length, apostrophes gone.
 */
static size_t
apos_apply(struct an_run *r, size_t *start)
{
	char *w = r->word, *q;
	size_t len = r->wlen;

	*start = 0;
	if ((q = memchr(w, '\'', len)) == NULL)
		return len;
	switch (r->a->lang->apos) {
	case APOS_ENGLISH:
		if (len >= 2 && w[len - 2] == '\'' && w[len - 1] == 's')
			len -= 2;
		break;
	case APOS_ELISION:
		if (wordlist_has(&r->a->lang->elide, w, (size_t)(q - w)))
			*start = (size_t)(q - w) + 1;
		break;
	case APOS_CUT:
		len = (size_t)(q - w);
		break;
	case APOS_JOIN:
		break;
	}
	len -= *start;
	apos_remove(w + *start, &len);
	return len;
}

/* Adds one folded character to the word, unless the word is full. */
static void
word_add(struct an_run *r, const char *c, size_t n)
{
	if (r->wfull || r->wlen + n > sizeof(r->word)) {
		r->wfull = 1;
		return;
	}
	memcpy(r->word + r->wlen, c, n);
	r->wlen += n;
}

/* A compound's part: joined to the parts before while they stay short. */
static void
join_add(struct an_run *r, const char *w, size_t len, uint32_t pos)
{
	r->nparts++;
	r->last_pos = pos;
	if (r->nparts == 1)
		r->join_ok = 1;
	if (!r->join_ok || r->nparts > JOIN_PARTS || len > JOIN_PART_MAX) {
		r->join_ok = 0;
		return;
	}
	memcpy(r->join + r->jlen, w, len);
	r->jlen += len;
}

/* The end of the word being read: its term, and its part of the compound. */
static void
word_end(struct an_run *r)
{
	size_t start, len;
	uint32_t pos;

	r->apos_wait = 0;
	if (r->wlen == 0)
		return;
	len = apos_apply(r, &start);
	r->wlen = 0;
	r->wfull = 0;
	if (len == 0)
		return;
	pos = pos_take(r);
	join_add(r, r->word + start, len, pos);
	word_out(r, r->word + start, len, pos);
}

/*
 * The end of a compound: two or three short parts, not all numbers
 * (3.14, 2026-11-25), give their joined form at the last part's position.
 */
static void
compound_end(struct an_run *r)
{
	if (r->nparts >= 2 && r->join_ok && has_letter(r->join, r->jlen))
		word_out(r, r->join, r->jlen, r->last_pos);
	r->nparts = 0;
	r->jlen = 0;
	r->join_ok = 0;
	r->join_wait = 0;
}

/* ---------------------------------------------------------------- CJK */

/* A CJK character, folded to c (n bytes): the bigram with the one before. */
static void
cjk_add(struct an_run *r, const char *c, size_t n)
{
	char t[2 * FOLD_MAX];

	if (r->cjk_n > 0) {
		memcpy(t, r->cjk_prev, r->cjk_plen);
		memcpy(t + r->cjk_plen, c, n);
		term_out(r, t, r->cjk_plen + n, pos_take(r));
	}
	memcpy(r->cjk_prev, c, n);
	r->cjk_plen = n;
	if (r->cjk_n < UINT32_MAX)
		r->cjk_n++;
}

/* The end of a CJK run: a lone character is its own term. */
static void
cjk_end(struct an_run *r)
{
	if (r->cjk_n == 1)
		term_out(r, r->cjk_prev, r->cjk_plen, pos_take(r));
	r->cjk_n = 0;
}

/* ---------------------------------------------------------------- reading */

/* Anything that ends words, compounds and CJK runs. */
static void
separator(struct an_run *r)
{
	word_end(r);
	compound_end(r);
	cjk_end(r);
}

/* A letter or digit, folded to c (n bytes). */
static void
on_word_char(struct an_run *r, const char *c, size_t n)
{
	cjk_end(r);
	if (r->apos_wait) {
		word_add(r, "'", 1);
		r->apos_wait = 0;
	}
	if (r->wlen == 0 && !r->join_wait)
		compound_end(r);
	r->join_wait = 0;
	word_add(r, c, n);
}

/* An apostrophe: inside a word if a letter follows, else a separator. */
static void
on_apostrophe(struct an_run *r)
{
	if (r->wlen == 0 || r->apos_wait || r->join_wait) {
		separator(r);
		return;
	}
	r->apos_wait = 1;
}

/* A hyphen or a dot: ends a part; the compound goes on if a letter follows. */
static void
on_join(struct an_run *r)
{
	if (r->wlen == 0 || r->apos_wait || r->join_wait) {
		separator(r);
		return;
	}
	word_end(r);
	r->join_wait = 1;
}

/* A combining mark kept: in the word it follows, else a separator. */
static void
on_mark(struct an_run *r, const char *c, size_t n)
{
	if (r->wlen == 0 || r->apos_wait || r->join_wait) {
		separator(r);
		return;
	}
	word_add(r, c, n);
}

/* One code point read. */
static void
on_cp(struct an_run *r, uint32_t cp)
{
	char f[FOLD_MAX];
	size_t n;

	if (cp == '\'' || cp == 0x2019) {
		on_apostrophe(r);
		return;
	}
	if (cp == '-' || cp == '.' || cp == 0x2010 || cp == 0x2011) {
		on_join(r);
		return;
	}
	switch (fold_cp(cp == CP_BAD ? 0 : cp, f, &n)) {
	case FC_WORD:
		on_word_char(r, f, n);
		break;
	case FC_MARK:
		on_mark(r, f, n);
		break;
	case FC_DROP:
		break;
	case FC_CJK:
		word_end(r);
		compound_end(r);
		cjk_add(r, f, n);
		break;
	case FC_SEP:
		separator(r);
		break;
	}
}

int
analyze(struct analyzer *a, const char *text, size_t len, unsigned flags,
    uint32_t max_terms, an_emit_fn emit, void *arg)
{
	struct an_run r;
	const unsigned char *p = (const unsigned char *)text;
	const unsigned char *end = p + len;

	if (max_terms == 0 || len == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.a = a;
	r.stemmer = a->stemmer;
	r.flags = flags;
	r.max = max_terms > INT_MAX ? INT_MAX : max_terms;
	r.emit = emit;
	r.arg = arg;
	while (p < end && !r.done)
		on_cp(&r, utf8_next(&p, end));
	separator(&r);
	return r.done < 0 ? -1 : (int)r.count;
}
