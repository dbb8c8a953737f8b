/*
 * Email notifications (see STORAGE.md, mailbox.h):
 *
 *	mails        u64 seq -> mail (its rows, ST_MAIL_ROWS, with its
 *	             payload)
 *	mail_due     u64 next_at | u64 seq -> version, org (the mail's;
 *	             none in an entry written before): every mail is pending
 *	mail_counts  org -> u32 mails pending
 *	mail_convs   conv id[16] -> u64 its last "waiting" mail's time
 *	conv_mails   conv id[16] | u64 seq -> (): the mails of an event of
 *	             a conversation (outbox.c's outq_conv_*)
 *	contact_mails  contact id[16] | u64 seq -> (): the "new contact"
 *	             mails of a contact (outq_id_set)
 *	user_notify  user id -> u32 the emails the user chose (ST_MAIL_*)
 *	mail_bounds  org NUL u32 kind -> u64 its window's start, u32 mails
 *	             written in it, u64 its summary's seq (0 none): the
 *	             kinds visitors cause (ST_MAIL_BOUNDED), bounded
 *	meta "mail_seq"  the last seq given
 *	meta "conv_mails_filled"  conv_mails holds the mails stored before it
 *	meta "contact_mails_filled"  contact_mails does
 *
 * A mail is written in the transaction of the event that causes it, so
 * either both are stored or neither. The notifier leases what is due
 * (the due index and sequence are outbox.c's, shared) and answers each:
 * one it never answers is due again when its lease ends (at least
 * once). A mail sent, or out of retries, goes; nothing else is kept. A
 * conversation deleted takes its pending mails: none tells of it after;
 * a contact deleted, erased or not, its "new contact" mails. Those
 * already leased go too: the notifier asks (ST_MAIL_CHECK) as each
 * message ends, and one gone is never sent. The mails of its
 * conversations kept name the made-up visitor instead of it
 * (store_mail_conv_unlinked).
 *
 * Anyone may make a new contact, or a new conversation and ask for a
 * person in it: those kinds are bounded per organisation (ST_MAIL_BOUND
 * in ST_MAIL_BOUND_WINDOW_MS, the window from the first). An event past
 * the bound is counted in one summary mail of its kind (its held), due
 * as the window ends: nothing is left untold, and the outbox never fills
 * with what visitors did. A deleted organisation's go in its sweep.
 *
 * Every value starts with ST_RECORD_VERSION (a mail's: its layout's
 * format, 2; one of format 1 has no held, 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "hookmsg.h"
#include "log.h"
#include "mailbox.h"
#include "outbox.h"
#include "settings.h"
#include "stmsgs.h"
#include "storeint.h"
#include "userstore.h"

#define SEQ_KEY		"mail_seq"
#define CM_META		"conv_mails_filled"
#define KM_META		"contact_mails_filled"
#define U32_REC		(1 + 4)
#define U64_REC		(1 + 8)
/* Messages a "waiting" check looks back at, at most. */
#define QUIET_SCAN	64
/* Due entries a pick reads at most: past one organisation's backlog. */
#define MAIL_DUE_SCAN	(ST_MAIL_PENDING_MAX + 64)

void
store_mail_settings(struct store *st, int on)
{
	st->mail_on = on;
}

/* ------------------------------------------------------------- choices */

static int
user_valid(struct store_txn *t, const char *user)
{
	if (user == NULL || user[0] == '\0')
		return store_fail(t, PROTO_E_INVALID,
		    "emails are a dashboard user's own choice");
	return 0;
}

/* A u32 record (version, u32) of db under k: *v (0 absent); 0, or -1. */
static int
u32_get(struct store_txn *t, MDB_dbi db, const char *k, uint32_t *v,
    const char *what)
{
	MDB_val val;
	int rc;

	*v = 0;
	if ((rc = db_get(t, db, k, strlen(k), &val, what)) != 0)
		return rc < 0 ? -1 : 0;
	if (val.mv_size != U32_REC ||
	    ((uint8_t *)val.mv_data)[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, what);
		return -1;
	}
	*v = proto_get_be32((uint8_t *)val.mv_data + 1);
	return 0;
}

/* Puts v under k, or deletes k when v is 0. */
static void
u32_put(struct store_txn *t, MDB_dbi db, const char *k, uint32_t v,
    const char *what)
{
	uint8_t rec[U32_REC];

	if (v == 0) {
		db_del_quiet(t, db, k, strlen(k), what);
		return;
	}
	rec[0] = ST_RECORD_VERSION;
	proto_put_be32(rec + 1, v);
	db_put(t, db, k, strlen(k), rec, sizeof(rec), what);
}

