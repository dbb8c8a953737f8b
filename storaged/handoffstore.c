/*
 * A conversation's handoff state (st_conv.handoff), who answers it
 * (st_conv.assignee, issue 22), and the handoff index, so that the
 * dashboard lists the conversations waiting for a person, or answered by
 * one, without a scan (see STORAGE.md):
 *
 *	conv_handoff     org NUL u8 state | u64 since | id[16] -> (nothing),
 *	                 for states waiting_human and human: an
 *	                 organisation's list walks its own
 *	conv_handoff_at  id[16] -> u8 state, u64 since: the conversation's
 *	                 conv_handoff key, to remove it without a scan
 *
 * Older data directories keyed conv_handoff without the organisation
 * (a state byte first, which no organisation id is): handoff_init moves
 * their keys.
 *
 * Every value starts with ST_RECORD_VERSION.
 */
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "convstate.h"
#include "gapstore.h"
#include "handoffstore.h"
#include "log.h"
#include "userstore.h"
#include "storeint.h"
#include "usermsg.h"

#define HKEY_LEN	(1 + 8 + ID_LEN)	/* after the organisation */
#define HKEY_MAX	(ST_WHO_ORG_MAX + 1 + HKEY_LEN)

/* The key of org's conversation id, in state since: its length. */
static size_t
hkey(uint8_t k[HKEY_MAX], const char *org, int state, uint64_t since,
    const uint8_t id[ID_LEN])
{
	size_t o = org_prefix(org, k);

	k[o] = (uint8_t)state;
	proto_put_be64(k + o + 1, since);
	memcpy(k + o + 9, id, ID_LEN);
	return o + HKEY_LEN;
}

/* Removes conversation c's (id) index entries, if it has them. */
static void
handoff_unindex(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	uint8_t k[HKEY_MAX];
	const uint8_t *p;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->conv_handoff_at, id, ID_LEN, &v,
	    "get handoff time")) != 0)
		return;
	p = v.mv_data;
	if (v.mv_size != 1 + 1 + 8 || p[0] != ST_RECORD_VERSION) {
		log_warnx("handoff time: record not understood");
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return;
	}
	db_del_quiet(t, t->st->conv_handoff, k, hkey(k, c->org, p[1],
	    proto_get_be64(p + 2), id), "delete handoff index");
	db_del(t, t->st->conv_handoff_at, id, ID_LEN, "delete handoff time");
}

static void
handoff_index(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN], int state, uint64_t since)
{
	uint8_t k[HKEY_MAX], v[1 + 1 + 8];

	db_mark(t, t->st->conv_handoff, k, hkey(k, c->org, state, since, id),
	    "put handoff index");
	v[0] = ST_RECORD_VERSION;
	v[1] = (uint8_t)state;
	proto_put_be64(v + 2, since);
	db_put(t, t->st->conv_handoff_at, id, ID_LEN, v, sizeof(v),
	    "put handoff time");
}

int
store_conv_find(struct store_txn *t, const char *conv_id, uint8_t cid[ID_LEN],
    struct st_conv *c)
{
	if (t->err)
		return -1;
	if (conv_by_hex(t, conv_id, cid, c) < 0)
		return -1;
	store_conv_assignee_view(t, c);
	if (t->err) {
		st_conv_free(c);
		return -1;
	}
	return 0;
}

void
store_conv_assignee_view(struct store_txn *t, struct st_conv *c)
{
	if (t->err || c->assignee[0] == '\0' ||
	    store_member_is(t, c->org, c->assignee) != 0)
		return;
	c->assignee[0] = '\0';
	c->assignee_name[0] = '\0';
}

/*
 * User id as an enabled member of org, its display name into name:
 * 0, or -1 with t failed (`not found` for anyone else).
 */
static int
member_name(struct store_txn *t, const char *id, const char *org,
    char name[4 * ST_MSG_NAME_MAX + 1])
{
	struct st_user u;
	int rc, ok;

	if ((rc = user_load(t, id, &u)) < 0)
		return -1;
	ok = rc == 0 && st_user_acts(&u, org) != NULL;
	if (ok)
		strlcpy(name, u.name != NULL ? u.name : "",
		    4 * ST_MSG_NAME_MAX + 1);
	if (rc == 0)
		st_user_free(&u);
	if (!ok) {
		store_fail(t, PROTO_E_NOT_FOUND, "no such user");
		return -1;
	}
	return 0;
}

int
store_who_person(struct store_txn *t, const struct st_who *who,
    const char *given, struct store_person *out)
{
	if (t->err)
		return t->err;
	memset(out, 0, sizeof(*out));
	if (who == NULL || who->kind != ST_WHO_SESSION ||
	    who->user[0] == '\0') {
		strlcpy(out->name, given, sizeof(out->name));
		return 0;
	}
	/* The account's name, never one typed in the browser. */
	strlcpy(out->user, who->user, sizeof(out->user));
	member_name(t, who->user, who->org, out->name);
	return t->err;
}

