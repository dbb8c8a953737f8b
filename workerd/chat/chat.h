/*
 * The chat turn's front ends (chat/; the turn itself is turn.h's): the
 * HTTP chat endpoints (chat.c) and the widget's WebSocket: its frames
 * (wsmsg.c, wsframes.c), its socket (wschat.c) and the socket's add-ons
 * (wsfeedback.c, wsidentity.c, wsconvs.c); and the turn with no client
 * that answers a conversation handed back unanswered (answerlast.c).
 */
#ifndef PARLEY_CHAT_H
#define PARLEY_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "stmsgs.h"
#include "vtext.h"
#include "workerd.h"

/* ---------------------------------------------------------------- chat.c */

#define CHAT_MESSAGE_MAX	4000	/* UTF-16 code units, as JavaScript counts */
#define CHAT_SESSION_MAX	128
#define CHAT_OUT_HIGH		(64 * 1024)	/* pause the model above this */
#define CHAT_HISTORY_LIMIT	100	/* messages GET /v1/chat/history returns */
#define CHAT_EMPTY_REPLY	"I could not generate a response right now."
#define CHAT_DETAILS_MAX	256
/* The default widget's refusals of an HTTP turn (403, 429). */
#define CHAT_DISABLED_TEXT	"This chat is disabled."
/* storaged refused the uploads a message names (400; the widget's error). */
#define CHAT_ATTS_REFUSED	"attachments: each an upload of this " \
				"session, whole and named once; a " \
				"conversation holds at most 50 files"

enum chat_body {
	CHAT_BODY_OK,
	CHAT_BODY_MALFORMED,	/* not JSON: 400 "Invalid JSON body" */
	CHAT_BODY_INVALID,	/* 400 "Invalid request payload" + details */
};

struct chat_input {
	char session[CHAT_SESSION_MAX + 1];
	char *message;		/* malloc'd, valid UTF-8, no NUL; "" with files */
	struct st_visitor visitor;	/* the body's "visitor" (issue 24) */
	/* The uploads the message names (docs/attachments.md): atts[i].s ids[i] */
	struct st_str atts[ST_MSG_ATTS_MAX];
	char ids[ST_MSG_ATTS_MAX][ST_ATT_ID_LEN + 1];
	uint32_t natts;
};
/*
 * The widget's account of its visitor (issue 24) from JSON object o
 * ({pageUrl, referrer, userAgent, language, timeZone}; anything else is
 * nothing): each string kept when st_visitor_clean keeps it. Never an
 * error: what is wrong is dropped. st_visitor_free after.
 */
void chat_visitor_parse(json_t *o, struct st_visitor *v);

/* key NULL or "": the chat endpoints answer 503. */
void chat_init(const char *widget_key);
void chat_shutdown(void);
/* 0 authorised (x-api-key, else x-widget-api-key); else 401 or 503. */
int chat_auth(const struct http_request *);
#define CHAT_NO_KEY_TEXT	"WIDGET_API_KEY is not configured on this " \
				"deployment"
/* Not authorised (chat_auth): 401 or 503 answered with hdrs, 1; else 0. */
int chat_key_refused(struct conn *, struct http_request *, const char *hdrs);
/* ^[A-Za-z0-9._:-]{1,128}$ */
int chat_session_valid(const char *s, size_t len);
/*
 * The hash an API client's sessionId s uploads under (st_att_new_req's
 * api): apart from any widget session token's, whatever s is.
 */
void chat_session_hash(const char *s, uint8_t out[ST_TOKEN_HASH_LEN]);
/*
 * Checks a request body (ctype: its Content-Type, NULL if none; a UTF-8
 * byte order mark at its start ignored, as RFC 8259 allows). On
 * CHAT_BODY_OK in is filled (free with chat_input_free); otherwise
 * details says what is wrong, for non-production answers.
 */
enum chat_body chat_parse_body(const char *ctype, const char *body,
    size_t len, struct chat_input *in, char *details, size_t detailsz);
