/*
 * People: the user record's layout, its kinds of its own (the password,
 * the memberships and their disabled flags: record.h), and the checks
 * both sides of the socket share (see usermsg.h).
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

/* ------------------------------------------------------ the password */

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

static void
password_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_user *u = rec;

	penc_bytes(e, u->salt, sizeof(u->salt));
	penc_bytes(e, u->hash, sizeof(u->hash));
	penc_bytes(e, u->fp, sizeof(u->fp));
}

static void
password_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_user *u = rec;

	pdec_exact(d, u->salt, sizeof(u->salt));
	pdec_exact(d, u->hash, sizeof(u->hash));
	pdec_exact(d, u->fp, sizeof(u->fp));
}

/* A secret: not left in memory the compiler may think dead. */
static void
password_free(void *rec, const struct rfield *f)
{
	struct st_user *u = rec;

	explicit_bzero(u->salt, sizeof(u->salt));
	explicit_bzero(u->hash, sizeof(u->hash));
	explicit_bzero(u->fp, sizeof(u->fp));
}

static int
password_copy(void *dst, const void *src, const struct rfield *f)
{
	const struct st_user *from = src;
	struct st_user *to = dst;

	memcpy(to->salt, from->salt, sizeof(to->salt));
	memcpy(to->hash, from->hash, sizeof(to->hash));
	memcpy(to->fp, from->fp, sizeof(to->fp));
	return 0;
}

const struct rcodec st_password_codec = {
	"PASSWORD", password_enc, password_dec, password_free, password_copy,
};

/* -------------------------------------------------- the memberships */

static void
members_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_user *u = rec;
	uint32_t i;

	if (u->n > ST_MEMBERSHIPS_MAX || (u->n > 0 && u->mems == NULL)) {
		e->err = 1;
		return;
	}
	penc_u32(e, u->n);
	for (i = 0; i < u->n; i++) {
		penc_str(e, u->mems[i].org);
		penc_u8(e, u->mems[i].role);
	}
}

static void
members_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_user *u = rec;
	uint32_t i, n;

	n = pdec_u32(d);
	if (!d->err && n > ST_MEMBERSHIPS_MAX)
		d->err = 1;
	if (d->err || n == 0)
		return;
	if ((u->mems = calloc(n, sizeof(*u->mems))) == NULL) {
		d->err = 1;
		return;
	}
	u->n = n;
	for (i = 0; !d->err && i < n; i++) {
		pdec_strbuf(d, u->mems[i].org, sizeof(u->mems[i].org));
		u->mems[i].role = pdec_u8(d);
	}
}

static void
members_free(void *rec, const struct rfield *f)
{
	struct st_user *u = rec;

	free(u->mems);
	u->mems = NULL;
	u->n = 0;
}

static int
members_copy(void *dst, const void *src, const struct rfield *f)
{
	const struct st_user *from = src;
	struct st_user *to = dst;

	if (from->n == 0 || from->mems == NULL)
		return 0;
	if ((to->mems = calloc(from->n, sizeof(*to->mems))) == NULL)
		return -1;
	memcpy(to->mems, from->mems, from->n * sizeof(*to->mems));
	to->n = from->n;
	return 0;
}

const struct rcodec st_members_codec = {
	"MEMBERS", members_enc, members_dec, members_free, members_copy,
};

static void
member_off_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_user *u = rec;
	uint32_t i;

	if (u->n > 0 && u->mems == NULL) {
		e->err = 1;
		return;
	}
	penc_u32(e, u->n);
	for (i = 0; i < u->n; i++)
		penc_u8(e, u->mems[i].disabled);
}

/*
 * One a membership, as member_off_enc writes them (the memberships are
 * decoded already). A format 1 record has no such row: its default is
 * member_off_free's. None with memberships is refused: it would encode
 * back otherwise (tests/fuzz/records found it).
 */
static void
member_off_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_user *u = rec;
	uint32_t i, n;

	if ((n = pdec_u32(d)) != u->n)
		d->err = 1;
	for (i = 0; !d->err && i < n; i++)
		if ((u->mems[i].disabled = pdec_u8(d)) > 1)
			d->err = 1;
}

/* Its default: every membership enabled. */
static void
member_off_free(void *rec, const struct rfield *f)
{
	struct st_user *u = rec;
	uint32_t i;

	for (i = 0; u->mems != NULL && i < u->n; i++)
		u->mems[i].disabled = 0;
}

/* The flags are the memberships': their copy has them. */
static int
member_off_copy(void *dst, const void *src, const struct rfield *f)
{
	return 0;
}

const struct rcodec st_member_off_codec = {
	"MEMBER_OFF", member_off_enc, member_off_dec, member_off_free,
	member_off_copy,
};

/* ---------------------------------------------------------- the record */

#define USER_ROW(...)	RF_ROW(struct st_user, __VA_ARGS__)

RL_LAYOUT(st_user_layout, "user", struct st_user,
    ST_USER_ROWS(USER_ROW), NULL);

#define INVITE_ROW(...)	RF_ROW(struct st_invite, __VA_ARGS__)

RL_LAYOUT(st_invite_layout, "invite", struct st_invite,
    ST_INVITE_ROWS(INVITE_ROW), NULL);

#define DSESS_ROW(...)	RF_ROW(struct st_dsess, __VA_ARGS__)

RL_LAYOUT(st_dsess_layout, "dsession", struct st_dsess,
    ST_DSESS_ROWS(DSESS_ROW), NULL);

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
	/* Visitors see it on replies, as a message's name, never blank. */
	if (strspn(name, " \t\r\n") == strlen(name))
		return "name: must not be blank";
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
