/*
 * One sync of a crawl source (see crawl.h), on the fetcher's loop:
 *
 * 1. robots.txt of the start URL's origin is fetched first: an answer
 *    other than 2xx allows everything, but for a 5xx or no answer at all,
 *    which allows nothing (RFC 9309 2.3.1): the sync fails then, as when
 *    it forbids the start URL. Its Crawl-delay, if any, spaces the
 *    fetches (one at a time then).
 * 2. The start URL is a sitemap when its path ends in ".xml" or ".xml.gz"
 *    (gzip, unzipped by sitemap.c): its pages
 *    (and an index's sitemaps, at most SITEMAPS_MAX) are the crawl's, at
 *    depth 0 (an index's sitemap not read, or past the bound: the sync
 *    partial). Else it is
 *    the first page, and each page's links under the start URL's
 *    directory on the same host are followed, to max_depth. A start URL
 *    that redirects to its own host or its www. twin (http to https, a
 *    port of its own, a trailing slash added: start_twin) moves the
 *    crawl there: its scope is where the start landed, that origin's
 *    robots.txt read before any other page (crawl_rescope); a redirect
 *    to another host fails the sync.
 * 3. A page: its last validators asked of storaged (ST_KB_PAGE_GET), a
 *    conditional GET (redirects followed on the same host, at most 5,
 *    each hop's path checked against robots.txt before it is asked, one
 *    to another host or a disallowed path not asked: the page put with
 *    why; the address checked as curl connects), its bytes hashed;
 *    unchanged (304, or the same SHA-256) it is kept as it is (but for
 *    one without vectors, in a part, of an embedding space its crawl
 *    has: asked whole and read again, spaces_held), else read
 *    by html.c (or as
 *    Markdown or text, in the charset its type or UTF-16 mark says;
 *    a PDF by pdf.c in a child process of its own, read_child: one
 *    that ends its child is put failed, the fetcher going on) and
 *    chunk.c, and put
 *    (ST_KB_PAGE_PUT; a long page as parts of ST_KB_PAGE_CHUNKS_MAX
 *    chunks, one put each, the later ones under "#part-N" and kept
 *    with the first). A 4xx or 5xx, a network error, a type we cannot
 *    read or a noindex page is put with its status and error and no
 *    chunk, but for a failure that may pass (no answer, a 5xx, a 429) of
 *    a page with text: its text is kept, the failure its error. A
 *    redirected URL is put too, without chunks, with the validators of
 *    the page it led to: the next sync asks it conditionally, the
 *    redirect followed with them.
 *    A URL is queued as fetch_url_clean keys it (no fragment, no
 *    tracking parameter), once. A page whose <link rel=canonical> names
 *    another URL of the site is put as a copy, without chunks (its
 *    error says whose), when that page's text is stored in this sync or
 *    will be: asked in its place (canon_of).
 *    A link crawl's page is stored with its links (those under the
 *    start URL's directory): they keep the pages they lead to (a page no
 *    longer linked is removed), so a 304 to a page read for its links
 *    (short of the depth bound) follows its stored links, as does a
 *    failure that may pass. A page stored without them (before they were
 *    kept, or too many) is asked whole and, unchanged, read for its links
 *    alone; failing for now, the sync is partial.
 * 4. A file source is one page: its bytes asked of storaged
 *    (ST_KB_FILE_GET) in place of a GET, read by its content type, kept
 *    when its bytes did not change, its HTML's links never followed.
 * 5. When nothing is left, or a bound is reached, ST_KB_SYNC_DONE (asked
 *    again while storaged has more to remove): ok, unless the start URL
 *    or robots.txt failed or the time bound cut the sync (then the pages
 *    already stored are kept); ST_KB_SYNC_PARTIAL when a part of the site
 *    could not be read (the pages the sync did not see kept, the first
 *    such part its error); not ok when storaged refused a page as its
 *    organisation's knowledge base is full (PARLEY_KB_QUOTA_MB): the
 *    sync stops, its error storaged's. storaged's "sync ended" (the
 *    source deleted, changed, synced again on demand, or leased again:
 *    its sync id moved on) stops the crawl at once, nothing told.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "chunk.h"
#include "crawl.h"
#include "docchild.h"
#include "embed.h"
#include "fetcher.h"
#include "html.h"
#include "log.h"
#include "mediatype.h"
#include "notify.h"
#include "pdf.h"
#include "resp.h"
#include "robots.h"
#include "sha256.h"
#include "sitemap.h"
#include "urlpolicy.h"
#include "version.h"
#include "workerd.h"

#define SITEMAPS_MAX	50	/* sitemaps read in one sync */
#define SITEMAPS_OVER	"not read, over 50 sitemaps in one sync"
#define REDIRECTS_MAX	5
#define CONNECT_MS	10000
#define FETCH_MS	30000	/* one fetch, whole */
#define SEEN_MIN	1024	/* the seen table's first size */
#define ERR_MAX		200	/* bytes of a page's error */
/*
 * A page's error when the fetcher ended at its CPU time bound reading
 * it, or crashed (out of memory, or a fault) (crawl_recover); or when
 * the child that read it (a PDF, docchild.h) ended so (SPUN_ERROR,
 * DOCCHILD_CRASH_WHY) or past its wall-clock bound (READER_LATE,
 * READ_WALL_MS) (read_child). Kept unread while its bytes are the same, or this long
 * after (spun_before).
 */
#define SPUN_ERROR	"took more than %u s of CPU to read"
#define SPUN_CRASH	"the fetcher ended reading it (out of memory, or a fault)"
#define READER_LATE	"took more than %u s to read"
/*
 * A PDF's reader's time: its CPU time bound (the conf's cpu_s) twice
 * over and 10 s more, for a loaded machine; the fetcher waits that long
 * at most, its loop held as the reader in it held it.
 */
#define READ_WALL_MS(cpu_s)	((cpu_s) * 2000u + 10000u)
/* A hop the address policy refused (the guard, as the hop checks say). */
#define ADDRESS_REFUSED	"address refused: a private, loopback or " \
	"link-local address"
#define SPUN_FRESH_MS	600000
/* A redirected URL's error, before where it led. */
#define ALIAS_ERROR	"redirected to "
/* A page's error when it is a copy of its canonical URL's (canon_of). */
#define CANON_ERROR	"a copy of its canonical URL "

enum crawl_kind { F_ROBOTS, F_SITEMAP, F_PAGE, F_FILE };

struct crawl;

struct fetch {
	struct curlloop_xfer x;	/* first: deliver.c's done hands it back */
	TAILQ_ENTRY(fetch) entry;
	struct crawl *cr;
	enum crawl_kind kind;
	char *url;
	unsigned depth;
	int start;		/* the start URL: its failure fails the sync */
	struct storec_req *req;	/* the storaged request in flight, if any */
	struct curl_slist *headers;
	struct buf body;
	int too_big;
	struct urlpol_guard guard;	/* the crawl's allow_private; refused */
	long code;
	char *final_url;	/* where the answer came from */
	const char *refused;	/* why a redirect went unasked (on_prereq) */
	int aliased;		/* the requested URL put too */
	char ctype[128];
	char etag[ST_KB_ETAG_MAX + 1];
	char lastmod[ST_KB_LASTMOD_MAX + 1];
	char hash[ST_KB_HASH_HEX + 1];
	struct st_kbpage old;	/* its page as last stored */
	int had_old;
	char err[CURL_ERROR_SIZE];
	char rwhy[ERR_MAX + 1];	/* why its reader's child read nothing */
	/*
	 * Its chunks, put a part (ST_KB_PAGE_CHUNKS_MAX) at a time, each
	 * read by the embedding model first when there is one; or its
	 * parts kept (keeping) as they are.
	 */
	struct embed_job *ejob;
	struct st_kb_piece *pieces;
	uint32_t npieces;
	uint32_t part, parts;	/* the part being put, of parts */
	int keeping;
	/* The part's embedder at work (embedders()), what each gave. */
	uint32_t emb;
	struct st_kb_space_vecs ev[ST_KB_SPACES_MAX + 1];
	float *evbuf[ST_KB_SPACES_MAX + 1];
	uint64_t etokens;
	char *title;
	const char *cut;	/* why its text was cut (static), or NULL */
	/* Its links as stored (st_kbpage's links), once read; known 1. */
	char *links;
	int links_known;
};

/* A set of URLs, by their hashes (url_hash). */
struct urlset {
	uint64_t *h;		/* 0: an empty slot */
	size_t n, cap;
};

struct pending {
	TAILQ_ENTRY(pending) entry;
	char *url;
	unsigned depth;
	enum crawl_kind kind;
	int start;
};

struct crawl {
	struct st_kbsource job;
	/* Its agents' own embedding models (st_kb_space), their confs. */
	struct st_kb_space *spaces;
	uint32_t nspaces;
	struct embed_conf econf[ST_KB_SPACES_MAX];
	struct crawl_conf conf;
	/*
	 * The start URL's origin and directory: what is crawled. The start
	 * URL as the source says it in asked; start where its own redirects
	 * led it (crawl_rescope), on the same host or its www. twin.
	 */
	struct url_target asked;
	struct url_target start;
	char prefix[2048];	/* the start URL's directory: what is followed */
	char base[ST_KB_URL_MAX + 1];	/* the start URL to its directory */
	struct robots robots;
	TAILQ_HEAD(, pending) todo;
	size_t ntodo;
	TAILQ_HEAD(, fetch) fetches;
	unsigned inflight;
	struct urlset seen;	/* URLs queued (or landed on) */
	/*
	 * Of the pages (canon_of): those read (fetched, whatever came of
	 * it), those whose text is stored, and those another page named as
	 * its canonical while they were not read yet (stored themselves,
	 * whatever their own canonical says).
	 */
	struct urlset read, stored, claimed;
	uint32_t pages;		/* page fetches started */
	unsigned sitemaps;
	uint64_t deadline, next_start;
	int robots_done, cut, start_failed, ending, stopped;
	/*
	 * A part of the site not read this time (a sitemap, or a page whose
	 * links are not known): the pages the sync did not see are kept.
	 */
	int partial;
	int embed_warned;	/* an embedding failure logged this sync */
	int again;		/* ended to be taken again (crawl_recover) */
	int full;		/* its organisation's knowledge base is (kb_full) */
	char why[ERR_MAX + 1];	/* the sync's error, if it fails */
	struct storec_req *done_req;
	struct loop_defer pump;
	struct loop_timer tm;
	void (*done)(void *);
	void *arg;
};

static void fetch_free(struct fetch *);
static void embeds_free(struct fetch *);
static void crawl_pump(void *);
static void crawl_partial(struct crawl *, const char *, const char *,
    const char *);
static void fetch_start(struct crawl *, struct pending *);
static void canon_stored(struct fetch *);
static void crawl_rescope(struct crawl *, const char *);

/* --------------------------------------------------------------- helpers */

