/*
 * The Loquent widget protocol over a WebSocket:
 *
 *	GET /api/widget/{widget_id}/ws[?token=<session token>]
 *
 * Before the upgrade, the client's upgrades are counted (ST_RATE_HIT on
 * its clientip_key, 429 over RATE_LIMIT_MAX_REQUESTS a window), then one
 * round trip (ST_WS_OPEN) checks the widget and the Origin and resumes
 * the session the token names. A new visitor (no token, an unknown or
 * expired one) gets a fresh token, but nothing is stored for it until its
 * first "message" (ST_WS_BEGIN with create) or "contact_info"
 * (ST_CONTACT_SUBMIT): an upgrade alone never fills the store. Then the
 * server sends "session" (the token to keep) and, when resumed, "history": the newest
 * messages within ST_WS_HISTORY_BYTES as storaged read them, in an event
 * of at most HISTORY_SEND_MAX bytes, "truncated" when older ones exist.
 * A token counts against the client's resume budget first (ST_RATE_HIT,
 * RESUME_KIB_MAX KiB of records read per RESUME_WINDOW_MS): over it, 429 and
 * nothing is read.
 *
 * Parley's widget keeps the token out of the URL (proxies log URLs): its
 * first message is {"type":"resume","token":...}. The socket opened as a
 * new visitor's; the resume is counted and sent as ST_WS_OPEN again with
 * that token, answered by a second "session" carrying "resumed" (true:
 * the token's session, then "history"; false: the socket's fresh token
 * stays; over the resume limit the socket is closed with 1008). Only a
 * socket's first message may be a resume, and only on one opened without
 * a token.
 *
 * The visitor sends "message" and "contact_info" (counted in the
 * per-client limit; storaged keeps a few per session). A message is one chat
 * turn (turn.h), the same as over HTTP: one round trip (ST_WS_BEGIN:
 * session, contact rule, rate limit, daily cap, conversation, user
 * message, history, the widget's model and prompt), the model, then the
 * reply stored. This file is its WebSocket front end: the visitor sees
 * "typing_start" once the user message is on disk, the reply as "token"
 * events as it streams (Parley's addition), the whole reply as "message",
 * then "typing_stop"; or an "error" (storaged's refusals become their
 * own texts or close codes). One turn at a time per socket; a turn
 * outlives its socket.
 *
 * A person may answer instead (human handoff, docs/widget-protocol.md):
 * on a widget with handoff_enabled the visitor sends "request_human"
 * (ST_WS_REQUEST_HUMAN: the conversation goes waiting_human) and is
 * answered with its "handoff" state. storaged sends this worker the
 * visitors' events (level 1): a person's message, a handoff change, a
 * person typing, each for one conversation; they go to every socket of
 * this worker on that conversation (a map conversation -> sockets; a
 * socket learns its conversation from its resume and its first turn).
 * While the state is human, a message is stored and nothing else happens
 * (ST_WS_HUMAN: no model, no assistant typing).
 *
 * Away mode (issue 23): on a widget with handoff_enabled, "session" is
 * followed by "availability" ({"away", "reason", "message"}: outside the
 * widget's business hours, or no dashboard of its organisation open
 * lately, as ST_WS_OPEN said). The visitor may ask again with
 * {"type":"availability"} (the widget does when its handoff button is
 * pressed): ST_WIDGET_AVAIL, one at a time, AVAIL_ASKS_MAX a minute
 * (more are not answered). Old clients ignore the message.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "admin.h"
#include "agentmsg.h"
#include "attach.h"
#include "chat.h"
#include "sha256.h"
#include "tools.h"
#include "log.h"
#include "random.h"
#include "stmsgs.h"
#include "turn.h"
#include "vtext.h"
#include "widgetmsg.h"
#include "workerd.h"
#include "ws.h"

#define TOKEN_BYTES	32
#define TOKEN_LEN	43		/* base64url of 32 bytes, no padding */
#define SHOWN_HISTORY	ST_HISTORY_MAX	/* messages replayed on resume */
/*
 * The "history" event's most bytes: storaged reads ST_WS_HISTORY_BYTES of
 * records; JSON escapes may grow them, and the oldest then go too. Within
 * the WebSocket output cap (WS_OUT_MAX), with room for one more message.
 */
#define HISTORY_SEND_MAX	(2 * ST_WS_HISTORY_BYTES)
/*
 * Resumes (a token given) per client and window, counted in storaged in
 * KiB of message records read (1 at least): five whole histories a window,
 * and many more small ones, so that an office behind one address, or a
 * visitor going from page to page, resumes as often as it opens pages.
 */
#define RESUME_KIB_MAX		(5 * ST_WS_HISTORY_BYTES / 1024)
#define RESUME_WINDOW_MS	10000
#define CLOSE_SESSION_GONE	4001	/* the session expired meanwhile */
#define JSON_HEADERS	"Cache-Control: no-store\r\n"
#define UPGRADE_PREFIX	"ws:"		/* upgrades' per-client count */
#define FB_PREFIX	"fb:"		/* thumbs' and ratings' (wsfeedback.c) */
#define CONV_BUCKETS	1024		/* the conversation map; power of two */
#define HANDOFF_UNKNOWN	(-1)
#define HELD_MAX	8	/* messages held while a person answers */
/* request_human per socket and minute: a button a visitor may press again. */
#define HUMAN_ASKS_MAX		10
#define HUMAN_WINDOW_MS		60000
/* {"type":"availability"} asks per socket and minute. */
#define AVAIL_ASKS_MAX		10

/* A visitor's message held while the one before it is stored. */
struct held_msg {
	STAILQ_ENTRY(held_msg) entry;
	uint32_t natts;		/* the uploads it names */
	char atts[ST_MSG_ATTS_MAX][ST_ATT_ID_LEN + 1];
	char cid[ST_CLIENT_ID_MAX + 1];	/* the widget's id of it */
	char text[];		/* NUL-ended */
};

struct wsess {
	LIST_ENTRY(wsess) entry;
	struct conn *c;			/* while ST_WS_OPEN is in flight */
	struct ws *ws;			/* once upgraded; NULL once gone */
	uint64_t gone_queued, gone_out;	/* its ws_out_pos as it went */
	struct storec_req *sreq;	/* ST_WS_OPEN, then ST_CONTACT_SUBMIT */
	struct turn *turn;		/* the turn being answered */
	char wid[ST_WID_LEN + 1];
	char token[TOKEN_LEN + 1];	/* as given; "" when none or malformed */
	char new_token[TOKEN_LEN + 1];
	uint8_t hash[ST_TOKEN_HASH_LEN];	/* of the token in use */
	uint8_t new_hash[ST_TOKEN_HASH_LEN];
	int has_token;
	int token_given;		/* opened with ?token=, any: no resume */
	char rate_key[ST_RATE_KEY_MAX + 1];
	char origin[ST_ORIGIN_MAX + 1];	/* longer ones are refused */
	int contact_submitted;
	int contact_form;		/* the widget asks for some details */
	/* The language its "error" frames speak (vtext.h): ST_LANG_*. */
	int accepted;			/* its Accept-Language's */
	int lang;			/* the widget's, else accepted */
	struct clientcap *cap;		/* its count in PARLEY_MAX_WS_PER_CLIENT */
	/* Lazy sessions and the resume message. */
	int stored;			/* a session is stored under hash */
	int resuming;			/* the resume's request is in flight */
	size_t nmsgs;			/* messages the visitor sent */
	char resume_key[ST_RATE_KEY_MAX + 1];	/* its resume count */
	char convs_key[ST_RATE_KEY_MAX + 1];	/* its wsconvs.c frames' */
	char upgrade_key[ST_RATE_KEY_MAX + 1];	/* its upgrade's; "" counted */
	char fb_key[ST_RATE_KEY_MAX + 1];	/* its client's feedback count */
	/* What the ST_WS_OPEN in flight counts, in order (open_send). */
	enum { HIT_UPGRADE, HIT_RESUME } hits[ST_WS_OPEN_HITS_MAX];
	uint32_t nhits;
	/* Human handoff. */
	int handoff_enabled;		/* the widget's, as last read */
	char *page_tools;		/* the page's tools (a "tools" frame's), as JSON */
	int handoff;			/* the state the visitor knows; or unknown */
	struct storec_req *hreq;	/* ST_WS_REQUEST_HUMAN in flight */
	/*
	 * A handoff to a person while a reply streams: the turn is stopped
	 * and the visitor hears the handoff after the reply ends.
	 */
	int pend_handoff;		/* the state to send; or unknown */
	char pend_name[4 * ST_AGENT_NAME_MAX + 1];
	struct loop_defer handoff_defer;
	uint64_t human_window;		/* when this minute of asks began */
	unsigned int human_asks;	/* request_human in that minute */
	/* Away mode: ST_WIDGET_AVAIL in flight, and this minute's asks. */
	struct storec_req *areq;
	uint64_t avail_window;
	unsigned int avail_asks;
	/*
	 * Messages to a person sent while the one before is being stored
	 * (the visitor gets no reply to wait for): held, and each sent when
	 * the turn before it is over. HELD_MAX at most; more get the wait
	 * error.
	 */
	STAILQ_HEAD(, held_msg) held;
	unsigned int nheld;
	struct loop_defer held_defer;
	struct loop_defer quit_defer;	/* a quitting worker: closed after its turn */
	char conv[ST_ID_HEX + 1];	/* "" until known */
	/*
	 * The user message of its last turn (kept when the turn is over:
	 * turn_over) and its last reply: the session's other sockets are
	 * sent them (visitor_event), it is not.
	 */
	char own_msg[ST_ID_HEX + 1], own_reply[ST_ID_HEX + 1];
	/*
	 * Shown the assistant answering the visitor's last message after a
	 * hand back (ST_EV_ANSWERING, answer_typing): the reply's event
	 * comes to it as its own turn's end (answer_reply).
	 */
	int answer;
	char ended[ST_ID_HEX + 1];	/* the one new_conversation left, "" none */
	LIST_ENTRY(wsess) conv_entry;	/* in conv_map once conv is known */
	/* The widget's "visitor" (issue 24): sent with each turn's begin. */
	struct st_visitor visitor;
	struct wsident ident;		/* verified identity (issue 26) */
	struct wsfb fb;			/* feedback and rating (wsfeedback.c) */
	struct wsconvs convs;		/* its conversations (wsconvs.c) */
};

