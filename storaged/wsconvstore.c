/*
 * A visitor session's conversations (issue 26, see STORAGE.md). The
 * session's current conversation is the `sessions` entry of (widget, its
 * session id), as ever; a new conversation is a new session id in the
 * session's record, so that its next message opens another. Each
 * conversation made for the session is noted in
 *
 *	wsess_convs      token hash[32] | u64 started_at | conversation id[16]
 *	                 -> (nothing)
 *
 * which lists them (newest last) and says which the session may read. At
 * most ST_WS_CONVS_MAX entries a session: the oldest leaves the list (its
 * conversation stays). They go with the session (wsess_delete).
 */
#include <stdlib.h>
#include <string.h>

#include "storeint.h"
#include "wsconvstore.h"
#include "wsess.h"

#define WC_KEY_LEN	(ST_TOKEN_HASH_LEN + 8 + ID_LEN)
/* Entries a walk takes: the bound, and a few written by an older build. */
#define WC_WALK_MAX	(ST_WS_CONVS_MAX + 8)
/* Messages looked at for a preview: the first visitor message. */
#define PREVIEW_SCAN	4

static void
wc_key(uint8_t k[WC_KEY_LEN], const uint8_t hash[ST_TOKEN_HASH_LEN],
    uint64_t started_at, const uint8_t cid[ID_LEN])
{
	memcpy(k, hash, ST_TOKEN_HASH_LEN);
	proto_put_be64(k + ST_TOKEN_HASH_LEN, started_at);
	memcpy(k + ST_TOKEN_HASH_LEN + 8, cid, ID_LEN);
}

/*
 * The session's first max entries, oldest first, into keys (max of
 * WC_KEY_LEN bytes): 0, or -1 with t failed.
 */
static int
wc_first(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    uint8_t *keys, uint32_t max, uint32_t *n)
{
	return txn_keys(t, t->st->wsess_convs, "walk session conversations",
	    hash, ST_TOKEN_HASH_LEN, 0, ST_TOKEN_HASH_LEN, WC_KEY_LEN, keys,
	    max, n);
}

/*
 * The session's entries, oldest first, into keys (WC_WALK_MAX of
 * WC_KEY_LEN bytes): 0, or -1 with t failed.
 */
static int
wc_keys(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    uint8_t *keys, uint32_t *n)
{
	return wc_first(t, hash, keys, WC_WALK_MAX, n);
}

void
wsconvs_note_conv(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_conv *c)
{
	uint8_t cid[ID_LEN], k[WC_KEY_LEN], keys[WC_WALK_MAX * WC_KEY_LEN];
	uint32_t n, i;
	MDB_val v;

	if (t->err || proto_hex_decode(c->id, cid, ID_LEN) != 0)
		return;
	wc_key(k, hash, c->created_at, cid);
	if (db_get(t, t->st->wsess_convs, k, sizeof(k), &v,
	    "get session conversation") != 1)
		return;		/* noted already, or failed */
	db_mark(t, t->st->wsess_convs, k, sizeof(k),
	    "put session conversation");
	if (wc_keys(t, hash, keys, &n) < 0)
		return;
	/* The oldest leave the list; their conversations stay. */
	for (i = 0; n > ST_WS_CONVS_MAX && i < n - ST_WS_CONVS_MAX; i++)
		db_del(t, t->st->wsess_convs, keys + (size_t)i * WC_KEY_LEN,
		    WC_KEY_LEN, "delete session conversation");
}

void
wsconvs_drop(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	uint8_t keys[WC_WALK_MAX * WC_KEY_LEN];
	uint32_t n, i;

	do {
		if (wc_keys(t, hash, keys, &n) < 0)
			return;
		for (i = 0; i < n; i++)
			db_del(t, t->st->wsess_convs, keys +
			    (size_t)i * WC_KEY_LEN, WC_KEY_LEN,
			    "delete session conversation");
	} while (n == WC_WALK_MAX && !t->err);
}

int
wsconvs_newest(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    uint8_t cid[ID_LEN])
{
	uint8_t keys[WC_WALK_MAX * WC_KEY_LEN];
	uint32_t n;

	if (wc_keys(t, hash, keys, &n) < 0)
		return -1;
	if (n == 0)
		return 1;
	memcpy(cid, keys + (size_t)(n - 1) * WC_KEY_LEN + ST_TOKEN_HASH_LEN + 8,
	    ID_LEN);
	return 0;
}

