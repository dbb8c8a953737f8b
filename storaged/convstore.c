/*
 * Conversations and messages: their records and operations (open by
 * session, append, get, the chat's begin, a session's history, message
 * pages, deletion). Their databases (see STORAGE.md; widgets are
 * widgetstore.c's, visitor sessions wsess.c's, contacts contactstore.c's;
 * the engine is store.c):
 *
 *	meta      "schema" -> u32 schema version
 *	convs     id[16] -> conversation
 *	sessions  widget NUL session -> id[16]
 *	msgs      id[16] | u32 sequence (big-endian) -> message
 *	msgs_gone id[16] -> (): a deleted conversation whose messages are
 *	          still to remove (store_msgs_gone_sweep)
 *	activity  retired: kept (empty) so older data directories open
 *
 * The per-widget index and counts, and the lists and searches that walk
 * them, are convquery.c's; the owner sessions are dashstore.c's.
 *
 * Every value starts with ST_RECORD_VERSION (conversations and messages
 * with their format, CONV_RECORD_VERSION and MSG_RECORD_VERSION: their
 * rows read the older ones); records are the same encodings the protocol
 * carries (penc_conv, penc_msg), so a message's reply size is its record
 * size minus one (msg_rec_size()).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentmsg.h"
#include "attstore.h"
#include "convstate.h"
#include "gapstore.h"
#include "dashmsg.h"
#include "rollups.h"
#include "log.h"
#include "random.h"
#include "storeint.h"
#include "util.h"
#include "widgetstore.h"

/* 0 loaded, 1 absent, -1 error. */
int
conv_load(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = rec_load(t, t->st->convs, id, ID_LEN, &st_conv_layout, c,
	    "conversation")) != 0)
		return rc;
	/* Made before organisations: the first one's. */
	if (c->org[0] == '\0')
		strlcpy(c->org, ST_WHO_ORG_DEFAULT, sizeof(c->org));
	return 0;
}

int
conv_id_parse(struct store_txn *t, const char *hex, uint8_t id[ID_LEN])
{
	if (!st_id_valid(hex)) {
		store_fail(t, PROTO_E_INVALID,
		    "conversation id must be 32 lowercase hex digits");
		return -1;
	}
	proto_hex_decode(hex, id, ID_LEN);
	return 0;
}

/*
 * The conversation id into c when who asks may see it: 0; 1 when it is
 * not there for them (another organisation's is absent to who asks, as
 * an unknown id); -1 with t failed.
 */
static int
conv_seen(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = conv_load(t, id, c)) == 0 && t->org != NULL &&
	    strcmp(c->org, t->org) != 0) {
		st_conv_free(c);
		rc = 1;
	}
	return rc;
}

int
conv_get(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = conv_seen(t, id, c)) == 1)
		store_fail(t, PROTO_E_NOT_FOUND, "no such conversation");
	return rc == 0 ? 0 : -1;
}

int
conv_by_hex(struct store_txn *t, const char *hex, uint8_t id[ID_LEN],
    struct st_conv *c)
{
	if (conv_id_parse(t, hex, id) < 0)
		return -1;
	return conv_get(t, id, c);
}

/*
 * conv_save() when the caller holds what the reports counted of the
 * record as stored: old (report_conv_was, taken before c changed), NULL
 * when none is stored yet. c is saved as stored and given back
 * as it came: its three rows that differ in store are set for the save
 * and then put back, not its 2.4 KiB copied to change them (a turn's
 * two saves).
 */
static void
conv_save_from(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct report_was *old, struct st_conv *c)
{
	char name0 = c->visitor_name[0];
	uint8_t unread = c->unread, reported = c->reported;

	if (t->err)
		return;
	/* What storaged fills when it answers is never stored. */
	c->visitor_name[0] = '\0';
	c->unread = 0;
	c->reported = old == NULL ? 1 : (old->reported || c->reported);
	report_conv_saved(t, old, c);
	rec_put_rows(t, t->st->convs, id, ID_LEN, &st_conv_layout, c,
	    "put conversation");
	c->visitor_name[0] = name0;
	c->unread = unread;
	c->reported = reported;
}

void
conv_save(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct st_conv *c)
{
	struct st_conv rec = *c;	/* shallow: saved from, c const */
#ifdef PARLEY_BENCH_NO_ROLLUPS
	/* The bench's storaged without rollups: nothing read (make bench). */
	conv_save_from(t, id, NULL, &rec);
#else
	struct st_conv old;
	struct report_was was;
	int rc;

	if (t->err)
		return;
	/* The record stored: what the reports counted of it. */
	if ((rc = rec_load(t, t->st->convs, id, ID_LEN, &st_conv_layout, &old,
	    "conversation")) < 0)
		return;
	if (rc == 0) {
		report_conv_was(&was, &old);
		st_conv_free(&old);
	}
	conv_save_from(t, id, rc == 0 ? &was : NULL, &rec);
#endif
}

void
msg_save(struct store_txn *t, const uint8_t key[MSG_KEY_LEN],
    const struct st_msg *m)
{
	rec_put_rows(t, t->st->msgs, key, MSG_KEY_LEN, &st_msg_layout, m,
	    "put message");
}

/*
 * A conversation id no one holds yet: the creation time in milliseconds
 * (48 bits, big-endian), then 80 random bits. Conversations and their
 * messages are keyed by it, so a new one goes beside the last new ones,
 * in pages already in memory, not into a random page of a tree of a
 * million (a page fault, and a page copied into the write transaction,
 * for each: the first token came 0.2 ms later at a million stored
 * conversations than on a fresh store). The random part keeps ids
 * unguessable; none is a key to anything a visitor can reach.
 */
static int
conv_new_id(struct store_txn *t, uint8_t id[ID_LEN])
{
	uint64_t now = (uint64_t)t->st->now();
	MDB_val v;
	int i, rc;

	for (i = 0; i < 4; i++) {
		proto_put_be64(id, now << 16);
		proto_random(id + 6, ID_LEN - 6);
		rc = db_get(t, t->st->convs, id, ID_LEN, &v, "get conversation");
		if (rc == 1)
			return 0;
		if (rc < 0)
			return -1;
	}
	/* 80 random bits colliding four times: the generator is broken. */
	log_warnx("conversation ids keep colliding");
	store_fail(t, PROTO_E_INTERNAL, "no fresh id");
	return -1;
}

/*
 * A cursor on the last message key at or before (id, seq), in *k and *v
 * when *rc is 0: conversation id's last message up to seq when the key
 * starts with id. NULL with t failed.
 */
static MDB_cursor *
msg_seek_upto(struct store_txn *t, const uint8_t id[ID_LEN], uint32_t seq,
    MDB_val *k, MDB_val *v, int *rc)
{
	uint8_t probe[MSG_KEY_LEN];
	MDB_cursor *cur;

	msg_key(probe, id, seq);
	if ((cur = txn_seek(t, t->st->msgs, probe, sizeof(probe), k, v,
	    rc)) == NULL)
		return NULL;
	/* Step back from the first key past this conversation's range. */
	if (*rc == 0 && (k->mv_size != MSG_KEY_LEN ||
	    memcmp(k->mv_data, probe, MSG_KEY_LEN) != 0))
		*rc = mdb_cursor_get(cur, k, v, MDB_PREV);
	else if (*rc == MDB_NOTFOUND)
		*rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	return cur;
}

/* msg_seek_upto's of conversation id's last message. */
static MDB_cursor *
msg_seek_last(struct store_txn *t, const uint8_t id[ID_LEN], MDB_val *k,
    MDB_val *v, int *rc)
{
	return msg_seek_upto(t, id, UINT32_MAX, k, v, rc);
}

