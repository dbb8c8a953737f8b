/*
 * Work a tenant can start and that holds something while it runs (a
 * page fetched, an action's API called, a name resolved): bounded in
 * this worker, and of that bound one organisation's share, so that one
 * organisation's slow targets never take every slot from the others.
 */
#ifndef PARLEY_ORGSLOTS_H
#define PARLEY_ORGSLOTS_H

#include "storemsg.h"

#define ORGSLOTS_MAX	64	/* the most any one bound may be */

struct orgslots {
	int max;		/* in flight in this worker, <= ORGSLOTS_MAX */
	int org_max;		/* of them, one organisation's */
	int n;
	struct {
		char org[ST_WHO_ORG_MAX + 1];
		int n;		/* 0: a free entry */
	} orgs[ORGSLOTS_MAX];
};
#define ORGSLOTS_INIT(max, org_max)	{ (max), (org_max), 0, { { "", 0 } } }

enum orgslots_took {
	ORGSLOTS_TAKEN,		/* one more counted for the organisation */
	ORGSLOTS_FULL,		/* the worker's all in use: nothing counted */
	ORGSLOTS_ORG_FULL,	/* the organisation's share: nothing counted */
};
/* One more in flight for org (who asks's; "" the default one). */
enum orgslots_took orgslots_take(struct orgslots *, const char *org);
/* One that orgslots_take counted for org, given back. */
void orgslots_put(struct orgslots *, const char *org);

#endif
