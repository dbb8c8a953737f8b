/*
 * A widget's embed looked for on the owner's page (the Setup panel's
 * "Check my page"): a mistyped data-widget id shows no chat and no error.
 *
 *	POST /v1/admin/widgets/:wid/check-page	{"url": "https://..."}
 *		-> 200 {"url", "status", "found", "tags", "truncated", "message"}
 *
 * The widget is found first (404 for none of who asks's organisation,
 * whatever the body), then the body is judged (400: its Content-Type, its
 * JSON, its url), then the page fetched: one GET on this
 * module's own multi handle of libcurl on the worker's loop
 * (net/curlloop.c), at most PAGE_MAX bytes read (then it stops and what
 * came is searched), PAGE_MS in all, at most REDIRECTS_MAX redirects, no
 * cookies, no proxy from the environment, a User-Agent naming Parley.
 * The address policy is the knowledge crawler's (net/urlpolicy.h): a
 * loopback, private or link-local literal or a name under "localhost" is
 * refused here, and every address curl connects to, a redirect's too, is
 * checked as it connects, unless the caller is of the default
 * organisation and PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on: a refusal is 400
 * naming that setting. Any other failure to get the page (DNS, refused,
 * TLS, timeout, too many redirects, not HTML) is 502.
 *
 * The page is read by fetch/pagetags.c (libxml2's HTML parser): its
 * Parley tags, and whether one is this widget's.
 * The client leaving stops the fetch (c->abort).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "admin.h"
#include "curlloop.h"
#include "html.h"
#include "mediatype.h"
#include "pagetags.h"
#include "urlpolicy.h"
#include "version.h"
#include "orgslots.h"
#include "widgetmsg.h"
#include "workerd.h"

#define PAGE_MAX	(1u << 20)	/* bytes of the page read */
#define PAGE_MS		10000		/* the fetch, all of it */
#define REDIRECTS_MAX	5
#define CHECKS_MAX	8		/* fetches in flight in this worker */
/* Of them, one organisation's: its slow pages never take every slot. */
#define CHECKS_ORG_MAX	2
#define WID_BUF		64		/* a public widget id, and room */


static const char private_why[] = "url: resolves to a private, loopback or "
    "link-local address (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on allows it for "
    "the default organisation)";
static const char private_redirect_why[] = "url: redirects to a private, "
    "loopback or link-local address (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on "
    "allows it for the default organisation)";

/* A check under way: its widget, its URL, its fetch. */
struct page_check {
	struct curlloop_xfer x;	/* first: curlloop hands it back */
	struct conn *c;
	char wid[WID_BUF];	/* the widget's public id */
	char *url;		/* as given; NULL when the body had none */
	const char *bad;	/* the body's fault, told once the widget is found */
	struct urlpol_guard guard;	/* each address held to it; refused */
	int inflight;		/* counted in checks, as org's */
	char org[ST_ORG_ID_MAX + 1];	/* who asks's organisation */
	/* what came */
	struct fetch_text page;
	char ctype[128];
	char err[CURL_ERROR_SIZE];
	int cut, not_html, nomem;
};

static struct curlloop cloop = CURLLOOP_INIT("pagecheck");
static struct orgslots checks = ORGSLOTS_INIT(CHECKS_MAX, CHECKS_ORG_MAX);

/* ------------------------------------------------------------ the state */

static void
check_free(void *p)
{
	struct page_check *pc = p;

	if (pc == NULL)
		return;
	if (pc->x.easy != NULL) {
		curlloop_remove(&cloop, &pc->x);
		curl_easy_cleanup(pc->x.easy);
	}
	if (pc->inflight)
		orgslots_put(&checks, pc->org);
	fetch_text_free(&pc->page);
	free(pc->url);
	free(pc);
}

/* Answers c with an error and frees its check. */
static void
check_fail(struct conn *c, int status, const char *why)
{
	check_free(conn_take(c));
	conn_send_error(c, status, admin_headers, why);
}

