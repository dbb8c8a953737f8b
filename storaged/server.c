/*
 * Clients and group commit.
 *
 * Each loop turn reads what every client has sent, runs every request
 * gathered in one write transaction (run again, each write in a nested
 * txn, if one failed after it wrote: dispatch.h), commits once, and only
 * then queues the replies: a write is acknowledged once it is on disk.
 *
 * A request flagged PROTO_F_EARLY (the chat turn's ST_CHAT_BEGIN or
 * ST_WS_BEGIN) that changed the store is answered twice: at once, before the commit, so the
 * worker can call the model while the disk flushes, and after the commit
 * with an empty confirmation (or the error, and the write never
 * happened). The worker shows the visitor nothing before the confirmation.
 *
 * A batch whose every write is flagged PROTO_F_SHARE (the worker's
 * writes whose confirmation nobody waits for at once, while it has many
 * turns alive) shares its flush: it is logged unflushed and its replies
 * are held, like the replica mode's below, until a flush covers it
 * (server_share): up to PROTO_SHARE_US later (PROTO_SHARE_LONG_US for
 * writes flagged PROTO_F_SHARE_LONG too: a slow model's turns), or
 * sooner when more have gathered or a batch with a write not flagged
 * comes (which flushes as it commits). A request that wrote nothing does
 * not decide: its reply waits behind the batch's records either way.
 * One flush for several turns' writes, where each paid its own.
 *
 * The requests of a client point into its channel's read buffer, so a
 * client is read again only once all its requests have run. A client that
 * does not read its replies is not read either until its queue drains
 * below CLIENT_WQ_MAX, and a batch takes no more of its requests than its
 * queue can still hold: memory stays bounded whatever a client does.
 *
 * Live events (eventring.h): the requests of a batch make them, and once
 * the batch has committed they are numbered, kept in the ring and sent
 * (ST_EV, unasked), each request's after its reply and before the next
 * request's reply (what a read answered and what came after it never
 * overlap for its client), to every client subscribed
 * (ST_EV_SUBSCRIBE) at a level that wants them. A subscriber whose queue
 * would pass CLIENT_WQ_MAX is unsubscribed (logged) rather than let
 * storaged's memory grow, and told so (ST_EV_LOST, after what it has
 * queued): it subscribes again and reads back what it missed with
 * ST_EV_SINCE.
 *
 * The data directory is guarded (store_guard): every second here (its
 * paths stat'ed), and by every batch that writes (the directory's
 * inotify watch read; the paths stat'ed when it has news). A store
 * stalled for want of room (store_stalled: a full map or disk) has its
 * checkpoint tried again at the same tick. Once the guard
 * fails, every client is told, unasked (ST_EV_STORE_FAILED), and so is
 * each client that connects after: the workers answer /health with 503.
 *
 * ST_BACKUP (parleyctl) is the one request that leaves the loop: a
 * compact copy of a large environment takes seconds, so a thread of its
 * own makes it, on one read snapshot, and says when it is done through a
 * pipe the loop watches. One at a time. It takes an fd, which only a
 * Unix socket carries: over TLS it is refused.
 *
 * Besides the Unix socket, a TLS listener (server_listen_tls) may serve
 * clients on other hosts. Its clients are the same clients once their
 * handshake is done (the channel drives it: pchan_events says what to
 * wait for); before that, a peer holds a slot for HANDSHAKE_MS at most,
 * and HANDSHAKE_MAX of them at once: HANDSHAKE_PEER_MAX per address, and
 * HANDSHAKE_RESERVED kept for the addresses whose peers completed a
 * handshake before (the certified table: workers and the standby coming
 * back), so silent connections cannot keep them out. At most
 * TLS_CLIENTS_MAX are connected at once, and a request begun must be whole
 * within FRAME_MS while we wait for it (frame_check): a certified peer
 * trickling large requests on many connections would hold their buffers
 * (up to PROTO_MAX_PAYLOAD each) for ever otherwise. What OpenSSL holds
 * decrypted is read before waiting (pchan_buffered): the socket will not
 * say it again.
 *
 * Those caps alone still let the TLS clients make storaged hold tens of
 * GB (a request of 8 MB and 16 MB of replies each), so two more hold
 * (server_listen_tls's settings): one address keeps at most tls_peer_max
 * connections open (past it a new one is closed at once, logged once a
 * minute per address), and the TLS clients together hold at most about
 * tls_budget bytes (their read buffers, their replies queued or held:
 * client_tls_bytes). Past the budget a TLS client whose read would grow
 * its buffer is not read (starved) and one with replies unread takes no
 * more requests, until the count falls; while someone is starved, the one
 * holding the most is closed (logged), so a few peers that never finish
 * their requests nor read their replies cannot keep the others waiting.
 * Nothing acknowledged is lost: a closed client's writes that committed
 * stay. A read buffer is freed once its requests ran (pchan_trim), so an
 * 8 MB request's buffer is not held for the connection's life. The
 * standby is never held back nor closed: its acknowledgements release
 * the replies PARLEY_SYNC=replica holds.
 *
 * Every client hears which storaged this is (ST_EV_ROLE) right after our
 * HELLO, and again whenever that changes (server_set_role).
 *
 * A worker lost mid-reply (lostturns.h): each worker's connection keeps
 * the model turns it began and has not answered (what the batch's
 * replies say, dreply's turn). One that closes leaves them for
 * TURN_LOST_MS, in case its worker only lost the connection and names
 * them again (ST_TURNS_HELD); then each is ended in a batch of its own
 * as a request is, storaged's own (ST_TURN_LOST): stored, its events
 * sent, held for the standby like any other.
 *
 * Replication (repl.h): its messages (a standby's ST_REPL_START and
 * ST_REPL_ACK, parleyctl's promotion and status) are taken out as they
 * are read, like ST_BACKUP. A standby, or a fenced primary, refuses every
 * write with "not primary". With PARLEY_SYNC=replica, what a batch sends
 * once committed (replies, events) is held until the standby has the
 * batch's record (repl_gate), and so is everything after it: replies
 * leave in order, and the loop goes on running the next batches meanwhile.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "dispatch.h"
#include "eventring.h"
#include "log.h"
#include "lostturns.h"
#include "metrictotals.h"
#include "msgtab.h"
#include "optab.h"
#include "proto.h"
#include "repl.h"
#include "settings.h"
#include "stmsgs.h"
#include "storaged.h"
#include "tlschan.h"

#include <openssl/ssl.h>

/* After running out of fds, how long the listener rests. */
#define ACCEPT_PAUSE_MS	1000
#define REFUSED_TEXT	"not a request this process may send"
/* How often the data directory's guard looks when no write does. */
#define GUARD_MS	1000
/*
 * A batch of requests flagged PROTO_F_SHARE is logged unflushed and its
 * replies held: the flush waits up to PROTO_SHARE_US for more batches to
 * share it (PROTO_SHARE_LONG_US when every write of each waiting batch is
 * flagged PROTO_F_SHARE_LONG too), or for SHARE_FLUSH_MAX requests, or
 * for a batch with a write not flagged.
 */
#define SHARE_FLUSH_MAX	64
#define TLS_BACKUP_TEXT	"backup needs the Unix socket: run parleyctl backup " \
			"on the storaged host"
/* Refused handshakes: a line per reason per second; the cap's, per minute. */
#define REFUSED_LOG_MS	1000
#define REFUSED_REASONS	8
#define CAP_LOG_MS	60000
/* Addresses whose refusals at tls_peer_max are logged apart (the oldest goes). */
#define PEER_LOG_MAX	16
/* A TLS client's read buffer kept between requests; larger ones are freed. */
#define TLS_RBUF_KEEP	(64u * 1024)
/*
 * How long a lost worker's open turns wait to be named again: a worker
 * connects again within 250 ms of a drop (workerd/storec.c); one killed
 * never does.
 */
#define TURN_LOST_MS	3000
/* Lost turns ended by one batch at most (the rest by the next). */
#define TURN_LOST_BATCH	32

/*
 * Which code answers a request: its row in optab.c, the server's own
 * (metrics and events live in its memory; a backup takes an fd and a
 * thread, so it is started as it is read; replication's are taken out as
 * read) or dispatch.c's operations on the store, as for a type it has no
 * row of (dispatch then refuses it). The message table (msgtab.c) says who
 * may send each, and whether it writes.
 */
static enum optab_by
served_by(uint16_t type)
{
	const struct optab *o = optab(type);

	return o != NULL ? o->by : OPT_STORE;
}

struct req {
	uint16_t type;
	uint16_t flags;
	uint32_t id;
	const uint8_t *payload;	/* into the client's read buffer */
	size_t len;
};

/* A TCP peer's address without its port (IPv6: its /64): what caps count. */
struct peer_ip {
	int family;		/* AF_INET, AF_INET6; 0 unknown */
	uint8_t a[16];
};

struct client {
	struct loop_io io;	/* its socket in the loop (loop.h) */
	struct server *srv;
	TAILQ_ENTRY(client) entry;
	struct pchan ch;
	unsigned long long serial;	/* names the client in the logs */
	struct req *reqs;
	size_t nreqs;
	size_t next;		/* reqs[next..nreqs) wait to run */
	size_t reqcap;
	size_t batch_bytes;	/* replies made for it in the running batch */
	uint32_t interest;	/* epoll events registered */
	int eof;		/* the peer sent everything it will */
	int dead;		/* closed at the end of the turn */
	struct smgauges mg;	/* its latest ST_METRICS_PUT gauges */
	int ev_level;		/* ST_EV_LEVEL_*: the events it is sent */
	int peer;		/* PROTO_PEER_* its HELLO named; 0 until known */
	int peer_known;		/* peer final: its certificate checked */
	char addr[64];		/* a TLS client's address and port; "" on the socket */
	int handshaking;	/* TLS: counted in nhandshakes until it is done */
	int hello_wait;		/* TLS: handshake done, no HELLO yet */
	struct peer_ip ip;	/* TLS: its address, as the caps count it */
	/*
	 * ... and closed if not done by then; then the same time again for
	 * its HELLO (a certified peer that says nothing holds no slot).
	 */
	long long hs_deadline;
	long long frame_due;	/* TLS: its request begun is whole by then; 0 none */
	int starved;		/* TLS: not read, its buffer would pass the budget */
	size_t held_bytes;	/* of its messages held for the standby */
	struct turnset turns;	/* a worker's: the model turns it has open */
};

/* A message committed but held until the standby has record seq. */
struct held {
	TAILQ_ENTRY(held) entry;
	struct client *c;	/* NULL once it closed */
	uint64_t seq;
	uint16_t type, flags;
	uint32_t id;
	size_t len;
	uint8_t payload[];
};

TAILQ_HEAD(clientq, client);

/* One request of the running batch and its reply. */
struct slot {
	struct client *c;
	/* The request (type, id, payload): valid until its client is read again. */
	const struct req *q;
	int stored;		/* ran through dispatch (server_route) */
	int early;		/* answered before the commit; confirm after */
	struct dreply rep;
	struct st_who who;	/* who asks, for the types that say */
	size_t who_len;		/* its bytes at the payload's start */
};

/* The backup being made, if any. */
struct backup {
	struct loop_io io;	/* pipe[0] is readable: the thread is done */
	int pipe[2];		/* the thread writes its result to pipe[1] */
	int running;
	pthread_t thread;
	struct store *st;
	int fd;			/* the destination, ours until joined */
	int rc;			/* the thread's result */
	struct client *c;	/* who asked; NULL once gone */
	uint32_t id;
	long long started;
};

