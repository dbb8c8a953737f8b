/*
 * The knowledge base's records: the chunks of the owner's pages that
 * storaged indexes and searches (storaged/kbindex.c). Conventions as in
 * storemsg.h (big-endian, str = u32 length + bytes, records behind a
 * one-byte format version in LMDB).
 *
 * A chunk is a piece of one page of one source, at most a few kilobytes
 * of text under its page's title and the headings above it (the
 * fetcher's chunker makes them: workerd/fetch/chunk.c). storaged keeps
 * it under a u64 id of its own, with the lengths in words of its three
 * searched fields, which ranking reads.
 *
 * A source is where an organisation's chunks come from: a site crawled
 * from a start URL or its sitemap (crawl), a file the owner uploaded
 * (file), or a question and answer the owner wrote (qa). Its requests,
 * each led by who asks and acting in its organisation:
 *
 *   ST_KB_SOURCE_CREATE  source (id, status, counts, times ignored)
 *                        -> source (a qa source indexed at once: ready)
 *   ST_KB_SOURCE_UPDATE  str id, u32 mask (ST_KSF_*), source -> source
 *   ST_KB_SOURCE_GET     str id                  -> source
 *   ST_KB_SOURCE_LIST    (empty)  -> u32 n, n x source (oldest first),
 *                        u64 used, u64 quota: the bytes the
 *                        organisation's knowledge base keeps, and may
 *                        (PARLEY_KB_QUOTA_MB; 0 none). Each source's
 *                        bytes count; a page, a file or a qa that would
 *                        pass the quota is refused `full`, as is a new
 *                        source while it is reached
 *   ST_KB_SOURCE_DELETE  str id                  -> (empty); its chunks
 *                        go in the sweep's bounded steps, never found
 *                        by a search meanwhile
 *   ST_KB_SEARCH         str query, u32 k (1-50), str language ("" en),
 *                        str agent id ("": every source; else the
 *                        sources that agent answers from, as its turns
 *                        search them: ST_KB_RETRIEVE's way)
 *                        -> u32 n, n x hit (best first)
 *   ST_KB_RETRIEVE       str org, str query, u32 k (1-50), u32 n, n x
 *                        str source id (at most 50) -> u32 n, n x hit:
 *                        a chat turn's search (no who: the turn's agent
 *                        names its organisation and sources), the query
 *                        read in each listed source's language
 *
 * A hit: str source id, u64 chunk id, str url, str title, str headings,
 * str text, u32 score in millionths.
 *
 * The fetcher's (workerd/fetch/fetcher.c; no who: it acts for every
 * organisation), a sync at a time:
 *
 *   ST_KB_DUE        u32 max (1-8), u32 lease_ms (1000-90000000),
 *                    u32 n, n x str org (at most 8)
 *                    -> u32 n, n x job: the
 *                    crawl and file sources due, each leased (due again
 *                    lease_ms later, with a new sync id, should no
 *                    ST_KB_SYNC_DONE come), but those of the organisations
 *                    named (whose syncs the fetcher runs now: one at a
 *                    time each, so one's slow site holds up no other's)
 *   ST_KB_PAGE_GET   str source id, str url -> page (`not found`: none)
 *   ST_KB_PAGE_PUT   str source id, u64 sync id, page, u8 keep, u32 n,
 *                    n x (str title, str headings, str text)
 *                    -> u32 pages, u32 chunks (the source's now): the
 *                    page seen in this sync; keep 1: unchanged (its
 *                    chunks stay), else its chunks replaced by these
 *   ST_KB_SYNC_DONE  str source id, u64 sync id, u8 ok, str error
 *                    -> u8 more: ok, the pages this sync did not see
 *                    removed (a bounded step: more 1, ask again), then
 *                    the source ready; not ok, failed with error (its
 *                    pages kept); ok ST_KB_SYNC_AGAIN: the sync cut
 *                    short to be taken again at once (due now, a new
 *                    sync id; its pages kept, the source syncing); ok
 *                    ST_KB_SYNC_PARTIAL: a part of the site not read
 *                    this time, the source ready with error naming it,
 *                    the pages this sync did not see kept
 *   `not found` for a page put or done whose sync has ended (the source
 *   deleted, changed, or leased again).
 *
 * The admin API's:
 *
 *   ST_KB_SYNC       str id -> source (syncing, due now, a sync of it
 *                    running ended; who asks)
 *   ST_KB_FILE_PUT   str id, str content type, bytes (at most 7 MiB),
 *                    u32 offset, u32 total -> source, u32 received,
 *                    u32 total, u8 stored: a
 *                    file source's file, kept until the source is
 *                    deleted; syncing, due now (a sync of it running
 *                    ended). total 0: bytes are the
 *                    whole file. Else they are a piece of a file of
 *                    total bytes at offset (an upload in pieces, each
 *                    within a client's body budget): offset 0 starts the
 *                    upload again, another must be where the pieces
 *                    stored end, and the last joins them as the file.
 *                    received: where the upload stands (total when
 *                    joined); stored 0: the piece did not start there
 *                    and nothing was stored (the client resumes from
 *                    received)
 *   ST_KB_FILE_GET   str source id, u64 sync id -> str content type,
 *                    bytes (the fetcher's; `not found`: no file, or the
 *                    sync ended)
 *   ST_KB_PAGES      str id, u32 limit (1-200), str cursor ("" first)
 *                    -> u32 n, n x page, str next cursor ("" the end)
 */
