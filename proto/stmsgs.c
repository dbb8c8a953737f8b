/*
 * The layouts of storaged's requests and replies (stmsgs.h): each
 * struct's fields in wire order with their bounds. The message table
 * (msgtab.c) names them by type; st_req_* and st_rep_* find them there.
 */
#include <stdlib.h>
#include <string.h>

#include "msgtab.h"
#include "stmsgs.h"

/* A count bounded only by the payload (each element takes a byte at least). */
#define ANYN	PROTO_MAX_PAYLOAD

/* ---------------------------------------- records with codecs of their own */

#define RECORD(NAME, T, ENC, DEC, FREE)					\
	static void NAME##_enc(struct penc *e, const void *s)		\
	{ ENC(e, (const T *)s); }					\
	static int NAME##_dec(struct pdec *d, void *s)			\
	{ return DEC(d, (T *)s); }					\
	static void NAME##_free(void *s)				\
	{ FREE((T *)s); }						\
	const struct playout NAME = { #T, sizeof(T), NULL, 0,		\
	    NAME##_enc, NAME##_dec, NAME##_free, NULL }

/* A record with rows (record.h): the walks of its layout L. */
#define ROWS(NAME, T, L)						\
	static void NAME##_enc(struct penc *e, const void *s)		\
	{ rl_enc(e, &(L), s); }						\
	static int NAME##_dec(struct pdec *d, void *s)			\
	{ return rl_dec(d, &(L), s, rl_version(&(L))); }		\
	static void NAME##_free(void *s)				\
	{ rl_free(&(L), s); }						\
	const struct playout NAME = { #T, sizeof(T), NULL, 0,		\
	    NAME##_enc, NAME##_dec, NAME##_free, &(L) }

static void
stats_free(struct st_stats *s)
{
	(void)s;
}

static void
mseries_free(struct mseries *s)
{
	(void)s;
}

static void
mseries_enc(struct penc *e, const struct mseries *s)
{
	ms_enc(e, s->kind, s->name, s->labels, s->value);
}

ROWS(pl_conv, struct st_conv, st_conv_layout);
ROWS(pl_msg, struct st_msg, st_msg_layout);
ROWS(pl_widget, struct st_widget, st_widget_layout);
ROWS(pl_agent, struct st_agent, st_agent_layout);
ROWS(pl_org, struct st_org, st_org_layout);
ROWS(pl_apikey, struct st_apikey, st_apikey_layout);
ROWS(pl_user, struct st_user, st_user_layout);
ROWS(pl_webhook, struct st_webhook, st_webhook_layout);
ROWS(pl_kbsource, struct st_kbsource, st_kbsource_layout);
ROWS(pl_action, struct st_action, st_action_layout);
ROWS(pl_kbpage, struct st_kbpage, st_kbpage_layout);
ROWS(pl_delivery, struct st_delivery, st_delivery_layout);
RECORD(pl_hook_job, struct st_hook_job, penc_hook_job, pdec_hook_job,
    st_hook_job_free);
ROWS(pl_mail, struct st_mail, st_mail_layout);
ROWS(pl_canned, struct st_canned, st_canned_layout);
ROWS(pl_contact, struct st_contact, st_contact_layout);
RECORD(pl_event, struct st_event, penc_event, pdec_event, st_event_free);
RECORD(pl_stats, struct st_stats, penc_stats, pdec_stats, stats_free);
RECORD(pl_mseries, struct mseries, mseries_enc, ms_dec, mseries_free);

/* An event as bytes: exactly one event inside; p points into the payload. */
static void
evblob_enc(struct penc *e, const struct st_evblob *b)
{
	penc_bytes(e, b->p, b->len);
}

static int
evblob_dec(struct pdec *d, struct st_evblob *b)
{
	struct st_event ev;
	struct pdec in;
	size_t n;

	if ((b->p = pdec_bytes(d, &n)) == NULL)
		return -1;
	b->len = (uint32_t)n;
	pdec_init(&in, b->p, n);
	if (pdec_event(&in, &ev) < 0)
		return -1;
	st_event_free(&ev);
	return pdec_done(&in);
}

static void
evblob_free(struct st_evblob *b)
{
	(void)b;
}

RECORD(pl_evblob, struct st_evblob, evblob_enc, evblob_dec,
    evblob_free);

/* Bytes of anything (replication's parts and chunks); p points into the payload. */
static void
blob_enc(struct penc *e, const struct st_blob *b)
{
	if (b->len > ST_REPL_CHUNK)
		e->err = 1;
	else
		penc_bytes(e, b->p, b->len);
}

static int
blob_dec(struct pdec *d, struct st_blob *b)
{
	size_t n;

	if ((b->p = pdec_bytes(d, &n)) == NULL || n > ST_REPL_CHUNK) {
		d->err = 1;
		b->p = NULL;
		return -1;
	}
	b->len = (uint32_t)n;
	return 0;
}

static void
blob_free(struct st_blob *b)
{
	(void)b;
}

RECORD(pl_blob, struct st_blob, blob_enc, blob_dec, blob_free);

/* An uploaded file: as a blob, to ST_KB_FILE_MAX bytes. */
static void
kb_bytes_enc(struct penc *e, const struct st_kb_bytes *b)
{
	if (b->len > ST_KB_FILE_MAX)
		e->err = 1;
	else
		penc_bytes(e, b->p, b->len);
}

static int
kb_bytes_dec(struct pdec *d, struct st_kb_bytes *b)
{
	size_t n;

	if ((b->p = pdec_bytes(d, &n)) == NULL || n > ST_KB_FILE_MAX) {
		d->err = 1;
		return -1;
	}
	b->len = (uint32_t)n;
	return 0;
}

static void
kb_bytes_free(struct st_kb_bytes *b)
{
	(void)b;
}

RECORD(pl_kb_bytes, struct st_kb_bytes, kb_bytes_enc, kb_bytes_dec,
    kb_bytes_free);

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "embeddings travel as the host's f32: little-endian");

/* Embeddings: whole rows of 1 to ST_KB_VEC_DIM_MAX floats, or none. */
static int
kb_vecs_ok(const struct st_kb_vecs *v)
{
	if (v->dim == 0)
		return v->data.len == 0;
	return v->dim <= ST_KB_VEC_DIM_MAX && v->data.len <= ST_KB_VECS_MAX &&
	    v->data.len % (v->dim * sizeof(float)) == 0;
}

static void
kb_vecs_enc(struct penc *e, const struct st_kb_vecs *v)
{
	if (!kb_vecs_ok(v)) {
		e->err = 1;
		return;
	}
	penc_u32(e, v->dim);
	penc_u32(e, v->min_score);
	penc_bytes(e, v->data.p, v->data.len);
}

static int
kb_vecs_dec(struct pdec *d, struct st_kb_vecs *v)
{
	size_t n;

	v->dim = pdec_u32(d);
	v->min_score = pdec_u32(d);
	if ((v->data.p = pdec_bytes(d, &n)) == NULL || n > ST_KB_VECS_MAX) {
		d->err = 1;
		return -1;
	}
	v->data.len = (uint32_t)n;
	if (d->err || !kb_vecs_ok(v)) {
		d->err = 1;
		return -1;
	}
	return 0;
}

static void
kb_vecs_free(struct st_kb_vecs *v)
{
	(void)v;
}

RECORD(pl_kb_vecs, struct st_kb_vecs, kb_vecs_enc, kb_vecs_dec,
    kb_vecs_free);

void
st_kb_vec_row(const struct st_kb_vecs *v, uint32_t i, float *out)
{
	memcpy(out, v->data.p + (size_t)i * v->dim * sizeof(float),
	    (size_t)v->dim * sizeof(float));
}

/* ------------------------------------------------------------ small parts */

static const struct pfield f_rate_hit[] = {
	PFBUF(struct st_rate_hit, key),
	PFU32(struct st_rate_hit, window_ms),
	PFU32(struct st_rate_hit, max),
};
PLAYOUT(pl_rate_hit, struct st_rate_hit, f_rate_hit);

static const struct pfield f_rate_verdict[] = {
	PFU8(struct st_rate_verdict, limited),
	PFU64(struct st_rate_verdict, retry_ms),
};
PLAYOUT(pl_rate_verdict, struct st_rate_verdict, f_rate_verdict);

static const struct pfield f_u64[] = { PFU64(struct st_u64, v) };
PLAYOUT(pl_u64, struct st_u64, f_u64);

static const struct pfield f_wid_str[] = {
	PFSTR(struct st_str, s, ST_WID_ARG_MAX),
};
static PLAYOUT(pl_wid_str, struct st_str, f_wid_str);

static const struct pfield f_wid_req[] = {
	PFSTR(struct st_id_req, id, ST_WID_ARG_MAX),
};
PLAYOUT(pl_wid_req, struct st_id_req, f_wid_req);
/* ST_EV_WIDGET_GONE: the public id that stopped working. */
PLAYOUT(pl_widget_gone, struct st_id_req, f_wid_req);

/* ST_EV_STORE_FAILED: what storaged found removed or replaced. */
static const struct pfield f_store_failed[] = {
	PFSTR(struct st_str, s, ST_STORE_FAILED_MAX),
};
PLAYOUT(pl_store_failed, struct st_str, f_store_failed);

/* ST_EV_ROLE: which storaged this is, and where the primary is. */
static const struct pfield f_ev_role[] = {
	PFU8(struct st_ev_role, role),
	PFBUF(struct st_ev_role, primary),
};
PLAYOUT(pl_ev_role, struct st_ev_role, f_ev_role);

static const struct pfield f_cid_req[] = {
	PFSTR(struct st_id_req, id, ST_ID_HEX),
};
PLAYOUT(pl_cid_req, struct st_id_req, f_cid_req);

static const struct pfield f_turn_ref[] = {
	PFSTR(struct st_turn_ref, conv_id, ST_ID_HEX),
	PFSTR(struct st_turn_ref, msg_id, ST_ID_HEX),
};
PLAYOUT(pl_turn_ref, struct st_turn_ref, f_turn_ref);

static const struct pfield f_answer_last_req[] = {
	PFSTR(struct st_answer_last_req, conv_id, ST_ID_HEX),
	PFU32(struct st_answer_last_req, history_max),
};
PLAYOUT(pl_answer_last_req, struct st_answer_last_req, f_answer_last_req);

static const struct pfield f_turns_held[] = {
	PFLIST(struct st_turns_held, turns, n, ST_TURNS_HELD_MAX, pl_turn_ref),
};
PLAYOUT(pl_turns_held, struct st_turns_held, f_turns_held);

static const struct pfield f_page_req[] = {
	PFU32(struct st_page_req, limit),
	PFSTR(struct st_page_req, cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_page_req, struct st_page_req, f_page_req);

static const struct pfield f_limit_req[] = {
	PFU32(struct st_limit_req, limit),
};
PLAYOUT(pl_limit_req, struct st_limit_req, f_limit_req);

static const struct pfield f_conv_page[] = {
	PFU64(struct st_conv_page, total),
	PFLIST(struct st_conv_page, convs, n, ST_LIST_MAX, pl_conv),
	PFSTR(struct st_conv_page, next_cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_conv_page, struct st_conv_page, f_conv_page);


static const struct pfield f_msg_conv[] = {
	PFREC(struct st_msg_conv, msg, pl_msg),
	PFREC(struct st_msg_conv, conv, pl_conv),
};
PLAYOUT(pl_msg_conv, struct st_msg_conv, f_msg_conv);

/*
 * ST_MSG_APPEND's reply: the stored message's id alone. Its one sender is
 * the turn, which reads nothing else: it has the message it sent (the
 * whole reply's text, copied back, was some 9,000 instructions a turn to
 * decode and free) and knows the conversation (some 2 KiB more).
 */
static const struct pfield f_msg_stored[] = {
	PFBUF(struct st_msg_stored, id),
};
PLAYOUT(pl_msg_stored, struct st_msg_stored, f_msg_stored);

/* A message's attachment (storemsg.h), as its record and replies hold it. */
static const struct pfield f_msg_att[] = {
	PFBUF(struct st_msg_att, id),
	PFU8(struct st_msg_att, type),
	PFU32(struct st_msg_att, size),
	PFBUF(struct st_msg_att, name),
	PFBUF(struct st_msg_att, key),
};
PLAYOUT(pl_msg_att, struct st_msg_att, f_msg_att);

/* History lines: a message's role, content and files (st_line). */
static const struct pfield f_msg_pair[] = {
	PFBUF(struct st_line, role),
	PFSTR(struct st_line, content, ST_CONTENT_MAX),
	PFLIST(struct st_line, atts, natts, ST_MSG_ATTS_MAX, pl_msg_att),
};
static PLAYOUT(pl_msg_pair, struct st_line, f_msg_pair);

/* A message as the widget's history shows it (ST_WS_OPEN). */
static const struct pfield f_msg_shown[] = {
	PFBUF(struct st_msg, role),
	PFSTR(struct st_msg, content, ST_CONTENT_MAX),
	PFBUF(struct st_msg, name),
	PFBUF(struct st_msg, id),		/* issue 26: the thumbs name it */
	PFU8(struct st_msg, feedback),
	PFLIST(struct st_msg, atts, natts, ST_MSG_ATTS_MAX, pl_msg_att),
	PFBUF(struct st_msg, status),	/* an interrupted reply shows so */
	PFBUF(struct st_msg, client_id),	/* the widget's id of its own */
	PFSTR(struct st_msg, cited, ST_MSG_CITED_MAX),	/* an answer's sources */
};
/*
 * Freed as a whole message: storaged's replies hold what it read of the
 * record (its sources, a tool's arguments), not the shown fields alone.
 */
static void
msg_shown_free(void *s)
{
	st_msg_free(s);
}
static PLAYOUT_FREE(pl_msg_shown, struct st_msg, f_msg_shown,
    msg_shown_free);

/* -------------------------------------------------------- conversations */

static const struct pfield f_conv_open_req[] = {
	PFSTR(struct st_conv_open_req, widget, ST_WIDGET_MAX),
	PFSTR(struct st_conv_open_req, session, ST_SESSION_MAX),
};
PLAYOUT(pl_conv_open_req, struct st_conv_open_req, f_conv_open_req);

static const struct pfield f_conv_open_rep[] = {
	PFU8(struct st_conv_open_rep, created),
	PFREC(struct st_conv_open_rep, conv, pl_conv),
};
PLAYOUT(pl_conv_open_rep, struct st_conv_open_rep, f_conv_open_rep);

static const struct pfield f_ks_str[] = {
	PFSTR(struct st_str, s, ST_KB_SOURCE_ID_LEN),
};
static PLAYOUT(pl_ks_str, struct st_str, f_ks_str);

static const struct pfield f_tool_rec[] = {
	PFSTR(struct st_tool_rec, name, ST_ACTION_NAME_MAX),
	PFSTR(struct st_tool_rec, arguments, ST_TOOL_ARGS_KEPT),
	PFSTR(struct st_tool_rec, status, ST_STATUS_MAX),
	PFSTR(struct st_tool_rec, content, ST_TOOL_ANSWER_KEPT),
	PFU32(struct st_tool_rec, duration_ms),
	PFU8(struct st_tool_rec, origin),
};
static PLAYOUT(pl_tool_rec, struct st_tool_rec, f_tool_rec);

static const struct pfield f_msg_append_req[] = {
	PFSTR(struct st_msg_append_req, conv_id, ST_ID_HEX),
	PFSTR(struct st_msg_append_req, role, ST_ROLE_MAX),
	PFSTR(struct st_msg_append_req, content, ST_CONTENT_MAX),
	PFSTR(struct st_msg_append_req, status, ST_STATUS_MAX),
	PFU32(struct st_msg_append_req, prompt_tokens),
	PFU32(struct st_msg_append_req, completion_tokens),
	PFLIST(struct st_msg_append_req, sources, nsources, ST_MSG_SOURCES_MAX,
	    pl_ks_str),
	PFU8(struct st_msg_append_req, knowledge),
	PFLIST(struct st_msg_append_req, tools, ntools, ST_TOOL_CALLS_MAX,
	    pl_tool_rec),
	PFSTR(struct st_msg_append_req, cited, ST_MSG_CITED_MAX),
	PFSTR(struct st_msg_append_req, question, ST_ID_HEX),
};
PLAYOUT(pl_msg_append_req, struct st_msg_append_req, f_msg_append_req);

static const struct pfield f_conv_get_req[] = {
	PFSTR(struct st_conv_get_req, conv_id, ST_ID_HEX),
	PFU32(struct st_conv_get_req, max_messages),
};
PLAYOUT(pl_conv_get_req, struct st_conv_get_req, f_conv_get_req);

static const struct pfield f_conv_get_rep[] = {
	PFREC(struct st_conv_msgs, conv, pl_conv),
	PFLIST(struct st_conv_msgs, msgs, n, ANYN, pl_msg),
	PFU8(struct st_conv_msgs, truncated),
};
PLAYOUT(pl_conv_get_rep, struct st_conv_msgs, f_conv_get_rep);

static const struct pfield f_history[] = {
	PFREC(struct st_conv_msgs, conv, pl_conv),
	PFLIST(struct st_conv_msgs, msgs, n, ANYN, pl_msg),
	PFU8(struct st_conv_msgs, truncated),
};
static PLAYOUT(pl_history, struct st_conv_msgs, f_history);

static const struct pfield f_session_history_req[] = {
	PFSTR(struct st_session_history_req, widget, ST_WIDGET_MAX),
	PFSTR(struct st_session_history_req, session, ST_SESSION_MAX),
	PFU32(struct st_session_history_req, max_messages),
};
PLAYOUT(pl_session_history_req, struct st_session_history_req,
    f_session_history_req);

static const struct pfield f_session_history_rep[] = {
	PFU8(struct st_session_history_rep, found),
	PFWHEN(struct st_session_history_rep, found, 1u << ST_HISTORY_FOUND,
	    h, pl_history),
};
PLAYOUT(pl_session_history_rep, struct st_session_history_rep,
    f_session_history_rep);

static const struct pfield f_msg_page_req[] = {
	PFSTR(struct st_msg_page_req, conv_id, ST_ID_HEX),
	PFU32(struct st_msg_page_req, from),
	PFU32(struct st_msg_page_req, limit),
};
PLAYOUT(pl_msg_page_req, struct st_msg_page_req, f_msg_page_req);

static const struct pfield f_msg_page_rep[] = {
	PFLIST(struct st_msg_page_rep, msgs, n, ST_LIST_MAX, pl_msg),
	PFU32(struct st_msg_page_rep, next),
};
PLAYOUT(pl_msg_page_rep, struct st_msg_page_rep, f_msg_page_rep);

static const struct pfield f_cid_str[] = {
	PFSTR(struct st_str, s, ST_ID_HEX),
};
static PLAYOUT(pl_cid_str, struct st_str, f_cid_str);

static const struct pfield f_msg_pages_req[] = {
	PFLIST(struct st_msg_pages_req, ids, n, ST_LIST_MAX, pl_cid_str),
	PFU32(struct st_msg_pages_req, from),
	PFU32(struct st_msg_pages_req, limit),
};
PLAYOUT(pl_msg_pages_req, struct st_msg_pages_req, f_msg_pages_req);

static const struct pfield f_msg_pages_rep[] = {
	PFLIST(struct st_msg_pages_rep, msgs, n, ST_LIST_MAX, pl_msg),
	PFU32(struct st_msg_pages_rep, next_conv),
	PFU32(struct st_msg_pages_rep, next_from),
};
PLAYOUT(pl_msg_pages_rep, struct st_msg_pages_rep, f_msg_pages_rep);

static const struct pfield f_conv_query_req[] = {
	PFU32(struct st_conv_query_req, limit),
	PFSTR(struct st_conv_query_req, cursor, ST_CURSOR_MAX),
	PFCLIP(struct st_conv_query_req, widget, ST_WIDGET_MAX),
	PFCLIP(struct st_conv_query_req, q, ST_SEARCH_MAX),
	PFU8(struct st_conv_query_req, assigned),
	PFCLIP(struct st_conv_query_req, assignee, ST_WHO_USER_MAX),
	PFU8(struct st_conv_query_req, gaps),
	PFU8(struct st_conv_query_req, state),
	PFU8(struct st_conv_query_req, order),
};
PLAYOUT(pl_conv_query_req, struct st_conv_query_req, f_conv_query_req);

/* ------------------------------------------------------------- the turn */

/* What a widget tells of its visitor (issue 24), bounded as stored. */
static const struct pfield f_visitor[] = {
	PFSTR(struct st_visitor, page_url, ST_VISITOR_URL_MAX),
	PFSTR(struct st_visitor, referrer, ST_VISITOR_URL_MAX),
	PFSTR(struct st_visitor, user_agent, ST_VISITOR_UA_MAX),
	PFSTR(struct st_visitor, language, ST_VISITOR_LANG_MAX),
	PFSTR(struct st_visitor, time_zone, ST_VISITOR_TZ_MAX),
};

/* Read as a conversation's visitor is, into one allocation (storemsg.h). */
static int
visitor_dec(struct pdec *d, void *v)
{
	return pdec_visitor(d, v);
}

static void
visitor_free(void *v)
{
	st_visitor_free(v);
}

static PLAYOUT_DEC(pl_visitor, struct st_visitor, f_visitor, visitor_dec,
    visitor_free);

/* The uploads a message names (attmsg.h). */
static const struct pfield f_att_id[] = {
	PFSTR(struct st_str, s, ST_ATT_ID_LEN),
};
static PLAYOUT(pl_att_id, struct st_str, f_att_id);

static const struct pfield f_chat_begin_req[] = {
	PFSTR(struct st_chat_begin_req, widget, ST_WIDGET_MAX),
	PFSTR(struct st_chat_begin_req, session, ST_SESSION_MAX),
	PFSTR(struct st_chat_begin_req, content, ST_CONTENT_MAX),
	PFSTR(struct st_chat_begin_req, rate_key, ST_RATE_KEY_MAX),
	PFU32(struct st_chat_begin_req, window_ms),
	PFU32(struct st_chat_begin_req, rate_max),
	PFU32(struct st_chat_begin_req, history_max),
	PFREC(struct st_chat_begin_req, visitor, pl_visitor),
	PFBYTES(struct st_chat_begin_req, token, token_len,
	    PF_F_EXACT | PF_F_NONE),
	PFLIST(struct st_chat_begin_req, atts, natts, ST_MSG_ATTS_MAX,
	    pl_att_id),
};
PLAYOUT(pl_chat_begin_req, struct st_chat_begin_req, f_chat_begin_req);

/*
 * Of the conversation, what the turn reads: its id and the visitor's
 * language (the model's reply language). The whole record (some 2 KiB,
 * fifty rows) was encoded, sent and decoded each turn for those two;
 * st_begin_ok holds only them.
 */
static const struct pfield f_begin_ok[] = {
	PFREC(struct st_begin_ok, agent, pl_agent),
	PFU8(struct st_begin_ok, created),
	PFBUF(struct st_begin_ok, conv_id),
	PFSTR(struct st_begin_ok, language, ST_VISITOR_LANG_MAX),
	PFLIST(struct st_begin_ok, history, nhistory, ANYN, pl_msg_pair),
	PFBUF(struct st_begin_ok, msg_id),
	PFU8(struct st_begin_ok, handoff),
};

/* As f_begin_ok, and whether the session is a verified visitor's. */
static const struct pfield f_ws_begin_ok[] = {
	PFREC(struct st_begin_ok, agent, pl_agent),
	PFU8(struct st_begin_ok, created),
	PFBUF(struct st_begin_ok, conv_id),
	PFSTR(struct st_begin_ok, language, ST_VISITOR_LANG_MAX),
	PFLIST(struct st_begin_ok, history, nhistory, ANYN, pl_msg_pair),
	PFU8(struct st_begin_ok, verified),
	PFBUF(struct st_begin_ok, msg_id),
	PFU8(struct st_begin_ok, handoff),
};

/*
 * A history line's files, read and freed as f_msg_pair's last field (its
 * count read first: most lines have none).
 */
static const struct pfield f_line_atts[] = {
	PFLIST_SAMEN(struct st_line, atts, natts, ST_MSG_ATTS_MAX, pl_msg_att),
};
static PLAYOUT(pl_line_atts, struct st_line, f_line_atts);

static void
begin_ok_free(void *s)
{
	struct st_begin_ok *ok = s;
	uint32_t i;

	pl_release(&pl_agent, &ok->agent);
	for (i = 0; ok->history != NULL && i < ok->nhistory; i++)
		if (ok->history[i].atts != NULL)
			pl_release(&pl_line_atts, &ok->history[i]);
	free(ok->text);		/* the lines' too */
}

/*
 * A string of at most max bytes (no NUL, as pdec_strdup checks it)
 * copied to *at, NUL-terminated; *at moves past it. NULL: d failed.
 */
static char *
text_take(struct pdec *d, size_t max, char **at)
{
	const uint8_t *p;
	char *s = *at;
	size_t n;

	if ((p = pdec_str(d, max, &n)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	*at = s + n + 1;
	return s;
}

/*
 * f_begin_ok's bytes (with ws, f_ws_begin_ok's) as the walk reads them,
 * checked alike, but the history's lines, then the language and each
 * line's content, are in one allocation (ok->text) rather than each in
 * its own: a malloc and a free a string, some ten lines a turn. Each
 * string's NUL fits in the 4 bytes of its length: what is left of the
 * payload after the lines' count holds them all.
 */
static int
begin_ok_dec_as(struct pdec *d, struct st_begin_ok *ok, int ws)
{
	struct st_line *l;
	const uint8_t *lang;
	size_t langlen;
	char *at;
	uint32_t n, i;

	if (pl_dec(d, &pl_agent, &ok->agent) < 0)
		return -1;
	ok->created = pdec_u8(d);
	pdec_strbuf(d, ok->conv_id, sizeof(ok->conv_id));
	/* The language copied once the lines' room is known. */
	lang = pdec_str(d, ST_VISITOR_LANG_MAX, &langlen);
	/* As dec_list: every line takes a byte at least. */
	n = pdec_u32(d);
	if (d->err || n > ANYN || n > d->len - d->off)
		goto fail;
	if ((ok->text = malloc((size_t)n * sizeof(*l) + langlen + 1 +
	    d->len - d->off)) == NULL)
		goto fail;
	at = ok->text + (size_t)n * sizeof(*l);
	memcpy(at, lang, langlen);
	at[langlen] = '\0';
	ok->language = at;
	at += langlen + 1;
	if (n > 0)
		ok->history = (struct st_line *)(void *)ok->text;
	for (i = 0; i < n; i++) {
		l = &ok->history[i];
		l->atts = NULL;
		ok->nhistory = i + 1;	/* the lines made so far, to free */
		pdec_strbuf(d, l->role, sizeof(l->role));
		if ((l->content = text_take(d, ST_CONTENT_MAX, &at)) == NULL)
			goto fail;
		l->natts = pdec_u32(d);
		if (d->err || (l->natts > 0 && pl_dec(d, &pl_line_atts, l) < 0))
			goto fail;
	}
	if (ws)
		ok->verified = pdec_u8(d);
	pdec_strbuf(d, ok->msg_id, sizeof(ok->msg_id));
	ok->handoff = pdec_u8(d);
	if (d->err)
		goto fail;
	return 0;
fail:
	d->err = 1;
	begin_ok_free(ok);
	memset(ok, 0, sizeof(*ok));
	return -1;
}

static int
begin_ok_dec(struct pdec *d, void *s)
{
	return begin_ok_dec_as(d, s, 0);
}

static int
ws_begin_ok_dec(struct pdec *d, void *s)
{
	return begin_ok_dec_as(d, s, 1);
}

static PLAYOUT_DEC(pl_begin_ok, struct st_begin_ok, f_begin_ok, begin_ok_dec,
    begin_ok_free);
static PLAYOUT_DEC(pl_ws_begin_ok, struct st_begin_ok, f_ws_begin_ok,
    ws_begin_ok_dec, begin_ok_free);

static const struct pfield f_chat_begin_rep[] = {
	PFU8(struct st_begin_rep, result),
	PFU64(struct st_begin_rep, retry_ms),
	PFWHEN(struct st_begin_rep, result,
	    (1u << ST_CHAT_OK) | (1u << ST_CHAT_HUMAN), ok, pl_begin_ok),
};
PLAYOUT(pl_chat_begin_rep, struct st_begin_rep, f_chat_begin_rep);

static const struct pfield f_ws_begin_rep[] = {
	PFU8(struct st_begin_rep, result),
	PFU64(struct st_begin_rep, retry_ms),
	PFWHEN(struct st_begin_rep, result,
	    (1u << ST_WS_OK) | (1u << ST_WS_HUMAN), ok, pl_ws_begin_ok),
};
PLAYOUT(pl_ws_begin_rep, struct st_begin_rep, f_ws_begin_rep);

/* ------------------------------------------------------------- visitors */

static const struct pfield f_ws_open_req[] = {
	PFSTR(struct st_ws_open_req, widget_id, ST_WID_ARG_MAX),
	PFCLIP(struct st_ws_open_req, origin, ST_ORIGIN_MAX),
	PFBYTES(struct st_ws_open_req, token, token_len,
	    PF_F_EXACT | PF_F_NONE),
	PFBYTES(struct st_ws_open_req, new_hash, new_hash_len, PF_F_EXACT),
	PFU64(struct st_ws_open_req, idle_ms),
	PFU32(struct st_ws_open_req, history_max),
	PFLIST(struct st_ws_open_req, hits, nhits, ST_WS_OPEN_HITS_MAX,
	    pl_rate_hit),
	PFU8(struct st_ws_open_req, history_hit),
};
PLAYOUT(pl_ws_open_req, struct st_ws_open_req, f_ws_open_req);

static const struct pfield f_ws_limited[] = {
	PFU8(struct st_ws_limited, which),
	PFU64(struct st_ws_limited, retry_ms),
};
static PLAYOUT(pl_ws_limited, struct st_ws_limited, f_ws_limited);

static const struct pfield f_ws_open_ok[] = {
	PFREC(struct st_ws_open_ok, widget, pl_widget),
	PFU8(struct st_ws_open_ok, resumed),
	PFU8(struct st_ws_open_ok, contact_submitted),
	PFBUF(struct st_ws_open_ok, conv_id),
	PFLIST(struct st_ws_open_ok, history, nhistory, ANYN, pl_msg_shown),
	PFU8(struct st_ws_open_ok, more),
	PFU8(struct st_ws_open_ok, handoff),
	PFBUF(struct st_ws_open_ok, handoff_name),
	PFU8(struct st_ws_open_ok, staffed),
	PFU8(struct st_ws_open_ok, earlier),
};
static PLAYOUT(pl_ws_open_ok, struct st_ws_open_ok, f_ws_open_ok);

static const struct pfield f_ws_open_rep[] = {
	PFU8(struct st_ws_open_rep, result),
	PFWHEN(struct st_ws_open_rep, result, 1u << ST_WS_LIMITED, limited,
	    pl_ws_limited),
	PFWHEN(struct st_ws_open_rep, result, 1u << ST_WS_OK, ok,
	    pl_ws_open_ok),
};
PLAYOUT(pl_ws_open_rep, struct st_ws_open_rep, f_ws_open_rep);

static const struct pfield f_ws_conv_new_rep[] = {
	PFU8(struct st_ws_conv_new_rep, result),
	PFBUF(struct st_ws_conv_new_rep, ended),
};
PLAYOUT(pl_ws_conv_new_rep, struct st_ws_conv_new_rep, f_ws_conv_new_rep);

static const struct pfield f_ws_conv_item[] = {
	PFBUF(struct st_ws_conv_item, id),
	PFU64(struct st_ws_conv_item, started_at),
	PFU64(struct st_ws_conv_item, updated_at),
	PFBUF(struct st_ws_conv_item, preview),
	PFU8(struct st_ws_conv_item, current),
};
static PLAYOUT(pl_ws_conv_item, struct st_ws_conv_item, f_ws_conv_item);

static const struct pfield f_ws_conv_list_rep[] = {
	PFU8(struct st_ws_conv_list_rep, result),
	PFLIST(struct st_ws_conv_list_rep, convs, n, ST_WS_CONVS_MAX,
	    pl_ws_conv_item),
};
PLAYOUT(pl_ws_conv_list_rep, struct st_ws_conv_list_rep,
    f_ws_conv_list_rep);

static const struct pfield f_ws_conv_read_req[] = {
	PFSTR(struct st_ws_conv_read_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_conv_read_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_conv_read_req, conv_id, ST_ID_HEX),
	PFU32(struct st_ws_conv_read_req, history_max),
};
PLAYOUT(pl_ws_conv_read_req, struct st_ws_conv_read_req,
    f_ws_conv_read_req);

static const struct pfield f_ws_conv_read_rep[] = {
	PFU8(struct st_ws_conv_read_rep, result),
	PFBUF(struct st_ws_conv_read_rep, conv_id),
	PFLIST(struct st_ws_conv_read_rep, history, nhistory, ANYN,
	    pl_msg_shown),
	PFU8(struct st_ws_conv_read_rep, more),
};
PLAYOUT(pl_ws_conv_read_rep, struct st_ws_conv_read_rep,
    f_ws_conv_read_rep);

static const struct pfield f_widget_avail_rep[] = {
	PFREC(struct st_widget_avail_rep, widget, pl_widget),
	PFU8(struct st_widget_avail_rep, staffed),
};
PLAYOUT(pl_widget_avail_rep, struct st_widget_avail_rep, f_widget_avail_rep);

static const struct pfield f_setup_note_req[] = {
	PFU8(struct st_setup_note_req, reason),
	PFSTR(struct st_setup_note_req, widget_id, ST_WID_LEN),
	PFBUF(struct st_setup_note_req, origin),
	PFSTR(struct st_setup_note_req, rate_key, ST_RATE_KEY_MAX),
};
PLAYOUT(pl_setup_note_req, struct st_setup_note_req, f_setup_note_req);

static const struct pfield f_setup_origin[] = {
	PFBUF(struct st_setup_origin, origin),
	PFU64(struct st_setup_origin, last_at),
	PFU8(struct st_setup_origin, reason),
	PFU32(struct st_setup_origin, count),
};
static PLAYOUT(pl_setup_origin, struct st_setup_origin, f_setup_origin);

static const struct pfield f_setup_rep[] = {
	PFU64(struct st_setup_rep, since),
	PFU64(struct st_setup_rep, key),
	PFU64(struct st_setup_rep, cors),
	PFU64(struct st_setup_rep, origin),
	PFU64(struct st_setup_rep, csp),
	PFU64(struct st_setup_rep, disabled),
	PFLIST(struct st_setup_rep, origins, norigins, ST_SETUP_ORIGINS,
	    pl_setup_origin),
	PFLIST(struct st_setup_rep, reports, nreports, ST_SETUP_ORIGINS,
	    pl_setup_origin),
};
PLAYOUT(pl_setup_rep, struct st_setup_rep, f_setup_rep);

static const struct pfield f_ws_begin_req[] = {
	PFSTR(struct st_ws_begin_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_begin_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_begin_req, content, ST_CONTENT_MAX),
	PFSTR(struct st_ws_begin_req, rate_key, ST_RATE_KEY_MAX),
	PFU32(struct st_ws_begin_req, window_ms),
	PFU32(struct st_ws_begin_req, rate_max),
	PFU32(struct st_ws_begin_req, history_max),
	PFU64(struct st_ws_begin_req, idle_ms),
	PFU8(struct st_ws_begin_req, create),
	PFREC(struct st_ws_begin_req, visitor, pl_visitor),
	PFLIST(struct st_ws_begin_req, atts, natts, ST_MSG_ATTS_MAX, pl_att_id),
	PFSTR(struct st_ws_begin_req, client_id, ST_CLIENT_ID_MAX),
	PFSTR(struct st_ws_begin_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_ws_begin_req, struct st_ws_begin_req, f_ws_begin_req);

static const struct pfield f_ws_session_req[] = {
	PFSTR(struct st_ws_session_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_session_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_session_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_ws_session_req, struct st_ws_session_req, f_ws_session_req);

static const struct pfield f_contact_submit_req[] = {
	PFSTR(struct st_contact_submit_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_contact_submit_req, token, token_len, PF_F_EXACT),
	PFCLIP(struct st_contact_submit_req, name, 4 * ST_CONTACT_NAME_MAX),
	PFCLIP(struct st_contact_submit_req, email, ST_EMAIL_MAX),
	PFCLIP(struct st_contact_submit_req, phone, ST_PHONE_MAX),
	PFSTR(struct st_contact_submit_req, rate_key, ST_RATE_KEY_MAX),
	PFU32(struct st_contact_submit_req, window_ms),
	PFU32(struct st_contact_submit_req, rate_max),
	PFSTR(struct st_contact_submit_req, origin, ST_ORIGIN_MAX),
	PFU8(struct st_contact_submit_req, create),
};
PLAYOUT(pl_contact_submit_req, struct st_contact_submit_req,
    f_contact_submit_req);

static const struct pfield f_contact_submit_rep[] = {
	PFU8(struct st_contact_submit_rep, result),
	PFWHEN(struct st_contact_submit_rep, result, 1u << ST_WS_OK, contact,
	    pl_contact),
	PFWHEN(struct st_contact_submit_rep, result, 1u << ST_WS_LIMITED,
	    retry_ms, pl_u64),
};
PLAYOUT(pl_contact_submit_rep, struct st_contact_submit_rep,
    f_contact_submit_rep);

static const struct pfield f_secret_rep[] = {
	PFBUF(struct st_secret_rep, secret),
};
PLAYOUT(pl_secret_rep, struct st_secret_rep, f_secret_rep);

static const struct pfield f_ws_identify_req[] = {
	PFSTR(struct st_ws_identify_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_identify_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_identify_req, external_id, 4 * ST_EXTERNAL_ID_MAX),
	PFSTR(struct st_ws_identify_req, name, 4 * ST_CONTACT_NAME_MAX),
	PFSTR(struct st_ws_identify_req, email, ST_EMAIL_MAX),
	PFSTR(struct st_ws_identify_req, hash, ST_SECRET_HEX),
	PFSTR(struct st_ws_identify_req, email_hash, ST_SECRET_HEX),
	PFSTR(struct st_ws_identify_req, origin, ST_ORIGIN_MAX),
	PFU8(struct st_ws_identify_req, create),
	PFU64(struct st_ws_identify_req, expires),
};
PLAYOUT(pl_ws_identify_req, struct st_ws_identify_req, f_ws_identify_req);

static const struct pfield f_ws_identify_rep[] = {
	PFU8(struct st_ws_identify_rep, result),
	PFU8(struct st_ws_identify_rep, verified),
	PFU8(struct st_ws_identify_rep, taken),
	PFBUF(struct st_ws_identify_rep, contact_id),
	PFU8(struct st_ws_identify_rep, email_verified),
};
PLAYOUT(pl_ws_identify_rep, struct st_ws_identify_rep, f_ws_identify_rep);

static const struct pfield f_contact_page[] = {
	PFU64(struct st_contact_page, total),
	PFLIST(struct st_contact_page, contacts, n, ST_LIST_MAX, pl_contact),
	PFBUF(struct st_contact_page, next_cursor),
};
PLAYOUT(pl_contact_page, struct st_contact_page, f_contact_page);

static const struct pfield f_clink[] = {
	PFU8(struct st_clink, unverified),
	PFSTR(struct st_clink, name, 4 * ST_CONTACT_NAME_MAX),
	PFSTR(struct st_clink, email, ST_EMAIL_MAX),
	PFSTR(struct st_clink, phone, ST_PHONE_MAX),
};
static PLAYOUT(pl_clink, struct st_clink, f_clink);

static const struct pfield f_contact_get_rep[] = {
	PFREC(struct st_contact_get_rep, contact, pl_contact),
	PFLIST(struct st_contact_get_rep, convs, n, ST_LIST_MAX, pl_conv),
	PFLIST_SAMEN(struct st_contact_get_rep, links, n, ST_LIST_MAX,
	    pl_clink),
	PFU64(struct st_contact_get_rep, total),
	PFBUF(struct st_contact_get_rep, next_cursor),
};
PLAYOUT(pl_contact_get_rep, struct st_contact_get_rep, f_contact_get_rep);

static const struct pfield f_contact_get_req[] = {
	PFSTR(struct st_id_page_req, id, ST_ID_HEX),
	PFU32(struct st_id_page_req, limit),
	PFSTR(struct st_id_page_req, cursor, ST_CONTACT_CURSOR_LEN),
};
PLAYOUT(pl_contact_get_req, struct st_id_page_req, f_contact_get_req);

static const struct pfield f_contact_erase_req[] = {
	PFSTR(struct st_contact_erase_req, id, ST_ID_HEX),
	PFU8(struct st_contact_erase_req, erase),
};
PLAYOUT(pl_contact_erase_req, struct st_contact_erase_req,
    f_contact_erase_req);

static const struct pfield f_contact_cursor_req[] = {
	PFSTR(struct st_contact_cursor_req, id, ST_ID_HEX),
	PFSTR(struct st_contact_cursor_req, cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_contact_cursor_req, struct st_contact_cursor_req,
    f_contact_cursor_req);

static const struct pfield f_contact_convs_rep[] = {
	PFLIST(struct st_contact_convs_rep, convs, n, ST_LIST_MAX, pl_conv),
	PFLIST_SAMEN(struct st_contact_convs_rep, links, n, ST_LIST_MAX,
	    pl_clink),
	PFSTR(struct st_contact_convs_rep, next_cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_contact_convs_rep, struct st_contact_convs_rep,
    f_contact_convs_rep);

static const struct pfield f_contact_sess[] = {
	PFBUF(struct st_contact_sess, session),
	PFBUF(struct st_contact_sess, widget),
	PFU64(struct st_contact_sess, created_at),
	PFU64(struct st_contact_sess, active_at),
	PFU64(struct st_contact_sess, expires_at),
	PFU32(struct st_contact_sess, submissions),
	PFREC(struct st_contact_sess, last, pl_clink),
};
static PLAYOUT(pl_contact_sess, struct st_contact_sess, f_contact_sess);

static const struct pfield f_contact_sess_rep[] = {
	PFLIST(struct st_contact_sess_rep, sessions, n, ST_LIST_MAX,
	    pl_contact_sess),
	PFBUF(struct st_contact_sess_rep, next_cursor),
};
PLAYOUT(pl_contact_sess_rep, struct st_contact_sess_rep, f_contact_sess_rep);

/* ------------------------------------------------------- widgets, agents */

static const struct pfield f_widget_update_req[] = {
	PFSTR(struct st_widget_update_req, id, ST_WID_ARG_MAX),
	PFU64(struct st_widget_update_req, mask),
	PFREC(struct st_widget_update_req, w, pl_widget),
};
PLAYOUT(pl_widget_update_req, struct st_widget_update_req,
    f_widget_update_req);

static const struct pfield f_widgets[] = {
	PFLIST(struct st_widgets, widgets, n, ST_WIDGETS_MAX, pl_widget),
};
PLAYOUT(pl_widgets, struct st_widgets, f_widgets);

static const struct pfield f_agent_update_req[] = {
	PFSTR(struct st_agent_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_agent_update_req, mask),
	PFREC(struct st_agent_update_req, a, pl_agent),
};
PLAYOUT(pl_agent_update_req, struct st_agent_update_req,
    f_agent_update_req);

static const struct pfield f_agents[] = {
	PFLIST(struct st_agents, agents, n, ST_AGENTS_MAX, pl_agent),
};
PLAYOUT(pl_agents, struct st_agents, f_agents);

static const struct pfield f_agent_delete_rep[] = {
	PFU8(struct st_agent_delete_rep, in_use),
	PFLIST(struct st_agent_delete_rep, widget_ids, n, ST_WIDGETS_MAX,
	    pl_wid_str),
};
PLAYOUT(pl_agent_delete_rep, struct st_agent_delete_rep,
    f_agent_delete_rep);

/* ----------------------------------------------------------- organisations */

static const struct pfield f_org_update_req[] = {
	PFSTR(struct st_org_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_org_update_req, mask),
	PFREC(struct st_org_update_req, o, pl_org),
};
PLAYOUT(pl_org_update_req, struct st_org_update_req, f_org_update_req);

static const struct pfield f_hook_update_req[] = {
	PFSTR(struct st_webhook_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_webhook_update_req, mask),
	PFREC(struct st_webhook_update_req, h, pl_webhook),
};
PLAYOUT(pl_hook_update_req, struct st_webhook_update_req, f_hook_update_req);

static const struct pfield f_hook_secret_req[] = {
	PFSTR(struct st_hook_secret_req, id, ST_WID_ARG_MAX),
	PFBUF(struct st_hook_secret_req, secret),
};
PLAYOUT(pl_hook_secret_req, struct st_hook_secret_req, f_hook_secret_req);

static const struct pfield f_webhooks[] = {
	PFLIST(struct st_webhooks, hooks, n, ST_HOOKS_MAX, pl_webhook),
};
PLAYOUT(pl_webhooks, struct st_webhooks, f_webhooks);

/* ------------------------------------------------- the inbox (issue 24) */

static const struct pfield f_canneds[] = {
	PFLIST(struct st_canneds, items, n, ST_CANNED_MAX, pl_canned),
};
PLAYOUT(pl_canneds, struct st_canneds, f_canneds);

static const struct pfield f_canned_put_req[] = {
	PFSTR(struct st_canned_put_req, id, ST_WID_ARG_MAX),
	PFCLIP(struct st_canned_put_req, shortcut, ST_CANNED_SHORT_MAX),
	PFCLIP(struct st_canned_put_req, text, ST_CANNED_TEXT_MAX),
	PFU8(struct st_canned_put_req, set_atts),
	PFLIST(struct st_canned_put_req, atts, natts, ST_MSG_ATTS_MAX,
	    pl_att_id),
};
PLAYOUT(pl_canned_put_req, struct st_canned_put_req, f_canned_put_req);

static const struct pfield f_hook_room[] = {
	PFBUF(struct st_hook_room, hook),
	PFU32(struct st_hook_room, room),
};
PLAYOUT(pl_hook_room, struct st_hook_room, f_hook_room);

static const struct pfield f_org_held[] = {
	PFBUF(struct st_org_held, org),
	PFU32(struct st_org_held, held),
};
PLAYOUT(pl_org_held, struct st_org_held, f_org_held);

static const struct pfield f_hook_due_req[] = {
	PFU32(struct st_hook_due_req, max),
	PFU32(struct st_hook_due_req, lease_ms),
	PFU32(struct st_hook_due_req, per_hook),
	PFLIST(struct st_hook_due_req, held, nheld, ST_HOOK_HELD_MAX,
	    pl_hook_room),
	PFU32(struct st_hook_due_req, per_org),
	PFLIST(struct st_hook_due_req, orgs, norgs, ST_HOOK_HELD_MAX,
	    pl_org_held),
};
PLAYOUT(pl_hook_due_req, struct st_hook_due_req, f_hook_due_req);

static const struct pfield f_mail_due_req[] = {
	PFU32(struct st_mail_due_req, max),
	PFU32(struct st_mail_due_req, lease_ms),
};
PLAYOUT(pl_mail_due_req, struct st_mail_due_req, f_mail_due_req);

static const struct pfield f_hook_jobs[] = {
	PFLIST(struct st_hook_jobs, jobs, n, ST_HOOK_DUE_MAX, pl_hook_job),
	PFU8(struct st_hook_jobs, more),
};
PLAYOUT(pl_hook_jobs, struct st_hook_jobs, f_hook_jobs);

static const struct pfield f_hook_result_req[] = {
	PFSTR(struct st_hook_result_req, id, ST_DLV_ID_LEN),
	PFU8(struct st_hook_result_req, ok),
	PFU32(struct st_hook_result_req, code),
	PFCLIP(struct st_hook_result_req, error, ST_DLV_ERROR_MAX),
	PFU32(struct st_hook_result_req, duration_ms),
	PFU64(struct st_hook_result_req, retry_at),
};
PLAYOUT(pl_hook_result_req, struct st_hook_result_req, f_hook_result_req);

static const struct pfield f_hook_retry_req[] = {
	PFSTR(struct st_hook_retry_req, hook, ST_WID_ARG_MAX),
	PFSTR(struct st_hook_retry_req, id, ST_WID_ARG_MAX),
};
PLAYOUT(pl_hook_retry_req, struct st_hook_retry_req, f_hook_retry_req);

static const struct pfield f_hook_deliveries_req[] = {
	PFSTR(struct st_id_page_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_id_page_req, limit),
	PFSTR(struct st_id_page_req, cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_hook_deliveries_req, struct st_id_page_req,
    f_hook_deliveries_req);

static const struct pfield f_deliveries[] = {
	PFLIST(struct st_deliveries, dlv, n, ST_LIST_MAX, pl_delivery),
	PFBUF(struct st_deliveries, next_cursor),
};
PLAYOUT(pl_deliveries, struct st_deliveries, f_deliveries);

static const struct pfield f_notify[] = {
	PFU32(struct st_notify, mask),
};
PLAYOUT(pl_notify, struct st_notify, f_notify);

static const struct pfield f_mails[] = {
	PFLIST(struct st_mails, mails, n, ST_MAIL_DUE_MAX, pl_mail),
};
PLAYOUT(pl_mails, struct st_mails, f_mails);

static const struct pfield f_email_str[] = {
	PFSTR(struct st_str, s, ST_EMAIL_MAX),
};
static PLAYOUT(pl_email_str, struct st_str, f_email_str);

static const struct pfield f_mail_result_req[] = {
	PFSTR(struct st_mail_result_req, id, ST_MAIL_ID_LEN),
	PFU8(struct st_mail_result_req, ok),
	PFCLIP(struct st_mail_result_req, error, ST_MAIL_ERROR_MAX),
	PFU64(struct st_mail_result_req, retry_at),
	PFLIST(struct st_mail_result_req, rcpt, nrcpt, ST_MAIL_RCPT_MAX,
	    pl_email_str),
};
PLAYOUT(pl_mail_result_req, struct st_mail_result_req, f_mail_result_req);

static const struct pfield f_mail_id_req[] = {
	PFSTR(struct st_id_req, id, ST_MAIL_ID_LEN),
};
PLAYOUT(pl_mail_id_req, struct st_id_req, f_mail_id_req);

static const struct pfield f_orgs[] = {
	PFLIST(struct st_orgs, orgs, n, ST_ORGS_MAX, pl_org),
};
PLAYOUT(pl_orgs, struct st_orgs, f_orgs);

/* ------------------------------------------------------ handoff, events */

static const struct pfield f_handoff_set_req[] = {
	PFSTR(struct st_handoff_set_req, conv_id, ST_ID_HEX),
	PFU8(struct st_handoff_set_req, state),
	PFSTR(struct st_handoff_set_req, name, 4 * ST_AGENT_NAME_MAX),
	PFU8(struct st_handoff_set_req, from_ai_only),
};
PLAYOUT(pl_handoff_set_req, struct st_handoff_set_req, f_handoff_set_req);

static const struct pfield f_handoff_set_rep[] = {
	PFU8(struct st_handoff_set_rep, changed),
	PFREC(struct st_handoff_set_rep, conv, pl_conv),
};
PLAYOUT(pl_handoff_set_rep, struct st_handoff_set_rep, f_handoff_set_rep);

static const struct pfield f_agent_msg_req[] = {
	PFSTR(struct st_agent_msg_req, conv_id, ST_ID_HEX),
	PFSTR(struct st_agent_msg_req, content, ST_CONTENT_MAX),
	PFSTR(struct st_agent_msg_req, name, 4 * ST_MSG_NAME_MAX),
	PFLIST(struct st_agent_msg_req, atts, natts, ST_MSG_ATTS_MAX, pl_att_id),
};
PLAYOUT(pl_agent_msg_req, struct st_agent_msg_req, f_agent_msg_req);

static const struct pfield f_conv_assign_req[] = {
	PFSTR(struct st_conv_assign_req, conv_id, ST_ID_HEX),
	PFCLIP(struct st_conv_assign_req, user_id, ST_WHO_USER_MAX),
};
PLAYOUT(pl_conv_assign_req, struct st_conv_assign_req, f_conv_assign_req);

static const struct pfield f_conv_state_req[] = {
	PFSTR(struct st_conv_state_req, conv_id, ST_ID_HEX),
	PFU8(struct st_conv_state_req, state),
	PFU64(struct st_conv_state_req, snoozed_until),
};
PLAYOUT(pl_conv_state_req, struct st_conv_state_req, f_conv_state_req);

static const struct pfield f_typing_req[] = {
	PFSTR(struct st_typing_req, conv_id, ST_ID_HEX),
	PFU8(struct st_typing_req, on),
	PFSTR(struct st_typing_req, name, 4 * ST_AGENT_NAME_MAX),
};
PLAYOUT(pl_typing_req, struct st_typing_req, f_typing_req);

static const struct pfield f_request_human_rep[] = {
	PFU8(struct st_request_human_rep, result),
	PFU8(struct st_request_human_rep, changed),
	PFWHEN(struct st_request_human_rep, result, 1u << ST_WS_OK, conv,
	    pl_conv),
};
PLAYOUT(pl_request_human_rep, struct st_request_human_rep,
    f_request_human_rep);

static const struct pfield f_ev_subscribe_req[] = {
	PFU8(struct st_ev_subscribe_req, level),
};
PLAYOUT(pl_ev_subscribe_req, struct st_ev_subscribe_req,
    f_ev_subscribe_req);

static const struct pfield f_ev_subscribe_rep[] = {
	PFU64(struct st_ev_subscribe_rep, epoch),
	PFU64(struct st_ev_subscribe_rep, last_seq),
	PFBYTES(struct st_ev_subscribe_rep, id_key, id_key_len, PF_F_EXACT),
};
PLAYOUT(pl_ev_subscribe_rep, struct st_ev_subscribe_rep,
    f_ev_subscribe_rep);

static const struct pfield f_ev_since_req[] = {
	PFU64(struct st_ev_since_req, epoch),
	PFU64(struct st_ev_since_req, seq),
	PFU32(struct st_ev_since_req, max),
	PFBUF(struct st_ev_since_req, org),
};
PLAYOUT(pl_ev_since_req, struct st_ev_since_req, f_ev_since_req);

static const struct pfield f_ev_since_rep[] = {
	PFU8(struct st_ev_since_rep, result),
	PFU64(struct st_ev_since_rep, epoch),
	PFU64(struct st_ev_since_rep, last_seq),
	PFLIST(struct st_ev_since_rep, events, n, ST_EV_SINCE_MAX, pl_evblob),
};
PLAYOUT(pl_ev_since_rep, struct st_ev_since_rep, f_ev_since_rep);

/* ------------------------------------------------------------ dashboard */

static const struct pfield f_dash_login_req[] = {
	PFBYTES(struct st_dash_login_req, token_hash, token_hash_len, 0),
	PFCLIP(struct st_dash_login_req, csrf, ST_DASH_CSRF_LEN),
	PFBUF(struct st_dash_login_req, user),
	PFU64(struct st_dash_login_req, expires_at),
	PFBYTES(struct st_dash_login_req, pw_hash, pw_hash_len,
	    PF_F_EXACT | PF_F_NONE),
};
PLAYOUT(pl_dash_login_req, struct st_dash_login_req, f_dash_login_req);

static const struct pfield f_dash_login_rep[] = {
	PFBUF(struct st_dash_login_rep, device),
};
PLAYOUT(pl_dash_login_rep, struct st_dash_login_rep, f_dash_login_rep);

static const struct pfield f_dash_check_req[] = {
	PFBYTES(struct st_dash_check_req, token_hash, token_hash_len, 0),
	PFBUF(struct st_dash_check_req, org),
	PFU8(struct st_dash_check_req, want_orgs),
};
PLAYOUT(pl_dash_check_req, struct st_dash_check_req, f_dash_check_req);

static const struct pfield f_dash_org[] = {
	PFBUF(struct st_dash_org, id),
	PFSTR(struct st_dash_org, name, 4 * ST_ORG_NAME_MAX),
	PFU8(struct st_dash_org, role),
};
static PLAYOUT(pl_dash_org, struct st_dash_org, f_dash_org);

static const struct pfield f_dash_session[] = {
	PFBUF(struct st_dash_session, csrf),
	PFU64(struct st_dash_session, expires_at),
	PFBUF(struct st_dash_session, user),
	PFBUF(struct st_dash_session, email),
	PFSTR(struct st_dash_session, name, 4 * ST_USER_NAME_MAX),
	PFBUF(struct st_dash_session, org),
	PFU8(struct st_dash_session, role),
	PFLIST(struct st_dash_session, orgs, n, ST_MEMBERSHIPS_MAX, pl_dash_org),
};
static PLAYOUT(pl_dash_session, struct st_dash_session, f_dash_session);

static const struct pfield f_dash_check_rep[] = {
	PFU8(struct st_dash_check_rep, valid),
	PFWHEN(struct st_dash_check_rep, valid, 1u << ST_DASH_VALID, s,
	    pl_dash_session),
};
PLAYOUT(pl_dash_check_rep, struct st_dash_check_rep, f_dash_check_rep);

static const struct pfield f_dash_logout_req[] = {
	PFBYTES(struct st_dash_logout_req, token_hash, token_hash_len, 0),
};
PLAYOUT(pl_dash_logout_req, struct st_dash_logout_req, f_dash_logout_req);

static const struct pfield f_dash_salt_rep[] = {
	PFBYTES(struct st_dash_salt_rep, salt, salt_len, PF_F_EXACT),
};
PLAYOUT(pl_dash_salt_rep, struct st_dash_salt_rep, f_dash_salt_rep);

static const struct pfield f_dash_attempt_req[] = {
	PFSTR(struct st_dash_attempt_req, rate_key, ST_RATE_KEY_MAX),
	PFU32(struct st_dash_attempt_req, window_ms),
	PFU32(struct st_dash_attempt_req, rate_max),
	PFU32(struct st_dash_attempt_req, failures_max),
	PFBUF(struct st_dash_attempt_req, email),
	PFBUF(struct st_dash_attempt_req, device),
};
PLAYOUT(pl_dash_attempt_req, struct st_dash_attempt_req,
    f_dash_attempt_req);

/* -------------------------------------------------- metrics, parleyctl */

static const struct pfield f_mset[] = {
	PFLIST(struct st_mset, series, n, MS_SERIES_MAX, pl_mseries),
};
PLAYOUT(pl_mset, struct st_mset, f_mset);

static const struct pfield f_mput[] = {
	PFU64(struct st_mput, instance),
	PFU64(struct st_mput, seq),
	PFREC(struct st_mput, set, pl_mset),
};
PLAYOUT(pl_mput, struct st_mput, f_mput);

/*
 * ST_METRICS_GET's set: storaged's own series and the totals of every
 * worker's (up to MS_SERIES_MAX of those alone), as the worker reads it.
 */
static const struct pfield f_mset_all[] = {
	PFLIST(struct st_mset, series, n, 2 * MS_SERIES_MAX, pl_mseries),
};
PLAYOUT(pl_mset_all, struct st_mset, f_mset_all);

static const struct pfield f_purge_req[] = {
	PFU64(struct st_purge_req, cutoff_ms),
	PFU32(struct st_purge_req, max),
	PFU8(struct st_purge_req, dry_run),
};
PLAYOUT(pl_purge_req, struct st_purge_req, f_purge_req);

static const struct pfield f_purge_rep[] = {
	PFU32(struct st_purge_rep, n),
	PFU8(struct st_purge_rep, more),
};
PLAYOUT(pl_purge_rep, struct st_purge_rep, f_purge_rep);

/* ------------------------------------------------------------- by type */

static const struct playout *
layout_of(uint16_t type, int reply)
{
	const struct proto_msg *m = proto_msg(type);

	if (m == NULL)
		return NULL;
	return reply ? m->rep : m->req;
}

static int
encode(struct penc *e, uint16_t type, const void *s, int reply)
{
	const struct playout *l = layout_of(type, reply);

	if (l == NULL) {
		e->err = 1;
		return -1;
	}
	pl_enc(e, l, s);
	return e->err ? -1 : 0;
}

static int
decode(uint16_t type, const void *payload, size_t len, void *s, int reply)
{
	const struct playout *l = layout_of(type, reply);

	if (l == NULL)
		return -1;
	return pl_decode(l, payload, len, s);
}

static void
release(uint16_t type, void *s, int reply)
{
	const struct playout *l = layout_of(type, reply);

	if (l != NULL)
		pl_free(l, s);
}

int
st_req_encode(struct penc *e, uint16_t type, const void *req)
{
	return encode(e, type, req, 0);
}

int
st_req_decode(uint16_t type, const void *payload, size_t len, void *req)
{
	return decode(type, payload, len, req, 0);
}

void
st_req_free(uint16_t type, void *req)
{
	release(type, req, 0);
}

int
st_rep_encode(struct penc *e, uint16_t type, const void *rep)
{
	return encode(e, type, rep, 1);
}

int
st_rep_decode(uint16_t type, const void *payload, size_t len, void *rep)
{
	return decode(type, payload, len, rep, 1);
}

void
st_rep_free(uint16_t type, void *rep)
{
	release(type, rep, 1);
}

void
st_rep_release(uint16_t type, void *rep)
{
	const struct playout *l = layout_of(type, 1);

	if (l != NULL)
		pl_release(l, rep);
}

/* ---------------------------------------------- API keys, the audit log */

static const struct pfield f_key_create_req[] = {
	PFSTR(struct st_key_create_req, name, 4 * ST_KEY_NAME_MAX),
	PFU8(struct st_key_create_req, role),
	PFBYTES(struct st_key_create_req, hash, hash_len, PF_F_EXACT),
};
PLAYOUT(pl_key_create_req, struct st_key_create_req, f_key_create_req);

static const struct pfield f_apikeys[] = {
	PFLIST(struct st_apikeys, keys, n, ST_KEYS_MAX, pl_apikey),
};
PLAYOUT(pl_apikeys, struct st_apikeys, f_apikeys);

static const struct pfield f_key_auth_req[] = {
	PFBYTES(struct st_key_auth_req, hash, hash_len, PF_F_EXACT),
};
PLAYOUT(pl_key_auth_req, struct st_key_auth_req, f_key_auth_req);

static const struct pfield f_key_auth_ok[] = {
	PFBUF(struct st_key_auth_ok, id),
	PFBUF(struct st_key_auth_ok, org),
	PFU8(struct st_key_auth_ok, role),
};
static PLAYOUT(pl_key_auth_ok, struct st_key_auth_ok, f_key_auth_ok);

static const struct pfield f_key_auth_rep[] = {
	PFU8(struct st_key_auth_rep, found),
	PFWHEN(struct st_key_auth_rep, found, 1u << 1, k, pl_key_auth_ok),
};
PLAYOUT(pl_key_auth_rep, struct st_key_auth_rep, f_key_auth_rep);

static const struct pfield f_audit_entry[] = {
	PFU64(struct st_audit_entry, at),
	PFU8(struct st_audit_entry, who_kind),
	PFBUF(struct st_audit_entry, who_id),
	PFBUF(struct st_audit_entry, user),
	PFBUF(struct st_audit_entry, action),
	PFBUF(struct st_audit_entry, target),
};
PLAYOUT(pl_audit_entry, struct st_audit_entry, f_audit_entry);

static const struct pfield f_audit_page[] = {
	PFU64(struct st_audit_page, total),
	PFLIST(struct st_audit_page, entries, n, ST_LIST_MAX, pl_audit_entry),
	PFSTR(struct st_audit_page, next_cursor, ST_CURSOR_MAX),
};
PLAYOUT(pl_audit_page, struct st_audit_page, f_audit_page);

static const struct pfield f_audit_note_req[] = {
	PFSTR(struct st_audit_note_req, action, ST_AUDIT_ACTION_MAX),
	PFSTR(struct st_audit_note_req, target, ST_AUDIT_TARGET_MAX),
};
PLAYOUT(pl_audit_note_req, struct st_audit_note_req, f_audit_note_req);
/* -------------------------------------------------------------- people */

static const struct pfield f_user_auth_req[] = {
	PFCLIP(struct st_user_auth_req, email, ST_EMAIL_MAX),
};
PLAYOUT(pl_user_auth_req, struct st_user_auth_req, f_user_auth_req);

static const struct pfield f_user_secret[] = {
	PFBUF(struct st_user_secret, id),
	PFBYTES(struct st_user_secret, salt, salt_len, PF_F_EXACT),
	PFBYTES(struct st_user_secret, hash, hash_len, PF_F_EXACT),
	PFU8(struct st_user_secret, disabled),
};
static PLAYOUT(pl_user_secret, struct st_user_secret, f_user_secret);

static const struct pfield f_user_auth_rep[] = {
	PFU8(struct st_user_auth_rep, found),
	PFWHEN(struct st_user_auth_rep, found, 1u << 1, s, pl_user_secret),
};
PLAYOUT(pl_user_auth_rep, struct st_user_auth_rep, f_user_auth_rep);

static const struct pfield f_user_boot_req[] = {
	PFCLIP(struct st_user_boot_req, email, ST_EMAIL_MAX),
	PFCLIP(struct st_user_boot_req, name, 4 * ST_USER_NAME_MAX),
	PFBYTES(struct st_user_boot_req, salt, salt_len, PF_F_EXACT),
	PFBYTES(struct st_user_boot_req, hash, hash_len, PF_F_EXACT),
	PFBYTES(struct st_user_boot_req, fp, fp_len, PF_F_EXACT),
};
PLAYOUT(pl_user_boot_req, struct st_user_boot_req, f_user_boot_req);

static const struct pfield f_u8_rep[] = {
	PFU8(struct st_u8_rep, v),
};
PLAYOUT(pl_u8_rep, struct st_u8_rep, f_u8_rep);

static const struct pfield f_member_view[] = {
	PFBUF(struct st_member_view, id),
	PFBUF(struct st_member_view, email),
	PFSTR(struct st_member_view, name, 4 * ST_USER_NAME_MAX),
	PFU8(struct st_member_view, role),
	PFU8(struct st_member_view, disabled),
	PFU64(struct st_member_view, created_at),
	PFU64(struct st_member_view, updated_at),
};
static PLAYOUT(pl_member_view, struct st_member_view, f_member_view);

static const struct pfield f_members[] = {
	PFLIST(struct st_members, m, n, ST_USERS_MAX, pl_member_view),
};
PLAYOUT(pl_members, struct st_members, f_members);

static const struct pfield f_invite_view[] = {
	PFBUF(struct st_invite_view, id),
	PFBUF(struct st_invite_view, email),
	PFU8(struct st_invite_view, role),
	PFU64(struct st_invite_view, created_at),
	PFU64(struct st_invite_view, expires_at),
};
static PLAYOUT(pl_invite_view, struct st_invite_view, f_invite_view);

static const struct pfield f_invites[] = {
	PFLIST(struct st_invites, v, n, ST_INVITES_MAX, pl_invite_view),
};
PLAYOUT(pl_invites, struct st_invites, f_invites);

static const struct pfield f_user_invite_req[] = {
	PFCLIP(struct st_user_invite_req, email, ST_EMAIL_MAX),
	PFU8(struct st_user_invite_req, role),
	PFBYTES(struct st_user_invite_req, token_hash, token_hash_len,
	    PF_F_EXACT),
};
PLAYOUT(pl_user_invite_req, struct st_user_invite_req, f_user_invite_req);

static const struct pfield f_invite_echo[] = {
	PFBUF(struct st_invite_echo, email),
	PFU8(struct st_invite_echo, role),
	PFU64(struct st_invite_echo, expires_at),
};
static PLAYOUT(pl_invite_echo, struct st_invite_echo, f_invite_echo);

static const struct pfield f_user_invite_rep[] = {
	PFU8(struct st_user_invite_rep, result),
	PFWHEN(struct st_user_invite_rep, result, 1u << 0, e, pl_invite_echo),
};
PLAYOUT(pl_user_invite_rep, struct st_user_invite_rep, f_user_invite_rep);

static const struct pfield f_user_update_req[] = {
	PFSTR(struct st_user_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_user_update_req, mask),
	PFU8(struct st_user_update_req, role),
	PFU8(struct st_user_update_req, disabled),
};
PLAYOUT(pl_user_update_req, struct st_user_update_req, f_user_update_req);

static const struct pfield f_user_update_rep[] = {
	PFU8(struct st_user_update_rep, result),
	PFWHEN(struct st_user_update_rep, result, 1u << 0, m, pl_member_view),
};
PLAYOUT(pl_user_update_rep, struct st_user_update_rep, f_user_update_rep);

static const struct pfield f_invite_accept_req[] = {
	PFBYTES(struct st_invite_accept_req, token_hash, token_hash_len,
	    PF_F_EXACT),
	PFCLIP(struct st_invite_accept_req, name, 4 * ST_USER_NAME_MAX),
	PFBYTES(struct st_invite_accept_req, salt, salt_len, PF_F_EXACT),
	PFBYTES(struct st_invite_accept_req, hash, hash_len, PF_F_EXACT),
	PFSTR(struct st_invite_accept_req, user, ST_USER_ID_MAX),
};
PLAYOUT(pl_invite_accept_req, struct st_invite_accept_req,
    f_invite_accept_req);

static const struct pfield f_invite_done[] = {
	PFBUF(struct st_invite_done, user),
	PFBUF(struct st_invite_done, org),
	PFBUF(struct st_invite_done, email),
};
static PLAYOUT(pl_invite_done, struct st_invite_done, f_invite_done);

static const struct pfield f_invite_accept_rep[] = {
	PFU8(struct st_invite_accept_rep, result),
	PFWHEN(struct st_invite_accept_rep, result,
	    1u << 0 | 1u << 2 | 1u << 3, d, pl_invite_done),
};
PLAYOUT(pl_invite_accept_rep, struct st_invite_accept_rep,
    f_invite_accept_rep);

static const struct pfield f_invite_salt_req[] = {
	PFBYTES(struct st_invite_salt_req, token_hash, token_hash_len,
	    PF_F_EXACT),
};
PLAYOUT(pl_invite_salt_req, struct st_invite_salt_req, f_invite_salt_req);

static const struct pfield f_pw_salt[] = {
	PFBYTES(struct st_pw_salt, salt, salt_len, PF_F_EXACT),
};
static PLAYOUT(pl_pw_salt, struct st_pw_salt, f_pw_salt);

static const struct pfield f_invite_about[] = {
	PFBUF(struct st_invite_about, org),
	PFBUF(struct st_invite_about, org_name),
	PFBUF(struct st_invite_about, email),
	PFU8(struct st_invite_about, role),
};
static PLAYOUT(pl_invite_about, struct st_invite_about, f_invite_about);

static const struct pfield f_invite_salt_rep[] = {
	PFU8(struct st_invite_salt_rep, result),
	PFWHEN(struct st_invite_salt_rep, result, 1u << 2, s, pl_pw_salt),
	PFWHEN(struct st_invite_salt_rep, result, 1u << 0 | 1u << 2, a,
	    pl_invite_about),
};
PLAYOUT(pl_invite_salt_rep, struct st_invite_salt_rep, f_invite_salt_rep);

static const struct pfield f_user_set_req[] = {
	PFU8(struct st_user_set_req, mode),
	PFCLIP(struct st_user_set_req, email, ST_EMAIL_MAX),
	PFCLIP(struct st_user_set_req, name, 4 * ST_USER_NAME_MAX),
	PFU8(struct st_user_set_req, role),
	PFBYTES(struct st_user_set_req, salt, salt_len, PF_F_EXACT),
	PFBYTES(struct st_user_set_req, hash, hash_len, PF_F_EXACT),
};
PLAYOUT(pl_user_set_req, struct st_user_set_req, f_user_set_req);

static const struct pfield f_user_set_rep[] = {
	PFU8(struct st_user_set_rep, result),
	PFWHEN(struct st_user_set_rep, result, 1u << 0, m, pl_member_view),
};
PLAYOUT(pl_user_set_rep, struct st_user_set_rep, f_user_set_rep);

static const struct pfield f_user_self_req[] = {
	PFU8(struct st_user_self_req, mode),
	PFCLIP(struct st_user_self_req, name, 4 * ST_USER_NAME_MAX),
	PFBYTES(struct st_user_self_req, salt, salt_len, PF_F_EXACT | PF_F_NONE),
	PFBYTES(struct st_user_self_req, hash, hash_len, PF_F_EXACT | PF_F_NONE),
	PFBYTES(struct st_user_self_req, old, old_len, PF_F_EXACT | PF_F_NONE),
};
PLAYOUT(pl_user_self_req, struct st_user_self_req, f_user_self_req);

static const struct pfield f_user_self_rep[] = {
	PFU8(struct st_user_self_rep, result),
	PFREC(struct st_user_self_rep, m, pl_member_view),
	PFBYTES(struct st_user_self_rep, salt, salt_len, PF_F_EXACT | PF_F_NONE),
	PFBYTES(struct st_user_self_rep, hash, hash_len, PF_F_EXACT | PF_F_NONE),
};
PLAYOUT(pl_user_self_rep, struct st_user_self_rep, f_user_self_rep);

static const struct pfield f_user_gone[] = {
	PFBUF(struct st_user_gone, id),
	PFBUF(struct st_user_gone, keep),
};
PLAYOUT(pl_user_gone, struct st_user_gone, f_user_gone);

static const struct pfield f_cred_gone[] = {
	PFU8(struct st_cred_gone, kind),
	PFBUF(struct st_cred_gone, id),
};
PLAYOUT(pl_cred_gone, struct st_cred_gone, f_cred_gone);

/* ------------------------------------------------ replication (issue 25) */

static const struct pfield f_repl_start_req[] = {
	PFU64(struct st_repl_start_req, term),
	PFU64(struct st_repl_start_req, last_seq),
	PFBYTES(struct st_repl_start_req, digest, digest_len, PF_F_EXACT),
	PFSTR(struct st_repl_start_req, addr, ST_REPL_ADDR_MAX),
};
PLAYOUT(pl_repl_start_req, struct st_repl_start_req, f_repl_start_req);

static const struct pfield f_repl_newer_req[] = {
	PFU64(struct st_repl_newer_req, term),
	PFSTR(struct st_repl_newer_req, addr, ST_REPL_ADDR_MAX),
};
PLAYOUT(pl_repl_newer_req, struct st_repl_newer_req, f_repl_newer_req);

static const struct pfield f_repl_start_rep[] = {
	PFU64(struct st_repl_start_rep, term),
	PFU64(struct st_repl_start_rep, seq),
	PFU8(struct st_repl_start_rep, snapshot),
};
PLAYOUT(pl_repl_start_rep, struct st_repl_start_rep, f_repl_start_rep);

static const struct pfield f_repl_rec[] = {
	PFU64(struct st_repl_rec, seq),
	PFU8(struct st_repl_rec, more),
	PFREC(struct st_repl_rec, part, pl_blob),
};
PLAYOUT(pl_repl_rec, struct st_repl_rec, f_repl_rec);

static const struct pfield f_repl_snap[] = {
	PFU64(struct st_repl_snap, seq),
	PFU8(struct st_repl_snap, last),
	PFREC(struct st_repl_snap, chunk, pl_blob),
};
PLAYOUT(pl_repl_snap, struct st_repl_snap, f_repl_snap);

static const struct pfield f_repl_status[] = {
	PFU8(struct st_repl_status, role),
	PFU64(struct st_repl_status, term),
	PFU64(struct st_repl_status, seq),
	PFU8(struct st_repl_status, linked),
	PFU64(struct st_repl_status, acked),
	PFU8(struct st_repl_status, in_sync),
	PFU8(struct st_repl_status, alone),
};
PLAYOUT(pl_repl_status, struct st_repl_status, f_repl_status);

/* ------------------------------------------------ feedback (issue 26) */

static const struct pfield f_ws_feedback_req[] = {
	PFSTR(struct st_ws_feedback_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_feedback_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_feedback_req, conv_id, ST_ID_HEX),
	PFSTR(struct st_ws_feedback_req, msg_id, ST_ID_HEX),
	PFU8(struct st_ws_feedback_req, value),
	PFSTR(struct st_ws_feedback_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_ws_feedback_req, struct st_ws_feedback_req, f_ws_feedback_req);

static const struct pfield f_ws_feedback_rep[] = {
	PFU8(struct st_ws_feedback_rep, result),
	PFU8(struct st_ws_feedback_rep, changed),
};
PLAYOUT(pl_ws_feedback_rep, struct st_ws_feedback_rep, f_ws_feedback_rep);

static const struct pfield f_ws_rating_req[] = {
	PFSTR(struct st_ws_rating_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_ws_rating_req, token, token_len, PF_F_EXACT),
	PFSTR(struct st_ws_rating_req, conv_id, ST_ID_HEX),
	PFU8(struct st_ws_rating_req, score),
	PFCLIP(struct st_ws_rating_req, comment, ST_RATING_COMMENT_MAX),
	PFSTR(struct st_ws_rating_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_ws_rating_req, struct st_ws_rating_req, f_ws_rating_req);

static const struct pfield f_ws_rating_rep[] = {
	PFU8(struct st_ws_rating_rep, result),
};
PLAYOUT(pl_ws_rating_rep, struct st_ws_rating_rep, f_ws_rating_rep);

static const struct pfield f_fb_row[] = {
	PFSTR(struct st_fb_row, id, ST_WIDGET_MAX),
	PFSTR(struct st_fb_row, name, 4 * ST_NAME_MAX),
	PFU64(struct st_fb_row, up),
	PFU64(struct st_fb_row, down),
	PFU64(struct st_fb_row, ratings),
	PFU64(struct st_fb_row, rating_sum),
};
PLAYOUT(pl_fb_row, struct st_fb_row, f_fb_row);

static const struct pfield f_fb_summary[] = {
	PFU64(struct st_fb_summary, total.up),
	PFU64(struct st_fb_summary, total.down),
	PFU64(struct st_fb_summary, total.ratings),
	PFU64(struct st_fb_summary, total.rating_sum),
	PFU8(struct st_fb_summary, cut),
	PFLIST(struct st_fb_summary, widgets, nw, ST_FB_LIST_MAX, pl_fb_row),
	PFLIST(struct st_fb_summary, agents, na, ST_FB_LIST_MAX, pl_fb_row),
};
PLAYOUT(pl_fb_summary, struct st_fb_summary, f_fb_summary);

/* ------------------------------------------------------------- reports */

static const struct pfield f_report_get_req[] = {
	PFU64(struct st_report_get_req, from),
	PFU64(struct st_report_get_req, to),
	PFCLIP(struct st_report_get_req, widget, ST_WIDGET_MAX),
	PFCLIP(struct st_report_get_req, agent, ST_ID_HEX),
};
PLAYOUT(pl_report_get_req, struct st_report_get_req, f_report_get_req);

/* The counts in ST_REPORT_COUNTS's order, written out for readers of this file. */
static const struct pfield f_report_hour[] = {
	PFU32(struct st_report_hour, hour),
	PFU64(struct st_report_hour, v[ST_RC_conversations]),
	PFU64(struct st_report_hour, v[ST_RC_visitor_messages]),
	PFU64(struct st_report_hour, v[ST_RC_answers]),
	PFU64(struct st_report_hour, v[ST_RC_prompt_tokens]),
	PFU64(struct st_report_hour, v[ST_RC_completion_tokens]),
	PFU64(struct st_report_hour, v[ST_RC_resolved_assistant]),
	PFU64(struct st_report_hour, v[ST_RC_resolved_person]),
	PFU64(struct st_report_hour, v[ST_RC_handed_off]),
	PFU64(struct st_report_hour, v[ST_RC_abandoned]),
	PFU64(struct st_report_hour, v[ST_RC_first_responses]),
	PFU64(struct st_report_hour, v[ST_RC_first_response_ms]),
	PFU64(struct st_report_hour, v[ST_RC_resolutions]),
	PFU64(struct st_report_hour, v[ST_RC_resolution_ms]),
	PFU64(struct st_report_hour, v[ST_RC_thumbs_up]),
	PFU64(struct st_report_hour, v[ST_RC_thumbs_down]),
	PFU64(struct st_report_hour, v[ST_RC_ratings]),
	PFU64(struct st_report_hour, v[ST_RC_rating_sum]),
};
_Static_assert(sizeof(f_report_hour) / sizeof(f_report_hour[0]) == 1 + ST_RC_N,
    "a report hour's counts, each once");
static PLAYOUT(pl_report_hour, struct st_report_hour, f_report_hour);

static const struct pfield f_report_agent[] = {
	PFSTR(struct st_report_agent, agent, ST_ID_HEX),
	PFU64(struct st_report_agent, v[ST_RC_conversations]),
	PFU64(struct st_report_agent, v[ST_RC_visitor_messages]),
	PFU64(struct st_report_agent, v[ST_RC_answers]),
	PFU64(struct st_report_agent, v[ST_RC_prompt_tokens]),
	PFU64(struct st_report_agent, v[ST_RC_completion_tokens]),
	PFU64(struct st_report_agent, v[ST_RC_resolved_assistant]),
	PFU64(struct st_report_agent, v[ST_RC_resolved_person]),
	PFU64(struct st_report_agent, v[ST_RC_handed_off]),
	PFU64(struct st_report_agent, v[ST_RC_abandoned]),
	PFU64(struct st_report_agent, v[ST_RC_first_responses]),
	PFU64(struct st_report_agent, v[ST_RC_first_response_ms]),
	PFU64(struct st_report_agent, v[ST_RC_resolutions]),
	PFU64(struct st_report_agent, v[ST_RC_resolution_ms]),
	PFU64(struct st_report_agent, v[ST_RC_thumbs_up]),
	PFU64(struct st_report_agent, v[ST_RC_thumbs_down]),
	PFU64(struct st_report_agent, v[ST_RC_ratings]),
	PFU64(struct st_report_agent, v[ST_RC_rating_sum]),
};
_Static_assert(sizeof(f_report_agent) / sizeof(f_report_agent[0]) ==
    1 + ST_RC_N, "a report agent's counts, each once");
static PLAYOUT(pl_report_agent, struct st_report_agent, f_report_agent);

static const struct pfield f_report_rep[] = {
	PFLIST(struct st_report_rep, hours, n, ST_REPORT_HOURS_MAX,
	    pl_report_hour),
	PFLIST(struct st_report_rep, agents, m, ST_REPORT_AGENTS_MAX,
	    pl_report_agent),
	PFU8(struct st_report_rep, ready),
	PFU64(struct st_report_rep, day_end),
	PFU32(struct st_report_rep, budget),
	PFU32(struct st_report_rep, turns),
	PFU32(struct st_report_rep, cap),
	PFU32(struct st_report_rep, messages),
};
PLAYOUT(pl_report_rep, struct st_report_rep, f_report_rep);

/* ---------------------------------------------------------- knowledge gaps */

ROWS(pl_gap, struct st_gap, st_gap_layout);

static const struct pfield f_gap_list_req[] = {
	PFU64(struct st_gap_list_req, from),
	PFU64(struct st_gap_list_req, to),
	PFCLIP(struct st_gap_list_req, widget, ST_WIDGET_MAX),
	PFCLIP(struct st_gap_list_req, agent, ST_ID_HEX),
	PFU32(struct st_gap_list_req, limit),
};
PLAYOUT(pl_gap_list_req, struct st_gap_list_req, f_gap_list_req);

static const struct pfield f_gap_list_rep[] = {
	PFLIST(struct st_gap_list_rep, gaps, n, ST_GAP_LIST_MAX, pl_gap),
	PFU8(struct st_gap_list_rep, more),
};
PLAYOUT(pl_gap_list_rep, struct st_gap_list_rep, f_gap_list_rep);

static const struct pfield f_gap_id[] = {
	PFSTR(struct st_str, s, ST_GAP_ID_HEX),
};
static PLAYOUT(pl_gap_id, struct st_str, f_gap_id);

static const struct pfield f_gap_delete_req[] = {
	PFLIST(struct st_gap_delete_req, ids, n, ST_GAP_DELETE_MAX, pl_gap_id),
};
PLAYOUT(pl_gap_delete_req, struct st_gap_delete_req, f_gap_delete_req);

/* ------------------------------------------------------------ attachments */

ROWS(pl_att, struct st_att, st_att_layout);

static const struct pfield f_att_new_req[] = {
	PFCLIP(struct st_att_new_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_att_new_req, token, token_len,
	    PF_F_EXACT | PF_F_NONE),
	PFU8(struct st_att_new_req, api),
	PFCLIP(struct st_att_new_req, conv_id, ST_ID_HEX),
	PFCLIP(struct st_att_new_req, name, ST_ATT_NAME_MAX),
	PFU32(struct st_att_new_req, size),
	PFSTR(struct st_att_new_req, rate_key, ST_RATE_KEY_MAX),
	PFU32(struct st_att_new_req, window_ms),
	PFU32(struct st_att_new_req, rate_kib),
	PFU64(struct st_att_new_req, quota),
	PFSTR(struct st_att_new_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_att_new_req, struct st_att_new_req, f_att_new_req);

static const struct pfield f_att_new_rep[] = {
	PFU8(struct st_att_new_rep, result),
	PFU64(struct st_att_new_rep, retry_ms),
	PFBUF(struct st_att_new_rep, id),
	PFU32(struct st_att_new_rep, max),
};
PLAYOUT(pl_att_new_rep, struct st_att_new_rep, f_att_new_rep);

static const struct pfield f_att_put_req[] = {
	PFCLIP(struct st_att_put_req, id, ST_ATT_ID_LEN),
	PFCLIP(struct st_att_put_req, widget_id, ST_WID_ARG_MAX),
	PFBYTES(struct st_att_put_req, token, token_len,
	    PF_F_EXACT | PF_F_NONE),
	PFU8(struct st_att_put_req, api),
	PFU32(struct st_att_put_req, offset),
	PFU8(struct st_att_put_req, type),
	PFU8(struct st_att_put_req, scan),
	PFU8(struct st_att_put_req, drop),
	PFBYTES(struct st_att_put_req, hash, hash_len,
	    PF_F_EXACT | PF_F_NONE),
	PFREC(struct st_att_put_req, data, pl_kb_bytes),
	PFU64(struct st_att_put_req, quota),
	PFU8(struct st_att_put_req, reset),
	PFU32(struct st_att_put_req, size),
	PFCLIP(struct st_att_put_req, conv_id, ST_ID_HEX),
	PFBYTES(struct st_att_put_req, prior, prior_len,
	    PF_F_EXACT | PF_F_NONE),
	PFSTR(struct st_att_put_req, rate_key, ST_RATE_KEY_MAX),
	PFSTR(struct st_att_put_req, origin, ST_ORIGIN_MAX),
};
PLAYOUT(pl_att_put_req, struct st_att_put_req, f_att_put_req);

static const struct pfield f_att_put_rep[] = {
	PFU8(struct st_att_put_rep, result),
	PFU32(struct st_att_put_rep, received),
	PFU8(struct st_att_put_rep, whole),
	PFREC(struct st_att_put_rep, att, pl_msg_att),
	PFU64(struct st_att_put_rep, retry_ms),
};
PLAYOUT(pl_att_put_rep, struct st_att_put_rep, f_att_put_rep);

static const struct pfield f_att_read_req[] = {
	PFCLIP(struct st_att_read_req, id, ST_ATT_ID_LEN),
	PFU32(struct st_att_read_req, piece),
	PFU8(struct st_att_read_req, mode),
	PFCLIP(struct st_att_read_req, widget_id, ST_WID_ARG_MAX),
};
PLAYOUT(pl_att_read_req, struct st_att_read_req, f_att_read_req);

static const struct pfield f_att_read_rep[] = {
	PFU8(struct st_att_read_rep, result),
	PFREC(struct st_att_read_rep, att, pl_att),
	PFREC(struct st_att_read_rep, data, pl_kb_bytes),
	PFSTR(struct st_att_read_rep, text, ST_ATT_TEXT_KEPT),
	PFU8(struct st_att_read_rep, text_status),
};
PLAYOUT(pl_att_read_rep, struct st_att_read_rep, f_att_read_rep);

static const struct pfield f_att_due_rep[] = {
	PFU8(struct st_att_due_rep, result),
	PFBUF(struct st_att_due_rep, id),
	PFU32(struct st_att_due_rep, size),
	PFU8(struct st_att_due_rep, attempt),
};
PLAYOUT(pl_att_due_rep, struct st_att_due_rep, f_att_due_rep);

static const struct pfield f_att_text_req[] = {
	PFCLIP(struct st_att_text_req, id, ST_ATT_ID_LEN),
	PFSTR(struct st_att_text_req, text, ST_ATT_TEXT_KEPT),
	PFU8(struct st_att_text_req, failed),
};
PLAYOUT(pl_att_text_req, struct st_att_text_req, f_att_text_req);

/* ------------------------------------------------------------- actions */

static const struct pfield f_action_update_req[] = {
	PFSTR(struct st_action_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_action_update_req, mask),
	PFREC(struct st_action_update_req, a, pl_action),
};
PLAYOUT(pl_action_update_req, struct st_action_update_req,
    f_action_update_req);

static const struct pfield f_actions[] = {
	PFLIST(struct st_actions, actions, n, ST_ACTIONS_MAX, pl_action),
};
PLAYOUT(pl_actions, struct st_actions, f_actions);

static const struct pfield f_action_id[] = {
	PFSTR(struct st_str, s, ST_ACTION_ID_LEN),
};
static PLAYOUT(pl_action_id, struct st_str, f_action_id);

static const struct pfield f_action_tools_req[] = {
	PFBUF(struct st_action_tools_req, org),
	PFLIST(struct st_action_tools_req, ids, n, ST_AGENT_ACTION_IDS_MAX,
	    pl_action_id),
	PFU8(struct st_action_tools_req, disabled_too),
	PFBUF(struct st_action_tools_req, agent),
};
PLAYOUT(pl_action_tools_req, struct st_action_tools_req,
    f_action_tools_req);

/* --------------------------------------------------- the knowledge base */

static const struct pfield f_kbsource_update_req[] = {
	PFSTR(struct st_kbsource_update_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_kbsource_update_req, mask),
	PFREC(struct st_kbsource_update_req, s, pl_kbsource),
};
PLAYOUT(pl_kbsource_update_req, struct st_kbsource_update_req,
    f_kbsource_update_req);

static const struct pfield f_kbsources[] = {
	PFLIST(struct st_kb_source_list, sources, n, ST_KB_SOURCES_MAX,
	    pl_kbsource),
	PFU64(struct st_kb_source_list, used),
	PFU64(struct st_kb_source_list, quota),
};
PLAYOUT(pl_kbsources, struct st_kb_source_list, f_kbsources);

static const struct pfield f_kb_search_req[] = {
	PFSTR(struct st_kb_search_req, query, ST_KB_QUERY_MAX),
	PFU32(struct st_kb_search_req, k),
	PFBUF(struct st_kb_search_req, lang),
	PFSTR(struct st_kb_search_req, agent_id, ST_WID_ARG_MAX),
	PFREC(struct st_kb_search_req, qvec, pl_kb_vecs),
	PFBUF(struct st_kb_search_req, space),
};
PLAYOUT(pl_kb_search_req, struct st_kb_search_req, f_kb_search_req);

static const struct pfield f_kb_hit[] = {
	PFBUF(struct st_kb_hit, source_id),
	PFU64(struct st_kb_hit, chunk_id),
	PFBUF(struct st_kb_hit, chunk_ref),
	PFSTR(struct st_kb_hit, url, ST_KB_URL_MAX),
	PFSTR(struct st_kb_hit, title, 4 * ST_KB_TITLE_MAX),
	PFSTR(struct st_kb_hit, headings, 4 * ST_KB_HEADINGS_MAX),
	PFSTR(struct st_kb_hit, text, ST_KB_TEXT_MAX),
	PFU32(struct st_kb_hit, score),
	PFU8(struct st_kb_hit, qa),
};
PLAYOUT(pl_kb_hit, struct st_kb_hit, f_kb_hit);

static const struct pfield f_kb_hits[] = {
	PFLIST(struct st_kb_hits, hits, n, ST_KB_SEARCH_K_MAX, pl_kb_hit),
};
PLAYOUT(pl_kb_hits, struct st_kb_hits, f_kb_hits);

static const struct pfield f_kb_retrieve_req[] = {
	PFBUF(struct st_kb_retrieve_req, org),
	PFSTR(struct st_kb_retrieve_req, query, ST_KB_QUERY_MAX),
	PFU32(struct st_kb_retrieve_req, k),
	PFLIST(struct st_kb_retrieve_req, sources, n, 50, pl_ks_str),
	PFREC(struct st_kb_retrieve_req, qvec, pl_kb_vecs),
	PFBUF(struct st_kb_retrieve_req, space),
};
PLAYOUT(pl_kb_retrieve_req, struct st_kb_retrieve_req, f_kb_retrieve_req);

static const struct pfield f_kb_org_str[] = {
	PFSTR(struct st_str, s, ST_WHO_ORG_MAX),
};
static PLAYOUT(pl_kb_org_str, struct st_str, f_kb_org_str);

static const struct pfield f_kb_due_req[] = {
	PFU32(struct st_kb_due_req, max),
	PFU32(struct st_kb_due_req, lease_ms),
	PFLIST(struct st_kb_due_req, busy, nbusy, ST_KB_BUSY_MAX,
	    pl_kb_org_str),
};
PLAYOUT(pl_kb_due_req, struct st_kb_due_req, f_kb_due_req);

static const struct pfield f_kb_space[] = {
	PFBUF(struct st_kb_space, id),
	PFSTR(struct st_kb_space, base_url, ST_AGENT_URL_MAX),
	PFSTR(struct st_kb_space, api_key, ST_AGENT_KEY_MAX),
	PFSTR(struct st_kb_space, model, ST_MODEL_MAX),
};
PLAYOUT(pl_kb_space, struct st_kb_space, f_kb_space);

static const struct pfield f_kb_job[] = {
	PFREC(struct st_kb_job, s, pl_kbsource),
	PFLIST(struct st_kb_job, spaces, nspaces, ST_KB_SPACES_MAX,
	    pl_kb_space),
};
PLAYOUT(pl_kb_job, struct st_kb_job, f_kb_job);

static const struct pfield f_kb_jobs[] = {
	PFLIST(struct st_kb_jobs, jobs, n, ST_KB_DUE_MAX, pl_kb_job),
};
PLAYOUT(pl_kb_jobs, struct st_kb_jobs, f_kb_jobs);

static const struct pfield f_kb_page_get_req[] = {
	PFBUF(struct st_kb_page_get_req, source_id),
	PFSTR(struct st_kb_page_get_req, url, ST_KB_URL_MAX),
};
PLAYOUT(pl_kb_page_get_req, struct st_kb_page_get_req, f_kb_page_get_req);

static const struct pfield f_kb_piece[] = {
	PFSTR(struct st_kb_piece, title, 4 * ST_KB_TITLE_MAX),
	PFSTR(struct st_kb_piece, headings, 4 * ST_KB_HEADINGS_MAX),
	PFSTR(struct st_kb_piece, text, ST_KB_TEXT_MAX),
};
PLAYOUT(pl_kb_piece, struct st_kb_piece, f_kb_piece);

static const struct pfield f_kb_space_vecs[] = {
	PFBUF(struct st_kb_space_vecs, space),
	PFREC(struct st_kb_space_vecs, vecs, pl_kb_vecs),
};
PLAYOUT(pl_kb_space_vecs, struct st_kb_space_vecs, f_kb_space_vecs);

static const struct pfield f_kb_page_put_req[] = {
	PFBUF(struct st_kb_page_put_req, source_id),
	PFU64(struct st_kb_page_put_req, sync_id),
	PFREC(struct st_kb_page_put_req, page, pl_kbpage),
	PFU8(struct st_kb_page_put_req, keep),
	PFLIST(struct st_kb_page_put_req, pieces, n, ST_KB_PAGE_CHUNKS_MAX,
	    pl_kb_piece),
	PFREC(struct st_kb_page_put_req, vecs, pl_kb_vecs),
	PFU32(struct st_kb_page_put_req, tokens),
	PFLIST(struct st_kb_page_put_req, svecs, nsvecs, ST_KB_SPACES_MAX,
	    pl_kb_space_vecs),
};
PLAYOUT(pl_kb_page_put_req, struct st_kb_page_put_req, f_kb_page_put_req);

static const struct pfield f_kb_page_put_rep[] = {
	PFU32(struct st_kb_page_put_rep, pages),
	PFU32(struct st_kb_page_put_rep, chunks),
};
PLAYOUT(pl_kb_page_put_rep, struct st_kb_page_put_rep, f_kb_page_put_rep);

static const struct pfield f_kb_sync_done_req[] = {
	PFBUF(struct st_kb_sync_done_req, source_id),
	PFU64(struct st_kb_sync_done_req, sync_id),
	PFU8(struct st_kb_sync_done_req, ok),
	PFSTR(struct st_kb_sync_done_req, error, ST_KB_ERROR_MAX),
};
PLAYOUT(pl_kb_sync_done_req, struct st_kb_sync_done_req,
    f_kb_sync_done_req);

static const struct pfield f_kb_pages_req[] = {
	PFSTR(struct st_id_page_req, id, ST_WID_ARG_MAX),
	PFU32(struct st_id_page_req, limit),
	PFSTR(struct st_id_page_req, cursor, ST_KB_CURSOR_MAX),
};
PLAYOUT(pl_kb_pages_req, struct st_id_page_req, f_kb_pages_req);

static const struct pfield f_kb_pages[] = {
	PFLIST(struct st_kb_pages, pages, n, ST_KB_PAGES_LIMIT_MAX, pl_kbpage),
	PFBUF(struct st_kb_pages, next_cursor),
};
PLAYOUT(pl_kb_pages, struct st_kb_pages, f_kb_pages);

static const struct pfield f_kb_file_put_req[] = {
	PFSTR(struct st_kb_file_put_req, id, ST_WID_ARG_MAX),
	PFBUF(struct st_kb_file_put_req, content_type),
	PFREC(struct st_kb_file_put_req, data, pl_kb_bytes),
	PFU32(struct st_kb_file_put_req, offset),
	PFU32(struct st_kb_file_put_req, total),
};
PLAYOUT(pl_kb_file_put_req, struct st_kb_file_put_req, f_kb_file_put_req);

static const struct pfield f_kb_file_put_rep[] = {
	PFREC(struct st_kb_file_put_rep, source, pl_kbsource),
	PFU32(struct st_kb_file_put_rep, received),
	PFU32(struct st_kb_file_put_rep, total),
	PFU8(struct st_kb_file_put_rep, stored),
};
PLAYOUT(pl_kb_file_put_rep, struct st_kb_file_put_rep, f_kb_file_put_rep);

static const struct pfield f_kb_file_get_req[] = {
	PFBUF(struct st_kb_file_get_req, source_id),
	PFU64(struct st_kb_file_get_req, sync_id),
};
PLAYOUT(pl_kb_file_get_req, struct st_kb_file_get_req, f_kb_file_get_req);

static const struct pfield f_kb_file[] = {
	PFBUF(struct st_kb_file, content_type),
	PFREC(struct st_kb_file, data, pl_kb_bytes),
};
PLAYOUT(pl_kb_file, struct st_kb_file, f_kb_file);
