/*
 * Stored records described once. A record (a widget, an agent, an
 * organisation, a conversation, a message) is a list of rows, one per
 * field in its stored order, written as a list macro (every record's in
 * recordtab.h):
 *
 *	F(KIND, member, "json", since, bit, view, bound, x[, least])
 *
 * From the rows follow the C struct's members (RF_MEMBER), the table
 * (struct rlayout of RF_ROW rows) that one encoder, decoder, free, copy,
 * update merge and bounds check walk here, the admin API's JSON in and
 * out (workerd/admin/recjson.c), the test harness's codec (the tests
 * read the rows from recordtab.h) and the record's properties in the
 * OpenAPI document (scripts/openapi.mjs, at build time).
 * A field added is a row added; a record added is its rows in
 * recordtab.h, RL_RECORD (the struct, its layout's extern and typed
 * calls) in its header, RL_LAYOUT in its .c, and its layout listed in
 * rl_layouts (layouts.c), which the fuzz target tests/fuzz/records and
 * tests/unit/proto/test_records.c walk.
 *
 * KIND, the member's C type, wire form (proto.h) and JSON:
 *   BUF     char[bound + 1]; str; a string
 *   SECRET  char[bound + 1]; str; never shown: "<json>_set", a boolean;
 *           its bytes zeroed when freed (explicit_bzero), as a hidden row's
 *   TEXT    char *, at most bound characters of UTF-8; str; null for ""
 *   STR     as TEXT, "" shown as ""
 *   BYTES   as STR, but at most bound bytes of UTF-8 (a prompt, a URL, a
 *           key: what is bounded in bytes, not characters)
 *   BOOL    uint8_t, 0 or 1; u8; a boolean
 *   ENUM    uint8_t, 0 to bound; u8; its name (st_<member>_name and
 *           st_<member>_parse)
 *   U8      uint8_t, least to bound; u8; an integer (a rating, a thumb: a
 *           small number stored in a byte)
 *   U32     uint32_t, least to bound; u32; an integer
 *   COUNT   uint32_t, 0 to bound; u32; an integer from 1, null for 0
 *   TIME    uint64_t ms; u64; an integer
 *   LIST    char **member and uint32_t n<member>: at most bound strings
 *           of at most x bytes each; u32 n, n x str; an array of strings
 *   ARRAY   char *member[bound] and uint32_t n<member>: as LIST, kept in
 *           the struct
 *   GONE    no member, no JSON: a field of the formats since to x - 1,
 *           which format x dropped; str of at most bound bytes, read and
 *           dropped in those formats (written "" by rl_enc_as), not in
 *           the current one
 *   a kind of the record's own: its header defines RF_DECL_<KIND>(m, b)
 *   (its members, contiguous), RF_OFF_<KIND>(T, m), RF_SIZE_<KIND>(T, m)
 *   and RF_CODEC_<KIND> (a struct rcodec *); its JSON is the record's.
 * since: the record format that added it.
 * x: a number's default, a new record's and an older format's (one
 *   before since); TEXT's and STR's characters at least (1: a name,
 *   which a request cannot make null); LIST's and ARRAY's: each
 *   string's bytes at most. Strings and lists are "" and none.
 * least: a U8's or U32's least value, written after x only where it is
 *   not 0 (a widget's attachment_max_mb: 1 MB); left out, 0. The bounds
 *   check and its message, the admin API's and the OpenAPI minimum read
 *   it, so no record checks a number's least by hand.
 * bit: its bit in an update's mask (ST_WF_NAME...), or RF_RO (0): no
 *   request sets it (storaged's alone).
 * view: RF_PUB (the public config and the admin API), RF_ADM (the admin
 *   API) or RF_HID (never shown; with a bit, write-only: a request sets
 *   it, and its string is zeroed before it is freed, as a key's).
 */
#ifndef PARLEY_RECORD_H
#define PARLEY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define RF_RO	0u
#define RF_HID	0
#define RF_PUB	1
#define RF_ADM	2

