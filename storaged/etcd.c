/*
 * etcd's v3 HTTP/JSON gateway through libcurl and jansson (etcd.h): the
 * requests as JSON bodies, the replies parsed into plain structs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "etcd.h"

/* Connecting to one endpoint never takes longer than this. */
#define CONNECT_MS_MAX	1000

struct etcd {
	CURL *curl;
	struct curl_slist *headers;
	char *eps[ETCD_ENDPOINTS_MAX];
	size_t neps, ep;		/* the endpoint in use */
	char *rep;			/* the reply being read */
	size_t replen;
	int over;			/* it passed ETCD_REPLY_MAX */
	int https;
	char cerr[CURL_ERROR_SIZE];	/* curl's detail of a failure (TLS) */
	char err[ETCD_ERR_MAX];
};

/* ------------------------------------------------------------ base64 */

/* Base64 of n bytes of in, into a new string; NULL when out of memory. */
static char *
b64_encode(const char *in, size_t n)
{
	char *out;

	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)n);
	return out;
}

/* Base64 text s into out (outsz with its NUL): 0, or -1 (bad, too long, a NUL inside). */
static int
b64_decode(const char *s, char *out, size_t outsz)
{
	unsigned char tmp[ETCD_VALUE_MAX + 3];
	size_t len = strlen(s), pad = 0;
	int n;

	if (len % 4 != 0 || len / 4 * 3 > sizeof(tmp))
		return -1;
	if (len > 0 && s[len - 1] == '=')
		pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
	if ((n = EVP_DecodeBlock(tmp, (const unsigned char *)s,
	    (int)len)) < 0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	if ((size_t)n >= outsz || memchr(tmp, '\0', (size_t)n) != NULL)
		return -1;
	memcpy(out, tmp, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------ replies */

/*
 * A 64-bit number the gateway writes as a string ("42"), or a JSON
 * integer; an absent field is 0 (the gateway omits zeros). 0 or -1.
 */
static int
get_i64(const json_t *o, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	const char *s, *p;
	int64_t n = 0;
	int neg = 0;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) ||
		    n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*out = neg ? -n : n;
	return 0;
}

/* A reply's object; NULL when it is not one (flags: jansson's). */
static json_t *
load(const char *buf, size_t len, size_t flags)
{
	json_t *j;

	if ((j = json_loadb(buf, len, flags, NULL)) == NULL)
		return NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The store's revision in a reply's header. 0 or -1. */
static int
header_rev(const json_t *j, int64_t *rev)
{
	const json_t *h = json_object_get(j, "header");

	if (!json_is_object(h))
		return -1;
	return get_i64(h, "revision", rev);
}

int
etcd_parse_grant(const char *buf, size_t len, int64_t *id)
{
	json_t *j;
	int rc = -1;

	if ((j = load(buf, len, 0)) == NULL)
		return -1;
	if (get_i64(j, "ID", id) == 0 && *id != 0)
		rc = 0;
	json_decref(j);
	return rc;
}

/*
 * The keepalive endpoint streams: {"result": {...}} per renewal, one here
 * (the request body held one). A result without a TTL: the lease is gone.
 * A TTL past etcd's own longest is no reply of etcd's (and its
 * milliseconds would overflow).
 */
int
etcd_parse_keepalive(const char *buf, size_t len, int64_t *ttl_s)
{
	json_t *j, *r;
	int rc = -1;

	if ((j = load(buf, len, JSON_DISABLE_EOF_CHECK)) == NULL)
		return -1;
	r = json_object_get(j, "result");
	if (json_is_object(r) && get_i64(r, "TTL", ttl_s) == 0 &&
	    *ttl_s >= 0 && *ttl_s <= ETCD_TTL_MAX)
		rc = *ttl_s > 0;
	json_decref(j);
	return rc;
}

/* One pair of a range. 0 or -1. */
static int
parse_kv(const json_t *o, struct etcd_kv *kv)
{
	const json_t *k = json_object_get(o, "key");
	const json_t *v = json_object_get(o, "value");

	if (!json_is_object(o) || !json_is_string(k) ||
	    (v != NULL && !json_is_string(v)))
		return -1;
	if (b64_decode(json_string_value(k), kv->key, sizeof(kv->key)) < 0 ||
	    b64_decode(v != NULL ? json_string_value(v) : "", kv->value,
	    sizeof(kv->value)) < 0)
		return -1;
	if (get_i64(o, "create_revision", &kv->create_rev) < 0 ||
	    get_i64(o, "mod_revision", &kv->mod_rev) < 0 ||
	    get_i64(o, "lease", &kv->lease) < 0)
		return -1;
	return 0;
}

int
etcd_parse_range(const char *buf, size_t len, struct etcd_range *out)
{
	json_t *j, *kvs;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((j = load(buf, len, 0)) == NULL)
		return -1;
	if (header_rev(j, &out->rev) < 0)
		goto done;
	kvs = json_object_get(j, "kvs");
	if (kvs != NULL && (!json_is_array(kvs) ||
	    json_array_size(kvs) > ETCD_KVS_MAX))
		goto done;
	for (i = 0; i < json_array_size(kvs); i++) {
		if (parse_kv(json_array_get(kvs, i), &out->kvs[i]) < 0)
			goto done;
		out->n++;
	}
	rc = 0;
done:
	json_decref(j);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
etcd_parse_txn(const char *buf, size_t len, int64_t *rev)
{
	json_t *j, *ok;
	int rc = -1;

	if ((j = load(buf, len, 0)) == NULL)
		return -1;
	ok = json_object_get(j, "succeeded");
	if (header_rev(j, rev) == 0 && (ok == NULL || json_is_boolean(ok)))
		rc = ok != NULL && json_is_true(ok);
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------ requests */

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct etcd *e = arg;
	char *nb;

	n *= size;
	if (e->replen + n > ETCD_REPLY_MAX) {
		e->over = 1;
		return 0;
	}
	if ((nb = realloc(e->rep, e->replen + n + 1)) == NULL)
		return 0;
	e->rep = nb;
	memcpy(e->rep + e->replen, p, n);
	e->replen += n;
	e->rep[e->replen] = '\0';
	return n;
}

/* The message of an error reply ({"error": "...", "message": "..."}). */
static void
reply_error(struct etcd *e, long status)
{
	json_t *j = load(e->rep != NULL ? e->rep : "", e->replen, 0);
	const char *m = json_string_value(json_object_get(j, "message"));

	snprintf(e->err, sizeof(e->err), "%s: HTTP %ld%s%.160s",
	    e->eps[e->ep], status, m != NULL ? ": " : "", m != NULL ? m : "");
	json_decref(j);
}

/* The next call goes to the next endpoint (a failed one was asked). */
static void
next_endpoint(struct etcd *e)
{
	e->ep = (e->ep + 1) % e->neps;
}

/*
 * A failure whose detail in curl's buffer says what TLS refused on our
 * side (etcd's certificate, our files), the same at every try: worth the
 * log. Not others: a connect's carries times, and a receive's may be an
 * earlier harmless note (the buffer keeps the first), either of which
 * would make each poll's line new. etcd refusing our certificate is a
 * receive error (its alert).
 */
static int
tls_detail(CURLcode cc)
{
	return cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE;
}

/*
 * POSTs req (taken) to path of the endpoint in use: the HTTP status,
 * the body in e->rep; -1 when no answer came (e->err says why). After
 * anything but a 200 the next call goes to the next endpoint: a member
 * that answers an error (a learner's 503 "rpc not supported", one that
 * lost its leader) would be asked for ever, the others never.
 */
static long
post(struct etcd *e, const char *path, json_t *req, int timeout_ms)
{
	char url[512], *body = NULL;
	long status = -1;
	CURLcode cc;

	e->replen = 0;
	e->over = 0;
	e->cerr[0] = '\0';
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		goto done;
	}
	if (timeout_ms < 1)
		timeout_ms = 1;
	snprintf(url, sizeof(url), "%s%s", e->eps[e->ep], path);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < CONNECT_MS_MAX ? timeout_ms : CONNECT_MS_MAX));
	if ((cc = curl_easy_perform(e->curl)) != CURLE_OK) {
		snprintf(e->err, sizeof(e->err), "%s: %.160s%s", e->eps[e->ep],
		    e->over ? "reply too long" : tls_detail(cc) &&
		    e->cerr[0] != '\0' ? e->cerr : curl_easy_strerror(cc),
		    e->https && (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) ?
		    " (does etcd take PARLEY_CLUSTER_CERT?)" : "");
		next_endpoint(e);
		goto done;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		e->err[0] = '\0';
	else {
		reply_error(e, status);
		next_endpoint(e);
	}
done:
	free(body);
	json_decref(req);
	return status;
}

/*
 * Marks a 200 whose body the parser refused; the next call goes to the
 * next endpoint. Returns -1.
 */
static int
malformed(struct etcd *e, const char *what)
{
	snprintf(e->err, sizeof(e->err), "%s: a %s reply we cannot read",
	    e->eps[e->ep], what);
	next_endpoint(e);
	return -1;
}

int
etcd_grant(struct etcd *e, int ttl_s, int timeout_ms, int64_t *id)
{
	if (post(e, "/v3/lease/grant", json_pack("{s:i}", "TTL", ttl_s),
	    timeout_ms) != 200)
		return -1;
	if (etcd_parse_grant(e->rep, e->replen, id) < 0)
		return malformed(e, "grant");
	return 0;
}

int
etcd_keepalive(struct etcd *e, int64_t id, int timeout_ms, int64_t *ttl_s)
{
	char s[24];
	int rc;

	snprintf(s, sizeof(s), "%lld", (long long)id);
	if (post(e, "/v3/lease/keepalive", json_pack("{s:s}", "ID", s),
	    timeout_ms) != 200)
		return -1;
	if ((rc = etcd_parse_keepalive(e->rep, e->replen, ttl_s)) < 0)
		return malformed(e, "keepalive");
	return rc;
}

int
etcd_revoke(struct etcd *e, int64_t id, int timeout_ms)
{
	char s[24];
	long status;

	snprintf(s, sizeof(s), "%lld", (long long)id);
	status = post(e, "/v3/lease/revoke", json_pack("{s:s}", "ID", s),
	    timeout_ms);
	/* 404: "requested lease not found", gone already. */
	return status == 200 || status == 404 ? 0 : -1;
}

/* {"key": base64 of key}; NULL when out of memory. */
static json_t *
keyed(const char *key)
{
	char *k = b64_encode(key, strlen(key));
	json_t *j = k != NULL ? json_pack("{s:s}", "key", k) : NULL;

	free(k);
	return j;
}

int
etcd_range(struct etcd *e, const char *prefix, int timeout_ms,
    struct etcd_range *out)
{
	char end[ETCD_KEY_MAX], *b;
	size_t n = strlen(prefix);
	json_t *req;

	/* The keys from prefix up to (not with) prefix's last byte plus one. */
	if (n == 0 || n >= sizeof(end) || (unsigned char)prefix[n - 1] == 0xff)
		return -1;
	memcpy(end, prefix, n + 1);
	end[n - 1]++;
	req = keyed(prefix);
	if (req == NULL || (b = b64_encode(end, n)) == NULL) {
		json_decref(req);
		return -1;
	}
	json_object_set_new(req, "range_end", json_string(b));
	json_object_set_new(req, "limit", json_integer(ETCD_KVS_MAX));
	free(b);
	if (post(e, "/v3/kv/range", req, timeout_ms) != 200)
		return -1;
	if (etcd_parse_range(e->rep, e->replen, out) < 0)
		return malformed(e, "range");
	return 0;
}

/* {"key", "target", "result": "EQUAL", "<target>_revision"}. */
static json_t *
txn_compare(const struct etcd_cmp *c)
{
	json_t *j = keyed(c->key);
	char rev[24];

	snprintf(rev, sizeof(rev), "%lld", (long long)c->rev);
	if (j != NULL) {
		json_object_set_new(j, "target", json_string(c->target ==
		    ETCD_CREATE ? "CREATE" : "MOD"));
		json_object_set_new(j, "result", json_string("EQUAL"));
		json_object_set_new(j, c->target == ETCD_CREATE ?
		    "create_revision" : "mod_revision", json_string(rev));
	}
	return j;
}

/* {"request_put": {"key", "value", "lease"}}. */
static json_t *
txn_put(const struct etcd_put *p)
{
	json_t *j = keyed(p->key);
	char *v = b64_encode(p->value, strlen(p->value)), lease[24];

	if (j != NULL && v != NULL) {
		json_object_set_new(j, "value", json_string(v));
		if (p->lease != 0) {
			snprintf(lease, sizeof(lease), "%lld",
			    (long long)p->lease);
			json_object_set_new(j, "lease", json_string(lease));
		}
	}
	free(v);
	if (v == NULL) {
		json_decref(j);
		return NULL;
	}
	return j != NULL ? json_pack("{s:o}", "request_put", j) : NULL;
}

int
etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp,
    const struct etcd_put *put, size_t nput, int timeout_ms, int64_t *rev)
{
	json_t *req = json_object(), *cs = json_array(), *ps = json_array();
	size_t i;
	int rc;

	for (i = 0; i < ncmp; i++)
		json_array_append_new(cs, txn_compare(&cmp[i]));
	for (i = 0; i < nput; i++)
		json_array_append_new(ps, txn_put(&put[i]));
	/* An element or a member that could not be made: out of memory. */
	if (json_array_size(cs) != ncmp || json_array_size(ps) != nput ||
	    json_object_set(req, "compare", cs) < 0 ||
	    json_object_set(req, "success", ps) < 0) {
		json_decref(req);
		req = NULL;
	}
	json_decref(cs);
	json_decref(ps);
	if (post(e, "/v3/kv/txn", req, timeout_ms) != 200)
		return -1;
	if ((rc = etcd_parse_txn(e->rep, e->replen, rev)) < 0)
		return malformed(e, "txn");
	return rc;
}

/* ------------------------------------------------------------ client */

/* The comma-separated endpoints into e->eps. 0 or -1 (out of memory). */
static int
split_endpoints(struct etcd *e, const char *list)
{
	const char *p = list, *c;

	while (*p != '\0' && e->neps < ETCD_ENDPOINTS_MAX) {
		c = strchr(p, ',');
		if (c == NULL)
			c = p + strlen(p);
		/* No trailing slash: paths start with one. */
		if ((e->eps[e->neps] = strndup(p, (size_t)(c - p -
		    (c > p && c[-1] == '/')))) == NULL)
			return -1;
		e->neps++;
		p = *c == ',' ? c + 1 : c;
	}
	return e->neps > 0 ? 0 : -1;
}

/*
 * https only, TLS 1.2 or later, etcd's certificate (and its name) checked
 * against the cluster's CA alone (not the system's: CAPATH off), ours
 * presented. curl copies the strings. 0, or -1 (out of memory).
 */
static int
use_tls(CURL *curl, const struct etcd_tls *tls)
{
	if (curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https") !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CAINFO, tls->ca) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSLCERT, tls->cert) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSLKEY, tls->key) != CURLE_OK)
		return -1;
	return 0;
}

struct etcd *
etcd_new(const char *endpoints, const struct etcd_tls *tls)
{
	struct etcd *e;
	int https = strncmp(endpoints, "https://", 8) == 0;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->https = https;
	if (split_endpoints(e, endpoints) < 0 ||
	    (e->curl = curl_easy_init()) == NULL ||
	    (e->headers = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    (https ? use_tls(e->curl, tls) : (int)curl_easy_setopt(e->curl,
	    CURLOPT_PROTOCOLS_STR, "http")) != 0) {
		etcd_free(e);
		return NULL;
	}
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, e->cerr);
	/* The gateway never redirects; a proxy from the environment is not ours. */
	curl_easy_setopt(e->curl, CURLOPT_PROXY, "");
	return e;
}

void
etcd_free(struct etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	for (i = 0; i < e->neps; i++)
		free(e->eps[i]);
	free(e->rep);
	free(e);
}

const char *
etcd_error(const struct etcd *e)
{
	return e->err;
}
