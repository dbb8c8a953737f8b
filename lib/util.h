/*
 * Small helpers every Parley program shares, one definition each:
 * UTF-8 checks and counts, JSON's plain bytes, a growing array, hex,
 * big-endian byte order, FNV-1a, the JSON Content-Type check, a string
 * array freed, a buffer written whole and what a failed accept means.
 * All names carry the proto_ prefix; proto.h includes this header. The
 * code is in util.c.
 */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- UTF-8 (strict: no overlongs, surrogates or code points past U+10FFFF) ---- */
/* Length (1-4) of the well-formed UTF-8 sequence at s within n bytes; 0 if invalid. */
size_t proto_utf8_seq_len(const unsigned char *s, size_t n);
/* The code point of s's whole sequence of k bytes (proto_utf8_seq_len's). */
uint32_t proto_utf8_cp(const unsigned char *s, size_t k);
/* As proto_utf8_seq_len, but 0 for NUL too (a JSON writer escapes it). */
size_t proto_utf8_char_len(const unsigned char *s, size_t n);
/* 1 when s[0..n) is well-formed UTF-8 (NUL counts as a character), else 0. */
int proto_utf8_valid(const void *s, size_t n);
/* Characters (code points) in s[0..n), or -1 when it is not well-formed UTF-8. */
ssize_t proto_utf8_chars(const void *s, size_t n);
/*
 * The most bytes of s (valid UTF-8, len bytes) within max, not cutting a
 * character: len when it fits, else max less the continuation bytes a
 * cut there would split.
 */
size_t proto_utf8_cut(const char *s, size_t len, size_t max);
/*
 * s[0..n) without the character its end cuts in two (bytes read up to a
 * bound, not to a character's end): n less that character's first bytes,
 * else n. A sequence that is whole, or not UTF-8 at all, is kept.
 */
size_t proto_utf8_whole(const void *s, size_t n);
/*
 * Bytes of the JavaScript white space character at s within n (what
 * String.prototype.trim and Number() skip: ECMA-262's WhiteSpace and
 * LineTerminator, in UTF-8), 0 when s does not start with one.
 */
size_t proto_js_space_len(const unsigned char *s, size_t n);
/*
 * UTF-16 code units of s[0..n), valid UTF-8: what a JavaScript string's
 * length (and zod's max) counts; a character past U+FFFF counts 2.
 */
size_t proto_utf16_units(const char *s, size_t n);
/* 1 when the string s is valid UTF-8 of at most max characters. */
int proto_text_fits(const char *s, size_t max);
/* 1 when the n bytes at s are all zero (a struct freed or reset). */
int proto_zeroed(const void *s, size_t n);
/* *sum + v, held at UINT32_MAX: a count that must not wrap (tokens). */
void proto_u32_add_held(uint32_t *sum, uint32_t v);
/*
 * 1 for a byte a JSON string holds as it is, read or written: printable
 * ASCII but '"' and '\\' (DEL included). One load a byte in place of
 * five tests, for the model's stream read and every JSON string written.
 */
extern const unsigned char proto_json_plain[256];

/*
 * How many of the n bytes at p, from the first, proto_json_plain holds:
 * eight a step. In each 8-byte word, (x - ones) & ~x & highs marks the
 * bytes of x that are zero; a borrow only marks bytes above the first
 * one, so the lowest mark of "below 0x20, '"', '\\' or a high bit" is
 * the first byte that needs a look.
 */
static inline size_t
proto_json_plain_len(const unsigned char *p, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t w, q, b, stop;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		stop = (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
		    ((b - ones) & ~b) | w) & highs;
		if (stop != 0)
			return i + (size_t)(__builtin_ctzll(stop) >> 3);
	}
#endif
	while (i < n && proto_json_plain[p[i]])
		i++;
	return i;
}

/*
 * How many of the n bytes at p, from the first, are ASCII (below 0x80):
 * eight a step, a word with no high bit set being eight of them; the
 * lowest high bit of a word is its first byte that is not.
 */
static inline size_t
proto_ascii_len(const unsigned char *p, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t w;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		if ((w & highs) != 0)
			return i + (size_t)(__builtin_ctzll(w & highs) >> 3);
	}
#endif
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* ---- arrays ---- */
/*
 * arr (*cap elements of size bytes) with room for element n: arr itself
 * while n < *cap, else arr reallocated to twice its capacity (first when
 * it had none), at most max, and *cap updated. NULL, with arr and *cap
 * untouched (arr still the caller's to free), when n is max or more or
 * out of memory.
 */