static LIST_HEAD(, wsess) sessions = LIST_HEAD_INITIALIZER(sessions);
static LIST_HEAD(wsess_list, wsess) conv_map[CONV_BUCKETS];
static size_t nturns;		/* turns started here, also those whose visitor left */
static struct buf tokbuf;	/* wsend_token's, reused */

static void wschat_event(uint16_t, const uint8_t *, size_t);

void
wschat_init(void)
{
	size_t i;

	for (i = 0; i < CONV_BUCKETS; i++)
		LIST_INIT(&conv_map[i]);
	storec_on_event(wschat_event);
	/* The visitors' events: a person's replies, handoff, typing. */
	storec_ev_level(ST_EV_LEVEL_VISITOR);
}

size_t
wschat_turns(void)
{
	return nturns;
}

/* --------------------------------------------------------- tokens */

static void
token_hash(const char *token, uint8_t out[ST_TOKEN_HASH_LEN])
{
	proto_sha256(token, strlen(token), out);
}

/* 32 random bytes in base64url without padding. */
static void
token_new(char out[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES], b64[4 * ((TOKEN_BYTES + 2) / 3) + 1];
	size_t i;

	proto_random(raw, sizeof(raw));
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	for (i = 0; i < TOKEN_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[TOKEN_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
}

static int
token_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return i == TOKEN_LEN;
}

int
wschat_token_hash(const char *token, uint8_t out[ST_TOKEN_HASH_LEN])
{
	if (token == NULL || !token_valid(token))
		return -1;
	token_hash(token, out);
	return 0;
}

/* --------------------------------------------------------- sending */

/* Sends o (stolen) as one text message. */
void
wschat_send(struct wsess *s, json_t *o)
{
	char *text;

	if (s == NULL || s->ws == NULL) {
		json_decref(o);
		return;
	}
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		log_warnx("wschat: cannot encode a message");
		return;
	}
	if (ws_send_text(s->ws, text, strlen(text)) < 0)
		ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	free(text);
}

#define wsend	wschat_send

static void
wsend_type(struct wsess *s, const char *type)
{
	wsend(s, json_pack("{s:s}", "type", type));
}

/*
 * Error frame o (NULL: out of memory) with its "frame": the type of the
 * visitor's frame of kind to it answers (none when to names no type).
 */
static json_t *
error_of(json_t *o, enum wsmsg_type to)
{
	const char *type = wsframe_type(to);

	if (o != NULL && type != NULL)
		json_object_set_new(o, "frame", json_string(type));
	return o;
}

/* A mistake of the page's (a frame's field, a call): said in English. */
static void
wsend_error(struct wsess *s, enum wsmsg_type to, const char *msg)
{
	wsend(s, error_of(json_pack("{s:s, s:s}", "type", "error", "message",
	    msg), to));
}

/* Something the visitor reads: in the socket's language, with its code. */
static void
wsend_say_text(struct wsess *s, enum wsmsg_type to, enum vtext_id id,
    const char *text)
{
	wsend(s, error_of(json_pack("{s:s, s:s, s:s}", "type", "error",
	    "message", text, "code", vtext_code(id)), to));
}

static void
wsend_say(struct wsess *s, enum wsmsg_type to, enum vtext_id id)
{
	wsend_say_text(s, to, id, vtext(s->lang, id));
}

/*
 * {"type":"token","token":...} straight into one reused buffer: tokens
 * are most of what the chat sends.
 */
static void
wsend_token(struct wsess *s, const char *text, size_t len)
{
	struct buf *b = &tokbuf;

	if (s == NULL || s->ws == NULL)
		return;
	b->len = b->off = 0;
	buf_adds(b, "{\"type\":\"token\",\"token\":");
	buf_add_jstr(b, text, len);
	buf_adds(b, "}");
	if (b->err)
		log_warnx("wschat: cannot encode a token");
	else if (ws_send_text(s->ws, b->data, b->len) < 0)
		ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	/* Keep a buffer of everyday size, not the largest reply's. */
	if (b->err || b->cap > 64 * 1024)
		buf_free(b);
}

void
wschat_stored(struct wsess *s)
{
	s->stored = 1;
}

/* --------------------------------------------------------- sessions */

/* --------------------------------------------------------- conversations */

/* Conversation ids are random hex: their first digits spread well. */
static struct wsess_list *
conv_bucket(const char *conv)
{
	uint32_t h = 0;
	size_t i;

	for (i = 0; i < 8 && conv[i] != '\0'; i++)
		h = h << 4 | (uint32_t)(proto_hex_digit((unsigned char)conv[i]) &
		    0xf);
	return &conv_map[h & (CONV_BUCKETS - 1)];
}

/* The socket's conversation is conv (its events come to it). */
static void
wsess_set_conv(struct wsess *s, const char *conv)
{
	if (strcmp(s->conv, conv) == 0 || strlen(conv) != ST_ID_HEX)
		return;
	if (s->conv[0] != '\0')
		LIST_REMOVE(s, conv_entry);
	s->answer = 0;		/* another conversation's answer: not this one's */
	strlcpy(s->conv, conv, sizeof(s->conv));
	LIST_INSERT_HEAD(conv_bucket(s->conv), s, conv_entry);
}

/* Tells the visitor the handoff state, unless it knows it already. */
static void
wsend_handoff(struct wsess *s, int state, const char *name)
{
	const char *sn = st_handoff_name(state);
	json_t *o;

	if (sn == NULL || s->handoff == state)
		return;
	s->handoff = state;
	o = json_pack("{s:s, s:s}", "type", "handoff", "state", sn);
	if (o != NULL && name != NULL && name[0] != '\0')
		json_object_set_new(o, "name", exprow_text(name));
	wsend(s, o);
}

/*
 * A person's change of the conversation's state (storaged's handoff
 * event), told: handed back to the assistant, the visitor is asked for a
 * rating (wsfb_handoff). Only here: a new conversation leaving a
 * person's, here or in another tab, hands nothing back.
 */
static void
wsend_handoff_event(struct wsess *s, int state, const char *name)
{
	int old = s->handoff;

	wsend_handoff(s, state, name);
	wsfb_handoff(&s->fb, old, state);
}

static void held_leave(struct wsess *);

static void
wsess_free(struct wsess *s)
{
	if (s->sreq != NULL)
		storec_cancel(s->sreq);
	if (s->hreq != NULL)
		storec_cancel(s->hreq);
	if (s->areq != NULL)
		storec_cancel(s->areq);
	wsident_free(&s->ident);
	wsfb_free(&s->fb);
	wsconvs_free(&s->convs);
	if (s->conv[0] != '\0')
		LIST_REMOVE(s, conv_entry);
	if (s->turn != NULL)
		turn_cancel(s->turn);	/* it goes on without the visitor */
	loop_defer_cancel(&s->held_defer);
	loop_defer_cancel(&s->handoff_defer);
	loop_defer_cancel(&s->quit_defer);
	held_leave(s);
	LIST_REMOVE(s, entry);
	clientcap_put(s->cap);
	st_visitor_free(&s->visitor);
	free(s->page_tools);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

void
wschat_widget_gone(const char *widget_id)
{
	struct wsess *s;

	LIST_FOREACH(s, &sessions, entry)
		if (s->ws != NULL && strcmp(s->wid, widget_id) == 0)
			ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "widget gone");
}

/*
 * A message another socket of the session stored (the visitor's in
 * another tab, or the reply to it), as "message" with "copy": the
 * widget adds it as it is, never as the end of a reply of its own.
 * An interrupted reply comes even with no words (stopped before the
 * first, or its worker lost: storaged's, docs/internals.md): the widget
 * shows it stopped, as the history does. NULL for any other message
 * with no words. A failed reply (its text is the model's error, which no
 * visitor reads: the tab that asked shows its own words for it) is only
 * "typing_stop" with "copy": the other tabs, which show the assistant
 * writing since the copy of the visitor's message, stop. An answer
 * carries the passages it cites (cited, the JSON its turn sent its own
 * socket as "sources"), so that each tab shows them under it.
 */
static json_t *
copy_json(const struct st_msg *m)
{
	json_t *o, *src;
	int cut = strcmp(m->status, "interrupted") == 0;

	if (strcmp(m->status, "failed") == 0)
		return json_pack("{s:s, s:b}", "type", "typing_stop", "copy",
		    1);
	if (m->content[0] == '\0' && m->natts == 0 && !cut)
		return NULL;
	o = json_pack("{s:s, s:s, s:o, s:o, s:b}", "type", "message", "role",
	    m->role, "content", exprow_text(m->content), "id",
	    exprow_text(m->id), "copy", 1);
	if (o != NULL && cut)
		json_object_set_new(o, "status", json_string(m->status));
	if (o != NULL && (src = admin_cited_json(m)) != NULL)
		json_object_set_new(o, "sources", src);
	return o;
}

