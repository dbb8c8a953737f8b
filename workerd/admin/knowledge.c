/*
 * The knowledge base in the admin API (auth as every admin endpoint: a
 * key, or a dashboard session with its CSRF header):
 *
 *	GET    /v1/admin/knowledge/sources		{"sources":[...]}
 *	POST   /v1/admin/knowledge/sources		201 the source
 *	GET    /v1/admin/knowledge/sources/:source_id	the source
 *	PATCH  /v1/admin/knowledge/sources/:source_id	sets the fields present
 *	DELETE /v1/admin/knowledge/sources/:source_id	200 {"deleted":true}
 *	POST   /v1/admin/knowledge/sources/:source_id/sync	syncs it now
 *	GET    /v1/admin/knowledge/sources/:source_id/pages	its pages
 *	PUT    /v1/admin/knowledge/sources/:source_id/file	a file source's
 *		bytes, as its Content-Type says (HTML, Markdown, text, PDF);
 *		with Content-Range, a piece of it (an upload in pieces, each
 *		within a client's body budget: storaged joins them)
 *	POST   /v1/admin/knowledge/search	{"query","k"?,"language"?,"agent_id"?}
 *					-> {"results":[...]}, best first
 *
 * A source (proto/kbmsg.h) is a crawl, a file or a qa pair; storaged
 * keeps it and indexes a qa pair at once (storaged/kbsource.c). The
 * handlers of the sources are entity.c's, from the table here: the JSON
 * is the record's rows both ways (recjson.c), its rules
 * st_kbsource_invalid's, as storaged's.
 *
 * A crawl's url is under the outgoing-URL policy (workerd/net/urlpolicy.c):
 * a loopback, private or link-local literal, a name under "localhost", or
 * a name any of whose addresses is one (resolved off the loop, the
 * entity's vet) is 400, unless the source is the default organisation's
 * and PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on. The fetcher checks each address
 * again as it connects.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "embed.h"
#include "kbmsg.h"
#include "log.h"
#include "notify.h"
#include "urlpolicy.h"
#include "workerd.h"

#define SEARCH_K_DEFAULT	5

/* ---------------------------------------------------------------- JSON */

static json_t *
source_json(const void *rep, int *status)
{
	return rec_json(&st_kbsource_layout, rep, RF_ADM, NULL);
}

static json_t *
sources_json(const void *rep, int *status)
{
	const struct st_kb_source_list *l = rep;

	return json_pack("{s:o, s:{s:I, s:o}}", "sources",
	    ADMIN_ITEMS_JSON(l->sources, l->n, source_json), "storage",
	    "used_bytes", (json_int_t)l->used, "quota_bytes",
	    l->quota > 0 ? json_integer((json_int_t)l->quota) : json_null());
}

/* ------------------------------------------------- JSON -> st_kbsource */

static void
source_start(void *rec, int patch)
{
	rl_defaults(&st_kbsource_layout, rec);
}

/* A PATCH is checked by storaged once merged; a POST here as a whole. */
static const char *
source_invalid(void *rec, uint64_t mask, int patch)
{
	return patch ? NULL : st_kbsource_invalid(rec);
}

/* 1 when s names a site to crawl (a PATCH's url: its type unknown here). */
static int
crawls(const struct st_kbsource *s, uint64_t mask, int patch)
{
	const char *u = s->url != NULL ? s->url : "";

	if (patch)
		return (mask & ST_KSF_URL) && (strncasecmp(u, "http://", 7) ==
		    0 || strncasecmp(u, "https://", 8) == 0);
	return s->source_type == ST_KB_CRAWL;
}

/* A refusal of a private address names the setting that allows it. */
static const char *
source_why(const char *why)
{
	return urlpol_private_named(why, URLPOL_ALLOW_KNOWLEDGE);
}

/*
 * A crawl's start URL the fetcher would refuse (a fragment, a zone id:
 * urlpol_parse), 400; where the caller's organisation may not reach
 * private addresses: a literal or "localhost" judged here, a name
 * resolved (the entity's vet).
 */
