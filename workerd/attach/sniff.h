/*
 * An attachment's type, decided by its bytes (sniff.c): what a visitor or
 * a person uploads is kept only as one of the types below, whatever its
 * name or Content-Type says, and is served as that type alone.
 */
#ifndef PARLEY_SNIFF_H
#define PARLEY_SNIFF_H

#include <stddef.h>

enum attach_type {
	ATTACH_NONE = 0,	/* none of the kept types: refused */
	ATTACH_PNG,
	ATTACH_JPEG,
	ATTACH_GIF,
	ATTACH_WEBP,
	ATTACH_PDF,
	ATTACH_TEXT,		/* UTF-8 text, no NUL, no control but tab,
				   newline, carriage return, form feed */
	ATTACH_NTYPES
};

/* Bytes read from the start of a file to judge an image's or a PDF's. */
#define SNIFF_HEAD	32

/*
 * The type of the len bytes at p (a whole file: text is judged on all of
 * it), or ATTACH_NONE. Images and PDFs by their signature and the first
 * fields behind it (a PNG's IHDR, a WebP's chunk); never by a name. Why
 * not, when ATTACH_NONE: *why (static), else NULL.
 */
enum attach_type attach_sniff(const void *p, size_t len, const char **why);
/* Its MIME type ("image/png", "text/plain; charset=utf-8"), or NULL. */
const char *attach_mime(enum attach_type);
/* 1 for the images a browser shows inline (PNG, JPEG, GIF, WebP). */
int attach_is_image(enum attach_type);
/* The name owners set it by ("png", "pdf", "text"), or NULL. */
const char *attach_name(enum attach_type);

#endif
