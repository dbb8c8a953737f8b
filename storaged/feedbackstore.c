/*
 * Feedback (issue 26; proto/feedbackmsg.h, STORAGE.md "Feedback"): a
 * visitor's thumb on an assistant message, its 1-5 rating of a
 * conversation, and the counts the owner's summary reads:
 *
 *	feedback_counts  org NUL widget NUL agent -> u32 up, u32 down,
 *	                 u32 ratings, u32 rating_sum
 *
 * A conversation keeps what it adds to its row (fb_up, fb_down, rating)
 * and the agent the row names (fb_agent: its widget's agent when the
 * first of them came), so that a thumb changed or taken back and a
 * rating replaced move the counts exactly, and a conversation deleted
 * (by the dashboard, the retention sweep, an erasure, its organisation's
 * deletion: all through store_conv_delete) takes its part out. A row
 * that falls to zero is deleted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentstore.h"
#include "feedbackstore.h"
#include "gapstore.h"
#include "log.h"
#include "storeint.h"
#include "util.h"
#include "wsess.h"

#define FB_KEY_MAX	(ST_WHO_ORG_MAX + 1 + ST_WIDGET_MAX + 1 + ST_ID_HEX)

struct fb_counts {
	uint32_t up, down, ratings, rating_sum;
};

/* Its row's key: org NUL widget NUL agent. */
static size_t
fb_key(uint8_t k[FB_KEY_MAX], const struct st_conv *c)
{
	size_t o = strlen(c->org) + 1, w = strlen(c->widget) + 1;
	size_t a = strlen(c->fb_agent);

	memcpy(k, c->org, o);
	memcpy(k + o, c->widget, w);
	memcpy(k + o + w, c->fb_agent, a);
	return o + w + a;
}

static int
fb_counts_dec(struct pdec *d, struct fb_counts *n)
{
	n->up = pdec_u32(d);
	n->down = pdec_u32(d);
	n->ratings = pdec_u32(d);
	n->rating_sum = pdec_u32(d);
	return pdec_done(d);
}

