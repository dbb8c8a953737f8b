/*
 * The languages' table (langtab.h): stemmers, stopwords and apostrophes.
 *
 * The stopwords are each language's commonest function words (articles,
 * pronouns, prepositions, conjunctions, auxiliaries), 48 to 92 a list,
 * written as analyze.c folds them (lower case, no diacritics: French
 * "été" is "ete", Turkish "için" "icin", Polish "się" "sie"), sorted by
 * strcmp for the binary search (test_analyze checks the order). Japanese
 * and Chinese have none: their text is read as character bigrams, and a
 * function word there is one character inside a run, which no list of
 * words could take out. Polish, Japanese and Chinese have no Snowball
 * stemmer in libstemmer 2.2: folded, not stemmed.
 */
#include <string.h>
#include <strings.h>

#include "langtab.h"

static const char *const stop_en[] = {
	"a", "about", "after", "all", "also", "am", "an", "and", "any",
	"are", "as", "at", "be", "because", "been", "but", "by", "can",
	"could", "did", "do", "does", "for", "from", "had", "has", "have",
	"he", "her", "here", "him", "his", "how", "i", "if", "in", "into",
	"is", "it", "its", "just", "me", "more", "most", "my", "no", "nor",
	"not", "now", "of", "on", "or", "other", "our", "out", "over",
	"she", "should", "so", "some", "such", "than", "that", "the",
	"their", "them", "then", "there", "these", "they", "this", "those",
	"to", "too", "up", "very", "was", "we", "were", "what", "when",
	"where", "which", "while", "who", "whom", "why", "will", "with",
	"would", "you", "your",
};

static const char *const stop_de[] = {
	"aber", "alle", "als", "also", "am", "an", "auch", "auf", "aus",
	"bei", "bin", "bis", "bist", "da", "damit", "dann", "das", "dass",
	"dein", "deine", "dem", "den", "der", "des", "dich", "die", "dir",
	"doch", "du", "durch", "ein", "eine", "einem", "einen", "einer",
	"eines", "er", "es", "fur", "hat", "hatte", "ich", "ihr", "im",
	"in", "ist", "ja", "jetzt", "kann", "kein", "mich", "mir", "mit",
	"nach", "nicht", "noch", "nur", "ob", "oder", "ohne", "sein",
	"sich", "sie", "sind", "so", "uber", "um", "und", "uns", "unter",
	"vom", "von", "vor", "war", "was", "weil", "wenn", "wer", "wie",
	"wir", "wird", "zu", "zum", "zur",
};

static const char *const stop_fr[] = {
	"a", "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du",
	"elle", "en", "est", "et", "ete", "etre", "eu", "il", "ils", "je",
	"la", "le", "les", "leur", "lui", "ma", "mais", "me", "meme",
	"mes", "moi", "mon", "ne", "nos", "notre", "nous", "on", "ou",
	"par", "pas", "pour", "que", "qui", "sa", "se", "ses", "son",
	"sont", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une",
	"vos", "votre", "vous", "y",
};

static const char *const stop_es[] = {
	"a", "al", "algo", "como", "con", "cual", "cuando", "de", "del",
	"desde", "donde", "e", "el", "ella", "ellas", "ellos", "en",
	"entre", "era", "es", "esa", "ese", "eso", "esta", "este", "esto",
	"estos", "fue", "ha", "hay", "la", "las", "le", "les", "lo", "los",
	"mas", "me", "mi", "mis", "muy", "ni", "no", "nos", "o", "os",
	"para", "pero", "por", "porque", "que", "quien", "se", "sea",
	"ser", "si", "sin", "sobre", "su", "sus", "tambien", "te", "ti",
	"tu", "tus", "un", "una", "uno", "unos", "y", "ya", "yo",
};

static const char *const stop_it[] = {
	"a", "ad", "agli", "ai", "al", "alla", "alle", "anche", "che",
	"chi", "ci", "come", "con", "da", "dal", "dalla", "dei", "del",
	"della", "delle", "di", "e", "ed", "era", "gli", "ha", "hanno",
	"ho", "i", "il", "in", "io", "la", "le", "lei", "lo", "loro",
	"lui", "ma", "mi", "mia", "mio", "ne", "negli", "nei", "nel",
	"nella", "noi", "non", "o", "per", "piu", "quale", "quando",
	"questa", "questo", "se", "si", "sono", "su", "sua", "sul",
	"sulla", "suo", "ti", "tra", "tu", "un", "una", "uno", "vi", "voi",
};

static const char *const stop_nl[] = {
	"aan", "al", "alles", "als", "bij", "dan", "dat", "de", "der",
	"deze", "die", "dit", "door", "dus", "een", "en", "er", "geen",
	"had", "heb", "hebben", "heeft", "hem", "het", "hier", "hij",
	"hoe", "hun", "ik", "in", "is", "ja", "je", "kan", "maar", "me",
	"men", "met", "mij", "mijn", "na", "naar", "niet", "nog", "nu",
	"of", "om", "omdat", "ons", "ook", "op", "over", "te", "tot", "u",
	"uit", "van", "veel", "voor", "want", "was", "wat", "we", "wel",
	"werd", "wie", "wij", "wil", "worden", "zal", "ze", "zich", "zij",
	"zijn", "zo", "zou",
};