/*
 * A visitor's event as the text every socket of its conversation gets
 * (malloc'd); NULL when the visitors are not told (or out of memory).
 */
static char *
visitor_event_text(const struct st_event *ev, const char *wid)
{
	json_t *o = NULL;
	char *text;

	switch (ev->kind) {
	case ST_EV_MESSAGE:
		if (strcmp(ev->msg.role, "agent") == 0)
			o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "type",
			    "message", "role", "agent", "content",
			    exprow_text(ev->msg.content), "name",
			    exprow_text(ev->msg.name), "id",
			    exprow_text(ev->msg.id));
		else if (strcmp(ev->msg.role, "user") == 0 ||
		    strcmp(ev->msg.role, "assistant") == 0)
			o = copy_json(&ev->msg);
		/* Files, a person's or the visitor's: linked through its widget. */
		if (o != NULL && ev->msg.natts > 0)
			json_object_set_new(o, "attachments", att_json(
			    ev->msg.atts, ev->msg.natts, wid, NULL,
			    proto_wall_ms()));
		break;
	case ST_EV_TYPING:
		o = ev->on ? json_pack("{s:s, s:s, s:o}", "type",
		    "typing_start", "role", "agent", "name",
		    exprow_text(ev->name)) : json_pack("{s:s, s:s}", "type",
		    "typing_stop", "role", "agent");
		break;
	default:
		break;
	}
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/*
 * A handoff event for s. A person taking over stops the reply in flight
 * (turn.c hears the same event): the visitor's stream ends (the text so
 * far stored as interrupted), then the handoff is told (turn_over); so is
 * any change while a turn ends.
 */
static void
visitor_handoff(struct wsess *s, const struct st_event *ev)
{
	if (s->turn == NULL && s->pend_handoff == HANDOFF_UNKNOWN) {
		wsend_handoff_event(s, ev->state, ev->name);
		return;
	}
	s->pend_handoff = ev->state;
	strlcpy(s->pend_name, ev->name, sizeof(s->pend_name));
	if (s->turn == NULL)
		loop_defer(&s->handoff_defer);
}

/*
 * Whether message id is one s stored itself: its turn's user message
 * (the turn alive, or over), or its last reply.
 */
static int
own_message(const struct wsess *s, const char *id)
{
	return strcmp(id, s->own_msg) == 0 || strcmp(id, s->own_reply) == 0 ||
	    (s->turn != NULL && strcmp(id, turn_msg_id(s->turn)) == 0);
}

/*
 * The model began answering the conversation's last message, the
 * visitor's, left unanswered by a person who handed it back (answerlast.c,
 * on whichever worker): s shows it as its own turn, "typing_start", and
 * gets the reply as its end (answer_reply); on the turn's worker, told
 * first (wschat_answer_begun), the tokens too. Once: the event comes
 * after that. Not while s's own message is on its way: its
 * refusal (another turn open) gives the visitor its text back, and the
 * reply comes as a copy.
 */
static void
answer_typing(struct wsess *s)
{
	if (s->turn != NULL || s->answer)
		return;
	s->answer = 1;
	/* "answer": not the ack of s's own message, which may be on its way. */
	wsend(s, json_pack("{s:s, s:b}", "type", "typing_start", "answer", 1));
}

/*
 * The reply (m) to a socket shown the assistant answering: what its own
 * turn's end would be (ws_done, ws_error): the message (with its id,
 * status and sources; none when stopped before its first word), or a
 * failed reply's error, then "typing_stop".
 */
static void
answer_reply(struct wsess *s, const struct st_msg *m)
{
	json_t *o;

	s->answer = 0;
	if (strcmp(m->status, "failed") == 0)
		wsend_say(s, WSMSG_MESSAGE, VT_MODEL_FAILED);
	else if (m->content[0] != '\0' && (o = copy_json(m)) != NULL) {
		json_object_del(o, "copy");
		wsend(s, o);
	}
	wsend_type(s, "typing_stop");
}

void
wschat_answer_begun(const char *conv)
{
	struct wsess *s, *next;

	for (s = LIST_FIRST(conv_bucket(conv)); s != NULL; s = next) {
		next = LIST_NEXT(s, conv_entry);
		if (s->ws != NULL && strcmp(s->conv, conv) == 0)
			answer_typing(s);
	}
}

void
wschat_answer_token(const char *conv, const char *text, size_t len)
{
	struct wsess *s, *next;

	for (s = LIST_FIRST(conv_bucket(conv)); s != NULL; s = next) {
		next = LIST_NEXT(s, conv_entry);
		if (s->ws != NULL && s->answer && strcmp(s->conv, conv) == 0)
			wsend_token(s, text, len);
	}
}

/* Whether a socket here is on conversation conv. */
static int
conv_here(const char *conv)
{
	struct wsess *s;

	LIST_FOREACH(s, conv_bucket(conv), conv_entry)
		if (s->ws != NULL && strcmp(s->conv, conv) == 0)
			return 1;
	return 0;
}

/* One of storaged's visitor events to this worker's sockets on its conversation. */
static void
visitor_event(const uint8_t *payload, size_t len)
{
	struct wsess *s, *next;
	struct st_event ev;
	char conv[ST_ID_HEX + 1];
	char *text = NULL;
	size_t tlen = 0;
	int built = 0;

	/*
	 * Every worker hears every visitor event, of every turn: decoded
	 * only where a socket is on its conversation.
	 */
	if (pdec_event_conv(payload, len, conv) == 0 && !conv_here(conv))
		return;
	memset(&ev, 0, sizeof(ev));
	if (st_req_decode(PROTO_ST_EV, payload, len, &ev) < 0) {
		log_warnx("wschat: malformed %s", proto_msg_name(PROTO_ST_EV));
		return;
	}
	for (s = LIST_FIRST(conv_bucket(ev.conv.id)); s != NULL; s = next) {
		next = LIST_NEXT(s, conv_entry);
		if (s->ws == NULL || strcmp(s->conv, ev.conv.id) != 0)
			continue;
		if (ev.kind == ST_EV_HANDOFF) {
			visitor_handoff(s, &ev);
			continue;
		}
		if (ev.kind == ST_EV_MESSAGE && own_message(s, ev.msg.id))
			continue;
		if (ev.kind == ST_EV_ANSWERING) {
			answer_typing(s);
			continue;
		}
		if (ev.kind == ST_EV_MESSAGE && s->answer &&
		    strcmp(ev.msg.role, "assistant") == 0) {
			answer_reply(s, &ev.msg);
			continue;
		}
		/*
		 * Built for the first socket on the conversation: every worker
		 * gets every event, and most have no socket on it.
		 */
		if (!built) {
			built = 1;
			if ((text = visitor_event_text(&ev, s->wid)) != NULL)
				tlen = strlen(text);
		}
		if (text != NULL && ws_send_text(s->ws, text, tlen) < 0)
			ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	}
	free(text);
	st_req_free(PROTO_ST_EV, &ev);
}

static void
wschat_event(uint16_t type, const uint8_t *payload, size_t len)
{
	struct st_id_req gone;

	if (type == PROTO_ST_EV) {
		visitor_event(payload, len);
		return;
	}
	if (type != PROTO_ST_EV_WIDGET_GONE)
		return;
	memset(&gone, 0, sizeof(gone));
	if (st_req_decode(type, payload, len, &gone) < 0) {
		log_warnx("wschat: malformed %s", proto_msg_name(type));
		return;
	}
	wschat_widget_gone(gone.id);
	st_req_free(type, &gone);
}

/* ------------------------------------------------------------ turns */

static int
ws_start(void *fe, const char *conv_id, int handoff)
{
	struct wsess *s = fe;

	s->stored = 1;		/* the first message made it, if need be */
	s->answer = 0;		/* its own turn now: no answer is shown */
	/*
	 * Another tab began a new conversation: what the socket knew of the
	 * old one's handoff is not this one's (a request_human answered from
	 * it would store nothing).
	 */
	if (s->conv[0] != '\0' && strcmp(s->conv, conv_id) != 0 &&
	    st_handoff_name(handoff) != NULL)
		wsend_handoff(s, handoff, NULL);
	wsess_set_conv(s, conv_id);
	wsend_type(fe, "typing_start");
	/* With a quick model: one packet for typing_start and the text. */
	ws_hold(s->ws, turn_start_hold_ms());
	return 0;
}

static void
ws_token(void *fe, const char *text, size_t len)
{
	wsend_token(fe, text, len);
}

/*
 * How far the socket's output got (turn_ops.out_pos): a visitor who
 * leaves has stored the tokens that went out to them, as a stream's,
 * and none held back before the question was on disk. Once the socket
 * is gone, where it was as it went.
 */
static void
ws_out_at(void *fe, uint64_t *queued, uint64_t *out)
{
	struct wsess *s = fe;

	if (s->ws != NULL)
		ws_out_pos(s->ws, queued, out);
	else {
		*queued = s->gone_queued;
		*out = s->gone_out;
	}
}

/* The visitor reads slowly: the model waits until on_drain. */
static int
ws_busy(void *fe)
{
	struct wsess *s = fe;

	return ws_out_pending(s->ws) >= CHAT_OUT_HIGH;
}