struct server {
	struct store *st;
	struct ratelimit *rl;
	struct evring *ev;	/* the live events' ring */
	struct loop_io lio;	/* the listening socket */
	int lfd;
	long long lpaused_at;	/* accept failed for want of fds; 0 = listening */
	struct clientq clients;
	unsigned long long serial;
	struct slot *batch;	/* BATCH_MAX */
	int quitting;
	int sync_ms;		/* > 0: commits don't sync; store_sync this often */
	long long sync_due;	/* when the unsynced commits must be synced; 0 none */
	uint64_t flush_due;	/* µs: when the shared flush is made; 0 none waits */
	size_t nshared;		/* requests whose replies wait for it */
	struct backup bk;
	struct loop_timer guard;	/* store_guard every GUARD_MS */
	int told_failed;	/* the clients heard ST_EV_STORE_FAILED */
	/* The TLS listener (server_listen_tls); tfd -1 without. */
	struct loop_io tio;
	int tfd;
	SSL_CTX *tctx;
	char tname[STADDR_TEXT_MAX];
	int nhandshakes;	/* its clients still in their handshake */
	int ntls;		/* its clients, in their handshake or not */
	unsigned long cap_closed;	/* closed at the cap since the last line */
	uint32_t tls_peer_max;	/* connections from one address at most */
	size_t tls_budget;	/* bytes the TLS clients may hold together */
	size_t tls_bytes;	/* what they hold (server_tls_budget counts) */
	long long budget_logged;	/* the last close over the budget said */
	unsigned long budget_quiet;	/* closed since, not said */
	/* Addresses refused at tls_peer_max: a line each per CAP_LOG_MS. */
	struct {
		struct peer_ip ip;
		long long at;
		unsigned long quiet;
	} peer_logged[PEER_LOG_MAX];
	/* Addresses whose peers completed a handshake; at is when last. */
	struct {
		struct peer_ip ip;
		long long at;
	} certified[CERTIFIED_MAX];
	long long cap_logged;
	struct {
		char why[96];
		long long at;
		unsigned long quiet;	/* refused since its line, not logged */
	} refused[REFUSED_REASONS];
	/* ST_EV_ROLE: what this storaged is, where the primary is. */
	int role;
	char primary[STADDR_TEXT_MAX];
	int writes;		/* this batch may write (repl_writable) */
	int reads;		/* this batch may read (repl_readable) */
	TAILQ_HEAD(, held) held;	/* in the order they were made */
	uint64_t hold_seq;	/* > 0: what is sent now waits for this record */
	/* Lost workers' turns: the loop wakes when the first is due. */
	struct loop_timer lost_tm;
	struct turn_ent own[TURN_LOST_BATCH];	/* this batch's ST_TURN_LOST */
	struct req own_reqs[TURN_LOST_BATCH];
	struct penc own_enc[TURN_LOST_BATCH];
};

static void backup_start(struct server *, struct client *,
    const struct pmsg *);
static void backup_error(struct client *, uint32_t, uint32_t, const char *);

/* What a TLS client makes storaged hold: its read buffer, its replies. */
static size_t
client_tls_bytes(const struct client *c)
{
	return c->ch.rcap + c->ch.wq_bytes + c->held_bytes;
}

/* The TLS clients hold their budget's worth or more. */
static int
server_over_budget(const struct server *s)
{
	return s->tls_budget > 0 && s->tls_bytes >= s->tls_budget;
}

/*
 * Its replies' queue is full; or, a TLS client past the budget, it has
 * replies unread (the standby's acknowledgements are always read).
 */
static int
client_paused(const struct client *c)
{
	if (c->ch.wq_bytes + c->held_bytes >= CLIENT_WQ_MAX)
		return 1;
	return c->ch.ssl != NULL && c->ch.wq_bytes + c->held_bytes > 0 &&
	    server_over_budget(c->srv) && !repl_is_standby(c);
}

/*
 * A TLS client whose next read would grow its buffer while the clients
 * are past the budget (its first buffer is always given: a small one).
 */
static int
client_over_budget(const struct server *s, const struct client *c)
{
	return c->ch.ssl != NULL && c->ch.rcap > 0 &&
	    pchan_read_grows(&c->ch) && server_over_budget(s) &&
	    !repl_is_standby(c);
}

/* Has requests and room for their replies. */
static int
client_runnable(const struct client *c)
{
	return !c->dead && c->next < c->nreqs && !client_paused(c);
}

static void
client_kill(struct client *c)
{
	c->dead = 1;
}

static const char *
client_name(const struct client *c)
{
	return c->ch.peer[0] != '\0' ? c->ch.peer : "?";
}

static void client_read(struct server *, struct client *);
static int server_repl(struct server *, struct client *, const struct pmsg *);

/*
 * The PROTO_PEER_* a TLS client's certificate (its role, tlschan.h) lets
 * its HELLO name: a storaged host's any; a front host's any but a
 * standby's; one made before roles the same (an upgrade keeps the front
 * hosts up); one of a role we do not know none.
 */
static int
role_peers(int role)
{
	const int front = PROTO_PEER_WORKERD | PROTO_PEER_CTL |
	    PROTO_PEER_MASTERD | PROTO_PEER_FETCHER;

	switch (role) {
	case TLSCHAN_ROLE_STORAGED:
		return front | PROTO_PEER_STORAGED;
	case TLSCHAN_ROLE_FRONT:
	case TLSCHAN_ROLE_NONE:
		return front;
	default:
		return 0;
	}
}

/*
 * The PROTO_PEER_* c's HELLO named, once it has: on the Unix socket that
 * kind; over TLS only one its certificate's role permits (role_peers),
 * else 0, so every request of c is refused (logged once).
 */
static int
client_peer_of(struct client *c)
{
	int peer = proto_peer_of(c->ch.peer), role;

	if (c->ch.ssl == NULL || peer == 0)
		return peer;
	role = tlschan_peer_role(&c->ch);
	if (role_peers(role) & peer)
		return peer;
	if (role == TLSCHAN_ROLE_NONE)
		log_warnx("client %llu (%s): says %s, but its certificate "
		    "names no role (made before roles): refused; reissue "
		    "it with scripts/cluster-certs.sh --storaged",
		    c->serial, c->addr, client_name(c));
	else
		log_warnx("client %llu (%s): says %s, which its certificate's "
		    "role (%s) may not: refused", c->serial, c->addr,
		    client_name(c), role == TLSCHAN_ROLE_FRONT ? "front" :
		    "unknown");
	return 0;
}

/*
 * Which process may ask what is its row in msgtab.c, by the process its
 * HELLO named: 1 when c may send type, else 0 (logged).
 */
static int
client_may_send(struct client *c, uint16_t type)
{
	if (!c->peer_known && c->ch.peer[0] != '\0') {
		c->peer = client_peer_of(c);
		c->peer_known = 1;
	}
	if (proto_may_send(c->peer, type, PROTO_PEER_STORAGED))
		return 1;
	log_warnx("client %llu (%s): refused %s: not a request it may send",
	    c->serial, client_name(c), proto_msg_name(type));
	return 0;
}

/* A request refused outside a batch (one with an fd): the error at once. */
static void
client_refuse_now(struct client *c, struct pmsg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (pchan_send_error(&c->ch, m->hdr.type, m->hdr.id,
	    PROTO_E_UNSUPPORTED, REFUSED_TEXT) < 0)
		client_kill(c);
}

static void
client_io(int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	/* A hang-up or error shows up as a read of 0 or -1. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c->srv, c);
}

/*
 * Queues ST_EV_STORE_FAILED for c, a client that connects after the
 * guard failed (server_guard_told told the others): 0, or -1 (c killed).
 */
static int
client_tell_failed(struct client *c, const struct store *st)
{
	const struct st_str m = { store_failed(st) };
	struct penc e;
	int rc;

	penc_init(&e);
	rc = st_req_encode(&e, PROTO_ST_EV_STORE_FAILED, &m) < 0 ? -1 :
	    pchan_send(&c->ch, PROTO_ST_EV_STORE_FAILED, 0, 0, e.buf, e.len,
	    -1);
	penc_free(&e);
	if (rc < 0) {
		log_warnx("client %llu (%s): cannot queue ST_EV_STORE_FAILED",
		    c->serial, client_name(c));
		client_kill(c);
	}
	return rc;
}

/* Queues ST_EV_ROLE for c: 0, or -1 (c killed). */
static int
client_tell_role(struct client *c, const struct server *s)
{
	struct st_ev_role m;
	struct penc e;
	int rc;

	memset(&m, 0, sizeof(m));
	m.role = (uint8_t)s->role;
	strlcpy(m.primary, s->primary, sizeof(m.primary));
	penc_init(&e);
	rc = st_req_encode(&e, PROTO_ST_EV_ROLE, &m) < 0 ? -1 :
	    pchan_send(&c->ch, PROTO_ST_EV_ROLE, 0, 0, e.buf, e.len, -1);
	penc_free(&e);
	if (rc < 0) {
		log_warnx("client %llu: cannot queue ST_EV_ROLE", c->serial);
		client_kill(c);
	}
	return rc;
}

/* A TCP peer's address as "1.2.3.4:5" or "[::1]:5". */
static void
peer_addr(int fd, char *buf, size_t sz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	const void *a;
	int port;

	snprintf(buf, sz, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		return;
	if (inet_ntop(ss.ss_family, a, ip, sizeof(ip)) != NULL)
		snprintf(buf, sz, ss.ss_family == AF_INET6 ? "[%s]:%d" :
		    "%s:%d", ip, port);
}

/* A client on the Unix socket, or (ip not NULL) on the TLS listener. */
static void
client_new(struct server *s, int fd, const struct peer_ip *ip)
{
	int tls = ip != NULL;
	struct client *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("client");
		close(fd);
		return;
	}
	c->srv = s;
	c->serial = ++s->serial;
	if (tls)
		peer_addr(fd, c->addr, sizeof(c->addr));
	rc = tls ? pchan_init_tls(&c->ch, fd, STORAGED_NAME, s->tctx, NULL) :
	    pchan_init(&c->ch, fd, STORAGED_NAME);
	if (rc < 0) {
		log_warn("client %llu: channel", c->serial);
		pchan_close(&c->ch);
		free(c);
		return;
	}
	/* Our HELLO is queued: the first flush goes out this same turn. */
	c->interest = pchan_events(&c->ch, 1);
	if (loop_io_add(&c->io, fd, c->interest, client_io, c) < 0) {
		log_warn("client %llu: epoll_ctl", c->serial);
		pchan_close(&c->ch);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->clients, c, entry);
	if (tls) {
		s->ntls++;
		c->ip = *ip;
		c->handshaking = 1;
		c->hs_deadline = proto_mono_ms() + HANDSHAKE_MS;
		s->nhandshakes++;
		log_debug("client %llu connected from %s", c->serial, c->addr);
	} else
		log_debug("client %llu connected", c->serial);
	if (client_tell_role(c, s) == 0 && store_failed(s->st) != NULL)
		client_tell_failed(c, s->st);
}

/*
 * A TLS peer refused at its handshake: logged with its address, a line
 * per reason at most every REFUSED_LOG_MS (the ones between counted).
 */
static void
client_refused(struct server *s, struct client *c, const char *why)
{
	long long now = proto_mono_ms();
	size_t i, slot = 0;

	client_kill(c);
	if (why == NULL || why[0] == '\0')
		why = "unknown reason";
	for (i = 0; i < REFUSED_REASONS; i++) {
		if (strncmp(s->refused[i].why, why,
		    sizeof(s->refused[i].why) - 1) == 0)
			break;
		if (s->refused[i].at < s->refused[slot].at)
			slot = i;
	}
	if (i < REFUSED_REASONS) {
		slot = i;
		if (now - s->refused[i].at < REFUSED_LOG_MS) {
			s->refused[i].quiet++;
			return;
		}
	} else
		strlcpy(s->refused[slot].why, why, sizeof(s->refused[slot].why));
	if (s->refused[slot].quiet > 0)
		log_warnx("TLS client %s refused at the handshake: %s (and %lu "
		    "more since)", c->addr, why, s->refused[slot].quiet);
	else
		log_warnx("TLS client %s refused at the handshake: %s",
		    c->addr, why);
	s->refused[slot].at = now;
	s->refused[slot].quiet = 0;
}

static int
peer_ip_eq(const struct peer_ip *a, const struct peer_ip *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* fd's peer address as the caps count it; family 0 when unknown. */
static void
peer_ip_of(int fd, struct peer_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const uint8_t *a6;

	memset(ip, 0, sizeof(*ip));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		a6 = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			ip->family = AF_INET;
			memcpy(ip->a, a6 + 12, 4);
		} else {
			/* One host usually has a whole /64. */
			ip->family = AF_INET6;
			memcpy(ip->a, a6, 8);
		}
	}
}

