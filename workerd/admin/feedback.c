/*
 * The feedback summary in the admin API (issue 26): what visitors thought
 * of the answers, per widget and per agent, from storaged's counts
 * (ST_FEEDBACK_SUMMARY, proto/feedbackmsg.h):
 *
 *	GET /v1/admin/feedback	{"widgets":[...],"agents":[...],"total":{...}}
 *
 * Each item (and the total) is {answersRated, thumbsUp, thumbsDown,
 * positiveShare (thumbsUp / answersRated, null when none), ratings,
 * averageRating (null when none)}; a widget's also {widgetId (the
 * internal id conversations name), name (null when gone)}, an agent's
 * {agentId (null: the default agent), name (null: the default or a gone
 * one)}. Most rated first. Counts of the conversations still stored: a
 * deleted conversation's thumbs and rating leave them.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "feedbackmsg.h"
#include "workerd.h"

struct fb_sum {
	const char *id, *name;	/* the rows' (not owned) */
	uint64_t up, down, ratings, rating_sum;
};

/* Adds row r to the sum of id (name) among sums (n of them, room for more). */
static void
fb_add(struct fb_sum *sums, uint32_t *n, const char *id, const char *name,
    const struct st_fb_row *r)
{
	uint32_t i;

	for (i = 0; i < *n && strcmp(sums[i].id, id) != 0; i++)
		;
	if (i == *n) {
		memset(&sums[i], 0, sizeof(sums[i]));
		sums[i].id = id;
		sums[i].name = name;
		(*n)++;
	}
	sums[i].up += r->up;
	sums[i].down += r->down;
	sums[i].ratings += r->ratings;
	sums[i].rating_sum += r->rating_sum;
}

/* The figures of s as an object; id_key NULL: no id nor name (the total). */
static json_t *
fb_json(const struct fb_sum *s, const char *id_key)
{
	uint64_t rated = s->up + s->down;
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if (id_key != NULL) {
		exprow_oset(o, id_key, json_opt_text(s->id), &err);
		exprow_oset(o, "name", json_opt_text(s->name), &err);
	}
	exprow_oset(o, "answersRated", json_integer((json_int_t)rated), &err);
	exprow_oset(o, "thumbsUp", json_integer((json_int_t)s->up), &err);
	exprow_oset(o, "thumbsDown", json_integer((json_int_t)s->down), &err);
	exprow_oset(o, "positiveShare", rated > 0 ?
	    json_real((double)s->up / (double)rated) : json_null(), &err);
	exprow_oset(o, "ratings", json_integer((json_int_t)s->ratings), &err);
	exprow_oset(o, "averageRating", s->ratings > 0 ?
	    json_real((double)s->rating_sum / (double)s->ratings) :
	    json_null(), &err);
	return exprow_odone(o, err);
}

/* Most answers rated first, then most ratings. */
static int
fb_cmp(const void *a, const void *b)
{
	const struct fb_sum *x = a, *y = b;
	uint64_t rx = x->up + x->down, ry = y->up + y->down;

	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->ratings != y->ratings)
		return x->ratings > y->ratings ? -1 : 1;
	return strcmp(x->id, y->id);
}

static json_t *
fb_list(struct fb_sum *sums, uint32_t n, const char *id_key)
{
	json_t *arr;
	uint32_t i;

	qsort(sums, n, sizeof(*sums), fb_cmp);
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, fb_json(&sums[i], id_key)) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *
summary_json(const void *rep, int *status)
{
	const struct st_fb_summary *s = rep;
	struct fb_sum *w, *a, total;
	uint32_t i, nw = 0, na = 0;
	json_t *o = NULL;

	w = calloc(s->n + 1, sizeof(*w));
	a = calloc(s->n + 1, sizeof(*a));
	memset(&total, 0, sizeof(total));
	total.id = "";
	if (w != NULL && a != NULL) {
		for (i = 0; i < s->n; i++) {
			fb_add(w, &nw, s->rows[i].widget,
			    s->rows[i].widget_name, &s->rows[i]);
			fb_add(a, &na, s->rows[i].agent,
			    s->rows[i].agent_name, &s->rows[i]);
			total.up += s->rows[i].up;
			total.down += s->rows[i].down;
			total.ratings += s->rows[i].ratings;
			total.rating_sum += s->rows[i].rating_sum;
		}
		o = json_pack("{s:o, s:o, s:o}", "widgets", fb_list(w, nw,
		    "widgetId"), "agents", fb_list(a, na, "agentId"), "total",
		    fb_json(&total, NULL));
	}
	free(w);
	free(a);
	return o;
}

ADMIN_VIEW_ROUTE(feedback_summary_get, PROTO_ST_FEEDBACK_SUMMARY,
    summary_json, NULL, 0)