/* The sequence number after the conversation's last message. */
static int
msg_next_seq(struct store_txn *t, const uint8_t id[ID_LEN], uint32_t *seq)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((cur = msg_seek_last(t, id, &k, &v, &rc)) == NULL)
		return -1;
	if (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0 &&
	    proto_get_be32((const uint8_t *)k.mv_data + ID_LEN) ==
	    UINT32_MAX) {
		mdb_cursor_close(cur);
		store_fail(t, PROTO_E_INVALID, "conversation is full");
		return -1;
	}
	*seq = 0;
	if (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0)
		*seq = proto_get_be32((const uint8_t *)k.mv_data + ID_LEN) + 1;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "last message");
		return -1;
	}
	return 0;
}

/*
 * The places a model turn keeps for its reply right after its visitor's
 * message: the answer and its tools' steps before it (ST_TOOL_CALLS_MAX
 * at most). The turn's reply is stored when the turn ends, and a person
 * may write meanwhile (ST_AGENT_MSG, while the reply streams or as it is
 * stopped by a takeover): that message, stored while the turn is open
 * and its question still the conversation's last, is numbered past the
 * places, and the reply fills them (msg_place). The transcript reads the
 * question, its reply (whole, or cut off), then the person's message, as
 * the visitor's widget showed them, whichever reached storaged first.
 * Nothing marks the places: the turn open on disk (turnstore.c, written
 * with the question) is what keeps them; the numbers skipped are never
 * used when no reply comes. Positions only order messages (ST_MSG_PAGE).
 */
#define TURN_PLACES	(ST_TOOL_CALLS_MAX + 1)
/* Messages looked at back from the last for an open turn's question. */
#define TURN_SCAN	64

static int msg_is(const MDB_val *, const char *);
static int msg_last_is_visitor(struct store_txn *, const uint8_t [ID_LEN],
    const char *, uint64_t *);

/*
 * The sequence number of message id among conversation cid's last
 * TURN_SCAN, in *seq (*last: 1 when it is the last message): 0 found, 1
 * not, -1 with t failed.
 */
static int
msg_seq_back(struct store_txn *t, const uint8_t cid[ID_LEN], const char *id,
    uint32_t *seq, int *last)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, n = 0, found = 0;

	if ((cur = msg_seek_last(t, cid, &k, &v, &rc)) == NULL)
		return -1;
	while (rc == 0 && n++ < TURN_SCAN && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		if ((found = msg_is(&v, id)) != 0) {
			*seq = msg_key_seq(k.mv_data);
			*last = n == 1;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!found && rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "walk messages back");
		return -1;
	}
	return found ? 0 : 1;
}

/*
 * The next free place the turn for visitor's message q keeps in
 * conversation cid (TURN_PLACES), in *seq; *first (when not NULL) 1 when
 * none is taken yet; *qlast (when not NULL) 1 when q is the last message
 * (the place is then the next of all). 0, or 1 when there is none (q
 * not among the last TURN_SCAN messages, or its places all taken), or
 * -1 with t failed.
 */
static int
turn_place(struct store_txn *t, const uint8_t cid[ID_LEN], const char *q,
    uint32_t *seq, int *first, int *qlast_out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t at, last;
	int rc, qlast;

	if ((rc = msg_seq_back(t, cid, q, &at, &qlast)) != 0)
		return rc;
	if (at > UINT32_MAX - 1 - TURN_PLACES)
		return 1;	/* no room past it */
	if (qlast_out != NULL)
		*qlast_out = qlast;
	/* The common case: nobody wrote meanwhile. */
	if (qlast) {
		*seq = at + 1;
		if (first != NULL)
			*first = 1;
		return 0;
	}
	if ((cur = msg_seek_upto(t, cid, at + TURN_PLACES, &k, &v,
	    &rc)) == NULL)
		return -1;
	/* q's own key at least, found just now. */
	last = rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0 ? msg_key_seq(k.mv_data) : at;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "turn's places");
		return -1;
	}
	if (last < at || last == at + TURN_PLACES)
		return 1;
	*seq = last + 1;
	if (first != NULL)
		*first = last == at;
	return 0;
}

/*
 * Where message m goes in conversation cid, in *seq (*newest: past every
 * other, the conversation's last message now): one past the last, but
 * for the places an open model turn keeps (TURN_PLACES). turn: that
 * turn's visitor's message, or NULL for the one on disk (turns_open). A
 * turn's reply (assistant, and the tools before it: the worker's
 * ST_MSG_APPEND, the lost turn's end) takes the turn's next place;
 * another's message (a person's), while the question is still the last,
 * goes past them. A visitor's message is never placed: a begin is
 * refused while the question is the last (store_turn_holds), and one
 * after that is a question of its own. 0, or -1 with t failed.
 */
