/*
 * Widgets and their daily caps (see STORAGE.md): the records, their
 * public ids and creation order, the CRUD behind the widget requests,
 * and the per-day count a chat turn takes against a widget's cap:
 *
 *	widgets          internal id -> widget (penc_widget)
 *	widget_ids       public widget_id -> internal id
 *	widget_order     u64 created_at | internal id -> (nothing); the
 *	                 default widget's created_at counts as 0
 *	widget_org       org NUL the same -> () (records.c)
 *	daily            internal id NUL u32 UTC day -> u32 user messages;
 *	                 "@" org NUL u32 UTC day -> its organisation's, while
 *	                 it has a daily turn budget
 *
 * A deleted widget's visitor sessions go in the sweep's batches (wsess.c
 * through wsess_gone); its day counts go with it; an organisation's in
 * its sweep.
 *
 * What a chat begin reads of its widget and agent is kept in memory
 * (store_chat_widget_take's cache) while st->cfg_gen stays: store.c
 * moves it with every write to the widgets, agents or organisations, a
 * knowledge source's that may change which the default agent searches
 * (not a crawl's page counts), a nested txn undone, a replay.
 *
 * Every value starts with ST_RECORD_VERSION (widgets with their
 * layout's format, record.h; every older format still reads).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "agentstore.h"
#include "log.h"
#include "orgmsg.h"
#include "orgstore.h"
#include "random.h"
#include "records.h"
#include "stmsgs.h"
#include "optab.h"
#include "storeint.h"
#include "widgetstore.h"

/* A day count's key: a widget's id, or "@" and an organisation's. */
#define DAILY_KEY_MAX	(ST_WIDGET_MAX + 1 + 4)
#define ORG_DAILY_MARK	'@'
#define ORG_DAILY_KEY_MAX	(1 + ST_ORG_ID_MAX + 1 + 4)
#define DAY_KEY_MAX	(DAILY_KEY_MAX > ORG_DAILY_KEY_MAX ? \
			    DAILY_KEY_MAX : ORG_DAILY_KEY_MAX)
/* The default widget's title and greeting, made at the first start. */
#define DEFAULT_WIDGET_NAME	"Chat with us"
#define DEFAULT_WIDGET_GREETING	"Hi! How can we help you today?"

/* ---------------------------------------------------------------- records */

static int widget_find(struct store_txn *, const char *, void *);
static int widget_ids_add(struct store_txn *, void *);
static void widget_ids_del(struct store_txn *, const void *);

ENTITY_CHECKS(widget, struct st_widget, st_widget_copy, st_widget_invalid)

/* The default agent is stored as "" ("default" in a request). */
static void
widget_agent_norm(void *rec)
{
	struct st_widget *w = rec;

	if (strcmp(w->agent_id, ST_AGENT_DEFAULT) == 0)
		w->agent_id[0] = '\0';
}

/*
 * The agent a widget names is its organisation's (or the default one);
 * identity_required needs an identity secret.
 */
static int
widget_admit(struct store_txn *t, const void *rec, uint64_t mask)
{
	const struct st_widget *w = rec;

	if (w->identity_required && w->identity_secret[0] == '\0')
		return store_fail(t, PROTO_E_INVALID, "identity_required: "
		    "the widget needs an identity secret first (POST "
		    "/v1/admin/widgets/{id}/identity-secret)");
	if (!(mask & ST_WF_AGENT_ID))
		return 0;
	return store_agent_check(t, w->org, w->agent_id);
}

/*
 * Moves the masked fields over (their rows, record.h); req frees what
 * they replaced. arg: an int, set to whether the widget was enabled
 * before.
 */
static int
widget_merge(struct store_txn *t, void *cur, void *req, uint64_t mask,
    void *arg)
{
	int *was = arg;

	*was = ((struct st_widget *)cur)->enabled;
	rl_merge(&st_widget_layout, cur, req, mask);
	return 0;
}