/*
 * NULL when a display name is UTF-8 of min (0 or 1) to
 * ST_AGENT_NAME_MAX characters, else why not.
 */
const char *
store_person_name_invalid(const char *s, size_t min)
{
	ssize_t n = proto_utf8_chars(s, strlen(s));

	if (n >= 0 && (size_t)n >= min && n <= ST_AGENT_NAME_MAX)
		return NULL;
	return min > 0 ? "name: must be 1 to 100 characters of UTF-8" :
	    "name: must be at most 100 characters of UTF-8";
}

/*
 * c enters waiting_human, put there by waiting_by (ST_WAITING_*): opened
 * again when snoozed or resolved (1 then); a request for a person (the
 * visitor's, the assistant's) makes the question before it a gap and,
 * the first time, starts the first response's time.
 */
static int
handoff_waiting(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c, int waiting_by)
{
	int reopened = conv_state_asked(t, cid, c);

	c->waiting_by = (uint8_t)waiting_by;
	if (!st_waiting_asked(waiting_by))
		return reopened;
	gap_mark(t, cid, c, UINT32_MAX, ST_GAP_HANDOFF, 1);
	if (c->asked_at == 0)
		c->asked_at = t->st->now();
	return reopened;
}

int
store_handoff_set(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c, int state, int from_ai_only, int waiting_by,
    const struct store_person *by, int *changed)
{
	int assign, reopened = 0;

	if (t->err)
		return t->err;
	*changed = 0;
	if (state < ST_HANDOFF_AI || state > ST_HANDOFF_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "state must be ai, waiting_human or human");
	if (from_ai_only && c->handoff != ST_HANDOFF_AI)
		return 0;
	/* Taking over makes it the taker's, unless it is someone's. */
	assign = state == ST_HANDOFF_HUMAN && by != NULL &&
	    by->user[0] != '\0' && c->assignee[0] == '\0';
	if (c->handoff == state && !assign)
		return 0;
	if (c->handoff != state) {
		if (c->handoff != ST_HANDOFF_AI)
			handoff_unindex(t, c, cid);
		if (state != ST_HANDOFF_AI)
			handoff_index(t, c, cid, state, t->st->now());
	}
	/*
	 * Waiting for a person, or answered by one: the assistant resolves
	 * it no more; waiting: open again (a snooze or resolution is over).
	 */
	if (state == ST_HANDOFF_WAITING)
		reopened = handoff_waiting(t, cid, c, waiting_by);
	else if (state != ST_HANDOFF_AI)
		conv_state_person(t, cid, c);
	if (assign) {
		strlcpy(c->assignee, by->user, sizeof(c->assignee));
		strlcpy(c->assignee_name, by->name, sizeof(c->assignee_name));
	}
	/*
	 * Who took over: the person answering now (else nobody); one who
	 * takes over a conversation nobody has (its taker removed) too.
	 */
	if (state != ST_HANDOFF_HUMAN || c->handoff != ST_HANDOFF_HUMAN ||
	    assign) {
		strlcpy(c->human_by, state == ST_HANDOFF_HUMAN && by != NULL ?
		    by->user : "", sizeof(c->human_by));
		strlcpy(c->human_by_name, state == ST_HANDOFF_HUMAN &&
		    by != NULL ? by->name : "", sizeof(c->human_by_name));
	}
	/* Not activity: updated_at (and the widget's index) stay. */
	c->handoff = (uint8_t)state;
	conv_save(t, cid, c);
	if (t->err == 0)
		*changed = HANDOFF_CHANGED | (reopened ? HANDOFF_REOPENED : 0);
	return t->err;
}

int
store_conv_assign(struct store_txn *t, const uint8_t cid[ID_LEN],
    struct st_conv *c, const char *user, int *changed)
{
	char name[4 * ST_MSG_NAME_MAX + 1] = "";

	if (t->err)
		return t->err;
	*changed = 0;
	if (user[0] != '\0' && member_name(t, user, c->org, name) < 0)
		return t->err;
	/* The same user again still takes its current name. */
	if (strcmp(c->assignee, user) == 0 &&
	    strcmp(c->assignee_name, name) == 0)
		return 0;
	strlcpy(c->assignee, user, sizeof(c->assignee));
	strlcpy(c->assignee_name, name, sizeof(c->assignee_name));
	/* Not activity, as a handoff change. */
	conv_save(t, cid, c);
	if (t->err == 0)
		*changed = 1;
	return t->err;
}

/* The keys of who asks's organisation (every one's when none). */
static uint64_t
handoff_count(MDB_cursor *cur, const char *org, size_t plen)
{
	MDB_val k = { plen, (void *)org }, v;
	uint64_t total = 0;
	int rc;

	rc = mdb_cursor_get(cur, &k, &v, plen > 0 ? MDB_SET_RANGE :
	    MDB_FIRST);
	for (; rc == 0 && key_in(&k, org, plen); total++)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	return total;
}

