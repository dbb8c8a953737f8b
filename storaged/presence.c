/*
 * The dashboards' presence per organisation, in memory (presence.h).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "orgmsg.h"
#include "presence.h"
#include "storeint.h"

struct presence_ent {
	char org[ST_ORG_ID_MAX + 1];
	uint64_t seen;		/* ms since the epoch (the store's clock) */
};

static uint64_t
window_ms(const struct store *st)
{
	return st->pres_away_ms != 0 ? st->pres_away_ms : PRESENCE_AWAY_MS;
}

void
store_presence_settings(struct store *st, uint64_t away_after_ms)
{
	st->pres_away_ms = away_after_ms;
	st->pres_since = store_now(st);
}

static struct presence_ent *
pres_find(const struct store *st, const char *org)
{
	size_t i;

	for (i = 0; i < st->npres; i++)
		if (strcmp(st->pres[i].org, org) == 0)
			return &st->pres[i];
	return NULL;
}

/* A slot for a new org: a free one, else the one seen longest ago. */
static struct presence_ent *
pres_slot(struct store *st)
{
	size_t i, old = 0;

	if (st->pres == NULL && (st->pres = calloc(ST_ORGS_MAX,
	    sizeof(*st->pres))) == NULL)
		return NULL;
	if (st->npres < ST_ORGS_MAX)
		return &st->pres[st->npres++];
	for (i = 1; i < st->npres; i++)
		if (st->pres[i].seen < st->pres[old].seen)
			old = i;
	return &st->pres[old];
}

int
store_presence_seen(struct store *st, const char *org)
{
	struct presence_ent *e;

	if ((e = pres_find(st, org)) == NULL) {
		if ((e = pres_slot(st)) == NULL) {
			log_warnx("presence: out of memory");
			return -1;
		}
		strlcpy(e->org, org, sizeof(e->org));
	}
	e->seen = store_now(st);
	return 0;
}

int
store_presence_staffed(const struct store *st, const char *org)
{
	const struct presence_ent *e = pres_find(st, org);
	uint64_t seen = e != NULL ? e->seen : st->pres_since;
	uint64_t now = store_now(st);

	return seen != 0 && (now < seen || now - seen <= window_ms(st));
}

void
store_presence_free(struct store *st)
{
	free(st->pres);
	st->pres = NULL;
	st->npres = 0;
}
