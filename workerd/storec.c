/*
 * The asynchronous client of parley-storaged: one connection, many
 * requests in flight, replies matched by request id.
 *
 * A call made while storaged is not connected (starting, or reconnecting
 * after a drop) waits for the connection, STOREC_WAIT_MS at most (its
 * payload kept, STOREC_MAX_QUEUED bytes of them at most), and completes
 * as unavailable past that; on disconnect every request in flight
 * completes as unavailable (it may have run);
 * a request that gets no reply within wconf.storage_timeout_ms completes
 * as unavailable too. Requests all have the same timeout, so the list in
 * issue order is also the list by deadline and one timer suffices. The
 * same timer retries the connection while storaged is away.
 *
 * A write whose outcome its caller must know (STOREC_F_OUTCOME: a chat
 * turn's question and reply), and any request storaged answered early
 * (it ran it; the disk flush is all that is left), is not timed out so:
 * storaged carries on with a request whatever the worker decided, so a
 * write failed on a timeout could be stored all the same (a question
 * told "not saved" stored with no answer ever; a reply told "not saved"
 * stored complete). Such a request waits while the connection lives,
 * three storage timeouts at most (STOREC_STUCK_MIN_MS at least), in a
 * list of its own, by deadline too. Past that storaged is taken to be stuck
 * and the connection is dropped: every request on it completes as
 * unavailable, and storaged, whenever it runs again, ends the chat turns
 * it had open on that connection as a lost worker's (lostturns.h), so
 * a question it did store is answered (interrupted), not left open.
 *
 * Requests are queued on the channel and written after the current batch
 * of events, so a burst goes out in one write and a callback can never
 * close the channel under the reply loop that called it.
 *
 * storaged also sends messages unasked (id 0, no reply flag): the widget
 * gone notice and the events (PROTO_ST_EV). Every callback registered
 * with storec_on_event gets each of them. Which events come is the
 * subscription's level (ST_EV_SUBSCRIBE), kept here: storec_ev_level
 * says what the worker wants, and it is asked for on every connection
 * (so after storaged restarts too) and whenever it changes.
 *
 * ST_EV_STORE_FAILED (storaged found its data directory removed or
 * replaced, and refuses every write) is kept here for /health while the
 * connection lasts: a storaged restarted on a new connection says it
 * again if it still applies.
 *
 * Where storaged is: a list of addresses (PARLEY_STORAGED: unix:/path,
 * tls://HOST:PORT), tried in turn, each failure moving to the next with
 * the backoff above (jittered, so the workers of several hosts do not
 * all come at once after a failover). A connection is usable once its
 * TLS handshake (if any) is done and storaged has said, unasked, that it
 * is the primary (ST_EV_ROLE, right after its HELLO): one that says
 * standby or fenced is left for the next address, the primary it names
 * first when it is in the list. A request answered PROTO_E_NOT_PRIMARY
 * (the primary stepped down meanwhile) completes as unavailable, and the
 * connection goes the same way. Each switch of primary is logged once.
 * A tls:// connection whose host vanished (cut off, so no reset ever
 * comes) errors out within the storage timeout (staddr_dead_after), and
 * the worker moves on to the next address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "dnslookup.h"
#include "log.h"
#include "msgtab.h"
#include "random.h"
#include "staddr.h"
#include "stmsgs.h"
#include "tlschan.h"
#include "workerd.h"

#define STOREC_BUCKETS		1024	/* power of two */
/* Reconnects: 10 ms after a drop, doubling to 250 ms while storaged is down. */
#define STOREC_RETRY_MIN_MS	10
#define STOREC_RETRY_MAX_MS	250
#define STOREC_ERRMSG_MAX	1024
/* Past this much unsent, storaged is not keeping up: fail fast instead. */
#define STOREC_MAX_QUEUED	(16u * 1024 * 1024)
#define STOREC_EVENT_CBS	4	/* modules that take unasked messages */
/* How long a request made while storaged is away waits for it. */
#define STOREC_WAIT_MS		2000
/*
 * How long a write whose outcome is wanted waits on a live connection:
 * STOREC_STUCK_TIMEOUTS storage timeouts, STOREC_STUCK_MIN_MS at least.
 */
#define STOREC_STUCK_TIMEOUTS	3
#define STOREC_STUCK_MIN_MS	10000

/*
 * SC_RESOLVING: an address's DNS name looked up off the loop (dnslookup.h).
 * SC_HELLO: connected; TLS's handshake, then storaged's role awaited.
 */
enum storec_state { SC_DOWN, SC_RESOLVING, SC_CONNECTING, SC_HELLO, SC_UP };

struct storec_req {
	TAILQ_ENTRY(storec_req) order;
	LIST_ENTRY(storec_req) hash;
	uint32_t id;
	uint16_t type;
	uint64_t deadline;
	storec_cb cb;
	void *arg;
	struct storec_req **handle;
	int early_ok;		/* asked for an early answer */
	int answered;		/* had it: the final reply is the empty confirmation */
	int outcome;		/* STOREC_F_OUTCOME: in sc_patient once sent */
	int patient;		/* in sc_patient, not sc_inflight */
	/* Waiting for a connection (sc_waiting): what to send then. */
	int waiting;
	uint16_t flags;
	uint8_t *payload;
	size_t len;
};