int
store_notify_get(struct store_txn *t, const char *user, uint32_t *mask)
{
	uint32_t v;

	if (t->err || user_valid(t, user) != 0)
		return t->err;
	if (u32_get(t, t->st->user_notify, user, &v, "user emails") == 0)
		*mask = v;
	return t->err;
}

int
store_notify_set(struct store_txn *t, const char *user, uint32_t mask)
{
	if (t->err || user_valid(t, user) != 0)
		return t->err;
	if (mask & ~(uint32_t)ST_MAIL_ALL)
		return store_fail(t, PROTO_E_INVALID, "mask: unknown email");
	u32_put(t, t->st->user_notify, user, mask, "user emails");
	return t->err;
}

/* ---------------------------------------------------------- recipients */

struct rcpts {
	const char *org;
	uint32_t kind;
	struct st_mail *m;
};

/* 1 when u is an enabled member of org who chose mails of kind, 0, -1. */
static int
member_wants(struct store_txn *t, const struct st_user *u, const char *org,
    uint32_t kind)
{
	uint32_t mask;

	if (st_user_acts(u, org) == NULL)
		return 0;
	if (u32_get(t, t->st->user_notify, u->id, &mask, "user emails") < 0)
		return -1;
	return (mask & kind) != 0;
}

/* A member who chose the kind is a recipient; -1 once there are enough. */
static int
rcpt_take(struct store_txn *t, struct st_user *u, void *arg)
{
	struct rcpts *r = arg;
	int rc;

	if ((rc = member_wants(t, u, r->org, r->kind)) != 1)
		return rc;
	if ((r->m->rcpt[r->m->nrcpt] = strdup(u->email)) == NULL) {
		store_fail(t, PROTO_E_INTERNAL, "out of memory");
		return -1;
	}
	return ++r->m->nrcpt == ST_MAIL_RCPT_MAX ? -1 : 0;
}

/* m's recipients cut to those keep marks (in order): how many are left. */
static uint32_t
rcpt_cut(struct st_mail *m, const uint8_t keep[ST_MAIL_RCPT_MAX])
{
	uint32_t i, n = 0;

	for (i = 0; i < m->nrcpt; i++) {
		if (i < ST_MAIL_RCPT_MAX && keep[i])
			m->rcpt[n++] = m->rcpt[i];
		else
			free(m->rcpt[i]);
	}
	m->nrcpt = n;
	return n;
}

/* The recipients of a mail still to get it, as it is handed out. */
struct still {
	struct st_mail *m;
	uint8_t keep[ST_MAIL_RCPT_MAX];
};

/* A member who chose the kind keeps their place among m's recipients. */
static int
rcpt_still(struct store_txn *t, struct st_user *u, void *arg)
{
	struct still *s = arg;
	uint32_t i;
	int rc;

	if ((rc = member_wants(t, u, s->m->org, s->m->kind)) != 1)
		return rc;
	for (i = 0; i < s->m->nrcpt && i < ST_MAIL_RCPT_MAX; i++)
		if (strcmp(s->m->rcpt[i], u->email) == 0)
			s->keep[i] = 1;
	return 0;
}

/*
 * m's recipients cut to those who are still enabled members of its
 * organisation and still chose its kind (one removed, disabled or who
 * unsubscribed since it was written gets nothing): how many are left,
 * or -1 (t failed).
 */
static int
rcpt_recheck(struct store_txn *t, struct st_mail *m)
{
	struct still s;

	memset(&s, 0, sizeof(s));
	s.m = m;
	if (store_members_each(t, m->org, rcpt_still, &s) != 0)
		return -1;
	return (int)rcpt_cut(m, s.keep);
}

/* ------------------------------------------------------------ waiting */

/*
 * How long a visitor's message in `human` waits for a person's answer
 * before its "waiting" mail is sent (the test build's may be shorter).
 */
static uint64_t
quiet_ms(void)
{
	return SETTINGS_TEST_LOWER("PARLEY_TEST_MAIL_QUIET_MS",
	    ST_MAIL_QUIET_MS);
}

/*
 * 1 when no agent wrote in conversation cid since since (the last
 * QUIET_SCAN messages looked at), 0 when one did, -1 failed.
 */