/*
 * The same with jansson alone. chat_parse_body reads the plain body
 * without it first and comes here for anything else; the fuzz target
 * tests/fuzz/chatbody/fuzz_chatbody.c checks that the two agree.
 */
enum chat_body chat_parse_body_json(const char *ctype, const char *body,
    size_t len, struct chat_input *in, char *details, size_t detailsz);
void chat_input_free(struct chat_input *);
/* Appends v as one NDJSON line (U+2028/2029 escaped). Steals v. -1 on error. */
int chat_ndjson(struct buf *, json_t *v);
/*
 * HTTP chat turns alive (also those whose client left and which still
 * store), and history or refused requests waiting for storaged; and the
 * answers to a conversation handed back (chat_answer_last).
 */
size_t chat_turns(void);

/* ----------------------------------------------------------- answerlast.c */

/*
 * Conversation conv_id (32 hex) was handed back to the assistant: its
 * visitor's last message, when it is unanswered and no turn is open for
 * it, is answered by the model now (ST_CHAT_ANSWER_LAST), the reply
 * stored and sent to the visitor's sockets as any turn's. Nothing when
 * there is nothing to answer; failures are logged.
 */
void chat_answer_last(const char *conv_id);
/* Those turns alive (chat_turns counts them). */
size_t chat_answer_turns(void);

/*
 * Appends text as valid UTF-8 without NUL (each bad byte becomes U+FFFD),
 * at most max bytes and never cutting a character. Returns the bytes of
 * text used; less than len when max was reached.
 */
size_t chat_utf8_append(struct buf *, const char *text, size_t len,
    size_t max);
/* Only white space (or nothing). */
int chat_blank(const char *, size_t);
/*
 * The end of s's text without its trailing (JavaScript) white space,
 * scanned from from on; visible: that end for s[0..from) (0 and 0: all).
 */
size_t chat_visible_end(const char *s, size_t len, size_t from,
    size_t visible);

/* The HTTP front ends of the chat turn (turn.h). */
void chat_post_v1(struct conn *, struct http_request *,
    const struct route_match *);
void chat_post_stream(struct conn *, struct http_request *,
    const struct route_match *);
void chat_get_history(struct conn *, struct http_request *,
    const struct route_match *);

/* --------------------------------------------------------------- wsmsg.c */

enum wsmsg_type {
	WSMSG_INVALID, WSMSG_MESSAGE, WSMSG_CONTACT, WSMSG_RESUME,
	WSMSG_REQUEST_HUMAN, WSMSG_AVAILABILITY, WSMSG_VISITOR,
	WSMSG_IDENTIFY,
	WSMSG_FEEDBACK, WSMSG_RATING,
	/* issue 26, wsconvs.c */
	WSMSG_NEW_CONV, WSMSG_CONV_LIST, WSMSG_CONV_OPEN,
	WSMSG_CONFIRM, WSMSG_TOOLS, WSMSG_TOOL_RESULT,
};

