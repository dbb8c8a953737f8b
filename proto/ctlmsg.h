/*
 * The administration requests parleyctl sends storaged (issue 7).
 * Conventions as in storemsg.h.
 *
 *   ST_BACKUP  (empty), with PROTO_F_FD: an empty regular file open for
 *              writing                                 -> u64 bytes written
 *       A compact copy of the LMDB environment (mdb_env_copyfd2 with
 *       MDB_CP_COMPACT) into the file, made by a thread of its own while
 *       storaged goes on serving, then fsync'd. The copy reads one
 *       snapshot: it holds every commit that finished before the request
 *       arrived, and nothing half-done. The file is a complete data.mdb.
 *       One backup at a time: `unavailable` ("busy") while one runs;
 *       `invalid` without an fd or for a file that is not regular and
 *       empty. The reply may overtake replies to later requests.
 *   ST_STATS   (empty)                                  -> stats (below)
 *   ST_PURGE   u64 cutoff_ms, u32 max (1..ST_PURGE_MAX), u8 dry_run
 *       -> u32 n, u8 more
 *       Deletes, as ST_CONV_DELETE does, up to max conversations whose
 *       last activity (updated_at) is before cutoff_ms, oldest of each
 *       widget first; more is 1 when older ones are left. With dry_run,
 *       deletes nothing and n counts every such conversation (more 0).
 *
 * stats: u64 conversations, u64 messages, u64 widgets, u64 contacts,
 * u64 owner sessions, u64 visitor sessions, u64 file size (bytes of
 * data.mdb), u64 map size, u64 last page number, u64 last txn id,
 * u32 page size, u32 max readers, u32 readers in use, u64 branch pages,
 * u64 leaf pages, u64 overflow pages (the last three over every database).
 */
#ifndef PARLEY_CTLMSG_H
#define PARLEY_CTLMSG_H

#include "proto.h"

#define ST_PURGE_MAX		1000	/* conversations one ST_PURGE deletes */

struct st_stats {
	uint64_t conversations, messages, widgets, contacts;
	uint64_t owner_sessions, visitor_sessions;
	uint64_t file_size, map_size, last_pgno, last_txnid;
	uint32_t page_size, max_readers, readers;
	uint64_t branch_pages, leaf_pages, overflow_pages;
};

void penc_stats(struct penc *, const struct st_stats *);
/* 0, or -1 on a decode error. */
int pdec_stats(struct pdec *, struct st_stats *);

#endif
