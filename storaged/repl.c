/*
 * Replication (repl.h): a primary's backlog, its stream to the standby
 * (records, snapshots made by a thread), the standby's acknowledgements
 * and what they release; a standby's link to its primary, its apply and
 * its acknowledgements; promotion and fencing. One per process, on the
 * loop, like sweep.c. storaged/STORAGE.md, "Replication".
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "dnslookup.h"
#include "log.h"
#include "loop.h"
#include "metrictotals.h"
#include "msgtab.h"
#include "repl.h"
#include "settings.h"
#include "staddr.h"
#include "storaged.h"
#include "tlschan.h"
#include "wal.h"

#define TICK_MS		250
/* A hand-promoted primary dials the one it followed this often, and waits so long. */
#define WATCH_MS	1000
#define WATCH_WAIT_MS	5000
/*
 * A fixed pair's primary, just started with PARLEY_SYNC=replica, waits so
 * long for its standby before acknowledging writes alone: should its
 * standby have been promoted by hand meanwhile, the new primary's watch
 * (a dial every WATCH_MS) fences it first, and nothing it acknowledged is
 * lost with it.
 */
#define START_WAIT_MS	3000
/* Peers whose last snapshot's time is kept for the spacing (the oldest goes). */
#define SNAP_PEERS	16
/* A peer as the spacing and the logs name it ("certificate CN=node1"). */
#define SNAP_PEER_LEN	80

/* A record of the backlog: a copy of its body, the history's digest before. */
struct rrec {
	uint64_t seq;
	size_t len;
	uint8_t *body;
	uint8_t pre[STORE_DIGEST_LEN];
};

/* A peer's last snapshot (REPL_SNAP_SPACING_MS): its grant, then its end. */
struct snap_peer {
	char id[SNAP_PEER_LEN];
	long long at;		/* 0: a free entry */
};

/* The snapshot a primary sends: a thread copies LMDB into a pipe. */
struct snap {
	int on;			/* being sent (the thread may be done) */
	int running;		/* the thread is to be joined */
	pthread_t thread;
	struct store *st;
	int rfd, wfd;		/* the pipe: the loop reads rfd */
	int rc;			/* the thread's result */
	uint64_t seq;		/* the checkpoint taken before it */
	uint64_t bytes;
	struct loop_io io;
	uint32_t interest;
};

static struct {
	struct server *srv;
	struct store *st;
	struct repl_settings set;
	int role;		/* enum st_repl_role */
	struct loop_timer tick;
	uint8_t *buf;		/* ST_REPL_CHUNK: a snapshot chunk read */

	/* A primary: the backlog, a ring of the newest records. */
	struct rrec *bl;
	size_t blcap, blhead, bln, blbytes;
	int standby_seen;	/* a standby connected once: keep the backlog */
	/* Its standby: the client streaming, NULL when none. */
	void *sb;
	struct pchan *sbch;
	char sbaddr[ST_REPL_ADDR_MAX + 1];	/* its PARLEY_ADVERTISE */
	uint64_t sent;		/* the last record sent (or in the snapshot) */
	uint64_t acked;		/* the last record the standby has on disk */
	uint64_t snap_top;	/* its snapshot holds no record past it; 0 */
	long long waiting_since;	/* an acknowledgement is awaited; 0 none */
	struct snap snap;
	/* PARLEY_SYNC=replica: the standby's state as the replies see it. */
	int in_sync;		/* holds every acknowledged write */
	int alone;		/* replies leave without the standby */
	int cluster_out;	/* the cluster agreed no standby is in sync */
	int out_asked;		/* cluster_standby_out called, no answer yet */
	/* Sync changes asked of the cluster (out or in), which it takes in order. */
	uint64_t sync_asks;
	/* The standby etcd's sync key may name (the last "in" asked); "" none. */
	char named[ST_REPL_ADDR_MAX + 1];
	/*
	 * Another standby streams while etcd may name the one before: write
	 * replies past hold_at (what that one had) wait until etcd names none.
	 */
	int hold;
	uint64_t hold_at;
	/*
	 * The standby etcd names in sync needs a snapshot: it begins once
	 * etcd names none (named_none), so that a standby that crashes while
	 * swapping it in is never named with the data it then has.
	 */
	int snap_wait;
	int away_logged;
	long long start_wait_until;	/* START_WAIT_MS's end; 0 none */
	/* Snapshots' spacing per peer, and the peer the one granted is for. */
	struct snap_peer peers[SNAP_PEERS];
	char snap_for[SNAP_PEER_LEN];
	long long refused_at;	/* a refused snapshot's last line; 0 none */
	unsigned refused_quiet;	/* refused since that line, not logged */
	uint64_t catchup_to;	/* in sync once acknowledged this far */
	uint64_t outs;		/* times the standby went out of sync */

	/* A standby: its link to the primary. */
	char *primary;
	int checked;		/* a primary checked our data (repl_readable) */
	struct pchan up;
	struct loop_io up_io;
	int up_fd;		/* -1 when not linked */
	int up_started;		/* ST_REPL_START was answered */
	long long up_since;	/* the dial's time (the answer's deadline) */
	long long retry_at;	/* when to dial again; 0 now */
	int retry_ms;
	int down_logged;
	int older_warned;	/* "the primary ... is in term N, older" said */
	/* The primary's last refusal of our stream, logged once; "" none. */
	char refused[128];
	int up_said;		/* this link's end was said (a refusal, a held snapshot) */
	/*
	 * A whole snapshot in spath waits for the backup under way (up_snap):
	 * swapped in once it is done, before the next dial (tick).
	 */
	int snap_held;
	uint8_t *rec;		/* a record being put together from its parts */
	size_t rec_len, rec_cap;
	uint64_t rec_seq;
	/*
	 * A standby promoted by hand (a fixed pair): the link dials the
	 * primary it followed now and then, and tells it to step down when
	 * it is back as a primary (ST_REPL_NEWER).
	 */
	int watch;
	int watch_warned;	/* "two primaries" said */
	long long watch_since;	/* the dial's time, the link open */
	int sfd;		/* the snapshot being received; -1 none */
	uint64_t sbytes;
	char spath[PATH_MAX];
} R = { .up_fd = -1, .sfd = -1, .snap = { .rfd = -1, .wfd = -1 } };

static void publish(void);
static void standby_gone(const char *why);
static int snap_start(void);
static void pump(void);
static void up_close(const char *why);

/* ---------------------------------------------------------------- backlog */

static struct rrec *
bl_at(size_t i)
{
	return &R.bl[(R.blhead + i) % R.blcap];
}

/* The record seq, or NULL when the backlog does not hold it. */
static struct rrec *
bl_find(uint64_t seq)
{
	uint64_t first;

	if (R.bln == 0)
		return NULL;
	first = bl_at(0)->seq;
	if (seq < first || seq - first >= R.bln)
		return NULL;
	return bl_at((size_t)(seq - first));
}

static void
bl_drop_first(void)
{
	struct rrec *r = bl_at(0);

	R.blbytes -= r->len;
	free(r->body);
	r->body = NULL;
	R.blhead = (R.blhead + 1) % R.blcap;
	R.bln--;
}

static void
bl_clear(void)
{
	while (R.bln > 0)
		bl_drop_first();
	R.blhead = 0;
}

