/*
 * storaged's people (issue 22, usermsg.h), through the dispatcher as a
 * worker asks, who asks with it: the first owner (ST_USER_BOOT: made,
 * kept, its password replaced and its sessions ended), the login's
 * lookup by email in any case, invitations (spent once, expired, already
 * a member, an existing account joined without a session, or anonymously
 * by its own password, the install's ceiling of pending ones), the
 * members' list, role and disabled changes (the last owner kept, a
 * disabled user's sessions ended and told), delete (the user gone with
 * its last membership), a user's own profile, another organisation's
 * user not found, bad emails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "usermsg.h"
#include "test_fixture.h"

#define DAY	(24ull * 3600 * 1000)
#define CSRF	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-users-XXXXXX", 0);
}

/* The text of the last refusal ask_as met (static), NULL after a success. */
static const char *said;

/*
 * One request as a session of org's owner, of account user ("": none),
 * asks it (org NULL: nobody), its reply decoded into rep when 0; gone:
 * the reply's user_gone.
 */
static int
ask_as(struct fix *f, const char *org, const char *user, uint16_t type,
    const void *req, void *rep, char gone[ST_USER_ID_MAX + 1])
{
	struct st_who who;
	struct dreply r;
	struct penc e;
	int err;

	memset(&who, 0, sizeof(who));
	who.kind = ST_WHO_SESSION;
	strlcpy(who.id, "0123456789abcdef", sizeof(who.id));
	if (org != NULL)
		strlcpy(who.org, org, sizeof(who.org));
	who.role = ST_ROLE_OWNER;
	strlcpy(who.user, user, sizeof(who.user));
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, type, req), 0);
	dispatch_one_as(f->st, f->rl, org != NULL ? &who : NULL, type, e.buf,
	    e.len, &r);
	penc_free(&e);
	said = r.err != 0 ? r.errmsg : NULL;
	if ((err = r.err) == 0 && rep != NULL)
		assert_int_equal(st_rep_decode(type, r.enc.buf, r.enc.len,
		    rep), 0);
	if (gone != NULL)
		strlcpy(gone, r.user_gone.id, ST_USER_ID_MAX + 1);
	dreply_free(&r);
	return err;
}

/* ask_as, by a session of no account. */
static int
ask(struct fix *f, const char *org, uint16_t type, const void *req,
    void *rep, char gone[ST_USER_ID_MAX + 1])
{
	return ask_as(f, org, "", type, req, rep, gone);
}

static uint8_t
boot(struct fix *f, uint8_t fpb, char gone[ST_USER_ID_MAX + 1])
{
	struct st_user_boot_req q;
	struct st_u8_rep v;

	memset(&q, 0, sizeof(q));
	q.email = ST_OWNER_EMAIL;
	q.name = "Owner";
	memset(q.salt, fpb, sizeof(q.salt));
	q.salt_len = sizeof(q.salt);
	memset(q.hash, fpb, sizeof(q.hash));
	q.hash_len = sizeof(q.hash);
	memset(q.fp, fpb, sizeof(q.fp));
	q.fp_len = sizeof(q.fp);
	assert_int_equal(ask(f, NULL, PROTO_ST_USER_BOOT, &q, &v, gone), 0);
	return v.v;
}

/* The user of email: found (id, hash's first byte) or not. */
static int
auth(struct fix *f, const char *email, char id[ST_USER_ID_MAX + 1],
    uint8_t *hb)
{
	struct st_user_auth_req q = { email };
	struct st_user_auth_rep rep;

	assert_int_equal(ask(f, NULL, PROTO_ST_USER_AUTH, &q, &rep, NULL), 0);
	if (rep.found) {
		strlcpy(id, rep.s.id, ST_USER_ID_MAX + 1);
		*hb = rep.s.hash[0];
	}
	return rep.found;
}

static void
session(struct fix *f, uint8_t hb, const char *user)
{
	struct st_dash_login_req q;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	q.csrf = CSRF;
	strlcpy(q.user, user, sizeof(q.user));
	q.expires_at = T0 + DAY;
	assert_int_equal(ask(f, NULL, PROTO_ST_DASH_LOGIN, &q, NULL, NULL), 0);
}

/* The session's valid, in org ("" its first). */
static int
check(struct fix *f, uint8_t hb, const char *org)
{
	struct st_dash_check_req q;
	struct st_dash_check_rep rep;
	int v;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	strlcpy(q.org, org, sizeof(q.org));
	assert_int_equal(ask(f, NULL, PROTO_ST_DASH_CHECK, &q, &rep, NULL), 0);
	v = rep.valid;
	st_rep_free(PROTO_ST_DASH_CHECK, &rep);
	return v;
}

