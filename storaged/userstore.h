/*
 * People (issue 22, proto/usermsg.h): the stored users, their
 * memberships, invitations (userstore.c). Conventions as in store.h:
 * each operation does nothing when t->err is set and returns t->err;
 * results are filled only on success. org is always who asks's
 * organisation: a user of another one is "no such user", as one that
 * does not exist.
 */
#ifndef PARLEY_USERSTORE_H
#define PARLEY_USERSTORE_H

#include <stdint.h>

#include "stmsgs.h"
#include "store.h"
#include "usermsg.h"

/*
 * Calls fn for each member of org in the index's order (by user id),
 * stopping after one that gives -1: 0, or -1 with t failed.
 */
int store_members_each(struct store_txn *, const char *org,
    int (*fn)(struct store_txn *, struct st_user *, void *), void *arg);
/*
 * Whether user id is a member of org (enabled or not), by the members'
 * index: 1, 0, or -1 with t failed.
 */
int store_member_is(struct store_txn *, const char *org, const char *id);
/* ST_USER_AUTH: the login's lookup by email (any case); found 0 or 1. */
int store_user_auth(struct store_txn *, const char *email,
    struct st_user_auth_rep *out);
/*
 * ST_USER_BOOT: the first owner (usermsg.h). *changed 0, 1, 2; gone:
 * the user whose sessions ended (2), else "".
 */
int store_user_boot(struct store_txn *, const struct st_user_boot_req *,
    uint8_t *changed, char gone[ST_USER_ID_MAX + 1]);
/* ST_USER_LIST: org's members, oldest membership index order (by id). */
int store_user_list(struct store_txn *, const char *org,
    struct st_members *out);
/*
 * ST_USER_INVITE: a pending invitation into org under the token's hash,
 * valid ST_INVITE_MS; the expired ones are deleted first, at most
 * ST_INVITES_MAX kept.
 */
int store_user_invite(struct store_txn *, const char *org,
    const struct st_user_invite_req *, struct st_user_invite_rep *out);
/*
 * ST_USER_UPDATE of a member of org. Disabling ends its sessions (gone
 * set). The last enabled owner cannot lose that: result 1.
 */
int store_user_update(struct store_txn *, const char *org,
    const struct st_user_update_req *, struct st_user_update_rep *out,
    char gone[ST_USER_ID_MAX + 1]);
/*
 * ST_USER_DELETE: the membership in org goes; the user with it when it
 * had no other (its sessions end either way: gone set). result 1: the
 * last owner.
 */
int store_user_delete(struct store_txn *, const char *org, const char *id,
    uint8_t *result, char gone[ST_USER_ID_MAX + 1]);
/*
 * ST_INVITE_LIST: org's pending invitations (id, email, role, created,
 * expires), in the index's order; never a token or its hash.
 */
int store_invite_list(struct store_txn *, const char *org,
    struct st_invites *out);
/* ST_INVITE_REVOKE: org's invitation id deleted, else "not found". */
int store_invite_revoke(struct store_txn *, const char *org,
    const char *id);
/*
 * ST_INVITE_ACCEPT: with a signed-in user, that account joins when the
 * invitation is its email's; without, the email's new account is made,
 * or (the email has one) that account joins when the salt and hash are
 * its own (compared in constant time), else nothing is done (result
 * 3): the invitation stays open to another try.
 */
int store_invite_accept(struct store_txn *,
    const struct st_invite_accept_req *, struct st_invite_accept_rep *out);
/*
 * ST_INVITE_SALT: an invitation open to an anonymous acceptance (result
 * 0; 1 none, expired or its organisation gone), and when its
 * email has an account, that account's salt (result 2), never its hash.
 * Read only.
 */
int store_invite_salt(struct store_txn *, const struct st_invite_salt_req *,
    struct st_invite_salt_rep *out);
/*
 * A deleted organisation's sweep (orgstore.c): at most max of org's
 * memberships ended (a user left with none deleted, as ST_USER_DELETE
 * does), then of its invitations deleted; *n how many.
 */
int store_org_people_sweep(struct store_txn *, const char *org,
    uint32_t max, uint32_t *n);
/* ST_USER_SET (parleyctl): add a member of org, or set a password. */
int store_user_set(struct store_txn *, const char *org,
    const struct st_user_set_req *, struct st_user_set_rep *out,
    char gone[ST_USER_ID_MAX + 1]);

/* The reply of any people request (usermsg.h): its type's member. */
union store_user_rep {
	struct st_user_auth_rep auth;
	struct st_u8_rep u8;
	struct st_members list;
	struct st_user_invite_rep inv;
	struct st_user_update_rep upd;
	struct st_invite_accept_rep acc;
	struct st_invite_salt_rep salt;
	struct st_user_set_rep set;
	struct st_user_self_rep self;
	struct st_invites invs;
};
/*
 * ST_USER_SELF: who asks's own account (usermsg.h), its member view in
 * who asks's organisation; a password set ends its other sessions (gone
 * set). A who without a user is refused.
 */
int store_user_self(struct store_txn *, const struct st_who *,
    const struct st_user_self_req *, struct st_user_self_rep *out,
    char gone[ST_USER_ID_MAX + 1]);
/*
 * A people request of type (ST_USER_*, ST_INVITE_*) from who asks (NULL:
 * nobody; its organisation is the one acted in): its operation above on
 * the decoded req,
 * its reply into rep (zeroed first; st_rep_free of type frees it), gone
 * the user whose dashboard sessions it ended (left as it is when none).
 * Another type fails t (unsupported). Returns t's error.
 */
int store_user_run(struct store_txn *, const struct st_who *, uint16_t type,
    const void *req, union store_user_rep *rep,
    char gone[ST_USER_ID_MAX + 1]);

#endif
