/*
 * Visitor sessions (see STORAGE.md): the widget's visitors, keyed by
 * their token's hash, made lazily with the first message or contact
 * submission; the open, the chat turn's checks and run, and their
 * upkeep (the expiry sweep, the sessions of deleted widgets, and the
 * one-time backfill and namespace moves of older data directories):
 *
 *	wsessions        token hash[32] -> visitor session
 *	widget_wsess     internal id NUL token hash[32] -> (nothing)
 *	wsess_expiry     u64 expires_at | token hash[32] -> (nothing)
 *	wsess_gone       deleted widget's internal id -> (nothing), until
 *	                 the sweep has removed its sessions
 *
 * A session's contact submissions (wsess_claims) are contactstore.c's;
 * they go with the session. Every value starts with ST_RECORD_VERSION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "attstore.h"
#include "contactstore.h"
#include "log.h"
#include "metrictotals.h"
#include "presence.h"
#include "random.h"
#include "storeint.h"
#include "widgetstore.h"
#include "wsess.h"

#define WSESS_KEY_MAX	(ST_WIDGET_MAX + 1 + ST_TOKEN_HASH_LEN)
/* The meta record of the expiry index's one-time backfill. */
#define BACKFILL_KEY	"wsess_backfill"
/* The meta record of the sessions' move to their own namespace (once). */
#define WSNS_KEY	"wsess_namespace"
/* A chat turn stores a session's activity at most this often (touch_due). */
#define WSESS_TOUCH_MS	60000ull

/* ---------------------------------------------------------------- records */

/*
 * Saves s under hash; its expiry entry moves from old_exp (0: none) to
 * s->expires_at (0: none).
 */
void
wsess_save(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, uint64_t old_exp)
{
	uint8_t k[EXPIRY_KEY_LEN];

	if (t->err)
		return;
	rec_put_rows(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN,
	    &st_wsess_layout, s, "put visitor session");
	if (old_exp == s->expires_at)
		return;
	if (old_exp != 0) {
		expiry_key(k, old_exp, hash);
		db_del_quiet(t, t->st->wsess_expiry, k, sizeof(k),
		    "delete visitor session expiry");
	}
	if (s->expires_at != 0) {
		expiry_key(k, s->expires_at, hash);
		db_mark(t, t->st->wsess_expiry, k, sizeof(k),
		    "put visitor session expiry");
	}
}

/*
 * 0 loaded, 1 absent, -1 error. Format 1 records stored before the
 * expiry index end at contact_id (their expires_at reads 0); those
 * stored after it end with it, format 2's rows under version 1.
 */
int
wsess_load(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_wsess *s)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN, &v,
	    "visitor session")) != 0)
		return rc;
	if (st_wsess_late_v1(v.mv_data, v.mv_size, s) == 0) {
		smetrics_record(&st_wsess_layout, 0);
		return 0;
	}
	return rec_dec_rows(t, &v, &st_wsess_layout, s, "visitor session");
}

static size_t
wsess_key(uint8_t k[WSESS_KEY_MAX], const char *widget,
    const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	size_t n = strlen(widget);

	memcpy(k, widget, n);
	k[n] = '\0';
	memcpy(k + n + 1, hash, ST_TOKEN_HASH_LEN);
	return n + 1 + ST_TOKEN_HASH_LEN;
}

/* The session s stored under hash, and its index entries. */
static void
wsess_delete(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s)
{
	uint8_t k[WSESS_KEY_MAX];
	MDB_val v;

	if (db_get(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &v,
	    "get contact claim") == 0)
		db_del(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN,
		    "delete contact claim");
	db_del(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN,
	    "delete visitor session");
	wsconvs_drop(t, hash);
	db_del_quiet(t, t->st->widget_wsess, k, wsess_key(k, s->widget, hash),
	    "delete widget session");
	if (s->expires_at != 0) {
		expiry_key(k, s->expires_at, hash);
		db_del_quiet(t, t->st->wsess_expiry, k, EXPIRY_KEY_LEN,
		    "delete visitor session expiry");
	}
}

/* ---------------------------------------------------------------- sessions */

static uint64_t
idle_or_default(uint64_t idle_ms)
{
	return idle_ms != 0 ? idle_ms : ST_SESSION_IDLE_MS;
}

