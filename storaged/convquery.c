/*
 * The conversation queries (see STORAGE.md): the activity index and
 * counts they walk, kept as conversations are made, moved and deleted;
 * the list of every conversation, the query by widget with its search,
 * and the retention purge:
 *
 *	conv_activity  org NUL widget NUL u64 updated_at | id[16] -> ()
 *	conv_created   org NUL widget NUL u64 created_at | id[16] -> ()
 *	conv_counts    org NUL widget -> u64 conversations
 *	widgets_retired  widget id -> u32 retention_days, org: a deleted
 *	               widget's retention, kept while it has conversations
 *
 * One index keyed by the conversation's organisation, then its widget
 * (both fixed when it is made): a widget's list walks its one prefix; an
 * organisation's, or every conversation, merges the parts' indexes
 * (merge_walk() in index.c), whose counts sum to the list's total. A
 * turn moves one key. An organisation id (1 to 36 bytes) and a widget (1
 * to 64 bytes of UTF-8) hold no NUL, so NUL ends each in a key. The
 * indexes of older data directories (the global `activity`, then one by
 * widget and one by organisation) are emptied at open, once this one is
 * built.
 *
 * conv_created has the same parts in creation order, which a message
 * never moves: an export walks it (ST_ORDER_CREATED), so a conversation
 * that gets a message while the export runs is still met once. In the
 * order of activity it would jump to the front, behind the cursor.
 *
 * Every value starts with ST_RECORD_VERSION.
 */
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "agentstore.h"
#include "convstate.h"
#include "dashmsg.h"
#include "exportrows.h"
#include "log.h"
#include "storeint.h"
#include "widgetstore.h"

#define ACT_KEY_MAX	(INDEX_PREFIX_MAX + ACT_KEY_LEN)
/*
 * A search also ends after the conversation that takes it past this many
 * bytes of message records: storaged serves everyone from one loop, and
 * 2000 long conversations could otherwise hold it for seconds.
 */
#define SEARCH_BYTES	(32u * 1024 * 1024)

/* --------------------------------------------------------------- index */

/* A part's prefix, org NUL widget NUL: its length (the count key's + 1). */
static size_t
act_prefix(uint8_t k[INDEX_PREFIX_MAX], const char *org, const char *widget)
{
	size_t o = strlen(org), w = strlen(widget);

	memcpy(k, org, o + 1);
	memcpy(k + o + 1, widget, w + 1);
	return o + 1 + w + 1;
}

static size_t
act_key(uint8_t k[ACT_KEY_MAX], const struct st_conv *c, uint64_t at,
    const uint8_t id[ID_LEN])
{
	size_t n = act_prefix(k, c->org, c->widget);

	proto_put_be64(k + n, at);
	memcpy(k + n + 8, id, ID_LEN);
	return n + ACT_KEY_LEN;
}

/*
 * Conversation id's key at time at in index (conv_activity, conv_created):
 * put (on), or deleted.
 */
static void
key_set(struct store_txn *t, MDB_dbi index, const struct st_conv *c,
    uint64_t at, const uint8_t id[ID_LEN], int on)
{
	uint8_t k[ACT_KEY_MAX];
	size_t n = act_key(k, c, at, id);

	if (on)
		db_mark(t, index, k, n, "put a conversation index key");
	else
		db_del(t, index, k, n, "delete a conversation index key");
}

/* Its activity key at time at. */
static void
act_set(struct store_txn *t, const struct st_conv *c, uint64_t at,
    const uint8_t id[ID_LEN], int on)
{
	key_set(t, t->st->conv_activity, c, at, id, on);
}

/* Its creation key. */
static void
made_set(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN], int on)
{
	key_set(t, t->st->conv_created, c, c->created_at, id, on);
}

/* An index key's prefix (org NUL widget NUL): its length, 0 if malformed. */
static size_t
act_key_prefix(const MDB_val *k)
{
	const uint8_t *p = k->mv_data, *o, *w;

	if (k->mv_size <= ACT_KEY_LEN ||
	    (o = memchr(p, '\0', k->mv_size - ACT_KEY_LEN)) == NULL ||
	    (w = memchr(o + 1, '\0', k->mv_size - ACT_KEY_LEN -
	    (size_t)(o + 1 - p))) == NULL ||
	    (size_t)(w + 1 - p) + ACT_KEY_LEN != k->mv_size)
		return 0;
	return (size_t)(w + 1 - p);
}