/* Room for one more record: 0, or -1 out of memory. */
static int
bl_room(void)
{
	struct rrec *nb;
	size_t cap, i;

	if (R.bln < R.blcap)
		return 0;
	cap = R.blcap ? R.blcap * 2 : 1024;
	if ((nb = calloc(cap, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < R.bln; i++)
		nb[i] = *bl_at(i);
	free(R.bl);
	R.bl = nb;
	R.blcap = cap;
	R.blhead = 0;
	return 0;
}

/*
 * A record appended (store_on_record): kept, the oldest dropped past the
 * bound; a standby that still needed one of those starts again.
 */
static void
on_record(void *arg, uint64_t seq, const uint8_t *pre, const uint8_t *body,
    size_t len)
{
	struct rrec *r;
	uint64_t need = R.sent + 1;

	if (body == NULL) {
		/* A number spent by a failed append: no record to send. */
		bl_clear();
		if (R.sb != NULL)
			standby_gone("record seq was spent by a failed append: "
			    "a snapshot follows");
		return;
	}
	if (bl_room() < 0 || (r = bl_at(R.bln), (r->body = malloc(len)) ==
	    NULL)) {
		log_warnx("replication: out of memory for the backlog");
		bl_clear();
		if (R.sb != NULL)
			standby_gone("out of memory for the backlog");
		return;
	}
	memcpy(r->body, body, len);
	memcpy(r->pre, pre, sizeof(r->pre));
	r->seq = seq;
	r->len = len;
	R.bln++;
	R.blbytes += len;
	while (R.blbytes > R.set.backlog_max && R.bln > 1) {
		if (R.sb != NULL && bl_at(0)->seq >= need) {
			log_warnx("replication: the standby is more than %zu "
			    "bytes of records behind (the backlog); it starts "
			    "again from a snapshot", R.set.backlog_max);
			standby_gone("fell behind the backlog");
		}
		bl_drop_first();
	}
	repl_step();
}

/*
 * Keeps every record appended from now on (a primary). A storaged that
 * expects no standby starts only once one connects: a plain single-host
 * install copies no record and holds no backlog.
 */
static void
backlog_keep(void)
{
	if (R.role == ST_REPL_PRIMARY && (R.set.expect_standby ||
	    R.standby_seen)) {
		store_digest_on(R.st);
		store_on_record(R.st, on_record, NULL);
	}
}

/* ---------------------------------------------------------------- sync state */

static void went_alone(void *);

/* The cluster asked to agree that no standby is in sync (went_alone). */
static void
ask_out(void)
{
	R.out_asked = 1;
	cluster_standby_out(went_alone, (void *)(uintptr_t)++R.sync_asks);
}

/* arg: the sync_asks of the "out" the cluster agreed to. */
static void
went_alone(void *arg)
{
	R.out_asked = 0;
	/*
	 * Back in sync meanwhile: the cluster is told so after this answer
	 * (cluster_standby_in, in order), so it is not out any more.
	 */
	if (R.role != ST_REPL_PRIMARY || R.in_sync)
		return;
	/*
	 * Back in sync and away again since: the cluster ends with the "in"
	 * asked after this answer, so out is asked again (going alone now
	 * would let etcd name, as holding every acknowledged write, a
	 * standby that lacks them).
	 */
	if ((uint64_t)(uintptr_t)arg != R.sync_asks) {
		ask_out();
		return;
	}
	R.cluster_out = 1;
	R.alone = 1;
	R.named[0] = '\0';
	log_warnx("replication: the standby is out of sync; acknowledging "
	    "writes without it (PARLEY_REPLICA_WAIT=degrade)");
	publish();
}

/*
 * The standby is away (gone, or silent past REPL_ACK_MS): with degrade,
 * the primary goes on alone once the cluster agrees; with block, replies
 * wait. Logged once per absence.
 */
static void
standby_away(const char *why)
{
	if (R.in_sync)
		R.outs++;
	R.in_sync = 0;
	if (!R.set.sync_replica || R.role != ST_REPL_PRIMARY)
		return;
	if (!R.away_logged) {
		R.away_logged = 1;
		log_warnx("replication: standby away (%s)%s", why,
		    R.set.wait_block ? "; write replies wait for it "
		    "(PARLEY_REPLICA_WAIT=block)" : R.start_wait_until != 0 ?
		    "; write replies wait for it a while after a start, "
		    "should it have been promoted meanwhile" : "");
	}
	if (R.set.wait_block || R.alone)
		return;
	if (R.start_wait_until != 0)
		return;		/* tick goes on at its end */
	if (R.cluster_out)
		went_alone((void *)(uintptr_t)R.sync_asks);
	else if (!R.out_asked)
		ask_out();
	publish();
}

/* After an acknowledgement: back in step with the standby? */
static void
standby_progress(void)
{
	uint64_t seq = store_seq(R.st);

	if (R.sb == NULL || R.snap.on)
		return;
	if (R.alone && seq - R.acked <= REPL_CATCHUP_LAG) {
		/* From now on replies wait; in sync once it has these. */
		R.alone = 0;
		R.catchup_to = seq;
		log_info("replication: the standby caught up to %llu records "
		    "behind; write replies wait for it again",
		    (unsigned long long)(seq - R.acked));
	}
	if (R.alone || R.in_sync || R.acked < R.catchup_to)
		return;
	R.in_sync = 1;
	R.away_logged = 0;
	log_info("replication: the standby is in sync at record %llu",
	    (unsigned long long)R.acked);
	if (R.set.sync_replica) {
		R.cluster_out = 0;
		R.sync_asks++;
		if (R.sbaddr[0] != '\0')
			strlcpy(R.named, R.sbaddr, sizeof(R.named));
		cluster_standby_in(R.sbaddr, store_term(R.st), R.acked);
	}
}

/* arg: the sync_asks of the "out" asked at a change of standby. */
static void
named_none(void *arg)
{
	if ((uint64_t)(uintptr_t)arg == R.sync_asks)
		R.named[0] = '\0';
	if (R.snap_wait && R.named[0] == '\0') {
		R.snap_wait = 0;
		if (R.sb != NULL && snap_start() < 0)
			standby_gone("cannot make a snapshot");
		else if (R.sb != NULL) {
			log_info("replication: etcd names no standby in sync: "
			    "the standby's snapshot begins");
			pump();
			publish();
		}
	}
	if (!R.hold)
		return;
	R.hold = 0;
	log_info("replication: etcd names no standby in sync: write replies "
	    "follow the new standby");
}

/*
 * A standby at addr starts streaming: under the lease, while etcd may
 * name another one as in sync, what that one lacks is not acknowledged
 * on this one's word until etcd names none (a kill of this primary
 * would promote the one that lacks it). So too when etcd names this one
 * and it needs a snapshot (its data is not what it had when named: a
 * data directory rebuilt or replaced while away; with block, away leaves
 * it named): etcd names none until it is in sync again.
 */
static void
named_check(const char *addr, int snapshot)
{
	if (!cluster_decides() || !R.set.sync_replica || R.hold ||
	    R.named[0] == '\0' || (strcmp(R.named, addr) == 0 && !snapshot))
		return;
	R.hold = 1;
	R.hold_at = R.acked;
	log_info("replication: etcd may name %s in sync%s: write replies past "
	    "record %llu wait until it names none", R.named,
	    strcmp(R.named, addr) == 0 ? ", and it needs a snapshot" : "",
	    (unsigned long long)R.hold_at);
	cluster_standby_out(named_none, (void *)(uintptr_t)++R.sync_asks);
}

uint64_t
repl_gate(void)
{
	/* Past the lease's fence time: nothing leaves (the fence fails it). */
	if (R.role == ST_REPL_PRIMARY && !cluster_writable())
		return 0;
	if (R.role != ST_REPL_PRIMARY || !R.set.sync_replica || R.alone)
		return UINT64_MAX;
	return R.hold && R.acked > R.hold_at ? R.hold_at : R.acked;
}

int
repl_writable(void)
{
	return R.role == ST_REPL_PRIMARY && cluster_writable();
}

int
repl_readable(void)
{
	return R.role == ST_REPL_PRIMARY || R.checked;
}

int
repl_is_standby(const void *who)
{
	return who != NULL && who == R.sb;
}

/* ---------------------------------------------------------------- the stream */

/* Queues type's message m on ch (unasked): 0, or -1 (the standby goes). */
static int
send_msg(struct pchan *ch, uint16_t type, const void *m)
{
	struct penc e;
	int rc;

	penc_init(&e);
	rc = st_req_encode(&e, type, m) < 0 ? -1 :
	    pchan_send(ch, type, 0, 0, e.buf, e.len, -1);
	penc_free(&e);
	return rc;
}

/* One record, in parts of ST_REPL_CHUNK. */
static int
send_rec(const struct rrec *r)
{
	struct st_repl_rec m;
	size_t off = 0, n;

	do {
		n = r->len - off > ST_REPL_CHUNK ? ST_REPL_CHUNK :
		    r->len - off;
		m.seq = r->seq;
		m.more = off + n < r->len;
		m.part.p = r->body + off;
		m.part.len = (uint32_t)n;
		if (send_msg(R.sbch, PROTO_ST_REPL_REC, &m) < 0)
			return -1;
		off += n;
	} while (off < r->len);
	return 0;
}

/* The records the standby lacks, as far as its channel has room. */
static void
pump(void)
{
	const struct rrec *r;
	int any = 0;

	while (R.sb != NULL && !R.snap.on && !R.snap_wait &&
	    R.sent < store_flushed(R.st) &&
	    R.sbch->wq_bytes < REPL_WQ_MAX) {
		if ((r = bl_find(R.sent + 1)) == NULL) {
			standby_gone("its next record left the backlog");
			return;
		}
		if (send_rec(r) < 0) {
			standby_gone("cannot queue a record");
			return;
		}
		if (R.waiting_since == 0)
			R.waiting_since = proto_mono_ms();
		R.sent = r->seq;
		any = 1;
	}
	/* The acknowledgement is on the replies' path: no wait for the turn's flush. */
	/*
	 * A standby that closed fails the write (EPIPE, ECONNRESET) or shows
	 * its EOF to the read (repl_client_gone), whichever comes first: the
	 * same event, named the same.
	 */
	if (any && pchan_flush(R.sbch) < 0 && errno != EAGAIN)
		standby_gone(errno == EPIPE || errno == ECONNRESET ?
		    "disconnected" : strerror(errno));
}

/* ---------------------------------------------------------------- snapshots */

/* The spacing: REPL_SNAP_SPACING_MS, lower in a test build when asked. */
static long long
snap_spacing_ms(void)
{
	return (long long)SETTINGS_TEST_LOWER("PARLEY_TEST_SNAP_SPACING_MS",
	    REPL_SNAP_SPACING_MS);
}

/* The name ch's peer has for the spacing, into id (SNAP_PEER_LEN). */
static void
peer_id(const struct pchan *ch, char *id)
{
	char cn[64];

	if (ch->ssl == NULL)
		strlcpy(id, "the Unix socket", SNAP_PEER_LEN);
	else if (tlschan_peer_cn(ch, cn, sizeof(cn)) == 0)
		snprintf(id, SNAP_PEER_LEN, "certificate CN=%s", cn);
	else
		strlcpy(id, "a certificate without CN", SNAP_PEER_LEN);
}

/* id's entry, or NULL when none is kept. */
static struct snap_peer *
peer_find(const char *id)
{
	size_t i;

	for (i = 0; i < SNAP_PEERS; i++)
		if (R.peers[i].at != 0 && strcmp(R.peers[i].id, id) == 0)
			return &R.peers[i];
	return NULL;
}

/* id's last snapshot at now, in its entry or the oldest's. */
static void
peer_mark(const char *id, long long now)
{
	struct snap_peer *p = peer_find(id);
	size_t i;

	if (p == NULL) {
		p = &R.peers[0];
		for (i = 1; i < SNAP_PEERS; i++)
			if (R.peers[i].at < p->at)
				p = &R.peers[i];
		strlcpy(p->id, id, sizeof(p->id));
	}
	p->at = now;
}

/*
 * Why peer id may not have a snapshot at now (NULL: it may): one is being
 * sent (or waits for etcd), or its last one ended less than the spacing
 * ago, *wait ms from now (0: not known).
 */
static const char *
snap_refusal(const char *id, long long now, long long *wait)
{
	const struct snap_peer *p = peer_find(id);
	long long gap = snap_spacing_ms();

	*wait = 0;
	if (R.snap.on || R.snap_wait)
		return "a snapshot is being sent already";
	if (p != NULL && now - p->at < gap) {
		*wait = gap - (now - p->at);
		return "this peer's last snapshot ended less than";
	}
	return NULL;
}

/*
 * ST_REPL_START that needs a snapshot, refused (why, wait as
 * snap_refusal's): answered unavailable, the same words each time (the
 * standby says a refusal once), and it dials again later. A line per
 * spacing at most, with the refusals left unsaid since the last one: a
 * peer asking in a loop fills no log.
 */
static int
snap_refuse(struct pchan *ch, const struct pmsg *m, const char *id,
    const char *why, long long wait, long long now)
{
	long long gap = snap_spacing_ms();
	char msg[128], when[64] = "";

	if (wait > 0) {
		snprintf(msg, sizeof(msg), "%s %lld s ago: ask again later",
		    why, (gap + 999) / 1000);
		snprintf(when, sizeof(when), "; its next in %lld s at the "
		    "soonest", (wait + 999) / 1000);
	} else
		snprintf(msg, sizeof(msg), "%s: ask again later", why);
	if (R.refused_at == 0 || now - R.refused_at >= gap) {
		log_warnx("replication: a snapshot for %s refused (%s%s); %u "
		    "more refused since the last such line (one per %lld s at "
		    "most)", id, msg, when, R.refused_quiet,
		    (gap + 999) / 1000);
		R.refused_at = now;
		R.refused_quiet = 0;
	} else
		R.refused_quiet++;
	smetrics_repl_snapshot(1);
	(void)pchan_send_error(ch, m->hdr.type, m->hdr.id,
	    PROTO_E_UNAVAILABLE, msg);
	return 0;
}

static void *
snap_thread(void *arg)
{
	struct snap *sn = arg;

	sn->rc = store_backup(sn->st, sn->wfd);
	/* The end of the pipe is the end of the copy. */
	close(sn->wfd);
	return NULL;
}

/* The thread joined and the pipe closed: no snapshot is being sent. */
static void
snap_end(void)
{
	struct snap *sn = &R.snap;

	if (sn->rfd >= 0) {
		loop_io_del(&sn->io);
		/* A thread still copying sees EPIPE and ends. */
		close(sn->rfd);
		sn->rfd = -1;
	}
	if (sn->running)
		pthread_join(sn->thread, NULL);
	sn->running = 0;
	if (sn->on)
		peer_mark(R.snap_for, proto_mono_ms());
	sn->on = 0;
}

static void
snap_interest(void)
{
	struct snap *sn = &R.snap;
	uint32_t want;

	if (!sn->on || sn->rfd < 0)
		return;
	want = R.sbch->wq_bytes < REPL_WQ_MAX ? EPOLLIN : 0;
	if (want != sn->interest && loop_io_mod(&sn->io, want) == 0)
		sn->interest = want;
}

/* The copy read and sent in chunks while the standby's channel has room. */
static void
snap_io(int fd, uint32_t events, void *arg)
{
	struct snap *sn = &R.snap;
	struct st_repl_snap m = { .seq = sn->seq };
	ssize_t n;

	while (sn->on && R.sbch->wq_bytes < REPL_WQ_MAX) {
		if ((n = read(sn->rfd, R.buf, ST_REPL_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				standby_gone("snapshot pipe");
			break;
		}
		m.last = n == 0;
		m.chunk.p = R.buf;
		m.chunk.len = (uint32_t)n;
		if (n == 0) {
			/* The copy is done: it holds nothing past our last. */
			R.snap_top = store_seq(R.st);
			snap_end();
			if (sn->rc != 0) {
				standby_gone("the snapshot's copy failed");
				return;
			}
		}
		if (send_msg(R.sbch, PROTO_ST_REPL_SNAP, &m) < 0) {
			standby_gone("cannot queue a snapshot chunk");
			return;
		}
		sn->bytes += (uint64_t)n;
		if (n == 0) {
			log_info("replication: snapshot of %llu bytes sent "
			    "(record %llu); the records after it follow",
			    (unsigned long long)sn->bytes,
			    (unsigned long long)sn->seq);
			pump();
			return;
		}
	}
	snap_interest();
}

/*
 * A snapshot for the standby: a checkpoint (LMDB's last commit then holds
 * every record up to sn->seq), then a thread copies it into a pipe. A
 * later checkpoint may slip in before the copy begins: the standby then
 * skips the records its snapshot holds already. 0, or -1 logged.
 */
static int
snap_start(void)
{
	struct snap *sn = &R.snap;
	int fds[2], rc;

	if (store_checkpoint(R.st) < 0)
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("replication: pipe");
		return -1;
	}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ||
	    loop_io_add(&sn->io, fds[0], EPOLLIN, snap_io, NULL) < 0) {
		log_warn("replication: snapshot pipe");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	sn->rfd = fds[0];
	sn->wfd = fds[1];
	sn->interest = EPOLLIN;
	sn->st = R.st;
	sn->seq = store_seq(R.st);
	sn->bytes = 0;
	sn->rc = 0;
	sn->on = 1;
	if ((rc = pthread_create(&sn->thread, NULL, snap_thread, sn)) != 0) {
		log_warnx("replication: snapshot thread: %s", strerror(rc));
		close(fds[1]);
		snap_end();
		return -1;
	}
	sn->running = 1;
	R.sent = sn->seq;
	return 0;
}

/* ---------------------------------------------------------------- primary */

/* The standby's link ends (it closed, or it is dropped): it is away. */
static void
standby_gone(const char *why)
{
	void *who = R.sb;

	if (who == NULL)
		return;
	log_warnx("replication: the standby's stream ended: %s", why);
	snap_end();
	R.snap_wait = 0;
	R.sb = NULL;
	R.sbch = NULL;
	R.waiting_since = 0;
	server_drop(R.srv, who);
	standby_away(why);
	publish();
}

/* Queues rep, the answer to m, on ch: 0, or -1 (logged). */
static int
send_reply(struct pchan *ch, const struct pmsg *m, const void *rep)
{
	struct penc e;
	int rc;

	penc_init(&e);
	rc = st_rep_encode(&e, m->hdr.type, rep) < 0 ? -1 :
	    pchan_send(ch, m->hdr.type, PROTO_F_REPLY, m->hdr.id, e.buf,
	    e.len, -1);
	penc_free(&e);
	if (rc < 0)
		log_warnx("replication: cannot answer %s",
		    proto_msg_name(m->hdr.type));
	return rc;
}

/*
 * Whether the standby holding term sterm, records up to slast and their
 * digest sdig resumes from the backlog (its records are ours, and the
 * backlog holds those after them); 0 with *why: a snapshot first.
 */
static int
resumable(uint64_t sterm, uint64_t slast, const uint8_t *sdig,
    const char **why)
{
	const struct rrec *next = NULL;

	if (slast < store_seq(R.st))
		next = bl_find(slast + 1);
	return store_repl_resumable(R.st, sterm, slast, sdig,
	    next != NULL ? next->pre : NULL, why);
}

static void fence_for(const char *primary);

/*
 * ST_REPL_START from a standby whose data is of a newer term than ours
 * (sterm > term): it was primary after us (promoted by hand while we were
 * away, and restarted with its settings as our standby), and holds writes
 * acknowledged in its term that we never saw. Our snapshot would replace
 * them: its stream is refused. Without the lease (a fixed pair) this
 * primary steps down as newer_heard does: two primaries would each
 * acknowledge writes the other never sees. Under the lease, which decides
 * who is primary, it only refuses (the standby keeps its data).
 */
static int
refuse_newer(struct pchan *ch, const struct pmsg *m, const char *addr,
    uint64_t sterm, uint64_t term)
{
	if (cluster_decides()) {
		log_warnx("replication: a standby%s%s holds data of term %llu, "
		    "newer than this primary's (term %llu): two histories; "
		    "its stream is refused (a snapshot would replace its "
		    "data)", addr[0] != '\0' ? " at " : "", addr,
		    (unsigned long long)sterm, (unsigned long long)term);
		(void)pchan_send_error(ch, m->hdr.type, m->hdr.id,
		    PROTO_E_UNAVAILABLE, "this primary's term is older than "
		    "the standby's");
		return 0;
	}
	log_warnx("replication: a standby%s%s holds data of term %llu, newer "
	    "than this primary's (term %llu): it was promoted while this "
	    "primary was away; two primaries: this storaged is fenced; its "
	    "data is kept; start it with PARLEY_ROLE=standby "
	    "PARLEY_PRIMARY=<the new primary> to follow it",
	    addr[0] != '\0' ? " at " : "", addr, (unsigned long long)sterm,
	    (unsigned long long)term);
	/* The answer first: the fence tells every client our new role. */
	(void)pchan_send_error(ch, m->hdr.type, m->hdr.id,
	    PROTO_E_UNAVAILABLE, "this primary's term is older than the "
	    "standby's: it is fenced");
	fence_for(addr[0] != '\0' ? addr : NULL);
	return 0;
}

/* ST_REPL_START: resume from the backlog, or a snapshot first. */
static int
start_stream(void *who, struct pchan *ch, const struct pmsg *m)
{
	struct st_repl_start_req in;
	struct st_repl_start_rep rep;
	uint64_t term = store_term(R.st), seq = store_seq(R.st);
	uint64_t sterm, slast;	/* what the standby holds */
	uint8_t sdig[STORE_DIGEST_LEN];
	char addr[ST_REPL_ADDR_MAX + 1], id[SNAP_PEER_LEN];
	const char *why = NULL, *no;
	long long now = proto_mono_ms(), wait;
	int resume;

	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0)
		return -1;
	sterm = in.term;
	slast = in.last_seq;
	memcpy(sdig, in.digest, sizeof(sdig));
	strlcpy(addr, in.addr, sizeof(addr));
	st_req_free(m->hdr.type, &in);
	if (R.role != ST_REPL_PRIMARY) {
		(void)pchan_send_error(ch, m->hdr.type, m->hdr.id,
		    PROTO_E_UNAVAILABLE, "not primary");
		return 0;
	}
	if (sterm > term)
		return refuse_newer(ch, m, addr, sterm, term);
	/* The records after a snapshot taken now are kept from here on. */
	R.standby_seen = 1;
	backlog_keep();
	resume = resumable(sterm, slast, sdig, &why);
	/* A snapshot refused leaves the standby streaming as it was. */
	peer_id(ch, id);
	if (!resume && (no = snap_refusal(id, now, &wait)) != NULL)
		return snap_refuse(ch, m, id, no, wait, now);
	strlcpy(R.sbaddr, addr, sizeof(R.sbaddr));
	if (R.sb != NULL)
		standby_gone("another standby connected");
	if (!resume) {
		peer_mark(id, now);
		strlcpy(R.snap_for, id, sizeof(R.snap_for));
		smetrics_repl_snapshot(0);
	}
	named_check(R.sbaddr, !resume);
	R.sb = who;
	R.sbch = ch;
	R.acked = resume ? slast : 0;
	R.sent = slast;
	R.snap_top = 0;
	R.waiting_since = 0;
	/* Named in sync: etcd names none before its data is replaced. */
	R.snap_wait = !resume && R.hold && strcmp(R.named, R.sbaddr) == 0;
	if (!resume && !R.snap_wait && snap_start() < 0) {
		R.sb = NULL;
		(void)pchan_send_error(ch, m->hdr.type, m->hdr.id,
		    PROTO_E_UNAVAILABLE, "cannot make a snapshot");
		return 0;
	}
	log_info("replication: a standby%s%s (term %llu, record %llu) streams "
	    "from record %llu%s%s%s", R.sbaddr[0] != '\0' ? " at " : "",
	    R.sbaddr, (unsigned long long)sterm, (unsigned long long)slast,
	    (unsigned long long)R.sent, resume ? "" : " after a snapshot",
	    resume ? "" : ": ", resume ? "" : why);
	if (R.snap_wait)
		log_info("replication: etcd may name this standby in sync: its "
		    "snapshot waits until etcd names none");
	rep.term = term;
	rep.seq = seq;
	rep.snapshot = !resume;
	(void)send_reply(ch, m, &rep);
	pump();
	publish();
	return 0;
}

/*
 * ST_REPL_ACK: every record up to seq is on the standby's disk. A record
 * it was never sent (past R.sent, or past what its snapshot may hold)
 * ends its stream: -1.
 */
static int
ack(void *who, const struct pmsg *m)
{
	struct st_u64 in;
	uint64_t top = R.sent > R.snap_top ? R.sent : R.snap_top;

	if (who != R.sb || R.snap.on)
		return 0;	/* a standby we dropped, still talking */
	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0 ||
	    in.v > top) {
		log_warnx("replication: the standby acknowledged record %llu, "
		    "past the last it was sent (%llu)",
		    (unsigned long long)in.v, (unsigned long long)top);
		return -1;
	}
	/* A snapshot may hold more than its checkpoint said. */
	if (in.v > R.sent)
		R.sent = in.v;
	if (in.v > R.acked)
		R.acked = in.v;
	R.waiting_since = R.acked < R.sent ? proto_mono_ms() : 0;
	standby_progress();
	publish();
	return 0;
}

/*
 * ST_REPL_NEWER: the standby we had was promoted by hand while we were
 * away (a fixed pair; systemd restarts a crashed primary with its old
 * settings). Two primaries would each acknowledge writes the other never
 * sees: a primary of an older term fences itself, naming the new one to
 * its clients, and keeps its data for the operator.
 */
static int
newer_heard(struct pchan *ch, const struct pmsg *m)
{
	struct st_repl_newer_req in;
	struct st_u64 rep = { 0 };
	uint64_t term = store_term(R.st), newer;
	char addr[ST_REPL_ADDR_MAX + 1];

	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0)
		return -1;
	newer = in.term;
	strlcpy(addr, in.addr, sizeof(addr));
	st_req_free(m->hdr.type, &in);
	if (cluster_decides())
		return pchan_send_error(ch, m->hdr.type, m->hdr.id,
		    PROTO_E_UNAVAILABLE, "etcd's lease decides who is primary "
		    "here (PARLEY_ROLE=auto)");
	if (R.role == ST_REPL_PRIMARY && newer <= term)
		return pchan_send_error(ch, m->hdr.type, m->hdr.id,
		    PROTO_E_UNAVAILABLE, "this primary's term is not older");
	if (R.role == ST_REPL_PRIMARY) {
		log_warnx("replication: our standby was promoted (term %llu%s%s) "
		    "while this primary (term %llu) was away: this storaged "
		    "is fenced; its data is kept; start it with "
		    "PARLEY_ROLE=standby PARLEY_PRIMARY=<the new primary> to "
		    "follow it", (unsigned long long)newer,
		    addr[0] != '\0' ? ", at " : "", addr,
		    (unsigned long long)term);
		fence_for(addr[0] != '\0' ? addr : NULL);
		rep.v = 1;
	}
	return send_reply(ch, m, &rep);
}

