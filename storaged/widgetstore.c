/*
 * Widgets, visitor sessions, contacts and daily caps (see STORAGE.md):
 *
 *	widgets          internal id -> widget (penc_widget)
 *	widget_ids       public widget_id -> internal id
 *	widget_order     u64 created_at | internal id -> (nothing); the
 *	                 default widget's created_at counts as 0
 *	wsessions        token hash[32] -> visitor session
 *	widget_wsess     internal id NUL token hash[32] -> (nothing)
 *	wsess_expiry     u64 expires_at | token hash[32] -> (nothing)
 *	wsess_gone       deleted widget's internal id -> (nothing), until
 *	                 the sweep has removed its sessions
 *	contacts         id[16] -> contact (penc_contact)
 *	contact_email    email -> id[16]
 *	contact_phone    phone -> id[16]
 *	contact_created  u64 created_at | id[16] -> (nothing)
 *	contact_convs    contact id[16] | conversation id[16] -> (nothing)
 *	                 when the link is verified, else u8 1, str name,
 *	                 str email, str phone (what the visitor submitted)
 *	daily            internal id NUL u32 UTC day -> u32 user messages
 *	wsess_claims     token hash[32] -> u32 submissions, str own (the
 *	                 contact the session made, hex or ""), u8 unverified,
 *	                 str name, str email, str phone (its last submission)
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
#define WSESS_KEY_MAX	(ST_WIDGET_MAX + 1 + ST_TOKEN_HASH_LEN)
#define DAILY_KEY_MAX	(ST_WIDGET_MAX + 1 + 4)
#define CC_KEY_LEN	(2 * ID_LEN)
#define CONTACT_KEY_LEN	INDEX_KEY_LEN
/* The meta record of the expiry index's one-time backfill. */
#define BACKFILL_KEY	"wsess_backfill"
/* The meta record of the sessions' move to their own namespace (once). */
#define WSNS_KEY	"wsess_namespace"
/* Outside the HTTP API's sessionId alphabet ([A-Za-z0-9._:-]). */
#define WS_SESSION_MARK	'~'

/* ---------------------------------------------------------------- records */

/*
 * Saves s under hash; its expiry entry moves from old_exp (0: none) to
 * s->expires_at (0: none).
 */
static void
wsess_save(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct store_wsess *s, uint64_t old_exp)
{
	uint8_t k[EXPIRY_KEY_LEN];
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_str(&e, s->id);
	penc_str(&e, s->widget);
	penc_u64(&e, s->created_at);
	penc_u64(&e, s->active_at);
	penc_str(&e, s->contact_id);
	penc_u64(&e, s->expires_at);
	rec_put(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN, &e,
	    "put visitor session");
	penc_free(&e);
	if (old_exp == s->expires_at)
		return;
	if (old_exp != 0) {
		expiry_key(k, old_exp, hash);
		db_del_quiet(t, t->st->wsess_expiry, k, sizeof(k),
		    "delete visitor session expiry");
	}
	if (s->expires_at != 0) {
		expiry_key(k, s->expires_at, hash);
		db_put(t, t->st->wsess_expiry, k, sizeof(k), &rec_version, 1,
		    "put visitor session expiry");
	}
}

/*
 * 0 loaded, 1 absent, -1 error. Records stored before the expiry index
 * end at contact_id: their expires_at reads 0.
 */
static int
wsess_load(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct store_wsess *s)
{
	struct pdec d;
	int rc;

	if ((rc = rec_get(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN, &d,
	    "visitor session")) != 0)
		return rc;
	memset(s, 0, sizeof(*s));
	pdec_strbuf(&d, s->id, sizeof(s->id));
	pdec_strbuf(&d, s->widget, sizeof(s->widget));
	s->created_at = pdec_u64(&d);
	s->active_at = pdec_u64(&d);
	pdec_strbuf(&d, s->contact_id, sizeof(s->contact_id));
	if (!d.err && d.off < d.len)
		s->expires_at = pdec_u64(&d);
	if (pdec_done(&d) < 0) {
		rec_corrupt(t, "visitor session");
		return -1;
	}
	return 0;
}

static size_t
wsess_key(uint8_t k[WSESS_KEY_MAX], const char *widget,
    const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	size_t n = strlen(widget);

	memcpy(k, widget, n);
	k[n] = '\0';
	memcpy(k + n + 1, hash, ST_TOKEN_HASH_LEN);
	return n + 1 + ST_TOKEN_HASH_LEN;
}

/* A session's contact submissions (wsess_claims). */
struct claim {
	uint32_t count;			/* submissions stored */
	char own[ST_ID_HEX + 1];	/* the contact it made, "" = none */
	int unverified;			/* its contact is one it did not make */
	char *name, *email, *phone;	/* its last submission, normalised */
};

static void
claim_free(struct claim *cl)
{
	free(cl->name);
	free(cl->email);
	free(cl->phone);
	memset(cl, 0, sizeof(*cl));
}

/* 0 loaded, 1 absent (cl zeroed), -1 error. */
static int
claim_load(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct claim *cl)
{
	struct pdec d;
	int rc;

	memset(cl, 0, sizeof(*cl));
	if ((rc = rec_get(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &d,
	    "contact claim")) != 0)
		return rc;
	cl->count = pdec_u32(&d);
	pdec_strbuf(&d, cl->own, sizeof(cl->own));
	cl->unverified = pdec_u8(&d) != 0;
	cl->name = pdec_strdup(&d, 4 * ST_CONTACT_NAME_MAX);
	cl->email = pdec_strdup(&d, ST_EMAIL_MAX);
	cl->phone = pdec_strdup(&d, ST_PHONE_MAX);
	if (pdec_done(&d) < 0) {
		claim_free(cl);
		rec_corrupt(t, "contact claim");
		return -1;
	}
	return 0;
}