static int
wsess_live(const struct st_wsess *s, uint64_t now, uint64_t idle_ms)
{
	return now < s->active_at || now - s->active_at <= idle_ms;
}

/*
 * Whether a message at now moves s's activity time: once a thousandth of
 * the idle time has passed since the one stored, and at most a minute
 * (WSESS_TOUCH_MS), not at every message, which would write the session
 * and move its expiry entry each time. A session then expires at most
 * that much early, and its activity time reads that much old. One with
 * no expiry yet (stored before the index) is touched at once.
 */
static int
touch_due(const struct st_wsess *s, uint64_t now, uint64_t idle_ms)
{
	uint64_t step = idle_or_default(idle_ms) / 1000;

	/* One stored before the expiry index is indexed by its first use. */
	if (s->expires_at == 0)
		return 1;
	if (step > WSESS_TOUCH_MS)
		step = WSESS_TOUCH_MS;
	return now > s->active_at && now - s->active_at >= step;
}

/* s was active now: its activity time and expiry move, then it is saved. */
static void
wsess_touch(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_wsess *s, uint64_t now, uint64_t idle_ms)
{
	uint64_t old_exp = s->expires_at;

	if (now > s->active_at)
		s->active_at = now;
	s->expires_at = s->active_at + idle_or_default(idle_ms);
	wsess_save(t, hash, s, old_exp);
}

/*
 * A new session of widget (internal id) under hash, into *s: its record,
 * its widget's index entry and its expiry. 0, or -1 with t failed.
 */
void
wsess_new_id(struct st_wsess *s)
{
	uint8_t r[ID_LEN];

	proto_random(r, sizeof(r));
	s->id[0] = WS_SESSION_MARK;
	proto_hex_encode(r, sizeof(r), s->id + 1);
}

int
wsess_create(struct store_txn *t, const char *widget,
    const uint8_t hash[ST_TOKEN_HASH_LEN], uint64_t idle_ms,
    struct st_wsess *s)
{
	uint8_t k[WSESS_KEY_MAX];

	memset(s, 0, sizeof(*s));
	wsess_new_id(s);
	strlcpy(s->widget, widget, sizeof(s->widget));
	s->created_at = t->st->now();
	wsess_touch(t, hash, s, s->created_at, idle_ms);
	db_mark(t, t->st->widget_wsess, k, wsess_key(k, widget, hash),
	    "put widget session");
	return t->err ? -1 : 0;
}

int
wsess_current(struct store_txn *t, const struct st_wsess *s,
    const char *widget)
{
	return strcmp(s->widget, widget) == 0 && wsess_live(s, t->st->now(),
	    idle_or_default(t->st->wsess_idle_ms));
}

int
store_wsess_exists(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN, &v,
	    "get visitor session")) < 0)
		return -1;
	return rc == 0;
}

void
store_wsess_settings(struct store *st, uint64_t idle_ms, uint32_t new_per_min)
{
	st->wsess_idle_ms = idle_ms;
	st->wsess_new_max = new_per_min;
}

uint32_t
store_wsess_new_max(const struct store *st)
{
	return st->wsess_new_max;
}

void
store_wsess_new_key(const char *wid, char key[WSESS_NEW_KEY_MAX])
{
	snprintf(key, WSESS_NEW_KEY_MAX, "%s%s", WSESS_NEW_PREFIX, wid);
}

/*
 * A resumed session's history into o (conv_id, history, n, more): its
 * conversation's newest messages, at most history_max of them and at most
 * ST_WS_HISTORY_BYTES (or max_bytes if less) of records, read newest first
 * so that a long conversation costs no more than what is sent; and
 * whether the session (under hash) lists another conversation (earlier).
 */
static void
ws_history(struct store_txn *t, const uint8_t *hash, const char *widget,
    const char *session, uint32_t history_max, size_t max_bytes,
    struct store_ws_open *o)
{
	uint8_t cid[ID_LEN];
	struct st_conv c;
	int rc;