static void
test_users_boot(void **state)
{
	struct fix *f = *state;
	char id[ST_USER_ID_MAX + 1], id2[ST_USER_ID_MAX + 1];
	char gone[ST_USER_ID_MAX + 1];
	uint8_t hb;

	assert_int_equal(auth(f, ST_OWNER_EMAIL, id, &hb), 0);
	assert_int_equal(boot(f, 1, gone), 1);
	assert_string_equal(gone, "");
	assert_int_equal(auth(f, "Owner@LOCALHOST", id, &hb), 1);
	assert_true(st_user_id_valid(id));
	assert_int_equal(hb, 1);
	session(f, 9, id);
	assert_int_equal(check(f, 9, ""), ST_DASH_VALID);
	/* The same password again: nothing changes. */
	assert_int_equal(boot(f, 1, gone), 0);
	assert_string_equal(gone, "");
	assert_int_equal(check(f, 9, ""), ST_DASH_VALID);
	/* Another: the password replaced, its sessions ended and told. */
	assert_int_equal(boot(f, 2, gone), 2);
	assert_string_equal(gone, id);
	assert_int_equal(auth(f, ST_OWNER_EMAIL, id2, &hb), 1);
	assert_string_equal(id2, id);
	assert_int_equal(hb, 2);
	assert_int_equal(check(f, 9, ""), ST_DASH_INVALID);
	/* Not a member of another organisation. */
	session(f, 9, id);
	assert_int_equal(check(f, 9, "org_00000000000000000000000000000000"),
	    ST_DASH_NOT_MEMBER);
	assert_int_equal(check(f, 9, "default"), ST_DASH_VALID);
}

/* An invitation into org of email as role, token hb: the ask's error. */
static int
invite(struct fix *f, const char *org, const char *email, uint8_t role,
    uint8_t hb, struct st_user_invite_rep *rep)
{
	struct st_user_invite_req q;

	memset(&q, 0, sizeof(q));
	q.email = email;
	q.role = role;
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	return ask(f, org, PROTO_ST_USER_INVITE, &q, rep, NULL);
}

/* The invitation of token hash byte hb accepted, the hash's bytes pwb. */
static int
accept_pw(struct fix *f, uint8_t hb, const char *name, uint8_t pwb,
    struct st_invite_accept_rep *rep)
{
	struct st_invite_accept_req q;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	q.name = name;
	memset(q.salt, pwb, sizeof(q.salt));
	q.salt_len = sizeof(q.salt);
	memset(q.hash, pwb, sizeof(q.hash));
	q.hash_len = sizeof(q.hash);
	return ask(f, NULL, PROTO_ST_INVITE_ACCEPT, &q, rep, NULL);
}

static int
accept(struct fix *f, uint8_t hb, const char *name,
    struct st_invite_accept_rep *rep)
{
	return accept_pw(f, hb, name, 5, rep);
}

/* The invitation of token hash bytes hb taken by the signed-in user. */
static int
accept_as(struct fix *f, uint8_t hb, const char *user,
    struct st_invite_accept_rep *rep)
{
	struct st_invite_accept_req q;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	q.name = "";
	q.salt_len = sizeof(q.salt);
	q.hash_len = sizeof(q.hash);
	q.user = user;
	return ask(f, NULL, PROTO_ST_INVITE_ACCEPT, &q, rep, NULL);
}