/* v plus delta, never below 0 (a count that would is logged). */
static uint32_t
fb_move(uint32_t v, int64_t delta, int *bad)
{
	int64_t r = (int64_t)v + delta;

	if (r < 0) {
		*bad = 1;
		return 0;
	}
	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* c's row moves by the deltas. */
static void
fb_counts_add(struct store_txn *t, const struct st_conv *c, int64_t up,
    int64_t down, int64_t ratings, int64_t sum)
{
	uint8_t k[FB_KEY_MAX];
	struct fb_counts n;
	struct pdec d;
	struct penc e;
	size_t klen;
	int rc, bad = 0;

	if (t->err || (up == 0 && down == 0 && ratings == 0 && sum == 0))
		return;
	memset(&n, 0, sizeof(n));
	klen = fb_key(k, c);
	if ((rc = rec_get(t, t->st->feedback_counts, k, klen, &d,
	    "get feedback counts")) < 0)
		return;
	if (rc == 0 && fb_counts_dec(&d, &n) < 0) {
		rec_corrupt(t, "feedback counts");
		return;
	}
	n.up = fb_move(n.up, up, &bad);
	n.down = fb_move(n.down, down, &bad);
	n.ratings = fb_move(n.ratings, ratings, &bad);
	n.rating_sum = fb_move(n.rating_sum, sum, &bad);
	if (bad)
		log_warnx("feedback counts of %s/%s went below zero",
		    c->org, c->widget);
	if (n.up == 0 && n.down == 0 && n.ratings == 0) {
		if (rc == 0)
			db_del(t, t->st->feedback_counts, k, klen,
			    "delete feedback counts");
		return;
	}
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_u32(&e, n.up);
	penc_u32(&e, n.down);
	penc_u32(&e, n.ratings);
	penc_u32(&e, n.rating_sum);
	rec_put(t, t->st->feedback_counts, k, klen, &e, "put feedback counts");
	penc_free(&e);
}

/*
 * The agent c's feedback is counted under, when c has none counted yet:
 * the one that answered its first message (agent_id, as the reports and
 * the gaps name it), so that a widget moved to another agent leaves the
 * earlier conversations' thumbs with the agent whose answers they judge;
 * the widget's now (agent) only for a conversation stored before it had
 * one (not yet reported). Else the one its counts are under.
 */
static void
fb_agent_pick(struct st_conv *c, const char *agent)
{
	if (c->fb_up == 0 && c->fb_down == 0 && c->rating == 0)
		strlcpy(c->fb_agent, c->reported ? c->agent_id : agent,
		    sizeof(c->fb_agent));
}

/*
 * The session's conversation a thumb or rating names (store_ws_conv_of)
 * into c and cid, its widget's settings into fb: 0 when it takes one
 * (rating: ratings, else thumbs), c to free; 1 when *result is not OK
 * (nothing loaded); -1 when refused or failed (t->err).
 */
static int
fb_conv(struct store_txn *t, const char *widget_id, const char *origin,
    const uint8_t token[ST_TOKEN_HASH_LEN], const char *conv_id, int rating,
    uint8_t *result, struct st_conv *c, uint8_t cid[ID_LEN],
    struct store_ws_fb *fb)
{
	int r = ST_WS_NO_CONV;

	memset(c, 0, sizeof(*c));
	if (store_ws_conv_of(t, widget_id, origin, token, conv_id, &r, c,
	    cid, fb) != 0)
		return -1;
	*result = (uint8_t)r;
	if (r != ST_WS_OK)
		return 1;
	if (rating ? fb->rating_enabled : fb->feedback_enabled)
		return 0;
	st_conv_free(c);
	store_fail(t, PROTO_E_INVALID, rating ?
	    "rating: this chat does not take ratings" :
	    "feedback: this chat does not take feedback");
	return -1;
}

int
store_ws_feedback(struct store_txn *t, const struct st_ws_feedback_req *q,
    struct st_ws_feedback_rep *rep)
{
	struct store_ws_fb fb;
	uint8_t cid[ID_LEN], mkey[MSG_KEY_LEN];
	struct st_conv c;
	struct st_msg m;
	int rc, old, up, down;

	memset(rep, 0, sizeof(*rep));
	if (q->value > ST_FEEDBACK_DOWN)
		return store_fail(t, PROTO_E_INVALID,
		    "value must be 0, 1 (up) or 2 (down)");
	if ((rc = fb_conv(t, q->widget_id, q->origin, q->token, q->conv_id, 0,
	    &rep->result, &c, cid, &fb)) != 0)
		return rc < 0 ? t->err : 0;
	rc = st_id_valid(q->msg_id) ? msg_find(t, cid, q->msg_id, mkey, &m) : 1;
	if (rc == 0 && strcmp(m.role, "assistant") != 0) {
		st_msg_free(&m);
		rc = 1;
	}
	if (rc != 0) {
		rep->result = ST_WS_NO_MSG;
		st_conv_free(&c);
		return t->err;
	}
	if ((old = m.feedback) != q->value) {
		rep->changed = 1;
		fb_agent_pick(&c, fb.agent);
		m.feedback = q->value;
		msg_save(t, mkey, &m);
		/* A thumb down makes its question a gap; taken back, not. */
		if (q->value == ST_FEEDBACK_DOWN)
			gap_mark(t, cid, &c, msg_key_seq(mkey),
			    ST_GAP_THUMBS_DOWN, 1);
		else if (old == ST_FEEDBACK_DOWN)
			gap_mark(t, cid, &c, msg_key_seq(mkey),
			    ST_GAP_THUMBS_DOWN, 0);
		up = (q->value == ST_FEEDBACK_UP) - (old == ST_FEEDBACK_UP);
		down = (q->value == ST_FEEDBACK_DOWN) - (old == ST_FEEDBACK_DOWN);
		c.fb_up += up;
		c.fb_down += down;
		fb_counts_add(t, &c, up, down, 0, 0);
		conv_save(t, cid, &c);
	}
	st_msg_free(&m);
	st_conv_free(&c);
	return t->err;
}

/* NULL when the rating's score and comment are within bounds. */
static const char *
rating_invalid(const struct st_ws_rating_req *q)
{
	size_t len = strlen(q->comment);
	ssize_t chars = proto_utf8_chars(q->comment, len);

	if (q->score < 1 || q->score > 5)
		return "score must be 1 to 5";
	if (len > ST_RATING_COMMENT_MAX || chars < 0 ||
	    chars > ST_RATING_COMMENT_CHARS)
		return "comment must be at most 1000 characters of UTF-8";
	return NULL;
}

int
store_ws_rating(struct store_txn *t, const struct st_ws_rating_req *q,
    struct st_ws_rating_rep *rep)
{
	struct store_ws_fb fb;
	uint8_t cid[ID_LEN];
	char *comment;
	struct st_conv c;
	const char *bad;
	uint8_t old;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((bad = rating_invalid(q)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if ((rc = fb_conv(t, q->widget_id, q->origin, q->token, q->conv_id, 1,
	    &rep->result, &c, cid, &fb)) != 0)
		return rc < 0 ? t->err : 0;
	if ((comment = strdup(q->comment)) == NULL) {
		st_conv_free(&c);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	fb_agent_pick(&c, fb.agent);
	old = c.rating;
	fb_counts_add(t, &c, 0, 0, old == 0 ? 1 : 0,
	    (int64_t)q->score - old);
	c.rating = q->score;
	free(c.rating_comment);
	c.rating_comment = comment;
	c.rated_at = t->st->now();
	conv_save(t, cid, &c);
	st_conv_free(&c);
	return t->err;
}

/* ---------------------------------------------------------------- summary */

/*
 * The summary's sums: a list of rows by id, growing (cap), freed by the
 * reply's layout (st_rep_free) once it is the reply's.
 */
struct fb_list {
	struct st_fb_row *r;
	uint32_t n, cap;
};

/* The name of org's agent id among as (n), or "". */
static const char *
agent_name(const struct st_agent *as, uint32_t n, const char *id)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(as[i].id, id) == 0)
			return as[i].name;
	return "";
}

/* A new row of id and name at l's place at; NULL out of memory. */
static struct st_fb_row *
fb_list_insert(struct fb_list *l, uint32_t at, const char *id,
    const char *name)
{
	char *i = strdup(id), *nm = strdup(name);
	struct st_fb_row *r;

	if (i == NULL || nm == NULL || l->n == UINT32_MAX)
		goto fail;
	if (l->n == l->cap) {
		uint32_t cap = l->cap != 0 ? l->cap * 2 : 16;

		if ((r = reallocarray(l->r, cap, sizeof(*r))) == NULL)
			goto fail;
		l->r = r;
		l->cap = cap;
	}
	r = &l->r[at];
	memmove(r + 1, r, (l->n - at) * sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->id = i;
	r->name = nm;
	l->n++;
	return r;
fail:
	free(i);
	free(nm);
	return NULL;
}

/* Where id is in l, kept in id order, or goes: *found says which. */
static uint32_t
fb_list_find(const struct fb_list *l, const char *id, int *found)
{
	uint32_t lo = 0, hi = l->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(l->r[mid].id, id)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static void
fb_row_add(struct st_fb_row *r, const struct fb_counts *n)
{
	r->up += n->up;
	r->down += n->down;
	r->ratings += n->ratings;
	r->rating_sum += n->rating_sum;
}

/* The name a widget's row shows: its name, "" when it is gone. */
static char *
fb_widget_name(struct store_txn *t, const char *wid)
{
	struct st_widget w;
	char *name;

	if (widget_load(t, wid, &w) != 0)
		return strdup("");
	name = strdup(w.name != NULL ? w.name : "");
	st_widget_free(&w);
	return name;
}

/*
 * One row of the walk (key k, value v, past the org's plen bytes) into
 * the sums: the total, its widget's (the walk brings a widget's rows
 * together, so it is the last or a new one) and its agent's.
 */
static int
fb_row_take(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    size_t plen, const struct st_agent *as, uint32_t nas,
    struct st_fb_summary *out, struct fb_list *w, struct fb_list *a)
{
	/* The widget's id ends at its NUL; the agent's at the key's end. */
	const char *wid = (const char *)k->mv_data + plen, *nul;
	size_t rest = k->mv_size - plen, alen;
	char aid[ST_ID_HEX + 1];
	struct st_fb_row *r;
	struct fb_counts n;
	struct pdec d;
	char *name;
	uint32_t at;
	int found;

	if ((nul = memchr(wid, '\0', rest)) == NULL ||
	    (size_t)(nul - wid) > ST_WIDGET_MAX ||
	    (alen = rest - (size_t)(nul - wid) - 1) > ST_ID_HEX ||
	    rec_open(t, v, &d, "feedback counts") < 0 ||
	    fb_counts_dec(&d, &n) < 0) {
		rec_corrupt(t, "feedback counts");
		return -1;
	}
	memcpy(aid, nul + 1, alen);
	aid[alen] = '\0';
	fb_row_add(&out->total, &n);
	if (w->n > 0 && strcmp(w->r[w->n - 1].id, wid) == 0)
		r = &w->r[w->n - 1];
	else {
		if ((name = fb_widget_name(t, wid)) == NULL)
			return store_fail(t, PROTO_E_INTERNAL, "out of memory");
		r = fb_list_insert(w, w->n, wid, name);
		free(name);
		if (t->err)
			return -1;
	}
	if (r == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	fb_row_add(r, &n);
	at = fb_list_find(a, aid, &found);
	r = found ? &a->r[at] :
	    fb_list_insert(a, at, aid, agent_name(as, nas, aid));
	if (r == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	fb_row_add(r, &n);
	return 0;
}

/* Most answers rated first, then most ratings, then by id. */
static int
fb_rated_cmp(const void *x, const void *y)
{
	const struct st_fb_row *a = x, *b = y;
	uint64_t ra = a->up + a->down, rb = b->up + b->down;

	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (a->ratings != b->ratings)
		return a->ratings > b->ratings ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* l, most rated first, cut at ST_FB_LIST_MAX (*cut set then) into *rows, *n. */
static void
fb_list_done(struct fb_list *l, struct st_fb_row **rows, uint32_t *n,
    uint8_t *cut)
{
	if (l->n > 0)
		qsort(l->r, l->n, sizeof(*l->r), fb_rated_cmp);
	while (l->n > ST_FB_LIST_MAX) {
		l->n--;
		free((char *)l->r[l->n].id);
		free((char *)l->r[l->n].name);
		*cut = 1;
	}
	*rows = l->r;
	*n = l->n;
}

int
store_fb_summary(struct store_txn *t, const char *org,
    struct st_fb_summary *out)
{
	size_t plen = strlen(org) + 1;
	struct fb_list w = { 0 }, a = { 0 };
	struct st_agent *as = NULL;
	uint32_t nas = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || store_agent_list(t, org, &as, &nas) != 0)
		return t->err;
	if ((rc = mdb_cursor_open(t->txn, t->st->feedback_counts,
	    &cur)) != 0) {
		store_agents_free(as, nas);
		return txn_lmdb(t, rc, "cursor");
	}
	k.mv_size = plen;
	k.mv_data = (void *)org;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > plen &&
	    memcmp(k.mv_data, org, plen) == 0) {
		if (fb_row_take(t, &k, &v, plen, as, nas, out, &w, &a) < 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	store_agents_free(as, nas);
	/* The lists are the reply's now, its layout frees them. */
	fb_list_done(&w, &out->widgets, &out->nw, &out->cut);
	fb_list_done(&a, &out->agents, &out->na, &out->cut);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk feedback counts");
	return t->err;
}

/* ---------------------------------------------------------------- module */

static void
fb_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[16])
{
	fb_counts_add(t, c, -(int64_t)c->fb_up, -(int64_t)c->fb_down,
	    c->rating != 0 ? -1 : 0, -(int64_t)c->rating);
}

const struct store_module feedback_module = {
	.name = "feedback",
	.conv_deleted = fb_conv_deleted,
};