/* When storaged last sent anything (loop_now): said when requests time out. */
static uint64_t sc_heard;
static struct staddr sc_addrs[STADDR_LIST_MAX];
/* Each address's name lookup: one at a time, kept while one hangs. */
static struct dnslookup sc_lookups[STADDR_LIST_MAX];
static size_t sc_naddrs;
static size_t sc_cur;			/* the address tried or connected */
static int sc_next_pref = -1;		/* the next to try, if not sc_cur + 1 */
static int sc_primary = -1;		/* the last one that was primary */
static SSL_CTX *sc_tls;			/* for tls:// addresses */
/* The process our HELLO names: which requests storaged takes from us. */
static const char *sc_hello = WORKERD_NAME;
static int sc_not_primary;		/* a reply said so: move on */
static enum storec_state sc_state = SC_DOWN;
static struct pchan sc_ch;
static int sc_fd = -1;			/* while connecting */
static struct loop_io sc_io;
static struct loop_timer sc_timer;
static struct loop_defer sc_flush_defer;
static TAILQ_HEAD(storec_list, storec_req) sc_inflight =
    TAILQ_HEAD_INITIALIZER(sc_inflight);
/* Those that wait until storaged is stuck (STOREC_F_OUTCOME, answered early). */
static struct storec_list sc_patient = TAILQ_HEAD_INITIALIZER(sc_patient);
static uint32_t sc_stuck_min_ms = STOREC_STUCK_MIN_MS;	/* tests shorten it */
static LIST_HEAD(, storec_req) sc_hash[STOREC_BUCKETS];
/* Made while storaged was away, in order (so by deadline too). */
static TAILQ_HEAD(, storec_req) sc_waiting =
    TAILQ_HEAD_INITIALIZER(sc_waiting);
static size_t sc_waiting_bytes;
static void (*sc_on_up)(void);		/* storec_on_up */
static size_t sc_count;
static uint32_t sc_next_id;
static uint64_t sc_retry_at;		/* SC_DOWN: next attempt */
static uint32_t sc_retry_ms = STOREC_RETRY_MIN_MS;	/* the wait after it */
static uint64_t sc_connect_deadline;	/* SC_RESOLVING..SC_HELLO: give up then */
static int sc_down_logged;		/* this outage was logged */
static storec_event_cb sc_event[STOREC_EVENT_CBS];
static size_t sc_nevent;
/* The event subscription: wanted, and as storaged last confirmed it. */
static uint8_t sc_level_want;
static int sc_level_sent = -1;		/* -1: none on this connection */
static int sc_level_failed;		/* refused: not again on this connection */
static struct storec_req *sc_sub_req;	/* ST_EV_SUBSCRIBE in flight */
static unsigned int sc_conns;		/* connections made so far */
static unsigned int sc_sub_conn;	/* the one the last confirmation was on */
static int sc_ev_lost;			/* storaged dropped us: events were missed */
static storec_sub_cb sc_subscribed;
static int sc_store_failed;		/* ST_EV_STORE_FAILED on this connection */

static void storec_connect(void);
static void storec_io(int, uint32_t, void *);
static void storec_ev_sync(void);
void storec_set_stuck_ms(uint32_t);

void
storec_set_stuck_ms(uint32_t ms)
{
	sc_stuck_min_ms = ms;
}

/* How long a patient request waits (the timeout is 300 s at most). */
static uint32_t
storec_stuck_ms(void)
{
	uint32_t ms = STOREC_STUCK_TIMEOUTS * wconf.storage_timeout_ms;

	return ms > sc_stuck_min_ms ? ms : sc_stuck_min_ms;
}

void
storec_on_event(storec_event_cb cb)
{
	size_t i;

	for (i = 0; i < sc_nevent; i++)
		if (sc_event[i] == cb)
			return;
	if (sc_nevent == STOREC_EVENT_CBS)
		fatalx("storec: too many event callbacks");
	sc_event[sc_nevent++] = cb;
}

void
storec_on_subscribed(storec_sub_cb cb)
{
	sc_subscribed = cb;
}

void
storec_ev_level(uint8_t level)
{
	sc_level_want = level;
	storec_ev_sync();
}

int
storec_ev_level_confirmed(void)
{
	/* A change in flight: not known yet. */
	return sc_state == SC_UP && sc_sub_req == NULL ? sc_level_sent : -1;
}

/* ST_EV_SUBSCRIBE -> u64 epoch, u64 last_seq, bytes id key */
static void
storec_sub_done(const struct storec_result *r, void *arg)
{
	uint8_t level = (uint8_t)(uintptr_t)arg;
	struct st_ev_subscribe_rep rep;
	int again;

	if (r->status == STOREC_UNAVAILABLE)
		return;		/* the next connection asks again */
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_EV_SUBSCRIBE, &rep) < 0) {
		log_warnx("storaged: event subscription refused: %s",
		    r->status == STOREC_OK ? "malformed reply" : r->message);
		sc_level_failed = 1;
		return;
	}
	sc_level_sent = level;
	again = (sc_sub_conn != 0 && sc_sub_conn != sc_conns) || sc_ev_lost;
	sc_ev_lost = 0;
	sc_sub_conn = sc_conns;
	log_debug("storaged: events at level %u (epoch %016llx, seq %llu)",
	    level, (unsigned long long)rep.epoch,
	    (unsigned long long)rep.last_seq);
	if (sc_subscribed != NULL)
		sc_subscribed(level, rep.epoch, rep.last_seq, rep.id_key,
		    again);
	OPENSSL_cleanse(&rep, sizeof(rep));
	storec_ev_sync();	/* it may have changed meanwhile */
}

/* Asks storaged for the level wanted, once nothing else is asked. */
static void
storec_ev_sync(void)
{
	struct st_ev_subscribe_req req;

	if (sc_state != SC_UP || sc_sub_req != NULL || sc_level_failed ||
	    sc_level_sent == (int)sc_level_want ||
	    (sc_level_sent < 0 && sc_level_want == 0))
		return;
	req.level = sc_level_want;
	if (storec_ask(NULL, PROTO_ST_EV_SUBSCRIBE, &req, storec_sub_done,
	    (void *)(uintptr_t)sc_level_want, &sc_sub_req) < 0)
		log_warnx("storaged: cannot subscribe to events");
}

int
storec_connected(void)
{
	return sc_state == SC_UP;
}