static int
msg_place(struct store_txn *t, const uint8_t cid[ID_LEN],
    const struct st_msg *m, const char *turn, uint32_t *seq, int *newest)
{
	char open[ST_ID_HEX + 1];
	uint32_t next;
	int rc, qlast, user = strcmp(m->role, "user") == 0,
	    reply = strcmp(m->role, "assistant") == 0 ||
	    strcmp(m->role, "tool") == 0;

	if (!user && turn == NULL) {
		if ((rc = turn_open_msg(t, cid, open)) < 0)
			return -1;
		turn = rc == 0 ? open : NULL;
	}
	if (reply && turn != NULL) {
		if ((rc = turn_place(t, cid, turn, seq, NULL, &qlast)) < 0)
			return -1;
		/* The common case, its question the last: no other seek. */
		if (rc == 0 && qlast) {
			*newest = 1;
			return 0;
		}
		if (rc == 0) {
			if (msg_next_seq(t, cid, &next) < 0)
				return -1;
			*newest = *seq >= next;
			return 0;
		}
		turn = NULL;	/* no place left: it goes last */
	}
	if (msg_next_seq(t, cid, &next) < 0)
		return -1;
	*seq = next;
	*newest = 1;
	if (user || reply || turn == NULL)
		return 0;
	/* Another's message while the question is the last: past the places. */
	if ((rc = msg_last_is_visitor(t, cid, turn, NULL)) == 1 &&
	    next <= UINT32_MAX - 1 - TURN_PLACES)
		*seq = next + TURN_PLACES;
	return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- ops */

static int
role_valid(const char *r)
{
	return strcmp(r, "user") == 0 || strcmp(r, "assistant") == 0 ||
	    strcmp(r, "system") == 0 || strcmp(r, "agent") == 0 ||
	    strcmp(r, "tool") == 0;
}

static int
status_valid(const char *s)
{
	return strcmp(s, "complete") == 0 || strcmp(s, "interrupted") == 0 ||
	    strcmp(s, "failed") == 0;
}

/* NULL when (widget, session) is well-formed, else what is wrong. */
static const char *
session_invalid(const char *widget, const char *session)
{
	size_t wlen = strlen(widget), slen = strlen(session);

	if (wlen == 0 || wlen > ST_WIDGET_MAX || !proto_utf8_valid(widget, wlen))
		return "widget must be 1 to 64 bytes of UTF-8";
	if (slen == 0 || slen > ST_SESSION_MAX || !proto_utf8_valid(session, slen))
		return "session must be 1 to 128 bytes of UTF-8";
	return NULL;
}

/* Checks the pair and builds its sessions key. 0, or -1 with t failed. */
int
sess_key(struct store_txn *t, const char *widget, const char *session,
    uint8_t skey[SESS_KEY_MAX], size_t *klen)
{
	const char *bad;
	size_t wlen, slen;

	if ((bad = session_invalid(widget, session)) != NULL) {
		store_fail(t, PROTO_E_INVALID, bad);
		return -1;
	}
	wlen = strlen(widget);
	slen = strlen(session);
	/* Neither holds a NUL, so the pair maps to one key. */
	memcpy(skey, widget, wlen);
	skey[wlen] = '\0';
	memcpy(skey + wlen + 1, session, slen);
	*klen = wlen + 1 + slen;
	return 0;
}

/*
 * The conversation id a session key names: 0 found, 1 absent, -1 error.
 * The answer is kept in t (sess_seen) and given again while the index
 * stays as it was: a begin asks twice, or three times.
 */
static int
sess_find(struct store_txn *t, const uint8_t *skey, size_t klen,
    uint8_t id[ID_LEN])
{
	struct store *st = t->st;
	struct sess_seen *seen = &t->sess_seen;
	MDB_val v;
	int rc;

	if (t->err)
		return -1;
	if (seen->klen != 0 && seen->klen == klen &&
	    seen->sess_gen == st->sess_gen && seen->cfg_gen == st->cfg_gen &&
	    memcmp(seen->key, skey, klen) == 0) {
		if (seen->rc == 0)
			memcpy(id, seen->id, ID_LEN);
		return seen->rc;
	}
	if ((rc = db_get(t, st->sessions, skey, klen, &v,
	    "get session")) < 0)
		return rc;
	if (rc == 0 && (v.mv_size != 1 + ID_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION)) {
		log_warnx("session index: record not understood");
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	if (rc == 0)
		memcpy(id, (uint8_t *)v.mv_data + 1, ID_LEN);
	if (klen <= sizeof(seen->key)) {
		memcpy(seen->key, skey, klen);
		seen->klen = klen;
		seen->rc = rc;
		if (rc == 0)
			memcpy(seen->id, id, ID_LEN);
		seen->sess_gen = st->sess_gen;
		seen->cfg_gen = st->cfg_gen;
	}
	return rc;
}

/* Loads the conversation a session names; it must exist. 0 or -1. */
static int
sess_conv(struct store_txn *t, const uint8_t id[ID_LEN], struct st_conv *c)
{
	int rc;

	if ((rc = conv_load(t, id, c)) == 1) {
		log_warnx("session index names a missing conversation");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
	}
	return rc == 0 ? 0 : -1;
}

int
store_conv_open(struct store_txn *t, const char *widget, const char *session,
    struct st_conv *conv, int *created)
{
	return conv_open_contact(t, widget, session, "", conv, created);
}

int
sess_conv_id(struct store_txn *t, const char *widget, const char *session,
    uint8_t id[ID_LEN])
{
	uint8_t skey[SESS_KEY_MAX];
	size_t klen;

	if (t->err || sess_key(t, widget, session, skey, &klen) < 0)
		return -1;
	return sess_find(t, skey, klen, id);
}

/*
 * The organisation a new conversation of widget (internal id) belongs
 * to, its widget's (kept when the widget goes: the conversation stays
 * its organisation's); a name no widget holds (the HTTP chat's free
 * names) is the default one's. 0, or -1 with t failed.
 */
static int
conv_widget_org(struct store_txn *t, const char *widget,
    char org[ST_WHO_ORG_MAX + 1])
{
	struct st_widget w;
	int rc;

	strlcpy(org, ST_WHO_ORG_DEFAULT, ST_WHO_ORG_MAX + 1);
	if ((rc = widget_load(t, widget, &w)) < 0)
		return -1;
	if (rc == 0) {
		strlcpy(org, w.org, ST_WHO_ORG_MAX + 1);
		st_widget_free(&w);
	}
	return 0;
}

/*
 * conv_open_contact() whose new conversation's record is left to the
 * caller to save (its first message changes it anyway): org, when not
 * NULL, is its widget's organisation, which the caller loaded; its link
 * bounded or not (contact_link_new: not linked, it names no contact).
 * *conv is loaded or made in place (holding nothing on failure).
 */
static int
conv_open_unsaved(struct store_txn *t, const char *widget,
    const char *session, const char *contact_id, int bounded,
    const char *org, struct st_conv *conv, int *created)
{
	uint8_t ccid[ID_LEN], cckey[2 * ID_LEN];
	uint8_t skey[SESS_KEY_MAX], sval[1 + ID_LEN], id[ID_LEN];
	struct st_conv *c = conv;	/* made in place, not copied there */
	size_t klen, i;
	int rc;

	if (t->err)
		return t->err;
	if (sess_key(t, widget, session, skey, &klen) < 0)
		return t->err;
	if ((rc = sess_find(t, skey, klen, id)) < 0)
		return t->err;
	if (rc == 0) {
		if (sess_conv(t, id, c) < 0)
			return t->err;
		*created = 0;
		return 0;
	}

	if (conv_new_id(t, id) < 0)
		return t->err;
	memset(c, 0, sizeof(*c));
	proto_hex_encode(id, ID_LEN, c->id);
	strlcpy(c->widget, widget, sizeof(c->widget));
	strlcpy(c->session, session, sizeof(c->session));
	if (org != NULL)
		strlcpy(c->org, org, sizeof(c->org));
	else if (conv_widget_org(t, widget, c->org) < 0)
		return t->err;
	c->created_at = c->updated_at = t->st->now();
	/* Counted under the agent that answers its first message. */
	if (t->agent != NULL)
		strlcpy(c->agent_id, t->agent->id, sizeof(c->agent_id));
	if (contact_id[0] != '\0' && proto_hex_decode(contact_id, ccid, ID_LEN) == 0) {
		memcpy(cckey, ccid, ID_LEN);
		memcpy(cckey + ID_LEN, id, ID_LEN);
		if (contact_link_new(t, cckey, bounded) == 1)
			strlcpy(c->contact_id, contact_id,
			    sizeof(c->contact_id));
	}
	if ((c->last_message = strdup("")) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	sval[0] = ST_RECORD_VERSION;
	memcpy(sval + 1, id, ID_LEN);

	db_put(t, t->st->sessions, skey, klen, sval, sizeof(sval),
	    "put session");
	for (i = 0; store_modules[i] != NULL; i++)
		if (store_modules[i]->conv_made != NULL)
			store_modules[i]->conv_made(t, c, id);
	if (t->err) {
		st_conv_free(c);
		return t->err;
	}
	*created = 1;
	return 0;
}

int
conv_open_contact(struct store_txn *t, const char *widget,
    const char *session, const char *contact_id, struct st_conv *conv,
    int *created)
{
	uint8_t id[ID_LEN];

	if (conv_open_unsaved(t, widget, session, contact_id, 1, NULL, conv,
	    created) != 0)
		return t->err;
	if (*created) {
		proto_hex_decode(conv->id, id, ID_LEN);
		conv_save(t, id, conv);
		if (t->err) {
			st_conv_free(conv);
			return t->err;
		}
	}
	return 0;
}

/*
 * The visitor wrote (issue 24): c's last visitor message is its last
 * message (last_message), at now or just after the one before (an
 * unread mark compares these times: two in one millisecond still
 * differ), and what the turn's widget told of the visitor, kept.
 */
static void
conv_visitor_said(struct store_txn *t, struct st_conv *c, uint64_t now)
{
	char *copy;

	if ((copy = strdup(c->last_message)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	free(c->last_visitor);
	c->last_visitor = copy;
	c->visitor_at = now > c->visitor_at ? now : c->visitor_at + 1;
	if (t->visitor != NULL && !st_visitor_same(t->visitor, &c->visitor) &&
	    st_visitor_copy(&c->visitor, t->visitor) < 0)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
}

/*
 * Appends m (checked) to conversation cid, c as loaded (stored 1) or as
 * made and not yet saved (stored 0) (taken: freed, or updated into
 * *conv, which may be c itself: not copied then), in its place
 * (msg_place; turn as there). The turn's path: the record it saved from
 * is c as it came, not read again.
 */
static int
msg_append_to(struct store_txn *t, struct st_msg *m,
    const uint8_t cid[ID_LEN], struct st_conv *c, int stored,
    const char *turn, struct st_conv *conv)
{
	struct report_was before;	/* what the reports counted of c */
	uint8_t mid[ID_LEN], mkey[MSG_KEY_LEN];
	const char *content = m->content != NULL ? m->content : "";
	uint32_t seq;
	uint64_t now;
	size_t i;
	char *preview = NULL;
	int newest;

	if (t->err || c->message_count == UINT32_MAX ||
	    msg_place(t, cid, m, turn, &seq, &newest) < 0) {
		if (t->err == 0)
			store_fail(t, PROTO_E_INVALID,
			    "conversation is full");
		st_conv_free(c);
		return t->err;
	}

	if (stored)
		report_conv_was(&before, c);
	now = t->st->now();
	proto_random(mid, sizeof(mid));
	proto_hex_encode(mid, sizeof(mid), m->id);
	m->created_at = now;
	msg_key(mkey, cid, seq);
	msg_save(t, mkey, m);
	if (strcmp(m->role, "assistant") == 0)
		gap_answered(t, cid, c, m, seq);

	/*
	 * Move the conversation in its widget's index. In the same
	 * millisecond the key stays: deleting a tree's last key frees its
	 * page only at commit, so a long batch would eat the map.
	 */
	if (now > c->updated_at) {
		for (i = 0; store_modules[i] != NULL; i++)
			if (store_modules[i]->conv_moved != NULL)
				store_modules[i]->conv_moved(t, c, now, cid);
		c->updated_at = now;
	}

	c->message_count++;
	/* A turn's reply put before a person's: the preview stays theirs. */
	if (newest && (preview = strndup(content,
	    st_utf8_prefix(content, ST_PREVIEW_CHARS))) == NULL)
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	else if (preview != NULL) {
		free(c->last_message);
		c->last_message = preview;
	}
	if (strcmp(m->role, "user") == 0) {
		conv_visitor_said(t, c, now);
		conv_state_visitor(t, cid, c, now);
	} else if (strcmp(m->role, "agent") == 0)
		conv_state_person(t, cid, c);
	report_msg_counted(c, m);
	conv_save_from(t, cid, stored ? &before : NULL, c);
	if (t->err) {
		st_conv_free(c);
		return t->err;
	}
	if (conv != c)
		*conv = *c;
	return 0;
}

int
store_msg_append(struct store_txn *t, struct st_msg *m, struct st_conv *conv,
    const char *turn)
{
	uint8_t cid[ID_LEN];
	const char *content = m->content != NULL ? m->content : "";
	size_t clen;

	if (t->err)
		return t->err;
	if (conv_id_parse(t, m->conv_id, cid) < 0)
		return t->err;
	if (!role_valid(m->role))
		return store_fail(t, PROTO_E_INVALID,
		    "role must be user, assistant, system, agent or tool");
	if (m->status[0] == '\0')
		strlcpy(m->status, "complete", sizeof(m->status));
	else if (!status_valid(m->status))
		return store_fail(t, PROTO_E_INVALID,
		    "status must be complete, interrupted or failed");
	clen = strlen(content);
	if (clen > ST_CONTENT_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "content is over 65536 bytes");
	if (!proto_utf8_valid(content, clen))
		return store_fail(t, PROTO_E_INVALID, "content is not UTF-8");

	/* Loaded where it is answered: updated in place. */
	if (conv_get(t, cid, conv) < 0)
		return t->err;
	return msg_append_to(t, m, cid, conv, 1, turn, conv);
}

/*
 * Walks conversation cid's messages from sequence number from on, in
 * order: visit(t, key, record, arg) says 0 go on, 1 stop (t failed to
 * stop on an error). 0, or -1 with t failed.
 */
int
msgs_walk(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t from,
    int (*visit)(struct store_txn *, const MDB_val *, const MDB_val *,
    void *), void *arg)
{
	uint8_t probe[MSG_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	msg_key(probe, cid, from);
	if ((cur = txn_seek(t, t->st->msgs, probe, sizeof(probe), &k, &v,
	    &rc)) == NULL)
		return -1;
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0 &&
	    visit(t, &k, &v, arg) == 0 && !t->err)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages");
	return t->err ? -1 : 0;
}

/* Room in *msgs (n of *cap) for one more: 0, or -1 with t failed. */
static int
msgs_room(struct store_txn *t, struct st_msg **msgs, uint32_t n,
    size_t *cap)
{
	struct st_msg *nm;
	size_t ncap;

	if (n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if ((nm = reallocarray(*msgs, ncap, sizeof(*nm))) == NULL) {
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			return -1;
		}
		*msgs = nm;
		*cap = ncap;
	}
	return 0;
}

/* m appended to *msgs (*n of *cap): 0, or -1 with t failed (m freed). */
static int
msgs_push(struct store_txn *t, struct st_msg **msgs, uint32_t *n,
    size_t *cap, struct st_msg *m)
{
	if (msgs_room(t, msgs, *n, cap) < 0) {
		st_msg_free(m);
		return -1;
	}
	(*msgs)[(*n)++] = *m;
	return 0;
}

/* store_conv_get's walk: messages while they fit. */
struct conv_fill {
	struct store_conv_full *f;
	uint32_t max_messages;
	size_t max_bytes, used, cap;
};

static int
conv_fill_one(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    void *arg)
{
	struct conv_fill *cf = arg;
	struct st_msg m;
	/* The reply carries the record minus its version byte. */
	size_t sz = msg_rec_size(v);

	if ((cf->max_messages != 0 && cf->f->n == cf->max_messages) ||
	    sz > cf->max_bytes - cf->used) {
		cf->f->truncated = 1;
		return 1;
	}
	if (msg_rec_decode(t, v, &m) < 0 ||
	    msgs_push(t, &cf->f->msgs, &cf->f->n, &cf->cap, &m) < 0)
		return 1;
	cf->used += sz;
	return 0;
}

int
store_conv_get(struct store_txn *t, const char *conv_id,
    uint32_t max_messages, size_t max_bytes, struct store_conv_full *out)
{
	uint8_t cid[ID_LEN];
	struct store_conv_full f;
	struct conv_fill cf = { &f, max_messages, max_bytes, 0, 0 };

	if (t->err)
		return t->err;
	memset(&f, 0, sizeof(f));
	if (conv_by_hex(t, conv_id, cid, &f.conv) < 0)
		return t->err;
	if (msgs_walk(t, cid, 0, conv_fill_one, &cf) < 0) {
		store_conv_full_free(&f);
		return t->err;
	}
	*out = f;
	return 0;
}

/* Whether record v is message id's (the id leads every format). */
static int
msg_is(const MDB_val *v, const char *id)
{
	const uint8_t *p = v->mv_data;
	char got[ST_ID_HEX + 1];
	struct pdec d;

	if (v->mv_size < 1 || p[0] < 1 || p[0] > MSG_RECORD_VERSION)
		return 0;
	pdec_init(&d, p + 1, v->mv_size - 1);
	pdec_strbuf(&d, got, sizeof(got));
	return !d.err && strcmp(got, id) == 0;
}

/* msg_find's walk: the message of id hex. */
struct msg_seek {
	const char *hex;
	uint8_t *key;
	struct st_msg *m;
	int found;
};

static int
msg_seek_one(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    void *arg)
{
	struct msg_seek *ms = arg;
	char id[ST_ID_HEX + 1];
	struct pdec d;

	/* The id leads every format: read it alone. */
	if (rec_open_ver(t, v, &d, MSG_RECORD_VERSION, "message") < 0)
		return 1;
	pdec_strbuf(&d, id, sizeof(id));
	if (d.err || strcmp(id, ms->hex) != 0)
		return 0;
	memcpy(ms->key, k->mv_data, MSG_KEY_LEN);
	if (msg_rec_decode(t, v, ms->m) == 0)
		ms->found = 1;
	return 1;
}

int
msg_find(struct store_txn *t, const uint8_t cid[ID_LEN], const char *msg_hex,
    uint8_t key[MSG_KEY_LEN], struct st_msg *m)
{
	struct msg_seek ms = { msg_hex, key, m, 0 };

	memset(m, 0, sizeof(*m));
	if (msgs_walk(t, cid, 0, msg_seek_one, &ms) < 0)
		return -1;
	return ms.found ? 0 : 1;
}

/*
 * Replies seen on the walk back that still wait for their question, the
 * nearest on top: a bit each, 1 for a failed reply. Deeper than 64 only
 * with many replies in a row, where the oldest are forgotten.
 */
struct reply_stack {
	uint64_t bits;
	unsigned depth;
};

/* What history_skips reads of a message. */
#define HISTORY_WALK_ROWS	(RL_ROW(ST_MSG_ROW_role) | \
	RL_ROW(ST_MSG_ROW_status))
/*
 * What a turn's begin reply carries of each history message (stmsgs.c's
 * pl_msg_pair: role, content, files): the other strings are not copied,
 * and these are the only ones its decode holds (keep_line moves them).
 */
#define TURN_HISTORY_ROWS	(RL_ROW(ST_MSG_ROW_role) | \
	RL_ROW(ST_MSG_ROW_content) | RL_ROW(ST_MSG_ROW_atts))

/* Whether the walk back leaves this message out of the history. */
static int
history_skips(struct reply_stack *rs, const struct st_msg *m)
{
	int failed = strcmp(m->status, "failed") == 0;
	int bit;

	/* A tool's step is the thread's: the model had its answer then. */
	if (strcmp(m->role, "tool") == 0)
		return 1;
	if (strcmp(m->role, "assistant") == 0) {
		rs->bits = rs->bits << 1 | (uint64_t)failed;
		if (rs->depth < 64)
			rs->depth++;
		return failed;
	}
	if (failed)
		return 1;
	if (strcmp(m->role, "user") != 0 || rs->depth == 0)
		return 0;
	/* A question: it goes with the nearest reply after it. */
	bit = (int)(rs->bits & 1);
	rs->bits >>= 1;
	rs->depth--;
	return bit;
}

/*
 * What msgs_walk_back keeps of each message it takes: keep(t, arg, m,
 * lent) takes m (its strings, or newest's when lent: borrowed) as the
 * next, newest first: 0, or -1 with t failed (m then freed unless lent).
 * drop(arg, lending) frees what was kept so far (lending: the first kept
 * borrows newest's strings, which stay newest's).
 */
struct walk_keep {
	int (*keep)(struct store_txn *, void *, struct st_msg *, int lent);
	void (*drop)(void *, int lending);
	void *arg;
};

/*
 * msgs_newest's walk back, each message it takes handed to wk (newest
 * first): its count in *n. 0, or -1 with t failed and wk's dropped.
 */
static int
msgs_walk_back(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t max,
    size_t max_bytes, uint64_t rows, const struct st_msg *newest,
    const struct walk_keep *wk, uint32_t *nout, int *more, size_t *read)
{
	uint8_t probe[MSG_KEY_LEN];
	struct st_msg tmp;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t used = 0, sz, skipped = 0;
	struct reply_stack replies = { 0, 0 };
	uint32_t n = 0;
	int rc, lent, lending = 0;

	*more = 0;
	if (read != NULL)
		*read = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	/* The last key at or before (cid, UINT32_MAX). */
	msg_key(probe, cid, UINT32_MAX);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && (k.mv_size != MSG_KEY_LEN ||
	    memcmp(k.mv_data, probe, MSG_KEY_LEN) != 0))
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		if ((max != 0 && n == max) ||
		    skipped == STORE_HISTORY_SKIP_MAX) {
			*more = 1;
			break;
		}
		/* The message just stored: the same as its record, lent. */
		lent = n == 0 && skipped == 0 && newest != NULL &&
		    msg_is(&v, newest->id);
		if (lent)
			tmp = *newest;
		else if (msg_rec_decode_rows(t, &v, &tmp,
		    rows | HISTORY_WALK_ROWS) < 0)
			break;
		if (read != NULL)
			*read += v.mv_size;
		if (history_skips(&replies, &tmp)) {
			if (!lent)
				st_msg_free(&tmp);
			skipped++;
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			continue;
		}
		skipped = 0;
		/* Its reply encoding: the record minus the version byte. */
		sz = msg_rec_size(&v);
		if (sz > max_bytes - used) {
			if (!lent)
				st_msg_free(&tmp);
			*more = 1;
			break;
		}
		if (wk->keep(t, wk->arg, &tmp, lent) < 0)
			break;
		lending |= lent;
		n++;
		used += sz;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages back");
	if (t->err) {
		wk->drop(wk->arg, lending);
		return -1;
	}
	*nout = n;
	return 0;
}

/* msgs_newest's keeper: whole messages (struct st_msg), in an array. */
struct keep_msgs {
	struct st_msg *msgs;
	uint32_t n;
	size_t cap;
};

static int
keep_msg(struct store_txn *t, void *arg, struct st_msg *m, int lent)
{
	struct keep_msgs *km = arg;

	if (lent) {
		if (msgs_room(t, &km->msgs, km->n, &km->cap) < 0)
			return -1;
		km->msgs[km->n++] = *m;
		return 0;
	}
	return msgs_push(t, &km->msgs, &km->n, &km->cap, m);
}

static void
drop_msgs(void *arg, int lending)
{
	struct keep_msgs *km = arg;

	if (lending)	/* newest's strings stay its own */
		memset(&km->msgs[0], 0, sizeof(km->msgs[0]));
	st_msgs_free(km->msgs, km->n);
}

/*
 * The newest messages of a conversation outside failed turns, oldest
 * first: at most max (0 = no limit) and at most max_bytes of encoded
 * messages. A failed turn is a "failed" message and, for a failed
 * assistant reply, the user message it answered: each reply, kept or
 * failed, pairs with the nearest earlier user message not yet paired
 * (records carry no link, so pairing is by position: a conversation
 * takes one turn at a time, store_turn_holds, so a reply follows its own
 * question). Walks the
 * conversation's keys backwards from its end, so a long conversation
 * costs what is returned, not its length; a run of
 * STORE_HISTORY_SKIP_MAX failed messages also ends the walk. *more is set
 * when the walk stopped before the start of the conversation. Each
 * message holds the strings of rows (rl_dec_rows: RL_ALL_ROWS, or what
 * its reply carries) and the role and status the walk reads. When read
 * is not NULL, *read is the bytes of every record the walk decoded,
 * those it skipped or stopped at too: what the read cost. When newest is
 * not NULL it is the message t just stored, the conversation's last
 * record: not decoded again, its entry (the last, when it fits) a
 * shallow copy lending newest's strings.
 */
int
msgs_newest(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t max,
    size_t max_bytes, uint64_t rows, const struct st_msg *newest,
    struct st_msg **out, uint32_t *nout, int *more, size_t *read)
{
	struct keep_msgs km = { NULL, 0, 0 };
	const struct walk_keep wk = { keep_msg, drop_msgs, &km };
	uint32_t n;

	if (msgs_walk_back(t, cid, max, max_bytes, rows, newest, &wk, &n,
	    more, read) < 0)
		return -1;
	/* Newest first so far: turn it around. */
	proto_reverse(km.msgs, n, sizeof(km.msgs[0]));
	*out = km.msgs;
	*nout = n;
	return 0;
}

/*
 * A turn's history keeper: each message as the line its begin reply
 * sends (st_line: role, content, files), its strings moved out of the
 * decoded message, which holds no other (TURN_HISTORY_ROWS): no 688-byte
 * st_msg kept, copied, freed and copied again to a line for each line of
 * every turn.
 */
struct keep_lines {
	struct st_line *lines;
	uint32_t n;
	size_t cap;
};

/* n lines and the array, the first lent (newest's strings) when lending. */
static void
lines_free(struct st_line *lines, uint32_t n, int lending)
{
	uint32_t i;

	for (i = lending ? 1 : 0; i < n; i++) {
		free(lines[i].content);
		free(lines[i].atts);
	}
	free(lines);
}

static int
keep_line(struct store_txn *t, void *arg, struct st_msg *m, int lent)
{
	struct keep_lines *kl = arg;
	struct st_line *nl, *l;
	size_t ncap;

	if (kl->n == kl->cap) {
		ncap = kl->cap ? kl->cap * 2 : 16;
		if ((nl = reallocarray(kl->lines, ncap, sizeof(*nl))) == NULL) {
			if (!lent)
				st_msg_free(m);
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
			return -1;
		}
		kl->lines = nl;
		kl->cap = ncap;
	}
	l = &kl->lines[kl->n++];
	memcpy(l->role, m->role, sizeof(l->role));
	l->content = m->content;
	l->atts = m->atts;
	l->natts = m->natts;
	return 0;
}

static void
drop_lines(void *arg, int lending)
{
	struct keep_lines *kl = arg;

	lines_free(kl->lines, kl->n, lending);
}

/*
 * msgs_newest's walk for a turn's begin (rows TURN_HISTORY_ROWS), newest
 * the message just stored: the history as the lines its reply sends,
 * oldest first, the last lending newest's strings (store_chat_free).
 */
static int
msgs_lines(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t max,
    size_t max_bytes, const struct st_msg *newest, struct st_line **out,
    uint32_t *nout)
{
	struct keep_lines kl = { NULL, 0, 0 };
	const struct walk_keep wk = { keep_line, drop_lines, &kl };
	uint32_t n;
	int more;

	if (msgs_walk_back(t, cid, max, max_bytes, TURN_HISTORY_ROWS, newest,
	    &wk, &n, &more, NULL) < 0)
		return -1;
	proto_reverse(kl.lines, n, sizeof(kl.lines[0]));
	*out = kl.lines;
	*nout = n;
	return 0;
}

/*
 * 1 when conversation cid's last message is a visitor's (role user): its
 * id into id, stored at *at (when not NULL); 0 when it is another's or
 * there is none; -1 with t failed.
 */
static int
msg_last_visitor(struct store_txn *t, const uint8_t cid[ID_LEN],
    char id[ST_ID_HEX + 1], uint64_t *at)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct st_msg m;
	int rc, is = 0;

	if ((cur = msg_seek_last(t, cid, &k, &v, &rc)) == NULL)
		return -1;
	if (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		if (msg_rec_decode_rows(t, &v, &m, RL_ROW(ST_MSG_ROW_id) |
		    HISTORY_WALK_ROWS) == 0) {
			if ((is = strcmp(m.role, "user") == 0))
				strlcpy(id, m.id, ST_ID_HEX + 1);
			if (at != NULL)
				*at = m.created_at;
			st_msg_free(&m);
		}
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "last message");
	mdb_cursor_close(cur);
	return t->err ? -1 : is;
}

/*
 * 1 when conversation cid's last message is msg_id, a visitor's (role
 * user), stored at *at (when not NULL); 0 when it is another or there is
 * none; -1 with t failed.
 */
static int
msg_last_is_visitor(struct store_txn *t, const uint8_t cid[ID_LEN],
    const char *msg_id, uint64_t *at)
{
	char last[ST_ID_HEX + 1];
	int rc;

	if ((rc = msg_last_visitor(t, cid, last, at)) != 1)
		return rc;
	return strcmp(last, msg_id) == 0;
}

int
msg_newest_answered(struct store_txn *t, const uint8_t cid[ID_LEN])
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct st_msg m;
	uint32_t looked = 0;
	int rc, is = 0, step;

	if ((cur = msg_seek_last(t, cid, &k, &v, &rc)) == NULL)
		return -1;
	/* A turn's steps come before its answer: at most so many of them. */
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0 &&
	    looked++ <= ST_TOOL_CALLS_MAX) {
		if (msg_rec_decode_rows(t, &v, &m, HISTORY_WALK_ROWS) < 0)
			break;
		step = strcmp(m.role, "tool") == 0 ||
		    strcmp(m.role, "system") == 0;
		is = !step && strcmp(m.role, "assistant") == 0 &&
		    strcmp(m.status, "complete") == 0;
		st_msg_free(&m);
		if (!step)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "newest answer");
	mdb_cursor_close(cur);
	return t->err ? -1 : is;
}

