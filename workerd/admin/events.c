/*
 * GET /v1/admin/events: the store's events as Server-Sent Events, for the
 * dashboard (workerd/site/openapi.json, adminEvents):
 *
 *	retry: 2000
 *
 *	id: <32 hex digits: the event's epoch and seq, encrypted>
 *	event: conversation | conversation_deleted | message | handoff |
 *	       state | contact (events_data); ready | reset (a stream's own)
 *	data: {"conversation":{...}, ...}
 *
 * storaged numbers its events per run (epoch, seq) and keeps the newest in
 * a ring; a stream shows the pair encrypted under the ring's key
 * (events_id_make), since seq counts every organisation's events. While
 * this worker has clients it subscribes to every event (level 2,
 * storec_ev_level); it sends each one to every client, built
 * with the admin API's own JSON (admin_conv_json, admin_msg_json,
 * contact_json). A client starts once the subscription is confirmed:
 * with Last-Event-ID (the header, or ?last_event_id=) it is first sent
 * what it missed (ST_EV_SINCE), or "event: reset" when its own events
 * since left the ring (the others' leaving it does not reset it) or
 * storaged restarted since; without one it is sent an id line alone (no
 * event), so that its reconnect resumes from there.
 *
 * A comment ": ping" every EVENTS_PING_MS keeps proxies from closing an
 * idle stream. Each worker takes at most ADMIN_EVENTS_MAX_CLIENTS streams
 * (503 past it), ADMIN_EVENTS_MAX_PER_ORG of one organisation's and
 * ADMIN_EVENTS_MAX_PER_USER of one user's or organisation key's (429 past
 * them, naming the cap: one organisation cannot take every stream); a
 * client whose output backs up past EVENTS_OUT_MAX is closed (logged). When storaged comes back after a drop, events in
 * between are lost to the live streams: they are ended, and the browser
 * reconnects (retry) with its Last-Event-ID. The streams end cleanly when
 * the worker quits (events_quit).
 *
 * Away mode (issue 23): a stream of a signed-in dashboard (who asks a
 * dashboard session) is its organisation's team at the dashboard. When it
 * starts, and every presence_ms() while it lasts, storaged hears so
 * (ST_PRESENCE_SEEN, once per organisation a round): a widget is "away"
 * when none was seen for PARLEY_AWAY_AFTER_MS (storaged/presence.h).
 *
 * A client sees only its organisation's events (issue 22: its who asks's,
 * c->who.org), live and replayed: an event is its conversation's
 * organisation's (a conversation's org; none, as a contact's without a
 * conversation: the default one's).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "aesblock.h"
#include "agentmsg.h"
#include "log.h"
#include "widgetmsg.h"
#include "workerd.h"

#define EVENTS_CTYPE	"text/event-stream; charset=utf-8"
#define EVENTS_HEADERS	"Cache-Control: no-store, no-transform\r\n" \
			"X-Accel-Buffering: no\r\n"
#define EVENTS_RETRY	"retry: 2000\n\n"
#define EVENTS_PING	": ping\n\n"
#define EVENTS_RESET_DATA	"{}"

enum evc_state {
	EVC_WAIT,	/* until storaged confirmed level 2 */
	EVC_CATCHUP,	/* ST_EV_SINCE in flight */
	EVC_LIVE,
};

struct evclient {
	TAILQ_ENTRY(evclient) entry;
	struct conn *c;
	enum evc_state state;
	int resume;			/* a Last-Event-ID was given */
	/* The Last-Event-ID, read once the ring's key is known. */
	char resume_id[EVENTS_ID_LEN + 1];
	uint64_t epoch, seq;		/* the last event it has */
	struct storec_req *sreq;
	char org[ST_WHO_ORG_MAX + 1];	/* who asks's organisation */
	/* Whose streams it counts in (stream_owner); "" for none. */
	char owner[ST_WHO_ID_MAX + ST_WHO_USER_MAX + 4];
	struct credwatch watch;		/* its credential's end */
};

static TAILQ_HEAD(evclist, evclient) clients = TAILQ_HEAD_INITIALIZER(clients);
static size_t nclients;
static struct loop_timer ping_timer, linger_timer, presence_timer;
static int timers_ready;
static uint64_t ev_epoch, ev_seq;	/* the newest event seen at level 2 */
static uint8_t ev_key[ST_EV_KEY_LEN];	/* the ring's id key (level 2's) */
static struct buf evtext;		/* one event's text, reused */