/* A visitor's WebSocket message; the strings point into root. */
struct wsframe;
struct wsmsg {
	enum wsmsg_type type;
	const struct wsframe *frame;	/* its row of wsframes[]; NULL: INVALID */
	/*
	 * The kind its "type" names, kept when its fields are refused
	 * (the error answers it); WSMSG_INVALID: no frame's type.
	 */
	enum wsmsg_type asked;
	json_t *root;
	const char *content;	/* MESSAGE: 1..CHAT_MESSAGE_MAX characters */
	size_t content_len;
	/* MESSAGE: the uploads it names ("att_" ids); content may then be "" */
	struct st_str atts[ST_MSG_ATTS_MAX];
	uint32_t natts;
	/*
	 * MESSAGE: the widget's id of it ("" none), given back in the history
	 * (a message whose answer was lost with its socket: stored or not)
	 */
	const char *cid;
	/* CONTACT, IDENTIFY (name, email): "" when not given */
	const char *name, *email, *phone;
	const char *token;	/* RESUME: "" when not given, else unchecked */
	/*
	 * IDENTIFY: 1..ST_EXTERNAL_ID_MAX characters; the hash and the
	 * email's (email_hash, "" when not given) unchecked
	 */
	const char *ext_id, *hash, *email_hash;
	/*
	 * IDENTIFY: the hash's expiry, Unix seconds, 1..ST_IDENTITY_EXPIRES_MAX
	 * (its expiring form); 0 when not given (the plain form)
	 */
	uint64_t expires;
	struct st_visitor visitor;	/* VISITOR: chat_visitor_parse's, owned */
	const char *msg_id;	/* FEEDBACK: 32 lowercase hex */
	uint8_t value;		/* FEEDBACK: enum st_feedback */
	uint8_t score;		/* RATING: 1-5 */
	const char *comment;	/* RATING: <= ST_RATING_COMMENT_CHARS characters */
	/*
	 * CONV_OPEN: a string, else unchecked; RATING: 32 lowercase hex, or
	 * NULL when not given
	 */
	const char *conv_id;
	const char *call_id;	/* CONFIRM, TOOL_RESULT: 1..64 bytes */
	uint8_t yes;		/* CONFIRM: the answer; TOOL_RESULT: not an error */
	json_t *tools;		/* TOOLS: any JSON (tools_page_check judges) */
	const char *result;	/* TOOL_RESULT: the answer or the error's text */
	char error[96];		/* INVALID: what to tell the visitor */
};

/*
 * The frame's row of wsframes[] (its "type"), then its fields by the row's
 * parser: 0, or -1 with m->error set. Either way, wsmsg_free(m) after.
 */
int wsmsg_parse(const char *text, size_t len, struct wsmsg *m);
void wsmsg_free(struct wsmsg *m);
/* m fails with what (the visitor's error text): -1. */
int wsmsg_fail(struct wsmsg *m, const char *what);
/* The rows' parsers (m->root read into m's fields): 0, or -1 refused. */
int wsmsg_parse_message(struct wsmsg *m);
int wsmsg_parse_contact(struct wsmsg *m);
int wsmsg_parse_resume(struct wsmsg *m);
int wsmsg_parse_visitor(struct wsmsg *m);
int wsmsg_parse_identify(struct wsmsg *m);

/* ------------------------------------------------------------ wsframes.c */

struct wsess;
/* How a frame is bounded, beyond the socket's frame size. */
enum wsframe_bound {
	WSF_CLIENT,	/* the client's rate limit, counted by storaged */
	WSF_SOCKET,	/* a count a minute (or a socket) on the socket */
	WSF_FIRST,	/* only as the socket's first frame */
	WSF_KEPT,	/* nothing stored: kept, replaced by the next */
};
/* One frame the visitor may send (docs/widget-protocol.md). */
struct wsframe {
	const char *type;		/* its "type" */
	enum wsmsg_type msg;
	int (*parse)(struct wsmsg *);	/* its fields; NULL: none */
	void (*answer)(struct wsess *, struct wsmsg *);
	/*
	 * It writes: refused with "Identity required" on an
	 * identity_required widget until the socket's identify is verified.
	 */
	uint8_t stores;
	uint16_t st;			/* the storaged message it asks, 0 none */
	enum wsframe_bound bound;
};
/* The table; the row of "type" type, NULL when none. */
extern const struct wsframe wsframes[];
const struct wsframe *wsframe_find(const char *type);
/* The "type" of frames of kind t; NULL for WSMSG_INVALID. */
const char *wsframe_type(enum wsmsg_type t);

/* ----------------------------------------------------------- wsfeedback.c */

/*
 * Feedback (issue 26, docs/widget-protocol.md "Feedback"): the visitor's
 * "feedback" (a thumb on an answer) and "rating" frames, each checked
 * (wsfb_parse_*), stored with one storaged request at a time per socket
 * (ST_WS_FEEDBACK, ST_WS_RATING), counted in a per-socket rate and in
 * the client's ("fb:" key, ST_RATE_HIT, the messages' limit), and
 * answered "feedback_saved" / "rating_saved"; and "rating_request" when a
 * person hands the conversation back to the assistant.
 */
