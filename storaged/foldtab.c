/*
 * The folding tables (foldtab.h). Three windows hold each code point's
 * class and folded form: U+0080-U+052F (Latin-1 Supplement, Latin
 * Extended-A and -B, IPA, combining marks, Greek and Coptic, Cyrillic and
 * its Supplement), U+1E00-U+1FFF (Latin Extended Additional: Vietnamese;
 * Greek Extended: polytonic Greek) and U+FF00-U+FFEF (fullwidth and
 * halfwidth forms). Every other code point is looked up in a sorted list
 * of ranges by class, and a word keeps it as it is (Arabic, Hebrew,
 * Devanagari, Thai...). ASCII is fold_ascii's, below.
 *
 * Written from Unicode 14.0's character data by these rules: a letter or
 * a decimal or letter digit (categories L, Nd, Nl) is a word character;
 * the invisible soft hyphen, zero-width (non-)joiner, word joiner and BOM
 * are dropped; other numbers and everything else separate. A Latin
 * letter folds to its compatibility decomposition's letters without
 * marks, in lower case, the letters with no decomposition by their
 * name's base letter (ł l, ø o, đ d, ħ h, ŧ t, ı i, ƀ b...) and æ ae,
 * œ oe, ß ss, þ th, ð d, ĳ ij, ſ s, ŋ n, ĸ k; a Latin letter with no base
 * letter (ə, ʒ, ɛ) to its lower case; Greek to its decomposition's
 * letters in lower case, ς σ; Cyrillic to its lower case (й and ё stay);
 * fullwidth ASCII letters and digits to ASCII. Han, Hiragana, Katakana
 * (with ー) and Hangul, and 々 〆 〇, are FC_CJK; halfwidth Katakana and
 * Hangul fold to their fullwidth forms, and the halfwidth voiced sound
 * marks are dropped.
 */
#include <string.h>

#include "foldtab.h"

struct fold_ent {
	uint8_t cls;		/* enum fold_class */
	uint8_t len;		/* of s: FC_WORD's, and a halfwidth FC_CJK's */
	char s[FOLD_MAX];	/* not NUL-ended when FOLD_MAX long */
};

struct fold_range {
	uint32_t lo, hi;	/* inclusive */
	uint8_t cls;
};

#define S	{ FC_SEP, 0, "" }
#define X	{ FC_DROP, 0, "" }
#define M	{ FC_MARK, 0, "" }
#define C	{ FC_CJK, 0, "" }
#define W(s)	{ FC_WORD, sizeof(s) - 1, s }
#define K(s)	{ FC_CJK, sizeof(s) - 1, s }

