/*
 * People (see STORAGE.md, userstore.h), users a records.c entity:
 *
 *	users        id ("usr_" + 32 hex) -> user (its rows, ST_USER_ROWS)
 *	user_order   u64 created_at | id -> (nothing)
 *	user_email   email (lowercase) -> id
 *	org_users    org id | 0 | user id -> (nothing): the members
 *	invites      SHA-256 of a token[32] -> invitation
 *	invite_org   org NUL SHA-256 of a token[32] -> (nothing): an
 *	             organisation's invitations, its list's and count's walk
 *	meta "boot_owner_removed" -> the first owner's account an owner
 *	             removed (BOOT_GONE_KEY): not made again by ST_USER_BOOT
 *	             under the same DASHBOARD_PASSWORD
 *
 * Every value starts with its format's version: a user's its layout's
 * (record.h: 2 added each membership's disabled flag; 1 still reads), an
 * invitation's its layout's too (2 added its claimed flag, which a
 * wrong password once set to hide it; now never set nor read), the rest
 * ST_RECORD_VERSION. An owner acts on the membership in its own
 * organisation only: disabling or removing a member there leaves the
 * account's password, sessions and other memberships alone. The passwords come hashed
 * (the worker's or parleyctl's scrypt): storaged only stores and hands
 * back salt and hash. Ending a user's sessions (disabled, deleted, a new
 * password) deletes them in the same transaction (dashstore.c's
 * dsess_end_user), and the dispatcher tells every worker (ST_EV_USER_GONE).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "inbox.h"
#include "log.h"
#include "mailbox.h"
#include "orgstore.h"
#include "records.h"
#include "storeint.h"
#include "userstore.h"

#define MEMBER_KEY_MAX	(ST_ORG_ID_MAX + 1 + ST_USER_ID_MAX)
/* Its value: the version byte, the fingerprint, the email (no NUL). */
#define BOOT_GONE_KEY	"boot_owner_removed"

/* By hand, not rl_invalid: the email's form, memberships' ids, no twice. */
static const char *
user_invalid(const void *rec)
{
	return st_user_invalid(rec);
}

static int
user_merge(struct store_txn *t, void *cur, void *req, uint64_t mask,
    void *arg)
{
	/* userstore.c saves its own changes: entity_update is not used. */
	return store_fail(t, PROTO_E_INTERNAL, "not an update");
}

static size_t
member_key(uint8_t k[MEMBER_KEY_MAX], const char *org, const char *id)
{
	size_t o = strlen(org), n = strlen(id);

	memcpy(k, org, o);
	k[o] = 0;
	memcpy(k + o + 1, id, n);
	return o + 1 + n;
}

static void
member_put(struct store_txn *t, const char *org, const char *id)
{
	uint8_t k[MEMBER_KEY_MAX];

	db_mark(t, t->st->org_users, k, member_key(k, org, id), "put member");
}

static void
member_del(struct store_txn *t, const char *org, const char *id)
{
	uint8_t k[MEMBER_KEY_MAX];

	db_del_quiet(t, t->st->org_users, k, member_key(k, org, id),
	    "delete member");
}

int
store_member_is(struct store_txn *t, const char *org, const char *id)
{
	uint8_t k[MEMBER_KEY_MAX];
	MDB_val v;
	int rc;

	if (strlen(org) > ST_ORG_ID_MAX || strlen(id) > ST_USER_ID_MAX)
		return 0;
	rc = db_get(t, t->st->org_users, k, member_key(k, org, id), &v,
	    "member");
	return rc < 0 ? -1 : rc == 0;
}

/* A new user's indexes: its email (free) and its memberships. */
static int
user_index_put(struct store_txn *t, void *rec)
{
	struct st_user *u = rec;
	uint32_t i;
	MDB_val v;

	if (db_get(t, t->st->user_email, u->email, strlen(u->email), &v,
	    "user email") == 0) {
		store_fail(t, PROTO_E_INVALID, "email: already a user's");
		return -1;
	}
	db_put(t, t->st->user_email, u->email, strlen(u->email), u->id,
	    strlen(u->id), "put user email");
	for (i = 0; i < u->n; i++)
		member_put(t, u->mems[i].org, u->id);
	return t->err ? -1 : 0;
}

static void
user_index_del(struct store_txn *t, const void *rec)
{
	const struct st_user *u = rec;
	uint32_t i;

	db_del_quiet(t, t->st->user_email, u->email, strlen(u->email),
	    "delete user email");
	for (i = 0; i < u->n; i++)
		member_del(t, u->mems[i].org, u->id);
}

const struct store_entity user_entity = {
	ENTITY_NAMES("user", "no such user", "users: at most 10000"),
	ENTITY_RECORD(user, users, user_order),
	ENTITY_IDS(ST_USER_PREFIX, ST_USER_ID_MAX, st_user_id_valid),
	.max = ST_USERS_MAX,
	.mask_all = ST_UF_ALL,
	.invalid = user_invalid,
	.merge = user_merge,
	.index_put = user_index_put,
	.index_del = user_index_del,
};

/* ------------------------------------------------------------ lookups */

/* By email (any case): 0 loaded, 1 absent, -1 error. */
static int
user_by_email(struct store_txn *t, const char *email, struct st_user *u)
{
	char norm[ST_EMAIL_MAX + 1], id[ST_USER_ID_MAX + 1];
	MDB_val v;
	int rc;

	memset(u, 0, sizeof(*u));
	if (st_email_normal(email, norm) != NULL)
		return 1;
	if ((rc = db_get(t, t->st->user_email, norm, strlen(norm), &v,
	    "user email")) != 0)
		return rc;
	if (v.mv_size != ST_USER_ID_MAX) {
		rec_corrupt(t, "user email");
		return -1;
	}
	memcpy(id, v.mv_data, ST_USER_ID_MAX);
	id[ST_USER_ID_MAX] = '\0';
	if ((rc = entity_load(t, &user_entity, id, u)) == 1) {
		log_warnx("user email: names a missing user");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return -1;
	}
	return rc;
}

int
user_load(struct store_txn *t, const char *id, struct st_user *u)
{
	return entity_load(t, &user_entity, id, u);
}

const struct st_member *
user_acting(struct store_txn *t, const struct st_user *u)
{
	uint32_t i;

	for (i = 0; i < u->n && !t->err; i++)
		if (st_user_acts(u, u->mems[i].org) == &u->mems[i] &&
		    store_org_exists(t, u->mems[i].org) == 1)
			return &u->mems[i];
	return NULL;
}