static void client_since(struct evclient *);

/* ------------------------------------------------------------- pure */

int
events_id_make(const uint8_t key[ST_EV_KEY_LEN], uint64_t epoch,
    uint64_t seq, char out[EVENTS_ID_LEN + 1])
{
	uint8_t plain[16], block[16];

	proto_put_be64(plain, epoch);
	proto_put_be64(plain + 8, seq);
	if (proto_aes_block(key, plain, block, 1) < 0)
		return -1;
	proto_hex_encode(block, sizeof(block), out);
	return 0;
}

int
events_id_parse(const uint8_t key[ST_EV_KEY_LEN], const char *s,
    uint64_t *epoch, uint64_t *seq)
{
	uint8_t plain[16], block[16];

	/* proto_hex_decode takes exactly EVENTS_ID_LEN digits, then the end. */
	if (proto_hex_decode(s, block, sizeof(block)) < 0 ||
	    proto_aes_block(key, block, plain, 0) < 0)
		return -1;
	*epoch = proto_get_be64(plain);
	*seq = proto_get_be64(plain + 8);
	return 0;
}

json_t *
events_data(const struct st_event *ev, const char **name)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "conversation", admin_conv_json(&ev->conv), &err);
	switch (ev->kind) {
	case ST_EV_CONV_CREATED:
		*name = "conversation";
		break;
	case ST_EV_CONV_DELETED:
		*name = "conversation_deleted";
		break;
	case ST_EV_STATE:
		*name = "state";
		break;
	case ST_EV_MESSAGE:
		*name = "message";
		exprow_oset(o, "message", admin_msg_json(&ev->msg), &err);
		break;
	case ST_EV_HANDOFF:
		*name = "handoff";
		exprow_oset(o, "state", exprow_text(st_handoff_name(ev->state) ?
		    st_handoff_name(ev->state) : "ai"), &err);
		exprow_oset(o, "name", exprow_text(ev->name), &err);
		break;
	case ST_EV_CONTACT:
		*name = "contact";
		exprow_oset(o, "contact", contact_json(&ev->contact), &err);
		break;
	default:
		err = 1;
		break;
	}
	return exprow_odone(o, err);
}

int
events_format(struct buf *out, const struct st_event *ev,
    const uint8_t key[ST_EV_KEY_LEN])
{
	char id[EVENTS_ID_LEN + 1];
	const char *name = NULL;
	json_t *data;
	char *text;

	if (ev->kind == ST_EV_TYPING || ev->seq == 0)
		return 1;	/* the visitors' only; never in the ring */
	if (events_id_make(key, ev->epoch, ev->seq, id) < 0 ||
	    (data = events_data(ev, &name)) == NULL)
		return -1;
	text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (text == NULL)
		return -1;
	buf_addf(out, "id: %s\nevent: %s\ndata: %s\n\n", id, name, text);
	free(text);
	return out->err ? -1 : 0;
}

/* ---------------------------------------------------------- clients */

size_t
events_clients(void)
{
	return nclients;
}

static void
client_free(struct evclient *ec)
{
	if (ec->sreq != NULL)
		storec_cancel(ec->sreq);
	credwatch_stop(&ec->watch);
	TAILQ_REMOVE(&clients, ec, entry);
	nclients--;
	free(ec);
	if (nclients == 0) {
		loop_timer_stop(&ping_timer);
		loop_timer_stop(&presence_timer);
		/* A reload of the dashboard should not flap the level. */
		loop_timer_after(&linger_timer, EVENTS_LINGER_MS);
	}
}

/* The connection went away. */
static void
events_abort(struct conn *c)
{
	struct evclient *ec = c->hctx;

	if (ec != NULL) {
		c->hctx = NULL;
		client_free(ec);
	}
}

/* Lets go of the connection; the client is gone. */
static struct conn *
client_detach(struct evclient *ec)
{
	struct conn *c = ec->c;

	conn_let_go(c);
	client_free(ec);
	return c;
}

/* Ends the stream cleanly (its last chunk); the client reconnects. */
static void
client_end(struct evclient *ec)
{
	conn_stream_end(client_detach(ec));
}

/*
 * The credential that opened the stream ended (credwatch): checked once,
 * when it opened, the pings would keep it open for good; its reconnect
 * meets 401.
 */
static void
credential_over(void *arg)
{
	client_end(arg);
}

