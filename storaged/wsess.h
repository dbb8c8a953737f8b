/*
 * Visitor sessions in LMDB (issue 5, wsess.c): the store operations
 * behind ST_WS_OPEN, ST_WS_BEGIN and ST_WS_CONV, and their upkeep. Same
 * rules as store.h: each operation does nothing when t->err is set and
 * returns t->err; results are filled only on success.
 *
 * The results ST_WS_* (NO_WIDGET, ORIGIN, ...) are not errors: they come
 * back in the result structs with t->err 0, and nothing was written.
 */
#ifndef PARLEY_WSESS_H
#define PARLEY_WSESS_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "store.h"
#include "widgetmsg.h"

struct st_ws_open_ok;

/* A visitor session as stored: widgetmsg.h's struct st_wsess. */

/*
 * What a WebSocket chat begin checks of its widget: kept with the
 * begins' cache (widgetstore.h's store_ws_widget_take) while the
 * widgets and agents stay as they were, so a visitor's message decodes
 * neither the widget nor its agent.
 */
struct store_ws_widget {
	char id[ST_WIDGET_MAX + 1];	/* internal */
	char org[ST_WHO_ORG_MAX + 1];
	char identity_secret[sizeof(((struct st_widget *)0)->identity_secret)];
	uint32_t daily_cap;
	uint32_t org_daily_turns;	/* its organisation's budget, 0 none */
	uint8_t identity_required;
	uint8_t contact_mode;		/* ST_CONTACT_* */
	uint8_t origins;		/* allowed_origins set: origins checked */
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
	size_t read;			/* bytes of records read for it */
	uint8_t handoff;		/* the conversation's ST_HANDOFF_* */
	/* handoff human: its assignee's display name, "" when none */
	char handoff_name[4 * ST_MSG_NAME_MAX + 1];
	/* resumed: the session lists a conversation other than conv_id */
	int earlier;
};

struct store_ws_begin {
	int result;			/* ST_WS_* */
	uint64_t retry_after_ms;	/* LIMITED, CAPPED */
	struct store_ws_widget widget;	/* when OK (and kept from the check on) */
	struct st_agent agent;		/* the widget's, when OK */
	struct st_wsess sess;	/* the check's session */
	uint8_t token_hash[ST_TOKEN_HASH_LEN];
	int creating;			/* no session yet: run makes it */
	int verified;			/* a verified visitor's session */
	uint64_t idle_ms;		/* the request's (0 = the default) */
	struct store_chat chat;		/* when OK */
};

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
 * An opened session o (result ST_WS_OK) as the visitor is shown it (ok,
 * pointing at o's history): the widget without its secret, the session's
 * state, and whether a dashboard of the widget's organisation is open
 * (presence.h).
 */
void store_ws_open_shown(const struct store *, struct st_ws_open_ok *ok,
    const struct store_ws_open *o);

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
/*
 * A new session counts against its widget's new sessions per minute
 * (store_wsess_new_max): in the rate counter of key (WSESS_NEW_PREFIX
 * and the widget's internal id wid: one count whichever way the session
 * starts, the HTTP chat's "default" included), over WSESS_NEW_WINDOW_MS.
 */
#define WSESS_NEW_WINDOW_MS	60000
#define WSESS_NEW_PREFIX	"newsess:"
#define WSESS_NEW_KEY_MAX	(sizeof(WSESS_NEW_PREFIX) + ST_WID_ARG_MAX)
void store_wsess_new_key(const char *wid, char key[WSESS_NEW_KEY_MAX]);

/* What one store_wsess_sweep() did. */
struct store_sweep {
	uint32_t indexed;	/* older sessions given an expiry entry */
	uint32_t gone;		/* sessions of deleted widgets removed */
	uint32_t expired;	/* expired sessions removed */
	uint32_t orgs;		/* records of deleted organisations removed */
	uint32_t contacts;	/* conversations of erased contacts ended */
	uint32_t retained;	/* conversations past their widget's retention */
	uint32_t msgs;		/* messages of deleted conversations removed */
	uint32_t sources;	/* deleted knowledge sources stepped */
	uint32_t uploads;	/* uploads no message named in time */
	uint32_t reported;	/* older conversations counted in the reports */
	uint32_t secrets;	/* webhooks' rotated secrets dropped */
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
 * between: the checks (widget, the socket's origin still allowed, session,
 * verified visitors only, contact requirement; result OK or why not),
 * then, when the caller found it allowed, a turn of its conversation
 * still open (result TURN_OPEN: store_turn_holds, nothing written), the
 * daily cap, the count and the chat turn (the message stored with
 * client_id, "" none).
 */
int store_ws_begin_check(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    uint64_t idle_ms, int create, struct store_ws_begin *out);
int store_ws_begin_run(struct store_txn *, struct store_ws_begin *b,
    const char *content, const char *client_id, const struct st_str *atts,
    uint32_t natts, uint32_t history_max, size_t max_bytes);

/*
 * The conversation of the visitor session under token_hash on widget
 * widget_id (public): *result ST_WS_OK (conv and cid set),
 * ST_WS_NO_WIDGET (unknown or disabled), ST_WS_ORIGIN (origin, the
 * socket's, no longer allowed; NULL: not checked), ST_WS_NO_SESSION
 * (unknown, another widget's, or idle past storaged's session span),
 * ST_WS_IDENTITY (the widget takes verified visitors only, the session
 * is not one: what its caller would write, a socket opened before may
 * not) or ST_WS_NO_CONV (no conversation yet). Writes nothing.
 */
int store_ws_conv(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    int *result, struct st_conv *conv, uint8_t cid[16]);
/* What a feedback request needs of the session's widget (issue 26). */
struct store_ws_fb {
	char agent[ST_ID_HEX + 1];	/* its agent id, "" the default one */
	uint8_t feedback_enabled, rating_enabled;
};
/*
 * store_ws_conv() of conversation conv_hex ("" = the session's current
 * one): ST_WS_NO_CONV also when it is not one of the session's (another
 * session's, another widget's, malformed, absent: the visitor cannot
 * tell them apart). fb (NULL: not wanted): the widget's, whatever the
 * result past NO_WIDGET.
 */
int store_ws_conv_of(struct store_txn *, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    const char *conv_hex, int *result, struct st_conv *conv,
    uint8_t cid[16], struct store_ws_fb *fb);

void store_ws_open_free(struct store_ws_open *);
void store_ws_begin_free(struct store_ws_begin *);

#endif