/* A member of org by id, else "no such user" (t failed): 0 or -1. */
static int
member_must(struct store_txn *t, const char *org, const char *id,
    struct st_user *u)
{
	if (entity_must(t, &user_entity, NULL, id, u) < 0)
		return -1;
	if (st_user_member(u, org) == NULL) {
		st_user_free(u);
		store_fail(t, PROTO_E_NOT_FOUND, user_entity.none);
		return -1;
	}
	return 0;
}

/*
 * u as a member of org (its role there): 0, or -1 with t failed (out of
 * memory, or before: then v is left as it was).
 */
static int
member_view(struct store_txn *t, const struct st_user *u, const char *org,
    struct st_member_view *v)
{
	const struct st_member *m = st_user_member(u, org);

	if (t->err)
		return -1;
	memset(v, 0, sizeof(*v));
	strlcpy(v->id, u->id, sizeof(v->id));
	strlcpy(v->email, u->email, sizeof(v->email));
	if ((v->name = strdup(u->name != NULL ? u->name : "")) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	v->role = m != NULL ? m->role : ST_ROLE_NONE;
	v->disabled = u->disabled || (m != NULL && m->disabled);
	v->created_at = u->created_at;
	v->updated_at = u->updated_at;
	return 0;
}

/*
 * Calls fn for each member of org in the index's order (by user id):
 * 0, or -1 with t failed.
 */
int
store_members_each(struct store_txn *t, const char *org,
    int (*fn)(struct store_txn *, struct st_user *, void *), void *arg)
{
	uint8_t k[MEMBER_KEY_MAX];
	char id[ST_USER_ID_MAX + 1];
	size_t plen = member_key(k, org, "");
	struct st_user u;
	MDB_cursor *cur;
	MDB_val key, v;
	int rc, stop = 0, op = MDB_SET_RANGE;

	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->org_users, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	key.mv_data = k;
	key.mv_size = plen;
	while ((rc = mdb_cursor_get(cur, &key, &v, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size < plen || memcmp(key.mv_data, k, plen) != 0)
			break;
		if (key.mv_size != plen + ST_USER_ID_MAX) {
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		memcpy(id, (uint8_t *)key.mv_data + plen, ST_USER_ID_MAX);
		id[ST_USER_ID_MAX] = '\0';
		if (entity_load(t, &user_entity, id, &u) != 0) {
			if (!t->err)
				store_fail(t, PROTO_E_INTERNAL,
				    "inconsistent index");
			break;
		}
		stop = fn(t, &u, arg) < 0;
		st_user_free(&u);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	/* A stop asked by fn is no LMDB error (mailbox.c's recipient cap). */
	if (!t->err && !stop && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "members");
	return t->err ? -1 : 0;
}

struct owners {
	const char *org;
	uint32_t n;
};

static int
owner_count(struct store_txn *t, struct st_user *u, void *arg)
{
	struct owners *o = arg;
	const struct st_member *m = st_user_acts(u, o->org);

	if (m != NULL && m->role == ST_ROLE_OWNER)
		o->n++;
	return 0;
}

/*
 * 1 when u is org's last enabled owner, 0 when not, -1 on t's error.
 */
static int
last_owner(struct store_txn *t, const char *org, const struct st_user *u)
{
	const struct st_member *m = st_user_acts(u, org);
	struct owners o = { org, 0 };

	if (m == NULL || m->role != ST_ROLE_OWNER)
		return 0;
	if (store_members_each(t, org, owner_count, &o) < 0)
		return -1;
	return o.n <= 1;
}

/* ------------------------------------------------------------- changes */

/* Whether u has a membership not disabled. */
static int
acts_anywhere(const struct st_user *u)
{
	uint32_t i;

	for (i = 0; i < u->n; i++)
		if (!u->mems[i].disabled)
			return 1;
	return 0;
}

/* u's changes saved; its sessions end when end (gone set). */
static void
user_changed(struct store_txn *t, struct st_user *u, int end,
    char gone[ST_USER_ID_MAX + 1])
{
	entity_touch(t, &user_entity, u);
	entity_save(t, &user_entity, u);
	if (end && dsess_end_user(t, u->id, NULL) == 0)
		strlcpy(gone, u->id, ST_USER_ID_MAX + 1);
}

/* A membership added (org must exist): 0, or -1 with t failed. */
static int
member_add(struct store_txn *t, struct st_user *u, const char *org,
    uint8_t role)
{
	struct st_member *m;
	int rc;

	if ((rc = store_org_exists(t, org)) <= 0) {
		if (rc == 0)
			store_fail(t, PROTO_E_NOT_FOUND,
			    "no such organization");
		return -1;
	}
	if (u->n >= ST_MEMBERSHIPS_MAX) {
		store_fail(t, PROTO_E_INVALID,
		    "memberships: at most 100 organizations");
		return -1;
	}
	if ((m = reallocarray(u->mems, u->n + 1, sizeof(*m))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	u->mems = m;
	memset(&m[u->n], 0, sizeof(m[u->n]));
	strlcpy(m[u->n].org, org, sizeof(m[u->n].org));
	m[u->n].role = role;
	u->n++;
	member_put(t, org, u->id);
	return t->err ? -1 : 0;
}

/* A new user: 0, or -1 with t failed. out: as stored (to free). */
static int
user_make(struct store_txn *t, const char *email, const char *name,
    const uint8_t *salt, const uint8_t *hash, const char *org, uint8_t role,
    struct st_user *out)
{
	struct st_member m;
	struct st_user in;
	const char *bad;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&m, 0, sizeof(m));
	if ((bad = st_email_normal(email, in.email)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad), -1;
	if ((rc = store_org_exists(t, org)) <= 0) {
		if (rc == 0)
			store_fail(t, PROTO_E_NOT_FOUND,
			    "no such organization");
		return -1;
	}
	strlcpy(m.org, org, sizeof(m.org));
	m.role = role;
	in.name = (char *)name;
	in.mems = &m;
	in.n = 1;
	memcpy(in.salt, salt, sizeof(in.salt));
	memcpy(in.hash, hash, sizeof(in.hash));
	return entity_create(t, &user_entity, NULL, &in, out) == 0 ? 0 : -1;
}

/* The membership in org dropped from u's list (and the index). */
static void
member_drop(struct store_txn *t, struct st_user *u, const char *org)
{
	uint32_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->mems[i].org, org) == 0) {
			memmove(&u->mems[i], &u->mems[i + 1],
			    (u->n - i - 1) * sizeof(u->mems[i]));
			u->n--;
			break;
		}
	member_del(t, org, u->id);
}

/*
 * u, deleted, remembered when it is DASHBOARD_PASSWORD's first owner
 * (only ST_USER_BOOT gives an account a fingerprint): its fingerprint and
 * email in meta, so the next worker's ST_USER_BOOT does not make it again,
 * an owner as before, which undid an owner's Remove at each restart.
 */
static void
boot_gone_note(struct store_txn *t, const struct st_user *u)
{
	static const uint8_t zero[ST_USER_FP_LEN];
	uint8_t v[1 + ST_USER_FP_LEN + ST_EMAIL_MAX];
	size_t n = strlen(u->email);

	if (CRYPTO_memcmp(u->fp, zero, sizeof(zero)) == 0 ||
	    n > ST_EMAIL_MAX)
		return;
	v[0] = ST_RECORD_VERSION;
	memcpy(v + 1, u->fp, ST_USER_FP_LEN);
	memcpy(v + 1 + ST_USER_FP_LEN, u->email, n);
	db_put(t, t->st->meta, BOOT_GONE_KEY, strlen(BOOT_GONE_KEY), v,
	    1 + ST_USER_FP_LEN + n, "first owner removed");
}

/*
 * Whether ST_USER_BOOT's account (email, normalised, and fingerprint fp)
 * is the one an owner removed under this same DASHBOARD_PASSWORD: 1 yes,
 * 0 no, -1 t failed.
 */
static int
boot_gone(struct store_txn *t, const char *email, const uint8_t *fp)
{
	size_t n = strlen(email);
	const uint8_t *p;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, BOOT_GONE_KEY, strlen(BOOT_GONE_KEY),
	    &v, "first owner removed")) != 0)
		return rc < 0 ? -1 : 0;
	p = v.mv_data;
	if (v.mv_size < 1 + ST_USER_FP_LEN || p[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, BOOT_GONE_KEY);
		return -1;
	}
	return v.mv_size == 1 + ST_USER_FP_LEN + n &&
	    CRYPTO_memcmp(p + 1, fp, ST_USER_FP_LEN) == 0 &&
	    memcmp(p + 1 + ST_USER_FP_LEN, email, n) == 0;
}

/*
 * u's membership of org ended: with its last, the user is deleted (its
 * email index and sessions with it); else its sessions stay, acting in
 * its other organisations. gone set either way: its event streams end
 * and open again where it still may.
 */
static void
membership_end(struct store_txn *t, struct st_user *u, const char *org,
    char gone[ST_USER_ID_MAX + 1])
{
	if (u->n <= 1) {
		entity_remove(t, &user_entity, u);
		boot_gone_note(t, u);
		store_mail_user_gone(t, u->id);
		store_user_reads_gone(t, u->id);
		if (dsess_end_user(t, u->id, NULL) == 0)
			strlcpy(gone, u->id, ST_USER_ID_MAX + 1);
	} else {
		member_drop(t, u, org);
		user_changed(t, u, 0, NULL);
		strlcpy(gone, u->id, ST_USER_ID_MAX + 1);
	}
}

/* ------------------------------------------------------------ requests */

int
store_user_auth(struct store_txn *t, const char *email,
    struct st_user_auth_rep *out)
{
	struct st_user u;
	int rc;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if ((rc = user_by_email(t, email, &u)) < 0)
		return t->err;
	if (rc == 0) {
		out->found = 1;
		strlcpy(out->s.id, u.id, sizeof(out->s.id));
		memcpy(out->s.salt, u.salt, sizeof(u.salt));
		out->s.salt_len = sizeof(u.salt);
		memcpy(out->s.hash, u.hash, sizeof(u.hash));
		out->s.hash_len = sizeof(u.hash);
		/* Acting nowhere: its right password logs in no more. */
		out->s.disabled = user_acting(t, &u) == NULL;
		st_user_free(&u);
	}
	return 0;
}

/*
 * u, the first owner's account, an owner of the default organisation
 * again, its membership there on: 0, or -1 with t failed. (Another
 * organisation may have made the account first, by an invitation
 * accepted before the operator's first login.)
 */
static int
boot_owner(struct store_txn *t, struct st_user *u)
{
	uint32_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->mems[i].org, ST_ORG_DEFAULT) == 0) {
			u->mems[i].role = ST_ROLE_OWNER;
			u->mems[i].disabled = 0;
			return 0;
		}
	return member_add(t, u, ST_ORG_DEFAULT, ST_ROLE_OWNER);
}

