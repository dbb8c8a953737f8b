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
 * A connection's open turns are few at a time (its visitors' replies
 * streaming); the lost ones are kept in order of due time, as they are
 * added with one delay: plain arrays, searched by conversation id only
 * where a worker names a turn (one connection's few).
 */
#include <stdlib.h>
#include <string.h>

#include "lostturns.h"
#include "util.h"

static struct turnset lost;	/* due times ascending */

static int
ent_push(struct turnset *s, const struct turn_ent *e, size_t max)
{
	struct turn_ent *v;
	size_t cap;

	if (s->n == max)
		return -1;
	if (s->n == s->cap) {
		cap = s->cap == 0 ? 16 : s->cap * 2;
		if (cap > max)
			cap = max;
		if ((v = reallocarray(s->v, cap, sizeof(*v))) == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* Index of conv's entry in s, or -1. */
static long
ent_find(const struct turnset *s, const char *conv)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].conv, conv) == 0)
			return (long)i;
	return -1;
}

/* Removes entry i, keeping the order (lost's is by due time). */
static void
ent_del(struct turnset *s, size_t i)
{
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

int
turnset_note(struct turnset *s, int begun, const char *conv,
    const char *msg)
{
	struct turn_ent e = { .due = 0 };
	long i = ent_find(s, conv);

	if (!begun) {
		if (i >= 0)
			ent_del(s, (size_t)i);
		return 0;
	}
	strlcpy(e.conv, conv, sizeof(e.conv));
	strlcpy(e.msg, msg, sizeof(e.msg));
	if (i < 0)
		return ent_push(s, &e, TURNS_OPEN_MAX);
	s->v[i] = e;	/* a newer turn of the conversation */
	return 0;
}

void
turnset_free(struct turnset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

size_t
lost_add(const struct turn_ent *v, size_t n, long long due)
{
	struct turn_ent e;
	size_t i, dropped = 0;

	/*
	 * Not looked up among the lost: a turn two connections left is
	 * ended twice, the second time finding it answered.
	 */
	for (i = 0; i < n; i++) {
		e = v[i];
		e.due = due;
		if (ent_push(&lost, &e, TURNS_LOST_MAX) < 0)
			dropped++;
	}
	return dropped;
}

size_t
lost_take(struct turnset *s, long long due)
{
	size_t dropped = lost_add(s->v, s->n, due);

	turnset_free(s);
	return dropped;
}

int
lost_claim(struct turnset *to, const char *conv, const char *msg)
{
	long i;
	int was = 0;

	(void)turnset_note(to, 1, conv, msg);
	while ((i = ent_find(&lost, conv)) >= 0) {
		ent_del(&lost, (size_t)i);
		was = 1;
	}
	return was;
}

size_t
lost_due(long long now, struct turn_ent *out, size_t max)
{
	size_t n = 0;

	while (n < max && n < lost.n && lost.v[n].due <= now) {
		out[n] = lost.v[n];
		n++;
	}
	memmove(lost.v, lost.v + n, (lost.n - n) * sizeof(*lost.v));
	lost.n -= n;
	return n;
}

long long
lost_next(void)
{
	return lost.n > 0 ? lost.v[0].due : 0;
}

size_t
lost_count(void)
{
	return lost.n;
}

void
lost_reset(void)
{
	turnset_free(&lost);
}
