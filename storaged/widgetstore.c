/*
 * Widgets and their daily caps (see STORAGE.md): the records, their
 * public ids and creation order, the CRUD behind the widget requests,
 * and the per-day count a chat turn takes against a widget's cap:
 *
 *	widgets          internal id -> widget (penc_widget)
 *	widget_ids       public widget_id -> internal id
 *	widget_order     u64 created_at | internal id -> (nothing); the
 *	                 default widget's created_at counts as 0
 *	daily            internal id NUL u32 UTC day -> u32 user messages
 *
 * A deleted widget's visitor sessions go in the sweep's batches (wsess.c
 * through wsess_gone); its day counts go with it.
 *
 * Every value starts with ST_RECORD_VERSION (widgets with
 * WIDGET_RECORD_VERSION; version 1 widgets still read: storeint.h).
 */
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "agentstore.h"
#include "log.h"
#include "random.h"
#include "storeint.h"
#include "widgetstore.h"

#define ORDER_KEY_MAX	(8 + ST_WIDGET_MAX)
#define DAILY_KEY_MAX	(ST_WIDGET_MAX + 1 + 4)

/* ---------------------------------------------------------------- records */

static void
widget_save(struct store_txn *t, const struct st_widget *w)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, WIDGET_RECORD_VERSION);
	penc_widget(&e, w);
	rec_put(t, t->st->widgets, w->id, strlen(w->id), &e, "put widget");
	penc_free(&e);
}

static int
widget_decode(struct store_txn *t, const MDB_val *v, struct st_widget *w)
{
	struct pdec d;
	uint8_t *buf = NULL;
	int ver, rc = 0;

	memset(w, 0, sizeof(*w));
	if ((ver = rec_open_ver(t, v, &d, WIDGET_RECORD_VERSION,
	    "widget")) < 0)
		return -1;
	if (ver == 1 && (buf = rec_pad(t, &d, WIDGET_V1_PAD)) == NULL)
		return -1;
	/* pdec_widget() leaves w empty when it fails. */
	if (pdec_widget(&d, w) < 0 || pdec_done(&d) < 0) {
		st_widget_free(w);
		rc = -1;
	}
	free(buf);
	if (rc < 0)
		rec_corrupt(t, "widget");
	return rc;
}

/* By internal id: 0 loaded, 1 absent, -1 error. */
int
widget_load(struct store_txn *t, const char *id, struct st_widget *w)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->widgets, id, strlen(id), &v,
	    "get widget")) != 0)
		return rc;
	return widget_decode(t, &v, w);
}

