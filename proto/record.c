/*
 * The walks over a stored record's rows (record.h): one encoder, one
 * decoder (older formats included), free, copy, the merge of an update
 * and the bounds check, for every record described by its rows.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "util.h"

#define S(p)	((p) != NULL ? (p) : "")

#define AT(s, off)	((unsigned char *)(s) + (off))
#define CAT(s, off)	((const unsigned char *)(s) + (off))

/* Bytes a string of bound characters may take (UTF-8: 4 a character). */
#define TEXT_BYTES(f)	(4 * (size_t)(f)->bound)

int
rl_version(const struct rlayout *l)
{
	size_t i;
	int v;

	/* The rows never change: worked out once (record.h). */
	if (l->version != NULL && (v = atomic_load_explicit(l->version,
	    memory_order_relaxed)) != 0)
		return v;
	v = 1;
	for (i = 0; i < l->nf; i++) {
		if (l->f[i].since > v)
			v = l->f[i].since;
		if (l->f[i].kind == RF_GONE && (int)l->f[i].x > v)
			v = (int)l->f[i].x;
	}
	if (l->version != NULL)
		atomic_store_explicit(l->version, v, memory_order_relaxed);
	return v;
}

uint64_t
rl_fingerprint(uint64_t h, const struct rlayout *l)
{
	const struct rfield *f;
	size_t i;

	h = proto_fnv1a_u64(h, l->nf);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		h = proto_fnv1a_u64(h, f->kind);
		if (f->kind == RF_OWN)
			h = proto_fnv1a(h, f->codec->kind,
			    strlen(f->codec->kind) + 1);
		h = proto_fnv1a_u64(h, f->since);
		h = proto_fnv1a_u64(h, f->bound);
		h = proto_fnv1a_u64(h, f->x);
	}
	return h;
}

/* Whether format version has row f. */
static int
row_in(const struct rfield *f, int version)
{
	return f->since <= version &&
	    (f->kind != RF_GONE || version < (int)f->x);
}

static uint32_t
get_u32(const void *rec, size_t off)
{
	uint32_t v;

	memcpy(&v, CAT(rec, off), sizeof(v));
	return v;
}

static void
put_u32(void *rec, size_t off, uint32_t v)
{
	memcpy(AT(rec, off), &v, sizeof(v));
}

static char *
get_ptr(const void *rec, size_t off)
{
	char *p;

	memcpy(&p, CAT(rec, off), sizeof(p));
	return p;
}

static void
put_ptr(void *rec, size_t off, char *p)
{
	memcpy(AT(rec, off), &p, sizeof(p));
}

/*
 * Stores v in rec's number row f as its kind lays it out: a byte (BOOL,
 * ENUM, U8), a uint32_t (U32, COUNT) or a uint64_t (TIME); no other kind.
 */
static void
put_num(const struct rfield *f, void *rec, uint64_t v)
{
	switch (f->kind) {
	case RF_BOOL:
	case RF_ENUM:
	case RF_U8:
		*AT(rec, f->off) = (uint8_t)v;
		break;
	case RF_U32:
	case RF_COUNT:
		put_u32(rec, f->off, (uint32_t)v);
		break;
	case RF_TIME:
		memcpy(AT(rec, f->off), &v, sizeof(v));
		break;
	}
}

char **
rl_strings(const struct rfield *f, const void *rec, uint32_t *n)
{
	*n = get_u32(rec, f->count);
	if (f->kind == RF_LIST)
		return (char **)(void *)get_ptr(rec, f->off);
	return (char **)(void *)AT(rec, f->off);
}

/* ------------------------------------------------------------ encoding */

/*
 * The rows of many strings or a codec of their own (LIST, ARRAY, GONE,
 * OWN): enc_field's uncommon cases, kept out of it so that the common
 * ones take no saving of the registers their loop needs.
 */
