/*
 * Payloads described, not written out: a layout lists a C struct's
 * fields in their wire order (offset, kind, bound), and one encoder, one
 * decoder and one free walk it. Every storaged request and reply has its
 * layout (stmsgs.c) in its row of the message table (msgtab.c), so the
 * sender and the receiver share one struct and one field order.
 *
 * Kinds of field, each in the wire encoding of proto.h:
 *   PF_U8, PF_U32, PF_U64  the integer member
 *   PF_STR    const char *: str of at most max bytes, no NUL; decoded
 *             into a new allocation ("" when empty, never NULL); NULL
 *             encodes as ""
 *   PF_BUF    char[max + 1] inside the struct: str of at most max bytes
 *   PF_BYTES  uint8_t[max] and its length (uint32_t at aux): bytes
 *   PF_REC    the layout sub at off, in place (a record with codecs of
 *             its own, or a group of fields)
 *   PF_LIST   u32 n (at most max; uint32_t at aux), then n x sub; the
 *             elements are an array (a pointer at off; calloc'd when
 *             decoded)
 *   PF_WHEN   the fields of sub at off only when the u8 at aux is one of
 *             the values whose bit (1 << value) is set in max
 *
 * Decoding never reads past the payload, allocates no more than the
 * payload can describe, and never leaves a half-made struct: on error
 * what it allocated is freed and the struct is zeroed.
 */
#ifndef PARLEY_MSGCODEC_H
#define PARLEY_MSGCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum pf_kind {
	PF_U8 = 1,
	PF_U32,
	PF_U64,
	PF_STR,
	PF_BUF,
	PF_BYTES,
	PF_REC,
	PF_LIST,
	PF_WHEN,
};

/* PF_STR: a longer one is kept cut at max + 1 bytes, so its check can say which field is too long. */
#define PF_F_CLIP	0x01
/* PF_BYTES: exactly max bytes (with PF_F_NONE: or none). */
#define PF_F_EXACT	0x02
#define PF_F_NONE	0x04
/* PF_LIST: no count of its own on the wire: the one at aux, which an earlier list read. */
#define PF_F_SAMEN	0x08

struct playout;
struct rlayout;

struct pfield {
	uint8_t kind;		/* enum pf_kind */
	uint8_t flags;		/* PF_F_* */
	uint32_t max;		/* bytes, elements, or PF_WHEN's mask */
	size_t off;		/* the member */
	size_t aux;		/* its length, count or tag */
	const struct playout *sub;	/* PF_REC, PF_LIST, PF_WHEN */
};

struct playout {
	const char *name;	/* for the logs and the tests */
	size_t size;		/* of the struct it describes */
	const struct pfield *f;	/* the fields, in wire order */
	size_t nf;
	/*
	 * A record with codecs of its own (conv, msg, widget...) sets these
	 * instead of fields. dec fails d (and frees what it made); free
	 * takes a zeroed or decoded record.
	 */
	void (*enc)(struct penc *, const void *);
	int (*dec)(struct pdec *, void *);
	void (*free)(void *);
	/* A record with rows (record.h): its layout, which enc follows. */
	const struct rlayout *rows;
};

/* Field makers: T is the struct, M its member. */
#define PF_MSIZE(T, M)		sizeof(((T *)0)->M)
#define PFU8(T, M)		{ PF_U8, 0, 0, offsetof(T, M), 0, NULL }
#define PFU32(T, M)		{ PF_U32, 0, 0, offsetof(T, M), 0, NULL }
#define PFU64(T, M)		{ PF_U64, 0, 0, offsetof(T, M), 0, NULL }
#define PFSTR(T, M, MAX)	{ PF_STR, 0, (MAX), offsetof(T, M), 0, NULL }
#define PFCLIP(T, M, MAX)	{ PF_STR, PF_F_CLIP, (MAX), offsetof(T, M), 0, NULL }
#define PFBUF(T, M) \
	{ PF_BUF, 0, PF_MSIZE(T, M) - 1, offsetof(T, M), 0, NULL }
#define PFBYTES(T, M, LEN, FL) \
	{ PF_BYTES, (FL), PF_MSIZE(T, M), offsetof(T, M), offsetof(T, LEN), NULL }
#define PFREC(T, M, L)		{ PF_REC, 0, 0, offsetof(T, M), 0, &(L) }
#define PFLIST(T, M, N, MAX, L) \
	{ PF_LIST, 0, (MAX), offsetof(T, M), offsetof(T, N), &(L) }
#define PFLIST_SAMEN(T, M, N, MAX, L) \
	{ PF_LIST, PF_F_SAMEN, (MAX), offsetof(T, M), offsetof(T, N), &(L) }
#define PFWHEN(T, TAG, MASK, M, L) \
	{ PF_WHEN, 0, (MASK), offsetof(T, M), offsetof(T, TAG), &(L) }

/* A layout of fields; NAME's struct is T. */
#define PLAYOUT(NAME, T, FIELDS) \
	const struct playout NAME = { #T, sizeof(T), FIELDS, \
	    sizeof(FIELDS) / sizeof(FIELDS[0]), NULL, NULL, NULL, NULL }
/* The same, freed by FREE (a whole record) rather than field by field. */
#define PLAYOUT_FREE(NAME, T, FIELDS, FREE) \
	const struct playout NAME = { #T, sizeof(T), FIELDS, \
	    sizeof(FIELDS) / sizeof(FIELDS[0]), NULL, NULL, FREE, NULL }
/*
 * The same, encoded and fingerprinted by its fields but decoded by DEC
 * (pl_dec_fields' contract: d failed and s freed and zeroed on error)
 * and freed by FREE: for one whose decode the fields' walk would make
 * dearer (st_begin_ok's strings in one allocation).
 */
#define PLAYOUT_DEC(NAME, T, FIELDS, DEC, FREE) \
	const struct playout NAME = { #T, sizeof(T), FIELDS, \
	    sizeof(FIELDS) / sizeof(FIELDS[0]), NULL, DEC, FREE, NULL }
/* The layout of nothing: an empty payload. */
extern const struct playout pl_empty;

/* Appends s as l says (a sticky error in e if it will not encode). */
void pl_enc(struct penc *, const struct playout *l, const void *s);
/*
 * Reads s (zeroed by the caller) from d as l says: 0, or -1 with d
 * failed and s freed and zeroed.
 */
int pl_dec(struct pdec *, const struct playout *l, void *s);
/*
 * A whole payload into s: 0, or -1 (s zeroed) when it does not decode
 * exactly, a byte short or a byte over.
 */
int pl_decode(const struct playout *l, const void *payload, size_t len,
    void *s);
/* Frees what decoding allocated in s (zeroed or decoded) and zeroes s. */
void pl_free(const struct playout *l, void *s);
/*
 * As pl_free, but s is left as it is (its pointers dangling): for a
 * struct that goes out of scope next, whose zeroing is wasted (a turn's
 * begin reply, some 2.8 KiB). A record's secrets are wiped all the same.
 */
void pl_release(const struct playout *l, void *s);
/*
 * h carried over what l's wire form depends on: each field's kind,
 * flags and bound, its sub-layout's in turn; a record with rows, its
 * rows' (rl_fingerprint); a codec of its own, only its name. Not
 * offsets or sizes, which differ from machine to machine.
 */
uint64_t pl_fingerprint(uint64_t h, const struct playout *l);

#endif
