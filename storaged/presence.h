/*
 * Who is at the dashboard (issue 23, away mode): per organisation, the
 * last time one of its signed-in dashboards had its live event stream
 * open. Workers say so (ST_PRESENCE_SEEN) when a stream starts and every
 * few seconds while it lasts; ST_WS_OPEN and ST_WIDGET_AVAIL read it as
 * "staffed". Kept in memory only, never on disk: one entry per
 * organisation (at most ST_ORGS_MAX; a full table forgets the oldest).
 * After storaged starts, every organisation counts as seen at the start,
 * so a restart does not show visitors "away" while the open dashboards
 * reconnect.
 */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H

#include <stdint.h>

struct store;

/* PARLEY_AWAY_AFTER_MS's default: no dashboard for 2 minutes is away. */
#define PRESENCE_AWAY_MS	120000u

/* The window (0: PRESENCE_AWAY_MS), counted from now for every org. */
void store_presence_settings(struct store *, uint64_t away_after_ms);
/* A dashboard of org is open now. 0, or -1 out of memory (logged). */
int store_presence_seen(struct store *, const char *org);
/* 1 when a dashboard of org was open within the window, else 0. */
int store_presence_staffed(const struct store *, const char *org);
void store_presence_free(struct store *);

#endif