static void __attribute__((noinline))
enc_field_rest(struct penc *e, const struct rfield *f, const void *rec)
{
	char **a;
	uint32_t n, i;

	switch (f->kind) {
	case RF_LIST:
	case RF_ARRAY:
		a = rl_strings(f, rec, &n);
		if (n > f->bound || (n > 0 && a == NULL)) {
			e->err = 1;
			break;
		}
		penc_u32(e, n);
		for (i = 0; i < n; i++)
			penc_str(e, a[i]);
		break;
	case RF_GONE:
		penc_str(e, "");	/* an older format's, empty */
		break;
	case RF_OWN:
		f->codec->enc(e, rec, f);
		break;
	default:
		e->err = 1;
	}
}

/*
 * Row f of rec, inline in the walks: an event's conversation and message
 * are some 55 rows, each of them a call with its registers saved and
 * restored, a third of the row's instructions (callgrind).
 */
static inline void
enc_field(struct penc *e, const struct rfield *f, const void *rec)
{
	uint64_t v64;
	uint8_t *p;

	switch (f->kind) {
	case RF_BUF:
	case RF_SECRET:
		penc_str(e, (const char *)CAT(rec, f->off));
		break;
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
		penc_str(e, get_ptr(rec, f->off));
		break;
	case RF_BOOL:
	case RF_ENUM:
	case RF_U8:
		if ((p = penc_room(e, 1)) != NULL)
			*p = *CAT(rec, f->off);
		break;
	case RF_U32:
	case RF_COUNT:
		penc_u32(e, get_u32(rec, f->off));
		break;
	case RF_TIME:
		memcpy(&v64, CAT(rec, f->off), sizeof(v64));
		if ((p = penc_room(e, 8)) != NULL) {
			proto_put_be32(p, (uint32_t)(v64 >> 32));
			proto_put_be32(p + 4, (uint32_t)v64);
		}
		break;
	default:
		enc_field_rest(e, f, rec);
	}
}

void
rl_enc(struct penc *e, const struct rlayout *l, const void *rec)
{
	size_t i;

	/* The newest format has every row but the dropped ones. */
	for (i = 0; i < l->nf; i++)
		if (l->f[i].kind != RF_GONE)
			enc_field(e, &l->f[i], rec);
}

void
rl_enc_as(struct penc *e, const struct rlayout *l, const void *rec,
    int version)
{
	size_t i;

	for (i = 0; i < l->nf; i++)
		if (row_in(&l->f[i], version))
			enc_field(e, &l->f[i], rec);
}

/* ------------------------------------------------------------ decoding */

/* A LIST or ARRAY row's count of strings, checked (0 when d failed). */
static uint32_t
strings_count(struct pdec *d, const struct rfield *f)
{
	uint32_t n = pdec_u32(d);

	/* Each string takes its 4-byte length at least. */
	if (d->err || n > f->bound || n > (d->len - d->off) / 4) {
		d->err = 1;
		return 0;
	}
	return n;
}

/*
 * The bytes one string of row f may hold, as its read checks them: a
 * buffer's room less its NUL, a text's characters at 4 bytes, a list's
 * each string.
 */
static size_t
str_max(const struct rfield *f)
{
	switch (f->kind) {
	case RF_BUF:
	case RF_SECRET:
		return f->size - 1;
	case RF_TEXT:
	case RF_STR:
		return TEXT_BYTES(f);
	case RF_BYTES:
		return f->bound;
	default:
		return f->x;
	}
}

static void
dec_strings(struct pdec *d, const struct rfield *f, void *rec)
{
	uint32_t n, i;
	char **a;

	if ((n = strings_count(d, f)) == 0)
		return;
	if (f->kind == RF_LIST) {
		if ((a = calloc(n, sizeof(*a))) == NULL) {
			d->err = 1;
			return;
		}
		put_ptr(rec, f->off, (char *)(void *)a);
	} else
		a = (char **)(void *)AT(rec, f->off);
	for (i = 0; i < n && !d->err; i++) {
		a[i] = pdec_strdup(d, str_max(f));
		put_u32(rec, f->count, i + 1);
	}
}

/*
 * A BUF's or SECRET's string into its buffer (zeroed), as pdec_strbuf
 * reads it (pdec_str: at most the buffer's room less its NUL, no NUL
 * among its bytes), without its call.
 */
static void
dec_buf(struct pdec *d, const struct rfield *f, void *rec)
{
	const uint8_t *p;
	size_t n;

	if ((p = pdec_str(d, f->size - 1, &n)) == NULL)
		return;
	memcpy(AT(rec, f->off), p, n);
	*AT(rec, f->off + n) = '\0';
}

static void
dec_field(struct pdec *d, const struct rfield *f, void *rec)
{
	const uint8_t *p;
	uint64_t v64;
	size_t n;

	switch (f->kind) {
	case RF_BUF:
	case RF_SECRET:
		dec_buf(d, f, rec);
		break;
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
		put_ptr(rec, f->off, pdec_strdup(d, str_max(f)));
		break;
	case RF_BOOL:
	case RF_ENUM:
	case RF_U8:
		if ((p = pdec_take(d, 1)) != NULL)
			*AT(rec, f->off) = *p;
		break;
	case RF_U32:
	case RF_COUNT:
		if ((p = pdec_take(d, 4)) != NULL)
			put_u32(rec, f->off, proto_get_be32(p));
		break;
	case RF_TIME:
		if ((p = pdec_take(d, 8)) != NULL) {
			v64 = (uint64_t)proto_get_be32(p) << 32 |
			    proto_get_be32(p + 4);
			memcpy(AT(rec, f->off), &v64, sizeof(v64));
		}
		break;
	case RF_LIST:
	case RF_ARRAY:
		dec_strings(d, f, rec);
		break;
	case RF_GONE:
		(void)pdec_bytes(d, &n);
		if (n > f->bound)
			d->err = 1;
		break;
	case RF_OWN:
		f->codec->dec(d, rec, f);
		break;
	default:
		d->err = 1;
	}
}

int
rl_row_strings(const struct rfield *f)
{
	switch (f->kind) {
	case RF_BUF:
	case RF_SECRET:
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
	case RF_LIST:
	case RF_ARRAY:
		return 1;
	default:
		return 0;
	}
}

/*
 * Row f (rl_row_strings) read and checked as dec_field reads it, nothing
 * kept: rec's row stays zero.
 */
static void
skip_field(struct pdec *d, const struct rfield *f)
{
	uint32_t n = 1, i;
	size_t len;

	if (f->kind == RF_LIST || f->kind == RF_ARRAY)
		n = strings_count(d, f);
	for (i = 0; i < n && !d->err; i++)
		(void)pdec_str(d, str_max(f), &len);
}

/* Row f's default in rec (zeroed); with strs, its strings "" too. */
static int
set_default(const struct rfield *f, void *rec, int strs)
{
	char *s;

	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
		if (!strs)
			break;
		if ((s = strdup("")) == NULL)
			return -1;
		put_ptr(rec, f->off, s);
		break;
	case RF_BOOL:
	case RF_ENUM:
	case RF_U8:
	case RF_U32:
	case RF_COUNT:
		put_num(f, rec, f->x);
		break;
	default:
		/* Zero: "", none, 0. */
		break;
	}
	return 0;
}

void
rl_defaults(const struct rlayout *l, void *rec)
{
	size_t i;

	memset(rec, 0, l->size);
	for (i = 0; i < l->nf; i++)
		(void)set_default(&l->f[i], rec, 0);
}

int
rl_dec(struct pdec *d, const struct rlayout *l, void *rec, int version)
{
	return rl_dec_rows(d, l, rec, version, RL_ALL_ROWS);
}

int
rl_dec_rows(struct pdec *d, const struct rlayout *l, void *rec, int version,
    uint64_t rows)
{
	const struct rfield *f;
	size_t i;
	int kept;

	memset(rec, 0, l->size);
	if (version < 1 || version > rl_version(l))
		d->err = 1;
	for (i = 0; i < l->nf && !d->err; i++) {
		f = &l->f[i];
		kept = i >= 64 || (rows >> i & 1) != 0 || !rl_row_strings(f);
		if (!row_in(f, version)) {
			if (set_default(f, rec, kept) < 0)
				d->err = 1;
		} else if (kept)
			dec_field(d, f, rec);
		else
			skip_field(d, f);
	}
	if (!d->err && l->refuse != NULL && l->refuse(rec))
		d->err = 1;
	if (d->err) {
		rl_free(l, rec);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------- free, copy, merge */

/*
 * Frees what row f of rec holds, leaving its bytes as they are: the
 * caller wipes them (a hidden row's string is wiped here, before free).
 */
static void
row_release(const struct rfield *f, void *rec)
{
	char **a, *s;
	uint32_t n, i;

	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
		s = get_ptr(rec, f->off);
		/* A hidden row's string (a key): not left in freed memory. */
		if (s != NULL && f->view == RF_HID)
			explicit_bzero(s, strlen(s));
		free(s);
		break;
	case RF_LIST:
	case RF_ARRAY:
		a = rl_strings(f, rec, &n);
		for (i = 0; a != NULL && i < n && i < f->bound; i++)
			free(a[i]);
		if (f->kind == RF_LIST)
			free(a);
		put_u32(rec, f->count, 0);
		break;
	case RF_OWN:
		if (f->codec->free != NULL)
			f->codec->free(rec, f);
		break;
	}
}

/*
 * The zeroing after a free is explicit_bzero, which the compiler keeps
 * even where nothing reads the bytes again: a secret's (a webhook's) or
 * a hidden row's are never left behind, with one write.
 */
void
rl_row_free(const struct rfield *f, void *rec)
{
	row_release(f, rec);
	explicit_bzero(AT(rec, f->off), f->size);
}

/* Whether row f of a record may hold an allocation (row_release's kinds). */
static int
row_owns(const struct rfield *f)
{
	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
	case RF_LIST:
	case RF_ARRAY:
	case RF_OWN:
		return 1;
	default:
		return 0;
	}
}

/* l's first 64 rows that row_owns, bit i row i (struct rlayout's owns). */
static uint64_t
rl_owns(const struct rlayout *l)
{
	uint64_t m = 0;
	size_t i;

	if (l->owns != NULL && (m = atomic_load_explicit(l->owns,
	    memory_order_relaxed)) != 0)
		return m;
	for (i = 0; i < l->nf && i < 64; i++)
		if (row_owns(&l->f[i]))
			m |= RL_ROW(i);
	if (l->owns != NULL)
		atomic_store_explicit(l->owns, m, memory_order_relaxed);
	return m;
}

/*
 * Frees what rec holds, its bytes left: only the rows that may hold
 * something visited (4 of a conversation's 41), a turn's hot path.
 */
static void
release_rows(const struct rlayout *l, void *rec)
{
	uint64_t m;
	size_t i;

	for (m = rl_owns(l); m != 0; m &= m - 1)
		row_release(&l->f[__builtin_ctzll(m)], rec);
	for (i = 64; i < l->nf; i++)
		if (row_owns(&l->f[i]))
			row_release(&l->f[i], rec);
}

void
rl_free(const struct rlayout *l, void *rec)
{
	/* One zeroing of the whole, not one a row. */
	release_rows(l, rec);
	explicit_bzero(rec, l->size);
}

int
rl_row_secret(const struct rfield *f)
{
	return f->kind == RF_SECRET || (f->view == RF_HID &&
	    (rl_row_strings(f) || f->kind == RF_OWN));
}

