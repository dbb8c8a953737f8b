/*
 * HTTP/1.1 request reading: libhttp-parser (2.9.x) behind a thin wrapper.
 *
 * Two things look at the bytes of a request head:
 *
 *  - a small scanner of our own (scan_head), which runs first over the
 *    head of the request being read: it counts the head's bytes (431),
 *    rejects obsolete line folding, a CR not followed by LF, control
 *    bytes and a method that is no token, and finds where the head ends;
 *  - http_parser, which does the real parsing and calls the callbacks
 *    below that build a struct http_request.
 *
 * When the scanner finds a fault at byte e, the parser is first run over
 * the bytes before e, so that a fault the parser finds earlier (a URL too
 * long: 414) is the one reported.
 *
 * A method http_parser does not know stops it at once: the scanner then
 * reads the request line on alone, and one that ends well formed is
 * answered 501 (method_unknown).
 *
 * on_message_complete pauses the parser, so a feed returns at most one
 * request and *consumed stops right after it; the next feed unpauses.
 *
 * The reader of a Content-Range value (http_content_range) is here too:
 * a header's bytes, read where a handler needs them.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

enum { SCAN_PRE = 0, SCAN_LINE, SCAN_HEADERS, SCAN_BODY };
enum { HS_NONE = 0, HS_FIELD, HS_VALUE };
enum {
	CH_SIZE0 = 0,	/* first hex digit of a chunk size */
	CH_SIZE,	/* more hex digits, ';', ' ' or CR */
	CH_EXT,		/* chunk extensions up to CR */
	CH_SIZE_LF,	/* LF after the size line */
	CH_DATA,
	CH_DATA_CR,	/* CR after chunk data */
	CH_DATA_LF,	/* LF after chunk data */
	CH_TRAILER_BOL,	/* start of a trailer line or the final empty line */
	CH_TRAILER,	/* in a trailer line */
	CH_TRAILER_LF,	/* LF after a trailer line's CR */
	CH_END_LF,	/* LF after the final empty line's CR */
	CH_DONE,
};

/*
 * A body of declared length gets that many bytes at once; a chunked one
 * starts here and doubles. Each open chat stream keeps its request, so
 * the first guess stays small (a chat message is a few hundred bytes).
 */
#define BODY_INITIAL	1024
#define STR_MAX		HTTP_MAX_HEADER_BYTES	/* a header name or value */

static const char *
message_for(int status)
{
	switch (status) {
	case 413:
		return "Request body too large";
	case 414:
		return "URI too long";
	case 429:
		return "Too many requests";
	case 431:
		return "Request header fields too large";
	case 500:
		return "Internal server error";
	case 501:
		return "Not implemented";
	case 503:
		return "Service unavailable";
	case 505:
		return "HTTP version not supported";
	default:
		return "Bad request";
	}
}

/* Records the first error; returns -1 so callbacks can "return fail(...)". */
static int
fail(struct http_in *h, int status, const char *detail)
{
	if (h->status == 0) {
		h->status = status;
		h->message = message_for(status);
		h->detail = detail;
	}
	return -1;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive (ASCII) comparison of a[0..alen) with the string b. */
static int
ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (b[i] == '\0' || ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	}
	return b[alen] == '\0';
}

/*
 * Whether a stored header name (lower-cased) is lname, in any case: what
 * ascii_ieq(name, strlen(name), lname) says, in one pass that stops at
 * the first byte that differs. A request's head is walked once for its
 * checks (head_scan), then by the handlers' look-ups, mostly past names
 * that differ at once.
 */
static int
name_is(const char *name, const char *lname)
{
	for (; *name == ascii_lower((unsigned char)*lname); name++, lname++)
		if (*name == '\0')
			return 1;
	return 0;
}

/*
 * RFC 7230 tchar: non-zero for one; an upper-case letter's also holds
 * 0x20, the bit that lowers it (c | (tchar[c] & 0x20)). One load a byte
 * for the check and the lowering of a header name, where the tests and
 * a strchr were some 20 instructions a byte, five names a request.
 */
