/*
 * The knowledge base's quota (kbusage.c): the bytes each organisation's
 * sources keep, counted durably, and the check that refuses what would
 * take it past PARLEY_KB_QUOTA_MB. Errors as store.h: each call does
 * nothing when t->err is set.
 */
#ifndef PARLEY_KBUSAGE_H
#define PARLEY_KBUSAGE_H

#include <stdint.h>

#include "kbmsg.h"
#include "record.h"
#include "storeint.h"

/*
 * LMDB's own bytes an entry takes beside its key and value, about: its
 * node's header, its pointer in the page, alignment.
 */
#define KB_ENTRY_BYTES	16
/*
 * What an entry of a key of k bytes and a value of v takes in LMDB's
 * pages, about: both, KB_ENTRY_BYTES, and the room its page leaves free,
 * a B-tree's pages being some two thirds full (measured:
 * tests/unit/storaged/test_kbquota.c's test_count_near_lmdb). A value
 * of its own overflow pages (a file) fills them: it has none of that.
 */
#define KB_ENTRY(k, v)	(((uint64_t)(k) + (v) + KB_ENTRY_BYTES) * 3 / 2)

/* The quota from now on: bytes an organisation may keep (0: none). */
void store_kb_settings(struct store *, uint64_t quota);

/* The bytes org's knowledge base keeps (0 on error: t failed). */
uint64_t kb_usage_get(struct store_txn *, const char *org);

/*
 * What record rec of layout l under a key of klen bytes takes: its
 * entry (KB_ENTRY) of its encoding and its format byte.
 */
uint64_t kb_rec_bytes(const struct rlayout *l, const void *rec,
    size_t klen);

/*
 * Whether s's organisation may keep now bytes where it kept was (s's
 * part that changes: a page, its file, its qa chunk): 0 when now is no
 * more than was, there is no quota, or it fits; else -1 with t failed,
 * PROTO_E_FULL, a message that says the knowledge base is full and its
 * size (the source's error, shown by the dashboard; a buffer of
 * kbusage.c's, good until the next refusal).
 */
int kb_usage_room(struct store_txn *, const struct st_kbsource *s,
    uint64_t was, uint64_t now);

/*
 * -1 with t failed as kb_usage_room's when org's knowledge base is full
 * (a new source refused): less of its quota is left than a page of one
 * chunk takes, about (kbusage.c's ROOM_LEAST). Else 0.
 */
int kb_usage_full(struct store_txn *, const char *org);

/*
 * s's part that kept was bytes keeps now: s->bytes and its
 * organisation's count moved by the difference (neither below 0).
 */
void kb_usage_move(struct store_txn *, struct st_kbsource *s,
    uint64_t was, uint64_t now);

/* s deleted: its bytes taken off its organisation's count (s->bytes 0). */
void kb_usage_drop(struct store_txn *, struct st_kbsource *s);

#endif
