/*
 * libFuzzer target for the knowledge base's text analysis
 * (storaged/analyze.c) as the pages indexed and the questions asked meet
 * it: any bytes as text. Byte 0 picks the language (of the twelve the
 * widget speaks) and AN_KEEP_STOPWORDS, byte 1 a bound on the terms; the
 * rest is analyzed three times. Properties are checked, abort()
 * otherwise: every term is valid UTF-8 of 1 to AN_TERM_MAX bytes, no
 * upper-case ASCII and no separator (foldtab.h) in it; positions never go
 * down; a call returns its count of terms, within its bound; a bounded
 * call gives the first terms of the unbounded one, and analyzing the same
 * text again gives the same terms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "foldtab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const langs[] = {
	"en", "ar", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "tr", "zh",
};
#define NLANGS	(sizeof(langs) / sizeof(langs[0]))
/* The unbounded calls' bound: more terms than any input has bytes. */
#define UNBOUNDED	(1u << 20)

/* A call's terms, each as its length, its position and its bytes. */
struct terms {
	uint8_t *buf;
	size_t len, cap;
	uint32_t n;
	uint32_t last_pos;
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_analyze: %s\n", what);
		abort();
	}
}

/* The code point at *p (valid UTF-8 checked), *p past it. */
static uint32_t
term_cp(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p;
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
	    s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ?
	    4 : 0;
	uint32_t cp;
	size_t i;

	check(n > 0 && n <= (size_t)(end - s), "a term's bad lead byte");
	cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		check((s[i] & 0xc0) == 0x80, "a term's bad continuation");
		cp = cp << 6 | (s[i] & 0x3f);
	}
	check((n == 1 || cp >= (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u)) &&
	    cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff),
	    "a term's overlong, surrogate or past U+10FFFF");
	*p = s + n;
	return cp;
}

static void
term_check(const char *t, size_t tlen)
{
	const uint8_t *p = (const uint8_t *)t, *end = p + tlen;
	char f[FOLD_MAX];
	size_t n;
	uint32_t cp;

	check(tlen >= 1 && tlen <= AN_TERM_MAX, "a term's length");
	while (p < end) {
		cp = term_cp(&p, end);
		check(!(cp >= 'A' && cp <= 'Z'), "upper-case ASCII in a term");
		check(fold_cp(cp, f, &n) != FC_SEP, "a separator in a term");
	}
}

static int
collect(void *arg, const char *t, size_t tlen, uint32_t pos)
{
	struct terms *ts = arg;
	size_t need = tlen + 8;

	term_check(t, tlen);
	check(ts->n == 0 || pos >= ts->last_pos, "a position went down");
	ts->last_pos = pos;
	if (ts->len + need > ts->cap) {
		ts->cap = (ts->len + need) * 2;
		if ((ts->buf = realloc(ts->buf, ts->cap)) == NULL)
			abort();
	}
	memcpy(ts->buf + ts->len, &tlen, 4);
	memcpy(ts->buf + ts->len + 4, &pos, 4);
	memcpy(ts->buf + ts->len + 8, t, tlen);
	ts->len += need;
	ts->n++;
	return 0;
}

/* One call; its count checked against what it emitted and its bound. */
static void
run(struct analyzer *a, const char *text, size_t len, unsigned flags,
    uint32_t max, struct terms *ts)
{
	int n;

	memset(ts, 0, sizeof(*ts));
	n = analyze(a, text, len, flags, max, collect, ts);
	check(n >= 0 && (uint32_t)n == ts->n, "the count is not the terms'");
	check((uint32_t)n <= max, "more terms than the bound");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analyzer *a;
	struct terms all, some, again;
	unsigned flags;
	uint32_t max;
	const char *text;
	size_t len;

	if (size < 2)
		return 0;
	flags = (data[0] / NLANGS) & 1 ? AN_KEEP_STOPWORDS : 0;
	max = data[1];
	text = (const char *)data + 2;
	len = size - 2;
	if ((a = analyzer_new(langs[data[0] % NLANGS])) == NULL)
		abort();
	run(a, text, len, flags, UNBOUNDED, &all);
	check(all.n < UNBOUNDED, "the unbounded call met its bound");
	run(a, text, len, flags, max, &some);
	check(some.n == (all.n < max ? all.n : max) &&
	    (some.len == 0 || memcmp(some.buf, all.buf, some.len) == 0),
	    "a bounded call is not the first terms");
	run(a, text, len, flags, UNBOUNDED, &again);
	check(again.n == all.n && again.len == all.len &&
	    (all.len == 0 || memcmp(again.buf, all.buf, all.len) == 0),
	    "the same text analyzed again gave other terms");
	free(all.buf);
	free(some.buf);
	free(again.buf);
	analyzer_free(a);
	return 0;
}