int
store_turn_lost(struct store_txn *t, struct st_msg *m, const char *msg_id,
    struct st_conv *conv, int *stored)
{
	uint8_t cid[ID_LEN];
	struct st_conv c;
	uint32_t seq;
	int rc, first;

	*stored = 0;
	if (t->err || conv_id_parse(t, m->conv_id, cid) < 0)
		return t->err;
	if ((rc = conv_load(t, cid, &c)) != 0)
		return rc < 0 ? t->err : 0;
	/* Its places (msg_place) still free: the question unanswered. */
	if ((rc = turn_place(t, cid, msg_id, &seq, &first, NULL)) != 0 ||
	    !first) {
		st_conv_free(&c);
		return rc < 0 ? t->err : 0;
	}
	if (msg_append_to(t, m, cid, &c, 1, msg_id, conv) != 0)
		return t->err;
	*stored = 1;
	return 0;
}

int
store_turn_holds(struct store_txn *t, const char *widget,
    const char *session)
{
	char msg[ST_ID_HEX + 1], conv[ST_ID_HEX + 1];
	uint8_t cid[ID_LEN];
	uint64_t at = 0, now;
	int rc;

	if (t->err || (rc = sess_conv_id(t, widget, session, cid)) < 0)
		return -1;
	if (rc == 1 || (rc = turn_open_msg(t, cid, msg)) == 1)
		return 0;
	if (rc < 0 || (rc = msg_last_is_visitor(t, cid, msg, &at)) != 1)
		return rc;
	/* Its worker lost: no reply is coming but the one storaged ends. */
	proto_hex_encode(cid, ID_LEN, conv);
	if (t->st->turn_left != NULL && t->st->turn_left(conv, msg))
		return 0;
	/* A clock set back reads as no time gone. */
	now = t->st->now();
	return (now > at ? now - at : 0) < STORE_TURN_HOLD_MS;
}