/* 1 when a peer from ip completed a handshake before (and is remembered). */
static int
server_certified(const struct server *s, const struct peer_ip *ip)
{
	size_t i;

	if (ip->family == 0)
		return 0;
	for (i = 0; i < CERTIFIED_MAX; i++)
		if (s->certified[i].at != 0 &&
		    peer_ip_eq(&s->certified[i].ip, ip))
			return 1;
	return 0;
}

/* Remembers ip as certified, in its own entry or the oldest's. */
static void
server_certify(struct server *s, const struct peer_ip *ip)
{
	size_t i, slot = 0;

	if (ip->family == 0)
		return;
	for (i = 0; i < CERTIFIED_MAX; i++) {
		if (s->certified[i].at != 0 &&
		    peer_ip_eq(&s->certified[i].ip, ip)) {
			slot = i;
			break;
		}
		if (s->certified[i].at < s->certified[slot].at)
			slot = i;
	}
	s->certified[slot].ip = *ip;
	s->certified[slot].at = proto_mono_ms();
}

/* A TLS client's handshake just ended: it no longer holds a slot. */
static void
client_tls_done(struct server *s, struct client *c)
{
	if (!c->handshaking || pchan_handshaking(&c->ch))
		return;
	c->handshaking = 0;
	s->nhandshakes--;
	c->hello_wait = 1;
	c->hs_deadline = proto_mono_ms() + HANDSHAKE_MS;
	/* Done means its certificate was checked: its address is known. */
	server_certify(s, &c->ip);
	log_debug("client %llu (%s): TLS handshake done", c->serial, c->addr);
}

/* Wakes the loop when the first lost turn is due (server_batch ends it). */
static void
lost_arm(struct server *s)
{
	long long due = lost_next();

	if (due != 0)
		loop_timer_at(&s->lost_tm, (uint64_t)due);
}

static void
lost_tick(void *arg)
{
	(void)arg;	/* server_step runs next: server_batch takes them */
}

/* The turns read off the disk (server_turns_restore), gathered. */
struct turns_read {
	struct server *s;
	struct turn_ent *v;
	size_t n, cap;
	int err;
};

static void
turn_read(const char *conv, const char *msg, void *arg)
{
	struct turns_read *tr = arg;
	struct turn_ent *nv;
	struct client *c;

	if (tr->err || tr->n == TURNS_LOST_MAX)
		return;
	/* A worker connected already named it: it still answers it. */
	TAILQ_FOREACH(c, &tr->s->clients, entry)
		if (turnset_find(&c->turns, conv) != NULL)
			return;
	if (tr->n == tr->cap) {
		if ((nv = reallocarray(tr->v, tr->cap ? tr->cap * 2 : 64,
		    sizeof(*nv))) == NULL) {
			tr->err = 1;
			return;
		}
		tr->v = nv;
		tr->cap = tr->cap ? tr->cap * 2 : 64;
	}
	memset(&tr->v[tr->n], 0, sizeof(tr->v[0]));
	strlcpy(tr->v[tr->n].conv, conv, sizeof(tr->v[0].conv));
	strlcpy(tr->v[tr->n].msg, msg, sizeof(tr->v[0].msg));
	tr->v[tr->n].restored = 1;
	tr->n++;
}

void
server_turns_restore(struct server *s)
{
	struct turns_read tr = { s, NULL, 0, 0, 0 };
	struct store_txn t;

	if (store_begin(s->st, &t, 1) != 0)
		return;
	if (store_turns_open(&t, turn_read, &tr) < 0 || tr.err)
		log_warnx("the model turns open at the last stop not all read: "
		    "those left out stay unanswered");
	store_abort(&t);
	if (tr.n > 0) {
		(void)lost_add(tr.v, tr.n, proto_mono_ms() + TURN_LOST_MS);
		log_info("%zu model turns open at the last stop (or the last "
		    "primary's): each ends as interrupted in %d ms unless a "
		    "worker names it again", tr.n, TURN_LOST_MS);
		lost_arm(s);
	}
	free(tr.v);
}

/* A worker's connection closes: its open turns wait to be named again. */
static void
server_turns_left(struct server *s, struct client *c)
{
	size_t n = c->turns.n, dropped;

	if (n == 0) {
		turnset_free(&c->turns);
		return;
	}
	dropped = lost_take(&c->turns, proto_mono_ms() + TURN_LOST_MS);
	log_info("client %llu (%s) closed with %zu model turns open: each "
	    "ends as interrupted in %d ms unless a worker names it again",
	    c->serial, client_name(c), n - dropped, TURN_LOST_MS);
	if (dropped > 0)
		log_warnx("client %llu: %zu open turns not kept (%d kept at "
		    "most)", c->serial, dropped, TURNS_LOST_MAX);
	lost_arm(s);
}

/*
 * What a worker's request did to its open turns (dreply's turn). A reply
 * not stored (refused, or its batch failed) leaves its turn lost, as a
 * closed connection's turns are: its worker has ended the turn with an
 * error and answers it no more, and, kept open on a live connection, it
 * held its conversation STORE_TURN_HOLD_MS (15 minutes).
 */
static void
client_turn_note(struct server *s, struct client *c, const struct dreply *r)
{
	int left;

	if (r->turn == 0 || c->peer != PROTO_PEER_WORKERD)
		return;
	if (r->err != 0) {
		if (r->turn != DTURN_ENDED)
			return;
		left = lost_leave(&c->turns, r->turn_conv, r->turn_msg,
		    proto_mono_ms() + TURN_LOST_MS);
		if (left > 0) {
			log_info("client %llu (%s): the reply in %s not stored: "
			    "its turn ends as interrupted in %d ms",
			    c->serial, client_name(c), r->turn_conv,
			    TURN_LOST_MS);
			lost_arm(s);
		} else if (left < 0)
			log_warnx("client %llu (%s): the reply in %s not stored "
			    "and its turn not kept (%d lost at most)",
			    c->serial, client_name(c), r->turn_conv,
			    TURNS_LOST_MAX);
		return;
	}
	if (turnset_note(&c->turns, r->turn == DTURN_BEGUN,
	    r->turn_conv, r->turn_msg) < 0)
		log_warnx("client %llu (%s): a model turn not kept (%d open "
		    "at most)", c->serial, client_name(c), TURNS_OPEN_MAX);
}

static void
client_free(struct server *s, struct client *c)
{
	struct held *h;

	log_debug("client %llu (%s) closed", c->serial, client_name(c));
	server_turns_left(s, c);
	if (c->handshaking)
		s->nhandshakes--;
	if (c->ch.ssl != NULL) {
		s->ntls--;
		/* Counted again next turn; server_timeout reads it so. */
		s->tls_bytes -= s->tls_bytes < client_tls_bytes(c) ? s->tls_bytes :
		    client_tls_bytes(c);
	}
	if (s->bk.c == c)
		s->bk.c = NULL;
	repl_client_gone(c);
	TAILQ_FOREACH(h, &s->held, entry)
		if (h->c == c)
			h->c = NULL;
	TAILQ_REMOVE(&s->clients, c, entry);
	/* Freed after the turn's events (server_step), as loop.h asks. */
	loop_io_del(&c->io);
	pchan_close(&c->ch);
	smetrics_gone(&c->mg);
	free(c->reqs);
	free(c);
}

static int
client_push(struct client *c, const struct pmsg *m)
{
	struct req *nr;

	if ((nr = proto_grow(c->reqs, &c->reqcap, c->nreqs, sizeof(*nr), 64,
	    SIZE_MAX)) == NULL)
		return -1;
	c->reqs = nr;
	nr = &c->reqs[c->nreqs++];
	nr->type = m->hdr.type;
	nr->flags = m->hdr.flags;
	nr->id = m->hdr.id;
	nr->payload = m->payload;
	nr->len = m->hdr.len;
	return 0;
}

/*
 * Not read any more: we are stopping. The standby streaming from us is
 * read on, so its acknowledgements release the last replies in the drain.
 */
static int
client_quiet(const struct server *s, const struct client *c)
{
	return s->quitting && !repl_is_standby(c);
}

/* Reads what the client has sent and takes out the whole requests. */
static void
client_read(struct server *s, struct client *c)
{
	struct pmsg m;
	size_t cap0 = c->ch.rcap;
	ssize_t n;
	int r;

	if (c->dead || c->eof || client_quiet(s, c) || client_paused(c) ||
	    c->starved || c->next < c->nreqs)
		return;
	/* Every earlier request has run: their payloads may go. */
	c->nreqs = c->next = 0;
	for (;;) {
		if (client_over_budget(s, c)) {
			c->starved = 1;
			break;
		}
		n = pchan_read(&c->ch);
		if (c->ch.ssl != NULL)
			s->tls_bytes += c->ch.rcap - cap0;
		cap0 = c->ch.rcap;
		if (n == 0) {
			c->eof = 1;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (c->handshaking) {
				client_refused(s, c, pchan_tls_why(&c->ch));
				return;
			}
			if (errno == ECONNRESET)
				log_debug("client %llu: reset", c->serial);
			else
				log_warn("client %llu (%s): read", c->serial,
				    client_name(c));
			client_kill(c);
			return;
		}
		if (c->ch.rlen - c->ch.roff >= CLIENT_READ_MAX)
			break;
		/*
		 * Short of the room offered: drained for now (more wakes
		 * the loop again), so no read that would only say EAGAIN.
		 */
		if (c->ch.rlen < c->ch.rcap)
			break;
	}
	client_tls_done(s, c);
	while ((r = pchan_next(&c->ch, &m)) == 1) {
		if (served_by(m.hdr.type) == OPT_BACKUP &&
		    !(m.hdr.flags & PROTO_F_REPLY)) {
			if (!client_may_send(c, m.hdr.type))
				client_refuse_now(c, &m);
			else if (c->ch.ssl != NULL)
				backup_error(c, m.hdr.id, PROTO_E_UNSUPPORTED,
				    TLS_BACKUP_TEXT);
			else
				backup_start(s, c, &m);
			continue;
		}
		if (served_by(m.hdr.type) == OPT_REPL && m.fd < 0 &&
		    !(m.hdr.flags & PROTO_F_REPLY)) {
			if (!client_may_send(c, m.hdr.type))
				client_refuse_now(c, &m);
			else if (server_repl(s, c, &m) < 0) {
				client_kill(c);
				return;
			}
			continue;
		}
		if (m.fd >= 0 || (m.hdr.flags & PROTO_F_REPLY)) {
			/* We never ask clients anything nor take fds. */
			log_warnx("client %llu (%s): unexpected %s%s, closing",
			    c->serial, client_name(c),
			    (m.hdr.flags & PROTO_F_REPLY) ? "reply " : "",
			    proto_msg_name(m.hdr.type));
			if (m.fd >= 0)
				close(m.fd);
			client_kill(c);
			return;
		}
		if (client_push(c, &m) < 0) {
			log_warn("client %llu: request queue", c->serial);
			client_kill(c);
			return;
		}
	}
	if (r < 0) {
		log_warnx("client %llu (%s): protocol error, closing",
		    c->serial, client_name(c));
		client_kill(c);
	}
}