enum rf_kind {
	RF_BUF = 1,
	RF_SECRET,
	RF_TEXT,
	RF_STR,
	RF_BYTES,
	RF_BOOL,
	RF_ENUM,
	RF_U8,
	RF_U32,
	RF_COUNT,
	RF_TIME,
	RF_LIST,
	RF_ARRAY,
	RF_GONE,
	RF_OWN,		/* the record's own kind: its codec */
};

struct rfield;
/*
 * A kind of the record's own: its wire form, written by hand. Each
 * function is given the whole record and its row f (f->off and f->size
 * say where its members are, for a kind more than one record holds).
 */
struct rcodec {
	const char *kind;	/* "HOURS": the tests' name of it */
	void (*enc)(struct penc *, const void *rec, const struct rfield *f);
	/* Decodes into rec (zeroed members); fails d on error. */
	void (*dec)(struct pdec *, void *rec, const struct rfield *f);
	/* Frees what dec or copy allocated. */
	void (*free)(void *rec, const struct rfield *f);
	/*
	 * -1 out of memory. A kind with a free has a copy: rl_copy zeroes
	 * its members in dst first (what they point to is src's).
	 */
	int (*copy)(void *dst, const void *src, const struct rfield *f);
};

struct rfield {
	uint8_t kind;		/* enum rf_kind */
	uint8_t since;
	uint8_t view;		/* RF_PUB, RF_ADM, RF_HID */
	uint64_t bit;		/* or RF_RO */
	uint32_t bound;
	uint32_t x;		/* default, or LIST/ARRAY's element bytes */
	uint32_t least;		/* U8, U32: the least value (0 unless said) */
	size_t off, size;	/* the member(s) */
	size_t count;		/* LIST, ARRAY: its uint32_t n<member> */
	const char *json;
	const char *member;
	const char *kname;	/* "TEXT": the row's kind as written */
	const struct rcodec *codec;	/* RF_OWN */
	/* ENUM: the value's name (NULL out of range) and back (-1). */
	const char *(*name)(int);
	int (*parse)(const char *);
};

struct rlayout {
	const char *name;	/* "widget" */
	size_t size;		/* of its struct */
	const struct rfield *f;
	size_t nf;
	/*
	 * Optional: 1 when a decoded rec is refused all the same (what its
	 * reader always refused, less than rl_invalid: a stored string that
	 * is not UTF-8 still reads); rl_dec then fails.
	 */
	int (*refuse)(const void *rec);
	/*
	 * rl_version's answer once worked out (0 before), or NULL (a layout
	 * made by hand: worked out each call). Every record's read and write
	 * asks it: a walk of all the rows each time was some 2 % of
	 * storaged's instructions a chat turn. Atomic: storaged's threads
	 * read records too.
	 */
	_Atomic int *version;
	/*
	 * The rows rl_free releases, bit i row i (rows past the 64th are
	 * walked), once worked out (0 before, or none), or NULL (made by
	 * hand: worked out each call): a free walked all of a record's rows,
	 * a conversation's 41 for its 4 that allocate.
	 */
	_Atomic uint64_t *owns;
	/*
	 * 2 when a row holds a secret (a SECRET row, a hidden row of
	 * strings or of its own kind: a key, a password), which rl_release
	 * wipes all the same; 1 when none does; once worked out (0 before),
	 * or NULL (made by hand: worked out each call).
	 */
	_Atomic int *secret;
	/*
	 * Its place in rl_layouts plus 1 (-1: not listed) once worked out
	 * (0 before), or NULL (made by hand: looked up each call): rl_place.
	 */
	_Atomic int *place;
};

/* ------------------------------------------------- the generic kinds */