static int
conv_quiet(struct store_txn *t, const uint8_t cid[ID_LEN], uint64_t since)
{
	uint8_t probe[MSG_KEY_LEN];
	struct st_msg m;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, quiet = 1, n = 0;

	msg_key(probe, cid, UINT32_MAX);
	if ((cur = txn_seek(t, t->st->msgs, probe, sizeof(probe), &k, &v,
	    &rc)) == NULL)
		return -1;
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) :
	    rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc;
	while (rc == 0 && n++ < QUIET_SCAN && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		if (msg_rec_decode_rows(t, &v, &m, RL_ROW(ST_MSG_ROW_role)) < 0)
			break;
		rc = m.created_at < since ? 1 :
		    strcmp(m.role, "agent") == 0 ? 2 : 0;
		st_msg_free(&m);
		if (rc != 0) {
			quiet = rc == 1;
			rc = 0;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "walk messages back");
	return t->err ? -1 : quiet;
}

/*
 * 1 when conv (hex, its id into cid) should make a "waiting" mail at
 * now: none of its own for ST_MAIL_WAITING_EVERY_MS; 0 when not, -1
 * failed. Whether a person answers is asked when the mail falls due
 * (waiting_still).
 */
static int
waiting_due(struct store_txn *t, const char *conv, uint64_t now,
    uint8_t cid[ID_LEN])
{
	MDB_val v;
	int rc;

	if (conv_id_parse(t, conv, cid) < 0)
		return -1;
	if ((rc = db_get(t, t->st->mail_convs, cid, ID_LEN, &v,
	    "get conversation mail")) < 0)
		return -1;
	if (rc == 0 && v.mv_size == U64_REC &&
	    proto_get_be64((uint8_t *)v.mv_data + 1) +
	    ST_MAIL_WAITING_EVERY_MS > now)
		return 0;
	return 1;
}

/*
 * 1 when the "waiting" mail m is still true as it falls due: its
 * conversation is still in `human` and no agent wrote since the
 * visitor's message (m's time); 0 when not; -1 t failed. A payload that
 * names no conversation is sent unchecked.
 */
static int
waiting_still(struct store_txn *t, const struct st_mail *m)
{
	uint8_t cid[ID_LEN];
	struct st_conv c;
	int rc, human;

	if (outq_payload_id(pdec_event_conv, m->payload, m->payload_len,
	    cid) != 0)
		return 1;
	if ((rc = conv_load(t, cid, &c)) != 0)
		return rc < 0 ? -1 : 0;
	human = c.handoff == ST_HANDOFF_HUMAN;
	st_conv_free(&c);
	return human ? conv_quiet(t, cid, m->created_at) : 0;
}

/* conv (cid) made a "waiting" mail at now. */
static void
waiting_mark(struct store_txn *t, const uint8_t cid[ID_LEN], uint64_t now)
{
	uint8_t rec[U64_REC];

	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, now);
	db_put(t, t->st->mail_convs, cid, ID_LEN, rec, sizeof(rec),
	    "put conversation mail");
}

void
store_mail_user_gone(struct store_txn *t, const char *user)
{
	db_del_quiet(t, t->st->user_notify, user, strlen(user),
	    "delete user emails");
}

/* ------------------------------------------------------------ records */

static void
mail_save(struct store_txn *t, uint64_t seq, const struct st_mail *m)
{
	uint8_t k[8];

	proto_put_be64(k, seq);
	rec_put_rows(t, t->st->mails, k, sizeof(k), &st_mail_layout, m,
	    "put mail");
}

/* 0 loaded, 1 absent, -1 error. */
static int
mail_load(struct store_txn *t, uint64_t seq, struct st_mail *m)
{
	uint8_t k[8];
	int rc;

	proto_put_be64(k, seq);
	if ((rc = rec_load(t, t->st->mails, k, sizeof(k), &st_mail_layout, m,
	    "mail")) != 0)
		return rc;
	/* Its id is its number's (one stored before: an older spelling). */
	if (store_seq_show(t, ST_MAIL_PREFIX, seq, m->id) != 0) {
		st_mail_free(m);
		return -1;
	}
	return 0;
}

/* m (stored under seq) is in its contact's mails (on), or not. */
static void
km_set(struct store_txn *t, const struct st_mail *m, uint64_t seq, int on)
{
	if (m->kind == ST_MAIL_CONTACT)
		outq_id_set(t, t->st->contact_mails, pdec_event_contact,
		    m->payload, m->payload_len, seq, on);
}

