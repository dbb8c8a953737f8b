/*
 * Contacts (see STORAGE.md): what visitors submit, resolved to one
 * contact by email or phone, the conversations linked to it, and each
 * session's submissions (its claims):
 *
 *	contacts         id[16] -> contact (its rows, ST_CONTACT_ROWS)
 *	contact_email    SHA-256 of the email's key -> id[16]
 *	contact_phone    SHA-256 of the phone's key -> id[16]
 *	contact_created  u64 created_at | id[16] -> (nothing)
 *	contact_org      org NUL u64 created_at | id[16] -> (nothing): an
 *	                 organisation's, its list's walk
 *	contact_counts   org -> u64 contacts (none at 0): its list's total
 *	contact_convs    contact id[16] | conversation id[16] -> (nothing)
 *	                 when the link is verified, else u8 1, str name,
 *	                 str email, str phone (what the visitor submitted)
 *	contact_links    contact id[16] -> u64 its contact_convs entries
 *	                 (none at 0): past ST_CONTACT_LINKS_MAX, only its
 *	                 verified identity's sessions link more
 *	wsess_claims     token hash[32] -> u32 submissions, str own (the
 *	                 contact the session made, hex or ""), u8 unverified,
 *	                 str name, str email, str phone (its last submission),
 *	                 str key (format 2: the secret's tag of its verified
 *	                 identify, "" none; format 1 reads ""), str to
 *	                 (format 3: the contact its last submission went to,
 *	                 hex, "" none or unknown; older formats read "")
 *	contact_ext      SHA-256 of org, " id:", a verified identify's
 *	                 external id -> id[16] (issue 26)
 *	contact_gone     id[16] -> u8 erase, u8 haspos, token hash[32]: a
 *	                 contact deleted whose conversations and sessions
 *	                 are still being ended (erased or unlinked)
 *
 * Every value starts with ST_RECORD_VERSION, but a contact's, with its
 * layout's format (record.h; every older format still reads), and a
 * claim's, with CLAIM_VERSION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "contactstore.h"
#include "log.h"
#include "mailbox.h"
#include "outbox.h"
#include "random.h"
#include "sha256.h"
#include "storeint.h"
#include "wsess.h"

#define CC_KEY_LEN	(2 * ID_LEN)
#define RKEY_LEN	SHA256_DIGEST_LENGTH	/* contact_email's, _phone's */
/* The meta record saying those keys are hashed. */
#define RKEYS_META	"contact_keys_hashed"
/* The meta record saying contact_links counts every contact's links. */
#define LINKS_META	"contact_links_counted"
/* Milliseconds between two logs of links refused (links_room). */
#define LINKS_LOG_MS	60000
/* Visitor sessions one ST_CONTACT_SESSIONS looks at. */
#define CONTACT_SESS_SCAN	1024
#define CONTACT_KEY_LEN	INDEX_KEY_LEN
#define ORG_ENTRY_MAX	(ST_WHO_ORG_MAX + 1 + CONTACT_KEY_LEN)
/* A claim's format: 2 added its key, 3 its last submission's contact. */
#define CLAIM_VERSION	3
#define KEY_TAG_LEN	16	/* bytes of a secret's SHA-256 in its tag */
#define KEY_TAG_HEX	(2 * KEY_TAG_LEN)

/* Links refused since the last log of them, and when that was. */
static uint32_t links_refused;
static uint64_t links_logged_at;

/* ---------------------------------------------------------------- records */

/* A session's contact submissions (wsess_claims). */
struct claim {
	uint32_t count;			/* submissions stored */
	char own[ST_ID_HEX + 1];	/* the contact it made, "" = none */
	int unverified;			/* its contact is one it did not make */
	char *name, *email, *phone;	/* its last submission, normalised */
	/* key_tag() of the secret its verified identify held, "" none */
	char key[KEY_TAG_HEX + 1];
	/* the contact its last submission went to, "" none or unknown */
	char to[ST_ID_HEX + 1];
};

/*
 * The tag of identity secret secret, into tag: the hex of the first
 * KEY_TAG_LEN bytes of its SHA-256 ("" for no secret). A verification
 * holds only while its widget's secret has the tag it was made with.
 */
static void
key_tag(const char *secret, char tag[KEY_TAG_HEX + 1])
{
	uint8_t h[PROTO_SHA256_LEN];

	tag[0] = '\0';
	if (secret[0] == '\0')
		return;
	proto_sha256(secret, strlen(secret), h);
	proto_hex_encode(h, KEY_TAG_LEN, tag);
}

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
	MDB_val v;
	int rc, ver;

	memset(cl, 0, sizeof(*cl));
	if ((rc = db_get(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &v,
	    "contact claim")) != 0)
		return rc;
	if ((ver = rec_open_ver(t, &v, &d, CLAIM_VERSION,
	    "contact claim")) < 0)
		return -1;
	cl->count = pdec_u32(&d);
	pdec_strbuf(&d, cl->own, sizeof(cl->own));
	cl->unverified = pdec_u8(&d) != 0;
	cl->name = pdec_strdup(&d, 4 * ST_CONTACT_NAME_MAX);
	cl->email = pdec_strdup(&d, ST_EMAIL_MAX);
	cl->phone = pdec_strdup(&d, ST_PHONE_MAX);
	if (ver >= 2)
		pdec_strbuf(&d, cl->key, sizeof(cl->key));
	if (ver >= 3)
		pdec_strbuf(&d, cl->to, sizeof(cl->to));
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
	penc_u8(&e, CLAIM_VERSION);
	penc_u32(&e, cl->count);
	penc_str(&e, cl->own);
	penc_u8(&e, (uint8_t)cl->unverified);
	penc_str(&e, cl->name);
	penc_str(&e, cl->email);
	penc_str(&e, cl->phone);
	penc_str(&e, cl->key);
	penc_str(&e, cl->to);
	rec_put(t, t->st->wsess_claims, hash, ST_TOKEN_HASH_LEN, &e,
	    "put contact claim");
	penc_free(&e);
}

/* The claim is a verified identify's: it owns a contact, under a secret. */
static int
ident_owned(const struct claim *cl)
{
	return !cl->unverified && cl->key[0] != '\0' && st_id_valid(cl->own);
}

/*
 * Contact id's count of links (contact_links) moved by delta; one that
 * would go below 0 stays at 0 (said in the log: a conversation's
 * deletion must not fail on a count).
 */
static void
links_add(struct store_txn *t, const uint8_t id[ID_LEN], int64_t delta)
{
	uint64_t n;

	if (t->err || rec_count_get(t, t->st->contact_links, id, ID_LEN, &n,
	    "contact links") < 0)
		return;
	if (delta < 0 && n < (uint64_t)-delta) {
		log_warnx("contact links would go below 0");
		delta = -(int64_t)n;
	}
	rec_count_put(t, t->st->contact_links, id, ID_LEN,
	    n + (uint64_t)delta, "contact links");
}

/*
 * Whether contact id takes a link of a visitor who is not its verified
 * identity: 1 while it holds fewer than ST_CONTACT_LINKS_MAX, 0 when
 * full (the log says so at most once a minute, with the links refused
 * since), -1 error.
 */
static int
links_room(struct store_txn *t, const uint8_t id[ID_LEN])
{
	char hex[ST_ID_HEX + 1];
	uint64_t n, now;

	if (rec_count_get(t, t->st->contact_links, id, ID_LEN, &n,
	    "contact links") < 0)
		return -1;
	if (n < ST_CONTACT_LINKS_MAX)
		return 1;
	links_refused++;
	now = t->st->now();
	if (links_logged_at == 0 || now < links_logged_at ||
	    now - links_logged_at >= LINKS_LOG_MS) {
		proto_hex_encode(id, ID_LEN, hex);
		log_warnx("contact %s holds %llu conversations: a visitor's "
		    "not linked to it (%u so since the last such line; at "
		    "most %d but for a verified identity's)", hex,
		    (unsigned long long)n, links_refused,
		    ST_CONTACT_LINKS_MAX);
		links_refused = 0;
		links_logged_at = now;
	}
	return 0;
}

/* A stored link key (contact id | conversation id) deleted, and uncounted. */
static void
link_del(struct store_txn *t, const uint8_t key[CC_KEY_LEN])
{
	db_del(t, t->st->contact_convs, key, CC_KEY_LEN,
	    "delete contact conversation");
	links_add(t, key, -1);
}

void
contact_link_del(struct store_txn *t, const uint8_t key[CC_KEY_LEN])
{
	MDB_val v;

	if (db_get(t, t->st->contact_convs, key, CC_KEY_LEN, &v,
	    "get contact conversation") == 0)
		link_del(t, key);
}

int
contact_link_new(struct store_txn *t, const uint8_t key[CC_KEY_LEN],
    int bounded)
{
	int rc;

	if (t->err)
		return -1;
	if (bounded && (rc = links_room(t, key)) != 1)
		return rc;
	db_mark(t, t->st->contact_convs, key, CC_KEY_LEN,
	    "put contact conversation");
	links_add(t, key, 1);
	return t->err ? -1 : 1;
}