static void
test_users_invite(void **state)
{
	struct fix *f = *state;
	struct st_user_invite_rep iv;
	struct st_invite_accept_rep ac;
	struct st_members l;
	struct st_org org, ob;
	char id[ST_USER_ID_MAX + 1], gone[ST_USER_ID_MAX + 1];
	char other[ST_USER_ID_MAX + 1];
	uint8_t hb, ob_hb;
	uint32_t i;

	(void)boot(f, 1, gone);
	assert_int_equal(invite(f, "default", "Ann@X.test", ST_ROLE_AGENT, 3,
	    &iv), 0);
	assert_int_equal(iv.result, 0);
	assert_string_equal(iv.e.email, "ann@x.test");
	assert_int_equal(iv.e.expires_at, T0 + 7 * DAY);
	/* Bad input: named fields. */
	assert_int_equal(invite(f, "default", "no-at", ST_ROLE_AGENT, 4, &iv),
	    PROTO_E_INVALID);
	assert_int_equal(invite(f, "default", "b@x.test", 9, 4, &iv),
	    PROTO_E_INVALID);
	/* The owner is a member already. */
	assert_int_equal(invite(f, "default", ST_OWNER_EMAIL, ST_ROLE_ADMIN,
	    4, &iv), 0);
	assert_int_equal(iv.result, 1);
	/* A name is checked; the token kept then. */
	assert_int_equal(accept(f, 3, "", &ac), PROTO_E_INVALID);
	assert_int_equal(accept(f, 3, "Ann", &ac), 0);
	assert_int_equal(ac.result, 0);
	assert_string_equal(ac.d.org, "default");
	assert_int_equal(auth(f, "ann@x.test", id, &hb), 1);
	assert_string_equal(ac.d.user, id);
	assert_int_equal(hb, 5);
	/* Spent. */
	assert_int_equal(accept(f, 3, "Ann", &ac), 0);
	assert_int_equal(ac.result, 1);
	/* Expired after 7 days. */
	assert_int_equal(invite(f, "default", "c@x.test", ST_ROLE_ADMIN, 6,
	    &iv), 0);
	fake_now = T0 + 7 * DAY;
	assert_int_equal(accept(f, 6, "C", &ac), 0);
	assert_int_equal(ac.result, 1);
	assert_int_equal(auth(f, "c@x.test", id, &hb), 0);

	/*
	 * Ann, invited into another organisation. Taken anonymously: nothing
	 * done (result 3, answered as a new account's is), and again: the
	 * invitation still open; taken by another signed-in account: no such
	 * invitation; taken by Ann signed in: joined (result 2), her name
	 * and password kept.
	 */
	fake_now = T0;
	memset(&org, 0, sizeof(org));
	org.name = "B";
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org, &ob), 0);
	assert_int_equal(invite(f, ob.id, "ann@x.test", ST_ROLE_ADMIN, 7,
	    &iv), 0);
	assert_int_equal(iv.result, 0);
	assert_int_equal(accept_pw(f, 7, "Other", 9, &ac), 0);
	assert_int_equal(ac.result, 3);
	assert_string_equal(ac.d.user, "");
	assert_string_equal(ac.d.email, "ann@x.test");
	assert_int_equal(ask(f, ob.id, PROTO_ST_USER_LIST, NULL, &l, NULL), 0);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_USER_LIST, &l);
	assert_int_equal(accept_pw(f, 7, "Other", 9, &ac), 0);
	assert_int_equal(ac.result, 3);
	assert_int_equal(auth(f, ST_OWNER_EMAIL, other, &ob_hb), 1);
	assert_int_equal(accept_as(f, 7, other, &ac), 0);
	assert_int_equal(ac.result, 1);
	assert_int_equal(accept_as(f, 7, id, &ac), 0);
	assert_int_equal(ac.result, 2);
	assert_string_equal(ac.d.org, ob.id);
	assert_int_equal(auth(f, "ann@x.test", id, &hb), 1);
	assert_string_equal(ac.d.user, id);
	assert_int_equal(hb, 5);
	assert_int_equal(ask(f, ob.id, PROTO_ST_USER_LIST, NULL, &l, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.m[0].name, "Ann");
	assert_int_equal(l.m[0].role, ST_ROLE_ADMIN);
	st_rep_free(PROTO_ST_USER_LIST, &l);

	/*
	 * A token is one invitation's: B's under the default organisation's
	 * token is refused, and the default one's stays (taken into it);
	 * the same request again in one organisation replaces its own.
	 */
	assert_int_equal(invite(f, "default", "d@x.test", ST_ROLE_AGENT, 8,
	    &iv), 0);
	assert_int_equal(invite(f, ob.id, "e@x.test", ST_ROLE_OWNER, 8, &iv),
	    PROTO_E_EXISTS);
	assert_int_equal(invite(f, "default", "d@x.test", ST_ROLE_AGENT, 8,
	    &iv), 0);
	assert_int_equal(iv.result, 0);
	assert_int_equal(accept(f, 8, "D", &ac), 0);
	assert_int_equal(ac.result, 0);
	assert_string_equal(ac.d.org, "default");
	assert_string_equal(ac.d.email, "d@x.test");
	st_org_free(&ob);

	assert_int_equal(ask(f, "default", PROTO_ST_USER_LIST, NULL, &l,
	    NULL), 0);
	/* Ann and D agents, the owner its owner, in whatever order. */
	assert_int_equal(l.n, 3);
	for (i = 0; i < l.n; i++)
		assert_int_equal(l.m[i].role, strcmp(l.m[i].email,
		    ST_OWNER_EMAIL) == 0 ? ST_ROLE_OWNER : ST_ROLE_AGENT);
	st_rep_free(PROTO_ST_USER_LIST, &l);
}

/* org's pending invitations are n: the records their list decoded. */
static uint64_t
invites_are(struct fix *f, const char *org, uint32_t n)
{
	struct st_invites l;
	uint64_t d0, d1, puts;

	store_costs(f->st, &d0, &puts);
	assert_int_equal(ask(f, org, PROTO_ST_INVITE_LIST, NULL, &l, NULL), 0);
	store_costs(f->st, &d1, &puts);
	assert_int_equal(l.n, n);
	st_rep_free(PROTO_ST_INVITE_LIST, &l);
	return d1 - d0;
}