/*
 * m (stored under seq) is in its conversation's mails and, a "new
 * contact" mail, its contact's (on), or in neither.
 */
static void
cm_set(struct store_txn *t, const struct st_mail *m, uint64_t seq, int on)
{
	outq_id_set(t, t->st->conv_mails, pdec_event_conv, m->payload,
	    m->payload_len, seq, on);
	km_set(t, m, seq, on);
}

/*
 * A mail (stored under seq) goes, with its entries, and its
 * organisation's count.
 */
static void
mail_remove(struct store_txn *t, uint64_t seq, const struct st_mail *m)
{
	uint8_t k[8];
	uint32_t pending;

	proto_put_be64(k, seq);
	db_del(t, t->st->mails, k, sizeof(k), "delete mail");
	cm_set(t, m, seq, 0);
	outq_due_move(t, t->st->mail_due, seq, m->next_at, 0, m->org);
	if (u32_get(t, t->st->mail_counts, m->org, &pending,
	    "mail counts") == 0)
		u32_put(t, t->st->mail_counts, m->org,
		    pending > 0 ? pending - 1 : 0, "mail counts");
}

/* ---------------------------------------------------------- erasure */

/*
 * The mail stored under seq, of a conversation or a contact being
 * deleted, goes (the entry that named it is outq_conv_take's). Absent:
 * nothing.
 */
static void
mail_erase(struct store_txn *t, uint64_t seq)
{
	struct st_mail m;

	if (mail_load(t, seq, &m) != 0)
		return;
	mail_remove(t, seq, &m);
	st_mail_free(&m);
}

/*
 * A conversation deleted (store_module's conv_deleted): its pending
 * mails go, so that none sends what it said after, and its "waiting"
 * mail's time. At most its organisation's ST_MAIL_PENDING_MAX.
 */
static void
mail_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[16])
{
	outq_conv_take(t, t->st->conv_mails, id, mail_erase);
	db_del_quiet(t, t->st->mail_convs, id, ID_LEN,
	    "delete conversation mail");
}

void
store_mail_contact_gone(struct store_txn *t, const uint8_t id[16])
{
	outq_conv_take(t, t->st->contact_mails, id, mail_erase);
}

/*
 * The mail stored under seq, of a conversation its contact (hex) no
 * longer has, keeps the made-up name where its payload named that
 * contact (outbox.c's dlv_unname, for the mails).
 */
static void
mail_unname(struct store_txn *t, uint64_t seq, const char *contact)
{
	struct st_mail m;

	if (mail_load(t, seq, &m) != 0)
		return;
	if (outq_event_unname(t, &m.payload, &m.payload_len, contact) == 1)
		mail_save(t, seq, &m);
	st_mail_free(&m);
}

void
store_mail_conv_unlinked(struct store_txn *t, const uint8_t conv[16],
    const char *contact)
{
	outq_conv_each(t, t->st->conv_mails, conv, mail_unname, contact);
}

/* The mail stored under seq listed in conv_mails (at open). */
static void
cm_fill(struct store_txn *t, uint64_t seq)
{
	struct st_mail m;

	if (mail_load(t, seq, &m) != 0)
		return;
	outq_id_set(t, t->st->conv_mails, pdec_event_conv, m.payload,
	    m.payload_len, seq, 1);
	st_mail_free(&m);
}

/* The mail stored under seq listed in contact_mails (at open). */
static void
km_fill(struct store_txn *t, uint64_t seq)
{
	struct st_mail m;

	if (mail_load(t, seq, &m) != 0)
		return;
	km_set(t, &m, seq, 1);
	st_mail_free(&m);
}

/*
 * An older data directory's mails listed by conversation, and by
 * contact (a directory of before contact_mails), once each.
 */
static int
mail_init(struct store_txn *t)
{
	if (outq_conv_fill(t, t->st->mails, CM_META, cm_fill, "mails",
	    "conversation") != 0)
		return t->err;
	return outq_conv_fill(t, t->st->mails, KM_META, km_fill, "mails",
	    "contact");
}

const struct store_module mailbox_module = {
	.name = "mailbox",
	.init = mail_init,
	.conv_deleted = mail_conv_deleted,
};

/* -------------------------------------------------------------- add */

/*
 * m (its recipients, organisation and kind set) stored as a new pending
 * mail made now, due at due: its seq, or 0 (t failed).
 */