/* Whether a row of l holds a secret (struct rlayout's secret). */
static int
rl_secret(const struct rlayout *l)
{
	size_t i;
	int s;

	if (l->secret != NULL && (s = atomic_load_explicit(l->secret,
	    memory_order_relaxed)) != 0)
		return s == 2;
	for (s = 1, i = 0; i < l->nf && s == 1; i++)
		if (rl_row_secret(&l->f[i]))
			s = 2;
	if (l->secret != NULL)
		atomic_store_explicit(l->secret, s, memory_order_relaxed);
	return s == 2;
}

void
rl_release(const struct rlayout *l, void *rec)
{
	release_rows(l, rec);
	/* A secret's bytes never stay behind, whoever drops the record. */
	if (rl_secret(l))
		explicit_bzero(rec, l->size);
}

void
rl_free_all(const struct rlayout *l, void *recs, uint32_t n)
{
	uint32_t i;

	for (i = 0; recs != NULL && i < n; i++)
		rl_free(l, (char *)recs + (size_t)i * l->size);
	free(recs);
}

/* Row f of dst (holding src's bytes) without src's allocations. */
static void
clear_field(const struct rfield *f, void *dst)
{
	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
	case RF_LIST:
		put_ptr(dst, f->off, NULL);
		if (f->kind == RF_LIST)
			put_u32(dst, f->count, 0);
		break;
	case RF_ARRAY:
		memset(AT(dst, f->off), 0, f->size);
		put_u32(dst, f->count, 0);
		break;
	case RF_OWN:
		/* What it allocated is src's: its copy makes dst's own. */
		if (f->codec->free != NULL)
			memset(AT(dst, f->off), 0, f->size);
		break;
	}
}

/* Row f of src into dst (cleared): -1 out of memory. */
static int
copy_field(const struct rfield *f, void *dst, const void *src)
{
	char **from, **to;
	uint32_t n, i;

	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
	case RF_BYTES:
		put_ptr(dst, f->off, strdup(S(get_ptr(src, f->off))));
		return get_ptr(dst, f->off) == NULL ? -1 : 0;
	case RF_LIST:
	case RF_ARRAY:
		from = rl_strings(f, src, &n);
		if (f->kind == RF_LIST && n > 0) {
			if ((to = calloc(n, sizeof(*to))) == NULL)
				return -1;
			put_ptr(dst, f->off, (char *)(void *)to);
		} else
			to = (char **)(void *)AT(dst, f->off);
		for (i = 0; i < n && i < f->bound; i++) {
			if ((to[i] = strdup(S(from[i]))) == NULL)
				return -1;
			put_u32(dst, f->count, i + 1);
		}
		return 0;
	case RF_OWN:
		return f->codec->copy != NULL ? f->codec->copy(dst, src, f) : 0;
	default:
		return 0;
	}
}

int
rl_copy(const struct rlayout *l, void *dst, const void *src)
{
	size_t i;

	memcpy(dst, src, l->size);
	for (i = 0; i < l->nf; i++)
		clear_field(&l->f[i], dst);
	for (i = 0; i < l->nf; i++)
		if (copy_field(&l->f[i], dst, src) < 0) {
			rl_free(l, dst);
			return -1;
		}
	return 0;
}

static void
swap_bytes(void *a, void *b, size_t n)
{
	unsigned char *x = a, *y = b, t;

	while (n-- > 0) {
		t = *x;
		*x++ = *y;
		*y++ = t;
	}
}

void
rl_merge(const struct rlayout *l, void *cur, void *req, uint64_t mask)
{
	const struct rfield *f;
	size_t i;

	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if ((mask & f->bit) == 0)
			continue;
		swap_bytes(AT(cur, f->off), AT(req, f->off), f->size);
		if (f->kind == RF_LIST || f->kind == RF_ARRAY)
			swap_bytes(AT(cur, f->count), AT(req, f->count),
			    sizeof(uint32_t));
	}
}

/* --------------------------------------------------------------- checks */

static _Thread_local char why[160];

