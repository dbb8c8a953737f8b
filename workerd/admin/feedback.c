/*
 * The feedback summary in the admin API (issue 26): what visitors thought
 * of the answers, per widget and per agent, from storaged's counts
 * (ST_FEEDBACK_SUMMARY, proto/feedbackmsg.h):
 *
 *	GET /v1/admin/feedback	{"widgets":[...],"agents":[...],"total":{...},
 *				 "truncated":false}
 *
 * Each item (and the total) is {answersRated, thumbsUp, thumbsDown,
 * positiveShare (thumbsUp / answersRated, null when none), ratings,
 * averageRating (null when none)}; a widget's also {widgetId (the
 * internal id conversations name), name (null when gone)}, an agent's
 * {agentId (null: the default agent), name (null: the default or a gone
 * one)}. Most rated first, at most ST_FB_LIST_MAX of each (truncated
 * true when storaged cut a list; the total counts everything). Counts of
 * the conversations still stored: a deleted conversation's thumbs and
 * rating leave them. storaged sums them (proto/feedbackmsg.h).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "feedbackmsg.h"
#include "workerd.h"

/* The figures of r as an object; id_key NULL: no id nor name (the total). */
static json_t *
fb_json(const struct st_fb_row *r, const char *id_key)
{
	uint64_t rated = r->up + r->down;
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if (id_key != NULL) {
		exprow_oset(o, id_key, json_opt_text(r->id), &err);
		exprow_oset(o, "name", json_opt_text(r->name), &err);
	}
	exprow_oset(o, "answersRated", json_integer((json_int_t)rated), &err);
	exprow_oset(o, "thumbsUp", json_integer((json_int_t)r->up), &err);
	exprow_oset(o, "thumbsDown", json_integer((json_int_t)r->down), &err);
	exprow_oset(o, "positiveShare", rated > 0 ?
	    json_real((double)r->up / (double)rated) : json_null(), &err);
	exprow_oset(o, "ratings", json_integer((json_int_t)r->ratings), &err);
	exprow_oset(o, "averageRating", r->ratings > 0 ?
	    json_real((double)r->rating_sum / (double)r->ratings) :
	    json_null(), &err);
	return exprow_odone(o, err);
}

/* rows (n, storaged's order: most rated first) as an array. */
static json_t *
fb_list(const struct st_fb_row *rows, uint32_t n, const char *id_key)
{
	json_t *arr;
	uint32_t i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, fb_json(&rows[i], id_key)) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *
summary_json(const void *rep, int *status)
{
	const struct st_fb_summary *s = rep;

	return json_pack("{s:o, s:o, s:o, s:b}", "widgets", fb_list(s->widgets,
	    s->nw, "widgetId"), "agents", fb_list(s->agents, s->na, "agentId"),
	    "total", fb_json(&s->total, NULL), "truncated", s->cut != 0);
}

ADMIN_VIEW_ROUTE(feedback_summary_get, PROTO_ST_FEEDBACK_SUMMARY,
    summary_json, NULL, 0)