static const unsigned char tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 0x21, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* Appends; 0 ok, -1 longer than max, -2 out of memory. Keeps p NUL-terminated. */
static int
str_add(struct http_in_str *s, const char *p, size_t n, size_t max)
{
	size_t need, ncap;
	char *np;

	if (s->len > max || n > max - s->len)
		return -1;
	need = s->len + n + 1;
	if (need > s->cap) {
		ncap = s->cap ? s->cap : 64;
		while (ncap < need)
			ncap *= 2;
		if ((np = realloc(s->p, ncap)) == NULL)
			return -2;
		s->p = np;
		s->cap = ncap;
	}
	if (n > 0)
		memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

static void
str_free(struct http_in_str *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

/* ------------------------------------------------------------ callbacks */

static int
on_message_begin(http_parser *p)
{
	struct http_in *h = p->data;

	http_request_free(h->req);
	if ((h->req = proto_zalloc(sizeof(*h->req))) == NULL)
		return fail(h, 500, "out of memory");
	h->header_state = HS_NONE;
	h->headers_done = 0;
	h->admit_refused = 0;
	h->trailer_bytes = 0;
	h->want_continue = 0;
	h->body_cap = 0;
	h->body_want = 0;
	h->body_max = HTTP_MAX_BODY;
	h->chunked = 0;
	h->chunk_state = CH_SIZE0;
	h->name.len = h->value.len = h->url.len = 0;
	h->in_message = 1;
	return 0;
}

/* str_add, a failure recorded: status past max, 500 out of memory. */
static int
str_take(struct http_in *h, struct http_in_str *s, const char *p, size_t n,
    size_t max, int status, const char *too_long)
{
	switch (str_add(s, p, n, max)) {
	case 0:
		return 0;
	case -1:
		return fail(h, status, too_long);
	default:
		return fail(h, 500, "out of memory");
	}
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_in *h = p->data;

	return str_take(h, &h->url, at, len, HTTP_MAX_URL, 414, "URL too long");
}

/*
 * Room for one more header: the first 8 in the request itself (the array
 * was an allocation of its own, each request, and most have fewer),
 * then an array that doubles (an open stream keeps its request).
 */
static int
headers_reserve(struct http_request *r)
{
	struct http_header *nh;
	size_t cap;
	int first;

	if (r->headers == NULL) {
		r->headers = r->hfirst;
		r->headers_cap = HTTP_HEADERS_FIRST;
	}
	if (r->nheaders < r->headers_cap)
		return 0;
	cap = (size_t)r->headers_cap;
	first = r->headers == r->hfirst;
	if ((nh = proto_grow(first ? NULL : r->headers, &cap,
	    (size_t)r->nheaders, sizeof(*nh), HTTP_HEADERS_FIRST,
	    HTTP_MAX_HEADERS)) == NULL)
		return -1;
	if (first)
		memcpy(nh, r->hfirst, sizeof(r->hfirst));
	r->headers = nh;
	r->headers_cap = (int)cap;
	return 0;
}

/*
 * Room for n more bytes of header names and values: 512 to start, then
 * doubled (each header had an allocation of its own, some 150
 * instructions with its free, five or more a request). On a move the
 * headers stored so far point into the new copy. The head's limit
 * (HTTP_MAX_HEADER_BYTES) bounds it.
 */
static int
hbytes_reserve(struct http_request *r, size_t n)
{
	size_t cap;
	char *nb;
	int i;

	if (n <= r->hbytes_cap - r->hbytes_len)
		return 0;
	cap = r->hbytes_cap ? r->hbytes_cap : 512;
	while (cap - r->hbytes_len < n)
		cap *= 2;
	if ((nb = malloc(cap)) == NULL)
		return -1;
	if (r->hbytes_len > 0)
		memcpy(nb, r->hbytes, r->hbytes_len);
	for (i = 0; i < r->nheaders; i++) {
		r->headers[i].name = nb + (r->headers[i].name - r->hbytes);
		r->headers[i].value = nb + (r->headers[i].value - r->hbytes);
	}
	free(r->hbytes);
	r->hbytes = nb;
	r->hbytes_cap = cap;
	return 0;
}

/* Stores the header just read: lower-cased name, trimmed value. */
static int
commit_header(struct http_in *h)
{
	struct http_request *r = h->req;
	struct http_header *hd;
	const char *v;
	char *name;
	size_t i, nlen, vlen;
	unsigned char c;

	h->header_state = HS_NONE;
	if (h->name.len == 0)
		return fail(h, 400, "empty header name");
	/*
	 * Checked and lowered in place: the name is ours (str_add's copy).
	 * Its place and length in locals: a store through name would make
	 * the compiler load them again each byte.
	 */
	for (i = 0, name = h->name.p, nlen = h->name.len; i < nlen; i++) {
		c = (unsigned char)name[i];
		if (tchar[c] == 0)
			return fail(h, 400, "invalid character in header name");
		name[i] = (char)(c | (tchar[c] & 0x20));
	}
	if (r->nheaders >= HTTP_MAX_HEADERS)
		return fail(h, 431, "too many header fields");

	v = h->value.p ? h->value.p : "";
	vlen = h->value.len;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (headers_reserve(r) != 0 ||
	    hbytes_reserve(r, h->name.len + 1 + vlen + 1) != 0)
		return fail(h, 500, "out of memory");
	hd = &r->headers[r->nheaders];
	hd->name = r->hbytes + r->hbytes_len;
	r->hbytes_len += h->name.len + 1 + vlen + 1;
	memcpy(hd->name, h->name.p, h->name.len);
	hd->name[h->name.len] = '\0';
	hd->value = hd->name + h->name.len + 1;
	if (vlen > 0)
		memcpy(hd->value, v, vlen);
	hd->value[vlen] = '\0';
	r->nheaders++;
	return 0;
}

/* Chunked trailers are read (bounded) and dropped. */
static int
trailer_bytes(struct http_in *h, size_t len)
{
	if (len > HTTP_MAX_HEADER_BYTES - h->trailer_bytes)
		return fail(h, 431, "trailer section too large");
	h->trailer_bytes += len;
	return 0;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_in *h = p->data;

	if (h->req == NULL)
		return fail(h, 500, "no request");
	if (h->headers_done)
		return trailer_bytes(h, len);
	if (h->header_state == HS_VALUE && commit_header(h) != 0)
		return -1;
	if (h->header_state != HS_FIELD) {
		if (h->req->nheaders >= HTTP_MAX_HEADERS)
			return fail(h, 431, "too many header fields");
		h->name.len = 0;
		h->header_state = HS_FIELD;
	}
	return str_take(h, &h->name, at, len, STR_MAX, 431,
	    "header name too long");
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_in *h = p->data;

	if (h->req == NULL)
		return fail(h, 500, "no request");
	if (h->headers_done)
		return trailer_bytes(h, len);
	if (h->header_state == HS_NONE)
		return fail(h, 400, "header value without a name");
	if (h->header_state == HS_FIELD) {
		h->value.len = 0;
		h->header_state = HS_VALUE;
	}
	return str_take(h, &h->value, at, len, STR_MAX, 431,
	    "header value too long");
}

/*
 * Calls fn on each element of a comma-separated header list (RFC 7230
 * 7: empty elements ignored, surrounding white space trimmed), over every
 * header of that name.
 */
static void
each_token(const struct http_request *r, const char *lname,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	const char *s, *e, *end;
	int i;

	for (i = 0; i < r->nheaders; i++) {
		if (!name_is(r->headers[i].name, lname))
			continue;
		s = r->headers[i].value;
		end = s + strlen(s);
		while (s < end) {
			e = memchr(s, ',', (size_t)(end - s));
			if (e == NULL)
				e = end;
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			{
				const char *t = e;

				while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
					t--;
				if (t > s)
					fn(s, (size_t)(t - s), arg);
			}
			s = e < end ? e + 1 : end;
		}
	}
}

struct conn_tokens {
	int close, keep_alive;
};

static void
conn_token(const char *t, size_t n, void *arg)
{
	struct conn_tokens *ct = arg;

	if (ascii_ieq(t, n, "close"))
		ct->close = 1;
	else if (ascii_ieq(t, n, "keep-alive"))
		ct->keep_alive = 1;
}

struct te_tokens {
	int chunked, other;
};

static void
te_token(const char *t, size_t n, void *arg)
{
	struct te_tokens *tt = arg;

	if (ascii_ieq(t, n, "chunked"))
		tt->chunked++;
	else
		tt->other++;
}

/*
 * The headers on_headers_complete reads. The first is the one read, so a
 * second one of who asks (authorization ... x-parley-session) that a
 * proxy adds (an organisation, a key) would lose to the client's own:
 * those are refused given twice.
 */
enum {
	HK_HOST, HK_CONTENT_LENGTH, HK_TRANSFER_ENCODING, HK_CONNECTION,
	HK_EXPECT,
	HK_WHO_FIRST,
	HK_WHO_LAST = HK_WHO_FIRST + 6,
	HK_N
};
static const char *const head_names[HK_N] = {
	"host", "content-length", "transfer-encoding", "connection", "expect",
	"authorization", "x-api-key", "x-widget-api-key", "x-admin-api-key",
	"x-organization-id", "x-csrf-token", "x-parley-session"
};

/* How many of each, and the first one's value: the head walked once. */
struct head_seen {
	int n[HK_N];
	const char *first[HK_N];
};

static void
head_scan(const struct http_request *r, struct head_seen *hs)
{
	const char *name;
	int i, k;

	memset(hs, 0, sizeof(*hs));
	for (i = 0; i < r->nheaders; i++) {
		name = r->headers[i].name;
		/* Names are lower-cased: the first byte rules out most. */
		for (k = 0; k < HK_N; k++)
			if (head_names[k][0] == name[0] &&
			    strcmp(head_names[k], name) == 0)
				break;
		if (k == HK_N)
			continue;
		if (hs->n[k]++ == 0)
			hs->first[k] = r->headers[i].value;
	}
}

/* path and query from the URL (origin-form, absolute-form, "*", CONNECT). */
static int
split_url(struct http_in *h, int is_connect)
{
	struct http_request *r = h->req;
	struct http_parser_url u;
	const char *path, *query = "";
	size_t len = strlen(r->url), plen, qlen = 0;

	http_parser_url_init(&u);
	if (len == 0 || http_parser_parse_url(r->url, len, is_connect, &u) != 0)
		return fail(h, 400, "invalid URL");
	if (u.field_set & (1 << UF_PATH)) {
		path = r->url + u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	} else {
		path = is_connect ? "" : "/";
		plen = is_connect ? 0 : 1;
	}
	if (u.field_set & (1 << UF_QUERY)) {
		query = r->url + u.field_data[UF_QUERY].off;
		qlen = u.field_data[UF_QUERY].len;
	}
	/* Both in one allocation, the query after the path's NUL. */
	if ((r->path = malloc(plen + 1 + qlen + 1)) == NULL)
		return fail(h, 500, "out of memory");
	memcpy(r->path, path, plen);
	r->path[plen] = '\0';
	r->query = r->path + plen + 1;
	memcpy(r->query, query, qlen);
	r->query[qlen] = '\0';
	return 0;
}

/* RFC 3986 host[:port]: reg-name, IPv4 or [IPv6] characters only. */
static int
host_value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) &&
		    strchr("-._~%!$&'()*+,;=:[]", *v) == NULL)
			return 0;
	return 1;
}

