/*
 * An attachment's type, decided by its bytes (sniff.c): what a visitor or
 * a person uploads is kept only as one of the types below, whatever its
 * name or Content-Type says, and is served as that type alone.
 */
#ifndef PARLEY_SNIFF_H
#define PARLEY_SNIFF_H

#include <stddef.h>

#include "attmsg.h"

/* Bytes read from the start of a file to judge an image's or a PDF's. */
#define SNIFF_HEAD	32

/*
 * The type of the len bytes at p (a whole file: text is judged on all of
 * it), or ATTACH_NONE. Images and PDFs by their signature and the first
 * fields behind it (a PNG's IHDR, a WebP's chunk); never by a name. Why
 * not, when ATTACH_NONE: *why (static), else NULL.
 */
enum attach_type attach_sniff(const void *p, size_t len, const char **why);

#endif