static const char *const stop_pt[] = {
	"a", "ao", "aos", "as", "com", "como", "da", "das", "de", "dela",
	"dele", "do", "dos", "e", "ela", "elas", "ele", "eles", "em",
	"entre", "era", "essa", "esse", "esta", "este", "eu", "foi", "ha",
	"isso", "isto", "ja", "lhe", "mais", "mas", "me", "meu", "minha",
	"muito", "na", "nao", "nas", "nem", "no", "nos", "o", "os", "ou",
	"para", "pela", "pelo", "por", "qual", "quando", "que", "quem",
	"se", "sem", "ser", "seu", "seus", "so", "sua", "suas", "tambem",
	"te", "tem", "um", "uma", "voce", "voces",
};

static const char *const stop_tr[] = {
	"acaba", "ama", "ancak", "bana", "bazi", "belki", "ben", "beni",
	"benim", "bir", "biraz", "biz", "bu", "buna", "bunu", "cok", "da",
	"daha", "de", "diye", "en", "gibi", "hem", "hep", "hepsi", "her",
	"hic", "icin", "ile", "ise", "ki", "kim", "mi", "mu", "nasil",
	"ne", "neden", "nerede", "niye", "o", "sen", "siz", "su", "tum",
	"ve", "veya", "ya", "yani",
};

static const char *const stop_pl[] = {
	"a", "aby", "ale", "bo", "by", "byc", "czy", "dla", "do", "gdy",
	"go", "i", "ich", "ja", "jak", "jako", "je", "jego", "jej", "jest",
	"juz", "ktora", "ktore", "ktory", "lub", "ma", "mi", "mnie", "na",
	"nad", "nie", "nim", "o", "od", "on", "ona", "oni", "po", "pod",
	"przez", "przy", "sa", "sie", "sobie", "ta", "tak", "tam", "te",
	"tego", "tej", "ten", "to", "tu", "ty", "w", "we", "z", "za", "ze",
	"zeby",
};

static const char *const stop_ar[] = {
	"أن", "أنا", "أنت", "أو", "أين", "إذا", "إلى", "إن", "اذا", "التي",
	"الذي", "الذين", "الى", "ان", "انا", "انت", "او", "اين", "بين", "تلك",
	"ثم", "حتى", "ذلك", "على", "عن", "عند", "في", "قد", "كان", "كانت",
	"كل", "كيف", "لا", "لم", "لماذا", "لن", "ما", "ماذا", "متى", "مع",
	"من", "نحن", "هذا", "هذه", "هل", "هم", "هو", "هي", "و", "يا",
};

static const char *const elide_fr[] = {
	"c", "d", "j", "jusqu", "l", "lorsqu", "m", "n", "presqu",
	"puisqu", "qu", "quelqu", "quoiqu", "s", "t",
};

static const char *const elide_it[] = {
	"all", "anch", "c", "coll", "d", "dall", "dell", "l", "m", "n",
	"nell", "quell", "quest", "s", "sull", "t", "tutt", "un", "v",
};


#define WL(a)	{ a, sizeof(a) / sizeof(a[0]) }
#define NONE	{ NULL, 0 }

static const struct lang langs[] = {
	{ "en", "english", WL(stop_en), NONE, APOS_ENGLISH },
	{ "ar", "arabic", WL(stop_ar), NONE, APOS_JOIN },
	{ "de", "german", WL(stop_de), NONE, APOS_JOIN },
	{ "es", "spanish", WL(stop_es), NONE, APOS_JOIN },
	{ "fr", "french", WL(stop_fr), WL(elide_fr), APOS_ELISION },
	{ "it", "italian", WL(stop_it), WL(elide_it), APOS_ELISION },
	{ "ja", NULL, NONE, NONE, APOS_JOIN },
	{ "nl", "dutch", WL(stop_nl), NONE, APOS_JOIN },
	{ "pl", NULL, WL(stop_pl), NONE, APOS_JOIN },
	{ "pt", "portuguese", WL(stop_pt), NONE, APOS_JOIN },
	{ "tr", "turkish", WL(stop_tr), NONE, APOS_CUT },
	{ "zh", NULL, NONE, NONE, APOS_JOIN },
};

#define NLANGS	(sizeof(langs) / sizeof(langs[0]))

const struct lang *
lang_table(size_t *n)
{
	*n = NLANGS;
	return langs;
}

const struct lang *
lang_find(const char *tag)
{
	size_t i, len;

	if (tag == NULL)
		return &langs[0];
	len = strcspn(tag, "-_");
	for (i = 0; i < NLANGS; i++)
		if (strlen(langs[i].code) == len &&
		    strncasecmp(tag, langs[i].code, len) == 0)
			return &langs[i];
	return &langs[0];
}

/* w (len bytes) against the NUL-ended s, in strcmp's order. */
static int
word_cmp(const char *w, size_t len, const char *s)
{
	size_t slen = strlen(s);
	int c;

	if ((c = memcmp(w, s, len < slen ? len : slen)) != 0)
		return c;
	return len < slen ? -1 : len > slen;
}

int
wordlist_has(const struct wordlist *l, const char *w, size_t len)
{
	size_t lo = 0, hi = l->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = word_cmp(w, len, l->w[mid])) == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}