/*
 * The socket's turn is over: a message held for a person (wschat_on_message)
 * goes now, from the loop, not from inside the turn's callback.
 */
static void
turn_over(struct wsess *s)
{
	/*
	 * Its message's event may come after: it is the socket's own; so
	 * is its reply's, a failed one's too.
	 */
	if (s->turn != NULL && turn_msg_id(s->turn)[0] != '\0')
		strlcpy(s->own_msg, turn_msg_id(s->turn), sizeof(s->own_msg));
	if (s->turn != NULL && turn_reply_id(s->turn)[0] != '\0')
		strlcpy(s->own_reply, turn_reply_id(s->turn),
		    sizeof(s->own_reply));
	s->turn = NULL;
	/* The worker quits: the socket its grace kept open goes after this. */
	if (worker_quitting()) {
		loop_defer(&s->quit_defer);
		return;
	}
	if (s->pend_handoff != HANDOFF_UNKNOWN)
		loop_defer(&s->handoff_defer);
	if (!STAILQ_EMPTY(&s->held))
		loop_defer(&s->held_defer);
}

/* A quitting worker: the socket kept open for its turn, now over, goes. */
static void
quit_run(void *arg)
{
	struct wsess *s = arg;

	if (s->ws != NULL)
		ws_close(s->ws, WS_CLOSE_GOING_AWAY, "going away");
}

/* The handoff held while the stopped turn ended (visitor_event). */
static void
handoff_run(void *arg)
{
	struct wsess *s = arg;
	int state = s->pend_handoff;

	s->pend_handoff = HANDOFF_UNKNOWN;
	if (s->ws != NULL && state != HANDOFF_UNKNOWN)
		wsend_handoff_event(s, state, s->pend_name);
}

static void
ws_done(void *fe, const char *conv_id, const char *msg_id,
    const char *content, const struct turn_source *src, size_t nsrc,
    int handoff)
{
	struct wsess *s = fe;
	const char *status = s->turn != NULL ? turn_reply_status(s->turn) :
	    NULL;
	json_t *o;

	/* A reply cut off (a person took over): stored so, shown so. */
	if (status != NULL && strcmp(status, "interrupted") != 0)
		status = NULL;
	turn_over(s);
	/* "" is a reply stopped before its first word: nothing to show. */
	if (content[0] != '\0') {
		o = json_pack("{s:s, s:s, s:s}", "type", "message", "role",
		    "assistant", "content", content);
		/* Its id: the widget's thumbs name it (issue 26). */
		if (o != NULL && msg_id[0] != '\0')
			json_object_set_new(o, "id", json_string(msg_id));
		if (o != NULL && status != NULL)
			json_object_set_new(o, "status", json_string(status));
		/* The knowledge it cites, shown under it. */
		if (o != NULL && nsrc > 0)
			json_object_set_new(o, "sources",
			    turn_sources_json(src, nsrc));
		wsend(s, o);
	}
	wsend_type(s, "typing_stop");
}

static void
ws_error(void *fe, enum turn_at at, enum turn_cause why, int shown)
{
	struct wsess *s = fe;
	turn_over(s);
	if (at == TURN_AT_BEGIN && why == TURN_C_INVALID)
		wsend_error(s, WSMSG_MESSAGE, CHAT_ATTS_REFUSED);
	else
		/*
		 * Unavailable is not "not saved": the connection lost, or
		 * storaged stuck, the write may be stored (storaged then
		 * ends the turn itself, lostturns.h).
		 */
		wsend_say(s, WSMSG_MESSAGE, at == TURN_AT_BEGIN ? (why == TURN_C_MALFORMED ||
		    why == TURN_C_INTERNAL ? VT_WRONG : VT_UNAVAILABLE) :
		    at == TURN_AT_MODEL ? VT_MODEL_FAILED :
		    why == TURN_C_UNAVAILABLE ? VT_UNAVAILABLE :
		    at == TURN_AT_COMMIT ? VT_MSG_UNSAVED : VT_CONV_UNSAVED);
	if (shown)
		wsend_type(s, "typing_stop");
}

void
wschat_say_wait(struct wsess *s, enum wsmsg_type to, enum vtext_id id,
    uint64_t retry_ms)
{
	char msg[VTEXT_WAIT_MAX];

	vtext_wait(msg, sizeof(msg), s->lang, id, retry_ms);
	wsend_say_text(s, to, id, msg);
}

/* The client's rate limit's refusal of a frame of kind to, with its wait. */
static void
wsend_limited(struct wsess *s, enum wsmsg_type to, uint64_t retry_ms)
{
	wschat_say_wait(s, to, VT_TOO_MANY_MESSAGES, retry_ms);
}

/*
 * A storaged result that ends the socket: its widget gone, or its
 * session. 1 when closed, else 0 (nothing done).
 */
static int
ws_gone(struct wsess *s, int result)
{
	switch (result) {
	case ST_WS_NO_WIDGET:
		ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "widget gone");
		return 1;
	case ST_WS_ORIGIN:
		/* Taken out of allowed_origins since the open: gone for it. */
		ws_close(s->ws, WS_CLOSE_WIDGET_GONE, "origin not allowed");
		return 1;
	case ST_WS_NO_SESSION:
		/* The widget reconnects with its token and starts afresh. */
		ws_close(s->ws, CLOSE_SESSION_GONE, "session expired");
		return 1;
	default:
		return 0;
	}
}

/*
 * storaged's refusal of an unverified visitor's write (a frame of kind
 * to): the widget takes only verified visitors since this socket opened
 * (it was told then), or its secret changed since the socket's identify.
 * The socket refuses the next ones itself until it identifies. 1 when
 * refused, else 0.
 */
static int
ws_identity_refused(struct wsess *s, enum wsmsg_type to, int result)
{
	if (result != ST_WS_IDENTITY)
		return 0;
	/*
	 * Verified with a secret the widget no longer holds, or told it was
	 * not required: the page is told (identity) so it identifies anew.
	 */
	wsident_lapsed(&s->ident, s, 1);
	wsend_error(s, to, "Identity required");
	return 1;
}

/*
 * storaged's reply to request name (for a frame of kind to) was not what
 * it should be.
 */
static void
wsend_malformed(struct wsess *s, enum wsmsg_type to, const char *name)
{
	log_warnx("wschat: malformed %s reply", name);
	wsend_say(s, to, VT_WRONG);
}

/* storaged's refusal of a message (ST_WS_BEGIN's result). */
static void
ws_refused(void *fe, int result, uint64_t retry_ms)
{
	struct wsess *s = fe;

	turn_over(s);
	if (ws_gone(s, result) ||
	    ws_identity_refused(s, WSMSG_MESSAGE, result))
		return;
	switch (result) {
	case ST_WS_CONTACT:
		wsend_say(s, WSMSG_MESSAGE, VT_CONTACT_FIRST);
		return;
	case ST_WS_LIMITED:
		wsend_limited(s, WSMSG_MESSAGE, retry_ms);
		return;
	case ST_WS_CAPPED:
		wsend_say(s, WSMSG_MESSAGE, VT_CAPPED);
		return;
	case ST_WS_BUSY:
		wsend_say(s, WSMSG_MESSAGE, VT_BUSY);
		return;
	case ST_WS_TURN_OPEN:
		/* Another socket of the session (a tab) waits for its reply. */
		wsend_say(s, WSMSG_MESSAGE, VT_WAIT_REPLY);
		return;
	default:
		log_warnx("wschat: ST_WS_BEGIN result %d", result);
		wsend_say(s, WSMSG_MESSAGE, VT_WRONG);
		return;
	}
}

/*
 * A person answers this conversation: the message is stored, and the
 * visitor sees no assistant typing. The state comes back even when the
 * socket knew it: it says the message is stored (the widget holds a
 * message unconfirmed until then, as it does until typing_start).
 */
static void
ws_human(void *fe, const char *conv_id)
{
	struct wsess *s = fe;

	turn_over(s);
	s->stored = 1;
	wsess_set_conv(s, conv_id);
	if (s->handoff == ST_HANDOFF_HUMAN)
		s->handoff = HANDOFF_UNKNOWN;
	wsend_handoff(s, ST_HANDOFF_HUMAN, NULL);
}

/*
 * ST_WS_BEGIN: the effective agent answers (turn.c applies it: storaged
 * merged the widget's own model and prompt into its agent's); HUMAN:
 * stored, and a person answers.
 */
/*
 * {"type":"tool","name","status","id"}: "looking up..." while a call runs;
 * its end, by id, also ends a confirmation card the wait gave up on.
 */
static void
ws_tool(void *fe, const char *name, const char *id, const char *state)
{
	wsend(fe, json_pack("{s:s, s:s, s:s, s:s}", "type", "tool", "name",
	    name, "status", state, "id", id));
}

/* The socket's verified identity, for the actions' templates. */
static int
ws_visitor(void *fe, struct tpl_visitor *v)
{
	struct wsess *s = fe;

	return wsident_visitor(&s->ident, v);
}

/*
 * storaged took the message of a session it found unverified: the
 * socket's own verification goes (its secret changed since), the page
 * told, and the widget does not require one (not any more, if this
 * socket was told).
 */
static void
ws_unverified(void *fe)
{
	struct wsess *s = fe;

	wsident_lapsed(&s->ident, s, 0);
}