	if ((rc = sess_conv_id(t, widget, session, cid)) < 0)
		return;
	/* One to open as an earlier one: the widget offers their list. */
	o->earlier = wsconvs_other(t, hash, rc == 0 ? cid : NULL) == 1;
	if (rc != 0)
		return;
	proto_hex_encode(cid, ID_LEN, o->conv_id);
	/* The widget shows who answers: the model, or a person (named). */
	if (conv_load(t, cid, &c) == 0) {
		o->handoff = c.handoff;
		if (c.handoff == ST_HANDOFF_HUMAN)
			strlcpy(o->handoff_name, c.assignee_name,
			    sizeof(o->handoff_name));
		st_conv_free(&c);
	}
	if (max_bytes == 0 || max_bytes > ST_WS_HISTORY_BYTES)
		max_bytes = ST_WS_HISTORY_BYTES;
	msgs_newest(t, cid, history_max, max_bytes, RL_ALL_ROWS, NULL,
	    &o->history, &o->n, &o->more, &o->read);
}

int
store_ws_open(struct store_txn *t, const char *widget_id, const char *origin,
    const uint8_t *token_hash, const uint8_t *new_hash, uint64_t idle_ms,
    uint32_t history_max, size_t max_bytes, struct store_ws_open *out)
{
	struct store_ws_open o;
	struct st_wsess s;
	uint64_t now = t->st->now();
	int rc;

	if (t->err)
		return t->err;
	memset(&o, 0, sizeof(o));
	if ((rc = wsess_widget(t, widget_id, origin, &o.widget,
	    &o.result)) < 0)
		return t->err;
	if (rc == 1) {
		*out = o;
		return 0;
	}
	idle_ms = idle_or_default(idle_ms);

	if (token_hash != NULL &&
	    (rc = wsess_load(t, token_hash, &s)) == 0 &&
	    strcmp(s.widget, o.widget.id) == 0) {
		if (wsess_live(&s, now, idle_ms)) {
			o.resumed = 1;
			wsess_touch(t, token_hash, &s, now, idle_ms);
			o.contact_submitted = s.contact_id[0] != '\0';
			ws_history(t, token_hash, o.widget.id, s.id,
			    history_max, max_bytes, &o);
		} else	/* Expired: it goes, and a new one takes over. */
			wsess_delete(t, token_hash, &s);
	}
	/* Not resumed: new_hash is stored only with the first message. */
	if (!o.resumed && t->err == 0 && store_wsess_exists(t, new_hash) == 1)
		store_fail(t, PROTO_E_INVALID,
		    "new_hash: names a session already");
	if (t->err) {
		store_ws_open_free(&o);
		return t->err;
	}
	o.result = ST_WS_OK;
	*out = o;
	return 0;
}

/*
 * A visitor's session opened (ST_WS_OK): what it is shown, and whether a
 * dashboard of its widget's organisation is open (presence.h).
 */
void
store_ws_open_shown(const struct store *st, struct st_ws_open_ok *ok,
    const struct store_ws_open *o)
{
	ok->widget = o->widget;
	st_widget_hide_secret(&ok->widget);
	ok->resumed = (uint8_t)o->resumed;
	ok->contact_submitted = (uint8_t)o->contact_submitted;
	strlcpy(ok->conv_id, o->conv_id, sizeof(ok->conv_id));
	ok->history = o->history;
	ok->nhistory = o->n;
	ok->more = (uint8_t)o->more;
	ok->handoff = o->handoff;
	strlcpy(ok->handoff_name, o->handoff_name, sizeof(ok->handoff_name));
	ok->staffed = (uint8_t)store_presence_staffed(st, o->widget.org);
	ok->earlier = (uint8_t)o->earlier;
}

int
wsess_widget(struct store_txn *t, const char *widget_id, const char *origin,
    struct st_widget *w, int *result)
{
	int rc;

	if ((rc = widget_usable(t, widget_id, w)) != 0) {
		*result = ST_WS_NO_WIDGET;
		return rc < 0 ? -1 : 1;
	}
	/*
	 * An origin the owner took out of allowed_origins since the socket
	 * opened: its socket stores nothing more, whatever the frame.
	 */
	if (origin != NULL && !st_origin_allowed(w, origin)) {
		st_widget_free(w);
		*result = ST_WS_ORIGIN;
		return 1;
	}
	*result = ST_WS_OK;
	return 0;
}