/*
 * Queues a message for c made by a committed batch: at once, or held
 * until the standby has record s->hold_seq (server_batch says which).
 * 0, or -1 out of memory.
 */
static int
client_send(struct server *s, struct client *c, uint16_t type,
    uint16_t flags, uint32_t id, const void *payload, size_t len)
{
	struct held *h;

	if (s->hold_seq == 0)
		return pchan_send(&c->ch, type, flags, id, payload, len, -1);
	if ((h = malloc(sizeof(*h) + len)) == NULL)
		return -1;
	h->c = c;
	h->seq = s->hold_seq;
	h->type = type;
	h->flags = flags;
	h->id = id;
	h->len = len;
	if (len > 0)
		memcpy(h->payload, payload, len);
	c->held_bytes += PROTO_HDR_LEN + len;
	TAILQ_INSERT_TAIL(&s->held, h, entry);
	return 0;
}

/* An error reply (penc_error), sent or held as client_send says. */
static int
client_send_error(struct server *s, struct client *c, uint16_t type,
    uint32_t id, uint32_t code, const char *msg)
{
	struct penc e;
	int rc;

	penc_init(&e);
	penc_error(&e, code, msg);
	rc = e.err ? -1 : client_send(s, c, type, PROTO_F_REPLY |
	    PROTO_F_ERROR, id, e.buf, e.len);
	penc_free(&e);
	return rc;
}

/*
 * The last record whose replies may leave: on disk here (store_flushed)
 * and, with PARLEY_SYNC=replica, at the standby (repl_gate).
 */
static uint64_t
server_gate(const struct server *s)
{
	uint64_t r = repl_gate(), f = store_flushed(s->st);

	return f < r ? f : r;
}

/* The held messages the flush and the standby (server_gate) let go. */
static void
server_release(struct server *s)
{
	uint64_t gate;
	struct held *h;

	if (TAILQ_EMPTY(&s->held))
		return;
	gate = server_gate(s);
	while ((h = TAILQ_FIRST(&s->held)) != NULL && h->seq <= gate) {
		TAILQ_REMOVE(&s->held, h, entry);
		if (h->c != NULL) {
			h->c->held_bytes -= PROTO_HDR_LEN + h->len;
			if (!h->c->dead && pchan_send(&h->c->ch, h->type,
			    h->flags, h->id, h->payload, h->len, -1) < 0)
				client_kill(h->c);
		}
		free(h);
	}
}

static void
client_reply(struct server *s, struct client *c, const struct slot *sl)
{
	const struct req *q = sl->q;
	int rc;

	if (sl->early && sl->rep.err == 0)
		rc = client_send(s, c, q->type, PROTO_F_REPLY, q->id, NULL, 0);
	else if (sl->rep.err != 0)
		rc = client_send_error(s, c, q->type, q->id,
		    (uint32_t)sl->rep.err, sl->rep.errmsg);
	else
		rc = client_send(s, c, q->type, PROTO_F_REPLY, q->id,
		    sl->rep.enc.buf, sl->rep.enc.len);
	if (rc < 0) {
		log_warn("client %llu (%s): queue reply", c->serial,
		    client_name(c));
		client_kill(c);
	}
}

/* The answer of a PROTO_F_EARLY request, before its commit. */
static void
client_early(struct client *c, const struct slot *sl)
{
	if (c->dead)
		return;
	if (pchan_send(&c->ch, sl->q->type, PROTO_F_REPLY | PROTO_F_EARLY,
	    sl->q->id, sl->rep.enc.buf, sl->rep.enc.len, -1) < 0) {
		log_warn("client %llu (%s): queue early reply", c->serial,
		    client_name(c));
		client_kill(c);
	}
}

static void
client_flush(struct client *c)
{
	if (c->dead || !pchan_pending(&c->ch))
		return;
	if (pchan_flush(&c->ch) < 0) {
		if (c->handshaking)
			client_refused(c->srv, c, pchan_tls_why(&c->ch));
		else if (errno == EPIPE || errno == ECONNRESET)
			log_debug("client %llu: gone before its replies",
			    c->serial);
		else
			log_warn("client %llu (%s): write", c->serial,
			    client_name(c));
		client_kill(c);
	}
}

/* All its requests ran and it may send more: read it when it does. */
static int
client_wants_read(const struct server *s, const struct client *c)
{
	return !c->dead && !c->eof && !client_quiet(s, c) &&
	    !client_paused(c) && !c->starved && c->next == c->nreqs;
}

/*
 * A TLS client's request whole within this, once begun: FRAME_MS, or the
 * test build's PARLEY_TEST_FRAME_MS if lower (the deadline's test).
 */
static int
frame_ms(void)
{
	return (int)SETTINGS_TEST_LOWER("PARLEY_TEST_FRAME_MS", FRAME_MS);
}

/*
 * A TLS client's request begun and not whole yet must be by frame_ms() after
 * we began to wait for the rest: while we do not read it (its earlier
 * requests to run, its replies unread, we stop) the count starts again.
 */
static void
frame_check(struct server *s, struct client *c, long long now)
{
	if (c->ch.ssl == NULL || c->dead || c->handshaking)
		return;
	if (c->ch.rlen == c->ch.roff || !client_wants_read(s, c)) {
		c->frame_due = 0;
		return;
	}
	if (c->frame_due == 0)
		c->frame_due = now + frame_ms();
	else if (now >= c->frame_due) {
		log_warnx("client %llu (%s, %s): no whole request in time (%zu "
		    "bytes of it in %d ms): closed", c->serial, client_name(c),
		    c->addr, c->ch.rlen - c->ch.roff, frame_ms());
		client_kill(c);
	}
}

static void
client_interest(struct server *s, struct client *c)
{
	uint32_t want = pchan_events(&c->ch, client_wants_read(s, c));

	if (want == c->interest)
		return;
	if (loop_io_mod(&c->io, want) < 0) {
		log_warn("client %llu: epoll_ctl", c->serial);
		client_kill(c);
		return;
	}
	c->interest = want;
}

/* ---------------------------------------------------------------- batch */

/*
 * Tells every client, unasked, type's message m: a public widget id that
 * stopped working (workers close the WebSockets open on it), a user
 * whose sessions ended (workers close its event streams).
 */
static void
server_tell_all(struct server *s, uint16_t type, const void *m,
    const char *id)
{
	struct client *c;
	struct penc e;

	penc_init(&e);
	if (st_req_encode(&e, type, m) < 0) {
		log_warnx("%s %s: out of memory", proto_msg_name(type), id);
		penc_free(&e);
		return;
	}
	log_debug("%s %s: telling every client", proto_msg_name(type), id);
	TAILQ_FOREACH(c, &s->clients, entry) {
		if (c->dead)
			continue;
		if (client_send(s, c, type, 0, 0, e.buf, e.len) < 0) {
			log_warn("client %llu (%s): queue event", c->serial,
			    client_name(c));
			client_kill(c);
		}
	}
	penc_free(&e);
}

static void
server_widget_gone(struct server *s, const char *widget_id)
{
	const struct st_id_req gone = { widget_id };

	server_tell_all(s, PROTO_ST_EV_WIDGET_GONE, &gone, widget_id);
}

/* Once the guard has failed (a batch's check or the timer's): every client told, once. */
static void
server_guard_told(struct server *s)
{
	const struct st_str m = { store_failed(s->st) };

	if (s->told_failed || m.s == NULL)
		return;
	s->told_failed = 1;
	loop_timer_stop(&s->guard);
	server_tell_all(s, PROTO_ST_EV_STORE_FAILED, &m, "data directory");
}

/*
 * Every GUARD_MS: the guard, and a stalled store's checkpoint tried
 * again (store_retry: writes resume once it commits).
 */
static void
server_guard_tick(void *arg)
{
	struct server *s = arg;

	if (store_guard(s->st, 1) < 0) {
		server_guard_told(s);
		return;
	}
	(void)store_retry(s->st);
	loop_timer_after(&s->guard, GUARD_MS);
}

/*
 * Publishes a committed request's event: numbered and kept in the ring,
 * then queued for each subscriber that wants it.
 */
static void
server_event(struct server *s, struct devent *ev)
{
	struct client *c;
	const uint8_t *whole, *buf;
	size_t wlen, len;

	if (evring_add(s->ev, ev, &whole, &wlen) < 0)
		return;
	TAILQ_FOREACH(c, &s->clients, entry) {
		if (c->dead || !ev_wanted(c->ev_level, ev))
			continue;
		ev_for_level(c->ev_level, ev, whole, wlen, &buf, &len);
		if (c->ch.wq_bytes + c->held_bytes + PROTO_HDR_LEN + len >
		    CLIENT_WQ_MAX) {
			log_warnx("client %llu (%s): events unsubscribed: "
			    "%zu bytes queued", c->serial, client_name(c),
			    c->ch.wq_bytes + c->held_bytes);
			c->ev_level = ST_EV_LEVEL_NONE;
			/* After what it has: it subscribes again. */
			if (client_send(s, c, PROTO_ST_EV_LOST, 0, 0, NULL,
			    0) < 0)
				client_kill(c);
			continue;
		}
		if (client_send(s, c, PROTO_ST_EV, 0, 0, buf, len) < 0) {
			log_warn("client %llu (%s): queue event", c->serial,
			    client_name(c));
			client_kill(c);
		}
	}
}

/*
 * The events of what the committed batches deleted (store_forgotten:
 * conversations, contacts; a sweep's too) leave the ring, before it is
 * read and after a batch's own events joined it.
 */
static void
server_forget(struct server *s)
{
	uint8_t *ids;
	size_t n, gone;

	if ((ids = store_forgotten(s->st, &n)) == NULL)
		return;
	if ((gone = evring_forget(s->ev, ids, n)) > 0)
		log_debug("events: %zu of %zu deleted conversations and "
		    "contacts forgotten", gone, n);
}

/* r fails with code and msg (static): what it had encoded is dropped. */
static void
reply_fail(struct dreply *r, int code, const char *msg)
{
	penc_free(&r->enc);
	penc_init(&r->enc);
	r->err = code;
	r->errmsg = msg;
}

/* A reply that did not encode is an out-of-memory error. */
static void
reply_encoded(struct dreply *r)
{
	if (r->enc.err)
		reply_fail(r, PROTO_E_INTERNAL, "out of memory");
}

