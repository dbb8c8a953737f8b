/*
 * The pages of the knowledge base's crawl and file sources (kbpage.c),
 * and the fetcher's requests that sync them: a job taken, a page read
 * and put, a sync ended. Errors as store.h: each call does nothing when
 * t->err is set and returns t's sticky error.
 */
#ifndef PARLEY_KBPAGE_H
#define PARLEY_KBPAGE_H

#include <stdint.h>

#include "kbmsg.h"
#include "storeint.h"

/* A page's key in kb_pages: its source id, 16 bytes of its URL's SHA-256. */
#define KB_PAGE_KEY_LEN	(ST_KB_SOURCE_ID_LEN + 16)

/*
 * At most q->max crawl or file sources due now, each given a new sync id
 * and leased (due again q->lease_ms later), into out.
 */
int store_kb_due(struct store_txn *, const struct st_kb_due_req *q,
    struct st_kb_jobs *out);
/*
 * The page of source at url into out: 0, or `not found`. Its spaces are
 * those every part of it holds (the stored lists met), the install's (an
 * empty line) among them when each part's chunks have its vectors: a
 * space missing, the fetcher reads the page again for it.
 */
int store_kb_page_get(struct store_txn *, const struct st_kb_page_get_req *q,
    struct st_kbpage *out);
/*
 * The page q holds, seen by q->sync_id: its chunks kept (q->keep) or
 * replaced by q's pieces; the source's counts after, into out. `not
 * found` once that sync has ended.
 */
int store_kb_page_put(struct store_txn *, const struct st_kb_page_put_req *q,
    struct st_kb_page_put_rep *out);
/*
 * The end of sync q->sync_id: ok, a bounded step removing the pages it
 * did not see (*more 1: ask again), then the source ready; not ok, the
 * source failed (its pages kept); ST_KB_SYNC_AGAIN, due again now (its
 * lease cut short); ST_KB_SYNC_PARTIAL, ready with q->error, its pages
 * kept. `not found` once that sync has ended.
 */
int store_kb_sync_done(struct store_txn *,
    const struct st_kb_sync_done_req *q, uint8_t *more);
/* Org's source id syncing, due now (a qa source: `invalid`), into out. */
int store_kb_sync(struct store_txn *, const char *org, const char *id,
    struct st_kbsource *out);
/* A page of org's source q->id's pages, in key order, into out. */
int store_kb_pages(struct store_txn *, const char *org,
    const struct st_id_page_req *q, struct st_kb_pages *out);
/*
 * Org's file source q->id given its file (a type the fetcher reads, at
 * most ST_KB_FILE_MAX bytes): syncing, due now, into out->source. A
 * piece (q->total > 0, kbmsg.h) is stored after those before it; the
 * last joins them as the file. out->received: where the pieces end.
 */
int store_kb_file_put(struct store_txn *, const char *org,
    const struct st_kb_file_put_req *q, struct st_kb_file_put_rep *out);
/*
 * The file of the source of sync q->sync_id into out (its bytes LMDB's
 * map: valid in t only). `not found`: no file, or the sync ended.
 */
int store_kb_file_get(struct store_txn *, const struct st_kb_file_get_req *q,
    struct st_kb_file *out);
/*
 * Org's crawl or file source id synced soon (due now); syncing already,
 * synced again once that sync ends (sync_again: its spaces were fixed
 * when it began); nothing for one that is not (gone, another
 * organisation's, a qa pair, a file not uploaded yet): t fails only on a
 * storage error.
 */
void kb_sync_soon(struct store_txn *, const char *org, const char *id);
/* 1 when source has a file, 0 not, -1 error. */
int kb_file_has(struct store_txn *, const char *source);
/* Deletes source's file and the pieces of an upload: 0, or -1 (t failed). */
int kb_file_clear(struct store_txn *, const char *source);

/*
 * At most max of a deleted source's page entries removed (its chunks
 * are kb_source_clear's); *left 1 while some remain.
 */
int kb_pages_clear(struct store_txn *, const char *source, uint32_t max,
    int *left);

/* What source's file takes in the quota's count (0: none, or t failed). */
uint64_t kb_file_bytes(struct store_txn *, const char *source);
/*
 * The page under k (KB_PAGE_KEY_LEN bytes) of source s counted again
 * from what is stored, as its put counted it (kbusage.c): its record's
 * bytes, its chunks' (kb_chunk_bytes), their keys' and their vectors'
 * in the install's space and its spaces; its bytes row saved, into
 * *bytes (the caller moves s's count), its chunks added to *chunks.
 * For a data directory's count of before the quota (kbcount.c). 0, 1
 * when there is no such page, or -1.
 */
int kb_page_recount(struct store_txn *, const struct st_kbsource *s,
    const uint8_t *k, uint64_t *bytes, uint32_t *chunks);

#endif
