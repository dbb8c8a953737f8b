/*
 * Text analysis for the knowledge base's lexical index: UTF-8 text to
 * the index's terms, the same way for the pages indexed and the
 * questions searched, so that the two meet.
 *
 * A term is a word folded (lower case, Latin without diacritics, see
 * foldtab.h), not a stopword of the analyzer's language and stemmed by
 * its Snowball stemmer; or a pair of neighbouring CJK characters. Words
 * are runs of letters and digits (ipv6, x86 one word); an apostrophe
 * inside one is read per language (langtab.h); "apt-get", "sources.list"
 * and "e-mail" give their parts and, two or three short parts joined by
 * hyphens or dots, the joined word too ("aptget", "sourceslist",
 * "email"). storaged/STORAGE.md ("Text analysis") has the whole story.
 *
 * Positions count words from 0: each word, each CJK bigram (or lone CJK
 * character) is one; a stopword dropped still takes its position, and a
 * joined form takes its last part's. They never go down along a call.
 */
#ifndef PARLEY_ANALYZE_H
#define PARLEY_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

/* A term's most bytes; a longer word is cut at a character boundary. */
#define AN_TERM_MAX	64

/* analyze's flags. */
#define AN_KEEP_STOPWORDS	0x1	/* emit stopwords too (a query of
					   nothing else) */

/* One language, one thread: its stemmer is not thread-safe. */
struct analyzer;

/*
 * An analyzer for the language of the BCP 47 tag lang (its first subtag:
 * "pt-BR" is Portuguese): en, ar, de, es, fr, it, nl, pt, tr stemmed, pl,
 * ja, zh folded only; NULL, "" or another tag is English. Use it from one
 * thread at a time. NULL out of memory; analyzer_free frees it.
 */
struct analyzer *analyzer_new(const char *lang);
/* Frees a (NULL is nothing). */
void analyzer_free(struct analyzer *a);

/*
 * Called with each term: its bytes (valid UTF-8, 1 to AN_TERM_MAX, not
 * NUL-ended, valid during the call only), their length and the term's
 * word position. Nonzero stops the analysis.
 */
typedef int (*an_emit_fn)(void *arg, const char *term, size_t tlen,
    uint32_t pos);

/*
 * Reads the len bytes of text (any bytes: invalid UTF-8 and NUL separate
 * words; nothing past text + len is read) and calls emit for each of its
 * terms in order, at most max_terms of them (a max_terms over INT_MAX is
 * INT_MAX). flags: AN_KEEP_STOPWORDS or 0. Returns the number of terms
 * emitted, or -1 when emit returned nonzero or the stemmer ran out of
 * memory (terms before it were emitted). Allocates nothing but what the
 * stemmer keeps in a.
 */
int analyze(struct analyzer *a, const char *text, size_t len,
    unsigned flags, uint32_t max_terms, an_emit_fn emit, void *arg);

/* Bytes of analyze_fingerprint's digest (a SHA-256). */
#define AN_FINGERPRINT_LEN	32

/*
 * The analysis this build does, as a digest (anprint.c): the same for
 * two builds whose analyze() makes the same terms of a text, different
 * when langtab's table, a folding of foldtab's or the probe's terms
 * (libstemmer's stems among them) differ. Worked out at its first call,
 * once a process (thread-safe). 0, or -1: out of memory, or a stemmer
 * of langtab's that libstemmer lacks (at the process's first call:
 * every call after it fails as well).
 */
int analyze_fingerprint(uint8_t out[AN_FINGERPRINT_LEN]);

#endif
