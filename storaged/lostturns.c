/*
 * Which model turns are open, for a worker lost mid-reply (lostturns.h).
 *
 * A worker stores the visitor's message (the begin), calls the model,
 * then stores the reply. Killed between the two, it stored nothing more,
 * and the visitor's widget, on another worker, showed the question
 * unanswered and nothing else. storaged sees each connection's begins
 * and replies: what a connection has open when it closes, it keeps here
 * a while (a worker whose connection only dropped connects again and
 * names the turns it still has, ST_TURNS_HELD), then ends as a worker
 * ends a reply cut off (ST_TURN_LOST, server.c).
 *
 * A worker may stream thousands of replies at once, and each begin and
 * reply looks its turn up: the turns are kept in a tree by conversation
 * (a list scanned and shifted cost storaged a list's length a turn). The
 * lost ones are also queued by due time: all are left with one delay, so
 * the queue's order is the order they were left in.
 */
#include <stdlib.h>
#include <string.h>

#include "lostturns.h"

static int
turn_cmp(const struct turn_node *a, const struct turn_node *b)
{
	int c = strcmp(a->t.conv, b->t.conv);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * RB_GENERATE_STATIC, spelled out: its __unused is left undefined by
 * libbsd (a struct member of Linux's headers has that name).
 */
RB_GENERATE_INTERNAL(turn_tree, turn_node, by_conv, turn_cmp,
    __attribute__((unused)) static)

static struct turn_tree lost = RB_INITIALIZER(&lost);
static TAILQ_HEAD(, turn_node) lost_q = TAILQ_HEAD_INITIALIZER(lost_q);
static size_t nlost;
static uint64_t lost_seq;	/* the last lost turn's seq */

/*
 * The first node of conv in tree (seq 0 or the lowest), or NULL: the
 * tree walked with conv itself, as RB_NFIND would with a key made of it
 * (a begin and a reply each look once: the copy was half their cost).
 */
static struct turn_node *
conv_first(struct turn_tree *tree, const char *conv)
{
	struct turn_node *n = RB_ROOT(tree), *first = NULL;
	int c;

	while (n != NULL) {
		if ((c = strcmp(conv, n->t.conv)) == 0)
			first = n;	/* a lower seq may be left of it */
		n = c <= 0 ? RB_LEFT(n, by_conv) : RB_RIGHT(n, by_conv);
	}
	return first;
}

/* An id (ST_ID_HEX digits, or fewer: cut) into dst. */
static void
id_copy(char dst[ST_ID_HEX + 1], const char *id)
{
	size_t n = strnlen(id, ST_ID_HEX);

	memcpy(dst, id, n);
	dst[n] = '\0';
}

/* Whether n is the turn a reply to msg ends ("": the one open). */
static int
turn_answered(const struct turn_node *n, const char *msg)
{
	return msg[0] == '\0' || strncmp(n->t.msg, msg, ST_ID_HEX) == 0;
}

int
turnset_note(struct turnset *s, int begun, const char *conv,
    const char *msg)
{
	struct turn_node *n = conv_first(&s->tree, conv);

	if (!begun) {
		if (n != NULL && turn_answered(n, msg)) {
			RB_REMOVE(turn_tree, &s->tree, n);
			free(n);
			s->n--;
		}
		return 0;
	}
	if (n == NULL) {
		if (s->n == TURNS_OPEN_MAX || (n = malloc(sizeof(*n))) == NULL)
			return -1;
		id_copy(n->t.conv, conv);
		n->t.due = 0;
		n->t.restored = 0;
		n->seq = 0;
		RB_INSERT(turn_tree, &s->tree, n);
		s->n++;
	}
	id_copy(n->t.msg, msg);	/* a newer turn's */
	return 0;
}

const struct turn_ent *
turnset_find(struct turnset *s, const char *conv)
{
	struct turn_node *n = conv_first(&s->tree, conv);

	return n != NULL ? &n->t : NULL;
}

void
turnset_free(struct turnset *s)
{
	struct turn_node *n, *next;

	RB_FOREACH_SAFE(n, turn_tree, &s->tree, next) {
		RB_REMOVE(turn_tree, &s->tree, n);
		free(n);
	}
	s->n = 0;
}

/* Keeps n (the caller's) among the lost, due at due; -1 when full. */
static int
lost_keep(struct turn_node *n, long long due)
{
	if (nlost == TURNS_LOST_MAX)
		return -1;
	n->t.due = due;
	n->seq = ++lost_seq;
	RB_INSERT(turn_tree, &lost, n);
	TAILQ_INSERT_TAIL(&lost_q, n, by_due);
	nlost++;
	return 0;
}

static void
lost_drop(struct turn_node *n)
{
	RB_REMOVE(turn_tree, &lost, n);
	TAILQ_REMOVE(&lost_q, n, by_due);
	nlost--;
	free(n);
}

size_t
lost_add(const struct turn_ent *v, size_t n, long long due)
{
	struct turn_node *t;
	size_t i, dropped = 0;

	/*
	 * Not looked up among the lost: a turn two connections left is
	 * ended twice, the second time finding it answered.
	 */
	for (i = 0; i < n; i++) {
		if ((t = malloc(sizeof(*t))) == NULL) {
			dropped++;
			continue;
		}
		t->t = v[i];
		if (lost_keep(t, due) < 0) {
			free(t);
			dropped++;
		}
	}
	return dropped;
}

size_t
lost_take(struct turnset *s, long long due)
{
	struct turn_node *n, *next;
	size_t dropped = 0;

	RB_FOREACH_SAFE(n, turn_tree, &s->tree, next) {
		RB_REMOVE(turn_tree, &s->tree, n);
		if (lost_keep(n, due) < 0) {
			free(n);
			dropped++;
		}
	}
	s->n = 0;
	return dropped;
}

int
lost_leave(struct turnset *s, const char *conv, const char *msg,
    long long due)
{
	struct turn_node *n = conv_first(&s->tree, conv);

	if (n == NULL || !turn_answered(n, msg))
		return 0;
	RB_REMOVE(turn_tree, &s->tree, n);
	s->n--;
	if (lost_keep(n, due) < 0) {
		free(n);
		return -1;
	}
	return 1;
}

int
lost_claim(struct turnset *to, const char *conv, const char *msg)
{
	struct turn_node *n;
	int was = 0;

	(void)turnset_note(to, 1, conv, msg);
	while ((n = conv_first(&lost, conv)) != NULL) {
		lost_drop(n);
		was = 1;
	}
	return was;
}

int
lost_has(const char *conv, const char *msg)
{
	struct turn_node *n;

	for (n = conv_first(&lost, conv); n != NULL &&
	    strcmp(n->t.conv, conv) == 0; n = RB_NEXT(turn_tree, &lost, n))
		if (strcmp(n->t.msg, msg) == 0 && !n->t.restored)
			return 1;
	return 0;
}

size_t
lost_due(long long now, struct turn_ent *out, size_t max)
{
	struct turn_node *h;
	size_t n = 0;

	while (n < max && (h = TAILQ_FIRST(&lost_q)) != NULL &&
	    h->t.due <= now) {
		out[n++] = h->t;
		lost_drop(h);
	}
	return n;
}

long long
lost_next(void)
{
	struct turn_node *h = TAILQ_FIRST(&lost_q);

	return h != NULL ? h->t.due : 0;
}

size_t
lost_count(void)
{
	return nlost;
}

void
lost_reset(void)
{
	struct turn_node *h;

	while ((h = TAILQ_FIRST(&lost_q)) != NULL)
		lost_drop(h);
	lost_seq = 0;
}
