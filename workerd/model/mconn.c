/*
 * Connections to model servers (mconn.h): libcurl connects, the owner
 * speaks HTTP on the connection, idle ones are kept per origin.
 *
 * A connection's life: CONNECTING (its own multi handle, driven by the
 * loop as curl asks: sockets through curlsock.c's table, one timer) ->
 * BUSY (curl's connect-only transfer is done; the owner watches the
 * socket through mconn_want and reads and writes it) -> IDLE (kept for
 * the next request to its origin, watched for the server closing it) or
 * closed. A plain TCP connection (http://, no proxy) keeps only its
 * socket once made (plain_take): read and written with recv and send,
 * no libcurl handle held for it. Over TLS or through a proxy, curl's
 * handles stay: the TLS state is curl's (curl_easy_send, curl_easy_recv). A socket stays registered with the loop from curl's first use
 * of it to its close (sock_close), so a connection going BUSY or IDLE
 * costs no epoll_ctl beyond the change of interest.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curlsock.h"
#include "log.h"
#include "mconn.h"
#include "settings.h"
#include "workerd.h"

#define MCONN_IDLE_MAX		256	/* idle connections kept, all origins */
#define MCONN_MAXAGE_MS		118000	/* idle longer: not reused (curl's) */
/*
 * curl's buffer, which also caps each curl_easy_recv: 4 KiB while few
 * connections are open (a fast answer comes in one read), 1 KiB past
 * MCONN_BIGBUF_CONNS (memory per open stream; an SSE event is ~250 bytes).
 */
#define MCONN_BUFFERSIZE	4096
#define MCONN_BUFFERSIZE_MANY	1024
#define MCONN_BIGBUF_CONNS	64

enum mconn_state { MC_CONNECTING, MC_BUSY, MC_IDLE, MC_FAILED };

struct mconn {
	TAILQ_ENTRY(mconn) entry;	/* idle: the idle list; else all */
	char *origin;		/* "https://host:port", lowercased */
	CURLM *multi;		/* NULL once a plain one is connected */
	CURL *easy;
	curl_socket_t fd;	/* once connected */
	int plain;		/* plain TCP: the socket alone once connected */
	enum mconn_state state;
	int guarded;		/* never kept idle */
	mconn_cb cb;
	void *arg;
	CURLcode rc;		/* the connect's result, for MCONN_READY */
	uint64_t idle_since;
	struct loop_timer timer;	/* curl's, while connecting */
	struct loop_defer kick;		/* curl's "now"; MCONN_READY of a reused */
};

TAILQ_HEAD(mconn_list, mconn);
static struct mconn_list idle = TAILQ_HEAD_INITIALIZER(idle);
static struct mconn_list busy = TAILQ_HEAD_INITIALIZER(busy);
static int nidle;
static int nconns;		/* open, idle or not */

/* A socket's entry: the loop's watch, its connection. */
struct msock {
	struct loop_io io;	/* first: a curlsock entry */
};
static struct curlsock_tab socks = CURLSOCK_TAB(struct msock, "model");

static void mc_close(struct mconn *);

/* ------------------------------------------------------- the origin */

/*
 * url's "scheme://authority", lowercased (the key idle connections are
 * matched by): malloc'd, or NULL when url has no "://".
 */
static char *
origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	size_t len, i;
	char *o;

	if (p == NULL || p == url)
		return NULL;
	len = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
	if ((o = strndup(url, len)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		o[i] = (char)tolower((unsigned char)o[i]);
	return o;
}

/*
 * Whether libcurl may take a proxy from the environment (its variables,
 * not Parley's settings; read through the settings module all the same).
 */
static int
proxy_env(void)
{
	static const char *names[] = { "http_proxy", "HTTP_PROXY",
	    "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((v = settings_env(names[i], NULL)) != NULL && *v != '\0')
			return 1;
	return 0;
}

/*
 * A plain TCP connection, made, is the socket alone: a copy of curl's
 * descriptor is kept (the same socket, non-blocking as curl set it) and
 * curl's handles are freed (a multi handle is some 38 KiB). 0, or -1:
 * curl's are kept and used.
 */
static int
plain_take(struct mconn *mc)
{
	int fd;

	if ((fd = fcntl(mc->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	/* curl closes its descriptor (sock_close); the socket stays open. */
	curl_multi_remove_handle(mc->multi, mc->easy);
	curl_easy_cleanup(mc->easy);
	curl_multi_cleanup(mc->multi);
	mc->easy = NULL;
	mc->multi = NULL;
	mc->fd = fd;
	return 0;
}

/* ------------------------------------------------- the loop <-> curl */

static void
drive(struct mconn *mc, curl_socket_t fd, int action)
{
	CURLMsg *m;
	int running, left;

	curl_multi_socket_action(mc->multi, fd, action, &running);
	while ((m = curl_multi_info_read(mc->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE || mc->state != MC_CONNECTING)
			continue;
		mc->rc = m->data.result;
		mc->state = MC_FAILED;
		if (mc->rc == CURLE_OK && curl_easy_getinfo(mc->easy,
		    CURLINFO_ACTIVESOCKET, &mc->fd) == CURLE_OK &&
		    mc->fd != CURL_SOCKET_BAD)
			mc->state = MC_BUSY;
		else if (mc->rc == CURLE_OK)
			mc->rc = CURLE_COULDNT_CONNECT;
		loop_timer_stop(&mc->timer);
		loop_defer_cancel(&mc->kick);
		if (mc->state == MC_BUSY && mc->plain && plain_take(mc) < 0)
			mc->plain = 0;
		if (mc->state == MC_BUSY)
			mconn_want(mc, 0, 0);
		/* The owner may put it back from here: nothing after. */
		mc->cb(mc->arg, MCONN_READY, mc->rc);
		return;
	}
}

static void
sock_io(int fd, uint32_t events, void *arg)
{
	struct mconn *mc = arg;

	switch (mc->state) {
	case MC_CONNECTING:
		drive(mc, fd, curlsock_action(events));
		break;
	case MC_BUSY:
		mc->cb(mc->arg, MCONN_IO, CURLE_OK);
		break;
	case MC_IDLE:
		/* The server closed it, or said what nobody asked. */
		mc_close(mc);
		break;
	case MC_FAILED:
		mconn_want(mc, 0, 0);
		break;
	}
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mconn *mc = userp;
	struct msock *ms;

	if (s < 0)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		/* Kept registered: the owner watches it next. */
		if ((ms = curlsock_get(&socks, s)) != NULL && ms->io.fd >= 0)
			(void)loop_io_mod(&ms->io, 0);
		return 0;
	}
	(void)curlsock_watch(&socks, s, what, sock_io, mc);
	return 0;
}

/* curl closes a socket (CURLOPT_CLOSESOCKETFUNCTION): watched no more. */
static int
sock_close(void *clientp, curl_socket_t s)
{
	struct msock *ms;

	if ((ms = curlsock_get(&socks, s)) != NULL)
		loop_io_del(&ms->io);
	return close(s);
}

static void
timer_fire(void *arg)
{
	struct mconn *mc = arg;

	drive(mc, CURL_SOCKET_TIMEOUT, 0);
}

/*
 * The kick: curl's "now" while connecting, from the end of the loop
 * round (no timerfd); for a reused connection, its MCONN_READY.
 */
static void
kick_fire(void *arg)
{
	struct mconn *mc = arg;

	if (mc->state == MC_CONNECTING)
		drive(mc, CURL_SOCKET_TIMEOUT, 0);
	else if (mc->state == MC_BUSY)
		mc->cb(mc->arg, MCONN_READY, CURLE_OK);
}

static int
timer_cb(CURLM *m, long ms, void *userp)
{
	struct mconn *mc = userp;

	loop_timer_stop(&mc->timer);
	loop_defer_cancel(&mc->kick);
	if (ms == 0)
		loop_defer(&mc->kick);
	else if (ms > 0)
		loop_timer_after(&mc->timer, (uint64_t)ms);
	return 0;
}

/* ------------------------------------------------------ connections */

/* Closes mc (curl closes its socket through sock_close) and frees it. */
static void
mc_close(struct mconn *mc)
{
	struct msock *ms;

	if (mc->state == MC_IDLE) {
		TAILQ_REMOVE(&idle, mc, entry);
		nidle--;
	} else
		TAILQ_REMOVE(&busy, mc, entry);
	loop_timer_stop(&mc->timer);
	loop_defer_cancel(&mc->kick);
	if (mc->multi == NULL) {
		/* A plain one's own socket. */
		if ((ms = curlsock_get(&socks, mc->fd)) != NULL)
			loop_io_del(&ms->io);
		close(mc->fd);
	} else {
		/* A connect-only handle's removal closes its connection. */
		curl_multi_remove_handle(mc->multi, mc->easy);
		curl_easy_cleanup(mc->easy);
		curl_multi_cleanup(mc->multi);
	}
	free(mc->origin);
	free(mc);
	nconns--;
}

/* The connect-only transfer's options. 0, or a CURLcode's bits. */
static int
connect_opts(CURL *c, const struct mconn_opts *o)
{
	CURLcode e = CURLE_OK;

	e |= curl_easy_setopt(c, CURLOPT_URL, o->url);
	e |= curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	e |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/*
	 * Through an HTTP proxy, a tunnel for http:// too: the owner's
	 * requests are written for the origin, not for a proxy.
	 */
	e |= curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
	/* TLS offers http/1.1 alone (ALPN): the owner speaks nothing else. */
	e |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	e |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, sock_close);
	e |= curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
	e |= curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 15L);
	e |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	e |= curl_easy_setopt(c, CURLOPT_BUFFERSIZE, nconns < MCONN_BIGBUF_CONNS ?
	    (long)MCONN_BUFFERSIZE : (long)MCONN_BUFFERSIZE_MANY);
	if (o->ssl_ctx != NULL)
		e |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, o->ssl_ctx);
	if (o->guard != NULL)
		e |= urlpol_curl_guard_socket(c, o->guard);
	return (int)e;
}

/* A new connection to o->url, connecting; NULL when it cannot start. */
static struct mconn *
mc_new(const struct mconn_opts *o, char *origin)
{
	struct mconn *mc;

	if ((mc = calloc(1, sizeof(*mc))) == NULL)
		return NULL;
	mc->origin = origin;
	mc->fd = CURL_SOCKET_BAD;
	mc->guarded = o->guard != NULL;
	mc->plain = strncmp(origin, "http:", 5) == 0 && !proxy_env();
	loop_timer_init(&mc->timer, timer_fire, mc);
	loop_defer_init(&mc->kick, kick_fire, mc);
	if ((mc->multi = curl_multi_init()) == NULL ||
	    (mc->easy = curl_easy_init()) == NULL ||
	    connect_opts(mc->easy, o) != 0) {
		if (mc->easy != NULL)
			curl_easy_cleanup(mc->easy);
		if (mc->multi != NULL)
			curl_multi_cleanup(mc->multi);
		free(mc);
		return NULL;
	}
	curl_multi_setopt(mc->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(mc->multi, CURLMOPT_SOCKETDATA, mc);
	curl_multi_setopt(mc->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(mc->multi, CURLMOPT_TIMERDATA, mc);
	mc->state = MC_CONNECTING;
	TAILQ_INSERT_TAIL(&busy, mc, entry);
	nconns++;
	/* curl's timer callback asks for a call "now": it connects then. */
	if (curl_multi_add_handle(mc->multi, mc->easy) != CURLM_OK) {
		mc->origin = NULL;	/* the caller's still */
		mc_close(mc);
		return NULL;
	}
	return mc;
}

/* The most recently kept idle connection to origin, or NULL. */
static struct mconn *
idle_take(const char *origin)
{
	struct mconn *mc, *next;
	uint64_t now = loop_now();

	TAILQ_FOREACH_SAFE(mc, &idle, entry, next) {
		if (now - mc->idle_since > MCONN_MAXAGE_MS) {
			mc_close(mc);
			continue;
		}
		if (strcmp(mc->origin, origin) != 0)
			continue;
		TAILQ_REMOVE(&idle, mc, entry);
		nidle--;
		TAILQ_INSERT_TAIL(&busy, mc, entry);
		mc->state = MC_BUSY;
		return mc;
	}
	return NULL;
}

struct mconn *
mconn_take(const struct mconn_opts *o, mconn_cb cb, void *arg, int *reused)
{
	struct mconn *mc = NULL;
	char *origin;

	*reused = 0;
	if ((origin = origin_of(o->url)) == NULL)
		return NULL;
	if (o->guard == NULL && (mc = idle_take(origin)) != NULL) {
		free(origin);
		*reused = 1;
		mc->cb = cb;
		mc->arg = arg;
		/* Still watched for input (no epoll_ctl): the owner's now. */
		loop_defer(&mc->kick);
		return mc;
	}
	if ((mc = mc_new(o, origin)) == NULL) {
		free(origin);
		return NULL;
	}
	mc->cb = cb;
	mc->arg = arg;
	return mc;
}

void
mconn_want(struct mconn *mc, int in, int out)
{
	/* Registered here when curl connected without waiting on it. */
	if (mc->fd != CURL_SOCKET_BAD)
		(void)curlsock_watch(&socks, mc->fd, (in ? CURL_POLL_IN : 0) |
		    (out ? CURL_POLL_OUT : 0), sock_io, mc);
}

CURLcode
mconn_send(struct mconn *mc, const char *p, size_t len, size_t *sent)
{
	ssize_t n;

	*sent = 0;
	if (mc->multi != NULL)
		return curl_easy_send(mc->easy, p, len, sent);
	if ((n = send(mc->fd, p, len, MSG_NOSIGNAL)) >= 0) {
		*sent = (size_t)n;
		return CURLE_OK;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ?
	    CURLE_AGAIN : CURLE_SEND_ERROR;
}

CURLcode
mconn_recv(struct mconn *mc, char *p, size_t len, size_t *got)
{
	ssize_t n;

	*got = 0;
	if (mc->multi != NULL)
		return curl_easy_recv(mc->easy, p, len, got);
	if ((n = recv(mc->fd, p, len, 0)) >= 0) {
		*got = (size_t)n;
		return CURLE_OK;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ?
	    CURLE_AGAIN : CURLE_RECV_ERROR;
}

void
mconn_put(struct mconn *mc, int keep)
{
	struct mconn *old;

	if (mc == NULL)
		return;
	loop_defer_cancel(&mc->kick);
	if (!keep || mc->guarded || mc->state != MC_BUSY) {
		mc_close(mc);
		return;
	}
	if (nidle == MCONN_IDLE_MAX && (old = TAILQ_LAST(&idle,
	    mconn_list)) != NULL)
		mc_close(old);
	TAILQ_REMOVE(&busy, mc, entry);
	TAILQ_INSERT_HEAD(&idle, mc, entry);
	nidle++;
	mc->state = MC_IDLE;
	mc->cb = NULL;
	mc->arg = NULL;
	mc->idle_since = loop_now();
	/* Any news on an idle connection ends it. */
	mconn_want(mc, 1, 0);
}

int
mconn_idle(void)
{
	return nidle;
}

void
mconn_shutdown(void)
{
	struct mconn *mc;

	while ((mc = TAILQ_FIRST(&idle)) != NULL)
		mc_close(mc);
	while ((mc = TAILQ_FIRST(&busy)) != NULL)
		mc_close(mc);
	curlsock_free(&socks);
}
