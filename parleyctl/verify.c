/*
 * parleyctl verify: reads a copy of the data without storaged, as a
 * start would read it, before anyone relies on it (a backup before an
 * upgrade, a restore). LMDB keeps no checksums: what is checked is what
 * can be read back: the file holds every page its last commit names, it
 * is a Parley store of the schema this build reads, every database of
 * proto/storedbs.h is read whole (every page of its tree), and every
 * stored record (a database with a layout) decodes in a format this
 * build reads and passes its layout's checks, and each entity's lists
 * (its order and its organisation's) name its records, each once, with
 * the record's own time and organisation, and the conversations'
 * indexes and the messages (STORE_CONV_INDEXES) name conversations that
 * are there, with their time, organisation and widget, and the counts
 * kept of index entries (STORE_COUNTS) are what the indexes hold. A
 * database this build does not know, or a record format newer than it
 * reads, says the copy is a newer Parley's. Read only: LMDB opened
 * MDB_RDONLY, no lock file. restore (restore.c) verifies its backup
 * here too, and takes the data directory's locks as storaged does.
 *
 * A damaged page can crash LMDB's reads of it (a page number or a size
 * read from garbage): the file is read in a child process, which tells
 * the parent each check it starts and, at its end, its result (struct
 * note); a child that ends without it (a signal, or the sanitizers'
 * exit) leaves the parent to say the file is damaged, and where.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "ctl.h"
#include "record.h"
#include "storedbs.h"

#define VERIFY_SHOWN_MAX	10	/* problems printed per database */
#define VERIFY_KEY_SHOWN	24	/* a key's bytes printed, in hex */

static const struct {
	const char *name;
	const struct rlayout *layout;
} dbs[] = {
#define VERIFY_DB(name, layout)	{ #name, (layout) },
	STORE_DBS(VERIFY_DB)
#undef VERIFY_DB
};

