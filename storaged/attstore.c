/*
 * Attachments (proto/attmsg.h): uploads in pieces, each piece kept once
 * per organisation under its SHA-256 and counted by the attachments that
 * hold it, the attachment records, named by the message that carries
 * them, deleted with their conversation, swept when no message named
 * them in time:
 *
 *	atts        id[16] -> attachment (st_att)
 *	att_chunks  org NUL | sha256[32] -> the piece's bytes
 *	att_refs    org NUL | sha256[32] -> u32 refs, u32 bytes
 *	att_usage   org -> u64 bytes of the organisation's pieces
 *	att_due     u64 expires_at | id[16] -> (): uploads not yet named
 *	att_conv    conversation id[16] | id[16] -> ()
 *	att_queue, att_lanes: PDFs whose text the fetcher is to read,
 *	            fair across clients; att_leases: those it is reading
 *	            (attqueue.c)
 *	att_text    id[16] -> a PDF's text, as the fetcher read it
 *
 * A piece's bytes are never rewritten: its count lives apart, so a second
 * upload of the same file costs a count, not a copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attstore.h"
#include "contactstore.h"
#include "log.h"
#include "random.h"
#include "storeint.h"
#include "util.h"
#include "widgetstore.h"

#define CHUNK_KEY_MAX	(ST_ORG_ID_MAX + 1 + ST_ATT_HASH_LEN)
#define DUE_KEY_LEN	(8 + ID_LEN)
#define CONV_KEY_LEN	(2 * ID_LEN)

/* Who asks may see org's records (t->org NULL: any organisation's). */
static int
org_sees(const struct store_txn *t, const char *org)
{
	return t->org == NULL || strcmp(t->org, org) == 0;
}

/* "att_" and 32 hex digits into its 16 bytes: 0, or -1 not an id. */
static int
att_id_key(const char *id, uint8_t k[ID_LEN])
{
	if (!st_prefixed_id_valid(id, "att_"))
		return -1;
	proto_hex_decode(id + 4, k, ID_LEN);
	return 0;
}

static size_t
chunk_key(uint8_t k[CHUNK_KEY_MAX], const char *org, const uint8_t *hash)
{
	size_t olen = strlen(org);

	memcpy(k, org, olen + 1);
	memcpy(k + olen + 1, hash, ST_ATT_HASH_LEN);
	return olen + 1 + ST_ATT_HASH_LEN;
}

static void
due_key(uint8_t k[DUE_KEY_LEN], uint64_t at, const uint8_t id[ID_LEN])
{
	proto_put_be64(k, at);
	memcpy(k + 8, id, ID_LEN);
}

/*
 * Room in LMDB's map for more bytes of files: what is used and more stay
 * under MAP_FILES_PART of the map, so attachments never fill the store
 * the conversations need (its map is PARLEY_MAP_SIZE_MB: past it every
 * write fails).
 */
#define MAP_FILES_PART(m)	((m) / 5 * 4)
static int
map_room(struct store_txn *t, uint64_t more)
{
	uint64_t used, size;

	if (map_use(t->st, t->txn, &used, &size) < 0)
		return 1;	/* not known: storaged's own errors will say */
	return used + more <= MAP_FILES_PART(size);
}

static uint64_t
usage_get(struct store_txn *t, const char *org)
{
	MDB_val v;

	if (db_get(t, t->st->att_usage, org, strlen(org), &v,
	    "get attachment usage") != 0 || v.mv_size != 8)
		return 0;
	return proto_get_be64(v.mv_data);
}

/*
 * Whether more bytes fit org's quota (0: none) and the map: a visitor's
 * within ST_ATT_VISITORS_PART of the quota, a person's within all of it.
 */
static int
quota_room(struct store_txn *t, const char *org, uint64_t quota,
    uint64_t more, int visitor)
{
	uint64_t part = visitor ? ST_ATT_VISITORS_PART(quota) : quota;

	return (quota == 0 || usage_get(t, org) + more <= part) &&
	    map_room(t, more);
}

static void
usage_add(struct store_txn *t, const char *org, int64_t delta)
{
	uint64_t u = usage_get(t, org);
	uint8_t b[8];

	u = delta < 0 && (uint64_t)-delta > u ? 0 : u + (uint64_t)delta;
	proto_put_be64(b, u);
	db_put(t, t->st->att_usage, org, strlen(org), b, sizeof(b),
	    "put attachment usage");
}

/*
 * One more holder of org's piece hash (len bytes at data, stored when it
 * is new: *added its bytes, else 0). 0, or -1 (t failed).
 */
static int
chunk_ref(struct store_txn *t, const char *org, const uint8_t *hash,
    const uint8_t *data, uint32_t len, uint32_t *added)
{
	uint8_t k[CHUNK_KEY_MAX], rv[8];
	size_t klen = chunk_key(k, org, hash);
	uint32_t refs = 0, held = 0;
	MDB_val v;
	int rc;

	*added = 0;
	if ((rc = db_get(t, t->st->att_refs, k, klen, &v,
	    "get attachment piece count")) < 0)
		return -1;
	if (rc == 0 && v.mv_size == 8) {
		refs = proto_get_be32(v.mv_data);
		held = proto_get_be32((const uint8_t *)v.mv_data + 4);
	}
	if (refs == 0) {
		db_put(t, t->st->att_chunks, k, klen, data, len,
		    "put attachment piece");
		*added = held = len;
		usage_add(t, org, len);
	}
	/*
	 * The length the usage counts stays the stored piece's: a copy's
	 * reference (att_copy, no bytes) once wrote 0 here, and the last
	 * holder's deletion then gave none of them back.
	 */
	proto_put_be32(rv, refs + 1);
	proto_put_be32(rv + 4, held);
	db_put(t, t->st->att_refs, k, klen, rv, sizeof(rv),
	    "put attachment piece count");
	return t->err ? -1 : 0;
}