static uint64_t
url_hash(const char *url)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	uint64_t v;

	proto_sha256(url, strlen(url), h);
	memcpy(&v, h, sizeof(v));
	return v != 0 ? v : 1;
}

/* The slot of set s holding h, or the empty one it would take. */
static size_t
set_slot(const struct urlset *s, uint64_t h)
{
	size_t i;

	for (i = h % s->cap; s->h[i] != 0; i = (i + 1) % s->cap)
		if (s->h[i] == h)
			break;
	return i;
}

/* 1 when url is in s; s unchanged. */
static int
set_has(const struct urlset *s, const char *url)
{
	uint64_t h = url_hash(url);

	return s->cap > 0 && s->h[set_slot(s, h)] == h;
}

/* 1 when url was not in s (now it is), 0 it was, -1 out of memory. */
static int
set_add(struct urlset *s, const char *url)
{
	uint64_t h = url_hash(url), *t;
	size_t i, cap;

	if (s->n * 2 >= s->cap) {
		cap = s->cap == 0 ? SEEN_MIN : s->cap * 2;
		if ((t = calloc(cap, sizeof(*t))) == NULL)
			return -1;
		for (i = 0; i < s->cap; i++) {
			size_t j = s->h[i] % cap;

			if (s->h[i] == 0)
				continue;
			while (t[j] != 0)
				j = (j + 1) % cap;
			t[j] = s->h[i];
		}
		free(s->h);
		s->h = t;
		s->cap = cap;
	}
	if (s->h[i = set_slot(s, h)] == h)
		return 0;
	s->h[i] = h;
	s->n++;
	return 1;
}

/* 1 when url was seen; the set unchanged. */
static int
seen_has(const struct crawl *c, const char *url)
{
	return set_has(&c->seen, url);
}

/* 1 when url was not seen (now it is), 0 seen, -1 out of memory. */
static int
seen_add(struct crawl *c, const char *url)
{
	return set_add(&c->seen, url);
}

/* A copy of s cut to at most max characters of UTF-8; NULL out of memory. */
static char *
clip_chars(const char *s, size_t max)
{
	if (s == NULL)
		s = "";
	return strndup(s, st_utf8_prefix(s, max));
}

/* 1 when url is on the start's host and port, under its directory. */
static int
in_scope(const struct crawl *c, const char *url, int any_path)
{
	struct url_target t;
	const char *why;

	if (strlen(url) > ST_KB_URL_MAX || urlpol_parse(url, &t, &why) < 0)
		return 0;
	if (strcasecmp(t.host, c->start.host) != 0 || t.port != c->start.port)
		return 0;
	return any_path || strncmp(t.path, c->prefix, strlen(c->prefix)) == 0;
}

/*
 * 1 when host a and b name the same site: equal (letters' case aside),
 * or one is the other with "www." before it.
 */
static int
host_twin(const char *a, const char *b)
{
	if (strcasecmp(a, b) == 0)
		return 1;
	if (strncasecmp(a, "www.", 4) == 0 && strcasecmp(a + 4, b) == 0)
		return 1;
	return strncasecmp(b, "www.", 4) == 0 && strcasecmp(b + 4, a) == 0;
}

/*
 * 1 when url is where the start URL's own redirect may lead the crawl
 * (crawl_rescope): the start URL's host or its www. twin, over the same
 * scheme or from http to https, on any port of that host (a site moved
 * to https answers on another); never another host, nor back to http.
 */
static int
start_twin(const struct crawl *c, const char *url)
{
	struct url_target t;
	const char *why;

	if (strlen(url) > ST_KB_URL_MAX || urlpol_parse(url, &t, &why) < 0)
		return 0;
	if (!host_twin(t.host, c->asked.host))
		return 0;
	return strcmp(t.scheme, c->asked.scheme) == 0 ||
	    (strcmp(c->asked.scheme, "http") == 0 &&
	    strcmp(t.scheme, "https") == 0);
}

/* 1 when robots.txt lets us fetch url. */
static int
robots_ok(const struct crawl *c, const char *url)
{
	struct url_target t;
	const char *why;

	if (urlpol_parse(url, &t, &why) < 0)
		return 0;
	return robots_allowed(&c->robots, t.path);
}

/* 1 when a start URL's path names a sitemap: ".xml", ".xml.gz". */
static int
sitemap_path(const char *path)
{
	size_t n = strlen(path);

	return (n > 4 && strcasecmp(path + n - 4, ".xml") == 0) ||
	    (n > 7 && strcasecmp(path + n - 7, ".xml.gz") == 0);
}

/*
 * url queued as the crawl keys it (fetch_url_clean: no fragment, no
 * tracking parameter), unless seen, out of scope or over a bound.
 */
static struct pending *
todo_add(struct crawl *c, const char *url, unsigned depth,
    enum crawl_kind kind)
{
	struct pending *p;
	char *u;

	if ((u = fetch_url_clean(url)) == NULL)
		return NULL;
	if ((kind == F_PAGE && (depth > c->conf.max_depth ||
	    !in_scope(c, u, c->sitemaps > 0))) ||
	    (kind == F_SITEMAP && !in_scope(c, u, 1)) ||
	    /* Room for a few times the pages: links seen are not fetched. */
	    (kind == F_PAGE && c->ntodo >= 4 * (size_t)c->conf.max_pages +
	    64)) {
		free(u);
		return NULL;
	}
	/* A sitemap not read may list pages stored before: they stay. */
	if (kind == F_SITEMAP && c->sitemaps >= SITEMAPS_MAX) {
		if (!seen_has(c, u))
			crawl_partial(c, "sitemap", u, SITEMAPS_OVER);
		free(u);
		return NULL;
	}
	if (seen_add(c, u) != 1 || (p = calloc(1, sizeof(*p))) == NULL) {
		free(u);
		return NULL;
	}
	p->url = u;
	p->depth = depth;
	p->kind = kind;
	if (kind == F_SITEMAP)
		c->sitemaps++;
	TAILQ_INSERT_TAIL(&c->todo, p, entry);
	c->ntodo++;
	return p;
}

/* ---------------------------------------------------------------- curl */

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;

	if (f->body.len + n > f->cr->conf.page_bytes) {
		/* What fits is kept: a page of text is read up to it. */
		buf_add(&f->body, p, f->cr->conf.page_bytes - f->body.len);
		f->too_big = 1;
		return 0;
	}
	buf_add(&f->body, p, n);
	return f->body.err ? 0 : n;
}

/* A response header's value into out (cut to its size; "" when none). */
static void
header_of(CURL *e, const char *name, char *out, size_t outsz)
{
	struct curl_header *h;

	out[0] = '\0';
	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) ==
	    CURLHE_OK && strlen(h->value) < outsz)
		strlcpy(out, h->value, outsz);
}

static void fetch_ended(struct curlloop_xfer *, CURLcode);

/*
 * Each request of f's before it is sent, a redirect's too
 * (CURLOPT_PREREQFUNCTION, where CURLINFO_EFFECTIVE_URL is the URL
 * about to be asked): a redirect off the start's host and port is
 * refused (but the start URL's own to its twin, start_twin), and a
 * page's to a path robots.txt disallows, as todo_next refuses a URL.
 * robots.txt itself and the first request pass.
 */
static int
on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct fetch *f = arg;
	char *u = NULL;

	if (f->kind == F_ROBOTS || curl_easy_getinfo(f->x.easy,
	    CURLINFO_EFFECTIVE_URL, &u) != CURLE_OK || u == NULL ||
	    strcmp(u, f->url) == 0)
		return CURL_PREREQFUNC_OK;
	if (!in_scope(f->cr, u, 1) && !(f->start && start_twin(f->cr, u)))
		f->refused = "redirected off the site";
	else if (f->kind == F_PAGE && !robots_ok(f->cr, u))
		f->refused = "redirected to a page robots.txt disallows";
	return f->refused != NULL ? CURL_PREREQFUNC_ABORT :
	    CURL_PREREQFUNC_OK;
}

/*
 * Whether f's page is read for its links: a page of a crawl that follows
 * links (not a sitemap's), short of the depth bound. Its links are what
 * keeps the pages it leads to: on a 304 its stored links are followed;
 * a page without them (stored before they were) is asked whole and read
 * for them even when its bytes did not change.
 */
static int
wants_links(const struct fetch *f)
{
	return f->kind == F_PAGE && f->cr->sitemaps == 0 &&
	    f->depth < f->cr->conf.max_depth;
}

/*
 * Whether f's page as stored has vectors in each of its crawl's spaces,
 * in every part (ST_KB_PAGE_GET's spaces): the install's when it has an
 * embedding model, its agents' own. Else it is read again for them,
 * unchanged or not: a page put while an embedding model failed, or
 * before the model was set, gets its vectors at the next sync.
 */
static int
spaces_held(const struct fetch *f)
{
	uint32_t i;

	if (f->cr->conf.embed != NULL && !st_kb_spaces_have(f->old.spaces,
	    ""))
		return 0;
	for (i = 0; i < f->cr->nspaces; i++)
		if (!st_kb_spaces_have(f->old.spaces, f->cr->spaces[i].id))
			return 0;
	return 1;
}

/*
 * Whether f's page as stored was analysed in its source's language: one
 * changed since (or a page of before format 4 in a source not English)
 * is read again in it.
 */
static int
lang_held(const struct fetch *f)
{
	return strcmp(f->old.lang, f->cr->job.lang) == 0;
}

/*
 * Whether f's stored page has links this crawl may follow: known, and
 * after this crawl's start directory (a source whose URL changed
 * stored them after another; a page of format 2 does not say).
 */
static int
old_links(const struct fetch *f)
{
	return f->had_old && f->old.links_known &&
	    f->old.links_base != NULL &&
	    strcmp(f->old.links_base, f->cr->base) == 0;
}

/*
 * Whether f's GET is conditional: it has validators, its stored page
 * has every space's vectors, and a 304 needs no links or its stored ones
 * stand for them.
 */
static int
asks_conditionally(const struct fetch *f)
{
	return f->had_old && (!wants_links(f) || old_links(f)) &&
	    spaces_held(f) && lang_held(f);
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): with PARLEY_TEST_FETCH_CA set, the
 * certificates of that file are the ones trusted, for the tests' own
 * https sites on loopback. 0, or 1 when it cannot be set.
 */
static int
ca_hook(CURL *e)
{
	const char *ca = settings_test_text("PARLEY_TEST_FETCH_CA");

	if (ca == NULL)
		return 0;
	return curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK;
}
#else
#define ca_hook(e)	0
#endif