int
store_user_boot(struct store_txn *t, const struct st_user_boot_req *q,
    uint8_t *changed, char gone[ST_USER_ID_MAX + 1])
{
	char email[ST_EMAIL_MAX + 1];
	struct st_user u;
	int rc;

	if (t->err)
		return t->err;
	*changed = 0;
	/*
	 * Removed by an owner since this password made it: it stays removed
	 * until DASHBOARD_PASSWORD changes, and an account made for the
	 * email since (an invitation, parleyctl) is not taken over either.
	 */
	if (st_email_normal(q->email, email) == NULL &&
	    (rc = boot_gone(t, email, q->fp)) != 0) {
		if (rc == 1)
			log_info("%s was removed by an owner: not made again "
			    "until DASHBOARD_PASSWORD changes", email);
		return t->err;
	}
	if ((rc = user_by_email(t, q->email, &u)) < 0)
		return t->err;
	if (rc == 1) {
		db_del_quiet(t, t->st->meta, BOOT_GONE_KEY,
		    strlen(BOOT_GONE_KEY), "first owner removed");
		if (user_make(t, q->email, q->name, q->salt, q->hash,
		    ST_ORG_DEFAULT, ST_ROLE_OWNER, &u) < 0)
			return t->err;
		memcpy(u.fp, q->fp, sizeof(u.fp));
		entity_save(t, &user_entity, &u);
		*changed = 1;
		log_info("made the first owner, %s", u.email);
	} else if (CRYPTO_memcmp(u.fp, q->fp, sizeof(u.fp)) != 0) {
		/* DASHBOARD_PASSWORD changed since it was last set (or never). */
		if (boot_owner(t, &u) < 0) {
			st_user_free(&u);
			return t->err;
		}
		memcpy(u.salt, q->salt, sizeof(u.salt));
		memcpy(u.hash, q->hash, sizeof(u.hash));
		memcpy(u.fp, q->fp, sizeof(u.fp));
		user_changed(t, &u, 1, gone);
		*changed = 2;
		log_info("%s: password set from DASHBOARD_PASSWORD", u.email);
	}
	st_user_free(&u);
	return t->err;
}