#define RF_DECL_BUF(m, b)	char m[(b) + 1];
#define RF_DECL_SECRET(m, b)	char m[(b) + 1];
#define RF_DECL_TEXT(m, b)	char *m;
#define RF_DECL_STR(m, b)	char *m;
#define RF_DECL_BYTES(m, b)	char *m;
#define RF_DECL_BOOL(m, b)	uint8_t m;
#define RF_DECL_ENUM(m, b)	uint8_t m;
#define RF_DECL_U8(m, b)	uint8_t m;
#define RF_DECL_U32(m, b)	uint32_t m;
#define RF_DECL_COUNT(m, b)	uint32_t m;
#define RF_DECL_TIME(m, b)	uint64_t m;
#define RF_DECL_LIST(m, b)	uint32_t n##m; char **m;
#define RF_DECL_ARRAY(m, b)	uint32_t n##m; char *m[b];
#define RF_DECL_GONE(m, b)

#define RF_KIND_BUF	RF_BUF
#define RF_KIND_SECRET	RF_SECRET
#define RF_KIND_TEXT	RF_TEXT
#define RF_KIND_STR	RF_STR
#define RF_KIND_BYTES	RF_BYTES
#define RF_KIND_BOOL	RF_BOOL
#define RF_KIND_ENUM	RF_ENUM
#define RF_KIND_U8	RF_U8
#define RF_KIND_U32	RF_U32
#define RF_KIND_COUNT	RF_COUNT
#define RF_KIND_TIME	RF_TIME
#define RF_KIND_LIST	RF_LIST
#define RF_KIND_ARRAY	RF_ARRAY
#define RF_KIND_GONE	RF_GONE

#define RF_OFF_GEN(T, m)	offsetof(T, m)
#define RF_SIZE_GEN(T, m)	sizeof(((T *)0)->m)

/* Where a row's members are, how many, and its codec and names. */
#define RF_OFF_BUF	RF_OFF_GEN
#define RF_OFF_SECRET	RF_OFF_GEN
#define RF_OFF_TEXT	RF_OFF_GEN
#define RF_OFF_STR	RF_OFF_GEN
#define RF_OFF_BYTES	RF_OFF_GEN
#define RF_OFF_BOOL	RF_OFF_GEN
#define RF_OFF_ENUM	RF_OFF_GEN
#define RF_OFF_U8	RF_OFF_GEN
#define RF_OFF_U32	RF_OFF_GEN
#define RF_OFF_COUNT	RF_OFF_GEN
#define RF_OFF_TIME	RF_OFF_GEN
#define RF_OFF_LIST	RF_OFF_GEN
#define RF_OFF_ARRAY	RF_OFF_GEN
#define RF_SIZE_BUF	RF_SIZE_GEN
#define RF_SIZE_SECRET	RF_SIZE_GEN
#define RF_SIZE_TEXT	RF_SIZE_GEN
#define RF_SIZE_STR	RF_SIZE_GEN
#define RF_SIZE_BYTES	RF_SIZE_GEN
#define RF_SIZE_BOOL	RF_SIZE_GEN
#define RF_SIZE_ENUM	RF_SIZE_GEN
#define RF_SIZE_U8	RF_SIZE_GEN
#define RF_SIZE_U32	RF_SIZE_GEN
#define RF_SIZE_COUNT	RF_SIZE_GEN
#define RF_SIZE_TIME	RF_SIZE_GEN
#define RF_SIZE_LIST	RF_SIZE_GEN
#define RF_SIZE_ARRAY	RF_SIZE_GEN
#define RF_OFF_GONE(T, m)	0
#define RF_SIZE_GONE(T, m)	0
#define RF_COUNT_OF(T, m)	offsetof(T, n##m)
#define RF_COUNT_LIST	RF_COUNT_OF
#define RF_COUNT_ARRAY	RF_COUNT_OF
#define RF_NOCOUNT(T, m)	0
#define RF_COUNT_BUF	RF_NOCOUNT
#define RF_COUNT_SECRET	RF_NOCOUNT
#define RF_COUNT_TEXT	RF_NOCOUNT
#define RF_COUNT_STR	RF_NOCOUNT
#define RF_COUNT_BYTES	RF_NOCOUNT
#define RF_COUNT_BOOL	RF_NOCOUNT
#define RF_COUNT_ENUM	RF_NOCOUNT
#define RF_COUNT_U8	RF_NOCOUNT
#define RF_COUNT_U32	RF_NOCOUNT
#define RF_COUNT_COUNT	RF_NOCOUNT
#define RF_COUNT_TIME	RF_NOCOUNT
#define RF_COUNT_GONE	RF_NOCOUNT
#define RF_CODEC_BUF	NULL
#define RF_CODEC_SECRET	NULL
#define RF_CODEC_TEXT	NULL
#define RF_CODEC_STR	NULL
#define RF_CODEC_BYTES	NULL
#define RF_CODEC_BOOL	NULL
#define RF_CODEC_ENUM	NULL
#define RF_CODEC_U8	NULL
#define RF_CODEC_U32	NULL
#define RF_CODEC_COUNT	NULL
#define RF_CODEC_TIME	NULL
#define RF_CODEC_LIST	NULL
#define RF_CODEC_ARRAY	NULL
#define RF_CODEC_GONE	NULL
#define RF_NONAME(m)	NULL, NULL
#define RF_NAMES_BUF	RF_NONAME
#define RF_NAMES_SECRET	RF_NONAME
#define RF_NAMES_TEXT	RF_NONAME
#define RF_NAMES_STR	RF_NONAME
#define RF_NAMES_BYTES	RF_NONAME
#define RF_NAMES_BOOL	RF_NONAME
#define RF_NAMES_ENUM(m)	st_##m##_name, st_##m##_parse
#define RF_NAMES_U8	RF_NONAME
#define RF_NAMES_U32	RF_NONAME
#define RF_NAMES_COUNT	RF_NONAME
#define RF_NAMES_TIME	RF_NONAME
#define RF_NAMES_LIST	RF_NONAME
#define RF_NAMES_ARRAY	RF_NONAME
#define RF_NAMES_GONE	RF_NONAME