/* By public id: 0 loaded, 1 absent, -1 error. */
static int
widget_find(struct store_txn *t, const char *widget_id, struct st_widget *w)
{
	char id[ST_WIDGET_MAX + 1];
	MDB_val v;
	size_t n;
	int rc;

	if (widget_id[0] == '\0')
		return t->err ? -1 : 1;
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

static size_t
order_key(uint8_t k[ORDER_KEY_MAX], const struct st_widget *w)
{
	size_t n = strlen(w->id);

	/* The default widget leads the list whatever its clock said. */
	proto_put_be64(k, strcmp(w->id, ST_DEFAULT_WIDGET) == 0 ? 0 :
	    w->created_at);
	memcpy(k + 8, w->id, n);
	return 8 + n;
}

/* A public id no widget holds: "wid_" + 32 hex of 128 random bits. */
static int
widget_new_public(struct store_txn *t, char out[ST_WID_LEN + 1])
{
	uint8_t r[ID_LEN];
	MDB_val v;
	int i, rc;

	for (i = 0; i < 4; i++) {
		proto_random(r, sizeof(r));
		memcpy(out, ST_WID_PREFIX, 4);
		proto_hex_encode(r, sizeof(r), out + 4);
		rc = db_get(t, t->st->widget_ids, out, ST_WID_LEN, &v,
		    "get widget id");
		if (rc == 1)
			return 0;
		if (rc < 0)
			return -1;
	}
	log_warnx("widget ids keep colliding");
	store_fail(t, PROTO_E_INTERNAL, "no fresh id");
	return -1;
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
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	k.mv_size = plen;
	k.mv_data = (void *)prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
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

/* ---------------------------------------------------------------- widgets */

/* A new widget: its times, a fresh public id, the record and its indexes. */
static void
widget_add(struct store_txn *t, struct st_widget *w)
{
	uint8_t ok[ORDER_KEY_MAX];

	w->created_at = w->updated_at = t->st->now();
	if (widget_new_public(t, w->widget_id) == 0) {
		widget_save(t, w);
		widget_id_put(t, w);
		db_put(t, t->st->widget_order, ok, order_key(ok, w),
		    &rec_version, 1, "put widget order");
	}
}

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
	if ((w.name = strdup("Default")) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	widget_add(t, &w);
	if (t->err == 0)
		log_info("made the default widget, %s", w.widget_id);
	st_widget_free(&w);
	return t->err;
}

const struct store_module widgetstore_module = {
	.name = "widgets",
	.init = widgetstore_init,
};

/* The default agent is stored as "" ("default" in a request). */
static void
widget_agent_norm(struct st_widget *w)
{
	if (strcmp(w->agent_id, ST_AGENT_DEFAULT) == 0)
		w->agent_id[0] = '\0';
}

int
store_widget_create(struct store_txn *t, const struct st_widget *in,
    struct st_widget *out)
{
	struct st_widget w;
	uint8_t r[ID_LEN];
	const char *bad;
	MDB_stat ms;
	MDB_val v;
	int rc;

	if (t->err)
		return t->err;
	if ((bad = st_widget_invalid(in)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	if (store_agent_check(t, in->agent_id) != 0)
		return t->err;
	if ((rc = mdb_stat(t->txn, t->st->widgets, &ms)) != 0)
		return txn_lmdb(t, rc, "stat widgets");
	if (ms.ms_entries >= ST_WIDGETS_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "widgets: at most 1000");
	if (st_widget_copy(&w, in) < 0)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	widget_agent_norm(&w);
	/*
	 * 128 random bits: never "default", never an existing one, nor
	 * one whose sessions the sweep has yet to remove.
	 */
	do {
		proto_random(r, sizeof(r));
		proto_hex_encode(r, sizeof(r), w.id);
	} while (db_get(t, t->st->wsess_gone, w.id, strlen(w.id), &v,
	    "get deleted widget") == 0);
	widget_add(t, &w);
	if (t->err) {
		st_widget_free(&w);
		return t->err;
	}
	*out = w;
	return 0;
}

/* Loads the widget of a public id, or fails t with "not found". */
static int
widget_must(struct store_txn *t, const char *widget_id, struct st_widget *w)
{
	int rc;

	if ((rc = widget_find(t, widget_id, w)) == 1)
		store_fail(t, PROTO_E_NOT_FOUND, "no such widget");
	return rc == 0 ? 0 : -1;
}

#define SWAP(a, b) do {				\
	__typeof__(a) tmp_ = (a);		\
	(a) = (b);				\
	(b) = tmp_;				\
} while (0)

int
store_widget_update(struct store_txn *t, const char *widget_id,
    uint32_t mask, const struct st_widget *in, struct st_widget *out,
    int *disabled)
{
	struct st_widget cur, req;
	const char *bad;
	int was;

	if (t->err)
		return t->err;
	if (mask & ~(uint32_t)ST_WF_ALL)
		return store_fail(t, PROTO_E_INVALID, "mask: unknown fields");
	if (widget_must(t, widget_id, &cur) < 0)
		return t->err;
	if (st_widget_copy(&req, in) < 0) {
		st_widget_free(&cur);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	was = cur.enabled;
	/* Move the masked fields over; req frees what they replaced. */
	if (mask & ST_WF_NAME)
		SWAP(cur.name, req.name);
	if (mask & ST_WF_GREETING)
		SWAP(cur.greeting, req.greeting);
	if (mask & ST_WF_PRIMARY_COLOR)
		memcpy(cur.primary_color, req.primary_color,
		    sizeof(cur.primary_color));
	if (mask & ST_WF_TEXT_COLOR)
		memcpy(cur.text_color, req.text_color,
		    sizeof(cur.text_color));
	if (mask & ST_WF_POSITION)
		cur.position = req.position;
	if (mask & ST_WF_CONTACT_MODE)
		cur.contact_mode = req.contact_mode;
	if (mask & ST_WF_COLLECT_NAME)
		cur.collect_name = req.collect_name;
	if (mask & ST_WF_COLLECT_EMAIL)
		cur.collect_email = req.collect_email;
	if (mask & ST_WF_COLLECT_PHONE)
		cur.collect_phone = req.collect_phone;
	if (mask & ST_WF_ORIGINS) {
		SWAP(cur.origins, req.origins);
		SWAP(cur.norigins, req.norigins);
	}
	if (mask & ST_WF_DAILY_CAP)
		cur.daily_cap = req.daily_cap;
	if (mask & ST_WF_ENABLED)
		cur.enabled = req.enabled;
	if (mask & ST_WF_SYSTEM_PROMPT)
		SWAP(cur.system_prompt, req.system_prompt);
	if (mask & ST_WF_MODEL)
		SWAP(cur.model, req.model);
	if (mask & ST_WF_AGENT_ID)
		memcpy(cur.agent_id, req.agent_id, sizeof(cur.agent_id));
	if (mask & ST_WF_HANDOFF_ENABLED)
		cur.handoff_enabled = req.handoff_enabled;
	if (mask & ST_WF_HANDOFF_LABEL)
		SWAP(cur.handoff_label, req.handoff_label);
	st_widget_free(&req);
	widget_agent_norm(&cur);
	if ((bad = st_widget_invalid(&cur)) != NULL) {
		st_widget_free(&cur);
		return store_fail(t, PROTO_E_INVALID, bad);
	}
	if ((mask & ST_WF_AGENT_ID) && store_agent_check(t, cur.agent_id)) {
		st_widget_free(&cur);
		return t->err;
	}
	if (t->st->now() > cur.updated_at)
		cur.updated_at = t->st->now();
	widget_save(t, &cur);
	if (t->err) {
		st_widget_free(&cur);
		return t->err;
	}
	*disabled = was && !cur.enabled;
	*out = cur;
	return 0;
}

int
store_widget_get(struct store_txn *t, const char *widget_id,
    struct st_widget *out)
{
	if (t->err)
		return t->err;
	widget_must(t, widget_id, out);
	return t->err;
}

static int
widget_load_item(struct store_txn *t, const char *id, void *item)
{
	return widget_load(t, id, item);
}

int
store_widget_list(struct store_txn *t, struct st_widget **out, uint32_t *n)
{
	struct order_list o = {
		.index = t->st->widget_order,
		.what = "widget",
		.idmin = 1,
		.idmax = ST_WIDGET_MAX,
		.max = ST_WIDGETS_MAX,
		.size = sizeof(struct st_widget),
		.load = widget_load_item,
	};
	struct st_widget *ws;
	uint32_t cnt;

	if (t->err)
		return t->err;
	if ((ws = calloc(ST_WIDGETS_MAX, sizeof(*ws))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if (order_list(t, &o, ws, &cnt) != 0) {
		store_widgets_free(ws, cnt);
		return t->err;
	}
	*out = ws;
	*n = cnt;
	return 0;
}

int
store_widget_delete(struct store_txn *t, const char *widget_id)
{
	struct st_widget w;
	uint8_t ok[ORDER_KEY_MAX], pk[ST_WIDGET_MAX + 1];
	uint8_t *keys;
	size_t n, i, plen;

	if (t->err)
		return t->err;
	if (widget_must(t, widget_id, &w) < 0)
		return t->err;
	if (strcmp(w.id, ST_DEFAULT_WIDGET) == 0) {
		st_widget_free(&w);
		return store_fail(t, PROTO_E_INVALID,
		    "the default widget cannot be deleted");
	}
	db_del(t, t->st->widget_ids, w.widget_id, strlen(w.widget_id),
	    "delete widget id");
	db_del(t, t->st->widget_order, ok, order_key(ok, &w),
	    "delete widget order");
	db_del(t, t->st->widgets, w.id, strlen(w.id), "delete widget");

	/*
	 * Its sessions go in the sweep's small batches (store_wsess_sweep):
	 * already unusable, as they name a widget that is no more. Then
	 * its day counters.
	 */
	db_put(t, t->st->wsess_gone, w.id, strlen(w.id), &rec_version, 1,
	    "put deleted widget");
	plen = strlen(w.id) + 1;
	memcpy(pk, w.id, plen);		/* with its NUL */
	if (prefix_keys(t, t->st->daily, pk, plen, 4, &keys, &n) == 0) {
		for (i = 0; i < n; i++) {
			uint8_t dk[DAILY_KEY_MAX];

			memcpy(dk, pk, plen);
			memcpy(dk + plen, keys + i * 4, 4);
			db_del(t, t->st->daily, dk, plen + 4,
			    "delete day count");
		}
		free(keys);
	}
	st_widget_free(&w);
	return t->err;
}

int
store_widget_reset_id(struct store_txn *t, const char *widget_id,
    struct st_widget *out)
{
	struct st_widget w;

	if (t->err)
		return t->err;
	if (widget_must(t, widget_id, &w) < 0)
		return t->err;
	db_del(t, t->st->widget_ids, w.widget_id, strlen(w.widget_id),
	    "delete widget id");
	if (widget_new_public(t, w.widget_id) == 0) {
		if (t->st->now() > w.updated_at)
			w.updated_at = t->st->now();
		widget_id_put(t, &w);
		widget_save(t, &w);
	}
	if (t->err) {
		st_widget_free(&w);
		return t->err;
	}
	*out = w;
	return 0;
}

/* An enabled widget of this public id: 0, 1 when none, -1 error. */
int
widget_usable(struct store_txn *t, const char *widget_id, struct st_widget *w)
{
	int rc;

	if ((rc = widget_find(t, widget_id, w)) != 0)
		return rc;
	if (!w->enabled) {
		st_widget_free(w);
		return 1;
	}
	return 0;
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
	off = !w.enabled;
	st_widget_free(&w);
	return off;
}

void
store_widgets_free(struct st_widget *ws, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_widget_free(&ws[i]);
	free(ws);
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

/*
 * Counts one message against widget w's daily cap: 0 counted, 1 the cap
 * is reached (nothing counted; *retry_ms to the next UTC day), -1 error.
 */
int
daily_take(struct store_txn *t, const struct st_widget *w, uint64_t now,
    uint64_t *retry_ms)
{
	uint8_t dk[DAILY_KEY_MAX], dv[5];
	uint32_t day = (uint32_t)(now / DAY_MS), count = 0;
	size_t dklen;
	MDB_val v;
	int rc;

	dklen = daily_key(dk, w->id, day);
	if ((rc = db_get(t, t->st->daily, dk, dklen, &v, "get day count")) < 0)
		return -1;
	if (rc == 0) {
		if (v.mv_size != 5 ||
		    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
			log_warnx("day count: record not understood");
			store_fail(t, PROTO_E_INTERNAL, "unreadable record");
			return -1;
		}
		count = proto_get_be32((uint8_t *)v.mv_data + 1);
	}
	if (w->daily_cap != 0 && count >= w->daily_cap) {
		*retry_ms = (uint64_t)(day + 1) * DAY_MS - now;
		return 1;
	}
	dv[0] = ST_RECORD_VERSION;
	proto_put_be32(dv + 1, count < UINT32_MAX ? count + 1 : count);
	db_put(t, t->st->daily, dk, dklen, dv, sizeof(dv), "put day count");
	return t->err ? -1 : 0;
}

int
store_chat_widget_take(struct store_txn *t, const char *id, int *result,
    uint64_t *retry_ms, struct st_agent *agent)
{
	struct st_widget w;
	int rc;

	if (t->err)
		return t->err;
	*result = ST_WS_OK;
	*retry_ms = 0;
	if ((rc = widget_load(t, id, &w)) != 0) {
		if (rc < 0)
			return t->err;
		/* Absent: a free name, answered by the default agent. */
		return store_begin_agent(t, NULL, agent);
	}
	if (!w.enabled)
		*result = ST_WS_NO_WIDGET;
	else if ((rc = daily_take(t, &w, t->st->now(), retry_ms)) == 1)
		*result = ST_WS_CAPPED;
	else
		store_begin_agent(t, &w, agent);
	st_widget_free(&w);
	return t->err;
}