/* One holder less of org's piece hash; the last takes its bytes. */
static void
chunk_unref(struct store_txn *t, const char *org, const uint8_t *hash)
{
	uint8_t k[CHUNK_KEY_MAX], rv[8];
	size_t klen = chunk_key(k, org, hash);
	uint32_t refs, len;
	MDB_val v;

	if (db_get(t, t->st->att_refs, k, klen, &v,
	    "get attachment piece count") != 0 || v.mv_size != 8)
		return;
	refs = proto_get_be32(v.mv_data);
	len = proto_get_be32((const uint8_t *)v.mv_data + 4);
	if (refs > 1) {
		proto_put_be32(rv, refs - 1);
		proto_put_be32(rv + 4, len);
		db_put(t, t->st->att_refs, k, klen, rv, sizeof(rv),
		    "put attachment piece count");
		return;
	}
	/* A count a copy zeroed (chunk_ref's note): the piece's own size. */
	if (len == 0 && db_get(t, t->st->att_chunks, k, klen, &v,
	    "get attachment piece") == 0)
		len = (uint32_t)v.mv_size;
	db_del(t, t->st->att_refs, k, klen, "delete attachment piece count");
	db_del_quiet(t, t->st->att_chunks, k, klen, "delete attachment piece");
	usage_add(t, org, -(int64_t)len);
}

/* 0 loaded, 1 absent (or not an id), -1 (t failed). */
static int
att_load(struct store_txn *t, const char *id, uint8_t k[ID_LEN],
    struct st_att *a)
{
	memset(a, 0, sizeof(*a));
	if (att_id_key(id, k) < 0)
		return 1;
	return rec_load(t, t->st->atts, k, ID_LEN, &st_att_layout, a,
	    "attachment");
}

static void
att_save(struct store_txn *t, const uint8_t k[ID_LEN], const struct st_att *a)
{
	rec_put_rows(t, t->st->atts, k, ID_LEN, &st_att_layout, a,
	    "put attachment");
}

/* Attachment a (key k) deleted: its pieces let go, its index entries. */
static void
att_drop(struct store_txn *t, const uint8_t k[ID_LEN], const struct st_att *a)
{
	uint8_t hash[ST_ATT_HASH_LEN], dk[DUE_KEY_LEN], ck[CONV_KEY_LEN];
	uint32_t i;

	for (i = 0; i < a->npieces && !t->err; i++)
		if (proto_hex_decode(a->pieces[i], hash, sizeof(hash)) == 0)
			chunk_unref(t, a->org, hash);
	if (a->expires_at != 0) {
		due_key(dk, a->expires_at, k);
		db_del_quiet(t, t->st->att_due, dk, sizeof(dk),
		    "delete attachment due");
	}
	if (a->conv_id[0] != '\0') {
		proto_hex_decode(a->conv_id, ck, ID_LEN);
		memcpy(ck + ID_LEN, k, ID_LEN);
		db_del_quiet(t, t->st->att_conv, ck, sizeof(ck),
		    "delete conversation attachment");
	}
	/* Its att_queue entry, if any, is passed over when taken. */
	att_queue_done(t, k);
	db_del_quiet(t, t->st->att_text, k, ID_LEN, "delete attachment text");
	db_del(t, t->st->atts, k, ID_LEN, "delete attachment");
}

/* Upload a starts again as a file of size bytes: its pieces let go. */
static void
att_restart(struct store_txn *t, struct st_att *a, uint32_t size)
{
	uint8_t hash[ST_ATT_HASH_LEN];
	uint32_t i;

	for (i = 0; i < a->npieces && !t->err; i++) {
		if (proto_hex_decode(a->pieces[i], hash, sizeof(hash)) == 0)
			chunk_unref(t, a->org, hash);
		free(a->pieces[i]);
	}
	a->npieces = 0;
	a->received = 0;
	a->size = size;
}

/* The description a message carries. */
static void
att_described(const struct st_att *a, struct st_msg_att *out)
{
	memset(out, 0, sizeof(*out));
	strlcpy(out->id, a->id, sizeof(out->id));
	out->type = a->type;
	out->size = a->size;
	strlcpy(out->name, a->name, sizeof(out->name));
	strlcpy(out->key, a->key, sizeof(out->key));
}

/* A visitor's token hash as a record keeps it. */
static void
session_hex(const uint8_t *token, uint32_t len, char out[2 * ST_TOKEN_HASH_LEN + 1])
{
	out[0] = '\0';
	if (len == ST_TOKEN_HASH_LEN)
		proto_hex_encode(token, len, out);
}

/* -------------------------------------------------------------- uploads */

/*
 * The enabled widget a visitor's upload goes through: by its public id,
 * or (api) the chat API's. 0 (w loaded), 1 none or off, -1 (t failed).
 */
static int
upload_widget(struct store_txn *t, int api, const char *widget_id,
    struct st_widget *w)
{
	return api ? widget_on(t, widget_load(t, ST_DEFAULT_WIDGET, w), w) :
	    widget_usable(t, widget_id, w);
}

/*
 * Whether a visitor's request through widget w comes from a page w does
 * not take: an Origin its allowed_origins do not name, as its config and
 * its socket are refused (st_origin_allowed). No Origin (a client that
 * is no browser's page) and the chat API's (CORS_ORIGIN is its rule) are
 * not refused here.
 */
static int
origin_refused(const struct st_widget *w, int api, const char *origin)
{
	return !api && origin != NULL && origin[0] != '\0' &&
	    !st_origin_allowed(w, origin);
}

/*
 * Whether the visitor of upload q is verified, for widget w that takes
 * verified visitors only: its session's own identify verified it, with
 * w's secret now (the chat API's, which carries no identity, never). 1
 * yes, 0 no, -1 error.
 */
