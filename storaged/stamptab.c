/*
 * A bounded table of stamped entries, in memory (stamptab.h).
 */
#include <stdlib.h>
#include <string.h>

#include "stamptab.h"

static char *
ent(const struct stamptab *t, const struct stamptab_layout *l, size_t i)
{
	return (char *)t->ents + i * l->size;
}

static uint64_t
stamp(const struct stamptab *t, const struct stamptab_layout *l, size_t i)
{
	uint64_t v;

	memcpy(&v, ent(t, l, i) + l->stamp, sizeof(v));
	return v;
}

void *
stamptab_find(const struct stamptab *t, const struct stamptab_layout *l,
    const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(ent(t, l, i) + l->key, key) == 0)
			return ent(t, l, i);
	return NULL;
}

void *
stamptab_take(struct stamptab *t, const struct stamptab_layout *l,
    const char *key)
{
	size_t i, old = 0;
	char *e;

	if ((e = stamptab_find(t, l, key)) != NULL)
		return e;
	if (t->ents == NULL && (t->ents = calloc(l->max, l->size)) == NULL)
		return NULL;
	if (t->n < l->max)
		old = t->n++;
	else
		for (i = 1; i < t->n; i++)
			if (stamp(t, l, i) < stamp(t, l, old))
				old = i;
	e = ent(t, l, old);
	memset(e, 0, l->size);
	strlcpy(e + l->key, key, l->keysz);
	return e;
}

void
stamptab_free(struct stamptab *t)
{
	free(t->ents);
	t->ents = NULL;
	t->n = 0;
}
