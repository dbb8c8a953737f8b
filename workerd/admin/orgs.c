/*
 * Organisations in the admin API (issue 22, its first slice), for the
 * install key only (the routes' R_INSTALL: a dashboard session is 403 in
 * the router):
 *
 *	GET    /v1/admin/organizations		{"organizations":[...]}, the
 *						default first
 *	POST   /v1/admin/organizations		201 the organisation
 *	GET    /v1/admin/organizations/:org_id	the organisation
 *	PATCH  /v1/admin/organizations/:org_id	sets the name
 *	DELETE /v1/admin/organizations/:org_id	200 {"deleted":true}; 409 for
 *						the default one
 *
 * An organisation is {id, name, created_at, updated_at}; storaged keeps
 * them (proto/orgmsg.h). The handlers are entity.c's, from the table
 * here; its JSON both ways is its rows' (recjson.c), the record's rule
 * st_org_invalid's, as storaged's.
 */
#include <string.h>

#include "admin.h"
#include "orgmsg.h"
#include "workerd.h"

static json_t *
org_json(const void *rep, int *status)
{
	return rec_json(&st_org_layout, rep, RF_ADM, NULL);
}

static ADMIN_LIST_JSON(org_list_json, st_orgs, "organizations", orgs, org_json)

static void
org_start(void *rec, int patch)
{
	memset(rec, 0, sizeof(struct st_org));
}

/* A PATCH without a name changes nothing of the record's: valid. */
static const char *
org_invalid(void *rec, uint64_t mask, int patch)
{
	if (patch && !(mask & ST_OF_NAME))
		return NULL;
	return st_org_invalid(rec);
}

ADMIN_UPDATE_REQ(org_update_req, ou, o)

const struct admin_entity org_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_ORG),
	.not_found = "Organization not found",
	.invalid = "Invalid organization",
	.id_valid = st_org_id_valid,
	.kept = ST_ORG_DEFAULT,
	.kept_text = "The default organization cannot be deleted",
	.layout = &st_org_layout,
	.required = ST_OF_NAME,
	.start = org_start,
	.rec_invalid = org_invalid,
	.update_req = org_update_req,
	.one = org_json,
	.all = org_list_json,
	.deleted = admin_deleted_json,
};

ADMIN_ENTITY_ROUTES(orgs, org_entity)