/* The widget has a person to hand over to (its handoff). */
static int
ws_can_hand_over(void *fe)
{
	return ((struct wsess *)fe)->handoff_enabled;
}

/*
 * {"type":"tool","name","status":"confirm","id","summary"}: a call waits
 * for a yes (a tool frame: one type for the widget to hand its part).
 */
static int
ws_confirm(void *fe, const char *id, const char *name, const char *summary)
{
	wsend(fe, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "tool", "name",
	    name, "status", "confirm", "id", id, "summary", summary));
	return 0;
}

/* The page's own tools, as its last "tools" frame gave them. */
static const char *
ws_page_tools(void *fe)
{
	struct wsess *s = fe;

	return s->page_tools;
}

/*
 * {"type":"tool","name","status":"page","id","arguments"}: a call of the
 * page's own tool, for its handler (ParleyChat.registerTools).
 */
static int
ws_page_call(void *fe, const char *id, const char *name, const char *args)
{
	json_t *a = json_loads(args, 0, NULL);

	if (a == NULL)
		return -1;
	wsend(fe, json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "tool", "name",
	    name, "status", "page", "id", id, "arguments", a));
	return 0;
}

/* A contact form the visitor has not filled yet. */
static int
ws_has_contact_form(void *fe)
{
	struct wsess *s = fe;

	return s->contact_form && !s->contact_submitted;
}

/*
 * {"type":"tool","name","status":"contact","id","summary"}: the widget
 * shows its contact form (summary: why the assistant asks, maybe "").
 */
static int
ws_contact_form(void *fe, const char *id, const char *name,
    const char *reason)
{
	wsend(fe, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "tool", "name",
	    name, "status", "contact", "id", id, "summary", reason));
	return 0;
}

static const struct turn_ops ws_ops = {
	"wschat", &nturns, PROTO_ST_WS_BEGIN, ST_WS_OK, ST_WS_HUMAN,
	ws_start, ws_token, ws_busy, ws_done, ws_error, ws_refused, ws_human,
	ws_tool, ws_visitor, ws_can_hand_over, ws_confirm, ws_page_tools,
	ws_page_call, ws_has_contact_form, ws_contact_form, ws_unverified,
	ws_out_at,
};

/* {"type":"tools","tools":[...]}: the page's own tools, for its next turns. */
void
wschat_on_tools(struct wsess *s, struct wsmsg *m)
{
	const char *why;
	char *t;

	if ((why = tools_page_check(m->tools, &t)) != NULL) {
		wsend_error(s, WSMSG_TOOLS, why);
		return;
	}
	free(s->page_tools);
	s->page_tools = t;
}

/* {"type":"tool_result","id","result"|"error"}: a page tool's answer. */
void
wschat_on_tool_result(struct wsess *s, struct wsmsg *m)
{
	if (turn_page_answer(s->turn, m->call_id, m->result, m->yes == 0) < 0)
		wsend_error(s, WSMSG_TOOL_RESULT,
		    "tool_result: no call waits for it");
}

/* The visitor's yes or no to a call that changes data. */
void
wschat_on_confirm(struct wsess *s, struct wsmsg *m)
{
	if (turn_confirm(s->turn, m->call_id, m->yes) < 0)
		wsend_error(s, WSMSG_CONFIRM, "confirm: no call waits for it");
}

/* The session's idle expiry, as its requests carry it. */
static uint64_t
idle_ms(void)
{
	return (uint64_t)wsettings.session_idle_days * 86400000ull;
}

/*
 * The turn of s's visitor's message (ST_WS_BEGIN), with its files and
 * the widget's id of it (cid, "" none), told to
 * fe (s, or NULL: nobody, the visitor gone); NULL with *why when it could
 * not start.
 */
static struct turn *
message_turn(struct wsess *s, void *fe, const char *content,
    const char *cid, const struct st_str *atts, uint32_t natts,
    enum turn_cause *why)
{
	struct st_ws_begin_req req = {
		.widget_id = s->wid,
		.token_len = sizeof(s->hash),
		.content = content,
		.rate_key = s->rate_key,
		.window_ms = wsettings.rate_window_ms,
		.rate_max = wsettings.rate_max,
		.history_max = wsettings.max_history,
		.idle_ms = idle_ms(),
		.create = !s->stored,	/* a new visitor: this makes it */
		.visitor = s->visitor,
		.atts = (struct st_str *)(uintptr_t)atts,
		.natts = natts,
		.client_id = cid,
		.origin = s->origin,
	};

	memcpy(req.token, s->hash, sizeof(req.token));
	return turn_start(&ws_ops, fe, &req, why);
}

/* Starts the turn of the visitor's message, the socket's one. */
static void
message_begin(struct wsess *s, const struct wsmsg *m)
{
	enum turn_cause why;

	if ((s->turn = message_turn(s, s, m->content, m->cid, m->atts,
	    m->natts, &why)) == NULL)
		ws_error(s, TURN_AT_BEGIN, why, 0);
}

/*
 * The oldest held message, out of the queue: its turn told to fe (see
 * message_turn); 0, or -1 when it could not start (*why).
 */
static int
held_start(struct wsess *s, void *fe, enum turn_cause *why)
{
	struct held_msg *h = STAILQ_FIRST(&s->held);
	struct st_str atts[ST_MSG_ATTS_MAX];
	struct turn *t;
	uint32_t i;

	STAILQ_REMOVE_HEAD(&s->held, entry);
	s->nheld--;
	for (i = 0; i < h->natts; i++)
		atts[i].s = h->atts[i];
	t = message_turn(s, fe, h->text, h->cid, atts, h->natts, why);
	if (fe != NULL)
		s->turn = t;
	free(h);
	return t != NULL ? 0 : -1;
}

/* The oldest held message's turn (turn_over deferred it). */
static void
held_run(void *arg)
{
	struct wsess *s = arg;
	enum turn_cause why;

	if (STAILQ_EMPTY(&s->held) || s->turn != NULL || s->ws == NULL)
		return;
	if (held_start(s, s, &why) < 0)
		ws_error(s, TURN_AT_BEGIN, why, 0);
}

/*
 * The visitor left with messages held (a person answers): they are
 * stored all the same, in order, each a turn that tells nobody. Their
 * begins go to storaged now, after the turn in flight's, on the one
 * channel it reads in order (a person answers: no model waits on them).
 */
static void
held_leave(struct wsess *s)
{
	enum turn_cause why;

	while (!STAILQ_EMPTY(&s->held))
		if (held_start(s, NULL, &why) < 0)
			log_warnx("wschat: a message held for a person is "
			    "lost: %s", why == TURN_C_UNAVAILABLE ?
			    "storaged unavailable" : "out of memory");
}

/* Holds m for after the turn in flight; 0, or -1 when it cannot be. */
static int
held_add(struct wsess *s, const struct wsmsg *m)
{
	struct held_msg *h;

	if (s->handoff != ST_HANDOFF_HUMAN || s->nheld >= HELD_MAX ||
	    (h = malloc(sizeof(*h) + m->content_len + 1)) == NULL)
		return -1;
	memcpy(h->text, m->content, m->content_len + 1);
	strlcpy(h->cid, m->cid, sizeof(h->cid));
	for (h->natts = 0; h->natts < m->natts; h->natts++)
		strlcpy(h->atts[h->natts], m->atts[h->natts].s,
		    sizeof(h->atts[h->natts]));
	STAILQ_INSERT_TAIL(&s->held, h, entry);
	s->nheld++;
	return 0;
}

void
wschat_on_message(struct wsess *s, struct wsmsg *m)
{
	if (s->resuming) {
		wsend_say(s, WSMSG_MESSAGE, VT_RESUMING);
		return;
	}
	/*
	 * A person answers: there is nothing to wait for but the store. The
	 * messages held go first, even when the turn before them has just
	 * ended and their own has not begun yet (held_run is deferred): a
	 * message read meanwhile must not pass them.
	 */
	if (s->turn != NULL || !STAILQ_EMPTY(&s->held)) {
		if (held_add(s, m) < 0)
			wsend_say(s, WSMSG_MESSAGE, VT_WAIT_REPLY);
		return;
	}
	message_begin(s, m);
}

/* ------------------------------------------------------------ contact */

/* ST_CONTACT_SUBMIT -> struct st_contact_submit_rep */
static void
contact_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_contact_submit_rep rep;
	uint64_t retry;
	uint8_t result;

	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		/* storaged's text names the field: "email: ..." */
		wsend_error(s, WSMSG_CONTACT, r->message);
		return;
	}
	if (r->status != STOREC_OK) {
		wsend_say(s, WSMSG_CONTACT, VT_DETAILS_UNSAVED);
		return;
	}
	if (storec_decode(r, PROTO_ST_CONTACT_SUBMIT, &rep) < 0) {
		wsend_say(s, WSMSG_CONTACT, VT_WRONG);
		return;
	}
	result = rep.result;
	retry = rep.retry_ms;
	st_rep_free(PROTO_ST_CONTACT_SUBMIT, &rep);
	if (ws_gone(s, result) ||
	    ws_identity_refused(s, WSMSG_CONTACT, result))
		return;
	if (result == ST_WS_TOO_MANY) {
		wsend_say(s, WSMSG_CONTACT, VT_DETAILS_ALREADY);
		return;
	}
	if (result == ST_WS_LIMITED) {
		wsend_limited(s, WSMSG_CONTACT, retry);
		return;
	}
	if (result == ST_WS_BUSY) {
		wsend_say(s, WSMSG_CONTACT, VT_BUSY);
		return;
	}
	if (result != ST_WS_OK) {
		wsend_malformed(s, WSMSG_CONTACT, "ST_CONTACT_SUBMIT");
		return;
	}
	s->stored = 1;
	s->contact_submitted = 1;
	wsend_type(s, "contact_info_saved");
	/* A turn whose model asked for them goes on (TOOL_CONTACT). */
	turn_contact_saved(s->turn);
}