/* ST_EV_SUBSCRIBE: the client's level; the ring's epoch and last seq. */
static void
ev_subscribe(struct server *s, struct client *c, const struct req *q,
    struct dreply *r)
{
	struct st_ev_subscribe_req in;
	struct st_ev_subscribe_rep rep;
	struct evring_stats ring;

	if (st_req_decode(q->type, q->payload, q->len, &in) < 0 ||
	    in.level > ST_EV_LEVEL_ALL) {
		reply_fail(r, PROTO_E_INVALID, "level must be 0, 1 or 2");
		return;
	}
	c->ev_level = in.level;
	ring = evring_stats(s->ev);
	rep.epoch = ring.epoch;
	rep.last_seq = ring.last;
	memcpy(rep.id_key, ring.id_key, sizeof(rep.id_key));
	rep.id_key_len = sizeof(rep.id_key);
	(void)st_rep_encode(&r->enc, q->type, &rep);
	OPENSSL_cleanse(&ring, sizeof(ring));
}

/* ST_EV_SINCE: the events the ring still holds after a seq. */
static void
ev_since(struct server *s, const struct req *q, struct dreply *r)
{
	struct st_ev_since_req in;
	struct st_ev_since_rep rep;

	if (st_req_decode(q->type, q->payload, q->len, &in) < 0 ||
	    in.max < 1 || in.max > ST_EV_SINCE_MAX) {
		reply_fail(r, PROTO_E_INVALID, "max must be 1 to 1000");
		return;
	}
	server_forget(s);
	if (evring_since(s->ev, in.org, in.epoch, in.seq, in.max,
	    PROTO_MAX_PAYLOAD - DISPATCH_REPLY_MARGIN, &rep) < 0) {
		reply_fail(r, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	(void)st_rep_encode(&r->enc, q->type, &rep);
	free(rep.events);
}

/*
 * ST_EV_SUBSCRIBE and ST_EV_SINCE need no store: they run here, in their
 * place in the batch.
 */
static void
server_events(struct server *s, struct client *c, const struct req *q,
    struct dreply *r)
{
	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	if (q->type == PROTO_ST_EV_SUBSCRIBE)
		ev_subscribe(s, c, q, r);
	else
		ev_since(s, q, r);
	reply_encoded(r);
}

/*
 * ST_TURNS_HELD: turns a worker still answers, named on its new
 * connection: noted on it, and no longer among the lost (an old
 * connection of its dropped, not the worker).
 */
static void
server_turns_held(struct client *c, const struct req *q, struct dreply *r)
{
	struct st_turns_held in;
	uint32_t i, back = 0;
	int ok;

	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	ok = st_req_decode(q->type, q->payload, q->len, &in) == 0;
	for (i = 0; ok && i < in.n; i++)
		ok = st_id_valid(in.turns[i].conv_id) &&
		    st_id_valid(in.turns[i].msg_id);
	for (i = 0; ok && i < in.n; i++)
		back += (uint32_t)lost_claim(&c->turns, in.turns[i].conv_id,
		    in.turns[i].msg_id);
	if (back > 0)
		log_info("client %llu (%s) named %u lost model turns again",
		    c->serial, client_name(c), back);
	if (!ok)
		reply_fail(r, PROTO_E_INVALID, "turns: each a conversation's "
		    "and a message's id");
	st_req_free(q->type, &in);
	reply_encoded(r);
}

/*
 * A request c may not send (client_may_send): refused in its place among
 * the batch's replies. 1 when refused, r its reply.
 */
static int
server_refused(struct client *c, const struct req *q, struct dreply *r)
{
	if (client_may_send(c, q->type))
		return 0;
	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	reply_fail(r, PROTO_E_UNSUPPORTED, REFUSED_TEXT);
	return 1;
}

/*
 * Who asks, where the message table says a request carries it: read into
 * sl (the payload's rest goes to dispatch.c), checked against the process
 * that sent it (a worker speaks for the public, the install key or an
 * owner's session; parleyctl for itself; the public only reads a widget's
 * config; the table's PROTO_WHO_INSTALL types only the key or parleyctl),
 * and logged. 1 when refused, sl->rep its reply.
 */
static int
server_who_bad(struct client *c, struct slot *sl)
{
	const struct proto_msg *m = proto_msg(sl->q->type);
	const char *bad = NULL;
	struct pdec d;
	char name[ST_WHO_ID_MAX + 16];

	sl->who_len = 0;
	if (m == NULL || !m->who)
		return 0;
	pdec_init(&d, sl->q->payload, sl->q->len);
	if (pdec_who(&d, &sl->who) < 0)
		bad = "who asks: malformed";
	else if ((c->peer == PROTO_PEER_CTL) != (sl->who.kind == ST_WHO_CTL))
		bad = "who asks: not one this process may speak for";
	else if (sl->who.kind == ST_WHO_PUBLIC &&
	    sl->q->type != PROTO_ST_WIDGET_GET)
		bad = "who asks: the public may not ask this";
	else if (m->who == PROTO_WHO_INSTALL && sl->who.kind != ST_WHO_KEY &&
	    sl->who.kind != ST_WHO_CTL)
		bad = "who asks: only the install key may ask this";
	if (bad != NULL) {
		log_warnx("client %llu (%s): %s refused: %s", c->serial,
		    client_name(c), proto_msg_name(sl->q->type), bad);
		memset(&sl->rep, 0, sizeof(sl->rep));
		penc_init(&sl->rep.enc);
		reply_fail(&sl->rep, PROTO_E_INVALID, bad);
		return 1;
	}
	sl->who_len = d.off;
	if (log_wants(LOG_LEVEL_DEBUG))
		log_debug("client %llu: %s by %s", c->serial,
		    proto_msg_name(sl->q->type), st_who_name(&sl->who, name,
		    sizeof(name)));
	return 0;
}

/*
 * What this storaged's role refuses, in its place: a write sent to a
 * standby, a fenced primary or one past its lease's fence time ("not
 * primary": the workers go to the primary); a read sent to a standby or
 * a fenced storaged whose data no primary has checked yet (unavailable:
 * it may hold a tail no primary acknowledged, repl_readable), but for a
 * ping, which reads nothing. 1 when refused.
 */
static int
server_not_primary(struct server *s, struct slot *sl)
{
	int code = PROTO_E_NOT_PRIMARY;
	const char *why = "not primary";

	if (!dispatch_is_write(sl->q->type)) {
		if (s->reads || sl->q->type == PROTO_ST_PING)
			return 0;
		code = PROTO_E_UNAVAILABLE;
		why = REPL_UNCHECKED_ERR;
	} else if (s->writes)
		return 0;
	memset(&sl->rep, 0, sizeof(sl->rep));
	penc_init(&sl->rep.enc);
	reply_fail(&sl->rep, code, why);
	return 1;
}

/* A slot's request through dispatch.c, who asks with it. */
static void
slot_run(struct dbatch *b, struct slot *sl)
{
	b->who = sl->who_len > 0 ? &sl->who : NULL;
	dispatch_run(b, sl->q->type, sl->q->payload + sl->who_len,
	    sl->q->len - sl->who_len, &sl->rep);
	b->who = NULL;
}

static void server_metrics(struct server *, struct client *,
    const struct req *, struct dreply *);

/*
 * The one router of a batch's request: its sender checked, then the code
 * its row names (optab.c). 1 when it ran against the store (dispatch.c).
 */
static int
server_route(struct server *s, struct client *c, struct slot *sl,
    struct dbatch *b)
{
	if (server_refused(c, sl->q, &sl->rep))
		return 0;
	switch (served_by(sl->q->type)) {
	case OPT_METRICS:
		server_metrics(s, c, sl->q, &sl->rep);
		return 0;
	case OPT_EVENTS:
		server_events(s, c, sl->q, &sl->rep);
		return 0;
	case OPT_TURNS:
		server_turns_held(c, sl->q, &sl->rep);
		return 0;
	case OPT_BACKUP:	/* started as it was read (client_read) */
	case OPT_REPL:		/* taken out as it was read too */
	case OPT_UPLINK:	/* no request: dispatch refuses it */
	case OPT_CHANNEL:	/* read by the channel: never here */
	case OPT_STORE:
	default:
		if (server_not_primary(s, sl))
			return 0;
		if (server_who_bad(c, sl))
			return 0;
		slot_run(b, sl);
		return 1;
	}
}

/* ST_METRICS_PUT: the client's counters added (once), its gauges kept. */
static void
server_metrics_put(struct client *c, const struct req *q, struct dreply *r)
{
	struct st_mput put;

	if (st_req_decode(q->type, q->payload, q->len, &put) < 0) {
		reply_fail(r, PROTO_E_INVALID, "malformed metrics");
		return;
	}
	if (smetrics_put(&c->mg, &put) < 0)
		reply_fail(r, PROTO_E_INTERNAL, "out of memory");
	st_req_free(q->type, &put);
}

/*
 * ST_METRICS_PUT and _GET need the client, not the store: they run here,
 * in their place in the batch, so a GET sees the PUTs sent before it.
 */
static void
server_metrics(struct server *s, struct client *c, const struct req *q,
    struct dreply *r)
{
	struct smgauges **gs;
	struct client *o;
	uint64_t used, size;
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	penc_init(&r->enc);
	if (q->type == PROTO_ST_METRICS_PUT) {
		server_metrics_put(c, q, r);
		return;
	}
	if (q->len != 0) {
		reply_fail(r, PROTO_E_INVALID, "malformed request");
		return;
	}
	TAILQ_FOREACH(o, &s->clients, entry)
		n++;
	if ((gs = calloc(n + 1, sizeof(*gs))) == NULL) {
		reply_fail(r, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	n = 0;
	TAILQ_FOREACH(o, &s->clients, entry)
		if (!o->dead)
			gs[n++] = &o->mg;
	store_map_state(s->st, &used, &size);
	smetrics_map(used, size, store_map_reserved(s->st));
	smetrics_get(&r->enc, gs, n);
	free(gs);
	reply_encoded(r);
}

/* The records logged unflushed are flushed now; their replies may leave. */
static void
server_flush(struct server *s)
{
	s->flush_due = 0;
	s->nshared = 0;
	(void)store_flush(s->st);
}

/*
 * After a batch of n requests: the records logged unflushed are flushed
 * now, unless every write of the batch was flagged PROTO_F_SHARE (its
 * records among them): then once SHARE_FLUSH_MAX wait, or PROTO_SHARE_US
 * after this batch (PROTO_SHARE_LONG_US when longer: every write flagged
 * PROTO_F_SHARE_LONG too), or sooner if a waiting batch asked so
 * (server_step).
 */
static void
server_share(struct server *s, int share, int longer, size_t n)
{
	uint64_t due;

	if (!share) {
		server_flush(s);
		return;
	}
	if (store_flushed(s->st) == store_seq(s->st))
		return;
	s->nshared += n;
	due = proto_mono_us() + (longer ? PROTO_SHARE_LONG_US : PROTO_SHARE_US);
	if (s->nshared >= SHARE_FLUSH_MAX)
		server_flush(s);
	else if (s->flush_due == 0 || due < s->flush_due)
		s->flush_due = due;
}

/*
 * The lost turns due now, as storaged's own requests (ST_TURN_LOST) in
 * the batch's slots from n on, max at most: how many. Called only where
 * this storaged writes (server_batch): a standby or fenced one keeps them.
 */
static size_t
server_own(struct server *s, struct dbatch *b, size_t n, size_t max)
{
	struct st_turn_ref q;
	struct slot *sl;
	size_t i, k;

	if (max > TURN_LOST_BATCH)
		max = TURN_LOST_BATCH;
	k = lost_due(proto_mono_ms(), s->own, max);
	for (i = 0; i < k; i++) {
		q.conv_id = s->own[i].conv;
		q.msg_id = s->own[i].msg;
		penc_free(&s->own_enc[i]);
		penc_init(&s->own_enc[i]);
		(void)st_req_encode(&s->own_enc[i], PROTO_ST_TURN_LOST, &q);
		s->own_reqs[i] = (struct req){ .type = PROTO_ST_TURN_LOST,
		    .payload = s->own_enc[i].buf, .len = s->own_enc[i].len };
		sl = &s->batch[n + i];
		memset(sl, 0, sizeof(*sl));
		sl->q = &s->own_reqs[i];
		slot_run(b, sl);
		sl->stored = 1;
		if (sl->rep.err != 0)
			log_warnx("conversation %s: a lost worker's turn not "
			    "ended: %s", s->own[i].conv, sl->rep.errmsg);
	}
	lost_arm(s);
	return k;
}

/*
 * What a committed request made known, after its reply: widget ids that
 * stopped working, users and credentials gone, and its live events.
 */
static void
server_told(struct server *s, struct dreply *r)
{
	size_t j;

	if (r->err != 0)
		return;
	if (r->gone[0] != '\0')
		server_widget_gone(s, r->gone);
	if (r->user_gone.id[0] != '\0')
		server_tell_all(s, PROTO_ST_EV_USER_GONE, &r->user_gone,
		    r->user_gone.id);
	if (r->cred_gone.kind != 0)
		server_tell_all(s, PROTO_ST_EV_CRED_GONE, &r->cred_gone,
		    "a session or key");
	for (j = 0; j < r->nevs; j++)
		server_event(s, &r->evs[j]);
}

/* A batch that did not commit ended none of its k lost turns: later. */
static void
server_own_failed(struct server *s, size_t k)
{
	(void)lost_add(s->own, k, proto_mono_ms() + TURN_LOST_MS);
	lost_arm(s);
}

/* Runs the waiting requests in one transaction; returns how many ran. */
static size_t
server_batch(struct server *s)
{
	struct dbatch b;
	struct client *c;
	struct slot *sl;
	struct req *q;
	size_t n = 0, nstore = 0, waiting = 0, nown = 0, i;
	uint64_t t0, early_at;
	int write = 0, failed, share = 1, longer = 1, own;

	/* Once per batch: the lease's fence time is read from the clock. */
	s->writes = s->role == ST_REPL_PRIMARY && repl_writable();
	s->reads = repl_readable();
	/* Lost workers' turns due: storaged's own requests (server_own). */
	own = s->writes && lost_next() != 0 && lost_next() <= proto_mono_ms();
	write = own;
	TAILQ_FOREACH(c, &s->clients, entry) {
		if (!client_runnable(c))
			continue;
		waiting += c->nreqs - c->next;
		for (i = c->next; i < c->nreqs && !write; i++)
			write = dispatch_is_write(c->reqs[i].type) &&
			    s->writes;
	}
	if (waiting == 0 && !own)
		return 0;

	dispatch_begin(s->st, s->rl, &b, write);
	TAILQ_FOREACH(c, &s->clients, entry) {
		while (client_runnable(c) && n < BATCH_MAX &&
		    c->ch.wq_bytes + c->held_bytes + c->batch_bytes <
		    CLIENT_WQ_MAX) {
			q = &c->reqs[c->next++];
			sl = &s->batch[n++];
			sl->c = c;
			sl->q = q;
			smetrics_request(q->type);
			if (q->flags & PROTO_F_SHARE)
				smetrics_shared_request(
				    (q->flags & PROTO_F_SHARE_LONG) != 0);
			if ((sl->stored = server_route(s, c, sl, &b)))
				nstore++;
			/* The reply, and the early answer it may have. */
			c->batch_bytes += PROTO_HDR_LEN + sl->rep.enc.len +
			    ((q->flags & PROTO_F_EARLY) ? PROTO_HDR_LEN : 0);
		}
	}
	if (own && n < BATCH_MAX) {
		nown = server_own(s, &b, n, BATCH_MAX - n);
		n += nown;
		nstore += nown;
	}
	if (dispatch_rerun(&b))
		for (i = 0; i < n; i++) {
			sl = &s->batch[i];
			if (!sl->stored)
				continue;
			dreply_free(&sl->rep);
			slot_run(&b, sl);
		}
	for (i = 0; i < n; i++) {
		sl = &s->batch[i];
		/*
		 * Only a write not flagged PROTO_F_SHARE flushes at once: a
		 * request that wrote nothing (a read, a ping, a notifier's poll
		 * with nothing due) has its reply held behind the batch's
		 * records all the same (server_gate), so it shares the wait.
		 */
		if (sl->rep.wrote && !(sl->q->flags & PROTO_F_SHARE))
			share = 0;
		if (sl->rep.wrote && !(sl->q->flags & PROTO_F_SHARE_LONG))
			longer = 0;
		/* Only a type msgtab.c says may be, whatever the flags. */
		sl->early = (sl->q->flags & PROTO_F_EARLY) &&
		    sl->rep.err == 0 && sl->rep.wrote && !sl->rep.late &&
		    proto_msg(sl->q->type) != NULL &&
		    proto_msg(sl->q->type)->early;
		if (sl->early)
			client_early(sl->c, sl);
	}
	/* The early answers leave before the disk flush they overlap. */
	early_at = 0;
	for (i = 0; i < n; i++)
		if (s->batch[i].early) {
			if (early_at == 0 && log_wants(LOG_LEVEL_DEBUG))
				early_at = proto_mono_us();
			client_flush(s->batch[i].c);
		}
	/* When (µs, monotonic): storaged's step in tests/bench/turn-steps.mjs. */
	if (early_at != 0)
		log_debug("early answers sent at %llu",
		    (unsigned long long)early_at);
	t0 = proto_mono_us();
	/* Every request may wait for company: the commit is not flushed. */
	store_defer_flush(s->st, share);
	failed = dispatch_end(&b) < 0;
	store_defer_flush(s->st, 0);
	/*
	 * A write batch that changed nothing (the notifier asking for due
	 * deliveries when none are) appended no log record and counts as a
	 * read: the write commits are the ones the disk sees.
	 */
	write = write && b.txn.wrote;
	/* Batches of metrics requests alone would skew the numbers. */
	if (nstore > 0)
		smetrics_commit(proto_mono_us() - t0, nstore, write, failed);
	server_share(s, share, longer, n);
	/* Unsynced commits reach the disk within sync_ms of the first one. */
	if (write && !failed && s->sync_ms > 0 && s->sync_due == 0)
		s->sync_due = proto_mono_ms() + s->sync_ms;

	/*
	 * What the batch sends waits for its record (or the last record,
	 * for reads: they saw it) to be on disk (a shared flush) and, with
	 * PARLEY_SYNC=replica, at the standby; and so does everything after
	 * what waits already.
	 */
	if (!TAILQ_EMPTY(&s->held) || store_seq(s->st) > server_gate(s))
		s->hold_seq = store_seq(s->st);
	/*
	 * Each request's reply, then what it made known (server_told): a
	 * reply reflects the requests before it in the batch (one txn), so
	 * their events come before it and the later ones' after. A worker
	 * resuming a conversation (ST_WS_OPEN after a message stored in the
	 * same batch) would otherwise get the message in the history and
	 * then again as an event. A failed batch carries no events
	 * (dreply_batch_failed).
	 */
	for (i = 0; i < n; i++) {
		sl = &s->batch[i];
		if (failed)
			dreply_batch_failed(&sl->rep, &b);
		/* (c NULL: storaged's own request, no one to answer) */
		if (sl->c != NULL) {
			client_turn_note(s, sl->c, &sl->rep);
			if (!sl->c->dead)
				client_reply(s, sl->c, sl);
		}
		server_told(s, &sl->rep);
		dreply_free(&sl->rep);
	}
	if (failed && nown > 0)
		server_own_failed(s, nown);
	server_forget(s);
	s->hold_seq = 0;
	TAILQ_FOREACH(c, &s->clients, entry)
		c->batch_bytes = 0;
	server_guard_told(s);
	/* A full batch left some waiting: start with someone else next. */
	if (n == BATCH_MAX && (c = TAILQ_FIRST(&s->clients)) != NULL) {
		TAILQ_REMOVE(&s->clients, c, entry);
		TAILQ_INSERT_TAIL(&s->clients, c, entry);
	}
	return n;
}

/* ---------------------------------------------------------------- backup */

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): with PARLEY_TEST_BACKUP_REPLY_MS
 * set, a copy made is answered that many milliseconds late, logged
 * first: the tests of a parleyctl backup interrupted while it waits.
 */
static void
backup_hold(void)
{
	unsigned long ms = settings_test_hook("PARLEY_TEST_BACKUP_REPLY_MS");

	if (ms == 0)
		return;
	log_info("test hook: backup copied, its reply held %lu ms", ms);
	(void)nanosleep(&(struct timespec){ (time_t)(ms / 1000),
	    (long)(ms % 1000) * 1000000 }, NULL);
}
#else
#define backup_hold()	((void)0)
#endif

static void *
backup_thread(void *arg)
{
	struct backup *bk = arg;
	ssize_t n;

	bk->rc = store_backup(bk->st, bk->fd);
	backup_hold();
	/* One byte wakes the loop; rc is read after the join. */
	do
		n = write(bk->pipe[1], "", 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

static void
backup_error(struct client *c, uint32_t id, uint32_t code, const char *msg)
{
	if (c->dead)
		return;
	if (pchan_send_error(&c->ch, PROTO_ST_BACKUP, id, code, msg) < 0)
		client_kill(c);
}

/* Why a backup cannot start now (unavailable), or NULL. */
static const char *
backup_busy(const struct server *s)
{
	if (s->bk.running)
		return "busy: a backup is already running";
	if (s->quitting)
		return "storaged is stopping";
	if (!repl_readable())
		return REPL_UNCHECKED_ERR;	/* a read of our data */
	return NULL;
}

/* Takes m's fd whatever happens. */
static void
backup_start(struct server *s, struct client *c, const struct pmsg *m)
{
	struct backup *bk = &s->bk;
	const char *busy;
	struct stat sb;
	int fl, rc;

	if (m->fd < 0 || m->hdr.len != 0) {
		if (m->fd >= 0)
			close(m->fd);
		backup_error(c, m->hdr.id, PROTO_E_INVALID,
		    "backup needs an empty request with a file descriptor");
		return;
	}
	if (fstat(m->fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size != 0 ||
	    (fl = fcntl(m->fd, F_GETFL)) < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		close(m->fd);
		backup_error(c, m->hdr.id, PROTO_E_INVALID,
		    "backup needs an empty regular file open for writing");
		return;
	}
	if ((busy = backup_busy(s)) != NULL) {
		close(m->fd);
		backup_error(c, m->hdr.id, PROTO_E_UNAVAILABLE, busy);
		return;
	}
	/* The copy reads LMDB's last commit: every acknowledged write first. */
	if (store_checkpoint(s->st) < 0) {
		close(m->fd);
		/* A full disk or map says so (store_stalled), as writes do. */
		backup_error(c, m->hdr.id, store_stalled(s->st) != NULL ?
		    PROTO_E_UNAVAILABLE : PROTO_E_INTERNAL,
		    store_stalled(s->st) != NULL ? store_stalled(s->st) :
		    "cannot checkpoint before the backup");
		return;
	}
	bk->st = s->st;
	bk->fd = m->fd;
	bk->c = c;
	bk->id = m->hdr.id;
	bk->rc = 0;
	bk->started = proto_mono_ms();
	if ((rc = pthread_create(&bk->thread, NULL, backup_thread, bk)) != 0) {
		log_warnx("backup: thread: %s", strerror(rc));
		close(m->fd);
		backup_error(c, m->hdr.id, PROTO_E_INTERNAL,
		    "cannot start the backup");
		return;
	}
	bk->running = 1;
	log_info("backup for client %llu (%s) started", c->serial,
	    client_name(c));
}

/* Joins the finished thread and answers whoever asked. */
static void
backup_done(struct server *s)
{
	struct backup *bk = &s->bk;
	struct penc e;
	struct stat sb;
	char msg[128], b;
	uint64_t size = 0;

	while (read(bk->pipe[0], &b, 1) > 0)
		;
	if (!bk->running)
		return;
	pthread_join(bk->thread, NULL);
	bk->running = 0;
	if (bk->rc == 0 && fstat(bk->fd, &sb) == 0)
		size = (uint64_t)sb.st_size;
	close(bk->fd);
	bk->fd = -1;
	/*
	 * The copy is of a commit the log's records follow: none to come
	 * may be (a start refuses to replay them over the backup put back
	 * as data.mdb, operations.md), or the backup is not answered made.
	 */
	if (bk->rc == 0 && store_backup_seal(s->st) < 0) {
		log_warnx("backup: no checkpoint could follow the copy");
		bk->rc = -1;
	}
	if (bk->rc == 0)
		log_info("backup done: %llu bytes in %lld ms",
		    (unsigned long long)size, proto_mono_ms() - bk->started);
	if (bk->c == NULL || bk->c->dead)
		return;
	if (bk->rc != 0) {
		snprintf(msg, sizeof(msg), "backup failed: %s",
		    bk->rc == -1 ? "cannot checkpoint after the copy" :
		    bk->rc > 0 ? strerror(bk->rc) : mdb_strerror(bk->rc));
		backup_error(bk->c, bk->id, PROTO_E_INTERNAL, msg);
		return;
	}
	penc_init(&e);
	if (st_rep_encode(&e, PROTO_ST_BACKUP, &(struct st_u64){ size }) < 0 ||
	    pchan_send(&bk->c->ch, PROTO_ST_BACKUP, PROTO_F_REPLY, bk->id,
	    e.buf, e.len, -1) < 0)
		client_kill(bk->c);
	penc_free(&e);
}

/* ---------------------------------------------------------------- server */

/* Stops (rest = 1) or resumes accepting, on both listeners. */
static void
listener_rest(struct server *s, int rest)
{
	if (loop_io_mod(&s->lio, rest ? 0 : EPOLLIN) < 0 ||
	    (s->tfd >= 0 && loop_io_mod(&s->tio, rest ? 0 : EPOLLIN) < 0))
		fatal("epoll_ctl listener");
	s->lpaused_at = rest ? proto_mono_ms() : 0;
}

/* How many of the clients from ip are in their handshake. */
static int
server_peer_handshakes(struct server *s, const struct peer_ip *ip)
{
	struct client *c;
	int n = 0;

	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->handshaking && !c->dead && peer_ip_eq(&c->ip, ip))
			n++;
	return n;
}

/* How many TLS connections from ip are open, in their handshake or not. */
static uint32_t
server_peer_conns(struct server *s, const struct peer_ip *ip)
{
	struct client *c;
	uint32_t n = 0;

	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->ch.ssl != NULL && !c->dead && peer_ip_eq(&c->ip, ip))
			n++;
	return n;
}

/*
 * TLS_CLIENTS_MAX, or less in the test build (PARLEY_TEST_TLS_CLIENTS_MAX:
 * the cap's test, where a thousand handshakes were 13 s of both cores).
 */
static int
tls_clients_max(void)
{
	return (int)SETTINGS_TEST_LOWER("PARLEY_TEST_TLS_CLIENTS_MAX",
	    TLS_CLIENTS_MAX);
}

unsigned
peer_dead_ms(void)
{
	return (unsigned)SETTINGS_TEST_LOWER("PARLEY_TEST_PEER_DEAD_MS",
	    PEER_DEAD_MS);
}

#define PEER_FULL_TEXT	"its address has the most connections open already"

/*
 * Why a new TLS peer from ip may not start its handshake now: every
 * connection taken, its address's connections all open already, every
 * slot taken, its address's share taken, or only reserved slots left and
 * its address never completed a handshake. NULL when it may.
 */
static const char *
server_cap_why(struct server *s, const struct peer_ip *ip)
{
	if (s->ntls >= tls_clients_max())
		return "every connection is taken";
	if (ip->family != 0 && server_peer_conns(s, ip) >= s->tls_peer_max)
		return PEER_FULL_TEXT;
	if (s->nhandshakes >= HANDSHAKE_MAX)
		return "every handshake slot is taken";
	if (server_peer_handshakes(s, ip) >= HANDSHAKE_PEER_MAX)
		return "its address has the most in their handshake already";
	if (s->nhandshakes >= HANDSHAKE_MAX - HANDSHAKE_RESERVED &&
	    !server_certified(s, ip))
		return "the slots left are kept for certified peers";
	return NULL;
}

/*
 * A connection from ip (addr, with its port) closed at tls_peer_max: said
 * once a CAP_LOG_MS per address (so one address's flood does not hide
 * another's), with how many were closed since; PEER_LOG_MAX addresses
 * remembered, the one said longest ago forgotten first.
 */
static void
server_peer_full_log(struct server *s, const struct peer_ip *ip,
    const char *addr, long long now)
{
	size_t i, slot = 0;

	for (i = 0; i < PEER_LOG_MAX; i++) {
		if (s->peer_logged[i].at != 0 &&
		    peer_ip_eq(&s->peer_logged[i].ip, ip))
			break;
		if (s->peer_logged[i].at < s->peer_logged[slot].at)
			slot = i;
	}
	if (i < PEER_LOG_MAX) {
		slot = i;
		if (now - s->peer_logged[i].at < CAP_LOG_MS) {
			s->peer_logged[i].quiet++;
			return;
		}
	} else {
		s->peer_logged[slot].ip = *ip;
		s->peer_logged[slot].quiet = 0;
	}
	log_warnx("%s: connection from %s closed at once: its address has "
	    "%u open, PARLEY_STORAGED_TLS_PEER_MAX (%lu more closed since "
	    "the last line)", s->tname, addr, s->tls_peer_max,
	    s->peer_logged[slot].quiet);
	s->peer_logged[slot].at = now;
	s->peer_logged[slot].quiet = 0;
}

/*
 * A TLS peer past a cap: closed at once, and said once a minute (per
 * address at tls_peer_max). 1 when fd was closed so.
 */
static int
server_at_cap(struct server *s, int fd, const struct peer_ip *ip)
{
	long long now = proto_mono_ms();
	const char *why;
	char addr[64];

	if ((why = server_cap_why(s, ip)) == NULL)
		return 0;
	peer_addr(fd, addr, sizeof(addr));
	close(fd);
	if (strcmp(why, PEER_FULL_TEXT) == 0) {
		server_peer_full_log(s, ip, addr, now);
		return 1;
	}
	s->cap_closed++;
	if (s->cap_logged == 0 || now - s->cap_logged >= CAP_LOG_MS) {
		log_warnx("%s: %lu connection(s) closed at once, %d in their "
		    "TLS handshake (the latest from %s: %s)", s->tname,
		    s->cap_closed, s->nhandshakes, addr, why);
		s->cap_logged = now;
		s->cap_closed = 0;
	}
	return 1;
}

static void
server_accept(struct server *s, int lfd, int tls)
{
	struct peer_ip ip;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0 && !tls) {
			client_new(s, fd, NULL);
			continue;
		}
		if (fd >= 0) {
			/* A client host cut off sends no reset: let TCP tell. */
			if (staddr_tcp_dead_after(fd, peer_dead_ms()) < 0)
				log_warn("TLS client: keepalive");
			peer_ip_of(fd, &ip);
			if (!server_at_cap(s, fd, &ip))
				client_new(s, fd, &ip);
			continue;
		}
		switch (proto_accept_err(errno)) {
		case PROTO_ACCEPT_EMPTY:
			return;
		case PROTO_ACCEPT_NEXT:
			continue;
		case PROTO_ACCEPT_SPENT:
			/* Level-triggered: rest or the loop would spin. */
			log_warn("accept");
			listener_rest(s, 1);
			return;
		default:
			log_warn("accept");
			return;
		}
	}
}

static void
listener_io(int fd, uint32_t events, void *arg)
{
	struct server *s = arg;

	if (s->lfd >= 0)
		server_accept(s, s->lfd, 0);
}

static void
tls_listener_io(int fd, uint32_t events, void *arg)
{
	struct server *s = arg;

	if (s->tfd >= 0)
		server_accept(s, s->tfd, 1);
}

void
server_listen_tls(struct server *s, int lfd, SSL_CTX *ctx, const char *name,
    uint32_t peer_max, size_t budget)
{
	s->tfd = lfd;
	s->tctx = ctx;
	s->tls_peer_max = peer_max;
	s->tls_budget = budget;
	strlcpy(s->tname, name, sizeof(s->tname));
	if (loop_io_add(&s->tio, lfd, EPOLLIN, tls_listener_io, s) < 0)
		fatal("epoll_ctl TLS listener");
}

void
server_set_role(struct server *s, int role, const char *primary)
{
	struct st_ev_role m;

	s->role = role;
	strlcpy(s->primary, primary != NULL ? primary : "",
	    sizeof(s->primary));
	memset(&m, 0, sizeof(m));
	m.role = (uint8_t)role;
	strlcpy(m.primary, s->primary, sizeof(m.primary));
	server_tell_all(s, PROTO_ST_EV_ROLE, &m, "role");
}

static void
backup_io(int fd, uint32_t events, void *arg)
{
	backup_done(arg);
}

struct server *
server_new(struct store *st, struct ratelimit *rl, int lfd)
{
	struct server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->batch = calloc(BATCH_MAX, sizeof(*s->batch))) == NULL)
		fatal("server");
	s->st = st;
	s->rl = rl;
	if ((s->ev = evring_new()) == NULL)
		fatal("event ring");
	s->lfd = lfd;
	s->tfd = -1;
	s->role = ST_REPL_PRIMARY;
	TAILQ_INIT(&s->clients);
	TAILQ_INIT(&s->held);
	if (loop_io_add(&s->lio, lfd, EPOLLIN, listener_io, s) < 0)
		fatal("epoll_ctl listener");
	s->bk.fd = -1;
	if (pipe2(s->bk.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe2");
	if (loop_io_add(&s->bk.io, s->bk.pipe[0], EPOLLIN, backup_io, s) < 0)
		fatal("epoll_ctl backup pipe");
	loop_timer_init(&s->guard, server_guard_tick, s);
	loop_timer_after(&s->guard, GUARD_MS);
	loop_timer_init(&s->lost_tm, lost_tick, s);
	/* A lost worker's turn holds its conversation no more. */
	store_set_turn_left(st, lost_has);
	return s;
}

void
server_set_sync(struct server *s, int interval_ms)
{
	s->sync_ms = interval_ms;
}

void
server_sync(struct server *s)
{
	if (s->sync_due == 0)
		return;
	s->sync_due = 0;
	(void)store_sync(s->st);
}

/*
 * The TLS clients' budget, once a turn: what they hold counted again; the
 * starved ones read if they may now; and while some still wait past the
 * budget, the one holding the most (not the standby) is closed, said at
 * most once every REFUSED_LOG_MS (the ones between counted).
 */
static void
server_tls_budget(struct server *s)
{
	struct client *c, *big = NULL;
	long long now;
	int waiting = 0;

	s->tls_bytes = 0;
	if (s->ntls == 0)
		return;	/* no TLS client: nothing held, none starved */
	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->ch.ssl != NULL && !c->dead)
			s->tls_bytes += client_tls_bytes(c);
	TAILQ_FOREACH(c, &s->clients, entry) {
		if (!c->starved || c->dead)
			continue;
		if (!client_over_budget(s, c)) {
			c->starved = 0;
			client_read(s, c);
			if (!c->dead)
				client_interest(s, c);
		}
		waiting += c->starved;
	}
	if (waiting == 0 || !server_over_budget(s))
		return;
	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->ch.ssl != NULL && !c->dead && !repl_is_standby(c) &&
		    (big == NULL || client_tls_bytes(c) > client_tls_bytes(big)))
			big = c;
	if (big == NULL)
		return;
	client_kill(big);
	now = proto_mono_ms();
	if (s->budget_logged != 0 && now - s->budget_logged < REFUSED_LOG_MS) {
		s->budget_quiet++;
		return;
	}
	log_warnx("client %llu (%s, %s): closed: the TLS clients hold %zu "
	    "bytes, PARLEY_STORAGED_TLS_BUFFER_MB is %zu MB, %d wait to read, "
	    "and it held the most (%zu bytes of requests, %zu of replies "
	    "unread; %lu more closed since the last line)", big->serial,
	    client_name(big), big->addr, s->tls_bytes, s->tls_budget >> 20,
	    waiting, big->ch.rcap, big->ch.wq_bytes + big->held_bytes,
	    s->budget_quiet);
	s->budget_logged = now;
	s->budget_quiet = 0;
}

