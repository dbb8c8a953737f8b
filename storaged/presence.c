/*
 * The dashboards' presence per organisation, in memory (presence.h).
 */

#include "log.h"
#include "orgmsg.h"
#include "presence.h"
#include "stamptab.h"
#include "storeint.h"

struct presence_ent {
	char org[ST_ORG_ID_MAX + 1];
	uint64_t seen;		/* ms since the epoch (the store's clock) */
};

static const struct stamptab_layout pres_layout =
    STAMPTAB_LAYOUT(struct presence_ent, org, seen, ST_ORGS_MAX);

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

int
store_presence_seen(struct store *st, const char *org)
{
	struct presence_ent *e;

	if ((e = stamptab_take(&st->pres, &pres_layout, org)) == NULL) {
		log_warnx("presence: out of memory");
		return -1;
	}
	e->seen = store_now(st);
	return 0;
}

int
store_presence_staffed(const struct store *st, const char *org)
{
	const struct presence_ent *e = stamptab_find(&st->pres, &pres_layout,
	    org);
	uint64_t seen = e != NULL ? e->seen : st->pres_since;
	uint64_t now = store_now(st);

	return seen != 0 && (now < seen || now - seen <= window_ms(st));
}

void
store_presence_free(struct store *st)
{
	stamptab_free(&st->pres);
}