struct wsess;
struct wsfb {
	struct wsess *s;		/* the socket's (wschat_send) */
	const char *wid;		/* its public widget id */
	const uint8_t *hash;		/* its session token's hash */
	const char *conv;		/* its conversation, "" unknown */
	const char *ended;		/* the one it left (new_conversation) */
	const int *resuming;		/* its resume is in flight */
	const char *rate_key;		/* its client's feedback count */
	struct storec_req *req;		/* in flight */
	enum wsmsg_type pend_type;	/* WSMSG_FEEDBACK or WSMSG_RATING */
	char pend_id[ST_ID_HEX + 1];	/* its message id, value, score */
	uint8_t pend_value, pend_score;
	char pend_conv[ST_ID_HEX + 1];	/* the rating's named, "" none */
	char pend_comment[ST_RATING_COMMENT_MAX + 1];
	uint64_t window;		/* when this minute of frames began */
	unsigned int asks;		/* frames in that minute */
	int feedback_enabled;		/* the widget's settings */
	int rating_enabled;
};
/*
 * f of socket s; the pointers are s's own fields, read when needed
 * (rate_key: "fb:" and the client, "" when nothing is counted).
 */
void wsfb_init(struct wsfb *f, struct wsess *s, const char *wid,
    const uint8_t *hash, const char *conv, const char *ended,
    const int *resuming, const char *rate_key);
/* Cancels what is in flight. */
void wsfb_free(struct wsfb *f);
/* WSMSG_FEEDBACK, WSMSG_RATING: checked by wsmsg_parse, stored, answered. */
void wsfb_frame(struct wsfb *f, const struct wsmsg *m);
/* The handoff state goes from old to state: "rating_request" when handed back. */
void wsfb_handoff(struct wsfb *f, int old, int state);
/* wsmsg_parse's part: type "feedback" or "rating" (m->root read): 0 or -1. */
int wsfb_parse_feedback(struct wsmsg *m);
/* CONFIRM: "id" a string of 1-64 bytes, "ok" a boolean. */
int wsmsg_parse_confirm(struct wsmsg *m);
/* TOOLS: "tools" present (its shape is tools_page_check's). */
int wsmsg_parse_tools(struct wsmsg *m);
/* TOOL_RESULT: "id" as CONFIRM's, and "result" or "error" a string. */
int wsmsg_parse_tool_result(struct wsmsg *m);
int wsfb_parse_rating(struct wsmsg *m);

/* ---------------------------------------------------------- wsidentity.c */

struct wsess;

/* A socket's verified identity (issue 26; docs/widget-protocol.md). */
struct wsident {
	uint8_t required;	/* the widget's identity_required */
	uint8_t verified;	/* this socket's identify was verified */
	/*
	 * Its session is a verified user's whom its page's last identify
	 * did not prove (another id: taken; a failed identify of a socket
	 * verified before): refused here on an identity_required widget
	 * until an identify verifies, as storaged takes the session's.
	 */
	uint8_t disowned;
	/* The identify's external id: kept once verified. */
	char *external_id;
	/* Its email: kept once verified by a signature of its own, else NULL. */
	char *email;
	/*
	 * The identify in flight's id and signed email: they become the
	 * socket's (external_id, email) only once storaged verifies them.
	 */
	char *pend_id, *pend_email;
	uint8_t email_signed;	/* the last identify asked had an email_hash */
	unsigned int asks;	/* identify frames on this socket */
	uint64_t refused_at;	/* storaged's last refusal (loop_now), 0 none */
	struct wsess *s;	/* the socket, while req is in flight */
	struct storec_req *req;	/* ST_WS_IDENTIFY in flight */
};

/* The widget's rule (ST_WS_OPEN's widget): unverified until identify. */
void wsident_open(struct wsident *, const struct st_widget *);
/*
 * 1 when frame f (one that stores, wsframes[]'s stores) must be refused
 * by the socket with "Identity required": the widget requires an
 * identity and this socket's is not verified. A disowned socket's are all
 * refused here; otherwise a message goes to storaged
 * all the same, at most once a WSIDENT_RECHECK_MS after its last refusal:
 * its begin checks the widget as it is now, so a socket whose widget no
 * longer requires one learns so (wsident_lapsed).
 */