/*
 * The contact_convs entry of (contact, conversation), counted when new:
 * the version byte alone when verified, else what the visitor submitted
 * (cl).
 */
static void
link_put(struct store_txn *t, const uint8_t key[CC_KEY_LEN],
    const struct claim *cl)
{
	struct penc e;
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->contact_convs, key, CC_KEY_LEN, &v,
	    "get contact conversation")) < 0)
		return;
	if (rc == 1)
		links_add(t, key, 1);
	if (cl == NULL || !cl->unverified) {
		db_mark(t, t->st->contact_convs, key, CC_KEY_LEN,
		    "put contact conversation");
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

static void
contact_save(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct st_contact *c)
{
	rec_put_rows(t, t->st->contacts, id, ID_LEN, &st_contact_layout, c,
	    "put contact");
}

/* 0 loaded, 1 absent, -1 error (format 1: the default organisation's). */
static int
contact_load(struct store_txn *t, const uint8_t id[ID_LEN],
    struct st_contact *c)
{
	int rc;

	if ((rc = rec_load(t, t->st->contacts, id, ID_LEN, &st_contact_layout,
	    c, "contact")) != 0)
		return rc;
	if (c->org[0] == '\0')
		strlcpy(c->org, ST_WHO_ORG_DEFAULT, sizeof(c->org));
	return 0;
}

/*
 * A resolution index's key (email or phone) in organisation org: the
 * SHA-256 of its name, which for the default organisation is the value
 * itself (as before organisations), for another its id, a space (no
 * email or phone holds one), the value. Keys are hashed because LMDB
 * keeps a deleted key as a separator in branch pages for as long as the
 * page lives: an erased contact's email must not stay in the file (see
 * STORAGE.md, "Erasure").
 */
static void
org_key(const char *org, const char *val, uint8_t k[RKEY_LEN])
{
	char name[ST_WHO_ORG_MAX + 2 + ST_EMAIL_MAX + 1];

	if (strcmp(org, ST_WHO_ORG_DEFAULT) == 0)
		strlcpy(name, val, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s %s", org, val);
	proto_sha256(name, strlen(name), k);
}

/* An index value that is a 16-byte id: 0 found, 1 absent, -1 error. */
static int
id_index_get(struct store_txn *t, MDB_dbi dbi, const uint8_t k[RKEY_LEN],
    uint8_t id[ID_LEN], const char *what)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, dbi, k, RKEY_LEN, &v, what)) != 0)
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
id_index_put(struct store_txn *t, MDB_dbi dbi, const uint8_t k[RKEY_LEN],
    const uint8_t id[ID_LEN], const char *what)
{
	uint8_t v[1 + ID_LEN];

	v[0] = ST_RECORD_VERSION;
	memcpy(v + 1, id, ID_LEN);
	db_put(t, dbi, k, RKEY_LEN, v, sizeof(v), what);
}

/*
 * An index of a data directory from before hashed keys: every key moves
 * to its SHA-256 (the values stay). 0, or -1 with t failed.
 */
static int
rkeys_hash(struct store_txn *t, MDB_dbi dbi, const char *what)
{
	struct { uint8_t k[RKEY_LEN], v[1 + ID_LEN]; } *all = NULL;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_stat ms;
	size_t n = 0, i;
	int rc;

	if ((rc = mdb_stat(t->txn, dbi, &ms)) != 0)
		return txn_lmdb(t, rc, what), -1;
	if (ms.ms_entries == 0)
		return 0;
	if ((all = calloc(ms.ms_entries, sizeof(*all))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		free(all);
		return txn_lmdb(t, rc, "cursor"), -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    n < ms.ms_entries; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size != sizeof(all[n].v))
			continue;	/* not understood: it resolves nothing */
		proto_sha256(k.mv_data, k.mv_size, all[n].k);
		memcpy(all[n++].v, v.mv_data, v.mv_size);
	}
	mdb_cursor_close(cur);
	if ((rc = db_drop(t, dbi)) != 0)
		write_failed(t, rc, what);
	for (i = 0; i < n && !t->err; i++)
		db_put(t, dbi, all[i].k, RKEY_LEN, all[i].v, sizeof(all[i].v),
		    what);
	free(all);
	if (!t->err)
		log_info("%s: %zu keys hashed", what, n);
	return t->err ? -1 : 0;
}

/* Contact c (id) listed in its organisation and counted. */
static void
org_entry_put(struct store_txn *t, const struct st_contact *c,
    const uint8_t id[ID_LEN])
{
	uint8_t k[ORG_ENTRY_MAX];

	db_mark(t, t->st->contact_org, k, org_time_key(c->org, c->created_at,
	    id, k), "put contact org");
	rec_count_add(t, t->st->contact_counts, c->org, strlen(c->org), 1,
	    "contact count");
}

/* Contact c (id) no more listed, when it was (contact_created's only are). */
static void
org_entry_del(struct store_txn *t, const struct st_contact *c,
    const uint8_t id[ID_LEN])
{
	uint8_t k[ORG_ENTRY_MAX];
	size_t klen = org_time_key(c->org, c->created_at, id, k);
	MDB_val v;

	if (db_get(t, t->st->contact_org, k, klen, &v, "get contact org") != 0)
		return;
	db_del(t, t->st->contact_org, k, klen, "delete contact org");
	rec_count_add(t, t->st->contact_counts, c->org, strlen(c->org), -1,
	    "contact count");
}

/* The resolution indexes' keys hashed, once (a data directory before). */
static int
rkeys_init(struct store_txn *t)
{
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, RKEYS_META, strlen(RKEYS_META), &v,
	    "get contact keys")) != 1)
		return rc < 0 ? t->err : 0;
	if (rkeys_hash(t, t->st->contact_email, "contact email") == 0 &&
	    rkeys_hash(t, t->st->contact_phone, "contact phone") == 0)
		db_mark(t, t->st->meta, RKEYS_META, strlen(RKEYS_META),
		    "put contact keys");
	return t->err;
}

/*
 * contact_org and contact_counts made again from contact_created when
 * the two indexes do not hold as many entries (a data directory of
 * before them): each listed contact read once.
 */
static int
org_entries_init(struct store_txn *t)
{
	struct st_contact c;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t all;
	int rc;

	if (index_stale(t, t->st->contact_created, t->st->contact_org,
	    "contact org index", &all) <= 0)
		return t->err;
	if ((rc = db_drop(t, t->st->contact_counts)) != 0)
		return txn_lmdb(t, rc, "empty the contact counts");
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_created, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && !t->err) {
		if (k.mv_size == CONTACT_KEY_LEN && contact_load(t,
		    (uint8_t *)k.mv_data + 8, &c) == 0) {
			org_entry_put(t, &c, (uint8_t *)k.mv_data + 8);
			st_contact_free(&c);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk contacts");
	if (!t->err)
		log_info("listed %zu contacts by organization", all);
	return t->err;
}

/*
 * contact_links made from contact_convs, once (a data directory of
 * before it): every contact's links counted in one walk of them.
 */
static int
links_init(struct store_txn *t)
{
	uint8_t id[ID_LEN];
	uint64_t n = 0;
	size_t all = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = db_get(t, t->st->meta, LINKS_META, strlen(LINKS_META), &v,
	    "get contact links")) != 1)
		return rc < 0 ? t->err : 0;
	if ((rc = db_drop(t, t->st->contact_links)) != 0)
		return txn_lmdb(t, rc, "empty the contact links");
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_convs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !t->err;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != CC_KEY_LEN)
			continue;
		if (n > 0 && memcmp(k.mv_data, id, ID_LEN) != 0) {
			rec_count_put(t, t->st->contact_links, id, ID_LEN, n,
			    "contact links");
			n = 0;
		}
		memcpy(id, k.mv_data, ID_LEN);
		n++;
		all++;
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "walk contact conversations");
	if (n > 0)
		rec_count_put(t, t->st->contact_links, id, ID_LEN, n,
		    "contact links");
	db_mark(t, t->st->meta, LINKS_META, strlen(LINKS_META),
	    "put contact links");
	if (!t->err && all > 0)
		log_info("counted %zu links of contacts", all);
	return t->err;
}

static int
contactstore_init(struct store_txn *t)
{
	if (rkeys_init(t) == 0 && org_entries_init(t) == 0)
		links_init(t);
	return t->err;
}

const struct store_module contactstore_module = {
	.name = "contacts",
	.init = contactstore_init,
};

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

/*
 * What of a contact_info widget w keeps, the one place that says so: in
 * contact_info_mode required, the fields its form asks for (collect_*)
 * and the email on a widget with handoff_enabled (its away form, "Leave
 * a message", asks for one whatever collect_email says); the others are
 * ignored: "" in *name, email and phone. Other modes keep all that is
 * given (none asks nothing, an optional form may be skipped: the away
 * form's email and a page's own form are stored as they come). NULL,
 * or why it is refused (as an empty one is): nothing kept, or, while
 * session s has no contact (required: it may not chat yet, wsess.c's
 * ST_WS_CONTACT), none of the fields the form asks for, so a contact
 * the widget did not ask for never lets a visitor chat.
 */