const struct store_entity widget_entity = {
	ENTITY_NAMES("widget", "no such widget", "widgets: at most 1000"),
	ENTITY_RECORD(widget, widgets, widget_order),
	.org_order = offsetof(struct store, widget_org),
	.org = offsetof(struct st_widget, org),
	/*
	 * 128 random bits: never "default", never an existing one, nor
	 * one whose sessions the sweep has yet to remove.
	 */
	.fresh = offsetof(struct store, wsess_gone),
	.idmin = 1,
	.idmax = ST_WIDGET_MAX,
	.max = ST_WIDGETS_MAX,
	.mask_all = ST_WF_ALL,
	/* The default widget leads the list whatever its clock said. */
	.first = ST_DEFAULT_WIDGET,
	.copy = widget_copy,
	.invalid = widget_invalid,
	.prepare = widget_agent_norm,
	.admit = widget_admit,
	.merge = widget_merge,
	.find = widget_find,
	.index_put = widget_ids_add,
	.index_del = widget_ids_del,
};

/* By internal id: 0 loaded, 1 absent, -1 error. */
int
widget_load(struct store_txn *t, const char *id, struct st_widget *w)
{
	return entity_load(t, &widget_entity, id, w);
}

int
store_widget_hands_off(struct store_txn *t, const char *widget_id)
{
	struct st_widget w;
	int on;

	if (widget_usable(t, widget_id, &w) != 0)
		return 0;
	on = w.handoff_enabled;
	st_widget_free(&w);
	return on;
}

int
store_widget_internal_id(struct store_txn *t, const char *widget_id,
    char id[ST_WIDGET_MAX + 1])
{
	MDB_val v;
	size_t n;
	int rc;

	if (t->err)
		return -1;
	if (widget_id[0] == '\0')
		return 1;
	if ((rc = db_get(t, t->st->widget_ids, widget_id, strlen(widget_id),
	    &v, "get widget id")) != 0)
		return rc;
	n = v.mv_size - 1;
	if (v.mv_size < 2 || n > ST_WIDGET_MAX ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		log_warnx("widget id index: record not understood");
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	memcpy(id, (uint8_t *)v.mv_data + 1, n);
	id[n] = '\0';
	return 0;
}

int
store_widget_filter_id(struct store_txn *t, const char *given,
    char id[ST_WIDGET_MAX + 1])
{
	int rc = 1;

	/* Owners copy the public id: the widgets' page and API show it. */
	if (strlen(given) == ST_WID_LEN &&
	    strncmp(given, ST_WID_PREFIX, strlen(ST_WID_PREFIX)) == 0)
		rc = store_widget_internal_id(t, given, id);
	if (rc == 1)
		strlcpy(id, given, ST_WIDGET_MAX + 1);
	return rc < 0 ? -1 : 0;
}

/* By public id (the descriptor's find): 0 loaded, 1 absent, -1 error. */
static int
widget_find(struct store_txn *t, const char *widget_id, void *w)
{
	char id[ST_WIDGET_MAX + 1];
	int rc;

	if ((rc = store_widget_internal_id(t, widget_id, id)) != 0)
		return rc;
	if ((rc = widget_load(t, id, w)) == 1) {
		log_warnx("widget id index names a missing widget");
		store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		return -1;
	}
	return rc;
}

static void
widget_id_put(struct store_txn *t, const struct st_widget *w)
{
	uint8_t v[1 + ST_WIDGET_MAX];
	size_t n = strlen(w->id);

	v[0] = ST_RECORD_VERSION;
	memcpy(v + 1, w->id, n);
	db_put(t, t->st->widget_ids, w->widget_id, strlen(w->widget_id), v,
	    1 + n, "put widget id");
}

/* A public id no widget holds: "wid_" + 32 hex of 128 random bits. */
static int
widget_new_public(struct store_txn *t, char out[ST_WID_LEN + 1])
{
	return fresh_hex_id(t, t->st->widget_ids, ST_WID_PREFIX, out,
	    "widget");
}

/* A new widget's public id, and its entry in widget_ids. */
static int
widget_ids_add(struct store_txn *t, void *w)
{
	if (widget_new_public(t, ((struct st_widget *)w)->widget_id) < 0)
		return -1;
	widget_id_put(t, w);
	return 0;
}

static void
widget_ids_del(struct store_txn *t, const void *rec)
{
	const struct st_widget *w = rec;

	db_del(t, t->st->widget_ids, w->widget_id, strlen(w->widget_id),
	    "delete widget id");
}

/*
 * The keys of dbi that start with prefix, copied (each keylen bytes past
 * the prefix, keys of another length are skipped): *out is n x keylen
 * bytes, for the caller to free. 0, or -1 with t failed.
 */
static int
prefix_keys(struct store_txn *t, MDB_dbi dbi, const void *prefix,
    size_t plen, size_t keylen, uint8_t **out, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t *keys = NULL, *nk;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((cur = txn_seek(t, dbi, prefix, plen, &k, &v, &rc)) == NULL)
		return -1;
	while (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		if (k.mv_size == plen + keylen) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((nk = reallocarray(keys, cap,
				    keylen)) == NULL) {
					store_fail(t, PROTO_E_INTERNAL,
					    "out of memory");
					break;
				}
				keys = nk;
			}
			memcpy(keys + *n * keylen,
			    (uint8_t *)k.mv_data + plen, keylen);
			(*n)++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk index");
	if (t->err) {
		free(keys);
		*n = 0;
		return -1;
	}
	*out = keys;
	return 0;
}

/*
 * At most max of the day counts of id (a widget's, or with mark
 * ORG_DAILY_MARK an organisation's; within its bound) deleted, *n how
 * many: 0, or -1 t failed.
 */
static int
days_drop(struct store_txn *t, const char *mark, const char *id,
    uint32_t max, uint32_t *n)
{
	uint8_t pk[DAY_KEY_MAX], *keys;
	size_t ml = strlen(mark), il = strlen(id), nk, i, plen;

	*n = 0;
	memcpy(pk, mark, ml);
	memcpy(pk + ml, id, il);
	pk[ml + il] = '\0';
	plen = ml + il + 1;
	if (prefix_keys(t, t->st->daily, pk, plen, 4, &keys, &nk) < 0)
		return -1;
	for (i = 0; i < nk && i < max; i++) {
		memcpy(pk + plen, keys + i * 4, 4);	/* after the NUL */
		db_del(t, t->st->daily, pk, plen + 4, "delete day count");
	}
	free(keys);
	*n = (uint32_t)i;
	return t->err ? -1 : 0;
}

int
store_org_days_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	static const char mark[] = { ORG_DAILY_MARK, '\0' };

	return days_drop(t, mark, org, max, n);
}

