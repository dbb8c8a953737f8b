/*
 * The response writer and the byte buffer it writes into.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "proto.h"
#include "resp.h"

/* ------------------------------------------------------------ buf */

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	char *np;

	if (b->err)
		return -1;
	if (n <= b->cap - b->len)
		return 0;
	/* Reuse the consumed front before growing. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (n <= b->cap - b->len)
			return 0;
	}
	if (n > SIZE_MAX / 2 - b->len) {
		b->err = 1;
		return -1;
	}
	need = b->len + n;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(b->data, ncap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->data = np;
	b->cap = ncap;
	return 0;
}


char *
buf_cstr(struct buf *b)
{
	buf_add(b, "", 1);
	if (b->err || b->off != 0) {
		buf_free(b);
		return NULL;
	}
	return b->data;
}

void
buf_add_dec(struct buf *b, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_add(b, d + n, sizeof(d) - n);
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t room;

	if (b->err)
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return;
	}
	if (buf_reserve(b, (size_t)n + 1) != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->err = 1;
		return;
	}
	b->len += (size_t)n;
}

/*
 * buf_add_jstr's string from s[i], the first byte that needs a look (the
 * i before it plain, not yet added). Out of line (noinline) with the
 * local an escape needs: a plain string, as most are, keeps none in
 * memory (no stack guard to set and check, nor locals spilled).
 */
static void __attribute__((noinline))
jstr_escaped(struct buf *b, const unsigned char *s, size_t len, size_t i)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = i, n;
	char esc[6];
	const char *e;
	size_t elen;

	while (i < len) {
		/* Printable ASCII but '"' and '\\': copied as a run. */
		if ((n = proto_json_plain_len(s + i, len - i)) > 0) {
			i += n;
			run += n;
			continue;
		}
		e = NULL;
		elen = 0;
		n = 1;
		switch (s[i]) {
		case '"': e = "\\\""; elen = 2; break;
		case '\\': e = "\\\\"; elen = 2; break;
		case '\b': e = "\\b"; elen = 2; break;
		case '\f': e = "\\f"; elen = 2; break;
		case '\n': e = "\\n"; elen = 2; break;
		case '\r': e = "\\r"; elen = 2; break;
		case '\t': e = "\\t"; elen = 2; break;
		default:
			if (s[i] < 0x80 && s[i] != 0) {
				/* Another control character. */
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 0xf];
				e = esc;
				elen = 6;
			} else if ((n = proto_utf8_char_len(s + i, len - i)) == 0) {
				e = "\xef\xbf\xbd";	/* U+FFFD */
				elen = 3;
				n = 1;
			} else if (n == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
				e = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
				elen = 6;
			} else {
				i += n;
				run += n;
				continue;
			}
		}
		buf_add(b, s + i - run, run);
		run = 0;
		buf_add(b, e, elen);
		i += n;
	}
	buf_add(b, s + i - run, run);
}

void
buf_add_jstr(struct buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	/* Room for the common case; buf_add grows it if escapes need more. */
	if (buf_reserve(b, len + 2) != 0)
		return;
	buf_add(b, "\"", 1);
	/* Printable ASCII but '"' and '\\' throughout: copied whole. */
	if ((n = proto_json_plain_len(s, len)) < len)
		jstr_escaped(b, s, len, n);
	else
		buf_add(b, str, len);
	buf_add(b, "\"", 1);
}

size_t
buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

void
buf_release(struct buf *b)
{
	if (b->len == b->off && !b->err)
		buf_free(b);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len - b->off)
		n = b->len - b->off;
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* ------------------------------------------------------------ mode */

static int production;

void
resp_set_production(int on)
{
	production = on != 0;
}

int
resp_production(void)
{
	return production;
}

/* ------------------------------------------------------------ headers */

const char *
resp_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Entity";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	if (status >= 100 && status < 200)
		return "Informational";
	if (status >= 200 && status < 300)
		return "Success";
	if (status >= 300 && status < 400)
		return "Redirection";
	if (status >= 400 && status < 500)
		return "Client Error";
	return "Server Error";
}

void
resp_http_date(time_t t, char *out, size_t outsz)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (out == NULL || outsz == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		out[0] = '\0';
		return;
	}
	snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The Date header value, formatted at most once a second. */
static const char *
date_now(void)
{
	static char cache[40];
	static time_t cached = (time_t)-1;
	time_t now = time(NULL);

	if (now != cached || cache[0] == '\0') {
		resp_http_date(now, cache, sizeof(cache));
		cached = now;
	}
	return cache;
}

static int
no_body_status(int status)
{
	return (status >= 100 && status < 200) || status == 204 ||
	    status == 304;
}

/*
 * Status line and headers. framing: 0 none, 1 Content-Length: len,
 * 2 Transfer-Encoding: chunked.
 */