static uint64_t
mail_add(struct store_txn *t, struct st_mail *m, uint32_t pending,
    uint64_t due)
{
	uint64_t seq;

	if ((seq = outq_seq_next(t, SEQ_KEY)) == 0)
		return 0;
	if (store_seq_show(t, ST_MAIL_PREFIX, seq, m->id) != 0)
		return 0;
	m->created_at = t->st->now();
	m->next_at = due;
	mail_save(t, seq, m);
	cm_set(t, m, seq, 1);
	outq_due_move(t, t->st->mail_due, seq, 0, m->next_at, m->org);
	u32_put(t, t->st->mail_counts, m->org, pending + 1, "mail counts");
	return t->err ? 0 : seq;
}

/* ------------------------------------------------------------ bounds */

/* A kind's window in mail_bounds (one of ST_MAIL_BOUNDED, of an org). */
struct bound {
	uint8_t key[ST_ORG_ID_MAX + 1 + 4];	/* org NUL u32 kind */
	size_t klen;
	uint64_t start;		/* the window's first mail; 0 none yet */
	uint32_t mailed;	/* mails written in it */
	uint64_t summary;	/* its summary mail's seq; 0 none */
};
#define BOUND_REC	(1 + 8 + 4 + 8)

/* Mails of a kind a window holds (the test build's may be fewer). */
static uint32_t
bound_max(void)
{
	return (uint32_t)SETTINGS_TEST_LOWER("PARLEY_TEST_MAIL_BOUND",
	    ST_MAIL_BOUND);
}

/* A window's length (the test build's may be shorter). */
static uint64_t
bound_window(void)
{
	return SETTINGS_TEST_LOWER("PARLEY_TEST_MAIL_WINDOW_MS",
	    ST_MAIL_BOUND_WINDOW_MS);
}

/* org's window of kind into b: 0 read, 1 none yet (b's key set), -1. */
static int
bound_load(struct store_txn *t, const char *org, uint32_t kind,
    struct bound *b)
{
	size_t n = strnlen(org, ST_ORG_ID_MAX);
	const uint8_t *p;
	MDB_val v;
	int rc;

	memset(b, 0, sizeof(*b));
	memcpy(b->key, org, n);
	proto_put_be32(b->key + n + 1, kind);
	b->klen = n + 1 + 4;
	if ((rc = db_get(t, t->st->mail_bounds, b->key, b->klen, &v,
	    "get mail bound")) != 0)
		return rc < 0 ? -1 : 1;
	p = v.mv_data;
	if (v.mv_size != BOUND_REC || p[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "mail bound");
		return -1;
	}
	b->start = proto_get_be64(p + 1);
	b->mailed = proto_get_be32(p + 9);
	b->summary = proto_get_be64(p + 13);
	return 0;
}

static void
bound_save(struct store_txn *t, const struct bound *b)
{
	uint8_t rec[BOUND_REC];

	rec[0] = ST_RECORD_VERSION;
	proto_put_be64(rec + 1, b->start);
	proto_put_be32(rec + 9, b->mailed);
	proto_put_be64(rec + 13, b->summary);
	db_put(t, t->st->mail_bounds, b->key, b->klen, rec, sizeof(rec),
	    "put mail bound");
}

/*
 * One more event of b's kind at now: 1 it is mailed (counted in b's
 * window, a new one once the last is over), 0 it is past the bound.
 */
static int
bound_take(struct bound *b, uint64_t now)
{
	if (b->start == 0 || now < b->start ||
	    now - b->start >= bound_window()) {
		b->start = now;
		b->mailed = 0;
		b->summary = 0;
	}
	if (b->mailed >= bound_max())
		return 0;
	b->mailed++;
	return 1;
}

/* a's recipients and b's change places (each still frees its own). */
static void
rcpt_swap(struct st_mail *a, struct st_mail *b)
{
	char **r = a->rcpt;
	uint32_t n = a->nrcpt;

	a->rcpt = b->rcpt;
	a->nrcpt = b->nrcpt;
	b->rcpt = r;
	b->nrcpt = n;
}

/*
 * An event past b's bound (m: a mail of it, its recipients found) is
 * counted in b's summary, which goes to m's recipients (those who want
 * the kind now); the first makes it, due as the window ends.
 */