/*
 * An organisation's invitations are walked through its own entries
 * (invite_org): its list reads as many records however many the others
 * have pending; the index is made again at open when it lacks entries,
 * and a revoked, accepted or expired invitation leaves it.
 */
static void
test_users_invite_org(void **state)
{
	struct fix *f = *state;
	struct st_user_invite_rep iv;
	struct st_invite_accept_rep ac;
	struct st_org org, ob;
	struct st_invites l;
	char email[64], gone[ST_USER_ID_MAX + 1];
	uint64_t alone;
	int i;

	(void)boot(f, 1, gone);
	memset(&org, 0, sizeof(org));
	org.name = "B";
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org, &ob), 0);
	assert_int_equal(invite(f, "default", "a1@x.test", ST_ROLE_AGENT, 1,
	    &iv), 0);
	assert_int_equal(invite(f, "default", "a2@x.test", ST_ROLE_AGENT, 2,
	    &iv), 0);
	alone = invites_are(f, "default", 2);
	for (i = 0; i < 20; i++) {
		snprintf(email, sizeof(email), "b%d@x.test", i);
		assert_int_equal(invite(f, ob.id, email, ST_ROLE_AGENT,
		    (uint8_t)(100 + i), &iv), 0);
	}
	assert_int_equal(invites_are(f, "default", 2), alone);
	assert_int_equal(db_entries(f, "invite_org"), 22);

	db_empty(f, "invite_org", NULL);
	assert_int_equal(db_entries(f, "invite_org"), 22);
	assert_int_equal(invites_are(f, "default", 2), alone);
	invites_are(f, ob.id, 20);

	/* Revoked, accepted: gone from both. */
	assert_int_equal(ask(f, "default", PROTO_ST_INVITE_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(ask(f, "default", PROTO_ST_INVITE_REVOKE,
	    &(struct st_id_req){ l.v[0].id }, NULL, NULL), 0);
	st_rep_free(PROTO_ST_INVITE_LIST, &l);
	assert_int_equal(accept(f, 100, "B0", &ac), 0);
	assert_int_equal(ac.result, 0);
	assert_int_equal(db_entries(f, "invites"), 20);
	assert_int_equal(db_entries(f, "invite_org"), 20);
	/* Expired: B's go at its next invitation, A's one stays. */
	fake_now += 8 * DAY;
	assert_int_equal(invite(f, ob.id, "late@x.test", ST_ROLE_AGENT, 99,
	    &iv), 0);
	assert_int_equal(db_entries(f, "invites"), 2);
	assert_int_equal(db_entries(f, "invite_org"), 2);
	invites_are(f, ob.id, 1);
	invites_are(f, "default", 0);
	st_org_free(&ob);
}

/*
 * Copies of the invitations under tokens hbs[0..nh - 1] (each one's
 * organisation, email and expiry), n of each under tokens of their own,
 * written behind the store's back in one transaction; the store opens
 * again, its organisation index made again from them.
 */
static void
invite_copies(struct fix *f, const uint8_t *hbs, int nh, uint32_t n)
{
	uint8_t key[ST_INVITE_HASH_LEN], val[64][256];
	MDB_val k, v[64];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t i;
	int j;

	assert_true(nh <= 64);
	for (j = 0; j < nh; j++) {
		memset(key, hbs[j], sizeof(key));
		v[j].mv_size = db_value(f, "invites", key, sizeof(key), val[j],
		    sizeof(val[j]));
		v[j].mv_data = val[j];
	}
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "invites", 0, &dbi), 0);
	memset(key, 0, sizeof(key));
	key[0] = 0xc0;
	k.mv_size = sizeof(key);
	k.mv_data = key;
	for (j = 0; j < nh; j++)
		for (i = 0; i < n; i++) {
			key[1] = (uint8_t)j;
			memcpy(key + 2, &i, sizeof(i));
			assert_int_equal(mdb_put(txn, dbi, &k, &v[j], 0), 0);
		}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

#define CEIL_ORGS	(ST_INVITES_ALL_MAX / ST_INVITES_MAX)

/*
 * The install's ceiling of pending invitations (ST_INVITES_ALL_MAX):
 * with every one of CEIL_ORGS organisations at its own bound, an
 * organisation with none is refused; once some of them expire, its next
 * invitation deletes every organisation's expired ones first and is
 * taken, the others left as they were.
 */