static int
upload_verified(struct store_txn *t, const struct st_att_new_req *q,
    const struct st_widget *w)
{
	struct st_wsess s;
	int rc;

	if (q->api || q->token_len != ST_TOKEN_HASH_LEN)
		return 0;
	if ((rc = wsess_load(t, q->token, &s)) != 0)
		return rc < 0 ? -1 : 0;
	return store_wsess_verified(t, q->token, &s, w->identity_secret);
}

/*
 * Who may upload where: a visitor through an enabled widget that takes
 * attachments (*max its limit), a person to a conversation of theirs or
 * (no conversation) for a canned reply of their organisation (t->org;
 * none: the default one). Sets
 * a's organisation, widget, session, author, a person's conversation,
 * out->result when refused.
 */
static int
new_owner(struct store_txn *t, const struct st_att_new_req *q, int admin,
    const char *author, struct st_att *a, struct st_att_new_rep *out)
{
	uint8_t cid[ID_LEN];
	struct st_widget w;
	struct st_conv c;
	int rc;

	if (admin && q->conv_id[0] == '\0') {
		/* For a canned reply of who asks's organisation. */
		strlcpy(a->org, t->org != NULL ? t->org : ST_WHO_ORG_DEFAULT,
		    sizeof(a->org));
		strlcpy(a->author, author, sizeof(a->author));
		out->max = ST_ATT_MAX;
		return 0;
	}
	if (admin) {
		if (!st_id_valid(q->conv_id))
			return store_fail(t, PROTO_E_INVALID,
			    "conversation: no such conversation");
		proto_hex_decode(q->conv_id, cid, ID_LEN);
		if ((rc = conv_load(t, cid, &c)) < 0)
			return -1;
		if (rc == 1 || !org_sees(t, c.org)) {
			if (rc == 0)
				st_conv_free(&c);
			return store_fail(t, PROTO_E_NOT_FOUND,
			    "no such conversation");
		}
		strlcpy(a->org, c.org, sizeof(a->org));
		st_conv_free(&c);
		/* Its conversation's: completed, deleted, named only there. */
		proto_hex_encode(cid, ID_LEN, a->conv_id);
		strlcpy(a->author, author, sizeof(a->author));
		out->max = ST_ATT_MAX;
		return 0;
	}
	if ((rc = upload_widget(t, q->api, q->widget_id, &w)) < 0)
		return -1;
	if (rc == 1) {
		out->result = ST_ATT_NO_WIDGET;
		return 0;
	}
	if (origin_refused(&w, q->api, q->origin)) {
		st_widget_free(&w);
		out->result = ST_ATT_ORIGIN;
		return 0;
	}
	if (w.identity_required && (rc = upload_verified(t, q, &w)) != 1) {
		st_widget_free(&w);
		if (rc < 0)
			return -1;
		out->result = ST_ATT_IDENTITY;
		return 0;
	}
	out->max = w.attachment_max_mb * ST_ATT_MB;
	if (w.nattachment_types == 0)
		out->result = ST_ATT_OFF;
	strlcpy(a->org, w.org, sizeof(a->org));
	strlcpy(a->widget, w.id, sizeof(a->widget));
	session_hex(q->token, q->token_len, a->session);
	st_widget_free(&w);
	return 0;
}

int
store_att_new(struct store_txn *t, const struct st_att_new_req *q,
    int admin, const char *author, struct st_att_new_rep *out)
{
	uint8_t k[ID_LEN], dk[DUE_KEY_LEN], key[ST_ATT_KEY_HEX / 2];
	struct st_att a;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	memset(&a, 0, sizeof(a));
	if (q->size == 0)
		return store_fail(t, PROTO_E_INVALID, "size: at least 1 byte");
	if (q->name[0] == '\0' || strlen(q->name) > ST_ATT_NAME_MAX ||
	    !proto_utf8_valid(q->name, strlen(q->name)))
		return store_fail(t, PROTO_E_INVALID,
		    "name: 1 to 200 bytes of UTF-8");
	if (!admin && q->token_len != ST_TOKEN_HASH_LEN)
		return store_fail(t, PROTO_E_INVALID, "token: none");
	if (new_owner(t, q, admin, author, &a, out) < 0 || out->result)
		return t->err;
	if (q->size > out->max) {
		out->result = ST_ATT_TOO_BIG;
		return 0;
	}
	if (!quota_room(t, a.org, q->quota, q->size, !admin)) {
		out->result = ST_ATT_FULL;
		return t->err;
	}
	proto_random(k, ID_LEN);
	memcpy(a.id, "att_", 4);
	proto_hex_encode(k, ID_LEN, a.id + 4);
	proto_random(key, sizeof(key));
	proto_hex_encode(key, sizeof(key), a.key);
	strlcpy(a.name, q->name, sizeof(a.name));
	a.size = q->size;
	a.created_at = t->st->now();
	a.expires_at = a.created_at + ST_ATT_PENDING_MS;
	att_save(t, k, &a);
	due_key(dk, a.expires_at, k);
	db_put(t, t->st->att_due, dk, sizeof(dk), "", 0,
	    "put attachment due");
	strlcpy(out->id, a.id, sizeof(out->id));
	return t->err;
}

/*
 * The upload a put names is the asker's: a visitor's through the same
 * widget and session, a person's of org made for the conversation the
 * put names ("" a canned reply's). 1 yes, 0 no, -1 (t failed).
 */
static int
put_owns(struct store_txn *t, const struct st_att_put_req *q, int admin,
    const struct st_att *a)
{
	char sess[2 * ST_TOKEN_HASH_LEN + 1];
	struct st_widget w;
	int rc, own;

	if (admin)
		return org_sees(t, a->org) && a->session[0] == '\0' &&
		    strcmp(a->conv_id, q->conv_id != NULL ? q->conv_id :
		    "") == 0;
	session_hex(q->token, q->token_len, sess);
	if (sess[0] == '\0' || strcmp(sess, a->session) != 0)
		return 0;
	if ((rc = upload_widget(t, q->api, q->widget_id, &w)) != 0)
		return rc < 0 ? -1 : 0;
	own = strcmp(w.id, a->widget) == 0;
	st_widget_free(&w);
	return own;
}

