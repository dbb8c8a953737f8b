/*
 * The analysis's fingerprint (analyze.h): a digest of what analyze()
 * makes of text in this build, which the knowledge base's index keeps
 * beside itself (kbindex.c) to know the analysis that built it.
 *
 * Why a probe and not a version number: the analysis is this build's
 * code and tables (analyze.c, foldtab.c, langtab.c) and the system's
 * libstemmer, which Debian upgrades under us. A number bumped by hand
 * misses a libstemmer upgrade always and a table edit whenever its
 * author forgets; what the analysis does, measured at start, catches
 * every table edit (the tables are read whole) and a stemmer's change
 * that stems one of the probe's words otherwise (a change to none of
 * them goes unseen). So the digest is of
 *   - langtab's table: each language's code, stemmer, apostrophe rule,
 *     stopwords and elided words (an edit of a list is caught whatever
 *     words it holds);
 *   - fold_cp over every code point: the runs of one class kept as
 *     they are, and each code point folded to another form (any edit of
 *     foldtab's, whatever character it touches);
 *   - the terms and positions analyze() gives of the probe text below in
 *     every language (the stemmers, the stopwords' lookup, apostrophes,
 *     joins, CJK bigrams, UTF-8 decoding, the cut of long words).
 * About 15 ms once a process that indexes or holds chunks (the sweep
 * of 1.1 million code points most of it; 40 ms in the sanitised test
 * build): a start with no chunk works it out not at all (kbindex.c).
 */
#include <pthread.h>
#include <string.h>

#include "analyze.h"
#include "foldtab.h"
#include "langtab.h"
#include "proto.h"
#include "sha256.h"

/*
 * Words of each stemmed language in many of their inflections, text to
 * fold (accents, ligatures, Greek, Cyrillic, fullwidth, halfwidth
 * Katakana, invisible characters, combining marks), apostrophes, joins,
 * CJK, bytes that are no UTF-8 and a word longer than a term. Analysed
 * whole in every language: each stemmer reads the others' words too.
 */
static const char probe[] =
    /* en */
    "The administrators were configuring networked printers; running "
    "runs ran generously happiness connections relational conditional "
    "rational valency digitizer operator feudalism hopefulness "
    "callousness formality sensitivity sensibility triplicate formative "
    "formalize electricity electrical hopeful goodness revival allowance "
    "inference airliner adjustable defensible irritant replacement "
    "adjustment dependent adoption homologous communism activate "
    "angularity effective bowdlerize cats ponies ties caresses skies "
    "dying lying news innings outings cannings atlas cosmos bias andes "
    "gently ugly early only singly generate generated generating "
    "generally generic knightly agreed feed plastered motoring sized "
    "hoping hopping filing conflated troubled falling hissing fizzed "
    "failing happy sky controllable rolling roll's mother-in-law "
    /* de */
    "Die Häuser der Kinder und Straßen; aufeinanderfolgenden "
    "Vergnügungsparks möglicherweise Übersetzungen schönsten Bäume "
    "Mädchen lächelten Freundlichkeiten Bewegungen bedeutendsten "
    "Wissenschaftler aufgestanden "
    /* fr */
    "L'homme d'accord aujourd'hui, continuer continuation; les chevaux "
    "étaient majestueusement présidentielles qu'il s'appelait j'aime "
    "n'est-ce pas jusqu'à lorsqu'elle été être nationalisation "
    /* es */
    "Corriendo corrieron las canciones españolas, niños pequeñitos "
    "rápidamente organizaciones habíamos comido acción mañana "
    "desafortunadamente "
    /* it */
    "l'amico dell'amica abbandonata abbandonate velocemente nazionalità "
    "perché università c'è gl'italiani nell'anno all'ultimo "
    /* nl */
    "De kinderen fietsten gezellig opgewektheid mogelijkheden "
    "ziekenhuizen ongelooflijk België geïnteresseerd lichamelijk "
    /* pt */
    "Não é possível informações corações rapidamente ações pães "
    "conseguiríamos histórias "
    /* tr */
    "Ankara'da İstanbul’dan kitaplarımızdan çocuklar güzelleştirmek "
    "öğretmenlerimiz ılık şehirlerdeki "
    /* ar */
    "والمكتبات الكتاب كتب يكتبون المدرسة مدارس المعلمين بالسيارة "
    "وسيارات مَرْحَبًا "
    /* pl, Greek, Cyrillic, Hebrew, Devanagari */
    "Książki żółć Łódź zażółć gęślą jaźń ΟΔΥΣΣΕΥΣ Οδυσσεύς άλφα "
    "МОСКВА Москва ЙОД ёлка שָׁלוֹם हिन्दी भाषा "
    /* CJK, halfwidth and fullwidth */
    "日本語 東京iPhone設定 한국어 カタカナ ｶﾀｶﾅ ﾊﾟﾝ 中、文 ひらがな "
    "々〆〇 ＡＢＣ１２ "
    /* Latin folding */
    "Ærø naïve Café CAFE STRAẞE ıİ Ĳssel þorn ðe œuvre ﬁne Việt "
    "Nguyễn cafe\xcc\x81 "
    /* joins, apostrophes, invisible characters */
    "apt-get sources.list /etc/fstab e-mail E-Mails. x-y-q x-y-q-r "
    "configuration-file 3.14 2026-11-25 x--y ipv6 x86 UTF-8 "
    "rock''roll 'quoted' don't John's John’s hy\xc2\xadphen "
    "zero\xe2\x80\x8dwidth non\xe2\x80\x8cjoiner word\xe2\x81\xa0joiner "
    "\xef\xbb\xbf" "bom "
    /* no UTF-8: a lone byte, an overlong form, a surrogate, past U+10FFFF */
    "ab\x80" "cd ab\xc0\xafq ab\xed\xa0\x80" "cd x\xf4\x90\x80\x80y "
    /* longer than a term (64 bytes) */
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerk"
    "bauunterbeamtengesellschaft "
    "пневмоноультрамикроскопическиесиликовулкано"
    "кониозыпневмоноультра";