/* The owner's admit, before the body: its limit, or its refusal. */
static int
admit(struct http_in *h, const struct http_request *r, const http_parser *p)
{
	size_t clen = (p->flags & F_CONTENTLENGTH) ? p->content_length : 0;
	int st;

	h->body_max = HTTP_MAX_BODY;
	if (h->admit == NULL)
		return 0;
	st = h->admit(h->admit_arg, r, clen, (p->flags & F_CHUNKED) != 0,
	    &h->body_max);
	if (h->body_max > HTTP_MAX_BODY)
		h->body_max = HTTP_MAX_BODY;
	if (st != 0) {
		h->admit_refused = 1;
		return fail(h, st, st == 413 ? "Content-Length over the "
		    "route's limit" : "request body budget spent");
	}
	if (clen > h->body_max) {
		h->admit_refused = 1;
		return fail(h, 413, "Content-Length over the route's limit");
	}
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_in *h = p->data;
	struct http_request *r = h->req;
	struct conn_tokens ct = { 0, 0 };
	struct te_tokens tt = { 0, 0 };
	struct head_seen hs;
	const char *expect;
	int ncl, nte, nhost, i;

	if (r == NULL)
		return fail(h, 500, "no request");
	if (h->header_state == HS_VALUE && commit_header(h) != 0)
		return -1;
	if (h->header_state != HS_NONE)
		return fail(h, 400, "header without a value");
	h->headers_done = 1;
	if (h->scan_mode != SCAN_BODY)
		return fail(h, 400, "malformed request head");

	r->method = (enum http_method)p->method;
	r->method_name = http_method_str(r->method);
	r->http_major = p->http_major;
	r->http_minor = p->http_minor;
	r->upgrade = p->upgrade;
	if (r->http_major != 1 || r->http_minor > 1)
		return fail(h, 505, "unsupported HTTP version");
	/*
	 * http_parser ends a CONNECT request at its head whatever its
	 * framing says, and a tunnel is nothing Parley offers.
	 */
	if (r->method == HTTP_CONNECT)
		return fail(h, 501, "CONNECT is not supported");

	if (h->url.p == NULL)
		return fail(h, 400, "no URL");
	r->url = h->url.p;
	h->url.p = NULL;
	h->url.len = h->url.cap = 0;
	if (split_url(h, r->method == HTTP_CONNECT) != 0)
		return -1;

	head_scan(r, &hs);
	nhost = hs.n[HK_HOST];
	if (nhost > 1)
		return fail(h, 400, "more than one Host header");
	if (nhost == 0 && r->http_minor == 1)
		return fail(h, 400, "missing Host header");
	if (nhost == 1 && !host_value_ok(hs.first[HK_HOST]))
		return fail(h, 400, "invalid Host header");

	for (i = HK_WHO_FIRST; i <= HK_WHO_LAST; i++)
		if (hs.n[i] > 1)
			return fail(h, 400, "a header of who asks given twice");

	ncl = hs.n[HK_CONTENT_LENGTH];
	nte = hs.n[HK_TRANSFER_ENCODING];
	if (ncl > 1)
		return fail(h, 400, "more than one Content-Length");
	if (nte > 0) {
		if (ncl > 0)
			return fail(h, 400, "Content-Length with Transfer-Encoding");
		if (r->http_minor == 0)
			return fail(h, 400, "Transfer-Encoding in HTTP/1.0");
		each_token(r, "transfer-encoding", te_token, &tt);
		if (tt.other > 0)
			return fail(h, 501, "unsupported transfer coding");
		if (tt.chunked != 1 || !(p->flags & F_CHUNKED))
			return fail(h, 400, "invalid Transfer-Encoding");
	}
	if ((ncl > 0) != ((p->flags & F_CONTENTLENGTH) != 0) ||
	    (nte > 0) != ((p->flags & F_CHUNKED) != 0))
		return fail(h, 400, "invalid message framing");
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > HTTP_MAX_BODY)
		return fail(h, 413, "Content-Length over the limit");
	if (admit(h, r, p) != 0)
		return -1;
	h->chunked = (p->flags & F_CHUNKED) != 0;
	h->body_want = (p->flags & F_CONTENTLENGTH) ? p->content_length : 0;
	h->chunk_state = CH_SIZE0;
	h->chunk_left = h->chunk_line = h->chunk_total = 0;

	if (hs.n[HK_CONNECTION] > 0)
		each_token(r, "connection", conn_token, &ct);
	if (r->http_minor == 1)
		r->keep_alive = !ct.close;
	else
		r->keep_alive = ct.keep_alive && !ct.close;

	expect = hs.first[HK_EXPECT];
	if (expect != NULL && r->http_minor == 1 &&
	    ascii_ieq(expect, strlen(expect), "100-continue") &&
	    ((p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENTLENGTH) && p->content_length > 0)))
		h->want_continue = 1;
	return 0;
}

