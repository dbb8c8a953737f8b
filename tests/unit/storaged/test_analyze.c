/*
 * storaged's text analysis (analyze.h): English, German, French and
 * Spanish stems, folding (accents, ß, Greek, Cyrillic, fullwidth),
 * apostrophes (possessive, elision), technical joins and their joined
 * forms, CJK bigrams, stopwords dropped and kept, invalid UTF-8 read
 * byte by byte and never past the end, the term and call bounds, word
 * positions, and the languages' tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze.h"
#include "langtab.h"

/* The terms of a call as "term@pos term@pos". */
struct got {
	char s[4096];
	size_t n;
	int stop_after;		/* emit refuses past this many (0: never) */
	uint32_t last_pos;
	size_t max_tlen;
};

static int
collect(void *arg, const char *t, size_t tlen, uint32_t pos)
{
	struct got *g = arg;
	int w;

	assert_true(tlen >= 1 && tlen <= AN_TERM_MAX);
	assert_true(g->n == 0 || pos >= g->last_pos);
	g->last_pos = pos;
	if (tlen > g->max_tlen)
		g->max_tlen = tlen;
	w = snprintf(g->s + strlen(g->s), sizeof(g->s) - strlen(g->s),
	    "%s%.*s@%u", g->n ? " " : "", (int)tlen, t, pos);
	assert_true(w > 0);
	g->n++;
	return g->stop_after && (int)g->n > g->stop_after;
}

/* text's terms in lang, as collect writes them; the count checked. */
static const char *
terms_of(const char *lang, const char *text, size_t len, unsigned flags,
    uint32_t max)
{
	static struct got g;
	struct analyzer *a;
	int n;

	memset(&g, 0, sizeof(g));
	assert_non_null(a = analyzer_new(lang));
	n = analyze(a, text, len, flags, max, collect, &g);
	assert_int_equal(n, (int)g.n);
	analyzer_free(a);
	return g.s;
}

static const char *
terms(const char *lang, const char *text)
{
	return terms_of(lang, text, strlen(text), 0, 1000);
}

static const char *
terms_all(const char *lang, const char *text)
{
	return terms_of(lang, text, strlen(text), AN_KEEP_STOPWORDS, 1000);
}

static void
english_stems(void **state)
{
	assert_string_equal(terms("en", "connection connected connecting "
	    "connections"), "connect@0 connect@1 connect@2 connect@3");
	assert_string_equal(terms("en", "Running runs"), "run@0 run@1");
	assert_string_equal(terms("", "running"), "run@0");
	assert_string_equal(terms("xx-YY", "running"), "run@0");
	assert_string_equal(terms(NULL, "running"), "run@0");
	assert_string_equal(terms("EN-gb", "Generously"), "generous@0");
}

static void
other_stems(void **state)
{
	/* Snowball's German, French, Spanish; the tag's region ignored. */
	assert_string_equal(terms("de", "Häuser Hauses"), "haus@0 haus@1");
	assert_string_equal(terms("de-AT", "Kinder Kindern"),
	    "kind@0 kind@1");
	assert_string_equal(terms("fr", "continuer continuation"),
	    "continu@0 continu@1");
	assert_string_equal(terms("es", "corriendo corrieron"),
	    "corr@0 corr@1");
	/* Polish, Japanese, Chinese: folded, not stemmed. */
	assert_string_equal(terms("pl", "Książki"), "ksiazki@0");
	assert_string_equal(terms("zh", "running"), "running@0");
}

static void
folding(void **state)
{
	assert_string_equal(terms("fr", "Café"), terms("fr", "cafe"));
	assert_string_equal(terms("en", "Café CAFE naïve Ærø Łódź"),
	    "cafe@0 cafe@1 naiv@2 aero@3 lodz@4");
	assert_string_equal(terms("pl", "żółć"), "zolc@0");
	/* ß as ss, capital ẞ too; ı and İ as i. */
	assert_string_equal(terms("pl", "Straße STRAẞE ıİ"),
	    "strasse@0 strasse@1 ii@2");
	/* A decomposed accent (e + U+0301) as the composed one. */
	assert_string_equal(terms("pl", "cafe\xcc\x81"), "cafe@0");
	/* Greek: lower case, no tonos, one sigma. */
	assert_string_equal(terms("pl", "ΟΔΥΣΣΕΥΣ Οδυσσεύς άλφα"),
	    "οδυσσευσ@0 οδυσσευσ@1 αλφα@2");
	/* Cyrillic: lower case, й kept. */
	assert_string_equal(terms("pl", "МОСКВА Москва ЙОД"),
	    "москва@0 москва@1 йод@2");
	/* A soft hyphen and a zero-width joiner split nothing. */
	assert_string_equal(terms("pl", "hy\xc2\xadphen zero\xe2\x80\x8dwidth"),
	    "hyphen@0 zerowidth@1");
	/* Fullwidth ASCII as ASCII. */
	assert_string_equal(terms("pl", "ＡＢＣ１２"), "abc12@0");
	/* Arabic and Hebrew letters are words; harakat dropped. */
	assert_string_equal(terms("zh", "שָׁלוֹם مَرْحَبًا"),
	    "שלום@0 مرحبا@1");
}

