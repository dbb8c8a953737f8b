/*
 * Metadata out of an image (strip.h), by walking its container, never
 * decoding its image data: a JPEG's segments, and its scans' data up to
 * the next marker (so a progressive JPEG's later segments are walked
 * too) until EOI (what follows, such as a second image with its own
 * EXIF, is dropped); a PNG's chunks (length, type, data, CRC); a WebP's
 * RIFF chunks. Each segment or chunk is either
 * copied whole or dropped whole, so what is kept is byte for byte the
 * file's. Written here rather than taken from a library: the libraries
 * that rewrite images (libvips, ImageMagick) decode and re-encode them,
 * a far larger surface for hostile files than this walk of lengths, and
 * libexif reads EXIF without taking it out. Fuzzed (tests/fuzz/strip).
 */
#include <string.h>

#include "strip.h"
#include "util.h"

/* n bytes at p appended to out at *o. */
static void
put(uint8_t *out, size_t *o, const uint8_t *p, size_t n)
{
	memcpy(out + *o, p, n);
	*o += n;
}

/*
 * A JPEG segment (marker m, its n bytes after the length at p) that is
 * metadata: APP1, APP13, COM, and APP2's Multi-Picture index (which
 * names the images after EOI, dropped); APP2's ICC profile is kept.
 */
static int
jpeg_meta(uint8_t m, const uint8_t *p, size_t n)
{
	return m == 0xe1 || m == 0xed || m == 0xfe ||
	    (m == 0xe2 && n >= 4 && memcmp(p, "MPF", 4) == 0);
}

/*
 * The end of the entropy-coded data from in + i: the first FF that starts
 * a marker (not a stuffed FF 00, not a restart marker FF D0-D7), or len.
 */
static size_t
jpeg_scan_end(const uint8_t *in, size_t len, size_t i)
{
	const uint8_t *ff;

	while (i < len && (ff = memchr(in + i, 0xff, len - i)) != NULL) {
		i = (size_t)(ff - in);
		if (i + 1 == len)
			return len;	/* cut after an FF: what it has */
		if (in[i + 1] != 0x00 && (in[i + 1] < 0xd0 || in[i + 1] > 0xd7))
			return i;
		i += 2;
	}
	return len;
}

static int
strip_jpeg(const uint8_t *in, size_t len, uint8_t *out, size_t *o)
{
	size_t i = 2, seg;
	uint8_t m;

	if (len < 2 || in[0] != 0xff || in[1] != 0xd8)
		return -1;
	put(out, o, in, 2);
	for (;;) {
		/* Fill bytes (FF FF ...) before a marker are allowed. */
		while (i + 1 < len && in[i] == 0xff && in[i + 1] == 0xff)
			i++;
		if (i + 2 > len || in[i] != 0xff)
			return -1;
		m = in[i + 1];
		/* FF 00 is a scan's stuffed byte, never a marker before it. */
		if (m == 0x00)
			return -1;
		if (m == 0xd9) {		/* EOI: nothing after it */
			put(out, o, in + i, 2);
			return 0;
		}
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			/* Standalone markers: no length. */
			put(out, o, in + i, 2);
			i += 2;
			continue;
		}
		if (i + 4 > len)
			return -1;
		seg = (size_t)in[i + 2] << 8 | in[i + 3];
		if (seg < 2 || i + 2 + seg > len)
			return -1;
		if (m == 0xda) {
			/*
			 * SOS: its header and its data, whole; then the
			 * segments go on (a progressive JPEG's next tables and
			 * scans, metadata between them dropped) up to EOI. A
			 * file cut in its scan keeps what it has.
			 */
			seg = jpeg_scan_end(in, len, i + 2 + seg) - i;
			put(out, o, in + i, seg);
			if ((i += seg) == len)
				return 0;
			continue;
		}
		if (!jpeg_meta(m, in + i + 4, seg - 2))
			put(out, o, in + i, 2 + seg);
		i += 2 + seg;
	}
}

/* A PNG chunk that is metadata: text, EXIF, the modification time. */
static int
png_meta(const uint8_t *type)
{
	static const char *const meta[] = {
		"tEXt", "zTXt", "iTXt", "eXIf", "tIME",
	};
	size_t i;

	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		if (memcmp(type, meta[i], 4) == 0)
			return 1;
	return 0;
}

static int
strip_png(const uint8_t *in, size_t len, uint8_t *out, size_t *o)
{
	size_t i = 8, n;

	if (len < 8)
		return -1;
	put(out, o, in, 8);
	while (i < len) {
		if (len - i < 12)
			return -1;
		n = proto_get_be32(in + i);
		if (n > len - i - 12)
			return -1;
		if (!png_meta(in + i + 4))
			put(out, o, in + i, 12 + n);
		if (memcmp(in + i + 4, "IEND", 4) == 0)
			return 0;	/* anything after IEND is dropped */
		i += 12 + n;
	}
	return -1;			/* no IEND */
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#define VP8X_EXIF	0x08
#define VP8X_XMP	0x04

static int
strip_webp(const uint8_t *in, size_t len, uint8_t *out, size_t *o)
{
	size_t i = 12, n, padded, vp8x = 0;
	uint32_t riff;
	int image = 0;

	if (len < 12 || memcmp(in, "RIFF", 4) != 0 ||
	    memcmp(in + 8, "WEBP", 4) != 0)
		return -1;
	riff = le32(in + 4);
	if (riff < 4 || riff > len - 8)
		return -1;
	len = (size_t)riff + 8;		/* bytes past the RIFF are dropped */
	put(out, o, in, 12);
	while (i < len) {
		if (len - i < 8)
			return -1;
		n = le32(in + i + 4);
		padded = n + (n & 1);
		if (n > len - i - 8 || padded > len - i - 8)
			return -1;
		if (memcmp(in + i, "EXIF", 4) != 0 &&
		    memcmp(in + i, "XMP ", 4) != 0) {
			if (memcmp(in + i, "VP8X", 4) == 0 && n >= 1 &&
			    vp8x == 0)
				vp8x = *o + 8;	/* its flags' byte in out */
			image |= memcmp(in + i, "VP8", 3) == 0;
			put(out, o, in + i, 8 + padded);
		}
		i += 8 + padded;
	}
	if (!image)
		return -1;		/* no image in the RIFF */
	if (vp8x != 0)
		out[vp8x] &= (uint8_t)~(VP8X_EXIF | VP8X_XMP);
	put_le32(out + 4, (uint32_t)(*o - 8));
	return 0;
}

int
attach_strip(enum attach_type t, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlen)
{
	int rc;

	*outlen = 0;
	switch (t) {
	case ATTACH_JPEG:
		rc = strip_jpeg(in, len, out, outlen);
		break;
	case ATTACH_PNG:
		rc = strip_png(in, len, out, outlen);
		break;
	case ATTACH_WEBP:
		rc = strip_webp(in, len, out, outlen);
		break;
	default:
		memcpy(out, in, len);
		*outlen = len;
		return 1;
	}
	if (rc < 0)
		*outlen = 0;
	return rc;
}

int
attach_strips(enum attach_type t)
{
	return t == ATTACH_JPEG || t == ATTACH_PNG || t == ATTACH_WEBP;
}