static const char *say(const struct rfield *, const char *, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static const char *
say(const struct rfield *f, const char *fmt, ...)
{
	char what[100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "%s: %s", f->json, what);
	return why;
}

void
rl_enum_names(const struct rfield *f, int quoted, char *buf, size_t sz)
{
	const char *n, *q = quoted ? "\"" : "";
	uint32_t i;
	size_t len;

	for (i = 0; i <= f->bound && (n = f->name((int)i)) != NULL; i++) {
		len = strlen(buf);
		snprintf(buf + len, sz - len, "%s%s%s%s",
		    i == 0 ? "" : i == f->bound ? " or " : ", ", q, n, q);
	}
}

/* "json: must be a, b or c": an ENUM's names. */
static const char *
say_names(const struct rfield *f)
{
	snprintf(why, sizeof(why), "%s: must be ", f->json);
	rl_enum_names(f, 0, why, sizeof(why));
	return why;
}

/* "json: must be an integer from least to bound": a U8's or U32's. */
static const char *
say_range(const struct rfield *f)
{
	return say(f, "must be an integer from %u to %u", f->least, f->bound);
}

static const char *
field_invalid(const struct rfield *f, const void *rec)
{
	const char *s;
	uint32_t n;

	switch (f->kind) {
	case RF_TEXT:
	case RF_STR:
		s = S(get_ptr(rec, f->off));
		if (f->x > 0 && (!proto_text_fits(s, f->bound) ||
		    proto_utf8_chars(s, strlen(s)) < (ssize_t)f->x))
			return say(f, "must be %u to %u characters of UTF-8",
			    f->x, f->bound);
		if (!proto_text_fits(s, f->bound))
			return say(f, "must be at most %u characters of UTF-8",
			    f->bound);
		break;
	case RF_BYTES:
		s = S(get_ptr(rec, f->off));
		if (strlen(s) > f->bound || !proto_utf8_valid(s, strlen(s)))
			return say(f, "must be at most %u bytes of UTF-8",
			    f->bound);
		break;
	case RF_BOOL:
		if (*CAT(rec, f->off) > 1)
			return say(f, "must be a boolean");
		break;
	case RF_ENUM:
		if (*CAT(rec, f->off) > f->bound)
			return say_names(f);
		break;
	case RF_U8:
		n = *CAT(rec, f->off);
		if (n < f->least || n > f->bound)
			return say_range(f);
		break;
	case RF_U32:
		n = get_u32(rec, f->off);
		if (n < f->least || n > f->bound)
			return say_range(f);
		break;
	case RF_COUNT:
		if (get_u32(rec, f->off) > f->bound)
			return say(f, "must be at most %u", f->bound);
		break;
	case RF_LIST:
	case RF_ARRAY:
		rl_strings(f, rec, &n);
		if (n > f->bound)
			return say(f, "at most %u", f->bound);
		break;
	}
	return NULL;
}

/* The first row out of its bounds: every row (all), else those in mask. */
static const char *
rows_invalid(const struct rlayout *l, const void *rec, uint64_t mask,
    int all)
{
	const char *w;
	size_t i;

	for (i = 0; i < l->nf; i++)
		if ((all || (l->f[i].bit & mask) != 0) &&
		    (w = field_invalid(&l->f[i], rec)) != NULL)
			return w;
	return NULL;
}

const char *
rl_invalid(const struct rlayout *l, const void *rec)
{
	return rows_invalid(l, rec, 0, 1);
}

const char *
rl_rows_invalid(const struct rlayout *l, const void *rec, uint64_t mask)
{
	return rows_invalid(l, rec, mask, 0);
}

const struct rfield *
rl_field(const struct rlayout *l, const char *json)
{
	size_t i;

	for (i = 0; i < l->nf; i++)
		if (l->f[i].json != NULL && strcmp(l->f[i].json, json) == 0)
			return &l->f[i];
	return NULL;
}

/* ------------------------------------------------------------ enum names */

const char *
rl_enum_name(const char *const *names, int n, int v)
{
	return v >= 0 && v < n ? names[v] : NULL;
}

int
rl_enum_parse(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}