static int
body_reserve(struct http_in *h, size_t add)
{
	struct http_request *r = h->req;
	size_t need, ncap;
	char *np;

	if (add > h->body_max - r->body_len)
		return fail(h, 413, "body over the limit");
	need = r->body_len + add + 1;
	if (need <= h->body_cap)
		return 0;
	ncap = h->body_cap ? h->body_cap :
	    h->body_want > 0 ? h->body_want + 1 : BODY_INITIAL;
	while (ncap < need)
		ncap *= 2;
	if (ncap > h->body_max + 1)
		ncap = h->body_max + 1;
	if ((np = realloc(r->body, ncap)) == NULL)
		return fail(h, 500, "out of memory");
	r->body = np;
	h->body_cap = ncap;
	return 0;
}

static int
on_chunk_header(http_parser *p)
{
	struct http_in *h = p->data;

	if (h->req == NULL)
		return fail(h, 500, "no request");
	if (p->content_length > h->body_max - h->req->body_len)
		return fail(h, 413, "chunked body over the limit");
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_in *h = p->data;
	struct http_request *r = h->req;

	if (r == NULL)
		return fail(h, 500, "no request");
	h->want_continue = 0;
	if (len == 0)
		return 0;
	if (body_reserve(h, len) != 0)
		return -1;
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct http_in *h = p->data;
	struct http_request *r = h->req;

	if (r == NULL || !h->headers_done)
		return fail(h, 400, "incomplete request");
	if (r->body == NULL) {
		if ((r->body = calloc(1, 1)) == NULL)
			return fail(h, 500, "out of memory");
		h->body_cap = 1;
	}
	h->done = r;
	h->req = NULL;
	/* The scratch goes back too: the connection may wait long for more. */
	str_free(&h->name);
	str_free(&h->value);
	h->in_message = 0;
	h->headers_done = 0;
	h->want_continue = 0;
	h->header_state = HS_NONE;
	h->scan_mode = SCAN_PRE;
	h->scan_cr = h->scan_bol = 0;
	h->head_bytes = 0;
	http_parser_pause(p, 1);
	return 0;
}

/* ------------------------------------------------------------ scanners */