static const struct fold_ent fold_latin[0x530 - 0x80] = {
	/* 0080 */ S, S, S, S, S, S, S, S,
	/* 0088 */ S, S, S, S, S, S, S, S,
	/* 0090 */ S, S, S, S, S, S, S, S,
	/* 0098 */ S, S, S, S, S, S, S, S,
	/* 00A0 */ S, S, S, S, S, S, S, S,
	/* 00A8 */ S, S, W("a"), S, S, X, S, S,
	/* 00B0 */ S, S, S, S, S, W("μ"), S, S,
	/* 00B8 */ S, S, W("o"), S, S, S, S, S,
	/* 00C0 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("ae"), W("c"),
	/* 00C8 */ W("e"), W("e"), W("e"), W("e"), W("i"), W("i"), W("i"), W("i"),
	/* 00D0 */ W("d"), W("n"), W("o"), W("o"), W("o"), W("o"), W("o"), S,
	/* 00D8 */ W("o"), W("u"), W("u"), W("u"), W("u"), W("y"), W("th"), W("ss"),
	/* 00E0 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("ae"), W("c"),
	/* 00E8 */ W("e"), W("e"), W("e"), W("e"), W("i"), W("i"), W("i"), W("i"),
	/* 00F0 */ W("d"), W("n"), W("o"), W("o"), W("o"), W("o"), W("o"), S,
	/* 00F8 */ W("o"), W("u"), W("u"), W("u"), W("u"), W("y"), W("th"), W("y"),
	/* 0100 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("c"), W("c"),
	/* 0108 */ W("c"), W("c"), W("c"), W("c"), W("c"), W("c"), W("d"), W("d"),
	/* 0110 */ W("d"), W("d"), W("e"), W("e"), W("e"), W("e"), W("e"), W("e"),
	/* 0118 */ W("e"), W("e"), W("e"), W("e"), W("g"), W("g"), W("g"), W("g"),
	/* 0120 */ W("g"), W("g"), W("g"), W("g"), W("h"), W("h"), W("h"), W("h"),
	/* 0128 */ W("i"), W("i"), W("i"), W("i"), W("i"), W("i"), W("i"), W("i"),
	/* 0130 */ W("i"), W("i"), W("ij"), W("ij"), W("j"), W("j"), W("k"), W("k"),
	/* 0138 */ W("k"), W("l"), W("l"), W("l"), W("l"), W("l"), W("l"), W("l"),
	/* 0140 */ W("l"), W("l"), W("l"), W("n"), W("n"), W("n"), W("n"), W("n"),
	/* 0148 */ W("n"), W("n"), W("n"), W("n"), W("o"), W("o"), W("o"), W("o"),
	/* 0150 */ W("o"), W("o"), W("oe"), W("oe"), W("r"), W("r"), W("r"), W("r"),
	/* 0158 */ W("r"), W("r"), W("s"), W("s"), W("s"), W("s"), W("s"), W("s"),
	/* 0160 */ W("s"), W("s"), W("t"), W("t"), W("t"), W("t"), W("t"), W("t"),
	/* 0168 */ W("u"), W("u"), W("u"), W("u"), W("u"), W("u"), W("u"), W("u"),
	/* 0170 */ W("u"), W("u"), W("u"), W("u"), W("w"), W("w"), W("y"), W("y"),
	/* 0178 */ W("y"), W("z"), W("z"), W("z"), W("z"), W("z"), W("z"), W("s"),
	/* 0180 */ W("b"), W("b"), W("b"), W("b"), W("ƅ"), W("ƅ"), W("ɔ"), W("c"),
	/* 0188 */ W("c"), W("d"), W("d"), W("d"), W("d"), W("ƍ"), W("ǝ"), W("ə"),
	/* 0190 */ W("ɛ"), W("f"), W("f"), W("g"), W("ɣ"), W("ƕ"), W("ɩ"), W("i"),
	/* 0198 */ W("k"), W("k"), W("l"), W("ƛ"), W("ɯ"), W("n"), W("n"), W("ɵ"),
	/* 01A0 */ W("o"), W("o"), W("ƣ"), W("ƣ"), W("p"), W("p"), W("ʀ"), W("ƨ"),
	/* 01A8 */ W("ƨ"), W("ʃ"), W("ƪ"), W("t"), W("t"), W("t"), W("t"), W("u"),
	/* 01B0 */ W("u"), W("ʊ"), W("v"), W("y"), W("y"), W("z"), W("z"), W("ʒ"),
	/* 01B8 */ W("ƹ"), W("ƹ"), W("ƺ"), W("ƻ"), W("ƽ"), W("ƽ"), W("ƾ"), W("ƿ"),
	/* 01C0 */ W("ǀ"), W("ǁ"), W("ǂ"), W("ǃ"), W("dz"), W("dz"), W("dz"), W("lj"),
	/* 01C8 */ W("lj"), W("lj"), W("nj"), W("nj"), W("nj"), W("a"), W("a"), W("i"),
	/* 01D0 */ W("i"), W("o"), W("o"), W("u"), W("u"), W("u"), W("u"), W("u"),
	/* 01D8 */ W("u"), W("u"), W("u"), W("u"), W("u"), W("ǝ"), W("a"), W("a"),
	/* 01E0 */ W("a"), W("a"), W("ae"), W("ae"), W("g"), W("g"), W("g"), W("g"),
	/* 01E8 */ W("k"), W("k"), W("o"), W("o"), W("o"), W("o"), W("ʒ"), W("ʒ"),
	/* 01F0 */ W("j"), W("dz"), W("dz"), W("dz"), W("g"), W("g"), W("ƕ"), W("ƿ"),
	/* 01F8 */ W("n"), W("n"), W("a"), W("a"), W("ae"), W("ae"), W("o"), W("o"),
	/* 0200 */ W("a"), W("a"), W("a"), W("a"), W("e"), W("e"), W("e"), W("e"),
	/* 0208 */ W("i"), W("i"), W("i"), W("i"), W("o"), W("o"), W("o"), W("o"),
	/* 0210 */ W("r"), W("r"), W("r"), W("r"), W("u"), W("u"), W("u"), W("u"),
	/* 0218 */ W("s"), W("s"), W("t"), W("t"), W("ȝ"), W("ȝ"), W("h"), W("h"),
	/* 0220 */ W("n"), W("d"), W("ȣ"), W("ȣ"), W("z"), W("z"), W("a"), W("a"),
	/* 0228 */ W("e"), W("e"), W("o"), W("o"), W("o"), W("o"), W("o"), W("o"),
	/* 0230 */ W("o"), W("o"), W("y"), W("y"), W("l"), W("n"), W("t"), W("j"),
	/* 0238 */ W("ȸ"), W("ȹ"), W("a"), W("c"), W("c"), W("l"), W("t"), W("s"),
	/* 0240 */ W("z"), W("ɂ"), W("ɂ"), W("b"), W("u"), W("ʌ"), W("e"), W("e"),
	/* 0248 */ W("j"), W("j"), W("q"), W("q"), W("r"), W("r"), W("y"), W("y"),
	/* 0250 */ W("ɐ"), W("ɑ"), W("ɒ"), W("b"), W("ɔ"), W("c"), W("d"), W("d"),
	/* 0258 */ W("ɘ"), W("ə"), W("ɚ"), W("ɛ"), W("ɜ"), W("ɝ"), W("ɞ"), W("ɟ"),
	/* 0260 */ W("g"), W("ɡ"), W("ɢ"), W("ɣ"), W("ɤ"), W("ɥ"), W("h"), W("ɧ"),
	/* 0268 */ W("i"), W("ɩ"), W("ɪ"), W("l"), W("l"), W("l"), W("ɮ"), W("ɯ"),
	/* 0270 */ W("ɰ"), W("m"), W("n"), W("n"), W("ɴ"), W("ɵ"), W("ɶ"), W("ɷ"),
	/* 0278 */ W("ɸ"), W("ɹ"), W("ɺ"), W("ɻ"), W("r"), W("r"), W("r"), W("ɿ"),
	/* 0280 */ W("ʀ"), W("ʁ"), W("s"), W("ʃ"), W("ʄ"), W("ʅ"), W("ʆ"), W("ʇ"),
	/* 0288 */ W("t"), W("u"), W("ʊ"), W("v"), W("ʌ"), W("ʍ"), W("ʎ"), W("ʏ"),
	/* 0290 */ W("z"), W("z"), W("ʒ"), W("ʓ"), W("ʔ"), W("ʕ"), W("ʖ"), W("ʗ"),
	/* 0298 */ W("ʘ"), W("ʙ"), W("ʚ"), W("ʛ"), W("ʜ"), W("j"), W("ʞ"), W("ʟ"),
	/* 02A0 */ W("q"), W("ʡ"), W("ʢ"), W("ʣ"), W("ʤ"), W("ʥ"), W("ʦ"), W("ʧ"),
	/* 02A8 */ W("ʨ"), W("ʩ"), W("ʪ"), W("ʫ"), W("ʬ"), W("ʭ"), W("ʮ"), W("ʯ"),
	/* 02B0 */ W("h"), W("h"), W("j"), W("r"), W("ɹ"), W("ɻ"), W("ʁ"), W("w"),
	/* 02B8 */ W("y"), S, S, S, S, S, S, S,
	/* 02C0 */ S, S, S, S, S, S, S, S,
	/* 02C8 */ S, S, S, S, S, S, S, S,
	/* 02D0 */ S, S, S, S, S, S, S, S,
	/* 02D8 */ S, S, S, S, S, S, S, S,
	/* 02E0 */ W("ɣ"), W("l"), W("s"), W("x"), W("ʕ"), S, S, S,
	/* 02E8 */ S, S, S, S, S, S, S, S,
	/* 02F0 */ S, S, S, S, S, S, S, S,
	/* 02F8 */ S, S, S, S, S, S, S, S,
	/* 0300 */ X, X, X, X, X, X, X, X,
	/* 0308 */ X, X, X, X, X, X, X, X,
	/* 0310 */ X, X, X, X, X, X, X, X,
	/* 0318 */ X, X, X, X, X, X, X, X,
	/* 0320 */ X, X, X, X, X, X, X, X,
	/* 0328 */ X, X, X, X, X, X, X, X,
	/* 0330 */ X, X, X, X, X, X, X, X,
	/* 0338 */ X, X, X, X, X, X, X, X,
	/* 0340 */ X, X, X, X, X, X, X, X,
	/* 0348 */ X, X, X, X, X, X, X, X,
	/* 0350 */ X, X, X, X, X, X, X, X,
	/* 0358 */ X, X, X, X, X, X, X, X,
	/* 0360 */ X, X, X, X, X, X, X, X,
	/* 0368 */ X, X, X, X, X, X, X, X,
	/* 0370 */ W("ͱ"), W("ͱ"), W("ͳ"), W("ͳ"), S, S, W("ͷ"), W("ͷ"),
	/* 0378 */ S, S, S, W("ͻ"), W("ͼ"), W("ͽ"), S, W("ϳ"),
	/* 0380 */ S, S, S, S, S, S, W("α"), S,
	/* 0388 */ W("ε"), W("η"), W("ι"), S, W("ο"), S, W("υ"), W("ω"),
	/* 0390 */ W("ι"), W("α"), W("β"), W("γ"), W("δ"), W("ε"), W("ζ"), W("η"),
	/* 0398 */ W("θ"), W("ι"), W("κ"), W("λ"), W("μ"), W("ν"), W("ξ"), W("ο"),
	/* 03A0 */ W("π"), W("ρ"), S, W("σ"), W("τ"), W("υ"), W("φ"), W("χ"),
	/* 03A8 */ W("ψ"), W("ω"), W("ι"), W("υ"), W("α"), W("ε"), W("η"), W("ι"),
	/* 03B0 */ W("υ"), W("α"), W("β"), W("γ"), W("δ"), W("ε"), W("ζ"), W("η"),
	/* 03B8 */ W("θ"), W("ι"), W("κ"), W("λ"), W("μ"), W("ν"), W("ξ"), W("ο"),
	/* 03C0 */ W("π"), W("ρ"), W("σ"), W("σ"), W("τ"), W("υ"), W("φ"), W("χ"),
	/* 03C8 */ W("ψ"), W("ω"), W("ι"), W("υ"), W("ο"), W("υ"), W("ω"), W("ϗ"),
	/* 03D0 */ W("β"), W("θ"), W("υ"), W("υ"), W("υ"), W("φ"), W("π"), W("ϗ"),
	/* 03D8 */ W("ϙ"), W("ϙ"), W("ϛ"), W("ϛ"), W("ϝ"), W("ϝ"), W("ϟ"), W("ϟ"),
	/* 03E0 */ W("ϡ"), W("ϡ"), W("ϣ"), W("ϣ"), W("ϥ"), W("ϥ"), W("ϧ"), W("ϧ"),
	/* 03E8 */ W("ϩ"), W("ϩ"), W("ϫ"), W("ϫ"), W("ϭ"), W("ϭ"), W("ϯ"), W("ϯ"),
	/* 03F0 */ W("κ"), W("ρ"), W("σ"), W("ϳ"), W("θ"), W("ε"), S, W("ϸ"),
	/* 03F8 */ W("ϸ"), W("σ"), W("ϻ"), W("ϻ"), W("ϼ"), W("ͻ"), W("ͼ"), W("ͽ"),
	/* 0400 */ W("ѐ"), W("ё"), W("ђ"), W("ѓ"), W("є"), W("ѕ"), W("і"), W("ї"),
	/* 0408 */ W("ј"), W("љ"), W("њ"), W("ћ"), W("ќ"), W("ѝ"), W("ў"), W("џ"),
	/* 0410 */ W("а"), W("б"), W("в"), W("г"), W("д"), W("е"), W("ж"), W("з"),
	/* 0418 */ W("и"), W("й"), W("к"), W("л"), W("м"), W("н"), W("о"), W("п"),
	/* 0420 */ W("р"), W("с"), W("т"), W("у"), W("ф"), W("х"), W("ц"), W("ч"),
	/* 0428 */ W("ш"), W("щ"), W("ъ"), W("ы"), W("ь"), W("э"), W("ю"), W("я"),
	/* 0430 */ W("а"), W("б"), W("в"), W("г"), W("д"), W("е"), W("ж"), W("з"),
	/* 0438 */ W("и"), W("й"), W("к"), W("л"), W("м"), W("н"), W("о"), W("п"),
	/* 0440 */ W("р"), W("с"), W("т"), W("у"), W("ф"), W("х"), W("ц"), W("ч"),
	/* 0448 */ W("ш"), W("щ"), W("ъ"), W("ы"), W("ь"), W("э"), W("ю"), W("я"),
	/* 0450 */ W("ѐ"), W("ё"), W("ђ"), W("ѓ"), W("є"), W("ѕ"), W("і"), W("ї"),
	/* 0458 */ W("ј"), W("љ"), W("њ"), W("ћ"), W("ќ"), W("ѝ"), W("ў"), W("џ"),
	/* 0460 */ W("ѡ"), W("ѡ"), W("ѣ"), W("ѣ"), W("ѥ"), W("ѥ"), W("ѧ"), W("ѧ"),
	/* 0468 */ W("ѩ"), W("ѩ"), W("ѫ"), W("ѫ"), W("ѭ"), W("ѭ"), W("ѯ"), W("ѯ"),
	/* 0470 */ W("ѱ"), W("ѱ"), W("ѳ"), W("ѳ"), W("ѵ"), W("ѵ"), W("ѷ"), W("ѷ"),
	/* 0478 */ W("ѹ"), W("ѹ"), W("ѻ"), W("ѻ"), W("ѽ"), W("ѽ"), W("ѿ"), W("ѿ"),
	/* 0480 */ W("ҁ"), W("ҁ"), S, M, M, M, M, M,
	/* 0488 */ M, M, W("ҋ"), W("ҋ"), W("ҍ"), W("ҍ"), W("ҏ"), W("ҏ"),
	/* 0490 */ W("ґ"), W("ґ"), W("ғ"), W("ғ"), W("ҕ"), W("ҕ"), W("җ"), W("җ"),
	/* 0498 */ W("ҙ"), W("ҙ"), W("қ"), W("қ"), W("ҝ"), W("ҝ"), W("ҟ"), W("ҟ"),
	/* 04A0 */ W("ҡ"), W("ҡ"), W("ң"), W("ң"), W("ҥ"), W("ҥ"), W("ҧ"), W("ҧ"),
	/* 04A8 */ W("ҩ"), W("ҩ"), W("ҫ"), W("ҫ"), W("ҭ"), W("ҭ"), W("ү"), W("ү"),
	/* 04B0 */ W("ұ"), W("ұ"), W("ҳ"), W("ҳ"), W("ҵ"), W("ҵ"), W("ҷ"), W("ҷ"),
	/* 04B8 */ W("ҹ"), W("ҹ"), W("һ"), W("һ"), W("ҽ"), W("ҽ"), W("ҿ"), W("ҿ"),
	/* 04C0 */ W("ӏ"), W("ӂ"), W("ӂ"), W("ӄ"), W("ӄ"), W("ӆ"), W("ӆ"), W("ӈ"),
	/* 04C8 */ W("ӈ"), W("ӊ"), W("ӊ"), W("ӌ"), W("ӌ"), W("ӎ"), W("ӎ"), W("ӏ"),
	/* 04D0 */ W("ӑ"), W("ӑ"), W("ӓ"), W("ӓ"), W("ӕ"), W("ӕ"), W("ӗ"), W("ӗ"),
	/* 04D8 */ W("ә"), W("ә"), W("ӛ"), W("ӛ"), W("ӝ"), W("ӝ"), W("ӟ"), W("ӟ"),
	/* 04E0 */ W("ӡ"), W("ӡ"), W("ӣ"), W("ӣ"), W("ӥ"), W("ӥ"), W("ӧ"), W("ӧ"),
	/* 04E8 */ W("ө"), W("ө"), W("ӫ"), W("ӫ"), W("ӭ"), W("ӭ"), W("ӯ"), W("ӯ"),
	/* 04F0 */ W("ӱ"), W("ӱ"), W("ӳ"), W("ӳ"), W("ӵ"), W("ӵ"), W("ӷ"), W("ӷ"),
	/* 04F8 */ W("ӹ"), W("ӹ"), W("ӻ"), W("ӻ"), W("ӽ"), W("ӽ"), W("ӿ"), W("ӿ"),
	/* 0500 */ W("ԁ"), W("ԁ"), W("ԃ"), W("ԃ"), W("ԅ"), W("ԅ"), W("ԇ"), W("ԇ"),
	/* 0508 */ W("ԉ"), W("ԉ"), W("ԋ"), W("ԋ"), W("ԍ"), W("ԍ"), W("ԏ"), W("ԏ"),
	/* 0510 */ W("ԑ"), W("ԑ"), W("ԓ"), W("ԓ"), W("ԕ"), W("ԕ"), W("ԗ"), W("ԗ"),
	/* 0518 */ W("ԙ"), W("ԙ"), W("ԛ"), W("ԛ"), W("ԝ"), W("ԝ"), W("ԟ"), W("ԟ"),
	/* 0520 */ W("ԡ"), W("ԡ"), W("ԣ"), W("ԣ"), W("ԥ"), W("ԥ"), W("ԧ"), W("ԧ"),
	/* 0528 */ W("ԩ"), W("ԩ"), W("ԫ"), W("ԫ"), W("ԭ"), W("ԭ"), W("ԯ"), W("ԯ"),
};

