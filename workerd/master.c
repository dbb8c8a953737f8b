/*
 * The channel to parley-masterd: the settings come first (MW_SETTINGS,
 * read before the loop starts), accepted connections come in as MW_CONN
 * with the fd riding along, MW_QUIT asks us to leave, MW_RESTARTS brings
 * masterd's count of replaced workers for /metrics, MW_PING asks whether
 * the loop turns (WM_PONG: masterd kills a child silent for
 * PARLEY_WORKER_STALL_MS); we answer WM_READY once and WM_LOAD when the connection count changes (at most every
 * 50 ms, so a burst of connections costs one message). Every child of
 * masterd opens it the same way (master_start): a worker, the notifier
 * (notify/notifier.c) and the fetcher (parley-fetch, fetch/main.c); the
 * last two take no MW_CONN and send no WM_LOAD (masterd/procs.c has what
 * each may send).
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "workerd.h"

#define CHANNEL_FD		3
#define LOAD_INTERVAL_MS	50
/* masterd sends the settings with its HELLO: this is plenty. */
#define SETTINGS_WAIT_MS	10000
/*
 * Reads of the channel a wake at most. A read ends at a passed descriptor,
 * so it brings one MW_CONN: with one read a wake, a client accepted
 * behind a hundred waited until each of those had been served whole
 * (abuse/pipelined.mjs). Bounded so a flood of connections still lets the
 * loop turn.
 */
#define MASTER_READS		64

static struct pchan mch;
static struct loop_io mio;
static struct loop_timer load_timer;
static struct loop_defer flush_defer;
static int up;			/* the channel is open */
static void (*quit_cb)(uint32_t, int);	/* the role's way to leave */
static int takes_conns;		/* the role serves MW_CONN */
static unsigned int load_now, load_sent;
static uint64_t load_sent_at;
static int load_ever_sent;

static void master_gone(const char *why);

static void
master_flush(void *arg)
{
	int r;

	if (!up)
		return;
	if ((r = pchan_flush(&mch)) < 0) {
		master_gone("write");
		return;
	}
	if (loop_io_mod(&mio, EPOLLIN | (r == 0 ? EPOLLOUT : 0)) < 0)
		fatal("epoll_ctl master");
}

static void
master_send(uint16_t type, const void *payload, size_t len)
{
	if (!up)
		return;
	if (pchan_send(&mch, type, 0, 0, payload, len, -1) < 0) {
		master_gone("send");
		return;
	}
	loop_defer(&flush_defer);
}

static void
master_gone(const char *why)
{
	if (!up)
		return;
	up = 0;
	log_warnx("masterd channel closed (%s): quitting", why);
	loop_io_del(&mio);
	pchan_close(&mch);
	loop_timer_stop(&load_timer);
	loop_defer_cancel(&flush_defer);
	quit_cb(wsettings.shutdown_ms, 1);
}

static void
master_msg(struct pmsg *m)
{
	struct ipaddr peer;
	struct pdec d;
	uint32_t grace, restarts;
	uint64_t run;
	uint8_t close_idle;

	switch (m->hdr.type) {
	case PROTO_MW_CONN:
		if (m->fd < 0) {
			/* Lost to a full descriptor table (pmsg): the client's. */
			log_warnx("MW_CONN without a descriptor (out of file "
			    "descriptors?): that connection is lost");
			return;
		}
		if (!takes_conns) {
			log_warnx("MW_CONN to a role that takes none");
			break;		/* closed below */
		}
		if (worker_quitting()) {
			/* We said we take no new connections. */
			close(m->fd);
			return;
		}
		/* An older masterd sends no address: the socket is asked. */
		conn_new(m->fd, ipaddr_dec(m->payload, m->hdr.len, &peer) == 0 ?
		    &peer : NULL);
		m->fd = -1;
		break;
	case PROTO_MW_RESTARTS:
		pdec_init(&d, m->payload, m->hdr.len);
		restarts = pdec_u32(&d);
		run = pdec_u64(&d);
		if (pdec_done(&d) < 0)
			log_warnx("malformed MW_RESTARTS");
		else
			metrics_restarts(restarts, run);
		break;
	case PROTO_MW_PING:
		/* Answered from the loop: that it turns is the answer. */
		pdec_init(&d, m->payload, m->hdr.len);
		(void)pdec_u32(&d);
		if (pdec_done(&d) < 0)
			log_warnx("malformed MW_PING");
		else
			master_send(PROTO_WM_PONG, m->payload, m->hdr.len);
		break;
	case PROTO_MW_QUIT:
		pdec_init(&d, m->payload, m->hdr.len);
		grace = pdec_u32(&d);
		close_idle = pdec_u8(&d);
		if (pdec_done(&d) < 0) {
			log_warnx("malformed MW_QUIT");
			grace = wsettings.shutdown_ms;
			close_idle = 1;
		}
		quit_cb(grace, close_idle);
		break;
	default:
		log_warnx("unexpected %s from masterd",
		    proto_msg_name(m->hdr.type));
		break;
	}
	if (m->fd >= 0)
		close(m->fd);
}