static int
source_vet(struct conn *c, void *rec, uint64_t mask, int patch,
    void **state)
{
	struct st_kbsource *s = rec;
	struct url_target t;
	const char *why;

	if (!crawls(s, mask, patch))
		return 0;
	if (urlpol_parse(s->url, &t, &why) < 0) {
		conn_send_error(c, 400, admin_headers, why);
		return -1;
	}
	if (urlpol_private_ok(c->who.org, t.host,
	    wsettings.knowledge_allow_private, NULL))
		return 0;
	return admin_vet_url(c, &t, state);
}

ADMIN_UPDATE_REQ(source_update_req, kbsu, s)

/* ------------------------------------------------------------ handlers */

static const struct storec_answer source_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Source not found" },
	{ 0, 0, NULL },
};

const struct admin_entity kb_source_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_KB_SOURCE),
	.not_found = "Source not found",
	.invalid = "Invalid source",
	.id_valid = st_kbsource_id_valid,
	.layout = &st_kbsource_layout,
	.required = ST_KSF_TYPE,
	.start = source_start,
	.rec_invalid = source_invalid,
	.update_req = source_update_req,
	.one = source_json,
	.all = sources_json,
	.deleted = admin_deleted_json,
	.vet = source_vet,
	.vet_cancel = admin_vet_url_cancel,
	.vet_why = source_why,
};

ADMIN_ENTITY_ROUTES(knowledge_sources, kb_source_entity)

/* -------------------------------------------------------------- search */

static json_t *
hit_json(const void *item, int *status)
{
	const struct st_kb_hit *h = item;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f}",
	    "source_id", h->source_id, "chunk_id", h->chunk_ref,
	    "url", h->url != NULL ? h->url : "",
	    "title", h->title != NULL ? h->title : "",
	    "headings", h->headings != NULL ? h->headings : "",
	    "text", h->text != NULL ? h->text : "",
	    "score", h->score / 1e6);
}

static ADMIN_LIST_JSON(hits_json, st_kb_hits, "results", hits, hit_json)

static const struct admin_reply searched = {
	PROTO_ST_KB_SEARCH, 200, hits_json, NULL, 1
};

/* The body into q: NULL, or "field: what is wrong". */
static const char *
search_body(json_t *root, struct st_kb_search_req *q)
{
	static const char *const fields[] = {
		"query", "k", "language", "agent_id", NULL
	};
	json_t *qv, *kv, *lv, *av;

	if (!json_is_object(root))
		return "body: must be a JSON object";
	if (admin_body_other(root, fields) != NULL)
		return "body: unknown field";
	qv = json_object_get(root, "query");
	if (!json_is_string(qv) || json_string_length(qv) == 0)
		return "query: required, a non-empty string";
	q->query = json_string_value(qv);
	if (strlen(q->query) != json_string_length(qv))
		return "query: must not contain NUL characters";
	if (json_string_length(qv) > ST_KB_QUERY_MAX)
		return "query: at most 2000 bytes";
	q->k = SEARCH_K_DEFAULT;
	if ((kv = json_object_get(root, "k")) != NULL) {
		if (!json_is_integer(kv) || json_integer_value(kv) < 1 ||
		    json_integer_value(kv) > ST_KB_SEARCH_K_MAX)
			return "k: must be an integer from 1 to 50";
		q->k = (uint32_t)json_integer_value(kv);
	}
	q->agent_id = "";
	if ((av = json_object_get(root, "agent_id")) != NULL &&
	    !json_is_null(av)) {
		if (!json_is_string(av) || json_string_length(av) > ST_WID_ARG_MAX ||
		    strlen(json_string_value(av)) != json_string_length(av))
			return "agent_id: must be an agent's id";
		q->agent_id = json_string_value(av);
	}
	q->lang[0] = '\0';
	if ((lv = json_object_get(root, "language")) != NULL) {
		if (!json_is_string(lv) ||
		    json_string_length(lv) > ST_KB_LANG_MAX ||
		    !st_widget_lang_valid(json_string_value(lv)))
			return "language: must be \"\" or one of en es pt fr "
			    "de it nl pl tr ar ja zh";
		memcpy(q->lang, json_string_value(lv),
		    json_string_length(lv) + 1);
	}
	return NULL;
}