/*
 * Whether visitor's piece q (or its DELETE) comes from a page its widget
 * does not take (origin_refused): 1 yes, 0 no (or no such widget: no
 * upload is its), -1 (t failed). Judged before the upload is looked
 * up, so such a page learns nothing of it.
 */
static int
put_origin_refused(struct store_txn *t, const struct st_att_put_req *q)
{
	struct st_widget w;
	int rc, refused;

	if (q->api || q->origin == NULL || q->origin[0] == '\0')
		return 0;
	if ((rc = upload_widget(t, 0, q->widget_id, &w)) != 0)
		return rc < 0 ? -1 : 0;
	refused = origin_refused(&w, 0, q->origin);
	st_widget_free(&w);
	return refused;
}

/* A visitor's first piece: its type one the widget takes. */
static int
type_taken(struct store_txn *t, const struct st_att *a, uint8_t type)
{
	struct st_widget w;
	int rc, kind = attach_kind(type), ok = 0;
	uint32_t i;

	if (kind < 0)
		return 0;
	if (a->widget[0] == '\0')
		return 1;
	if ((rc = widget_load(t, a->widget, &w)) != 0)
		return rc < 0 ? -1 : 0;
	for (i = 0; i < w.nattachment_types; i++)
		ok |= st_attach_kind(w.attachment_types[i]) == kind;
	st_widget_free(&w);
	return ok;
}

