/*
 * A bounded table of stamped entries, in memory (stamptab.h).
 */
#include <stdlib.h>
#include <string.h>

#include "stamptab.h"

static char *
ent(const struct stamptab *t, size_t i)
{
	return (char *)t->ents + i * t->size;
}

static uint64_t
stamp(const struct stamptab *t, size_t i)
{
	uint64_t v;

	memcpy(&v, ent(t, i) + t->stamp, sizeof(v));
	return v;
}

void *
stamptab_find(const struct stamptab *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(ent(t, i) + t->key, key) == 0)
			return ent(t, i);
	return NULL;
}

void *
stamptab_take(struct stamptab *t, const char *key)
{
	size_t i, old = 0;
	char *e;

	if ((e = stamptab_find(t, key)) != NULL)
		return e;
	if (t->ents == NULL && (t->ents = calloc(t->max, t->size)) == NULL)
		return NULL;
	if (t->n < t->max)
		old = t->n++;
	else
		for (i = 1; i < t->n; i++)
			if (stamp(t, i) < stamp(t, old))
				old = i;
	e = ent(t, old);
	memset(e, 0, t->size);
	strlcpy(e + t->key, key, t->keysz);
	return e;
}

void
stamptab_free(struct stamptab *t)
{
	free(t->ents);
	t->ents = NULL;
	t->n = 0;
}