/* ------------------------------------------------------------ the page */

/* 1 when a Content-Type (without parameters) is HTML's; none is taken as HTML. */
static int
ctype_html(const char *ct)
{
	return strcspn(ct, "; \t") == 0 || mediatype_is(ct, "text/html") ||
	    mediatype_is(ct, "application/xhtml+xml");
}

/* The charset a Content-Type names, unquoted, into out ("" none). */
static void
ctype_charset(const char *ct, char *out, size_t outsz)
{
	const char *p, *q;
	size_t n = mediatype_charset(ct, &p);

	out[0] = '\0';
	if (n > 0 && *p == '"') {
		p++;
		n--;
	}
	if ((q = memchr(p, '"', n)) != NULL)
		n = (size_t)(q - p);
	if (n > 0 && n < outsz) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

/* ---------------------------------------------------------- the answer */

/* The sentence for the owner into buf. */
static void
tags_message(const struct page_tags *t, const char *wid, long status,
    int cut, char *buf, size_t bufsz)
{
	char http[64] = "";

	if (status < 200 || status > 299)
		snprintf(http, sizeof(http), " It answered HTTP %ld: is this "
		    "the right address?", status);
	if (t->found)
		snprintf(buf, bufsz, "The page has the embed tag for this "
		    "widget (%s).", wid);
	else if (t->other != NULL)
		snprintf(buf, bufsz, "The page has a Parley tag for another "
		    "id: %s, the widget's id is %s. Copy the embed tag again "
		    "into the page.", t->other, wid);
	else if (t->bare)
		snprintf(buf, bufsz, "The page loads Parley's widget script, "
		    "but its tag has no data-widget attribute: add "
		    "data-widget=\"%s\" to it.", wid);
	else
		snprintf(buf, bufsz, "No Parley tag on that page.%s", http);
	if (cut)
		strlcat(buf, " Only its first 1 MiB was read.", bufsz);
}

static json_t *
tags_json(const struct page_tags *t)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a != NULL && i < t->n; i++) {
		o = json_pack("{s:s?, s:s?}", "data_widget",
		    t->tag[i].data_widget, "src", t->tag[i].src);
		if (o == NULL || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The page read: 200 with what it holds (c's check freed by the caller). */
static void
check_answer(struct conn *c, struct page_check *pc, const char *final,
    long status)
{
	char charset[48], msg[1024], why[160];
	struct page_tags t;
	const char *bad;
	json_t *o, *tags;
	char *url;

	ctype_charset(pc->ctype, charset, sizeof(charset));
	if (page_tags_find(pc->page.p != NULL ? pc->page.p : "", pc->page.len,
	    charset, pc->wid, &t, &bad) < 0) {
		snprintf(why, sizeof(why), "url: could not fetch it: %s", bad);
		conn_send_error(c, strcmp(bad, "out of memory") == 0 ? 500 :
		    502, admin_headers, why);
		return;
	}
	tags_message(&t, pc->wid, status, pc->cut, msg, sizeof(msg));
	if ((url = fetch_clean_line(final, strlen(final), 2 *
	    URLPOL_URL_MAX)) == NULL && (url = strdup(pc->url)) == NULL) {
		page_tags_free(&t);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	tags = tags_json(&t);
	o = tags == NULL ? NULL : json_pack("{s:s, s:i, s:b, s:o, s:b, s:s}",
	    "url", url, "status", (int)status, "found", t.found, "tags", tags,
	    "truncated", pc->cut, "message", msg);
	free(url);
	page_tags_free(&t);
	if (o == NULL)
		conn_send_error(c, 500, admin_headers, "Internal server error");
	else
		conn_send_json(c, 200, admin_headers, o);
}

/* Why the fetch failed (rc), for a 502 "url: could not fetch it: ...". */
static void
fetch_why(const struct page_check *pc, CURLcode rc, char *buf, size_t bufsz)
{
	const char *what;

	if (pc->not_html)
		snprintf(buf, bufsz, "url: could not fetch it: not an HTML "
		    "page (Content-Type: %.60s)", pc->ctype);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(buf, bufsz, "url: could not fetch it: no whole answer "
		    "within %d s", PAGE_MS / 1000);
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		snprintf(buf, bufsz, "url: could not fetch it: more than %d "
		    "redirects", REDIRECTS_MAX);
	else {
		what = pc->err[0] != '\0' ? pc->err : curl_easy_strerror(rc);
		snprintf(buf, bufsz, "url: could not fetch it: %s", what);
	}
}

/* The fetch ended (outside curl's callbacks): the answer. */
static void
check_ended(struct curlloop_xfer *x, CURLcode rc)
{
	struct page_check *pc = (struct page_check *)(void *)x;
	struct conn *c = pc->c;
	char why[CURL_ERROR_SIZE + 64], *eff = NULL, *ct = NULL, *final;
	long status = 0, redirects = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
	/* A page without bytes: its type was not seen by write_cb. */
	if (rc == CURLE_OK && pc->ctype[0] == '\0' &&
	    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) ==
	    CURLE_OK && ct != NULL)
		strlcpy(pc->ctype, ct, sizeof(pc->ctype));
	/* The effective URL is the handle's: kept past its cleanup. */
	final = strdup(eff != NULL ? eff : pc->url);
	curlloop_remove(&cloop, x);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	pc = conn_take(c);
	/* Stopped at PAGE_MAX on purpose: what was read is searched. */
	if (rc == CURLE_WRITE_ERROR && pc->cut && !pc->nomem && !pc->not_html)
		rc = CURLE_OK;
	if (final == NULL || pc->nomem)
		conn_send_error(c, 500, admin_headers, "Internal server error");
	else if (rc != CURLE_OK && pc->guard.refused)
		conn_send_error(c, 400, admin_headers, redirects > 0 ?
		    private_redirect_why : private_why);
	else if (rc != CURLE_OK || !ctype_html(pc->ctype)) {
		pc->not_html |= !ctype_html(pc->ctype);
		fetch_why(pc, rc, why, sizeof(why));
		conn_send_error(c, 502, admin_headers, why);
	} else
		check_answer(c, pc, final, status);
	free(final);
	check_free(pc);
}

/* --------------------------------------------------------- curl's calls */

/*
 * The page's bytes, kept up to PAGE_MAX (then the transfer stops: cut);
 * a page that says it is not HTML stops at its first bytes.
 */
static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct page_check *pc = arg;
	size_t n = size * nmemb, room = PAGE_MAX - pc->page.len;
	char *ct = NULL;

	if (pc->page.len == 0 && pc->ctype[0] == '\0' &&
	    curl_easy_getinfo(pc->x.easy, CURLINFO_CONTENT_TYPE, &ct) ==
	    CURLE_OK && ct != NULL) {
		strlcpy(pc->ctype, ct, sizeof(pc->ctype));
		if (!ctype_html(pc->ctype)) {
			pc->not_html = 1;
			return 0;
		}
	}
	if (n > room) {
		pc->cut = 1;
		n = room;
	}
	if (n > 0 && fetch_text_put(&pc->page, p, n) < 0) {
		pc->nomem = 1;
		return 0;
	}
	return pc->cut ? 0 : n;
}

/* pc's GET set up and started: 0, or -1. */
static int
check_start(struct page_check *pc)
{
	char ua[96];
	CURL *e;
	int bad = 0;

	if (curlloop_init(&cloop, 0) < 0)
		return -1;
	if ((e = pc->x.easy = curl_easy_init()) == NULL)
		return -1;
	pc->x.done = check_ended;
	snprintf(ua, sizeof(ua), "Parley/%s (page check)", parley_version);
#define SET(opt, v)	(bad |= curl_easy_setopt(e, (opt), (v)) != CURLE_OK)
	SET(CURLOPT_URL, pc->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, (long)REDIRECTS_MAX);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_TIMEOUT_MS, (long)PAGE_MS);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)PAGE_MS);
	SET(CURLOPT_USERAGENT, ua);
	SET(CURLOPT_ERRORBUFFER, pc->err);