struct listing {
	const char *org;
	struct st_members *out;
};

static int
list_one(struct store_txn *t, struct st_user *u, void *arg)
{
	struct listing *l = arg;

	if (l->out->n >= ST_USERS_MAX)
		return 0;
	return member_view(t, u, l->org, &l->out->m[l->out->n++]);
}

int
store_user_list(struct store_txn *t, const char *org, struct st_members *out)
{
	struct listing l = { org, out };
	MDB_stat ms;
	int rc;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if ((rc = mdb_stat(t->txn, t->st->users, &ms)) != 0)
		return txn_lmdb(t, rc, "users");
	if ((out->m = calloc(ms.ms_entries + 1, sizeof(*out->m))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (store_members_each(t, org, list_one, &l) < 0) {
		st_rep_free(PROTO_ST_USER_LIST, out);
		memset(out, 0, sizeof(*out));
	}
	return t->err;
}

/* --------------------------------------------------------- invitations */

/* A stored invitation into iv: 0, or -1 logged (t failed). */
static int
invite_decode(struct store_txn *t, const MDB_val *v, struct st_invite *iv)
{
	return rec_dec_rows(t, v, &st_invite_layout, iv, "invitation");
}

/* 0 loaded, 1 absent, -1 error. */
static int
invite_load(struct store_txn *t, const uint8_t *hash, struct st_invite *iv)
{
	MDB_val v;
	int rc;

	memset(iv, 0, sizeof(*iv));
	if ((rc = db_get(t, t->st->invites, hash, ST_INVITE_HASH_LEN, &v,
	    "invitation")) != 0)
		return rc;
	return invite_decode(t, &v, iv);
}

/* An invitation's entry in invite_org: org NUL hash. */
static size_t
invite_org_key(const char *org, const uint8_t *hash,
    uint8_t k[ST_WHO_ORG_MAX + 1 + ST_INVITE_HASH_LEN])
{
	size_t o = org_prefix(org, k);

	memcpy(k + o, hash, ST_INVITE_HASH_LEN);
	return o + ST_INVITE_HASH_LEN;
}

static void
invite_save(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv)
{
	uint8_t k[ST_WHO_ORG_MAX + 1 + ST_INVITE_HASH_LEN];

	rec_put_rows(t, t->st->invites, hash, ST_INVITE_HASH_LEN,
	    &st_invite_layout, iv, "put invitation");
	db_mark(t, t->st->invite_org, k, invite_org_key(iv->org, hash, k),
	    "put invitation org");
}

/* The organisation's entry of the invitation iv under hash deleted. */
static void
invite_drop_org(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv)
{
	uint8_t k[ST_WHO_ORG_MAX + 1 + ST_INVITE_HASH_LEN];

	db_del_quiet(t, t->st->invite_org, k, invite_org_key(iv->org, hash, k),
	    "delete invitation org");
}

/* The invitation iv under hash deleted, with its organisation's entry. */
static void
invite_drop(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv)
{
	db_del(t, t->st->invites, hash, ST_INVITE_HASH_LEN,
	    "delete invitation");
	invite_drop_org(t, hash, iv);
}

/* What an invite_fn tells its walk: bits of these. */
#define INVITE_STOP	1	/* no more */
#define INVITE_DROP	2	/* this one deleted */

/* An invitation iv under hash: INVITE_STOP, INVITE_DROP, both, or 0. */
typedef int (*invite_fn)(struct store_txn *, const uint8_t *hash,
    const struct st_invite *iv, void *);

/*
 * Calls fn for each of org's stored invitations (NULL: every
 * organisation's), expired or not, through invite_org (or invites), and
 * deletes those it says: 0, or -1 with t failed.
 */
static int
invites_walk(struct store_txn *t, const char *org, invite_fn fn, void *arg)
{
	uint8_t p[ST_WHO_ORG_MAX + 1], hash[ST_INVITE_HASH_LEN];
	size_t plen = org != NULL ? org_prefix(org, p) : 0;
	MDB_dbi dbi = org != NULL ? t->st->invite_org : t->st->invites;
	struct st_invite iv;
	MDB_cursor *cur;
	MDB_val k = { plen, p }, v;
	int rc, lrc, what, op = org != NULL ? MDB_SET_RANGE : MDB_FIRST;

	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	while (!t->err && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (!key_in(&k, p, plen)) {
			rc = MDB_NOTFOUND;	/* past the organisation's */
			break;
		}
		lrc = -1;
		if (k.mv_size == plen + ST_INVITE_HASH_LEN) {
			memcpy(hash, (uint8_t *)k.mv_data + plen, sizeof(hash));
			lrc = org != NULL ? invite_load(t, hash, &iv) :
			    invite_decode(t, &v, &iv);
		}
		if (lrc != 0) {
			if (!t->err)
				store_fail(t, PROTO_E_INTERNAL,
				    "inconsistent invitations");
			break;
		}
		what = fn(t, hash, &iv, arg);
		/* The entry under the cursor, then the other database's. */
		if (what & INVITE_DROP) {
			if ((rc = db_cursor_del(t, cur, dbi, &k)) != 0)
				txn_lmdb(t, rc, "delete invitation");
			else if (org != NULL)
				db_del(t, t->st->invites, hash,
				    ST_INVITE_HASH_LEN, "delete invitation");
			else
				invite_drop_org(t, hash, &iv);
		}
		st_invite_free(&iv);
		if (what & INVITE_STOP)
			break;
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "invitations");
	return t->err ? -1 : 0;
}

static int
invite_expired(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	return iv->expires_at <= t->st->now() ? INVITE_DROP : 0;
}

static int
invite_count_one(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	size_t *n = arg;

	if (invite_expired(t, hash, iv, NULL))
		return INVITE_DROP;
	(*n)++;
	return 0;
}

/* How many invitations every organisation holds: 0, or -1 with t failed. */
static int
invites_total(struct store_txn *t, size_t *n)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(t->txn, t->st->invites, &ms)) != 0)
		return txn_lmdb(t, rc, "stat invitations"), -1;
	*n = ms.ms_entries;
	return 0;
}