/* Every whole message already read. */
static void
master_drain(void)
{
	struct pmsg m;
	int r;

	while (up && (r = pchan_next(&mch, &m)) != 0) {
		if (r < 0) {
			master_gone("protocol error");
			return;
		}
		master_msg(&m);
	}
}

static void
master_io(int fd, uint32_t events, void *arg)
{
	ssize_t n;
	int i;

	if (events & EPOLLOUT)
		master_flush(NULL);
	if (!up || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (i = 0; i < MASTER_READS && up; i++) {
		n = pchan_read(&mch);
		if (n == 0) {
			master_gone("end of file");
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			master_gone(strerror(errno));
			return;
		}
		master_drain();
		if (n < 0)
			return;		/* nothing more for now */
	}
}

static void
load_send(void)
{
	struct penc e;

	penc_init(&e);
	penc_u32(&e, load_now);
	if (!e.err)
		master_send(PROTO_WM_LOAD, e.buf, e.len);
	penc_free(&e);
	load_sent = load_now;
	load_sent_at = loop_now();
	load_ever_sent = 1;
}

static void
load_tick(void *arg)
{
	if (up && load_now != load_sent)
		load_send();
}

void
master_load(unsigned int n)
{
	load_now = n;
	if (!up || !takes_conns || n == load_sent ||
	    loop_timer_armed(&load_timer))
		return;
	if (!load_ever_sent || loop_now() >= load_sent_at + LOAD_INTERVAL_MS)
		load_send();
	else
		loop_timer_at(&load_timer, load_sent_at + LOAD_INTERVAL_MS);
}

void
master_ready(void)
{
	master_send(PROTO_WM_READY, NULL, 0);
}

void
master_quitting(void)
{
	if (takes_conns)
		master_send(PROTO_WM_QUITTING, NULL, 0);
}

/* The next whole message, waiting for it at most until deadline. */
static void
master_wait(struct pmsg *m, long long deadline)
{
	struct pollfd pfd = { .fd = mch.fd, .events = POLLIN };
	long long left;
	ssize_t n;
	int r;

	while ((r = pchan_next(&mch, m)) == 0) {
		if ((left = deadline - proto_mono_ms()) <= 0)
			fatalx("no settings from masterd");
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			fatal("poll");
		n = pchan_read(&mch);
		if (n == 0)
			fatalx("masterd closed the channel before the settings");
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			fatal("masterd channel");
	}
	if (r < 0)
		fatalx("masterd channel: protocol error");
}

void
master_wipe(void)
{
	pchan_wipe(&mch);
}

void
master_open(int fd, struct settings *st)
{
	char err[SETTINGS_ERR_MAX];
	struct pmsg m;

	if (pchan_init(&mch, fd, WORKERD_NAME) < 0)
		fatal("masterd channel");
	master_wait(&m, proto_mono_ms() + SETTINGS_WAIT_MS);
	if (m.hdr.type != PROTO_MW_SETTINGS)
		fatalx("%s from masterd before the settings",
		    proto_msg_name(m.hdr.type));
	if (settings_msg_decode(st, m.payload, m.hdr.len, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	if (m.fd >= 0)
		close(m.fd);
}

void
master_start(const char *name, int argc, char *argv[], char *envp[])
{
	const char *s;
	struct stat st;

	/* Named first, so it is never taken for another child for long. */
	log_init(name);
	privdrop_nodump();
	if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0)
		log_warn("prctl PR_SET_NAME");
	/* The environment moves for the title: read it after. */
	setproctitle_init(argc, argv, envp);
	setproctitle("-%s", name);
	s = getenv("PARLEY_CHANNEL_FD");
	if (s == NULL || strcmp(s, "3") != 0 || fstat(CHANNEL_FD, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		fatalx("%s is started by parley-masterd", name);

	/* masterd checked them already; a bad one is fatal here too. */
	master_open(CHANNEL_FD, &wsettings);
	log_set_level((enum log_level)wsettings.log_level);
	worker_conf_defaults();
	wconf.header_timeout_ms = wsettings.header_timeout_ms;
	wconf.idle_timeout_ms = wsettings.idle_timeout_ms;
	wconf.storage_timeout_ms = wsettings.storage_timeout_ms;
}

void
master_init(void (*quit)(uint32_t grace_ms, int close_idle), int conns)
{
	quit_cb = quit;
	takes_conns = conns;
	loop_timer_init(&load_timer, load_tick, NULL);
	loop_defer_init(&flush_defer, master_flush, NULL);
	if (loop_io_add(&mio, mch.fd, EPOLLIN, master_io, NULL) < 0)
		fatal("epoll_ctl master");
	up = 1;
	loop_defer(&flush_defer);
	/* What came with the settings (MW_RESTARTS) is already read. */
	master_drain();
}
