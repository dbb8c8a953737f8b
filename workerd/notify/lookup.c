/*
 * A webhook URL's name resolved off the worker's loop (issue 23: a URL
 * that resolves to a private address is refused at creation). The
 * lookup itself is lib/dnslookup.c's (dnslookup_start_all: a thread of
 * its own, every address of the name handed back on the loop); what is
 * the notifier's is here: the verdict on every address
 * (urlpol_addrs_check, net/urlpolicy.c), told on the loop, the bounds,
 * the orphans and the test build's slow names.
 *
 * Bounded: NOTIFY_LOOKUPS_MAX in flight per worker (so as many threads
 * at most), NOTIFY_LOOKUPS_ORG of them one organisation's (a full table
 * refuses at once): a name whose servers never answer holds its slot for
 * the resolver's timeout, and one organisation's such names must not
 * refuse every other's. A lookup whose caller left is orphaned: freed,
 * with its addresses, without its callback, when it ends.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnslookup.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "orgslots.h"
#include "settings.h"

struct notify_lookup {
	struct dnslookup dl;	/* first: done's dl is the lookup */
	int allow_private;
	char org[ST_WHO_ORG_MAX + 1];	/* whose slot it holds */
	notify_lookup_fn fn;
	void *arg;
	int orphan;
#ifdef PARLEY_TEST_HOOKS
	unsigned long late_ms;	/* the test build's slow name (slow_hook) */
	struct loop_timer late;
#endif
};

static struct orgslots lk_slots = ORGSLOTS_INIT(NOTIFY_LOOKUPS_MAX,
    NOTIFY_LOOKUPS_ORG);

/* The verdict told (unless orphaned), the slot given back, l freed. */
static void
lk_end(struct notify_lookup *l)
{
	const char *why = NULL;

	orgslots_put(&lk_slots, l->org);
	if (!l->orphan) {
		if (l->dl.rc != 0)
			why = "url: host does not resolve";
		else
			(void)urlpol_addrs_check(l->dl.res, l->allow_private,
			    NULL, &why);
		l->fn(l->arg, why);
	}
	if (l->dl.res != NULL)
		freeaddrinfo(l->dl.res);
	free(l);
}

#ifdef PARLEY_TEST_HOOKS
#define SLOW_SUFFIX	".slow.test"
#define SLOW_ADDR	"93.184.216.34"	/* public: the policy lets it by */
/*
 * The test build's alone (Makefile): with PARLEY_TEST_SLOW_LOOKUP_MS set,
 * a name under slow.test resolves to SLOW_ADDR that many milliseconds
 * late, as a name whose server answers late would (the tests need no
 * name server): the tests of what a request held by its lookup meets
 * meanwhile. The name to look up: SLOW_ADDR for such a name, else host.
 */
static const char *
slow_hook(struct notify_lookup *l, const char *host)
{
	size_t n = strlen(host), k = strlen(SLOW_SUFFIX);
	unsigned long ms = settings_test_hook("PARLEY_TEST_SLOW_LOOKUP_MS");

	if (ms == 0 || n <= k || strcasecmp(host + n - k, SLOW_SUFFIX) != 0)
		return host;
	/* the tests wait for this line: the request is held from here on */
	log_info("test hook: %s resolves %lu ms late", host, ms);
	l->late_ms = ms;
	return SLOW_ADDR;
}

static void
slow_end(void *arg)
{
	lk_end(arg);
}

/* A slow name's answer held late_ms on the loop: 1 held, 0 not slow. */
static int
slow_wait(struct notify_lookup *l)
{
	if (l->late_ms == 0)
		return 0;
	loop_timer_init(&l->late, slow_end, l);
	loop_timer_after(&l->late, l->late_ms);
	return 1;
}
#else
#define slow_hook(l, host)	(host)
#define slow_wait(l)	0
#endif

/* dnslookup's done, on the loop. */
static void
lk_answered(struct dnslookup *dl)
{
	struct notify_lookup *l = (struct notify_lookup *)(void *)dl;

	if (!slow_wait(l))
		lk_end(l);
}

struct notify_lookup *
notify_lookup_start(const struct url_target *t, int allow_private,
    const char *org, notify_lookup_fn fn, void *arg)
{
	struct notify_lookup *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("webhook lookup");
		return NULL;
	}
	if (orgslots_take(&lk_slots, org) != ORGSLOTS_TAKEN) {
		free(l);
		return NULL;
	}
	strlcpy(l->org, org, sizeof(l->org));
	l->allow_private = allow_private;
	l->fn = fn;
	l->arg = arg;
	if (dnslookup_start_all(&l->dl, slow_hook(l, t->host),
	    (uint16_t)t->port, lk_answered) != 0) {
		orgslots_put(&lk_slots, l->org);
		free(l);
		return NULL;
	}
	return l;
}

void
notify_lookup_cancel(struct notify_lookup *l)
{
	if (l != NULL)
		l->orphan = 1;
}