/*
 * org's expired invitations deleted; *in_org: how many of its remain,
 * *left: how many of every organisation's. At the install's ceiling, the
 * others' expired ones are deleted too before they count.
 */
static void
invites_sweep(struct store_txn *t, const char *org, size_t *left,
    size_t *in_org)
{
	*left = *in_org = 0;
	if (invites_walk(t, org, invite_count_one, in_org) < 0 ||
	    invites_total(t, left) < 0)
		return;
	if (*left >= ST_INVITES_ALL_MAX &&
	    invites_walk(t, NULL, invite_expired, NULL) == 0)
		(void)invites_total(t, left);
}

static int
invite_index_one(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	uint8_t k[ST_WHO_ORG_MAX + 1 + ST_INVITE_HASH_LEN];

	db_mark(t, t->st->invite_org, k, invite_org_key(iv->org, hash, k),
	    "put invitation org");
	return 0;
}

/*
 * invite_org made again from invites when the two do not hold as many
 * entries (a data directory of before it).
 */
static int
userstore_init(struct store_txn *t)
{
	size_t all;

	if (index_stale(t, t->st->invites, t->st->invite_org,
	    "invitation org index", &all) <= 0)
		return t->err;
	if (invites_walk(t, NULL, invite_index_one, NULL) == 0)
		log_info("listed %zu invitations by organization", all);
	return t->err;
}

const struct store_module userstore_module = {
	.name = "users",
	.init = userstore_init,
};

/*
 * Whether the pending invitation under hash is another organisation's
 * than org: t then failed (a token names one invitation; one
 * organisation's is never replaced by another's). 0 none, or org's own:
 * the request again.
 */
static int
invite_other_org(struct store_txn *t, const uint8_t *hash, const char *org)
{
	struct st_invite old;
	int rc;

	if ((rc = invite_load(t, hash, &old)) != 0)
		return rc < 0 ? -1 : 0;
	rc = strcmp(old.org, org) != 0;
	st_invite_free(&old);
	if (rc)
		store_fail(t, PROTO_E_EXISTS, "token_hash: another "
		    "organization's invitation has it");
	return rc ? -1 : 0;
}

