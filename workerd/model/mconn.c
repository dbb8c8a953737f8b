/*
 * Connections to model servers (mconn.h): libcurl connects, the owner
 * speaks HTTP on the connection, idle ones are kept per origin.
 *
 * A connection's life: CONNECTING (its own multi handle, driven by the
 * loop as curl asks: sockets through curlsock.c's table, one timer) ->
 * BUSY (curl's connect-only transfer is done; the owner watches the
 * socket through mconn_want and reads and writes it) -> IDLE (kept for
 * the next request to its origin, watched for the server closing it) or
 * closed. Without a proxy, a connection keeps only its socket once
 * libcurl made it (socket_take), no libcurl handle held for it (a multi
 * handle is some 38 KiB): http:// is read and written with recv and
 * send; https:// is TCP by curl, then TLS here (mtls.c's OpenSSL on the
 * socket: HANDSHAKE, then SSL_read and SSL_write), checked as libcurl
 * checks it (its CA files, the host's name, TLS 1.2 or later). Through
 * a proxy, curl's handles stay and the TLS state is curl's
 * (curl_easy_send, curl_easy_recv). A socket curl stops watching is
 * let go (curl may close it itself); an idle connection stays watched,
 * so one taken again costs no epoll_ctl beyond the change of interest.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>


#include "curlsock.h"
#include "log.h"
#include "mconn.h"
#include "mtls.h"
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

enum mconn_state { MC_CONNECTING, MC_HANDSHAKE, MC_BUSY, MC_IDLE, MC_FAILED };

struct mconn {
	TAILQ_ENTRY(mconn) entry;	/* idle: the idle list; else all */
	char *origin;		/* "https://host:port", lowercased */
	CURLM *multi;		/* NULL once a plain one is connected */
	CURL *easy;
	curl_socket_t fd;	/* once connected */
	int plain;		/* no proxy: the socket alone once connected */
	/* https:// without a proxy: TLS here (mtls.c), checked for this host. */
	char *tls_host;		/* until the handshake is over (malloc'd) */
	struct ssl_st *ssl;	/* once curl's TCP connection is taken */
	int tls_want_out;	/* the last TLS call waits to write */
	int want_in, want_out;	/* what the owner waits for (mconn_want) */
	curl_ssl_ctx_callback ssl_cb;	/* the owner's, for the context */
	uint64_t deadline;	/* the connect's end: the handshake's too */
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
static void sock_io(int, uint32_t, void *);

/* ------------------------------------------------------- the origin */

char *
mconn_origin(const char *url)
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

int
mconn_url_parse(const char *url, struct mconn_url *p)
{
	unsigned int host_flags = 0;
	CURLU *u;
	int rc = -1;

#ifdef CURLU_PUNYCODE
	host_flags = CURLU_PUNYCODE;
#endif
	memset(p, 0, sizeof(*p));
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &p->host, host_flags) ==
	    CURLUE_OK && curl_url_get(u, CURLUPART_PATH, &p->path, 0) ==
	    CURLUE_OK) {
		(void)curl_url_get(u, CURLUPART_PORT, &p->port, 0);
		(void)curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
		(void)curl_url_get(u, CURLUPART_USER, &p->user,
		    CURLU_URLDECODE);
		(void)curl_url_get(u, CURLUPART_PASSWORD, &p->password,
		    CURLU_URLDECODE);
		rc = 0;
	}
	curl_url_cleanup(u);
	if (rc < 0)
		mconn_url_free(p);
	return rc;
}

/* curl_free's a secret, wiped first. */
static void
curl_free_secret(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	curl_free(s);
}

void
mconn_url_free(struct mconn_url *p)
{
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	curl_free(p->query);
	curl_free_secret(p->user);
	curl_free_secret(p->password);
	memset(p, 0, sizeof(*p));
}

/*
 * An https:// origin reached without a proxy: curl makes the TCP
 * connection to "http://host:port/" (*tcp_url, malloc'd) and the TLS is
 * ours, checked for *host (malloc'd: an IDN in punycode, an IPv6 address
 * without its brackets). 0, or -1: curl's TLS it is.
 */
static int
tls_target(const char *url, char **host, char **tcp_url)
{
	struct mconn_url p;
	const char *h;
	size_t n;

	if (mconn_url_parse(url, &p) < 0)
		return -1;
	h = p.host;
	n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	*host = strndup(h, n);
	if (*host != NULL && asprintf(tcp_url, "http://%s:%s/", p.host,
	    p.port != NULL ? p.port : "443") < 0) {
		free(*host);
		*host = NULL;
	}
	mconn_url_free(&p);
	return *host != NULL ? 0 : -1;
}