/* Results a search asks storaged for when a reranker orders them. */
#define RERANK_CANDIDATES	20

/*
 * A search whose query the embedding model reads first, or whose results
 * a reranker orders (c->hctx): as a turn's search does.
 */
struct searching {
	struct st_kb_search_req q;	/* its strings: the copies below */
	char *query, *agent_id;
	uint32_t k;			/* the results asked for */
	const struct embed_conf *rerank;	/* NULL: the search's order */
	struct embed_job *job;
	struct st_kb_hits hits;		/* storaged's, being reranked */
	/* The agent's own embedding model (ST_AGENT_EMBED), its conf. */
	struct st_kb_space space;
	struct embed_conf econf;
};

static void
searching_free(void *p)
{
	struct searching *s = p;

	embed_cancel(s->job);
	st_rep_free(PROTO_ST_KB_SEARCH, &s->hits);
	st_rep_free(PROTO_ST_AGENT_EMBED, &s->space);
	free(s->query);
	free(s->agent_id);
	free(s);
}

/* The search's k best results, as admin_answer would send them. */
static void
search_send(struct conn *c, struct st_kb_hits *h, uint32_t k)
{
	int status = 200;
	uint32_t i;

	for (i = k; i < h->n; i++)
		st_kb_hit_clear(&h->hits[i]);
	if (h->n > k)
		h->n = k;
	admin_send_json(c, 200, hits_json(h, &status));
}

/*
 * The reranker's order of the results after the Q&A ones (each score its
 * relevance); on a failure, the search's order.
 */
static void
search_reranked(void *arg, const struct embed_result *r)
{
	struct conn *c = arg;
	struct searching *s = conn_take(c);

	s->job = NULL;
	if (r->err != EMBED_OK)
		log_warnx("knowledge search: not reranked (%s): the search's "
		    "order", r->error);
	else
		(void)rerank_hits_apply(&s->hits, rerank_hits_from(&s->hits), r, 1);
	search_send(c, &s->hits, s->k);
	searching_free(s);
}

/* storaged's results, put in the reranker's order before they are sent. */
static void
searched_to_rerank(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct searching *s = c->hctx;
	uint32_t from;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_KB_SEARCH, &s->hits) < 0) {
		searching_free(conn_take(c));
		admin_reply_answer(c, r, &searched);	/* as any search's */
		return;
	}
	from = rerank_hits_from(&s->hits);
	if (from < s->k && (s->job = rerank_hits_start(s->rerank, s->query,
	    &s->hits, from, s->k - from, search_reranked, c)) != NULL)
		return;
	s = conn_take(c);
	search_send(c, &s->hits, s->k);
	searching_free(s);
}

/*
 * s's search asked of storaged: s, kept for the reranker, or NULL (let
 * go of: no reranker, or answered at once).
 */
static struct searching *
search_ask(struct conn *c, struct searching *s)
{
	if (s->rerank != NULL) {
		admin_ask(c, PROTO_ST_KB_SEARCH, &s->q, searched_to_rerank,
		    admin_headers);
		if (c->hctx == s)
			return s;
		searching_free(s);	/* answered at once (503) */
		return NULL;
	}
	s = conn_take(c);
	admin_ask_reply(c, &s->q, &searched);
	searching_free(s);
	return NULL;
}