static void
apostrophes(void **state)
{
	/* English: the possessive dropped, else one word. */
	assert_string_equal(terms("en", "John's car"), "john@0 car@1");
	assert_string_equal(terms("en", "John\xe2\x80\x99s car"),
	    "john@0 car@1");
	assert_string_equal(terms_all("en", "don't"), "dont@0");
	/* French and Italian elision. */
	assert_string_equal(terms("fr", "l'homme L’Homme d'accord"),
	    "homm@0 homm@1 accord@2");
	assert_string_equal(terms("fr", "aujourd'hui"), "aujourdhui@0");
	assert_string_equal(terms("it", "l'amico dell'amica"),
	    "amic@0 amic@1");
	/* Turkish: the suffix after it dropped. */
	assert_string_equal(terms("tr", "Ankara'da"), "ankar@0");
	/* Not inside a word: a separator. */
	assert_string_equal(terms("en", "'quoted' rock''roll"),
	    "quot@0 rock@1 roll@2");
}

static void
joins(void **state)
{
	assert_string_equal(terms("en", "apt-get install"),
	    "apt@0 get@1 aptget@1 instal@2");
	assert_string_equal(terms("en", "sources.list"),
	    "sourc@0 list@1 sourceslist@1");
	assert_string_equal(terms("en", "/etc/fstab"), "etc@0 fstab@1");
	assert_string_equal(terms("en", "e-mail"), "e@0 mail@1 email@1");
	/* The query "email" meets the joined form of "e-mail". */
	assert_string_equal(terms("en", "email"), "email@0");
	assert_string_equal(terms("en", "E-Mails."), "e@0 mail@1 email@1");
	/* Three short parts join; four, or a long one, do not. */
	assert_string_equal(terms("pl", "x-y-q"), "x@0 y@1 q@2 xyq@2");
	assert_string_equal(terms("pl", "x-y-q-r"), "x@0 y@1 q@2 r@3");
	assert_string_equal(terms("pl", "configuration-file"),
	    "configuration@0 file@1");
	/* Numbers alone are not joined; a doubled join splits. */
	assert_string_equal(terms("pl", "3.14 2026-11-25"),
	    "3@0 14@1 2026@2 11@3 25@4");
	assert_string_equal(terms("pl", "x--y"), "x@0 y@1");
	/* Letters and digits are one word. */
	assert_string_equal(terms("en", "ipv6 x86 utf8 UTF-8"),
	    "ipv6@0 x86@1 utf8@2 utf@3 8@4 utf8@4");
}

static void
cjk(void **state)
{
	assert_string_equal(terms("ja", "日本語"), "日本@0 本語@1");
	assert_string_equal(terms("zh", "中"), "中@0");
	/* A Latin word splits the run; Hangul and Katakana pair too. */
	assert_string_equal(terms("ja", "東京iPhone設定"),
	    "東京@0 iphone@1 設定@2");
	assert_string_equal(terms("zh", "한국어 カタカナ"),
	    "한국@0 국어@1 カタ@2 タカ@3 カナ@4");
	/* Halfwidth Katakana as fullwidth. */
	assert_string_equal(terms("ja", "ｶﾀｶﾅ"), "カタ@0 タカ@1 カナ@2");
	/* Punctuation ends a run. */
	assert_string_equal(terms("ja", "日本、語"), "日本@0 語@1");
}

static void
stopwords(void **state)
{
	assert_string_equal(terms("en", "the cat and the hat"),
	    "cat@1 hat@4");
	assert_string_equal(terms("en", "who are you"), "");
	assert_string_equal(terms_all("en", "who are you"),
	    "who@0 are@1 you@2");
	assert_string_equal(terms("de", "der Hund und die Katze"),
	    "hund@1 katz@4");
	assert_string_equal(terms("fr", "le chat et la souris"),
	    "chat@1 sour@4");
	assert_string_equal(terms("es", "el perro y el gato"),
	    "perr@1 gat@4");
	/* A stopword written with its accents is one: "été", "für". */
	assert_string_equal(terms("fr", "été"), "");
	assert_string_equal(terms("de", "für"), "");
}

