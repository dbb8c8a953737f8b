/*
 * A visitor's conversations over the widget's WebSocket (issue 26,
 * docs/widget-protocol.md "Conversations"):
 *
 *	{"type":"new_conversation"}	-> {"type":"conversation_new"} once
 *					   durable (ST_WS_CONV_NEW): the
 *					   session's next message opens a
 *					   new conversation; "ended", the
 *					   one left (what its rating names)
 *	{"type":"conversations"}	-> {"type":"conversations",
 *					   "conversations":[...]} newest
 *					   first (ST_WS_CONV_LIST)
 *	{"type":"open_conversation","id"} -> "history" with readonly and
 *					   conversation_id (ST_WS_CONV_READ),
 *					   the session's own only; else the
 *					   error "Conversation not found"
 *
 * One request in flight a socket, CONVS_ASKS_MAX a minute; more get an
 * error and nothing is asked. The list and a past conversation, which
 * read histories, also count against the client's CONVS_ASKS_MAX a
 * minute, in storaged (ST_RATE_HIT), so more sockets do not read more. A socket with no session stored yet is
 * answered here: nothing to end, nothing listed, nothing found.
 */
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "exportrows.h"
#include "log.h"
#include "workerd.h"

#define CONVS_ASKS_MAX		30	/* frames a socket, and reads a client, a minute */
#define CONVS_WINDOW_MS		60000

/* ------------------------------------------------------------ parsing */

int
wsconvs_parse_open(struct wsmsg *m)
{
	if ((m->conv_id = exprow_plain(json_object_get(m->root, "id"))) == NULL)
		return wsmsg_fail(m, "id: must be a string");
	return 0;
}

void
wsconvs_free(struct wsconvs *cv)
{
	storec_cancel(cv->req);
	cv->req = NULL;
}

/* ------------------------------------------------------------ answers */

/*
 * storaged's answer r to the frame of kind to, decoded as type's reply
 * into rep: 0, or -1 with the visitor told (a closed socket: nothing
 * more to say).
 */
static int
answer(struct wsess *s, enum wsmsg_type to, const struct storec_result *r,
    uint16_t type, void *rep)
{
	if (r->status != STOREC_OK) {
		if (r->status == STOREC_ERROR)
			log_warnx("wsconvs: %s: %s", proto_msg_name(type),
			    r->message);
		wschat_say(s, to, VT_WRONG);
		return -1;
	}
	if (storec_decode(r, type, rep) < 0) {
		wschat_say(s, to, VT_WRONG);
		return -1;
	}
	return 0;
}

/* The kind of s's frame whose request is in flight. */
static enum wsmsg_type
pending(struct wsess *s)
{
	struct wsess_io io;

	wschat_io(s, &io);
	return io.cv->pend_type;
}

/* ST_WS_CONV_NEW -> conversation_new */
static void
new_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_ws_conv_new_rep rep;
	const char *ended;
	json_t *o;

	if (answer(s, WSMSG_NEW_CONV, r, PROTO_ST_WS_CONV_NEW, &rep) < 0)
		return;
	if (wschat_refused(s, WSMSG_NEW_CONV, rep.result))
		;
	else if (rep.result != ST_WS_OK)
		wschat_say(s, WSMSG_NEW_CONV, VT_WRONG);
	else {
		/*
		 * The one left, named: its rating still rates it once another
		 * tab's first message made the page resume (a new socket).
		 */
		ended = wschat_conv_left(s, rep.ended);
		o = json_pack("{s:s}", "type", "conversation_new");
		if (o != NULL && ended[0] != '\0')
			json_object_set_new(o, "ended", json_string(ended));
		wschat_send(s, o);
	}
	st_rep_free(PROTO_ST_WS_CONV_NEW, &rep);
}

/* The list's JSON (NULL out of memory). */
static json_t *
list_json(const struct st_ws_conv_item *c, uint32_t n)
{
	json_t *arr = json_array(), *o;
	uint32_t i;

	for (i = 0; i < n && arr != NULL; i++) {
		o = json_pack("{s:s, s:I, s:I, s:o, s:b}", "id", c[i].id,
		    "started_at", (json_int_t)c[i].started_at, "updated_at",
		    (json_int_t)c[i].updated_at, "preview",
		    exprow_text(c[i].preview), "current", c[i].current);
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr != NULL ? json_pack("{s:s, s:o}", "type", "conversations",
	    "conversations", arr) : NULL;
}

/* ST_WS_CONV_LIST -> conversations */
static void
list_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_ws_conv_list_rep rep;
	json_t *o;

	if (answer(s, WSMSG_CONV_LIST, r, PROTO_ST_WS_CONV_LIST, &rep) < 0)
		return;
	if (wschat_gone(s, rep.result))
		;
	else if (rep.result != ST_WS_OK ||
	    (o = list_json(rep.convs, rep.n)) == NULL)
		wschat_say(s, WSMSG_CONV_LIST, VT_WRONG);
	else
		wschat_send(s, o);
	st_rep_free(PROTO_ST_WS_CONV_LIST, &rep);
}

/* ST_WS_CONV_READ -> history (readonly) */
static void
read_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_ws_conv_read_rep rep;

	if (answer(s, WSMSG_CONV_OPEN, r, PROTO_ST_WS_CONV_READ, &rep) < 0)
		return;
	if (wschat_gone(s, rep.result))
		;
	else if (rep.result == ST_WS_NO_CONV)
		wschat_say(s, WSMSG_CONV_OPEN, VT_CONV_NOT_FOUND);
	else if (rep.result != ST_WS_OK)
		wschat_say(s, WSMSG_CONV_OPEN, VT_WRONG);
	else
		wschat_send_history(s, rep.history, rep.nhistory, rep.more,
		    rep.conv_id, 1);
	st_rep_free(PROTO_ST_WS_CONV_READ, &rep);
}