static void
bound_hold(struct store_txn *t, struct bound *b, struct st_mail *m,
    uint32_t pending)
{
	struct st_mail s;
	int rc = b->summary != 0 ? mail_load(t, b->summary, &s) : 1;

	if (rc < 0)
		return;
	if (rc == 0) {
		s.held++;
		rcpt_swap(&s, m);
		mail_save(t, b->summary, &s);
		st_mail_free(&s);
		return;
	}
	log_info("organisation %s: %u %s mails within %llu ms: the next "
	    "are told in one summary", m->org, b->mailed,
	    st_mail_kind_name(m->kind), (unsigned long long)bound_window());
	m->held = 1;
	m->payload = NULL;
	m->payload_len = 0;
	b->summary = mail_add(t, m, pending, b->start + bound_window());
}

/*
 * m's mail of a bounded kind: 1 to be written now, 0 counted in its
 * summary instead, -1 (t failed).
 */
static int
bound_mail(struct store_txn *t, struct st_mail *m, uint32_t pending,
    uint64_t now)
{
	struct bound b;
	int rc;

	if ((m->kind & ST_MAIL_BOUNDED) == 0)
		return 1;
	if (bound_load(t, m->org, m->kind, &b) < 0)
		return -1;
	if ((rc = bound_take(&b, now)) == 0)
		bound_hold(t, &b, m, pending);
	bound_save(t, &b);
	return t->err ? -1 : rc;
}

int
store_org_mail_sweep(struct store_txn *t, const char *org, uint32_t max,
    uint32_t *n)
{
	struct bound b;
	uint32_t kind;

	*n = 0;
	for (kind = 1; kind & ST_MAIL_ALL && *n < max && !t->err;
	    kind <<= 1) {
		if ((kind & ST_MAIL_BOUNDED) == 0 ||
		    bound_load(t, org, kind, &b) != 0)
			continue;
		if (b.summary != 0)
			mail_erase(t, b.summary);
		db_del(t, t->st->mail_bounds, b.key, b.klen,
		    "delete mail bound");
		(*n)++;
	}
	return t->err;
}

