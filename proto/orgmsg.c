/*
 * Organisations: the record's layout, its rows' walks (record.h) and the
 * checks both sides of the socket share (see orgmsg.h).
 */
#include <string.h>

#include "orgmsg.h"

#define ORG_ROW(...)	RF_ROW(struct st_org, __VA_ARGS__)

RL_LAYOUT(st_org_layout, "org", struct st_org,
    ST_ORG_ROWS(ORG_ROW), NULL);

const char *
st_org_invalid(const struct st_org *o)
{
	return rl_invalid(&st_org_layout, o);
}

int
st_org_id_valid(const char *s)
{
	return strcmp(s, ST_ORG_DEFAULT) == 0 ||
	    st_prefixed_id_valid(s, ST_ORG_PREFIX);
}