const char *
store_chat_invalid(const char *widget, const char *session,
    const char *content, uint32_t history_max)
{
	const char *bad;
	size_t clen = strlen(content);

	if ((bad = session_invalid(widget, session)) != NULL)
		return bad;
	if (clen == 0 || clen > ST_CONTENT_MAX)
		return "content must be 1 to 65536 bytes";
	if (!proto_utf8_valid(content, clen))
		return "content is not UTF-8";
	if (history_max < 1 || history_max > ST_HISTORY_MAX)
		return "history_max must be 1 to 200";
	return NULL;
}

/* What a begin's widget told of its visitor, or NULL when nothing. */
const struct st_visitor *
store_visitor_told(const struct st_visitor *v)
{
	const char *all[] = { v->page_url, v->referrer, v->user_agent,
	    v->language, v->time_zone };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] != NULL && all[i][0] != '\0')
			return v;
	return NULL;
}

uint32_t
store_chat_history(const struct st_agent *a, uint32_t asked)
{
	return a->history_messages != 0 ? a->history_messages : asked;
}

int
store_chat_session_exists(struct store_txn *t, const char *widget,
    const char *session)
{
	uint8_t skey[SESS_KEY_MAX], id[ID_LEN];
	size_t klen;
	int rc;

	if (t->err || sess_key(t, widget, session, skey, &klen) < 0 ||
	    (rc = sess_find(t, skey, klen, id)) < 0)
		return -1;
	return rc == 0;
}