void
server_step(struct server *s)
{
	struct client *c, *tmp;
	long long now;

	server_batch(s);
	if (s->flush_due != 0 && proto_mono_us() >= s->flush_due)
		server_flush(s);
	if (s->sync_due != 0 && proto_mono_ms() >= s->sync_due)
		server_sync(s);
	repl_step();
	server_release(s);
	/* Rate windows that ended go a few at a time, traffic or not. */
	ratelimit_sweep(s->rl, RATE_SWEEP_TURN);
	now = proto_mono_ms();
	TAILQ_FOREACH(c, &s->clients, entry) {
		client_flush(c);
		if (c->handshaking && !c->dead) {
			client_tls_done(s, c);
			if (c->handshaking && now >= c->hs_deadline)
				client_refused(s, c, "no handshake in time");
		}
		if (c->hello_wait && !c->dead) {
			if (c->ch.peer[0] != '\0')
				c->hello_wait = 0;
			else if (now >= c->hs_deadline)
				client_refused(s, c, "no HELLO in time");
		}
		/* Said all it had to say and heard every answer. */
		if (c->eof && c->next == c->nreqs && !pchan_pending(&c->ch))
			client_kill(c);
		/* TLS holds bytes the socket will not signal again. */
		if (client_wants_read(s, c) && pchan_buffered(&c->ch))
			client_read(s, c);
		frame_check(s, c, now);
		/* Its requests ran: a large request's buffer goes. */
		if (c->ch.ssl != NULL && c->next == c->nreqs && !c->dead)
			pchan_trim(&c->ch, TLS_RBUF_KEEP);
		if (!c->dead)
			client_interest(s, c);
	}
	server_tls_budget(s);
	TAILQ_FOREACH_SAFE(c, &s->clients, entry, tmp)
		if (c->dead)
			client_free(s, c);
	if (s->lpaused_at != 0 && s->lfd >= 0 &&
	    proto_mono_ms() - s->lpaused_at >= ACCEPT_PAUSE_MS)
		listener_rest(s, 0);
}