#undef SET
	bad |= urlpol_curl_io(e, &pc->guard, write_cb, pc) < 0;
	if (bad || curlloop_add(&cloop, &pc->x) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ handlers */

static const struct storec_answer check_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Widget not found" },
	{ 0, 0, NULL },
};

/* The widget found: the URL judged, then fetched. */
static void
widget_got(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct page_check *pc = c->hctx;
	struct st_widget w;
	struct url_target t;
	const char *why;

	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_WIDGET_GET, &w) < 0) {
		check_free(conn_take(c));
		admin_answer(c, r, PROTO_ST_WIDGET_GET, 200, NULL,
		    check_errors);
		return;
	}
	st_rep_free(PROTO_ST_WIDGET_GET, &w);
	if (pc->bad != NULL) {
		check_fail(c, 400, pc->bad);
		return;
	}
	if (urlpol_parse(pc->url, &t, &why) < 0) {
		check_fail(c, 400, why);
		return;
	}
	pc->guard.allow_private = urlpol_private_ok(c->who.org, t.host,
	    wsettings.knowledge_allow_private, NULL);
	if (!pc->guard.allow_private && urlpol_check_literal(&t, &why) < 0) {
		check_fail(c, 400, private_why);
		return;
	}
	strlcpy(pc->org, c->who.org, sizeof(pc->org));
	switch (orgslots_take(&checks, pc->org)) {
	case ORGSLOTS_FULL:
		check_fail(c, 503, "Too many pages being checked; try again");
		return;
	case ORGSLOTS_ORG_FULL:
		check_fail(c, 503, "Too many of this organization's pages "
		    "being checked; try again");
		return;
	case ORGSLOTS_TAKEN:
		pc->inflight = 1;
		break;
	}
	if (check_start(pc) < 0) {
		check_fail(c, 500, "Internal server error");
		return;
	}
	c->abort_on_eof = 1;
}

