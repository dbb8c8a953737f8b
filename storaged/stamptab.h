/*
 * A table in memory of at most max entries, each named by a string key
 * and stamped with a time: a new key takes a free slot, else the slot
 * stamped longest ago (presence.c's organisations, setupcounts.c's
 * widgets). An entry is the caller's struct; its layout (a constant of
 * the caller's) says where its key and its stamp are. A zeroed table is
 * empty.
 */
#ifndef PARLEY_STAMPTAB_H
#define PARLEY_STAMPTAB_H

#include <stddef.h>
#include <stdint.h>

struct stamptab_layout {
	size_t max;		/* entries at most */
	size_t size;		/* an entry's bytes */
	size_t key, keysz;	/* its key's offset (NUL-ended string), size */
	size_t stamp;		/* its uint64_t stamp's offset */
};

/* The layout of max entries of type T, keyed by member K, stamped by S. */
#define STAMPTAB_LAYOUT(T, K, S, max)					\
	{ (max), sizeof(T), offsetof(T, K), sizeof(((T *)0)->K),	\
	    offsetof(T, S) }

struct stamptab {
	void *ents;		/* max entries once used, else NULL */
	size_t n;		/* entries used */
};

/* key's entry in t (of layout l), or NULL. */
void *stamptab_find(const struct stamptab *t, const struct stamptab_layout *l,
    const char *key);
/*
 * key's entry: found, else a new one (all zero but its key, which is cut
 * to fit), taking the place of the one stamped longest ago when the
 * table is full. NULL out of memory (logged by the caller).
 */
void *stamptab_take(struct stamptab *t, const struct stamptab_layout *l,
    const char *key);
/* Every entry let go of; the table is empty. */
void stamptab_free(struct stamptab *);

#endif
