/*
 * The widgets' setup counts, in memory (setupcounts.h).
 */
#include <string.h>

#include "log.h"
#include "setupcounts.h"
#include "stamptab.h"
#include "storeint.h"
#include "widgetstore.h"

struct setup_ent {
	char id[ST_WIDGET_MAX + 1];
	uint64_t at;			/* the last note */
	uint64_t n[ST_SETUP_NREASONS];
	/* the origins the server saw itself, most recent first */
	struct st_setup_origin o[ST_SETUP_ORIGINS];
	uint32_t no;
	/* the CSP reports' (anyone may send one): never pushing o out */
	struct st_setup_origin rep[ST_SETUP_ORIGINS];
	uint32_t nrep;
};

static const struct stamptab_layout setup_layout =
    STAMPTAB_LAYOUT(struct setup_ent, id, at, SETUP_WIDGETS_MAX);

/* What the log line says each reason means, and its fix. */
static const char *const why[ST_SETUP_NREASONS] = {
	"seen",
	"wrong data-api-key (use WIDGET_API_KEY's value)",
	"origin not in CORS_ORIGIN (add it there)",
	"origin not in the widget's allowed origins (add it in the dashboard)",
	"socket blocked by the page's CSP (add ws:/wss: to connect-src)",
	"chat disabled (enable the widget in the dashboard)",
};

void
store_setup_start(struct store *st)
{
	st->setup_since = store_now(st);
}

/* origin to the front of list l (*n long): found, else new (the oldest goes). */
static void
origin_seen(struct st_setup_origin *l, uint32_t *n, const char *origin,
    unsigned reason, uint64_t now)
{
	struct st_setup_origin o;
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (strncmp(l[i].origin, origin, ST_SETUP_ORIGIN_MAX) == 0)
			break;
	if (i < *n)
		o = l[i];
	else {
		memset(&o, 0, sizeof(o));
		strlcpy(o.origin, origin, sizeof(o.origin));
		if (*n < ST_SETUP_ORIGINS)
			(*n)++;
		i = *n - 1;
	}
	memmove(&l[1], &l[0], i * sizeof(l[0]));
	o.last_at = now;
	o.reason = (uint8_t)reason;
	o.count++;
	l[0] = o;
}

/* One line per reason at most every SETUP_LOG_MS, with how many it stood for. */
static void
setup_log(struct store *st, const char *widget_id, unsigned reason,
    const char *origin, uint64_t now)
{
	uint64_t *last = &st->setup_logged[reason];

	st->setup_unlogged[reason]++;
	if (*last != 0 && now >= *last && now - *last < SETUP_LOG_MS)
		return;
	log_warnx("setup: refused: %s; widget %s, origin %.*s "
	    "(%llu refusal%s of this kind since the last line)", why[reason],
	    widget_id[0] != '\0' ? widget_id : "of the chat API",
	    ST_SETUP_ORIGIN_MAX, origin[0] != '\0' ? origin : "(none)",
	    (unsigned long long)st->setup_unlogged[reason],
	    st->setup_unlogged[reason] == 1 ? "" : "s");
	st->setup_unlogged[reason] = 0;
	*last = now;
}

int
store_setup_note(struct store *st, const char *id, const char *widget_id,
    unsigned reason, const char *origin)
{
	struct setup_ent *e;
	uint64_t now = store_now(st);

	if (reason >= ST_SETUP_NREASONS)
		return 0;
	if ((e = stamptab_take(&st->setup, &setup_layout, id)) == NULL) {
		log_warnx("setup: out of memory");
		return -1;
	}
	e->at = now;
	e->n[reason]++;
	if (origin[0] != '\0' && reason == ST_SETUP_CSP)
		origin_seen(e->rep, &e->nrep, origin, reason, now);
	else if (origin[0] != '\0')
		origin_seen(e->o, &e->no, origin, reason, now);
	if (reason != ST_SETUP_SEEN)
		setup_log(st, widget_id, reason, origin, now);
	return 0;
}

int
store_setup_note_widget(struct store_txn *t, const char *widget_id,
    unsigned reason, const char *origin)
{
	char id[ST_WIDGET_MAX + 1];
	int rc;

	if (widget_id[0] == '\0') {
		strlcpy(id, ST_DEFAULT_WIDGET, sizeof(id));
		rc = 0;
	} else
		rc = store_widget_internal_id(t, widget_id, id);
	if (rc == 1)
		strlcpy(id, SETUP_UNKNOWN, sizeof(id));
	if (rc >= 0 && store_setup_note(t->st, id, widget_id, reason,
	    origin) < 0)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	return t->err;
}

void
store_setup_get(const struct store *st, const char *id,
    struct st_setup_rep *rep)
{
	const struct setup_ent *e = stamptab_find(&st->setup,
	    &setup_layout, id);

	memset(rep, 0, sizeof(*rep));
	rep->since = st->setup_since;
	if (e == NULL)
		return;
	rep->key = e->n[ST_SETUP_KEY];
	rep->cors = e->n[ST_SETUP_CORS];
	rep->origin = e->n[ST_SETUP_ORIGIN];
	rep->csp = e->n[ST_SETUP_CSP];
	rep->disabled = e->n[ST_SETUP_DISABLED];
	rep->origins = (struct st_setup_origin *)e->o;
	rep->norigins = e->no;
	rep->reports = (struct st_setup_origin *)e->rep;
	rep->nreports = e->nrep;
}

void
store_setup_free(struct store *st)
{
	stamptab_free(&st->setup);
}