int
wsconvs_other(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const uint8_t *cur)
{
	uint8_t keys[2 * WC_KEY_LEN];
	uint32_t n;

	if (wc_first(t, hash, keys, 2, &n) < 0)
		return -1;
	/* Each listed once: of two, one is not cur. */
	return n == 2 || (n == 1 && (cur == NULL ||
	    memcmp(keys + ST_TOKEN_HASH_LEN + 8, cur, ID_LEN) != 0));
}

void
wsconvs_each(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    void (*fn)(struct store_txn *, const uint8_t cid[ID_LEN], void *),
    void *arg)
{
	uint8_t keys[WC_WALK_MAX * WC_KEY_LEN];
	uint32_t n, i;

	/* The keys first: fn may write (other databases) as it goes. */
	if (wc_keys(t, hash, keys, &n) < 0)
		return;
	for (i = 0; i < n && !t->err; i++)
		fn(t, keys + (size_t)i * WC_KEY_LEN + ST_TOKEN_HASH_LEN + 8,
		    arg);
}

/* ------------------------------------------------------------ requests */

int
store_ws_conv_new(struct store_txn *t, const char *widget_id,
    const char *origin, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_ws_conv_new_rep *out)
{
	struct st_wsess s;
	struct st_conv c;
	uint8_t cid[ID_LEN];
	int result, rc;

	memset(out, 0, sizeof(*out));
	/*
	 * No session: gone (a socket with nothing stored is answered by
	 * its worker, which asks only for a stored one).
	 */
	if (wsess_find(t, widget_id, origin, hash, 0, 1, &result, &s) != 0)
		return t->err;
	out->result = (uint8_t)result;
	/* None of its conversations begun: nothing to end. */
	if (result != ST_WS_OK ||
	    (rc = sess_conv_id(t, s.widget, s.id, cid)) == 1)
		return t->err;
	if (rc < 0 || conv_get(t, cid, &c) != 0)
		return t->err;
	/* Listed (a session older than the list has its first one here). */
	wsconvs_note_conv(t, hash, &c);
	strlcpy(out->ended, c.id, sizeof(out->ended));
	st_conv_free(&c);
	wsess_new_id(&s);
	wsess_save(t, hash, &s, s.expires_at);
	return t->err;
}