int
repl_client_msg(void *who, struct pchan *ch, const struct pmsg *m)
{
	switch (m->hdr.type) {
	case PROTO_ST_REPL_NEWER:
		return newer_heard(ch, m);
	case PROTO_ST_REPL_START:
		return start_stream(who, ch, m);
	case PROTO_ST_REPL_ACK:
		return ack(who, m);
	default:
		return -1;
	}
}

void
repl_client_gone(void *who)
{
	if (who != R.sb)
		return;
	snap_end();
	R.snap_wait = 0;
	R.sb = NULL;
	R.sbch = NULL;
	R.waiting_since = 0;
	log_warnx("replication: the standby disconnected");
	standby_away("disconnected");
	publish();
}

/* A primary's duties begin: the sweep, the backlog, the standby's state. */
static void
primary_begin(void)
{
	R.role = ST_REPL_PRIMARY;
	/*
	 * A primary's data has a term from its first start on: a standby
	 * with none (a new data directory) never resumes from it.
	 */
	if (store_term(R.st) == 0 && store_set_term(R.st, 1) < 0)
		fatalx("replication: cannot record the first term");
	backlog_keep();
	R.in_sync = R.alone = R.cluster_out = R.out_asked = 0;
	R.away_logged = 0;
	/* Its campaign emptied etcd's sync key. */
	R.named[0] = '\0';
	R.hold = 0;
	R.snap_wait = 0;
	R.acked = R.sent = store_seq(R.st);
	R.catchup_to = store_seq(R.st);
	/*
	 * A new term: every standby needs a snapshot (its term is not ours),
	 * the one that was in sync too. The spacing bounds a peer that asks
	 * in a loop, not a term no peer can start: kept, it left a primary
	 * that won its lease back after a blip of etcd without a standby in
	 * sync for 30 s.
	 */
	memset(R.peers, 0, sizeof(R.peers));
	sweep_start(R.st);
	/* The turns open on disk: a start's, or an old primary's. */
	server_turns_restore(R.srv);
	server_set_role(R.srv, ST_REPL_PRIMARY, NULL);
	/* No standby yet: with degrade, the cluster hears it first. */
	standby_away("none connected yet");
}