/* analyze()'s emit: each term's length, bytes and position kept. */
static int
probe_emit(void *arg, const char *term, size_t tlen, uint32_t pos)
{
	struct penc *e = arg;

	penc_u8(e, (uint8_t)tlen);
	penc_raw(e, term, tlen);
	penc_u32(e, pos);
	return 0;
}

/* A list of words into e: how many, then each. */
static void
words_put(struct penc *e, const struct wordlist *l)
{
	size_t i;

	penc_u32(e, (uint32_t)l->n);
	for (i = 0; i < l->n; i++)
		penc_str(e, l->w[i]);
}

/*
 * Every code point's class and form into e: a run of one class whose
 * code points a word keeps as they are by its first code point, each
 * code point folded to another form by itself.
 */
static void
folds_put(struct penc *e)
{
	char f[FOLD_MAX], u[4];
	uint32_t cp;
	size_t n;
	int c, prev = -1, same;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		c = (int)fold_cp(cp, f, &n);
		/* n is 0 for a surrogate (FC_SEP): utf8_put never sees one. */
		same = n == 0 || (n == utf8_put(cp, u) && memcmp(f, u, n) == 0);
		if (same && c == prev)
			continue;
		penc_u32(e, cp);
		penc_u8(e, (uint8_t)c);
		penc_u8(e, (uint8_t)n);
		penc_raw(e, f, n);
		prev = same ? c : -1;
	}
}

/*
 * The table's languages and the probe's terms in each into e. 0, or -1
 * (out of memory: an analyzer, or the stemmer).
 */
static int
langs_put(struct penc *e)
{
	const struct lang *l;
	struct analyzer *a;
	size_t i, n;
	int got;

	l = lang_table(&n);
	for (i = 0; i < n; i++) {
		penc_str(e, l[i].code);
		penc_str(e, l[i].stemmer);
		penc_u8(e, (uint8_t)l[i].apos);
		words_put(e, &l[i].stop);
		words_put(e, &l[i].elide);
		if ((a = analyzer_new(l[i].code)) == NULL)
			return -1;
		got = analyze(a, probe, sizeof(probe) - 1, 0, UINT32_MAX,
		    probe_emit, e);
		analyzer_free(a);
		if (got < 0)
			return -1;
		penc_u32(e, (uint32_t)got);
	}
	return 0;
}

static uint8_t fp_digest[AN_FINGERPRINT_LEN];
static int fp_failed;
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;

/* The fingerprint worked out, once: fp_digest, or fp_failed set. */
static void
fp_make(void)
{
	struct penc e;

	penc_init(&e);
	penc_str(&e, "parley text analysis 1");
	folds_put(&e);
	if (langs_put(&e) < 0 || e.err)
		fp_failed = 1;
	else
		proto_sha256(e.buf, e.len, fp_digest);
	penc_free(&e);
}

int
analyze_fingerprint(uint8_t out[AN_FINGERPRINT_LEN])
{
	(void)pthread_once(&fp_once, fp_make);
	if (fp_failed)
		return -1;
	memcpy(out, fp_digest, AN_FINGERPRINT_LEN);
	return 0;
}
