/*
 * libFuzzer target for the WebSocket side of a connection: the bytes are
 * what a client sends after its upgrade request. A connection on one end
 * of a socketpair is put in the state an upgrade request leaves it in and
 * handed to ws_accept; the first byte says how much of the rest conn.c
 * had already read past the request (low 7 bits) and where it held it
 * (high bit: still in the read being fed, else in its pending input):
 * that is the ws's first input. The rest is written to the socket, then
 * the client shuts its side. The owner echoes
 * every text and closes on "bye". Whatever the bytes, the ws must end
 * (on_close once, within a bounded number of rounds), leak nothing and
 * hand the owner only valid UTF-8 within the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "workerd.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD \
	"GET /ws HTTP/1.1\r\n" \
	"Host: localhost\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
	"\r\n"

struct owner {
	struct ws *ws;
	int nclose;
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ws: %s\n", what);
		abort();
	}
}

static void
on_text(struct ws *ws, const char *msg, size_t len, void *arg)
{
	size_t i = 0, n;

	check(len <= WS_MESSAGE_MAX, "message over the limit");
	while (i < len) {
		n = proto_utf8_seq_len((const unsigned char *)msg + i, len - i);
		check(n > 0, "invalid UTF-8 handed over");
		i += n;
	}
	if (len == 3 && memcmp(msg, "bye", 3) == 0)
		ws_close(ws, WS_CLOSE_NORMAL, "bye");
	else
		(void)ws_send_text(ws, msg, len);
}

static void
on_close(struct ws *ws, uint16_t code, void *arg)
{
	struct owner *o = arg;

	check(ws == o->ws, "on_close for another ws");
	o->nclose++;
	o->ws = NULL;
}

static const struct ws_cbs cbs = { on_text, NULL, on_close, NULL };

static struct http_request *
upgrade_request(void)
{
	struct http_request *req;
	struct http_in in;
	size_t used;

	http_in_init(&in);
	check(http_in_feed(&in, HEAD, strlen(HEAD), &used) == HTTP_IN_REQUEST,
	    "upgrade request");
	req = http_in_take(&in);
	http_in_free(&in);
	return req;
}

static void
drain(int fd)
{
	char b[65536];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct owner o;
	struct conn *c;
	size_t early, off;
	ssize_t n;
	int sv[2], i, feeding;

	if (!ready) {
		log_init("fuzz_ws");
		log_set_level(LOG_LEVEL_WARN);
		loop_init();
		worker_conf_defaults();
		ready = 1;
	}
	if (size == 0)
		return 0;
	feeding = (data[0] & 0x80) != 0;
	early = (size_t)(data[0] & 0x7f) < size - 1 ? (size_t)(data[0] & 0x7f) :
	    size - 1;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	check((c = conn_new(sv[0], NULL)) != NULL, "conn_new");
	c->req = upgrade_request();
	c->state = CONN_BUSY;
	if (early > 0 && feeding) {
		c->feeding = 1;
		c->rest = (const char *)data;
		c->rest_len = early;
	} else if (early > 0) {
		check((c->pend = malloc(early)) != NULL, "malloc");
		memcpy(c->pend, data, early);
		c->pend_len = early;
	}
	memset(&o, 0, sizeof(o));
	o.ws = ws_accept(c, c->req, &cbs, &o);
	check(o.ws != NULL, "ws_accept");
	check(ws_count() == 1 && conn_count() == 0, "counts after accept");

	off = early;
	for (i = 0; i < 2000 && o.nclose == 0; i++) {
		if (off < size) {
			n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			if (off == size)
				shutdown(sv[1], SHUT_WR);
		} else if (i == 0)
			shutdown(sv[1], SHUT_WR);
		loop_once(0);
		drain(sv[1]);
	}
	check(o.nclose == 1, "the ws did not end");
	close(sv[1]);
	loop_once(0);	/* the deferred frees */
	check(ws_count() == 0 && conn_count() == 0, "counts after close");
	return 0;
}