void
wschat_on_contact(struct wsess *s, struct wsmsg *m)
{
	/* Longer than its bound: cut one byte over it, for storaged's check. */
	char name[4 * ST_CONTACT_NAME_MAX + 2], email[ST_EMAIL_MAX + 2];
	char phone[ST_PHONE_MAX + 2];
	struct st_contact_submit_req req = {
		.widget_id = s->wid,
		.token_len = sizeof(s->hash),
		.name = name,
		.email = email,
		.phone = phone,
		/* A contact counts as a message in the per-client limit. */
		.rate_key = s->rate_key,
		.window_ms = wsettings.rate_window_ms,
		.rate_max = wsettings.rate_max,
		.origin = s->origin,
		/*
		 * A new visitor: this makes it. A stored session gone since
		 * is not made again (NO_SESSION closes the socket 4001, as a
		 * message's).
		 */
		.create = !s->stored,
	};

	if (s->resuming) {
		wsend_say(s, WSMSG_CONTACT, VT_RESUMING);
		return;
	}
	if (s->sreq != NULL) {
		wsend_say(s, WSMSG_CONTACT, VT_DETAILS_SAVING);
		return;
	}
	memcpy(req.token, s->hash, sizeof(req.token));
	strlcpy(name, m->name, sizeof(name));
	strlcpy(email, m->email, sizeof(email));
	strlcpy(phone, m->phone, sizeof(phone));
	if (storec_ask(NULL, PROTO_ST_CONTACT_SUBMIT, &req, contact_done, s,
	    &s->sreq) < 0)
		wsend_say(s, WSMSG_CONTACT, VT_DETAILS_UNSAVED);
}

/* ------------------------------------------------------------ handoff */

/*
 * ST_WS_REQUEST_HUMAN -> struct st_request_human_rep (changed: the event
 * tells the others)
 */
static void
human_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_request_human_rep rep;

	if (r->status != STOREC_OK) {
		if (r->status == STOREC_ERROR)
			log_warnx("wschat: ST_WS_REQUEST_HUMAN: %s", r->message);
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_REQUEST_UNSENT);
		return;
	}
	if (storec_decode(r, PROTO_ST_WS_REQUEST_HUMAN, &rep) < 0) {
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_WRONG);
		return;
	}
	if (wschat_refused(s, WSMSG_REQUEST_HUMAN, rep.result))
		;
	else if (rep.result == ST_WS_NO_CONV)
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_FIRST);
	else if (rep.result == ST_WS_NO_HANDOFF) {
		s->handoff_enabled = 0;	/* turned off since the open */
		wsend_error(s, WSMSG_REQUEST_HUMAN, "request_human: this chat "
		    "has no person to talk to");
	} else if (rep.result != ST_WS_OK)
		wsend_malformed(s, WSMSG_REQUEST_HUMAN, "ST_WS_REQUEST_HUMAN");
	else {
		wsess_set_conv(s, rep.conv.id);
		/* Its answer, whatever the visitor knew. */
		s->handoff = HANDOFF_UNKNOWN;
		wsend_handoff(s, rep.conv.handoff, NULL);
	}
	st_rep_free(PROTO_ST_WS_REQUEST_HUMAN, &rep);
}

/* One more request_human this minute: 1 when within HUMAN_ASKS_MAX. */
static int
human_ask_allowed(struct wsess *s)
{
	uint64_t now = loop_now();

	if (now - s->human_window >= HUMAN_WINDOW_MS) {
		s->human_window = now;
		s->human_asks = 0;
	}
	return ++s->human_asks <= HUMAN_ASKS_MAX;
}

/*
 * {"type":"request_human"}: a person, please (handoff_enabled widgets).
 * Always asked of storaged, which changes only an assistant's conversation
 * (asked again: nothing stored, the state told): the socket's own state
 * may be older than a hand-back it has not heard of yet, and answering
 * from it lost the visitor's request.
 */
void
wschat_on_request_human(struct wsess *s, struct wsmsg *m)
{
	struct st_ws_session_req req = {
		.widget_id = s->wid,
		.token_len = sizeof(s->hash),
		.origin = s->origin,
	};

	if (!s->handoff_enabled) {
		wsend_error(s, WSMSG_REQUEST_HUMAN, "request_human: this chat "
		    "has no person to talk to");
		return;
	}
	if (s->resuming) {
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_RESUMING);
		return;
	}
	if (!s->stored) {
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_FIRST);
		return;
	}
	if (s->hreq != NULL)
		return;		/* asked already; its answer comes */
	if (!human_ask_allowed(s)) {
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_HUMAN_TOO_MANY);
		return;
	}
	memcpy(req.token, s->hash, sizeof(req.token));
	if (storec_ask(NULL, PROTO_ST_WS_REQUEST_HUMAN, &req, human_done, s,
	    &s->hreq) < 0)
		wsend_say(s, WSMSG_REQUEST_HUMAN, VT_REQUEST_UNSENT);
}

/* ---------------------------------------------------------- away mode */

/* ST_WIDGET_AVAIL -> struct st_widget_avail_rep: "availability". */
static void
avail_done(const struct storec_result *r, void *arg)
{
	struct wsess *s = arg;
	struct st_widget_avail_rep rep;

	if (r->status != STOREC_OK) {
		if (r->status == STOREC_ERROR && r->code != PROTO_E_NOT_FOUND)
			log_warnx("wschat: ST_WIDGET_AVAIL: %s", r->message);
		return;		/* a gone widget closes the socket anyway */
	}
	if (storec_decode(r, PROTO_ST_WIDGET_AVAIL, &rep) < 0)
		return;
	if (rep.widget.handoff_enabled)
		wsend(s, widget_avail_json(&rep.widget, rep.staffed,
		    "availability", vtext(s->lang, VT_AWAY)));
	st_rep_free(PROTO_ST_WIDGET_AVAIL, &rep);
}

/*
 * {"type":"availability"}: the state now, from storaged (one at a time,
 * AVAIL_ASKS_MAX a minute; others go unanswered).
 */
void
wschat_on_availability(struct wsess *s, struct wsmsg *m)
{
	struct st_id_req req = { .id = s->wid };
	uint64_t now = loop_now();

	if (!s->handoff_enabled || s->areq != NULL)
		return;
	if (now - s->avail_window >= HUMAN_WINDOW_MS) {
		s->avail_window = now;
		s->avail_asks = 0;
	}
	if (++s->avail_asks > AVAIL_ASKS_MAX)
		return;
	(void)storec_ask(NULL, PROTO_ST_WIDGET_AVAIL, &req, avail_done, s,
	    &s->areq);
}

/* ------------------------------------------------------------ resume */

static void open_send(struct wsess *);


/*
 * {"type":"resume","token":...} as the socket's first message, on a
 * socket opened without a token: counted, then ST_WS_OPEN with it.
 * open_done answers.
 */
void
wschat_on_resume(struct wsess *s, struct wsmsg *m)
{
	if (s->nmsgs != 1 || s->has_token || s->token_given || s->stored) {
		wsend_error(s, WSMSG_RESUME, "resume: only as the first "
		    "message of a socket opened without a token");
		return;
	}
	/* A malformed token is no token: the fresh one stays. */
	if (token_valid(m->token)) {
		strlcpy(s->token, m->token, sizeof(s->token));
		token_hash(s->token, s->hash);
		s->has_token = 1;
	}
	s->resuming = 1;
	open_send(s);
}

/* ------------------------------------------------------------ socket */

static void
ws_text(struct ws *ws, const char *msg, size_t len, void *arg)
{
	struct wsess *s = arg;
	struct wsmsg m;

	s->nmsgs++;
	if (wsmsg_parse(msg, len, &m) < 0)
		wsend_error(s, m.asked, m.error);
	else if (wsident_refuses(&s->ident, m.frame))
		wsend_error(s, m.type, "Identity required");
	else
		m.frame->answer(s, &m);
	wsmsg_free(&m);
}

/* Kept for the next turns: storaged stores it with them. */
void
wschat_on_visitor(struct wsess *s, struct wsmsg *m)
{
	st_visitor_free(&s->visitor);
	s->visitor = m->visitor;
	memset(&m->visitor, 0, sizeof(m->visitor));
}

void
wschat_on_identify(struct wsess *s, struct wsmsg *m)
{
	wsident_identify(&s->ident, s, m, s->wid, s->hash);
}

void
wschat_on_feedback(struct wsess *s, struct wsmsg *m)
{
	wsfb_frame(&s->fb, m);
}

static void
ws_drained(struct ws *ws, void *arg)
{
	struct wsess *s = arg;

	if (s->turn != NULL)
		turn_drained(s->turn);
}

static void
ws_closed(struct ws *ws, uint16_t code, void *arg)
{
	struct wsess *s = arg;

	/* How far its output got: the turn it leaves stores that much. */
	ws_out_pos(ws, &s->gone_queued, &s->gone_out);
	s->ws = NULL;
	wsess_free(s);
}

