/*
 * The reports' rollups (rollups.h; proto/reportmsg.h says what is
 * counted; STORAGE.md, "Reports"):
 *
 *	report_hours     org NUL u32 hour | widget NUL agent -> version,
 *	                 ST_RC_N x u64: the counts of the conversations
 *	                 started in that hour (UTC) of that widget, answered
 *	                 first by that agent ("" the default one)
 *	meta "report_backfill"  version, u8 done, then the id of the last
 *	                 conversation the backfill counted in
 *
 * A conversation's counts are a function of its record alone (contrib),
 * so a save moves its row by the difference between the record stored
 * and the one saved, and a deletion takes its counts out: the rollups
 * always equal a recount of the stored conversations. A row that falls
 * to zero is deleted. Conversations stored before the rollups existed
 * (reported 0) are counted in by the sweep's backfill, their messages
 * walked; until it is done a report says it is not ready.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rollups.h"
#include "util.h"
#include "widgetstore.h"

#define HOUR_MS		3600000ull
#define RVAL_LEN	(1 + 8 * ST_RC_N)
#define BACKFILL_KEY	"report_backfill"

/* Its row's key: org NUL u32 hour | widget NUL agent. */
static size_t
rkey(uint8_t k[REPORT_KEY_MAX], const struct st_conv *c)
{
	size_t o = strlen(c->org) + 1, w = strlen(c->widget) + 1;
	size_t a = strlen(c->agent_id);

	memcpy(k, c->org, o);
	proto_put_be32(k + o, (uint32_t)(c->created_at / HOUR_MS));
	memcpy(k + o + 4, c->widget, w);
	memcpy(k + o + 4 + w, c->agent_id, a);
	return o + 4 + w + a;
}

/* What conversation c counts (all 0 when it is not counted in). */
static void
contrib(const struct st_conv *c, uint64_t v[ST_RC_N])
{
	int resolved, answered;

	memset(v, 0, sizeof(uint64_t) * ST_RC_N);
	if (c == NULL || !c->reported)
		return;
	resolved = c->conv_state == ST_STATE_RESOLVED;
	v[ST_RC_conversations] = 1;
	v[ST_RC_visitor_messages] = c->visitor_msgs;
	v[ST_RC_answers] = c->answers;
	v[ST_RC_prompt_tokens] = c->prompt_tokens;
	v[ST_RC_completion_tokens] = c->completion_tokens;
	v[ST_RC_resolved_assistant] = resolved &&
	    c->resolved_by == ST_RESOLVED_ASSISTANT;
	v[ST_RC_resolved_person] = resolved &&
	    c->resolved_by == ST_RESOLVED_PERSON;
	v[ST_RC_handed_off] = c->handed_off;
	/* A person's message before the request answers none of it. */
	answered = c->person_at != 0 && c->person_at >= c->asked_at;
	v[ST_RC_abandoned] = c->asked_at != 0 && !answered;
	if (c->asked_at != 0 && answered) {
		v[ST_RC_first_responses] = 1;
		v[ST_RC_first_response_ms] = c->person_at - c->asked_at;
	}
	if (v[ST_RC_resolved_person] && c->resolved_at >= c->created_at) {
		v[ST_RC_resolutions] = 1;
		v[ST_RC_resolution_ms] = c->resolved_at - c->created_at;
	}
	v[ST_RC_thumbs_up] = c->fb_up;
	v[ST_RC_thumbs_down] = c->fb_down;
	v[ST_RC_ratings] = c->rating != 0;
	v[ST_RC_rating_sum] = c->rating;
}

/*
 * The row of key k (rkey's, klen bytes) moves by the deltas d (one read,
 * one write); a row at zero goes.
 */
