/*
 * libcurl's multi interface on the loop (see curlloop.h): curl says which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION: curlsock.c's table) and when
 * to call it back (CURLMOPT_TIMERFUNCTION: a loop timer, or a deferred
 * call for "now"); each socket event or timer runs curl, then the ended
 * transfers are handed to their owners (CURLINFO_PRIVATE: the xfer).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "curlloop.h"

static void
ended(struct curlloop *cl)
{
	struct curlloop_xfer *x;
	CURLMsg *m;
	char *priv;
	int left;

	while (cl->multi != NULL &&
	    (m = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    &priv) != CURLE_OK || priv == NULL)
			continue;
		x = (struct curlloop_xfer *)(void *)priv;
		x->done(x, m->data.result);
	}
}

static void
sock_io(int fd, uint32_t events, void *arg)
{
	struct curlloop *cl = arg;
	int running;

	curl_multi_socket_action(cl->multi, fd, curlsock_action(events),
	    &running);
	ended(cl);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlloop *cl = userp;
	struct loop_io *io;

	if (s < 0)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if ((io = curlsock_get(&cl->socks, s)) != NULL)
			loop_io_del(io);
		return 0;
	}
	(void)curlsock_watch(&cl->socks, s, what, sock_io, cl);
	return 0;
}

/* curl closes a socket: watched no more. */
static int
sock_close(void *clientp, curl_socket_t s)
{
	struct curlloop *cl = clientp;
	struct loop_io *io;

	if ((io = curlsock_get(&cl->socks, s)) != NULL)
		loop_io_del(io);
	return close(s);
}

static void
tm_fire(void *arg)
{
	struct curlloop *cl = arg;
	int running;

	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	ended(cl);
}

static int
timer_cb(CURLM *m, long ms, void *userp)
{
	struct curlloop *cl = userp;

	curlsock_timer(&cl->tm, &cl->kick, ms);
	return 0;
}

int
curlloop_init(struct curlloop *cl, long maxconnects)
{
	if (cl->multi != NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (cl->multi = curl_multi_init()) == NULL)
		return -1;
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	if (maxconnects > 0)
		curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, maxconnects);
	loop_timer_init(&cl->tm, tm_fire, cl);
	loop_defer_init(&cl->kick, tm_fire, cl);
	return 0;
}

int
curlloop_add(struct curlloop *cl, struct curlloop_xfer *x)
{
	if (cl->multi == NULL ||
	    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETFUNCTION,
	    sock_close) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETDATA, cl) !=
	    CURLE_OK ||
	    curl_multi_add_handle(cl->multi, x->easy) != CURLM_OK)
		return -1;
	return 0;
}

void
curlloop_remove(struct curlloop *cl, struct curlloop_xfer *x)
{
	if (cl->multi != NULL && x->easy != NULL)
		curl_multi_remove_handle(cl->multi, x->easy);
}

void
curlloop_shutdown(struct curlloop *cl)
{
	if (cl->multi == NULL)
		return;
	loop_timer_stop(&cl->tm);
	loop_defer_cancel(&cl->kick);
	curl_multi_cleanup(cl->multi);
	cl->multi = NULL;
	curlsock_free(&cl->socks);
}