int
server_timeout(struct server *s)
{
	struct client *c;
	long long left;
	int t;

	/*
	 * ... or one is starved: it reads now, or (still past the budget)
	 * the largest holder is closed (server_tls_budget), one a turn.
	 */
	TAILQ_FOREACH(c, &s->clients, entry)
		if (client_runnable(c) || (c->starved && !c->dead))
			return 0;
	t = s->lpaused_at != 0 ? ACCEPT_PAUSE_MS : -1;
	/* A handshake's deadline, its HELLO's, or a request's. */
	TAILQ_FOREACH(c, &s->clients, entry) {
		if (!c->handshaking && !c->hello_wait && c->frame_due == 0)
			continue;
		left = c->frame_due;
		if ((c->handshaking || c->hello_wait) &&
		    (left == 0 || c->hs_deadline < left))
			left = c->hs_deadline;
		left -= proto_mono_ms();
		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = (int)left;
	}
	if (s->flush_due != 0) {
		/* In whole ms, rounded up: not a turn before it is due. */
		left = ((long long)s->flush_due - (long long)proto_mono_us() +
		    999) / 1000;
		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = (int)left;
	}
	if (s->sync_due != 0) {
		left = s->sync_due - proto_mono_ms();
		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = (int)left;
	}
	return t;
}

