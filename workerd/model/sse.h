/*
 * Server-sent events: an incremental parser that takes bytes split
 * anywhere, and the decoder of one OpenAI chat.completion.chunk.
 *
 * The parser follows the WHATWG "event stream interpretation": lines end
 * with CRLF, LF or CR (a CRLF may be split between two feeds); a line
 * starting with ':' is a comment; "field: value" drops one space after
 * the colon; a line without a colon is a field with an empty value; the
 * data lines of an event are joined with "\n"; a blank line dispatches
 * the event (none when it had no data line); a leading UTF-8 BOM is
 * dropped. Fields: "data" and "event" are kept, "retry" is parsed into
 * sse.retry, "id" and unknown fields are ignored (we never reconnect, so
 * the last event id has no use). Nothing grows without bound: an event
 * whose data exceeds the limit is an error; an event name is cut at
 * SSE_TYPE_MAX - 1 bytes; long comments and unknown fields are skipped
 * without being stored.
 */
#ifndef PARLEY_SSE_H
#define PARLEY_SSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SSE_MAX_EVENT	(1024 * 1024)	/* default limit on one event's data */
#define SSE_TYPE_MAX	32

#define SSE_TOO_BIG	(-1)		/* sse_feed: an event exceeded the limit */

struct sse_event {
	const char *type;	/* "event" field, "message" if none; a NUL cuts it */
	const char *data;	/* data lines joined with "\n", NUL-terminated */
	size_t len;		/* of data (it may hold NUL bytes) */
};

/* Return 0 to go on, or a positive value that sse_feed stops with. */
typedef int (*sse_cb)(void *arg, const struct sse_event *);

struct sse {
	sse_cb cb;
	void *arg;
	size_t max;		/* limit on one event's data */
	char *data;		/* the event being built; grows as needed */
	size_t len, cap;
	uint32_t retry;		/* last valid "retry" value, 0 if none */
	uint32_t racc;		/* "retry" value being read */
	int error;		/* sticky: SSE_TOO_BIG */
	uint8_t state;
	uint8_t field;
	uint8_t cr;		/* the previous byte was CR */
	uint8_t bom;		/* BOM bytes matched; 0xff once past the start */
	uint8_t has_data;	/* the event has at least one data line */
	uint8_t rok;		/* "retry" value so far: 0 bad, 1 empty, 2 digits */
	uint8_t name_len;
	uint8_t type_len;
	char name[6];
	char type[SSE_TYPE_MAX];
};

/* max 0 means SSE_MAX_EVENT. */
void sse_init(struct sse *, size_t max, sse_cb, void *arg);
/*
 * Parses len more bytes. Returns 0 once all are consumed, SSE_TOO_BIG
 * (sticky: every later call returns it too), or the callback's non-zero
 * value: then parsing stopped right after that event's blank line and
 * *used (when not NULL) says how many bytes were consumed, so the rest
 * may be fed again later.
 */
int sse_feed(struct sse *, const void *buf, size_t len, size_t *used);
/*
 * Frees the buffer when no event's data is waiting in it (between
 * events); the parser goes on, and allocates again for the next event.
 * A stream that waits between feeds keeps no buffer that way.
 */
void sse_release(struct sse *);
/* Frees the buffer; the struct may be sse_init'ed again. */
void sse_free(struct sse *);

/*
 * One chat.completion.chunk (the data of an SSE event), decoded.
 * content and error point into root or text and live until
 * sse_chunk_free; both are NUL-terminated. A \u0000 in the JSON is taken
 * (it is legal): content never holds a NUL (each is dropped), an error
 * ends at its first.
 */
struct sse_chunk {
	json_t *root;		/* read by jansson, or NULL */
	char *text;		/* read by the fast scanner: its strings, or NULL */
	const char *content;	/* choices[0].delta.content (or .refusal), NULL if none */
	size_t content_len;
	int finished;		/* choices[0].finish_reason is set */
	int tool_finish;	/* ... and it is "tool_calls" */
	/*
	 * choices[0].delta.tool_calls when not null (any JSON: toolcall.c
	 * judges it), owned by root; NULL if none. A chunk with one is read
	 * by jansson alone.
	 */
	json_t *tools;
	int has_usage;		/* a "usage" object came */
	uint32_t prompt_tokens;
	uint32_t completion_tokens;
	const char *error;	/* an {"error":…} event: its message ("" if none) */
};

/*
 * Decodes data (not "[DONE]", which the caller checks first). 0, or -1
 * when it is not JSON or not shaped like a chunk (then nothing to free).
 */
int sse_chunk_parse(const char *data, size_t len, struct sse_chunk *);

/*
 * What a stream's chunks repeat: every chunk of one answer begins with
 * the same members ("id", "object", "created", "model"...) before its
 * "choices". The fast scanner keeps the bytes of those members as the
 * last chunk read had them, and the keys among them, and reads a chunk
 * that begins with the same bytes on from there (the same bytes, the
 * same scan: only memcmp'ed). Zeroed to start; sse_prefix_free once the
 * stream is done.
 */
#define SSE_PREFIX_MAX	512	/* bytes kept at most */
#define SSE_PREFIX_KEYS	8	/* keys before the first read member */
#define SSE_TEXT_KEEP	4096	/* the kept text buffer's size at most */
struct sse_prefix {
	char *bytes;		/* NULL: none yet */
	uint16_t len;
	uint8_t nkeys;
	uint16_t koff[SSE_PREFIX_KEYS];	/* each key's offset in bytes */
	uint16_t klen[SSE_PREFIX_KEYS];
	/*
	 * The stream's kept buffer for a chunk's text (its content or
	 * error, decoded): a stream brings one chunk a token, and each
	 * had its malloc and free. A text longer than SSE_TEXT_KEEP - 1
	 * is the chunk's own (c->text) as before.
	 */
	char *text;
	size_t textcap;
};
/*
 * sse_chunk_parse with a stream's prefix (NULL: none), which it updates.
 * The chunk's content and error may point into the prefix's kept text
 * (c->text NULL then): they live until the next chunk parsed with it or
 * sse_prefix_free, whichever comes first (sse_chunk_free as before).
 */
int sse_chunk_parse_in(struct sse_prefix *, const char *data, size_t len,
    struct sse_chunk *);
void sse_prefix_free(struct sse_prefix *);
/*
 * The same with jansson alone. sse_chunk_parse tries a fast scanner first
 * and comes here for anything it cannot judge; tests and fuzz_sse.c check
 * that the two agree.
 */
int sse_chunk_parse_json(const char *data, size_t len, struct sse_chunk *);
void sse_chunk_free(struct sse_chunk *);
/* Whether an event's data is the end marker "[DONE]". */
int sse_is_done(const char *data, size_t len);

#endif
