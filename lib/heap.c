/*
 * The binary min-heap of heap.h: an array of node pointers, each node
 * told its index (+ 1) whenever it moves.
 */
#include <stdlib.h>

#include "heap.h"
#include "util.h"

#define HEAP_FIRST	64	/* the array's first capacity */

static void
put(struct heap *h, size_t i, struct heap_node *n)
{
	h->v[i] = n;
	n->slot = i + 1;
}

/* Moves the node at i up while it comes before its parent. */
static void
up(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];

	while (i > 0 && n->at < h->v[(i - 1) / 2]->at) {
		put(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(h, i, n);
}

/* Moves the node at i down while a child comes before it. */
static void
down(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];
	size_t c;

	while ((c = 2 * i + 1) < h->len) {
		if (c + 1 < h->len && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (h->v[c]->at >= n->at)
			break;
		put(h, i, h->v[c]);
		i = c;
	}
	put(h, i, n);
}

int
heap_reserve(struct heap *h, size_t max)
{
	struct heap_node **v;

	if ((v = proto_grow(h->v, &h->cap, h->len, sizeof(*v), HEAP_FIRST,
	    max)) == NULL)
		return -1;
	h->v = v;
	return 0;
}

void
heap_push(struct heap *h, struct heap_node *n)
{
	put(h, h->len++, n);
	up(h, h->len - 1);
}

void
heap_fix(struct heap *h, struct heap_node *n)
{
	up(h, n->slot - 1);
	down(h, n->slot - 1);
}

void
heap_remove(struct heap *h, struct heap_node *n)
{
	struct heap_node *last;

	if (n->slot == 0)
		return;
	last = h->v[--h->len];
	if (last != n) {
		put(h, n->slot - 1, last);
		heap_fix(h, last);
	}
	n->slot = 0;
}

struct heap_node *
heap_top(const struct heap *h)
{
	return h->len > 0 ? h->v[0] : NULL;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->len = h->cap = 0;
}