static void
claim_save(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct claim *cl)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_u32(&e, cl->count);
	penc_str(&e, cl->own);
	penc_u8(&e, (uint8_t)cl->unverified);
	penc_str(&e, cl->name);
	penc_str(&e, cl->email);
	penc_str(&e, cl->phone);
	rec_put(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &e,
	    "put contact claim");
	penc_free(&e);
}

/*
 * The contact_convs entry of (contact, conversation): the version byte
 * alone when verified, else what the visitor submitted (cl).
 */
static void
link_put(struct store_txn *t, const uint8_t key[CC_KEY_LEN],
    const struct claim *cl)
{
	struct penc e;

	if (cl == NULL || !cl->unverified) {
		db_put(t, t->st->contact_convs, key, CC_KEY_LEN, &rec_version,
		    1, "put contact conversation");
		return;
	}
	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_u8(&e, 1);
	penc_str(&e, cl->name);
	penc_str(&e, cl->email);
	penc_str(&e, cl->phone);
	rec_put(t, t->st->contact_convs, key, CC_KEY_LEN, &e,
	    "put contact conversation");
	penc_free(&e);
}

/* The session s stored under hash, and its index entries. */
static void
wsess_delete(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct store_wsess *s)
{
	uint8_t k[WSESS_KEY_MAX];
	MDB_val v;

	if (db_get(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &v,
	    "get contact claim") == 0)
		db_del(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN,
		    "delete contact claim");
	db_del(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN,
	    "delete visitor session");
	db_del_quiet(t, t->st->widget_wsess, k, wsess_key(k, s->widget, hash),
	    "delete widget session");
	if (s->expires_at != 0) {
		expiry_key(k, s->expires_at, hash);
		db_del_quiet(t, t->st->wsess_expiry, k, EXPIRY_KEY_LEN,
		    "delete visitor session expiry");
	}
}

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

static void
contact_save(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct st_contact *c)
{
	struct penc e;

	if (t->err)
		return;
	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_contact(&e, c);
	rec_put(t, t->st->contacts, id, ID_LEN, &e, "put contact");
	penc_free(&e);
}

/* 0 loaded, 1 absent, -1 error. */
static int
contact_load(struct store_txn *t, const uint8_t id[ID_LEN],
    struct st_contact *c)
{
	struct pdec d;
	int rc;

	if ((rc = rec_get(t, t->st->contacts, id, ID_LEN, &d,
	    "contact")) != 0)
		return rc;
	if (pdec_contact(&d, c) < 0 || pdec_done(&d) < 0) {
		st_contact_free(c);
		rec_corrupt(t, "contact");
		return -1;
	}
	return 0;
}

/* An index value that is a 16-byte id: 0 found, 1 absent, -1 error. */
static int
id_index_get(struct store_txn *t, MDB_dbi dbi, const char *k,
    uint8_t id[ID_LEN], const char *what)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, dbi, k, strlen(k), &v, what)) != 0)
		return rc;
	if (v.mv_size != 1 + ID_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		log_warnx("%s: record not understood", what);
		store_fail(t, PROTO_E_INTERNAL, "unreadable record");
		return -1;
	}
	memcpy(id, (uint8_t *)v.mv_data + 1, ID_LEN);
	return 0;
}

static void
id_index_put(struct store_txn *t, MDB_dbi dbi, const char *k,
    const uint8_t id[ID_LEN], const char *what)
{
	uint8_t v[1 + ID_LEN];

	v[0] = ST_RECORD_VERSION;
	memcpy(v + 1, id, ID_LEN);
	db_put(t, dbi, k, strlen(k), v, sizeof(v), what);
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

static int backfill_init(struct store_txn *);
static int wsess_namespace_init(struct store_txn *);
static int keys_from(struct store_txn *, MDB_dbi, const void *, size_t, int,
    size_t, size_t, uint8_t *, uint32_t, uint32_t *);

static int
widgetstore_init(struct store_txn *t)
{
	struct st_widget w;
	int rc;

	t->st->wsess_new_max = ST_NEW_SESSIONS_PER_MIN;
	if (backfill_init(t) != 0 || wsess_namespace_init(t) != 0)
		return t->err;
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

/* ---------------------------------------------------------------- sessions */

static uint64_t
idle_or_default(uint64_t idle_ms)
{
	return idle_ms != 0 ? idle_ms : ST_SESSION_IDLE_MS;
}

static int
wsess_live(const struct store_wsess *s, uint64_t now, uint64_t idle_ms)
{
	return now < s->active_at || now - s->active_at <= idle_ms;
}

/* s was active now: its activity time and expiry move, then it is saved. */
static void
wsess_touch(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct store_wsess *s, uint64_t now, uint64_t idle_ms)
{
	uint64_t old_exp = s->expires_at;

	if (now > s->active_at)
		s->active_at = now;
	s->expires_at = s->active_at + idle_or_default(idle_ms);
	wsess_save(t, hash, s, old_exp);
}

/*
 * A new session of widget (internal id) under hash, into *s: its record,
 * its widget's index entry and its expiry. 0, or -1 with t failed.
 */
static int
wsess_create(struct store_txn *t, const char *widget,
    const uint8_t hash[ST_TOKEN_HASH_LEN], uint64_t idle_ms,
    struct store_wsess *s)
{
	uint8_t k[WSESS_KEY_MAX], r[ID_LEN];

	memset(s, 0, sizeof(*s));
	proto_random(r, sizeof(r));
	s->id[0] = WS_SESSION_MARK;
	proto_hex_encode(r, sizeof(r), s->id + 1);
	strlcpy(s->widget, widget, sizeof(s->widget));
	s->created_at = t->st->now();
	wsess_touch(t, hash, s, s->created_at, idle_ms);
	db_put(t, t->st->widget_wsess, k, wsess_key(k, widget, hash),
	    &rec_version, 1, "put widget session");
	return t->err ? -1 : 0;
}

int
store_wsess_exists(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->wsessions, hash, ST_TOKEN_HASH_LEN, &v,
	    "get visitor session")) < 0)
		return -1;
	return rc == 0;
}