static int
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * How many bytes from p on (at most max) are no control byte: a line's
 * inside. Eight a step, as proto_json_plain_len (util.h) does: in each
 * word, (w - 0x20s) & ~w marks the bytes below 0x20 and (q - ones) & ~q
 * those of 0x7f; the lowest mark is the first such byte (a borrow only
 * marks bytes above it), and a TAB among them is let through. The bytes
 * of a request's head went through is_ctl one by one at some 3
 * instructions each, about 1,500 a request.
 */
static size_t
plain_run(const char *p, size_t max)
{
	size_t n = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t w, q, stop;

	while (max - n >= 8) {
		memcpy(&w, p + n, sizeof(w));
		q = w ^ (ones * 0x7f);
		stop = (((w - ones * 0x20) & ~w) | ((q - ones) & ~q)) & highs;
		if (stop == 0) {
			n += 8;
			continue;
		}
		n += (size_t)(__builtin_ctzll(stop) >> 3);
		if (p[n] != '\t')
			return n;
		n++;
	}
#endif
	while (n < max && !is_ctl((unsigned char)p[n]))
		n++;
	return n;
}

/* The request line's last bytes kept (line_tail) with n more, p, after them. */
static void
tail_add(struct http_in *h, const char *p, size_t n)
{
	size_t t = sizeof(h->line_tail);

	if (n >= t) {
		memcpy(h->line_tail, p + n - t, t);
		return;
	}
	memmove(h->line_tail, h->line_tail + n, t - n);
	memcpy(h->line_tail + t - n, p, n);
}

/* The request line ends in " HTTP/" and a one-digit major.minor version. */
static int
request_line_version_ok(const struct http_in *h)
{
	const char *t = h->line_tail;

	return memcmp(t, " HTTP/", 6) == 0 && t[6] >= '0' && t[6] <= '9' &&
	    t[7] == '.' && t[8] >= '0' && t[8] <= '9';
}

/* A scanner's fault at byte i: reported through *serr and *sdetail. */
#define SCAN_FAIL(st, why) do {						\
	*serr = (st);							\
	*sdetail = (why);						\
	return i;							\
} while (0)

/*
 * Looks at the head of the request being read. Returns how many bytes may
 * go to the parser: up to and including the LF of the empty line that ends
 * the head (scan_mode becomes SCAN_BODY), all of them, or up to the first
 * fault (*serr set).
 */
static size_t
scan_head(struct http_in *h, const char *data, size_t len, int *serr,
    const char **sdetail)
{
	size_t i, n, room;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)data[i];
		if (h->scan_mode == SCAN_PRE) {
			/* Empty lines before the request line are ignored. */
			if (c == '\r' || c == '\n')
				continue;
			h->scan_mode = SCAN_LINE;
			h->scan_cr = h->scan_bol = 0;
			h->head_bytes = 0;
			h->in_message = 1;
			h->method_read = 0;
			memset(h->line_tail, 0, sizeof(h->line_tail));
		}
		if (++h->head_bytes > HTTP_MAX_HEADER_BYTES)
			SCAN_FAIL(431, "request head too large");
		if (h->scan_cr && c != '\n')
			SCAN_FAIL(400, "CR not followed by LF");
		/* http_parser does not check the letters of "HTTP". */
		if ((c == '\r' || c == '\n') && h->scan_mode == SCAN_LINE &&
		    !h->scan_cr && !request_line_version_ok(h))
			SCAN_FAIL(400, "malformed request line");
		if (c == '\n') {
			h->scan_cr = 0;
			if (h->scan_mode == SCAN_LINE) {
				h->scan_mode = SCAN_HEADERS;
				h->scan_bol = 1;
			} else if (h->scan_bol) {
				h->scan_mode = SCAN_BODY;
				return i + 1;
			} else
				h->scan_bol = 1;
			continue;
		}
		if (c == '\r') {
			h->scan_cr = 1;
			continue;
		}
		if (h->scan_bol && (c == ' ' || c == '\t'))
			SCAN_FAIL(400, "obsolete line folding");
		if (is_ctl(c))
			SCAN_FAIL(400, "control character in request head");
		if (h->scan_mode == SCAN_LINE && !h->method_read) {
			/* The method: a token, then a space (RFC 9112, 3). */
			if (c == ' ' && h->head_bytes > 1)
				h->method_read = 1;
			else if (tchar[c] == 0)
				SCAN_FAIL(400, "malformed request method");
			tail_add(h, data + i, 1);
			continue;
		}
		/*
		 * This byte and the rest of the line's plain ones in one step
		 * (none is CR, LF, a control byte, or past the head's bound):
		 * each would pass the checks above as this one did.
		 */
		room = HTTP_MAX_HEADER_BYTES - h->head_bytes;
		n = 1 + plain_run(data + i + 1, len - i - 1 < room ?
		    len - i - 1 : room);
		h->head_bytes += n - 1;
		if (h->scan_mode == SCAN_LINE)
			tail_add(h, data + i, n);
		h->scan_bol = 0;
		i += n - 1;
	}
	return len;
}

#define CHUNK_LINE_MAX	4096	/* a chunk-size line with its extensions */

/*
 * http_parser 2.9 is lenient about chunked framing outside its strict
 * mode (any two bytes pass for the CRLF after chunk data, any byte for
 * the LF after a size line), which would let a request smuggle another.
 * This checks the framing exactly, ahead of the parser, and finds where
 * the message ends. Returns how many bytes may go to the parser: up to and
 * including the end of the message, all of them, or up to the first fault.
 */
