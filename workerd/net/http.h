/*
 * HTTP/1.1 request reading: libhttp-parser behind a small wrapper that
 * enforces Parley's limits and hands out one whole request at a time.
 *
 * The wrapper pauses after each complete request, so pipelined requests
 * are taken one by one and answered in order: the connection feeds the
 * rest of its buffer only after the previous response was queued.
 */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <stddef.h>
#include <http_parser.h>

#define HTTP_MAX_HEADER_BYTES	(16 * 1024)	/* request line + all headers */
#define HTTP_MAX_HEADERS	64
#define HTTP_HEADERS_FIRST	8	/* headers held in the request itself */
#define HTTP_MAX_BODY		(8 * 1024 * 1024)	/* a knowledge file: 7 MiB */
#define HTTP_MAX_URL		8192

struct http_header {
	char *name;		/* lower-cased; in the request's hbytes */
	char *value;		/* surrounding white space trimmed; in hbytes */
};

struct http_request {
	enum http_method method;
	const char *method_name;	/* "GET", ... */
	char *url;		/* as sent: path and query */
	char *path;		/* percent-decoding is the router's business */
	char *query;		/* after '?', or ""; in path's allocation */
	struct http_header *headers;	/* nheaders of them: hfirst, or grown */
	int nheaders;		/* at most HTTP_MAX_HEADERS */
	int headers_cap;	/* room in headers: grown as headers come */
	struct http_header hfirst[HTTP_HEADERS_FIRST];
	/* The headers' names and values, each NUL-ended: one allocation. */
	char *hbytes;
	size_t hbytes_len, hbytes_cap;
	char *body;		/* NUL-terminated for convenience; may hold NULs */
	size_t body_len;
	int keep_alive;		/* what the client asked for (version + Connection) */
	unsigned short http_major, http_minor;
	int upgrade;		/* "Connection: upgrade" + "Upgrade:" sent: the client
				 * asks to switch protocols (check the Upgrade
				 * header); the request ends at its head unless
				 * it has a body */
};

/*
 * Optional, the owner's: called at each request's head, before any of
 * its body is read (clen: its Content-Length, 0 when none or chunked). It
 * sets *max, the most body bytes the request may send (HTTP_MAX_BODY
 * when there is no admit), and may refuse the request with a status
 * (413, 429 or 503: http_in then fails with it); 0 goes on.
 */
typedef int (*http_admit_fn)(void *arg, const struct http_request *,
    size_t clen, int chunked, size_t *max);

enum http_in_result {
	HTTP_IN_MORE,		/* all input consumed; need more bytes */
	HTTP_IN_REQUEST,	/* a whole request is ready: http_in_take() */
	HTTP_IN_ERROR,		/* bad input: answer http_in_status() and close */
};

struct http_in {
	http_parser parser;
	struct http_request *req;	/* being built */
	struct http_request *done;	/* complete, not yet taken */
	size_t head_bytes;		/* bytes of request line + headers so far */
	int header_state;		/* internal: last callback was field or value */
	int status;			/* on error: 400, 413, 414, 431, 501, 505; admit's 429, 503 (500: out of memory) */
	const char *message;		/* on error: the JSON error text */
	int in_message;			/* a request has begun but is not complete */
	http_admit_fn admit;		/* NULL: every request may send HTTP_MAX_BODY */
	void *admit_arg;

	/* Internal state of http.c; callers leave it alone. */
	const char *detail;		/* on error: a short technical reason (for logs) */
	struct http_in_str {
		char *p;
		size_t len, cap;
	} name, value, url;		/* header field/value, URL being assembled */
	size_t body_cap;
	size_t body_want;		/* Content-Length (checked), 0 if none */
	size_t body_max;		/* this request's limit (admit's) */
	size_t trailer_bytes;		/* chunked trailers: read and dropped */
	int scan_mode;			/* raw head scanner: before/line/headers/body */
	int scan_cr;			/* last head byte was CR */
	int scan_bol;			/* at the beginning of a header line */
	char line_tail[9];		/* last bytes of the request line: " HTTP/1.1" */
	int chunked;			/* body is chunked: its framing is checked too */
	int chunk_state;		/* chunked framing checker */
	size_t chunk_left;		/* bytes of chunk data still to come */
	size_t chunk_line;		/* bytes of the chunk-size line or trailers */
	size_t chunk_total;		/* sum of chunk sizes so far */
	int headers_done;		/* on_headers_complete ran for this request */
	int admit_refused;		/* admit refused its head: http_in_refused */
	int want_continue;		/* "Expect: 100-continue" not yet reported */
	int method_read;		/* the request line's method and its space */
	int method_unknown;		/* the parser stopped there: 501 or 400 */
};

