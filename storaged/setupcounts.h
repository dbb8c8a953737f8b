/*
 * Setup mistakes told (issue 24): per widget, how many of its visitors'
 * requests were refused and why (a wrong data-api-key, an Origin not in
 * CORS_ORIGIN or not in the widget's allowed origins, a socket the page's
 * CSP blocked, the widget disabled), and the last few distinct origins
 * seen (accepted or refused). Workers say so (ST_SETUP_NOTE) as they
 * refuse; the dashboard's Setup panel reads it (ST_SETUP_GET). Kept in
 * memory only, like presence.h: a restart starts the counts again.
 *
 * A visitor reaches it without a key, so everything is bounded: reasons
 * are a fixed enum, at most SETUP_WIDGETS_MAX widgets (a full table
 * forgets the one noted longest ago), ST_SETUP_ORIGINS origins each (the
 * oldest is replaced), origins cut at ST_SETUP_ORIGIN_MAX bytes, and
 * every id that names no widget counted in one bucket (SETUP_UNKNOWN).
 * One log line per reason at most every SETUP_LOG_MS, never a key.
 */
#ifndef PARLEY_SETUP_H
#define PARLEY_SETUP_H

#include <stdint.h>

#include "stmsgs.h"

struct store;
struct store_txn;

#define SETUP_WIDGETS_MAX	1024
#define SETUP_UNKNOWN		"?"	/* no widget's internal id */
#define SETUP_LOG_MS		60000u

/* Counting starts now (storaged's start). */
void store_setup_start(struct store *);
/*
 * A note about the widget of internal id id (SETUP_UNKNOWN: none):
 * reason (enum st_setup_reason, below ST_SETUP_NREASONS) from origin ("" none;
 * longer than ST_SETUP_ORIGIN_MAX is cut). A CSP report's origin goes to
 * the reports' own list, so reports never push out the origins the server
 * saw itself. 0, or -1 out of memory (logged).
 */
int store_setup_note(struct store *, const char *id, const char *widget_id,
    unsigned reason, const char *origin);
/*
 * store_setup_note of the widget of public id widget_id, its internal id
 * looked up in t: "" is the HTTP chat API's default widget, an id that
 * names no widget goes to SETUP_UNKNOWN's bucket. 0, or t's error (out
 * of memory fails t).
 */
int store_setup_note_widget(struct store_txn *, const char *widget_id,
    unsigned reason, const char *origin);
/*
 * The counts and origins of the widget of internal id id into rep (zeroed
 * counts when none were noted); rep->origins and rep->reports point into the table, valid
 * until the next note: encode it at once, never free it.
 */
void store_setup_get(const struct store *, const char *id,
    struct st_setup_rep *rep);
void store_setup_free(struct store *);

#endif