static const struct {
	const char *records, *order, *org_order;	/* "": none */
	const char *first;
} lists[] = {
#define VERIFY_LIST(records, order, org_order, first)	\
	{ #records, #order, #org_order, (first) },
	STORE_ENTITY_LISTS(VERIFY_LIST)
#undef VERIFY_LIST
};

static const struct {
	const char *index, *form, *time, *gone;	/* "": none */
	int every;
} conv_indexes[] = {
#define VERIFY_CONV_INDEX(index, form, time, every, gone)	\
	{ #index, (form), #time, #gone, (every) },
	STORE_CONV_INDEXES(VERIFY_CONV_INDEX)
#undef VERIFY_CONV_INDEX
};

static const struct {
	const char *counts, *index, *form;
} counts[] = {
#define VERIFY_COUNTS(counts, index, form)	{ #counts, #index, (form) },
	STORE_COUNTS(VERIFY_COUNTS)
#undef VERIFY_COUNTS
};

/*
 * What the child tells the parent, one write (under PIPE_BUF) each: the
 * check it starts with the counts so far, then done with its result (rc
 * -1: what says why). sig: the signal that crashed it.
 */
struct note {
	int done, rc, sig;
	uint64_t entries, records, problems;
	char what[1024];
};

/* The child's last note and its pipe: crashed() sends it. */
static struct note note;
static int note_fd = -1;

/* What a verify found: problems (exit 1) and the counts of the summary. */
struct verify {
	FILE *out;
	const char *file;
	uint64_t problems;
	uint64_t entries, records;
	unsigned shown;		/* of the current database */
};

static void __attribute__((format(printf, 2, 3)))
problem(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	v->problems++;
	if (v->shown++ >= VERIFY_SHOWN_MAX)
		return;
	fprintf(v->out, "%s: ", v->file);
	va_start(ap, fmt);
	vfprintf(v->out, fmt, ap);
	va_end(ap);
	fputc('\n', v->out);
}

/*
 * The check about to run, told to the parent with the counts so far:
 * what it names when reading the file crashes. What was printed goes out
 * first, not to be lost with the child.
 */
static void __attribute__((format(printf, 2, 3)))
checking(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	fflush(v->out);
	va_start(ap, fmt);
	vsnprintf(note.what, sizeof(note.what), fmt, ap);
	va_end(ap);
	note.entries = v->entries;
	note.records = v->records;
	note.problems = v->problems;
	if (write(note_fd, &note, sizeof(note)) < 0)
		return;	/* the parent is gone: nobody to tell */
}

/* A read of the file crashed the child: the parent told which, then out. */
static void
crashed(int sig)
{
	note.sig = sig;
	if (write(note_fd, &note, sizeof(note)) < 0)
		_exit(1);
	_exit(1);
}

/* The key's first bytes in hex, for a problem's line. */
static const char *
key_hex(const MDB_val *k, char *buf, size_t bufsz)
{
	const uint8_t *p = k->mv_data;
	size_t i, n = k->mv_size < VERIFY_KEY_SHOWN ? k->mv_size :
	    VERIFY_KEY_SHOWN;

	buf[0] = '\0';
	for (i = 0; i < n && 2 * i + 3 <= bufsz; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	if (n < k->mv_size && 2 * n + 4 <= bufsz)
		strcat(buf, "...");
	return buf;
}

/* One value of a record database: its format byte and its record. */
static void
record_check(struct verify *v, const char *db, const struct rlayout *l,
    void *rec, const MDB_val *k, const MDB_val *val)
{
	const uint8_t *p = val->mv_data;
	char kb[2 * VERIFY_KEY_SHOWN + 4];
	struct pdec d;
	int ver = val->mv_size > 0 ? p[0] : -1;

	if (ver < 1 || ver > rl_version(l)) {
		problem(v, "%s: key %s: %s record of format %d, this parleyctl "
		    "reads 1 to %d%s", db, key_hex(k, kb, sizeof(kb)), l->name,
		    ver, rl_version(l), ver > rl_version(l) ?
		    " (a newer Parley's)" : "");
		return;
	}
	/* A visitor session stored under another format's byte, as storaged reads it. */
	if (l == &st_wsess_layout && st_wsess_late_v1(p, val->mv_size,
	    rec) == 0)
		goto read;
	pdec_init(&d, p + 1, val->mv_size - 1);
	if (rl_dec(&d, l, rec, ver) < 0 || pdec_done(&d) < 0) {
		problem(v, "%s: key %s: %s record of format %d does not read",
		    db, key_hex(k, kb, sizeof(kb)), l->name, ver);
		return;
	}
read:
	v->records++;
	rl_free(l, rec);
}

/*
 * Every entry of database i read through a cursor (every page of its
 * tree), its values decoded when it holds records. A database the copy
 * lacks is one a start makes (an older Parley's copy): no problem.
 */
static void
db_check(struct verify *v, MDB_txn *txn, size_t i)
{
	const struct rlayout *l = dbs[i].layout;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, val;
	void *rec = NULL;
	uint64_t records = v->records;
	int rc;

	v->shown = 0;
	if ((rc = mdb_dbi_open(txn, dbs[i].name, 0, &dbi)) == MDB_NOTFOUND)
		return;
	if (rc != 0) {
		problem(v, "%s: cannot open: %s", dbs[i].name,
		    mdb_strerror(rc));
		return;
	}
	if (l != NULL && (rec = calloc(1, l->size)) == NULL) {
		problem(v, "%s: out of memory", dbs[i].name);
		return;
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		goto fail;
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		v->entries++;
		if (l != NULL)
			record_check(v, dbs[i].name, l, rec, &k, &val);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
fail:
	if (rc != 0)
		problem(v, "%s: cannot be read whole: %s", dbs[i].name,
		    mdb_strerror(rc));
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(rec);
	/* What the copy holds, by record: read back, each one. */
	if (v->records > records)
		fprintf(v->out, "%s: %s: %" PRIu64 " %s records read\n",
		    v->file, dbs[i].name, v->records - records, l->name);
}

/* The layout of database name's records, or NULL. */
static const struct rlayout *
db_layout(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (strcmp(dbs[i].name, name) == 0)
			return dbs[i].layout;
	return NULL;
}

/* Where member sits in l's struct, or -1 when l has no such row. */
static ssize_t
member_off(const struct rlayout *l, const char *member)
{
	size_t i;

	for (i = 0; i < l->nf; i++)
		if (strcmp(l->f[i].member, member) == 0)
			return (ssize_t)l->f[i].off;
	return -1;
}

/*
 * Record value val of layout l decoded into rec (zeroed): 0, or -1 when
 * it does not read (db_check named why: passed over by the lists' and
 * the indexes' checks).
 */
static int
record_read(const struct rlayout *l, const MDB_val *val, void *rec)
{
	const uint8_t *p = val->mv_data;
	struct pdec d;

	if (val->mv_size < 1 || p[0] < 1 || p[0] > rl_version(l))
		return -1;
	pdec_init(&d, p + 1, val->mv_size - 1);
	return rl_dec(&d, l, rec, p[0]);
}

/* The organisation at off in rec: one stored before them is the default's. */
static const char *
record_org(const void *rec, ssize_t off)
{
	const char *o = (const char *)rec + off;

	return o[0] != '\0' ? o : ST_ORG_DEFAULT;
}

/* One entity's list being held against its records. */
struct list_walk {
	struct verify *v;
	MDB_txn *txn;
	MDB_dbi recs;
	const struct rlayout *l;
	const char *what, *list, *first;	/* what: the records' database */
	ssize_t created_at, org;	/* member_off; org -1: none */
	void *rec;
};

/*
 * An entry of w's list: the record its id names is there, created at
 * the time the key says (0 for the first), of the organisation it says
 * (org, or NULL for an order without one). A record that does not
 * decode was named by db_check: passed over.
 */
static void
list_entry(struct list_walk *w, const MDB_val *k, const char *org)
{
	const uint8_t *p = k->mv_data;
	size_t at = org != NULL ? strlen(org) + 1 : 0;
	char kb[2 * VERIFY_KEY_SHOWN + 4], id[ST_WIDGET_MAX + 1];
	const char *ro;
	MDB_val key, val;
	uint64_t t;

	if (k->mv_size < at + 8 + 1 || k->mv_size - at - 8 > ST_WIDGET_MAX) {
		problem(w->v, "%s: key %s is not an order key", w->list,
		    key_hex(k, kb, sizeof(kb)));
		return;
	}
	memcpy(id, p + at + 8, k->mv_size - at - 8);
	id[k->mv_size - at - 8] = '\0';
	key.mv_size = strlen(id);
	key.mv_data = id;
	if (key.mv_size != k->mv_size - at - 8 ||
	    mdb_get(w->txn, w->recs, &key, &val) != 0) {
		problem(w->v, "%s: names %s %s, which is not in %s", w->list,
		    w->l->name, id, w->what);
		return;
	}
	if (record_read(w->l, &val, w->rec) < 0)
		return;
	t = w->first != NULL && strcmp(id, w->first) == 0 ? 0 :
	    *(uint64_t *)((char *)w->rec + w->created_at);
	ro = org == NULL ? NULL : record_org(w->rec, w->org);
	if (proto_get_be64((const uint8_t *)k->mv_data + at) != t)
		problem(w->v, "%s: lists %s %s at another time than its "
		    "record's", w->list, w->l->name, id);
	else if (ro != NULL && strcmp(org, ro) != 0)
		problem(w->v, "%s: lists %s %s under organisation %s, its "
		    "record says %s", w->list, w->l->name, id, org, ro);
	rl_free(w->l, w->rec);
}

/*
 * w's list (an organisation's when by_org) read whole: each entry names
 * a record as it is, and there are as many entries as records, so each
 * record is listed once (two entries of one id differ in their time or
 * organisation, which one of them does not match).
 */
static void
list_walk(struct list_walk *w, const char *list, int by_org)
{
	const uint8_t *p, *nul;
	MDB_cursor *cur;
	MDB_stat ms;
	MDB_dbi dbi;
	MDB_val k, val;
	size_t n = 0;
	int rc;

	w->list = list;
	if (mdb_dbi_open(w->txn, list, 0, &dbi) != 0 ||
	    mdb_cursor_open(w->txn, dbi, &cur) != 0)
		return;	/* an older Parley's: a start makes it */
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT), n++) {
		p = k.mv_data;
		nul = by_org ? memchr(p, '\0', k.mv_size) : NULL;
		if (by_org && (nul == NULL || nul == p))
			problem(w->v, "%s: an entry names no organisation",
			    list);
		else
			list_entry(w, &k, by_org ? (const char *)p : NULL);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND && mdb_stat(w->txn, w->recs, &ms) == 0 &&
	    ms.ms_entries != n)
		problem(w->v, "%s: %zu entries for %zu %s records: %s", list,
		    n, ms.ms_entries, w->l->name, n < ms.ms_entries ?
		    "a record is missing from it" : "a record is in it twice");
}

/* Entity i's lists held against its records. */
static void
lists_check(struct verify *v, MDB_txn *txn, size_t i)
{
	struct list_walk w = { .v = v, .txn = txn, .what = lists[i].records,
	    .first = lists[i].first };

	v->shown = 0;
	if ((w.l = db_layout(lists[i].records)) == NULL ||
	    (w.created_at = member_off(w.l, "created_at")) < 0 ||
	    ((w.org = member_off(w.l, "org")) < 0 &&
	    lists[i].org_order[0] != '\0')) {
		problem(v, "%s: this parleyctl cannot read its lists", w.what);
		return;
	}
	if (mdb_dbi_open(txn, w.what, 0, &w.recs) != 0)
		return;
	if ((w.rec = calloc(1, w.l->size)) == NULL) {
		problem(v, "%s: out of memory", w.what);
		return;
	}
	list_walk(&w, lists[i].order, 0);
	if (lists[i].org_order[0] != '\0')
		list_walk(&w, lists[i].org_order, 1);
	free(w.rec);
}

/* One index naming conversations being held against them. */
struct conv_walk {
	struct verify *v;
	MDB_txn *txn;
	MDB_dbi convs, gone;
	int has_gone;
	const struct rlayout *l;
	const char *index, *form;
	ssize_t time, org, widget, contact; /* member_off; time -1: none */
	uint8_t last[16];	/* the id the entry before named */
	int has_last;
	/* x's contacts, and those being deleted; the one x named before */
	MDB_dbi contacts, contacts_gone;
	int has_contacts, has_contacts_gone;
	uint8_t last_x[16];
	int has_last_x;
	void *rec;
};

/*
 * The end of a key's part of form f (storedbs.h) that starts at p: past
 * its NUL for o and w (a part of one byte at least), past its bytes for
 * t, q, x and i; NULL when the key, ending at end, does not hold it.
 */
static const uint8_t *
form_part(char f, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nul;
	size_t n = f == 't' ? 8 : f == 'q' ? 4 : 16;

	if (f == 'o' || f == 'w')
		return (nul = memchr(p, '\0', (size_t)(end - p))) == NULL ||
		    nul == p ? NULL : nul + 1;
	return (size_t)(end - p) >= n ? p + n : NULL;
}

/*
 * The contact an entry's x part names is there, or being deleted
 * (contact_gone: its links end in steps, and the entry goes after the
 * last): a link of a contact that is neither outlived its deletion, and
 * its conversation names a contact nothing answers for. Each contact
 * once (its links are next to each other).
 */
static void
contact_there(struct conv_walk *w, const uint8_t *x)
{
	char kb[2 * VERIFY_KEY_SHOWN + 4];
	MDB_val key = { .mv_size = 16, .mv_data = (void *)x }, val;

	if (w->has_last_x && memcmp(w->last_x, x, 16) == 0)
		return;
	memcpy(w->last_x, x, 16);
	w->has_last_x = 1;
	if (!w->has_contacts ||
	    mdb_get(w->txn, w->contacts, &key, &val) == 0 ||
	    (w->has_contacts_gone &&
	    mdb_get(w->txn, w->contacts_gone, &key, &val) == 0))
		return;
	problem(w->v, "%s: links contact %s, which is not in contacts nor "
	    "being deleted (contact_gone)", w->index, key_hex(&key, kb,
	    sizeof(kb)));
}

/*
 * An entry of w's index, read by its form: the conversation it names is
 * there (or being deleted), and the time, organisation, widget and
 * contact the key carries are its record's, the contact one that is
 * there (contact_there). A record that does not decode was named by
 * db_check: passed over. An id named again by the next entry (a
 * conversation's messages) is looked up once.
 */
static void
conv_entry(struct conv_walk *w, const MDB_val *k)
{
	const uint8_t *p = k->mv_data, *end = p + k->mv_size, *id = NULL,
	    *next, *other = NULL;
	const char *f, *org = NULL, *widget = NULL, *ro;
	char kb[2 * VERIFY_KEY_SHOWN + 4], ob[2 * VERIFY_KEY_SHOWN + 4];
	MDB_val ok;
	MDB_val key, val;
	uint64_t t = 0;
	int has_t = 0;

	for (f = w->form; *f != '\0'; f++, p = next) {
		if ((next = form_part(*f, p, end)) == NULL)
			goto bad;
		if (*f == 'o')
			org = (const char *)p;
		else if (*f == 'w')
			widget = (const char *)p;
		else if (*f == 't') {
			t = proto_get_be64(p);
			has_t = 1;
		} else if (*f == 'x')
			other = p;
		else if (*f == 'i')
			id = p;
	}
	if (p != end || id == NULL)
		goto bad;
	if (other != NULL)
		contact_there(w, other);
	if (w->has_last && memcmp(w->last, id, 16) == 0)
		return;
	memcpy(w->last, id, 16);
	w->has_last = 1;
	key.mv_size = 16;
	key.mv_data = (void *)id;
	if (mdb_get(w->txn, w->convs, &key, &val) != 0) {
		if (!w->has_gone || mdb_get(w->txn, w->gone, &key, &val) != 0)
			problem(w->v, "%s: names conversation %s, which is not "
			    "in convs", w->index, key_hex(&key, kb,
			    sizeof(kb)));
		return;
	}
	if (!has_t && org == NULL && widget == NULL && other == NULL)
		return;
	if (record_read(w->l, &val, w->rec) < 0)
		return;
	ro = record_org(w->rec, w->org);
	/* contact_convs' contact: the one its conversation names. */
	if (other != NULL) {
		ok.mv_size = 16;
		ok.mv_data = (void *)other;
		(void)key_hex(&ok, ob, sizeof(ob));
	}
	if (has_t && w->time >= 0 &&
	    *(uint64_t *)((char *)w->rec + w->time) != t)
		problem(w->v, "%s: lists conversation %s at another time than "
		    "its record's", w->index, key_hex(&key, kb, sizeof(kb)));
	else if (org != NULL && strcmp(org, ro) != 0)
		problem(w->v, "%s: lists conversation %s under organisation "
		    "%s, its record says %s", w->index, key_hex(&key, kb,
		    sizeof(kb)), org, ro);
	else if (widget != NULL &&
	    strcmp(widget, (char *)w->rec + w->widget) != 0)
		problem(w->v, "%s: lists conversation %s under widget %s, its "
		    "record says %s", w->index, key_hex(&key, kb, sizeof(kb)),
		    widget, (char *)w->rec + w->widget);
	else if (other != NULL && strcmp(ob, (char *)w->rec + w->contact) != 0)
		problem(w->v, "%s: links contact %s to conversation %s, which "
		    "names contact \"%s\"", w->index, ob, key_hex(&key, kb,
		    sizeof(kb)), (char *)w->rec + w->contact);
	rl_free(w->l, w->rec);
	return;
bad:
	problem(w->v, "%s: key %s is not of its form", w->index,
	    key_hex(k, kb, sizeof(kb)));
}

/*
 * Index i of the conversations read whole, each entry held against its
 * conversation; one that holds every conversation once has as many
 * entries as there are conversations. An index the copy lacks, or an
 * empty one that holds each (a start builds it), is no problem.
 */
static void
conv_index_check(struct verify *v, MDB_txn *txn, size_t i)
{
	struct conv_walk w = { .v = v, .txn = txn,
	    .index = conv_indexes[i].index, .form = conv_indexes[i].form };
	MDB_cursor *cur;
	MDB_stat ms, cs;
	MDB_dbi dbi;
	MDB_val k, val;
	int rc;

	v->shown = 0;
	if ((w.l = db_layout("convs")) == NULL ||
	    (w.org = member_off(w.l, "org")) < 0 ||
	    (w.widget = member_off(w.l, "widget")) < 0 ||
	    (w.contact = member_off(w.l, "contact_id")) < 0 ||
	    ((w.time = member_off(w.l, conv_indexes[i].time)) < 0 &&
	    conv_indexes[i].time[0] != '\0')) {
		problem(v, "%s: this parleyctl cannot read it", w.index);
		return;
	}
	if (mdb_dbi_open(txn, "convs", 0, &w.convs) != 0 ||
	    mdb_dbi_open(txn, w.index, 0, &dbi) != 0 ||
	    mdb_stat(txn, dbi, &ms) != 0 || mdb_stat(txn, w.convs, &cs) != 0)
		return;	/* an older Parley's: a start makes it */
	if (conv_indexes[i].every && ms.ms_entries == 0)
		return;
	w.has_gone = conv_indexes[i].gone[0] != '\0' &&
	    mdb_dbi_open(txn, conv_indexes[i].gone, 0, &w.gone) == 0;
	w.has_contacts = strchr(w.form, 'x') != NULL &&
	    mdb_dbi_open(txn, "contacts", 0, &w.contacts) == 0;
	w.has_contacts_gone = w.has_contacts &&
	    mdb_dbi_open(txn, "contact_gone", 0, &w.contacts_gone) == 0;
	if ((w.rec = calloc(1, w.l->size)) == NULL) {
		problem(v, "%s: out of memory", w.index);
		return;
	}
	if (mdb_cursor_open(txn, dbi, &cur) != 0) {
		free(w.rec);
		return;	/* db_check said why */
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
		conv_entry(&w, &k);
	mdb_cursor_close(cur);
	free(w.rec);
	if (rc == MDB_NOTFOUND && conv_indexes[i].every &&
	    ms.ms_entries != cs.ms_entries)
		problem(v, "%s: %zu entries for %zu conversations: %s",
		    w.index, ms.ms_entries, cs.ms_entries, ms.ms_entries <
		    cs.ms_entries ? "a conversation is missing from it" :
		    "a conversation is in it twice");
}

/*
 * The part of index key k that a count of form counts (its bytes up to
 * and with the form's last NUL, or its 16 bytes): its length, 0 when k is
 * not of the form. *klen: the count's key, without that NUL.
 */
static size_t
count_prefix(const char *form, const MDB_val *k, size_t *klen)
{
	const uint8_t *start = k->mv_data, *p = start, *end = p + k->mv_size;
	char last = '\0';

	for (; *form != '\0'; last = *form++)
		if ((p = form_part(*form, p, end)) == NULL)
			return 0;
	/* The count's key leaves out the NUL a last o or w part ends with. */
	*klen = (size_t)(p - start) - (last == 'o' || last == 'w' ? 1 : 0);
	return (size_t)(p - start);
}

/* A count's key as printed: hex for raw bytes, else its text, NUL as /. */
static const char *
count_key_shown(const char *form, const MDB_val *k, char *buf,
    size_t bufsz)
{
	size_t i, n = k->mv_size < bufsz - 1 ? k->mv_size : bufsz - 1;

	if (strchr(form, 'x') != NULL)
		return key_hex(k, buf, bufsz);
	for (i = 0; i < n; i++) {
		char ch = ((const char *)k->mv_data)[i];

		buf[i] = ch == '\0' ? '/' : ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* A count's value: 0 with *n, -1 not ST_RECORD_VERSION and a u64 whole. */
static int
count_value(const MDB_val *val, uint64_t *n)
{
	struct pdec d;

	*n = 0;
	if (val->mv_size < 1 ||
	    ((const uint8_t *)val->mv_data)[0] != ST_RECORD_VERSION)
		return -1;
	pdec_init(&d, (const uint8_t *)val->mv_data + 1, val->mv_size - 1);
	*n = pdec_u64(&d);
	return pdec_done(&d);
}

/*
 * One part of the index (its count's key part, n entries) against its
 * count in cdb.
 */
static void
count_part(struct verify *v, MDB_txn *txn, size_t i, MDB_dbi cdb,
    MDB_val *part, uint64_t n)
{
	char kb[2 * VERIFY_KEY_SHOWN + 4];
	MDB_val val;
	uint64_t kept = 0;
	int r;

	r = mdb_get(txn, cdb, part, &val) != 0 ? 0 :
	    count_value(&val, &kept) < 0 ? -1 : 1;
	if (r == 1 && kept == n)
		return;
	(void)count_key_shown(counts[i].form, part, kb, sizeof(kb));
	if (r == 0)
		problem(v, "%s: no count for %s, which %s has %" PRIu64
		    " entries of", counts[i].counts, kb, counts[i].index, n);
	else if (r < 0)
		problem(v, "%s: the count for %s does not read", counts[i].counts,
		    kb);
	else
		problem(v, "%s: counts %" PRIu64 " for %s, which %s has %"
		    PRIu64 " entries of", counts[i].counts, kept, kb,
		    counts[i].index, n);
}

/*
 * Count table i against its index: the index's entries of each part as
 * many as its count says, and every count (none at 0) of a part the index
 * holds. A copy without either, or an empty count table, is no problem
 * (a start makes them).
 */
static void
count_check(struct verify *v, MDB_txn *txn, size_t i)
{
	const char *form = counts[i].form;
	int raw = strchr(form, 'x') != NULL;
	char kb[2 * VERIFY_KEY_SHOWN + 4];
	MDB_dbi cdb, idb;
	MDB_cursor *cur, *icur;
	MDB_stat ms;
	MDB_val k, val, part = { 0, NULL };
	uint8_t last[256];
	uint64_t n = 0, kept;
	size_t plen, klen = 0;
	int rc;

	v->shown = 0;
	if (mdb_dbi_open(txn, counts[i].counts, 0, &cdb) != 0 ||
	    mdb_dbi_open(txn, counts[i].index, 0, &idb) != 0 ||
	    mdb_stat(txn, cdb, &ms) != 0 || ms.ms_entries == 0)
		return;
	if (mdb_cursor_open(txn, idb, &icur) != 0)
		return;	/* db_check said why */
	/* The index's entries of one part are next to each other. */
	for (rc = mdb_cursor_get(icur, &k, &val, MDB_FIRST); ;
	    rc = mdb_cursor_get(icur, &k, &val, MDB_NEXT)) {
		if (rc == 0 && (count_prefix(form, &k, &klen) == 0 ||
		    klen >= sizeof(last)))
			continue;	/* not of the form: another check's */
		if (part.mv_data != NULL && (rc != 0 || klen != part.mv_size ||
		    memcmp(k.mv_data, last, klen) != 0)) {
			count_part(v, txn, i, cdb, &part, n);
			part.mv_data = NULL;
		}
		if (rc != 0)
			break;
		if (part.mv_data == NULL) {
			memcpy(last, k.mv_data, klen);
			part.mv_data = last;
			part.mv_size = klen;
			n = 0;
		}
		n++;
	}
	/* Every count is not 0, and names a part the index holds. */
	if (mdb_cursor_open(txn, cdb, &cur) != 0) {
		mdb_cursor_close(icur);
		return;
	}
	for (rc = mdb_cursor_get(cur, &part, &val, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &part, &val, MDB_NEXT)) {
		if ((rc = count_value(&val, &kept)) < 0 || kept == 0) {
			problem(v, "%s: the count for %s %s", counts[i].counts,
			    count_key_shown(form, &part, kb, sizeof(kb)),
			    rc < 0 ? "does not read" : "is 0 (kept as none)");
			continue;
		}
		/* The part's first entry: its key, and its NUL. */
		plen = part.mv_size + (raw ? 0 : 1);
		if (plen > sizeof(last))
			continue;
		memcpy(last, part.mv_data, part.mv_size);
		last[plen - 1] = raw ? last[plen - 1] : '\0';
		k.mv_data = last;
		k.mv_size = plen;
		if (mdb_cursor_get(icur, &k, &val, MDB_SET_RANGE) != 0 ||
		    k.mv_size < plen || memcmp(k.mv_data, last, plen) != 0)
			problem(v, "%s: counts %" PRIu64 " for %s, of which %s "
			    "has no entry", counts[i].counts, kept,
			    count_key_shown(form, &part, kb, sizeof(kb)),
			    counts[i].index);
	}
	mdb_cursor_close(cur);
	mdb_cursor_close(icur);
}

/* The names in the main database this build does not know: a newer one's. */
static void
unknown_dbs(struct verify *v, MDB_txn *txn)
{
	char kb[2 * VERIFY_KEY_SHOWN + 4];
	MDB_cursor *cur;
	MDB_dbi main_dbi;
	MDB_val k, val;
	size_t i;
	int rc;

	v->shown = 0;
	/* The main database holds the named ones (dbi 0 is the free list). */
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, main_dbi, &cur)) != 0) {
		problem(v, "cannot read its databases: %s", mdb_strerror(rc));
		return;
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
			if (strlen(dbs[i].name) == k.mv_size &&
			    memcmp(dbs[i].name, k.mv_data, k.mv_size) == 0)
				break;
		if (i == sizeof(dbs) / sizeof(dbs[0]))
			problem(v, "database %s is not one this parleyctl "
			    "knows (a newer Parley's copy?)",
			    key_hex(&k, kb, sizeof(kb)));
	}
	if (rc != MDB_NOTFOUND)
		problem(v, "cannot read its databases: %s", mdb_strerror(rc));
	mdb_cursor_close(cur);
}

/* The schema record: 0, or -1 (said): not a store this build reads. */
static int
schema_check(struct verify *v, MDB_txn *txn)
{
	MDB_val k = { sizeof(STORE_SCHEMA_KEY) - 1, (void *)STORE_SCHEMA_KEY };
	MDB_val val;
	MDB_dbi meta;
	const uint8_t *p;

	v->shown = 0;
	if (mdb_dbi_open(txn, "meta", 0, &meta) != 0 ||
	    mdb_get(txn, meta, &k, &val) != 0) {
		problem(v, "an LMDB file, but not Parley's data (no schema "
		    "record)");
		return -1;
	}
	p = val.mv_data;
	if (val.mv_size != 5 || p[0] != ST_RECORD_VERSION) {
		problem(v, "its schema record is not understood");
		return -1;
	}
	/* An older version's storaged brings to this one's at its start. */
	if (proto_get_be32(p + 1) > STORE_SCHEMA_VERSION ||
	    proto_get_be32(p + 1) < STORE_SCHEMA_OLDEST) {
		problem(v, "data of schema version %" PRIu32 ", this parleyctl "
		    "reads versions %d to %d", proto_get_be32(p + 1),
		    STORE_SCHEMA_OLDEST, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/*
 * Whether the file holds every page its last commit names: a copy cut
 * short would be mapped past its end, and a read there is SIGBUS. A
 * data.mdb whose wal.log holds records may end short of pages it freed
 * (storaged's env_whole): dirty says so, and the size is not held to it.
 */
static int
whole_check(struct verify *v, MDB_env *env, int dirty)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	uint64_t need;
	int fd;

	v->shown = 0;
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
	    mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &sb) != 0) {
		problem(v, "cannot read its size");
		return -1;
	}
	need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if (dirty || (uint64_t)sb.st_size >= need)
		return 0;
	problem(v, "cut short: %jd bytes where its last commit needs %ju "
	    "(copied in part?)", (intmax_t)sb.st_size, (uintmax_t)need);
	return -1;
}

void
ctl_locks_close(int fd[2])
{
	int i;

	for (i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

/*
 * dir itself and its storaged.data.lock, when it is there, taken: storaged
 * locks both (the file can be deleted under it, the directory it holds
 * open cannot).
 */
int
ctl_data_lock(const char *dir, int exclusive, int fd[2])
{
	char path[PATH_MAX];
	int i;

	fd[0] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd[1] = (size_t)snprintf(path, sizeof(path), "%s/storaged.data.lock",
	    dir) >= sizeof(path) ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	for (i = 0; i < 2; i++)
		if (fd[i] >= 0 && flock(fd[i], (exclusive ? LOCK_EX :
		    LOCK_SH) | LOCK_NB) < 0) {
			ctl_locks_close(fd);
			return -1;
		}
	return 0;
}

/*
 * dir's locks taken (shared) while we read: -1 (said in err) when a
 * storaged holds one, whose writes would change the file under us.
 */
static int
lock_check(const char *dir, int fd[2], char *err, size_t errsz)
{
	if (ctl_data_lock(dir, 0, fd) == 0)
		return 0;
	snprintf(err, errsz, "verify: a storaged is running on %s: verify a "
	    "backup of it (parleyctl backup FILE), or stop it first", dir);
	return -1;
}

int
ctl_wal_dirty(const char *dir)
{
	char path[PATH_MAX];
	uint8_t hdr[4];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/wal.log", dir) >=
	    sizeof(path) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	return n == (ssize_t)sizeof(hdr) && proto_get_be32(hdr) != 0;
}

/*
 * path's data file: path itself, or DIR/data.mdb; its directory in dir.
 * Both are of path resolved: a link to a running storaged's data.mdb or
 * directory is checked (lock_check, wal_pending) as the path itself.
 */
static int
data_file(const char *given, char *file, size_t filesz, char *dir,
    size_t dirsz, char *err, size_t errsz)
{
	char path[PATH_MAX];
	struct stat sb;
	const char *slash;

	if (realpath(given, path) == NULL || stat(path, &sb) != 0) {
		snprintf(err, errsz, "verify: %s: %s", given, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		if ((size_t)snprintf(dir, dirsz, "%s", path) >= dirsz ||
		    (size_t)snprintf(file, filesz, "%s/data.mdb", path) >=
		    filesz)
			goto long_path;
		return 0;
	}
	if ((size_t)snprintf(file, filesz, "%s", path) >= filesz)
		goto long_path;
	slash = strrchr(path, '/');
	if ((size_t)snprintf(dir, dirsz, "%.*s", slash == NULL ? 1 :
	    slash == path ? 1 : (int)(slash - path), slash == NULL ? "." :
	    path) >= dirsz)
		goto long_path;
	return 0;
long_path:
	snprintf(err, errsz, "verify: %s: path too long", path);
	return -1;
}

/*
 * The walk itself, in the child: file read whole, what it found printed
 * to out; 0 none found, 1 found, -1 not read at all (err says why). dir
 * NULL: file is a backup, held whole whatever its name.
 */
static int
verify_walk(const char *file, const char *dir, FILE *out, char *err,
    size_t errsz)
{
	struct verify v = { .out = out, .file = file };
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	size_t i;
	int dirty, rc;

	/* A backup is whole; a data.mdb beside a wal.log maybe not. */
	dirty = dir != NULL && strcmp(strrchr(file, '/') ?
	    strrchr(file, '/') + 1 : file, "data.mdb") == 0 &&
	    ctl_wal_dirty(dir);
	checking(&v, "its first pages");
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, NDBS)) != 0 ||
	    (rc = mdb_env_open(env, file, MDB_RDONLY | MDB_NOSUBDIR |
	    MDB_NOLOCK, 0600)) != 0) {
		snprintf(err, errsz, "verify: %s: %s", file, rc == MDB_INVALID ?
		    "not an LMDB file" : mdb_strerror(rc));
		goto done;
	}
	if (whole_check(&v, env, dirty) < 0)
		goto report;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(err, errsz, "verify: %s: %s", file, mdb_strerror(rc));
		goto done;
	}
	checking(&v, "its schema record");
	if (schema_check(&v, txn) < 0)
		goto report;
	checking(&v, "its list of databases");
	unknown_dbs(&v, txn);
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		checking(&v, "database %s", dbs[i].name);
		db_check(&v, txn, i);
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		checking(&v, "the lists of %s", lists[i].records);
		lists_check(&v, txn, i);
	}
	for (i = 0; i < sizeof(conv_indexes) / sizeof(conv_indexes[0]); i++) {
		checking(&v, "index %s", conv_indexes[i].index);
		conv_index_check(&v, txn, i);
	}
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		checking(&v, "the counts %s", counts[i].counts);
		count_check(&v, txn, i);
	}
