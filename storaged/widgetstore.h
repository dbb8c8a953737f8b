/*
 * Widgets, visitor sessions, contacts and daily caps in LMDB (issue 5):
 * the store operations behind the requests of proto/widgetmsg.h. Same
 * rules as store.h: each operation does nothing when t->err is set and
 * returns t->err; results are filled only on success.
 *
 * The results ST_WS_* (NO_WIDGET, ORIGIN, ...) are not errors: they come
 * back in the result structs with t->err 0, and nothing was written.
 */
#ifndef PARLEY_WIDGETSTORE_H
#define PARLEY_WIDGETSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "store.h"
#include "widgetmsg.h"

#define DAY_MS		86400000ull

/* A visitor session as stored (keyed by its token's hash). */
struct store_wsess {
	/*
	 * Its conversation's session: WS_SESSION_MARK and 32 hex digits, a
	 * name the HTTP API's sessionId cannot give (it opens the
	 * conversation with the session token only).
	 */
	char id[ST_ID_HEX + 2];
	char widget[ST_WIDGET_MAX + 1];		/* the widget's internal id */
	uint64_t created_at;
	uint64_t active_at;
	char contact_id[ST_ID_HEX + 1];		/* "" = none yet */
	uint64_t expires_at;	/* its wsess_expiry key; 0 = not indexed yet */
};

struct store_ws_open {
	int result;			/* ST_WS_OK, NO_WIDGET, ORIGIN */
	struct st_widget widget;	/* when OK */
	int resumed;
	int contact_submitted;
	char conv_id[ST_ID_HEX + 1];	/* "" = none yet */
	uint32_t n;
	struct st_msg *history;		/* n, oldest first */
	int more;			/* older messages were left out */
	uint8_t handoff;		/* the conversation's ST_HANDOFF_* */
};

struct store_ws_begin {
	int result;			/* ST_WS_* */
	uint64_t retry_after_ms;	/* LIMITED, CAPPED */
	struct st_widget widget;	/* when OK (and kept from the check on) */
	struct store_wsess sess;	/* the check's session */
	uint8_t token_hash[ST_TOKEN_HASH_LEN];
	int creating;			/* no session yet: run makes it */
	uint64_t idle_ms;		/* the request's (0 = the default) */
	struct store_chat chat;		/* when OK */
};

struct store_contacts {
	uint64_t total;
	uint32_t n;
	struct st_contact *contacts;	/* n, newest first */
	char next_cursor[ST_CURSOR_MAX + 1];
};

/* How a conversation came to its contact (a contact_convs entry). */
struct store_clink {
	int unverified;		/* a visitor named a contact it did not make */
	char *name, *email, *phone;	/* what it submitted; NULL verified */
};

struct store_contact_full {
	struct st_contact contact;
	uint32_t n;
	struct st_conv *convs;		/* n, newest activity first */
	struct store_clink *links;	/* n, convs[i]'s link */
};

/* in: the config (ids and times ignored); out: as stored. */
int store_widget_create(struct store_txn *, const struct st_widget *in,
    struct st_widget *out);
/*
 * Sets in's fields named by mask. *disabled is set when this turned the
 * widget off (its public id then stops working).
 */
int store_widget_update(struct store_txn *, const char *widget_id,
    uint32_t mask, const struct st_widget *in, struct st_widget *out,
    int *disabled);
int store_widget_get(struct store_txn *, const char *widget_id,
    struct st_widget *out);
/* Oldest first, the default widget first. Free with store_widgets_free. */
int store_widget_list(struct store_txn *, struct st_widget **out,
    uint32_t *n);
int store_widget_delete(struct store_txn *, const char *widget_id);
/* A new public id; out holds it (the old one is the argument). */
int store_widget_reset_id(struct store_txn *, const char *widget_id,
    struct st_widget *out);

/*
 * token_hash NULL or ST_TOKEN_HASH_LEN bytes; new_hash ST_TOKEN_HASH_LEN.
 * idle_ms 0 means ST_SESSION_IDLE_MS; history_max 0 as many as max_bytes
 * holds; max_bytes is at most ST_WS_HISTORY_BYTES (0: that), and more
 * says older messages were left out.
 */
int store_ws_open(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t *token_hash, const uint8_t *new_hash,
    uint64_t idle_ms, uint32_t history_max, size_t max_bytes,
    struct store_ws_open *out);
/*
 * Visitor sessions are stored lazily: ST_WS_OPEN writes none, the first
 * message (store_ws_begin_* with create) or contact submission makes it.
 * store_wsess_exists: 1 when a session is stored under hash, 0 when not,
 * -1 error (for the caller to count a new session before it is made).
 */
int store_wsess_exists(struct store_txn *,
    const uint8_t hash[ST_TOKEN_HASH_LEN]);
