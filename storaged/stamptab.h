/*
 * A table in memory of at most max entries, each named by a string key
 * and stamped with a time: a new key takes a free slot, else the slot
 * stamped longest ago (presence.c's organisations, setupcounts.c's
 * widgets). An entry is the caller's struct; the table knows where its
 * key and its stamp are.
 */
#ifndef PARLEY_STAMPTAB_H
#define PARLEY_STAMPTAB_H

#include <stddef.h>
#include <stdint.h>

struct stamptab {
	void *ents;		/* max entries once used, else NULL */
	size_t n;		/* entries used */
	size_t max;		/* entries at most */
	size_t size;		/* an entry's bytes */
	size_t key, keysz;	/* its key's offset (a NUL-ended string), size */
	size_t stamp;		/* its uint64_t stamp's offset */
};

/* The table of max entries of type T, keyed by member K, stamped by S. */
#define STAMPTAB_INIT(T, K, S, max)					\
	{ NULL, 0, (max), sizeof(T), offsetof(T, K),			\
	    sizeof(((T *)0)->K), offsetof(T, S) }

/* key's entry, or NULL. */
void *stamptab_find(const struct stamptab *, const char *key);
/*
 * key's entry: found, else a new one (all zero but its key, which is cut
 * to fit), taking the place of the one stamped longest ago when the
 * table is full. NULL out of memory (logged by the caller).
 */
void *stamptab_take(struct stamptab *, const char *key);
/* Every entry let go of; the table is empty and as initialised. */
void stamptab_free(struct stamptab *);

#endif