#ifndef PARLEY_KBMSG_H
#define PARLEY_KBMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_KB_URL_MAX		2048	/* bytes */
#define ST_KB_TITLE_MAX		300	/* characters */
#define ST_KB_HEADINGS_MAX	1000	/* characters: "A > B > C" */
#define ST_KB_TEXT_MAX		8192	/* bytes of UTF-8 */
#define ST_KB_LANG_MAX		8	/* "en", "pt": a widget language */
#define ST_KB_SEARCH_K_MAX	50	/* results a search returns at most */
#define ST_KB_QUERY_MAX		2000	/* bytes of a search's query */
#define ST_KB_SOURCES_MAX	1000	/* per organisation */
#define ST_KB_SOURCE_PREFIX	"ks_"
#define ST_KB_SOURCE_ID_LEN	(3 + ST_ID_HEX)
#define ST_KB_NAME_MAX		200	/* characters */
#define ST_KB_QUESTION_MAX	ST_KB_TITLE_MAX	/* characters: its chunk's title */
#define ST_KB_ERROR_MAX		300	/* bytes */
#define ST_KB_LINKS_MAX		32768	/* bytes of a page's links, stored */
#define ST_KB_PAGES_MAX		100000	/* a crawl's max_pages at most */
#define ST_KB_DEPTH_MAX		100	/* a crawl's max_depth at most */
#define ST_KB_SYNC_HOURS_MAX	8760	/* a year */

enum st_source_type {
	ST_KB_CRAWL = 0,	/* a site from its start URL or sitemap */
	ST_KB_FILE = 1,		/* an uploaded file */
	ST_KB_QA = 2,		/* a question and its answer */
};
#define ST_KB_TYPE_MAX		ST_KB_QA

enum st_sync_status {
	ST_KB_SYNCING = 0,	/* waiting for the fetcher, or being read */
	ST_KB_READY = 1,	/* its chunks are searched */
	ST_KB_FAILED = 2,	/* the last sync failed: error says why */
};
#define ST_KB_STATUS_MAX	ST_KB_FAILED

/* ST_KB_SOURCE_UPDATE's mask: which fields the request sets. */
#define ST_KSF_TYPE		0x0001
#define ST_KSF_NAME		0x0002
#define ST_KSF_URL		0x0004
#define ST_KSF_LANG		0x0008
#define ST_KSF_QUESTION		0x0010
#define ST_KSF_ANSWER		0x0020
#define ST_KSF_MAX_PAGES	0x0040
#define ST_KSF_MAX_DEPTH	0x0080
#define ST_KSF_SYNC_HOURS	0x0100
#define ST_KSF_ALL		0x01ff