static void
row_move(struct store_txn *t, const uint8_t *k, size_t klen,
    const int64_t d[ST_RC_N])
{
	uint8_t val[RVAL_LEN];
	uint64_t n[ST_RC_N];
	struct pdec dec;
	const char *org = (const char *)k;
	int i, rc, any = 0, bad = 0;

	for (i = 0; i < ST_RC_N; i++)
		any |= d[i] != 0;
	if (t->err || !any)
		return;
	memset(n, 0, sizeof(n));
	if ((rc = rec_get(t, t->st->report_hours, k, klen, &dec,
	    "get report row")) < 0)
		return;
	for (i = 0; rc == 0 && i < ST_RC_N; i++)
		n[i] = pdec_u64(&dec);
	if (rc == 0 && pdec_done(&dec) < 0) {
		rec_corrupt(t, "report row");
		return;
	}
	any = 0;
	for (i = 0; i < ST_RC_N; i++) {
		if (d[i] < 0 && n[i] < (uint64_t)-d[i]) {
			bad = 1;
			n[i] = 0;
		} else
			n[i] += (uint64_t)d[i];
		any |= n[i] != 0;
	}
	if (bad)
		log_warnx("report row of %s/%s went below zero", org,
		    org + strlen(org) + 1 + 4);
	if (!any) {
		if (rc == 0)
			db_del(t, t->st->report_hours, k, klen,
			    "delete report row");
		return;
	}
	/* Of a fixed length: written here, not allocated (two a turn). */
	val[0] = ST_RECORD_VERSION;
	for (i = 0; i < ST_RC_N; i++)
		proto_put_be64(val + 1 + 8 * i, n[i]);
	db_put(t, t->st->report_hours, k, klen, val, sizeof(val),
	    "put report row");
}

/* d = sign x v. */
static void
deltas(int64_t d[ST_RC_N], const uint64_t v[ST_RC_N], int sign)
{
	int i;

	for (i = 0; i < ST_RC_N; i++)
		d[i] = sign * (int64_t)v[i];
}

void
report_conv_was(struct report_was *w, const struct st_conv *c)
{
	contrib(c, w->n);
	w->klen = rkey(w->key, c);
	w->reported = c->reported;
}

void
report_conv_saved(struct store_txn *t, const struct report_was *old,
    const struct st_conv *c)
{
#ifdef PARLEY_BENCH_NO_ROLLUPS
	/* The bench's storaged without rollups (make bench, rollups). */
	return;
#endif
	struct report_was now;
	int64_t d[ST_RC_N];
	int i;

	report_conv_was(&now, c);
	if (old != NULL && old->reported && now.reported &&
	    old->klen == now.klen &&
	    memcmp(old->key, now.key, now.klen) == 0) {
		/* One row: moved by the difference. */
		for (i = 0; i < ST_RC_N; i++)
			d[i] = (int64_t)now.n[i] - (int64_t)old->n[i];
		row_move(t, now.key, now.klen, d);
		return;
	}
	if (old != NULL) {
		deltas(d, old->n, -1);
		row_move(t, old->key, old->klen, d);
	}
	deltas(d, now.n, 1);
	row_move(t, now.key, now.klen, d);
}

void
report_msg_counted(struct st_conv *c, const struct st_msg *m)
{
	if (strcmp(m->role, "user") == 0)
		c->visitor_msgs++;
	else if (strcmp(m->role, "assistant") == 0) {
		c->answers++;
		/* A conversation's tokens stop at the field's top, never wrap. */
		proto_u32_add_held(&c->prompt_tokens, m->prompt_tokens);
		proto_u32_add_held(&c->completion_tokens, m->completion_tokens);
	} else if (strcmp(m->role, "agent") == 0 &&
	    (c->person_at == 0 || c->person_at < c->asked_at))
		c->person_at = m->created_at;	/* the first at the request or after */
}

/* ---------------------------------------------------------------- query */

/* The hour of a row's key under org prefix plen, its widget and agent. */
static int
rkey_parse(const MDB_val *k, size_t plen, uint32_t *hour, const char **w,
    size_t *wlen, const char **a, size_t *alen)
{
	const uint8_t *p = k->mv_data, *nul;
	size_t rest;

	if (k->mv_size < plen + 4 + 1)
		return -1;
	*hour = proto_get_be32(p + plen);
	rest = k->mv_size - plen - 4;
	if ((nul = memchr(p + plen + 4, '\0', rest)) == NULL)
		return -1;
	*w = (const char *)p + plen + 4;
	*wlen = (size_t)(nul - (p + plen + 4));
	*a = (const char *)nul + 1;
	*alen = rest - *wlen - 1;
	return *alen <= ST_ID_HEX ? 0 : -1;
}

/* The hour's row among out's (the last: rows come by hour), made when new. */
static struct st_report_hour *
hour_of(struct store_txn *t, struct st_report_rep *out, size_t *cap,
    uint32_t hour)
{
	struct st_report_hour *r;

	if (out->n > 0 && out->hours[out->n - 1].hour == hour)
		return &out->hours[out->n - 1];
	/* The span bounds the hours: more is a bug. */
	if ((r = proto_grow(out->hours, cap, out->n, sizeof(*r), 64,
	    ST_REPORT_HOURS_MAX)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, out->n == ST_REPORT_HOURS_MAX ?
		    "report: too many hours" : "out of memory");
		return NULL;
	}
	out->hours = r;
	r = &out->hours[out->n++];
	memset(r, 0, sizeof(*r));
	r->hour = hour;
	return r;
}