/* A part's conversations (count key k of klen bytes): 0 with *n, or -1. */
static int
count_get(struct store_txn *t, const uint8_t *k, size_t klen, uint64_t *n)
{
	return rec_count_get(t, t->st->conv_counts, k, klen, n,
	    "conversation count");
}

/* A count that reaches 0 goes, so an unknown part and an empty one agree. */
static void
count_add(struct store_txn *t, const char *org, const char *widget,
    int delta)
{
	uint8_t k[INDEX_PREFIX_MAX];

	rec_count_add(t, t->st->conv_counts, k, act_prefix(k, org, widget) - 1,
	    delta, "conversation count");
}

/*
 * A data directory made before an index has conversations and not the
 * index (conv_activity with its counts, conv_created): build the ones
 * missing from convs.
 */
static int
index_build(struct store_txn *t)
{
	uint8_t id[ID_LEN];
	struct st_conv c;
	MDB_stat wa, wm, cv;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc, act, made;

	if (t->err)
		return t->err;
	if ((rc = mdb_stat(t->txn, t->st->conv_activity, &wa)) != 0 ||
	    (rc = mdb_stat(t->txn, t->st->conv_created, &wm)) != 0 ||
	    (rc = mdb_stat(t->txn, t->st->convs, &cv)) != 0)
		return txn_lmdb(t, rc, "stat");
	act = wa.ms_entries == 0;
	made = wm.ms_entries == 0;
	if (cv.ms_entries == 0 || (!act && !made))
		return 0;
	/* Counts without their index are left from nothing we wrote: redo. */
	if (act && (rc = db_drop(t, t->st->conv_counts)) != 0)
		return txn_lmdb(t, rc, "empty counts");
	if ((rc = mdb_cursor_open(t->txn, t->st->convs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && !t->err) {
		if (k.mv_size != ID_LEN) {
			log_warnx("conversation key of %zu bytes", k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		memcpy(id, k.mv_data, ID_LEN);
		if (conv_load(t, id, &c) != 0)
			break;
		if (act) {
			act_set(t, &c, c.updated_at, id, 1);
			count_add(t, c.org, c.widget, 1);
		}
		if (made)
			made_set(t, &c, id, 1);
		st_conv_free(&c);
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk conversations");
	if (t->err == 0)
		log_info("built the conversation %s index from %zu "
		    "conversations", act && made ? "activity and creation" :
		    act ? "activity" : "creation", n);
	return t->err;
}

/*
 * The index, built when missing; then the retired ones, which older
 * storageds kept, are emptied: their pages go back to the free list, and
 * nothing reads them.
 */
static int
convquery_init(struct store_txn *t)
{
	const struct { MDB_dbi dbi; const char *name; } retired[] = {
		{ t->st->activity, "activity" },
		{ t->st->widget_activity, "widget_activity" },
		{ t->st->widget_counts, "widget_counts" },
		{ t->st->org_activity, "org_activity" },
		{ t->st->org_counts, "org_counts" },
	};
	size_t i;

	if (index_build(t) != 0)
		return t->err;
	for (i = 0; i < sizeof(retired) / sizeof(retired[0]) && !t->err; i++)
		db_retire(t, retired[i].dbi, retired[i].name);
	return t->err;
}

static void
index_conv_made(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	act_set(t, c, c->updated_at, id, 1);
	made_set(t, c, id, 1);
	count_add(t, c->org, c->widget, 1);
}

static void
index_conv_moved(struct store_txn *t, const struct st_conv *c, uint64_t to,
    const uint8_t id[ID_LEN])
{
	act_set(t, c, c->updated_at, id, 0);
	act_set(t, c, to, id, 1);
}

static void
index_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	act_set(t, c, c->updated_at, id, 0);
	made_set(t, c, id, 0);
	count_add(t, c->org, c->widget, -1);
}

const struct store_module convquery_module = {
	.name = "conversation index",
	.init = convquery_init,
	.conv_made = index_conv_made,
	.conv_moved = index_conv_moved,
	.conv_deleted = index_conv_deleted,
};

/* ---------------------------------------------------------------- search */

/*
 * Horspool's search over ASCII-lowercased bytes: a long message costs a
 * fraction of its length, and nothing is copied or allocated.
 */
struct search {
	uint8_t q[ST_SEARCH_MAX];	/* lowercased */
	size_t qlen;			/* 1..ST_SEARCH_MAX */
	uint8_t skip[256];
	MDB_cursor *msgs;		/* reused for every conversation */
	size_t read;			/* bytes of messages looked at */
	int halt;			/* SEARCH_BYTES reached */
};

static inline uint8_t
lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static void
search_init(struct search *s, const char *q)
{
	size_t i;

	s->qlen = strlen(q);
	for (i = 0; i < s->qlen; i++)
		s->q[i] = lc((uint8_t)q[i]);
	memset(s->skip, (int)s->qlen, sizeof(s->skip));
	for (i = 0; i + 1 < s->qlen; i++)
		s->skip[s->q[i]] = (uint8_t)(s->qlen - 1 - i);
}

static int
search_in(const struct search *s, const uint8_t *h, size_t n)
{
	size_t i, j, m = s->qlen;

	if (n < m)
		return 0;
	for (i = 0; i <= n - m; i += s->skip[lc(h[i + m - 1])]) {
		for (j = m; j > 0 && lc(h[i + j - 1]) == s->q[j - 1]; j--)
			;
		if (j == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether the query is the session as admins see it (exprow_session),
 * whole: the raw session is a visitor's credential, and a search in it
 * let a key's holder read it out a character at a time.
 */
static int
search_session(const struct search *s, const char *session)
{
	char shown[EXPROW_SESSION_LEN + 1];

	if (s->qlen != EXPROW_SESSION_LEN)
		return 0;
	exprow_session(session, shown);
	return memcmp(shown, s->q, EXPROW_SESSION_LEN) == 0;
}

/* The conversation's contact's name, email or phone: 1, 0, or -1. */
static int
search_contact(struct store_txn *t, const struct search *s,
    const struct st_conv *c)
{
	uint8_t id[ID_LEN];
	const uint8_t *f[3];
	size_t len[3], i;
	struct pdec d;
	MDB_val v;
	int rc;

	if (c->contact_id[0] == '\0' || proto_hex_decode(c->contact_id, id,
	    ID_LEN) < 0)
		return 0;
	/* A contact that is gone leaves nothing to match. */
	if ((rc = db_get(t, t->st->contacts, id, ID_LEN, &v,
	    "get contact")) != 0)
		return rc < 0 ? -1 : 0;
	/* Every format starts the same way. */
	if (rec_open_ver(t, &v, &d, rl_version(&st_contact_layout),
	    "contact") < 0)
		return -1;
	/* Its rows (ST_CONTACT_ROWS): str id, str name, str email, ... */
	pdec_bytes(&d, &len[0]);
	for (i = 0; i < 3; i++)
		f[i] = pdec_bytes(&d, &len[i]);
	if (d.err) {
		rec_corrupt(t, "contact");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (f[i] != NULL && search_in(s, f[i], len[i]))
			return 1;
	return 0;
}

/* Any message's content, read where LMDB keeps it: 1, 0, or -1. */
static int
search_msgs(struct store_txn *t, struct search *s, const uint8_t id[ID_LEN])
{
	uint8_t probe[MSG_KEY_LEN];
	const uint8_t *content;
	struct pdec d;
	MDB_val k, v;
	size_t len;
	int rc, i;

	msg_key(probe, id, 0);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(s->msgs, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0) {
		s->read += v.mv_size;
		if (rec_open_ver(t, &v, &d, MSG_RECORD_VERSION,
		    "message") < 0)
			return -1;
		/*
		 * By hand, not rl_dec: the content in place, nothing copied.
		 * ST_MSG_ROWS' first rows: four str, u64, u32, u32, str content.
		 */
		for (i = 0; i < 4; i++)
			pdec_bytes(&d, &len);
		pdec_u64(&d);
		pdec_u32(&d);
		pdec_u32(&d);
		content = pdec_bytes(&d, &len);
		if (d.err) {
			rec_corrupt(t, "message");
			return -1;
		}
		if (content != NULL && search_in(s, content, len))
			return 1;
		rc = mdb_cursor_get(s->msgs, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "search messages");
		return -1;
	}
	return 0;
}

/*
 * 1 when conversation id holds an answer whose knowledge search found
 * nothing, 0 when not, -1 on an error; each message read (its bytes
 * counted as a search's).
 */
static int
gap_in_msgs(struct store_txn *t, struct search *s, const uint8_t id[ID_LEN])
{
	uint8_t probe[MSG_KEY_LEN];
	struct st_msg m;
	MDB_val k, v;
	int rc, gap = 0;

	msg_key(probe, id, 0);
	k.mv_size = sizeof(probe);
	k.mv_data = probe;
	rc = mdb_cursor_get(s->msgs, &k, &v, MDB_SET_RANGE);
	while (!gap && rc == 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0) {
		s->read += v.mv_size;
		/* The knowledge row alone: no string copied. */
		if (msg_rec_decode_rows(t, &v, &m, 0) < 0)
			return -1;
		gap = m.knowledge == ST_MSG_KB_NOT_FOUND;
		st_msg_free(&m);
		rc = mdb_cursor_get(s->msgs, &k, &v, MDB_NEXT);
	}
	if (!gap && rc != 0 && rc != MDB_NOTFOUND) {
		txn_lmdb(t, rc, "read messages");
		return -1;
	}
	return gap;
}

/* ---------------------------------------------------------------- query */

/* The filter names a widget as widgets are named: [A-Za-z0-9_-]{1,64}. */
static int
widget_filter_valid(const char *w)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') ||
		    (w[i] >= 'A' && w[i] <= 'Z') ||
		    (w[i] >= '0' && w[i] <= '9') || w[i] == '_' ||
		    w[i] == '-'))
			return 0;
	return i >= 1 && i <= ST_WIDGET_MAX;
}

/* What a query keeps of the conversations its walk reads. */
struct conv_filter {
	struct search *s;	/* NULL: no search; with gaps, its cursor */
	int assigned;		/* ST_ASSIGNED_* */
	const char *assignee;	/* ST_ASSIGNED_TO's */
	int gaps;		/* only those with a knowledge gap */
	int state;		/* 0 any, else 1 + ST_STATE_* */
};

/* Whether c's assignee is one the filter keeps. */
static int
assignee_kept(const struct conv_filter *cf, const struct st_conv *c)
{
	if (cf->assigned == ST_ASSIGNED_NONE)
		return c->assignee[0] == '\0';
	if (cf->assigned == ST_ASSIGNED_TO)
		return strcmp(c->assignee, cf->assignee) == 0;
	return 1;
}

/* index_walk()'s take: the conversation when it matches the filter. */
static int
take_conv(struct store_txn *t, const uint8_t *id, void *item, void *arg)
{
	const struct conv_filter *cf = arg;
	struct search *s = cf->s;
	struct st_conv *c = item;
	int rc;

	if ((rc = conv_load(t, id, c)) != 0)
		return rc;
	/* Never another organisation's (a widget's are all one's). */
	if (cf->state != 0)
		conv_state_view(t, c);
	if (cf->assigned != ST_ASSIGNED_ANY)
		store_conv_assignee_view(t, c);
	if (t->err) {
		st_conv_free(c);
		return -1;
	}
	if ((t->org != NULL && strcmp(c->org, t->org) != 0) ||
	    !assignee_kept(cf, c) ||
	    (cf->state != 0 && c->conv_state + 1 != cf->state)) {
		st_conv_free(c);
		return 2;
	}
	if (cf->gaps && (rc = gap_in_msgs(t, s, id)) != 1) {
		st_conv_free(c);
		if (s->read >= SEARCH_BYTES)
			s->halt = 1;
		return rc < 0 ? -1 : 2;
	}
	if (s == NULL || s->qlen == 0)
		return 0;
	if (search_session(s, c->session))
		return 0;
	if ((rc = search_contact(t, s, c)) == 0)
		rc = search_msgs(t, s, id);
	/* Looked at whole, so the cursor may name it either way. */
	if (s->read >= SEARCH_BYTES)
		s->halt = 1;
	if (rc == 1)
		return 0;
	st_conv_free(c);
	return rc < 0 ? -1 : 2;
}

/* Every conversation: ST_CONV_QUERY's walk, without widget or search. */
int
store_conv_list(struct store_txn *t, uint32_t limit, const char *cursor,
    struct store_list *out)
{
	const struct st_conv_query_req q = { .limit = limit, .cursor = cursor,
	    .widget = "", .q = "", .assigned = ST_ASSIGNED_ANY,
	    .assignee = "" };

	return store_conv_query(t, &q, out);
}

/* q's values, as ST_CONV_QUERY takes them: 0, or t's error. */
static int
query_check(struct store_txn *t, const struct st_conv_query_req *q,
    const char *assignee)
{
	size_t qlen = strlen(q->q);

	if (q->limit < 1 || q->limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	if (q->widget[0] != '\0' && !widget_filter_valid(q->widget))
		return store_fail(t, PROTO_E_INVALID,
		    "widget must be 1 to 64 of A-Z a-z 0-9 _ -");
	if (qlen > ST_SEARCH_MAX || !proto_utf8_valid(q->q, qlen))
		return store_fail(t, PROTO_E_INVALID,
		    "q must be 1 to 200 bytes of UTF-8");
	if (q->assigned > ST_ASSIGNED_MAX ||
	    (q->assigned == ST_ASSIGNED_TO) != (assignee[0] != '\0') ||
	    strlen(assignee) > ST_WHO_USER_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "assignee must be a user id with assigned TO alone");
	if (q->gaps > 1)
		return store_fail(t, PROTO_E_INVALID, "gaps must be 0 or 1");
	if (q->state > ST_CONV_STATE_MAX + 1)
		return store_fail(t, PROTO_E_INVALID, "state must be 0 to 3");
	if (q->order > ST_ORDER_MAX)
		return store_fail(t, PROTO_E_INVALID, "order must be 0 or 1");
	return 0;
}

int
store_conv_query(struct store_txn *t, const struct st_conv_query_req *q,
    struct store_list *out)
{
	uint8_t prefix[INDEX_PREFIX_MAX];
	char widget[ST_WIDGET_MAX + 1];
	struct index_walk w;
	struct index_page pg;
	const char *assignee = q->assignee != NULL ? q->assignee : "";
	struct conv_filter cf = { NULL, q->assigned, assignee, q->gaps,
	    q->state };
	struct search *s = NULL;
	struct store_list l;
	int created = q->order == ST_ORDER_CREATED, rc;
	MDB_dbi index = created ? t->st->conv_created : t->st->conv_activity;
	const char *what = created ? "conversation creation" :
	    "conversation activity";

	if (t->err || query_check(t, q, assignee) != 0 ||
	    store_widget_filter_id(t, q->widget, widget) < 0)
		return t->err;
	memset(&l, 0, sizeof(l));
	memset(&w, 0, sizeof(w));
	/* One widget of who asks's organisation: its one part. */
	if (widget[0] != '\0' && t->org != NULL) {
		w.plen = act_prefix(prefix, t->org, widget);
		w.prefix = prefix;
		if (count_get(t, prefix, w.plen - 1, &l.total) < 0)
			return t->err;
	}
	if (q->q[0] != '\0' || q->gaps) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return store_fail(t, PROTO_E_INTERNAL,
			    "out of memory");
		if (q->q[0] != '\0')
			search_init(s, q->q);
		if ((rc = mdb_cursor_open(t->txn, t->st->msgs,
		    &s->msgs)) != 0) {
			free(s);
			return txn_lmdb(t, rc, "cursor");
		}
		w.halt = &s->halt;
	}
	/* A page of a filter may read this many conversations, no more. */
	if (s != NULL || q->assigned != ST_ASSIGNED_ANY || q->state != 0)
		w.scan = ST_SEARCH_SCAN;
	cf.s = s;
	w.limit = q->limit;
	w.size = sizeof(*l.convs);
	w.take = take_conv;
	w.arg = &cf;
	if (w.plen > 0)
		index_walk(t, index, what, q->cursor, &w, &pg);
	else {
		/* An organisation's, a widget's everywhere, or every one. */
		merge_walk(t, index, what, t->org,
		    widget[0] != '\0' ? widget : NULL, q->cursor, &w,
		    &pg);
		l.total = pg.total;
	}
	if (s != NULL) {
		mdb_cursor_close(s->msgs);
		free(s);
	}
	l.n = pg.n;
	l.convs = pg.items;
	if (t->err) {
		store_list_free(&l);
		return t->err;
	}
	strlcpy(l.next_cursor, pg.next_cursor, sizeof(l.next_cursor));
	*out = l;
	return 0;
}

/* ---------------------------------------------------------------- retention */

/*
 * Each part's index keys run oldest first: take its old ones, then seek
 * past the part (its prefix ending 0x01 sorts after every key of it).
 */
int
store_purge(struct store_txn *t, uint64_t cutoff, uint32_t max, int dry_run,
    uint64_t deadline, uint32_t *n, int *more)
{
	uint8_t (*ids)[ID_LEN] = NULL, probe[INDEX_PREFIX_MAX];
	const uint8_t *p;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t found = 0, plen;
	uint32_t done;
	int rc;

	*n = 0;
	*more = 0;
	if (t->err)
		return t->err;
	/* Retention is the store's: every organisation's conversations. */
	t->org = NULL;
	if (max < 1 || max > ST_PURGE_MAX)
		return store_fail(t, PROTO_E_INVALID, "max must be 1 to 1000");
	if (!dry_run && (ids = calloc(max + 1, ID_LEN)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->conv_activity, &cur)) != 0) {
		free(ids);
		return txn_lmdb(t, rc, "cursor");
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && (dry_run || found <= max)) {
		p = k.mv_data;
		if ((plen = act_key_prefix(&k)) == 0) {
			rec_corrupt(t, "conversation activity key");
			break;
		}
		if (proto_get_be64(p + plen) < cutoff) {
			if (!dry_run)
				memcpy(ids[found], p + plen + 8, ID_LEN);
			found++;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		memcpy(probe, p, plen);
		probe[plen - 1] = 0x01;
		k.mv_data = probe;
		k.mv_size = plen;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk conversation activity");
	if (!t->err && dry_run)
		*n = found > UINT32_MAX ? UINT32_MAX : (uint32_t)found;
	if (!t->err && !dry_run) {
		done = convs_delete(t, ids[0], found > max ? max :
		    (uint32_t)found, STORE_DELETE_MIN, deadline);
		*more = found > done;
		if (!t->err)
			*n = done;
		else
			*more = 0;
	}
	free(ids);
	return t->err;
}

/*
 * Expired conversations passed over in one retention look of a widget
 * (snoozed to wake after the cutoff): each look reads them again, so a
 * bound; more of them hold the ones behind them until they wake.
 */
#define RETAIN_SKIP_MAX	1024

/*
 * 1 when conversation id is snoozed until cutoff or later: retention
 * counts its waking as activity, so a person who snoozed it finds it
 * when it wakes. 0 otherwise, -1 t failed.
 */
static int
snoozed_past(struct store_txn *t, const uint8_t id[ID_LEN], uint64_t cutoff)
{
	struct st_conv c;
	int rc, late;

	if ((rc = conv_load(t, id, &c)) != 0)
		return rc < 0 ? -1 : 0;
	late = c.conv_state == ST_STATE_SNOOZED && c.snoozed_until >= cutoff;
	st_conv_free(&c);
	return late;
}

/*
 * Up to max of widget (of org)'s conversations last active before cutoff
 * deleted, oldest first, none more once deadline (store_past) has
 * passed: *n of them, *more 1 when some are left. One snoozed to wake
 * after cutoff is kept (snoozed_past), RETAIN_SKIP_MAX of them a look.
 */
static void
widget_expired(struct store_txn *t, const char *org, const char *widget,
    uint64_t cutoff, uint32_t max, uint64_t deadline, uint32_t *n,
    int *more)
{
	uint8_t (*ids)[ID_LEN], probe[INDEX_PREFIX_MAX], *id;
	size_t plen = act_prefix(probe, org, widget);
	uint32_t found = 0, skipped = 0, done;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, late;

	*n = 0;
	*more = 0;
	if ((ids = calloc(max + 1, ID_LEN)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if ((rc = mdb_cursor_open(t->txn, t->st->conv_activity, &cur)) != 0) {
		free(ids);
		txn_lmdb(t, rc, "cursor");
		return;
	}
	k.mv_size = plen;
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && found <= max && skipped < RETAIN_SKIP_MAX &&
	    k.mv_size == plen + ACT_KEY_LEN &&
	    memcmp(k.mv_data, probe, plen) == 0 &&
	    proto_get_be64((uint8_t *)k.mv_data + plen) < cutoff) {
		id = (uint8_t *)k.mv_data + plen + 8;
		if ((late = snoozed_past(t, id, cutoff)) < 0)
			break;
		if (late)
			skipped++;
		else
			memcpy(ids[found++], id, ID_LEN);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	done = t->err ? 0 :
	    convs_delete(t, ids[0], found > max ? max : found, 1, deadline);
	*more = found > done;
	free(ids);
	if (!t->err)
		*n = done;
}

/* 1 when widget (of org) has a conversation left, 0 none, -1 t failed. */
static int
widget_has_convs(struct store_txn *t, const char *org, const char *widget)
{
	uint8_t k[INDEX_PREFIX_MAX];
	uint64_t n;

	if (count_get(t, k, act_prefix(k, org, widget) - 1, &n) < 0)
		return -1;
	return n > 0;
}

/*
 * The deleted widgets' retention (widgets_retired), after the live ones':
 * their conversations past it deleted into *n (up to max), and a widget
 * with none left forgotten. *more 1 when some are left.
 */
static void
retired_expired(struct store_txn *t, uint64_t now, uint32_t max,
    uint64_t deadline, uint32_t *n, int *more)
{
	char widget[ST_WIDGET_MAX + 1], org[ST_WHO_ORG_MAX + 1];
	uint64_t keep = 0;
	uint32_t got;
	struct pdec d;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, left, has;

	widget[0] = '\0';
	for (;;) {
		if (*n >= max || (*n > 0 && store_past(deadline))) {
			*more = 1;
			return;
		}
		if ((cur = txn_seek(t, t->st->widgets_retired, widget,
		    strlen(widget), &k, &v, &rc)) == NULL)
			return;
		/* Past the one just done (a seek lands on it again). */
		if (rc == 0 && widget[0] != '\0' && k.mv_size ==
		    strlen(widget) && memcmp(k.mv_data, widget, k.mv_size) == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (rc == 0 && (k.mv_size == 0 || k.mv_size > ST_WIDGET_MAX))
			rec_corrupt(t, "retired widget key");
		else if (rc == 0) {
			memcpy(widget, k.mv_data, k.mv_size);
			widget[k.mv_size] = '\0';
			if (rec_open(t, &v, &d, "retired widget") == 0) {
				keep = (uint64_t)pdec_u32(&d) * 86400000ull;
				pdec_strbuf(&d, org, sizeof(org));
				if (d.err)
					rec_corrupt(t, "retired widget");
			}
		}
		mdb_cursor_close(cur);
		if (rc != 0 || t->err) {
			if (rc != 0 && rc != MDB_NOTFOUND && !t->err)
				txn_lmdb(t, rc, "walk retired widgets");
			return;
		}
		got = 0;
		left = 0;
		if (now > keep)
			widget_expired(t, org, widget, now - keep, max - *n,
			    deadline, &got, &left);
		*n += got;
		*more |= left;
		if (t->err)
			return;
		if (!left && (has = widget_has_convs(t, org, widget)) <= 0) {
			if (has < 0)
				return;
			db_del(t, t->st->widgets_retired, widget,
			    strlen(widget), "delete retired widget");
		}
	}
}

int
store_retention_sweep(struct store_txn *t, uint32_t max, uint64_t deadline,
    uint32_t *n, int *more)
{
	struct st_widget *ws = NULL;
	uint64_t now, keep;
	uint32_t nw = 0, i, got;
	int left = 0;

	*n = 0;
	*more = 0;
	if (t->err)
		return t->err;
	/* Every organisation's widgets. */
	t->org = NULL;
	if (store_widget_list(t, NULL, &ws, &nw) != 0)
		return t->err;
	now = t->st->now();
	for (i = 0; i < nw && *n < max && !t->err; i++) {
		keep = (uint64_t)ws[i].retention_days * 86400000ull;
		if (keep == 0 || now <= keep)
			continue;
		/* Out of time: the next widgets in the next step. */
		if (*n > 0 && store_past(deadline))
			break;
		widget_expired(t, ws[i].org, ws[i].id, now - keep, max - *n,
		    deadline, &got, &left);
		*n += got;
		*more |= left;
	}
	store_widgets_free(ws, nw);
	if (*n >= max || i < nw)
		*more = 1;
	else if (!t->err)
		retired_expired(t, now, max, deadline, n, more);
	return t->err;
}

int
store_retention_retire(struct store_txn *t, const struct st_widget *w)
{
	struct penc e;

	if (t->err || w->retention_days == 0)
		return t->err;
	penc_init(&e);
	penc_u8(&e, rec_version);
	penc_u32(&e, w->retention_days);
	penc_str(&e, w->org);
	rec_put(t, t->st->widgets_retired, w->id, strlen(w->id), &e,
	    "put retired widget");
	penc_free(&e);
	return t->err;
}
