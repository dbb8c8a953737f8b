/*
 * Knowledge gaps (proto/gapmsg.h): the visitors' questions the assistant
 * could not answer, grouped by wording.
 *
 *	GET  /v1/admin/knowledge-gaps[?days=&widget_id=&agent_id=]
 *		{"groups": [{"id", "question", "count", "last_at",
 *		"reasons": {"handoff", "thumbs_down", "dont_know",
 *		"not_found"}, "gap_ids", "examples": [...]}], "total",
 *		"truncated"}: the last days (1 to 366, 30 by default)
 *	POST /v1/admin/knowledge-gaps/resolve {"ids": [...]}
 *		{"deleted"}: answered or dismissed, gone
 *
 * storaged gives the newest GAPS_READ gaps in range with their terms
 * (the question's words analysed: folded, stopwords out, stemmed, each
 * hashed); the grouping is here, off storaged's loop. Newest first, each
 * gap joins the first group whose first question shares at least half
 * of the two's terms (Jaccard >= 1/2), else starts one; a question of no
 * terms (stopwords alone) joins one of the same words, case aside.
 * Groups are sorted by size, then by the newest question.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "log.h"
#include "workerd.h"

#define GAPS_READ	ST_GAP_LIST_MAX
#define DAYS_DEFAULT	30
#define DAYS_MAX	366
#define EXAMPLES_MAX	5
#define DAY_MS		(86400ull * 1000)

/* A gap's terms, sorted. */
struct gterms {
	uint32_t h[ST_GAP_TERMS_MAX];
	size_t n;
};

struct group {
	uint32_t first;		/* the gap that started it, the newest */
	uint32_t n;		/* its gaps */
	uint32_t reasons[ST_GAP_REASONS];
};

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The hex hashes of s (8 digits each) into t, sorted; junk is skipped. */
static void
terms_parse(const char *s, struct gterms *t)
{
	char hex[9];
	size_t i, len = strlen(s);

	t->n = 0;
	for (i = 0; i + 8 <= len && t->n < ST_GAP_TERMS_MAX; i += 8) {
		memcpy(hex, s + i, 8);
		hex[8] = '\0';
		t->h[t->n++] = (uint32_t)strtoul(hex, NULL, 16);
	}
	qsort(t->h, t->n, sizeof(t->h[0]), u32_cmp);
}

/* 1 when a and b (gaps ga, gb) are the same question, in wording. */
static int
alike(const struct gterms *a, const struct gterms *b, const struct st_gap *ga,
    const struct st_gap *gb)
{
	size_t i = 0, j = 0, both = 0;

	if (a->n == 0 || b->n == 0)
		return a->n == b->n && strcasecmp(ga->question != NULL ?
		    ga->question : "", gb->question != NULL ? gb->question :
		    "") == 0;
	while (i < a->n && j < b->n) {
		if (a->h[i] == b->h[j]) {
			both++;
			i++;
			j++;
		} else if (a->h[i] < b->h[j])
			i++;
		else
			j++;
	}
	/* |a & b| / |a | b| >= 1/2 */
	return 2 * both >= a->n + b->n - both;
}

/* Bigger first, then the one with the newest question. */
static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static json_t *
example_json(const struct st_gap *g)
{
	json_t *v, *why;
	int i, err = 0;

	if ((v = json_object()) == NULL || (why = json_array()) == NULL) {
		json_decref(v);
		return NULL;
	}
	for (i = 0; i < ST_GAP_REASONS; i++)
		if (g->reasons & (1u << i) && json_array_append_new(why,
		    json_string(st_gap_reason_name(i))) < 0)
			err = 1;
	exprow_oset(v, "id", json_string(g->id), &err);
	exprow_oset(v, "conversation_id", json_string(g->conv_id), &err);
	exprow_oset(v, "question", exprow_text(g->question), &err);
	exprow_oset(v, "at", json_integer((json_int_t)g->at), &err);
	exprow_oset(v, "reasons", why, &err);
	exprow_oset(v, "widget_id", json_string(g->widget), &err);
	/* The default agent as the filter and the reports name it. */
	exprow_oset(v, "agent_id", json_string(g->agent[0] != '\0' ? g->agent :
	    ST_REPORT_DEFAULT_AGENT), &err);
	return exprow_odone(v, err);
}

/* Group gr, whose gaps are those of gaps (n) that in[] says are its. */
static json_t *
group_json(const struct group *gr, const struct st_gap *gaps, uint32_t n,
    const uint32_t *in)
{
	const struct st_gap *g = &gaps[gr->first];
	json_t *v, *reasons, *ids, *ex;
	uint32_t i, shown = 0;
	int err = 0;

	v = json_object();
	reasons = json_object();
	ids = json_array();
	ex = json_array();
	if (v == NULL || reasons == NULL || ids == NULL || ex == NULL)
		err = 1;
	for (i = 0; !err && i < ST_GAP_REASONS; i++)
		exprow_oset(reasons, st_gap_reason_name((int)i),
		    json_integer(gr->reasons[i]), &err);
	for (i = gr->first; !err && i < n; i++) {
		if (in[i] != gr->first)
			continue;
		if (json_array_append_new(ids, json_string(gaps[i].id)) < 0 ||
		    (shown++ < EXAMPLES_MAX && json_array_append_new(ex,
		    example_json(&gaps[i])) < 0))
			err = 1;
	}
	exprow_oset(v, "id", json_string(g->id), &err);
	exprow_oset(v, "question", exprow_text(g->question), &err);
	exprow_oset(v, "count", json_integer(gr->n), &err);
	exprow_oset(v, "last_at", json_integer((json_int_t)g->at), &err);
	exprow_oset(v, "reasons", reasons, &err);
	exprow_oset(v, "gap_ids", ids, &err);
	exprow_oset(v, "examples", ex, &err);
	return exprow_odone(v, err);
}