/* The GET of f: conditional when asks_conditionally. 0, or -1. */
static int
fetch_curl(struct fetch *f)
{
	char line[ST_KB_ETAG_MAX + 32], ua[128];
	CURL *e;
	int bad = 0;

	if ((e = f->x.easy = curl_easy_init()) == NULL)
		return -1;
	f->x.done = fetch_ended;
	if (asks_conditionally(f) && f->old.etag != NULL &&
	    f->old.etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", f->old.etag);
		f->headers = curl_slist_append(f->headers, line);
	}
	if (asks_conditionally(f) && f->old.last_modified != NULL &&
	    f->old.last_modified[0] != '\0') {
		snprintf(line, sizeof(line), "If-Modified-Since: %s",
		    f->old.last_modified);
		f->headers = curl_slist_append(f->headers, line);
	}
	bad |= notify_curl_base(e, f->url, "http,https", f->err) < 0;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)FETCH_MS) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)REDIRECTS_MAX) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
	    "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PREREQDATA, f) != CURLE_OK;
	snprintf(ua, sizeof(ua), "Parley/%s (knowledge base; robots token "
	    "parley)", parley_version);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, ua) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
	f->guard.allow_private = f->cr->conf.allow_private;
	bad |= urlpol_curl_io(e, &f->guard, on_write, f) < 0;
	if (f->headers != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers) !=
		    CURLE_OK;
	bad |= ca_hook(e);
	if (bad || deliver_xfer_add(&f->x) < 0)
		return -1;
	return 0;
}

/* -------------------------------------------------------------- the end */

/* A job's spaces, their strings (a key among them) wiped. */
static void
spaces_free(struct st_kb_space *sp, uint32_t n)
{
	uint32_t i;

	for (i = 0; sp != NULL && i < n; i++) {
		free(sp[i].base_url);
		if (sp[i].api_key != NULL)
			explicit_bzero(sp[i].api_key, strlen(sp[i].api_key));
		free(sp[i].api_key);
		free(sp[i].model);
	}
	free(sp);
}

static void
crawl_free(struct crawl *c)
{
	struct pending *p;
	struct fetch *f;

	c->stopped = 1;		/* no fetch freed below pumps again */
	loop_defer_cancel(&c->pump);
	loop_timer_stop(&c->tm);
	storec_cancel(c->done_req);
	while ((f = TAILQ_FIRST(&c->fetches)) != NULL)
		fetch_free(f);
	while ((p = TAILQ_FIRST(&c->todo)) != NULL) {
		TAILQ_REMOVE(&c->todo, p, entry);
		free(p->url);
		free(p);
	}
	robots_free(&c->robots);
	free(c->seen.h);
	free(c->read.h);
	free(c->stored.h);
	free(c->claimed.h);
	st_kbsource_free(&c->job);
	spaces_free(c->spaces, c->nspaces);
	free(c);
}

/* c has ended (told or given up): its owner hears it, c is freed. */
static void
crawl_end(struct crawl *c)
{
	void (*done)(void *) = c->done;
	void *arg = c->arg;

	log_info("knowledge source %s: sync %llu ended, %u page(s) fetched",
	    c->job.id, (unsigned long long)c->job.sync_id, c->pages);
	crawl_free(c);
	done(arg);
}

void
crawl_wipe(struct crawl *c)
{
	uint32_t i;

	for (i = 0; c != NULL && i < c->nspaces; i++)
		if (c->spaces[i].api_key != NULL)
			explicit_bzero(c->spaces[i].api_key,
			    strlen(c->spaces[i].api_key));
}

void
crawl_stop(struct crawl *c)
{
	if (c != NULL)
		crawl_free(c);
}

static void ask_done(struct crawl *);

void
crawl_give_back(struct crawl *c)
{
	struct fetch *f;

	c->stopped = 1;		/* no fetch freed below pumps again */
	loop_defer_cancel(&c->pump);
	loop_timer_stop(&c->tm);
	while ((f = TAILQ_FIRST(&c->fetches)) != NULL)
		fetch_free(f);
	c->again = 1;
	if (c->done_req == NULL)
		ask_done(c);
}

static void
done_answered(const struct storec_result *r, void *arg)
{
	struct crawl *c = arg;
	struct st_u8_rep rep;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_KB_SYNC_DONE, &rep) < 0) {
		if (r->status == STOREC_ERROR)
			log_warnx("knowledge source %s: ST_KB_SYNC_DONE: %s",
			    c->job.id, r->message);
		crawl_end(c);	/* its lease brings it back */
		return;
	}
	if (rep.v)
		ask_done(c);	/* more pages the sync did not see */
	else
		crawl_end(c);
}

static void
ask_done(struct crawl *c)
{
	struct st_kb_sync_done_req q;
	int ok = !c->start_failed && !c->cut;

	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, c->job.id, sizeof(q.source_id));
	q.sync_id = c->job.sync_id;
	q.ok = c->again ? ST_KB_SYNC_AGAIN : !ok ? 0 : c->partial ?
	    ST_KB_SYNC_PARTIAL : 1;
	q.error = ok && !c->partial ? "" : c->why;
	if (storec_ask(NULL, PROTO_ST_KB_SYNC_DONE, &q, done_answered, c,
	    &c->done_req) < 0)
		crawl_end(c);
}

/*
 * A failure of the whole sync ("part: what"; part NULL: what names its
 * part itself, as sitemap.c's reasons do), told at its end. The first
 * failure stays.
 */
static void
crawl_fail(struct crawl *c, const char *part, const char *what)
{
	if (c->why[0] != '\0')
		return;
	if (part == NULL)
		snprintf(c->why, sizeof(c->why), "%.*s",
		    (int)(sizeof(c->why) - 32), what);
	else
		snprintf(c->why, sizeof(c->why), "%s: %.*s", part,
		    (int)(sizeof(c->why) - 32), what);
}

/*
 * A part of the site not read this time ("kind url: what"): the sync
 * ends partial, what its error (crawl_fail's first), its unseen pages
 * kept, for they may be where that part leads.
 */
static void
crawl_partial(struct crawl *c, const char *kind, const char *url,
    const char *what)
{
	char part[ERR_MAX + 1];

	c->partial = 1;
	snprintf(part, sizeof(part), "%s %.120s", kind, url);
	crawl_fail(c, part, what);
}

static void
pieces_free(struct st_kb_piece *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		free(p[i].title);
		free(p[i].headings);
		free(p[i].text);
	}
	free(p);
}

/* ------------------------------------------------------------ a fetch */

static void
fetch_free(struct fetch *f)
{
	struct crawl *c = f->cr;

	TAILQ_REMOVE(&c->fetches, f, entry);
	c->inflight--;
	if (f->kind == F_ROBOTS)
		c->robots_done = 1;	/* read, or never: not waited for */
	storec_cancel(f->req);
	embed_cancel(f->ejob);
	pieces_free(f->pieces, f->npieces);
	free(f->title);
	free(f->links);
	embeds_free(f);
	if (f->x.easy != NULL) {
		deliver_xfer_remove(&f->x);
		curl_easy_cleanup(f->x.easy);
	}
	curl_slist_free_all(f->headers);
	buf_free(&f->body);
	if (f->had_old)
		st_kbpage_free(&f->old);
	free(f->final_url);
	free(f->url);
	free(f);
	if (!c->stopped)
		loop_defer(&c->pump);
}

/* storaged's "sync ended": the crawl stops, nothing more told. */
static int
sync_ended(struct fetch *f, const struct storec_result *r)
{
	struct crawl *c = f->cr;

	if (r->status != STOREC_ERROR || r->code != PROTO_E_NOT_FOUND)
		return 0;
	log_info("knowledge source %s: sync %llu ended elsewhere (%s)",
	    c->job.id, (unsigned long long)c->job.sync_id, r->message);
	c->stopped = 1;
	f->req = NULL;
	crawl_end(c);
	return 1;
}

/*
 * storaged's "full" (the organisation's knowledge base at its quota,
 * kbusage.c): no fetch starts any more, and the sync ends failed with
 * storaged's words (its first failure's replaced: this one is what the
 * owner must act on), the pages stored before kept. 1 when r says so.
 */
static int
kb_full(struct fetch *f, const struct storec_result *r)
{
	struct crawl *c = f->cr;

	if (r->status != STOREC_ERROR || r->code != PROTO_E_FULL)
		return 0;
	if (!c->full)
		log_info("knowledge source %s: %s", c->job.id, r->message);
	c->full = c->cut = 1;
	snprintf(c->why, sizeof(c->why), "%s", r->message != NULL ?
	    r->message : "the organisation's knowledge base is full");
	fetch_free(f);
	return 1;
}

static void alias_put(struct fetch *);
static void part_put(struct fetch *);

static void
put_answered(const struct storec_result *r, void *arg)
{
	struct fetch *f = arg;

	f->req = NULL;
	if (sync_ended(f, r) || kb_full(f, r))
		return;
	if (r->status != STOREC_OK)
		log_warnx("knowledge page %s: not stored: %s", f->url,
		    storec_why(r));
	if (f->part + 1 < f->parts) {
		f->part++;
		part_put(f);
		return;
	}
	if (r->status == STOREC_OK && f->final_url != NULL && !f->aliased) {
		alias_put(f);
		return;
	}
	fetch_free(f);
}

/*
 * f's requested URL, redirected, put without chunks and with the
 * validators of the page it led to (the page is stored where it
 * landed): the next sync finds them by the URL it asks for.
 */
static void
alias_put(struct fetch *f)
{
	struct st_kb_page_put_req q;
	struct crawl *c = f->cr;
	char e[ERR_MAX + 1];
	int ok;

	f->aliased = 1;
	snprintf(e, sizeof(e), "%s%s", ALIAS_ERROR, f->final_url);
	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, c->job.id, sizeof(q.source_id));
	q.sync_id = c->job.sync_id;
	q.page.url = f->url;
	q.page.title = "";
	/* Validators only for a page stored: else it is read whole again. */
	ok = (f->code >= 200 && f->code <= 299) || (f->code == 304 &&
	    f->had_old);
	q.page.etag = ok ? f->etag : "";
	q.page.last_modified = ok ? f->lastmod : "";
	q.page.error = e;
	/* Its parts and links: kept and followed on its next 304. */
	q.page.parts = ok ? f->parts : 0;
	if (ok && f->links_known) {
		q.page.links = f->links;
		q.page.links_known = 1;
	} else if (ok && f->code == 304 && old_links(f)) {
		q.page.links = f->old.links;
		q.page.links_known = 1;
	}
	if (q.page.links_known)
		q.page.links_base = f->cr->base;
	if (storec_ask(NULL, PROTO_ST_KB_PAGE_PUT, &q, put_answered, f,
	    &f->req) < 0)
		fetch_free(f);
}

/* A page's error when its text had more chunks than its parts hold. */
static const char chunks_cut[] = "only the first 20 parts are indexed: "
    "the text after them is left out";
/* A page's error when it was longer than PARLEY_FETCH_PAGE_MB. */
static const char bytes_cut[] = "page: over the byte bound "
    "(PARLEY_FETCH_PAGE_MB): only the text before it is indexed";