/* Writes text; a client that does not read is closed. 0, or -1 closed. */
static int
client_write(struct evclient *ec, const void *text, size_t len)
{
	conn_stream_write(ec->c, text, len);
	if (conn_out_pending(ec->c) <= EVENTS_OUT_MAX)
		return 0;
	log_warnx("events: a client is not reading (%zu bytes waiting): "
	    "closed", conn_out_pending(ec->c));
	conn_close(client_detach(ec), "events: not reading");
	return -1;
}

/* 1 when ev is ec's organisation's to see. */
static int
client_sees(const struct evclient *ec, const struct st_event *ev)
{
	const char *org = ev->conv.org[0] != '\0' ? ev->conv.org :
	    ST_WHO_ORG_DEFAULT;

	return strcmp(org, ec->org) == 0;
}

/* One event to one client, unless it has it already or is not its own. */
static int
client_event(struct evclient *ec, const struct st_event *ev,
    const struct buf *text)
{
	if (ec->epoch == ev->epoch && ev->seq <= ec->seq)
		return 0;
	if (!client_sees(ec, ev))
		return 0;
	ec->epoch = ev->epoch;
	ec->seq = ev->seq;
	return client_write(ec, text->data, text->len);
}

/*
 * Live from epoch-seq on, told by event (with the id, so that a
 * reconnect resumes): "ready", so that a new client loads what it shows
 * now, not before (whatever changed between its own load and this point
 * reaches it either way); "reset" when the events it asked for are gone.
 */
static void
client_live(struct evclient *ec, uint64_t epoch, uint64_t seq,
    const char *event)
{
	char line[96], id[EVENTS_ID_LEN + 1];

	ec->state = EVC_LIVE;
	ec->epoch = epoch;
	ec->seq = seq;
	if (events_id_make(ev_key, epoch, seq, id) < 0) {
		log_warnx("events: cannot make an event id");
		client_end(ec);
		return;
	}
	snprintf(line, sizeof(line), "id: %s\nevent: %s\ndata: "
	    EVENTS_RESET_DATA "\n\n", id, event);
	client_write(ec, line, strlen(line));
}

/*
 * The subscription is confirmed (the ring's key known): the client may
 * start. A Last-Event-ID that does not read resumes nothing: its events
 * are gone (reset).
 */
static void
client_begin(struct evclient *ec)
{
	if (!ec->resume) {
		client_live(ec, ev_epoch, ev_seq, "ready");
		return;
	}
	if (events_id_parse(ev_key, ec->resume_id, &ec->epoch,
	    &ec->seq) < 0) {
		ec->epoch = 0;
		ec->seq = UINT64_MAX;
	}
	client_since(ec);
}

/*
 * A catch-up stops writing once this much waits unread, and goes on once
 * the client has read it (a page may hold far more than the stream's
 * bound, EVENTS_OUT_MAX: it was closed as not reading, and again at each
 * reconnect).
 */
#define EVENTS_CATCHUP_HIGH	(EVENTS_OUT_MAX / 2)

/*
 * The events of a catch-up page to the client, its own sent, up to
 * EVENTS_CATCHUP_HIGH waiting: 0, or -1 when one does not decode (the
 * client ended) or the client was closed. The client is past every event
 * of the page it went through, its own or not: the next page starts
 * after the last (a page of other organisations' events alone was asked
 * again and again).
 */
static int
since_events(struct evclient *ec, const struct st_ev_since_rep *sr)
{
	struct st_event ev;
	uint32_t i;
	int rc;

	for (i = 0; i < sr->n; i++) {
		if (st_req_decode(PROTO_ST_EV, sr->events[i].p,
		    sr->events[i].len, &ev) < 0) {
			log_warnx("events: an ST_EV_SINCE event that does "
			    "not decode");
			client_end(ec);
			return -1;
		}
		evtext.len = evtext.off = 0;
		rc = events_format(&evtext, &ev, ev_key);
		if (rc == 0)
			rc = client_event(ec, &ev, &evtext);
		if (rc >= 0 && ev.epoch == ec->epoch && ev.seq > ec->seq)
			ec->seq = ev.seq;
		st_req_free(PROTO_ST_EV, &ev);
		if (rc < 0)
			return -1;	/* closed */
		if (conn_out_pending(ec->c) > EVENTS_CATCHUP_HIGH)
			break;		/* the rest when it has read */
	}
	return 0;
}

/* A catch-up waiting for its client to read: the next page. */
static void
since_drained(struct conn *c)
{
	struct evclient *ec = c->hctx;

	if (ec != NULL && ec->state == EVC_CATCHUP && ec->sreq == NULL)
		client_since(ec);
}

