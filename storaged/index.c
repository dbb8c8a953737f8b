/*
 * The walks every list is made of (storeint.h): an ordered list by
 * creation (order_list), a page of an index from a cursor (index_walk,
 * index_page), and the merge of several per-widget indexes into one
 * newest-first list (merge_walk). Shared by the conversations, the
 * dashboard, widgets, agents and contacts.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentmsg.h"
#include "dashmsg.h"
#include "log.h"
#include "random.h"
#include "storeint.h"
#include "util.h"

/* The key starts with the walk's prefix. */
static int
index_in(const struct index_walk *w, const MDB_val *k)
{
	return key_in(k, w->prefix, w->plen);
}

/*
 * The u64 | id[16] a cursor names; from the newest, all ones: a key
 * holding it (time 2^64 - 1) is no real key, so it may be passed over.
 */
static int
cursor_key(struct store_txn *t, const char *cursor, uint8_t k[INDEX_KEY_LEN])
{
	if (cursor[0] == '\0')
		memset(k, 0xff, INDEX_KEY_LEN);
	else if (strlen(cursor) != STORE_CURSOR_LEN ||
	    proto_hex_decode(cursor, k, INDEX_KEY_LEN) < 0) {
		store_fail(t, PROTO_E_INVALID, "malformed cursor");
		return -1;
	}
	return 0;
}