/* The query's embedding: searched with it, or by its words alone. */
static void
search_embedded(void *arg, const struct embed_result *r)
{
	struct conn *c = arg;
	struct searching *s = c->hctx;

	s->job = NULL;
	if (r->err == EMBED_OK && r->n == 1 && r->dims <= ST_KB_VEC_DIM_MAX) {
		s->q.qvec.dim = r->dims;
		s->q.qvec.min_score = wsettings.embed_min_score * 1000;
		s->q.qvec.data.p = (const uint8_t *)r->vec;
		s->q.qvec.data.len = r->dims * (uint32_t)sizeof(float);
	} else
		log_warnx("knowledge search: query not embedded (%s): "
		    "searched by its words", r->error);
	/* The request encoded: the vector may go. */
	if ((s = search_ask(c, s)) != NULL)
		memset(&s->q.qvec, 0, sizeof(s->q.qvec));
}

/* s's query embedded by ec first (NULL: none), then searched. */
static void
search_embed(struct conn *c, struct searching *s,
    const struct embed_conf *ec)
{
	if (ec != NULL && (s->job = embed_start(ec, (const char *const *)
	    &s->query, 1, search_embedded, c)) != NULL)
		return;
	search_ask(c, s);
}

/*
 * The agent's own embedding model, or none (the install's): the query
 * embedded by it, in its space. storaged's error answered as a search's
 * (an agent not of the organisation: 400).
 */
static void
agent_embed_got(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct searching *s = c->hctx;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_AGENT_EMBED, &s->space) < 0) {
		searching_free(conn_take(c));
		admin_reply_answer(c, r, &searched);
		return;
	}
	if (s->space.id[0] == '\0') {
		search_embed(c, s, embed_install(EMBED_FOR_QUERY));
		return;
	}
	embed_conf_own(&s->econf, EMBED_FOR_QUERY, s->space.base_url,
	    s->space.api_key, s->space.model, c->who.org);
	memcpy(s->q.space, s->space.id, sizeof(s->q.space));
	search_embed(c, s, &s->econf);
}

/*
 * q searched as a turn searches: its query embedded first when the
 * install (or q's agent) has an embedding model, its results reranked
 * when it has a reranker.
 */
static void
search_start(struct conn *c, const struct st_kb_search_req *q)
{
	const struct embed_conf *ec = embed_install(EMBED_FOR_QUERY);
	const struct embed_conf *rc = embed_install(EMBED_FOR_RERANK);
	int agent = q->agent_id[0] != '\0' &&
	    strcmp(q->agent_id, ST_AGENT_DEFAULT) != 0;
	struct searching *s;

	if (ec == NULL && rc == NULL && !agent) {
		admin_ask_reply(c, q, &searched);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->query = strdup(q->query)) == NULL ||
	    (s->agent_id = strdup(q->agent_id)) == NULL) {
		if (s != NULL)
			searching_free(s);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	s->q = *q;
	s->q.query = s->query;
	s->q.agent_id = s->agent_id;
	s->k = q->k;
	s->rerank = rc;
	if (rc != NULL && s->q.k < RERANK_CANDIDATES)
		s->q.k = RERANK_CANDIDATES;
	conn_hold(c, s, searching_free);
	if (agent) {
		admin_ask(c, PROTO_ST_AGENT_EMBED, &(struct st_id_req){
		    s->agent_id }, agent_embed_got, admin_headers);
		if (c->hctx != s)	/* answered at once (503): let go of */
			searching_free(s);
		return;
	}
	search_embed(c, s, ec);
}

void
knowledge_search(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_kb_search_req q = { 0 };
	const char *bad;
	json_t *root;

	if ((root = admin_json_body(c, req)) == NULL)
		return;
	if ((bad = search_body(root, &q)) != NULL)
		conn_send_error(c, 400, admin_headers, bad);
	else
		search_start(c, &q);
	json_decref(root);
}

/* ------------------------------------------------------ sync and pages */

ADMIN_ID_ROUTE(knowledge_sources_sync, admin_entity_id(&kb_source_entity, c,
    m, 0), PROTO_ST_KB_SYNC, 200, source_json, source_errors, 1)

static json_t *
page_json(const void *item, int *status)
{
	return rec_json(&st_kbpage_layout, item, RF_ADM, NULL);
}

