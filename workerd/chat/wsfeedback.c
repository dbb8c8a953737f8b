/*
 * Feedback over the widget's WebSocket (issue 26; docs/widget-protocol.md,
 * "Feedback"):
 *
 *	{"type":"feedback","message_id":"<32 hex>","value":"up"|"down"|null}
 *		-> {"type":"feedback_saved","message_id","value"}
 *	{"type":"rating","score":1-5,"comment":"<= 1000 characters",
 *	    "conversation_id":"<32 hex>"}	(the id optional)
 *		-> {"type":"rating_saved","score"}
 *	<- {"type":"rating_request"}	a person handed the conversation
 *					back to the assistant
 *
 * A thumb names an assistant message of the socket's conversation (the
 * session's), a rating is of that conversation, or of the session's one it
 * names (conversation_new's "ended": a page that resumed since, a new
 * socket, still rates the conversation left); before the socket knows
 * one (no message sent, nothing resumed) both are refused here. storaged
 * checks both against the session's token hash (ST_WS_FEEDBACK,
 * ST_WS_RATING): a message of another session is refused as unknown.
 * One request at a time per socket (the widget waits for the answer), at
 * most FB_FRAMES_MAX frames a minute, and per client address as many as
 * it may send messages (RATE_LIMIT_*, counted in storaged under "fb:" and
 * the address, ST_RATE_HIT): over it, an error frame "Too much feedback.
 * Please wait N seconds and try again." and nothing stored. The widget's
 * feedback_enabled and rating_enabled gate them (and rating_request), as
 * the socket's ST_WS_OPEN last read them: a frame the widget does not
 * take is an error.
 */
#include <stdio.h>
#include <string.h>

#include "agentmsg.h"
#include "chat.h"
#include "exportrows.h"
#include "log.h"
#include "stmsgs.h"
#include "workerd.h"

#define FB_FRAMES_MAX	30		/* feedback and rating frames a minute */
#define FB_WINDOW_MS	60000

/* ------------------------------------------------------------ parsing */

int
wsfb_parse_feedback(struct wsmsg *m)
{
	json_t *id = json_object_get(m->root, "message_id");
	json_t *v = json_object_get(m->root, "value");
	const char *vs;

	/* Strings without NUL: "up\u0000x" is no "up", nor an id with a tail. */
	if (exprow_plain(id) == NULL || !st_id_valid(json_string_value(id)))
		return wsmsg_fail(m, "message_id: must be a message's id");
	if (v == NULL || json_is_null(v))
		m->value = ST_FEEDBACK_NONE;
	else if ((vs = exprow_plain(v)) != NULL && strcmp(vs, "up") == 0)
		m->value = ST_FEEDBACK_UP;
	else if (vs != NULL && strcmp(vs, "down") == 0)
		m->value = ST_FEEDBACK_DOWN;
	else
		return wsmsg_fail(m, "value: must be \"up\", \"down\" or null");
	m->msg_id = json_string_value(id);
	return 0;
}

int
wsfb_parse_rating(struct wsmsg *m)
{
	json_t *score = json_object_get(m->root, "score");
	json_t *c = json_object_get(m->root, "comment");
	json_t *id = json_object_get(m->root, "conversation_id");
	json_int_t n;

	if (!json_is_integer(score) || (n = json_integer_value(score)) < 1 ||
	    n > 5)
		return wsmsg_fail(m, "score: must be 1 to 5");
	m->comment = "";
	if (json_is_string(c) && exprow_plain(c) == NULL)
		return wsmsg_fail(m, "comment: must not contain NUL characters");
	if (c != NULL && !json_is_null(c) && ((m->comment = exprow_plain(c)) ==
	    NULL || utf8_chars(m->comment, strlen(m->comment)) >
	    ST_RATING_COMMENT_CHARS))
		return wsmsg_fail(m, "comment: must be at most 1000 "
		    "characters");
	m->conv_id = NULL;
	if (id != NULL && !json_is_null(id) &&
	    ((m->conv_id = exprow_plain(id)) == NULL ||
	    !st_id_valid(m->conv_id)))
		return wsmsg_fail(m, "conversation_id: must be a conversation's "
		    "id");
	m->score = (uint8_t)n;
	return 0;
}

/* ------------------------------------------------------------ socket */

void
wsfb_init(struct wsfb *f, struct wsess *s, const char *wid,
    const uint8_t *hash, const char *conv, const char *ended,
    const int *resuming, const char *rate_key)
{
	memset(f, 0, sizeof(*f));
	f->rate_key = rate_key;
	f->s = s;
	f->wid = wid;
	f->hash = hash;
	f->conv = conv;
	f->ended = ended;
	f->resuming = resuming;
	/* Off until the socket's ST_WS_OPEN reads the widget's settings. */
	f->feedback_enabled = 0;
	f->rating_enabled = 0;
}

