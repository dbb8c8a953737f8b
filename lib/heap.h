/*
 * A binary min-heap of items that keep their own place in it, so that an
 * item is moved or taken out by pointer: the loop's timers (loop.c) and
 * storaged's rate windows (ratelimit.c), each of which had a copy. An
 * item embeds a struct heap_node: its key (a time in ms, soonest at the
 * top) and its place.
 */
#ifndef PARLEY_HEAP_H
#define PARLEY_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
	uint64_t at;		/* the key: the soonest is the top */
	size_t slot;		/* place in its heap + 1; 0: in none */
};

struct heap {
	struct heap_node **v;
	size_t len, cap;
};

/* The item of type T whose member M is the node n. */
#define HEAP_ITEM(n, T, M)	((T *)(void *)((char *)(n) - offsetof(T, M)))

/*
 * Room for one more item, the heap at most max long: 0, or -1 when it
 * holds max already or memory ran out (the heap unchanged).
 */
int heap_reserve(struct heap *, size_t max);
/* Adds n (not in a heap, its at set); heap_reserve made room. */
void heap_push(struct heap *, struct heap_node *n);
/* Puts n (in h) back in order after its at changed. */
void heap_fix(struct heap *, struct heap_node *n);
/* Takes n out of h; nothing when it is in none. */
void heap_remove(struct heap *, struct heap_node *n);
/* The item with the soonest at, or NULL when h is empty. */
struct heap_node *heap_top(const struct heap *);
/* Frees the array (not the items); h is empty after. */
void heap_free(struct heap *);

#endif