static json_t *
pages_json(const void *rep, int *status)
{
	const struct st_kb_pages *l = rep;

	return json_pack("{s:o, s:o}", "pages",
	    ADMIN_ITEMS_JSON(l->pages, l->n, page_json), "next_cursor",
	    l->next_cursor[0] != '\0' ? exprow_text(l->next_cursor) :
	    json_null());
}

static const struct admin_reply paged = {
	PROTO_ST_KB_PAGES, 200, pages_json, source_errors, 1
};

void
knowledge_sources_pages(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char cursor[ST_CURSOR_MAX + 1];
	struct st_id_page_req q;

	if ((q.id = admin_entity_id(&kb_source_entity, c, m, 0)) == NULL)
		return;
	if (admin_list_query(req->query, &q.limit, cursor,
	    sizeof(cursor)) < 0 || q.limit > ST_KB_PAGES_LIMIT_MAX ||
	    strlen(cursor) > ST_KB_CURSOR_MAX) {
		admin_bad_query(c);
		return;
	}
	q.cursor = cursor;
	admin_ask_reply(c, &q, &paged);
}

/* -------------------------------------------------------------- a file */

/*
 * The answer to a file or a piece of one: 200 the source (the file whole,
 * syncing); 202 {"received","size"} (a piece stored, more to come); 409
 * with "received" (a piece not where the upload stands: nothing stored).
 */
static json_t *
file_put_json(const void *rep, int *status)
{
	const struct st_kb_file_put_rep *f = rep;
	char msg[192];

	if (!f->stored) {
		*status = 409;
		/* Of another size or type, none of it is this file's. */
		snprintf(msg, sizeof(msg), "Content-Range: the upload holds %u "
		    "bytes of a file of this size and Content-Type; send the "
		    "rest from byte %u, or the file again from 0", f->received,
		    f->received);
		return json_pack("{s:s, s:I}", "error", msg, "received",
		    (json_int_t)f->received);
	}
	if (f->total > 0 && f->received < f->total) {
		*status = 202;
		return json_pack("{s:I, s:I}", "received",
		    (json_int_t)f->received, "size", (json_int_t)f->total);
	}
	return source_json(&f->source, status);
}

static const struct admin_reply synced_file = {
	PROTO_ST_KB_FILE_PUT, 200, file_put_json, source_errors, 1
};

/*
 * A piece's Content-Range (http_content_range) of the body's len bytes,
 * into q's offset and total. 0, or -1 (malformed, not len bytes, or a
 * file over 7 MiB).
 */
static int
content_range(const char *h, size_t len, struct st_kb_file_put_req *q)
{
	uint64_t first, last, size;

	if (http_content_range(h, &first, &last, &size) < 0 || len == 0 ||
	    last - first + 1 != len || size > ST_KB_FILE_MAX)
		return -1;
	q->offset = (uint32_t)first;
	q->total = (uint32_t)size;
	return 0;
}

void
knowledge_sources_file(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_kb_file_put_req q;
	const char *ct = http_header(req, "content-type");
	const char *range = http_header(req, "content-range");

	memset(&q, 0, sizeof(q));
	if ((q.id = admin_entity_id(&kb_source_entity, c, m, 0)) == NULL)
		return;
	if (ct == NULL || strlen(ct) > ST_KB_CTYPE_MAX ||
	    !st_kb_file_type_ok(ct)) {
		conn_send_error(c, 415, admin_headers, "Content-Type must be "
		    "text/html, text/markdown, text/plain or application/pdf");
		return;
	}
	if (req->body_len == 0) {
		conn_send_error(c, 400, admin_headers, "file: empty");
		return;
	}
	if (range != NULL && content_range(range, req->body_len, &q) < 0) {
		conn_send_error(c, 400, admin_headers, "Content-Range: bytes "
		    "FIRST-LAST/SIZE, the body's bytes, a file of at most "
		    "7 MiB");
		return;
	}
	strlcpy(q.content_type, ct, sizeof(q.content_type));
	q.data.p = (const uint8_t *)req->body;
	q.data.len = (uint32_t)req->body_len;
	admin_ask_reply(c, &q, &synced_file);
}