static const struct fold_ent fold_ext[0x2000 - 0x1E00] = {
	/* 1E00 */ W("a"), W("a"), W("b"), W("b"), W("b"), W("b"), W("b"), W("b"),
	/* 1E08 */ W("c"), W("c"), W("d"), W("d"), W("d"), W("d"), W("d"), W("d"),
	/* 1E10 */ W("d"), W("d"), W("d"), W("d"), W("e"), W("e"), W("e"), W("e"),
	/* 1E18 */ W("e"), W("e"), W("e"), W("e"), W("e"), W("e"), W("f"), W("f"),
	/* 1E20 */ W("g"), W("g"), W("h"), W("h"), W("h"), W("h"), W("h"), W("h"),
	/* 1E28 */ W("h"), W("h"), W("h"), W("h"), W("i"), W("i"), W("i"), W("i"),
	/* 1E30 */ W("k"), W("k"), W("k"), W("k"), W("k"), W("k"), W("l"), W("l"),
	/* 1E38 */ W("l"), W("l"), W("l"), W("l"), W("l"), W("l"), W("m"), W("m"),
	/* 1E40 */ W("m"), W("m"), W("m"), W("m"), W("n"), W("n"), W("n"), W("n"),
	/* 1E48 */ W("n"), W("n"), W("n"), W("n"), W("o"), W("o"), W("o"), W("o"),
	/* 1E50 */ W("o"), W("o"), W("o"), W("o"), W("p"), W("p"), W("p"), W("p"),
	/* 1E58 */ W("r"), W("r"), W("r"), W("r"), W("r"), W("r"), W("r"), W("r"),
	/* 1E60 */ W("s"), W("s"), W("s"), W("s"), W("s"), W("s"), W("s"), W("s"),
	/* 1E68 */ W("s"), W("s"), W("t"), W("t"), W("t"), W("t"), W("t"), W("t"),
	/* 1E70 */ W("t"), W("t"), W("u"), W("u"), W("u"), W("u"), W("u"), W("u"),
	/* 1E78 */ W("u"), W("u"), W("u"), W("u"), W("v"), W("v"), W("v"), W("v"),
	/* 1E80 */ W("w"), W("w"), W("w"), W("w"), W("w"), W("w"), W("w"), W("w"),
	/* 1E88 */ W("w"), W("w"), W("x"), W("x"), W("x"), W("x"), W("y"), W("y"),
	/* 1E90 */ W("z"), W("z"), W("z"), W("z"), W("z"), W("z"), W("h"), W("t"),
	/* 1E98 */ W("w"), W("y"), W("a"), W("s"), W("ẜ"), W("ẝ"), W("ss"), W("ẟ"),
	/* 1EA0 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"),
	/* 1EA8 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"),
	/* 1EB0 */ W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"), W("a"),
	/* 1EB8 */ W("e"), W("e"), W("e"), W("e"), W("e"), W("e"), W("e"), W("e"),
	/* 1EC0 */ W("e"), W("e"), W("e"), W("e"), W("e"), W("e"), W("e"), W("e"),
	/* 1EC8 */ W("i"), W("i"), W("i"), W("i"), W("o"), W("o"), W("o"), W("o"),
	/* 1ED0 */ W("o"), W("o"), W("o"), W("o"), W("o"), W("o"), W("o"), W("o"),
	/* 1ED8 */ W("o"), W("o"), W("o"), W("o"), W("o"), W("o"), W("o"), W("o"),
	/* 1EE0 */ W("o"), W("o"), W("o"), W("o"), W("u"), W("u"), W("u"), W("u"),
	/* 1EE8 */ W("u"), W("u"), W("u"), W("u"), W("u"), W("u"), W("u"), W("u"),
	/* 1EF0 */ W("u"), W("u"), W("y"), W("y"), W("y"), W("y"), W("y"), W("y"),
	/* 1EF8 */ W("y"), W("y"), W("ỻ"), W("ỻ"), W("ỽ"), W("ỽ"), W("y"), W("y"),
	/* 1F00 */ W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"),
	/* 1F08 */ W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"),
	/* 1F10 */ W("ε"), W("ε"), W("ε"), W("ε"), W("ε"), W("ε"), S, S,
	/* 1F18 */ W("ε"), W("ε"), W("ε"), W("ε"), W("ε"), W("ε"), S, S,
	/* 1F20 */ W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"),
	/* 1F28 */ W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"),
	/* 1F30 */ W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"),
	/* 1F38 */ W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"), W("ι"),
	/* 1F40 */ W("ο"), W("ο"), W("ο"), W("ο"), W("ο"), W("ο"), S, S,
	/* 1F48 */ W("ο"), W("ο"), W("ο"), W("ο"), W("ο"), W("ο"), S, S,
	/* 1F50 */ W("υ"), W("υ"), W("υ"), W("υ"), W("υ"), W("υ"), W("υ"), W("υ"),
	/* 1F58 */ S, W("υ"), S, W("υ"), S, W("υ"), S, W("υ"),
	/* 1F60 */ W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"),
	/* 1F68 */ W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"),
	/* 1F70 */ W("α"), W("α"), W("ε"), W("ε"), W("η"), W("η"), W("ι"), W("ι"),
	/* 1F78 */ W("ο"), W("ο"), W("υ"), W("υ"), W("ω"), W("ω"), S, S,
	/* 1F80 */ W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"),
	/* 1F88 */ W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"), W("α"),
	/* 1F90 */ W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"),
	/* 1F98 */ W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"), W("η"),
	/* 1FA0 */ W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"),
	/* 1FA8 */ W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"), W("ω"),
	/* 1FB0 */ W("α"), W("α"), W("α"), W("α"), W("α"), S, W("α"), W("α"),
	/* 1FB8 */ W("α"), W("α"), W("α"), W("α"), W("α"), S, W("ι"), S,
	/* 1FC0 */ S, S, W("η"), W("η"), W("η"), S, W("η"), W("η"),
	/* 1FC8 */ W("ε"), W("ε"), W("η"), W("η"), W("η"), S, S, S,
	/* 1FD0 */ W("ι"), W("ι"), W("ι"), W("ι"), S, S, W("ι"), W("ι"),
	/* 1FD8 */ W("ι"), W("ι"), W("ι"), W("ι"), S, S, S, S,
	/* 1FE0 */ W("υ"), W("υ"), W("υ"), W("υ"), W("ρ"), W("ρ"), W("υ"), W("υ"),
	/* 1FE8 */ W("υ"), W("υ"), W("υ"), W("υ"), W("ρ"), S, S, S,
	/* 1FF0 */ S, S, W("ω"), W("ω"), W("ω"), S, W("ω"), W("ω"),
	/* 1FF8 */ W("ο"), W("ο"), W("ω"), W("ω"), W("ω"), S, S, S,
};

static const struct fold_ent fold_wide[0xFFF0 - 0xFF00] = {
	/* FF00 */ S, S, S, S, S, S, S, S,
	/* FF08 */ S, S, S, S, S, S, S, S,
	/* FF10 */ W("0"), W("1"), W("2"), W("3"), W("4"), W("5"), W("6"), W("7"),
	/* FF18 */ W("8"), W("9"), S, S, S, S, S, S,
	/* FF20 */ S, W("a"), W("b"), W("c"), W("d"), W("e"), W("f"), W("g"),
	/* FF28 */ W("h"), W("i"), W("j"), W("k"), W("l"), W("m"), W("n"), W("o"),
	/* FF30 */ W("p"), W("q"), W("r"), W("s"), W("t"), W("u"), W("v"), W("w"),
	/* FF38 */ W("x"), W("y"), W("z"), S, S, S, S, S,
	/* FF40 */ S, W("a"), W("b"), W("c"), W("d"), W("e"), W("f"), W("g"),
	/* FF48 */ W("h"), W("i"), W("j"), W("k"), W("l"), W("m"), W("n"), W("o"),
	/* FF50 */ W("p"), W("q"), W("r"), W("s"), W("t"), W("u"), W("v"), W("w"),
	/* FF58 */ W("x"), W("y"), W("z"), S, S, S, S, S,
	/* FF60 */ S, S, S, S, S, S, K("ヲ"), K("ァ"),
	/* FF68 */ K("ィ"), K("ゥ"), K("ェ"), K("ォ"), K("ャ"), K("ュ"), K("ョ"), K("ッ"),
	/* FF70 */ K("ー"), K("ア"), K("イ"), K("ウ"), K("エ"), K("オ"), K("カ"), K("キ"),
	/* FF78 */ K("ク"), K("ケ"), K("コ"), K("サ"), K("シ"), K("ス"), K("セ"), K("ソ"),
	/* FF80 */ K("タ"), K("チ"), K("ツ"), K("テ"), K("ト"), K("ナ"), K("ニ"), K("ヌ"),
	/* FF88 */ K("ネ"), K("ノ"), K("ハ"), K("ヒ"), K("フ"), K("ヘ"), K("ホ"), K("マ"),
	/* FF90 */ K("ミ"), K("ム"), K("メ"), K("モ"), K("ヤ"), K("ユ"), K("ヨ"), K("ラ"),
	/* FF98 */ K("リ"), K("ル"), K("レ"), K("ロ"), K("ワ"), K("ン"), X, X,
	/* FFA0 */ K("ᅠ"), K("ᄀ"), K("ᄁ"), K("ᆪ"), K("ᄂ"), K("ᆬ"), K("ᆭ"), K("ᄃ"),
	/* FFA8 */ K("ᄄ"), K("ᄅ"), K("ᆰ"), K("ᆱ"), K("ᆲ"), K("ᆳ"), K("ᆴ"), K("ᆵ"),
	/* FFB0 */ K("ᄚ"), K("ᄆ"), K("ᄇ"), K("ᄈ"), K("ᄡ"), K("ᄉ"), K("ᄊ"), K("ᄋ"),
	/* FFB8 */ K("ᄌ"), K("ᄍ"), K("ᄎ"), K("ᄏ"), K("ᄐ"), K("ᄑ"), K("ᄒ"), S,
	/* FFC0 */ S, S, K("ᅡ"), K("ᅢ"), K("ᅣ"), K("ᅤ"), K("ᅥ"), K("ᅦ"),
	/* FFC8 */ S, S, K("ᅧ"), K("ᅨ"), K("ᅩ"), K("ᅪ"), K("ᅫ"), K("ᅬ"),
	/* FFD0 */ S, S, K("ᅭ"), K("ᅮ"), K("ᅯ"), K("ᅰ"), K("ᅱ"), K("ᅲ"),
	/* FFD8 */ S, S, K("ᅳ"), K("ᅴ"), K("ᅵ"), S, S, S,
	/* FFE0 */ S, S, S, S, S, S, S, S,
	/* FFE8 */ S, S, S, S, S, S, S, S,
};