/* Its rows (recordtab.h) and layout (kbmsg.c). */
RL_RECORD(st_kbchunk, kbchunk, ST_KBCHUNK_ROWS)
/* Each row's index: RL_ROW(ST_KBCHUNK_ROW_source_id). */
#define ST_KBCHUNK_ROW_INDEX(K, m, ...)	ST_KBCHUNK_ROW_##m,
enum st_kbchunk_row { ST_KBCHUNK_ROWS(ST_KBCHUNK_ROW_INDEX) ST_KBCHUNK_NROWS };

RL_RECORD(st_kbsource, kbsource, ST_KBSOURCE_ROWS)
/* Each row's index: RL_ROW(ST_KBSOURCE_ROW_org). */
#define ST_KBSOURCE_ROW_INDEX(K, m, ...)	ST_KBSOURCE_ROW_##m,
enum st_kbsource_row {
	ST_KBSOURCE_ROWS(ST_KBSOURCE_ROW_INDEX) ST_KBSOURCE_NROWS
};

/* A type's name ("crawl"; NULL out of range) and back (-1): its ENUM. */
RL_ENUM_DECLS(source_type);
/* A status's name ("syncing"; NULL out of range) and back (-1). */
RL_ENUM_DECLS(sync_status);
/* 1 when s can name a source: "ks_" + 32 lowercase hex. */
int st_kbsource_id_valid(const char *s);
/*
 * NULL when s is a valid source, else "field: what is wrong" (static):
 * its rows' bounds, a crawl's url http(s), a qa's question and answer
 * set, a language the analyser knows ("" too).
 */
const char *st_kbsource_invalid(const struct st_kbsource *s);

#define ST_KB_ETAG_MAX		256	/* bytes of an ETag */
#define ST_KB_LASTMOD_MAX	64	/* bytes of a Last-Modified date */
#define ST_KB_HASH_HEX		64	/* a page's SHA-256, lowercase hex */
#define ST_KB_DUE_MAX		8	/* jobs one ST_KB_DUE takes */
#define ST_KB_BUSY_MAX		8	/* organisations one ST_KB_DUE skips */
#define ST_KB_LEASE_MAX		90000000	/* ms: a day's sync and more */
#define ST_KB_FILE_MAX		(7u << 20)	/* bytes of an uploaded file */
#define ST_KB_PIECE_MIN		(8u << 10)	/* bytes of a piece but the last */
#define ST_KB_VEC_DIM_MAX	4096	/* dimensions of an embedding */
#define ST_KB_VECS_MAX		(6u << 20)	/* bytes of a page's embeddings */
#define ST_KB_CTYPE_MAX		64	/* bytes of its content type */
#define ST_KB_PAGE_CHUNKS_MAX	500	/* chunks of one page stored at most */
#define ST_KB_PAGE_PARTS_MAX	20	/* pages a long document is put as */
#define ST_KB_SPACE_HEX		16	/* a vector space's id, hex */
#define ST_KB_SPACES_MAX	4	/* spaces of a source beside the install's */
/*
 * A page's spaces: their ids, each and a newline; in ST_KB_PAGE_GET's
 * answer, the install's too (id "": an empty line).
 */
#define ST_KB_PAGE_SPACES_MAX	(ST_KB_SPACES_MAX * (ST_KB_SPACE_HEX + 1) + 1)
#define ST_KB_PAGES_LIMIT_MAX	200	/* pages an ST_KB_PAGES lists */
#define ST_KB_CURSOR_MAX	32	/* its cursor: a page key's hash, hex */

RL_RECORD(st_kbpage, kbpage, ST_KBPAGE_ROWS)

/* An uploaded file's bytes (zero-copy: valid while its payload is). */
struct st_kb_bytes {
	const uint8_t *p;
	uint32_t len;
};

/*
 * Embeddings (zero-copy as st_kb_bytes): data holds rows of dim f32,
 * little-endian (the byte order of every host Parley runs on); dim 0:
 * none, data empty. A page's: a row a piece. A query's: one row, and
 * min_score, the cosine (millionths) a chunk found by its vector alone
 * needs to be kept.
 */
