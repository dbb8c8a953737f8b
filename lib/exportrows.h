/*
 * The export rows (docs/dashboard.md), shared by the HTTP export
 * (workerd/admin/export.c) and parleyctl export so that both write the same
 * bytes: CSV with the formula guard, or JSON Lines through jansson.
 * Also the JSON helpers they need, which the admin API uses as well
 * (exprow_text, exprow_oset, ...: jansson owns the json_ prefix).
 */
#ifndef PARLEY_EXPORTROWS_H
#define PARLEY_EXPORTROWS_H

#include <stdint.h>

#include <jansson.h>

#include "proto.h"
#include "storemsg.h"

/* A JSON string of s, replacing invalid UTF-8 with U+FFFD. */
json_t *exprow_text(const char *s);
/*
 * v's text when v is a JSON string with no NUL in it (a document read
 * with JSON_ALLOW_NUL may hold one), else NULL.
 */
const char *exprow_plain(const json_t *v);
/* Sets o[k] = v (stolen), remembering a failure (v NULL too) in *err. */
void exprow_oset(json_t *o, const char *k, json_t *v, int *err);
/* o, or NULL (o freed) when a exprow_oset() on it failed. */
json_t *exprow_odone(json_t *o, int err);
/*
 * A conversation's session as admins see it: "sha256:" and the first 24
 * hex digits of its SHA-256. The Open Chat Widget's sessionId is the
 * visitor's credential (with the public widget key it reads and writes
 * the conversation), so no answer or export shows it; the digest still
 * groups a session's rows, and the conversation id is the admin's handle.
 */
#define EXPROW_SESSION_LEN	(7 + 24)
void exprow_session(const char *session, char out[EXPROW_SESSION_LEN + 1]);
/* Milliseconds since the epoch, as the admin API shows times. */
json_t *exprow_ms(uint64_t ms);
/* A JSON array of the n strings s (as exprow_text); NULL out of memory. */
json_t *exprow_list(char *const *s, uint32_t n);
/*
 * v (stolen; NULL, or err set, fails) as compact JSON, UTF-8 as it is:
 * malloc'd, or NULL.
 */
char *exprow_dumps(json_t *v, int err);
/* exprow_dumps(v, err) as one line onto e. 0, or -1. */
int exprow_line(struct penc *e, json_t *v, int err);

enum export_format { EXPORT_JSONL, EXPORT_CSV };
enum export_rows { EXPORT_CONVS, EXPORT_MSGS };

/*
 * Each appends to e (its sticky error included). One CSV field: quoted
 * when it holds , ; " CR or LF; ' before = + - @ TAB or CR at the start
 * of the field or after a , ; TAB CR or LF in it (past quotes and
 * spaces), wherever a spreadsheet may start a cell; U+FFFD for bad bytes.
 */
void exprow_csv_field(struct penc *e, const char *s);
/* The CSV header row (CRLF); "" for JSON Lines. */
const char *exprow_header(enum export_format, enum export_rows);
/* One row (a JSON line, or a CSV record). 0, or -1 out of memory. */
int exprow_conv(struct penc *e, enum export_format,
    const struct st_conv *);
int exprow_msg(struct penc *e, enum export_format, const struct st_msg *);

/*
 * Where the next ST_MSG_PAGES request of a messages export goes on after
 * a reply to one of n conversation ids from *from that said next_conv
 * and next_from: the ids to pass over (n: none left), *from its new
 * value. A place that does not move on passes over one conversation,
 * so the walk always ends.
 */
uint32_t exprow_pages_next(uint32_t n, uint32_t *from, uint32_t next_conv,
    uint32_t next_from);

#endif