/* Piece q of upload a (key k) stored: its checks, then its bytes. */
static int
piece_put(struct store_txn *t, const struct st_att_put_req *q,
    const uint8_t k[ID_LEN], struct st_att *a, struct st_att_put_rep *out)
{
	uint64_t end = (uint64_t)q->offset + q->data.len;
	char **pieces;
	uint32_t added;
	int rc;

	if (q->data.len == 0 || end > a->size || q->hash_len !=
	    ST_ATT_HASH_LEN || (end < a->size && q->data.len != ST_ATT_PIECE))
		return store_fail(t, PROTO_E_INVALID, "Content-Range: each "
		    "piece but the last is 256 KiB, none past the size");
	if (q->offset == 0) {
		if ((rc = type_taken(t, a, q->type)) != 1) {
			out->result = ST_ATT_TYPE;
			return rc < 0 ? -1 : 1;
		}
		if (q->type == ATTACH_TEXT && a->size > ST_ATT_TEXT_MAX) {
			out->result = ST_ATT_TOO_BIG;
			return 1;
		}
		a->type = q->type;
	}
	/* A visitor's upload has its session; a person's none. */
	if (!quota_room(t, a->org, q->quota, q->data.len,
	    a->session[0] != '\0')) {
		out->result = ST_ATT_FULL;
		return 1;
	}
	if ((pieces = realloc(a->pieces, (a->npieces + 1) *
	    sizeof(*pieces))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	a->pieces = pieces;
	if ((pieces[a->npieces] = malloc(2 * ST_ATT_HASH_LEN + 1)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	proto_hex_encode(q->hash, ST_ATT_HASH_LEN, pieces[a->npieces++]);
	if (chunk_ref(t, a->org, q->hash, q->data.p, q->data.len, &added) < 0)
		return -1;
	a->received = (uint32_t)end;
	if (end == a->size) {
		/*
		 * A PDF's text is the fetcher's to read, in its client's
		 * turn (attqueue.c): a person's in the organisation's.
		 */
		if (a->type == ATTACH_PDF && att_queue_put(t, k,
		    q->rate_key != NULL && q->rate_key[0] != '\0' ?
		    q->rate_key : a->org) < 0)
			return -1;
		a->state = ST_ATT_COMPLETE;
		a->scan = q->scan <= ST_ATT_SCAN_MAX ? q->scan : 0;
		out->whole = 1;
		att_described(a, &out->att);
	}
	out->received = a->received;
	strlcpy(out->att.id, a->id, sizeof(out->att.id));
	att_save(t, k, a);
	return t->err ? -1 : 0;
}

/*
 * Whether the pieces of upload a are those the worker read before its
 * last piece q (q's prior, when it has one): 1 yes, 0 no.
 */
static int
prior_holds(const struct st_att_put_req *q, const struct st_att *a)
{
	uint8_t chain[ST_ATT_HASH_LEN] = { 0 }, hash[ST_ATT_HASH_LEN];
	uint32_t i;

	if (q->prior_len == 0)
		return 1;
	for (i = 0; i < a->npieces; i++) {
		if (proto_hex_decode(a->pieces[i], hash, sizeof(hash)) != 0)
			return 0;
		st_att_chain(chain, hash);
	}
	return memcmp(chain, q->prior, sizeof(chain)) == 0;
}

/*
 * Whether piece q (not a drop, not a stripped file's first piece stored
 * again) says a SIZE other than upload a's. The worker scans and strips
 * the piece its Content-Range says is the last: a SIZE over the upload's
 * made the real last piece pass as another, stored unscanned. Refused
 * before where the upload stands is judged, so a worker that finds the
 * SIZE false asks nothing more of the upload, and the client hears 400,
 * not 409. (0: a worker of the version before.)
 */
static int
size_false(const struct st_att_put_req *q, const struct st_att *a)
{
	return !q->drop && !q->reset && q->size != 0 && q->size != a->size;
}

int
store_att_put(struct store_txn *t, const struct st_att_put_req *q,
    int admin, struct st_att_put_rep *out)
{
	uint8_t k[ID_LEN];
	struct st_att a;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if (!admin && (rc = put_origin_refused(t, q)) != 0) {
		if (rc == 1)
			out->result = ST_ATT_ORIGIN;
		return t->err;
	}
	if ((rc = att_load(t, q->id, k, &a)) < 0)
		return t->err;
	if (rc == 1 || (rc = put_owns(t, q, admin, &a)) != 1 ||
	    a.state >= ST_ATT_BOUND) {
		out->result = ST_ATT_NO_UPLOAD;
		st_att_free(&a);
		return t->err;
	}
	if (q->drop)
		att_drop(t, k, &a);
	else if (size_false(q, &a))
		store_fail(t, PROTO_E_INVALID, "Content-Range: SIZE is not "
		    "the upload's size");
	else if (q->reset && a.state == ST_ATT_UPLOADING && q->offset == 0 &&
	    q->size > 0 && q->size <= a.size) {
		att_restart(t, &a, q->size);
		if (piece_put(t, q, k, &a, out) == 1)
			att_drop(t, k, &a);
	} else if (a.state != ST_ATT_UPLOADING || q->offset != a.received ||
	    !prior_holds(q, &a)) {
		out->result = ST_ATT_ORDER;
		out->received = a.received;
	} else if (piece_put(t, q, k, &a, out) == 1)
		att_drop(t, k, &a);	/* refused: nothing left behind */
	st_att_free(&a);
	return t->err;
}

static int att_text_get(struct store_txn *, const uint8_t [ID_LEN],
    struct st_att_read_rep *);

/*
 * Whether a read in mode (a person's: admin) sees a file in state: a
 * scan an upload still arriving, the fetcher any file; the rest, named
 * files, and a person a canned reply's too.
 */
static int
readable(uint8_t mode, int admin, uint8_t state)
{
	if (mode == ST_ATT_READ_UPLOADING && !admin)
		return state == ST_ATT_UPLOADING;
	if (mode == ST_ATT_READ_ANY && !admin)
		return 1;
	return state == ST_ATT_BOUND || (admin && state == ST_ATT_CANNED);
}

/*
 * Whether named attachment a is widget_id's (a visitor's link's public
 * wid_, "" the chat API's: the default widget), its conversation's
 * widget: 1 yes, 0 no, -1 error (t failed).
 */
static int
link_widget_ok(struct store_txn *t, const char *widget_id,
    const struct st_att *a)
{
	char id[ST_WIDGET_MAX + 1];
	uint8_t cid[ID_LEN];
	struct st_conv c;
	int rc, ok;

	if (widget_id == NULL || widget_id[0] == '\0')
		strlcpy(id, ST_DEFAULT_WIDGET, sizeof(id));
	else if ((rc = store_widget_internal_id(t, widget_id, id)) != 0)
		return rc < 0 ? -1 : 0;
	if (proto_hex_decode(a->conv_id, cid, ID_LEN) != 0)
		return 0;
	if ((rc = conv_load(t, cid, &c)) != 0)
		return rc < 0 ? -1 : 0;
	ok = strcmp(c.widget, id) == 0;
	st_conv_free(&c);
	return ok;
}

int
store_att_read(struct store_txn *t, const struct st_att_read_req *q,
    int admin, struct st_att_read_rep *out)
{
	uint8_t k[ID_LEN], hash[ST_ATT_HASH_LEN], ck[CHUNK_KEY_MAX];
	MDB_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err)
		return t->err;
	if ((rc = att_load(t, q->id, k, &out->att)) < 0)
		return t->err;
	if (rc == 1 || !readable(q->mode, admin, out->att.state) ||
	    (admin && !org_sees(t, out->att.org))) {
		st_att_free(&out->att);
		out->result = ST_ATT_NO_UPLOAD;
		return 0;
	}
	if (q->mode == ST_ATT_READ_LINK &&
	    (rc = link_widget_ok(t, q->widget_id, &out->att)) != 1) {
		st_att_free(&out->att);
		out->result = ST_ATT_NO_WIDGET;
		return rc < 0 ? t->err : 0;
	}
	if (q->mode == ST_ATT_READ_TEXT)
		return att_text_get(t, k, out);
	/* A piece not there yet: where the upload stands (the record). */
	if (q->piece >= out->att.npieces) {
		out->result = q->mode == ST_ATT_READ_UPLOADING ? ST_ATT_ORDER :
		    ST_ATT_NO_UPLOAD;
		if (out->result != ST_ATT_ORDER)
			st_att_free(&out->att);
		return 0;
	}
	if (proto_hex_decode(out->att.pieces[q->piece], hash,
	    sizeof(hash)) != 0 || (rc = db_get(t, t->st->att_chunks, ck,
	    chunk_key(ck, out->att.org, hash), &v,
	    "get attachment piece")) != 0) {
		st_att_free(&out->att);
		if (rc >= 0)
			rec_corrupt(t, "attachment piece");
		return t->err;
	}
	out->data.p = v.mv_data;
	out->data.len = (uint32_t)v.mv_size;
	return 0;
}

/* --------------------------------------------------------- a PDF's text */

/*
 * A named file's text (what the fetcher read of a PDF), "" none, and
 * where it stands: its record's outcome; none kept, waiting without a
 * text, or, a record from before outcomes were kept, read (a text) or
 * given up ("": a failure then kept "", and is never read again).
 */
static int
att_text_get(struct store_txn *t, const uint8_t k[ID_LEN],
    struct st_att_read_rep *out)
{
	MDB_val v;
	char *s;
	int rc;

	if ((rc = db_get(t, t->st->att_text, k, ID_LEN, &v,
	    "get attachment text")) < 0) {
		st_att_free(&out->att);
		return t->err;
	}
	if (out->att.type != ATTACH_PDF)
		out->text_status = ST_ATT_TEXT_NONE;
	else if (out->att.text_status != ST_ATT_TEXT_NONE)
		out->text_status = out->att.text_status;
	else
		out->text_status = rc == 1 ? ST_ATT_TEXT_PENDING :
		    v.mv_size > 0 ? ST_ATT_TEXT_READY : ST_ATT_TEXT_FAILED;
	if ((s = malloc(rc == 0 ? v.mv_size + 1 : 1)) == NULL) {
		st_att_free(&out->att);
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	}
	if (rc == 0)
		memcpy(s, v.mv_data, v.mv_size);
	s[rc == 0 ? v.mv_size : 0] = '\0';
	out->text = s;
	return 0;
}

int
store_att_extract_due(struct store_txn *t, struct st_att_due_rep *out)
{
	uint8_t k16[ID_LEN], attempt;
	char hex[ST_ATT_ID_LEN + 1];
	struct st_att a;
	MDB_val v;
	int rc, tries;

	memset(out, 0, sizeof(*out));
	out->result = ST_ATT_NO_UPLOAD;
	/*
	 * Leased, not removed (attqueue.c): its text not kept in time, it
	 * is read again. One deleted meanwhile is passed over, as is one
	 * whose text a late reader kept after its lease ended.
	 */
	for (tries = 0; tries < 16 && !t->err; tries++) {
		if ((rc = att_queue_take(t, k16, &attempt)) != 0)
			return rc < 0 ? t->err : 0;
		memcpy(hex, "att_", 4);
		proto_hex_encode(k16, ID_LEN, hex + 4);
		if ((rc = att_load(t, hex, k16, &a)) < 0)
			return t->err;
		if (rc == 1) {
			att_queue_done(t, k16);
			continue;
		}
		if ((rc = db_get(t, t->st->att_text, k16, ID_LEN, &v,
		    "get attachment text")) != 1) {
			st_att_free(&a);
			if (rc < 0)
				return t->err;
			att_queue_done(t, k16);
			continue;
		}
		out->result = ST_ATT_OK;
		strlcpy(out->id, a.id, sizeof(out->id));
		out->size = a.size;
		out->attempt = attempt;
		st_att_free(&a);
		return 0;
	}
	return t->err;
}

int
att_text_keep(struct store_txn *t, const uint8_t k[ID_LEN], const char *text,
    uint8_t status)
{
	struct st_att a;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = rec_load(t, t->st->atts, k, ID_LEN, &st_att_layout, &a,
	    "attachment")) != 0)
		return rc;
	db_put(t, t->st->att_text, k, ID_LEN, text, strlen(text),
	    "put attachment text");
	/* "" is a PDF without text as well as one given up: kept apart. */
	a.text_status = status;
	att_save(t, k, &a);
	att_queue_done(t, k);
	st_att_free(&a);
	return t->err ? -1 : 0;
}

int
store_att_text_put(struct store_txn *t, const struct st_att_text_req *q)
{
	uint8_t k[ID_LEN];

	if (att_id_key(q->id, k) == 0)
		att_text_keep(t, k, q->text, q->failed ? ST_ATT_TEXT_FAILED :
		    ST_ATT_TEXT_READY);
	return t->err;
}

/* ----------------------------------------------------- named by messages */

/*
 * Whole upload a (key k) kept in state (a message's, a canned reply's):
 * no longer due, saved, described into out, let go. 0, or -1.
 */
static int
att_kept(struct store_txn *t, const uint8_t k[ID_LEN], struct st_att *a,
    uint8_t state, struct st_msg_att *out)
{
	uint8_t dk[DUE_KEY_LEN];

	due_key(dk, a->expires_at, k);
	db_del_quiet(t, t->st->att_due, dk, sizeof(dk),
	    "delete attachment due");
	a->state = state;
	a->expires_at = 0;
	att_save(t, k, a);
	att_described(a, out);
	st_att_free(a);
	return t->err ? -1 : 0;
}

/* A message's or a canned reply's n upload ids: at most 5, each once. */
static int
ids_check(struct store_txn *t, const struct st_str *ids, uint32_t n)
{
	uint32_t i, j;

	if (n > ST_MSG_ATTS_MAX)
		return store_fail(t, PROTO_E_INVALID, "attachments: at most 5");
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(ids[i].s, ids[j].s) == 0)
				return store_fail(t, PROTO_E_INVALID,
				    "attachments: each at most once");
	return 0;
}