int
store_chat_begin(struct store_txn *t, const char *widget,
    const char *session, const char *org, const char *content,
    const struct att_claim *claim, uint32_t history_max, size_t max_bytes,
    struct store_chat *out)
{
	return chat_begin_contact(t, widget, session, "", 1, org, content, "",
	    claim, history_max, max_bytes, out);
}

int
chat_begin_contact(struct store_txn *t, const char *widget,
    const char *session, const char *contact_id, int bounded, const char *org,
    const char *content, const char *client_id, const struct att_claim *claim,
    uint32_t history_max, size_t max_bytes, struct store_chat *out)
{
	/*
	 * Made in out, not copied there (3.3 KiB a turn): on failure it
	 * holds nothing to free.
	 */
	struct store_chat *c = out;
	uint8_t cid[ID_LEN];

	if (t->err)
		return t->err;
	memset(c, 0, sizeof(*c));
	/*
	 * The conversation as loaded (or made: saved with its first
	 * message) is the one the message goes to, decoded once, into the
	 * answer's: updated there, not copied.
	 */
	if (conv_open_unsaved(t, widget, session, contact_id, bounded, org,
	    &c->conv, &c->created) != 0)
		return t->err;
	/* Another organisation's is absent to who asks (conv_get). */
	if (t->org != NULL && strcmp(c->conv.org, t->org) != 0) {
		st_conv_free(&c->conv);
		return store_fail(t, PROTO_E_NOT_FOUND,
		    "no such conversation");
	}
	proto_hex_decode(c->conv.id, cid, ID_LEN);
	memcpy(c->msg.conv_id, c->conv.id, sizeof(c->msg.conv_id));
	strlcpy(c->msg.role, "user", sizeof(c->msg.role));
	strlcpy(c->msg.status, "complete", sizeof(c->msg.status));
	strlcpy(c->msg.client_id, client_id, sizeof(c->msg.client_id));
	if ((c->msg.content = strdup(content)) == NULL) {
		st_conv_free(&c->conv);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	/* The visitor's files, named in the message's transaction. */
	if (att_claim(t, claim, cid, c->conv.org, &c->msg) != 0) {
		st_conv_free(&c->conv);
		st_msg_free(&c->msg);
		return t->err;
	}
	/* The visitor writing again opens it (conv_state_visitor). */
	conv_state_view(t, &c->conv);	/* a snooze past: open already */
	c->reopened = !c->created && c->conv.conv_state != ST_STATE_OPEN;
	if (msg_append_to(t, &c->msg, cid, &c->conv, !c->created, NULL,
	    &c->conv) != 0) {
		st_msg_free(&c->msg);
		return t->err;
	}
	return store_chat_lines(t, history_max, max_bytes, c);
}

int
store_chat_lines(struct store_txn *t, uint32_t history_max, size_t max_bytes,
    struct store_chat *c)
{
	uint8_t cid[ID_LEN];

	if (t->err) {
		store_chat_free(c);
		return t->err;
	}
	/* A person answers: the model gets no history, nor the turn. */
	if (c->conv.handoff == ST_HANDOFF_HUMAN) {
		c->human = 1;
		return 0;
	}
	proto_hex_decode(c->conv.id, cid, ID_LEN);
	if (msgs_lines(t, cid, history_max, max_bytes,
	    c->msg.content != NULL ? &c->msg : NULL, &c->history,
	    &c->n) < 0)
		store_chat_free(c);	/* no history: the rest */
	return t->err;
}

int
store_chat_answer_find(struct store_txn *t, const char *conv_id,
    int *result, struct store_chat *out)
{
	char open[ST_ID_HEX + 1];
	uint8_t cid[ID_LEN];
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || conv_id_parse(t, conv_id, cid) < 0)
		return t->err;
	if ((rc = conv_load(t, cid, &out->conv)) != 0)
		return rc < 0 ? t->err : store_fail(t, PROTO_E_NOT_FOUND,
		    "no such conversation");
	*result = ST_CHAT_OK;
	if (out->conv.handoff != ST_HANDOFF_AI)
		*result = ST_CHAT_NOT_AI;
	else if ((rc = msg_last_visitor(t, cid, out->msg.id, NULL)) != 1)
		*result = ST_CHAT_ANSWERED;
	/* One turn at a time: one open for this very message answers it. */
	else if ((rc = turn_open_msg(t, cid, open)) == 0 &&
	    strcmp(open, out->msg.id) == 0)
		*result = ST_CHAT_TURN_OPEN;
	if (t->err || *result != ST_CHAT_OK) {
		st_conv_free(&out->conv);
		memset(out, 0, sizeof(*out));
		return t->err;
	}
	memcpy(out->msg.conv_id, out->conv.id, sizeof(out->msg.conv_id));
	strlcpy(out->msg.role, "user", sizeof(out->msg.role));
	return 0;
}

