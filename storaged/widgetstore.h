/*
 * Widgets and their daily caps in LMDB (issue 5): the store operations
 * behind the widget requests of proto/widgetmsg.h. Visitor sessions
 * (wsess.h) and contacts (contactstore.h), the other records of those
 * requests, have headers of their own, included here. Same rules as
 * store.h: each operation does nothing when t->err is set and returns
 * t->err; results are filled only on success.
 */
#ifndef PARLEY_WIDGETSTORE_H
#define PARLEY_WIDGETSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "contactstore.h"
#include "store.h"
#include "widgetmsg.h"
#include "wsess.h"

#define DAY_MS		86400000ull

/*
 * Each takes org, the organisation who asks acts in (NULL: any, for
 * parleyctl-less internal callers and the public config): another
 * organisation's widget is `not found` exactly like an unknown id.
 */
/* in: the config (ids, times and org ignored); out: as stored, org's. */
int store_widget_create(struct store_txn *, const char *org,
    const struct st_widget *in, struct st_widget *out);
/*
 * Sets in's fields named by mask. *disabled is set when this turned the
 * widget off (its public id then stops working).
 */
int store_widget_update(struct store_txn *, const char *org,
    const char *widget_id, uint64_t mask, const struct st_widget *in,
    struct st_widget *out, int *disabled);
int store_widget_get(struct store_txn *, const char *org,
    const char *widget_id, struct st_widget *out);
/*
 * 1 when public widget_id's widget (enabled) takes a visitor's request
 * for a person now (handoff_enabled), else 0 (t may have failed).
 */
int store_widget_hands_off(struct store_txn *, const char *widget_id);
/*
 * The internal id of public widget_id, from its index alone (any
 * organisation's): 0 found, 1 absent ("" is), -1 error (the txn's).
 */
int store_widget_internal_id(struct store_txn *, const char *widget_id,
    char id[ST_WIDGET_MAX + 1]);
/*
 * The widget a list's filter names, as conversations' widgetId does: an
 * internal id copied as given, a public one's (wid_ and 32 hex) widget's
 * internal id; a public id no widget holds is copied as given (it finds
 * none; another organisation's widget finds none either, as its lists
 * are keyed by organisation). 0, or -1 with t failed.
 */
int store_widget_filter_id(struct store_txn *, const char *given,
    char id[ST_WIDGET_MAX + 1]);
/*
 * org's widgets (NULL: all), oldest first, the default widget first.
 * Free with store_widgets_free.
 */
int store_widget_list(struct store_txn *, const char *org,
    struct st_widget **out, uint32_t *n);
int store_widget_delete(struct store_txn *, const char *org,
    const char *widget_id);
/* A new public id; out holds it (the old one is the argument). */
int store_widget_reset_id(struct store_txn *, const char *org,
    const char *widget_id, struct st_widget *out);
/*
 * ST_WIDGET_SECRET_SET: a new identity secret (32 random bytes, hex) in
 * the widget, copied into secret. ST_WIDGET_SECRET_DEL: none, and
 * identity_required off; out is the widget. The txn's error.
 */
int store_widget_secret_set(struct store_txn *, const char *org,
    const char *widget_id, char secret[ST_SECRET_HEX + 1]);
int store_widget_secret_del(struct store_txn *, const char *org,
    const char *widget_id, struct st_widget *out);

/*
 * ST_CHAT_BEGIN's check of the widget its conversation is filed under
 * (the HTTP chat's is the default widget), by internal id, in the
 * transaction that stores the turn: *result ST_WS_OK, with the message
 * counted in the widget's daily cap as store_ws_begin_run counts it (or
 * the id names no widget: a free name, nothing to check);
 * ST_WS_NO_WIDGET when the widget is disabled; ST_WS_IDENTITY when it
 * takes only verified visitors (which the HTTP chat cannot carry); ST_WS_CAPPED when its
 * daily cap is reached (*retry_ms until the next UTC day). Nothing is
 * written unless OK. When OK (and 0 returned), *agent is the agent the
 * turn answers with (store_begin_agent of the widget, or of none when
 * absent), from the one load of the widget: lent from the begins' cache,
 * to read until the store's next take (the caller's request runs none),
 * or *own (an id no widget can have). The caller frees own, which is
 * zeroed when not used. org is the widget's organisation (the default
 * one's when absent), which a conversation it makes belongs to.
 */
int store_chat_widget_take(struct store_txn *, const char *id, int *result,
    uint64_t *retry_ms, struct st_agent *own, const struct st_agent **agent,
    char org[ST_WHO_ORG_MAX + 1]);
/*
 * ST_CHAT_ANSWER_LAST's look at the widget of internal id id, whose
 * visitor's message is stored (and was counted in its daily cap then:
 * not counted again): *result ST_WS_OK, *agent the agent that answers
 * (lent or *own, as store_chat_widget_take's; the caller frees own), or
 * ST_WS_NO_WIDGET when the widget is disabled. A widget that takes
 * verified visitors only answers too: the visitor was let in. The txn's
 * error.
 */
int store_chat_widget_agent(struct store_txn *, const char *id, int *result,
    struct st_agent *own, const struct st_agent **agent);
/*
 * The enabled widget of public id widget_id as a WebSocket begin reads
 * it, into *w, and the agent its turns answer with (store_begin_agent's;
 * the caller frees it): 0; 1 no such widget or disabled; -1 t failed.
 * w and agent are zeroed first.
 */
int store_ws_widget_take(struct store_txn *, const char *widget_id,
    struct store_ws_widget *w, struct st_agent *agent);
/*
 * The chat's answer (ST_CHAT_*) to a turn its widget refused, by
 * store_chat_widget_take's result (not ST_WS_OK): capped, identity only,
 * else disabled.
 */
int store_chat_refused(int result);
/*
 * 1 when the widget of internal id id is stored and disabled (or its
 * organisation deleted), 0 when it is enabled or absent (a free name, as
 * store_chat_widget_take has it), -1 on error (the txn's). Reads only.
 */
int store_widget_disabled(struct store_txn *, const char *id);
/*
 * 0 when w, a visitor's (the public config's), may be shown: its
 * organisation was not deleted. Else -1, w freed and zeroed, t failed
 * (no such widget).
 */
int store_widget_visible(struct store_txn *, struct st_widget *w);

void store_widgets_free(struct st_widget *, uint32_t n);
/*
 * A deleted organisation's day counts of its turn budget (orgstore.c's
 * sweep): at most max of them removed; *n how many (0: none are left).
 */
int store_org_days_sweep(struct store_txn *, const char *org, uint32_t max,
    uint32_t *n);

#endif
