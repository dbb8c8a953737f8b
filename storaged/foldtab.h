/*
 * Character folding for the text analysis (analyze.c): what kind of
 * character a code point is (part of a word, a mark, a CJK character, a
 * separator) and the form a word keeps of it: lower case for Latin,
 * Greek and Cyrillic, Latin letters without their diacritics (é e, ß ss,
 * æ ae, ø o, ł l), Greek without its accents and with one sigma,
 * fullwidth ASCII as ASCII, halfwidth Katakana as fullwidth. No locale:
 * the same bytes everywhere.
 */
#ifndef PARLEY_FOLDTAB_H
#define PARLEY_FOLDTAB_H

#include <stddef.h>
#include <stdint.h>

enum fold_class {
	FC_SEP,		/* splits words */
	FC_WORD,	/* a letter or a digit */
	FC_MARK,	/* a combining mark kept in its word (Indic
			   vowel signs) */
	FC_DROP,	/* dropped, not splitting: Latin and Greek combining
			   diacritics, Arabic harakat and tatweel, Hebrew
			   points, the soft hyphen, zero-width (non-)joiners */
	FC_CJK,		/* Han, Hiragana, Katakana, Hangul: bigrammed */
};

/* The longest folded form of one code point, in bytes. */
#define FOLD_MAX	4

/*
 * cp's class. For FC_WORD, FC_MARK and FC_CJK, writes the form a term
 * keeps of it to out (1 to FOLD_MAX bytes of UTF-8: folded for FC_WORD
 * and a halfwidth FC_CJK, cp itself otherwise) and returns its length in
 * *olen; 0 for the others.
 * cp past U+10FFFF or a surrogate is FC_SEP.
 */
enum fold_class fold_cp(uint32_t cp, char out[FOLD_MAX], size_t *olen);
/* cp as UTF-8 into out (1 to 4 bytes), its length; cp a valid scalar. */
size_t utf8_put(uint32_t cp, char out[4]);

#endif