/* A reply streams: a quitting worker closes the socket once it is over. */
static int
ws_replying(void *arg)
{
	const struct wsess *s = arg;

	return s->turn != NULL;
}

static const struct ws_cbs ws_callbacks = {
	ws_text, ws_drained, ws_closed, ws_replying
};

/* ------------------------------------------------------------ upgrade */

static void
wschat_abort(struct conn *c)
{
	struct wsess *s = c->hctx;

	if (s == NULL)
		return;
	s->c = NULL;
	wsess_free(s);
}

/* Hands the connection back for an HTTP answer; NULL if it is gone. */
static struct conn *
wsess_detach(struct wsess *s)
{
	struct conn *c = s->c;

	conn_drop_handler(&s->c, s);
	return c;
}

static void
open_refuse(struct wsess *s, int status, const char *msg)
{
	struct conn *c;

	/* A resume on an open socket: closed instead. */
	if (s->ws != NULL) {
		s->resuming = 0;
		ws_close(s->ws, status == 404 ? WS_CLOSE_WIDGET_GONE :
		    status == 403 || status == 429 ? WS_CLOSE_POLICY :
		    WS_CLOSE_INTERNAL, msg);
		return;
	}
	if ((c = wsess_detach(s)) != NULL)
		conn_send_error(c, status, JSON_HEADERS, msg);
	wsess_free(s);
}

/*
 * Leaves the newest items of arr (oldest first) whose compact JSON, with
 * commas and brackets, fits in max bytes. 1 when some were dropped.
 */
static int
history_trim(json_t *arr, size_t max)
{
	size_t i, n = json_array_size(arr), used = 2;

	for (i = n; i > 0; i--) {
		used += json_dumpb(json_array_get(arr, i - 1), NULL, 0,
		    JSON_COMPACT) + 1;
		if (used > max)
			break;
	}
	if (i == 0)
		return 0;
	while (i-- > 0)
		json_array_remove(arr, 0);
	return 1;
}

/*
 * The "history" event, hist (stolen) its messages, as one text message of
 * at most HISTORY_SEND_MAX bytes: when JSON escapes made it longer, the
 * oldest messages go (and more is set). conversation_id is conv_id (""
 * null); readonly (issue 26) only when set.
 */
static void
wsend_history(struct wsess *s, json_t *hist, int more, const char *conv_id,
    int readonly)
{
	json_t *o;
	char *text = NULL;
	size_t envelope;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		o = json_pack("{s:s, s:O, s:b, s:o}", "type", "history",
		    "messages", hist, "truncated", more, "conversation_id",
		    conv_id[0] != '\0' ? json_string(conv_id) : json_null());
		if (o != NULL && readonly)
			json_object_set_new(o, "readonly", json_true());
		text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (text == NULL || strlen(text) <= HISTORY_SEND_MAX)
			break;
		/* What the rest adds to the array (no longer once truncated). */
		envelope = strlen(text) - json_dumpb(hist, NULL, 0,
		    JSON_COMPACT);
		free(text);
		text = NULL;
		more = history_trim(hist, envelope < HISTORY_SEND_MAX ?
		    HISTORY_SEND_MAX - envelope : 0) || more;
	}
	json_decref(hist);
	if (text == NULL) {
		log_warnx("wschat: cannot encode the history");
		return;
	}
	if (s->ws != NULL && ws_send_text(s->ws, text, strlen(text)) < 0)
		ws_close(s->ws, WS_CLOSE_POLICY, "not reading");
	free(text);
}

/*
 * One message of the history: {role, content, id}, "name" on a person's,
 * "cid" on a visitor's the widget sent with one,
 * "feedback" ("up", "down", null) and "status" ("complete", or
 * "interrupted": cut off by a lost socket or stopped) on an assistant's,
 * and "sources" on one that cites knowledge.
 * NULL out of memory.
 */
static json_t *
history_item(const struct st_msg *m, const char *wid)
{
	const char *fb = st_feedback_name(m->feedback);
	json_t *item, *src;
	int err = 0;

	if ((item = json_pack("{s:s, s:o, s:o}", "role", m->role, "content",
	    exprow_text(m->content), "id", exprow_text(m->id))) == NULL)
		return NULL;
	if (strcmp(m->role, "agent") == 0)
		exprow_oset(item, "name", exprow_text(m->name), &err);
	/* The widget's id of a message it sent: it was stored. */
	if (m->client_id[0] != '\0')
		exprow_oset(item, "cid", json_string(m->client_id), &err);
	if (strcmp(m->role, "assistant") == 0) {
		exprow_oset(item, "feedback", fb != NULL ? json_string(fb) :
		    json_null(), &err);
		exprow_oset(item, "status", exprow_text(m->status), &err);
		/* The knowledge it cites, as the answer had it live. */
		if ((src = admin_cited_json(m)) != NULL)
			exprow_oset(item, "sources", src, &err);
	}
	/* Files, the visitor's or a person's: links through widget wid. */
	if (m->natts > 0)
		exprow_oset(item, "attachments", att_json(m->atts, m->natts,
		    wid, NULL, proto_wall_ms()), &err);
	return exprow_odone(item, err);
}

