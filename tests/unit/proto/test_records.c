/*
 * Unit tests: every record's layout (rl_layouts, proto/layouts.c) walked
 * by proto/record.c, whatever its rows. Samples built from the rows
 * alone (the defaults; every row set; every string and list at its
 * bound; strings of 1- to 4-byte UTF-8 characters; rows out of their
 * bounds that still decode) are written in each record format, the
 * current one and every older one (the rows newer than it left out), and
 * read back as the sample with the newer rows at their defaults; a copy
 * encodes the same; read keeping none, every other or all of its rows'
 * strings (rl_dec_rows), it is the whole read with the strings not kept
 * emptied; cut anywhere, a record fails to decode and is left zeroed
 * (ASan: and nothing leaks). A kind of a record's own (RF_OWN)
 * has its samples here, in its wire form.
 *
 * With RECORDS_SEED_DIR set, each sample in each format is also written
 * there as a seed of tests/fuzz/records (byte 0 the layout's index in
 * rl_layouts, byte 1 the format less one, then the record):
 *   RECORDS_SEED_DIR=tests/fuzz/records/corpus build/test/unit/proto/test_records
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actionmsg.h"
#include "hookmsg.h"
#include "keymsg.h"
#include "record.h"
#include "storemsg.h"
#include "usermsg.h"
#include "widgetmsg.h"
#include "util.h"

#define AT(s, off)	((unsigned char *)(s) + (off))

/* A seed's bytes at most: make fuzz's -max_len (scripts/fuzz.sh). */
#define SEED_MAX	24576
/* Characters of a UTF-8 sample string at most (seeds under SEED_MAX). */
#define UTF8_CHARS	500

enum sample {
	SAM_DEFAULTS,	/* rl_defaults */
	SAM_SET,	/* every row other than its default, short */
	SAM_LONG,	/* every string and list at its bound */
	SAM_UTF8,	/* strings of 1- to 4-byte characters */
	SAM_OUT,	/* rows out of their bounds that still decode */
	SAM_N,
};

static const char *const sample_name[SAM_N] = {
	"defaults", "set", "long", "utf8", "out",
};

/* ------------------------------------------------ a record's own kinds */

/* HOURS (widgetmsg.h): str timezone, u32 n, n x (u8 day, u16, u16). */
static void
hours_sample(struct penc *e, enum sample s)
{
	char tz[TZ_NAME_MAX + 1];
	uint32_t i;

	switch (s) {
	case SAM_SET:
		penc_str(e, "Europe/Paris");
		penc_u32(e, 3);
		penc_u8(e, 0);
		penc_u16(e, 540);
		penc_u16(e, 1020);
		penc_u8(e, 4);
		penc_u16(e, 540);
		penc_u16(e, 720);
		penc_u8(e, 4);
		penc_u16(e, 780);
		penc_u16(e, 960);
		break;
	case SAM_LONG:
		memset(tz, 'z', TZ_NAME_MAX);
		memcpy(tz, "America/", 8);
		tz[TZ_NAME_MAX] = '\0';
		penc_str(e, tz);
		penc_u32(e, ST_HOURS_MAX);
		for (i = 0; i < ST_HOURS_MAX; i++) {
			penc_u8(e, i / ST_HOURS_PER_DAY);
			penc_u16(e, i % ST_HOURS_PER_DAY * 360);
			penc_u16(e, i % ST_HOURS_PER_DAY * 360 + 360);
		}
		break;
	case SAM_UTF8:
		penc_str(e, "Asia/Tokyo");
		penc_u32(e, 1);
		penc_u8(e, 6);
		penc_u16(e, 0);
		penc_u16(e, ST_DAY_MINUTES);
		break;
	case SAM_OUT:
		penc_str(e, "No/Such_Zone");
		penc_u32(e, 2);
		penc_u8(e, 7);
		penc_u16(e, 1500);
		penc_u16(e, 10);
		penc_u8(e, 255);
		penc_u16(e, UINT16_MAX);
		penc_u16(e, UINT16_MAX);
		break;
	default:
		break;
	}
}

/* PAYLOAD (hookmsg.h; a delivery's and a mail's): bytes, any (none, the
 * defaults). */
static void
payload_sample(struct penc *e, enum sample s)
{
	static uint8_t b[4096];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7);
	switch (s) {
	case SAM_SET:
		penc_bytes(e, "{\"type\":\"webhook.test\"}", 23);
		break;
	case SAM_LONG:
		penc_bytes(e, b, sizeof(b));
		break;
	case SAM_UTF8:
		penc_bytes(e, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
		break;
	case SAM_OUT:
		penc_bytes(e, "\x00\xff\xfe", 3);
		break;
	default:
		penc_bytes(e, NULL, 0);
		break;
	}
}