/* ---------------------------------------------------------------- standby */

/*
 * The primary's DNS name looked up off the loop (lib/dnslookup.h), so that
 * a resolver that hangs holds no client of this storaged: a dial starts
 * the lookup, and the next dial (the retry) uses its answer, once.
 */
static struct dnslookup repl_lookup;
static char repl_looked_for[STADDR_TEXT_MAX];	/* the address it was for */
static int repl_looked_up;	/* repl_lookup answered, not yet used */

static void
repl_resolved(struct dnslookup *l)
{
	(void)l;
	repl_looked_up = 1;
}

/*
 * A's name's answer for a dial: 0 there (in repl_lookup), 1 looked up
 * meanwhile (dial again later), -1 with err.
 */
static int
dial_lookup(const struct staddr *a, char *err, size_t errsz)
{
	if (!repl_looked_up || strcmp(repl_looked_for, a->text) != 0) {
		repl_looked_up = 0;
		if (dnslookup_start(&repl_lookup, a->host, a->port,
		    repl_resolved) == 0)
			strlcpy(repl_looked_for, a->text,
			    sizeof(repl_looked_for));
		return 1;
	}
	repl_looked_up = 0;
	if (repl_lookup.rc != 0) {
		snprintf(err, errsz, "%s: %s", a->text, repl_lookup.err);
		return -1;
	}
	return 0;
}