int
store_session_history(struct store_txn *t, const char *widget,
    const char *session, uint32_t max_messages, size_t max_bytes,
    int *found, struct store_conv_full *out)
{
	struct store_conv_full f;
	uint8_t id[ID_LEN];
	int rc;

	if ((rc = sess_conv_id(t, widget, session, id)) < 0)
		return t->err;
	if (rc == 1) {
		*found = 0;
		return 0;
	}
	memset(&f, 0, sizeof(f));
	if (sess_conv(t, id, &f.conv) < 0)
		return t->err;
	if (msgs_newest(t, id, max_messages, max_bytes, RL_ALL_ROWS, NULL,
	    &f.msgs, &f.n, &f.truncated, NULL) < 0) {
		st_conv_free(&f.conv);
		return t->err;
	}
	*found = 1;
	*out = f;
	return 0;
}

int
store_session_shown(struct store_txn *t, const char *widget,
    const struct store_conv_full *f, struct st_session_history_rep *rep)
{
	int off;

	memset(rep, 0, sizeof(*rep));
	/* A disabled widget's chat shows nothing, as it answers nothing. */
	if ((off = store_widget_disabled(t, widget)) == 1)
		rep->found = ST_HISTORY_DISABLED;
	else if (f != NULL) {
		rep->found = ST_HISTORY_FOUND;
		rep->h = (struct st_conv_msgs){ f->conv, f->msgs, f->n,
		    (uint8_t)f->truncated };
	} else
		rep->found = ST_HISTORY_NONE;
	return off < 0 ? t->err : 0;
}

/* ---------------------------------------------------------------- delete */

/* Messages msgs_delete() removes between two looks at the clock. */
#define GONE_CLOCK_EVERY	64

/*
 * At most max of conversation id's messages deleted, oldest first, with
 * one cursor, and no more once deadline (proto_mono_us(); 0: none) has
 * passed, looked at every GONE_CLOCK_EVERY: *n how many. 1 none is
 * left, 0 some are, -1 t failed.
 */