static const char *
contact_kept(const struct st_widget *w, const struct st_wsess *s,
    const char **name, char *email, char *phone)
{
	if (w->contact_mode != ST_CONTACT_REQUIRED)
		return NULL;
	if (s->contact_id[0] == '\0' &&
	    !(w->collect_name && (*name)[0] != '\0') &&
	    !(w->collect_email && email[0] != '\0') &&
	    !(w->collect_phone && phone[0] != '\0'))
		return "contact: give a detail this widget asks for "
		    "(collect_name, collect_email, collect_phone)";
	if (!w->collect_name)
		*name = "";
	if (!w->collect_email && !w->handoff_enabled)
		email[0] = '\0';
	if (!w->collect_phone)
		phone[0] = '\0';
	if ((*name)[0] == '\0' && email[0] == '\0' && phone[0] == '\0')
		return "contact: give a detail this widget asks for "
		    "(collect_name, collect_email, collect_phone)";
	return NULL;
}

/*
 * Points conversation cid at contact id (hex), moving its link (move 0:
 * only a conversation no contact holds, as an unverified submission
 * leaves what is linked alone); the link says what cl says (verified or
 * not, and what was submitted). A new link to a contact past
 * ST_CONTACT_LINKS_MAX is a verified identify's only (links_room): else
 * the conversation stays as it is.
 */
static void
conv_link(struct store_txn *t, const uint8_t cid[ID_LEN], const char *id,
    const struct claim *cl, int move)
{
	struct st_conv c;
	uint8_t key[CC_KEY_LEN], old[CC_KEY_LEN];
	int rc;

	if ((rc = conv_load(t, cid, &c)) != 0) {
		if (rc == 1) {
			log_warnx("session index names a missing "
			    "conversation");
			store_fail(t, PROTO_E_INTERNAL, "inconsistent index");
		}
		return;
	}
	if ((!move && c.contact_id[0] != '\0') ||
	    proto_hex_decode(id, key, ID_LEN) != 0 ||
	    (strcmp(c.contact_id, id) != 0 &&
	    (cl == NULL || !ident_owned(cl)) && links_room(t, key) != 1)) {
		st_conv_free(&c);
		return;
	}
	memcpy(key + ID_LEN, cid, ID_LEN);
	if (strcmp(c.contact_id, id) != 0) {
		memcpy(old + ID_LEN, cid, ID_LEN);
		if (c.contact_id[0] != '\0' &&
		    proto_hex_decode(c.contact_id, old, ID_LEN) == 0)
			contact_link_del(t, old);
		strlcpy(c.contact_id, id, sizeof(c.contact_id));
		conv_save(t, cid, &c);
	}
	link_put(t, key, cl);
	st_conv_free(&c);
}

/* What listed_link links a conversation to, and how (conv_link's move). */
struct link_to {
	const char *id;			/* the contact, hex */
	const struct claim *cl;
	int move;
};

/*
 * A listed conversation of the session (wsconvs_each's), when still
 * stored: linked as to says. An identify moves their links; a
 * submission links those no contact holds yet (without it, the
 * visitor's conversations before "New conversation" were left out of
 * their contact's export and erasure).
 */
static void
listed_link(struct store_txn *t, const uint8_t cid[ID_LEN], void *arg)
{
	const struct link_to *to = arg;
	MDB_val v;

	if (db_get(t, t->st->convs, cid, ID_LEN, &v,
	    "get conversation") == 0)
		conv_link(t, cid, to->id, to->cl, to->move);
}

/* The contact of id, or a new one when none matched (isnew). */
static int
contact_resolve(struct store_txn *t, const char *org, int erc,
    const uint8_t eid[ID_LEN], int prc, const uint8_t pid[ID_LEN],
    uint8_t id[ID_LEN], struct st_contact *c, int *isnew)
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
	strlcpy(c->org, org, sizeof(c->org));
	c->created_at = c->updated_at = t->st->now();
	if (store_set_str(t, &c->name, "") < 0 ||
	    store_set_str(t, &c->email, "") < 0 ||
	    store_set_str(t, &c->phone, "") < 0) {
		st_contact_free(c);
		return -1;
	}
	proto_put_be64(ck, c->created_at);
	memcpy(ck + 8, id, ID_LEN);
	db_mark(t, t->st->contact_created, ck, sizeof(ck),
	    "put contact created");
	org_entry_put(t, c, id);
	return t->err ? -1 : 0;
}

/* The claim records this submission (normalised fields). */
static int
claim_note(struct store_txn *t, struct claim *cl, const char *name,
    const char *email, const char *phone)
{
	cl->count++;
	if (store_set_str(t, &cl->name, name) < 0 ||
	    store_set_str(t, &cl->email, email) < 0 ||
	    store_set_str(t, &cl->phone, phone) < 0)
		return -1;
	return 0;
}

/*
 * Session s's verified contact (issue 26): the one its own verified
 * identify linked (its claim owns it, not as a name the contact form
 * matched: naming a verified contact's email proves nothing), with the
 * secret of tag (key_tag) its widget holds now: one the owner changed
 * or removed since verifies nothing (tag NULL: whatever the secret, the
 * contact the session belongs to). 1 with c loaded (st_contact_free
 * it) and its id in id, 0 none, -1 error.
 */
static int
sess_verified(struct store_txn *t, const struct st_wsess *s,
    const struct claim *cl, const char *tag, uint8_t id[ID_LEN],
    struct st_contact *c)
{
	int rc;

	if (!st_id_valid(s->contact_id) || cl->unverified ||
	    strcmp(cl->own, s->contact_id) != 0 || cl->key[0] == '\0' ||
	    (tag != NULL && strcmp(cl->key, tag) != 0))
		return 0;
	proto_hex_decode(s->contact_id, id, ID_LEN);
	if ((rc = contact_load(t, id, c)) != 0)
		return rc < 0 ? -1 : 0;
	if (c->verified)
		return 1;
	st_contact_free(c);
	return 0;
}

/*
 * sess_verified of session s under hash (tag its widget's key_tag), its
 * claim loaded here: 1 with c loaded (st_contact_free it), 0 none, -1
 * error.
 */
static int
claim_verified(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const char *tag, struct st_contact *c)
{
	struct claim cl;
	uint8_t id[ID_LEN];
	int rc;

	if (claim_load(t, hash, &cl) < 0)
		return -1;
	rc = sess_verified(t, s, &cl, tag, id, c);
	claim_free(&cl);
	return rc;
}

int
store_wsess_verified(struct store_txn *t,
    const uint8_t token_hash[ST_TOKEN_HASH_LEN], const struct st_wsess *s,
    const char *secret)
{
	struct st_contact c;
	char tag[KEY_TAG_HEX + 1];
	int rc;

	key_tag(secret, tag);
	if ((rc = claim_verified(t, token_hash, s, tag, &c)) == 1)
		st_contact_free(&c);
	return rc;
}

/*
 * store_contact_submit of a session ident_owned but not verified now:
 * counted in its claim (cl, freed here); *result OK with its contact in
 * out when it still holds it, else IDENTITY. 0, or t->err.
 */
static int
owned_submit(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, struct claim *cl, const char *name,
    const char *email, const char *phone, int *result,
    struct st_contact *out, int *created)
{
	uint8_t id[ID_LEN];
	int rc;

	if ((rc = sess_verified(t, s, cl, NULL, id, out)) == 1 &&
	    claim_note(t, cl, name, email, phone) == 0)
		claim_save(t, hash, cl);
	claim_free(cl);
	if (t->err) {
		if (rc == 1)
			st_contact_free(out);
		return t->err;
	}
	*result = rc == 1 ? ST_WS_OK : ST_WS_IDENTITY;
	*created = 0;
	return 0;
}