/*
 * A socket to the primary at addr, unix:/path or tls://HOST:PORT (a
 * connect still in progress is fine: TLS waits for it), its parsed form
 * in *a; -2 while its name is looked up (dial again later); or -1,
 * logged once per absence.
 */
static int
dial(const char *addr, struct staddr *a)
{
	char err[STADDR_ERR_MAX + STADDR_TEXT_MAX + DNSLOOKUP_ERR_MAX];
	int fd, in_progress, rc = 0;

	if (staddr_parse(addr, strlen(addr), a, err, sizeof(err)) < 0) {
		if (!R.down_logged)
			log_warnx("replication: %s", err);
		return -1;
	}
	if (a->kind == STADDR_TLS && R.set.tls == NULL) {
		if (!R.down_logged)
			log_warnx("replication: %s is tls://: PARLEY_CLUSTER_CA, "
			    "PARLEY_CLUSTER_CERT and PARLEY_CLUSTER_KEY must "
			    "be set", addr);
		return -1;
	}
	if (staddr_named(a) && (rc = dial_lookup(a, err, sizeof(err))) > 0)
		return -2;
	if (rc < 0 || (fd = staddr_named(a) ? staddr_connect_at(a,
	    &repl_lookup.ss, repl_lookup.sl, &in_progress, err,
	    sizeof(err)) : staddr_connect(a, &in_progress, err,
	    sizeof(err))) < 0) {
		if (!R.down_logged)
			log_warnx("replication: cannot connect to the primary "
			    "(%s); retrying", err);
		return -1;
	}
	return fd;
}

/* The snapshot being received is dropped: the standby keeps what it had. */
static void
snap_in_drop(void)
{
	if (R.sfd < 0)
		return;
	close(R.sfd);
	R.sfd = -1;
	(void)unlink(R.spath);
}

/* A snapshot held for a backup (snap_held) is dropped: another role. */
static void
snap_held_drop(void)
{
	if (!R.snap_held)
		return;
	R.snap_held = 0;
	(void)unlink(R.spath);
	log_info("replication: the snapshot that waited for the backup is "
	    "dropped");
}

static void up_io(int fd, uint32_t events, void *arg);

/* The next dial after a pause: 100 ms, doubling up to REPL_RETRY_MAX_MS. */
static void
retry_later(void)
{
	R.retry_ms = R.retry_ms ? R.retry_ms * 2 : 100;
	if (R.retry_ms > REPL_RETRY_MAX_MS)
		R.retry_ms = REPL_RETRY_MAX_MS;
	R.retry_at = proto_mono_ms() + R.retry_ms;
}

/* The link to R.primary closed (the standby's, or the watch's). */
static void
link_close(void)
{
	loop_io_del(&R.up_io);
	pchan_close(&R.up);
	R.up_fd = -1;
}

static void
up_close(const char *why)
{
	if (R.up_fd < 0)
		return;
	if (why != NULL)
		log_warnx("replication: the link to the primary ended: %s",
		    why);
	link_close();
	R.up_started = 0;
	R.rec_len = 0;
	snap_in_drop();
	retry_later();
	publish();
}

/* Sends ST_REPL_ACK of what is on disk. 0, or -1 (the link closed). */
static int
up_ack(void)
{
	const struct st_u64 a = { store_seq(R.st) };

	if (send_msg(&R.up, PROTO_ST_REPL_ACK, &a) < 0 ||
	    (pchan_flush(&R.up) < 0 && errno != EAGAIN)) {
		up_close("cannot send the acknowledgement");
		return -1;
	}
	return 0;
}

/* The link to R.primary opened, its messages to io: 0, or -1. */
static int
link_dial(void (*io)(int, uint32_t, void *))
{
	struct staddr a;
	int fd, rc;

	if ((fd = dial(R.primary, &a)) < 0) {
		if (fd == -1)
			R.down_logged = 1;
		return -1;
	}
	/*
	 * A primary whose host vanished sends no reset, and an idle link
	 * carries nothing: without this a standby cut off longer than the
	 * primary's own PEER_DEAD_MS kept a socket the primary had closed,
	 * never dialled again, and stayed at its old record.
	 */
	if (staddr_dead_after(&a, fd, peer_dead_ms()) < 0)
		log_warn("replication: %s: TCP_USER_TIMEOUT/keepalive",
		    R.primary);
	rc = a.kind == STADDR_TLS ?
	    pchan_init_tls(&R.up, fd, STORAGED_NAME, R.set.tls, a.host) :
	    pchan_init(&R.up, fd, STORAGED_NAME);
	if (rc < 0 || loop_io_add(&R.up_io, fd, pchan_events(&R.up, 1), io,
	    NULL) < 0) {
		log_warn("replication: channel");
		pchan_close(&R.up);
		return -1;
	}
	R.up_fd = fd;
	return 0;
}

/* Asks q (a request of type, id 1) on the link just dialled: 0, or -1. */
static int
link_ask(uint16_t type, const void *q)
{
	struct penc e;
	int rc;

	penc_init(&e);
	rc = st_req_encode(&e, type, q) < 0 ? -1 :
	    pchan_send(&R.up, type, 0, 1, e.buf, e.len, -1);
	penc_free(&e);
	if (rc < 0 || (pchan_flush(&R.up) < 0 && errno != EAGAIN))
		return -1;
	(void)loop_io_mod(&R.up_io, pchan_events(&R.up, 1));
	return 0;
}

/* Dials the primary and asks for the stream from what we hold. */
static void
up_open(void)
{
	struct st_repl_start_req q;

	if (link_dial(up_io) < 0) {
		retry_later();
		return;
	}
	q.term = store_term(R.st);
	q.last_seq = store_seq(R.st);
	memcpy(q.digest, store_digest(R.st), sizeof(q.digest));
	q.digest_len = sizeof(q.digest);
	q.addr = R.set.advertise != NULL ? R.set.advertise : "";
	if (link_ask(PROTO_ST_REPL_START, &q) < 0) {
		up_close("cannot send ST_REPL_START");
		return;
	}
	R.up_since = proto_mono_ms();
	R.up_said = 0;
	/* Dialled again after a refusal: said once, with the refusal. */
	if (R.refused[0] == '\0')
		log_info("replication: connected to the primary at %s (term "
		    "%llu, record %llu)", R.primary,
		    (unsigned long long)q.term,
		    (unsigned long long)q.last_seq);
	R.down_logged = 0;
}

/* The primary found our data its own (how): reads are answered. */
static void
up_checked(const char *how)
{
	if (R.checked)
		return;
	R.checked = 1;
	log_info("replication: the primary checked this data (%s): reads are "
	    "answered", how);
}

/*
 * The primary's answer to ST_REPL_START. A primary of an older term than
 * our data's is not followed: our data was a primary's after it (this
 * storaged was promoted, by hand or by the lease, and restarted as a
 * standby), and a snapshot of its would replace the writes acknowledged
 * in our term. The link closes, our data is kept, and the dial is tried
 * again later (the operator decides which is primary).
 */
static int
up_started(const struct pmsg *m)
{
	struct st_repl_start_rep rep;
	struct pdec d;
	char msg[128];
	uint64_t ours = store_term(R.st);

	if (m->hdr.flags & PROTO_F_ERROR) {
		pdec_init(&d, m->payload, m->hdr.len);
		(void)pdec_u32(&d);
		pdec_strbuf(&d, msg, sizeof(msg));
		if (d.err)
			strlcpy(msg, "?", sizeof(msg));
		/* Dialled again later (retry_later); the same refusal said once. */
		if (strcmp(msg, R.refused) != 0)
			log_warnx("replication: the primary at %s refused the "
			    "stream (%s); asking again now and then", R.primary,
			    msg);
		strlcpy(R.refused, msg, sizeof(R.refused));
		R.up_said = 1;
		return -1;
	}
	if (st_rep_decode(m->hdr.type, m->payload, m->hdr.len, &rep) < 0)
		return -1;
	if (rep.term < ours) {
		if (!R.older_warned)
			log_warnx("replication: the primary at %s is in term "
			    "%llu, older than this data's (term %llu): two "
			    "primaries (this storaged was primary after it); "
			    "not following it: this data is kept, not "
			    "replaced by its snapshot; make this storaged "
			    "primary (parleyctl promote) and start the other "
			    "as its standby, storaged/STORAGE.md "
			    "\"Replication\"", R.primary,
			    (unsigned long long)rep.term,
			    (unsigned long long)ours);
		R.older_warned = 1;
		return -1;
	}
	R.older_warned = 0;
	R.refused[0] = '\0';
	R.up_started = 1;
	R.retry_ms = 0;
	log_info("replication: following the primary (term %llu, record "
	    "%llu)%s", (unsigned long long)rep.term,
	    (unsigned long long)rep.seq, rep.snapshot ?
	    ": a snapshot first" : "");
	if (!rep.snapshot)
		up_checked("it resumed our stream in its term");
	else if (R.checked) {
		/* Ours is not a prefix of its history it vouches for now. */
		R.checked = 0;
		log_warnx("replication: the primary sends a snapshot: reads "
		    "are unavailable until it is in");
	}
	return 0;
}

/* A part of a record; a whole one is applied. 1 applied, 0 not yet, -1 error. */
static int
up_rec(const struct pmsg *m)
{
	struct st_repl_rec in;
	uint8_t *nb;
	size_t cap;
	int rc;

	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0 ||
	    (R.rec_len > 0 && in.seq != R.rec_seq) ||
	    R.rec_len + in.part.len > WAL_BODY_MAX || R.sfd >= 0)
		return -1;
	if (R.rec_len + in.part.len > R.rec_cap) {
		for (cap = R.rec_cap ? R.rec_cap : 65536;
		    cap < R.rec_len + in.part.len; cap *= 2)
			;
		if ((nb = realloc(R.rec, cap)) == NULL)
			return -1;
		R.rec = nb;
		R.rec_cap = cap;
	}
	memcpy(R.rec + R.rec_len, in.part.p, in.part.len);
	R.rec_len += in.part.len;
	R.rec_seq = in.seq;
	if (in.more)
		return 0;
	rc = R.rec_len == 0 ? -1 : store_repl_apply(R.st, in.seq, R.rec,
	    R.rec_len);
	R.rec_len = 0;
	return rc < 0 ? -1 : 1;
}

