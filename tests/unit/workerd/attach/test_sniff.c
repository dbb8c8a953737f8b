/*
 * An attachment's type from its bytes (workerd/attach/sniff.c): each kept
 * type by its signature, whatever a name would say; the hostile files the
 * issue names kept as nothing that runs: an HTML page named .png is text,
 * an SVG with a script is text, a PNG with HTML after its header is a PNG
 * (served as image/png alone), a zip declared as text is refused; a
 * signature without what follows it is not that type; text with a NUL,
 * a control or invalid UTF-8, and an empty file, are refused with a
 * reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "attmsg.h"
#include "sniff.h"

#define S(lit)	(lit), sizeof(lit) - 1

static enum attach_type
sniff(const char *p, size_t len, const char **why)
{
	return attach_sniff(p, len, why);
}

static void
test_signatures(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(sniff(S("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10"),
	    &why), ATTACH_PNG);
	assert_null(why);
	assert_int_equal(sniff(S("\xff\xd8\xff\xe1\0\x10" "Exif\0\0"), &why),
	    ATTACH_JPEG);
	assert_int_equal(sniff(S("GIF89a\x01\0\x01\0"), &why), ATTACH_GIF);
	assert_int_equal(sniff(S("GIF87a\x01\0\x01\0"), &why), ATTACH_GIF);
	assert_int_equal(sniff(S("RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0"), &why),
	    ATTACH_WEBP);
	assert_int_equal(sniff(S("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), &why),
	    ATTACH_PDF);
	assert_int_equal(sniff(S("\xef\xbb\xbfOrder 4411: the fork is bent.\r\n"),
	    &why), ATTACH_TEXT);
	assert_string_equal(attach_mime(ATTACH_PNG), "image/png");
	assert_string_equal(attach_mime(ATTACH_TEXT), "text/plain; charset=utf-8");
	assert_null(attach_mime(ATTACH_NONE));
	assert_true(attach_is_image(ATTACH_WEBP));
	assert_false(attach_is_image(ATTACH_PDF));
	assert_string_equal(attach_name(ATTACH_JPEG), "jpeg");
}

static void
test_hostile(void **state)
{
	const char *why;

	(void)state;
	/* An HTML page named photo.png: text, served as text/plain. */
	assert_int_equal(sniff(S("<html><script>alert(document.cookie)</script>"),
	    &why), ATTACH_TEXT);
	/* An SVG with a script: text, never image/svg+xml. */
	assert_int_equal(sniff(S("<svg xmlns=\"http://www.w3.org/2000/svg\">"
	    "<script>alert(1)</script></svg>"), &why), ATTACH_TEXT);
	/* A polyglot: a PNG's header and HTML after: a PNG, served as one. */
	assert_int_equal(sniff(S("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"
	    "<html><script>alert(1)</script>"), &why), ATTACH_PNG);
	/* A zip (a bomb or not) declared as text: refused. */
	assert_int_equal(sniff(S("PK\x03\x04\x14\0\0\0\x08\0"), &why),
	    ATTACH_NONE);
	assert_string_equal(why, "not a type this chat takes (images, PDF, text)");
	/* A gzip stream: refused. */
	assert_int_equal(sniff(S("\x1f\x8b\x08\0\0\0\0\0"), &why), ATTACH_NONE);
	/* An ELF executable: refused. */
	assert_int_equal(sniff(S("\x7f" "ELF\x02\x01\x01"), &why), ATTACH_NONE);
}

static void
test_near_misses(void **state)
{
	const char *why;

	(void)state;
	/* A PNG signature without its IHDR chunk. */
	assert_int_equal(sniff(S("\x89PNG\r\n\x1a\n\0\0\0\x0dIDAT"), &why),
	    ATTACH_NONE);
	/* RIFF but a WAV; %PDF- without a version. */
	assert_int_equal(sniff(S("RIFF\x24\0\0\0WAVEfmt "), &why), ATTACH_NONE);
	assert_int_equal(sniff(S("%PDF-x"), &why), ATTACH_TEXT);
	/* Short: no signature fits. */
	assert_int_equal(sniff(S("\xff\xd8"), &why), ATTACH_NONE);
	/* Text with a NUL, a control, invalid UTF-8; an empty file. */
	assert_int_equal(sniff(S("hello\0world"), &why), ATTACH_NONE);
	assert_int_equal(sniff(S("bell\x07"), &why), ATTACH_NONE);
	assert_int_equal(sniff(S("caf\xe9"), &why), ATTACH_NONE);
	assert_string_equal(why, "text that is not UTF-8");
	assert_int_equal(sniff("", 0, &why), ATTACH_NONE);
	assert_string_equal(why, "the file is empty");
}

/*
 * A text file's name of head, n "é" and tail, too long for ".txt": its
 * first keep bytes kept, then ".txt".
 */
static void
name_cut(const char *head, size_t n, const char *tail, size_t keep)
{
	char out[ST_ATT_NAME_MAX + 1], name[ST_ATT_NAME_MAX + 1];
	size_t i;

	strlcpy(name, head, sizeof(name));
	for (i = 0; i < n; i++)
		strlcat(name, "\xc3\xa9", sizeof(name));
	strlcat(name, tail, sizeof(name));
	attach_name_typed(name, ATTACH_TEXT, out, sizeof(out));
	assert_int_equal(strlen(out), keep + 4);
	assert_memory_equal(out, name, keep);
	assert_string_equal(out + keep, ".txt");
}

/*
 * The name a sniffed file is shown and saved under: its own when its
 * extension is one of the type's (any case), else the type's added, cut
 * to fit at a character's start.
 */
static void
test_name_typed(void **state)
{
	static const struct {
		const char *name;
		enum attach_type t;
		const char *want;
	} cases[] = {
		{ "bent fork.png", ATTACH_PNG, "bent fork.png" },
		{ "photo.PNG", ATTACH_PNG, "photo.PNG" },
		{ "photo.png", ATTACH_JPEG, "photo.png.jpg" },
		{ "photo.JPEG", ATTACH_JPEG, "photo.JPEG" },
		{ "invoice.hta", ATTACH_TEXT, "invoice.hta.txt" },
		{ "page.html", ATTACH_TEXT, "page.html.txt" },
		{ "data.csv", ATTACH_TEXT, "data.csv" },
		{ "README", ATTACH_TEXT, "README.txt" },
		{ "report.", ATTACH_PDF, "report..pdf" },
		{ "report.pdf.exe", ATTACH_PDF, "report.pdf.exe.pdf" },
		{ "a.bat", ATTACH_NONE, "a.bat" },
	};
	char out[ST_ATT_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		attach_name_typed(cases[i].name, cases[i].t, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	/* 99 two-byte characters and "x.sh": 98 of them kept, and ".txt". */
	name_cut("", 99, "x.sh", 196);
	/* "a", 98 of them and ".sh": the cut falls inside one, before it. */
	name_cut("a", 98, ".sh", 195);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_name_typed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