int
store_ws_begin_check(struct store_txn *t, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    uint64_t idle_ms, int create, struct store_ws_begin *out)
{
	struct store_ws_begin b;
	struct st_widget w;
	int rc;

	if (t->err)
		return t->err;
	memset(&b, 0, sizeof(b));
	memcpy(b.token_hash, token_hash, ST_TOKEN_HASH_LEN);
	if ((rc = store_ws_widget_take(t, widget_id, &b.widget,
	    &b.agent)) < 0)
		return t->err;
	if (rc == 1) {
		b.result = ST_WS_NO_WIDGET;
		*out = b;
		return 0;
	}
	/* Origins set (the cached widget says): one record read for them. */
	if (b.widget.origins) {
		if ((rc = wsess_widget(t, widget_id, origin, &w,
		    &b.result)) < 0) {
			store_ws_begin_free(&b);
			return t->err;
		}
		if (rc == 1) {
			st_agent_free(&b.agent);
			*out = b;
			return 0;
		}
		st_widget_free(&w);
	}
	if ((rc = wsess_load(t, token_hash, &b.sess)) < 0) {
		store_ws_begin_free(&b);
		return t->err;
	}
	b.idle_ms = idle_ms;
	/* A new visitor's first message: the run makes its session. */
	if (rc == 1 && create) {
		b.creating = 1;
		strlcpy(b.sess.widget, b.widget.id, sizeof(b.sess.widget));
	}
	if (!b.creating && (rc == 1 || strcmp(b.sess.widget,
	    b.widget.id) != 0 || !wsess_live(&b.sess, t->st->now(),
	    idle_or_default(idle_ms))))
		b.result = ST_WS_NO_SESSION;
	else if (!b.creating && (b.verified = store_wsess_verified(t,
	    token_hash, &b.sess, b.widget.identity_secret)) < 0) {
		store_ws_begin_free(&b);
		return t->err;
	} else if (b.widget.identity_required && !b.verified)
		/* A socket opened before the widget took verified visitors only. */
		b.result = ST_WS_IDENTITY;
	/*
	 * A session links a contact in required mode only by details the
	 * widget asks for (contactstore.c's contact_kept) or a verified
	 * identify: the link is the proof.
	 */
	else if (b.widget.contact_mode == ST_CONTACT_REQUIRED &&
	    b.sess.contact_id[0] == '\0')
		b.result = ST_WS_CONTACT;
	else
		b.result = ST_WS_OK;
	if (b.result != ST_WS_OK)
		st_agent_free(&b.agent);
	*out = b;
	return 0;
}

/*
 * ST_WS_IDENTITY when widget w takes verified visitors only and session s
 * (under hash) is not one's, as a socket opened before it did may be;
 * else ST_WS_OK. On an error, t->err.
 */
static int
wsess_identity(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const struct st_widget *w)
{
	if (!w->identity_required)
		return ST_WS_OK;
	return store_wsess_verified(t, hash, s, w->identity_secret) == 1 ?
	    ST_WS_OK : ST_WS_IDENTITY;
}

int
wsess_find(struct store_txn *t, const char *widget_id, const char *origin,
    const uint8_t hash[ST_TOKEN_HASH_LEN], int absent_ok, int writes,
    int *result, struct st_wsess *s)
{
	struct st_widget w;
	int rc;

	memset(s, 0, sizeof(*s));
	*result = ST_WS_NO_SESSION;
	if (t->err)
		return t->err;
	if (wsess_widget(t, widget_id, origin, &w, result) != 0)
		return t->err;
	*result = ST_WS_NO_SESSION;
	if ((rc = wsess_load(t, hash, s)) == 1 && absent_ok) {
		memset(s, 0, sizeof(*s));
		*result = ST_WS_OK;
	} else if (rc == 0 && wsess_current(t, s, w.id))
		*result = writes ? wsess_identity(t, hash, s, &w) : ST_WS_OK;
	st_widget_free(&w);
	return t->err;
}

int
store_ws_conv(struct store_txn *t, const char *widget_id, const char *origin,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], int *result,
    struct st_conv *conv, uint8_t cid[ID_LEN])
{
	return store_ws_conv_of(t, widget_id, origin, token_hash, "", result,
	    conv, cid, NULL);
}

/*
 * conv_hex names a conversation of the session s under hash (its
 * current one or one of its list, wsconvstore.c): 0 (cid and conv set), 1
 * not (or an error: t->err).
 */