static size_t
scan_chunks(struct http_in *h, const char *data, size_t len, int *serr,
    const char **sdetail)
{
	size_t i = 0, take;
	unsigned char c;
	int v;

	while (i < len) {
		c = (unsigned char)data[i];
		switch (h->chunk_state) {
		case CH_SIZE0:
			if ((v = proto_hex_digit(c)) < 0)
				SCAN_FAIL(400, "invalid chunk size");
			h->chunk_left = (size_t)v;
			h->chunk_line = 1;
			h->chunk_state = CH_SIZE;
			break;
		case CH_SIZE:
			if (++h->chunk_line > CHUNK_LINE_MAX)
				SCAN_FAIL(400, "chunk size line too long");
			if ((v = proto_hex_digit(c)) >= 0) {
				h->chunk_left = h->chunk_left * 16 + (size_t)v;
				if (h->chunk_left > h->body_max - h->chunk_total)
					SCAN_FAIL(413, "chunked body over the limit");
			} else if (c == ';' || c == ' ')
				h->chunk_state = CH_EXT;
			else if (c == '\r')
				h->chunk_state = CH_SIZE_LF;
			else
				SCAN_FAIL(400, "invalid chunk size");
			break;
		case CH_EXT:
			if (++h->chunk_line > CHUNK_LINE_MAX)
				SCAN_FAIL(400, "chunk size line too long");
			if (c == '\r')
				h->chunk_state = CH_SIZE_LF;
			else if (is_ctl(c))
				SCAN_FAIL(400, "invalid chunk extension");
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				SCAN_FAIL(400, "chunk size line not ended by CRLF");
			h->chunk_total += h->chunk_left;
			h->chunk_line = 0;
			h->chunk_state = h->chunk_left > 0 ? CH_DATA :
			    CH_TRAILER_BOL;
			break;
		case CH_DATA:
			take = len - i;
			if (take > h->chunk_left)
				take = h->chunk_left;
			h->chunk_left -= take;
			i += take;
			if (h->chunk_left == 0)
				h->chunk_state = CH_DATA_CR;
			continue;
		case CH_DATA_CR:
			if (c != '\r')
				SCAN_FAIL(400, "chunk data not followed by CRLF");
			h->chunk_state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				SCAN_FAIL(400, "chunk data not followed by CRLF");
			h->chunk_state = CH_SIZE0;
			break;
		case CH_TRAILER_BOL:
		case CH_TRAILER:
		case CH_TRAILER_LF:
		case CH_END_LF:
			if (++h->chunk_line > HTTP_MAX_HEADER_BYTES)
				SCAN_FAIL(431, "trailer section too large");
			if (h->chunk_state == CH_TRAILER_LF ||
			    h->chunk_state == CH_END_LF) {
				if (c != '\n')
					SCAN_FAIL(400, "CR not followed by LF");
				if (h->chunk_state == CH_END_LF) {
					h->chunk_state = CH_DONE;
					return i + 1;
				}
				h->chunk_state = CH_TRAILER_BOL;
			} else if (c == '\r')
				h->chunk_state = h->chunk_state ==
				    CH_TRAILER_BOL ? CH_END_LF : CH_TRAILER_LF;
			else if (c == '\n') {
				if (h->chunk_state == CH_TRAILER_BOL) {
					h->chunk_state = CH_DONE;
					return i + 1;
				}
				h->chunk_state = CH_TRAILER_BOL;
			} else if (is_ctl(c))
				SCAN_FAIL(400, "control character in trailer");
			else
				h->chunk_state = CH_TRAILER;
			break;
		default:
			/* CH_DONE: the parser should have ended the message. */
			SCAN_FAIL(400, "data after the last chunk");
		}
		i++;
	}
	return len;
}
#undef SCAN_FAIL

/* ------------------------------------------------------------ API */

/* The parser's callbacks: one table for every connection. */
static const http_parser_settings callbacks = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

void
http_in_init(struct http_in *h)
{
	memset(h, 0, sizeof(*h));
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	h->scan_mode = SCAN_PRE;
	h->body_max = HTTP_MAX_BODY;
}

void
http_in_free(struct http_in *h)
{
	http_request_free(h->req);
	http_request_free(h->done);
	h->req = h->done = NULL;
	str_free(&h->name);
	str_free(&h->value);
	str_free(&h->url);
}

/* The request line (its tail, scanned whole) says HTTP/1.0 or HTTP/1.1. */
static int
request_line_version_1x(const struct http_in *h)
{
	return h->line_tail[6] == '1' &&
	    (h->line_tail[8] == '0' || h->line_tail[8] == '1');
}

/*
 * After the parser stopped at a method it does not know: the request
 * line alone decides, read on by the scanner (from *off, moved) when
 * the scan so far (serr, sdetail: its fault) did not end it. Ended well
 * formed, 501 (505 for a version other than 1.0 and 1.1, as a known
 * method gets: HTTP/2's preface), whatever follows; a fault inside it,
 * that fault; HTTP_IN_MORE until it ends.
 */
static enum http_in_result
method_unknown(struct http_in *h, const char *data, size_t len, size_t *off,
    int serr, const char *sdetail)
{
	h->method_unknown = 1;
	if (serr == 0 && h->scan_mode == SCAN_LINE && *off < len)
		*off += scan_head(h, data + *off, len - *off, &serr, &sdetail);
	if (h->scan_mode == SCAN_LINE) {
		if (serr == 0)
			return HTTP_IN_MORE;
		fail(h, serr, sdetail);
	} else if (request_line_version_1x(h))
		fail(h, 501, "unknown method");
	else
		fail(h, 505, "unsupported HTTP version");
	return HTTP_IN_ERROR;
}