report:
	if (dirty)
		fprintf(out, "%s: its wal.log holds writes after its last "
		    "checkpoint, which storaged replays at start: they are "
		    "not read here\n", file);
	fprintf(out, "%s: %" PRIu64 " entries read, %" PRIu64 " records "
	    "decoded: %s\n", file, v.entries, v.records, v.problems == 0 ?
	    "no problem found" : "PROBLEMS FOUND");
	if (v.problems > 0)
		fprintf(out, "%s: %" PRIu64 " problem%s\n", file, v.problems,
		    v.problems == 1 ? "" : "s");
	rc = v.problems == 0 ? 0 : 1;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
done:
	mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return -1;
}

/*
 * The child's side: the walk, its output flushed, then its result told.
 * A crash of a read sends the note of the check it was in (crashed).
 */
static void __attribute__((noreturn))
verify_child(const char *file, const char *dir, FILE *out, int fd)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = crashed };
	char err[PATH_MAX + 128];
	size_t i;

	note_fd = fd;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	if ((note.rc = verify_walk(file, dir, out, err, sizeof(err))) < 0)
		strlcpy(note.what, err, sizeof(note.what));
	if (fflush(out) != 0 && note.rc >= 0) {
		note.rc = -1;
		strlcpy(note.what, "cannot write the output",
		    sizeof(note.what));
	}
	note.done = 1;
	if (write(fd, &note, sizeof(note)) < 0)
		_exit(1);
	_exit(0);
}