/* Conversation cid holds ST_ATT_PER_CONV_MAX: 1, 0 not, -1 (t failed). */
static int
conv_full(struct store_txn *t, const uint8_t cid[ID_LEN], uint32_t adding)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t n = 0;
	int rc;

	if ((cur = txn_seek(t, t->st->att_conv, cid, ID_LEN, &k, &v,
	    &rc)) == NULL)
		return -1;
	while (rc == 0 && n + adding <= ST_ATT_PER_CONV_MAX &&
	    k.mv_size == CONV_KEY_LEN && memcmp(k.mv_data, cid, ID_LEN) == 0) {
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_lmdb(t, rc, "count conversation attachments");
	return n + adding > ST_ATT_PER_CONV_MAX;
}

/*
 * A PDF's text for its copy: the fetcher's of file k kept for file nk
 * (copied out of the map first: a put may move the page it is on), or nk
 * queued for the fetcher when k's is not read yet. 0, or -1 (t failed).
 */
static int
att_text_copy(struct store_txn *t, const uint8_t k[ID_LEN],
    const uint8_t nk[ID_LEN], const char *org)
{
	MDB_val v;
	char *text;
	int rc;

	if ((rc = db_get(t, t->st->att_text, k, ID_LEN, &v,
	    "get attachment text")) < 0)
		return -1;
	if (rc == 1)
		return att_queue_put(t, nk, org);
	if ((text = malloc(v.mv_size + 1)) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	memcpy(text, v.mv_data, v.mv_size);
	db_put(t, t->st->att_text, nk, ID_LEN, text, v.mv_size,
	    "put attachment text");
	free(text);
	return t->err ? -1 : 0;
}

/*
 * A canned reply's file a (key k) becomes a new whole upload of the same
 * bytes (its pieces held once more, a PDF's text kept or to be read): k
 * and a its. 0, or -1 (t failed).
 */
static int
att_copy(struct store_txn *t, uint8_t k[ID_LEN], struct st_att *a)
{
	uint8_t hash[ST_ATT_HASH_LEN], key[ST_ATT_KEY_HEX / 2], nk[ID_LEN];
	uint32_t i, added;

	for (i = 0; i < a->npieces && !t->err; i++)
		if (proto_hex_decode(a->pieces[i], hash, sizeof(hash)) == 0)
			chunk_ref(t, a->org, hash, NULL, 0, &added);
	proto_random(nk, ID_LEN);
	if (a->type == ATTACH_PDF && att_text_copy(t, k, nk, a->org) < 0)
		return -1;
	memcpy(k, nk, ID_LEN);
	proto_hex_encode(k, ID_LEN, a->id + 4);
	proto_random(key, sizeof(key));
	proto_hex_encode(key, sizeof(key), a->key);
	a->state = ST_ATT_COMPLETE;
	a->created_at = t->st->now();
	return t->err ? -1 : 0;
}

/*
 * Claim c's upload id is the claimer's and whole, made for conversation
 * cid (a visitor's: for none yet; a person's canned reply's file: a copy
 * of it): 0, or -1 (t failed).
 */
static int
claim_one(struct store_txn *t, const struct att_claim *c, const char *id,
    const uint8_t cid[ID_LEN], const char *org, struct st_msg_att *out)
{
	uint8_t k[ID_LEN], ck[CONV_KEY_LEN];
	char hex[ST_ID_HEX + 1];
	struct st_att a;
	int rc, own, copied = 0;

	if ((rc = att_load(t, id, k, &a)) < 0)
		return -1;
	if (rc == 0 && c->session == NULL && a.state == ST_ATT_CANNED &&
	    strcmp(a.org, org) == 0) {
		if (att_copy(t, k, &a) < 0) {
			st_att_free(&a);
			return -1;
		}
		copied = 1;
	}
	own = rc == 0 && strcmp(a.org, org) == 0 && (c->session != NULL ?
	    strcmp(a.session, c->session) == 0 && strcmp(a.widget,
	    c->widget) == 0 : a.session[0] == '\0');
	proto_hex_encode(cid, ID_LEN, hex);
	/*
	 * Its conversation's; or, with none, a visitor's or a canned reply's
	 * file copied for it: a person's upload for a canned reply (the
	 * admins') is none of the conversation's until saved in one.
	 */
	own = own && (strcmp(a.conv_id, hex) == 0 || (a.conv_id[0] == '\0' &&
	    (c->session != NULL || copied)));
	if (!own || a.state != ST_ATT_COMPLETE) {
		st_att_free(&a);
		return store_fail(t, PROTO_E_INVALID, "attachments: no such "
		    "upload, or not whole yet");
	}
	memcpy(ck, cid, ID_LEN);
	memcpy(ck + ID_LEN, k, ID_LEN);
	db_put(t, t->st->att_conv, ck, sizeof(ck), "", 0,
	    "put conversation attachment");
	proto_hex_encode(cid, ID_LEN, a.conv_id);
	return att_kept(t, k, &a, ST_ATT_BOUND, out);
}

int
att_claim(struct store_txn *t, const struct att_claim *c,
    const uint8_t cid[ID_LEN], const char *org, struct st_msg *m)
{
	uint32_t i;
	int rc;

	if (t->err || c == NULL || c->n == 0)
		return t->err;
	if (ids_check(t, c->ids, c->n) != 0)
		return t->err;
	if ((rc = conv_full(t, cid, c->n)) != 0)
		return rc < 0 ? t->err : store_fail(t, PROTO_E_INVALID,
		    "attachments: a conversation holds at most 50 files");
	if ((m->atts = calloc(c->n, sizeof(*m->atts))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	m->natts = c->n;
	for (i = 0; i < c->n && !t->err; i++)
		claim_one(t, c, c->ids[i].s, cid, org, &m->atts[i]);
	return t->err;
}

/* ------------------------------------------------------- canned replies */

/* id's description among a's n, or NULL. */
static const struct st_msg_att *
atts_find(const struct st_msg_att *a, uint32_t n, const char *id)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].id, id) == 0)
			return &a[i];
	return NULL;
}

