/*
 * The knowledge base's records: the chunks of the owner's pages that
 * storaged indexes and searches (storaged/kbindex.c). Conventions as in
 * storemsg.h (big-endian, str = u32 length + bytes, records behind a
 * one-byte format version in LMDB).
 *
 * A chunk is a piece of one page of one source, at most a few kilobytes
 * of text under its page's title and the headings above it (the
 * fetcher's chunker makes them: workerd/fetch/chunk.c). storaged keeps
 * it under a u64 id of its own, with the lengths in words of its three
 * searched fields, which ranking reads.
 */
#ifndef PARLEY_KBMSG_H
#define PARLEY_KBMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "record.h"
#include "storemsg.h"

#define ST_KB_URL_MAX		2048	/* bytes */
#define ST_KB_TITLE_MAX		300	/* characters */
#define ST_KB_HEADINGS_MAX	1000	/* characters: "A > B > C" */
#define ST_KB_TEXT_MAX		8192	/* bytes of UTF-8 */
#define ST_KB_LANG_MAX		8	/* "en", "pt": a widget language */
#define ST_KB_SEARCH_K_MAX	50	/* results a search returns at most */
#define ST_KB_QUERY_MAX		2000	/* bytes of a search's query */

/*
 * The chunk record, a row per field in stored order (record.h). org and
 * source_id say whose it is (a search sees its organisation's alone; a
 * source's deletion removes its chunks); lang is the language its words
 * were analysed in; the lengths are its fields' words as indexed. No
 * route shows a chunk yet: every row is hidden (RF_HID) until one does.
 *
 *   kind     member             JSON                 since bit
 *            view     bound                      x
 */
#define ST_KBCHUNK_ROWS(F)						\
	F(BUF, org, "organization_id", 1, RF_RO,			\
	    RF_HID, ST_WHO_ORG_MAX, 0)					\
	F(BUF, source_id, "source_id", 1, RF_RO,			\
	    RF_HID, ST_ID_HEX, 0)					\
	F(BUF, lang, "language", 1, RF_RO,				\
	    RF_HID, ST_KB_LANG_MAX, 0)					\
	F(BYTES, url, "url", 1, RF_RO,					\
	    RF_HID, ST_KB_URL_MAX, 0)					\
	F(STR, title, "title", 1, RF_RO,				\
	    RF_HID, ST_KB_TITLE_MAX, 0)					\
	F(STR, headings, "headings", 1, RF_RO,				\
	    RF_HID, ST_KB_HEADINGS_MAX, 0)				\
	F(BYTES, text, "text", 1, RF_RO,				\
	    RF_HID, ST_KB_TEXT_MAX, 0)					\
	F(U32, len_title, "len_title", 1, RF_RO,			\
	    RF_HID, UINT32_MAX, 0)					\
	F(U32, len_headings, "len_headings", 1, RF_RO,			\
	    RF_HID, UINT32_MAX, 0)					\
	F(U32, len_text, "len_text", 1, RF_RO,				\
	    RF_HID, UINT32_MAX, 0)					\
	F(TIME, created_at, "created_at", 1, RF_RO,			\
	    RF_HID, 0, 0)

struct st_kbchunk {
	ST_KBCHUNK_ROWS(RF_MEMBER)
};

/* Its layout (kbmsg.c). */
extern const struct rlayout st_kbchunk_layout;

/* Frees what c holds and zeroes it. */
void st_kbchunk_free(struct st_kbchunk *c);

#endif