int wsident_refuses(const struct wsident *, const struct wsframe *f);
/*
 * storaged found the socket's session not a verified visitor's (its
 * widget's secret changed or went since the identify): the socket is
 * unverified again, and may identify anew.
 */
void wsident_revoke(struct wsident *);
/*
 * storaged found the socket's session an unverified visitor's, on a
 * widget that requires one (required 1: it refused the write) or not (0:
 * it took the message): the socket's verification, if it had one, goes
 * (wsident_revoke) and the page is told,
 * {"type":"identity","verified":false,"required":bool}, so its state is
 * the server's and it may identify again; a socket that was not
 * verified and already knew required is told nothing.
 */
void wsident_lapsed(struct wsident *, struct wsess *, int required);
/*
 * {"type":"identify"} of socket s (widget wid, session token hash):
 * ST_WS_IDENTIFY, answered with {"type":"identity","verified","required"}.
 * At most WSIDENT_ASKS_MAX a socket, one at a time (else an error). Sent
 * again on a verified socket: the same id, signed, is answered as the
 * first time; another id ends the socket's verified identity at once, and
 * any answer of verified false leaves the socket unverified (its actions
 * get no earlier user's id or email).
 */
void wsident_identify(struct wsident *, struct wsess *s,
    const struct wsmsg *m, const char *wid, const uint8_t *token_hash);
/* Cancels the request in flight (the socket goes); its fields freed. */
void wsident_free(struct wsident *);
/*
 * The verified identity's external id into v, and its email where the
 * page signed that too (else NULL: unsigned, the email is the page's
 * word), valid while the socket lives: 0; -1 when not verified.
 */
struct tpl_visitor;
int wsident_visitor(const struct wsident *, struct tpl_visitor *v);

/* -------------------------------------------------------------- wschat.c */

/*
 * GET /api/widget/{widget_id}/ws[?token=]: the Loquent widget protocol over
 * a WebSocket (docs/internals.md, "Widget chat over WebSocket").
 */
void wschat_upgrade(struct conn *, struct http_request *,
    const struct route_match *);
/* Hooks storaged's widget-gone events (after storec_init). */
void wschat_init(void);
/*
 * A visitor's session token (its session frame's, as sent back with an
 * upload) into its hash, as storaged keys the session: 0, or -1 when it
 * is no token's shape.
 */
int wschat_token_hash(const char *token, uint8_t out[ST_TOKEN_HASH_LEN]);
/* For a socket's add-ons (wsidentity.c, wsfeedback.c, wsconvs.c): o
 * (stolen) sent to s. */
void wschat_send(struct wsess *s, json_t *o);
/* For a socket's add-ons: s's session is stored now (made by storaged). */
void wschat_stored(struct wsess *s);
/* Turns alive, also those whose visitor left and which still store. */
size_t wschat_turns(void);
/*
 * The answer to conversation conv's last message (answerlast.c) began
 * on this worker: its sockets here show the assistant typing at once
 * (the others when storaged's ST_EV_ANSWERING reaches their worker),
 * and get its text as it streams (wschat_answer_token).
 */
void wschat_answer_begun(const char *conv);
/* Text of that answer its sockets here have not seen yet (len > 0). */
void wschat_answer_token(const char *conv, const char *text, size_t len);
/* Closes every session open on the public widget id (it is gone). */
void wschat_widget_gone(const char *widget_id);
/* wsframes[]'s answers of socket s's frame m, each its own "type". */
void wschat_on_message(struct wsess *s, struct wsmsg *m);
void wschat_on_contact(struct wsess *s, struct wsmsg *m);
void wschat_on_resume(struct wsess *s, struct wsmsg *m);
void wschat_on_request_human(struct wsess *s, struct wsmsg *m);
void wschat_on_availability(struct wsess *s, struct wsmsg *m);
void wschat_on_visitor(struct wsess *s, struct wsmsg *m);
void wschat_on_identify(struct wsess *s, struct wsmsg *m);
void wschat_on_feedback(struct wsess *s, struct wsmsg *m);
/* {"type":"confirm","id","ok"}: the visitor's answer (turn_confirm). */
void wschat_on_confirm(struct wsess *s, struct wsmsg *m);
/* {"type":"tools"}: the page's own tools, kept for the socket's turns. */
void wschat_on_tools(struct wsess *s, struct wsmsg *m);
/* {"type":"tool_result"}: a page tool's answer (turn_page_answer). */
void wschat_on_tool_result(struct wsess *s, struct wsmsg *m);