uint64_t
storec_poll_ms(uint64_t ms)
{
	return SETTINGS_TEST_LOWER("PARLEY_TEST_POLL_MS", ms);
}

size_t
storec_inflight(void)
{
	return sc_count;
}

static struct storec_req *
storec_find(uint32_t id)
{
	struct storec_req *r;

	LIST_FOREACH(r, &sc_hash[id & (STOREC_BUCKETS - 1)], hash)
		if (r->id == id)
			return r;
	return NULL;
}

static void
storec_unlink(struct storec_req *r)
{
	TAILQ_REMOVE(r->patient ? &sc_patient : &sc_inflight, r, order);
	LIST_REMOVE(r, hash);
	sc_count--;
	if (r->handle != NULL)
		*r->handle = NULL;
}

/* Takes r out, then calls its callback: the callback may call again. */
static void
storec_complete(struct storec_req *r, const struct storec_result *res)
{
	storec_cb cb = r->cb;
	void *arg = r->arg;

	storec_unlink(r);
	free(r);
	cb(res, arg);
}

static void
storec_fail(struct storec_req *r)
{
	struct storec_result res;

	memset(&res, 0, sizeof(res));
	res.status = STOREC_UNAVAILABLE;
	res.message = "";
	storec_complete(r, &res);
}

/* Takes a waiting request out of sc_waiting; r stays allocated. */
static void
storec_wait_unlink(struct storec_req *r)
{
	TAILQ_REMOVE(&sc_waiting, r, order);
	sc_waiting_bytes -= r->len;
	free(r->payload);
	r->payload = NULL;
	r->waiting = 0;
	if (r->handle != NULL)
		*r->handle = NULL;
}

/* A waiting request whose wait is over: unavailable, as if sent and lost. */
static void
storec_wait_fail(struct storec_req *r)
{
	struct storec_result res;
	storec_cb cb = r->cb;
	void *arg = r->arg;

	storec_wait_unlink(r);
	free(r);
	memset(&res, 0, sizeof(res));
	res.status = STOREC_UNAVAILABLE;
	res.message = "";
	cb(&res, arg);
}

/*
 * The next connection attempt, at the next address (or the one a standby
 * named): soon after a drop, then less and less often, each wait between
 * half and all of the backoff.
 */
static void
storec_retry_later(void)
{
	uint32_t r;

	if (sc_next_pref >= 0)
		sc_cur = (size_t)sc_next_pref;
	else if (sc_naddrs > 0)
		sc_cur = (sc_cur + 1) % sc_naddrs;
	sc_next_pref = -1;
	proto_random(&r, sizeof(r));
	sc_retry_at = loop_now() + sc_retry_ms / 2 + r % (sc_retry_ms / 2 + 1);
	if ((sc_retry_ms *= 2) > STOREC_RETRY_MAX_MS)
		sc_retry_ms = STOREC_RETRY_MAX_MS;
}

static const char *
storec_addr(void)
{
	return sc_addrs[sc_cur].text;
}

/* Next wake-up: a retry, a connect that takes too long, or a deadline. */
static void
storec_arm(void)
{
	struct storec_req *r = TAILQ_FIRST(&sc_inflight);
	struct storec_req *p = TAILQ_FIRST(&sc_patient);
	struct storec_req *w = TAILQ_FIRST(&sc_waiting);
	uint64_t at = UINT64_MAX;

	if (sc_state == SC_DOWN)
		at = sc_retry_at;
	else if (sc_state != SC_UP)
		at = sc_connect_deadline;
	if (r != NULL && r->deadline < at)
		at = r->deadline;
	if (p != NULL && p->deadline < at)
		at = p->deadline;
	if (w != NULL && w->deadline < at)
		at = w->deadline;
	if (at == UINT64_MAX)
		loop_timer_stop(&sc_timer);
	else
		loop_timer_at(&sc_timer, at);
}

static void
storec_disconnect(const char *why)
{
	struct storec_req *r;
	size_t n = sc_count;

	if (sc_state == SC_UP) {
		loop_io_del(&sc_io);
		pchan_close(&sc_ch);
		log_warnx("storaged: connection to %s lost (%s)%s; reconnecting",
		    storec_addr(), why, n ? ", failing requests in flight" : "");
		sc_down_logged = 1;
	} else if (sc_state != SC_DOWN) {
		if (sc_state == SC_HELLO || sc_state == SC_CONNECTING)
			loop_io_del(&sc_io);
		if (sc_state == SC_HELLO)
			pchan_close(&sc_ch);
		else if (sc_state == SC_CONNECTING)
			close(sc_fd);
		sc_fd = -1;
		if (!sc_down_logged) {
			log_warnx("storaged: cannot connect to %s (%s); retrying%s",
			    storec_addr(), why, sc_naddrs > 1 ?
			    " the next address" : "");
			sc_down_logged = 1;
		}
	}
	sc_state = SC_DOWN;
	sc_store_failed = 0;
	loop_defer_cancel(&sc_flush_defer);
	storec_retry_later();
	/* Callbacks may call again; they fail at once now that we are down. */
	while ((r = TAILQ_FIRST(&sc_inflight)) != NULL ||
	    (r = TAILQ_FIRST(&sc_patient)) != NULL)
		storec_fail(r);
	storec_arm();
}

/* Writes what it can, then waits for what the channel says. */
static void
storec_flush(void *arg)
{
	if (sc_state != SC_UP && sc_state != SC_HELLO)
		return;
	if (pchan_flush(&sc_ch) < 0) {
		storec_disconnect(pchan_why(&sc_ch));
		return;
	}
	if (loop_io_mod(&sc_io, pchan_events(&sc_ch, 1)) < 0)
		storec_disconnect("epoll_ctl");
}

