/* The header, the field encoder and the bounds-checked decoder. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

void
proto_hdr_pack(const struct proto_hdr *h, uint8_t out[PROTO_HDR_LEN])
{
	out[0] = h->type >> 8;
	out[1] = h->type & 0xff;
	out[2] = h->flags >> 8;
	out[3] = h->flags & 0xff;
	proto_put_be32(out + 4, h->len);
	proto_put_be32(out + 8, h->id);
}

int
proto_hdr_unpack(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *h)
{
	h->type = (uint16_t)(in[0] << 8 | in[1]);
	h->flags = (uint16_t)(in[2] << 8 | in[3]);
	h->len = proto_get_be32(in + 4);
	h->id = proto_get_be32(in + 8);
	return h->len > PROTO_MAX_PAYLOAD ? -1 : 0;
}

/* ---------------------------------------------------------------- encoder */

void
penc_init(struct penc *e)
{
	memset(e, 0, sizeof(*e));
}

void
penc_free(struct penc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

uint8_t *
penc_grow(struct penc *e, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (e->err || n == 0)
		return NULL;	/* nothing to write: no pointer arithmetic on NULL */
	if (n > PROTO_MAX_PAYLOAD || e->len > PROTO_MAX_PAYLOAD - n) {
		e->err = 1;
		return NULL;
	}
	if (e->len + n > e->cap) {
		cap = e->cap ? e->cap : 256;
		while (cap < e->len + n)
			cap *= 2;
		if ((nb = realloc(e->buf, cap)) == NULL) {
			e->err = 1;
			return NULL;
		}
		e->buf = nb;
		e->cap = cap;
	}
	nb = e->buf + e->len;
	e->len += n;
	return nb;
}

int
penc_reserve(struct penc *e, size_t n)
{
	if (n == 0)
		return e->err ? -1 : 0;
	if (penc_room(e, n) == NULL)
		return -1;
	e->len -= n;
	return 0;
}

void
penc_raw(struct penc *e, const void *p, size_t n)
{
	uint8_t *d;

	if ((d = penc_room(e, n)) != NULL && n > 0)
		memcpy(d, p, n);
}

/*
 * The numbers are written in place, not through penc_raw's memcpy: a
 * record's encode writes hundreds of them (callgrind: a sixth of a
 * reply's encode went to those calls).
 */
static void
put_be32(uint8_t *d, uint32_t v)
{
	d[0] = v >> 24;
	d[1] = v >> 16;
	d[2] = v >> 8;
	d[3] = v;
}

void
penc_u8(struct penc *e, uint8_t v)
{
	uint8_t *d;

	if ((d = penc_room(e, 1)) != NULL)
		d[0] = v;
}

void
penc_u16(struct penc *e, uint16_t v)
{
	uint8_t *d;

	if ((d = penc_room(e, 2)) != NULL) {
		d[0] = v >> 8;
		d[1] = v;
	}
}

void
penc_u64(struct penc *e, uint64_t v)
{
	uint8_t *d;

	if ((d = penc_room(e, 8)) != NULL) {
		put_be32(d, (uint32_t)(v >> 32));
		put_be32(d + 4, (uint32_t)v);
	}
}

void
penc_bytes(struct penc *e, const void *p, size_t n)
{
	uint8_t *d;

	if (n > PROTO_MAX_PAYLOAD) {
		e->err = 1;
		return;
	}
	/* The length and the bytes in one reservation. */
	if ((d = penc_room(e, 4 + n)) != NULL) {
		put_be32(d, (uint32_t)n);
		if (n > 0)
			memcpy(d + 4, p, n);
	}
}

void
penc_strn(struct penc *e, const char *s, size_t n)
{
	penc_bytes(e, s, n);
}

void
penc_error(struct penc *e, uint32_t code, const char *message)
{
	penc_u32(e, code);
	penc_str(e, message);
}

/* ---------------------------------------------------------------- decoder */

void
pdec_init(struct pdec *d, const void *p, size_t len)
{
	*d = (struct pdec){ .p = p, .len = len };
}

uint8_t
pdec_u8(struct pdec *d)
{
	const uint8_t *p = pdec_take(d, 1);

	return p ? p[0] : 0;
}

uint16_t
pdec_u16(struct pdec *d)
{
	const uint8_t *p = pdec_take(d, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
pdec_u32(struct pdec *d)
{
	const uint8_t *p = pdec_take(d, 4);

	if (p == NULL)
		return 0;
	return proto_get_be32(p);
}

uint64_t
pdec_u64(struct pdec *d)
{
	uint64_t hi = pdec_u32(d);

	return hi << 32 | pdec_u32(d);
}

const uint8_t *
pdec_bytes(struct pdec *d, size_t *lenp)
{
	uint32_t n = pdec_u32(d);
	const uint8_t *p = pdec_take(d, n);

	*lenp = p ? n : 0;
	return p;
}

/*
 * A string field as pdec_str reads it, its first keep bytes as a new
 * NUL-terminated string; NULL (d failed) on error or out of memory.
 */
static char *
str_dup(struct pdec *d, size_t max, size_t keep)
{
	const uint8_t *p;
	size_t n;
	char *s;

	if ((p = pdec_str(d, max, &n)) == NULL)
		return NULL;
	if (n > keep)
		n = keep;
	if ((s = malloc(n + 1)) == NULL) {
		d->err = 1;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *
pdec_strdup(struct pdec *d, size_t max)
{
	return str_dup(d, max, max);
}

char *
pdec_strclip(struct pdec *d, size_t keep)
{
	return str_dup(d, SIZE_MAX, keep);
}

void
pdec_strbuf(struct pdec *d, char *buf, size_t bufsz)
{
	const uint8_t *p;
	size_t n;

	if (bufsz == 0) {
		d->err = 1;	/* no room for even the NUL */
		return;
	}
	buf[0] = '\0';
	if ((p = pdec_str(d, bufsz - 1, &n)) == NULL)
		return;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

int
pdec_done(struct pdec *d)
{
	return (d->err || d->off != d->len) ? -1 : 0;
}