/* A whole upload id of org's people made a canned reply's, into out. */
static int
canned_take(struct store_txn *t, const char *org, const char *id,
    struct st_msg_att *out)
{
	uint8_t k[ID_LEN];
	struct st_att a;
	int rc;

	if ((rc = att_load(t, id, k, &a)) < 0)
		return -1;
	if (rc == 1 || strcmp(a.org, org) != 0 || a.session[0] != '\0' ||
	    a.conv_id[0] != '\0' || a.state != ST_ATT_COMPLETE) {
		if (rc == 0)
			st_att_free(&a);
		return store_fail(t, PROTO_E_INVALID, "attachments: no such "
		    "upload, or not whole yet");
	}
	return att_kept(t, k, &a, ST_ATT_CANNED, out);
}

void
att_canned_drop(struct store_txn *t, const struct st_msg_att *a, uint32_t n)
{
	uint8_t k[ID_LEN];
	struct st_att f;
	uint32_t i;

	for (i = 0; i < n && !t->err; i++)
		if (att_load(t, a[i].id, k, &f) == 0) {
			if (f.state == ST_ATT_CANNED)
				att_drop(t, k, &f);
			st_att_free(&f);
		}
}

int
att_canned_set(struct store_txn *t, const char *org, const struct st_str *ids,
    uint32_t n, struct st_msg_att **atts, uint32_t *natts)
{
	const struct st_msg_att *had;
	struct st_msg_att *now = NULL;
	uint32_t i;

	if (t->err || ids_check(t, ids, n) != 0)
		return t->err;
	if (n > 0 && (now = calloc(n, sizeof(*now))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	/* Its files it keeps as they are; new ones taken. */
	for (i = 0; i < n && !t->err; i++)
		if ((had = atts_find(*atts, *natts, ids[i].s)) != NULL)
			now[i] = *had;
		else
			canned_take(t, org, ids[i].s, &now[i]);
	/* Those it no longer names are deleted. */
	for (i = 0; i < *natts && !t->err; i++)
		if (atts_find(now, n, (*atts)[i].id) == NULL)
			att_canned_drop(t, &(*atts)[i], 1);
	if (t->err) {
		free(now);
		return t->err;
	}
	free(*atts);
	*atts = now;
	*natts = n;
	return 0;
}

/* ------------------------------------------------------------ deletion */

static void
att_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	uint8_t k16[ID_LEN];
	char hex[ST_ATT_ID_LEN + 1];
	struct st_att a;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	(void)c;
	while (!t->err) {
		if ((cur = txn_seek(t, t->st->att_conv, id, ID_LEN, &k, &v,
		    &rc)) == NULL)
			return;
		if (rc == 0 && (k.mv_size != CONV_KEY_LEN ||
		    memcmp(k.mv_data, id, ID_LEN) != 0))
			rc = MDB_NOTFOUND;
		if (rc == 0)
			memcpy(k16, (const uint8_t *)k.mv_data + ID_LEN, ID_LEN);
		mdb_cursor_close(cur);
		if (rc != 0) {
			if (rc != MDB_NOTFOUND)
				txn_lmdb(t, rc, "walk conversation attachments");
			return;
		}
		memcpy(hex, "att_", 4);
		proto_hex_encode(k16, ID_LEN, hex + 4);
		if (att_load(t, hex, k16, &a) != 0) {
			/* An index entry without its record: drop the entry. */
			uint8_t ck[CONV_KEY_LEN];

			memcpy(ck, id, ID_LEN);
			memcpy(ck + ID_LEN, k16, ID_LEN);
			db_del(t, t->st->att_conv, ck, sizeof(ck),
			    "delete conversation attachment");
			continue;
		}
		att_drop(t, k16, &a);
		st_att_free(&a);
	}
}

const struct store_module att_module = {
	.name = "attachments",
	.init = att_queue_init,
	.conv_deleted = att_conv_deleted,
};

int
store_att_sweep(struct store_txn *t, uint32_t max, uint32_t *n, int *more)
{
	uint8_t k16[ID_LEN], dk[DUE_KEY_LEN];
	char hex[ST_ATT_ID_LEN + 1];
	uint64_t now = t->st->now();
	struct st_att a;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	*more = 0;
	while (!t->err) {
		if ((cur = txn_seek(t, t->st->att_due, NULL, 0, &k, &v,
		    &rc)) == NULL)
			return t->err;
		if (rc == 0 && (k.mv_size != DUE_KEY_LEN ||
		    proto_get_be64(k.mv_data) > now))
			rc = MDB_NOTFOUND;
		if (rc == 0) {
			memcpy(dk, k.mv_data, DUE_KEY_LEN);
			memcpy(k16, dk + 8, ID_LEN);
		}
		mdb_cursor_close(cur);
		if (rc != 0)
			return rc == MDB_NOTFOUND ? 0 : txn_lmdb(t, rc,
			    "walk attachments due");
		if (*n >= max) {
			*more = 1;
			return 0;
		}
		memcpy(hex, "att_", 4);
		proto_hex_encode(k16, ID_LEN, hex + 4);
		if ((rc = att_load(t, hex, k16, &a)) < 0)
			return t->err;
		if (rc == 1)
			db_del(t, t->st->att_due, dk, sizeof(dk),
			    "delete attachment due");
		else {
			att_drop(t, k16, &a);
			st_att_free(&a);
		}
		(*n)++;
	}
	return t->err;
}

/* att_due's keys walked a batch at a time. */
#define DUE_WALK	256

void
att_session_gone(struct store_txn *t, const uint8_t hash[ST_TOKEN_HASH_LEN])
{
	uint8_t keys[DUE_WALK * DUE_KEY_LEN], pos[DUE_KEY_LEN], id[ID_LEN];
	char sess[2 * ST_TOKEN_HASH_LEN + 1], hex[ST_ATT_ID_LEN + 1];
	const uint8_t *k;
	struct st_att a;
	uint32_t n, i;
	int haspos = 0;

	session_hex(hash, ST_TOKEN_HASH_LEN, sess);
	memcpy(hex, "att_", 4);
	/* At most an hour of uploads wait there: walked whole. */
	do {
		if (txn_keys(t, t->st->att_due, "walk attachments due", pos,
		    haspos ? DUE_KEY_LEN : 0, 1, 0, DUE_KEY_LEN, keys, DUE_WALK,
		    &n) < 0)
			return;
		for (i = 0; i < n && !t->err; i++) {
			k = keys + (size_t)i * DUE_KEY_LEN;
			proto_hex_encode(k + 8, ID_LEN, hex + 4);
			if (att_load(t, hex, id, &a) != 0)
				continue;
			if (strcmp(a.session, sess) == 0 &&
			    a.conv_id[0] == '\0')
				att_drop(t, id, &a);
			st_att_free(&a);
		}
		if (n > 0) {
			memcpy(pos, keys + (size_t)(n - 1) * DUE_KEY_LEN,
			    DUE_KEY_LEN);
			haspos = 1;
		}
	} while (n == DUE_WALK && !t->err);
}

uint64_t
store_att_usage(struct store_txn *t, const char *org)
{
	return usage_get(t, org);
}