int
store_contact_submit(struct store_txn *t, const char *widget_id,
    const char *origin, const uint8_t token_hash[ST_TOKEN_HASH_LEN],
    int create, const char *name, const char *in_email, const char *in_phone,
    int *result, struct st_contact *out, int *created)
{
	struct st_widget w;
	struct st_wsess s;
	struct st_contact c;
	struct claim cl;
	char email[ST_EMAIL_MAX + 1], phone[ST_PHONE_MAX + 1];
	char org[ST_WHO_ORG_MAX + 1], tag[KEY_TAG_HEX + 1];
	uint8_t ekey[RKEY_LEN], pkey[RKEY_LEN];
	uint8_t eid[ID_LEN], pid[ID_LEN], id[ID_LEN], cid[ID_LEN];
	const char *bad;
	int erc = 1, prc = 1, rc, changed = 0, isnew = 0, own, vrc;
	int id_required;
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

	if ((rc = wsess_widget(t, widget_id, origin, &w, result)) != 0)
		return rc < 0 ? t->err : 0;
	rc = wsess_load(t, token_hash, &s);
	/*
	 * The socket's session was stored and is gone (swept, its contact
	 * erased): a submission does not bring its token back.
	 */
	if (rc == 1 && !create) {
		st_widget_free(&w);
		*result = ST_WS_NO_SESSION;
		return 0;
	}
	/*
	 * A widget of verified visitors only: a socket opened before it
	 * became one may still send (its worker was told at its open).
	 */
	id_required = w.identity_required;
	if (rc == 1 && id_required) {
		st_widget_free(&w);
		*result = ST_WS_IDENTITY;
		return 0;
	}
	/* A new visitor's first contact submission stores its session. */
	if (rc == 1 && wsess_create(t, w.id, token_hash, t->st->wsess_idle_ms,
	    &s) == 0)
		rc = 0;
	/* Another widget's session, or one idle past its span: none. */
	if (rc != 0 || !wsess_current(t, &s, w.id)) {
		st_widget_free(&w);
		if (rc < 0)
			return t->err;
		*result = ST_WS_NO_SESSION;
		return 0;
	}
	if ((bad = contact_kept(&w, &s, &name, email, phone)) != NULL) {
		st_widget_free(&w);
		/* Undone with the rest: a new visitor's session too. */
		return store_fail(t, PROTO_E_INVALID, bad);
	}
	/* The widget's organisation's contacts are the ones it resolves in. */
	strlcpy(org, w.org, sizeof(org));
	org_key(org, email, ekey);
	org_key(org, phone, pkey);
	key_tag(w.identity_secret, tag);
	st_widget_free(&w);
	if (claim_load(t, token_hash, &cl) < 0)
		return t->err;
	if (cl.count >= ST_CONTACT_SUBMITS_MAX) {
		claim_free(&cl);
		*result = ST_WS_TOO_MANY;
		return 0;
	}

	/*
	 * A session of a verified identity keeps its contact (issue 26);
	 * else Loquent's resolution: the email's contact, else the phone's.
	 * Either way erc and prc say whether a contact holds them.
	 */
	vrc = sess_verified(t, &s, &cl, tag, id, &c);
	/*
	 * A session a verified identify owns stays that person's (issue 26)
	 * when it verifies nothing now (the secret changed since): its
	 * submission is counted and fills nothing, moves nothing; one whose
	 * contact is gone is refused as unverified.
	 */
	if (vrc == 0 && ident_owned(&cl))
		return owned_submit(t, token_hash, &s, &cl, name, email, phone,
		    result, out, created);
	if (vrc == 0 && id_required) {
		claim_free(&cl);
		*result = ST_WS_IDENTITY;
		return 0;
	}
	if (email[0] != '\0')
		erc = id_index_get(t, t->st->contact_email, ekey, eid,
		    "get contact email");
	if (phone[0] != '\0')
		prc = id_index_get(t, t->st->contact_phone, pkey, pid,
		    "get contact phone");
	if (vrc < 0 || erc < 0 || prc < 0 || (vrc == 0 &&
	    contact_resolve(t, org, erc, eid, prc, pid, id, &c, &isnew) < 0)) {
		if (vrc == 1)
			st_contact_free(&c);
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
	    store_set_str(t, &c.name, name) == 0)
		changed = 1;
	if (own && email[0] != '\0' && c.email[0] == '\0' && erc == 1 &&
	    store_set_str(t, &c.email, email) == 0) {
		id_index_put(t, t->st->contact_email, ekey, id,
		    "put contact email");
		changed = 1;
	}
	if (own && phone[0] != '\0' && c.phone[0] == '\0' && prc == 1 &&
	    store_set_str(t, &c.phone, phone) == 0) {
		id_index_put(t, t->st->contact_phone, pkey, id,
		    "put contact phone");
		changed = 1;
	}
	if (changed) {
		if (!isnew && t->st->now() > c.updated_at)
			c.updated_at = t->st->now();
		contact_save(t, id, &c);
	}
	if (isnew) {
		strlcpy(cl.own, c.id, sizeof(cl.own));
		cl.key[0] = '\0';	/* not a verified identify's */
	}
	cl.unverified = !own;
	strlcpy(cl.to, c.id, sizeof(cl.to));
	if (claim_note(t, &cl, name, email, phone) == 0)
		claim_save(t, token_hash, &cl);
	/* The session, and its conversation if it has one, point at it. */
	if (strcmp(s.contact_id, c.id) != 0) {
		strlcpy(s.contact_id, c.id, sizeof(s.contact_id));
		wsess_save(t, token_hash, &s, s.expires_at);
	}
	if (sess_conv_id(t, s.widget, s.id, cid) == 0)
		conv_link(t, cid, c.id, &cl, 1);
	/* And its earlier ones no contact has yet: the same visitor's. */
	wsconvs_each(t, token_hash, listed_link,
	    &(struct link_to){ .id = c.id, .cl = &cl, .move = 0 });
	claim_free(&cl);
	if (t->err) {
		st_contact_free(&c);
		return t->err;
	}
	*result = ST_WS_OK;
	*out = c;
	*created = isnew;
	return 0;
}

/* ------------------------------------------------------ verified identity */

/* contact_ext's key: SHA-256 of org, " id:", the external id. */
static void
ext_key(const char *org, const char *ext, uint8_t k[RKEY_LEN])
{
	char name[ST_WHO_ORG_MAX + 4 + 4 * ST_EXTERNAL_ID_MAX + 1];

	snprintf(name, sizeof(name), "%s id:%s", org, ext);
	proto_sha256(name, strlen(name), k);
}

/*
 * Whether session s (under hash) is another external id's: its own
 * verified identify linked a contact of another id, or one deleted
 * since (whose it was is not known: it is nobody else's). With any secret,
 * the one of then or the one of now: a secret rotated stops the session
 * counting as verified, but it stays that person's, with its
 * conversations (another id's identify would move them to its contact).
 * 1 (taken), 0 not, -1 error.
 */
static int
ident_taken(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const char *ext)
{
	struct st_contact c;
	struct claim cl;
	uint8_t id[ID_LEN];
	int rc;

	if (claim_load(t, hash, &cl) < 0)
		return -1;
	if (!ident_owned(&cl)) {
		claim_free(&cl);
		return 0;
	}
	proto_hex_decode(cl.own, id, ID_LEN);
	claim_free(&cl);
	/* Its contact deleted since: whose it was is not known, not anyone's. */
	if ((rc = contact_load(t, id, &c)) != 0)
		return rc < 0 ? -1 : 1;
	rc = strcmp(c.external_id, ext) != 0;
	st_contact_free(&c);
	return rc;
}

/*
 * The organisation's contact of external id ext (made when none, its
 * key in contact_ext), marked verified, with name and email given when
 * it lacks them (email lowercased, indexed when no contact holds it);
 * its email marked verified when email_signed and the email is the one
 * it holds (a contact's email is never replaced: one given earlier and
 * another signed now leaves the earlier one unverified).
 */
static int
ident_contact(struct store_txn *t, const char *org, const char *ext,
    const char *name, const char *in_email, int email_signed,
    uint8_t id[ID_LEN], struct st_contact *c, int *isnew_out)
{
	char email[ST_EMAIL_MAX + 1];
	uint8_t xk[RKEY_LEN], ek[RKEY_LEN], xid[ID_LEN], eid[ID_LEN];
	int xrc, isnew = 0, erc = 0;
	size_t i;

	memset(c, 0, sizeof(*c));
	ext_key(org, ext, xk);
	if ((xrc = id_index_get(t, t->st->contact_ext, xk, xid,
	    "get contact ext")) < 0 ||
	    contact_resolve(t, org, xrc, xid, 1, NULL, id, c, &isnew) < 0)
		return -1;
	if (isnew)
		id_index_put(t, t->st->contact_ext, xk, id, "put contact ext");
	c->verified = 1;
	if (store_set_str(t, &c->external_id, ext) < 0)
		return -1;
	if (name[0] != '\0' && c->name[0] == '\0' &&
	    store_contact_invalid(name, "", "") == NULL &&
	    store_set_str(t, &c->name, name) < 0)
		return -1;
	strlcpy(email, in_email, sizeof(email));
	for (i = 0; email[i] != '\0'; i++)
		if (email[i] >= 'A' && email[i] <= 'Z')
			email[i] += 'a' - 'A';
	if (c->email[0] == '\0' && st_email_valid(email)) {
		org_key(org, email, ek);
		if ((erc = id_index_get(t, t->st->contact_email, ek, eid,
		    "get contact email")) < 0)
			return -1;
		if (erc == 1 && store_set_str(t, &c->email, email) == 0)
			id_index_put(t, t->st->contact_email, ek, id,
			    "put contact email");
	}
	if (email_signed && c->email[0] != '\0' && strcmp(c->email, email) == 0)
		c->email_verified = 1;
	if (!isnew && t->st->now() > c->updated_at)
		c->updated_at = t->st->now();
	contact_save(t, id, c);
	*isnew_out = isnew;
	return t->err ? -1 : 0;
}

/*
 * The session and its conversations (the current one and the earlier
 * ones it lists, wsconvstore.c) point at contact c, verified: the session's
 * claim owns it (its later conversations' links are verified, and its
 * contact submissions fill what c lacks) while its widget's secret is the
 * one of tag, the one that verified it.
 */
