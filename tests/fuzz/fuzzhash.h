/*
 * What fuzz targets that compare two readings of one input share: an
 * FNV-1a hash of what each saw, so the two are compared without keeping
 * every event (sse, answer).
 */
#ifndef PARLEY_FUZZHASH_H
#define PARLEY_FUZZHASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV_START	0xcbf29ce484222325ULL

/* h with len bytes of p folded in. */
static inline uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif
