/*
 * The one encoder, decoder and free of every described payload
 * (msgcodec.h): each walks a layout's fields in order.
 */
#include <stdlib.h>
#include <string.h>

#include "msgcodec.h"
#include "record.h"
#include "util.h"

const struct playout pl_empty = { "empty", 0, NULL, 0, NULL, NULL, NULL, NULL };

#define AT(s, off)	((unsigned char *)(s) + (off))
#define CAT(s, off)	((const unsigned char *)(s) + (off))

static int pl_dec_fields(struct pdec *, const struct playout *, void *);
static void free_fields(const struct playout *, void *);

/* PF_WHEN's tag names one of the values in its mask. */
static int
when_holds(const struct pfield *f, const void *s)
{
	uint8_t tag = *CAT(s, f->aux);

	return tag < 32 && (f->max & (1u << tag)) != 0;
}

/* A length PF_BYTES field f allows: at most max; exactly, or none, as it says. */
static int
bytes_fit(const struct pfield *f, size_t n)
{
	if (n > f->max)
		return 0;
	if (!(f->flags & PF_F_EXACT) || n == f->max)
		return 1;
	return n == 0 && (f->flags & PF_F_NONE);
}

static void
enc_list(struct penc *e, const struct pfield *f, const void *s)
{
	const unsigned char *a;
	uint32_t n, i;

	memcpy(&n, CAT(s, f->aux), sizeof(n));
	memcpy(&a, CAT(s, f->off), sizeof(a));
	if (n > f->max || (n > 0 && a == NULL)) {
		e->err = 1;
		return;
	}
	if (!(f->flags & PF_F_SAMEN))
		penc_u32(e, n);
	for (i = 0; i < n; i++)
		pl_enc(e, f->sub, a + (size_t)i * f->sub->size);
}

static void
enc_field(struct penc *e, const struct pfield *f, const void *s)
{
	const char *str;
	uint32_t n;
	size_t len;

	switch (f->kind) {
	case PF_U8:
		penc_u8(e, *CAT(s, f->off));
		break;
	case PF_U32: {
		uint32_t v;

		memcpy(&v, CAT(s, f->off), sizeof(v));
		penc_u32(e, v);
		break;
	}
	case PF_U64: {
		uint64_t v;

		memcpy(&v, CAT(s, f->off), sizeof(v));
		penc_u64(e, v);
		break;
	}
	case PF_STR:
		memcpy(&str, CAT(s, f->off), sizeof(str));
		/* Its length counted once (a content: up to 64 KiB). */
		len = str != NULL ? strlen(str) : 0;
		if (len > f->max + !!(f->flags & PF_F_CLIP))
			e->err = 1;
		penc_strn(e, str != NULL ? str : "", len);
		break;
	case PF_BUF:
		penc_str(e, (const char *)CAT(s, f->off));
		break;
	case PF_BYTES:
		memcpy(&n, CAT(s, f->aux), sizeof(n));
		/* What the receiver refuses is not sent. */
		if (!bytes_fit(f, n))
			e->err = 1;
		else
			penc_bytes(e, CAT(s, f->off), n);
		break;
	case PF_REC:
		pl_enc(e, f->sub, CAT(s, f->off));
		break;
	case PF_LIST:
		enc_list(e, f, s);
		break;
	case PF_WHEN:
		if (when_holds(f, s))
			pl_enc(e, f->sub, CAT(s, f->off));
		break;
	default:
		e->err = 1;
	}
}

void
pl_enc(struct penc *e, const struct playout *l, const void *s)
{
	size_t i;

	if (l->enc != NULL) {
		l->enc(e, s);
		return;
	}
	for (i = 0; i < l->nf && !e->err; i++)
		enc_field(e, &l->f[i], s);
}

static void
dec_bytes(struct pdec *d, const struct pfield *f, void *s)
{
	const uint8_t *p;
	uint32_t n32;
	size_t n;

	if ((p = pdec_bytes(d, &n)) == NULL)
		return;
	if (!bytes_fit(f, n)) {
		d->err = 1;
		return;
	}
	memcpy(AT(s, f->off), p, n);
	n32 = (uint32_t)n;
	memcpy(AT(s, f->aux), &n32, sizeof(n32));
}

static void
dec_list(struct pdec *d, const struct pfield *f, void *s)
{
	unsigned char *a;
	uint32_t n, i;

	if (f->flags & PF_F_SAMEN)
		memcpy(&n, AT(s, f->aux), sizeof(n));
	else
		n = pdec_u32(d);
	/* Every element takes a byte at least: no count past the payload. */
	if (d->err || n > f->max || n > d->len - d->off) {
		d->err = 1;
		return;
	}
	if (!(f->flags & PF_F_SAMEN))
		memcpy(AT(s, f->aux), &n, sizeof(n));
	if (n == 0)
		return;
	if ((a = calloc(n, f->sub->size)) == NULL) {
		d->err = 1;
		return;
	}
	memcpy(AT(s, f->off), &a, sizeof(a));
	for (i = 0; i < n && !d->err; i++)
		(void)pl_dec_fields(d, f->sub, a + (size_t)i * f->sub->size);
}