int
store_mail_event(struct store_txn *t, const char *org, const char *conv,
    uint32_t kind, const void *payload, size_t len)
{
	uint8_t cid[ID_LEN];
	struct st_mail m;
	struct rcpts r;
	uint32_t pending;
	uint64_t now;

	if (t->err || kind == 0 || !t->st->mail_on)
		return t->err;
	/* The throttle first: it is cheaper than the members. */
	now = t->st->now();
	if (kind == ST_MAIL_WAITING && waiting_due(t, conv, now, cid) != 1)
		return t->err;
	if (u32_get(t, t->st->mail_counts, org, &pending, "mail counts") < 0)
		return t->err;
	if (pending >= ST_MAIL_PENDING_MAX) {
		log_warnx("organisation %s: %u mails pending, a %s mail is "
		    "not written", org, pending, st_mail_kind_name(kind));
		return 0;
	}
	memset(&m, 0, sizeof(m));
	if ((m.rcpt = calloc(ST_MAIL_RCPT_MAX, sizeof(*m.rcpt))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	r.org = org;
	r.kind = kind;
	r.m = &m;
	if (store_members_each(t, org, rcpt_take, &r) == 0 && m.nrcpt > 0) {
		if (kind == ST_MAIL_WAITING)
			waiting_mark(t, cid, now);
		strlcpy(m.org, org, sizeof(m.org));
		m.kind = kind;
		m.payload = (uint8_t *)(uintptr_t)payload;	/* not ours */
		m.payload_len = (uint32_t)len;
		if (bound_mail(t, &m, pending, now) == 1)
			mail_add(t, &m, pending, kind == ST_MAIL_WAITING ?
			    now + quiet_ms() : now);
		m.payload = NULL;
	}
	st_mail_free(&m);
	return t->err;
}

/* ---------------------------------------------------------------- due */

/*
 * The mail stored under seq (m) goes unsent: none of its recipients
 * still wants it.
 */
static void
mail_unwanted(struct store_txn *t, uint64_t seq, struct st_mail *m)
{
	log_info("mail %s (%s, organisation %s): none of its recipients is "
	    "still a member who wants it: not sent", m->id,
	    st_mail_kind_name(m->kind), m->org);
	mail_remove(t, seq, m);
}

/*
 * The "waiting" mail stored under seq (m) goes unsent: a person
 * answered, or the conversation left `human`. Its conversation may mail
 * again at the visitor's next message.
 */
static void
waiting_answered(struct store_txn *t, uint64_t seq, struct st_mail *m)
{
	uint8_t cid[ID_LEN];

	log_info("mail %s (waiting, organisation %s): answered or no longer "
	    "with a person: not sent", m->id, m->org);
	if (outq_payload_id(pdec_event_conv, m->payload, m->payload_len,
	    cid) == 0)
		db_del_quiet(t, t->st->mail_convs, cid, ID_LEN,
		    "delete conversation mail");
	mail_remove(t, seq, m);
}

/* A due entry as due_pick reads it: its mail and whose it is. */
struct due_ent {
	uint64_t seq;
	char org[ST_ORG_ID_MAX + 1];
	int taken;
};

/*
 * The organisation to serve after cur among e's untaken entries (n): the
 * next by name, else the first (round the circle); NULL when none is left.
 */
static const char *
due_next_org(const struct due_ent *e, uint32_t n, const char *cur)
{
	const char *after = NULL, *first = NULL;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (e[i].taken)
			continue;
		if (first == NULL || strcmp(e[i].org, first) < 0)
			first = e[i].org;
		if (strcmp(e[i].org, cur) > 0 &&
		    (after == NULL || strcmp(e[i].org, after) < 0))
			after = e[i].org;
	}
	return after != NULL ? after : first;
}

/*
 * Up to max due mails into seqs (*n), fairly between organisations:
 * one organisation's backlog must not hold another's mail behind it.
 * Of the first MAIL_DUE_SCAN entries due at now (due order: past one
 * organisation's whole backlog), each pick is the oldest of the next
 * organisation after the one served last (st->mail_rr, kept across
 * answers), by name, round the circle.
 */
static int
due_pick(struct store_txn *t, uint64_t now, uint64_t *seqs, uint32_t max,
    uint32_t *n)
{
	struct due_ent *e;
	const char *org;
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t ne = 0, i;
	int rc;

	*n = 0;
	if ((e = calloc(MAIL_DUE_SCAN, sizeof(*e))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->st->mail_due, &cur)) != 0) {
		free(e);
		return txn_lmdb(t, rc, "cursor");
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && ne < MAIL_DUE_SCAN &&
	    k.mv_size == OUTQ_DUE_KEY_LEN && proto_get_be64(k.mv_data) <= now) {
		e[ne].seq = proto_get_be64((uint8_t *)k.mv_data + 8);
		/* Its version byte, then whose (none before it said). */
		if (v.mv_size > 1)
			snprintf(e[ne].org, sizeof(e[ne].org), "%.*s",
			    (int)(v.mv_size - 1 < ST_ORG_ID_MAX ?
			    v.mv_size - 1 : ST_ORG_ID_MAX),
			    (const char *)v.mv_data + 1);
		ne++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(e);
		return txn_lmdb(t, rc, "walk due entries");
	}
	while (*n < max && (org = due_next_org(e, ne, t->st->mail_rr)) !=
	    NULL) {
		for (i = 0; e[i].taken || strcmp(e[i].org, org) != 0; i++)
			;
		e[i].taken = 1;
		seqs[(*n)++] = e[i].seq;
		strlcpy(t->st->mail_rr, org, sizeof(t->st->mail_rr));
	}
	free(e);
	return 0;
}