/*
 * A row's last columns (x[, least]) as its macros take them (...): x,
 * and least or 0 when the row leaves it out.
 */
#define RF_X(x, ...)		(x)
#define RF_LEAST(x, least, ...)	(least)

/* The struct members of a row (RL_RECORD's struct: { LIST(RF_MEMBER) }). */
#define RF_MEMBER(K, m, json, since, bit, view, bound, ...)		\
	RF_DECL_##K(m, bound)

/* The table row of a row of struct T. */
#define RF_ROW(T, K, m, json, since, bit, view, bound, ...)		\
	{ RF_KIND_##K, (since), (view), (bit), (bound),			\
	  RF_X(__VA_ARGS__, 0), RF_LEAST(__VA_ARGS__, 0, 0),		\
	  RF_OFF_##K(T, m), RF_SIZE_##K(T, m), RF_COUNT_##K(T, m),	\
	  (json), #m, #K, RF_CODEC_##K, RF_NAMES_##K(m) },

/*
 * The layout var (named name, of struct T), its rows (a list of RF_ROW
 * rows, as ST_X_ROWS(X_ROW) gives them) in var_rows, and refuse (its
 * check, or NULL): every record's layout is one of these.
 */
#define RL_LAYOUT(var, name, T, rows, refuse)				\
	static const struct rfield var##_rows[] = { rows };		\
	static _Atomic int var##_version;				\
	static _Atomic uint64_t var##_owns;				\
	static _Atomic int var##_secret;				\
	static _Atomic int var##_place;					\
	const struct rlayout var = { (name), sizeof(T), var##_rows,	\
	    sizeof(var##_rows) / sizeof(var##_rows[0]), (refuse),	\
	    &var##_version, &var##_owns, &var##_secret, &var##_place }

/* An update's mask of every row with a bit (a constant expression). */
#define RF_MASK(K, m, json, since, bit, ...)			\
	| (bit)

/*
 * Every record's layout (layouts.c: a new record's is added there), and
 * how many.
 */
extern const struct rlayout *const rl_layouts[];
extern const size_t rl_nlayouts;
/*
 * l's index in rl_layouts, or -1 when it is not listed: looked up once
 * (struct rlayout's place), not a walk of the list each call (some 36
 * instructions a record storaged counts, smetrics_record).
 */
int rl_place(const struct rlayout *l);

/* --------------------------------------------------------------- walks */

/* The record format it writes: the newest row's since (a GONE row's x). */
int rl_version(const struct rlayout *);
/*
 * h carried over what the record's wire form depends on: each row's
 * kind (an own kind's name), since, bound and x, in order; not offsets
 * or sizes, which differ from machine to machine (msgtab.h's id).
 */
uint64_t rl_fingerprint(uint64_t h, const struct rlayout *);
/* rec zeroed, then each number's default (x). */
void rl_defaults(const struct rlayout *, void *rec);
/* Appends rec in the current format (a sticky error in e). */
void rl_enc(struct penc *, const struct rlayout *, const void *rec);
/*
 * Appends rec as format version (1 to rl_version) has it: the rows it
 * had (tests write older records with it).
 */
void rl_enc_as(struct penc *, const struct rlayout *, const void *rec,
    int version);
/*
 * Reads rec (zeroed here) of format version (1 to rl_version) from d:
 * the rows newer than it take their defaults. 0, or -1 with d failed and
 * rec freed and zeroed (a record the layout's refuse refuses too).
 */
int rl_dec(struct pdec *, const struct rlayout *, void *rec, int version);
/*
 * rl_dec keeping only the strings of the rows in rows (RL_ROW(i) each,
 * i its index in the layout; a row past the 64th is always kept): a row
 * of strings only (BUF, SECRET, TEXT, STR, BYTES, LIST, ARRAY) not in
 * rows is read and checked as rl_dec checks it, and left zero ("" a
 * buffer, NULL a pointer, none a list); every other row is read. For a
 * walk over many records that reads a few of their rows (a turn's
 * history). The layout's refuse sees the record as kept.
 */
int rl_dec_rows(struct pdec *, const struct rlayout *, void *rec,
    int version, uint64_t rows);
/* Whether rl_dec_rows may leave row f unkept: a row of strings only. */
int rl_row_strings(const struct rfield *);
#define RL_ROW(i)	(UINT64_C(1) << (i))
#define RL_ALL_ROWS	UINT64_MAX
/* Frees what rec holds (zeroed or decoded) and zeroes it. */
void rl_free(const struct rlayout *, void *rec);
/*
 * rl_free for a record its caller zeroes whole itself right after (a
 * struct holding it): what rec holds is freed and its bytes are left
 * (its pointers then dangle), unless a row holds a secret (rlayout's
 * secret): that record is wiped as rl_free wipes it. Not for a local
 * going out of scope: a row that is a credential without being marked
 * secret (a conversation's session, the chat API's sessionId) would
 * stay. A conversation's 2.4 KiB were zeroed twice a turn's begin for
 * nothing.
 */
void rl_release(const struct rlayout *, void *rec);
/* Whether row f holds a secret (rlayout's secret). */
int rl_row_secret(const struct rfield *);
/* Frees the n records of the array recs (malloc'd, or NULL), then recs. */
void rl_free_all(const struct rlayout *, void *recs, uint32_t n);
/* Frees what row f of rec holds and zeroes it (none, "" read as NULL). */
void rl_row_free(const struct rfield *f, void *rec);
/* A deep copy: 0, or -1 out of memory (dst zeroed). */
int rl_copy(const struct rlayout *, void *dst, const void *src);
/*
 * A record, declared once in its header from its rows (RL_RECORD(st_x,
 * x, ST_X_ROWS)): struct name, made of the rows' members; its layout,
 * name_layout (defined by RL_LAYOUT in its .c); and its typed calls on
 * the layout, written here instead of a wrapper a record: name_free
 * (rl_free), name_release (rl_release), name_copy (rl_copy), penc_tag (rl_enc) and pdec_tag (rl_dec
 * at the current format).
 */
#define RL_RECORD(name, tag, rows)					\
	struct name { rows(RF_MEMBER) };				\
	extern const struct rlayout name##_layout;			\
	static inline void name##_free(struct name *r)			\
	{ rl_free(&name##_layout, r); }					\
	static inline void name##_release(struct name *r)		\
	{ rl_release(&name##_layout, r); }				\
	static inline int name##_copy(struct name *dst,			\
	    const struct name *src)					\
	{ return rl_copy(&name##_layout, dst, src); }			\
	static inline void penc_##tag(struct penc *e,			\
	    const struct name *r)					\
	{ rl_enc(e, &name##_layout, r); }				\
	static inline int pdec_##tag(struct pdec *d, struct name *r)	\
	{ return rl_dec(d, &name##_layout, r,				\
	    rl_version(&name##_layout)); }

/*
 * Two structs of an entity (widget, agent...: a record the admin API
 * makes, changes and lists) named after its record: name_update_req,
 * the record's id, the mask of its fields read (ST_WF_*...) and the
 * record as member; and names (the plural), a list of n in items.
 */
#define RL_ENTITY_REQS(name, member, mask_t, items)			\
	struct name##_update_req {					\
		const char *id;						\
		mask_t mask;						\
		struct name member;					\
	};								\
	struct name##s {						\
		struct name *items;					\
		uint32_t n;						\
	}

/*
 * An update: the rows whose bit is in mask change places between cur
 * and req (req then frees what they replaced).
 */
void rl_merge(const struct rlayout *, void *cur, void *req, uint64_t mask);
/*
 * The first row out of its bounds, as "json: what is wrong" (a buffer
 * of the calling thread's, good until its next call), or NULL.
 */
const char *rl_invalid(const struct rlayout *, const void *rec);
/*
 * The same of the rows whose bit is in mask alone: an update's fields
 * (the rows it leaves alone hold defaults a whole record may not keep,
 * an empty description).
 */
const char *rl_rows_invalid(const struct rlayout *, const void *rec,
    uint64_t mask);
/* The row of JSON name json, or NULL. */
const struct rfield *rl_field(const struct rlayout *, const char *json);
/* A LIST's or an ARRAY's strings (NULL: a LIST of none), *n how many. */
char **rl_strings(const struct rfield *, const void *rec, uint32_t *n);
/* Appends an ENUM row's names to buf ("a, b or c"; quoted: "\"a\"..."). */
void rl_enum_names(const struct rfield *, int quoted, char *buf, size_t sz);
/*
 * An ENUM's st_<member>_name and _parse, from its names (n of them):
 * names[v] for v in 0..n-1, else NULL; and back, -1 for NULL or unknown.
 */
const char *rl_enum_name(const char *const *names, int n, int v);
int rl_enum_parse(const char *const *names, int n, const char *s);
/*
 * Defines an ENUM's st_<m>_name and st_<m>_parse (RF_NAMES_ENUM's) as
 * rl_enum_name and rl_enum_parse over names, n of them.
 */
#define RL_ENUM_FUNCS(m, names, n)					\
	const char *st_##m##_name(int v)				\
	{								\
		return rl_enum_name((names), (n), v);			\
	}								\
	int st_##m##_parse(const char *s)				\
	{								\
		return rl_enum_parse((names), (n), s);			\
	}
/* Declares what RL_ENUM_FUNCS(m, ...) defines, in the enum's header. */
#define RL_ENUM_DECLS(m)						\
	const char *st_##m##_name(int);					\
	int st_##m##_parse(const char *)

/* The records' rows, each a list macro this header's ones read. */
#include "recordtab.h"

#endif