static int
msgs_delete(struct store_txn *t, const uint8_t id[ID_LEN], uint32_t max,
    uint64_t deadline, uint32_t *n)
{
	uint8_t probe[MSG_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, left = 0;

	*n = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, t->st->msgs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	msg_key(probe, id, 0);
	for (;;) {
		/* Seek again after each delete: no cursor state to trust. */
		k.mv_size = sizeof(probe);
		k.mv_data = probe;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size != MSG_KEY_LEN ||
		    memcmp(k.mv_data, id, ID_LEN) != 0)
			break;
		if ((left = *n >= max || (*n > 0 &&
		    *n % GONE_CLOCK_EVERY == 0 && store_past(deadline))))
			break;
		if ((rc = db_cursor_del(t, cur, t->st->msgs, &k)) != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "delete messages");
	return t->err ? -1 : !left;
}

/* The first conversation msgs_gone holds into id: 1, 0 none, -1 t failed. */
static int
msgs_gone_first(struct store_txn *t, uint8_t id[ID_LEN])
{
	uint32_t n = 0;

	if (txn_keys(t, t->st->msgs_gone, "walk deleted conversations", NULL,
	    0, 0, 0, ID_LEN, id, 1, &n) < 0)
		return -1;
	return n == 1;
}

int
store_msgs_gone_sweep(struct store_txn *t, uint32_t max, uint64_t deadline,
    uint32_t *n, int *more)
{
	uint8_t id[ID_LEN];
	uint32_t got;
	int rc;

	*n = 0;
	*more = 0;
	while (!t->err && *n < max && (*n == 0 || !store_past(deadline))) {
		if (msgs_gone_first(t, id) <= 0)
			break;
		rc = msgs_delete(t, id, max - *n, deadline, &got);
		*n += got;
		if (rc != 1)
			break;
		db_del(t, t->st->msgs_gone, id, ID_LEN,
		    "delete deleted conversation");
	}
	if (!t->err && (rc = msgs_gone_first(t, id)) >= 0)
		*more = rc;
	return t->err;
}

/*
 * Conversation cid's messages, being deleted: within t->msgs_now (a
 * request's) at once, the rest marked in msgs_gone for the sweep's steps
 * (t->msgs_left then 1).
 */
static void
conv_msgs_gone(struct store_txn *t, const uint8_t cid[ID_LEN])
{
	uint32_t n = 0;
	int rc = 0;

	if (t->msgs_now > 0) {
		rc = msgs_delete(t, cid, t->msgs_now, 0, &n);
		t->msgs_now -= n;
	}
	if (rc == 0) {
		db_mark(t, t->st->msgs_gone, cid, ID_LEN, "mark messages gone");
		t->msgs_left = 1;
	}
}

int
store_conv_delete(struct store_txn *t, const char *conv_id)
{
	uint8_t cid[ID_LEN], skey[SESS_KEY_MAX];
	uint8_t cckey[2 * ID_LEN];
	struct st_conv c;
	const uint8_t *p;
	MDB_val v;
	size_t klen, i;

	if (t->err)
		return t->err;
	if (conv_by_hex(t, conv_id, cid, &c) < 0)
		return t->err;

	for (i = 0; store_modules[i] != NULL; i++)
		if (store_modules[i]->conv_deleted != NULL)
			store_modules[i]->conv_deleted(t, &c, cid);
	if (t->conv_gone != NULL)
		t->conv_gone(t, &c);
	/* Its live events go once the batch commits (store_forgotten). */
	store_forget(t, cid);
	conv_msgs_gone(t, cid);
	/*
	 * The session's next message makes a new conversation. Visitor
	 * sessions (wsessions) find theirs through this entry too.
	 */
	if (sess_key(t, c.widget, c.session, skey, &klen) == 0 &&
	    db_get(t, t->st->sessions, skey, klen, &v, "get session") == 0) {
		p = v.mv_data;
		if (v.mv_size == 1 + ID_LEN && p[0] == ST_RECORD_VERSION &&
		    memcmp(p + 1, cid, ID_LEN) == 0)
			db_del(t, t->st->sessions, skey, klen,
			    "delete session");
	}
	if (c.contact_id[0] != '\0' &&
	    proto_hex_decode(c.contact_id, cckey, ID_LEN) == 0) {
		memcpy(cckey + ID_LEN, cid, ID_LEN);
		contact_link_del(t, cckey);
	}
	/* A turn open in it: no reply to end it with (turnstore.c). */
	db_del_quiet(t, t->st->turns_open, cid, ID_LEN, "delete open turn");
	db_del(t, t->st->convs, cid, ID_LEN, "delete conversation");
	st_conv_free(&c);
	return t->err;
}

uint32_t
convs_delete(struct store_txn *t, const uint8_t *ids, uint32_t n,
    uint32_t min, uint64_t deadline)
{
	char hex[ST_ID_HEX + 1];
	uint32_t i;

	for (i = 0; i < n && !t->err && (i < min || !store_past(deadline));
	    i++) {
		proto_hex_encode(ids + (size_t)i * ID_LEN, ID_LEN, hex);
		store_conv_delete(t, hex);
	}
	return i;
}

/* ---------------------------------------------------------------- paging */

/*
 * The walk of a page of messages: at most limit within max_bytes, over
 * one conversation (store_msg_page) or several (store_msg_pages); conv
 * and from say where it is, next_conv and next_from where the next page
 * starts once it is full.
 */
struct page_fill {
	struct st_msg *msgs;	/* limit of them, n filled */
	uint32_t n, limit, conv, from, next_conv, next_from;
	size_t max_bytes, used;
	int full;
};

static int
page_fill_one(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    void *arg)
{
	struct page_fill *pf = arg;
	/* The reply carries the record minus its version byte. */
	size_t sz = msg_rec_size(v);

	if (pf->n == pf->limit || (pf->n > 0 && sz > pf->max_bytes - pf->used)) {
		pf->full = 1;
		pf->next_conv = pf->conv;
		pf->next_from = proto_get_be32((const uint8_t *)k->mv_data +
		    ID_LEN);
		return 1;
	}
	if (msg_rec_decode(t, v, &pf->msgs[pf->n]) < 0)
		return 1;
	pf->n++;
	pf->used += sz;
	return 0;
}

/* pf's room for its limit (1 to ST_LIST_MAX) of messages: 0, or t failed. */
static int
page_alloc(struct store_txn *t, struct page_fill *pf)
{
	if (pf->limit < 1 || pf->limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	if ((pf->msgs = calloc(pf->limit, sizeof(*pf->msgs))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	return 0;
}

int
store_msg_page(struct store_txn *t, const struct st_msg_page_req *q,
    size_t max_bytes, struct st_msg_page_rep *out)
{
	uint8_t cid[ID_LEN];
	struct page_fill pf = { .limit = q->limit, .from = q->from,
	    .max_bytes = max_bytes };
	struct st_conv c;

	if (t->err)
		return t->err;
	if (conv_id_parse(t, q->conv_id, cid) < 0 || page_alloc(t, &pf) != 0)
		return t->err;
	if (conv_get(t, cid, &c) < 0)
		goto fail;
	st_conv_free(&c);
	/* A position is a message's sequence number: they run 0, 1, 2... */
	if (msgs_walk(t, cid, pf.from, page_fill_one, &pf) < 0)
		goto fail;
	*out = (struct st_msg_page_rep){ pf.msgs, pf.n,
	    pf.full ? pf.next_from : 0 };
	return 0;
fail:
	st_msgs_free(pf.msgs, pf.n);
	return t->err;
}

int
store_msg_pages(struct store_txn *t, const struct st_msg_pages_req *q,
    size_t max_bytes, struct st_msg_pages_rep *out)
{
	uint8_t cid[ID_LEN];
	struct page_fill pf = { .limit = q->limit, .from = q->from,
	    .next_conv = q->n, .max_bytes = max_bytes };
	struct st_conv c;
	int rc;

	if (t->err)
		return t->err;
	if (q->n < 1 || q->n > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID, "ids: 1 to 200");
	if (page_alloc(t, &pf) != 0)
		return t->err;
	for (; pf.conv < q->n && !pf.full; pf.conv++, pf.from = 0) {
		if (conv_id_parse(t, q->ids[pf.conv].s, cid) < 0 ||
		    (rc = conv_seen(t, cid, &c)) < 0)
			goto fail;
		if (rc == 1)
			continue;
		st_conv_free(&c);
		if (msgs_walk(t, cid, pf.from, page_fill_one, &pf) < 0)
			goto fail;
	}
	*out = (struct st_msg_pages_rep){ pf.msgs, pf.n, pf.next_conv,
	    pf.next_from };
	return 0;
fail:
	st_msgs_free(pf.msgs, pf.n);
	return t->err;
}

/* ---------------------------------------------------------------- free */

void
store_chat_free(struct store_chat *c)
{
	/* The history's last may lend msg's strings (msgs_lines): once. */
	if (c->n > 0 && c->msg.content != NULL &&
	    c->history[c->n - 1].content == c->msg.content)
		c->history[c->n - 1] = (struct st_line){ .content = NULL };
	/* Released, not zeroed: the whole is zeroed once, below. */
	st_conv_release(&c->conv);
	st_msg_release(&c->msg);
	lines_free(c->history, c->n, 0);
	memset(c, 0, sizeof(*c));
}

void
store_list_free(struct store_list *l)
{
	st_convs_free(l->convs, l->n);
	memset(l, 0, sizeof(*l));
}

void
store_conv_full_free(struct store_conv_full *f)
{
	st_conv_release(&f->conv);	/* zeroed with the whole, below */
	st_msgs_free(f->msgs, f->n);
	memset(f, 0, sizeof(*f));
}