/*
 * ST_EV_SINCE's page of events after the client's last: sent, and the
 * next page asked for while the page ends before the ring's last (a
 * page is cut at ST_EV_SINCE_MAX events or at the reply's bytes, or
 * since_events stopped it for the client to read); an empty one leaves
 * nothing after it but forgotten events.
 */
static void
since_done(const struct storec_result *r, void *arg)
{
	struct evclient *ec = arg;
	struct st_ev_since_rep sr;
	int rc;

	if (r->status != STOREC_OK) {
		/* The browser tries again with the same Last-Event-ID. */
		log_warnx("events: ST_EV_SINCE failed: %s", storec_why(r));
		client_end(ec);
		return;
	}
	if (storec_decode(r, PROTO_ST_EV_SINCE, &sr) < 0) {
		client_end(ec);
		return;
	}
	if (sr.result != ST_EV_OK)
		client_live(ec, sr.epoch, sr.last_seq, "reset");
	else if ((rc = since_events(ec, &sr)) == 0 && sr.n > 0 &&
	    ec->seq < sr.last_seq) {
		/* The next page, once what waits unread is read. */
		if (conn_out_pending(ec->c) > EVENTS_CATCHUP_HIGH)
			conn_watch_drain(ec->c, since_drained);
		else
			client_since(ec);
	}
	else if (rc == 0) {
		ec->state = EVC_LIVE;
		if (ec->epoch != sr.epoch || ec->seq < sr.last_seq) {
			ec->epoch = sr.epoch;
			ec->seq = sr.last_seq;
		}
	}
	st_rep_free(PROTO_ST_EV_SINCE, &sr);
}

/* ST_EV_SINCE from the client's last event. */
static void
client_since(struct evclient *ec)
{
	struct st_ev_since_req since;

	ec->state = EVC_CATCHUP;
	since.epoch = ec->epoch;
	since.seq = ec->seq;
	since.max = ST_EV_SINCE_MAX;
	strlcpy(since.org, ec->org, sizeof(since.org));
	if (storec_ask(NULL, PROTO_ST_EV_SINCE, &since, since_done, ec,
	    &ec->sreq) < 0)
		client_end(ec);
}

/* ------------------------------------------------------------ events */

/* An event from storaged (every module gets it; ours are level 2's). */
static void
events_on_ev(uint16_t type, const uint8_t *payload, size_t len)
{
	struct evclient *ec, *next;
	struct st_event ev;
	struct pdec d;
	uint64_t epoch, seq;
	int rc;

	if (type != PROTO_ST_EV)
		return;
	/* The newest id, kept while nobody listens too (a new client's). */
	pdec_init(&d, payload, len);
	epoch = pdec_u64(&d);
	seq = pdec_u64(&d);
	if (!d.err && seq != 0 && (epoch != ev_epoch || seq > ev_seq)) {
		ev_epoch = epoch;
		ev_seq = seq;
	}
	if (nclients == 0)
		return;
	if (st_req_decode(type, payload, len, &ev) < 0) {
		log_warnx("events: malformed %s", proto_msg_name(type));
		return;
	}
	evtext.len = evtext.off = 0;
	if ((rc = events_format(&evtext, &ev, ev_key)) < 0)
		log_warnx("events: cannot encode an event");
	for (ec = TAILQ_FIRST(&clients); rc == 0 && ec != NULL; ec = next) {
		next = TAILQ_NEXT(ec, entry);
		if (ec->state == EVC_LIVE)
			(void)client_event(ec, &ev, &evtext);
	}
	st_req_free(type, &ev);
	/* Keep a buffer of everyday size, not the largest message's. */
	if (evtext.err || evtext.cap > 64 * 1024)
		buf_free(&evtext);
}

/* storaged confirmed a level. */
static void
events_subscribed(uint8_t level, uint64_t epoch, uint64_t last_seq,
    const uint8_t *id_key, int again)
{
	struct evclient *ec, *next;

	if (level != ST_EV_LEVEL_ALL)
		return;
	ev_epoch = epoch;
	ev_seq = last_seq;
	memcpy(ev_key, id_key, sizeof(ev_key));
	for (ec = TAILQ_FIRST(&clients); ec != NULL; ec = next) {
		next = TAILQ_NEXT(ec, entry);
		if (ec->state == EVC_WAIT)
			client_begin(ec);
		else if (again)
			client_end(ec);	/* it missed events: it resumes */
	}
}

static void
ping_tick(void *arg)
{
	struct evclient *ec, *next;

	for (ec = TAILQ_FIRST(&clients); ec != NULL; ec = next) {
		next = TAILQ_NEXT(ec, entry);
		(void)client_write(ec, EVENTS_PING, strlen(EVENTS_PING));
	}
	if (nclients > 0)
		loop_timer_after(&ping_timer, EVENTS_PING_MS);
}

/* ---------------------------------------------------------- presence */

/* How often a dashboard's stream says it is open: a quarter of the window, at most 30 s. */
static uint64_t
presence_ms(void)
{
	uint64_t q = wsettings.away_after_ms / 4;

	return q < 250 ? 250 : q > EVENTS_PRESENCE_MS ? EVENTS_PRESENCE_MS : q;
}

static void
presence_done(const struct storec_result *r, void *arg)
{
	if (r->status == STOREC_ERROR)
		log_warnx("events: ST_PRESENCE_SEEN: %s", r->message);
}

/* ec's organisation has a dashboard open: storaged hears it. */
static void
presence_tell(const struct evclient *ec)
{
	if (ec->c->who.kind == ST_WHO_SESSION)
		(void)storec_ask(&ec->c->who, PROTO_ST_PRESENCE_SEEN, NULL,
		    presence_done, NULL, NULL);
}

/*
 * Every dashboard's organisation, once: the ones told this round are
 * looked up among the clients before (at most EVENTS_PRESENCE_SEEN_MAX
 * back; past that an organisation may be told twice, which is harmless).
 */
static void
presence_tick(void *arg)
{
	const struct evclient *ec, *prev;
	int told, back;

	TAILQ_FOREACH(ec, &clients, entry) {
		if (ec->c->who.kind != ST_WHO_SESSION)
			continue;
		told = 0;
		back = 0;
		for (prev = TAILQ_PREV(ec, evclist, entry); prev != NULL &&
		    !told && back < EVENTS_PRESENCE_SEEN_MAX;
		    prev = TAILQ_PREV(prev, evclist, entry), back++)
			told = prev->c->who.kind == ST_WHO_SESSION &&
			    strcmp(prev->org, ec->org) == 0;
		if (!told)
			presence_tell(ec);
	}
	if (nclients > 0)
		loop_timer_after(&presence_timer, presence_ms());
}

/* No client for a while: back to the visitors' events. */
static void
linger_over(void *arg)
{
	if (nclients == 0)
		storec_ev_level(ST_EV_LEVEL_VISITOR);
}

void
events_quit(void)
{
	struct evclient *ec;

	while ((ec = TAILQ_FIRST(&clients)) != NULL)
		client_end(ec);
}

/* ----------------------------------------------------------- handler */

/*
 * Whose streams w's count in for ADMIN_EVENTS_MAX_PER_USER: a dashboard
 * session's user, an organisation key's id; "" for the install's key and
 * parleyctl, counted per organisation only.
 */
static void
stream_owner(const struct st_who *w, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (w->kind == ST_WHO_SESSION)
		snprintf(buf, sz, "u:%s", w->user[0] != '\0' ? w->user : w->id);
	else if (w->kind == ST_WHO_ORGKEY)
		snprintf(buf, sz, "k:%s", w->id);
}

/*
 * 0 when ec may open one more stream; else -1, c answered 429 naming the
 * cap its organisation's or its owner's streams reached.
 */
static int
streams_capped(struct conn *c, const struct evclient *ec)
{
	const struct evclient *o;
	uint32_t norg = 0, nowner = 0;
	char msg[96];

	TAILQ_FOREACH(o, &clients, entry) {
		norg += strcmp(o->org, ec->org) == 0;
		nowner += ec->owner[0] != '\0' &&
		    strcmp(o->owner, ec->owner) == 0;
	}
	if (norg >= wsettings.admin_events_org_max)
		snprintf(msg, sizeof(msg), "Too many live event streams for "
		    "this organisation (%" PRIu32 ")",
		    wsettings.admin_events_org_max);
	else if (nowner >= wsettings.admin_events_user_max)
		snprintf(msg, sizeof(msg), "Too many live event streams for "
		    "this user (%" PRIu32 ")", wsettings.admin_events_user_max);
	else
		return 0;
	conn_send_error(c, 429, "Retry-After: 5\r\nCache-Control: "
	    "no-store\r\n", msg);
	return -1;
}