static int
ws_conv_named(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const char *conv_hex, uint8_t cid[ID_LEN],
    struct st_conv *conv)
{
	if (!st_id_valid(conv_hex))
		return 1;
	proto_hex_decode(conv_hex, cid, ID_LEN);
	if (conv_load(t, cid, conv) != 0)
		return 1;
	if (wsconvs_owns(t, hash, s, cid, conv) == 1)
		return 0;
	st_conv_free(conv);
	return 1;
}

int
store_ws_conv_of(struct store_txn *t, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    const char *conv_hex, int *result, struct st_conv *conv,
    uint8_t cid[ID_LEN], struct store_ws_fb *fb)
{
	struct st_widget w;
	struct st_wsess s;
	int rc, wr;

	if (t->err)
		return t->err;
	/* *result stays the caller's until the session is read. */
	if (wsess_widget(t, widget_id, origin, &w, &wr) != 0) {
		*result = wr;
		return t->err;
	}
	if (fb != NULL) {
		strlcpy(fb->agent, strcmp(w.agent_id, "default") == 0 ? "" :
		    w.agent_id, sizeof(fb->agent));
		fb->feedback_enabled = w.feedback_enabled;
		fb->rating_enabled = w.rating_enabled;
	}
	if ((rc = wsess_load(t, token_hash, &s)) < 0) {
		st_widget_free(&w);
		return t->err;
	}
	if (rc == 1 || !wsess_current(t, &s, w.id))
		*result = ST_WS_NO_SESSION;
	else if ((wr = wsess_identity(t, token_hash, &s, &w)) != ST_WS_OK)
		*result = wr;
	else if (conv_hex[0] != '\0')
		*result = ws_conv_named(t, token_hash, &s, conv_hex, cid,
		    conv) == 0 ? ST_WS_OK : ST_WS_NO_CONV;
	else if ((rc = sess_conv_id(t, w.id, s.id, cid)) == 1)
		*result = ST_WS_NO_CONV;
	else if (rc == 0 && conv_get(t, cid, conv) == 0)
		*result = ST_WS_OK;
	st_widget_free(&w);
	return t->err;
}

int
store_ws_begin_run(struct store_txn *t, struct store_ws_begin *b,
    const char *content, const char *client_id, const struct st_str *atts,
    uint32_t natts, uint32_t history_max, size_t max_bytes)
{
	char sess[2 * ST_TOKEN_HASH_LEN + 1];
	struct att_claim claim = { atts, natts, sess, b->widget.id };
	uint64_t now = t->st->now();
	int rc;

	if (t->err)
		return t->err;
	/*
	 * One turn at a time in a conversation (store_turn_holds): a
	 * message from another tab of the session while a reply is still
	 * to come is refused before anything is written.
	 */
	if (!b->creating && (rc = store_turn_holds(t, b->widget.id,
	    b->sess.id)) != 0) {
		if (rc < 0)
			return t->err;
		b->result = ST_WS_TURN_OPEN;
		return 0;
	}
	if ((rc = daily_take(t, &b->widget, now, &b->retry_after_ms)) < 0)
		return t->err;
	if (rc == 1) {
		b->result = ST_WS_CAPPED;
		return 0;
	}
	/* The session is stored with its first message, or not at all. */
	if (b->creating && wsess_create(t, b->widget.id, b->token_hash,
	    b->idle_ms, &b->sess) < 0)
		return t->err;
	proto_hex_encode(b->token_hash, ST_TOKEN_HASH_LEN, sess);
	/* A link of its verified identity's is not bounded. */
	if (chat_begin_contact(t, b->widget.id, b->sess.id,
	    b->sess.contact_id, !b->verified, b->widget.org, content,
	    client_id, &claim, history_max, max_bytes, &b->chat) != 0)
		return t->err;
	b->chat.verified = b->verified;
	if (b->chat.created) {
		claim_link_conv(t, b->token_hash, &b->sess, &b->chat.conv,
		    b->widget.identity_secret);
		wsconvs_note_conv(t, b->token_hash, &b->chat.conv);
	}
	/* A visitor who chats is active (stored once a step: touch_due). */
	if (touch_due(&b->sess, now, b->idle_ms))
		wsess_touch(t, b->token_hash, &b->sess, now, b->idle_ms);
	if (t->err) {
		store_chat_free(&b->chat);
		return t->err;
	}
	return 0;
}

