/*
 * People: the user record, its encoding and the checks both sides of the
 * socket share (see usermsg.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "usermsg.h"
#include "util.h"

#define SCRYPT_N	16384
#define SCRYPT_R	8
#define SCRYPT_P	1
#define SCRYPT_MAXMEM	(64 * 1024 * 1024)

int
st_pw_scrypt(const char *pw, size_t pwlen, const void *salt, size_t saltlen,
    uint8_t out[ST_PW_HASH_LEN])
{
	if (pw == NULL)
		pw = "";
	if (EVP_PBE_scrypt(pw, pwlen, salt, saltlen, SCRYPT_N, SCRYPT_R,
	    SCRYPT_P, SCRYPT_MAXMEM, out, ST_PW_HASH_LEN) != 1)
		return -1;
	return 0;
}

void
st_user_free(struct st_user *u)
{
	free(u->name);
	free(u->mems);
	memset(u, 0, sizeof(*u));
}

int
st_user_copy(struct st_user *dst, const struct st_user *src)
{
	*dst = *src;
	dst->name = strdup(src->name != NULL ? src->name : "");
	dst->mems = NULL;
	if (src->n > 0 && (dst->mems = calloc(src->n,
	    sizeof(*dst->mems))) != NULL)
		memcpy(dst->mems, src->mems, src->n * sizeof(*dst->mems));
	if (dst->name == NULL || (src->n > 0 && dst->mems == NULL)) {
		free(dst->name);
		free(dst->mems);
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	return 0;
}

/* Field order in LMDB: the struct's. */
void
penc_user(struct penc *e, const struct st_user *u)
{
	uint32_t i;

	penc_str(e, u->id);
	penc_str(e, u->email);
	penc_str(e, u->name);
	penc_bytes(e, u->salt, sizeof(u->salt));
	penc_bytes(e, u->hash, sizeof(u->hash));
	penc_bytes(e, u->fp, sizeof(u->fp));
	penc_u8(e, u->disabled);
	penc_u32(e, u->n);
	for (i = 0; i < u->n; i++) {
		penc_str(e, u->mems[i].org);
		penc_u8(e, u->mems[i].role);
	}
	penc_u64(e, u->created_at);
	penc_u64(e, u->updated_at);
	/* Format 2: each membership's disabled flag. */
	penc_u32(e, u->n);
	for (i = 0; i < u->n; i++)
		penc_u8(e, u->mems[i].disabled);
}

/* Exactly len bytes into out. */
static void
pdec_exact(struct pdec *d, uint8_t *out, size_t len)
{
	const uint8_t *p;
	size_t n;

	p = pdec_bytes(d, &n);
	if (d->err)
		return;
	if (n != len) {
		d->err = 1;
		return;
	}
	memcpy(out, p, len);
}

int
pdec_user(struct pdec *d, struct st_user *u)
{
	uint32_t i, n;

	memset(u, 0, sizeof(*u));
	pdec_strbuf(d, u->id, sizeof(u->id));
	pdec_strbuf(d, u->email, sizeof(u->email));
	u->name = pdec_strdup(d, 4 * ST_USER_NAME_MAX);
	pdec_exact(d, u->salt, sizeof(u->salt));
	pdec_exact(d, u->hash, sizeof(u->hash));
	pdec_exact(d, u->fp, sizeof(u->fp));
	u->disabled = pdec_u8(d);
	u->n = pdec_u32(d);
	if (!d->err && u->n > ST_MEMBERSHIPS_MAX)
		d->err = 1;
	if (!d->err && u->n > 0 &&
	    (u->mems = calloc(u->n, sizeof(*u->mems))) == NULL)
		d->err = 1;
	for (i = 0; !d->err && i < u->n; i++) {
		pdec_strbuf(d, u->mems[i].org, sizeof(u->mems[i].org));
		u->mems[i].role = pdec_u8(d);
	}
	u->created_at = pdec_u64(d);
	u->updated_at = pdec_u64(d);
	/* None (a format 1 record, padded): every membership enabled. */
	if ((n = pdec_u32(d)) != 0 && n != u->n)
		d->err = 1;
	for (i = 0; !d->err && i < n; i++)
		if ((u->mems[i].disabled = pdec_u8(d)) > 1)
			d->err = 1;
	if (d->err) {
		st_user_free(u);
		return -1;
	}
	return 0;
}

const char *
st_email_normal(const char *in, char out[ST_EMAIL_MAX + 1])
{
	size_t n = in != NULL ? strlen(in) : 0, i, at = 0, ats = 0;
	unsigned char ch;

	out[0] = '\0';
	if (n < 3 || n > ST_EMAIL_MAX)
		return "email: must be 3 to 254 bytes";
	for (i = 0; i < n; i++) {
		ch = (unsigned char)in[i];
		if (ch <= 0x20 || ch == 0x7f)
			return "email: must not hold white space or control "
			    "characters";
		if (ch == '@') {
			ats++;
			at = i;
		}
		out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : (char)ch;
	}
	out[n] = '\0';
	if (ats != 1 || at == 0 || at == n - 1) {
		out[0] = '\0';
		return "email: must be an address like name@example.com";
	}
	if (proto_utf8_chars(out, n) < 0) {
		out[0] = '\0';
		return "email: must be UTF-8";
	}
	return NULL;
}

const char *
st_user_name_invalid(const char *name)
{
	ssize_t n;

	if (name == NULL)
		name = "";
	n = proto_utf8_chars(name, strlen(name));
	if (n < 1 || n > ST_USER_NAME_MAX)
		return "name: must be 1 to 100 characters of UTF-8";
	return NULL;
}

const struct st_member *
st_user_member(const struct st_user *u, const char *org)
{
	uint32_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->mems[i].org, org) == 0)
			return &u->mems[i];
	return NULL;
}

const struct st_member *
st_user_acts(const struct st_user *u, const char *org)
{
	const struct st_member *m = st_user_member(u, org);

	return m != NULL && !m->disabled && !u->disabled ? m : NULL;
}

const char *
st_user_invalid(const struct st_user *u)
{
	char norm[ST_EMAIL_MAX + 1];
	const char *bad;
	uint32_t i, j;

	if ((bad = st_email_normal(u->email, norm)) != NULL)
		return bad;
	if (strcmp(norm, u->email) != 0)
		return "email: must be lowercase";
	if ((bad = st_user_name_invalid(u->name)) != NULL)
		return bad;
	if (u->n > ST_MEMBERSHIPS_MAX)
		return "memberships: at most 100 organizations";
	for (i = 0; i < u->n; i++) {
		if (!st_org_id_valid(u->mems[i].org))
			return "memberships: not an organization id";
		if (u->mems[i].role < ST_ROLE_AGENT ||
		    u->mems[i].role > ST_ROLE_OWNER)
			return "role: must be owner, admin or agent";
		for (j = 0; j < i; j++)
			if (strcmp(u->mems[j].org, u->mems[i].org) == 0)
				return "memberships: an organization twice";
	}
	return NULL;
}

int
st_user_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_USER_PREFIX);
}

int
st_invite_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_INVITE_PREFIX);
}