void
wsfb_free(struct wsfb *f)
{
	storec_cancel(f->req);
	f->req = NULL;
}

/* A mistake of the page's in its frame of kind to: said in English. */
static void
wsfb_error(struct wsfb *f, enum wsmsg_type to, const char *msg)
{
	wschat_send_error(f->s, to, msg);
}

/* Something the visitor reads (its frame of kind to): in their language. */
static void
wsfb_say(struct wsfb *f, enum wsmsg_type to, enum vtext_id id)
{
	wschat_say(f->s, to, id);
}

/*
 * The conversation a thumb or rating is of: the socket's, else the one
 * its visitor just left for a new one (rated as they end it).
 */
static const char *
wsfb_conv(const struct wsfb *f)
{
	return f->conv[0] != '\0' ? f->conv : f->ended;
}

/* The storaged result that refuses a frame, told to the visitor. */
static void
result_refused(struct wsfb *f, uint8_t result)
{
	struct wsess_io io;

	switch (result) {
	case ST_WS_NO_SESSION:
		/*
		 * Nothing stored for the socket yet (a fresh one's rating
		 * naming a conversation): its first message makes it.
		 */
		wschat_io(f->s, &io);
		if (!io.stored) {
			wsfb_say(f, f->pend_type, VT_FIRST);
			break;
		}
		/* FALLTHROUGH */
	case ST_WS_NO_WIDGET:
	case ST_WS_ORIGIN:
	case ST_WS_IDENTITY:
		/*
		 * Its session expired (4001), its widget went or the page's
		 * origin was taken out of allowed_origins (4004): the socket
		 * goes, as a message's; verified visitors only since it
		 * opened: told so.
		 */
		(void)wschat_refused(f->s, f->pend_type, result);
		break;
	case ST_WS_NO_MSG:
		wsfb_error(f, f->pend_type, "message_id: no such answer in "
		    "this conversation");
		break;
	case ST_WS_NO_CONV:
		wsfb_say(f, f->pend_type, VT_FIRST);
		break;
	default:
		wsfb_say(f, f->pend_type, VT_FB_UNSAVED);
		break;
	}
}

/* A request's failure told to the visitor: storaged's invalid text, else VT_FB_UNSAVED. */
static void
failed(struct wsfb *f, const struct storec_result *r)
{
	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		wsfb_error(f, f->pend_type, r->message);
		return;
	}
	if (r->status == STOREC_ERROR)
		log_warnx("wsfeedback: %s", r->message);
	wsfb_say(f, f->pend_type, VT_FB_UNSAVED);
}

/* The value the reply repeats, as the frame said it. */
static json_t *
value_json(uint8_t v)
{
	const char *n = st_feedback_name(v);

	return n != NULL ? json_string(n) : json_null();
}

/*
 * Reply r of type (ST_WS_FEEDBACK or ST_WS_RATING) decoded into rep,
 * whose result is *result: 1 when it was stored (free rep after), else 0
 * with the visitor told why.
 */
static int
reply_stored(struct wsfb *f, const struct storec_result *r, uint16_t type,
    void *rep, const uint8_t *result)
{
	if (r->status != STOREC_OK) {
		failed(f, r);
		return 0;
	}
	if (storec_decode(r, type, rep) < 0) {
		wsfb_say(f, f->pend_type, VT_FB_UNSAVED);
		return 0;
	}
	if (*result == ST_WS_OK)
		return 1;
	result_refused(f, *result);
	st_rep_free(type, rep);
	return 0;
}

/* ST_WS_FEEDBACK -> struct st_ws_feedback_rep */
static void
feedback_done(const struct storec_result *r, void *arg)
{
	struct wsfb *f = arg;
	struct st_ws_feedback_rep rep = { 0 };

	if (!reply_stored(f, r, PROTO_ST_WS_FEEDBACK, &rep, &rep.result))
		return;
	if (rep.changed && f->pend_value != ST_FEEDBACK_NONE)
		metrics_feedback(f->pend_value);
	wschat_send(f->s, json_pack("{s:s, s:s, s:o}", "type",
	    "feedback_saved", "message_id", f->pend_id, "value",
	    value_json(f->pend_value)));
	st_rep_free(PROTO_ST_WS_FEEDBACK, &rep);
}

/* ST_WS_RATING -> struct st_ws_rating_rep */
static void
rating_done(const struct storec_result *r, void *arg)
{
	struct wsfb *f = arg;
	struct st_ws_rating_rep rep = { 0 };

	if (!reply_stored(f, r, PROTO_ST_WS_RATING, &rep, &rep.result))
		return;
	metrics_feedback(0);
	wschat_send(f->s, json_pack("{s:s, s:i}", "type", "rating_saved",
	    "score", (int)f->pend_score));
	st_rep_free(PROTO_ST_WS_RATING, &rep);
}

