/*
 * An image's metadata taken out (workerd/attach/strip.c): a JPEG's EXIF
 * (with a GPS position), XMP and comment go and its JFIF, tables and scan
 * stay byte for byte; a PNG's text, EXIF and time chunks go and IHDR,
 * IDAT and IEND stay (bytes after IEND go too); a WebP's EXIF and XMP
 * chunks go, its VP8X flags say so and its RIFF size is the new one (an
 * odd chunk keeps its pad byte), one without an image chunk in its RIFF
 * is refused; GIF, PDF and text are kept as they are;
 * a segment or chunk past the file's end, a JPEG's FF 00 where a marker
 * must be, or a PNG without IEND, is refused; stripping twice changes
 * nothing more. A JPEG's metadata between its scans (progressive) goes,
 * and so does what follows its EOI (a second image with its own EXIF,
 * and the Multi-Picture index naming it), its ICC profile stays; its
 * scan's data (stuffed bytes, restart markers) is kept whole, and a file
 * cut in its scan keeps what it has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strip.h"

#define S(lit)	(const uint8_t *)(lit), sizeof(lit) - 1

/* in stripped as t: the output in out (room: len), its length. */
static size_t
strip(enum attach_type t, const uint8_t *in, size_t len, uint8_t *out,
    int want)
{
	size_t n;

	assert_int_equal(attach_strip(t, in, len, out, &n), want);
	assert_true(n <= len);
	return n;
}

/* in stripped as t is want, byte for byte. */
static void
stripped_as(enum attach_type t, const uint8_t *in, size_t len,
    const uint8_t *want, size_t wlen)
{
	uint8_t out[512];

	assert_true(len <= sizeof(out));
	assert_int_equal(strip(t, in, len, out, 0), wlen);
	assert_memory_equal(out, want, wlen);
}