static const struct fold_range fold_ranges[] = {
	{ 0x531, 0x556, FC_WORD }, { 0x559, 0x559, FC_WORD }, { 0x560, 0x588, FC_WORD },
	{ 0x591, 0x5BD, FC_DROP }, { 0x5BF, 0x5BF, FC_DROP }, { 0x5C1, 0x5C2, FC_DROP },
	{ 0x5C4, 0x5C5, FC_DROP }, { 0x5C7, 0x5C7, FC_DROP }, { 0x5D0, 0x5EA, FC_WORD },
	{ 0x5EF, 0x5F2, FC_WORD }, { 0x610, 0x61A, FC_DROP }, { 0x620, 0x63F, FC_WORD },
	{ 0x640, 0x640, FC_DROP }, { 0x641, 0x64A, FC_WORD }, { 0x64B, 0x65F, FC_DROP },
	{ 0x660, 0x669, FC_WORD }, { 0x66E, 0x66F, FC_WORD }, { 0x670, 0x670, FC_DROP },
	{ 0x671, 0x6D3, FC_WORD }, { 0x6D5, 0x6D5, FC_WORD }, { 0x6D6, 0x6DC, FC_MARK },
	{ 0x6DF, 0x6E4, FC_MARK }, { 0x6E5, 0x6E6, FC_WORD }, { 0x6E7, 0x6E8, FC_MARK },
	{ 0x6EA, 0x6ED, FC_MARK }, { 0x6EE, 0x6FC, FC_WORD }, { 0x6FF, 0x6FF, FC_WORD },
	{ 0x710, 0x710, FC_WORD }, { 0x711, 0x711, FC_MARK }, { 0x712, 0x72F, FC_WORD },
	{ 0x730, 0x74A, FC_MARK }, { 0x74D, 0x7A5, FC_WORD }, { 0x7A6, 0x7B0, FC_MARK },
	{ 0x7B1, 0x7B1, FC_WORD }, { 0x7C0, 0x7EA, FC_WORD }, { 0x7EB, 0x7F3, FC_MARK },
	{ 0x7F4, 0x7F5, FC_WORD }, { 0x7FA, 0x7FA, FC_WORD }, { 0x7FD, 0x7FD, FC_MARK },
	{ 0x800, 0x815, FC_WORD }, { 0x816, 0x819, FC_MARK }, { 0x81A, 0x81A, FC_WORD },
	{ 0x81B, 0x823, FC_MARK }, { 0x824, 0x824, FC_WORD }, { 0x825, 0x827, FC_MARK },
	{ 0x828, 0x828, FC_WORD }, { 0x829, 0x82D, FC_MARK }, { 0x840, 0x858, FC_WORD },
	{ 0x859, 0x85B, FC_MARK }, { 0x860, 0x86A, FC_WORD }, { 0x870, 0x887, FC_WORD },
	{ 0x889, 0x88E, FC_WORD }, { 0x898, 0x89F, FC_MARK }, { 0x8A0, 0x8C9, FC_WORD },
	{ 0x8CA, 0x8E1, FC_MARK }, { 0x8E3, 0x903, FC_MARK }, { 0x904, 0x939, FC_WORD },
	{ 0x93A, 0x93C, FC_MARK }, { 0x93D, 0x93D, FC_WORD }, { 0x93E, 0x94F, FC_MARK },
	{ 0x950, 0x950, FC_WORD }, { 0x951, 0x957, FC_MARK }, { 0x958, 0x961, FC_WORD },
	{ 0x962, 0x963, FC_MARK }, { 0x966, 0x96F, FC_WORD }, { 0x971, 0x980, FC_WORD },
	{ 0x981, 0x983, FC_MARK }, { 0x985, 0x98C, FC_WORD }, { 0x98F, 0x990, FC_WORD },
	{ 0x993, 0x9A8, FC_WORD }, { 0x9AA, 0x9B0, FC_WORD }, { 0x9B2, 0x9B2, FC_WORD },
	{ 0x9B6, 0x9B9, FC_WORD }, { 0x9BC, 0x9BC, FC_MARK }, { 0x9BD, 0x9BD, FC_WORD },
	{ 0x9BE, 0x9C4, FC_MARK }, { 0x9C7, 0x9C8, FC_MARK }, { 0x9CB, 0x9CD, FC_MARK },
	{ 0x9CE, 0x9CE, FC_WORD }, { 0x9D7, 0x9D7, FC_MARK }, { 0x9DC, 0x9DD, FC_WORD },
	{ 0x9DF, 0x9E1, FC_WORD }, { 0x9E2, 0x9E3, FC_MARK }, { 0x9E6, 0x9F1, FC_WORD },
	{ 0x9FC, 0x9FC, FC_WORD }, { 0x9FE, 0x9FE, FC_MARK }, { 0xA01, 0xA03, FC_MARK },
	{ 0xA05, 0xA0A, FC_WORD }, { 0xA0F, 0xA10, FC_WORD }, { 0xA13, 0xA28, FC_WORD },
	{ 0xA2A, 0xA30, FC_WORD }, { 0xA32, 0xA33, FC_WORD }, { 0xA35, 0xA36, FC_WORD },
	{ 0xA38, 0xA39, FC_WORD }, { 0xA3C, 0xA3C, FC_MARK }, { 0xA3E, 0xA42, FC_MARK },
	{ 0xA47, 0xA48, FC_MARK }, { 0xA4B, 0xA4D, FC_MARK }, { 0xA51, 0xA51, FC_MARK },
	{ 0xA59, 0xA5C, FC_WORD }, { 0xA5E, 0xA5E, FC_WORD }, { 0xA66, 0xA6F, FC_WORD },
	{ 0xA70, 0xA71, FC_MARK }, { 0xA72, 0xA74, FC_WORD }, { 0xA75, 0xA75, FC_MARK },
	{ 0xA81, 0xA83, FC_MARK }, { 0xA85, 0xA8D, FC_WORD }, { 0xA8F, 0xA91, FC_WORD },
	{ 0xA93, 0xAA8, FC_WORD }, { 0xAAA, 0xAB0, FC_WORD }, { 0xAB2, 0xAB3, FC_WORD },
	{ 0xAB5, 0xAB9, FC_WORD }, { 0xABC, 0xABC, FC_MARK }, { 0xABD, 0xABD, FC_WORD },
	{ 0xABE, 0xAC5, FC_MARK }, { 0xAC7, 0xAC9, FC_MARK }, { 0xACB, 0xACD, FC_MARK },
	{ 0xAD0, 0xAD0, FC_WORD }, { 0xAE0, 0xAE1, FC_WORD }, { 0xAE2, 0xAE3, FC_MARK },
	{ 0xAE6, 0xAEF, FC_WORD }, { 0xAF9, 0xAF9, FC_WORD }, { 0xAFA, 0xAFF, FC_MARK },
	{ 0xB01, 0xB03, FC_MARK }, { 0xB05, 0xB0C, FC_WORD }, { 0xB0F, 0xB10, FC_WORD },
	{ 0xB13, 0xB28, FC_WORD }, { 0xB2A, 0xB30, FC_WORD }, { 0xB32, 0xB33, FC_WORD },
	{ 0xB35, 0xB39, FC_WORD }, { 0xB3C, 0xB3C, FC_MARK }, { 0xB3D, 0xB3D, FC_WORD },
	{ 0xB3E, 0xB44, FC_MARK }, { 0xB47, 0xB48, FC_MARK }, { 0xB4B, 0xB4D, FC_MARK },
	{ 0xB55, 0xB57, FC_MARK }, { 0xB5C, 0xB5D, FC_WORD }, { 0xB5F, 0xB61, FC_WORD },
	{ 0xB62, 0xB63, FC_MARK }, { 0xB66, 0xB6F, FC_WORD }, { 0xB71, 0xB71, FC_WORD },
	{ 0xB82, 0xB82, FC_MARK }, { 0xB83, 0xB83, FC_WORD }, { 0xB85, 0xB8A, FC_WORD },
	{ 0xB8E, 0xB90, FC_WORD }, { 0xB92, 0xB95, FC_WORD }, { 0xB99, 0xB9A, FC_WORD },
	{ 0xB9C, 0xB9C, FC_WORD }, { 0xB9E, 0xB9F, FC_WORD }, { 0xBA3, 0xBA4, FC_WORD },
	{ 0xBA8, 0xBAA, FC_WORD }, { 0xBAE, 0xBB9, FC_WORD }, { 0xBBE, 0xBC2, FC_MARK },
	{ 0xBC6, 0xBC8, FC_MARK }, { 0xBCA, 0xBCD, FC_MARK }, { 0xBD0, 0xBD0, FC_WORD },
	{ 0xBD7, 0xBD7, FC_MARK }, { 0xBE6, 0xBEF, FC_WORD }, { 0xC00, 0xC04, FC_MARK },
	{ 0xC05, 0xC0C, FC_WORD }, { 0xC0E, 0xC10, FC_WORD }, { 0xC12, 0xC28, FC_WORD },
	{ 0xC2A, 0xC39, FC_WORD }, { 0xC3C, 0xC3C, FC_MARK }, { 0xC3D, 0xC3D, FC_WORD },
	{ 0xC3E, 0xC44, FC_MARK }, { 0xC46, 0xC48, FC_MARK }, { 0xC4A, 0xC4D, FC_MARK },
	{ 0xC55, 0xC56, FC_MARK }, { 0xC58, 0xC5A, FC_WORD }, { 0xC5D, 0xC5D, FC_WORD },
	{ 0xC60, 0xC61, FC_WORD }, { 0xC62, 0xC63, FC_MARK }, { 0xC66, 0xC6F, FC_WORD },
	{ 0xC80, 0xC80, FC_WORD }, { 0xC81, 0xC83, FC_MARK }, { 0xC85, 0xC8C, FC_WORD },
	{ 0xC8E, 0xC90, FC_WORD }, { 0xC92, 0xCA8, FC_WORD }, { 0xCAA, 0xCB3, FC_WORD },
	{ 0xCB5, 0xCB9, FC_WORD }, { 0xCBC, 0xCBC, FC_MARK }, { 0xCBD, 0xCBD, FC_WORD },
	{ 0xCBE, 0xCC4, FC_MARK }, { 0xCC6, 0xCC8, FC_MARK }, { 0xCCA, 0xCCD, FC_MARK },
	{ 0xCD5, 0xCD6, FC_MARK }, { 0xCDD, 0xCDE, FC_WORD }, { 0xCE0, 0xCE1, FC_WORD },
	{ 0xCE2, 0xCE3, FC_MARK }, { 0xCE6, 0xCEF, FC_WORD }, { 0xCF1, 0xCF2, FC_WORD },
	{ 0xD00, 0xD03, FC_MARK }, { 0xD04, 0xD0C, FC_WORD }, { 0xD0E, 0xD10, FC_WORD },
	{ 0xD12, 0xD3A, FC_WORD }, { 0xD3B, 0xD3C, FC_MARK }, { 0xD3D, 0xD3D, FC_WORD },
	{ 0xD3E, 0xD44, FC_MARK }, { 0xD46, 0xD48, FC_MARK }, { 0xD4A, 0xD4D, FC_MARK },
	{ 0xD4E, 0xD4E, FC_WORD }, { 0xD54, 0xD56, FC_WORD }, { 0xD57, 0xD57, FC_MARK },
	{ 0xD5F, 0xD61, FC_WORD }, { 0xD62, 0xD63, FC_MARK }, { 0xD66, 0xD6F, FC_WORD },
	{ 0xD7A, 0xD7F, FC_WORD }, { 0xD81, 0xD83, FC_MARK }, { 0xD85, 0xD96, FC_WORD },
	{ 0xD9A, 0xDB1, FC_WORD }, { 0xDB3, 0xDBB, FC_WORD }, { 0xDBD, 0xDBD, FC_WORD },
	{ 0xDC0, 0xDC6, FC_WORD }, { 0xDCA, 0xDCA, FC_MARK }, { 0xDCF, 0xDD4, FC_MARK },
	{ 0xDD6, 0xDD6, FC_MARK }, { 0xDD8, 0xDDF, FC_MARK }, { 0xDE6, 0xDEF, FC_WORD },
	{ 0xDF2, 0xDF3, FC_MARK }, { 0xE01, 0xE30, FC_WORD }, { 0xE31, 0xE31, FC_MARK },
	{ 0xE32, 0xE33, FC_WORD }, { 0xE34, 0xE3A, FC_MARK }, { 0xE40, 0xE46, FC_WORD },
	{ 0xE47, 0xE4E, FC_MARK }, { 0xE50, 0xE59, FC_WORD }, { 0xE81, 0xE82, FC_WORD },
	{ 0xE84, 0xE84, FC_WORD }, { 0xE86, 0xE8A, FC_WORD }, { 0xE8C, 0xEA3, FC_WORD },
	{ 0xEA5, 0xEA5, FC_WORD }, { 0xEA7, 0xEB0, FC_WORD }, { 0xEB1, 0xEB1, FC_MARK },
	{ 0xEB2, 0xEB3, FC_WORD }, { 0xEB4, 0xEBC, FC_MARK }, { 0xEBD, 0xEBD, FC_WORD },
	{ 0xEC0, 0xEC4, FC_WORD }, { 0xEC6, 0xEC6, FC_WORD }, { 0xEC8, 0xECD, FC_MARK },
	{ 0xED0, 0xED9, FC_WORD }, { 0xEDC, 0xEDF, FC_WORD }, { 0xF00, 0xF00, FC_WORD },
	{ 0xF18, 0xF19, FC_MARK }, { 0xF20, 0xF29, FC_WORD }, { 0xF35, 0xF35, FC_MARK },
	{ 0xF37, 0xF37, FC_MARK }, { 0xF39, 0xF39, FC_MARK }, { 0xF3E, 0xF3F, FC_MARK },
	{ 0xF40, 0xF47, FC_WORD }, { 0xF49, 0xF6C, FC_WORD }, { 0xF71, 0xF84, FC_MARK },
	{ 0xF86, 0xF87, FC_MARK }, { 0xF88, 0xF8C, FC_WORD }, { 0xF8D, 0xF97, FC_MARK },
	{ 0xF99, 0xFBC, FC_MARK }, { 0xFC6, 0xFC6, FC_MARK }, { 0x1000, 0x102A, FC_WORD },
	{ 0x102B, 0x103E, FC_MARK }, { 0x103F, 0x1049, FC_WORD }, { 0x1050, 0x1055, FC_WORD },
	{ 0x1056, 0x1059, FC_MARK }, { 0x105A, 0x105D, FC_WORD }, { 0x105E, 0x1060, FC_MARK },
	{ 0x1061, 0x1061, FC_WORD }, { 0x1062, 0x1064, FC_MARK }, { 0x1065, 0x1066, FC_WORD },
	{ 0x1067, 0x106D, FC_MARK }, { 0x106E, 0x1070, FC_WORD }, { 0x1071, 0x1074, FC_MARK },
	{ 0x1075, 0x1081, FC_WORD }, { 0x1082, 0x108D, FC_MARK }, { 0x108E, 0x108E, FC_WORD },
	{ 0x108F, 0x108F, FC_MARK }, { 0x1090, 0x1099, FC_WORD }, { 0x109A, 0x109D, FC_MARK },
	{ 0x10A0, 0x10C5, FC_WORD }, { 0x10C7, 0x10C7, FC_WORD }, { 0x10CD, 0x10CD, FC_WORD },
	{ 0x10D0, 0x10FA, FC_WORD }, { 0x10FC, 0x10FF, FC_WORD }, { 0x1100, 0x11FF, FC_CJK },
	{ 0x1200, 0x1248, FC_WORD }, { 0x124A, 0x124D, FC_WORD }, { 0x1250, 0x1256, FC_WORD },
	{ 0x1258, 0x1258, FC_WORD }, { 0x125A, 0x125D, FC_WORD }, { 0x1260, 0x1288, FC_WORD },
	{ 0x128A, 0x128D, FC_WORD }, { 0x1290, 0x12B0, FC_WORD }, { 0x12B2, 0x12B5, FC_WORD },
	{ 0x12B8, 0x12BE, FC_WORD }, { 0x12C0, 0x12C0, FC_WORD }, { 0x12C2, 0x12C5, FC_WORD },
	{ 0x12C8, 0x12D6, FC_WORD }, { 0x12D8, 0x1310, FC_WORD }, { 0x1312, 0x1315, FC_WORD },
	{ 0x1318, 0x135A, FC_WORD }, { 0x135D, 0x135F, FC_MARK }, { 0x1380, 0x138F, FC_WORD },
	{ 0x13A0, 0x13F5, FC_WORD }, { 0x13F8, 0x13FD, FC_WORD }, { 0x1401, 0x166C, FC_WORD },
	{ 0x166F, 0x167F, FC_WORD }, { 0x1681, 0x169A, FC_WORD }, { 0x16A0, 0x16EA, FC_WORD },
	{ 0x16EE, 0x16F8, FC_WORD }, { 0x1700, 0x1711, FC_WORD }, { 0x1712, 0x1715, FC_MARK },
	{ 0x171F, 0x1731, FC_WORD }, { 0x1732, 0x1734, FC_MARK }, { 0x1740, 0x1751, FC_WORD },
	{ 0x1752, 0x1753, FC_MARK }, { 0x1760, 0x176C, FC_WORD }, { 0x176E, 0x1770, FC_WORD },
	{ 0x1772, 0x1773, FC_MARK }, { 0x1780, 0x17B3, FC_WORD }, { 0x17B4, 0x17D3, FC_MARK },
	{ 0x17D7, 0x17D7, FC_WORD }, { 0x17DC, 0x17DC, FC_WORD }, { 0x17DD, 0x17DD, FC_MARK },
	{ 0x17E0, 0x17E9, FC_WORD }, { 0x180B, 0x180D, FC_MARK }, { 0x180F, 0x180F, FC_MARK },
	{ 0x1810, 0x1819, FC_WORD }, { 0x1820, 0x1878, FC_WORD }, { 0x1880, 0x1884, FC_WORD },
	{ 0x1885, 0x1886, FC_MARK }, { 0x1887, 0x18A8, FC_WORD }, { 0x18A9, 0x18A9, FC_MARK },
	{ 0x18AA, 0x18AA, FC_WORD }, { 0x18B0, 0x18F5, FC_WORD }, { 0x1900, 0x191E, FC_WORD },
	{ 0x1920, 0x192B, FC_MARK }, { 0x1930, 0x193B, FC_MARK }, { 0x1946, 0x196D, FC_WORD },
	{ 0x1970, 0x1974, FC_WORD }, { 0x1980, 0x19AB, FC_WORD }, { 0x19B0, 0x19C9, FC_WORD },
	{ 0x19D0, 0x19D9, FC_WORD }, { 0x1A00, 0x1A16, FC_WORD }, { 0x1A17, 0x1A1B, FC_MARK },
	{ 0x1A20, 0x1A54, FC_WORD }, { 0x1A55, 0x1A5E, FC_MARK }, { 0x1A60, 0x1A7C, FC_MARK },
	{ 0x1A7F, 0x1A7F, FC_MARK }, { 0x1A80, 0x1A89, FC_WORD }, { 0x1A90, 0x1A99, FC_WORD },
	{ 0x1AA7, 0x1AA7, FC_WORD }, { 0x1AB0, 0x1ACE, FC_DROP }, { 0x1B00, 0x1B04, FC_MARK },
	{ 0x1B05, 0x1B33, FC_WORD }, { 0x1B34, 0x1B44, FC_MARK }, { 0x1B45, 0x1B4C, FC_WORD },
	{ 0x1B50, 0x1B59, FC_WORD }, { 0x1B6B, 0x1B73, FC_MARK }, { 0x1B80, 0x1B82, FC_MARK },
	{ 0x1B83, 0x1BA0, FC_WORD }, { 0x1BA1, 0x1BAD, FC_MARK }, { 0x1BAE, 0x1BE5, FC_WORD },
	{ 0x1BE6, 0x1BF3, FC_MARK }, { 0x1C00, 0x1C23, FC_WORD }, { 0x1C24, 0x1C37, FC_MARK },
	{ 0x1C40, 0x1C49, FC_WORD }, { 0x1C4D, 0x1C7D, FC_WORD }, { 0x1C80, 0x1C88, FC_WORD },
	{ 0x1C90, 0x1CBA, FC_WORD }, { 0x1CBD, 0x1CBF, FC_WORD }, { 0x1CD0, 0x1CD2, FC_MARK },
	{ 0x1CD4, 0x1CE8, FC_MARK }, { 0x1CE9, 0x1CEC, FC_WORD }, { 0x1CED, 0x1CED, FC_MARK },
	{ 0x1CEE, 0x1CF3, FC_WORD }, { 0x1CF4, 0x1CF4, FC_MARK }, { 0x1CF5, 0x1CF6, FC_WORD },
	{ 0x1CF7, 0x1CF9, FC_MARK }, { 0x1CFA, 0x1CFA, FC_WORD }, { 0x1D00, 0x1DBF, FC_WORD },
	{ 0x1DC0, 0x1DFF, FC_DROP }, { 0x200C, 0x200D, FC_DROP }, { 0x2060, 0x2060, FC_DROP },
	{ 0x2071, 0x2071, FC_WORD }, { 0x207F, 0x207F, FC_WORD }, { 0x2090, 0x209C, FC_WORD },
	{ 0x20D0, 0x20F0, FC_DROP }, { 0x2102, 0x2102, FC_WORD }, { 0x2107, 0x2107, FC_WORD },
	{ 0x210A, 0x2113, FC_WORD }, { 0x2115, 0x2115, FC_WORD }, { 0x2119, 0x211D, FC_WORD },
	{ 0x2124, 0x2124, FC_WORD }, { 0x2126, 0x2126, FC_WORD }, { 0x2128, 0x2128, FC_WORD },
	{ 0x212A, 0x212D, FC_WORD }, { 0x212F, 0x2139, FC_WORD }, { 0x213C, 0x213F, FC_WORD },
	{ 0x2145, 0x2149, FC_WORD }, { 0x214E, 0x214E, FC_WORD }, { 0x2160, 0x2188, FC_WORD },
	{ 0x2C00, 0x2CE4, FC_WORD }, { 0x2CEB, 0x2CEE, FC_WORD }, { 0x2CEF, 0x2CF1, FC_MARK },
	{ 0x2CF2, 0x2CF3, FC_WORD }, { 0x2D00, 0x2D25, FC_WORD }, { 0x2D27, 0x2D27, FC_WORD },
	{ 0x2D2D, 0x2D2D, FC_WORD }, { 0x2D30, 0x2D67, FC_WORD }, { 0x2D6F, 0x2D6F, FC_WORD },
	{ 0x2D7F, 0x2D7F, FC_MARK }, { 0x2D80, 0x2D96, FC_WORD }, { 0x2DA0, 0x2DA6, FC_WORD },
	{ 0x2DA8, 0x2DAE, FC_WORD }, { 0x2DB0, 0x2DB6, FC_WORD }, { 0x2DB8, 0x2DBE, FC_WORD },
	{ 0x2DC0, 0x2DC6, FC_WORD }, { 0x2DC8, 0x2DCE, FC_WORD }, { 0x2DD0, 0x2DD6, FC_WORD },
	{ 0x2DD8, 0x2DDE, FC_WORD }, { 0x2DE0, 0x2DFF, FC_MARK }, { 0x2E2F, 0x2E2F, FC_WORD },
	{ 0x3005, 0x3007, FC_CJK }, { 0x3021, 0x3029, FC_WORD }, { 0x302A, 0x302F, FC_MARK },
	{ 0x3031, 0x3035, FC_WORD }, { 0x3038, 0x303C, FC_WORD }, { 0x3041, 0x3096, FC_CJK },
	{ 0x3099, 0x309A, FC_DROP }, { 0x309D, 0x309F, FC_CJK }, { 0x30A1, 0x30FA, FC_CJK },
	{ 0x30FC, 0x30FF, FC_CJK }, { 0x3105, 0x312F, FC_WORD }, { 0x3131, 0x318E, FC_CJK },
	{ 0x31A0, 0x31BF, FC_WORD }, { 0x31F0, 0x31FF, FC_CJK }, { 0x3400, 0x4DBF, FC_CJK },
	{ 0x4E00, 0x9FFF, FC_CJK }, { 0xA000, 0xA48C, FC_WORD }, { 0xA4D0, 0xA4FD, FC_WORD },
	{ 0xA500, 0xA60C, FC_WORD }, { 0xA610, 0xA62B, FC_WORD }, { 0xA640, 0xA66E, FC_WORD },
	{ 0xA66F, 0xA672, FC_MARK }, { 0xA674, 0xA67D, FC_MARK }, { 0xA67F, 0xA69D, FC_WORD },
	{ 0xA69E, 0xA69F, FC_MARK }, { 0xA6A0, 0xA6EF, FC_WORD }, { 0xA6F0, 0xA6F1, FC_MARK },
	{ 0xA717, 0xA71F, FC_WORD }, { 0xA722, 0xA788, FC_WORD }, { 0xA78B, 0xA7CA, FC_WORD },
	{ 0xA7D0, 0xA7D1, FC_WORD }, { 0xA7D3, 0xA7D3, FC_WORD }, { 0xA7D5, 0xA7D9, FC_WORD },
	{ 0xA7F2, 0xA801, FC_WORD }, { 0xA802, 0xA802, FC_MARK }, { 0xA803, 0xA805, FC_WORD },
	{ 0xA806, 0xA806, FC_MARK }, { 0xA807, 0xA80A, FC_WORD }, { 0xA80B, 0xA80B, FC_MARK },
	{ 0xA80C, 0xA822, FC_WORD }, { 0xA823, 0xA827, FC_MARK }, { 0xA82C, 0xA82C, FC_MARK },
	{ 0xA840, 0xA873, FC_WORD }, { 0xA880, 0xA881, FC_MARK }, { 0xA882, 0xA8B3, FC_WORD },
	{ 0xA8B4, 0xA8C5, FC_MARK }, { 0xA8D0, 0xA8D9, FC_WORD }, { 0xA8E0, 0xA8F1, FC_MARK },
	{ 0xA8F2, 0xA8F7, FC_WORD }, { 0xA8FB, 0xA8FB, FC_WORD }, { 0xA8FD, 0xA8FE, FC_WORD },
	{ 0xA8FF, 0xA8FF, FC_MARK }, { 0xA900, 0xA925, FC_WORD }, { 0xA926, 0xA92D, FC_MARK },
	{ 0xA930, 0xA946, FC_WORD }, { 0xA947, 0xA953, FC_MARK }, { 0xA960, 0xA97C, FC_CJK },
	{ 0xA980, 0xA983, FC_MARK }, { 0xA984, 0xA9B2, FC_WORD }, { 0xA9B3, 0xA9C0, FC_MARK },
	{ 0xA9CF, 0xA9D9, FC_WORD }, { 0xA9E0, 0xA9E4, FC_WORD }, { 0xA9E5, 0xA9E5, FC_MARK },
	{ 0xA9E6, 0xA9FE, FC_WORD }, { 0xAA00, 0xAA28, FC_WORD }, { 0xAA29, 0xAA36, FC_MARK },
	{ 0xAA40, 0xAA42, FC_WORD }, { 0xAA43, 0xAA43, FC_MARK }, { 0xAA44, 0xAA4B, FC_WORD },
	{ 0xAA4C, 0xAA4D, FC_MARK }, { 0xAA50, 0xAA59, FC_WORD }, { 0xAA60, 0xAA76, FC_WORD },
	{ 0xAA7A, 0xAA7A, FC_WORD }, { 0xAA7B, 0xAA7D, FC_MARK }, { 0xAA7E, 0xAAAF, FC_WORD },
	{ 0xAAB0, 0xAAB0, FC_MARK }, { 0xAAB1, 0xAAB1, FC_WORD }, { 0xAAB2, 0xAAB4, FC_MARK },
	{ 0xAAB5, 0xAAB6, FC_WORD }, { 0xAAB7, 0xAAB8, FC_MARK }, { 0xAAB9, 0xAABD, FC_WORD },
	{ 0xAABE, 0xAABF, FC_MARK }, { 0xAAC0, 0xAAC0, FC_WORD }, { 0xAAC1, 0xAAC1, FC_MARK },
	{ 0xAAC2, 0xAAC2, FC_WORD }, { 0xAADB, 0xAADD, FC_WORD }, { 0xAAE0, 0xAAEA, FC_WORD },
	{ 0xAAEB, 0xAAEF, FC_MARK }, { 0xAAF2, 0xAAF4, FC_WORD }, { 0xAAF5, 0xAAF6, FC_MARK },
	{ 0xAB01, 0xAB06, FC_WORD }, { 0xAB09, 0xAB0E, FC_WORD }, { 0xAB11, 0xAB16, FC_WORD },
	{ 0xAB20, 0xAB26, FC_WORD }, { 0xAB28, 0xAB2E, FC_WORD }, { 0xAB30, 0xAB5A, FC_WORD },
	{ 0xAB5C, 0xAB69, FC_WORD }, { 0xAB70, 0xABE2, FC_WORD }, { 0xABE3, 0xABEA, FC_MARK },
	{ 0xABEC, 0xABED, FC_MARK }, { 0xABF0, 0xABF9, FC_WORD }, { 0xAC00, 0xD7A3, FC_CJK },
	{ 0xD7B0, 0xD7C6, FC_CJK }, { 0xD7CB, 0xD7FB, FC_CJK }, { 0xF900, 0xFA6D, FC_CJK },
	{ 0xFA70, 0xFAD9, FC_CJK }, { 0xFB00, 0xFB06, FC_WORD }, { 0xFB13, 0xFB17, FC_WORD },
	{ 0xFB1D, 0xFB1D, FC_WORD }, { 0xFB1E, 0xFB1E, FC_MARK }, { 0xFB1F, 0xFB28, FC_WORD },
	{ 0xFB2A, 0xFB36, FC_WORD }, { 0xFB38, 0xFB3C, FC_WORD }, { 0xFB3E, 0xFB3E, FC_WORD },
	{ 0xFB40, 0xFB41, FC_WORD }, { 0xFB43, 0xFB44, FC_WORD }, { 0xFB46, 0xFBB1, FC_WORD },
	{ 0xFBD3, 0xFD3D, FC_WORD }, { 0xFD50, 0xFD8F, FC_WORD }, { 0xFD92, 0xFDC7, FC_WORD },
	{ 0xFDF0, 0xFDFB, FC_WORD }, { 0xFE00, 0xFE0F, FC_MARK }, { 0xFE20, 0xFE2F, FC_DROP },
	{ 0xFE70, 0xFE74, FC_WORD }, { 0xFE76, 0xFEFC, FC_WORD }, { 0xFEFF, 0xFEFF, FC_DROP },
	{ 0x10000, 0x1000B, FC_WORD }, { 0x1000D, 0x10026, FC_WORD }, { 0x10028, 0x1003A, FC_WORD },
	{ 0x1003C, 0x1003D, FC_WORD }, { 0x1003F, 0x1004D, FC_WORD }, { 0x10050, 0x1005D, FC_WORD },
	{ 0x10080, 0x100FA, FC_WORD }, { 0x10140, 0x10174, FC_WORD }, { 0x101FD, 0x101FD, FC_MARK },
	{ 0x10280, 0x1029C, FC_WORD }, { 0x102A0, 0x102D0, FC_WORD }, { 0x102E0, 0x102E0, FC_MARK },
	{ 0x10300, 0x1031F, FC_WORD }, { 0x1032D, 0x1034A, FC_WORD }, { 0x10350, 0x10375, FC_WORD },
	{ 0x10376, 0x1037A, FC_MARK }, { 0x10380, 0x1039D, FC_WORD }, { 0x103A0, 0x103C3, FC_WORD },
	{ 0x103C8, 0x103CF, FC_WORD }, { 0x103D1, 0x103D5, FC_WORD }, { 0x10400, 0x1049D, FC_WORD },
	{ 0x104A0, 0x104A9, FC_WORD }, { 0x104B0, 0x104D3, FC_WORD }, { 0x104D8, 0x104FB, FC_WORD },
	{ 0x10500, 0x10527, FC_WORD }, { 0x10530, 0x10563, FC_WORD }, { 0x10570, 0x1057A, FC_WORD },
	{ 0x1057C, 0x1058A, FC_WORD }, { 0x1058C, 0x10592, FC_WORD }, { 0x10594, 0x10595, FC_WORD },
	{ 0x10597, 0x105A1, FC_WORD }, { 0x105A3, 0x105B1, FC_WORD }, { 0x105B3, 0x105B9, FC_WORD },
	{ 0x105BB, 0x105BC, FC_WORD }, { 0x10600, 0x10736, FC_WORD }, { 0x10740, 0x10755, FC_WORD },
	{ 0x10760, 0x10767, FC_WORD }, { 0x10780, 0x10785, FC_WORD }, { 0x10787, 0x107B0, FC_WORD },
	{ 0x107B2, 0x107BA, FC_WORD }, { 0x10800, 0x10805, FC_WORD }, { 0x10808, 0x10808, FC_WORD },
	{ 0x1080A, 0x10835, FC_WORD }, { 0x10837, 0x10838, FC_WORD }, { 0x1083C, 0x1083C, FC_WORD },
	{ 0x1083F, 0x10855, FC_WORD }, { 0x10860, 0x10876, FC_WORD }, { 0x10880, 0x1089E, FC_WORD },
	{ 0x108E0, 0x108F2, FC_WORD }, { 0x108F4, 0x108F5, FC_WORD }, { 0x10900, 0x10915, FC_WORD },
	{ 0x10920, 0x10939, FC_WORD }, { 0x10980, 0x109B7, FC_WORD }, { 0x109BE, 0x109BF, FC_WORD },
	{ 0x10A00, 0x10A00, FC_WORD }, { 0x10A01, 0x10A03, FC_MARK }, { 0x10A05, 0x10A06, FC_MARK },
	{ 0x10A0C, 0x10A0F, FC_MARK }, { 0x10A10, 0x10A13, FC_WORD }, { 0x10A15, 0x10A17, FC_WORD },
	{ 0x10A19, 0x10A35, FC_WORD }, { 0x10A38, 0x10A3A, FC_MARK }, { 0x10A3F, 0x10A3F, FC_MARK },
	{ 0x10A60, 0x10A7C, FC_WORD }, { 0x10A80, 0x10A9C, FC_WORD }, { 0x10AC0, 0x10AC7, FC_WORD },
	{ 0x10AC9, 0x10AE4, FC_WORD }, { 0x10AE5, 0x10AE6, FC_MARK }, { 0x10B00, 0x10B35, FC_WORD },
	{ 0x10B40, 0x10B55, FC_WORD }, { 0x10B60, 0x10B72, FC_WORD }, { 0x10B80, 0x10B91, FC_WORD },
	{ 0x10C00, 0x10C48, FC_WORD }, { 0x10C80, 0x10CB2, FC_WORD }, { 0x10CC0, 0x10CF2, FC_WORD },
	{ 0x10D00, 0x10D23, FC_WORD }, { 0x10D24, 0x10D27, FC_MARK }, { 0x10D30, 0x10D39, FC_WORD },
	{ 0x10E80, 0x10EA9, FC_WORD }, { 0x10EAB, 0x10EAC, FC_MARK }, { 0x10EB0, 0x10EB1, FC_WORD },
	{ 0x10F00, 0x10F1C, FC_WORD }, { 0x10F27, 0x10F27, FC_WORD }, { 0x10F30, 0x10F45, FC_WORD },
	{ 0x10F46, 0x10F50, FC_MARK }, { 0x10F70, 0x10F81, FC_WORD }, { 0x10F82, 0x10F85, FC_MARK },
	{ 0x10FB0, 0x10FC4, FC_WORD }, { 0x10FE0, 0x10FF6, FC_WORD }, { 0x11000, 0x11002, FC_MARK },
	{ 0x11003, 0x11037, FC_WORD }, { 0x11038, 0x11046, FC_MARK }, { 0x11066, 0x1106F, FC_WORD },
	{ 0x11070, 0x11070, FC_MARK }, { 0x11071, 0x11072, FC_WORD }, { 0x11073, 0x11074, FC_MARK },
	{ 0x11075, 0x11075, FC_WORD }, { 0x1107F, 0x11082, FC_MARK }, { 0x11083, 0x110AF, FC_WORD },
	{ 0x110B0, 0x110BA, FC_MARK }, { 0x110C2, 0x110C2, FC_MARK }, { 0x110D0, 0x110E8, FC_WORD },
	{ 0x110F0, 0x110F9, FC_WORD }, { 0x11100, 0x11102, FC_MARK }, { 0x11103, 0x11126, FC_WORD },
	{ 0x11127, 0x11134, FC_MARK }, { 0x11136, 0x1113F, FC_WORD }, { 0x11144, 0x11144, FC_WORD },
	{ 0x11145, 0x11146, FC_MARK }, { 0x11147, 0x11147, FC_WORD }, { 0x11150, 0x11172, FC_WORD },
	{ 0x11173, 0x11173, FC_MARK }, { 0x11176, 0x11176, FC_WORD }, { 0x11180, 0x11182, FC_MARK },
	{ 0x11183, 0x111B2, FC_WORD }, { 0x111B3, 0x111C0, FC_MARK }, { 0x111C1, 0x111C4, FC_WORD },
	{ 0x111C9, 0x111CC, FC_MARK }, { 0x111CE, 0x111CF, FC_MARK }, { 0x111D0, 0x111DA, FC_WORD },
	{ 0x111DC, 0x111DC, FC_WORD }, { 0x11200, 0x11211, FC_WORD }, { 0x11213, 0x1122B, FC_WORD },
	{ 0x1122C, 0x11237, FC_MARK }, { 0x1123E, 0x1123E, FC_MARK }, { 0x11280, 0x11286, FC_WORD },
	{ 0x11288, 0x11288, FC_WORD }, { 0x1128A, 0x1128D, FC_WORD }, { 0x1128F, 0x1129D, FC_WORD },
	{ 0x1129F, 0x112A8, FC_WORD }, { 0x112B0, 0x112DE, FC_WORD }, { 0x112DF, 0x112EA, FC_MARK },
	{ 0x112F0, 0x112F9, FC_WORD }, { 0x11300, 0x11303, FC_MARK }, { 0x11305, 0x1130C, FC_WORD },
	{ 0x1130F, 0x11310, FC_WORD }, { 0x11313, 0x11328, FC_WORD }, { 0x1132A, 0x11330, FC_WORD },
	{ 0x11332, 0x11333, FC_WORD }, { 0x11335, 0x11339, FC_WORD }, { 0x1133B, 0x1133C, FC_MARK },
	{ 0x1133D, 0x1133D, FC_WORD }, { 0x1133E, 0x11344, FC_MARK }, { 0x11347, 0x11348, FC_MARK },
	{ 0x1134B, 0x1134D, FC_MARK }, { 0x11350, 0x11350, FC_WORD }, { 0x11357, 0x11357, FC_MARK },
	{ 0x1135D, 0x11361, FC_WORD }, { 0x11362, 0x11363, FC_MARK }, { 0x11366, 0x1136C, FC_MARK },
	{ 0x11370, 0x11374, FC_MARK }, { 0x11400, 0x11434, FC_WORD }, { 0x11435, 0x11446, FC_MARK },
	{ 0x11447, 0x1144A, FC_WORD }, { 0x11450, 0x11459, FC_WORD }, { 0x1145E, 0x1145E, FC_MARK },
	{ 0x1145F, 0x11461, FC_WORD }, { 0x11480, 0x114AF, FC_WORD }, { 0x114B0, 0x114C3, FC_MARK },
	{ 0x114C4, 0x114C5, FC_WORD }, { 0x114C7, 0x114C7, FC_WORD }, { 0x114D0, 0x114D9, FC_WORD },
	{ 0x11580, 0x115AE, FC_WORD }, { 0x115AF, 0x115B5, FC_MARK }, { 0x115B8, 0x115C0, FC_MARK },
	{ 0x115D8, 0x115DB, FC_WORD }, { 0x115DC, 0x115DD, FC_MARK }, { 0x11600, 0x1162F, FC_WORD },
	{ 0x11630, 0x11640, FC_MARK }, { 0x11644, 0x11644, FC_WORD }, { 0x11650, 0x11659, FC_WORD },
	{ 0x11680, 0x116AA, FC_WORD }, { 0x116AB, 0x116B7, FC_MARK }, { 0x116B8, 0x116B8, FC_WORD },
	{ 0x116C0, 0x116C9, FC_WORD }, { 0x11700, 0x1171A, FC_WORD }, { 0x1171D, 0x1172B, FC_MARK },
	{ 0x11730, 0x11739, FC_WORD }, { 0x11740, 0x11746, FC_WORD }, { 0x11800, 0x1182B, FC_WORD },
	{ 0x1182C, 0x1183A, FC_MARK }, { 0x118A0, 0x118E9, FC_WORD }, { 0x118FF, 0x11906, FC_WORD },
	{ 0x11909, 0x11909, FC_WORD }, { 0x1190C, 0x11913, FC_WORD }, { 0x11915, 0x11916, FC_WORD },
	{ 0x11918, 0x1192F, FC_WORD }, { 0x11930, 0x11935, FC_MARK }, { 0x11937, 0x11938, FC_MARK },
	{ 0x1193B, 0x1193E, FC_MARK }, { 0x1193F, 0x1193F, FC_WORD }, { 0x11940, 0x11940, FC_MARK },
	{ 0x11941, 0x11941, FC_WORD }, { 0x11942, 0x11943, FC_MARK }, { 0x11950, 0x11959, FC_WORD },
	{ 0x119A0, 0x119A7, FC_WORD }, { 0x119AA, 0x119D0, FC_WORD }, { 0x119D1, 0x119D7, FC_MARK },
	{ 0x119DA, 0x119E0, FC_MARK }, { 0x119E1, 0x119E1, FC_WORD }, { 0x119E3, 0x119E3, FC_WORD },
	{ 0x119E4, 0x119E4, FC_MARK }, { 0x11A00, 0x11A00, FC_WORD }, { 0x11A01, 0x11A0A, FC_MARK },
	{ 0x11A0B, 0x11A32, FC_WORD }, { 0x11A33, 0x11A39, FC_MARK }, { 0x11A3A, 0x11A3A, FC_WORD },
	{ 0x11A3B, 0x11A3E, FC_MARK }, { 0x11A47, 0x11A47, FC_MARK }, { 0x11A50, 0x11A50, FC_WORD },
	{ 0x11A51, 0x11A5B, FC_MARK }, { 0x11A5C, 0x11A89, FC_WORD }, { 0x11A8A, 0x11A99, FC_MARK },
	{ 0x11A9D, 0x11A9D, FC_WORD }, { 0x11AB0, 0x11AF8, FC_WORD }, { 0x11C00, 0x11C08, FC_WORD },
	{ 0x11C0A, 0x11C2E, FC_WORD }, { 0x11C2F, 0x11C36, FC_MARK }, { 0x11C38, 0x11C3F, FC_MARK },
	{ 0x11C40, 0x11C40, FC_WORD }, { 0x11C50, 0x11C59, FC_WORD }, { 0x11C72, 0x11C8F, FC_WORD },
	{ 0x11C92, 0x11CA7, FC_MARK }, { 0x11CA9, 0x11CB6, FC_MARK }, { 0x11D00, 0x11D06, FC_WORD },
	{ 0x11D08, 0x11D09, FC_WORD }, { 0x11D0B, 0x11D30, FC_WORD }, { 0x11D31, 0x11D36, FC_MARK },
	{ 0x11D3A, 0x11D3A, FC_MARK }, { 0x11D3C, 0x11D3D, FC_MARK }, { 0x11D3F, 0x11D45, FC_MARK },
	{ 0x11D46, 0x11D46, FC_WORD }, { 0x11D47, 0x11D47, FC_MARK }, { 0x11D50, 0x11D59, FC_WORD },
	{ 0x11D60, 0x11D65, FC_WORD }, { 0x11D67, 0x11D68, FC_WORD }, { 0x11D6A, 0x11D89, FC_WORD },
	{ 0x11D8A, 0x11D8E, FC_MARK }, { 0x11D90, 0x11D91, FC_MARK }, { 0x11D93, 0x11D97, FC_MARK },
	{ 0x11D98, 0x11D98, FC_WORD }, { 0x11DA0, 0x11DA9, FC_WORD }, { 0x11EE0, 0x11EF2, FC_WORD },
	{ 0x11EF3, 0x11EF6, FC_MARK }, { 0x11FB0, 0x11FB0, FC_WORD }, { 0x12000, 0x12399, FC_WORD },
	{ 0x12400, 0x1246E, FC_WORD }, { 0x12480, 0x12543, FC_WORD }, { 0x12F90, 0x12FF0, FC_WORD },
	{ 0x13000, 0x1342E, FC_WORD }, { 0x14400, 0x14646, FC_WORD }, { 0x16800, 0x16A38, FC_WORD },
	{ 0x16A40, 0x16A5E, FC_WORD }, { 0x16A60, 0x16A69, FC_WORD }, { 0x16A70, 0x16ABE, FC_WORD },
	{ 0x16AC0, 0x16AC9, FC_WORD }, { 0x16AD0, 0x16AED, FC_WORD }, { 0x16AF0, 0x16AF4, FC_MARK },
	{ 0x16B00, 0x16B2F, FC_WORD }, { 0x16B30, 0x16B36, FC_MARK }, { 0x16B40, 0x16B43, FC_WORD },
	{ 0x16B50, 0x16B59, FC_WORD }, { 0x16B63, 0x16B77, FC_WORD }, { 0x16B7D, 0x16B8F, FC_WORD },
	{ 0x16E40, 0x16E7F, FC_WORD }, { 0x16F00, 0x16F4A, FC_WORD }, { 0x16F4F, 0x16F4F, FC_MARK },
	{ 0x16F50, 0x16F50, FC_WORD }, { 0x16F51, 0x16F87, FC_MARK }, { 0x16F8F, 0x16F92, FC_MARK },
	{ 0x16F93, 0x16F9F, FC_WORD }, { 0x16FE0, 0x16FE1, FC_WORD }, { 0x16FE3, 0x16FE3, FC_WORD },
	{ 0x16FE4, 0x16FE4, FC_MARK }, { 0x16FF0, 0x16FF1, FC_MARK }, { 0x17000, 0x187F7, FC_WORD },
	{ 0x18800, 0x18CD5, FC_WORD }, { 0x18D00, 0x18D08, FC_WORD }, { 0x1AFF0, 0x1AFF3, FC_CJK },
	{ 0x1AFF5, 0x1AFFB, FC_CJK }, { 0x1AFFD, 0x1AFFE, FC_CJK }, { 0x1B000, 0x1B001, FC_CJK },
	{ 0x1B002, 0x1B11E, FC_WORD }, { 0x1B11F, 0x1B122, FC_CJK }, { 0x1B150, 0x1B152, FC_CJK },
	{ 0x1B164, 0x1B167, FC_CJK }, { 0x1B170, 0x1B2FB, FC_WORD }, { 0x1BC00, 0x1BC6A, FC_WORD },
	{ 0x1BC70, 0x1BC7C, FC_WORD }, { 0x1BC80, 0x1BC88, FC_WORD }, { 0x1BC90, 0x1BC99, FC_WORD },
	{ 0x1BC9D, 0x1BC9E, FC_MARK }, { 0x1CF00, 0x1CF2D, FC_MARK }, { 0x1CF30, 0x1CF46, FC_MARK },
	{ 0x1D165, 0x1D169, FC_MARK }, { 0x1D16D, 0x1D172, FC_MARK }, { 0x1D17B, 0x1D182, FC_MARK },
	{ 0x1D185, 0x1D18B, FC_MARK }, { 0x1D1AA, 0x1D1AD, FC_MARK }, { 0x1D242, 0x1D244, FC_MARK },
	{ 0x1D400, 0x1D454, FC_WORD }, { 0x1D456, 0x1D49C, FC_WORD }, { 0x1D49E, 0x1D49F, FC_WORD },
	{ 0x1D4A2, 0x1D4A2, FC_WORD }, { 0x1D4A5, 0x1D4A6, FC_WORD }, { 0x1D4A9, 0x1D4AC, FC_WORD },
	{ 0x1D4AE, 0x1D4B9, FC_WORD }, { 0x1D4BB, 0x1D4BB, FC_WORD }, { 0x1D4BD, 0x1D4C3, FC_WORD },
	{ 0x1D4C5, 0x1D505, FC_WORD }, { 0x1D507, 0x1D50A, FC_WORD }, { 0x1D50D, 0x1D514, FC_WORD },
	{ 0x1D516, 0x1D51C, FC_WORD }, { 0x1D51E, 0x1D539, FC_WORD }, { 0x1D53B, 0x1D53E, FC_WORD },
	{ 0x1D540, 0x1D544, FC_WORD }, { 0x1D546, 0x1D546, FC_WORD }, { 0x1D54A, 0x1D550, FC_WORD },
	{ 0x1D552, 0x1D6A5, FC_WORD }, { 0x1D6A8, 0x1D6C0, FC_WORD }, { 0x1D6C2, 0x1D6DA, FC_WORD },
	{ 0x1D6DC, 0x1D6FA, FC_WORD }, { 0x1D6FC, 0x1D714, FC_WORD }, { 0x1D716, 0x1D734, FC_WORD },
	{ 0x1D736, 0x1D74E, FC_WORD }, { 0x1D750, 0x1D76E, FC_WORD }, { 0x1D770, 0x1D788, FC_WORD },
	{ 0x1D78A, 0x1D7A8, FC_WORD }, { 0x1D7AA, 0x1D7C2, FC_WORD }, { 0x1D7C4, 0x1D7CB, FC_WORD },
	{ 0x1D7CE, 0x1D7FF, FC_WORD }, { 0x1DA00, 0x1DA36, FC_MARK }, { 0x1DA3B, 0x1DA6C, FC_MARK },
	{ 0x1DA75, 0x1DA75, FC_MARK }, { 0x1DA84, 0x1DA84, FC_MARK }, { 0x1DA9B, 0x1DA9F, FC_MARK },
	{ 0x1DAA1, 0x1DAAF, FC_MARK }, { 0x1DF00, 0x1DF1E, FC_WORD }, { 0x1E000, 0x1E006, FC_MARK },
	{ 0x1E008, 0x1E018, FC_MARK }, { 0x1E01B, 0x1E021, FC_MARK }, { 0x1E023, 0x1E024, FC_MARK },
	{ 0x1E026, 0x1E02A, FC_MARK }, { 0x1E100, 0x1E12C, FC_WORD }, { 0x1E130, 0x1E136, FC_MARK },
	{ 0x1E137, 0x1E13D, FC_WORD }, { 0x1E140, 0x1E149, FC_WORD }, { 0x1E14E, 0x1E14E, FC_WORD },
	{ 0x1E290, 0x1E2AD, FC_WORD }, { 0x1E2AE, 0x1E2AE, FC_MARK }, { 0x1E2C0, 0x1E2EB, FC_WORD },
	{ 0x1E2EC, 0x1E2EF, FC_MARK }, { 0x1E2F0, 0x1E2F9, FC_WORD }, { 0x1E7E0, 0x1E7E6, FC_WORD },
	{ 0x1E7E8, 0x1E7EB, FC_WORD }, { 0x1E7ED, 0x1E7EE, FC_WORD }, { 0x1E7F0, 0x1E7FE, FC_WORD },
	{ 0x1E800, 0x1E8C4, FC_WORD }, { 0x1E8D0, 0x1E8D6, FC_MARK }, { 0x1E900, 0x1E943, FC_WORD },
	{ 0x1E944, 0x1E94A, FC_MARK }, { 0x1E94B, 0x1E94B, FC_WORD }, { 0x1E950, 0x1E959, FC_WORD },
	{ 0x1EE00, 0x1EE03, FC_WORD }, { 0x1EE05, 0x1EE1F, FC_WORD }, { 0x1EE21, 0x1EE22, FC_WORD },
	{ 0x1EE24, 0x1EE24, FC_WORD }, { 0x1EE27, 0x1EE27, FC_WORD }, { 0x1EE29, 0x1EE32, FC_WORD },
	{ 0x1EE34, 0x1EE37, FC_WORD }, { 0x1EE39, 0x1EE39, FC_WORD }, { 0x1EE3B, 0x1EE3B, FC_WORD },
	{ 0x1EE42, 0x1EE42, FC_WORD }, { 0x1EE47, 0x1EE47, FC_WORD }, { 0x1EE49, 0x1EE49, FC_WORD },
	{ 0x1EE4B, 0x1EE4B, FC_WORD }, { 0x1EE4D, 0x1EE4F, FC_WORD }, { 0x1EE51, 0x1EE52, FC_WORD },
	{ 0x1EE54, 0x1EE54, FC_WORD }, { 0x1EE57, 0x1EE57, FC_WORD }, { 0x1EE59, 0x1EE59, FC_WORD },
	{ 0x1EE5B, 0x1EE5B, FC_WORD }, { 0x1EE5D, 0x1EE5D, FC_WORD }, { 0x1EE5F, 0x1EE5F, FC_WORD },
	{ 0x1EE61, 0x1EE62, FC_WORD }, { 0x1EE64, 0x1EE64, FC_WORD }, { 0x1EE67, 0x1EE6A, FC_WORD },
	{ 0x1EE6C, 0x1EE72, FC_WORD }, { 0x1EE74, 0x1EE77, FC_WORD }, { 0x1EE79, 0x1EE7C, FC_WORD },
	{ 0x1EE7E, 0x1EE7E, FC_WORD }, { 0x1EE80, 0x1EE89, FC_WORD }, { 0x1EE8B, 0x1EE9B, FC_WORD },
	{ 0x1EEA1, 0x1EEA3, FC_WORD }, { 0x1EEA5, 0x1EEA9, FC_WORD }, { 0x1EEAB, 0x1EEBB, FC_WORD },
	{ 0x1FBF0, 0x1FBF9, FC_WORD }, { 0x20000, 0x2A6DF, FC_CJK }, { 0x2A700, 0x2B738, FC_CJK },
	{ 0x2B740, 0x2B81D, FC_CJK }, { 0x2B820, 0x2CEA1, FC_CJK }, { 0x2CEB0, 0x2EBE0, FC_CJK },
	{ 0x2F800, 0x2FA1D, FC_CJK }, { 0x30000, 0x3134A, FC_CJK }, { 0xE0100, 0xE01EF, FC_MARK },
};

