/*
 * A Content-Type header read, as the fetcher's crawl (crawl.c) and the
 * dashboard's page check (admin/pagecheck.c) read a site's answer: its
 * media type, and its charset parameter. No I/O, no allocation; the
 * header is any site's.
 */
#ifndef PARLEY_FETCH_MEDIATYPE_H
#define PARLEY_FETCH_MEDIATYPE_H

#include <stddef.h>

/*
 * 1 when ctype's media type is type, in any case: all of
 * it, up to a parameter's ';', white space or the end; else 0.
 */
int mediatype_is(const char *ctype, const char *type);
/*
 * ctype's charset parameter as it is, quotes and all: the first
 * parameter named charset, in any case, after a ';' outside a quoted
 * value and white space, its value up to a ';', space or tab. Its length
 * (0 for none), *value pointing at it inside ctype.
 */
size_t mediatype_charset(const char *ctype, const char **value);

#endif