/* HASH (keymsg.h): bytes, 32 or none. */
static void
hash_sample(struct penc *e, enum sample s)
{
	uint8_t h[ST_KEY_HASH_LEN];
	size_t i;

	for (i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(s == SAM_OUT ? 0xff : i + s);
	if (s == SAM_DEFAULTS)
		penc_bytes(e, NULL, 0);
	else
		penc_bytes(e, h, sizeof(h));
}

static char *make_str(const char *, size_t, size_t, int, int);

/* VISITOR (storemsg.h): five str, the page, referrer, agent, language, zone. */
static void
visitor_sample(struct penc *e, enum sample s)
{
	static const size_t max[5] = { ST_VISITOR_URL_MAX,
	    ST_VISITOR_URL_MAX, ST_VISITOR_UA_MAX, ST_VISITOR_LANG_MAX,
	    ST_VISITOR_TZ_MAX };
	static const char *const set[5] = { "https://shop.example/cart",
	    "https://search.example/?q=shoes", "Mozilla/5.0 (X11)", "fr-FR",
	    "Europe/Paris" };
	char *str;
	size_t i;

	for (i = 0; i < 5; i++) {
		switch (s) {
		case SAM_SET:
			penc_str(e, set[i]);
			break;
		case SAM_LONG:
			str = make_str(set[i], max[i], max[i], 1, 0);
			penc_str(e, str);
			free(str);
			break;
		case SAM_UTF8:
			/* Not the shape st_visitor_clean keeps: still read. */
			str = make_str("", max[i] / 4, max[i], 0, 1);
			penc_str(e, str);
			free(str);
			break;
		case SAM_OUT:
			penc_str(e, i == 0 ? "javascript:alert(1)" : "\x01");
			break;
		default:
			penc_str(e, "");
			break;
		}
	}
}

/* PASSWORD (usermsg.h): salt, hash and fp, each of its length. */
static void
password_sample(struct penc *e, enum sample s)
{
	uint8_t b[ST_PW_HASH_LEN];

	memset(b, s == SAM_DEFAULTS ? 0 : 0x11 * (int)s, sizeof(b));
	penc_bytes(e, b, ST_PW_SALT_LEN);
	penc_bytes(e, b, ST_PW_HASH_LEN);
	penc_bytes(e, b, ST_USER_FP_LEN);
}

/* Memberships of each sample: none, some, the most, one, roles out. */
static uint32_t
members_of(enum sample s)
{
	return s == SAM_SET ? 2 : s == SAM_LONG ? ST_MEMBERSHIPS_MAX :
	    s == SAM_UTF8 ? 1 : s == SAM_OUT ? 2 : 0;
}

/* MEMBERS (usermsg.h): u32 n, n x (str org, u8 role). */
static void
members_sample(struct penc *e, enum sample s)
{
	char org[ST_ORG_ID_MAX + 1];
	uint32_t i, n = members_of(s);

	penc_u32(e, n);
	for (i = 0; i < n; i++) {
		if (s == SAM_LONG)
			snprintf(org, sizeof(org), "org_%032x", i);
		else
			snprintf(org, sizeof(org), i == 0 ? "default" :
			    "org-%u", i);
		penc_str(e, org);
		penc_u8(e, s == SAM_OUT ? 200 : 1 + i % 3);
	}
}

/* MEMBER_OFF (usermsg.h): u32 n (members_sample's), n x u8 (0 or 1). */
static void
member_off_sample(struct penc *e, enum sample s)
{
	uint32_t i, n = members_of(s);

	penc_u32(e, n);
	for (i = 0; i < n; i++)
		penc_u8(e, (i + (s == SAM_LONG)) % 2);
}

/*
 * ATTS (storemsg.h): u32 n, n x (str id, u8 type, u32 size, str name,
 * str key).
 * Out of bounds that still decodes: a size past any upload's.
 */
static void
atts_sample(struct penc *e, enum sample s)
{
	char *name;
	uint32_t i, n = s == SAM_DEFAULTS ? 0 : s == SAM_LONG ?
	    ST_MSG_ATTS_MAX : s == SAM_SET ? 2 : 1;

	penc_u32(e, n);
	for (i = 0; i < n; i++) {
		penc_str(e, "att_0123456789abcdef0123456789abcdef");
		penc_u8(e, s == SAM_SET && i == 1 ? ATTACH_PDF : ATTACH_PNG);
		penc_u32(e, s == SAM_OUT ? UINT32_MAX : 1000 + i);
		name = s == SAM_LONG ? make_str("photo", ST_ATT_NAME_MAX,
		    ST_ATT_NAME_MAX, 1, 0) : s == SAM_UTF8 ?
		    make_str("", ST_ATT_NAME_MAX / 4, ST_ATT_NAME_MAX, 0, 1) :
		    NULL;
		penc_str(e, name != NULL ? name : "fork.png");
		penc_str(e, s == SAM_DEFAULTS ? "" : "0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef");
		free(name);
	}
}

/* Writes an own kind's sample in its wire form. */
typedef void own_put(struct penc *, enum sample);

/* Each own kind's samples, by its codec's kind: a new one goes here. */
static const struct {
	const char *kind;
	own_put *put;
} own_samples[] = {
	{ "HOURS", hours_sample },
	{ "PAYLOAD", payload_sample },
	{ "HASH", hash_sample },
	{ "VISITOR", visitor_sample },
	{ "PASSWORD", password_sample },
	{ "MEMBERS", members_sample },
	{ "MEMBER_OFF", member_off_sample },
	{ "ATTS", atts_sample },
};

static own_put *
own_sample(const struct rfield *f)
{
	size_t i;

	for (i = 0; i < sizeof(own_samples) / sizeof(own_samples[0]); i++)
		if (strcmp(own_samples[i].kind, f->codec->kind) == 0)
			return own_samples[i].put;
	return NULL;
}

/* -------------------------------------------------------------- samples */

/*
 * A string of at most chars characters and bytes bytes: stem repeated
 * (once unless full), or with utf8 'a', 'é', '€' and an emoji in turn.
 */
static char *
make_str(const char *stem, size_t chars, size_t bytes, int full, int utf8)
{
	static const char *const piece[] = {
		"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	};
	size_t len = 0, n, k, stemlen = strlen(stem);
	char *s;

	assert_non_null(s = malloc(bytes + 1));
	for (n = 0; n < chars; n++) {
		if (utf8) {
			k = strlen(piece[n % 4]);
			if (len + k > bytes)
				break;
			memcpy(s + len, piece[n % 4], k);
			len += k;
		} else {
			if (len == bytes || stemlen == 0 ||
			    (!full && n == stemlen))
				break;
			s[len++] = stem[n % stemlen];
		}
	}
	s[len] = '\0';
	return s;
}

static void
put_u32(void *rec, size_t off, uint32_t v)
{
	memcpy(AT(rec, off), &v, sizeof(v));
}

static void
put_ptr(void *rec, size_t off, void *p)
{
	memcpy(AT(rec, off), &p, sizeof(p));
}

/* A number other than x, at most bound. */
static uint32_t
other(uint32_t x, uint32_t bound)
{
	uint32_t v = bound < 100 ? bound : 100;

	return v != x || v == 0 ? v : v - 1;
}

/* LIST's or ARRAY's strings of sample s into row f of rec. */
static void
set_strings(const struct rfield *f, void *rec, enum sample s)
{
	char **a, stem[64];
	uint32_t n, i;

	n = s == SAM_LONG ? f->bound : s == SAM_OUT ? 1 :
	    f->bound < 3 ? f->bound : 3;
	if (f->kind == RF_LIST) {
		if (n == 0)
			return;
		assert_non_null(a = calloc(n, sizeof(*a)));
		put_ptr(rec, f->off, a);
	} else
		a = (char **)(void *)AT(rec, f->off);
	for (i = 0; i < n; i++) {
		snprintf(stem, sizeof(stem), "%s-%u.", f->member, i);
		/* An empty string: within bounds, though rarely meant. */
		a[i] = make_str(s == SAM_OUT ? "" : stem, f->x, f->x,
		    s == SAM_LONG, s == SAM_UTF8);
		put_u32(rec, f->count, i + 1);
	}
}

/*
 * A BYTES row's bytes in a long sample: its bound, or a quarter of a seed
 * for a bound no seed holds (a message's 64 KiB): the rest is the
 * decoder's bound, which SAM_OUT's cuts do not need at full length.
 */
static size_t
long_bytes(const struct rfield *f)
{
	return f->bound > SEED_MAX ? SEED_MAX / 4 : f->bound;
}

/* Row f (the i-th) of rec (at its default) as sample s. */
static void
set_row(const struct rfield *f, size_t i, void *rec, enum sample s,
    int *bad_text)
{
	own_put *put;
	uint64_t t;
	uint32_t v;
	struct penc e;
	struct pdec d;
	char *str;

	switch (f->kind) {
	case RF_BUF:
	case RF_SECRET:
		str = make_str(f->member, f->bound, f->size - 1,
		    s == SAM_LONG, s == SAM_UTF8);
		memcpy(AT(rec, f->off), str, strlen(str) + 1);
		free(str);
		break;
	case RF_TEXT:
	case RF_STR:
		if (s == SAM_OUT && !*bad_text) {
			/* Not UTF-8, and more bytes than characters. */
			str = strdup("\xff\xfe\xc3");
			assert_non_null(str);
			*bad_text = 1;
		} else if (s == SAM_OUT)
			str = make_str(f->member, f->bound + 1,
			    4 * (size_t)f->bound, 1, 0);
		else if (s == SAM_UTF8)
			str = make_str("", f->bound < UTF8_CHARS ? f->bound :
			    UTF8_CHARS, 4 * (size_t)f->bound, 0, 1);
		else
			str = make_str(f->member, f->bound, f->bound,
			    s == SAM_LONG, 0);
		put_ptr(rec, f->off, str);
		break;
	case RF_BYTES:
		/*
		 * Bounded in bytes, which the decoder holds too: out of its
		 * bounds, not UTF-8; UTF-8 up to it.
		 */
		if (s == SAM_OUT)
			assert_non_null(str = strdup("\xff\xfe\xc3"));
		else if (s == SAM_UTF8)
			str = make_str("", long_bytes(f), long_bytes(f), 0, 1);
		else
			str = make_str(f->member, long_bytes(f),
			    long_bytes(f), s == SAM_LONG, 0);
		put_ptr(rec, f->off, str);
		break;
	case RF_BOOL:
		*AT(rec, f->off) = s == SAM_SET ? !f->x : s == SAM_LONG ? 1 :
		    s == SAM_OUT ? 2 : f->x;
		break;
	case RF_ENUM:
		*AT(rec, f->off) = s == SAM_SET ? other(f->x, f->bound) :
		    s == SAM_LONG ? f->bound : s == SAM_OUT ? 255 : f->x;
		break;
	case RF_U8:
		*AT(rec, f->off) = (uint8_t)(s == SAM_SET ?
		    other(f->x, f->bound) : s == SAM_LONG ? f->bound :
		    s == SAM_OUT ? (f->bound < 255 ? f->bound + 1 : 255) : f->x);
		break;
	case RF_U32:
	case RF_COUNT:
		v = s == SAM_SET ? other(f->x, f->bound) :
		    s == SAM_LONG ? f->bound : f->x;
		if (s == SAM_OUT)
			v = f->bound < UINT32_MAX ? f->bound + 1 : UINT32_MAX;
		put_u32(rec, f->off, v);
		break;
	case RF_TIME:
		t = s == SAM_SET ? 1700000000000ull + i :
		    s == SAM_UTF8 ? 1 : UINT64_MAX;
		memcpy(AT(rec, f->off), &t, sizeof(t));
		break;
	case RF_LIST:
	case RF_ARRAY:
		set_strings(f, rec, s);
		break;
	case RF_GONE:
		break;		/* no member: rl_enc_as writes "" */
	case RF_OWN:
		/* Its sample's wire form, read by its own codec. */
		assert_non_null(put = own_sample(f));
		penc_init(&e);
		put(&e, s);
		assert_int_equal(e.err, 0);
		pdec_init(&d, e.buf, e.len);
		memset(AT(rec, f->off), 0, f->size);
		f->codec->dec(&d, rec, f);
		assert_int_equal(pdec_done(&d), 0);
		penc_free(&e);
		break;
	default:
		fail_msg("%s: kind %d", f->member, f->kind);
	}
}

/*
 * A record of l at the defaults its rows give (record.h: a number's x,
 * the rest zero), written here from the rows, not by rl_defaults.
 */
static void *
make_defaults(const struct rlayout *l)
{
	const struct rfield *f;
	void *rec;
	size_t i;

	assert_non_null(rec = calloc(1, l->size));
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->kind == RF_BOOL || f->kind == RF_ENUM ||
		    f->kind == RF_U8)
			*AT(rec, f->off) = (uint8_t)f->x;
		else if (f->kind == RF_U32 || f->kind == RF_COUNT)
			put_u32(rec, f->off, f->x);
	}
	return rec;
}

/* A new record of l (free with rl_free) as sample s. */
static void *
make_sample(const struct rlayout *l, enum sample s)
{
	void *rec, *def;
	size_t i;
	int bad_text = 0;

	assert_non_null(rec = malloc(l->size));
	rl_defaults(l, rec);
	def = make_defaults(l);
	assert_memory_equal(rec, def, l->size);
	free(def);
	if (s != SAM_DEFAULTS)
		for (i = 0; i < l->nf; i++)
			set_row(&l->f[i], i, rec, s, &bad_text);
	return rec;
}

/* ------------------------------------------------------------ formats */

/* Row f of rec appended as rl_enc writes it. */
static void
enc_row(struct penc *e, const struct rlayout *l, const struct rfield *f,
    const void *rec)
{
	struct rlayout one = { l->name, l->size, f, 1, NULL, NULL, NULL,
	    NULL, NULL };

	rl_enc(e, &one, rec);
}

/*
 * rec in format version: its rows up to that format (a row a newer
 * format dropped, GONE, as rl_enc_as writes it while it was there).
 */
static void
enc_old(struct penc *e, const struct rlayout *l, const void *rec,
    int version)
{
	const struct rfield *f;
	struct rlayout one;
	size_t i;

	penc_init(e);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		one = (struct rlayout){ l->name, l->size, f, 1, NULL, NULL,
		    NULL, NULL, NULL };
		if (f->kind == RF_GONE)
			rl_enc_as(e, &one, rec, version);
		else if (f->since <= version)
			enc_row(e, l, f, rec);
	}
	assert_int_equal(e->err, 0);
}

/*
 * What rec read from format version encodes to: newer rows as def's, but
 * a newer own kind as rec with that row freed (its default may follow an
 * older row's: a user's memberships' disabled flags, one each).
 */
static void
enc_read(struct penc *e, const struct rlayout *l, const void *rec,
    const void *def, int version)
{
	const struct rfield *f;
	void *own;
	size_t i;

	assert_non_null(own = malloc(l->size));
	assert_int_equal(rl_copy(l, own, rec), 0);
	penc_init(e);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->since > version && f->kind == RF_OWN)
			rl_row_free(f, own);
		enc_row(e, l, f, f->since <= version ? rec :
		    f->kind == RF_OWN ? own : def);
	}
	assert_int_equal(e->err, 0);
	rl_free(l, own);
	free(own);
}

static void
assert_same(const struct penc *a, const struct penc *b)
{
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->buf, b->buf, a->len);
}

/* The sample as a seed of fuzz_records, when RECORDS_SEED_DIR is set. */
static void
write_seed(size_t li, const struct rlayout *l, int version, enum sample s,
    const struct penc *e)
{
	const char *dir = getenv("RECORDS_SEED_DIR");
	uint8_t head[2] = { (uint8_t)li, (uint8_t)(version - 1) };
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s-v%d-%s", dir, l->name, version,
	    sample_name[s]);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(head, 1, 2, f), 2);
	if (e->len > 0)
		assert_int_equal(fwrite(e->buf, 1, e->len, f), e->len);
	assert_int_equal(fclose(f), 0);
}

