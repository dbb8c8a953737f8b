/*
 * An attachment's type from its bytes (sniff.h). The signatures are the
 * formats' own (PNG's 8 bytes and its first chunk, IHDR, of length 13;
 * JPEG's SOI and a marker; GIF87a/GIF89a; RIFF....WEBP and a VP8, VP8L
 * or VP8X chunk; %PDF-1. or %PDF-2.). Text is judged whole: valid UTF-8
 * (a BOM allowed), no NUL and no control but tab, newline, carriage
 * return and form feed, so a binary declared as text (an archive, an
 * executable) is refused. Nothing else is kept: an SVG, HTML or any
 * markup is kept only as plain text, which is served as text/plain with
 * nosniff and never run; a polyglot is kept as the type its first bytes
 * say and served as that alone.
 */
#include <stdint.h>
#include <string.h>

#include "sniff.h"
#include "util.h"


static int
head_is(const uint8_t *b, size_t len, size_t off, const char *sig, size_t n)
{
	return len >= off + n && memcmp(b + off, sig, n) == 0;
}

/* A PNG: its signature, then an IHDR chunk of 13 bytes. */
static int
is_png(const uint8_t *b, size_t len)
{
	return head_is(b, len, 0, "\x89PNG\r\n\x1a\n", 8) &&
	    head_is(b, len, 8, "\0\0\0\x0dIHDR", 8);
}

/* A JPEG: SOI, then a marker (FF and a byte that is neither 00 nor FF). */
static int
is_jpeg(const uint8_t *b, size_t len)
{
	return len >= 4 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff &&
	    b[3] != 0x00 && b[3] != 0xff;
}

static int
is_gif(const uint8_t *b, size_t len)
{
	return head_is(b, len, 0, "GIF87a", 6) ||
	    head_is(b, len, 0, "GIF89a", 6);
}

/* RIFF, a size, WEBP, then a VP8 chunk of one of its three kinds. */
static int
is_webp(const uint8_t *b, size_t len)
{
	return head_is(b, len, 0, "RIFF", 4) && head_is(b, len, 8, "WEBP", 4) &&
	    (head_is(b, len, 12, "VP8 ", 4) || head_is(b, len, 12, "VP8L", 4) ||
	    head_is(b, len, 12, "VP8X", 4));
}

static int
is_pdf(const uint8_t *b, size_t len)
{
	return head_is(b, len, 0, "%PDF-1.", 7) ||
	    head_is(b, len, 0, "%PDF-2.", 7);
}

/* Text: UTF-8, no NUL, no control but \t \n \r \f (what a text file holds). */
static const char *
text_why(const uint8_t *b, size_t len)
{
	size_t i;

	if (len == 0)
		return "the file is empty";
	for (i = 0; i < len; i++)
		if (b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' &&
		    b[i] != '\r' && b[i] != '\f')
			return "not a type this chat takes (images, PDF, text)";
	if (memchr(b, 0x7f, len) != NULL)
		return "not a type this chat takes (images, PDF, text)";
	if (!proto_utf8_valid(b, len))
		return "text that is not UTF-8";
	return NULL;
}

enum attach_type
attach_sniff(const void *p, size_t len, const char **why)
{
	const uint8_t *b = p;

	*why = NULL;
	if (is_png(b, len))
		return ATTACH_PNG;
	if (is_jpeg(b, len))
		return ATTACH_JPEG;
	if (is_gif(b, len))
		return ATTACH_GIF;
	if (is_webp(b, len))
		return ATTACH_WEBP;
	if (is_pdf(b, len))
		return ATTACH_PDF;
	if ((*why = text_why(b, len)) == NULL)
		return ATTACH_TEXT;
	return ATTACH_NONE;
}
