/*
 * The inbox (issue 24; inbox.h, proto/inboxmsg.h): read marks and
 * canned replies. Its databases (STORAGE.md):
 *
 *	read_marks  conv id[16] | user id -> version, u64 the visitor_at
 *	            the user read up to
 *	user_reads  user id | conv id[16] -> version (a user's marks, for
 *	            their deletion)
 *	canned      org NUL shortcut -> version, its rows (ST_CANNED_ROWS)
 *
 * A conversation is unread for a user while its visitor_at (its last
 * visitor message, strictly increasing) is past the user's mark: one
 * mdb_get per row of a page. A conversation deleted takes its marks
 * (the module below), a user deleted theirs (store_user_reads_gone).
 * An organisation's canned replies are the keys under its prefix, by
 * shortcut: the list is a walk of at most ST_CANNED_MAX keys, the
 * shortcut unique by being the key, an id found by that same walk.
 */
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "attstore.h"
#include "contactstore.h"
#include "convstate.h"
#include "inbox.h"
#include "random.h"
#include "storeint.h"
#include "usermsg.h"
#include "util.h"

#define MARK_KEY_MAX	(ID_LEN + ST_WHO_USER_MAX)
#define CANNED_KEY_MAX	(ST_WHO_ORG_MAX + 1 + ST_CANNED_SHORT_MAX)

/* ------------------------------------------------------------ read marks */

static size_t
mark_key(uint8_t k[MARK_KEY_MAX], const uint8_t conv[ID_LEN],
    const char *user)
{
	return key_join(k, conv, ID_LEN, user, strlen(user));
}

static size_t
reads_key(uint8_t k[MARK_KEY_MAX], const char *user,
    const uint8_t conv[ID_LEN])
{
	return key_join(k, user, strlen(user), conv, ID_LEN);
}

/* The user's mark on conversation id: the visitor_at read, 0 none. */
static uint64_t
mark_get(struct store_txn *t, const uint8_t id[ID_LEN], const char *user)
{
	uint8_t k[MARK_KEY_MAX];
	MDB_val v;

	if (db_get(t, t->st->read_marks, k, mark_key(k, id, user), &v,
	    "get read mark") != 0 || v.mv_size != 1 + 8)
		return 0;
	return proto_get_be64((const uint8_t *)v.mv_data + 1);
}

void
store_conv_view(struct store_txn *t, const char *user, struct st_conv *c)
{
	uint8_t id[ID_LEN];

	if (t->err)
		return;
	store_visitor_name(t, c);
	conv_state_view(t, c);
	store_conv_assignee_view(t, c);
	c->unread = 0;
	if (user == NULL || user[0] == '\0' || c->visitor_at == 0 ||
	    proto_hex_decode(c->id, id, ID_LEN) < 0)
		return;
	c->unread = c->visitor_at > mark_get(t, id, user);
}

void
store_convs_view(struct store_txn *t, const char *user, struct st_conv *cs,
    uint32_t n, int list)
{
	uint32_t i;

	for (i = 0; i < n && !t->err; i++) {
		store_conv_view(t, user, &cs[i]);
		/* A list's rows are light: the details are the thread's. */
		if (list)
			st_visitor_free(&cs[i].visitor);
	}
}

int
store_conv_read(struct store_txn *t, const char *user, const char *conv_id)
{
	uint8_t id[ID_LEN], k[MARK_KEY_MAX], v[1 + 8];
	struct st_conv c;

	if (conv_by_hex(t, conv_id, id, &c) < 0)
		return t->err;
	/* A key reads nothing: there is nobody to remember it for. */
	if (user != NULL && user[0] != '\0' && st_user_id_valid(user) &&
	    mark_get(t, id, user) != c.visitor_at) {
		v[0] = ST_RECORD_VERSION;
		proto_put_be64(v + 1, c.visitor_at);
		db_put(t, t->st->read_marks, k, mark_key(k, id, user), v,
		    sizeof(v), "put read mark");
		db_mark(t, t->st->user_reads, k, reads_key(k, user, id),
		    "put user read");
	}
	st_conv_free(&c);
	return t->err;
}

/*
 * Every key of db starting with the plen bytes of prefix, deleted; for
 * each, gone(t, key, arg) first (NULL: nothing more).
 */