static void
ident_link(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    struct st_wsess *s, const struct st_contact *c, const char *tag)
{
	uint8_t cid[ID_LEN];
	struct claim cl;

	if (claim_load(t, hash, &cl) < 0)
		return;
	cl.unverified = 0;
	strlcpy(cl.own, c->id, sizeof(cl.own));
	strlcpy(cl.key, tag, sizeof(cl.key));
	claim_save(t, hash, &cl);
	if (strcmp(s->contact_id, c->id) != 0) {
		strlcpy(s->contact_id, c->id, sizeof(s->contact_id));
		wsess_save(t, hash, s, s->expires_at);
	}
	if (sess_conv_id(t, s->widget, s->id, cid) == 0)
		conv_link(t, cid, c->id, &cl, 1);
	wsconvs_each(t, hash, listed_link,
	    &(struct link_to){ .id = c->id, .cl = &cl, .move = 1 });
	claim_free(&cl);
}

int
store_ws_identify(struct store_txn *t, const struct st_ws_identify_req *q,
    int (*may_create)(void *arg, const char *widget), void *arg,
    struct st_ws_identify_rep *rep, struct st_contact *out, int *created)
{
	struct st_widget w;
	struct st_wsess s;
	struct st_contact c;
	uint8_t id[ID_LEN];
	char tag[KEY_TAG_HEX + 1];
	int rc, res, email_signed;

	memset(rep, 0, sizeof(*rep));
	memset(out, 0, sizeof(*out));
	*created = 0;
	if (t->err)
		return t->err;
	if ((rc = wsess_widget(t, q->widget_id, q->origin, &w, &res)) != 0) {
		rep->result = (uint8_t)res;
		return rc < 0 ? t->err : 0;
	}
	rep->result = ST_WS_OK;
	if ((rc = wsess_load(t, q->token, &s)) < 0)
		goto out;
	/*
	 * Whatever the hash: the socket's stored session gone (swept, its
	 * contact erased: an identify does not bring its token back),
	 * another widget's session, or one idle past its span: none.
	 */
	if (rc == 1 ? !q->create : !wsess_current(t, &s, w.id)) {
		rep->result = ST_WS_NO_SESSION;
		goto out;
	}
	/* A wrong or missing hash, or no secret: nothing is trusted. */
	if (!st_identity_expiring_ok(w.identity_secret, q->external_id,
	    q->expires, t->st->now() / 1000, q->hash))
		goto out;
	key_tag(w.identity_secret, tag);
	/* A new visitor's verified identify stores its session, if it may. */
	if (rc == 1 && may_create != NULL && may_create(arg, w.id) != 0) {
		rep->result = ST_WS_BUSY;
		goto out;
	}
	if (rc == 1 && wsess_create(t, w.id, q->token, t->st->wsess_idle_ms,
	    &s) != 0)
		goto out;
	if ((rc = ident_taken(t, q->token, &s, q->external_id)) != 0) {
		rep->taken = rc > 0;
		goto out;
	}
	/* The email is vouched for by a signature of its own, or not at all. */
	email_signed = st_identity_email_ok(w.identity_secret, q->email,
	    q->email_hash);
	if (ident_contact(t, w.org, q->external_id, q->name, q->email,
	    email_signed, id, &c, created) < 0) {
		st_contact_free(&c);
		goto out;
	}
	ident_link(t, q->token, &s, &c, tag);
	rep->verified = t->err == 0;
	rep->email_verified = rep->verified && email_signed;
	strlcpy(rep->contact_id, c.id, sizeof(rep->contact_id));
	*out = c;
out:
	st_widget_free(&w);
	return t->err;
}

/* ck's index key of value val, when it still names id. */
static void
id_index_drop(struct store_txn *t, MDB_dbi dbi, const uint8_t k[RKEY_LEN],
    const uint8_t id[ID_LEN], const char *what)
{
	uint8_t cur[ID_LEN];

	if (id_index_get(t, dbi, k, cur, what) == 0 &&
	    memcmp(cur, id, ID_LEN) == 0)
		db_del(t, dbi, k, RKEY_LEN, what);
}

/*
 * Contact c (id) leaves every answer: its record, its creation entry and
 * its email and phone keys (when they still name it). Its links stay.
 */
static void
contact_forget(struct store_txn *t, const uint8_t id[ID_LEN],
    const struct st_contact *c)
{
	uint8_t ck[CONTACT_KEY_LEN], k[RKEY_LEN];

	if (c->email[0] != '\0') {
		org_key(c->org, c->email, k);
		id_index_drop(t, t->st->contact_email, k, id, "contact email");
	}
	if (c->phone[0] != '\0') {
		org_key(c->org, c->phone, k);
		id_index_drop(t, t->st->contact_phone, k, id, "contact phone");
	}
	if (c->external_id != NULL && c->external_id[0] != '\0') {
		ext_key(c->org, c->external_id, k);
		id_index_drop(t, t->st->contact_ext, k, id, "contact ext");
	}
	proto_put_be64(ck, c->created_at);
	memcpy(ck + 8, id, ID_LEN);
	db_del_quiet(t, t->st->contact_created, ck, sizeof(ck),
	    "delete contact created");
	org_entry_del(t, c, id);
	db_del(t, t->st->contacts, id, ID_LEN, "delete contact");
}

/*
 * Up to max of contact id's links (contact id | conversation id) into
 * keys (max x CC_KEY_LEN): 0, or -1 with t failed.
 */
static int
links_of(struct store_txn *t, const uint8_t id[ID_LEN], uint8_t *keys,
    uint32_t max, uint32_t *n)
{
	return txn_keys(t, t->st->contact_convs, "walk contact conversations",
	    id, ID_LEN, 0, ID_LEN, CC_KEY_LEN, keys, max, n);
}

/* Marks c (id's, loaded) announced, now. */
static void
contact_mark_announced(struct store_txn *t, const uint8_t id[ID_LEN],
    struct st_contact *c)
{
	c->announced_at = t->st->now();
	contact_save(t, id, c);
}

int
store_contact_announce_first(struct store_txn *t, const struct st_conv *c,
    struct st_contact *out)
{
	uint8_t id[ID_LEN], keys[2 * CC_KEY_LEN];
	uint32_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || c->contact_id[0] == '\0' ||
	    proto_hex_decode(c->contact_id, id, ID_LEN) != 0)
		return t->err ? -1 : 0;
	if (links_of(t, id, keys, 2, &n) < 0)
		return -1;
	if (n != 1)
		return 0;
	if ((rc = contact_load(t, id, out)) != 0)
		return rc < 0 ? -1 : 0;
	/* A contact stored before format 5 reads 0: its links alone tell. */
	if (out->announced_at != 0) {
		st_contact_free(out);
		memset(out, 0, sizeof(*out));
		return 0;
	}
	contact_mark_announced(t, id, out);
	return t->err ? -1 : 1;
}

int
store_contact_linked_conv(struct store_txn *t, const char *hex,
    struct st_conv *conv)
{
	uint8_t id[ID_LEN], key[CC_KEY_LEN];
	uint32_t n = 0;
	int rc;

