/*
 * The embedding and rerank client: a model server's POST /embeddings
 * (OpenAI's shape) and POST /rerank (the Jina and Cohere shape that vLLM
 * and llama.cpp serve), on libcurl's multi interface inside the worker's
 * own event loop, as upstream.c does for completions.
 *
 * One call (a job) takes any number of texts: they go in batches of at
 * most conf->batch inputs, one request at a time, each retried on a
 * connection error, a timeout, a 408, 429 or 5xx, with exponential
 * backoff and jitter (a Retry-After the server sends is honoured up to
 * the backoff's cap), within a bound of tries per batch and of time for
 * the whole job. The answers are read by embedjson.h's parsers, which
 * check everything. The job ends with exactly one callback.
 */
#ifndef PARLEY_EMBED_H
#define PARLEY_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "embedjson.h"
#include "kbmsg.h"

#define EMBED_INPUTS_MAX	100000		/* texts (documents) in one job */
#define EMBED_TEXT_MAX		(256 * 1024)	/* bytes of one text, or the query */
#define EMBED_JOB_BYTES_MAX	(64 * 1024 * 1024)	/* bytes of all a job's texts */
#define EMBED_VALUES_MAX	(32 * 1024 * 1024)	/* floats a job's vectors hold */
#define EMBED_BATCH_DEFAULT	64
#define EMBED_TIMEOUT_DEFAULT	30000		/* ms, one request */
#define EMBED_RETRIES_DEFAULT	4		/* tries of a batch after its first */
#define EMBED_RETRIES_MAX	20
#define EMBED_BACKOFF_DEFAULT	500		/* ms before the first retry */
#define EMBED_BACKOFF_CAP_DEFAULT 10000		/* ms, the longest wait */
#define EMBED_DEADLINE_DEFAULT	120000		/* ms, the whole job */
#define EMBED_QUERY_TIMEOUT	3000		/* ms, a question's one request */
#define EMBED_QUERY_DEADLINE	5000		/* ms, a question's, retry included */

/*
 * Where and how. The strings are copied by embed_start and rerank_start;
 * a zero number takes its default.
 */
struct embed_conf {
	/*
	 * An http:// or https:// URL such as "https://api.openai.com/v1"
	 * (trailing slashes ignored): "/embeddings" or "/rerank" is appended.
	 */
	const char *base_url;
	const char *api_key;	/* NULL or "": no Authorization header */
	const char *model;	/* sent as "model"; required */
	/*
	 * Embeddings: "dimensions" sent and every vector checked to have
	 * it; 0: not sent, the server's own size (all vectors alike).
	 */
	uint32_t dims;
	uint32_t batch;		/* inputs a request, 1-EMBED_BATCH_MAX */
	uint32_t timeout_ms;	/* one request, connecting included */
	uint32_t retries;	/* at most EMBED_RETRIES_MAX */
	uint32_t backoff_ms;	/* the first retry's wait, doubled each time */
	uint32_t backoff_cap_ms;
	uint32_t deadline_ms;	/* the whole job, every wait included */
	/*
	 * As upstream_req.org: NULL, the deployment's own server, reached
	 * wherever it is. Else the organisation whose server this is: unless
	 * urlpol_private_ok lets it, each address is checked with
	 * urlpol_addr_private as its socket opens (no connection reused, no
	 * proxy), and a refused one fails the job at once.
	 */
	const char *org;
};

enum embed_err {
	EMBED_OK,
	EMBED_ERR_HTTP,		/* a status that is not retried, or the last try's */
	EMBED_ERR_CONNECT,	/* could not connect, or the connection broke */
	EMBED_ERR_TIMEOUT,	/* the last try timed out, or the deadline passed */
	EMBED_ERR_REPLY,	/* a 2xx answer the parser refused, or too big */
	EMBED_ERR_REFUSED,	/* the address policy refused the server's address */
	EMBED_ERR_MEMORY,
};

struct embed_result {
	enum embed_err err;
	const char *error;	/* why, for logs (no secrets); "" when OK */
	int http_status;	/* of the last answer, 0 if none */
	unsigned requests;	/* made, retries included */
	uint64_t tokens;	/* summed from each answer's usage */
	/* embed_start: n x dims floats, row i the vector of texts[i]. */
	const float *vec;
	size_t n;
	uint32_t dims;
	/* rerank_start: the best top_n documents, best first. */
	const struct rerank_hit *hits;
	size_t nhits;
};

/*
 * The end of a job. Runs from the loop, never inside embed_start or
 * rerank_start; what r points at lives until it returns, and the job is
 * freed then (embed_cancel on it inside the callback is a no-op). Other
 * jobs may be started or cancelled from it.
 */
typedef void (*embed_cb)(void *arg, const struct embed_result *r);

struct embed_job;