#undef S
#undef X
#undef M
#undef C
#undef W
#undef K

#define NRANGES	(sizeof(fold_ranges) / sizeof(fold_ranges[0]))

size_t
utf8_put(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The window entry of cp, NULL when it is in none. */
static const struct fold_ent *
fold_window(uint32_t cp)
{
	if (cp >= 0x80 && cp < 0x530)
		return &fold_latin[cp - 0x80];
	if (cp >= 0x1e00 && cp < 0x2000)
		return &fold_ext[cp - 0x1e00];
	if (cp >= 0xff00 && cp < 0xfff0)
		return &fold_wide[cp - 0xff00];
	return NULL;
}

/* cp's class by the ranges (binary search); FC_SEP in none. */
static enum fold_class
fold_range_class(uint32_t cp)
{
	size_t lo = 0, hi = NRANGES, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < fold_ranges[mid].lo)
			hi = mid;
		else if (cp > fold_ranges[mid].hi)
			lo = mid + 1;
		else
			return fold_ranges[mid].cls;
	}
	return FC_SEP;
}

static enum fold_class
fold_ascii(uint32_t cp, char out[FOLD_MAX], size_t *olen)
{
	*olen = 0;
	if (cp >= 'A' && cp <= 'Z')
		cp += 'a' - 'A';
	else if (!(cp >= 'a' && cp <= 'z') && !(cp >= '0' && cp <= '9'))
		return FC_SEP;
	out[0] = (char)cp;
	*olen = 1;
	return FC_WORD;
}

enum fold_class
fold_cp(uint32_t cp, char out[FOLD_MAX], size_t *olen)
{
	const struct fold_ent *e;
	enum fold_class c;

	if (cp < 0x80)
		return fold_ascii(cp, out, olen);
	*olen = 0;
	if ((e = fold_window(cp)) != NULL) {
		c = e->cls;
		if (e->len > 0) {
			memcpy(out, e->s, e->len);
			*olen = e->len;
			return c;
		}
	} else if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return FC_SEP;
	else
		c = fold_range_class(cp);
	if (c == FC_WORD || c == FC_MARK || c == FC_CJK)
		*olen = utf8_put(cp, out);
	return c;
}