int
store_user_invite(struct store_txn *t, const char *org,
    const struct st_user_invite_req *q, struct st_user_invite_rep *out)
{
	struct st_invite iv;
	struct st_user u;
	const char *bad;
	size_t left, in_org;
	int rc;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	memset(&iv, 0, sizeof(iv));
	if ((bad = st_email_normal(q->email, iv.email)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if (q->role < ST_ROLE_AGENT || q->role > ST_ROLE_OWNER)
		return store_fail(t, PROTO_E_INVALID,
		    "role: must be owner, admin or agent");
	if (q->token_hash_len != ST_INVITE_HASH_LEN)
		return store_fail(t, PROTO_E_INVALID,
		    "token_hash must be 32 bytes");
	if ((rc = user_by_email(t, iv.email, &u)) < 0)
		return t->err;
	if (rc == 0) {
		rc = st_user_member(&u, org) != NULL;
		st_user_free(&u);
		if (rc) {
			out->result = 1;
			return 0;
		}
	}
	invites_sweep(t, org, &left, &in_org);
	if (t->err)
		return t->err;
	if (in_org >= ST_INVITES_MAX)
		return store_fail(t, PROTO_E_INVALID, "invitations: at most "
		    "1000 pending in an organization (revoke some first)");
	if (left >= ST_INVITES_ALL_MAX)
		return store_fail(t, PROTO_E_INVALID, "invitations: this "
		    "server's ceiling of 20000 pending in all organizations "
		    "is reached");
	if (invite_other_org(t, q->token_hash, org) != 0)
		return t->err;
	strlcpy(iv.org, org, sizeof(iv.org));
	iv.role = q->role;
	iv.created_at = t->st->now();
	iv.expires_at = iv.created_at + ST_INVITE_MS;
	invite_save(t, q->token_hash, &iv);
	strlcpy(out->e.email, iv.email, sizeof(out->e.email));
	out->e.role = iv.role;
	out->e.expires_at = iv.expires_at;
	return t->err;
}

/*
 * u, the invited email's account, joins iv's organisation (a member
 * already, disabled there or not, stays as it is), the invitation
 * (under hash) dropped: result 2. u is freed.
 */
static int
invite_joined(struct store_txn *t, const uint8_t *hash, struct st_user *u,
    const struct st_invite *iv, struct st_invite_accept_rep *out)
{
	if (st_user_member(u, iv->org) == NULL &&
	    member_add(t, u, iv->org, iv->role) == 0)
		user_changed(t, u, 0, NULL);
	invite_drop(t, hash, iv);
	out->result = 2;
	strlcpy(out->d.user, u->id, sizeof(out->d.user));
	strlcpy(out->d.org, iv->org, sizeof(out->d.org));
	strlcpy(out->d.email, iv->email, sizeof(out->d.email));
	st_user_free(u);
	return t->err;
}

/*
 * The invitation iv (under hash) taken by the signed-in account user:
 * joined when it is the invited email's (result 2), else "no such
 * invitation" (result 1), so a token tells no other account anything.
 */
static int
invite_join(struct store_txn *t, const uint8_t *hash, const char *user,
    const struct st_invite *iv, struct st_invite_accept_rep *out)
{
	struct st_user u;
	int rc;

	if ((rc = user_load(t, user, &u)) < 0)
		return t->err;
	if (rc == 1 || strcmp(u.email, iv->email) != 0) {
		if (rc == 0)
			st_user_free(&u);
		out->result = 1;
		return 0;
	}
	return invite_joined(t, hash, &u, iv, out);
}

/*
 * The anonymous acceptance's password proves u, the invited email's
 * account, when its salt is u's (ST_INVITE_SALT gave it) and its hash
 * is u's, compared in constant time: 1, else 0.
 */
static int
invite_proves(const struct st_user *u, const struct st_invite_accept_req *q)
{
	int same;

	same = q->salt_len == sizeof(u->salt) &&
	    memcmp(q->salt, u->salt, sizeof(u->salt)) == 0;
	same &= q->hash_len == sizeof(u->hash) &&
	    CRYPTO_memcmp(q->hash, u->hash, sizeof(u->hash)) == 0;
	return same;
}

/*
 * The invitation iv (under hash) taken anonymously, with a name and a
 * password: the invited email's new account made (result 0). When the
 * email has an account, the password is that account's proof: its own
 * (hashed with its salt, ST_INVITE_SALT's) joins it (result 2: an
 * account disabled in every organisation, which cannot sign in to
 * accept, too); another does nothing (result 3: answered as 0 is): the
 * invitation stays open, so the account's holder may try its password
 * again, or accept signed in.
 */
static int
invite_new(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, const struct st_invite_accept_req *q,
    struct st_invite_accept_rep *out)
{
	struct st_user u;
	const char *bad;
	int rc;

	if ((bad = st_user_name_invalid(q->name)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if ((rc = user_by_email(t, iv->email, &u)) < 0)
		return t->err;
	if (rc == 0 && invite_proves(&u, q))
		return invite_joined(t, hash, &u, iv, out);
	if (rc == 0) {
		st_user_free(&u);
		out->result = 3;
		strlcpy(out->d.org, iv->org, sizeof(out->d.org));
		strlcpy(out->d.email, iv->email, sizeof(out->d.email));
		return t->err;
	}
	if (user_make(t, iv->email, q->name, q->salt, q->hash, iv->org,
	    iv->role, &u) < 0)
		return t->err;
	invite_drop(t, hash, iv);
	strlcpy(out->d.user, u.id, sizeof(out->d.user));
	strlcpy(out->d.org, iv->org, sizeof(out->d.org));
	strlcpy(out->d.email, iv->email, sizeof(out->d.email));
	st_user_free(&u);
	return t->err;
}

/*
 * The invitation of a token's hash (hash_len bytes), still usable, into
 * iv: 0. Else *result 1 (none, past its expiry, or its organisation
 * gone: the answer's; with drop, a spent one dropped, for nothing) and
 * 1, or -1 with t failed (a hash of another length is invalid).
 */
static int
invite_usable(struct store_txn *t, const uint8_t *hash, size_t hash_len,
    struct st_invite *iv, uint8_t *result, int drop)
{
	int rc;

	if (hash_len != ST_INVITE_HASH_LEN)
		return store_fail(t, PROTO_E_INVALID,
		    "token_hash must be 32 bytes"), -1;
	if ((rc = invite_load(t, hash, iv)) != 0) {
		*result = 1;
		return rc < 0 ? -1 : 1;
	}
	if (iv->expires_at > t->st->now() &&
	    (rc = store_org_exists(t, iv->org)) != 0) {
		if (rc > 0)
			return 0;
		st_invite_free(iv);
		return -1;
	}
	if (drop)
		invite_drop(t, hash, iv);
	st_invite_free(iv);
	*result = 1;
	return t->err ? -1 : 1;
}

int
store_invite_accept(struct store_txn *t,
    const struct st_invite_accept_req *q, struct st_invite_accept_rep *out)
{
	struct st_invite iv;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if (invite_usable(t, q->token_hash, q->token_hash_len, &iv,
	    &out->result, 1) != 0)
		return t->err;
	if (q->user != NULL && q->user[0] != '\0')
		return invite_join(t, q->token_hash, q->user, &iv, out);
	return invite_new(t, q->token_hash, &iv, q, out);
}

/* What the invitation's holder may see of iv into a: 0, or -1 on t's error. */
static int
invite_about(struct store_txn *t, const struct st_invite *iv,
    struct st_invite_about *a)
{
	struct st_org o;

	if (store_org_get(t, iv->org, &o) != 0)
		return -1;
	strlcpy(a->org, iv->org, sizeof(a->org));
	strlcpy(a->org_name, o.name != NULL ? o.name : "",
	    sizeof(a->org_name));
	strlcpy(a->email, iv->email, sizeof(a->email));
	a->role = iv->role;
	st_org_free(&o);
	return 0;
}

int
store_invite_salt(struct store_txn *t, const struct st_invite_salt_req *q,
    struct st_invite_salt_rep *out)
{
	struct st_invite iv;
	struct st_user u;
	int rc;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	/* As ST_INVITE_ACCEPT finds it (read only: the spent are its to drop). */
	if (invite_usable(t, q->token_hash, q->token_hash_len, &iv,
	    &out->result, 0) != 0)
		return t->err;
	if (invite_about(t, &iv, &out->a) < 0) {
		st_invite_free(&iv);
		return t->err;
	}
	rc = user_by_email(t, iv.email, &u);
	st_invite_free(&iv);
	if (rc < 0)
		return t->err;
	if (rc == 0) {
		out->result = 2;
		memcpy(out->s.salt, u.salt, sizeof(u.salt));
		out->s.salt_len = sizeof(u.salt);
		st_user_free(&u);
	}
	return 0;
}

/* The invitation's id: "inv_" and its hash's first 16 bytes, hex. */
static void
invite_id(const uint8_t *hash, char id[ST_INVITE_ID_MAX + 1])
{
	size_t p = strlen(ST_INVITE_PREFIX);

	memcpy(id, ST_INVITE_PREFIX, p);
	proto_hex_encode(hash, ST_ID_HEX / 2, id + p);
}

struct invites_of {
	invite_fn fn;
	void *arg;
};

static int
invite_pending(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	struct invites_of *o = arg;

	if (invite_expired(t, hash, iv, NULL))
		return 0;
	return o->fn(t, hash, iv, o->arg);
}

/*
 * Calls fn for each of org's pending invitations (expired ones are
 * skipped): 0, or -1 with t failed.
 */
static int
invites_each(struct store_txn *t, const char *org, invite_fn fn, void *arg)
{
	struct invites_of o = { fn, arg };

	return invites_walk(t, org, invite_pending, &o);
}

static int
invite_list_one(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	struct st_invites *out = arg;
	struct st_invite_view *v;

	if (out->n >= ST_INVITES_MAX)
		return INVITE_STOP;
	v = &out->v[out->n++];
	invite_id(hash, v->id);
	strlcpy(v->email, iv->email, sizeof(v->email));
	v->role = iv->role;
	v->created_at = iv->created_at;
	v->expires_at = iv->expires_at;
	return 0;
}

int
store_invite_list(struct store_txn *t, const char *org,
    struct st_invites *out)
{
	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if ((out->v = calloc(ST_INVITES_MAX, sizeof(*out->v))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (invites_each(t, org, invite_list_one, out) < 0) {
		free(out->v);
		memset(out, 0, sizeof(*out));
	}
	return t->err;
}

struct revoke {
	const char *id;
	int found;
};

static int
invite_revoke_one(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	struct revoke *r = arg;
	char id[ST_INVITE_ID_MAX + 1];

	invite_id(hash, id);
	if (strcmp(id, r->id) != 0)
		return 0;
	r->found = 1;
	return INVITE_DROP | INVITE_STOP;
}

int
store_invite_revoke(struct store_txn *t, const char *org, const char *id)
{
	struct revoke r = { id, 0 };

	if (t->err)
		return t->err;
	if (invites_each(t, org, invite_revoke_one, &r) == 0 && !r.found)
		store_fail(t, PROTO_E_NOT_FOUND, "no such invitation");
	return t->err;
}

/* ----------------------------------------------------- members' changes */

int
store_user_update(struct store_txn *t, const char *org,
    const struct st_user_update_req *q, struct st_user_update_rep *out,
    char gone[ST_USER_ID_MAX + 1])
{
	struct st_member *m;
	struct st_user u;
	int demotes, end = 0, restream = 0;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if (q->mask & ~ST_UF_ALL)
		return store_fail(t, PROTO_E_INVALID, "mask: unknown fields");
	if ((q->mask & ST_UF_ROLE) && (q->role < ST_ROLE_AGENT ||
	    q->role > ST_ROLE_OWNER))
		return store_fail(t, PROTO_E_INVALID,
		    "role: must be owner, admin or agent");
	if ((q->mask & ST_UF_DISABLED) && q->disabled > 1)
		return store_fail(t, PROTO_E_INVALID,
		    "disabled: must be 0 or 1");
	if (member_must(t, org, q->id, &u) < 0)
		return t->err;
	m = (struct st_member *)st_user_member(&u, org);
	demotes = ((q->mask & ST_UF_ROLE) && q->role < ST_ROLE_OWNER) ||
	    ((q->mask & ST_UF_DISABLED) && q->disabled);
	if (demotes) {
		switch (last_owner(t, org, &u)) {
		case 1:
			out->result = 1;
			/* FALLTHROUGH */
		case -1:
			st_user_free(&u);
			return t->err;
		}
	}
	/* Another role: its streams, opened as the old one, end too. */
	if ((q->mask & ST_UF_ROLE) && q->role != m->role) {
		m->role = q->role;
		restream = 1;
	}
	/*
	 * In org only: the account and its other memberships stay, and its
	 * sessions while it may still act somewhere. Disabled in its last,
	 * they end (a session that can act nowhere could not even log out,
	 * and came back with the membership).
	 */
	if ((q->mask & ST_UF_DISABLED) && q->disabled != m->disabled) {
		m->disabled = q->disabled;
		end = m->disabled;
	}
	user_changed(t, &u, end && !acts_anywhere(&u), gone);
	/* Its event streams end (and open again where it still may act). */
	if (end || restream)
		strlcpy(gone, u.id, ST_USER_ID_MAX + 1);
	member_view(t, &u, org, &out->m);
	st_user_free(&u);
	return t->err;
}

/* An invitation of the email arg: dropped. */
static int
invite_of_email(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	return strcmp(iv->email, arg) == 0 ? INVITE_DROP : 0;
}

/*
 * The member removed from org, and org's pending invitations of its
 * email with it: a spare link (the owner sent one again) would let it
 * back in with the role it names.
 */
int
store_user_delete(struct store_txn *t, const char *org, const char *id,
    uint8_t *result, char gone[ST_USER_ID_MAX + 1])
{
	struct st_user u;
	int rc;

	if (t->err)
		return t->err;
	*result = 0;
	if (member_must(t, org, id, &u) < 0)
		return t->err;
	if ((rc = last_owner(t, org, &u)) != 0) {
		if (rc == 1)
			*result = 1;
		st_user_free(&u);
		return t->err;
	}
	if (invites_walk(t, org, invite_of_email, u.email) == 0)
		membership_end(t, &u, org, gone);
	st_user_free(&u);
	return t->err;
}

int
store_user_set(struct store_txn *t, const char *org,
    const struct st_user_set_req *q, struct st_user_set_rep *out,
    char gone[ST_USER_ID_MAX + 1])
{
	struct st_user u;
	const char *bad;
	int rc;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if (q->mode > ST_USER_SET_PASSWORD)
		return store_fail(t, PROTO_E_INVALID, "mode: 0 or 1");
	if ((rc = user_by_email(t, q->email, &u)) < 0)
		return t->err;
	if (q->mode == ST_USER_SET_PASSWORD) {
		if (rc == 1) {
			out->result = 1;
			return 0;
		}
		memcpy(u.salt, q->salt, sizeof(u.salt));
		memcpy(u.hash, q->hash, sizeof(u.hash));
		user_changed(t, &u, 1, gone);
	} else {
		if (q->role < ST_ROLE_AGENT || q->role > ST_ROLE_OWNER) {
			st_user_free(&u);
			return store_fail(t, PROTO_E_INVALID,
			    "role: must be owner, admin or agent");
		}
		if (rc == 1) {
			if ((bad = st_user_name_invalid(q->name)) != NULL)
				return store_fail(t, PROTO_E_INVALID, bad);
			if (user_make(t, q->email, q->name, q->salt, q->hash,
			    org, q->role, &u) < 0)
				return t->err;
		} else if (st_user_member(&u, org) != NULL) {
			st_user_free(&u);
			out->result = 2;
			return 0;
		} else if (member_add(t, &u, org, q->role) == 0)
			user_changed(t, &u, 0, NULL);
	}
	member_view(t, &u, org, &out->m);
	st_user_free(&u);
	return t->err;
}

/* u's name set to name (checked): 0, or -1 with t failed. */
static int
self_name(struct store_txn *t, struct st_user *u, const char *name)
{
	const char *bad;
	char *s;

	if ((bad = st_user_name_invalid(name)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad), -1;
	if ((s = strdup(name)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	free(u->name);
	u->name = s;
	return 0;
}

int
store_user_self(struct store_txn *t, const struct st_who *who,
    const struct st_user_self_req *q, struct st_user_self_rep *out,
    char gone[ST_USER_ID_MAX + 1])
{
	struct st_user u;

	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if (who == NULL || who->user[0] == '\0')
		return store_fail(t, PROTO_E_INVALID,
		    "a profile is a dashboard user's own");
	if (q->mode > ST_SELF_PASSWORD)
		return store_fail(t, PROTO_E_INVALID, "mode: 0, 1 or 2");
	if (q->mode == ST_SELF_PASSWORD && (q->salt_len != sizeof(q->salt) ||
	    q->hash_len != sizeof(q->hash) || q->old_len != sizeof(q->old)))
		return store_fail(t, PROTO_E_INVALID,
		    "a password needs its salt, hash and the old hash");
	if (member_must(t, who->org, who->user, &u) < 0)
		return t->err;
	if (q->mode == ST_SELF_NAME && self_name(t, &u, q->name) == 0)
		user_changed(t, &u, 0, NULL);
	else if (q->mode == ST_SELF_PASSWORD &&
	    CRYPTO_memcmp(u.hash, q->old, sizeof(u.hash)) != 0)
		out->result = 1;
	else if (q->mode == ST_SELF_PASSWORD) {
		memcpy(u.salt, q->salt, sizeof(u.salt));
		memcpy(u.hash, q->hash, sizeof(u.hash));
		entity_touch(t, &user_entity, &u);
		entity_save(t, &user_entity, &u);
		if (dsess_end_user(t, u.id, who->id) == 0)
			strlcpy(gone, u.id, ST_USER_ID_MAX + 1);
	}
	if (q->mode == ST_SELF_READ) {
		memcpy(out->salt, u.salt, sizeof(u.salt));
		out->salt_len = sizeof(out->salt);
		memcpy(out->hash, u.hash, sizeof(u.hash));
		out->hash_len = sizeof(out->hash);
	}
	member_view(t, &u, who->org, &out->m);
	st_user_free(&u);
	return t->err;
}

/* ------------------------------------------- a deleted organisation's */

/* At most max of org's member ids into ids: *n. 0 or t's error. */
static int
member_ids(struct store_txn *t, const char *org,
    char (*ids)[ST_USER_ID_MAX + 1], uint32_t max, uint32_t *n)
{
	uint8_t k[MEMBER_KEY_MAX];
	size_t plen = member_key(k, org, "");
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(t->txn, t->st->org_users, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	key.mv_data = k;
	key.mv_size = plen;
	rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < max && key.mv_size == plen + ST_USER_ID_MAX &&
	    memcmp(key.mv_data, k, plen) == 0) {
		memcpy(ids[*n], (uint8_t *)key.mv_data + plen, ST_USER_ID_MAX);
		ids[(*n)++][ST_USER_ID_MAX] = '\0';
		rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "members");
	return t->err;
}

/* At most max of org's memberships ended: *n. */
static int
org_members_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	char (*ids)[ST_USER_ID_MAX + 1], gone[ST_USER_ID_MAX + 1];
	struct st_user u;
	uint32_t nids = 0, i;
	int rc;

	*n = 0;
	if ((ids = calloc(max, sizeof(*ids))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (member_ids(t, org, ids, max, &nids) == 0)
		for (i = 0; i < nids && !t->err; i++) {
			if ((rc = user_load(t, ids[i], &u)) == 1) {
				/* An index entry without its user: dropped. */
				member_del(t, org, ids[i]);
				continue;
			}
			if (rc < 0)
				break;
			/* Sessions elsewhere stay: only this one is gone. */
			membership_end(t, &u, org, gone);
			st_user_free(&u);
		}
	free(ids);
	if (!t->err)
		*n = nids;
	return t->err;
}

struct invites_drop {
	uint32_t max, n;
};

static int
invite_drop_one(struct store_txn *t, const uint8_t *hash,
    const struct st_invite *iv, void *arg)
{
	struct invites_drop *d = arg;

	return INVITE_DROP | (++d->n >= d->max ? INVITE_STOP : 0);
}

/* At most max of org's invitations deleted: *n. */
static int
org_invites_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	struct invites_drop d = { max, 0 };

	*n = 0;
	if (max == 0)
		return t->err;
	(void)invites_walk(t, org, invite_drop_one, &d);
	*n = d.n;
	return t->err;
}

int
store_org_people_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	uint32_t m = 0;

	*n = 0;
	if (t->err || max == 0 || org_members_sweep(t, org, max, n) != 0)
		return t->err;
	if (*n < max && org_invites_sweep(t, org, max - *n, &m) == 0)
		*n += m;
	return t->err;
}

int
store_user_run(struct store_txn *t, const struct st_who *who, uint16_t type,
    const void *req, union store_user_rep *rep,
    char gone[ST_USER_ID_MAX + 1])
{
	const struct st_id_req *q = req;
	const char *org = who != NULL ? who->org : "";

	memset(rep, 0, sizeof(*rep));
	switch (type) {
	case PROTO_ST_USER_AUTH:
		store_user_auth(t, ((const struct st_user_auth_req *)
		    req)->email, &rep->auth);
		break;
	case PROTO_ST_USER_BOOT:
		store_user_boot(t, req, &rep->u8.v, gone);
		break;
	case PROTO_ST_USER_LIST:
		store_user_list(t, org, &rep->list);
		break;
	case PROTO_ST_USER_INVITE:
		store_user_invite(t, org, req, &rep->inv);
		break;
	case PROTO_ST_USER_UPDATE:
		store_user_update(t, org, req, &rep->upd, gone);
		break;
	case PROTO_ST_USER_DELETE:
		store_user_delete(t, org, q->id, &rep->u8.v, gone);
		break;
	case PROTO_ST_INVITE_ACCEPT:
		store_invite_accept(t, req, &rep->acc);
		break;
	case PROTO_ST_INVITE_SALT:
		store_invite_salt(t, req, &rep->salt);
		break;
	case PROTO_ST_USER_SET:
		store_user_set(t, org, req, &rep->set, gone);
		break;
	case PROTO_ST_USER_SELF:
		store_user_self(t, who, req, &rep->self, gone);
		break;
	case PROTO_ST_INVITE_LIST:
		store_invite_list(t, org, &rep->invs);
		break;
	case PROTO_ST_INVITE_REVOKE:
		store_invite_revoke(t, org, q->id);
		break;
	default:
		store_fail(t, PROTO_E_UNSUPPORTED, "not a people request");
	}
	return t->err;
}