/* storaged refuses every write until it restarts: /health says so. */
static void
storec_failed_heard(const struct pmsg *m)
{
	struct st_str why;

	if (st_req_decode(PROTO_ST_EV_STORE_FAILED, m->payload, m->hdr.len,
	    &why) < 0) {
		log_warnx("storaged: malformed ST_EV_STORE_FAILED");
		return;
	}
	if (!sc_store_failed)
		log_warnx("storaged: storage failed (%s): writes are refused "
		    "and /health answers 503 until parley-storaged restarts",
		    why.s);
	sc_store_failed = 1;
	st_req_free(PROTO_ST_EV_STORE_FAILED, &why);
}

int
storec_store_failed(void)
{
	return sc_store_failed;
}

/* The index of the address whose text is s, or -1. */
static int
storec_addr_index(const char *s)
{
	size_t i;

	for (i = 0; i < sc_naddrs; i++)
		if (strcmp(sc_addrs[i].text, s) == 0)
			return (int)i;
	return -1;
}

/* A request on the connection under a new id: the id, or 0 (not sent). */
static uint32_t
storec_transmit(uint16_t type, uint16_t flags, const void *payload,
    size_t len)
{
	uint32_t id;

	do {
		id = ++sc_next_id;
	} while (id == 0 || storec_find(id) != NULL);
	if (pchan_send(&sc_ch, type, flags, id, payload, len, -1) < 0)
		return 0;
	return id;
}

/* r, sent as id, in flight until its reply or its deadline. */
static void
storec_inflight_add(struct storec_req *r, uint32_t id)
{
	r->id = id;
	/*
	 * From the clock, not the loop turn's time: the turn may have run
	 * for seconds (the fetcher reading a PDF) and a deadline from its
	 * start would be past before storaged could answer.
	 */
	r->patient = r->outcome;
	r->deadline = loop_clock() + (r->patient ? storec_stuck_ms() :
	    wconf.storage_timeout_ms);
	TAILQ_INSERT_TAIL(r->patient ? &sc_patient : &sc_inflight, r, order);
	LIST_INSERT_HEAD(&sc_hash[id & (STOREC_BUCKETS - 1)], r, hash);
	sc_count++;
}

/* The connection is up: what waited for it goes, in the order it came. */
static void
storec_send_waiting(void)
{
	struct storec_req *r;
	uint32_t id;

	while (sc_state == SC_UP && (r = TAILQ_FIRST(&sc_waiting)) != NULL) {
		if ((id = storec_transmit(r->type, r->flags, r->payload,
		    r->len)) == 0) {
			log_warn("storaged: queue a waiting request");
			storec_wait_fail(r);
			continue;
		}
		TAILQ_REMOVE(&sc_waiting, r, order);
		sc_waiting_bytes -= r->len;
		free(r->payload);
		r->payload = NULL;
		r->waiting = 0;
		storec_inflight_add(r, id);
	}
	loop_defer(&sc_flush_defer);
}

void
storec_on_up(void (*cb)(void))
{
	sc_on_up = cb;
}

/* The connection is usable: storaged said it is the primary. */
static void
storec_ready(void)
{
	sc_state = SC_UP;
	sc_down_logged = 0;
	sc_retry_ms = STOREC_RETRY_MIN_MS;
	sc_conns++;
	sc_level_sent = -1;
	sc_level_failed = 0;
	if (sc_primary >= 0 && (size_t)sc_primary != sc_cur)
		log_warnx("storaged: %s is primary now", storec_addr());
	else
		log_info("storaged: connected to %s", storec_addr());
	sc_primary = (int)sc_cur;
	storec_ev_sync();	/* the subscription is per connection */
	storec_send_waiting();
	storec_arm();
	if (sc_on_up != NULL)
		sc_on_up();
}

static const char *const role_names[] = { "primary", "standby", "fenced" };

/*
 * ST_EV_ROLE: a primary makes the connection usable; a standby or a
 * fenced primary is left (for the primary it names, if in our list).
 */
static void
storec_role_heard(const struct pmsg *m)
{
	struct st_ev_role r;
	char why[STADDR_TEXT_MAX + 64];

	if (st_req_decode(PROTO_ST_EV_ROLE, m->payload, m->hdr.len, &r) < 0) {
		storec_disconnect("malformed ST_EV_ROLE");
		return;
	}
	if (r.role == ST_REPL_PRIMARY) {
		if (sc_state == SC_HELLO)
			storec_ready();
		return;
	}
	sc_next_pref = r.primary[0] != '\0' ?
	    storec_addr_index(r.primary) : -1;
	if (sc_next_pref == (int)sc_cur)
		sc_next_pref = -1;
	snprintf(why, sizeof(why), "it is %s%s%s",
	    r.role < 3 ? role_names[r.role] : "not primary",
	    r.primary[0] != '\0' ? "; primary: " : "", r.primary);
	storec_disconnect(why);
}