/* The whole snapshot in spath swapped in: 0, or -1 (the store is as it was). */
static int
snap_swap(void)
{
	if (store_swap(R.st, R.spath) < 0)
		return -1;
	log_info("replication: took a snapshot of %llu bytes: term %llu, "
	    "record %llu", (unsigned long long)R.sbytes,
	    (unsigned long long)store_term(R.st),
	    (unsigned long long)store_seq(R.st));
	up_checked("its snapshot");
	return 0;
}

/*
 * The snapshot held for a backup, swapped in once the backup is done
 * (dropped if it cannot be: the primary then sends another): 1 the next
 * dial may go, 0 the backup still runs.
 */
static int
snap_held_take(void)
{
	if (!R.snap_held)
		return 1;
	if (server_backup_running(R.srv))
		return 0;
	R.snap_held = 0;
	if (snap_swap() < 0)
		(void)unlink(R.spath);
	return 1;
}

/* A snapshot's chunk; the last one swaps it in. 1 swapped, 0 not yet, -1 error. */
static int
up_snap(const struct pmsg *m)
{
	struct st_repl_snap in;

	if (st_req_decode(m->hdr.type, m->payload, m->hdr.len, &in) < 0 ||
	    R.rec_len > 0)
		return -1;
	if (R.sfd < 0) {
		if ((R.sfd = open(R.spath, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600)) < 0) {
			log_warn("replication: %s", R.spath);
			return -1;
		}
		R.sbytes = 0;
		log_info("replication: receiving a snapshot (record %llu)",
		    (unsigned long long)in.seq);
	}
	if (proto_write_all(R.sfd, in.chunk.p, in.chunk.len) < 0) {
		log_warn("replication: %s", R.spath);
		return -1;
	}
	R.sbytes += in.chunk.len;
	if (!in.last)
		return 0;
	/* Whole and on disk before it replaces anything. */
	if (fsync(R.sfd) < 0) {
		log_warn("replication: fsync %s", R.spath);
		return -1;
	}
	close(R.sfd);
	R.sfd = -1;
	/*
	 * A backup's copy reads the environment the swap replaces. Waiting
	 * for it here held the loop for the rest of the copy (no read, ping
	 * or acknowledgement answered meanwhile): the snapshot is kept, the
	 * link closes (no record may follow the snapshot until it is in),
	 * and tick swaps it in once the backup is done, then dials again.
	 */
	if (server_backup_running(R.srv)) {
		R.snap_held = 1;
		R.up_said = 1;
		log_info("replication: the snapshot (%llu bytes) waits for the "
		    "backup under way; the link closes until it is in",
		    (unsigned long long)R.sbytes);
		return -1;
	}
	return snap_swap() < 0 ? -1 : 1;
}

/*
 * What the storaged we follow says it is (every client hears it after
 * HELLO): 0 while it is primary; -1 (the link closes, and is dialled again
 * later) when it is a standby or fenced: it has nothing we may follow.
 */
static int
up_role(const struct pmsg *m)
{
	struct st_ev_role r;

	if (st_req_decode(PROTO_ST_EV_ROLE, m->payload, m->hdr.len, &r) < 0)
		return -1;
	if (r.role == ST_REPL_PRIMARY)
		return 0;
	log_warnx("replication: %s is not primary (%s)%s%s", R.primary,
	    r.role == ST_REPL_STANDBY ? "a standby" : "fenced",
	    r.primary[0] != '\0' ? "; it names " : "", r.primary);
	return -1;
}

/*
 * One message from the primary: 1 when the store moved (records to
 * flush and acknowledge), 0, or -1 (the link is closed).
 */
static int
up_msg(const struct pmsg *m)
{
	switch (m->hdr.type) {
	case PROTO_ST_REPL_START:
		if (!(m->hdr.flags & PROTO_F_REPLY) || R.up_started)
			return -1;
		return up_started(m);
	case PROTO_ST_REPL_REC:
		return R.up_started ? up_rec(m) : -1;
	case PROTO_ST_REPL_SNAP:
		return R.up_started ? up_snap(m) : -1;
	case PROTO_ST_EV_ROLE:
		return up_role(m);
	case PROTO_ST_EV_WIDGET_GONE:
	case PROTO_ST_EV_USER_GONE:
	case PROTO_ST_EV_CRED_GONE:
	case PROTO_ST_EV_STORE_FAILED:
		return 0;	/* told every client: the workers' business */
	default:
		log_warnx("replication: unexpected %s from the primary",
		    proto_msg_name(m->hdr.type));
		return -1;
	}
}

/*
 * Reads what the other end of the link sent until the socket is drained,
 * each message to take (1: the store moved, 0, -1: the link is to end);
 * *moved when the store moved. NULL, or why the link is to end (what came
 * before it is taken all the same).
 */
static const char *
link_read(int (*take)(const struct pmsg *), int *moved)
{
	struct pmsg m;
	ssize_t n;
	int r;

	for (;;) {
		if ((n = pchan_read(&R.up)) == 0)
			return "closed by the primary";
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? NULL :
			    strerror(errno);
		while ((r = pchan_next(&R.up, &m)) == 1) {
			if ((r = take(&m)) < 0)
				return "a message it could not take";
			*moved |= r;
		}
		if (r < 0)
			return "protocol error";
	}
}

/*
 * What the primary sent: applied, flushed once, acknowledged. The records
 * are flushed also when the link ends in the read that brought them: the
 * ST_REPL_START of the next link says they are held (store_seq), and the
 * primary takes that as their acknowledgement.
 */
static void
up_io(int fd, uint32_t events, void *arg)
{
	const char *why;
	int moved = 0;

	if ((events & EPOLLOUT) && pchan_flush(&R.up) < 0 &&
	    errno != EAGAIN) {
		up_close(strerror(errno));
		return;
	}
	why = link_read(up_msg, &moved);
	if (moved && store_repl_flush(R.st) < 0)
		fatalx("replication: cannot flush %s; exiting (a restart "
		    "follows the primary from what is on disk)", WAL_FILE);
	if (why != NULL) {
		/* Why was said (up_started, up_snap): its end is no news. */
		up_close(R.up_said ? NULL : why);
		return;
	}
	if (moved && up_ack() < 0)
		return;
	(void)loop_io_mod(&R.up_io, pchan_events(&R.up, 1));
	publish();
}

/* --------------------------------------------- a hand-promoted primary */

/* The watch's link closed; the next dial in WATCH_MS. */
static void
watch_close(void)
{
	if (R.up_fd >= 0)
		link_close();
	R.retry_at = proto_mono_ms() + WATCH_MS;
}

/*
 * What the primary we followed sends: its role and events skipped (0);
 * ST_REPL_NEWER's answer, it fenced (said) or not ours to fence, ends the
 * link (-1).
 */
static int
watch_msg(const struct pmsg *m)
{
	struct st_u64 rep;
	struct pdec d;
	char msg[128];

	if (m->hdr.type != PROTO_ST_REPL_NEWER ||
	    !(m->hdr.flags & PROTO_F_REPLY))
		return 0;
	if (m->hdr.flags & PROTO_F_ERROR) {
		pdec_init(&d, m->payload, m->hdr.len);
		(void)pdec_u32(&d);
		pdec_strbuf(&d, msg, sizeof(msg));
		if (!R.watch_warned)
			log_warnx("replication: %s is primary too and does not "
			    "step down (%s): two primaries; stop one",
			    R.primary, d.err ? "?" : msg);
		R.watch_warned = 1;
	} else if (st_rep_decode(m->hdr.type, m->payload, m->hdr.len,
	    &rep) == 0 && rep.v == 1) {
		log_warnx("replication: %s, the primary we followed, was back "
		    "as a primary: it is fenced now", R.primary);
		R.watch_warned = 0;
	}
	return -1;
}