/*
 * file read in a child (verify_child), its report printed to out: as
 * ctl_verify, without the locks (dir NULL: file is a backup).
 */
static int
verify_run(const char *file, const char *dir, FILE *out, char *err,
    size_t errsz)
{
	struct note last = { .what = "its first pages" }, n;
	ssize_t got;
	size_t have = 0;
	pid_t pid;
	int p[2], status = 0;

	fflush(out);
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errsz, "verify: pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errsz, "verify: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		verify_child(file, dir, out, p[1]);
	}
	close(p[1]);
	/* Each note whole; the pipe's end (EOF) is the child's. */
	for (;;) {
		got = read(p[0], (char *)&n + have, sizeof(n) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if ((have += (size_t)got) == sizeof(n)) {
			last = n;
			have = 0;
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (last.done && last.sig == 0) {
		if (last.rc < 0)
			strlcpy(err, last.what, errsz);
		return last.rc;
	}
	/* The child crashed, or died of the sanitizers' report: damaged. */
	if (last.sig == 0 && WIFSIGNALED(status))
		last.sig = WTERMSIG(status);
	if (last.sig != 0)
		fprintf(out, "%s: damaged: reading it crashed (%s) while "
		    "checking %s: a page of it is not as LMDB wrote it\n",
		    file, strsignal(last.sig), last.what);
	else
		fprintf(out, "%s: damaged: reading it ended without its "
		    "report (exit status %d) while checking %s: a page of it "
		    "is not as LMDB wrote it\n", file, WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1, last.what);
	fprintf(out, "%s: %" PRIu64 " entries read, %" PRIu64 " records "
	    "decoded: PROBLEMS FOUND\n", file, last.entries, last.records);
	fprintf(out, "%s: %" PRIu64 " problem%s\n", file, last.problems + 1,
	    last.problems == 0 ? "" : "s");
	return 1;
}

int
ctl_verify(const char *path, FILE *out, char *err, size_t errsz)
{
	char file[PATH_MAX], dir[PATH_MAX];
	int lockfd[2], rc;

	if (data_file(path, file, sizeof(file), dir, sizeof(dir), err,
	    errsz) < 0 || lock_check(dir, lockfd, err, errsz) < 0)
		return -1;
	rc = verify_run(file, dir, out, err, errsz);
	ctl_locks_close(lockfd);
	return rc;
}

int
ctl_verify_backup(const char *file, FILE *out, char *err, size_t errsz)
{
	return verify_run(file, NULL, out, err, errsz);
}