/* One more frame m this minute, none in flight: 1 when it may go. */
static int
wsfb_allowed(struct wsfb *f, const struct wsmsg *m)
{
	uint64_t now = loop_now();

	if (*f->resuming) {
		wsfb_say(f, m->type, VT_RESUMING);
		return 0;
	}
	/* No conversation known or named yet: no answer to rate. */
	if (wsfb_conv(f)[0] == '\0' && (m->type != WSMSG_RATING ||
	    m->conv_id == NULL)) {
		wsfb_say(f, m->type, VT_FIRST);
		return 0;
	}
	if (now - f->window >= FB_WINDOW_MS) {
		f->window = now;
		f->asks = 0;
	}
	if (++f->asks > FB_FRAMES_MAX || f->req != NULL) {
		wsfb_say(f, m->type, VT_FB_WAIT);
		return 0;
	}
	return 1;
}

/*
 * The pending thumb or rating (f->pend_*) to storaged, asked as the
 * socket's session (its token hash) from its Origin: one request, which
 * only the kind's own fields tell apart.
 */
static void
send_pending(struct wsfb *f)
{
	struct st_ws_feedback_req fb = { .msg_id = f->pend_id,
	    .value = f->pend_value, .conv_id = wsfb_conv(f) };
	struct st_ws_rating_req rt = { .score = f->pend_score,
	    .comment = f->pend_comment, .conv_id = f->pend_conv[0] != '\0' ?
	    f->pend_conv : wsfb_conv(f) };
	struct wsess_io io;
	int rc;

	wschat_io(f->s, &io);
	fb.widget_id = rt.widget_id = f->wid;
	fb.origin = rt.origin = io.origin;
	fb.token_len = rt.token_len = ST_TOKEN_HASH_LEN;
	memcpy(fb.token, f->hash, sizeof(fb.token));
	memcpy(rt.token, f->hash, sizeof(rt.token));
	if (f->pend_type == WSMSG_FEEDBACK)
		rc = storec_ask(NULL, PROTO_ST_WS_FEEDBACK, &fb, feedback_done,
		    f, &f->req);
	else
		rc = storec_ask(NULL, PROTO_ST_WS_RATING, &rt, rating_done, f,
		    &f->req);
	if (rc < 0)
		wsfb_say(f, f->pend_type, VT_FB_UNSAVED);
}

/* ST_RATE_HIT of the client's feedback count -> struct st_rate_verdict */
static void
rate_done(const struct storec_result *r, void *arg)
{
	struct wsfb *f = arg;
	struct st_rate_verdict v;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_RATE_HIT, &v) < 0) {
		failed(f, r);
		return;
	}
	if (v.limited) {
		wschat_say_wait(f->s, f->pend_type, VT_TOO_MUCH_FEEDBACK,
		    v.retry_ms);
		return;
	}
	send_pending(f);
}

/* Frame m kept as f's pending one, counted first when the client is. */
static void
on_frame(struct wsfb *f, const struct wsmsg *m)
{
	struct st_rate_hit h;

	f->pend_type = m->type;
	if (m->type == WSMSG_FEEDBACK) {
		strlcpy(f->pend_id, m->msg_id, sizeof(f->pend_id));
		f->pend_value = m->value;
	} else {
		f->pend_score = m->score;
		strlcpy(f->pend_conv, m->conv_id != NULL ? m->conv_id : "",
		    sizeof(f->pend_conv));
		strlcpy(f->pend_comment, m->comment, sizeof(f->pend_comment));
	}
	if (f->rate_key[0] == '\0' || wsettings.rate_max == 0) {
		send_pending(f);
		return;
	}
	memset(&h, 0, sizeof(h));
	strlcpy(h.key, f->rate_key, sizeof(h.key));
	h.window_ms = wsettings.rate_window_ms;
	h.max = wsettings.rate_max;
	if (storec_ask(NULL, PROTO_ST_RATE_HIT, &h, rate_done, f,
	    &f->req) < 0)
		wsfb_say(f, f->pend_type, VT_FB_UNSAVED);
}

void
wsfb_frame(struct wsfb *f, const struct wsmsg *m)
{
	if (m->type == WSMSG_FEEDBACK && !f->feedback_enabled)
		wsfb_error(f, m->type, "feedback: this chat does not take "
		    "feedback");
	else if (m->type == WSMSG_RATING && !f->rating_enabled)
		wsfb_error(f, m->type, "rating: this chat does not take "
		    "ratings");
	else if (!wsfb_allowed(f, m))
		;
	else
		on_frame(f, m);
}

void
wsfb_handoff(struct wsfb *f, int old, int state)
{
	if (f->rating_enabled && old == ST_HANDOFF_HUMAN &&
	    state == ST_HANDOFF_AI)
		wschat_send(f->s, json_pack("{s:s}", "type", "rating_request"));
}