_Static_assert(ST_KB_PAGE_PARTS_MAX == 20, "chunks_cut says 20");

/* Why f's stored text was cut, kept by a 304 (which reads none): else "". */
static const char *
old_cut(const struct fetch *f)
{
	const char *e = f->had_old ? f->old.error : NULL;

	if (e != NULL && (strcmp(e, bytes_cut) == 0 ||
	    strcmp(e, chunks_cut) == 0))
		return e;
	return "";
}

/*
 * The chunks of doc as pieces (at most max): 0 with *why chunks_cut
 * when there were more, else ""; -1 with *why.
 */
static int
pieces_of(const struct fetch_doc *doc, size_t max, struct st_kb_piece **out,
    uint32_t *n, const char **why)
{
	struct chunk *ch = NULL;
	struct st_kb_piece *p = NULL;
	size_t all = 0, nch, i;

	*out = NULL;
	*n = 0;
	if (chunk_doc(doc, NULL, &ch, &all, why) < 0)
		return -1;
	nch = all < max ? all : max;
	*why = nch < all ? chunks_cut : "";
	if (nch > 0 && (p = calloc(nch, sizeof(*p))) == NULL) {
		chunks_free(ch, all);
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < nch; i++) {
		p[i].title = clip_chars(ch[i].title, ST_KB_TITLE_MAX);
		p[i].headings = clip_chars(ch[i].path, ST_KB_HEADINGS_MAX);
		p[i].text = ch[i].text;
		ch[i].text = NULL;
	}
	chunks_free(ch, all);
	*out = nch > 0 ? p : NULL;
	*n = (uint32_t)nch;
	return 0;
}

/*
 * f's page told to storaged: kept, or with these pieces (error: why it
 * has none, "" when it has) and their embeddings v (NULL: none) and sv
 * (nsv spaces'), as read from url.
 */
static void
page_put_all(struct fetch *f, int keep, const char *title,
    struct st_kb_piece *pieces, uint32_t n, const char *error,
    const struct st_kb_vecs *v, struct st_kb_space_vecs *sv, uint32_t nsv,
    uint32_t tokens)
{
	struct st_kb_page_put_req q;
	struct crawl *c = f->cr;
	char *t = clip_chars(title, ST_KB_TITLE_MAX);
	char e[ERR_MAX + 1], u[ST_KB_URL_MAX + 16];

	snprintf(e, sizeof(e), "%s", error != NULL ? error : "");
	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, c->job.id, sizeof(q.source_id));
	q.sync_id = c->job.sync_id;
	q.page.url = f->final_url != NULL ? f->final_url : f->url;
	if (f->part > 0) {
		/* A later part: under its own URL, what makes it new the first's. */
		snprintf(u, sizeof(u), "%s#part-%u", q.page.url, f->part + 1);
		q.page.url = u;
	} else {
		q.page.etag = f->etag;
		q.page.last_modified = f->lastmod;
		memcpy(q.page.hash, f->hash, sizeof(q.page.hash));
		q.page.links = f->links_known ? f->links : NULL;
		q.page.links_known = (uint8_t)f->links_known;
		q.page.links_base = f->links_known ? c->base : NULL;
		q.page.parts = f->parts;
	}
	q.page.title = t != NULL ? t : "";
	q.page.code = f->code > 0 && f->code < 1000 ? (uint32_t)f->code : 0;
	q.page.error = e;
	q.keep = (uint8_t)keep;
	q.pieces = pieces;
	q.n = n;
	if (v != NULL)
		q.vecs = *v;
	q.svecs = sv;
	q.nsvecs = nsv;
	q.tokens = tokens;
	if (storec_ask(NULL, PROTO_ST_KB_PAGE_PUT, &q, put_answered, f,
	    &f->req) < 0)
		fetch_free(f);
	free(t);
}

/* page_put_all without other spaces' embeddings. */
static void
page_put(struct fetch *f, int keep, const char *title,
    struct st_kb_piece *pieces, uint32_t n, const char *error,
    const struct st_kb_vecs *v, uint32_t tokens)
{
	page_put_all(f, keep, title, pieces, n, error, v, NULL, 0, tokens);
}

/*
 * The embedding models of c's pages: the install's (embedder 0, when it
 * has one), then each of its job's spaces' (the agents' own).
 */
static uint32_t
embedders(const struct crawl *c)
{
	return (c->conf.embed != NULL ? 1 : 0) + c->nspaces;
}

/* Embedder i's conf, its space's id into *space ("" the install's). */
static const struct embed_conf *
embedder(const struct crawl *c, uint32_t i, const char **space)
{
	if (c->conf.embed != NULL) {
		if (i == 0) {
			*space = "";
			return c->conf.embed;
		}
		i--;
	}
	*space = c->spaces[i].id;
	return &c->econf[i];
}

/*
 * Chunks a part holds: ST_KB_PAGE_CHUNKS_MAX shared by the embedders,
 * so that a part's put, with every model's vectors, fits one message.
 */
static uint32_t
part_size(const struct crawl *c)
{
	uint32_t e = embedders(c);

	return ST_KB_PAGE_CHUNKS_MAX / (e > 1 ? e : 1);
}

/* The pieces of f's part being put, into *out: how many. */
static uint32_t
part_pieces(const struct fetch *f, struct st_kb_piece **out)
{
	uint32_t size = part_size(f->cr);
	uint32_t first = f->part * size;
	uint32_t n = f->npieces - first;

	*out = f->pieces + first;
	return n < size ? n : size;
}

/* What the embedders gave f's part, freed. */
static void
embeds_free(struct fetch *f)
{
	uint32_t i;

	for (i = 0; i <= ST_KB_SPACES_MAX; i++)
		free(f->evbuf[i]);
	memset(f->evbuf, 0, sizeof(f->evbuf));
	memset(f->ev, 0, sizeof(f->ev));
	f->etokens = 0;
}

static int page_embed(struct fetch *);

/*
 * f's part put (put_answered puts the next): kept as it is when f keeps
 * its parts, else its pieces, read by the embedding models first when
 * there are some.
 */
static void
part_put(struct fetch *f)
{
	struct st_kb_piece *pieces;
	uint32_t n;

	if (f->keeping) {
		page_put(f, 1, "", NULL, 0, "", NULL, 0);
		return;
	}
	n = part_pieces(f, &pieces);
	f->emb = 0;
	embeds_free(f);
	if (page_embed(f) == 0)
		return;
	page_put(f, 0, f->title, pieces, n, f->part == 0 && f->cut != NULL ?
	    f->cut : "", NULL, 0);
}

/*
 * f's page kept as it is, with error (its parts after the first kept
 * too: put_answered puts them in turn).
 */
static void
page_keep(struct fetch *f, const char *error)
{
	f->keeping = 1;
	f->parts = f->had_old && f->old.parts > 1 ? f->old.parts : 1;
	if (f->had_old && f->old.chunks > 0)
		canon_stored(f);
	page_put(f, 1, "", NULL, 0, error, NULL, 0);
}

/*
 * f's part put with what its embedders gave: the install's vectors and
 * each space's (a space without them is not the page's: the next sync
 * reads it again for them).
 */
static void
part_embedded(struct fetch *f)
{
	struct st_kb_space_vecs sv[ST_KB_SPACES_MAX];
	float *bufs[ST_KB_SPACES_MAX + 1];
	struct st_kb_vecs v;
	struct st_kb_piece *pieces;
	uint32_t n = part_pieces(f, &pieces), nsv = 0, i;
	uint64_t tokens = f->etokens;

	memset(&v, 0, sizeof(v));
	for (i = 0; i <= ST_KB_SPACES_MAX; i++) {
		if (f->ev[i].vecs.dim == 0)
			continue;
		if (f->ev[i].space[0] == '\0')
			v = f->ev[i].vecs;
		else if (nsv < ST_KB_SPACES_MAX)
			sv[nsv++] = f->ev[i];
	}
	/* Ours now: page_put_all may free f. */
	memcpy(bufs, f->evbuf, sizeof(bufs));
	memset(f->evbuf, 0, sizeof(f->evbuf));
	page_put_all(f, 0, f->title, pieces, n, f->part == 0 &&
	    f->cut != NULL ? f->cut : "", &v, sv, nsv, tokens > UINT32_MAX ?
	    UINT32_MAX :
	    (uint32_t)tokens);
	for (i = 0; i <= ST_KB_SPACES_MAX; i++)
		free(bufs[i]);
}

/*
 * f's pieces embedded by its embedder f->emb: kept (or not: the page
 * found by its words alone in that space; the failure logged once a
 * sync), then the next embedder asked, or the part put.
 */
static void
page_embedded(void *arg, const struct embed_result *r)
{
	struct fetch *f = arg;
	struct crawl *c = f->cr;
	struct st_kb_piece *pieces;
	uint32_t n = part_pieces(f, &pieces), i = f->emb;
	size_t bytes = r->n * r->dims * sizeof(float);
	const char *space;

	f->ejob = NULL;
	(void)embedder(c, i, &space);
	if (r->err == EMBED_OK && r->n == n && r->dims > 0 &&
	    r->dims <= ST_KB_VEC_DIM_MAX && bytes <= ST_KB_VECS_MAX &&
	    (f->evbuf[i] = malloc(bytes)) != NULL) {
		memcpy(f->evbuf[i], r->vec, bytes);
		strlcpy(f->ev[i].space, space, sizeof(f->ev[i].space));
		f->ev[i].vecs.dim = r->dims;
		f->ev[i].vecs.data.p = (const uint8_t *)f->evbuf[i];
		f->ev[i].vecs.data.len = (uint32_t)bytes;
		f->etokens += r->tokens;
	} else if (!c->embed_warned) {
		c->embed_warned = 1;
		log_warnx("knowledge source %s: pages kept without embeddings%s"
		    "%s: %s", c->job.id, space[0] != '\0' ? " of space " : "",
		    space, r->err != EMBED_OK ? r->error :
		    "too many for one page");
	}
	f->emb++;
	if (page_embed(f) != 0)
		part_embedded(f);
}

/*
 * The pieces of f's part handed to its next embedding model (from
 * f->emb, past any that cannot start), put by page_embedded once it
 * answers: 0, or -1 (none started).
 */