	memset(conv, 0, sizeof(*conv));
	if (t->err || proto_hex_decode(hex, id, ID_LEN) != 0)
		return t->err ? -1 : 0;
	if (links_of(t, id, key, 1, &n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((rc = conv_load(t, key + ID_LEN, conv)) != 0)
		return rc < 0 ? -1 : 0;
	return 1;
}

int
store_contact_announced(struct store_txn *t, const char *hex)
{
	struct st_contact c;
	uint8_t id[ID_LEN];

	if (t->err || proto_hex_decode(hex, id, ID_LEN) != 0)
		return t->err;
	if (contact_load(t, id, &c) == 0) {
		if (c.announced_at == 0)
			contact_mark_announced(t, id, &c);
		st_contact_free(&c);
	}
	return t->err;
}

/*
 * The conversation of link key: deleted with its messages (erase), or
 * kept and no longer the contact's, its deliveries and mails no longer
 * naming it. The link goes either way. Only the contact's own is deleted:
 * a link whose conversation names another contact (none is made so; a
 * bug's or a damaged copy's) never erases that contact's conversation.
 */
static void
link_end(struct store_txn *t, const uint8_t key[CC_KEY_LEN], int erase)
{
	char hex[ST_ID_HEX + 1], conv_hex[ST_ID_HEX + 1];
	struct st_conv c;
	int rc;

	if ((rc = conv_load(t, key + ID_LEN, &c)) < 0)
		return;
	proto_hex_encode(key, ID_LEN, hex);
	if (rc == 0 && erase && strcmp(c.contact_id, hex) == 0) {
		st_conv_free(&c);
		proto_hex_encode(key + ID_LEN, ID_LEN, conv_hex);
		store_conv_delete(t, conv_hex);	/* its link with it */
		return;
	}
	if (rc == 0 && strcmp(c.contact_id, hex) == 0) {
		c.contact_id[0] = '\0';
		conv_save(t, key + ID_LEN, &c);
	}
	if (rc == 0) {
		st_conv_free(&c);
		/*
		 * Its deliveries and mails not yet sent (a receiver down)
		 * named the contact: none sends its name or email after.
		 */
		outbox_conv_unlinked(t, key + ID_LEN, hex);
		store_mail_conv_unlinked(t, key + ID_LEN, hex);
	}
	link_del(t, key);
}

int
store_org_contacts_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	uint8_t (*ids)[CONTACT_KEY_LEN] = NULL, *links = NULL;
	struct st_contact c;
	MDB_cursor *cur;
	MDB_val k = { .mv_size = strlen(org) + 1, .mv_data = (void *)org }, v;
	size_t plen = k.mv_size;
	uint32_t found = 0, i, nl, j;
	int rc;

	*n = 0;
	if (t->err)
		return t->err;
	if ((ids = calloc(max, sizeof(*ids))) == NULL ||
	    (links = calloc(max, CC_KEY_LEN)) == NULL) {
		free(ids);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_org, &cur)) != 0) {
		free(ids);
		free(links);
		return txn_lmdb(t, rc, "cursor");
	}
	/* Its own entries: org NUL u64 created_at | id. */
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && found < max && k.mv_size == plen + CONTACT_KEY_LEN &&
	    memcmp(k.mv_data, org, plen) == 0) {
		memcpy(ids[found++], (uint8_t *)k.mv_data + plen,
		    CONTACT_KEY_LEN);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	for (i = 0; i < found && !t->err; i++) {
		const uint8_t *id = ids[i] + 8;

		if (contact_load(t, id, &c) != 0)
			continue;
		contact_forget(t, id, &c);
		st_contact_free(&c);
		/* Its links to conversations (theirs go with them). */
		do {
			if (links_of(t, id, links, max, &nl) < 0)
				break;
			for (j = 0; j < nl && !t->err; j++)
				link_del(t, links + (size_t)j * CC_KEY_LEN);
		} while (nl == max && !t->err);
	}
	free(ids);
	free(links);
	if (!t->err)
		*n = found;
	return t->err;
}

/* The contact of a request, in who asks's organisation: 0, or -1 failed. */
static int
contact_asked(struct store_txn *t, const char *contact_id,
    uint8_t id[ID_LEN], struct st_contact *c)
{
	int rc;

	if (!st_id_valid(contact_id))
		return store_fail(t, PROTO_E_INVALID,
		    "contact id must be 32 lowercase hex digits"), -1;
	proto_hex_decode(contact_id, id, ID_LEN);
	/* Another organisation's is absent, as an unknown id. */
	if ((rc = contact_load(t, id, c)) == 0 && t->org != NULL &&
	    strcmp(c->org, t->org) != 0) {
		st_contact_free(c);
		rc = 1;
	}
	if (rc == 1)
		store_fail(t, PROTO_E_NOT_FOUND, "no such contact");
	return rc == 0 ? 0 : -1;
}

void
store_visitor_name(struct store_txn *t, struct st_conv *c)
{
	struct st_contact ct;
	uint8_t id[ID_LEN];
	int rc = 1;

	if (t->err)
		return;
	if (st_id_valid(c->contact_id)) {
		proto_hex_decode(c->contact_id, id, ID_LEN);
		rc = contact_load(t, id, &ct);
	}
	if (rc == 0) {
		strlcpy(c->visitor_name, ct.name[0] != '\0' ? ct.name :
		    ct.email, sizeof(c->visitor_name));
		st_contact_free(&ct);
	}
	/* No contact, or one with neither (a phone alone): made up. */
	if (rc == 0 && c->visitor_name[0] == '\0')
		rc = 1;
	if (rc == 1)
		st_visitor_name_gen(c->session, c->visitor_name,
		    sizeof(c->visitor_name));
}

/* ---------------------------------------------------------------- erasure */

/*
 * A contact being erased or deleted (contact_gone, issue 22): its record
 * is gone at once; what is left to do is kept here so that the sweep
 * finishes it after a crash, and ST_CONTACT_ERASING reads whether it is.
 * Value: u8 version, u8 erase, u8 haspos, pos[32] (the last visitor
 * session looked at); from version 2, u8 n and n bytes: its organisation
 * (whose erasure it is: none of version 1, every organisation's).
 */
struct gone {
	uint8_t id[ID_LEN];
	int erase;		/* conversations and sessions go too */
	int haspos;
	uint8_t pos[ST_TOKEN_HASH_LEN];
	char org[ST_WHO_ORG_MAX + 1];	/* version 1: "" */
	int any_org;		/* version 1: no organisation kept */
};

#define GONE_LEN	(3 + ST_TOKEN_HASH_LEN)
#define GONE_VERSION	2
/* Visitor sessions one step looks at (each a lookup, most not its). */
#define GONE_SESS_SCAN	1024

static void
gone_save(struct store_txn *t, const struct gone *g)
{
	uint8_t v[GONE_LEN + 1 + ST_WHO_ORG_MAX];
	size_t n = strlen(g->org);

	v[0] = GONE_VERSION;
	v[1] = (uint8_t)g->erase;
	v[2] = (uint8_t)g->haspos;
	memcpy(v + 3, g->pos, ST_TOKEN_HASH_LEN);
	v[GONE_LEN] = (uint8_t)n;
	memcpy(v + GONE_LEN + 1, g->org, n);
	db_put(t, t->st->contact_gone, g->id, ID_LEN, v, GONE_LEN + 1 + n,
	    "put contact gone");
}

/* Entry k, v of contact_gone into g: 0, or -1 (t's error: corrupt). */
static int
gone_read(struct store_txn *t, const MDB_val *k, const MDB_val *v,
    struct gone *g)
{
	const uint8_t *p = v->mv_data;
	size_t n = 0;
	int ok;

	memset(g, 0, sizeof(*g));
	ok = k->mv_size == ID_LEN && v->mv_size >= GONE_LEN;
	if (ok && p[0] == GONE_VERSION)
		ok = v->mv_size > GONE_LEN && (n = p[GONE_LEN]) <=
		    ST_WHO_ORG_MAX && v->mv_size == GONE_LEN + 1 + n;
	else if (ok)
		ok = p[0] == ST_RECORD_VERSION && v->mv_size == GONE_LEN;
	if (!ok) {
		rec_corrupt(t, "contact gone");
		return -1;
	}
	memcpy(g->id, k->mv_data, ID_LEN);
	g->erase = p[1] != 0;
	g->haspos = p[2] != 0;
	memcpy(g->pos, p + 3, ST_TOKEN_HASH_LEN);
	g->any_org = p[0] == ST_RECORD_VERSION;
	memcpy(g->org, p + GONE_LEN + 1, n);
	return 0;
}

/* The first contact still to finish into g: 1, 0 none, -1 error. */
static int
gone_first(struct store_txn *t, struct gone *g)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_gone, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return txn_lmdb(t, rc, "contacts gone"), -1;
	return gone_read(t, &k, &v, g) == 0 ? 1 : -1;
}

/*
 * One bounded step of g: its next max links ended, none more past the
 * first min once deadline (store_past) has passed, then, when that was
 * the last of them, the next GONE_SESS_SCAN visitor sessions; the last
 * step deletes its entry: one that left none of the messages of the
 * conversations it deleted to the messages' sweep (t->msgs_left), so
 * that the entry says the erasure is done only once all of it is gone.
 * (The sweep's steps remove those messages first: a step after one that
 * left some finds them gone. Other deletions' do not count.)
 * *n the conversations ended, *left 1 while work is left. 0, or t's error.
 */