void *proto_grow(void *arr, size_t *cap, size_t n, size_t size, size_t first,
    size_t max);

/* ---- URLs ---- */
/*
 * u as it may be shown (a log line, an error, an answer): after each
 * "://" (u may be a list of URLs), all up to the last '@' before the
 * next "://" replaced by "***" (a password with '/', '#' or '@' hidden
 * whole). Cut to outsz (> 0); 2 * strlen(u) + 1 bytes always fit.
 */
void proto_url_shown(const char *u, char *out, size_t outsz);

/* ---- hex ---- */
/* Writes n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void proto_hex_encode(const void *in, size_t n, char *out);
/*
 * Reads exactly 2n lowercase hex digits followed by NUL from in into n
 * bytes of out. 0, or -1 (out then partly written) on anything else.
 */
int proto_hex_decode(const char *in, void *out, size_t n);
/* The value (0-15) of one hex digit, either case; -1 for any other ch. */
int proto_hex_digit(int ch);

/* ---- big-endian byte order (keys and records that sort as bytes) ---- */
void proto_put_be16(uint8_t *p, uint16_t v);	/* p[0..2) = v */
uint16_t proto_get_be16(const uint8_t *p);	/* v from p[0..2) */
void proto_put_be32(uint8_t *p, uint32_t v);	/* p[0..4) = v */
uint32_t proto_get_be32(const uint8_t *p);	/* v from p[0..4) */
void proto_put_be64(uint8_t *p, uint64_t v);	/* p[0..8) = v */
uint64_t proto_get_be64(const uint8_t *p);	/* v from p[0..8) */

/* ---- FNV-1a, 64 bits (unkeyed: no table of untrusted keys) ---- */
#define PROTO_FNV_START	0xcbf29ce484222325ULL
/* h (PROTO_FNV_START for a new one) carried over the n bytes at s. */
uint64_t proto_fnv1a(uint64_t h, const void *s, size_t n);
/* The same over v's 8 bytes, big-endian: alike on every machine. */
uint64_t proto_fnv1a_u64(uint64_t h, uint64_t v);

/* ---- arrays ---- */
/* The n elements of size bytes each at base, in the opposite order. */
void proto_reverse(void *base, size_t n, size_t size);

/* ---- HTTP ---- */
/*
 * 1 when a Content-Type value names JSON: "application/json" in any case,
 * then optional blanks and nothing or ";" parameters. 0 otherwise (NULL too).
 */
int proto_json_ctype(const char *ctype);
/*
 * A text (len bytes, *len on return) past one UTF-8 byte order mark at
 * its start (a JSON body's, which RFC 8259 lets a parser ignore and
 * jansson does not; a fetched page's): body + 3, or body when it has
 * none. A second one is the text's.
 */
const char *proto_bom_skip(const char *body, size_t *len);

/* ---- descriptors ---- */
/* buf's n bytes written whole to fd (again when interrupted): 0, or -1. */
int proto_write_all(int fd, const void *buf, size_t n);

/* ---- sockets ---- */
/* What a failed accept4() on a non-blocking listening socket means. */
enum proto_accept {
	PROTO_ACCEPT_EMPTY,	/* no connection is waiting */
	PROTO_ACCEPT_NEXT,	/* that one was interrupted or aborted */
	PROTO_ACCEPT_NET,	/* the new socket's network error */
	PROTO_ACCEPT_SPENT,	/* out of descriptors or memory: would spin */
	PROTO_ACCEPT_OTHER,	/* anything else */
};
/* The meaning of accept4()'s errno err (errno is left as it is). */
enum proto_accept proto_accept_err(int err);

/* ---- memory ---- */
/* The first n strings of v freed, then v (NULL: nothing). */
void proto_strv_free(char **v, size_t n);
/*
 * One zeroed struct of n bytes, as calloc(1, n), but from malloc: glibc's
 * calloc never takes from its per-thread cache of freed chunks, so the
 * structs a turn makes and frees (a connection, its request, the turn,
 * the model call, each storaged request) each went through the arena's
 * own search (callgrind: some 190 instructions a calloc, besides the
 * zeroing). NULL out of memory.
 */
static inline void *
proto_zalloc(size_t n)
{
	void *p;

	if ((p = malloc(n)) != NULL) {
		/* Opaque to GCC, which makes malloc and memset calloc again. */
		__asm__("" : "+r"(p));
		memset(p, 0, n);
	}
	return p;
}

#endif