static void
storec_reply(struct pmsg *m)
{
	struct storec_result res;
	struct storec_req *r;
	struct pdec d;
	char *msg = NULL;
	size_t i;

	sc_heard = loop_now();
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	if (!(m->hdr.flags & PROTO_F_REPLY)) {
		if (m->hdr.id == 0 && m->hdr.type == PROTO_ST_EV_LOST) {
			/* We fell behind: subscribe again, as after a reconnect. */
			log_warnx("storaged: events dropped (this worker fell "
			    "behind); subscribing again");
			sc_ev_lost = 1;
			sc_level_sent = -1;
			storec_ev_sync();
		} else if (m->hdr.id == 0 &&
		    m->hdr.type == PROTO_ST_EV_STORE_FAILED) {
			storec_failed_heard(m);
		} else if (m->hdr.id == 0 && m->hdr.type == PROTO_ST_EV_ROLE) {
			storec_role_heard(m);
		} else if (m->hdr.id == 0 && (m->hdr.type == PROTO_ST_EV_WIDGET_GONE ||
		    m->hdr.type == PROTO_ST_EV ||
		    m->hdr.type == PROTO_ST_EV_USER_GONE ||
		    m->hdr.type == PROTO_ST_EV_CRED_GONE)) {
			for (i = 0; i < sc_nevent; i++)
				sc_event[i](m->hdr.type, m->payload, m->hdr.len);
		} else
			log_warnx("storaged: unexpected %s",
			    proto_msg_name(m->hdr.type));
		return;
	}
	if ((r = storec_find(m->hdr.id)) == NULL) {
		/* Cancelled or timed out meanwhile. */
		log_debug("storaged: late reply %u (%s)", m->hdr.id,
		    proto_msg_name(m->hdr.type));
		return;
	}
	memset(&res, 0, sizeof(res));
	res.message = "";
	if (m->hdr.type != r->type) {
		log_warnx("storaged: %s answered with %s",
		    proto_msg_name(r->type), proto_msg_name(m->hdr.type));
		res.status = STOREC_ERROR;
		res.code = PROTO_E_INTERNAL;
		res.message = "reply of the wrong type";
	} else if (m->hdr.flags & PROTO_F_ERROR) {
		res.status = STOREC_ERROR;
		pdec_init(&d, m->payload, m->hdr.len);
		res.code = pdec_u32(&d);
		msg = pdec_strdup(&d, STOREC_ERRMSG_MAX);
		if (pdec_done(&d) < 0 || msg == NULL) {
			res.code = PROTO_E_INTERNAL;
			res.message = "malformed error reply";
		} else
			res.message = msg;
		if (res.code == PROTO_E_NOT_PRIMARY) {
			/* Unavailable here; the caller moves on (storec_io). */
			res.status = STOREC_UNAVAILABLE;
			sc_not_primary = 1;
		}
	} else if (r->answered && m->hdr.len != 0) {
		/* After an early answer the commit's confirmation is empty. */
		log_warnx("storaged: %s confirmed with %u bytes",
		    proto_msg_name(r->type), m->hdr.len);
		res.status = STOREC_ERROR;
		res.code = PROTO_E_INTERNAL;
		res.message = "malformed confirmation";
	} else {
		res.status = STOREC_OK;
		res.payload = m->payload;
		res.len = m->hdr.len;
		if (m->hdr.flags & PROTO_F_EARLY) {
			if (!r->early_ok) {
				log_warnx("storaged: early answer to %s, "
				    "which did not ask", proto_msg_name(r->type));
				return;
			}
			/*
			 * r stays in flight for the confirmation; cb may
			 * cancel it. storaged ran it: only its flush is left,
			 * whose outcome a timeout would only guess.
			 */
			r->answered = 1;
			if (!r->patient) {
				TAILQ_REMOVE(&sc_inflight, r, order);
				r->patient = 1;
				r->deadline = loop_clock() + storec_stuck_ms();
				TAILQ_INSERT_TAIL(&sc_patient, r, order);
				storec_arm();
			}
			res.early = 1;
			r->cb(&res, r->arg);
			return;
		}
	}
	storec_complete(r, &res);
	free(msg);
}

/*
 * The socket is connected: start the channel (our HELLO goes first, after
 * TLS's handshake on a tls:// address) and wait for storaged's role.
 */
static void
storec_up(int fd, int registered)
{
	const struct staddr *a = &sc_addrs[sc_cur];
	int rc;

	sc_heard = loop_now();
	rc = a->kind == STADDR_TLS ? pchan_init_tls(&sc_ch, fd, sc_hello,
	    sc_tls, a->host) : pchan_init(&sc_ch, fd, sc_hello);
	if (rc < 0 || (!registered && loop_io_add(&sc_io, fd,
	    pchan_events(&sc_ch, 1), storec_io, NULL) < 0)) {
		log_warn("storaged: channel");
		if (registered)
			loop_io_del(&sc_io);
		pchan_close(&sc_ch);
		sc_state = SC_DOWN;
		storec_retry_later();
		storec_arm();
		return;
	}
	sc_state = SC_HELLO;
	sc_not_primary = 0;
	loop_defer(&sc_flush_defer);
	storec_arm();
}

/* Reads what came, and the messages in it; then writes what waits. */
static void
storec_read(void)
{
	struct pmsg m;
	ssize_t n;
	int r;

	do {
		n = pchan_read(&sc_ch);
		if (n == 0) {
			storec_disconnect("closed by storaged");
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			storec_disconnect(pchan_why(&sc_ch));
			return;
		}
		while (sc_state >= SC_HELLO &&
		    (r = pchan_next(&sc_ch, &m)) != 0) {
			if (r < 0) {
				storec_disconnect("protocol error");
				return;
			}
			storec_reply(&m);
			if (sc_not_primary && sc_state >= SC_HELLO) {
				storec_disconnect("it answered: not primary");
				return;
			}
		}
		/* TLS may hold more than the buffer took: no event says so. */
	} while (sc_state >= SC_HELLO && pchan_buffered(&sc_ch));
	storec_flush(NULL);
}