/*
 * The body's url copied into pc->url, or its fault (its Content-Type, its
 * JSON, its shape) in pc->bad. 0, or -1 out of memory.
 */
static int
body_take(struct page_check *pc, struct http_request *req)
{
	json_t *root, *u;
	int rc = 0;

	if ((root = admin_json_parse(req, &pc->bad)) == NULL)
		return 0;
	u = json_object_get(root, "url");
	if (!json_is_object(root))
		pc->bad = "body: must be a JSON object";
	else if (u == NULL)
		pc->bad = "url: required";
	else if (!json_is_string(u))
		pc->bad = "url: must be a string";
	else if ((pc->url = strdup(json_string_value(u))) == NULL)
		rc = -1;
	json_decref(root);
	return rc;
}

/* POST /v1/admin/widgets/:wid/check-page */
void
widgets_check_page(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_id_req one;
	struct page_check *pc;

	if ((one.id = admin_path_id(c, m, widget_id_valid,
	    "Widget not found")) == NULL)
		return;
	if ((pc = calloc(1, sizeof(*pc))) == NULL || body_take(pc, req) < 0) {
		check_free(pc);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	pc->c = c;
	strlcpy(pc->wid, one.id, sizeof(pc->wid));
	conn_hold(c, pc, check_free);
	if (storec_ask(&c->who, PROTO_ST_WIDGET_GET, &one, widget_got, c,
	    &c->sreq) < 0)
		check_fail(c, 503, "Storage unavailable");
}

void
widgets_check_page_shutdown(void)
{
	curlloop_shutdown(&cloop);
}