/* Closes the TLS listener, if any. */
static void
server_tls_close(struct server *s)
{
	if (s->tfd < 0)
		return;
	loop_io_del(&s->tio);
	close(s->tfd);
	s->tfd = -1;
}

void
server_quit(struct server *s)
{
	if (s->lfd >= 0) {
		loop_io_del(&s->lio);
		close(s->lfd);
		s->lfd = -1;
	}
	server_tls_close(s);
	s->lpaused_at = 0;
	s->quitting = 1;
}

int
server_idle(struct server *s)
{
	struct client *c;

	if (s->bk.running || !TAILQ_EMPTY(&s->held))
		return 0;
	TAILQ_FOREACH(c, &s->clients, entry)
		if (client_runnable(c) || pchan_pending(&c->ch))
			return 0;
	return 1;
}

void
server_free(struct server *s)
{
	struct client *c;
	size_t i;

	/* The copy reads the environment: it ends before the store closes. */
	if (s->bk.running) {
		log_info("waiting for the backup to finish");
		pthread_join(s->bk.thread, NULL);
		close(s->bk.fd);
	}
	loop_timer_stop(&s->guard);
	server_hold_drop(s);
	loop_io_del(&s->bk.io);
	close(s->bk.pipe[0]);
	close(s->bk.pipe[1]);
	/* Our own end loses no worker: its turns are not left to end. */
	TAILQ_FOREACH(c, &s->clients, entry)
		turnset_free(&c->turns);
	while ((c = TAILQ_FIRST(&s->clients)) != NULL)
		client_free(s, c);
	loop_timer_stop(&s->lost_tm);
	lost_reset();
	for (i = 0; i < TURN_LOST_BATCH; i++)
		penc_free(&s->own_enc[i]);
	if (s->lfd >= 0) {
		loop_io_del(&s->lio);
		close(s->lfd);
	}
	server_tls_close(s);
	SSL_CTX_free(s->tctx);
	evring_free(s->ev);
	free(s->batch);
	free(s);
}

/* ---------------------------------------------------------------- replication */

/* Every held message goes: replies fail (code, msg), the rest unsent. */
static void
hold_end(struct server *s, uint32_t code, const char *msg)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&s->held)) != NULL) {
		TAILQ_REMOVE(&s->held, h, entry);
		if (h->c != NULL) {
			h->c->held_bytes -= PROTO_HDR_LEN + h->len;
			if (code != 0 && (h->flags & PROTO_F_REPLY) &&
			    !h->c->dead && pchan_send_error(&h->c->ch, h->type,
			    h->id, code, msg) < 0)
				client_kill(h->c);
		}
		free(h);
	}
}

void
server_hold_fail(struct server *s)
{
	size_t n = 0;
	struct held *h;

	TAILQ_FOREACH(h, &s->held, entry)
		n++;
	if (n > 0)
		log_warnx("%zu replies held for the standby fail: not primary",
		    n);
	hold_end(s, PROTO_E_NOT_PRIMARY, "not primary");
}

void
server_hold_drop(struct server *s)
{
	hold_end(s, 0, NULL);
}

void
server_drop(struct server *s, void *who)
{
	struct client *c;

	TAILQ_FOREACH(c, &s->clients, entry)
		if (c == who)
			client_kill(c);
}

int
server_backup_running(const struct server *s)
{
	return s->bk.running;
}

/* ST_REPL_PROMOTE: the promotion, answered at once. */
static void
server_promote(struct client *c, const struct pmsg *m)
{
	struct st_u64 in, out;
	const char *err = NULL;
	struct penc e;
	int rc;

	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0)
		err = "malformed request";
	else if (cluster_decides())
		err = "etcd's lease decides who is primary (PARLEY_ROLE=auto): "
		    "stop the primary instead";
	else if (repl_promote(in.v, &out.v, &err) == 0) {
		penc_init(&e);
		rc = st_rep_encode(&e, m->hdr.type, &out) < 0 ? -1 :
		    pchan_send(&c->ch, m->hdr.type, PROTO_F_REPLY, m->hdr.id,
		    e.buf, e.len, -1);
		penc_free(&e);
		if (rc < 0)
			client_kill(c);
		return;
	}
	if (pchan_send_error(&c->ch, m->hdr.type, m->hdr.id, err != NULL &&
	    strcmp(err, "malformed request") == 0 ? PROTO_E_INVALID :
	    PROTO_E_UNAVAILABLE, err) < 0)
		client_kill(c);
}

/* ST_REPL_STATUS: where replication stands. */
static void
server_repl_status(struct client *c, const struct pmsg *m)
{
	struct st_repl_status st;
	struct penc e;
	int rc;

	if (m->hdr.len != 0) {
		if (pchan_send_error(&c->ch, m->hdr.type, m->hdr.id,
		    PROTO_E_INVALID, "malformed request") < 0)
			client_kill(c);
		return;
	}
	repl_status(&st);
	penc_init(&e);
	rc = st_rep_encode(&e, m->hdr.type, &st) < 0 ? -1 :
	    pchan_send(&c->ch, m->hdr.type, PROTO_F_REPLY, m->hdr.id, e.buf,
	    e.len, -1);
	penc_free(&e);
	if (rc < 0)
		client_kill(c);
}

/*
 * Replication's messages, taken out as they are read: the stream's to
 * repl.c, parleyctl's answered here. 0, or -1 (c is to be closed).
 */
static int
server_repl(struct server *s, struct client *c, const struct pmsg *m)
{
	switch (m->hdr.type) {
	case PROTO_ST_REPL_PROMOTE:
		server_promote(c, m);
		return 0;
	case PROTO_ST_REPL_STATUS:
		server_repl_status(c, m);
		return 0;
	default:
		if (repl_client_msg(c, &c->ch, m) < 0) {
			log_warnx("client %llu (%s): replication stream "
			    "refused, closing", c->serial, client_name(c));
			return -1;
		}
		return 0;
	}
}