/* a (alen bytes) against agent row r's: as strcmp. */
static int
agent_cmp(const char *a, size_t alen, const struct st_report_agent *r)
{
	size_t rlen = strlen(r->agent);
	int c = memcmp(a, r->agent, alen < rlen ? alen : rlen);

	return c != 0 ? c : alen < rlen ? -1 : alen > rlen;
}

/*
 * Agent a's row among out's, kept in order of id (a binary search), made
 * when new: each agent's hours are summed as they are read.
 */
static struct st_report_agent *
agent_of(struct store_txn *t, struct st_report_rep *out, size_t *cap,
    const char *a, size_t alen)
{
	struct st_report_agent *r;
	char *id;
	uint32_t lo = 0, hi = out->m, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = agent_cmp(a, alen, &out->agents[mid])) == 0)
			return &out->agents[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (out->m == ST_REPORT_AGENTS_MAX) {
		store_fail(t, PROTO_E_INVALID, "the range holds too many "
		    "agents: ask for a shorter one");
		return NULL;
	}
	if ((r = proto_grow(out->agents, cap, out->m, sizeof(*r), 16,
	    ST_REPORT_AGENTS_MAX)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	out->agents = r;
	if ((id = strndup(a, alen)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	memmove(&out->agents[lo + 1], &out->agents[lo],
	    (out->m - lo) * sizeof(*out->agents));
	r = &out->agents[lo];
	memset(r, 0, sizeof(*r));
	r->agent = id;
	out->m++;
	return r;
}

/* 1 when the backfill has counted every older conversation in. */
static int
backfill_done(struct store_txn *t)
{
	MDB_val v;

	return db_get(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), &v,
	    "get report backfill") == 0 && v.mv_size >= 2 &&
	    ((const uint8_t *)v.mv_data)[1] != 0;
}

int
store_report_get(struct store_txn *t, const struct st_report_get_req *q,
    struct st_report_rep *out)
{
	const char *org = t->org != NULL ? t->org : ST_WHO_ORG_DEFAULT;
	const char *agent = q->agent, *w, *a;
	char widget[ST_WIDGET_MAX + 1];
	uint8_t k0[ST_WHO_ORG_MAX + 1 + 4];
	struct st_report_hour *hr;
	struct st_report_agent *ar;
	uint64_t cnt[ST_RC_N];
	size_t plen = strlen(org) + 1, hcap = 0, acap = 0, wlen, alen;
	uint32_t from_h, to_h, hour;
	MDB_cursor *cur;
	MDB_val k, v;
	struct pdec d;
	int i, rc;

	memset(out, 0, sizeof(*out));
	if (t->err || store_widget_filter_id(t, q->widget, widget) < 0)
		return t->err;
	if (q->from >= q->to || q->to - q->from > ST_REPORT_SPAN_MAX)
		return store_fail(t, PROTO_E_INVALID, "from must be before to, "
		    "at most 400 days apart");
	if (strcmp(agent, ST_REPORT_DEFAULT_AGENT) == 0)
		agent = "";
	else if (agent[0] != '\0' && !st_id_valid(agent))
		return store_fail(t, PROTO_E_INVALID,
		    "agent must be an agent id or default");
	/*
	 * The hours that start in the range: a +05:30 zone's midnight leaves
	 * out the hour that starts before it, from the agents' sums too.
	 */
	from_h = (uint32_t)((q->from + HOUR_MS - 1) / HOUR_MS);
	to_h = (uint32_t)((q->to + HOUR_MS - 1) / HOUR_MS);
	memcpy(k0, org, plen);
	proto_put_be32(k0 + plen, from_h);
	if ((cur = txn_seek(t, t->st->report_hours, k0, plen + 4, &k, &v,
	    &rc)) == NULL)
		return t->err;
	for (; rc == 0 && k.mv_size > plen &&
	    memcmp(k.mv_data, org, plen) == 0 && !t->err;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (rkey_parse(&k, plen, &hour, &w, &wlen, &a, &alen) < 0) {
			rec_corrupt(t, "report row key");
			break;
		}
		if (hour >= to_h)
			break;
		if ((widget[0] != '\0' && (strlen(widget) != wlen ||
		    memcmp(widget, w, wlen) != 0)) ||
		    ((q->agent[0] != '\0') && (strlen(agent) != alen ||
		    memcmp(agent, a, alen) != 0)))
			continue;
		if (rec_open(t, &v, &d, "report row") < 0)
			break;
		for (i = 0; i < ST_RC_N; i++)
			cnt[i] = pdec_u64(&d);
		if (pdec_done(&d) < 0) {
			rec_corrupt(t, "report row");
			break;
		}
		if ((hr = hour_of(t, out, &hcap, hour)) == NULL ||
		    (ar = agent_of(t, out, &acap, a, alen)) == NULL)
			break;
		for (i = 0; i < ST_RC_N; i++) {
			hr->v[i] += cnt[i];
			ar->v[i] += cnt[i];
		}
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk report rows");
	if (!t->err)
		(void)daily_today(t, org, widget, t->st->now(), out);
	if (t->err) {
		st_rep_free(PROTO_ST_REPORT_GET, out);
		memset(out, 0, sizeof(*out));
		return t->err;
	}
	out->ready = (uint8_t)backfill_done(t);
	return 0;
}

/* ------------------------------------------------------------- backfill */

/* Its messages counted into c, as a turn counts them. */
static int
count_msg(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    void *arg)
{
	struct st_conv *c = arg;
	struct st_msg m;

	if (msg_rec_decode_rows(t, v, &m, RL_ROW(ST_MSG_ROW_role)) < 0)
		return 1;
	report_msg_counted(c, &m);
	st_msg_free(&m);
	return 0;
}

int
store_report_backfill(struct store_txn *t, uint32_t max, uint32_t *n,
    int *more)
{
	uint8_t rec[2 + ID_LEN], id[ID_LEN];
	const uint8_t *p;
	struct st_conv c;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, from = 0;

	*n = 0;
	*more = 0;
	if (t->err || (rc = db_get(t, t->st->meta, BACKFILL_KEY,
	    strlen(BACKFILL_KEY), &v, "get report backfill")) < 0)
		return t->err;
	p = v.mv_data;
	if (rc == 0 && (v.mv_size < 2 || p[1]))
		return 0;	/* done */
	memset(rec, 0, sizeof(rec));
	if (rc == 0 && v.mv_size == sizeof(rec)) {
		memcpy(rec, p, sizeof(rec));
		from = 1;
	}
	if ((cur = txn_seek(t, t->st->convs, from ? rec + 2 : NULL,
	    from ? ID_LEN : 0, &k, &v, &rc)) == NULL)
		return t->err;
	/* Past the last one counted. */
	if (rc == 0 && from && k.mv_size == ID_LEN &&
	    memcmp(k.mv_data, rec + 2, ID_LEN) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && *n < max && !t->err) {
		if (k.mv_size != ID_LEN) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		memcpy(id, k.mv_data, ID_LEN);
		mdb_cursor_close(cur);
		cur = NULL;
		if (conv_load(t, id, &c) == 0) {
			if (!c.reported) {
				c.visitor_msgs = c.answers = 0;
				c.prompt_tokens = c.completion_tokens = 0;
				c.person_at = 0;
				if (c.agent_id[0] == '\0')
					strlcpy(c.agent_id, c.fb_agent,
					    sizeof(c.agent_id));
				msgs_walk(t, id, 0, count_msg, &c);
				c.reported = 1;
				conv_save(t, id, &c);
			}
			st_conv_free(&c);
		}
		(*n)++;
		memcpy(rec + 2, id, ID_LEN);
		if ((cur = txn_seek(t, t->st->convs, id, ID_LEN, &k, &v,
		    &rc)) == NULL)
			return t->err;
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (t->err)
		return t->err;
	rec[0] = ST_RECORD_VERSION;
	rec[1] = rc != 0;	/* walked to the end */
	db_put(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), rec,
	    *n > 0 || from ? sizeof(rec) : 2, "put report backfill");
	*more = !rec[1];
	if (rec[1])
		log_info("reports: every conversation counted in");
	return t->err;
}

/* ---------------------------------------------------------------- module */

/* A new data directory's backfill is done; an older one's starts. */
static int
report_init(struct store_txn *t)
{
	return backfill_begin(t, BACKFILL_KEY, t->st->convs, "conversations "
	    "predate the reports: counting them in, in batches");
}

/* A deleted conversation's counts go. */
static void
report_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	struct report_was w;
	int64_t d[ST_RC_N];

	report_conv_was(&w, c);
	deltas(d, w.n, -1);
	row_move(t, w.key, w.klen, d);
}

const struct store_module report_module = {
	.name = "reports",
	.init = report_init,
	.conv_deleted = report_conv_deleted,
};