static void
write_head(struct buf *out, int status, const struct resp_opts *o,
    int framing, size_t len)
{
	const char *ct;
	size_t n;

	if (status < 100 || status > 999)
		status = 500;
	buf_adds(out, "HTTP/1.1 ");
	buf_add_dec(out, (uint64_t)status);
	buf_adds(out, " ");
	buf_adds(out, resp_reason(status));
	buf_adds(out, "\r\n");
	buf_adds(out, "Date: ");
	buf_adds(out, date_now());
	buf_adds(out, "\r\n");
	if (!no_body_status(status)) {
		ct = (o != NULL && o->content_type != NULL) ? o->content_type :
		    "application/json; charset=utf-8";
		if (*ct != '\0') {
			buf_adds(out, "Content-Type: ");
			buf_adds(out, ct);
			buf_adds(out, "\r\n");
		}
		if (framing == 1) {
			buf_adds(out, "Content-Length: ");
			buf_add_dec(out, len);
			buf_adds(out, "\r\n");
		} else if (framing == 2)
			buf_adds(out, "Transfer-Encoding: chunked\r\n");
	}
	buf_adds(out,
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n");
	if (production)
		buf_adds(out, "Strict-Transport-Security: max-age=31536000; "
		    "includeSubDomains\r\n");
	if (o != NULL && !o->keep_alive)
		buf_adds(out, "Connection: close\r\n");
	else if (o != NULL && o->keep_alive == RESP_KEEP_SAID)
		buf_adds(out, "Connection: keep-alive\r\n");
	if (o != NULL && o->extra_headers != NULL &&
	    (n = strlen(o->extra_headers)) > 0) {
		buf_add(out, o->extra_headers, n);
		if (n < 2 || o->extra_headers[n - 2] != '\r' ||
		    o->extra_headers[n - 1] != '\n')
			buf_adds(out, "\r\n");
	}
	buf_adds(out, "\r\n");
}

/* ------------------------------------------------------------ responses */

void
resp_send(struct buf *out, int status, const struct resp_opts *o,
    const void *body, size_t len)
{
	if (body == NULL)
		len = 0;
	if (no_body_status(status)) {
		write_head(out, status, o, 0, 0);
		return;
	}
	write_head(out, status, o, 1, len);
	if (o != NULL && o->head_only)
		return;
	buf_add(out, body, len);
}

/* A copy of s with every byte that is not printable ASCII made '?'. */
static char *
ascii_copy(const char *s)
{
	size_t i, n = strlen(s);
	char *c;

	if ((c = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		c[i] = (ch >= 0x80) ? '?' : (char)ch;
	}
	c[n] = '\0';
	return c;
}

void
resp_error(struct buf *out, int status, const struct resp_opts *opts,
    const char *message)
{
	struct resp_opts jo = { 1, NULL, NULL, 0 };
	const struct resp_opts *o = &jo;
	json_t *obj, *str;
	char *text = NULL, *fixed = NULL;

	/* An error is always JSON, whatever was being served. */
	if (opts != NULL) {
		jo = *opts;
		jo.content_type = NULL;
	}

	if (message == NULL)
		message = resp_reason(status);
	str = json_string(message);
	if (str == NULL && (fixed = ascii_copy(message)) != NULL)
		str = json_string(fixed);	/* not valid UTF-8 */
	free(fixed);
	if (str != NULL && (obj = json_object()) != NULL) {
		if (json_object_set_new(obj, "error", str) == 0)
			text = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
	} else
		json_decref(str);
	if (text == NULL) {
		static const char fallback[] = "{\"error\":\"Internal server error\"}";

		resp_send(out, status, o, fallback, sizeof(fallback) - 1);
		return;
	}
	resp_send(out, status, o, text, strlen(text));
	free(text);
}

uint64_t
resp_retry_secs(uint64_t retry_ms)
{
	uint64_t secs = retry_ms / 1000 + (retry_ms % 1000 != 0);

	return secs != 0 ? secs : 1;
}

void
resp_retry_after(char *out, size_t outsz, uint64_t retry_ms,
    const char *more)
{
	snprintf(out, outsz, "Retry-After: %llu\r\n%s",
	    (unsigned long long)resp_retry_secs(retry_ms), more);
}

void
resp_chunked_start(struct buf *out, int status, const struct resp_opts *o)
{
	write_head(out, status, o, no_body_status(status) ? 0 : 2, 0);
}

void
resp_chunk(struct buf *out, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char head[2 * sizeof(size_t) + 2];
	size_t n = sizeof(head), v = len;

	/* A zero-length chunk would end the stream. */
	if (data == NULL || len == 0)
		return;
	head[--n] = '\n';
	head[--n] = '\r';
	do {
		head[--n] = hex[v & 0xf];
		v >>= 4;
	} while (v != 0);
	buf_add(out, head + n, sizeof(head) - n);
	buf_add(out, data, len);
	buf_adds(out, "\r\n");
}

void
resp_chunked_end(struct buf *out)
{
	buf_adds(out, "0\r\n\r\n");
}

void
resp_close_delimited_start(struct buf *out, int status,
    const struct resp_opts *o)
{
	write_head(out, status, o, 0, 0);
}