static void
prefix_del(struct store_txn *t, MDB_dbi db, const void *prefix, size_t plen,
    void (*gone)(struct store_txn *, const MDB_val *, void *), void *arg)
{
	uint8_t key[MARK_KEY_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (t->err)
		return;
	if ((rc = mdb_cursor_open(t->txn, db, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	for (;;) {
		k.mv_size = plen;
		k.mv_data = (void *)prefix;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size < plen || k.mv_size > sizeof(key) ||
		    memcmp(k.mv_data, prefix, plen) != 0)
			break;
		/* A copy: the writes below may move the map's pages. */
		memcpy(key, k.mv_data, k.mv_size);
		k.mv_data = key;
		if (gone != NULL)
			gone(t, &k, arg);
		db_del(t, db, key, k.mv_size, "delete by prefix");
		if (t->err)
			break;
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk prefix");
}

/* A conversation's mark (conv | user) gone: its user_reads entry too. */
static void
mark_gone(struct store_txn *t, const MDB_val *k, void *arg)
{
	uint8_t rk[MARK_KEY_MAX];
	const uint8_t *p = k->mv_data;
	size_t n = k->mv_size - ID_LEN;

	(void)arg;
	if (k->mv_size <= ID_LEN || n > ST_WHO_USER_MAX)
		return;
	memcpy(rk, p + ID_LEN, n);
	memcpy(rk + n, p, ID_LEN);
	db_del_quiet(t, t->st->user_reads, rk, n + ID_LEN, "delete user read");
}

/* A user's read (user | conv) gone: the conversation's mark too. */
static void
read_gone(struct store_txn *t, const MDB_val *k, void *arg)
{
	uint8_t mk[MARK_KEY_MAX];
	const uint8_t *p = k->mv_data;
	size_t n = *(const size_t *)arg;

	if (k->mv_size != n + ID_LEN)
		return;
	memcpy(mk, p + n, ID_LEN);
	memcpy(mk + ID_LEN, p, n);
	db_del_quiet(t, t->st->read_marks, mk, ID_LEN + n, "delete read mark");
}

void
store_user_reads_gone(struct store_txn *t, const char *user)
{
	size_t n = strlen(user);

	if (n == 0 || n > ST_WHO_USER_MAX)
		return;
	prefix_del(t, t->st->user_reads, user, n, read_gone, &n);
}

static void
inbox_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	(void)c;
	prefix_del(t, t->st->read_marks, id, ID_LEN, mark_gone, NULL);
}

const struct store_module inbox_module = {
	.name = "inbox",
	.conv_deleted = inbox_conv_deleted,
};

/* -------------------------------------------------------- canned replies */

static size_t
canned_key(uint8_t k[CANNED_KEY_MAX], const char *org, const char *shortcut)
{
	size_t o = strlen(org) + 1, n = strlen(shortcut);

	memcpy(k, org, o);
	memcpy(k + o, shortcut, n);
	return o + n;
}

static void
canned_save(struct store_txn *t, const char *org, const struct st_canned *c)
{
	uint8_t k[CANNED_KEY_MAX];

	rec_put_rows(t, t->st->canned, k, canned_key(k, org, c->shortcut),
	    &st_canned_layout, c, "put canned reply");
}

void
store_canneds_free(struct st_canned *cs, uint32_t n)
{
	rl_free_all(&st_canned_layout, cs, n);
}

int
store_canned_list(struct store_txn *t, const char *org,
    struct st_canned **out, uint32_t *n)
{
	size_t plen = strlen(org) + 1;
	struct st_canned *cs;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*out = NULL;
	*n = 0;
	if (t->err)
		return t->err;
	if ((cs = calloc(ST_CANNED_MAX, sizeof(*cs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->canned, &cur)) != 0) {
		free(cs);
		return txn_lmdb(t, rc, "cursor");
	}
	k.mv_size = plen;
	k.mv_data = (void *)org;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < ST_CANNED_MAX && k.mv_size > plen &&
	    memcmp(k.mv_data, org, plen) == 0) {
		if (rec_dec_rows(t, &v, &st_canned_layout, &cs[*n],
		    "canned reply") < 0)
			break;
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk canned replies");
	if (t->err) {
		store_canneds_free(cs, ST_CANNED_MAX);
		*n = 0;
		return t->err;
	}
	*out = cs;
	return 0;
}

/* The index in cs of the reply id, or n. */
static uint32_t
canned_find(const struct st_canned *cs, uint32_t n, const char *id)
{
	uint32_t i;

	for (i = 0; i < n && strcmp(cs[i].id, id) != 0; i++)
		;
	return i;
}

/* A new one's id, times, and room in the organisation. */
static int
canned_new(struct store_txn *t, uint32_t n, struct st_canned *c)
{
	uint8_t rnd[ID_LEN];

	if (n >= ST_CANNED_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "canned replies: at most 200");
	proto_random(rnd, sizeof(rnd));
	memcpy(c->id, ST_CANNED_PREFIX, 3);
	proto_hex_encode(rnd, sizeof(rnd), c->id + 3);
	c->created_at = t->st->now();
	return 0;
}

int
store_canned_put(struct store_txn *t, const char *org,
    const struct st_canned_put_req *q, struct st_canned *out)
{
	struct st_canned *cs, c;
	uint8_t k[CANNED_KEY_MAX];
	const char *bad;
	uint32_t n, at, dup;

	if (t->err)
		return t->err;
	if ((bad = st_canned_invalid(q->shortcut, q->text)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if (store_canned_list(t, org, &cs, &n) != 0)
		return t->err;
	memset(&c, 0, sizeof(c));
	at = q->id[0] != '\0' ? canned_find(cs, n, q->id) : n;
	for (dup = 0; dup < n && strcmp(cs[dup].shortcut, q->shortcut) != 0;
	    dup++)
		;
	if (q->id[0] != '\0' && at == n)
		store_fail(t, PROTO_E_NOT_FOUND, "no such canned reply");
	else if (dup < n && dup != at)
		store_fail(t, PROTO_E_EXISTS, "shortcut: already in use");
	else if (at < n) {
		c = cs[at];
		memset(&cs[at], 0, sizeof(cs[at]));
		/* Its old key goes when the shortcut changes. */
		if (strcmp(c.shortcut, q->shortcut) != 0)
			db_del(t, t->st->canned, k, canned_key(k, org,
			    c.shortcut), "delete canned reply");
	} else
		canned_new(t, n, &c);
	store_canneds_free(cs, n);
	if (t->err) {
		st_canned_free(&c);
		return t->err;
	}
	if (q->set_atts &&
	    att_canned_set(t, org, q->atts, q->natts, &c.atts, &c.natts)) {
		st_canned_free(&c);
		return t->err;
	}
	strlcpy(c.shortcut, q->shortcut, sizeof(c.shortcut));
	free(c.text);
	if ((c.text = strdup(q->text)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	c.updated_at = t->st->now();
	canned_save(t, org, &c);
	if (t->err) {
		st_canned_free(&c);
		return t->err;
	}
	*out = c;
	return 0;
}

int
store_canned_delete(struct store_txn *t, const char *org, const char *id)
{
	struct st_canned *cs;
	uint8_t k[CANNED_KEY_MAX];
	uint32_t n, at;

	if (store_canned_list(t, org, &cs, &n) != 0)
		return t->err;
	if ((at = canned_find(cs, n, id)) == n)
		store_fail(t, PROTO_E_NOT_FOUND, "no such canned reply");
	else {
		att_canned_drop(t, cs[at].atts, cs[at].natts);
		db_del(t, t->st->canned, k, canned_key(k, org,
		    cs[at].shortcut), "delete canned reply");
	}
	store_canneds_free(cs, n);
	return t->err;
}

int
store_org_canned_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	struct st_canned *cs;
	uint8_t k[CANNED_KEY_MAX];
	uint32_t all, i;

	*n = 0;
	if (t->err || max == 0)
		return t->err;
	if (store_canned_list(t, org, &cs, &all) != 0)
		return t->err;
	for (i = 0; i < all && i < max && !t->err; i++) {
		att_canned_drop(t, cs[i].atts, cs[i].natts);
		db_del(t, t->st->canned, k, canned_key(k, org, cs[i].shortcut),
		    "delete canned reply");
	}
	if (!t->err)
		*n = i;
	store_canneds_free(cs, all);
	return t->err;
}