void
store_wsess_settings(struct store *st, uint64_t idle_ms, uint32_t new_per_min)
{
	st->wsess_idle_ms = idle_ms;
	st->wsess_new_max = new_per_min;
}

uint32_t
store_wsess_new_max(const struct store *st)
{
	return st->wsess_new_max;
}

/* An enabled widget of this public id: 0, 1 when none, -1 error. */
static int
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

/*
 * A resumed session's history into o (conv_id, history, n, more): its
 * conversation's newest messages, at most history_max of them and at most
 * ST_WS_HISTORY_BYTES (or max_bytes if less) of records, read newest first
 * so that a long conversation costs no more than what is sent.
 */
static void
ws_history(struct store_txn *t, const char *widget, const char *session,
    uint32_t history_max, size_t max_bytes, struct store_ws_open *o)
{
	uint8_t cid[ID_LEN];
	struct st_conv c;

	if (sess_conv_id(t, widget, session, cid) != 0)
		return;
	proto_hex_encode(cid, ID_LEN, o->conv_id);
	/* The widget shows who answers: the model, or a person. */
	if (conv_load(t, cid, &c) == 0) {
		o->handoff = c.handoff;
		st_conv_free(&c);
	}
	if (max_bytes == 0 || max_bytes > ST_WS_HISTORY_BYTES)
		max_bytes = ST_WS_HISTORY_BYTES;
	msgs_newest(t, cid, history_max, max_bytes, &o->history, &o->n,
	    &o->more);
}

int
store_ws_open(struct store_txn *t, const char *widget_id, const char *origin,
    const uint8_t *token_hash, const uint8_t *new_hash, uint64_t idle_ms,
    uint32_t history_max, size_t max_bytes, struct store_ws_open *out)
{
	struct store_ws_open o;
	struct store_wsess s;
	uint64_t now = t->st->now();
	int rc;

	if (t->err)
		return t->err;
	memset(&o, 0, sizeof(o));
	if ((rc = widget_usable(t, widget_id, &o.widget)) < 0)
		return t->err;
	if (rc == 1) {
		o.result = ST_WS_NO_WIDGET;
		*out = o;
		return 0;
	}
	if (!st_origin_allowed(&o.widget, origin)) {
		st_widget_free(&o.widget);
		o.result = ST_WS_ORIGIN;
		*out = o;
		return 0;
	}
	idle_ms = idle_or_default(idle_ms);

	if (token_hash != NULL &&
	    (rc = wsess_load(t, token_hash, &s)) == 0 &&
	    strcmp(s.widget, o.widget.id) == 0) {
		if (wsess_live(&s, now, idle_ms)) {
			o.resumed = 1;
			wsess_touch(t, token_hash, &s, now, idle_ms);
			o.contact_submitted = s.contact_id[0] != '\0';
			ws_history(t, o.widget.id, s.id, history_max,
			    max_bytes, &o);
		} else	/* Expired: it goes, and a new one takes over. */
			wsess_delete(t, token_hash, &s);
	}
	/* Not resumed: new_hash is stored only with the first message. */
	if (!o.resumed && t->err == 0 && store_wsess_exists(t, new_hash) == 1)
		store_fail(t, PROTO_E_INVALID,
		    "new_hash: names a session already");
	if (t->err) {
		store_ws_open_free(&o);
		return t->err;
	}
	o.result = ST_WS_OK;
	*out = o;
	return 0;
}

int
store_ws_begin_check(struct store_txn *t, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], uint64_t idle_ms,
    int create, struct store_ws_begin *out)
{
	struct store_ws_begin b;
	int rc;

	if (t->err)
		return t->err;
	memset(&b, 0, sizeof(b));
	memcpy(b.token_hash, token_hash, ST_TOKEN_HASH_LEN);
	if ((rc = widget_usable(t, widget_id, &b.widget)) < 0)
		return t->err;
	if (rc == 1) {
		b.result = ST_WS_NO_WIDGET;
		*out = b;
		return 0;
	}
	if ((rc = wsess_load(t, token_hash, &b.sess)) < 0) {
		st_widget_free(&b.widget);
		return t->err;
	}
	b.idle_ms = idle_ms;
	/* A new visitor's first message: the run makes its session. */
	if (rc == 1 && create) {
		b.creating = 1;
		strlcpy(b.sess.widget, b.widget.id, sizeof(b.sess.widget));
	}
	if (!b.creating && (rc == 1 || strcmp(b.sess.widget,
	    b.widget.id) != 0 || !wsess_live(&b.sess, t->st->now(),
	    idle_or_default(idle_ms))))
		b.result = ST_WS_NO_SESSION;
	else if (b.widget.contact_mode == ST_CONTACT_REQUIRED &&
	    b.sess.contact_id[0] == '\0')
		b.result = ST_WS_CONTACT;
	else
		b.result = ST_WS_OK;
	if (b.result != ST_WS_OK)
		st_widget_free(&b.widget);
	*out = b;
	return 0;
}

int
store_ws_conv(struct store_txn *t, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], int *result,
    struct st_conv *conv, uint8_t cid[ID_LEN])
{
	struct st_widget w;
	struct store_wsess s;
	int rc;

	if (t->err)
		return t->err;
	if ((rc = widget_usable(t, widget_id, &w)) != 0) {
		*result = ST_WS_NO_WIDGET;
		return t->err;
	}
	if ((rc = wsess_load(t, token_hash, &s)) < 0) {
		st_widget_free(&w);
		return t->err;
	}
	if (rc == 1 || strcmp(s.widget, w.id) != 0 || !wsess_live(&s,
	    t->st->now(), idle_or_default(t->st->wsess_idle_ms)))
		*result = ST_WS_NO_SESSION;
	else if ((rc = sess_conv_id(t, w.id, s.id, cid)) == 1)
		*result = ST_WS_NO_CONV;
	else if (rc == 0 && conv_get(t, cid, conv) == 0)
		*result = ST_WS_OK;
	st_widget_free(&w);
	return t->err;
}

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
 * A conversation just made for a session with a contact: its link says
 * what the session's claim says (conv_open_contact made it verified).
 */