/*
 * storaged's own settings for sessions: the idle span of sessions made
 * or indexed without a request's (contact submission, the backfill), and
 * new sessions per widget per minute (0 = no limit). Until set:
 * ST_SESSION_IDLE_MS and ST_NEW_SESSIONS_PER_MIN.
 */
void store_wsess_settings(struct store *, uint64_t idle_ms,
    uint32_t new_per_min);
uint32_t store_wsess_new_max(const struct store *);

/* What one store_wsess_sweep() did. */
struct store_sweep {
	uint32_t indexed;	/* older sessions given an expiry entry */
	uint32_t gone;		/* sessions of deleted widgets removed */
	uint32_t expired;	/* expired sessions removed */
	int more;		/* work is left: call again soon */
};
/*
 * One bounded step of session upkeep, in t (a write transaction): first
 * the one-time backfill of the expiry index (sessions stored before it),
 * then the sessions of deleted widgets (wsess_gone), then the sessions
 * whose expiry has passed, oldest first. At most max sessions in all,
 * and it stops once proto_mono_us() passes deadline_us (0: no deadline).
 */
int store_wsess_sweep(struct store_txn *, uint32_t max, uint64_t deadline_us,
    struct store_sweep *out);

/*
 * ST_WS_BEGIN in two halves, so that the caller counts the rate limit in
 * between: the checks (widget, session, contact requirement; result OK
 * or why not), then, when the caller found it allowed, the daily cap, the
 * count and the chat turn.
 */
int store_ws_begin_check(struct store_txn *, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], uint64_t idle_ms,
    int create, struct store_ws_begin *out);
int store_ws_begin_run(struct store_txn *, struct store_ws_begin *b,
    const char *content, uint32_t history_max, size_t max_bytes);
/*
 * ST_CHAT_BEGIN's check of the widget its conversation is filed under
 * (the HTTP chat's is the default widget), by internal id, in the
 * transaction that stores the turn: *result ST_WS_OK, with the message
 * counted in the widget's daily cap as store_ws_begin_run counts it (or
 * the id names no widget: a free name, nothing to check);
 * ST_WS_NO_WIDGET when the widget is disabled; ST_WS_CAPPED when its
 * daily cap is reached (*retry_ms until the next UTC day). Nothing is
 * written unless OK. When OK (and 0 returned), *agent is the agent the
 * turn answers with (store_begin_agent of the widget, or of none when
 * absent), from the one load of the widget; the caller frees it.
 */
int store_chat_widget_take(struct store_txn *, const char *id, int *result,
    uint64_t *retry_ms, struct st_agent *agent);
/*
 * 1 when the widget of internal id id is stored and disabled, 0 when it is
 * enabled or absent (a free name, as store_chat_widget_take has it), -1
 * on error (the txn's). Reads only.
 */
int store_widget_disabled(struct store_txn *, const char *id);
/*
 * NULL when the contact fields are acceptable (at least one given, email
 * and phone valid, name at most ST_CONTACT_NAME_MAX characters), else
 * "field: what is wrong".
 */
const char *store_contact_invalid(const char *name, const char *email,
    const char *phone);
/*
 * *result ST_WS_OK (out set: the contact as stored), NO_WIDGET,
 * NO_SESSION or TOO_MANY (the session's ST_CONTACT_SUBMITS_MAX are used:
 * nothing written). A contact the session did not make is never changed:
 * the session and its conversation are linked to it unverified, with what
 * was submitted kept on the link. A token_hash that names no session
 * makes one (a new visitor's first contact submission).
 */
int store_contact_submit(struct store_txn *, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], const char *name,
    const char *email, const char *phone, int *result,
    struct st_contact *out);
int store_contact_list(struct store_txn *, uint32_t limit,
    const char *cursor, struct store_contacts *out);
int store_contact_get(struct store_txn *, const char *contact_id,
    struct store_contact_full *out);

/*
 * The conversation of the visitor session under token_hash on widget
 * widget_id (public): *result ST_WS_OK (conv and cid set),
 * ST_WS_NO_WIDGET (unknown or disabled), ST_WS_NO_SESSION (unknown,
 * another widget's, or idle past storaged's session span) or
 * ST_WS_NO_CONV (no conversation yet). Writes nothing.
 */
int store_ws_conv(struct store_txn *, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], int *result,
    struct st_conv *conv, uint8_t cid[16]);

void store_widgets_free(struct st_widget *, uint32_t n);
void store_ws_open_free(struct store_ws_open *);
void store_ws_begin_free(struct store_ws_begin *);
void store_contacts_free(struct store_contacts *);
void store_contact_full_free(struct store_contact_full *);
void store_clink_free(struct store_clink *);

#endif
