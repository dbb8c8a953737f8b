/*
 * The knowledge base's quota (see kbusage.h, STORAGE.md): what each
 * organisation's sources keep, counted as it changes, and refused past
 * PARLEY_KB_QUOTA_MB:
 *
 *	kb_usage  org -> u64 bytes: the sum of its sources' bytes
 *	          (st_kbsource's), absent at 0
 *
 * A source's bytes are its pages' (each page's record and its chunks'
 * and vectors' bytes, kbpage.c), its file's (a file source's upload)
 * or its qa chunk's (kbsource.c). A chunk's are its record, its
 * postings and its entries (kbindex.c's kb_chunk_add_bytes); a
 * vector's, its quantised codes (kbvec.c's kb_vec_bytes): what LMDB
 * keeps for them, each entry's key and value with its share of its
 * page (KB_ENTRY), within a few tenths of the pages the knowledge
 * base's databases grow by (test_kbquota.c measures it). A term's count
 * of chunks (kb_terms), one an organisation's term whatever its chunks,
 * is not counted. A deleted source's bytes leave the count at once, its
 * data in the sweep's steps after. Knowledge stored before the count
 * (an older data directory) is counted once at open (kbcount.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kbusage.h"

#define MIB	(1024.0 * 1024.0)
/*
 * The room a new source needs left: about what a page of one chunk
 * takes (8 KiB of text, its postings, a vector), so that a source is
 * not added to fail at its first page; a sixteenth of a quota smaller
 * than a MiB.
 */
#define ROOM_LEAST	(64u << 10)

void
store_kb_settings(struct store *st, uint64_t quota)
{
	st->kb_quota = quota;
}

uint64_t
kb_usage_get(struct store_txn *t, const char *org)
{
	MDB_val v;

	if (t->err || db_get(t, t->st->kb_usage, org, strlen(org), &v,
	    "get knowledge usage") != 0)
		return 0;
	if (v.mv_size != 8) {
		rec_corrupt(t, "knowledge usage");
		return 0;
	}
	return proto_get_be64(v.mv_data);
}

/* org's count set to u (0: its key deleted). */
static void
usage_put(struct store_txn *t, const char *org, uint64_t u)
{
	uint8_t b[8];

	if (u == 0) {
		db_del_quiet(t, t->st->kb_usage, org, strlen(org),
		    "delete knowledge usage");
		return;
	}
	proto_put_be64(b, u);
	db_put(t, t->st->kb_usage, org, strlen(org), b, sizeof(b),
	    "put knowledge usage");
}

uint64_t
kb_rec_bytes(const struct rlayout *l, const void *rec, size_t klen)
{
	struct penc e;
	uint64_t n;

	penc_init(&e);
	rl_enc(&e, l, rec);
	n = KB_ENTRY(klen, 1 + e.len);
	penc_free(&e);
	return n;
}

/* The refusal: "full", and how much of how much (static, kbusage.h). */
static int
full(struct store_txn *t, uint64_t used)
{
	static char msg[160];

	snprintf(msg, sizeof(msg), "the organisation's knowledge base is "
	    "full: it holds %.1f MiB of its %.0f MiB quota "
	    "(PARLEY_KB_QUOTA_MB)", (double)used / MIB,
	    (double)t->st->kb_quota / MIB);
	store_fail(t, PROTO_E_FULL, msg);
	return -1;
}

int
kb_usage_room(struct store_txn *t, const struct st_kbsource *s, uint64_t was,
    uint64_t now)
{
	uint64_t used;

	if (t->err)
		return -1;
	if (now <= was || t->st->kb_quota == 0)
		return 0;
	used = kb_usage_get(t, s->org);
	if (t->err)
		return -1;
	/* Of was, what the count holds (a page of before it, none). */
	if (used - (was < used ? was : used) + now <= t->st->kb_quota)
		return 0;
	return full(t, used);
}

int
kb_usage_full(struct store_txn *t, const char *org)
{
	uint64_t quota = t->st->kb_quota, used;
	uint64_t least = quota / 16 < ROOM_LEAST ? quota / 16 : ROOM_LEAST;

	if (t->err)
		return -1;
	if (quota == 0)
		return 0;
	used = kb_usage_get(t, org);
	if (t->err)
		return -1;
	return used + least <= quota ? 0 : full(t, used);
}

/* u moved from was to now, held at 0 (a part counted before this). */
static uint64_t
moved(uint64_t u, uint64_t was, uint64_t now)
{
	return (was < u ? u - was : 0) + now;
}

void
kb_usage_move(struct store_txn *t, struct st_kbsource *s, uint64_t was,
    uint64_t now)
{
	uint64_t used;

	if (t->err || was == now)
		return;
	used = kb_usage_get(t, s->org);
	if (t->err)
		return;
	usage_put(t, s->org, moved(used, was, now));
	s->bytes = moved(s->bytes, was, now);
}

void
kb_usage_drop(struct store_txn *t, struct st_kbsource *s)
{
	kb_usage_move(t, s, s->bytes, 0);
}