/* ------------------------------------------------------------- wsconvs.c */

/*
 * A visitor's conversations over the WebSocket (issue 26): a new one,
 * the list, an earlier one read-only. A socket's state: its request in
 * flight (one at a time) and this minute's count.
 */
struct wsconvs {
	struct storec_req *req;
	uint64_t window;		/* when this minute of asks began */
	unsigned int asks;
	/* A read waiting for the client's count (ST_RATE_HIT). */
	enum wsmsg_type pend_type;
	char pend_conv[ST_ID_HEX + 1];
};
/* open_conversation's id (a string, its form checked with it): 0 or -1. */
int wsconvs_parse_open(struct wsmsg *m);
/* Answers the frame m (new_conversation, conversations, open_conversation) of socket s. */
struct wsess;
void wsconvs_frame(struct wsess *s, struct wsmsg *m);
/* Forgets the request in flight (the socket goes). */
void wsconvs_free(struct wsconvs *);

/*
 * What wsconvs.c reads of wschat.c's socket s: its widget and token
 * hash, whether a session is stored, whether it waits for a resume or a
 * reply (busy), and its wsconvs.
 */
struct wsess_io {
	const char *wid;
	const uint8_t *hash;	/* ST_TOKEN_HASH_LEN bytes */
	/* Its Origin: every request of a frame that stores carries it. */
	const char *origin;
	int stored, resuming, busy;
	struct wsconvs *cv;
	const char *convs_key;	/* its client's count of these frames */
};
void wschat_io(struct wsess *s, struct wsess_io *io);
/*
 * Every "error" frame answers a frame of the visitor's, of kind to: its
 * "frame" is that one's type (none for WSMSG_INVALID, a frame of no
 * known type), so a client ends a streamed reply only on a message's.
 *
 * An error frame of text msg to s, a mistake of the page's: English.
 */
void wschat_send_error(struct wsess *s, enum wsmsg_type to, const char *msg);
/*
 * The visitor told text id (vtext.h) in the socket's language, as an
 * "error" frame with its code; with its wait (retry_ms) filled in.
 */
void wschat_say(struct wsess *s, enum wsmsg_type to, enum vtext_id id);
void wschat_say_wait(struct wsess *s, enum wsmsg_type to, enum vtext_id id,
    uint64_t retry_ms);
/*
 * A storaged result that ends the socket (NO_WIDGET, ORIGIN, NO_SESSION):
 * 1 closed.
 */
int wschat_gone(struct wsess *s, int result);
/*
 * wschat_gone's, or storaged's refusal of an unverified visitor's write
 * (IDENTITY: the widget takes verified visitors only since the socket
 * opened), told to the page (the error answering a frame of kind to).
 * 1 when either, else 0 (nothing done).
 */
int wschat_refused(struct wsess *s, enum wsmsg_type to, int result);
/*
 * s left its conversation (a new one starts with its next message);
 * ended: the one storaged ended ("" none), what a rating now rates.
 * Returns the conversation a rating now rates ("" none).
 */
const char *wschat_conv_left(struct wsess *s, const char *ended);
/*
 * The "history" frame of h (n, oldest first; more: older ones left out),
 * with conversation_id (NULL or "": null), and readonly when set: the
 * answer to open_conversation (its error, when it cannot be built).
 */
void wschat_send_history(struct wsess *s, const struct st_msg *h,
    uint32_t n, int more, const char *conv_id, int readonly);

#endif