int
store_mail_due(struct store_txn *t, uint32_t max, uint32_t lease_ms,
    struct st_mail **out, uint32_t *n)
{
	uint64_t seqs[ST_MAIL_DUE_MAX], now;
	struct st_mail *ms;
	uint32_t ns = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if (t->err)
		return t->err;
	if (max < 1 || max > ST_MAIL_DUE_MAX)
		return store_fail(t, PROTO_E_INVALID, "max must be 1 to 16");
	if (lease_ms < ST_HOOK_LEASE_MIN || lease_ms > ST_HOOK_LEASE_MAX)
		return store_fail(t, PROTO_E_INVALID,
		    "lease_ms must be 1000 to 3600000");
	now = t->st->now();
	if (due_pick(t, now, seqs, max, &ns) != 0)
		return t->err;
	if ((ms = calloc(ns > 0 ? ns : 1, sizeof(*ms))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	for (i = 0; i < ns && !t->err; i++) {
		if ((rc = mail_load(t, seqs[i], &ms[*n])) != 0) {
			if (rc == 1)
				store_fail(t, PROTO_E_INTERNAL,
				    "inconsistent index");
			break;
		}
		if (ms[*n].kind == ST_MAIL_WAITING &&
		    (rc = waiting_still(t, &ms[*n])) <= 0) {
			if (rc == 0)
				waiting_answered(t, seqs[i], &ms[*n]);
			st_mail_free(&ms[*n]);
			continue;
		}
		if ((rc = rcpt_recheck(t, &ms[*n])) <= 0) {
			if (rc == 0)
				mail_unwanted(t, seqs[i], &ms[*n]);
			st_mail_free(&ms[*n]);
			continue;
		}
		outq_due_move(t, t->st->mail_due, seqs[i], ms[*n].next_at,
		    now + lease_ms, ms[*n].org);
		ms[*n].next_at = now + lease_ms;
		mail_save(t, seqs[i], &ms[(*n)++]);
	}
	if (t->err) {
		st_rep_free(PROTO_ST_MAIL_DUE, &(struct st_mails){ ms, *n });
		*n = 0;
		return t->err;
	}
	*out = ms;
	return 0;
}

/*
 * m's recipients cut to those in keep (nkeep of them; none: all kept):
 * how many are left.
 */
static uint32_t
rcpt_keep(struct st_mail *m, const struct st_str *keep, uint32_t nkeep)
{
	uint8_t marks[ST_MAIL_RCPT_MAX];
	uint32_t i, j;

	if (nkeep == 0)
		return m->nrcpt;
	memset(marks, 0, sizeof(marks));
	for (i = 0; i < m->nrcpt && i < ST_MAIL_RCPT_MAX; i++)
		for (j = 0; j < nkeep && !marks[i]; j++)
			marks[i] = strcmp(m->rcpt[i], keep[j].s) == 0;
	return rcpt_cut(m, marks);
}

int
store_mail_result(struct store_txn *t, const char *id, int ok,
    const char *error, uint64_t retry_at, const struct st_str *keep,
    uint32_t nkeep)
{
	struct st_mail m;
	uint64_t seq;
	int rc;

	if (t->err)
		return t->err;
	if ((rc = store_seq_read(t, ST_MAIL_PREFIX, id, &seq)) != 0)
		return rc < 0 ? t->err : store_fail(t, PROTO_E_NOT_FOUND,
		    "no such mail");
	if ((rc = mail_load(t, seq, &m)) != 0)
		return rc < 0 ? t->err : 0;
	if (ok || retry_at == 0 || rcpt_keep(&m, keep, nkeep) == 0) {
		if (!ok)
			log_warnx("mail %s (%s, organisation %s) failed after "
			    "%u attempts: %s", m.id, st_mail_kind_name(m.kind),
			    m.org, m.attempts + 1, error);
		mail_remove(t, seq, &m);
	} else {
		m.attempts++;
		strlcpy(m.error, error, sizeof(m.error));
		outq_due_move(t, t->st->mail_due, seq, m.next_at, retry_at,
		    m.org);
		m.next_at = retry_at;
		mail_save(t, seq, &m);
	}
	st_mail_free(&m);
	return t->err;
}

int
store_mail_check(struct store_txn *t, const char *id)
{
	struct st_mail m;
	uint64_t seq;
	int rc;

	if (t->err)
		return t->err;
	if ((rc = store_seq_read(t, ST_MAIL_PREFIX, id, &seq)) < 0)
		return t->err;
	if (rc == 1 || (rc = mail_load(t, seq, &m)) == 1)
		return store_fail(t, PROTO_E_NOT_FOUND, "no such mail");
	if (rc == 0)
		st_mail_free(&m);
	return t->err;
}

/*
 * The mail an event may make (ST_MAIL_*), or 0: a person asked for (by
 * the visitor or the assistant: not a team member moving it into the
 * queue, its conversation's waiting_by), a new contact, a visitor's
 * message in `human` (store_mail_event then checks that nobody answers).
 */
uint32_t
store_event_mail(const struct st_event *ev)
{
	switch (ev->kind) {
	case ST_EV_MESSAGE:
		return strcmp(ev->msg.role, "user") == 0 &&
		    ev->conv.handoff == ST_HANDOFF_HUMAN ? ST_MAIL_WAITING : 0;
	case ST_EV_HANDOFF:
		return ev->state == ST_HANDOFF_WAITING &&
		    st_waiting_asked(ev->conv.waiting_by) ?
		    ST_MAIL_HANDOFF : 0;
	case ST_EV_CONTACT:
		return ST_MAIL_CONTACT;
	}
	return 0;
}