static int
page_embed(struct fetch *f)
{
	struct crawl *c = f->cr;
	const struct embed_conf *ec;
	struct st_kb_piece *pieces;
	uint32_t n = part_pieces(f, &pieces), i;
	const char *space;
	char **texts;

	if (f->emb >= embedders(c) || (texts = calloc(n, sizeof(*texts))) ==
	    NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (asprintf(&texts[i], "%s\n%s\n%s", pieces[i].title,
		    pieces[i].headings, pieces[i].text) < 0) {
			texts[i] = NULL;
			break;
		}
	for (; i == n && f->emb < embedders(c); f->emb++) {
		ec = embedder(c, f->emb, &space);
		if ((f->ejob = embed_start(ec, (const char *const *)texts, n,
		    page_embedded, f)) != NULL)
			break;
	}
	proto_strv_free(texts, n);
	return f->ejob != NULL ? 0 : -1;
}

enum doc_type
crawl_doc_type(const char *ctype, const char *url)
{
	/*
	 * The name is the path's: README.md?raw=1 is one, /a?f=.md not, nor
	 * a host's (https://notes.md).
	 */
	size_t n = strcspn(url, "?#");
	const char *path = memmem(url, n, "://", 3);

	if (path != NULL) {
		path += 3 + strcspn(path + 3, "/?#");
		n -= (size_t)(path - url);
	} else
		path = url;

	if (mediatype_is(ctype, "text/html") ||
	    mediatype_is(ctype, "application/xhtml+xml"))
		return DOC_HTML;
	if (mediatype_is(ctype, "text/markdown") ||
	    mediatype_is(ctype, "text/x-markdown") ||
	    (mediatype_is(ctype, "text/plain") && n > 3 &&
	    strncasecmp(path + n - 3, ".md", 3) == 0))
		return DOC_MARKDOWN;
	if (mediatype_is(ctype, "text/plain"))
		return DOC_TEXT;
	if (mediatype_is(ctype, "application/pdf"))
		return DOC_PDF;
	return DOC_NONE;
}

/* What f's answer is read as (crawl_doc_type of its last URL). */
static enum doc_type
doc_type_of(const struct fetch *f)
{
	return crawl_doc_type(f->ctype, f->final_url != NULL ?
	    f->final_url : f->url);
}

const char *
crawl_charset(const char *ctype, char *cs, size_t cssz)
{
	const char *v;
	size_t n = mediatype_charset(ctype, &v);

	snprintf(cs, cssz, "%.*s", (int)n, v);
	return cs[0] != '\0' ? cs : NULL;
}

/* The reader a PDF's child runs (read_child): pdf.c's. */
static int
pdf_reader(const void *bytes, size_t len, void *arg, struct fetch_doc *doc,
    const char **why)
{
	(void)arg;
	return pdf_extract(bytes, len, doc, why);
}

/*
 * f's answer, a PDF, read in a child process of its own (docchild.h),
 * waited for here: the crawl's flow is synchronous around a read (a
 * page read, then chunked and put), and pdf_extract held the loop
 * as long when it ran in the fetcher. A PDF that holds poppler past
 * the conf's cpu_s of CPU (or READ_WALL_MS) or runs it out of memory
 * (the fetcher's address-space bound, inherited) or into a fault ends
 * the child alone: the page is stored failed with its error (read_doc's
 * -1: SPUN_ERROR, READER_LATE, DOCCHILD_CRASH_WHY, which spun_before
 * keeps unread while its bytes are the same), the sync goes on, and so do the
 * other organisations' syncs in this fetcher. Nothing is recorded for
 * the next fetcher (fetcher_reading_sync): this one does not end.
 */
static int
read_child(struct fetch *f, struct fetch_doc *doc, const char **why)
{
	const unsigned cpu_s = f->cr->conf.cpu_s > 0 ? f->cr->conf.cpu_s : 60;
	const struct docchild_bounds b = { cpu_s, READ_WALL_MS(cpu_s) };
	struct docchild_result res;

	switch (docchild_read(f->body.data, f->body.len, &b, pdf_reader, NULL,
	    &res)) {
	case DOCCHILD_READ:
		*doc = res.doc;
		(void)loop_clock();	/* the wait held the loop */
		return 0;
	case DOCCHILD_UNREAD:
		strlcpy(f->rwhy, res.why, sizeof(f->rwhy));
		break;
	case DOCCHILD_CPU:
		snprintf(f->rwhy, sizeof(f->rwhy), SPUN_ERROR, b.cpu_s);
		break;
	case DOCCHILD_LATE:
		snprintf(f->rwhy, sizeof(f->rwhy), READER_LATE,
		    b.wall_ms / 1000);
		break;
	case DOCCHILD_CRASH:
		snprintf(f->rwhy, sizeof(f->rwhy), "%s", DOCCHILD_CRASH_WHY);
		break;
	case DOCCHILD_FAILED:
		snprintf(f->rwhy, sizeof(f->rwhy), "pdf: out of memory");
		break;
	}
	(void)loop_clock();
	if (res.end != DOCCHILD_UNREAD)
		log_warnx("knowledge source %s: %s %s: %s", f->cr->job.id,
		    f->kind == F_FILE ? "file" : "page", f->final_url != NULL ?
		    f->final_url : f->url, f->rwhy);
	*why = f->rwhy;
	return -1;
}

/* The reader for f's answer by its type (and name): 0, or -1 and why. */
static int
read_doc_type(struct fetch *f, struct fetch_doc *doc, const char **why)
{
	const char *u = f->final_url != NULL ? f->final_url : f->url;
	enum doc_type t = doc_type_of(f);
	char buf[64];
	const char *cs = crawl_charset(f->ctype, buf, sizeof(buf));
	char *dec;
	size_t dlen;
	int rc;

	switch (t) {
	case DOC_HTML:
		return html_extract(f->body.data, f->body.len,
		    f->kind == F_FILE ? NULL : u, cs, doc, why);
	case DOC_MARKDOWN:
	case DOC_TEXT:
		/* Its charset's (or UTF-16 mark's) text, as UTF-8. */
		if (fetch_text_decode(f->body.data, f->body.len, cs, &dec,
		    &dlen) < 0) {
			*why = "text: out of memory";
			return -1;
		}
		rc = (t == DOC_MARKDOWN ? md_extract : text_extract)(dec !=
		    NULL ? dec : f->body.data, dec != NULL ? dlen :
		    f->body.len, doc, why);
		free(dec);
		return rc;
	case DOC_PDF:
		return read_child(f, doc, why);
	case DOC_NONE:
		break;
	}
	*why = "a type the knowledge base does not read";
	return -1;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): an answer of this type spins as a
 * reader in the fetcher (html.c's libxml2, sitemap.c) might on a crafted
 * document, for the CPU time bound's test; of the abort type it aborts
 * as such a reader would out of memory. A PDF's child has its own
 * (docchild.c's test_hook).
 */
static void
spin_hook(const char *ctype)
{
	volatile unsigned long spins = 0;

	if (strncasecmp(ctype, "application/x-parley-test-spin", 30) == 0)
		for (;;)
			spins++;
	if (strncasecmp(ctype, "application/x-parley-test-abort", 31) == 0)
		abort();
}
#else
#define spin_hook(ctype)	((void)0)
#endif

/*
 * The record of what f is read as (kind: "page", "file", "sitemap",
 * "robots.txt") kept for the next fetcher, should this one end at its
 * CPU time bound reading it (fetcher_reading_sync, crawl_recover): one
 * line, "kind, source id, sync id, HTTP status, hash ("-": none), URL",
 * tab-separated. After fetcher_reading.
 */
static void
reading_sync(const struct fetch *f, const char *kind)
{
	char rec[ST_KB_URL_MAX + 256];

	snprintf(rec, sizeof(rec), "%s\t%s\t%llu\t%ld\t%s\t%s\n", kind,
	    f->cr->job.id, (unsigned long long)f->cr->job.sync_id, f->code,
	    f->hash[0] != '\0' ? f->hash : "-",
	    f->final_url != NULL ? f->final_url : f->url);
	fetcher_reading_sync(rec);
}

/*
 * read_doc_type, the fetcher told what it reads (fetcher_reading); a
 * PDF read in a child, nothing told (read_child). HTML, Markdown and
 * text are read in the fetcher: their input is bounded (16 MiB), what
 * libxml2 is known to be slow on refused before it parses (html.c,
 * fetch_markup_check), their work and memory growing with the bytes
 * after; poppler inflates streams a file chooses (64 KiB can hold a
 * gigabyte of drawing operators) and cannot be stopped within a page.
 * A child for each HTML page would cost a fork and the doc sent back
 * for every page of every crawl. Should one of them still hold its
 * reader past the fetcher's CPU time bound, or end it, the fetcher ends
 * and the next recovers (crawl_recover, spun_before).
 */
static int
read_doc(struct fetch *f, struct fetch_doc *doc, const char **why)
{
	int rc;

	/* Its child ends alone: nothing for the next fetcher to recover. */
	if (doc_type_of(f) == DOC_PDF)
		return read_doc_type(f, doc, why);
	if (f->kind == F_FILE)
		fetcher_reading("file of knowledge source", f->cr->job.id);
	else
		fetcher_reading("page", f->final_url != NULL ? f->final_url :
		    f->url);
	reading_sync(f, f->kind == F_FILE ? "file" : "page");
	spin_hook(f->ctype);
	rc = read_doc_type(f, doc, why);
	fetcher_reading(NULL, NULL);
	return rc;
}

/*
 * The links of f's page, read as doc: noted to be stored with it (the
 * ones a link crawl follows, each after the crawl's base, one a line;
 * not known when one is not under base as written, or they pass
 * ST_KB_LINKS_MAX), and followed when it wants them.
 */
static void
links_follow(struct fetch *f, const struct fetch_doc *doc)
{
	struct crawl *c = f->cr;
	size_t baselen = strlen(c->base), i;
	struct buf b;

	if (!doc->nofollow && wants_links(f))
		for (i = 0; i < doc->nlinks; i++)
			todo_add(c, doc->links[i], f->depth + 1, F_PAGE);
	if (f->kind != F_PAGE || c->sitemaps > 0)
		return;
	buf_init(&b);
	for (i = 0; !doc->nofollow && i < doc->nlinks; i++) {
		if (!in_scope(c, doc->links[i], 0))
			continue;
		if (strncmp(doc->links[i], c->base, baselen) != 0 ||
		    strchr(doc->links[i], '\n') != NULL) {
			buf_free(&b);
			return;		/* not known: asked whole next time */
		}
		buf_adds(&b, doc->links[i] + baselen);
		buf_add(&b, "\n", 1);
		if (b.err || b.len > ST_KB_LINKS_MAX) {
			buf_free(&b);
			return;
		}
	}
	free(f->links);
	f->links = b.len > 0 ? strndup(b.data, b.len) : strdup("");
	f->links_known = f->links != NULL;
	buf_free(&b);
}

/* The links stored with f's unchanged page followed, as a read would. */
static void
links_replay(struct fetch *f)
{
	struct crawl *c = f->cr;
	char url[2 * ST_KB_URL_MAX + 2];
	const char *p, *nl;

	if (!wants_links(f) || !old_links(f) || f->old.links == NULL)
		return;
	for (p = f->old.links; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		snprintf(url, sizeof(url), "%s%.*s", c->base, (int)(nl - p), p);
		todo_add(c, url, f->depth + 1, F_PAGE);
	}
}

/*
 * Whether f's page, read as doc, is a copy of another page of the crawl
 * stored in its place: its <link rel=canonical> names another URL of
 * the crawl's origin (fetch_url_clean's key: not the one asked for, nor
 * where it landed) whose text this crawl stored, or which it has not
 * read yet: queued (now, at f's depth, when it was not) and claimed, to
 * be stored itself whatever its own canonical says (two pages naming
 * each other keep the one named first). A page claimed so, one whose
 * canonical was read and not stored (a 404, noindex), or one whose
 * canonical the crawl cannot queue (outside its directory, past its
 * bounds), is stored itself. 1 with *to its canonical URL (malloc'd),
 * else 0.
 */
static int
canon_of(struct fetch *f, const struct fetch_doc *doc, char **to)
{
	struct crawl *c = f->cr;
	const char *self = f->final_url != NULL ? f->final_url : f->url;
	char *u;
	int copy = 0;

	*to = NULL;
	if (f->kind != F_PAGE || doc->canonical == NULL ||
	    set_has(&c->claimed, f->url) || set_has(&c->claimed, self) ||
	    !in_scope(c, doc->canonical, 1) ||
	    (u = fetch_url_clean(doc->canonical)) == NULL)
		return 0;
	if (strcmp(u, self) == 0 || strcmp(u, f->url) == 0)
		copy = 0;
	else if (set_has(&c->stored, u))
		copy = 1;
	else if (set_has(&c->read, u))
		copy = 0;
	else if (seen_has(c, u) || (c->pages < c->conf.max_pages &&
	    todo_add(c, u, f->depth, F_PAGE) != NULL))
		copy = set_add(&c->claimed, u) >= 0;
	if (copy)
		*to = u;
	else
		free(u);
	return copy;
}

/* f's page's text is stored (or kept): by both its URLs (canon_of). */
static void
canon_stored(struct fetch *f)
{
	(void)set_add(&f->cr->stored, f->url);
	if (f->final_url != NULL)
		(void)set_add(&f->cr->stored, f->final_url);
}

/*
 * f's page, a copy of its canonical URL's (canon_of: to), put without
 * its text, its error saying whose copy it is, and without validators
 * or hash: read whole at the next sync, its canonical asked again.
 */
static void
canon_put(struct fetch *f, const struct fetch_doc *doc, const char *to)
{
	char e[ERR_MAX + 1];

	snprintf(e, sizeof(e), "%s%s", CANON_ERROR, to);
	f->etag[0] = f->lastmod[0] = f->hash[0] = '\0';
	page_put(f, 0, doc->title, NULL, 0, e, NULL, 0);
}

/*
 * doc's links followed; a page whose canonical URL is another page stored
 * as a copy of it (canon_put) and doc freed: 1; else 0, doc the caller's.
 */
static int
links_and_canon(struct fetch *f, struct fetch_doc *doc)
{
	char *to;

	links_follow(f, doc);
	if (!canon_of(f, doc, &to))
		return 0;
	canon_put(f, doc, to);
	free(to);
	fetch_doc_free(doc);
	return 1;
}

/* A fetched page read, chunked and put (its links followed). */
static void
page_read(struct fetch *f)
{
	struct crawl *c = f->cr;
	struct st_kb_piece *pieces = NULL;
	struct fetch_doc doc;
	const char *why = NULL;
	uint32_t n = 0;

	memset(&doc, 0, sizeof(doc));
	if (read_doc(f, &doc, &why) < 0) {
		if (f->kind == F_FILE) {	/* a file unread: the sync fails */
			c->start_failed = 1;
			crawl_fail(c, "file", why);
		}
		page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return;
	}
	if (links_and_canon(f, &doc))
		return;
	if (doc.noindex)
		why = "noindex: the page asks not to be indexed";
	else if (pieces_of(&doc, (size_t)ST_KB_PAGE_PARTS_MAX * part_size(c),
	    &pieces, &n, &why) == 0 && n == 0)
		why = "no text";
	if (n == 0 || (f->title = strdup(doc.title != NULL ? doc.title :
	    "")) == NULL) {
		page_put(f, 0, doc.title, NULL, 0, n == 0 ? why :
		    "out of memory", NULL, 0);
		pieces_free(pieces, n);
		fetch_doc_free(&doc);
		return;
	}
	canon_stored(f);
	/* Put a part at a time: part_size chunks each. */
	if (f->cut == NULL && why == chunks_cut)
		f->cut = chunks_cut;
	f->pieces = pieces;
	f->npieces = n;
	f->parts = (n + part_size(c) - 1) / part_size(c);
	f->part = 0;
	fetch_doc_free(&doc);
	part_put(f);
}

/*
 * f's page not read this time (why): the links it was stored with
 * followed, as a 304's, so the pages they lead to are seen; not known,
 * the crawl is partial (those pages kept).
 */
static void
links_through(struct fetch *f, const char *why)
{
	if (!wants_links(f))
		return;
	if (old_links(f))
		links_replay(f);
	else
		crawl_partial(f->cr, "page", f->url, why);
}

/*
 * A failure that may pass (no answer, a 5xx, a 429) of a page: its
 * stored links followed (links_through); stored with text, the text
 * kept, the failure its error (why). 1 when kept.
 */
static int
keep_through(struct fetch *f, const char *why)
{
	char e[ERR_MAX + 1];

	if (f->guard.refused || f->too_big ||
	    (f->code != 0 && f->code < 500 && f->code != 429))
		return 0;
	links_through(f, why);
	if (!f->had_old || f->old.chunks == 0)
		return 0;
	snprintf(e, sizeof(e), "%s (the last version kept)", why);
	page_keep(f, e);
	return 1;
}

/* Whether e is an error of SPUN_ERROR's form (or READER_LATE's, late). */
static int
spun_form(const char *e, int late)
{
	unsigned s;
	int n = 0;

	return (late ? sscanf(e, READER_LATE "%n", &s, &n) :
	    sscanf(e, SPUN_ERROR "%n", &s, &n)) == 1 && n > 0;
}

/*
 * Whether f's page is kept unread: the last fetcher ended at its CPU
 * time bound reading it, or crashed (stored with SPUN_ERROR or
 * SPUN_CRASH by crawl_recover), or its reader's child ended so
 * (read_child), and its bytes are the same, or that was less than
 * SPUN_FRESH_MS before this sync began (the sync taken again in its
 * place: a page that changes at each fetch is not read again in it
 * either).
 */
static int
spun_before(const struct fetch *f)
{
	if (!f->had_old || f->old.error == NULL ||
	    (strcmp(f->old.error, SPUN_CRASH) != 0 &&
	    strcmp(f->old.error, DOCCHILD_CRASH_WHY) != 0 &&
	    !spun_form(f->old.error, 0) && !spun_form(f->old.error, 1)))
		return 0;
	return strcmp(f->old.hash, f->hash) == 0 ||
	    f->cr->job.sync_id < f->old.fetched_at + SPUN_FRESH_MS;
}

/*
 * f's page kept unread with its error (spun_before), its stored links
 * followed (links_through); a file's fails.
 */
static void
spun_keep(struct fetch *f)
{
	log_info("knowledge page %s: not read (%s)", f->url, f->old.error);
	if (f->kind == F_FILE) {
		f->cr->start_failed = 1;
		crawl_fail(f->cr, "file", f->old.error);
	}
	links_through(f, f->old.error);
	page_keep(f, f->old.error);
}

/* The page's answer, its old page (by the URL it came from) known. */
static void
page_answered(struct fetch *f)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	struct fetch_doc doc;
	const char *rwhy;
	char why[64];

	if (f->kind == F_PAGE) {	/* canon_of: read, whatever comes of it */
		(void)set_add(&f->cr->read, f->url);
		if (f->final_url != NULL)
			(void)set_add(&f->cr->read, f->final_url);
	}
	/*
	 * A 304 to a URL that redirected last time and no longer does has
	 * no page of its own to keep: put as an error without validators,
	 * it is read whole on the next sync.
	 */
	if (f->code == 304 && f->had_old && f->final_url == NULL &&
	    f->old.error != NULL && strncmp(f->old.error, ALIAS_ERROR,
	    strlen(ALIAS_ERROR)) == 0) {
		f->etag[0] = f->lastmod[0] = '\0';
		page_put(f, 0, "", NULL, 0, "HTTP 304 to a request for "
		    "another page's version", NULL, 0);
		return;
	}
	if (f->code == 304 && f->had_old) {
		/* The alias keeps the validators the 304 may not repeat. */
		if (f->etag[0] == '\0' && f->old.etag != NULL)
			strlcpy(f->etag, f->old.etag, sizeof(f->etag));
		if (f->lastmod[0] == '\0' && f->old.last_modified != NULL)
			strlcpy(f->lastmod, f->old.last_modified,
			    sizeof(f->lastmod));
		links_replay(f);
		page_keep(f, old_cut(f));
		return;
	}
	if (f->code < 200 || f->code > 299) {
		snprintf(why, sizeof(why), "HTTP %ld", f->code);
		if (!keep_through(f, why))
			page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return;
	}
	proto_sha256(f->body.data, f->body.len, h);
	proto_hex_encode(h, sizeof(h), f->hash);
	if (spun_before(f)) {
		spun_keep(f);
		return;
	}
	if (f->had_old && f->old.hash[0] != '\0' &&
	    strcmp(f->old.hash, f->hash) == 0 && spaces_held(f) &&
	    lang_held(f)) {
		/*
		 * The same bytes: kept, read for their links and canonical
		 * alone (a page stored before its canonical was: a copy now).
		 */
		if (wants_links(f) || !old_links(f) ||
		    doc_type_of(f) == DOC_HTML) {
			memset(&doc, 0, sizeof(doc));
			if (read_doc(f, &doc, &rwhy) == 0 &&
			    links_and_canon(f, &doc))
				return;
			fetch_doc_free(&doc);
		}
		page_keep(f, f->cut != NULL ? f->cut : "");
	} else
		page_read(f);
}

static void
old_got(const struct storec_result *r, void *arg)
{
	struct fetch *f = arg;

	f->req = NULL;
	if (f->had_old) {
		st_kbpage_free(&f->old);
		f->had_old = 0;
	}
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_KB_PAGE_GET, &f->old) == 0)
		f->had_old = 1;
	page_answered(f);
}