/* ------------------------------------------------------------ frames */

/*
 * One more frame (of kind to) this minute, none in flight: 1 when it
 * may be asked.
 */
static int
allowed(struct wsess *s, enum wsmsg_type to, const struct wsess_io *io)
{
	struct wsconvs *cv = io->cv;
	uint64_t now = loop_now();

	if (io->resuming) {
		wschat_say(s, to, VT_RESUMING);
		return 0;
	}
	if (cv->req != NULL) {
		wschat_say(s, to, VT_WAIT_REQUEST);
		return 0;
	}
	if (now - cv->window >= CONVS_WINDOW_MS) {
		cv->window = now;
		cv->asks = 0;
	}
	if (++cv->asks > CONVS_ASKS_MAX) {
		wschat_say(s, to, VT_REQUESTS_MINUTE);
		return 0;
	}
	return 1;
}

/* Nothing stored for the socket yet: answered without storaged. */
static void
answer_unstored(struct wsess *s, const struct wsmsg *m)
{
	if (m->type == WSMSG_NEW_CONV)
		wschat_send(s, json_pack("{s:s}", "type", "conversation_new"));
	else if (m->type == WSMSG_CONV_LIST)
		wschat_send(s, json_pack("{s:s, s:[]}", "type",
		    "conversations", "conversations"));
	else
		wschat_say(s, m->type, VT_CONV_NOT_FOUND);
}

/* The frame cv holds asked of storaged, the socket's io as it is now. */
static void
ask(struct wsess *s, const struct wsess_io *io)
{
	struct st_ws_session_req sq = { .token_len = ST_TOKEN_HASH_LEN };
	struct st_ws_conv_read_req rq = { .token_len = ST_TOKEN_HASH_LEN,
	    .history_max = ST_HISTORY_MAX };
	struct wsconvs *cv = io->cv;
	int rc;

	sq.widget_id = rq.widget_id = io->wid;
	sq.origin = io->origin;		/* checked by the new one (a write) */
	memcpy(sq.token, io->hash, ST_TOKEN_HASH_LEN);
	memcpy(rq.token, io->hash, ST_TOKEN_HASH_LEN);
	rq.conv_id = cv->pend_conv;
	if (cv->pend_type == WSMSG_NEW_CONV)
		rc = storec_ask(NULL, PROTO_ST_WS_CONV_NEW, &sq, new_done, s,
		    &cv->req);
	else if (cv->pend_type == WSMSG_CONV_LIST)
		rc = storec_ask(NULL, PROTO_ST_WS_CONV_LIST, &sq, list_done, s,
		    &cv->req);
	else
		rc = storec_ask(NULL, PROTO_ST_WS_CONV_READ, &rq, read_done, s,
		    &cv->req);
	if (rc < 0)
		wschat_say(s, cv->pend_type, VT_UNAVAILABLE);
}

/* ST_RATE_HIT of the client's history reads -> struct st_rate_verdict */
static void
counted(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_rate_verdict v;
	struct wsess_io io;

	if (answer(s, pending(s), r, PROTO_ST_RATE_HIT, &v) < 0)
		return;
	if (v.limited) {
		wschat_say_wait(s, pending(s), VT_TOO_MANY_REQUESTS,
		    v.retry_ms);
		return;
	}
	wschat_io(s, &io);
	ask(s, &io);
}

/*
 * A read (the list, a past conversation) counts first against its
 * client's, CONVS_ASKS_MAX a minute in storaged: across the client's
 * sockets and the workers, so that more sockets do not read more.
 */
static void
count_then_ask(struct wsess *s, const struct wsess_io *io)
{
	struct st_rate_hit h;

	memset(&h, 0, sizeof(h));
	strlcpy(h.key, io->convs_key, sizeof(h.key));
	h.window_ms = CONVS_WINDOW_MS;
	h.max = CONVS_ASKS_MAX;
	if (storec_ask(NULL, PROTO_ST_RATE_HIT, &h, counted, s,
	    &io->cv->req) < 0)
		wschat_say(s, io->cv->pend_type, VT_UNAVAILABLE);
}

void
wsconvs_frame(struct wsess *s, struct wsmsg *m)
{
	struct wsess_io io;

	wschat_io(s, &io);
	if (!allowed(s, m->type, &io))
		return;
	/* The reply being written still goes into the current one. */
	if (m->type == WSMSG_NEW_CONV && io.busy) {
		wschat_say(s, m->type, VT_WAIT_REPLY);
		return;
	}
	if (m->type == WSMSG_CONV_OPEN && !st_id_valid(m->conv_id)) {
		wschat_say(s, m->type, VT_CONV_NOT_FOUND);
		return;
	}
	if (!io.stored) {
		answer_unstored(s, m);
		return;
	}
	io.cv->pend_type = m->type;
	strlcpy(io.cv->pend_conv, m->type == WSMSG_CONV_OPEN ? m->conv_id : "",
	    sizeof(io.cv->pend_conv));
	if (m->type == WSMSG_NEW_CONV || io.convs_key[0] == '\0')
		ask(s, &io);
	else
		count_then_ask(s, &io);
}