/*
 * Where a page starts: the first key of the scope, or the one after the
 * key whose last HKEY_LEN bytes are after (a cursor; gone since, the
 * next one). LMDB's answer: 0 with the cursor on it, or MDB_NOTFOUND.
 */
static int
handoff_seek(MDB_cursor *cur, const char *org, size_t plen,
    const uint8_t *after, MDB_val *k)
{
	uint8_t key[HKEY_MAX];
	MDB_val v;
	int rc;

	memcpy(key, org, plen);
	if (after != NULL)
		memcpy(key + plen, after, HKEY_LEN);
	k->mv_data = key;
	k->mv_size = plen + (after != NULL ? HKEY_LEN : 0);
	if (k->mv_size == 0)
		return mdb_cursor_get(cur, k, &v, MDB_FIRST);
	rc = mdb_cursor_get(cur, k, &v, MDB_SET_RANGE);
	if (rc == 0 && after != NULL && k->mv_size == plen + HKEY_LEN &&
	    memcmp(k->mv_data, key, plen + HKEY_LEN) == 0)
		rc = mdb_cursor_get(cur, k, &v, MDB_NEXT);
	return rc;
}

int
store_handoff_list(struct store_txn *t, uint32_t limit, const char *cursor,
    struct store_list *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t plen = t->org != NULL ? strlen(t->org) + 1 : 0;
	const char *org = t->org != NULL ? t->org : "";
	uint8_t last[HKEY_LEN], after[HKEY_LEN];
	int rc, lrc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_HANDOFF_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	if (cursor[0] != '\0' && (strlen(cursor) != 2 * HKEY_LEN ||
	    proto_hex_decode(cursor, after, HKEY_LEN) < 0))
		return store_fail(t, PROTO_E_INVALID, "bad cursor");
	if ((out->convs = calloc(limit, sizeof(*out->convs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->conv_handoff, &cur)) != 0) {
		store_list_free(out);
		return txn_lmdb(t, rc, "cursor");
	}
	/*
	 * Who asks's organisation's keys (every one's when none), each
	 * sorting by state (waiting_human 1 before human 2), then since.
	 */
	out->total = handoff_count(cur, org, plen);
	rc = handoff_seek(cur, org, plen, cursor[0] != '\0' ? after : NULL, &k);
	while (rc == 0 && key_in(&k, org, plen)) {
		if (k.mv_size < HKEY_LEN + 2) {
			log_warnx("handoff index: key of %zu bytes", k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		if (out->n == limit) {		/* one more: a next page */
			proto_hex_encode(last, HKEY_LEN, out->next_cursor);
			break;
		}
		if ((lrc = conv_load(t, (uint8_t *)k.mv_data + k.mv_size -
		    ID_LEN, &out->convs[out->n])) < 0)
			break;
		/* A missing conversation is passed over (logged). */
		if (lrc == 1)
			log_warnx("handoff index names a missing "
			    "conversation");
		else
			out->n++;
		memcpy(last, (uint8_t *)k.mv_data + k.mv_size - HKEY_LEN,
		    HKEY_LEN);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk handoff index");
	if (t->err) {
		store_list_free(out);
		return t->err;
	}
	return 0;
}

/* A deleted conversation leaves the index. */
static void
handoff_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	if (c->handoff != ST_HANDOFF_AI)
		handoff_unindex(t, c, id);
}

/*
 * An older data directory's keys (a state byte first: no organisation
 * id starts so) moved under their conversation's organisation. They
 * sort before every newer key, so the walk stops at the first of those.
 */
static int
handoff_init(struct store_txn *t)
{
	uint8_t nk[HKEY_MAX];
	struct st_conv c;
	MDB_cursor *cur;
	MDB_val k, v;
	const uint8_t *p;
	size_t moved = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->st->conv_handoff, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && !t->err && k.mv_size == HKEY_LEN &&
	    (p = k.mv_data)[0] <= ST_HANDOFF_MAX) {
		if (conv_load(t, p + 9, &c) == 0) {
			db_mark(t, t->st->conv_handoff, nk, hkey(nk, c.org,
			    p[0], proto_get_be64(p + 1), p + 9),
			    "put handoff index");
			st_conv_free(&c);
		}
		if (!t->err && (rc = db_cursor_del(t, cur, t->st->conv_handoff,
		    &k)) != 0)
			txn_lmdb(t, rc, "delete an older handoff key");
		moved++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk handoff index");
	if (!t->err && moved > 0)
		log_info("moved %zu handoff keys under their organizations",
		    moved);
	return t->err;
}

const struct store_module handoff_module = {
	.name = "handoff",
	.init = handoff_init,
	.conv_deleted = handoff_conv_deleted,
};