/*
 * Sitemap f not read (why): the start's fails the sync ("sitemap:
 * why"), another's makes it partial ("sitemap URL: why"); f freed.
 */
static void
sitemap_failed(struct fetch *f, const char *why)
{
	struct crawl *c = f->cr;

	if (f->start) {
		c->start_failed = 1;
		crawl_fail(c, "sitemap", why);
	} else
		crawl_partial(c, "sitemap", f->url, why);
	fetch_free(f);
}

/* A sitemap read: its pages (or sitemaps) queued. */
static void
sitemap_read(struct fetch *f)
{
	struct crawl *c = f->cr;
	struct sitemap sm;
	const char *why = NULL, *pfx = "sitemap: ";	/* sitemap.c's */
	char code[32];
	size_t i;
	int rc;

	if (f->code < 200 || f->code > 299) {
		snprintf(code, sizeof(code), "HTTP %ld", f->code);
		sitemap_failed(f, f->start ? "not read" : code);
		return;
	}
	fetcher_reading("sitemap", f->url);
	reading_sync(f, "sitemap");
	rc = sitemap_parse(f->body.data, f->body.len, &sm, &why);
	fetcher_reading(NULL, NULL);
	if (rc < 0) {
		if (why == NULL)
			why = "not read";
		else if (strncmp(why, pfx, strlen(pfx)) == 0)
			why += strlen(pfx);
		sitemap_failed(f, why);
		return;
	}
	for (i = 0; i < sm.nurls; i++)
		todo_add(c, sm.urls[i].loc, 0, sm.is_index ? F_SITEMAP :
		    F_PAGE);
	sitemap_free(&sm);
	fetch_free(f);
}