static int
has(const uint8_t *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

#define JPEG_HEAD	"\xff\xd8" \
	"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
#define JPEG_EXIF	"\xff\xe1\x00\x11" "Exif\x00\x00" "GPS 59.9N"
#define JPEG_COM	"\xff\xfe\x00\x07" "hello"
#define JPEG_REST	"\xff\xdb\x00\x04\x00\x01" \
	"\xff\xda\x00\x04\x01\x02" "\x11\x22\xff\x00\x33" "\xff\xd9"

static void
test_jpeg(void **state)
{
	static const char in[] = JPEG_HEAD JPEG_EXIF JPEG_COM JPEG_REST;
	static const char want[] = JPEG_HEAD JPEG_REST;
	uint8_t out[256], again[256];
	size_t n;

	(void)state;
	n = strip(ATTACH_JPEG, S(in), out, 0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	assert_false(has(out, n, "Exif") || has(out, n, "GPS") ||
	    has(out, n, "hello"));
	assert_int_equal(strip(ATTACH_JPEG, out, n, again, 0), n);
	assert_memory_equal(again, out, n);
	/* A segment longer than the file. */
	strip(ATTACH_JPEG, S("\xff\xd8\xff\xe1\x40\x00" "Exif"), out, -1);
	/* No marker where one must be. */
	strip(ATTACH_JPEG, S("\xff\xd8\x00\x00"), out, -1);
	/*
	 * FF 00 (a scan's stuffed byte) where a marker must be, behind a
	 * comment: refused, not kept as a segment (the comment taken out,
	 * the file would start FF D8 FF 00: no longer a JPEG).
	 */
	strip(ATTACH_JPEG, S("\xff\xd8" "\xff\xfe\x00\x03" "x" "\xff\x00\x00\x04"
	    "ab" "\xff\xd9"), out, -1);
}

/* A scan's header and data: a stuffed FF 00 and a restart marker in it. */
#define JPEG_SCAN	"\xff\xda\x00\x04\x01\x02" "\x11\xff\x00\x22\xff\xd3\x33"
#define JPEG_DHT	"\xff\xc4\x00\x04\x00\x01"
#define JPEG_ICC	"\xff\xe2\x00\x0f" "ICC_PROFILE\x00\x01"
#define JPEG_MPF	"\xff\xe2\x00\x0a" "MPF\x00" "II*\x00"

static void
test_jpeg_after_scan(void **state)
{
	/* Progressive: tables, EXIF and a comment between two scans. */
	static const char prog[] = JPEG_HEAD JPEG_ICC JPEG_MPF JPEG_SCAN
	    JPEG_DHT JPEG_EXIF JPEG_COM JPEG_SCAN "\xff\xd9";
	static const char prog_want[] = JPEG_HEAD JPEG_ICC JPEG_SCAN JPEG_DHT
	    JPEG_SCAN "\xff\xd9";
	/* A second image after EOI, with its own EXIF (a preview, a gain map). */
	static const char two[] = JPEG_HEAD JPEG_SCAN "\xff\xd9"
	    JPEG_HEAD JPEG_EXIF JPEG_SCAN "\xff\xd9";
	static const char two_want[] = JPEG_HEAD JPEG_SCAN "\xff\xd9";
	/* Cut in its scan (no EOI), even after an FF: what it has. */
	static const char cut[] = JPEG_HEAD JPEG_EXIF JPEG_SCAN "\x44\xff";
	static const char cut_want[] = JPEG_HEAD JPEG_SCAN "\x44\xff";
	uint8_t out[256];

	(void)state;
	stripped_as(ATTACH_JPEG, S(prog), S(prog_want));
	stripped_as(ATTACH_JPEG, S(two), S(two_want));
	stripped_as(ATTACH_JPEG, S(cut), S(cut_want));
	/* After a scan, a segment past the file's end is refused too. */
	strip(ATTACH_JPEG, S(JPEG_HEAD JPEG_SCAN "\xff\xe1\x40\x00" "Exif"),
	    out, -1);
}

#define PNG_SIG		"\x89PNG\r\n\x1a\n"
#define PNG_IHDR	"\x00\x00\x00\x0dIHDR" "\x00\x00\x00\x01\x00\x00\x00\x01" \
	"\x08\x02\x00\x00\x00" "CRC1"
#define PNG_TEXT	"\x00\x00\x00\x09tEXt" "Author\x00me" "CRC2"
#define PNG_EXIF	"\x00\x00\x00\x04" "eXIf" "GPS!" "CRC3"
#define PNG_TIME	"\x00\x00\x00\x07tIME" "\x07\xea\x0b\x1a\x0c\x00\x00" "CRC4"
#define PNG_IDAT	"\x00\x00\x00\x03IDAT" "abc" "CRC5"
#define PNG_IEND	"\x00\x00\x00\x00IEND" "CRC6"

static void
test_png(void **state)
{
	static const char in[] = PNG_SIG PNG_IHDR PNG_TEXT PNG_EXIF PNG_TIME
	    PNG_IDAT PNG_IEND "trailing";
	static const char want[] = PNG_SIG PNG_IHDR PNG_IDAT PNG_IEND;
	uint8_t out[256];

	(void)state;
	stripped_as(ATTACH_PNG, S(in), S(want));
	strip(ATTACH_PNG, S(PNG_SIG PNG_IHDR PNG_IDAT), out, -1);
	strip(ATTACH_PNG, S(PNG_SIG "\x00\x10\x00\x00IDAT"), out, -1);
}

#define WEBP_VP8X	"VP8X\x0a\x00\x00\x00" "\x0c\x00\x00\x00" \
	"\x00\x00\x00\x00\x00\x00"
#define WEBP_IMG	"VP8L\x03\x00\x00\x00" "img" "\x00"
#define WEBP_EXIF	"EXIF\x04\x00\x00\x00" "GPS!"
#define WEBP_XMP	"XMP \x05\x00\x00\x00" "<x/>!" "\x00"

static void
test_webp(void **state)
{
	static const char in[] = "RIFF\x3c\x00\x00\x00WEBP" WEBP_VP8X WEBP_IMG
	    WEBP_EXIF WEBP_XMP;
	uint8_t out[256];
	size_t n;

	(void)state;
	assert_int_equal(sizeof(in) - 1, 8 + 0x3c);
	n = strip(ATTACH_WEBP, S(in), out, 0);
	assert_int_equal(n, 12 + 18 + 12);
	assert_memory_equal(out, "RIFF\x22\x00\x00\x00WEBP", 12);
	assert_int_equal(out[12 + 8], 0x00);	/* EXIF and XMP flags off */
	assert_memory_equal(out + 30, WEBP_IMG, 12);
	assert_false(has(out, n, "GPS") || has(out, n, "<x/>"));
	/* A RIFF size past the file; a chunk past the RIFF. */
	strip(ATTACH_WEBP, S("RIFF\xff\x00\x00\x00WEBPVP8L"), out, -1);
	strip(ATTACH_WEBP, S("RIFF\x0c\x00\x00\x00WEBPVP8L\x09\x00\x00\x00"),
	    out, -1);
	/* No image chunk within the RIFF (what follows it is not the file's). */
	strip(ATTACH_WEBP, S("RIFF\x04\x00\x00\x00WEBPVP8L\x01\x00\x00\x00x\x00"),
	    out, -1);
}

static void
test_kept(void **state)
{
	uint8_t out[64];

	(void)state;
	assert_int_equal(strip(ATTACH_GIF, S("GIF89a\x01\x00"), out, 1), 8);
	assert_memory_equal(out, "GIF89a\x01\x00", 8);
	assert_int_equal(strip(ATTACH_PDF, S("%PDF-1.7\n"), out, 1), 9);
	assert_int_equal(strip(ATTACH_TEXT, S("hi"), out, 1), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jpeg),
		cmocka_unit_test(test_jpeg_after_scan),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_webp),
		cmocka_unit_test(test_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
