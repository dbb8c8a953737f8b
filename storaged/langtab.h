/*
 * The languages of the text analysis (analyze.c): for each of the
 * widget's languages, its Snowball stemmer, its stopwords, how a word's
 * apostrophe is read and, for elision, the words elided before one.
 */
#ifndef PARLEY_LANGTAB_H
#define PARLEY_LANGTAB_H

#include <stddef.h>

/* What an apostrophe inside a word does (the word is "x'y"). */
enum apos_rule {
	APOS_JOIN,	/* one word without it: "xy" (de, es, nl, pt...) */
	APOS_ENGLISH,	/* "'s" at the end dropped (a possessive), else joined */
	APOS_ELISION,	/* an elided word before it dropped (l'homme:
			   homme), else joined (fr, it) */
	APOS_CUT,	/* the suffix after it dropped (tr: Ankara'da) */
};

/* A sorted list of folded words (strcmp's order). */
struct wordlist {
	const char *const *w;
	size_t n;
};

struct lang {
	const char *code;	/* ISO 639-1, "en" */
	const char *stemmer;	/* Snowball's algorithm, NULL: not stemmed */
	struct wordlist stop;	/* stopwords, folded as analyze.c folds */
	struct wordlist elide;	/* APOS_ELISION's words */
	enum apos_rule apos;
};

/*
 * The language of a BCP 47 tag by its first subtag, in any case ("pt-BR"
 * is "pt"); English for NULL, "" or one not in the table. Never NULL.
 */
const struct lang *lang_find(const char *tag);
/* 1 when the len bytes at w (not NUL-ended) are a word of l. */
int wordlist_has(const struct wordlist *l, const char *w, size_t len);
/* The table, for tests: *n entries. */
const struct lang *lang_table(size_t *n);

#endif