/* The history replayed to a resumed session. NULL out of memory. */
static json_t *
history_json(const struct st_msg *h, uint32_t n, const char *wid)
{
	json_t *arr = json_array(), *item;
	uint32_t i;

	for (i = 0; i < n && arr != NULL; i++) {
		item = history_item(&h[i], wid);
		if (item == NULL || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* A count said no: 429 with Retry-After before the 101, and s is gone. */
static void
refuse_limited(struct wsess *s, uint64_t retry_ms, const char *msg)
{
	char hdr[64 + sizeof(JSON_HEADERS)];
	struct conn *c;

	resp_retry_after(hdr, sizeof(hdr), retry_ms, JSON_HEADERS);
	if ((c = wsess_detach(s)) != NULL)
		conn_send_error(c, 429, hdr, msg);
	wsess_free(s);
}

/*
 * ST_WS_OPEN's LIMITED (which hit, its retry): the upgrade's count
 * refuses it before the 101; a resume's too, or closes the socket a
 * resume message came on.
 */
static void
open_limited(struct wsess *s, const struct st_ws_limited *l)
{
	if (l->which >= s->nhits) {
		log_warnx("wschat: malformed ST_WS_OPEN reply");
		open_refuse(s, 500, "Internal server error");
	} else if (s->hits[l->which] == HIT_UPGRADE)
		refuse_limited(s, l->retry_ms, "Too many requests");
	else if (s->ws != NULL)
		open_refuse(s, 429, "too many reconnects");
	else
		refuse_limited(s, l->retry_ms,
		    "Too many reconnects, try again later");
}

/*
 * ST_WS_OPEN's OK: the socket (upgraded now, unless a resume message
 * came on it) hears "session", and "history" when its token's session
 * was resumed.
 */
static void
open_ok(struct wsess *s, const struct st_ws_open_ok *ok)
{
	struct conn *c;
	json_t *hist, *session;
	int resumed = ok->resumed;

	if ((hist = history_json(ok->history, ok->nhistory, s->wid)) == NULL) {
		log_warnx("wschat: cannot build the history");
		open_refuse(s, 500, "Internal server error");
		return;
	}
	s->handoff_enabled = ok->widget.handoff_enabled != 0;
	s->lang = vtext_lang(ok->widget.language, s->accepted);
	/* The widget's thumbs and rating (issue 26), as last read. */
	s->fb.feedback_enabled = ok->widget.feedback_enabled != 0;
	s->fb.rating_enabled = ok->widget.rating_enabled != 0;
	s->contact_submitted = ok->contact_submitted != 0;
	s->contact_form = ok->widget.contact_mode != ST_CONTACT_NONE &&
	    (ok->widget.collect_name || ok->widget.collect_email ||
	    ok->widget.collect_phone);
	wsident_open(&s->ident, &ok->widget);
	if (!resumed || !s->has_token) {
		strlcpy(s->token, s->new_token, sizeof(s->token));
		memcpy(s->hash, s->new_hash, sizeof(s->hash));
		s->has_token = 0;
		resumed = 0;
	}
	s->stored = resumed;	/* a new visitor's is stored lazily */
	if (s->ws == NULL) {
		c = wsess_detach(s);
		if (c == NULL || (s->ws = ws_accept(c, c->req, &ws_callbacks,
		    s)) == NULL) {
			json_decref(hist);
			wsess_free(s);
			return;
		}
	}
	session = json_pack("{s:s, s:s, s:b}", "type", "session",
	    "session_token", s->token, "contact_info_submitted",
	    s->contact_submitted);
	/* The answer to a resume message says how it went. */
	if (s->resuming && session != NULL)
		json_object_set_new(session, "resumed", json_boolean(resumed));
	if (resumed && ok->conv_id[0] != '\0')
		wsess_set_conv(s, ok->conv_id);
	/* One to open besides its current: the widget shows "Earlier". */
	if (resumed && ok->earlier && session != NULL)
		json_object_set_new(session, "earlier", json_true());
	/*
	 * A resumed conversation's handoff state, and who answers it: none
	 * for a session without one yet (the visitor knows no state, as a
	 * new one's).
	 */
	if (resumed && session != NULL && ok->conv_id[0] != '\0' &&
	    st_handoff_name(ok->handoff) != NULL) {
		s->handoff = ok->handoff;
		json_object_set_new(session, "handoff",
		    json_string(st_handoff_name(ok->handoff)));
		if (ok->handoff_name[0] != '\0')
			json_object_set_new(session, "handoff_name",
			    exprow_text(ok->handoff_name));
	}
	s->resuming = 0;
	wsend(s, session);
	if (resumed)
		wsend_history(s, hist, ok->more != 0, ok->conv_id, 0);
	else
		json_decref(hist);
	if (s->handoff_enabled)
		wsend(s, widget_avail_json(&ok->widget, ok->staffed,
		    "availability", vtext(s->lang, VT_AWAY)));
}

/* ST_WS_OPEN -> struct st_ws_open_rep */
static void
open_done(const struct storec_result *r, void *arg)
{
	static const struct storec_answer none[] = { { 0, 0, NULL } };
	struct wsess *s = arg;
	struct st_ws_open_rep rep;
	const char *msg;
	int status;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, none, "wschat", &msg);
		open_refuse(s, status, msg);
		return;
	}
	if (storec_decode(r, PROTO_ST_WS_OPEN, &rep) < 0) {
		open_refuse(s, 500, "Internal server error");
		return;
	}
	switch (rep.result) {
	case ST_WS_NO_WIDGET:
		open_refuse(s, 404, "Widget not found");
		break;
	case ST_WS_ORIGIN:
		setup_note(ST_SETUP_ORIGIN, s->wid, s->origin);
		open_refuse(s, 403, "Origin not allowed");
		break;
	case ST_WS_LIMITED:
		open_limited(s, &rep.limited);
		break;
	case ST_WS_OK:
		open_ok(s, &rep.ok);
		break;
	default:
		log_warnx("wschat: malformed ST_WS_OPEN reply");
		open_refuse(s, 500, "Internal server error");
		break;
	}
	st_rep_free(PROTO_ST_WS_OPEN, &rep);
}

/* ST_WS_OPEN: the widget, the Origin, the session. */
static void
open_send(struct wsess *s)
{
	struct st_rate_hit h[ST_WS_OPEN_HITS_MAX];
	struct st_ws_open_req req = {
		.widget_id = s->wid,
		.origin = s->origin,
		.token_len = s->has_token ? sizeof(s->hash) : 0,
		.new_hash_len = sizeof(s->new_hash),
		.idle_ms = idle_ms(),
		.history_max = SHOWN_HISTORY,
		.hits = h,
	};

	/*
	 * Counted inside it, in one round trip: every upgrade (once), then
	 * a token's resume (charged the history it reads: RESUME_KIB_MAX per
	 * RESUME_WINDOW_MS, per client), so that looping resumes cost
	 * storaged a counter, not a history read.
	 */
	s->nhits = 0;
	if (s->upgrade_key[0] != '\0') {
		strlcpy(h[s->nhits].key, s->upgrade_key, sizeof(h[0].key));
		h[s->nhits].window_ms = wsettings.rate_window_ms;
		h[s->nhits].max = wsettings.rate_max;
		s->hits[s->nhits++] = HIT_UPGRADE;
		s->upgrade_key[0] = '\0';
	}
	if (s->has_token || s->resuming) {
		strlcpy(h[s->nhits].key, s->resume_key, sizeof(h[0].key));
		h[s->nhits].window_ms = RESUME_WINDOW_MS;
		h[s->nhits].max = RESUME_KIB_MAX;
		s->hits[s->nhits++] = HIT_RESUME;
		req.history_hit = (uint8_t)s->nhits;
	}
	memcpy(req.token, s->hash, sizeof(req.token));
	memcpy(req.new_hash, s->new_hash, sizeof(req.new_hash));
	req.nhits = s->nhits;
	if (storec_ask(NULL, PROTO_ST_WS_OPEN, &req, open_done, s,
	    &s->sreq) < 0)
		open_refuse(s, 503, "Storage unavailable");
}


/* ------------------------------------------------- for wsconvs.c */

void
wschat_io(struct wsess *s, struct wsess_io *io)
{
	io->wid = s->wid;
	io->hash = s->hash;
	io->origin = s->origin;
	io->stored = s->stored;
	io->resuming = s->resuming;
	io->busy = s->turn != NULL || !STAILQ_EMPTY(&s->held);
	io->cv = &s->convs;
	io->convs_key = s->convs_key;
}

void
wschat_send_error(struct wsess *s, enum wsmsg_type to, const char *msg)
{
	wsend_error(s, to, msg);
}

void
wschat_say(struct wsess *s, enum wsmsg_type to, enum vtext_id id)
{
	wsend_say(s, to, id);
}

int
wschat_gone(struct wsess *s, int result)
{
	return s->ws != NULL && ws_gone(s, result);
}

int
wschat_refused(struct wsess *s, enum wsmsg_type to, int result)
{
	return wschat_gone(s, result) || (s->ws != NULL &&
	    ws_identity_refused(s, to, result));
}

/*
 * The socket's conversation is no longer its session's: its events stop
 * coming, and the next one starts with the assistant (the visitor hears
 * "ai" when it knew another state).
 */
const char *
wschat_conv_left(struct wsess *s, const char *ended)
{
	if (s->conv[0] != '\0')
		LIST_REMOVE(s, conv_entry);
	/*
	 * Still the visitor's to rate (wsfeedback.c): the one storaged
	 * ended, which the socket need not know (begun on another tab).
	 */
	if (ended[0] != '\0' || s->conv[0] != '\0')
		strlcpy(s->ended, ended[0] != '\0' ? ended : s->conv,
		    sizeof(s->ended));
	s->conv[0] = '\0';
	s->answer = 0;
	s->pend_handoff = HANDOFF_UNKNOWN;
	if (s->handoff != HANDOFF_UNKNOWN)
		wsend_handoff(s, ST_HANDOFF_AI, NULL);
	s->handoff = ST_HANDOFF_AI;
	return s->ended;
}

void
wschat_send_history(struct wsess *s, const struct st_msg *h, uint32_t n,
    int more, const char *conv_id, int readonly)
{
	json_t *hist;

	if ((hist = history_json(h, n, s->wid)) == NULL) {
		wsend_say(s, WSMSG_CONV_OPEN, VT_WRONG);
		return;
	}
	wsend_history(s, hist, more, conv_id != NULL ? conv_id : "",
	    readonly);
}

void
wschat_upgrade(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *wid = m->param[0], *why, *origin;
	char token[TOKEN_LEN + 2];
	struct clientcap *cap;
	struct wsess *s;
	int status;

	if (!widget_id_valid(wid)) {
		conn_send_error(c, 404, JSON_HEADERS, "Widget not found");
		return;
	}
	if ((status = ws_check_upgrade(req, &why)) != 0) {
		conn_send_error(c, status, status == 426 ?
		    "Sec-WebSocket-Version: 13\r\n" JSON_HEADERS : JSON_HEADERS,
		    why);
		return;
	}
	/*
	 * storaged's requests carry the origin whole (a widget's allowed
	 * origins are compared with it): a longer one would make every
	 * message of the socket fail, uncounted by its rate limit.
	 */
	origin = http_header(req, "origin");
	if (origin != NULL && strlen(origin) > ST_ORIGIN_MAX) {
		conn_send_error(c, 403, JSON_HEADERS, "Origin too long");
		return;
	}
	if (clientcap_ws_take(c, req, &cap) != 0) {
		conn_send_error(c, 429, JSON_HEADERS, "Too many WebSockets");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("wschat");
		clientcap_put(cap);
		conn_send_error(c, 500, JSON_HEADERS, "Internal server error");
		return;
	}
	s->cap = cap;
	s->handoff = HANDOFF_UNKNOWN;
	STAILQ_INIT(&s->held);
	loop_defer_init(&s->held_defer, held_run, s);
	loop_defer_init(&s->handoff_defer, handoff_run, s);
	loop_defer_init(&s->quit_defer, quit_run, s);
	s->pend_handoff = HANDOFF_UNKNOWN;
	wsfb_init(&s->fb, s, s->wid, s->hash, s->conv, s->ended,
	    &s->resuming, s->fb_key);
	LIST_INSERT_HEAD(&sessions, s, entry);
	strlcpy(s->wid, wid, sizeof(s->wid));
	/* A malformed token is no token: the visitor gets a new session. */
	s->token_given = http_query_param(req->query, "token", NULL, 0) == 1;
	if (http_query_param(req->query, "token", token, sizeof(token)) == 1 &&
	    token_valid(token)) {
		strlcpy(s->token, token, sizeof(s->token));
		token_hash(s->token, s->hash);
		s->has_token = 1;
	}
	token_new(s->new_token);
	token_hash(s->new_token, s->new_hash);
	clientip_key(c, req, "ip:", s->rate_key, sizeof(s->rate_key));
	clientip_key(c, req, "resume:", s->resume_key, sizeof(s->resume_key));
	clientip_key(c, req, "convs:", s->convs_key, sizeof(s->convs_key));
	if (wsettings.rate_max != 0)
		clientip_key(c, req, FB_PREFIX, s->fb_key, sizeof(s->fb_key));
	s->accepted = vtext_accept(http_header(req, "accept-language"));
	s->lang = s->accepted;
	strlcpy(s->origin, origin != NULL ? origin : "", sizeof(s->origin));
	/* Every upgrade counts, in a count of its own beside the messages'. */
	if (wsettings.rate_max != 0)
		clientip_key(c, req, UPGRADE_PREFIX, s->upgrade_key,
		    sizeof(s->upgrade_key));
	s->c = c;
	c->hctx = s;
	c->abort = wschat_abort;
	open_send(s);
}
