/*
 * The knowledge base's sources (kbsource.c): an organisation's crawls,
 * files and questions and answers, and the search over their chunks.
 * Errors as store.h: each call does nothing when t->err is set and
 * returns t's sticky error.
 */
#ifndef PARLEY_KBSOURCE_H
#define PARLEY_KBSOURCE_H

#include <stdint.h>

#include "agentmsg.h"
#include "kbmsg.h"
#include "storeint.h"

/*
 * A new source of org from in (checked by the caller: st_kbsource_invalid),
 * as stored into out: a qa source indexed and ready, another syncing and
 * due now.
 */
int store_kbsource_create(struct store_txn *, const char *org,
    const struct st_kbsource *in, struct st_kbsource *out);
/*
 * The masked fields of in over source id of org (its type never
 * changes); a change of what it reads syncs it again (a qa: indexed now),
 * one of sync_hours alone moves its next sync (kbsource_next_sync of its
 * synced_at) unless a sync of it runs.
 */
int store_kbsource_update(struct store_txn *, const char *org,
    const char *id, uint64_t mask, const struct st_kbsource *in,
    struct st_kbsource *out);
/* Source id of org removed; its chunks are the sweep's (kb_gone). */
int store_kbsource_delete(struct store_txn *, const char *org,
    const char *id);
/*
 * One bounded step (at most max chunks) of the first deleted source's
 * chunks; *n 1 when there was one, *more 1 while one may be left.
 */
int store_kb_gone_sweep(struct store_txn *, uint32_t max, uint32_t *n,
    int *more);
/*
 * Org's q->k best chunks for q->query, in language q->lang, best first,
 * into out (freed by st_rep_free of ST_KB_SEARCH): never another
 * organisation's, nor a deleted source's.
 */
int store_kb_search(struct store_txn *, const char *org,
    const struct st_kb_search_req *q, struct st_kb_hits *out);
void store_kbsources_free(struct st_kbsource *, uint32_t n);
/*
 * A chat turn's search: q->k best chunks of q->org's sources listed in q
 * (those that exist and are org's), the query read in each one's
 * language, best first but the qa sources' answers (the owner's own)
 * that truly match (a third of the best score by words at least), two
 * at most, ahead of every other (marked qa), into out (st_rep_free of
 * ST_KB_RETRIEVE).
 */
int store_kb_retrieve(struct store_txn *, const struct st_kb_retrieve_req *q,
    struct st_kb_hits *out);

/*
 * The sources the default agent searches (its knowledge_sources, which
 * no request sets): org's sources with chunks to search (ready, or
 * syncing again or failed with an earlier sync's), the first
 * ST_AGENT_SOURCES_MAX made, into a->knowledge_sources (replaced); none
 * when org has none, so that its turns search nothing (no round trip).
 */
int store_kb_default_sources(struct store_txn *, const char *org,
    struct st_agent *a);

/* 1 when source id was deleted (its chunks not yet swept), 0, or -1. */
int kbsource_gone(struct store_txn *, const char *id);
/* For kbpage.c: source id into s (0, 1 absent, -1), as entity_load. */
int kbsource_load(struct store_txn *, const char *id, struct st_kbsource *s);
/* Source id of org (NULL: any) into s: 0, or -1 (`not found`). */
int kbsource_must(struct store_txn *, const char *org, const char *id,
    struct st_kbsource *s);
/* s saved, its updated_at now. */
void kbsource_save(struct store_txn *, struct st_kbsource *s);
/*
 * s due at at (0: not due), its kb_due entry moved; a qa source is never
 * due. The caller saves s.
 */
void kbsource_due(struct store_txn *, struct st_kbsource *s, uint64_t at);
/* When s syncs again on its own: sync_hours after from, or never (0). */
uint64_t kbsource_next_sync(const struct st_kbsource *s, uint64_t from);
/*
 * s (a crawl or file source) to be synced again at at (0: not due):
 * syncing, a sync of it running ended (its sync id moved on: its next
 * ask is `not found`). The caller saves s.
 */
void kbsource_resync(struct store_txn *, struct st_kbsource *s,
    uint64_t at);

#endif