static void
watch_io(int fd, uint32_t events, void *arg)
{
	int moved = 0;

	if (((events & EPOLLOUT) && pchan_flush(&R.up) < 0 &&
	    errno != EAGAIN) || link_read(watch_msg, &moved) != NULL) {
		watch_close();
		return;
	}
	(void)loop_io_mod(&R.up_io, pchan_events(&R.up, 1));
}

/* Dials the primary we followed and tells it we are primary now. */
static void
watch_open(void)
{
	struct st_repl_newer_req q = {
		.term = store_term(R.st),
		.addr = R.set.advertise != NULL ? R.set.advertise : "",
	};

	if (link_dial(watch_io) < 0) {
		R.retry_at = proto_mono_ms() + WATCH_MS;
		return;
	}
	R.watch_since = proto_mono_ms();
	if (link_ask(PROTO_ST_REPL_NEWER, &q) < 0)
		watch_close();
}

static void
standby_begin(const char *primary)
{
	char *p;

	if ((p = strdup(primary)) == NULL)
		fatal("replication");
	free(R.primary);
	R.primary = p;
	R.role = ST_REPL_STANDBY;
	R.checked = 0;		/* until this primary checks our data */
	snap_held_drop();	/* its primary's, maybe not this one's */
	R.refused[0] = '\0';
	store_on_record(R.st, NULL, NULL);
	R.retry_ms = 0;
	R.retry_at = 0;
	server_set_role(R.srv, ST_REPL_STANDBY, R.primary);
	up_open();
	publish();
}

/* ---------------------------------------------------------------- the loop */

static void
tick(void *arg)
{
	long long now = proto_mono_ms();

	if (R.role == ST_REPL_PRIMARY && R.sb != NULL &&
	    R.waiting_since != 0 && now - R.waiting_since > REPL_ACK_MS)
		standby_away("no acknowledgement within 2 s");
	if (R.role == ST_REPL_STANDBY && R.up_fd < 0 && now >= R.retry_at &&
	    snap_held_take())
		up_open();
	/* A primary that takes the link and never answers is dialled again. */
	else if (R.role == ST_REPL_STANDBY && R.up_fd >= 0 && !R.up_started &&
	    now - R.up_since > (long long)peer_dead_ms())
		up_close("no answer to ST_REPL_START in time");
	if (R.role == ST_REPL_PRIMARY && R.start_wait_until != 0 &&
	    now >= R.start_wait_until) {
		R.start_wait_until = 0;
		if (!R.in_sync)
			standby_away("not in sync after the start's wait");
	}
	if (R.role == ST_REPL_PRIMARY && R.watch) {
		if (R.up_fd < 0 && now >= R.retry_at)
			watch_open();
		else if (R.up_fd >= 0 && now - R.watch_since > WATCH_WAIT_MS)
			watch_close();
	}
	loop_timer_after(&R.tick, TICK_MS);
}

void
repl_step(void)
{
	if (R.role != ST_REPL_PRIMARY || R.sb == NULL)
		return;
	snap_interest();
	pump();
}

void
repl_start(struct server *srv, struct store *st,
    const struct repl_settings *set)
{
	R.srv = srv;
	R.st = st;
	R.set = *set;
	R.set.primary = NULL;
	if ((R.buf = malloc(ST_REPL_CHUNK)) == NULL)
		fatal("replication");
	if ((size_t)snprintf(R.spath, sizeof(R.spath), "%s/%s",
	    store_dir(st), REPL_SNAP_FILE) >= sizeof(R.spath))
		fatalx("replication: data directory path too long");
	/* A standby killed mid-snapshot starts from what it had. */
	(void)unlink(R.spath);
	loop_timer_init(&R.tick, tick, NULL);
	loop_timer_after(&R.tick, TICK_MS);
	if (set->role == ST_REPL_STANDBY)
		standby_begin(set->primary);
	else if (set->role == ST_REPL_FENCED) {
		/* PARLEY_ROLE=auto: no writes until the lease decides. */
		R.role = ST_REPL_FENCED;
		server_set_role(R.srv, ST_REPL_FENCED, NULL);
		publish();
	} else {
		if (set->sync_replica && !set->wait_block)
			R.start_wait_until = proto_mono_ms() + START_WAIT_MS;
		primary_begin();
	}
}

void
repl_stop(void)
{
	loop_timer_stop(&R.tick);
	snap_end();
	up_close(NULL);
	bl_clear();
	free(R.bl);
	free(R.buf);
	free(R.rec);
	free(R.primary);
	SSL_CTX_free(R.set.tls);
	R.set.tls = NULL;
	R.bl = NULL;
	R.buf = R.rec = NULL;
	R.primary = NULL;
	R.blcap = R.rec_cap = 0;
}

int
repl_role(void)
{
	return R.role;
}

/* ---------------------------------------------------------------- roles */

int
repl_promote(uint64_t term, uint64_t *out, const char **err)
{
	uint64_t old;

	if (R.role == ST_REPL_PRIMARY) {
		*err = "already primary";
		return -1;
	}
	up_close(NULL);
	snap_held_drop();
	R.retry_at = 0;
	old = store_term(R.st);
	if (term == 0)
		term = old + 1;
	if (term <= old) {
		*err = "the term must be above the standby's";
		return -1;
	}
	if (store_checkpoint(R.st) < 0 || store_set_term(R.st, term) < 0 ||
	    store_init(R.st) < 0) {
		*err = "cannot record the term";
		return -1;
	}
	log_warnx("replication: promoted to primary: term %llu, at record "
	    "%llu", (unsigned long long)term,
	    (unsigned long long)store_seq(R.st));
	primary_begin();
	/* By hand: the primary we followed must not come back as one. */
	R.watch = !cluster_decides() && R.primary != NULL;
	R.retry_at = 0;
	R.down_logged = 1;	/* its absence is the usual: not logged */
	*out = term;
	return 0;
}

/* Fenced; primary (NULL: not known) is what the clients are told. */
static void
fence_for(const char *primary)
{
	if (R.role != ST_REPL_PRIMARY)
		return;
	R.role = ST_REPL_FENCED;
	R.watch = 0;
	R.checked = 0;		/* our tail may be unacknowledged */
	server_set_role(R.srv, ST_REPL_FENCED, primary);
	server_hold_fail(R.srv);
	sweep_stop();
	if (R.sb != NULL)
		standby_gone("fenced");
	snap_end();
	store_on_record(R.st, NULL, NULL);
	bl_clear();
	R.in_sync = R.alone = 0;
	R.start_wait_until = 0;
	log_warnx("replication: fenced: no write is accepted or "
	    "acknowledged from now on, no read answered until a primary "
	    "checks this data");
	publish();
}

void
repl_fence(void)
{
	fence_for(NULL);
}

void
repl_follow(const char *primary)
{
	/*
	 * The primary we are linked to, named in a new term (it won its
	 * lease back): the link carries the term (its snapshot, or its term
	 * record). Dialled again, it cut the snapshot it had just been
	 * granted, and the spacing refused the next for 30 s.
	 */
	if (R.role == ST_REPL_STANDBY && R.up_fd >= 0 && R.primary != NULL &&
	    strcmp(R.primary, primary) == 0)
		return;
	if (R.role == ST_REPL_PRIMARY)
		repl_fence();
	up_close(NULL);
	standby_begin(primary);
}

void
repl_status(struct st_repl_status *s)
{
	memset(s, 0, sizeof(*s));
	s->role = (uint8_t)R.role;
	s->term = store_term(R.st);
	s->seq = store_seq(R.st);
	if (R.role == ST_REPL_PRIMARY) {
		s->linked = R.sb != NULL;
		s->acked = R.acked;
		s->in_sync = (uint8_t)R.in_sync;
		s->alone = (uint8_t)R.alone;
	} else {
		/* Streaming: not while a snapshot is still to come. */
		s->linked = R.up_fd >= 0 && R.up_started && R.checked;
		s->acked = s->seq;
	}
}

/* The metrics' view (parley_replica_*), after every change. */
static void
publish(void)
{
	struct st_repl_status s;

	repl_status(&s);
	smetrics_replica(&s, R.outs);
	cluster_data(s.term, s.seq);
}
