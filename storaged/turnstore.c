/*
 * The model turns open, on disk (storeint.h, turns_open): a turn begun
 * (its visitor's message stored for the model) is written in the begin's
 * transaction and removed in the one that stores its reply. lostturns.c
 * keeps them in memory, by worker connection, and ends a lost worker's
 * 3 s after; a storaged started again had none of that, so a turn whose
 * worker died with it, or before it, stayed open for good, the visitor's
 * question unanswered. At its start (server.c) every turn on disk is
 * left as lost, for a worker to name again or to be ended. A turn open
 * also holds its conversation to it (store_turn_holds): one at a time;
 * and keeps its reply's places right after its question, which a
 * person's message stored meanwhile goes past (convstore.c's msg_place):
 * so a person's message does not end it.
 *
 *	turns_open conv id[16] -> visitor's message id[16]
 */
#include <string.h>

#include "storeint.h"
#include "util.h"

void
store_turn_opened(struct store_txn *t, const char *conv, const char *msg)
{
	uint8_t k[ID_LEN], v[ID_LEN];

	if (t->err || proto_hex_decode(conv, k, ID_LEN) < 0 ||
	    proto_hex_decode(msg, v, ID_LEN) < 0)
		return;
	db_put(t, t->st->turns_open, k, ID_LEN, v, ID_LEN, "put open turn");
}

void
store_turn_closed(struct store_txn *t, const char *conv, const char *msg)
{
	uint8_t k[ID_LEN], m[ID_LEN];
	MDB_val v;

	if (t->err || proto_hex_decode(conv, k, ID_LEN) < 0)
		return;
	/* Another turn of it begun since stays open. */
	if (msg != NULL && (proto_hex_decode(msg, m, ID_LEN) < 0 ||
	    db_get(t, t->st->turns_open, k, ID_LEN, &v, "get open turn") != 0 ||
	    v.mv_size != ID_LEN || memcmp(v.mv_data, m, ID_LEN) != 0))
		return;
	db_del_quiet(t, t->st->turns_open, k, ID_LEN, "delete open turn");
}

int
turn_open_msg(struct store_txn *t, const uint8_t cid[ID_LEN],
    char msg[ST_ID_HEX + 1])
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->turns_open, cid, ID_LEN, &v,
	    "get open turn")) != 0)
		return rc;
	if (v.mv_size != ID_LEN)
		return 1;	/* not ours: passed over */
	proto_hex_encode(v.mv_data, ID_LEN, msg);
	return 0;
}

int
store_turns_open(struct store_txn *t,
    void (*cb)(const char *conv, const char *msg, void *), void *arg)
{
	char conv[ST_ID_HEX + 1], msg[ST_ID_HEX + 1];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((cur = txn_seek(t, t->st->turns_open, NULL, 0, &k, &v, &rc)) ==
	    NULL)
		return -1;
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != ID_LEN || v.mv_size != ID_LEN)
			continue;	/* not ours: passed over */
		proto_hex_encode(k.mv_data, ID_LEN, conv);
		proto_hex_encode(v.mv_data, ID_LEN, msg);
		cb(conv, msg, arg);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "walk open turns");
		return -1;
	}
	return 0;
}
