/*
 * The audit log of each organisation (see STORAGE.md, auditstore.h):
 *
 *	audit         entry id[16] -> entry (pl_audit_entry); the id is
 *	              the time in ms (48 bits), a number within the ms (16
 *	              bits) and 64 random bits (entry_id), so new entries
 *	              land beside the last ones, in the order made
 *	audit_org     org NUL u64 at | entry id[16] -> (): each
 *	              organisation's entries in time order, paged newest
 *	              first (index_walk)
 *	audit_counts  org -> u64 entries (none at 0): the bound, and a
 *	              page's total
 *
 * Which requests leave an entry, and what it says, is their rows in
 * optab.c (an action, or a pick below, and where the target is): a
 * request added to storaged is audited by its row. An entry names
 * who (kind, id, user), the action and the id acted on: never content or
 * secrets.
 */
#include <stdlib.h>
#include <string.h>

#include "auditstore.h"
#include "log.h"
#include "optab.h"
#include "random.h"
#include "stmsgs.h"
#include "usermsg.h"
#include "storeint.h"

#define ORG_PREFIX_MAX	(ST_WHO_ORG_MAX + 1)

/*
 * The picks of the requests whose action depends on what they did
 * (optab.c names each its type's: audit_pick in optab.h).
 */

/* ST_HANDOFF_SET: taking over and handing back, when it changed. */
const char *
audit_pick_handoff(const void *req, const uint8_t *rep, size_t replen)
{
	const struct st_handoff_set_req *q = req;

	if (replen < 1 || rep[0] == 0)
		return NULL;
	if (q->state == ST_HANDOFF_HUMAN)
		return "handoff.take";
	if (q->state == ST_HANDOFF_AI)
		return "handoff.return";
	return NULL;
}

/* ST_CONV_ASSIGN: when it changed who answers. */
const char *
audit_pick_assign(const void *req, const uint8_t *rep, size_t replen)
{
	return replen >= 1 && rep[0] != 0 ? "conversation.assign" : NULL;
}

/* ST_CONV_STATE: when it changed the state. */
const char *
audit_pick_state(const void *req, const uint8_t *rep, size_t replen)
{
	return replen >= 1 && rep[0] != 0 ? "conversation.state" : NULL;
}

/*
 * ST_KB_FILE_PUT: a file whole, or the last piece of one stored (the
 * reply's last byte, stored); not each piece before it.
 */
const char *
audit_pick_kb_file(const void *req, const uint8_t *rep, size_t replen)
{
	const struct st_kb_file_put_req *q = req;

	if (replen < 1 || rep[replen - 1] == 0)
		return NULL;
	if (q->total != 0 && (uint64_t)q->offset + q->data.len != q->total)
		return NULL;
	return "knowledge_source.file";
}

/* ST_AGENT_DELETE: not when refused because widgets use it (in_use). */
const char *
audit_pick_agent_delete(const void *req, const uint8_t *rep, size_t replen)
{
	return replen >= 1 && rep[0] == 0 ? "agent.delete" : NULL;
}

/* A user change whose reply's first byte is 0 when it was made. */
static const char *
pick_user(const void *req, const uint8_t *rep, size_t replen, const char *a)
{
	return replen >= 1 && rep[0] == 0 ? a : NULL;
}

/* ST_USER_INVITE: not for one already a member. */
const char *
audit_pick_invite(const void *req, const uint8_t *rep, size_t replen)
{
	return pick_user(req, rep, replen, "user.invite");
}

/* ST_USER_UPDATE: not when refused (the last owner). */
const char *
audit_pick_update(const void *req, const uint8_t *rep, size_t replen)
{
	return pick_user(req, rep, replen, "user.update");
}

/* ST_USER_DELETE: not when refused (the last owner). */
const char *
audit_pick_delete(const void *req, const uint8_t *rep, size_t replen)
{
	return pick_user(req, rep, replen, "user.delete");
}

/* ST_USER_SET (parleyctl): a member added, or a password set. */
const char *
audit_pick_user_set(const void *req, const uint8_t *rep, size_t replen)
{
	const struct st_user_set_req *q = req;

	return pick_user(req, rep, replen, q->mode == ST_USER_SET_ADD ?
	    "user.add" : "user.password");
}

/* ST_USER_SELF: a user's own name or password changed (not a read). */
const char *
audit_pick_user_self(const void *req, const uint8_t *rep, size_t replen)
{
	const struct st_user_self_req *q = req;

	if (q->mode == ST_SELF_READ)
		return NULL;
	return pick_user(req, rep, replen, q->mode == ST_SELF_NAME ?
	    "user.profile" : "user.password");
}

/* ST_INVITE_ACCEPT: a new user (0) or an account that joined (2). */
const char *
audit_pick_join(const void *req, const uint8_t *rep, size_t replen)
{
	return replen >= 1 && (rep[0] == 0 || rep[0] == 2) ? "user.join" :
	    NULL;
}

/* ST_CONTACT_ERASE: the contact with its data, or the contact alone. */
const char *
audit_pick_contact_erase(const void *req, const uint8_t *rep, size_t replen)
{
	return ((const struct st_contact_erase_req *)req)->erase ?
	    "contact.erase" : "contact.delete";
}

