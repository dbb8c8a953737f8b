/*
 * The response writer: status line, the headers every response carries,
 * fixed-length bodies, and chunked streaming. It only appends bytes to a
 * connection's output buffer; the connection writes them out.
 */
#ifndef PARLEY_RESP_H
#define PARLEY_RESP_H

#include <stddef.h>
#include <string.h>
#include <time.h>

/* A growable byte buffer (output queues, bodies being built). */
struct buf {
	char *data;
	size_t len;		/* bytes held */
	size_t off;		/* bytes already consumed from the front */
	size_t cap;
	int err;		/* sticky: an allocation failed */
};

void buf_init(struct buf *);
void buf_free(struct buf *);
/* Room for n more bytes at the end; 0 or -1 (err set). */
int buf_reserve(struct buf *, size_t n);

/*
 * Appends n bytes (nothing once err is set). Inline: most appends fit,
 * and a literal's length and copy are then the compiler's.
 */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || b->err || (n > b->cap - b->len &&
	    buf_reserve(b, n) != 0))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Appends the string s (NULL: nothing). */
static inline void
buf_adds(struct buf *b, const char *s)
{
	if (s != NULL)
		buf_add(b, s, strlen(s));
}
/*
 * What a buffer built (nothing consumed) as a C string, NUL-ended: its
 * bytes handed over (malloc'd; the buffer is to be dropped, not freed),
 * or NULL when an allocation failed (the buffer freed).
 */
char *buf_cstr(struct buf *);
void buf_addf(struct buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* v in decimal: what "%ju" writes, without vsnprintf's cost (each response). */
void buf_add_dec(struct buf *, uint64_t v);
/*
 * s as a quoted JSON string, escaped as jansson's json_dumps does, with
 * U+2028 and U+2029 escaped too (they end a line for some readers), and
 * each byte that is not valid UTF-8 (or a NUL) written as U+FFFD.
 */
void buf_add_jstr(struct buf *, const char *s, size_t len);
/* Bytes not yet consumed. */
size_t buf_pending(const struct buf *);
/* Marks n bytes consumed; compacts when everything was. */
void buf_consume(struct buf *, size_t n);
/*
 * Frees the memory of a buffer with nothing pending (and no error); the
 * next add allocates again. A connection keeps no output memory while
 * it is idle or between the writes of a stream.
 */
void buf_release(struct buf *);

/* Production mode adds HSTS and hides error details (PARLEY_ENV/NODE_ENV). */
void resp_set_production(int on);
int resp_production(void);

/*
 * Extra headers: full "Name: value\r\n" lines, or NULL (a missing final
 * CRLF is added). content_type NULL means the JSON default, "" none.
 * A NULL resp_opts means keep-alive, JSON, no extra headers.
 * 1xx, 204 and 304 responses carry no body, Content-Type or Content-Length.
 */
#define RESP_KEEP_SAID	2

struct resp_opts {
	/*
	 * 0 adds "Connection: close"; RESP_KEEP_SAID "Connection:
	 * keep-alive" (HTTP/1.0 keeps a connection only when told so).
	 */
	int keep_alive;
	const char *content_type;	/* default "application/json; charset=utf-8" */
	const char *extra_headers;
	int head_only;			/* HEAD: headers with Content-Length, no body */
};

const char *resp_reason(int status);
/* t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); outsz >= 30. */
void resp_http_date(time_t t, char *out, size_t outsz);
/* A complete response with a fixed body. */
void resp_send(struct buf *out, int status, const struct resp_opts *,
    const void *body, size_t len);
/*
 * {"error": message} with the right JSON escaping (always JSON: the
 * content_type in opts is ignored; message NULL: the reason phrase).
 */
void resp_error(struct buf *out, int status, const struct resp_opts *,
    const char *message);

/* A wait of retry_ms as Retry-After gives it: whole seconds up, at least 1. */
uint64_t resp_retry_secs(uint64_t retry_ms);
/* "Retry-After: <resp_retry_secs>\r\n" then more (header lines), cut to outsz. */
void resp_retry_after(char *out, size_t outsz, uint64_t retry_ms,
    const char *more);

/* Streaming: headers with Transfer-Encoding: chunked, then chunks, then the end. */
void resp_chunked_start(struct buf *out, int status, const struct resp_opts *);
void resp_chunk(struct buf *out, const void *data, size_t len);
void resp_chunked_end(struct buf *out);
/* HTTP/1.0 streaming: headers without framing; the body ends at close. */
void resp_close_delimited_start(struct buf *out, int status,
    const struct resp_opts *);

#endif