/* The first visitor message of conversation cid, cut, into out. */
static void
conv_preview(struct store_txn *t, const uint8_t cid[ID_LEN],
    char out[4 * ST_WS_PREVIEW_MAX + 1])
{
	uint8_t probe[MSG_KEY_LEN];
	struct st_msg m;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, i, found = 0;

	out[0] = '\0';
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	msg_key(probe, cid, 0);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	for (i = 0; rc == 0 && !found && i < PREVIEW_SCAN &&
	    k.mv_size == MSG_KEY_LEN && memcmp(k.mv_data, cid, ID_LEN) == 0;
	    i++) {
		if (msg_rec_decode_rows(t, &v, &m, RL_ROW(ST_MSG_ROW_role) |
		    RL_ROW(ST_MSG_ROW_content)) < 0)
			break;
		if ((found = strcmp(m.role, "user") == 0))
			strlcpy(out, m.content, st_utf8_prefix(m.content,
			    ST_WS_PREVIEW_MAX) + 1);
		st_msg_free(&m);
		if (!found)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages");
}

/* One listed conversation: 0 taken, 1 gone (deleted meanwhile), -1. */
static int
conv_item(struct store_txn *t, const uint8_t cid[ID_LEN], int current,
    struct st_ws_conv_item *it)
{
	struct st_conv c;
	int rc;

	memset(it, 0, sizeof(*it));
	if ((rc = conv_load(t, cid, &c)) != 0)
		return rc;
	strlcpy(it->id, c.id, sizeof(it->id));
	it->started_at = c.created_at;
	it->updated_at = c.updated_at;
	it->current = (uint8_t)current;
	st_conv_free(&c);
	conv_preview(t, cid, it->preview);
	return t->err ? -1 : 0;
}

/*
 * For a read of session hash's conversations: its live session on widget
 * widget_id into *s (the origin not checked: a read). 1 found, 0 not
 * (*result says why: gone, as store_ws_conv_new's), -1 on t's error.
 */
static int
wc_session_read(struct store_txn *t, const char *widget_id,
    const uint8_t hash[ST_TOKEN_HASH_LEN], struct st_wsess *s,
    uint8_t *result)
{
	int r;

	if (wsess_find(t, widget_id, NULL, hash, 0, 0, &r, s) != 0)
		return -1;
	*result = (uint8_t)r;
	return r == ST_WS_OK;
}

int
store_ws_conv_list(struct store_txn *t, const char *widget_id,
    const uint8_t hash[ST_TOKEN_HASH_LEN], struct st_ws_conv_list_rep *out)
{
	uint8_t keys[WC_WALK_MAX * WC_KEY_LEN], cur[ID_LEN];
	struct st_wsess s;
	const uint8_t *cid;
	uint32_t n, i;
	int rc, hascur, listed = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = wc_session_read(t, widget_id, hash, &s, &out->result)) != 1)
		return rc < 0 ? t->err : 0;
	if ((hascur = sess_conv_id(t, s.widget, s.id, cur)) < 0 ||
	    wc_keys(t, hash, keys, &n) < 0)
		return t->err;
	hascur = hascur == 0;
	if ((out->convs = calloc(ST_WS_CONVS_MAX, sizeof(*out->convs))) ==
	    NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < n; i++)
		if (hascur && memcmp(keys + (size_t)i * WC_KEY_LEN +
		    ST_TOKEN_HASH_LEN + 8, cur, ID_LEN) == 0)
			listed = 1;
	/* A session older than the list: its conversation, first. */
	if (hascur && !listed && conv_item(t, cur, 1, &out->convs[0]) == 0)
		out->n = 1;
	for (i = n; i > 0 && out->n < ST_WS_CONVS_MAX && !t->err; i--) {
		cid = keys + (size_t)(i - 1) * WC_KEY_LEN + ST_TOKEN_HASH_LEN +
		    8;
		if (conv_item(t, cid, hascur && memcmp(cid, cur, ID_LEN) == 0,
		    &out->convs[out->n]) == 0)
			out->n++;
	}
	if (t->err) {
		st_rep_free(PROTO_ST_WS_CONV_LIST, out);
		return t->err;
	}
	return 0;
}

int
wsconvs_owns(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const uint8_t cid[ID_LEN],
    const struct st_conv *c)
{
	uint8_t k[WC_KEY_LEN], cur[ID_LEN];
	MDB_val v;
	int rc;

	wc_key(k, hash, c->created_at, cid);
	if ((rc = db_get(t, t->st->wsess_convs, k, sizeof(k), &v,
	    "get session conversation")) != 1)
		return rc == 0 ? 1 : -1;
	if ((rc = sess_conv_id(t, s->widget, s->id, cur)) < 0)
		return -1;
	return rc == 0 && memcmp(cur, cid, ID_LEN) == 0;
}

int
store_ws_conv_read(struct store_txn *t, const char *widget_id,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const char *conv_id,
    uint32_t history_max, size_t max_bytes, struct st_ws_conv_read_rep *out)
{
	struct st_wsess s;
	struct st_conv c;
	uint8_t cid[ID_LEN];
	int rc, more = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = wc_session_read(t, widget_id, hash, &s, &out->result)) != 1)
		return rc < 0 ? t->err : 0;
	out->result = ST_WS_NO_CONV;
	if (!st_id_valid(conv_id) ||
	    proto_hex_decode(conv_id, cid, ID_LEN) != 0 ||
	    (rc = conv_load(t, cid, &c)) == 1)
		return t->err;
	if (rc < 0)
		return t->err;
	rc = wsconvs_owns(t, hash, &s, cid, &c);
	st_conv_free(&c);
	if (rc != 1)
		return t->err;
	out->result = ST_WS_OK;
	strlcpy(out->conv_id, conv_id, sizeof(out->conv_id));
	if (max_bytes == 0 || max_bytes > ST_WS_HISTORY_BYTES)
		max_bytes = ST_WS_HISTORY_BYTES;
	if (msgs_newest(t, cid, history_max, max_bytes, RL_ALL_ROWS, NULL,
	    &out->history, &out->nhistory, &more, NULL) < 0) {
		st_rep_free(PROTO_ST_WS_CONV_READ, out);
		return t->err;
	}
	out->more = (uint8_t)more;
	return 0;
}