/*
 * ST_GAP_DELETE: only when a gap went (the reply's u64 count); a delete
 * of none, which anyone with the role may send at will, would push the
 * log's older entries out for nothing.
 */
const char *
audit_pick_gap_delete(const void *req, const uint8_t *rep, size_t replen)
{
	return replen >= 8 && proto_get_be64(rep) != 0 ?
	    "knowledge_gap.delete" : NULL;
}

/* ST_CANNED_PUT: a new reply (no id asked), or one changed. */
const char *
audit_pick_canned_put(const void *req, const uint8_t *rep, size_t replen)
{
	const struct st_canned_put_req *q = req;

	return q->id != NULL && q->id[0] != '\0' ? "canned_reply.update" :
	    "canned_reply.create";
}

/* ST_AUDIT_NOTE: its action, checked before it ran. */
const char *
audit_pick_note(const void *req, const uint8_t *rep, size_t replen)
{
	return ((const struct st_audit_note_req *)req)->action;
}

/* The nth (0, 1) str a payload starts with into out (cut to fit), or "". */
static void
nth_str(const void *p, size_t len, int nth, char *out, size_t outsz)
{
	const uint8_t *s;
	struct pdec d;
	size_t n = 0;

	out[0] = '\0';
	pdec_init(&d, p, len);
	while (nth-- > 0)
		(void)pdec_bytes(&d, &n);
	if ((s = pdec_bytes(&d, &n)) == NULL)
		return;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * An invitation accepted (AUD_JOIN): the entry of the user it made
 * (or that joined), in the invitation's organisation. Who is nobody
 * signed in: kind public, id "invitation".
 */
static int
audit_join(struct store_txn *t, const char *action, const uint8_t *rep,
    size_t replen)
{
	char org[ST_WHO_ORG_MAX + 1];
	struct st_audit_entry e;

	memset(&e, 0, sizeof(e));
	nth_str(rep + 1, replen - 1, 0, e.target, sizeof(e.target));
	nth_str(rep + 1, replen - 1, 1, org, sizeof(org));
	if (e.target[0] == '\0' || org[0] == '\0')
		return t->err;
	e.who_kind = ST_WHO_PUBLIC;
	strlcpy(e.who_id, "invitation", sizeof(e.who_id));
	strlcpy(e.user, e.target, sizeof(e.user));
	strlcpy(e.action, action, sizeof(e.action));
	return store_audit_add(t, org, &e);
}

int
store_audit_request(struct store_txn *t, const struct audit_req *q,
    const void *rep, size_t replen)
{
	const struct optab *row;
	struct st_audit_entry e;
	const char *action;

	if (t->err || (row = optab(q->type)) == NULL ||
	    (row->action == NULL && row->pick == NULL))
		return t->err;
	action = row->pick != NULL ? row->pick(q->req, rep, replen) :
	    row->action;
	if (action == NULL)
		return 0;
	if (row->target == AUD_JOIN)
		return audit_join(t, action, rep, replen);
	if (q->who == NULL || q->who->kind == ST_WHO_PUBLIC ||
	    q->who->org[0] == '\0')
		return t->err;
	memset(&e, 0, sizeof(e));
	e.who_kind = q->who->kind;
	strlcpy(e.who_id, q->who->id, sizeof(e.who_id));
	strlcpy(e.user, q->who->user, sizeof(e.user));
	strlcpy(e.action, action, sizeof(e.action));
	switch (row->target) {
	case AUD_REQ:
		nth_str(q->payload, q->len, 0, e.target, sizeof(e.target));
		break;
	case AUD_REP:
	case AUD_REP2:
		nth_str(rep, replen, row->target == AUD_REP2, e.target,
		    sizeof(e.target));
		break;
	case AUD_NOTE:
		strlcpy(e.target, ((const struct st_audit_note_req *)
		    q->req)->target, sizeof(e.target));
		break;
	case AUD_REP_U8:
		/* The pick saw the u8. */
		nth_str((const uint8_t *)rep + 1, replen - 1, 0, e.target,
		    sizeof(e.target));
		break;
	case AUD_NONE:
	case AUD_JOIN:
		break;
	}
	return store_audit_add(t, q->who->org, &e);
}

/* org's count: 0 when none. -1 with t failed. */
static int
count_get(struct store_txn *t, const char *org, uint64_t *n)
{
	return rec_count_get(t, t->st->audit_counts, org, strlen(org), n,
	    "audit count");
}

static void
count_put(struct store_txn *t, const char *org, uint64_t n)
{
	rec_count_put(t, t->st->audit_counts, org, strlen(org), n,
	    "audit count");
}

/* org's oldest entry and its index key are gone. */
static void
drop_oldest(struct store_txn *t, const char *org)
{
	uint8_t p[ORG_PREFIX_MAX], k[ORG_PREFIX_MAX + INDEX_KEY_LEN];
	size_t plen = org_prefix(org, p);
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	if (t->err)
		return;
	if ((rc = mdb_cursor_open(t->txn, t->st->audit_org, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	key.mv_size = plen;
	key.mv_data = p;
	rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	if (rc == 0 && key.mv_size == plen + INDEX_KEY_LEN &&
	    memcmp(key.mv_data, p, plen) == 0)
		memcpy(k, key.mv_data, key.mv_size);
	else if (rc == 0 || rc == MDB_NOTFOUND)
		rc = -1;
	mdb_cursor_close(cur);
	if (rc == -1) {
		log_warnx("audit: the count says entries the index lacks");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return;
	}
	if (rc != 0) {
		txn_lmdb(t, rc, "audit oldest");
		return;
	}
	db_del(t, t->st->audit_org, k, plen + INDEX_KEY_LEN, "audit index");
	db_del(t, t->st->audit, k + plen + 8, ID_LEN, "audit entry");
}

/*
 * A new entry's id: its time in ms (48 bits), a number that follows the
 * organisation's newest entry's when that is of the same ms (16 bits,
 * so entries of one ms list in the order they were made), 64 random
 * bits. Time first: a new entry goes beside the last ones. 0, or -1
 * with t failed.
 */
static int
entry_id(struct store_txn *t, const char *org, uint64_t at,
    uint8_t id[ID_LEN])
{
	uint8_t k[ORG_PREFIX_MAX + INDEX_KEY_LEN];
	size_t plen = org_prefix(org, k);
	uint64_t head = at << 16, last;
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	/* The newest: the key before the first past the prefix's. */
	memset(k + plen, 0xff, INDEX_KEY_LEN);
	if ((rc = mdb_cursor_open(t->txn, t->st->audit_org, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	key.mv_size = plen + INDEX_KEY_LEN;
	key.mv_data = k;
	rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(cur, &key, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	if (rc == 0 && key.mv_size == plen + INDEX_KEY_LEN &&
	    memcmp(key.mv_data, k, plen) == 0) {
		last = proto_get_be64((uint8_t *)key.mv_data + plen + 8);
		/* Past 65535 in one ms, the rest share the last number. */
		if (last >> 16 == at && (last & 0xffff) != 0xffff)
			head = last + 1;
		else if (last >> 16 == at)
			head = last;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "audit newest");
		return -1;
	}
	proto_put_be64(id, head);
	proto_random(id + 8, ID_LEN - 8);
	return 0;
}

int
store_audit_add(struct store_txn *t, const char *org,
    struct st_audit_entry *e)
{
	uint8_t k[ORG_PREFIX_MAX + INDEX_KEY_LEN], id[ID_LEN];
	size_t klen;
	uint64_t n;
	struct penc enc;

	if (t->err)
		return t->err;
	if (strlen(org) > ST_WHO_ORG_MAX)
		return store_fail(t, PROTO_E_INVALID, "org: too long");
	e->at = t->st->now();
	if (entry_id(t, org, e->at, id) < 0)
		return t->err;
	klen = org_time_key(org, e->at, id, k);
	penc_init(&enc);
	penc_u8(&enc, ST_RECORD_VERSION);
	pl_enc(&enc, &pl_audit_entry, e);
	rec_put(t, t->st->audit, id, ID_LEN, &enc, "audit entry");
	penc_free(&enc);
	db_mark(t, t->st->audit_org, k, klen, "audit index");
	if (count_get(t, org, &n) < 0)
		return t->err;
	for (n++; n > ST_AUDIT_MAX && t->err == 0; n--)
		drop_oldest(t, org);
	count_put(t, org, n);
	return t->err;
}

int
store_org_audit_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	uint64_t count;

	*n = 0;
	if (t->err || count_get(t, org, &count) < 0)
		return t->err;
	/* Oldest first, as the bound drops them: the count stays true. */
	for (; *n < max && count > 0 && !t->err; (*n)++, count--)
		drop_oldest(t, org);
	count_put(t, org, count);
	return t->err;
}

/* index_walk's take: the entry id names. */
static int
entry_take(struct store_txn *t, const uint8_t *id, void *item, void *arg)
{
	struct pdec d;
	int rc;

	if ((rc = rec_get(t, t->st->audit, id, ID_LEN, &d,
	    "audit entry")) != 0)
		return rc;
	if (pl_dec(&d, &pl_audit_entry, item) < 0 || pdec_done(&d) < 0) {
		rec_corrupt(t, "audit entry");
		return -1;
	}
	return 0;
}

int
store_audit_page(struct store_txn *t, const char *org, uint32_t limit,
    const char *cursor, struct st_audit_page *out)
{
	uint8_t p[ORG_PREFIX_MAX];
	struct index_walk w;
	struct index_page pg;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	memset(&w, 0, sizeof(w));
	w.plen = org_prefix(org, p);
	w.prefix = p;
	w.limit = limit;
	w.size = sizeof(struct st_audit_entry);
	w.take = entry_take;
	if (index_walk(t, t->st->audit_org, "audit", cursor, &w, &pg) != 0 ||
	    count_get(t, org, &out->total) < 0 ||
	    (out->next_cursor = strdup(pg.next_cursor)) == NULL) {
		free(pg.items);
		memset(out, 0, sizeof(*out));
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	out->entries = pg.items;
	out->n = pg.n;
	return 0;
}
