/*
 * Knowledge gaps: the visitors' questions the assistant could not answer
 * (storaged/gapstore.c keeps them; workerd/admin/gaps.c groups them by
 * wording and answers GET /v1/admin/knowledge-gaps). A question is a
 * gap when, after it:
 *
 *   handoff      a person was asked for (by the visitor or the model);
 *   thumbs_down  the visitor gave the answer a thumbs down;
 *   dont_know    the answer said the assistant did not know;
 *   not_found    the answer's knowledge search found nothing.
 *
 * One gap per question (the visitor's message), its reasons or'ed; it
 * goes with its conversation, and when the owner answers or dismisses it
 * (ST_GAP_DELETE). Its terms are the question's words as the knowledge
 * base's analyzer makes them (folded, stopwords out, stemmed), each
 * hashed, so the worker can group similar wordings without the analyzer.
 *
 *   ST_GAP_LIST    u64 from, u64 to (ms), str widget ("" every one),
 *                  str agent ("" every one, "default" the default
 *                  agent), u32 limit (1 to
 *                  ST_GAP_LIST_MAX)
 *                           -> u32 n, n x gap (newest first), u8 more
 *     Who asks's organisation's gaps asked in [from, to); more: older
 *     ones in range were left out. At most limit x ST_GAP_SCAN_PER gaps
 *     of the range are looked at, newest first (a widget's or an
 *     agent's among many others' would be a walk of all): past them,
 *     more too.
 *   ST_GAP_DELETE  u32 n, n x str id (at most ST_GAP_DELETE_MAX)
 *                           -> u64 deleted
 *     Those of who asks's organisation deleted; the others ignored.
 */
#ifndef PARLEY_GAPMSG_H
#define PARLEY_GAPMSG_H

#include <stdint.h>

#include "orgmsg.h"
#include "record.h"
#include "storemsg.h"

#define ST_GAP_HANDOFF		0x01
#define ST_GAP_THUMBS_DOWN	0x02
#define ST_GAP_DONT_KNOW	0x04
#define ST_GAP_NOT_FOUND	0x08
#define ST_GAP_REASONS		4
#define ST_GAP_REASONS_ALL	0x0f
/* A gap's id: its conversation's id and its question's number, hex. */
#define ST_GAP_ID_HEX		(ST_ID_HEX + 8)
#define ST_GAP_QUESTION_MAX	500	/* bytes of the question kept */
#define ST_GAP_TERMS_MAX	32	/* terms kept, each 8 hex digits */
#define ST_GAP_LIST_MAX		500
#define ST_GAP_SCAN_PER		40	/* gaps looked at per one listed */
#define ST_GAP_DELETE_MAX	500

/* Its rows (recordtab.h) and layout (gapmsg.c). */
RL_RECORD(st_gap, gap, ST_GAP_ROWS)

/* A reason's name ("handoff", ...) by its bit's index, or NULL. */
const char *st_gap_reason_name(int i);

struct st_gap_list_req {
	uint64_t from, to;
	const char *widget;
	const char *agent;
	uint32_t limit;
};
struct st_gap_list_rep {
	struct st_gap *gaps;
	uint32_t n;
	uint8_t more;
};
struct st_str;
struct st_gap_delete_req {
	struct st_str *ids;
	uint32_t n;
};

#endif