void
store_ws_open_free(struct store_ws_open *o)
{
	st_widget_free(&o->widget);
	st_msgs_free(o->history, o->n);
	memset(o, 0, sizeof(*o));
}

void
store_ws_begin_free(struct store_ws_begin *b)
{
	st_agent_free(&b->agent);
	store_chat_free(&b->chat);
	explicit_bzero(b, sizeof(*b));	/* the widget's identity secret */
}

/* ---------------------------------------------------------------- sweep */

#define WALK	"walk visitor sessions"

/*
 * The backfill's record in meta: version byte, u8 done, then the token
 * hash indexed last (none before the first batch). Written at the first
 * open of a data directory that predates the index: done at once when it
 * holds no visitor session.
 */
static int
backfill_init(struct store_txn *t)
{
	return backfill_begin(t, BACKFILL_KEY, t->st->wsessions, "visitor "
	    "sessions predate their expiry index: indexing them in batches");
}

/*
 * One session made before the namespace: its id and its conversation's
 * session become WS_SESSION_MARK and the same digits, the sessions index
 * with them.
 */
static void
wsess_rename(struct store_txn *t, const uint8_t *hash, struct st_wsess *s)
{
	uint8_t skey[SESS_KEY_MAX], cid[ID_LEN], val[1 + ID_LEN];
	char id[sizeof(s->id)];
	struct st_conv c;
	size_t klen;

	id[0] = WS_SESSION_MARK;
	strlcpy(id + 1, s->id, sizeof(id) - 1);
	if (sess_conv_id(t, s->widget, s->id, cid) == 0 &&
	    conv_load(t, cid, &c) == 0) {
		/* The sessions entry under the new name: the same id. */
		val[0] = ST_RECORD_VERSION;
		memcpy(val + 1, cid, ID_LEN);
		if (sess_key(t, s->widget, s->id, skey, &klen) == 0)
			db_del(t, t->st->sessions, skey, klen, "del session");
		if (sess_key(t, s->widget, id, skey, &klen) == 0)
			db_put(t, t->st->sessions, skey, klen, val,
			    sizeof(val), "put session");
		strlcpy(c.session, id, sizeof(c.session));
		conv_save(t, cid, &c);
		st_conv_free(&c);
	}
	strlcpy(s->id, id, sizeof(s->id));
	wsess_save(t, hash, s, s->expires_at);
}

/*
 * Visitor sessions stored before issue 20 named their conversations by 32
 * hex digits, a sessionId the HTTP API accepts too: anyone who read one
 * in an export could open the conversation. Each is renamed once, at
 * start, in this one txn.
 */
static int
wsess_namespace_init(struct store_txn *t)
{
	static const uint8_t done = ST_RECORD_VERSION;
	struct st_wsess s;
	uint8_t *hashes = NULL;
	uint32_t n = 0, i, moved = 0;
	MDB_stat ms;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, WSNS_KEY, strlen(WSNS_KEY), &v,
	    "get session namespace")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = mdb_stat(t->txn, t->st->wsessions, &ms)) != 0)
		return txn_lmdb(t, rc, "stat visitor sessions");
	if (ms.ms_entries > 0 && ((hashes = malloc(ms.ms_entries *
	    (size_t)ST_TOKEN_HASH_LEN)) == NULL))
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	/* The keys first: the records change under a cursor otherwise. */
	if (ms.ms_entries > 0 && txn_keys(t, t->st->wsessions, WALK, NULL, 0,
	    0, 0, ST_TOKEN_HASH_LEN, hashes, (uint32_t)ms.ms_entries, &n) < 0)
		goto out;
	for (i = 0; i < n && t->err == 0; i++) {
		const uint8_t *h = hashes + (size_t)i * ST_TOKEN_HASH_LEN;

		if (wsess_load(t, h, &s) != 0 || s.id[0] == WS_SESSION_MARK)
			continue;
		wsess_rename(t, h, &s);
		moved++;
	}
	db_put(t, t->st->meta, WSNS_KEY, strlen(WSNS_KEY), &done, 1,
	    "put session namespace");
	if (moved > 0 && t->err == 0)
		log_info("visitor sessions: %u moved to their own namespace",
		    moved);
