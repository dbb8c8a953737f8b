/*
 * API keys and the audit log: the key record's layout and its hash's
 * kind of its own (its rows' walks, record.h), its checks, and the layouts of
 * their requests and replies (keymsg.h), which the message table
 * (msgtab.c) names.
 */
#include <string.h>

#include "keymsg.h"
#include "util.h"

/* None unless it is whole: a reply's key has none. */
static void
hash_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_apikey *k = rec;

	penc_bytes(e, k->hash, k->hash_len == ST_KEY_HASH_LEN ?
	    ST_KEY_HASH_LEN : 0);
}

static void
hash_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_apikey *k = rec;
	const uint8_t *h;
	size_t n = 0;

	if ((h = pdec_bytes(d, &n)) != NULL && n == ST_KEY_HASH_LEN) {
		memcpy(k->hash, h, ST_KEY_HASH_LEN);
		k->hash_len = ST_KEY_HASH_LEN;
	} else if (n != 0)
		d->err = 1;
}

const struct rcodec st_hash_codec = { "HASH", hash_enc, hash_dec, NULL,
    NULL };

#define KEY_ROW(...)	RF_ROW(struct st_apikey, __VA_ARGS__)

RL_LAYOUT(st_apikey_layout, "apikey", struct st_apikey,
    ST_APIKEY_ROWS(KEY_ROW), NULL);

/*
 * Its rows' bounds (a name), and its role by hand, in the API's words (1
 * to 3: 0 is no role, which the row's 0 to 3 lets by).
 */
const char *
st_apikey_invalid(const struct st_apikey *k)
{
	const char *why;

	if (k->role < ST_ROLE_AGENT || k->role > ST_ROLE_OWNER)
		why = "role: must be agent, admin or owner";
	else
		why = rl_invalid(&st_apikey_layout, k);
	return why;
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
	    strcmp(action, "contact.export") == 0 ||
	    strcmp(action, "action.test") == 0;
}