/* Frees curl's handles; curl closes its descriptor (sock_close). */
static void
curl_let_go(struct mconn *mc)
{
	curl_multi_remove_handle(mc->multi, mc->easy);
	curl_easy_cleanup(mc->easy);
	curl_multi_cleanup(mc->multi);
	mc->easy = NULL;
	mc->multi = NULL;
}

/*
 * A connection made without a proxy is the socket alone: a copy of
 * curl's descriptor is kept (the same socket, non-blocking as curl set
 * it) and curl's handles are freed (a multi handle is some 38 KiB); with
 * its TLS started when it is https:// (mc->tls_host). 0, or -1: nothing
 * taken (plain: curl's handles are kept and used).
 */
static int
socket_take(struct mconn *mc)
{
	int fd;

	if ((fd = fcntl(mc->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	if (mc->tls_host != NULL && (mc->ssl = mtls_new(fd, mc->tls_host,
	    mc->origin, mc->easy, mc->ssl_cb)) == NULL) {
		close(fd);
		return -1;
	}
	curl_let_go(mc);
	mc->fd = fd;
	return 0;
}

/* ------------------------------------------------- the loop <-> curl */

/* Watches mc's socket for in, out (none: 0, 0). */
static void
watch(struct mconn *mc, int in, int out)
{
	(void)curlsock_watch(&socks, mc->fd, (in ? CURL_POLL_IN : 0) |
	    (out ? CURL_POLL_OUT : 0), sock_io, mc);
}

/* The connect's end (MC_BUSY: made; MC_FAILED: rc says why), told. */
static void
connected(struct mconn *mc, CURLcode rc)
{
	mc->rc = rc;
	loop_timer_stop(&mc->timer);
	loop_defer_cancel(&mc->kick);
	free(mc->tls_host);
	mc->tls_host = NULL;
	if (mc->state == MC_BUSY)
		mconn_want(mc, 0, 0);
	/* The owner may put it back from here: nothing after. */
	mc->cb(mc->arg, MCONN_READY, rc);
}

/* The TLS handshake's next step, from the loop. */
static void
tls_step(struct mconn *mc)
{
	CURLcode rc = CURLE_OK;

	switch (mtls_handshake(mc->ssl, mc->tls_host, &rc)) {
	case MTLS_WANT_IN:
		watch(mc, 1, 0);
		return;
	case MTLS_WANT_OUT:
		watch(mc, 0, 1);
		return;
	case MTLS_DONE:
		mc->state = MC_BUSY;
		break;
	case MTLS_FAILED:
		mc->state = MC_FAILED;
		break;
	}
	connected(mc, rc);
}

static void
drive(struct mconn *mc, curl_socket_t fd, int action)
{
	CURLMsg *m;
	CURLcode rc;
	int running, left;

	curl_multi_socket_action(mc->multi, fd, action, &running);
	while ((m = curl_multi_info_read(mc->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE || mc->state != MC_CONNECTING)
			continue;
		rc = m->data.result;
		mc->state = MC_FAILED;
		if (rc == CURLE_OK && curl_easy_getinfo(mc->easy,
		    CURLINFO_ACTIVESOCKET, &mc->fd) == CURLE_OK &&
		    mc->fd != CURL_SOCKET_BAD)
			mc->state = MC_BUSY;
		else if (rc == CURLE_OK)
			rc = CURLE_COULDNT_CONNECT;
		loop_timer_stop(&mc->timer);
		loop_defer_cancel(&mc->kick);
		if (mc->state == MC_BUSY && mc->plain && socket_take(mc) < 0) {
			mc->plain = 0;
			if (mc->tls_host != NULL) {
				/* curl made TCP alone: no TLS, no connection. */
				mc->state = MC_FAILED;
				rc = CURLE_SSL_CONNECT_ERROR;
			}
		}
		if (mc->state == MC_BUSY && mc->ssl != NULL) {
			mc->state = MC_HANDSHAKE;
			loop_timer_at(&mc->timer, mc->deadline);
			tls_step(mc);
			return;
		}
		connected(mc, rc);
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
	case MC_HANDSHAKE:
		tls_step(mc);
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
		/*
		 * Not watched any more: curl may close it itself (its
		 * resolver's socketpair, not through sock_close), and its
		 * number come back as another socket's.
		 */
		if ((ms = curlsock_get(&socks, s)) != NULL)
			loop_io_del(&ms->io);
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

	if (mc->state == MC_HANDSHAKE) {
		log_warnx("model TLS: %s: handshake timed out", mc->tls_host);
		mc->state = MC_FAILED;
		watch(mc, 0, 0);
		connected(mc, CURLE_OPERATION_TIMEDOUT);
		return;
	}
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

	curlsock_timer(&mc->timer, &mc->kick, ms);
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
		/* Its own socket. */
		if ((ms = curlsock_get(&socks, mc->fd)) != NULL)
			loop_io_del(&ms->io);
		if (mc->ssl != NULL)
			mtls_free(mc->ssl);
		close(mc->fd);
	} else	/* A connect-only handle's removal closes its connection. */
		curl_let_go(mc);
	free(mc->tls_host);
	free(mc->origin);
	free(mc);
	nconns--;
}

/* The connect-only transfer's options. 0, or a CURLcode's bits. */
static int
connect_opts(CURL *c, const struct mconn_opts *o, const char *url)
{
	CURLcode e = CURLE_OK;

	e |= curl_easy_setopt(c, CURLOPT_URL, url);
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
	/* Refused when curl's TLS is not OpenSSL's: then it goes without. */
	if (o->ssl_ctx != NULL)
		(void)curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, o->ssl_ctx);
	if (o->guard != NULL)
		e |= urlpol_curl_guard_socket(c, o->guard);
	return (int)e;
}

/* A new connection to o->url, connecting; NULL when it cannot start. */
static struct mconn *
mc_new(const struct mconn_opts *o)
{
	struct mconn *mc;
	char *tcp_url = NULL;
	int bad;

	if ((mc = calloc(1, sizeof(*mc))) == NULL)
		return NULL;
	if ((mc->origin = strdup(o->origin)) == NULL) {
		free(mc);
		return NULL;
	}
	mc->fd = CURL_SOCKET_BAD;
	mc->guarded = o->guard != NULL;
	mc->ssl_cb = o->ssl_ctx;
	/* From the clock: the loop's turn may have run long (a PDF read). */
	mc->deadline = loop_clock() + (uint64_t)o->connect_ms;
	if (!proxy_env())
		mc->plain = strncmp(o->origin, "http:", 5) == 0 ||
		    (strncmp(o->origin, "https:", 6) == 0 &&
		    tls_target(o->url, &mc->tls_host, &tcp_url) == 0);
	loop_timer_init(&mc->timer, timer_fire, mc);
	loop_defer_init(&mc->kick, kick_fire, mc);
	bad = (mc->multi = curl_multi_init()) == NULL ||
	    (mc->easy = curl_easy_init()) == NULL ||
	    connect_opts(mc->easy, o, tcp_url != NULL ? tcp_url : o->url) != 0;
	free(tcp_url);		/* curl keeps a copy */
	if (bad) {
		if (mc->easy != NULL)
			curl_easy_cleanup(mc->easy);
		if (mc->multi != NULL)
			curl_multi_cleanup(mc->multi);
		free(mc->tls_host);
		free(mc->origin);
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

	*reused = 0;
	if (o->origin == NULL)
		return NULL;
	if (o->guard == NULL && (mc = idle_take(o->origin)) != NULL) {
		*reused = 1;
		mc->cb = cb;
		mc->arg = arg;
		/* Still watched for input (no epoll_ctl): the owner's now. */
		loop_defer(&mc->kick);
		return mc;
	}
	if ((mc = mc_new(o)) == NULL)
		return NULL;
	mc->cb = cb;
	mc->arg = arg;
	return mc;
}

/*
 * The socket watched for what the owner waits for, and for writable too
 * while TLS has to write to go on (it may, to read).
 */
static void
want_apply(struct mconn *mc)
{
	int out = mc->want_out || (mc->ssl != NULL && mc->tls_want_out &&
	    mc->want_in);

	/* Registered here when curl connected without waiting on it. */
	if (mc->fd != CURL_SOCKET_BAD)
		watch(mc, mc->want_in, out);
}

void
mconn_want(struct mconn *mc, int in, int out)
{
	mc->want_in = in;
	mc->want_out = out;
	want_apply(mc);
}

/* After a TLS call: a change of whether it waits to write, applied. */
static CURLcode
tls_done(struct mconn *mc, CURLcode rc, int want_out)
{
	if (want_out != mc->tls_want_out) {
		mc->tls_want_out = want_out;
		want_apply(mc);
	}
	return rc;
}

CURLcode
mconn_send(struct mconn *mc, const char *p, size_t len, size_t *sent)
{
	CURLcode rc;
	ssize_t n;
	int w;

	*sent = 0;
	if (mc->multi != NULL)
		return curl_easy_send(mc->easy, p, len, sent);
	if (mc->ssl != NULL) {
		rc = mtls_send(mc->ssl, p, len, sent, &w);
		return tls_done(mc, rc, w);
	}
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
	CURLcode rc;
	ssize_t n;
	int w;

	*got = 0;
	if (mc->multi != NULL)
		return curl_easy_recv(mc->easy, p, len, got);
	if (mc->ssl != NULL) {
		rc = mtls_recv(mc->ssl, p, len, got, &w);
		return tls_done(mc, rc, w);
	}
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
	mtls_shutdown();
}