out:
	free(hashes);
	return t->err;
}

/*
 * At open: the session settings' defaults (until main sets its own),
 * the backfill's record and the namespace move of older data
 * directories.
 */
static int
wsess_init(struct store_txn *t)
{
	t->st->wsess_new_max = ST_NEW_SESSIONS_PER_MIN;
	if (backfill_init(t) != 0)
		return t->err;
	return wsess_namespace_init(t);
}

const struct store_module wsess_module = {
	.name = "visitor sessions",
	.init = wsess_init,
};

/* What a sweep step may still do. */
struct budget {
	uint32_t left;
	uint64_t deadline_us;
};

static int
budget_spent(struct budget *b)
{
	if (b->left > 0 && b->deadline_us != 0 &&
	    proto_mono_us() >= b->deadline_us)
		b->left = 0;
	return b->left == 0;
}

/* Sessions stored before the expiry index get their entry. */
static void
sweep_backfill(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct st_wsess s;
	uint8_t rec[2 + ST_TOKEN_HASH_LEN];
	const uint8_t *from = NULL, *p = NULL;
	size_t flen = 0;
	uint32_t n, i;
	MDB_val v;

	if (db_get(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), &v,
	    "get backfill") != 0)
		return;
	p = v.mv_data;
	if ((v.mv_size != 2 && v.mv_size != sizeof(rec)) ||
	    p[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "backfill");
		return;
	}
	if (p[1])
		return;
	if (v.mv_size == sizeof(rec)) {
		memcpy(rec + 2, p + 2, ST_TOKEN_HASH_LEN);
		from = rec + 2;
		flen = ST_TOKEN_HASH_LEN;
	}
	if (txn_keys(t, t->st->wsessions, WALK, from, flen, 1, 0,
	    ST_TOKEN_HASH_LEN, keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		p = keys + (size_t)i * ST_TOKEN_HASH_LEN;
		if (wsess_load(t, p, &s) != 0 || s.expires_at != 0)
			continue;
		s.expires_at = s.active_at + idle_or_default(
		    t->st->wsess_idle_ms);
		wsess_save(t, p, &s, 0);
		out->indexed++;
	}
	rec[0] = ST_RECORD_VERSION;
	rec[1] = i == n && b->left > 0;		/* walked to the end */
	if (i > 0)
		memcpy(rec + 2, keys + (size_t)(i - 1) * ST_TOKEN_HASH_LEN,
		    ST_TOKEN_HASH_LEN);
	db_put(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), rec,
	    rec[1] || (i == 0 && from == NULL) ? 2 : sizeof(rec),
	    "put backfill");
	if (rec[1])
		log_info("visitor sessions: expiry index complete");
	else
		out->more = 1;
}