/*
 * robots.txt's answer: its rules, or everything allowed or not. Nothing
 * allowed for a 5xx or no answer: the sync fails, its pages kept (the
 * site may answer next time).
 */
static void
robots_read(struct fetch *f)
{
	struct crawl *c = f->cr;
	const char *why;
	char code[32];

	c->robots_done = 1;
	if (f->code >= 200 && f->code <= 299) {
		fetcher_reading("robots.txt", f->url);
		reading_sync(f, "robots.txt");
		if (robots_parse(f->body.data, f->body.len, &c->robots,
		    &why) < 0) {
			robots_deny_all(&c->robots);
			c->start_failed = 1;
			crawl_fail(c, NULL, why);	/* "robots: ..." */
		}
		fetcher_reading(NULL, NULL);
	} else if (f->code == 0 || f->code >= 500) {
		robots_deny_all(&c->robots);
		snprintf(code, sizeof(code), "HTTP %ld", f->code);
		c->start_failed = 1;
		/* The guard's refusal (a redirect to a private address) too. */
		crawl_fail(c, "robots.txt", f->code != 0 ? code :
		    f->guard.refused ? ADDRESS_REFUSED : f->err[0] != '\0' ?
		    f->err : "no answer");
	}
	fetch_free(f);
}

/*
 * f, when it is the start URL, could not be read (why): the sync fails
 * and the source keeps its pages, whatever became of the start page.
 */
static void
start_unread(struct fetch *f, const char *why)
{
	if (!f->start)
		return;
	f->cr->start_failed = 1;
	crawl_fail(f->cr, "start URL", why);
}

/*
 * f's redirect refused before it was asked (on_prereq): a page put with
 * why and where it led, without validators; a sitemap fails as unread.
 */
static void
hop_refused(struct fetch *f)
{
	char why[ERR_MAX + 1];

	snprintf(why, sizeof(why), "%s: %s", f->refused,
	    f->final_url != NULL ? f->final_url : "");
	free(f->final_url);
	f->final_url = NULL;
	f->etag[0] = f->lastmod[0] = '\0';
	if (f->kind != F_SITEMAP) {
		start_unread(f, why);
		page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return;
	}
	sitemap_failed(f, why);
}

/*
 * Whether f, over the byte bound, is read up to it: a page (not a
 * sitemap, robots.txt or a file) answered 2xx of a type of text (HTML,
 * plain text, Markdown); a PDF cut short does not read.
 */
static int
page_cuttable(const struct fetch *f)
{
	enum doc_type t;

	if (!f->too_big || f->body.err || f->kind != F_PAGE ||
	    f->code < 200 || f->code > 299)
		return 0;
	t = doc_type_of(f);
	return t == DOC_HTML || t == DOC_MARKDOWN || t == DOC_TEXT;
}

/* A cut page's text ends at a whole character when it reads as UTF-8. */
static void
page_cut_whole(struct fetch *f)
{
	char buf[64];

	if (fetch_charset_utf8(crawl_charset(f->ctype, buf, sizeof(buf))))
		f->body.len = proto_utf8_whole(f->body.data, f->body.len);
}

static void
fetch_ended(struct curlloop_xfer *x, CURLcode rc)
{
	struct fetch *f = (struct fetch *)(void *)x;
	struct crawl *c = f->cr;
	struct st_kb_page_get_req q;
	char *eff = NULL;
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &f->code);
	header_of(x->easy, "Content-Type", f->ctype, sizeof(f->ctype));
	/* Stopped at the byte bound: a page of text is read up to it. */
	if (rc == CURLE_WRITE_ERROR && page_cuttable(f)) {
		page_cut_whole(f);
		rc = CURLE_OK;
		f->cut = bytes_cut;
	}
	if (rc != CURLE_OK)
		f->code = 0;
	if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff) ==
	    CURLE_OK && eff != NULL && strcmp(eff, f->url) != 0)
		f->final_url = strdup(eff);
	header_of(x->easy, "ETag", f->etag, sizeof(f->etag));
	header_of(x->easy, "Last-Modified", f->lastmod, sizeof(f->lastmod));
	deliver_xfer_remove(x);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	if (f->kind == F_ROBOTS) {
		robots_read(f);
		return;
	}
	if (f->refused != NULL) {
		hop_refused(f);
		return;
	}
	if (rc != CURLE_OK || f->body.err) {
		/*
		 * A redirect's next hop that failed: the page asked for is
		 * the one kept (its last version) or put failed, not the
		 * target, which was never read.
		 */
		free(f->final_url);
		f->final_url = NULL;
		snprintf(why, sizeof(why), "%s", f->guard.refused ?
		    ADDRESS_REFUSED : f->too_big ? "page: over the byte bound" :
		    f->err[0] != '\0' ? f->err : curl_easy_strerror(rc));
		start_unread(f, why);
		if (f->kind == F_SITEMAP)
			sitemap_failed(f, why);
		else if (!keep_through(f, why))
			page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return;
	}
	/* The start URL's own redirect to its twin: the crawl goes there. */
	if (f->start && f->final_url != NULL && ((f->code >= 200 &&
	    f->code <= 299) || f->code == 304) && !c->stopped &&
	    start_twin(c, f->final_url))
		crawl_rescope(c, f->final_url);
	/* A redirect off the site: not ours to read, put where it was. */
	if (f->final_url != NULL && !in_scope(c, f->final_url, 1)) {
		free(f->final_url);
		f->final_url = NULL;
		start_unread(f, "redirected off the site");
		page_put(f, 0, "", NULL, 0, "redirected off the site", NULL, 0);
		return;
	}
	if (f->kind == F_SITEMAP) {
		sitemap_read(f);
		return;
	}
	if (f->start && (f->code < 200 || f->code > 399)) {
		c->start_failed = 1;
		snprintf(why, sizeof(why), "HTTP %ld", f->code);
		crawl_fail(c, "start URL", why);
	}
	/*
	 * Redirected to a page that fails for now (a 5xx, a 429): the page
	 * asked for keeps its last version, as one that fails itself does.
	 */
	if (f->final_url != NULL && (f->code >= 500 || f->code == 429)) {
		free(f->final_url);
		f->final_url = NULL;
		snprintf(why, sizeof(why), "HTTP %ld", f->code);
		if (!keep_through(f, why))
			page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return;
	}
	/* Redirected: the old page is the one where it landed. */
	if (f->final_url != NULL) {
		(void)seen_add(c, f->final_url);
		strlcpy(q.source_id, c->job.id, sizeof(q.source_id));
		q.url = f->final_url;
		if (storec_ask(NULL, PROTO_ST_KB_PAGE_GET, &q, old_got, f,
		    &f->req) < 0)
			fetch_free(f);
		return;
	}
	page_answered(f);
}

/* The length of path's directory: to its last '/' ("/" when none). */
static size_t
dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? (size_t)(slash - path) + 1 : 1;
}

/*
 * c's scope from url, the start URL (c->start parsed from it): the base
 * its pages' links are stored after (url to its directory) and the
 * directory whose paths are followed.
 */
static void
scope_set(struct crawl *c, const char *url)
{
	size_t n;

	n = strcspn(url, "?#");
	while (n > 0 && url[n - 1] != '/')
		n--;
	snprintf(c->base, sizeof(c->base), "%.*s", (int)n, url);
	n = dir_len(c->start.path);
	snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int)n,
	    n > 1 ? c->start.path : "/");
}

/*
 * robots.txt of c->start's origin fetched, before anything it may
 * forbid (the pump waits for it); out of memory, everything allowed.
 */
static void
robots_ask(struct crawl *c)
{
	char robots[2048 + 64];
	struct pending *p;

	snprintf(robots, sizeof(robots), strchr(c->start.host, ':') != NULL ?
	    "%s://[%s]:%d/robots.txt" : "%s://%s:%d/robots.txt",
	    c->start.scheme, c->start.host, c->start.port);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->url = strdup(robots)) == NULL) {
		free(p);
		c->robots_done = 1;	/* everything allowed */
		return;
	}
	c->robots_done = 0;
	p->kind = F_ROBOTS;
	fetch_start(c, p);
}

/*
 * The start URL answered from url, where its own redirects led it (a
 * start_twin of it: http to https, www., a trailing slash): the crawl's
 * scope is url's origin and directory from now on, as if the source
 * named it, and that origin's robots.txt is read before any other page
 * is asked (the start page, read already, stays). Nothing for a start
 * that did not move.
 */
static void
crawl_rescope(struct crawl *c, const char *url)
{
	struct url_target t;
	const char *why, *o;
	size_t an, n;
	int moved;

	if (urlpol_parse(url, &t, &why) < 0)
		return;
	moved = strcmp(t.scheme, c->start.scheme) != 0 ||
	    strcasecmp(t.host, c->start.host) != 0 || t.port != c->start.port;
	log_info("knowledge source %s: its start URL moved to %s: crawled "
	    "there", c->job.id, url);
	c->start = t;
	scope_set(c, url);
	/*
	 * Landed under the directory asked for (the site's root led to
	 * "/en/"), the crawl keeps that directory, on the new origin; but
	 * for the start with a slash added ("/docs" to "/docs/"), whose
	 * directory is the one it landed in.
	 */
	an = dir_len(c->asked.path);
	n = strlen(c->asked.path);
	if (strncmp(t.path, c->asked.path, an) == 0 && !(strlen(t.path) ==
	    n + 1 && strncmp(t.path, c->asked.path, n) == 0 &&
	    t.path[n] == '/') && (o = strstr(url, "://")) != NULL) {
		o += 3;
		o += strcspn(o, "/?#");
		snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int)an,
		    c->asked.path);
		snprintf(c->base, sizeof(c->base), "%.*s%s", (int)(o - url),
		    url, c->prefix);
	}
	if (moved) {
		robots_free(&c->robots);
		robots_ask(c);
	}
}