static void
dec_field(struct pdec *d, const struct pfield *f, void *s)
{
	char *str;

	switch (f->kind) {
	case PF_U8:
		*AT(s, f->off) = pdec_u8(d);
		break;
	case PF_U32: {
		uint32_t v = pdec_u32(d);

		memcpy(AT(s, f->off), &v, sizeof(v));
		break;
	}
	case PF_U64: {
		uint64_t v = pdec_u64(d);

		memcpy(AT(s, f->off), &v, sizeof(v));
		break;
	}
	case PF_STR:
		str = (f->flags & PF_F_CLIP) ? pdec_strclip(d, f->max + 1) :
		    pdec_strdup(d, f->max);
		memcpy(AT(s, f->off), &str, sizeof(str));
		break;
	case PF_BUF:
		pdec_strbuf(d, (char *)AT(s, f->off), f->max + 1);
		break;
	case PF_BYTES:
		dec_bytes(d, f, s);
		break;
	case PF_REC:
		(void)pl_dec_fields(d, f->sub, AT(s, f->off));
		break;
	case PF_LIST:
		dec_list(d, f, s);
		break;
	case PF_WHEN:
		if (when_holds(f, s))
			(void)pl_dec_fields(d, f->sub, AT(s, f->off));
		break;
	default:
		d->err = 1;
	}
}

/* Reads s's fields; on error d is failed and s is left for pl_free. */
static int
pl_dec_fields(struct pdec *d, const struct playout *l, void *s)
{
	size_t i;

	if (l->dec != NULL) {
		if (d->err)
			return -1;
		if (l->dec(d, s) < 0) {
			d->err = 1;
			return -1;
		}
		return 0;
	}
	for (i = 0; i < l->nf && !d->err; i++)
		dec_field(d, &l->f[i], s);
	return d->err ? -1 : 0;
}

int
pl_dec(struct pdec *d, const struct playout *l, void *s)
{
	if (pl_dec_fields(d, l, s) < 0) {
		pl_free(l, s);
		return -1;
	}
	return 0;
}

int
pl_decode(const struct playout *l, const void *payload, size_t len, void *s)
{
	struct pdec d;

	memset(s, 0, l->size);
	pdec_init(&d, payload, len);
	if (pl_dec(&d, l, s) < 0)
		return -1;
	if (pdec_done(&d) < 0) {
		pl_free(l, s);
		return -1;
	}
	return 0;
}

static void
free_list(const struct pfield *f, void *s)
{
	unsigned char *a;
	uint32_t n, i;

	memcpy(&a, AT(s, f->off), sizeof(a));
	memcpy(&n, AT(s, f->aux), sizeof(n));
	if (a == NULL)
		return;
	/*
	 * Each element's fields, not its bytes: the array is freed next
	 * (zeroing a history's 688-byte messages one by one was some 3,000
	 * instructions a turn). A record wipes its secrets itself (rl_free).
	 */
	for (i = 0; i < n; i++)
		free_fields(f->sub, a + (size_t)i * f->sub->size);
	free(a);
}

/* Frees s's fields; zeroes nothing (pl_free zeroes the whole). */
static void
free_fields(const struct playout *l, void *s)
{
	const struct pfield *f;
	char *str;
	size_t i;

	if (l->free != NULL) {
		l->free(s);
		return;
	}
	/* Backwards: a list sharing its count (PF_F_SAMEN) goes first. */
	for (i = l->nf; i-- > 0;) {
		f = &l->f[i];
		switch (f->kind) {
		case PF_STR:
			memcpy(&str, AT(s, f->off), sizeof(str));
			free(str);
			break;
		case PF_REC:
		case PF_WHEN:
			free_fields(f->sub, AT(s, f->off));
			break;
		case PF_LIST:
			free_list(f, s);
			break;
		}
	}
}

void
pl_free(const struct playout *l, void *s)
{
	free_fields(l, s);
	memset(s, 0, l->size);
}

void
pl_release(const struct playout *l, void *s)
{
	free_fields(l, s);
}

uint64_t
pl_fingerprint(uint64_t h, const struct playout *l)
{
	const struct pfield *f;
	size_t i;

	if (l->rows != NULL)
		return rl_fingerprint(h, l->rows);
	if (l->enc != NULL)
		return proto_fnv1a(h, l->name, strlen(l->name) + 1);
	h = proto_fnv1a_u64(h, l->nf);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		h = proto_fnv1a_u64(h, f->kind);
		h = proto_fnv1a_u64(h, f->flags);
		h = proto_fnv1a_u64(h, f->max);
		if (f->sub != NULL)
			h = pl_fingerprint(h, f->sub);
	}
	return h;
}