static void
test_users_invite_ceiling(void **state)
{
	struct fix *f = *state;
	struct st_user_invite_rep iv;
	struct st_org org, ob[CEIL_ORGS];
	char email[64], gone[ST_USER_ID_MAX + 1];
	uint8_t hbs[2 * CEIL_ORGS];
	int i;

	(void)boot(f, 1, gone);
	memset(&org, 0, sizeof(org));
	for (i = 0; i < CEIL_ORGS; i++) {
		snprintf(email, sizeof(email), "Org %d", i);
		org.name = email;
		assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org,
		    &ob[i]), 0);
		hbs[i] = (uint8_t)(10 + i);
		assert_int_equal(invite(f, ob[i].id, "early@x.test",
		    ST_ROLE_AGENT, hbs[i], &iv), 0);
	}
	/* Half of each organisation's made two days later. */
	fake_now += 2 * DAY;
	for (i = 0; i < CEIL_ORGS; i++) {
		hbs[CEIL_ORGS + i] = (uint8_t)(40 + i);
		assert_int_equal(invite(f, ob[i].id, "late@x.test",
		    ST_ROLE_AGENT, hbs[CEIL_ORGS + i], &iv), 0);
	}
	invite_copies(f, hbs, 2 * CEIL_ORGS, ST_INVITES_MAX / 2 - 1);
	assert_int_equal(db_entries(f, "invites"), ST_INVITES_ALL_MAX);
	assert_int_equal(db_entries(f, "invite_org"), ST_INVITES_ALL_MAX);
	invites_are(f, ob[0].id, ST_INVITES_MAX);

	/* The ceiling: refused, nothing written. */
	assert_int_equal(invite(f, "default", "new@x.test", ST_ROLE_AGENT, 3,
	    &iv), PROTO_E_INVALID);
	assert_string_equal(said, "invitations: this server's ceiling of "
	    "20000 pending in all organizations is reached");
	assert_int_equal(db_entries(f, "invites"), ST_INVITES_ALL_MAX);

	/* A week after the first half: those are deleted, then it is taken. */
	fake_now += 6 * DAY;
	assert_int_equal(invite(f, "default", "new@x.test", ST_ROLE_AGENT, 3,
	    &iv), 0);
	assert_int_equal(db_entries(f, "invites"), ST_INVITES_ALL_MAX / 2 + 1);
	assert_int_equal(db_entries(f, "invite_org"),
	    ST_INVITES_ALL_MAX / 2 + 1);
	invites_are(f, "default", 1);
	for (i = 0; i < CEIL_ORGS; i++) {
		invites_are(f, ob[i].id, ST_INVITES_MAX / 2);
		st_org_free(&ob[i]);
	}
}

static int
update(struct fix *f, const char *org, const char *id, uint32_t mask,
    uint8_t role, uint8_t disabled, struct st_user_update_rep *rep,
    char gone[ST_USER_ID_MAX + 1])
{
	struct st_user_update_req q = { id, mask, role, disabled };

	return ask(f, org, PROTO_ST_USER_UPDATE, &q, rep, gone);
}