static int
gone_step(struct store_txn *t, struct gone *g, uint32_t max, uint32_t min,
    uint64_t deadline, uint32_t *n, int *left)
{
	char hex[ST_ID_HEX + 1];
	const char *org = t->org;
	uint8_t *links;
	uint32_t got = 0;
	int end, msgs_left = t->msgs_left;

	*n = 0;
	*left = 1;
	if ((links = calloc(max, CC_KEY_LEN)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	t->org = NULL;	/* its conversations, whoever asked */
	t->msgs_left = 0;	/* this step's own */
	if (links_of(t, g->id, links, max, &got) == 0)
		for (; *n < got && !t->err && (*n < min ||
		    !store_past(deadline)); (*n)++)
			link_end(t, links + (size_t)*n * CC_KEY_LEN, g->erase);
	free(links);
	proto_hex_encode(g->id, ID_LEN, hex);
	/* Every link ended: the sessions' turn, in the same step. */
	if (!t->err && got < max && *n == got && wsess_contact_sweep(t, hex,
	    g->erase, g->pos, &g->haspos, GONE_SESS_SCAN, &end) == 0) {
		if (end && !t->msgs_left) {
			db_del(t, t->st->contact_gone, g->id, ID_LEN,
			    "delete contact gone");
			*left = 0;
		} else
			gone_save(t, g);
	}
	t->org = org;
	t->msgs_left |= msgs_left;
	return t->err;
}

int
store_contact_erase(struct store_txn *t, const char *contact_id, int erase,
    uint32_t max, int *done)
{
	struct st_contact c;
	struct gone g;
	uint32_t n;
	int left;

	if (t->err)
		return t->err;
	memset(&g, 0, sizeof(g));
	g.erase = erase != 0;
	if (contact_asked(t, contact_id, g.id, &c) < 0)
		return t->err;
	strlcpy(g.org, c.org, sizeof(g.org));
	contact_forget(t, g.id, &c);
	st_contact_free(&c);
	/* The live events that name it go once the batch commits. */
	store_forget(t, g.id);
	/* Its webhook deliveries and mails keep none of it (erased or not). */
	outbox_contact_gone(t, g.id);
	store_mail_contact_gone(t, g.id);
	gone_save(t, &g);
	/* Done once its deleted conversations' messages are gone too. */
	t->msgs_now = STORE_DELETE_MSGS;
	if (gone_step(t, &g, max, STORE_DELETE_MIN,
	    proto_mono_us() + STORE_DELETE_US, &n, &left) == 0)
		*done = !left && !t->msgs_left;
	return t->err;
}

/*
 * 1 when g's erasure is who asks's to know of: any to the install;
 * a format-2 entry's to its organisation; a format-1 entry's (noted
 * before the organisation was kept) to the organisation of the first
 * conversation it has left, and to none once none is left (only its
 * visitor sessions and messages remain, which name none).
 */
static int
gone_theirs(struct store_txn *t, const struct gone *g)
{
	uint8_t key[CC_KEY_LEN];
	struct st_conv c;
	uint32_t n;
	int theirs;

	if (t->org == NULL)
		return 1;
	if (!g->any_org)
		return strcmp(g->org, t->org) == 0;
	if (links_of(t, g->id, key, 1, &n) < 0 || n == 0 ||
	    conv_load(t, key + ID_LEN, &c) != 0)
		return 0;
	theirs = strcmp(c.org, t->org) == 0;
	st_conv_free(&c);
	return theirs;
}

int
store_contact_erasing(struct store_txn *t, const char *contact_id,
    int *erasing)
{
	struct st_contact c;
	struct gone g;
	uint8_t id[ID_LEN];
	MDB_val k = { .mv_size = ID_LEN, .mv_data = id }, v;
	int rc;

	*erasing = 0;
	if (t->err)
		return t->err;
	if (!st_id_valid(contact_id))
		return store_fail(t, PROTO_E_INVALID,
		    "contact id must be 32 lowercase hex digits");
	proto_hex_decode(contact_id, id, ID_LEN);
	if ((rc = db_get(t, t->st->contact_gone, id, ID_LEN, &v,
	    "contacts gone")) < 0 || (rc == 0 && gone_read(t, &k, &v, &g) < 0))
		return t->err;
	/* Another organisation's erasure is none of the asker's. */
	if (rc == 0 && gone_theirs(t, &g)) {
		*erasing = 1;
		return 0;
	}
	if (t->err)
		return t->err;
	/* None under way: a contact as it is, or nothing of it (404). */
	if (contact_asked(t, contact_id, id, &c) < 0)
		return t->err;
	st_contact_free(&c);
	return 0;
}

int
store_contact_gone_sweep(struct store_txn *t, uint32_t max,
    uint64_t deadline, uint32_t *n, int *more)
{
	struct gone g;
	int rc, left;

	*n = 0;
	*more = 0;
	if (t->err)
		return t->err;
	if ((rc = gone_first(t, &g)) <= 0)
		return t->err;
	if (gone_step(t, &g, max, 1, deadline, n, &left) == 0)
		*more = 1;	/* this one again, or the next */
	return t->err;
}

static int
page_contact(struct store_txn *t, const uint8_t *id, void *c)
{
	return contact_load(t, id, c);
}

/* index_walk()'s take: a contact of contact_org's walk. */
static int
take_contact(struct store_txn *t, const uint8_t *id, void *item, void *arg)
{
	(void)arg;
	return contact_load(t, id, item);
}

/* t->org's contacts: a page of its own entries, newest first, its count. */
static void
org_contact_page(struct store_txn *t, uint32_t limit, const char *cursor,
    struct index_page *pg)
{
	struct index_walk w;
	uint64_t total;

	memset(pg, 0, sizeof(*pg));
	if (t->err)
		return;
	if (limit < 1 || limit > ST_LIST_MAX) {
		store_fail(t, PROTO_E_INVALID, "limit must be 1 to 200");
		return;
	}
	if (rec_count_get(t, t->st->contact_counts, t->org, strlen(t->org),
	    &total, "contact count") < 0)
		return;
	memset(&w, 0, sizeof(w));
	w.prefix = t->org;
	w.plen = strlen(t->org) + 1;
	w.limit = limit;
	w.size = sizeof(struct st_contact);
	w.take = take_contact;
	index_walk(t, t->st->contact_org, "contact", cursor, &w, pg);
	pg->total = total;
}

int
store_contact_list(struct store_txn *t, uint32_t limit, const char *cursor,
    struct st_contact_page *out)
{
	struct index_page pg;
	struct st_contact_page l;

	if (t->org != NULL)
		org_contact_page(t, limit, cursor, &pg);
	else
		index_page(t, t->st->contact_created, t->st->contacts,
		    "contact", limit, cursor, sizeof(*l.contacts),
		    page_contact, &pg);
	memset(&l, 0, sizeof(l));
	l.total = pg.total;
	l.n = pg.n;
	l.contacts = pg.items;
	if (t->err) {
		st_rep_free(PROTO_ST_CONTACT_LIST, &l);
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
 * (*n of them): those after conversation after (NULL: from the first),
 * at most max (0: all). 0, or -1 with t failed.
 */
static int
contact_convs(struct store_txn *t, const uint8_t id[ID_LEN],
    const uint8_t *after, size_t max, struct conv_link **out, size_t *n)
{
	uint8_t from[CC_KEY_LEN];
	struct conv_link *cl = NULL, *ncl;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc, lrc;

	*out = NULL;
	*n = 0;
	if ((rc = mdb_cursor_open(t->txn, t->st->contact_convs, &cur)) != 0)
		return txn_lmdb(t, rc, "cursor"), -1;
	memcpy(from, id, ID_LEN);
	if (after != NULL)
		memcpy(from + ID_LEN, after, ID_LEN);
	k.mv_size = after != NULL ? CC_KEY_LEN : ID_LEN;
	k.mv_data = from;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && after != NULL && k.mv_size == CC_KEY_LEN &&
	    memcmp(k.mv_data, from, CC_KEY_LEN) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && !t->err && k.mv_size == CC_KEY_LEN &&
	    memcmp(k.mv_data, id, ID_LEN) == 0 && (max == 0 || *n < max)) {
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

/*
 * The first ST_LIST_MAX of cl's n (then freed, with the rest) into f's
 * conversations and links; t failed when out of memory.
 */
static void
full_take(struct store_txn *t, struct conv_link *cl, size_t n,
    struct store_contact_full *f)
{
	size_t i;

	if (!t->err && n > 0 &&
	    ((f->convs = calloc(n, sizeof(*f->convs))) == NULL ||
	    (f->links = calloc(n, sizeof(*f->links))) == NULL))
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (!t->err && f->n < ST_LIST_MAX) {
			f->convs[f->n] = cl[i].conv;
			f->links[f->n++] = cl[i].link;
			continue;
		}
		st_conv_free(&cl[i].conv);
		store_clink_free(&cl[i].link);
	}
	free(cl);
}

int
store_contact_convs(struct store_txn *t, const char *contact_id,
    const char *cursor, struct store_contact_full *out)
{
	struct store_contact_full f;
	struct conv_link *cl;
	uint8_t id[ID_LEN], after[ID_LEN];
	size_t n;

	if (t->err)
		return t->err;
	memset(&f, 0, sizeof(f));
	if (contact_asked(t, contact_id, id, &f.contact) < 0)
		return t->err;
	if (cursor[0] != '\0' && !st_id_valid(cursor)) {
		store_contact_full_free(&f);
		return store_fail(t, PROTO_E_INVALID, "malformed cursor");
	}
	if (cursor[0] != '\0')
		proto_hex_decode(cursor, after, ID_LEN);
	if (contact_convs(t, id, cursor[0] != '\0' ? after : NULL,
	    ST_LIST_MAX, &cl, &n) == 0) {
		full_take(t, cl, n, &f);
		/* A full page: the next may hold more. */
		if (n == ST_LIST_MAX && !t->err)
			strlcpy(f.next_cursor, f.convs[n - 1].id,
			    sizeof(f.next_cursor));
	}
	if (t->err) {
		store_contact_full_free(&f);
		return t->err;
	}
	*out = f;
	return 0;
}

/*
 * Where a page after cursor (st_contact_cursor_valid, not "") starts in
 * cl's n, sorted by conv_newer: the first after the cursor's place.
 */
static size_t
page_start(const struct conv_link *cl, size_t n, const char *cursor)
{
	char at[17];
	uint64_t since;
	size_t i;

	memcpy(at, cursor, 16);
	at[16] = '\0';
	since = strtoull(at, NULL, 16);
	for (i = 0; i < n; i++)
		if (cl[i].conv.updated_at < since ||
		    (cl[i].conv.updated_at == since &&
		    strcmp(cl[i].conv.id, cursor + 16) < 0))
			break;
	return i;
}

/* The first limit of cl's n from start into f; the others freed. */
static void
page_take(struct store_txn *t, struct conv_link *cl, size_t n,
    size_t start, uint32_t limit, struct store_contact_full *f)
{
	const struct st_conv *last;
	size_t i, end = start + limit < n ? start + limit : n;

	for (i = 0; i < n; i++)
		if (i < start || i >= end) {
			st_conv_free(&cl[i].conv);
			store_clink_free(&cl[i].link);
		}
	f->total = n;
	if (end < n && end > start) {
		last = &cl[end - 1].conv;
		snprintf(f->next_cursor, sizeof(f->next_cursor),
		    "%016llx%s", (unsigned long long)last->updated_at,
		    last->id);
	}
	if (start > 0 && end > start)
		memmove(cl, cl + start, (end - start) * sizeof(*cl));
	full_take(t, cl, end - start, f);
}

int
store_contact_get(struct store_txn *t, const char *contact_id,
    uint32_t limit, const char *cursor, struct store_contact_full *out)
{
	struct store_contact_full f;
	struct conv_link *cl;
	size_t n;
	uint8_t id[ID_LEN];
	int rc;

	if (t->err)
		return t->err;
	if (limit < 1 || limit > ST_LIST_MAX ||
	    !st_contact_cursor_valid(cursor))
		return store_fail(t, PROTO_E_INVALID,
		    "limit must be 1 to 200, cursor a contact's");
	memset(&f, 0, sizeof(f));
	if (contact_asked(t, contact_id, id, &f.contact) < 0)
		return t->err;
	/*
	 * A contact has a conversation per session that named it: few. They
	 * are read through the contact's index and sorted here by activity.
	 */
	rc = contact_convs(t, id, NULL, 0, &cl, &n);
	if (rc == 0 && n > 1)
		qsort(cl, n, sizeof(*cl), conv_newer);
	if (rc == 0)
		page_take(t, cl, n, cursor[0] != '\0' ?
		    page_start(cl, n, cursor) : 0, limit, &f);
	else
		full_take(t, cl, n, &f);
	if (t->err) {
		store_contact_full_free(&f);
		return t->err;
	}
	*out = f;
	return 0;
}

/*
 * A contact and its conversations as ST_CONTACT_GET's reply: their links
 * pointing at f's strings (rep->links to free). 0, or -1 out of memory.
 */
int
store_contact_get_rep(struct st_contact_get_rep *rep,
    const struct store_contact_full *f)
{
	uint32_t i;

	memset(rep, 0, sizeof(*rep));
	if (f->n > 0 && (rep->links = calloc(f->n,
	    sizeof(*rep->links))) == NULL)
		return -1;
	rep->contact = f->contact;
	rep->convs = f->convs;
	rep->n = f->n;
	rep->total = f->total;
	strlcpy(rep->next_cursor, f->next_cursor, sizeof(rep->next_cursor));
	for (i = 0; i < f->n; i++)
		rep->links[i] = (struct st_clink){
		    (uint8_t)f->links[i].unverified, f->links[i].name,
		    f->links[i].email, f->links[i].phone };
	return 0;
}

/* Session s (under hash) and its claim as an item of the reply, into o. */
static int
sess_item(struct store_txn *t, const uint8_t *hash,
    const struct st_wsess *s, struct st_contact_sess *o)
{
	struct claim cl;

	memset(o, 0, sizeof(*o));
	strlcpy(o->session, s->id, sizeof(o->session));
	strlcpy(o->widget, s->widget, sizeof(o->widget));
	o->created_at = s->created_at;
	o->active_at = s->active_at;
	o->expires_at = s->expires_at;
	if (claim_load(t, hash, &cl) < 0)
		return -1;
	o->submissions = cl.count;
	o->last.unverified = (uint8_t)cl.unverified;
	/* The strings move to the item (the reply's, freed with it). */
	o->last.name = cl.name != NULL ? cl.name : strdup("");
	o->last.email = cl.email != NULL ? cl.email : strdup("");
	o->last.phone = cl.phone != NULL ? cl.phone : strdup("");
	if (o->last.name == NULL || o->last.email == NULL ||
	    o->last.phone == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory"), -1;
	return 0;
}

int
store_contact_sessions(struct store_txn *t, const char *contact_id,
    const char *cursor, struct st_contact_sess_rep *out)
{
	struct st_contact_sess_rep l;
	struct st_wsess s;
	struct st_contact c;
	uint8_t id[ID_LEN], from[ST_TOKEN_HASH_LEN];
	char hex[ST_ID_HEX + 1];
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t looked = 0;
	int rc;

	if (t->err)
		return t->err;
	if (contact_asked(t, contact_id, id, &c) < 0)
		return t->err;
	st_contact_free(&c);
	proto_hex_encode(id, ID_LEN, hex);
	memset(&l, 0, sizeof(l));
	if (cursor[0] != '\0' && (strlen(cursor) != 2 * ST_TOKEN_HASH_LEN ||
	    proto_hex_decode(cursor, from, sizeof(from)) != 0))
		return store_fail(t, PROTO_E_INVALID, "malformed cursor");
	if ((l.sessions = calloc(ST_LIST_MAX, sizeof(*l.sessions))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->wsessions, &cur)) != 0) {
		free(l.sessions);
		return txn_lmdb(t, rc, "cursor");
	}
	k.mv_size = cursor[0] != '\0' ? sizeof(from) : 0;
	k.mv_data = from;
	rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	if (rc == 0 && cursor[0] != '\0' && k.mv_size == sizeof(from) &&
	    memcmp(k.mv_data, from, sizeof(from)) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	/* A bounded look: the next page starts after the last key seen. */
	while (rc == 0 && !t->err && looked < CONTACT_SESS_SCAN &&
	    l.n < ST_LIST_MAX) {
		looked++;
		if (k.mv_size == ST_TOKEN_HASH_LEN &&
		    wsess_load(t, k.mv_data, &s) == 0 &&
		    strcmp(s.contact_id, hex) == 0 &&
		    sess_item(t, k.mv_data, &s, &l.sessions[l.n++]) < 0)
			break;
		proto_hex_encode(k.mv_data, k.mv_size < ST_TOKEN_HASH_LEN ?
		    k.mv_size : ST_TOKEN_HASH_LEN, l.next_cursor);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		l.next_cursor[0] = '\0';
	else if (rc != 0)
		txn_lmdb(t, rc, "walk visitor sessions");
	if (t->err) {
		st_rep_free(PROTO_ST_CONTACT_SESSIONS, &l);
		return t->err;
	}
	*out = l;
	return 0;
}

/*
 * A conversation just made for a session with a contact: its link says
 * what the session's claim says (conv_open_contact made it verified); a
 * verified identify's is not, when made with a secret other than the
 * widget's (secret, now).
 */
void
claim_link_conv(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN],
    const struct st_wsess *s, const struct st_conv *conv,
    const char *secret)
{
	uint8_t key[CC_KEY_LEN];
	char tag[KEY_TAG_HEX + 1];
	struct claim cl;

	/* None when the contact was full (conv_open_contact left it out). */
	if (s->contact_id[0] == '\0' ||
	    strcmp(conv->contact_id, s->contact_id) != 0 ||
	    claim_load(t, hash, &cl) != 0)
		return;
	key_tag(secret, tag);
	if (cl.key[0] != '\0' && strcmp(cl.key, tag) != 0)
		cl.unverified = 1;
	if (cl.unverified &&
	    proto_hex_decode(s->contact_id, key, ID_LEN) == 0 &&
	    proto_hex_decode(conv->id, key + ID_LEN, ID_LEN) == 0)
		link_put(t, key, &cl);
	claim_free(&cl);
}

void
claim_contact_gone(struct store_txn *t,
    const uint8_t hash[ST_TOKEN_HASH_LEN], const struct st_wsess *s,
    const char *contact)
{
	struct claim cl;

	if (t->err || claim_load(t, hash, &cl) != 0)
		return;
	/*
	 * Its last submission's contact; a claim of before format 3 does
	 * not say, and the session's contact is the one it went to unless
	 * a verified identify moved it since.
	 */
	if (strcmp(cl.to[0] != '\0' ? cl.to : s->contact_id, contact) == 0 &&
	    (cl.to[0] != '\0' || (cl.name != NULL && cl.name[0] != '\0') ||
	    (cl.email != NULL && cl.email[0] != '\0') ||
	    (cl.phone != NULL && cl.phone[0] != '\0')) &&
	    store_set_str(t, &cl.name, "") == 0 &&
	    store_set_str(t, &cl.email, "") == 0 &&
	    store_set_str(t, &cl.phone, "") == 0) {
		cl.to[0] = '\0';
		claim_save(t, hash, &cl);
	}
	claim_free(&cl);
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
