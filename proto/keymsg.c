/*
 * API keys and the audit log: the key record, its checks, and the
 * layouts of their requests and replies (keymsg.h), which the message
 * table (msgtab.c) names.
 */
#include <stdlib.h>
#include <string.h>

#include "keymsg.h"
#include "util.h"

void
st_apikey_free(struct st_apikey *k)
{
	free(k->name);
	memset(k, 0, sizeof(*k));
}

int
st_apikey_copy(struct st_apikey *dst, const struct st_apikey *src)
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
penc_apikey(struct penc *e, const struct st_apikey *k)
{
	penc_str(e, k->id);
	penc_str(e, k->org);
	penc_str(e, k->name);
	penc_u8(e, k->role);
	penc_bytes(e, k->hash, k->hash_len == ST_KEY_HASH_LEN ?
	    ST_KEY_HASH_LEN : 0);
	penc_u64(e, k->created_at);
	penc_u64(e, k->updated_at);
	penc_u64(e, k->last_used_at);
}

int
pdec_apikey(struct pdec *d, struct st_apikey *k)
{
	const uint8_t *h;
	size_t hlen = 0;

	memset(k, 0, sizeof(*k));
	pdec_strbuf(d, k->id, sizeof(k->id));
	pdec_strbuf(d, k->org, sizeof(k->org));
	/* Characters are up to 4 bytes: st_apikey_invalid counts them. */
	k->name = pdec_strdup(d, 4 * ST_KEY_NAME_MAX);
	k->role = pdec_u8(d);
	if ((h = pdec_bytes(d, &hlen)) != NULL && hlen == ST_KEY_HASH_LEN) {
		memcpy(k->hash, h, ST_KEY_HASH_LEN);
		k->hash_len = ST_KEY_HASH_LEN;
	} else if (hlen != 0)
		d->err = 1;
	k->created_at = pdec_u64(d);
	k->updated_at = pdec_u64(d);
	k->last_used_at = pdec_u64(d);
	if (d->err) {
		st_apikey_free(k);
		return -1;
	}
	return 0;
}

const char *
st_apikey_invalid(const struct st_apikey *k)
{
	const char *name = k->name != NULL ? k->name : "";
	ssize_t n = proto_utf8_chars(name, strlen(name));

	if (n < 1 || n > ST_KEY_NAME_MAX)
		return "name: must be 1 to 100 characters of UTF-8";
	if (k->role < ST_ROLE_AGENT || k->role > ST_ROLE_OWNER)
		return "role: must be agent, admin or owner";
	return NULL;
}

int
st_key_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_KEY_PREFIX);
}

int
st_key_secret_shape(const char *s)
{
	size_t p = strlen(ST_KEY_SECRET_PREFIX), i;

	if (strlen(s) != ST_KEY_SECRET_LEN ||
	    strncmp(s, ST_KEY_SECRET_PREFIX, p) != 0)
		return 0;
	for (i = p; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
st_audit_note_action(const char *action)
{
	return strcmp(action, "export") == 0 ||
	    strcmp(action, "contact.export") == 0;
}