static void
test_users_change(void **state)
{
	struct fix *f = *state;
	struct st_user_invite_rep iv;
	struct st_invite_accept_rep ac;
	struct st_user_update_rep up;
	struct st_org org, ob;
	struct st_u8_rep v;
	char owner[ST_USER_ID_MAX + 1], ann[ST_USER_ID_MAX + 1];
	char cat[ST_USER_ID_MAX + 1], gone[ST_USER_ID_MAX + 1];
	uint8_t hb;

	(void)boot(f, 1, gone);
	assert_int_equal(auth(f, ST_OWNER_EMAIL, owner, &hb), 1);
	assert_int_equal(invite(f, "default", "ann@x.test", ST_ROLE_AGENT, 3,
	    &iv), 0);
	assert_int_equal(accept(f, 3, "Ann", &ac), 0);
	strlcpy(ann, ac.d.user, sizeof(ann));

	/* The last owner stays one: not demoted, disabled or deleted. */
	assert_int_equal(update(f, "default", owner, ST_UF_ROLE,
	    ST_ROLE_ADMIN, 0, &up, gone), 0);
	assert_int_equal(up.result, 1);
	assert_int_equal(update(f, "default", owner, ST_UF_DISABLED, 0, 1,
	    &up, gone), 0);
	assert_int_equal(up.result, 1);
	assert_int_equal(ask(f, "default", PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ owner }, &v, gone), 0);
	assert_int_equal(v.v, 1);
	/* Another organisation's user (or no organisation of it): not found. */
	assert_int_equal(update(f, "org_00000000000000000000000000000000",
	    ann, ST_UF_ROLE, ST_ROLE_ADMIN, 0, &up, gone), PROTO_E_NO_ORG);

	/* Promote: then the first owner may step down. */
	assert_int_equal(update(f, "default", ann, ST_UF_ROLE, ST_ROLE_OWNER,
	    0, &up, gone), 0);
	assert_int_equal(up.result, 0);
	assert_int_equal(up.m.role, ST_ROLE_OWNER);
	/* Another role: her event streams, opened as the old one, end. */
	assert_string_equal(gone, ann);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	/* The same role again changes nothing: none end. */
	assert_int_equal(update(f, "default", ann, ST_UF_ROLE, ST_ROLE_OWNER,
	    0, &up, gone), 0);
	assert_string_equal(gone, "");
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_int_equal(update(f, "default", owner, ST_UF_ROLE,
	    ST_ROLE_ADMIN, 0, &up, gone), 0);
	assert_int_equal(up.result, 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);

	/*
	 * Cat, an agent in a second organisation too, disabled in one: her
	 * session acts there no more (her streams are told to end) and is
	 * kept for the other; disabled in her last, it ends (it could not
	 * even log out, and came back when she was enabled again).
	 */
	assert_int_equal(invite(f, "default", "cat@x.test", ST_ROLE_AGENT, 5,
	    &iv), 0);
	assert_int_equal(accept(f, 5, "Cat", &ac), 0);
	strlcpy(cat, ac.d.user, sizeof(cat));
	memset(&org, 0, sizeof(org));
	org.name = "B";
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org, &ob), 0);
	assert_int_equal(invite(f, ob.id, "cat@x.test", ST_ROLE_AGENT, 6,
	    &iv), 0);
	assert_int_equal(accept_as(f, 6, cat, &ac), 0);
	assert_int_equal(ac.result, 2);
	session(f, 9, cat);
	assert_int_equal(update(f, "default", cat, ST_UF_DISABLED, 0, 1,
	    &up, gone), 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_string_equal(gone, cat);
	assert_int_equal(check(f, 9, "default"), ST_DASH_NOT_MEMBER);
	assert_int_equal(check(f, 9, ""), ST_DASH_VALID);
	assert_int_equal(update(f, ob.id, cat, ST_UF_DISABLED, 0, 1, &up,
	    gone), 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_string_equal(gone, cat);
	assert_int_equal(check(f, 9, ""), ST_DASH_INVALID);
	assert_int_equal(update(f, ob.id, cat, ST_UF_DISABLED, 0, 0, &up,
	    gone), 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_int_equal(check(f, 9, ""), ST_DASH_INVALID);	/* ended */
	st_org_free(&ob);

	/* The same of the owner, in its one organisation: the session ends. */
	session(f, 8, owner);
	assert_int_equal(check(f, 8, ""), ST_DASH_VALID);
	assert_int_equal(update(f, "default", owner, ST_UF_DISABLED, 0, 1,
	    &up, gone), 0);
	assert_int_equal(up.result, 0);
	assert_int_equal(up.m.disabled, 1);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_string_equal(gone, owner);
	assert_int_equal(check(f, 8, ""), ST_DASH_INVALID);
	assert_int_equal(check(f, 8, "default"), ST_DASH_INVALID);
	assert_int_equal(db_entries(f, "dsess_user"), 0);

	/* Deleted with its last membership: its email free again. */
	assert_int_equal(ask(f, "default", PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ owner }, &v, gone), 0);
	assert_int_equal(v.v, 0);
	assert_string_equal(gone, owner);
	assert_int_equal(auth(f, ST_OWNER_EMAIL, owner, &hb), 0);
	assert_int_equal(db_entries(f, "users"), 2);	/* Ann, Cat */
	assert_int_equal(db_entries(f, "org_users"), 3);	/* Cat in two */
	assert_int_equal(ask(f, "default", PROTO_ST_USER_DELETE,
	    &(struct st_id_req){ owner }, &v, gone), PROTO_E_NOT_FOUND);
}

/* ST_INVITE_SALT of token hash bytes hb, its reply into *rep. */
static void
invite_salt_ask(struct fix *f, uint8_t hb, struct st_invite_salt_rep *rep)
{
	struct st_invite_salt_req q;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	assert_int_equal(ask(f, NULL, PROTO_ST_INVITE_SALT, &q, rep, NULL), 0);
}

/* ST_INVITE_SALT of token hash bytes hb: its result, the salt's first byte. */
static uint8_t
invite_salt(struct fix *f, uint8_t hb, uint8_t *sb)
{
	struct st_invite_salt_rep rep;

	invite_salt_ask(f, hb, &rep);
	assert_int_equal(rep.s.salt_len, rep.result == 2 ? ST_PW_SALT_LEN : 0);
	*sb = rep.s.salt[0];
	return rep.result;
}

/*
 * ST_INVITE_SALT of token hash bytes hb tells its organisation (id and
 * name), email and role; none of these for an invitation nobody holds.
 */
static void
invite_about_is(struct fix *f, uint8_t hb, const char *org,
    const char *name, const char *email, uint8_t role)
{
	struct st_invite_salt_rep rep;

	invite_salt_ask(f, hb, &rep);
	assert_string_equal(rep.a.org, org);
	assert_string_equal(rep.a.org_name, name);
	assert_string_equal(rep.a.email, email);
	assert_int_equal(rep.a.role, role);
}

/* Anonymously, with salt bytes saltb and hash bytes hashb. */
static int
accept_proof(struct fix *f, uint8_t hb, uint8_t saltb, uint8_t hashb,
    struct st_invite_accept_rep *rep)
{
	struct st_invite_accept_req q;

	memset(&q, 0, sizeof(q));
	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	q.name = "Someone";
	memset(q.salt, saltb, sizeof(q.salt));
	q.salt_len = sizeof(q.salt);
	memset(q.hash, hashb, sizeof(q.hash));
	q.hash_len = sizeof(q.hash);
	return ask(f, NULL, PROTO_ST_INVITE_ACCEPT, &q, rep, NULL);
}

/* email's account acts nowhere (the login's lookup says disabled). */
static int
acts_nowhere(struct fix *f, const char *email)
{
	struct st_user_auth_req q = { email };
	struct st_user_auth_rep rep;

	assert_int_equal(ask(f, NULL, PROTO_ST_USER_AUTH, &q, &rep, NULL), 0);
	assert_int_equal(rep.found, 1);
	return rep.s.disabled;
}

/* org's member id: its disabled flag; -1 not a member. */
static int
member_disabled(struct fix *f, const char *org, const char *id)
{
	struct st_members l;
	uint32_t i;
	int d = -1;

	assert_int_equal(ask(f, org, PROTO_ST_USER_LIST, NULL, &l, NULL), 0);
	for (i = 0; i < l.n; i++)
		if (strcmp(l.m[i].id, id) == 0)
			d = l.m[i].disabled;
	st_rep_free(PROTO_ST_USER_LIST, &l);
	return d;
}

/*
 * An existing account takes an invitation anonymously with its own
 * password: ST_INVITE_SALT gives its salt (never the hash; a new email's
 * invitation none, an unknown one result 1); ST_INVITE_ACCEPT
 * with that salt and the account's hash joins it (result 2), even one
 * disabled in every organisation it belongs to, which then acts in the
 * new one; another hash (or salt) does nothing (result 3) and leaves the
 * invitation open to another try; a member already, disabled there,
 * stays disabled.
 */
static void
test_users_invite_proof(void **state)
{
	struct fix *f = *state;
	struct st_user_invite_rep iv;
	struct st_invite_accept_rep ac;
	struct st_user_update_rep up;
	struct st_org org, ob, oc;
	char ann[ST_USER_ID_MAX + 1], gone[ST_USER_ID_MAX + 1];
	uint8_t sb;

	(void)boot(f, 1, gone);
	/* Ann: salt and hash bytes 5, an agent of default only. */
	assert_int_equal(invite(f, "default", "ann@x.test", ST_ROLE_AGENT, 3,
	    &iv), 0);
	assert_int_equal(accept(f, 3, "Ann", &ac), 0);
	assert_int_equal(ac.result, 0);
	strlcpy(ann, ac.d.user, sizeof(ann));
	assert_int_equal(update(f, "default", ann, ST_UF_DISABLED, 0, 1, &up,
	    gone), 0);
	assert_int_equal(up.result, 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_int_equal(acts_nowhere(f, "ann@x.test"), 1);

	memset(&org, 0, sizeof(org));
	org.name = "B";
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org, &ob), 0);
	assert_int_equal(invite(f, ob.id, "ann@x.test", ST_ROLE_ADMIN, 7,
	    &iv), 0);
	assert_int_equal(invite(f, ob.id, "new@x.test", ST_ROLE_AGENT, 8,
	    &iv), 0);
	assert_int_equal(invite_salt(f, 7, &sb), 2);
	assert_int_equal(sb, 5);
	assert_int_equal(invite_salt(f, 8, &sb), 0);
	assert_int_equal(invite_salt(f, 99, &sb), 1);
	/* What the link's holder sees of it: this invitation's alone. */
	invite_about_is(f, 7, ob.id, "B", "ann@x.test", ST_ROLE_ADMIN);
	invite_about_is(f, 8, ob.id, "B", "new@x.test", ST_ROLE_AGENT);
	invite_about_is(f, 99, "", "", "", 0);

	/*
	 * Not her password (nor her salt): nothing done, and the invitation
	 * still open, as it was, to another try.
	 */
	assert_int_equal(accept_proof(f, 7, 5, 9, &ac), 0);
	assert_int_equal(ac.result, 3);
	assert_string_equal(ac.d.user, "");
	assert_int_equal(member_disabled(f, ob.id, ann), -1);
	assert_int_equal(acts_nowhere(f, "ann@x.test"), 1);
	assert_int_equal(invite_salt(f, 7, &sb), 2);
	assert_int_equal(sb, 5);
	invite_about_is(f, 7, ob.id, "B", "ann@x.test", ST_ROLE_ADMIN);
	assert_int_equal(accept_proof(f, 7, 9, 5, &ac), 0);
	assert_int_equal(ac.result, 3);
	assert_int_equal(member_disabled(f, ob.id, ann), -1);
	assert_int_equal(invite_salt(f, 7, &sb), 2);

	/* Her salt and hash: she joins B, acts there, the invitation spent. */
	assert_int_equal(accept_proof(f, 7, 5, 5, &ac), 0);
	assert_int_equal(ac.result, 2);
	assert_string_equal(ac.d.user, ann);
	assert_string_equal(ac.d.org, ob.id);
	assert_string_equal(ac.d.email, "ann@x.test");
	assert_int_equal(member_disabled(f, ob.id, ann), 0);
	assert_int_equal(member_disabled(f, "default", ann), 1);
	assert_int_equal(acts_nowhere(f, "ann@x.test"), 0);
	assert_int_equal(invite_salt(f, 7, &sb), 1);
	assert_int_equal(accept_proof(f, 7, 5, 5, &ac), 0);
	assert_int_equal(ac.result, 1);

	/*
	 * A member already, disabled where the invitation leads (made before
	 * she joined): her password takes it, and changes nothing.
	 */
	memset(&org, 0, sizeof(org));
	org.name = "C";
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &org, &oc), 0);
	assert_int_equal(invite(f, oc.id, "ann@x.test", ST_ROLE_AGENT, 12,
	    &iv), 0);
	assert_int_equal(invite(f, oc.id, "ann@x.test", ST_ROLE_AGENT, 13,
	    &iv), 0);
	assert_int_equal(accept_proof(f, 12, 5, 5, &ac), 0);
	assert_int_equal(ac.result, 2);
	assert_int_equal(update(f, oc.id, ann, ST_UF_DISABLED, 0, 1, &up,
	    gone), 0);
	assert_int_equal(up.result, 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &up);
	assert_int_equal(accept_proof(f, 13, 5, 5, &ac), 0);
	assert_int_equal(ac.result, 2);
	assert_int_equal(member_disabled(f, oc.id, ann), 1);
	st_org_free(&ob);
	st_org_free(&oc);
}