/* The parser points back at the struct: do not move it after init. */
void http_in_init(struct http_in *);
void http_in_free(struct http_in *);
/*
 * Feeds bytes. *consumed is how many were used; on HTTP_IN_REQUEST the
 * rest must be fed again after the request has been answered. Feeding
 * again before http_in_take() returns HTTP_IN_REQUEST with *consumed 0;
 * after HTTP_IN_ERROR every call returns HTTP_IN_ERROR with *consumed 0.
 * A zero-length feed returns HTTP_IN_MORE (it does not mean EOF).
 */
enum http_in_result http_in_feed(struct http_in *, const char *data,
    size_t len, size_t *consumed);
/* The request that HTTP_IN_REQUEST announced; the caller frees it. */
struct http_request *http_in_take(struct http_in *);
/* Whether a request has started arriving and is not complete (for timeouts). */
int http_in_busy(const struct http_in *);
/* Whether that request's head is read and its body is arriving. */
int http_in_body(const struct http_in *);
/* On HTTP_IN_ERROR: the status and message to answer with. */
int http_in_status(const struct http_in *);
/*
 * After HTTP_IN_ERROR: the request whose head the owner's admit refused
 * (its body not read), else NULL.
 */
const struct http_request *http_in_refused(const struct http_in *);
const char *http_in_message(const struct http_in *);
/*
 * On HTTP_IN_ERROR: a short technical reason ("obsolete line folding",
 * "Content-Length with Transfer-Encoding", ...) for logs and for
 * non-production error details. The message above never changes with it.
 */
const char *http_in_detail(const struct http_in *);
/*
 * Returns 1 once when the request being read sent "Expect: 100-continue"
 * and its headers are complete but its body has not arrived: the caller
 * may then write "HTTP/1.1 100 Continue\r\n\r\n". Otherwise 0.
 */
int http_in_continue(struct http_in *);

void http_request_free(struct http_request *);
/*
 * Frees the headers and the body of a request a handler has read (an
 * open stream keeps its request to its end): body is NULL after this and
 * http_header() finds only X-Forwarded-For and Origin, which the
 * connection still reads (the access log's client, a refusal's note);
 * the request line (method, url, path, query, version) stays, for the
 * access log.
 */
void http_request_slim(struct http_request *);
/* The first header of that (lower-case) name, or NULL. */
const char *http_header(const struct http_request *, const char *lname);
/*
 * Looks up a query parameter (percent- and '+'-decoded) into buf.
 * Returns 1 found, 0 absent, -1 malformed or too long, -2 given more than
 * once (every parameter read names one thing: "?sessionId=a&sessionId=b"
 * is refused, not taken as a). "a" and "a=" both give "". Any bad escape
 * anywhere in the query (not "%XX", or "%00") makes it malformed. With
 * buf NULL it only tells whether the parameter is there (or -1, -2).
 */
int http_query_param(const char *query, const char *name, char *buf,
    size_t bufsz);
/*
 * A parameter that is a switch of one value ("?handoff=open"): 1 given
 * as value, 0 absent (query NULL too), -1 anything else (another value,
 * malformed, given twice).
 */
int http_query_flag(const char *query, const char *name, const char *value);
/*
 * A Content-Range value, "bytes FIRST-LAST/SIZE" (RFC 9110 14.4: the
 * unit in any case, then decimal numbers of at most 10 digits each), into
 * its numbers: 0, or -1 (malformed, LAST before FIRST, or not before
 * SIZE).
 */
int http_content_range(const char *v, uint64_t *first, uint64_t *last,
    uint64_t *size);

#endif