/* e, the record in format version, cut at cut: fails, rec zeroed. */
static void
check_cut(const struct rlayout *l, const struct penc *e, int version,
    size_t cut, void *rec)
{
	struct pdec d;

	memset(rec, 0xa5, l->size);
	pdec_init(&d, e->buf, cut);
	assert_int_equal(rl_dec(&d, l, rec, version), -1);
	assert_true(proto_zeroed(rec, l->size));
	/* Rows not kept are still read: a cut in one fails too. */
	memset(rec, 0xa5, l->size);
	pdec_init(&d, e->buf, cut);
	assert_int_equal(rl_dec_rows(&d, l, rec, version, 0), -1);
	assert_true(proto_zeroed(rec, l->size));
}

/*
 * e (format version, whole: full is its rl_dec) read keeping rows only:
 * read to its end, it is full with every other row of strings emptied
 * (its rows of strings not kept zero), and every other row as full has it.
 */
static void
check_rows(const struct rlayout *l, const struct penc *e, int version,
    const void *full, uint64_t rows)
{
	struct penc want, got;
	struct pdec d;
	void *part, *cp;
	size_t i;

	assert_non_null(part = malloc(l->size));
	assert_non_null(cp = malloc(l->size));
	memset(part, 0xa5, l->size);
	pdec_init(&d, e->buf, e->len);
	assert_int_equal(rl_dec_rows(&d, l, part, version, rows), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(rl_copy(l, cp, full), 0);
	for (i = 0; i < l->nf; i++) {
		if (i < 64 && (rows >> i & 1) == 0 &&
		    rl_row_strings(&l->f[i])) {
			assert_true(proto_zeroed(AT(part, l->f[i].off),
			    l->f[i].size));
			rl_row_free(&l->f[i], cp);
		}
	}
	penc_init(&want);
	penc_init(&got);
	rl_enc(&want, l, cp);
	rl_enc(&got, l, part);
	assert_same(&want, &got);
	penc_free(&want);
	penc_free(&got);
	rl_free(l, cp);
	rl_free(l, part);
	assert_true(proto_zeroed(part, l->size));
	free(cp);
	free(part);
}

/* e cut anywhere (at 64 places or so when long, and a byte short). */
static void
check_cuts(const struct rlayout *l, const struct penc *e, int version)
{
	size_t cut, step;
	void *rec;

	assert_non_null(rec = malloc(l->size));
	step = e->len <= 4096 ? 1 : e->len / 64;
	for (cut = 0; cut < e->len; cut += step)
		check_cut(l, e, version, cut, rec);
	if (e->len > 0)
		check_cut(l, e, version, e->len - 1, rec);
	free(rec);
}

/*
 * Whether l's defaults are out of its bounds: a TEXT or STR row of x
 * characters at least (an agent's name) is "" there.
 */
static int
defaults_invalid(const struct rlayout *l)
{
	size_t i;

	for (i = 0; i < l->nf; i++)
		if ((l->f[i].kind == RF_TEXT || l->f[i].kind == RF_STR) &&
		    l->f[i].x > 0)
			return 1;
	return 0;
}

/*
 * Whether l has a row SAM_OUT can put out of its bounds: not when every
 * row is a BUF (its bound is its array), a TIME or GONE (a dashboard
 * session's).
 */
static int
can_be_out(const struct rlayout *l)
{
	size_t i;

	for (i = 0; i < l->nf; i++)
		if (l->f[i].kind != RF_BUF && l->f[i].kind != RF_SECRET &&
		    l->f[i].kind != RF_TIME && l->f[i].kind != RF_GONE)
			return 1;
	return 0;
}

/* Samples a layout's refuse refused (the conversation's, the message's). */
static int refusals;

/* Sample s of layout li in every format. */
static void
check_sample(size_t li, enum sample s)
{
	const struct rlayout *l = rl_layouts[li];
	/* l without its refuse: every sample read, to walk it. */
	struct rlayout plain = *l;
	struct penc old, want, got;
	struct pdec d;
	void *rec, *def, *back, *cp;
	int v, refused;

	plain.refuse = NULL;
	rec = make_sample(l, s);
	def = make_defaults(l);
	if ((s == SAM_OUT && can_be_out(l)) ||
	    (s == SAM_DEFAULTS && defaults_invalid(l)))
		assert_non_null(rl_invalid(l, rec));
	else
		assert_null(rl_invalid(l, rec));
	assert_non_null(back = malloc(l->size));
	assert_non_null(cp = malloc(l->size));
	for (v = 1; v <= rl_version(l); v++) {
		enc_old(&old, l, rec, v);
		assert_true(2 + old.len <= SEED_MAX);
		write_seed(li, l, v, s, &old);
		/* Read as format v: the newer rows at their defaults. */
		memset(back, 0xa5, l->size);
		pdec_init(&d, old.buf, old.len);
		assert_int_equal(rl_dec(&d, &plain, back, v), 0);
		assert_int_equal(pdec_done(&d), 0);
		/* The layout's own decode: as that, unless it refuses it. */
		refused = l->refuse != NULL && l->refuse(back);
		refusals += refused;
		pdec_init(&d, old.buf, old.len);
		memset(cp, 0xa5, l->size);
		assert_int_equal(rl_dec(&d, l, cp, v), refused ? -1 : 0);
		if (refused)
			assert_true(proto_zeroed(cp, l->size));
		else
			rl_free(l, cp);
		enc_read(&want, l, rec, def, v);
		penc_init(&got);
		rl_enc(&got, l, back);
		assert_same(&want, &got);
		penc_free(&got);
		/* Read keeping none, every other, all of its rows. */
		check_rows(&plain, &old, v, back, 0);
		check_rows(&plain, &old, v, back, 0x5555555555555555ull);
		check_rows(&plain, &old, v, back, 0xaaaaaaaaaaaaaaaaull);
		check_rows(&plain, &old, v, back, RL_ALL_ROWS);
		/* A copy encodes the same; freed, each is zeroed. */
		assert_int_equal(rl_copy(l, cp, back), 0);
		penc_init(&got);
		rl_enc(&got, l, cp);
		assert_same(&want, &got);
		penc_free(&got);
		rl_free(l, cp);
		assert_true(proto_zeroed(cp, l->size));
		rl_free(l, back);
		assert_true(proto_zeroed(back, l->size));
		/* One more byte is left over; one less fails. */
		penc_u8(&old, 0);
		pdec_init(&d, old.buf, old.len);
		assert_int_equal(rl_dec(&d, &plain, back, v), 0);
		assert_int_equal(pdec_done(&d), -1);
		rl_free(l, back);
		old.len--;
		check_cuts(l, &old, v);
		penc_free(&want);
		penc_free(&old);
	}
	/* No format 0, none newer than the rows'. */
	penc_init(&old);
	rl_enc(&old, l, rec);
	pdec_init(&d, old.buf, old.len);
	assert_int_equal(rl_dec(&d, l, back, 0), -1);
	pdec_init(&d, old.buf, old.len);
	assert_int_equal(rl_dec(&d, l, back, rl_version(l) + 1), -1);
	assert_true(proto_zeroed(back, l->size));
	penc_free(&old);
	free(cp);
	free(back);
	free(def);
	rl_free(l, rec);
	free(rec);
}

/* ---------------------------------------------------------------- tests */

static void
test_layouts(void **state)
{
	const struct rlayout *l;
	const struct rfield *f;
	size_t li, lj, i;

	assert_true(rl_nlayouts >= 1);
	/* Byte 0 of a seed names the layout. */
	assert_true(rl_nlayouts <= 256);
	for (li = 0; li < rl_nlayouts; li++) {
		l = rl_layouts[li];
		assert_non_null(l->name);
		for (lj = 0; lj < li; lj++)
			assert_string_not_equal(l->name, rl_layouts[lj]->name);
		assert_true(l->nf >= 1 && l->size > 0);
		assert_true(rl_version(l) >= 1 && rl_version(l) <= 256);
		for (i = 0; i < l->nf; i++) {
			f = &l->f[i];
			assert_true(f->since >= 1);
			assert_true(f->off + f->size <= l->size);
			assert_true(f->json == NULL || rl_field(l, f->json) == f);
			if (f->kind == RF_OWN) {
				assert_non_null(f->codec);
				/* Its samples are written above. */
				if (own_sample(f) == NULL)
					fail_msg("%s: no samples of kind %s",
					    l->name, f->codec->kind);
			}
			if (f->kind == RF_ENUM)
				assert_true(f->name != NULL &&
				    f->parse != NULL);
		}
	}
}

static void
test_samples(void **state)
{
	size_t li;
	int s;

	for (li = 0; li < rl_nlayouts; li++)
		for (s = 0; s < SAM_N; s++)
			check_sample(li, (enum sample)s);
	/* Out of bounds, a conversation and a message are refused. */
	assert_true(refusals > 0);
}

/*
 * rl_release frees what a record holds (ASan: nothing leaks) and leaves
 * its bytes, the rows that hold nothing as they were, unless a row holds
 * a secret (a SECRET row, a hidden row of strings or its own kind): that
 * record is zeroed whole, as rl_free zeroes it. A conversation and a
 * message's hidden numbers are no secret; a widget's identity secret, an
 * agent's key, a webhook's secret and a person's password are.
 */
static void
test_release(void **state)
{
	const struct rlayout *l;
	const struct rfield *f;
	unsigned char *rec, *was;
	size_t li, i, j;
	int secret;

	for (li = 0; li < rl_nlayouts; li++) {
		l = rl_layouts[li];
		rec = make_sample(l, SAM_SET);
		assert_non_null(was = malloc(l->size));
		memcpy(was, rec, l->size);
		for (secret = 0, i = 0; i < l->nf; i++)
			secret |= rl_row_secret(&l->f[i]);
		rl_release(l, rec);
		for (i = 0; i < l->nf; i++) {
			f = &l->f[i];
			if (secret) {
				for (j = 0; j < f->size; j++)
					if (rec[f->off + j] != 0)
						fail_msg("%s: %s left after its "
						    "release", l->name,
						    f->member);
			} else if (f->kind == RF_BUF || (f->kind != RF_OWN &&
			    !rl_row_strings(f)))
				assert_memory_equal(rec + f->off,
				    was + f->off, f->size);
		}
		free(was);
		free(rec);
	}
	assert_false(rl_row_secret(rl_field(&st_conv_layout, "resolve_due")));
	assert_false(rl_row_secret(rl_field(&st_conv_layout, "visitorName")));
	assert_true(rl_row_secret(rl_field(&st_widget_layout,
	    "identity_secret")));
	assert_true(rl_row_secret(rl_field(&st_webhook_layout, "secret")));
}

/*
 * rl_enc writes its rows itself (record.c's enc_room), as penc would: a
 * failed encoder stays failed and grows no more, and a record past
 * PROTO_MAX_PAYLOAD fails it.
 */
static void
test_enc_fails(void **state)
{
	struct st_msg m;
	struct penc e;
	char *big;

	memset(&m, 0, sizeof(m));
	strlcpy(m.role, "user", sizeof(m.role));
	penc_init(&e);
	e.err = 1;
	rl_enc(&e, &st_msg_layout, &m);
	assert_int_equal(e.len, 0);
	assert_null(e.buf);
	penc_free(&e);

	/* Its length and bytes past the most a payload holds. */
	assert_non_null(big = malloc(PROTO_MAX_PAYLOAD - 3));
	memset(big, 'a', PROTO_MAX_PAYLOAD - 4);
	big[PROTO_MAX_PAYLOAD - 4] = '\0';
	m.content = big;
	penc_init(&e);
	rl_enc(&e, &st_msg_layout, &m);
	assert_int_equal(e.err, 1);
	penc_free(&e);
	/* 4 bytes less and its other rows fit: it fails no sooner. */
	big[PROTO_MAX_PAYLOAD - 4 - 200] = '\0';
	penc_init(&e);
	rl_enc(&e, &st_msg_layout, &m);
	assert_int_equal(e.err, 0);
	assert_true(e.len <= PROTO_MAX_PAYLOAD);
	penc_free(&e);
	free(big);
}

/*
 * rl_dec reads its rows itself (record.c's dec_take, dec_buf), as pdec
 * would: a buffer's string longer than its room, or holding a NUL,
 * fails the read and leaves the record zeroed; one that fills its room
 * reads whole.
 */
static void
test_dec_fails(void **state)
{
	struct st_msg m, back;
	struct penc e;
	struct pdec d;
	size_t at;
	int bad;

	memset(&m, 0, sizeof(m));
	memset(m.role, 'r', sizeof(m.role) - 1);
	penc_init(&e);
	rl_enc(&e, &st_msg_layout, &m);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(rl_dec(&d, &st_msg_layout, &back,
	    rl_version(&st_msg_layout)), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(back.role, m.role);
	rl_free(&st_msg_layout, &back);
	/* role, the third row, after id's and conv_id's empty strings. */
	at = 4 + 4;
	for (bad = 0; bad < 2; bad++) {
		if (bad == 0)	/* a byte past its room */
			proto_put_be32(e.buf + at, (uint32_t)sizeof(m.role));
		else {		/* a NUL inside */
			proto_put_be32(e.buf + at, (uint32_t)sizeof(m.role) - 1);
			e.buf[at + 4 + 1] = '\0';
		}
		memset(&back, 0xa5, sizeof(back));
		pdec_init(&d, e.buf, e.len);
		assert_int_equal(rl_dec(&d, &st_msg_layout, &back,
		    rl_version(&st_msg_layout)), -1);
		assert_true(proto_zeroed(&back, sizeof(back)));
	}
	penc_free(&e);
}

/*
 * A message's content (BYTES: pdec_strdup and pdec_str, proto.h's) of
 * its bound reads whole; a byte longer, or with a NUL inside, fails the read
 * and leaves the record zeroed, whether the content is kept (rl_dec) or
 * passed over (rl_dec_rows without its row, as a turn's history walk
 * reads a message's other strings). Each record is whole but for its
 * content: nothing else fails it.
 */
static void
test_dec_string_fails(void **state)
{
	static const uint64_t rows[] = { RL_ALL_ROWS, 0,
	    RL_ROW(ST_MSG_ROW_role) };
	struct st_msg m, back;
	struct penc e;
	struct pdec d;
	size_t i;
	char *big;
	int bad;

	memset(&m, 0, sizeof(m));
	strlcpy(m.role, "user", sizeof(m.role));
	assert_non_null(big = malloc(ST_CONTENT_MAX + 2));
	for (bad = -1; bad < 2; bad++) {
		memset(big, 'c', ST_CONTENT_MAX + 1);
		/* its bound; a byte past it; a NUL inside (the bound's) */
		big[ST_CONTENT_MAX + (bad == 0)] = '\0';
		m.content = big;
		penc_init(&e);
		rl_enc(&e, &st_msg_layout, &m);
		assert_int_equal(e.err, 0);
		if (bad == 1)
			e.buf[e.len - 100] = '\0';
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			memset(&back, 0xa5, sizeof(back));
			pdec_init(&d, e.buf, e.len);
			if (bad >= 0) {
				assert_int_equal(rl_dec_rows(&d,
				    &st_msg_layout, &back,
				    rl_version(&st_msg_layout), rows[i]), -1);
				assert_true(proto_zeroed(&back, sizeof(back)));
				continue;
			}
			assert_int_equal(rl_dec_rows(&d, &st_msg_layout, &back,
			    rl_version(&st_msg_layout), rows[i]), 0);
			assert_int_equal(pdec_done(&d), 0);
			assert_string_equal(back.role, rows[i] == 0 ? "" :
			    "user");
			if (rows[i] == RL_ALL_ROWS)
				assert_string_equal(back.content, big);
			else
				assert_null(back.content);
			rl_free(&st_msg_layout, &back);
		}
		penc_free(&e);
	}
	free(big);
}

/*
 * rl_rows_invalid judges an update's rows alone: an action's defaults
 * (no description, which a whole action needs) pass for an update of its
 * name or of nothing; a description past its bound is named when the
 * update sets it, and passed over when it does not.
 */
static void
test_rows_invalid(void **state)
{
	char desc[ST_ACTION_DESC_MAX + 2];
	struct st_action a;

	rl_defaults(&st_action_layout, &a);
	assert_non_null(rl_invalid(&st_action_layout, &a));
	assert_null(rl_rows_invalid(&st_action_layout, &a, 0));
	assert_null(rl_rows_invalid(&st_action_layout, &a, ST_ACF_NAME));
	assert_string_equal(rl_rows_invalid(&st_action_layout, &a,
	    ST_ACF_DESCRIPTION), rl_invalid(&st_action_layout, &a));
	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	a.description = desc;
	assert_null(rl_rows_invalid(&st_action_layout, &a, ST_ACF_NAME));
	assert_string_equal(rl_rows_invalid(&st_action_layout, &a,
	    ST_ACF_NAME | ST_ACF_DESCRIPTION),
	    "description: must be 1 to 1000 characters of UTF-8");
	desc[ST_ACTION_DESC_MAX] = '\0';
	assert_null(rl_rows_invalid(&st_action_layout, &a,
	    ST_ACF_DESCRIPTION));
	a.description = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_enc_fails),
		cmocka_unit_test(test_dec_fails),
		cmocka_unit_test(test_dec_string_fails),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_rows_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