static void
claim_link_conv(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct store_wsess *s, const struct st_conv *conv)
{
	uint8_t key[CC_KEY_LEN];
	struct claim cl;

	if (s->contact_id[0] == '\0' || claim_load(t, hash, &cl) != 0)
		return;
	if (cl.unverified &&
	    proto_hex_decode(s->contact_id, key, ID_LEN) == 0 &&
	    proto_hex_decode(conv->id, key + ID_LEN, ID_LEN) == 0)
		link_put(t, key, &cl);
	claim_free(&cl);
}

/*
 * Counts one message against widget w's daily cap: 0 counted, 1 the cap
 * is reached (nothing counted; *retry_ms to the next UTC day), -1 error.
 */
static int
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

int
store_ws_begin_run(struct store_txn *t, struct store_ws_begin *b,
    const char *content, uint32_t history_max, size_t max_bytes)
{
	uint64_t now = t->st->now();
	int rc;

	if (t->err)
		return t->err;
	if ((rc = daily_take(t, &b->widget, now, &b->retry_after_ms)) < 0)
		return t->err;
	if (rc == 1) {
		b->result = ST_WS_CAPPED;
		st_widget_free(&b->widget);
		return 0;
	}
	/* The session is stored with its first message, or not at all. */
	if (b->creating && wsess_create(t, b->widget.id, b->token_hash,
	    b->idle_ms, &b->sess) < 0)
		return t->err;
	if (chat_begin_contact(t, b->widget.id, b->sess.id,
	    b->sess.contact_id, content, history_max, max_bytes,
	    &b->chat) != 0)
		return t->err;
	if (b->chat.created)
		claim_link_conv(t, b->token_hash, &b->sess, &b->chat.conv);
	/* A visitor who chats is active. */
	if (now > b->sess.active_at)
		wsess_touch(t, b->token_hash, &b->sess, now, b->idle_ms);
	if (t->err) {
		store_chat_free(&b->chat);
		return t->err;
	}
	return 0;
}

/* ---------------------------------------------------------------- sweep */

/*
 * The backfill's record in meta: version byte, u8 done, then the token
 * hash indexed last (none before the first batch). Written at the first
 * open of a data directory that predates the index: done at once when it
 * holds no visitor session.
 */
static int
backfill_init(struct store_txn *t)
{
	uint8_t rec[2];
	MDB_stat ms;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY),
	    &v, "get backfill")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = mdb_stat(t->txn, t->st->wsessions, &ms)) != 0)
		return txn_lmdb(t, rc, "stat visitor sessions");
	rec[0] = ST_RECORD_VERSION;
	rec[1] = ms.ms_entries == 0;
	db_put(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), rec,
	    sizeof(rec), "put backfill");
	if (ms.ms_entries > 0)
		log_info("%zu visitor sessions predate their expiry index: "
		    "indexing them in batches", ms.ms_entries);
	return t->err;
}

/*
 * One session made before the namespace: its id and its conversation's
 * session become WS_SESSION_MARK and the same digits, the sessions index
 * with them.
 */
static void
wsess_rename(struct store_txn *t, const uint8_t *hash, struct store_wsess *s)
{
	uint8_t skey[SESS_KEY_MAX], cid[ID_LEN], val[1 + ID_LEN];
	char id[sizeof(s->id)];
	struct st_conv c;
	size_t klen;

	id[0] = WS_SESSION_MARK;
	strlcpy(id + 1, s->id, sizeof(id) - 1);
	if (sess_conv_id(t, s->widget, s->id, cid) == 0 &&
	    conv_load(t, cid, &c) == 0) {
		/* The sessions entry under the new name: the same id. */
		val[0] = ST_RECORD_VERSION;
		memcpy(val + 1, cid, ID_LEN);
		if (sess_key(t, s->widget, s->id, skey, &klen) == 0)
			db_del(t, t->st->sessions, skey, klen, "del session");
		if (sess_key(t, s->widget, id, skey, &klen) == 0)
			db_put(t, t->st->sessions, skey, klen, val,
			    sizeof(val), "put session");
		strlcpy(c.session, id, sizeof(c.session));
		conv_save(t, cid, &c);
		st_conv_free(&c);
	}
	strlcpy(s->id, id, sizeof(s->id));
	wsess_save(t, hash, s, s->expires_at);
}

/*
 * Visitor sessions stored before issue 20 named their conversations by 32
 * hex digits, a sessionId the HTTP API accepts too: anyone who read one
 * in an export could open the conversation. Each is renamed once, at
 * start, in this one txn.
 */
static int
wsess_namespace_init(struct store_txn *t)
{
	static const uint8_t done = ST_RECORD_VERSION;
	struct store_wsess s;
	uint8_t *hashes = NULL;
	uint32_t n = 0, i, moved = 0;
	MDB_stat ms;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, WSNS_KEY, strlen(WSNS_KEY), &v,
	    "get session namespace")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = mdb_stat(t->txn, t->st->wsessions, &ms)) != 0)
		return txn_lmdb(t, rc, "stat visitor sessions");
	if (ms.ms_entries > 0 && ((hashes = malloc(ms.ms_entries *
	    (size_t)ST_TOKEN_HASH_LEN)) == NULL))
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	/* The keys first: the records change under a cursor otherwise. */
	if (ms.ms_entries > 0 && keys_from(t, t->st->wsessions, NULL, 0, 0, 0,
	    ST_TOKEN_HASH_LEN, hashes, (uint32_t)ms.ms_entries, &n) < 0)
		goto out;
	for (i = 0; i < n && t->err == 0; i++) {
		const uint8_t *h = hashes + (size_t)i * ST_TOKEN_HASH_LEN;

		if (wsess_load(t, h, &s) != 0 || s.id[0] == WS_SESSION_MARK)
			continue;
		wsess_rename(t, h, &s);
		moved++;
	}
	db_put(t, t->st->meta, WSNS_KEY, strlen(WSNS_KEY), &done, 1,
	    "put session namespace");
	if (moved > 0 && t->err == 0)
		log_info("visitor sessions: %u moved to their own namespace",
		    moved);
