/*
 * An image's metadata taken out (strip.c): where a photo was taken (EXIF
 * GPS), its camera, its author and comments, kept in a JPEG's, a PNG's or
 * a WebP's metadata segments, dropped without decoding the image.
 */
#ifndef PARLEY_STRIP_H
#define PARLEY_STRIP_H

#include <stddef.h>
#include <stdint.h>

#include "sniff.h"

/*
 * The len bytes of image in (of type t, as attach_sniff said) copied into
 * out (room for len bytes: stripping never adds any) without their
 * metadata: a JPEG's APP1 (EXIF, XMP), APP13 (IPTC), COM and APP2
 * Multi-Picture segments, wherever they are, and what follows its EOI; a
 * PNG's tEXt, zTXt, iTXt, eXIf and tIME chunks; a WebP's EXIF and XMP
 * chunks (and their flags in its VP8X header). The image data and what
 * shows it (a JPEG's JFIF, ICC and Adobe segments, every other chunk) are
 * kept byte for byte. *outlen: the bytes written. 0; 1 when t is a type
 * kept as it is (GIF, PDF, text: out holds in); -1 when the file's
 * structure is broken (a segment or chunk past its end, a PNG without
 * IEND, a WebP without an image chunk in its RIFF): refuse it.
 */
int attach_strip(enum attach_type t, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlen);
/* 1 for the types attach_strip takes metadata out of (JPEG, PNG, WebP). */
int attach_strips(enum attach_type t);

#endif