int
order_list(struct store_txn *t, const struct order_list *o, void *items,
    uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val k = { .mv_size = o->plen, .mv_data = (void *)o->prefix }, v;
	char id[ST_WIDGET_MAX + 1], walk[64];
	size_t len;
	int rc, lrc;

	*n = 0;
	if ((rc = mdb_cursor_open(t->txn, o->index, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, o->plen > 0 ? MDB_SET_RANGE :
	    MDB_FIRST);
	while (rc == 0 && *n < o->max && key_in(&k, o->prefix, o->plen)) {
		if (k.mv_size < o->plen + 8 + o->idmin ||
		    k.mv_size > o->plen + 8 + o->idmax) {
			log_warnx("%s order: key of %zu bytes", o->what,
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		len = k.mv_size - o->plen - 8;
		memcpy(id, (uint8_t *)k.mv_data + o->plen + 8, len);
		id[len] = '\0';
		if ((lrc = o->load(t, id, (char *)items + *n * o->size,
		    o->arg)) == 1) {
			log_warnx("%s order names a missing %s", o->what,
			    o->what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc == 0)
			(*n)++;
		else if (lrc != 2)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND) {
		snprintf(walk, sizeof(walk), "walk %ss", o->what);
		txn_lmdb(t, rc, walk);
	}
	return t->err;
}

/*
 * Walks an index keyed prefix | u64 | id[16] newest first: strictly older
 * than cursor (48 hex digits of the u64 | id part; "" = from the newest),
 * looking at no more than w->scan keys (0 = no bound) and stopping once
 * w->limit items are taken or take() sets *w->halt. take() reads the
 * record a key names into the next item: 0 taken, 2 passed over, 1
 * missing (the index is then inconsistent), -1 failed. next_cursor names
 * the last key looked at when more lie past it. Either way pg->items
 * (pg->n taken) is the caller's to free; pg->total is left 0.
 */
int
index_walk(struct store_txn *t, MDB_dbi index, const char *what,
    const char *cursor, const struct index_walk *w, struct index_page *pg)
{
	uint8_t probe[INDEX_PREFIX_MAX + INDEX_KEY_LEN], last[INDEX_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t seen = 0;
	int rc, lrc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (w->plen > INDEX_PREFIX_MAX)
		return store_fail(t, PROTO_E_INTERNAL, "index prefix too long");
	if (w->plen > 0)
		memcpy(probe, w->prefix, w->plen);
	if (cursor_key(t, cursor, probe + w->plen) < 0)
		return t->err;
	if ((pg->items = calloc(w->limit, w->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, index, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");

	/* The entry before the first at-or-after the probe is older. */
	k.mv_size = w->plen + INDEX_KEY_LEN;
	k.mv_data = probe;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && pg->n < w->limit &&
	    (w->scan == 0 || seen < w->scan) &&
	    (w->halt == NULL || *w->halt == 0)) {
		if (!index_in(w, &k)) {
			rc = MDB_NOTFOUND;	/* past the prefix's keys */
			break;
		}
		if (k.mv_size != w->plen + INDEX_KEY_LEN) {
			log_warnx("%s index: key of %zu bytes", what,
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			break;
		}
		memcpy(last, (uint8_t *)k.mv_data + w->plen, sizeof(last));
		seen++;
		if ((lrc = w->take(t, last + 8,
		    (char *)pg->items + pg->n * w->size, w->arg)) == 1) {
			log_warnx("%s index names a missing record", what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc == 0)
			pg->n++;
		else if (lrc != 2)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	if (rc == 0 && !index_in(w, &k))
		rc = MDB_NOTFOUND;
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, what);
	if (t->err)
		return t->err;
	/* Something older lies past this page: say where to resume. */
	if (rc == 0 && seen > 0)
		proto_hex_encode(last, sizeof(last), pg->next_cursor);
	return 0;
}

/* One widget's place in the merge: the key it stands on. */
struct merge_head {
	uint8_t key[INDEX_PREFIX_MAX + INDEX_KEY_LEN];	/* org NUL widget NUL u64 | id */
	size_t plen;
};

struct merge {
	MDB_cursor *cur;
	/* The key cur stands on (atlen 0: unknown), to step instead of seek. */
	uint8_t at[INDEX_PREFIX_MAX + INDEX_KEY_LEN];
	size_t atlen;
	const char *what;
};

/* a is newer than b; ids are unique, so never equal. */
static int
head_newer(const struct merge_head *a, const struct merge_head *b)
{
	return memcmp(a->key + a->plen, b->key + b->plen, INDEX_KEY_LEN) > 0;
}

/* A max-heap on (time, id): the newest head at 0. */
static void
heap_down(struct merge_head *h, size_t n, size_t i)
{
	struct merge_head tmp;
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && head_newer(&h[c + 1], &h[c]))
			c++;
		if (!head_newer(&h[c], &h[i]))
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

/*
 * Moves a head to the key before the one it holds, within its widget:
 * 0 moved, 1 none left, -1 failed.
 */
static int
head_prev(struct store_txn *t, struct merge *m, struct merge_head *h)
{
	size_t klen = h->plen + INDEX_KEY_LEN;
	MDB_val k, v;
	int rc;

	if (m->atlen == klen && memcmp(m->at, h->key, klen) == 0)
		rc = mdb_cursor_get(m->cur, &k, &v, MDB_PREV);
	else {
		k.mv_size = klen;
		k.mv_data = h->key;
		rc = mdb_cursor_get(m->cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(m->cur, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(m->cur, &k, &v, MDB_LAST);
	}
	m->atlen = 0;
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0) {
		txn_lmdb(t, rc, m->what);
		return -1;
	}
	if (k.mv_size < h->plen || memcmp(k.mv_data, h->key, h->plen) != 0)
		return 1;
	if (k.mv_size != klen) {
		log_warnx("%s index: key of %zu bytes", m->what, k.mv_size);
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return -1;
	}
	memcpy(h->key + h->plen, (uint8_t *)k.mv_data + h->plen,
	    INDEX_KEY_LEN);
	memcpy(m->at, h->key, klen);
	m->atlen = klen;
	return 0;
}

/* Where a merge looks: the parts of conv_counts it takes. */
struct merge_scope {
	const char *org;	/* NULL: every organisation's */
	const char *widget;	/* NULL: every widget's */
	uint64_t total;		/* the conversations of the parts taken */
};

/*
 * A conv_counts key (org NUL widget) and value, checked: 1 when it is one
 * of scope's parts (its count added to the total), 0 when not, 2 when
 * past the organisation's keys, -1 when not understood.
 */
static int
merge_part(struct merge_scope *sc, const MDB_val *k, const MDB_val *v)
{
	const uint8_t *p = k->mv_data, *nul;
	size_t olen;

	nul = k->mv_size > 0 ? memchr(p, '\0', k->mv_size) : NULL;
	if (nul == NULL || (olen = (size_t)(nul - p)) == 0 ||
	    olen > ST_WHO_ORG_MAX || k->mv_size - olen - 1 == 0 ||
	    k->mv_size - olen - 1 > ST_WIDGET_MAX ||
	    memchr(nul + 1, '\0', k->mv_size - olen - 1) != NULL ||
	    v->mv_size != 1 + 8 ||
	    ((const uint8_t *)v->mv_data)[0] != ST_RECORD_VERSION)
		return -1;
	if (sc->org != NULL && (olen != strlen(sc->org) ||
	    memcmp(p, sc->org, olen) != 0))
		return 2;
	if (sc->widget != NULL && (k->mv_size - olen - 1 !=
	    strlen(sc->widget) || memcmp(nul + 1, sc->widget,
	    k->mv_size - olen - 1) != 0))
		return 0;
	sc->total += proto_get_be64((const uint8_t *)v->mv_data + 1);
	return 1;
}

/*
 * One head per part of conv_counts in scope, each on its newest key
 * strictly older than probe; the parts with none are left out. 0 or -1.
 */
static int
merge_heads(struct store_txn *t, struct merge *m, struct merge_scope *sc,
    const uint8_t *probe, struct merge_head **out, size_t *nout)
{
	struct merge_head *heads;
	MDB_cursor *wc;
	MDB_stat ms;
	MDB_val k, v;
	size_t n = 0, i;
	int rc, hrc = 0, in;

	*out = NULL;
	*nout = 0;
	if ((rc = mdb_stat(t->txn, t->st->conv_counts, &ms)) != 0) {
		txn_lmdb(t, rc, "conversation counts");
		return -1;
	}
	if (ms.ms_entries == 0)
		return 0;
	if ((heads = calloc(ms.ms_entries, sizeof(*heads))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	if ((rc = mdb_cursor_open(t->txn, t->st->conv_counts, &wc)) != 0) {
		free(heads);
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	if (sc->org != NULL) {	/* from the organisation's first key */
		k.mv_size = strlen(sc->org) + 1;
		k.mv_data = (void *)sc->org;	/* with its NUL */
		rc = mdb_cursor_get(wc, &k, &v, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(wc, &k, &v, MDB_FIRST);
	while (rc == 0 && n < ms.ms_entries) {
		if ((in = merge_part(sc, &k, &v)) < 0) {
			log_warnx("conversation counts: key of %zu bytes",
			    k.mv_size);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
			hrc = -1;
			break;
		}
		if (in == 2)
			break;
		if (in == 1) {
			memcpy(heads[n].key, k.mv_data, k.mv_size);
			heads[n].key[k.mv_size] = '\0';
			heads[n].plen = k.mv_size + 1;
			memcpy(heads[n].key + heads[n].plen, probe,
			    INDEX_KEY_LEN);
			if ((hrc = head_prev(t, m, &heads[n])) < 0)
				break;
			if (hrc == 0)
				n++;
		}
		rc = mdb_cursor_get(wc, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(wc);
	if (hrc >= 0 && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk conversation counts");
	if (t->err) {
		free(heads);
		return -1;
	}
	for (i = n / 2; i-- > 0;)
		heap_down(heads, n, i);
	*out = heads;
	*nout = n;
	return 0;
}

/*
 * index_walk() over an index's parts in scope (storeint.h): a merge
 * of their indexes (the parts are conv_counts' keys), newest first in
 * (time, id) order, the order one index of u64 | id[16] would have.
 * Cursors, limit, scan, halt, take() and next_cursor are index_walk()'s.
 * A heap of one head per part, and one LMDB cursor that steps back when
 * it stands on the head taken and seeks otherwise, so a page costs
 * O(parts + limit log parts) and no more.
 */
int
merge_walk(struct store_txn *t, MDB_dbi index, const char *what,
    const char *org, const char *widget, const char *cursor,
    const struct index_walk *w, struct index_page *pg)
{
	struct merge_scope sc = { org, widget, 0 };
	uint8_t probe[INDEX_KEY_LEN], last[INDEX_KEY_LEN];
	struct merge_head *heads = NULL;
	struct merge m;
	uint32_t seen = 0;
	size_t n = 0;
	int rc, lrc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (cursor_key(t, cursor, probe) < 0)
		return t->err;
	if ((pg->items = calloc(w->limit, w->size)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	memset(&m, 0, sizeof(m));
	m.what = what;
	if ((rc = mdb_cursor_open(t->txn, index, &m.cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	if (merge_heads(t, &m, &sc, probe, &heads, &n) < 0) {
		mdb_cursor_close(m.cur);
		return t->err;
	}
	pg->total = sc.total;
	while (n > 0 && pg->n < w->limit &&
	    (w->scan == 0 || seen < w->scan) &&
	    (w->halt == NULL || *w->halt == 0)) {
		memcpy(last, heads[0].key + heads[0].plen, sizeof(last));
		seen++;
		if ((lrc = w->take(t, last + 8,
		    (char *)pg->items + pg->n * w->size, w->arg)) == 1) {
			log_warnx("%s index names a missing record", m.what);
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc == 0)
			pg->n++;
		else if (lrc != 2)
			break;
		if ((rc = head_prev(t, &m, &heads[0])) < 0)
			break;
		if (rc == 1)
			heads[0] = heads[--n];
		heap_down(heads, n, 0);
	}
	mdb_cursor_close(m.cur);
	free(heads);
	if (t->err)
		return t->err;
	/* Something older lies past this page: say where to resume. */
	if (n > 0 && seen > 0)
		proto_hex_encode(last, sizeof(last), pg->next_cursor);
	return 0;
}

/* index_page()'s load() as a take(). */
static int
page_take(struct store_txn *t, const uint8_t *id, void *item, void *arg)
{
	int (*const *load)(struct store_txn *, const uint8_t *, void *) = arg;

	return (*load)(t, id, item);
}

/*
 * A page of an index keyed u64 | id[16], newest first, as index_walk()
 * walks it; total counts records.
 */
int
index_page(struct store_txn *t, MDB_dbi index, MDB_dbi records,
    const char *what, uint32_t limit, const char *cursor, size_t size,
    int (*load)(struct store_txn *, const uint8_t *, void *),
    struct index_page *pg)
{
	struct index_walk w;
	MDB_stat ms;
	int rc;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200");
	if ((rc = mdb_stat(t->txn, records, &ms)) != 0)
		return txn_lmdb(t, rc, what);
	memset(&w, 0, sizeof(w));
	w.limit = limit;
	w.size = size;
	w.take = page_take;
	w.arg = &load;
	if (index_walk(t, index, what, cursor, &w, pg) == 0)
		pg->total = ms.ms_entries;
	return t->err;
}