out:
	free(hashes);
	return t->err;
}

/* What a sweep step may still do. */
struct budget {
	uint32_t left;
	uint64_t deadline_us;
};

static int
budget_spent(struct budget *b)
{
	if (b->left > 0 && b->deadline_us != 0 &&
	    proto_mono_us() >= b->deadline_us)
		b->left = 0;
	return b->left == 0;
}

/*
 * Up to max keys of dbi, from the first at or past from (flen bytes, 0:
 * the first key; after: past it), while they start with the first plen
 * bytes of from; keys of another length than keylen are passed over.
 * Copied into keys (max x keylen). 0, or -1 with t failed.
 */
static int
keys_from(struct store_txn *t, MDB_dbi dbi, const void *from, size_t flen,
    int after, size_t plen, size_t keylen, uint8_t *keys, uint32_t max,
    uint32_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if (t->err)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return -1;
	}
	k.mv_size = flen;
	k.mv_data = (void *)from;
	rc = mdb_cursor_get(cur, &k, &v, flen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	if (rc == 0 && after && k.mv_size == flen &&
	    memcmp(k.mv_data, from, flen) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && *n < max && k.mv_size >= plen &&
	    (plen == 0 || memcmp(k.mv_data, from, plen) == 0)) {
		if (k.mv_size == keylen)
			memcpy(keys + (size_t)(*n)++ * keylen, k.mv_data,
			    keylen);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk visitor sessions");
	return t->err ? -1 : 0;
}

/* Sessions stored before the expiry index get their entry. */
static void
sweep_backfill(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct store_wsess s;
	uint8_t rec[2 + ST_TOKEN_HASH_LEN];
	const uint8_t *from = NULL, *p = NULL;
	size_t flen = 0;
	uint32_t n, i;
	MDB_val v;

	if (db_get(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), &v,
	    "get backfill") != 0)
		return;
	p = v.mv_data;
	if ((v.mv_size != 2 && v.mv_size != sizeof(rec)) ||
	    p[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "backfill");
		return;
	}
	if (p[1])
		return;
	if (v.mv_size == sizeof(rec)) {
		memcpy(rec + 2, p + 2, ST_TOKEN_HASH_LEN);
		from = rec + 2;
		flen = ST_TOKEN_HASH_LEN;
	}
	if (keys_from(t, t->st->wsessions, from, flen, 1, 0,
	    ST_TOKEN_HASH_LEN, keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		p = keys + (size_t)i * ST_TOKEN_HASH_LEN;
		if (wsess_load(t, p, &s) != 0 || s.expires_at != 0)
			continue;
		s.expires_at = s.active_at + idle_or_default(
		    t->st->wsess_idle_ms);
		wsess_save(t, p, &s, 0);
		out->indexed++;
	}
	rec[0] = ST_RECORD_VERSION;
	rec[1] = i == n && b->left > 0;		/* walked to the end */
	if (i > 0)
		memcpy(rec + 2, keys + (size_t)(i - 1) * ST_TOKEN_HASH_LEN,
		    ST_TOKEN_HASH_LEN);
	db_put(t, t->st->meta, BACKFILL_KEY, strlen(BACKFILL_KEY), rec,
	    rec[1] || (i == 0 && from == NULL) ? 2 : sizeof(rec),
	    "put backfill");
	if (rec[1])
		log_info("visitor sessions: expiry index complete");
	else
		out->more = 1;
}

/* The sessions of the first deleted widget in wsess_gone. */
static void
sweep_gone(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct store_wsess s;
	uint8_t pk[ST_WIDGET_MAX + 1];
	const uint8_t *k;
	MDB_cursor *cur;
	MDB_val gk, gv;
	size_t plen;
	uint32_t n, i;
	int rc;

	if (t->err || b->left == 0)
		return;
	if ((rc = mdb_cursor_open(t->txn, t->st->wsess_gone, &cur)) != 0) {
		txn_lmdb(t, rc, "cursor");
		return;
	}
	plen = 0;
	rc = mdb_cursor_get(cur, &gk, &gv, MDB_FIRST);
	if (rc == 0 && gk.mv_size > 0 && gk.mv_size <= ST_WIDGET_MAX) {
		plen = gk.mv_size + 1;
		memcpy(pk, gk.mv_data, gk.mv_size);
		pk[gk.mv_size] = '\0';
	} else if (rc == 0) {
		log_warnx("deleted widgets: key of %zu bytes", gk.mv_size);
		/* No session has such an id. */
		rc = db_cursor_del(t, cur, t->st->wsess_gone, &gk);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk deleted widgets");
	if (plen == 0) {
		if (rc == 0)
			out->more = 1;
		return;
	}
	if (keys_from(t, t->st->widget_wsess, pk, plen, 0, plen,
	    plen + ST_TOKEN_HASH_LEN, keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		k = keys + (size_t)i * (plen + ST_TOKEN_HASH_LEN);
		if ((rc = wsess_load(t, k + plen, &s)) == 0 &&
		    strcmp(s.widget, (const char *)pk) == 0)
			wsess_delete(t, k + plen, &s);
		else if (rc >= 0)	/* an entry left alone */
			db_del_quiet(t, t->st->widget_wsess, k,
			    plen + ST_TOKEN_HASH_LEN, "delete widget session");
		out->gone++;
	}
	/* Every session of it gone: so is its entry. */
	if (i == n && b->left > 0)
		db_del(t, t->st->wsess_gone, pk, plen - 1,
		    "delete deleted widget");
	out->more = 1;
}

/* Sessions whose expiry has passed, oldest first. */
static void
sweep_expired(struct store_txn *t, struct budget *b, uint8_t *keys,
    struct store_sweep *out)
{
	struct store_wsess s;
	const uint8_t *k;
	uint64_t now = t->st->now(), at;
	uint32_t n, i;
	int rc;

	if (t->err || b->left == 0)
		return;
	if (keys_from(t, t->st->wsess_expiry, NULL, 0, 0, 0, EXPIRY_KEY_LEN,
	    keys, b->left, &n) < 0)
		return;
	for (i = 0; i < n && !budget_spent(b) && !t->err; i++, b->left--) {
		k = keys + (size_t)i * EXPIRY_KEY_LEN;
		if ((at = proto_get_be64(k)) > now)
			return;
		if ((rc = wsess_load(t, k + 8, &s)) == 0 &&
		    s.expires_at == at) {
			wsess_delete(t, k + 8, &s);
			out->expired++;
		} else if (rc >= 0)	/* a stale entry */
			db_del_quiet(t, t->st->wsess_expiry, k, EXPIRY_KEY_LEN,
			    "delete visitor session expiry");
	}
	if (i == n && n > 0)
		out->more = 1;
}

int
store_wsess_sweep(struct store_txn *t, uint32_t max, uint64_t deadline_us,
    struct store_sweep *out)
{
	struct budget b = { max, deadline_us };
	struct store_sweep o;
	uint8_t *keys;

	if (t->err)
		return t->err;
	memset(&o, 0, sizeof(o));
	if (max == 0)
		return store_fail(t, PROTO_E_INVALID, "max must be at least 1");
	/* Room for max keys of the longest kind (widget_wsess's). */
	if ((keys = calloc(max, WSESS_KEY_MAX)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	sweep_backfill(t, &b, keys, &o);
	sweep_gone(t, &b, keys, &o);
	sweep_expired(t, &b, keys, &o);
	free(keys);
	if (b.left == 0)
		o.more = 1;
	if (t->err)
		return t->err;
	*out = o;
	return 0;
}

/* ---------------------------------------------------------------- contacts */

const char *
store_contact_invalid(const char *name, const char *email, const char *phone)
{
	char norm[ST_PHONE_MAX + 1];
	size_t n = strlen(name), i, chars = 0, k;

	if (name[0] == '\0' && email[0] == '\0' && phone[0] == '\0')
		return "contact: give a name, an email or a phone";
	for (i = 0; i < n; i += k, chars++)
		if ((k = proto_utf8_seq_len((const unsigned char *)name + i,
		    n - i)) == 0 || chars >= ST_CONTACT_NAME_MAX)
			return "name: must be at most 200 characters of UTF-8";
	if (email[0] != '\0' && !st_email_valid(email))
		return "email: not a valid address";
	if (phone[0] != '\0' && (strlen(phone) > ST_PHONE_MAX ||
	    st_phone_norm(phone, norm, sizeof(norm)) < 0))
		return "phone: must be 7 to 15 digits";
	return NULL;
}

/* Replaces *field with a copy of val. 0, or -1 with t failed. */
static int
set_field(struct store_txn *t, char **field, const char *val)
{
	char *p;

	if ((p = strdup(val)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	free(*field);
	*field = p;
	return 0;
}

/*
 * Points conversation cid at contact id (hex), moving its link; the link
 * says what cl says (verified or not, and what was submitted).
 */
static void
conv_link(struct store_txn *t, const uint8_t cid[ID_LEN], const char *id,
    const struct claim *cl)
{
	struct st_conv c;
	uint8_t key[CC_KEY_LEN];
	MDB_val v;
	int rc;

	if ((rc = conv_load(t, cid, &c)) != 0) {
		if (rc == 1) {
			log_warnx("session index names a missing "
			    "conversation");
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		return;
	}
	if (strcmp(c.contact_id, id) != 0) {
		memcpy(key + ID_LEN, cid, ID_LEN);
		if (c.contact_id[0] != '\0' &&
		    proto_hex_decode(c.contact_id, key, ID_LEN) == 0 &&
		    db_get(t, t->st->contact_convs, key, sizeof(key), &v,
		    "get contact conversation") == 0)
			db_del(t, t->st->contact_convs, key, sizeof(key),
			    "delete contact conversation");
		strlcpy(c.contact_id, id, sizeof(c.contact_id));
		conv_save(t, cid, &c);
	}
	memcpy(key + ID_LEN, cid, ID_LEN);
	if (proto_hex_decode(id, key, ID_LEN) == 0)
		link_put(t, key, cl);
	st_conv_free(&c);
}

/* The contact of id, or a new one when none matched (isnew). */
static int
contact_resolve(struct store_txn *t, int erc, const uint8_t eid[ID_LEN],
    int prc, const uint8_t pid[ID_LEN], uint8_t id[ID_LEN],
    struct st_contact *c, int *isnew)
{
	uint8_t ck[CONTACT_KEY_LEN];
	int rc;

	memset(c, 0, sizeof(*c));
	*isnew = 0;
	if (erc == 0 || prc == 0) {
		memcpy(id, erc == 0 ? eid : pid, ID_LEN);
		if ((rc = contact_load(t, id, c)) == 1) {
			log_warnx("contact index names a missing contact");
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		return rc == 0 ? 0 : -1;
	}
	*isnew = 1;
	proto_random(id, ID_LEN);
	proto_hex_encode(id, ID_LEN, c->id);
	c->created_at = c->updated_at = t->st->now();
	if (set_field(t, &c->name, "") < 0 || set_field(t, &c->email, "") < 0 ||
	    set_field(t, &c->phone, "") < 0) {
		st_contact_free(c);
		return -1;
	}
	proto_put_be64(ck, c->created_at);
	memcpy(ck + 8, id, ID_LEN);
	db_put(t, t->st->contact_created, ck, sizeof(ck), &rec_version, 1,
	    "put contact created");
	return t->err ? -1 : 0;
}

/* The claim records this submission (normalised fields). */
static int
claim_note(struct store_txn *t, struct claim *cl, const char *name,
    const char *email, const char *phone)
{
	cl->count++;
	if (set_field(t, &cl->name, name) < 0 ||
	    set_field(t, &cl->email, email) < 0 ||
	    set_field(t, &cl->phone, phone) < 0)
		return -1;
	return 0;
}

int
store_contact_submit(struct store_txn *t, const char *widget_id,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], const char *name,
    const char *in_email, const char *in_phone, int *result,
    struct st_contact *out)
{
	struct st_widget w;
	struct store_wsess s;
	struct st_contact c;
	struct claim cl;
	char email[ST_EMAIL_MAX + 1], phone[ST_PHONE_MAX + 1];
	uint8_t eid[ID_LEN], pid[ID_LEN], id[ID_LEN], cid[ID_LEN];
	const char *bad;
	int erc = 1, prc = 1, rc, changed = 0, isnew = 0, own;
	size_t i;

	if (t->err)
		return t->err;
	if ((bad = store_contact_invalid(name, in_email, in_phone)) != NULL)
		return store_fail(t, PROTO_E_INVALID, bad);
	strlcpy(email, in_email, sizeof(email));
	for (i = 0; email[i] != '\0'; i++)
		if (email[i] >= 'A' && email[i] <= 'Z')
			email[i] += 'a' - 'A';
	phone[0] = '\0';
	if (in_phone[0] != '\0')
		st_phone_norm(in_phone, phone, sizeof(phone));

	if ((rc = widget_usable(t, widget_id, &w)) < 0)
		return t->err;
	if (rc == 1) {
		*result = ST_WS_NO_WIDGET;
		return 0;
	}
	rc = wsess_load(t, token_hash, &s);
	/* A new visitor's first contact submission stores its session. */
	if (rc == 1 && wsess_create(t, w.id, token_hash, t->st->wsess_idle_ms,
	    &s) == 0)
		rc = 0;
	if (rc != 0 || strcmp(s.widget, w.id) != 0) {
		st_widget_free(&w);
		if (rc < 0)
			return t->err;
		*result = ST_WS_NO_SESSION;
		return 0;
	}
	st_widget_free(&w);
	if (claim_load(t, token_hash, &cl) < 0)
		return t->err;
	if (cl.count >= ST_CONTACT_SUBMITS_MAX) {
		claim_free(&cl);
		*result = ST_WS_TOO_MANY;
		return 0;
	}

	/* Loquent's resolution: the email's contact, else the phone's. */
	if (email[0] != '\0')
		erc = id_index_get(t, t->st->contact_email, email, eid,
		    "get contact email");
	if (phone[0] != '\0')
		prc = id_index_get(t, t->st->contact_phone, phone, pid,
		    "get contact phone");
	if (erc < 0 || prc < 0 ||
	    contact_resolve(t, erc, eid, prc, pid, id, &c, &isnew) < 0) {
		claim_free(&cl);
		return t->err;
	}
	/*
	 * Only the session that made a contact fills the fields it lacks;
	 * anyone else naming it gets an unverified link, and the contact
	 * stays as it is. An email or phone another contact holds stays
	 * there.
	 */
	own = isnew || (cl.own[0] != '\0' && strcmp(cl.own, c.id) == 0);
	changed = isnew;
	if (own && name[0] != '\0' && c.name[0] == '\0' &&
	    set_field(t, &c.name, name) == 0)
		changed = 1;
	if (own && email[0] != '\0' && c.email[0] == '\0' && erc == 1 &&
	    set_field(t, &c.email, email) == 0) {
		id_index_put(t, t->st->contact_email, email, id,
		    "put contact email");
		changed = 1;
	}
	if (own && phone[0] != '\0' && c.phone[0] == '\0' && prc == 1 &&
	    set_field(t, &c.phone, phone) == 0) {
		id_index_put(t, t->st->contact_phone, phone, id,
		    "put contact phone");
		changed = 1;
	}
	if (changed) {
		if (!isnew && t->st->now() > c.updated_at)
			c.updated_at = t->st->now();
		contact_save(t, id, &c);
	}
	if (isnew)
		strlcpy(cl.own, c.id, sizeof(cl.own));
	cl.unverified = !own;
	if (claim_note(t, &cl, name, email, phone) == 0)
		claim_save(t, token_hash, &cl);
	/* The session, and its conversation if it has one, point at it. */
	if (strcmp(s.contact_id, c.id) != 0) {
		strlcpy(s.contact_id, c.id, sizeof(s.contact_id));
		wsess_save(t, token_hash, &s, s.expires_at);
	}
	if (sess_conv_id(t, s.widget, s.id, cid) == 0)
		conv_link(t, cid, c.id, &cl);
	claim_free(&cl);
	if (t->err) {
		st_contact_free(&c);
		return t->err;
	}
	*result = ST_WS_OK;
	*out = c;
	return 0;
}

static int
page_contact(struct store_txn *t, const uint8_t *id, void *c)
{
	return contact_load(t, id, c);
}

int
store_contact_list(struct store_txn *t, uint32_t limit, const char *cursor,
    struct store_contacts *out)
{
	struct index_page pg;
	struct store_contacts l;

	index_page(t, t->st->contact_created, t->st->contacts, "contact",
	    limit, cursor, sizeof(*l.contacts), page_contact, &pg);
	memset(&l, 0, sizeof(l));
	l.total = pg.total;
	l.n = pg.n;
	l.contacts = pg.items;
	if (t->err) {
		store_contacts_free(&l);
		return t->err;
	}
	strlcpy(l.next_cursor, pg.next_cursor, sizeof(l.next_cursor));
	*out = l;
	return 0;
}

/* A conversation of a contact and how it came to it. */
struct conv_link {
	struct st_conv conv;
	struct store_clink link;
};

static int
conv_newer(const void *a, const void *b)
{
	const struct st_conv *x = &((const struct conv_link *)a)->conv;
	const struct st_conv *y = &((const struct conv_link *)b)->conv;

	if (x->updated_at != y->updated_at)
		return x->updated_at < y->updated_at ? 1 : -1;
	return strcmp(y->id, x->id);
}

/* A contact_convs value into l: 0, or -1 with t failed. */
static int
link_decode(struct store_txn *t, const MDB_val *v, struct store_clink *l)
{
	struct pdec d;

	memset(l, 0, sizeof(*l));
	if (rec_open(t, v, &d, "contact conversation") < 0)
		return -1;
	if (d.len - d.off == 0)		/* verified: the version byte alone */
		return 0;
	l->unverified = pdec_u8(&d) != 0;
	l->name = pdec_strdup(&d, 4 * ST_CONTACT_NAME_MAX);
	l->email = pdec_strdup(&d, ST_EMAIL_MAX);
	l->phone = pdec_strdup(&d, ST_PHONE_MAX);
	if (pdec_done(&d) < 0) {
		store_clink_free(l);
		rec_corrupt(t, "contact conversation");
		return -1;
	}
	return 0;
}

/*
 * The conversations linked to contact id, with their links, into *out
 * (*n of them; at most CONTACT_CONVS_READ are read). 0, or -1 with t
 * failed.
 */
static int
contact_convs(struct store_txn *t, const uint8_t id[ID_LEN],
    struct conv_link **out, size_t *n)
{
	struct conv_link *cl = NULL, *ncl;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc, lrc;

	*out = NULL;
	*n = 0;
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_convs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	k.mv_size = ID_LEN;
	k.mv_data = (void *)id;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && !t->err && k.mv_size == CC_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((ncl = reallocarray(cl, cap, sizeof(*cl))) == NULL) {
				store_fail(t, PROTO_E_INTERNAL, "out of memory");
				break;
			}
			cl = ncl;
		}
		memset(&cl[*n], 0, sizeof(cl[*n]));
		if (link_decode(t, &v, &cl[*n].link) < 0)
			break;
		if ((lrc = conv_load(t, (uint8_t *)k.mv_data + ID_LEN,
		    &cl[*n].conv)) == 1) {
			log_warnx("contact index names a missing "
			    "conversation");
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		if (lrc != 0) {
			store_clink_free(&cl[*n].link);
			break;
		}
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk contact conversations");
	*out = cl;
	return t->err ? -1 : 0;
}

int
store_contact_get(struct store_txn *t, const char *contact_id,
    struct store_contact_full *out)
{
	struct store_contact_full f;
	struct conv_link *cl;
	uint8_t id[ID_LEN];
	size_t n, i;
	int rc;

	if (t->err)
		return t->err;
	if (!st_id_valid(contact_id))
		return store_fail(t, PROTO_E_INVALID,
		    "contact id must be 32 lowercase hex digits");
	proto_hex_decode(contact_id, id, ID_LEN);
	memset(&f, 0, sizeof(f));
	if ((rc = contact_load(t, id, &f.contact)) == 1)
		return store_fail(t, PROTO_E_NOT_FOUND, "no such contact");
	if (rc < 0)
		return t->err;
	/*
	 * A contact has a conversation per session that named it: few. They
	 * are read through the contact's index and sorted here by activity.
	 */
	rc = contact_convs(t, id, &cl, &n);
	if (rc == 0 && n > 1)
		qsort(cl, n, sizeof(*cl), conv_newer);
	if (rc == 0 && n > 0 &&
	    ((f.convs = calloc(n, sizeof(*f.convs))) == NULL ||
	    (f.links = calloc(n, sizeof(*f.links))) == NULL))
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (!t->err && f.n < ST_LIST_MAX) {
			f.convs[f.n] = cl[i].conv;
			f.links[f.n++] = cl[i].link;
			continue;
		}
		st_conv_free(&cl[i].conv);
		store_clink_free(&cl[i].link);
	}
	free(cl);
	if (t->err) {
		store_contact_full_free(&f);
		return t->err;
	}
	*out = f;
	return 0;
}

/* ---------------------------------------------------------------- free */

void
store_widgets_free(struct st_widget *ws, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_widget_free(&ws[i]);
	free(ws);
}

void
store_ws_open_free(struct store_ws_open *o)
{
	uint32_t i;

	st_widget_free(&o->widget);
	for (i = 0; i < o->n; i++)
		st_msg_free(&o->history[i]);
	free(o->history);
	memset(o, 0, sizeof(*o));
}

void
store_ws_begin_free(struct store_ws_begin *b)
{
	st_widget_free(&b->widget);
	store_chat_free(&b->chat);
	memset(b, 0, sizeof(*b));
}

void
store_contacts_free(struct store_contacts *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		st_contact_free(&l->contacts[i]);
	free(l->contacts);
	memset(l, 0, sizeof(*l));
}

void
store_contact_full_free(struct store_contact_full *f)
{
	uint32_t i;

	st_contact_free(&f->contact);
	for (i = 0; i < f->n; i++) {
		st_conv_free(&f->convs[i]);
		store_clink_free(&f->links[i]);
	}
	free(f->convs);
	free(f->links);
	memset(f, 0, sizeof(*f));
}

void
store_clink_free(struct store_clink *l)
{
	free(l->name);
	free(l->email);
	free(l->phone);
	memset(l, 0, sizeof(*l));
}