struct st_kb_vecs {
	uint32_t dim;
	uint32_t min_score;
	struct st_kb_bytes data;
};

/* Row i of v (i < the rows it holds) copied into out (v->dim floats). */
void st_kb_vec_row(const struct st_kb_vecs *v, uint32_t i, float *out);

/* A chunk as the fetcher sends it: its page's and source's the rest. */
struct st_kb_piece {
	char *title, *headings, *text;	/* malloc'd */
};

/* ST_KB_DUE's payload, and a job of its reply. */
struct st_kb_due_req {
	uint32_t max;
	uint32_t lease_ms;
	struct st_str *busy;	/* organisations whose sources are skipped */
	uint32_t nbusy;
};

/*
 * A vector space other than the install's: the chunks embedded by one
 * model of one model server (an agent's embedding_model at its base_url,
 * agentmsg.h). id: st_kb_space_id's; base_url "" OPENAI_BASE_URL,
 * api_key "" OPENAI_API_KEY. The install's space (PARLEY_EMBED_MODEL) is
 * id "".
 */
struct st_kb_space {
	char id[ST_KB_SPACE_HEX + 1];
	char *base_url;
	char *api_key;
	char *model;
};

struct st_kb_job {
	struct st_kbsource s;	/* its sync_id the job's */
	/* The spaces of its source's agents (ST_KB_DUE, storaged's walk). */
	struct st_kb_space *spaces;
	uint32_t nspaces;
};

/* ST_KB_DUE's reply: the jobs due, n of them. */
struct st_kb_jobs {
	struct st_kb_job *jobs;
	uint32_t n;
};

/* ST_KB_PAGE_GET's payload: a source's page by its url. */
struct st_kb_page_get_req {
	char source_id[ST_KB_SOURCE_ID_LEN + 1];
	const char *url;
};

/* A page's embeddings in a space (st_kb_space): its id, its rows. */
struct st_kb_space_vecs {
	char space[ST_KB_SPACE_HEX + 1];
	struct st_kb_vecs vecs;
};

struct st_kb_page_put_req {
	char source_id[ST_KB_SOURCE_ID_LEN + 1];
	uint64_t sync_id;
	struct st_kbpage page;
	uint8_t keep;
	struct st_kb_piece *pieces;
	uint32_t n;
	struct st_kb_vecs vecs;	/* none, or a row a piece */
	uint32_t tokens;	/* the embedding models', for every vecs */
	/* Its pieces' embeddings in the job's other spaces, a row a piece. */
	struct st_kb_space_vecs *svecs;
	uint32_t nsvecs;
};

struct st_kb_page_put_rep {
	uint32_t pages;
	uint32_t chunks;
};

/* ST_KB_SYNC_DONE's ok: the sync taken again at once (crawl_recover). */
#define ST_KB_SYNC_AGAIN	2
/*
 * ST_KB_SYNC_DONE's ok: the sync read the site but a part of it (a
 * sitemap, a page whose links are not known): the source ready, error
 * naming that part, the pages it did not see kept.
 */
#define ST_KB_SYNC_PARTIAL	3

struct st_kb_sync_done_req {
	char source_id[ST_KB_SOURCE_ID_LEN + 1];
	uint64_t sync_id;
	uint8_t ok;
	const char *error;
};

struct st_kb_pages {
	struct st_kbpage *pages;
	uint32_t n;
	char next_cursor[ST_KB_CURSOR_MAX + 1];
};

struct st_kb_file_put_req {
	const char *id;
	char content_type[ST_KB_CTYPE_MAX + 1];
	struct st_kb_bytes data;
	uint32_t offset;	/* of a piece: where data goes */
	uint32_t total;		/* of a piece: the file's size; 0 whole */
};

struct st_kb_file_put_rep {
	struct st_kbsource source;
	uint32_t received;	/* bytes of the upload in pieces stored */
	uint32_t total;		/* the request's total (0: a whole file) */
	uint8_t stored;		/* 0: a piece not where the upload stands */
};