/*
 * Last-Event-ID, else ?last_event_id=, kept for client_begin: 1 given
 * (maybe malformed: one too long is kept empty, which reads as none), 0
 * not.
 */
static int
last_id(struct http_request *req, struct evclient *ec)
{
	char v[64];
	const char *h = http_header(req, "last-event-id");

	if (h == NULL || *h == '\0') {
		if (req->query == NULL || http_query_param(req->query,
		    "last_event_id", v, sizeof(v)) != 1 || v[0] == '\0')
			return 0;
		h = v;
	}
	if (strlen(h) < sizeof(ec->resume_id))
		memcpy(ec->resume_id, h, strlen(h) + 1);
	return 1;
}

/*
 * The stream of who asks's organisation, known to exist, opened (or the
 * error answered): its head, then events once subscribed.
 */
static void
events_open(struct conn *c, struct http_request *req)
{
	struct evclient *ec;

	if (nclients >= wsettings.admin_events_max) {
		conn_send_error(c, 503, "Retry-After: 5\r\nCache-Control: "
		    "no-store\r\n", "Too many event streams");
		return;
	}
	if (!storec_connected()) {
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
		return;
	}
	if (c->head_only) {	/* HEAD: the head a stream would have */
		conn_send(c, 200, EVENTS_HEADERS, EVENTS_CTYPE, NULL, 0);
		return;
	}
	if ((ec = calloc(1, sizeof(*ec))) == NULL) {
		log_warn("events");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	strlcpy(ec->org, admin_who_org(&c->who), sizeof(ec->org));
	stream_owner(&c->who, ec->owner, sizeof(ec->owner));
	if (streams_capped(c, ec) < 0) {
		free(ec);
		return;
	}
	ec->resume = last_id(req, ec);
	http_request_slim(req);
	if (conn_stream_start(c, 200, EVENTS_HEADERS, EVENTS_CTYPE) < 0) {
		free(ec);
		return;
	}
	if (!timers_ready) {
		loop_timer_init(&ping_timer, ping_tick, NULL);
		loop_timer_init(&linger_timer, linger_over, NULL);
		loop_timer_init(&presence_timer, presence_tick, NULL);
		timers_ready = 1;
	}
	storec_on_event(events_on_ev);
	storec_on_subscribed(events_subscribed);
	ec->c = c;
	ec->state = EVC_WAIT;
	TAILQ_INSERT_TAIL(&clients, ec, entry);
	if (nclients++ == 0) {
		loop_timer_stop(&linger_timer);
		loop_timer_after(&ping_timer, EVENTS_PING_MS);
		loop_timer_after(&presence_timer, presence_ms());
	}
	presence_tell(ec);
	credwatch_start(&ec->watch, c, 0, credential_over, ec);
	c->hctx = ec;
	c->abort = events_abort;
	c->abort_on_eof = 1;
	conn_stream_write(c, EVENTS_RETRY, strlen(EVENTS_RETRY));
	storec_ev_level(ST_EV_LEVEL_ALL);
	if (storec_ev_level_confirmed() == ST_EV_LEVEL_ALL)
		client_begin(ec);
}

static const struct storec_answer org_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Organization not found" },
	{ 0, 0, NULL },
};

/* ST_ORG_GET -> the install key's organisation is there: the stream. */
static void
org_known(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;

	if (r->status == STOREC_OK)
		events_open(c, c->req);
	else
		admin_answer(c, r, PROTO_ST_ORG_GET, 200, NULL, org_errors);
}

void
events_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_id_req q = { .id = c->who.org };

	if (worker_quitting()) {
		conn_send_error(c, 503, admin_headers, "Shutting down");
		return;
	}
	/* A bad escape anywhere makes the query unreadable, as elsewhere. */
	if (req->query != NULL && http_query_param(req->query,
	    "last_event_id", NULL, 0) < 0) {
		admin_bad_query(c);
		return;
	}
	/*
	 * The install key names any organisation (x-organization-id or
	 * ?organization_id=): one that is not there has no stream, as it has
	 * no list (the others' own exists, or they could not sign in).
	 */
	if (c->who.kind == ST_WHO_KEY && c->who.org[0] != '\0' &&
	    strcmp(c->who.org, ST_WHO_ORG_DEFAULT) != 0) {
		admin_ask(c, PROTO_ST_ORG_GET, &q, org_known, admin_headers);
		return;
	}
	events_open(c, req);
}