/* What an install's embedding is for: its timeouts. */
enum embed_for {
	EMBED_FOR_PAGES,	/* the fetcher's chunks: the defaults */
	EMBED_FOR_QUERY,	/* a question a turn waits on: short, one retry */
	EMBED_FOR_RERANK,	/* a turn's passages reranked: as a question */
};

/*
 * Sets up the multi handle and reads the install's embedding model from
 * wsettings (PARLEY_EMBED_MODEL at OPENAI_BASE_URL, OPENAI_API_KEY); 0,
 * or -1. Call loop_init() first.
 */
int embed_init(void);
/*
 * The install's embedding conf for what, or NULL when PARLEY_EMBED_MODEL
 * is not set (the knowledge base searched by words alone); for
 * EMBED_FOR_RERANK, PARLEY_RERANK_MODEL's (NULL: not set). Valid until
 * embed_shutdown.
 */
const struct embed_conf *embed_install(enum embed_for what);
/*
 * The conf of an agent's own embedding model into out, reached as its
 * turns reach its model server: base_url "" the install's server, with
 * api_key or else the install's key; an own base_url under the address
 * policy of org (NULL or "": the default organisation), with api_key or
 * none. what's timeouts; dims not sent. The strings are the caller's.
 * Call embed_init() first.
 */
void embed_conf_own(struct embed_conf *out, enum embed_for what,
    const char *base_url, const char *api_key, const char *model,
    const char *org);
/*
 * The conf that embeds agent a's questions (what: EMBED_FOR_QUERY): its
 * own embedding_model into buf (embed_conf_own), its vector space's id
 * into space; else the install's (embed_install), space "". NULL: none
 * (words alone). Valid while a and buf are.
 */
struct st_agent;
const struct embed_conf *embed_for_agent(const struct st_agent *a,
    enum embed_for what, struct embed_conf *buf,
    char space[ST_KB_SPACE_HEX + 1]);
/* Drops every job without its callback, frees everything. */
void embed_shutdown(void);
/*
 * Every job's headers (its Authorization: a key) zeroed where they are,
 * nothing freed: for a forked child (fetch/docchild.c). The install's
 * key is wsettings' (settings_wipe).
 */
void embed_wipe(void);
/*
 * Embeds texts[0..n) (n 1 to EMBED_INPUTS_MAX, each 1 to EMBED_TEXT_MAX
 * bytes of UTF-8, EMBED_JOB_BYTES_MAX in all; n x conf->dims at most
 * EMBED_VALUES_MAX, and with dims 0 the server's vectors end the job
 * with EMBED_ERR_REPLY when they pass it). The job, or NULL (nothing
 * copied is kept, no callback) when the arguments are wrong or memory is
 * short.
 */
struct embed_job *embed_start(const struct embed_conf *c,
    const char *const *texts, size_t n, embed_cb cb, void *arg);
/*
 * Scores docs[0..n) against query (the same bounds) and reports the best
 * top_n (0, or more than n: all n), best first, equal scores in document
 * order. Batches of documents are scored apart and merged, which is right
 * for rerankers that score each document alone (cross-encoders). The
 * job, or NULL as for embed_start.
 */
struct embed_job *rerank_start(const struct embed_conf *c, const char *query,
    const char *const *docs, size_t n, size_t top_n, embed_cb cb, void *arg);
/*
 * Where kb's reranking starts: after the leading hits of Q&A sources
 * (the owner's own answers keep their place ahead).
 */
struct st_kb_hits;
uint32_t rerank_hits_from(const struct st_kb_hits *kb);
/*
 * The knowledge passages kb->hits[from..n) reranked against query (each
 * its title and text; at least 2), the best top_n reported to cb as
 * rerank_start does. The job, or NULL (nothing started).
 */
struct embed_job *rerank_hits_start(const struct embed_conf *c,
    const char *query, const struct st_kb_hits *kb, uint32_t from,
    size_t top_n, embed_cb cb, void *arg);
/*
 * kb's hits from `from` on put in the reranker's order r (a successful
 * rerank_hits_start's), those it did not rank dropped; with scores, each
 * one's score its relevance (millionths). 0, or -1 out of memory (kb as
 * it was).
 */
int rerank_hits_apply(struct st_kb_hits *kb, uint32_t from,
    const struct embed_result *r, int scores);
/* Stops a job; no callback after this. NULL is a no-op. */
void embed_cancel(struct embed_job *);
/* Jobs in progress (tests). */
size_t embed_jobs(void);
/*
 * The wait before retry number attempt (1: after the first failure):
 * w = min(base_ms * 2^(attempt-1), cap_ms), then a random point of
 * [w/2, w] picked by rnd (full range of a 32-bit value). base_ms 0 is 1.
 */
uint64_t embed_backoff_ms(uint32_t base_ms, uint32_t cap_ms, unsigned attempt,
    uint32_t rnd);

#endif