/*
 * A user's own profile (ST_USER_SELF): read, a name refused (and what
 * the refused request had made freed: LeakSanitizer would say), a name
 * set.
 */
static void
test_users_self(void **state)
{
	struct fix *f = *state;
	struct st_user_self_req q;
	struct st_user_self_rep rep;
	char owner[ST_USER_ID_MAX + 1];
	uint8_t hb;

	assert_int_equal(boot(f, 1, NULL), 1);
	assert_int_equal(auth(f, ST_OWNER_EMAIL, owner, &hb), 1);
	memset(&q, 0, sizeof(q));
	q.mode = ST_SELF_READ;
	assert_int_equal(ask_as(f, "default", owner, PROTO_ST_USER_SELF, &q,
	    &rep, NULL), 0);
	assert_string_equal(rep.m.name, "Owner");
	st_rep_free(PROTO_ST_USER_SELF, &rep);
	q.mode = ST_SELF_NAME;
	q.name = "";
	assert_int_equal(ask_as(f, "default", owner, PROTO_ST_USER_SELF, &q,
	    NULL, NULL), PROTO_E_INVALID);
	q.name = "Ada";
	assert_int_equal(ask_as(f, "default", owner, PROTO_ST_USER_SELF, &q,
	    &rep, NULL), 0);
	assert_string_equal(rep.m.name, "Ada");
	st_rep_free(PROTO_ST_USER_SELF, &rep);
	/* Not a person's session: refused. */
	assert_int_equal(ask(f, "default", PROTO_ST_USER_SELF, &q, NULL,
	    NULL), PROTO_E_INVALID);
}

static void
test_users_email(void **state)
{
	char out[ST_EMAIL_MAX + 1], big[300];

	assert_null(st_email_normal("A.B+c@Example.ORG", out));
	assert_string_equal(out, "a.b+c@example.org");
	assert_non_null(st_email_normal("a@", out));
	assert_non_null(st_email_normal("@a", out));
	assert_non_null(st_email_normal("a@b@c", out));
	assert_non_null(st_email_normal("a b@c", out));
	assert_non_null(st_email_normal("", out));
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	big[10] = '@';
	assert_non_null(st_email_normal(big, out));
	big[255] = '\0';
	assert_non_null(st_email_normal(big, out));
	big[254] = '\0';
	assert_null(st_email_normal(big, out));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users_boot, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_invite, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_invite_org, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_invite_ceiling,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_change, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_invite_proof, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_users_self, setup,
		    fix_teardown),
		cmocka_unit_test(test_users_email),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