struct st_kb_file_get_req {
	char source_id[ST_KB_SOURCE_ID_LEN + 1];
	uint64_t sync_id;
};

struct st_kb_file {
	char content_type[ST_KB_CTYPE_MAX + 1];
	struct st_kb_bytes data;
};

/*
 * The id of the vector space of model at base_url (an agent's; base_url
 * "" the install's OPENAI_BASE_URL): the first 8 bytes of the SHA-256 of
 * base_url, a newline and model, as hex, into out.
 */
void st_kb_space_id(const char *base_url, const char *model,
    char out[ST_KB_SPACE_HEX + 1]);
/*
 * Agent a's own space (its embedding_model at its base_url) into out: 1;
 * 0 with out "" when it embeds with the install's model.
 */
struct st_agent;
int st_agent_space(const struct st_agent *a, char out[ST_KB_SPACE_HEX + 1]);
/* 1 when the newline-ended list of a page's spaces holds id. */
int st_kb_spaces_have(const char *spaces, const char *id);

/*
 * 1 when an uploaded file of content type t (its parameters ignored) is
 * one the fetcher reads: HTML, Markdown, plain text or PDF.
 */
int st_kb_file_type_ok(const char *t);

/* ST_KB_SOURCE_UPDATE's payload (mask: ST_KSF_*) and a list. */
RL_ENTITY_REQS(st_kbsource, s, uint32_t, sources);

/*
 * ST_KB_SOURCE_LIST's reply: who asks's organisation's sources, and the
 * bytes its knowledge base keeps and may keep (storaged's kbusage.c:
 * PARLEY_KB_QUOTA_MB; quota 0, none).
 */
struct st_kb_source_list {
	struct st_kbsource *sources;
	uint32_t n;
	uint64_t used;
	uint64_t quota;
};

/* ST_KB_SEARCH's payload and its reply. */
struct st_kb_search_req {
	const char *query;
	uint32_t k;
	char lang[ST_KB_LANG_MAX + 1];
	const char *agent_id;	/* "": every source; else that agent's, as its turns */
	struct st_kb_vecs qvec;	/* the query's embedding, or none */
	char space[ST_KB_SPACE_HEX + 1];	/* qvec's ("" the install's) */
};

/*
 * A chunk's id as the search shows it: "kc_" + 32 hex, its number under
 * the install's id key (storaged's seqid.c): the numbers count every
 * organisation's chunks.
 */
#define ST_KB_CHUNK_PREFIX	"kc_"
#define ST_KB_CHUNK_REF_LEN	(3 + ST_ID_HEX)

struct st_kb_hit {
	char source_id[ST_KB_SOURCE_ID_LEN + 1];
	uint64_t chunk_id;	/* storaged's own: never shown */
	/* chunk_id as ST_KB_SEARCH shows it; "" in a retrieve. */
	char chunk_ref[ST_KB_CHUNK_REF_LEN + 1];
	char *url, *title, *headings, *text;	/* malloc'd */
	uint32_t score;		/* millionths */
	uint8_t qa;		/* a Q&A's, placed first (ST_KB_RETRIEVE) */
};

/* ST_KB_SEARCH's and ST_KB_RETRIEVE's reply: the passages found. */
struct st_kb_hits {
	struct st_kb_hit *hits;
	uint32_t n;
};

/*
 * ST_KB_RETRIEVE's payload: the organisation, the query, at most k
 * passages, from the n sources named (a turn's agent's).
 */
struct st_kb_retrieve_req {
	char org[ST_WHO_ORG_MAX + 1];
	const char *query;
	uint32_t k;
	struct st_str *sources;
	uint32_t n;
	struct st_kb_vecs qvec;	/* the query's embedding, or none */
	char space[ST_KB_SPACE_HEX + 1];	/* qvec's ("" the install's) */
};


/* Frees what h holds and zeroes it. */
void st_kb_hit_clear(struct st_kb_hit *h);

#endif