static void
storec_io(int fd, uint32_t events, void *arg)
{
	socklen_t sl;
	int err;

	if (sc_state == SC_CONNECTING) {
		err = 0;
		sl = sizeof(err);
		if (getsockopt(sc_fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err != 0) {
			storec_disconnect(strerror(err));
			return;
		}
		fd = sc_fd;
		sc_fd = -1;
		storec_up(fd, 1);
		return;
	}
	if (sc_state != SC_UP && sc_state != SC_HELLO)
		return;
	/* A TLS write may wait for a read, and the handshake for either. */
	if ((events & EPOLLOUT) || (sc_ch.ssl != NULL && pchan_pending(&sc_ch))) {
		storec_flush(NULL);
		if (sc_state != SC_UP && sc_state != SC_HELLO)
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		storec_read();
}

/* The current address could not be tried (why in err): the next, later. */
static void
storec_connect_failed(const char *err)
{
	if (!sc_down_logged) {
		log_warnx("storaged: cannot connect to %s; retrying%s", err,
		    sc_naddrs > 1 ? " the next address" : "");
		sc_down_logged = 1;
	}
	sc_state = SC_DOWN;
	storec_retry_later();
}

static void storec_dial(const struct dnslookup *);

/*
 * A name lookup answered: dialled when it is still the one the current
 * attempt waits for (an answer that came after its time is dropped: the
 * next attempt of that address looks it up again).
 */
static void
storec_resolved(struct dnslookup *l)
{
	char err[STADDR_ERR_MAX + DNSLOOKUP_ERR_MAX];

	if (sc_state != SC_RESOLVING || l != &sc_lookups[sc_cur])
		return;
	if (l->rc != 0) {
		snprintf(err, sizeof(err), "%s: %s", storec_addr(), l->err);
		storec_connect_failed(err);
	} else
		storec_dial(l);
	storec_arm();
}

/*
 * Connects to the current address: a DNS name looked up first, off the
 * loop, so that a resolver that hangs stalls no visitor. The lookup, the
 * connect, the handshake and storaged's role all come within
 * wconf.storage_timeout_ms.
 */
static void
storec_connect(void)
{
	struct dnslookup *l = &sc_lookups[sc_cur];
	const struct staddr *a = &sc_addrs[sc_cur];
	char err[STADDR_ERR_MAX + 64];

	sc_connect_deadline = loop_now() + wconf.storage_timeout_ms;
	if (!staddr_named(a)) {
		storec_dial(NULL);
		return;
	}
	sc_state = SC_RESOLVING;
	if (dnslookup_start(l, a->host, a->port, storec_resolved) < 0) {
		snprintf(err, sizeof(err), "%s: name lookup failed", a->text);
		storec_connect_failed(err);
	}
}

/* The current address dialled (l: its name's answer; NULL: none needed). */
static void
storec_dial(const struct dnslookup *l)
{
	char err[STADDR_ERR_MAX + 64];
	int fd, inprogress;

	if ((fd = l != NULL ? staddr_connect_at(&sc_addrs[sc_cur], &l->ss,
	    l->sl, &inprogress, err, sizeof(err)) :
	    staddr_connect(&sc_addrs[sc_cur], &inprogress, err,
	    sizeof(err))) < 0) {
		storec_connect_failed(err);
		return;
	}
	/* A primary whose host vanished is left within the timeout. */
	if (staddr_dead_after(&sc_addrs[sc_cur], fd,
	    wconf.storage_timeout_ms) < 0)
		log_warn("storaged: %s: TCP_USER_TIMEOUT/keepalive",
		    storec_addr());
	if (inprogress) {
		sc_fd = fd;
		sc_state = SC_CONNECTING;
		if (loop_io_add(&sc_io, fd, EPOLLOUT, storec_io, NULL) < 0)
			storec_disconnect("epoll_ctl");
		return;
	}
	storec_up(fd, 0);
}

static void
storec_tick(void *arg)
{
	struct storec_req *r;
	uint64_t now = loop_now();
	size_t late = 0;
	uint16_t first = 0;

	while ((r = TAILQ_FIRST(&sc_inflight)) != NULL && r->deadline <= now) {
		if (late++ == 0)
			first = r->type;
		storec_fail(r);
	}
	/*
	 * Which request, and whether storaged said anything meanwhile: a
	 * stalled storaged from a lost reply.
	 */
	if (late > 0)
		log_warnx("storaged: %zu request(s) got no reply in %u ms "
		    "(the first %s; storaged last heard from %llu ms ago)",
		    late, wconf.storage_timeout_ms, proto_msg_name(first),
		    (unsigned long long)(now - sc_heard));
	/*
	 * A write whose outcome is wanted got none: storaged is stuck. The
	 * connection goes (storaged then ends the turns it had open on it)
	 * and every request on it fails.
	 */
	if ((r = TAILQ_FIRST(&sc_patient)) != NULL && r->deadline <= now &&
	    sc_state == SC_UP) {
		char why[160];

		snprintf(why, sizeof(why), "no answer to %s in %u ms%s; "
		    "storaged last heard from %llu ms ago",
		    proto_msg_name(r->type), storec_stuck_ms(),
		    r->answered ? " after its early one" : "",
		    (unsigned long long)(now - sc_heard));
		storec_disconnect(why);
	}
	late = 0;
	while ((r = TAILQ_FIRST(&sc_waiting)) != NULL && r->deadline <= now) {
		late++;
		storec_wait_fail(r);
	}
	if (late > 0)
		log_warnx("storaged: %zu request(s) waited %d ms for a "
		    "connection in vain", late, STOREC_WAIT_MS);
	if (sc_state != SC_DOWN && sc_state != SC_UP &&
	    now >= sc_connect_deadline)
		storec_disconnect(sc_state == SC_RESOLVING ?
		    "name lookup timed out" : sc_state == SC_CONNECTING ?
		    "connect timed out" : pchan_handshaking(&sc_ch) ?
		    "TLS handshake timed out" : "no ST_EV_ROLE in time");
	else if (sc_state == SC_DOWN && now >= sc_retry_at)
		storec_connect();
	storec_arm();
}

void
storec_init(const char *path)
{
	struct staddr a;
	char text[STADDR_PATH_MAX + 8], err[STADDR_ERR_MAX];

	snprintf(text, sizeof(text), "unix:%s", path);
	if (staddr_parse(text, strlen(text), &a, err, sizeof(err)) < 0)
		fatalx("storaged: %s", err);
	storec_init_list(&a, 1, NULL);
}

void
storec_hello_name(const char *name)
{
	sc_hello = name;
}

void
storec_init_settings(const struct settings *set)
{
	char err[SETTINGS_ERR_MAX];
	SSL_CTX *ctx = NULL;

	if (staddr_any_tls(set->storaged, set->nstoraged) &&
	    (ctx = tlschan_ctx_new(0, set->cluster_ca, set->cluster_cert,
	    set->cluster_key, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	storec_init_list(set->storaged, set->nstoraged, ctx);
}

void
storec_init_list(const struct staddr *addrs, size_t n, SSL_CTX *tls)
{
	size_t i;

	if (n == 0 || n > STADDR_LIST_MAX)
		fatalx("storec: %zu storaged addresses", n);
	memcpy(sc_addrs, addrs, n * sizeof(*addrs));
	sc_naddrs = n;
	sc_cur = 0;
	sc_next_pref = sc_primary = -1;
	if (sc_tls != NULL && sc_tls != tls)
		SSL_CTX_free(sc_tls);
	sc_tls = tls;
	sc_retry_ms = STOREC_RETRY_MIN_MS;
	for (i = 0; i < STOREC_BUCKETS; i++)
		LIST_INIT(&sc_hash[i]);
	TAILQ_INIT(&sc_inflight);
	TAILQ_INIT(&sc_patient);
	sc_count = 0;
	sc_state = SC_DOWN;
	sc_down_logged = 0;
	loop_timer_init(&sc_timer, storec_tick, NULL);
	loop_defer_init(&sc_flush_defer, storec_flush, NULL);
	storec_connect();
	storec_arm();
}

void
storec_wipe(void)
{
	pchan_wipe(&sc_ch);
}

void
storec_shutdown(void)
{
	struct storec_req *r;

	while ((r = TAILQ_FIRST(&sc_inflight)) != NULL ||
	    (r = TAILQ_FIRST(&sc_patient)) != NULL) {
		storec_unlink(r);
		free(r);
	}
	while ((r = TAILQ_FIRST(&sc_waiting)) != NULL) {
		storec_wait_unlink(r);
		free(r);
	}
	sc_on_up = NULL;
	sc_level_sent = -1;
	sc_level_want = 0;
	sc_conns = sc_sub_conn = 0;
	sc_nevent = 0;
	sc_subscribed = NULL;
	if (sc_state == SC_UP || sc_state == SC_HELLO) {
		loop_io_del(&sc_io);
		pchan_close(&sc_ch);
	} else if (sc_state == SC_CONNECTING) {
		loop_io_del(&sc_io);
		close(sc_fd);
		sc_fd = -1;
	}
	/* A lookup still pending answers a state it no longer matches. */
	sc_state = SC_DOWN;
	SSL_CTX_free(sc_tls);
	sc_tls = NULL;
	loop_timer_stop(&sc_timer);
	loop_defer_cancel(&sc_flush_defer);
	sc_naddrs = 0;
}

/* who is given exactly for the types that carry it: 0, or -1 (logged). */
static int
storec_who_check(const struct st_who *who, uint16_t type)
{
	const struct proto_msg *m = proto_msg(type);

	if ((m != NULL && m->who) != (who != NULL)) {
		log_warnx("storec: %s %s who asks", proto_msg_name(type),
		    who == NULL ? "needs" : "does not carry");
		return -1;
	}
	return 0;
}

/*
 * The payload as sent, in *out and *outlen: the caller's own, or for the types
 * that carry who asks (the message table's `who`), who asks and then it,
 * built in *e (penc_free it after). 0, or -1 (logged) when who is missing
 * or given for a type that does not carry it.
 */
static int
storec_payload(const struct st_who *who, uint16_t type, const void *payload,
    size_t len, struct penc *e, const void **out, size_t *outlen)
{
	penc_init(e);
	if (storec_who_check(who, type) < 0)
		return -1;
	*out = payload;
	*outlen = len;
	if (who == NULL)
		return 0;	/* the hot path: no copy */
	penc_who(e, who);
	if (len > 0)
		penc_raw(e, payload, len);
	*out = e->buf;
	*outlen = e->len;
	return e->err ? -1 : 0;
}

/*
 * r waits for the connection with a copy of its payload, STOREC_WAIT_MS
 * at most. 0, or -1 (r freed).
 */
static int
storec_wait(struct storec_req *r, uint16_t flags, const void *payload,
    size_t len)
{
	if ((r->payload = malloc(len > 0 ? len : 1)) == NULL) {
		free(r);
		return -1;
	}
	if (len > 0)
		memcpy(r->payload, payload, len);
	r->len = len;
	r->flags = flags;
	r->waiting = 1;
	r->deadline = loop_now() + STOREC_WAIT_MS;
	TAILQ_INSERT_TAIL(&sc_waiting, r, order);
	sc_waiting_bytes += len;
	if (r->handle != NULL)
		*r->handle = r;
	storec_arm();
	return 0;
}

/*
 * Queues a request. who NULL with built set: the payload already starts
 * with who asks (storec_ask).
 */
static int
storec_queue(const struct st_who *who, int built, uint16_t type,
    uint16_t flags, const void *payload, size_t len, storec_cb cb,
    void *arg, struct storec_req **handle)
{
	struct storec_req *r;
	struct penc e;
	const void *sent;
	size_t sent_len;
	uint32_t id;
	int rc;

	if (handle != NULL)
		*handle = NULL;
	/* Never started (or shut down): nothing to wait for. */
	if (sc_naddrs == 0) {
		errno = ENOTCONN;
		return -1;
	}
	if (sc_state == SC_UP ? sc_ch.wq_bytes + len > STOREC_MAX_QUEUED :
	    sc_waiting_bytes + len > STOREC_MAX_QUEUED) {
		errno = ENOBUFS;
		return -1;
	}
	if (built) {
		penc_init(&e);
		sent = payload;
		sent_len = len;
	} else if (storec_payload(who, type, payload, len, &e, &sent,
	    &sent_len) < 0) {
		penc_free(&e);
		errno = EINVAL;
		return -1;
	}
	if ((r = proto_zalloc(sizeof(*r))) == NULL) {
		penc_free(&e);
		return -1;
	}
	r->type = type;
	r->cb = cb;
	r->arg = arg;
	r->handle = handle;
	r->early_ok = (flags & PROTO_F_EARLY) != 0;
	r->outcome = (flags & STOREC_F_OUTCOME) != 0;
	flags &= (uint16_t)~STOREC_F_OUTCOME;	/* ours, not sent */
	if (sc_state != SC_UP) {
		rc = storec_wait(r, flags, sent, sent_len);
		penc_free(&e);
		return rc;
	}
	id = storec_transmit(type, flags, sent, sent_len);
	penc_free(&e);
	if (id == 0) {
		free(r);
		return -1;
	}
	storec_inflight_add(r, id);
	if (handle != NULL)
		*handle = r;
	loop_defer(&sc_flush_defer);
	/*
	 * Armed already for an earlier deadline: nothing to do. A patient
	 * request's is later than this one's may be.
	 */
	if (!loop_timer_armed(&sc_timer) ||
	    sc_timer.hn.at > r->deadline)
		storec_arm();
	return 0;
}

static int
storec_request(const struct st_who *who, uint16_t type, uint16_t flags,
    const void *payload, size_t len, storec_cb cb, void *arg,
    struct storec_req **handle)
{
	return storec_queue(who, 0, type, flags, payload, len, cb, arg,
	    handle);
}

int
storec_ask_flags(const struct st_who *who, uint16_t type, uint16_t flags,
    const void *req, storec_cb cb, void *arg, struct storec_req **handle)
{
	struct penc e;
	int rv = -1;

	if (handle != NULL)
		*handle = NULL;
	if (storec_who_check(who, type) < 0) {
		errno = EINVAL;
		return -1;
	}
	penc_init(&e);
	if (who != NULL)
		penc_who(&e, who);
	if (st_req_encode(&e, type, req) < 0) {
		log_warnx("storec: %s does not encode", proto_msg_name(type));
		errno = EINVAL;
	} else
		rv = storec_queue(NULL, 1, type, flags, e.buf, e.len, cb, arg,
		    handle);
	penc_free(&e);
	return rv;
}

int
storec_ask(const struct st_who *who, uint16_t type, const void *req,
    storec_cb cb, void *arg, struct storec_req **handle)
{
	return storec_ask_flags(who, type, 0, req, cb, arg, handle);
}

int
storec_ask_early(uint16_t type, const void *req, storec_cb cb, void *arg,
    struct storec_req **handle)
{
	return storec_ask_flags(NULL, type, PROTO_F_EARLY, req, cb, arg,
	    handle);
}

int
storec_decode(const struct storec_result *r, uint16_t type, void *rep)
{
	if (st_rep_decode(type, r->payload, r->len, rep) < 0) {
		log_warnx("storec: %s: a reply that does not decode",
		    proto_msg_name(type));
		return -1;
	}
	return 0;
}

const char *
storec_why(const struct storec_result *r)
{
	switch (r->status) {
	case STOREC_ERROR:
		return r->message;
	case STOREC_OK:
		return "a reply that does not decode";
	default:
		return "storaged unavailable";
	}
}

int
storec_call(uint16_t type, const void *payload, size_t len, storec_cb cb,
    void *arg, struct storec_req **handle)
{
	return storec_request(NULL, type, 0, payload, len, cb, arg, handle);
}

int
storec_call_as(const struct st_who *who, uint16_t type, const void *payload,
    size_t len, storec_cb cb, void *arg, struct storec_req **handle)
{
	return storec_request(who, type, 0, payload, len, cb, arg, handle);
}

int
storec_send(uint16_t type, struct penc *e, storec_cb cb, void *arg,
    struct storec_req **handle)
{
	return storec_send_as(NULL, type, e, cb, arg, handle);
}

int
storec_send_as(const struct st_who *who, uint16_t type, struct penc *e,
    storec_cb cb, void *arg, struct storec_req **handle)
{
	int rv;

	rv = e->err ? -1 : storec_request(who, type, 0, e->buf, e->len, cb,
	    arg, handle);
	penc_free(e);
	return rv;
}

void
storec_cancel(struct storec_req *r)
{
	if (r == NULL)
		return;
	if (r->waiting)
		storec_wait_unlink(r);
	else
		storec_unlink(r);
	free(r);
}

int
storec_http_error(const struct storec_result *r,
    const struct storec_answer *own, const char *who, const char **msg)
{
	if (r->status == STOREC_ERROR && r->code == PROTO_E_NO_ORG) {
		*msg = "Organization not found";
		return 404;
	}
	if (r->status == STOREC_ERROR) {
		for (; own != NULL && own->status != 0; own++)
			if (own->code == r->code) {
				*msg = own->msg;
				return own->status;
			}
		/* storaged saying it is busy is as good as storaged away. */
		if (r->code != PROTO_E_UNAVAILABLE) {
			log_warnx("%s: storaged: %s: %s", who,
			    proto_err_name(r->code), r->message);
			*msg = "Internal server error";
			return 500;
		}
	}
	*msg = "Storage unavailable";
	return 503;
}

const char *
storec_full_text(const struct storec_result *r)
{
	if (r->status != STOREC_ERROR || r->code != PROTO_E_UNAVAILABLE ||
	    r->message == NULL)
		return NULL;
	if (strncmp(r->message, "the store is full", 17) == 0)
		return "Storage full: delete conversations, or raise "
		    "PARLEY_MAP_SIZE_MB and restart parley-storaged";
	if (strncmp(r->message, "disk full", 9) == 0)
		return "Storage full: the disk of the data directory is full; "
		    "free space on it";
	return NULL;
}
