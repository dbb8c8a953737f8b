/*
 * Work in flight bounded per worker and per organisation (orgslots.h).
 * The table holds one entry per organisation with something in flight,
 * at most max of them, so a linear walk is all it needs.
 */
#include <string.h>

#include "orgslots.h"

/* org's entry, or a free one taken for it when add; NULL when none. */
static int *
org_count(struct orgslots *s, const char *org, int add)
{
	int i, free_at = -1;

	for (i = 0; i < s->max && i < ORGSLOTS_MAX; i++) {
		if (s->orgs[i].n > 0 && strcmp(s->orgs[i].org, org) == 0)
			return &s->orgs[i].n;
		if (s->orgs[i].n == 0 && free_at < 0)
			free_at = i;
	}
	if (!add || free_at < 0)
		return NULL;
	strlcpy(s->orgs[free_at].org, org, sizeof(s->orgs[0].org));
	return &s->orgs[free_at].n;
}

enum orgslots_took
orgslots_take(struct orgslots *s, const char *org)
{
	int *n;

	if (s->n >= s->max)
		return ORGSLOTS_FULL;
	if ((n = org_count(s, org, 0)) != NULL && *n >= s->org_max)
		return ORGSLOTS_ORG_FULL;
	/* Fewer than max in flight: an entry is free when org has none. */
	if (n == NULL && (n = org_count(s, org, 1)) == NULL)
		return ORGSLOTS_FULL;
	(*n)++;
	s->n++;
	return ORGSLOTS_TAKEN;
}

void
orgslots_put(struct orgslots *s, const char *org)
{
	int *n = org_count(s, org, 0);

	if (n == NULL || *n == 0 || s->n == 0)
		return;
	(*n)--;
	s->n--;
}