/* Invalid UTF-8: each bad byte a separator, the rest read. */
static void
invalid_utf8(void **state)
{
	static const char lone[] = "ab\x80" "cd\xbf";
	static const char overlong[] = "ab\xc0\xafq\xe0\x80\xafy\xc1\x81";
	static const char surrogate[] = "ab\xed\xa0\x80" "cd";
	static const char nul[] = "ab\0cd";
	static const char past[] = "x\xf4\x90\x80\x80y\xf8\x88\x80\x80\x80";
	char *t;

	assert_string_equal(terms_of("pl", lone, sizeof(lone) - 1, 0, 99),
	    "ab@0 cd@1");
	assert_string_equal(terms_of("pl", overlong, sizeof(overlong) - 1,
	    0, 99), "ab@0 q@1 y@2");
	assert_string_equal(terms_of("pl", surrogate, sizeof(surrogate) - 1,
	    0, 99), "ab@0 cd@1");
	assert_string_equal(terms_of("pl", nul, sizeof(nul) - 1, 0, 99),
	    "ab@0 cd@1");
	assert_string_equal(terms_of("pl", past, sizeof(past) - 1, 0, 99),
	    "x@0 y@1");
	/* A sequence cut by the end, in a buffer of exactly its bytes. */
	assert_non_null(t = malloc(4));
	memcpy(t, "ab\xe6\x97", 4);
	assert_string_equal(terms_of("ja", t, 4, 0, 99), "ab@0");
	memcpy(t, "q\xf0\x9f\x98", 4);
	assert_string_equal(terms_of("pl", t, 4, 0, 99), "q@0");
	memcpy(t, "\xc3", 1);
	assert_string_equal(terms_of("pl", t, 1, 0, 99), "");
	free(t);
}

static void
bounds(void **state)
{
	char text[400], want[80];
	struct got g;
	struct analyzer *a;
	size_t i;

	/* A long word cut at 64 bytes, at a character boundary. */
	memset(text, 'x', 200);
	text[200] = '\0';
	memset(want, 'x', AN_TERM_MAX);
	strcpy(want + AN_TERM_MAX, "@0");
	assert_string_equal(terms("pl", text), want);
	/* "x" and forty "ж": 1 + 2 * 31 = 63 bytes, the 32nd ж does not fit. */
	text[0] = 'x';
	for (i = 0; i < 40; i++)
		memcpy(text + 1 + 2 * i, "\xd0\xb6", 2);
	text[81] = '\0';
	memset(&g, 0, sizeof(g));
	assert_non_null(a = analyzer_new("pl"));
	assert_int_equal(analyze(a, text, 81, 0, 10, collect, &g), 1);
	assert_int_equal(g.max_tlen, 63);
	analyzer_free(a);
	/* max_terms: the first ones, in order. */
	assert_string_equal(terms_of("en", "one two three four", 18, 0, 2),
	    "one@0 two@1");
	assert_string_equal(terms_of("en", "one two", 7, 0, 0), "");
	assert_string_equal(terms_of("en", NULL, 0, 0, 10), "");
	/* An emit that refuses stops the call: -1. */
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	assert_non_null(a = analyzer_new("en"));
	assert_int_equal(analyze(a, "one two three", 13, 0, 10, collect, &g),
	    -1);
	assert_string_equal(g.s, "one@0 two@1");
	analyzer_free(a);
	analyzer_free(NULL);
}

static void
positions(void **state)
{
	/* Each word one; stopwords and marks take theirs; punctuation none. */
	assert_string_equal(terms("en", "Is it a bug, or a feature?"),
	    "bug@3 featur@6");
	assert_string_equal(terms("ja", "東京 tower 日本語"),
	    "東京@0 tower@1 日本@2 本語@3");
}

static void
tables(void **state)
{
	const struct lang *l;
	size_t n, i, j;

	l = lang_table(&n);
	for (i = 0; i < n; i++) {
		for (j = 1; j < l[i].stop.n; j++)
			assert_true(strcmp(l[i].stop.w[j - 1],
			    l[i].stop.w[j]) < 0);
		for (j = 1; j < l[i].elide.n; j++)
			assert_true(strcmp(l[i].elide.w[j - 1],
			    l[i].elide.w[j]) < 0);
		/* Every stopword is what folding makes of it: kept whole. */
		for (j = 0; j < l[i].stop.n; j++)
			assert_true(wordlist_has(&l[i].stop, l[i].stop.w[j],
			    strlen(l[i].stop.w[j])));
		assert_ptr_equal(lang_find(l[i].code), &l[i]);
	}
	assert_string_equal(lang_find("PT-br")->code, "pt");
	assert_string_equal(lang_find("klingon")->code, "en");
	assert_false(wordlist_has(&lang_find("en")->stop, "th", 2));
	assert_false(wordlist_has(&lang_find("en")->stop, "thee", 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(english_stems),
		cmocka_unit_test(other_stems),
		cmocka_unit_test(folding),
		cmocka_unit_test(apostrophes),
		cmocka_unit_test(joins),
		cmocka_unit_test(cjk),
		cmocka_unit_test(stopwords),
		cmocka_unit_test(invalid_utf8),
		cmocka_unit_test(bounds),
		cmocka_unit_test(positions),
		cmocka_unit_test(tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