/*
 * gaps (n, newest first) into groups (room for n), in[i] the first gap
 * of gap i's group: how many groups.
 */
static uint32_t
group_gaps(const struct st_gap *gaps, uint32_t n, struct gterms *terms,
    struct group *groups, uint32_t *in)
{
	uint32_t i, k, ng = 0, r;

	for (i = 0; i < n; i++)
		terms_parse(gaps[i].terms, &terms[i]);
	for (i = 0; i < n; i++) {
		for (k = 0; k < ng; k++)
			if (alike(&terms[i], &terms[groups[k].first], &gaps[i],
			    &gaps[groups[k].first]))
				break;
		if (k == ng) {
			memset(&groups[ng], 0, sizeof(groups[ng]));
			groups[ng++].first = i;
		}
		in[i] = groups[k].first;
		groups[k].n++;
		for (r = 0; r < ST_GAP_REASONS; r++)
			groups[k].reasons[r] += (gaps[i].reasons >> r) & 1;
	}
	return ng;
}

static json_t *
gaps_json(const void *rep, int *status)
{
	const struct st_gap_list_rep *l = rep;
	struct gterms *terms;
	struct group *groups;
	uint32_t *in, ng, i;
	json_t *v = NULL, *arr;
	int err = 0;

	(void)status;
	terms = calloc(l->n + 1, sizeof(*terms));
	groups = calloc(l->n + 1, sizeof(*groups));
	in = calloc(l->n + 1, sizeof(*in));
	if (terms == NULL || groups == NULL || in == NULL)
		goto done;
	ng = group_gaps(l->gaps, l->n, terms, groups, in);
	qsort(groups, ng, sizeof(*groups), group_cmp);
	if ((v = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(v);
		v = NULL;
		goto done;
	}
	for (i = 0; i < ng; i++)
		if (json_array_append_new(arr, group_json(&groups[i],
		    l->gaps, l->n, in)) < 0)
			err = 1;
	exprow_oset(v, "groups", arr, &err);
	exprow_oset(v, "total", json_integer(l->n), &err);
	exprow_oset(v, "truncated", json_boolean(l->more), &err);
	v = exprow_odone(v, err);
done:
	free(terms);
	free(groups);
	free(in);
	return v;
}

static const struct admin_reply gaps_answered = {
	PROTO_ST_GAP_LIST, 200, gaps_json, NULL, 0
};

void
gaps_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char widget[ST_WIDGET_MAX + 1] = "", agent[ST_ID_HEX + 1] = "";
	char days_s[8] = "";
	struct st_gap_list_req q = { .widget = widget, .agent = agent,
	    .limit = GAPS_READ };
	const char *query = req->query, *why = NULL;
	unsigned long days = DAYS_DEFAULT;
	uint64_t now = proto_wall_ms();
	char *end;
	int r;

	(void)m;
	if (query != NULL && http_query_param(query, "days", NULL, 0) < 0)
		why = "Invalid query parameters";
	else if (query != NULL && ((r = http_query_param(query, "days",
	    days_s, sizeof(days_s))) < 0 || (r > 0 && ((days = strtoul(days_s,
	    &end, 10)) < 1 || days > DAYS_MAX || *end != '\0' ||
	    days_s[0] < '0' || days_s[0] > '9'))))
		why = "days: must be 1 to 366";
	else if (query != NULL && ((r = http_query_param(query, "widget_id",
	    widget, sizeof(widget))) < 0 || (r > 0 &&
	    !admin_widget_valid(widget))))
		why = "widget_id: must be a widget's id";
	else if (query != NULL && ((r = http_query_param(query, "agent_id",
	    agent, sizeof(agent))) < 0 || (r > 0 && !st_id_valid(agent) &&
	    strcmp(agent, ST_REPORT_DEFAULT_AGENT) != 0)))
		why = "agent_id: must be an agent's id or default";
	if (why != NULL) {
		conn_send_error(c, 400, admin_headers, why);
		return;
	}
	q.to = now + 1;
	q.from = now > days * DAY_MS ? now - days * DAY_MS : 0;
	admin_ask_reply(c, &q, &gaps_answered);
}

static json_t *
deleted_json(const void *rep, int *status)
{
	(void)status;
	return json_pack("{s:I}", "deleted",
	    (json_int_t)((const struct st_u64 *)rep)->v);
}

static const struct admin_reply resolve_answered = {
	PROTO_ST_GAP_DELETE, 200, deleted_json, NULL, 0
};

void
gaps_resolve_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_str ids[ST_GAP_DELETE_MAX];
	struct st_gap_delete_req q = { .ids = ids };
	const char *why = NULL, *s;
	json_t *root, *arr, *v;
	size_t i;

	(void)m;
	if ((root = admin_json_body(c, req)) == NULL)
		return;
	arr = json_is_object(root) ? json_object_get(root, "ids") : NULL;
	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    !json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > ST_GAP_DELETE_MAX)
		why = "ids: an array of 1 to 500 gap ids";
	json_array_foreach(arr, i, v) {
		if (why != NULL)
			break;
		s = json_string_value(v);
		if (s == NULL || strlen(s) != ST_GAP_ID_HEX ||
		    strspn(s, "0123456789abcdef") != ST_GAP_ID_HEX)
			why = "ids: each a gap's id (40 hex digits)";
		else
			ids[q.n++].s = s;
	}
	if (why != NULL)
		conn_send_error(c, 400, admin_headers, why);
	else
		admin_ask_reply(c, &q, &resolve_answered);
	json_decref(root);
}