/* The sessions of the first deleted widget in wsess_gone. */
static void
sweep_gone(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct st_wsess s;
	uint8_t pk[ST_WIDGET_MAX + 1];
	const uint8_t *k;
	MDB_cursor *cur;
	MDB_val gk, gv;
	size_t plen;
	uint32_t n, i;
	int rc;

	if (t->err || b->left == 0)
		return;
	if ((rc = mdb_cursor_open(t->txn, t->st->wsess_gone, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	plen = 0;
	rc = mdb_cursor_get(cur, &gk, &gv, MDB_FIRST);
	if (rc == 0 && gk.mv_size > 0 && gk.mv_size <= ST_WIDGET_MAX) {
		plen = gk.mv_size + 1;
		memcpy(pk, gk.mv_data, gk.mv_size);
		pk[gk.mv_size] = '\0';
	} else if (rc == 0) {
		log_warnx("deleted widgets: key of %zu bytes", gk.mv_size);
		/* No session has such an id. */
		rc = db_cursor_del(t, cur, t->st->wsess_gone, &gk);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk deleted widgets");
	if (plen == 0) {
		if (rc == 0)
			out->more = 1;
		return;
	}
	if (txn_keys(t, t->st->widget_wsess, WALK, pk, plen, 0, plen,
	    plen + ST_TOKEN_HASH_LEN, keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		k = keys + (size_t)i * (plen + ST_TOKEN_HASH_LEN);
		if ((rc = wsess_load(t, k + plen, &s)) == 0 &&
		    strcmp(s.widget, (const char *)pk) == 0)
			wsess_delete(t, k + plen, &s);
		else if (rc >= 0)	/* an entry left alone */
			db_del_quiet(t, t->st->widget_wsess, k,
			    plen + ST_TOKEN_HASH_LEN, "delete widget session");
		out->gone++;
	}
	/* Every session of it gone: so is its entry. */
	if (i == n && b->left > 0)
		db_del(t, t->st->wsess_gone, pk, plen - 1,
		    "delete deleted widget");
	out->more = 1;
}

/* Sessions whose expiry has passed, oldest first. */
static void
sweep_expired(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct st_wsess s;
	const uint8_t *k;
	uint64_t now = t->st->now(), at;
	uint32_t n, i;
	int rc;

	if (t->err || b->left == 0)
		return;
	if (txn_keys(t, t->st->wsess_expiry, WALK, NULL, 0, 0, 0,
	    EXPIRY_KEY_LEN, keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		k = keys + (size_t)i * EXPIRY_KEY_LEN;
		if ((at = proto_get_be64(k)) > now)
			return;
		if ((rc = wsess_load(t, k + 8, &s)) == 0 &&
		    s.expires_at == at) {
			wsess_delete(t, k + 8, &s);
			out->expired++;
		} else if (rc >= 0)	/* a stale entry */
			db_del_quiet(t, t->st->wsess_expiry, k, EXPIRY_KEY_LEN,
			    "delete visitor session expiry");
	}
	if (i == n && n > 0)
		out->more = 1;
}

int
store_wsess_sweep(struct store_txn *t, uint32_t max, uint64_t deadline_us,
    struct store_sweep *out)
{
	struct budget b = { max, deadline_us };
	struct store_sweep o;
	uint8_t *keys;

	if (t->err)
		return t->err;
	memset(&o, 0, sizeof(o));
	if (max == 0)
		return store_fail(t, PROTO_E_INVALID, "max must be at least 1");
	/* Room for max keys of the longest kind (widget_wsess's). */
	if ((keys = calloc(max, WSESS_KEY_MAX)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	sweep_backfill(t, &b, keys, &o);
	sweep_gone(t, &b, keys, &o);
	sweep_expired(t, &b, keys, &o);
	free(keys);
	if (b.left == 0)
		o.more = 1;
	if (t->err)
		return t->err;
	*out = o;
	return 0;
}

/* ---------------------------------------------------------------- erasure */

int
wsess_contact_sweep(struct store_txn *t, const char *contact, int erase,
    uint8_t pos[ST_TOKEN_HASH_LEN], int *haspos, uint32_t max, int *end)
{
	struct st_wsess s;
	uint8_t *keys;
	const uint8_t *k;
	uint32_t n, i;

	*end = 0;
	if (t->err)
		return t->err;
	if ((keys = calloc(max, ST_TOKEN_HASH_LEN)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (txn_keys(t, t->st->wsessions, WALK, pos,
	    *haspos ? ST_TOKEN_HASH_LEN : 0, 1, 0, ST_TOKEN_HASH_LEN, keys, max,
	    &n) < 0) {
		free(keys);
		return t->err;
	}
	for (i = 0; i < n && !t->err; i++) {
		k = keys + (size_t)i * ST_TOKEN_HASH_LEN;
		if (wsess_load(t, k, &s) != 0)
			continue;
		/* What it submitted to the contact leaves its claim. */
		if (strcmp(s.contact_id, contact) != 0 || !erase)
			claim_contact_gone(t, k, &s, contact);
		if (strcmp(s.contact_id, contact) != 0)
			continue;
		if (erase) {
			att_session_gone(t, k);
			wsess_delete(t, k, &s);
		} else {
			s.contact_id[0] = '\0';
			wsess_save(t, k, &s, s.expires_at);
		}
	}
	if (n > 0) {
		memcpy(pos, keys + (size_t)(n - 1) * ST_TOKEN_HASH_LEN,
		    ST_TOKEN_HASH_LEN);
		*haspos = 1;
	}
	*end = n < max;
	free(keys);
	return t->err;
}
