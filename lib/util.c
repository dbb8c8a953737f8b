/*
 * The shared helpers of util.h: UTF-8 well-formedness and counts, a
 * growing array, hex,
 * big-endian byte order, the JSON Content-Type check, a string array
 * freed, a buffer written whole, accept4()'s errors. One definition
 * for every program; contracts in util.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

/* ---------------------------------------------------------------- UTF-8 */

size_t
proto_utf8_seq_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (s[0] == 0xed && s[1] >= 0xa0))	/* surrogate */
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) ||	/* overlong */
		    (s[0] == 0xf4 && s[1] >= 0x90))	/* past U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

uint32_t
proto_utf8_cp(const unsigned char *s, size_t k)
{
	switch (k) {
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 |
		    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	case 4:
		return (uint32_t)(s[0] & 0x07) << 18 |
		    (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	default:
		return s[0];
	}
}

size_t
proto_utf8_char_len(const unsigned char *s, size_t n)
{
	return n > 0 && s[0] != 0 ? proto_utf8_seq_len(s, n) : 0;
}

int
proto_utf8_valid(const void *s, size_t n)
{
	return proto_utf8_chars(s, n) >= 0;
}

/*
 * A run of ASCII is a character a byte, counted eight bytes a step
 * (proto_ascii_len): a visitor's message and the model's answer are
 * mostly ASCII, each checked byte by byte twice a turn before (a fifth
 * of storaged's instructions with messages of a kilobyte, callgrind).
 */
ssize_t
proto_utf8_chars(const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i = 0, k;
	ssize_t chars = 0;

	while (i < n) {
		if (p[i] < 0x80) {
			k = proto_ascii_len(p + i, n - i);
			chars += (ssize_t)k;
		} else if ((k = proto_utf8_seq_len(p + i, n - i)) == 0)
			return -1;
		else
			chars++;
		i += k;
	}
	return chars;
}

size_t
proto_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

size_t
proto_utf8_whole(const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t back = 0, lead;

	/* A character's continuation bytes are 3 at most. */
	while (back < 3 && back < n && (p[n - 1 - back] & 0xc0) == 0x80)
		back++;
	if (back == n)
		return n;
	lead = n - 1 - back;
	/* The bytes its first byte says it has: more than are here? */
	if (p[lead] >= 0xc0 && back + 1 < (p[lead] >= 0xf0 ? 4u :
	    p[lead] >= 0xe0 ? 3u : 2u))
		return lead;
	return n;
}

size_t
proto_js_space_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;		/* TAB LF VT FF CR, SPACE */
	if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0)
		return 2;		/* U+00A0 */
	if (n < 3)
		return 0;
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||	/* U+1680 */
	    (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 &&	/* U+2000- */
	    s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 ||	/* 200A 2028 */
	    s[2] == 0xaf)) ||					/* 2029 202F */
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||	/* U+205F */
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||	/* U+3000 */
	    (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf))	/* U+FEFF */
		return 3;
	return 0;
}

size_t
proto_utf16_units(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, units = 0;

	while (i < n) {
		/* A run of ASCII, a unit a byte, eight bytes a step. */
		if (p[i] < 0x80) {
			k = proto_ascii_len(p + i, n - i);
			units += k;
			i += k;
			continue;
		}
		/* A lead byte is one unit; a 4-byte sequence's lead, two. */
		if ((p[i] & 0xc0) != 0x80)
			units += p[i] >= 0xf0 ? 2 : 1;
		i++;
	}
	return units;
}

int
proto_text_fits(const char *s, size_t max)
{
	ssize_t n = proto_utf8_chars(s, strlen(s));

	return n >= 0 && (size_t)n <= max;
}

/* --------------------------------------------------------------- URLs */

void
proto_url_shown(const char *u, char *out, size_t outsz)
{
	const char *p, *q, *next, *auth;
	size_t n, o = 0;

	while (*u != '\0' && o + 1 < outsz) {
		if ((p = strstr(u, "://")) == NULL)
			p = u + strlen(u);
		else
			p += 3;
		/* The scheme and "://" as they are. */
		n = (size_t)(p - u);
		if (n > outsz - 1 - o)
			n = outsz - 1 - o;
		memcpy(out + o, u, n);
		o += n;
		u = p;
		/*
		 * The user info: up to the last '@' before the next URL. A
		 * password may hold '/', '#' or '@' itself (the URL is then
		 * the invalid one shown), so a path's '@' is hidden too.
		 */
		if ((next = strstr(u, "://")) == NULL)
			next = u + strlen(u);
		for (auth = NULL, q = u; q < next; q++)
			if (*q == '@')
				auth = q;
		if (auth != NULL && o + 1 < outsz) {
			n = 3 < outsz - 1 - o ? 3 : outsz - 1 - o;
			memcpy(out + o, "***", n);
			o += n;
			u = auth;
		}
	}
	out[o] = '\0';
}