/* A file source's file: read as its one page. */
static void
file_got(const struct storec_result *r, void *arg)
{
	struct fetch *f = arg;
	struct crawl *c = f->cr;
	struct st_kb_file file;

	f->req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_KB_FILE_GET, &file) < 0) {
		c->start_failed = 1;
		crawl_fail(c, "file", storec_why(r));
		fetch_free(f);
		return;
	}
	/* Its bytes are the reply's: copied before the callback ends. */
	strlcpy(f->ctype, file.content_type, sizeof(f->ctype));
	buf_add(&f->body, file.data.p, file.data.len);
	st_rep_free(PROTO_ST_KB_FILE_GET, &file);
	f->code = 200;
	if (f->body.err) {
		page_put(f, 0, "", NULL, 0, "out of memory", NULL, 0);
		return;
	}
	page_answered(f);
}

/* The validators of f's page known (or none): its GET. */
static void
validators_got(const struct storec_result *r, void *arg)
{
	struct fetch *f = arg;
	struct st_kb_file_get_req q;

	/* `not found`: a page not stored yet, fetched whole. */
	f->req = NULL;
	if (r->status == STOREC_OK &&
	    storec_decode(r, PROTO_ST_KB_PAGE_GET, &f->old) == 0)
		f->had_old = 1;
	if (f->kind == F_FILE) {
		strlcpy(q.source_id, f->cr->job.id, sizeof(q.source_id));
		q.sync_id = f->cr->job.sync_id;
		if (storec_ask(NULL, PROTO_ST_KB_FILE_GET, &q, file_got, f,
		    &f->req) < 0)
			fetch_free(f);
		return;
	}
	if (fetch_curl(f) < 0) {
		log_warnx("knowledge page %s: cannot start the transfer",
		    f->url);
		fetch_free(f);
	}
}

/* A fetch of p started (p freed). */
static void
fetch_start(struct crawl *c, struct pending *p)
{
	struct st_kb_page_get_req q;
	struct fetch *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		free(p->url);
		free(p);
		return;
	}
	f->cr = c;
	f->kind = p->kind;
	f->url = p->url;
	f->depth = p->depth;
	f->start = p->start;
	free(p);
	buf_init(&f->body);
	TAILQ_INSERT_TAIL(&c->fetches, f, entry);
	c->inflight++;
	if (f->kind == F_PAGE || f->kind == F_FILE)
		c->pages++;
	if (f->kind != F_PAGE && f->kind != F_FILE) {
		if (fetch_curl(f) < 0)
			fetch_free(f);
		return;
	}
	strlcpy(q.source_id, c->job.id, sizeof(q.source_id));
	q.url = f->url;
	if (storec_ask(NULL, PROTO_ST_KB_PAGE_GET, &q, validators_got, f,
	    &f->req) < 0)
		fetch_free(f);
}

/* ------------------------------------------------------------ the pump */

/*
 * The next URL robots.txt lets us fetch, or NULL. A start URL it
 * forbids fails the sync.
 */
static struct pending *
todo_next(struct crawl *c)
{
	struct pending *p;

	while ((p = TAILQ_FIRST(&c->todo)) != NULL) {
		TAILQ_REMOVE(&c->todo, p, entry);
		c->ntodo--;
		if (p->kind != F_PAGE || robots_ok(c, p->url))
			return p;	/* robots.txt is a site's: not a file's */
		if (p->start) {
			c->start_failed = 1;
			crawl_fail(c, "start URL", "disallowed by robots.txt");
		}
		free(p->url);
		free(p);
	}
	return NULL;
}

static void
crawl_pump(void *arg)
{
	struct crawl *c = arg;
	uint64_t now = loop_now();
	unsigned most = c->robots.delay_ms > 0 ? 1 : c->conf.inflight;
	struct pending *p;

	if (c->ending || c->stopped)
		return;
	if (now >= c->deadline && !c->cut && !TAILQ_EMPTY(&c->todo)) {
		c->cut = 1;
		crawl_fail(c, "sync", "stopped at its time bound");
	}
	while (c->robots_done && !c->cut && c->inflight < most &&
	    c->pages < c->conf.max_pages) {
		if (c->robots.delay_ms > 0 && now < c->next_start) {
			loop_timer_at(&c->tm, c->next_start);
			return;
		}
		if ((p = todo_next(c)) == NULL)
			break;
		c->next_start = now + c->robots.delay_ms;
		fetch_start(c, p);
		if (c->stopped)
			return;
	}
	if (c->inflight == 0 && (TAILQ_EMPTY(&c->todo) || c->cut ||
	    c->pages >= c->conf.max_pages)) {
		c->ending = 1;
		ask_done(c);
	} else if (c->inflight > 0 && !loop_timer_armed(&c->tm))
		loop_timer_at(&c->tm, c->deadline);
}

static void
crawl_tick(void *arg)
{
	crawl_pump(arg);
}

/* A crawl of nothing yet under conf, its end told done(arg); NULL. */
static struct crawl *
crawl_new(const struct crawl_conf *conf, void (*done)(void *), void *arg)
{
	struct crawl *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->conf = *conf;
	c->done = done;
	c->arg = arg;
	TAILQ_INIT(&c->todo);
	TAILQ_INIT(&c->fetches);
	loop_defer_init(&c->pump, crawl_pump, c);
	loop_timer_init(&c->tm, crawl_tick, c);
	c->deadline = loop_now() + c->conf.time_ms;
	return c;
}

struct crawl *
crawl_start(struct st_kb_job *job, const struct crawl_conf *conf,
    void (*done)(void *), void *arg)
{
	struct pending *p;
	struct crawl *c;
	const char *why;
	uint32_t i;

	if ((c = crawl_new(conf, done, arg)) == NULL)
		return NULL;	/* the job still its owner's */
	c->job = job->s;
	c->spaces = job->spaces;
	c->nspaces = job->nspaces;
	memset(job, 0, sizeof(*job));
	for (i = 0; i < c->nspaces; i++)
		embed_conf_own(&c->econf[i], EMBED_FOR_PAGES,
		    c->spaces[i].base_url, c->spaces[i].api_key,
		    c->spaces[i].model, c->job.org);
	if (c->job.max_pages > 0 && c->job.max_pages < c->conf.max_pages)
		c->conf.max_pages = c->job.max_pages;
	if (c->job.max_depth > 0 && c->job.max_depth < c->conf.max_depth)
		c->conf.max_depth = c->job.max_depth;
	log_info("knowledge source %s: sync %llu of %s", c->job.id,
	    (unsigned long long)c->job.sync_id, c->job.url);
	/* A file: its one page, by its name, no robots.txt. */
	if (c->job.source_type == ST_KB_FILE) {
		c->robots_done = 1;
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (p->url = strdup(c->job.url)) == NULL) {
			free(p);
			c->start_failed = 1;
			crawl_fail(c, "file", "out of memory");
		} else {
			p->kind = F_FILE;
			p->start = 1;
			TAILQ_INSERT_TAIL(&c->todo, p, entry);
			c->ntodo++;
		}
		loop_defer(&c->pump);
		return c;
	}
	if (urlpol_parse(c->job.url, &c->start, &why) < 0) {
		c->start_failed = 1;
		crawl_fail(c, "start URL", why);
		c->robots_done = 1;
		loop_defer(&c->pump);
		return c;
	}
	c->asked = c->start;
	scope_set(c, c->job.url);
	p = todo_add(c, c->job.url, 0, sitemap_path(c->start.path) ?
	    F_SITEMAP : F_PAGE);
	if (p != NULL)
		p->start = 1;
	robots_ask(c);
	loop_defer(&c->pump);
	return c;
}

/*
 * rec (reading_sync's line) parsed into c's job and f: kind into kind.
 * 0, or -1 (not such a line).
 */
static int
spun_parse(const char *rec, struct crawl *c, struct fetch *f,
    char kind[16])
{
	char id[ST_KB_SOURCE_ID_LEN + 2];
	unsigned long long sync;
	int n = 0;
	size_t len;

	if (sscanf(rec, "%15[^\t]\t%36[^\t]\t%llu\t%ld\t%64[^\t]\t%n", kind,
	    id, &sync, &f->code, f->hash, &n) != 5 || n == 0 ||
	    !st_kbsource_id_valid(id) || (len = strcspn(rec + n, "\n")) == 0 ||
	    len > ST_KB_URL_MAX || (f->url = strndup(rec + n, len)) == NULL)
		return -1;
	_Static_assert(ST_KB_SOURCE_ID_LEN + 1 == 36, "%36[ above");
	_Static_assert(ST_KB_HASH_HEX == 64, "%64[ above");
	strlcpy(c->job.id, id, sizeof(c->job.id));
	c->job.sync_id = sync;
	if (strcmp(f->hash, "-") == 0)
		f->hash[0] = '\0';
	return 0;
}

size_t
crawl_sync_record(const struct crawl *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "sync\t%s\t%llu\t0\t-\t-\n", c->job.id,
	    (unsigned long long)c->job.sync_id);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}


struct crawl *
crawl_recover(const char *rec, const struct crawl_conf *conf,
    unsigned cpu_s, void (*done)(void *), void *arg)
{
	char kind[16], why[64];
	struct crawl *c;
	struct fetch *f;

	if ((c = crawl_new(conf, done, arg)) == NULL)
		return NULL;
	c->robots_done = 1;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		crawl_free(c);
		return NULL;
	}
	f->cr = c;
	f->kind = F_PAGE;
	buf_init(&f->body);
	TAILQ_INSERT_TAIL(&c->fetches, f, entry);
	c->inflight++;
	/* A crash's record starts with "!" (fetcher.c's on_fatal). */
	if (spun_parse(rec + (rec[0] == '!'), c, f, kind) < 0) {
		log_warnx("the last fetcher's record of what it read: not "
		    "understood");
		crawl_free(c);
		return NULL;
	}
	if (strcmp(kind, "sync") == 0) {
		/* It ended between readings (crawl_sync_record): again. */
		log_warnx("knowledge source %s: its sync ended with the "
		    "fetcher: taken again", c->job.id);
		c->again = 1;
		fetch_free(f);
		return c;
	}
	if (rec[0] == '!')
		snprintf(why, sizeof(why), "%s", SPUN_CRASH);
	else
		snprintf(why, sizeof(why), SPUN_ERROR, cpu_s);
	log_warnx("knowledge source %s: %s %s: %s", c->job.id, kind, f->url,
	    why);
	if (strcmp(kind, "page") == 0 || strcmp(kind, "file") == 0) {
		/* Its page failed, the sync taken again at once. */
		c->again = 1;
		page_put(f, 0, "", NULL, 0, why, NULL, 0);
		return c;
	}
	/* A sitemap or robots.txt: the sync fails. */
	c->start_failed = 1;
	snprintf(c->why, sizeof(c->why), "%s %.100s: %s", kind, f->url, why);
	fetch_free(f);
	return c;
}
