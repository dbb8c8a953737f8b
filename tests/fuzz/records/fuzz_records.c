/*
 * libFuzzer target for the walks over a stored record's rows
 * (proto/record.c), for every layout in rl_layouts (proto/layouts.c):
 * byte 0 picks the layout, byte 1 the record format it is read as (1 to
 * rl_version), and the rest is the record as rl_dec reads it. What
 * decodes is checked (rl_invalid), copied (rl_copy), and the record and
 * its copy are encoded in the current format: the two must be the same
 * bytes, which read at the current format encode to themselves again
 * (and, read at the current format, are what rl_dec took of the input).
 * A failed decode, and each free, leave the record zeroed. The input is
 * also read keeping some rows' strings only (rl_dec_rows, the rows a hash
 * of the input picks), without the layout's refuse both ways: it reads
 * when the whole read does, as that record with the rows of strings not
 * kept emptied. Everything is freed (LeakSanitizer checks). The seeds,
 * a few records of each layout in each format, are written by
 * tests/unit/proto/test_records.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "record.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs longer than this are not read (make fuzz's -max_len is less). */
#define INPUT_MAX	(1u << 20)

/* rec in the current format into e, which must not fail. */
static void
encode(struct penc *e, const struct rlayout *l, const void *rec)
{
	penc_init(e);
	rl_enc(e, l, rec);
	if (e->err)
		abort();
}

static int
same(const struct penc *a, const struct penc *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}

/* l's record and its copy: both encode to the same bytes, into *e. */
static void
check_copy(const struct rlayout *l, void *rec, void *cp, struct penc *e)
{
	struct penc e2;

	encode(e, l, rec);
	if (rl_copy(l, cp, rec) < 0) {
		if (!proto_zeroed(cp, l->size))
			abort();
		return;
	}
	encode(&e2, l, cp);
	if (!same(e, &e2))
		abort();
	penc_free(&e2);
	rl_free(l, cp);
	if (!proto_zeroed(cp, l->size))
		abort();
}

/* e (l's current format) decodes and encodes to itself. */
static void
check_again(const struct rlayout *l, void *rec, const struct penc *e)
{
	struct penc e2;
	struct pdec d;

	pdec_init(&d, e->buf, e->len);
	if (rl_dec(&d, l, rec, rl_version(l)) < 0 || pdec_done(&d) < 0)
		abort();
	encode(&e2, l, rec);
	if (!same(e, &e2))
		abort();
	penc_free(&e2);
	rl_free(l, rec);
}

/* Which rows check_rows keeps: a hash of the input (FNV-1a). */
static uint64_t
rows_of(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h;
}

/*
 * data read as version by l without its refuse, whole and keeping rows
 * only: both read or neither; when they do, the second is the first
 * with its unkept rows of strings emptied.
 */
static void
check_rows(const struct rlayout *l0, const uint8_t *data, size_t size,
    int version, void *full, void *part)
{
	struct rlayout l = *l0;
	uint64_t rows = rows_of(data, size);
	struct penc a, b;
	struct pdec d;
	int fa, fb;
	size_t i;

	l.refuse = NULL;
	pdec_init(&d, data, size);
	fa = rl_dec(&d, &l, full, version);
	pdec_init(&d, data, size);
	fb = rl_dec_rows(&d, &l, part, version, rows);
	if (fa != fb)
		abort();
	if (fa < 0)
		return;
	for (i = 0; i < l.nf; i++)
		if (i < 64 && (rows >> i & 1) == 0 && rl_row_strings(&l.f[i]))
			rl_row_free(&l.f[i], full);
	encode(&a, &l, full);
	encode(&b, &l, part);
	if (!same(&a, &b))
		abort();
	penc_free(&a);
	penc_free(&b);
	rl_free(&l, full);
	rl_free(&l, part);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rlayout *l;
	const char *why;
	struct penc e;
	struct pdec d;
	void *rec, *cp;
	int version;

	if (size < 2 || size > INPUT_MAX || rl_nlayouts == 0)
		return 0;
	l = rl_layouts[data[0] % rl_nlayouts];
	version = 1 + data[1] % rl_version(l);
	data += 2;
	size -= 2;
	if ((rec = malloc(l->size)) == NULL)
		return 0;
	if ((cp = calloc(1, l->size)) == NULL) {
		free(rec);
		return 0;
	}
	check_rows(l, data, size, version, rec, cp);
	memset(rec, 0xa5, l->size);
	pdec_init(&d, data, size);
	if (rl_dec(&d, l, rec, version) < 0) {
		if (!proto_zeroed(rec, l->size))
			abort();
		goto out;
	}
	if (d.off > size)
		abort();
	/* Out of its bounds or not, a record decoded is walked the same. */
	if ((why = rl_invalid(l, rec)) != NULL && *why == '\0')
		abort();
	check_copy(l, rec, cp, &e);
	/* In the current format, the encoding is what was read. */
	if (version == rl_version(l) &&
	    (e.len != d.off || (e.len > 0 && memcmp(e.buf, data, e.len) != 0)))
		abort();
	rl_free(l, rec);
	if (!proto_zeroed(rec, l->size))
		abort();
	check_again(l, rec, &e);
	penc_free(&e);
out:
	free(cp);
	free(rec);
	return 0;
}