enum http_in_result
http_in_feed(struct http_in *h, const char *data, size_t len,
    size_t *consumed)
{
	size_t off = 0, lim, n, dummy;
	enum http_in_result r;
	int serr, was_head, was_chunks;
	const char *sdetail;
	enum http_errno e;

	if (consumed == NULL)
		consumed = &dummy;
	*consumed = 0;
	if (h->status != 0)
		return HTTP_IN_ERROR;
	if (h->done != NULL)
		return HTTP_IN_REQUEST;
	if (data == NULL || len == 0)
		return HTTP_IN_MORE;
	if (h->method_unknown) {
		r = method_unknown(h, data, len, &off, 0, NULL);
		*consumed = off;
		return r;
	}
	if (HTTP_PARSER_ERRNO(&h->parser) == HPE_PAUSED)
		http_parser_pause(&h->parser, 0);

	/*
	 * Segments: the head up to its end, then (chunked) the body up to
	 * the end of the message, or (otherwise) the rest.
	 */
	while (off < len) {
		serr = 0;
		sdetail = NULL;
		was_head = h->scan_mode != SCAN_BODY;
		was_chunks = !was_head && h->chunked;
		if (was_head)
			lim = off + scan_head(h, data + off, len - off, &serr,
			    &sdetail);
		else if (was_chunks)
			lim = off + scan_chunks(h, data + off, len - off, &serr,
			    &sdetail);
		else
			lim = len;

		/* Never call the parser with 0 bytes: that means EOF to it. */
		n = lim > off ? http_parser_execute(&h->parser, &callbacks,
		    data + off, lim - off) : 0;
		e = HTTP_PARSER_ERRNO(&h->parser);
		if (n > lim - off)
			n = lim - off;
		off += n;
		*consumed = off;

		if (e == HPE_PAUSED && h->status == 0) {
			if (h->done == NULL) {
				fail(h, 400, "parser paused without a request");
				return HTTP_IN_ERROR;
			}
			return HTTP_IN_REQUEST;
		}
		if (e == HPE_INVALID_METHOD && h->status == 0) {
			/* The scanner went as far as the parser could not. */
			off = lim;
			r = method_unknown(h, data, len, &off, serr, sdetail);
			*consumed = off;
			return r;
		}
		if (e != HPE_OK || h->status != 0) {
			if (h->status == 0)
				fail(h, e == HPE_HEADER_OVERFLOW ? 431 : 400,
				    http_errno_description(e));
			return HTTP_IN_ERROR;
		}
		if (off != lim) {
			fail(h, 400, "parser stopped early");
			return HTTP_IN_ERROR;
		}
		if (serr != 0) {
			fail(h, serr, sdetail);
			return HTTP_IN_ERROR;
		}
		/* The parser must agree with the scanners on where things end. */
		if (was_head && h->scan_mode == SCAN_BODY && !h->headers_done) {
			fail(h, 400, "malformed request head");
			return HTTP_IN_ERROR;
		}
		if (was_chunks && h->chunk_state == CH_DONE) {
			fail(h, 400, "malformed chunked body");
			return HTTP_IN_ERROR;
		}
		if (lim == off && n == 0 && lim < len) {
			/* No progress; cannot happen, but never spin. */
			fail(h, 400, "no progress");
			return HTTP_IN_ERROR;
		}
	}
	*consumed = len;
	return HTTP_IN_MORE;
}

struct http_request *
http_in_take(struct http_in *h)
{
	struct http_request *r = h->done;

	h->done = NULL;
	return r;
}

int
http_in_busy(const struct http_in *h)
{
	return h->status == 0 && h->in_message;
}

int
http_in_body(const struct http_in *h)
{
	return http_in_busy(h) && h->headers_done;
}

int
http_in_status(const struct http_in *h)
{
	return h->status;
}

const struct http_request *
http_in_refused(const struct http_in *h)
{
	return h->admit_refused ? h->req : NULL;
}

const char *
http_in_message(const struct http_in *h)
{
	return h->message ? h->message : "Bad request";
}

const char *
http_in_detail(const struct http_in *h)
{
	return h->detail ? h->detail : "";
}

int
http_in_continue(struct http_in *h)
{
	if (h->status != 0 || h->req == NULL || !h->headers_done ||
	    !h->want_continue)
		return 0;
	h->want_continue = 0;
	return 1;
}

