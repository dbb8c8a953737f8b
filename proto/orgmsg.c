/*
 * Organisations: the record, its encoding and the checks both sides of
 * the socket share (see orgmsg.h).
 */
#include <stdlib.h>
#include <string.h>

#include "orgmsg.h"

void
st_org_free(struct st_org *o)
{
	free(o->name);
	memset(o, 0, sizeof(*o));
}

int
st_org_copy(struct st_org *dst, const struct st_org *src)
{
	*dst = *src;
	if ((dst->name = strdup(src->name != NULL ? src->name : "")) == NULL) {
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	return 0;
}

/* Field order on the wire and in LMDB: the struct's. */
void
penc_org(struct penc *e, const struct st_org *o)
{
	penc_str(e, o->id);
	penc_str(e, o->name);
	penc_u64(e, o->created_at);
	penc_u64(e, o->updated_at);
}

int
pdec_org(struct pdec *d, struct st_org *o)
{
	memset(o, 0, sizeof(*o));
	pdec_strbuf(d, o->id, sizeof(o->id));
	/* Characters are up to 4 bytes: st_org_invalid counts them. */
	o->name = pdec_strdup(d, 4 * ST_ORG_NAME_MAX);
	o->created_at = pdec_u64(d);
	o->updated_at = pdec_u64(d);
	if (d->err) {
		st_org_free(o);
		return -1;
	}
	return 0;
}

const char *
st_org_invalid(const struct st_org *o)
{
	const char *name = o->name != NULL ? o->name : "";
	ssize_t n = proto_utf8_chars(name, strlen(name));

	if (n < 1 || n > ST_ORG_NAME_MAX)
		return "name: must be 1 to 100 characters of UTF-8";
	return NULL;
}

int
st_org_id_valid(const char *s)
{
	return strcmp(s, ST_ORG_DEFAULT) == 0 ||
	    st_prefixed_id_valid(s, ST_ORG_PREFIX);
}