/* ---------------------------------------------------------------- widgets */

static int
widgetstore_init(struct store_txn *t)
{
	struct st_widget w;
	int rc;

	if ((rc = widget_load(t, ST_DEFAULT_WIDGET, &w)) == 0) {
		st_widget_free(&w);
		return 0;
	}
	if (rc < 0)
		return t->err;
	st_widget_defaults(&w);
	strlcpy(w.id, ST_DEFAULT_WIDGET, sizeof(w.id));
	strlcpy(w.org, ST_ORG_DEFAULT, sizeof(w.org));
	/* What a visitor reads first; a data directory's own stay. */
	if ((w.name = strdup(DEFAULT_WIDGET_NAME)) == NULL ||
	    (w.greeting = strdup(DEFAULT_WIDGET_GREETING)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	entity_add(t, &widget_entity, &w);
	if (t->err == 0)
		log_info("made the default widget, %s", w.widget_id);
	st_widget_free(&w);
	return t->err;
}

const struct store_module widgetstore_module = {
	.name = "widgets",
	.init = widgetstore_init,
};

int
store_widget_create(struct store_txn *t, const char *org,
    const struct st_widget *in, struct st_widget *out)
{
	if (t->err)
		return t->err;
	/* Made by ST_WIDGET_SECRET_SET only. */
	if (in->identity_secret[0] != '\0')
		return store_fail(t, PROTO_E_INVALID,
		    "identity_secret: read-only");
	return entity_create(t, &widget_entity, org, in, out);
}

int
store_widget_update(struct store_txn *t, const char *org,
    const char *widget_id, uint64_t mask, const struct st_widget *in,
    struct st_widget *out, int *disabled)
{
	int was = 0;

	if (entity_update(t, &widget_entity, org, widget_id, mask, in, out,
	    &was) != 0)
		return t->err;
	*disabled = was && !out->enabled;
	return 0;
}

int
store_widget_get(struct store_txn *t, const char *org, const char *widget_id,
    struct st_widget *out)
{
	return entity_get(t, &widget_entity, org, widget_id, out);
}

int
store_widget_list(struct store_txn *t, const char *org, struct st_widget **out,
    uint32_t *n)
{
	void *ws;

	if (entity_list(t, &widget_entity, org, &ws, n) == 0)
		*out = ws;
	return t->err;
}

int
store_widget_delete(struct store_txn *t, const char *org,
    const char *widget_id)
{
	struct st_widget w;
	uint32_t n;

	if (t->err)
		return t->err;
	if (entity_must(t, &widget_entity, org, widget_id, &w) < 0)
		return t->err;
	if (strcmp(w.id, ST_DEFAULT_WIDGET) == 0) {
		st_widget_free(&w);
		return store_fail(t, PROTO_E_INVALID,
		    "the default widget cannot be deleted");
	}
	entity_remove(t, &widget_entity, &w);
	/* Its conversations stay, and go as its retention said. */
	store_retention_retire(t, &w);

	/*
	 * Its sessions go in the sweep's small batches (store_wsess_sweep):
	 * already unusable, as they name a widget that is no more. Then
	 * its day counters.
	 */
	db_mark(t, t->st->wsess_gone, w.id, strlen(w.id), "put deleted widget");
	(void)days_drop(t, "", w.id, UINT32_MAX, &n);
	st_widget_free(&w);
	return t->err;
}

/*
 * Widget widget_id of org, changed by change(t, w) and saved with its
 * updated_at now: 0 with *out the widget saved, else the txn's error
 * (nothing saved, the widget freed, its secret wiped).
 */
static int
widget_change(struct store_txn *t, const char *org, const char *widget_id,
    void (*change)(struct store_txn *, struct st_widget *),
    struct st_widget *out)
{
	struct st_widget w;

	if (t->err)
		return t->err;
	if (entity_must(t, &widget_entity, org, widget_id, &w) < 0)
		return t->err;
	change(t, &w);
	if (t->err == 0) {
		entity_touch(t, &widget_entity, &w);
		entity_save(t, &widget_entity, &w);
	}
	if (t->err) {
		explicit_bzero(w.identity_secret, sizeof(w.identity_secret));
		st_widget_free(&w);
		return t->err;
	}
	*out = w;
	return 0;
}

/* A new public id: the old one stops working with this txn. */
static void
public_id_renew(struct store_txn *t, struct st_widget *w)
{
	db_del(t, t->st->widget_ids, w->widget_id, strlen(w->widget_id),
	    "delete widget id");
	if (widget_new_public(t, w->widget_id) == 0)
		widget_id_put(t, w);
}

/* A new identity secret: 32 random bytes as hex. */
static void
secret_make(struct store_txn *t, struct st_widget *w)
{
	uint8_t r[ST_SECRET_HEX / 2];

	proto_random(r, sizeof(r));
	proto_hex_encode(r, sizeof(r), w->identity_secret);
	explicit_bzero(r, sizeof(r));
}

/* No secret, so no identity may be required. */
static void
secret_remove(struct store_txn *t, struct st_widget *w)
{
	explicit_bzero(w->identity_secret, sizeof(w->identity_secret));
	w->identity_required = 0;
}

int
store_widget_reset_id(struct store_txn *t, const char *org,
    const char *widget_id, struct st_widget *out)
{
	return widget_change(t, org, widget_id, public_id_renew, out);
}

int
store_widget_secret_set(struct store_txn *t, const char *org,
    const char *widget_id, char secret[ST_SECRET_HEX + 1])
{
	struct st_widget w;

	if (widget_change(t, org, widget_id, secret_make, &w) != 0)
		return t->err;
	memcpy(secret, w.identity_secret, ST_SECRET_HEX + 1);
	explicit_bzero(w.identity_secret, sizeof(w.identity_secret));
	st_widget_free(&w);
	return 0;
}

int
store_widget_secret_del(struct store_txn *t, const char *org,
    const char *widget_id, struct st_widget *out)
{
	return widget_change(t, org, widget_id, secret_remove, out);
}

/*
 * 1 when w's organisation was deleted (the sweep has yet to remove w):
 * "unreachable at once" holds for its visitors too. 0, or -1 t failed.
 */
static int
widget_orphan(struct store_txn *t, const struct st_widget *w)
{
	int rc;

	if (strcmp(w->org, ST_ORG_DEFAULT) == 0)
		return 0;
	rc = store_org_exists(t, w->org);
	return rc < 0 ? -1 : rc == 0;
}

int
widget_on(struct store_txn *t, int rc, struct st_widget *w)
{
	int orphan;

	if (rc != 0)
		return rc;
	if (w->enabled && (orphan = widget_orphan(t, w)) == 0)
		return 0;
	st_widget_free(w);
	return t->err ? -1 : 1;
}

int
widget_usable(struct store_txn *t, const char *widget_id, struct st_widget *w)
{
	return widget_on(t, widget_find(t, widget_id, w), w);
}

int
store_widget_visible(struct store_txn *t, struct st_widget *w)
{
	int rc;

	if ((rc = widget_orphan(t, w)) == 0)
		return 0;
	st_widget_free(w);
	memset(w, 0, sizeof(*w));
	if (rc > 0)
		store_fail(t, PROTO_E_NOT_FOUND, "no such widget");
	return -1;
}

int
store_widget_disabled(struct store_txn *t, const char *id)
{
	struct st_widget w;
	int rc, off;

	if (t->err)
		return -1;
	if ((rc = widget_load(t, id, &w)) != 0)
		return rc < 0 ? -1 : 0;
	off = !w.enabled || widget_orphan(t, &w) != 0;
	st_widget_free(&w);
	return t->err ? -1 : off;
}

void
store_widgets_free(struct st_widget *ws, uint32_t n)
{
	entity_free_all(&widget_entity, ws, n);
}

/* --------------------------------------------------------------- daily caps */

static size_t
daily_key(uint8_t k[DAILY_KEY_MAX], const char *widget, uint32_t day)
{
	size_t n = strlen(widget);

	memcpy(k, widget, n);
	k[n] = '\0';
	proto_put_be32(k + n + 1, day);
	return n + 1 + 4;
}

/* An organisation's count: "@" first, which no widget id starts with. */
static size_t
org_daily_key(uint8_t k[ORG_DAILY_KEY_MAX], const char *org, uint32_t day)
{
	size_t n = strlen(org);

	k[0] = ORG_DAILY_MARK;
	memcpy(k + 1, org, n);
	k[n + 1] = '\0';
	proto_put_be32(k + n + 2, day);
	return n + 2 + 4;
}

/* Key k's count of messages into *count (0 when none yet): 0, or -1. */
static int
day_count(struct store_txn *t, const uint8_t *k, size_t klen,
    uint32_t *count)
{
	MDB_val v;
	int rc;

	*count = 0;
	if ((rc = db_get(t, t->st->daily, k, klen, &v, "get day count")) < 0)
		return -1;
	if (rc == 1)
		return 0;
	if (v.mv_size != 5 || ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		log_warnx("day count: record not understood");
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	*count = proto_get_be32((uint8_t *)v.mv_data + 1);
	return 0;
}

/* Key k's count stored as count + 1. */
static void
day_count_add(struct store_txn *t, const uint8_t *k, size_t klen,
    uint32_t count)
{
	uint8_t v[5];

	v[0] = ST_RECORD_VERSION;
	proto_put_be32(v + 1, count < UINT32_MAX ? count + 1 : count);
	db_put(t, t->st->daily, k, klen, v, sizeof(v), "put day count");
}

int
daily_take(struct store_txn *t, const struct store_ws_widget *w,
    uint64_t now, uint64_t *retry_ms)
{
	uint8_t wk[DAILY_KEY_MAX], ok[ORG_DAILY_KEY_MAX];
	uint32_t day = (uint32_t)(now / DAY_MS), wn, on = 0;
	size_t wlen, olen = 0;

	wlen = daily_key(wk, w->id, day);
	if (day_count(t, wk, wlen, &wn) < 0)
		return -1;
	if (w->org_daily_turns != 0) {
		olen = org_daily_key(ok, w->org, day);
		if (day_count(t, ok, olen, &on) < 0)
			return -1;
	}
	if ((w->daily_cap != 0 && wn >= w->daily_cap) ||
	    (w->org_daily_turns != 0 && on >= w->org_daily_turns)) {
		*retry_ms = (uint64_t)(day + 1) * DAY_MS - now;
		return 1;
	}
	day_count_add(t, wk, wlen, wn);
	if (olen != 0)
		day_count_add(t, ok, olen, on);
	if (t->err)
		return -1;
	/* Said once a day: by the message that reaches the bound. */
	if (w->daily_cap != 0 && wn + 1 == w->daily_cap)
		log_info("widget %s reached its daily cap of %u messages: it "
		    "answers daily_limit until the next UTC day", w->id,
		    w->daily_cap);
	if (olen != 0 && on + 1 == w->org_daily_turns)
		log_info("organization %s reached its daily turn budget of %u: "
		    "its widgets answer daily_limit until the next UTC day",
		    w->org, w->org_daily_turns);
	return 0;
}

int
daily_today(struct store_txn *t, const char *org, const char *widget,
    uint64_t now, struct st_report_rep *out)
{
	uint8_t k[DAY_KEY_MAX];
	uint32_t day = (uint32_t)(now / DAY_MS);
	struct st_widget w;
	struct st_org o;
	int rc;

	out->day_end = (uint64_t)(day + 1) * DAY_MS;
	if ((rc = entity_load(t, &org_entity, org, &o)) < 0)
		return -1;
	if (rc == 0) {
		out->budget = o.daily_turns;
		st_org_free(&o);
		if (out->budget != 0 && day_count(t, k,
		    org_daily_key(k, org, day), &out->turns) < 0)
			return -1;
	}
	if (widget[0] == '\0' || (rc = widget_load(t, widget, &w)) == 1)
		return 0;
	if (rc < 0)
		return -1;
	/* Another organisation's widget: its counts are not this one's. */
	if (entity_in_org(&widget_entity, &w, org)) {
		out->cap = w.daily_cap;
		rc = day_count(t, k, daily_key(k, w.id, day), &out->messages);
	}
	st_widget_free(&w);
	return rc < 0 ? -1 : 0;
}

/*
 * What a chat begin reads of a widget (store_chat_widget_take), kept in
 * memory while the widgets and agents stay as they were (st->cfg_gen):
 * a turn then decodes neither the widget's record (some fifty strings)
 * nor its agent's. A few widgets answer most turns.
 */
#define WIDGET_TAKES	16

struct widget_take {
	uint64_t gen;		/* st->cfg_gen when read; 0 an empty slot */
	int by_public;		/* id: the public id (a WebSocket begin's) */
	char id[ST_WIDGET_MAX + 1];
	int found;		/* 0: no such widget (the default agent) */
	int result;		/* ST_WS_OK, ST_WS_NO_WIDGET, ST_WS_IDENTITY */
	struct store_ws_widget w;	/* found: what a begin checks */
	struct st_agent agent;	/* store_begin_agent's, with result OK */
};

/* Slot k emptied (the identity secret wiped). */
static void
take_clear(struct widget_take *k)
{
	st_agent_free(&k->agent);
	explicit_bzero(k, sizeof(*k));
}

void
store_takes_free(struct store *st)
{
	size_t i;

	if (st->takes == NULL)
		return;
	for (i = 0; i < WIDGET_TAKES; i++)
		take_clear(&st->takes[i]);
	free(st->takes);
	st->takes = NULL;
}

/*
 * Widget id's slot (by_public: id is its public id), read at this
 * cfg_gen; NULL when none is.
 */
static struct widget_take *
take_find(struct store *st, const char *id, int by_public)
{
	size_t i;

	for (i = 0; st->takes != NULL && i < WIDGET_TAKES; i++)
		if (st->takes[i].gen != 0 && st->takes[i].gen == st->cfg_gen &&
		    st->takes[i].by_public == by_public &&
		    strcmp(st->takes[i].id, id) == 0)
			return &st->takes[i];
	return NULL;
}

/* What a begin checks of w, into k (its result: the chat API's). */
static void
take_widget(struct widget_take *k, const struct st_widget *w)
{
	strlcpy(k->w.id, w->id, sizeof(k->w.id));
	strlcpy(k->w.org, w->org, sizeof(k->w.org));
	memcpy(k->w.identity_secret, w->identity_secret,
	    sizeof(k->w.identity_secret));
	k->w.daily_cap = w->daily_cap;
	k->w.identity_required = w->identity_required;
	k->w.contact_mode = w->contact_mode;
	k->w.origins = w->norigins > 0;
	if (!w->enabled)
		k->result = ST_WS_NO_WIDGET;
	else if (w->identity_required)
		k->result = ST_WS_IDENTITY;
}

/*
 * The organisation of k's widget, read for its daily turn budget: 0, 1
 * when it was deleted (the sweep has yet to remove the widget:
 * "unreachable at once" holds for its visitors too), -1 t failed.
 */
static int
take_org(struct store_txn *t, struct widget_take *k)
{
	struct st_org o;
	int rc;

	if ((rc = entity_load(t, &org_entity, k->w.org, &o)) != 0)
		return rc;
	k->w.org_daily_turns = o.daily_turns;
	st_org_free(&o);
	return 0;
}

/*
 * Reads widget id (by_public: by its public id) and its agent as a begin
 * wants them into a slot (one read before this cfg_gen, or the next in
 * turn). NULL with t failed.
 */
static struct widget_take *
take_load(struct store_txn *t, const char *id, int by_public)
{
	struct store *st = t->st;
	struct widget_take *k;
	struct st_widget w;
	size_t i;
	int rc;

	if (st->takes == NULL &&
	    (st->takes = calloc(WIDGET_TAKES, sizeof(*st->takes))) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	for (i = 0; i < WIDGET_TAKES - 1; i++)
		if (st->takes[i].gen != st->cfg_gen)
			break;
	k = &st->takes[i];
	take_clear(k);
	if ((rc = by_public ? widget_find(t, id, &w) :
	    widget_load(t, id, &w)) < 0)
		return NULL;
	k->by_public = by_public;
	strlcpy(k->id, id, sizeof(k->id));
	k->found = rc == 0;
	k->result = ST_WS_OK;
	strlcpy(k->w.org, ST_WHO_ORG_DEFAULT, sizeof(k->w.org));
	if (rc == 0)
		take_widget(k, &w);
	if (rc == 0 && take_org(t, k) != 0)
		k->result = ST_WS_NO_WIDGET;
	/*
	 * Absent: a free name, answered by the default agent. A WebSocket
	 * begin checks identity itself (a verified visitor is let in).
	 */
	if (k->result == ST_WS_OK || (by_public &&
	    k->result == ST_WS_IDENTITY))
		store_begin_agent(t, rc == 0 ? &w : NULL, &k->agent);
	if (rc == 0)
		st_widget_free(&w);
	if (t->err) {
		take_clear(k);
		return NULL;
	}
	/*
	 * At cfg_gen 0 (a store never replayed nor written) it is not kept,
	 * nor a public id no widget has (anyone may send one).
	 */
	if (!by_public || k->found)
		k->gen = st->cfg_gen;
	return k;
}

int
store_ws_widget_take(struct store_txn *t, const char *widget_id,
    struct store_ws_widget *w, struct st_agent *agent)
{
	const struct widget_take *k;

	memset(w, 0, sizeof(*w));
	memset(agent, 0, sizeof(*agent));
	if (t->err)
		return -1;
	if (strlen(widget_id) > ST_WIDGET_MAX)
		return 1;
	if ((k = take_find(t->st, widget_id, 1)) == NULL &&
	    (k = take_load(t, widget_id, 1)) == NULL)
		return -1;
	if (!k->found || k->result == ST_WS_NO_WIDGET)
		return 1;
	if (st_agent_copy(agent, &k->agent) < 0) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	*w = k->w;
	return 0;
}

/*
 * Widget id's take, from the begins' cache or read (take_find,
 * take_load), *agent pointed at own zeroed. NULL when t failed, or for an
 * id no widget can have (read as absent, not kept: own is then the
 * deployment's agent).
 */
static const struct widget_take *
take_of(struct store_txn *t, const char *id, struct st_agent *own,
    const struct st_agent **agent)
{
	const struct widget_take *k;

	memset(own, 0, sizeof(*own));
	*agent = own;
	if (t->err)
		return NULL;
	if (strlen(id) > ST_WIDGET_MAX) {
		(void)store_begin_agent(t, NULL, own);
		return NULL;
	}
	if ((k = take_find(t->st, id, 0)) == NULL)
		k = take_load(t, id, 0);
	return k;
}

int
store_chat_widget_take(struct store_txn *t, const char *id, int *result,
    uint64_t *retry_ms, struct st_agent *own, const struct st_agent **agent,
    char org[ST_WHO_ORG_MAX + 1])
{
	const struct widget_take *k;
	int rc;

	*result = ST_WS_OK;
	*retry_ms = 0;
	strlcpy(org, ST_WHO_ORG_DEFAULT, ST_WHO_ORG_MAX + 1);
	if ((k = take_of(t, id, own, agent)) == NULL)
		return t->err;
	strlcpy(org, k->w.org, ST_WHO_ORG_MAX + 1);
	if ((*result = k->result) != ST_WS_OK)
		return 0;
	if (k->found && (rc = daily_take(t, &k->w, t->st->now(),
	    retry_ms)) != 0) {
		if (rc == 1)
			*result = ST_WS_CAPPED;
		return t->err;
	}
	/* Lent, not copied: a turn only reads it (every string a copy). */
	*agent = &k->agent;
	return 0;
}

int
store_chat_widget_agent(struct store_txn *t, const char *id, int *result,
    struct st_agent *own, const struct st_agent **agent)
{
	const struct widget_take *k;
	struct st_widget w;
	int rc;

	*result = ST_WS_OK;
	if ((k = take_of(t, id, own, agent)) == NULL)
		return t->err;
	if (k->result == ST_WS_NO_WIDGET)
		*result = ST_WS_NO_WIDGET;
	else if (k->result == ST_WS_OK)
		*agent = &k->agent;	/* lent, as store_chat_widget_take's */
	/* Verified visitors only: the take keeps no agent, so it is read. */
	else if ((rc = widget_load(t, id, &w)) == 0) {
		store_begin_agent(t, &w, own);
		st_widget_free(&w);
	} else if (rc == 1)
		store_begin_agent(t, NULL, own);
	return t->err;
}

int
store_chat_refused(int result)
{
	return result == ST_WS_CAPPED ? ST_CHAT_CAPPED :
	    result == ST_WS_IDENTITY ? ST_CHAT_IDENTITY : ST_CHAT_DISABLED;
}

/* ------------------------------------------------ its requests (optab.h) */

static int widget_do(struct store_txn *, const char *, uint16_t,
    const void *, void *, const char **);

/* The widget requests; their replies never carry a secret. */
static int
widget_run(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	struct st_widgets *l = rep;
	uint32_t i;

	if (widget_do(t, org, type, req, rep, gone) != 0)
		return t->err;
	if (type == PROTO_ST_WIDGET_LIST)
		for (i = 0; i < l->n; i++)
			st_widget_hide_secret(&l->widgets[i]);
	else if (type != PROTO_ST_WIDGET_DELETE &&
	    type != PROTO_ST_WIDGET_SECRET_SET)
		st_widget_hide_secret(rep);
	return 0;
}

static int
widget_do(struct store_txn *t, const char *org, uint16_t type,
    const void *req, void *rep, const char **gone)
{
	const struct st_widget_update_req *u = req;
	const struct st_id_req *q = req;
	struct st_widgets *l = rep;
	int off = 0;

	switch (type) {
	case PROTO_ST_WIDGET_CREATE:
		return store_widget_create(t, org, req, rep);
	case PROTO_ST_WIDGET_UPDATE:
		/* Turned off: its public id stops working. */
		if (store_widget_update(t, org, u->id, u->mask, &u->w, rep,
		    &off) == 0 && off)
			*gone = u->id;
		return t->err;
	case PROTO_ST_WIDGET_GET:
		return store_widget_get(t, org, q->id, rep);
	case PROTO_ST_WIDGET_RESET_ID:
		*gone = q->id;
		return store_widget_reset_id(t, org, q->id, rep);
	case PROTO_ST_WIDGET_LIST:
		return store_widget_list(t, org, &l->widgets, &l->n);
	case PROTO_ST_WIDGET_DELETE:
		*gone = q->id;
		return store_widget_delete(t, org, q->id);
	case PROTO_ST_WIDGET_SECRET_SET:
		return store_widget_secret_set(t, org, q->id,
		    ((struct st_secret_rep *)rep)->secret);
	case PROTO_ST_WIDGET_SECRET_DEL:
		return store_widget_secret_del(t, org, q->id, rep);
	}
	return store_fail(t, PROTO_E_UNSUPPORTED, "not a widget request");
}

const struct entity store_widget_entity = {
	PROTO_ST_WIDGET_CREATE, widget_invalid, widget_run
};