/* Frees r's headers (all of them, or those but kept[0..n)) and its body. */
static void
request_strip(struct http_request *r, struct http_header *kept, int n,
    char *kbytes, size_t klen)
{
	if (r->headers != r->hfirst && r->headers != kept)
		free(r->headers);
	r->headers = n > 0 ? kept : NULL;
	r->nheaders = n;
	r->headers_cap = n == 0 ? 0 : kept == r->hfirst ? HTTP_HEADERS_FIRST :
	    n;
	free(r->hbytes);
	r->hbytes = kbytes;
	r->hbytes_len = r->hbytes_cap = klen;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

void
http_request_free(struct http_request *r)
{
	if (r == NULL)
		return;
	request_strip(r, NULL, 0, NULL, 0);	/* the headers and the body */
	free(r->url);
	free(r->path);		/* and its query */
	free(r);
}

/*
 * The headers the connection reads after its handler: who the client is
 * (X-Forwarded-For, clientip_of: the access log's line) and its Origin (a
 * chat turn's refusal, noted for the Setup panel).
 */
static int
slim_keeps(const char *name)
{
	/* Names are stored lower-cased: most differ at their first byte. */
	switch (name[0]) {
	case 'x':
		return strcmp(name, "x-forwarded-for") == 0;
	case 'o':
		return strcmp(name, "origin") == 0;
	default:
		return 0;
	}
}

void
http_request_slim(struct http_request *r)
{
	struct http_header *kept = r->hfirst;
	char *b = NULL, *p;
	size_t need = 0, len;
	int i, n = 0;

	for (i = 0; i < r->nheaders; i++)
		if (slim_keeps(r->headers[i].name)) {
			need += strlen(r->headers[i].name) +
			    strlen(r->headers[i].value) + 2;
			n++;
		}
	if (n > HTTP_HEADERS_FIRST)
		kept = malloc((size_t)n * sizeof(*kept));
	if (n > 0 && (kept == NULL || (b = malloc(need)) == NULL)) {
		/* Out of memory: none kept, as before they were. */
		if (kept != r->hfirst)
			free(kept);
		request_strip(r, NULL, 0, NULL, 0);
		return;
	}
	/* Copied in order: kept[n] never overwrites a header not yet read. */
	for (i = 0, n = 0, p = b; i < r->nheaders; i++) {
		if (!slim_keeps(r->headers[i].name))
			continue;
		len = strlen(r->headers[i].name) + 1;
		memcpy(p, r->headers[i].name, len);
		kept[n].name = p;
		p += len;
		len = strlen(r->headers[i].value) + 1;
		memcpy(p, r->headers[i].value, len);
		kept[n++].value = p;
		p += len;
	}
	request_strip(r, kept, n, b, need);
}

const char *
http_header(const struct http_request *r, const char *lname)
{
	int i;

	if (r == NULL || lname == NULL)
		return NULL;
	for (i = 0; i < r->nheaders; i++) {
		if (name_is(r->headers[i].name, lname))
			return r->headers[i].value;
	}
	return NULL;
}

/* ------------------------------------------------------------ query */

/*
 * The byte s[*i] of s[0..n) stands for ('+' is a space, %XX a byte),
 * *i moved onto the last byte of an escape; -1 on a bad escape or %00.
 */
static int
qchar(const char *s, size_t n, size_t *i)
{
	int hi, lo;

	if (s[*i] == '+')
		return ' ';
	if (s[*i] != '%')
		return (unsigned char)s[*i];
	if (n - *i < 3 ||
	    (hi = proto_hex_digit((unsigned char)s[*i + 1])) < 0 ||
	    (lo = proto_hex_digit((unsigned char)s[*i + 2])) < 0 ||
	    (hi == 0 && lo == 0))
		return -1;
	*i += 2;
	return hi * 16 + lo;
}

/*
 * Decodes s[0..n) into out (outsz bytes with the NUL), or just measures
 * it with out NULL. Returns the decoded length, or -1 on a bad escape,
 * %00, or no room.
 */
static long
qdecode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	int c;

	for (i = 0; i < n; i++) {
		if ((c = qchar(s, n, &i)) < 0)
			return -1;
		if (out != NULL) {
			if (o + 1 >= outsz)
				return -1;
			out[o] = (char)c;
		}
		o++;
	}
	if (out != NULL)
		out[o] = '\0';
	return (long)o;
}

/* Whether the decoded form of s[0..n) equals name. */
static int
qname_eq(const char *s, size_t n, const char *name)
{
	size_t i, k = 0;
	int c;

	for (i = 0; i < n; i++) {
		/* Escapes were checked before (qdecode). */
		if ((c = qchar(s, n, &i)) < 0 || name[k] == '\0' ||
		    name[k] != (char)c)
			return 0;
		k++;
	}
	return name[k] == '\0';
}

int
http_query_flag(const char *query, const char *name, const char *value)
{
	char v[32];
	int r;

	if ((r = http_query_param(query, name, v, sizeof(v))) <= 0)
		return r < 0 ? -1 : 0;
	return strcmp(v, value) == 0 ? 1 : -1;
}

int
http_query_param(const char *query, const char *name, char *buf,
    size_t bufsz)
{
	const char *s, *end, *amp, *eq;
	const char *at = NULL, *at_eq = NULL, *at_amp = NULL;
	size_t qlen;

	if (name == NULL)
		return -1;
	if (query == NULL)
		return 0;
	if (*query == '?')
		query++;
	qlen = strlen(query);
	if (qdecode(query, qlen, NULL, 0) < 0)
		return -1;

	s = query;
	end = query + qlen;
	for (; s < end; s = amp + 1) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (amp == NULL)
			amp = end;
		eq = memchr(s, '=', (size_t)(amp - s));
		if (amp == s ||
		    !qname_eq(s, (size_t)((eq ? eq : amp) - s), name))
			continue;
		/* One thing named twice: which one was meant is not known. */
		if (at != NULL)
			return -2;
		at = s;
		at_eq = eq;
		at_amp = amp;
	}
	if (at == NULL)
		return 0;
	if (buf == NULL)
		return 1;
	if (bufsz == 0)
		return -1;
	if (at_eq == NULL) {
		buf[0] = '\0';
		return 1;
	}
	if (qdecode(at_eq + 1, (size_t)(at_amp - at_eq - 1), buf, bufsz) < 0) {
		buf[0] = '\0';
		return -1;
	}
	return 1;
}

/* ------------------------------------------------------------ ranges */

/* Decimal digits at *s, 1 to 10 of them: 0 with *v, *s past them; -1. */
static int
range_number(const char **s, uint64_t *v)
{
	int n = 0;

	*v = 0;
	for (; **s >= '0' && **s <= '9' && n < 10; (*s)++, n++)
		*v = *v * 10 + (uint64_t)(**s - '0');
	return n > 0 && !(**s >= '0' && **s <= '9') ? 0 : -1;
}

int
http_content_range(const char *v, uint64_t *first, uint64_t *last,
    uint64_t *size)
{
	if (v == NULL || strncasecmp(v, "bytes ", 6) != 0)
		return -1;
	v += 6;
	if (range_number(&v, first) < 0 || *v++ != '-' ||
	    range_number(&v, last) < 0 || *v++ != '/' ||
	    range_number(&v, size) < 0 || *v != '\0')
		return -1;
	return *last >= *first && *last < *size ? 0 : -1;
}