/* ---------------------------------------------------------------- hex */

void
proto_hex_encode(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int
proto_hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * A lowercase hex digit's value, or -1: two unsigned compares, not
 * proto_hex_digit's three ranges after a test for uppercase (storaged
 * decodes some seven ids a chat turn, the event ring two an event).
 */
static int
lower_digit(char ch)
{
	unsigned d = (unsigned)(unsigned char)ch - '0';
	unsigned a = (unsigned)(unsigned char)ch - 'a';

	if (d < 10)
		return (int)d;
	return a < 6 ? (int)a + 10 : -1;
}

int
proto_hex_decode(const char *in, void *out, size_t n)
{
	uint8_t *o = out;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = lower_digit(in[2 * i])) < 0 ||
		    (lo = lower_digit(in[2 * i + 1])) < 0)
			return -1;
		o[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * n] == '\0' ? 0 : -1;
}

/* ---------------------------------------------------------------- byte order */

void
proto_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

uint16_t
proto_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void
proto_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

uint32_t
proto_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
proto_put_be64(uint8_t *p, uint64_t v)
{
	proto_put_be32(p, (uint32_t)(v >> 32));
	proto_put_be32(p + 4, (uint32_t)v);
}

uint64_t
proto_get_be64(const uint8_t *p)
{
	return (uint64_t)proto_get_be32(p) << 32 | proto_get_be32(p + 4);
}

/* ---------------------------------------------------------------- HTTP */

void
proto_reverse(void *base, size_t n, size_t size)
{
	unsigned char tmp[256], *lo = base, *hi;
	size_t k, c;

	if (n < 2)
		return;
	/* Swapped through tmp a piece at a time: any size, no allocation. */
	for (hi = lo + (n - 1) * size; lo < hi; lo += size, hi -= size)
		for (k = 0; k < size; k += c) {
			c = size - k < sizeof(tmp) ? size - k : sizeof(tmp);
			memcpy(tmp, lo + k, c);
			memcpy(lo + k, hi + k, c);
			memcpy(hi + k, tmp, c);
		}
}

int
proto_json_ctype(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

const char *
proto_bom_skip(const char *body, size_t *len)
{
	if (*len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
		*len -= 3;
		return body + 3;
	}
	return body;
}

/* --------------------------------------------------------------- memory */

void
proto_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* ---------------------------------------------------------- descriptors */

int
proto_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* -------------------------------------------------------------- sockets */

enum proto_accept
proto_accept_err(int err)
{
	switch (err) {
	case EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case EWOULDBLOCK:
#endif
		return PROTO_ACCEPT_EMPTY;
	case EINTR:
	case ECONNABORTED:
		return PROTO_ACCEPT_NEXT;
	case EPROTO:
	/* Linux reports the new socket's network errors here. */
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return PROTO_ACCEPT_NET;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return PROTO_ACCEPT_SPENT;
	default:
		return PROTO_ACCEPT_OTHER;
	}
}

const unsigned char proto_json_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

int
proto_zeroed(const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

void
proto_u32_add_held(uint32_t *sum, uint32_t v)
{
	*sum = v > UINT32_MAX - *sum ? UINT32_MAX : *sum + v;
}

uint64_t
proto_fnv1a(uint64_t h, const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t
proto_fnv1a_u64(uint64_t h, uint64_t v)
{
	uint8_t b[8];

	proto_put_be64(b, v);
	return proto_fnv1a(h, b, sizeof(b));
}

void *
proto_grow(void *arr, size_t *cap, size_t n, size_t size, size_t first,
    size_t max)
{
	size_t ncap;

	if (n < *cap)
		return arr;
	if (n >= max)
		return NULL;
	ncap = *cap ? *cap * 2 : first;
	if (ncap > max)
		ncap = max;
	if (ncap <= n)
		ncap = n + 1;
	if ((arr = reallocarray(arr, ncap, size)) != NULL)
		*cap = ncap;
	return arr;
}
